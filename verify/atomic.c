#define _XOPEN_SOURCE 700 /* realpath */
#include "verify/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h> /* kill(pid, 0) */
#include <stdlib.h>
#include <string.h>
#include <sys/file.h> /* flock */
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Name parts of what this file leaves while it works (atomic.h). */
#define TMP_PREFIX ".attncheck-tmp."
#define STAGE_PREFIX ".attncheck-set."
#define MANIFEST ".manifest"
#define OLD_PREFIX ".old."
/* mkstemp/mkdtemp's random suffix. */
#define RANDOM_LEN 6
/* Depth of a staging tree: staging/member/file, and .old.member/file. */
#define STAGE_DEPTH 3

/* ---- helpers ------------------------------------------------------------- */

/* The directory part of path ("." when it has none) into dir. */
static void dir_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, cap, ".");
    else if (slash == path)
        snprintf(dir, cap, "/");
    else
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

/* Parse "<digits>." at *p as a pid; advance *p past the dot.  0 when absent. */
static long parse_pid(const char **p)
{
    const char *s = *p;
    long pid = 0;
    int nd = 0;
    for (; *s >= '0' && *s <= '9' && nd < 10; s++, nd++)
        pid = pid * 10 + (*s - '0');
    if (nd == 0 || *s != '.')
        return 0;
    *p = s + 1;
    return pid;
}

/* The process pid is gone (so what it left may be removed). */
static int pid_dead(long pid)
{
    if (pid <= 0 || pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* rm -r of a staging tree (at most depth levels). */
static int remove_tree(const char *path, int depth)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(sb.st_mode))
        return unlink(path);
    if (depth <= 0)
        return -1;
    DIR *d = opendir(path);
    if (!d)
        return -1;
    struct dirent *e;
    int bad = 0;
    char sub[AC_ATOMIC_PATH_MAX + 2 * AC_ATOMIC_NAME_MAX];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        bad |= remove_tree(sub, depth - 1) != 0;
    }
    closedir(d);
    return bad || rmdir(path) != 0 ? -1 : 0;
}

/* Fill a stream, then flush and close it.  A fill's AC_EIO means the stream
 * failed: its message is replaced by "PATH: write failed: REASON". */
static ac_status fill_and_close(FILE *f, const char *path, ac_atomic_fill fill, void *ctx, ac_msg *msg)
{
    errno = 0;
    ac_status st = fill(f, ctx, msg);
    int e = errno;
    int bad = fflush(f) != 0 || ferror(f);
    if (bad && errno)
        e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (st != AC_OK && st != AC_EIO)
        return st;
    if (st == AC_EIO || bad)
        return ac_fail(msg, AC_EIO, "%s: write failed: %s", path, strerror(e ? e : EIO));
    return AC_OK;
}

/* ---- one file ------------------------------------------------------------ */

/* Write through the descriptor fd (from open or dup; -1 when that failed,
 * with errno set) as the output of path, no temporary. */
static ac_status write_through(ac_atomic *a, const char *path, int fd, ac_msg *msg)
{
    if (fd < 0)
        return ac_fail(msg, AC_EIO, "%s: cannot open: %s", path, strerror(errno));
    a->f = fdopen(fd, "w");
    if (!a->f) {
        int e = errno;
        close(fd);
        return ac_fail(msg, AC_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    a->direct = 1;
    return AC_OK;
}

/* Open path itself for writing, without creating or replacing it.  Opened
 * non-blocking: a FIFO nobody reads would block open() for ever, and the
 * CLI holds SIGINT/SIGTERM while it writes (SA_RESTART restarts the open),
 * so the run could be stopped by SIGKILL alone.  A FIFO without a reader
 * (ENXIO) is tried again every 10 ms for AC_ATOMIC_FIFO_WAIT seconds (a
 * reader started just after the command), then refused; the descriptor then
 * blocks again, so that writes wait for a slow reader instead of failing
 * with EAGAIN. */
static ac_status open_direct(ac_atomic *a, const char *path, ac_msg *msg)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_NONBLOCK);
    for (int tries = 0; fd < 0 && errno == ENXIO; tries++) {
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISFIFO(sb.st_mode)) {
            errno = ENXIO;
            break;
        }
        if (tries >= (int)(AC_ATOMIC_FIFO_WAIT * 100))
            return ac_fail(msg, AC_EIO, "%s: a FIFO that no process read in %g s: start the reader first", path,
                           AC_ATOMIC_FIFO_WAIT);
        nanosleep(&(struct timespec){0, 10000000L}, NULL);
        fd = open(path, O_WRONLY | O_TRUNC | O_NONBLOCK);
    }
    int fl = fd >= 0 ? fcntl(fd, F_GETFL) : 0;
    if (fd >= 0 && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)) {
        int e = errno;
        close(fd);
        return ac_fail(msg, AC_EIO, "%s: cannot open: %s", path, strerror(e));
    }
    return write_through(a, path, fd, msg);
}

