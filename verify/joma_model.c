#include "verify/joma_model.h"

#include <gsl/gsl_cblas.h>
#include <float.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verify/trial.h"

/* The shifted softmax b_l = x_l w_l / s, w_l = exp((z_l - max z) / T),
 * s = x . w, is used when s >= this bound: a term x_l w_l that is
 * subnormal (below DBL_MIN, relative error up to 1) then moves b by at
 * most DBL_MIN / s <= DBL_EPSILON, i.e. the formula is as accurate as the
 * per-sample log-sum-exp it replaces.  Below it (every token present in
 * the sample has z_l far below max z) the sample falls back to that
 * log-sum-exp. */
#define SOFTMAX_SUM_MIN (DBL_MIN / DBL_EPSILON)

const char *ac_joma_model_activation_name(ac_joma_model_activation a)
{
    switch (a) {
    case AC_JOMA_MODEL_ACT_IDENTITY: return "identity";
    case AC_JOMA_MODEL_ACT_TANH: return "tanh";
    case AC_JOMA_MODEL_ACT_RELU: return "relu";
    }
    return NULL;
}

const char *ac_joma_model_loss_name(ac_joma_model_loss_kind l)
{
    switch (l) {
    case AC_JOMA_MODEL_LOSS_CE: return "ce";
    case AC_JOMA_MODEL_LOSS_SQUARED: return "squared";
    case AC_JOMA_MODEL_LOSS_LINEAR: return "linear";
    }
    return NULL;
}

/* The batch workspace, for at most B samples of M tokens, K outputs:
 *   bm    B x M  the attention rows b_n (later, LINEAR only: gb_n)
 *   a0    B x K  b_n^T V_C (the MLP's input without the residual q)
 *   dl    B x K  delta_n (the back-propagated dl/da, batch weight included)
 *   V, G  (M+1) x K  U^T W and [B^T Delta; 1^T Delta] (general U only)
 *   w     M      the per-step attention factors (see prepare_attention)
 *   gbb   B      gb_n . b_n (SOFTMAX)
 *   h, dp K      one sample's phi(a) and phi'(a) */
typedef struct {
    double *bm, *a0, *dl, *V, *G, *w, *gbb, *h, *dp;
} work;

static double *work_alloc(int B, int M, int K, work *s)
{
    size_t nb = (size_t)B, nm = (size_t)M, nk = (size_t)K;
    double *p = malloc(sizeof(double) * (nb * nm + 2 * nb * nk + 2 * (nm + 1) * nk + nm + nb + 2 * nk));
    if (!p)
        return NULL;
    s->bm = p;
    s->a0 = s->bm + nb * nm;
    s->dl = s->a0 + nb * nk;
    s->V = s->dl + nb * nk;
    s->G = s->V + (nm + 1) * nk;
    s->w = s->G + (nm + 1) * nk;
    s->gbb = s->w + nm;
    s->h = s->gbb + nb;
    s->dp = s->h + nk;
    return p;
}

/* softmax(ln x + z/T) into b by log-sum-exp over the tokens with x_l > 0. */
static void softmax_lse(int M, double T, const double *x, const double *z, double *b)
{
    double mx = -HUGE_VAL, s = 0.0;
    for (int l = 0; l < M; l++)
        if (x[l] > 0.0)
            mx = ac_max_keep_nan(mx, log(x[l]) + z[l] / T);
    for (int l = 0; l < M; l++)
        if (x[l] > 0.0)
            s += exp(log(x[l]) + z[l] / T - mx);
    double lse = mx + log(s);
    for (int l = 0; l < M; l++)
        b[l] = x[l] > 0.0 ? exp(log(x[l]) + z[l] / T - lse) : 0.0;
}

/* The attention b(x, z) of the header's table, written plainly: SOFTMAX is
 * softmax(ln x + z/T) by log-sum-exp over the tokens with x_l > 0.  The
 * fallback of attention_row. */
static void attention_lse(const ac_joma_model *m, const double *x, const double *z, double *b)
{
    int M = m->M;
    if (m->attention == AC_JOMA_ATT_LINEAR) {
        for (int l = 0; l < M; l++)
            b[l] = x[l] * z[l];
    } else if (m->attention == AC_JOMA_ATT_EXP) {
        for (int l = 0; l < M; l++)
            b[l] = x[l] * exp(z[l] / m->T);
    } else {
        softmax_lse(M, m->T, x, z, b);
    }
}

