/* Initial-value problems y' = f(t, y), y in R^n, over GSL's odeiv2 steppers,
 * with adaptive steps, a step budget and blow-up detection.  Knows no paper.
 *
 * Use: settings from ac_ode_settings_default (check them with
 * ac_ode_settings_check), a workspace from n (ac_ode_alloc), ac_ode_set
 * with the system and y(t0), then either ac_ode_step / ac_ode_test in a loop
 * (watch an invariant at every accepted step), ac_ode_advance to one time,
 * or ac_ode_trajectory for the solution at a list of times; read info; free.
 *
 * Local error control: a step is accepted when every component of the
 * stepper's error estimate satisfies
 *     |err_i| <= 1.1 (atol + rtol |y_i|)
 * (GSL's test), otherwise it is retried with a smaller h.  The implicit
 * methods keep GSL's standard control (control_y_new); the explicit ones
 * (rk8pd, rkf45) take ode.c's, which sets every next step from the error of
 * the last two (a predictive controller), where GSL's keeps the step
 * unchanged while the error ratio lies in 0.5-1.1 and so rejects every
 * other step on a solution that steepens (ode.c says how many).  The global
 * error is not controlled; it grows with the length of the span and the
 * stability of the problem. */
#ifndef AC_ODE_H
#define AC_ODE_H

#include "solvers/status.h"

/* The right-hand side: fill f (n) with f(t, y).  y is borrowed for the call;
 * f never aliases y.  Return 0 on success, a positive value to ask for the
 * step to be retried with a smaller h (e.g. the trial point is outside the
 * domain or a value would overflow), a negative value to stop the
 * integration (CVODE's CVRhsFn convention).  A non-finite entry in f counts
 * as a positive return. */
typedef int (*ac_ode_rhs)(void *ctx, double t, const double *y, double *f);
/* The Jacobian: dfdy (n x n, row-major, dfdy[i*n + j] = df_i/dy_j) and dfdt
 * (n) at (t, y).  Same return convention. */
typedef int (*ac_ode_jac)(void *ctx, double t, const double *y, double *dfdy, double *dfdt);
/* A user test of blow-up, called after every accepted step: non-zero when
 * the state at (t, y) is to be reported as a blow-up (e.g. a component past
 * the point where the right-hand side overflows). */
typedef int (*ac_ode_pred)(void *ctx, double t, const double *y);

/* A system: borrowed by ac_ode_set until the next set or free (the struct is
 * copied, ctx is not). jac may be NULL for the explicit methods; blowup may
 * be NULL. */
typedef struct {
    int dim;
    ac_ode_rhs rhs;
    ac_ode_jac jac;
    ac_ode_pred blowup;
    void *ctx;
} ac_ode_system;

/* Steppers (GSL odeiv2 names in brackets; p = order):
 *   RK8PD   explicit Runge-Kutta Prince-Dormand 8(9) [rk8pd], p = 8: smooth,
 *           non-stiff problems at tight tolerance (the default).
 *   RKF45   explicit Runge-Kutta-Fehlberg 4(5) [rkf45], p = 4.
 *   RK4IMP  implicit Gauss-Legendre, 2 stages [rk4imp], p = 4: conserves
 *           quadratic first integrals; needs the Jacobian.
 *   MSBDF   variable-order BDF, orders 1..5 [msbdf]: stiff problems; needs
 *           the Jacobian.
 *   BSIMP   implicit Bulirsch-Stoer (Bader-Deuflhard) [bsimp]: stiff
 *           problems at tight tolerance; needs the Jacobian. */
typedef enum {
    AC_ODE_RK8PD = 0,
    AC_ODE_RKF45,
    AC_ODE_RK4IMP,
    AC_ODE_MSBDF,
    AC_ODE_BSIMP,
    AC_ODE_METHOD_COUNT
} ac_ode_method;

/* "rk8pd", "rkf45", "rk4imp", "msbdf", "bsimp"; NULL outside the list. */
const char *ac_ode_method_name(ac_ode_method m);
/* The method named s (as above); -1 when s names none. */
int ac_ode_method_from_name(const char *s);
/* 1 when the method needs ac_ode_system.jac. */
int ac_ode_method_needs_jac(ac_ode_method m);

