/* attncheck paths solve | sample | generate: the attention-paths theory
 * (spec attention_paths §1-§3, §6) on a task the user writes, the Gibbs
 * posterior of the finite-width network on it, and the claims' tasks in
 * the same file format (verify/paths_io.h, docs/paths.md).  These commands
 * call the code the claims call: ac_paths_solve, ac_paths_predict and the
 * Gibbs sampler of verify/paths_gibbs.h. */
#include <getopt.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "theory/paths.h"
#include "verify/atomic.h"
#include "verify/claim.h" /* AC_VERSION */
#include "verify/json_array.h"
#include "verify/paths_gibbs.h"
#include "verify/paths_export.h"
#include "verify/paths_io.h"
#include "verify/trial.h" /* AC_SEED_MAX */

static const char paths_format_help[] =
    "Task file (JSON; every key in docs/paths.md):\n"
    "  {\"L\": 1, \"H\": [2], \"N\": 10, \"T\": 0.1,\n"
    "   \"train\": {\"x\": [EXAMPLE, ...], \"y\": [1, -1, ...]},\n"
    "   \"test\": {\"x\": [EXAMPLE, ...], \"y\": [...]},           (optional; y optional)\n"
    "   \"attention\": {\"kind\": \"qk\", \"heads\": [[{\"Q\": GxN0, \"K\": GxN0}, ...]]}}\n"
    "  EXAMPLE is a list of tokens, each a list of N0 numbers.  Attention may also be\n"
    "  {\"kind\": \"bilinear\", ...W...} or {\"kind\": \"matrices\", ...} (given per example).\n"
    "  Optional: sigma2, sigma2_a (default 1), readout (\"last\", \"mean\" or a token).\n";

/* Seeds: 2^32 - 1, the largest GSL's and torch's mt19937 take as given. */
#define SEED_MAX ((long)AC_SEED_MAX)
/* Option ranges: a minimiser or sampler run beyond these is a typo. */
#define MAX_ITER_MAX 100000000L
#define SWEEPS_MAX 100000000L
#define CHAINS_MAX 1000L
#define SAMPLE_SEED_DEFAULT 1UL

typedef enum { FMT_TEXT, FMT_JSON } out_format;

static int parse_format(const char *s, out_format *f)
{
    if (strcmp(s, "text") == 0)
        *f = FMT_TEXT;
    else if (strcmp(s, "json") == 0)
        *f = FMT_JSON;
    else {
        cli_error("--format: '%s' is not text or json", s);
        return 0;
    }
    return 1;
}

static json_t *jvec(const double *v, int n)
{
    json_t *a = json_array();
    for (int j = 0; j < n; j++)
        json_array_append_new(a, ac_json_real_or_null(v[j]));
    return a;
}

static json_t *jmat(const double *A, int d)
{
    json_t *a = json_array();
    for (int j = 0; j < d; j++)
        json_array_append_new(a, jvec(A + (size_t)j * d, d));
    return a;
}

/* What made an output: the program's version and its command line. */
static void provenance_json(json_t *o)
{
    json_object_set_new(o, "version", json_string(AC_VERSION));
    json_object_set_new(o, "command", json_string(cli_command_line()));
}

static json_t *settings_json(const ac_paths_task *t)
{
    const ac_paths_settings *s = &t->s;
    json_t *o = json_object(), *H = json_array();
    for (int l = 0; l < s->L; l++)
        json_array_append_new(H, json_integer(s->H[l]));
    json_object_set_new(o, "L", json_integer(s->L));
    json_object_set_new(o, "H", H);
    json_object_set_new(o, "N", jvec(s->n, s->L + 1));
    json_object_set_new(o, "sigma2", jvec(s->sigma2, s->L + 1));
    json_object_set_new(o, "sigma2_a", ac_json_real_or_null(s->sigma2_a));
    json_object_set_new(o, "T", ac_json_real_or_null(s->T));
    json_object_set_new(o, "P", json_integer(t->P));
    json_object_set_new(o, "Pt", json_integer(t->Pt));
    json_object_set_new(o, "N0", json_integer(t->N0));
    json_object_set_new(o, "ntok", json_integer(t->ntok));
    json_object_set_new(o, "paths", json_integer(ac_paths_count(s)));
    return o;
}

static void settings_text(FILE *f, const char *path, const ac_paths_task *t)
{
    const ac_paths_settings *s = &t->s;
    fprintf(f, "task %s: L = %d, H = (", path, s->L);
    for (int l = 0; l < s->L; l++)
        fprintf(f, "%s%d", l ? ", " : "", s->H[l]);
    fprintf(f, "), %d paths, widths (", ac_paths_count(s));
    for (int l = 0; l <= s->L; l++)
        fprintf(f, "%s%g", l ? ", " : "", s->n[l]);
    fprintf(f, "), T = %g\n  %d training and %d test examples of %d tokens x %d features\n", s->T,
            t->P, t->Pt, t->ntok, t->N0);
}

