/* Output files that appear whole or not at all: write to PATH.tmp.XXXXXX in
 * the same directory, then flush, check for write errors, and rename over
 * PATH.  On any failure the temporary file is removed and PATH is untouched. */
#ifndef AC_ATOMIC_H
#define AC_ATOMIC_H

#include <stdio.h>

#include "solvers/status.h"

typedef struct {
    FILE *f;
    char path[4096];
    char tmp[4096 + 16];
} ac_atomic;

/* Open a temporary file beside path; a->f is the stream to write.
 * AC_EIO (msg names the path and the system error) on failure. */
ac_status ac_atomic_open(ac_atomic *a, const char *path, ac_msg *msg);

/* Flush, close and rename into place.  AC_EIO on a write or rename error (the
 * temporary is removed). */
ac_status ac_atomic_commit(ac_atomic *a, ac_msg *msg);

/* Close and remove the temporary; path is untouched.  Safe on a closed a. */
void ac_atomic_abort(ac_atomic *a);

/* Write path whole or not at all: open it atomically, let fill write the
 * stream (ctx is passed through), commit.  When fill fails its status is
 * returned, its message kept, and path left untouched. */
typedef ac_status (*ac_atomic_fill)(FILE *f, void *ctx, ac_msg *msg);
ac_status ac_atomic_write(const char *path, ac_atomic_fill fill, void *ctx, ac_msg *msg);

/* Create directory path and its parents (mkdir -p).  AC_EIO on failure. */
ac_status ac_mkdir_p(const char *path, ac_msg *msg);

#endif
