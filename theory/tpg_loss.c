/* Log-loss in log-sum-exp form, the reduced dataset, S_fin and W_fin
 * (spec tpg_svm §1, §3.2, §7).  theory/tpg_mpfr.c mirrors the loss
 * functions here in multiple precision, name for name. */
#include "theory/tpg_loss.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/linalg.h"

/* ---- the loss ---------------------------------------------------------- */

/* l_i for one example (positions tok[0..len), query k, label y), spec §1:
 *   l = log sum_t exp(a_t) - a_y - log m_y,   a_t = U[tok_t, k],
 * and, when gU != NULL, gU[., k] += scale * dl/dU[., k] (spec §7: the
 * softmax at tokens != y, minus their total r/Z at y).  Positions, not
 * distinct tokens: copies add up to the multiplicities m_j. */
static double example_loss(const double *U, int K, const int *tok, int len, int k, int y,
                           double scale, double *gU)
{
    double ay = U[y * K + k], amax = -INFINITY;
    int my = 0;
    for (int t = 0; t < len; t++) {
        amax = fmax(amax, U[tok[t] * K + k]);
        my += tok[t] == y;
    }
    if (my == 0)
        return INFINITY;
    /* Reference logit: a_y when it is the largest, so that l = log1p(r / m_y)
     * keeps a loss near 0 to full relative accuracy; else the max. */
    double ref = ay >= amax ? ay : amax, r = 0.0;
    for (int t = 0; t < len; t++)
        if (tok[t] != y)
            r += exp(U[tok[t] * K + k] - ref);
    double Z, l;
    if (ay >= amax) {
        Z = my + r;
        l = log1p(r / my);
    } else {
        Z = my * exp(ay - amax) + r;
        l = log(Z) - log((double)my) + (amax - ay);
    }
    if (gU) {
        for (int t = 0; t < len; t++)
            if (tok[t] != y)
                gU[tok[t] * K + k] += scale * (exp(U[tok[t] * K + k] - ref) / Z);
        gU[y * K + k] -= scale * (r / Z);
    }
    return l;
}

/* Shared body of ac_tpg_loss (last == NULL: the query is the last entry)
 * and ac_tpg_loss_reduced. */
static double loss_query(const ac_tpg_data *D, const int *last, const double *U, double norm,
                         double *gU)
{
    int K = D->K;
    if (gU)
        memset(gU, 0, sizeof(double) * (size_t)K * (size_t)K);
    if (D->n == 0)
        return 0.0;
    if (!(norm > 0.0))
        return NAN;
    double sum = 0.0;
    for (int i = 0; i < D->n; i++) {
        const int *tok = D->tok + D->off[i];
        int len = D->off[i + 1] - D->off[i];
        int k = last ? last[i] : tok[len - 1];
        double l = example_loss(U, K, tok, len, k, D->label[i], 1.0 / norm, gU);
        if (isinf(l)) {
            for (int j = 0; gU && j < K * K; j++)
                gU[j] = NAN;
            return INFINITY;
        }
        sum += l;
    }
    return sum / norm;
}

double ac_tpg_loss(const ac_tpg_data *D, const double *U, double norm, double *gU)
{
    return loss_query(D, NULL, U, norm, gU);
}

double ac_tpg_loss_reduced(const ac_tpg_reduced *R, const double *U, double *gU)
{
    return loss_query(R->data, R->last, U, R->n_full, gU);
}

ac_status ac_tpg_loss_line(const ac_tpg_data *D, const double *U0, const double *U1, double s,
                           double norm, double *L, double *dLds)
{
    size_t KK = (size_t)D->K * (size_t)D->K;
    double *U = calloc(KK + 1, sizeof(double)), *gU = malloc(sizeof(double) * (KK + 1));
    if (!U || !gU) {
        free(U), free(gU);
        return AC_ENOMEM;
    }
    for (size_t j = 0; j < KK; j++)
        U[j] = U0[j] + s * U1[j];
    *L = ac_tpg_loss(D, U, norm, gU);
    double acc = 0.0;
    for (size_t j = 0; j < KK; j++)
        acc += gU[j] * U1[j];
    *dLds = acc;
    free(U), free(gU);
    return AC_OK;
}