/* ---- output ------------------------------------------------------------- */

typedef void (*text_fn)(FILE *f, const void *ctx);

/* What emit writes: j (FMT_JSON) or text(ctx). */
typedef struct {
    out_format fmt;
    json_t *j;
    text_fn text;
    const void *ctx;
} emit_job;

static ac_status fill_emit(FILE *f, void *ctx, ac_msg *msg)
{
    (void)msg;
    const emit_job *e = ctx;
    if (e->fmt == FMT_JSON) {
        if (json_dumpf(e->j, f, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0 || fputc('\n', f) == EOF)
            return AC_EIO; /* the stream's error: the writer names the file and reason */
    } else {
        e->text(f, e->ctx);
    }
    return ferror(f) ? AC_EIO : AC_OK;
}

/* Write j (FMT_JSON) or text(ctx) to stdout or, whole or not at all, to out
 * (cli_write_output: a signal while writing leaves out as it was).  0 after a
 * message naming out and the reason on failure. */
static int emit(const char *out, out_format fmt, json_t *j, text_fn text, const void *ctx)
{
    emit_job e = {fmt, j, text, ctx};
    return cli_write_output(out, fill_emit, &e);
}

/* Read the task; 0 after a message naming the file on failure. */
static int load(const char *path, ac_paths_task *t)
{
    ac_msg msg = {{0}};
    if (ac_paths_task_read(path, t, &msg) != AC_OK) {
        cli_error("%s", msg.text);
        return 0;
    }
    return 1;
}

/* ---- solve ------------------------------------------------------------------ */

typedef struct {
    const char *path;
    const ac_paths_task *t;
    const ac_paths_task_result *r;
    const ac_min_settings *set;
} solve_ctx;

static json_t *solve_json(const solve_ctx *c)
{
    const ac_paths_task *t = c->t;
    const ac_paths_task_result *r = c->r;
    const ac_paths_settings *s = &t->s;
    json_t *o = json_object(), *U = json_array(), *sc = json_array(), *te = json_object();
    provenance_json(o);
    json_object_set_new(o, "task", json_string(c->path));
    json_object_set_new(o, "settings", settings_json(t));
    json_object_set_new(o, "outcome", json_string(ac_min_status_str(r->info.min.status)));
    json_object_set_new(o, "iterations", json_integer(r->info.min.iter));
    json_object_set_new(o, "evaluations", json_integer(r->info.min.nfev));
    json_object_set_new(o, "grad_norm", ac_json_real_or_null(r->info.min.grad_norm));
    json_object_set_new(o, "eps_grad", ac_json_real_or_null(c->set->eps_grad));
    json_object_set_new(o, "n_max", ac_json_real_or_null(r->info.n_max));
    json_object_set_new(o, "S", ac_json_real_or_null(r->info.S));
    json_object_set_new(o, "U_a", ac_json_real_or_null(r->info.Ua));
    for (int l = 1; l <= s->L; l++)
        json_array_append_new(U, jmat(r->U + ac_paths_u_offset(s, l), ac_paths_dim(s, l)));
    json_object_set_new(o, "U", U);
    for (int l = 0, k = 0; l < s->L; l++) {
        json_array_append_new(sc, jvec(r->scores + k, s->H[l]));
        k += s->H[l];
    }
    json_object_set_new(o, "head_scores", sc);
    json_object_set_new(te, "P", json_integer(t->Pt));
    json_object_set_new(te, "mean", jvec(r->mean, t->Pt));
    json_object_set_new(te, "variance", jvec(r->var, t->Pt));
    json_object_set_new(te, "variance_mean", ac_json_real_or_null(r->var_mean));
    json_object_set_new(te, "accuracy", ac_json_real_or_null(r->accuracy));
    json_object_set_new(te, "mse", ac_json_real_or_null(r->mse));
    json_object_set_new(te, "gp_accuracy", ac_json_real_or_null(r->gp_accuracy));
    json_object_set_new(o, "test", te);
    json_object_set_new(o, "seconds", ac_json_real_or_null(r->seconds));
    return o;
}

static void solve_text(FILE *f, const void *ctx)
{
    const solve_ctx *c = ctx;
    const ac_paths_task *t = c->t;
    const ac_paths_task_result *r = c->r;
    const ac_paths_settings *s = &t->s;
    settings_text(f, c->path, t);
    fprintf(f, "minimiser: %s after %d iterations (%d evaluations); |grad S/n_max|_inf = %.3g "
            "(stop at %g)\n", ac_min_status_str(r->info.min.status), r->info.min.iter,
            r->info.min.nfev, r->info.min.grad_norm, c->set->eps_grad);
    fprintf(f, "action S = %.17g, U_a = %.17g\n", r->info.S, r->info.Ua);
    for (int l = 1; l <= s->L; l++) {
        int d = ac_paths_dim(s, l);
        const double *Ul = r->U + ac_paths_u_offset(s, l);
        if (l < s->L)
            fprintf(f, "U_%d (%d x %d, index (h_%d, ..., h_%d), h_%d most significant):\n", l, d,
                    d, l, s->L, l);
        else
            fprintf(f, "U_%d (%d x %d, index h_%d):\n", l, d, d, l);
        for (int j = 0; j < d; j++) {
            fputs("  ", f);
            for (int k = 0; k < d; k++)
                fprintf(f, " %12.6g", Ul[(size_t)j * d + k]);
            fputc('\n', f);
        }
    }
    fputs("head scores (1 = the largest):", f);
    for (int l = 0, k = 0; l < s->L; l++) {
        fprintf(f, "%s layer %d:", l ? ";" : "", l + 1);
        for (int h = 0; h < s->H[l]; h++, k++)
            fprintf(f, " %.4f", r->scores[k]);
    }
    fputc('\n', f);
    if (t->Pt == 0) {
        fputs("no test set: no predictions\n", f);
        return;
    }
    fprintf(f, "test set (%d): mean predictor variance %.6g", t->Pt, r->var_mean);
    if (t->Yt)
        fprintf(f, "; accuracy %.4f (GP limit %.4f), mse %.6g", r->accuracy, r->gp_accuracy,
                r->mse);
    fprintf(f, "\n%8s %24s %24s%s\n", "example", "mean", "variance", t->Yt ? "    label" : "");
    for (int m = 0; m < t->Pt; m++) {
        fprintf(f, "%8d %24.17g %24.17g", m, r->mean[m], r->var[m]);
        if (t->Yt)
            fprintf(f, " %8g", t->Yt[m]);
        fputc('\n', f);
    }
}

static void solve_help(const ac_min_settings *def)
{
    printf("usage: attncheck paths solve --task FILE [--format text|json] [--out FILE]\n"
           "                             [--eps-grad E] [--max-iter N]\n\n"
           "The saddle point of the action S over the order parameters U_1..U_L (spec\n"
           "attention_paths 3.2), from the GP values, by BFGS on U = L L^T; then the action\n"
           "and gradient norm reached, how the minimiser ended, U per layer and U_a, the\n"
           "head scores, and the predictor's mean and variance on the test set (with the\n"
           "accuracy of its sign and of the GP limit's when test labels are given).\n\n"
           "  --task FILE      the task (required)\n"
           "  --format F       text | json (default: text); JSON keys in docs/paths.md\n"
           "  --out FILE       write there instead of standard output (whole or not at all)\n"
           "  --eps-grad E     stop at |grad S/n_max|_inf <= E (default: %g)\n"
           "  --max-iter N     at most N iterations (default: %d)\n\n"
           "Exit: 0 converged; 1 the minimiser stopped without converging (step limit, no\n"
           "progress): the result is written, with a warning; 2 bad usage or bad input\n"
           "(the task file, or K + T I not positive definite at the GP start), or a task\n"
           "estimated from its sizes to need more than %.3g GB or %.0f minutes (refused\n"
           "before any work; docs/paths.md).\n\n%s",
           def->eps_grad, def->max_iter, AC_PATHS_IO_BYTES_MAX / 1e9, AC_PATHS_IO_SECONDS_MAX / 60,
           paths_format_help);
}

static int paths_solve(int argc, char **argv)
{
    static const struct option opts[] = {{"task", required_argument, 0, 't'},
                                         {"format", required_argument, 0, 'f'},
                                         {"out", required_argument, 0, 'o'},
                                         {"eps-grad", required_argument, 0, 'e'},
                                         {"max-iter", required_argument, 0, 'm'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *task = NULL, *out = NULL;
    out_format fmt = FMT_TEXT;
    ac_min_settings set;
    ac_min_settings_default(&set);
    long v;
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        switch (c) {
        case 't': task = optarg; break;
        case 'o': out = optarg; break;
        case 'f':
            if (!parse_format(optarg, &fmt))
                return EXIT_USAGE;
            break;
        case 'e':
            if (!cli_double("eps-grad", optarg, 0.0, 1e300, &set.eps_grad))
                return EXIT_USAGE;
            break;
        case 'm':
            if (!cli_long("max-iter", optarg, 0, MAX_ITER_MAX, &v))
                return EXIT_USAGE;
            set.max_iter = (int)v;
            break;
        case 'h': {
            ac_min_settings def;
            ac_min_settings_default(&def);
            solve_help(&def);
            return cli_finish(EXIT_HOLDS);
        }
        default: return EXIT_USAGE;
        }
    }
    if (!task || optind < argc) {
        cli_error("paths solve: expected --task FILE and no other argument (see --help)");
        return EXIT_USAGE;
    }
    if (cli_same_file(task, out) || !cli_out_writable(out))
        return EXIT_USAGE;
    ac_paths_task t;
    if (!load(task, &t))
        return EXIT_USAGE;
    /* memory and time from the sizes, before any work (verify/paths_io.h) */
    ac_paths_task_cost cost;
    ac_msg cmsg = {{0}};
    ac_paths_task_solve_cost(&t, set.max_iter, &cost);
    if (ac_paths_task_cost_check(&t, &cost, "paths solve", task, &cmsg) != AC_OK) {
        cli_error("%s", cmsg.text);
        ac_paths_task_clear(&t);
        return EXIT_USAGE;
    }
    ac_paths_task_result r;
    ac_msg msg = {{0}};
    ac_status st = ac_paths_task_solve(&t, &set, &r, &msg);
    int rc = EXIT_HOLDS;
    if (st != AC_OK) { /* a start that cannot be factored names its key (verify/paths_io.c) */
        cli_error("%s: %s", task, msg.text[0] ? msg.text : ac_status_str(st));
        rc = EXIT_USAGE;
    } else {
        solve_ctx ctx = {task, &t, &r, &set};
        json_t *j = fmt == FMT_JSON ? solve_json(&ctx) : NULL;
        if (!emit(out, fmt, j, solve_text, &ctx))
            rc = EXIT_USAGE;
        json_decref(j);
        if (rc == EXIT_HOLDS && r.info.min.status != AC_MIN_CONVERGED) {
            cli_error("%s: warning: the minimiser ended with '%s' after %d iterations at "
                      "|grad S/n_max|_inf = %.3g > %g: the numbers written are its last "
                      "iterate, not the saddle point", task, ac_min_status_str(r.info.min.status),
                      r.info.min.iter, r.info.min.grad_norm, set.eps_grad);
            rc = EXIT_FAILS;
        }
    }
    ac_paths_task_result_clear(&r);
    ac_paths_task_clear(&t);
    return cli_finish(rc);
}

/* ---- sample ------------------------------------------------------------------ */

typedef struct {
    const char *path;
    const ac_paths_task *t;
    const ac_paths_gibbs_settings *gs;
    unsigned long seed;
    const ac_paths_gibbs_info *info;
    const double *mean, *var, *rhat, *ess; /* Pt each */
    const double *U, *Urhat, *Uess;        /* np^2 each */
    double accuracy;                       /* NaN without test labels */
} sample_ctx;

static json_t *stat_json(double value, double rhat, double ess)
{
    json_t *o = json_object();
    json_object_set_new(o, "value", ac_json_real_or_null(value));
    json_object_set_new(o, "rhat", ac_json_real_or_null(rhat));
    json_object_set_new(o, "ess", ac_json_real_or_null(ess));
    json_object_set_new(o, "mixed", json_boolean(rhat < AC_PATHS_GIBBS_RHAT_OK &&
                                                 ess >= AC_PATHS_GIBBS_ESS_OK));
    return o;
}

static json_t *sample_json(const sample_ctx *c)
{
    const ac_paths_gibbs_info *in = c->info;
    int Pt = c->t->Pt, np = ac_paths_count(&c->t->s);
    json_t *o = json_object(), *te = json_object(), *u = json_object();
    provenance_json(o);
    json_object_set_new(o, "task", json_string(c->path));
    json_object_set_new(o, "settings", settings_json(c->t));
    json_object_set_new(o, "chains", json_integer(c->gs->chains));
    json_object_set_new(o, "burn", json_integer(c->gs->burn));
    json_object_set_new(o, "sweeps", json_integer(c->gs->keep));
    json_object_set_new(o, "seed", json_integer((json_int_t)c->seed));
    json_object_set_new(o, "outcome", json_string(in->train.outcome == AC_TRAIN_DIVERGED
                                                      ? "diverged" : "done"));
    json_object_set_new(o, "mixed", json_boolean(in->mixed));
    json_object_set_new(o, "rhat_ok", ac_json_real_or_null(AC_PATHS_GIBBS_RHAT_OK));
    json_object_set_new(o, "ess_ok", ac_json_real_or_null(AC_PATHS_GIBBS_ESS_OK));
    json_object_set_new(o, "train_mse", ac_json_real_or_null(in->train.loss));
    json_object_set_new(o, "seconds", ac_json_real_or_null(in->train.seconds));
    json_object_set_new(te, "P", json_integer(Pt));
    json_object_set_new(te, "mean", jvec(c->mean, Pt));
    json_object_set_new(te, "variance", jvec(c->var, Pt));
    json_object_set_new(te, "rhat", jvec(c->rhat, Pt));
    json_object_set_new(te, "ess", jvec(c->ess, Pt));
    json_object_set_new(te, "accuracy", stat_json(c->accuracy, in->mean_rhat_max, in->mean_ess_min));
    json_object_set_new(te, "variance_mean", stat_json(in->var_mean.value, in->var_mean.rhat,
                                                       in->var_mean.ess));
    json_object_set_new(json_object_get(te, "variance_mean"), "mcse", ac_json_real_or_null(in->var_mean.mcse));
    json_object_set_new(o, "test", te);
    json_object_set_new(u, "value", jmat(c->U, np));
    json_object_set_new(u, "rhat", jmat(c->Urhat, np));
    json_object_set_new(u, "ess", jmat(c->Uess, np));
    json_object_set_new(u, "rhat_max", ac_json_real_or_null(in->u_rhat_max));
    json_object_set_new(u, "ess_min", ac_json_real_or_null(in->u_ess_min));
    json_object_set_new(o, "U_1", u);
    return o;
}

static const char *mixed_word(double rhat, double ess)
{
    return rhat < AC_PATHS_GIBBS_RHAT_OK && ess >= AC_PATHS_GIBBS_ESS_OK ? "mixed" : "NOT MIXED";
}

static void sample_text(FILE *f, const void *ctx)
{
    const sample_ctx *c = ctx;
    const ac_paths_gibbs_info *in = c->info;
    int Pt = c->t->Pt, np = ac_paths_count(&c->t->s);
    settings_text(f, c->path, c->t);
    fprintf(f, "Gibbs: %d chains x (%ld burn-in + %ld kept sweeps), seed %lu, %.3g s; %s "
            "(%severy R-hat < %g and ESS >= %g)\n", c->gs->chains, c->gs->burn, c->gs->keep,
            c->seed, in->train.seconds, in->mixed ? "mixed" : "NOT MIXED", in->mixed ? "" : "mixed needs ",
            AC_PATHS_GIBBS_RHAT_OK,
            AC_PATHS_GIBBS_ESS_OK);
    if (Pt > 0) {
        if (c->t->Yt)
            fprintf(f, "accuracy of the posterior mean %.4f (R-hat max %.4f, ESS min %.0f over "
                    "the test means: %s)\n", c->accuracy, in->mean_rhat_max, in->mean_ess_min,
                    mixed_word(in->mean_rhat_max, in->mean_ess_min));
        fprintf(f, "mean test variance %.6g +- %.2g (R-hat %.4f, ESS %.0f: %s)\n",
                in->var_mean.value, in->var_mean.mcse, in->var_mean.rhat, in->var_mean.ess,
                mixed_word(in->var_mean.rhat, in->var_mean.ess));
    }
    fprintf(f, "U_1 from the weights (%d x %d; R-hat max %.4f, ESS min %.0f: %s):\n", np, np,
            in->u_rhat_max, in->u_ess_min, mixed_word(in->u_rhat_max, in->u_ess_min));
    for (int j = 0; j < np; j++) {
        fputs("  ", f);
        for (int k = 0; k < np; k++)
            fprintf(f, " %10.5g (R %.3f, ESS %5.0f)", c->U[j * np + k], c->Urhat[j * np + k],
                    c->Uess[j * np + k]);
        fputc('\n', f);
    }
    if (Pt > 0) {
        fprintf(f, "%8s %24s %24s %8s %8s\n", "example", "posterior mean", "variance", "R-hat",
                "ESS");
        for (int m = 0; m < Pt; m++)
            fprintf(f, "%8d %24.17g %24.17g %8.4f %8.0f%s\n", m, c->mean[m], c->var[m], c->rhat[m],
                    c->ess[m], c->rhat[m] < AC_PATHS_GIBBS_RHAT_OK && c->ess[m] >= AC_PATHS_GIBBS_ESS_OK
                                   ? "" : "  not mixed");
    }
}

static int paths_sample(int argc, char **argv)
{
    static const struct option opts[] = {
        {"task", required_argument, 0, 't'},  {"chains", required_argument, 0, 'c'},
        {"burn", required_argument, 0, 'b'},  {"sweeps", required_argument, 0, 's'},
        {"seed", required_argument, 0, 'S'},  {"format", required_argument, 0, 'f'},
        {"out", required_argument, 0, 'o'},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *task = NULL, *out = NULL;
    out_format fmt = FMT_TEXT;
    ac_paths_gibbs_settings gs;
    ac_paths_gibbs_settings_default(&gs);
    unsigned long seed = SAMPLE_SEED_DEFAULT;
    long v;
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        switch (c) {
        case 't': task = optarg; break;
        case 'o': out = optarg; break;
        case 'f':
            if (!parse_format(optarg, &fmt))
                return EXIT_USAGE;
            break;
        case 'c':
            if (!cli_long("chains", optarg, 1, CHAINS_MAX, &v))
                return EXIT_USAGE;
            gs.chains = (int)v;
            break;
        case 'b':
            if (!cli_long("burn", optarg, 0, SWEEPS_MAX, &v))
                return EXIT_USAGE;
            gs.burn = v;
            break;
        case 's':
            if (!cli_long("sweeps", optarg, 4, SWEEPS_MAX, &v))
                return EXIT_USAGE;
            gs.keep = v;
            break;
        case 'S':
            if (!cli_long("seed", optarg, 0, SEED_MAX, &v))
                return EXIT_USAGE;
            seed = (unsigned long)v;
            break;
        case 'h':
            printf("usage: attncheck paths sample --task FILE [--chains C] [--burn B] [--sweeps S]\n"
                   "                              [--seed S] [--format text|json] [--out FILE]\n\n"
                   "The Bayesian posterior of the finite-width network of the task (spec\n"
                   "attention_paths 1, 6), sampled by blocked Gibbs with exact Gaussian\n"
                   "conditionals, every chain from a prior draw: the posterior mean and variance of\n"
                   "f on the test set, the accuracy of the mean (with test labels), the mean test\n"
                   "variance, and U_1 from the weights, each beside its split R-hat and effective\n"
                   "sample size over the chains.  Widths must be integers here.\n\n"
                   "  --task FILE    the task (required)\n"
                   "  --chains C     chains, 1 to %ld (default: %d; R-hat needs several)\n"
                   "  --burn B       sweeps dropped per chain (default: %d)\n"
                   "  --sweeps S     sweeps kept per chain, >= 4 (default: %d)\n"
                   "  --seed S       seed, 0 to %ld (default: %lu)\n"
                   "  --format F     text | json (default: text); JSON keys in docs/paths.md\n"
                   "  --out FILE     write there instead of standard output (whole or not at all)\n\n"
                   "Exit: 0 every reported number mixed (R-hat < %g, ESS >= %g); 1 some did not\n"
                   "(the numbers are written, marked), or a chain diverged (nothing is written);\n"
                   "2 bad usage or input, or a run estimated from the sizes and options to need\n"
                   "more than %.3g GB or %.0f minutes (refused before any work; docs/paths.md).\n\n%s",
                   CHAINS_MAX, AC_PATHS_GIBBS_CHAINS_DEFAULT, AC_PATHS_GIBBS_BURN_DEFAULT,
                   AC_PATHS_GIBBS_KEEP_DEFAULT, SEED_MAX, SAMPLE_SEED_DEFAULT,
                   AC_PATHS_GIBBS_RHAT_OK, AC_PATHS_GIBBS_ESS_OK, AC_PATHS_IO_BYTES_MAX / 1e9,
                   AC_PATHS_IO_SECONDS_MAX / 60, paths_format_help);
            return cli_finish(EXIT_HOLDS);
        default: return EXIT_USAGE;
        }
    }
    if (!task || optind < argc) {
        cli_error("paths sample: expected --task FILE and no other argument (see --help)");
        return EXIT_USAGE;
    }
    if (cli_same_file(task, out) || !cli_out_writable(out))
        return EXIT_USAGE;
    ac_paths_task t;
    if (!load(task, &t))
        return EXIT_USAGE;
    gs.net = t.s;
    const char *why = ac_paths_gibbs_settings_check(&gs);
    if (why) {
        cli_error("%s: N: %s (the sampler draws weight matrices of these sizes)", task, why);
        ac_paths_task_clear(&t);
        return EXIT_USAGE;
    }
    ac_paths_task_cost cost;
    ac_paths_task_sample_cost(&t, gs.chains, gs.burn, gs.keep, &cost);
    {
        ac_msg cmsg = {{0}};
        if (ac_paths_task_cost_check(&t, &cost, "paths sample", task, &cmsg) != AC_OK) {
            cli_error("%s (--chains %d, --burn %ld, --sweeps %ld)", cmsg.text, gs.chains, gs.burn,
                      gs.keep);
            ac_paths_task_clear(&t);
            return EXIT_USAGE;
        }
    }
    int np = ac_paths_count(&t.s), Pt = t.Pt, rc = EXIT_HOLDS;
    size_t m = (size_t)t.N0 * np, u2 = (size_t)np * np;
    double *Phi = malloc(sizeof(double) * t.P * m), *Phit = malloc(sizeof(double) * (Pt * m + 1));
    double *buf = malloc(sizeof(double) * (4 * (size_t)Pt + 3 * u2 + 1));
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    ac_paths_gibbs *g = ac_paths_gibbs_alloc(&gs, t.P, Pt, t.N0);
    ac_msg msg = {{0}};
    if (!Phi || !Phit || !buf || !rng || !g) {
        cli_error("%s: out of memory for the sampler (about %.3g GB: %d chains x %ld kept "
                  "sweeps, widths and P as in the task)", task, cost.bytes / 1e9, gs.chains,
                  gs.keep);
        rc = EXIT_USAGE;
        goto done;
    }
    gsl_rng_set(rng, seed);
    if (ac_paths_task_phi(&t, 0, Phi, &msg) != AC_OK || ac_paths_task_phi(&t, 1, Phit, &msg) != AC_OK ||
        ac_paths_gibbs_set(g, Phi, t.Y, Phit, rng, &msg) != AC_OK ||
        ac_paths_gibbs_run(g, rng, &msg) != AC_OK) {
        cli_error("%s: %s", task, msg.text);
        rc = EXIT_USAGE;
        goto done;
    }
    ac_paths_gibbs_info info;
    if (ac_paths_gibbs_info_get(g, &info) != AC_OK) {
        cli_error("%s: out of memory for the diagnostics", task);
        rc = EXIT_USAGE;
        goto done;
    }
    if (info.train.outcome == AC_TRAIN_DIVERGED) {
        cli_error("%s: the sampler diverged after %ld sweeps (a Cholesky factor of sigma^2 J J^T "
                  "+ T I failed or f became non-finite): raise T or rescale the inputs", task,
                  info.train.steps);
        rc = EXIT_FAILS;
        goto done;
    }
    sample_ctx ctx = {task, &t, &gs, seed, &info, buf, buf + Pt, buf + 2 * Pt, buf + 3 * Pt,
                      buf + 4 * Pt, buf + 4 * Pt + u2, buf + 4 * Pt + 2 * u2, NAN};
    ac_paths_gibbs_test_stats(g, buf, buf + Pt, buf + 2 * Pt, buf + 3 * Pt);
    ac_paths_gibbs_u1(g, buf + 4 * Pt, buf + 4 * Pt + u2, buf + 4 * Pt + 2 * u2);
    if (t.Yt && Pt > 0) {
        int ok = 0;
        for (int k = 0; k < Pt; k++)
            ok += ctx.mean[k] * t.Yt[k] > 0.0;
        ctx.accuracy = (double)ok / Pt;
    }
    json_t *j = fmt == FMT_JSON ? sample_json(&ctx) : NULL;
    if (!emit(out, fmt, j, sample_text, &ctx))
        rc = EXIT_USAGE;
    json_decref(j);
    if (rc == EXIT_HOLDS && !info.mixed) {
        char means[160] = "";
        if (Pt > 0) /* without a test set there are no test means to quote */
            snprintf(means, sizeof means, "R-hat max %.4g, ESS min %.0f over the test means; ",
                     info.mean_rhat_max, info.mean_ess_min);
        cli_error("%s: warning: the chains have not mixed (%sR-hat max %.4g, ESS min %.0f over "
                  "U_1; want R-hat < %g, ESS >= %g): the numbers marked 'not mixed' are not "
                  "posterior estimates yet; raise --burn or --sweeps", task, means,
                  info.u_rhat_max, info.u_ess_min, AC_PATHS_GIBBS_RHAT_OK, AC_PATHS_GIBBS_ESS_OK);
        rc = EXIT_FAILS;
    }
    if (rc != EXIT_USAGE && gs.chains == 1)
        cli_error("%s: note: one chain: its split R-hat compares the chain's two halves only, so "
                  "it cannot see a mode the chain never visited; --chains 4 compares chains from "
                  "independent prior draws", task);
done:
    ac_paths_gibbs_free(g);
    if (rng)
        gsl_rng_free(rng);
    free(Phi), free(Phit), free(buf);
    ac_paths_task_clear(&t);
    return cli_finish(rc);
}

/* ---- generate ------------------------------------------------------------------ */

/* The claims' tasks: one row each (name, what it is, its builder and its
 * default seed and width). */
typedef struct {
    const char *name;
    const char *help;
    ac_paths_task_builder build;
    unsigned long seed;
    double width;
} task_row;

static const task_row task_table[] = {
    {"markov", "the four-path Markov-chain task of spec attention_paths 4.1 (seed 27: the claims')",
     ac_paths_task_markov, AC_PATHS_IO_MARKOV_SEED_DEFAULT, AC_PATHS_IO_MARKOV_WIDTH_DEFAULT},
    {"digits", "the 2-way 1-shot digits task of spec 4.2b at paths.digits' default size, attention "
               "frozen from its GD model (seed S + i: trial i of a run with base seed S)",
     ac_paths_task_digits, 1, 10},
};
#define NTASKS ((int)(sizeof task_table / sizeof task_table[0]))

/* The task file (docs/paths.md's format); AC_EIO when the stream failed. */
static ac_status fill_task(FILE *f, void *ctx, ac_msg *msg)
{
    return ac_paths_task_write(f, ctx, msg);
}

static int paths_generate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"task", required_argument, 0, 't'},  {"seed", required_argument, 0, 's'},
        {"width", required_argument, 0, 'w'}, {"train", required_argument, 0, 'P'},
        {"test", required_argument, 0, 'p'},  {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    const task_row *row = NULL;
    const char *out = NULL;
    long v, seed = -1;
    double width = NAN;
    ac_paths_task_gen gen = {0, 0.0, 0, 0};
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        switch (c) {
        case 't':
            for (int k = 0; k < NTASKS; k++)
                if (strcmp(optarg, task_table[k].name) == 0)
                    row = &task_table[k];
            if (!row) {
                cli_error("--task: '%s' is not a task this command writes (see --help)", optarg);
                return EXIT_USAGE;
            }
            break;
        case 's':
            if (!cli_long("seed", optarg, 1, SEED_MAX, &seed))
                return EXIT_USAGE;
            break;
        case 'w':
            if (!cli_double("width", optarg, 1e-300, 1e300, &width))
                return EXIT_USAGE;
            break;
        case 'P': case 'p':
            if (!cli_long(c == 'P' ? "train" : "test", optarg, 2, 1L << 20, &v))
                return EXIT_USAGE;
            *(c == 'P' ? &gen.train : &gen.test) = (int)v;
            break;
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: attncheck paths generate --task NAME [--seed S] [--width N] [--train P]\n"
                   "                                [--test P] --out FILE\n\n"
                   "Write one of the claims' tasks in the task-file format, exactly as the claims\n"
                   "build it, so that 'paths solve' on the file gives the claims' numbers bit for\n"
                   "bit (docs/paths.md).\n\n"
                   "  --task NAME   one of:\n");
            for (int k = 0; k < NTASKS; k++)
                printf("                  %-8s %s; default seed %lu, width %g\n", task_table[k].name,
                       task_table[k].help, task_table[k].seed, task_table[k].width);
            printf("  --seed S      the task's seed, 1 to %ld\n"
                   "  --width N     every width n_0 .. n_L\n"
                   "  --train P     training examples (default: the claims')\n"
                   "  --test P      test examples (default: the claims')\n"
                   "  --out FILE    where to write (required; whole or not at all)\n",
                   SEED_MAX);
            return cli_finish(EXIT_HOLDS);
        default: return EXIT_USAGE;
        }
    }
    if (!row || !out || optind < argc) {
        cli_error("paths generate: expected --task NAME and --out FILE, and no other argument "
                  "(see --help)");
        return EXIT_USAGE;
    }
    if (!cli_out_writable(out))
        return EXIT_USAGE;
    gen.seed = seed > 0 ? (unsigned long)seed : row->seed;
    gen.width = isnan(width) ? row->width : width;
    ac_paths_task t;
    ac_msg msg = {{0}};
    if (row->build(&gen, &t, &msg) != AC_OK) {
        cli_error("paths generate --task %s: %s", row->name, msg.text);
        return EXIT_USAGE;
    }
    /* the file whole or not at all, also under SIGINT/SIGTERM (cli_write_file);
     * a failed stream is "FILE: write failed: REASON" */
    int ok = cli_write_output(out, fill_task, &t);
    ac_paths_task_clear(&t);
    return cli_finish(ok ? EXIT_HOLDS : EXIT_USAGE);
}

static const cli_command paths_commands[] = {
    {"solve", "--task FILE", paths_solve, "the theory's saddle point, predictor and head scores"},
    {"sample", "--task FILE", paths_sample, "the Gibbs posterior of the network, with diagnostics"},
    {"generate", "--task NAME --out FILE", paths_generate, "a claim's task in the task format"},
};

int cmd_paths(int argc, char **argv)
{
    char about[1024];
    snprintf(about, sizeof about,
             "The attention-paths theory (Tiberi et al. 2024) on your own task.\n\n%s",
             paths_format_help);
    return cli_dispatch("attncheck paths", about, paths_commands,
                        (int)(sizeof paths_commands / sizeof paths_commands[0]), argc, argv);
}
