/* Damped Newton (solvers/newton.h): exactness on quadratics, convergence to
 * a minimiser known by construction, and every ending. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "solvers/linalg.h"
#include "solvers/newton.h"
#include "tests/testutil.h"

#define NMAX 8

/* f(x) = ½ x^T A x - b^T x with A = B B^T + n I (SPD), minimiser A^{-1} b. */
typedef struct {
    int n;
    double A[NMAX * NMAX], b[NMAX];
    int calls, stop_at;   /* return -1 on call number stop_at (0: never) */
} quad;

static int quad_fn(void *ctx, const double *x, double *f, double *g, double *H)
{
    quad *q = ctx;
    int n = q->n;
    if (++q->calls == q->stop_at)
        return -1;
    double v = 0.0;
    for (int i = 0; i < n; i++) {
        double Ax = 0.0;
        for (int j = 0; j < n; j++)
            Ax += q->A[i * n + j] * x[j];
        v += 0.5 * x[i] * Ax - q->b[i] * x[i];
        if (g)
            g[i] = Ax - q->b[i];
    }
    *f = v;
    if (H)
        memcpy(H, q->A, sizeof(double) * (size_t)(n * n));
    return 0;
}

static void quad_random(gsl_rng *r, quad *q, int n)
{
    double B[NMAX * NMAX];
    memset(q, 0, sizeof *q);
    q->n = n;
    for (int i = 0; i < n * n; i++)
        B[i] = gsl_ran_gaussian(r, 1.0);
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int l = 0; l < n; l++)
                s += B[i * n + l] * B[j * n + l];
            q->A[i * n + j] = s + (i == j ? n : 0.0);
        }
        q->b[i] = 1.7312 * gsl_ran_gaussian(r, 1.0);
    }
}

Test(newton, quadratic_is_solved_in_one_step)
{
    gsl_rng *r = ac_test_rng(11);
    int ncase = ac_test_cases(200);
    ac_newton_workspace *w[NMAX + 1];
    for (int n = 0; n <= NMAX; n++)
        w[n] = ac_newton_alloc(n);
    for (int c = 0; c < ncase; c++) {
        int n = (int)(c % (NMAX + 1));
        quad q;
        quad_random(r, &q, n);
        double x[NMAX], xs[NMAX], L[NMAX * NMAX];
        for (int i = 0; i < n; i++)
            x[i] = 2.5 * gsl_ran_gaussian(r, 1.0);
        /* Reference x* by a separate factorisation. */
        memcpy(L, q.A, sizeof(double) * (size_t)(n * n));
        memcpy(xs, q.b, sizeof(double) * (size_t)n);
        cr_assert_eq(ac_la_cholesky(L, n), AC_OK);
        ac_la_cholesky_solve(L, n, xs);
        /* After one exact Newton step the gradient is the rounding residual
         * of a Cholesky solve, |A x - b| <= c n eps ||A|| ||x|| (Higham,
         * Accuracy and Stability, Thm 10.4, c a small constant); 64 n eps
         * ||A||_F (||x*|| + ||x0||) bounds it with room, and is far below the
         * gradient at x0 (O(1)), so convergence in one step is the test. */
        ac_newton_settings set;
        ac_newton_settings_default(&set);
        set.eps_grad = 64.0 * n * DBL_EPSILON * ac_la_nrm2(q.A, n * n) *
                       (ac_la_nrm2(xs, n) + ac_la_nrm2(x, n) + 1.0);
        ac_newton_info info;
        cr_assert_eq(ac_newton_solve(w[n], quad_fn, &q, &set, x, &info, NULL), AC_OK);
        cr_assert_eq(info.status, AC_NEWTON_CONVERGED, "seed 11 case %d n %d: %s", c, n,
                     ac_newton_status_str(info.status));
        cr_assert_eq(info.iter, n == 0 ? 0 : 1, "seed 11 case %d n %d: %d iterations", c, n,
                     info.iter);
        cr_assert_eq(info.backtracks, 0);
        cr_assert_eq(info.reg, 0.0);
        /* The two solves use the same factorisation up to the Hessian copy,
         * so they agree to the forward error of a solve, cond(A) eps ||x*||;
         * cond(A) <= (||B||^2 + n) / n <= ~20 here; 1e3 n eps covers it. */
        double tol = 1e3 * (n + 1) * DBL_EPSILON * (ac_la_nrm2(xs, n) + 1.0);
        cr_assert_leq(ac_la_dist(x, xs, n), tol, "seed 11 case %d n %d", c, n);
        cr_assert_leq(info.grad_norm, set.eps_grad);
    }
    for (int n = 0; n <= NMAX; n++)
        ac_newton_free(w[n]);
    gsl_rng_free(r);
}