/* ---- the reduced dataset (spec §3.2) ----------------------------------- */

void ac_tpg_reduced_free(ac_tpg_reduced *R)
{
    if (!R)
        return;
    ac_tpg_data_free(R->data);
    free(R->last);
    free(R->src);
    free(R);
}

/* Positions of example i kept by the reduction (token in the label's SCC of
 * G^(k)); *other = 1 when one of them is not the label. */
static int kept_positions(const ac_tpg *G, const ac_tpg_data *D, int i, int *other)
{
    const int *tok = D->tok + D->off[i];
    int len = D->off[i + 1] - D->off[i], K = G->K;
    int g = G->graph_of[tok[len - 1]], y = D->label[i], cy = G->comp[g * K + y], n = 0;
    *other = 0;
    for (int t = 0; t < len; t++)
        if (G->comp[g * K + tok[t]] == cy) {
            n++;
            *other |= tok[t] != y;
        }
    return n;
}

ac_status ac_tpg_reduce(const ac_tpg *G, const ac_tpg_data *D, ac_tpg_reduced **out, ac_msg *msg)
{
    *out = NULL;
    if (G->K != D->K)
        return ac_fail(msg, AC_EINVAL, "reduce: the graphs have K = %d tokens, the data K = %d", G->K, D->K);
    ac_status st = ac_tpg_data_check(D, 1, msg);
    if (st != AC_OK)
        return st;
    int nk = 0, ntk = 0, other;
    for (int i = 0; i < D->n; i++) {
        int k = D->tok[D->off[i + 1] - 1];
        if (G->graph_of[k] < 0)
            return ac_fail(msg, AC_EINVAL,
                           "reduce: example %d ends in token %d, which has no graph (the graphs are not "
                           "built from these data)",
                           i, k);
        int m = kept_positions(G, D, i, &other);
        if (other)
            nk++, ntk += m;
    }
    ac_tpg_reduced *R = calloc(1, sizeof *R);
    if (!R)
        return ac_fail(msg, AC_ENOMEM, "reduce: out of memory");
    R->n_full = D->n;
    R->data = ac_tpg_data_alloc(nk, ntk, D->K);
    R->last = malloc(sizeof(int) * ((size_t)nk + 1));
    R->src = malloc(sizeof(int) * ((size_t)nk + 1));
    if (!R->data || !R->last || !R->src) {
        ac_tpg_reduced_free(R);
        return ac_fail(msg, AC_ENOMEM, "reduce: out of memory for %d examples, %d tokens", nk, ntk);
    }
    int K = G->K, e = 0, p = 0;
    for (int i = 0; i < D->n; i++) {
        if (kept_positions(G, D, i, &other), !other)
            continue;
        const int *tok = D->tok + D->off[i];
        int len = D->off[i + 1] - D->off[i], k = tok[len - 1];
        int g = G->graph_of[k], cy = G->comp[g * K + D->label[i]];
        for (int t = 0; t < len; t++)
            if (G->comp[g * K + tok[t]] == cy)
                R->data->tok[p++] = tok[t];
        R->data->label[e] = D->label[i];
        R->last[e] = k;
        R->src[e] = i;
        R->data->off[++e] = p;
    }
    *out = R;
    return AC_OK;
}

/* ---- S_fin (spec §3.1-3.2) --------------------------------------------- */

void ac_tpg_sfin_free(ac_tpg_sfin *S)
{
    if (!S)
        return;
    free(S->a), free(S->a0), free(S->k);
    free(S->E), free(S->gram), free(S->chol);
    free(S);
}

/* Generators of graph g: for each SCC C with |C| >= 2, (a, a0(C), k) for
 * the tokens a of C above its smallest a0(C).  Writes them from index *dim
 * on when S->a is non-NULL; always advances *dim. */
