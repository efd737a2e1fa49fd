/* MPFR mirror of JoMA (theory/joma_mpfr.h): the mirror agrees with the
 * double right-hand sides; Gauss-Legendre (solvers/ode_mpfr.h) keeps the
 * joint flow's quadratic invariants (exp and linear attention) to 30+
 * digits at every step size while the softmax "invariant" drifts; the
 * explicit RK4 residual shrinks as h^4.  The integrators' own properties
 * are tested in tests/test_ode_mpfr.c. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <mpfr.h>
#include <string.h>

#include "solvers/ode_mpfr.h"
#include "theory/joma.h"
#include "theory/joma_mpfr.h"
#include "tests/testutil.h"

#define JM 3
#define JK 2
#define JN 3
#define JDIM (JM + JK * JM + JK)

static mpfr_t *vec(int n, mpfr_prec_t prec)
{
    mpfr_t *v = malloc(sizeof(mpfr_t) * (size_t)n);
    for (int i = 0; i < n; i++)
        mpfr_init2(v[i], prec);
    return v;
}

static void vec_clear(mpfr_t *v, int n)
{
    for (int i = 0; i < n; i++)
        mpfr_clear(v[i]);
    free(v);
}

typedef struct {
    double X[JN * JM], Y[JN * JK];
    ac_joma_joint J;
} joint_buf;

static void random_joint(gsl_rng *r, joint_buf *b, ac_joma_attention att, int tanh_act, double *y0)
{
    for (int i = 0; i < JN * JM; i++)
        b->X[i] = 0.1 + gsl_rng_uniform(r);
    for (int i = 0; i < JN * JK; i++)
        b->Y[i] = 0.8 * gsl_ran_gaussian(r, 1.0);
    ac_joma_joint J = {JM, JK, JN, att, tanh_act, b->X, b->Y, NULL};
    b->J = J;
    for (int i = 0; i < JDIM; i++)
        y0[i] = 0.3 * gsl_ran_gaussian(r, 1.0);
    if (att == AC_JOMA_ATT_LINEAR)
        for (int l = 0; l < JM; l++)
            y0[l] = 0.5 + fabs(y0[l]);
}

/* The mirror and the double code compute the same sums in the same order:
 * they agree to a few ulps of the largest term; 64 eps (1 + |f|) covers the
 * O(N K M) rounded operations of the joint flow and exp's error. */
Test(joma_mpfr, mirror_agrees_with_the_double_right_hand_sides)
{
    gsl_rng *r = ac_test_rng(31);
    const mpfr_prec_t prec = 160;
    mpfr_t *ym = vec(JDIM, prec), *fm = vec(JDIM, prec);
    for (int c = 0; c < ac_test_cases(12); c++) {
        joint_buf b;
        double y[JDIM], f[JDIM];
        random_joint(r, &b, (ac_joma_attention)(c % 3), (c / 3) % 2, y);
        for (int i = 0; i < JDIM; i++)
            mpfr_set_d(ym[i], y[i], MPFR_RNDN);
        cr_assert_eq(ac_joma_joint_rhs(&b.J, 0.0, y, f), 0);
        cr_assert_eq(ac_joma_joint_rhs_mpfr(&b.J, ym, fm, prec), 0);
        for (int i = 0; i < JDIM; i++) {
            double fi = mpfr_get_d(fm[i], MPFR_RNDN);
            cr_assert(fabs(fi - f[i]) <= 64 * DBL_EPSILON * (1 + fabs(f[i])),
                      "joint case %d i %d: %.17g vs %.17g", c, i, fi, f[i]);
        }
        /* reduced models, every kind */
        double d[JM], mu[JM], lam[JM], x[JM], cc[JM], v[JM], fr[JM];
        ac_joma_attention att = (ac_joma_attention)(c % 3);
        ac_joma_activation act = (ac_joma_activation)((c / 3) % 2);
        for (int l = 0; l < JM; l++) {
            d[l] = 1.7312 * gsl_ran_gaussian(r, 1.0);
            mu[l] = 1 + gsl_rng_uniform(r);
            lam[l] = 0.5 + gsl_rng_uniform(r);
            x[l] = 0.1 + gsl_rng_uniform(r);
            cc[l] = 0.2 + gsl_rng_uniform(r);
            v[l] = gsl_ran_gaussian(r, 1.0);
        }
        ac_joma_reduced m;
        ac_joma_reduced_init(&m, JM, att, act, act == AC_JOMA_ACT_LINEAR ? d : mu);
        m.lambda = lam;
        m.x = x;
        m.c = cc;
        m.T = 2.5;
        for (int l = 0; l < JM; l++)
            mpfr_set_d(ym[l], v[l], MPFR_RNDN);
        cr_assert_eq(ac_joma_reduced_rhs(&m, 0.0, v, fr), 0);
        cr_assert_eq(ac_joma_reduced_rhs_mpfr(&m, ym, fm, prec), 0);
        for (int l = 0; l < JM; l++) {
            double fi = mpfr_get_d(fm[l], MPFR_RNDN);
            cr_assert(fabs(fi - fr[l]) <= 64 * DBL_EPSILON * (1 + fabs(fr[l])),
                      "reduced case %d (%s) l %d: %.17g vs %.17g", c, ac_joma_attention_name(att), l,
                      fi, fr[l]);
        }
    }
    vec_clear(ym, JDIM);
    vec_clear(fm, JDIM);
    gsl_rng_free(r);
}

