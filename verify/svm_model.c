#include "verify/svm_model.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The step in blocks (spec tpg_svm §1, §4).  With the dataset compacted to
 * the V distinct tokens it uses (rows Ev of E, V x d) and the Q distinct
 * query tokens (rows Eq, Q x d), every logit is an entry of one table,
 *
 *   a_t = x_t^T W xbar_i = UT[q_i, v_t],   UT = Eq W^T Ev^T   (Q x V),
 *
 * and the gradient of the mean loss gathers per-position weights into a
 * table CT of the same shape, CT[q, v] = (1/n) sum of dl_i/da_t over the
 * positions t of the examples i with query q that hold token v:
 *
 *   dL/dW = (1/n) sum_i (X_i^T dl_i/da) xbar_i^T = Ev^T CT^T Eq.
 *
 * Forward and backward are then two products each, Y = Eq W^T (Q x d),
 * UT = Y Ev^T, Z = CT Ev (Q x d) and dL/dW = Z^T Eq: 4 Q d (d + V) flops,
 * against 4 n d (d + T) for the per-position form, and level-3 BLAS.
 *
 * When the table would be much larger than the positions it serves (many
 * distinct queries and tokens, few positions each) the logits are taken
 * position by position instead, a_t = Ev[v_t] . Y[q_i], and the weights
 * added into Z[q_i] directly: the same products at the two ends, 4 d (n_tok
 * + Q d) flops, and memory linear in the data.
 *
 * The identity head's exponentials come from a table PT = exp(UT - row max)
 * when it has at most half as many entries as there are positions
 * (AC_SVM_EXPTAB_RATIO): one exp per (query, token) pair instead of one per
 * position. */

/* Below this many multiply-adds a product is three plain loops: OpenBLAS's
 * dgemm takes 0.08-0.1 us for 6^3 = 216 (loops 0.07 us) and for 8^3 = 512
 * (loops 0.16 us), measured on the 2-core machine of bench/README.md. */
#define BLAS_MIN_MADDS 384
/* The identity head's label sum reuses the shifted exponentials exp(a_t - m)
 * of the full softmax (m >= the largest logit) when the largest label logit
 * is within REUSE_NATS of m: its largest term is then >= e^-600 ~ 3e-261,
 * and terms that underflow below DBL_MIN ~ 2e-308 are < 1e-47 of it, far
 * below rounding.  Otherwise the label terms are recomputed shifted by their own
 * maximum. */
#define REUSE_NATS 600.0

typedef struct {
    int n, ntok, K, d;  /* sizes of the alloc */
    int vmax, qmax;     /* min(K, ntok), min(K, n) */
    size_t tab;         /* doubles in UT and CT: min(qmax vmax, AC_SVM_DENSE_RATIO ntok) */
    /* the dataset set on it */
    const ac_tpg_data *D;
    const double *E;
    int V, Q, dense;
    int *vid, *qid;     /* V token ids, Q query ids, increasing */
    int *ctok, *cq, *cy; /* compact token of each position, query and label
                            of each example (cy: -1 when the label is not a
                            token of the data) */
    int *sortbuf;       /* max(n, ntok) */
    int exptab;         /* the identity head takes its exponentials from PT */
    double *Ev, *Eq, *Y, *Z, *UT, *CT, *PT, *rowmax, *a, *e, *hw;
} work;

static void work_clear(work *w)
{
    void *p[] = {w->vid, w->qid, w->ctok, w->cq, w->cy, w->sortbuf, w->Ev, w->Eq,
                 w->Y,   w->Z,   w->UT,   w->CT, w->PT, w->rowmax, w->a, w->e, w->hw};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
    memset(w, 0, sizeof *w);
}

static int imin(int a, int b) { return a < b ? a : b; }

