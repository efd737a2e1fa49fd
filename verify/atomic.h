/* Output files that appear whole or not at all.
 *
 * One file (ac_atomic_open / _commit / _abort, or ac_atomic_write): the file
 * is written to .attncheck-tmp.<pid>.XXXXXX in PATH's directory, flushed,
 * checked for write errors and renamed over PATH.  On any failure the temporary is
 * removed and PATH is untouched.  What PATH already is decides the route:
 *   - absent or a regular file: the atomic route above;
 *   - a symbolic link: followed (every level) and the file it names is
 *     replaced atomically; the link stays a link.  A link to a missing file is
 *     refused (AC_EINVAL): what to create is ambiguous.  A link to a device or
 *     FIFO, or one with no path to rename onto (/dev/stdout -> a pipe), is
 *     written through as below;
 *   - a device, FIFO or socket (/dev/stdout, /dev/null, a pipe): written
 *     through, opened without O_CREAT, never replaced; not atomic, but write
 *     errors (ENOSPC on /dev/full) are still reported; a FIFO that no
 *     process opens for reading within AC_ATOMIC_FIFO_WAIT is refused;
 *   - a directory: refused (AC_EINVAL);
 *   - the very file open as this process's standard output or error (same
 *     device and inode: `--out /dev/stdout` with stdout redirected to a
 *     file): written through a duplicate of that descriptor, at its offset,
 *     without truncating, as a write to stdout would be.  Renaming a new file
 *     over it would drop what the shell wrote there before and after.
 *
 * A set of files (ac_atomic_set_*): every member is written into a staging
 * directory DIR/.attncheck-set.<pid>.XXXXXX; commit writes a manifest naming
 * the members in order, then renames each over DIR/<name> (a member directory,
 * such as figures/, replaces the old directory whole) and removes the staging.
 * Before commit nothing in DIR changes; a process killed during commit (only
 * SIGKILL or a crash can, see below) leaves the manifest, and the next
 * ac_atomic_set_init on DIR finishes the renames.  Stagings and temporary
 * files of dead processes (by the pid in their name) are removed by the next
 * ac_atomic_open in the same directory or ac_atomic_set_init on it: a run
 * killed by SIGKILL leaves nothing for longer than the next run.  Only those
 * two names (.attncheck-set.<pid>.XXXXXX, .attncheck-tmp.<pid>.XXXXXX) are
 * ever removed: a user's file is never taken for a temporary.  A set
 * replaces only regular files and directories: a member whose target is a
 * link, device or FIFO is refused (AC_EINVAL).  Two processes committing
 * sets into one DIR take turns (an exclusive flock on DIR around the
 * manifest and the renames), so DIR shows one whole set, the last one
 * committed, never members of both; where DIR cannot be flocked the commit
 * goes on unlocked.  A commit waits at most lock_wait seconds for another's
 * (AC_ATOMIC_LOCK_WAIT unless the caller lowers it), then fails and writes
 * nothing: a run stopped in its commit (Ctrl-Z) does not hang the next one
 * without a word.
 *
 * Signals: these functions install no handler.  The caller that wants SIGINT
 * and SIGTERM to leave no temporary catches them while temporaries exist,
 * aborts (ac_atomic_abort, ac_atomic_set_clear) and then re-raises them, as
 * the CLI does (cli/main.c).
 * Not thread-safe: one process writes one set at a time. */
#ifndef AC_ATOMIC_H
#define AC_ATOMIC_H

#include <stdio.h>

#include "solvers/status.h"

#define AC_ATOMIC_PATH_MAX 4096
/* Seconds a write through a FIFO waits for a reader before it is refused
 * (a FIFO nobody opens would otherwise hang the run). */
#define AC_ATOMIC_FIFO_WAIT 5.0

typedef struct {
    FILE *f;
    int direct; /* 1: written through to a device or FIFO, no temporary */
    char path[AC_ATOMIC_PATH_MAX];     /* the file replaced (a link resolved) */
    char tmp[AC_ATOMIC_PATH_MAX + 64]; /* the temporary ("" when direct) */
} ac_atomic;

/* Open a temporary file beside path (or path itself when it is a device or
 * FIFO); a->f is the stream to write.  AC_EINVAL (a directory, a dangling
 * link, a path too long) or AC_EIO (msg names the path once and the system
 * error) on failure, with nothing created. */
