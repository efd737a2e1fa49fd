/* attncheck list | run | merge | regress: the claim registry (verify/claim.h),
 * the trial harness (verify/trial.h) and the report writers; these commands
 * know no paper.
 *
 *   attncheck list
 *   attncheck run [ID|PAPER ...] [--size quick|default|paper] [--seed N]
 *                 [--format md|csv|json|tex] [--out DIR]
 *   attncheck run ID --trials A:B --records FILE    (part of a sweep)
 *   attncheck merge FILE... [--format F] [--out DIR] (the sweep's table)
 *   attncheck regress [--baseline DIR] */
#define _XOPEN_SOURCE 700 /* realpath */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "verify/atomic.h"
#include "verify/claim.h"
#include "verify/figure.h"
#include "verify/regress.h"
#include "verify/report.h"
#include "verify/trial.h"

#define DEFAULT_SEED 1UL
/* Trial i uses seed + i, within AC_SEED_MAX (verify/trial.h): the run
 * checks seed + ntrials - 1 for the claims it selects. */
#define RUN_SEED_MAX ((long)AC_SEED_MAX)
#define DEFAULT_BASELINE "results/baseline"

/* ---- list ---------------------------------------------------------------- */

int cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        if (c == 'h') {
            printf("usage: attncheck list\n\nPrint every claim: its id (PAPER.NAME), paper and statement.\n");
            return cli_finish(EXIT_HOLDS);
        }
        return EXIT_USAGE;
    }
    if (optind < argc) {
        cli_error("list: unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    for (int p = 0; p < ac_registry_npapers(); p++) {
        const ac_paper_def *P = ac_registry_paper(p);
        for (int i = 0; i < P->nclaims; i++)
            printf("%-28s %-6s %s\n", P->claims[i].id, P->name, P->claims[i].statement);
    }
    return cli_finish(EXIT_HOLDS);
}

/* ---- run ----------------------------------------------------------------- */

typedef struct {
    const ac_claim_def **defs;
    int n;
} selection;

/* Claims named by ids or paper names, in registry order, each once; all
 * claims when none is named.  0 (after a message) on an unknown name. */
static int select_claims(char **names, int nnames, selection *sel)
{
    int total = 0;
    for (int p = 0; p < ac_registry_npapers(); p++)
        total += ac_registry_paper(p)->nclaims;
    sel->defs = calloc((size_t)total + 1, sizeof *sel->defs);
    sel->n = 0;
    if (!sel->defs)
        return 0;
    for (int i = 0; i < nnames; i++)
        if (!ac_registry_find_paper(names[i]) && !ac_registry_find_claim(names[i])) {
            cli_error("no claim or paper named '%s' (see attncheck list)", names[i]);
            return 0;
        }
    for (int p = 0; p < ac_registry_npapers(); p++) {
        const ac_paper_def *P = ac_registry_paper(p);
        for (int j = 0; j < P->nclaims; j++) {
            int take = nnames == 0;
            for (int i = 0; i < nnames && !take; i++)
                take = strcmp(names[i], P->name) == 0 || strcmp(names[i], P->claims[j].id) == 0;
            if (take)
                sel->defs[sel->n++] = &P->claims[j];
        }
    }
    return 1;
}

static int show_progress(void *ctx, const char *id, double frac)
{
    (void)ctx;
    fprintf(stderr, "\r%-32s %3.0f%%", id, 100.0 * frac);
    if (frac >= 1.0)
        fprintf(stderr, "\r%-40s\r", "");
    fflush(stderr);
    return 0;
}

/* Run every selected claim; 1 when all ran (whatever their verdicts). */
static void run_claims(const selection *sel, const ac_run_opts *o, ac_claim_result *res)
{
    for (int i = 0; i < sel->n; i++) {
        if (ac_claim_run(sel->defs[i], o, &res[i]) != AC_OK)
            cli_error("%s", res[i].error);
    }
}

/* What a report or the index file holds (ac_atomic_write fills it). */
typedef struct {
    ac_format fmt;
    const ac_paper_def *paper;
    const ac_claim_result *res;
    int n;
    const ac_report_meta *meta;
    const ac_paper_def *const *papers; /* index only */
    int npapers;
    unsigned formats;
    const char *fig_dir;
} report_job;

static ac_status fill_report(FILE *f, void *ctx, ac_msg *msg)
{
    const report_job *j = ctx;
    return ac_report_write(f, j->fmt, j->paper, j->res, j->n, j->meta, msg);
}

static ac_status fill_index(FILE *f, void *ctx, ac_msg *msg)
{
    const report_job *j = ctx;
    return ac_report_index(f, j->papers, j->npapers, j->res, j->n, j->formats, j->fig_dir, j->meta, msg);
}

/* Write the set: DIR/<paper>.<ext> for every paper in the results and every
 * format in mask, then (with figures) DIR/figures/ and the index
 * DIR/README.md.  They appear together or not at all (verify/atomic.h): a
 * failure or a held SIGINT/SIGTERM before the commit leaves DIR as it was. */