/* 1 or 2 when sb is the file open as standard output or error, else -1. */
static int std_fd_of(const struct stat *sb)
{
    for (int fd = 1; fd <= 2; fd++) {
        struct stat fb;
        if (fstat(fd, &fb) == 0 && fb.st_dev == sb->st_dev && fb.st_ino == sb->st_ino)
            return fd;
    }
    return -1;
}

ac_status ac_atomic_open(ac_atomic *a, const char *path, ac_msg *msg)
{
    memset(a, 0, sizeof *a);
    if (!path[0])
        return ac_fail(msg, AC_EINVAL, "empty output path");
    if (strlen(path) >= sizeof a->path)
        return ac_fail(msg, AC_EINVAL, "%s: path too long", path);
    snprintf(a->path, sizeof a->path, "%s", path);
    struct stat sb, lb;
    int is_link = lstat(path, &lb) == 0 && S_ISLNK(lb.st_mode);
    if (stat(path, &sb) != 0) {
        if (is_link)
            return ac_fail(msg, AC_EINVAL, "%s: a symbolic link to a missing file; not followed", path);
    } else if (S_ISDIR(sb.st_mode)) {
        return ac_fail(msg, AC_EINVAL, "%s: is a directory", path);
    } else if (!S_ISREG(sb.st_mode)) {
        return open_direct(a, path, msg); /* a device, FIFO or socket: never replace it */
    } else if (std_fd_of(&sb) >= 0) {
        /* stdout redirected to this file: a duplicate of that descriptor,
         * at its offset and without truncating */
        return write_through(a, path, dup(std_fd_of(&sb)), msg);
    } else if (is_link) {
        /* replace the file the link names, keep the link */
        char *real = realpath(path, NULL);
        if (!real) /* a link with no path to rename onto (/proc/self/fd/N): write through */
            return open_direct(a, path, msg);
        int fits = strlen(real) < sizeof a->path;
        if (fits)
            snprintf(a->path, sizeof a->path, "%s", real);
        free(real);
        if (!fits)
            return ac_fail(msg, AC_EINVAL, "%s: path too long", path);
    }
    char dir[AC_ATOMIC_PATH_MAX];
    dir_of(a->path, dir, sizeof dir);
    ac_atomic_recover(dir, NULL); /* best effort: a failure here must not stop the write */
    /* DIR/.attncheck-tmp.<pid>.XXXXXX: a name no user file has (the recovery
     * removes only such names) and of fixed length, so a target whose name is
     * near NAME_MAX still gets a temporary */
    snprintf(a->tmp, sizeof a->tmp, "%s/" TMP_PREFIX "%ld.XXXXXX", dir, (long)getpid());
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        a->tmp[0] = '\0';
        return ac_fail(msg, AC_EIO, "%s: cannot create a temporary file beside it: %s", path, strerror(errno));
    }
    /* mkstemp creates 0600; outputs are ordinary files (the umask applies) */
    mode_t um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    a->f = fdopen(fd, "w");
    if (!a->f) {
        int e = errno;
        close(fd);
        unlink(a->tmp);
        a->tmp[0] = '\0';
        return ac_fail(msg, AC_EIO, "%s: %s", path, strerror(e));
    }
    return AC_OK;
}

