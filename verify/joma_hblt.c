/* The HBLT generator, its co-occurrence check and the learning task (spec
 * joma §3 item 4, §4.5); see the header. */
#include "verify/joma_hblt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verify/trial.h"

ac_status ac_joma_hblt_sample(const ac_joma_hblt *h, gsl_rng *r, int N, unsigned char *Y, ac_msg *msg)
{
    ac_status st = ac_joma_hblt_check(h, msg);
    if (st != AC_OK)
        return st;
    if (N < 0 || !r)
        return ac_fail(msg, AC_EINVAL, "HBLT sample: N = %d must be >= 0 and a generator given", N);
    int n = ac_joma_hblt_nleaves(h);
    unsigned char *lev = malloc((size_t)n), *next = malloc((size_t)n);
    if (!lev || !next) {
        free(lev);
        free(next);
        return ac_fail(msg, AC_ENOMEM, "no memory for the HBLT levels");
    }
    for (int s = 0; s < N; s++) {
        lev[0] = gsl_rng_uniform(r) < h->p_root;
        for (int k = 1; k <= h->depth; k++) {
            double flip = 0.5 * (1.0 - h->rho[k - 1]);
            for (int j = 0; j < 1 << k; j++)
                next[j] = (unsigned char)(lev[j >> 1] ^ (gsl_rng_uniform(r) < flip));
            memcpy(lev, next, (size_t)1 << k);
        }
        memcpy(Y + (size_t)s * n, lev, (size_t)n);
    }
    free(lev);
    free(next);
    return AC_OK;
}

int ac_joma_hblt_tokens(const ac_joma_hblt *h, const unsigned char *y, int *tok)
{
    int n = ac_joma_hblt_nleaves(h), c = 0;
    for (int l = 0; l < n; l++)
        if (y[l])
            tok[c++] = l;
    return c;
}

/* |f - p| / sqrt(p (1 - p) / N), the degenerate p = 0, 1 as in the header;
 * NaN when p is NaN (a formula that fails must not read as a fit). */
static double zscore(double f, double p, int N)
{
    double v = p * (1.0 - p) / N;
    if (isnan(v))
        return NAN;
    if (v <= 0.0)
        return f == p ? 0.0 : INFINITY;
    return fabs(f - p) / sqrt(v);
}

ac_status ac_joma_hblt_fit_measure(const ac_joma_hblt *h, const unsigned char *Y, int N, ac_joma_hblt_fit *fit,
                                   ac_msg *msg)
{
    ac_status st = ac_joma_hblt_check(h, msg);
    if (st != AC_OK)
        return st;
    if (N < 1)
        return ac_fail(msg, AC_EINVAL, "HBLT fit: needs at least one sample (N = %d)", N);
    int n = ac_joma_hblt_nleaves(h);
    long *cnt = calloc((size_t)n * n, sizeof *cnt); /* cnt[l n + m]: both present */
    if (!cnt)
        return ac_fail(msg, AC_ENOMEM, "no memory for the HBLT pair counts");
    for (int s = 0; s < N; s++) {
        const unsigned char *y = Y + (size_t)s * n;
        for (int l = 0; l < n; l++)
            if (y[l])
                for (int m = l; m < n; m++)
                    cnt[(size_t)l * n + m] += y[m];
    }
    memset(fit, 0, sizeof *fit);
    fit->npairs = n * (n - 1) / 2;
    double both[AC_JOMA_HBLT_DEPTH_MAX] = {0}, given[AC_JOMA_HBLT_DEPTH_MAX] = {0};
    for (int l = 0; l < n; l++) {
        double fm = (double)cnt[(size_t)l * n + l] / N;
        fit->zmax_marg = ac_max_keep_nan(fit->zmax_marg, zscore(fm, ac_joma_hblt_marginal(h), N));
        for (int m = l + 1; m < n; m++) {
            double f = (double)cnt[(size_t)l * n + m] / N, p = ac_joma_hblt_cooccur(h, l, m);
            double z = zscore(f, p, N);
            /* the first pair seeds the worst; a NaN z stays the worst for good */
            int first = l == 0 && m == 1;
            if (first || (!isnan(fit->zmax_pair) && (isnan(z) || z > fit->zmax_pair))) {
                fit->zmax_pair = z;
                fit->worst_l = l;
                fit->worst_m = m;
                fit->f_worst = f;
                fit->p_worst = p;
            }
            int H = ac_joma_hblt_lca_height(l, m) - 1;
            both[H] += 2.0 * (double)cnt[(size_t)l * n + m];  /* (l, m) and (m, l) */
            given[H] += (double)cnt[(size_t)l * n + l] + (double)cnt[(size_t)m * n + m];
        }
    }
    for (int H = 0; H < h->depth; H++) {
        int l = 0, m = 1 << H; /* a pair at height H + 1 */
        fit->cond_theory[H] = ac_joma_hblt_conditional(h, l, m);
        fit->cond_sample[H] = given[H] > 0 ? both[H] / given[H] : NAN;
    }
    free(cnt);
    return AC_OK;
}