static ac_status write_set(ac_atomic_set *set, unsigned mask, int figures, const ac_claim_result *res, int n,
                           const ac_report_meta *meta, ac_msg *msg)
{
    const ac_paper_def *papers[64];
    int np = 0;
    ac_status st = AC_OK;
    for (int p = 0; p < ac_registry_npapers() && np < 64 && st == AC_OK; p++) {
        const ac_paper_def *P = ac_registry_paper(p);
        int first = -1, count = 0;
        for (int i = 0; i < n; i++)
            if (strcmp(res[i].paper, P->name) == 0) {
                if (first < 0)
                    first = i;
                count++;
            }
        if (first < 0)
            continue;
        papers[np++] = P;
        for (int f = 0; f < AC_FMT_COUNT && st == AC_OK; f++) {
            if (!(mask & (1u << f)))
                continue;
            char name[AC_ATOMIC_NAME_MAX];
            snprintf(name, sizeof name, "%s.%s", P->name, ac_format_ext((ac_format)f));
            /* results of one paper are contiguous: registry order */
            report_job job = {(ac_format)f, P, res + first, count, meta, NULL, 0, 0, NULL};
            st = ac_atomic_set_write(set, name, fill_report, &job, msg);
            cli_test_stall();
            if (st == AC_OK && cli_interrupted())
                return ac_fail(msg, AC_ECALLBACK, "interrupted");
        }
    }
    if (st != AC_OK || !figures)
        return st;
    char figdir[AC_ATOMIC_PATH_MAX + 2 * AC_ATOMIC_NAME_MAX], path[sizeof figdir + AC_ATOMIC_NAME_MAX];
    int have_plot = ac_figure_gnuplot_available();
    if (!have_plot)
        cli_error("gnuplot not found: figures not drawn (make deps installs it)");
    else if ((st = ac_atomic_set_mkdir(set, "figures", figdir, sizeof figdir, msg)) != AC_OK)
        return st;
    for (int i = 0; i < n && have_plot; i++)
        for (int f = 0; f < res[i].nfigs; f++) {
            if ((st = ac_figure_write_png(&res[i].figs[f], figdir, path, sizeof path, msg)) != AC_OK)
                return st;
            if (cli_interrupted())
                return ac_fail(msg, AC_ECALLBACK, "interrupted");
        }
    report_job index = {0, NULL, res, n, meta, papers, np, mask, have_plot ? "figures" : NULL};
    return ac_atomic_set_write(set, "README.md", fill_index, &index, msg);
}

static int write_out(const char *dir, unsigned mask, int figures, const ac_claim_result *res, int n,
                     const ac_report_meta *meta)
{
    ac_msg msg = {{0}};
    ac_atomic_set set;
    cli_hold_signals();
    ac_status st = ac_atomic_set_init(&set, dir, &msg);
    if (st == AC_OK)
        st = write_set(&set, mask, figures, res, n, meta, &msg);
    if (st == AC_OK && !cli_interrupted())
        st = ac_atomic_set_commit(&set, &msg);
    ac_atomic_set_clear(&set);
    if (st != AC_OK && !cli_interrupted()) /* an interrupted gnuplot is no error of its own */
        cli_error("%s", msg.text);
    cli_release_signals(); /* a held signal ends the run here, its temporaries gone */
    return st == AC_OK;
}

/* run --out DIR, checked before the claims run (minutes at --size default)
 * so that an output that cannot be written costs no run: DIR must be a
 * directory, or missing below a directory this process may write in (the
 * set creates it).  ac_atomic_set_init checks again when the set is written.
 * 0 after a message naming the path. */
static int out_dir_usable(const char *dir)
{
    char path[AC_ATOMIC_PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) {
        cli_error("--out: %s", n ? "the directory name is too long" : "empty directory name");
        return 0;
    }
    memcpy(path, dir, n + 1);
    for (;;) {
        struct stat sb;
        if (stat(path, &sb) == 0) {
            if (!S_ISDIR(sb.st_mode)) {
                cli_error("--out %s: %s is not a directory", dir, path);
                return 0;
            }
            if (access(path, W_OK | X_OK) != 0) {
                cli_error("--out %s: cannot write in %s: %s", dir, path, strerror(errno));
                return 0;
            }
            return 1;
        }
        if (errno != ENOENT) {
            cli_error("--out %s: %s: %s", dir, path, strerror(errno));
            return 0;
        }
        if (lstat(path, &sb) == 0) {
            cli_error("--out %s: %s is a link to nothing, not a directory", dir, path);
            return 0;
        }
        /* missing: its parent, "a/b//" -> "a" */
        while (n > 1 && path[n - 1] == '/')
            path[--n] = '\0';
        while (n > 0 && path[n - 1] != '/')
            path[--n] = '\0';
        while (n > 1 && path[n - 1] == '/')
            path[--n] = '\0';
        if (n == 0)
            memcpy(path, ".", 2), n = 1;
    }
}

