/* The CBOW-MoE trainer in the form's coordinates and the plain CBOW
 * trainer (spec cbow_moe §2.5 item 6, §4.4 item 2).  See verify/moe_cbow.h. */
#include "verify/moe_cbow.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

/* ---- Adam over a flat parameter vector ---------------------------------- *
 * Both trainers are this loop around their own loss and gradient; the
 * update and the endings are those of verify/moe_model.c's trainer. */

/* The mean loss over the b sentences rows[0..b) of X (r itself when rows
 * is NULL) at the flat weights w, and its gradient into g (overwritten). */
typedef double (*loss_grad_fn)(void *ctx, const double *w, int b, const int *X, const int *rows,
                               double *g);

typedef struct {
    size_t total;
    double *w, *g, *mom, *var, *next;
    int nmax, n, cursor, L;
    int *order;
    const int *X;
    gsl_rng *r;
    ac_moe_train_settings set;
    double b1t, b2t;
    ac_train_info info;
    loss_grad_fn fn;
    void *ctx;
} adam;

static void adam_clear(adam *a)
{
    free(a->w), free(a->g), free(a->mom), free(a->var), free(a->next), free(a->order);
    memset(a, 0, sizeof *a);
}

static int adam_init(adam *a, size_t total, int nmax, int L, loss_grad_fn fn, void *ctx)
{
    memset(a, 0, sizeof *a);
    a->total = total, a->nmax = nmax, a->L = L, a->fn = fn, a->ctx = ctx;
    a->w = malloc(total * sizeof(double));
    a->g = malloc(total * sizeof(double));
    a->mom = malloc(total * sizeof(double));
    a->var = malloc(total * sizeof(double));
    a->next = malloc(total * sizeof(double));
    a->order = malloc((size_t)nmax * sizeof(int));
    if (!a->w || !a->g || !a->mom || !a->var || !a->next || !a->order) {
        adam_clear(a);
        return 0;
    }
    a->info.outcome = AC_TRAIN_RUNNING;
    return 1;
}

/* Settings, sizes and generator of a set (the weights are copied by the
 * caller into a->w). */
static ac_status adam_set(adam *a, int n, const int *X, const ac_moe_train_settings *set,
                          gsl_rng *r, ac_msg *msg)
{
    const char *why = ac_moe_train_settings_check(set);
    if (why)
        return ac_fail(msg, AC_EINVAL, "training settings: %s", why);
    if (n < 1 || n > a->nmax)
        return ac_fail(msg, AC_ESIZE, "%d sentences do not fit a trainer for 1..%d", n, a->nmax);
    if (set->batch < n && !r)
        return ac_fail(msg, AC_EINVAL, "a batch smaller than the %d sentences needs a generator", n);
    memset(a->mom, 0, a->total * sizeof(double));
    memset(a->var, 0, a->total * sizeof(double));
    for (int k = 0; k < n; k++)
        a->order[k] = k;
    a->n = n, a->cursor = n, a->X = X, a->r = r, a->set = *set;
    a->b1t = a->b2t = 1.0;
    a->info = (ac_train_info){.outcome = AC_TRAIN_RUNNING, .loss = NAN, .loss0 = NAN,
                              .grad_norm = NAN};
    return AC_OK;
}

/* The next batch of a shuffled pass (a batch never straddles two passes). */
static int next_batch(adam *a, const int **rows)
{
    if (a->set.batch >= a->n) {
        *rows = NULL;
        return a->n;
    }
    if (a->cursor >= a->n) {
        gsl_ran_shuffle(a->r, a->order, (size_t)a->n, sizeof(int));
        a->cursor = 0;
    }
    int b = a->n - a->cursor < a->set.batch ? a->n - a->cursor : a->set.batch;
    *rows = a->order + a->cursor;
    a->cursor += b;
    return b;
}

/* Keras's Adam (spec §6):  m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
 *   w -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps). */