double ac_joma_hblt_half_time(const double *t, const double *v, int n)
{
    if (n < 1 || !(isfinite(v[n - 1]) && v[n - 1] != 0.0))
        return NAN;
    for (int c = 0; c < n; c++)
        if (v[c] / v[n - 1] >= 0.5)
            return t[c];
    return t[n - 1]; /* not reached: v[n-1] / v[n-1] = 1 */
}

double ac_joma_hblt_level_time(const double *t, const double *v, int n, double level)
{
    if (n < 1 || isnan(level))
        return NAN;
    for (int c = 0; c < n; c++) {
        if (isnan(v[c]))
            return NAN;
        if (v[c] >= level)
            return t[c];
    }
    return INFINITY;
}

/* Ranks 1..n of x, ties at their mean rank. */
static void ranks(const double *x, int n, double *rk)
{
    for (int i = 0; i < n; i++) {
        int less = 0, equal = 0;
        for (int j = 0; j < n; j++) {
            less += x[j] < x[i];
            equal += x[j] == x[i];
        }
        rk[i] = less + 0.5 * (equal + 1);
    }
}

double ac_joma_hblt_spearman(const double *x, const double *y, int n)
{
    if (n < 2)
        return NAN;
    double *rx = malloc(sizeof(double) * 2 * (size_t)n);
    if (!rx)
        return NAN;
    double *ry = rx + n;
    ranks(x, n, rx);
    ranks(y, n, ry);
    /* Pearson's correlation of the ranks (exact with ties) */
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        mx += rx[i];
        my += ry[i];
    }
    mx /= n;
    my /= n;
    for (int i = 0; i < n; i++) {
        sxy += (rx[i] - mx) * (ry[i] - my);
        sxx += (rx[i] - mx) * (rx[i] - mx);
        syy += (ry[i] - my) * (ry[i] - my);
    }
    free(rx);
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}

/* ---- the query block ---- */

ac_status ac_joma_hblt_qtask_init(ac_joma_hblt_qtask *q, const ac_joma_hblt *h, int N, gsl_rng *r, ac_msg *msg)
{
    memset(q, 0, sizeof *q);
    ac_status st = ac_joma_hblt_check(h, msg);
    if (st != AC_OK)
        return st;
    int n = ac_joma_hblt_nleaves(h);
    if (N < 1 || !r)
        return ac_fail(msg, AC_EINVAL, "HBLT query task: N = %d must be >= 1 and a generator given", N);
    st = ac_joma_data_init(&q->data, N, n, n, msg);
    if (st != AC_OK)
        return st;
    q->query = malloc(sizeof(int) * (size_t)N);
    unsigned char *y = malloc((size_t)n);
    int *tok = malloc(sizeof(int) * (size_t)n);
    if (!q->query || !y || !tok) {
        free(y);
        free(tok);
        ac_joma_hblt_qtask_clear(q);
        return ac_fail(msg, AC_ENOMEM, "no memory for the HBLT query task");
    }
    long draws = 0, limit = (long)AC_JOMA_HBLT_TASK_DRAWS_MAX * N;
    int kept = 0;
    while (kept < N && draws < limit) {
        draws++;
        ac_joma_hblt_sample(h, r, 1, y, NULL);
        int c = ac_joma_hblt_tokens(h, y, tok);
        if (c < 3)
            continue;
        /* the query, then the label among the others: swap each to the end */
        int a = (int)gsl_rng_uniform_int(r, (unsigned long)c), t;
        t = tok[a], tok[a] = tok[c - 1], tok[c - 1] = t;
        int b = (int)gsl_rng_uniform_int(r, (unsigned long)(c - 1));
        t = tok[b], tok[b] = tok[c - 2], tok[c - 2] = t;
        double *x = q->data.X + (size_t)kept * n;
        for (int k = 0; k < c - 2; k++)
            x[tok[k]] = 1.0 / (c - 2);
        q->query[kept] = tok[c - 1];
        q->data.label[kept] = tok[c - 2];
        q->data.Y[(size_t)kept * n + tok[c - 2]] = 1.0;
        kept++;
    }
    free(y);
    free(tok);
    if (kept < N) {
        ac_joma_hblt_qtask_clear(q);
        return ac_fail(msg, AC_EINVAL, "HBLT query task: only %d of %d samples with three tokens in %ld draws",
                       kept, N, draws);
    }
    return AC_OK;
}