/* Defaults.  rtol 1e-10, atol 1e-12: the tolerance the spec asks of the
 * reduced JoMA systems (joma §6.2), some 1e5 ulps above the rounding floor
 * of an O(1) state so the control never chases rounding.  h0 is only the
 * first trial step; the control adapts it at once (one rejected step per
 * decade of mismatch). */
#define AC_ODE_RTOL_DEFAULT 1e-10
#define AC_ODE_ATOL_DEFAULT 1e-12
#define AC_ODE_H0_DEFAULT 1e-6
/* h0 = AC_ODE_H0_AUTO: ac_ode_set chooses the first step as Hairer, Norsett
 * and Wanner (Solving ODE I, sec. II.4) do, and as DOP853 / solve_ivp do:
 * with sc_i = atol + rtol |y0_i| and rms norms over sc,
 *     d0 = |y0|, d1 = |f(t0, y0)|, h_a = 0.01 d0/d1 (1e-6 when d0 or d1 < 1e-5),
 *     d2 = |f(t0 + h_a, y0 + h_a f0) - f0| / h_a,
 *     h0 = min(100 h_a, (0.01 / max(d1, d2))^(1/(p+1)), |t_end - t0|),
 * p the method's order (two right-hand side calls, counted in nfev; a call
 * that fails falls back to AC_ODE_H0_DEFAULT).  From h0 = 1e-6 the control
 * grows the step at most 5x a step (GSL control.c), so a span that needs
 * steps of 0.05 spends ~7 steps getting there (7 of the 19 of bench/joma.sh's
 * end-point solve). */
#define AC_ODE_H0_AUTO 0.0
#define AC_ODE_MAX_STEPS_DEFAULT 1000000L
/* A state with max_i |y_i| > y_max is a blow-up.  1e100: far beyond any
 * state these problems reach while regular, and far enough below
 * DBL_MAX (1.8e308) that squares and products of two components stay
 * finite in the right-hand side. */
#define AC_ODE_Y_MAX_DEFAULT 1e100
/* The step-size floor: a step is too small (STEP_UNDERFLOW) when
 * |h| < max(hmin, AC_ODE_HMIN_ULPS * DBL_EPSILON * max(|t|, |t_end - t|)):
 * below some hundred ulps of t the stepper advances t by rounding alone and
 * an integration approaching a singularity would otherwise crawl on for
 * thousands of steps.  100 ulps keeps h resolved to 1 % in t + h. */
#define AC_ODE_HMIN_ULPS 100.0

/* How ac_ode_trajectory produces the solution at the requested times.
 *   LAND     (the default) every requested time is the end of a step: the
 *            stepper shortens the step that would cross it.  Rows are the
 *            integrator's own states, but each requested time inside a
 *            step costs a step (at 101 times over a span that needs 19
 *            steps, 106 steps instead of 19).
 *   HERMITE  the stepper takes its own steps to the last time; each row is
 *            the Hermite interpolant of degree 9 through the states and
 *            derivatives y, f at five consecutive accepted steps around it
 *            (the first or last five at the ends; all when fewer).  Its error
 *            is estimated by its difference from the degree-7 interpolant
 *            without the point farthest from t, scaled per component by
 *            atol + rtol |y| (Hermite's remainder for degree 7 is
 *            y^(8)/8! prod_i (t - t_i)^2, O(h^8)).  A row whose estimate is
 *            above 1 is computed instead by a side step: one step of the
 *            stepper from the last point before it (the integration itself
 *            goes on from its own points; info.side_steps counts them).
 *            While rows remain short of the last time, the estimate at the
 *            middle of each step, r, also caps the steps that follow at that
 *            step's length times AC_ODE_HERMITE_SAFETY r^(-1/8), so that
 *            later rows interpolate within the tolerance
 *            (rk8pd's own steps at rtol 1e-10 are so long that a degree-7
 *            interpolant through them is off by 1e-7 on bench/joma.sh's
 *            systems).  A requested time equal to a step's end is that
 *            step's state exactly.  f at each step's end comes from the
 *            stepper where GSL computes it exactly (its gives_exact_dydt_out,
 *            rk8pd among them), else from one more right-hand side call
 *            (counted in nfev); f(t0, y0) costs one call either way.  Needs
 *            an explicit one-step method (rk8pd, rkf45), whose steps keep no
 *            state, so that a side step leaves the integration as it was. */
