/* Fixed-step MPFR integrators (solvers/ode_mpfr.h), on systems with known
 * answers: the Gauss-Legendre tableau meets its order conditions; Gauss-
 * Legendre keeps the quadratic first integrals of Euler's rigid body to
 * 30+ digits whatever the step while RK4 does not; RK4's invariant residual
 * shrinks as h^4 and Gauss-Legendre's global error as h^{2s}; a failing
 * right-hand side or a step too large for the stage iteration leaves y at
 * the last good step. */
#include <criterion/criterion.h>
#include <math.h>
#include <mpfr.h>
#include <stdlib.h>

#include "solvers/ode_mpfr.h"
#include "tests/testutil.h"

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

/* Order conditions of an s-stage Gauss-Legendre method (order 2s):
 * sum_i b_i c_i^{k-1} = 1/k for k = 1..2s (B(2s)) and sum_j a_ij c_j^{k-1}
 * = c_i^k / k for k = 1..s (C(s)), exact identities checked to 2^-(prec-16)
 * (sums of s terms of size <= 1, each rounded, and the nodes found to
 * 2^-(prec+8) by Newton). */
Test(ode_mpfr, gauss_legendre_tableau_meets_its_order_conditions)
{
    const mpfr_prec_t prec = 200;
    mpfr_t sum, t, tol;
    mpfr_inits2(prec, sum, t, tol, (mpfr_ptr)0);
    mpfr_set_ui_2exp(tol, 1, -(mpfr_exp_t)(prec - 16), MPFR_RNDN);
    for (int s = 1; s <= 8; s++) {
        ac_ode_mpfr_stepper *st = ac_ode_mpfr_stepper_alloc(AC_ODE_MPFR_GL, 1, s, prec);
        cr_assert_not_null(st);
        mpfr_t *c, *b, *a;
        ac_ode_mpfr_stepper_tableau(st, &c, &b, &a);
        for (int k = 1; k <= 2 * s; k++) {
            mpfr_set_zero(sum, 1);
            for (int i = 0; i < s; i++) {
                mpfr_pow_ui(t, c[i], (unsigned long)(k - 1), MPFR_RNDN);
                mpfr_fma(sum, b[i], t, sum, MPFR_RNDN);
            }
            mpfr_set_ui(t, 1, MPFR_RNDN);
            mpfr_div_ui(t, t, (unsigned long)k, MPFR_RNDN);
            mpfr_sub(sum, sum, t, MPFR_RNDN);
            mpfr_abs(sum, sum, MPFR_RNDN);
            cr_assert(mpfr_lessequal_p(sum, tol), "s %d: B(%d) off by %g", s, k, mpfr_get_d(sum, MPFR_RNDN));
        }
        for (int i = 0; i < s; i++)
            for (int k = 1; k <= s; k++) {
                mpfr_set_zero(sum, 1);
                for (int j = 0; j < s; j++) {
                    mpfr_pow_ui(t, c[j], (unsigned long)(k - 1), MPFR_RNDN);
                    mpfr_fma(sum, a[i * s + j], t, sum, MPFR_RNDN);
                }
                mpfr_pow_ui(t, c[i], (unsigned long)k, MPFR_RNDN);
                mpfr_div_ui(t, t, (unsigned long)k, MPFR_RNDN);
                mpfr_sub(sum, sum, t, MPFR_RNDN);
                mpfr_abs(sum, sum, MPFR_RNDN);
                cr_assert(mpfr_lessequal_p(sum, tol), "s %d: C(%d) row %d off by %g", s, k, i,
                          mpfr_get_d(sum, MPFR_RNDN));
            }
        ac_ode_mpfr_stepper_free(st);
    }
    mpfr_clears(sum, t, tol, (mpfr_ptr)0);
    cr_assert_null(ac_ode_mpfr_stepper_alloc(AC_ODE_MPFR_GL, 1, 0, 128));
    cr_assert_null(ac_ode_mpfr_stepper_alloc(AC_ODE_MPFR_RK4, 0, 1, 128));
}

