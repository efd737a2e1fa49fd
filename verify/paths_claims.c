/* The attention-paths claims (spec attention_paths §3.4, §3.7, §4.1).
 *
 * Every claim runs through the trial harness (verify/trial.h).  The theory
 * side is theory/paths.h (kernel, action, saddle point by ac_paths_solve,
 * predictor, the exact special cases); the experiment side of
 * paths.theory-vs-samples is the finite-width network sampled by blocked
 * Gibbs (verify/paths_gibbs.h), which never reads a theory output.  The
 * task is verify/paths_task.h's, drawn with the authors' seeds, so only the
 * sampler uses the trial's generator.  Rows are computed from the records
 * alone. */
#include "verify/paths_claims.h"

#include <float.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/minimize.h"
#include "theory/paths.h"
#include "verify/paths_gibbs.h"
#include "verify/paths_task.h"
#include "verify/trial.h"

#define STR_(x) #x
#define STR(x) STR_(x)

#define N0 AC_PATHS_MARKOV_N0
#define EPS DBL_EPSILON

/* ---- tolerances and constants, each with its reason ------------------- */

/* The spec's accuracy tables (§4.1) are printed to 3 decimals and the issue
 * asks to hold them there: |ours - table| <= 0.0005, i.e. the same count of
 * the 1000 test points (an accuracy is k/1000). */
#define TOL_TABLE 5e-4
/* The ordering FW(10) > FW(100) > FW(1000) > GP is judged on the 1000 test
 * points as a difference of paired accuracies that must exceed
 * ORDER_Z_RESOLVE paired standard errors (McNemar), i.e. be resolved by the
 * test set at about 2 sigma. */
#define ORDER_Z_RESOLVE 2.0
/* paths.gp-limit: the width at which the general solver is compared with
 * the GP values.  alpha = P/N = 1e-6: the energy's pull on U is then
 * O(1e-6) against an entropy curvature O(1), well above the solver's
 * stopping level below (so the solver has to travel) and far below 1 (so
 * the linearisation behind the bound holds). */
#define GP_WIDTH 1e8
/* Its stopping level on |grad S/n_max|_inf: at n_max = 1e8 the gradient is
 * O(1) entropy terms rounded at 1e-16; 1e-12 leaves x1e4 for them. */
#define GP_EPS_GRAD 1e-12
/* Central-difference step for the Hessian of S/n_max in theta: relative
 * error O(h^2) = 1e-8 of the curvature, the rounding of g (1e-16) over h
 * 1e-12: both negligible against the factor SECOND_ORDER. */
#define HESS_STEP 1e-4
/* The linearised distance bound |dtheta| <= (|g0| + |g*|)/lambda_min is
 * exact to first order; its second-order remainder is O(|dtheta|) relative
 * (about 1e-6 here): a factor 2 covers it and the O(h^2) of lambda_min. */
#define SECOND_ORDER 2.0
/* paths.closed-form: the solver's stopping level (as the unit test of
 * §6.3), and the three temperatures of the T -> 0 rate, as fractions of
 * u lambda_min(C) (the scale at which T enters the energy). */
#define CF_EPS_GRAD 1e-11
#define CF_T_RATIO0 1e-2
/* The error u(T) - u(0) is c T + O(T^2): between T and T/10 it falls by
 * 10 (1 + O(T / (u lambda_min))), within 1 % at the temperatures above;
 * REL 0.05 leaves room for the cubic's own rounding at the smallest T. */
#define CF_RATE_TOL 0.05
/* paths.theory-vs-samples: Monte-Carlo allowance in standard errors (ESS
 * based).  About 30 judged numbers at 3.5 sigma: a false alarm in about
 * 1.4 % of runs. */
#define MC_Z 3.5
/* The saddle point replaces the Wishart exponent (n - D - 1) by n (§1):
 * its O(1/N) error is estimated as the theory's own change when the width
 * moves by D_1 + 1 (D_1 = H^L, the largest order parameter).  The
 * neglected Gaussian fluctuations about the saddle are of the same order;
 * the factor 1 takes the estimate at face value. */
#define FS_FACTOR 1.0
/* paths.kernel-combination: eigenvectors of the P x P kernels are computed
 * to eps ||K|| / gap; the overlaps and the alignment are sums of P products
 * of them: 1e-9 is far above that rounding for gaps above 1e-5 ||K||. */
