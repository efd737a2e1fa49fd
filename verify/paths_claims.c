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
#include <gsl/gsl_blas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_matrix.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/linalg.h"
#include "solvers/minimize.h"
#include "theory/paths.h"
#include "theory/paths_mpfr.h"
#include "verify/paths_gibbs.h"
#include "verify/paths_net_claims.h"
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
/* paths.gp-limit, the rate: the widths at which N (U_1 - U_GP) is
 * compared (alpha = P/N = 1e-3 .. 1e-5): the second order is O(alpha)
 * relative, the solver's end O(GP_EPS_GRAD N / lambda) relative to the
 * first-order coefficient; both small at these widths. */
#define GP_NRATE 3
static const double gp_rate_N[GP_NRATE] = {1e5, 1e6, 1e7};
/* The predictor is checked at gp_rate_N[GP_PRED], N = 1e6: there the
 * first-order change (about 6e-5 on the mean) is 350 times its bound (the
 * exact second-order remainder, about 10 times the remainder measured, and
 * the rounding) on the mean and 4e4 times on the variance, so a first order
 * dropped, doubled or off by 1 % breaks the bound; at 1e8 the rounding term
 * leaves only a factor 4.6 on the mean (quick size, seed-free). */
#define GP_PRED 1
/* The entropy's Hessian H0 is taken from the objective at this width:
 * alpha = 1e-14 times the energy's curvature is far below the differencing
 * error (1e-8 relative) of the Hessian. */
#define GP_H0_WIDTH 1e16
/* The solver's stopping level on |grad S/n_max|_inf: the gradient is O(1)
 * entropy terms rounded at 1e-16; 1e-12 leaves x1e4 for them. */
#define GP_EPS_GRAD 1e-12
/* Central-difference step for the Hessian of S/n_max in theta: relative
 * error O(h^2) = 1e-8 of the curvature, the rounding of g (1e-16) over h
 * 1e-12: both negligible against the factor SECOND_ORDER. */
#define HESS_STEP 1e-4
/* A first-order (linearised) bound is exact to first order; its remainder
 * is smaller by a factor O(|dtheta|) (3e-3 or less here): a factor 2
 * covers it and the O(h^2) of the differenced Hessians. */
#define SECOND_ORDER 2.0
/* paths.closed-form: the solver's stopping level (as the unit test of
 * §6.3), and the three temperatures of the T -> 0 rate, as fractions of
 * u lambda_min(C) (the scale at which T enters the energy). */
#define CF_EPS_GRAD 1e-11
#define CF_T_RATIO0 1e-2
/* Its tolerance on |u_solver - u_root| is the sum of two derived bounds on
 * their distances to the stationary point u* of S (no allowance typed in):
 * the solver's end by a bracket, the 1-D root by a first-order rounding
 * bound.  The bracket evaluates dS/du at CF_PREC bits (the general action's
 * MPFR mirror, theory/paths_mpfr.h): its relative rounding, 2^-128 times
 * cond(K + T I) <= u lambda_max(C)/T + 1 < 1e6 and P N0 ~ 2e4 terms, is <
 * 1e-28 of its terms' absolute sum (< 1e4 here), so its sign is exact
 * unless |ub - u*| < 1e-24 / f'(u), f' > 1e-3 -- and then a wrong sign
 * moves the bracket by < 1e-21, far below its width (>= one ulp of u). */
#define CF_PREC 128
/* The far end is tried at CF_STEP^k Newton steps from the solver's end, k =
 * 1 .. CF_STEP_TRIES: dS/du is linear to O(|du| f''/f') < 1e-10 relative
 * over such steps, so k = 1 brackets unless the guessed slope (the closed
 * form's) is 1.5 times too large, and the bracket is then at most 1.5 times
 * the solver's true distance. */
#define CF_STEP 1.5
#define CF_STEP_TRIES 6
/* The root's error: ac_paths_one_path_u's eigenpairs (dsyev, backward
 * stable) are exact for C + E with ||E||_2 <= p(P) eps ||C||_2 (LAPACK
 * Users' Guide §4.7, "a modestly growing function of n"; p(n) = n, the
 * n Householder reflections' growth, Higham §19.3).  The sum over P terms
 * adds gamma_P (ac_la_gamma) of their absolute sum (Higham §3.1). */
#define CF_EIG_BACKWARD(P) ((double)(P) * EPS)
/* The error u(T) - u(0) is c T + O(T^2): between T and T/10 it falls by
 * 10 (1 + O(T / (u lambda_min))), within 1 % at the temperatures above;
 * REL 0.05 leaves room for the cubic's own rounding at the smallest T. */
#define CF_RATE_TOL 0.05
/* paths.theory-vs-samples: Monte-Carlo allowance in standard errors (ESS
 * based).  About 30 judged numbers at 3.5 sigma: a false alarm in about
 * 1.4 % of runs. */
#define MC_Z 3.5
/* The theory is a saddle point (§1), exact as N, P -> infinity at fixed
 * alpha = P/N: it neglects the Wishart exponent's n - D_1 - 1 (replaced by
 * n) and the Gaussian fluctuations of U about the saddle, whose variance is
 * the inverse of S's curvature, N h_entropy + P h_energy; they add to the
 * posterior variance of f, e.g. Var_U of the conditional mean, O(1/(N + c
 * P)).  The spec names no quantity for which it is exact at finite N.  So
 * the distance theory - samples at one width is shown (with its z-score),
 * not judged; what is judged is the rate at fixed alpha, where the gap is
 * c(alpha)/N: N |gap| must not grow from (N, P) = (50, 50) to (100, 100)
 * (one-sided, MC_Z standard errors of the difference).  At fixed P the
 * 1/N rate only sets in for N >> P, as N |gap| ~ N/(N + c P) grows towards
 * its limit before: measured (seed 1, P = 100) N |gap| of the mean test
 * variance 0.55, 0.78, 1.19 at N = 50, 100, 200 while the gap itself falls
 * 0.011, 0.0078, 0.0060 (MC SE 0.002) -- not a rate to judge between N = 50
 * and 100 at P = 100. */

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
    s->gibbs_chains = size == AC_SIZE_QUICK ? 2 : 4;
    if (size == AC_SIZE_QUICK) {
        for (int i = 0; i < 3; i++)
            s->gibbs_burn[i] = 10, s->gibbs_keep[i] = 20, s->gibbs_test_stride[i] = 10;
    } else if (size == AC_SIZE_DEFAULT) {
        /* The rate rows (N |gap| at (50, 50) against (100, 100)) are judged
         * only where the Monte-Carlo error resolves them: 4 x 500 and 4 x 300
         * kept draws (ESS ~700 and ~550) resolved none, 4 x 1500 and 4 x 900
         * one, 4 x 2000 and 4 x 1200 three (the test variance and two U_1
         * entries, as at paper size; seed 1, 28 s of the module's minute on
         * 2 idle cores, min ESS 3272 and 1763).  At N = 10 U_1 decorrelates
         * over ~100 sweeps: not mixed at this size, so only a short chain is
         * run to show it. */
        s->gibbs_burn[0] = 50, s->gibbs_keep[0] = 100, s->gibbs_test_stride[0] = 5;
        s->gibbs_burn[1] = 100, s->gibbs_keep[1] = 2000, s->gibbs_test_stride[1] = 5;
        s->gibbs_burn[2] = 100, s->gibbs_keep[2] = 1200, s->gibbs_test_stride[2] = 5;
    } else {
        /* spec §6: drop ~200, keep ~500 per chain, 10x that at N = 100; at
         * N = 10 (~1/80 effective draws per draw for U_1, cheap sweeps)
         * 25000 kept draws on 200 test points (160 MB of records) */
        s->gibbs_burn[0] = 2000, s->gibbs_keep[0] = 25000, s->gibbs_test_stride[0] = 5;
        s->gibbs_burn[1] = 1000, s->gibbs_keep[1] = 5000, s->gibbs_test_stride[1] = 1;
        s->gibbs_burn[2] = 1000, s->gibbs_keep[2] = 5000, s->gibbs_test_stride[2] = 1;
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

/* The vectors every trial of paths.accuracy-vs-width records (ac_trial_def.vectors).
 * Left out, as only some trials record them: disc, the discordant counts of the first two trials. */
static const char *const acc_vectors[] = {"N", "acc", "acc_gp", "conv", "grad", "ntest", NULL};
static const ac_trial_def acc_trials = {
    .ntrials = trials_acc, .trial = trial_acc, .rows = rows_acc,
    .vectors = acc_vectors};

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

/* The vectors every trial of paths.kernel-combination records (ac_trial_def.vectors).
 * Left out, as only some trials record them: w1.*, w2.*, the widths past the first (by size). */
static const char *const kern_vectors[] = {"N", "gp.kta", "gp.ov", "w0.kta", "w0.ov", NULL};
static const ac_trial_def kern_trials = {
    .ntrials = trials_one, .trial = trial_kern, .rows = rows_kern,
    .vectors = kern_vectors};

/* ==== paths.gp-limit (§3.4) ================================================ */

/* U_l = 1.5 I + 0.2 (J - I) in every layer: positive definite (eigenvalues
 * 1.3 and 1.5 + 0.2 (D - 1)) and away from the GP values, so that the
 * solver has to travel to the limit. */
static void gp_start(const ac_paths_settings *s, double *U)
{
    for (int l = 1; l <= s->L; l++) {
        int D = ac_paths_dim(s, l);
        double *Ul = U + ac_paths_u_offset(s, l);
        for (int a = 0; a < D; a++)
            for (int b = 0; b < D; b++)
                Ul[a * D + b] = a == b ? 1.5 : 0.2;
    }
}

static double norm2(int n, const double *x)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += x[i] * x[i];
    return sqrt(s);
}

/* The Hessian of f = S/n_max in theta at theta, by central differences of
 * the analytic gradient (step HESS_STEP), symmetrised, into H (n x n). */
static ac_status hessian(ac_paths_workspace *w, int n, const double *theta, double *H, ac_msg *msg)
{
    double *x = malloc(sizeof(double) * (size_t)n);
    double *gp = malloc(sizeof(double) * (size_t)n), *gm = malloc(sizeof(double) * (size_t)n);
    ac_status st = AC_OK;
    if (!x || !gp || !gm)
        st = ac_fail(msg, AC_ENOMEM, "no memory for the Hessian");
    for (int j = 0; j < n && st == AC_OK; j++) {
        double f;
        memcpy(x, theta, sizeof(double) * (size_t)n);
        x[j] = theta[j] + HESS_STEP;
        int a = ac_paths_objective(w, x, &f, gp);
        x[j] = theta[j] - HESS_STEP;
        int b = ac_paths_objective(w, x, &f, gm);
        if (a || b)
            st = ac_fail(msg, AC_ENUMERIC, "gp-limit: the Hessian's step left the domain at parameter %d", j);
        for (int i = 0; i < n; i++)
            H[i * n + j] = (gp[i] - gm[i]) / (2 * HESS_STEP);
    }
    for (int i = 0; i < n && st == AC_OK; i++)
        for (int j = 0; j < i; j++)
            H[i * n + j] = H[j * n + i] = 0.5 * (H[i * n + j] + H[j * n + i]);
    free(x), free(gp), free(gm);
    return st;
}