/* Arrays for n examples, ntok positions, vocabulary K, dimension d (all >= 1). */
static ac_status work_init(work *w, int n, int ntok, int K, int d)
{
    memset(w, 0, sizeof *w);
    w->n = n, w->ntok = ntok, w->K = K, w->d = d;
    w->vmax = imin(K, ntok), w->qmax = imin(K, n);
    size_t full = (size_t)w->qmax * w->vmax, cap = (size_t)AC_SVM_DENSE_RATIO * ntok;
    w->tab = full < cap ? full : cap;
    size_t sz = sizeof(double);
    w->vid = malloc(sizeof(int) * w->vmax);
    w->qid = malloc(sizeof(int) * w->qmax);
    w->ctok = malloc(sizeof(int) * ntok);
    w->cq = malloc(sizeof(int) * n);
    w->cy = malloc(sizeof(int) * n);
    w->sortbuf = malloc(sizeof(int) * (n > ntok ? n : ntok));
    w->Ev = malloc(sz * w->vmax * d);
    w->Eq = malloc(sz * w->qmax * d);
    w->Y = malloc(sz * w->qmax * d);
    w->Z = malloc(sz * w->qmax * d);
    w->UT = malloc(sz * w->tab);
    w->CT = malloc(sz * w->tab);
    w->PT = malloc(sz * w->tab);
    w->rowmax = malloc(sz * w->qmax);
    w->a = malloc(sz * ntok);
    w->e = malloc(sz * ntok);
    w->hw = malloc(sz * (2 * (size_t)d + 2 * (size_t)K));
    if (!w->vid || !w->qid || !w->ctok || !w->cq || !w->cy || !w->sortbuf || !w->Ev || !w->Eq || !w->Y ||
        !w->Z || !w->UT || !w->CT || !w->PT || !w->rowmax || !w->a || !w->e || !w->hw) {
        work_clear(w);
        return AC_ENOMEM;
    }
    return AC_OK;
}

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

/* The distinct values of x (m) into ids, increasing; returns their count. */
static int distinct(const int *x, int m, int *buf, int *ids)
{
    memcpy(buf, x, sizeof(int) * (size_t)m);
    qsort(buf, (size_t)m, sizeof(int), cmp_int);
    int c = 0;
    for (int i = 0; i < m; i++)
        if (c == 0 || buf[i] != ids[c - 1])
            ids[c++] = buf[i];
    return c;
}

/* Index of v in ids (m, increasing), or -1. */
static int find(const int *ids, int m, int v)
{
    const int *p = bsearch(&v, ids, (size_t)m, sizeof(int), cmp_int);
    return p ? (int)(p - ids) : -1;
}

/* Compact D (which fits w's sizes) and gather the rows of E it uses.
 * AC_EINVAL for an id outside [0, D->K) or an empty example without a query. */