#define TOL_EIG 1e-9
/* PCs shown in Fig. 2d (spec §4.1). */
#define NPC 30

/* ---- setups ------------------------------------------------------------ */

void ac_paths_claim_setup_of(ac_size size, ac_paths_claim_setup *s)
{
    static const double widths[AC_PATHS_CLAIM_NWIDTH] = {10, 30, 50, 100, 300, 500, 1000};
    memset(s, 0, sizeof *s);
    if (size == AC_SIZE_QUICK) {
        s->nwidth = 3;
        s->width[0] = 10, s->width[1] = 100, s->width[2] = 1000;
    } else {
        s->nwidth = AC_PATHS_CLAIM_NWIDTH;
        memcpy(s->width, widths, sizeof widths);
    }
    s->test_stride = size == AC_SIZE_QUICK ? 10 : 1;
    if (size == AC_SIZE_QUICK) {
        s->gibbs_chains = 2, s->gibbs_burn = 10, s->gibbs_keep = 20, s->gibbs_test_stride = 10;
    } else if (size == AC_SIZE_DEFAULT) {
        /* fits the module's minute of `make results` (N = 100 is ~10 ms a
         * chain sweep on one core); ESS of U_1 ~ 0.5 per draw at N = 100 */
        s->gibbs_chains = 4, s->gibbs_burn = 100, s->gibbs_keep = 300, s->gibbs_test_stride = 5;
    } else {
        /* spec §6: drop ~200, keep ~500 per chain; more at N = 10, where
         * U_1 decorrelates over ~100 sweeps, is the paper size's job */
        s->gibbs_chains = 4, s->gibbs_burn = 1000, s->gibbs_keep = 5000, s->gibbs_test_stride = 1;
    }
}

static ac_paths_claim_setup setup_of(ac_size size)
{
    ac_paths_claim_setup s;
    ac_paths_claim_setup_of(size, &s);
    return s;
}

/* ---- measurements -------------------------------------------------------- */

double ac_paths_paired_se(double b, double c, double n)
{
    if (n < 1)
        return 0.0;
    double v = b + c - (b - c) * (b - c) / n;
    return sqrt(v > 0 ? v : 0.0) / n;
}

ac_status ac_paths_kernel_alignment(int P, const double *K, const double *Y, int nk,
                                    double *overlap, double *kta)
{
    gsl_matrix *A = gsl_matrix_alloc((size_t)P, (size_t)P);
    gsl_matrix *V = gsl_matrix_alloc((size_t)P, (size_t)P);
    gsl_vector *ev = gsl_vector_alloc((size_t)P);
    gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc((size_t)P);
    ac_status st = AC_OK;
    if (!A || !V || !ev || !ws) {
        st = AC_ENOMEM;
        goto out;
    }
    double fro = 0.0, yky = 0.0;
    for (int i = 0; i < P; i++)
        for (int j = 0; j < P; j++) {
            double k = K[(size_t)i * P + j];
            gsl_matrix_set(A, (size_t)i, (size_t)j, k);
            fro += k * k;
            yky += Y[i] * k * Y[j];
        }
    *kta = yky / (P * sqrt(fro));
    if (gsl_eigen_symmv(A, ev, V, ws) != GSL_SUCCESS) {
        st = AC_ENUMERIC;
        goto out;
    }
    gsl_eigen_symmv_sort(ev, V, GSL_EIGEN_SORT_VAL_DESC);
    for (int k = 0; k < nk && k < P; k++) {
        double d = 0.0;
        for (int i = 0; i < P; i++)
            d += gsl_matrix_get(V, (size_t)i, (size_t)k) * Y[i];
        overlap[k] = fabs(d) / sqrt((double)P);
    }
out:
    gsl_matrix_free(A);
    gsl_matrix_free(V);
    gsl_vector_free(ev);
    gsl_eigen_symmv_free(ws);
    return st;
}

/* ---- the Markov task of a network -------------------------------------- */

typedef struct {
    ac_paths_markov_net net;
    ac_paths_settings s;                              /* widths set per solve */
    ac_paths_markov_head heads[AC_PATHS_MARKOV_MAX_HEADS];
    ac_paths_markov_data tr, te;                      /* te: the kept test points */
    int np;
    double *Phi, *Phit;                               /* P x N0 x np, Pt x N0 x np */
} task;