/* Euler's free rigid body with principal moments I (y = angular momentum):
 *     y1' = (1/I3 - 1/I2) y2 y3,  y2' = (1/I1 - 1/I3) y3 y1,
 *     y3' = (1/I2 - 1/I1) y1 y2.
 * Both |y|^2 and the energy sum_i y_i^2 / I_i are quadratic first
 * integrals (the three coefficients sum to 0, and so do them weighted by
 * 1/I_i). */
typedef struct {
    double I[3];
} body;

static int body_rhs(void *ctx, mpfr_t *y, mpfr_t *f, mpfr_prec_t prec)
{
    const body *b = ctx;
    mpfr_t a;
    mpfr_init2(a, prec);
    for (int i = 0; i < 3; i++) {
        int j = (i + 1) % 3, k = (i + 2) % 3;
        /* a = 1/I_k - 1/I_j */
        mpfr_set_d(a, 1.0 / b->I[k], MPFR_RNDN);
        mpfr_sub_d(a, a, 1.0 / b->I[j], MPFR_RNDN);
        mpfr_mul(a, a, y[j], MPFR_RNDN);
        mpfr_mul(f[i], a, y[k], MPFR_RNDN);
    }
    mpfr_clear(a);
    return 0;
}

/* The two invariants: Q[0] = |y|^2, Q[1] = sum y_i^2 / I_i (1/I_i taken
 * as the same rounded doubles as in the right-hand side). */
static void body_invariants(const body *b, mpfr_t *y, mpfr_t *Q, mpfr_prec_t prec)
{
    mpfr_t t;
    mpfr_init2(t, prec);
    mpfr_set_zero(Q[0], 1);
    mpfr_set_zero(Q[1], 1);
    for (int i = 0; i < 3; i++) {
        mpfr_sqr(t, y[i], MPFR_RNDN);
        mpfr_add(Q[0], Q[0], t, MPFR_RNDN);
        mpfr_mul_d(t, t, 1.0 / b->I[i], MPFR_RNDN);
        mpfr_add(Q[1], Q[1], t, MPFR_RNDN);
    }
    mpfr_clear(t);
}

/* Largest relative change of the two invariants after nsteps steps of
 * (0, t1) from y0. */
static double body_drift(const body *b, const double *y0, ac_ode_mpfr_method m, int s, long nsteps,
                         double t1, mpfr_prec_t prec)
{
    mpfr_t *y = vec(3, prec), *Q0 = vec(2, prec), *Q = vec(2, prec);
    for (int i = 0; i < 3; i++)
        mpfr_set_d(y[i], y0[i], MPFR_RNDN);
    body_invariants(b, y, Q0, prec);
    ac_ode_mpfr_stepper *st = ac_ode_mpfr_stepper_alloc(m, 3, s, prec);
    cr_assert_not_null(st);
    cr_assert_eq(ac_ode_mpfr_integrate(st, body_rhs, (void *)b, y, 0.0, t1, nsteps, NULL), AC_OK);
    body_invariants(b, y, Q, prec);
    double d = 0.0;
    for (int i = 0; i < 2; i++) {
        mpfr_sub(Q[i], Q[i], Q0[i], MPFR_RNDN);
        mpfr_div(Q[i], Q[i], Q0[i], MPFR_RNDN);
        d = fmax(d, fabs(mpfr_get_d(Q[i], MPFR_RNDN)));
    }
    ac_ode_mpfr_stepper_free(st);
    vec_clear(y, 3);
    vec_clear(Q0, 2);
    vec_clear(Q, 2);
    return d;
}

static void random_body(gsl_rng *r, body *b, double *y0)
{
    for (int i = 0; i < 3; i++) {
        b->I[i] = 0.5 + 1.7312 * gsl_rng_uniform(r);
        y0[i] = 0.2 + gsl_rng_uniform(r);
    }
}

