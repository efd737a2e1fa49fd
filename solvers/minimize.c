/* Limited-memory BFGS (Nocedal & Wright Alg. 7.4 directions, Alg. 3.5/3.6
 * strong Wolfe line search with cubic interpolation), with the callback
 * convention of attncheck (0 fine, > 0 reject the point, < 0 stop), and a
 * gradient-only phase below the resolution of f (see minimize.h).
 *
 * Written here rather than called from GSL: GSL's vector_bfgs2 keeps only
 * the last step (a memoryless BFGS, its direction built from one pair), so
 * on the small dense problems attncheck solves it converges like a
 * conjugate-gradient method.  On the attention-paths action (13 variables,
 * P = 100, 500, 1000, 2000: bench/paths.sh) it took 121, 101, 140, 98
 * evaluations to |grad|_inf <= 1e-8 (SciPy's full BFGS: 83, 32, 84, 85,
 * stopping earlier at the first and last two); this iteration takes 40,
 * 31, 52, 39. */
#include "solvers/minimize.h"

#include <float.h>
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
    double f;                    /* f at the accepted iterate x */
    double *x, *g;               /* accepted iterate and its gradient */
    double *xc, *gc;             /* cache: last point evaluated successfully */
    double fc;
    int have_cache;
    double *xt, *gt;             /* scratch: a trial point, its gradient */
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
    w->d = malloc(sizeof(double) * nv);
    w->ps = malloc(sizeof(double) * nv * AC_MIN_MEMORY);
    w->py = malloc(sizeof(double) * nv * AC_MIN_MEMORY);
    w->prho = malloc(sizeof(double) * AC_MIN_MEMORY);
    if (!w->x || !w->g || !w->xc || !w->gc || !w->xt || !w->gt || !w->xp || !w->gp || !w->d ||
        !w->ps || !w->py || !w->prho) {
        ac_min_free(w);
        return NULL;
    }
    return w;
}

void ac_min_free(ac_min_workspace *w)
{
    if (!w)
        return;
    free(w->x), free(w->g), free(w->xc), free(w->gc), free(w->xt), free(w->gt);
    free(w->xp), free(w->gp);
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

static double dot(const double *a, const double *b, int n)
{
    double acc = 0.0;
    for (int i = 0; i < n; i++)
        acc += a[i] * b[i];
    return acc;
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

static void direction_at_x(ac_min_workspace *w);

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
    w->polish = 0, w->stall = 0;
    w->npair = 0, w->head = 0;
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
    direction_at_x(w);
    w->ready = 1;
    return AC_OK;
}

/* Keep the pair s = x_new - x_old, y = g_new - g_old when its curvature
 * s.y is positive (else the L-BFGS matrix would not be positive definite;
 * Nocedal & Wright §7.2), dropping the oldest beyond AC_MIN_MEMORY. */
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
    w->head = (w->head + 1) % AC_MIN_MEMORY;
    if (w->npair < AC_MIN_MEMORY)
        w->npair++;
}

/* d = -H g_p by the L-BFGS two-loop recursion (Nocedal & Wright Alg. 7.4)
 * over the pairs held, with H_0 = gamma I, gamma = s.y / y.y of the newest
 * pair; with no pair, gamma = set.step / |g_p|_inf (a first step of
 * set.step in units of x along -g_p). */