/* max_l |I_l(y) - I0_l| as a double. */
static double inv_drift(const ac_joma_joint *J, mpfr_t *y, mpfr_t *I0, mpfr_prec_t prec)
{
    mpfr_t *I = vec(JM, prec);
    ac_joma_joint_invariant_mpfr(J, y, I, prec);
    double mx = 0;
    for (int l = 0; l < JM; l++) {
        mpfr_sub(I[l], I[l], I0[l], MPFR_RNDN);
        mx = fmax(mx, fabs(mpfr_get_d(I[l], MPFR_RNDN)));
    }
    vec_clear(I, JM);
    return mx;
}

static double run(const ac_joma_joint *J, const double *y0, ac_ode_mpfr_method meth, int s,
                  long nsteps, double t1, mpfr_prec_t prec)
{
    mpfr_t *y = vec(JDIM, prec), *I0 = vec(JM, prec);
    for (int i = 0; i < JDIM; i++)
        mpfr_set_d(y[i], y0[i], MPFR_RNDN);
    ac_joma_joint_invariant_mpfr(J, y, I0, prec);
    ac_ode_mpfr_stepper *st = ac_ode_mpfr_stepper_alloc(meth, JDIM, s, prec);
    cr_assert_not_null(st);
    int it;
    cr_assert_eq(ac_ode_mpfr_integrate(st, ac_joma_joint_rhs_mpfr, (void *)J, y, 0.0, t1, nsteps, &it),
                 AC_OK);
    double d = inv_drift(J, y, I0, prec);
    ac_ode_mpfr_stepper_free(st);
    vec_clear(y, JDIM);
    vec_clear(I0, JM);
    return d;
}

/* 128 bits: 2^-128 = 2.9e-39.  Gauss-Legendre conserves I exactly for the
 * exact stages; the stages are solved to 2^-(128-8) relative and each step
 * rounds O(dim s) terms, so after n <= 20 steps the drift is below
 * 20 * 2^-100 ~ 1e-29 at the very worst; we ask 1e-30 (30 digits) and it
 * must hold at h = 0.5, 0.25 and 0.1.  RK4 at the same steps drifts by
 * truncation error, far above. */
Test(joma_mpfr, gauss_legendre_keeps_the_quadratic_invariants_to_30_digits_at_any_step)
{
    gsl_rng *r = ac_test_rng(32);
    const mpfr_prec_t prec = 128;
    for (int c = 0; c < ac_test_cases(2); c++) {
        for (int a = 0; a < 3; a++) {
            ac_joma_attention att = (ac_joma_attention)a;
            joint_buf b;
            double y0[JDIM];
            random_joint(r, &b, att, c % 2, y0);
            int s = 2 + 2 * (c % 2);
            const long nst[3] = {4, 8, 20};
            for (int k = 0; k < 3; k++) {
                double gl = run(&b.J, y0, AC_ODE_MPFR_GL, s, nst[k], 2.0, prec);
                double rk = run(&b.J, y0, AC_ODE_MPFR_RK4, 0, nst[k], 2.0, prec);
                if (att == AC_JOMA_ATT_SOFTMAX) {
                    /* Not a first integral: Gauss-Legendre follows the true
                     * drift, which is O(1) relative to the data here. */
                    cr_assert(gl > 1e-6, "case %d: softmax drift %g looks conserved", c, gl);
                } else {
                    cr_assert(gl <= 1e-30, "case %d (%s, s %d, h %g): GL drift %g", c,
                              ac_joma_attention_name(att), s, 2.0 / nst[k], gl);
                    cr_assert(rk > 1e-12, "case %d: RK4 drift %g", c, rk);
                }
            }
        }
    }
    gsl_rng_free(r);
}

