/* Fixed-step MPFR integrators (solvers/ode_mpfr.h): Gauss-Legendre
 * collocation and the classic RK4. */
#include "solvers/ode_mpfr.h"

#include <gsl/gsl_math.h> /* M_PI */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

struct ac_ode_mpfr_stepper {
    ac_ode_mpfr_method method;
    int dim, s;
    mpfr_prec_t prec;
    mpfr_t *c, *b, *a;        /* GL tableau (s, s, s x s) */
    mpfr_t *K, *Knew;         /* stages (s x dim; RK4: 4 x dim in K) */
    mpfr_t *Y;                /* stage point (dim) */
    mpfr_t t1, t2, t3;        /* scratch */
    int n_alloc;              /* mpfr_t initialised in the arrays, for free */
};

static mpfr_t *vec_alloc(int n, mpfr_prec_t prec)
{
    mpfr_t *v = malloc(sizeof(mpfr_t) * (size_t)(n > 0 ? n : 1));
    if (!v)
        return NULL;
    for (int i = 0; i < n; i++)
        mpfr_init2(v[i], prec);
    return v;
}

static void vec_free(mpfr_t *v, int n)
{
    if (!v)
        return;
    for (int i = 0; i < n; i++)
        mpfr_clear(v[i]);
    free(v);
}

void ac_ode_mpfr_stepper_free(ac_ode_mpfr_stepper *s)
{
    if (!s)
        return;
    int ns = s->method == AC_ODE_MPFR_GL ? s->s : 0;
    vec_free(s->c, ns);
    vec_free(s->b, ns);
    vec_free(s->a, ns * ns);
    vec_free(s->K, s->n_alloc);
    vec_free(s->Knew, s->n_alloc);
    vec_free(s->Y, s->dim);
    mpfr_clears(s->t1, s->t2, s->t3, (mpfr_ptr)0);
    free(s);
}

/* P_n(x) and P_{n-1}(x) by Bonnet's recurrence (k+1) P_{k+1} = (2k+1) x P_k - k P_{k-1}. */
static void legendre(int n, const mpfr_t x, mpfr_t p, mpfr_t pm1, mpfr_t tmp)
{
    mpfr_set_ui(pm1, 1, MPFR_RNDN);
    mpfr_set(p, x, MPFR_RNDN);
    if (n == 0) {
        mpfr_set_ui(p, 1, MPFR_RNDN);
        mpfr_set_zero(pm1, 1);
        return;
    }
    for (int k = 1; k < n; k++) {
        mpfr_mul(tmp, x, p, MPFR_RNDN);
        mpfr_mul_ui(tmp, tmp, (unsigned long)(2 * k + 1), MPFR_RNDN);
        mpfr_mul_ui(pm1, pm1, (unsigned long)k, MPFR_RNDN);
        mpfr_sub(tmp, tmp, pm1, MPFR_RNDN);
        mpfr_div_ui(tmp, tmp, (unsigned long)(k + 1), MPFR_RNDN);
        mpfr_set(pm1, p, MPFR_RNDN);
        mpfr_set(p, tmp, MPFR_RNDN);
    }
}

/* P'_n(x) = n (x P_n - P_{n-1}) / (x^2 - 1). */
static void legendre_deriv(int n, const mpfr_t x, const mpfr_t p, const mpfr_t pm1, mpfr_t dp,
                           mpfr_t tmp)
{
    mpfr_mul(dp, x, p, MPFR_RNDN);
    mpfr_sub(dp, dp, pm1, MPFR_RNDN);
    mpfr_mul_ui(dp, dp, (unsigned long)n, MPFR_RNDN);
    mpfr_sqr(tmp, x, MPFR_RNDN);
    mpfr_sub_ui(tmp, tmp, 1, MPFR_RNDN);
    mpfr_div(dp, dp, tmp, MPFR_RNDN);
}

