#include "solvers/ode.h"

#include <float.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_odeiv2.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ac_ode_workspace {
    int n;
    ac_ode_system sys;
    gsl_odeiv2_system gsys;   /* points at this workspace (params) */
    gsl_odeiv2_driver *d;     /* GSL stepper + control + evolve, from ac_ode_set */
    ac_ode_settings set;
    double t, t_end, h;
    double *y;                /* current (last accepted) state */
    double *y_prev;           /* the state before the step in progress */
    /* HERMITE output: the last AC_ODE_HERMITE_POINTS accepted points, point
     * p in slot p % AC_ODE_HERMITE_POINTS (times, states, derivatives) */
    double ring_t[AC_ODE_HERMITE_POINTS];
    double *ring_y, *ring_f;
    double *scratch;          /* n: HERMITE side steps' error, the control's row */
    double *scratch2;         /* n: HERMITE estimate per component */
    long side_steps;          /* HERMITE rows computed by a side step */
    int ready;                /* a good ac_ode_set happened */
    ac_ode_outcome status;
    long steps, nfev, njev;
    int user_code;
    int refused;              /* a callback returned < 0 */
};

static const char *const method_names[AC_ODE_METHOD_COUNT] = {"rk8pd", "rkf45", "rk4imp", "msbdf",
                                                              "bsimp"};

const char *ac_ode_method_name(ac_ode_method m)
{
    if ((int)m < 0 || m >= AC_ODE_METHOD_COUNT)
        return NULL;
    return method_names[m];
}

int ac_ode_method_from_name(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < AC_ODE_METHOD_COUNT; i++)
        if (strcmp(s, method_names[i]) == 0)
            return i;
    return -1;
}

int ac_ode_method_needs_jac(ac_ode_method m)
{
    return m == AC_ODE_RK4IMP || m == AC_ODE_MSBDF || m == AC_ODE_BSIMP;
}

/* The step-size control of the explicit methods, a GSL control type of our
 * own.  As GSL's standard control (with a_y = 1, a_dydt = 0) it rejects a
 * step whose scaled error r = max_i |err_i| / (atol + rtol |y_i|) exceeds
 * 1.1, shrinks it by max(0.2, 0.9 r^(-1/p)) and grows a step by at most 5x.
 * But GSL keeps the step unchanged while 0.5 <= r <= 1.1, so on a solution
 * that steepens step after step (the linear exp case approaching its
 * blow-up, joma §6) the next step fails: 8 of the 24 trial steps of
 * bench/joma.sh's end-point solve at M = 100 were rejected, a third of its
 * right-hand side calls.  Scaling every accepted step by the elementary
 * controller's 0.9 r^(-1/(p+1)) (Hairer, Norsett & Wanner, Solving ODE I,
 * II.4) still left 7 of them: the error grows faster than that anticipates.
 * So the next step is the smaller of that and Gustafsson's predictive
 * step, which extrapolates the error's trend over the last two accepted
 * steps (Hairer & Wanner, Solving ODE II, IV.8, (8.25)):
 *     h_{n+1} = h_n 0.9 r_n^(-1/(p+1)) (h_n / h_{n-1}) (r_{n-1} / r_n)^(1/(p+1)),
 * within [0.2, 5] of h_n, and no growth right after a rejection.  That
 * solve then rejects none: 211 calls where it took 315. */
#define CTL_SAFETY 0.9
#define CTL_REJECT 1.1 /* GSL's threshold, kept */
#define CTL_SHRINK_MIN 0.2
#define CTL_GROW_MAX 5.0

typedef struct {
    double atol, rtol, a_y, a_dydt;
    double h_prev, r_prev; /* the last accepted step and its scaled error (0: none yet) */
    int rejected;          /* the last trial was rejected */
} ctl_state;

static void *ctl_alloc(void)
{
    return calloc(1, sizeof(ctl_state));
}

static int ctl_init(void *vs, double atol, double rtol, double a_y, double a_dydt)
{
    ctl_state *c = vs;
    c->atol = atol, c->rtol = rtol, c->a_y = a_y, c->a_dydt = a_dydt;
    c->h_prev = c->r_prev = 0.0;
    c->rejected = 0;
    return GSL_SUCCESS;
}

/* The largest scaled error, as GSL's: a NaN component does not raise it
 * (ac_ode_step catches a non-finite state after the step). */
static double ctl_ratio(const ctl_state *c, size_t dim, const double *y, const double *err, const double *yp,
                        double h)
{
    double r = DBL_MIN;
    for (size_t i = 0; i < dim; i++) {
        double D = c->atol + c->rtol * (c->a_y * fabs(y[i]) + c->a_dydt * fabs(h * yp[i]));
        double q = fabs(err[i]) / D;
        r = q > r ? q : r;
    }
    return r;
}

/* GSL_ODEIV_HADJ_DEC rejects the step (evolve_apply retries with *h); on
 * NIL or INC the step stands and *h is the next one, smaller or larger. */