static void task_clear(task *k)
{
    ac_paths_markov_data_clear(&k->tr);
    ac_paths_markov_data_clear(&k->te);
    free(k->Phi);
    free(k->Phit);
    memset(k, 0, sizeof *k);
}

/* The train set and every stride-th test point of §4.1 (sigma_perp for both)
 * with the path tensors of net.  The test set is drawn whole (its draws are
 * what they are) and thinned after. */
static ac_status task_init(task *k, ac_paths_markov_net net, double sigma_perp, int stride, ac_msg *msg)
{
    memset(k, 0, sizeof *k);
    k->net = net;
    if (!ac_paths_markov_network(net, 1.0, &k->s, k->heads))
        return ac_fail(msg, AC_EINVAL, "unknown network %d", (int)net);
    k->np = ac_paths_count(&k->s);
    ac_paths_markov_settings tr, te;
    ac_paths_markov_settings_default(&tr);
    tr.sigma_perp = sigma_perp;
    te = tr;
    te.per_class = AC_PATHS_MARKOV_P_TEST / 2;
    te.seed = AC_PATHS_MARKOV_SEED_TEST;
    ac_status st = ac_paths_markov_data_init(&k->tr, &tr, msg);
    if (st == AC_OK)
        st = ac_paths_markov_data_init(&k->te, &te, msg);
    if (st != AC_OK) {
        task_clear(k);
        return st;
    }
    size_t ex = (size_t)N0 * AC_PATHS_MARKOV_NTOK;
    int Pt = 0;
    for (int m = 0; m < k->te.P; m += stride, Pt++) {
        memmove(k->te.X + (size_t)Pt * ex, k->te.X + (size_t)m * ex, sizeof(double) * ex);
        k->te.Y[Pt] = k->te.Y[m];
    }
    k->te.P = Pt;
    k->Phi = malloc(sizeof(double) * (size_t)k->tr.P * N0 * k->np);
    k->Phit = malloc(sizeof(double) * (size_t)Pt * N0 * k->np);
    if (!k->Phi || !k->Phit)
        st = ac_fail(msg, AC_ENOMEM, "no memory for the path tensors");
    if (st == AC_OK)
        st = ac_paths_markov_phi(&k->s, k->heads, &k->tr, k->Phi, msg);
    if (st == AC_OK)
        st = ac_paths_markov_phi(&k->s, k->heads, &k->te, k->Phit, msg);
    if (st != AC_OK)
        task_clear(k);
    return st;
}

/* A workspace for the task at width N (every width N; the net's heads). */
static ac_paths_workspace *task_workspace(task *k, double N, ac_msg *msg)
{
    ac_paths_markov_network(k->net, N, &k->s, k->heads); /* every width N, sigma^2 = 1, T */
    ac_paths_workspace *w = ac_paths_alloc(&k->s, k->tr.P, N0);
    if (!w) {
        ac_fail(msg, AC_ENOMEM, "no workspace at width %g", N);
        return NULL;
    }
    if (ac_paths_set_data(w, k->Phi, k->tr.Y, msg) != AC_OK) {
        ac_paths_free(w);
        return NULL;
    }
    return w;
}

/* The theory at width N (N = 0: the GP limit, U = ac_paths_gp_u): U (the
 * saddle point from the GP start, eps_grad 0 = the default), the predictor's
 * mean and variance on the kept test points (var may be NULL), and how the
 * solve ended (info, may be NULL; zeroed for the GP limit). */
static ac_status task_theory(task *k, double N, double *U, double *mean, double *var, ac_paths_info *info,
                             ac_msg *msg)
{
    ac_paths_workspace *w = task_workspace(k, N > 0 ? N : 1.0, msg);
    if (!w)
        return AC_ENOMEM;
    ac_paths_gp_u(&k->s, U);
    ac_paths_info inf;
    memset(&inf, 0, sizeof inf);
    inf.min.status = AC_MIN_CONVERGED;
    ac_status st = AC_OK;
    if (N > 0)
        st = ac_paths_solve(w, NULL, U, &inf, msg);
    if (info)
        *info = inf;
    if (st == AC_OK)
        st = ac_paths_predict(w, U + ac_paths_u_offset(&k->s, 1), k->te.P, k->Phit, mean, var, msg);
    ac_paths_free(w);
    return st;
}