/* The factors of b that depend on z alone, once per step (M exp instead of
 * M per sample): EXP w_l = exp(z_l / T); SOFTMAX w_l = exp((z_l - max z)/T),
 * so that b_l = x_l w_l / (x . w) = softmax(ln x + z/T)_l; LINEAR none. */
static void prepare_attention(const ac_joma_model *m, const double *z, double *w)
{
    int M = m->M;
    if (m->attention == AC_JOMA_ATT_EXP) {
        for (int l = 0; l < M; l++)
            w[l] = exp(z[l] / m->T);
    } else if (m->attention == AC_JOMA_ATT_SOFTMAX) {
        double zm = -HUGE_VAL;
        for (int l = 0; l < M; l++)
            if (z[l] > zm)
                zm = z[l];
        for (int l = 0; l < M; l++)
            w[l] = exp((z[l] - zm) / m->T);
    }
}

/* b(x, z) from the factors w of prepare_attention. */
static void attention_row(const ac_joma_model *m, const double *x, const double *z, const double *w,
                          double *b)
{
    int M = m->M;
    if (m->attention == AC_JOMA_ATT_LINEAR) {
        for (int l = 0; l < M; l++)
            b[l] = x[l] * z[l];
    } else if (m->attention == AC_JOMA_ATT_EXP) {
        for (int l = 0; l < M; l++)
            b[l] = x[l] * w[l];
    } else {
        double s = 0.0;
        for (int l = 0; l < M; l++)
            s += (b[l] = x[l] * w[l]);
        if (!(s >= SOFTMAX_SUM_MIN && s <= DBL_MAX)) {
            attention_lse(m, x, z, b);
            return;
        }
        double r = 1.0 / s;
        for (int l = 0; l < M; l++)
            b[l] *= r;
    }
}

/* phi(a) and phi'(a) */
static double act(ac_joma_model_activation k, double a, double *dphi)
{
    switch (k) {
    case AC_JOMA_MODEL_ACT_TANH: {
        double t = tanh(a);
        *dphi = 1.0 - t * t;
        return t;
    }
    case AC_JOMA_MODEL_ACT_RELU: *dphi = a > 0.0 ? 1.0 : 0.0; return a > 0.0 ? a : 0.0;
    default: *dphi = 1.0; return a;
    }
}

/* One sample's loss from its MLP input a0 = b^T V_C and the residual
 * weights q (K each); with dl (K), its weighted back-propagated gradient
 *   dl/dh_k = e_k (CE: softmax(h)_k - [k = y]; SQUARED: h_k - [k = y];
 *                  LINEAR: -[k = y]),  h_k = phi(a0_k + q_k),
 *   delta_k = e_k weight phi'(a_k)  into dl.
 * CE's softmax(h)_k is exp(h_k - max h) / sum_j exp(h_j - max h): the
 * same exponentials as the log-sum-exp of the loss. */
static double sample_loss(const ac_joma_model *m, const double *a0, const double *q, int y, double weight,
                          double *dl, work *s)
{
    int K = m->K;
    double loss = 0.0, hmax = -HUGE_VAL;
    for (int k = 0; k < K; k++) {
        s->h[k] = act(m->activation, a0[k] + q[k], &s->dp[k]);
        if (s->h[k] > hmax) /* fmax, inlined: a NaN h leaves hmax */
            hmax = s->h[k];
    }
    if (m->loss == AC_JOMA_MODEL_LOSS_CE) {
        double se = 0.0;
        for (int k = 0; k < K; k++) {
            double ek = exp(s->h[k] - hmax);
            se += ek;
            if (dl)
                dl[k] = ek;
        }
        loss = hmax + log(se) - s->h[y];
        if (!dl)
            return loss;
        double r = 1.0 / se;
        for (int k = 0; k < K; k++)
            dl[k] = (dl[k] * r - (k == y)) * (weight * s->dp[k]);
    } else if (m->loss == AC_JOMA_MODEL_LOSS_LINEAR) {
        loss = -s->h[y];
        for (int k = 0; dl && k < K; k++)
            dl[k] = -(double)(k == y) * (weight * s->dp[k]);
    } else {
        for (int k = 0; k < K; k++) {
            double ek = s->h[k] - (k == y);
            loss += 0.5 * ek * ek;
            if (dl)
                dl[k] = ek * (weight * s->dp[k]);
        }
    }
    return loss;
}

