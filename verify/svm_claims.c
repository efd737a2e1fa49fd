/* The Graph-SVM claims (spec tpg_svm §4).
 *
 * Every claim follows one pattern.  An instance (dataset and embeddings) is
 * drawn by the generator of spec §5 from the trial's seed.  The theory side
 * (theory/tpg*.h, solvers/) computes the token-priority graphs, the
 * Graph-SVM direction W_svm and the finite component W_fin from the instance
 * alone.  The experiment side (verify/svm_model.h) trains the attention layer
 * from a seeded initialisation, with its own per-position loss; it never
 * reads a theory output.  Only the comparison sees both. */
#include "verify/svm_claims.h"

#include <float.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/linalg.h"
#include "theory/tpg.h"
#include "theory/tpg_loss.h"
#include "theory/tpg_mpfr.h"
#include "theory/tpg_solve.h"
#include "verify/svm_data.h"
#include "verify/svm_model.h"

/* ---- acceptance tolerances (spec §4; the bounds are ours, set from the
 *      reference runs [run] of the spec, never from a run of this code) ---- */

/* S1/S2 of spec §4.1.  The QP stops at 1e-12 (solvers/qp.h); the checks
 * recompute every value from W in R^{d x d}, a different rounding path, so
 * 1e-9 leaves three orders of magnitude for it. */
#define TOL_STRUCT 1e-9
/* S4: a relative 1e-12 (spec §4.1): the gradient sums O(nT) terms of size
 * O(1), each rounded at DBL_EPSILON = 2.2e-16. */
#define TOL_GRAD_IN_SFIN 1e-12
/* Acyclic direction (spec §4.2 Accept): mean final corr >= 0.985, every trial
 * >= 0.97, at 4000 NGD steps: 1 - corr decays only like 1/log(t). */
#define TOL_DIR_ACYC_MEAN 0.015
#define TOL_DIR_ACYC_WORST 0.03
/* Cyclic direction (spec §4.3 Accept): mean >= 0.98, every trial >= 0.97,
 * |corr(W, W_fin + R W_svm) - corr(W, W_svm)| <= 0.01. */
#define TOL_DIR_CYC_MEAN 0.02
#define TOL_DIR_CYC_WORST 0.03
#define TOL_DIR_CYC_DECOMP 0.01
/* Hard retrieval (spec §4.2 Accept): mean attention mass outside the top SCC
 * <= 1e-3 after 4000 NGD steps (it falls about x10 per 1000 steps). */
#define TOL_RETRIEVAL 1e-3
/* Finite component (spec §4.3 Accept): ||P_fin W - W_fin|| <= 0.01 after 4000
 * NGD steps (the NGD step jitter is about lr/2 = 0.005); <= 0.003 after 2e4
 * plain GD steps (no jitter, O(1/t) convergence). */
#define TOL_FIN_NGD 0.01
#define TOL_FIN_GD 0.003
/* With W_fin trained by NGD as the authors do: mean squared difference
 * <= 0.02 at 4000 steps (spec §4.3, the loosest of their figure files). */
#define TOL_FIN_NGD_AUTHORS 0.02
/* Local head (spec §4.4 Accept): mean corr with the local Graph-SVM >= 0.98. */
#define TOL_LOCAL 0.02

/* Held-out sequences per trial for the retrieval claim; 200 gives a standard
 * error of the mean mass below 1e-4 at the leakage levels seen. */
#define RETRIEVAL_SEQS 200
#define RETRIEVAL_MAX_DRAWS 200000
/* Checkpoints along a run for the tables and figures. */
#define NCHECK 100
/* Random pairs for the convexity spot check S5 and points for S4. */
#define SPOT_POINTS 20

/* ---- setups ---------------------------------------------------------- */

ac_status ac_svm_claim_setup(const char *name, ac_size size, ac_svm_setup *s)
{
    int trials = size == AC_SIZE_QUICK ? 3 : 10;
    if (strcmp(name, "acyclic") == 0)
        *s = (ac_svm_setup){4, 6, 8, 8, trials, 4000, 0.01};
    else if (strcmp(name, "cyclic") == 0)
        *s = (ac_svm_setup){6, 4, 6, 8, trials, 4000, 0.01};
    else if (strcmp(name, "local") == 0)
        *s = (ac_svm_setup){6, 4, 6, 8, trials, 2000, 0.1};
    else if (strcmp(name, "plain-gd") == 0)
        *s = (ac_svm_setup){6, 4, 6, 8, trials, size == AC_SIZE_PAPER ? 100000 : 20000, 1.0};
    else
        return AC_ENOTFOUND;
    return AC_OK;
}

/* ---- one instance: data, theory ---------------------------------------- */

typedef struct {
    ac_tpg_data *D;
    double *E;
    int K, d;
    ac_tpg_solution th; /* the theory side */
} instance;

static void instance_free(instance *I)
{
    ac_tpg_data_free(I->D);
    free(I->E);
    ac_tpg_solution_clear(&I->th);
    memset(I, 0, sizeof *I);
}

ac_status ac_svm_claim_draw(const ac_svm_setup *su, ac_svm_gen_mode mode, unsigned long seed, int trial,
                            gsl_rng **r, ac_tpg_data **D, double **E, ac_msg *msg)
{
    ac_svm_gen_settings gs = {su->n, su->T, su->K, su->d, mode, AC_SVM_GEN_MAX_TRIES};
    *D = NULL;
    *E = NULL;
    if (!(*r = gsl_rng_alloc(gsl_rng_mt19937)))
        return ac_fail(msg, AC_ENOMEM, "no memory for a generator");
    gsl_rng_set(*r, seed + (unsigned long)trial);
    return ac_svm_generate(*r, &gs, D, E, NULL, msg);
}

/* The theory side (theory/tpg_solve.h).  A solver that does not converge
 * stops the claim with a message naming it. */
static ac_status instance_theory(instance *I, ac_msg *msg)
{
    ac_tpg_solve_settings set;
    ac_tpg_solve_settings_default(&set);
    ac_status st = ac_tpg_solve(I->D, I->E, I->d, &set, &I->th, msg);
    if (st != AC_OK)
        return st;
    if (I->th.qp.status != AC_QP_SOLVED)
        return ac_fail(msg, AC_ENOCONV, "Graph-SVM solve ended %s after %ld sweeps (primal residual %.3g)",
                       ac_qp_status_str(I->th.qp.status), I->th.qp.sweeps, I->th.qp.prim_res);
    if (I->th.S->dim > 0 && I->th.newton.status != AC_NEWTON_CONVERGED)
        return ac_fail(msg, AC_ENOCONV, "W_fin Newton solve ended %s after %d iterations (|grad| %.3g)",
                       ac_newton_status_str(I->th.newton.status), I->th.newton.iter, I->th.newton.grad_norm);
    return AC_OK;
}

/* ---- the experiment side: train and keep W at checkpoints -------------- */

typedef struct {
    int ncp;
    long *t;     /* ncp step counts */
    double *W;   /* ncp x d x d */
    double *loss;/* ncp losses (at the start of the step after the checkpoint) */
} trajectory;

static void trajectory_free(trajectory *tr)
{
    free(tr->t);
    free(tr->W);
    free(tr->loss);
    memset(tr, 0, sizeof *tr);
}

/* Checkpoints 0, steps/NCHECK, ..., steps. */
static ac_status train(const instance *I, gsl_rng *r, const ac_svm_train_settings *ts, trajectory *out,
                       ac_msg *msg)
{
    int dd = I->d * I->d, ncp = NCHECK + 1;
    memset(out, 0, sizeof *out);
    out->t = malloc(sizeof(long) * (size_t)ncp);
    out->W = malloc(sizeof(double) * (size_t)ncp * dd);
    out->loss = malloc(sizeof(double) * (size_t)ncp);
    double *W0 = malloc(sizeof(double) * (size_t)dd);
    ac_svm_trainer *tr = ac_svm_trainer_alloc(I->D->n, I->D->off[I->D->n], I->K, I->d);
    if (!out->t || !out->W || !out->loss || !W0 || !tr) {
        free(W0);
        ac_svm_trainer_free(tr);
        return ac_fail(msg, AC_ENOMEM, "no memory for a training trajectory");
    }
    ac_svm_model_init(r, I->d, W0);
    ac_status st = ac_svm_trainer_set(tr, I->D, NULL, I->E, ts, W0, msg);
    free(W0);
    for (int c = 0; c < ncp && st == AC_OK; c++) {
        ac_train_outcome oc = ac_svm_trainer_run(tr, ts->steps * c / NCHECK);
        out->t[c] = ac_svm_trainer_info(tr)->steps;
        memcpy(out->W + (size_t)c * dd, ac_svm_trainer_W(tr), sizeof(double) * (size_t)dd);
        out->loss[c] = ac_svm_model_loss(I->D, NULL, I->E, I->d, ts->head, ac_svm_trainer_W(tr), NULL);
        out->ncp = c + 1;
        if (oc == AC_TRAIN_DIVERGED)
            st = ac_fail(msg, AC_ENUMERIC, "training diverged (loss %.3g) at step %ld",
                         ac_svm_trainer_info(tr)->loss, out->t[c]);
    }
    ac_svm_trainer_free(tr);
    return st;
}

/* Draw trial tr, compute its theory and, when ts is non-NULL, train on it;
 * the seconds of each side go to res.  *r continues after the
 * initialisation, for draws the claim makes afterwards. */
static ac_status run_trial(const ac_run_opts *o, int tr, const ac_svm_setup *su, ac_svm_gen_mode mode,
                           const ac_svm_train_settings *ts, gsl_rng **r, instance *I, trajectory *traj,
                           ac_claim_result *res, ac_msg *msg)
{
    memset(I, 0, sizeof *I);
    I->K = su->K;
    I->d = su->d;
    ac_status st = ac_svm_claim_draw(su, mode, o->seed, tr, r, &I->D, &I->E, msg);
    double t0 = ac_clock();
    if (st == AC_OK)
        st = instance_theory(I, msg);
    double t1 = ac_clock();
    if (st == AC_OK && ts)
        st = train(I, *r, ts, traj, msg); /* no training when ts is NULL (traj unused) */
    res->theory_seconds += t1 - t0;
    res->empirical_seconds += ac_clock() - t1;
    return st;
}

