/* Minimum-norm matrix under pairwise bilinear constraints: Hildreth's dual
 * coordinate ascent (spec tpg_svm §3.1 for the problem, §7 for the method).
 *
 * The iterate is the multiplier vector lambda.  Two p x q matrices follow it:
 * Lam (lambda scattered to (a_c, k_c) and (b_c, k_c)) and U = GL Lam GR,
 * whose entries give every constraint value, s_c = U[a_c,k_c] - U[b_c,k_c].
 * Both are stored transposed (q x p: LamT[k*p + j] = Lam[j,k]) so that the
 * column U[:,k] a block works on is one contiguous row.
 *
 * Block structure.  The constraints are visited grouped by k.  A step on
 * constraint c (column k) changes Lam only in column k, by delta_c at a_c and
 * -delta_c at b_c, so U changes by
 *     dU = (GL (e_a - e_b) delta_c) (GR[k,:]),
 * a rank-one update.  Inside the block only column k of U is read, so the
 * step updates U[:,k] alone (O(p): GR[k,k] delta_c (GL[:,a] - GL[:,b])) and
 * accumulates the block's change D of Lam[:,k]; at the end of the block the
 * other columns of its group (AC_QP_SWEEP_GROUP consecutive k) catch up at
 * once, U[:,k'] += (GL D) GR[k,k'] (O(p^2 + p AC_QP_SWEEP_GROUP)), and at
 * the end of the group the columns outside it catch up for all its blocks
 * in one dgemm (GL D of each block kept as a row of gd); a column is thus
 * current whenever its block starts.  The result is the same Gauss-Seidel
 * sweep as the plain method, at O(m p + q p^2 + q^2 p) a sweep instead of
 * O(m p q), the q^2 p part at level-3 speed.
 *
 * The running U drifts by rounding; every test rebuilds Lam from lambda and U
 * from Lam (two dgemm) and restarts from the rebuilt values. */
#include "solvers/qp.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ac_qp_workspace {
    int p_max, q_max, m_max;   /* capacity */
    int have_prob;             /* a problem passed ac_qp_set */
    int have_factors;          /* FL, FR hold the Gram factors of prob */
    ac_qp_problem prob;        /* borrowed arrays */
    ac_qp_settings set;
    int *perm;                 /* m_max: constraint indices sorted by k (stable) */
    int *kstart;               /* q_max + 1: block k is perm[kstart[k] .. kstart[k+1]) */
    double *gcc;               /* m_max: G_cc = ||A_c||_F^2 */
    double *lambda;            /* m_max: the iterate */
    double *lambda_prev;       /* m_max: lambda at the last checkpoint */
    long prev_sweep;           /* sweeps at the last checkpoint */
    double *y;                 /* m_max: last certificate candidate */
    double *LamT;              /* q_max x p_max, running Lam^T */
    double *Ut;                /* q_max x p_max, running U^T */
    double *T1, *T2;           /* q_max x p_max scratch */
    double *dlam;              /* p_max: the block's change D of Lam[:,k] */
    double *gd;                /* AC_QP_SWEEP_GROUP x p_max: GL D of each block of a group */
    double *FL, *FR;           /* GL = FL FL^T (p x p), GR = FR FR^T (q x q) */
    double *cx, *cr, *cz, *cp, *cq; /* m_max each: polish CG vectors */
    double *lam_save;          /* m_max: lambda kept while a polish is tried */
    double *cbest;             /* m_max: the CG iterate of least residual */
    double *pbest;             /* m_max: the polish round of least violation */
    double *ray;               /* m_max: the unbounded dual ray active_set_solve met */
    int have_ray;              /* ray holds one from this test's active_set_solve */
    int n_direct;              /* min(m_max, AC_QP_DIRECT_MAX) */
    double *gss, *gev;         /* n_direct^2 and n_direct: a G_SS and its eigenvalues */
    double *gy;                /* n_direct: its right-hand side, then solution */
    int *sidx;                 /* n_direct: the constraints of S */
    double *gwork;             /* dsyev's workspace */
    int n_gwork;
    unsigned char *on;         /* m_max: constraint in the polish active set */
    double polish_next;        /* polish when prim_res falls to this, */
    long polish_sweep;         /* or when sweeps reach this */
    int n_polish;              /* polishes accepted */
    double *eig;               /* max(p_max, q_max) eigenvalues */
    long sweeps;
    int nonfinite;             /* a step produced a non-finite value */
    int infeas_hits;           /* consecutive tests whose certificate passed */
    ac_qp_status status;
    int cert_support;
    double cert_residual;
};

static const char *const status_names[] = {
    "unsolved", "solved", "solved inaccurately", "infeasible", "sweep limit reached",
    "numerical error",
};

const char *ac_qp_status_str(ac_qp_status s)
{
    if ((int)s < 0 || (size_t)s >= sizeof status_names / sizeof status_names[0])
        return "unknown";
    return status_names[s];
}

void ac_qp_settings_default(ac_qp_settings *s)
{
    s->eps = AC_QP_EPS_DEFAULT;
    s->eps_infeas = AC_QP_EPS_INFEAS_DEFAULT;
    s->max_sweeps = AC_QP_MAX_SWEEPS_DEFAULT;
    s->check_every = AC_QP_CHECK_EVERY_DEFAULT;
    s->polish = 1;
    s->cert_min_sweeps = AC_QP_CERT_MIN_SWEEPS_DEFAULT;
    s->polish_start = AC_QP_POLISH_START_DEFAULT;
    s->polish_sweeps = AC_QP_POLISH_SWEEPS_DEFAULT;
}

/* ---------------------------------------------------------------- memory */

/* calloc of n elements, never the NULL that malloc(0) may return. */
static void *zalloc(size_t n, size_t size)
{
    return calloc(n > 0 ? n : 1, size);
}

ac_qp_workspace *ac_qp_alloc(int p, int q, int m)
{
    if (p < 0 || q < 0 || m < 0)
        return NULL;
    ac_qp_workspace *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    size_t P = (size_t)p, Q = (size_t)q, M = (size_t)m;
    w->p_max = p;
    w->q_max = q;
    w->m_max = m;
    w->perm = zalloc(M, sizeof(int));
    w->kstart = zalloc(Q + 1, sizeof(int));
    w->gcc = zalloc(M, sizeof(double));
    w->lambda = zalloc(M, sizeof(double));
    w->lambda_prev = zalloc(M, sizeof(double));
    w->y = zalloc(M, sizeof(double));
    w->LamT = zalloc(P * Q, sizeof(double));
    w->Ut = zalloc(P * Q, sizeof(double));
    w->T1 = zalloc(P * Q, sizeof(double));
    w->T2 = zalloc(P * Q, sizeof(double));
    w->dlam = zalloc(P, sizeof(double));
    w->gd = zalloc((size_t)AC_QP_SWEEP_GROUP * P, sizeof(double));
    w->FL = zalloc(P * P, sizeof(double));
    w->FR = zalloc(Q * Q, sizeof(double));
    w->eig = zalloc(P > Q ? P : Q, sizeof(double));
    w->cx = zalloc(M, sizeof(double));
    w->cr = zalloc(M, sizeof(double));
    w->cz = zalloc(M, sizeof(double));
    w->cp = zalloc(M, sizeof(double));
    w->cq = zalloc(M, sizeof(double));
    w->on = zalloc(M, 1);
    w->lam_save = zalloc(M, sizeof(double));
    w->cbest = zalloc(M, sizeof(double));
    w->pbest = zalloc(M, sizeof(double));
    w->ray = zalloc(M, sizeof(double));
    w->n_direct = m < AC_QP_DIRECT_MAX ? m : AC_QP_DIRECT_MAX;
    w->gss = zalloc((size_t)w->n_direct * (size_t)w->n_direct, sizeof(double));
    w->gev = zalloc((size_t)w->n_direct, sizeof(double));
    w->gy = zalloc((size_t)w->n_direct, sizeof(double));
    w->sidx = zalloc((size_t)w->n_direct, sizeof(int));
    w->n_gwork = 3 * w->n_direct + 64 * w->n_direct; /* dsyev: >= 3n - 1; (NB + 2) n is optimal */
    w->gwork = zalloc((size_t)w->n_gwork, sizeof(double));
    if (!w->perm || !w->kstart || !w->gcc || !w->lambda || !w->lambda_prev || !w->y ||
        !w->LamT || !w->Ut || !w->T1 || !w->T2 || !w->dlam || !w->gd || !w->FL ||
        !w->FR || !w->eig || !w->cx || !w->cr || !w->cz || !w->cp || !w->cq || !w->on ||
        !w->lam_save || !w->cbest || !w->pbest || !w->ray || !w->gss || !w->gev || !w->gy || !w->sidx || !w->gwork) {
        ac_qp_free(w);
        return NULL;
    }
    return w;
}

