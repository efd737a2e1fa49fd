/* The Graph-SVM claims through the trial harness (verify/svm_claims.h,
 * verify/trial.h), and their measurements under planted faults
 * (verify/svm_measure.h). */
#include <criterion/criterion.h>
#include <gsl/gsl_fit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "claim_compare.h"
#include "testutil.h"
#include "solvers/linalg.h"
#include "verify/svm_claims.h"
#include "verify/svm_measure.h"
#include "verify/trial.h"

/* Every svm claim's table from split runs equals the one-run table bit for
 * bit: the basis of sweeps over many machines. */
Test(svm_claims, split_trials_reproduce_every_table_bit_for_bit)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = ac_test_seed(3)};
    for (int i = 0; i < AC_SVM_NCLAIMS; i++) {
        const ac_claim_def *c = &ac_svm_claims[i];
        const ac_trial_def *def = c->trials;
        cr_assert_not_null(def, "%s has no trials", c->id);
        ac_claim_result full, part;
        cr_assert_eq(ac_claim_run(c, &o, &full), AC_OK, "%s", full.error);
        int n = def->ntrials(&o), k = n > 1 ? 1 : n;
        ac_test_split_rows(c, &o, k, &part);
        ac_test_same_result(&full, &part, c->id);
        ac_claim_result_clear(&full);
        ac_claim_result_clear(&part);
    }
}

/* ---- measurements under planted violations ----
 *
 * Each test plants a violation of known size in a measurement's input and
 * checks that the measurement reports it (so a measurement replaced by 0
 * fails the test), then plants the measured value in a claim's trial record
 * and checks that the claim's row fails where the unplanted one passes. */

/* A cyclic instance with its theory and a nontrivial S_fin (the generator
 * guarantees a nontrivial SCC), drawn as trial 0 of seed `seed`. */
static void cyclic_instance(unsigned long seed, ac_svm_instance *I)
{
    ac_svm_setup su;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_svm_claim_setup("cyclic", AC_SIZE_QUICK, &su), AC_OK);
    gsl_rng *r = ac_trial_rng_alloc(seed, 0);
    cr_assert_eq(ac_svm_instance_draw(I, r, &su, AC_SVM_GEN_CYCLIC, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_svm_instance_theory(I, &msg), AC_OK, "%s", msg.text);
    cr_assert_gt(I->th.S->dim, 0, "seed %lu: S_fin = {0}", seed);
    gsl_rng_free(r);
}

/* A unit-norm random d x d matrix; projected on S_fin first when in_sfin. */
static void unit_direction(const ac_svm_instance *I, gsl_rng *r, int in_sfin, double *D)
{
    int dd = I->d * I->d;
    for (int j = 0; j < dd; j++)
        D[j] = gsl_ran_gaussian(r, 1.0);
    if (in_sfin)
        cr_assert_eq(ac_tpg_sfin_project(I->th.S, D, D, NULL), AC_OK);
    double n = ac_la_nrm2(D, dd);
    for (int j = 0; j < dd; j++)
        D[j] /= n;
}

/* Plant value as scalar `name` of record 1 of a fresh quick run of id and
 * return the verdict of `row`; the unplanted run must pass it. */
static ac_verdict planted_verdict(const char *id, const char *name, double value, const char *row)
{
    ac_trial_set set;
    ac_test_quick_set(id, &set);
    cr_assert_eq(ac_test_row_verdict(id, &set, row), AC_VERDICT_PASS, "%s: '%s' fails unplanted", id, row);
    *ac_test_entry(&set, 1, name, 0) = value;
    ac_verdict v = ac_test_row_verdict(id, &set, row);
    ac_trial_set_clear(&set);
    return v;
}

/* Differences below this are rounding: the instance's own residuals are
 * 1e-12 (the QP's stopping level), the planted sizes 1e-3 and more. */
#define PLANT_TOL 1e-9
/* Rounding allowances of the identities checked below (DBL_EPSILON 2.2e-16):
 *   ROUND_UNIT   a quantity of size <= 1 (a corr, a mean leakage, R's
 *                relative error) reached by two summation orders of at most
 *                d^2 = 64 terms: 64 eps = 1.4e-14, so 1e-12 leaves x70;
 *   ROUND_FIT    quantities up to ~100 (R up to 40, log-leakages R m up to
 *                ~70, least-squares slopes over 21-51 such points): 100 x 64
 *                eps = 1.4e-12, so 1e-9 leaves x700;
 *   ROUND_FLOOR  corr with the AC_SVM_CORR_FLOOR (1e-8) against corr
 *                without it: they differ by at most floor (1/||a|| + 1/||b||),
 *                below 1e-6 for norms >= 0.02;
 *   ROUND_LEAK   relative: the model's attention against the leakage from
 *                token logits of size up to ~100 (R |U|): each exp's argument
 *                carries ~100 eps, 2e-14, relative; 1e-6 also absorbs the
 *                leak being a difference 1 - mass of sums over <= T terms
 *                (cancellation at most 1/leak ~ 1e6 x eps = 2e-10). */
#define ROUND_UNIT 1e-12
#define ROUND_FIT 1e-9
#define ROUND_FLOOR 1e-6
#define ROUND_LEAK 1e-6
#define NCHECK_QUARTER (AC_SVM_NCHECK / 4)