static void graph_generators(const ac_tpg *G, int g, ac_tpg_sfin *S, int *dim)
{
    int K = G->K;
    for (int c = 0; c < G->ncomp[g]; c++) {
        if (G->comp_size[g * K + c] < 2)
            continue;
        int a0 = -1;
        for (int j = 0; j < K; j++) {
            if (G->comp[g * K + j] != c)
                continue;
            if (a0 < 0) {
                a0 = j;
                continue;
            }
            if (S->a) {
                S->a[*dim] = j;
                S->a0[*dim] = a0;
                S->k[*dim] = G->last[g];
            }
            (*dim)++;
        }
    }
}

/* <B_g, B_h> = (G[a,b] - G[a,b0] - G[a0,b] + G[a0,b0]) G[k,k'] (tpg_loss.h). */
static double generator_inner(const ac_tpg_sfin *S, int g, int h)
{
    const double *Gm = S->gram;
    int K = S->K, a = S->a[g], a0 = S->a0[g], b = S->a[h], b0 = S->a0[h];
    double left = Gm[a * K + b] - Gm[a * K + b0] - Gm[a0 * K + b] + Gm[a0 * K + b0];
    return left * Gm[S->k[g] * K + S->k[h]];
}

ac_status ac_tpg_sfin_alloc(const ac_tpg *G, const double *E, int d, ac_tpg_sfin **out, ac_msg *msg)
{
    *out = NULL;
    if (!G || (!E && G->K > 0 && d > 0))
        return ac_fail(msg, AC_EINVAL, "S_fin: the graphs or the embeddings are NULL");
    ac_status st0 = ac_tpg_scale_check(E, G->K, d, msg);
    if (st0 != AC_OK)
        return st0;
    ac_tpg_sfin *S = calloc(1, sizeof *S);
    if (!S)
        return ac_fail(msg, AC_ENOMEM, "S_fin: out of memory");
    int K = G->K, dim = 0;
    for (int g = 0; g < G->ngraph; g++)
        graph_generators(G, g, S, &dim);
    S->K = K, S->d = d, S->dim = dim;
    size_t nv = (size_t)dim + 1;
    S->a = malloc(sizeof(int) * nv);
    S->a0 = malloc(sizeof(int) * nv);
    S->k = malloc(sizeof(int) * nv);
    S->E = malloc(sizeof(double) * ((size_t)K * (size_t)d + 1));
    S->gram = malloc(sizeof(double) * ((size_t)K * (size_t)K + 1));
    S->chol = malloc(sizeof(double) * (nv * nv));
    if (!S->a || !S->a0 || !S->k || !S->E || !S->gram || !S->chol) {
        ac_tpg_sfin_free(S);
        return ac_fail(msg, AC_ENOMEM, "S_fin: out of memory for %d generators", dim);
    }
    dim = 0;
    for (int g = 0; g < G->ngraph; g++)
        graph_generators(G, g, S, &dim);
    if (K * d > 0)
        memcpy(S->E, E, sizeof(double) * (size_t)K * (size_t)d);
    ac_la_gram(E, K, d, S->gram);
    for (int g = 0; g < dim; g++)
        for (int h = 0; h < dim; h++)
            S->chol[g * dim + h] = generator_inner(S, g, h);
    ac_status st = ac_la_cholesky(S->chol, dim);
    /* L_gg^2 is the squared norm of the part of generator g orthogonal to
     * generators 0..g-1; relative to ||B_g||^2 it measures dependence. */
    int bad = -1;
    for (int g = 0; st == AC_OK && g < dim && bad < 0; g++)
        if (S->chol[g * dim + g] * S->chol[g * dim + g] <=
            AC_TPG_SFIN_PIVOT_RTOL * generator_inner(S, g, g))
            bad = g;
    if (st == AC_ENUMERIC || bad >= 0) {
        int g = bad >= 0 ? bad : 0;
        ac_fail(msg, AC_ERANK,
                "S_fin: generator %d ((e_%d - e_%d) e_%d^T) is linearly dependent on the "
                "generators before it (its independent part is at or below %.3g of its norm "
                "squared, or the Gram has no Cholesky factor): the embeddings are linearly "
                "dependent",
                bad >= 0 ? g : -1, S->a[g], S->a0[g], S->k[g], AC_TPG_SFIN_PIVOT_RTOL);
        ac_tpg_sfin_free(S);
        return AC_ERANK;
    }
    if (st != AC_OK) {
        ac_tpg_sfin_free(S);
        return ac_fail(msg, st, "S_fin: Cholesky factorisation of the %d x %d Gram failed", dim,
                       dim);
    }
    *out = S;
    return AC_OK;
}

