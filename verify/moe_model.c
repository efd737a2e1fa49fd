/* The bare single-layer attention MLM and its Adam trainer (spec cbow_moe
 * §1, §3.3, §6).  See verify/moe_model.h. */
#include "verify/moe_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

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

typedef struct {
    ac_moe_sizes s;
    int *t;               /* L tokens, slot i masked */
    double *e;            /* L x d inputs e_j = w_{t_j} + p_j */
    double *q;            /* H x dk queries of the masked slot */
    double *k, *v;        /* H x L x dk keys, H x L x dv values */
    double *a;            /* H x L attention weights (0 off J) */
    double *o;            /* H dv head outputs, concatenated */
    double *z;            /* V logits, then dz */
    double *dout;         /* H dv */
    double *de;           /* L x d */
    double *dq, *dkj;     /* dk */
    double *da;           /* L */
} work;

static void work_clear(work *w)
{
    free(w->t);
    free(w->e);
    free(w->q);
    free(w->k);
    free(w->v);
    free(w->a);
    free(w->o);
    free(w->z);
    free(w->dout);
    free(w->de);
    free(w->dq);
    free(w->dkj);
    free(w->da);
    memset(w, 0, sizeof *w);
}

static int work_init(work *w, const ac_moe_sizes *s)
{
    memset(w, 0, sizeof *w);
    w->s = *s;
    size_t V = (size_t)s->V, L = (size_t)s->L, d = (size_t)s->d, dk = (size_t)s->dk,
           dv = (size_t)s->dv, H = (size_t)s->H;
    w->t = malloc(L * sizeof(int));
    w->e = malloc(L * d * sizeof(double));
    w->q = malloc(H * dk * sizeof(double));
    w->k = malloc(H * L * dk * sizeof(double));
    w->v = malloc(H * L * dv * sizeof(double));
    w->a = malloc(H * L * sizeof(double));
    w->o = malloc(H * dv * sizeof(double));
    w->z = malloc(V * sizeof(double));
    w->dout = malloc(H * dv * sizeof(double));
    w->de = malloc(L * d * sizeof(double));
    w->dq = malloc(dk * sizeof(double));
    w->dkj = malloc(dk * sizeof(double));
    w->da = malloc(L * sizeof(double));
    if (!w->t || !w->e || !w->q || !w->k || !w->v || !w->a || !w->o || !w->z || !w->dout ||
        !w->de || !w->dq || !w->dkj || !w->da) {
        work_clear(w);
        return 0;
    }
    return 1;
}

/* y = A x for A (rows x cols, row-major). */
static void matvec(const double *A, int rows, int cols, const double *x, double *y)
{
    for (int r = 0; r < rows; r++) {
        double acc = 0.0;
        for (int c = 0; c < cols; c++)
            acc += A[(size_t)r * cols + c] * x[c];
        y[r] = acc;
    }
}

/* y += A^T x. */
static void matvec_t_add(const double *A, int rows, int cols, const double *x, double *y)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            y[c] += A[(size_t)r * cols + c] * x[r];
}

/* G += x y^T (G rows x cols). */
static void outer_add(double *G, int rows, int cols, const double *x, const double *y)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            G[(size_t)r * cols + c] += x[r] * y[c];
}

static int in_keys(const ac_moe_sizes *s, int i, int j) { return s->self || j != i; }

/* §1 forward pass for sentence x masked at i: fills w->e, q, k, v, a, o and
 * the logits z; returns log p(x_i | x_-i). */
