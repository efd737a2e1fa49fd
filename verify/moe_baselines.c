/* Baselines of the tabular experiment (spec cbow_moe §3.4): one-hot
 * logistic regression and a one-hidden-layer MLP.  See
 * verify/moe_baselines.h. */
#include "verify/moe_baselines.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h> /* cblas_dgemm from OpenBLAS through GSL's declarations */
#include <gsl/gsl_randist.h>

int ac_moe_onehot_width(int L, int ncat) { return (L - 1) * (ncat - 1); }

/* The active one-hot columns of row x: feature j with category c >= 1 is
 * column j (ncat - 1) + c - 1 (category 0 dropped).  Returns how many. */
static int active(const int *x, int L, int ncat, int *idx)
{
    int m = 0;
    for (int j = 0; j < L - 1; j++)
        if (x[j] > 0)
            idx[m++] = j * (ncat - 1) + x[j] - 1;
    return m;
}

void ac_moe_tab_score(const ac_moe_tab *t, const int *pred, double *acc, double *mse)
{
    double ok = 0.0, se = 0.0;
    for (int r = 0; r < t->n; r++) {
        int y = t->X[(size_t)r * t->L + t->L - 1];
        ok += pred[r] == y;
        se += (double)(pred[r] - y) * (pred[r] - y);
    }
    *acc = t->n ? ok / t->n : NAN;
    *mse = t->n ? se / t->n : NAN;
}

/* Log-sum-exp softmax of z (K) in place; returns log sum exp z. */
static double softmax(double *z, int K)
{
    double mx = -INFINITY, sum = 0.0;
    for (int k = 0; k < K; k++)
        mx = z[k] > mx ? z[k] : mx;
    for (int k = 0; k < K; k++)
        sum += (z[k] = exp(z[k] - mx));
    for (int k = 0; k < K; k++)
        z[k] /= sum;
    return mx + log(sum);
}

static int argmax(const double *z, int K)
{
    int best = 0;
    for (int k = 1; k < K; k++)
        if (z[k] > z[best])
            best = k;
    return best;
}

static ac_status check_tab(const ac_moe_tab *t, int L, int ncat, ac_msg *msg)
{
    if (t->L != L || t->ncat != ncat)
        return ac_fail(msg, AC_EINVAL, "a table of %d cells of %d categories for a model of %d and %d",
                       t->L, t->ncat, L, ncat);
    if (t->n < 1)
        return ac_fail(msg, AC_EINVAL, "an empty table");
    for (size_t k = 0; k < (size_t)t->n * L; k++)
        if (t->X[k] < 0 || t->X[k] >= ncat)
            return ac_fail(msg, AC_EINVAL, "row %zu, cell %zu: category %d is outside 0..%d",
                           k / (size_t)L, k % (size_t)L, t->X[k], ncat - 1);
    return AC_OK;
}

/* ---- Logistic regression ---------------------------------------------------- */

void ac_moe_logreg_settings_default(ac_moe_logreg_settings *s)
{
    *s = (ac_moe_logreg_settings){.C = AC_MOE_LOGREG_C_DEFAULT,
                                  .eps_grad = AC_MOE_LOGREG_EPS_GRAD_DEFAULT,
                                  .max_iter = AC_MOE_LOGREG_MAX_ITER_DEFAULT};
}

const char *ac_moe_logreg_settings_check(const ac_moe_logreg_settings *s)
{
    if (!s)
        return "the settings are missing (NULL)";
    if (!(s->C > 0.0) || !isfinite(s->C))
        return "the inverse regularisation C must be positive and finite";
    if (!(s->eps_grad >= 0.0) || !isfinite(s->eps_grad))
        return "the gradient tolerance eps_grad must be finite and >= 0";
    if (s->max_iter < 0)
        return "the iteration limit max_iter is negative";
    return NULL;
}

ac_moe_logreg *ac_moe_logreg_alloc(int L, int ncat)
{
    if (L < 2 || ncat < 2 || L - 1 > AC_MOE_BASELINE_MAX_FEATURES || ncat > AC_MOE_BASELINE_MAX_CLASSES)
        return NULL;
    ac_moe_logreg *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->L = L;
    m->ncat = ncat;
    m->p = ac_moe_onehot_width(L, ncat);
    m->W = calloc((size_t)ncat * m->p + (size_t)ncat, sizeof(double));
    if (!m->W) {
        free(m);
        return NULL;
    }
    m->b = m->W + (size_t)ncat * m->p;
    return m;
}