static ac_status work_set(work *w, const ac_tpg_data *D, const int *query, const double *E, ac_msg *msg)
{
    int n = D->n, ntok = D->off[n], d = w->d;
    for (int i = 0; i < n; i++) {
        int len = D->off[i + 1] - D->off[i];
        if (len < 1 && !query)
            return ac_fail(msg, AC_EINVAL, "example %d is empty and has no query token", i);
        w->sortbuf[i] = query ? query[i] : D->tok[D->off[i + 1] - 1];
    }
    int *qtok = w->cq; /* the query ids, replaced one by one by their compact index */
    memcpy(qtok, w->sortbuf, sizeof(int) * (size_t)n);
    w->Q = distinct(qtok, n, w->sortbuf, w->qid);
    for (int i = 0; i < n; i++)
        w->cq[i] = find(w->qid, w->Q, qtok[i]);
    w->V = distinct(D->tok, ntok, w->sortbuf, w->vid);
    if ((w->Q && (w->qid[0] < 0 || w->qid[w->Q - 1] >= D->K)) || (w->V && (w->vid[0] < 0 || w->vid[w->V - 1] >= D->K)))
        return ac_fail(msg, AC_EINVAL, "a token or query id is outside the vocabulary of %d tokens", D->K);
    for (int i = 0; i < n; i++)
        if (D->label[i] < 0 || D->label[i] >= D->K)
            return ac_fail(msg, AC_EINVAL, "the label %d of example %d is outside the vocabulary of %d tokens",
                           D->label[i], i, D->K);
    for (int t = 0; t < ntok; t++)
        w->ctok[t] = find(w->vid, w->V, D->tok[t]);
    for (int i = 0; i < n; i++)
        w->cy[i] = find(w->vid, w->V, D->label[i]);
    for (int v = 0; v < w->V; v++)
        memcpy(w->Ev + (size_t)v * d, E + (size_t)w->vid[v] * d, sizeof(double) * (size_t)d);
    for (int q = 0; q < w->Q; q++)
        memcpy(w->Eq + (size_t)q * d, E + (size_t)w->qid[q] * d, sizeof(double) * (size_t)d);
    /* a non-finite embedding the data uses is the caller's input, named
     * here, not a run that "diverged" at its first step */
    for (int v = 0; v < w->V; v++)
        for (int k = 0; k < d; k++)
            if (!isfinite(w->Ev[(size_t)v * d + k]))
                return ac_fail(msg, AC_EINVAL, "the embedding of token %d holds %g at entry %d", w->vid[v],
                               w->Ev[(size_t)v * d + k], k);
    for (int q = 0; q < w->Q; q++)
        for (int k = 0; k < d; k++)
            if (!isfinite(w->Eq[(size_t)q * d + k]))
                return ac_fail(msg, AC_EINVAL, "the embedding of query token %d holds %g at entry %d", w->qid[q],
                               w->Eq[(size_t)q * d + k], k);
    w->dense = (size_t)w->Q * w->V <= w->tab;
    w->exptab = w->dense && (size_t)w->Q * w->V * AC_SVM_EXPTAB_RATIO <= (size_t)ntok;
    w->D = D;
    w->E = E;
    return AC_OK;
}

/* C (m x n) = A (m x k) B^T, B n x k; all row-major. */
static void mul_abt(int m, int n, int k, const double *A, const double *B, double *C)
{
    if ((double)m * n * k >= BLAS_MIN_MADDS) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0, A, k, B, k, 0.0, C, n);
        return;
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int l = 0; l < k; l++)
                s += A[(size_t)i * k + l] * B[(size_t)j * k + l];
            C[(size_t)i * n + j] = s;
        }
}

/* C (m x n) = A (m x k) B, B k x n. */
static void mul_ab(int m, int n, int k, const double *A, const double *B, double *C)
{
    if ((double)m * n * k >= BLAS_MIN_MADDS) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, A, k, B, n, 0.0, C, n);
        return;
    }
    memset(C, 0, sizeof(double) * (size_t)m * n);
    for (int i = 0; i < m; i++)
        for (int l = 0; l < k; l++) {
            double c = A[(size_t)i * k + l];
            for (int j = 0; j < n; j++)
                C[(size_t)i * n + j] += c * B[(size_t)l * n + j];
        }
}

/* C (m x n) = A^T B, A k x m, B k x n. */
static void mul_atb(int m, int n, int k, const double *A, const double *B, double *C)
{
    if ((double)m * n * k >= BLAS_MIN_MADDS) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0, A, m, B, n, 0.0, C, n);
        return;
    }
    memset(C, 0, sizeof(double) * (size_t)m * n);
    for (int l = 0; l < k; l++)
        for (int i = 0; i < m; i++) {
            double c = A[(size_t)l * m + i];
            for (int j = 0; j < n; j++)
                C[(size_t)i * n + j] += c * B[(size_t)l * n + j];
        }
}

static double dot(const double *x, const double *y, int d)
{
    double s = 0.0;
    for (int j = 0; j < d; j++)
        s += x[j] * y[j];
    return s;
}

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

