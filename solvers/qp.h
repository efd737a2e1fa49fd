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
 * GR = R R^T, so its cost does not depend on d: with U = GL Lam GR (p x q) the
 * constraint values are s_c = <A_c, W> = U[a_c,k_c] - U[b_c,k_c] (U[-1,k] = 0),
 * and a sweep over the m constraints costs O(m p + q p^2 + q^2 p) because the
 * constraints are visited grouped by k (see qp.c).
 *
 * One coordinate step (spec tpg_svm §7), G_cc = ||A_c||_F^2:
 *
 *   lambda_c <- lambda_c + (rhs_c - s_c) / G_cc,  then max(0, .) for inequalities.
 *
 * Stopping test, evaluated by ac_qp_test on values recomputed from lambda
 * (U rebuilt by two dgemm, not the running copy):
 *
 *   SOLVED      when  prim_res  <= eps_v  and  compl_res <= eps_v max(1, lambda_max),
 *   eps_v       = eps max(1, value_scale),
 *   prim_res    = max_c |s_c - rhs_c| (equalities), max(0, rhs_c - s_c) (inequalities),
 *   compl_res   = max_c |lambda_c (s_c - rhs_c)|   over inequalities,
 *   lambda_max  = max_c |lambda_c|,
 *   value_scale = max_c ||A_c||_F ||W||_F   (>= |s_c| by Cauchy-Schwarz).
 *
 * Both factors keep the test within reach of rounding.  When a problem's
 * solution is far (||W|| ~ 1e3 from nearly dependent rows, Lam ~ 1e6 and
 * U = GL Lam GR = O(1) by cancellation), no iterate gets |s_c - rhs_c| below
 * ~1e-10, and the test asks eps relative to the largest value a constraint
 * could take at this W instead (for the Graph-SVM ||A_c|| ||W|| is O(1-10),
 * so the test stays near absolute).  A scale from |GL| |Lam| |GR| would
 * follow the rounding more closely but is fooled by a huge Lam in the null
 * space of the constraints (an inconsistent system), ||W|| is not.  max(1, lambda_max) asks of an active
 * constraint what the primal test asks when multipliers are large
 * (ill-conditioned Grams give lambda in the hundreds: observed floor of
 * compl_res 1e-11 at p = q = d = 128).
 *
 * Active-set polish (settings.polish, OSQP's idea with conjugate gradients in
 * place of its factorisation): when prim_res first falls below
 * settings.polish_start, and again after each further factor
 * AC_QP_POLISH_FACTOR, or when the sweep count reaches settings.polish_sweeps
 * and then grows by AC_QP_POLISH_SWEEP_GROWTH, the test takes S = {equalities} u {c : lambda_c > 0} and
 * runs up to AC_QP_POLISH_ROUNDS primal-dual active-set rounds: solve
 * G_SS x_S = rhs_S (G_cc' = <A_c, A_c'>, x = 0 off S) by Jacobi-
 * preconditioned CG from x = lambda (loosely while S changes:
 * AC_QP_POLISH_CG_REL; where CG stalls or diverges and |S| <=
 * AC_QP_DIRECT_MAX, x_S = G_SS^+ rhs_S by an eigendecomposition instead);
 * drop from S the inequalities with x_c < 0 or with
 * s_c > rhs_c left by the solve (x_c := 0); in a round that dropped none,
 * add those x violates by more than AC_QP_POLISH_ADD_FRAC eps_v.  A CG that
 * diverges without progress (AC_QP_POLISH_CG_GROWTH) abandons the polish.
 * When the rounds do not end on a point that passes the test and m <=
 * AC_QP_DIRECT_MAX, a primal active-set method on the dual (monotone, each
 * subproblem solved by an eigendecomposition) is tried from lambda.
 * lambda := x only when x passes the stopping test (so a polish never moves
 * lambda otherwise, and the infeasibility test sees sweeps only).  When S
 * settles on the optimal active set this lands on the solution at once;
 * otherwise the sweeps go on.  Coordinate ascent alone converges linearly at a
 * rate set by the conditioning of G and can need ~10^4 sweeps on large
 * ill-conditioned problems (K = d = 128: the residual falls 2% a sweep, and
 * the polish lands at sweep 190 instead of the ~1200 sweeps alone would
 * take).
 *
 * Dual feasibility (lambda_c >= 0 on inequalities) and stationarity
 * (W = sum_c lambda_c A_c) hold by construction; dual_res and stat_res report
 * them anyway.
 *
 * Infeasibility test (a Farkas certificate from successive iterates, as OSQP
 * takes one from successive ADMM iterates): with lambda_prev the multipliers at
 * the last checkpoint (the first test at or past twice the sweep count of the
 * one before: sweeps 0, 10, 20, 40, ... at check_every = 10, so that y spans
 * at least half the run and rhs^T y grows with it while ||sum y_c A_c|| =
 * ||W - W_prev|| stays bounded) and y = lambda - lambda_prev, inequality entries clipped at
 * 0 from below and entries with |y_c| <= AC_QP_CERT_DROP ||y||_inf set to 0,
 *
 *   INFEASIBLE  when  rhs^T y > 0  and  ||sum_c y_c A_c||_F <= eps_infeas * rhs^T y
 *               at AC_QP_INFEAS_CONFIRM consecutive tests.
 *
 * Such a y bounds every feasible W: sum_c y_c <A_c, W> >= rhs^T y, so
 * ||W||_F >= rhs^T y / ||sum_c y_c A_c||_F >= 1 / eps_infeas.  The ending
 * therefore means "no feasible W of norm below 1/eps_infeas"; a feasible
 * problem whose solution is nearer than that is never declared infeasible,
 * however slowly it converges.  ||sum_c y_c A_c||_F is computed as
 * ||FL^T Y FR||_F from square factors GL = FL FL^T, GR = FR FR^T (eigen-
 * decompositions made by ac_qp_set), not as sqrt(tr(Y^T GL Y GR)), whose
 * cancellation would floor it at about sqrt(DBL_EPSILON) ||Y|| ||GL|| ||GR||.
 *
 * A second candidate y, tested the same way at the same tests (from
 * cert_min_sweeps on): the ray of the small-problem active-set method
 * (qp.c, active_set_solve), when it finds the dual unbounded on its set F
 * (v = the part of rhs_F in the null space of G_FF, v_c >= 0 on the
 * inequalities of F, rhs^T v = ||v||^2 > 0).  One passing test suffices for
 * it: AC_QP_INFEAS_CONFIRM guards against a sweep difference caught in a
 * transient, and the ray is none.  It is needed where the sweeps' transient
 * outlasts the sweep limit: nearly parallel constraints beside an exactly
 * inconsistent set (rows 0.0017 rad apart) move lambda mostly along the
 * nearly null direction of G for ~1/angle^2 sweeps, and the sweep
 * difference's null-space part can even point against rhs
 * (AC_TEST_MULTIPLIER=20 seeds 5 and 7, tests/test_qp.c).
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
/* Infeasibility test: declared only when every feasible W would have
 * ||W||_F >= 1/eps_infeas = 1e9, a billion times the Graph-SVM norms of the
 * paper (||W_svm|| of order 1-10). */