/* The smallest eigenvalue and the spectral norm max |lambda| of the
 * symmetric n x n matrix A (copied; A is left as it is). */
static ac_status sym_range(int n, const double *A, double *lmin, double *norm, ac_msg *msg)
{
    gsl_matrix *B = gsl_matrix_alloc((size_t)n, (size_t)n);
    gsl_vector *ev = gsl_vector_alloc((size_t)n);
    gsl_eigen_symm_workspace *ws = gsl_eigen_symm_alloc((size_t)n);
    ac_status st = AC_OK;
    if (!B || !ev || !ws)
        st = ac_fail(msg, AC_ENOMEM, "no memory for the Hessian's eigenvalues");
    else {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                gsl_matrix_set(B, (size_t)i, (size_t)j, A[i * n + j]);
        if (gsl_eigen_symm(B, ev, ws) != GSL_SUCCESS)
            st = ac_fail(msg, AC_ENUMERIC, "gp-limit: eigenvalues of the Hessian");
        else {
            double lo, hi;
            gsl_vector_minmax(ev, &lo, &hi);
            if (lmin)
                *lmin = lo;
            if (norm)
                *norm = fmax(fabs(lo), fabs(hi));
        }
    }
    gsl_matrix_free(B);
    gsl_vector_free(ev);
    gsl_eigen_symm_free(ws);
    return st;
}

/* The GP side of paths.gp-limit, by its own loops and GSL's Cholesky,
 * independent of theory/paths.c's kernel and predictor: GP regression with
 * K_GP = u_GP sum_pi Phi_pi Phi_pi^T (§3.4) on the Pt test points, and its
 * first-order change when U_1 moves from u_GP I by dU (np x np, the
 * solver's end point minus U_GP):
 *   dmean = dk' v - w' dK v,  dvar = dK_mm - 2 dk' w + w' dK w,
 * with K + T I = L L^T, G = (K + T I)^{-1}, v = G Y, w = G k_m, dK = K(dU)
 * (train x train), dk = K(dU)(train, x_m).  The remainder after the first
 * order is exact in whitened form: with D = L^{-1} dK L^{-T}, rho = |D|_2
 * and s = L^{-1} (dk - dK w),
 *   mean: -s' (I + D)^{-1} L^{-1} dK v,  |.| <= |s| |L^{-1} dK v| / (1 - rho)
 *   var:  -s' (I + D)^{-1} s,            |.| <= |s|^2 / (1 - rho)
 * (write L^{-1}(k + dk) = (I + D) L^{-1} k + s).  Each point's bound on
 * |route B - route A - first order| (route B: theory/paths.c at U_GP + dU)
 * is that remainder plus the rounding of the two routes (x2): the entries
 * of K and k formed to N0 np^2 eps a0 |Phi_a| |Phi_b| (a0 >= |abs(U0)|_2),
 * the Cholesky solves backward stable to P^2 eps |K + T I|_F (normwise,
 * Higham Thm 10.3 with |R^T| |R| <= P |A|), perturbing the mean by |dk| |v|
 * + |w| |dA| |v| and the variance by |dk_mm| + 2 |dk| |w| + |w|^2 |dA|, and
 * the dot products (P eps |k| |v|, |k| |w|); ROUND_CHOL for the constants
 * these bounds leave unnamed (Higham's gamma_n = n eps / (1 - n eps) carries
 * a factor 1 to 2 for each of the forming, the factorisation, the two
 * triangular solves and the dot product: 10 covers their sum).
 * Per point m, into the arrays of Pt entries: mdiff = route B - route A of
 * the mean, mfirst = dmean, mbound its bound; vdiff, vfirst, vbound the
 * same for the variance. */
#define ROUND_CHOL 10.0

typedef struct {
    double *mdiff, *mfirst, *mbound, *vdiff, *vfirst, *vbound; /* Pt entries each */
} gp_points;

/* sum_{pi pi'} M[pi pi'] Phi_a[:, pi] . Phi_b[:, pi'] for one pair of
 * examples (N0 x np each). */
static double phi_form(const double *a, const double *b, int np, const double *M)
{
    double s = 0.0;
    for (int i = 0; i < N0; i++)
        for (int p = 0; p < np; p++)
            for (int q = 0; q < np; q++)
                s += M[p * np + q] * a[i * np + p] * b[i * np + q];
    return s;
}

static ac_status gp_direct(const task *k, const double *U0, const double *dU, const double *meanB,
                           const double *varB, gp_points *c, ac_msg *msg)
{
    int P = k->tr.P, Pt = k->te.P, np = k->np;
    size_t ex = (size_t)N0 * np;
    double T = k->s.T;
    gsl_matrix *A = gsl_matrix_alloc((size_t)P, (size_t)P), *dK = gsl_matrix_alloc((size_t)P, (size_t)P);
    gsl_matrix *D = gsl_matrix_alloc((size_t)P, (size_t)P);
    gsl_vector *y = gsl_vector_alloc((size_t)P), *v = gsl_vector_alloc((size_t)P);
    gsl_vector *km = gsl_vector_alloc((size_t)P), *wm = gsl_vector_alloc((size_t)P);
    gsl_vector *dk = gsl_vector_alloc((size_t)P), *dKv = gsl_vector_alloc((size_t)P);
    gsl_vector *dKw = gsl_vector_alloc((size_t)P), *ev = gsl_vector_alloc((size_t)P);
    gsl_eigen_symm_workspace *ws = gsl_eigen_symm_alloc((size_t)P);
    ac_status st = AC_OK;
    if (!A || !dK || !D || !y || !v || !km || !wm || !dk || !dKv || !dKw || !ev || !ws) {
        st = ac_fail(msg, AC_ENOMEM, "no memory for the GP regression");
        goto out;
    }
    for (int i = 0; i < P; i++) {
        for (int j = 0; j <= i; j++) {
            double kij = phi_form(k->Phi + i * ex, k->Phi + j * ex, np, U0);
            double dij = phi_form(k->Phi + i * ex, k->Phi + j * ex, np, dU);
            gsl_matrix_set(A, (size_t)i, (size_t)j, kij), gsl_matrix_set(A, (size_t)j, (size_t)i, kij);
            gsl_matrix_set(dK, (size_t)i, (size_t)j, dij), gsl_matrix_set(dK, (size_t)j, (size_t)i, dij);
        }
        *gsl_matrix_ptr(A, (size_t)i, (size_t)i) += T;
        gsl_vector_set(y, (size_t)i, k->tr.Y[i]);
    }
    /* the rounding: |abs(U0)|_2 <= its largest absolute row sum a0; SP =
     * sum_i |Phi_i|_F^2, so |K + T I|_F <= a0 SP + T sqrt(P) =: Af, and an
     * entry K(a, b) is formed to within N0 np^2 eps a0 |Phi_a| |Phi_b| */
    double a0 = 0.0, SP = 0.0;
    for (int p = 0; p < np; p++) {
        double r = 0.0;
        for (int q = 0; q < np; q++)
            r += fabs(U0[p * np + q]);
        a0 = fmax(a0, r);
    }
    for (int i = 0; i < P; i++)
        for (size_t e = 0; e < ex; e++)
            SP += k->Phi[i * ex + e] * k->Phi[i * ex + e];
    double Af = a0 * SP + T * sqrt((double)P), cr = ROUND_CHOL * ((double)P * P + (double)N0 * np * np) * EPS;
    if (gsl_linalg_cholesky_decomp1(A) != GSL_SUCCESS) {
        st = ac_fail(msg, AC_ENUMERIC, "gp-limit: K_GP + T I has no Cholesky factor");
        goto out;
    }
    /* whitened change D = L^{-1} dK L^{-T} and rho = |D|_2 */
    gsl_matrix_memcpy(D, dK);
    gsl_blas_dtrsm(CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, 1.0, A, D);
    gsl_blas_dtrsm(CblasRight, CblasLower, CblasTrans, CblasNonUnit, 1.0, A, D);
    for (int i = 0; i < P; i++) /* symmetric up to rounding: the lower half */
        for (int j = 0; j < i; j++)
            gsl_matrix_set(D, (size_t)j, (size_t)i, gsl_matrix_get(D, (size_t)i, (size_t)j));
    double rho, lo, hi;
    if (gsl_eigen_symm(D, ev, ws) != GSL_SUCCESS) {
        st = ac_fail(msg, AC_ENUMERIC, "gp-limit: eigenvalues of the whitened kernel change");
        goto out;
    }
    gsl_vector_minmax(ev, &lo, &hi);
    rho = fmax(fabs(lo), fabs(hi));
    if (rho >= 0.5) {
        st = ac_fail(msg, AC_ENUMERIC, "gp-limit: |L^-1 dK L^-T| = %g, too far from the GP values for a first-order "
                     "check", rho);
        goto out;
    }
    gsl_linalg_cholesky_solve(A, y, v);
    gsl_blas_dsymv(CblasLower, 1.0, dK, v, 0.0, dKv);
    double vn = gsl_blas_dnrm2(v);
    gsl_vector_memcpy(y, dKv); /* y := L^{-1} dK v */
    gsl_blas_dtrsv(CblasLower, CblasNoTrans, CblasNonUnit, A, y);
    double dyn = gsl_blas_dnrm2(y);
    for (int m = 0; m < Pt; m++) {
        const double *xm = k->Phit + m * ex;
        for (int i = 0; i < P; i++) {
            gsl_vector_set(km, (size_t)i, phi_form(xm, k->Phi + i * ex, np, U0));
            gsl_vector_set(dk, (size_t)i, phi_form(xm, k->Phi + i * ex, np, dU));
        }
        gsl_linalg_cholesky_solve(A, km, wm);
        gsl_blas_dsymv(CblasLower, 1.0, dK, wm, 0.0, dKw);
        double mA, kw, dkv, wdKv, dkw, wdKw;
        gsl_blas_ddot(km, v, &mA);
        gsl_blas_ddot(km, wm, &kw);
        gsl_blas_ddot(dk, v, &dkv);
        gsl_blas_ddot(wm, dKv, &wdKv);
        gsl_blas_ddot(dk, wm, &dkw);
        gsl_blas_ddot(wm, dKw, &wdKw);
        double kmm = phi_form(xm, xm, np, U0), vA = kmm - kw;
        double kn = gsl_blas_dnrm2(km), wn = gsl_blas_dnrm2(wm);
        double pm = 0.0;
        for (size_t e = 0; e < ex; e++)
            pm += xm[e] * xm[e];
        pm = sqrt(pm);
        double dkr = a0 * pm * sqrt(SP); /* the entries of k_m: |delta k| / (N0 np^2 eps) */
        /* s = L^{-1} (dk - dK w) */
        gsl_vector_sub(dk, dKw);
        gsl_blas_dtrsv(CblasLower, CblasNoTrans, CblasNonUnit, A, dk);
        double sn = gsl_blas_dnrm2(dk);
        c->mdiff[m] = meanB[m] - mA;
        c->mfirst[m] = dkv - wdKv;
        c->mbound[m] = sn * dyn / (1 - rho) + 2 * cr * (dkr * vn + wn * Af * vn + kn * vn);
        c->vdiff[m] = varB[m] - vA;
        c->vfirst[m] = phi_form(xm, xm, np, dU) - 2 * dkw + wdKw;
        c->vbound[m] = sn * sn / (1 - rho) + 2 * cr * (a0 * pm * pm + 2 * dkr * wn + wn * wn * Af + kn * wn);
    }
out:
    gsl_matrix_free(A), gsl_matrix_free(dK), gsl_matrix_free(D);
    gsl_vector_free(y), gsl_vector_free(v), gsl_vector_free(km), gsl_vector_free(wm);
    gsl_vector_free(dk), gsl_vector_free(dKv), gsl_vector_free(dKw), gsl_vector_free(ev);
    gsl_eigen_symm_free(ws);
    return st;
}

