/* The bare single-layer attention MLM and its Adam trainer (spec cbow_moe
 * §1, §3.3, §6).  See verify/moe_model.h. */
#include "verify/moe_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
/* cblas_dgemm from OpenBLAS, through GSL's declarations (as the block code below). */
#include <gsl/gsl_cblas.h>

/* ---- The model's arrays as a list -------------------------------------- */

enum { NPART = 7 }; /* E, P, Wq, Wk, Wv, U, c */

static void parts(const ac_moe_model *mm, double **ptr, size_t *len)
{
    const ac_moe_sizes *s = &mm->m.s;
    size_t V = (size_t)s->V, L = (size_t)s->L, d = (size_t)s->d, dk = (size_t)s->dk,
           dv = (size_t)s->dv, H = (size_t)s->H;
    double *p[NPART] = {mm->E, mm->P, mm->Wq, mm->Wk, mm->Wv, mm->U, mm->c};
    size_t n[NPART] = {(V + 1) * d, L * d, H * dk * d, H * dk * d, H * dv * d, V * H * dv, V};
    for (int k = 0; k < NPART; k++) {
        ptr[k] = p[k];
        len[k] = n[k];
    }
}

static int same_sizes(const ac_moe_sizes *a, const ac_moe_sizes *b)
{
    return a->V == b->V && a->L == b->L && a->d == b->d && a->dk == b->dk && a->dv == b->dv &&
           a->H == b->H && a->dout == b->dout && a->layers == b->layers && a->self == b->self &&
           a->residual == b->residual;
}

const char *ac_moe_mlm_sizes_check(const ac_moe_sizes *s)
{
    const char *why = ac_moe_sizes_check(s);
    if (why)
        return why;
    if (s->layers != 1)
        return "the MLM trainer has one layer (layers must be 1)";
    if (s->residual)
        return "the bare MLM trainer has no residual (residual must be 0)";
    if (s->dout != s->H * s->dv)
        return "the bare MLM trainer has no W_O, so dout must be H dv";
    return NULL;
}

ac_moe_model *ac_moe_mlm_model_alloc(const ac_moe_sizes *s)
{
    if (ac_moe_mlm_sizes_check(s))
        return NULL;
    return ac_moe_model_alloc(s, AC_MOE_MLM_WITH);
}

static void uniform_fill(gsl_rng *r, double *x, size_t n, double limit)
{
    for (size_t k = 0; k < n; k++)
        x[k] = gsl_ran_flat(r, -limit, limit);
}

/* spec §3.3 (d): Keras's glorot on a kernel of shape (..., fan_in', fan_out')
 * takes fan_in = shape[-2] prod(shape[:-2]), fan_out = shape[-1]
 * prod(shape[:-2]); for the (d, H, dk) attention kernels that is H d and
 * dk d. */
void ac_moe_mlm_init(ac_moe_model *mm, gsl_rng *r)
{
    const ac_moe_sizes *s = &mm->m.s;
    double *p[NPART];
    size_t n[NPART];
    parts(mm, p, n);
    double H = s->H, d = s->d, dk = s->dk, dv = s->dv, L = s->L, V = s->V;
    uniform_fill(r, p[0], n[0], AC_MOE_MLM_EMBED_LIMIT);
    uniform_fill(r, p[1], n[1], sqrt(6.0 / (L + d)));
    uniform_fill(r, p[2], n[2], sqrt(6.0 / (H * d + dk * d)));
    uniform_fill(r, p[3], n[3], sqrt(6.0 / (H * d + dk * d)));
    uniform_fill(r, p[4], n[4], sqrt(6.0 / (H * d + dv * d)));
    uniform_fill(r, p[5], n[5], sqrt(6.0 / (H * dv + V)));
    memset(p[6], 0, n[6] * sizeof(double));
}

/* ---- Forward and backward ---------------------------------------------- */

/* Every projection is a sum of a token table and a position table: with
 * e_j = w_{t_j} + p_j, W e_j = (W w_{t_j}) + (W p_j).  So the step projects
 * the V+1 token rows and the L position rows once through all H heads
 * (level-3 BLAS), reads q, k_j, v_j of every (sentence, slot) as sums of two
 * table rows, batches the output layer over the slots of a chunk of
 * sentences, and adds the per-slot gradients into tables of the same shape,
 * which one product per weight maps back (dW = dT^T E + dTP^T P, dE = dT W,
 * dP = dTP W).  The mathematics is that of §1; only the rounding differs
 * from projecting each e_j (W w + W p instead of W (w + p)). */

/* Sentences per chunk: bounds the chunk buffers (rows x V logits, rows x H L
 * weights) whatever n is, while leaving the output-layer products large. */
enum { CHUNK_SENTENCES = 256 };

typedef struct {
    ac_moe_sizes s;
    int chunk;               /* sentences per chunk */
    double *QE, *KE, *VE;    /* (V+1) x H dk, (V+1) x H dk, (V+1) x H dv */
    double *QP, *KP, *VP;    /* L x H dk, L x H dk, L x H dv */
    double *dQE, *dKE, *dVE; /* their gradients */
    double *dQP, *dKP, *dVP;
    double *Ks, *Vs;         /* L x H dk, L x H dv: one sentence's keys, values (true tokens) */
    double *Km, *Vm;         /* L x H dk, L x H dv: keys, values of the mask token at slot j */
    double *A;               /* chunk L x H x L attention weights (0 off J) */
    double *O, *dO;          /* chunk L x H dv head outputs and their gradient */
    double *Z;               /* chunk L x V logits, then dz */
    double *da;              /* L */
    double *dq;              /* dk */
} work;

static void work_clear(work *w)
{
    double *all[] = {w->QE, w->KE, w->VE, w->QP, w->KP, w->VP, w->dQE, w->dKE, w->dVE, w->dQP,
                     w->dKP, w->dVP, w->Ks, w->Vs, w->Km, w->Vm, w->A, w->O, w->dO, w->Z,
                     w->da, w->dq};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        free(all[k]);
    memset(w, 0, sizeof *w);
}

/* The workspace for batches of up to n sentences. */
static int work_init(work *w, const ac_moe_sizes *s, int n)
{
    memset(w, 0, sizeof *w);
    w->s = *s;
    w->chunk = n < CHUNK_SENTENCES ? n : CHUNK_SENTENCES;
    size_t V = (size_t)s->V, L = (size_t)s->L, dk = (size_t)s->dk, dv = (size_t)s->dv,
           H = (size_t)s->H, R = (size_t)w->chunk * L;
    double **tab[] = {&w->QE, &w->KE, &w->VE, &w->dQE, &w->dKE, &w->dVE};
    size_t tw[] = {H * dk, H * dk, H * dv, H * dk, H * dk, H * dv};
    int ok = 1;
    for (int k = 0; k < 6; k++)
        ok = (*tab[k] = malloc((V + 1) * tw[k] * sizeof(double))) && ok;
    double **pos[] = {&w->QP, &w->KP, &w->VP, &w->dQP, &w->dKP, &w->dVP, &w->Ks, &w->Vs, &w->Km,
                      &w->Vm};
    size_t pw[] = {H * dk, H * dk, H * dv, H * dk, H * dk, H * dv, H * dk, H * dv, H * dk, H * dv};
    for (int k = 0; k < 10; k++)
        ok = (*pos[k] = malloc(L * pw[k] * sizeof(double))) && ok;
    ok = (w->A = malloc(R * H * L * sizeof(double))) && ok;
    ok = (w->O = malloc(R * H * dv * sizeof(double))) && ok;
    ok = (w->dO = malloc(R * H * dv * sizeof(double))) && ok;
    ok = (w->Z = malloc(R * V * sizeof(double))) && ok;
    ok = (w->da = malloc(L * sizeof(double))) && ok;
    ok = (w->dq = malloc(dk * sizeof(double))) && ok;
    if (!ok)
        work_clear(w);
    return ok;
}

/* C = op(A) op(B) (+ C when acc), row-major, through OpenBLAS. */
static void mm_nt(int m, int n, int k, const double *A, const double *B, double *C, int acc)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0, A, k, B, k, acc ? 1.0 : 0.0,
                C, n);
}

static void mm_tn(int m, int n, int k, const double *A, const double *B, double *C, int acc)
{
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0, A, m, B, n, acc ? 1.0 : 0.0,
                C, n);
}

static void mm_nn(int m, int n, int k, const double *A, const double *B, double *C, int acc)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, A, k, B, n,
                acc ? 1.0 : 0.0, C, n);
}

static int in_keys(const ac_moe_sizes *s, int i, int j) { return s->self || j != i; }

static void add_rows(double *y, const double *a, const double *b, size_t len)
{
    for (size_t c = 0; c < len; c++)
        y[c] = a[c] + b[c];
}

/* The token and position tables of the weights, and the mask token's keys
 * and values at each slot. */
static void tables(work *w, const ac_moe_attention *m)
{
    const ac_moe_sizes *s = &w->s;
    int V = s->V, L = s->L, d = s->d, Hk = s->H * s->dk, Hv = s->H * s->dv;
    mm_nt(V + 1, Hk, d, m->E, m->Wq, w->QE, 0);
    mm_nt(V + 1, Hk, d, m->E, m->Wk, w->KE, 0);
    mm_nt(V + 1, Hv, d, m->E, m->Wv, w->VE, 0);
    mm_nt(L, Hk, d, m->P, m->Wq, w->QP, 0);
    mm_nt(L, Hk, d, m->P, m->Wk, w->KP, 0);
    mm_nt(L, Hv, d, m->P, m->Wv, w->VP, 0);
    for (int j = 0; j < L; j++) {
        add_rows(w->Km + (size_t)j * Hk, w->KE + (size_t)V * Hk, w->KP + (size_t)j * Hk, (size_t)Hk);
        add_rows(w->Vm + (size_t)j * Hv, w->VE + (size_t)V * Hv, w->VP + (size_t)j * Hv, (size_t)Hv);
    }
}