static int ctl_hadjust(void *vs, size_t dim, unsigned int ord, const double y[], const double yerr[],
                       const double yp[], double *h)
{
    ctl_state *c = vs;
    double r = ctl_ratio(c, dim, y, yerr, yp, *h);
    if (r > CTL_REJECT) {
        double f = CTL_SAFETY / pow(r, 1.0 / ord);
        *h *= f > CTL_SHRINK_MIN ? f : CTL_SHRINK_MIN;
        c->rejected = 1;
        return GSL_ODEIV_HADJ_DEC;
    }
    double e = 1.0 / (ord + 1.0), f = CTL_SAFETY / pow(r, e);
    if (c->r_prev > 0.0) { /* predictive: the error's trend over the last two steps */
        double g = f * (*h / c->h_prev) * pow(c->r_prev / r, e);
        f = g < f ? g : f;
    }
    double cap = c->rejected ? 1.0 : CTL_GROW_MAX; /* no growth just after a rejection */
    f = f < cap ? f : cap;
    f = f > CTL_SHRINK_MIN ? f : CTL_SHRINK_MIN;
    c->h_prev = *h, c->r_prev = r, c->rejected = 0;
    *h *= f;
    return f > 1.0 ? GSL_ODEIV_HADJ_INC : GSL_ODEIV_HADJ_NIL;
}

/* The error level GSL's implicit steppers ask of a control (unused by the
 * explicit ones, given for the interface). */
static int ctl_errlevel(void *vs, double y, double dydt, double h, size_t ind, double *errlev)
{
    const ctl_state *c = vs;
    (void)ind;
    *errlev = c->atol + c->rtol * (c->a_y * fabs(y) + c->a_dydt * fabs(h * dydt));
    return GSL_SUCCESS;
}

static int ctl_set_driver(void *vs, const gsl_odeiv2_driver *d)
{
    (void)vs, (void)d;
    return GSL_SUCCESS;
}

static void ctl_free(void *vs)
{
    free(vs);
}

static const gsl_odeiv2_control_type ctl_type = {"attncheck predictive", ctl_alloc, ctl_init, ctl_hadjust,
                                                 ctl_errlevel, ctl_set_driver, ctl_free};

static const gsl_odeiv2_step_type *method_type(ac_ode_method m)
{
    switch (m) {
    case AC_ODE_RK8PD: return gsl_odeiv2_step_rk8pd;
    case AC_ODE_RKF45: return gsl_odeiv2_step_rkf45;
    case AC_ODE_RK4IMP: return gsl_odeiv2_step_rk4imp;
    case AC_ODE_MSBDF: return gsl_odeiv2_step_msbdf;
    case AC_ODE_BSIMP: return gsl_odeiv2_step_bsimp;
    default: return NULL;
    }
}

const char *ac_ode_outcome_str(ac_ode_outcome o)
{
    switch (o) {
    case AC_ODE_RUNNING: return "still running";
    case AC_ODE_DONE: return "reached the end time";
    case AC_ODE_MAX_STEPS: return "step budget exhausted before the end time";
    case AC_ODE_STEP_UNDERFLOW: return "step size fell below the floor";
    case AC_ODE_BLOWUP: return "solution blew up (norm bound, non-finite value or blow-up test)";
    case AC_ODE_RHS_REFUSED: return "right-hand side refused to evaluate";
    }
    return "unknown outcome";
}

void ac_ode_info_message(const ac_ode_info *info, ac_msg *msg)
{
    if (!info || !msg)
        return;
    ac_fail(msg, AC_OK, "ODE: %s at t = %.17g (h = %.3g, %ld steps, %ld rejected)",
            ac_ode_outcome_str(info->status), info->t, info->h, info->steps, info->rejected);
}

void ac_ode_settings_default(ac_ode_settings *s)
{
    s->method = AC_ODE_RK8PD;
    s->rtol = AC_ODE_RTOL_DEFAULT;
    s->atol = AC_ODE_ATOL_DEFAULT;
    s->h0 = AC_ODE_H0_DEFAULT;
    s->hmin = 0.0;
    s->max_steps = AC_ODE_MAX_STEPS_DEFAULT;
    s->y_max = AC_ODE_Y_MAX_DEFAULT;
    s->output = AC_ODE_OUTPUT_LAND;
}

const char *ac_ode_settings_check(const ac_ode_settings *s)
{
    if (!s)
        return "ODE settings are missing (NULL)";
    if ((int)s->method < 0 || s->method >= AC_ODE_METHOD_COUNT)
        return "ODE method is not one of rk8pd, rkf45, rk4imp, msbdf, bsimp";
    if (!(s->rtol >= 0.0) || !isfinite(s->rtol))
        return "ODE rtol must be finite and >= 0";
    if (!(s->atol >= 0.0) || !isfinite(s->atol))
        return "ODE atol must be finite and >= 0";
    if (!(s->rtol + s->atol > 0.0))
        return "ODE rtol and atol cannot both be 0";
    if (!(s->h0 >= 0.0) || !isfinite(s->h0))
        return "ODE first step h0 must be finite and >= 0 (0: automatic)";
    if (!(s->hmin >= 0.0) || !isfinite(s->hmin))
        return "ODE step floor hmin must be finite and >= 0";
    if (s->max_steps < 1)
        return "ODE step budget max_steps must be >= 1";
    if (!(s->y_max > 0.0))
        return "ODE blow-up bound y_max must be > 0";
    if ((int)s->output < 0 || s->output >= AC_ODE_OUTPUT_COUNT)
        return "ODE output mode is not LAND or HERMITE";
    if (s->output == AC_ODE_OUTPUT_HERMITE && s->method != AC_ODE_RK8PD && s->method != AC_ODE_RKF45)
        return "ODE output HERMITE needs an explicit one-step method (rk8pd or rkf45)";
    return NULL;
}