/* Identity head (spec §7): l = LSE(a) - LSE(a over the label positions),
 * positions holding compact token cy.  With e_t = exp(a_t - m), m >= max a,
 * z_y and z_n the sums of e over label and other positions,
 *   l = log1p(z_n / z_y),   dl/da_t = e_t / z (other), -e_t z_n / (z z_y) (label),
 * so a loss near 0 keeps its relative accuracy.  pe, when non-NULL, holds
 * exp(u_v - m) for every compact token v (the example's row of the table),
 * used when max a >= m - REUSE_NATS; otherwise m = max a and the
 * exponentials are taken here.  dl/da goes into e.  +inf (and NaN weights)
 * when the label is absent. */
static double identity_head(const double *a, const double *pe, double m, const int *ct, int len, int cy,
                            double *e)
{
    double mx = -INFINITY, my = -INFINITY;
    for (int t = 0; t < len; t++) {
        mx = a[t] > mx ? a[t] : mx;
        if (ct[t] == cy && a[t] > my)
            my = a[t];
    }
    if (cy < 0 || my == -INFINITY) {
        for (int t = 0; t < len; t++)
            e[t] = NAN;
        return INFINITY;
    }
    if (pe && mx - m >= -REUSE_NATS) {
        for (int t = 0; t < len; t++)
            e[t] = pe[ct[t]];
    } else {
        m = mx;
        for (int t = 0; t < len; t++)
            e[t] = exp(a[t] - m);
    }
    double zy = 0.0, zn = 0.0;
    for (int t = 0; t < len; t++) {
        if (ct[t] == cy)
            zy += e[t];
        else
            zn += e[t];
    }
    double z = zn + zy, iz = 1.0 / z;
    if (my - m >= -REUSE_NATS) {
        double cl = -(zn / z) / zy, x = zn / zy; /* z and zy may be as small as e^-600: no z zy */
        for (int t = 0; t < len; t++)
            e[t] *= ct[t] == cy ? cl : iz;
        /* log1p only where it matters: for x >= 1, 1 + x rounds by eps
         * relative and log(1 + x) >= log 2, so log is as accurate */
        return x < 1.0 ? log1p(x) : log(1.0 + x);
    }
    double zy2 = 0.0; /* label terms shifted by their own maximum */
    for (int t = 0; t < len; t++)
        if (ct[t] == cy)
            zy2 += exp(a[t] - my);
    for (int t = 0; t < len; t++)
        e[t] = ct[t] == cy ? e[t] * iz - exp(a[t] - my) / zy2 : e[t] * iz;
    return (m + log(z)) - (my + log(zy2));
}

/* General head: s = softmax(a), o = X^T s, z = E o, p = softmax(z), loss
 * (1 - p_y)^2 or -log p_y (the two K x d products by dgemv from
 * BLAS_MIN_MADDS on).  Backward: dl/dz, dl/do = E^T dl/dz,
 * dl/ds_t = x_t . dl/do, dl/da = s * (dl/ds - s . dl/ds), into e; a is
 * overwritten. */
