#include "theory/tpg_solve.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/linalg.h"

void ac_tpg_solve_settings_default(ac_tpg_solve_settings *s)
{
    ac_tpg_svm_settings_default(&s->svm);
    ac_newton_settings_default(&s->newton);
}

void ac_tpg_solution_clear(ac_tpg_solution *s)
{
    if (!s)
        return;
    ac_tpg_free(s->G);
    ac_tpg_cons_clear(&s->C);
    free(s->Wsvm);
    free(s->lambda);
    free(s->cert);
    ac_tpg_sfin_free(s->S);
    ac_tpg_reduced_free(s->Dred);
    free(s->Wfin);
    memset(s, 0, sizeof *s);
}

static double max_abs(const double *x, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

/* The range of p for which v 2^-(c p) stays in [DBL_MIN, DBL_MAX] (v > 0):
 * with v = f 2^e, f in [0.5, 1), need DBL_MIN_EXP <= e - c p <= DBL_MAX_EXP
 * (DBL_MIN = 2^(DBL_MIN_EXP - 1), DBL_MAX < 2^DBL_MAX_EXP).  Narrows
 * [*lo, *hi]. */
static void fit_range(double v, int c, int *lo, int *hi)
{
    if (v == 0.0)
        return;
    int e;
    frexp(v, &e);
    /* e - c p >= DBL_MIN_EXP  <=>  p <= (e - DBL_MIN_EXP) / c */
    int up = (int)floor((double)(e - DBL_MIN_EXP) / c);
    /* e - c p <= DBL_MAX_EXP  <=>  p >= (e - DBL_MAX_EXP) / c */
    int down = (int)ceil((double)(e - DBL_MAX_EXP) / c);
    if (up < *hi)
        *hi = up;
    if (down > *lo)
        *lo = down;
}

static void scale(double *x, size_t n, int e)
{
    for (size_t i = 0; i < n; i++)
        x[i] = ldexp(x[i], e);
}

/* Results of the solve on E 2^-p back to E's units (ac_tpg_solve's header),
 * or AC_ENUMERIC when W_svm, W_fin or lambda would leave double range. */
static ac_status scale_back(ac_tpg_solution *out, int p, ac_msg *msg)
{
    if (p == 0)
        return AC_OK;
    size_t dd = (size_t)out->d * (size_t)out->d, m = (size_t)out->C.m;
    int lo = INT_MIN / 8, hi = INT_MAX / 8;
    fit_range(max_abs(out->Wsvm, dd), 2, &lo, &hi);
    fit_range(max_abs(out->Wfin, dd), 2, &lo, &hi);
    fit_range(max_abs(out->lambda, m), 4, &lo, &hi);
    if ((p < lo || p > hi) && out->qp.status == AC_QP_INFEASIBLE) {
        /* the verdict and its certificate are scale-free; the last iterate
         * is no solution and does not fit: W_svm and lambda are zeroed */
        memset(out->Wsvm, 0, sizeof(double) * dd);
        memset(out->lambda, 0, sizeof(double) * m);
        lo = hi = p;
    }
    if (p < lo || p > hi)
        return ac_fail(msg, AC_ENUMERIC,
                       "the largest embedding entry is in [2^%d, 2^%d): scaled back from the normalised "
                       "solve, W_svm and W_fin (times 2^%d) or the multipliers (times 2^%d) would leave "
                       "double range; for these embeddings' shape the results fit for a largest entry "
                       "in [2^%d, 2^%d)",
                       p - 1, p, -2 * p, -4 * p, lo - 1, hi);
    scale(out->Wsvm, dd, -2 * p);
    scale(out->Wfin, dd, -2 * p);
    scale(out->lambda, m, -4 * p);
    ac_qp_info *q = &out->qp;
    q->obj = ldexp(q->obj, -4 * p);
    q->dual_obj = ldexp(q->dual_obj, -4 * p);
    q->dual_res = ldexp(q->dual_res, -4 * p);
    q->compl_res = ldexp(q->compl_res, -4 * p);
    q->stat_res = ldexp(q->stat_res, -4 * p);
    q->lambda_max = ldexp(q->lambda_max, -4 * p);
    q->cert_residual = ldexp(q->cert_residual, 2 * p);
    out->fin_grad_norm = ldexp(out->fin_grad_norm, 2 * p);
    out->newton.grad_norm = ldexp(out->newton.grad_norm, 2 * p);
    return AC_OK;
}

ac_status ac_tpg_solve(const ac_tpg_data *D, const double *E, int d, const ac_tpg_solve_settings *set,
                       ac_tpg_solution *out, ac_msg *msg)
{
    memset(out, 0, sizeof *out);
    if (!D)
        return ac_fail(msg, AC_EINVAL, "Graph-SVM solve: the dataset is NULL");
    out->K = D->K;
    out->d = d;
    if (d < 0)
        return ac_fail(msg, AC_ESIZE, "embedding dimension d = %d; need d >= 0", d);
    if (!E && D->K > 0 && d > 0)
        return ac_fail(msg, AC_EINVAL, "Graph-SVM solve: the %d x %d embeddings are NULL", D->K, d);
    ac_tpg_solve_settings def;
    if (!set) {
        ac_tpg_solve_settings_default(&def);
        set = &def;
    }
    size_t dd = (size_t)d * d, Kd = (size_t)D->K * (size_t)d;
    double t0 = ac_clock();
    ac_status st = ac_tpg_scale_exp(E, D->K, d, &out->scale_exp, msg);
    if (st != AC_OK)
        return st;
    int p = out->scale_exp;
    double *En = NULL; /* E 2^-p, exact; E itself when p = 0 */
    if (p != 0) {
        En = malloc(sizeof(double) * (Kd + 1));
        if (!En)
            return ac_fail(msg, AC_ENOMEM, "no memory for the %d x %d embeddings", D->K, d);
        for (size_t i = 0; i < Kd; i++)
            En[i] = ldexp(E[i], -p);
        E = En;
    }
    st = ac_tpg_build(D, &out->G, msg);
    if (st == AC_OK)
        st = ac_tpg_constraints(out->G, &out->C, msg);
    if (st != AC_OK) {
        free(En);
        return st;
    }
    out->Wsvm = calloc(dd + 1, sizeof(double));
    out->Wfin = calloc(dd + 1, sizeof(double));
    out->lambda = calloc((size_t)out->C.m + 1, sizeof(double));
    out->cert = calloc((size_t)out->C.m + 1, sizeof(double));
    if (!out->Wsvm || !out->Wfin || !out->lambda || !out->cert) {
        free(En);
        return ac_fail(msg, AC_ENOMEM, "no memory for d=%d and %d constraints", d, out->C.m);
    }
    st = ac_tpg_svm(out->G, &out->C, E, d, &set->svm, out->Wsvm, out->lambda, out->cert, &out->qp, msg);
    out->svm_seconds = ac_clock() - t0;
    if (st == AC_OK && out->qp.status != AC_QP_INFEASIBLE) {
        double t1 = ac_clock();
        st = ac_tpg_sfin_alloc(out->G, E, d, &out->S, msg);
        if (st == AC_OK)
            st = ac_tpg_reduce(out->G, D, &out->Dred, msg);
        if (st == AC_OK)
            st = ac_tpg_wfin(out->S, out->Dred, &set->newton, out->Wfin, &out->fin_grad_norm, &out->newton,
                             msg);
        out->fin_seconds = ac_clock() - t1;
    }
    free(En);
    if (st == AC_OK)
        st = scale_back(out, p, msg);
    return st;
}