Test(svm_measure, s1_s2_report_a_planted_violation_of_its_size)
{
    gsl_rng *r = ac_test_rng(41);
    ac_svm_instance I;
    cyclic_instance(ac_test_seed(2), &I);
    int dd = I.d * I.d;
    double eps = 1.7312e-3, *W = malloc(sizeof(double) * (size_t)dd * 2), *D = W + dd;
    ac_svm_structure a;
    ac_svm_structure_init(&a);
    cr_assert_eq(ac_svm_check_s1_s2(&I, I.th.Wsvm, &a), AC_OK);
    cr_assert(a.stat < PLANT_TOL && a.ineq < PLANT_TOL && a.sfin < PLANT_TOL && a.eq < PLANT_TOL && a.lam_min >= 0);
    /* stationarity: W_svm + eps D, D a unit direction */
    unit_direction(&I, r, 0, D);
    for (int j = 0; j < dd; j++)
        W[j] = I.th.Wsvm[j] + eps * D[j];
    ac_svm_structure_init(&a);
    cr_assert_eq(ac_svm_check_s1_s2(&I, W, &a), AC_OK);
    cr_assert_float_eq(a.stat, eps, PLANT_TOL, "S2 stationarity %.17g for a planted %g", a.stat, eps);
    cr_assert_eq(planted_verdict("svm.structure", "stat", a.stat, "S2 worst ||W_svm"), AC_VERDICT_FAIL);
    /* feasibility: (1 - eps) W_svm leaves every active inequality at 1 - eps */
    for (int j = 0; j < dd; j++)
        W[j] = (1.0 - eps) * I.th.Wsvm[j];
    ac_svm_structure_init(&a);
    cr_assert_eq(ac_svm_check_s1_s2(&I, W, &a), AC_OK);
    cr_assert_float_eq(a.ineq, eps, PLANT_TOL, "S1 inequality %.17g for a planted %g", a.ineq, eps);
    cr_assert_gt(a.compl, eps * 0.5, "complementarity sees it too: %g", a.compl);
    cr_assert_eq(planted_verdict("svm.structure", "ineq", a.ineq, "S1 worst inequality"), AC_VERDICT_FAIL);
    cr_assert_eq(planted_verdict("svm.structure", "compl", a.compl, "S2 worst |lambda_c"), AC_VERDICT_FAIL);
    /* orthogonality to S_fin: W_svm + eps P, P a unit direction in S_fin */
    unit_direction(&I, r, 1, D);
    for (int j = 0; j < dd; j++)
        W[j] = I.th.Wsvm[j] + eps * D[j];
    ac_svm_structure_init(&a);
    cr_assert_eq(ac_svm_check_s1_s2(&I, W, &a), AC_OK);
    cr_assert_float_eq(a.sfin, eps, PLANT_TOL, "S1 ||P_fin W|| %.17g for a planted %g", a.sfin, eps);
    cr_assert_gt(a.eq, PLANT_TOL, "equalities see a move inside S_fin: %g", a.eq);
    cr_assert_eq(planted_verdict("svm.structure", "sfin", a.sfin, "S1 worst ||P_fin W_svm||"), AC_VERDICT_FAIL);
    cr_assert_eq(planted_verdict("svm.structure", "eq", a.eq, "S1 worst equality"), AC_VERDICT_FAIL);
    /* a negative multiplier on an inequality */
    int c = 0;
    while (c < I.th.C.m && I.th.C.is_eq[c])
        c++;
    cr_assert_lt(c, I.th.C.m);
    I.th.lambda[c] = -eps;
    ac_svm_structure_init(&a);
    cr_assert_eq(ac_svm_check_s1_s2(&I, I.th.Wsvm, &a), AC_OK);
    cr_assert_eq(a.lam_min, -eps);
    cr_assert_eq(planted_verdict("svm.structure", "lam_min", a.lam_min, "S2 smallest"), AC_VERDICT_FAIL);
    free(W);
    ac_svm_instance_clear(&I);
    gsl_rng_free(r);
}

/* A NaN W_svm or multiplier is a violation, not nothing: every worst case
 * it reaches is NaN (fmax and fmin would drop it and leave each at its
 * start, 0, and every S1/S2 row would pass), and the row built from it
 * fails. */
Test(svm_measure, s1_s2_keep_a_nan_solution)
{
    ac_svm_instance I;
    cyclic_instance(ac_test_seed(2), &I);
    int dd = I.d * I.d;
    double *W = malloc(sizeof(double) * (size_t)dd);
    memcpy(W, I.th.Wsvm, sizeof(double) * (size_t)dd);
    W[0] = NAN;
    ac_svm_structure a;
    ac_svm_structure_init(&a);
    cr_assert_eq(ac_svm_check_s1_s2(&I, W, &a), AC_OK);
    cr_assert(isnan(a.ineq) && isnan(a.eq) && isnan(a.stat) && isnan(a.sfin) && isnan(a.compl),
              "ineq %g eq %g stat %g sfin %g compl %g", a.ineq, a.eq, a.stat, a.sfin, a.compl);
    cr_assert_eq(planted_verdict("svm.structure", "ineq", a.ineq, "S1 worst inequality"), AC_VERDICT_FAIL);
    int c = 0;
    while (c < I.th.C.m && I.th.C.is_eq[c])
        c++;
    cr_assert_lt(c, I.th.C.m);
    I.th.lambda[c] = NAN;
    ac_svm_structure_init(&a);
    cr_assert_eq(ac_svm_check_s1_s2(&I, I.th.Wsvm, &a), AC_OK);
    cr_assert(isnan(a.lam_min) && isnan(a.compl), "lam_min %g compl %g", a.lam_min, a.compl);
    cr_assert_eq(planted_verdict("svm.structure", "lam_min", a.lam_min, "S2 smallest"), AC_VERDICT_FAIL);
    free(W);
    ac_svm_instance_clear(&I);
}