void ac_tpg_sfin_matrix(const ac_tpg_sfin *S, const double *c, double *W)
{
    int d = S->d;
    memset(W, 0, sizeof(double) * (size_t)d * (size_t)d);
    for (int g = 0; g < S->dim; g++) {
        const double *ea = S->E + S->a[g] * d, *e0 = S->E + S->a0[g] * d, *ek = S->E + S->k[g] * d;
        for (int i = 0; i < d; i++) {
            double v = c[g] * (ea[i] - e0[i]);
            for (int j = 0; j < d; j++)
                W[i * d + j] += v * ek[j];
        }
    }
}

/* J_g = <B_g, W> = (e_a - e_a0)^T W e_k. */
static void generator_products(const ac_tpg_sfin *S, const double *W, double *J)
{
    int d = S->d;
    for (int g = 0; g < S->dim; g++) {
        const double *ea = S->E + S->a[g] * d, *e0 = S->E + S->a0[g] * d, *ek = S->E + S->k[g] * d;
        double s = 0.0;
        for (int i = 0; i < d; i++) {
            double Wk = 0.0;
            for (int j = 0; j < d; j++)
                Wk += W[i * d + j] * ek[j];
            s += (ea[i] - e0[i]) * Wk;
        }
        J[g] = s;
    }
}

ac_status ac_tpg_sfin_project(const ac_tpg_sfin *S, const double *W, double *P, double *c)
{
    double *cc = c ? c : malloc(sizeof(double) * ((size_t)S->dim + 1));
    if (!cc)
        return AC_ENOMEM;
    generator_products(S, W, cc);
    ac_la_cholesky_solve(S->chol, S->dim, cc);
    ac_tpg_sfin_matrix(S, cc, P);
    if (!c)
        free(cc);
    return AC_OK;
}

/* ---- W_fin (spec §3.2, §7) --------------------------------------------- */

typedef struct {
    const ac_tpg_sfin *S;
    const ac_tpg_reduced *R;
    double *c, *U, *gU;   /* coefficients, logits and dL/dU at the point */
    double *Hc, *Dt, *mu; /* Hessian in c, one Jacobian row, its softmax mean */
} wfin_ctx;

/* U[j,k] = sum_g c_g (G[j,a_g] - G[j,a0_g]) G[k_g,k]: the token logits of
 * W = sum_g c_g B_g, from the Gram G = E E^T alone. */
static void logits_of_coeffs(const ac_tpg_sfin *S, const double *c, double *U)
{
    int K = S->K;
    const double *Gm = S->gram;
    memset(U, 0, sizeof(double) * (size_t)K * (size_t)K);
    for (int g = 0; g < S->dim; g++)
        for (int j = 0; j < K; j++) {
            double v = c[g] * (Gm[j * K + S->a[g]] - Gm[j * K + S->a0[g]]);
            for (int k = 0; k < K; k++)
                U[j * K + k] += v * Gm[S->k[g] * K + k];
        }
}

/* dU[j,k]/dc_g for all g at one (j, k): (G[j,a_g] - G[j,a0_g]) G[k_g,k]. */
static void logit_jacobian_row(const ac_tpg_sfin *S, int j, int k, double *Dt)
{
    int K = S->K;
    const double *Gm = S->gram;
    for (int g = 0; g < S->dim; g++)
        Dt[g] = (Gm[j * K + S->a[g]] - Gm[j * K + S->a0[g]]) * Gm[S->k[g] * K + k];
}

