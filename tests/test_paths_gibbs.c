/* Blocked Gibbs for the attention-paths network (verify/paths_gibbs.h):
 * each block's conditional against the closed-form Gaussian posterior of a
 * linear-Gaussian model (the other blocks frozen), split R-hat and ESS on
 * chains with known autocorrelation, R-hat of the sampler on mixed and on
 * planted chains, and the settings checks. */
#include <criterion/criterion.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"
#include "verify/paths_gibbs.h"

/* A tiny network: L = 2, H = (2, 1), widths n = (2, 3, 2), N0 = 3, two
 * paths; P = 5 training and 4 test examples with random Phi and labels;
 * variances like 1.3, T = 0.37. */
enum { N0 = 3, P = 5, PT = 4 };

static void tiny_settings(ac_paths_gibbs_settings *s)
{
    ac_paths_gibbs_settings_default(s);
    s->net.L = 2;
    s->net.H[0] = 2, s->net.H[1] = 1;
    s->net.n[0] = 2, s->net.n[1] = 3, s->net.n[2] = 2;
    s->net.sigma2[0] = 1.3, s->net.sigma2[1] = 0.8, s->net.sigma2[2] = 1.1;
    s->net.sigma2_a = 0.9;
    s->net.T = 0.37;
}

static void tiny_data(gsl_rng *r, int np, double *Phi, double *Y, double *Phit)
{
    for (int i = 0; i < P * N0 * np; i++)
        Phi[i] = gsl_ran_gaussian(r, 0.7);
    for (int i = 0; i < PT * N0 * np; i++)
        Phit[i] = gsl_ran_gaussian(r, 0.7);
    for (int mu = 0; mu < P; mu++)
        Y[mu] = mu % 2 ? 1.0 : -1.0;
}

/* The block's entries in a state: [lo, hi). */
static void block_range(const ac_paths_gibbs_settings *s, unsigned b, size_t *lo, size_t *hi)
{
    size_t na = (size_t)s->net.n[2];
    size_t v0 = (size_t)s->net.n[0] * N0;
    size_t v1 = (size_t)s->net.H[0] * s->net.n[1] * s->net.n[0];
    size_t v2 = (size_t)s->net.H[1] * s->net.n[2] * s->net.n[1];
    if (b == AC_PATHS_GIBBS_BLOCK_A)
        *lo = 0, *hi = na;
    else if (b == AC_PATHS_GIBBS_BLOCK_V0)
        *lo = na, *hi = na + v0;
    else if (b == AC_PATHS_GIBBS_BLOCK_V(1))
        *lo = na + v0, *hi = na + v0 + v1;
    else
        *lo = na + v0 + v1, *hi = na + v0 + v1 + v2;
}

/* Sample only block b (the rest planted at a prior draw, the same in every
 * chain): the conditional is the posterior of the linear model f = J theta,
 * theta ~ N(0, s2 I), y ~ N(J theta, T).  J is read off the network itself
 * (f at theta = e_j, which the sampler's predict computes), the posterior of
 * the test values by a d x d Cholesky (not Matheron's P x P route):
 *   A = J^T J / T + I/s2, mean_t = J_t A^{-1} J^T y / T,
 *   var_t = diag(J_t A^{-1} J_t^T).
 * The sampled mean of f_m has standard error sqrt(var_m / ESS_m); the
 * sampled variance of a Gaussian, var_m sqrt(2 / ESS_m).  A difference above
 * 5 standard errors has probability < 6e-7 per check (seeds fixed). */