/* Sentence x's keys and values with its true tokens. */
static void sentence_kv(work *w, const int *x)
{
    int L = w->s.L, Hk = w->s.H * w->s.dk, Hv = w->s.H * w->s.dv;
    for (int j = 0; j < L; j++) {
        add_rows(w->Ks + (size_t)j * Hk, w->KE + (size_t)x[j] * Hk, w->KP + (size_t)j * Hk,
                 (size_t)Hk);
        add_rows(w->Vs + (size_t)j * Hv, w->VE + (size_t)x[j] * Hv, w->VP + (size_t)j * Hv,
                 (size_t)Hv);
    }
}

/* Key (or value) row of slot j while slot i is masked, head h. */
static const double *key(const work *w, int i, int j, int h)
{
    size_t Hk = (size_t)w->s.H * w->s.dk;
    return (j == i ? w->Km : w->Ks) + (size_t)j * Hk + (size_t)h * w->s.dk;
}

static const double *value(const work *w, int i, int j, int h)
{
    size_t Hv = (size_t)w->s.H * w->s.dv;
    return (j == i ? w->Vm : w->Vs) + (size_t)j * Hv + (size_t)h * w->s.dv;
}

/* §1 attention of the sentence whose keys and values sentence_kv loaded,
 * masked at i: the weights a (H x L) and the head outputs o (H dv). */
static void attend(work *w, int i, double *a, double *o)
{
    const ac_moe_sizes *s = &w->s;
    int L = s->L, dk = s->dk, dv = s->dv, H = s->H, V = s->V, Hk = H * dk;
    double scale = 1.0 / sqrt((double)dk);
    for (int h = 0; h < H; h++) {
        const double *qm = w->QE + (size_t)V * Hk + (size_t)h * dk,
                     *qp = w->QP + (size_t)i * Hk + (size_t)h * dk;
        double *ah = a + (size_t)h * L, *oh = o + (size_t)h * dv;
        double *q = w->dq; /* scratch: the query */
        for (int c = 0; c < dk; c++)
            q[c] = qm[c] + qp[c];
        double mx = -INFINITY;
        for (int j = 0; j < L; j++) {
            if (!in_keys(s, i, j))
                continue;
            const double *kj = key(w, i, j, h);
            double sc = 0.0;
            for (int c = 0; c < dk; c++)
                sc += q[c] * kj[c];
            ah[j] = sc * scale;
            if (ah[j] > mx)
                mx = ah[j];
        }
        double sum = 0.0;
        for (int j = 0; j < L; j++) {
            ah[j] = in_keys(s, i, j) ? exp(ah[j] - mx) : 0.0;
            sum += ah[j];
        }
        for (int c = 0; c < dv; c++)
            oh[c] = 0.0;
        for (int j = 0; j < L; j++) {
            ah[j] /= sum;
            const double *vj = value(w, i, j, h);
            for (int c = 0; c < dv; c++)
                oh[c] += ah[j] * vj[c];
        }
    }
}

/* The backward pass of attend() for the head-output gradient dO (H dv),
 * into the gradient tables.  Chain rule of §1, per head:
 *   dv_j = a_j do,  ds_j = a_j (do·v_j - sum_k a_k do·v_k),
 *   dq = sum_j ds_j k_j / sqrt(dk),  dk_j = ds_j q / sqrt(dk);
 * q's gradient goes to the mask token's row and slot i's position row, k_j's
 * and v_j's to token t_j's row and position j's row. */
static void attend_back(work *w, const int *x, int i, const double *a, const double *dO)
{
    const ac_moe_sizes *s = &w->s;
    int L = s->L, dk = s->dk, dv = s->dv, H = s->H, V = s->V, Hk = H * dk, Hv = H * dv;
    double scale = 1.0 / sqrt((double)dk);
    for (int h = 0; h < H; h++) {
        const double *ah = a + (size_t)h * L, *dOh = dO + (size_t)h * dv;
        const double *qm = w->QE + (size_t)V * Hk + (size_t)h * dk,
                     *qp = w->QP + (size_t)i * Hk + (size_t)h * dk;
        double abar = 0.0;
        for (int j = 0; j < L; j++) {
            const double *vj = value(w, i, j, h);
            double acc = 0.0;
            for (int c = 0; c < dv; c++)
                acc += dOh[c] * vj[c];
            w->da[j] = acc;
            abar += ah[j] * acc;
        }
        double *dq = w->dq;
        memset(dq, 0, (size_t)dk * sizeof(double));
        for (int j = 0; j < L; j++) {
            if (!in_keys(s, i, j))
                continue;
            int t = j == i ? V : x[j];
            double ds = ah[j] * (w->da[j] - abar) * scale;
            const double *kj = key(w, i, j, h);
            double *dKt = w->dKE + (size_t)t * Hk + (size_t)h * dk,
                   *dKp = w->dKP + (size_t)j * Hk + (size_t)h * dk;
            for (int c = 0; c < dk; c++) {
                dq[c] += ds * kj[c];
                double g = ds * (qm[c] + qp[c]);
                dKt[c] += g;
                dKp[c] += g;
            }
            double *dVt = w->dVE + (size_t)t * Hv + (size_t)h * dv,
                   *dVp = w->dVP + (size_t)j * Hv + (size_t)h * dv;
            for (int c = 0; c < dv; c++) {
                double g = ah[j] * dOh[c];
                dVt[c] += g;
                dVp[c] += g;
            }
        }
        double *dQt = w->dQE + (size_t)V * Hk + (size_t)h * dk,
               *dQp = w->dQP + (size_t)i * Hk + (size_t)h * dk;
        for (int c = 0; c < dk; c++) {
            dQt[c] += dq[c];
            dQp[c] += dq[c];
        }
    }
}

static void zero_model(ac_moe_model *g)
{
    double *p[NPART];
    size_t n[NPART];
    parts(g, p, n);
    for (int k = 0; k < NPART; k++)
        memset(p[k], 0, n[k] * sizeof(double));
}

/* The mean loss over the n sentences (rows of X; rows[r] picks X's row, or
 * r itself when rows is NULL) and its gradient into g when non-NULL; the
 * output layer per chunk of sentences:
 *   z = U o + c,  dz = wt (softmax(z) - e_y),  dc += dz,  dU += dz o^T,
 *   do = U^T dz;
 * then the tables' gradients back to the weights (header of this section). */
static double loss_grad(work *w, const ac_moe_attention *m, int n, const int *X, const int *rows,
                        ac_moe_model *g)
{
    const ac_moe_sizes *s = &w->s;
    int L = s->L, V = s->V, d = s->d, H = s->H, Hk = H * s->dk, Hv = H * s->dv;
    double wt = 1.0 / ((double)n * L), total = 0.0;
    tables(w, m);
    if (g) {
        zero_model(g);
        double *dt[] = {w->dQE, w->dKE, w->dVE, w->dQP, w->dKP, w->dVP};
        size_t len[] = {(size_t)(V + 1) * Hk, (size_t)(V + 1) * Hk, (size_t)(V + 1) * Hv,
                        (size_t)L * Hk, (size_t)L * Hk, (size_t)L * Hv};
        for (int k = 0; k < 6; k++)
            memset(dt[k], 0, len[k] * sizeof(double));
    }
    for (int r0 = 0; r0 < n; r0 += w->chunk) {
        int nc = n - r0 < w->chunk ? n - r0 : w->chunk, R = nc * L;
        for (int r = 0; r < nc; r++) {
            sentence_kv(w, X + (size_t)(rows ? rows[r0 + r] : r0 + r) * L);
            for (int i = 0; i < L; i++) {
                size_t row = (size_t)r * L + i;
                attend(w, i, w->A + row * H * L, w->O + row * Hv);
            }
        }
        mm_nt(R, V, Hv, w->O, m->U, w->Z, 0);
        for (int r = 0; r < nc; r++) {
            const int *x = X + (size_t)(rows ? rows[r0 + r] : r0 + r) * L;
            for (int i = 0; i < L; i++) {
                double *z = w->Z + ((size_t)r * L + i) * V;
                double mx = -INFINITY, sum = 0.0;
                for (int u = 0; u < V; u++) {
                    z[u] += m->c[u];
                    if (z[u] > mx)
                        mx = z[u];
                }
                for (int u = 0; u < V; u++)
                    sum += exp(z[u] - mx);
                total -= z[x[i]] - mx - log(sum);
                if (!g)
                    continue;
                for (int u = 0; u < V; u++)
                    z[u] = wt * (exp(z[u] - mx) / sum - (u == x[i]));
                for (int u = 0; u < V; u++)
                    g->c[u] += z[u];
            }
        }
        if (!g)
            continue;
        mm_tn(V, Hv, R, w->Z, w->O, g->U, 1);
        mm_nn(R, Hv, V, w->Z, m->U, w->dO, 0);
        for (int r = 0; r < nc; r++) {
            const int *x = X + (size_t)(rows ? rows[r0 + r] : r0 + r) * L;
            sentence_kv(w, x);
            for (int i = 0; i < L; i++) {
                size_t row = (size_t)r * L + i;
                attend_back(w, x, i, w->A + row * H * L, w->dO + row * Hv);
            }
        }
    }
    if (g) {
        mm_tn(Hk, d, V + 1, w->dQE, m->E, g->Wq, 0);
        mm_tn(Hk, d, L, w->dQP, m->P, g->Wq, 1);
        mm_tn(Hk, d, V + 1, w->dKE, m->E, g->Wk, 0);
        mm_tn(Hk, d, L, w->dKP, m->P, g->Wk, 1);
        mm_tn(Hv, d, V + 1, w->dVE, m->E, g->Wv, 0);
        mm_tn(Hv, d, L, w->dVP, m->P, g->Wv, 1);
        mm_nn(V + 1, d, Hk, w->dQE, m->Wq, g->E, 0);
        mm_nn(V + 1, d, Hk, w->dKE, m->Wk, g->E, 1);
        mm_nn(V + 1, d, Hv, w->dVE, m->Wv, g->E, 1);
        mm_nn(L, d, Hk, w->dQP, m->Wq, g->P, 0);
        mm_nn(L, d, Hk, w->dKP, m->Wk, g->P, 1);
        mm_nn(L, d, Hv, w->dVP, m->Wv, g->P, 1);
    }
    return total * wt;
}

