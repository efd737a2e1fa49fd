/* Damped Newton's method with Armijo backtracking (Nocedal & Wright,
 * Numerical Optimization, 2nd ed., Alg. 3.1 for the line search and §3.4 for
 * the diagonal shift).  The loop is offered as set / iterate / test, as GSL's
 * multimin does, so that a caller can watch each iterate. */
#include "solvers/newton.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/linalg.h"

struct ac_newton_workspace {
    int n;
    ac_newton_fn fn;
    void *ctx;
    ac_newton_settings set;
    int ready;               /* a good set has run */
    ac_newton_status status;
    int iter, backtracks, nfev;
    double reg;
    double f, gnorm;
    double *x, *g;           /* current iterate and its gradient */
    double *H, *L;           /* Hessian at x, its (shifted) Cholesky factor */
    double *p;               /* Newton direction */
    double *xt, *gt;         /* trial point and its gradient */
};

const char *ac_newton_status_str(ac_newton_status s)
{
    switch (s) {
    case AC_NEWTON_RUNNING: return "running";
    case AC_NEWTON_CONVERGED: return "converged";
    case AC_NEWTON_MAX_ITER: return "iteration limit reached";
    case AC_NEWTON_NO_PROGRESS: return "line search made no progress";
    case AC_NEWTON_NOT_CONVEX: return "Hessian not positive definite";
    case AC_NEWTON_STOPPED: return "stopped by the callback";
    }
    return "unknown Newton status";
}

void ac_newton_settings_default(ac_newton_settings *s)
{
    s->eps_grad = AC_NEWTON_EPS_GRAD_DEFAULT;
    s->max_iter = AC_NEWTON_MAX_ITER_DEFAULT;
}

ac_newton_workspace *ac_newton_alloc(int n)
{
    if (n < 0)
        return NULL;
    ac_newton_workspace *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    size_t nv = (size_t)n + 1, nm = (size_t)n * (size_t)n + 1;
    w->n = n;
    w->x = malloc(sizeof(double) * nv);
    w->g = malloc(sizeof(double) * nv);
    w->p = malloc(sizeof(double) * nv);
    w->xt = malloc(sizeof(double) * nv);
    w->gt = malloc(sizeof(double) * nv);
    w->H = malloc(sizeof(double) * nm);
    w->L = malloc(sizeof(double) * nm);
    if (!w->x || !w->g || !w->p || !w->xt || !w->gt || !w->H || !w->L) {
        ac_newton_free(w);
        return NULL;
    }
    return w;
}

void ac_newton_free(ac_newton_workspace *w)
{
    if (!w)
        return;
    free(w->x), free(w->g), free(w->p), free(w->xt), free(w->gt), free(w->H), free(w->L);
    free(w);
}