static void check_block(unsigned b, double s2, unsigned long seed)
{
    gsl_rng *r = ac_test_rng(seed);
    ac_paths_gibbs_settings s;
    tiny_settings(&s);
    s.blocks = b;
    s.burn = 0;
    s.keep = 2000;
    int np = ac_paths_count(&s.net);
    double Phi[P * N0 * 2], Phit[PT * N0 * 2], Y[P];
    tiny_data(r, np, Phi, Y, Phit);
    ac_paths_gibbs *g = ac_paths_gibbs_alloc(&s, P, PT, N0);
    cr_assert(g);
    ac_msg msg;
    cr_assert_eq(ac_paths_gibbs_set(g, Phi, Y, Phit, r, &msg), AC_OK, "%s", msg.text);
    size_t ss = ac_paths_gibbs_state_size(&s, N0), lo, hi;
    block_range(&s, b, &lo, &hi);
    int d = (int)(hi - lo);
    double *base = malloc(sizeof(double) * ss);
    memcpy(base, ac_paths_gibbs_state(g, 0), sizeof(double) * ss);
    /* J columns: f with the block = e_j */
    gsl_matrix *J = gsl_matrix_alloc(P, d), *Jt = gsl_matrix_alloc(PT, d);
    double *th = malloc(sizeof(double) * ss), ftr[P], fte[PT];
    for (int j = 0; j < d; j++) {
        memcpy(th, base, sizeof(double) * ss);
        memset(th + lo, 0, sizeof(double) * (size_t)d);
        th[lo + j] = 1.0;
        cr_assert_eq(ac_paths_gibbs_set_state(g, 0, th, NULL), AC_OK);
        ac_paths_gibbs_predict(g, 0, ftr, fte);
        for (int mu = 0; mu < P; mu++)
            gsl_matrix_set(J, mu, j, ftr[mu]);
        for (int m = 0; m < PT; m++)
            gsl_matrix_set(Jt, m, j, fte[m]);
    }
    for (int c = 0; c < s.chains; c++)
        cr_assert_eq(ac_paths_gibbs_set_state(g, c, base, NULL), AC_OK);
    /* closed form */
    double T = s.net.T;
    gsl_matrix *A = gsl_matrix_alloc(d, d);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double v = 0.0;
            for (int mu = 0; mu < P; mu++)
                v += gsl_matrix_get(J, mu, i) * gsl_matrix_get(J, mu, j);
            gsl_matrix_set(A, i, j, v / T + (i == j ? 1.0 / s2 : 0.0));
        }
    cr_assert_eq(gsl_linalg_cholesky_decomp1(A), 0);
    gsl_vector *rhs = gsl_vector_alloc(d), *mth = gsl_vector_alloc(d), *col = gsl_vector_alloc(d);
    for (int j = 0; j < d; j++) {
        double v = 0.0;
        for (int mu = 0; mu < P; mu++)
            v += gsl_matrix_get(J, mu, j) * Y[mu];
        gsl_vector_set(rhs, j, v / T);
    }
    gsl_linalg_cholesky_solve(A, rhs, mth);
    double mean_cf[PT], var_cf[PT];
    for (int m = 0; m < PT; m++) {
        double mu_m = 0.0;
        for (int j = 0; j < d; j++) {
            mu_m += gsl_matrix_get(Jt, m, j) * gsl_vector_get(mth, j);
            gsl_vector_set(rhs, j, gsl_matrix_get(Jt, m, j));
        }
        gsl_linalg_cholesky_solve(A, rhs, col);
        double v = 0.0;
        for (int j = 0; j < d; j++)
            v += gsl_matrix_get(Jt, m, j) * gsl_vector_get(col, j);
        mean_cf[m] = mu_m, var_cf[m] = v;
    }
    /* sample */
    cr_assert_eq(ac_paths_gibbs_run(g, r, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_paths_gibbs_test(g), AC_TRAIN_STEP_LIMIT);
    double mean[PT], var[PT], rhat[PT], ess[PT];
    cr_assert_eq(ac_paths_gibbs_test_stats(g, mean, var, rhat, ess), AC_OK);
    /* the frozen blocks did not move */
    const double *st = ac_paths_gibbs_state(g, 1);
    for (size_t j = 0; j < ss; j++)
        if (j < lo || j >= hi)
            cr_assert_eq(st[j], base[j], "frozen entry %zu moved", j);
    for (int m = 0; m < PT; m++) {
        double se_m = sqrt(var_cf[m] / ess[m]), se_v = var_cf[m] * sqrt(2.0 / ess[m]);
        cr_expect(fabs(mean[m] - mean_cf[m]) < 5 * se_m,
                  "block %u seed %lu point %d: mean %.6g, closed form %.6g (se %.2g, ESS %.0f)", b,
                  seed, m, mean[m], mean_cf[m], se_m, ess[m]);
        cr_expect(fabs(var[m] - var_cf[m]) < 5 * se_v,
                  "block %u seed %lu point %d: var %.6g, closed form %.6g (se %.2g)", b, seed, m,
                  var[m], var_cf[m], se_v);
        /* exact conditional draws are independent: R-hat ~ 1 within its
         * sampling spread (about 1/sqrt(draws) = 0.01), ESS ~ draws. */
        cr_expect(rhat[m] < 1.02, "point %d: R-hat %.4f", m, rhat[m]);
        cr_expect(ess[m] > 0.5 * s.chains * s.keep, "point %d: ESS %.0f", m, ess[m]);
    }
    gsl_matrix_free(J), gsl_matrix_free(Jt), gsl_matrix_free(A);
    gsl_vector_free(rhs), gsl_vector_free(mth), gsl_vector_free(col);
    free(th), free(base);
    ac_paths_gibbs_free(g);
    gsl_rng_free(r);
}

