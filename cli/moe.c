/* attncheck moe tabular | generate: the CBOW-MoE view of bidirectional
 * attention (Wibisono & Wang, UAI 2023; spec cbow_moe) on the user's own
 * table.  These commands call the same library code as the claims
 * (verify/moe_tabular.h, verify/moe_tabular_claims.h): parsing and
 * printing only. */
#include <getopt.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/moe_cmds.h"
#include "verify/atomic.h"
#include "verify/claim.h"
#include "verify/json_array.h"
#include "verify/moe_tabular.h"
#include "verify/moe_tabular_claims.h"

static const char moe_formats_help[] =
    "CSV format (tabular): a header line of column names, then one row per line, cells\n"
    "separated by commas (no quoting), spaces around cells ignored, blank lines and lines\n"
    "starting with '#' skipped.  The target and every feature cell is a category: a whole\n"
    "number 0..K-1 (K from --ncat, else 1 + the largest category in those cells).  The\n"
    "feature columns are every column but the target and the columns the filters name.\n"
    "A filter COL=VALUE[,VALUE...] keeps the rows whose cell in COL is one of the values\n"
    "(compared as text).\n";

/* Bounds of the options (values outside are refused). */
#define SEED_MAX ((long)AC_SEED_MAX) /* verify/trial.h: MT19937 keeps 32 bits */
#define SEEDS_MAX 1000L
#define EPOCHS_MAX 100000L
#define SIM_N_MAX 1000000L
#define TABULAR_SEEDS_DEFAULT 5
#define TABULAR_SEED_DEFAULT 1

typedef enum { OUT_TEXT, OUT_JSON } out_format;

static int parse_format(const char *s, out_format *f)
{
    if (!strcmp(s, "text"))
        *f = OUT_TEXT;
    else if (!strcmp(s, "json"))
        *f = OUT_JSON;
    else {
        cli_error("--format: '%s' is not text or json", s);
        return 0;
    }
    return 1;
}

/* ---- tabular ------------------------------------------------------------------- */

typedef struct {
    const char *csv, *target, *train_where, *test_where;
    int feat[AC_MOE_BASELINE_MAX_FEATURES], nfeat, ncat, seeds, epochs, bare;
    unsigned long seed;
    ac_moe_tab train, test;
    ac_moe_tab_result *res; /* seeds */
} tabular_run;

/* Read the CSV and build both tables.  0 after a message. */
static int tabular_load(tabular_run *t)
{
    ac_moe_csv c;
    ac_moe_filter ftrain, ftest;
    ac_msg msg = {{0}};
    ac_status st = ac_moe_csv_read(t->csv, &c, &msg);
    int target = -1;
    if (!st && (target = ac_moe_csv_column(&c, t->target)) < 0)
        st = ac_fail(&msg, AC_EINVAL, "%s: no column '%s' (the --target)", t->csv, t->target);
    if (!st)
        st = ac_moe_filter_parse(t->train_where, &c, &ftrain, &msg);
    if (!st)
        st = ac_moe_filter_parse(t->test_where, &c, &ftest, &msg);
    if (!st) {
        t->nfeat = 0;
        for (int j = 0; j < c.ncol && !st; j++)
            if (j != target && j != ftrain.col && j != ftest.col) {
                if (t->nfeat == AC_MOE_BASELINE_MAX_FEATURES)
                    st = ac_fail(&msg, AC_EINVAL, "%s: more than %d feature columns", t->csv,
                                 AC_MOE_BASELINE_MAX_FEATURES);
                else
                    t->feat[t->nfeat++] = j;
            }
        if (!st && t->nfeat < 1)
            st = ac_fail(&msg, AC_EINVAL, "%s: no feature column left beside the target and the filters", t->csv);
    }
    if (!st) /* t->ncat 0: K not given, each table's ncat is 1 + its largest category */
        st = ac_moe_csv_table(&c, &ftrain, t->feat, t->nfeat, target, t->ncat, &t->train, &msg);
    if (!st)
        st = ac_moe_csv_table(&c, &ftest, t->feat, t->nfeat, target, t->ncat, &t->test, &msg);
    if (!st && !t->ncat) {
        t->ncat = t->train.ncat > t->test.ncat ? t->train.ncat : t->test.ncat;
        if (t->ncat < 2)
            st = ac_fail(&msg, AC_EINVAL, "%s: every used cell is category 0: nothing to learn", t->csv);
        t->train.ncat = t->test.ncat = t->ncat;
    }
    ac_moe_csv_clear(&c);
    if (st) {
        cli_error("%s", msg.text);
        return 0;
    }
    return 1;
}