/* Gauss-Legendre tableau on [0, 1]: c_i = (1 - x_i)/2 with x_i the roots
 * of P_s (Newton from cos(pi (i + 3/4)/(s + 1/2))), b_i = 1/((1 - x_i^2)
 * P_s'(x_i)^2), a_ij = int_0^{c_i} l_j = c_i sum_k b_k l_j(c_i c_k) (the
 * s-point rule is exact for the degree s - 1 Lagrange basis l_j). */
static int gl_tableau(ac_ode_mpfr_stepper *st)
{
    int s = st->s;
    mpfr_prec_t prec = st->prec;
    mpfr_t x, p, pm1, dp, dx, tmp;
    mpfr_inits2(prec + 16, x, p, pm1, dp, dx, tmp, (mpfr_ptr)0);
    int ok = 1;
    for (int i = 0; i < s && ok; i++) {
        mpfr_set_d(x, cos(M_PI * (i + 0.75) / (s + 0.5)), MPFR_RNDN);
        int conv = 0;
        for (int it = 0; it < 200 && conv < 2; it++) {
            legendre(s, x, p, pm1, tmp);
            legendre_deriv(s, x, p, pm1, dp, tmp);
            mpfr_div(dx, p, dp, MPFR_RNDN);
            mpfr_sub(x, x, dx, MPFR_RNDN);
            /* two more sweeps after |dx| reaches 2^-(prec+8) */
            if (mpfr_zero_p(dx) || mpfr_get_exp(dx) < -(mpfr_exp_t)(prec + 8))
                conv++;
        }
        if (conv < 2) {
            ok = 0;
            break;
        }
        legendre(s, x, p, pm1, tmp);
        legendre_deriv(s, x, p, pm1, dp, tmp);
        mpfr_ui_sub(st->c[i], 1, x, MPFR_RNDN);
        mpfr_div_2ui(st->c[i], st->c[i], 1, MPFR_RNDN);
        mpfr_sqr(tmp, x, MPFR_RNDN);
        mpfr_ui_sub(tmp, 1, tmp, MPFR_RNDN);
        mpfr_sqr(dp, dp, MPFR_RNDN);
        mpfr_mul(tmp, tmp, dp, MPFR_RNDN);
        mpfr_ui_div(st->b[i], 1, tmp, MPFR_RNDN);
    }
    /* a_ij */
    for (int i = 0; i < s && ok; i++)
        for (int j = 0; j < s; j++) {
            mpfr_set_zero(st->a[i * s + j], 1);
            for (int k = 0; k < s; k++) {
                mpfr_mul(x, st->c[i], st->c[k], MPFR_RNDN); /* tau = c_i c_k */
                mpfr_set_ui(p, 1, MPFR_RNDN);
                for (int m = 0; m < s; m++) {
                    if (m == j)
                        continue;
                    mpfr_sub(tmp, x, st->c[m], MPFR_RNDN);
                    mpfr_mul(p, p, tmp, MPFR_RNDN);
                    mpfr_sub(tmp, st->c[j], st->c[m], MPFR_RNDN);
                    mpfr_div(p, p, tmp, MPFR_RNDN);
                }
                mpfr_fma(st->a[i * s + j], st->b[k], p, st->a[i * s + j], MPFR_RNDN);
            }
            mpfr_mul(st->a[i * s + j], st->a[i * s + j], st->c[i], MPFR_RNDN);
        }
    mpfr_clears(x, p, pm1, dp, dx, tmp, (mpfr_ptr)0);
    return ok;
}