void ac_joma_hblt_qtask_clear(ac_joma_hblt_qtask *q)
{
    ac_joma_data_clear(&q->data);
    free(q->query);
    q->query = NULL;
}

void ac_joma_hblt_q_settings_default(ac_joma_hblt_q_settings *s)
{
    s->steps = AC_JOMA_HBLT_Q_STEPS_DEFAULT;
    s->lr = AC_JOMA_HBLT_Q_LR_DEFAULT;
    s->T = AC_JOMA_HBLT_Q_T_DEFAULT;
    s->diverge_factor = AC_JOMA_TRAIN_DIVERGE_FACTOR;
}

const char *ac_joma_hblt_q_settings_check(const ac_joma_hblt_q_settings *s)
{
    if (!s)
        return "the settings are missing (NULL)";
    if (s->steps < 1)
        return "query block: steps must be >= 1";
    if (!(s->lr > 0 && isfinite(s->lr)))
        return "query block: the step lr must be positive and finite";
    if (!(s->T > 0 && isfinite(s->T)))
        return "query block: the temperature T must be positive and finite";
    if (!(s->diverge_factor > 1))
        return "query block: diverge_factor must be above 1";
    return NULL;
}

/* 1 when every query and label of q lies in [0, M). */
static int qtask_in_range(const ac_joma_hblt_qtask *q)
{
    for (int s = 0; s < q->data.N; s++)
        if (q->query[s] < 0 || q->query[s] >= q->data.M || q->data.label[s] < 0 || q->data.label[s] >= q->data.M)
            return 0;
    return 1;
}

/* One sequence's forward pass and, when gZ is non-NULL, its gradient
 * (weight wt = 1/N) added into gZ, gV, gQ: the header's formulas, over the
 * c context tokens ctx[0..c) (those with x_l > 0; the others have b_l = 0
 * and no gradient).  b, h, e are M-entry scratch.  Returns the loss. */
static double q_sequence(int M, const double *x, const int *ctx, int c, int m, int n, const double *Z,
                         const double *V, const double *Q, double T, double wt, double *gZ, double *gV, double *gQ,
                         double *b, double *h, double *e)
{
    /* b = softmax(ln x + z_m / T) over the context, by log-sum-exp */
    const double *z = Z + (size_t)m * M;
    double mx = -INFINITY, sb = 0.0;
    for (int j = 0; j < c; j++)
        mx = fmax(mx, log(x[ctx[j]]) + z[ctx[j]] / T);
    for (int j = 0; j < c; j++) {
        int l = ctx[j];
        b[l] = exp(log(x[l]) + z[l] / T - mx);
        sb += b[l];
    }
    for (int j = 0; j < c; j++)
        b[ctx[j]] /= sb;
    /* h_k = v_k . b + q_{km}; the loss -log softmax(h)_n by log-sum-exp */
    double hmax = -INFINITY;
    for (int k = 0; k < M; k++) {
        const double *v = V + (size_t)k * M;
        double a = Q[(size_t)k * M + m];
        for (int j = 0; j < c; j++)
            a += v[ctx[j]] * b[ctx[j]];
        h[k] = a;
        hmax = fmax(hmax, a);
    }
    double sh = 0.0;
    for (int k = 0; k < M; k++)
        sh += exp(h[k] - hmax);
    double lse = hmax + log(sh), loss = lse - h[n];
    if (!gZ)
        return loss;
    /* g_k = p_k - [k = n] (times wt); e_l = sum_k g_k v_{kl} */
    for (int j = 0; j < c; j++)
        e[ctx[j]] = 0.0;
    for (int k = 0; k < M; k++) {
        double g = wt * (exp(h[k] - lse) - (k == n));
        const double *v = V + (size_t)k * M;
        double *gv = gV + (size_t)k * M;
        for (int j = 0; j < c; j++) {
            int l = ctx[j];
            gv[l] += g * b[l];
            e[l] += g * v[l];
        }
        gQ[(size_t)k * M + m] += g;
    }
    double eb = 0.0;
    for (int j = 0; j < c; j++)
        eb += b[ctx[j]] * e[ctx[j]];
    double *gz = gZ + (size_t)m * M;
    for (int j = 0; j < c; j++)
        gz[ctx[j]] += b[ctx[j]] * (e[ctx[j]] - eb) / T;
    return loss;
}

