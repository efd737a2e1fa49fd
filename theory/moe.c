/* Bidirectional attention as CBOW with mixture-of-experts weights (spec
 * cbow_moe §1, §2.1-§2.4, §4.2): the reparameterisation, the conditionals
 * from the attention network and from the form, the reverse construction
 * and the analogy defect.  Two code paths on purpose: ac_moe_attention_logp
 * projects queries, keys and values as the network does; ac_moe_form_logp
 * never sees W_Q, W_K, W_V, only gates, experts and output embeddings. */
#include "theory/moe.h"

#include <gsl/gsl_randist.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Sizes and checks --------------------------------------------------- */

void ac_moe_sizes_default(ac_moe_sizes *s)
{
    memset(s, 0, sizeof *s);
    s->V = 7, s->L = 5, s->d = 6, s->dk = 4, s->dv = 3, s->H = 1, s->dout = 3;
    s->layers = 1, s->self = 1, s->residual = 0;
}

static int dim_ok(int n)
{
    return n >= 1 && n <= AC_MOE_MAX_DIM;
}

const char *ac_moe_sizes_check(const ac_moe_sizes *s)
{
    if (!s)
        return "CBOW-MoE sizes are missing (NULL)";
    if (!dim_ok(s->V))
        return "the vocabulary size V must lie in 1..4096 (AC_MOE_MAX_DIM)";
    if (!dim_ok(s->L))
        return "the sentence length L must lie in 1..4096 (AC_MOE_MAX_DIM)";
    if (!dim_ok(s->d) || !dim_ok(s->dk) || !dim_ok(s->dv) || !dim_ok(s->dout))
        return "the widths d, dk, dv and dout must lie in 1..4096 (AC_MOE_MAX_DIM)";
    if (!dim_ok(s->H) || (long)s->H * s->dv > AC_MOE_MAX_DIM)
        return "the heads H must be >= 1 with H dv <= 4096 (AC_MOE_MAX_DIM)";
    if (s->layers != 1 && s->layers != 2)
        return "the number of layers must be 1 or 2";
    if (s->self != 0 && s->self != 1)
        return "the self flag must be 0 (masked slot not attended) or 1 (attended)";
    if (s->residual != 0 && s->residual != 1)
        return "the residual flag must be 0 or 1";
    if (!s->self && s->L < 2)
        return "without the masked slot among the keys (self = 0) the length L must be >= 2";
    if (s->residual && s->dout != s->d)
        return "the residual h_i + e_i needs dout = d";
    if (s->layers == 2 && (s->H != 1 || s->residual || s->dout != s->dv))
        return "the two-layer form needs one head, no residual and dout = dv";
    return NULL;
}

static int finite_all(const double *x, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!isfinite(x[k]))
            return 0;
    return 1;
}

const char *ac_moe_attention_check(const ac_moe_attention *m)
{
    if (!m)
        return "the attention model is missing (NULL)";
    const ac_moe_sizes *s = &m->s;
    const char *e = ac_moe_sizes_check(s);
    if (e)
        return e;
    size_t V = (size_t)s->V, L = (size_t)s->L, d = (size_t)s->d, dk = (size_t)s->dk,
           dv = (size_t)s->dv, H = (size_t)s->H, dout = (size_t)s->dout;
    if (!m->E || !m->Wq || !m->Wk || !m->Wv || !m->U)
        return "the attention model needs E, W_Q, W_K, W_V and U";
    if (!m->Wo && dout != H * dv)
        return "without W_O the output layer U must have H dv columns (dout = H dv)";
    if (s->layers == 2) {
        if (!m->Wq2 || !m->Wk2 || !m->Wv2)
            return "a two-layer model needs W_Q2, W_K2 and W_V2";
        if (m->bq || m->bk || m->bv || m->Wo || m->bo)
            return "the two-layer form covers no biases and no W_O";
    } else if (m->Wq2 || m->Wk2 || m->Wv2) {
        return "layer-2 weights given for a one-layer model";
    }
    struct { const double *x; size_t n; const char *msg; } arr[] = {
        {m->E, (V + 1) * d, "token embeddings E contain NaN or infinity"},
        {m->P, L * d, "positional encodings P contain NaN or infinity"},
        {m->Wq, H * dk * d, "W_Q contains NaN or infinity"},
        {m->Wk, H * dk * d, "W_K contains NaN or infinity"},
        {m->Wv, H * dv * d, "W_V contains NaN or infinity"},
        {m->bq, H * dk, "the query bias contains NaN or infinity"},
        {m->bk, H * dk, "the key bias contains NaN or infinity"},
        {m->bv, H * dv, "the value bias contains NaN or infinity"},
        {m->Wo, dout * H * dv, "W_O contains NaN or infinity"},
        {m->bo, dout, "the output-projection bias contains NaN or infinity"},
        {m->U, V * dout, "the output layer U contains NaN or infinity"},
        {m->c, V, "the output bias c contains NaN or infinity"},
        {m->Wq2, dk * dv, "W_Q2 contains NaN or infinity"},
        {m->Wk2, dk * dv, "W_K2 contains NaN or infinity"},
        {m->Wv2, dv * dv, "W_V2 contains NaN or infinity"},
    };
    for (size_t k = 0; k < sizeof arr / sizeof arr[0]; k++)
        if (arr[k].x && !finite_all(arr[k].x, arr[k].n))
            return arr[k].msg;
    return NULL;
}

static ac_status check_sentence(const ac_moe_sizes *s, const int *x, int i, ac_msg *msg)
{
    if (i < 0 || i >= s->L)
        return ac_fail(msg, AC_EINVAL, "masked slot %d is outside 0..%d", i, s->L - 1);
    for (int j = 0; j < s->L; j++)
        if (j != i && (x[j] < 0 || x[j] >= s->V))
            return ac_fail(msg, AC_EINVAL, "word %d at slot %d is outside the vocabulary of %d words",
                           x[j], j, s->V);
    return AC_OK;
}

/* ---- Small dense helpers ----------------------------------------------- */

static double dot(const double *a, const double *b, int n)
{
    double s = 0.0;
    for (int k = 0; k < n; k++)
        s += a[k] * b[k];
    return s;
}

/* y = A x (+ b when b != NULL); A is r x c. */
static void matvec(const double *A, int r, int c, const double *x, const double *b, double *y)
{
    for (int k = 0; k < r; k++)
        y[k] = dot(A + (size_t)k * c, x, c) + (b ? b[k] : 0.0);
}

/* y = A^T x; A is r x c. */
static void matvec_t(const double *A, int r, int c, const double *x, double *y)
{
    for (int k = 0; k < c; k++)
        y[k] = 0.0;
    for (int l = 0; l < r; l++)
        for (int k = 0; k < c; k++)
            y[k] += A[(size_t)l * c + k] * x[l];
}

/* log sum_k exp z_k over the entries with use[k] (all when use is NULL),
 * shifted by the maximum. */
static double lse(const double *z, const int *use, int n)
{
    double mx = -INFINITY, s = 0.0;
    for (int k = 0; k < n; k++)
        if ((!use || use[k]) && z[k] > mx)
            mx = z[k];
    for (int k = 0; k < n; k++)
        if (!use || use[k])
            s += exp(z[k] - mx);
    return mx + log(s);
}

/* pi = softmax of z over use (0 elsewhere), by log-sum-exp. */
static void softmax(const double *z, const int *use, int n, double *pi)
{
    double l = lse(z, use, n);
    for (int k = 0; k < n; k++)
        pi[k] = (!use || use[k]) ? exp(z[k] - l) : 0.0;
}

static void log_softmax(double *z, int n)
{
    double l = lse(z, NULL, n);
    for (int k = 0; k < n; k++)
        z[k] -= l;
}