#define AC_QP_EPS_INFEAS_DEFAULT 1e-9
/* Sweeps between two tests.  A test costs about one sweep (two dgemm of
 * p x p x q and q x q x p), so testing every 10th sweep adds at most 10% and
 * overshoots the converged sweep by at most 9 cheap sweeps. */
#define AC_QP_CHECK_EVERY_DEFAULT 10
/* Consecutive tests whose certificate must pass before INFEASIBLE: one
 * passing test could be a lucky cancellation in a transient; two in a row on
 * different sweep differences cannot be. */
#define AC_QP_INFEAS_CONFIRM 2
/* Default of settings.cert_min_sweeps, the sweep at which the certificate is
 * first tested.  Tuned to the paper's sizes: feasible Graph-SVM problems
 * there are solved in 10-60 sweeps and so never pay for the two Gram
 * eigendecompositions the test needs (a third of such a solve, by
 * callgrind); an infeasible one is reported some 64 sweeps later.  Larger
 * problems may want it later (they pay the factorisation once either way). */
#define AC_QP_CERT_MIN_SWEEPS_DEFAULT 64
/* Certificate entries below this fraction of the largest are dropped (set to
 * 0) before the certificate residual is computed, so that constraints still
 * settling geometrically outside the infeasible core (their sweep differences
 * shrink while the core's grow linearly) do not pad the support.  The
 * residual is computed after dropping, so the reported y is exactly what
 * was checked. */