/* ---- small statistics helpers ----------------------------------------- */

typedef struct {
    double mean, sd, min, max;
    int n;
} stats;

static stats stats_of(const double *x, int n)
{
    stats s = {NAN, NAN, NAN, NAN, n};
    if (n == 0)
        return s;
    double sum = 0.0;
    s.min = s.max = x[0];
    for (int i = 0; i < n; i++) {
        sum += x[i];
        s.min = x[i] < s.min ? x[i] : s.min;
        s.max = x[i] > s.max ? x[i] : s.max;
    }
    s.mean = sum / n;
    double v = 0.0;
    for (int i = 0; i < n; i++)
        v += (x[i] - s.mean) * (x[i] - s.mean);
    s.sd = n > 1 ? sqrt(v / (n - 1)) : 0.0;
    return s;
}

/* The mean over trials of a per-checkpoint quantity q[trial][cp] with the
 * band [min, max] over trials (positive whenever q is, so it draws on a log
 * axis), from checkpoint `first` on (1 skips t = 0 on a log-t axis). */
static ac_status add_band(ac_figure *fig, const char *label, const long *t, const double *q, int trials, int ncp,
                          int first)
{
    int n = ncp - first;
    double *x = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1) * 4);
    double *col = malloc(sizeof(double) * (size_t)(trials > 0 ? trials : 1));
    if (!x || !col) {
        free(x), free(col);
        return AC_ENOMEM;
    }
    double *y = x + n, *lo = y + n, *hi = lo + n;
    for (int c = first; c < ncp; c++) {
        for (int i = 0; i < trials; i++)
            col[i] = q[(size_t)i * ncp + c];
        stats s = stats_of(col, trials);
        x[c - first] = (double)t[c];
        y[c - first] = s.mean;
        lo[c - first] = s.min;
        hi[c - first] = s.max;
    }
    ac_status st = ac_figure_add_series(fig, label, n, x, y, lo, hi);
    free(col);
    free(x);
    return st;
}

static int progress(const ac_run_opts *o, const char *id, double frac)
{
    return o->progress ? o->progress(o->progress_ctx, id, frac) : 0;
}

