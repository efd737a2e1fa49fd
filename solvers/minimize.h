/* Unconstrained smooth minimisation over GSL multimin (vector_bfgs2), for
 * objectives that know no paper: a callback gives f and its gradient, the
 * loop is set / iterate / test (GSL multimin/fdfminimizer.c), and how it
 * ended is an outcome in the info struct, not a status.
 *
 * Use: settings from ac_min_settings_default, workspace from n,
 * ac_min_set, then ac_min_iterate / ac_min_test in a loop (or ac_min_solve),
 * read info, free.
 *
 * GSL's default error handler aborts; the caller (CLI, tests) switches it
 * off, as everywhere in attncheck.  This module never calls it. */
#ifndef AC_MINIMIZE_H
#define AC_MINIMIZE_H

#include "solvers/status.h"

/* Stop when ||grad f(x)||_inf <= eps_grad.  1e-8 is the attention-paths spec's
 * test (§6), tighter than the authors' 1e-5 with Adam; callers scale f so that
 * this is meaningful (the paths solver divides its action by the width). */
#define AC_MIN_EPS_GRAD_DEFAULT 1e-8
#define AC_MIN_MAX_ITER_DEFAULT 10000
/* GSL's first trial step (in units of x) and its line-search tolerance; 0.1
 * is the value GSL's manual recommends for vector_bfgs2. */
#define AC_MIN_STEP_DEFAULT 0.1
#define AC_MIN_LINE_TOL_DEFAULT 0.1
/* A point x the callback rejects (return > 0, or a non-finite f or g) is
 * shown to GSL's line search as a wall: f = f_ref + delta and gradient g_ref
 * + delta (x - x_ref)/|x - x_ref|^2, delta = AC_MIN_REJECT_SCALE (1 +
 * |f_ref|), with x_ref, f_ref, g_ref the last accepted iterate.  Finite, so
 * GSL's cubic interpolation stays finite (an infinite value turns it into
 * NaN); far above f_ref and rising along the step, so the Wolfe test fails
 * and the interpolation puts the next trial inside.  1e6 is large against
 * any decrease a step can make yet small enough that its square in the
 * interpolation cannot overflow. */
#define AC_MIN_REJECT_SCALE 1e6
/* GSL's line search compares values of f, so it stalls once a step's
 * decrease, about |grad|^2 / (2 curvature), falls below the rounding of f
 * (a few eps |f|), near |grad| ~ sqrt(eps |f| curvature): 5e-8 for f = 3
 * with unit curvature.  From there the iteration goes on with gradients
 * only: L-BFGS steps x <- x + t d, d = -H g with H built from the pairs
 * (s, y) = (step, change of gradient) of the last AC_MIN_POLISH_MEMORY
 * accepted steps (Nocedal & Wright Alg. 7.4), and t found by a line search
 * on the slope phi'(t) = grad f(x + t d).d alone (secants towards its
 * root; no f is compared).  The sequence need not be monotone in f or
 * |grad|, and the iterate is the point of smallest |grad|_inf.  After
 * AC_MIN_POLISH_STALL steps without a new smallest gradient (or at once
 * when a search along -grad fails), BFGS restarts from that point if the
 * phase found one, else the iteration ends with NO_PROGRESS.  30 steps let
 * the sequence come back down after an excursion, and end it once |grad|
 * is at its own rounding floor.  Barzilai-Borwein steps (alpha = s.s/s.y,
 * no memory, no line search), used before, stalled at |grad| 9e-10 on a
 * paths action whose Hessian has condition 2.6e3 and whose gradient's
 * rounding allowed 1e-15 (tests/test_paths.c, seed 53 case 172). */
#define AC_MIN_POLISH_STALL 30
/* The gradient-only phase's memory: 8 pairs (16 n doubles), within the 3
 * to 20 that Nocedal & Wright §7.2 find enough in practice. */
#define AC_MIN_POLISH_MEMORY 8
/* Its line search accepts t when |phi'(t)| <= 0.1 |phi'(0)|: the strong
 * Wolfe curvature condition with the tight constant Nocedal & Wright §3.1
 * give for near-exact searches (0.9, their quasi-Newton value, let the
 * model lag on an ill-conditioned valley: on the problem of
 * tests/test_minimize.c's gradient-only test, 0.9 left 42 of 200 cases
 * with Hessian condition ~1e5 unconverged, 0.1 none up to ~1e8).  At most 10 calls per search: the secant on
 * phi' is exact on a quadratic, so a search takes 1 to 3 calls where the
 * model holds, and 10 halvings of a bracket are a factor 1e3. */
#define AC_MIN_POLISH_CURV 0.1
#define AC_MIN_POLISH_TRIALS 10

/* The objective.  Fills f and g (n entries) at x (borrowed for the call).
 * Returns 0 on success, a positive value to reject the point (the line search
 * shortens its step; e.g. a factorisation failed), a negative value to stop
 * the iteration.  A non-finite f or g counts as a positive return. */
typedef int (*ac_min_fn)(void *ctx, const double *x, double *f, double *g);