/* Fraction of the Pt points with sign(mean) = y (mean 0 counts as wrong). */
static double accuracy(int Pt, const double *mean, const double *y)
{
    int ok = 0;
    for (int m = 0; m < Pt; m++)
        ok += mean[m] * y[m] > 0.0;
    return Pt > 0 ? (double)ok / Pt : NAN;
}

static double mean_of(int n, const double *x)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return n > 0 ? s / n : NAN;
}

/* ---- small row helpers --------------------------------------------------- */

static void add_count(ac_claim_result *res, const char *quantity, double v, const char *why)
{
    ac_claim_row *r = ac_claim_add(res, quantity, "", NAN, v, AC_METRIC_INFO, 0.0, why);
    if (r)
        r->is_count = 1;
}

static const char *fmt(char *buf, size_t n, const char *f, ...) __attribute__((format(printf, 3, 4)));
static const char *fmt(char *buf, size_t n, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, n, f, ap);
    va_end(ap);
    return buf;
}

static int trials_one(const ac_run_opts *o)
{
    (void)o;
    return 1;
}

/* ==== paths.accuracy-vs-width (§4.1 tables, Fig. 2c, 2e) ==================== */

/* Trial i: one network of §4.1. */
static const ac_paths_markov_net acc_net[4] = {AC_PATHS_NET_FOUR_PATHS, AC_PATHS_NET_FIG2E, AC_PATHS_NET_GOOD_PATH,
                                               AC_PATHS_NET_GOOD_DENOISE};
static const double acc_sigma_perp[4] = {1.0, 5.0, 1.0, 1.0};
static const char *const acc_name[4] = {"4 paths", "Fig. 2e (2 paths, sigma_perp = 5)", "good path only",
                                        "good + denoising paths"};

/* The spec's §4.1 numbers [run: the authors' code on the same draws]: the
 * accuracy tables (widths 10 .. 1000, then GP), the GP lines of Fig. 2c and
 * the good path alone at N = 1000 (§3.7). */
static const double ref_four[AC_PATHS_CLAIM_NWIDTH + 1] = {0.964, 0.961, 0.945, 0.911, 0.855, 0.840, 0.834, 0.826};
static const double ref_fig2e[AC_PATHS_CLAIM_NWIDTH + 1] = {0.957, 0.955, 0.954, 0.925, 0.881, 0.862, 0.857, 0.843};
#define REF_GOOD_GP 0.940
#define REF_GOOD_1000 0.924
#define REF_GOOD_DENOISE_GP 0.955

/* The widths a trial of network i solves at. */
static int acc_widths(int i, const ac_paths_claim_setup *su, double *N)
{
    if (i <= 1) {
        memcpy(N, su->width, sizeof(double) * (size_t)su->nwidth);
        return su->nwidth;
    }
    if (i == 2) {
        N[0] = 1000;
        return 1;
    }
    return 0;
}

/* The ordering chain FW(10) > FW(100) > FW(1000) > GP. */
static const double order_N[3] = {10, 100, 1000};

static int trials_acc(const ac_run_opts *o)
{
    (void)o;
    return 4;
}

/* Records: "N", "acc" (per width), "acc_gp", "conv" (1 when the solve
 * converged, per width), "grad" (its |grad|_inf); network 0 and 1 also
 * "disc": for the consecutive pairs of the ordering chain, the points right
 * under the first and wrong under the second, then the reverse. */