static ac_status check_words(const ac_moe_sizes *s, int n, const int *X, ac_msg *msg)
{
    for (size_t k = 0; k < (size_t)n * s->L; k++)
        if (X[k] < 0 || X[k] >= s->V)
            return ac_fail(msg, AC_EINVAL,
                           "sentence %zu, slot %zu: word %d is outside the vocabulary 0..%d",
                           k / (size_t)s->L, k % (size_t)s->L, X[k], s->V - 1);
    return AC_OK;
}

static ac_status check_model(const ac_moe_attention *m, ac_msg *msg)
{
    const char *why = ac_moe_attention_check(m);
    if (why)
        return ac_fail(msg, AC_EINVAL, "attention model: %s", why);
    why = ac_moe_mlm_sizes_check(&m->s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "attention model: %s", why);
    if (m->bq || m->bk || m->bv || m->Wo || m->bo)
        return ac_fail(msg, AC_EINVAL, "attention model: the bare MLM has no biases and no W_O");
    if (!m->P || !m->c)
        return ac_fail(msg, AC_EINVAL, "attention model: the MLM needs positions P and bias c");
    return AC_OK;
}

ac_status ac_moe_mlm_loss(const ac_moe_attention *m, int n, const int *X, double *loss,
                          ac_moe_model *grad, ac_msg *msg)
{
    ac_status st = check_model(m, msg);
    if (st)
        return st;
    if (n < 1)
        return ac_fail(msg, AC_EINVAL, "the loss needs at least one sentence (n = %d)", n);
    if ((st = check_words(&m->s, n, X, msg)))
        return st;
    if (grad && (!same_sizes(&grad->m.s, &m->s) || !grad->P || !grad->c))
        return ac_fail(msg, AC_EINVAL, "the gradient's model has other sizes or arrays");
    work w;
    if (!work_init(&w, &m->s, n))
        return ac_fail(msg, AC_ENOMEM, "no memory for the MLM workspace");
    *loss = loss_grad(&w, m, n, X, NULL, grad);
    work_clear(&w);
    return AC_OK;
}

/* ---- Training ---------------------------------------------------------- */

void ac_moe_train_settings_default(ac_moe_train_settings *s)
{
    *s = (ac_moe_train_settings){.steps = AC_MOE_TRAIN_STEPS_DEFAULT,
                                 .lr = AC_MOE_TRAIN_LR_DEFAULT,
                                 .beta1 = AC_MOE_TRAIN_BETA1_DEFAULT,
                                 .beta2 = AC_MOE_TRAIN_BETA2_DEFAULT,
                                 .epsilon = AC_MOE_TRAIN_EPSILON_DEFAULT,
                                 .batch = AC_MOE_TRAIN_BATCH_DEFAULT,
                                 .grad_tol = 0.0,
                                 .diverge_factor = AC_MOE_TRAIN_DIVERGE_FACTOR};
}

const char *ac_moe_train_settings_check(const ac_moe_train_settings *s)
{
    if (!s)
        return "the settings are missing (NULL)";
    if (s->steps < 0)
        return "the step limit is negative";
    if (!(s->lr > 0.0) || !isfinite(s->lr))
        return "the step size lr must be positive and finite";
    if (!(s->beta1 >= 0.0 && s->beta1 < 1.0))
        return "Adam's beta1 must lie in [0, 1)";
    if (!(s->beta2 >= 0.0 && s->beta2 < 1.0))
        return "Adam's beta2 must lie in [0, 1)";
    if (!(s->epsilon > 0.0) || !isfinite(s->epsilon))
        return "Adam's epsilon must be positive and finite";
    if (s->batch < 1)
        return "the batch size must be at least 1";
    if (!(s->grad_tol >= 0.0) || !isfinite(s->grad_tol))
        return "the gradient tolerance grad_tol must be finite and >= 0";
    if (!(s->diverge_factor > 1.0))
        return "the blow-up factor diverge_factor must be > 1";
    return NULL;
}

struct ac_moe_trainer {
    ac_moe_sizes s;
    int nmax;
    work w;
    ac_moe_model *mm, *g; /* weights and gradient */
    double *mom, *var, *next; /* Adam's moments and the tentative weights, flat */
    size_t total;
    int *order;           /* nmax sentence indices, shuffled per pass */
    int n, cursor;
    const int *X;
    gsl_rng *r;
    ac_moe_train_settings set;
    double b1t, b2t;      /* beta1^t, beta2^t */
    ac_train_info info;
};

void ac_moe_trainer_free(ac_moe_trainer *tr)
{
    if (!tr)
        return;
    work_clear(&tr->w);
    ac_moe_model_free(tr->mm);
    ac_moe_model_free(tr->g);
    free(tr->mom);
    free(tr->var);
    free(tr->next);
    free(tr->order);
    free(tr);
}

ac_moe_trainer *ac_moe_trainer_alloc(const ac_moe_sizes *s, int n)
{
    if (n < 1 || ac_moe_mlm_sizes_check(s))
        return NULL;
    ac_moe_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    tr->s = *s;
    tr->nmax = n;
    if (!work_init(&tr->w, s, n)) {
        free(tr);
        return NULL;
    }
    tr->mm = ac_moe_mlm_model_alloc(s);
    tr->g = ac_moe_mlm_model_alloc(s);
    double *p[NPART];
    size_t len[NPART];
    if (tr->mm) {
        parts(tr->mm, p, len);
        for (int k = 0; k < NPART; k++)
            tr->total += len[k];
    }
    tr->mom = malloc((tr->total + 1) * sizeof(double));
    tr->var = malloc((tr->total + 1) * sizeof(double));
    tr->next = malloc((tr->total + 1) * sizeof(double));
    tr->order = malloc((size_t)n * sizeof(int));
    if (!tr->mm || !tr->g || !tr->mom || !tr->var || !tr->next || !tr->order) {
        ac_moe_trainer_free(tr);
        return NULL;
    }
    tr->info.outcome = AC_TRAIN_RUNNING;
    return tr;
}

ac_status ac_moe_trainer_set(ac_moe_trainer *tr, int n, const int *X, const ac_moe_model *start,
                             const ac_moe_train_settings *set, gsl_rng *r, ac_msg *msg)
{
    const char *why = ac_moe_train_settings_check(set);
    if (why)
        return ac_fail(msg, AC_EINVAL, "training settings: %s", why);
    if (n < 1 || n > tr->nmax)
        return ac_fail(msg, AC_ESIZE, "%d sentences do not fit a trainer for 1..%d", n, tr->nmax);
    if (!same_sizes(&start->m.s, &tr->s) || !start->P || !start->c)
        return ac_fail(msg, AC_EINVAL, "the start model's sizes or arrays differ from the trainer's");
    if (set->batch < n && !r)
        return ac_fail(msg, AC_EINVAL, "a batch smaller than the %d sentences needs a generator", n);
    ac_status st = check_model(&start->m, msg);
    if (st)
        return st;
    if ((st = check_words(&tr->s, n, X, msg)))
        return st;
    double *src[NPART], *dst[NPART];
    size_t len[NPART];
    parts(start, src, len);
    parts(tr->mm, dst, len);
    for (int k = 0; k < NPART; k++)
        memcpy(dst[k], src[k], len[k] * sizeof(double));
    memset(tr->mom, 0, tr->total * sizeof(double));
    memset(tr->var, 0, tr->total * sizeof(double));
    for (int k = 0; k < n; k++)
        tr->order[k] = k;
    tr->n = n;
    tr->cursor = n; /* the first step starts a pass */
    tr->X = X;
    tr->r = r;
    tr->set = *set;
    tr->b1t = tr->b2t = 1.0;
    tr->info = (ac_train_info){.outcome = AC_TRAIN_RUNNING, .loss = NAN, .loss0 = NAN,
                               .grad_norm = NAN};
    return AC_OK;
}

ac_train_outcome ac_moe_trainer_test(const ac_moe_trainer *tr) { return tr->info.outcome; }

/* The next batch of the shuffled pass: its rows into *rows, its size back.
 * A batch never straddles two passes (Keras's last partial batch). */
static int next_batch(ac_moe_trainer *tr, const int **rows)
{
    if (tr->set.batch >= tr->n) {
        *rows = NULL;
        return tr->n;
    }
    if (tr->cursor >= tr->n) {
        gsl_ran_shuffle(tr->r, tr->order, (size_t)tr->n, sizeof(int));
        tr->cursor = 0;
    }
    int b = tr->n - tr->cursor < tr->set.batch ? tr->n - tr->cursor : tr->set.batch;
    *rows = tr->order + tr->cursor;
    tr->cursor += b;
    return b;
}