ac_ode_workspace *ac_ode_alloc(int n)
{
    if (n < 1)
        return NULL;
    ac_ode_workspace *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->n = n;
    w->y = malloc(sizeof(double) * (size_t)n);
    w->y_prev = malloc(sizeof(double) * (size_t)n);
    w->ring_y = malloc(sizeof(double) * AC_ODE_HERMITE_POINTS * (size_t)n);
    w->ring_f = malloc(sizeof(double) * AC_ODE_HERMITE_POINTS * (size_t)n);
    w->scratch = malloc(sizeof(double) * (size_t)n);
    w->scratch2 = malloc(sizeof(double) * (size_t)n);
    if (!w->y || !w->y_prev || !w->ring_y || !w->ring_f || !w->scratch || !w->scratch2) {
        ac_ode_free(w);
        return NULL;
    }
    return w;
}

void ac_ode_free(ac_ode_workspace *w)
{
    if (!w)
        return;
    if (w->d)
        gsl_odeiv2_driver_free(w->d);
    free(w->y);
    free(w->y_prev);
    free(w->ring_y);
    free(w->ring_f);
    free(w->scratch);
    free(w->scratch2);
    free(w);
}

static int all_finite(const double *y, int n);
static double auto_h0(ac_ode_workspace *w);

/* GSL's view of the user's callbacks.  GSL_EBADFUNC makes evolve_apply stop
 * at once; any other failure makes it halve the step and retry (GSL
 * ode-initval2/evolve.c), which is the CVODE meaning of a positive return. */
static int gsl_rhs(double t, const double y[], double f[], void *p)
{
    ac_ode_workspace *w = p;
    w->nfev++;
    int rc = w->sys.rhs(w->sys.ctx, t, y, f);
    if (rc == 0 && !all_finite(f, w->n))
        rc = 1;
    if (rc != 0)
        w->user_code = rc;
    if (rc < 0) {
        w->refused = 1;
        return GSL_EBADFUNC;
    }
    return rc > 0 ? GSL_EDOM : GSL_SUCCESS;
}

static int gsl_jac(double t, const double y[], double *dfdy, double dfdt[], void *p)
{
    ac_ode_workspace *w = p;
    int n = w->n;
    w->njev++;
    int rc = w->sys.jac(w->sys.ctx, t, y, dfdy, dfdt);
    for (int i = 0; rc == 0 && i < n * n; i++)
        if (!isfinite(dfdy[i]) || (i < n && !isfinite(dfdt[i])))
            rc = 1;
    if (rc != 0)
        w->user_code = rc;
    if (rc < 0) {
        w->refused = 1;
        return GSL_EBADFUNC;
    }
    return rc > 0 ? GSL_EDOM : GSL_SUCCESS;
}

static double norm_inf(const double *y, int n)
{
    double m = 0.0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(y[i]))
            return HUGE_VAL;
        if (fabs(y[i]) > m)
            m = fabs(y[i]);
    }
    return m;
}

/* 1 when every y_i is finite.  0 y_i is +-0 for a finite y_i and NaN for
 * an infinite or NaN one, so the sum of the products is 0 exactly when all
 * are finite; four running sums and no branch, because this runs on every
 * right-hand side (it was a tenth of a solve with a cheap one). */
static int all_finite(const double *y, int n)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int n4 = n & ~3;
    for (int i = 0; i < n4; i += 4) {
        s0 += 0.0 * y[i];
        s1 += 0.0 * y[i + 1];
        s2 += 0.0 * y[i + 2];
        s3 += 0.0 * y[i + 3];
    }
    for (int i = n4; i < n; i++)
        s0 += 0.0 * y[i];
    return (s0 + s1) + (s2 + s3) == 0.0;
}

/* Blow-up test on the accepted state: max|y_i| > y_max or the predicate. */
static int blown_up(const ac_ode_workspace *w)
{
    if (norm_inf(w->y, w->n) > w->set.y_max)
        return 1;
    return w->sys.blowup && w->sys.blowup(w->sys.ctx, w->t, w->y) != 0;
}

/* The step floor of ode.h: max(hmin, AC_ODE_HMIN_ULPS eps max(|t|, |t_end - t|)). */
static double step_floor(const ac_ode_workspace *w)
{
    double scale = fmax(fabs(w->t), fabs(w->t_end - w->t));
    return fmax(w->set.hmin, AC_ODE_HMIN_ULPS * DBL_EPSILON * scale);
}