/* 128 bits: 2^-128 = 2.9e-39.  The exact stages keep a quadratic invariant
 * exactly; the stages are solved to 2^-(128-8) relative and each step
 * rounds O(s dim) terms of size O(|y|), so after n <= 40 steps the
 * relative drift is below 40 * 2^-110 ~ 3e-32 at the very worst: we ask
 * 1e-30 (30 digits) at h = 0.5, 0.2 and 0.05 (the stage iteration
 * converges at h = 0.5: body_drift asserts AC_OK).  RK4 at h = 0.5
 * drifts by its truncation error, far above 1e-12. */
Test(ode_mpfr, gauss_legendre_keeps_quadratic_invariants_to_30_digits_at_any_step)
{
    gsl_rng *r = ac_test_rng(41);
    const mpfr_prec_t prec = 128;
    const long nst[3] = {4, 10, 40};
    for (int c = 0; c < ac_test_cases(3); c++) {
        body b;
        double y0[3];
        random_body(r, &b, y0);
        for (int s = 1; s <= 4; s++)
            for (int k = 0; k < 3; k++) {
                double gl = body_drift(&b, y0, AC_ODE_MPFR_GL, s, nst[k], 2.0, prec);
                cr_assert(gl <= 1e-30, "case %d s %d h %g: GL relative drift %g", c, s, 2.0 / nst[k],
                          gl);
            }
        double rk = body_drift(&b, y0, AC_ODE_MPFR_RK4, 0, 4, 2.0, prec);
        cr_assert(rk > 1e-12, "case %d: RK4 drift %g looks conserved", c, rk);
    }
    gsl_rng_free(r);
}

/* RK4's invariant residual is its global error projected on grad Q, at
 * most C h^4 (1 + O(h)); the projection of the h^4 term can cancel (on
 * the rigid body it does for some starts, giving order 5), so halving h
 * from 0.05 to 0.025 over (0, 1), a fraction of a rotation (over longer
 * spans the oscillating error term makes the ratio erratic), must divide
 * it by at least 2^4 up to the O(h)
 * correction, and by at most 2^6 (no order-6 cancellation in RK4):
 * log2 of the ratio in [3.6, 6]. */
Test(ode_mpfr, rk4_invariant_residual_shrinks_as_h_to_the_fourth)
{
    gsl_rng *r = ac_test_rng(42);
    for (int c = 0; c < ac_test_cases(3); c++) {
        body b;
        double y0[3];
        random_body(r, &b, y0);
        double d1 = body_drift(&b, y0, AC_ODE_MPFR_RK4, 0, 20, 1.0, 128);
        double d2 = body_drift(&b, y0, AC_ODE_MPFR_RK4, 0, 40, 1.0, 128);
        double p = log2(d1 / d2);
        cr_assert(p > 3.6 && p < 6.0, "case %d: drift %g -> %g, order %.3f", c, d1, d2, p);
    }
    gsl_rng_free(r);
}

/* y' = exp(-y), y(t) = ln(e^{y0} + t) (not a Riccati equation, on which
 * Gauss-Legendre superconverges: y' = y^2 showed order 6 at s = 2):
 * the global error at t = 1 is C h^p (1 + O(h)), p = 2s for Gauss-Legendre
 * and 4 for RK4; halving h (0.1 -> 0.05) divides it by 2^p: the observed
 * order within 0.4 of p.  At s = 3 the error at h = 0.05 is ~1e-12 or
 * more, far above the 2^-128 rounding. */
static int expm_rhs(void *ctx, mpfr_t *y, mpfr_t *f, mpfr_prec_t prec)
{
    (void)ctx;
    (void)prec;
    mpfr_neg(f[0], y[0], MPFR_RNDN);
    mpfr_exp(f[0], f[0], MPFR_RNDN);
    return 0;
}

