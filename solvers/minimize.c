/* BFGS over GSL multimin (vector_bfgs2: Fletcher's line search with the
 * strong Wolfe conditions, Nocedal & Wright §6.1), with the callback
 * convention of attncheck (0 fine, > 0 reject the point, < 0 stop) laid over
 * GSL's void gradients.  GSL calls f, df and fdf separately at the same
 * point; one callback call fills both and is cached for the next request at
 * the same x. */
#include "solvers/minimize.h"

#include <float.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_multimin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ac_min_workspace {
    int n;
    ac_min_fn fn;
    void *ctx;
    ac_min_settings set;
    int ready;                   /* a good set has run */
    int stop;                    /* the callback returned < 0 */
    ac_min_status status;
    int iter, nfev, rejected, restarts, grad_steps;
    int polish, stall, polish_gain;         /* gradient-only phase (see ac_min_iterate) */
    double *xp, *gp, *d;         /* its current point, gradient and direction */
    double *ps, *py, *prho;      /* its L-BFGS pairs s_i, y_i (m x n) and 1/(s_i.y_i) */
    int npair, head;             /* pairs held; slot of the next one */
    double *xo, *go;             /* the accepted iterate before x */
    int have_old;
    double f;                    /* f at the accepted iterate x */
    double *x, *g;               /* accepted iterate and its gradient */
    double *xc, *gc;             /* cache: last point evaluated successfully */
    double fc;
    int have_cache;
    double *xt, *gt;             /* scratch: a GSL point copied out, its gradient */
    gsl_multimin_fdfminimizer *s;
    gsl_vector *v;               /* x0 for gsl_multimin_fdfminimizer_set */
    gsl_multimin_function_fdf fdf;
};

const char *ac_min_status_str(ac_min_status s)
{
    switch (s) {
    case AC_MIN_RUNNING: return "running";
    case AC_MIN_CONVERGED: return "converged";
    case AC_MIN_MAX_ITER: return "iteration limit reached";
    case AC_MIN_NO_PROGRESS: return "line search made no progress";
    case AC_MIN_STOPPED: return "stopped by the callback";
    }
    return "unknown minimiser status";
}

void ac_min_settings_default(ac_min_settings *s)
{
    s->eps_grad = AC_MIN_EPS_GRAD_DEFAULT;
    s->max_iter = AC_MIN_MAX_ITER_DEFAULT;
    s->step = AC_MIN_STEP_DEFAULT;
    s->line_tol = AC_MIN_LINE_TOL_DEFAULT;
}

const char *ac_min_settings_check(const ac_min_settings *s)
{
    if (!s)
        return "minimiser settings are missing (NULL)";
    if (!(s->eps_grad >= 0.0) || !isfinite(s->eps_grad))
        return "minimiser gradient tolerance eps_grad must be finite and >= 0";
    if (s->max_iter < 0)
        return "minimiser iteration limit max_iter must be >= 0";
    if (!(s->step > 0.0) || !isfinite(s->step))
        return "minimiser first step must be finite and > 0";
    if (!(s->line_tol > 0.0 && s->line_tol < 1.0))
        return "minimiser line-search tolerance must lie in (0, 1)";
    return NULL;
}