Test(paths_gibbs, readout_conditional_matches_closed_form)
{
    check_block(AC_PATHS_GIBBS_BLOCK_A, 0.9, 101);
}
Test(paths_gibbs, top_layer_conditional_matches_closed_form)
{
    check_block(AC_PATHS_GIBBS_BLOCK_V(2), 1.1, 102);
}
Test(paths_gibbs, first_layer_two_heads_conditional_matches_closed_form)
{
    check_block(AC_PATHS_GIBBS_BLOCK_V(1), 0.8, 103);
}
Test(paths_gibbs, input_layer_conditional_matches_closed_form)
{
    check_block(AC_PATHS_GIBBS_BLOCK_V0, 1.3, 104);
}

/* AR(1) chains x_t = phi x_{t-1} + sqrt(1 - phi^2) z_t, started at x0[c]. */
static void ar1(gsl_rng *r, int chains, long n, double phi, const double *x0, double *x)
{
    for (int c = 0; c < chains; c++) {
        double v = x0 ? x0[c] : gsl_ran_gaussian(r, 1.0);
        for (long t = 0; t < n; t++) {
            x[c * n + t] = v;
            v = phi * v + sqrt(1.0 - phi * phi) * gsl_ran_gaussian(r, 1.0);
        }
    }
}

Test(paths_gibbs, rhat_near_one_and_ess_matches_ar1_for_mixed_chains)
{
    gsl_rng *r = ac_test_rng(201);
    enum { C = 4, NS = 4000 };
    static double x[C * NS];
    double phi = 0.5;
    ar1(r, C, NS, phi, NULL, x);
    double rhat, ess;
    ac_paths_gibbs_rhat_ess(C, NS, x, 1, &rhat, &ess);
    /* AR(1): ESS = n (1 - phi)/(1 + phi) = 16000/3.  The estimator's relative
     * spread with 8 halves of 2000 draws is a few per cent; 15% leaves room.
     * R-hat of stationary chains exceeds 1 by O(1/n): < 1.01. */
    double want = C * NS * (1 - phi) / (1 + phi);
    cr_expect(fabs(ess / want - 1) < 0.15, "ESS %.0f, AR(1) value %.0f", ess, want);
    cr_expect(rhat < 1.01, "R-hat %.4f", rhat);
    gsl_rng_free(r);
}