ac_status ac_ode_set(ac_ode_workspace *w, const ac_ode_system *sys, double t0, const double *y0,
                     double t_end, const ac_ode_settings *set, ac_msg *msg)
{
    if (!w)
        return ac_fail(msg, AC_EINVAL, "ODE: the workspace is NULL");
    w->ready = 0;
    if (!sys || !y0)
        return ac_fail(msg, AC_EINVAL, "ODE: the system or the initial state is NULL");
    if (sys->dim != w->n)
        return ac_fail(msg, AC_EINVAL, "ODE: system dimension %d differs from the workspace's %d",
                       sys->dim, w->n);
    if (!sys->rhs)
        return ac_fail(msg, AC_EINVAL, "ODE: the system has no right-hand side");
    ac_ode_settings def;
    if (!set) {
        ac_ode_settings_default(&def);
        set = &def;
    }
    const char *why = ac_ode_settings_check(set);
    if (why)
        return ac_fail(msg, AC_EINVAL, "%s", why);
    if (ac_ode_method_needs_jac(set->method) && !sys->jac)
        return ac_fail(msg, AC_EINVAL, "ODE: method %s needs the Jacobian, and the system has none",
                       ac_ode_method_name(set->method));
    if (!isfinite(t0) || !isfinite(t_end))
        return ac_fail(msg, AC_EINVAL, "ODE: start time %.17g or end time %.17g is not finite", t0,
                       t_end);
    if (!isfinite(t_end - t0)) /* the step floor and the first step are scaled by it */
        return ac_fail(msg, AC_EINVAL, "ODE: the span t_end - t0 from %.17g to %.17g overflows a double",
                       t0, t_end);
    for (int i = 0; i < w->n; i++)
        if (!isfinite(y0[i]))
            return ac_fail(msg, AC_EINVAL, "ODE: initial state y0[%d] = %g is not finite", i, y0[i]);

    w->sys = *sys;
    w->set = *set;
    w->gsys.function = gsl_rhs;
    w->gsys.jacobian = sys->jac ? gsl_jac : NULL;
    w->gsys.dimension = (size_t)w->n;
    w->gsys.params = w;
    if (w->d)
        gsl_odeiv2_driver_free(w->d);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    w->d = gsl_odeiv2_driver_alloc_y_new(&w->gsys, method_type(set->method),
                                         set->h0 > 0.0 ? set->h0 : AC_ODE_H0_DEFAULT, set->atol,
                                         set->rtol);
    /* the explicit methods take the control above; the implicit ones keep
     * GSL's, which msbdf also asks for its error levels */
    if (w->d && (set->method == AC_ODE_RK8PD || set->method == AC_ODE_RKF45)) {
        gsl_odeiv2_control *c = gsl_odeiv2_control_alloc(&ctl_type);
        if (c && gsl_odeiv2_control_init(c, set->atol, set->rtol, 1.0, 0.0) == GSL_SUCCESS) {
            gsl_odeiv2_control_free(w->d->c);
            w->d->c = c;
            gsl_odeiv2_control_set_driver(c, w->d);
        } else {
            if (c)
                gsl_odeiv2_control_free(c);
            gsl_odeiv2_driver_free(w->d);
            w->d = NULL;
        }
    }
    gsl_set_error_handler(old);
    if (!w->d)
        return ac_fail(msg, AC_ENOMEM, "ODE: no memory for the %s stepper of dimension %d",
                       ac_ode_method_name(set->method), w->n);

    memmove(w->y, y0, sizeof(double) * (size_t)w->n);
    w->t = t0;
    w->t_end = t_end;
    w->steps = w->nfev = w->njev = 0;
    w->side_steps = 0;
    w->user_code = 0;
    w->refused = 0;
    double h0 = set->h0;
    if (h0 == AC_ODE_H0_AUTO)
        h0 = t0 == t_end ? AC_ODE_H0_DEFAULT : auto_h0(w);
    w->user_code = 0;
    w->refused = 0;
    w->h = t_end >= t0 ? h0 : -h0;
    w->status = AC_ODE_RUNNING;
    w->ready = 1;
    if (blown_up(w))
        w->status = AC_ODE_BLOWUP;
    else if (t0 == t_end)
        w->status = AC_ODE_DONE;
    return AC_OK;
}

/* The order p of each method's propagated solution (its local error is
 * O(h^(p+1))), for the automatic first step. */
static double method_order(ac_ode_method m)
{
    switch (m) {
    case AC_ODE_RK8PD: return 8.0;
    case AC_ODE_MSBDF: return 1.0; /* it starts at order 1 */
    default: return 4.0;
    }
}

/* The automatic first step of ode.h (AC_ODE_H0_AUTO), from (w->t, w->y)
 * towards w->t_end; scratch: y_prev (n) and the Hermite ring's first 2 rows.
 * AC_ODE_H0_DEFAULT when a right-hand side call fails. */