static void adam_iterate(adam *a)
{
    ac_train_info *in = &a->info;
    if (in->outcome != AC_TRAIN_RUNNING)
        return;
    if (in->steps >= a->set.steps) {
        in->outcome = AC_TRAIN_STEP_LIMIT;
        return;
    }
    double t0 = ac_clock();
    const int *rows;
    int b = next_batch(a, &rows);
    double loss = a->fn(a->ctx, a->w, b, a->X, rows, a->g);
    double gn2 = 0.0;
    for (size_t k = 0; k < a->total; k++)
        gn2 += a->g[k] * a->g[k];
    in->loss = loss;
    in->grad_norm = sqrt(gn2);
    if (in->steps == 0)
        in->loss0 = loss;
    const ac_moe_train_settings *s = &a->set;
    if (!isfinite(loss) || !isfinite(in->grad_norm) ||
        loss > s->diverge_factor * fmax(1.0, in->loss0)) {
        in->outcome = AC_TRAIN_DIVERGED;
    } else if (in->grad_norm <= s->grad_tol) {
        in->outcome = AC_TRAIN_CONVERGED;
    } else {
        double b1t = a->b1t * s->beta1, b2t = a->b2t * s->beta2;
        double alpha = s->lr * sqrt(1.0 - b2t) / (1.0 - b1t);
        int finite = ac_adam_folded(a->total, a->w, a->g, s->beta1, s->beta2, alpha, s->epsilon, a->mom, a->var,
                                    a->next);
        if (!finite) {
            in->outcome = AC_TRAIN_DIVERGED;
        } else {
            memcpy(a->w, a->next, a->total * sizeof(double));
            a->b1t = b1t, a->b2t = b2t;
            in->steps++;
            if (in->steps >= s->steps)
                in->outcome = AC_TRAIN_STEP_LIMIT;
        }
    }
    in->seconds += ac_clock() - t0;
}

static ac_train_outcome adam_run(adam *a, long steps)
{
    while (a->info.outcome == AC_TRAIN_RUNNING && a->info.steps < steps)
        adam_iterate(a);
    return a->info.outcome;
}

static int finite_all(const double *x, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (!isfinite(x[k]))
            return 0;
    return 1;
}

static ac_status check_words(int V, int L, int n, const int *X, ac_msg *msg)
{
    for (size_t k = 0; k < (size_t)n * L; k++)
        if (X[k] < 0 || X[k] >= V)
            return ac_fail(msg, AC_EINVAL,
                           "sentence %zu, slot %zu: word %d is outside the vocabulary 0..%d",
                           k / (size_t)L, k % (size_t)L, X[k], V - 1);
    return AC_OK;
}

static double dot(const double *a, const double *b, int n)
{
    double s = 0.0;
    for (int k = 0; k < n; k++)
        s += a[k] * b[k];
    return s;
}

/* z (n) <- softmax(z) in place; returns log-sum-exp of the input. */
static double softmax_lse(double *z, int n)
{
    double mx = -INFINITY, sum = 0.0;
    for (int k = 0; k < n; k++)
        mx = fmax(mx, z[k]);
    for (int k = 0; k < n; k++) {
        z[k] = exp(z[k] - mx);
        sum += z[k];
    }
    for (int k = 0; k < n; k++)
        z[k] /= sum;
    return mx + log(sum);
}

/* ---- CBOW-MoE in the form's coordinates --------------------------------- */

enum { FPARTS = 7 }; /* w, p, gamma, a, b, rho, c */

static void form_lengths(const ac_moe_sizes *s, size_t *len)
{
    size_t V = (size_t)s->V, L = (size_t)s->L, d = (size_t)s->d, dv = (size_t)s->dv,
           H = (size_t)s->H;
    size_t n[FPARTS] = {(V + 1) * d, L * d, H * L * d, H * (V + 1) * dv, H * L * dv, H * V * dv, V};
    memcpy(len, n, sizeof n);
}

static size_t form_total(const ac_moe_sizes *s)
{
    size_t len[FPARTS], t = 0;
    form_lengths(s, len);
    for (int k = 0; k < FPARTS; k++)
        t += len[k];
    return t;
}

/* The form's trained arrays in flat order. */
static void form_parts(const ac_moe_form *f, double **p)
{
    double *q[FPARTS] = {f->w, f->p, f->gamma, f->a, f->b, f->rho, f->c};
    memcpy(p, q, sizeof q);
}

/* A form view whose arrays lie in the flat vector x (no slot bias, no G). */
static void form_view(const ac_moe_sizes *s, const double *x, ac_moe_form *f)
{
    size_t len[FPARTS];
    form_lengths(s, len);
    memset(f, 0, sizeof *f);
    f->s = *s;
    double *q = (double *)x, **dst[FPARTS] = {&f->w, &f->p, &f->gamma, &f->a, &f->b, &f->rho, &f->c};
    for (int k = 0; k < FPARTS; k++) {
        *dst[k] = q;
        q += len[k];
    }
}