#define AC_QP_CERT_DROP 1e-9
/* A certificate needs rhs^T y > AC_QP_CERT_RHS_REL sum_c |rhs_c y_c|: on a
 * feasible problem with dependent constraints a null-space combination y
 * can cancel exactly in sum_c y_c A_c (the coefficients scatter onto the
 * same entries) while rhs^T y is the rounding of right-hand sides that agree
 * only to the last bits; its ratio is then 0 (AC_TEST_MULTIPLIER=20 seed 1
 * case 3990).  A true certificate's rhs^T y is of the order of the sum
 * (sums of a few unit right-hand sides); sqrt(DBL_EPSILON) is far above
 * the m DBL_EPSILON of a cancellation and far below that. */
#define AC_QP_CERT_RHS_REL 1.5e-8
/* ac_qp_check rejects constraint c as A_c = 0 when
 *   G_cc <= AC_QP_ZERO_REL * (GL[a,a] + GL[b,b] + 2|GL[a,b]|) * GR[k,k]:
 * the difference GL[a,a] + GL[b,b] - 2 GL[a,b] of Gram entries each rounded
 * to O(d DBL_EPSILON) relative error is noise below about 1e-13 of its
 * terms for d up to a few hundred, and 1e-12 leaves a factor 10: a pair with
 * ||l_a - l_b|| <= 1e-6 ||l_a|| is taken for a duplicate token. */
#define AC_QP_ZERO_REL 1e-12
/* ac_qp_check rejects GL (GR) when |G[i,j] - G[j,i]| > AC_QP_SYM_REL *
 * sqrt(G[i,i] G[j,j]): a Gram matrix from a BLAS product is symmetric to a
 * few ulps of its entries (bounded by sqrt(G[i,i] G[j,j]), Cauchy-Schwarz);
 * the solver reads rows of GL as its columns. */
#define AC_QP_SYM_REL 1e-12
/* Active-set polish: the first attempt when prim_res <= settings.polish_start
 * (default AC_QP_POLISH_START_DEFAULT: 1% of the Graph-SVM's unit right-hand
 * sides, where the sweeps have usually found which inequalities bind), the
 * next when prim_res has fallen by a further AC_QP_POLISH_FACTOR, so a run
 * makes at most log(START/eps)/log(1/FACTOR) = 5 such attempts at the
 * default eps. */
#define AC_QP_POLISH_START_DEFAULT 1e-2
#define AC_QP_POLISH_FACTOR 1e-2
/* ... and, for ill-conditioned problems whose residual falls too slowly to
 * reach those marks (nearly parallel constraints: the sweeps gain a factor
 * 1 - sin^2(angle) each), after settings.polish_sweeps sweeps and then
 * whenever the sweep count has grown by AC_QP_POLISH_SWEEP_GROWTH since the
 * last attempt.  The default, 100 sweeps, is about where the paper-sized
 * problems converge (spec §7: 38-281); at K = d = 128 the first polish that
 * succeeds comes at 190-220.  A failed attempt costs a few dozen CG iterations
 * (AC_QP_POLISH_CG_GROWTH), a few sweeps' worth, so a growth of 1.3 (25
 * attempts up to 10^5 sweeps) costs little and lands within 30% of the
 * first sweep at which a polish can succeed. */
#define AC_QP_POLISH_SWEEPS_DEFAULT 100
#define AC_QP_POLISH_SWEEP_GROWTH 1.3
/* CG iterations per polish; each costs about a third of a sweep (two dgemm
 * and O(m)), so a failed polish costs at most a few hundred sweeps' worth on
 * a problem whose sweeps number in the thousands. */