/* RK4's invariant residual is its global truncation error projected on
 * grad I: C h^4 (1 + O(h)).  Halving h from 0.05 to 0.025 divides it by
 * 2^4 up to the O(h) correction: log2 of the ratio in [3.6, 4.4]. */
Test(joma_mpfr, rk4_invariant_residual_shrinks_as_h_to_the_fourth)
{
    gsl_rng *r = ac_test_rng(33);
    const mpfr_prec_t prec = 128;
    for (int c = 0; c < ac_test_cases(3); c++) {
        for (int a = 0; a < 2; a++) { /* EXP and LINEAR */
            joint_buf b;
            double y0[JDIM];
            random_joint(r, &b, (ac_joma_attention)(a == 0 ? AC_JOMA_ATT_EXP : AC_JOMA_ATT_LINEAR),
                         c % 2, y0);
            double d1 = run(&b.J, y0, AC_ODE_MPFR_RK4, 0, 40, 2.0, prec);
            double d2 = run(&b.J, y0, AC_ODE_MPFR_RK4, 0, 80, 2.0, prec);
            double p = log2(d1 / d2);
            cr_assert(p > 3.6 && p < 4.4, "case %d att %d: drift %g -> %g, order %.3f", c, a, d1, d2, p);
        }
    }
    gsl_rng_free(r);
}

/* The softmax "invariant" (with the norm term, bbar = the mean of the
 * normalised x, as the authors use x-bar) is not conserved, and its drift is
 * the integral of the covariance term: integrate w' = dI/dt beside the flow
 * over t in [0, 1] and compare I(t) - I(0) with w(t) at 192 bits.  I - w is a first integral but not a
 * quadratic one, so Gauss-Legendre (s = 8, order 16) keeps it up to its
 * truncation error C h^16 = C 6.6e-28 at h = 0.02, C = O(1) here; 1e-20
 * leaves room for C and is still 14 orders below the drift itself. */
typedef struct {
    const ac_joma_joint *J;
} aug_ctx;

static int aug_rhs(void *ctx, mpfr_t *y, mpfr_t *f, mpfr_prec_t prec)
{
    const aug_ctx *a = ctx;
    ac_joma_joint_rhs_mpfr((void *)a->J, y, f, prec);
    ac_joma_joint_invariant_rate_mpfr(a->J, y, f + JDIM, prec);
    return 0;
}

Test(joma_mpfr, softmax_invariant_drift_is_the_integrated_covariance_term)
{
    gsl_rng *r = ac_test_rng(34);
    const mpfr_prec_t prec = 192;
    for (int c = 0; c < ac_test_cases(1); c++) {
        joint_buf b;
        double y0[JDIM], bbar[JM] = {0};
        random_joint(r, &b, AC_JOMA_ATT_SOFTMAX, c % 2, y0);
        for (int n = 0; n < JN; n++) {
            double s = 0;
            for (int l = 0; l < JM; l++)
                s += b.X[n * JM + l];
            for (int l = 0; l < JM; l++)
                bbar[l] += b.X[n * JM + l] / s / JN;
        }
        b.J.bbar = bbar;
        mpfr_t *y = vec(JDIM + JM, prec), *I0 = vec(JM, prec), *I = vec(JM, prec);
        for (int i = 0; i < JDIM; i++)
            mpfr_set_d(y[i], y0[i], MPFR_RNDN);
        for (int l = 0; l < JM; l++)
            mpfr_set_zero(y[JDIM + l], 1);
        ac_joma_joint_invariant_mpfr(&b.J, y, I0, prec);
        ac_ode_mpfr_stepper *st = ac_ode_mpfr_stepper_alloc(AC_ODE_MPFR_GL, JDIM + JM, 8, prec);
        aug_ctx a = {&b.J};
        cr_assert_eq(ac_ode_mpfr_integrate(st, aug_rhs, &a, y, 0.0, 1.0, 50, NULL), AC_OK);
        ac_joma_joint_invariant_mpfr(&b.J, y, I, prec);
        for (int l = 0; l < JM; l++) {
            mpfr_sub(I[l], I[l], I0[l], MPFR_RNDN);
            double drift = mpfr_get_d(I[l], MPFR_RNDN);
            mpfr_sub(I[l], I[l], y[JDIM + l], MPFR_RNDN);
            double miss = fabs(mpfr_get_d(I[l], MPFR_RNDN));
            cr_assert(fabs(drift) > 1e-6, "case %d l %d: drift %g", c, l, drift);
            cr_assert(miss <= 1e-20, "case %d l %d: drift %g, integrated rate misses by %g", c, l,
                      drift, miss);
        }
        ac_ode_mpfr_stepper_free(st);
        vec_clear(y, JDIM + JM);
        vec_clear(I0, JM);
        vec_clear(I, JM);
    }
    gsl_rng_free(r);
}