static void form_to_flat(const ac_moe_form *f, double *x)
{
    size_t len[FPARTS];
    double *p[FPARTS];
    form_lengths(&f->s, len);
    form_parts(f, p);
    for (int k = 0; k < FPARTS; k++) {
        memcpy(x, p[k], len[k] * sizeof(double));
        x += len[k];
    }
}

static void flat_to_form(const double *x, ac_moe_form *f)
{
    size_t len[FPARTS];
    double *p[FPARTS];
    form_lengths(&f->s, len);
    form_parts(f, p);
    for (int k = 0; k < FPARTS; k++) {
        memcpy(p[k], x, len[k] * sizeof(double));
        x += len[k];
    }
    memset(f->slot_bias, 0, (size_t)f->s.L * f->s.V * sizeof(double));
}

static int same_sizes(const ac_moe_sizes *a, const ac_moe_sizes *b)
{
    return a->V == b->V && a->L == b->L && a->d == b->d && a->dk == b->dk && a->dv == b->dv &&
           a->H == b->H && a->dout == b->dout && a->layers == b->layers && a->self == b->self &&
           a->residual == b->residual;
}

const char *ac_moe_form_fit_sizes_check(const ac_moe_sizes *s)
{
    const char *why = ac_moe_sizes_check(s);
    if (why)
        return why;
    if (s->layers != 1)
        return "the form trainer fits one layer (layers must be 1)";
    if (s->residual)
        return "the form trainer has no residual slot bias (residual must be 0)";
    return NULL;
}

static ac_status check_form(const ac_moe_form *f, ac_msg *msg)
{
    const char *why = ac_moe_form_fit_sizes_check(&f->s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "CBOW-MoE form: %s", why);
    size_t len[FPARTS];
    double *p[FPARTS];
    form_lengths(&f->s, len);
    form_parts(f, p);
    static const char *name[FPARTS] = {"w", "p", "gamma", "a", "b", "rho", "c"};
    for (int k = 0; k < FPARTS; k++)
        if (!p[k] || !finite_all(p[k], len[k]))
            return ac_fail(msg, AC_EINVAL, "CBOW-MoE form: %s is missing or not finite", name[k]);
    if (f->slot_bias)
        for (size_t k = 0; k < (size_t)f->s.L * f->s.V; k++)
            if (f->slot_bias[k] != 0.0)
                return ac_fail(msg, AC_EINVAL, "CBOW-MoE form: the slot bias must be 0 (no residual)");
    return AC_OK;
}

/* Scratch of one masked cell. */
typedef struct {
    ac_moe_sizes s;
    int *t;      /* L tokens, the masked slot = V */
    double *pi;  /* H x L gating weights (0 off J) */
    double *m;   /* H x dv mixed experts */
    double *z;   /* V logits, then dz */
    double *dm;  /* dv */
    double *dpi; /* L */
} form_work;

static void form_work_clear(form_work *w)
{
    free(w->t), free(w->pi), free(w->m), free(w->z), free(w->dm), free(w->dpi);
    memset(w, 0, sizeof *w);
}

static int form_work_init(form_work *w, const ac_moe_sizes *s)
{
    memset(w, 0, sizeof *w);
    w->s = *s;
    size_t L = (size_t)s->L, H = (size_t)s->H, dv = (size_t)s->dv, V = (size_t)s->V;
    w->t = malloc(L * sizeof(int));
    w->pi = malloc(H * L * sizeof(double));
    w->m = malloc(H * dv * sizeof(double));
    w->z = malloc(V * sizeof(double));
    w->dm = malloc(dv * sizeof(double));
    w->dpi = malloc(L * sizeof(double));
    if (!w->t || !w->pi || !w->m || !w->z || !w->dm || !w->dpi) {
        form_work_clear(w);
        return 0;
    }
    return 1;
}

static int in_keys(const ac_moe_sizes *s, int i, int j) { return s->self || j != i; }

/* Forward pass of the header's logits for sentence x masked at i: fills
 * w->t, pi, m and z; returns log p(x_i | x_-i). */