static double auto_h0(ac_ode_workspace *w)
{
    int n = w->n;
    double *f0 = w->ring_f, *f1 = w->ring_f + n, *y1 = w->y_prev;
    double span = fabs(w->t_end - w->t), dir = w->t_end >= w->t ? 1.0 : -1.0;
    if (gsl_rhs(w->t, w->y, f0, w) != GSL_SUCCESS)
        return AC_ODE_H0_DEFAULT;
    double d0 = 0.0, d1 = 0.0, d2 = 0.0;
    for (int i = 0; i < n; i++) {
        double sc = w->set.atol + w->set.rtol * fabs(w->y[i]);
        d0 += (w->y[i] / sc) * (w->y[i] / sc);
        d1 += (f0[i] / sc) * (f0[i] / sc);
    }
    d0 = sqrt(d0 / n), d1 = sqrt(d1 / n);
    double ha = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : 0.01 * d0 / d1;
    ha = fmin(ha, span);
    for (int i = 0; i < n; i++)
        y1[i] = w->y[i] + dir * ha * f0[i];
    if (gsl_rhs(w->t + dir * ha, y1, f1, w) != GSL_SUCCESS)
        return AC_ODE_H0_DEFAULT;
    for (int i = 0; i < n; i++) {
        double sc = w->set.atol + w->set.rtol * fabs(w->y[i]);
        d2 += ((f1[i] - f0[i]) / sc) * ((f1[i] - f0[i]) / sc);
    }
    d2 = sqrt(d2 / n) / ha;
    double dm = fmax(d1, d2);
    double hb = dm <= 1e-15 ? fmax(1e-6, ha * 1e-3) : pow(0.01 / dm, 1.0 / (method_order(w->set.method) + 1.0));
    double h = fmin(fmin(100.0 * ha, hb), span);
    return h > 0.0 && isfinite(h) ? h : AC_ODE_H0_DEFAULT;
}

/* Why evolve_apply failed, once (t, y) are back at the last accepted step:
 * a callback that returned < 0 stops; a right-hand side that fails at the
 * accepted point itself (GSL evaluates f there first) cannot be cured by a
 * smaller step; anything else is the step shrinking to nothing. */
static ac_ode_outcome failure_outcome(ac_ode_workspace *w, double *scratch)
{
    if (w->refused)
        return AC_ODE_RHS_REFUSED;
    int rc = w->sys.rhs(w->sys.ctx, w->t, w->y, scratch);
    w->nfev++;
    if (rc != 0 || !all_finite(scratch, w->n)) {
        if (rc != 0)
            w->user_code = rc;
        return AC_ODE_RHS_REFUSED;
    }
    return AC_ODE_STEP_UNDERFLOW;
}

ac_status ac_ode_step(ac_ode_workspace *w)
{
    if (!w || !w->ready)
        return AC_EINVAL;
    if (w->status != AC_ODE_RUNNING)
        return AC_OK;
    if (w->steps >= w->set.max_steps) {
        w->status = AC_ODE_MAX_STEPS;
        return AC_OK;
    }
    int n = w->n;
    double t_prev = w->t;
    double h = w->h;
    memcpy(w->y_prev, w->y, sizeof(double) * (size_t)n);
    /* GSL's default handler aborts (a singular Newton matrix in rk4imp,
     * for one): switch it off for the call and read the return code. */
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = gsl_odeiv2_evolve_apply(w->d->e, w->d->c, w->d->s, &w->gsys, &w->t, w->t_end, &h,
                                     w->y);
    gsl_set_error_handler(old);
    if (rc != GSL_SUCCESS) {
        /* evolve_apply may leave a rejected t and y behind (GSL_FAILURE
         * after the error test); put back the last accepted step. */
        w->t = t_prev;
        memcpy(w->y, w->y_prev, sizeof(double) * (size_t)n);
        w->h = h;
        /* y_prev is free again: use it as scratch for the diagnosis. */
        w->status = failure_outcome(w, w->y_prev);
        memcpy(w->y_prev, w->y, sizeof(double) * (size_t)n);
        return AC_OK;
    }
    w->steps++;
    if (!all_finite(w->y, n)) {
        /* An accepted step with an overflowed state (the error estimate was
         * NaN, which the control does not reject): report the blow-up at
         * the last finite state. */
        w->t = t_prev;
        memcpy(w->y, w->y_prev, sizeof(double) * (size_t)n);
        w->status = AC_ODE_BLOWUP;
        return AC_OK;
    }
    w->h = h;
    if (blown_up(w))
        w->status = AC_ODE_BLOWUP;
    else if (w->t == w->t_end)
        w->status = AC_ODE_DONE;
    else if (fabs(w->h) < step_floor(w))
        w->status = AC_ODE_STEP_UNDERFLOW;
    else if (w->steps >= w->set.max_steps)
        w->status = AC_ODE_MAX_STEPS;
    return AC_OK;
}

int ac_ode_test(const ac_ode_workspace *w, ac_ode_info *info)
{
    if (info) {
        memset(info, 0, sizeof *info);
        if (w && w->ready) {
            info->status = w->status;
            info->t = w->t;
            info->h = w->h;
            info->steps = w->steps;
            info->rejected = (long)w->d->e->failed_steps;
            info->nfev = w->nfev;
            info->njev = w->njev;
            info->y_norm = norm_inf(w->y, w->n);
            info->user_code = w->user_code;
            info->side_steps = w->side_steps;
        }
    }
    return !w || !w->ready || w->status != AC_ODE_RUNNING;
}

double ac_ode_t(const ac_ode_workspace *w)
{
    return w->t;
}

const double *ac_ode_y(const ac_ode_workspace *w)
{
    return w->y;
}

ac_status ac_ode_extend(ac_ode_workspace *w, double t_end)
{
    if (!w || !w->ready || w->status != AC_ODE_DONE || !isfinite(t_end))
        return AC_EINVAL;
    if (w->steps == 0 && t_end != w->t)
        w->h = copysign(fabs(w->h), t_end - w->t); /* set with t_end == t0 fixed no direction */
    if ((w->h > 0.0 && t_end < w->t) || (w->h < 0.0 && t_end > w->t))
        return AC_EINVAL;
    w->t_end = t_end;
    if (t_end != w->t)
        w->status = AC_ODE_RUNNING;
    return AC_OK;
}