/* f(x) = sum_i w_i (exp(v_i^T y) - v_i^T y) + ½ mu |y|^2, y = x - x*:
 * grad f(x*) = sum_i w_i (1 - 1) v_i + 0 = 0, and f is mu-strongly convex, so
 * x* is the unique minimiser by construction. */
typedef struct {
    int n, m;
    double V[NMAX * NMAX], wt[NMAX], xs[NMAX], mu;
    int calls, stop_at, fail_beyond;
} expf_t;

static int exp_fn(void *ctx, const double *x, double *f, double *g, double *H)
{
    expf_t *p = ctx;
    int n = p->n;
    if (++p->calls == p->stop_at)
        return -1;
    double y[NMAX];
    for (int i = 0; i < n; i++)
        y[i] = x[i] - p->xs[i];
    double v = 0.0;
    if (g)
        for (int i = 0; i < n; i++)
            g[i] = p->mu * y[i];
    if (H)
        for (int i = 0; i < n * n; i++)
            H[i] = (i % (n + 1) == 0) ? p->mu : 0.0;
    for (int i = 0; i < n; i++)
        v += 0.5 * p->mu * y[i] * y[i];
    for (int l = 0; l < p->m; l++) {
        const double *vl = p->V + l * n;
        double z = 0.0;
        for (int i = 0; i < n; i++)
            z += vl[i] * y[i];
        if (p->fail_beyond && z > 30.0)
            return 1; /* a domain the caller refuses: shorten the step */
        double e = exp(z);
        v += p->wt[l] * (e - z);
        for (int i = 0; i < n && g; i++)
            g[i] += p->wt[l] * (e - 1.0) * vl[i];
        for (int i = 0; i < n && H; i++)
            for (int j = 0; j < n; j++)
                H[i * n + j] += p->wt[l] * e * vl[i] * vl[j];
    }
    *f = v;
    return 0;
}

static void exp_random(gsl_rng *r, expf_t *p, int n)
{
    memset(p, 0, sizeof *p);
    p->n = n;
    p->m = n;
    p->mu = 0.3 + gsl_rng_uniform(r);
    for (int i = 0; i < n * n; i++)
        p->V[i] = gsl_ran_gaussian(r, 1.0);
    for (int i = 0; i < n; i++) {
        p->wt[i] = 0.5 + gsl_rng_uniform(r);
        p->xs[i] = 1.7312 * gsl_ran_gaussian(r, 1.0);
    }
}