ac_status ac_moe_trainer_iterate(ac_moe_trainer *tr)
{
    ac_train_info *in = &tr->info;
    if (in->outcome != AC_TRAIN_RUNNING)
        return AC_OK;
    if (in->steps >= tr->set.steps) {
        in->outcome = AC_TRAIN_STEP_LIMIT;
        return AC_OK;
    }
    double t0 = ac_clock();
    const int *rows;
    int b = next_batch(tr, &rows);
    double loss = loss_grad(&tr->w, &tr->mm->m, b, tr->X, rows, tr->g);
    double *w[NPART], *g[NPART];
    size_t len[NPART];
    parts(tr->mm, w, len);
    parts(tr->g, g, len);
    double gn2 = 0.0;
    for (int k = 0; k < NPART; k++)
        for (size_t j = 0; j < len[k]; j++)
            gn2 += g[k][j] * g[k][j];
    in->loss = loss;
    in->grad_norm = sqrt(gn2);
    if (in->steps == 0)
        in->loss0 = loss;
    if (!isfinite(loss) || !isfinite(in->grad_norm) ||
        loss > tr->set.diverge_factor * fmax(1.0, in->loss0)) {
        in->outcome = AC_TRAIN_DIVERGED;
    } else if (in->grad_norm <= tr->set.grad_tol) {
        in->outcome = AC_TRAIN_CONVERGED;
    } else {
        /* Keras's Adam (spec §6), the update of the header. */
        const ac_moe_train_settings *s = &tr->set;
        double b1t = tr->b1t * s->beta1, b2t = tr->b2t * s->beta2;
        double alpha = s->lr * sqrt(1.0 - b2t) / (1.0 - b1t);
        int finite = 1;
        size_t f = 0;
        for (int k = 0; k < NPART; f += len[k], k++)
            finite &= ac_adam_folded(len[k], w[k], g[k], s->beta1, s->beta2, alpha, s->epsilon, tr->mom + f,
                                     tr->var + f, tr->next + f);
        if (!finite) {
            in->outcome = AC_TRAIN_DIVERGED;
        } else {
            f = 0;
            for (int k = 0; k < NPART; k++) {
                memcpy(w[k], tr->next + f, len[k] * sizeof(double));
                f += len[k];
            }
            tr->b1t = b1t;
            tr->b2t = b2t;
            in->steps++;
            if (in->steps >= s->steps)
                in->outcome = AC_TRAIN_STEP_LIMIT;
        }
    }
    in->seconds += ac_clock() - t0;
    return AC_OK;
}

ac_train_outcome ac_moe_trainer_run(ac_moe_trainer *tr, long steps)
{
    while (tr->info.outcome == AC_TRAIN_RUNNING && tr->info.steps < steps)
        ac_moe_trainer_iterate(tr);
    return tr->info.outcome;
}

const ac_moe_model *ac_moe_trainer_model(const ac_moe_trainer *tr) { return tr->mm; }
const ac_train_info *ac_moe_trainer_info(const ac_moe_trainer *tr) { return &tr->info; }

ac_status ac_moe_train(int n, const int *X, const ac_moe_model *start,
                       const ac_moe_train_settings *set, gsl_rng *r, ac_moe_model *out,
                       ac_train_info *info, ac_msg *msg)
{
    if (!same_sizes(&out->m.s, &start->m.s) || !out->P || !out->c)
        return ac_fail(msg, AC_EINVAL, "the output model's sizes or arrays differ from the start's");
    const char *why = ac_moe_mlm_sizes_check(&start->m.s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "attention model: %s", why);
    ac_moe_trainer *tr = ac_moe_trainer_alloc(&start->m.s, n < 1 ? 1 : n);
    if (!tr)
        return ac_fail(msg, AC_ENOMEM, "no memory for the MLM trainer");
    ac_status st = ac_moe_trainer_set(tr, n, X, start, set, r, msg);
    if (st == AC_OK) {
        ac_moe_trainer_run(tr, set->steps);
        double *src[NPART], *dst[NPART];
        size_t len[NPART];
        parts(tr->mm, src, len);
        parts(out, dst, len);
        for (int k = 0; k < NPART; k++)
            memcpy(dst[k], src[k], len[k] * sizeof(double));
        *info = tr->info;
    }
    ac_moe_trainer_free(tr);
    return st;
}

/* ==== The tabular block (spec §3.3) ====================================== */

/* cblas_dgemm from OpenBLAS, through GSL's declarations (OpenBLAS's cblas.h
 * clashes with them in this file). */
#include <gsl/gsl_cblas.h>

void ac_moe_block_sizes_default(ac_moe_block_sizes *s)
{
    *s = (ac_moe_block_sizes){.V = 10,
                              .L = 6,
                              .d = AC_MOE_BLOCK_D_DEFAULT,
                              .H = AC_MOE_BLOCK_H_DEFAULT,
                              .dk = AC_MOE_BLOCK_DK_DEFAULT,
                              .ffn = AC_MOE_BLOCK_FFN_DEFAULT,
                              .block = 1};
}

const char *ac_moe_block_sizes_check(const ac_moe_block_sizes *s)
{
    if (s->V < 1 || s->V > AC_MOE_MAX_DIM)
        return "the categories V must lie in 1..AC_MOE_MAX_DIM";
    if (s->L < 1 || s->L > AC_MOE_MAX_DIM)
        return "the row length L must lie in 1..AC_MOE_MAX_DIM";
    if (s->d < 1 || s->d > AC_MOE_MAX_DIM || s->H < 1 || s->H > AC_MOE_MAX_DIM || s->dk < 1 ||
        s->dk > AC_MOE_MAX_DIM)
        return "the widths d, H, dk must lie in 1..AC_MOE_MAX_DIM";
    if (s->block != 0 && s->block != 1)
        return "block must be 0 (bare layer) or 1 (the authors' block)";
    if (s->block && (s->ffn < 1 || s->ffn > AC_MOE_MAX_DIM))
        return "the FFN width ffn must lie in 1..AC_MOE_MAX_DIM";
    return NULL;
}

enum { BNPART = 20 };

/* The arrays in storage order, with their lengths (0 for absent ones). */
static void block_layout(const ac_moe_block_sizes *s, size_t *len)
{
    size_t V = s->V, L = s->L, d = s->d, hd = (size_t)s->H * s->dk, f = s->block ? s->ffn : 0;
    size_t bl = s->block ? 1 : 0, dout = s->block ? d : hd;
    size_t n[BNPART] = {(V + 1) * d, L * d, hd * d, bl * hd, hd * d, bl * hd, hd * d, bl * hd,
                        bl * d * hd, bl * d,  bl * d, bl * d, f * d,  f,       d * f,  bl * d,
                        bl * d,      bl * d,  V * dout, V};
    memcpy(len, n, sizeof n);
}

static void block_views(ac_moe_block *b)
{
    size_t len[BNPART];
    block_layout(&b->s, len);
    double **v[BNPART] = {&b->E,  &b->P,  &b->Wq, &b->bq, &b->Wk, &b->bk, &b->Wv,
                          &b->bv, &b->Wo, &b->bo, &b->g1, &b->b1, &b->F1, &b->f1,
                          &b->F2, &b->f2, &b->g2, &b->b2, &b->U,  &b->c};
    size_t off = 0;
    for (int k = 0; k < BNPART; k++) {
        *v[k] = len[k] ? b->w + off : NULL;
        off += len[k];
    }
}

ac_moe_block *ac_moe_block_alloc(const ac_moe_block_sizes *s)
{
    if (ac_moe_block_sizes_check(s))
        return NULL;
    ac_moe_block *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->s = *s;
    size_t len[BNPART];
    block_layout(s, len);
    for (int k = 0; k < BNPART; k++)
        b->n += len[k];
    b->w = calloc(b->n, sizeof(double));
    if (!b->w) {
        free(b);
        return NULL;
    }
    block_views(b);
    return b;
}

void ac_moe_block_free(ac_moe_block *b)
{
    if (!b)
        return;
    free(b->w);
    free(b);
}

static int block_same(const ac_moe_block_sizes *a, const ac_moe_block_sizes *b)
{
    return a->V == b->V && a->L == b->L && a->d == b->d && a->H == b->H && a->dk == b->dk &&
           a->block == b->block && (!a->block || a->ffn == b->ffn);
}

ac_status ac_moe_block_copy(ac_moe_block *dst, const ac_moe_block *src)
{
    if (!block_same(&dst->s, &src->s))
        return AC_EINVAL;
    memcpy(dst->w, src->w, src->n * sizeof(double));
    return AC_OK;
}