/* What one width of paths.gp-limit measured. */
typedef struct {
    int conv, iter;
    double grad;     /* |grad S/n_max|_inf at the end */
    double g0, gs;   /* |g(theta_GP)|_2 (the energy's pull) and |g(theta*)|_2 */
    double dth;      /* |theta* - theta_GP|_2 */
    double dh;       /* max(|H(theta_GP) - H0|_2, |H(theta*) - H0|_2) */
    double du;       /* max |U_l - U_GP| over every layer */
    double tol;      /* the allowance on max_e |N (U_1 - U_GP) - N J theta_1|_e (below) */
} gp_width;

/* The saddle point at width N from gp_start, into U, and what
 * gp_width holds.  H0 (nth x nth) is the Hessian of the entropy alone at
 * theta_GP, l0 its smallest eigenvalue.
 *
 * The rate's allowance.  The entropy per unit width is the same at every
 * width and stationary at theta_GP; the energy per unit width is E/N, so
 * the gradient at theta_GP is g0 = grad E / N exactly.  The mean-value
 * theorem along theta_GP -> theta* gives Hbar dtheta = g* - g0 (Hbar the
 * Hessian averaged over the segment), so with theta_1 = -H0^{-1} g0 (the
 * first order in alpha, N theta_1 the same at every width):
 *   |dtheta - theta_1| <= (|g*| + |Hbar - H0| |dtheta|) / l0,
 * |Hbar - H0| <= SECOND_ORDER max(|H(theta_GP) - H0|, |H(theta*) - H0|)
 * (H linear along the short segment up to O(|dtheta|^2)).  U_1 = L L^T
 * with the diagonal of L = exp(theta): its linear map J from theta to U_1
 * has |J x|_max <= 2 |L|_F lj |x| (lj = max(1, max L_jj)); its second-order
 * remainder is at most |dL|_F^2 + |L|_F lj |dtheta|^2 e^{|dtheta|}, with
 * |dL|_F <= lj e^{|dtheta|} |dtheta|.  So N (U_1 - U_GP) is within
 *   tol = N [2 |L|_F lj (|g*| + |Hbar - H0| |dtheta|) / l0
 *            + (lj e^{|dtheta|} |dtheta|)^2 + |L|_F lj |dtheta|^2 e^{|dtheta|}]
 * of N J theta_1, the same at every width, entry by entry. */
static ac_status gp_at_width(task *k, double N, const double *H0, double l0, double *U, gp_width *r, ac_msg *msg)
{
    ac_paths_workspace *w = task_workspace(k, N, msg);
    if (!w)
        return AC_ENOMEM;
    int nth = ac_paths_theta_size(&k->s);
    size_t nu = ac_paths_u_size(&k->s);
    double *Ug = malloc(sizeof(double) * nu), *th0 = malloc(sizeof(double) * (size_t)nth);
    double *th = malloc(sizeof(double) * (size_t)nth), *g = malloc(sizeof(double) * (size_t)nth);
    double *H = malloc(sizeof(double) * (size_t)nth * nth);
    ac_status st = AC_OK;
    memset(r, 0, sizeof *r);
    if (!Ug || !th0 || !th || !g || !H) {
        st = ac_fail(msg, AC_ENOMEM, "no memory for the gp-limit claim");
        goto out;
    }
    double f, d0, ds;
    ac_paths_gp_u(&k->s, Ug);
    if ((st = ac_paths_theta_from_u(&k->s, Ug, th0, msg)) != AC_OK)
        goto out;
    ac_paths_objective(w, th0, &f, g);
    r->g0 = norm2(nth, g);
    if ((st = hessian(w, nth, th0, H, msg)) != AC_OK)
        goto out;
    for (int i = 0; i < nth * nth; i++)
        H[i] -= H0[i];
    if ((st = sym_range(nth, H, NULL, &d0, msg)) != AC_OK)
        goto out;
    gp_start(&k->s, U);
    ac_min_settings ms;
    ac_min_settings_default(&ms);
    ms.eps_grad = GP_EPS_GRAD;
    ac_paths_info info;
    if ((st = ac_paths_solve(w, &ms, U, &info, msg)) != AC_OK)
        goto out;
    r->conv = info.min.status == AC_MIN_CONVERGED;
    r->iter = (int)info.min.iter;
    r->grad = info.min.grad_norm;
    if ((st = ac_paths_theta_from_u(&k->s, U, th, msg)) != AC_OK)
        goto out;
    ac_paths_objective(w, th, &f, g);
    r->gs = norm2(nth, g);
    if ((st = hessian(w, nth, th, H, msg)) != AC_OK)
        goto out;
    for (int i = 0; i < nth * nth; i++)
        H[i] -= H0[i];
    if ((st = sym_range(nth, H, NULL, &ds, msg)) != AC_OK)
        goto out;
    r->dh = fmax(d0, ds);
    for (int i = 0; i < nth; i++)
        g[i] = th[i] - th0[i];
    r->dth = norm2(nth, g);
    for (size_t j = 0; j < nu; j++)
        r->du = ac_max_keep_nan(r->du, fabs(U[j] - Ug[j]));
    /* |L|_F and lj of layer 1 at U_GP (|L|_F^2 = Tr U_1) */
    int D = ac_paths_dim(&k->s, 1);
    const double *U1 = Ug + ac_paths_u_offset(&k->s, 1);
    double lf = 0.0, lj = 1.0;
    for (int a = 0; a < D; a++)
        lf += U1[a * D + a], lj = fmax(lj, sqrt(U1[a * D + a]));
    lf = sqrt(lf);
    double e = exp(r->dth), dl = lj * e * r->dth;
    r->tol = N * (2 * lf * lj * (r->gs + SECOND_ORDER * r->dh * r->dth) / l0 + dl * dl +
                  lf * lj * r->dth * r->dth * e);
out:
    ac_paths_free(w);
    free(Ug), free(th0), free(th), free(g), free(H);
    return st;
}

/* Records: per rate width j (GP_NRATE, "N"): "conv", "iter", "grad",
 * "g0", "gs", "dth", "dh", "du" (max |U_l - U_GP| over every layer),
 * "tol" (gp_at_width), "ndu1" (N (U_1 - U_GP), np^2 entries per width,
 * width-major); "l0" (lambda_min of H0); at the predictor's width
 * gp_rate_N[GP_PRED]: the per-point arrays of gp_points
 * ("mdiff", "mfirst", "mbound", "vdiff", "vfirst", "vbound"); "ntest". */