/* The baselines see every feature one-hot over K categories and predict K:
 * K (F (K - 1) + 1) parameters, quadratic in K, which is 1 + the largest
 * category when --ncat is not given, so one cell of 999 in a 7-row table
 * made a 48 s seed.  The run is refused when seeds x parameters exceed
 * TABULAR_PARAMS_MAX: 2.5e6, about a minute of the baselines on this 2-core
 * machine (measured, one seed: 180 000 parameters (K 300, F 2) 3.5 s,
 * 199 000 (K 200, F 5) 3.6 s, 2.0 million (K 1000, F 2) 23 s on 400 rows
 * and 48 s on 7). */
#define TABULAR_PARAMS_MAX 2.5e6

/* The attention model's training grows as epochs x rows x L (4 L + K) (L
 * cells a row, K categories), which the parameter count above does not see:
 * measured on this machine, alone, 5000 training rows of L = 6 and 40 epochs
 * took 1.1 s at K = 10 and 7.8 s at K = 200 (2.9e-8 s a unit), and 20 000
 * rows at K = 10 and 200 epochs some 38 s (4.7e-8 s a unit).  The largest
 * table the reader takes (3 million rows) would have run for hours.
 * TABULAR_ATTN_WORK_MAX units over all seeds (x 2 with --bare, a second
 * model) are a minute or two. */
#define TABULAR_ATTN_WORK_MAX 2.5e9

static int tabular_attn_fits(const tabular_run *t)
{
    const double L = t->train.L, K = t->ncat,
                 unit = (double)t->train.n * L * (4 * L + K) * (t->bare ? 2.0 : 1.0),
                 work = (double)t->seeds * t->epochs * unit;
    if (work <= TABULAR_ATTN_WORK_MAX)
        return 1;
    const double fit = floor(TABULAR_ATTN_WORK_MAX / (t->seeds * unit));
    char how[96];
    if (fit >= 1)
        snprintf(how, sizeof how, "--epochs %.0f or fewer (at --seeds %d) gets under it", fit, t->seeds);
    else
        snprintf(how, sizeof how, "even one epoch is over it: fewer rows, categories or columns");
    cli_error("%s: the attention model's training is --seeds %d x --epochs %d x %d rows x L (4 L + K) (L = %.0f "
              "cells, K = %.0f categories)%s = %.3g, over the limit of %.3g (a minute or two); %s",
              t->csv, t->seeds, t->epochs, t->train.n, L, K, t->bare ? " x 2 (--bare)" : "", work,
              TABULAR_ATTN_WORK_MAX, how);
    return 0;
}

static int tabular_fits(const tabular_run *t, int ncat_given)
{
    const double K = t->ncat, F = t->nfeat, params = K * (F * (K - 1) + 1);
    if (t->seeds * params <= TABULAR_PARAMS_MAX)
        return tabular_attn_fits(t);
    const double fit = floor(TABULAR_PARAMS_MAX / params);
    char how[160];
    if (fit >= 1)
        snprintf(how, sizeof how, "--seeds %.0f or fewer gets under it", fit);
    else
        snprintf(how, sizeof how, "even one seed is over it: fewer categories (numbered 0..K-1 without gaps) or "
                 "fewer feature columns");
    cli_error("%s: K = %d categories (%s) and %d feature columns give the one-hot baselines K (F (K - 1) + 1) = "
              "%.3g parameters; %d seed%s are %.3g, over the limit of %.3g (about a minute); %s",
              t->csv, t->ncat, ncat_given ? "--ncat" : "1 + the largest category in the used cells", t->nfeat,
              params, t->seeds, t->seeds == 1 ? "" : "s", t->seeds * params, TABULAR_PARAMS_MAX, how);
    return 0;
}