/* The key set J: use[j] = 1 for every slot, or every slot but i (self = 0). */
static void key_set(const ac_moe_sizes *s, int i, int *use)
{
    for (int j = 0; j < s->L; j++)
        use[j] = s->self || j != i;
}

/* e_j = w_{t_j} + p_j with t_i = V (the mask), into e (L x d). */
static void inputs(const double *E, const double *P, const ac_moe_sizes *s, const int *x, int i,
                   double *e)
{
    int d = s->d;
    for (int j = 0; j < s->L; j++) {
        const double *w = E + (size_t)(j == i ? s->V : x[j]) * d;
        for (int k = 0; k < d; k++)
            e[(size_t)j * d + k] = w[k] + (P ? P[(size_t)j * d + k] : 0.0);
    }
}

/* ---- Owned models ------------------------------------------------------- */

ac_moe_model *ac_moe_model_alloc(const ac_moe_sizes *s, unsigned with)
{
    if (ac_moe_sizes_check(s))
        return NULL;
    if (with & ~(unsigned)AC_MOE_WITH_ALL) /* a bit of no array: a caller's mistake, not an option */
        return NULL;
    if (s->layers == 2 && (with & (AC_MOE_WITH_BQ | AC_MOE_WITH_BK | AC_MOE_WITH_BV |
                                   AC_MOE_WITH_WO | AC_MOE_WITH_BO)))
        return NULL;
    if (!(with & AC_MOE_WITH_WO) && s->dout != s->H * s->dv)
        return NULL;
    if ((with & AC_MOE_WITH_BO) && !(with & AC_MOE_WITH_WO))
        return NULL;
    ac_moe_model *mm = calloc(1, sizeof *mm);
    if (!mm)
        return NULL;
    size_t V = (size_t)s->V, L = (size_t)s->L, d = (size_t)s->d, dk = (size_t)s->dk,
           dv = (size_t)s->dv, H = (size_t)s->H, dout = (size_t)s->dout;
    int two = s->layers == 2, ok = 1;
#define AC_MOE_ARR(field, flag, n)                                 \
    if (flag) {                                                    \
        mm->field = calloc((n), sizeof(double));                   \
        ok = ok && mm->field;                                      \
    }
    AC_MOE_ARR(E, 1, (V + 1) * d)
    AC_MOE_ARR(P, with & AC_MOE_WITH_P, L * d)
    AC_MOE_ARR(Wq, 1, H * dk * d)
    AC_MOE_ARR(Wk, 1, H * dk * d)
    AC_MOE_ARR(Wv, 1, H * dv * d)
    AC_MOE_ARR(bq, with & AC_MOE_WITH_BQ, H * dk)
    AC_MOE_ARR(bk, with & AC_MOE_WITH_BK, H * dk)
    AC_MOE_ARR(bv, with & AC_MOE_WITH_BV, H * dv)
    AC_MOE_ARR(Wo, with & AC_MOE_WITH_WO, dout * H * dv)
    AC_MOE_ARR(bo, with & AC_MOE_WITH_BO, dout)
    AC_MOE_ARR(U, 1, V * dout)
    AC_MOE_ARR(c, with & AC_MOE_WITH_C, V)
    AC_MOE_ARR(Wq2, two, dk * dv)
    AC_MOE_ARR(Wk2, two, dk * dv)
    AC_MOE_ARR(Wv2, two, dv * dv)
#undef AC_MOE_ARR
    if (!ok) {
        ac_moe_model_free(mm);
        return NULL;
    }
    mm->with = with;
    mm->m = (ac_moe_attention){.s = *s, .E = mm->E, .P = mm->P, .Wq = mm->Wq, .Wk = mm->Wk,
                               .Wv = mm->Wv, .bq = mm->bq, .bk = mm->bk, .bv = mm->bv,
                               .Wo = mm->Wo, .bo = mm->bo, .U = mm->U, .c = mm->c,
                               .Wq2 = mm->Wq2, .Wk2 = mm->Wk2, .Wv2 = mm->Wv2};
    return mm;
}

void ac_moe_model_free(ac_moe_model *mm)
{
    if (!mm)
        return;
    double *arr[] = {mm->E, mm->P, mm->Wq, mm->Wk, mm->Wv, mm->bq, mm->bk, mm->bv,
                     mm->Wo, mm->bo, mm->U, mm->c, mm->Wq2, mm->Wk2, mm->Wv2};
    for (size_t k = 0; k < sizeof arr / sizeof arr[0]; k++)
        free(arr[k]);
    free(mm);
}

void ac_moe_model_randomize(ac_moe_model *mm, gsl_rng *r, double scale)
{
    const ac_moe_sizes *s = &mm->m.s;
    size_t V = (size_t)s->V, L = (size_t)s->L, d = (size_t)s->d, dk = (size_t)s->dk,
           dv = (size_t)s->dv, H = (size_t)s->H, dout = (size_t)s->dout;
    struct { double *x; size_t n; } arr[] = {
        {mm->E, (V + 1) * d}, {mm->P, L * d},       {mm->Wq, H * dk * d}, {mm->Wk, H * dk * d},
        {mm->Wv, H * dv * d}, {mm->bq, H * dk},     {mm->bk, H * dk},     {mm->bv, H * dv},
        {mm->Wo, dout * H * dv}, {mm->bo, dout},    {mm->U, V * dout},    {mm->c, V},
        {mm->Wq2, dk * dv},   {mm->Wk2, dk * dv},   {mm->Wv2, dv * dv},
    };
    for (size_t k = 0; k < sizeof arr / sizeof arr[0]; k++)
        if (arr[k].x)
            for (size_t l = 0; l < arr[k].n; l++)
                arr[k].x[l] = gsl_ran_gaussian(r, scale);
}

/* ---- The form ----------------------------------------------------------- */

ac_moe_form *ac_moe_form_alloc(const ac_moe_sizes *s)
{
    if (ac_moe_sizes_check(s))
        return NULL;
    ac_moe_form *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->s = *s;
    size_t V = (size_t)s->V, L = (size_t)s->L, d = (size_t)s->d, dv = (size_t)s->dv,
           H = (size_t)s->H;
    f->w = calloc((V + 1) * d, sizeof(double));
    f->p = calloc(L * d, sizeof(double));
    f->gamma = calloc(H * L * d, sizeof(double));
    f->a = calloc(H * (V + 1) * dv, sizeof(double));
    f->b = calloc(H * L * dv, sizeof(double));
    f->rho = calloc(H * V * dv, sizeof(double));
    f->c = calloc(V, sizeof(double));
    f->slot_bias = calloc(L * V, sizeof(double));
    int ok = f->w && f->p && f->gamma && f->a && f->b && f->rho && f->c && f->slot_bias;
    if (s->layers == 2) {
        f->G1 = calloc(d * d, sizeof(double));
        f->G2 = calloc(dv * dv, sizeof(double));
        ok = ok && f->G1 && f->G2;
    }
    if (!ok) {
        ac_moe_form_free(f);
        return NULL;
    }
    return f;
}

void ac_moe_form_free(ac_moe_form *f)
{
    if (!f)
        return;
    free(f->w), free(f->p), free(f->gamma), free(f->a), free(f->b), free(f->rho);
    free(f->c), free(f->slot_bias), free(f->G1), free(f->G2);
    free(f);
}

static int same_sizes(const ac_moe_sizes *a, const ac_moe_sizes *b)
{
    return a->V == b->V && a->L == b->L && a->d == b->d && a->dk == b->dk && a->dv == b->dv &&
           a->H == b->H && a->dout == b->dout && a->layers == b->layers && a->self == b->self &&
           a->residual == b->residual;
}

