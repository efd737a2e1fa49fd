/* The MPFR mirror of the loss (theory/tpg_mpfr.h): agreement with double
 * where double is accurate, and a resolved decrease where it saturates. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "tests/testutil.h"
#include "theory/tpg.h"
#include "theory/tpg_loss.h"
#include "theory/tpg_mpfr.h"

#define KMAX 6
#define TMAX 6

static ac_tpg_data *random_data(gsl_rng *r, int n, int K)
{
    int len[64], ntok = 0;
    for (int i = 0; i < n; i++)
        ntok += len[i] = 1 + (int)gsl_rng_uniform_int(r, TMAX);
    ac_tpg_data *D = ac_tpg_data_alloc(n, ntok, K);
    cr_assert_not_null(D);
    int p = 0;
    for (int i = 0; i < n; i++) {
        for (int t = 0; t < len[i]; t++)
            D->tok[p + t] = (int)gsl_rng_uniform_int(r, (unsigned long)K);
        D->label[i] = D->tok[p + (int)gsl_rng_uniform_int(r, (unsigned long)len[i])];
        p += len[i];
        D->off[i + 1] = p;
    }
    return D;
}

static double max_abs(const double *a, int n)
{
    double m = 0.0;
    for (int i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

Test(tpg_mpfr, double_and_mpfr_agree_at_moderate_s)
{
    /* Error of the double loss at U = U0 + s U1 (max |U| = A):
     *  - forming U rounds each entry by eps A, moving each l_i by <= 2 eps A;
     *  - in l_i, the T exponentials and their sum carry <= (T + 2) eps
     *    relative error, so log1p / log add <= (T + 2) eps, and the shift
     *    amax - a_y and log m_y add <= eps (2A + log T);
     *  - the mean over n examples adds n eps |L|.
     * So |L_d - L| <= (T + n + 8) eps (1 + 4A), about 1e-13 for A ~ 5; the
     * 200-bit MPFR value is exact to that scale.  The derivative sums
     * |gU| |U1| <= 2 max|U1| per example with the same relative errors. */
    gsl_rng *r = ac_test_rng(31);
    mpfr_t L, dL;
    mpfr_inits2(200, L, dL, (mpfr_ptr)0);
    for (int c = 0; c < ac_test_cases(200); c++) {
        int K = 1 + (int)(c % KMAX), n = (int)(c % 9);
        ac_tpg_data *D = random_data(r, n, K);
        double U0[KMAX * KMAX], U1[KMAX * KMAX], U[KMAX * KMAX];
        for (int j = 0; j < K * K; j++)
            U0[j] = gsl_ran_gaussian(r, 1.0), U1[j] = gsl_ran_gaussian(r, 1.0);
        double s = 3.0 * (2.0 * gsl_rng_uniform(r) - 1.0), Ld, dLd, Lm, dLm;
        cr_assert_eq(ac_tpg_loss_line(D, U0, U1, s, n > 0 ? n : 1, &Ld, &dLd), AC_OK);
        cr_assert_eq(ac_tpg_loss_line_mpfr(D, U0, U1, s, n > 0 ? n : 1, L, dL, &Lm, &dLm, 200),
                     AC_OK);
        for (int j = 0; j < K * K; j++)
            U[j] = U0[j] + s * U1[j];
        double A = max_abs(U, K * K), B = max_abs(U1, K * K);
        double tol = (TMAX + n + 8) * DBL_EPSILON * (1.0 + 4.0 * A);
        cr_assert_leq(fabs(Ld - Lm), tol, "seed 31 case %d: %.17g vs %.17g", c, Ld, Lm);
        cr_assert_leq(fabs(dLd - dLm), tol * 2.0 * (B + 1.0), "seed 31 case %d: %.17g vs %.17g",
                      c, dLd, dLm);
        cr_assert_eq(Lm, mpfr_get_d(L, MPFR_RNDN));
        ac_tpg_data_free(D);
    }
    mpfr_clears(L, dL, (mpfr_ptr)0);
    gsl_rng_free(r);
}