/* S4 with the gradient of the full loss instead of the reduced one (it has
 * a W_svm part, outside S_fin); S5 with a non-convex loss (squared loss). */
Test(svm_measure, s4_s5_report_a_loss_that_is_not_the_theorys)
{
    ac_svm_instance I;
    cyclic_instance(ac_test_seed(2), &I);
    gsl_rng *r = ac_test_rng(43);
    ac_svm_structure a, b, c;
    ac_svm_structure_init(&a), ac_svm_structure_init(&b), ac_svm_structure_init(&c);
    const ac_tpg_data *red = I.th.Dred->data;
    const int *q = I.th.Dred->last;
    cr_assert_eq(ac_svm_check_s4_s5(&I, r, red, q, AC_SVM_HEAD_IDENTITY, &a), AC_OK);
    cr_assert(a.s4 < 1e-12 && a.s5 <= a.s5_tol, "the theory's loss: s4 %g, s5 %g", a.s4, a.s5);
    cr_assert_eq(ac_svm_check_s4_s5(&I, r, I.D, NULL, AC_SVM_HEAD_IDENTITY, &b), AC_OK);
    cr_assert_gt(b.s4, 1e-3, "a gradient outside S_fin: s4 %g", b.s4);
    cr_assert_eq(planted_verdict("svm.structure", "s4", b.s4, "S4 worst"), AC_VERDICT_FAIL);
    cr_assert_eq(ac_svm_check_s4_s5(&I, r, red, q, AC_SVM_HEAD_GENERAL_LSQ, &c), AC_OK);
    cr_assert_gt(c.s5, c.s5_tol, "the squared loss is not convex: s5 %g", c.s5);
    cr_assert_eq(planted_verdict("svm.structure", "s5", c.s5, "S5 worst"), AC_VERDICT_FAIL);
    ac_svm_instance_clear(&I);
    gsl_rng_free(r);
}

/* At W = 0 attention is uniform over positions: the leakage is the share
 * of positions outside the label's SCC, counted here from the data. */
Test(svm_measure, leakage_at_zero_is_the_share_of_positions_outside_the_top_scc)
{
    ac_svm_instance I;
    cyclic_instance(ac_test_seed(2), &I);
    int dd = I.d * I.d;
    double *Z = calloc((size_t)dd, sizeof(double)), want = 0.0;
    for (int i = 0; i < I.D->n; i++) {
        int len = I.D->off[i + 1] - I.D->off[i], out = 0, k = I.D->tok[I.D->off[i + 1] - 1], y = I.D->label[i];
        for (int t = 0; t < len; t++) {
            int j = I.D->tok[I.D->off[i] + t];
            out += !(j == y || ac_tpg_same_scc(I.th.G, k, j, y));
        }
        want += (double)out / len;
    }
    want /= I.D->n;
    cr_assert_gt(want, 0.05, "the instance leaks at W = 0");
    double got = ac_svm_mean_leak(&I, Z);
    cr_assert_float_eq(got, want, 1e-15, "mean leakage %.17g, counted %.17g", got, want);
    free(Z);
    ac_svm_instance_clear(&I);
    /* the direction claims judge the leakage's fall over the run: a mass at
     * the end 1.25 times that at a quarter (0.25 above the exact bound 1)
     * fails, on either kind of data */
    cr_assert_eq(planted_verdict("svm.direction-acyclic", "leak_ratio", 1.25, "worst-trial ratio (mass outside"),
                 AC_VERDICT_FAIL);
    cr_assert_eq(planted_verdict("svm.direction-cyclic", "leak_ratio", 1.25, "worst-trial ratio (mass outside"),
                 AC_VERDICT_FAIL);
}

/* W = W_fin + R W_svm + eps N with N orthogonal to both: R is recovered
 * exactly and corr(W, W_fin + R W_svm) = |Wd| / sqrt(|Wd|^2 + eps^2). */
Test(svm_measure, decomposition_recovers_r_and_sees_an_orthogonal_part)
{
    ac_svm_instance I;
    cyclic_instance(ac_test_seed(2), &I);
    gsl_rng *r = ac_test_rng(47);
    int dd = I.d * I.d;
    double *W = malloc(sizeof(double) * (size_t)dd * 3), *N = W + dd, *Wd = N + dd, R = 17.312, eps = 0.25;
    /* N: a random direction made orthogonal to W_fin and W_svm (Gram-Schmidt;
     * W_fin lies in S_fin, W_svm is orthogonal to it) */
    unit_direction(&I, r, 0, N);
    const double *B[2] = {I.th.Wfin, I.th.Wsvm};
    for (int b = 0; b < 2; b++) {
        double nb = ac_la_dot(B[b], B[b], dd), p = nb > 0 ? ac_la_dot(N, B[b], dd) / nb : 0.0;
        for (int j = 0; j < dd; j++)
            N[j] -= p * B[b][j];
    }
    double nn = ac_la_nrm2(N, dd);
    for (int j = 0; j < dd; j++) {
        N[j] /= nn;
        Wd[j] = I.th.Wfin[j] + R * I.th.Wsvm[j];
        W[j] = Wd[j] + eps * N[j];
    }
    cr_assert_float_eq(ac_svm_decomposition_R(&I, W), R, ROUND_UNIT * R);
    double nd = ac_la_nrm2(Wd, dd);
    double want = nd * nd / ((ac_la_nrm2(W, dd) + AC_SVM_CORR_FLOOR) * (nd + AC_SVM_CORR_FLOOR));
    cr_assert_float_eq(ac_svm_decomposition_corr(&I, W), want, ROUND_UNIT);
    cr_assert_lt(want, 1.0 - 1e-5, "the planted part is visible");
    /* the direction-cyclic row: |corr(W, W_pred) - corr(W, W_svm)| at a small
     * R, where W_fin dominates, is far above 0.01 */
    for (int j = 0; j < dd; j++)
        W[j] = I.th.Wfin[j] + 0.1 * I.th.Wsvm[j];
    double dec = fabs(ac_svm_decomposition_corr(&I, W) - ac_svm_corr(W, I.th.Wsvm, dd));
    double cw = ac_la_dot(W, I.th.Wsvm, dd) / (ac_la_nrm2(W, dd) * ac_la_nrm2(I.th.Wsvm, dd));
    cr_assert_float_eq(dec, 1.0 - cw, ROUND_FLOOR, "dec %.17g, by hand %.17g", dec, 1.0 - cw);
    cr_assert_gt(dec, 0.01);
    free(W);
    ac_svm_instance_clear(&I);
    gsl_rng_free(r);
}