static void lbfgs_direction(ac_min_workspace *w)
{
    int n = w->n, m = AC_MIN_MEMORY;
    double a[AC_MIN_MEMORY], *q = w->d;
    for (int i = 0; i < n; i++)
        q[i] = w->gp[i];
    for (int k = 0; k < w->npair; k++) {
        int j = (w->head - 1 - k + m) % m;
        const double *s = w->ps + (size_t)j * n, *y = w->py + (size_t)j * n;
        a[j] = w->prho[j] * dot(s, q, n);
        for (int i = 0; i < n; i++)
            q[i] -= a[j] * y[i];
    }
    double gamma = w->set.step / fmax(norm_inf(w->gp, n), DBL_MIN);
    if (w->npair > 0) {
        int j = (w->head - 1 + m) % m;
        const double *y = w->py + (size_t)j * n;
        gamma = 1.0 / (w->prho[j] * dot(y, y, n));
    }
    for (int i = 0; i < n; i++)
        q[i] *= gamma;
    for (int k = w->npair - 1; k >= 0; k--) {
        int j = (w->head - 1 - k + m) % m;
        const double *s = w->ps + (size_t)j * n, *y = w->py + (size_t)j * n;
        double b = w->prho[j] * dot(y, q, n);
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

/* One trial of a line search: the callback at x_t = base + t d, and the
 * slope phi'(t) = g_t.d there.  Returns call()'s verdict (0: f, g_t and
 * *dt filled). */
static int trial(ac_min_workspace *w, const double *base, double t, double *f, double *dt)
{
    int n = w->n;
    for (int i = 0; i < n; i++)
        w->xt[i] = base[i] + t * w->d[i];
    int rc = call(w, f, w->gt);
    if (rc == 0)
        *dt = dot(w->gt, w->d, n);
    return rc;
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
    double d0 = dot(w->gp, w->d, w->n);
    if (!(d0 < 0.0))
        return 0;
    double lo = 0.0, dlo = d0, hi = INFINITY, dhi = NAN, t = 1.0;
    for (int k = 0; k < AC_MIN_POLISH_TRIALS; k++) {
        double f, dt;
        int rc = trial(w, w->xp, t, &f, &dt);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            hi = t, dhi = NAN;
            t = 0.5 * (lo + hi);
            continue;
        }
        *gain |= keep_best(w, f);
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
 * the next one runs along -g_p scaled as in lbfgs_direction.  The
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
    lbfgs_direction(w);
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
         * the main phase (a fresh start there, its curvature model
         * forgotten). */
        w->polish = 0;
        w->npair = 0, w->head = 0;
        direction_at_x(w);
        return;
    }
    w->status = w->stop ? AC_MIN_STOPPED : AC_MIN_NO_PROGRESS;
}

/* The search direction d at the accepted iterate x from the pairs held
 * (x_p, g_p := x, g: the point lbfgs_direction works from). */
static void direction_at_x(ac_min_workspace *w)
{
    int n = w->n;
    memcpy(w->xp, w->x, sizeof(double) * (size_t)n);
    memcpy(w->gp, w->g, sizeof(double) * (size_t)n);
    lbfgs_direction(w);
}

/* Enter the gradient-only phase at the accepted iterate, keeping the pairs
 * of the main phase and its direction (the search that failed compared
 * values of f; the slope alone may still find the point). */
static void polish_start(ac_min_workspace *w)
{
    w->polish = 1;
    w->stall = 0;
    w->polish_gain = 0;
}

/* The minimiser of the cubic through f and its slope at a and b (Nocedal
 * & Wright eq. 3.59); NaN when the cubic has none. */
static double cubic_min(double a, double fa, double da, double b, double fb, double db)
{
    double d1 = da + db - 3.0 * (fa - fb) / (a - b), disc = d1 * d1 - da * db;
    if (!(disc >= 0.0))
        return NAN;
    double d2 = copysign(sqrt(disc), b - a);
    return b - (b - a) * (db + d2 - d1) / (db - da + 2.0 * d2);
}

/* The next trial in the bracket [a, b]: cubic_min kept a tenth of the
 * interval off the ends (their safeguard); with f but no slope at b, the
 * quadratic's minimiser; the midpoint when neither has one there or no
 * value is known at b. */
static double cubic_step(double a, double fa, double da, double b, double fb, double db)
{
    double lo = fmin(a, b), hi = fmax(a, b), m = 0.1 * (hi - lo), t = 0.5 * (a + b);
    if (isfinite(fb) && isfinite(db)) {
        double c = cubic_min(a, fa, da, b, fb, db);
        if (isfinite(c))
            t = c;
    } else if (isfinite(fb)) {
        /* quadratic through f(a), f'(a), f(b) */
        double den = 2.0 * (fb - fa - da * (b - a));
        if (den > 0.0)
            t = a - da * (b - a) * (b - a) / den;
    }
    return fmin(fmax(t, lo + m), hi - m);
}

/* The main phase's line search along d from x: the strong Wolfe
 * conditions f(t) <= f(0) + AC_MIN_ARMIJO t phi'(0) and |phi'(t)| <=
 * line_tol |phi'(0)| (Nocedal & Wright Alg. 3.5: t = 1 first, then
 * extrapolation while f falls and phi' < 0; Alg. 3.6: a bracket [lo, hi]
 * holding a point that passes, shrunk by safeguarded cubic steps).  A
 * rejected point is an upper end without values (its midpoint with lo).
 * At most AC_MIN_LINE_TRIALS calls.  Returns 1 with x_t, g_t and *ft at
 * the accepted point, 0 when no point passed, -1 on a stop. */
static int wolfe_search(ac_min_workspace *w, double *ft)
{
    double d0 = dot(w->g, w->d, w->n);
    if (!(d0 < 0.0))
        return 0;
    double f0 = w->f, c2 = w->set.line_tol;
    double lo = 0.0, flo = f0, dlo = d0, hi = INFINITY, fhi = NAN, dhi = NAN, t = 1.0;
    for (int k = 0; k < AC_MIN_LINE_TRIALS; k++) {
        double f, dt;
        int rc = trial(w, w->x, t, &f, &dt);
        if (rc < 0)
            return -1;
        if (rc > 0) {
            hi = t, fhi = NAN, dhi = NAN;
        } else if (f > f0 + AC_MIN_ARMIJO * t * d0 || f >= flo) {
            /* A rise far above the decrease the slope promises, yet within
             * AC_MIN_F_FLAT of f: f's rounding, not the function; the
             * gradient-only phase takes over. */
            if (f - f0 > 100.0 * -t * d0 && f - f0 <= AC_MIN_F_FLAT * (1.0 + fabs(f0)))
                return 0;
            hi = t, fhi = f, dhi = dt;
        } else if (fabs(dt) <= c2 * -d0) {
            *ft = f;
            return 1;
        } else if (dt > 0.0) {
            hi = t, fhi = f, dhi = dt;
        } else {
            lo = t, flo = f, dlo = dt;
        }
        if (isfinite(hi)) {
            t = cubic_step(lo, flo, dlo, hi, fhi, dhi);
        } else {
            /* f still falls with phi' < 0 at lo: the cubic through 0 and
             * lo where it has a minimiser beyond lo, between 2 and 10
             * times lo (Nocedal & Wright §3.5's extrapolation). */
            double c = cubic_min(0.0, f0, d0, lo, flo, dlo);
            t = isfinite(c) && c > lo ? fmin(fmax(c, 2.0 * lo), 10.0 * lo) : 10.0 * lo;
        }
        if (isfinite(hi) && !(hi - lo > 4.0 * DBL_EPSILON * hi))
            return 0; /* the bracket is below the resolution of t */
    }
    return 0;
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
    double f;
    int rc = wolfe_search(w, &f);
    if (rc < 0 || w->stop) {
        w->status = AC_MIN_STOPPED;
        return AC_OK;
    }
    if (rc == 0) {
        /* No point passed: f may be flat to its rounding here, which a
         * test on values cannot see; go on with gradients only
         * (polish_step), from the same direction and pairs. */
        w->restarts++;
        polish_start(w);
        polish_step(w);
        return AC_OK;
    }
    int n = w->n;
    pair_push(w, w->xt, w->gt, w->x, w->g);
    memcpy(w->x, w->xt, sizeof(double) * (size_t)n);
    memcpy(w->g, w->gt, sizeof(double) * (size_t)n);
    w->f = f;
    w->iter++;
    direction_at_x(w);
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