Test(newton, reaches_minimiser_known_by_construction)
{
    gsl_rng *r = ac_test_rng(12);
    int ncase = ac_test_cases(300);
    int some_backtrack = 0;
    for (int c = 0; c < ncase; c++) {
        int n = (int)(c % (NMAX + 1));
        expf_t p;
        exp_random(r, &p, n);
        double x[NMAX];
        for (int i = 0; i < n; i++)
            x[i] = p.xs[i] + 2.0 * gsl_ran_gaussian(r, 1.0);
        ac_newton_workspace *w = ac_newton_alloc(n);
        cr_assert_not_null(w);
        ac_newton_info info;
        cr_assert_eq(ac_newton_solve(w, exp_fn, &p, NULL, x, &info, NULL), AC_OK);
        cr_assert_eq(info.status, AC_NEWTON_CONVERGED, "seed 12 case %d n %d: %s |g| %g", c, n,
                     ac_newton_status_str(info.status), info.grad_norm);
        cr_assert_leq(info.grad_norm, AC_NEWTON_EPS_GRAD_DEFAULT);
        /* Strong convexity: |x - x*| <= |grad f(x)| / mu for the true
         * gradient.  The computed one differs from it by rounding, at most
         * ~ (m + 1) n eps times the largest term |w_l e v_l| (O(10) near x*),
         * so |x - x*| <= (1e-12 + 1e3 n eps) / mu. */
        double tol = (AC_NEWTON_EPS_GRAD_DEFAULT + 1e3 * (n + 1) * DBL_EPSILON) / p.mu;
        cr_assert_leq(ac_la_dist(x, p.xs, n), tol, "seed 12 case %d n %d", c, n);
        /* x is the workspace's iterate. */
        for (int i = 0; i < n; i++)
            cr_assert_eq(x[i], ac_newton_x(w)[i]);
        some_backtrack |= info.backtracks > 0;
        ac_newton_free(w);
    }
    cr_assert(some_backtrack, "the cases never exercised the line search");
    gsl_rng_free(r);
}

Test(newton, set_iterate_test_matches_solve_and_decreases_f)
{
    gsl_rng *r = ac_test_rng(13);
    for (int c = 0; c < ac_test_cases(50); c++) {
        int n = 1 + (int)(c % NMAX);
        expf_t p;
        exp_random(r, &p, n);
        double x0[NMAX], x[NMAX];
        for (int i = 0; i < n; i++)
            x0[i] = x[i] = p.xs[i] + 2.0 * gsl_ran_gaussian(r, 1.0);
        ac_newton_workspace *w = ac_newton_alloc(n);
        cr_assert_eq(ac_newton_set(w, exp_fn, &p, x0, NULL, NULL), AC_OK);
        ac_newton_info info;
        double fprev = INFINITY;
        int steps = 0;
        while (!ac_newton_test(w, &info)) {
            /* Each accepted step lowers f, up to the rounding allowance. */
            cr_assert_leq(info.f, fprev + AC_NEWTON_F_NOISE * fabs(fprev) + 0.0);
            fprev = info.f;
            cr_assert_eq(ac_newton_iterate(w), AC_OK);
            steps++;
        }
        ac_newton_info info2;
        cr_assert_eq(ac_newton_solve(w, exp_fn, &p, NULL, x, &info2, NULL), AC_OK);
        cr_assert_eq(info.status, info2.status);
        cr_assert_eq(info.iter, steps);
        cr_assert_eq(info2.iter, steps, "solve and the loop are the same iteration");
        for (int i = 0; i < n; i++)
            cr_assert_eq(ac_newton_x(w)[i], x[i]);
        /* iterate after the end is a no-op. */
        cr_assert_eq(ac_newton_iterate(w), AC_OK);
        cr_assert(ac_newton_test(w, &info2));
        cr_assert_eq(info2.iter, steps);
        ac_newton_free(w);
    }
    gsl_rng_free(r);
}