static int all_finite(const double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

/* One callback call; a non-finite f or g is reported as "shorten" (+1). */
static int eval(ac_newton_workspace *w, const double *x, double *f, double *g, double *H)
{
    w->nfev++;
    int rc = w->fn(w->ctx, x, f, g, H);
    if (rc != 0)
        return rc;
    if (!isfinite(*f) || (g && !all_finite(g, w->n)) || (H && !all_finite(H, w->n * w->n)))
        return 1;
    return 0;
}

ac_status ac_newton_settings_check(const ac_newton_settings *s, ac_msg *msg)
{
    if (!s)
        return ac_fail(msg, AC_EINVAL, "Newton: settings are missing (NULL)");
    if (!(s->eps_grad >= 0.0))
        return ac_fail(msg, AC_EINVAL, "Newton: eps_grad = %g; need eps_grad >= 0", s->eps_grad);
    if (s->max_iter < 0)
        return ac_fail(msg, AC_EINVAL, "Newton: max_iter = %d; need max_iter >= 0", s->max_iter);
    return AC_OK;
}

ac_status ac_newton_set(ac_newton_workspace *w, ac_newton_fn fn, void *ctx, const double *x0,
                        const ac_newton_settings *set, ac_msg *msg)
{
    if (!w)
        return ac_fail(msg, AC_EINVAL, "Newton: no workspace (NULL)");
    w->ready = 0;
    w->status = AC_NEWTON_RUNNING; /* no ending of an earlier run survives a failed set */
    ac_newton_settings def;
    if (!set) {
        ac_newton_settings_default(&def);
        set = &def;
    }
    if (!fn)
        return ac_fail(msg, AC_EINVAL, "Newton: no objective function (NULL)");
    if (!x0 && w->n > 0)
        return ac_fail(msg, AC_EINVAL, "Newton: no starting point (NULL) for %d variables", w->n);
    ac_status st = ac_newton_settings_check(set, msg);
    if (st != AC_OK)
        return st;
    for (int i = 0; i < w->n; i++)
        if (!isfinite(x0[i]))
            return ac_fail(msg, AC_EINVAL, "Newton: starting point x0[%d] = %g is not finite", i,
                           x0[i]);
    w->fn = fn;
    w->ctx = ctx;
    w->set = *set;
    w->iter = w->backtracks = w->nfev = 0;
    w->reg = 0.0;
    if (w->n > 0)
        memcpy(w->x, x0, sizeof(double) * (size_t)w->n);
    w->status = AC_NEWTON_RUNNING;
    int rc = eval(w, w->x, &w->f, w->g, NULL);
    if (rc != 0) {
        w->status = AC_NEWTON_STOPPED;
        w->gnorm = NAN;
        return ac_fail(msg, AC_ECALLBACK,
                       "Newton: the objective failed at the starting point (callback returned %d, or a "
                       "non-finite value or gradient)",
                       rc);
    }
    w->ready = 1;
    w->gnorm = ac_la_nrm2(w->g, w->n);
    return AC_OK;
}

/* Factor H + tau I into w->L with the smallest tau of the escalation in
 * newton.h; 0 on success, -1 when no shift works. */
static int factor_shifted(ac_newton_workspace *w)
{
    int n = w->n;
    double scale = 1.0;
    for (int i = 0; i < n; i++)
        scale = fmax(scale, fabs(w->H[i * n + i]));
    double tau = 0.0;
    for (;;) {
        memcpy(w->L, w->H, sizeof(double) * (size_t)n * (size_t)n);
        for (int i = 0; i < n; i++)
            w->L[i * n + i] += tau;
        if (ac_la_cholesky(w->L, n) == AC_OK) {
            w->reg = fmax(w->reg, tau);
            return 0;
        }
        tau = tau == 0.0 ? AC_NEWTON_REG_MIN * scale : tau * AC_NEWTON_REG_GROWTH;
        if (tau > AC_NEWTON_REG_MAX * scale * (1.0 + 1e-9))
            return -1;
    }
}

ac_status ac_newton_iterate(ac_newton_workspace *w)
{
    if (!w || !w->ready)
        return AC_EINVAL;
    if (w->status != AC_NEWTON_RUNNING)
        return AC_OK;
    int n = w->n;
    double fx;
    int rc = eval(w, w->x, &fx, NULL, w->H);
    if (rc != 0) { /* the Hessian at an accepted point cannot be shortened */
        w->status = AC_NEWTON_STOPPED;
        return AC_OK;
    }
    if (factor_shifted(w) != 0) {
        w->status = AC_NEWTON_NOT_CONVEX;
        return AC_OK;
    }
    for (int i = 0; i < n; i++)
        w->p[i] = -w->g[i];
    ac_la_cholesky_solve(w->L, n, w->p);
    double gp = ac_la_dot(w->g, w->p, n);
    w->iter++;
    if (!(gp < 0.0)) {
        w->status = AC_NEWTON_NO_PROGRESS;
        return AC_OK;
    }
    /* Backtracking: t = 1, 1/2, ..., accepting the first trial that passes
     * Armijo, or the rounding-level test of AC_NEWTON_F_NOISE. */
    double t = 1.0, noise = AC_NEWTON_F_NOISE * fabs(w->f);
    for (int b = 0; b <= AC_NEWTON_MAX_BACKTRACK; b++, t *= AC_NEWTON_BACKTRACK) {
        if (b > 0)
            w->backtracks++;
        for (int i = 0; i < n; i++)
            w->xt[i] = w->x[i] + t * w->p[i];
        double ft;
        rc = eval(w, w->xt, &ft, w->gt, NULL);
        if (rc < 0) {
            w->status = AC_NEWTON_STOPPED;
            return AC_OK;
        }
        if (rc > 0)
            continue;
        /* The difference, not f + armijo: a trial that rounds back to x
         * must not pass by f(x) + tiny rounding to f(x). */
        double armijo = AC_NEWTON_ARMIJO * t * gp, df = ft - w->f;
        int ok = df <= armijo;
        if (!ok && -armijo <= noise && df <= noise)
            ok = ac_la_nrm2(w->gt, n) < w->gnorm;
        if (!ok)
            continue;
        double *s;
        s = w->x, w->x = w->xt, w->xt = s;
        s = w->g, w->g = w->gt, w->gt = s;
        w->f = ft;
        w->gnorm = ac_la_nrm2(w->g, n);
        return AC_OK;
    }
    w->status = AC_NEWTON_NO_PROGRESS;
    return AC_OK;
}

int ac_newton_test(ac_newton_workspace *w, ac_newton_info *info)
{
    int ended = 1;
    if (w && w->ready && w->status == AC_NEWTON_RUNNING) {
        if (w->gnorm <= w->set.eps_grad)
            w->status = AC_NEWTON_CONVERGED;
        else if (w->iter >= w->set.max_iter)
            w->status = AC_NEWTON_MAX_ITER;
        else
            ended = 0;
    }
    if (info) {
        memset(info, 0, sizeof *info);
        /* before a good set only a failure at x0 (STOPPED) has something to say */
        if (w && (w->ready || w->status != AC_NEWTON_RUNNING)) {
            info->status = w->status;
            info->iter = w->iter;
            info->f = w->f;
            info->grad_norm = w->gnorm;
            info->backtracks = w->backtracks;
            info->nfev = w->nfev;
            info->reg = w->reg;
        }
    }
    return ended;
}

const double *ac_newton_x(const ac_newton_workspace *w)
{
    return w->x;
}

ac_status ac_newton_solve(ac_newton_workspace *w, ac_newton_fn fn, void *ctx, const ac_newton_settings *set,
                          double *x, ac_newton_info *info, ac_msg *msg)
{
    ac_status st = ac_newton_set(w, fn, ctx, x, set, msg);
    if (st != AC_OK) {
        if (info) {
            memset(info, 0, sizeof *info);
            info->status = st == AC_ECALLBACK ? AC_NEWTON_STOPPED : AC_NEWTON_RUNNING;
            info->f = NAN;
            info->grad_norm = NAN;
            if (w)
                info->nfev = w->nfev;
        }
        return st;
    }
    while (!ac_newton_test(w, info)) {
        st = ac_newton_iterate(w);
        if (st != AC_OK)
            return ac_fail(msg, st, "Newton: iterate failed after a good set (%s)", ac_status_str(st));
    }
    if (w->n > 0)
        memcpy(x, w->x, sizeof(double) * (size_t)w->n);
    return AC_OK;
}