Test(paths_gibbs, rhat_clearly_above_one_for_planted_slow_chains)
{
    gsl_rng *r = ac_test_rng(202);
    enum { C = 4, NS = 200 };
    static double x[C * NS];
    /* phi = 0.99: started at +-10 the chains keep 0.99^200 = 13% of it. */
    double x0[C] = {10, -10, 10, -10};
    ar1(r, C, NS, 0.99, x0, x);
    double rhat, ess;
    ac_paths_gibbs_rhat_ess(C, NS, x, 1, &rhat, &ess);
    cr_expect(rhat > 1.5, "R-hat %.4f", rhat);
    cr_expect(ess < 0.05 * C * NS, "ESS %.0f", ess);
    /* constant chains at different values: +inf; at one value: 1 */
    for (int i = 0; i < C * NS; i++)
        x[i] = i < NS ? 1.7312 : -0.4;
    ac_paths_gibbs_rhat_ess(C, NS, x, 1, &rhat, &ess);
    cr_expect(isinf(rhat));
    for (int i = 0; i < C * NS; i++)
        x[i] = 1.7312;
    ac_paths_gibbs_rhat_ess(C, NS, x, 1, &rhat, &ess);
    cr_expect_eq(rhat, 1.0);
    ac_paths_gibbs_rhat_ess(C, 3, x, 1, &rhat, &ess);
    cr_expect(isnan(rhat) && isnan(ess));
    gsl_rng_free(r);
}

/* The full sweep (all blocks): chains from independent prior draws mix
 * (R-hat of every test value and U_1 entry near 1).  Then two of four
 * chains are planted along the ridge a -> c a, V_0 -> V_0 / c that leaves f
 * unchanged (c = PLANT_SCALE; U_1 grows by c^2), at a small T so that the
 * likelihood pins f and Gibbs can only creep along the ridge: kept from the
 * first sweep, 12 sweeps do not mix. */