ac_status ac_atomic_open(ac_atomic *a, const char *path, ac_msg *msg);

/* Flush, close and rename into place.  AC_EIO on a write or rename error,
 * msg "PATH: write failed: REASON" (the temporary is removed). */
ac_status ac_atomic_commit(ac_atomic *a, ac_msg *msg);

/* Close and remove the temporary; path is untouched.  Safe on a closed a. */
void ac_atomic_abort(ac_atomic *a);

/* Write path whole or not at all: open it atomically, let fill write the
 * stream (ctx is passed through), commit.  When fill fails its status is
 * returned, its message kept, and path left untouched.  A fill returns
 * AC_EIO when its stream failed: the message becomes "PATH: write failed:
 * REASON" (errno's sentence). */
typedef ac_status (*ac_atomic_fill)(FILE *f, void *ctx, ac_msg *msg);
ac_status ac_atomic_write(const char *path, ac_atomic_fill fill, void *ctx, ac_msg *msg);

/* Create directory path and its parents (mkdir -p).  AC_EIO on failure. */
ac_status ac_mkdir_p(const char *path, ac_msg *msg);

/* ---- sets ---------------------------------------------------------------- */

/* Members a set holds at most (run --out: 4 formats per paper, figures/, the
 * index). */
#define AC_ATOMIC_SET_MAX 256
/* A member name: one path component, no '/', not starting with '.'. */
#define AC_ATOMIC_NAME_MAX 256
/* Seconds a commit waits for the lock of its directory.  A commit holds it
 * for its renames, milliseconds; a minute means the holder is stopped or
 * hung, and waiting on without a word would hang this run too. */
#define AC_ATOMIC_LOCK_WAIT 60.0

typedef struct {
    char dir[AC_ATOMIC_PATH_MAX];         /* the target directory */
    char stage[AC_ATOMIC_PATH_MAX + 64];  /* its staging directory ("" when clear) */
    char made[AC_ATOMIC_PATH_MAX];        /* the outermost directory init created ("" none):
                                             a clear without a commit removes what it made */
    int n;                                /* members so far, in order */
    char (*names)[AC_ATOMIC_NAME_MAX];    /* n names (owned) */
    double lock_wait;                     /* seconds the commit waits for the lock (> 0;
                                             ac_atomic_set_init: AC_ATOMIC_LOCK_WAIT) */
} ac_atomic_set;

/* Begin a set of outputs in directory dir (created with its parents when
 * missing; a set cleared without a commit removes them again, so that an
 * interrupted or failed run leaves no empty directory): recover what dead
 * runs left in dir (see above), then create the staging directory.  On
 * failure s is clear and nothing is staged. */
ac_status ac_atomic_set_init(ac_atomic_set *s, const char *dir, ac_msg *msg);

/* Write member name of the set through fill (as ac_atomic_write).  AC_EINVAL
 * for a bad or repeated name or a target that is not a regular file. */
ac_status ac_atomic_set_write(ac_atomic_set *s, const char *name, ac_atomic_fill fill, void *ctx,
                              ac_msg *msg);

/* Add member directory name (e.g. "figures"), created empty in the staging;
 * its path there is written to path_out (cap bytes) for the caller to fill. */
ac_status ac_atomic_set_mkdir(ac_atomic_set *s, const char *name, char *path_out, size_t cap, ac_msg *msg);

/* Move every member into dir in the order added, then remove the staging; s
 * is clear afterwards whatever the status.  AC_EIO when a rename fails (msg
 * names the member; members before it are in place, the rest removed), or
 * when another process held dir's lock for lock_wait seconds (msg says so;
 * nothing moved, the staging removed). */
ac_status ac_atomic_set_commit(ac_atomic_set *s, ac_msg *msg);

/* Remove the staging and everything in it; dir is untouched.  s is clear
 * afterwards; safe on a clear s. */
void ac_atomic_set_clear(ac_atomic_set *s);

/* Remove what dead runs left in dir: finish committed sets, remove other
 * stagings and the temporary files of ac_atomic_open.  Entries of live
 * processes are kept.  Called by ac_atomic_open and ac_atomic_set_init;
 * AC_EIO when an entry cannot be removed. */
ac_status ac_atomic_recover(const char *dir, ac_msg *msg);

#endif