/* --out DIR replaces DIR/<paper>.<ext>, DIR/README.md and DIR/figures/ whole:
 * refuse, before any work, a DIR where that would replace one of the files
 * the command reads or writes besides (merge's records, run --records): the
 * set would write over them and nothing would be left of the records.  0
 * after a message naming both. */
/* 0 after a message when file is DIR/name. */
static int spares_member(const char *dir, const char *file, const char *name)
{
    char member[AC_ATOMIC_PATH_MAX + AC_ATOMIC_NAME_MAX];
    snprintf(member, sizeof member, "%s/%s", dir, name);
    if (!cli_names_one_file(file, member))
        return 1;
    cli_error("--out %s would replace %s, which this command reads or writes (as %s): give another directory", dir,
              file, member);
    return 0;
}

static int out_spares(const char *dir, char *const *files, int n)
{
    char name[AC_ATOMIC_NAME_MAX];
    for (int i = 0; i < n; i++) {
        if (!spares_member(dir, files[i], "README.md"))
            return 0;
        for (int p = 0; p < ac_registry_npapers(); p++)
            for (int f = 0; f < AC_FMT_COUNT; f++) {
                snprintf(name, sizeof name, "%s.%s", ac_registry_paper(p)->name, ac_format_ext((ac_format)f));
                if (!spares_member(dir, files[i], name))
                    return 0;
            }
        /* DIR/figures/ is replaced whole, with whatever lies in it */
        char fig[AC_ATOMIC_PATH_MAX + 16], canon[2 * AC_ATOMIC_PATH_MAX];
        snprintf(fig, sizeof fig, "%s/figures", dir);
        char *real = realpath(fig, NULL);
        size_t k = real ? strlen(real) : 0;
        int inside = real && cli_canonical_path(files[i], canon, sizeof canon) && strncmp(canon, real, k) == 0 &&
                     canon[k] == '/';
        free(real);
        if (inside) {
            cli_error("--out %s would replace %s/figures/ whole, and %s lies in it: give another directory", dir,
                      dir, files[i]);
            return 0;
        }
    }
    return 1;
}

/* The options of run when none is given (its --help prints them). */
static ac_run_opts run_opts_default(void)
{
    ac_run_opts o = {AC_SIZE_DEFAULT, DEFAULT_SEED, NULL, NULL};
    return o;
}

static void run_help(void)
{
    ac_run_opts def = run_opts_default();
    printf("usage: attncheck run [ID|PAPER ...] [OPTIONS]\n"
           "\n"
           "Run claims (all when none is named; a PAPER name runs all of its claims) and print\n"
           "the theory-vs-experiment table.\n"
           "\n"
           "  --size S       quick | default | paper (default: %s)\n"
           "  --seed N       base seed, 0 to %ld; trial i of a claim uses seed N+i, which must\n"
           "                 stay within that range too (default: %lu)\n"
           "  --format F     md | csv | json | tex for standard output (default: md)\n"
           "  --out DIR      also write DIR/<paper>.<ext> in all four formats, the figures\n"
           "                 DIR/figures/*.png and the index DIR/README.md; with --format,\n"
           "                 that format's files alone (make baseline); DIR is created, and\n"
           "                 refused before the run when it cannot be\n"
           "  --quiet        no table on standard output\n"
           "  --records FILE also write the records of the claim's trials to FILE (JSON;\n"
           "                 one claim ID only); attncheck merge makes the table from them\n"
           "  --trials A:B   run only trials A to B-1 of the claim (B may be left out: to the\n"
           "                 last); needs --records, prints no table\n"
           "\n"
           "A sweep over machines: `run ID --trials A:B --records part-A.json` on each, with\n"
           "the same --seed and --size, then `attncheck merge part-*.json` prints the table\n"
           "a single run prints.\n"
           "\n"
           "exit status: 0 every claim holds, 1 some claim fails, 2 bad usage or bad input.\n",
           ac_size_str(def.size), RUN_SEED_MAX, def.seed);
}

/* How a table is shown: --format, --out, --quiet of run and merge. */
typedef struct {
    int fmt, fmt_given, quiet;
    const char *out;
} output_opts;

/* Parse one output option c (its value optarg); 0 after a message when the
 * value is bad. */
static int output_option(int c, const char *arg, output_opts *w)
{
    switch (c) {
    case 'f':
        if ((w->fmt = ac_format_parse(arg)) < 0) {
            cli_error("--format: '%s' is not md, csv, json or tex", arg);
            return 0;
        }
        w->fmt_given = 1;
        return 1;
    case 'o':
        w->out = arg;
        return 1;
    case 'q':
        w->quiet = 1;
        return 1;
    default:
        return 0;
    }
}