static double expm_error(ac_ode_mpfr_method m, int s, double y0, long nsteps)
{
    const mpfr_prec_t prec = 128;
    mpfr_t *y = vec(1, prec), *ex = vec(1, prec);
    mpfr_set_d(y[0], y0, MPFR_RNDN);
    ac_ode_mpfr_stepper *st = ac_ode_mpfr_stepper_alloc(m, 1, s, prec);
    cr_assert_eq(ac_ode_mpfr_integrate(st, expm_rhs, NULL, y, 0.0, 1.0, nsteps, NULL), AC_OK);
    /* exact y(1) = ln(e^{y0} + 1) */
    mpfr_set_d(ex[0], y0, MPFR_RNDN);
    mpfr_exp(ex[0], ex[0], MPFR_RNDN);
    mpfr_log1p(ex[0], ex[0], MPFR_RNDN);
    mpfr_sub(y[0], y[0], ex[0], MPFR_RNDN);
    double e = fabs(mpfr_get_d(y[0], MPFR_RNDN));
    ac_ode_mpfr_stepper_free(st);
    vec_clear(y, 1);
    vec_clear(ex, 1);
    return e;
}

Test(ode_mpfr, global_error_shrinks_as_h_to_the_order)
{
    gsl_rng *r = ac_test_rng(43);
    for (int c = 0; c < ac_test_cases(2); c++) {
        double y0 = -1.0 + 1.7312 * gsl_rng_uniform(r);
        for (int s = 1; s <= 3; s++) {
            double e1 = expm_error(AC_ODE_MPFR_GL, s, y0, 10);
            double e2 = expm_error(AC_ODE_MPFR_GL, s, y0, 20);
            double p = log2(e1 / e2);
            cr_assert(fabs(p - 2 * s) < 0.4, "case %d s %d: error %g -> %g, order %.3f", c, s, e1,
                      e2, p);
        }
        double e1 = expm_error(AC_ODE_MPFR_RK4, 0, y0, 10);
        double e2 = expm_error(AC_ODE_MPFR_RK4, 0, y0, 20);
        double p = log2(e1 / e2);
        cr_assert(fabs(p - 4) < 0.4, "case %d RK4: error %g -> %g, order %.3f", c, e1, e2, p);
    }
    gsl_rng_free(r);
}

/* A right-hand side that refuses its n-th call. */
typedef struct {
    int calls, fail_at;
} refuse_ctx;

static int refusing_rhs(void *ctx, mpfr_t *y, mpfr_t *f, mpfr_prec_t prec)
{
    refuse_ctx *c = ctx;
    if (++c->calls >= c->fail_at)
        return -1;
    return expm_rhs(NULL, y, f, prec);
}

/* y' = -L y with L = 1000: one GL sweep contracts by h L max_i sum_j |a_ij|,
 * so h = 1 (h L = 1000) cannot converge. */
static int stiff_rhs(void *ctx, mpfr_t *y, mpfr_t *f, mpfr_prec_t prec)
{
    (void)ctx;
    (void)prec;
    mpfr_mul_si(f[0], y[0], -1000, MPFR_RNDN);
    return 0;
}