void ac_qp_free(ac_qp_workspace *w)
{
    if (!w)
        return;
    free(w->perm);
    free(w->kstart);
    free(w->gcc);
    free(w->lambda);
    free(w->lambda_prev);
    free(w->y);
    free(w->LamT);
    free(w->Ut);
    free(w->T1);
    free(w->T2);
    free(w->dlam);
    free(w->gd);
    free(w->FL);
    free(w->FR);
    free(w->eig);
    free(w->cx);
    free(w->cr);
    free(w->cz);
    free(w->cp);
    free(w->cq);
    free(w->on);
    free(w->lam_save);
    free(w->cbest);
    free(w->pbest);
    free(w->ray);
    free(w->gss);
    free(w->gev);
    free(w->gy);
    free(w->sidx);
    free(w->gwork);
    free(w);
}

/* ---------------------------------------------------------------- checks */

ac_status ac_qp_check_settings(const ac_qp_settings *set, ac_msg *msg)
{
    if (!set)
        return ac_fail(msg, AC_EINVAL, "qp settings: NULL pointer");
    if (!isfinite(set->eps) || !(set->eps > 0.0))
        return ac_fail(msg, AC_EINVAL, "qp settings: eps = %.17g must be finite and > 0", set->eps);
    if (!isfinite(set->eps_infeas) || !(set->eps_infeas > 0.0))
        return ac_fail(msg, AC_EINVAL, "qp settings: eps_infeas = %.17g must be finite and > 0",
                       set->eps_infeas);
    if (set->max_sweeps < 0)
        return ac_fail(msg, AC_EINVAL, "qp settings: max_sweeps = %ld must be >= 0",
                       set->max_sweeps);
    if (set->check_every < 1)
        return ac_fail(msg, AC_EINVAL, "qp settings: check_every = %d must be >= 1",
                       set->check_every);
    if (set->polish != 0 && set->polish != 1)
        return ac_fail(msg, AC_EINVAL, "qp settings: polish = %d must be 0 or 1", set->polish);
    if (set->cert_min_sweeps < 0)
        return ac_fail(msg, AC_EINVAL, "qp settings: cert_min_sweeps = %ld must be >= 0",
                       set->cert_min_sweeps);
    if (!isfinite(set->polish_start) || !(set->polish_start > 0.0))
        return ac_fail(msg, AC_EINVAL, "qp settings: polish_start = %.17g must be finite and > 0",
                       set->polish_start);
    if (set->polish_sweeps < 1)
        return ac_fail(msg, AC_EINVAL, "qp settings: polish_sweeps = %ld must be >= 1",
                       set->polish_sweeps);
    return AC_OK;
}

/* A Gram matrix: finite, nonnegative diagonal, symmetric to AC_QP_SYM_REL. */
static ac_status check_gram(const double *G, int n, const char *name, ac_msg *msg)
{
    for (int i = 0; i < n * n; i++)
        if (!isfinite(G[i]))
            return ac_fail(msg, AC_EINVAL, "qp problem: %s[%d,%d] = %.17g is not finite", name,
                           i / n, i % n, G[i]);
    for (int i = 0; i < n; i++)
        if (G[i * n + i] < 0.0)
            return ac_fail(msg, AC_EINVAL,
                           "qp problem: %s[%d,%d] = %.17g is negative; a Gram diagonal is a "
                           "squared norm", name, i, i, G[i * n + i]);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) {
            double asym = fabs(G[i * n + j] - G[j * n + i]);
            double bound = AC_QP_SYM_REL * sqrt(G[i * n + i] * G[j * n + j]);
            if (asym > bound)
                return ac_fail(msg, AC_EINVAL,
                               "qp problem: %s is not symmetric: |%s[%d,%d] - %s[%d,%d]| = "
                               "%.17g exceeds %.17g", name, name, i, j, name, j, i, asym, bound);
        }
    return AC_OK;
}

/* G_cc = ||A_c||_F^2 = (GL[a,a] + GL[b,b] - 2 GL[a,b]) GR[k,k], and the scale
 * of the terms it cancels (AC_QP_ZERO_REL). */
static double constraint_gram(const ac_qp_problem *P, int c, double *scale)
{
    int a = P->a[c], b = P->b[c], k = P->k[c], p = P->p;
    double grk = P->GR[k * P->q + k];
    if (b < 0) {
        *scale = P->GL[a * p + a] * grk;
        return *scale;
    }
    double gaa = P->GL[a * p + a], gbb = P->GL[b * p + b], gab = P->GL[a * p + b];
    *scale = (gaa + gbb + 2.0 * fabs(gab)) * grk;
    return (gaa + gbb - 2.0 * gab) * grk;
}

static ac_status check_constraint(const ac_qp_problem *P, int c, ac_msg *msg)
{
    int a = P->a[c], b = P->b[c], k = P->k[c];
    if (a < 0 || a >= P->p)
        return ac_fail(msg, AC_EINVAL, "qp problem: constraint %d: a = %d is outside [0, %d)", c,
                       a, P->p);
    if (b < -1 || b >= P->p)
        return ac_fail(msg, AC_EINVAL,
                       "qp problem: constraint %d: b = %d is outside [0, %d) and not -1", c, b,
                       P->p);
    if (b == a)
        return ac_fail(msg, AC_EINVAL, "qp problem: constraint %d: b = a = %d", c, a);
    if (k < 0 || k >= P->q)
        return ac_fail(msg, AC_EINVAL, "qp problem: constraint %d: k = %d is outside [0, %d)", c,
                       k, P->q);
    if (P->is_eq[c] > 1)
        return ac_fail(msg, AC_EINVAL, "qp problem: constraint %d: is_eq = %d is not 0 or 1", c,
                       (int)P->is_eq[c]);
    if (!isfinite(P->rhs[c]))
        return ac_fail(msg, AC_EINVAL, "qp problem: constraint %d: rhs = %.17g is not finite", c,
                       P->rhs[c]);
    double scale, g = constraint_gram(P, c, &scale);
    if (!(g > AC_QP_ZERO_REL * scale))
        return ac_fail(msg, AC_EINVAL,
                       "qp problem: constraint %d (a = %d, b = %d, k = %d) has a zero matrix "
                       "A_c: ||A_c||^2 = %.17g against terms of size %.17g", c, a, b, k, g, scale);
    return AC_OK;
}

ac_status ac_qp_check(const ac_qp_workspace *w, const ac_qp_problem *prob, ac_msg *msg)
{
    if (!w || !prob)
        return ac_fail(msg, AC_EINVAL, "qp problem: NULL %s", w ? "problem" : "workspace");
    const ac_qp_problem *P = prob;
    if (P->p < 0 || P->q < 0 || P->m < 0)
        return ac_fail(msg, AC_ESIZE, "qp problem: negative size (p = %d, q = %d, m = %d)", P->p,
                       P->q, P->m);
    if (P->p > w->p_max || P->q > w->q_max || P->m > w->m_max)
        return ac_fail(msg, AC_ESIZE,
                       "qp problem: sizes p = %d, q = %d, m = %d exceed the workspace's "
                       "p = %d, q = %d, m = %d", P->p, P->q, P->m, w->p_max, w->q_max, w->m_max);
    if ((P->p > 0 && !P->GL) || (P->q > 0 && !P->GR))
        return ac_fail(msg, AC_EINVAL, "qp problem: NULL Gram matrix %s", P->GL ? "GR" : "GL");
    if (P->m > 0 && (!P->a || !P->b || !P->k || !P->is_eq || !P->rhs))
        return ac_fail(msg, AC_EINVAL, "qp problem: NULL constraint array with m = %d", P->m);
    ac_status st = check_gram(P->GL, P->p, "GL", msg);
    if (st == AC_OK)
        st = check_gram(P->GR, P->q, "GR", msg);
    for (int c = 0; c < P->m && st == AC_OK; c++)
        st = check_constraint(P, c, msg);
    return st;
}