static ac_status trial_acc(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    ac_paths_claim_setup su = setup_of(o->size);
    int i = t->index;
    double N[AC_PATHS_CLAIM_NWIDTH];
    int nw = acc_widths(i, &su, N);
    task k;
    ac_status st = task_init(&k, acc_net[i], acc_sigma_perp[i], su.test_stride, msg);
    if (st != AC_OK)
        return st;
    int Pt = k.te.P;
    double *U = malloc(sizeof(double) * ac_paths_u_size(&k.s));
    double *mean = malloc(sizeof(double) * (size_t)Pt * (nw + 1));
    double acc[AC_PATHS_CLAIM_NWIDTH + 1], conv[AC_PATHS_CLAIM_NWIDTH], grad[AC_PATHS_CLAIM_NWIDTH];
    if (!U || !mean)
        st = ac_fail(msg, AC_ENOMEM, "no memory for the predictor");
    ac_trial_enter(t, AC_TRIAL_THEORY);
    for (int j = 0; j <= nw && st == AC_OK; j++) {
        ac_paths_info info = {0};
        st = task_theory(&k, j < nw ? N[j] : 0.0, U, mean + (size_t)j * Pt, NULL, &info, msg);
        acc[j] = accuracy(Pt, mean + (size_t)j * Pt, k.te.Y);
        if (j < nw) {
            conv[j] = info.min.status == AC_MIN_CONVERGED;
            grad[j] = info.min.grad_norm;
        }
    }
    ac_trial_enter(t, AC_TRIAL_OTHER);
    if (st == AC_OK) {
        ac_trial_put(t->rec, "N", nw, N);
        ac_trial_put(t->rec, "acc", nw, acc);
        ac_trial_put1(t->rec, "acc_gp", acc[nw]);
        ac_trial_put(t->rec, "conv", nw, conv);
        ac_trial_put(t->rec, "grad", nw, grad);
        if (i <= 1) {
            /* columns of the chain: three widths, then GP (column nw) */
            int col[4] = {-1, -1, -1, nw};
            for (int c = 0; c < 3; c++)
                for (int j = 0; j < nw; j++)
                    if (N[j] == order_N[c])
                        col[c] = j;
            double disc[6];
            for (int p = 0; p < 3; p++) {
                int b = 0, c = 0;
                const double *ma = mean + (size_t)col[p] * Pt, *mb = mean + (size_t)col[p + 1] * Pt;
                for (int m = 0; m < Pt; m++) {
                    int ra = ma[m] * k.te.Y[m] > 0, rb = mb[m] * k.te.Y[m] > 0;
                    b += ra && !rb;
                    c += rb && !ra;
                }
                disc[2 * p] = b, disc[2 * p + 1] = c;
            }
            ac_trial_put(t->rec, "disc", 6, disc);
        }
        ac_trial_put1(t->rec, "ntest", Pt);
    }
    free(U);
    free(mean);
    task_clear(&k);
    return st;
}

/* The table value for width N of a 7-entry reference, or NaN. */
static double ref_at(const double *ref, double N)
{
    static const double widths[AC_PATHS_CLAIM_NWIDTH] = {10, 30, 50, 100, 300, 500, 1000};
    for (int j = 0; j < AC_PATHS_CLAIM_NWIDTH; j++)
        if (widths[j] == N)
            return ref[j];
    return NAN;
}