ac_min_workspace *ac_min_alloc(int n)
{
    if (n < 0)
        return NULL;
    ac_min_workspace *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    size_t nv = (size_t)n + 1;
    w->n = n;
    w->x = malloc(sizeof(double) * nv);
    w->g = malloc(sizeof(double) * nv);
    w->xc = malloc(sizeof(double) * nv);
    w->gc = malloc(sizeof(double) * nv);
    w->xt = malloc(sizeof(double) * nv);
    w->gt = malloc(sizeof(double) * nv);
    w->xp = malloc(sizeof(double) * nv);
    w->gp = malloc(sizeof(double) * nv);
    w->xo = malloc(sizeof(double) * nv);
    w->go = malloc(sizeof(double) * nv);
    w->d = malloc(sizeof(double) * nv);
    w->ps = malloc(sizeof(double) * nv * AC_MIN_POLISH_MEMORY);
    w->py = malloc(sizeof(double) * nv * AC_MIN_POLISH_MEMORY);
    w->prho = malloc(sizeof(double) * AC_MIN_POLISH_MEMORY);
    if (!w->x || !w->g || !w->xc || !w->gc || !w->xt || !w->gt || !w->xp || !w->gp || !w->xo ||
        !w->go || !w->d || !w->ps || !w->py || !w->prho) {
        ac_min_free(w);
        return NULL;
    }
    /* GSL vectors need n >= 1; with n = 0 the iteration ends at x0. */
    if (n > 0) {
        w->s = gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, (size_t)n);
        w->v = gsl_vector_alloc((size_t)n);
        if (!w->s || !w->v) {
            ac_min_free(w);
            return NULL;
        }
    }
    return w;
}

void ac_min_free(ac_min_workspace *w)
{
    if (!w)
        return;
    if (w->s)
        gsl_multimin_fdfminimizer_free(w->s);
    if (w->v)
        gsl_vector_free(w->v);
    free(w->x), free(w->g), free(w->xc), free(w->gc), free(w->xt), free(w->gt);
    free(w->xp), free(w->gp), free(w->xo), free(w->go);
    free(w->d), free(w->ps), free(w->py), free(w->prho);
    free(w);
}

static double norm_inf(const double *g, int n)
{
    double m = 0.0;
    for (int i = 0; i < n; i++)
        if (fabs(g[i]) > m)
            m = fabs(g[i]);
    return m;
}