/* ------------------------------------------------------------------ set */

/* F (n x n) with G = F F^T up to rounding: F = V diag(sqrt(w_j)) from
 * G = V diag(w) V^T (dsyev), with the eigenvalues w_j <= n DBL_EPSILON w_max
 * set to 0 (the numerical-rank cut of dgelss).  Those are the rounding of a
 * PSD matrix's zero eigenvalues, and their square roots, of order
 * sqrt(DBL_EPSILON w_max), would otherwise floor the certificate norm of a
 * rank-deficient problem at about 1e-8 (the very floor the factors are there
 * to avoid). */
static ac_status gram_factor(const double *G, int n, double *F, double *ev)
{
    if (n == 0)
        return AC_OK;
    memcpy(F, G, sizeof(double) * (size_t)n * (size_t)n);
    if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', n, F, n, ev) != 0)
        return AC_ELAPACK;
    double cut = n * DBL_EPSILON * ev[n - 1]; /* dsyev sorts ascending */
    for (int j = 0; j < n; j++) {
        double s = ev[j] > cut ? sqrt(ev[j]) : 0.0;
        for (int i = 0; i < n; i++)
            F[i * n + j] *= s;
    }
    return AC_OK;
}

/* Counting sort of the constraints by k (stable). */
static void sort_by_k(ac_qp_workspace *w)
{
    const ac_qp_problem *P = &w->prob;
    int *start = w->kstart;
    memset(start, 0, sizeof(int) * ((size_t)P->q + 1));
    for (int c = 0; c < P->m; c++)
        start[P->k[c] + 1]++;
    for (int k = 0; k < P->q; k++)
        start[k + 1] += start[k];
    /* fill using start[k] as a cursor, then shift the cursors back */
    for (int c = 0; c < P->m; c++)
        w->perm[start[P->k[c]]++] = c;
    for (int k = P->q; k > 0; k--)
        start[k] = start[k - 1];
    start[0] = 0;
}

ac_status ac_qp_set(ac_qp_workspace *w, const ac_qp_problem *prob, const ac_qp_settings *set,
                    ac_msg *msg)
{
    if (w)
        w->have_prob = 0;
    ac_qp_settings def;
    if (!set) {
        ac_qp_settings_default(&def);
        set = &def;
    }
    ac_status st = ac_qp_check_settings(set, msg);
    if (st == AC_OK)
        st = ac_qp_check(w, prob, msg);
    if (st != AC_OK)
        return st;
    w->prob = *prob;
    w->set = *set;
    const ac_qp_problem *P = &w->prob;
    size_t M = (size_t)P->m, PQ = (size_t)P->p * (size_t)P->q;
    w->have_factors = 0; /* coeff_norm factors the Grams when it is first needed */
    sort_by_k(w);
    for (int c = 0; c < P->m; c++) {
        double scale;
        w->gcc[c] = constraint_gram(P, c, &scale);
    }
    memset(w->lambda, 0, sizeof(double) * M);
    memset(w->lambda_prev, 0, sizeof(double) * M);
    w->prev_sweep = 0;
    memset(w->y, 0, sizeof(double) * M);
    memset(w->LamT, 0, sizeof(double) * PQ);
    memset(w->Ut, 0, sizeof(double) * PQ);
    w->sweeps = 0;
    w->nonfinite = 0;
    w->infeas_hits = 0;
    w->status = AC_QP_UNSOLVED;
    w->cert_support = 0;
    w->cert_residual = 0.0;
    w->polish_next = set->polish_start;
    w->polish_sweep = set->polish_sweeps;
    w->n_polish = 0;
    w->have_ray = 0;
    w->have_prob = 1;
    return AC_OK;
}

/* -------------------------------------------------------------- iterate */

/* y += alpha x over n entries.  A plain loop, not cblas_daxpy: the sweep
 * calls it once per constraint, and for the Graph-SVM's p of 6 to 128 the
 * call overhead of the BLAS routine was most of the sweep (callgrind at the
 * paper's sizes).  Written in blocks of AXPY_UNROLL with a constant trip
 * count, which -O2's straight-line (SLP) vectoriser turns into vector
 * instructions; its loop vectoriser (-O3) is off at -O2 and left the plain
 * loop scalar.  Rounding is that of the plain loop. */
#define AXPY_UNROLL 8
static void axpy(int n, double alpha, const double *restrict x, double *restrict y)
{
    int i = 0;
    for (; i + AXPY_UNROLL <= n; i += AXPY_UNROLL)
        for (int j = 0; j < AXPY_UNROLL; j++)
            y[i + j] += alpha * x[i + j];
    for (; i < n; i++)
        y[i] += alpha * x[i];
}

/* y += alpha (x1 - x2): both rows of a difference constraint in one pass
 * over y (half the loads and stores of two axpy). */
static void axpy_diff(int n, double alpha, const double *restrict x1, const double *restrict x2,
                      double *restrict y)
{
    int i = 0;
    for (; i + AXPY_UNROLL <= n; i += AXPY_UNROLL)
        for (int j = 0; j < AXPY_UNROLL; j++)
            y[i + j] += alpha * (x1[i + j] - x2[i + j]);
    for (; i < n; i++)
        y[i] += alpha * (x1[i] - x2[i]);
}

/* Hildreth steps over the constraints of column k, then the catch-up of the
 * other columns of its group [g0, g1) (see the top of this file); gd
 * (p, zeroed by the caller) receives GL D for the catch-up of the columns
 * outside the group, which ac_qp_iterate makes at the group's end. */
static void sweep_block(ac_qp_workspace *w, int k, int g0, int g1, double *restrict gd)
{
    const ac_qp_problem *P = &w->prob;
    const int p = P->p, q = P->q;
    const double grk = P->GR[k * q + k];
    double *u = w->Ut + (size_t)k * p, *lam = w->LamT + (size_t)k * p, *D = w->dlam;
    int changed = 0;

    memset(D, 0, sizeof(double) * (size_t)p);
    for (int i = w->kstart[k]; i < w->kstart[k + 1]; i++) {
        int c = w->perm[i], a = P->a[c], b = P->b[c];
        double s = b >= 0 ? u[a] - u[b] : u[a];
        double old = w->lambda[c];
        /* lambda_c <- lambda_c + (rhs_c - s_c) / G_cc, clipped for inequalities */
        double nu = old + (P->rhs[c] - s) / w->gcc[c];
        if (!P->is_eq[c] && nu < 0.0)
            nu = 0.0;
        double step = nu - old;
        if (step == 0.0)
            continue;
        if (!isfinite(step))
            w->nonfinite = 1;
        w->lambda[c] = nu;
        changed = 1;
        /* U[:,k] += GR[k,k] step (GL[:,a] - GL[:,b]); GL symmetric, so rows */
        lam[a] += step;
        D[a] += step;
        if (b >= 0) {
            lam[b] -= step;
            D[b] -= step;
            axpy_diff(p, grk * step, P->GL + (size_t)a * p, P->GL + (size_t)b * p, u);
        } else {
            axpy(p, grk * step, P->GL + (size_t)a * p, u);
        }
    }
    if (!changed || q == 1)
        return;
    /* U[:,k'] += (GL D) GR[k,k'] for k' != k in the group.  D is nonzero
     * only at the tokens the block touched, so GL D is a sum of those rows
     * of GL (GL is symmetric); loops rather than dgemv/dger, whose call
     * overhead (and, for dsymv, OpenBLAS's threading at any size) was most
     * of a paper-size sweep by callgrind. */
    for (int j = 0; j < p; j++)
        if (D[j] != 0.0)
            axpy(p, D[j], P->GL + (size_t)j * p, gd);
    for (int kk = g0; kk < g1; kk++) {
        double g = P->GR[(size_t)k * q + kk];
        if (kk != k && g != 0.0)
            axpy(p, g, gd, w->Ut + (size_t)kk * p);
    }
}

/* U^T[r0..r1) += GR[r0..r1, g0..g1) GD: the catch-up of the columns outside
 * the group [g0, g1) for the blocks' GL D in GD (rows g0..g1), one dgemm
 * (GR symmetric: GR[kk, k] = GR[k, kk]). */