void ac_moe_logreg_free(ac_moe_logreg *m)
{
    if (!m)
        return;
    free(m->W);
    free(m);
}

/* The header's objective at the parameters theta = (W, b). */
static double logreg_f(int L, int ncat, int p, const double *theta, const ac_moe_tab *t, double C,
                       double *g)
{
    const double *W = theta, *b = theta + (size_t)ncat * p;
    int idx[AC_MOE_BASELINE_MAX_FEATURES];
    double z[AC_MOE_BASELINE_MAX_CLASSES], f = 0.0, inv_n = 1.0 / t->n;
    size_t np = (size_t)ncat * (p + 1);
    if (g)
        memset(g, 0, np * sizeof(double));
    double *gb = g ? g + (size_t)ncat * p : NULL;
    for (int r = 0; r < t->n; r++) {
        const int *x = t->X + (size_t)r * L;
        int m = active(x, L, ncat, idx), y = x[L - 1];
        for (int k = 0; k < ncat; k++) {
            double acc = b[k];
            for (int a = 0; a < m; a++)
                acc += W[(size_t)k * p + idx[a]];
            z[k] = acc;
        }
        double zy = z[y];
        f += (softmax(z, ncat) - zy) * inv_n;
        if (g)
            for (int k = 0; k < ncat; k++) {
                double dz = (z[k] - (k == y)) * inv_n;
                gb[k] += dz;
                for (int a = 0; a < m; a++)
                    g[(size_t)k * p + idx[a]] += dz;
            }
    }
    double reg = 1.0 / (C * t->n);
    for (size_t k = 0; k < (size_t)ncat * p; k++) {
        f += 0.5 * reg * W[k] * W[k];
        if (g)
            g[k] += reg * W[k];
    }
    return f;
}

double ac_moe_logreg_objective(const ac_moe_logreg *m, const ac_moe_tab *train, double C, double *g)
{
    return logreg_f(m->L, m->ncat, m->p, m->W, train, C, g);
}

typedef struct {
    const ac_moe_logreg *m;
    const ac_moe_tab *t;
    double C;
} logreg_ctx;

static int logreg_fn(void *ctx, const double *x, double *f, double *g)
{
    logreg_ctx *c = ctx;
    *f = logreg_f(c->m->L, c->m->ncat, c->m->p, x, c->t, c->C, g);
    return 0;
}

ac_status ac_moe_logreg_fit(ac_moe_logreg *m, const ac_moe_tab *train, const ac_moe_logreg_settings *s,
                            ac_min_info *info, ac_msg *msg)
{
    const char *why = ac_moe_logreg_settings_check(s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "logistic regression settings: %s", why);
    if (m->ncat > AC_MOE_BASELINE_MAX_CLASSES || m->L - 1 > AC_MOE_BASELINE_MAX_FEATURES)
        return ac_fail(msg, AC_EINVAL, "logistic regression: more than %d classes or %d feature columns",
                       AC_MOE_BASELINE_MAX_CLASSES, AC_MOE_BASELINE_MAX_FEATURES);
    ac_status st = check_tab(train, m->L, m->ncat, msg);
    if (st)
        return st;
    int np = m->ncat * (m->p + 1);
    ac_min_workspace *w = ac_min_alloc(np);
    double *x0 = calloc((size_t)np, sizeof(double));
    if (!w || !x0) {
        ac_min_free(w);
        free(x0);
        return ac_fail(msg, AC_ENOMEM, "no memory for logistic regression");
    }
    ac_min_settings ms;
    ac_min_settings_default(&ms);
    ms.eps_grad = s->eps_grad;
    ms.max_iter = s->max_iter;
    logreg_ctx ctx = {.m = m, .t = train, .C = s->C};
    ac_min_info mi;
    st = ac_min_solve(w, logreg_fn, &ctx, x0, m->W, &ms, &mi, msg);
    if (info)
        *info = mi;
    ac_min_free(w);
    free(x0);
    return st;
}

ac_status ac_moe_logreg_predict(const ac_moe_logreg *m, const ac_moe_tab *t, int *pred, ac_msg *msg)
{
    ac_status st = check_tab(t, m->L, m->ncat, msg);
    if (st)
        return st;
    int idx[AC_MOE_BASELINE_MAX_FEATURES];
    double z[AC_MOE_BASELINE_MAX_CLASSES];
    for (int r = 0; r < t->n; r++) {
        int a = active(t->X + (size_t)r * m->L, m->L, m->ncat, idx);
        for (int k = 0; k < m->ncat; k++) {
            z[k] = m->b[k];
            for (int j = 0; j < a; j++)
                z[k] += m->W[(size_t)k * m->p + idx[j]];
        }
        pred[r] = argmax(z, m->ncat);
    }
    return AC_OK;
}