static int all_finite(const double *v, int n)
{
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

/* Call the objective at xt (n entries in w->xt).  Returns the callback's
 * verdict: 0 (f, g filled and cached), > 0 rejected, < 0 stop. */
static int call(ac_min_workspace *w, double *f, double *g)
{
    int n = w->n;
    if (w->have_cache && memcmp(w->xc, w->xt, sizeof(double) * (size_t)n) == 0) {
        *f = w->fc;
        memcpy(g, w->gc, sizeof(double) * (size_t)n);
        return 0;
    }
    if (w->stop)
        return -1;
    w->nfev++;
    int rc = w->fn(w->ctx, w->xt, f, g);
    if (rc < 0) {
        w->stop = 1;
        return rc;
    }
    if (rc > 0 || !isfinite(*f) || !all_finite(g, n)) {
        w->rejected++;
        return rc > 0 ? rc : 1;
    }
    memcpy(w->xc, w->xt, sizeof(double) * (size_t)n);
    memcpy(w->gc, g, sizeof(double) * (size_t)n);
    w->fc = *f;
    w->have_cache = 1;
    return 0;
}

/* GSL's view of the objective: the callback's values, or the penalty of
 * AC_MIN_REJECT_SCALE at a rejected point (and after a stop, so that GSL's
 * line search ends quickly without calling back). */
static double gsl_eval(const gsl_vector *xv, ac_min_workspace *w, gsl_vector *gv)
{
    int n = w->n;
    double f;
    for (int i = 0; i < n; i++)
        w->xt[i] = gsl_vector_get(xv, (size_t)i);
    int rc = call(w, &f, w->gt);
    if (rc == 0) {
        if (gv)
            for (int i = 0; i < n; i++)
                gsl_vector_set(gv, (size_t)i, w->gt[i]);
        return f;
    }
    /* A wall: f rises by delta over the distance d from the accepted
     * iterate, and the gradient says so along that segment, g = g_ref +
     * delta (x - x_ref)/d^2, so that GSL's interpolation puts the next
     * trial between the two. */
    double delta = AC_MIN_REJECT_SCALE * (1.0 + fabs(w->f)), d2 = 0.0;
    for (int i = 0; i < n; i++)
        d2 += (w->xt[i] - w->x[i]) * (w->xt[i] - w->x[i]);
    if (gv)
        for (int i = 0; i < n; i++)
            gsl_vector_set(gv, (size_t)i,
                           w->g[i] + (d2 > 0.0 ? delta * (w->xt[i] - w->x[i]) / d2 : 0.0));
    return w->f + delta;
}

static void gsl_fdf(const gsl_vector *xv, void *params, double *f, gsl_vector *gv)
{
    *f = gsl_eval(xv, params, gv);
}

static double gsl_f(const gsl_vector *xv, void *params)
{
    return gsl_eval(xv, params, NULL);
}

static void gsl_df(const gsl_vector *xv, void *params, gsl_vector *gv)
{
    gsl_eval(xv, params, gv);
}

ac_status ac_min_set(ac_min_workspace *w, ac_min_fn fn, void *ctx, const double *x0,
                     const ac_min_settings *set, ac_msg *msg)
{
    if (!w || !fn || !x0)
        return ac_fail(msg, AC_EINVAL, "minimiser: workspace, objective or start point is NULL");
    w->ready = 0;
    w->status = AC_MIN_RUNNING; /* no ending of an earlier run survives a failed set */
    ac_min_settings def;
    if (!set) {
        ac_min_settings_default(&def);
        set = &def;
    }
    const char *why = ac_min_settings_check(set);
    if (why)
        return ac_fail(msg, AC_EINVAL, "%s", why);
    int n = w->n;
    for (int i = 0; i < n; i++)
        if (!isfinite(x0[i]))
            return ac_fail(msg, AC_EINVAL, "minimiser: start point x0[%d] = %g is not finite", i,
                           x0[i]);
    w->fn = fn, w->ctx = ctx, w->set = *set;
    w->stop = 0, w->have_cache = 0;
    w->iter = 0, w->nfev = 0, w->rejected = 0, w->restarts = 0, w->grad_steps = 0;
    w->polish = 0, w->stall = 0, w->have_old = 0;
    w->status = AC_MIN_RUNNING;
    memcpy(w->x, x0, sizeof(double) * (size_t)n);
    memcpy(w->xt, x0, sizeof(double) * (size_t)n);
    int rc = call(w, &w->f, w->g);
    if (rc != 0) {
        w->status = AC_MIN_STOPPED;
        return ac_fail(msg, AC_ECALLBACK,
                       "minimiser: the objective failed at the start point (callback returned %d "
                       "or a non-finite value)", rc);
    }
    if (n > 0) {
        w->fdf.f = gsl_f;
        w->fdf.df = gsl_df;
        w->fdf.fdf = gsl_fdf;
        w->fdf.n = (size_t)n;
        w->fdf.params = w;
        for (int i = 0; i < n; i++)
            gsl_vector_set(w->v, (size_t)i, x0[i]);
        int st = gsl_multimin_fdfminimizer_set(w->s, &w->fdf, w->v, set->step, set->line_tol);
        if (st)
            return ac_fail(msg, AC_ECALLBACK, "minimiser: GSL could not start (%s)", gsl_strerror(st));
    }
    w->ready = 1;
    return AC_OK;
}


/* Keep the pair s = x_new - x_old, y = g_new - g_old when its curvature
 * s.y is positive (else the L-BFGS matrix would not be positive definite;
 * Nocedal & Wright §7.2), dropping the oldest beyond AC_MIN_POLISH_MEMORY. */
static void pair_push(ac_min_workspace *w, const double *xn, const double *gn, const double *xo,
                      const double *go)
{
    int n = w->n;
    double *s = w->ps + (size_t)w->head * n, *y = w->py + (size_t)w->head * n, sy = 0.0;
    for (int i = 0; i < n; i++) {
        s[i] = xn[i] - xo[i], y[i] = gn[i] - go[i];
        sy += s[i] * y[i];
    }
    if (!(sy > 0.0) || !isfinite(sy))
        return;
    w->prho[w->head] = 1.0 / sy;
    w->head = (w->head + 1) % AC_MIN_POLISH_MEMORY;
    if (w->npair < AC_MIN_POLISH_MEMORY)
        w->npair++;
}

/* d = -H g_p by the L-BFGS two-loop recursion (Nocedal & Wright Alg. 7.4)
 * over the pairs held, with H_0 = gamma I, gamma = s.y / y.y of the newest
 * pair; with no pair, gamma = set.step / |g_p|_inf (a first step of
 * set.step in units of x along -g_p). */
static void polish_direction(ac_min_workspace *w)
{
    int n = w->n, m = AC_MIN_POLISH_MEMORY;
    double a[AC_MIN_POLISH_MEMORY], *q = w->d;
    for (int i = 0; i < n; i++)
        q[i] = w->gp[i];
    for (int k = 0; k < w->npair; k++) {
        int j = (w->head - 1 - k + m) % m;
        const double *s = w->ps + (size_t)j * n, *y = w->py + (size_t)j * n;
        double sq = 0.0;
        for (int i = 0; i < n; i++)
            sq += s[i] * q[i];
        a[j] = w->prho[j] * sq;
        for (int i = 0; i < n; i++)
            q[i] -= a[j] * y[i];
    }
    double gamma = w->set.step / fmax(norm_inf(w->gp, n), DBL_MIN);
    if (w->npair > 0) {
        int j = (w->head - 1 + m) % m;
        const double *y = w->py + (size_t)j * n;
        double yy = 0.0;
        for (int i = 0; i < n; i++)
            yy += y[i] * y[i];
        gamma = 1.0 / (w->prho[j] * yy);
    }
    for (int i = 0; i < n; i++)
        q[i] *= gamma;
    for (int k = w->npair - 1; k >= 0; k--) {
        int j = (w->head - 1 - k + m) % m;
        const double *s = w->ps + (size_t)j * n, *y = w->py + (size_t)j * n;
        double yr = 0.0;
        for (int i = 0; i < n; i++)
            yr += y[i] * q[i];
        double b = w->prho[j] * yr;
        for (int i = 0; i < n; i++)
            q[i] += (a[j] - b) * s[i];
    }
    for (int i = 0; i < n; i++)
        q[i] = -q[i];
}

/* Make the accepted iterate the point just evaluated (xt, gt, f) when its
 * gradient is the smallest seen; returns 1 when it did.  (iter counts one
 * per step of the phase that did so: polish_step.) */
static int keep_best(ac_min_workspace *w, double f)
{
    int n = w->n;
    if (!(norm_inf(w->gt, n) < norm_inf(w->g, n)))
        return 0;
    memcpy(w->x, w->xt, sizeof(double) * (size_t)n);
    memcpy(w->g, w->gt, sizeof(double) * (size_t)n);
    w->f = f;
    return 1;
}

/* The gradient-only line search along d from x_p: a root of phi'(t) =
 * grad f(x_p + t d).d, which is negative at t = 0, bracketed and refined
 * by secants (exact on a quadratic), until the curvature condition
 * |phi'(t)| <= AC_MIN_POLISH_CURV |phi'(0)| (strong Wolfe without the
 * test on f) holds, in at most AC_MIN_POLISH_TRIALS calls.  On a quadratic
 * phi(t) - phi(0) = t (phi'(0) + phi'(t)) / 2 exactly, so that condition
 * (constant < 1) gives a decrease of f that the line search need not see.  A rejected point is a bracket's
 * upper end without a slope (bisect).  Returns 1 with x_t, g_t at the
 * accepted point, 0 when no point passed, -1 on a stop.  Every point
 * evaluated may become the iterate (keep_best); *gain says if one did. */
static int polish_search(ac_min_workspace *w, int *gain)
{
    int n = w->n;
    double d0 = 0.0;
    for (int i = 0; i < n; i++)
        d0 += w->gp[i] * w->d[i];
    if (!(d0 < 0.0))
        return 0;
    double lo = 0.0, dlo = d0, hi = INFINITY, dhi = NAN, t = 1.0;
    for (int k = 0; k < AC_MIN_POLISH_TRIALS; k++) {
        for (int i = 0; i < n; i++)
            w->xt[i] = w->xp[i] + t * w->d[i];
        double f;
        int rc = call(w, &f, w->gt);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            hi = t, dhi = NAN;
            t = 0.5 * (lo + hi);
            continue;
        }
        *gain |= keep_best(w, f);
        double dt = 0.0;
        for (int i = 0; i < n; i++)
            dt += w->gt[i] * w->d[i];
        if (fabs(dt) <= AC_MIN_POLISH_CURV * -d0)
            return 1;
        if (dt < 0.0)
            lo = t, dlo = dt;
        else
            hi = t, dhi = dt;
        if (isfinite(hi) && isfinite(dhi)) {
            /* Secant root of phi' in [lo, hi], kept off the ends. */
            double r = lo - dlo * (hi - lo) / (dhi - dlo), m = 0.1 * (hi - lo);
            t = fmin(fmax(r, lo + m), hi - m);
        } else if (isfinite(hi)) {
            t = 0.5 * (lo + hi);
        } else {
            /* Still descending: secant through (0, d0) and (lo, dlo) when
             * phi' rose, at most 10 times as far; else 4 times. */
            double r = dlo > d0 ? lo - dlo * lo / (dlo - d0) : 4.0 * lo;
            t = fmin(fmax(r, 2.0 * lo), 10.0 * lo);
        }
    }
    return 0;
}