static double general_head(const work *w, ac_svm_head head, double *a, const int *ct, int len, int y,
                           double *e)
{
    int K = w->D->K, d = w->d;
    const double *E = w->E;
    double *o = w->hw, *z = o + d, *p = z + K, *go = p + K;
    softmax(a, len, e);
    memset(o, 0, sizeof(double) * (size_t)d);
    for (int t = 0; t < len; t++) {
        const double *x = w->Ev + (size_t)ct[t] * d;
        for (int j = 0; j < d; j++)
            o[j] += e[t] * x[j];
    }
    int blas = (double)K * d >= BLAS_MIN_MADDS;
    if (blas)
        cblas_dgemv(CblasRowMajor, CblasNoTrans, K, d, 1.0, E, d, o, 1, 0.0, z, 1);
    else
        for (int k = 0; k < K; k++)
            z[k] = dot(E + (size_t)k * d, o, d);
    double lse = softmax(z, K, p);
    double loss, c;
    if (head == AC_SVM_HEAD_GENERAL_LSQ) {
        loss = (1.0 - p[y]) * (1.0 - p[y]);
        c = -2.0 * (1.0 - p[y]) * p[y]; /* dl/dz = c (delta_y - p) */
    } else {
        loss = lse - z[y];
        c = -1.0;
    }
    for (int k = 0; k < K; k++)
        p[k] = c * ((k == y) - p[k]); /* p now holds dl/dz */
    if (blas) {
        cblas_dgemv(CblasRowMajor, CblasTrans, K, d, 1.0, E, d, p, 1, 0.0, go, 1);
    } else {
        memset(go, 0, sizeof(double) * (size_t)d);
        for (int k = 0; k < K; k++)
            for (int j = 0; j < d; j++)
                go[j] += p[k] * E[(size_t)k * d + j];
    }
    double sg = 0.0;
    for (int t = 0; t < len; t++) {
        a[t] = dot(w->Ev + (size_t)ct[t] * d, go, d); /* the logits are spent: a holds dl/ds */
        sg += e[t] * a[t];
    }
    for (int t = 0; t < len; t++)
        e[t] *= a[t] - sg;
    return loss;
}

/* PT[q, v] = exp(UT[q, v] - rowmax[q]), rowmax[q] the largest of row q. */
static void exp_table(int Q, int V, const double *UT, double *PT, double *rowmax)
{
    for (int q = 0; q < Q; q++) {
        const double *u = UT + (size_t)q * V;
        double m = -INFINITY;
        for (int v = 0; v < V; v++)
            m = u[v] > m ? u[v] : m;
        rowmax[q] = m;
        for (int v = 0; v < V; v++)
            PT[(size_t)q * V + v] = exp(u[v] - m);
    }
}

/* Mean loss at W over the dataset set on w and, when grad is non-NULL, its
 * gradient (d x d): the products and the per-example heads of the comment
 * at the top. */
static double work_eval(work *w, ac_svm_head head, const double *W, double *grad)
{
    const ac_tpg_data *D = w->D;
    int n = D->n, d = w->d, V = w->V, Q = w->Q;
    double inv_n = 1.0 / n, total = 0.0;
    mul_abt(Q, d, d, w->Eq, W, w->Y); /* Y = Eq W^T: row q is W xbar_q */
    if (w->dense)
        mul_abt(Q, V, d, w->Y, w->Ev, w->UT);
    if (w->exptab && head == AC_SVM_HEAD_IDENTITY)
        exp_table(Q, V, w->UT, w->PT, w->rowmax);
    if (grad)
        memset(w->dense ? w->CT : w->Z, 0, sizeof(double) * (size_t)Q * (w->dense ? V : d));
    for (int i = 0; i < n; i++) {
        const int *ct = w->ctok + D->off[i];
        int len = D->off[i + 1] - D->off[i], q = w->cq[i];
        double *a = w->a, *e = w->e;
        if (w->dense) {
            const double *u = w->UT + (size_t)q * V;
            for (int t = 0; t < len; t++)
                a[t] = u[ct[t]];
        } else {
            for (int t = 0; t < len; t++)
                a[t] = dot(w->Ev + (size_t)ct[t] * d, w->Y + (size_t)q * d, d);
        }
        if (head == AC_SVM_HEAD_IDENTITY)
            total += w->exptab ? identity_head(a, w->PT + (size_t)q * V, w->rowmax[q], ct, len, w->cy[i], e)
                               : identity_head(a, NULL, 0.0, ct, len, w->cy[i], e);
        else
            total += general_head(w, head, a, ct, len, D->label[i], e);
        if (!grad)
            continue;
        if (w->dense) {
            double *c = w->CT + (size_t)q * V;
            for (int t = 0; t < len; t++)
                c[ct[t]] += inv_n * e[t];
        } else {
            double *z = w->Z + (size_t)q * d;
            for (int t = 0; t < len; t++) {
                const double *x = w->Ev + (size_t)ct[t] * d;
                for (int j = 0; j < d; j++)
                    z[j] += inv_n * e[t] * x[j];
            }
        }
    }
    if (grad) {
        if (w->dense)
            mul_ab(Q, d, V, w->CT, w->Ev, w->Z); /* Z = CT Ev */
        mul_atb(d, d, Q, w->Z, w->Eq, grad);     /* dL/dW = Z^T Eq */
    }
    return total * inv_n;
}