static ac_status trial_gp(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    ac_paths_claim_setup su = setup_of(o->size);
    task k;
    ac_status st = task_init(&k, AC_PATHS_NET_FOUR_PATHS, 1.0, su.test_stride, msg);
    if (st != AC_OK)
        return st;
    int Pt = k.te.P, np = k.np;
    ac_trial_enter(t, AC_TRIAL_THEORY);
    int nth = ac_paths_theta_size(&k.s);
    size_t nu = ac_paths_u_size(&k.s), off1 = ac_paths_u_offset(&k.s, 1);
    double *U = malloc(sizeof(double) * nu), *Ug = malloc(sizeof(double) * nu);
    double *th = malloc(sizeof(double) * (size_t)nth), *H0 = malloc(sizeof(double) * (size_t)nth * nth);
    double *ndu1 = malloc(sizeof(double) * GP_NRATE * (size_t)np * np);
    double *buf = malloc(sizeof(double) * ((size_t)Pt * 8 + (size_t)np * np * 2));
    gp_width gw[GP_NRATE];
    ac_paths_workspace *w = NULL;
    if (!U || !Ug || !th || !H0 || !ndu1 || !buf) {
        st = ac_fail(msg, AC_ENOMEM, "no memory for the gp-limit claim");
        goto out;
    }
    /* H0: the entropy's Hessian at theta_GP, from the objective at a width
     * where the energy's share alpha = P/GP_H0_WIDTH is below the
     * Hessian's own differencing error */
    if (!(w = task_workspace(&k, GP_H0_WIDTH, msg))) {
        st = AC_ENOMEM;
        goto out;
    }
    double l0;
    ac_paths_gp_u(&k.s, Ug);
    if ((st = ac_paths_theta_from_u(&k.s, Ug, th, msg)) != AC_OK || (st = hessian(w, nth, th, H0, msg)) != AC_OK ||
        (st = sym_range(nth, H0, &l0, NULL, msg)) != AC_OK)
        goto out;
    double *mB = buf, *vB = buf + Pt, *U0 = buf + 8 * Pt, *dU = U0 + np * np;
    gp_points pts = {buf + 2 * Pt, buf + 3 * Pt, buf + 4 * Pt, buf + 5 * Pt, buf + 6 * Pt, buf + 7 * Pt};
    ac_paths_free(w);
    w = NULL;
    for (int j = 0; j < GP_NRATE; j++) {
        if ((st = gp_at_width(&k, gp_rate_N[j], H0, l0, U, &gw[j], msg)) != AC_OK)
            goto out;
        for (int e = 0; e < np * np; e++)
            ndu1[j * np * np + e] = gp_rate_N[j] * (U[off1 + e] - Ug[off1 + e]);
        if (j != GP_PRED)
            continue;
        /* the predictor, route B (theory/paths.c at the solver's U_1) */
        for (int e = 0; e < np * np; e++)
            U0[e] = Ug[off1 + e], dU[e] = U[off1 + e] - Ug[off1 + e];
        if (!(w = task_workspace(&k, gp_rate_N[j], msg))) {
            st = AC_ENOMEM;
            goto out;
        }
        if ((st = ac_paths_predict(w, U + off1, Pt, k.Phit, mB, vB, msg)) != AC_OK)
            goto out;
    }
    ac_trial_enter(t, AC_TRIAL_OTHER);
    /* route A: GP regression at U_GP by its own loops, plus its first-order
     * change towards the solver's U_1 */
    if ((st = gp_direct(&k, U0, dU, mB, vB, &pts, msg)) != AC_OK)
        goto out;
    double col[GP_NRATE];
    const struct {
        const char *name;
        size_t off;
    } per[] = {{"conv", 0}, {"iter", 1}, {"grad", 2}, {"g0", 3}, {"gs", 4}, {"dth", 5}, {"dh", 6}, {"du", 7}, {"tol", 8}};
    for (size_t q = 0; q < sizeof per / sizeof per[0]; q++) {
        for (int j = 0; j < GP_NRATE; j++) {
            const gp_width *r = &gw[j];
            const double v[9] = {r->conv, r->iter, r->grad, r->g0, r->gs, r->dth, r->dh, r->du, r->tol};
            col[j] = v[per[q].off];
        }
        ac_trial_put(t->rec, per[q].name, GP_NRATE, col);
    }
    ac_trial_put(t->rec, "N", GP_NRATE, gp_rate_N);
    ac_trial_put(t->rec, "ndu1", GP_NRATE * np * np, ndu1);
    ac_trial_put1(t->rec, "l0", l0);
    ac_trial_put(t->rec, "mdiff", Pt, pts.mdiff);
    ac_trial_put(t->rec, "mfirst", Pt, pts.mfirst);
    ac_trial_put(t->rec, "mbound", Pt, pts.mbound);
    ac_trial_put(t->rec, "vdiff", Pt, pts.vdiff);
    ac_trial_put(t->rec, "vfirst", Pt, pts.vfirst);
    ac_trial_put(t->rec, "vbound", Pt, pts.vbound);
    ac_trial_put1(t->rec, "ntest", Pt);
out:
    ac_paths_free(w);
    free(U), free(Ug), free(th), free(H0), free(ndu1), free(buf);
    task_clear(&k);
    return st;
}

/* Worst |diff - first| / bound over the points, and (resolution) the
 * largest |first| / bound: above 2, dropping or doubling the first order
 * breaks the bound at that point. */
static void gp_point_ratios(const ac_trial_record *rec, const char *diff, const char *first, const char *bound,
                            double *worst, double *resolution)
{
    const ac_trial_vec *d = ac_trial_get(rec, diff), *f = ac_trial_get(rec, first), *b = ac_trial_get(rec, bound);
    *worst = *resolution = NAN;
    if (!d || !f || !b || d->n != f->n || d->n != b->n || d->n == 0)
        return;
    *worst = *resolution = 0.0;
    for (int m = 0; m < d->n; m++) {
        *worst = ac_max_keep_nan(*worst, fabs(d->v[m] - f->v[m]) / b->v[m]);
        *resolution = ac_max_keep_nan(*resolution, fabs(f->v[m]) / b->v[m]);
        if (!(b->v[m] > 0))
            *worst = NAN; /* a judged row built from it fails */
    }
}

static ac_status rows_gp(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)o, (void)msg;
    const ac_trial_record *rec = &set->rec[0];
    const ac_trial_vec *nd = ac_trial_get(rec, "ndu1");
    int ne = nd ? nd->n / GP_NRATE : 0;
    snprintf(res->setup, sizeof res->setup,
             "spec 4.1 Markov task, 4 paths, P = %d, %g test points, T = %g; general solver at every width N = %g, "
             "%g, %g (rate) and %g (predictor) from U_l = 1.5 I + 0.2 (J - I) to |grad S/N|_inf <= %g; GP route: "
             "K_GP by direct sums and GSL's Cholesky",
             AC_PATHS_MARKOV_P_TRAIN, ac_trial_get1(rec, "ntest", 0), AC_PATHS_MARKOV_T, gp_rate_N[0], gp_rate_N[1],
             gp_rate_N[2], gp_rate_N[GP_PRED], GP_EPS_GRAD);
    char q[AC_CLAIM_TEXT], w[AC_CLAIM_TEXT];
    double nconv = 0;
    for (int j = 0; j < GP_NRATE; j++)
        nconv += ac_trial_get1(rec, "conv", j);
    ac_claim_add(res, "widths whose solve did not converge", "0", 0.0, GP_NRATE - nconv, AC_METRIC_AT_MOST, 0.0,
                 "exact: the end point is a saddle point only where the gradient test passed");
    /* the rate: N (U_1 - U_GP) the same at consecutive widths */
    for (int j = 0; j + 1 < GP_NRATE; j++) {
        double ch = ne > 0 ? 0.0 : NAN;
        for (int e = 0; e < ne; e++)
            ch = ac_max_keep_nan(ch, fabs(nd->v[j * ne + e] - nd->v[(j + 1) * ne + e]));
        double tol = ac_trial_get1(rec, "tol", j) + ac_trial_get1(rec, "tol", j + 1);
        ac_claim_add(res, fmt(q, sizeof q, "max_e |N (U_1 - U_GP)|_e change, N = %g to %g", gp_rate_N[j],
                              gp_rate_N[j + 1]),
                     "0: U_1 - U_GP = O(alpha)", 0.0, ch, AC_METRIC_AT_MOST, tol,
                     "each width's N (U_1 - U_GP) is within N [2 |L|_F lj (|g*| + " STR(SECOND_ORDER)
                     " |dH| |dtheta|)/lambda_min(H0) + second order of U = L L^T] of N J theta_1, the same at every "
                     "width (mean-value theorem; |dH| the Hessian's change from the entropy's H0)");
    }
    for (int j = 0; j < GP_NRATE; j++) {
        double m = ne > 0 ? 0.0 : NAN;
        for (int e = 0; e < ne; e++)
            m = ac_max_keep_nan(m, fabs(nd->v[j * ne + e]));
        ac_claim_add(res, fmt(q, sizeof q, "max |U_1 - U_GP| x N, N = %g", gp_rate_N[j]), "", NAN, m, AC_METRIC_INFO,
                     0.0, "the first-order coefficient, shown");
    }
    ac_claim_add(res, fmt(q, sizeof q, "max |U_l - U_GP| over every layer, N = %g", gp_rate_N[GP_NRATE - 1]), "", NAN,
                 ac_trial_get1(rec, "du", GP_NRATE - 1), AC_METRIC_INFO, 0.0,
                 "the distance at one width, shown: the limit is judged by its rate");
    /* the predictor at gp_rate_N[GP_PRED] */
    double mw, mr, vw, vr;
    gp_point_ratios(rec, "mdiff", "mfirst", "mbound", &mw, &mr);
    gp_point_ratios(rec, "vdiff", "vfirst", "vbound", &vw, &vr);
    ac_claim_add(res, fmt(q, sizeof q, "worst |mean - (GP mean + first order in dU_1)| / its bound, N = %g",
                          gp_rate_N[GP_PRED]),
                 "<= 1", 0.0, mw, AC_METRIC_AT_MOST, 1.0,
                 "bound per point: the remainder after the first order, |s| |L^-1 dK v|/(1 - |L^-1 dK L^-T|), "
                 "s = L^-1 (dk - dK w) (exact), plus the rounding of two routes: " STR(ROUND_CHOL)
                 " (P^2 + N0 np^2) eps (entries, Cholesky, dot products)");
    ac_claim_add(res, fmt(q, sizeof q, "worst |variance - (GP variance + first order in dU_1)| / its bound, N = %g",
                          gp_rate_N[GP_PRED]),
                 "<= 1", 0.0, vw, AC_METRIC_AT_MOST, 1.0,
                 "bound per point: the remainder after the first order, |s|^2/(1 - |L^-1 dK L^-T|) (exact), plus "
                 "the rounding of two routes: " STR(ROUND_CHOL) " (P^2 + N0 np^2) eps (entries, Cholesky, dot "
                 "products)");
    snprintf(w, sizeof w, "above 2: a first order dropped or doubled breaks the bound at some point");
    ac_claim_add(res, "largest |first-order change of the mean| / its bound", w, NAN, mr, AC_METRIC_INFO, 0.0, "");
    ac_claim_add(res, "largest |first-order change of the variance| / its bound", w, NAN, vr, AC_METRIC_INFO, 0.0,
                 "");
    ac_claim_add(res, "lambda_min of the entropy's Hessian H0 in theta", "", NAN, ac_trial_get1(rec, "l0", 0),
                 AC_METRIC_INFO, 0.0, "central differences of the analytic gradient, step " STR(HESS_STEP));
    for (int j = 0; j < GP_NRATE; j++) {
        ac_claim_add(res, fmt(q, sizeof q, "|H(theta) - H0|_2 over the segment, N = %g", gp_rate_N[j]), "", NAN,
                     ac_trial_get1(rec, "dh", j), AC_METRIC_INFO, 0.0, "");
        ac_claim_row *g = ac_claim_add(res, fmt(q, sizeof q, "|grad|_inf at the end, N = %g", gp_rate_N[j]),
                                       "", NAN, ac_trial_get1(rec, "grad", j), AC_METRIC_INFO, 0.0,
                                       "the solves stop at |grad|_inf <= " STR(GP_EPS_GRAD));
        if (g) /* a residual below the stop: its digits are the summation order's */
            g->regress_abs = GP_EPS_GRAD;
    }
    return AC_OK;
}

/* The vectors every trial of paths.gp-limit records (ac_trial_def.vectors). */
static const char *const gp_vectors[] = {
    "N", "conv", "dh", "dth", "du", "g0", "grad", "gs", "iter", "l0", "mbound", "mdiff", "mfirst", "ndu1",
    "ntest", "tol", "vbound", "vdiff", "vfirst", NULL
};
static const ac_trial_def gp_trials = {
    .ntrials = trials_one, .trial = trial_gp, .rows = rows_gp,
    .vectors = gp_vectors};