typedef enum { AC_ODE_OUTPUT_LAND = 0, AC_ODE_OUTPUT_HERMITE, AC_ODE_OUTPUT_COUNT } ac_ode_output;

/* Points of the Hermite interpolant of AC_ODE_OUTPUT_HERMITE (degree
 * 2 AC_ODE_HERMITE_POINTS - 1 = 9; its estimate drops one: degree 7). */
#define AC_ODE_HERMITE_POINTS 5
/* The step cap's safety factor: 0.8^8 = 0.17, so a step at the cap is
 * expected to interpolate at a sixth of the tolerance. */
#define AC_ODE_HERMITE_SAFETY 0.8

typedef struct {
    ac_ode_method method;
    double rtol;      /* >= 0, with rtol + atol > 0 */
    double atol;      /* >= 0 */
    double h0;        /* first trial step, >= 0 (its sign follows the direction of time);
                       * 0: chosen by ac_ode_set from f at t0 (AC_ODE_H0_AUTO) */
    double hmin;      /* absolute step floor, >= 0 (0: the ulp floor alone) */
    long max_steps;   /* accepted steps allowed since ac_ode_set, >= 1 */
    double y_max;     /* blow-up bound on max_i |y_i|, > 0 (may be +inf) */
    ac_ode_output output; /* ac_ode_trajectory's rows: LAND (default) or HERMITE */
} ac_ode_settings;

void ac_ode_settings_default(ac_ode_settings *s);
/* NULL when s is valid, else a sentence naming the first bad setting and its
 * bound (static storage). */
const char *ac_ode_settings_check(const ac_ode_settings *s);

/* How an integration ended.  The state (t, y) is always the last accepted
 * step: a failure never leaves a rejected or partial step behind. */
typedef enum {
    AC_ODE_RUNNING = 0,  /* not ended: t < t_end */
    AC_ODE_DONE,         /* t reached t_end exactly */
    AC_ODE_MAX_STEPS,    /* steps == max_steps with t short of t_end */
    AC_ODE_STEP_UNDERFLOW, /* the error test (or a right-hand side asking for a
                            * smaller step) needs |h| below the floor above:
                            * a singularity near t, a tolerance too tight
                            * for double precision, or a span so long that
                            * its ulps exceed the steps needed */
    AC_ODE_BLOWUP,       /* after an accepted step max|y_i| > y_max, a y_i is
                          * not finite, or the blowup predicate fired; t, y
                          * are that step's */
    AC_ODE_RHS_REFUSED   /* the right-hand side or Jacobian returned < 0 (or
                          * failed at the last accepted point, where no
                          * smaller step exists) */
} ac_ode_outcome;

/* A distinct phrase for each outcome ("reached the end time", ...). */
const char *ac_ode_outcome_str(ac_ode_outcome o);

typedef struct {
    ac_ode_outcome status;
    double t;          /* time reached (of the last accepted step) */
    double h;          /* the next step size the control proposes, or the
                        * step that failed (STEP_UNDERFLOW) */
    long steps;        /* accepted steps since ac_ode_set */
    long rejected;     /* rejected trial steps (error test or rhs > 0) */
    long nfev;         /* right-hand side calls */
    long njev;         /* Jacobian calls */
    double y_norm;     /* max_i |y_i| at t */
    int user_code;     /* the last non-zero return of rhs/jac (0: none) */
    long side_steps;   /* HERMITE output: rows computed by a side step */
} ac_ode_info;