/* gamma_i = W_K^T (W_Q e + b_Q) / sqrt(dk) for one head (§2.1, §2.2). */
static void gate_vector(const double *Wq, const double *Wk, const double *bq, int dk, int d,
                        const double *e, double *q, double *gamma)
{
    matvec(Wq, dk, d, e, bq, q);
    matvec_t(Wk, dk, d, q, gamma);
    for (int k = 0; k < d; k++)
        gamma[k] /= sqrt((double)dk);
}

/* G = W_K^T W_Q / sqrt(dk) (n x n) for W_Q, W_K dk x n (§2.4). */
static void gate_matrix(const double *Wq, const double *Wk, int dk, int n, double *G)
{
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++) {
            double s = 0.0;
            for (int k = 0; k < dk; k++)
                s += Wk[(size_t)k * n + r] * Wq[(size_t)k * n + c];
            G[(size_t)r * n + c] = s / sqrt((double)dk);
        }
}

ac_status ac_moe_form_from_attention(const ac_moe_attention *m, ac_moe_form *f, ac_msg *msg)
{
    const char *e = ac_moe_attention_check(m);
    if (e)
        return ac_fail(msg, AC_EINVAL, "%s", e);
    if (!f || !same_sizes(&m->s, &f->s))
        return ac_fail(msg, AC_EINVAL, "the form was not allocated for the model's sizes");
    const ac_moe_sizes *s = &m->s;
    int V = s->V, L = s->L, d = s->d, dk = s->dk, dv = s->dv, H = s->H, dout = s->dout;
    double q[AC_MOE_MAX_DIM], eM[AC_MOE_MAX_DIM];
    memcpy(f->w, m->E, sizeof(double) * (size_t)(V + 1) * d);
    if (m->P)
        memcpy(f->p, m->P, sizeof(double) * (size_t)L * d);
    else
        memset(f->p, 0, sizeof(double) * (size_t)L * d);
    for (int v = 0; v < V; v++)
        f->c[v] = m->c ? m->c[v] : 0.0;
    for (int h = 0; h < H; h++) {
        const double *Wq = m->Wq + (size_t)h * dk * d, *Wk = m->Wk + (size_t)h * dk * d;
        const double *Wv = m->Wv + (size_t)h * dv * d;
        const double *bq = m->bq ? m->bq + (size_t)h * dk : NULL;
        for (int i = 0; i < L; i++) {
            for (int k = 0; k < d; k++)
                eM[k] = f->w[(size_t)V * d + k] + f->p[(size_t)i * d + k];
            gate_vector(Wq, Wk, bq, dk, d, eM, q, f->gamma + ((size_t)h * L + i) * d);
        }
        /* experts alpha_{v,j} = W_V w_v + W_V p_j: the value bias is a
         * constant shift, absorbed into c below (§2.2) */
        for (int v = 0; v <= V; v++)
            matvec(Wv, dv, d, f->w + (size_t)v * d, NULL, f->a + ((size_t)h * (V + 1) + v) * dv);
        for (int j = 0; j < L; j++)
            matvec(Wv, dv, d, f->p + (size_t)j * d, NULL, f->b + ((size_t)h * L + j) * dv);
        /* rho^h = U W_O^h (§2.3); U's own columns h dv .. without W_O */
        for (int v = 0; v < V; v++) {
            double *r = f->rho + ((size_t)h * V + v) * dv;
            const double *u = m->U + (size_t)v * dout;
            for (int k = 0; k < dv; k++) {
                if (!m->Wo) {
                    r[k] = u[h * dv + k];
                    continue;
                }
                double acc = 0.0;
                for (int o = 0; o < dout; o++)
                    acc += u[o] * m->Wo[(size_t)o * H * dv + h * dv + k];
                r[k] = acc;
            }
            if (m->bv)
                f->c[v] += dot(r, m->bv + (size_t)h * dv, dv);
        }
    }
    for (int v = 0; v < V; v++) {
        const double *u = m->U + (size_t)v * dout;
        if (m->bo)
            f->c[v] += dot(u, m->bo, dout);
        for (int i = 0; i < L; i++) {
            double beta = 0.0;
            if (s->residual)
                for (int k = 0; k < d; k++)
                    beta += u[k] * (f->w[(size_t)V * d + k] + f->p[(size_t)i * d + k]);
            f->slot_bias[(size_t)i * V + v] = beta;
        }
    }
    if (s->layers == 2) {
        gate_matrix(m->Wq, m->Wk, dk, d, f->G1);
        gate_matrix(m->Wq2, m->Wk2, dk, dv, f->G2);
        /* rho = U W_V2: the layer-2 value map folded into the output */
        for (int v = 0; v < V; v++)
            for (int k = 0; k < dv; k++) {
                double acc = 0.0;
                for (int o = 0; o < dv; o++)
                    acc += m->U[(size_t)v * dout + o] * m->Wv2[(size_t)o * dv + k];
                f->rho[(size_t)v * dv + k] = acc;
            }
    }
    return AC_OK;
}

/* ---- Attention forward pass (the network) -------------------------------- */

/* One attention layer's output at query row r over the keys in use:
 * sum_k softmax_k((W_Q y_r + b_Q)·(W_K y_k + b_K)/sqrt(dk)) (W_V y_k + b_V),
 * for inputs y (L x n).  Scratch: z (L), qv (dk), kv (dk). */
static void attend(const double *Wq, const double *Wk, const double *Wv, const double *bq,
                   const double *bk, const double *bv, int dk, int dv, int n, int L,
                   const double *y, int r, const int *use, double *z, double *out)
{
    double qv[AC_MOE_MAX_DIM], kv[AC_MOE_MAX_DIM], val[AC_MOE_MAX_DIM];
    matvec(Wq, dk, n, y + (size_t)r * n, bq, qv);
    for (int k = 0; k < L; k++) {
        if (!use[k])
            continue;
        matvec(Wk, dk, n, y + (size_t)k * n, bk, kv);
        z[k] = dot(qv, kv, dk) / sqrt((double)dk);
    }
    softmax(z, use, L, z);
    for (int c = 0; c < dv; c++)
        out[c] = 0.0;
    for (int k = 0; k < L; k++) {
        if (!use[k])
            continue;
        matvec(Wv, dv, n, y + (size_t)k * n, bv, val);
        for (int c = 0; c < dv; c++)
            out[c] += z[k] * val[c];
    }
}

ac_status ac_moe_attention_logp(const ac_moe_attention *m, const int *x, int i, double *logp,
                                ac_msg *msg)
{
    const char *e = ac_moe_attention_check(m);
    if (e)
        return ac_fail(msg, AC_EINVAL, "%s", e);
    const ac_moe_sizes *s = &m->s;
    ac_status st = check_sentence(s, x, i, msg);
    if (st)
        return st;
    int V = s->V, L = s->L, d = s->d, dk = s->dk, dv = s->dv, H = s->H, dout = s->dout;
    double *y = malloc(sizeof(double) * ((size_t)L * d + (size_t)L * dv + L + (size_t)H * dv + dout));
    int *use = malloc(sizeof(int) * (size_t)L);
    if (!y || !use) {
        free(y), free(use);
        return ac_fail(msg, AC_ENOMEM, "no memory for the attention forward pass");
    }
    double *y1 = y + (size_t)L * d, *z = y1 + (size_t)L * dv, *hc = z + L, *o = hc + (size_t)H * dv;
    inputs(m->E, m->P, s, x, i, y);
    key_set(s, i, use);
    if (s->layers == 1) {
        for (int h = 0; h < H; h++)
            attend(m->Wq + (size_t)h * dk * d, m->Wk + (size_t)h * dk * d,
                   m->Wv + (size_t)h * dv * d, m->bq ? m->bq + (size_t)h * dk : NULL,
                   m->bk ? m->bk + (size_t)h * dk : NULL, m->bv ? m->bv + (size_t)h * dv : NULL,
                   dk, dv, d, L, y, i, use, z, hc + (size_t)h * dv);
        if (m->Wo)
            matvec(m->Wo, dout, H * dv, hc, m->bo, o);
        else
            memcpy(o, hc, sizeof(double) * (size_t)dout);
        if (s->residual)
            for (int k = 0; k < d; k++)
                o[k] += y[(size_t)i * d + k];
    } else {
        /* layer 1 at every row, layer 2 at the masked row (§2.4) */
        for (int r = 0; r < L; r++)
            attend(m->Wq, m->Wk, m->Wv, NULL, NULL, NULL, dk, dv, d, L, y, r, use, z,
                   y1 + (size_t)r * dv);
        attend(m->Wq2, m->Wk2, m->Wv2, NULL, NULL, NULL, dk, dv, dv, L, y1, i, use, z, o);
    }
    for (int v = 0; v < V; v++)
        logp[v] = (m->c ? m->c[v] : 0.0) + dot(m->U + (size_t)v * dout, o, dout);
    log_softmax(logp, V);
    free(y), free(use);
    return AC_OK;
}