double ac_svm_model_loss(const ac_tpg_data *D, const int *query, const double *E, int d, ac_svm_head head,
                         const double *W, double *grad)
{
    work w;
    double l = NAN;
    if (D->n < 1 || D->off[D->n] < 1 || D->K < 1 || d < 1 || work_init(&w, D->n, D->off[D->n], D->K, d) != AC_OK)
        return NAN;
    if (work_set(&w, D, query, E, NULL) == AC_OK)
        l = work_eval(&w, head, W, grad);
    work_clear(&w);
    return l;
}

/* a_t = x_t^T W xbar for the positions of one example; v = W xbar (d). */
static void logits(const int *tok, int len, int q, const double *E, int d, const double *W, double *v, double *a)
{
    const double *xbar = E + (size_t)q * d;
    for (int i = 0; i < d; i++)
        v[i] = dot(W + (size_t)i * d, xbar, d);
    for (int t = 0; t < len; t++)
        a[t] = dot(E + (size_t)tok[t] * d, v, d);
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
    if (!s)
        return "the settings are missing (NULL)";
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
    work w;                 /* sizes of the alloc, the compacted dataset, the step's arrays */
    ac_svm_train_settings set;
    double *W, *Wn, *g;     /* current and next weights, gradient (d x d) */
    ac_train_info info;
    int ready;              /* a good set has run */
};

ac_svm_trainer *ac_svm_trainer_alloc(int n, int ntok, int K, int d)
{
    if (n < 1 || ntok < 1 || K < 1 || d < 1)
        return NULL;
    ac_svm_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    if (work_init(&tr->w, n, ntok, K, d) != AC_OK) {
        free(tr);
        return NULL;
    }
    tr->W = malloc(sizeof(double) * (size_t)d * d);
    tr->Wn = malloc(sizeof(double) * (size_t)d * d);
    tr->g = malloc(sizeof(double) * (size_t)d * d);
    if (!tr->W || !tr->Wn || !tr->g) {
        ac_svm_trainer_free(tr);
        return NULL;
    }
    return tr;
}

void ac_svm_trainer_free(ac_svm_trainer *tr)
{
    if (!tr)
        return;
    work_clear(&tr->w);
    free(tr->W);
    free(tr->Wn);
    free(tr->g);
    free(tr);
}

