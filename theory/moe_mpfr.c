/* MPFR mirror of theory/moe.c (spec cbow_moe §2, §4.2): the same formulas
 * in the same order, on doubles converted exactly, every intermediate at
 * the caller's precision.  Dense loops, no BLAS. */
#include "theory/moe_mpfr.h"

#include <stdlib.h>
#include <string.h>

/* ---- Vectors and small helpers ---------------------------------------- */

static mpfr_t *vnew(size_t n, mpfr_prec_t prec)
{
    mpfr_t *v = malloc(sizeof(mpfr_t) * (n ? n : 1));
    if (!v)
        return NULL;
    for (size_t k = 0; k < n; k++)
        mpfr_init2(v[k], prec), mpfr_set_zero(v[k], 1);
    return v;
}

static void vfree(mpfr_t *v, size_t n)
{
    if (!v)
        return;
    for (size_t k = 0; k < n; k++)
        mpfr_clear(v[k]);
    free(v);
}

static int prec_ok(mpfr_prec_t prec)
{
    return prec >= MPFR_PREC_MIN && prec <= MPFR_PREC_MAX;
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

/* out = a·b (n entries, mpfr). */
static void dot(mpfr_t out, mpfr_t *a, mpfr_t *b, int n, mpfr_t t)
{
    mpfr_set_zero(out, 1);
    for (int k = 0; k < n; k++) {
        mpfr_mul(t, a[k], b[k], MPFR_RNDN);
        mpfr_add(out, out, t, MPFR_RNDN);
    }
}

/* y = A x (+ b), A r x c doubles (b doubles, may be NULL), x mpfr. */
static void matvec_d(const double *A, int r, int c, mpfr_t *x, const double *b, mpfr_t *y,
                     mpfr_t t)
{
    for (int k = 0; k < r; k++) {
        mpfr_set_d(y[k], b ? b[k] : 0.0, MPFR_RNDN);
        for (int l = 0; l < c; l++) {
            mpfr_mul_d(t, x[l], A[(size_t)k * c + l], MPFR_RNDN);
            mpfr_add(y[k], y[k], t, MPFR_RNDN);
        }
    }
}

/* y = A^T x, A r x c doubles. */
static void matvec_td(const double *A, int r, int c, mpfr_t *x, mpfr_t *y, mpfr_t t)
{
    for (int k = 0; k < c; k++) {
        mpfr_set_zero(y[k], 1);
        for (int l = 0; l < r; l++) {
            mpfr_mul_d(t, x[l], A[(size_t)l * c + k], MPFR_RNDN);
            mpfr_add(y[k], y[k], t, MPFR_RNDN);
        }
    }
}

/* y = A x, A r x c mpfr. */
static void matvec_m(mpfr_t *A, int r, int c, mpfr_t *x, mpfr_t *y, mpfr_t t)
{
    for (int k = 0; k < r; k++)
        dot(y[k], A + (size_t)k * c, x, c, t);
}

/* out = log sum_k exp z_k over use (all when NULL), shifted by the max. */
static void lse(mpfr_t out, mpfr_t *z, const int *use, int n, mpfr_t t)
{
    int first = 1;
    for (int k = 0; k < n; k++)
        if (!use || use[k]) {
            if (first || mpfr_greater_p(z[k], out))
                mpfr_set(out, z[k], MPFR_RNDN);
            first = 0;
        }
    mpfr_t s, mx;
    mpfr_inits2(mpfr_get_prec(t), s, mx, (mpfr_ptr)0);
    mpfr_set(mx, out, MPFR_RNDN);
    mpfr_set_zero(s, 1);
    for (int k = 0; k < n; k++)
        if (!use || use[k]) {
            mpfr_sub(t, z[k], mx, MPFR_RNDN);
            mpfr_exp(t, t, MPFR_RNDN);
            mpfr_add(s, s, t, MPFR_RNDN);
        }
    mpfr_log(s, s, MPFR_RNDN);
    mpfr_add(out, mx, s, MPFR_RNDN);
    mpfr_clears(s, mx, (mpfr_ptr)0);
}

static void softmax(mpfr_t *z, const int *use, int n, mpfr_t t, mpfr_t l)
{
    lse(l, z, use, n, t);
    for (int k = 0; k < n; k++) {
        if (!use || use[k]) {
            mpfr_sub(z[k], z[k], l, MPFR_RNDN);
            mpfr_exp(z[k], z[k], MPFR_RNDN);
        } else {
            mpfr_set_zero(z[k], 1);
        }
    }
}

static void log_softmax(mpfr_t *z, int n, mpfr_t t, mpfr_t l)
{
    lse(l, z, NULL, n, t);
    for (int k = 0; k < n; k++)
        mpfr_sub(z[k], z[k], l, MPFR_RNDN);
}

static void key_set(const ac_moe_sizes *s, int i, int *use)
{
    for (int j = 0; j < s->L; j++)
        use[j] = s->self || j != i;
}

/* e_j = w_{t_j} + p_j, t_i = V, from doubles. */
static void inputs_d(const double *E, const double *P, const ac_moe_sizes *s, const int *x, int i,
                     mpfr_t *e)
{
    int d = s->d;
    for (int j = 0; j < s->L; j++) {
        const double *w = E + (size_t)(j == i ? s->V : x[j]) * d;
        for (int k = 0; k < d; k++) {
            mpfr_set_d(e[(size_t)j * d + k], w[k], MPFR_RNDN);
            if (P)
                mpfr_add_d(e[(size_t)j * d + k], e[(size_t)j * d + k], P[(size_t)j * d + k], MPFR_RNDN);
        }
    }
}

/* The same from the form's mpfr features. */
static void inputs_m(const ac_moe_form_mpfr *f, const int *x, int i, mpfr_t *e)
{
    const ac_moe_sizes *s = &f->s;
    int d = s->d;
    for (int j = 0; j < s->L; j++)
        for (int k = 0; k < d; k++)
            mpfr_add(e[(size_t)j * d + k], f->w[(size_t)(j == i ? s->V : x[j]) * d + k],
                     f->p[(size_t)j * d + k], MPFR_RNDN);
}

/* ---- The form ----------------------------------------------------------- */

static size_t n_w(const ac_moe_sizes *s) { return (size_t)(s->V + 1) * s->d; }
static size_t n_p(const ac_moe_sizes *s) { return (size_t)s->L * s->d; }
static size_t n_gamma(const ac_moe_sizes *s) { return (size_t)s->H * s->L * s->d; }
static size_t n_a(const ac_moe_sizes *s) { return (size_t)s->H * (s->V + 1) * s->dv; }
static size_t n_b(const ac_moe_sizes *s) { return (size_t)s->H * s->L * s->dv; }
static size_t n_rho(const ac_moe_sizes *s) { return (size_t)s->H * s->V * s->dv; }
static size_t n_sb(const ac_moe_sizes *s) { return (size_t)s->L * s->V; }

ac_moe_form_mpfr *ac_moe_form_mpfr_alloc(const ac_moe_sizes *s, mpfr_prec_t prec)
{
    if (ac_moe_sizes_check(s) || !prec_ok(prec))
        return NULL;
    ac_moe_form_mpfr *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->s = *s, f->prec = prec;
    f->w = vnew(n_w(s), prec), f->p = vnew(n_p(s), prec), f->gamma = vnew(n_gamma(s), prec);
    f->a = vnew(n_a(s), prec), f->b = vnew(n_b(s), prec), f->rho = vnew(n_rho(s), prec);
    f->c = vnew((size_t)s->V, prec), f->slot_bias = vnew(n_sb(s), prec);
    int ok = f->w && f->p && f->gamma && f->a && f->b && f->rho && f->c && f->slot_bias;
    if (s->layers == 2) {
        f->G1 = vnew((size_t)s->d * s->d, prec), f->G2 = vnew((size_t)s->dv * s->dv, prec);
        ok = ok && f->G1 && f->G2;
    }
    if (!ok) {
        ac_moe_form_mpfr_free(f);
        return NULL;
    }
    return f;
}

void ac_moe_form_mpfr_free(ac_moe_form_mpfr *f)
{
    if (!f)
        return;
    const ac_moe_sizes *s = &f->s;
    vfree(f->w, n_w(s)), vfree(f->p, n_p(s)), vfree(f->gamma, n_gamma(s));
    vfree(f->a, n_a(s)), vfree(f->b, n_b(s)), vfree(f->rho, n_rho(s));
    vfree(f->c, (size_t)s->V), vfree(f->slot_bias, n_sb(s));
    vfree(f->G1, (size_t)s->d * s->d), vfree(f->G2, (size_t)s->dv * s->dv);
    free(f);
}

static int same_sizes(const ac_moe_sizes *a, const ac_moe_sizes *b)
{
    return a->V == b->V && a->L == b->L && a->d == b->d && a->dk == b->dk && a->dv == b->dv &&
           a->H == b->H && a->dout == b->dout && a->layers == b->layers && a->self == b->self &&
           a->residual == b->residual;
}

static void vset_d(mpfr_t *dst, const double *src, size_t n)
{
    for (size_t k = 0; k < n; k++)
        mpfr_set_d(dst[k], src[k], MPFR_RNDN);
}

ac_status ac_moe_form_mpfr_set(ac_moe_form_mpfr *fm, const ac_moe_form *f, ac_msg *msg)
{
    if (!fm || !f || !same_sizes(&fm->s, &f->s))
        return ac_fail(msg, AC_EINVAL, "the MPFR form was not allocated for the form's sizes");
    const ac_moe_sizes *s = &f->s;
    vset_d(fm->w, f->w, n_w(s)), vset_d(fm->p, f->p, n_p(s));
    vset_d(fm->gamma, f->gamma, n_gamma(s)), vset_d(fm->a, f->a, n_a(s));
    vset_d(fm->b, f->b, n_b(s)), vset_d(fm->rho, f->rho, n_rho(s));
    vset_d(fm->c, f->c, (size_t)s->V), vset_d(fm->slot_bias, f->slot_bias, n_sb(s));
    if (s->layers == 2) {
        vset_d(fm->G1, f->G1, (size_t)s->d * s->d);
        vset_d(fm->G2, f->G2, (size_t)s->dv * s->dv);
    }
    return AC_OK;
}

/* G = W_K^T W_Q / sqrt(dk), n x n. */
static void gate_matrix(const double *Wq, const double *Wk, int dk, int n, mpfr_t *G, mpfr_t t,
                        mpfr_t sq)
{
    for (int r = 0; r < n; r++)
        for (int c = 0; c < n; c++) {
            mpfr_t *g = &G[(size_t)r * n + c];
            mpfr_set_zero(*g, 1);
            for (int k = 0; k < dk; k++) {
                mpfr_set_d(t, Wk[(size_t)k * n + r], MPFR_RNDN);
                mpfr_mul_d(t, t, Wq[(size_t)k * n + c], MPFR_RNDN);
                mpfr_add(*g, *g, t, MPFR_RNDN);
            }
            mpfr_div(*g, *g, sq, MPFR_RNDN);
        }
}

ac_status ac_moe_form_from_attention_mpfr(const ac_moe_attention *m, ac_moe_form_mpfr *f,
                                          ac_msg *msg)
{
    const char *e = ac_moe_attention_check(m);
    if (e)
        return ac_fail(msg, AC_EINVAL, "%s", e);
    if (!f || !same_sizes(&m->s, &f->s))
        return ac_fail(msg, AC_EINVAL, "the MPFR form was not allocated for the model's sizes");
    const ac_moe_sizes *s = &m->s;
    int V = s->V, L = s->L, d = s->d, dk = s->dk, dv = s->dv, H = s->H, dout = s->dout;
    mpfr_prec_t prec = f->prec;
    mpfr_t *q = vnew((size_t)dk, prec), *eM = vnew((size_t)d, prec), *u = vnew((size_t)dout, prec);
    if (!q || !eM || !u) {
        vfree(q, (size_t)dk), vfree(eM, (size_t)d), vfree(u, (size_t)dout);
        return ac_fail(msg, AC_ENOMEM, "no memory for the MPFR reparameterisation");
    }
    mpfr_t t, sq;
    mpfr_inits2(prec, t, sq, (mpfr_ptr)0);
    mpfr_sqrt_ui(sq, (unsigned long)dk, MPFR_RNDN);
    vset_d(f->w, m->E, n_w(s));
    for (size_t k = 0; k < n_p(s); k++)
        mpfr_set_d(f->p[k], m->P ? m->P[k] : 0.0, MPFR_RNDN);
    for (int v = 0; v < V; v++)
        mpfr_set_d(f->c[v], m->c ? m->c[v] : 0.0, MPFR_RNDN);
    for (int h = 0; h < H; h++) {
        const double *Wq = m->Wq + (size_t)h * dk * d, *Wk = m->Wk + (size_t)h * dk * d;
        const double *Wv = m->Wv + (size_t)h * dv * d;
        for (int i = 0; i < L; i++) {
            for (int k = 0; k < d; k++)
                mpfr_add(eM[k], f->w[(size_t)V * d + k], f->p[(size_t)i * d + k], MPFR_RNDN);
            matvec_d(Wq, dk, d, eM, m->bq ? m->bq + (size_t)h * dk : NULL, q, t);
            mpfr_t *g = f->gamma + ((size_t)h * L + i) * d;
            matvec_td(Wk, dk, d, q, g, t);
            for (int k = 0; k < d; k++)
                mpfr_div(g[k], g[k], sq, MPFR_RNDN);
        }
        for (int v = 0; v <= V; v++)
            matvec_d(Wv, dv, d, f->w + (size_t)v * d, NULL, f->a + ((size_t)h * (V + 1) + v) * dv, t);
        for (int j = 0; j < L; j++)
            matvec_d(Wv, dv, d, f->p + (size_t)j * d, NULL, f->b + ((size_t)h * L + j) * dv, t);
        for (int v = 0; v < V; v++) {
            mpfr_t *r = f->rho + ((size_t)h * V + v) * dv;
            const double *uv = m->U + (size_t)v * dout;
            for (int k = 0; k < dv; k++) {
                if (!m->Wo) {
                    mpfr_set_d(r[k], uv[h * dv + k], MPFR_RNDN);
                    continue;
                }
                mpfr_set_zero(r[k], 1);
                for (int o = 0; o < dout; o++) {
                    mpfr_set_d(t, uv[o], MPFR_RNDN);
                    mpfr_mul_d(t, t, m->Wo[(size_t)o * H * dv + h * dv + k], MPFR_RNDN);
                    mpfr_add(r[k], r[k], t, MPFR_RNDN);
                }
            }
            if (m->bv)
                for (int k = 0; k < dv; k++) {
                    mpfr_mul_d(t, r[k], m->bv[(size_t)h * dv + k], MPFR_RNDN);
                    mpfr_add(f->c[v], f->c[v], t, MPFR_RNDN);
                }
        }
    }
    for (int v = 0; v < V; v++) {
        const double *uv = m->U + (size_t)v * dout;
        vset_d(u, uv, (size_t)dout);
        if (m->bo)
            for (int o = 0; o < dout; o++) {
                mpfr_mul_d(t, u[o], m->bo[o], MPFR_RNDN);
                mpfr_add(f->c[v], f->c[v], t, MPFR_RNDN);
            }
        for (int i = 0; i < L; i++) {
            mpfr_t *beta = &f->slot_bias[(size_t)i * V + v];
            mpfr_set_zero(*beta, 1);
            if (s->residual)
                for (int k = 0; k < d; k++) {
                    mpfr_add(t, f->w[(size_t)V * d + k], f->p[(size_t)i * d + k], MPFR_RNDN);
                    mpfr_mul(t, t, u[k], MPFR_RNDN);
                    mpfr_add(*beta, *beta, t, MPFR_RNDN);
                }
        }
    }
    if (s->layers == 2) {
        gate_matrix(m->Wq, m->Wk, dk, d, f->G1, t, sq);
        gate_matrix(m->Wq2, m->Wk2, dk, dv, f->G2, t, sq);
        for (int v = 0; v < V; v++)
            for (int k = 0; k < dv; k++) {
                mpfr_t *r = &f->rho[(size_t)v * dv + k];
                mpfr_set_zero(*r, 1);
                for (int o = 0; o < dv; o++) {
                    mpfr_set_d(t, m->U[(size_t)v * dout + o], MPFR_RNDN);
                    mpfr_mul_d(t, t, m->Wv2[(size_t)o * dv + k], MPFR_RNDN);
                    mpfr_add(*r, *r, t, MPFR_RNDN);
                }
            }
    }
    mpfr_clears(t, sq, (mpfr_ptr)0);
    vfree(q, (size_t)dk), vfree(eM, (size_t)d), vfree(u, (size_t)dout);
    return AC_OK;
}

/* ---- Attention forward pass -------------------------------------------- */

typedef struct {
    mpfr_t *qv, *kv, *val; /* max(dk, dv) each */
    mpfr_t t, l, sq;
} scratch;

static int scratch_init(scratch *w, int n, int dk, mpfr_prec_t prec)
{
    w->qv = vnew((size_t)n, prec), w->kv = vnew((size_t)n, prec), w->val = vnew((size_t)n, prec);
    mpfr_inits2(prec, w->t, w->l, w->sq, (mpfr_ptr)0);
    mpfr_sqrt_ui(w->sq, (unsigned long)dk, MPFR_RNDN);
    return w->qv && w->kv && w->val;
}

static void scratch_clear(scratch *w, int n)
{
    vfree(w->qv, (size_t)n), vfree(w->kv, (size_t)n), vfree(w->val, (size_t)n);
    mpfr_clears(w->t, w->l, w->sq, (mpfr_ptr)0);
}

/* As moe.c's attend: one layer's output at row r, inputs y (L x n). */
static void attend(const double *Wq, const double *Wk, const double *Wv, const double *bq,
                   const double *bk, const double *bv, int dk, int dv, int n, int L, mpfr_t *y,
                   int r, const int *use, mpfr_t *z, mpfr_t *out, scratch *w)
{
    matvec_d(Wq, dk, n, y + (size_t)r * n, bq, w->qv, w->t);
    for (int k = 0; k < L; k++) {
        if (!use[k])
            continue;
        matvec_d(Wk, dk, n, y + (size_t)k * n, bk, w->kv, w->t);
        dot(z[k], w->qv, w->kv, dk, w->t);
        mpfr_div(z[k], z[k], w->sq, MPFR_RNDN);
    }
    softmax(z, use, L, w->t, w->l);
    for (int c = 0; c < dv; c++)
        mpfr_set_zero(out[c], 1);
    for (int k = 0; k < L; k++) {
        if (!use[k])
            continue;
        matvec_d(Wv, dv, n, y + (size_t)k * n, bv, w->val, w->t);
        for (int c = 0; c < dv; c++) {
            mpfr_mul(w->t, z[k], w->val[c], MPFR_RNDN);
            mpfr_add(out[c], out[c], w->t, MPFR_RNDN);
        }
    }
}

ac_status ac_moe_attention_logp_mpfr(const ac_moe_attention *m, const int *x, int i,
                                     mpfr_t *logp, mpfr_prec_t prec, ac_msg *msg)
{
    const char *e = ac_moe_attention_check(m);
    if (e)
        return ac_fail(msg, AC_EINVAL, "%s", e);
    if (!prec_ok(prec))
        return ac_fail(msg, AC_EINVAL, "precision %ld bits is outside MPFR's range", (long)prec);
    const ac_moe_sizes *s = &m->s;
    ac_status st = check_sentence(s, x, i, msg);
    if (st)
        return st;
    int V = s->V, L = s->L, d = s->d, dk = s->dk, dv = s->dv, H = s->H, dout = s->dout;
    int nw = d > dk ? d : dk;
    nw = nw > dv ? nw : dv;
    size_t ny = (size_t)L * d, ny1 = (size_t)L * dv, nh = (size_t)H * dv;
    mpfr_t *y = vnew(ny, prec), *y1 = vnew(ny1, prec), *z = vnew((size_t)L, prec);
    mpfr_t *hc = vnew(nh, prec), *o = vnew((size_t)dout, prec), *zl = vnew((size_t)V, prec);
    int *use = malloc(sizeof(int) * (size_t)L);
    scratch w;
    int ok = scratch_init(&w, nw, dk, prec) && y && y1 && z && hc && o && zl && use;
    if (ok) {
        inputs_d(m->E, m->P, s, x, i, y);
        key_set(s, i, use);
        if (s->layers == 1) {
            for (int h = 0; h < H; h++)
                attend(m->Wq + (size_t)h * dk * d, m->Wk + (size_t)h * dk * d,
                       m->Wv + (size_t)h * dv * d, m->bq ? m->bq + (size_t)h * dk : NULL,
                       m->bk ? m->bk + (size_t)h * dk : NULL,
                       m->bv ? m->bv + (size_t)h * dv : NULL, dk, dv, d, L, y, i, use, z,
                       hc + (size_t)h * dv, &w);
            if (m->Wo)
                matvec_d(m->Wo, dout, H * dv, hc, m->bo, o, w.t);
            else
                for (int k = 0; k < dout; k++)
                    mpfr_set(o[k], hc[k], MPFR_RNDN);
            if (s->residual)
                for (int k = 0; k < d; k++)
                    mpfr_add(o[k], o[k], y[(size_t)i * d + k], MPFR_RNDN);
        } else {
            for (int r = 0; r < L; r++)
                attend(m->Wq, m->Wk, m->Wv, NULL, NULL, NULL, dk, dv, d, L, y, r, use, z,
                       y1 + (size_t)r * dv, &w);
            attend(m->Wq2, m->Wk2, m->Wv2, NULL, NULL, NULL, dk, dv, dv, L, y1, i, use, z, o, &w);
        }
        for (int v = 0; v < V; v++) {
            matvec_d(m->U + (size_t)v * dout, 1, dout, o, m->c ? m->c + v : NULL, zl + v, w.t);
        }
        log_softmax(zl, V, w.t, w.l);
        for (int v = 0; v < V; v++)
            mpfr_set(logp[v], zl[v], MPFR_RNDN);
    }
    scratch_clear(&w, nw);
    vfree(y, ny), vfree(y1, ny1), vfree(z, (size_t)L), vfree(hc, nh), vfree(o, (size_t)dout);
    vfree(zl, (size_t)V);
    free(use);
    return ok ? AC_OK : ac_fail(msg, AC_ENOMEM, "no memory for the MPFR forward pass");
}

/* ---- Conditionals from the form ----------------------------------------- */

/* As moe.c's gates: pi_j ∝ exp(gamma·w_{t_j} + gamma·p_j), j in J. */
static void gates(const ac_moe_form_mpfr *f, const int *x, int i, int h, const int *use,
                  mpfr_t *pi, mpfr_t t, mpfr_t t2)
{
    const ac_moe_sizes *s = &f->s;
    int d = s->d, V = s->V, L = s->L;
    mpfr_t *g = f->gamma + ((size_t)h * L + i) * d;
    for (int j = 0; j < L; j++)
        if (use[j]) {
            dot(pi[j], g, f->w + (size_t)(j == i ? V : x[j]) * d, d, t);
            dot(t2, g, f->p + (size_t)j * d, d, t);
            mpfr_add(pi[j], pi[j], t2, MPFR_RNDN);
        }
    softmax(pi, use, L, t, t2);
}

static void expert(const ac_moe_form_mpfr *f, const int *x, int i, int h, int j, mpfr_t *out)
{
    const ac_moe_sizes *s = &f->s;
    int dv = s->dv, V = s->V, tj = j == i ? V : x[j];
    mpfr_t *a = f->a + ((size_t)h * (V + 1) + tj) * dv, *b = f->b + ((size_t)h * s->L + j) * dv;
    for (int k = 0; k < dv; k++)
        mpfr_add(out[k], a[k], b[k], MPFR_RNDN);
}

/* As moe.c's two_layer_context (§2.4). */
static int two_layer_context(const ac_moe_form_mpfr *f, const int *x, int i, const int *use,
                             mpfr_t *ctx, mpfr_t t, mpfr_t t2)
{
    const ac_moe_sizes *s = &f->s;
    int L = s->L, d = s->d, dv = s->dv;
    mpfr_prec_t prec = f->prec;
    size_t ne = (size_t)L * d, nP = (size_t)L * L, nal = (size_t)L * dv;
    mpfr_t *e = vnew(ne, prec), *P1 = vnew(nP, prec), *al = vnew(nal, prec), *y1 = vnew(nal, prec);
    mpfr_t *p2 = vnew((size_t)L, prec), *g = vnew((size_t)d, prec), *g2 = vnew((size_t)dv, prec);
    int ok = e && P1 && al && y1 && p2 && g && g2;
    if (ok) {
        inputs_m(f, x, i, e);
        for (int k = 0; k < L; k++)
            expert(f, x, i, 0, k, al + (size_t)k * dv);
        for (int r = 0; r < L; r++) {
            if (r == i)
                for (int k = 0; k < d; k++)
                    mpfr_set(g[k], f->gamma[(size_t)i * d + k], MPFR_RNDN);
            else
                matvec_m(f->G1, d, d, e + (size_t)r * d, g, t);
            mpfr_t *row = P1 + (size_t)r * L;
            for (int k = 0; k < L; k++)
                if (use[k])
                    dot(row[k], g, e + (size_t)k * d, d, t);
            softmax(row, use, L, t, t2);
            for (int c = 0; c < dv; c++) {
                mpfr_set_zero(y1[(size_t)r * dv + c], 1);
                for (int k = 0; k < L; k++) {
                    mpfr_mul(t, row[k], al[(size_t)k * dv + c], MPFR_RNDN);
                    mpfr_add(y1[(size_t)r * dv + c], y1[(size_t)r * dv + c], t, MPFR_RNDN);
                }
            }
        }
        matvec_m(f->G2, dv, dv, y1 + (size_t)i * dv, g2, t);
        for (int r = 0; r < L; r++)
            if (use[r])
                dot(p2[r], g2, y1 + (size_t)r * dv, dv, t);
        softmax(p2, use, L, t, t2);
        for (int c = 0; c < dv; c++)
            mpfr_set_zero(ctx[c], 1);
        for (int k = 0; k < L; k++) {
            mpfr_set_zero(t2, 1);
            for (int r = 0; r < L; r++) {
                mpfr_mul(t, p2[r], P1[(size_t)r * L + k], MPFR_RNDN);
                mpfr_add(t2, t2, t, MPFR_RNDN);
            }
            for (int c = 0; c < dv; c++) {
                mpfr_mul(t, t2, al[(size_t)k * dv + c], MPFR_RNDN);
                mpfr_add(ctx[c], ctx[c], t, MPFR_RNDN);
            }
        }
    }
    vfree(e, ne), vfree(P1, nP), vfree(al, nal), vfree(y1, nal), vfree(p2, (size_t)L);
    vfree(g, (size_t)d), vfree(g2, (size_t)dv);
    return ok;
}

ac_status ac_moe_form_logp_mpfr(const ac_moe_form_mpfr *f, const int *x, int i, mpfr_t *logp,
                                ac_msg *msg)
{
    if (!f)
        return ac_fail(msg, AC_EINVAL, "the MPFR CBOW-MoE form is missing (NULL)");
    const ac_moe_sizes *s = &f->s;
    ac_status st = check_sentence(s, x, i, msg);
    if (st)
        return st;
    int V = s->V, L = s->L, dv = s->dv, H = s->H;
    mpfr_prec_t prec = f->prec;
    size_t nc = (size_t)H * dv;
    mpfr_t *pi = vnew((size_t)L, prec), *ctx = vnew(nc, prec), *al = vnew((size_t)dv, prec);
    mpfr_t *zl = vnew((size_t)V, prec);
    int *use = malloc(sizeof(int) * (size_t)L);
    mpfr_t t, t2;
    mpfr_inits2(prec, t, t2, (mpfr_ptr)0);
    int ok = pi && ctx && al && zl && use;
    if (ok) {
        key_set(s, i, use);
        if (s->layers == 2) {
            ok = two_layer_context(f, x, i, use, ctx, t, t2);
        } else {
            for (int h = 0; h < H; h++) {
                mpfr_t *ch = ctx + (size_t)h * dv;
                gates(f, x, i, h, use, pi, t, t2);
                for (int k = 0; k < dv; k++)
                    mpfr_set_zero(ch[k], 1);
                for (int j = 0; j < L; j++) {
                    if (!use[j])
                        continue;
                    expert(f, x, i, h, j, al);
                    for (int k = 0; k < dv; k++) {
                        mpfr_mul(t, pi[j], al[k], MPFR_RNDN);
                        mpfr_add(ch[k], ch[k], t, MPFR_RNDN);
                    }
                }
            }
        }
    }
    if (ok) {
        for (int v = 0; v < V; v++) {
            mpfr_add(zl[v], f->c[v], f->slot_bias[(size_t)i * V + v], MPFR_RNDN);
            for (int h = 0; h < H; h++) {
                dot(t2, f->rho + ((size_t)h * V + v) * dv, ctx + (size_t)h * dv, dv, t);
                mpfr_add(zl[v], zl[v], t2, MPFR_RNDN);
            }
        }
        log_softmax(zl, V, t, t2);
        for (int v = 0; v < V; v++)
            mpfr_set(logp[v], zl[v], MPFR_RNDN);
    }
    mpfr_clears(t, t2, (mpfr_ptr)0);
    vfree(pi, (size_t)L), vfree(ctx, nc), vfree(al, (size_t)dv), vfree(zl, (size_t)V);
    free(use);
    return ok ? AC_OK : ac_fail(msg, AC_ENOMEM, "no memory for the MPFR CBOW-MoE conditional");
}

ac_status ac_moe_geometric_logp_mpfr(const ac_moe_form_mpfr *f, const int *x, int i,
                                     mpfr_t *logp, ac_msg *msg)
{
    if (!f)
        return ac_fail(msg, AC_EINVAL, "the MPFR CBOW-MoE form is missing (NULL)");
    const ac_moe_sizes *s = &f->s;
    if (s->layers != 1)
        return ac_fail(msg, AC_EINVAL, "the expert-mixture readings need a one-layer form");
    ac_status st = check_sentence(s, x, i, msg);
    if (st)
        return st;
    int V = s->V, L = s->L, dv = s->dv, H = s->H;
    mpfr_prec_t prec = f->prec;
    mpfr_t *pi = vnew((size_t)L, prec), *al = vnew((size_t)dv, prec), *eta = vnew((size_t)V, prec);
    mpfr_t *acc = vnew((size_t)V, prec);
    int *use = malloc(sizeof(int) * (size_t)L);
    mpfr_t t, t2;
    mpfr_inits2(prec, t, t2, (mpfr_ptr)0);
    int ok = pi && al && eta && acc && use;
    if (ok) {
        key_set(s, i, use);
        for (int h = 0; h < H; h++) {
            gates(f, x, i, h, use, pi, t, t2);
            for (int j = 0; j < L; j++) {
                if (!use[j])
                    continue;
                expert(f, x, i, h, j, al);
                /* eta_v = (c_v + beta_{i,v})/H + rho^h_v·alpha^h_j, then log-softmax */
                for (int v = 0; v < V; v++) {
                    mpfr_add(eta[v], f->c[v], f->slot_bias[(size_t)i * V + v], MPFR_RNDN);
                    mpfr_div_ui(eta[v], eta[v], (unsigned long)H, MPFR_RNDN);
                    dot(t2, f->rho + ((size_t)h * V + v) * dv, al, dv, t);
                    mpfr_add(eta[v], eta[v], t2, MPFR_RNDN);
                }
                log_softmax(eta, V, t, t2);
                for (int v = 0; v < V; v++) {
                    mpfr_mul(t, pi[j], eta[v], MPFR_RNDN);
                    mpfr_add(acc[v], acc[v], t, MPFR_RNDN);
                }
            }
        }
        log_softmax(acc, V, t, t2);
        for (int v = 0; v < V; v++)
            mpfr_set(logp[v], acc[v], MPFR_RNDN);
    }
    mpfr_clears(t, t2, (mpfr_ptr)0);
    vfree(pi, (size_t)L), vfree(al, (size_t)dv), vfree(eta, (size_t)V), vfree(acc, (size_t)V);
    free(use);
    return ok ? AC_OK : ac_fail(msg, AC_ENOMEM, "no memory for the MPFR expert mixture");
}

/* ---- CBOW and the analogy defect ---------------------------------------- */

ac_status ac_moe_cbow_logp_mpfr(const ac_moe_cbow *m, int L, const int *x, int i, mpfr_t *logp,
                                mpfr_prec_t prec, ac_msg *msg)
{
    if (!m || !m->alpha || !m->rho || m->V < 1 || m->V > AC_MOE_MAX_DIM || m->dv < 1 ||
        m->dv > AC_MOE_MAX_DIM || L < 2 || L > AC_MOE_MAX_DIM)
        return ac_fail(msg, AC_EINVAL, "CBOW needs alpha, rho, V and dv in 1..4096 and L >= 2");
    if (!prec_ok(prec))
        return ac_fail(msg, AC_EINVAL, "precision %ld bits is outside MPFR's range", (long)prec);
    if (i < 0 || i >= L)
        return ac_fail(msg, AC_EINVAL, "masked slot %d is outside 0..%d", i, L - 1);
    int V = m->V, dv = m->dv;
    for (int j = 0; j < L; j++)
        if (j != i && (x[j] < 0 || x[j] >= V))
            return ac_fail(msg, AC_EINVAL, "word %d at slot %d is outside the vocabulary of %d words",
                           x[j], j, V);
    mpfr_t *ctx = vnew((size_t)dv, prec), *zl = vnew((size_t)V, prec);
    if (!ctx || !zl) {
        vfree(ctx, (size_t)dv), vfree(zl, (size_t)V);
        return ac_fail(msg, AC_ENOMEM, "no memory for the MPFR CBOW conditional");
    }
    mpfr_t t, t2;
    mpfr_inits2(prec, t, t2, (mpfr_ptr)0);
    for (int j = 0; j < L; j++)
        if (j != i)
            for (int k = 0; k < dv; k++)
                mpfr_add_d(ctx[k], ctx[k], m->alpha[(size_t)x[j] * dv + k], MPFR_RNDN);
    for (int k = 0; k < dv; k++)
        mpfr_div_ui(ctx[k], ctx[k], (unsigned long)(L - 1), MPFR_RNDN);
    for (int v = 0; v < V; v++)
        matvec_d(m->rho + (size_t)v * dv, 1, dv, ctx, m->c ? m->c + v : NULL, zl + v, t);
    log_softmax(zl, V, t, t2);
    for (int v = 0; v < V; v++)
        mpfr_set(logp[v], zl[v], MPFR_RNDN);
    mpfr_clears(t, t2, (mpfr_ptr)0);
    vfree(ctx, (size_t)dv), vfree(zl, (size_t)V);
    return AC_OK;
}

void ac_moe_defect_mpfr(int V, mpfr_t *lp_a, mpfr_t *lp_b, mpfr_t *lp_c, mpfr_t *lp_d,
                        mpfr_t *delta)
{
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(delta[0]) + 64);
    for (int v = 0; v < V; v++) {
        mpfr_sub(t, lp_a[v], lp_b[v], MPFR_RNDN);
        mpfr_sub(t, t, lp_c[v], MPFR_RNDN);
        mpfr_add(delta[v], t, lp_d[v], MPFR_RNDN);
    }
    mpfr_clear(t);
}