/* ---- Conditionals from the form ----------------------------------------- */

/* Gating weights of head h at masked slot i: pi_j ∝ exp(gamma·w_{t_j} +
 * gamma·p_j), j in J (§2.1). */
static void gates(const ac_moe_form *f, const int *x, int i, int h, const int *use, double *pi)
{
    const ac_moe_sizes *s = &f->s;
    int d = s->d, V = s->V, L = s->L;
    const double *g = f->gamma + ((size_t)h * L + i) * d;
    for (int j = 0; j < L; j++)
        if (use[j])
            pi[j] = dot(g, f->w + (size_t)(j == i ? V : x[j]) * d, d) +
                    dot(g, f->p + (size_t)j * d, d);
    softmax(pi, use, L, pi);
}

/* alpha^h_{t_j,j} = a^h_{t_j} + b^h_j into out (dv). */
static void expert(const ac_moe_form *f, const int *x, int i, int h, int j, double *out)
{
    const ac_moe_sizes *s = &f->s;
    int dv = s->dv, V = s->V, t = j == i ? V : x[j];
    const double *a = f->a + ((size_t)h * (V + 1) + t) * dv, *b = f->b + ((size_t)h * s->L + j) * dv;
    for (int k = 0; k < dv; k++)
        out[k] = a[k] + b[k];
}

/* Mixture of MoEs (§2.4): layer-1 gates G1 e_r at every row (gamma_i at the
 * masked one), layer-1 experts alpha_k, layer-2 gate G2 y1_i over the
 * layer-1 mixtures y1_r; the effective weight on expert k is
 * (Pi2 Pi1)_{ik}.  ctx (dv) gets sum_k (Pi2 Pi1)_{ik} alpha_k. */
static ac_status two_layer_context(const ac_moe_form *f, const int *x, int i, const int *use,
                                   double *ctx)
{
    const ac_moe_sizes *s = &f->s;
    int L = s->L, d = s->d, dv = s->dv;
    size_t n = (size_t)L * d + (size_t)L * L + 2 * (size_t)L * dv + L + d + dv;
    double *e = malloc(sizeof(double) * n);
    if (!e)
        return AC_ENOMEM;
    double *P1 = e + (size_t)L * d, *al = P1 + (size_t)L * L, *y1 = al + (size_t)L * dv;
    double *p2 = y1 + (size_t)L * dv, *g = p2 + L, *g2 = g + d;
    inputs(f->w, f->p, s, x, i, e);
    for (int k = 0; k < L; k++)
        expert(f, x, i, 0, k, al + (size_t)k * dv);
    for (int r = 0; r < L; r++) {
        if (r == i)
            memcpy(g, f->gamma + (size_t)i * d, sizeof(double) * (size_t)d);
        else
            matvec(f->G1, d, d, e + (size_t)r * d, NULL, g);
        double *row = P1 + (size_t)r * L;
        for (int k = 0; k < L; k++)
            if (use[k])
                row[k] = dot(g, e + (size_t)k * d, d);
        softmax(row, use, L, row);
        for (int c = 0; c < dv; c++) {
            double acc = 0.0;
            for (int k = 0; k < L; k++)
                acc += row[k] * al[(size_t)k * dv + c];
            y1[(size_t)r * dv + c] = acc;
        }
    }
    matvec(f->G2, dv, dv, y1 + (size_t)i * dv, NULL, g2);
    for (int r = 0; r < L; r++)
        if (use[r])
            p2[r] = dot(g2, y1 + (size_t)r * dv, dv);
    softmax(p2, use, L, p2);
    for (int c = 0; c < dv; c++)
        ctx[c] = 0.0;
    for (int k = 0; k < L; k++) {
        double wk = 0.0;
        for (int r = 0; r < L; r++)
            wk += p2[r] * P1[(size_t)r * L + k];
        for (int c = 0; c < dv; c++)
            ctx[c] += wk * al[(size_t)k * dv + c];
    }
    free(e);
    return AC_OK;
}

ac_status ac_moe_form_logp(const ac_moe_form *f, const int *x, int i, double *logp, ac_msg *msg)
{
    if (!f)
        return ac_fail(msg, AC_EINVAL, "the CBOW-MoE form is missing (NULL)");
    const ac_moe_sizes *s = &f->s;
    ac_status st = check_sentence(s, x, i, msg);
    if (st)
        return st;
    int V = s->V, L = s->L, dv = s->dv, H = s->H;
    double *pi = malloc(sizeof(double) * ((size_t)L + 2 * (size_t)H * dv));
    int *use = malloc(sizeof(int) * (size_t)L);
    if (!pi || !use) {
        free(pi), free(use);
        return ac_fail(msg, AC_ENOMEM, "no memory for the CBOW-MoE conditional");
    }
    double *ctx = pi + L, *al = ctx + (size_t)H * dv;
    key_set(s, i, use);
    if (s->layers == 2) {
        if (two_layer_context(f, x, i, use, ctx)) {
            free(pi), free(use);
            return ac_fail(msg, AC_ENOMEM, "no memory for the mixture of MoEs");
        }
    } else {
        for (int h = 0; h < H; h++) {
            double *ch = ctx + (size_t)h * dv;
            gates(f, x, i, h, use, pi);
            for (int k = 0; k < dv; k++)
                ch[k] = 0.0;
            for (int j = 0; j < L; j++) {
                if (!use[j])
                    continue;
                expert(f, x, i, h, j, al);
                for (int k = 0; k < dv; k++)
                    ch[k] += pi[j] * al[k];
            }
        }
    }
    /* logit_v = c_v + beta_{i,v} + sum_h rho^h_v · ctx^h (§2.1, §2.3) */
    for (int v = 0; v < V; v++) {
        double z = f->c[v] + f->slot_bias[(size_t)i * V + v];
        for (int h = 0; h < H; h++)
            z += dot(f->rho + ((size_t)h * V + v) * dv, ctx + (size_t)h * dv, dv);
        logp[v] = z;
    }
    log_softmax(logp, V);
    free(pi), free(use);
    return AC_OK;
}