/* ||P_fin W - W_fin|| for W = W_fin + eps P + s W_svm, P a unit direction in
 * S_fin: eps, whatever s (W_svm is orthogonal to S_fin). */
Test(svm_measure, fin_distance_reports_a_planted_offset_in_sfin)
{
    ac_svm_instance I;
    cyclic_instance(ac_test_seed(2), &I);
    gsl_rng *r = ac_test_rng(53);
    int dd = I.d * I.d;
    double *W = malloc(sizeof(double) * (size_t)dd * 3), *P = W + 2 * dd, eps[2] = {0.0, 0.05}, out[2];
    unit_direction(&I, r, 1, P);
    for (int c = 0; c < 2; c++)
        for (int j = 0; j < dd; j++)
            W[(size_t)c * dd + j] = I.th.Wfin[j] + eps[c] * P[j] + 17.312 * I.th.Wsvm[j];
    cr_assert_eq(ac_svm_fin_distance(&I, W, 2, I.th.Wfin, 0, out), AC_OK);
    cr_assert_lt(out[0], PLANT_TOL);
    cr_assert_float_eq(out[1], eps[1], PLANT_TOL, "distance %.17g for a planted %g", out[1], eps[1]);
    cr_assert_eq(planted_verdict("svm.finite-component", "ngd_end", out[1], "worst ||P_fin W - W_fin|| after the NGD"),
                 AC_VERDICT_FAIL);
    free(W);
    ac_svm_instance_clear(&I);
    gsl_rng_free(r);
}

/* The correlation with the authors' floor: exact identities. */
Test(svm_measure, corr_identities)
{
    double a[4] = {1.7312, -2.5, 0.25, 3.0}, b[4], z[4] = {0};
    for (int j = 0; j < 4; j++)
        b[j] = 2.0 * a[j];
    double na = ac_la_nrm2(a, 4);
    cr_assert_float_eq(ac_svm_corr(a, b, 4), 2 * na * na / ((na + AC_SVM_CORR_FLOOR) * (2 * na + AC_SVM_CORR_FLOOR)),
                       1e-15);
    cr_assert_eq(ac_svm_corr(z, z, 4), 0.0, "the floor makes 0/0 a 0");
    double o[4] = {2.5, 1.7312, 3.0, -0.25}; /* <a, o> = 0 */
    cr_assert_float_eq(ac_svm_corr(a, o, 4), 0.0, 1e-16);
}

/* The rate verdict: a leakage exp(-R m) passes; one that falls slower by a
 * planted 0.2 in the rate fails, with the slope off by 0.2. */
Test(svm_measure, rate_judge_sees_a_planted_slower_rate)
{
    enum { N = 51 };
    double R[N], L[N], m = 1.7312;
    for (int i = 0; i < N; i++) {
        R[i] = 8.0 + 0.2 * i;
        L[i] = 0.3 * exp(-R[i] * m);
    }
    ac_svm_rate v = ac_svm_rate_judge(R, L, N, m);
    cr_assert(v.pass, "dev %g tol %g", v.dev, v.tol);
    cr_assert_float_eq(v.slope, -m, ROUND_FIT);
    for (int i = 0; i < N; i++)
        L[i] *= exp(0.2 * R[i]);
    v = ac_svm_rate_judge(R, L, N, m);
    cr_assert_float_eq(v.slope, -m + 0.2, ROUND_FIT);
    cr_assert_not(v.pass, "dev %g tol %g", v.dev, v.tol);
    /* a rate still moving: ln L = -m R + q (R - 8)^2.  The least-squares
     * slope of q x^2 over evenly spaced points is q (x_first + x_last), so
     * the halves (25 and 26 points) differ by q (R_25 + R_50 - R_0 - R_24)
     * = q 0.2 (25 + 50 - 24) = 10.2 q */
    double q = 0.01;
    for (int i = 0; i < N; i++)
        L[i] = 0.3 * exp(-R[i] * m + q * (R[i] - 8.0) * (R[i] - 8.0));
    v = ac_svm_rate_judge(R, L, N, m);
    cr_assert_float_eq(v.drift, 10.2 * q, ROUND_FIT, "drift %.17g", v.drift);
    cr_assert_float_eq(v.bias, 1.0 / (exp(1.0) * 13.0), ROUND_UNIT, "mean R is 13");
}