/* Print the table of res[0..n) (unless quiet) and write --out; the exit
 * status: EXIT_FAILS when some claim fails, EXIT_USAGE when an output could
 * not be written. */
static int show_results(const ac_claim_result *res, int n, const ac_run_opts *o, const output_opts *w)
{
    ac_report_meta meta = {cli_command_line(), o->seed, ac_size_str(o->size), NULL, NULL};
    int st = EXIT_HOLDS;
    for (int i = 0; i < n; i++)
        if (res[i].verdict == AC_VERDICT_FAIL)
            st = EXIT_FAILS;
    ac_msg msg = {{0}};
    if (!w->quiet && ac_report_write(stdout, (ac_format)w->fmt, NULL, res, n, &meta, &msg) != AC_OK) {
        cli_error("%s", msg.text);
        st = EXIT_USAGE;
    }
    if (w->out && !write_out(w->out, w->fmt_given ? 1u << w->fmt : AC_FMT_ALL, !w->fmt_given, res, n, &meta))
        st = EXIT_USAGE;
    return st;
}

/* Trials [a, b) of n from "A:B" or "A:" (to the last); 0 after a message
 * when the text is not such a range within [0, n). */
static int parse_trials(const char *text, const ac_claim_def *def, const ac_run_opts *o, int n, int *a, int *b)
{
    const char *colon = strchr(text, ':');
    char *end;
    long la = -1, lb = n;
    if (colon && colon > text && text[0] >= '0' && text[0] <= '9') {
        la = strtol(text, &end, 10);
        if (end != colon)
            la = -1;
    }
    if (colon && colon[1]) {
        lb = colon[1] >= '0' && colon[1] <= '9' ? strtol(colon + 1, &end, 10) : -1;
        if (lb >= 0 && *end)
            lb = -1;
    }
    if (la < 0 || la >= lb || lb > n) {
        cli_error("--trials: '%s' is not A:B with 0 <= A < B <= %d (%s has %d trials at size %s)", text, n,
                  def->id, n, ac_size_str(o->size));
        return 0;
    }
    *a = (int)la;
    *b = (int)lb;
    return 1;
}

/* run ID --records FILE [--trials A:B]: trials [A, B) of def into FILE,
 * written whole or not at all.  With every trial, *res is the claim's result
 * from those records (as ac_claim_run would give it) and *table is set.
 * Returns the exit status when the run ends here, -1 to go on to the table. */
static int run_records(const ac_claim_def *def, const ac_run_opts *o, const char *range, const char *path,
                       ac_claim_result *res, int *table)
{
    if (!def->trials) {
        cli_error("%s: the claim has no trial definition", def->id);
        return EXIT_USAGE;
    }
    int n = def->trials->ntrials(o), a = 0, b = n;
    if (range && !parse_trials(range, def, o, n, &a, &b))
        return EXIT_USAGE;
    ac_trial_set set;
    ac_msg msg = {{0}};
    ac_trial_set_init(&set, def->id, o, n);
    ac_status st = ac_trial_run(def->trials, o, a, b, &set, &msg);
    if (st != AC_OK) {
        cli_error("%s: %s", def->id, msg.text);
        ac_trial_set_clear(&set);
        return EXIT_FAILS; /* as a claim that could not run */
    }
    cli_hold_signals();
    st = ac_trial_set_write(&set, path, &msg);
    if (st != AC_OK && !cli_interrupted())
        cli_error("%s", msg.text);
    cli_release_signals();
    if (st == AC_OK && a == 0 && b == n) {
        if (ac_claim_run_records(def, o, &set, res) != AC_OK)
            cli_error("%s", res->error);
        *table = 1;
    }
    ac_trial_set_clear(&set);
    return st != AC_OK ? EXIT_USAGE : *table ? -1 : EXIT_HOLDS;
}