static void stats_of(const ac_moe_tab_result *r, int n, int method, int metric, double *mean, double *sd)
{
    double s = 0.0, ss = 0.0;
    for (int i = 0; i < n; i++) {
        const double *v = metric == 0   ? r[i].train_acc
                          : metric == 1 ? r[i].test_acc
                          : metric == 2 ? r[i].train_mse
                                        : r[i].test_mse;
        s += v[method];
    }
    *mean = s / n;
    for (int i = 0; i < n; i++) {
        const double *v = metric == 0   ? r[i].train_acc
                          : metric == 1 ? r[i].test_acc
                          : metric == 2 ? r[i].train_mse
                                        : r[i].test_mse;
        ss += (v[method] - *mean) * (v[method] - *mean);
    }
    *sd = n > 1 ? sqrt(ss / (n - 1)) : 0.0;
}

static const char *const tab_metric_keys[4] = {"train_acc", "test_acc", "train_mse", "test_mse"};

typedef struct {
    const tabular_run *t;
    out_format fmt;
} tabular_out;

static ac_status tabular_fill(FILE *f, void *ctx, ac_msg *msg)
{
    const tabular_out *o = ctx;
    const tabular_run *t = o->t;
    if (o->fmt == OUT_JSON) {
        /* jansson escapes the strings; 17 digits read every double back. */
        json_t *root = json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:I, s:i, s:i}", "csv", t->csv, "target",
                                 t->target, "train_where", t->train_where, "test_where", t->test_where,
                                 "train_rows", t->train.n, "test_rows", t->test.n, "features", t->nfeat, "ncat",
                                 t->ncat, "seed", (json_int_t)t->seed, "seeds", t->seeds, "epochs", t->epochs);
        json_t *methods = json_object();
        if (!root || !methods || json_object_set_new(root, "methods", methods)) {
            json_decref(root);
            return ac_fail(msg, AC_ENOMEM, "out of memory");
        }
        for (int m = 0; m < AC_MOE_TAB_NMETHODS; m++) {
            if (!t->res[0].ran[m])
                continue;
            json_t *jm = json_object();
            json_object_set_new(methods, ac_moe_tab_method_name(m), jm);
            for (int q = 0; q < 4; q++) {
                double mean, sd;
                stats_of(t->res, t->seeds, m, q, &mean, &sd);
                json_t *per = json_array();
                for (int i = 0; i < t->seeds; i++) {
                    const double *v = q == 0   ? t->res[i].train_acc
                                      : q == 1 ? t->res[i].test_acc
                                      : q == 2 ? t->res[i].train_mse
                                               : t->res[i].test_mse;
                    json_array_append_new(per, ac_json_real_or_null(v[m]));
                }
                json_object_set_new(jm, tab_metric_keys[q],
                                    json_pack("{s:o, s:o, s:o}", "mean", ac_json_real_or_null(mean), "sd",
                                              ac_json_real_or_null(sd), "per_seed", per));
            }
        }
        int bad = json_dumpf(root, f, JSON_INDENT(1) | JSON_REAL_PRECISION(17)) != 0;
        json_decref(root);
        fputc('\n', f);
        if (bad)
            return ac_fail(msg, AC_EIO, "cannot write the JSON");
    } else {
        fprintf(f, "%s: target %s, %d features of %d categories; train %s (%d rows), test %s (%d rows)\n",
                t->csv, t->target, t->nfeat, t->ncat, t->train_where, t->train.n, t->test_where, t->test.n);
        fprintf(f, "%d seeds from %lu; ATTN %d epochs; mean +- SD over seeds\n\n", t->seeds, t->seed, t->epochs);
        fprintf(f, "%-6s %-19s %-19s %-19s %-19s\n", "method", "train acc", "test acc", "train MSE", "test MSE");
        for (int m = 0; m < AC_MOE_TAB_NMETHODS; m++) {
            if (!t->res[0].ran[m])
                continue;
            fprintf(f, "%-6s", ac_moe_tab_method_label(m));
            for (int q = 0; q < 4; q++) {
                double mean, sd;
                stats_of(t->res, t->seeds, m, q, &mean, &sd);
                fprintf(f, " %8.4f +- %-7.4f", mean, sd);
            }
            fprintf(f, "\n");
        }
    }
    return ferror(f) ? AC_EIO : AC_OK;
}