/* The rate's tolerance is 3 se + drift + bias with se the slope's standard
 * error, reached a second way (gsl_fit_linear's cov11 and its slopes on the
 * halves), and a deviation planted 5 % past it fails while one 5 % inside
 * passes.  ln L = -m R + noise + c R: the noise (a fixed wiggle of size 0.05)
 * sets se and the drift, c the deviation; a linear term moves neither.  The
 * two computations of tol differ by rounding only: 1e-9 relative covers
 * sums of 51 terms of size O(10) in either (far below the 5 % margin). */
Test(svm_measure, rate_tolerance_is_three_standard_errors_plus_drift_and_bias)
{
    enum { N = 51, H = N / 2 };
    double R[N], y[N], L[N], m = 1.7312, c00, c01, c11, ss, a, b0, b1, bh, rbar = 0.0;
    for (int i = 0; i < N; i++) {
        R[i] = 8.0 + 0.2 * i;
        y[i] = -m * R[i] + 0.05 * sin(1.7312 * i);
        rbar += R[i] / N;
    }
    cr_assert_eq(gsl_fit_linear(R, 1, y, 1, N, &a, &b0, &c00, &c01, &c11, &ss), 0);
    double se = sqrt(c11);
    cr_assert_eq(gsl_fit_linear(R, 1, y, 1, H, &a, &b1, &c00, &c01, &c11, &ss), 0);
    cr_assert_eq(gsl_fit_linear(R + H, 1, y + H, 1, N - H, &a, &bh, &c00, &c01, &c11, &ss), 0);
    double tol = 3.0 * se + fabs(bh - b1) + 1.0 / (exp(1.0) * rbar);
    double noise_slope = b0 + m;
    for (int k = 0; k < 2; k++) {
        double c = (k ? 1.05 : 0.95) * tol - noise_slope; /* deviation |b + m| = 1.05 or 0.95 tol */
        for (int i = 0; i < N; i++)
            L[i] = exp(y[i] + c * R[i]);
        ac_svm_rate v = ac_svm_rate_judge(R, L, N, m);
        cr_assert(fabs(v.tol - tol) <= 1e-9 * tol, "tol %.17g, 3 se + drift + bias %.17g", v.tol, tol);
        cr_assert(fabs(v.se - se) <= 1e-9 * se, "se %.17g, gsl %.17g", v.se, se);
        cr_assert_eq(v.pass, !k, "deviation %.17g against tol %.17g: %s", v.dev, v.tol,
                     k ? "a planted excess of 5 %% passes" : "5 %% inside fails");
    }
}

/* Along W_pred = W_fin + R W_svm itself the measured leakage is the
 * predicted one, delta is 0, R is recovered and the rate approaches -m; a
 * slower rate planted in a trial's record fails the claim's row. */
Test(svm_measure, rate_window_along_the_prediction_and_a_planted_slower_rate)
{
    ac_svm_instance I;
    cyclic_instance(ac_test_seed(2), &I);
    gsl_rng *r = ac_test_rng(59);
    ac_svm_heldout h = {0};
    cr_assert_eq(ac_svm_heldout_draw(&I, r, 4, &h), AC_OK);
    enum { N = 21 };
    int dd = I.d * I.d, nrate;
    double *Ws = malloc(sizeof(double) * (size_t)N * dd), out[4 * N], m;
    for (int c = 0; c < N; c++)
        for (int j = 0; j < dd; j++)
            Ws[(size_t)c * dd + j] = I.th.Wfin[j] + (20.0 + c) * I.th.Wsvm[j];
    cr_assert_eq(ac_svm_rate_window(&I, &h, Ws, N, &m, &nrate, out), AC_OK);
    cr_assert_gt(nrate, 0);
    cr_assert_geq(m, 1.0 - ROUND_FIT, "a top SCC that reaches the rest has margin >= 1: %g", m);
    for (int c = 0; c < N; c++) {
        cr_assert_float_eq(out[c], 20.0 + c, ROUND_FIT);
        cr_assert_float_eq(out[N + c], out[2 * N + c], ROUND_LEAK * out[2 * N + c], "leak %g, predicted %g", out[N + c],
                           out[2 * N + c]);
        cr_assert_lt(out[3 * N + c], ROUND_FIT);
    }
    ac_svm_rate v = ac_svm_rate_judge(out, out + N, N, m);
    cr_assert(v.pass, "slope %g against -m = %g (tol %g)", v.slope, -m, v.tol);
    /* delta: W_pred + eps N with N orthogonal to W_svm (R unchanged) moves
     * the logits by eps x_t^T N xbar: delta is their largest size, counted
     * here over the held-out tokens */
    double eps = 0.03125, *Nd = malloc(sizeof(double) * (size_t)dd), *U = malloc(sizeof(double) * (size_t)I.K * I.K);
    unit_direction(&I, r, 0, Nd);
    double p = ac_la_dot(Nd, I.th.Wsvm, dd) / ac_la_dot(I.th.Wsvm, I.th.Wsvm, dd), want = 0.0;
    for (int j = 0; j < dd; j++)
        Nd[j] -= p * I.th.Wsvm[j];
    ac_tpg_token_logits(I.E, I.K, I.d, Nd, U);
    for (int s = 0; s < h.n; s++) {
        const int *tok = h.tok + (size_t)s * h.T;
        for (int t = 0; t < h.T; t++)
            want = fmax(want, eps * fabs(U[(size_t)tok[t] * I.K + tok[h.T - 1]]));
    }
    for (int c = 0; c < N; c++)
        for (int j = 0; j < dd; j++)
            Ws[(size_t)c * dd + j] += eps * Nd[j];
    cr_assert_eq(ac_svm_rate_window(&I, &h, Ws, N, &m, &nrate, out), AC_OK);
    for (int c = 0; c < N; c++)
        cr_assert_float_eq(out[3 * N + c], want, ROUND_UNIT, "delta %.17g, by hand %.17g", out[3 * N + c], want);
    cr_assert_gt(want, 1e-4);
    free(Nd), free(U);
    /* a slower rate by 0.2, planted in the records of a quick run */
    ac_trial_set set;
    ac_test_quick_set("svm.retrieval", &set);
    cr_assert_eq(ac_test_row_verdict("svm.retrieval", &set, "worst-trial |slope"), AC_VERDICT_PASS);
    const ac_trial_vec *Rv = ac_trial_get(&set.rec[1], "rate_R");
    for (int c = 0; c < Rv->n; c++)
        *ac_test_entry(&set, 1, "rate_leak", c) *= exp(0.2 * Rv->v[c]);
    cr_assert_eq(ac_test_row_verdict("svm.retrieval", &set, "worst-trial |slope"), AC_VERDICT_FAIL);
    ac_trial_set_clear(&set);
    ac_svm_heldout_clear(&h);
    free(Ws);
    ac_svm_instance_clear(&I);
    gsl_rng_free(r);
}