/* ==== paths.closed-form (§3.7) =============================================== */

static const double cf_N[3] = {10, 100, 1000};

/* One layer, one head (the good head), every width N, sigma^2 = 1, on the
 * training set of §4.1. */
static void cf_settings(double N, double T, ac_paths_settings *s)
{
    ac_paths_settings_default(s);
    s->L = 1, s->H[0] = 1;
    s->n[0] = s->n[1] = N;
    s->T = T;
}

/* The spectral sums at u on C's eigenpairs (lam, q = V^T Y; P of them):
 * the slope f'(u) of dS/du and the first-order bound dmax on the rounding
 * of the closed form's dS/du (see CF_EIG_BACKWARD).  With R = (uC + TI)^{-1},
 * v = R Y, w = R C v, the matrix gradient of dS/du in C is T R^2 - v v^T +
 * u (w v^T + v w^T), of nuclear norm at most T tr R^2 + |v|^2 + 2 u |v||w|,
 * which times ||E||_2 <= P eps ||C||_2 bounds the eigenpairs' effect; q's
 * own error (V orthogonal to P eps, the dot products' gamma_P) |dq| <= (P
 * eps + sqrt(P) gamma_P) |Y| moves the last sum by 2 |dq| |w|; the sums
 * themselves add gamma_P sum_k |terms|.  f'(u) = n_0 [1/u^2 - U_a'/(sigma_1^2
 * U_a^2)] + sum_k [2 lam^2 q^2/den^3 - lam^2/den^2], den = u lam + T, U_a' =
 * gamma / (u (2 U_a + beta)) from U_a^2 + beta U_a - gamma(u) = 0 (§3.2,
 * gamma ~ u). */
static void cf_spectral(const ac_paths_settings *s, const double *lam, const double *q, const double *Y, int P,
                        double u, double *slope, double *dmax)
{
    double T = s->T, n0 = s->n[0], ua = ac_paths_ua(s, u), lmax = 0.0;
    double beta = s->sigma2_a * (s->H[0] * n0 / s->n[1] - 1.0), gamma = n0 * s->sigma2_a * u / (s->n[1] * s->sigma2[1]);
    double dua = gamma / (u * (2.0 * ua + beta));
    double fp = n0 * (1.0 / (u * u) - dua / (s->sigma2[1] * ua * ua));
    double trR2 = 0.0, v2 = 0.0, w2 = 0.0, y2 = 0.0, mag = n0 * (1.0 / (s->sigma2[1] * ua) + 1.0 / u);
    for (int k = 0; k < P; k++) {
        double l = lam[k], den = u * l + T, qq = q[k] * q[k];
        fp += 2.0 * l * l * qq / (den * den * den) - l * l / (den * den);
        trR2 += 1.0 / (den * den);
        v2 += qq / (den * den);
        w2 += l * l * qq / (den * den * den * den);
        mag += fabs(l) / den + fabs(l) * qq / (den * den);
        lmax = fmax(lmax, fabs(l));
        y2 += Y[k] * Y[k];
    }
    double dq = (CF_EIG_BACKWARD(P) + sqrt((double)P) * ac_la_gamma(P)) * sqrt(y2);
    *slope = fp;
    *dmax = CF_EIG_BACKWARD(P) * lmax * (T * trR2 + v2 + 2.0 * u * sqrt(v2 * w2)) + 2.0 * dq * sqrt(w2) +
            ac_la_gamma(P) * mag;
}

/* dS/du at u, L = H = 1, by the CF_PREC-bit mirror of the general action
 * (K formed directly; theory/paths_mpfr.h): its sign and its value. */
static ac_status cf_dsdu_mpfr(const ac_paths_settings *s, const double *Phi, const double *Y, double u,
                              int *sign, double *val, ac_msg *msg)
{
    mpfr_t S, G[1];
    mpfr_inits2(CF_PREC, S, G[0], (mpfr_ptr)0);
    ac_status st = ac_paths_action_mpfr(s, AC_PATHS_MARKOV_P_TRAIN, N0, Phi, Y, &u, S, NULL, G, CF_PREC);
    if (st != AC_OK)
        st = ac_fail(msg, st, "closed-form: the %d-bit action failed at u = %.17g, N = %g", CF_PREC, u, s->n[0]);
    *sign = mpfr_sgn(G[0]);
    *val = mpfr_get_d(G[0], MPFR_RNDN);
    mpfr_clears(S, G[0], (mpfr_ptr)0);
    return st;
}

/* A bracket of the stationary point u* of S beside the solver's end us:
 * dS/du at CF_PREC bits at us and at ub = us - CF_STEP^k G(us)/slope (slope
 * a guess; ub at least one ulp away), k = 1, 2, ... until the signs differ:
 * then u* lies between them and |us - u*| <= |ub - us| (*bs), and *fp gets
 * the secant (G(ub) - G(us))/(ub - us), the slope of the general S's dS/du
 * there (slope itself when G(us) is 0).  *found 0 when no sign change
 * within CF_STEP_TRIES. */
static ac_status cf_bracket(const ac_paths_settings *s, const double *Phi, const double *Y, double us, double slope,
                            double *bs, double *fp, int *found, ac_msg *msg)
{
    int s0, s1;
    double g0, g1;
    *found = 0, *bs = NAN, *fp = slope;
    ac_status st = cf_dsdu_mpfr(s, Phi, Y, us, &s0, &g0, msg);
    if (st != AC_OK)
        return st;
    if (s0 == 0) {
        *found = 1, *bs = 0.0;
        return AC_OK;
    }
    double step = -g0 / fabs(slope);
    for (int k = 1; k <= CF_STEP_TRIES && st == AC_OK && !*found; k++) {
        step *= CF_STEP;
        double ub = us + step;
        if (ub == us)
            ub = nextafter(us, step > 0 ? INFINITY : 0.0);
        if (!(ub > 0.0) || !isfinite(ub)) /* a slope guess of 0 or NaN */
            break;
        st = cf_dsdu_mpfr(s, Phi, Y, ub, &s1, &g1, msg);
        if (st == AC_OK && s1 != s0)
            *found = 1, *bs = fabs(ub - us), *fp = (g1 - g0) / (ub - us);
    }
    return st;
}

/* The solver's u, the 1-D root and (tol non-NULL; lam, q C's eigenpairs)
 * the two parts of the tolerance at (N, T): *tol_s bounds the solver's end's
 * distance to the stationary point (cf_bracket), *tol_r the closed-form
 * root's, 4 eps u (Brent's bracket) + dmax (cf_spectral) / f'(u), f' the
 * bracket's secant on the general S (first order: f' moves by f'' |u_root -
 * u_solver| ~ 1e-10 relative between them): a wrong closed form cannot
 * widen its own allowance through its own slope. */
static ac_status cf_solve(const double *Phi, const double *Y, double N, double T, const double *lam, const double *q,
                          double *u_solver, double *u_root, double *tol_s, double *tol_r, int *conv, ac_msg *msg)
{
    ac_paths_settings s;
    cf_settings(N, T, &s);
    int P = AC_PATHS_MARKOV_P_TRAIN;
    ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
    if (!w)
        return ac_fail(msg, AC_ENOMEM, "no workspace at width %g", N);
    ac_status st = ac_paths_set_data(w, Phi, Y, msg);
    if (st == AC_OK)
        st = ac_paths_one_path_u(w, u_root, msg);
    double U;
    ac_paths_gp_u(&s, &U);
    ac_min_settings ms;
    ac_min_settings_default(&ms);
    ms.eps_grad = CF_EPS_GRAD;
    ac_paths_info info;
    if (st == AC_OK && tol_s)
        st = ac_paths_solve(w, &ms, &U, &info, msg);
    if (st == AC_OK && tol_s) {
        double slope, dmax, fp;
        int found = 0;
        cf_spectral(&s, lam, q, Y, P, *u_root, &slope, &dmax);
        *u_solver = U;
        st = cf_bracket(&s, Phi, Y, U, slope, tol_s, &fp, &found, msg);
        *tol_r = AC_PATHS_ONE_U_RTOL * *u_root + dmax / fabs(fp);
        *conv = info.min.status == AC_MIN_CONVERGED && found && fp > 0.0;
    }
    ac_paths_free(w);
    return st;
}

/* Records: "u_solver", "u_root", "tol", "conv" per width of cf_N; "u0" the
 * T -> 0 cubic at N = 1000, "T" the three temperatures, "err" |u(T) - u0|,
 * "lmin" lambda_min(C), "r" = Y^T C^{-1} Y. */