/* The setup line: sizes, how to export trial i, then the training as fmt. */
static void setup_text(ac_claim_result *res, const char *what, const ac_svm_setup *su, const char *mode,
                       unsigned long seed, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void setup_text(ac_claim_result *res, const char *what, const ac_svm_setup *su, const char *mode,
                       unsigned long seed, const char *fmt, ...)
{
    int n = snprintf(res->setup, sizeof res->setup,
                     "%s: n=%d T=%d K=%d d=%d, %d trials; trial i is `attncheck svm generate --mode %s --n %d "
                     "--T %d --K %d --d %d --seed %lu+i`; ",
                     what, su->n, su->T, su->K, su->d, su->trials, mode, su->n, su->T, su->K, su->d, seed);
    if (n < 0 || (size_t)n >= sizeof res->setup)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->setup + n, sizeof res->setup - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Mass of the attention of example i on the tokens of the label's SCC. */
static double top_mass(const instance *I, const double *W, int i, double *mass)
{
    const int *tok = I->D->tok + I->D->off[i];
    int len = I->D->off[i + 1] - I->D->off[i];
    int k = tok[len - 1], y = I->D->label[i];
    ac_svm_model_attention(tok, len, I->E, I->K, I->d, W, mass);
    double m = 0.0;
    for (int j = 0; j < I->K; j++)
        if (mass[j] > 0.0 && (j == y || ac_tpg_same_scc(I->th.G, k, j, y)))
            m += mass[j];
    return m;
}

static double mean_leak(const instance *I, const double *W)
{
    double *mass = malloc(sizeof(double) * (size_t)I->K), s = 0.0;
    if (!mass)
        return NAN;
    for (int i = 0; i < I->D->n; i++)
        s += 1.0 - top_mass(I, W, i, mass);
    free(mass);
    return s / I->D->n;
}

/* ---- svm.direction-acyclic, svm.direction-cyclic (spec §4.2, §4.3) ----- */

/* corr(W, W_fin + R W_svm) with R = argmin ||W_fin + R W_svm - W|| (spec
 * §3.3; the authors fit R once at the final iterate). */
static double decomposition_R(const instance *I, const double *W)
{
    int dd = I->d * I->d;
    double ss = ac_la_dot(I->th.Wsvm, I->th.Wsvm, dd);
    return ss > 0.0 ? (ac_la_dot(W, I->th.Wsvm, dd) - ac_la_dot(I->th.Wfin, I->th.Wsvm, dd)) / ss : 0.0;
}

static double decomposition_corr(const instance *I, const double *W)
{
    int dd = I->d * I->d;
    double c = NAN, R = decomposition_R(I, W);
    double *Wd = malloc(sizeof(double) * (size_t)dd);
    if (Wd) {
        for (int j = 0; j < dd; j++)
            Wd[j] = I->th.Wfin[j] + R * I->th.Wsvm[j];
        c = ac_la_corr(W, Wd, dd);
        free(Wd);
    }
    return c;
}

typedef struct {
    int used, skipped;
    double *corr;                       /* used x ncp: corr(W(t), W_svm) */
    double *last, *dec, *perp, *leak, *wn; /* used: at the end of the run */
    long *tcp;                          /* ncp checkpoint steps */
} direction_acc;

/* The direction measurements of one trained trial (spec §4.2, §4.3). */
static ac_status direction_trial(const instance *I, const trajectory *traj, direction_acc *a)
{
    int ncp = traj->ncp, dd = I->d * I->d, u = a->used;
    if (ac_la_nrm2(I->th.Wsvm, dd) == 0.0) {
        a->skipped++; /* fully cyclic: no direction to compare (spec §7) */
        return AC_OK;
    }
    const double *Wend = traj->W + (size_t)(ncp - 1) * dd;
    for (int c = 0; c < ncp; c++)
        a->corr[(size_t)u * ncp + c] = ac_la_corr(traj->W + (size_t)c * dd, I->th.Wsvm, dd);
    a->last[u] = a->corr[(size_t)u * ncp + ncp - 1];
    a->leak[u] = mean_leak(I, Wend);
    a->wn[u] = ac_la_nrm2(Wend, dd);
    a->dec[u] = fabs(decomposition_corr(I, Wend) - a->last[u]);
    double *P = malloc(sizeof(double) * (size_t)dd);
    if (!P)
        return AC_ENOMEM;
    ac_status st = ac_tpg_sfin_project(I->th.S, Wend, P, NULL);
    for (int j = 0; j < dd; j++)
        P[j] = Wend[j] - P[j];
    a->perp[u] = ac_la_corr(P, I->th.Wsvm, dd);
    free(P);
    memcpy(a->tcp, traj->t, sizeof(long) * (size_t)ncp);
    a->used++;
    return st;
}

static void direction_rows(ac_claim_result *res, const direction_acc *a, int cyc, int ncp)
{
    const char *lim = "1 (W/||W|| -> W_svm/||W_svm||)";
    char q[160];
    int n = a->used;
    stats s = stats_of(a->last, n);
    ac_claim_add(res, "mean final corr(W, W_svm)", lim, 1.0, s.mean, AC_METRIC_AT_LEAST,
                 cyc ? TOL_DIR_CYC_MEAN : TOL_DIR_ACYC_MEAN,
                 cyc ? "spec 4.3 Accept (mean >= 0.98): 1 - corr decays like 1/log t, finite run"
                     : "spec 4.2 Accept (mean >= 0.985): 1 - corr decays like 1/log t, finite run");
    ac_claim_add(res, "worst-trial final corr(W, W_svm)", lim, 1.0, s.min, AC_METRIC_AT_LEAST,
                 cyc ? TOL_DIR_CYC_WORST : TOL_DIR_ACYC_WORST,
                 "spec Accept (every trial >= 0.97): slowest trials of the reference runs");
    double *col = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    for (int k = 1; k <= 2 && col; k++) {
        int c = NCHECK * k / 4;
        for (int i = 0; i < n; i++)
            col[i] = a->corr[(size_t)i * ncp + c];
        snprintf(q, sizeof q, "mean corr(W, W_svm) at step %ld", a->tcp[c]);
        ac_claim_add(res, q, lim, 1.0, stats_of(col, n).mean, AC_METRIC_INFO, 0.0,
                     "along the run; judged only at the end");
    }
    if (col) {
        for (int i = 0; i < n; i++)
            col[i] = (1.0 - a->corr[(size_t)i * ncp + ncp - 1]) / (1.0 - a->corr[(size_t)i * ncp + NCHECK / 4]);
        ac_claim_add(res, "worst-trial ratio (1 - corr at end) / (1 - corr at a quarter of the run)",
                     "< 1 (corr keeps increasing)", 1.0, stats_of(col, n).max, AC_METRIC_AT_MOST, 0.0,
                     "exact: the theory says corr increases to 1");
    }
    free(col);
    /* spec 4.2 bounds the mass for acyclic data only; on cyclic data it is
     * shown here and judged on held-out sequences by svm.retrieval */
    ac_claim_add(res, "mean attention mass outside the top SCC at the end", "0 (hard retrieval)", 0.0,
                 stats_of(a->leak, n).mean, cyc ? AC_METRIC_INFO : AC_METRIC_AT_MOST, cyc ? 0.0 : TOL_RETRIEVAL,
                 cyc ? "no finite-time bound in the spec for cyclic data; see svm.retrieval"
                     : "spec 4.2 Accept: mass outside falls about x10 per 1000 NGD steps");
    if (cyc) {
        ac_claim_add(res, "worst |corr(W, W_fin + R W_svm) - corr(W, W_svm)|", "0 (W_fin is bounded while ||W|| grows)",
                     0.0, stats_of(a->dec, n).max, AC_METRIC_AT_MOST, TOL_DIR_CYC_DECOMP, "spec 4.3 Accept");
        ac_claim_add(res, "mean corr(W - P_fin W, W_svm)", lim, 1.0, stats_of(a->perp, n).mean, AC_METRIC_AT_LEAST,
                     TOL_DIR_CYC_MEAN, "same bound as corr(W, W_svm) (spec 4.3)");
    }
    ac_claim_add(res, "mean ||W|| at the end", "grows without bound", NAN, stats_of(a->wn, n).mean, AC_METRIC_INFO,
                 0.0, "NGD: at most ||W(0)|| + lr t");
    ac_claim_row *rw = ac_claim_add(res, "trials skipped (W_svm = 0: fully cyclic)", "", NAN, a->skipped,
                                    AC_METRIC_INFO, 0.0, "no direction to compare");
    if (rw)
        rw->is_count = 1;
    ac_figure *f = n > 0 ? ac_claim_add_figure(res, cyc ? "svm-direction-cyclic" : "svm-direction-acyclic",
                                               cyc ? "corr(W(t), W_svm), cyclic TPGs" : "corr(W(t), W_svm), acyclic TPGs",
                                               "NGD step t", "corr(W(t), W_svm)", 0, 0)
                         : NULL;
    if (f)
        add_band(f, "mean, band min-max over trials", a->tcp, a->corr, n, ncp, 0);
}

static ac_status direction(const ac_run_opts *o, ac_claim_result *res, ac_msg *msg, ac_svm_gen_mode mode)
{
    int cyc = mode == AC_SVM_GEN_CYCLIC, ncp = NCHECK + 1;
    ac_svm_setup su;
    ac_svm_claim_setup(cyc ? "cyclic" : "acyclic", o->size, &su);
    direction_acc a = {0};
    a.corr = calloc((size_t)su.trials * (ncp + 5), sizeof(double));
    a.tcp = calloc((size_t)ncp, sizeof(long));
    if (!a.corr || !a.tcp) {
        free(a.corr), free(a.tcp);
        return ac_fail(msg, AC_ENOMEM, "no memory");
    }
    a.last = a.corr + (size_t)su.trials * ncp, a.dec = a.last + su.trials, a.perp = a.dec + su.trials;
    a.leak = a.perp + su.trials, a.wn = a.leak + su.trials;
    ac_svm_train_settings ts;
    ac_svm_train_settings_default(&ts);
    ts.steps = su.steps;
    ts.lr = su.lr;
    ts.normalized = 1;
    ts.head = AC_SVM_HEAD_IDENTITY;
    ac_status st = AC_OK;
    for (int tr = 0; tr < su.trials && st == AC_OK; tr++) {
        instance I;
        trajectory traj = {0};
        gsl_rng *r = NULL;
        st = run_trial(o, tr, &su, mode, &ts, &r, &I, &traj, res, msg);
        if (st == AC_OK)
            st = direction_trial(&I, &traj, &a);
        trajectory_free(&traj);
        instance_free(&I);
        gsl_rng_free(r);
        if (st == AC_OK && progress(o, res->id, (tr + 1.0) / su.trials) < 0)
            st = AC_ECALLBACK;
    }
    if (st == AC_OK) {
        setup_text(res, cyc ? "cyclic TPGs" : "acyclic TPGs", &su, cyc ? "cyclic" : "acyclic", o->seed,
                   "normalised GD, lr %g, %d steps, W(0) ~ U(-1/sqrt(d), 1/sqrt(d))", su.lr, su.steps);
        direction_rows(res, &a, cyc, ncp);
    }
    free(a.corr), free(a.tcp);
    return st;
}

static ac_status claim_direction_acyclic(const ac_run_opts *o, ac_claim_result *res, ac_msg *msg)
{
    return direction(o, res, msg, AC_SVM_GEN_ACYCLIC);
}

static ac_status claim_direction_cyclic(const ac_run_opts *o, ac_claim_result *res, ac_msg *msg)
{
    return direction(o, res, msg, AC_SVM_GEN_CYCLIC);
}

/* ---- svm.structure: the exact checks S1-S5 of spec §4.1 --------------- */

typedef struct {
    double ineq, eq, sfin;        /* S1 */
    double stat, lam_min, compl;  /* S2 */
    double s3_dim, s3_norm;       /* S3 (acyclic instances) */
    double s4, s5, s5_tol;        /* S4, S5 */
    double sweeps, cons;
} structure_acc;

/* S1, S2 of one instance: constraint values and sum_c lambda_c A_c formed
 * in R^{d x d} from E directly, not from the solver's coefficients. */
static ac_status check_s1_s2(const instance *I, structure_acc *a)
{
    int d = I->d, dd = d * d, m = I->th.C.m;
    double *s = malloc(sizeof(double) * (size_t)(m + 1)), *W = calloc((size_t)dd * 2, sizeof(double));
    if (!s || !W) {
        free(s), free(W);
        return AC_ENOMEM;
    }
    ac_tpg_cons_values(&I->th.C, I->E, d, I->th.Wsvm, s);
    for (int c = 0; c < m; c++) {
        const double *ea = I->E + (size_t)I->th.C.a[c] * d, *eb = I->E + (size_t)I->th.C.b[c] * d,
                     *ek = I->E + (size_t)I->th.C.k[c] * d;
        double lam = I->th.lambda[c];
        if (I->th.C.is_eq[c]) {
            a->eq = fmax(a->eq, fabs(s[c]));
        } else {
            a->ineq = fmax(a->ineq, fmax(0.0, I->th.C.rhs[c] - s[c]));
            a->lam_min = fmin(a->lam_min, lam);
            a->compl = fmax(a->compl, fabs(lam * (s[c] - I->th.C.rhs[c])));
        }
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                W[i * d + j] += lam * (ea[i] - eb[i]) * ek[j];
    }
    a->stat = fmax(a->stat, ac_la_dist(W, I->th.Wsvm, dd));
    ac_status st = ac_tpg_sfin_project(I->th.S, I->th.Wsvm, W + dd, NULL);
    a->sfin = fmax(a->sfin, ac_la_nrm2(W + dd, dd));
    a->sweeps += (double)I->th.qp.sweeps;
    a->cons += m;
    free(s), free(W);
    return st;
}

/* S4 (gradient of the reduced loss lies in S_fin) and S5 (midpoint
 * convexity) at random points, both with the experiment's model loss. */
static ac_status check_s4_s5(const instance *I, gsl_rng *r, structure_acc *a)
{
    int d = I->d, dd = d * d;
    double *W = malloc(sizeof(double) * (size_t)dd * 4);
    if (!W)
        return AC_ENOMEM;
    double *W2 = W + dd, *g = W2 + dd, *P = g + dd;
    ac_status st = AC_OK;
    for (int p = 0; p < SPOT_POINTS && st == AC_OK; p++) {
        for (int j = 0; j < dd; j++) {
            W[j] = 4.0 * (gsl_rng_uniform(r) - 0.5);
            W2[j] = 4.0 * (gsl_rng_uniform(r) - 0.5);
        }
        if (I->th.Dred->data->n > 0) {
            ac_svm_model_loss(I->th.Dred->data, I->th.Dred->last, I->E, d, AC_SVM_HEAD_IDENTITY, W, g);
            st = ac_tpg_sfin_project(I->th.S, g, P, NULL);
            double gn = ac_la_nrm2(g, dd);
            if (gn > 0.0)
                a->s4 = fmax(a->s4, ac_la_dist(g, P, dd) / gn);
        }
        double l1 = ac_svm_model_loss(I->D, NULL, I->E, d, AC_SVM_HEAD_IDENTITY, W, NULL);
        double l2 = ac_svm_model_loss(I->D, NULL, I->E, d, AC_SVM_HEAD_IDENTITY, W2, NULL);
        for (int j = 0; j < dd; j++)
            P[j] = 0.5 * (W[j] + W2[j]);
        double lm = ac_svm_model_loss(I->D, NULL, I->E, d, AC_SVM_HEAD_IDENTITY, P, NULL);
        a->s5 = fmax(a->s5, lm - 0.5 * (l1 + l2));
        /* each loss sums O(nT) rounded terms of size up to |L|: allow
         * 64 DBL_EPSILON max(1, |L|) */
        a->s5_tol = fmax(a->s5_tol, 64.0 * DBL_EPSILON * fmax(1.0, fmax(fabs(l1), fabs(l2))));
    }
    free(W);
    return st;
}

static void structure_rows(ac_claim_result *res, const structure_acc *a, int ninst)
{
    const char *s12 = "the QP stops at 1e-12; values recomputed in R^{d x d} on another rounding path";
    ac_claim_add(res, "S1 worst inequality violation max(0, 1 - <A_c, W_svm>)", "0", 0.0, a->ineq,
                 AC_METRIC_AT_MOST, TOL_STRUCT, s12);
    ac_claim_add(res, "S1 worst equality |<A_c, W_svm>|", "0", 0.0, a->eq, AC_METRIC_AT_MOST, TOL_STRUCT, s12);
    ac_claim_add(res, "S1 worst ||P_fin W_svm||", "0 (W_svm is orthogonal to S_fin)", 0.0, a->sfin,
                 AC_METRIC_AT_MOST, TOL_STRUCT, s12);
    ac_claim_add(res, "S2 worst ||W_svm - sum_c lambda_c A_c||", "0 (stationarity)", 0.0, a->stat,
                 AC_METRIC_AT_MOST, TOL_STRUCT, s12);
    ac_claim_add(res, "S2 smallest inequality multiplier", ">= 0", 0.0, a->lam_min, AC_METRIC_AT_LEAST, 0.0,
                 "exact: the solver clips at 0");
    ac_claim_add(res, "S2 worst |lambda_c (<A_c, W_svm> - 1)|", "0 (complementarity)", 0.0, a->compl,
                 AC_METRIC_AT_MOST, TOL_STRUCT, s12);
    ac_claim_add(res, "S3 largest dim S_fin on acyclic data", "0", 0.0, a->s3_dim, AC_METRIC_AT_MOST, 0.0,
                 "exact: a DAG has no nontrivial SCC");
    ac_claim_add(res, "S3 largest ||W_fin|| on acyclic data", "0", 0.0, a->s3_norm, AC_METRIC_AT_MOST, 0.0,
                 "exact: S_fin = {0}");
    ac_claim_add(res, "S4 worst ||grad L_red - P_fin grad L_red|| / ||grad L_red||", "0", 0.0, a->s4,
                 AC_METRIC_AT_MOST, TOL_GRAD_IN_SFIN,
                 "spec 4.1: sums of O(nT) terms rounded at 2.2e-16; gradient from the model's own code");
    ac_claim_add(res, "S5 worst L((W1+W2)/2) - (L(W1)+L(W2))/2", "<= 0 (convexity)", 0.0, a->s5,
                 AC_METRIC_AT_MOST, a->s5_tol, "rounding: 64 DBL_EPSILON max(1, |L|) for sums of O(nT) terms");
    ac_claim_row *r = ac_claim_add(res, "mean QP sweeps", "", NAN, a->sweeps / ninst, AC_METRIC_INFO, 0.0,
                                   "dual coordinate ascent to KKT residuals 1e-12");
    if (r)
        r->is_count = 1;
    r = ac_claim_add(res, "mean constraints per instance", "", NAN, a->cons / ninst, AC_METRIC_INFO, 0.0, "");
    if (r)
        r->is_count = 1;
}

static ac_status claim_structure(const ac_run_opts *o, ac_claim_result *res, ac_msg *msg)
{
    structure_acc a = {0};
    a.lam_min = INFINITY;
    a.s5 = -INFINITY;
    ac_svm_setup su[2];
    ac_svm_claim_setup("acyclic", o->size, &su[0]);
    ac_svm_claim_setup("cyclic", o->size, &su[1]);
    ac_status st = AC_OK;
    int ninst = 0;
    for (int m = 0; m < 2 && st == AC_OK; m++)
        for (int tr = 0; tr < su[m].trials && st == AC_OK; tr++) {
            instance I;
            gsl_rng *r = NULL;
            st = run_trial(o, tr, &su[m], m == 0 ? AC_SVM_GEN_ACYCLIC : AC_SVM_GEN_CYCLIC, NULL, &r, &I, NULL,
                           res, msg);
            double t1 = ac_clock();
            if (st == AC_OK)
                st = check_s1_s2(&I, &a);
            if (st == AC_OK && m == 0) {
                a.s3_dim = fmax(a.s3_dim, I.th.S->dim);
                a.s3_norm = fmax(a.s3_norm, ac_la_nrm2(I.th.Wfin, I.d * I.d));
            }
            if (st == AC_OK)
                st = check_s4_s5(&I, r, &a);
            res->empirical_seconds += ac_clock() - t1; /* S4, S5 use the model's loss */
            ninst++;
            instance_free(&I);
            gsl_rng_free(r);
            if (st == AC_OK && progress(o, res->id, (double)ninst / (su[0].trials + su[1].trials)) < 0)
                st = AC_ECALLBACK;
        }
    if (st != AC_OK)
        return st;
    snprintf(res->setup, sizeof res->setup,
             "the acyclic (n=%d T=%d K=%d d=%d) and cyclic (n=%d T=%d K=%d d=%d) instances of the direction "
             "claims, %d trials each, seeds %lu+i; S4 and S5 at %d random points with entries U(-2, 2)",
             su[0].n, su[0].T, su[0].K, su[0].d, su[1].n, su[1].T, su[1].K, su[1].d, su[0].trials, o->seed,
             SPOT_POINTS);
    structure_rows(res, &a, ninst);
    return AC_OK;
}

/* ---- svm.finite-component (spec §3.2, §4.3) ---------------------------- */

/* ||P_fin W_c - Wf_c|| at every checkpoint c of a trajectory, into out
 * (ncp).  Wf is one matrix (stride 0) or one per checkpoint (stride dd). */
static ac_status fin_distance(const instance *I, const trajectory *tr, const double *Wf, int stride,
                              double *out)
{
    int dd = I->d * I->d;
    double *P = malloc(sizeof(double) * (size_t)dd);
    if (!P)
        return AC_ENOMEM;
    ac_status st = AC_OK;
    for (int c = 0; c < tr->ncp && st == AC_OK; c++) {
        st = ac_tpg_sfin_project(I->th.S, tr->W + (size_t)c * dd, P, NULL);
        out[c] = ac_la_dist(P, Wf + (size_t)c * stride, dd);
    }
    free(P);
    return st;
}

/* The authors' W_fin (spec §3.2): NGD on the reduced loss from 0 with the
 * main run's lr and steps; its checkpoints into traj. */
static ac_status authors_wfin(const instance *I, const ac_svm_setup *su, trajectory *traj, ac_msg *msg)
{
    int dd = I->d * I->d, ncp = NCHECK + 1;
    ac_svm_train_settings ts;
    ac_svm_train_settings_default(&ts);
    ts.steps = su->steps;
    ts.lr = su->lr;
    memset(traj, 0, sizeof *traj);
    traj->t = malloc(sizeof(long) * (size_t)ncp);
    traj->W = calloc((size_t)ncp * dd, sizeof(double));
    traj->loss = calloc((size_t)ncp, sizeof(double));
    double *zero = calloc((size_t)dd, sizeof(double));
    const ac_tpg_reduced *R = I->th.Dred;
    ac_svm_trainer *tr = R->data->n > 0 ? ac_svm_trainer_alloc(R->data->n, R->data->off[R->data->n], I->K, I->d)
                                        : NULL;
    ac_status st = AC_OK;
    if (!traj->t || !traj->W || !traj->loss || !zero || (R->data->n > 0 && !tr))
        st = ac_fail(msg, AC_ENOMEM, "no memory");
    else if (tr)
        st = ac_svm_trainer_set(tr, R->data, R->last, I->E, &ts, zero, msg);
    free(zero);
    for (int c = 0; c < ncp && st == AC_OK; c++) {
        traj->t[c] = (long)su->steps * c / NCHECK;
        if (tr && ac_svm_trainer_run(tr, traj->t[c]) == AC_TRAIN_DIVERGED)
            st = ac_fail(msg, AC_ENUMERIC, "NGD on the reduced loss diverged at step %ld",
                         ac_svm_trainer_info(tr)->steps);
        if (tr)
            memcpy(traj->W + (size_t)c * dd, ac_svm_trainer_W(tr), sizeof(double) * (size_t)dd);
        traj->ncp = c + 1;
    }
    ac_svm_trainer_free(tr);
    return st;
}

typedef struct {
    double *ngd, *gd, *auth;      /* trials x ncp distances */
    double *ngd_end, *gd_end, *auth_sq_end, *corr_dec, *wfin_norm, *gnorm;
    long *t_ngd, *t_gd;
} finite_acc;

static ac_status finite_trial(const ac_run_opts *o, int tr, const ac_svm_setup *su, const ac_svm_setup *gd,
                              finite_acc *a, ac_claim_result *res, ac_msg *msg)
{
    int ncp = NCHECK + 1, dd = su->d * su->d;
    instance I;
    trajectory tn = {0}, tg = {0}, ta = {0};
    gsl_rng *r = NULL;
    ac_svm_train_settings tsn;
    ac_svm_train_settings_default(&tsn);
    tsn.steps = su->steps;
    tsn.lr = su->lr;
    tsn.normalized = 1;
    tsn.head = AC_SVM_HEAD_IDENTITY;
    ac_svm_train_settings tsg;
    ac_svm_train_settings_default(&tsg);
    tsg.steps = gd->steps;
    tsg.lr = gd->lr;
    tsg.normalized = 0;
    tsg.head = AC_SVM_HEAD_IDENTITY;
    ac_status st = run_trial(o, tr, su, AC_SVM_GEN_CYCLIC, &tsn, &r, &I, &tn, res, msg);
    double t1 = ac_clock();
    if (st == AC_OK)
        st = train(&I, r, &tsg, &tg, msg);
    res->empirical_seconds += ac_clock() - t1;
    double t2 = ac_clock();
    if (st == AC_OK)
        st = authors_wfin(&I, su, &ta, msg); /* the authors' W_fin: a theory quantity, by NGD */
    res->theory_seconds += ac_clock() - t2;
    if (st == AC_OK)
        st = fin_distance(&I, &tn, I.th.Wfin, 0, a->ngd + (size_t)tr * ncp);
    if (st == AC_OK)
        st = fin_distance(&I, &tg, I.th.Wfin, 0, a->gd + (size_t)tr * ncp);
    if (st == AC_OK)
        st = fin_distance(&I, &tn, ta.W, dd, a->auth + (size_t)tr * ncp);
    if (st == AC_OK) {
        const double *Wend = tn.W + (size_t)(ncp - 1) * dd;
        a->ngd_end[tr] = a->ngd[(size_t)tr * ncp + ncp - 1];
        a->gd_end[tr] = a->gd[(size_t)tr * ncp + ncp - 1];
        a->auth_sq_end[tr] = a->auth[(size_t)tr * ncp + ncp - 1] * a->auth[(size_t)tr * ncp + ncp - 1];
        a->corr_dec[tr] = decomposition_corr(&I, Wend);
        a->wfin_norm[tr] = ac_la_nrm2(I.th.Wfin, dd);
        a->gnorm[tr] = I.th.fin_grad_norm;
        memcpy(a->t_ngd, tn.t, sizeof(long) * (size_t)ncp);
        memcpy(a->t_gd, tg.t, sizeof(long) * (size_t)ncp);
    }
    trajectory_free(&tn), trajectory_free(&tg), trajectory_free(&ta);
    instance_free(&I);
    gsl_rng_free(r);
    return st;
}

static void finite_rows(ac_claim_result *res, const finite_acc *a, int trials, int ncp)
{
    ac_claim_add(res, "worst ||P_fin W - W_fin|| after the NGD run", "0 (P_fin W(t) -> W_fin)", 0.0,
                 stats_of(a->ngd_end, trials).max, AC_METRIC_AT_MOST, TOL_FIN_NGD,
                 "spec 4.3 Accept: NGD jitters about lr/2 = 0.005 around W_fin");
    ac_claim_add(res, "worst ||P_fin W - W_fin|| after the plain GD run", "0 (P_fin W(t) -> W_fin)", 0.0,
                 stats_of(a->gd_end, trials).max, AC_METRIC_AT_MOST, TOL_FIN_GD,
                 "spec 4.3 Accept: plain GD has no jitter; O(1/t) convergence over 2e4 steps");
    ac_claim_add(res, "mean corr(W, W_fin + R W_svm) after the NGD run", "1", 1.0,
                 stats_of(a->corr_dec, trials).mean, AC_METRIC_AT_LEAST, TOL_DIR_CYC_MEAN,
                 "same bound as corr(W, W_svm) (spec 4.3)");
    ac_claim_add(res, "mean ||P_fin W - W_fin^NGD||^2 at the end (authors' W_fin by NGD)", "0", 0.0,
                 stats_of(a->auth_sq_end, trials).mean, AC_METRIC_AT_MOST, TOL_FIN_NGD_AUTHORS,
                 "spec 4.3: consistency with the authors' figure files (loosest of them)");
    /* the step where the mean squared authors' difference peaks */
    double best = -1.0;
    long at = 0;
    for (int c = 0; c < ncp; c++) {
        double m = 0.0;
        for (int i = 0; i < trials; i++)
            m += a->auth[(size_t)i * ncp + c] * a->auth[(size_t)i * ncp + c];
        if (m > best) {
            best = m;
            at = a->t_ngd[c];
        }
    }
    ac_claim_row *r = ac_claim_add(res, "step of the peak of the mean squared difference (authors' W_fin)",
                                   "early peak, then decay", NAN, (double)at, AC_METRIC_INFO, 0.0,
                                   "spec 4.3: one early peak within the first 500 steps in the figure files");
    if (r)
        r->is_count = 1;
    ac_claim_add(res, "mean ||W_fin||", "", NAN, stats_of(a->wfin_norm, trials).mean, AC_METRIC_INFO, 0.0,
                 "W_fin can be 0 (an SCC from one win each way)");
    ac_claim_add(res, "worst ||P_fin grad L_red(W_fin)||", "0", 0.0, stats_of(a->gnorm, trials).max,
                 AC_METRIC_INFO, 0.0, "Newton stops at 1e-12 in its coordinates");
}

static ac_status claim_finite(const ac_run_opts *o, ac_claim_result *res, ac_msg *msg)
{
    ac_svm_setup su, gd;
    ac_svm_claim_setup("cyclic", o->size, &su);
    ac_svm_claim_setup("plain-gd", o->size, &gd);
    int ncp = NCHECK + 1, T = su.trials;
    finite_acc a = {0};
    double *buf = calloc((size_t)T * (3 * ncp + 6), sizeof(double));
    a.t_ngd = malloc(sizeof(long) * (size_t)ncp);
    a.t_gd = malloc(sizeof(long) * (size_t)ncp);
    if (!buf || !a.t_ngd || !a.t_gd) {
        free(buf), free(a.t_ngd), free(a.t_gd);
        return ac_fail(msg, AC_ENOMEM, "no memory");
    }
    a.ngd = buf, a.gd = a.ngd + (size_t)T * ncp, a.auth = a.gd + (size_t)T * ncp;
    a.ngd_end = a.auth + (size_t)T * ncp, a.gd_end = a.ngd_end + T, a.auth_sq_end = a.gd_end + T;
    a.corr_dec = a.auth_sq_end + T, a.wfin_norm = a.corr_dec + T, a.gnorm = a.wfin_norm + T;
    ac_status st = AC_OK;
    for (int tr = 0; tr < T && st == AC_OK; tr++) {
        st = finite_trial(o, tr, &su, &gd, &a, res, msg);
        if (st == AC_OK && progress(o, res->id, (tr + 1.0) / T) < 0)
            st = AC_ECALLBACK;
    }
    if (st == AC_OK) {
        setup_text(res, "cyclic TPGs", &su, "cyclic", o->seed,
                   "NGD lr %g for %d steps; plain GD lr %g for %d steps; W_fin by Newton", su.lr, su.steps, gd.lr,
                   gd.steps);
        finite_rows(res, &a, T, ncp);
        ac_figure *f = ac_claim_add_figure(res, "svm-finite-component", "||P_fin W(t) - W_fin||, cyclic TPGs",
                                           "step t", "||P_fin W(t) - W_fin||", 0, 1);
        if (f) {
            add_band(f, "NGD, exact W_fin (mean, min-max)", a.t_ngd, a.ngd, T, ncp, 0);
            add_band(f, "NGD, authors' NGD-trained W_fin (mean, min-max)", a.t_ngd, a.auth, T, ncp, 1);
        }
        f = ac_claim_add_figure(res, "svm-finite-component-gd", "||P_fin W(t) - W_fin||, plain GD, cyclic TPGs",
                                "step t", "||P_fin W(t) - W_fin||", 1, 1);
        if (f)
            add_band(f, "plain GD lr 1 (mean, min-max)", a.t_gd, a.gd, T, ncp, 1);
    }
    free(buf), free(a.t_ngd), free(a.t_gd);
    return st;
}

/* ---- svm.retrieval (spec §2, §3.3) ------------------------------------- */

typedef struct {
    double leak_sum, soft_sum, pred_sum;
    long nseq, nsoft;
} retrieval_acc;

/* Held-out sequences drawn by the generator's rule whose tokens all lie in
 * G^(k) and have a top SCC that reaches the others (then W_svm gives every
 * other token a margin >= 1, spec §3.1).  Hard retrieval: attention mass
 * outside that SCC.  Soft composition: inside it, the attention per token
 * against the distribution W_fin predicts. */
/* Attention mass outside the top SCC that token logits Up (K x K) give a
 * sequence: softmax over positions of Up[tok_t, k], max-shifted. */
static double predicted_leak(const ac_tpg *G, const double *Up, const int *tok, int T, int top)
{
    int K = G->K, k = tok[T - 1], g = G->graph_of[k];
    double mx = -INFINITY, z = 0.0, out = 0.0;
    for (int t = 0; t < T; t++)
        mx = fmax(mx, Up[(size_t)tok[t] * K + k]);
    for (int t = 0; t < T; t++) {
        double e = exp(Up[(size_t)tok[t] * K + k] - mx);
        z += e;
        if (G->comp[(size_t)g * K + tok[t]] != top)
            out += e;
    }
    return out / z;
}

static ac_status retrieval_trial(const instance *I, const double *W, gsl_rng *r, int T, retrieval_acc *a)
{
    int K = I->K, kept = 0;
    int *tok = malloc(sizeof(int) * (size_t)T);
    double *mass = malloc(sizeof(double) * (size_t)K * 2), *U = malloc(sizeof(double) * (size_t)K * K);
    if (!tok || !mass || !U) {
        free(tok), free(mass), free(U);
        return AC_ENOMEM;
    }
    double *p = mass + K;
    ac_tpg_token_logits(I->E, K, I->d, I->th.Wfin, U);
    /* the decomposition's logits at the trained scale: U_fin + R U_svm, R
     * fitted to W (spec §3.3), for the leakage the theory predicts there */
    double R = decomposition_R(I, W), *Up = malloc(sizeof(double) * (size_t)K * K * 2);
    if (!Up) {
        free(tok), free(mass), free(U);
        return AC_ENOMEM;
    }
    ac_tpg_token_logits(I->E, K, I->d, I->th.Wsvm, Up + (size_t)K * K);
    for (int i = 0; i < K * K; i++)
        Up[i] = U[i] + R * Up[(size_t)K * K + i];
    for (long draw = 0; draw < RETRIEVAL_MAX_DRAWS && kept < RETRIEVAL_SEQS; draw++) {
        ac_svm_draw_sequence(r, T, K, tok);
        int k = tok[T - 1];
        int top = ac_tpg_top_scc(I->th.G, k, tok, T);
        if (top < 0)
            continue;
        kept++;
        ac_svm_model_attention(tok, T, I->E, K, I->d, W, mass);
        int g = I->th.G->graph_of[k], distinct = 0;
        double in = 0.0, dev = 0.0;
        ac_tpg_soft_composition(I->th.G, U, tok, T, top, p);
        for (int j = 0; j < K; j++)
            if (mass[j] > 0.0 && I->th.G->comp[(size_t)g * K + j] == top) {
                in += mass[j];
                distinct++;
                dev = fmax(dev, fabs(mass[j] - p[j]));
            }
        a->leak_sum += 1.0 - in;
        a->pred_sum += predicted_leak(I->th.G, Up, tok, T, top);
        a->nseq++;
        if (distinct >= 2) {
            a->soft_sum += dev;
            a->nsoft++;
        }
    }
    free(tok), free(mass), free(U), free(Up);
    return AC_OK;
}

static ac_status claim_retrieval(const ac_run_opts *o, ac_claim_result *res, ac_msg *msg)
{
    ac_svm_setup su;
    ac_svm_claim_setup("cyclic", o->size, &su);
    retrieval_acc a = {0};
    ac_svm_train_settings ts;
    ac_svm_train_settings_default(&ts);
    ts.steps = su.steps;
    ts.lr = su.lr;
    ts.normalized = 1;
    ts.head = AC_SVM_HEAD_IDENTITY;
    ac_status st = AC_OK;
    for (int tr = 0; tr < su.trials && st == AC_OK; tr++) {
        instance I;
        trajectory traj = {0};
        gsl_rng *r = NULL;
        st = run_trial(o, tr, &su, AC_SVM_GEN_CYCLIC, &ts, &r, &I, &traj, res, msg);
        double t1 = ac_clock();
        if (st == AC_OK)
            st = retrieval_trial(&I, traj.W + (size_t)NCHECK * I.d * I.d, r, su.T, &a);
        res->empirical_seconds += ac_clock() - t1;
        trajectory_free(&traj);
        instance_free(&I);
        gsl_rng_free(r);
        if (st == AC_OK && progress(o, res->id, (tr + 1.0) / su.trials) < 0)
            st = AC_ECALLBACK;
    }
    if (st != AC_OK)
        return st;
    setup_text(res, "cyclic TPGs", &su, "cyclic", o->seed,
               "NGD lr %g, %d steps; up to %d held-out sequences per trial drawn after training", su.lr, su.steps,
               RETRIEVAL_SEQS);
    ac_claim_add(res, "mean attention mass outside the top SCC, held-out sequences", "0 (hard retrieval)", 0.0,
                 a.nseq ? a.leak_sum / a.nseq : NAN, AC_METRIC_AT_MOST, TOL_RETRIEVAL,
                 "spec 4.2 bound (1e-3 at 4000 NGD steps, training examples of acyclic data) applied to held-out cyclic sequences; the spec sets no cyclic bound");
    /* Within an SCC the logit differences are <P_fin W, (e_a - e_b) e_k^T>,
     * at most 2 ||P_fin W - W_fin|| <= 2 TOL_FIN_NGD for unit tokens; a
     * softmax moves by at most expm1 of that, plus the leaked mass. */
    char why[AC_CLAIM_REASON];
    snprintf(why, sizeof why,
             "derived: expm1(2 x %g) from the finite-component bound (logit error <= 2 ||P_fin W - W_fin||) "
             "+ %g leaked mass",
             TOL_FIN_NGD, TOL_RETRIEVAL);
    ac_claim_add(res, "mean max_j |attention on j - p_fin(j)| inside the top SCC", "0 (soft composition)", 0.0,
                 a.nsoft ? a.soft_sum / a.nsoft : NAN, AC_METRIC_AT_MOST, expm1(2.0 * TOL_FIN_NGD) + TOL_RETRIEVAL,
                 why);
    ac_claim_add(res, "mean mass outside the top SCC that W_fin + R W_svm gives (R fitted to W)", "", NAN,
                 a.nseq ? a.pred_sum / a.nseq : NAN, AC_METRIC_INFO, 0.0,
                 "the decomposition's leakage at the trained scale, beside the measured one");
    ac_claim_row *r = ac_claim_add(res, "held-out sequences with a top SCC", "", NAN, (double)a.nseq,
                                   AC_METRIC_INFO, 0.0, "");
    if (r)
        r->is_count = 1;
    r = ac_claim_add(res, "of which with two or more distinct top-SCC tokens", "", NAN, (double)a.nsoft,
                     AC_METRIC_INFO, 0.0, "");
    if (r)
        r->is_count = 1;
    return AC_OK;
}

/* ---- svm.norm-growth (spec §3.3) --------------------------------------- */

/* Least-squares slope of y against log t over the checkpoints with
 * t >= t_min. */
static double log_slope(const long *t, const double *y, int n, long t_min)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int m = 0;
    for (int c = 0; c < n; c++) {
        if (t[c] < t_min || t[c] <= 0)
            continue;
        double x = log((double)t[c]);
        sx += x, sy += y[c], sxx += x * x, sxy += x * y[c];
        m++;
    }
    return (m * sxy - sx * sy) / (m * sxx - sx * sx);
}

/* Relative slope error |b - ||W_svm||| / ||W_svm|| where b is the fitted
 * slope of ||W(t)|| against log t over the last decade of the run. */
#define NORM_FIT_FROM_FRACTION 10
/* Plain GD on a log-type loss: W(t) = W_svm log t + rho(t) with rho(t)
 * converging (Soudry et al. 2018, Thm 3 for separable logistic regression;
 * spec §3.3 reports ||W|| = ||W_svm|| log t + O(1)).  Over the last decade the
 * fitted slope then errs by (||rho(t2)|| - ||rho(t1)||)/log 10 plus the
 * projection effect of rho on the norm; 5% is our bound from that argument at
 * t2 = 2e4. */
#define TOL_NORM_SLOPE 0.05

static ac_status norm_trial(const ac_run_opts *o, int tr, const ac_svm_setup *su, ac_svm_gen_mode mode,
                            const ac_svm_train_settings *ts, double *ratio, double *err, ac_claim_result *res,
                            long *tcp, ac_msg *msg)
{
    int ncp = NCHECK + 1, dd = su->d * su->d;
    instance I;
    trajectory traj = {0};
    gsl_rng *r = NULL;
    ac_status st = run_trial(o, tr, su, mode, ts, &r, &I, &traj, res, msg);
    if (st == AC_OK) {
        double ns = ac_la_nrm2(I.th.Wsvm, dd), *wn = ratio;
        for (int c = 0; c < ncp; c++)
            wn[c] = ac_la_nrm2(traj.W + (size_t)c * dd, dd) / ns;
        /* in units of ||W_svm|| the predicted slope is exactly 1 */
        *err = fabs(log_slope(traj.t, wn, ncp, ts->steps / NORM_FIT_FROM_FRACTION) - 1.0);
        memcpy(tcp, traj.t, sizeof(long) * (size_t)ncp);
    }
    trajectory_free(&traj);
    instance_free(&I);
    gsl_rng_free(r);
    return st;
}

static ac_status claim_norm_growth(const ac_run_opts *o, ac_claim_result *res, ac_msg *msg)
{
    ac_svm_setup gd, su[2];
    ac_svm_claim_setup("plain-gd", o->size, &gd);
    ac_svm_claim_setup("acyclic", o->size, &su[0]);
    ac_svm_claim_setup("cyclic", o->size, &su[1]);
    int ncp = NCHECK + 1, T = gd.trials;
    double *ratio = calloc((size_t)2 * T * ncp + 2 * T, sizeof(double));
    long *tcp = malloc(sizeof(long) * (size_t)ncp);
    if (!ratio || !tcp) {
        free(ratio), free(tcp);
        return ac_fail(msg, AC_ENOMEM, "no memory");
    }
    double *err = ratio + (size_t)2 * T * ncp;
    ac_svm_train_settings ts;
    ac_svm_train_settings_default(&ts);
    ts.steps = gd.steps;
    ts.lr = gd.lr;
    ts.normalized = 0;
    ts.head = AC_SVM_HEAD_IDENTITY;
    ac_status st = AC_OK;
    for (int m = 0; m < 2 && st == AC_OK; m++)
        for (int tr = 0; tr < T && st == AC_OK; tr++) {
            st = norm_trial(o, tr, &su[m], m == 0 ? AC_SVM_GEN_ACYCLIC : AC_SVM_GEN_CYCLIC, &ts,
                            ratio + ((size_t)m * T + tr) * ncp, &err[m * T + tr], res, tcp, msg);
            if (st == AC_OK && progress(o, res->id, (m * T + tr + 1.0) / (2 * T)) < 0)
                st = AC_ECALLBACK;
        }
    if (st == AC_OK) {
        snprintf(res->setup, sizeof res->setup,
                 "plain GD, lr %g, %d steps, on the acyclic (n=%d T=%d K=%d d=%d) and cyclic (n=%d T=%d K=%d "
                 "d=%d) instances, %d trials each, seeds %lu+i; slope of ||W(t)|| against log t fitted over "
                 "t >= %d",
                 gd.lr, gd.steps, su[0].n, su[0].T, su[0].K, su[0].d, su[1].n, su[1].T, su[1].K, su[1].d, T,
                 o->seed, gd.steps / NORM_FIT_FROM_FRACTION);
        const char *why = "W(t) = W_svm log t + rho(t), rho converging (Soudry et al. 2018): the slope over "
                          "the last decade errs by the change of rho / log 10";
        for (int m = 0; m < 2; m++) {
            char q[160];
            stats s = stats_of(err + m * T, T);
            snprintf(q, sizeof q, "%s: mean |slope/||W_svm|| - 1|", m == 0 ? "acyclic" : "cyclic");
            ac_claim_add(res, q, "0 (||W(t)|| ~ ||W_svm|| log t)", 0.0, s.mean, AC_METRIC_AT_MOST,
                         TOL_NORM_SLOPE, why);
            snprintf(q, sizeof q, "%s: worst |slope/||W_svm|| - 1|", m == 0 ? "acyclic" : "cyclic");
            ac_claim_add(res, q, "0", 0.0, s.max, AC_METRIC_AT_MOST, 2 * TOL_NORM_SLOPE,
                         "twice the mean bound: rho(t) converges more slowly on some instances");
        }
        ac_figure *f = ac_claim_add_figure(res, "svm-norm-growth", "||W(t)|| / ||W_svm|| under plain GD",
                                           "step t", "||W(t)|| / ||W_svm||", 1, 0);
        if (f) {
            add_band(f, "acyclic (mean, min-max)", tcp, ratio, T, ncp, 1);
            add_band(f, "cyclic (mean, min-max)", tcp, ratio + (size_t)T * ncp, T, ncp, 1);
            /* the theory's slope: 1 per unit of log t, anchored at the
             * acyclic mean at the end of the run */
            double x[2], y[2], end = 0.0;
            for (int i = 0; i < T; i++)
                end += ratio[(size_t)i * ncp + ncp - 1] / T;
            x[0] = (double)tcp[ncp - 1] / NORM_FIT_FROM_FRACTION / 10.0;
            x[1] = (double)tcp[ncp - 1];
            y[0] = end - log(x[1] / x[0]);
            y[1] = end;
            ac_figure_add_series(f, "theory slope ||W_svm|| per unit log t", 2, x, y, NULL, NULL);
        }
    }
    free(ratio), free(tcp);
    return st;
}

/* ---- svm.local-head (spec §4.4) ----------------------------------------- */

/* The authors' selection thresholds (spec §4.4): a token is selected when
 * its attention mass exceeds 1e-2 and left out of the local graph when it is
 * in (9e-3, 1e-2]. */
#define LOCAL_SELECTED 1e-2
#define LOCAL_EXCLUDED 9e-3

/* The local dataset: for example i and each token a that GD selects, an
 * example with label a over the tokens of X_i that are not excluded (the
 * last token always kept: it names the graph).  Its Graph-SVM is the local
 * Graph-SVM.  This is the one place where the theory side takes an input
 * from the experiment: the local result is conditional on the selected set. */
static ac_status local_dataset(const instance *I, const double *W, ac_tpg_data **out)
{
    int K = I->K, n = I->D->n, nnew = 0, ntok = 0;
    double *mass = malloc(sizeof(double) * (size_t)K * n);
    if (!mass)
        return AC_ENOMEM;
    for (int i = 0; i < n; i++) {
        const int *tok = I->D->tok + I->D->off[i];
        int len = I->D->off[i + 1] - I->D->off[i];
        ac_svm_model_attention(tok, len, I->E, K, I->d, W, mass + (size_t)i * K);
        for (int j = 0; j < K; j++)
            if (mass[(size_t)i * K + j] > LOCAL_SELECTED)
                nnew++, ntok += len;
    }
    ac_tpg_data *L = ac_tpg_data_alloc(nnew, ntok, K);
    if (!L) {
        free(mass);
        return AC_ENOMEM;
    }
    int e = 0, p = 0;
    for (int i = 0; i < n; i++) {
        const int *tok = I->D->tok + I->D->off[i];
        int len = I->D->off[i + 1] - I->D->off[i];
        const double *mi = mass + (size_t)i * K;
        for (int a = 0; a < K; a++) {
            if (!(mi[a] > LOCAL_SELECTED))
                continue;
            for (int t = 0; t < len; t++) {
                double mt = mi[tok[t]];
                if (t == len - 1 || !(mt > LOCAL_EXCLUDED && mt <= LOCAL_SELECTED))
                    L->tok[p++] = tok[t];
            }
            L->label[e] = a;
            L->off[++e] = p;
        }
    }
    free(mass);
    *out = L;
    return AC_OK;
}

static ac_status local_svm(const ac_tpg_data *L, const double *E, int d, double *W, ac_msg *msg)
{
    ac_tpg *G = NULL;
    ac_tpg_cons C = {0};
    ac_qp_info info;
    ac_tpg_svm_settings ss;
    ac_tpg_svm_settings_default(&ss);
    ac_status st = ac_tpg_build(L, &G, msg);
    if (st == AC_OK)
        st = ac_tpg_constraints(G, &C, msg);
    if (st == AC_OK)
        st = ac_tpg_svm(G, &C, E, d, &ss, W, NULL, NULL, &info, msg);
    if (st == AC_OK && info.status != AC_QP_SOLVED)
        st = ac_fail(msg, AC_ENOCONV, "local Graph-SVM solve ended %s", ac_qp_status_str(info.status));
    ac_tpg_cons_clear(&C);
    ac_tpg_free(G);
    return st;
}

static ac_status claim_local_head(const ac_run_opts *o, ac_claim_result *res, ac_msg *msg)
{
    ac_svm_setup su;
    ac_svm_claim_setup("local", o->size, &su);
    int T = su.trials, dd = su.d * su.d;
    double *cl = calloc((size_t)T * 2, sizeof(double)), *cg = cl ? cl + T : NULL;
    double *Wl = malloc(sizeof(double) * (size_t)dd);
    if (!cl || !Wl) {
        free(cl), free(Wl);
        return ac_fail(msg, AC_ENOMEM, "no memory");
    }
    ac_svm_train_settings ts;
    ac_svm_train_settings_default(&ts);
    ts.steps = su.steps;
    ts.lr = su.lr;
    ts.normalized = 1;
    ts.head = AC_SVM_HEAD_GENERAL_LSQ;
    ac_status st = AC_OK;
    for (int tr = 0; tr < T && st == AC_OK; tr++) {
        instance I;
        trajectory traj = {0};
        ac_tpg_data *L = NULL;
        gsl_rng *r = NULL;
        st = run_trial(o, tr, &su, AC_SVM_GEN_CYCLIC, &ts, &r, &I, &traj, res, msg);
        double t2 = ac_clock();
        const double *Wend = traj.W ? traj.W + (size_t)NCHECK * dd : NULL;
        if (st == AC_OK)
            st = local_dataset(&I, Wend, &L);
        if (st == AC_OK)
            st = local_svm(L, I.E, I.d, Wl, msg);
        res->theory_seconds += ac_clock() - t2; /* the local Graph-SVM */
        if (st == AC_OK) {
            cl[tr] = ac_la_corr(Wend, Wl, dd);
            cg[tr] = ac_la_corr(Wend, I.th.Wsvm, dd);
        }
        ac_tpg_data_free(L);
        trajectory_free(&traj);
        instance_free(&I);
        gsl_rng_free(r);
        if (st == AC_OK && progress(o, res->id, (tr + 1.0) / T) < 0)
            st = AC_ECALLBACK;
    }
    if (st == AC_OK) {
        setup_text(res, "cyclic TPGs", &su, "cyclic", o->seed,
                   "general head E X^T s with loss (1 - softmax_y)^2, NGD lr %g, %d steps; selected tokens: "
                   "attention > %g",
                   su.lr, su.steps, LOCAL_SELECTED);
        stats sl = stats_of(cl, T), sg = stats_of(cg, T);
        ac_claim_add(res, "mean corr(W, local Graph-SVM from the selected tokens)", "1", 1.0, sl.mean,
                     AC_METRIC_AT_LEAST, TOL_LOCAL, "spec 4.4 Accept (ours, from the authors' outputs)");
        ac_claim_add(res, "mean corr(W, local) - mean corr(W, Graph-SVM from the labels)",
                     "> 0 (the labels' Graph-SVM does not predict GD)", 0.0, sl.mean - sg.mean,
                     AC_METRIC_AT_LEAST, 0.0, "spec 4.4 Accept: strictly above");
        ac_claim_add(res, "mean corr(W, Graph-SVM from the labels)", "", NAN, sg.mean, AC_METRIC_INFO, 0.0,
                     "shown for comparison");
        ac_claim_add(res, "worst-trial corr(W, local Graph-SVM)", "1", 1.0, sl.min, AC_METRIC_INFO, 0.0, "");
    }
    free(cl), free(Wl);
    return st;
}

/* ---- svm.high-precision (spec §7) --------------------------------------- */

/* The grid s = 2^0 .. 2^HP_GRID_LOG2 along W_fin + s W_svm: past s ~ 37 the
 * double softmax gives the top SCC mass exactly 1 and the loss's decrease is
 * below one ulp of L_inf; by s = 1024 exp(-s) is far below DBL_MIN. */
#define HP_GRID_LOG2 10
#define HP_NGRID (HP_GRID_LOG2 + 1)

/* W_svm gives the tokens of one SCC equal logits (its equality constraints);
 * E W_svm E^T in double keeps that only to ~1e-15, which s = 1024 turns into
 * within-SCC logit gaps of 1e-12: far above the e^{-s} effect under test.
 * Set each SCC's entries to the value of its smallest token, exactly. */
static void snap_equalities(const ac_tpg *G, double *U1)
{
    int K = G->K;
    for (int g = 0; g < G->ngraph; g++) {
        int k = G->last[g];
        for (int j = 0; j < K; j++)
            for (int a = 0; a < j; a++)
                if (G->comp[(size_t)g * K + a] == G->comp[(size_t)g * K + j]) {
                    U1[(size_t)j * K + k] = U1[(size_t)a * K + k];
                    break;
                }
    }
}

/* Digits the double x shares with the exact value v: -log10 |x - v| / |v|,
 * computed at v's precision, within [0, 17]. */
static double digits_mp(double x, const mpfr_t v)
{
    if (mpfr_zero_p(v))
        return x == 0.0 ? 17.0 : 0.0;
    mpfr_t e;
    mpfr_init2(e, 64);
    mpfr_d_sub(e, x, v, MPFR_RNDN);
    mpfr_div(e, e, v, MPFR_RNDN);
    mpfr_abs(e, e, MPFR_RNDN);
    double r = 17.0;
    if (!mpfr_zero_p(e)) {
        mpfr_log10(e, e, MPFR_RNDN);
        r = -mpfr_get_d(e, MPFR_RNDN);
    }
    mpfr_clear(e);
    /* digits are a coarse measure: to one decimal, so that rounding noise
     * around 0 or 17 does not read as a change */
    return round(10.0 * fmin(17.0, fmax(0.0, r))) / 10.0;
}

typedef struct {
    double s[HP_NGRID], Lmp[HP_NGRID], gmp[HP_NGRID], Ld[HP_NGRID], gd[HP_NGRID];
    double dig_L[HP_NGRID], dig_g[HP_NGRID];
    int mp_nondecr, mp_nonneg, d_nondecr;
    double first_flat;   /* smallest s where the double L stops decreasing */
    double err_ratio;    /* worst |L_d - L_mp| / rounding bound */
    long prec;
} hp_line;

/* L and dL/ds along U0 + s U1 in double and at prec bits, for one instance.
 * The double bound: every per-example loss is a log-sum-exp of at most
 * T + 1 terms of size <= max|U(s)| + log T, each rounded at DBL_EPSILON, so
 * |L_d - L_mp| <= 32 DBL_EPSILON (1 + max|U(s)| + log T) T. */
static ac_status hp_trace(const instance *I, hp_line *h)
{
    int K = I->K, Tmax = 1;
    double *U = malloc(sizeof(double) * (size_t)K * K * 2), u1max = 0.0, u0max = 0.0;
    if (!U)
        return AC_ENOMEM;
    double *U1 = U + (size_t)K * K;
    ac_tpg_token_logits(I->E, K, I->d, I->th.Wfin, U);
    ac_tpg_token_logits(I->E, K, I->d, I->th.Wsvm, U1);
    snap_equalities(I->th.G, U1);
    for (int i = 0; i < K * K; i++) {
        u0max = fmax(u0max, fabs(U[i]));
        u1max = fmax(u1max, fabs(U1[i]));
    }
    for (int i = 0; i < I->D->n; i++)
        Tmax = I->D->off[i + 1] - I->D->off[i] > Tmax ? I->D->off[i + 1] - I->D->off[i] : Tmax;
    double smax = ldexp(1.0, HP_GRID_LOG2);
    /* resolve e^{-2 s max|U1|} below L_inf: 2 s max|U1| / ln 2 bits, plus a
     * double's 53 and a margin of 64 */
    h->prec = 117 + (long)ceil(2.0 * smax * u1max / log(2.0));
    mpfr_t L, g, prev;
    mpfr_init2(L, (mpfr_prec_t)h->prec);
    mpfr_init2(g, (mpfr_prec_t)h->prec);
    mpfr_init2(prev, (mpfr_prec_t)h->prec);
    ac_status st = AC_OK;
    h->err_ratio = 0.0;
    for (int j = 0; j < HP_NGRID && st == AC_OK; j++) {
        double s = ldexp(1.0, j);
        h->s[j] = s;
        st = ac_tpg_loss_line_mpfr(I->D, U, U1, s, I->D->n, L, g, &h->Lmp[j], &h->gmp[j], (mpfr_prec_t)h->prec);
        if (st == AC_OK)
            st = ac_tpg_loss_line(I->D, U, U1, s, I->D->n, &h->Ld[j], &h->gd[j]);
        if (st != AC_OK)
            break;
        h->dig_L[j] = digits_mp(h->Ld[j], L);
        h->dig_g[j] = digits_mp(h->gd[j], g);
        double bound = 32.0 * DBL_EPSILON * (1.0 + u0max + s * u1max + log(Tmax)) * Tmax;
        h->err_ratio = fmax(h->err_ratio, fabs(h->Ld[j] - h->Lmp[j]) / bound);
        if (mpfr_sgn(g) >= 0)
            h->mp_nonneg++;
        if (j > 0) {
            /* compared at prec bits: the values differ below double resolution */
            h->mp_nondecr += mpfr_cmp(L, prev) >= 0;
            if (!(h->Ld[j] < h->Ld[j - 1])) {
                h->d_nondecr++;
                if (isnan(h->first_flat))
                    h->first_flat = s;
            }
        }
        mpfr_set(prev, L, MPFR_RNDN);
    }
    mpfr_clear(L);
    mpfr_clear(g);
    mpfr_clear(prev);
    free(U);
    return st;
}

static void hp_rows(ac_claim_result *res, const char *mode, const hp_line *h)
{
    char q[200];
    ac_claim_row *r;
    snprintf(q, sizeof q, "%s: grid steps where the %ld-bit L(W_fin + s W_svm) does not decrease", mode, h->prec);
    r = ac_claim_add(res, q, "0 (L decreases in s: W_svm has margin >= 1)", 0.0, h->mp_nondecr, AC_METRIC_AT_MOST,
                     0.0, "exact: compared at a precision that resolves e^{-2 s max|U_svm|}");
    if (r)
        r->is_count = 1;
    snprintf(q, sizeof q, "%s: grid points where the %ld-bit dL/ds >= 0", mode, h->prec);
    r = ac_claim_add(res, q, "0 (dL/ds < 0)", 0.0, h->mp_nonneg, AC_METRIC_AT_MOST, 0.0, "exact, as above");
    if (r)
        r->is_count = 1;
    snprintf(q, sizeof q, "%s: worst |L_double - L_mpfr| / rounding bound", mode);
    ac_claim_add(res, q, "0 (the double code is right to rounding)", 0.0, h->err_ratio, AC_METRIC_AT_MOST, 1.0,
                 "the rounding bound 32 eps (1 + max|U(s)| + log T) T of log-sum-exps of T terms");
    snprintf(q, sizeof q, "%s: grid steps where the double L does not decrease", mode);
    r = ac_claim_add(res, q, "", NAN, h->d_nondecr, AC_METRIC_INFO, 0.0, "where double saturates");
    if (r)
        r->is_count = 1;
    snprintf(q, sizeof q, "%s: smallest s where the double L stops decreasing", mode);
    ac_claim_add(res, q, "", NAN, h->first_flat, AC_METRIC_INFO, 0.0, "NaN: never on this grid");
    snprintf(q, sizeof q, "%s: digits of L the double keeps at s = %g", mode, h->s[HP_NGRID - 1]);
    ac_claim_add(res, q, "", NAN, h->dig_L[HP_NGRID - 1], AC_METRIC_INFO, 0.0, "");
    snprintf(q, sizeof q, "%s: digits of dL/ds the double keeps at s = %g", mode, h->s[HP_NGRID - 1]);
    ac_claim_add(res, q, "", NAN, h->dig_g[HP_NGRID - 1], AC_METRIC_INFO, 0.0,
                 "0 once exp(-s margin) underflows");
}

static ac_status claim_high_precision(const ac_run_opts *o, ac_claim_result *res, ac_msg *msg)
{
    ac_svm_setup su[2];
    ac_svm_claim_setup("acyclic", o->size, &su[0]);
    ac_svm_claim_setup("cyclic", o->size, &su[1]);
    const char *names[2] = {"acyclic", "cyclic"};
    hp_line h[2];
    ac_status st = AC_OK;
    for (int m = 0; m < 2 && st == AC_OK; m++) {
        instance I;
        gsl_rng *r = NULL;
        memset(&h[m], 0, sizeof h[m]);
        h[m].first_flat = NAN;
        st = run_trial(o, 0, &su[m], m == 0 ? AC_SVM_GEN_ACYCLIC : AC_SVM_GEN_CYCLIC, NULL, &r, &I, NULL, res,
                       msg);
        double t1 = ac_clock();
        if (st == AC_OK)
            st = hp_trace(&I, &h[m]); /* both evaluations: timed as the experiment side */
        res->empirical_seconds += ac_clock() - t1;
        instance_free(&I);
        gsl_rng_free(r);
    }
    if (st != AC_OK)
        return st;
    snprintf(res->setup, sizeof res->setup,
             "trial 0 of the acyclic (n=%d T=%d K=%d d=%d) and cyclic (n=%d T=%d K=%d d=%d) claims, seed %lu; "
             "s = 1, 2, 4, ..., %g; the 'experiment' is the double evaluation, the 'theory' the MPFR one",
             su[0].n, su[0].T, su[0].K, su[0].d, su[1].n, su[1].T, su[1].K, su[1].d, o->seed,
             ldexp(1.0, HP_GRID_LOG2));
    for (int m = 0; m < 2; m++)
        hp_rows(res, names[m], &h[m]);
    ac_figure *f = ac_claim_add_figure(res, "svm-high-precision", "digits the double evaluation keeps along W_fin + s W_svm",
                                       "s", "digits shared with MPFR", 1, 0);
    for (int m = 0; f && m < 2; m++) {
        char lab[64];
        snprintf(lab, sizeof lab, "%s: L", names[m]);
        ac_figure_add_series(f, lab, HP_NGRID, h[m].s, h[m].dig_L, NULL, NULL);
        snprintf(lab, sizeof lab, "%s: dL/ds", names[m]);
        ac_figure_add_series(f, lab, HP_NGRID, h[m].s, h[m].dig_g, NULL, NULL);
    }
    return AC_OK;
}

/* ---- the table ---------------------------------------------------------- */

const ac_claim_def ac_svm_claims[AC_SVM_NCLAIMS] = {
    {"svm.structure", "svm",
     "The Graph-SVM solution satisfies its constraints and KKT conditions, is orthogonal to S_fin; acyclic data "
     "have S_fin = {0}; the reduced-loss gradient lies in S_fin; the loss is convex (S1-S5)",
     claim_structure},
    {"svm.direction-acyclic", "svm",
     "On acyclic token-priority graphs, normalised GD's W(t) aligns with the Graph-SVM direction W_svm",
     claim_direction_acyclic},
    {"svm.direction-cyclic", "svm",
     "On cyclic token-priority graphs, W(t) aligns with W_svm, and W_fin + R W_svm describes it as well",
     claim_direction_cyclic},
    {"svm.finite-component", "svm",
     "The projection of W(t) on S_fin converges to the finite component W_fin, the minimiser of the reduced loss",
     claim_finite},
    {"svm.retrieval", "svm",
     "On held-out sequences attention retrieves the top SCC (hard retrieval) and splits its mass inside it as "
     "W_fin predicts (soft composition)",
     claim_retrieval},
    {"svm.norm-growth", "svm", "Under plain GD, ||W(t)|| grows like ||W_svm|| log t", claim_norm_growth},
    {"svm.local-head", "svm",
     "With a general head and squared loss, GD's direction is the Graph-SVM of the tokens it selects, not the "
     "one of the labels",
     claim_local_head},
    {"svm.high-precision", "svm",
     "Along W_fin + s W_svm the loss keeps decreasing in s where double precision saturates (MPFR), and the "
     "double evaluation is right to rounding",
     claim_high_precision},
};