ac_status ac_atomic_commit(ac_atomic *a, ac_msg *msg)
{
    if (!a->f)
        return ac_fail(msg, AC_EIO, "%s: not open", a->path);
    errno = 0;
    int bad = fflush(a->f) != 0 || ferror(a->f);
    int e = errno;
    if (fclose(a->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    a->f = NULL;
    if (bad) {
        if (!a->direct)
            unlink(a->tmp);
        return ac_fail(msg, AC_EIO, "%s: write failed: %s", a->path, strerror(e ? e : EIO));
    }
    if (!a->direct && rename(a->tmp, a->path) != 0) {
        e = errno;
        unlink(a->tmp);
        return ac_fail(msg, AC_EIO, "%s: cannot rename into place: %s", a->path, strerror(e));
    }
    return AC_OK;
}

void ac_atomic_abort(ac_atomic *a)
{
    if (a->f) {
        fclose(a->f);
        a->f = NULL;
        if (!a->direct)
            unlink(a->tmp);
    }
}

ac_status ac_atomic_write(const char *path, ac_atomic_fill fill, void *ctx, ac_msg *msg)
{
    ac_atomic a;
    ac_status st = ac_atomic_open(&a, path, msg);
    if (st != AC_OK)
        return st;
    errno = 0;
    st = fill(a.f, ctx, msg);
    if (st == AC_EIO)
        ac_fail(msg, st, "%s: write failed: %s", a.path, strerror(errno ? errno : EIO));
    if (st != AC_OK) {
        ac_atomic_abort(&a);
        return st;
    }
    return ac_atomic_commit(&a, msg);
}

/* ac_mkdir_p, and the outermost directory it created into made (cap
 * bytes; "" when all were there), when made is not NULL. */
static ac_status mkdir_p_made(const char *path, char *made, size_t cap, ac_msg *msg)
{
    char buf[AC_ATOMIC_PATH_MAX];
    if (made)
        made[0] = '\0';
    if (!path[0])
        return ac_fail(msg, AC_EINVAL, "empty directory name");
    if (strlen(path) >= sizeof buf)
        return ac_fail(msg, AC_EINVAL, "%s: path too long", path);
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p && *p != '/')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0777) == 0) {
            if (made && !made[0])
                snprintf(made, cap, "%s", buf);
        } else if (errno != EEXIST) {
            return ac_fail(msg, AC_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
        }
        *p = c;
        if (!c)
            break;
    }
    struct stat sb;
    if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return ac_fail(msg, AC_EIO, "%s: not a directory", buf);
    return AC_OK;
}

ac_status ac_mkdir_p(const char *path, ac_msg *msg)
{
    return mkdir_p_made(path, NULL, 0, msg);
}

/* ---- sets ---------------------------------------------------------------- */

static int name_ok(const char *name)
{
    size_t n = strlen(name);
    return n > 0 && n < AC_ATOMIC_NAME_MAX && name[0] != '.' && !strchr(name, '/');
}

/* Move member name of stage into dir: a directory replaces the old one whole
 * (moved aside into the staging first, removed with it). */
static int move_member(const char *stage, const char *dir, const char *name)
{
    char src[AC_ATOMIC_PATH_MAX + 2 * AC_ATOMIC_NAME_MAX], dst[sizeof src], old[sizeof src];
    snprintf(src, sizeof src, "%s/%s", stage, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    struct stat ss, ds;
    if (lstat(src, &ss) != 0)
        return errno == ENOENT ? 0 : -1; /* moved already (a recovery) */
    if (S_ISDIR(ss.st_mode) && lstat(dst, &ds) == 0 && S_ISDIR(ds.st_mode)) {
        snprintf(old, sizeof old, "%s/" OLD_PREFIX "%s", stage, name);
        if (rename(dst, old) != 0)
            return -1;
    }
    return rename(src, dst);
}

/* The lock that makes the commits of two sets into one directory (two runs
 * with the same --out) follow one another, so that the directory shows one
 * whole set, never members of both: an exclusive flock on the directory
 * itself, held while a manifest is committed and its members moved (and
 * while a recovery moves a dead run's members).  Returns the descriptor to
 * pass to dir_unlock; -1 where the directory cannot be opened or the file
 * system has no flock (the commit then goes on unlocked, as before); -2
 * when another process held the lock for wait seconds.  It polls every
 * LOCK_POLL_NS: a blocking flock could not be given up. */
#define LOCK_POLL_NS 10000000L /* 10 ms: a commit's renames take about that */
#define LOCK_TIMED_OUT (-2)

static double mono_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int dir_lock(const char *dir, double wait)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    double t0 = mono_seconds();
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            close(fd);
            return -1;
        }
        if (!(mono_seconds() - t0 < wait)) { /* a NaN or non-positive wait: one try */
            close(fd);
            return LOCK_TIMED_OUT;
        }
        struct timespec poll = {0, LOCK_POLL_NS};
        nanosleep(&poll, NULL);
    }
}

static void dir_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* closing the descriptor releases its flock */
}

/* Finish a committed staging: move the members its manifest lists. */
static int roll_forward(const char *stage, const char *dir)
{
    char path[AC_ATOMIC_PATH_MAX + 3 * AC_ATOMIC_NAME_MAX], line[AC_ATOMIC_NAME_MAX + 2];
    snprintf(path, sizeof path, "%s/" MANIFEST, stage);
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : -1;
    int bad = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        if (name_ok(line))
            bad |= move_member(stage, dir, line) != 0;
    }
    fclose(f);
    return bad ? -1 : 0;
}