/* ---- MLP ---------------------------------------------------------------------- */

void ac_moe_mlp_settings_default(ac_moe_mlp_settings *s)
{
    *s = (ac_moe_mlp_settings){.hidden = AC_MOE_MLP_HIDDEN_DEFAULT,
                               .alpha = AC_MOE_MLP_ALPHA_DEFAULT,
                               .lr = AC_MOE_MLP_LR_DEFAULT,
                               .beta1 = 0.9,
                               .beta2 = 0.999,
                               .epsilon = AC_MOE_MLP_EPSILON_DEFAULT,
                               .batch = AC_MOE_MLP_BATCH_DEFAULT,
                               .max_epochs = AC_MOE_MLP_MAX_EPOCHS_DEFAULT,
                               .n_iter_no_change = AC_MOE_MLP_NO_CHANGE_DEFAULT,
                               .tol = AC_MOE_MLP_TOL_DEFAULT};
}

const char *ac_moe_mlp_settings_check(const ac_moe_mlp_settings *s)
{
    if (!s)
        return "the settings are missing (NULL)";
    if (s->hidden < 1)
        return "the MLP needs at least one hidden unit";
    if (!(s->alpha >= 0.0) || !isfinite(s->alpha))
        return "the L2 weight alpha must be finite and >= 0";
    if (!(s->lr > 0.0) || !isfinite(s->lr))
        return "the step size lr must be positive and finite";
    if (!(s->beta1 >= 0.0 && s->beta1 < 1.0) || !(s->beta2 >= 0.0 && s->beta2 < 1.0))
        return "Adam's beta1 and beta2 must lie in [0, 1)";
    if (!(s->epsilon > 0.0) || !isfinite(s->epsilon))
        return "Adam's epsilon must be positive and finite";
    if (s->batch < 1)
        return "the batch size must be at least 1";
    if (s->max_epochs < 0)
        return "the epoch limit max_epochs is negative";
    if (s->n_iter_no_change < 1)
        return "n_iter_no_change must be at least 1";
    if (!(s->tol >= 0.0) || !isfinite(s->tol))
        return "the stopping tolerance tol must be finite and >= 0";
    return NULL;
}

ac_moe_mlp *ac_moe_mlp_alloc(int L, int ncat, int hidden)
{
    if (L < 2 || ncat < 2 || hidden < 1 || ncat > AC_MOE_BASELINE_MAX_CLASSES || L - 1 > AC_MOE_BASELINE_MAX_FEATURES)
        return NULL;
    ac_moe_mlp *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->L = L, m->ncat = ncat, m->hidden = hidden, m->p = ac_moe_onehot_width(L, ncat);
    size_t h = (size_t)hidden, p = (size_t)m->p, K = (size_t)ncat;
    m->W1 = calloc(h * p + h + K * h + K, sizeof(double));
    if (!m->W1) {
        free(m);
        return NULL;
    }
    m->b1 = m->W1 + h * p;
    m->W2 = m->b1 + h;
    m->b2 = m->W2 + K * h;
    return m;
}

void ac_moe_mlp_free(ac_moe_mlp *m)
{
    if (!m)
        return;
    free(m->W1);
    free(m);
}

size_t ac_moe_mlp_nparams(const ac_moe_mlp *m)
{
    return (size_t)m->hidden * m->p + m->hidden + (size_t)m->ncat * m->hidden + m->ncat;
}

/* Forward pass of rows[0..nb) into the hidden activations A (nb x h) and
 * the class probabilities Z (nb x K); returns the summed cross-entropy.
 * The first layer on one-hot rows is a sum of W1's columns. */
