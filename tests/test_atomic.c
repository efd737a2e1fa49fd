/* verify/atomic: single outputs and output sets appear whole or not at all,
 * non-regular targets are written through or refused, never replaced, and
 * what a killed run leaves is finished or removed by the next one. */
#define _XOPEN_SOURCE 700 /* symlink */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "verify/atomic.h"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/ac_atomic_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(atomic, .init = make_dir, .fini = remove_dir);

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

/* The contents of dir/name ("" when absent), in a static buffer. */
static const char *slurp(const char *name)
{
    static char text[256];
    char p[128];
    path_in(p, sizeof p, name);
    text[0] = '\0';
    FILE *f = fopen(p, "r");
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    return text;
}

static void put(const char *name, const char *text)
{
    char p[128];
    path_in(p, sizeof p, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* Entries of dir whose name starts with '.', other than . and .. */
static int hidden_entries(const char *d)
{
    DIR *h = opendir(d);
    cr_assert_not_null(h);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(h)))
        n += e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(h);
    return n;
}

static ac_status fill_text(FILE *f, void *ctx, ac_msg *msg)
{
    (void)msg;
    return fputs(ctx, f) < 0 ? AC_EIO : AC_OK;
}

static ac_status fill_fails(FILE *f, void *ctx, ac_msg *msg)
{
    fputs("half", f);
    return ac_fail(msg, AC_EINVAL, "%s", (const char *)ctx);
}

static ac_status fill_eio(FILE *f, void *ctx, ac_msg *msg)
{
    (void)f, (void)ctx;
    errno = ENOSPC;
    return ac_fail(msg, AC_EIO, "stream error");
}

/* A pid that no process has: a child that has exited and been reaped. */
static long dead_pid(void)
{
    pid_t p = fork();
    cr_assert(p >= 0);
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    return (long)p;
}

Test(atomic, set_appears_whole_after_commit_and_not_before)
{
    put("a.txt", "old a");
    put("b.txt", "old b");
    ac_atomic_set s;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_atomic_set_init(&s, dir, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_atomic_set_write(&s, "a.txt", fill_text, "new a", &msg), AC_OK, "%s", msg.text);
    cr_assert_str_eq(slurp("a.txt"), "old a", "a member is visible before the commit");
    cr_assert_eq(ac_atomic_set_write(&s, "b.txt", fill_text, "new b", &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_atomic_set_commit(&s, &msg), AC_OK, "%s", msg.text);
    cr_assert_str_eq(slurp("a.txt"), "new a");
    cr_assert_str_eq(slurp("b.txt"), "new b");
    cr_assert_eq(hidden_entries(dir), 0, "the staging is left after a commit");
    ac_atomic_set_clear(&s); /* safe on a committed set */
}

/* Fork a child that takes dir's lock and then runs hold, whose return is
 * its exit status (_exit releases the lock); returns its pid once it holds
 * the lock. */
static pid_t child_holding_lock(int (*hold)(void))
{
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    pid_t p = fork();
    cr_assert(p >= 0);
    if (p == 0) {
        int fd = open(dir, O_RDONLY | O_DIRECTORY);
        if (fd < 0 || flock(fd, LOCK_EX) != 0 || write(ready[1], "x", 1) != 1)
            _exit(2);
        _exit(hold());
    }
    char c;
    cr_assert_eq(read(ready[0], &c, 1), 1, "the child could not take the lock");
    close(ready[0]);
    close(ready[1]);
    return p;
}

/* Holds 0.3 s; 0 when no member of the parent's moved in meanwhile. */
static int hold_briefly(void)
{
    struct timespec wait = {0, 300000000L};
    nanosleep(&wait, NULL);
    return strcmp(slurp("a.txt"), "old a") == 0 ? 0 : 1;
}

/* Holds until killed. */
static int hold_for_good(void)
{
    for (;;)
        pause();
    return 0; /* not reached */
}

/* Two runs committing into one directory take turns: while another process
 * holds the directory's lock (as a committing run does), a commit moves
 * nothing in.  The child takes the lock, tells the parent, waits 0.3 s and
 * reports whether the parent's member appeared meanwhile; without the lock
 * the parent's commit would be done long before. */
Test(atomic, a_commit_waits_for_another_runs_commit)
{
    put("a.txt", "old a");
    ac_atomic_set s;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_atomic_set_init(&s, dir, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_atomic_set_write(&s, "a.txt", fill_text, "new a", &msg), AC_OK, "%s", msg.text);
    pid_t p = child_holding_lock(hold_briefly);
    cr_assert_eq(ac_atomic_set_commit(&s, &msg), AC_OK, "%s", msg.text);
    int status = 0;
    cr_assert_eq(waitpid(p, &status, 0), p);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
              "a member moved in while another run held the directory's lock (child status %d)", status);
    cr_assert_str_eq(slurp("a.txt"), "new a", "the commit did not finish after the lock was released");
}