ac_status ac_svm_trainer_set(ac_svm_trainer *tr, const ac_tpg_data *D, const int *query, const double *E,
                             const ac_svm_train_settings *set, const double *W0, ac_msg *msg)
{
    if (!tr)
        return ac_fail(msg, AC_EINVAL, "training: the trainer is NULL");
    /* no state of an earlier run survives a failed set */
    tr->ready = 0;
    tr->info = (ac_train_info){AC_TRAIN_RUNNING, 0, NAN, NAN, NAN, 0.0};
    ac_svm_train_settings def;
    if (!set) {
        ac_svm_train_settings_default(&def);
        set = &def;
    }
    const char *why = ac_svm_train_settings_check(set);
    if (why)
        return ac_fail(msg, AC_EINVAL, "training settings: %s", why);
    if (!D || !E || !W0)
        return ac_fail(msg, AC_EINVAL, "training: the dataset, the embeddings or W0 is NULL");
    const work *w = &tr->w;
    if (D->n < 1 || D->n > w->n || D->off[D->n] > w->ntok || D->K > w->K)
        return ac_fail(msg, AC_ESIZE,
                       "a dataset of %d examples, %d tokens, vocabulary %d does not fit a trainer for 1..%d, %d, %d",
                       D->n, D->off[D->n], D->K, w->n, w->ntok, w->K);
    ac_status st = work_set(&tr->w, D, query, E, msg);
    if (st != AC_OK)
        return st;
    for (int i = 0; i < w->d * w->d; i++)
        if (!isfinite(W0[i]))
            return ac_fail(msg, AC_EINVAL, "training: W0[%d][%d] = %g is not finite", i / w->d, i % w->d, W0[i]);
    tr->set = *set;
    memcpy(tr->W, W0, sizeof(double) * (size_t)w->d * w->d);
    if (set->steps == 0)
        tr->info.outcome = AC_TRAIN_STEP_LIMIT;
    tr->ready = 1;
    return AC_OK;
}

/* ||x||_2 scaled by max |x_i|, so that a gradient above 1e154 does not
 * overflow to inf and read as a blow-up; NaN when x holds one. */
static double norm2(const double *x, int m)
{
    double s2 = 0.0;
    for (int i = 0; i < m; i++)
        s2 += x[i] * x[i];
    if (s2 >= DBL_MIN && s2 <= DBL_MAX)
        return sqrt(s2); /* nothing overflowed or lost to underflow */
    double mx = 0.0;
    for (int i = 0; i < m; i++) {
        if (isnan(x[i]))
            return NAN;
        mx = fmax(mx, fabs(x[i]));
    }
    if (mx == 0.0 || isinf(mx))
        return mx;
    double s = 0.0;
    for (int i = 0; i < m; i++)
        s += (x[i] / mx) * (x[i] / mx);
    return mx * sqrt(s);
}

/* Wn = W - step g; 0 when every entry of Wn is finite. */
static int take_step(const double *W, const double *g, double step, int m, double *Wn)
{
    int bad = 0;
    for (int i = 0; i < m; i++) {
        Wn[i] = W[i] - step * g[i];
        bad |= !isfinite(Wn[i]);
    }
    return bad;
}

ac_status ac_svm_trainer_iterate(ac_svm_trainer *tr)
{
    if (!tr->ready)
        return AC_EINVAL; /* no dataset to step on */
    ac_train_info *in = &tr->info;
    if (in->outcome != AC_TRAIN_RUNNING)
        return AC_OK;
    double t0 = ac_clock();
    int dd = tr->w.d * tr->w.d;
    double loss = work_eval(&tr->w, tr->set.head, tr->W, tr->g);
    double gn = norm2(tr->g, dd);
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
        if (take_step(tr->W, tr->g, step, dd, tr->Wn)) {
            in->outcome = AC_TRAIN_DIVERGED; /* the step leaves the doubles: keep W */
        } else {
            double *t = tr->W;
            tr->W = tr->Wn, tr->Wn = t;
            in->steps++;
            if (in->steps >= tr->set.steps)
                in->outcome = AC_TRAIN_STEP_LIMIT;
        }
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
    while (tr->ready && tr->info.outcome == AC_TRAIN_RUNNING && tr->info.steps < steps)
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
    ac_svm_train_settings def;
    if (!set) {
        ac_svm_train_settings_default(&def);
        set = &def;
    }
    if (!D || !W || !info)
        return ac_fail(msg, AC_EINVAL, "training: the dataset, W or info is NULL");
    if (D->n < 1 || D->off[D->n] < 1 || D->K < 1 || d < 1)
        return ac_fail(msg, AC_ESIZE, "nothing to train: %d examples, %d tokens, vocabulary %d, d = %d", D->n,
                       D->off[D->n], D->K, d);
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