static double forward(work *w, const ac_moe_attention *m, const int *x, int i)
{
    const ac_moe_sizes *s = &w->s;
    int L = s->L, d = s->d, dk = s->dk, dv = s->dv, H = s->H, V = s->V;
    for (int j = 0; j < L; j++) {
        w->t[j] = j == i ? V : x[j];
        for (int c = 0; c < d; c++)
            w->e[(size_t)j * d + c] = m->E[(size_t)w->t[j] * d + c] + m->P[(size_t)j * d + c];
    }
    double scale = 1.0 / sqrt((double)dk);
    for (int h = 0; h < H; h++) {
        const double *Wq = m->Wq + (size_t)h * dk * d, *Wk = m->Wk + (size_t)h * dk * d,
                     *Wv = m->Wv + (size_t)h * dv * d;
        double *q = w->q + (size_t)h * dk, *a = w->a + (size_t)h * L, *o = w->o + (size_t)h * dv;
        matvec(Wq, dk, d, w->e + (size_t)i * d, q);
        double mx = -INFINITY;
        for (int j = 0; j < L; j++) {
            double *kj = w->k + ((size_t)h * L + j) * dk;
            matvec(Wk, dk, d, w->e + (size_t)j * d, kj);
            matvec(Wv, dv, d, w->e + (size_t)j * d, w->v + ((size_t)h * L + j) * dv);
            if (!in_keys(s, i, j))
                continue;
            double sc = 0.0;
            for (int c = 0; c < dk; c++)
                sc += q[c] * kj[c];
            a[j] = sc * scale;
            if (a[j] > mx)
                mx = a[j];
        }
        double sum = 0.0;
        for (int j = 0; j < L; j++) {
            a[j] = in_keys(s, i, j) ? exp(a[j] - mx) : 0.0;
            sum += a[j];
        }
        for (int c = 0; c < dv; c++)
            o[c] = 0.0;
        for (int j = 0; j < L; j++) {
            a[j] /= sum;
            const double *vj = w->v + ((size_t)h * L + j) * dv;
            for (int c = 0; c < dv; c++)
                o[c] += a[j] * vj[c];
        }
    }
    matvec(m->U, V, H * dv, w->o, w->z);
    double mx = -INFINITY;
    for (int u = 0; u < V; u++) {
        w->z[u] += m->c[u];
        if (w->z[u] > mx)
            mx = w->z[u];
    }
    double sum = 0.0;
    for (int u = 0; u < V; u++)
        sum += exp(w->z[u] - mx);
    return w->z[x[i]] - mx - log(sum);
}

/* The backward pass of forward() for the cell's loss weight wt (the loss
 * is -wt log p): adds the gradient into g.  Chain rule of §1:
 *   dz = wt (softmax(z) - e_y),  dc += dz,  dU += dz o^T,  do = U^T dz;
 *   per head: dv_j = a_j do,  ds_j = a_j (do·v_j - sum_k a_k do·v_k),
 *   dq = sum_j ds_j k_j / sqrt(dk),  dk_j = ds_j q / sqrt(dk);
 *   dWq += dq e_i^T, dWk += sum_j dk_j e_j^T, dWv += sum_j dv_j e_j^T;
 *   de_i += Wq^T dq, de_j += Wk^T dk_j + Wv^T dv_j;  dE[t_j] += de_j, dP[j] += de_j. */