Test(tpg_mpfr, gradient_mirrors_double_gradient)
{
    gsl_rng *r = ac_test_rng(32);
    mpfr_t L, Um[KMAX * KMAX], gm[KMAX * KMAX];
    mpfr_init2(L, 128);
    for (int j = 0; j < KMAX * KMAX; j++)
        mpfr_inits2(128, Um[j], gm[j], (mpfr_ptr)0);
    for (int c = 0; c < ac_test_cases(100); c++) {
        int K = 1 + (int)(c % KMAX), n = (int)(c % 7);
        ac_tpg_data *D = random_data(r, n, K);
        double U[KMAX * KMAX], gU[KMAX * KMAX];
        for (int j = 0; j < K * K; j++) {
            U[j] = 1.7312 * gsl_ran_gaussian(r, 1.0);
            mpfr_set_d(Um[j], U[j], MPFR_RNDN);
        }
        double Ld = ac_tpg_loss(D, U, n > 0 ? n : 1, gU);
        cr_assert_eq(ac_tpg_loss_mpfr(D, Um, n > 0 ? n : 1, L, gm, 128), AC_OK);
        /* Same bound as above with A = max|U| (U exact in both). */
        double tol = (TMAX + n + 8) * DBL_EPSILON * (1.0 + 4.0 * max_abs(U, K * K));
        cr_assert_leq(fabs(Ld - mpfr_get_d(L, MPFR_RNDN)), tol, "seed 32 case %d", c);
        for (int j = 0; j < K * K; j++)
            cr_assert_leq(fabs(gU[j] - mpfr_get_d(gm[j], MPFR_RNDN)), tol,
                          "seed 32 case %d entry %d", c, j);
        ac_tpg_data_free(D);
    }
    mpfr_clear(L);
    for (int j = 0; j < KMAX * KMAX; j++)
        mpfr_clears(Um[j], gm[j], (mpfr_ptr)0);
    gsl_rng_free(r);
}

/* The reduced loss (queries kept apart from the kept positions) mirrors too:
 * the same bound as above with n the full count, which divides L_red. */