/* The forward pass over the batch: w, the attention rows bm and a0 =
 * bm V_C (one DGEMM); V_C, q point into W (identity U: v_k and q_k are
 * W's first M rows and row M) or into s->V = U^T W.  Returns the mean
 * loss; with grad, the rows delta_n of dl and gbb. */
static double forward(const ac_joma_model *m, const ac_joma_data *D, const int *idx, int B, const double *z,
                      const double *W, int grad, const double **Vp, work *s)
{
    int M = m->M, K = m->K;
    prepare_attention(m, z, s->w);
    for (int j = 0; j < B; j++) {
        int n = idx ? idx[j] : j;
        attention_row(m, D->X + (size_t)n * M, z, s->w, s->bm + (size_t)j * M);
    }
    const double *V = W;
    if (m->U) { /* V = U^T W, (M+1) x K */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M + 1, K, m->d, 1.0, m->U, M + 1, W, K, 0.0,
                    s->V, K);
        V = s->V;
    }
    *Vp = V;
    const double *q = V + (size_t)M * K;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, K, M, 1.0, s->bm, M, V, K, 0.0, s->a0, K);
    double L = 0.0;
    for (int j = 0; j < B; j++) {
        int n = idx ? idx[j] : j;
        const double *a0 = s->a0 + (size_t)j * K;
        double *dl = grad ? s->dl + (size_t)j * K : NULL;
        L += sample_loss(m, a0, q, D->label[n], 1.0 / B, dl, s);
        if (grad && m->attention == AC_JOMA_ATT_SOFTMAX) {
            double g = 0.0; /* gb . b = (V_C delta) . b = delta . a0 */
            for (int k = 0; k < K; k++)
                g += dl[k] * a0[k];
            s->gbb[j] = g;
        }
    }
    return L / B;
}

/* The gradient of the mean loss from the forward pass (spec joma §1):
 *   dL/dw_k = sum_n delta_nk f_n, f_n = U_C b_n + u_q, so
 *     gW = U [G; 1^T Delta] with G = B^T Delta (M x K, one DGEMM);
 *   gb_n = V_C delta_n, and
 *     EXP      dL/dz_l = sum_n gb_nl b_nl / T = sum_k V_lk G_lk / T,
 *     SOFTMAX  dL/dz_l = sum_n b_nl (gb_nl - gb_n . b_n) / T
 *                      = (sum_k V_lk G_lk - sum_n b_nl gbb_n) / T,
 *     LINEAR   dL/dz_l = sum_n gb_nl x_nl (gb = Delta V_C^T, one DGEMM).
 * Identity U: gW's first M rows are G, row M is 1^T Delta, the rest 0. */
static void backward(const ac_joma_model *m, const ac_joma_data *D, const int *idx, int B, const double *V,
                     double *gz, double *gW, work *s)
{
    int M = m->M, K = m->K, d = m->d;
    double *G = m->U ? s->G : gW;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, K, B, 1.0, s->bm, M, s->dl, K, 0.0, G, K);
    double *g1 = G + (size_t)M * K;
    for (int k = 0; k < K; k++)
        g1[k] = 0.0;
    for (int j = 0; j < B; j++)
        for (int k = 0; k < K; k++)
            g1[k] += s->dl[(size_t)j * K + k];
    if (m->U)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, K, M + 1, 1.0, m->U, M + 1, G, K, 0.0, gW,
                    K);
    else if (d > M + 1)
        memset(gW + (size_t)(M + 1) * K, 0, sizeof(double) * (size_t)(d - M - 1) * K);
    if (m->attention == AC_JOMA_ATT_LINEAR) {
        /* bm is free now: gb = Delta V_C^T into it */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, M, K, 1.0, s->dl, K, V, K, 0.0, s->bm, M);
        for (int l = 0; l < M; l++)
            gz[l] = 0.0;
        for (int j = 0; j < B; j++) {
            const double *x = D->X + (size_t)(idx ? idx[j] : j) * M, *gb = s->bm + (size_t)j * M;
            for (int l = 0; l < M; l++)
                gz[l] += gb[l] * x[l];
        }
        return;
    }
    /* G's first M rows still hold B^T Delta when U is the identity (they are gW's) */
    const double *BD = m->U ? s->G : gW;
    for (int l = 0; l < M; l++) {
        double g = 0.0;
        for (int k = 0; k < K; k++)
            g += V[(size_t)l * K + k] * BD[(size_t)l * K + k];
        gz[l] = g;
    }
    if (m->attention == AC_JOMA_ATT_SOFTMAX)
        cblas_dgemv(CblasRowMajor, CblasTrans, B, M, -1.0, s->bm, M, s->gbb, 1, 1.0, gz, 1);
    for (int l = 0; l < M; l++)
        gz[l] /= m->T;
}

