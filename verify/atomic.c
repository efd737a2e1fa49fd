#include "verify/atomic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

ac_status ac_atomic_open(ac_atomic *a, const char *path, ac_msg *msg)
{
    memset(a, 0, sizeof *a);
    if (strlen(path) >= sizeof a->path)
        return ac_fail(msg, AC_EINVAL, "%s: path too long", path);
    snprintf(a->path, sizeof a->path, "%s", path);
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(a->tmp);
    if (fd < 0)
        return ac_fail(msg, AC_EIO, "%s: cannot create temporary file: %s", path, strerror(errno));
    /* mkstemp creates 0600; outputs are ordinary files */
    fchmod(fd, 0644);
    a->f = fdopen(fd, "w");
    if (!a->f) {
        int e = errno;
        close(fd);
        unlink(a->tmp);
        return ac_fail(msg, AC_EIO, "%s: %s", path, strerror(e));
    }
    return AC_OK;
}

ac_status ac_atomic_commit(ac_atomic *a, ac_msg *msg)
{
    if (!a->f)
        return ac_fail(msg, AC_EIO, "%s: not open", a->path);
    int bad = fflush(a->f) != 0 || ferror(a->f);
    int e = errno;
    if (fclose(a->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    a->f = NULL;
    if (bad) {
        unlink(a->tmp);
        return ac_fail(msg, AC_EIO, "%s: write failed: %s", a->path, strerror(e));
    }
    if (rename(a->tmp, a->path) != 0) {
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
        unlink(a->tmp);
    }
}

ac_status ac_atomic_write(const char *path, ac_atomic_fill fill, void *ctx, ac_msg *msg)
{
    ac_atomic a;
    ac_status st = ac_atomic_open(&a, path, msg);
    if (st != AC_OK)
        return st;
    st = fill(a.f, ctx, msg);
    if (st != AC_OK) {
        ac_atomic_abort(&a);
        return st;
    }
    return ac_atomic_commit(&a, msg);
}

ac_status ac_mkdir_p(const char *path, ac_msg *msg)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf)
        return ac_fail(msg, AC_EINVAL, "%s: path too long", path);
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return ac_fail(msg, AC_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return ac_fail(msg, AC_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
    return AC_OK;
}