static ac_status rows_acc(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)msg;
    ac_paths_claim_setup su = setup_of(o->size);
    char q[AC_CLAIM_TEXT], w[AC_CLAIM_TEXT];
    snprintf(res->setup, sizeof res->setup,
             "spec 4.1 Markov task: P = %d train (seed %lu), %d test (seed %lu), N0 = %d, %d tokens, T = %g, all "
             "sigma^2 = 1, random heads seeds %lu, %lu; %d widths from %g to %g; saddle point by BFGS from the GP "
             "values to |grad S/N|_inf <= %g; accuracy of the sign of the mean predictor",
             AC_PATHS_MARKOV_P_TRAIN, AC_PATHS_MARKOV_SEED_TRAIN, AC_PATHS_MARKOV_P_TEST,
             AC_PATHS_MARKOV_SEED_TEST, N0, AC_PATHS_MARKOV_NTOK, AC_PATHS_MARKOV_T, AC_PATHS_MARKOV_SEED_RANDOM1,
             AC_PATHS_MARKOV_SEED_RANDOM2, su.nwidth, su.width[0], su.width[su.nwidth - 1],
             AC_MIN_EPS_GRAD_DEFAULT);
    const char *tr = "3 decimals as the issue asks (the count of 1000 test points); the table is the authors' "
                     "code on the same draws [run]";
    const char *thin = "not judged: the table needs all 1000 test points, this size keeps every 10th";
    double nconv_fail = 0.0;
    for (int i = 0; i < set->nrec && i < 4; i++) {
        const ac_trial_record *rec = &set->rec[i];
        const ac_trial_vec *vN = ac_trial_get(rec, "N");
        int nw = vN ? vN->n : 0;
        /* the table is judged on the whole test set only */
        int whole = ac_trial_get1(rec, "ntest", 0) == AC_PATHS_MARKOV_P_TEST;
        ac_metric mt = whole ? AC_METRIC_ABS : AC_METRIC_INFO;
        for (int j = 0; j < nw; j++) {
            double Nj = vN->v[j], a = ac_trial_get1(rec, "acc", j);
            nconv_fail += ac_trial_get1(rec, "conv", j) != 1.0;
            double ref = i == 0 ? ref_at(ref_four, Nj) : i == 1 ? ref_at(ref_fig2e, Nj) : REF_GOOD_1000;
            ac_claim_add(res, fmt(q, sizeof q, "accuracy, %s, N = %g", acc_name[i], Nj), "spec 4.1 table", ref, a,
                         mt, TOL_TABLE, whole ? tr : thin);
        }
        double ref_gp = i == 0   ? ref_four[AC_PATHS_CLAIM_NWIDTH]
                        : i == 1 ? ref_fig2e[AC_PATHS_CLAIM_NWIDTH]
                        : i == 2 ? REF_GOOD_GP
                                 : REF_GOOD_DENOISE_GP;
        ac_claim_add(res, fmt(q, sizeof q, "accuracy, %s, GP limit", acc_name[i]),
                     i <= 1 ? "spec 4.1 table" : "spec 4.1 GP line of Fig. 2c", ref_gp,
                     ac_trial_get1(rec, "acc_gp", 0), mt, TOL_TABLE, whole ? tr : thin);
        if (i > 1)
            continue;
        /* the ordering, each step resolved by the paired test points */
        double n = ac_trial_get1(rec, "ntest", 0);
        const char *lab[4] = {"FW(10)", "FW(100)", "FW(1000)", "GP"};
        for (int p = 0; p < 3; p++) {
            double b = ac_trial_get1(rec, "disc", 2 * p), c = ac_trial_get1(rec, "disc", 2 * p + 1);
            double se = ac_paths_paired_se(b, c, n);
            snprintf(w, sizeof w, "> 0, resolved: %g paired SE (%g and %g discordant points)", ORDER_Z_RESOLVE, b, c);
            ac_claim_add(res, fmt(q, sizeof q, "ordering, %s: %s - %s", acc_name[i], lab[p], lab[p + 1]), w,
                         ORDER_Z_RESOLVE * se, (b - c) / n, whole ? AC_METRIC_AT_LEAST : AC_METRIC_INFO, 0.0,
                         !whole ? thin : "the difference of paired accuracies on the same test points must exceed " STR(
                             ORDER_Z_RESOLVE) " McNemar standard errors sqrt(b + c - (b - c)^2/n)/n");
        }
    }
    ac_claim_add(res, "widths whose saddle-point solve did not converge", "0", 0.0, nconv_fail, AC_METRIC_AT_MOST,
                 0.0, "exact: a theory number is the saddle point only where the gradient test passed");
    /* figure: theory lines, the spec's tables, GP lines */
    ac_figure *f = ac_claim_add_figure(res, "paths-accuracy-vs-width",
                                       "Markov task: theory accuracy of the mean predictor against width", "width N",
                                       "test accuracy", 1, 0);
    for (int i = 0; i < 2 && i < set->nrec; i++) {
        const ac_trial_record *rec = &set->rec[i];
        const ac_trial_vec *vN = ac_trial_get(rec, "N"), *va = ac_trial_get(rec, "acc");
        if (!vN || !va)
            continue;
        ac_figure_add_series(f, fmt(q, sizeof q, "theory, %s", acc_name[i]), vN->n, vN->v, va->v, NULL, NULL);
        double ref[AC_PATHS_CLAIM_NWIDTH], gx[2] = {vN->v[0], vN->v[vN->n - 1]}, gy[2];
        for (int j = 0; j < vN->n; j++)
            ref[j] = ref_at(i == 0 ? ref_four : ref_fig2e, vN->v[j]);
        ac_figure_add_series(f, fmt(q, sizeof q, "spec 4.1 table, %s", acc_name[i]), vN->n, vN->v, ref, NULL, NULL);
        gy[0] = gy[1] = ac_trial_get1(rec, "acc_gp", 0);
        ac_figure_add_series(f, fmt(q, sizeof q, "GP limit, %s", acc_name[i]), 2, gx, gy, NULL, NULL);
    }
    for (int i = 2; i < 4 && i < set->nrec; i++) {
        double gx[2] = {su.width[0], su.width[su.nwidth - 1]}, gy[2];
        gy[0] = gy[1] = ac_trial_get1(&set->rec[i], "acc_gp", 0);
        ac_figure_add_series(f, fmt(q, sizeof q, "GP limit, %s", acc_name[i]), 2, gx, gy, NULL, NULL);
    }
    return AC_OK;
}

