/* Unconstrained smooth minimisation by limited-memory BFGS, for objectives
 * that know no paper: a callback gives f and its gradient, the loop is
 * set / iterate / test (as GSL's multimin), and how it ended is an outcome
 * in the info struct, not a status.
 *
 * The main phase: directions d = -H g from the pairs (s, y) = (step,
 * change of gradient) of the last AC_MIN_MEMORY accepted steps
 * (Nocedal & Wright Alg. 7.4, H_0 = (s.y / y.y) I of the newest pair), and
 * a line search for the strong Wolfe conditions (Alg. 3.5 and 3.6, cubic
 * interpolation), the unit step tried first.  Not GSL's vector_bfgs2:
 * that keeps one pair (a memoryless BFGS) and took 2.5-3.3 times the
 * evaluations on the attention-paths action (solvers/minimize.c).
 *
 * Use: settings from ac_min_settings_default, workspace from n,
 * ac_min_set, then ac_min_iterate / ac_min_test in a loop (or ac_min_solve),
 * read info, free.
 */
#ifndef AC_MINIMIZE_H
#define AC_MINIMIZE_H

#include "solvers/status.h"

/* Stop when ||grad f(x)||_inf <= eps_grad.  1e-8 is the attention-paths spec's
 * test (§6), tighter than the authors' 1e-5 with Adam; callers scale f so that
 * this is meaningful (the paths solver divides its action by the width). */
#define AC_MIN_EPS_GRAD_DEFAULT 1e-8
#define AC_MIN_MAX_ITER_DEFAULT 10000
/* The first trial step (in units of x, along -grad) and the main phase's
 * curvature constant: |phi'(t)| <= line_tol |phi'(0)|, 0.9 the value
 * Nocedal & Wright §3.1 give for quasi-Newton methods (the unit step is
 * accepted once the model is good).  On the paths action of
 * bench/paths.sh (P = 100, 500, 1000, 2000) 0.9 took 40, 31, 52, 39
 * evaluations to |grad| <= 1e-8, 0.1 (GSL's value for vector_bfgs2) 56,
 * 45, 54, 55. */
#define AC_MIN_STEP_DEFAULT 0.1
#define AC_MIN_LINE_TOL_DEFAULT 0.9
/* A point x the callback rejects (return > 0, or a non-finite f or g) is
 * the upper end of the line search's bracket, with no values: the next
 * trial is the midpoint towards the last acceptable one. */
/* The main phase's line search compares values of f, so it stalls once a step's
 * decrease, about |grad|^2 / (2 curvature), falls below the rounding of f
 * (a few eps |f|), near |grad| ~ sqrt(eps |f| curvature): 5e-8 for f = 3
 * with unit curvature.  From there the iteration goes on with gradients
 * only: L-BFGS steps x <- x + t d, d = -H g with H built from the pairs
 * (s, y) = (step, change of gradient) of the last AC_MIN_MEMORY
 * accepted steps (Nocedal & Wright Alg. 7.4), and t found by a line search
 * on the slope phi'(t) = grad f(x + t d).d alone (secants towards its
 * root; no f is compared).  The sequence need not be monotone in f or
 * |grad|, and the iterate is the point of smallest |grad|_inf.  After
 * AC_MIN_POLISH_STALL steps without a new smallest gradient (or at once
 * when a search along -grad fails), the main phase restarts from that point if the
 * phase found one, else the iteration ends with NO_PROGRESS.  30 steps let
 * the sequence come back down after an excursion, and end it once |grad|
 * is at its own rounding floor.  Barzilai-Borwein steps (alpha = s.s/s.y,
 * no memory, no line search), used before, stalled at |grad| 9e-10 on a
 * paths action whose Hessian has condition 2.6e3 and whose gradient's
 * rounding allowed 1e-15 (tests/test_paths.c, seed 53 case 172).  The
 * phase keeps the main phase's pairs and direction when it takes over. */
#define AC_MIN_POLISH_STALL 30
/* The memory of both phases: 20 pairs (40 n doubles), the top of the 3 to
 * 20 that Nocedal & Wright §7.2 find enough in practice.  On the paths
 * action (13 variables, 20-40 iterations) 8 pairs took 54, 52, 88, 62
 * evaluations where 20 took 40, 31, 52, 39 (the four P above). */
#define AC_MIN_MEMORY 20
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
/* The main phase's line search: sufficient decrease with the constant
 * Nocedal & Wright §3.1 give (1e-4), at most 10 calls (as above). */
#define AC_MIN_ARMIJO 1e-4
#define AC_MIN_LINE_TRIALS 10
/* A trial whose f rises by at most this fraction of 1 + |f| while the
 * slope promised a decrease 100 times smaller is read as f's rounding
 * (the search ends there and the gradient-only phase goes on): 1e-8 lies
 * far above the rounding of a sum of 1e3-1e4 terms (~1e-12 relative, the
 * paths action at P = 1000) and far below any change a step of the main
 * phase makes before it reaches that floor. */
#define AC_MIN_F_FLAT 1e-8

/* The objective.  Fills f and g (n entries) at x (borrowed for the call).
 * Returns 0 on success, a positive value to reject the point (the line search
 * shortens its step; e.g. a factorisation failed), a negative value to stop
 * the iteration.  A non-finite f or g counts as a positive return. */
typedef int (*ac_min_fn)(void *ctx, const double *x, double *f, double *g);

typedef enum {
    AC_MIN_RUNNING = 0,
    AC_MIN_CONVERGED,      /* ||grad||_inf <= eps_grad */
    AC_MIN_MAX_ITER,       /* iteration limit */
    AC_MIN_NO_PROGRESS,    /* neither phase's line search found a better point */
    AC_MIN_STOPPED         /* the callback returned < 0 */
} ac_min_status;

/* Endings, the setting that triggers each and the state it leaves (x is
 * always the last accepted iterate, which has the lowest f seen):
 *   CONVERGED    ||grad f(x)||_inf <= eps_grad, tested by ac_min_test (also
 *                at x0: then iter = 0).
 *   MAX_ITER     iter == max_iter with ||grad||_inf > eps_grad.
 *   NO_PROGRESS  the main phase's line search failed (no point along the
 *                search direction passed the Wolfe test in
 *                AC_MIN_LINE_TRIALS calls, every trial was rejected, or f
 *                was flat to its rounding: AC_MIN_F_FLAT), and the
 *                gradient-only phase then found no smaller gradient for
 *                AC_MIN_POLISH_STALL steps (or its search along -grad
 *                failed).  x is the point of smallest |grad|_inf seen;
 *                grad_norm says how far it got.
 * In the gradient-only phase f is not monitored: x is the point of
 * smallest gradient, and its f may exceed the main phase's end point's by the
 * rounding-level amounts the line search could not resolve.
 *   STOPPED      the callback returned < 0 at a trial point. */
const char *ac_min_status_str(ac_min_status s);

typedef struct {
    double eps_grad;     /* >= 0 */
    int max_iter;        /* >= 0 */
    double step;         /* > 0, the first trial step's length (|.|_inf) */
    double line_tol;     /* in (0, 1), the main phase's curvature constant */
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
    int restarts;        /* main-phase line searches that failed (the
                          * gradient-only phase took over) */
    int grad_steps;      /* line searches of the gradient-only phase */
} ac_min_info;

typedef struct ac_min_workspace ac_min_workspace;

/* Workspace for n >= 0 variables ((9 + 2 AC_MIN_MEMORY) n
 * doubles).  NULL on no memory or n < 0. */
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
/* One iteration (a line search along the quasi-Newton direction).  A
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