ac_status ac_moe_gate_weights(const ac_moe_form *f, const int *x, int i, int h, double *pi,
                              ac_msg *msg)
{
    if (!f)
        return ac_fail(msg, AC_EINVAL, "the CBOW-MoE form is missing (NULL)");
    if (f->s.layers != 1)
        return ac_fail(msg, AC_EINVAL, "gating weights of one head need a one-layer form");
    if (h < 0 || h >= f->s.H)
        return ac_fail(msg, AC_EINVAL, "head %d is outside 0..%d", h, f->s.H - 1);
    ac_status st = check_sentence(&f->s, x, i, msg);
    if (st)
        return st;
    int *use = malloc(sizeof(int) * (size_t)f->s.L);
    if (!use)
        return ac_fail(msg, AC_ENOMEM, "no memory for the gating weights");
    key_set(&f->s, i, use);
    gates(f, x, i, h, use, pi);
    free(use);
    return AC_OK;
}

/* Geometric (mixture = 1) or arithmetic (mixture = 0) combination of the
 * single-expert predictors p^h_j = softmax(c/H + beta_i/H + rho^h·alpha^h_j):
 * log p ∝ sum_h sum_j pi^h_j log p^h_j, or sum_h log sum_j pi^h_j p^h_j. */
static ac_status expert_mixture(const ac_moe_form *f, const int *x, int i, int geometric,
                                double *logp, ac_msg *msg)
{
    if (!f)
        return ac_fail(msg, AC_EINVAL, "the CBOW-MoE form is missing (NULL)");
    const ac_moe_sizes *s = &f->s;
    if (s->layers != 1)
        return ac_fail(msg, AC_EINVAL, "the expert-mixture readings need a one-layer form");
    ac_status st = check_sentence(s, x, i, msg);
    if (st)
        return st;
    int V = s->V, L = s->L, dv = s->dv, H = s->H;
    double *pi = malloc(sizeof(double) * ((size_t)L + dv + 3 * (size_t)V));
    int *use = malloc(sizeof(int) * (size_t)L);
    if (!pi || !use) {
        free(pi), free(use);
        return ac_fail(msg, AC_ENOMEM, "no memory for the expert mixture");
    }
    double *al = pi + L, *eta = al + dv, *acc = eta + V, *mix = acc + V;
    key_set(s, i, use);
    for (int v = 0; v < V; v++)
        logp[v] = 0.0;
    for (int h = 0; h < H; h++) {
        gates(f, x, i, h, use, pi);
        for (int v = 0; v < V; v++)
            acc[v] = 0.0, mix[v] = -INFINITY;
        for (int j = 0; j < L; j++) {
            if (!use[j])
                continue;
            expert(f, x, i, h, j, al);
            for (int v = 0; v < V; v++)
                eta[v] = (f->c[v] + f->slot_bias[(size_t)i * V + v]) / H +
                         dot(f->rho + ((size_t)h * V + v) * dv, al, dv);
            log_softmax(eta, V);
            for (int v = 0; v < V; v++) {
                acc[v] += pi[j] * eta[v];
                /* log(exp(mix) + pi_j p_j), stable */
                double t = log(pi[j]) + eta[v], mx = fmax(mix[v], t);
                if (mx > -INFINITY)
                    mix[v] = mx + log(exp(mix[v] - mx) + exp(t - mx));
            }
        }
        for (int v = 0; v < V; v++)
            logp[v] += geometric ? acc[v] : mix[v];
    }
    log_softmax(logp, V);
    free(pi), free(use);
    return AC_OK;
}

ac_status ac_moe_geometric_logp(const ac_moe_form *f, const int *x, int i, double *logp,
                                ac_msg *msg)
{
    return expert_mixture(f, x, i, 1, logp, msg);
}

ac_status ac_moe_control_logp(const ac_moe_attention *m, ac_moe_control control, const int *x,
                              int i, double *logp, ac_msg *msg)
{
    const char *e = ac_moe_attention_check(m);
    if (e)
        return ac_fail(msg, AC_EINVAL, "%s", e);
    if (m->s.layers != 1)
        return ac_fail(msg, AC_EINVAL, "the negative controls are defined for one layer");
    if (control != AC_MOE_CONTROL_NO_QUERY_POSITION && control != AC_MOE_CONTROL_ARITHMETIC &&
        control != AC_MOE_CONTROL_NO_SCALE)
        return ac_fail(msg, AC_EINVAL, "unknown negative control %d", (int)control);
    ac_moe_form *f = ac_moe_form_alloc(&m->s);
    if (!f)
        return ac_fail(msg, AC_ENOMEM, "no memory for the control's form");
    ac_status st = ac_moe_form_from_attention(m, f, msg);
    const ac_moe_sizes *s = &m->s;
    int L = s->L, d = s->d, dk = s->dk;
    double q[AC_MOE_MAX_DIM];
    if (!st && control == AC_MOE_CONTROL_NO_QUERY_POSITION)
        for (int h = 0; h < s->H; h++)
            for (int ii = 0; ii < L; ii++)
                gate_vector(m->Wq + (size_t)h * dk * d, m->Wk + (size_t)h * dk * d,
                            m->bq ? m->bq + (size_t)h * dk : NULL, dk, d, f->w + (size_t)s->V * d,
                            q, f->gamma + ((size_t)h * L + ii) * d);
    if (!st && control == AC_MOE_CONTROL_NO_SCALE)
        for (size_t k = 0; k < (size_t)s->H * L * d; k++)
            f->gamma[k] *= sqrt((double)dk);
    if (!st)
        st = control == AC_MOE_CONTROL_ARITHMETIC ? expert_mixture(f, x, i, 0, logp, msg)
                                                  : ac_moe_form_logp(f, x, i, logp, msg);
    ac_moe_form_free(f);
    return st;
}

/* ---- Reverse construction ---------------------------------------------- */

/* Minimum-norm X (n x r) with A X = B for A (m x n) and B (m x r), by
 * LAPACKE dgels; returns AC_ERANK when max |A X - B| exceeds
 * AC_MOE_REVERSE_RTOL (1 + max |B|). */
static ac_status min_norm_solve(const double *A, const double *B, int m, int n, int r, double *X,
                                ac_msg *msg, const char *what)
{
    int mx = m > n ? m : n;
    double *Ac = malloc(sizeof(double) * (size_t)m * n), *Bc = calloc((size_t)mx * r, sizeof(double));
    if (!Ac || !Bc) {
        free(Ac), free(Bc);
        return ac_fail(msg, AC_ENOMEM, "no memory for the reverse construction");
    }
    memcpy(Ac, A, sizeof(double) * (size_t)m * n);
    memcpy(Bc, B, sizeof(double) * (size_t)m * r);
    lapack_int info = LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', m, n, r, Ac, n, Bc, r);
    free(Ac);
    if (info < 0) {
        free(Bc);
        return ac_fail(msg, AC_ELAPACK, "dgels rejected argument %d (%s)", (int)-info, what);
    }
    if (info > 0) {
        free(Bc);
        return ac_fail(msg, AC_ERANK, "%s: the embeddings are linearly dependent", what);
    }
    memcpy(X, Bc, sizeof(double) * (size_t)n * r);
    free(Bc);
    double res = 0.0, big = 0.0;
    for (int k = 0; k < m; k++)
        for (int c = 0; c < r; c++) {
            double t = -B[(size_t)k * r + c];
            for (int l = 0; l < n; l++)
                t += A[(size_t)k * n + l] * X[(size_t)l * r + c];
            res = fmax(res, fabs(t));
            big = fmax(big, fabs(B[(size_t)k * r + c]));
        }
    if (!(res <= AC_MOE_REVERSE_RTOL * (1.0 + big)))
        return ac_fail(msg, AC_ERANK, "%s: targets not reachable (residual %.3g; embeddings dependent)",
                       what, res);
    return AC_OK;
}