/* svm.norm-growth's decade row for mode after every trial's last-decade
 * slope error is set to 1.25 times its own over the decade before (a mean
 * ratio of 1.25, 0.25 above the exact bound 1); the unplanted run passes. */
static ac_verdict slope_error_rising(const char *mode)
{
    char err[AC_TRIAL_NAME], prev[AC_TRIAL_NAME], row[128];
    snprintf(err, sizeof err, "err_%s", mode);
    snprintf(prev, sizeof prev, "err_prev_%s", mode);
    snprintf(row, sizeof row, "%s: mean |slope/||W_svm|| - 1| over", mode);
    ac_trial_set set;
    ac_test_quick_set("svm.norm-growth", &set);
    cr_assert_eq(ac_test_row_verdict("svm.norm-growth", &set, row), AC_VERDICT_PASS, "%s", row);
    for (int i = 0; i < set.nrec; i++)
        *ac_test_entry(&set, i, err, 0) = 1.25 * *ac_test_entry(&set, i, prev, 0);
    ac_verdict v = ac_test_row_verdict("svm.norm-growth", &set, row);
    ac_trial_set_clear(&set);
    return v;
}

/* Rows built from planted records: corr falling over the run, the plain GD
 * distance to W_fin rising, a soft composition beyond its identity, a
 * slope error growing from one decade to the next. */
Test(svm_measure, planted_records_fail_their_rows)
{
    cr_assert_eq(planted_verdict("svm.direction-acyclic", "ratio", 1.25, "worst-trial ratio (1 - corr"),
                 AC_VERDICT_FAIL);
    /* the cyclic twin: a ratio of 1.25 is 0.25 above the exact bound 1 (the
     * row's tolerance is 0: corr must keep increasing) */
    cr_assert_eq(planted_verdict("svm.direction-cyclic", "ratio", 1.25, "worst-trial ratio (1 - corr"),
                 AC_VERDICT_FAIL);
    /* plain GD's distance to W_fin at the end 1.25 times that at a quarter
     * of the run, in one trial */
    const char *gd_row = "worst-trial ratio ||P_fin W - W_fin|| at the end";
    ac_trial_set set;
    ac_test_quick_set("svm.finite-component", &set);
    cr_assert_eq(ac_test_row_verdict("svm.finite-component", &set, gd_row), AC_VERDICT_PASS);
    *ac_test_entry(&set, 1, "gd", AC_SVM_NCHECK) = 1.25 * *ac_test_entry(&set, 1, "gd", AC_SVM_NCHECK / 4);
    cr_assert_eq(ac_test_row_verdict("svm.finite-component", &set, gd_row), AC_VERDICT_FAIL);
    ac_trial_set_clear(&set);
    cr_assert_eq(slope_error_rising("cyclic"), AC_VERDICT_FAIL);
    ac_test_quick_set("svm.retrieval", &set);
    cr_assert_eq(ac_test_row_verdict("svm.retrieval", &set, "worst max_j"), AC_VERDICT_PASS);
    const ac_trial_vec *b = ac_trial_get(&set.rec[1], "soft_bound");
    cr_assert_gt(b->n, 0);
    *ac_test_entry(&set, 1, "soft", 0) = b->v[0] + 1e-9;
    cr_assert_eq(ac_test_row_verdict("svm.retrieval", &set, "worst max_j"), AC_VERDICT_FAIL);
    ac_trial_set_clear(&set);
}

/* The records a claim writes are its measurements of the trial: trial 0 of
 * svm.direction-cyclic replayed here by hand (draw, theory, train with the
 * same generator) gives the same values, so a measurement dropped or
 * swapped in the claim's code fails this test. */