static void group_catch_up(ac_qp_workspace *w, int g0, int g1, int r0, int r1)
{
    const ac_qp_problem *P = &w->prob;
    if (r1 > r0 && P->p > 0)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, P->p, g1 - g0, 1.0,
                    P->GR + (size_t)r0 * P->q + g0, P->q, w->gd, P->p, 1.0,
                    w->Ut + (size_t)r0 * P->p, P->p);
}

ac_status ac_qp_iterate(ac_qp_workspace *w, ac_msg *msg)
{
    if (!w)
        return ac_fail(msg, AC_EINVAL, "qp iterate: NULL workspace");
    if (!w->have_prob)
        return ac_fail(msg, AC_EINVAL,
                       "qp iterate: no problem is set (ac_qp_set was not called or failed)");
    const int p = w->prob.p, q = w->prob.q;
    for (int g0 = 0; g0 < q; g0 += AC_QP_SWEEP_GROUP) {
        int g1 = g0 + AC_QP_SWEEP_GROUP < q ? g0 + AC_QP_SWEEP_GROUP : q;
        memset(w->gd, 0, sizeof(double) * (size_t)(g1 - g0) * (size_t)p);
        for (int k = g0; k < g1; k++)
            if (w->kstart[k + 1] > w->kstart[k])
                sweep_block(w, k, g0, g1, w->gd + (size_t)(k - g0) * p);
        if (g1 - g0 < q) {
            group_catch_up(w, g0, g1, 0, g0);
            group_catch_up(w, g0, g1, g1, q);
        }
    }
    w->sweeps++;
    return AC_OK;
}

/* ----------------------------------------------------------------- test */

/* OutT (q x p) = the transpose of the coefficient matrix of the vector v:
 * +v_c at (a_c, k_c), -v_c at (b_c, k_c). */
static void scatter_coeffs(const ac_qp_problem *P, const double *v, double *OutT)
{
    memset(OutT, 0, sizeof(double) * (size_t)P->p * (size_t)P->q);
    for (int c = 0; c < P->m; c++) {
        double *col = OutT + (size_t)P->k[c] * P->p;
        col[P->a[c]] += v[c];
        if (P->b[c] >= 0)
            col[P->b[c]] -= v[c];
    }
}

/* Ut = (GL Lam GR)^T = GR LamT GL (GL, GR symmetric), through T1. */
static void rebuild_u(ac_qp_workspace *w)
{
    const ac_qp_problem *P = &w->prob;
    int p = P->p, q = P->q;
    if (p == 0 || q == 0)
        return;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q, p, q, 1.0, P->GR, q, w->LamT, p,
                0.0, w->T1, p);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q, p, p, 1.0, w->T1, p, P->GL, p, 0.0,
                w->Ut, p);
}

/* The value of constraint c from the transposed U (q x p). */
static double cons_value(const ac_qp_problem *P, const double *UT, int c)
{
    const double *u = UT + (size_t)P->k[c] * P->p;
    return P->b[c] >= 0 ? u[P->a[c]] - u[P->b[c]] : u[P->a[c]];
}

/* The KKT residuals of the header from the rebuilt U (prim, dual, compl),
 * rhs^T lambda, the active count; returns 0 when a value is not finite. */
static int kkt_residuals(const ac_qp_workspace *w, ac_qp_info *info, double *rhs_lambda)
{
    const ac_qp_problem *P = &w->prob;
    double prim = 0.0, dual = 0.0, compl = 0.0, rl = 0.0, lmax = 0.0, gmax = 0.0;
    int active = 0, finite = 1;
    for (int c = 0; c < P->m; c++) {
        double s = cons_value(P, w->Ut, c);
        double r = s - P->rhs[c], lc = w->lambda[c];
        gmax = fmax(gmax, w->gcc[c]);
        if (!isfinite(s) || !isfinite(lc))
            finite = 0;
        if (P->is_eq[c]) {
            prim = fmax(prim, fabs(r));
        } else {
            prim = fmax(prim, -r);
            dual = fmax(dual, -lc);
            compl = fmax(compl, fabs(lc * r));
        }
        rl += P->rhs[c] * lc;
        active += lc != 0.0;
        lmax = fmax(lmax, fabs(lc));
    }
    info->lambda_max = lmax;
    /* ||W||_F^2 = <Lam, U>; rounding can make it slightly negative */
    double wn2 = 0.0;
    size_t PQ = (size_t)P->p * (size_t)P->q;
    if (PQ > 0)
        wn2 = cblas_ddot((int)PQ, w->LamT, 1, w->Ut, 1);
    info->obj = 0.5 * wn2;
    info->value_scale = sqrt(gmax) * sqrt(fmax(wn2, 0.0));
    info->prim_res = prim;
    info->dual_res = dual;
    info->compl_res = compl;
    info->n_active = active;
    *rhs_lambda = rl;
    return finite;
}

/* ||FL^T Y FR||_F for the q x p matrix YT = Y^T: = ||sum_c y_c A_c||_F.
 * YT may be T1 (it is read before T1 is written). */
static double coeff_norm(ac_qp_workspace *w, const double *YT)
{
    const ac_qp_problem *P = &w->prob;
    int p = P->p, q = P->q;
    if (p == 0 || q == 0)
        return 0.0;
    /* Factored on first use: most solves never test a certificate, and on
     * small problems the two dsyev cost more than the whole solve. */
    if (!w->have_factors) {
        if (gram_factor(P->GL, p, w->FL, w->eig) != AC_OK || gram_factor(P->GR, q, w->FR, w->eig) != AC_OK)
            return NAN; /* fails the certificate test: no infeasibility claimed */
        w->have_factors = 1;
    }
    /* (FL^T Y FR)^T = FR^T YT FL */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, q, p, p, 1.0, YT, p, w->FL, p, 0.0,
                w->T2, p);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, q, p, q, 1.0, w->FR, q, w->T2, p, 0.0,
                w->T1, p);
    return cblas_dnrm2(p * q, w->T1, 1);
}

/* G_cc' = <A_c, A_c'> = (GL[a,a'] - GL[a,b'] - GL[b,a'] + GL[b,b']) GR[k,k']
 * (terms with b = -1 left out). */
static double dual_gram(const ac_qp_problem *P, int c, int e)
{
    int p = P->p, a = P->a[c], b = P->b[c], a2 = P->a[e], b2 = P->b[e];
    double g = P->GL[a * p + a2];
    if (b2 >= 0)
        g -= P->GL[a * p + b2];
    if (b >= 0) {
        g -= P->GL[b * p + a2];
        if (b2 >= 0)
            g += P->GL[b * p + b2];
    }
    return g * P->GR[P->k[c] * P->q + P->k[e]];
}

/* Refine a certificate candidate y whose support has at most n_direct
 * constraints: project y onto the null space of G over its support (the
 * eigenvectors of G_SS with eigenvalues <= |S| DBL_EPSILON w_max, the cut of
 * gram_factor), then clip inequality entries below 0.  A sweep difference
 * of an infeasible problem is the certificate direction plus the change of
 * W between the checkpoints; when W settles slowly (nearly parallel
 * constraints) that change keeps the raw ratio far above eps_infeas for
 * 10^5 sweeps, and the projection removes it.  Returns 1 when y was
 * replaced (the caller recomputes rhs^T y and the residual from it, so the
 * test stays the header's), 0 when the support is too large or dsyev failed. */
static int refine_certificate(ac_qp_workspace *w)
{
    const ac_qp_problem *P = &w->prob;
    int n = 0;
    for (int c = 0; c < P->m; c++)
        if (w->y[c] != 0.0) {
            if (n == w->n_direct)
                return 0;
            w->sidx[n++] = c;
        }
    if (n == 0)
        return 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j <= i; j++)
            w->gss[i * n + j] = w->gss[j * n + i] = dual_gram(P, w->sidx[i], w->sidx[j]);
    if (LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'V', 'U', n, w->gss, n, w->gev, w->gwork, w->n_gwork) != 0)
        return 0;
    double cut = n * DBL_EPSILON * w->gev[n - 1];
    /* gy = V0^T y over the null eigenvectors (columns j with w_j <= cut) */
    for (int j = 0; j < n; j++) {
        double t = 0.0;
        if (w->gev[j] <= cut)
            for (int i = 0; i < n; i++)
                t += w->gss[j * n + i] * w->y[w->sidx[i]];
        w->gy[j] = t;
    }
    for (int i = 0; i < n; i++) {
        double t = 0.0;
        for (int j = 0; j < n; j++)
            t += w->gss[j * n + i] * w->gy[j];
        int c = w->sidx[i];
        w->y[c] = !P->is_eq[c] && t < 0.0 ? 0.0 : t;
    }
    return 1;
}