/* J_g = sum_{j,k} gU[j,k] dU[j,k]/dc_g: the chain rule from dL/dU to c. */
static void coeff_gradient(const ac_tpg_sfin *S, const double *gU, double *J)
{
    int K = S->K;
    const double *Gm = S->gram;
    for (int g = 0; g < S->dim; g++) {
        double s = 0.0;
        for (int j = 0; j < K; j++) {
            double dj = Gm[j * K + S->a[g]] - Gm[j * K + S->a0[g]], row = 0.0;
            if (dj == 0.0)
                continue;
            for (int k = 0; k < K; k++)
                row += gU[j * K + k] * Gm[S->k[g] * K + k];
            s += dj * row;
        }
        J[g] = s;
    }
}

/* Exact Hessian in c.  For example i, the LSE part has Hessian
 * diag(pi) - pi pi^T in the position logits a_t (pi the softmax over
 * positions; the -a_y term is linear), so with D_t = da_t/dc
 *   H_c += (1/n_full) sum_t s_t (D_t - mu)(D_t - mu)^T,  mu = sum_t s_t D_t,
 * the covariance form of D^T (diag s - s s^T) D, PSD by construction. */
static void coeff_hessian(wfin_ctx *x)
{
    const ac_tpg_sfin *S = x->S;
    const ac_tpg_data *D = x->R->data;
    int K = S->K, m = S->dim;
    memset(x->Hc, 0, sizeof(double) * (size_t)m * (size_t)m);
    for (int i = 0; i < D->n; i++) {
        const int *tok = D->tok + D->off[i];
        int len = D->off[i + 1] - D->off[i], k = x->R->last[i];
        double amax = -INFINITY, Z = 0.0;
        for (int t = 0; t < len; t++)
            amax = fmax(amax, x->U[tok[t] * K + k]);
        for (int t = 0; t < len; t++)
            Z += exp(x->U[tok[t] * K + k] - amax);
        memset(x->mu, 0, sizeof(double) * (size_t)m);
        for (int t = 0; t < len; t++) {
            double st = exp(x->U[tok[t] * K + k] - amax) / Z;
            logit_jacobian_row(S, tok[t], k, x->Dt);
            for (int g = 0; g < m; g++)
                x->mu[g] += st * x->Dt[g];
        }
        double w = 1.0 / x->R->n_full;
        for (int t = 0; t < len; t++) {
            double st = w * exp(x->U[tok[t] * K + k] - amax) / Z;
            logit_jacobian_row(S, tok[t], k, x->Dt);
            for (int g = 0; g < m; g++)
                x->Dt[g] -= x->mu[g];
            for (int g = 0; g < m; g++)
                for (int h = 0; h < m; h++)
                    x->Hc[g * m + h] += st * x->Dt[g] * x->Dt[h];
        }
    }
}

/* Newton's objective in z = L^T c: f = L_red, grad_z = L^{-1} J,
 * H_z = L^{-1} H_c L^{-T}. */
static int wfin_fn(void *ctx, const double *z, double *f, double *g, double *H)
{
    wfin_ctx *x = ctx;
    const ac_tpg_sfin *S = x->S;
    int m = S->dim;
    memcpy(x->c, z, sizeof(double) * (size_t)m);
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, m, S->chol, m, x->c, 1);
    logits_of_coeffs(S, x->c, x->U);
    *f = ac_tpg_loss_reduced(x->R, x->U, x->gU); /* non-finite: Newton shortens */
    if (g) {
        coeff_gradient(S, x->gU, g);
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, m, S->chol, m, g, 1);
    }
    if (H) {
        coeff_hessian(x);
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, m, m, 1.0,
                    S->chol, m, x->Hc, m);
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, m, m, 1.0,
                    S->chol, m, x->Hc, m);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++)
                H[i * m + j] = 0.5 * (x->Hc[i * m + j] + x->Hc[j * m + i]);
    }
    return 0;
}

