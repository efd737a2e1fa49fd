/* MPFR mirror of the attention-paths action (theory/paths_mpfr.h): it
 * agrees with the double code where K + T I is well conditioned, with
 * itself at two precisions, and shows how many digits the double values
 * keep as T shrinks. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "theory/paths.h"
#include "theory/paths_mpfr.h"
#include "tests/testutil.h"

#define EPS DBL_EPSILON
#define PREC 256

static double *rvec(gsl_rng *r, size_t n, double sd)
{
    double *v = malloc(sizeof(double) * (n + 1));
    for (size_t i = 0; i < n; i++)
        v[i] = sd * gsl_ran_gaussian(r, 1.0);
    return v;
}

/* U_l = B B^T / d + 0.3 I. */
static double *rand_u(gsl_rng *r, const ac_paths_settings *s)
{
    double *U = malloc(sizeof(double) * ac_paths_u_size(s));
    for (int l = 1; l <= s->L; l++) {
        int d = ac_paths_dim(s, l);
        double *A = U + ac_paths_u_offset(s, l), *B = rvec(r, (size_t)d * d, 0.8);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double acc = 0.0;
                for (int k = 0; k < d; k++)
                    acc += B[i * d + k] * B[j * d + k];
                A[i * d + j] = acc / d + (i == j ? 0.3 : 0.0);
            }
        free(B);
    }
    return U;
}

static void rand_case(gsl_rng *r, ac_paths_settings *s)
{
    ac_paths_settings_default(s);
    do {
        s->L = 1 + (int)gsl_rng_uniform_int(r, 2);
        for (int l = 0; l < s->L; l++)
            s->H[l] = 1 + (int)gsl_rng_uniform_int(r, 3);
    } while (ac_paths_count(s) > 6);
    for (int l = 0; l <= s->L; l++) {
        s->n[l] = 2.0 + 28.0 * gsl_rng_uniform(r);
        s->sigma2[l] = 0.5 + 1.5 * gsl_rng_uniform(r);
    }
    s->sigma2_a = 0.5 + 1.5 * gsl_rng_uniform(r);
    s->T = 0.1 + gsl_rng_uniform(r);
}

static mpfr_t *vinit(size_t n, mpfr_prec_t p)
{
    mpfr_t *v = malloc(sizeof(mpfr_t) * (n + 1));
    for (size_t i = 0; i < n; i++)
        mpfr_init2(v[i], p);
    return v;
}

static void vclear(mpfr_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mpfr_clear(v[i]);
    free(v);
}

Test(paths_mpfr, action_and_gradient_agree_with_double_when_well_conditioned)
{
    gsl_rng *r = ac_test_rng(61);
    int ncase = ac_test_cases(30);
    for (int c = 0; c < ncase; c++) {
        ac_paths_settings s;
        rand_case(r, &s);
        int P = (int)gsl_rng_uniform_int(r, 6), N0 = 1 + (int)gsl_rng_uniform_int(r, 3);
        int np = ac_paths_count(&s);
        size_t nu = ac_paths_u_size(&s);
        double *Phi = rvec(r, (size_t)P * N0 * np, 0.7), *Y = rvec(r, (size_t)P, 1.0);
        double *U = rand_u(r, &s), *G = malloc(sizeof(double) * nu), S, Ua;
        ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
        ac_paths_set_data(w, Phi, Y, NULL);
        cr_assert_eq(ac_paths_action(w, U, &S, &Ua, G, NULL), AC_OK);
        mpfr_t Sm, Uam, S2;
        mpfr_inits2(PREC, Sm, Uam, (mpfr_ptr)0);
        mpfr_init2(S2, PREC + 64);
        mpfr_t *Gm = vinit(nu, PREC), *G2 = vinit(nu, PREC + 64);
        cr_assert_eq(ac_paths_action_mpfr(&s, P, N0, Phi, Y, U, Sm, Uam, Gm, PREC), AC_OK);
        cr_assert_eq(ac_paths_action_mpfr(&s, P, N0, Phi, Y, U, S2, NULL, G2, PREC + 64), AC_OK);
        /* The mirror at 256 and 320 bits: the same formulas on the same
         * inputs, condition <= 1e3 here, so they agree to 2^-240 relative. */
        mpfr_sub(S2, S2, Sm, MPFR_RNDN);
        cr_assert_leq(fabs(mpfr_get_d(S2, MPFR_RNDN)), ldexp(1.0, -240) * (1.0 + fabs(S)));
        /* Double against MPFR: T >= 0.1 and |Phi| ~ 0.7 keep cond(K + T I)
         * <= 1 + P max K / T; the double action carries (P + sum D) cond
         * eps of the absolute size of its terms (widths times O(1) logs,
         * |S|): 64x that.  Gradient entries likewise, on the gradient's
         * scale plus the widths. */
        double wsum = 0.0;
        for (int l = 0; l <= s.L; l++)
            wsum += s.n[l];
        double cond = 1.0 + P * 0.5 * N0 * np * 4.0 / s.T;
        double tol = 64.0 * (P + np + 4) * cond * EPS * (fabs(S) + wsum);
        cr_assert_leq(fabs(S - mpfr_get_d(Sm, MPFR_RNDN)), tol, "seed 61 case %d: %.17g vs %.17g", c,
                      S, mpfr_get_d(Sm, MPFR_RNDN));
        cr_assert_leq(fabs(Ua - mpfr_get_d(Uam, MPFR_RNDN)), 16 * EPS * Ua);
        for (size_t j = 0; j < nu; j++) {
            double gm = mpfr_get_d(Gm[j], MPFR_RNDN);
            cr_assert_leq(fabs(G[j] - gm), 64.0 * (P + np + 4) * cond * EPS * (wsum + fabs(gm)),
                          "seed 61 case %d entry %zu: %.17g vs %.17g", c, j, G[j], gm);
        }
        mpfr_clears(Sm, Uam, S2, (mpfr_ptr)0);
        vclear(Gm, nu), vclear(G2, nu);
        ac_paths_free(w);
        free(Phi), free(Y), free(U), free(G);
    }
    gsl_rng_free(r);
}