int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"size", required_argument, 0, 's'},    {"seed", required_argument, 0, 'S'},
        {"format", required_argument, 0, 'f'},  {"out", required_argument, 0, 'o'},
        {"quiet", no_argument, 0, 'q'},         {"trials", required_argument, 0, 't'},
        {"records", required_argument, 0, 'r'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    ac_run_opts o = run_opts_default();
    output_opts w = {AC_FMT_MD, 0, 0, NULL};
    const char *trials = NULL, *records = NULL;
    int c;
    long v;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        switch (c) {
        case 's':
            if (ac_size_parse(optarg) < 0) {
                cli_error("--size: '%s' is not quick, default or paper", optarg);
                return EXIT_USAGE;
            }
            o.size = (ac_size)ac_size_parse(optarg);
            break;
        case 'S':
            if (!cli_long("seed", optarg, 0, RUN_SEED_MAX, &v))
                return EXIT_USAGE;
            o.seed = (unsigned long)v;
            break;
        case 'f':
        case 'o':
        case 'q':
            if (!output_option(c, optarg, &w))
                return EXIT_USAGE;
            break;
        case 't':
            trials = optarg;
            break;
        case 'r':
            records = optarg;
            break;
        case 'h':
            run_help();
            return cli_finish(EXIT_HOLDS);
        default:
            return EXIT_USAGE;
        }
    }
    if (trials && !records) {
        cli_error("--trials needs --records FILE: part of a run has no table; attncheck merge makes it from "
                  "the records");
        return EXIT_USAGE;
    }
    if (trials && (w.out || w.fmt_given || w.quiet)) {
        cli_error("--trials prints no table: --out, --format and --quiet belong to attncheck merge");
        return EXIT_USAGE;
    }
    char *rec_files[] = {(char *)records};
    if ((w.out && !out_dir_usable(w.out)) || (records && !cli_out_writable(records)) ||
        (w.out && records && !out_spares(w.out, rec_files, 1)))
        return EXIT_USAGE;
    selection sel;
    if (!select_claims(argv + optind, argc - optind, &sel)) {
        free(sel.defs);
        return EXIT_USAGE;
    }
    for (int i = 0; i < sel.n; i++) {
        const ac_trial_def *td = sel.defs[i]->trials;
        long nt = td ? td->ntrials(&o) : 1;
        if (nt > 0 && o.seed > AC_SEED_MAX - (unsigned long)(nt - 1)) {
            cli_error("--seed %lu: %s's %ld trials use seeds %lu + i, past %lu, the last MT19937 tells apart "
                      "(it keeps 32 bits of a seed): give --seed %lu or less",
                      o.seed, sel.defs[i]->id, nt, o.seed, AC_SEED_MAX, AC_SEED_MAX - (unsigned long)(nt - 1));
            free(sel.defs);
            return EXIT_USAGE;
        }
    }
    if (records && (argc - optind != 1 || sel.n != 1 || strcmp(argv[optind], sel.defs[0]->id) != 0)) {
        cli_error("--records takes the trials of one claim: name one claim ID, not a paper");
        free(sel.defs);
        return EXIT_USAGE;
    }
    if (isatty(STDERR_FILENO))
        o.progress = show_progress;
    ac_claim_result *res = calloc((size_t)sel.n + 1, sizeof *res);
    if (!res) {
        free(sel.defs);
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    int st = -1, table = 0;
    if (records)
        st = run_records(sel.defs[0], &o, trials, records, res, &table);
    else
        run_claims(&sel, &o, res);
    if (st < 0)
        st = show_results(res, sel.n, &o, &w);
    if (!records || table)
        for (int i = 0; i < sel.n; i++)
            ac_claim_result_clear(&res[i]);
    free(res);
    free(sel.defs);
    return cli_finish(st);
}

/* ---- merge ------------------------------------------------------------- */

static void merge_help(void)
{
    printf("usage: attncheck merge FILE... [OPTIONS]\n"
           "\n"
           "Merge the trial records of one claim, written by `attncheck run ID --trials A:B\n"
           "--records FILE` (on any machines, in any order), and print the claim's table as\n"
           "a run of every trial prints it, bit for bit; the seconds are the recorded ones.\n"
           "The files must hold one claim, seed and size, each trial once, every trial in all.\n"
           "\n"
           "  --format F     md | csv | json | tex for standard output (default: md)\n"
           "  --out DIR      also write DIR/<paper>.<ext>, as run --out does\n"
           "  --quiet        no table on standard output\n"
           "\n"
           "exit status: 0 the claim holds, 1 it fails, 2 bad usage or bad, clashing or\n"
           "incomplete records.\n");
}

/* The runs of missing trials of a set whose records are sorted, as
 * "1, 3:5" (A:B is trials A to B-1), truncated to cap. */
static void missing_trials(const ac_trial_set *set, char *buf, size_t cap)
{
    size_t len = 0;
    int next = 0; /* the first trial not yet accounted for */
    buf[0] = 0;
    for (int i = 0; i <= set->nrec && len < cap; i++) {
        int upto = i < set->nrec ? set->rec[i].index : set->ntrials;
        if (upto > next)
            len += (size_t)snprintf(buf + len, cap - len, upto == next + 1 ? "%s%d" : "%s%d:%d", len ? ", " : "",
                                    next, upto);
        next = upto + 1;
    }
}

/* The records of files[0..n) merged into *all, for the claim they hold
 * (*def).  EXIT_HOLDS, or EXIT_USAGE after a message naming the file. */