/* The loss and gradient with caller-given scratch (4 M: b, h, e and the
 * context list). */
static double q_loss(const ac_joma_hblt_qtask *q, const double *Z, const double *V, const double *Q, double T,
                     double *gZ, double *gV, double *gQ, double *scratch)
{
    int M = q->data.M, N = q->data.N;
    size_t mm = (size_t)M * M;
    if (gZ) {
        memset(gZ, 0, sizeof(double) * mm);
        memset(gV, 0, sizeof(double) * mm);
        memset(gQ, 0, sizeof(double) * mm);
    }
    int *ctx = (int *)(scratch + 3 * M);
    double sum = 0.0;
    for (int s = 0; s < N; s++) {
        const double *x = q->data.X + (size_t)s * M;
        int c = 0;
        for (int l = 0; l < M; l++)
            if (x[l] > 0)
                ctx[c++] = l;
        sum += q_sequence(M, x, ctx, c, q->query[s], q->data.label[s], Z, V, Q, T, 1.0 / N, gZ, gV, gQ, scratch,
                          scratch + M, scratch + 2 * M);
    }
    return sum / N;
}

double ac_joma_hblt_q_loss(const ac_joma_hblt_qtask *q, const double *Z, const double *V, const double *Q,
                           double T, double *gZ, double *gV, double *gQ)
{
    if (!qtask_in_range(q))
        return NAN;
    double *scratch = malloc(sizeof(double) * 4 * (size_t)q->data.M);
    if (!scratch)
        return NAN;
    int grad = gZ && gV && gQ;
    double L = q_loss(q, Z, V, Q, T, grad ? gZ : NULL, gV, gQ, scratch);
    free(scratch);
    return L;
}

struct ac_joma_hblt_q_trainer {
    int M;
    const ac_joma_hblt_qtask *q;
    ac_joma_hblt_q_settings s;
    double *P;            /* Z, V, Q: 3 M^2 */
    double *G;            /* their gradient: 3 M^2 */
    double *scratch;      /* 4 M */
    ac_train_info info;
    int ready;
};

ac_joma_hblt_q_trainer *ac_joma_hblt_q_trainer_alloc(int M)
{
    if (M < 1)
        return NULL;
    ac_joma_hblt_q_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    size_t mm = (size_t)M * M;
    tr->M = M;
    tr->P = malloc(sizeof(double) * 3 * mm);
    tr->G = malloc(sizeof(double) * 3 * mm);
    tr->scratch = malloc(sizeof(double) * 4 * (size_t)M);
    if (!tr->P || !tr->G || !tr->scratch) {
        ac_joma_hblt_q_trainer_free(tr);
        return NULL;
    }
    return tr;
}

void ac_joma_hblt_q_trainer_free(ac_joma_hblt_q_trainer *tr)
{
    if (!tr)
        return;
    free(tr->P);
    free(tr->G);
    free(tr->scratch);
    free(tr);
}

