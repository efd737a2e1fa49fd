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
    double alpha;                /* its Barzilai-Borwein step */
    double *xp, *gp;             /* its current point and gradient */
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
    if (!w->x || !w->g || !w->xc || !w->gc || !w->xt || !w->gt || !w->xp || !w->gp || !w->xo ||
        !w->go) {
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
    ac_min_settings def;
    if (!set) {
        ac_min_settings_default(&def);
        set = &def;
    }
    const char *why = ac_min_settings_check(set);
    if (why)
        return ac_fail(msg, AC_EINVAL, "%s", why);
    int n = w->n;
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


/* One step of the gradient-only phase: x_p <- x_p - alpha g_p with the
 * Barzilai-Borwein step alpha = s.s / s.y (Barzilai & Borwein 1988), which
 * needs no values of f.  The best point (smallest |grad|_inf) is the
 * accepted iterate; AC_MIN_POLISH_STALL steps without a new best end the
 * phase with NO_PROGRESS. */
static void polish_step(ac_min_workspace *w)
{
    int n = w->n;
    w->grad_steps++;
    for (int i = 0; i < n; i++)
        w->xt[i] = w->xp[i] - w->alpha * w->gp[i];
    double f;
    int rc = call(w, &f, w->gt);
    if (rc < 0) {
        w->status = AC_MIN_STOPPED;
        return;
    }
    if (rc > 0) {
        w->alpha *= 0.5;
    } else {
        double sy = 0.0, ss = 0.0;
        for (int i = 0; i < n; i++) {
            double si = w->xt[i] - w->xp[i], yi = w->gt[i] - w->gp[i];
            sy += si * yi, ss += si * si;
        }
        if (sy > 0.0)
            w->alpha = ss / sy;
        memcpy(w->xp, w->xt, sizeof(double) * (size_t)n);
        memcpy(w->gp, w->gt, sizeof(double) * (size_t)n);
        if (norm_inf(w->gt, n) < norm_inf(w->g, n)) {
            memcpy(w->x, w->xt, sizeof(double) * (size_t)n);
            memcpy(w->g, w->gt, sizeof(double) * (size_t)n);
            w->f = f;
            w->iter++;
            w->stall = 0;
            w->polish_gain = 1;
            return;
        }
    }
    if (++w->stall < AC_MIN_POLISH_STALL)
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

/* Enter the gradient-only phase at the accepted iterate, with the
 * Barzilai-Borwein step of the last accepted BFGS step (or a first step of
 * set.step in units of x along -g/|g|_inf when there is none). */
static void polish_start(ac_min_workspace *w)
{
    int n = w->n;
    w->polish = 1;
    w->stall = 0;
    w->polish_gain = 0;
    memcpy(w->xp, w->x, sizeof(double) * (size_t)n);
    memcpy(w->gp, w->g, sizeof(double) * (size_t)n);
    w->alpha = w->set.step / fmax(norm_inf(w->g, n), DBL_MIN);
    if (w->have_old) {
        double sy = 0.0, ss = 0.0;
        for (int i = 0; i < n; i++) {
            double si = w->x[i] - w->xo[i], yi = w->g[i] - w->go[i];
            sy += si * yi, ss += si * si;
        }
        if (sy > 0.0)
            w->alpha = ss / sy;
    }
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
    memcpy(x, w->x, sizeof(double) * (size_t)w->n);
    return AC_OK;
}