ac_ode_mpfr_stepper *ac_ode_mpfr_stepper_alloc(ac_ode_mpfr_method m, int dim, int stages,
                                                 mpfr_prec_t prec)
{
    if (dim < 1 || prec < MPFR_PREC_MIN || prec > MPFR_PREC_MAX ||
        (m != AC_ODE_MPFR_GL && m != AC_ODE_MPFR_RK4) || (m == AC_ODE_MPFR_GL && stages < 1))
        return NULL;
    /* the tableau (s^2) and the stage values (s dim) are counted in int */
    long long s_ll = m == AC_ODE_MPFR_GL ? stages : 4;
    if (s_ll * s_ll > INT_MAX || s_ll * dim > INT_MAX)
        return NULL;
    ac_ode_mpfr_stepper *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->method = m;
    st->dim = dim;
    st->s = m == AC_ODE_MPFR_GL ? stages : 4;
    st->prec = prec;
    mpfr_inits2(prec, st->t1, st->t2, st->t3, (mpfr_ptr)0);
    int ns = m == AC_ODE_MPFR_GL ? st->s : 0;
    st->n_alloc = st->s * dim;
    st->c = vec_alloc(ns, prec);
    st->b = vec_alloc(ns, prec);
    st->a = vec_alloc(ns * ns, prec);
    st->K = vec_alloc(st->n_alloc, prec);
    st->Knew = vec_alloc(st->n_alloc, prec);
    st->Y = vec_alloc(dim, prec);
    if (!st->c || !st->b || !st->a || !st->K || !st->Knew || !st->Y ||
        (m == AC_ODE_MPFR_GL && !gl_tableau(st))) {
        ac_ode_mpfr_stepper_free(st);
        return NULL;
    }
    return st;
}

void ac_ode_mpfr_stepper_tableau(const ac_ode_mpfr_stepper *s, mpfr_t **c, mpfr_t **b,
                                  mpfr_t **a)
{
    int gl = s->method == AC_ODE_MPFR_GL;
    *c = gl ? s->c : NULL;
    *b = gl ? s->b : NULL;
    *a = gl ? s->a : NULL;
}

/* Y = y + h sum_j w_j K_j over the first ns stages (w: ns coefficients). */
static void stage_point(ac_ode_mpfr_stepper *st, mpfr_t *y, mpfr_t *K, mpfr_t *w, int ns,
                        const mpfr_t h)
{
    for (int d = 0; d < st->dim; d++) {
        mpfr_set_zero(st->t1, 1);
        for (int j = 0; j < ns; j++)
            mpfr_fma(st->t1, w[j], K[j * st->dim + d], st->t1, MPFR_RNDN);
        mpfr_fma(st->Y[d], h, st->t1, y[d], MPFR_RNDN);
    }
}

static ac_status gl_step(ac_ode_mpfr_stepper *st, ac_ode_mpfr_rhs F, void *ctx, mpfr_t *y,
                         const mpfr_t h, int *iters)
{
    int s = st->s, dim = st->dim;
    if (F(ctx, y, st->K, st->prec) != 0)
        return AC_ECALLBACK;
    for (int i = 1; i < s; i++)
        for (int d = 0; d < dim; d++)
            mpfr_set(st->K[i * dim + d], st->K[d], MPFR_RNDN);
    int it;
    for (it = 1; it <= AC_ODE_MPFR_GL_MAX_ITER; it++) {
        for (int i = 0; i < s; i++) {
            stage_point(st, y, st->K, st->a + i * s, s, h);
            if (F(ctx, st->Y, st->Knew + i * dim, st->prec) != 0)
                return AC_ECALLBACK;
        }
        /* t2 = max |Knew - K|, t3 = max |Knew| */
        mpfr_set_zero(st->t2, 1);
        mpfr_set_zero(st->t3, 1);
        for (int k = 0; k < s * dim; k++) {
            mpfr_sub(st->t1, st->Knew[k], st->K[k], MPFR_RNDN);
            mpfr_abs(st->t1, st->t1, MPFR_RNDN);
            mpfr_max(st->t2, st->t2, st->t1, MPFR_RNDN);
            mpfr_abs(st->t1, st->Knew[k], MPFR_RNDN);
            mpfr_max(st->t3, st->t3, st->t1, MPFR_RNDN);
            mpfr_set(st->K[k], st->Knew[k], MPFR_RNDN);
        }
        mpfr_add_ui(st->t3, st->t3, 1, MPFR_RNDN);
        mpfr_mul_2si(st->t3, st->t3, -(long)(st->prec - AC_ODE_MPFR_GL_GUARD_BITS), MPFR_RNDN);
        if (mpfr_lessequal_p(st->t2, st->t3))
            break;
    }
    if (iters)
        *iters = it;
    if (it > AC_ODE_MPFR_GL_MAX_ITER)
        return AC_ENOCONV;
    stage_point(st, y, st->K, st->b, s, h);
    for (int d = 0; d < dim; d++)
        mpfr_set(y[d], st->Y[d], MPFR_RNDN);
    return AC_OK;
}