#define PLANT_SCALE 4.0
#define PLANT_T 1e-3
Test(paths_gibbs, sampler_rhat_near_one_when_mixed_and_above_one_when_planted)
{
    gsl_rng *r = ac_test_rng(203);
    ac_paths_gibbs_settings s;
    tiny_settings(&s);
    s.burn = 100;
    s.keep = 1000;
    int np = ac_paths_count(&s.net);
    double Phi[P * N0 * 2], Phit[PT * N0 * 2], Y[P];
    tiny_data(r, np, Phi, Y, Phit);
    ac_paths_gibbs *g = ac_paths_gibbs_alloc(&s, P, PT, N0);
    cr_assert(g);
    ac_msg msg;
    cr_assert_eq(ac_paths_gibbs_set(g, Phi, Y, Phit, r, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_paths_gibbs_run(g, r, &msg), AC_OK);
    ac_paths_gibbs_info info;
    cr_assert_eq(ac_paths_gibbs_info_get(g, &info), AC_OK);
    cr_expect_eq(info.train.outcome, AC_TRAIN_STEP_LIMIT);
    cr_expect_eq(info.train.steps, s.burn + s.keep);
    cr_expect_eq(info.kept, s.keep);
    /* 4 chains x 1000 draws: R-hat of mixed chains is 1 + O(1/sqrt(ESS));
     * 1.05 is far above that spread at ESS >= 100. */
    cr_expect(info.mean_rhat_max < 1.05, "test-value R-hat %.4f", info.mean_rhat_max);
    cr_expect(info.u_rhat_max < 1.05, "U_1 R-hat %.4f", info.u_rhat_max);
    cr_expect(info.var_mean.rhat < 1.05, "variance R-hat %.4f", info.var_mean.rhat);
    cr_expect(info.var_mean.value > 0 && isfinite(info.var_mean.mcse));
    ac_paths_gibbs_free(g);

    s.burn = 0;
    s.keep = 12;
    s.net.T = PLANT_T;
    g = ac_paths_gibbs_alloc(&s, P, PT, N0);
    cr_assert_eq(ac_paths_gibbs_set(g, Phi, Y, Phit, r, &msg), AC_OK);
    size_t ss = ac_paths_gibbs_state_size(&s, N0);
    double *th = malloc(sizeof(double) * ss);
    for (int c = 0; c < s.chains; c += 2) {
        memcpy(th, ac_paths_gibbs_state(g, c), sizeof(double) * ss);
        for (int j = 0; j < s.net.n[2]; j++)
            th[j] *= PLANT_SCALE;
        for (int j = 0; j < s.net.n[0] * N0; j++)
            th[(int)s.net.n[2] + j] /= PLANT_SCALE;
        cr_assert_eq(ac_paths_gibbs_set_state(g, c, th, NULL), AC_OK);
    }
    cr_assert_eq(ac_paths_gibbs_run(g, r, &msg), AC_OK);
    cr_assert_eq(ac_paths_gibbs_info_get(g, &info), AC_OK);
    cr_expect(info.u_rhat_max > 1.2, "planted chains: U_1 R-hat %.4f", info.u_rhat_max);
    cr_expect(!info.mixed);
    cr_expect_eq(ac_paths_gibbs_set_state(g, 0, th, NULL), AC_EINVAL, "set_state after sweeps");
    free(th);
    ac_paths_gibbs_free(g);
    gsl_rng_free(r);
}

Test(paths_gibbs, settings_check_rejects_each_bad_setting)
{
    ac_paths_gibbs_settings s, b;
    tiny_settings(&s);
    cr_assert_null(ac_paths_gibbs_settings_check(&s));
    b = s, b.net.n[1] = 2.5;
    const char *why = ac_paths_gibbs_settings_check(&b);
    cr_expect(why && strstr(why, "width n[1] = 2.5"), "the width is not named: %s", why ? why : "(none)");
    b = s, b.chains = 0;
    cr_expect_not_null(ac_paths_gibbs_settings_check(&b));
    b = s, b.burn = -1;
    cr_expect_not_null(ac_paths_gibbs_settings_check(&b));
    b = s, b.keep = 3;
    cr_expect_not_null(ac_paths_gibbs_settings_check(&b));
    b = s, b.blocks = 0;
    cr_expect_not_null(ac_paths_gibbs_settings_check(&b));
    b = s, b.net.T = 0.0;
    cr_expect_not_null(ac_paths_gibbs_settings_check(&b));
    cr_expect_null(ac_paths_gibbs_alloc(&b, P, PT, N0));
    cr_expect_null(ac_paths_gibbs_alloc(&s, 0, PT, N0));
    ac_paths_gibbs_free(NULL);
    /* non-finite data is named */
    ac_paths_gibbs *g = ac_paths_gibbs_alloc(&s, P, PT, N0);
    gsl_rng *r = ac_test_rng(204);
    double Phi[P * N0 * 2], Phit[PT * N0 * 2], Y[P];
    tiny_data(r, 2, Phi, Y, Phit);
    Phit[7] = NAN;
    ac_msg msg;
    cr_expect_eq(ac_paths_gibbs_set(g, Phi, Y, Phit, r, &msg), AC_EINVAL);
    cr_expect(strstr(msg.text, "Phi_t") != NULL, "%s", msg.text);
    cr_expect_eq(ac_paths_gibbs_iterate(g, r, NULL), AC_EINVAL, "iterate before a good set");
    ac_paths_gibbs_free(g);
    gsl_rng_free(r);
}

/* The network read path by path (spec §2), written out for the tiny case
 * (L = 2, H = (2, 1), so pi = h_1): W_pi = (a^T V_2 V_1^{h_1})^T /
 * sqrt(N_a n_1), f = sum_pi W_pi^T V_0 xi_pi / sqrt(H^L n_0 N0) with xi =
 * Phi sqrt(N0 H^L)/sigma_0, U_1 = W_pi . W_pi' / n_0.  The sampler's f
 * (predict) and its recorded U_1 (only V_0 sampled, so U_1 stays at the
 * planted value) must equal these to rounding: sums of a few terms of size
 * ~1, so 1e-13 relative. */
Test(paths_gibbs, forward_pass_and_u1_equal_the_path_formulas_of_spec_2)
{
    gsl_rng *r = ac_test_rng(205);
    ac_paths_gibbs_settings s;
    tiny_settings(&s);
    s.blocks = AC_PATHS_GIBBS_BLOCK_V0;
    s.burn = 0, s.keep = 4, s.chains = 1;
    int np = 2, n0 = 2, n1 = 3, na = 2;
    double Phi[P * N0 * 2], Phit[PT * N0 * 2], Y[P];
    tiny_data(r, np, Phi, Y, Phit);
    ac_paths_gibbs *g = ac_paths_gibbs_alloc(&s, P, PT, N0);
    cr_assert_eq(ac_paths_gibbs_set(g, Phi, Y, Phit, r, NULL), AC_OK);
    const double *th = ac_paths_gibbs_state(g, 0);
    const double *a = th, *V0 = th + na, *V1 = V0 + n0 * N0, *V2 = V1 + 2 * n1 * n0;
    double W[2][2], aV2[3];
    for (int j = 0; j < n1; j++) {
        aV2[j] = 0.0;
        for (int i = 0; i < na; i++)
            aV2[j] += a[i] * V2[i * n1 + j];
    }
    for (int h = 0; h < 2; h++)
        for (int k = 0; k < n0; k++) {
            W[h][k] = 0.0;
            for (int j = 0; j < n1; j++)
                W[h][k] += aV2[j] * V1[h * n1 * n0 + j * n0 + k];
            W[h][k] /= sqrt((double)na * n1);
        }
    double ftr[P];
    cr_assert_eq(ac_paths_gibbs_predict(g, 0, ftr, NULL), AC_OK);
    double xs = sqrt((double)N0 * np / s.net.sigma2[0]);
    for (int mu = 0; mu < P; mu++) {
        double f = 0.0;
        for (int pi = 0; pi < np; pi++)
            for (int k = 0; k < n0; k++)
                for (int i = 0; i < N0; i++)
                    f += W[pi][k] * V0[k * N0 + i] * xs * Phi[(mu * N0 + i) * np + pi];
        f /= sqrt((double)np * n0 * N0);
        cr_expect(fabs(ftr[mu] - f) < 1e-13 * fmax(1.0, fabs(f)), "f[%d]: sampler %.17g, formula %.17g",
                  mu, ftr[mu], f);
    }
    cr_assert_eq(ac_paths_gibbs_run(g, r, NULL), AC_OK);
    double U[4];
    cr_assert_eq(ac_paths_gibbs_u1(g, U, NULL, NULL), AC_OK);
    for (int p1 = 0; p1 < np; p1++)
        for (int p2 = 0; p2 < np; p2++) {
            double u = (W[p1][0] * W[p2][0] + W[p1][1] * W[p2][1]) / n0;
            cr_expect(fabs(U[p1 * np + p2] - u) < 1e-13 * fmax(1.0, fabs(u)),
                      "U_1[%d,%d]: sampler %.17g, formula %.17g", p1, p2, U[p1 * np + p2], u);
        }
    ac_paths_gibbs_free(g);
    gsl_rng_free(r);
}

/* The sampler and the theory's predictor (theory/paths.h) describe the same
 * f: the same prior variances, 1/sqrt(width) factors, N0 and path
 * normalisation, test inputs.  Under the prior, the second moment of the
 * network's f is exactly the GP kernel at ANY width (f is linear in each
 * block and the blocks are independent, zero-mean: E f(x) f(x') =
 * sigma_a^2 prod sigma_l^2 (1/H^L) sum_pi (sigma_0^2/N0) xi_pi . xi_pi', §3.4),
 * although f itself is not Gaussian there.  At T = PRIOR_T the likelihood
 * moves f by a fraction O(K/T) = 1e-8 of its variance, so every sweep is a
 * fresh prior draw and the sampled mean test variance must equal the GP
 * predictor's K(x,x) - k'(K+TI)^{-1}k (U_1 = the GP values) within its
 * Monte-Carlo error; 5 ESS-based standard errors (that SE is computed from
 * the draws, so it includes f's excess kurtosis at small width): a false
 * alarm has probability < 6e-7.  Checked: with c_0 = 1/sqrt(N0 - 1) in the
 * sampler (variance x 1.5) it fails at z = 8 and 12; without the 1/H_l of
 * c_l (x 2 in the shape with H = 2) at z = 12 and 17.  The mean variance
 * also equals the mean of the per-point variances (same draws, same n - 1). */
#define PRIOR_T 1e8
Test(paths_gibbs, prior_variance_of_f_is_the_gp_kernel_at_any_width)
{
    gsl_rng *r = ac_test_rng(307);
    /* two shapes with two paths each: H = (2, 1) and H = (1, 2), widths
     * unequal and small (the prior of f is then far from Gaussian) */
    const int H1[2] = {2, 1}, H2[2] = {1, 2};
    const double n[2][3] = {{2, 3, 2}, {4, 1, 3}};
    for (int k = 0; k < 2; k++) {
        ac_paths_gibbs_settings s;
        tiny_settings(&s);
        s.net.H[0] = H1[k], s.net.H[1] = H2[k];
        for (int l = 0; l < 3; l++)
            s.net.n[l] = n[k][l];
        s.net.T = PRIOR_T;
        s.burn = 0;
        s.keep = 2000;
        int np = ac_paths_count(&s.net);
        cr_assert_eq(np, 2);
        double Phi[P * N0 * 2], Phit[PT * N0 * 2], Y[P];
        tiny_data(r, np, Phi, Y, Phit);
        /* theory: the GP predictor's variance */
        ac_paths_workspace *w = ac_paths_alloc(&s.net, P, N0);
        cr_assert(w);
        ac_msg msg;
        cr_assert_eq(ac_paths_set_data(w, Phi, Y, &msg), AC_OK, "%s", msg.text);
        double U[16], mean_th[PT], var_th[PT], v_th = 0.0;
        cr_assert(ac_paths_u_size(&s.net) <= 16);
        ac_paths_gp_u(&s.net, U);
        cr_assert_eq(ac_paths_predict(w, U + ac_paths_u_offset(&s.net, 1), PT, Phit, mean_th, var_th, &msg),
                     AC_OK, "%s", msg.text);
        for (int m = 0; m < PT; m++)
            v_th += var_th[m] / PT;
        ac_paths_free(w);
        /* samples */
        ac_paths_gibbs *g = ac_paths_gibbs_alloc(&s, P, PT, N0);
        cr_assert(g);
        cr_assert_eq(ac_paths_gibbs_set(g, Phi, Y, Phit, r, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(ac_paths_gibbs_run(g, r, &msg), AC_OK, "%s", msg.text);
        ac_paths_gibbs_info info;
        cr_assert_eq(ac_paths_gibbs_info_get(g, &info), AC_OK);
        double var_s[PT], v_s = 0.0;
        cr_assert_eq(ac_paths_gibbs_test_stats(g, NULL, var_s, NULL, NULL), AC_OK);
        for (int m = 0; m < PT; m++)
            v_s += var_s[m] / PT;
        /* the same sum in another order: rounding only */
        cr_expect(fabs(info.var_mean.value - v_s) <= 1e-12 * v_s, "var_mean %.17g, mean of var %.17g",
                  info.var_mean.value, v_s);
        double z = (info.var_mean.value - v_th) / info.var_mean.mcse;
        cr_expect(fabs(z) < 5.0, "shape %d: sampled prior variance %.6g, GP kernel %.6g, MC SE %.3g (z %.2f, ESS %.0f)",
                  k, info.var_mean.value, v_th, info.var_mean.mcse, z, info.var_mean.ess);
        ac_paths_gibbs_free(g);
    }
    gsl_rng_free(r);
}

/* A keep so large that the records' size, chains keep (Pt + (H^L)^2)
 * doubles, passes SIZE_MAX is refused: at keep = 2^59 with two paths and no
 * test points the U_1 records wrapped to a 0-byte block, and the first kept
 * sweep wrote past it (AddressSanitizer: heap-buffer-overflow). */
Test(paths_gibbs, record_sizes_past_size_max_are_refused)
{
    ac_paths_gibbs_settings s;
    tiny_settings(&s); /* H = (2, 1): two paths */
    s.chains = 1;
    s.keep = (long)1 << 59;
    cr_assert_null(ac_paths_gibbs_alloc(&s, P, 0, N0));
    s.keep = 4;
    ac_paths_gibbs *g = ac_paths_gibbs_alloc(&s, P, 0, N0);
    cr_assert_not_null(g);
    ac_paths_gibbs_free(g);
}