/* The double integrator against an MPFR reference on the paper's nonlinear
 * form dv/dt = lambda (mu - v) exp(v^2/2): Gauss-Legendre s = 6 (order 12)
 * at 128 bits with h = 0.01 is exact to ~1e-24 C, far below double.  The
 * double error is bounded as in test_joma.c: accepted local errors (each
 * <= 2.2 (atol + rtol |v|)) amplified by exp(int max(0, mu_inf(J)) dt), the
 * logarithmic norm of the (diagonal) Jacobian, taken twice on the left and
 * right values of each step. */
static double double_bound(ac_ode_workspace *w, const ac_joma_reduced *m, const ac_ode_settings *s,
                           ac_ode_info *info)
{
    int M = m->M;
    double local = 0.0, logG = 0.0, t = ac_ode_t(w);
    double J[16], dfdt[4], vprev[4];
    while (!ac_ode_test(w, info)) {
        memcpy(vprev, ac_ode_y(w), sizeof(double) * (size_t)M);
        ac_ode_step(w);
        double mu = -HUGE_VAL, vmax = 0.0;
        for (int pass = 0; pass < 2; pass++) {
            const double *v = pass ? ac_ode_y(w) : vprev;
            ac_joma_reduced_jac((void *)m, 0.0, v, J, dfdt);
            for (int l = 0; l < M; l++) {
                mu = fmax(mu, J[l * M + l]);
                vmax = fmax(vmax, fabs(v[l]));
            }
        }
        logG += 2.0 * fmax(0.0, mu) * (ac_ode_t(w) - t);
        local += 2.2 * (s->atol + s->rtol * vmax) * exp(-logG);
        t = ac_ode_t(w);
    }
    return local * exp(logG);
}

Test(joma_mpfr, double_trajectory_is_within_its_bound_of_the_mpfr_reference)
{
    gsl_rng *r = ac_test_rng(35);
    const mpfr_prec_t prec = 128;
    const int M = 4;
    const double t1 = 1.5;
    double mu[4], v0[4];
    for (int l = 0; l < M; l++) {
        mu[l] = 1.0 + 1.5 * gsl_rng_uniform(r);
        v0[l] = 0.05;
    }
    ac_joma_reduced m;
    ac_joma_reduced_init(&m, M, AC_JOMA_ATT_EXP, AC_JOMA_ACT_NONLINEAR, mu);
    mpfr_t *vr = vec(M, prec);
    for (int l = 0; l < M; l++)
        mpfr_set_d(vr[l], v0[l], MPFR_RNDN);
    ac_ode_mpfr_stepper *st = ac_ode_mpfr_stepper_alloc(AC_ODE_MPFR_GL, M, 6, prec);
    cr_assert_eq(ac_ode_mpfr_integrate(st, ac_joma_reduced_rhs_mpfr, &m, vr, 0.0, t1, 150, NULL),
                 AC_OK);
    ac_ode_system sys;
    ac_joma_reduced_system(&m, &sys);
    const ac_ode_method meth[3] = {AC_ODE_RK8PD, AC_ODE_MSBDF, AC_ODE_RK4IMP};
    for (int k = 0; k < 3; k++) {
        ac_ode_settings s;
        ac_ode_settings_default(&s);
        s.method = meth[k];
        s.rtol = 1e-12; /* tight, so that the bound (~1e3 steps x rtol x growth) is ~1e-10 */
        s.atol = 1e-14;
        ac_ode_workspace *w = ac_ode_alloc(M);
        cr_assert_eq(ac_ode_set(w, &sys, 0.0, v0, t1, &s, NULL), AC_OK);
        ac_ode_info info;
        double bound = double_bound(w, &m, &s, &info);
        cr_assert_eq(info.status, AC_ODE_DONE);
        for (int l = 0; l < M; l++) {
            double ref = mpfr_get_d(vr[l], MPFR_RNDN);
            double err = fabs(ac_ode_y(w)[l] - ref);
            cr_assert(err <= bound, "%s l %d: |double - MPFR| = %g > bound %g",
                      ac_ode_method_name(s.method), l, err, bound);
        }
        ac_ode_free(w);
    }
    ac_ode_mpfr_stepper_free(st);
    vec_clear(vr, M);
    gsl_rng_free(r);
}