/* A holder that never lets go: the commit gives up after lock_wait with a
 * message, writes nothing and leaves no staging; once the lock is free the
 * next set commits (seen to fail with a timed-out lock read as no lock:
 * the commit then went on unlocked). */
Test(atomic, a_commit_gives_up_on_a_lock_held_past_its_wait)
{
    put("a.txt", "old a");
    ac_atomic_set s;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_atomic_set_init(&s, dir, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(s.lock_wait, AC_ATOMIC_LOCK_WAIT);
    cr_assert_eq(ac_atomic_set_write(&s, "a.txt", fill_text, "new a", &msg), AC_OK, "%s", msg.text);
    pid_t p = child_holding_lock(hold_for_good);
    s.lock_wait = 0.2;
    ac_status st = ac_atomic_set_commit(&s, &msg);
    kill(p, SIGKILL);
    waitpid(p, NULL, 0);
    cr_assert_eq(st, AC_EIO);
    cr_assert_not_null(strstr(msg.text, "lock"), "%s", msg.text);
    cr_assert_not_null(strstr(msg.text, dir), "%s", msg.text);
    cr_assert_str_eq(slurp("a.txt"), "old a", "a member moved in without the lock");
    cr_assert_eq(hidden_entries(dir), 0, "the staging outlived the failed commit");
    cr_assert_eq(ac_atomic_set_init(&s, dir, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_atomic_set_write(&s, "a.txt", fill_text, "new a", &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_atomic_set_commit(&s, &msg), AC_OK, "%s", msg.text);
    cr_assert_str_eq(slurp("a.txt"), "new a");
}

Test(atomic, cleared_or_failed_set_leaves_the_old_files)
{
    put("a.txt", "old a");
    put("b.txt", "old b");
    ac_atomic_set s;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_atomic_set_init(&s, dir, &msg), AC_OK);
    cr_assert_eq(ac_atomic_set_write(&s, "a.txt", fill_text, "new a", &msg), AC_OK);
    cr_assert_eq(ac_atomic_set_write(&s, "b.txt", fill_fails, "the fill's reason", &msg), AC_EINVAL);
    cr_assert_str_eq(msg.text, "the fill's reason", "a fill's own message is kept");
    ac_atomic_set_clear(&s);
    cr_assert_str_eq(slurp("a.txt"), "old a");
    cr_assert_str_eq(slurp("b.txt"), "old b");
    cr_assert_eq(hidden_entries(dir), 0, "the staging is left after a clear");
}

/* A set into directories it had to create: given up, it leaves none of
 * them (an interrupted run --out NEW/DIR left NEW/DIR empty); committed, it
 * keeps them; a directory that was there is never removed. */
Test(atomic, a_set_given_up_removes_the_directories_it_created)
{
    char top[128], deep[192];
    path_in(top, sizeof top, "new");
    snprintf(deep, sizeof deep, "%s/a/b/", top);
    ac_atomic_set s;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_atomic_set_init(&s, deep, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_atomic_set_write(&s, "x.txt", fill_text, "x", &msg), AC_OK, "%s", msg.text);
    ac_atomic_set_clear(&s);
    cr_assert_eq(access(top, F_OK), -1, "a created directory was left");
    cr_assert_eq(access(dir, F_OK), 0, "a directory that was there was removed");
    cr_assert_eq(ac_atomic_set_init(&s, deep, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_atomic_set_write(&s, "x.txt", fill_text, "x", &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_atomic_set_commit(&s, &msg), AC_OK, "%s", msg.text);
    char p[256];
    snprintf(p, sizeof p, "%sx.txt", deep);
    cr_assert_eq(access(p, F_OK), 0, "the committed set is gone");
    /* an existing, empty directory stays after a set given up */
    snprintf(p, sizeof p, "%s/empty", dir);
    cr_assert_eq(mkdir(p, 0777), 0);
    cr_assert_eq(ac_atomic_set_init(&s, p, &msg), AC_OK, "%s", msg.text);
    ac_atomic_set_clear(&s);
    cr_assert_eq(access(p, F_OK), 0, "an existing directory was removed");
}

Test(atomic, stream_error_names_the_file_and_the_reason_once)
{
    ac_atomic_set s;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_atomic_set_init(&s, dir, &msg), AC_OK);
    cr_assert_eq(ac_atomic_set_write(&s, "x.txt", fill_eio, NULL, &msg), AC_EIO);
    char want[160];
    snprintf(want, sizeof want, "%s/x.txt: write failed: %s", dir, strerror(ENOSPC));
    cr_assert_str_eq(msg.text, want);
    ac_atomic_set_clear(&s);
    char p[128];
    path_in(p, sizeof p, "y.txt");
    cr_assert_eq(ac_atomic_write(p, fill_eio, NULL, &msg), AC_EIO);
    snprintf(want, sizeof want, "%s: write failed: %s", p, strerror(ENOSPC));
    cr_assert_str_eq(msg.text, want);
    cr_assert_eq(access(p, F_OK), -1, "a failed write created its target");
    cr_assert_eq(hidden_entries(dir), 0);
}

Test(atomic, member_directory_replaces_the_old_one_whole)
{
    char p[128], fig[AC_ATOMIC_PATH_MAX + 2 * AC_ATOMIC_NAME_MAX], f[sizeof fig + 16];
    path_in(p, sizeof p, "figures");
    cr_assert_eq(mkdir(p, 0755), 0);
    put("figures/stale.png", "stale");
    ac_atomic_set s;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_atomic_set_init(&s, dir, &msg), AC_OK);
    cr_assert_eq(ac_atomic_set_mkdir(&s, "figures", fig, sizeof fig, &msg), AC_OK, "%s", msg.text);
    snprintf(f, sizeof f, "%s/new.png", fig);
    FILE *h = fopen(f, "w");
    cr_assert_not_null(h);
    fputs("new", h);
    fclose(h);
    cr_assert_str_eq(slurp("figures/stale.png"), "stale", "replaced before the commit");
    cr_assert_eq(ac_atomic_set_commit(&s, &msg), AC_OK, "%s", msg.text);
    cr_assert_str_eq(slurp("figures/new.png"), "new");
    path_in(p, sizeof p, "figures/stale.png");
    cr_assert_eq(access(p, F_OK), -1, "an old member file survived");
    cr_assert_eq(hidden_entries(dir), 0);
}

Test(atomic, set_refuses_bad_names_repeats_and_non_regular_targets)
{
    char p[128];
    path_in(p, sizeof p, "link.txt");
    cr_assert_eq(symlink("elsewhere", p), 0);
    ac_atomic_set s;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_atomic_set_init(&s, dir, &msg), AC_OK);
    const char *bad[] = {"", ".hidden", "a/b", "link.txt"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(ac_atomic_set_write(&s, bad[i], fill_text, "x", &msg), AC_EINVAL, "'%s' accepted", bad[i]);
    cr_assert_eq(ac_atomic_set_write(&s, "a.txt", fill_text, "x", &msg), AC_OK);
    cr_assert_eq(ac_atomic_set_write(&s, "a.txt", fill_text, "x", &msg), AC_EINVAL, "a repeated name");
    ac_atomic_set_clear(&s);
    struct stat sb;
    cr_assert_eq(lstat(p, &sb), 0);
    cr_assert(S_ISLNK(sb.st_mode), "the link was replaced");
}

Test(atomic, recovery_finishes_a_committed_set_of_a_dead_run)
{
    put("a.txt", "old a");
    put("b.txt", "old b");
    char stage[128], p[192];
    snprintf(stage, sizeof stage, "%s/.attncheck-set.%ld.abcdef", dir, dead_pid());
    cr_assert_eq(mkdir(stage, 0700), 0);
    /* killed after the manifest and the first rename: a.txt is in place */
    put("a.txt", "new a");
    snprintf(p, sizeof p, "%s/b.txt", stage);
    FILE *f = fopen(p, "w");
    fputs("new b", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/.manifest", stage);
    f = fopen(p, "w");
    fputs("a.txt\nb.txt\n", f);
    fclose(f);
    ac_msg msg = {{0}};
    cr_assert_eq(ac_atomic_recover(dir, &msg), AC_OK, "%s", msg.text);
    cr_assert_str_eq(slurp("a.txt"), "new a");
    cr_assert_str_eq(slurp("b.txt"), "new b", "the committed set was not finished");
    cr_assert_eq(hidden_entries(dir), 0, "the staging is left");
}

Test(atomic, recovery_drops_an_uncommitted_set_and_dead_temporaries_only)
{
    put("a.txt", "old a");
    long dead = dead_pid();
    char stage[128], live[128], p[192];
    snprintf(stage, sizeof stage, "%s/.attncheck-set.%ld.abcdef", dir, dead);
    snprintf(live, sizeof live, "%s/.attncheck-set.%ld.abcdef", dir, (long)getppid());
    cr_assert_eq(mkdir(stage, 0700), 0);
    cr_assert_eq(mkdir(live, 0700), 0);
    snprintf(p, sizeof p, "%s/a.txt", stage);
    FILE *f = fopen(p, "w");
    fputs("new a", f);
    fclose(f);
    snprintf(p, sizeof p, ".attncheck-tmp.%ld.abcdef", dead);
    put(p, "dead");
    snprintf(p, sizeof p, ".attncheck-tmp.%ld.abcdef", (long)getppid());
    put(p, "live");
    /* users' files, whatever they look like, are not ours: the old pattern
     * NAME.tmp.<pid>.XXXXXX once removed the second and third */
    char notes[64], older[64], backup[64];
    snprintf(notes, sizeof notes, "notes.tmp.%ld.txt", dead);
    put(notes, "a user's file");
    snprintf(older, sizeof older, "a.txt.tmp.%ld.abcdef", dead);
    put(older, "a user's file");
    snprintf(backup, sizeof backup, "thesis.tmp.%ld.backup", dead);
    put(backup, "a user's file");
    char inner[64]; /* ours only where the name starts with the prefix */
    snprintf(inner, sizeof inner, "report.attncheck-tmp.%ld.abcdef", dead);
    put(inner, "a user's file");
    ac_msg msg = {{0}};
    cr_assert_eq(ac_atomic_recover(dir, &msg), AC_OK, "%s", msg.text);
    cr_assert_str_eq(slurp("a.txt"), "old a", "an uncommitted set was applied");
    cr_assert_eq(access(stage, F_OK), -1, "a dead run's staging survived");
    cr_assert_eq(access(live, F_OK), 0, "a live run's staging was removed");
    snprintf(p, sizeof p, "%s/.attncheck-tmp.%ld.abcdef", dir, dead);
    cr_assert_eq(access(p, F_OK), -1, "a dead run's temporary survived");
    snprintf(p, sizeof p, "%s/.attncheck-tmp.%ld.abcdef", dir, (long)getppid());
    cr_assert_eq(access(p, F_OK), 0, "a live process's temporary was removed");
    cr_assert_str_eq(slurp(notes), "a user's file");
    cr_assert_str_eq(slurp(older), "a user's file");
    cr_assert_str_eq(slurp(backup), "a user's file");
    cr_assert_str_eq(slurp(inner), "a user's file");
}

Test(atomic, single_write_follows_links_and_writes_through_devices)
{
    char real[128], link[128], dangling[128];
    path_in(real, sizeof real, "real.txt");
    path_in(link, sizeof link, "link.txt");
    path_in(dangling, sizeof dangling, "dangling.txt");
    put("real.txt", "old");
    cr_assert_eq(symlink("real.txt", link), 0);
    cr_assert_eq(symlink("nowhere.txt", dangling), 0);
    ac_msg msg = {{0}};
    cr_assert_eq(ac_atomic_write(link, fill_text, "new", &msg), AC_OK, "%s", msg.text);
    struct stat sb;
    cr_assert(lstat(link, &sb) == 0 && S_ISLNK(sb.st_mode), "the link was replaced by a file");
    cr_assert_str_eq(slurp("real.txt"), "new");
    cr_assert_eq(ac_atomic_write(dangling, fill_text, "new", &msg), AC_EINVAL);
    cr_assert(lstat(dangling, &sb) == 0 && S_ISLNK(sb.st_mode));
    cr_assert_eq(ac_atomic_write(dir, fill_text, "new", &msg), AC_EINVAL, "a directory accepted");
    /* devices of our own (never risk /dev/null or /dev/full themselves,
     * which a broken writer running as root would replace) */
    char null[128], full[128];
    path_in(null, sizeof null, "null");
    path_in(full, sizeof full, "full");
    if (mknod(null, S_IFCHR | 0666, makedev(1, 3)) != 0 || mknod(full, S_IFCHR | 0666, makedev(1, 7)) != 0)
        cr_skip_test("cannot make device nodes here (not root): %s", strerror(errno));
    cr_assert_eq(ac_atomic_write(null, fill_text, "new", &msg), AC_OK, "%s", msg.text);
    cr_assert(stat(null, &sb) == 0 && S_ISCHR(sb.st_mode), "a device was replaced");
    cr_assert_eq(ac_atomic_write(full, fill_text, "new", &msg), AC_EIO);
    cr_assert(strstr(msg.text, strerror(ENOSPC)) != NULL, "%s", msg.text);
    cr_assert(stat(full, &sb) == 0 && S_ISCHR(sb.st_mode), "a full device was replaced");
    cr_assert_eq(hidden_entries(dir), 0);
}

/* A FIFO is written through to its reader, also one that opens it after the
 * write began; a FIFO nobody reads is refused after AC_ATOMIC_FIFO_WAIT, not
 * waited on for ever (open() blocked with SIGINT held: killable by SIGKILL
 * alone). */
Test(atomic, a_fifo_waits_a_while_for_its_reader_then_is_refused)
{
    char fifo[128], got[128];
    path_in(fifo, sizeof fifo, "fifo");
    path_in(got, sizeof got, "got.txt");
    cr_assert_eq(mkfifo(fifo, 0600), 0, "%s", strerror(errno));
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) { /* the reader, late by 0.3 s */
        nanosleep(&(struct timespec){0, 300000000L}, NULL);
        FILE *in = fopen(fifo, "r"), *out = fopen(got, "w");
        int c;
        while (in && out && (c = fgetc(in)) != EOF)
            fputc(c, out);
        _exit(in && out && fclose(out) == 0 ? 0 : 1);
    }
    ac_msg msg = {{0}};
    cr_assert_eq(ac_atomic_write(fifo, fill_text, "through", &msg), AC_OK, "%s", msg.text);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert_str_eq(slurp("got.txt"), "through");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert_eq(ac_atomic_write(fifo, fill_text, "nobody", &msg), AC_EIO);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    cr_assert(strstr(msg.text, fifo) && strstr(msg.text, "start the reader first"), "%s", msg.text);
    /* a bound on the wait, not a timing of the code: 5 s, within a generous
     * margin for a loaded machine */
    cr_assert(waited >= AC_ATOMIC_FIFO_WAIT * 0.9 && waited < AC_ATOMIC_FIFO_WAIT + 30.0, "waited %g s", waited);
    struct stat sb;
    cr_assert(stat(fifo, &sb) == 0 && S_ISFIFO(sb.st_mode), "the FIFO was replaced");
}

/* The file open as standard output is written through at its offset, never
 * replaced: a shell's `{ echo before; cmd --out /dev/stdout; echo after; } >
 * f` keeps all three.  Standard output is pointed at dir/stdout.txt for the
 * test and restored after. */
Test(atomic, the_file_open_as_stdout_is_written_through_not_replaced)
{
    char p[128];
    path_in(p, sizeof p, "stdout.txt");
    fflush(stdout);
    int saved = dup(1);
    cr_assert_geq(saved, 0);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    cr_assert_geq(dup2(fileno(f), 1), 0);
    fclose(f);
    cr_assert_eq(write(1, "before\n", 7), 7);
    ac_msg msg = {{0}};
    ac_status st = ac_atomic_write("/dev/stdout", fill_text, "body\n", &msg);
    ssize_t w = write(1, "after\n", 6);
    /* the same file, by its own name (not through /dev/stdout), likewise */
    ac_status st2 = ac_atomic_write(p, fill_text, "again\n", &msg);
    cr_assert_geq(dup2(saved, 1), 0);
    close(saved);
    cr_assert_eq(st, AC_OK, "%s", msg.text);
    cr_assert_eq(st2, AC_OK, "%s", msg.text);
    cr_assert_eq(w, 6);
    cr_assert_str_eq(slurp("stdout.txt"), "before\nbody\nafter\nagain\n");
    cr_assert_eq(hidden_entries(dir), 0, "a temporary was left");
}
