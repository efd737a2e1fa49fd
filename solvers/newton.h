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

/* The objective.  fdfh fills f (always), g (n entries) when non-NULL, and H
 * (n x n, row-major, symmetric) when non-NULL.  Returns 0 on success, a
 * positive value to ask for a shorter step (e.g. non-finite value), a
 * negative value to stop. */
typedef int (*ac_newton_fn)(void *ctx, const double *x, double *f, double *g, double *H);

typedef enum {
    AC_NEWTON_RUNNING = 0,
    AC_NEWTON_CONVERGED,      /* ||grad|| <= eps_grad */
    AC_NEWTON_MAX_ITER,       /* iteration limit; best iterate kept */
    AC_NEWTON_NO_PROGRESS,    /* line search failed to decrease f */
    AC_NEWTON_NOT_CONVEX,     /* Hessian not positive definite, even regularised */
    AC_NEWTON_STOPPED         /* the callback returned < 0 */
} ac_newton_status;

const char *ac_newton_status_str(ac_newton_status s);

typedef struct {
    double eps_grad;
    int max_iter;
} ac_newton_settings;

void ac_newton_settings_default(ac_newton_settings *s);

typedef struct {
    ac_newton_status status;
    int iter;
    double f;
    double grad_norm;
    int backtracks;          /* line-search halvings, all iterations */
} ac_newton_info;

typedef struct ac_newton_workspace ac_newton_workspace;

ac_newton_workspace *ac_newton_alloc(int n);
void ac_newton_free(ac_newton_workspace *w);

/* Start from x0 (n, copied). */
ac_status ac_newton_set(ac_newton_workspace *w, ac_newton_fn fn, void *ctx, const double *x0,
                        const ac_newton_settings *set);
/* One damped Newton step. */
ac_status ac_newton_iterate(ac_newton_workspace *w);
/* 1 when ended (info->status says how), 0 to go on. */
int ac_newton_test(ac_newton_workspace *w, ac_newton_info *info);
/* The current iterate (n entries, borrowed). */
const double *ac_newton_x(const ac_newton_workspace *w);

/* set + iterate/test to the end; x gets the final iterate.  AC_OK whenever
 * the iteration ran, whatever info->status. */
ac_status ac_newton_solve(ac_newton_workspace *w, ac_newton_fn fn, void *ctx, double *x,
                          const ac_newton_settings *set, ac_newton_info *info);

#endif
