/* Minimum-norm matrix under pairwise bilinear constraints, by dual coordinate
 * ascent (Hildreth's method).
 *
 * The problem, for matrices L (p x d) and R (q x d) with rows l_j and r_k:
 *
 *   minimise    ½ ||W||_F^2        over W in R^{d x d}
 *   subject to  <A_c, W> = rhs_c   for equality constraints c,
 *               <A_c, W> >= rhs_c  for inequality constraints c,
 *   where       A_c = (l_{a_c} - l_{b_c}) r_{k_c}^T    (b_c = -1: A_c = l_{a_c} r_{k_c}^T).
 *
 * Its dual, over one multiplier per constraint (lambda_c >= 0 on inequalities,
 * free on equalities), is
 *
 *   maximise    rhs^T lambda - ½ ||sum_c lambda_c A_c||_F^2,
 *
 * and the primal solution is W = sum_c lambda_c A_c = L^T Lam R, where the
 * p x q coefficient matrix Lam collects +lambda_c at (a_c, k_c) and -lambda_c
 * at (b_c, k_c).  The solver needs only the Gram matrices GL = L L^T and
 * GR = R R^T, so its cost does not depend on d: a sweep over the m constraints
 * costs O(m p + q p^2) when the constraints are ordered by k (see qp.c).
 *
 * Use: fill settings with ac_qp_settings_default, allocate a workspace from
 * the sizes, call ac_qp_solve (or ac_qp_set, then ac_qp_iterate / ac_qp_test
 * in a loop to watch each sweep), read info, free. */
#ifndef AC_QP_H
#define AC_QP_H

#include "solvers/status.h"

/* Stopping tolerance on the KKT residuals.  The constraint right-hand sides
 * are O(1) (1 for the Graph-SVM), so an absolute 1e-12 is about 5000 ulps of
 * the largest constraint value: far below the 1e-9 the structural checks ask. */
#define AC_QP_EPS_DEFAULT 1e-12
/* Sweeps before giving up; linear convergence reaches 1e-12 within a few
 * hundred sweeps on the paper's sizes (spec tpg_svm §7: 38-281). */
#define AC_QP_MAX_SWEEPS_DEFAULT 100000
/* Infeasibility test (OSQP-style certificate from successive iterates): the
 * sweep difference y satisfies ||sum y_c A_c||_F <= eps_infeas * rhs^T y. */
#define AC_QP_EPS_INFEAS_DEFAULT 1e-9

typedef enum {
    AC_QP_UNSOLVED = 0,      /* no sweep yet */
    AC_QP_SOLVED,            /* KKT residuals below eps */
    AC_QP_SOLVED_INACCURATE, /* max_sweeps reached with residuals below sqrt(eps) */
    AC_QP_INFEASIBLE,        /* certificate found: info.cert_* describe it */
    AC_QP_MAX_ITER,          /* max_sweeps reached, residuals above sqrt(eps) */
    AC_QP_NUMERICAL_ERROR    /* a non-finite value appeared */
} ac_qp_status;

/* Human-readable name of a solve status ("solved", "infeasible", ...). */
const char *ac_qp_status_str(ac_qp_status s);

typedef struct {
    double eps;          /* KKT tolerance (absolute; see AC_QP_EPS_DEFAULT) */
    double eps_infeas;   /* infeasibility certificate tolerance */
    long max_sweeps;     /* sweep limit */
    int check_every;     /* run the KKT test every this many sweeps (>= 1) */
} ac_qp_settings;

void ac_qp_settings_default(ac_qp_settings *s);

/* Problem data; every array is borrowed for the lifetime of the solve. */
typedef struct {
    int p, q;            /* GL is p x p, GR is q x q */
    const double *GL;    /* row-major, symmetric positive semidefinite */
    const double *GR;
    int m;               /* number of constraints */
    const int *a;        /* m indices in [0, p) */
    const int *b;        /* m indices in [0, p), or -1 for none; b_c != a_c */
    const int *k;        /* m indices in [0, q) */
    const unsigned char *is_eq; /* m flags: 1 equality, 0 inequality */
    const double *rhs;   /* m right-hand sides */
} ac_qp_problem;

typedef struct {
    ac_qp_status status;
    long sweeps;         /* sweeps done */
    double prim_res;     /* max_c violation: |s_c - rhs_c| (eq), max(0, rhs_c - s_c) (ineq) */
    double dual_res;     /* max_c max(0, -lambda_c) over inequalities */
    double compl_res;    /* max_c |lambda_c (s_c - rhs_c)| over inequalities */
    double stat_res;     /* ||Lam_kept - Lam(lambda)||_F: drift of the running
                            coefficient matrix from the one rebuilt from lambda */
    double obj;          /* ½ ||W||_F^2 */
    double dual_obj;     /* rhs^T lambda - ½ ||W||_F^2 */
    int n_active;        /* constraints with lambda_c != 0 */
    /* Infeasibility certificate (status AC_QP_INFEASIBLE): y = the last sweep
     * difference, with cert_support nonzero entries; cert_residual is
     * ||sum y_c A_c||_F / (rhs^T y).  ac_qp_certificate copies y out. */
    int cert_support;
    double cert_residual;
} ac_qp_info;

typedef struct ac_qp_workspace ac_qp_workspace;

/* Workspace for problems with GL p x p, GR q x q and m constraints.  NULL on
 * allocation failure. */
ac_qp_workspace *ac_qp_alloc(int p, int q, int m);
void ac_qp_free(ac_qp_workspace *w);

/* Check the problem (sizes, index ranges, b_c != a_c, finite rhs, Gram
 * diagonals nonnegative, no constraint with A_c = 0).  Returns AC_OK or
 * AC_EINVAL / AC_ESIZE with the sentence in msg (may be NULL). */
ac_status ac_qp_check(const ac_qp_workspace *w, const ac_qp_problem *prob, ac_msg *msg);

/* Reset the iterate to lambda = 0 for prob (borrowed until the next set). */
ac_status ac_qp_set(ac_qp_workspace *w, const ac_qp_problem *prob, const ac_qp_settings *set, ac_msg *msg);
/* One sweep over all constraints. */
ac_status ac_qp_iterate(ac_qp_workspace *w);
/* Recompute residuals from lambda, fill info; returns 1 when the solve has
 * ended (solved, infeasible, numerical error), 0 to go on. */
int ac_qp_test(ac_qp_workspace *w, ac_qp_info *info);

/* set + iterate/test until an ending.  AC_OK whenever the solve ran, whatever
 * info->status says; an error status only for bad input or no memory. */
ac_status ac_qp_solve(ac_qp_workspace *w, const ac_qp_problem *prob, const ac_qp_settings *set,
                      ac_qp_info *info, ac_msg *msg);

/* Results of the last solve: lambda (m), Lam (p x q).  Either may be NULL. */
void ac_qp_solution(const ac_qp_workspace *w, double *lambda, double *Lam);

/* The infeasibility certificate y (m entries, zero where not in the support).
 * Meaningful only when info.status == AC_QP_INFEASIBLE. */
void ac_qp_certificate(const ac_qp_workspace *w, double *y);

#endif