Test(svm_measure, direction_records_are_the_measurements_of_the_trial)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = ac_test_seed(1)};
    ac_trial_set set;
    ac_msg msg = {{0}};
    const ac_trial_def *def = ac_registry_find_claim("svm.direction-cyclic")->trials;
    ac_trial_set_init(&set, "svm.direction-cyclic", &o, def->ntrials(&o));
    cr_assert_eq(ac_trial_run(def, &o, 0, 1, &set, &msg), AC_OK, "%s", msg.text);
    ac_svm_setup su;
    ac_svm_claim_setup("cyclic", AC_SIZE_QUICK, &su);
    gsl_rng *r = ac_trial_rng_alloc(o.seed, 0);
    ac_svm_instance I;
    ac_svm_trajectory tr;
    ac_svm_train_settings ts;
    ac_svm_train_settings_default(&ts);
    ts.steps = su.steps, ts.lr = su.lr, ts.normalized = 1;
    cr_assert_eq(ac_svm_instance_draw(&I, r, &su, AC_SVM_GEN_CYCLIC, &msg), AC_OK);
    cr_assert_eq(ac_svm_instance_theory(&I, &msg), AC_OK);
    cr_assert_eq(ac_svm_trajectory_train(&tr, &I, r, &ts, &msg), AC_OK);
    int dd = I.d * I.d;
    const double *Wend = tr.W + (size_t)(tr.ncp - 1) * dd;
    double last = ac_svm_corr(Wend, I.th.Wsvm, dd);
    const ac_trial_record *rec = &set.rec[0];
    cr_assert_eq(ac_trial_get1(rec, "last", 0), last);
    cr_assert_eq(ac_trial_get1(rec, "leak", 0), ac_svm_mean_leak(&I, Wend));
    cr_assert_eq(ac_trial_get1(rec, "wn", 0), ac_la_nrm2(Wend, dd));
    cr_assert_eq(ac_trial_get1(rec, "dec", 0), fabs(ac_svm_decomposition_corr(&I, Wend) - last));
    cr_assert_eq(ac_trial_get1(rec, "perp", 0), ac_svm_perp_corr(&I, Wend));
    cr_assert_eq(ac_trial_get1(rec, "corr", NCHECK_QUARTER),
                 ac_svm_corr(tr.W + (size_t)NCHECK_QUARTER * dd, I.th.Wsvm, dd));
    cr_assert(ac_trial_get1(rec, "reach", 0) >= (double)su.steps || last < AC_SVM_DIR_REACH_CORR);
    ac_svm_trajectory_clear(&tr);
    ac_svm_instance_clear(&I);
    gsl_rng_free(r);
    ac_trial_set_clear(&set);
}

/* The same for svm.structure: trial 0's record holds the worst S1-S5 values
 * over its acyclic and cyclic instances, as the measurements give them. */
Test(svm_measure, structure_records_are_the_measurements_of_the_trial)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = ac_test_seed(1)};
    ac_trial_set set;
    ac_msg msg = {{0}};
    const ac_trial_def *def = ac_registry_find_claim("svm.structure")->trials;
    ac_trial_set_init(&set, "svm.structure", &o, def->ntrials(&o));
    cr_assert_eq(ac_trial_run(def, &o, 0, 1, &set, &msg), AC_OK, "%s", msg.text);
    ac_svm_structure a;
    ac_svm_structure_init(&a);
    double s3_dim = NAN;
    for (int m = 0; m < 2; m++) {
        ac_svm_setup su;
        ac_svm_claim_setup(m == 0 ? "acyclic" : "cyclic", AC_SIZE_QUICK, &su);
        gsl_rng *r = ac_trial_rng_alloc(o.seed, 0);
        ac_svm_instance I;
        cr_assert_eq(ac_svm_instance_draw(&I, r, &su, m == 0 ? AC_SVM_GEN_ACYCLIC : AC_SVM_GEN_CYCLIC, &msg), AC_OK);
        cr_assert_eq(ac_svm_instance_theory(&I, &msg), AC_OK);
        cr_assert_eq(ac_svm_check_s1_s2(&I, I.th.Wsvm, &a), AC_OK);
        cr_assert_eq(ac_svm_check_s4_s5(&I, r, I.th.Dred->data, I.th.Dred->last, AC_SVM_HEAD_IDENTITY, &a), AC_OK);
        if (m == 0)
            s3_dim = I.th.S->dim;
        ac_svm_instance_clear(&I);
        gsl_rng_free(r);
    }
    const ac_trial_record *rec = &set.rec[0];
    const struct {
        const char *name;
        double v;
    } q[] = {{"ineq", a.ineq}, {"eq", a.eq}, {"sfin", a.sfin}, {"stat", a.stat}, {"lam_min", a.lam_min},
             {"compl", a.compl}, {"s4", a.s4}, {"s5", a.s5}, {"s5_tol", a.s5_tol}, {"s3_dim", s3_dim}};
    for (size_t k = 0; k < sizeof q / sizeof q[0]; k++)
        cr_assert(ac_test_same_bits(ac_trial_get1(rec, q[k].name, 0), q[k].v), "%s: record %.17g, measured %.17g",
                  q[k].name, ac_trial_get1(rec, q[k].name, 0), q[k].v);
    ac_trial_set_clear(&set);
}

/* A slow trial (seed 5, trial 0 of the cyclic claim: corr 0.960 at 4000
 * steps, a nearly dependent token pair) continues past the main run: the
 * step it records is the first multiple of 100 where corr reaches 0.97,
 * replayed here by plain NGD from W(4000). */
