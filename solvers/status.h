/* Status codes shared by every layer of attncheck.
 *
 * A function returns an ac_status: AC_OK, or why the call could not do its
 * job.  How a solve ended (converged, infeasible, ...) is not a status; it
 * lives in the solver's info struct.  Codes and their messages come from the
 * one list below (SUNDIALS sundials_errors.h does the same). */
#ifndef AC_STATUS_H
#define AC_STATUS_H

#include <stddef.h>

#define AC_STATUS_LIST(X)                                                   \
    X(AC_OK, "success")                                                     \
    X(AC_ENOMEM, "out of memory")                                           \
    X(AC_EINVAL, "invalid argument")                                        \
    X(AC_EIO, "input/output error")                                         \
    X(AC_EPARSE, "malformed input")                                         \
    X(AC_ESIZE, "sizes do not fit")                                         \
    X(AC_ERANK, "embeddings are linearly dependent")                        \
    X(AC_ENOTFOUND, "no such item")                                         \
    X(AC_ENUMERIC, "numerical failure (non-finite value or singular matrix)") \
    X(AC_ENOCONV, "iteration did not converge")                             \
    X(AC_EINFEASIBLE, "problem is infeasible")                              \
    X(AC_ELAPACK, "LAPACK routine failed")                                  \
    X(AC_ECALLBACK, "a callback asked to stop")

typedef enum {
#define AC_STATUS_ENUM(name, msg) name,
    AC_STATUS_LIST(AC_STATUS_ENUM)
#undef AC_STATUS_ENUM
    AC_STATUS_COUNT
} ac_status;

/* The fixed message of a status; "unknown status" for values outside the list. */
const char *ac_status_str(ac_status s);

/* A message buffer that library code fills with the sentence naming the bad
 * input (file, line, quantity, bound) when it returns an error.  Callers may
 * pass NULL when they need only the code. */
/* A path of PATH_MAX (4096) and the sentence after it: at 512 a long path
 * cut off the key and the reason, the part the message is for. */
#define AC_MSG_LEN (4096 + 1024)
typedef struct {
    char text[AC_MSG_LEN];
} ac_msg;

/* printf-style fill of msg (no-op when msg is NULL); returns s, so that
 * `return ac_fail(msg, AC_EPARSE, "%s:%d: ...", ...)` reads as one step. */
ac_status ac_fail(ac_msg *msg, ac_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Seconds of a monotonic clock (CLOCK_MONOTONIC), for timing solves. */
double ac_clock(void);

#endif