/* Mean loss over the batch (idx NULL: the first B samples) and, when gz
 * and gW are non-NULL, its gradient. */
static double batch_loss(const ac_joma_model *m, const ac_joma_data *D, const int *idx, int B,
                         const double *z, const double *W, double *gz, double *gW, work *s)
{
    int grad = gz && gW;
    const double *V;
    double L = forward(m, D, idx, B, z, W, grad, &V, s);
    if (grad)
        backward(m, D, idx, B, V, gz, gW, s);
    return L;
}

static int model_fits(const ac_joma_model *m, const ac_joma_data *D)
{
    return m->M >= 1 && m->K >= 1 && m->d >= 1 && D->M == m->M && D->K == m->K && D->N >= 1 &&
           (m->U || m->d >= m->M + 1);
}

static int labels_ok(const ac_joma_data *D)
{
    for (int n = 0; n < D->N; n++)
        if (D->label[n] < 0 || D->label[n] >= D->K)
            return 0;
    return 1;
}

double ac_joma_model_loss(const ac_joma_model *m, const ac_joma_data *D, const int *idx, int B,
                          const double *z, const double *W, double *gz, double *gW)
{
    if (!model_fits(m, D) || !labels_ok(D))
        return NAN;
    if (!idx)
        B = D->N;
    if (B < 1)
        return NAN;
    for (int j = 0; idx && j < B; j++)
        if (idx[j] < 0 || idx[j] >= D->N)
            return NAN;
    work s;
    double *p = work_alloc(B, m->M, m->K, &s);
    if (!p)
        return NAN;
    double L = batch_loss(m, D, idx, B, z, W, gz, gW, &s);
    free(p);
    return L;
}

double ac_joma_model_entropy(const ac_joma_model *m, const ac_joma_data *D, const double *z)
{
    double *b = malloc(sizeof(double) * 2 * (size_t)m->M), *w = b + m->M;
    if (!b)
        return NAN;
    prepare_attention(m, z, w);
    double H = 0.0;
    for (int l = 0; l < m->M; l++)
        if (isnan(z[l]))
            H = NAN; /* no entropy; and the overflow's fallback below must not make one */
    for (int n = 0; n < D->N && !isnan(H); n++) {
        attention_row(m, D->X + (size_t)n * D->M, z, w, b);
        double s = 0.0, h = 0.0;
        int neg = 0;
        for (int l = 0; l < m->M; l++) {
            s += b[l];
            neg |= b[l] < 0.0;
        }
        if (m->attention == AC_JOMA_ATT_EXP && !(s <= DBL_MAX)) {
            /* exp(z/T) past double range (the linear exp case's blow-up;
             * z has no NaN, checked above, so an infinite or NaN sum is
             * that overflow, 0 x inf for a token the sample lacks): p = b /
             * sum b is still softmax(ln x + z/T), taken by log-sum-exp;
             * inf / inf would make the entropy NaN. */
            softmax_lse(m->M, m->T, D->X + (size_t)n * D->M, z, b);
            s = 1.0;
        }
        if (neg || !(s > 0.0)) {
            H = NAN;
            break;
        }
        for (int l = 0; l < m->M; l++)
            if (b[l] > 0.0)
                h -= b[l] / s * log(b[l] / s);
        H += h / D->N;
    }
    free(b);
    return H;
}