static void tabular_help(void)
{
    ac_moe_tab_settings def;
    ac_moe_tab_settings_default(&def);
    printf("usage: attncheck moe tabular --csv FILE --target COL --train-where EXPR --test-where EXPR\n"
           "                             [OPTIONS]\n\n"
           "The out-of-distribution experiment of spec cbow_moe section 3 on your categorical\n"
           "table: the attention block (masked-cell training, the target masked to predict)\n"
           "against logistic regression and an MLP on one-hot features, trained on the rows of\n"
           "--train-where and scored on them (in-sample) and on the rows of --test-where.\n\n"
           "  --csv FILE          the table (format below; required)\n"
           "  --target COL        the column to predict (required)\n"
           "  --train-where EXPR  COL=VALUE[,VALUE...]: the training rows (required)\n"
           "  --test-where EXPR   COL=VALUE[,VALUE...]: the test rows (required)\n"
           "  --ncat K            categories 0..K-1, 2 to %ld (default: 1 + the largest used)\n"
           "  --seeds N           training seeds, 1 to %ld (default: %d)\n"
           "  --seed S            the first seed, 0 to %ld (default: %d); seed s trains from\n"
           "                      MT19937 seeded with s + %lu\n"
           "  --epochs E          passes of the attention model, 0 to %ld (default: %d)\n"
           "  --bare              also train the bare attention layer (the theorem's model)\n"
           "  --format F          text | json (default: text)\n"
           "  --out FILE          write there (whole or not at all) instead of stdout\n\n"
           "Exit status: 0 done; 1 a training diverged; 2 bad usage or input (the message names\n"
           "the file, line and column).\n\n%s",
           (long)AC_MOE_TAB_NCAT_MAX, SEEDS_MAX, TABULAR_SEEDS_DEFAULT, SEED_MAX, TABULAR_SEED_DEFAULT,
           AC_MOE_TAB_TRAIN_SEED_OFFSET, EPOCHS_MAX, def.epochs, moe_formats_help);
}