static double form_forward(form_work *w, const ac_moe_form *f, const int *x, int i)
{
    const ac_moe_sizes *s = &w->s;
    int V = s->V, L = s->L, d = s->d, dv = s->dv, H = s->H;
    for (int j = 0; j < L; j++)
        w->t[j] = j == i ? V : x[j];
    for (int h = 0; h < H; h++) {
        const double *g = f->gamma + ((size_t)h * L + i) * d;
        double *pi = w->pi + (size_t)h * L, *m = w->m + (size_t)h * dv, mx = -INFINITY;
        for (int j = 0; j < L; j++) {
            if (!in_keys(s, i, j))
                continue;
            pi[j] = dot(g, f->w + (size_t)w->t[j] * d, d) + dot(g, f->p + (size_t)j * d, d);
            mx = fmax(mx, pi[j]);
        }
        double sum = 0.0;
        for (int j = 0; j < L; j++) {
            pi[j] = in_keys(s, i, j) ? exp(pi[j] - mx) : 0.0;
            sum += pi[j];
        }
        memset(m, 0, (size_t)dv * sizeof(double));
        for (int j = 0; j < L; j++) {
            pi[j] /= sum;
            const double *a = f->a + ((size_t)h * (V + 1) + w->t[j]) * dv;
            const double *b = f->b + ((size_t)h * L + j) * dv;
            for (int k = 0; k < dv; k++)
                m[k] += pi[j] * (a[k] + b[k]);
        }
    }
    for (int v = 0; v < V; v++) {
        double z = f->c[v];
        for (int h = 0; h < H; h++)
            z += dot(f->rho + ((size_t)h * V + v) * dv, w->m + (size_t)h * dv, dv);
        w->z[v] = z;
    }
    double zy = w->z[x[i]];
    return zy - softmax_lse(w->z, V);
}

/* Backward pass of form_forward (w->z holds softmax(z)) for the cell's
 * weight wt, added into g.  Chain rule of the header's logits:
 *   dz = wt (softmax(z) - e_y);  dc += dz;  drho^h_v += dz_v m^h;
 *   dm^h = sum_v dz_v rho^h_v;  dpi_j = dm^h·(a_{t_j} + b_j);
 *   ds_j = pi_j (dpi_j - sum_k pi_k dpi_k);
 *   da_{t_j} += pi_j dm^h,  db_j += pi_j dm^h;
 *   dgamma_i += sum_j ds_j (w_{t_j} + p_j),  dw_{t_j} += ds_j gamma_i,
 *   dp_j += ds_j gamma_i. */
static void form_backward(form_work *w, const ac_moe_form *f, int y, int i, double wt,
                          ac_moe_form *g)
{
    const ac_moe_sizes *s = &w->s;
    int V = s->V, L = s->L, d = s->d, dv = s->dv, H = s->H;
    for (int v = 0; v < V; v++) {
        w->z[v] = wt * (w->z[v] - (v == y));
        g->c[v] += w->z[v];
    }
    for (int h = 0; h < H; h++) {
        const double *pi = w->pi + (size_t)h * L, *m = w->m + (size_t)h * dv;
        const double *gam = f->gamma + ((size_t)h * L + i) * d;
        double *ggam = g->gamma + ((size_t)h * L + i) * d;
        memset(w->dm, 0, (size_t)dv * sizeof(double));
        for (int v = 0; v < V; v++) {
            const double *rho = f->rho + ((size_t)h * V + v) * dv;
            double *grho = g->rho + ((size_t)h * V + v) * dv;
            for (int k = 0; k < dv; k++) {
                grho[k] += w->z[v] * m[k];
                w->dm[k] += w->z[v] * rho[k];
            }
        }
        double bar = 0.0;
        for (int j = 0; j < L; j++) {
            const double *a = f->a + ((size_t)h * (V + 1) + w->t[j]) * dv;
            const double *b = f->b + ((size_t)h * L + j) * dv;
            double acc = 0.0;
            for (int k = 0; k < dv; k++)
                acc += w->dm[k] * (a[k] + b[k]);
            w->dpi[j] = acc;
            bar += pi[j] * acc;
        }
        for (int j = 0; j < L; j++) {
            if (!in_keys(s, i, j))
                continue;
            double *ga = g->a + ((size_t)h * (V + 1) + w->t[j]) * dv;
            double *gb = g->b + ((size_t)h * L + j) * dv;
            for (int k = 0; k < dv; k++) {
                ga[k] += pi[j] * w->dm[k];
                gb[k] += pi[j] * w->dm[k];
            }
            double ds = pi[j] * (w->dpi[j] - bar);
            const double *wt_ = f->w + (size_t)w->t[j] * d, *pj = f->p + (size_t)j * d;
            double *gw = g->w + (size_t)w->t[j] * d, *gp = g->p + (size_t)j * d;
            for (int k = 0; k < d; k++) {
                ggam[k] += ds * (wt_[k] + pj[k]);
                gw[k] += ds * gam[k];
                gp[k] += ds * gam[k];
            }
        }
    }
}