void ac_joma_model_project(const ac_joma_model *m, const double *W, double *V, double *q)
{
    int M = m->M, K = m->K;
    if (!m->U) { /* v_k = w_k's first M entries, q_k its entry M */
        for (int k = 0; k < K; k++) {
            for (int l = 0; l < M; l++)
                V[(size_t)k * M + l] = W[(size_t)l * K + k];
            if (q)
                q[k] = W[(size_t)M * K + k];
        }
        return;
    }
    /* V = W^T U_C (K x M), q = W^T u_q */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, M, m->d, 1.0, W, K, m->U, M + 1, 0.0, V, M);
    if (q)
        cblas_dgemv(CblasRowMajor, CblasTrans, m->d, K, 1.0, W, K, m->U + M, M + 1, 0.0, q, 1);
}

void ac_joma_model_init(gsl_rng *r, const ac_joma_model *m, double scale, double *z0, double *W0)
{
    for (int i = 0; i < m->d * m->K; i++)
        W0[i] = scale * gsl_ran_gaussian(r, 1.0);
    for (int l = 0; l < m->M; l++)
        z0[l] = scale * gsl_ran_gaussian(r, 1.0);
}

void ac_joma_train_settings_default(ac_joma_train_settings *s)
{
    s->steps = AC_JOMA_TRAIN_STEPS_DEFAULT;
    s->lr = AC_JOMA_TRAIN_LR_DEFAULT;
    s->batch = 0;
    s->T = AC_JOMA_TRAIN_T_DEFAULT;
    s->attention = AC_JOMA_ATT_SOFTMAX;
    s->activation = AC_JOMA_MODEL_ACT_IDENTITY;
    s->loss = AC_JOMA_MODEL_LOSS_CE;
    s->grad_tol = 0.0;
    s->diverge_factor = AC_JOMA_TRAIN_DIVERGE_FACTOR;
}

const char *ac_joma_train_settings_check(const ac_joma_train_settings *s)
{
    if (!s)
        return "joma train: settings are NULL";
    if (s->steps < 1)
        return "joma train: steps must be at least 1";
    if (!(s->lr > 0.0) || !isfinite(s->lr))
        return "joma train: learning rate lr must be positive and finite";
    if (s->batch < 0)
        return "joma train: batch must be 0 (full batch) or at least 1";
    if (!(s->T > 0.0) || !isfinite(s->T))
        return "joma train: temperature T must be positive and finite";
    if (!ac_joma_attention_name(s->attention))
        return "joma train: attention must be exp, softmax or linear";
    if (!ac_joma_model_activation_name(s->activation))
        return "joma train: activation must be identity, tanh or relu";
    if (!ac_joma_model_loss_name(s->loss))
        return "joma train: loss must be ce, squared or linear";
    if (!(s->grad_tol >= 0.0))
        return "joma train: grad_tol must be at least 0";
    if (!(s->diverge_factor > 1.0))
        return "joma train: diverge_factor must be above 1";
    return NULL;
}

struct ac_joma_trainer {
    int N, M, K, d;            /* sizes of the alloc */
    ac_joma_model m;
    ac_joma_train_settings set;
    const ac_joma_data *D;
    gsl_rng *r;
    int ready;
    double *buf;               /* one block holding the six arrays below */
    double *z, *W, *zn, *Wn, *gz, *gW; /* M, d K, M, d K, M, d K; z/zn and W/Wn swap */
    int *all, *idx;            /* N each */
    work s;
    double *sbuf;
    ac_train_info info;
};

void ac_joma_trainer_free(ac_joma_trainer *tr)
{
    if (!tr)
        return;
    free(tr->buf);
    free(tr->all);
    free(tr->sbuf);
    free(tr);
}