/* spec §3.3 (d), Keras's glorot on the 3-D attention kernels. */
void ac_moe_block_init(ac_moe_block *b, gsl_rng *r)
{
    const ac_moe_block_sizes *s = &b->s;
    double V = s->V, L = s->L, d = s->d, H = s->H, dk = s->dk, f = s->ffn;
    size_t hd = (size_t)s->H * s->dk, nd = (size_t)s->d;
    memset(b->w, 0, b->n * sizeof(double));
    uniform_fill(r, b->E, (size_t)(s->V + 1) * nd, AC_MOE_MLM_EMBED_LIMIT);
    uniform_fill(r, b->P, (size_t)s->L * nd, sqrt(6.0 / (L + d)));
    double qkv = sqrt(6.0 / (H * d + dk * d));
    uniform_fill(r, b->Wq, hd * nd, qkv);
    uniform_fill(r, b->Wk, hd * nd, qkv);
    uniform_fill(r, b->Wv, hd * nd, qkv);
    if (s->block) {
        uniform_fill(r, b->Wo, nd * hd, sqrt(6.0 / (dk * H + d * H)));
        uniform_fill(r, b->F1, (size_t)s->ffn * nd, sqrt(6.0 / (d + f)));
        uniform_fill(r, b->F2, nd * (size_t)s->ffn, sqrt(6.0 / (f + d)));
        uniform_fill(r, b->U, (size_t)s->V * nd, sqrt(6.0 / (d + V)));
        for (size_t k = 0; k < nd; k++)
            b->g1[k] = b->g2[k] = 1.0;
    } else {
        uniform_fill(r, b->U, (size_t)s->V * hd, sqrt(6.0 / ((double)hd + V)));
    }
}

/* ---- Forward and backward over a batch ---------------------------------- */

typedef struct {
    ac_moe_block_sizes s;
    int B; /* capacity in examples */
    int *tok;                 /* B x L tokens (slot i = V) */
    int *slot, *y;            /* B */
    double *Eall;             /* (V+1) L x d: e_{t,j} = E[t] + P[j], row t L + j */
    double *Kc, *Vc;          /* (V+1) L x H dk keys and values of every (t, j) */
    double *Qc;               /* L x H dk queries of the masked slots, times 1/sqrt(dk) */
    double *A;                /* B x H x L attention weights */
    double *O;                /* B x H dk */
    double *Uo, *M1, *R1, *X1, *N1, *rs1; /* block: B x d (rs1: B) */
    double *Pre, *Fh;         /* B x ffn */
    double *Vf, *M2, *R2, *X2, *N2, *rs2;
    double *Z;                /* B x V logits, then dZ */
    double *dX, *dA, *dB, *dF; /* B x dout, B x d, B x d, B x ffn */
    double *dO;               /* B x H dk */
    double *dKc, *dVc, *dEall; /* like Kc, Vc, Eall */
    double *dQ;               /* L x H dk */
} bwork;

static void bwork_clear(bwork *w)
{
    void *p[] = {w->tok, w->slot, w->y,  w->Eall, w->Kc, w->Vc,  w->Qc, w->A,   w->O,   w->Uo,
                 w->M1,  w->R1,   w->X1, w->N1,   w->rs1, w->Pre, w->Fh, w->Vf,  w->M2,  w->R2,
                 w->X2,  w->N2,   w->rs2, w->Z,   w->dX, w->dA,  w->dB, w->dF,  w->dO,  w->dKc,
                 w->dVc, w->dEall, w->dQ};
    for (size_t k = 0; k < sizeof p / sizeof p[0]; k++)
        free(p[k]);
    memset(w, 0, sizeof *w);
}

static int bwork_init(bwork *w, const ac_moe_block_sizes *s, int B)
{
    memset(w, 0, sizeof *w);
    w->s = *s;
    w->B = B;
    size_t b = (size_t)B, V = s->V, L = s->L, d = s->d, hd = (size_t)s->H * s->dk;
    size_t f = s->block ? s->ffn : 1, dout = s->block ? d : hd, TL = (V + 1) * L;
    int ok = 1;
#define ALLOC(x, n) ok = ok && ((x) = calloc((n), sizeof *(x))) != NULL
    ALLOC(w->tok, b * L);
    ALLOC(w->slot, b);
    ALLOC(w->y, b);
    ALLOC(w->Eall, TL * d);
    ALLOC(w->Kc, TL * hd);
    ALLOC(w->Vc, TL * hd);
    ALLOC(w->Qc, L * hd);
    ALLOC(w->A, b * s->H * L);
    ALLOC(w->O, b * hd);
    ALLOC(w->Z, b * V);
    ALLOC(w->dX, b * dout);
    ALLOC(w->dO, b * hd);
    ALLOC(w->dKc, TL * hd);
    ALLOC(w->dVc, TL * hd);
    ALLOC(w->dEall, TL * d);
    ALLOC(w->dQ, L * hd);
    if (s->block) {
        double **bd[] = {&w->Uo, &w->M1, &w->R1, &w->X1, &w->N1, &w->Vf, &w->M2,
                         &w->R2, &w->X2, &w->N2, &w->dA, &w->dB};
        for (size_t k = 0; k < sizeof bd / sizeof bd[0]; k++)
            ALLOC(*bd[k], b * d);
        ALLOC(w->rs1, b);
        ALLOC(w->rs2, b);
        ALLOC(w->Pre, b * f);
        ALLOC(w->Fh, b * f);
        ALLOC(w->dF, b * f);
    }
#undef ALLOC
    if (!ok)
        bwork_clear(w);
    return ok;
}

/* C (m x n) = A (m x k) B^T (n x k) [+ C when acc]: the row-major Dense
 * layer with kernel B stored out x in. */
static void gemm_nt(int m, int n, int k, const double *A, const double *B, double *C, int acc)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0, A, k, B, k, acc ? 1.0 : 0.0, C,
                n);
}
/* C (m x n) += A^T B for A (k x m), B (k x n): a kernel's gradient. */
static void gemm_tn_acc(int m, int n, int k, const double *A, const double *B, double *C)
{
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n, k, 1.0, A, m, B, n, 1.0, C, n);
}
/* C (m x n) = A (m x k) B (k x n) [+ C]: the backward of a Dense layer. */
static void gemm_nn(int m, int n, int k, const double *A, const double *B, double *C, int acc)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, A, k, B, n, acc ? 1.0 : 0.0,
                C, n);
}

static void add_bias(double *X, int m, int n, const double *bias)
{
    if (!bias)
        return;
    for (int r = 0; r < m; r++)
        for (int c = 0; c < n; c++)
            X[(size_t)r * n + c] += bias[c];
}

static void col_sums_add(const double *X, int m, int n, double *out)
{
    if (!out)
        return;
    for (int r = 0; r < m; r++)
        for (int c = 0; c < n; c++)
            out[c] += X[(size_t)r * n + c];
}

/* Keys, values and queries of every (token, slot) pair: they depend on the
 * pair only, so a batch computes them once (spec §6's speed-up). */
static void block_pairs(bwork *w, const ac_moe_block *b)
{
    const ac_moe_block_sizes *s = &w->s;
    int V = s->V, L = s->L, d = s->d, hd = s->H * s->dk, TL = (V + 1) * L;
    for (int t = 0; t <= V; t++)
        for (int j = 0; j < L; j++)
            for (int c = 0; c < d; c++)
                w->Eall[((size_t)t * L + j) * d + c] = b->E[(size_t)t * d + c] + b->P[(size_t)j * d + c];
    gemm_nt(TL, hd, d, w->Eall, b->Wk, w->Kc, 0);
    add_bias(w->Kc, TL, hd, b->bk);
    gemm_nt(TL, hd, d, w->Eall, b->Wv, w->Vc, 0);
    add_bias(w->Vc, TL, hd, b->bv);
    const double *Emask = w->Eall + (size_t)V * L * d;
    gemm_nt(L, hd, d, Emask, b->Wq, w->Qc, 0);
    add_bias(w->Qc, L, hd, b->bq);
    double scale = 1.0 / sqrt((double)s->dk);
    for (size_t k = 0; k < (size_t)L * hd; k++)
        w->Qc[k] *= scale;
}

/* LayerNorm of the m rows of X (m x d) into N, keeping xhat and 1/sd. */
static void layer_norm(int m, int d, const double *X, const double *g, const double *beta, double eps,
                       double *xhat, double *rs, double *N)
{
    for (int r = 0; r < m; r++) {
        const double *x = X + (size_t)r * d;
        double mu = 0.0, var = 0.0;
        for (int c = 0; c < d; c++)
            mu += x[c];
        mu /= d;
        for (int c = 0; c < d; c++)
            var += (x[c] - mu) * (x[c] - mu);
        var /= d;
        rs[r] = 1.0 / sqrt(var + eps);
        for (int c = 0; c < d; c++) {
            double h = (x[c] - mu) * rs[r];
            xhat[(size_t)r * d + c] = h;
            N[(size_t)r * d + c] = g[c] * h + beta[c];
        }
    }
}

/* LayerNorm's backward: dN (m x d) in, dX out (may alias dN); dg, db added.
 *   dxhat = g dN;  dX = rs (dxhat - mean(dxhat) - xhat mean(dxhat xhat)). */
static void layer_norm_back(int m, int d, const double *xhat, const double *rs, const double *g,
                            const double *dN, double *dX, double *dg, double *db)
{
    for (int r = 0; r < m; r++) {
        const double *h = xhat + (size_t)r * d, *dn = dN + (size_t)r * d;
        double m1 = 0.0, m2 = 0.0;
        for (int c = 0; c < d; c++) {
            double dh = g[c] * dn[c];
            m1 += dh;
            m2 += dh * h[c];
            dg[c] += dn[c] * h[c];
            db[c] += dn[c];
        }
        m1 /= d;
        m2 /= d;
        for (int c = 0; c < d; c++)
            dX[(size_t)r * d + c] = rs[r] * (g[c] * dn[c] - m1 - h[c] * m2);
    }
}

/* Dropout factors: 0 with probability p, else 1 / (1 - p); all 1 when r is
 * NULL or p = 0. */
static void dropout_mask(gsl_rng *r, double p, double *M, size_t n)
{
    for (size_t k = 0; k < n; k++)
        M[k] = (!r || p == 0.0) ? 1.0 : (gsl_rng_uniform(r) < p ? 0.0 : 1.0 / (1.0 - p));
}