typedef struct {
    ac_moe_sizes s;
    form_work w;
} form_ctx;

static double form_loss_grad(void *ctx, const double *x, int b, const int *X, const int *rows,
                             double *gx)
{
    form_ctx *c = ctx;
    int L = c->s.L;
    ac_moe_form f, g;
    form_view(&c->s, x, &f);
    if (gx) {
        form_view(&c->s, gx, &g);
        memset(gx, 0, form_total(&c->s) * sizeof(double));
    }
    double wt = 1.0 / ((double)b * L), total = 0.0;
    for (int r = 0; r < b; r++) {
        const int *sent = X + (size_t)(rows ? rows[r] : r) * L;
        for (int i = 0; i < L; i++) {
            total -= form_forward(&c->w, &f, sent, i);
            if (gx)
                form_backward(&c->w, &f, sent[i], i, wt, &g);
        }
    }
    return total * wt;
}

ac_status ac_moe_form_fit_loss(const ac_moe_form *f, int n, const int *X, double *loss,
                               ac_moe_form *grad, ac_msg *msg)
{
    ac_status st = check_form(f, msg);
    if (st)
        return st;
    if (n < 1)
        return ac_fail(msg, AC_EINVAL, "the loss needs at least one sentence (n = %d)", n);
    if ((st = check_words(f->s.V, f->s.L, n, X, msg)))
        return st;
    if (grad && !same_sizes(&grad->s, &f->s))
        return ac_fail(msg, AC_EINVAL, "the gradient's form has other sizes");
    size_t total = form_total(&f->s);
    form_ctx c = {.s = f->s};
    double *x = malloc(total * sizeof(double)), *gx = grad ? malloc(total * sizeof(double)) : NULL;
    if (!x || (grad && !gx) || !form_work_init(&c.w, &f->s)) {
        free(x), free(gx);
        return ac_fail(msg, AC_ENOMEM, "no memory for the form's loss");
    }
    form_to_flat(f, x);
    *loss = form_loss_grad(&c, x, n, X, NULL, gx);
    if (grad)
        flat_to_form(gx, grad);
    form_work_clear(&c.w);
    free(x), free(gx);
    return AC_OK;
}

struct ac_moe_form_trainer {
    form_ctx c;
    adam a;
    ac_moe_form *f; /* the current iterate, copied out of a.w on request */
};

void ac_moe_form_trainer_free(ac_moe_form_trainer *tr)
{
    if (!tr)
        return;
    form_work_clear(&tr->c.w);
    adam_clear(&tr->a);
    ac_moe_form_free(tr->f);
    free(tr);
}

ac_moe_form_trainer *ac_moe_form_trainer_alloc(const ac_moe_sizes *s, int n)
{
    if (n < 1 || ac_moe_form_fit_sizes_check(s))
        return NULL;
    ac_moe_form_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    tr->c.s = *s;
    int ok = form_work_init(&tr->c.w, s);
    ok = adam_init(&tr->a, form_total(s), n, s->L, form_loss_grad, &tr->c) && ok;
    tr->f = ac_moe_form_alloc(s);
    if (!ok || !tr->f) {
        ac_moe_form_trainer_free(tr);
        return NULL;
    }
    return tr;
}

ac_status ac_moe_form_trainer_set(ac_moe_form_trainer *tr, int n, const int *X,
                                  const ac_moe_form *start, const ac_moe_train_settings *set,
                                  gsl_rng *r, ac_msg *msg)
{
    if (!same_sizes(&start->s, &tr->c.s))
        return ac_fail(msg, AC_EINVAL, "the start form's sizes differ from the trainer's");
    ac_status st = check_form(start, msg);
    if (st)
        return st;
    if ((st = adam_set(&tr->a, n, X, set, r, msg)))
        return st;
    if ((st = check_words(tr->c.s.V, tr->c.s.L, n, X, msg)))
        return st;
    form_to_flat(start, tr->a.w);
    return AC_OK;
}

ac_status ac_moe_form_trainer_iterate(ac_moe_form_trainer *tr)
{
    adam_iterate(&tr->a);
    return AC_OK;
}

ac_train_outcome ac_moe_form_trainer_test(const ac_moe_form_trainer *tr) { return tr->a.info.outcome; }