static double mlp_forward(const ac_moe_mlp *m, const ac_moe_tab *t, int nb, const int *rows, double *A,
                          double *Z)
{
    int h = m->hidden, K = m->ncat, p = m->p, L = m->L;
    int idx[AC_MOE_BASELINE_MAX_FEATURES];
    for (int k = 0; k < nb; k++) {
        const int *x = t->X + (size_t)(rows ? rows[k] : k) * L;
        int a = active(x, L, K, idx);
        double *ak = A + (size_t)k * h;
        for (int u = 0; u < h; u++) {
            double acc = m->b1[u];
            for (int j = 0; j < a; j++)
                acc += m->W1[(size_t)u * p + idx[j]];
            ak[u] = acc > 0.0 ? acc : 0.0;
        }
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, K, h, 1.0, A, h, m->W2, h, 0.0, Z, K);
    double total = 0.0;
    for (int k = 0; k < nb; k++) {
        const int *x = t->X + (size_t)(rows ? rows[k] : k) * L;
        double *z = Z + (size_t)k * K;
        for (int c = 0; c < K; c++)
            z[c] += m->b2[c];
        double zy = z[x[L - 1]];
        total += softmax(z, K) - zy;
    }
    return total;
}

/* Loss and gradient of a batch (header of ac_moe_mlp_loss), with work
 * arrays A (nb x h), Z (nb x K), dA (nb x h). */
static double mlp_loss_grad(const ac_moe_mlp *m, const ac_moe_tab *t, int nb, const int *rows,
                            double alpha, double *A, double *Z, double *dA, double *g)
{
    int h = m->hidden, K = m->ncat, p = m->p, L = m->L;
    double loss = mlp_forward(m, t, nb, rows, A, Z) / nb;
    double w2 = 0.0;
    size_t n1 = (size_t)h * p, n2 = (size_t)K * h;
    for (size_t k = 0; k < n1; k++)
        w2 += m->W1[k] * m->W1[k];
    for (size_t k = 0; k < n2; k++)
        w2 += m->W2[k] * m->W2[k];
    loss += 0.5 * alpha * w2 / nb;
    if (!g)
        return loss;
    double *gW1 = g, *gb1 = g + n1, *gW2 = gb1 + h, *gb2 = gW2 + n2;
    memset(g, 0, ac_moe_mlp_nparams(m) * sizeof(double));
    /* dZ = (softmax - e_y) / nb, in place. */
    for (int k = 0; k < nb; k++) {
        const int *x = t->X + (size_t)(rows ? rows[k] : k) * L;
        double *z = Z + (size_t)k * K;
        z[x[L - 1]] -= 1.0;
        for (int c = 0; c < K; c++) {
            z[c] /= nb;
            gb2[c] += z[c];
        }
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, h, nb, 1.0, Z, K, A, h, 0.0, gW2, h);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, h, K, 1.0, Z, K, m->W2, h, 0.0, dA, h);
    int idx[AC_MOE_BASELINE_MAX_FEATURES];
    for (int k = 0; k < nb; k++) {
        const int *x = t->X + (size_t)(rows ? rows[k] : k) * L;
        int a = active(x, L, K, idx);
        const double *ak = A + (size_t)k * h, *dk = dA + (size_t)k * h;
        for (int u = 0; u < h; u++) {
            if (ak[u] <= 0.0)
                continue;
            gb1[u] += dk[u];
            for (int j = 0; j < a; j++)
                gW1[(size_t)u * p + idx[j]] += dk[u];
        }
    }
    for (size_t k = 0; k < n1; k++)
        gW1[k] += alpha * m->W1[k] / nb;
    for (size_t k = 0; k < n2; k++)
        gW2[k] += alpha * m->W2[k] / nb;
    return loss;
}

double ac_moe_mlp_loss(const ac_moe_mlp *m, const ac_moe_tab *t, int nb, const int *rows, double alpha,
                       double *g)
{
    double *A = malloc((size_t)nb * m->hidden * sizeof(double)),
           *Z = malloc((size_t)nb * m->ncat * sizeof(double)),
           *dA = malloc((size_t)nb * m->hidden * sizeof(double));
    double loss = NAN;
    if (A && Z && dA)
        loss = mlp_loss_grad(m, t, nb, rows, alpha, A, Z, dA, g);
    free(A);
    free(Z);
    free(dA);
    return loss;
}