static int moe_tabular(int argc, char **argv)
{
    static const struct option opts[] = {
        {"csv", required_argument, 0, 'c'},   {"target", required_argument, 0, 't'},
        {"train-where", required_argument, 0, 'a'}, {"test-where", required_argument, 0, 'b'},
        {"ncat", required_argument, 0, 'k'},  {"seeds", required_argument, 0, 'n'},
        {"seed", required_argument, 0, 's'},  {"epochs", required_argument, 0, 'e'},
        {"bare", no_argument, 0, 'B'},        {"format", required_argument, 0, 'f'},
        {"out", required_argument, 0, 'o'},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    tabular_run t;
    memset(&t, 0, sizeof t);
    ac_moe_tab_settings ts;
    ac_moe_tab_settings_default(&ts);
    t.seeds = TABULAR_SEEDS_DEFAULT, t.seed = TABULAR_SEED_DEFAULT, t.epochs = ts.epochs;
    out_format fmt = OUT_TEXT;
    const char *out = NULL;
    long v;
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        switch (c) {
        case 'c': t.csv = optarg; break;
        case 't': t.target = optarg; break;
        case 'a': t.train_where = optarg; break;
        case 'b': t.test_where = optarg; break;
        case 'k':
            if (!cli_long("ncat", optarg, 2, (long)AC_MOE_TAB_NCAT_MAX, &v))
                return EXIT_USAGE;
            t.ncat = (int)v;
            break;
        case 'n':
            if (!cli_long("seeds", optarg, 1, SEEDS_MAX, &v))
                return EXIT_USAGE;
            t.seeds = (int)v;
            break;
        case 's':
            if (!cli_long("seed", optarg, 0, SEED_MAX, &v))
                return EXIT_USAGE;
            t.seed = (unsigned long)v;
            break;
        case 'e':
            if (!cli_long("epochs", optarg, 0, EPOCHS_MAX, &v))
                return EXIT_USAGE;
            t.epochs = (int)v;
            break;
        case 'B': t.bare = 1; break;
        case 'f':
            if (!parse_format(optarg, &fmt))
                return EXIT_USAGE;
            break;
        case 'o': out = optarg; break;
        case 'h': tabular_help(); return cli_finish(EXIT_HOLDS);
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc || !t.csv || !t.target || !t.train_where || !t.test_where) {
        cli_error("moe tabular: expected --csv, --target, --train-where and --test-where, and no other "
                  "argument (see --help)");
        return EXIT_USAGE;
    }
    /* they name the table's text, which is UTF-8 (the reader's rule), and
     * go into the JSON, which holds UTF-8 alone: refused now, not after
     * the training */
    if (!cli_utf8("target", t.target) || !cli_utf8("train-where", t.train_where) ||
        !cli_utf8("test-where", t.test_where) || (fmt == OUT_JSON && !cli_utf8("csv", t.csv)))
        return EXIT_USAGE;
    if (t.seed + (unsigned long)(t.seeds - 1) > AC_SEED_MAX - AC_MOE_TAB_TRAIN_SEED_OFFSET) {
        cli_error("--seed %lu --seeds %d: seed s trains from MT19937 seeded s + %lu, which keeps 32 bits of a seed: "
                  "the last seed may be %lu",
                  t.seed, t.seeds, AC_MOE_TAB_TRAIN_SEED_OFFSET, AC_SEED_MAX - AC_MOE_TAB_TRAIN_SEED_OFFSET);
        return EXIT_USAGE;
    }
    /* Before minutes of training: an --out that is the table or cannot be
     * written is refused now, not after the run. */
    if (cli_same_file(t.csv, out) || !cli_out_writable(out))
        return EXIT_USAGE;
    const int ncat_given = t.ncat != 0;
    if (!tabular_load(&t) || !tabular_fits(&t, ncat_given)) {
        ac_moe_tab_clear(&t.train);
        ac_moe_tab_clear(&t.test);
        return EXIT_USAGE;
    }
    ts.epochs = t.epochs;
    ts.bare = t.bare;
    int rc = EXIT_HOLDS;
    t.res = calloc((size_t)t.seeds, sizeof *t.res);
    if (!t.res) {
        cli_error("moe tabular: out of memory");
        rc = EXIT_USAGE;
    }
    for (int i = 0; i < t.seeds && rc == EXIT_HOLDS; i++) {
        ac_msg msg = {{0}};
        ac_status st = ac_moe_tab_run(&t.train, &t.test, &ts, t.seed + (unsigned long)i, &t.res[i], &msg);
        if (st) {
            cli_error("%s: seed %lu: %s", t.csv, t.seed + (unsigned long)i, msg.text);
            rc = st == AC_ENUMERIC ? EXIT_FAILS : EXIT_USAGE;
        }
    }
    if (rc == EXIT_HOLDS) {
        tabular_out o = {.t = &t, .fmt = fmt};
        if (!cli_write_output(out, tabular_fill, &o))
            rc = EXIT_USAGE;
    }
    free(t.res);
    ac_moe_tab_clear(&t.train);
    ac_moe_tab_clear(&t.test);
    return cli_finish(rc);
}

/* ---- generate ------------------------------------------------------------------ */

typedef struct {
    const char *comment;
    const ac_moe_tab *train, *test;
} shift_file;

static ac_status fill_shift(FILE *f, void *ctx, ac_msg *msg)
{
    (void)msg;
    const shift_file *s = ctx;
    return ac_moe_tab_write_csv(f, s->comment, s->train, s->test);
}

static int moe_generate(int argc, char **argv)
{
    static const struct option opts[] = {{"task", required_argument, 0, 't'}, {"setting", required_argument, 0, 'k'},
                                         {"seed", required_argument, 0, 's'}, {"n", required_argument, 0, 'n'},
                                         {"out", required_argument, 0, 'o'},  {"variant", required_argument, 0, 'v'},
                                         {"trial", required_argument, 0, 'i'}, {"size", required_argument, 0, 'z'},
                                         {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    const char *task = NULL, *prefix = NULL, *variant = NULL;
    long v, setting = 0, n = AC_MOE_SHIFT_N_DEFAULT, trial = 0;
    int size = AC_SIZE_DEFAULT, shift_only = 0;
    unsigned long seed = 1;
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        switch (c) {
        case 't': task = optarg; break;
        case 'k':
            if (!cli_long("setting", optarg, 0, AC_MOE_SHIFT_NSETTINGS - 1, &setting))
                return EXIT_USAGE;
            shift_only = 1;
            break;
        case 'v': variant = optarg; break;
        case 'i':
            if (!cli_long("trial", optarg, 0, 1000000, &trial))
                return EXIT_USAGE;
            break;
        case 'z':
            if ((size = ac_size_parse(optarg)) < 0) {
                cli_error("--size: '%s' is not quick, default or paper", optarg);
                return EXIT_USAGE;
            }
            break;
        case 's':
            if (!cli_long("seed", optarg, 0, SEED_MAX, &v))
                return EXIT_USAGE;
            seed = (unsigned long)v;
            break;
        case 'n':
            if (!cli_long("n", optarg, 1, SIM_N_MAX, &n))
                return EXIT_USAGE;
            shift_only = 1;
            break;
        case 'o': prefix = optarg; break;
        case 'h':
            printf("usage: attncheck moe generate --task shift [--setting K] [--n N] [--seed S] --out PREFIX\n"
                   "       attncheck moe generate --task equivalence [--variant V] [--trial I]\n"
                   "                              [--size quick|default|paper] [--seed S] --out PREFIX\n\n"
                   "equivalence: write PREFIX.json, the attention model of variant V that trial I of\n"
                   "moe.equivalence draws when run with --seed S --size SIZE (spec cbow_moe section\n"
                   "2.5 item 1: V=7, L=5, d=6, dk=4, dv=3, entries N(0,1)), bit for bit, in the\n"
                   "model format of docs/moe.md (moe convert and moe check read it).  Variants:\n"
                   "%s; defaults --variant one-head --trial 0 --size default.\n\n"
                   "shift: write PREFIX.csv: the covariate-shift simulation of spec cbow_moe section 3.2,\n"
                   "setting K (0..%d in the row order of section 3.5: core features {1,5} x corr\n"
                   "{0.1,0.9} x x_noise {0,0.5,1.5}), N rows per split binned into 10 pooled\n"
                   "deciles, drawn from MT19937 seeded with S.  Columns x0..x4, y, split\n"
                   "(train|test).  Setting k of trial i of moe.tabular-ood with base seed B is\n"
                   "--setting k --seed (B+i)*%d+k; `attncheck moe tabular --csv PREFIX.csv --target y\n"
                   "--train-where split=train --test-where split=test --seed that --seeds 1` then\n"
                   "repeats its training.\n\n"
                   "defaults: --setting 0, --n %d, --seed 1\n",
                   moe_variant_list(), AC_MOE_SHIFT_NSETTINGS - 1, AC_MOE_SHIFT_NSETTINGS, AC_MOE_SHIFT_N_DEFAULT);
            return cli_finish(EXIT_HOLDS);
        default: return EXIT_USAGE;
        }
    }
    if (!task || !prefix || optind < argc) {
        cli_error("moe generate: expected --task and --out PREFIX, and no other argument (see --help)");
        return EXIT_USAGE;
    }
    const int equivalence = strcmp(task, "equivalence") == 0;
    if (!equivalence && strcmp(task, "shift")) {
        cli_error("moe generate: --task '%s' is not shift or equivalence", task);
        return EXIT_USAGE;
    }
    if (equivalence ? shift_only : variant || trial || size != AC_SIZE_DEFAULT) {
        cli_error("moe generate --task %s: %s", task,
                  equivalence ? "--setting and --n belong to --task shift" : "--variant, --trial and --size belong to --task equivalence");
        return EXIT_USAGE;
    }
    const char *slash = strrchr(prefix, '/'), *base = slash ? slash + 1 : prefix;
    if (!base[0] || base[0] == '.' || strchr(prefix, '\n') || strlen(prefix) + 8 > AC_ATOMIC_PATH_MAX) {
        cli_error("moe generate: --out '%s': PREFIX must end in a file name not starting with '.' "
                  "(it writes PREFIX.%s)",
                  prefix, equivalence ? "json" : "csv");
        return EXIT_USAGE;
    }
    if (equivalence) {
        char path[AC_ATOMIC_PATH_MAX];
        snprintf(path, sizeof path, "%s.json", prefix);
        ac_msg em = {{0}};
        if (moe_generate_model(variant ? variant : "one-head", seed, (ac_size)size, (int)trial, path, &em) != AC_OK) {
            cli_error("moe generate: %s", em.text);
            return EXIT_USAGE;
        }
        return cli_finish(EXIT_HOLDS);
    }
    ac_moe_shift_settings ss;
    ac_moe_shift_setting((int)setting, &ss);
    ss.n = (int)n;
    if (2 * ss.n < ss.ncat) { /* the settings' check would say "2n pooled rows", not which option */
        cli_error("moe generate: --n %ld: the %d deciles need at least %d rows in the two splits together: give "
                  "--n %d or more",
                  n, ss.ncat, ss.ncat, (ss.ncat + 1) / 2);
        return EXIT_USAGE;
    }
    ac_moe_tab train, test;
    ac_moe_tab_init(&train);
    ac_moe_tab_init(&test);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    ac_msg msg = {{0}};
    ac_status st = r ? AC_OK : ac_fail(&msg, AC_ENOMEM, "out of memory");
    if (!st) {
        gsl_rng_set(r, seed);
        st = ac_moe_shift_generate(&ss, r, &train, &test, &msg);
    }
    char path[AC_ATOMIC_PATH_MAX], comment[256];
    snprintf(path, sizeof path, "%s.csv", prefix);
    snprintf(comment, sizeof comment, "attncheck moe generate --task shift --setting %ld --n %ld --seed %lu",
             setting, n, seed);
    shift_file sf = {.comment = comment, .train = &train, .test = &test};
    if (!st)
        st = moe_write_out(path, fill_shift, &sf, &msg);
    if (st)
        cli_error("moe generate: %s", msg.text);
    gsl_rng_free(r);
    ac_moe_tab_clear(&train);
    ac_moe_tab_clear(&test);
    return cli_finish(st ? EXIT_USAGE : EXIT_HOLDS);
}

static const cli_command moe_commands[] = {
    {"convert", "--model FILE", moe_convert, "the CBOW-MoE form (gates, experts, output embeddings) of your attention model"},
    {"check", "--model FILE", moe_check, "the equivalence on your model, in double and in MPFR, with the digits of agreement"},
    {"tabular", "--csv FILE --target COL --train-where E --test-where E", moe_tabular,
     "attention against the C baselines out of distribution on your categorical table"},
    {"generate", "--task shift|equivalence --out PREFIX", moe_generate,
     "the claims' inputs: the simulation's PREFIX.csv (spec 3.2), an equivalence model PREFIX.json"},
};

int cmd_moe(int argc, char **argv)
{
    char about[2048];
    snprintf(about, sizeof about,
             "Bidirectional attention as a mixture of continuous word experts (Wibisono & Wang,\n"
             "UAI 2023) on your own table.\n\n%s",
             moe_formats_help);
    return cli_dispatch("attncheck moe", about, moe_commands, (int)(sizeof moe_commands / sizeof moe_commands[0]),
                        argc, argv);
}