/* The infeasibility test of the header on y = lambda - lambda_prev; returns
 * 1 when it passes, writes the ratio (0 when rhs^T y <= 0). */
/* rhs^T y and the support of w->y; 0 when rhs^T y is not above its own
 * rounding (AC_QP_CERT_RHS_REL): a cancellation, not a certificate. */
static int certificate_rhs(ac_qp_workspace *w, double *rty)
{
    const ac_qp_problem *P = &w->prob;
    double r = 0.0, mag = 0.0;
    int support = 0;
    for (int c = 0; c < P->m; c++) {
        r += P->rhs[c] * w->y[c];
        mag += fabs(P->rhs[c] * w->y[c]);
        support += w->y[c] != 0.0;
    }
    w->cert_support = support;
    *rty = r;
    return r > AC_QP_CERT_RHS_REL * mag;
}

static int certificate_passes(ac_qp_workspace *w, double *ratio)
{
    const ac_qp_problem *P = &w->prob;
    double ymax = 0.0, rty;
    *ratio = 0.0;
    for (int c = 0; c < P->m; c++) {
        double yc = w->lambda[c] - w->lambda_prev[c];
        if (!P->is_eq[c] && yc < 0.0)
            yc = 0.0;
        w->y[c] = yc;
        ymax = fmax(ymax, fabs(yc));
    }
    for (int c = 0; c < P->m; c++)
        if (fabs(w->y[c]) <= AC_QP_CERT_DROP * ymax)
            w->y[c] = 0.0;
    if (!certificate_rhs(w, &rty))
        return 0;
    scatter_coeffs(P, w->y, w->T1);
    *ratio = coeff_norm(w, w->T1) / rty;
    if (*ratio <= w->set.eps_infeas || !refine_certificate(w))
        return *ratio <= w->set.eps_infeas;
    /* the refined y, checked as the raw one was */
    if (!certificate_rhs(w, &rty))
        return 0;
    scatter_coeffs(P, w->y, w->T1);
    *ratio = coeff_norm(w, w->T1) / rty;
    return *ratio <= w->set.eps_infeas;
}

/* out_c = s_c(v) = <A_c, sum_c' v_c' A_c'> = (G v)_c for every c: the dual
 * Gram matrix applied through GL and GR (scatter, two dgemm, gather). */
static void gram_apply(ac_qp_workspace *w, const double *v, double *out)
{
    const ac_qp_problem *P = &w->prob;
    scatter_coeffs(P, v, w->T1);
    if (P->p > 0 && P->q > 0) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P->q, P->p, P->q, 1.0, P->GR,
                    P->q, w->T1, P->p, 0.0, w->T2, P->p);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P->q, P->p, P->p, 1.0, w->T2,
                    P->p, P->GL, P->p, 0.0, w->T1, P->p);
    }
    for (int c = 0; c < P->m; c++)
        out[c] = cons_value(P, w->T1, c);
}

/* Jacobi-preconditioned conjugate gradients on G_SS x = rhs_S over the set
 * S = w->on, from x = w->cx (zero off S), leaving r = rhs - G x on S in
 * w->cr.  G_SS is positive semidefinite and may be singular (repeated or
 * dependent constraints); CG still converges on the consistent system it
 * gets when S is the optimal active set.  Stops when max_S |r_c| <= tol_used
 * = max(AC_QP_POLISH_CG_TOL eps, rel |r at start|) and returns CG_DONE; or
 * returns CG_PARTIAL with x usable and tol_used the residual reached (the
 * residual grew after progress, see AC_QP_POLISH_CG_GROWTH; the iteration
 * cap; a direction in the null space), or CG_FAILED (growth without
 * progress: S is inconsistent). */
enum { CG_FAILED, CG_DONE, CG_PARTIAL };
static int polish_cg(ac_qp_workspace *w, double rel, double *tol_used)
{
    const ac_qp_problem *P = &w->prob;
    const int m = P->m;
    double *x = w->cx, *r = w->cr, *z = w->cz, *d = w->cp, *gd = w->cq;
    double tol = AC_QP_POLISH_CG_TOL * w->set.eps, rz = 0.0;

    gram_apply(w, x, gd);
    for (int c = 0; c < m; c++) {
        r[c] = w->on[c] ? P->rhs[c] - gd[c] : 0.0;
        z[c] = r[c] / w->gcc[c];
        d[c] = z[c];
        rz += r[c] * z[c];
    }
    double r0 = m > 0 ? fabs(r[cblas_idamax(m, r, 1)]) : 0.0, rbest = r0;
    tol = fmax(tol, rel * r0);
    *tol_used = tol;
    memcpy(w->cbest, x, sizeof(double) * (size_t)m);
    for (int it = 0; it < AC_QP_POLISH_MAX_CG; it++) {
        double rmax = m > 0 ? fabs(r[cblas_idamax(m, r, 1)]) : 0.0;
        if (rmax <= tol)
            return CG_DONE;
        if (rmax < rbest) {
            rbest = rmax;
            memcpy(w->cbest, x, sizeof(double) * (size_t)m);
        } else if (!(rmax <= AC_QP_POLISH_CG_GROWTH * rbest)) {
            /* Diverging.  Without progress first, the system on S is
             * inconsistent: give up.  After progress, rounding has caught
             * up with an ill-conditioned G_SS: take the best iterate, at
             * the tolerance it reached. */
            if (!(rbest <= AC_QP_POLISH_CG_PROGRESS * r0))
                return CG_FAILED;
            memcpy(x, w->cbest, sizeof(double) * (size_t)m);
            gram_apply(w, x, gd);
            for (int c = 0; c < m; c++)
                r[c] = w->on[c] ? P->rhs[c] - gd[c] : 0.0;
            *tol_used = fmax(tol, rbest);
            return CG_PARTIAL;
        }
        gram_apply(w, d, gd);
        double dgd = 0.0;
        for (int c = 0; c < m; c++)
            dgd += w->on[c] ? d[c] * gd[c] : 0.0;
        if (!(dgd > 0.0)) /* a direction in the null space of G_SS, or NaN */
            break;
        double alpha = rz / dgd, rz_new = 0.0;
        for (int c = 0; c < m; c++) {
            if (!w->on[c])
                continue;
            x[c] += alpha * d[c];
            r[c] -= alpha * gd[c];
            z[c] = r[c] / w->gcc[c];
            rz_new += r[c] * z[c];
        }
        double beta = rz_new / rz;
        rz = rz_new;
        for (int c = 0; c < m; c++)
            d[c] = w->on[c] ? z[c] + beta * d[c] : 0.0;
    }
    return CG_PARTIAL;
}

/* The direct polish solve: x_S = G_SS^+ rhs_S through the eigen-
 * decomposition of G_SS (dsyevd), eigenvalues <= n DBL_EPSILON w_max taken
 * as 0 (the rank cut of gram_factor), so that repeated and dependent
 * constraints and an inconsistent S give the least-squares x of least norm
 * instead of CG's divergence; then r = rhs - G x on S, as polish_cg leaves
 * it.  Returns 0 when S is larger than the workspace's n_direct (use CG) or
 * dsyevd failed, 1 when x and r are written. */
static int polish_direct(ac_qp_workspace *w)
{
    const ac_qp_problem *P = &w->prob;
    int n = 0;
    for (int c = 0; c < P->m; c++)
        if (w->on[c]) {
            if (n == w->n_direct)
                return 0;
            w->sidx[n++] = c;
        }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j <= i; j++)
            w->gss[i * n + j] = w->gss[j * n + i] = dual_gram(P, w->sidx[i], w->sidx[j]);
    }
    /* G_SS is symmetric, so its row-major array is also its column-major
     * one, and LAPACK's own layout saves LAPACKE a transposed copy; the
     * eigenvectors come back in columns: V[i,j] = gss[j n + i] */
    if (n > 0 && LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'V', 'U', n, w->gss, n, w->gev, w->gwork,
                                    w->n_gwork) != 0)
        return 0;
    double cut = n > 0 ? n * DBL_EPSILON * w->gev[n - 1] : 0.0; /* ascending */
    /* y = diag(w^+) V^T rhs_S, then x_S = V y */
    for (int j = 0; j < n; j++) {
        double t = 0.0;
        for (int i = 0; i < n; i++)
            t += w->gss[j * n + i] * P->rhs[w->sidx[i]];
        w->gy[j] = w->gev[j] > cut ? t / w->gev[j] : 0.0;
    }
    memset(w->cx, 0, sizeof(double) * (size_t)P->m);
    for (int i = 0; i < n; i++) {
        double t = 0.0;
        for (int j = 0; j < n; j++)
            t += w->gss[j * n + i] * w->gy[j];
        w->cx[w->sidx[i]] = t;
    }
    gram_apply(w, w->cx, w->cq);
    for (int c = 0; c < P->m; c++)
        w->cr[c] = w->on[c] ? P->rhs[c] - w->cq[c] : 0.0;
    return 1;
}