ac_status ac_atomic_recover(const char *dir, ac_msg *msg)
{
    DIR *d = opendir(dir);
    if (!d)
        return ac_fail(msg, AC_EIO, "%s: cannot read directory: %s", dir, strerror(errno));
    struct dirent *e;
    ac_status st = AC_OK;
    char path[AC_ATOMIC_PATH_MAX + 2 * AC_ATOMIC_NAME_MAX];
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name, *p;
        long pid = 0;
        int stage = 0;
        /* only the two names this file makes: a user's "notes.tmp.2024.backup"
         * in the same directory is never ours to remove */
        if (strncmp(name, STAGE_PREFIX, strlen(STAGE_PREFIX)) == 0) {
            p = name + strlen(STAGE_PREFIX);
            pid = parse_pid(&p);
            stage = 1;
        } else if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
            p = name + strlen(TMP_PREFIX);
            pid = parse_pid(&p);
        } else {
            continue;
        }
        if (!pid || strlen(p) != RANDOM_LEN || !pid_dead(pid))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, name);
        int bad;
        if (stage) {
            int lock = dir_lock(dir, AC_ATOMIC_LOCK_WAIT);
            if (lock == LOCK_TIMED_OUT)
                continue; /* another run holds the directory: the next recovery finishes it */
            bad = roll_forward(path, dir) != 0 || remove_tree(path, STAGE_DEPTH) != 0;
            dir_unlock(lock);
        } else {
            bad = unlink(path) != 0;
        }
        if (bad && st == AC_OK)
            st = ac_fail(msg, AC_EIO, "%s: left by a killed run and cannot be removed: %s", path, strerror(errno));
    }
    closedir(d);
    return st;
}

ac_status ac_atomic_set_init(ac_atomic_set *s, const char *dir, ac_msg *msg)
{
    memset(s, 0, sizeof *s);
    if (strlen(dir) >= sizeof s->dir)
        return ac_fail(msg, AC_EINVAL, "%s: path too long", dir);
    ac_status st = mkdir_p_made(dir, s->made, sizeof s->made, msg);
    if (st == AC_OK)
        st = ac_atomic_recover(dir, msg);
    if (st != AC_OK)
        return st;
    s->names = calloc(AC_ATOMIC_SET_MAX, sizeof *s->names);
    if (!s->names)
        return ac_fail(msg, AC_ENOMEM, "%s: no memory for an output set", dir);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    s->lock_wait = AC_ATOMIC_LOCK_WAIT;
    snprintf(s->stage, sizeof s->stage, "%s/" STAGE_PREFIX "%ld.XXXXXX", dir, (long)getpid());
    if (!mkdtemp(s->stage)) {
        int e = errno;
        ac_atomic_set_clear(s);
        return ac_fail(msg, AC_EIO, "%s: cannot create a staging directory: %s", dir, strerror(e));
    }
    return AC_OK;
}

/* Check a new member name and its target; path_out gets its staging path. */
static ac_status add_member(ac_atomic_set *s, const char *name, int is_dir, char *path_out, size_t cap,
                            ac_msg *msg)
{
    if (!s->stage[0])
        return ac_fail(msg, AC_EINVAL, "%s: output set not open", name);
    if (!name_ok(name))
        return ac_fail(msg, AC_EINVAL, "'%s': not a file name for an output (one component, not hidden)", name);
    if (s->n >= AC_ATOMIC_SET_MAX)
        return ac_fail(msg, AC_ESIZE, "%s: more than %d outputs in one set", name, AC_ATOMIC_SET_MAX);
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->names[i], name) == 0)
            return ac_fail(msg, AC_EINVAL, "%s/%s: written twice in one set", s->dir, name);
    char dst[AC_ATOMIC_PATH_MAX + AC_ATOMIC_NAME_MAX + 2];
    snprintf(dst, sizeof dst, "%s/%s", s->dir, name);
    struct stat sb;
    if (lstat(dst, &sb) == 0 && !(is_dir ? S_ISDIR(sb.st_mode) : S_ISREG(sb.st_mode)))
        return ac_fail(msg, AC_EINVAL, "%s: exists and is not a %s; an output set replaces only those", dst,
                       is_dir ? "directory" : "regular file");
    if ((size_t)snprintf(path_out, cap, "%s/%s", s->stage, name) >= cap)
        return ac_fail(msg, AC_EINVAL, "%s: path too long", dst);
    return AC_OK;
}

