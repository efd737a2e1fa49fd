/* Damped Newton's method for smooth convex functions of a few thousand
 * variables, with a backtracking (Armijo) line search and Cholesky solves
 * (LAPACKE).  GSL's multimin offers BFGS but no method that uses an exact
 * Hessian; with one, Newton reaches ||grad|| <= 1e-12 in a handful of steps
 * where BFGS stalls near 1e-8, which the finite-component claims need.
 *
 * Use: settings from ac_newton_settings_default, workspace from n,
 * ac_newton_set, then ac_newton_iterate / ac_newton_test in a loop (or
 * ac_newton_solve), read info, free. */
#ifndef AC_NEWTON_H
#define AC_NEWTON_H

#include "solvers/status.h"

/* Stop when ||grad f(x)||_2 <= eps_grad.  1e-12 is the spec's stopping test
 * (tpg_svm §7) and sits some 1e3 ulps above the rounding floor of a gradient
 * that sums O(n) terms of size O(1). */
#define AC_NEWTON_EPS_GRAD_DEFAULT 1e-12
#define AC_NEWTON_MAX_ITER_DEFAULT 200
/* Armijo constant and backtracking factor: the usual choices (Nocedal &
 * Wright §3.1). */
#define AC_NEWTON_ARMIJO 1e-4
#define AC_NEWTON_BACKTRACK 0.5
#define AC_NEWTON_MAX_BACKTRACK 60
/* Diagonal shifts tried when the Cholesky factorisation of H fails:
 * tau = AC_NEWTON_REG_MIN * scale, times AC_NEWTON_REG_GROWTH each retry, up
 * to AC_NEWTON_REG_MAX * scale, with scale = max(1, max_i |H_ii|).  A convex
 * function's Hessian that is singular (or indefinite by rounding, eigenvalues
 * of order -n eps ||H||) becomes positive definite at the first shifts; an
 * eigenvalue below -1e-6 ||H|| is not rounding, and the step ends with
 * AC_NEWTON_NOT_CONVEX. */
#define AC_NEWTON_REG_MIN 1e-14
#define AC_NEWTON_REG_MAX 1e-6
#define AC_NEWTON_REG_GROWTH 100.0
/* When the Armijo decrease c t |g^T p| is below this multiple of |f| the
 * function values cannot tell a decrease from rounding (f is summed in
 * double, relative error a few eps), so a trial point is also accepted when
 * f(x_t) <= f(x) + AC_NEWTON_F_NOISE |f(x)| and ||grad f(x_t)|| < ||grad f(x)||.
 * 64 eps covers sums of some tens of terms; without it Newton would stop with
 * AC_NEWTON_NO_PROGRESS near ||grad|| ~ sqrt(eps |f|) instead of reaching
 * eps_grad. */
#define AC_NEWTON_F_NOISE (64 * 2.220446049250313e-16)

/* The objective.  fdfh fills f (always), g (n entries) when non-NULL, and H
 * (n x n, row-major, symmetric) when non-NULL.  Returns 0 on success, a
 * positive value to ask for a shorter step (e.g. non-finite value), a
 * negative value to stop.  A non-finite f or g counts as a positive return.
 * x is borrowed for the call only. */
typedef int (*ac_newton_fn)(void *ctx, const double *x, double *f, double *g, double *H);

typedef enum {
    AC_NEWTON_RUNNING = 0,
    AC_NEWTON_CONVERGED,      /* ||grad|| <= eps_grad */
    AC_NEWTON_MAX_ITER,       /* iteration limit; best iterate kept */
    AC_NEWTON_NO_PROGRESS,    /* line search failed to decrease f */
    AC_NEWTON_NOT_CONVEX,     /* Hessian not positive definite, even regularised */
    AC_NEWTON_STOPPED         /* the callback returned < 0 */
} ac_newton_status;