static void backward(work *w, const ac_moe_attention *m, int y, int i, double wt, ac_moe_model *g)
{
    const ac_moe_sizes *s = &w->s;
    int L = s->L, d = s->d, dk = s->dk, dv = s->dv, H = s->H, V = s->V;
    double mx = -INFINITY, sum = 0.0;
    for (int u = 0; u < V; u++)
        if (w->z[u] > mx)
            mx = w->z[u];
    for (int u = 0; u < V; u++) {
        w->z[u] = exp(w->z[u] - mx);
        sum += w->z[u];
    }
    for (int u = 0; u < V; u++)
        w->z[u] = wt * (w->z[u] / sum - (u == y));
    for (int u = 0; u < V; u++)
        g->c[u] += w->z[u];
    outer_add(g->U, V, H * dv, w->z, w->o);
    memset(w->dout, 0, (size_t)H * dv * sizeof(double));
    matvec_t_add(m->U, V, H * dv, w->z, w->dout);
    memset(w->de, 0, (size_t)L * d * sizeof(double));
    double scale = 1.0 / sqrt((double)dk);
    for (int h = 0; h < H; h++) {
        const double *Wq = m->Wq + (size_t)h * dk * d, *Wk = m->Wk + (size_t)h * dk * d,
                     *Wv = m->Wv + (size_t)h * dv * d;
        double *gWq = g->Wq + (size_t)h * dk * d, *gWk = g->Wk + (size_t)h * dk * d,
               *gWv = g->Wv + (size_t)h * dv * d;
        const double *q = w->q + (size_t)h * dk, *a = w->a + (size_t)h * L;
        const double *dO = w->dout + (size_t)h * dv;
        double abar = 0.0;
        for (int j = 0; j < L; j++) {
            const double *vj = w->v + ((size_t)h * L + j) * dv;
            double acc = 0.0;
            for (int c = 0; c < dv; c++)
                acc += dO[c] * vj[c];
            w->da[j] = acc;
            abar += a[j] * acc;
        }
        memset(w->dq, 0, (size_t)dk * sizeof(double));
        for (int j = 0; j < L; j++) {
            if (!in_keys(s, i, j))
                continue;
            double ds = a[j] * (w->da[j] - abar) * scale;
            const double *kj = w->k + ((size_t)h * L + j) * dk;
            for (int c = 0; c < dk; c++) {
                w->dq[c] += ds * kj[c];
                w->dkj[c] = ds * q[c];
            }
            const double *ej = w->e + (size_t)j * d;
            double *dej = w->de + (size_t)j * d;
            outer_add(gWk, dk, d, w->dkj, ej);
            matvec_t_add(Wk, dk, d, w->dkj, dej);
            /* dv_j = a_j do: added as a_j (do e_j^T) and a_j Wv^T do */
            for (int r = 0; r < dv; r++)
                for (int c = 0; c < d; c++) {
                    gWv[(size_t)r * d + c] += a[j] * dO[r] * ej[c];
                    dej[c] += a[j] * Wv[(size_t)r * d + c] * dO[r];
                }
        }
        outer_add(gWq, dk, d, w->dq, w->e + (size_t)i * d);
        matvec_t_add(Wq, dk, d, w->dq, w->de + (size_t)i * d);
    }
    for (int j = 0; j < L; j++)
        for (int c = 0; c < d; c++) {
            g->E[(size_t)w->t[j] * d + c] += w->de[(size_t)j * d + c];
            g->P[(size_t)j * d + c] += w->de[(size_t)j * d + c];
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
 * r itself when rows is NULL) and its gradient into g when non-NULL. */
static double loss_grad(work *w, const ac_moe_attention *m, int n, const int *X, const int *rows,
                        ac_moe_model *g)
{
    int L = w->s.L;
    double wt = 1.0 / ((double)n * L), total = 0.0;
    if (g)
        zero_model(g);
    for (int r = 0; r < n; r++) {
        const int *x = X + (size_t)(rows ? rows[r] : r) * L;
        for (int i = 0; i < L; i++) {
            total -= forward(w, m, x, i);
            if (g)
                backward(w, m, x[i], i, wt, g);
        }
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
    if (!work_init(&w, &m->s))
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
    if (!work_init(&tr->w, s)) {
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
        for (int k = 0; k < NPART; k++)
            for (size_t j = 0; j < len[k]; j++, f++) {
                double m = s->beta1 * tr->mom[f] + (1.0 - s->beta1) * g[k][j];
                double v = s->beta2 * tr->var[f] + (1.0 - s->beta2) * g[k][j] * g[k][j];
                tr->mom[f] = m;
                tr->var[f] = v;
                tr->next[f] = w[k][j] - alpha * m / (sqrt(v) + s->epsilon);
                finite = finite && isfinite(tr->next[f]);
            }
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