/* The sentence for an ending, with the time, step size and step count
 * reached (CVODE's messages carry t and h), e.g. "ODE: step size fell below
 * the floor (...) at t = 1.2533141373155001 (h = 2.2e-16, 412 steps)".
 * %.17g for t. */
void ac_ode_info_message(const ac_ode_info *info, ac_msg *msg);

typedef struct ac_ode_workspace ac_ode_workspace;

/* Workspace for systems of dimension n >= 1 (O(n) doubles; the GSL stepper
 * itself is allocated by ac_ode_set, which knows the method).  NULL on no
 * memory or n < 1. */
ac_ode_workspace *ac_ode_alloc(int n);
void ac_ode_free(ac_ode_workspace *w);

/* Start at (t0, y0) (y0: n entries, copied) heading for t_end (t_end may be
 * below t0: time then runs backwards; t_end == t0 ends at once as DONE).
 * sys is copied, sys->ctx borrowed until the next set; set == NULL means
 * the defaults.  Returns AC_EINVAL (message in msg, when non-NULL) for a
 * NULL argument, sys->dim != n, a missing rhs, a method needing a Jacobian
 * without one, invalid settings, a non-finite t0, t_end or y0 entry, or a
 * span t_end - t0 that overflows (|t_end - t0| > DBL_MAX);
 * AC_ENOMEM; else AC_OK.  After an error the workspace is unusable until a
 * good set. */
ac_status ac_ode_set(ac_ode_workspace *w, const ac_ode_system *sys, double t0, const double *y0,
                     double t_end, const ac_ode_settings *set, ac_msg *msg);

/* One accepted step towards t_end (never past it; the last step lands on it
 * exactly), or the ending that prevents it.  A no-op once ended.  Returns
 * AC_EINVAL before a good set, else AC_OK (how the step went: ac_ode_test). */
ac_status ac_ode_step(ac_ode_workspace *w);
/* Fills info (when non-NULL); returns 1 when the integration has ended
 * (info->status says how), 0 to go on. */
int ac_ode_test(const ac_ode_workspace *w, ac_ode_info *info);
/* Current time and state (n entries, borrowed until the next call on w). */
double ac_ode_t(const ac_ode_workspace *w);
const double *ac_ode_y(const ac_ode_workspace *w);

/* Move the end time to t_end (same direction as before, not behind t) and
 * resume an integration that ended DONE; the state and step size are kept
 * (after a set with t_end == t0 and no step yet, t_end fixes the direction).
 * GSL's error handler is switched off around every GSL call of this module
 * and restored after it; failures are read from return codes.
 * Returns AC_EINVAL for a non-finite t_end, a change of direction or an
 * integration that ended any other way. */
ac_status ac_ode_extend(ac_ode_workspace *w, double t_end);

/* set + step/test to the end.  y (n, may alias y0; NULL: not copied, read
 * it with ac_ode_y) receives the final state (the last accepted one on a
 * failure); info may be NULL.  Returns ac_ode_set's error, or AC_OK
 * whenever the integration ran, whatever info->status. */
ac_status ac_ode_solve(ac_ode_workspace *w, const ac_ode_system *sys, double t0, const double *y0,
                       double t_end, double *y, const ac_ode_settings *set, ac_ode_info *info,
                       ac_msg *msg);

/* The solution at nt requested times: times[0..nt-1] monotone in one
 * direction from t0 (times[0] may equal t0), Y (nt x n, row-major) row k =
 * y(times[k]); each time is stepped to exactly (set->output LAND) or
 * interpolated between the stepper's own steps (HERMITE, see
 * ac_ode_output).  Rows past the time reached on a failure are NaN (HERMITE:
 * past the last accepted step before it); *n_done (when non-NULL) receives
 * the number of rows filled.  Returns AC_EINVAL for non-monotone or non-finite times (or
 * ac_ode_set's errors), else AC_OK whatever info->status. */
ac_status ac_ode_trajectory(ac_ode_workspace *w, const ac_ode_system *sys, double t0,
                            const double *y0, int nt, const double *times, double *Y,
                            int *n_done, const ac_ode_settings *set, ac_ode_info *info,
                            ac_msg *msg);

#endif
