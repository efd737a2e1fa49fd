#include "verify/svm_model.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Softmax of a (len) into s, returning log sum exp(a). */
static double softmax(const double *a, int len, double *s)
{
    double mx = -INFINITY;
    for (int t = 0; t < len; t++)
        mx = a[t] > mx ? a[t] : mx;
    double z = 0.0;
    for (int t = 0; t < len; t++) {
        s[t] = exp(a[t] - mx);
        z += s[t];
    }
    for (int t = 0; t < len; t++)
        s[t] /= z;
    return mx + log(z);
}

/* a_t = x_t^T W xbar for the positions of one example; v = W xbar (d). */
static void logits(const int *tok, int len, int q, const double *E, int d, const double *W, double *v, double *a)
{
    const double *xbar = E + (size_t)q * d;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, d, d, 1.0, W, d, xbar, 1, 0.0, v, 1);
    for (int t = 0; t < len; t++)
        a[t] = cblas_ddot(d, E + (size_t)tok[t] * d, 1, v, 1);
}

/* Identity head: l = LSE(a) - LSE(a over label positions); dl/da = s - q with
 * q the softmax over the label positions (spec §7). */
static double identity_head(const int *tok, int len, int y, const double *a, double *s, double *q,
                            double *dl_da)
{
    double lse = softmax(a, len, s);
    double mx = -INFINITY;
    for (int t = 0; t < len; t++)
        if (tok[t] == y && a[t] > mx)
            mx = a[t];
    double z = 0.0;
    for (int t = 0; t < len; t++) {
        q[t] = tok[t] == y ? exp(a[t] - mx) : 0.0;
        z += q[t];
    }
    for (int t = 0; t < len; t++)
        dl_da[t] = s[t] - q[t] / z;
    return lse - (mx + log(z));
}

/* General head: o = X^T s, z = E o, p = softmax(z), loss (1 - p_y)^2 or
 * -log p_y.  Backward: dl/dz, dl/do = E^T dl/dz, dl/ds_t = x_t . dl/do,
 * dl/da = s * (dl/ds - s . dl/ds). */
static double general_head(const int *tok, int len, int y, const double *E, int K, int d,
                           ac_svm_head head, const double *a, double *s, double *work, double *dl_da)
{
    double *o = work, *z = o + d, *p = z + K, *go = p + K;
    softmax(a, len, s);
    memset(o, 0, sizeof(double) * (size_t)d);
    for (int t = 0; t < len; t++)
        cblas_daxpy(d, s[t], E + (size_t)tok[t] * d, 1, o, 1);
    cblas_dgemv(CblasRowMajor, CblasNoTrans, K, d, 1.0, E, d, o, 1, 0.0, z, 1);
    double lse = softmax(z, K, p);
    double loss, c;
    if (head == AC_SVM_HEAD_GENERAL_LSQ) {
        loss = (1.0 - p[y]) * (1.0 - p[y]);
        c = -2.0 * (1.0 - p[y]) * p[y]; /* dl/dz = c (delta_y - p) */
    } else {
        loss = lse - z[y];
        c = -1.0;
    }
    for (int j = 0; j < K; j++)
        p[j] = c * ((j == y) - p[j]); /* p now holds dl/dz */
    cblas_dgemv(CblasRowMajor, CblasTrans, K, d, 1.0, E, d, p, 1, 0.0, go, 1);
    double sg = 0.0;
    for (int t = 0; t < len; t++) {
        dl_da[t] = cblas_ddot(d, E + (size_t)tok[t] * d, 1, go, 1);
        sg += s[t] * dl_da[t];
    }
    for (int t = 0; t < len; t++)
        dl_da[t] = s[t] * (dl_da[t] - sg);
    return loss;
}

static int max_len(const ac_tpg_data *D)
{
    int m = 1;
    for (int i = 0; i < D->n; i++)
        if (D->off[i + 1] - D->off[i] > m)
            m = D->off[i + 1] - D->off[i];
    return m;
}