void ac_moe_defect_variance_mpfr(int V, mpfr_t *delta, mpfr_t var)
{
    mpfr_t mean, t, acc;
    mpfr_inits2(mpfr_get_prec(delta[0]), mean, t, acc, (mpfr_ptr)0);
    mpfr_set_zero(mean, 1), mpfr_set_zero(acc, 1);
    for (int v = 0; v < V; v++)
        mpfr_add(mean, mean, delta[v], MPFR_RNDN);
    mpfr_div_ui(mean, mean, (unsigned long)V, MPFR_RNDN);
    for (int v = 0; v < V; v++) {
        mpfr_sub(t, delta[v], mean, MPFR_RNDN);
        mpfr_sqr(t, t, MPFR_RNDN);
        mpfr_add(acc, acc, t, MPFR_RNDN);
    }
    mpfr_div_ui(var, acc, (unsigned long)V, MPFR_RNDN);
    mpfr_clears(mean, t, acc, (mpfr_ptr)0);
}

/* The four conditionals of §4.2: cbow != NULL selects CBOW (length L,
 * precision prec), else the form. */
static ac_status defect(const ac_moe_cbow *cbow, const ac_moe_form_mpfr *f, int V, int L,
                        mpfr_prec_t prec, const int *ctx1, const int *ctx2, const ac_moe_quad *q,
                        mpfr_t *delta, ac_msg *msg)
{
    if (!q || q->j < 0 || q->j >= L || q->j == q->i)
        return ac_fail(msg, AC_EINVAL, "the analogy's context slot must lie in 0..%d and differ "
                       "from the masked slot", L - 1);
    int *x = malloc(sizeof(int) * (size_t)L);
    mpfr_t *lp = vnew(4 * (size_t)V, prec);
    if (!x || !lp) {
        free(x), vfree(lp, 4 * (size_t)V);
        return ac_fail(msg, AC_ENOMEM, "no memory for the MPFR analogy defect");
    }
    const int words[4] = {q->a, q->b, q->c, q->d};
    ac_status st = AC_OK;
    for (int k = 0; k < 4 && !st; k++) {
        memcpy(x, k < 2 ? ctx1 : ctx2, sizeof(int) * (size_t)L);
        x[q->j] = words[k];
        st = cbow ? ac_moe_cbow_logp_mpfr(cbow, L, x, q->i, lp + (size_t)k * V, prec, msg)
                  : ac_moe_form_logp_mpfr(f, x, q->i, lp + (size_t)k * V, msg);
    }
    if (!st)
        ac_moe_defect_mpfr(V, lp, lp + V, lp + 2 * (size_t)V, lp + 3 * (size_t)V, delta);
    free(x), vfree(lp, 4 * (size_t)V);
    return st;
}

