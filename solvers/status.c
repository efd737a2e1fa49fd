#include "solvers/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static const char *const messages[] = {
#define AC_STATUS_MSG(name, msg) msg,
    AC_STATUS_LIST(AC_STATUS_MSG)
#undef AC_STATUS_MSG
};

const char *ac_status_str(ac_status s)
{
    if ((int)s < 0 || s >= AC_STATUS_COUNT)
        return "unknown status";
    return messages[s];
}

ac_status ac_fail(ac_msg *msg, ac_status s, const char *fmt, ...)
{
    if (msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg->text, sizeof msg->text, fmt, ap);
        va_end(ap);
    }
    return s;
}

double ac_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