Test(newton, positive_callback_return_shortens_the_step)
{
    /* Near x0 the full Newton step leaves the region v_l^T y <= 30 where the
     * callback answers, which it signals by returning 1. */
    expf_t p;
    memset(&p, 0, sizeof p);
    p.n = 1, p.m = 1, p.mu = 0.01, p.V[0] = 1.0, p.wt[0] = 1.0, p.xs[0] = 0.25;
    p.fail_beyond = 1;
    /* At y = -1000: f' = e^y - 1 + mu y ~ -11, f'' ~ mu = 0.01, so the full
     * step lands at y ~ +100, outside the region; half of it is inside. */
    double x = p.xs[0] - 1000.0;
    ac_newton_workspace *w = ac_newton_alloc(1);
    ac_newton_info info;
    cr_assert_eq(ac_newton_solve(w, exp_fn, &p, NULL, &x, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_NEWTON_CONVERGED, "%s", ac_newton_status_str(info.status));
    cr_assert_geq(info.backtracks, 1);
    /* |x - x*| <= |g| / mu = 1e-10, plus rounding of g (~ eps) / mu. */
    cr_assert_leq(fabs(x - p.xs[0]), 1e-9);
    ac_newton_free(w);
}

Test(newton, callback_stop_ends_with_last_good_iterate)
{
    gsl_rng *r = ac_test_rng(14);
    for (int c = 0; c < ac_test_cases(40); c++) {
        int n = 1 + (int)(c % NMAX);
        expf_t p;
        exp_random(r, &p, n);
        double x0[NMAX], x[NMAX];
        for (int i = 0; i < n; i++)
            x0[i] = x[i] = p.xs[i] + 2.0 * gsl_ran_gaussian(r, 1.0);
        /* Record the iterates of an unhindered run. */
        ac_newton_workspace *w = ac_newton_alloc(n);
        cr_assert_eq(ac_newton_set(w, exp_fn, &p, x0, NULL, NULL), AC_OK);
        ac_newton_info info;
        cr_assert_eq(ac_newton_iterate(w), AC_OK);
        if (ac_newton_test(w, &info)) { /* converged in one step: nothing to stop */
            cr_assert_eq(info.status, AC_NEWTON_CONVERGED);
            ac_newton_free(w);
            continue;
        }
        double x1[NMAX];
        memcpy(x1, ac_newton_x(w), sizeof(double) * (size_t)n);
        int calls_one_step = p.calls;
        /* Stop on the first or second call after the first step's
         * evaluations (the Hessian at x1, then the first trial point of the
         * second step): the iterate must be the first step's point. */
        for (int off = 1; off <= 2; off++) {
            p.calls = 0;
            p.stop_at = calls_one_step + off;
            memcpy(x, x0, sizeof(double) * (size_t)n);
            cr_assert_eq(ac_newton_solve(w, exp_fn, &p, NULL, x, &info, NULL), AC_OK);
            cr_assert_eq(info.status, AC_NEWTON_STOPPED, "seed 14 case %d: %s", c,
                         ac_newton_status_str(info.status));
            cr_assert_eq(info.iter, off == 1 ? 1 : 2);
            for (int i = 0; i < n; i++)
                cr_assert_eq(x[i], x1[i], "seed 14 case %d", c);
        }
        ac_newton_free(w);
    }
    gsl_rng_free(r);
}

Test(newton, callback_failure_at_x0_is_reported)
{
    quad q;
    gsl_rng *r = ac_test_rng(15);
    quad_random(r, &q, 3);
    q.stop_at = 1;
    double x[3] = {1.7312, -0.25, 0.5};
    ac_newton_workspace *w = ac_newton_alloc(3);
    ac_newton_info info;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_newton_solve(w, quad_fn, &q, NULL, x, &info, &msg), AC_ECALLBACK);
    cr_assert(strstr(msg.text, "the objective failed at the starting point (callback returned"), "%s", msg.text);
    cr_assert_eq(info.status, AC_NEWTON_STOPPED);
    cr_assert_eq(x[0], 1.7312);
    cr_assert_eq(ac_newton_iterate(w), AC_EINVAL, "no iterate without a good set");
    ac_newton_free(w);
    gsl_rng_free(r);
}

Test(newton, iteration_limit_is_reported)
{
    gsl_rng *r = ac_test_rng(16);
    for (int c = 0; c < ac_test_cases(40); c++) {
        int n = 1 + (int)(c % NMAX);
        expf_t p;
        exp_random(r, &p, n);
        double x[NMAX];
        for (int i = 0; i < n; i++)
            x[i] = p.xs[i] + 3.0 + gsl_rng_uniform(r);
        ac_newton_workspace *w = ac_newton_alloc(n);
        ac_newton_settings set;
        ac_newton_settings_default(&set);
        set.max_iter = 1;
        ac_newton_info info;
        cr_assert_eq(ac_newton_solve(w, exp_fn, &p, &set, x, &info, NULL), AC_OK);
        /* From 3 units away one step cannot reach |g| <= 1e-12 (the
         * quadratic convergence region of exp is much smaller). */
        cr_assert_eq(info.status, AC_NEWTON_MAX_ITER, "seed 16 case %d: %s", c,
                     ac_newton_status_str(info.status));
        cr_assert_eq(info.iter, 1);
        cr_assert_gt(info.grad_norm, set.eps_grad);
        set.max_iter = 0;
        cr_assert_eq(ac_newton_solve(w, exp_fn, &p, &set, x, &info, NULL), AC_OK);
        cr_assert_eq(info.status, AC_NEWTON_MAX_ITER);
        cr_assert_eq(info.iter, 0);
        ac_newton_free(w);
    }
    gsl_rng_free(r);
}