/* One step of the gradient-only phase: a line search (polish_search)
 * along the L-BFGS direction d at x_p.  An accepted point becomes x_p and
 * gives its pair (s.y = t (phi'(t) - phi'(0)) > 0 by the curvature
 * condition) to the memory; a failed search empties the memory, so that
 * the next one runs along -g_p scaled as in polish_direction.  The
 * accepted iterate is the point of smallest |grad|_inf.  The phase ends
 * after AC_MIN_POLISH_STALL steps without a new one, or at once when a
 * search along -g_p fails (the next would repeat it). */
static void polish_step(ac_min_workspace *w)
{
    int n = w->n, gain = 0;
    w->grad_steps++;
    int rc = polish_search(w, &gain), dead = 0;
    if (rc < 0) {
        w->status = AC_MIN_STOPPED;
        return;
    }
    if (rc > 0) {
        pair_push(w, w->xt, w->gt, w->xp, w->gp);
        memcpy(w->xp, w->xt, sizeof(double) * (size_t)n);
        memcpy(w->gp, w->gt, sizeof(double) * (size_t)n);
    } else {
        dead = w->npair == 0;
        w->npair = 0, w->head = 0;
    }
    polish_direction(w);
    if (gain) {
        w->iter++;
        w->polish_gain = 1;
        w->stall = 0;
        return;
    }
    if (!dead && ++w->stall < AC_MIN_POLISH_STALL)
        return;
    if (w->polish_gain) {
        /* The phase found smaller gradients: hand the best point back to
         * BFGS (a fresh start there, its curvature model forgotten). */
        w->polish = 0;
        w->have_old = 0;
        for (int i = 0; i < n; i++)
            gsl_vector_set(w->v, (size_t)i, w->x[i]);
        if (gsl_multimin_fdfminimizer_set(w->s, &w->fdf, w->v, w->set.step, w->set.line_tol) == 0)
            return;
    }
    w->status = w->stop ? AC_MIN_STOPPED : AC_MIN_NO_PROGRESS;
}