/* The forward pass of the header for the nb examples loaded in w->tok,
 * slot, y (block_pairs done); returns the summed loss.  Masks from r. */
static double block_forward(bwork *w, const ac_moe_block *b, const ac_moe_block_opts *opt, int nb,
                            gsl_rng *r)
{
    const ac_moe_block_sizes *s = &w->s;
    int V = s->V, L = s->L, d = s->d, H = s->H, dk = s->dk, hd = H * dk;
    for (int k = 0; k < nb; k++) {
        const int *t = w->tok + (size_t)k * L;
        const double *q = w->Qc + (size_t)w->slot[k] * hd;
        double *o = w->O + (size_t)k * hd;
        for (int h = 0; h < H; h++) {
            double *a = w->A + ((size_t)k * H + h) * L, mx = -INFINITY, sum = 0.0;
            for (int j = 0; j < L; j++) {
                const double *kj = w->Kc + ((size_t)t[j] * L + j) * hd + (size_t)h * dk;
                double sc = 0.0;
                for (int c = 0; c < dk; c++)
                    sc += q[h * dk + c] * kj[c];
                a[j] = sc;
                mx = sc > mx ? sc : mx;
            }
            for (int j = 0; j < L; j++)
                sum += (a[j] = exp(a[j] - mx));
            for (int c = 0; c < dk; c++)
                o[h * dk + c] = 0.0;
            for (int j = 0; j < L; j++) {
                a[j] /= sum;
                const double *vj = w->Vc + ((size_t)t[j] * L + j) * hd + (size_t)h * dk;
                for (int c = 0; c < dk; c++)
                    o[h * dk + c] += a[j] * vj[c];
            }
        }
    }
    const double *X = w->O;
    int dout = hd;
    if (s->block) {
        int f = s->ffn;
        const double *Emask = w->Eall + (size_t)V * L * d;
        gemm_nt(nb, d, hd, w->O, b->Wo, w->Uo, 0);
        add_bias(w->Uo, nb, d, b->bo);
        for (int k = 0; k < nb; k++) {
            dropout_mask(r, opt->dropout, w->M1 + (size_t)k * d, (size_t)d);
            dropout_mask(r, opt->dropout, w->M2 + (size_t)k * d, (size_t)d);
        }
        for (int k = 0; k < nb; k++)
            for (int c = 0; c < d; c++) {
                size_t x = (size_t)k * d + c;
                w->R1[x] = Emask[(size_t)w->slot[k] * d + c] + w->M1[x] * w->Uo[x];
            }
        layer_norm(nb, d, w->R1, b->g1, b->b1, opt->ln_eps, w->X1, w->rs1, w->N1);
        gemm_nt(nb, f, d, w->N1, b->F1, w->Pre, 0);
        add_bias(w->Pre, nb, f, b->f1);
        for (size_t x = 0; x < (size_t)nb * f; x++)
            w->Fh[x] = w->Pre[x] > 0.0 ? w->Pre[x] : 0.0;
        gemm_nt(nb, d, f, w->Fh, b->F2, w->Vf, 0);
        add_bias(w->Vf, nb, d, b->f2);
        for (size_t x = 0; x < (size_t)nb * d; x++)
            w->R2[x] = w->N1[x] + w->M2[x] * w->Vf[x];
        layer_norm(nb, d, w->R2, b->g2, b->b2, opt->ln_eps, w->X2, w->rs2, w->N2);
        X = w->N2;
        dout = d;
    }
    gemm_nt(nb, V, dout, X, b->U, w->Z, 0);
    add_bias(w->Z, nb, V, b->c);
    double total = 0.0;
    for (int k = 0; k < nb; k++) {
        const double *z = w->Z + (size_t)k * V;
        double mx = -INFINITY, sum = 0.0;
        for (int v = 0; v < V; v++)
            mx = z[v] > mx ? z[v] : mx;
        for (int v = 0; v < V; v++)
            sum += exp(z[v] - mx);
        total += mx + log(sum) - z[w->y[k]];
    }
    return total;
}

/* The backward pass of block_forward for the loss wt * sum of the nb
 * examples' cross-entropies, added into g (chain rule of the header's
 * forward pass, layer by layer in reverse). */
static void block_backward(bwork *w, const ac_moe_block *b, int nb, double wt, ac_moe_block *g)
{
    const ac_moe_block_sizes *s = &w->s;
    int V = s->V, L = s->L, d = s->d, H = s->H, dk = s->dk, hd = H * dk, TL = (V + 1) * L;
    /* dZ = wt (softmax(z) - e_y), in place of Z. */
    for (int k = 0; k < nb; k++) {
        double *z = w->Z + (size_t)k * V, mx = -INFINITY, sum = 0.0;
        for (int v = 0; v < V; v++)
            mx = z[v] > mx ? z[v] : mx;
        for (int v = 0; v < V; v++)
            sum += (z[v] = exp(z[v] - mx));
        for (int v = 0; v < V; v++)
            z[v] = wt * (z[v] / sum - (v == w->y[k]));
    }
    col_sums_add(w->Z, nb, V, g->c);
    int dout = s->block ? d : hd;
    const double *X = s->block ? w->N2 : w->O;
    gemm_tn_acc(V, dout, nb, w->Z, X, g->U);
    gemm_nn(nb, dout, V, w->Z, b->U, w->dX, 0);
    memset(w->dEall, 0, (size_t)TL * d * sizeof(double));
    double *dEmask = w->dEall + (size_t)V * L * d;
    if (s->block) {
        int f = s->ffn;
        /* LN2: dR2 into dA; then n1's two paths and the FFN. */
        layer_norm_back(nb, d, w->X2, w->rs2, b->g2, w->dX, w->dA, g->g2, g->b2);
        for (size_t x = 0; x < (size_t)nb * d; x++)
            w->dB[x] = w->dA[x] * w->M2[x]; /* dVf */
        col_sums_add(w->dB, nb, d, g->f2);
        gemm_tn_acc(d, f, nb, w->dB, w->Fh, g->F2);
        gemm_nn(nb, f, d, w->dB, b->F2, w->dF, 0);
        for (size_t x = 0; x < (size_t)nb * f; x++)
            w->dF[x] = w->Pre[x] > 0.0 ? w->dF[x] : 0.0;
        col_sums_add(w->dF, nb, f, g->f1);
        gemm_tn_acc(f, d, nb, w->dF, w->N1, g->F1);
        gemm_nn(nb, d, f, w->dF, b->F1, w->dA, 1); /* dN1 = dR2 + dPre F1 */
        /* LN1: dR1 into dB; e_i's residual and the attention output. */
        layer_norm_back(nb, d, w->X1, w->rs1, b->g1, w->dA, w->dB, g->g1, g->b1);
        for (int k = 0; k < nb; k++)
            for (int c = 0; c < d; c++)
                dEmask[(size_t)w->slot[k] * d + c] += w->dB[(size_t)k * d + c];
        for (size_t x = 0; x < (size_t)nb * d; x++)
            w->dB[x] *= w->M1[x]; /* dUo */
        col_sums_add(w->dB, nb, d, g->bo);
        gemm_tn_acc(d, hd, nb, w->dB, w->O, g->Wo);
        gemm_nn(nb, hd, d, w->dB, b->Wo, w->dO, 0);
    } else {
        memcpy(w->dO, w->dX, (size_t)nb * hd * sizeof(double));
    }
    /* Attention, per example and head:
     *   dv_j += a_j do,  ds_j = a_j (do·v_j - sum_l a_l do·v_l),
     *   dq += sum_j ds_j k_j,  dk_j += ds_j q  (q, dq carry 1/sqrt(dk)). */
    memset(w->dKc, 0, (size_t)TL * hd * sizeof(double));
    memset(w->dVc, 0, (size_t)TL * hd * sizeof(double));
    memset(w->dQ, 0, (size_t)L * hd * sizeof(double));
    double da[AC_MOE_MAX_DIM];
    for (int k = 0; k < nb; k++) {
        const int *t = w->tok + (size_t)k * L;
        size_t qo = (size_t)w->slot[k] * hd;
        for (int h = 0; h < H; h++) {
            const double *a = w->A + ((size_t)k * H + h) * L, *dO = w->dO + (size_t)k * hd + h * dk;
            const double *q = w->Qc + qo + h * dk;
            double *dq = w->dQ + qo + h * dk, abar = 0.0;
            for (int j = 0; j < L; j++) {
                size_t pj = ((size_t)t[j] * L + j) * hd + (size_t)h * dk;
                double acc = 0.0;
                for (int c = 0; c < dk; c++) {
                    acc += dO[c] * w->Vc[pj + c];
                    w->dVc[pj + c] += a[j] * dO[c];
                }
                da[j] = acc;
                abar += a[j] * acc;
            }
            for (int j = 0; j < L; j++) {
                size_t pj = ((size_t)t[j] * L + j) * hd + (size_t)h * dk;
                double ds = a[j] * (da[j] - abar);
                for (int c = 0; c < dk; c++) {
                    dq[c] += ds * w->Kc[pj + c];
                    w->dKc[pj + c] += ds * q[c];
                }
            }
        }
    }
    /* Back through the projections of the (token, slot) pairs. */
    double scale = 1.0 / sqrt((double)dk);
    for (size_t x = 0; x < (size_t)L * hd; x++)
        w->dQ[x] *= scale;
    const double *Emask = w->Eall + (size_t)V * L * d;
    gemm_tn_acc(hd, d, TL, w->dKc, w->Eall, g->Wk);
    gemm_tn_acc(hd, d, TL, w->dVc, w->Eall, g->Wv);
    gemm_tn_acc(hd, d, L, w->dQ, Emask, g->Wq);
    col_sums_add(w->dKc, TL, hd, g->bk);
    col_sums_add(w->dVc, TL, hd, g->bv);
    col_sums_add(w->dQ, L, hd, g->bq);
    gemm_nn(TL, d, hd, w->dKc, b->Wk, w->dEall, 1);
    gemm_nn(TL, d, hd, w->dVc, b->Wv, w->dEall, 1);
    gemm_nn(L, d, hd, w->dQ, b->Wq, dEmask, 1);
    for (int tt = 0; tt <= V; tt++)
        for (int j = 0; j < L; j++)
            for (int c = 0; c < d; c++) {
                double x = w->dEall[((size_t)tt * L + j) * d + c];
                g->E[(size_t)tt * d + c] += x;
                g->P[(size_t)j * d + c] += x;
            }
}