static ac_status trial_cf(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    (void)o;
    ac_paths_settings s;
    cf_settings(1.0, AC_PATHS_MARKOV_T, &s);
    ac_paths_markov_head head = {.kind = AC_PATHS_HEAD_GOOD, .seed = 1};
    ac_paths_markov_settings ds;
    ac_paths_markov_settings_default(&ds);
    ac_paths_markov_data d = {0};
    int P = AC_PATHS_MARKOV_P_TRAIN;
    double *Phi = malloc(sizeof(double) * (size_t)P * N0);
    gsl_matrix *C = gsl_matrix_alloc((size_t)P, (size_t)P), *V = gsl_matrix_alloc((size_t)P, (size_t)P);
    gsl_vector *ev = gsl_vector_alloc((size_t)P);
    gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc((size_t)P);
    ac_status st = AC_OK;
    if (!Phi || !C || !V || !ev || !ws)
        st = ac_fail(msg, AC_ENOMEM, "no memory for the closed-form claim");
    if (st == AC_OK)
        st = ac_paths_markov_data_init(&d, &ds, msg);
    if (st == AC_OK)
        st = ac_paths_markov_phi(&s, &head, &d, Phi, msg);
    ac_trial_enter(t, AC_TRIAL_THEORY);
    /* C = Phi Phi^T's eigenpairs: lambda_min, r = Y^T C^{-1} Y for the T -> 0
     * cubic and the spectral sums of the root's error bound (cf_spectral). */
    double lmin = NAN, r = 0.0, u0 = NAN, T[3], err[3], lam[AC_PATHS_MARKOV_P_TRAIN], qv[AC_PATHS_MARKOV_P_TRAIN];
    if (st == AC_OK) {
        for (int a = 0; a < P; a++)
            for (int b = 0; b <= a; b++) {
                double c = 0.0;
                for (int i = 0; i < N0; i++)
                    c += Phi[a * N0 + i] * Phi[b * N0 + i];
                gsl_matrix_set(C, (size_t)a, (size_t)b, c);
                gsl_matrix_set(C, (size_t)b, (size_t)a, c);
            }
        if (gsl_eigen_symmv(C, ev, V, ws) != GSL_SUCCESS)
            st = ac_fail(msg, AC_ENUMERIC, "closed-form: eigenvalues of C");
    }
    if (st == AC_OK) {
        lmin = gsl_vector_min(ev);
        for (int k = 0; k < P; k++) {
            double q = 0.0;
            for (int i = 0; i < P; i++)
                q += gsl_matrix_get(V, (size_t)i, (size_t)k) * d.Y[i];
            lam[k] = gsl_vector_get(ev, (size_t)k), qv[k] = q;
            r += q * q / lam[k];
        }
    }
    double us[3], ur[3], tol_s[3], tol_r[3], tol[3], conv[3];
    for (int j = 0; j < 3 && st == AC_OK; j++) {
        int c = 0;
        st = cf_solve(Phi, d.Y, cf_N[j], AC_PATHS_MARKOV_T, lam, qv, &us[j], &ur[j], &tol_s[j], &tol_r[j], &c, msg);
        conv[j] = c;
        tol[j] = tol_s[j] + tol_r[j];
    }
    if (st == AC_OK) {
        double N = cf_N[2];
        u0 = ac_paths_one_path_u_t0(P / N, r / N);
        for (int j = 0; j < 3 && st == AC_OK; j++) {
            double u;
            T[j] = CF_T_RATIO0 * u0 * lmin * pow(10.0, -j);
            st = cf_solve(Phi, d.Y, N, T[j], NULL, NULL, NULL, &u, NULL, NULL, NULL, msg);
            err[j] = fabs(u - u0);
        }
    }
    ac_trial_enter(t, AC_TRIAL_OTHER);
    if (st == AC_OK) {
        ac_trial_put(t->rec, "u_solver", 3, us);
        ac_trial_put(t->rec, "u_root", 3, ur);
        ac_trial_put(t->rec, "tol", 3, tol);
        ac_trial_put(t->rec, "tol_s", 3, tol_s);
        ac_trial_put(t->rec, "tol_r", 3, tol_r);
        ac_trial_put(t->rec, "conv", 3, conv);
        ac_trial_put1(t->rec, "u0", u0);
        ac_trial_put(t->rec, "T", 3, T);
        ac_trial_put(t->rec, "err", 3, err);
        ac_trial_put1(t->rec, "lmin", lmin);
        ac_trial_put1(t->rec, "r", r);
    }
    free(Phi);
    gsl_matrix_free(C), gsl_matrix_free(V);
    gsl_vector_free(ev);
    gsl_eigen_symmv_free(ws);
    ac_paths_markov_data_clear(&d);
    return st;
}

static ac_status rows_cf(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)o, (void)msg;
    const ac_trial_record *rec = &set->rec[0];
    char q[AC_CLAIM_TEXT], w[AC_CLAIM_TEXT];
    snprintf(res->setup, sizeof res->setup,
             "one layer, one head (the good head of spec 4.1) on its P = %d training sequences, sigma^2 = 1; "
             "u = U_1 from the 1-D root of dS/du on C's eigenvalues (ac_paths_one_path_u) and from the general "
             "BFGS solver to |grad|_inf <= %g, T = %g at N = 10, 100, 1000; the T -> 0 cubic at N = 1000 with "
             "T = %g u0 lambda_min(C) x 1, 0.1, 0.01",
             AC_PATHS_MARKOV_P_TRAIN, CF_EPS_GRAD, AC_PATHS_MARKOV_T, CF_T_RATIO0);
    double nconv = 0.0;
    for (int j = 0; j < 3; j++) {
        nconv += ac_trial_get1(rec, "conv", j) != 1.0;
        ac_claim_add(res, fmt(q, sizeof q, "u from the general solver, N = %g", cf_N[j]), "1-D root of dS/du",
                     ac_trial_get1(rec, "u_root", j), ac_trial_get1(rec, "u_solver", j), AC_METRIC_ABS,
                     ac_trial_get1(rec, "tol", j),
                     "derived distances to the stationary point u* of S: the solver's end's 128-bit bracket (dS/du "
                     "changes sign beside it, MPFR mirror of the general action; rows below) + the 1-D root's "
                     "first-order rounding: 4 eps u (Brent) + [P eps ||C|| (dsyev's backward error) x nuclear norm "
                     "of d(dS/du)/dC + gamma_P sum |terms|] / f'(u)");
    }
    for (int j = 0; j < 3; j++) {
        ac_claim_row *b = ac_claim_add(res, fmt(q, sizeof q, "|u_solver - u*| bracket at 128 bits, N = %g", cf_N[j]),
                                       "", NAN, ac_trial_get1(rec, "tol_s", j), AC_METRIC_INFO, 0.0,
                                       "the solver's part of the tolerance above; the rest is the 1-D root's "
                                       "rounding bound");
        if (b) /* where the solve stopped: within the judged row's tolerance it is no move */
            b->regress_abs = ac_trial_get1(rec, "tol", j);
    }
    ac_claim_add(res, "widths whose solve did not converge", "0", 0.0, nconv, AC_METRIC_AT_MOST, 0.0,
                 fmt(w, sizeof w, "exact: the bound above needs the gradient test passed, a 128-bit sign change of "
                     "dS/du within %d tries and f'(u) > 0", CF_STEP_TRIES));
    for (int j = 0; j < 2; j++) {
        double e0 = ac_trial_get1(rec, "err", j), e1 = ac_trial_get1(rec, "err", j + 1);
        snprintf(w, sizeof w, "10 (|u(T) - u0| = O(T), u0 = %.6g the root of u^{3/2} = (1 - alpha) u + r/N)",
                 ac_trial_get1(rec, "u0", 0));
        ac_claim_add(res,
                     fmt(q, sizeof q, "|u(T) - u0| at T = %.3g over that at T/10, N = 1000",
                         ac_trial_get1(rec, "T", j)),
                     w, 10.0, e0 / e1, AC_METRIC_REL, CF_RATE_TOL,
                     "the next term is O(T/(u lambda_min)) <= 1e-2 relative; the rest is the cubic's rounding");
    }
    ac_claim_add(res, "lambda_min(C) of the path kernel", "", NAN, ac_trial_get1(rec, "lmin", 0), AC_METRIC_INFO,
                 0.0, "");
    ac_claim_add(res, "r/N = Y^T C^{-1} Y / N at N = 1000", "", NAN, ac_trial_get1(rec, "r", 0) / cf_N[2],
                 AC_METRIC_INFO, 0.0, "");
    return AC_OK;
}

/* The vectors every trial of paths.closed-form records (ac_trial_def.vectors). */
static const char *const cf_vectors[] = {
    "T", "conv", "err", "lmin", "r", "tol", "tol_r", "tol_s", "u0", "u_root", "u_solver", NULL
};
static const ac_trial_def cf_trials = {
    .ntrials = trials_one, .trial = trial_cf, .rows = rows_cf,
    .vectors = cf_vectors};

/* ==== paths.theory-vs-samples (§4.1, §6) =================================== */

/* Trial i samples the width tvs_N[i] with tvs_P[i] training examples
 * (§4.1's training set drawn with per_class = tvs_P/2, seed 27: not a
 * subset of the 100, as the stream's layout depends on per_class); the rate is judged between the last two, (50, 50) and (100,
 * 100), both alpha = 1 (see MC_Z), which mix within the default budget
 * ((200, 200) costs ~4x (100, 100)); N = 10 does not mix at default size,
 * and at alpha = 10 it is far from the O(1/N) regime. */
#define TVS_NW 3
static const double tvs_N[TVS_NW] = {10, 50, 100};
static const int tvs_P[TVS_NW] = {AC_PATHS_MARKOV_P_TRAIN, AC_PATHS_MARKOV_P_TRAIN / 2, AC_PATHS_MARKOV_P_TRAIN};
/* The spec's reference run (§4.1 [run]): theory and HMC accuracy and mean
 * test variance at N = 10, 100, shown beside ours (NAN: none). */
static const double ref_tvs[TVS_NW][4] = {
    {0.964, 0.957, 0.237, 0.248}, {0.911, 0.901, 0.350, 0.365}, {NAN, NAN, NAN, NAN}};

static int trials_tvs(const ac_run_opts *o)
{
    (void)o;
    return TVS_NW;
}

/* task_init with P training examples (P/2 per class, drawn as §4.1's
 * training set with that per_class) instead of §4.1's 100. */
static ac_status tvs_task_init(task *k, int P, int stride, ac_msg *msg)
{
    ac_status st = task_init(k, AC_PATHS_NET_FOUR_PATHS, 1.0, stride, msg);
    if (st != AC_OK || P == k->tr.P)
        return st;
    ac_paths_markov_settings tr;
    ac_paths_markov_settings_default(&tr);
    tr.per_class = P / 2;
    ac_paths_markov_data_clear(&k->tr);
    st = ac_paths_markov_data_init(&k->tr, &tr, msg);
    if (st == AC_OK)
        st = ac_paths_markov_phi(&k->s, k->heads, &k->tr, k->Phi, msg); /* fits: P < 100 */
    if (st != AC_OK)
        task_clear(k);
    return st;
}

/* The theory's numbers at width N on the task's kept test points: accuracy,
 * mean test variance, U_1 (np x np). */
static ac_status tvs_theory(task *k, double N, double *acc, double *var, double *U1, ac_msg *msg)
{
    int Pt = k->te.P, np = k->np;
    double *U = malloc(sizeof(double) * ac_paths_u_size(&k->s));
    double *m = malloc(sizeof(double) * (size_t)Pt * 2);
    if (!U || !m) {
        free(U), free(m);
        return ac_fail(msg, AC_ENOMEM, "no memory for the theory");
    }
    ac_paths_info info = {0};
    ac_status st = task_theory(k, N, U, m, m + Pt, &info, msg);
    if (st == AC_OK && N > 0 && info.min.status != AC_MIN_CONVERGED)
        st = ac_fail(msg, AC_ENOCONV, "the saddle point at width %g ended %s with |grad| %g", N,
                     ac_min_status_str(info.min.status), info.min.grad_norm);
    if (st == AC_OK) {
        *acc = accuracy(Pt, m, k->te.Y);
        *var = mean_of(Pt, m + Pt);
        if (U1)
            memcpy(U1, U + ac_paths_u_offset(&k->s, 1), sizeof(double) * (size_t)np * np);
    }
    free(U), free(m);
    return st;
}

