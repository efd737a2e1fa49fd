/* Shared pieces of the attncheck command line. */
#ifndef AC_CLI_H
#define AC_CLI_H

#include <stdio.h>

/* Exit statuses (README): every claim holds / some claim fails / bad usage
 * or bad input. */
enum { EXIT_HOLDS = 0, EXIT_FAILS = 1, EXIT_USAGE = 2 };

/* "attncheck: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse an integer/real option value into *out; on a bad value print
 * "attncheck: --NAME: 'TEXT' is not ..." and return 0. */
int cli_long(const char *name, const char *text, long lo, long hi, long *out);
int cli_double(const char *name, const char *text, double lo, double hi, double *out);

/* The command line as one string (for reports). */
const char *cli_command_line(void);

/* Flush stdout and report a write error (e.g. a full disk); returns the exit
 * status to use: st, or EXIT_USAGE when stdout failed. */
int cli_finish(int st);

int cmd_svm(int argc, char **argv);

#endif