#define AC_QP_POLISH_MAX_CG 500
/* CG stops when max_c |rhs_c - s_c| over the active set is below this
 * fraction of eps, leaving room for the rounding the rebuilt values add. */
#define AC_QP_POLISH_CG_TOL 0.1
/* Active-set rounds (solves on S) per polish.  Near the solution the guess
 * is off by a few constraints and one or two rounds settle it; from a guess
 * the sweeps found early (K = d = 128: 80 of 5400 constraints off) the set
 * changes by tens a round and settles in about ten, each round cheaper than
 * the last (warm start, loose solves below).  A polish that has not settled
 * by then is judged as it stands. */
#define AC_QP_POLISH_ROUNDS 30
/* CG gives up when its residual max_S |rhs_c - s_c| grows past this factor
 * of the least it has reached: preconditioned CG's residual is not monotone,
 * but on a consistent system it does not grow tenfold; on an inconsistent one
 * (S holds a dependent inequality that is slack at the solution) it grows
 * without bound.  Without progress before (the least residual above
 * AC_QP_POLISH_CG_PROGRESS times the first) the polish is abandoned, a few
 * dozen CG iterations rather than AC_QP_POLISH_MAX_CG; after progress the
 * least-residual iterate is kept, rounding having caught up with an
 * ill-conditioned G_SS. */
#define AC_QP_POLISH_CG_GROWTH 10.0
#define AC_QP_POLISH_CG_PROGRESS 1e-3
/* Loose solves: while S is still changing, a round's CG stops when its
 * residual has fallen by this factor (or to the final tolerance); only a set
 * that no round changes is solved to AC_QP_POLISH_CG_TOL eps.  Whether a
 * constraint joins or leaves S is decided against the tolerance the round
 * reached.  At K = d = 128 this halves the CG iterations of a polish. */
#define AC_QP_POLISH_CG_REL 1e-3
/* ... but only for problems of at least this many constraints: on smaller
 * ones CG ends in a few iterations and the extra round a loose solve can
 * cost is more than it saves (20 us paper-sized solves stay 20 us). */
#define AC_QP_POLISH_LOOSE_MIN 256
/* Problems of at most this many constraints get the direct methods: the
 * polish's solve on S where CG stalls or diverges, the monotone active-set
 * method when the polish's rounds do not settle, and the null-space
 * projection of a certificate candidate (supports up to this size).  Both form G_SS entry by entry and take its eigendecomposition
 * (rank cut at |S| DBL_EPSILON of the largest eigenvalue): exact to rounding
 * whatever the conditioning (nearly parallel constraints from dependent
 * rows, d = 2: condition numbers past 1e12, where CG stalls or cycles).
 * dsyev costs about 9 |S|^3 flops (128: 2e7, a few CG iterations at K =
 * 128) and the workspace |S|^2 doubles (128 KiB). */
#define AC_QP_DIRECT_MAX 128
/* A constraint off S joins it only when the polish point violates it by more
 * than this fraction of eps_v (the stopping test's tolerance, at that
 * point): a smaller violation is accepted by the test anyway, and on an
 * ill-conditioned S (dependent rows) it is the rounding of a large x, whose
 * addition made the active set cycle (AC_TEST_MULTIPLIER=20 case 474).  Half,
 * so that the rebuilt residuals keep a factor 2 to the test. */
#define AC_QP_POLISH_ADD_FRAC 0.5
/* Steps of the small-problem active-set method (qp.c, active_set_solve)
 * per constraint: each step frees or freezes one constraint and f never
 * decreases, so a handful of passes over the constraints is ample; the cap
 * only stops a degenerate cycle. */
#define AC_QP_ACTIVE_SET_ITERS 8
/* Iterative-refinement steps of that method's solve on F (qp.c,
 * refine_on_f): each gains a factor of about cond(G_FF) DBL_EPSILON, so two
 * take a solve with cond up to ~1e8 to rounding; a step that does not lower
 * the residual ends it. */