static const ac_trial_def acc_trials = {.ntrials = trials_acc, .trial = trial_acc, .rows = rows_acc};

/* ==== paths.kernel-combination (§3.4, Fig. 2d) ============================= */

/* The widths whose renormalised kernel is compared with the GP kernel. */
static int kern_widths(ac_size size, double *N)
{
    N[0] = 10;
    if (size == AC_SIZE_QUICK)
        return 1;
    N[1] = 100, N[2] = 1000;
    return 3;
}

/* Records: "N"; for the GP kernel ("gp.") and each width ("w<j>.") the
 * overlaps |PC_k . Y|/sqrt(P) of the first NPC PCs ("ov") and the
 * kernel-target alignment ("kta"), all on the training set. */
static ac_status trial_kern(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    double N[3];
    int nw = kern_widths(o->size, N);
    task k;
    ac_status st = task_init(&k, AC_PATHS_NET_FOUR_PATHS, 1.0, AC_PATHS_MARKOV_P_TEST, msg);
    if (st != AC_OK)
        return st;
    int P = k.tr.P;
    double *U = malloc(sizeof(double) * ac_paths_u_size(&k.s));
    double *K = malloc(sizeof(double) * (size_t)P * P);
    double *mean = malloc(sizeof(double) * (size_t)k.te.P);
    if (!U || !K || !mean)
        st = ac_fail(msg, AC_ENOMEM, "no memory for the kernels");
    ac_trial_put(t->rec, "N", nw, N);
    for (int j = 0; j <= nw && st == AC_OK; j++) {
        int gp = j == nw;
        ac_trial_enter(t, AC_TRIAL_THEORY);
        st = task_theory(&k, gp ? 0.0 : N[j], U, mean, NULL, NULL, msg);
        if (st == AC_OK)
            st = ac_paths_kernel(&k.s, N0, P, k.Phi, P, k.Phi, U + ac_paths_u_offset(&k.s, 1), K);
        ac_trial_enter(t, AC_TRIAL_OTHER);
        double ov[NPC], kta;
        if (st == AC_OK && (st = ac_paths_kernel_alignment(P, K, k.tr.Y, NPC, ov, &kta)) != AC_OK)
            ac_fail(msg, st, "eigenvectors of the kernel at %s", gp ? "GP" : "finite width");
        char name[32];
        if (st == AC_OK) {
            snprintf(name, sizeof name, gp ? "gp.ov" : "w%d.ov", j);
            ac_trial_put(t->rec, name, NPC, ov);
            snprintf(name, sizeof name, gp ? "gp.kta" : "w%d.kta", j);
            ac_trial_put1(t->rec, name, kta);
        }
    }
    free(U), free(K), free(mean);
    task_clear(&k);
    return st;
}

/* Sum of the squared overlaps of the first n PCs: the share of |Y|^2 in
 * their span. */
static double captured(const ac_trial_record *rec, const char *name, int n)
{
    double s = 0.0;
    for (int k = 0; k < n; k++) {
        double v = ac_trial_get1(rec, name, k);
        s += v * v;
    }
    return s;
}