/* Active-set polish (OSQP's idea, with CG in place of its factorisation,
 * and a few primal-dual active-set rounds in place of its single guess).
 * Start from S = equalities and inequalities with lambda_c > 0, x = lambda.
 * Each round solves the equality-constrained problem on S (polish_cg: its
 * multipliers x_S, x = 0 off S), drops from S the inequalities whose x_c came
 * out negative or whose value CG left above rhs_c (x_c := 0), and adds the
 * inequalities off S that x violates
 * by more than the CG tolerance;
 * it stops when S does not change, after AC_QP_POLISH_ROUNDS rounds at most.
 * x is dual feasible throughout; it replaces lambda when its largest
 * violation over all constraints is below prim_now.  When S ends at the
 * optimal active set, x is the solution up to the CG residual; otherwise the
 * sweeps go on from a better point.  Returns 1 when lambda was replaced. */
static int polish(ac_qp_workspace *w, double prim_now)
{
    const ac_qp_problem *P = &w->prob;
    double *x = w->cx, *s = w->cq, prim = 0.0, tol = AC_QP_POLISH_CG_TOL * w->set.eps;
    for (int c = 0; c < P->m; c++) {
        w->on[c] = P->is_eq[c] || w->lambda[c] > 0.0;
        x[c] = w->on[c] ? w->lambda[c] : 0.0;
    }
    /* loose solves only where CG is long: on small problems the extra
     * round they may cost is more than they save */
    double rel = P->m >= AC_QP_POLISH_LOOSE_MIN ? AC_QP_POLISH_CG_REL : 0.0;
    double gmax = 0.0, best = INFINITY;
    for (int c = 0; c < P->m; c++)
        gmax = fmax(gmax, w->gcc[c]);
    for (int round = 0; round < AC_QP_POLISH_ROUNDS; round++) {
        int changed = 0;
        double ctol;
        /* CG first (cheap where it converges: warm started, O(m) memory);
         * the direct solve where it does not and S is small enough */
        int cg = polish_cg(w, rel, &ctol);
        if (cg != CG_DONE && polish_direct(w))
            ctol = tol;
        else if (cg == CG_FAILED)
            return 0;
        for (int c = 0; c < P->m; c++) {
            if (!isfinite(x[c]))
                return 0;
            /* cr = rhs - s on S after CG: below -ctol, s_c > rhs_c is left
             * over although S asked equality, so the system on S is
             * inconsistent (a dependent inequality that is slack at the
             * solution) and c goes out too */
            if (!P->is_eq[c] && w->on[c] && (x[c] < 0.0 || w->cr[c] < -ctol)) {
                x[c] = 0.0;
                w->on[c] = 0;
                changed++;
            }
        }
        /* a round that drops adds nothing: the violations it would add are
         * those of a point that is about to move, and adding them back at
         * once lets repeated constraints (an inequality with the matrix of
         * an equality, whose least-norm split goes negative) cycle */
        int dropped = changed;
        gram_apply(w, x, s);
        /* a violation the stopping test would accept (eps_v of the header
         * at this x, ||W||^2 = sum_c x_c s_c) is rounding, not a missing
         * constraint: adding it makes an ill-conditioned S cycle */
        double wn2 = 0.0;
        for (int c = 0; c < P->m; c++)
            wn2 += x[c] * s[c];
        double add_tol = fmax(ctol, AC_QP_POLISH_ADD_FRAC * w->set.eps *
                                        fmax(1.0, sqrt(gmax) * sqrt(fmax(wn2, 0.0))));
        prim = 0.0;
        double res_on = 0.0; /* max |s_c - rhs_c| over S, recomputed */
        for (int c = 0; c < P->m; c++) {
            double r = s[c] - P->rhs[c];
            prim = fmax(prim, P->is_eq[c] ? fabs(r) : -r);
            if (w->on[c])
                res_on = fmax(res_on, fabs(r));
            if (!dropped && !w->on[c] && r < -add_tol) {
                w->on[c] = 1;
                changed++;
            }
        }
        if (prim < best) {
            best = prim;
            memcpy(w->pbest, x, sizeof(double) * (size_t)P->m);
        }
        if (!changed) {
            if (ctol <= tol || res_on <= tol || rel == 0.0)
                break;
            rel = 0.0; /* S settled on a loose solve: solve it to tol */
        }
    }
    /* the round of least violation: an S that cycles ends anywhere */
    if (!(best < prim_now))
        return 0;
    memcpy(w->lambda, w->pbest, sizeof(double) * (size_t)P->m);
    return 1;
}

/* Iterative refinement of z on F (active_set_solve) with the
 * eigendecomposition it made of G_FF (V in gss, eigenvalues in gev, rank cut
 * cut; indices in sidx[0..n)): x_F += V diag(1/ev) V^T (rhs_F - s_F), with s
 * = G x recomputed by gram_apply, the way the stopping test computes it.  One
 * solve leaves residuals of about cond(G_FF) DBL_EPSILON |z|; where a
 * constraint off F is (exactly) dependent on F, that residual comes back as
 * its violation, it joins, G_FF becomes singular, the min-norm z gives it a
 * negative multiplier and it leaves at step 0, forever (AC_TEST_MULTIPLIER=20
 * seed 14 case 1187, seed 3 case 1870: p > d, violations of 1.5e-11 against
 * eps_v = 1e-12).  Refinement brings the residuals on F, and with them those
 * of the dependent constraints, to rounding.  At most
 * AC_QP_REFINE_STEPS steps; a step is kept only while it lowers max_F
 * |rhs_c - s_c| and keeps the inequalities on F nonnegative (dual
 * feasibility is exact).  s is left as G x at the kept x. */
static void refine_on_f(ac_qp_workspace *w, int n, double cut, double *x, double *s)
{
    const ac_qp_problem *P = &w->prob;
    double *dx = w->cx, *r = w->cp, res = 0.0;
    for (int i = 0; i < n; i++)
        res = fmax(res, fabs(P->rhs[w->sidx[i]] - s[w->sidx[i]]));
    for (int step = 0; step < AC_QP_REFINE_STEPS && res > 0.0; step++) {
        for (int j = 0; j < n; j++) {
            double t = 0.0;
            for (int i = 0; i < n; i++)
                t += w->gss[j * n + i] * (P->rhs[w->sidx[i]] - s[w->sidx[i]]);
            w->gy[j] = w->gev[j] > cut ? t / w->gev[j] : 0.0;
        }
        memcpy(dx, x, sizeof(double) * (size_t)P->m);
        int feasible = 1;
        for (int i = 0; i < n; i++) {
            double t = 0.0;
            for (int j = 0; j < n; j++)
                t += w->gss[j * n + i] * w->gy[j];
            int c = w->sidx[i];
            dx[c] += t;
            feasible = feasible && (P->is_eq[c] || dx[c] >= 0.0);
        }
        if (!feasible)
            return;
        gram_apply(w, dx, r);
        double res_new = 0.0;
        for (int i = 0; i < n; i++)
            res_new = fmax(res_new, fabs(P->rhs[w->sidx[i]] - r[w->sidx[i]]));
        if (!(res_new < res))
            return;
        res = res_new;
        memcpy(x, dx, sizeof(double) * (size_t)P->m);
        memcpy(s, r, sizeof(double) * (size_t)P->m);
    }
}