#define AC_QP_REFINE_STEPS 2
/* Columns k of U per group of a sweep: after each block, the other columns
 * of its group are caught up at once (axpy loops, as before groups), and
 * the columns outside the group once at the group's end by one dgemm of
 * q x p x AC_QP_SWEEP_GROUP; the iterates are those of the ungrouped sweep
 * up to rounding.  At the paper's sizes (q <= 16) a sweep is one group and
 * no dgemm is called.  16: the dgemm's inner dimension long enough for
 * OpenBLAS's kernel, the axpy catch-up inside a group (2 p q
 * AC_QP_SWEEP_GROUP flops a sweep) under a sixth of what the level-1
 * catch-up of all columns cost at q = 128. */
#define AC_QP_SWEEP_GROUP 16

typedef enum {
    AC_QP_UNSOLVED = 0,      /* no test yet, or the problem was rejected */
    AC_QP_SOLVED,            /* the stopping test above holds */
    AC_QP_SOLVED_INACCURATE, /* max_sweeps reached; the test holds with sqrt(eps) for eps */
    AC_QP_INFEASIBLE,        /* certificate found: info.cert_* describe it */
    AC_QP_MAX_ITER,          /* max_sweeps reached, residuals above sqrt(eps) */
    AC_QP_NUMERICAL_ERROR    /* a non-finite multiplier or constraint value appeared */
} ac_qp_status;

/* Human-readable name of a solve status ("solved", "infeasible", ...);
 * "unknown" outside the list. */
const char *ac_qp_status_str(ac_qp_status s);

/* Settings, each with its default above.  Fill with ac_qp_settings_default,
 * then change fields by name; ac_qp_check_settings names a bad one. */
typedef struct {
    double eps;          /* KKT tolerance (absolute; see AC_QP_EPS_DEFAULT), finite, > 0 */
    double eps_infeas;   /* infeasibility certificate tolerance, finite, > 0 */
    long max_sweeps;     /* sweep limit, >= 0 */
    int check_every;     /* run the KKT test every this many sweeps, >= 1 */
    int polish;          /* 1: try the active-set polish (above), 0: sweeps only */
    long cert_min_sweeps; /* first sweep at which the certificate is tested, >= 0 */
    double polish_start; /* first polish when prim_res <= this, finite, > 0 */
    long polish_sweeps;  /* ... or at this sweep (then AC_QP_POLISH_SWEEP_GROWTH), >= 1 */
} ac_qp_settings;

/* The defaults: AC_QP_EPS_DEFAULT, AC_QP_EPS_INFEAS_DEFAULT,
 * AC_QP_MAX_SWEEPS_DEFAULT, AC_QP_CHECK_EVERY_DEFAULT, polish 1,
 * AC_QP_CERT_MIN_SWEEPS_DEFAULT, AC_QP_POLISH_START_DEFAULT,
 * AC_QP_POLISH_SWEEPS_DEFAULT. */
void ac_qp_settings_default(ac_qp_settings *s);

/* Problem data; every array is borrowed for the lifetime of the solve (from
 * ac_qp_set to the last ac_qp_test); none is written.  Constraints may come in
 * any order (the solver sorts a permutation by k) and may repeat or be
 * linearly dependent (a singular dual Gram matrix is fine). */
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
    double obj;          /* ½ ||W||_F^2 = ½ <Lam, GL Lam GR> */
    double dual_obj;     /* rhs^T lambda - ½ ||W||_F^2 */
    int n_active;        /* constraints with lambda_c != 0 */
    double lambda_max;   /* max_c |lambda_c|, the scale of the complementarity test */
    double value_scale;  /* max_c ||A_c||_F ||W||_F >= max_c |s_c|: the scale of the tests */
    int n_polish;        /* polishes accepted (0 when settings.polish = 0) */
    /* Infeasibility certificate (status AC_QP_INFEASIBLE): y = the sweep
     * difference or the active-set ray described above, with cert_support
     * nonzero entries;
     * cert_residual is ||sum y_c A_c||_F / (rhs^T y), the last one computed
     * (0 when none was).  ac_qp_certificate copies y out. */
    int cert_support;
    double cert_residual;
} ac_qp_info;

typedef struct ac_qp_workspace ac_qp_workspace;