ac_joma_trainer *ac_joma_trainer_alloc(int N, int M, int K, int d)
{
    if (N < 1 || M < 1 || K < 1 || d < 1)
        return NULL;
    ac_joma_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    tr->N = N, tr->M = M, tr->K = K, tr->d = d;
    size_t dk = (size_t)d * K;
    tr->buf = malloc(sizeof(double) * (3 * (size_t)M + 3 * dk));
    tr->all = malloc(sizeof(int) * 2 * (size_t)N);
    tr->sbuf = work_alloc(N, M, K, &tr->s);
    if (!tr->buf || !tr->all || !tr->sbuf) {
        ac_joma_trainer_free(tr);
        return NULL;
    }
    tr->z = tr->buf;
    tr->zn = tr->z + M;
    tr->gz = tr->zn + M;
    tr->W = tr->gz + M;
    tr->Wn = tr->W + dk;
    tr->gW = tr->Wn + dk;
    tr->idx = tr->all + N;
    return tr;
}

ac_status ac_joma_trainer_set(ac_joma_trainer *tr, const ac_joma_data *D, const double *U,
                              const ac_joma_train_settings *set, const double *z0, const double *W0,
                              gsl_rng *r, ac_msg *msg)
{
    if (!tr)
        return ac_fail(msg, AC_EINVAL, "joma train: the trainer is NULL");
    tr->ready = 0;
    /* no outcome of an earlier run survives a failed set */
    tr->info = (ac_train_info){AC_TRAIN_RUNNING, 0, NAN, NAN, NAN, 0.0};
    const char *why = ac_joma_train_settings_check(set);
    if (why)
        return ac_fail(msg, AC_EINVAL, "%s", why);
    if (!D || !z0 || !W0)
        return ac_fail(msg, AC_EINVAL, "joma train: data, z0 or W0 is NULL");
    if (D->N < 1 || D->N > tr->N || D->M != tr->M || D->K != tr->K)
        return ac_fail(msg, AC_ESIZE,
                       "joma train: data of %d samples, %d tokens, %d classes does not fit a trainer for "
                       "%d samples, %d tokens, %d classes",
                       D->N, D->M, D->K, tr->N, tr->M, tr->K);
    if (set->batch > D->N)
        return ac_fail(msg, AC_EINVAL, "joma train: batch %d is above the %d samples", set->batch, D->N);
    if (set->batch > 0 && set->batch < D->N && !r)
        return ac_fail(msg, AC_EINVAL, "joma train: a minibatch of %d needs a random generator", set->batch);
    if (!U && tr->d < tr->M + 1)
        return ac_fail(msg, AC_EINVAL, "joma train: identity embeddings need d >= M + 1 = %d, d is %d",
                       tr->M + 1, tr->d);
    for (int n = 0; n < D->N; n++)
        if (D->label[n] < 0 || D->label[n] >= D->K)
            return ac_fail(msg, AC_EINVAL, "joma train: sample %d has label %d outside [0, %d)", n,
                           D->label[n], D->K);
    size_t dk = (size_t)tr->d * tr->K;
    for (int l = 0; l < tr->M; l++)
        if (!isfinite(z0[l]))
            return ac_fail(msg, AC_EINVAL, "joma train: z0[%d] = %g is not finite", l, z0[l]);
    for (size_t i = 0; i < dk; i++)
        if (!isfinite(W0[i]))
            return ac_fail(msg, AC_EINVAL, "joma train: W0[%zu] = %g is not finite", i, W0[i]);
    ac_joma_model m = {tr->M, tr->K, tr->d, U, set->attention, set->activation, set->loss, set->T};
    tr->m = m;
    tr->set = *set;
    tr->D = D;
    tr->r = r;
    memcpy(tr->z, z0, sizeof(double) * (size_t)tr->M);
    memcpy(tr->W, W0, sizeof(double) * dk);
    for (int n = 0; n < D->N; n++)
        tr->all[n] = n;
    ac_train_info in = {AC_TRAIN_RUNNING, 0, NAN, NAN, NAN, 0.0};
    tr->info = in;
    tr->ready = 1;
    return AC_OK;
}

/* xn = x - lr g over n entries; 1 when an entry is not finite. */
static int sgd(const double *x, const double *g, double lr, size_t n, double *xn)
{
    for (size_t i = 0; i < n; i++) {
        xn[i] = x[i] - lr * g[i];
        if (!isfinite(xn[i]))
            return 1;
    }
    return 0;
}