/* Load examples (row, slot) into w: tokens with the slot masked, targets. */
static void block_load(bwork *w, int nb, const int *X, const int *rows, const int *slots)
{
    int L = w->s.L, V = w->s.V;
    for (int k = 0; k < nb; k++) {
        const int *x = X + (size_t)rows[k] * L;
        int *t = w->tok + (size_t)k * L;
        memcpy(t, x, (size_t)L * sizeof(int));
        t[slots[k]] = V;
        w->slot[k] = slots[k];
        w->y[k] = x[slots[k]];
    }
}

/* Examples a loss call handles per batch of its workspace. */
#define BLOCK_CHUNK 256

static ac_status block_check(const ac_moe_block *b, const ac_moe_block_opts *opt, ac_msg *msg)
{
    const char *why = ac_moe_block_sizes_check(&b->s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "block sizes: %s", why);
    if (!(opt->dropout >= 0.0 && opt->dropout < 1.0))
        return ac_fail(msg, AC_EINVAL, "the dropout probability must lie in [0, 1)");
    if (!(opt->ln_eps > 0.0) || !isfinite(opt->ln_eps))
        return ac_fail(msg, AC_EINVAL, "LayerNorm's epsilon must be positive and finite");
    for (size_t k = 0; k < b->n; k++)
        if (!isfinite(b->w[k]))
            return ac_fail(msg, AC_EINVAL, "weight %zu of the block is not finite", k);
    return AC_OK;
}

static ac_status block_check_cells(const ac_moe_block_sizes *s, int n, const int *X, ac_msg *msg)
{
    for (size_t k = 0; k < (size_t)n * s->L; k++)
        if (X[k] < 0 || X[k] >= s->V)
            return ac_fail(msg, AC_EINVAL, "row %zu, cell %zu: category %d is outside 0..%d",
                           k / (size_t)s->L, k % (size_t)s->L, X[k], s->V - 1);
    return AC_OK;
}

ac_status ac_moe_block_loss(const ac_moe_block *b, const ac_moe_block_opts *opt, int n, const int *X,
                            int nex, const int *ex, gsl_rng *r, double *loss, ac_moe_block *grad,
                            ac_msg *msg)
{
    ac_status st = block_check(b, opt, msg);
    if (st)
        return st;
    int L = b->s.L;
    if (n < 1)
        return ac_fail(msg, AC_EINVAL, "the loss needs at least one row (n = %d)", n);
    if ((st = block_check_cells(&b->s, n, X, msg)))
        return st;
    if (!ex)
        nex = n * L;
    if (nex < 1)
        return ac_fail(msg, AC_EINVAL, "the loss needs at least one example");
    if (ex)
        for (int k = 0; k < nex; k++)
            if (ex[2 * k] < 0 || ex[2 * k] >= n || ex[2 * k + 1] < 0 || ex[2 * k + 1] >= L)
                return ac_fail(msg, AC_EINVAL, "example %d: row %d, slot %d outside %d x %d", k,
                               ex[2 * k], ex[2 * k + 1], n, L);
    if (grad && !block_same(&grad->s, &b->s))
        return ac_fail(msg, AC_EINVAL, "the gradient's block has other sizes");
    bwork w;
    int *rows = malloc(BLOCK_CHUNK * sizeof(int)), *slots = malloc(BLOCK_CHUNK * sizeof(int));
    if (!rows || !slots || !bwork_init(&w, &b->s, BLOCK_CHUNK)) {
        free(rows);
        free(slots);
        return ac_fail(msg, AC_ENOMEM, "no memory for the block's workspace");
    }
    if (grad)
        memset(grad->w, 0, grad->n * sizeof(double));
    block_pairs(&w, b);
    double total = 0.0;
    for (int k0 = 0; k0 < nex; k0 += BLOCK_CHUNK) {
        int nb = nex - k0 < BLOCK_CHUNK ? nex - k0 : BLOCK_CHUNK;
        for (int k = 0; k < nb; k++) {
            int e = k0 + k;
            rows[k] = ex ? ex[2 * e] : e / L;
            slots[k] = ex ? ex[2 * e + 1] : e % L;
        }
        block_load(&w, nb, X, rows, slots);
        total += block_forward(&w, b, opt, nb, r);
        if (grad)
            block_backward(&w, b, nb, 1.0 / nex, grad);
    }
    *loss = total / nex;
    bwork_clear(&w);
    free(rows);
    free(slots);
    return AC_OK;
}

ac_status ac_moe_block_logp(const ac_moe_block *b, const ac_moe_block_opts *opt, const int *x, int i,
                            double *logp, ac_msg *msg)
{
    ac_status st = block_check(b, opt, msg);
    if (st)
        return st;
    int L = b->s.L, V = b->s.V;
    if (i < 0 || i >= L)
        return ac_fail(msg, AC_EINVAL, "slot %d is outside 0..%d", i, L - 1);
    int *xx = malloc((size_t)L * sizeof(int));
    if (!xx)
        return ac_fail(msg, AC_ENOMEM, "no memory");
    memcpy(xx, x, (size_t)L * sizeof(int));
    xx[i] = 0; /* ignored: masked */
    if ((st = block_check_cells(&b->s, 1, xx, msg))) {
        free(xx);
        return st;
    }
    bwork w;
    if (!bwork_init(&w, &b->s, 1)) {
        free(xx);
        return ac_fail(msg, AC_ENOMEM, "no memory for the block's workspace");
    }
    int row = 0;
    block_pairs(&w, b);
    block_load(&w, 1, xx, &row, &i);
    block_forward(&w, b, opt, 1, NULL);
    double mx = -INFINITY, sum = 0.0;
    for (int v = 0; v < V; v++)
        mx = w.Z[v] > mx ? w.Z[v] : mx;
    for (int v = 0; v < V; v++)
        sum += exp(w.Z[v] - mx);
    for (int v = 0; v < V; v++)
        logp[v] = w.Z[v] - mx - log(sum);
    bwork_clear(&w);
    free(xx);
    return AC_OK;
}

ac_status ac_moe_block_predict(const ac_moe_block *b, const ac_moe_block_opts *opt, int n,
                               const int *X, int *pred, ac_msg *msg)
{
    ac_status st = block_check(b, opt, msg);
    if (st)
        return st;
    if (n < 1)
        return ac_fail(msg, AC_EINVAL, "prediction needs at least one row");
    if ((st = block_check_cells(&b->s, n, X, msg)))
        return st;
    int L = b->s.L, V = b->s.V;
    bwork w;
    int *rows = malloc(BLOCK_CHUNK * sizeof(int)), *slots = malloc(BLOCK_CHUNK * sizeof(int));
    if (!rows || !slots || !bwork_init(&w, &b->s, BLOCK_CHUNK)) {
        free(rows);
        free(slots);
        return ac_fail(msg, AC_ENOMEM, "no memory for the block's workspace");
    }
    block_pairs(&w, b);
    for (int r0 = 0; r0 < n; r0 += BLOCK_CHUNK) {
        int nb = n - r0 < BLOCK_CHUNK ? n - r0 : BLOCK_CHUNK;
        for (int k = 0; k < nb; k++) {
            rows[k] = r0 + k;
            slots[k] = L - 1;
        }
        block_load(&w, nb, X, rows, slots);
        block_forward(&w, b, opt, nb, NULL);
        for (int k = 0; k < nb; k++) {
            const double *z = w.Z + (size_t)k * V;
            int best = 0;
            for (int v = 1; v < V; v++)
                if (z[v] > z[best])
                    best = v;
            pred[r0 + k] = best;
        }
    }
    bwork_clear(&w);
    free(rows);
    free(slots);
    return AC_OK;
}

/* ---- Training the block --------------------------------------------------- */

void ac_moe_block_train_settings_default(ac_moe_block_train_settings *s)
{
    *s = (ac_moe_block_train_settings){.steps = AC_MOE_TRAIN_STEPS_DEFAULT,
                                       .lr = AC_MOE_TRAIN_LR_DEFAULT,
                                       .beta1 = AC_MOE_TRAIN_BETA1_DEFAULT,
                                       .beta2 = AC_MOE_TRAIN_BETA2_DEFAULT,
                                       .epsilon = AC_MOE_TRAIN_EPSILON_DEFAULT,
                                       .batch = AC_MOE_TRAIN_BATCH_DEFAULT,
                                       .dropout = AC_MOE_BLOCK_DROPOUT_DEFAULT,
                                       .ln_eps = AC_MOE_BLOCK_LN_EPS_DEFAULT,
                                       .grad_tol = 0.0,
                                       .diverge_factor = AC_MOE_TRAIN_DIVERGE_FACTOR};
}