Test(svm_measure, a_slow_trial_continues_until_it_reaches_the_corr)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 5};
    ac_trial_set set;
    ac_msg msg = {{0}};
    const ac_trial_def *def = ac_registry_find_claim("svm.direction-cyclic")->trials;
    ac_trial_set_init(&set, "svm.direction-cyclic", &o, def->ntrials(&o));
    cr_assert_eq(ac_trial_run(def, &o, 0, 1, &set, &msg), AC_OK, "%s", msg.text);
    double last = ac_trial_get1(&set.rec[0], "last", 0), reach = ac_trial_get1(&set.rec[0], "reach", 0);
    ac_svm_setup su;
    ac_svm_claim_setup("cyclic", AC_SIZE_QUICK, &su);
    double su_main_steps = su.steps;
    cr_assert_lt(last, AC_SVM_DIR_REACH_CORR, "seed 5 is no longer the slow instance (corr %g at 4000)", last);
    cr_assert(reach > su_main_steps && reach <= AC_SVM_DIR_REACH_BUDGET && fmod(reach, AC_SVM_DIR_REACH_EVERY) == 0.0,
              "reach %g", reach);
    cr_assert_geq(ac_trial_get1(&set.rec[0], "reach_corr", 0), AC_SVM_DIR_REACH_CORR);
    /* replay */
    gsl_rng *r = ac_trial_rng_alloc(o.seed, 0);
    ac_svm_instance I;
    ac_svm_train_settings ts;
    ac_svm_train_settings_default(&ts);
    ts.steps = (long)reach, ts.lr = su.lr, ts.normalized = 1;
    cr_assert_eq(ac_svm_instance_draw(&I, r, &su, AC_SVM_GEN_CYCLIC, &msg), AC_OK);
    cr_assert_eq(ac_svm_instance_theory(&I, &msg), AC_OK);
    int dd = I.d * I.d;
    double *W0 = malloc(sizeof(double) * (size_t)dd);
    ac_svm_model_init(r, I.d, W0);
    ac_svm_trainer *tr = ac_svm_trainer_alloc(I.D->n, I.D->off[I.D->n], I.K, I.d);
    cr_assert_eq(ac_svm_trainer_set(tr, I.D, NULL, I.E, &ts, W0, &msg), AC_OK, "%s", msg.text);
    ac_svm_trainer_run(tr, (long)reach - AC_SVM_DIR_REACH_EVERY);
    double before = ac_svm_corr(ac_svm_trainer_W(tr), I.th.Wsvm, dd);
    ac_svm_trainer_run(tr, (long)reach);
    double at = ac_svm_corr(ac_svm_trainer_W(tr), I.th.Wsvm, dd);
    /* one NGD run against a restarted one: the same steps, up to the
     * rounding of a few thousand normalised steps */
    cr_assert(before < AC_SVM_DIR_REACH_CORR - 1e-9 || reach == su_main_steps + AC_SVM_DIR_REACH_EVERY, "corr %.12g one check before", before);
    cr_assert_geq(at, AC_SVM_DIR_REACH_CORR - 1e-9, "corr %.12g at the recorded step", at);
    ac_svm_trainer_free(tr);
    free(W0);
    ac_svm_instance_clear(&I);
    gsl_rng_free(r);
    ac_trial_set_clear(&set);
}

/* Plant value as entry k of vector `name` in every record of a fresh quick
 * run of id and return the verdict of `row`; the unplanted run must pass it. */
static ac_verdict planted_everywhere(const char *id, const char *name, int k, double value, const char *row)
{
    ac_trial_set set;
    ac_test_quick_set(id, &set);
    cr_assert_eq(ac_test_row_verdict(id, &set, row), AC_VERDICT_PASS, "%s: '%s' fails unplanted", id, row);
    for (int i = 0; i < set.nrec; i++)
        *ac_test_entry(&set, i, name, k) = value;
    ac_verdict v = ac_test_row_verdict(id, &set, row);
    ac_trial_set_clear(&set);
    return v;
}

/* The judged rows the test above leaves out, each seen to fail under a
 * planted violation: S3 on acyclic data, the acyclic direction and norm
 * rows, the local head's margin over the labels' Graph-SVM, and the three
 * judged high-precision rows of each instance kind. */
Test(svm_measure, planted_records_fail_the_remaining_judged_rows)
{
    cr_assert_eq(planted_everywhere("svm.structure", "s3_dim", 0, 1.0, "S3 largest dim"), AC_VERDICT_FAIL);
    cr_assert_eq(planted_everywhere("svm.structure", "s3_norm", 0, 0.5, "S3 largest ||W_fin||"), AC_VERDICT_FAIL);
    cr_assert_eq(slope_error_rising("acyclic"), AC_VERDICT_FAIL);
    /* the decade before with no error: the last decade's cannot be below it */
    cr_assert_eq(planted_everywhere("svm.norm-growth", "err_prev_acyclic", 0, 0.0,
                                    "acyclic: mean |slope/||W_svm|| - 1| over"),
                 AC_VERDICT_FAIL);
    cr_assert_eq(planted_everywhere("svm.local-head", "cg", 0, 1.0, "mean corr(W, local) - mean corr"),
                 AC_VERDICT_FAIL);
    ac_trial_set set;
    ac_test_quick_set("svm.high-precision", &set);
    for (int m = 0; m < 2; m++) {
        const char *mode = m == 0 ? "acyclic" : "cyclic";
        char name[AC_TRIAL_NAME], row[3][128];
        snprintf(name, sizeof name, "%s.counts", mode);
        long prec = (long)ac_trial_get1(&set.rec[0], name, 5);
        snprintf(row[0], sizeof row[0], "%s: grid steps where the %ld-bit", mode, prec);
        snprintf(row[1], sizeof row[1], "%s: grid points where the %ld-bit", mode, prec);
        snprintf(row[2], sizeof row[2], "%s: worst |L_double - L_mpfr|", mode);
        const int k[3] = {0, 1, 4}; /* mp_nondecr, mp_nonneg, err_ratio in the counts vector */
        for (int j = 0; j < 3; j++) {
            cr_assert_eq(planted_everywhere("svm.high-precision", name, k[j], 2.0, row[j]), AC_VERDICT_FAIL,
                         "%s", row[j]);
        }
    }
    ac_trial_set_clear(&set);
}