Test(ode_mpfr, failures_leave_y_at_the_last_good_step)
{
    const mpfr_prec_t prec = 96;
    mpfr_t *y = vec(1, prec), h, y_before;
    mpfr_inits2(prec, h, y_before, (mpfr_ptr)0);
    for (int m = 0; m < 2; m++) {
        ac_ode_mpfr_stepper *st = ac_ode_mpfr_stepper_alloc((ac_ode_mpfr_method)m, 1, 2, prec);
        /* the refusal comes in the third step (RK4: 4 calls a step; GL: 1 +
         * 2 per sweep, at least 2 sweeps) */
        refuse_ctx rc = {0, m == AC_ODE_MPFR_RK4 ? 10 : 0};
        if (m == AC_ODE_MPFR_GL) {
            /* count the calls of two good steps first */
            mpfr_set_d(y[0], 0.4, MPFR_RNDN);
            refuse_ctx probe = {0, 1 << 30};
            cr_assert_eq(ac_ode_mpfr_integrate(st, refusing_rhs, &probe, y, 0.0, 0.2, 2, NULL), AC_OK);
            rc.fail_at = probe.calls + 2;
        }
        mpfr_set_d(y[0], 0.4, MPFR_RNDN);
        cr_assert_eq(ac_ode_mpfr_integrate(st, refusing_rhs, &rc, y, 0.0, 0.2, 2, NULL), AC_OK);
        mpfr_set(y_before, y[0], MPFR_RNDN);
        mpfr_set_d(h, 0.1, MPFR_RNDN);
        cr_assert_eq(ac_ode_mpfr_step(st, refusing_rhs, &rc, y, h, NULL), AC_ECALLBACK, "method %d", m);
        cr_assert(mpfr_equal_p(y[0], y_before), "method %d moved y on a refused step", m);
        ac_ode_mpfr_stepper_free(st);
    }
    /* GL: a step too large for the fixed-point iteration */
    ac_ode_mpfr_stepper *st = ac_ode_mpfr_stepper_alloc(AC_ODE_MPFR_GL, 1, 2, prec);
    mpfr_set_d(y[0], 1.7312, MPFR_RNDN);
    mpfr_set(y_before, y[0], MPFR_RNDN);
    mpfr_set_d(h, 1.0, MPFR_RNDN);
    int it = 0;
    cr_assert_eq(ac_ode_mpfr_step(st, stiff_rhs, NULL, y, h, &it), AC_ENOCONV);
    cr_assert_eq(it, AC_ODE_MPFR_GL_MAX_ITER + 1);
    cr_assert(mpfr_equal_p(y[0], y_before));
    /* bad arguments */
    cr_assert_eq(ac_ode_mpfr_step(NULL, stiff_rhs, NULL, y, h, NULL), AC_EINVAL);
    cr_assert_eq(ac_ode_mpfr_step(st, NULL, NULL, y, h, NULL), AC_EINVAL);
    cr_assert_eq(ac_ode_mpfr_integrate(st, stiff_rhs, NULL, y, 0.0, 1.0, 0, NULL), AC_EINVAL);
    cr_assert_eq(ac_ode_mpfr_integrate(st, stiff_rhs, NULL, y, 0.0, NAN, 1, NULL), AC_EINVAL);
    cr_assert_null(ac_ode_mpfr_stepper_alloc((ac_ode_mpfr_method)7, 1, 2, prec));
    cr_assert_null(ac_ode_mpfr_stepper_alloc(AC_ODE_MPFR_GL, 1, 2, MPFR_PREC_MIN - 1));
    ac_ode_mpfr_stepper_free(st);
    ac_ode_mpfr_stepper_free(NULL);
    mpfr_clears(h, y_before, (mpfr_ptr)0);
    vec_clear(y, 1);
}

/* Sizes whose tableau (s^2 entries) or stage values (s dim) pass INT_MAX
 * are bad sizes: NULL at once.  Without the check s^2 overflowed an int
 * (UBSan stops there under make SANITIZE=1; the plain build goes on to
 * compute 46341 Legendre nodes in a one-entry array). */
Test(ode_mpfr, sizes_past_int_are_refused)
{
    cr_assert_null(ac_ode_mpfr_stepper_alloc(AC_ODE_MPFR_GL, 1, 46341, 64));
    cr_assert_null(ac_ode_mpfr_stepper_alloc(AC_ODE_MPFR_GL, 1 << 20, 1 << 11, 64));
    ac_ode_mpfr_stepper *st = ac_ode_mpfr_stepper_alloc(AC_ODE_MPFR_GL, 3, 2, 64);
    cr_assert_not_null(st);
    ac_ode_mpfr_stepper_free(st);
}