/* Records of trial i (width N = tvs_N[i]):
 *   theory "acc_th", "var_th", "u_th" (U_1);
 *   sampled "acc_s", "undecided" (test points whose sampled mean is within
 *   MC_Z standard errors of 0), "var_s", "var_mcse", "u_s", "u_mcse";
 *   diagnostics "mixed", "rhat_max", "ess_min", "outcome", "sweeps",
 *   "ntest", "ptrain" (= tvs_P[i]);
 *   trial 0 also the theory curve "curve_N", "curve_acc" and "acc_gp"
 *   (not at quick size). */
static ac_status trial_tvs(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    ac_paths_claim_setup su = setup_of(o->size);
    double N = tvs_N[t->index];
    task k;
    ac_status st = tvs_task_init(&k, tvs_P[t->index], su.gibbs_test_stride[t->index], msg);
    if (st != AC_OK)
        return st;
    int P = k.tr.P, Pt = k.te.P, np = k.np, np2 = np * np;
    double acc_th, var_th, u_th[AC_PATHS_MARKOV_MAX_HEADS * AC_PATHS_MARKOV_MAX_HEADS];
    ac_trial_enter(t, AC_TRIAL_THEORY);
    st = tvs_theory(&k, N, &acc_th, &var_th, u_th, msg);
    double curve[AC_PATHS_CLAIM_NWIDTH], gp = NAN, v;
    /* the theory curve of the figure (not at quick size) */
    int curve_n = o->size == AC_SIZE_QUICK ? 0 : su.nwidth;
    for (int j = 0; t->index == 0 && curve_n && j <= su.nwidth && st == AC_OK; j++)
        st = tvs_theory(&k, j < su.nwidth ? su.width[j] : 0.0, j < su.nwidth ? &curve[j] : &gp, &v, NULL, msg);
    ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
    ac_paths_gibbs_settings gs;
    ac_paths_gibbs_settings_default(&gs);
    ac_paths_markov_network(k.net, N, &gs.net, k.heads);
    gs.chains = su.gibbs_chains, gs.burn = su.gibbs_burn[t->index], gs.keep = su.gibbs_keep[t->index];
    ac_paths_gibbs *g = st == AC_OK ? ac_paths_gibbs_alloc(&gs, P, Pt, N0) : NULL;
    double *buf = malloc(sizeof(double) * ((size_t)Pt * 4 + (size_t)np2 * 4));
    if (st == AC_OK && (!g || !buf))
        st = ac_fail(msg, AC_ENOMEM, "no memory for the sampler at width %g", N);
    if (st == AC_OK)
        st = ac_paths_gibbs_set(g, k.Phi, k.tr.Y, k.Phit, t->r, msg);
    if (st == AC_OK)
        st = ac_paths_gibbs_run(g, t->r, msg);
    ac_paths_gibbs_info info;
    if (st == AC_OK)
        st = ac_paths_gibbs_info_get(g, &info);
    ac_trial_enter(t, AC_TRIAL_OTHER);
    if (st == AC_OK && info.train.outcome != AC_TRAIN_STEP_LIMIT)
        st = ac_fail(msg, AC_ENUMERIC, "the sampler at width %g ended %s after %ld sweeps", N,
                     ac_train_outcome_str(info.train.outcome), info.train.steps);
    if (st == AC_OK) {
        double *mean = buf, *var = buf + Pt, *rh = buf + 2 * Pt, *es = buf + 3 * Pt;
        double *us = buf + 4 * Pt, *urh = us + np2, *ues = urh + np2, *usd = ues + np2;
        ac_paths_gibbs_test_stats(g, mean, var, rh, es);
        ac_paths_gibbs_u1(g, us, urh, ues);
        ac_paths_gibbs_u1_sd(g, usd);
        int und = 0;
        for (int m = 0; m < Pt; m++)
            und += fabs(mean[m]) <= MC_Z * sqrt(var[m] / es[m]);
        for (int e = 0; e < np2; e++)
            usd[e] /= sqrt(ues[e]); /* now the mcse */
        double rmax = ac_max_keep_nan(ac_max_keep_nan(info.mean_rhat_max, info.var_mean.rhat), info.u_rhat_max);
        double emin = ac_min_keep_nan(ac_min_keep_nan(info.mean_ess_min, info.var_mean.ess), info.u_ess_min);
        const struct {
            const char *name;
            double v;
        } q[] = {{"acc_th", acc_th},
                 {"var_th", var_th},
                 {"acc_s", accuracy(Pt, mean, k.te.Y)},
                 {"undecided", und},
                 {"var_s", info.var_mean.value},
                 {"var_mcse", info.var_mean.mcse},
                 {"mixed", info.mixed},
                 {"rhat_max", rmax},
                 {"ess_min", emin},
                 {"sweeps", info.train.steps},
                 {"ntest", Pt},
                 {"ptrain", P}};
        for (size_t j = 0; j < sizeof q / sizeof q[0]; j++)
            ac_trial_put1(t->rec, q[j].name, q[j].v);
        ac_trial_put(t->rec, "u_th", np2, u_th);
        ac_trial_put(t->rec, "u_s", np2, us);
        ac_trial_put(t->rec, "u_mcse", np2, usd);
        if (t->index == 0 && curve_n) {
            ac_trial_put(t->rec, "curve_N", su.nwidth, su.width);
            ac_trial_put(t->rec, "curve_acc", su.nwidth, curve);
            ac_trial_put1(t->rec, "acc_gp", gp);
        }
    }
    ac_paths_gibbs_free(g);
    free(buf);
    task_clear(&k);
    return st;
}

/* Path names in code order (§4.1): good, good -> random 2, denoising,
 * random -> random. */
static const char *const path_name[4] = {"g", "g>r2", "dn", "r1>r2"};

/* One quantity's rows: the gap sampled - theory at each width (INFO, with
 * its z-score), and the rate N |gap| not growing between the last two
 * widths (judged where both are mixed).  th[i], sa[i]: theory and sampled
 * value at width i; se[i]: the sampled value's error (an MC standard error,
 * or for the accuracy a bound already at MC_Z, flagged by se_is_bound). */
static void tvs_rate_rows(ac_claim_result *res, const char *name, const char *theory_text, const double *th,
                          const double *sa, const double *se, int se_is_bound, const int *mixed, int nw)
{
    char q[AC_CLAIM_TEXT], why[AC_CLAIM_REASON];
    for (int i = 0; i < nw; i++) {
        double gap = sa[i] - th[i];
        snprintf(why, sizeof why,
                 "%s; gap sampled - theory %.4g, %s %.4g (%s): a saddle point is exact only as N, P -> infinity "
                 "at fixed alpha, so a gap at one width is shown, not judged",
                 mixed[i] ? "chains mixed" : "chains not mixed", gap, se_is_bound ? "MC bound" : "z =",
                 se_is_bound ? se[i] : gap / se[i], se_is_bound ? "undecided test points" : "ESS-based SE");
        ac_claim_add(res, fmt(q, sizeof q, "%s, N = %g, P = %d", name, tvs_N[i], tvs_P[i]), theory_text, th[i],
                     sa[i], AC_METRIC_INFO, 0.0, why);
    }
    int a = nw - 2, b = nw - 1;
    double Na = tvs_N[a], Nb = tvs_N[b];
    double ea = Na * fabs(sa[a] - th[a]), eb = Nb * fabs(sa[b] - th[b]);
    /* |x| is 1-Lipschitz, so N |gap| carries at most N times the gap's
     * error; bounds add, standard errors add in quadrature (independent
     * chains per width) */
    double tol = se_is_bound ? Na * se[a] + Nb * se[b] : MC_Z * hypot(Na * se[a], Nb * se[b]);
    /* The row must tell c/N from a gap that does not shrink: that
     * alternative puts N |gap| at N_b at (N_b/N_a) ea, an excess (N_b/N_a -
     * 1) ea over the bar.  When tol is not below it, a pass says nothing
     * (the MC error hides both), so the row is then INFO; a growth beyond tol
     * still fails. */
    double alt = (Nb / Na - 1.0) * ea;
    int mixed_ab = mixed[a] && mixed[b], resolved = tol < alt, grew = eb - ea > tol;
    int judged = mixed_ab && (resolved || grew);
    double alpha = tvs_P[b] / Nb;
    if (judged)
        snprintf(why, sizeof why,
                 "theory gap c(alpha)/N at fixed alpha = P/N = %g: N |gap| at N = %g must not exceed its value at "
                 "N = %g (%.4g) by more than %s (%.4g; a gap that did not shrink would exceed it by %.4g)",
                 alpha, Nb, Na, ea, se_is_bound ? "N x the undecided-point bound at each width" : "3.5 MC SE of the difference",
                 tol, alt);
    else if (mixed_ab)
        snprintf(why, sizeof why,
                 "not judged: not resolved by the Monte-Carlo error -- its tolerance %.4g (%s) is not below %.4g, "
                 "the excess a gap that did not shrink from N = %g to %g would give, so c(alpha)/N at alpha = %g "
                 "and O(1) both pass",
                 tol, se_is_bound ? "N x the undecided-point bound at each width" : "3.5 MC SE of the difference",
                 alt, Na, Nb, alpha);
    else
        snprintf(why, sizeof why, "not judged: chains not mixed at N = %g or N = %g", Na, Nb);
    ac_claim_add(res, fmt(q, sizeof q, "N |gap| of %s, (N, P) = (%g, %d) vs (%g, %d)", name, Nb, tvs_P[b], Na, tvs_P[a]),
                 "N |gap| at the smaller N", ea, eb, judged ? AC_METRIC_AT_MOST : AC_METRIC_INFO, tol, why);
}