/* One layer, one head: the minimiser's objective f(theta) = S(u)/n_max with
 * u = e^{2 theta} (theory/paths.h, ac_paths_objective) has gradient
 * df/dtheta = 2 u dS/du / n_max, so the MPFR matrix gradient G (= dS/du
 * for a 1 x 1 U_1) through that chain factor is the solver's gradient: the
 * link paths.closed-form's 128-bit bracket relies on (it brackets the zero
 * of G, the solver stops near the zero of g).  u in [1.3, 3] and n_max >= 2
 * put each wrong factor (1 or u for 2u, no 1/n_max) at least 2x off, a miss
 * of >= 50 % of |g|; only cases with |g| >= 1e-3 (away from the minimum)
 * are judged. */
Test(paths_mpfr, one_path_objective_gradient_is_the_mpfr_gradient_times_2u_over_n_max)
{
    gsl_rng *r = ac_test_rng(63);
    int ncase = ac_test_cases(20), checked = 0;
    for (int c = 0; c < ncase; c++) {
        ac_paths_settings s;
        ac_paths_settings_default(&s);
        s.n[0] = 2.0 + 28.0 * gsl_rng_uniform(r), s.n[1] = 2.0 + 28.0 * gsl_rng_uniform(r);
        s.sigma2[1] = 0.5 + 1.5 * gsl_rng_uniform(r), s.sigma2_a = 0.5 + 1.5 * gsl_rng_uniform(r);
        s.T = 0.1 + gsl_rng_uniform(r);
        int P = 2 + (int)gsl_rng_uniform_int(r, 6), N0 = 1 + (int)gsl_rng_uniform_int(r, 4);
        double *Phi = rvec(r, (size_t)P * N0, 0.7), *Y = rvec(r, (size_t)P, 1.0);
        double theta = 0.5 * log(1.3 + 1.7 * gsl_rng_uniform(r)), u, f, g;
        ac_paths_u_from_theta(&s, &theta, &u);
        ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
        ac_paths_set_data(w, Phi, Y, NULL);
        cr_assert_eq(ac_paths_objective(w, &theta, &f, &g), 0);
        mpfr_t Sm, Gm[1];
        mpfr_inits2(PREC, Sm, Gm[0], (mpfr_ptr)0);
        cr_assert_eq(ac_paths_action_mpfr(&s, P, N0, Phi, Y, &u, Sm, NULL, Gm, PREC), AC_OK);
        double nmax = fmax(s.n[0], s.n[1]), G = mpfr_get_d(Gm[0], MPFR_RNDN), gm = 2.0 * u * G / nmax;
        /* The double G's rounding as in the test above (cond(K + T I) <= 1 +
         * P N0 max Phi^2 u / T, bounded by 1 + P N0 4 u / T for |Phi| ~ 0.7),
         * carried through 2u/n_max, plus a few eps of the chain's products. */
        double cond = 1.0 + P * N0 * 4.0 * u / s.T;
        double tol = 64.0 * (P + 5) * cond * EPS * (s.n[0] + s.n[1] + fabs(G)) * 2.0 * u / nmax + 8 * EPS * fabs(gm);
        if (fabs(gm) >= 1e-3) {
            cr_assert_leq(fabs(g - gm), tol, "seed 63 case %d: g %.17g, 2u G/n_max %.17g (u %g, n_max %g)", c, g,
                          gm, u, nmax);
            cr_assert_lt(tol, 0.3 * fabs(gm), "seed 63 case %d: tolerance %g does not resolve a chain factor", c, tol);
            checked++;
        }
        mpfr_clears(Sm, Gm[0], (mpfr_ptr)0);
        ac_paths_free(w);
        free(Phi), free(Y);
    }
    cr_assert_geq(checked, ncase / 2, "only %d of %d cases away from the minimum", checked, ncase);
    gsl_rng_free(r);
}