ac_train_outcome ac_moe_form_trainer_run(ac_moe_form_trainer *tr, long steps)
{
    return adam_run(&tr->a, steps);
}

const ac_moe_form *ac_moe_form_trainer_form(const ac_moe_form_trainer *tr)
{
    /* f is a cache of the flat iterate a.w, refreshed here */
    flat_to_form(tr->a.w, tr->f);
    return tr->f;
}

const ac_train_info *ac_moe_form_trainer_info(const ac_moe_form_trainer *tr) { return &tr->a.info; }

ac_status ac_moe_form_train(int n, const int *X, const ac_moe_form *start,
                            const ac_moe_train_settings *set, gsl_rng *r, ac_moe_form *out,
                            ac_train_info *info, ac_msg *msg)
{
    if (!same_sizes(&out->s, &start->s))
        return ac_fail(msg, AC_EINVAL, "the output form's sizes differ from the start's");
    const char *why = ac_moe_form_fit_sizes_check(&start->s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "CBOW-MoE form: %s", why);
    ac_moe_form_trainer *tr = ac_moe_form_trainer_alloc(&start->s, n < 1 ? 1 : n);
    if (!tr)
        return ac_fail(msg, AC_ENOMEM, "no memory for the form trainer");
    ac_status st = ac_moe_form_trainer_set(tr, n, X, start, set, r, msg);
    if (st == AC_OK) {
        ac_moe_form_trainer_run(tr, set->steps);
        flat_to_form(tr->a.w, out);
        *info = tr->a.info;
    }
    ac_moe_form_trainer_free(tr);
    return st;
}

/* ---- Plain CBOW ----------------------------------------------------------- */

static int cbow_dims_ok(int V, int dv)
{
    return V >= 1 && V <= AC_MOE_MAX_DIM && dv >= 1 && dv <= AC_MOE_MAX_DIM;
}

ac_moe_cbow_model *ac_moe_cbow_model_alloc(int V, int dv)
{
    if (!cbow_dims_ok(V, dv))
        return NULL;
    ac_moe_cbow_model *cm = calloc(1, sizeof *cm);
    if (!cm)
        return NULL;
    /* one block: alpha, rho, c, the flat order of the trainer */
    cm->alpha = calloc((size_t)V * (2 * dv + 1), sizeof(double));
    if (!cm->alpha) {
        free(cm);
        return NULL;
    }
    cm->rho = cm->alpha + (size_t)V * dv;
    cm->c = cm->rho + (size_t)V * dv;
    cm->m = (ac_moe_cbow){.V = V, .dv = dv, .alpha = cm->alpha, .rho = cm->rho, .c = cm->c};
    return cm;
}

void ac_moe_cbow_model_free(ac_moe_cbow_model *cm)
{
    if (!cm)
        return;
    free(cm->alpha);
    free(cm);
}

void ac_moe_cbow_init(ac_moe_cbow_model *cm, gsl_rng *r)
{
    int V = cm->m.V, dv = cm->m.dv;
    double lim = sqrt(6.0 / (dv + V));
    for (size_t k = 0; k < (size_t)V * dv; k++)
        cm->alpha[k] = gsl_ran_flat(r, -AC_MOE_MLM_EMBED_LIMIT, AC_MOE_MLM_EMBED_LIMIT);
    for (size_t k = 0; k < (size_t)V * dv; k++)
        cm->rho[k] = gsl_ran_flat(r, -lim, lim);
    memset(cm->c, 0, (size_t)V * sizeof(double));
}

typedef struct {
    int V, dv, L;
    double *ctx, *z; /* dv, V */
} cbow_ctx;

/* Loss and gradient of CBOW at the flat weights x = [alpha, rho, c]:
 *   ctx = mean_{j != i} alpha_{x_j};  z_v = c_v + rho_v·ctx;
 *   dz = wt (softmax(z) - e_y);  dc += dz;  drho_v += dz_v ctx;
 *   dalpha_{x_j} += (sum_v dz_v rho_v) / (L - 1)  for j != i. */