static ac_status rows_tvs(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)msg;
    ac_paths_claim_setup su = setup_of(o->size);
    char q[AC_CLAIM_TEXT], w[AC_CLAIM_TEXT];
    snprintf(res->setup, sizeof res->setup,
             "spec 4.1 Markov task, 4 paths, T = %g; blocked Gibbs (exact Gaussian conditionals), %d "
             "chains from prior draws, seed %lu+i for width i; training examples, burn-in/kept sweeps per chain and "
             "test stride: N = %g: P = %d, %ld/%ld/%d; N = %g: P = %d, %ld/%ld/%d; N = %g: P = %d, %ld/%ld/%d; mixed "
             "where every number's split R-hat < %g and ESS >= %g; the gap theory - samples at each width is INFO "
             "(the saddle point is exact only as N, P -> infinity at fixed alpha = P/N); judged: N |gap| does not "
             "grow from (N, P) = (%g, %d) to (%g, %d), both alpha = 1 (one-sided, %g MC SE), where that tolerance is below "
             "the excess of a gap that does not shrink (else INFO unless N |gap| grew beyond it)",
             AC_PATHS_MARKOV_T, su.gibbs_chains, o->seed, tvs_N[0], tvs_P[0], su.gibbs_burn[0], su.gibbs_keep[0],
             su.gibbs_test_stride[0], tvs_N[1], tvs_P[1], su.gibbs_burn[1], su.gibbs_keep[1],
             su.gibbs_test_stride[1], tvs_N[2], tvs_P[2], su.gibbs_burn[2], su.gibbs_keep[2],
             su.gibbs_test_stride[2], AC_PATHS_GIBBS_RHAT_OK, AC_PATHS_GIBBS_ESS_OK, tvs_N[TVS_NW - 2],
             tvs_P[TVS_NW - 2], tvs_N[TVS_NW - 1], tvs_P[TVS_NW - 1], MC_Z);
    int nw = set->nrec < TVS_NW ? set->nrec : TVS_NW;
    double sx[TVS_NW], sy[TVS_NW], slo[TVS_NW], shi[TVS_NW];
    int ns = 0;
    if (nw == TVS_NW) {
        double th[TVS_NW], sa[TVS_NW], se[TVS_NW];
        int mixed[TVS_NW];
        for (int i = 0; i < nw; i++)
            mixed[i] = ac_trial_get1(&set->rec[i], "mixed", 0) == 1.0;
        /* accuracy */
        for (int i = 0; i < nw; i++) {
            const ac_trial_record *rec = &set->rec[i];
            th[i] = ac_trial_get1(rec, "acc_th", 0), sa[i] = ac_trial_get1(rec, "acc_s", 0);
            se[i] = ac_trial_get1(rec, "undecided", 0) / ac_trial_get1(rec, "ntest", 0);
            sx[ns] = tvs_N[i], sy[ns] = sa[i], slo[ns] = sa[i] - se[i], shi[ns] = sa[i] + se[i], ns++;
        }
        snprintf(w, sizeof w, "theory (spec run at N = 10, 100: theory %.3f, %.3f; HMC %.3f, %.3f on 1000 points)",
                 ref_tvs[0][0], ref_tvs[1][0], ref_tvs[0][1], ref_tvs[1][1]);
        tvs_rate_rows(res, "sampled accuracy", w, th, sa, se, 1, mixed, nw);
        /* mean test variance */
        for (int i = 0; i < nw; i++) {
            const ac_trial_record *rec = &set->rec[i];
            th[i] = ac_trial_get1(rec, "var_th", 0), sa[i] = ac_trial_get1(rec, "var_s", 0);
            se[i] = ac_trial_get1(rec, "var_mcse", 0);
        }
        snprintf(w, sizeof w, "theory K(x,x) - k'Gk (spec run at N = 10, 100: theory %.3f, %.3f; HMC %.3f, %.3f)",
                 ref_tvs[0][2], ref_tvs[1][2], ref_tvs[0][3], ref_tvs[1][3]);
        tvs_rate_rows(res, "mean test variance", w, th, sa, se, 0, mixed, nw);
        /* U_1, upper triangle */
        for (int a = 0; a < 4; a++)
            for (int b = a; b < 4; b++) {
                int e = a * 4 + b;
                for (int i = 0; i < nw; i++) {
                    th[i] = ac_trial_get1(&set->rec[i], "u_th", e), sa[i] = ac_trial_get1(&set->rec[i], "u_s", e);
                    se[i] = ac_trial_get1(&set->rec[i], "u_mcse", e);
                }
                tvs_rate_rows(res, fmt(q, sizeof q, "U_1[%s, %s]", path_name[a], path_name[b]), "saddle point", th,
                              sa, se, 0, mixed, nw);
            }
    }
    for (int i = 0; i < nw; i++) {
        const ac_trial_record *rec = &set->rec[i];
        double N = tvs_N[i];
        ac_claim_add(res, fmt(q, sizeof q, "max split R-hat, N = %g", N), "< " STR(AC_PATHS_GIBBS_RHAT_OK), NAN,
                     ac_trial_get1(rec, "rhat_max", 0), AC_METRIC_INFO, 0.0, "");
        ac_claim_add(res, fmt(q, sizeof q, "min ESS, N = %g", N), ">= " STR(AC_PATHS_GIBBS_ESS_OK), NAN,
                     ac_trial_get1(rec, "ess_min", 0), AC_METRIC_INFO, 0.0, "");
        add_count(res, fmt(q, sizeof q, "sweeps per chain, N = %g", N), ac_trial_get1(rec, "sweeps", 0), "");
    }
    /* figures */
    ac_figure *f = ac_claim_add_figure(res, "paths-theory-vs-samples-accuracy",
                                       "Markov task: accuracy against width, theory and Gibbs samples", "width N",
                                       "test accuracy", 1, 0);
    if (set->nrec > 0) {
        const ac_trial_vec *cN = ac_trial_get(&set->rec[0], "curve_N"), *ca = ac_trial_get(&set->rec[0], "curve_acc");
        if (cN && ca) {
            ac_figure_add_series(f, "theory", cN->n, cN->v, ca->v, NULL, NULL);
            double gx[2] = {cN->v[0], cN->v[cN->n - 1]}, gy[2];
            gy[0] = gy[1] = ac_trial_get1(&set->rec[0], "acc_gp", 0);
            ac_figure_add_series(f, "GP limit", 2, gx, gy, NULL, NULL);
        }
    }
    ac_figure_add_series(f, "Gibbs samples (band: undecided points)", ns, sx, sy, slo, shi);
    ac_figure *fu = ac_claim_add_figure(res, "paths-theory-vs-samples-u1",
                                        "U_1 entries (upper triangle, row by row: g, g>r2, dn, r1>r2)",
                                        "entry index", "U_1 entry", 0, 0);
    for (int i = 0; i < nw; i++) {
        const ac_trial_record *rec = &set->rec[i];
        double x[10], yt[10], ys[10], lo[10], hi[10];
        int n = 0;
        for (int a = 0; a < 4; a++)
            for (int b = a; b < 4; b++, n++) {
                int e = a * 4 + b;
                double mc = MC_Z * ac_trial_get1(rec, "u_mcse", e);
                x[n] = n + 1;
                yt[n] = ac_trial_get1(rec, "u_th", e);
                ys[n] = ac_trial_get1(rec, "u_s", e);
                lo[n] = ys[n] - mc, hi[n] = ys[n] + mc;
            }
        ac_figure_add_series(fu, fmt(q, sizeof q, "theory, N = %g", tvs_N[i]), n, x, yt, NULL, NULL);
        ac_figure_add_series(fu, fmt(q, sizeof q, "sampled, N = %g (band %g MC SE)", tvs_N[i], MC_Z), n, x, ys, lo,
                             hi);
    }
    return AC_OK;
}

/* The vectors every trial of paths.theory-vs-samples records (ac_trial_def.vectors).
 * Left out, as only some trials record them: curve_* and acc_gp, trial 0's curve. */
static const char *const tvs_vectors[] = {
    "acc_s", "acc_th", "ess_min", "mixed", "ntest", "ptrain", "rhat_max", "sweeps", "u_mcse", "u_s", "u_th",
    "undecided", "var_mcse", "var_s", "var_th", NULL
};
static const ac_trial_def tvs_trials = {
    .ntrials = trials_tvs, .trial = trial_tvs, .rows = rows_tvs,
    .vectors = tvs_vectors};

const ac_claim_def ac_paths_claims[AC_PATHS_NCLAIMS] = {
    {.id = "paths.accuracy-vs-width",
     .paper = "paths",
     .statement = "Finite width beats the GP limit on the Markov task: theory accuracy FW(10) > FW(100) > FW(1000) > "
                  "GP, with the values of the spec's section 4.1 tables (all paths; Fig. 2e's two paths with "
                  "sigma_perp = 5; the GP lines of single-path and good + denoising networks)",
     .trials = &acc_trials,
     .regress_rtol = AC_PATHS_REGRESS_RTOL,
     .regress_reason = AC_PATHS_REGRESS_REASON},
    {.id = "paths.kernel-combination",
     .paper = "paths",
     .statement = "At finite width the renormalised kernel K(U) combines the path-path kernels so that its top "
                  "principal components align with the labels better than the GP kernel's",
     .trials = &kern_trials,
     .regress_rtol = AC_PATHS_REGRESS_RTOL,
     .regress_reason = AC_PATHS_REGRESS_REASON},
    {.id = "paths.gp-limit",
     .paper = "paths",
     .statement = "As the width grows (alpha = P/N -> 0) the saddle point tends to the GP values U_l = "
                  "sigma_a^2 prod sigma_k^2 I and the predictor to GP regression with the path-averaged kernel",
     .trials = &gp_trials,
     .regress_rtol = AC_PATHS_REGRESS_RTOL,
     .regress_reason = AC_PATHS_REGRESS_REASON},
    {.id = "paths.closed-form",
     .paper = "paths",
     .statement = "With one layer and one head the general solver gives the scalar order parameter of the "
                  "closed form, which tends to the root of u^{3/2} = (1 - alpha) u + r/N as T -> 0",
     .trials = &cf_trials,
     .regress_rtol = AC_PATHS_REGRESS_RTOL,
     .regress_reason = AC_PATHS_REGRESS_REASON},
    {.id = "paths.theory-vs-samples",
     .paper = "paths",
     .statement = "The theory's accuracy, mean test variance and order parameter U_1 agree with the finite-width "
                  "network's Bayesian posterior, sampled by Gibbs, as N and P grow at fixed alpha = P/N: judged where the "
                  "Monte-Carlo error resolves it, the O(1/N) rate (N |gap| does not grow from (N, P) = (50, 50) to "
                  "(100, 100)); the gap at each width ((N, P) = (10, 100), (50, 50), (100, 100)) is shown",
     .trials = &tvs_trials,
     .regress_rtol = AC_PATHS_REGRESS_RTOL,
     .regress_reason = AC_PATHS_REGRESS_REASON},
    {.id = "paths.head-pruning",
     .paper = "paths",
     .statement = AC_PATHS_PRUNING_STATEMENT,
     .trials = &ac_paths_pruning_trials,
     .regress_rtol = AC_PATHS_REGRESS_RTOL,
     .regress_reason = AC_PATHS_REGRESS_REASON},
    {.id = "paths.digits",
     .paper = "paths",
     .statement = AC_PATHS_DIGITS_STATEMENT,
     .trials = &ac_paths_digits_trials,
     .regress_rtol = AC_PATHS_REGRESS_RTOL,
     .regress_reason = AC_PATHS_REGRESS_REASON},
};
