/* attncheck: check theorems about attention numerically.
 *
 *   attncheck COMMAND [OPTIONS]
 *
 * main() knows no command: it dispatches on the table of cli/commands.c.
 * This file also holds what every command shares: messages, option parsing,
 * the final flush, and the signal policy while outputs are written. */
#define _XOPEN_SOURCE 700 /* realpath */
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <gsl/gsl_errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "verify/atomic.h"
#include "verify/claim.h" /* AC_VERSION */
#include "verify/text.h"
#include "verify/trial.h" /* ac_trial_source_id */

static char command_line[4096];

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("attncheck: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* strtol and strtod skip leading space and accept the empty string; an option
 * value is the number alone. */
static int bare(const char *text)
{
    return text[0] && !isspace((unsigned char)text[0]);
}

int cli_long(const char *name, const char *text, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = bare(text) ? strtol(text, &end, 10) : 0;
    if (!bare(text) || errno || end == text || *end || v < lo || v > hi) {
        cli_error("--%s: '%s' is not an integer in [%ld, %ld]", name, text, lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_double(const char *name, const char *text, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    /* decimal only: strtod also reads hexadecimal ("0x10" is 16, "0x1p-3"),
     * which no one means on a command line.  An underflow (ERANGE with a
     * subnormal or zero result) is a value all the same, judged by the range. */
    int decimal = strspn(text, "0123456789+-.eE") == strlen(text);
    double v = bare(text) && decimal ? strtod(text, &end) : 0.0;
    if (errno == ERANGE && fabs(v) < DBL_MIN)
        errno = 0;
    /* the range in words: a lower end of DBL_MIN means "> 0" (it read
     * "'0' is not a number in [2.22507e-308, 1.79769e+308]") */
    char range[96];
    if (lo == DBL_MIN)
        snprintf(range, sizeof range, hi == DBL_MAX ? "> 0" : "> 0 and <= %g", hi);
    else if (hi == DBL_MAX)
        snprintf(range, sizeof range, ">= %g", lo);
    else
        snprintf(range, sizeof range, "in [%g, %g]", lo, hi);
    if (!bare(text) || !decimal || end == text || *end) { /* decimal: no "nan" or "inf" */
        cli_error("--%s: '%s' is not a decimal number (it must be %s)", name, text, range);
        return 0;
    }
    if (errno || !(v >= lo && v <= hi)) {
        cli_error("--%s: '%s' is out of range: it must be %s", name, text, range);
        return 0;
    }
    *out = v;
    return 1;
}

int cli_utf8(const char *name, const char *text)
{
    size_t n = strlen(text), bad = ac_text_first_bad((const unsigned char *)text, n);
    if (bad == n)
        return 1;
    cli_error("--%s: byte 0x%02x at position %zu is not UTF-8 text", name, (unsigned char)text[bad], bad + 1);
    return 0;
}

int cli_getopt(int argc, char **argv, const struct option *opts, unsigned long long *seen)
{
    int li = -1;
    int c = getopt_long(argc, argv, "h", opts, &li);
    if (c == -1 || c == '?' || li < 0)
        return c;
    if (li >= 64) { /* no table is that long; a bit per option */
        fprintf(stderr, "%s: option table too long\n", argv[0]);
        return '?';
    }
    if (*seen & (1ULL << li)) {
        fprintf(stderr, "%s: option '--%s' given twice: give it once\n", argv[0], opts[li].name);
        return '?';
    }
    *seen |= 1ULL << li;
    return c;
}

const char *cli_command_line(void)
{
    return command_line;
}

int cli_finish(int st)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("write error on standard output: %s", strerror(errno));
        return EXIT_USAGE;
    }
    return st;
}

/* Signals that end a run the default way, except while outputs are written:
 * then the handler records the signal and the writer, which checks
 * cli_interrupted() between files, removes its temporaries before
 * cli_release_signals re-raises it.  A handler, not sigprocmask: OpenBLAS's
 * threads, started before main, would still take a blocked signal. */
static const int held_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NHELD ((int)(sizeof held_signals / sizeof held_signals[0]))
static struct sigaction saved[NHELD];
static int installed[NHELD];
static volatile sig_atomic_t holding, held;

static void on_signal(int sig)
{
    if (holding) {
        held = sig;
        return;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void cli_hold_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    held = 0;
    holding = 1;
    for (int i = 0; i < NHELD; i++) {
        struct sigaction old;
        installed[i] = 0;
        /* a signal ignored on entry (nohup, a background job) stays ignored */
        if (sigaction(held_signals[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN &&
            sigaction(held_signals[i], &sa, &saved[i]) == 0)
            installed[i] = 1;
    }
}

int cli_interrupted(void)
{
    return held != 0;
}

void cli_release_signals(void)
{
    holding = 0;
    for (int i = 0; i < NHELD; i++)
        if (installed[i])
            sigaction(held_signals[i], &saved[i], NULL);
    if (held) {
        int sig = held;
        held = 0;
        signal(sig, SIG_DFL);
        raise(sig);
    }
}

/* cli_write_file's fill: fill, then give up when a held signal came. */
typedef struct {
    ac_atomic_fill fill;
    void *ctx;
} held_fill;

static ac_status fill_unless_interrupted(FILE *f, void *ctx, ac_msg *msg)
{
    const held_fill *h = ctx;
    ac_status st = h->fill(f, h->ctx, msg);
    cli_test_stall(); /* the CLI tests signal a run here */
    if (st == AC_OK && cli_interrupted())
        return ac_fail(msg, AC_EINVAL, "interrupted");
    return st;
}

ac_status cli_write_file(const char *path, ac_atomic_fill fill, void *ctx, ac_msg *msg)
{
    held_fill h = {fill, ctx};
    cli_hold_signals();
    ac_status st = ac_atomic_write(path, fill_unless_interrupted, &h, msg);
    cli_release_signals(); /* ends the process when a signal came */
    return st;
}

int cli_write_output(const char *path, ac_atomic_fill fill, void *ctx)
{
    ac_msg msg = {{0}};
    if (!path) {
        ac_status st = fill(stdout, ctx, &msg);
        if (st != AC_OK)
            cli_error("standard output: %s", msg.text[0] ? msg.text : ac_status_str(st));
        return st == AC_OK;
    }
    /* a signal while writing ends the process with path untouched */
    ac_status st = cli_write_file(path, fill, ctx, &msg);
    if (st != AC_OK)
        cli_error("%s", msg.text[0] ? msg.text : ac_status_str(st));
    return st == AC_OK;
}

void cli_test_stall(void)
{
    const char *v = getenv("AC_TEST_STALL_SECONDS");
    if (!v)
        return;
    double t = atof(v);
    if (t > 0.0) {
        struct timespec ts = {(time_t)t, (long)((t - (double)(time_t)t) * 1e9)};
        while (!cli_interrupted() && nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
}

/* Width of the name column of a usage; a longer synopsis puts the help on
 * the next line. */
#define CLI_USAGE_COLUMN 22

void cli_usage(FILE *f, const char *prog, const char *about, const cli_command *cmds, int n)
{
    fprintf(f, "usage: %s COMMAND [OPTIONS]\n\n%s\ncommands:\n", prog, about);
    for (int i = 0; i < n; i++) {
        char head[64];
        snprintf(head, sizeof head, "%s%s%s", cmds[i].name, cmds[i].synopsis[0] ? " " : "", cmds[i].synopsis);
        if (strlen(head) > CLI_USAGE_COLUMN)
            fprintf(f, "  %s\n  %-*s %s\n", head, CLI_USAGE_COLUMN, "", cmds[i].help);
        else
            fprintf(f, "  %-*s %s\n", CLI_USAGE_COLUMN, head, cmds[i].help);
    }
    fprintf(f, "\n`%s COMMAND --help` describes each command.\n", prog);
}

/* Full command names handed to handlers as argv[0], one per nesting level
 * ("attncheck svm", "attncheck svm train"). */
#define CLI_DEPTH_MAX 4
static char names[CLI_DEPTH_MAX][128];
static int depth;

int cli_dispatch(const char *prog, const char *about, const cli_command *cmds, int n, int argc, char **argv)
{
    const char *cmd = argc >= 2 ? argv[1] : NULL;
    if (!cmd) {
        cli_usage(stderr, prog, about, cmds, n);
        return EXIT_USAGE;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        cli_usage(stdout, prog, about, cmds, n);
        return cli_finish(EXIT_HOLDS);
    }
    for (int i = 0; i < n; i++)
        if (strcmp(cmd, cmds[i].name) == 0 && depth < CLI_DEPTH_MAX) {
            char *name = names[depth++];
            snprintf(name, sizeof names[0], "%s %s", prog, cmds[i].name);
            /* the handler parses its own options from argv[1] on */
            argv[1] = name;
            optind = 1;
            return cmds[i].run(argc - 1, argv + 1);
        }
    fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
    cli_usage(stderr, prog, about, cmds, n);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    /* Library code reports through return codes; GSL's default handler would abort. */
    gsl_set_error_handler_off();
    size_t len = 0;
    for (int i = 0; i < argc && len + 2 < sizeof command_line; i++)
        len += (size_t)snprintf(command_line + len, sizeof command_line - len, "%s%s", i ? " " : "", argv[i]);
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("attncheck %s (library source %s)\n", AC_VERSION, ac_trial_source_id());
        return cli_finish(EXIT_HOLDS);
    }
    return cli_dispatch("attncheck",
                        "Check theorems about attention numerically: each claim compares what a theory\n"
                        "predicts with what a small trained model does.\n"
                        "exit status: 0 every claim holds, 1 some claim fails, 2 bad usage or bad input.\n",
                        cli_commands, cli_ncommands, argc, argv);
}

/* cli_canonical_path, cli_names_one_file, cli_same_file: cli.h */
int cli_canonical_path(const char *path, char *out, size_t cap)
{
    char dir[AC_ATOMIC_PATH_MAX];
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    else
        snprintf(dir, sizeof dir, ".");
    char *real = realpath(dir, NULL);
    if (!real)
        return 0;
    int fits = snprintf(out, cap, "%s/%s", real, base) < (int)cap;
    free(real);
    return fits;
}

int cli_names_one_file(const char *a, const char *b)
{
    char ca[2 * AC_ATOMIC_PATH_MAX], cb[2 * AC_ATOMIC_PATH_MAX];
    if (cli_canonical_path(a, ca, sizeof ca) && cli_canonical_path(b, cb, sizeof cb) && strcmp(ca, cb) == 0)
        return 1;
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int cli_same_file(const char *in, const char *out)
{
    struct stat b;
    if (!out || (stat(out, &b) == 0 && !S_ISREG(b.st_mode)) || !cli_names_one_file(in, out))
        return 0;
    cli_error("--out %s is the input file %s: writing there would replace it", out, in);
    return 1;
}

/* cli_out_writable: cli.h says what it refuses and why. */
int cli_out_writable(const char *out)
{
    struct stat sb;
    if (!out || (stat(out, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)))
        return 1;
    ac_msg msg = {{0}};
    ac_atomic a = {0};
    cli_hold_signals();
    ac_status st = ac_atomic_open(&a, out, &msg);
    if (st == AC_OK)
        ac_atomic_abort(&a);
    else
        cli_error("%s", msg.text);
    cli_release_signals();
    return st == AC_OK;
}