static double cbow_loss_grad(void *vc, const double *x, int b, const int *X, const int *rows,
                             double *gx)
{
    cbow_ctx *c = vc;
    int V = c->V, dv = c->dv, L = c->L;
    const double *alpha = x, *rho = x + (size_t)V * dv, *cb = rho + (size_t)V * dv;
    double *ga = gx, *grho = gx ? gx + (size_t)V * dv : NULL, *gc = grho ? grho + (size_t)V * dv : NULL;
    if (gx)
        memset(gx, 0, (size_t)V * (2 * dv + 1) * sizeof(double));
    double wt = 1.0 / ((double)b * L), total = 0.0;
    for (int r = 0; r < b; r++) {
        const int *sent = X + (size_t)(rows ? rows[r] : r) * L;
        for (int i = 0; i < L; i++) {
            memset(c->ctx, 0, (size_t)dv * sizeof(double));
            for (int j = 0; j < L; j++)
                if (j != i)
                    for (int k = 0; k < dv; k++)
                        c->ctx[k] += alpha[(size_t)sent[j] * dv + k];
            for (int k = 0; k < dv; k++)
                c->ctx[k] /= (L - 1);
            for (int v = 0; v < V; v++)
                c->z[v] = cb[v] + dot(rho + (size_t)v * dv, c->ctx, dv);
            double zy = c->z[sent[i]];
            total -= zy - softmax_lse(c->z, V);
            if (!gx)
                continue;
            for (int v = 0; v < V; v++) {
                double dz = wt * (c->z[v] - (v == sent[i]));
                gc[v] += dz;
                for (int k = 0; k < dv; k++)
                    grho[(size_t)v * dv + k] += dz * c->ctx[k];
                c->z[v] = dz;
            }
            for (int k = 0; k < dv; k++) {
                double dctx = 0.0;
                for (int v = 0; v < V; v++)
                    dctx += c->z[v] * rho[(size_t)v * dv + k];
                dctx /= (L - 1);
                for (int j = 0; j < L; j++)
                    if (j != i)
                        ga[(size_t)sent[j] * dv + k] += dctx;
            }
        }
    }
    return total * wt;
}

static ac_status check_cbow(const ac_moe_cbow *m, int L, ac_msg *msg)
{
    if (!m || !cbow_dims_ok(m->V, m->dv) || !m->alpha || !m->rho)
        return ac_fail(msg, AC_EINVAL, "CBOW needs alpha, rho and V, dv in 1..%d", AC_MOE_MAX_DIM);
    if (L < 2 || L > AC_MOE_MAX_DIM)
        return ac_fail(msg, AC_EINVAL, "CBOW needs sentences of 2..%d words (L = %d)", AC_MOE_MAX_DIM, L);
    size_t n = (size_t)m->V * m->dv;
    if (!finite_all(m->alpha, n) || !finite_all(m->rho, n) || (m->c && !finite_all(m->c, (size_t)m->V)))
        return ac_fail(msg, AC_EINVAL, "CBOW: alpha, rho or c is not finite");
    return AC_OK;
}

static void cbow_to_flat(const ac_moe_cbow *m, double *x)
{
    size_t n = (size_t)m->V * m->dv;
    memcpy(x, m->alpha, n * sizeof(double));
    memcpy(x + n, m->rho, n * sizeof(double));
    if (m->c)
        memcpy(x + 2 * n, m->c, (size_t)m->V * sizeof(double));
    else
        memset(x + 2 * n, 0, (size_t)m->V * sizeof(double));
}

static int cbow_ctx_init(cbow_ctx *c, int V, int dv, int L)
{
    c->V = V, c->dv = dv, c->L = L;
    c->ctx = malloc((size_t)dv * sizeof(double));
    c->z = malloc((size_t)V * sizeof(double));
    if (!c->ctx || !c->z) {
        free(c->ctx), free(c->z);
        c->ctx = c->z = NULL;
        return 0;
    }
    return 1;
}

static void cbow_ctx_clear(cbow_ctx *c)
{
    free(c->ctx), free(c->z);
    c->ctx = c->z = NULL;
}

ac_status ac_moe_cbow_fit_loss(const ac_moe_cbow *m, int L, int n, const int *X, double *loss,
                               ac_moe_cbow_model *grad, ac_msg *msg)
{
    ac_status st = check_cbow(m, L, msg);
    if (st)
        return st;
    if (n < 1)
        return ac_fail(msg, AC_EINVAL, "the loss needs at least one sentence (n = %d)", n);
    if ((st = check_words(m->V, L, n, X, msg)))
        return st;
    if (grad && (grad->m.V != m->V || grad->m.dv != m->dv))
        return ac_fail(msg, AC_EINVAL, "the gradient's CBOW has other sizes");
    cbow_ctx c;
    double *x = malloc((size_t)m->V * (2 * m->dv + 1) * sizeof(double));
    if (!x || !cbow_ctx_init(&c, m->V, m->dv, L)) {
        free(x);
        return ac_fail(msg, AC_ENOMEM, "no memory for the CBOW loss");
    }
    cbow_to_flat(m, x);
    *loss = cbow_loss_grad(&c, x, n, X, NULL, grad ? grad->alpha : NULL);
    cbow_ctx_clear(&c);
    free(x);
    return AC_OK;
}