static int merge_files(char **files, int n, ac_trial_set *all, const ac_claim_def **def)
{
    ac_msg msg = {{0}};
    int *from = NULL; /* the file of each trial merged so far */
    for (int f = 0; f < n; f++) {
        ac_trial_set s;
        if (ac_trial_set_read(files[f], &s, &msg) != AC_OK) {
            cli_error("%s", msg.text);
            ac_trial_set_clear(&s);
            free(from);
            return EXIT_USAGE;
        }
        int bad = 0;
        if (strcmp(s.source, ac_trial_source_id()) != 0) {
            /* the merged table promises what this build's run prints */
            cli_error("%s: records of the build with source %s; this build's is %s (attncheck --version): "
                      "another code's numbers; run those trials again with this build", files[f], s.source,
                      ac_trial_source_id());
            bad = 1;
        } else if (f == 0) {
            ac_run_opts o = {s.size, s.seed, NULL, NULL};
            if (!(*def = ac_registry_find_claim(s.id)) || !(*def)->trials) {
                cli_error("%s: no claim named '%s' that runs trials (see attncheck list)", files[f], s.id);
                bad = 1;
            } else if (s.ntrials != (*def)->trials->ntrials(&o)) {
                cli_error("%s: %d trials recorded, but %s has %d at size %s (records of another version?)",
                          files[f], s.ntrials, s.id, (*def)->trials->ntrials(&o), ac_size_str(s.size));
                bad = 1;
            } else if (!(from = malloc(sizeof *from * (size_t)(s.ntrials + 1)))) {
                cli_error("out of memory");
                bad = 1;
            } else {
                for (int i = 0; i < s.ntrials; i++)
                    from[i] = -1;
                for (int i = 0; i < s.nrec; i++)
                    from[s.rec[i].index] = 0; /* within [0, ntrials): ac_trial_set_read checks */
                *all = s;
                memset(&s, 0, sizeof s);
            }
        } else if (strcmp(s.id, all->id) != 0 || s.seed != all->seed || s.size != all->size ||
                   s.ntrials != all->ntrials) {
            cli_error("%s: records of %s, seed %lu, size %s do not merge with %s's of %s, seed %lu, size %s",
                      files[f], s.id, s.seed, ac_size_str(s.size), files[0], all->id, all->seed,
                      ac_size_str(all->size));
            bad = 1;
        } else {
            for (int i = 0; i < s.nrec && !bad; i++)
                if (from[s.rec[i].index] >= 0) {
                    cli_error("%s: trial %d is also in %s", files[f], s.rec[i].index, files[from[s.rec[i].index]]);
                    bad = 1;
                }
            for (int i = 0; i < s.nrec && !bad; i++)
                from[s.rec[i].index] = f;
            if (!bad && ac_trial_set_merge(all, &s, &msg) != AC_OK) {
                cli_error("%s: %s", files[f], msg.text);
                bad = 1;
            }
        }
        ac_trial_set_clear(&s);
        if (bad) {
            free(from);
            return EXIT_USAGE;
        }
    }
    free(from);
    return EXIT_HOLDS;
}
int cmd_merge(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, 0, 'f'},
                                         {"out", required_argument, 0, 'o'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    output_opts w = {AC_FMT_MD, 0, 0, NULL};
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        if (c == 'h') {
            merge_help();
            return cli_finish(EXIT_HOLDS);
        }
        if (!output_option(c, optarg, &w))
            return EXIT_USAGE;
    }
    if (optind >= argc) {
        cli_error("merge: no records file (attncheck run ID --trials A:B --records FILE writes them)");
        return EXIT_USAGE;
    }
    /* as run: an --out that cannot be written is refused before any work */
    if (w.out && (!out_dir_usable(w.out) || !out_spares(w.out, argv + optind, argc - optind)))
        return EXIT_USAGE;
    ac_trial_set all;
    memset(&all, 0, sizeof all);
    const ac_claim_def *def = NULL;
    int st = merge_files(argv + optind, argc - optind, &all, &def);
    if (st == EXIT_HOLDS && !ac_trial_set_complete(&all)) {
        char missing[256];
        missing_trials(&all, missing, sizeof missing);
        cli_error("%s: the records hold %d of its %d trials; missing: --trials %s", all.id, all.nrec, all.ntrials,
                  missing);
        st = EXIT_USAGE;
    }
    if (st == EXIT_HOLDS) {
        ac_run_opts o = {all.size, all.seed, NULL, NULL};
        ac_claim_result res;
        if (ac_claim_run_records(def, &o, &all, &res) != AC_OK)
            cli_error("%s", res.error);
        st = show_results(&res, 1, &o, &w);
        ac_claim_result_clear(&res);
    }
    ac_trial_set_clear(&all);
    return cli_finish(st);
}

/* ---- regress ------------------------------------------------------------- */

static void regress_help(void)
{
    printf("usage: attncheck regress [--baseline DIR]\n"
           "\n"
           "Rerun the claims of every paper that has DIR/<paper>.json, with the seed and size\n"
           "recorded there, and compare every number with the baseline within the tolerance\n"
           "each claim states (see the README).  Prints the numbers that moved.  A DIR/NAME.json\n"
           "of no paper in this version counts as missing; a baseline this version's run\n"
           "cannot have written (another size, seed or paper, a claim twice) is refused.\n"
           "\n"
           "  --baseline DIR   committed baseline (default: %s; regenerate with make baseline)\n"
           "\n"
           "exit status: 0 nothing moved, 1 some number, verdict or claim moved, 2 bad usage or\n"
           "a missing or malformed baseline.\n",
           DEFAULT_BASELINE);
}