ac_status ac_moe_attention_from_form(const ac_moe_form *f, double *Wq, double *Wk, double *Wv,
                                     double *U, ac_msg *msg)
{
    if (!f)
        return ac_fail(msg, AC_EINVAL, "the CBOW-MoE form is missing (NULL)");
    const ac_moe_sizes *s = &f->s;
    if (s->layers != 1 || s->dk != s->d || s->residual || s->dout != s->H * s->dv)
        return ac_fail(msg, AC_EINVAL, "the reverse construction needs one layer, dk = d, no "
                       "residual and dout = H dv");
    int V = s->V, L = s->L, d = s->d, dv = s->dv, H = s->H;
    for (size_t k = 0; k < (size_t)L * V; k++)
        if (f->slot_bias[k] != 0.0)
            return ac_fail(msg, AC_EINVAL, "the reverse construction covers no slot bias");
    int n2 = V + 1 + L;
    double *A = malloc(sizeof(double) * (size_t)n2 * d), *B = malloc(sizeof(double) * (size_t)n2 * (d > dv ? d : dv));
    double *X = malloc(sizeof(double) * (size_t)d * (d > dv ? d : dv));
    if (!A || !B || !X) {
        free(A), free(B), free(X);
        return ac_fail(msg, AC_ENOMEM, "no memory for the reverse construction");
    }
    ac_status st = AC_OK;
    for (int h = 0; h < H && !st; h++) {
        /* G (w_M + p_i) = gamma_i: rows e_i^T of A, X = G^T */
        for (int i = 0; i < L; i++)
            for (int k = 0; k < d; k++) {
                A[(size_t)i * d + k] = f->w[(size_t)V * d + k] + f->p[(size_t)i * d + k];
                B[(size_t)i * d + k] = f->gamma[((size_t)h * L + i) * d + k];
            }
        st = min_norm_solve(A, B, L, d, d, X, msg, "gate vectors gamma_i from w_M + p_i");
        if (st)
            break;
        double *wq = Wq + (size_t)h * d * d, *wk = Wk + (size_t)h * d * d;
        for (int r = 0; r < d; r++)
            for (int c = 0; c < d; c++) {
                wq[(size_t)r * d + c] = sqrt((double)d) * X[(size_t)c * d + r];
                wk[(size_t)r * d + c] = r == c ? 1.0 : 0.0;
            }
        /* W_V w_v = a_v, W_V p_j = b_j: X = W_V^T */
        for (int v = 0; v <= V; v++)
            for (int k = 0; k < d; k++)
                A[(size_t)v * d + k] = f->w[(size_t)v * d + k];
        for (int j = 0; j < L; j++)
            for (int k = 0; k < d; k++)
                A[(size_t)(V + 1 + j) * d + k] = f->p[(size_t)j * d + k];
        memcpy(B, f->a + (size_t)h * (V + 1) * dv, sizeof(double) * (size_t)(V + 1) * dv);
        memcpy(B + (size_t)(V + 1) * dv, f->b + (size_t)h * L * dv, sizeof(double) * (size_t)L * dv);
        st = min_norm_solve(A, B, n2, d, dv, X, msg, "experts a_v, b_j from w_v, p_j");
        if (st)
            break;
        for (int r = 0; r < dv; r++)
            for (int c = 0; c < d; c++)
                Wv[((size_t)h * dv + r) * d + c] = X[(size_t)c * dv + r];
        for (int v = 0; v < V; v++)
            for (int k = 0; k < dv; k++)
                U[(size_t)v * H * dv + (size_t)h * dv + k] = f->rho[((size_t)h * V + v) * dv + k];
    }
    free(A), free(B), free(X);
    return st;
}

/* ---- CBOW and the analogy defect (§4.2) --------------------------------- */

ac_status ac_moe_cbow_logp(const ac_moe_cbow *m, int L, const int *x, int i, double *logp,
                           ac_msg *msg)
{
    if (!m || !m->alpha || !m->rho || !dim_ok(m->V) || !dim_ok(m->dv) || L < 2 ||
        L > AC_MOE_MAX_DIM)
        return ac_fail(msg, AC_EINVAL, "CBOW needs alpha, rho, V and dv in 1..4096 and L >= 2");
    if (i < 0 || i >= L)
        return ac_fail(msg, AC_EINVAL, "masked slot %d is outside 0..%d", i, L - 1);
    int V = m->V, dv = m->dv;
    double ctx[AC_MOE_MAX_DIM] = {0};
    for (int j = 0; j < L; j++) {
        if (j == i)
            continue;
        if (x[j] < 0 || x[j] >= V)
            return ac_fail(msg, AC_EINVAL, "word %d at slot %d is outside the vocabulary of %d words",
                           x[j], j, V);
        for (int k = 0; k < dv; k++)
            ctx[k] += m->alpha[(size_t)x[j] * dv + k];
    }
    for (int k = 0; k < dv; k++)
        ctx[k] /= (L - 1);
    for (int v = 0; v < V; v++)
        logp[v] = (m->c ? m->c[v] : 0.0) + dot(m->rho + (size_t)v * dv, ctx, dv);
    log_softmax(logp, V);
    return AC_OK;
}

void ac_moe_defect(int V, const double *lp_a, const double *lp_b, const double *lp_c,
                   const double *lp_d, double *delta)
{
    for (int v = 0; v < V; v++)
        delta[v] = lp_a[v] - lp_b[v] - lp_c[v] + lp_d[v];
}

double ac_moe_defect_variance(int V, const double *delta)
{
    double mean = 0.0, var = 0.0;
    for (int v = 0; v < V; v++)
        mean += delta[v];
    mean /= V;
    for (int v = 0; v < V; v++)
        var += (delta[v] - mean) * (delta[v] - mean);
    return var / V;
}

typedef ac_status (*logp_fn)(const void *model, const int *x, int i, double *logp, ac_msg *msg);

typedef struct {
    const ac_moe_cbow *m;
    int L;
} cbow_len;

static ac_status cbow_fn(const void *model, const int *x, int i, double *logp, ac_msg *msg)
{
    const cbow_len *c = model;
    return ac_moe_cbow_logp(c->m, c->L, x, i, logp, msg);
}

static ac_status form_fn(const void *model, const int *x, int i, double *logp, ac_msg *msg)
{
    return ac_moe_form_logp(model, x, i, logp, msg);
}

/* The four conditionals of §4.2 and their alternating sum. */
static ac_status defect(logp_fn fn, const void *model, int V, int L, const int *ctx1,
                        const int *ctx2, const ac_moe_quad *q, double *delta, ac_msg *msg)
{
    if (!q || q->j < 0 || q->j >= L || q->j == q->i)
        return ac_fail(msg, AC_EINVAL, "the analogy's context slot must lie in 0..%d and differ "
                       "from the masked slot", L - 1);
    int *x = malloc(sizeof(int) * (size_t)L);
    double *lp = malloc(sizeof(double) * 4 * (size_t)V);
    if (!x || !lp) {
        free(x), free(lp);
        return ac_fail(msg, AC_ENOMEM, "no memory for the analogy defect");
    }
    const int words[4] = {q->a, q->b, q->c, q->d};
    ac_status st = AC_OK;
    for (int k = 0; k < 4 && !st; k++) {
        memcpy(x, k < 2 ? ctx1 : ctx2, sizeof(int) * (size_t)L);
        x[q->j] = words[k];
        st = fn(model, x, q->i, lp + (size_t)k * V, msg);
    }
    if (!st)
        ac_moe_defect(V, lp, lp + V, lp + 2 * (size_t)V, lp + 3 * (size_t)V, delta);
    free(x), free(lp);
    return st;
}