ac_status ac_moe_mlp_fit(ac_moe_mlp *m, const ac_moe_tab *train, const ac_moe_mlp_settings *s,
                         gsl_rng *r, ac_train_info *info, ac_msg *msg)
{
    const char *why = ac_moe_mlp_settings_check(s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "MLP settings: %s", why);
    if (s->hidden != m->hidden)
        return ac_fail(msg, AC_EINVAL, "MLP settings: %d hidden units for a model of %d", s->hidden,
                       m->hidden);
    ac_status st = check_tab(train, m->L, m->ncat, msg);
    if (st)
        return st;
    int n = train->n, B = s->batch < n ? s->batch : n, h = m->hidden;
    size_t np = ac_moe_mlp_nparams(m);
    double *g = malloc(np * sizeof(double)), *mo = calloc(np, sizeof(double)),
           *va = calloc(np, sizeof(double)), *keep = malloc(np * sizeof(double));
    double *A = malloc((size_t)B * h * sizeof(double)), *Z = malloc((size_t)B * m->ncat * sizeof(double)),
           *dA = malloc((size_t)B * h * sizeof(double));
    int *order = malloc((size_t)n * sizeof(int));
    if (!g || !mo || !va || !keep || !A || !Z || !dA || !order) {
        st = ac_fail(msg, AC_ENOMEM, "no memory for the MLP");
        goto done;
    }
    /* sklearn's init: U(+-sqrt(6 / (fan_in + fan_out))) for weights and biases. */
    double l1 = sqrt(6.0 / (m->p + h)), l2 = sqrt(6.0 / (h + m->ncat));
    for (size_t k = 0; k < (size_t)h * m->p + h; k++)
        m->W1[k] = gsl_ran_flat(r, -l1, l1);
    for (size_t k = 0; k < (size_t)m->ncat * h + m->ncat; k++)
        m->W2[k] = gsl_ran_flat(r, -l2, l2);
    for (int k = 0; k < n; k++)
        order[k] = k;
    *info = (ac_train_info){.outcome = AC_TRAIN_RUNNING, .loss = NAN, .loss0 = NAN, .grad_norm = NAN};
    double t0 = ac_clock(), best = INFINITY, b1t = 1.0, b2t = 1.0;
    int no_change = 0;
    while (info->outcome == AC_TRAIN_RUNNING) {
        if (info->steps >= s->max_epochs) {
            info->outcome = AC_TRAIN_STEP_LIMIT;
            break;
        }
        memcpy(keep, m->W1, np * sizeof(double));
        gsl_ran_shuffle(r, order, (size_t)n, sizeof(int));
        double acc = 0.0;
        for (int k0 = 0; k0 < n; k0 += B) {
            int nb = n - k0 < B ? n - k0 : B;
            double loss = mlp_loss_grad(m, train, nb, order + k0, s->alpha, A, Z, dA, g);
            acc += loss * nb;
            /* sklearn's Adam: lr_t = lr sqrt(1 - b2^t) / (1 - b1^t),
             * w -= lr_t m / (sqrt(v) + eps). */
            b1t *= s->beta1;
            b2t *= s->beta2;
            double lt = s->lr * sqrt(1.0 - b2t) / (1.0 - b1t);
            ac_adam_folded(np, m->W1, g, s->beta1, s->beta2, lt, s->epsilon, mo, va, m->W1);
        }
        double epoch_loss = acc / n;
        if (!isfinite(epoch_loss)) {
            memcpy(m->W1, keep, np * sizeof(double));
            info->outcome = AC_TRAIN_DIVERGED;
            break;
        }
        info->steps++;
        info->loss = epoch_loss;
        if (info->steps == 1)
            info->loss0 = epoch_loss;
        /* sklearn's _update_no_improvement_count. */
        if (epoch_loss > best - s->tol)
            no_change++;
        else
            no_change = 0;
        if (epoch_loss < best)
            best = epoch_loss;
        if (no_change > s->n_iter_no_change)
            info->outcome = AC_TRAIN_CONVERGED;
    }
    info->seconds = ac_clock() - t0;
done:
    free(g);
    free(mo);
    free(va);
    free(keep);
    free(A);
    free(Z);
    free(dA);
    free(order);
    return st;
}

ac_status ac_moe_mlp_predict(const ac_moe_mlp *m, const ac_moe_tab *t, int *pred, ac_msg *msg)
{
    ac_status st = check_tab(t, m->L, m->ncat, msg);
    if (st)
        return st;
    double *A = malloc((size_t)m->hidden * sizeof(double)), *Z = malloc((size_t)m->ncat * sizeof(double));
    if (!A || !Z) {
        free(A);
        free(Z);
        return ac_fail(msg, AC_ENOMEM, "no memory");
    }
    for (int r = 0; r < t->n; r++) {
        mlp_forward(m, t, 1, &r, A, Z);
        pred[r] = argmax(Z, m->ncat);
    }
    free(A);
    free(Z);
    return AC_OK;
}