const char *ac_moe_block_train_settings_check(const ac_moe_block_train_settings *s)
{
    if (!s)
        return "the settings are missing (NULL)";
    ac_moe_train_settings a;
    ac_moe_train_settings_default(&a);
    a.steps = s->steps;
    a.lr = s->lr;
    a.beta1 = s->beta1;
    a.beta2 = s->beta2;
    a.epsilon = s->epsilon;
    a.batch = s->batch;
    a.grad_tol = s->grad_tol;
    a.diverge_factor = s->diverge_factor;
    const char *why = ac_moe_train_settings_check(&a);
    if (why)
        return why;
    if (!(s->dropout >= 0.0 && s->dropout < 1.0))
        return "the dropout probability must lie in [0, 1)";
    if (!(s->ln_eps > 0.0) || !isfinite(s->ln_eps))
        return "LayerNorm's epsilon ln_eps must be positive and finite";
    return NULL;
}

long ac_moe_block_steps_per_epoch(int n, int L, int batch)
{
    long ex = (long)n * L;
    return batch > 0 ? (ex + batch - 1) / batch : 0;
}

struct ac_moe_block_trainer {
    ac_moe_block_sizes s;
    int nmax;
    bwork w;
    ac_moe_block *b, *g;
    double *mom, *var, *next;
    int *order;        /* nmax L example ids (row L + slot), shuffled per pass */
    int *rows, *slots; /* the batch */
    int n, nex, cursor;
    const int *X;
    gsl_rng *r;
    ac_moe_block_train_settings set;
    double b1t, b2t;
    ac_train_info info;
};

void ac_moe_block_trainer_free(ac_moe_block_trainer *tr)
{
    if (!tr)
        return;
    bwork_clear(&tr->w);
    ac_moe_block_free(tr->b);
    ac_moe_block_free(tr->g);
    free(tr->mom);
    free(tr->var);
    free(tr->next);
    free(tr->order);
    free(tr->rows);
    free(tr->slots);
    free(tr);
}

/* The largest batch a trainer's workspace holds; a larger setting is cut
 * into workspace-sized pieces within the step. */
#define BLOCK_TRAIN_CHUNK 512

ac_moe_block_trainer *ac_moe_block_trainer_alloc(const ac_moe_block_sizes *s, int n)
{
    if (n < 1 || ac_moe_block_sizes_check(s) || (long)n * s->L > 1L << 30)
        return NULL;
    ac_moe_block_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    tr->s = *s;
    tr->nmax = n;
    if (!bwork_init(&tr->w, s, BLOCK_TRAIN_CHUNK)) {
        free(tr);
        return NULL;
    }
    tr->b = ac_moe_block_alloc(s);
    tr->g = ac_moe_block_alloc(s);
    size_t nw = tr->b ? tr->b->n : 1;
    tr->mom = malloc(nw * sizeof(double));
    tr->var = malloc(nw * sizeof(double));
    tr->next = malloc(nw * sizeof(double));
    tr->order = malloc((size_t)n * s->L * sizeof(int));
    tr->rows = malloc(BLOCK_TRAIN_CHUNK * sizeof(int));
    tr->slots = malloc(BLOCK_TRAIN_CHUNK * sizeof(int));
    if (!tr->b || !tr->g || !tr->mom || !tr->var || !tr->next || !tr->order || !tr->rows ||
        !tr->slots) {
        ac_moe_block_trainer_free(tr);
        return NULL;
    }
    tr->info.outcome = AC_TRAIN_RUNNING;
    return tr;
}

ac_status ac_moe_block_trainer_set(ac_moe_block_trainer *tr, int n, const int *X,
                                   const ac_moe_block *start, const ac_moe_block_train_settings *set,
                                   gsl_rng *r, ac_msg *msg)
{
    const char *why = ac_moe_block_train_settings_check(set);
    if (why)
        return ac_fail(msg, AC_EINVAL, "training settings: %s", why);
    if (n < 1 || n > tr->nmax)
        return ac_fail(msg, AC_ESIZE, "%d rows do not fit a trainer for 1..%d", n, tr->nmax);
    if (!block_same(&start->s, &tr->s))
        return ac_fail(msg, AC_EINVAL, "the start block's sizes differ from the trainer's");
    if (!r)
        return ac_fail(msg, AC_EINVAL, "the block trainer needs a generator (shuffle, dropout)");
    ac_moe_block_opts opt = {.dropout = set->dropout, .ln_eps = set->ln_eps};
    ac_status st = block_check(start, &opt, msg);
    if (st)
        return st;
    if ((st = block_check_cells(&tr->s, n, X, msg)))
        return st;
    ac_moe_block_copy(tr->b, start);
    memset(tr->mom, 0, tr->b->n * sizeof(double));
    memset(tr->var, 0, tr->b->n * sizeof(double));
    tr->n = n;
    tr->nex = n * tr->s.L;
    for (int k = 0; k < tr->nex; k++)
        tr->order[k] = k;
    tr->cursor = tr->nex;
    tr->X = X;
    tr->r = r;
    tr->set = *set;
    tr->b1t = tr->b2t = 1.0;
    tr->info = (ac_train_info){.outcome = AC_TRAIN_RUNNING, .loss = NAN, .loss0 = NAN, .grad_norm = NAN};
    return AC_OK;
}

ac_train_outcome ac_moe_block_trainer_test(const ac_moe_block_trainer *tr) { return tr->info.outcome; }

/* The step's loss and gradient on the next batch of the shuffled pass
 * (Keras's fit: a batch never straddles two passes). */
static double block_step_grad(ac_moe_block_trainer *tr)
{
    if (tr->cursor >= tr->nex) {
        gsl_ran_shuffle(tr->r, tr->order, (size_t)tr->nex, sizeof(int));
        tr->cursor = 0;
    }
    int L = tr->s.L;
    int nb = tr->nex - tr->cursor < tr->set.batch ? tr->nex - tr->cursor : tr->set.batch;
    const int *ids = tr->order + tr->cursor;
    tr->cursor += nb;
    memset(tr->g->w, 0, tr->g->n * sizeof(double));
    ac_moe_block_opts opt = {.dropout = tr->set.dropout, .ln_eps = tr->set.ln_eps};
    block_pairs(&tr->w, tr->b);
    double total = 0.0;
    for (int k0 = 0; k0 < nb; k0 += BLOCK_TRAIN_CHUNK) {
        int m = nb - k0 < BLOCK_TRAIN_CHUNK ? nb - k0 : BLOCK_TRAIN_CHUNK;
        for (int k = 0; k < m; k++) {
            tr->rows[k] = ids[k0 + k] / L;
            tr->slots[k] = ids[k0 + k] % L;
        }
        block_load(&tr->w, m, tr->X, tr->rows, tr->slots);
        total += block_forward(&tr->w, tr->b, &opt, m, tr->r);
        block_backward(&tr->w, tr->b, m, 1.0 / nb, tr->g);
    }
    return total / nb;
}

ac_status ac_moe_block_trainer_iterate(ac_moe_block_trainer *tr)
{
    ac_train_info *in = &tr->info;
    if (in->outcome != AC_TRAIN_RUNNING)
        return AC_OK;
    if (in->steps >= tr->set.steps) {
        in->outcome = AC_TRAIN_STEP_LIMIT;
        return AC_OK;
    }
    double t0 = ac_clock();
    double loss = block_step_grad(tr);
    const double *g = tr->g->w;
    size_t nw = tr->b->n;
    double gn2 = 0.0;
    for (size_t k = 0; k < nw; k++)
        gn2 += g[k] * g[k];
    in->loss = loss;
    in->grad_norm = sqrt(gn2);
    if (in->steps == 0)
        in->loss0 = loss;
    if (!isfinite(loss) || !isfinite(in->grad_norm) ||
        loss > tr->set.diverge_factor * fmax(1.0, in->loss0)) {
        in->outcome = AC_TRAIN_DIVERGED;
    } else if (in->grad_norm <= tr->set.grad_tol) {
        in->outcome = AC_TRAIN_CONVERGED;
    } else {
        /* Keras's Adam, as ac_moe_trainer_iterate. */
        const ac_moe_block_train_settings *s = &tr->set;
        double b1t = tr->b1t * s->beta1, b2t = tr->b2t * s->beta2;
        double alpha = s->lr * sqrt(1.0 - b2t) / (1.0 - b1t);
        int finite = ac_adam_folded(nw, tr->b->w, g, s->beta1, s->beta2, alpha, s->epsilon, tr->mom, tr->var,
                                    tr->next);
        if (!finite) {
            in->outcome = AC_TRAIN_DIVERGED;
        } else {
            memcpy(tr->b->w, tr->next, nw * sizeof(double));
            tr->b1t = b1t;
            tr->b2t = b2t;
            in->steps++;
            if (in->steps >= s->steps)
                in->outcome = AC_TRAIN_STEP_LIMIT;
        }
    }
    in->seconds += ac_clock() - t0;
    return AC_OK;
}

ac_train_outcome ac_moe_block_trainer_run(ac_moe_block_trainer *tr, long steps)
{
    while (tr->info.outcome == AC_TRAIN_RUNNING && tr->info.steps < steps)
        ac_moe_block_trainer_iterate(tr);
    return tr->info.outcome;
}

const ac_moe_block *ac_moe_block_trainer_model(const ac_moe_block_trainer *tr) { return tr->b; }
const ac_train_info *ac_moe_block_trainer_info(const ac_moe_block_trainer *tr) { return &tr->info; }