ac_status ac_ode_solve(ac_ode_workspace *w, const ac_ode_system *sys, double t0, const double *y0,
                       double t_end, double *y, const ac_ode_settings *set, ac_ode_info *info,
                       ac_msg *msg)
{
    ac_status st = ac_ode_set(w, sys, t0, y0, t_end, set, msg);
    if (st != AC_OK) {
        if (info)
            ac_ode_test(w, info);
        return st;
    }
    while (!ac_ode_test(w, NULL))
        ac_ode_step(w);
    ac_ode_test(w, info);
    if (y)
        memmove(y, w->y, sizeof(double) * (size_t)w->n);
    return AC_OK;
}

/* ---- HERMITE output (ode.h, ac_ode_output) ---- */

/* The weights of the Hermite interpolant through k points (x_i, y_i, y'_i)
 * at t: p(t) = sum_i a_i y_i + b_i y'_i, with L_i the Lagrange basis
 * polynomial of the x,
 *     a_i = (1 - 2 L_i'(x_i) (t - x_i)) L_i(t)^2,  b_i = (t - x_i) L_i(t)^2,
 *     L_i'(x_i) = sum_{j != i} 1/(x_i - x_j)
 * (the standard form: a_i and b_i are the degree-(2k-1) polynomials with
 * a_i(x_j) = delta_ij, a_i'(x_j) = 0, b_i(x_j) = 0, b_i'(x_j) = delta_ij). */
static void hermite_weights(int k, const double *x, double t, double *a, double *b)
{
    for (int i = 0; i < k; i++) {
        double L = 1.0, dL = 0.0;
        for (int j = 0; j < k; j++) {
            if (j == i)
                continue;
            L *= (t - x[j]) / (x[i] - x[j]);
            dL += 1.0 / (x[i] - x[j]);
        }
        a[i] = (1.0 - 2.0 * dL * (t - x[i])) * L * L;
        b[i] = (t - x[i]) * L * L;
    }
}

/* hermite_row for a full ring (k = AC_ODE_HERMITE_POINTS = 5), the common
 * case, in one pass over the ten rows of the ring with the sums in
 * registers.  With ratio = 0 it only tells whether the estimate is within
 * the tolerance (returns 0 or 2: a comparison where the ratio costs a
 * division per component), else it returns the ratio. */
static double full_window_row(const ac_ode_workspace *w, const double *a, const double *b,
                              const double *ea, const double *eb, int ratio, double *restrict out)
{
    int n = w->n, n4 = n & ~3;
    size_t sn = (size_t)n;
    const double *restrict y = w->ring_y, *restrict f = w->ring_f;
    double *restrict e = w->scratch2, rtol = w->set.rtol, atol = w->set.atol, est = 0.0;
    double a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4];
    double b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3], b4 = b[4];
    double c0 = ea[0], c1 = ea[1], c2 = ea[2], c3 = ea[3], c4 = ea[4];
    double d0 = eb[0], d1 = eb[1], d2 = eb[2], d3 = eb[3], d4 = eb[4];
#define AC_HERMITE_TERMS(j)                                                                        \
    do {                                                                                           \
        double y0 = y[j], y1 = y[sn + j], y2 = y[2 * sn + j], y3 = y[3 * sn + j];                  \
        double y4 = y[4 * sn + j], f0 = f[j], f1 = f[sn + j], f2 = f[2 * sn + j];                  \
        double f3 = f[3 * sn + j], f4 = f[4 * sn + j];                                             \
        out[j] = (a0 * y0 + b0 * f0 + a1 * y1 + b1 * f1 + a2 * y2) +                               \
                 (b2 * f2 + a3 * y3 + b3 * f3 + a4 * y4 + b4 * f4);                                \
        e[j] = (c0 * y0 + d0 * f0 + c1 * y1 + d1 * f1 + c2 * y2) +                                 \
               (d2 * f2 + c3 * y3 + d3 * f3 + c4 * y4 + d4 * f4);                                  \
    } while (0)
    for (int j = 0; j < n4; j++)
        AC_HERMITE_TERMS(j);
    for (int j = n4; j < n; j++)
        AC_HERMITE_TERMS(j);
#undef AC_HERMITE_TERMS
    if (ratio) {
        for (int j = 0; j < n; j++)
            est = fmax(est, fabs(e[j]) / (atol + rtol * fabs(out[j])));
        return est;
    }
    int over = 0;
    for (int j = 0; j < n; j++)
        over |= fabs(e[j]) > atol + rtol * fabs(out[j]);
    return over ? 2.0 : 0.0;
}

/* Row out (n) = the interpolant at t through the k points in the ring
 * (slots 0..k-1), or a point's state when t is its time (returns 0 then).
 * Returns the error estimate of ode.h: max_j |p(t)_j - q(t)_j| /
 * (atol + rtol |p(t)_j|), q the interpolant without the point farthest
 * from t (0 when k = 1); with ratio = 0 and a full ring, only whether it
 * is within 1 (0, or 2 when not). */
