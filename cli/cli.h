/* Shared pieces of the attncheck command line.
 *
 * A command is a row of a table: its name, what follows it in the usage
 * line, the handler and one line of help.  cli/commands.c holds the top-level
 * table, from which main() dispatches and prints its usage; a command with
 * subcommands (svm) keeps its own table and calls cli_dispatch.  A paper adds
 * its command as one row of cli/commands.c and nothing else here knows it. */
#ifndef AC_CLI_H
#define AC_CLI_H

#include <stdio.h>

#include "verify/atomic.h"

/* Exit statuses (README): every claim holds / some claim fails / bad usage
 * or bad input. */
enum { EXIT_HOLDS = 0, EXIT_FAILS = 1, EXIT_USAGE = 2 };

/* A handler gets argv[0] = the full command name ("attncheck svm train"),
 * which getopt_long prints before its own messages, and the arguments after
 * it; it returns the exit status. */
typedef int (*cli_handler)(int argc, char **argv);

typedef struct {
    const char *name;     /* "run" */
    const char *synopsis; /* what follows the name in the usage line: "[ID|PAPER ...]" */
    cli_handler run;
    const char *help;     /* one line */
} cli_command;

/* The top-level commands (cli/commands.c), in the order usage lists them. */
extern const cli_command cli_commands[];
extern const int cli_ncommands;

/* Run the command of table cmds named argv[1] with argv[1..] (argv[0] is
 * prog, e.g. "attncheck svm"); "--help", "-h" and "help" print the usage;
 * no or an unknown name prints it to stderr with EXIT_USAGE. */
int cli_dispatch(const char *prog, const char *about, const cli_command *cmds, int n, int argc, char **argv);

/* The usage of a table: "usage: PROG COMMAND [OPTIONS]", about, then one
 * line per row. */
void cli_usage(FILE *f, const char *prog, const char *about, const cli_command *cmds, int n);

/* "attncheck: " + message to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Parse an integer/real option value into *out; on a bad value print
 * "attncheck: --NAME: 'TEXT' is not ..." and return 0.  The whole text must
 * be the number: no leading or trailing space, no trailing characters; the
 * value must lie in [lo, hi] (both ends included).  A real is decimal
 * (digits, sign, point, exponent: no hexadecimal, "inf" or "nan"); a
 * subnormal value is read as itself. */
int cli_long(const char *name, const char *text, long lo, long hi, long *out);
int cli_double(const char *name, const char *text, double lo, double hi, double *out);
/* 1 when the value of option --NAME is text as the readers take it
 * (ac_text_first_bad: UTF-8, no control character); else 0 after
 * "attncheck: --NAME: byte 0xNN at position P is not UTF-8 text".  For a
 * value that is matched against a file's text or written into JSON (which
 * holds UTF-8 alone). */
int cli_utf8(const char *name, const char *text);

/* getopt_long(argc, argv, "h", opts, ...) that refuses a long option given
 * twice ("--seed 1 ... --seed 2" would otherwise run with the last value
 * and report it as if the user had asked for it alone): it prints
 * "PROG: option '--NAME' given twice" and returns '?', as getopt_long does
 * for an unknown option.  *seen (0 before the first call) records the
 * options met, one bit per row of opts (at most 64 rows). */
struct option;
int cli_getopt(int argc, char **argv, const struct option *opts, unsigned long long *seen);

/* The command line as one string (for reports). */
const char *cli_command_line(void);

/* Flush stdout and report a write error (e.g. a full disk); returns the exit
 * status to use: st, or EXIT_USAGE when stdout failed. */
int cli_finish(int st);

/* While output files are being written: hold SIGINT, SIGTERM and SIGHUP
 * (a handler records them; the writer checks cli_interrupted between files
 * and aborts), then release them, which ends the process the default way,
 * once the temporaries are gone, when one arrived.  Signals ignored on entry
 * stay ignored. */
void cli_hold_signals(void);
int cli_interrupted(void);
void cli_release_signals(void);

/* Write path whole through fill (ac_atomic_write) with SIGINT, SIGTERM and
 * SIGHUP held: a signal that comes while fill writes makes the write give
 * up, so the temporary is removed and path keeps what it held, and then
 * ends the process the default way (cli_release_signals).  A run stopped by
 * a signal never leaves a new output, whole or not.  Calls cli_test_stall
 * after fill, so that a test can signal a run there.  The status of
 * ac_atomic_write otherwise (msg says why). */
ac_status cli_write_file(const char *path, ac_atomic_fill fill, void *ctx, ac_msg *msg);
/* A command's output: through fill to path by cli_write_file, or to
 * standard output when path is NULL.  1 on success; 0 after a message
 * (the file and the reason, or "standard output: ..."). */
int cli_write_output(const char *path, ac_atomic_fill fill, void *ctx);

/* Refuse an --out that cannot be written before the run rather than after
 * it (a sampler or a training can take minutes): open its temporary and
 * remove it again, with ac_atomic_open's checks and message (a missing or
 * unwritable directory, a directory, a dangling link).  Only for a path that
 * is absent or a regular file: a FIFO's reader would take the first close
 * for the end of the output.  NULL (stdout) passes.  0 after a message. */
int cli_out_writable(const char *out);

/* path as "<its directory, resolved>/<its name>" into out (cap bytes): two
 * spellings of one place compare equal whether or not the file exists yet.
 * 0 when its directory cannot be resolved or out is too small. */
int cli_canonical_path(const char *path, char *out, size_t cap);
/* 1 when a and b name one file: the same resolved path (cli_canonical_path),
 * or both exist with the same device and inode (a hard or symbolic link). */
int cli_names_one_file(const char *a, const char *b);

/* 1 when the output path out (NULL: standard output) names the same file
 * as the input path in (same device and inode, through links), after a
 * message naming both: writing there would replace the input.  0 else. */
int cli_same_file(const char *in, const char *out);

/* Test hook: sleep AC_TEST_STALL_SECONDS (environment; unset: no sleep)
 * between the files of an output set, so that tests/cli.sh can signal a run
 * while its temporaries exist. */
void cli_test_stall(void);

/* The commands of cli/commands.c. */
int cmd_list(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_merge(int argc, char **argv);
int cmd_regress(int argc, char **argv);
int cmd_svm(int argc, char **argv);
int cmd_moe(int argc, char **argv);
int cmd_joma(int argc, char **argv);
int cmd_paths(int argc, char **argv);

#endif