/* The constraint j that just joined F is dependent on it (G_FF singular)
 * and the min-norm z gave it z_j < 0: then x would step 0 toward z, j would
 * leave at once, rejoin on the same violation and cycle (AC_TEST_MULTIPLIER=20
 * seed 14 case 1591: j = sum_c alpha_c c with |alpha| ~ 500 turns F's
 * rounding-level residuals into a violation of 6e-11).  Every z + t v with v
 * in the null space of G_FF solves the system on F as well, so move z along
 * the null eigenvector with the largest component at j to z_j = 0: j's fit
 * is kept and it no longer blocks.  s holds z - x on sidx[0..n); V and the
 * eigenvalues as left by the eigensolve (V[i,c] = gss[c n + i]). */
static void null_shift(ac_qp_workspace *w, int n, double cut, int j, const double *x,
                       double *s)
{
    int ij = -1, col = -1;
    for (int i = 0; i < n; i++)
        if (w->sidx[i] == j)
            ij = i;
    if (ij < 0 || s[ij] + x[j] >= 0.0)
        return;
    double best = 0.0;
    for (int c = 0; c < n && w->gev[c] <= cut; c++) /* ascending: the null ones first */
        if (fabs(w->gss[c * n + ij]) > best) {
            best = fabs(w->gss[c * n + ij]);
            col = c;
        }
    if (col < 0)
        return;
    double t = -(s[ij] + x[j]) / w->gss[col * n + ij];
    for (int i = 0; i < n; i++)
        s[i] += t * w->gss[col * n + i];
    s[ij] = -x[j]; /* z_j = 0 exactly */
}

/* Primal active-set method on the dual, for problems of at most n_direct
 * constraints where the polish's primal-dual rounds cycle (nearly dependent
 * rows make their jumps overshoot; AC_TEST_MULTIPLIER=20 finds a few cases
 * in 10^4).  It maximises f(x) = rhs^T x - 1/2 x^T G x over x_c >= 0 on
 * inequalities from x = lambda, keeping x feasible and f nondecreasing:
 * with F = equalities and free inequalities, it solves G_FF z = rhs_F
 * (eigendecomposition, rank cut as in gram_factor) and steps from x toward
 * z as far as the bounds allow, freezing the inequality that blocks (x_c :=
 * 0); when rhs_F has a part v in the null space of G_FF, f grows without
 * bound along v and x steps along v to the first blocking bound instead (no
 * bound: the dual is unbounded and v is a Farkas ray: G_FF v = 0 to the
 * rank cut, v_c >= 0 on the inequalities of F (any negative one would have
 * blocked), rhs^T v = ||v||^2 > 0.  It is kept in w->ray for the
 * certificate test (ray_passes) and the method returns 0).  At z, the
 * inequality off F most violated by more than the polish's add tolerance joins F; none: x solves
 * the problem, lambda := x, return 1.  At most AC_QP_ACTIVE_SET_ITERS m + 10
 * steps (each changes F by one). */
static int active_set_solve(ac_qp_workspace *w)
{
    const ac_qp_problem *P = &w->prob;
    const int m = P->m;
    double *x = w->cz, *dz = w->cp, *s = w->cq, gmax = 0.0;
    if (m == 0 || m > w->n_direct)
        return 0;
    for (int c = 0; c < m; c++) {
        x[c] = w->lambda[c];
        w->on[c] = P->is_eq[c] || x[c] > 0.0;
        gmax = fmax(gmax, w->gcc[c]);
    }
    int joined = -1; /* the constraint the last step added to F */
    for (int it = 0; it < AC_QP_ACTIVE_SET_ITERS * m + 10; it++) {
        int n = 0;
        double rnorm2 = 0.0;
        for (int c = 0; c < m; c++)
            if (w->on[c]) {
                w->sidx[n++] = c;
                rnorm2 += P->rhs[c] * P->rhs[c];
            }
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
                w->gss[i * n + j] = w->gss[j * n + i] = dual_gram(P, w->sidx[i], w->sidx[j]);
        if (n > 0 && LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'V', 'U', n, w->gss, n, w->gev,
                                        w->gwork, w->n_gwork) != 0)
            return 0;
        double cut = n > 0 ? n * DBL_EPSILON * w->gev[n - 1] : 0.0, null2 = 0.0;
        /* gy: coefficients of z on the range; dz (scratch, first n): of v */
        for (int j = 0; j < n; j++) {
            double t = 0.0;
            for (int i = 0; i < n; i++)
                t += w->gss[j * n + i] * P->rhs[w->sidx[i]];
            int range = w->gev[j] > cut;
            w->gy[j] = range ? t / w->gev[j] : 0.0;
            dz[j] = range ? 0.0 : t;
            null2 += range ? 0.0 : t * t;
        }
        /* ||P0 rhs_F|| > AC_QP_CERT_RHS_REL ||rhs_F||, both sides squared
         * (the relative test of a certificate's rhs^T y; rounding leaves
         * ||P0 rhs_F|| near n DBL_EPSILON ||rhs_F||).  Unsquared, a real
         * inconsistency of 7e-5 relative passed for consistent and the
         * joining constraint left at step 0 forever
         * (AC_TEST_MULTIPLIER=20 seed 3 case 1870) */
        int unbounded = null2 > AC_QP_CERT_RHS_REL * AC_QP_CERT_RHS_REL * rnorm2;
        /* the direction on F, into s (scratch): v, or z - x */
        for (int i = 0; i < n; i++) {
            double t = 0.0;
            for (int j = 0; j < n; j++)
                t += w->gss[j * n + i] * (unbounded ? dz[j] : w->gy[j]);
            s[i] = unbounded ? t : t - x[w->sidx[i]];
        }
        if (!unbounded && joined >= 0)
            null_shift(w, n, cut, joined, x, s);
        joined = -1;
        double step = unbounded ? INFINITY : 1.0;
        int block = -1;
        for (int i = 0; i < n; i++) {
            int c = w->sidx[i];
            if (!P->is_eq[c] && s[i] < 0.0 && x[c] / -s[i] < step) {
                step = x[c] / -s[i];
                block = c;
            }
        }
        if (!isfinite(step)) {
            if (unbounded && block < 0 && step == INFINITY) {
                memset(w->ray, 0, sizeof(double) * (size_t)m);
                for (int i = 0; i < n; i++)
                    w->ray[w->sidx[i]] = s[i];
                w->have_ray = 1;
            }
            return 0;
        }
        for (int i = 0; i < n; i++)
            x[w->sidx[i]] += step * s[i];
        if (block >= 0) {
            x[block] = 0.0;
            w->on[block] = 0;
            continue;
        }
        /* at z: the most violated inequality off F joins */
        gram_apply(w, x, s);
        if (!unbounded)
            refine_on_f(w, n, cut, x, s);
        double wn2 = 0.0, worst = 0.0;
        for (int c = 0; c < m; c++)
            wn2 += x[c] * s[c];
        double add_tol = fmax(AC_QP_POLISH_CG_TOL * w->set.eps,
                              AC_QP_POLISH_ADD_FRAC * w->set.eps *
                                  fmax(1.0, sqrt(gmax) * sqrt(fmax(wn2, 0.0))));
        int join = -1;
        for (int c = 0; c < m; c++) {
            double viol = P->rhs[c] - s[c];
            if (!w->on[c] && viol > add_tol && viol > worst) {
                worst = viol;
                join = c;
            }
        }
        if (join < 0) {
            for (int c = 0; c < m; c++)
                if (!isfinite(x[c]))
                    return 0;
            memcpy(w->lambda, x, sizeof(double) * (size_t)m);
            return 1;
        }
        w->on[join] = 1;
        joined = join;
    }
    return 0;
}

/* The stopping test of the header at tolerance eps:
 * prim_res <= eps max(1, value_scale) and
 * compl_res <= eps max(1, value_scale) max(1, lambda_max). */
static int kkt_holds_at(const ac_qp_info *info, double eps)
{
    double e = eps * fmax(1.0, info->value_scale);
    return info->prim_res <= e && info->compl_res <= e * fmax(1.0, info->lambda_max);
}

static int kkt_holds(const ac_qp_workspace *w, const ac_qp_info *info)
{
    return kkt_holds_at(info, w->set.eps);
}

/* The infeasibility test of the header on y = the ray active_set_solve
 * met in this test (entries below AC_QP_CERT_DROP of the largest dropped,
 * as for a sweep difference); returns 1 when it passes, writes the ratio
 * (0 when rhs^T y fails certificate_rhs). */