static double hermite_row(const ac_ode_workspace *w, int k, double t, int ratio, double *restrict out)
{
    int n = w->n, far = 0;
    for (int i = 0; i < k; i++)
        if (w->ring_t[i] == t) {
            memcpy(out, w->ring_y + (size_t)i * (size_t)n, sizeof(double) * (size_t)n);
            return 0.0;
        }
    double a[AC_ODE_HERMITE_POINTS], b[AC_ODE_HERMITE_POINTS];
    double ea[AC_ODE_HERMITE_POINTS] = {0.0}, eb[AC_ODE_HERMITE_POINTS] = {0.0};
    hermite_weights(k, w->ring_t, t, a, b);
    if (k < 2) {
        memcpy(out, w->ring_y, sizeof(double) * (size_t)n);
        return 0.0;
    }
    /* ea, eb: the weights of p - q (q's are 0 at the dropped point) */
    double x[AC_ODE_HERMITE_POINTS], qa[AC_ODE_HERMITE_POINTS], qb[AC_ODE_HERMITE_POINTS];
    for (int i = 1; i < k; i++)
        if (fabs(t - w->ring_t[i]) > fabs(t - w->ring_t[far]))
            far = i;
    for (int i = 0, m = 0; i < k; i++)
        if (i != far)
            x[m++] = w->ring_t[i];
    hermite_weights(k - 1, x, t, qa, qb);
    for (int i = 0, m = 0; i < k; i++) {
        ea[i] = a[i] - (i == far ? 0.0 : qa[m]);
        eb[i] = b[i] - (i == far ? 0.0 : qb[m]);
        m += i != far;
    }
    if (k == AC_ODE_HERMITE_POINTS)
        return full_window_row(w, a, b, ea, eb, ratio, out);
    /* point by point over whole rows (n4 = n rounded down to 4: loops the
     * -O2 vectoriser takes), then the estimate */
    double *restrict e = w->scratch2, rtol = w->set.rtol, atol = w->set.atol;
    int n4 = n & ~3;
    for (int j = 0; j < n; j++)
        out[j] = e[j] = 0.0;
    for (int i = 0; i < k; i++) {
        const double *restrict y = w->ring_y + (size_t)i * (size_t)n;
        const double *restrict f = w->ring_f + (size_t)i * (size_t)n;
        double ai = a[i], bi = b[i], eai = ea[i], ebi = eb[i];
        for (int j = 0; j < n4; j++) {
            out[j] += ai * y[j] + bi * f[j];
            e[j] += eai * y[j] + ebi * f[j];
        }
        for (int j = n4; j < n; j++) {
            out[j] += ai * y[j] + bi * f[j];
            e[j] += eai * y[j] + ebi * f[j];
        }
    }
    double est = 0.0;
    for (int j = 0; j < n; j++) {
        double r = fabs(e[j]) / (atol + rtol * fabs(out[j]));
        est = r > est ? r : est;
    }
    return est;
}

/* Put point p = (w->t, w->y, f) into its slot; f from the stepper when GSL
 * computed it exactly at this point (after_step), else one right-hand side
 * call.  Returns 0, or -1 when that call fails (status RHS_REFUSED). */
static int ring_push(ac_ode_workspace *w, long p, int after_step)
{
    int n = w->n, s = (int)(p % AC_ODE_HERMITE_POINTS);
    double *y = w->ring_y + (size_t)s * (size_t)n, *f = w->ring_f + (size_t)s * (size_t)n;
    w->ring_t[s] = w->t;
    memcpy(y, w->y, sizeof(double) * (size_t)n);
    if (after_step && w->d->s->type->gives_exact_dydt_out) {
        memcpy(f, w->d->e->dydt_out, sizeof(double) * (size_t)n);
        return 0;
    }
    if (gsl_rhs(w->t, y, f, w) != GSL_SUCCESS) {
        w->status = AC_ODE_RHS_REFUSED;
        return -1;
    }
    return 0;
}

/* One row of HERMITE output at t among the k ring points: the interpolant
 * when its estimate is within the tolerance, else one step of the stepper
 * from the last point at or before t (a side step: the integration goes
 * on from its own points).  Returns the estimate. */
static double hermite_emit(ac_ode_workspace *w, int k, double t, double dir, double *out)
{
    double est = hermite_row(w, k, t, 0, out);
    if (est <= 1.0)
        return est;
    int n = w->n, from = -1;
    for (int i = 0; i < k; i++)
        if (dir * (w->ring_t[i] - t) <= 0.0 && (from < 0 || dir * (w->ring_t[i] - w->ring_t[from]) > 0.0))
            from = i;
    if (from < 0)
        return est;
    double t0 = w->ring_t[from];
    memcpy(w->y_prev, w->ring_y + (size_t)from * (size_t)n, sizeof(double) * (size_t)n);
    /* a right-hand side that fails here leaves the interpolated row and
     * no trace in the integration's own diagnosis */
    int refused = w->refused, user_code = w->user_code;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = gsl_odeiv2_step_apply(w->d->s, t0, t - t0, w->y_prev, w->scratch,
                                   w->ring_f + (size_t)from * (size_t)n, NULL, &w->gsys);
    gsl_set_error_handler(old);
    w->refused = refused, w->user_code = user_code;
    if (rc == GSL_SUCCESS && all_finite(w->y_prev, n)) {
        memcpy(out, w->y_prev, sizeof(double) * (size_t)n);
        w->side_steps++;
    }
    return est;
}