ac_status ac_moe_cbow_analogy_defect(const ac_moe_cbow *m, int L, const int *ctx1,
                                     const int *ctx2, const ac_moe_quad *q, double *delta,
                                     ac_msg *msg)
{
    if (!m || !dim_ok(m->V))
        return ac_fail(msg, AC_EINVAL, "CBOW needs V in 1..4096");
    cbow_len c = {m, L};
    return defect(cbow_fn, &c, m->V, L, ctx1, ctx2, q, delta, msg);
}

ac_status ac_moe_form_analogy_defect(const ac_moe_form *f, const int *ctx1, const int *ctx2,
                                     const ac_moe_quad *q, double *delta, ac_msg *msg)
{
    if (!f)
        return ac_fail(msg, AC_EINVAL, "the CBOW-MoE form is missing (NULL)");
    return defect(form_fn, f, f->s.V, f->s.L, ctx1, ctx2, q, delta, msg);
}

/* ---- The rounding tolerance of the equivalence (§2.5 item 2) ------------- */

/* max over the values W_V (w_v + p_j) + b_V of one head of
 * sum_l |W_V[k,l]| |e_l| + |b_V[k]| (a bound on the magnitude of every
 * expert entry and of every mixture of them). */
static double value_bound(const double *Wv, const double *bv, int dv, int n, const double *e,
                          int ne)
{
    double mx = 0.0;
    for (int r = 0; r < ne; r++)
        for (int k = 0; k < dv; k++) {
            double s = bv ? fabs(bv[k]) : 0.0;
            for (int l = 0; l < n; l++)
                s += fabs(Wv[(size_t)k * n + l]) * fabs(e[(size_t)r * n + l]);
            mx = fmax(mx, s);
        }
    return mx;
}

/* max over pairs of inputs (rows of e, or the constant bound y on every
 * entry when e is NULL) of sum_a (sum_b |W_Q[a,b]| |e_b| + |b_Q[a]|)
 * (sum_c |W_K[a,c]| |e'_c| + |b_K[a]|) / sqrt(dk): the sum of absolute
 * terms of a score, whichever way it is associated. */
static double score_bound(const double *Wq, const double *Wk, const double *bq, const double *bk,
                          int dk, int n, const double *e, int ne, double y)
{
    double mq = 0.0, mk = 0.0, tot = 0.0;
    for (int a = 0; a < dk; a++) {
        mq = mk = 0.0;
        for (int r = 0; r < (e ? ne : 1); r++) {
            double sq = bq ? fabs(bq[a]) : 0.0, sk = bk ? fabs(bk[a]) : 0.0;
            for (int l = 0; l < n; l++) {
                double el = e ? fabs(e[(size_t)r * n + l]) : y;
                sq += fabs(Wq[(size_t)a * n + l]) * el;
                sk += fabs(Wk[(size_t)a * n + l]) * el;
            }
            mq = fmax(mq, sq), mk = fmax(mk, sk);
        }
        tot += mq * mk;
    }
    return tot / sqrt((double)dk);
}

/* First-order rounding bound (spec §2.5 item 2; u = DBL_EPSILON/2, but we
 * use DBL_EPSILON to cover both sides' roundings):
 * - every gate score is a sum of at most d dk products, associated as
 *   (W_Q e)·(W_K e') on one side and (W_K^T W_Q e)·e' on the other; each
 *   carries at most (d + dk + 2) eps M_s, M_s = score_bound over all inputs
 *   w_v + p_j (words and the mask at every slot);
 * - a perturbation delta of every score moves each softmax weight by a
 *   relative 2 delta, so every mixed vector by 2 delta M_v and every logit
 *   by 2 delta M_z, M_z the bound on sum |terms| of a logit (|c| plus
 *   |U| times the bounds of what U reads);
 * - the logits themselves are sums of at most n = d + dk + H dv + dout + L
 *   + V terms (projections, mixture, output, log-sum-exp), so carry
 *   n eps M_z on each side, and log p = z - lse(z) doubles a logit error;
 * - with two layers, layer-1 errors reach layer-2 scores through y1, whose
 *   entries are bounded by M_v1: the layer-2 score bound M_s2 multiplies.
 * Sum, with the factor 2 for two sides and 2 for log p, rounded up:
 *   tol = 16 n eps (1 + M_s)(1 + M_s2)(1 + M_z),  n as above + 4. */
double ac_moe_logp_tolerance(const ac_moe_attention *m)
{
    if (ac_moe_attention_check(m))
        return NAN;
    const ac_moe_sizes *s = &m->s;
    int V = s->V, L = s->L, d = s->d, dk = s->dk, dv = s->dv, H = s->H, dout = s->dout;
    int ne = (V + 1) * L;
    double *e = malloc(sizeof(double) * (size_t)ne * d);
    if (!e)
        return NAN;
    for (int v = 0; v <= V; v++)
        for (int j = 0; j < L; j++)
            for (int k = 0; k < d; k++)
                e[((size_t)v * L + j) * d + k] =
                    m->E[(size_t)v * d + k] + (m->P ? m->P[(size_t)j * d + k] : 0.0);
    double Ms = 0.0, Ms2 = 0.0, Mv[AC_MOE_MAX_DIM], emax = 0.0;
    for (int h = 0; h < H; h++) {
        Ms = fmax(Ms, score_bound(m->Wq + (size_t)h * dk * d, m->Wk + (size_t)h * dk * d,
                                  m->bq ? m->bq + (size_t)h * dk : NULL,
                                  m->bk ? m->bk + (size_t)h * dk : NULL, dk, d, e, ne, 0.0));
        Mv[h] = value_bound(m->Wv + (size_t)h * dv * d, m->bv ? m->bv + (size_t)h * dv : NULL,
                            dv, d, e, ne);
    }
    for (size_t k = 0; k < (size_t)ne * d; k++)
        emax = fmax(emax, fabs(e[k]));
    free(e);
    double Mz = 0.0;
    for (int v = 0; v < V; v++) {
        double z = m->c ? fabs(m->c[v]) : 0.0;
        for (int o = 0; o < dout; o++) {
            double b;
            if (s->layers == 2) {
                b = 0.0;
                for (int k = 0; k < dv; k++)
                    b += fabs(m->Wv2[(size_t)o * dv + k]) * Mv[0];
            } else if (m->Wo) {
                b = m->bo ? fabs(m->bo[o]) : 0.0;
                for (int h = 0; h < H; h++)
                    for (int k = 0; k < dv; k++)
                        b += fabs(m->Wo[(size_t)o * H * dv + h * dv + k]) * Mv[h];
            } else {
                b = Mv[o / dv];
            }
            if (s->residual)
                b += emax;
            z += fabs(m->U[(size_t)v * dout + o]) * b;
        }
        Mz = fmax(Mz, z);
    }
    if (s->layers == 2)
        Ms2 = score_bound(m->Wq2, m->Wk2, NULL, NULL, dk, dv, NULL, 1, Mv[0]);
    double n = d + dk + H * dv + dout + L + V + 4;
    return 16.0 * n * DBL_EPSILON * (1.0 + Ms) * (1.0 + Ms2) * (1.0 + Mz);
}

/* ---- The exact analogy cases (§4.4 item 1) -------------------------------- */

/* A multiple of 1/64 in [-2, 2]: exact in binary, and so are the sums and
 * differences of three of them. */
static double dyadic(gsl_rng *r)
{
    return ((double)gsl_rng_uniform_int(r, 257) - 128.0) / 64.0;
}

/* x_d = x_b - x_a + x_c for rows a = 0, b = 1, c = 2, d = 3 of X (n wide). */
static void plant(double *X, int n)
{
    for (int k = 0; k < n; k++)
        X[3 * n + k] = X[n + k] - X[k] + X[2 * n + k];
}

/* Row dst = row src of X (n wide). */
static void copy_row(double *X, int n, int dst, int src)
{
    memcpy(X + (size_t)dst * n, X + (size_t)src * n, sizeof(double) * (size_t)n);
}