/* f = ½ (x0^2 - x1^2): a saddle.  With sign = -1 the reported gradient is
 * the wrong sign of ½ x^2's, which the line search cannot follow. */
typedef struct {
    int kind;
} bad_t;

static int bad_fn(void *ctx, const double *x, double *f, double *g, double *H)
{
    const bad_t *b = ctx;
    if (b->kind == 0) {
        *f = 0.5 * (x[0] * x[0] - x[1] * x[1]);
        if (g)
            g[0] = x[0], g[1] = -x[1];
        if (H)
            H[0] = 1.0, H[1] = 0.0, H[2] = 0.0, H[3] = -1.0;
    } else {
        *f = 0.5 * (x[0] * x[0] + x[1] * x[1]);
        if (g)
            g[0] = -x[0], g[1] = -x[1];
        if (H)
            H[0] = 1.0, H[1] = 0.0, H[2] = 0.0, H[3] = 1.0;
    }
    return 0;
}

Test(newton, indefinite_hessian_is_not_convex)
{
    bad_t b = {0};
    double x[2] = {1.7312, 0.5};
    ac_newton_workspace *w = ac_newton_alloc(2);
    ac_newton_info info;
    cr_assert_eq(ac_newton_solve(w, bad_fn, &b, NULL, x, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_NEWTON_NOT_CONVEX, "%s", ac_newton_status_str(info.status));
    cr_assert_eq(x[0], 1.7312);
    ac_newton_free(w);
}

Test(newton, ascent_direction_ends_without_progress)
{
    bad_t b = {1};
    double x[2] = {1.7312, 0.5};
    ac_newton_workspace *w = ac_newton_alloc(2);
    ac_newton_info info;
    cr_assert_eq(ac_newton_solve(w, bad_fn, &b, NULL, x, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_NEWTON_NO_PROGRESS, "%s", ac_newton_status_str(info.status));
    cr_assert_eq(x[0], 1.7312);
    cr_assert_eq(x[1], 0.5);
    ac_newton_free(w);
}

Test(newton, singular_psd_hessian_is_regularised)
{
    /* f = ½ x0^2 - 1.25 x0: the Hessian diag(1, 0) is singular (a zero
     * pivot, which dpotrf rejects); the shifted step still reaches the
     * minimising line x0 = 1.25 and leaves x1 alone (g1 = 0). */
    quad q;
    memset(&q, 0, sizeof q);
    q.n = 2;
    q.A[0] = 1.0;
    q.b[0] = 1.25;
    double x[2] = {1.7312, -3.0};
    ac_newton_workspace *w = ac_newton_alloc(2);
    ac_newton_info info;
    cr_assert_eq(ac_newton_solve(w, quad_fn, &q, NULL, x, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_NEWTON_CONVERGED, "%s", ac_newton_status_str(info.status));
    cr_assert_gt(info.reg, 0.0);
    cr_assert_leq(info.reg, AC_NEWTON_REG_MAX * 2.0);
    cr_assert_leq(fabs(x[0] - 1.25), 1e-12);
    cr_assert_eq(x[1], -3.0);
    ac_newton_free(w);
}

Test(newton, invalid_settings_are_rejected)
{
    quad q;
    memset(&q, 0, sizeof q);
    q.n = 1;
    q.A[0] = 1.0;
    double x[1] = {0.5};
    ac_newton_workspace *w = ac_newton_alloc(1);
    ac_newton_settings set;
    ac_newton_info info;
    ac_newton_settings_default(&set);
    set.eps_grad = -1.0;
    cr_assert_eq(ac_newton_solve(w, quad_fn, &q, &set, x, &info, NULL), AC_EINVAL);
    set.eps_grad = NAN;
    cr_assert_eq(ac_newton_set(w, quad_fn, &q, x, &set, NULL), AC_EINVAL);
    ac_newton_settings_default(&set);
    set.max_iter = -1;
    cr_assert_eq(ac_newton_set(w, quad_fn, &q, x, &set, NULL), AC_EINVAL);
    cr_assert_eq(ac_newton_set(w, NULL, &q, x, NULL, NULL), AC_EINVAL);
    cr_assert_eq(ac_newton_set(w, quad_fn, &q, NULL, NULL, NULL), AC_EINVAL);
    cr_assert_eq(ac_newton_set(NULL, quad_fn, &q, x, NULL, NULL), AC_EINVAL);
    cr_assert_eq(ac_newton_iterate(w), AC_EINVAL);
    cr_assert_null(ac_newton_alloc(-1));
    ac_newton_free(NULL);
    ac_newton_free(w);
    cr_assert_str_neq(ac_newton_status_str(AC_NEWTON_MAX_ITER),
                      ac_newton_status_str(AC_NEWTON_NO_PROGRESS));
}

/* Each setting on both sides of its bound, and every refusal says which
 * setting or argument and its bound. */
Test(newton, settings_check_names_the_setting_on_each_side_of_its_bound)
{
    ac_newton_settings set;
    ac_msg msg = {{0}};
    ac_newton_settings_default(&set);
    cr_assert_eq(ac_newton_settings_check(&set, &msg), AC_OK);
    set.eps_grad = 0.0;
    cr_assert_eq(ac_newton_settings_check(&set, &msg), AC_OK);
    set.eps_grad = -DBL_MIN;
    cr_assert_eq(ac_newton_settings_check(&set, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "eps_grad = -2.22507e-308; need eps_grad >= 0"), "%s", msg.text);
    set.eps_grad = NAN;
    cr_assert_eq(ac_newton_settings_check(&set, NULL), AC_EINVAL);
    ac_newton_settings_default(&set);
    set.max_iter = 0;
    cr_assert_eq(ac_newton_settings_check(&set, &msg), AC_OK);
    set.max_iter = -1;
    cr_assert_eq(ac_newton_settings_check(&set, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "max_iter = -1; need max_iter >= 0"), "%s", msg.text);

    quad q;
    memset(&q, 0, sizeof q);
    q.n = 1;
    q.A[0] = 1.0;
    double x[1] = {0.5};
    ac_newton_workspace *w = ac_newton_alloc(1);
    cr_assert_eq(ac_newton_set(w, quad_fn, &q, x, &set, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "max_iter = -1"), "ac_newton_set passes the check's sentence: %s", msg.text);
    cr_assert_eq(ac_newton_set(w, NULL, &q, x, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "no objective function"), "%s", msg.text);
    cr_assert_eq(ac_newton_set(w, quad_fn, &q, NULL, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "no starting point (NULL) for 1 variables"), "%s", msg.text);
    cr_assert_eq(ac_newton_set(NULL, quad_fn, &q, x, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "no workspace"), "%s", msg.text);
    ac_newton_free(w);
    ac_newton_workspace *w0 = ac_newton_alloc(0); /* n = 0 needs no starting point */
    q.n = 0; /* the objective of no variables (valgrind: with n = 1 it read x[0] of an empty x) */
    cr_assert_eq(ac_newton_set(w0, quad_fn, &q, NULL, NULL, &msg), AC_OK, "%s", msg.text);
    ac_newton_free(w0);
}

/* f(x) = ½ x^2 - 5 x from x0 = 0 in one variable: g = -5 exactly, the Newton
 * step is p = 5 exactly, and trial t is x = 5 t.  The callback refuses
 * (positive return: shorten) every trial beyond `limit`. */
typedef struct {
    double limit;
} clip_t;

static int clip_fn(void *ctx, const double *x, double *f, double *g, double *H)
{
    const clip_t *c = ctx;
    if (x[0] > c->limit)
        return 1;
    *f = 0.5 * x[0] * x[0] - 5.0 * x[0]; /* no cancellation near x = 0 */
    if (g)
        g[0] = x[0] - 5.0;
    if (H)
        H[0] = 1.0;
    return 0;
}

/* The line search tries t = 1, 1/2, ..., 2^-AC_NEWTON_MAX_BACKTRACK: a trial
 * admissible only at the last of them is taken (that many backtracks), one
 * admissible only at the next halving is not (no progress). */
Test(newton, line_search_tries_exactly_max_backtrack_halvings)
{
    ac_newton_workspace *w = ac_newton_alloc(1);
    ac_newton_settings set;
    ac_newton_settings_default(&set);
    set.max_iter = 1;
    ac_newton_info info;
    clip_t c = {ldexp(5.0, -AC_NEWTON_MAX_BACKTRACK)};
    double x[1] = {0.0};
    cr_assert_eq(ac_newton_solve(w, clip_fn, &c, &set, x, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_NEWTON_MAX_ITER, "%s", ac_newton_status_str(info.status));
    cr_assert_eq(info.backtracks, AC_NEWTON_MAX_BACKTRACK);
    cr_assert_eq(x[0], c.limit);
    c.limit = ldexp(5.0, -AC_NEWTON_MAX_BACKTRACK - 1);
    x[0] = 0.0;
    cr_assert_eq(ac_newton_solve(w, clip_fn, &c, &set, x, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_NEWTON_NO_PROGRESS, "%s", ac_newton_status_str(info.status));
    cr_assert_eq(info.backtracks, AC_NEWTON_MAX_BACKTRACK);
    cr_assert_eq(x[0], 0.0, "no trial accepted: x stays");
    ac_newton_free(w);
}

/* ||g(x0)|| = 5 exactly: eps_grad = 5 ends at x0 (iter 0), the next double
 * below does one exact Newton step (iter 1, x = 5). */
Test(newton, gradient_test_is_inclusive_on_both_sides)
{
    ac_newton_workspace *w = ac_newton_alloc(1);
    ac_newton_settings set;
    ac_newton_settings_default(&set);
    ac_newton_info info;
    clip_t c = {INFINITY};
    double x[1] = {0.0};
    set.eps_grad = 5.0;
    cr_assert_eq(ac_newton_solve(w, clip_fn, &c, &set, x, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_NEWTON_CONVERGED);
    cr_assert_eq(info.iter, 0);
    cr_assert_eq(info.grad_norm, 5.0);
    set.eps_grad = nextafter(5.0, 0.0);
    cr_assert_eq(ac_newton_solve(w, clip_fn, &c, &set, x, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_NEWTON_CONVERGED);
    cr_assert_eq(info.iter, 1);
    cr_assert_eq(x[0], 5.0);
    cr_assert_eq(info.backtracks, 0);
    cr_assert_eq(info.nfev, 3, "f, g at x0; H at x0; f, g at the trial");
    ac_newton_free(w);
}

/* f = ½ x^T diag(1, -mu) x - x0 - x1: Hessian eigenvalue -mu.  The shifts
 * tau = 1e-14, 1e-12, ..., up to AC_NEWTON_REG_MAX (scale = 1) rescue a
 * negative eigenvalue above -AC_NEWTON_REG_MAX and no more: mu = half of it
 * is shifted (reg = REG_MAX, a step is taken), 1.5 times it is not convex. */
static double diag_h0 = 1.0; /* H[0,0]; the shifts scale with max(1, |H_ii|) */

static int diag_fn(void *ctx, const double *x, double *f, double *g, double *H)
{
    double mu = *(const double *)ctx;
    *f = 0.5 * (diag_h0 * x[0] * x[0] - mu * x[1] * x[1]) - x[0] - x[1];
    if (g)
        g[0] = diag_h0 * x[0] - 1.0, g[1] = -mu * x[1] - 1.0;
    if (H)
        H[0] = diag_h0, H[1] = H[2] = 0.0, H[3] = -mu;
    return 0;
}

Test(newton, diagonal_shift_stops_at_reg_max)
{
    ac_newton_workspace *w = ac_newton_alloc(2);
    ac_newton_settings set;
    ac_newton_settings_default(&set);
    set.max_iter = 1;
    ac_newton_info info;
    double mu = 0.5 * AC_NEWTON_REG_MAX, x[2] = {0.0, 0.0};
    cr_assert_eq(ac_newton_solve(w, diag_fn, &mu, &set, x, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_NEWTON_MAX_ITER, "%s", ac_newton_status_str(info.status));
    cr_assert(fabs(info.reg - AC_NEWTON_REG_MAX) <= 1e-9 * AC_NEWTON_REG_MAX, "reg %g", info.reg);
    cr_assert(x[0] != 0.0, "a step was taken");
    mu = 1.5 * AC_NEWTON_REG_MAX;
    x[0] = x[1] = 0.0;
    cr_assert_eq(ac_newton_solve(w, diag_fn, &mu, &set, x, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_NEWTON_NOT_CONVEX, "%s", ac_newton_status_str(info.status));
    /* the first shift: a zero eigenvalue takes tau = AC_NEWTON_REG_MIN */
    mu = 0.0;
    x[0] = x[1] = 0.0;
    cr_assert_eq(ac_newton_solve(w, diag_fn, &mu, &set, x, &info, NULL), AC_OK);
    cr_assert_eq(info.reg, AC_NEWTON_REG_MIN);
    /* scale = max(1, max_i |H_ii|): 1 below one, |H_ii| above */
    diag_h0 = 0.25;
    cr_assert_eq(ac_newton_solve(w, diag_fn, &mu, &set, x, &info, NULL), AC_OK);
    cr_assert_eq(info.reg, AC_NEWTON_REG_MIN);
    diag_h0 = 4.0;
    cr_assert_eq(ac_newton_solve(w, diag_fn, &mu, &set, x, &info, NULL), AC_OK);
    cr_assert_eq(info.reg, AC_NEWTON_REG_MIN * 4.0);
    diag_h0 = 1.0;
    ac_newton_free(w);
}

/* A set that fails its checks leaves nothing to report: ac_newton_test
 * ends with status RUNNING and zeros, never the ending of the run before
 * (a set / iterate / test loop that ignored the set's status read
 * "converged" and the old iterate); a non-finite start is refused by name
 * before the callback sees it; NULL settings are refused, not read. */
Test(newton, failed_set_reports_no_earlier_ending_and_refuses_nonfinite_start)
{
    gsl_rng *r = ac_test_rng(71);
    quad q;
    quad_random(r, &q, 3);
    ac_newton_workspace *w = ac_newton_alloc(3);
    ac_newton_info info;
    double x[3] = {0.3, -1.7312, 0.9};
    cr_assert_eq(ac_newton_solve(w, quad_fn, &q, NULL, x, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_NEWTON_CONVERGED, "%s", ac_newton_status_str(info.status));
    ac_newton_settings bad;
    ac_newton_settings_default(&bad);
    bad.max_iter = -1;
    ac_msg msg;
    cr_assert_eq(ac_newton_set(w, quad_fn, &q, x, &bad, &msg), AC_EINVAL);
    cr_assert_eq(ac_newton_test(w, &info), 1);
    cr_assert_eq(info.status, AC_NEWTON_RUNNING, "the earlier run's %s survived a failed set",
                 ac_newton_status_str(info.status));
    cr_assert_eq(info.iter, 0);
    cr_assert_eq(ac_newton_iterate(w), AC_EINVAL);
    int calls = q.calls;
    x[2] = INFINITY;
    cr_assert_eq(ac_newton_set(w, quad_fn, &q, x, NULL, &msg), AC_EINVAL);
    cr_assert_not_null(strstr(msg.text, "x0[2]"), "%s", msg.text);
    cr_assert_eq(q.calls, calls, "the callback saw a non-finite start");
    cr_assert_eq(ac_newton_settings_check(NULL, &msg), AC_EINVAL);
    ac_newton_free(w);
    gsl_rng_free(r);
}