typedef enum {
    AC_MIN_RUNNING = 0,
    AC_MIN_CONVERGED,      /* ||grad||_inf <= eps_grad */
    AC_MIN_MAX_ITER,       /* iteration limit */
    AC_MIN_NO_PROGRESS,    /* GSL's line search found no acceptable point */
    AC_MIN_STOPPED         /* the callback returned < 0 */
} ac_min_status;

/* Endings, the setting that triggers each and the state it leaves (x is
 * always the last accepted iterate, which has the lowest f seen):
 *   CONVERGED    ||grad f(x)||_inf <= eps_grad, tested by ac_min_test (also
 *                at x0: then iter = 0).
 *   MAX_ITER     iter == max_iter with ||grad||_inf > eps_grad.
 *   NO_PROGRESS  gsl_multimin_fdfminimizer_iterate failed (no point along
 *                the search direction passed the Wolfe test, or every
 *                trial was rejected) twice in a row, the second time after
 *                a restart along -grad, and the gradient-only phase of
 *                AC_MIN_POLISH_STALL then found no smaller gradient for
 *                AC_MIN_POLISH_STALL steps (or its search along -grad
 *                failed).  x is the point of smallest |grad|_inf seen;
 *                grad_norm says how far it got.
 * In the gradient-only phase f is not monitored: x is the point of
 * smallest gradient, and its f may exceed the BFGS end point's by the
 * rounding-level amounts the line search could not resolve.
 *   STOPPED      the callback returned < 0 at a trial point. */
const char *ac_min_status_str(ac_min_status s);

typedef struct {
    double eps_grad;     /* >= 0 */
    int max_iter;        /* >= 0 */
    double step;         /* > 0, GSL's first trial step */
    double line_tol;     /* in (0, 1), GSL's line-search tolerance */
} ac_min_settings;

void ac_min_settings_default(ac_min_settings *s);

/* NULL when the settings are valid, else a sentence naming the bad setting
 * (static storage). */
const char *ac_min_settings_check(const ac_min_settings *s);

typedef struct {
    ac_min_status status;
    int iter;            /* accepted iterations */
    double f;            /* f at x */
    double grad_norm;    /* ||grad f(x)||_inf */
    int nfev;            /* callback calls */
    int rejected;        /* callback calls that rejected their point */
    int restarts;        /* BFGS restarts after a failed line search */
    int grad_steps;      /* line searches of the gradient-only phase */
} ac_min_info;

typedef struct ac_min_workspace ac_min_workspace;

/* Workspace for n >= 0 variables ((11 + 2 AC_MIN_POLISH_MEMORY) n doubles
 * plus GSL's BFGS state).  NULL on no memory or n < 0. */
ac_min_workspace *ac_min_alloc(int n);
void ac_min_free(ac_min_workspace *w);

/* Start from x0 (n entries, copied); fn and ctx are borrowed until the next
 * set or free; set == NULL means the defaults.  Evaluates f and grad at x0.
 * Returns AC_EINVAL for a NULL w, fn or x0, a non-finite entry of x0 or
 * invalid settings (msg gets the sentence; the workspace is unusable until a
 * good set, and no ending of an earlier run is reported), AC_ECALLBACK when
 * the callback does not return 0 with finite values at x0 (status STOPPED),
 * AC_ENOMEM, or AC_OK. */
ac_status ac_min_set(ac_min_workspace *w, ac_min_fn fn, void *ctx, const double *x0,
                     const ac_min_settings *set, ac_msg *msg);
/* One BFGS iteration (a line search along the quasi-Newton direction).  A
 * no-op once the iteration has ended.  Returns AC_EINVAL before a good set,
 * else AC_OK (how the step ended is read by ac_min_test). */
ac_status ac_min_iterate(ac_min_workspace *w);
/* Fills info (when non-NULL) and returns 1 when ended (info->status says
 * how), 0 to go on.  The tests, in order: a stop or no-progress recorded by
 * the last iterate; ||grad f(x)||_inf <= eps_grad; iter >= max_iter.  Before
 * a good set (none yet, or the last one failed its checks) it returns 1 with
 * info zeroed (status RUNNING): there is nothing to iterate. */
int ac_min_test(ac_min_workspace *w, ac_min_info *info);
/* The current (last accepted) iterate, n entries, borrowed until the next
 * call on w. */
const double *ac_min_x(const ac_min_workspace *w);
/* Its gradient, n entries, borrowed likewise. */
const double *ac_min_grad(const ac_min_workspace *w);

/* set + iterate/test to the end; x (n, may alias x0 but nothing the callback
 * reads; NULL: not copied, read it with ac_min_x) gets the final iterate.  AC_OK whenever the iteration ran, whatever
 * info->status; otherwise ac_min_set's error, with info filled. */
ac_status ac_min_solve(ac_min_workspace *w, ac_min_fn fn, void *ctx, const double *x0,
                       double *x, const ac_min_settings *set, ac_min_info *info, ac_msg *msg);

#endif