/* ac_ode_trajectory with HERMITE rows, after ac_ode_set to times[nt-1]
 * (ode.h ac_ode_output).  Once point p >= 4 is in, the rows with times up
 * to point p - 1's come from points p-4..p; at the end the rest come from
 * the last (up to) five.  After each such emission the estimate at the
 * middle of the step it covered, r, caps the steps that follow at that
 * step's length times 0.8 r^(-1/8) (the estimate is O(h^8)). */
static int trajectory_hermite(ac_ode_workspace *w, int nt, const double *times, double *Y)
{
    int n = w->n, k = 0, R = AC_ODE_HERMITE_POINTS;
    double dir = w->h >= 0.0 ? 1.0 : -1.0, hcap = HUGE_VAL;
    long np = 0;
    if (w->status != AC_ODE_RUNNING && w->status != AC_ODE_DONE)
        return 0;
    if (ring_push(w, np++, 0) != 0)
        return 0;
    while (!ac_ode_test(w, NULL)) {
        long before = w->steps;
        if (fabs(w->h) > hcap)
            w->h = dir * hcap;
        ac_ode_step(w);
        if (w->steps == before || (w->status != AC_ODE_RUNNING && w->status != AC_ODE_DONE))
            break;
        if (ring_push(w, np, 1) != 0)
            return k; /* slot np % R is spoilt: no row past those emitted */
        np++;
        if (np >= R) {
            double ta = w->ring_t[(np - 3) % R], tb = w->ring_t[(np - 2) % R];
            for (; k < nt && dir * (times[k] - tb) <= 0.0; k++)
                hermite_emit(w, R, times[k], dir, Y + (size_t)k * (size_t)n);
            /* the cap, while rows remain short of the end (a row at the
             * end is the last step's state, no interpolant) */
            hcap = HUGE_VAL;
            if (k < nt && dir * (times[k] - w->t_end) < 0.0) {
                double r = hermite_row(w, R, 0.5 * (ta + tb), 1, w->scratch);
                if (r > 0.0 && isfinite(r))
                    hcap = fabs(tb - ta) * AC_ODE_HERMITE_SAFETY * pow(r, -1.0 / 8.0);
            }
        }
    }
    int pts = np < R ? (int)np : R;
    double t_last = w->ring_t[(np - 1) % R];
    for (; k < nt && dir * (times[k] - t_last) <= 0.0; k++)
        hermite_emit(w, pts, times[k], dir, Y + (size_t)k * (size_t)n);
    return k;
}

ac_status ac_ode_trajectory(ac_ode_workspace *w, const ac_ode_system *sys, double t0,
                            const double *y0, int nt, const double *times, double *Y,
                            int *n_done, const ac_ode_settings *set, ac_ode_info *info,
                            ac_msg *msg)
{
    if (n_done)
        *n_done = 0;
    if (!w || nt < 0 || (nt > 0 && (!times || !Y)))
        return ac_fail(msg, AC_EINVAL, "ODE trajectory: NULL workspace, times or output, or nt < 0");
    int n = w->n;
    double dir = nt > 0 && times[nt - 1] < t0 ? -1.0 : 1.0;
    double prev = t0;
    for (int k = 0; k < nt; k++) {
        if (!isfinite(times[k]) || dir * (times[k] - prev) < 0.0)
            return ac_fail(msg, AC_EINVAL,
                           "ODE trajectory: requested time %d (%.17g) is not finite or not "
                           "monotone from t0 = %.17g",
                           k, times[k], t0);
        prev = times[k];
    }
    int hermite = set && set->output == AC_ODE_OUTPUT_HERMITE;
    /* set towards the last time (the direction, and the span an automatic
     * first step sees), then LAND pulls the end back to the first time */
    ac_status st = ac_ode_set(w, sys, t0, y0, nt == 0 ? t0 : times[nt - 1], set, msg);
    if (st != AC_OK) {
        if (info)
            ac_ode_test(w, info);
        return st;
    }
    if (!hermite && nt > 0 && w->status == AC_ODE_RUNNING) {
        w->t_end = times[0];
        if (times[0] == t0)
            w->status = AC_ODE_DONE;
    }
    for (size_t k = 0; k < (size_t)nt * (size_t)n; k++) /* nt n may pass INT_MAX */
        Y[k] = NAN;
    int done = 0;
    if (hermite && nt > 0) {
        done = trajectory_hermite(w, nt, times, Y);
    } else {
        for (int k = 0; k < nt; k++) {
            if (k > 0 && ac_ode_extend(w, times[k]) != AC_OK)
                break;
            while (!ac_ode_test(w, NULL))
                ac_ode_step(w);
            if (w->status != AC_ODE_DONE)
                break;
            memcpy(Y + (size_t)k * (size_t)n, w->y, sizeof(double) * (size_t)n);
            done = k + 1;
        }
    }
    if (n_done)
        *n_done = done;
    ac_ode_test(w, info);
    return AC_OK;
}