#define AN_V 8  /* words: a, b, c, d and four context words */
#define AN_D 4  /* gate width (two coordinates for the equal-score case) */
#define AN_DV 3 /* expert width */

static ac_moe_form *analogy_form(ac_moe_analogy_kind kind, gsl_rng *r, int L)
{
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    s.V = AN_V, s.L = L, s.d = AN_D, s.dk = AN_D, s.dv = AN_DV, s.dout = AN_DV;
    s.self = kind != AC_MOE_ANALOGY_MOE_SINGLE;
    ac_moe_form *f = ac_moe_form_alloc(&s);
    if (!f)
        return NULL;
    int V = AN_V, d = AN_D, dv = AN_DV;
    for (size_t k = 0; k < (size_t)(V + 1) * d; k++)
        f->w[k] = dyadic(r);
    for (size_t k = 0; k < (size_t)L * d; k++)
        f->p[k] = dyadic(r);
    for (size_t k = 0; k < (size_t)L * d; k++)
        f->gamma[k] = dyadic(r);
    for (size_t k = 0; k < (size_t)(V + 1) * dv; k++)
        f->a[k] = dyadic(r);
    for (size_t k = 0; k < (size_t)L * dv; k++)
        f->b[k] = dyadic(r);
    for (size_t k = 0; k < (size_t)V * dv; k++)
        f->rho[k] = dyadic(r);
    for (int v = 0; v < V; v++)
        f->c[v] = dyadic(r);
    switch (kind) {
    case AC_MOE_ANALOGY_MOE_EQUAL:
        /* gamma_i vanishes on coordinates 0, 1; words a..d share
         * coordinates 2, 3, so gamma_i·w_a = ... = gamma_i·w_d bit for bit */
        for (int i = 0; i < L; i++)
            f->gamma[(size_t)i * d] = f->gamma[(size_t)i * d + 1] = 0.0;
        for (int v = 1; v < 4; v++)
            for (int k = 2; k < d; k++)
                f->w[(size_t)v * d + k] = f->w[k];
        plant(f->w, d);
        plant(f->a, dv);
        break;
    case AC_MOE_ANALOGY_MOE_UNEQUAL:
    case AC_MOE_ANALOGY_MOE_SINGLE:
        plant(f->w, d);
        plant(f->a, dv);
        break;
    case AC_MOE_ANALOGY_MOE_BRANCH2:
        copy_row(f->w, d, 1, 0), copy_row(f->a, dv, 1, 0);
        copy_row(f->w, d, 3, 2), copy_row(f->a, dv, 3, 2);
        break;
    case AC_MOE_ANALOGY_MOE_BRANCH3:
        copy_row(f->w, d, 2, 0), copy_row(f->a, dv, 2, 0);
        copy_row(f->w, d, 3, 1), copy_row(f->a, dv, 3, 1);
        break;
    default:
        break;
    }
    return f;
}

ac_moe_analogy *ac_moe_analogy_alloc(ac_moe_analogy_kind kind, gsl_rng *r)
{
    if ((int)kind < 0 || kind >= AC_MOE_ANALOGY_COUNT || !r)
        return NULL;
    ac_moe_analogy *an = calloc(1, sizeof *an);
    if (!an)
        return NULL;
    an->kind = kind;
    an->zero = kind != AC_MOE_ANALOGY_MOE_UNEQUAL;
    an->L = kind == AC_MOE_ANALOGY_MOE_SINGLE ? 2 : 4;
    an->q = (ac_moe_quad){.i = 0, .j = 1, .a = 0, .b = 1, .c = 2, .d = 3};
    an->ctx1 = malloc(sizeof(int) * (size_t)an->L);
    an->ctx2 = malloc(sizeof(int) * (size_t)an->L);
    if (!an->ctx1 || !an->ctx2) {
        ac_moe_analogy_free(an);
        return NULL;
    }
    for (int j = 0; j < an->L; j++) {
        an->ctx1[j] = 4 + (int)gsl_rng_uniform_int(r, AN_V - 4);
        /* CBOW's claim holds for any two contexts; §4.2(b)'s formula is for
         * C' = C'' */
        an->ctx2[j] = kind == AC_MOE_ANALOGY_CBOW ? 4 + (int)gsl_rng_uniform_int(r, AN_V - 4)
                                                   : an->ctx1[j];
    }
    if (kind == AC_MOE_ANALOGY_CBOW) {
        an->buf = malloc(sizeof(double) * (2 * AN_V * AN_DV + AN_V));
        if (!an->buf) {
            ac_moe_analogy_free(an);
            return NULL;
        }
        for (int k = 0; k < 2 * AN_V * AN_DV + AN_V; k++)
            an->buf[k] = dyadic(r);
        plant(an->buf, AN_DV);
        an->cbow = (ac_moe_cbow){.V = AN_V, .dv = AN_DV, .alpha = an->buf,
                                 .rho = an->buf + AN_V * AN_DV, .c = an->buf + 2 * AN_V * AN_DV};
    } else {
        an->form = analogy_form(kind, r, an->L);
        if (!an->form) {
            ac_moe_analogy_free(an);
            return NULL;
        }
    }
    return an;
}

void ac_moe_analogy_free(ac_moe_analogy *an)
{
    if (!an)
        return;
    ac_moe_form_free(an->form);
    free(an->ctx1), free(an->ctx2), free(an->buf);
    free(an);
}

int ac_moe_analogy_vocab(const ac_moe_analogy *an)
{
    return an->form ? an->form->s.V : an->cbow.V;
}

ac_status ac_moe_analogy_defect(const ac_moe_analogy *an, double *delta, ac_msg *msg)
{
    if (!an)
        return ac_fail(msg, AC_EINVAL, "the analogy case is missing (NULL)");
    if (an->form)
        return ac_moe_form_analogy_defect(an->form, an->ctx1, an->ctx2, &an->q, delta, msg);
    return ac_moe_cbow_analogy_defect(&an->cbow, an->L, an->ctx1, an->ctx2, &an->q, delta, msg);
}

double ac_moe_analogy_tolerance(const ac_moe_analogy *an, double eps)
{
    int V = ac_moe_analogy_vocab(an), dv = AN_DV;
    const double *rho = an->form ? an->form->rho : an->cbow.rho;
    const double *c = an->form ? an->form->c : an->cbow.c;
    const double *A = an->form ? an->form->a : an->cbow.alpha;
    double amax = 0.0, Mz = 0.0;
    for (size_t k = 0; k < (size_t)V * dv; k++)
        amax = fmax(amax, fabs(A[k]));
    if (an->form) {
        double bmax = 0.0;
        for (size_t k = 0; k < (size_t)an->L * dv; k++)
            bmax = fmax(bmax, fabs(an->form->b[k]));
        for (size_t k = 0; k < (size_t)(V + 1) * dv; k++)
            amax = fmax(amax, fabs(an->form->a[k]));
        amax += bmax;
    }
    for (int v = 0; v < V; v++) {
        double z = c ? fabs(c[v]) : 0.0;
        for (int k = 0; k < dv; k++)
            z += fabs(rho[(size_t)v * dv + k]) * amax;
        Mz = fmax(Mz, z);
    }
    /* the gate scores' rounding moves the logits by 2 delta M_z (see
     * ac_moe_logp_tolerance), delta <= 2 d eps M_s with |gamma|, |w + p| <= 4 */
    double Ms = an->form ? 16.0 * AN_D : 0.0;
    double n = an->L + AN_D + dv + V + 4;
    double E = 8.0 * n * eps * (1.0 + Ms) * (1.0 + Mz);
    return E * E;
}