Test(tpg_mpfr, reduced_loss_mirrors_double_reduced_loss)
{
    gsl_rng *r = ac_test_rng(34);
    mpfr_t L, Um[KMAX * KMAX], gm[KMAX * KMAX];
    mpfr_init2(L, 128);
    for (int j = 0; j < KMAX * KMAX; j++)
        mpfr_inits2(128, Um[j], gm[j], (mpfr_ptr)0);
    int reduced_any = 0;
    for (int c = 0; c < ac_test_cases(100); c++) {
        int K = 1 + (int)(c % KMAX), n = 1 + (int)(c % 9);
        ac_tpg_data *D = random_data(r, n, K);
        ac_tpg *G;
        ac_tpg_reduced *R;
        ac_msg msg;
        cr_assert_eq(ac_tpg_build(D, &G, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(ac_tpg_reduce(G, D, &R, NULL), AC_OK);
        reduced_any |= R->data->n > 0;
        double U[KMAX * KMAX], gU[KMAX * KMAX];
        for (int j = 0; j < K * K; j++) {
            U[j] = 1.7312 * gsl_ran_gaussian(r, 1.0);
            mpfr_set_d(Um[j], U[j], MPFR_RNDN);
        }
        double Ld = ac_tpg_loss_reduced(R, U, gU);
        cr_assert_eq(ac_tpg_loss_reduced_mpfr(R, Um, L, gm, 128), AC_OK);
        double tol = (TMAX + n + 8) * DBL_EPSILON * (1.0 + 4.0 * max_abs(U, K * K));
        cr_assert_leq(fabs(Ld - mpfr_get_d(L, MPFR_RNDN)), tol, "seed 34 case %d", c);
        for (int j = 0; j < K * K; j++)
            cr_assert_leq(fabs(gU[j] - mpfr_get_d(gm[j], MPFR_RNDN)), tol, "seed 34 case %d entry %d", c, j);
        ac_tpg_reduced_free(R);
        ac_tpg_free(G);
        ac_tpg_data_free(D);
    }
    cr_assert(reduced_any, "no case kept an example: the test compared only zeros");
    mpfr_clear(L);
    for (int j = 0; j < KMAX * KMAX; j++)
        mpfr_clears(Um[j], gm[j], (mpfr_ptr)0);
    gsl_rng_free(r);
}

/* Cyclic data whose loss along a Graph-SVM-like direction saturates: all
 * examples have last token k; an SCC C = {c_0 .. c_{m-1}} (m = 2 or 3) is
 * built by the wins c_i over c_{i+1} (cyclically) in contexts that also hold
 * tokens outside C, which C beats.  U1[., k] is 1 on C and 0 elsewhere:
 * constant on the SCC and a drop of 1 (the margin) along every edge out of
 * C, so L(U0 + s U1) = L_inf + sum of terms ~ e^{-s}. */
static ac_tpg_data *cyclic_data(gsl_rng *r, int K, int m, int *k_out, double *U1)
{
    int perm[KMAX];
    for (int j = 0; j < K; j++)
        perm[j] = j;
    gsl_ran_shuffle(r, perm, (size_t)K, sizeof(int));
    int k = perm[K - 1];
    /* example i: [c_i, c_{i+1}, one token outside C (not k), k], label c_i */
    int n = m == 2 ? 2 : 3, len = 4;
    ac_tpg_data *D = ac_tpg_data_alloc(n, n * len, K);
    for (int i = 0; i < n; i++) {
        int *t = D->tok + i * len;
        t[0] = perm[i % m];
        t[1] = perm[(i + 1) % m];
        t[2] = perm[m + (int)gsl_rng_uniform_int(r, (unsigned long)(K - m - 1))];
        t[3] = k;
        D->label[i] = t[0];
        D->off[i + 1] = (i + 1) * len;
    }
    memset(U1, 0, sizeof(double) * (size_t)(K * K));
    for (int i = 0; i < m; i++)
        U1[perm[i] * K + k] = 1.0;
    *k_out = k;
    return D;
}

Test(tpg_mpfr, mpfr_loss_decreases_where_double_saturates)
{
    /* At s >= 60 the terms outside the SCC are below e^{-60 + 2 max|U0|}
     * ~ 1e-24 relative to L_inf ~ log 2, far below eps: the double loss
     * is one constant.  In MPFR, L(s) - L_inf ~ C e^{-s} needs
     * s / ln 2 + 53 ~ 1500 bits at s = 1000; 1700 bits resolve it with
     * ~100 bits to spare.  The decrease must be strict at every step, the
     * derivative negative, and successive differences must shrink by e per
     * unit of s (the leading term; the next is e^{-2s}, invisible here). */
    gsl_rng *r = ac_test_rng(33);
    const mpfr_prec_t prec = 1700;
    mpfr_t L, dL, Lprev, d1, d2, ratio;
    mpfr_inits2(prec, L, dL, Lprev, d1, d2, ratio, (mpfr_ptr)0);
    for (int c = 0; c < ac_test_cases(10); c++) {
        int m = 2 + (int)(c % 2), K = m + 2 + (int)((c / 2) % 2), k;
        double U1[KMAX * KMAX], U0[KMAX * KMAX];
        ac_tpg_data *D = cyclic_data(r, K, m, &k, U1);
        /* Dyadic U0 (multiples of 2^-10, |.| < 4) keeps U0 + s U1 exact in
         * double for s <= 1000, so any change of the double loss with s
         * would be the loss itself, not the rounding of U. */
        for (int j = 0; j < K * K; j++)
            U0[j] = ldexp(nearbyint(ldexp(0.5 * gsl_ran_gaussian(r, 1.0), 10)), -10);
        double Lsat = NAN;
        for (int s = 60; s <= 1000; s += 94) {
            double Ld, dLd, Lmd;
            cr_assert_eq(ac_tpg_loss_line(D, U0, U1, s, D->n, &Ld, &dLd), AC_OK);
            if (s == 60)
                Lsat = Ld;
            cr_assert_eq(Ld, Lsat, "seed 33 case %d s %d: double did not saturate", c, s);
            if (s > 60)
                mpfr_set(Lprev, L, MPFR_RNDN);
            cr_assert_eq(ac_tpg_loss_line_mpfr(D, U0, U1, s, D->n, L, dL, &Lmd, NULL, prec), AC_OK);
            cr_assert_lt(mpfr_sgn(dL), 0, "seed 33 case %d s %d: dL/ds not negative", c, s);
            if (s > 60)
                cr_assert(mpfr_less_p(L, Lprev), "seed 33 case %d s %d: no decrease", c, s);
            /* The rounded value is the saturated double (both are L_inf to
             * within the double bound of the first test). */
            cr_assert_leq(fabs(Lmd - Ld), 1e-14, "seed 33 case %d s %d", c, s);
        }
        /* (L(s) - L(s+1)) / (L(s+1) - L(s+2)) = e + O(e^{-s}) at s = 900. */
        mpfr_t La, Lb, Lc;
        mpfr_inits2(prec, La, Lb, Lc, (mpfr_ptr)0);
        ac_tpg_loss_line_mpfr(D, U0, U1, 900, D->n, La, dL, NULL, NULL, prec);
        ac_tpg_loss_line_mpfr(D, U0, U1, 901, D->n, Lb, dL, NULL, NULL, prec);
        ac_tpg_loss_line_mpfr(D, U0, U1, 902, D->n, Lc, dL, NULL, NULL, prec);
        mpfr_sub(d1, La, Lb, MPFR_RNDN);
        mpfr_sub(d2, Lb, Lc, MPFR_RNDN);
        mpfr_div(ratio, d1, d2, MPFR_RNDN);
        cr_assert_leq(fabs(mpfr_get_d(ratio, MPFR_RNDN) - exp(1.0)), 1e-12, "seed 33 case %d: %.17g", c,
                      mpfr_get_d(ratio, MPFR_RNDN));
        mpfr_clears(La, Lb, Lc, (mpfr_ptr)0);
        ac_tpg_data_free(D);
    }
    mpfr_clears(L, dL, Lprev, d1, d2, ratio, (mpfr_ptr)0);
    gsl_rng_free(r);
}

Test(tpg_mpfr, special_values_mirror_double)
{
    ac_tpg_data *D = ac_tpg_data_alloc(1, 2, 2);
    D->tok[0] = 0, D->tok[1] = 0, D->off[1] = 2, D->label[0] = 1;
    mpfr_t U[4], g[4], L;
    mpfr_init2(L, 64);
    for (int j = 0; j < 4; j++) {
        mpfr_inits2(64, U[j], g[j], (mpfr_ptr)0);
        mpfr_set_d(U[j], 0.25 * j, MPFR_RNDN);
    }
    cr_assert_eq(ac_tpg_loss_mpfr(D, U, 1.0, L, g, 64), AC_OK);
    cr_assert(mpfr_inf_p(L) && mpfr_sgn(L) > 0, "absent label gives +inf");
    cr_assert(mpfr_nan_p(g[0]));
    D->label[0] = 0;
    cr_assert_eq(ac_tpg_loss_mpfr(D, U, 1.0, L, g, 64), AC_OK);
    cr_assert(mpfr_zero_p(L), "one distinct token: zero loss");
    cr_assert_eq(ac_tpg_loss_mpfr(D, U, 0.0, L, NULL, 64), AC_OK);
    cr_assert(mpfr_nan_p(L));
    D->n = 0;
    cr_assert_eq(ac_tpg_loss_mpfr(D, U, 1.0, L, g, 64), AC_OK);
    cr_assert(mpfr_zero_p(L));
    cr_assert_eq(ac_tpg_loss_mpfr(D, U, 1.0, L, g, 0), AC_EINVAL);
    mpfr_clear(L);
    for (int j = 0; j < 4; j++)
        mpfr_clears(U[j], g[j], (mpfr_ptr)0);
    ac_tpg_data_free(D);
}

/* The precision check on both sides of each bound: MPFR_PREC_MIN is
 * accepted, one bit less and one above MPFR_PREC_MAX are refused, in the
 * loss and along the line. */
Test(tpg_mpfr, precision_bounds_on_both_sides)
{
    ac_tpg_data *D = ac_tpg_data_alloc(1, 2, 2);
    D->tok[0] = 1, D->tok[1] = 0, D->off[1] = 2, D->label[0] = 0;
    mpfr_t U[4], L, dL;
    mpfr_inits2(64, L, dL, (mpfr_ptr)0);
    for (int j = 0; j < 4; j++) {
        mpfr_init2(U[j], 64);
        mpfr_set_d(U[j], 0.25 * j, MPFR_RNDN);
    }
    double U0[4] = {0, 0.25, 0.5, 0.75}, U1[4] = {1, 0, 0, 1};
    cr_assert_eq(ac_tpg_loss_mpfr(D, U, 1.0, L, NULL, MPFR_PREC_MIN), AC_OK);
    cr_assert_eq(ac_tpg_loss_mpfr(D, U, 1.0, L, NULL, MPFR_PREC_MIN - 1), AC_EINVAL);
    cr_assert_eq(ac_tpg_loss_mpfr(D, U, 1.0, L, NULL, MPFR_PREC_MAX + 1), AC_EINVAL);
    cr_assert_eq(ac_tpg_loss_line_mpfr(D, U0, U1, 0.5, 1.0, L, dL, NULL, NULL, MPFR_PREC_MIN), AC_OK);
    cr_assert_eq(ac_tpg_loss_line_mpfr(D, U0, U1, 0.5, 1.0, L, dL, NULL, NULL, MPFR_PREC_MIN - 1), AC_EINVAL);
    cr_assert_eq(ac_tpg_loss_line_mpfr(D, U0, U1, 0.5, 1.0, L, dL, NULL, NULL, MPFR_PREC_MAX + 1), AC_EINVAL);
    mpfr_clears(L, dL, (mpfr_ptr)0);
    for (int j = 0; j < 4; j++)
        mpfr_clear(U[j]);
    ac_tpg_data_free(D);
}