ac_status ac_atomic_set_write(ac_atomic_set *s, const char *name, ac_atomic_fill fill, void *ctx, ac_msg *msg)
{
    char path[AC_ATOMIC_PATH_MAX + AC_ATOMIC_NAME_MAX + 80];
    ac_status st = add_member(s, name, 0, path, sizeof path, msg);
    if (st != AC_OK)
        return st;
    snprintf(s->names[s->n++], AC_ATOMIC_NAME_MAX, "%s", name);
    FILE *f = fopen(path, "w");
    if (!f)
        return ac_fail(msg, AC_EIO, "%s/%s: cannot write in the staging directory: %s", s->dir, name,
                       strerror(errno));
    char shown[AC_ATOMIC_PATH_MAX + AC_ATOMIC_NAME_MAX + 2];
    snprintf(shown, sizeof shown, "%s/%s", s->dir, name);
    return fill_and_close(f, shown, fill, ctx, msg);
}

ac_status ac_atomic_set_mkdir(ac_atomic_set *s, const char *name, char *path_out, size_t cap, ac_msg *msg)
{
    ac_status st = add_member(s, name, 1, path_out, cap, msg);
    if (st != AC_OK)
        return st;
    snprintf(s->names[s->n++], AC_ATOMIC_NAME_MAX, "%s", name);
    if (mkdir(path_out, 0777) != 0)
        return ac_fail(msg, AC_EIO, "%s/%s: cannot create in the staging directory: %s", s->dir, name,
                       strerror(errno));
    return AC_OK;
}

static ac_status write_manifest(FILE *f, void *ctx, ac_msg *msg)
{
    const ac_atomic_set *s = ctx;
    (void)msg;
    for (int i = 0; i < s->n; i++)
        fprintf(f, "%s\n", s->names[i]);
    return AC_OK;
}

ac_status ac_atomic_set_commit(ac_atomic_set *s, ac_msg *msg)
{
    if (!s->stage[0])
        return ac_fail(msg, AC_EINVAL, "output set not open");
    /* the manifest appears whole (temporary + rename): from then on the set
     * is committed and a recovery finishes it */
    char tmp[sizeof s->stage + 32], path[sizeof s->stage + 32];
    snprintf(tmp, sizeof tmp, "%s/" MANIFEST "-new", s->stage);
    snprintf(path, sizeof path, "%s/" MANIFEST, s->stage);
    FILE *f = fopen(tmp, "w");
    ac_status st = f ? fill_and_close(f, tmp, write_manifest, s, msg)
                     : ac_fail(msg, AC_EIO, "%s: cannot write the manifest: %s", s->dir, strerror(errno));
    int lock = st == AC_OK ? dir_lock(s->dir, s->lock_wait) : -1;
    if (lock == LOCK_TIMED_OUT)
        st = ac_fail(msg, AC_EIO, "%s: another run has held this directory's lock for %g s; nothing was written "
                     "(is an attncheck writing there stopped?)", s->dir, s->lock_wait);
    if (st == AC_OK && rename(tmp, path) != 0)
        st = ac_fail(msg, AC_EIO, "%s: cannot commit the manifest: %s", s->dir, strerror(errno));
    for (int i = 0; i < s->n && st == AC_OK; i++)
        if (move_member(s->stage, s->dir, s->names[i]) != 0)
            st = ac_fail(msg, AC_EIO, "%s/%s: cannot move into place: %s", s->dir, s->names[i], strerror(errno));
    dir_unlock(lock);
    if (st == AC_OK)
        s->made[0] = '\0'; /* the directories hold the set now */
    ac_atomic_set_clear(s);
    return st;
}

void ac_atomic_set_clear(ac_atomic_set *s)
{
    if (s->stage[0])
        remove_tree(s->stage, STAGE_DEPTH);
    /* a set given up leaves no directory it created: from DIR up to the
     * outermost one made, each removed if empty (rmdir refuses one that is
     * not, e.g. where another run wrote meanwhile) */
    if (s->made[0]) {
        char d[AC_ATOMIC_PATH_MAX];
        snprintf(d, sizeof d, "%s", s->dir);
        for (size_t n = strlen(d); n > 1 && d[n - 1] == '/'; n--)
            d[n - 1] = '\0';
        size_t stop = strlen(s->made);
        while (strlen(d) >= stop && rmdir(d) == 0) {
            char *slash = strrchr(d, '/');
            if (!slash || slash == d)
                break;
            *slash = '\0';
        }
    }
    free(s->names);
    memset(s, 0, sizeof *s);
}