double ac_svm_model_loss(const ac_tpg_data *D, const int *query, const double *E, int d, ac_svm_head head,
                         const double *W, double *grad)
{
    int K = D->K, L = max_len(D);
    size_t nwork = (size_t)4 * L + d + (size_t)2 * d + 2 * (size_t)K + d;
    double *buf = malloc(sizeof(double) * nwork);
    if (!buf)
        return NAN;
    double *a = buf, *s = a + L, *q = s + L, *dl_da = q + L, *v = dl_da + L, *g = v + d, *work = g + d;
    if (grad)
        memset(grad, 0, sizeof(double) * (size_t)d * d);
    double total = 0.0;
    for (int i = 0; i < D->n; i++) {
        const int *tok = D->tok + D->off[i];
        int len = D->off[i + 1] - D->off[i];
        int qt = query ? query[i] : tok[len - 1];
        logits(tok, len, qt, E, d, W, v, a);
        double l = head == AC_SVM_HEAD_IDENTITY
                       ? identity_head(tok, len, D->label[i], a, s, q, dl_da)
                       : general_head(tok, len, D->label[i], E, K, d, head, a, s, work, dl_da);
        total += l;
        if (!grad)
            continue;
        /* dl/dW = (X^T dl/da) xbar^T */
        memset(g, 0, sizeof(double) * (size_t)d);
        for (int t = 0; t < len; t++)
            cblas_daxpy(d, dl_da[t], E + (size_t)tok[t] * d, 1, g, 1);
        cblas_dger(CblasRowMajor, d, d, 1.0 / D->n, g, 1, E + (size_t)qt * d, 1, grad, d);
    }
    free(buf);
    return total / D->n;
}

void ac_svm_model_attention(const int *tok, int len, const double *E, int K, int d, const double *W,
                            double *mass)
{
    double *buf = malloc(sizeof(double) * ((size_t)2 * len + d));
    memset(mass, 0, sizeof(double) * (size_t)K);
    if (!buf) {
        for (int j = 0; j < K; j++)
            mass[j] = NAN;
        return;
    }
    double *a = buf, *s = a + len, *v = s + len;
    logits(tok, len, tok[len - 1], E, d, W, v, a);
    softmax(a, len, s);
    for (int t = 0; t < len; t++)
        mass[tok[t]] += s[t];
    free(buf);
}

void ac_svm_model_init(gsl_rng *r, int d, double *W)
{
    double b = 1.0 / sqrt((double)d);
    for (int i = 0; i < d * d; i++)
        W[i] = -b + 2.0 * b * gsl_rng_uniform(r);
}

void ac_svm_train_settings_default(ac_svm_train_settings *s)
{
    *s = (ac_svm_train_settings){.steps = AC_SVM_TRAIN_STEPS_DEFAULT,
                                 .lr = AC_SVM_TRAIN_LR_DEFAULT,
                                 .normalized = 1,
                                 .head = AC_SVM_HEAD_IDENTITY,
                                 .grad_tol = 0.0,
                                 .diverge_factor = AC_SVM_TRAIN_DIVERGE_FACTOR};
}

const char *ac_svm_train_settings_check(const ac_svm_train_settings *s)
{
    if (s->steps < 0)
        return "the step limit is negative";
    if (!(s->lr > 0.0) || !isfinite(s->lr))
        return "the step size lr must be positive and finite";
    if (s->normalized != 0 && s->normalized != 1)
        return "normalized must be 0 (plain GD) or 1 (normalised GD)";
    if (s->head != AC_SVM_HEAD_IDENTITY && s->head != AC_SVM_HEAD_GENERAL_LSQ && s->head != AC_SVM_HEAD_GENERAL_CE)
        return "the head is not one of identity, general-lsq, general-ce";
    if (!(s->grad_tol >= 0.0) || !isfinite(s->grad_tol))
        return "the gradient tolerance grad_tol must be finite and >= 0";
    if (!(s->diverge_factor > 1.0))
        return "the blow-up factor diverge_factor must be > 1";
    return NULL;
}

struct ac_svm_trainer {
    int n, ntok, K, d;          /* sizes of the alloc */
    const ac_tpg_data *D;
    const int *query;
    const double *E;
    ac_svm_train_settings set;
    double *W, *g;
    ac_train_info info;
};

ac_svm_trainer *ac_svm_trainer_alloc(int n, int ntok, int K, int d)
{
    if (n < 1 || ntok < 1 || K < 1 || d < 1)
        return NULL;
    ac_svm_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    tr->W = malloc(sizeof(double) * (size_t)d * d);
    tr->g = malloc(sizeof(double) * (size_t)d * d);
    if (!tr->W || !tr->g) {
        ac_svm_trainer_free(tr);
        return NULL;
    }
    tr->n = n, tr->ntok = ntok, tr->K = K, tr->d = d;
    return tr;
}