/* Endings, the setting that triggers each and the state it leaves (x is
 * always the last accepted iterate, the one with the lowest f seen):
 *   CONVERGED    ||grad f(x)||_2 <= eps_grad (checked by ac_newton_test,
 *                also at x0: then iter = 0).
 *   MAX_ITER     iter == max_iter with ||grad|| > eps_grad.
 *   NO_PROGRESS  AC_NEWTON_MAX_BACKTRACK halvings of the step found no point
 *                passing the acceptance test above (or the Newton direction
 *                was not a descent direction in floating point).
 *   NOT_CONVEX   H + tau I has no Cholesky factor for every tau up to
 *                AC_NEWTON_REG_MAX * scale.
 *   STOPPED      the callback returned < 0, at a trial point or for the
 *                Hessian at x, or failed (any non-zero return or non-finite
 *                f, g) at x0. */
const char *ac_newton_status_str(ac_newton_status s);

typedef struct {
    double eps_grad;
    int max_iter;
} ac_newton_settings;

void ac_newton_settings_default(ac_newton_settings *s);

/* AC_OK when the settings are usable (s non-NULL): eps_grad >= 0 (not NaN)
 * and max_iter >= 0; otherwise AC_EINVAL with the sentence naming the setting
 * and its bound in msg (may be NULL). */
ac_status ac_newton_settings_check(const ac_newton_settings *s, ac_msg *msg);

typedef struct {
    ac_newton_status status;
    int iter;
    double f;
    double grad_norm;
    int backtracks;          /* line-search halvings, all iterations */
    int nfev;                /* callback calls, all kinds */
    double reg;              /* largest diagonal shift tau used so far (0: none) */
} ac_newton_info;

typedef struct ac_newton_workspace ac_newton_workspace;

/* Workspace for n >= 0 variables (O(n^2) doubles).  NULL on no memory or
 * n < 0. */
ac_newton_workspace *ac_newton_alloc(int n);
void ac_newton_free(ac_newton_workspace *w);

/* Start from x0 (n, copied); fn and ctx are borrowed until the next set;
 * set == NULL means the defaults.  Evaluates f and grad at x0.  Returns
 * AC_EINVAL for a NULL w, fn or x0 (n > 0), a non-finite entry of x0, or
 * settings that fail ac_newton_settings_check (the workspace is then
 * unusable until a good set: ac_newton_test returns 1 with info zeroed,
 * status RUNNING, and no ending of an earlier run); AC_ECALLBACK when the callback fails at x0 (status STOPPED); AC_OK
 * otherwise.  On an error msg (may be NULL) receives the sentence. */
ac_status ac_newton_set(ac_newton_workspace *w, ac_newton_fn fn, void *ctx, const double *x0,
                        const ac_newton_settings *set, ac_msg *msg);
/* One damped Newton step: p = -(H + tau I)^{-1} g (tau = 0 unless H has no
 * Cholesky factor), then t = 1, 1/2, ... until the trial x + t p passes
 *   f(x + t p) <= f(x) + AC_NEWTON_ARMIJO t g^T p
 * (or the rounding-level test of AC_NEWTON_F_NOISE).  A no-op once the
 * iteration has ended.  Returns AC_EINVAL when called before a good set,
 * else AC_OK (how a step ended is in the status, read by ac_newton_test). */
ac_status ac_newton_iterate(ac_newton_workspace *w);
/* Fills info (always, when non-NULL) and returns 1 when ended (info->status
 * says how), 0 to go on.  The test is ||grad f(x)||_2 <= eps_grad, then
 * iter >= max_iter. */
int ac_newton_test(ac_newton_workspace *w, ac_newton_info *info);
/* The current iterate (n entries, borrowed). */
const double *ac_newton_x(const ac_newton_workspace *w);

/* set + iterate/test to the end, from x (n entries: the starting point on
 * entry, the final iterate on return; it may alias nothing the callback
 * reads).  AC_OK whenever the iteration ran, whatever info->status;
 * otherwise ac_newton_set's error and sentence, with info filled and x = x0
 * when the callback failed at x0. */
ac_status ac_newton_solve(ac_newton_workspace *w, ac_newton_fn fn, void *ctx, const ac_newton_settings *set,
                          double *x, ac_newton_info *info, ac_msg *msg);

#endif