static void wfin_ctx_free(wfin_ctx *x)
{
    free(x->c), free(x->U), free(x->gU), free(x->Hc), free(x->Dt), free(x->mu);
}

ac_status ac_tpg_wfin(const ac_tpg_sfin *S, const ac_tpg_reduced *R,
                      const ac_newton_settings *set, double *Wfin, double *grad_norm_W,
                      ac_newton_info *info, ac_msg *msg)
{
    int m = S->dim, K = S->K;
    ac_newton_info local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    if (grad_norm_W)
        *grad_norm_W = 0.0;
    if (R->data->K > K)
        return ac_fail(msg, AC_EINVAL, "W_fin: the data have %d tokens, S_fin was built for %d",
                       R->data->K, K);
    size_t KK = (size_t)K * (size_t)K + 1, nv = (size_t)m + 1, mm = (size_t)m * (size_t)m + 1;
    if (m == 0) { /* S_fin = {0}: W_fin = 0, and f is L_red(0) */
        double *U0 = calloc(KK, sizeof(double));
        if (!U0)
            return ac_fail(msg, AC_ENOMEM, "W_fin: out of memory");
        memset(Wfin, 0, sizeof(double) * (size_t)S->d * (size_t)S->d);
        info->status = AC_NEWTON_CONVERGED;
        info->f = ac_tpg_loss_reduced(R, U0, NULL);
        free(U0);
        return AC_OK;
    }
    wfin_ctx x = {S, R, malloc(sizeof(double) * nv), malloc(sizeof(double) * KK),
                  malloc(sizeof(double) * KK), malloc(sizeof(double) * mm),
                  malloc(sizeof(double) * nv), malloc(sizeof(double) * nv)};
    double *z = calloc(nv, sizeof(double));
    ac_newton_workspace *w = ac_newton_alloc(m);
    if (!x.c || !x.U || !x.gU || !x.Hc || !x.Dt || !x.mu || !z || !w) {
        wfin_ctx_free(&x), free(z), ac_newton_free(w);
        return ac_fail(msg, AC_ENOMEM, "W_fin: out of memory for %d coordinates", m);
    }
    ac_msg nmsg = {{0}};
    ac_status st = ac_newton_solve(w, wfin_fn, &x, set, z, info, &nmsg);
    if (st == AC_OK) {
        memcpy(x.c, z, sizeof(double) * (size_t)m);
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, m, S->chol, m, x.c, 1);
        ac_tpg_sfin_matrix(S, x.c, Wfin);
        if (grad_norm_W)
            *grad_norm_W = info->grad_norm;
    } else {
        ac_fail(msg, st, "W_fin: %s", nmsg.text);
    }
    wfin_ctx_free(&x), free(z), ac_newton_free(w);
    return st;
}

/* ---- soft composition (spec §3.3) -------------------------------------- */

void ac_tpg_soft_composition(const ac_tpg *G, const double *U, const int *tok, int len, int top,
                             double *p)
{
    int K = G->K;
    memset(p, 0, sizeof(double) * (size_t)K);
    if (len < 1 || top < 0)
        return;
    int k = tok[len - 1], g = G->graph_of[k];
    if (g < 0)
        return;
    double amax = -INFINITY, Z = 0.0;
    for (int t = 0; t < len; t++)
        if (G->comp[g * K + tok[t]] == top)
            amax = fmax(amax, U[tok[t] * K + k]);
    if (amax == -INFINITY)
        return;
    /* p(j) = m_j exp(U[j,k] - max) / Z: a max-shifted softmax over positions. */
    for (int t = 0; t < len; t++)
        if (G->comp[g * K + tok[t]] == top) {
            double e = exp(U[tok[t] * K + k] - amax);
            p[tok[t]] += e;
            Z += e;
        }
    for (int j = 0; j < K; j++)
        p[j] /= Z;
}