void ac_svm_trainer_free(ac_svm_trainer *tr)
{
    if (!tr)
        return;
    free(tr->W);
    free(tr->g);
    free(tr);
}

ac_status ac_svm_trainer_set(ac_svm_trainer *tr, const ac_tpg_data *D, const int *query, const double *E,
                             const ac_svm_train_settings *set, const double *W0, ac_msg *msg)
{
    const char *why = ac_svm_train_settings_check(set);
    if (why)
        return ac_fail(msg, AC_EINVAL, "training settings: %s", why);
    if (D->n > tr->n || D->off[D->n] > tr->ntok || D->K > tr->K)
        return ac_fail(msg, AC_ESIZE,
                       "a dataset of %d examples, %d tokens, vocabulary %d does not fit a trainer for %d, %d, %d",
                       D->n, D->off[D->n], D->K, tr->n, tr->ntok, tr->K);
    tr->D = D;
    tr->query = query;
    tr->E = E;
    tr->set = *set;
    memcpy(tr->W, W0, sizeof(double) * (size_t)tr->d * tr->d);
    tr->info = (ac_train_info){AC_TRAIN_RUNNING, 0, NAN, NAN, NAN, 0.0};
    if (set->steps == 0)
        tr->info.outcome = AC_TRAIN_STEP_LIMIT;
    return AC_OK;
}

ac_status ac_svm_trainer_iterate(ac_svm_trainer *tr)
{
    ac_train_info *in = &tr->info;
    if (in->outcome != AC_TRAIN_RUNNING)
        return AC_OK;
    double t0 = ac_clock();
    int dd = tr->d * tr->d;
    double loss = ac_svm_model_loss(tr->D, tr->query, tr->E, tr->d, tr->set.head, tr->W, tr->g);
    double gn = cblas_dnrm2(dd, tr->g, 1);
    if (in->steps == 0)
        in->loss0 = loss;
    in->loss = loss;
    in->grad_norm = gn;
    if (!isfinite(loss) || !isfinite(gn) || loss > tr->set.diverge_factor * fmax(1.0, in->loss0)) {
        in->outcome = AC_TRAIN_DIVERGED;
    } else if (gn <= tr->set.grad_tol) {
        in->outcome = AC_TRAIN_CONVERGED;
    } else {
        double step = tr->set.normalized ? tr->set.lr / (gn + AC_SVM_NGD_EPS) : tr->set.lr;
        cblas_daxpy(dd, -step, tr->g, 1, tr->W, 1);
        in->steps++;
        if (in->steps >= tr->set.steps)
            in->outcome = AC_TRAIN_STEP_LIMIT;
    }
    in->seconds += ac_clock() - t0;
    return AC_OK;
}

ac_train_outcome ac_svm_trainer_test(const ac_svm_trainer *tr)
{
    return tr->info.outcome;
}

ac_train_outcome ac_svm_trainer_run(ac_svm_trainer *tr, long steps)
{
    while (tr->info.outcome == AC_TRAIN_RUNNING && tr->info.steps < steps)
        ac_svm_trainer_iterate(tr);
    return tr->info.outcome;
}

const double *ac_svm_trainer_W(const ac_svm_trainer *tr)
{
    return tr->W;
}

const ac_train_info *ac_svm_trainer_info(const ac_svm_trainer *tr)
{
    return &tr->info;
}

ac_status ac_svm_train(const ac_tpg_data *D, const int *query, const double *E, int d,
                       const ac_svm_train_settings *set, const double *W0, double *W, ac_train_info *info,
                       ac_msg *msg)
{
    ac_svm_trainer *tr = ac_svm_trainer_alloc(D->n, D->off[D->n], D->K, d);
    if (!tr)
        return ac_fail(msg, AC_ENOMEM, "no memory for a trainer of %d examples, d = %d", D->n, d);
    ac_status st = ac_svm_trainer_set(tr, D, query, E, set, W0, msg);
    if (st == AC_OK) {
        ac_svm_trainer_run(tr, set->steps);
        memcpy(W, tr->W, sizeof(double) * (size_t)d * d);
        *info = tr->info;
    }
    ac_svm_trainer_free(tr);
    return st;
}