struct ac_moe_cbow_trainer {
    cbow_ctx c;
    adam a;
    ac_moe_cbow view;
};

void ac_moe_cbow_trainer_free(ac_moe_cbow_trainer *tr)
{
    if (!tr)
        return;
    cbow_ctx_clear(&tr->c);
    adam_clear(&tr->a);
    free(tr);
}

ac_moe_cbow_trainer *ac_moe_cbow_trainer_alloc(int V, int dv, int L, int n)
{
    if (!cbow_dims_ok(V, dv) || L < 2 || L > AC_MOE_MAX_DIM || n < 1)
        return NULL;
    ac_moe_cbow_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    int ok = cbow_ctx_init(&tr->c, V, dv, L);
    ok = adam_init(&tr->a, (size_t)V * (2 * dv + 1), n, L, cbow_loss_grad, &tr->c) && ok;
    if (!ok) {
        ac_moe_cbow_trainer_free(tr);
        return NULL;
    }
    size_t k = (size_t)V * dv;
    tr->view = (ac_moe_cbow){.V = V, .dv = dv, .alpha = tr->a.w, .rho = tr->a.w + k, .c = tr->a.w + 2 * k};
    return tr;
}

ac_status ac_moe_cbow_trainer_set(ac_moe_cbow_trainer *tr, int n, const int *X,
                                  const ac_moe_cbow *start, const ac_moe_train_settings *set,
                                  gsl_rng *r, ac_msg *msg)
{
    ac_status st = check_cbow(start, tr->c.L, msg);
    if (st)
        return st;
    if (start->V != tr->c.V || start->dv != tr->c.dv)
        return ac_fail(msg, AC_EINVAL, "the start CBOW's V or dv differ from the trainer's");
    if ((st = adam_set(&tr->a, n, X, set, r, msg)))
        return st;
    if ((st = check_words(tr->c.V, tr->c.L, n, X, msg)))
        return st;
    cbow_to_flat(start, tr->a.w);
    return AC_OK;
}

ac_status ac_moe_cbow_trainer_iterate(ac_moe_cbow_trainer *tr)
{
    adam_iterate(&tr->a);
    return AC_OK;
}

ac_train_outcome ac_moe_cbow_trainer_test(const ac_moe_cbow_trainer *tr) { return tr->a.info.outcome; }

ac_train_outcome ac_moe_cbow_trainer_run(ac_moe_cbow_trainer *tr, long steps)
{
    return adam_run(&tr->a, steps);
}

const ac_moe_cbow *ac_moe_cbow_trainer_model(const ac_moe_cbow_trainer *tr) { return &tr->view; }
const ac_train_info *ac_moe_cbow_trainer_info(const ac_moe_cbow_trainer *tr) { return &tr->a.info; }

ac_status ac_moe_cbow_train(int L, int n, const int *X, const ac_moe_cbow *start,
                            const ac_moe_train_settings *set, gsl_rng *r, ac_moe_cbow_model *out,
                            ac_train_info *info, ac_msg *msg)
{
    if (!start || !out || out->m.V != start->V || out->m.dv != start->dv)
        return ac_fail(msg, AC_EINVAL, "the output CBOW's V or dv differ from the start's");
    ac_moe_cbow_trainer *tr = ac_moe_cbow_trainer_alloc(start->V, start->dv, L, n < 1 ? 1 : n);
    if (!tr)
        return ac_fail(msg, AC_EINVAL, "CBOW trainer: bad sizes (V %d, dv %d, L %d, n %d) or no memory",
                       start->V, start->dv, L, n);
    ac_status st = ac_moe_cbow_trainer_set(tr, n, X, start, set, r, msg);
    if (st == AC_OK) {
        ac_moe_cbow_trainer_run(tr, set->steps);
        memcpy(out->alpha, tr->a.w, tr->a.total * sizeof(double));
        *info = tr->a.info;
    }
    ac_moe_cbow_trainer_free(tr);
    return st;
}