/* qsort's comparison of claim indices by id, ties by index (qsort has no
 * context argument: the results sorted are sort_claims). */
static const ac_claim_result *sort_claims;
static int by_id(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b, c = strcmp(sort_claims[i].id, sort_claims[j].id);
    return c ? c : (i > j) - (i < j);
}

/* A baseline is one paper's results as run --out wrote them: refuse, naming
 * the file and key, what run cannot have written and regress would misread
 * (a size it would silently replace by the default, a seed run refuses, a
 * claim listed twice or belonging to another paper, which the compare would
 * report as a missing claim).  0 after a message. */
static int baseline_usable(const char *path, const ac_paper_def *P, const ac_report_set *base)
{
    if (!base->size || ac_size_parse(base->size) < 0) {
        cli_error("%s: meta.size: '%s' is not quick, default or paper", path, base->size ? base->size : "");
        return 0;
    }
    if (base->seed > (unsigned long)RUN_SEED_MAX) {
        cli_error("%s: meta.seed: %lu is beyond the largest seed run takes, %ld", path, base->seed, RUN_SEED_MAX);
        return 0;
    }
    if (base->paper_name && strcmp(base->paper_name, P->name) != 0) {
        cli_error("%s: paper.name: '%s', but the file is the baseline of %s", path, base->paper_name, P->name);
        return 0;
    }
    for (int i = 0; i < base->nres; i++) {
        const ac_claim_result *r = &base->res[i];
        const ac_claim_def *def = ac_registry_find_claim(r->id);
        if (strcmp(r->paper, P->name) != 0 || (def && strcmp(def->paper, P->name) != 0)) {
            cli_error("%s: claims[%d]: %s is a claim of %s, but the file is the baseline of %s", path, i, r->id,
                      def ? def->paper : r->paper, P->name);
            return 0;
        }
        /* an id is PAPER.NAME in [A-Za-z0-9._-]: it is printed in the findings,
         * where a line break or escape would forge or hide one */
        size_t plen = strlen(P->name), ok_chars = strspn(r->id, "abcdefghijklmnopqrstuvwxyz"
                                                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
        if (strncmp(r->id, P->name, plen) != 0 || r->id[plen] != '.' || r->id[ok_chars]) {
            cli_error("%s: claims[%d].id: '%.60s' is not %s.NAME in letters, digits, '.', '_' and '-'", path, i,
                      r->id, P->name);
            return 0;
        }
        for (int k = 0; k < r->nrows; k++)
            for (const char *q = r->rows[k].quantity; *q; q++)
                if ((unsigned char)*q < 0x20 || *q == 0x7f) {
                    cli_error("%s: claims[%d].rows[%d].quantity: a control character (byte %d) at %d", path, i, k,
                              (unsigned char)*q, (int)(q - r->rows[k].quantity));
                    return 0;
                }
    }
    /* each claim once: the ids sorted, neighbours compared (n log n in the
     * file's claims, however many a hostile file lists) */
    int *order = malloc(sizeof *order * (size_t)(base->nres + 1));
    if (!order) {
        cli_error("%s: no memory for %d claims", path, base->nres);
        return 0;
    }
    for (int i = 0; i < base->nres; i++)
        order[i] = i;
    sort_claims = base->res;
    qsort(order, (size_t)base->nres, sizeof *order, by_id);
    for (int k = 1; k < base->nres; k++)
        if (strcmp(base->res[order[k - 1]].id, base->res[order[k]].id) == 0) {
            cli_error("%s: claims[%d].id: %s is also claims[%d]", path, order[k], base->res[order[k]].id,
                      order[k - 1]);
            free(order);
            return 0;
        }
    free(order);
    return 1;
}

/* Rerun the claims of one paper's baseline and compare; adds to *sum. */
static int regress_paper(const ac_paper_def *P, const ac_report_set *base, ac_regress_summary *sum)
{
    ac_run_opts o = {(ac_size)ac_size_parse(base->size), base->seed, NULL, NULL}; /* baseline_usable */
    if (isatty(STDERR_FILENO))
        o.progress = show_progress;
    ac_claim_result *cur = calloc((size_t)P->nclaims + 1, sizeof *cur);
    if (!cur)
        return 0;
    /* rerun exactly the baseline's claims (each once, all of P: baseline_usable);
     * the compare reports the ones the registry no longer has */
    selection sel = {calloc((size_t)base->nres + 1, sizeof *sel.defs), 0};
    if (!sel.defs) {
        free(cur);
        return 0;
    }
    for (int i = 0; i < base->nres; i++) {
        const ac_claim_def *def = ac_registry_find_claim(base->res[i].id);
        if (def && sel.n < P->nclaims)
            sel.defs[sel.n++] = def;
    }
    run_claims(&sel, &o, cur);
    /* which code wrote the baseline, against this build's: regress shows
     * what moved between the two */
    const char *src = base->source && base->source[0] ? base->source : "not recorded";
    printf("== %s: baseline seed %lu, size %s, written %s by library source %s (this build: %s)\n", P->name,
           base->seed, ac_size_str(o.size), base->date ? base->date : "?", src, ac_trial_source_id());
    ac_regress_summary s = {0};
    ac_msg msg = {{0}};
    ac_status st = ac_regress_compare(stdout, base->res, base->nres, cur, sel.n, &s, &msg);
    if (st != AC_OK)
        cli_error("%s", msg.text);
    for (int j = 0; j < P->nclaims; j++) {
        int in_base = 0;
        for (int i = 0; i < base->nres && !in_base; i++)
            in_base = strcmp(base->res[i].id, P->claims[j].id) == 0;
        if (!in_base) {
            printf("added (no baseline yet; make baseline): %s\n", P->claims[j].id);
            s.added++;
        }
    }
    sum->compared += s.compared, sum->moved += s.moved, sum->verdict_changes += s.verdict_changes;
    sum->missing += s.missing, sum->added += s.added;
    for (int i = 0; i < sel.n; i++)
        ac_claim_result_clear(&cur[i]);
    free(cur);
    free(sel.defs);
    return st == AC_OK;
}

/* DIR/NAME.json of no paper in the registry (a paper since removed, a file
 * misnamed): printed and counted as missing, never skipped in silence.  The
 * number of them. */
static int unknown_baselines(const char *dir, ac_regress_summary *sum)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        char stem[256];
        if (e->d_name[0] == '.' || len <= 5 || len - 5 >= sizeof stem || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        memcpy(stem, e->d_name, len - 5);
        stem[len - 5] = '\0';
        if (ac_registry_find_paper(stem))
            continue;
        printf("%s/%s: no paper named '%s' in this version: its claims are missing\n", dir, e->d_name, stem);
        sum->missing++;
        n++;
    }
    closedir(d);
    return n;
}