/* Classic RK4: k1 = F(y), k2 = F(y + h/2 k1), k3 = F(y + h/2 k2),
 * k4 = F(y + h k3), y += h (k1 + 2 k2 + 2 k3 + k4)/6. */
static ac_status rk4_step(ac_ode_mpfr_stepper *st, ac_ode_mpfr_rhs F, void *ctx, mpfr_t *y,
                          const mpfr_t h)
{
    int dim = st->dim;
    mpfr_t *k = st->K;
    static const double frac[4] = {0.0, 0.5, 0.5, 1.0};
    for (int i = 0; i < 4; i++) {
        for (int d = 0; d < dim; d++) {
            if (i == 0) {
                mpfr_set(st->Y[d], y[d], MPFR_RNDN);
            } else {
                mpfr_mul_d(st->t1, h, frac[i], MPFR_RNDN);
                mpfr_fma(st->Y[d], st->t1, k[(i - 1) * dim + d], y[d], MPFR_RNDN);
            }
        }
        if (F(ctx, st->Y, k + i * dim, st->prec) != 0)
            return AC_ECALLBACK;
    }
    for (int d = 0; d < dim; d++) {
        mpfr_add(st->t1, k[dim + d], k[2 * dim + d], MPFR_RNDN);
        mpfr_mul_2ui(st->t1, st->t1, 1, MPFR_RNDN);
        mpfr_add(st->t1, st->t1, k[d], MPFR_RNDN);
        mpfr_add(st->t1, st->t1, k[3 * dim + d], MPFR_RNDN);
        mpfr_div_ui(st->t1, st->t1, 6, MPFR_RNDN);
        mpfr_fma(y[d], h, st->t1, y[d], MPFR_RNDN);
    }
    return AC_OK;
}

ac_status ac_ode_mpfr_step(ac_ode_mpfr_stepper *s, ac_ode_mpfr_rhs F, void *ctx, mpfr_t *y,
                            const mpfr_t h, int *iters)
{
    if (!s || !F || !y)
        return AC_EINVAL;
    if (iters)
        *iters = 0;
    return s->method == AC_ODE_MPFR_GL ? gl_step(s, F, ctx, y, h, iters)
                                        : rk4_step(s, F, ctx, y, h);
}

ac_status ac_ode_mpfr_integrate(ac_ode_mpfr_stepper *s, ac_ode_mpfr_rhs F, void *ctx,
                                 mpfr_t *y, double t0, double t1, long nsteps, int *max_iters)
{
    if (!s || nsteps < 1 || !isfinite(t0) || !isfinite(t1))
        return AC_EINVAL;
    mpfr_t h;
    mpfr_init2(h, s->prec);
    mpfr_set_d(h, t1, MPFR_RNDN);
    mpfr_sub_d(h, h, t0, MPFR_RNDN);
    mpfr_div_si(h, h, nsteps, MPFR_RNDN);
    ac_status st = AC_OK;
    int mx = 0;
    for (long i = 0; i < nsteps && st == AC_OK; i++) {
        int it = 0;
        st = ac_ode_mpfr_step(s, F, ctx, y, h, &it);
        if (it > mx)
            mx = it;
    }
    if (max_iters)
        *max_iters = mx;
    mpfr_clear(h);
    return st;
}