/* Workspace for problems with GL at most p x p, GR at most q x q and at most m
 * constraints (sizes >= 0; 0 is allowed).  NULL on allocation failure or a
 * negative size.  Memory: O(m + p^2 + q^2 + p q) doubles. */
ac_qp_workspace *ac_qp_alloc(int p, int q, int m);
/* NULL is a no-op. */
void ac_qp_free(ac_qp_workspace *w);

/* Check the settings against the ranges in ac_qp_settings.  AC_OK, or
 * AC_EINVAL with the sentence naming the setting, its value and its range
 * in msg (may be NULL). */
ac_status ac_qp_check_settings(const ac_qp_settings *set, ac_msg *msg);

/* Check the problem: sizes >= 0 and within the workspace's (AC_ESIZE), arrays
 * non-NULL where their size is positive, GL and GR finite with nonnegative
 * diagonals and symmetric (AC_QP_SYM_REL), indices in range, b_c != a_c,
 * is_eq in {0, 1}, rhs finite, and no constraint with A_c = 0
 * (AC_QP_ZERO_REL; the message names the constraint index).  Returns AC_OK or
 * AC_EINVAL / AC_ESIZE with the sentence in msg (may be NULL).  It does not
 * test positive semidefiniteness or feasibility. */
ac_status ac_qp_check(const ac_qp_workspace *w, const ac_qp_problem *prob, ac_msg *msg);

/* Check prob and set (as the two check functions; set NULL means the
 * defaults), borrow prob, copy set, and
 * reset the iterate to lambda = 0, sweeps = 0, status AC_QP_UNSOLVED.  Returns
 * AC_OK, the check's status, or AC_ELAPACK when the eigendecomposition of GL
 * or GR failed; on error the workspace holds no problem (iterate and test
 * refuse to run). */
ac_status ac_qp_set(ac_qp_workspace *w, const ac_qp_problem *prob, const ac_qp_settings *set, ac_msg *msg);
/* One sweep over all constraints.  AC_OK, or AC_EINVAL with the sentence in
 * msg (may be NULL) when no problem is set (ac_qp_set not called, or it
 * failed).  A non-finite value it produces is reported by the next
 * ac_qp_test. */
ac_status ac_qp_iterate(ac_qp_workspace *w, ac_msg *msg);
/* Rebuild Lam and U from lambda, recompute the residuals, fill info (may be
 * NULL), and
 * decide: returns 1 when the solve has ended (info->status solved,
 * infeasible, numerical error, or, once sweeps >= max_sweeps, solved
 * inaccurate or max iter), 0 to go on (info->status AC_QP_UNSOLVED).  Each
 * call advances the infeasibility test (lambda_prev := lambda at the
 * checkpoints described above).  Returns 1
 * with AC_QP_UNSOLVED when no problem is set. */
int ac_qp_test(ac_qp_workspace *w, ac_qp_info *info);

/* set, then test / check_every sweeps / test ... until an ending; the first
 * test runs before any sweep (lambda = 0 solves a problem whose constraints
 * all hold at W = 0).  AC_OK whenever the solve ran, whatever info->status
 * says; an error status (and info->status AC_QP_UNSOLVED) only for bad input
 * or a failed factorisation.  info (may be NULL) is filled on every return;
 * set NULL means the defaults. */
ac_status ac_qp_solve(ac_qp_workspace *w, const ac_qp_problem *prob, const ac_qp_settings *set,
                      ac_qp_info *info, ac_msg *msg);

/* Results of the last solve (the current iterate): lambda (m), Lam (p x q,
 * row-major, rebuilt from lambda, so exactly consistent with it).  Either may
 * be NULL; neither may alias the problem's arrays.  Writes nothing when no
 * problem is set. */
void ac_qp_solution(const ac_qp_workspace *w, double *lambda, double *Lam);

/* The infeasibility certificate y (m entries, zero where not in the support).
 * Meaningful only when info.status == AC_QP_INFEASIBLE; zeros otherwise.
 * Writes nothing when no problem is set. */
void ac_qp_certificate(const ac_qp_workspace *w, double *y);

#endif