static int ray_passes(ac_qp_workspace *w, double *ratio)
{
    const ac_qp_problem *P = &w->prob;
    double ymax = 0.0, rty;
    *ratio = 0.0;
    for (int c = 0; c < P->m; c++)
        ymax = fmax(ymax, fabs(w->ray[c]));
    for (int c = 0; c < P->m; c++)
        w->y[c] = fabs(w->ray[c]) <= AC_QP_CERT_DROP * ymax ? 0.0 : w->ray[c];
    if (!certificate_rhs(w, &rty))
        return 0;
    scatter_coeffs(P, w->y, w->T1);
    *ratio = coeff_norm(w, w->T1) / rty;
    return *ratio <= w->set.eps_infeas;
}

/* Decide the ending from the residuals in info (header: stopping test). */
static ac_qp_status decide(ac_qp_workspace *w, const ac_qp_info *info, int finite)
{
    const ac_qp_settings *S = &w->set;
    if (!finite || w->nonfinite)
        return AC_QP_NUMERICAL_ERROR;
    if (kkt_holds(w, info))
        return AC_QP_SOLVED;
    double ratio = 0.0;
    int cert = w->sweeps >= S->cert_min_sweeps;
    if (cert && certificate_passes(w, &ratio)) {
        w->infeas_hits++;
        w->cert_residual = ratio;
        if (w->infeas_hits >= AC_QP_INFEAS_CONFIRM)
            return AC_QP_INFEASIBLE;
    } else {
        w->infeas_hits = 0;
        w->cert_residual = ratio;
    }
    /* the active-set ray needs no second test: the confirmation guards
     * against a sweep difference caught in a transient, and the ray is no
     * sweep difference but a null vector of G_FF, checked by the same test */
    if (cert && w->have_ray && ray_passes(w, &ratio)) {
        w->cert_residual = ratio;
        return AC_QP_INFEASIBLE;
    }
    if (w->sweeps >= S->max_sweeps) {
        if (kkt_holds_at(info, sqrt(S->eps)))
            return AC_QP_SOLVED_INACCURATE;
        return AC_QP_MAX_ITER;
    }
    return AC_QP_UNSOLVED;
}

/* The polish schedule of the header: prim_res has fallen by
 * AC_QP_POLISH_FACTOR since the last attempt (the first at
 * settings.polish_start), or the sweeps have grown by
 * AC_QP_POLISH_SWEEP_GROWTH since it (the first at settings.polish_sweeps),
 * for slow problems whose residual falls too slowly; the geometric growth
 * keeps the polishes to O(log sweeps). */
static int polish_due(const ac_qp_workspace *w, const ac_qp_info *info)
{
    return w->set.polish && w->prob.m > 0 &&
           (info->prim_res <= w->polish_next || w->sweeps >= w->polish_sweep);
}

/* Rebuild Lam from lambda (returning the drift ||Lam_kept - Lam(lambda)||_F)
 * and U from Lam. */
static double rebuild(ac_qp_workspace *w)
{
    const ac_qp_problem *P = &w->prob;
    size_t PQ = (size_t)P->p * (size_t)P->q;
    scatter_coeffs(P, w->lambda, w->T2);
    double drift = 0.0;
    for (size_t i = 0; i < PQ; i++) {
        double e = w->LamT[i] - w->T2[i];
        drift += e * e;
    }
    memcpy(w->LamT, w->T2, sizeof(double) * PQ);
    rebuild_u(w);
    return sqrt(drift);
}

/* Keep the polished lambda when its rebuilt residuals pass the stopping
 * test (info, rl: its values; returns 1), else restore lam_save (info, rl,
 * finite recomputed; returns 0). */
static int accept_polish(ac_qp_workspace *w, ac_qp_info *info, double *rl, int *finite)
{
    rebuild(w);
    ac_qp_info trial = *info;
    double rl_trial;
    if (kkt_residuals(w, &trial, &rl_trial) && kkt_holds(w, &trial)) {
        w->n_polish++;
        *info = trial;
        *rl = rl_trial;
        return 1;
    }
    memcpy(w->lambda, w->lam_save, sizeof(double) * (size_t)w->prob.m);
    rebuild(w);
    *finite = kkt_residuals(w, info, rl);
    return 0;
}

int ac_qp_test(ac_qp_workspace *w, ac_qp_info *info)
{
    ac_qp_info local; /* the test reads its own residuals back from info */
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    info->status = AC_QP_UNSOLVED;
    if (!w || !w->have_prob)
        return 1;
    const ac_qp_problem *P = &w->prob;

    info->stat_res = rebuild(w);
    w->have_ray = 0;
    double rl;
    int finite = kkt_residuals(w, info, &rl) && !w->nonfinite;
    if (finite && !kkt_holds(w, info) && polish_due(w, info)) {
        w->polish_next = info->prim_res * AC_QP_POLISH_FACTOR;
        long base = w->sweeps > w->set.polish_sweeps ? w->sweeps : w->set.polish_sweeps;
        w->polish_sweep = (long)(AC_QP_POLISH_SWEEP_GROWTH * (double)base) + 1;
        /* the polished point replaces lambda only if it passes the
         * stopping test: a partial jump could leave lambda huge and the
         * sweeps' steps below its ulp (an inconsistent system, CG along its
         * null space) */
        memcpy(w->lam_save, w->lambda, sizeof(double) * (size_t)P->m);
        int done = polish(w, info->prim_res) && accept_polish(w, info, &rl, &finite);
        /* small problems whose rounds did not settle: the monotone method */
        if (!done && active_set_solve(w))
            accept_polish(w, info, &rl, &finite);
    }
    info->dual_obj = rl - info->obj;
    info->sweeps = w->sweeps;
    info->n_polish = w->n_polish;

    w->status = decide(w, info, finite);
    /* checkpoints at doubling sweep counts: y spans at least half the run,
     * so rhs^T y grows with the run while ||sum y_c A_c|| = ||W - W_prev||
     * stays bounded, and a slowly settling infeasible run still passes */
    if (w->status != AC_QP_INFEASIBLE && w->sweeps >= 2 * w->prev_sweep) {
        memcpy(w->lambda_prev, w->lambda, sizeof(double) * (size_t)P->m);
        w->prev_sweep = w->sweeps;
    }
    info->status = w->status;
    info->cert_support = w->status == AC_QP_INFEASIBLE ? w->cert_support : 0;
    info->cert_residual = w->cert_residual;
    return w->status != AC_QP_UNSOLVED;
}

/* ---------------------------------------------------------------- solve */

ac_status ac_qp_solve(ac_qp_workspace *w, const ac_qp_problem *prob, const ac_qp_settings *set,
                      ac_qp_info *info, ac_msg *msg)
{
    ac_qp_info local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    info->status = AC_QP_UNSOLVED;
    ac_status st = ac_qp_set(w, prob, set, msg);
    if (st != AC_OK)
        return st;
    while (!ac_qp_test(w, info))
        for (int i = 0; i < w->set.check_every && w->sweeps < w->set.max_sweeps; i++)
            ac_qp_iterate(w, NULL); /* cannot fail: ac_qp_set succeeded */
    return AC_OK;
}

void ac_qp_solution(const ac_qp_workspace *w, double *lambda, double *Lam)
{
    if (!w || !w->have_prob)
        return;
    const ac_qp_problem *P = &w->prob;
    if (lambda && P->m > 0)
        memcpy(lambda, w->lambda, sizeof(double) * (size_t)P->m);
    if (Lam) {
        /* Lam[a,k] += lambda_c, Lam[b,k] -= lambda_c, row-major p x q */
        memset(Lam, 0, sizeof(double) * (size_t)P->p * (size_t)P->q);
        for (int c = 0; c < P->m; c++) {
            Lam[(size_t)P->a[c] * P->q + P->k[c]] += w->lambda[c];
            if (P->b[c] >= 0)
                Lam[(size_t)P->b[c] * P->q + P->k[c]] -= w->lambda[c];
        }
    }
}

void ac_qp_certificate(const ac_qp_workspace *w, double *y)
{
    if (!w || !w->have_prob || !y || w->prob.m == 0)
        return;
    if (w->status == AC_QP_INFEASIBLE)
        memcpy(y, w->y, sizeof(double) * (size_t)w->prob.m);
    else
        memset(y, 0, sizeof(double) * (size_t)w->prob.m);
}