ac_status ac_moe_cbow_analogy_defect_mpfr(const ac_moe_cbow *m, int L, const int *ctx1,
                                          const int *ctx2, const ac_moe_quad *q, mpfr_t *delta,
                                          mpfr_prec_t prec, ac_msg *msg)
{
    if (!m || m->V < 1 || m->V > AC_MOE_MAX_DIM)
        return ac_fail(msg, AC_EINVAL, "CBOW needs V in 1..4096");
    if (!prec_ok(prec))
        return ac_fail(msg, AC_EINVAL, "precision %ld bits is outside MPFR's range", (long)prec);
    return defect(m, NULL, m->V, L, prec, ctx1, ctx2, q, delta, msg);
}

ac_status ac_moe_form_analogy_defect_mpfr(const ac_moe_form_mpfr *f, const int *ctx1,
                                          const int *ctx2, const ac_moe_quad *q, mpfr_t *delta,
                                          ac_msg *msg)
{
    if (!f)
        return ac_fail(msg, AC_EINVAL, "the MPFR CBOW-MoE form is missing (NULL)");
    return defect(NULL, f, f->s.V, f->s.L, f->prec, ctx1, ctx2, q, delta, msg);
}

ac_status ac_moe_analogy_defect_mpfr(const ac_moe_analogy *an, mpfr_t *delta, mpfr_prec_t prec,
                                     ac_msg *msg)
{
    if (!an)
        return ac_fail(msg, AC_EINVAL, "the analogy case is missing (NULL)");
    if (!an->form)
        return ac_moe_cbow_analogy_defect_mpfr(&an->cbow, an->L, an->ctx1, an->ctx2, &an->q,
                                               delta, prec, msg);
    ac_moe_form_mpfr *fm = ac_moe_form_mpfr_alloc(&an->form->s, prec);
    if (!fm)
        return ac_fail(msg, prec_ok(prec) ? AC_ENOMEM : AC_EINVAL,
                       "no MPFR form at %ld bits", (long)prec);
    ac_status st = ac_moe_form_mpfr_set(fm, an->form, msg);
    if (!st)
        st = ac_moe_form_analogy_defect_mpfr(fm, an->ctx1, an->ctx2, &an->q, delta, msg);
    ac_moe_form_mpfr_free(fm);
    return st;
}