ac_status ac_joma_hblt_q_trainer_set(ac_joma_hblt_q_trainer *tr, const ac_joma_hblt_qtask *q,
                                     const ac_joma_hblt_q_settings *s, const double *Z0, const double *V0,
                                     const double *Q0, ac_msg *msg)
{
    tr->ready = 0;
    const char *why = ac_joma_hblt_q_settings_check(s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "%s", why);
    if (q->data.M != tr->M || q->data.K != tr->M || q->data.N < 1)
        return ac_fail(msg, AC_ESIZE, "query block: a task of %d tokens, %d outputs and %d sequences for a "
                       "workspace of %d tokens", q->data.M, q->data.K, q->data.N, tr->M);
    if (!qtask_in_range(q))
        return ac_fail(msg, AC_EINVAL, "query block: a query or label outside [0, %d)", tr->M);
    size_t mm = (size_t)tr->M * tr->M;
    const double *start[3] = {Z0, V0, Q0};
    for (int p = 0; p < 3; p++)
        for (size_t j = 0; j < mm; j++) {
            double v = start[p] ? start[p][j] : 0.0;
            if (!isfinite(v))
                return ac_fail(msg, AC_EINVAL, "query block: start entry %zu of %s is not finite", j,
                               p == 0 ? "Z" : p == 1 ? "V" : "Q");
            tr->P[p * mm + j] = v;
        }
    tr->q = q;
    tr->s = *s;
    tr->info = (ac_train_info){AC_TRAIN_RUNNING, 0, NAN, NAN, NAN, 0.0};
    tr->ready = 1;
    return AC_OK;
}

ac_status ac_joma_hblt_q_trainer_iterate(ac_joma_hblt_q_trainer *tr)
{
    if (!tr->ready)
        return AC_EINVAL;
    ac_train_info *in = &tr->info;
    if (in->outcome != AC_TRAIN_RUNNING)
        return AC_OK;
    double t0 = ac_clock();
    size_t mm = (size_t)tr->M * tr->M;
    double L = q_loss(tr->q, tr->P, tr->P + mm, tr->P + 2 * mm, tr->s.T, tr->G, tr->G + mm, tr->G + 2 * mm,
                      tr->scratch);
    double gn = 0.0;
    for (size_t j = 0; j < 3 * mm; j++)
        gn += tr->G[j] * tr->G[j];
    gn = sqrt(gn);
    if (in->steps == 0)
        in->loss0 = L;
    in->loss = L;
    in->grad_norm = gn;
    int finite = isfinite(L) && isfinite(gn) && L <= tr->s.diverge_factor * fmax(1.0, in->loss0);
    /* the step into G, kept only when every entry is finite */
    for (size_t j = 0; j < 3 * mm && finite; j++) {
        tr->G[j] = tr->P[j] - tr->s.lr * tr->G[j];
        finite = isfinite(tr->G[j]);
    }
    if (!finite) {
        in->outcome = AC_TRAIN_DIVERGED; /* the last finite iterate stays */
    } else {
        double *t = tr->P;
        tr->P = tr->G, tr->G = t;
        in->steps++;
        if (in->steps >= tr->s.steps)
            in->outcome = AC_TRAIN_STEP_LIMIT;
    }
    in->seconds += ac_clock() - t0;
    return AC_OK;
}

ac_train_outcome ac_joma_hblt_q_trainer_test(const ac_joma_hblt_q_trainer *tr)
{
    return tr->info.outcome;
}

ac_train_outcome ac_joma_hblt_q_trainer_run(ac_joma_hblt_q_trainer *tr, long steps)
{
    while (tr->ready && tr->info.outcome == AC_TRAIN_RUNNING && tr->info.steps < steps)
        ac_joma_hblt_q_trainer_iterate(tr);
    return tr->info.outcome;
}

const double *ac_joma_hblt_q_trainer_Z(const ac_joma_hblt_q_trainer *tr)
{
    return tr->P;
}

const double *ac_joma_hblt_q_trainer_V(const ac_joma_hblt_q_trainer *tr)
{
    return tr->P + (size_t)tr->M * tr->M;
}

const double *ac_joma_hblt_q_trainer_Q(const ac_joma_hblt_q_trainer *tr)
{
    return tr->P + 2 * (size_t)tr->M * tr->M;
}

const ac_train_info *ac_joma_hblt_q_trainer_info(const ac_joma_hblt_q_trainer *tr)
{
    return &tr->info;
}