/* Enter the gradient-only phase at the accepted iterate, with an empty
 * memory but for the pair of the last accepted BFGS step (when there is
 * one and its curvature is positive). */
static void polish_start(ac_min_workspace *w)
{
    int n = w->n;
    w->polish = 1;
    w->stall = 0;
    w->polish_gain = 0;
    w->npair = 0, w->head = 0;
    memcpy(w->xp, w->x, sizeof(double) * (size_t)n);
    memcpy(w->gp, w->g, sizeof(double) * (size_t)n);
    if (w->have_old)
        pair_push(w, w->x, w->g, w->xo, w->go);
    polish_direction(w);
}

ac_status ac_min_iterate(ac_min_workspace *w)
{
    if (!w || !w->ready)
        return AC_EINVAL;
    if (w->status != AC_MIN_RUNNING || w->n == 0)
        return AC_OK;
    if (w->polish) {
        polish_step(w);
        return AC_OK;
    }
    int st = gsl_multimin_fdfminimizer_iterate(w->s);
    if (st && !w->stop) {
        /* The quasi-Newton direction failed: restart from the steepest
         * descent direction (GSL's restart forgets the BFGS updates) once
         * before declaring no progress. */
        w->restarts++;
        gsl_multimin_fdfminimizer_restart(w->s);
        st = gsl_multimin_fdfminimizer_iterate(w->s);
    }
    if (w->stop) {
        w->status = AC_MIN_STOPPED;
        return AC_OK;
    }
    int n = w->n;
    double f;
    if (!st) {
        /* Accept GSL's new point only with the callback's own values there
         * (a cache hit unless GSL moved after its last evaluation); a
         * penalised point is never an iterate. */
        const gsl_vector *xv = gsl_multimin_fdfminimizer_x(w->s);
        for (int i = 0; i < n; i++)
            w->xt[i] = gsl_vector_get(xv, (size_t)i);
        st = call(w, &f, w->gt);
        if (w->stop) {
            w->status = AC_MIN_STOPPED;
            return AC_OK;
        }
        /* GSL can report success without moving (its line search shrank
         * the step to nothing against rejected points): that is no
         * progress too. */
        if (!st && memcmp(w->xt, w->x, sizeof(double) * (size_t)n) == 0)
            st = 1;
    }
    if (st) {
        /* GSL's line search compares values of f and stalls at their
         * rounding; go on with gradients only (polish_step). */
        polish_start(w);
        polish_step(w);
        return AC_OK;
    }
    memcpy(w->xo, w->x, sizeof(double) * (size_t)n);
    memcpy(w->go, w->g, sizeof(double) * (size_t)n);
    w->have_old = 1;
    memcpy(w->x, w->xt, sizeof(double) * (size_t)n);
    memcpy(w->g, w->gt, sizeof(double) * (size_t)n);
    w->f = f;
    w->iter++;
    return AC_OK;
}