/* Correct digits of x against the reference m: -log10 |x - m| / |m|,
 * capped at 17. */
static double digits(double x, mpfr_t m)
{
    mpfr_t d;
    mpfr_init2(d, mpfr_get_prec(m));
    mpfr_sub_d(d, m, x, MPFR_RNDN);
    mpfr_div(d, d, m, MPFR_RNDN);
    double e = fabs(mpfr_get_d(d, MPFR_RNDN));
    mpfr_clear(d);
    return e > 0.0 ? fmin(17.0, -log10(e)) : 17.0;
}

Test(paths_mpfr, digits_the_double_action_keeps_as_temperature_shrinks)
{
    /* Above capacity: P = 12 examples, N0 H^L = 2 * 4 = 8 features, so K has
     * rank <= 8 and K + T I condition lambda_max / T. */
    gsl_rng *r = ac_test_rng(62);
    ac_paths_settings s;
    ac_paths_settings_default(&s);
    s.L = 2, s.H[0] = 2, s.H[1] = 2;
    for (int l = 0; l <= 2; l++)
        s.n[l] = 10.0;
    int P = 12, N0 = 2, np = 4;
    size_t nu = ac_paths_u_size(&s);
    double *Phi = rvec(r, (size_t)P * N0 * np, 0.7), *Y = rvec(r, (size_t)P, 1.0);
    double *U = rand_u(r, &s), *G = malloc(sizeof(double) * nu), S;
    double *K = malloc(sizeof(double) * (size_t)P * P);
    ac_paths_kernel(&s, N0, P, Phi, P, Phi, U, K);
    double kmax = 0.0;
    for (int i = 0; i < P; i++)
        kmax = fmax(kmax, K[i * P + i]);
    mpfr_t Sm;
    mpfr_init2(Sm, PREC);
    mpfr_t *Gm = vinit(nu, PREC);
    double first = 0.0, last = 0.0;
    for (int k = 1; k <= 10; k++) {
        s.T = pow(10.0, -k);
        ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
        ac_paths_set_data(w, Phi, Y, NULL);
        cr_assert_eq(ac_paths_action(w, U, &S, NULL, G, NULL), AC_OK);
        cr_assert_eq(ac_paths_action_mpfr(&s, P, N0, Phi, Y, U, Sm, NULL, Gm, PREC), AC_OK);
        double dS = digits(S, Sm), dG = 17.0, gscale = 0.0;
        for (size_t j = 0; j < nu; j++)
            gscale = fmax(gscale, fabs(mpfr_get_d(Gm[j], MPFR_RNDN)));
        for (size_t j = 0; j < nu; j++) {
            double e = fabs(G[j] - mpfr_get_d(Gm[j], MPFR_RNDN)) / gscale;
            if (e > 0.0)
                dG = fmin(dG, -log10(e));
        }
        /* A backward-stable Cholesky loses at most log10(cond) digits of
         * 15.9, cond <= P kmax / T + 1; 2 more for the sums around it (P,
         * np, a few tens of eps). */
        double bound = 15.9 - log10(P * P * kmax / s.T + 1.0) - 2.0;
        cr_log_info("T = 1e-%d: S keeps %.1f digits, grad %.1f (bound %.1f)", k, dS, dG, bound);
        cr_assert_geq(dS, bound, "T = 1e-%d: %.1f digits", k, dS);
        cr_assert_geq(dG, bound, "T = 1e-%d: grad %.1f digits", k, dG);
        if (k == 1)
            first = dG;
        last = dG;
        ac_paths_free(w);
    }
    /* The loss is real: at T = 1e-10 the gradient keeps fewer digits than at
     * T = 0.1 (about log10 of the 1e9 growth of the condition). */
    cr_assert_lt(last, first - 3.0, "digits %.1f at T = 0.1, %.1f at T = 1e-10", first, last);
    mpfr_clear(Sm);
    vclear(Gm, nu);
    free(Phi), free(Y), free(U), free(G), free(K);
    gsl_rng_free(r);
}

Test(paths_mpfr, invalid_precision_and_not_positive_definite_are_reported)
{
    ac_paths_settings s;
    ac_paths_settings_default(&s);
    double U[1] = {-1.7312}, Phi[2] = {0.3, 0.4}, Y[1] = {1.0};
    mpfr_t S;
    mpfr_init2(S, PREC);
    cr_assert_eq(ac_paths_action_mpfr(&s, 1, 2, Phi, Y, U, S, NULL, NULL, PREC), AC_ENUMERIC);
    U[0] = 1.7312;
    cr_assert_eq(ac_paths_action_mpfr(&s, 1, 2, Phi, Y, U, S, NULL, NULL, 0), AC_EINVAL);
    s.T = 0.0;
    cr_assert_eq(ac_paths_action_mpfr(&s, 1, 2, Phi, Y, U, S, NULL, NULL, PREC), AC_EINVAL);
    mpfr_clear(S);
}