static ac_status rows_kern(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)msg;
    const ac_trial_record *rec = &set->rec[0];
    const ac_trial_vec *vN = ac_trial_get(rec, "N");
    int nw = vN ? vN->n : 0;
    char q[AC_CLAIM_TEXT], w[AC_CLAIM_TEXT], name[32];
    snprintf(res->setup, sizeof res->setup,
             "spec 4.1 Markov task, 4 paths, P = %d training sequences (seed %lu), T = %g; kernels K_GP (U = I) "
             "and K(U_1) at the saddle point of widths %g%s; PCs of the P x P kernels by GSL's symmetric "
             "eigensolver, overlap |PC_k . Y|/sqrt(P), first %d PCs",
             AC_PATHS_MARKOV_P_TRAIN, AC_PATHS_MARKOV_SEED_TRAIN, AC_PATHS_MARKOV_T, vN ? vN->v[0] : NAN,
             o->size == AC_SIZE_QUICK ? "" : ", 100, 1000", NPC);
    double kta_gp = ac_trial_get1(rec, "gp.kta", 0);
    const char *eig = "eigenvectors to eps ||K||/gap, sums of P products: rounding far below " STR(TOL_EIG);
    for (int j = 0; j < nw; j++) {
        snprintf(name, sizeof name, "w%d.kta", j);
        double kta = ac_trial_get1(rec, name, 0);
        ac_claim_add(res, fmt(q, sizeof q, "kernel-target alignment Y'KY/(P |K|_F), N = %g, minus GP", vN->v[j]),
                     fmt(w, sizeof w, "> 0 (GP: %.4f; N = %g: %.4f)", kta_gp, vN->v[j], kta), TOL_EIG,
                     kta - kta_gp, AC_METRIC_AT_LEAST, 0.0, eig);
    }
    /* the share of |Y|^2 in the top PCs (spec's three, then the figure's 30) */
    const int top[2] = {3, NPC};
    for (int c = 0; c < 2; c++) {
        double cg = captured(rec, "gp.ov", top[c]);
        snprintf(name, sizeof name, "w0.ov");
        double cw = captured(rec, name, top[c]);
        ac_claim_add(res, fmt(q, sizeof q, "share of |Y|^2 in the top %d PCs, N = %g minus GP", top[c], vN->v[0]),
                     fmt(w, sizeof w, "> 0 (GP: %.3f; N = %g: %.3f)", cg, vN->v[0], cw), TOL_EIG, cw - cg,
                     AC_METRIC_AT_LEAST, 0.0, eig);
    }
    /* the spec's overlaps of the first three PCs [run], shown beside ours */
    static const double ref_gp[3] = {0.10, 0.02, 0.16}, ref_10[3] = {0.09, 0.19, 0.85};
    for (int k = 0; k < 3; k++) {
        ac_claim_add(res, fmt(q, sizeof q, "|PC_%d . Y|/sqrt(P), GP kernel", k + 1), "spec 4.1 [run]", ref_gp[k],
                     ac_trial_get1(rec, "gp.ov", k), AC_METRIC_INFO, 0.0, "reference run, shown not judged");
        ac_claim_add(res, fmt(q, sizeof q, "|PC_%d . Y|/sqrt(P), N = 10 kernel", k + 1), "spec 4.1 [run]", ref_10[k],
                     ac_trial_get1(rec, "w0.ov", k), AC_METRIC_INFO, 0.0, "reference run, shown not judged");
    }
    ac_figure *f = ac_claim_add_figure(res, "paths-kernel-pc-overlap",
                                       "Markov task: overlap of the kernel's principal components with the labels",
                                       "PC index (decreasing eigenvalue)", "|PC . Y| / sqrt(P)", 0, 0);
    double x[NPC];
    for (int k = 0; k < NPC; k++)
        x[k] = k + 1;
    const ac_trial_vec *v = ac_trial_get(rec, "gp.ov");
    if (v)
        ac_figure_add_series(f, "GP kernel", v->n, x, v->v, NULL, NULL);
    for (int j = 0; j < nw; j++) {
        snprintf(name, sizeof name, "w%d.ov", j);
        if ((v = ac_trial_get(rec, name)))
            ac_figure_add_series(f, fmt(q, sizeof q, "renormalised kernel, N = %g", vN->v[j]), v->n, x, v->v, NULL,
                                 NULL);
    }
    return AC_OK;
}

static const ac_trial_def kern_trials = {.ntrials = trials_one, .trial = trial_kern, .rows = rows_kern};

const ac_claim_def ac_paths_claims[AC_PATHS_NCLAIMS] = {
    {.id = "paths.accuracy-vs-width",
     .paper = "paths",
     .statement = "Finite width beats the GP limit on the Markov task: theory accuracy FW(10) > FW(100) > FW(1000) > "
                  "GP, with the values of the spec's section 4.1 tables (all paths; Fig. 2e's two paths with "
                  "sigma_perp = 5; the GP lines of single-path and good + denoising networks)",
     .trials = &acc_trials},
    {.id = "paths.kernel-combination",
     .paper = "paths",
     .statement = "At finite width the renormalised kernel K(U) combines the path-path kernels so that its top "
                  "principal components align with the labels better than the GP kernel's",
     .trials = &kern_trials},
};