int ac_min_test(ac_min_workspace *w, ac_min_info *info)
{
    if (!w)
        return 1;
    if (!w->ready && w->status == AC_MIN_RUNNING) {
        /* no good set: nothing to iterate, nothing to report */
        if (info)
            memset(info, 0, sizeof *info);
        return 1;
    }
    double gn = norm_inf(w->g, w->n);
    if (w->ready && w->status == AC_MIN_RUNNING) {
        if (gn <= w->set.eps_grad)
            w->status = AC_MIN_CONVERGED;
        else if (w->iter >= w->set.max_iter)
            w->status = AC_MIN_MAX_ITER;
    }
    if (info) {
        info->status = w->status;
        info->iter = w->iter;
        info->f = w->f;
        info->grad_norm = gn;
        info->nfev = w->nfev;
        info->rejected = w->rejected;
        info->restarts = w->restarts;
        info->grad_steps = w->grad_steps;
    }
    return w->status != AC_MIN_RUNNING;
}

const double *ac_min_x(const ac_min_workspace *w)
{
    return w->x;
}

const double *ac_min_grad(const ac_min_workspace *w)
{
    return w->g;
}

ac_status ac_min_solve(ac_min_workspace *w, ac_min_fn fn, void *ctx, const double *x0,
                       double *x, const ac_min_settings *set, ac_min_info *info, ac_msg *msg)
{
    ac_status st = ac_min_set(w, fn, ctx, x0, set, msg);
    if (st != AC_OK) {
        if (w)
            ac_min_test(w, info);
        return st;
    }
    while (!ac_min_test(w, info))
        ac_min_iterate(w);
    if (x)
        memcpy(x, w->x, sizeof(double) * (size_t)w->n);
    return AC_OK;
}