int cmd_regress(int argc, char **argv)
{
    static const struct option opts[] = {
        {"baseline", required_argument, 0, 'b'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *dir = DEFAULT_BASELINE;
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        if (c == 'b')
            dir = optarg;
        else if (c == 'h') {
            regress_help();
            return cli_finish(EXIT_HOLDS);
        } else
            return EXIT_USAGE;
    }
    if (optind < argc) {
        cli_error("regress: unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    if (!dir[0]) {
        cli_error("--baseline: empty directory name");
        return EXIT_USAGE;
    }
    /* every baseline read and checked before any claim reruns (minutes at the
     * default size): a bad joma.json is refused at once, not after svm's rerun */
    int np = ac_registry_npapers(), found = 0, ok = 1;
    ac_report_set *base = calloc((size_t)np + 1, sizeof *base);
    char *have = calloc((size_t)np + 1, 1);
    if (!base || !have) {
        free(base), free(have);
        cli_error("out of memory");
        return EXIT_USAGE;
    }
    for (int p = 0; p < np && ok; p++) {
        const ac_paper_def *P = ac_registry_paper(p);
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.json", dir, P->name);
        struct stat sb;
        /* a dangling link is a baseline that cannot be opened, not an absent one */
        if (lstat(path, &sb) != 0)
            continue;
        found++;
        ac_msg msg = {{0}};
        if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) { /* a FIFO would block the read for ever */
            cli_error("%s: not a regular file", path);
            ok = 0;
        } else if (ac_report_read_json(path, &base[p], &msg) != AC_OK) {
            cli_error("%s", msg.text);
            ok = 0;
        } else
            ok = baseline_usable(path, P, &base[p]);
        have[p] = 1;
    }
    ac_regress_summary sum = {0};
    int unknown = ok ? unknown_baselines(dir, &sum) : 0;
    if (ok && !found && !unknown)
        cli_error("no baseline: %s holds no <paper>.json (make baseline writes it)", dir);
    for (int p = 0; p < np && ok && found; p++)
        if (have[p])
            ok = regress_paper(ac_registry_paper(p), &base[p], &sum);
    for (int p = 0; p < np; p++)
        ac_report_set_clear(&base[p]);
    free(base);
    free(have);
    if (!ok || (!found && !unknown))
        return EXIT_USAGE;
    int moved = sum.moved + sum.verdict_changes + sum.missing + sum.added;
    printf("regress, all papers: %d rows compared; %d numbers moved, %d verdict changes, %d missing, %d added: %s\n",
           sum.compared, sum.moved, sum.verdict_changes, sum.missing, sum.added, moved ? "MOVED" : "unchanged");
    return cli_finish(moved ? EXIT_FAILS : EXIT_HOLDS);
}