ac_status ac_joma_trainer_iterate(ac_joma_trainer *tr)
{
    if (!tr || !tr->ready)
        return AC_EINVAL;
    ac_train_info *in = &tr->info;
    if (in->outcome != AC_TRAIN_RUNNING)
        return AC_OK;
    double t0 = ac_clock();
    const ac_joma_data *D = tr->D;
    int B = D->N;
    const int *idx = NULL;
    if (tr->set.batch > 0 && tr->set.batch < D->N) {
        B = tr->set.batch;
        gsl_ran_choose(tr->r, tr->idx, (size_t)B, tr->all, (size_t)D->N, sizeof(int));
        idx = tr->idx;
    }
    size_t dk = (size_t)tr->d * tr->K;
    double loss = batch_loss(&tr->m, D, idx, B, tr->z, tr->W, tr->gz, tr->gW, &tr->s);
    double gn = 0.0;
    for (int l = 0; l < tr->M; l++)
        gn += tr->gz[l] * tr->gz[l];
    for (size_t i = 0; i < dk; i++)
        gn += tr->gW[i] * tr->gW[i];
    gn = sqrt(gn);
    if (in->steps == 0)
        in->loss0 = loss;
    in->loss = loss;
    in->grad_norm = gn;
    if (!isfinite(loss) || !isfinite(gn) || loss > tr->set.diverge_factor * fmax(1.0, in->loss0)) {
        in->outcome = AC_TRAIN_DIVERGED;
    } else if (gn <= tr->set.grad_tol) {
        in->outcome = AC_TRAIN_CONVERGED;
    } else if (sgd(tr->z, tr->gz, tr->set.lr, (size_t)tr->M, tr->zn) ||
               sgd(tr->W, tr->gW, tr->set.lr, dk, tr->Wn)) {
        in->outcome = AC_TRAIN_DIVERGED; /* keep the last finite iterate */
    } else {
        double *t = tr->z;
        tr->z = tr->zn, tr->zn = t;
        t = tr->W;
        tr->W = tr->Wn, tr->Wn = t;
        in->steps++;
        if (in->steps >= tr->set.steps)
            in->outcome = AC_TRAIN_STEP_LIMIT;
    }
    in->seconds += ac_clock() - t0;
    return AC_OK;
}

ac_train_outcome ac_joma_trainer_test(const ac_joma_trainer *tr)
{
    return tr->info.outcome;
}

ac_train_outcome ac_joma_trainer_run(ac_joma_trainer *tr, long steps)
{
    while (tr->ready && tr->info.outcome == AC_TRAIN_RUNNING && tr->info.steps < steps)
        ac_joma_trainer_iterate(tr);
    return tr->info.outcome;
}

const double *ac_joma_trainer_z(const ac_joma_trainer *tr)
{
    return tr->z;
}

const double *ac_joma_trainer_W(const ac_joma_trainer *tr)
{
    return tr->W;
}

const ac_joma_model *ac_joma_trainer_model(const ac_joma_trainer *tr)
{
    return &tr->m;
}

const ac_train_info *ac_joma_trainer_info(const ac_joma_trainer *tr)
{
    return &tr->info;
}

ac_status ac_joma_train(const ac_joma_data *D, const double *U, int d,
                        const ac_joma_train_settings *set, const double *z0, const double *W0,
                        gsl_rng *r, double *z, double *W, ac_train_info *info, ac_msg *msg)
{
    if (!D || D->N < 1 || D->M < 1 || D->K < 1 || d < 1)
        return ac_fail(msg, AC_ESIZE, "joma train: nothing to train (data of %d samples, d = %d)",
                       D ? D->N : 0, d);
    ac_joma_trainer *tr = ac_joma_trainer_alloc(D->N, D->M, D->K, d);
    if (!tr)
        return ac_fail(msg, AC_ENOMEM, "joma train: no memory for a trainer of %d samples, d = %d", D->N, d);
    ac_status st = ac_joma_trainer_set(tr, D, U, set, z0, W0, r, msg);
    if (st == AC_OK) {
        ac_joma_trainer_run(tr, set->steps);
        memcpy(z, tr->z, sizeof(double) * (size_t)D->M);
        memcpy(W, tr->W, sizeof(double) * (size_t)d * D->K);
        *info = tr->info;
    }
    ac_joma_trainer_free(tr);
    return st;
}
