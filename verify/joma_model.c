#include "verify/joma_model.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* U[i][j] (d x (M+1)); the identity when U is NULL. */
static double emb(const ac_joma_model *m, int i, int j)
{
    return m->U ? m->U[i * (m->M + 1) + j] : (double)(i == j);
}

/* Per-sample scratch: b, gb (M); f, gf (d); a, h, e (K). */
typedef struct {
    double *b, *gb, *f, *gf, *a, *h, *e;
} scratch;

static double *scratch_alloc(const ac_joma_model *m, scratch *s)
{
    double *p = malloc(sizeof(double) * (size_t)(2 * m->M + 2 * m->d + 3 * m->K));
    if (!p)
        return NULL;
    s->b = p;
    s->gb = s->b + m->M;
    s->f = s->gb + m->M;
    s->gf = s->f + m->d;
    s->a = s->gf + m->d;
    s->h = s->a + m->K;
    s->e = s->h + m->K;
    return p;
}

/* The attention b(x, z) of the header's table. */
static void attention(const ac_joma_model *m, const double *x, const double *z, double *b)
{
    int M = m->M;
    if (m->attention == AC_JOMA_ATT_LINEAR) {
        for (int l = 0; l < M; l++)
            b[l] = x[l] * z[l];
    } else if (m->attention == AC_JOMA_ATT_EXP) {
        for (int l = 0; l < M; l++)
            b[l] = x[l] * exp(z[l] / m->T);
    } else {
        /* softmax(ln x + z/T) by log-sum-exp over the tokens with x_l > 0 */
        double mx = -HUGE_VAL, s = 0.0;
        for (int l = 0; l < M; l++)
            if (x[l] > 0.0)
                mx = fmax(mx, log(x[l]) + z[l] / m->T);
        for (int l = 0; l < M; l++)
            if (x[l] > 0.0)
                s += exp(log(x[l]) + z[l] / m->T - mx);
        double lse = mx + log(s);
        for (int l = 0; l < M; l++)
            b[l] = x[l] > 0.0 ? exp(log(x[l]) + z[l] / m->T - lse) : 0.0;
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

/* One sample's loss; with gz, gW, adds weight times its gradient:
 *   dl/dh_k = e_k (CE: softmax(h)_k - [k = y]; SQUARED: h_k - [k = y];
 *                  LINEAR: -[k = y]),
 *   delta_k = weight e_k phi'(a_k),  dl/dw_k = delta_k f,
 *   dl/db = U_C^T sum_k delta_k w_k =: gb,
 *   dl/dz_l = EXP gb_l b_l / T; SOFTMAX b_l (gb_l - gb . b) / T; LINEAR gb_l x_l. */
static double sample_loss(const ac_joma_model *m, const double *x, int y, const double *z,
                          const double *W, double weight, double *gz, double *gW, scratch *s)
{
    int M = m->M, K = m->K, d = m->d;
    attention(m, x, z, s->b);
    /* f = U_C b + u_q */
    for (int i = 0; i < d; i++) {
        double fi = emb(m, i, M);
        for (int l = 0; l < M; l++)
            fi += emb(m, i, l) * s->b[l];
        s->f[i] = fi;
    }
    double loss = 0.0, hmax = -HUGE_VAL;
    for (int k = 0; k < K; k++) {
        double a = 0.0;
        for (int i = 0; i < d; i++)
            a += W[i * K + k] * s->f[i];
        s->h[k] = act(m->activation, a, &s->a[k]); /* a[k] now holds phi'(a_k) */
        hmax = fmax(hmax, s->h[k]);
    }
    if (m->loss == AC_JOMA_MODEL_LOSS_CE) {
        double se = 0.0;
        for (int k = 0; k < K; k++)
            se += exp(s->h[k] - hmax);
        double lse = hmax + log(se);
        loss = lse - s->h[y];
        for (int k = 0; k < K; k++)
            s->e[k] = exp(s->h[k] - lse) - (k == y);
    } else if (m->loss == AC_JOMA_MODEL_LOSS_LINEAR) {
        loss = -s->h[y];
        for (int k = 0; k < K; k++)
            s->e[k] = -(double)(k == y);
    } else {
        for (int k = 0; k < K; k++) {
            s->e[k] = s->h[k] - (k == y);
            loss += 0.5 * s->e[k] * s->e[k];
        }
    }
    if (!gz || !gW)
        return loss;
    for (int k = 0; k < K; k++)
        s->e[k] *= weight * s->a[k]; /* delta_k */
    for (int i = 0; i < d; i++) {
        double g = 0.0;
        for (int k = 0; k < K; k++) {
            gW[i * K + k] += s->e[k] * s->f[i];
            g += s->e[k] * W[i * K + k];
        }
        s->gf[i] = g;
    }
    double gbb = 0.0;
    for (int l = 0; l < M; l++) {
        double g = 0.0;
        for (int i = 0; i < d; i++)
            g += emb(m, i, l) * s->gf[i];
        s->gb[l] = g;
        gbb += g * s->b[l];
    }
    for (int l = 0; l < M; l++) {
        switch (m->attention) {
        case AC_JOMA_ATT_LINEAR: gz[l] += s->gb[l] * x[l]; break;
        case AC_JOMA_ATT_SOFTMAX: gz[l] += s->b[l] * (s->gb[l] - gbb) / m->T; break;
        default: gz[l] += s->gb[l] * s->b[l] / m->T; break;
        }
    }
    return loss;
}

/* Mean loss over the batch (idx NULL: all samples) and its gradient. */
static double batch_loss(const ac_joma_model *m, const ac_joma_data *D, const int *idx, int B,
                         const double *z, const double *W, double *gz, double *gW, scratch *s)
{
    if (gz && gW) {
        memset(gz, 0, sizeof(double) * (size_t)m->M);
        memset(gW, 0, sizeof(double) * (size_t)m->d * m->K);
    }
    double L = 0.0;
    for (int j = 0; j < B; j++) {
        int n = idx ? idx[j] : j;
        L += sample_loss(m, D->X + n * D->M, D->label[n], z, W, 1.0 / B, gz, gW, s);
    }
    return L / B;
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
    scratch s;
    double *p = scratch_alloc(m, &s);
    if (!p)
        return NAN;
    double L = batch_loss(m, D, idx, B, z, W, gz, gW, &s);
    free(p);
    return L;
}

double ac_joma_model_entropy(const ac_joma_model *m, const ac_joma_data *D, const double *z)
{
    double *b = malloc(sizeof(double) * (size_t)m->M);
    if (!b)
        return NAN;
    double H = 0.0;
    for (int n = 0; n < D->N; n++) {
        attention(m, D->X + n * D->M, z, b);
        double s = 0.0, h = 0.0;
        int neg = 0;
        for (int l = 0; l < m->M; l++) {
            s += b[l];
            neg |= b[l] < 0.0;
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
    for (int k = 0; k < K; k++) {
        for (int l = 0; l <= M; l++) {
            double s = 0.0;
            for (int i = 0; i < m->d; i++)
                s += emb(m, i, l) * W[i * K + k];
            if (l < M)
                V[k * M + l] = s;
            else if (q)
                q[k] = s;
        }
    }
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
    scratch s;
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
    ac_joma_model shape = {M, K, d, NULL, AC_JOMA_ATT_SOFTMAX, AC_JOMA_MODEL_ACT_IDENTITY,
                           AC_JOMA_MODEL_LOSS_CE, 1.0};
    tr->sbuf = scratch_alloc(&shape, &tr->s);
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
    tr->ready = 0;
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
