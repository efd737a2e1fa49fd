/* Blocked Gibbs for the attention-paths network (see paths_gibbs.h; spec
 * attention_paths §1, §2, §6). */
#include "verify/paths_gibbs.h"

#include <float.h>
#include <gsl/gsl_cblas.h> /* gsl_randist.h pulls it in; same cblas_* symbols (OpenBLAS) */
#include <gsl/gsl_randist.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "verify/trial.h"

struct ac_paths_gibbs {
    ac_paths_gibbs_settings s;
    int L, np, P, Pt, M, N0;   /* M = P + Pt rows in the forward pass */
    int n[AC_PATHS_MAX_LAYERS + 1];
    double c[AC_PATHS_MAX_LAYERS + 1], ca;
    size_t off[AC_PATHS_MAX_LAYERS + 1]; /* V_l's offset in a state (l = 0: V_0) */
    size_t ssize;
    int *head;                /* head[pi L + l - 1] = h_l(pi) */
    double *Y;                /* P */
    double *R[AC_PATHS_MAX_LAYERS + 2]; /* R_l: np x M x n_{l-1} (R_0: x N0), l = 0..L+1 */
    double *Lam[AC_PATHS_MAX_LAYERS + 1]; /* Lambda_l: np x n_l */
    double *state;            /* chains x ssize */
    double *f;                /* M, scratch */
    /* The chain and row count whose forward pass R_1..R_{L+1} and f now
     * hold (fwd_chain -1: none; stale once a block of that chain moves). */
    int fwd_chain, fwd_rows;
    /* block scratch */
    double *G, *resid, *alpha, *theta0, *Lg, *Ck, *tk, *sk;
    double *Ev, *mu;          /* Lg's eigenvectors (np x np, column-major) and eigenvalues (np) */
    double *syev_work;        /* dsyev's workspace (syev_lwork), sized once by its query */
    int syev_lwork;
    double *Gp, *cpair;       /* V_0 block: J J^T packed (as Cpk) and the pairs' coefficients */
    /* Pre-kernels of the V_0 block (NULL when unused): for each pair of
     * paths a <= b, the upper triangle packed by rows (theory/paths.h
     * ac_paths_packed_row: the triangle G is factored in) of
     * R0_a R0_b^T (a = b) or R0_a R0_b^T + R0_b R0_a^T (a < b), R0_a the
     * training rows of R_0 for path a (P x N0).  R_0 is the data, fixed
     * after set, so J J^T of the V_0 block is sum_{a<=b} Lg_ab C_ab: O(H^L^2
     * P^2) per sweep instead of O(H^L P^2 N0) (theory/paths.h's rule). */
    double *Cpk;
    size_t max_block;
    int max_q;
    /* records */
    double *rec_f;            /* chains x keep x Pt */
    double *rec_u;            /* chains x keep x np^2 */
    double *rec_loss;         /* chains */
    long sweeps, kept;
    int ready;
    ac_train_outcome outcome;
    double seconds;
};

void ac_paths_gibbs_settings_default(ac_paths_gibbs_settings *s)
{
    ac_paths_settings_default(&s->net);
    s->chains = AC_PATHS_GIBBS_CHAINS_DEFAULT;
    s->burn = AC_PATHS_GIBBS_BURN_DEFAULT;
    s->keep = AC_PATHS_GIBBS_KEEP_DEFAULT;
    s->blocks = AC_PATHS_GIBBS_ALL_BLOCKS;
}

const char *ac_paths_gibbs_settings_check(const ac_paths_gibbs_settings *s)
{
    if (!s)
        return "gibbs settings: NULL";
    const char *why = ac_paths_settings_check(&s->net);
    if (why)
        return why;
    for (int l = 0; l <= s->net.L; l++) {
        double v = s->net.n[l];
        if (v != floor(v) || v < 1 || v > AC_PATHS_GIBBS_MAX_WIDTH) {
            /* which width: a task's widths differ by layer */
            static _Thread_local char why_n[128]; /* a library user's threads each get theirs */
            snprintf(why_n, sizeof why_n, "gibbs settings: width n[%d] = %.6g must be an integer in 1..%d", l, v,
                     AC_PATHS_GIBBS_MAX_WIDTH);
            return why_n;
        }
    }
    if (s->chains < 1)
        return "gibbs settings: chains must be >= 1";
    if (s->burn < 0)
        return "gibbs settings: burn must be >= 0";
    if (s->keep < 4)
        return "gibbs settings: keep must be >= 4 (split R-hat needs two halves of 2)";
    unsigned all = AC_PATHS_GIBBS_BLOCK_A | AC_PATHS_GIBBS_BLOCK_V0;
    for (int l = 1; l <= s->net.L; l++)
        all |= AC_PATHS_GIBBS_BLOCK_V(l);
    if (!(s->blocks & all))
        return "gibbs settings: blocks selects no block of this network";
    return NULL;
}

/* Layout of one state: a, V_0, V_1^1..V_1^{H_1}, ..., V_L^{H_L}. */
static size_t layout(const ac_paths_settings *net, int N0, size_t *off)
{
    size_t o = (size_t)net->n[net->L];
    off[0] = o;
    o += (size_t)net->n[0] * N0;
    for (int l = 1; l <= net->L; l++) {
        off[l] = o;
        o += (size_t)net->H[l - 1] * (size_t)net->n[l] * (size_t)net->n[l - 1];
    }
    return o;
}

size_t ac_paths_gibbs_state_size(const ac_paths_gibbs_settings *s, int N0)
{
    size_t off[AC_PATHS_MAX_LAYERS + 1];
    return layout(&s->net, N0, off);
}

void ac_paths_gibbs_free(ac_paths_gibbs *g)
{
    if (!g)
        return;
    free(g->head);
    free(g->Y);
    for (int l = 0; l <= AC_PATHS_MAX_LAYERS + 1; l++)
        free(g->R[l]);
    for (int l = 0; l <= AC_PATHS_MAX_LAYERS; l++)
        free(g->Lam[l]);
    free(g->state);
    free(g->f);
    free(g->G);
    free(g->resid);
    free(g->alpha);
    free(g->theta0);
    free(g->Lg);
    free(g->Ev);
    free(g->mu);
    free(g->syev_work);
    free(g->Gp);
    free(g->cpair);
    free(g->Ck);
    free(g->tk);
    free(g->sk);
    free(g->Cpk);
    free(g->rec_f);
    free(g->rec_u);
    free(g->rec_loss);
    free(g);
}

ac_paths_gibbs *ac_paths_gibbs_alloc(const ac_paths_gibbs_settings *s, int P, int Pt, int N0)
{
    if (ac_paths_gibbs_settings_check(s) || P < 1 || Pt < 0 || N0 < 1 ||
        (double)(P + Pt) * N0 > 2e9)
        return NULL;
    /* The records take chains keep (Pt + (H^L)^2) doubles, sized in size_t:
     * a product past SIZE_MAX would wrap to a small block that the sweeps
     * then overrun (keep = 2^59 wrapped rec_u to 0 bytes). */
    double npaths = ac_paths_count(&s->net);
    if ((double)s->chains * (double)s->keep * ((double)Pt + npaths * npaths) >
        (double)SIZE_MAX / (2 * sizeof(double)))
        return NULL;
    ac_paths_gibbs *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->s = *s;
    g->L = s->net.L;
    g->np = ac_paths_count(&s->net);
    g->P = P, g->Pt = Pt, g->M = P + Pt, g->N0 = N0;
    g->fwd_chain = -1;
    for (int l = 0; l <= g->L; l++)
        g->n[l] = (int)s->net.n[l];
    g->c[0] = 1.0 / sqrt((double)N0);
    for (int l = 1; l <= g->L; l++)
        g->c[l] = 1.0 / sqrt((double)s->net.H[l - 1] * g->n[l - 1]);
    g->ca = 1.0 / sqrt((double)g->n[g->L]);
    g->ssize = layout(&s->net, N0, g->off);
    int np = g->np, L = g->L, M = g->M;
    int ok = 1;
    g->head = malloc(sizeof(int) * (size_t)np * L);
    ok &= g->head != NULL;
    for (int pi = 0; ok && pi < np; pi++) {
        int rest = pi;
        for (int l = L; l >= 1; l--) { /* h_L least significant */
            g->head[pi * L + l - 1] = rest % s->net.H[l - 1];
            rest /= s->net.H[l - 1];
        }
    }
    g->Y = malloc(sizeof(double) * (size_t)P);
    g->R[0] = malloc(sizeof(double) * (size_t)np * M * N0);
    ok &= g->Y && g->R[0];
    g->max_q = N0;
    g->max_block = (size_t)g->n[0] * N0;
    for (int l = 1; l <= L + 1; l++) {
        g->R[l] = malloc(sizeof(double) * (size_t)np * M * g->n[l - 1]);
        ok &= g->R[l] != NULL;
        if (g->n[l - 1] > g->max_q)
            g->max_q = g->n[l - 1];
    }
    for (int l = 1; l <= L; l++) {
        size_t b = (size_t)s->net.H[l - 1] * g->n[l] * g->n[l - 1];
        if (b > g->max_block)
            g->max_block = b;
    }
    if ((size_t)g->n[L] > g->max_block)
        g->max_block = (size_t)g->n[L];
    for (int l = 0; l <= L; l++) {
        g->Lam[l] = malloc(sizeof(double) * (size_t)np * g->n[l]);
        ok &= g->Lam[l] != NULL;
    }
    g->state = malloc(sizeof(double) * (size_t)s->chains * g->ssize);
    g->f = malloc(sizeof(double) * (size_t)M);
    g->G = malloc(sizeof(double) * (size_t)P * P);
    g->resid = malloc(sizeof(double) * (size_t)P);
    g->alpha = malloc(sizeof(double) * (size_t)P);
    g->theta0 = malloc(sizeof(double) * g->max_block);
    g->Lg = malloc(sizeof(double) * (size_t)np * np);
    g->Ev = malloc(sizeof(double) * (size_t)np * np);
    g->mu = malloc(sizeof(double) * (size_t)np);
    g->Ck = malloc(sizeof(double) * (size_t)P * g->max_q);
    g->tk = malloc(sizeof(double) * (size_t)np * g->max_q);
    g->sk = malloc(sizeof(double) * (size_t)g->max_q);
    g->rec_f = malloc(sizeof(double) * ((size_t)s->chains * s->keep * Pt + 1));
    g->rec_u = malloc(sizeof(double) * (size_t)s->chains * s->keep * np * np);
    g->rec_loss = malloc(sizeof(double) * (size_t)s->chains);
    ok &= g->state && g->f && g->G && g->resid && g->alpha && g->theta0 && g->Lg && g->Ev &&
          g->mu && g->Ck && g->tk && g->sk && g->rec_f && g->rec_u && g->rec_loss;
    double query = 0.0;
    if (ok && LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'V', 'L', np, g->Ev, np, g->mu, &query, -1) == 0) {
        g->syev_lwork = (int)query;
        g->syev_work = malloc(sizeof(double) * (size_t)(g->syev_lwork > 1 ? g->syev_lwork : 1));
    }
    ok &= g->syev_work != NULL;
    double npk = (double)np * (np + 1) / 2 * ((double)P * (P + 1) / 2);
    if (ok && ac_paths_keeps_prekernels(P, N0, np)) {
        g->Cpk = malloc(sizeof(double) * (size_t)npk);
        g->Gp = malloc(sizeof(double) * ((size_t)P * (P + 1) / 2));
        g->cpair = malloc(sizeof(double) * (size_t)np * (np + 1) / 2);
        ok &= g->Cpk && g->Gp && g->cpair;
    }
    if (!ok) {
        ac_paths_gibbs_free(g);
        return NULL;
    }
    return g;
}

/* The V_0 block's pre-kernels (layout above) from R_0's training rows, with
 * g->G as P x P scratch. */
static void prekernels(ac_paths_gibbs *g)
{
    int P = g->P, M = g->M, N0 = g->N0, np = g->np;
    size_t tri = (size_t)P * (P + 1) / 2;
    double *C = g->G, *out = g->Cpk;
    for (int a = 0; a < np; a++)
        for (int b = a; b < np; b++, out += tri) {
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, P, N0, 1.0,
                        g->R[0] + (size_t)a * M * N0, N0, g->R[0] + (size_t)b * M * N0, N0, 0.0,
                        C, P);
            for (int mu = 0; mu < P; mu++)
                for (int nu = mu; nu < P; nu++) {
                    double up = C[(size_t)mu * P + nu];
                    out[ac_paths_packed_row(P, mu) + (size_t)(nu - mu)] =
                        b == a ? up : up + C[(size_t)nu * P + mu];
                }
        }
}

ac_status ac_paths_gibbs_set(ac_paths_gibbs *g, const double *Phi, const double *Y,
                             const double *Phi_t, gsl_rng *r, ac_msg *msg)
{
    if (!g || !Phi || !Y || (g->Pt > 0 && !Phi_t) || !r)
        return ac_fail(msg, AC_EINVAL, "gibbs set: NULL argument");
    g->ready = 0; /* until the data are all read */
    g->fwd_chain = -1;
    int np = g->np, N0 = g->N0, M = g->M;
    /* xi = Phi sqrt(N0 H^L) / sigma_0 (the normalisation of ac_paths_phi). */
    double k = sqrt((double)N0 * np / g->s.net.sigma2[0]);
    for (int mu = 0; mu < M; mu++) {
        const double *src = mu < g->P ? Phi + (size_t)mu * N0 * np
                                      : Phi_t + (size_t)(mu - g->P) * N0 * np;
        for (int i = 0; i < N0; i++)
            for (int pi = 0; pi < np; pi++) {
                double v = src[(size_t)i * np + pi];
                if (!isfinite(v))
                    return ac_fail(msg, AC_EINVAL, "gibbs set: %s[%d, %d, %d] is not finite",
                                   mu < g->P ? "Phi" : "Phi_t", mu < g->P ? mu : mu - g->P, i,
                                   pi);
                g->R[0][((size_t)pi * M + mu) * N0 + i] = k * v;
            }
    }
    if (g->Cpk)
        prekernels(g);
    for (int mu = 0; mu < g->P; mu++) {
        if (!isfinite(Y[mu]))
            return ac_fail(msg, AC_EINVAL, "gibbs set: Y[%d] is not finite", mu);
        g->Y[mu] = Y[mu];
    }
    /* Prior draw: a ~ sigma_a, V_l ~ sigma_l. */
    for (int c = 0; c < g->s.chains; c++) {
        double *th = g->state + (size_t)c * g->ssize;
        for (size_t j = 0; j < g->ssize; j++) {
            double s2 = g->s.net.sigma2_a;
            if (j >= g->off[0]) {
                int l = 0;
                while (l < g->L && j >= g->off[l + 1])
                    l++;
                s2 = g->s.net.sigma2[l];
            }
            th[j] = gsl_ran_gaussian_ziggurat(r, sqrt(s2));
        }
    }
    g->sweeps = g->kept = 0;
    g->ready = 1;
    g->outcome = AC_TRAIN_RUNNING;
    g->seconds = 0.0;
    for (int c = 0; c < g->s.chains; c++)
        g->rec_loss[c] = NAN;
    return AC_OK;
}

ac_status ac_paths_gibbs_set_state(ac_paths_gibbs *g, int chain, const double *theta,
                                   ac_msg *msg)
{
    if (!g || !g->ready || chain < 0 || chain >= g->s.chains || !theta)
        return ac_fail(msg, AC_EINVAL, "gibbs set_state: chain %d outside 0..%d or no set",
                       chain, g ? g->s.chains - 1 : -1);
    if (g->sweeps > 0)
        return ac_fail(msg, AC_EINVAL, "gibbs set_state: %ld sweeps already taken", g->sweeps);
    for (size_t j = 0; j < g->ssize; j++)
        if (!isfinite(theta[j]))
            return ac_fail(msg, AC_EINVAL, "gibbs set_state: theta[%zu] is not finite", j);
    memcpy(g->state + (size_t)chain * g->ssize, theta, sizeof(double) * g->ssize);
    if (g->fwd_chain == chain)
        g->fwd_chain = -1;
    return AC_OK;
}

const double *ac_paths_gibbs_state(const ac_paths_gibbs *g, int chain)
{
    return g->state + (size_t)chain * g->ssize;
}

/* ---- Forward pass -------------------------------------------------------- */

/* V_l^h of state th (l = 0: V_0, h ignored). */
static double *vmat(const ac_paths_gibbs *g, double *th, int l, int h)
{
    if (l == 0)
        return th + g->off[0];
    return th + g->off[l] + (size_t)h * g->n[l] * g->n[l - 1];
}

/* R_{l+1}[pi] = c_l R_l[pi] V_l^{h_l(pi)}^T for l = 0..L, then f = c_a a .
 * sum_pi R_{L+1}[pi] (§1 read path by path), on the first `rows` examples
 * (P: the training rows the block updates need; M: the test rows too), for
 * th, the state of chain `chain` (recorded in fwd_chain, fwd_rows). */
static void forward(ac_paths_gibbs *g, double *th, int chain, int rows)
{
    g->fwd_chain = chain, g->fwd_rows = rows;
    int M = g->M;
    for (int l = 0; l <= g->L; l++) {
        int q = l == 0 ? g->N0 : g->n[l - 1], p = g->n[l];
        for (int pi = 0; pi < g->np; pi++) {
            const double *V = vmat(g, th, l, l == 0 ? 0 : g->head[pi * g->L + l - 1]);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, p, q, g->c[l],
                        g->R[l] + (size_t)pi * M * q, q, V, q, 0.0,
                        g->R[l + 1] + (size_t)pi * M * p, p);
        }
    }
    int na = g->n[g->L];
    memset(g->f, 0, sizeof(double) * (size_t)M);
    for (int pi = 0; pi < g->np; pi++)
        cblas_dgemv(CblasRowMajor, CblasNoTrans, rows, na, g->ca,
                    g->R[g->L + 1] + (size_t)pi * M * na, na, th, 1, 1.0, g->f, 1);
}

/* ---- One block ----------------------------------------------------------- */

/* The block is nmat matrices theta_h (p x q each, contiguous at th).  f on
 * the training rows is sum_pi left_pi^T theta_{hk(pi)} right_pi(mu), with
 * left_pi = lscale Lam[pi] (p entries; lam NULL: lscale itself, p = 1) and
 * right_pi(mu) = row mu of Rl[pi] (M x q).  Draw theta from its Gaussian
 * conditional by Matheron's rule (§6).  Returns 0, the dpotrf info, or -1
 * when dsyev failed on Lg. */
static int block_update(ac_paths_gibbs *g, double *th, int nmat, int p, int q, double sigma2,
                        const double *lam, double lscale, const double *Rl, int lay,
                        const double *pk, gsl_rng *r)
{
    int np = g->np, P = g->P, M = g->M;
    double T = g->s.net.T, sd = sqrt(sigma2);
    size_t bs = (size_t)nmat * p * q;
    double one = lscale;
    /* theta0 ~ N(0, sigma^2 I); resid = y - eps - J theta0 */
    for (size_t j = 0; j < bs; j++)
        g->theta0[j] = gsl_ran_gaussian_ziggurat(r, sd);
    double sdT = sqrt(T);
    for (int mu = 0; mu < P; mu++)
        g->resid[mu] = g->Y[mu] - gsl_ran_gaussian_ziggurat(r, sdT);
    for (int pi = 0; pi < np; pi++) {
        int h = lay > 0 ? g->head[pi * g->L + lay - 1] : 0;
        const double *left = lam ? lam + (size_t)pi * p : &one;
        double *t = g->tk + (size_t)pi * q;
        /* t = theta0_h^T left (q), scaled by lscale */
        cblas_dgemv(CblasRowMajor, CblasTrans, p, q, lam ? lscale : 1.0,
                    g->theta0 + (size_t)h * p * q, q, left, 1, 0.0, t, 1);
        cblas_dgemv(CblasRowMajor, CblasNoTrans, P, q, -1.0, Rl + (size_t)pi * M * q, q, t, 1,
                    1.0, g->resid, 1);
    }
    /* Lg[pi, pi'] = left_pi . left_pi' when both act on the same matrix. */
    for (int a = 0; a < np; a++)
        for (int b = 0; b < np; b++) {
            int ha = lay > 0 ? g->head[a * g->L + lay - 1] : 0;
            int hb = lay > 0 ? g->head[b * g->L + lay - 1] : 0;
            double v = 0.0;
            if (ha == hb)
                v = lam ? lscale * lscale * cblas_ddot(p, lam + (size_t)a * p, 1,
                                                       lam + (size_t)b * p, 1)
                        : lscale * lscale;
            g->Lg[a * np + b] = v;
        }
    /* G = T I + sigma^2 J J^T, J J^T = sum_{a} R_a (sum_b Lg_ab R_b)^T (train
     * rows), in its row-major upper triangle only: LAPACK's column-major
     * lower one, which dpotrf 'L' factors in place through LAPACKE's _work
     * call (no row-major copies in and out, no NaN scan, no allocation; as
     * theory/paths.c's factor, which says what that saves).  From the
     * pre-kernels pk when given: J J^T = sum_a Lg_aa C_aa + sum_{a<b} Lg_ab
     * (C_ab + C_ab^T), Lg symmetric. */
    if (pk) {
        /* one pass over the pre-kernels (where a daxpy per row and pair
         * made P np(np+1)/2 calls) */
        for (int a = 0, k = 0; a < np; a++)
            for (int b = a; b < np; b++, k++)
                g->cpair[k] = sigma2 * g->Lg[a * np + b];
        ac_paths_prekernel_sum(P, np * (np + 1) / 2, pk, g->cpair, g->Gp, g->G);
    }
    /* Without pre-kernels: Lg is a Gram matrix (positive semidefinite), Lg
     * = sum_j mu_j u_j u_j^T (LAPACK dsyev, np x np), so J J^T = sum_ab Lg_ab
     * R_a R_b^T = sum_j mu_j S_j S_j^T with S_j = sum_a u_j[a] R_a (P x q,
     * in Ck): one dsyrk per nonzero eigenvalue on the upper triangle, rank
     * Lg of them (1 on the readout block, where every path acts on a; at
     * most np on a V_l block) at P^2 q flops each, where the products R_a
     * (sum_b Lg_ab R_b)^T took 2 P^2 q for each of the np paths.
     * Eigenvalues below np eps of the largest are rounding of an exact
     * zero (a Gram matrix of rank < np) and are dropped.  dsyev in column
     * order on its own workspace (no LAPACKE copies or allocation; Lg is
     * symmetric, and eigenvector j is Ev's column j, contiguous); S_j by one
     * dgemv over the np matrices R_a (their training rows: P q contiguous
     * at stride M q); the first dsyrk overwrites G's triangle (beta 0). */
    if (!pk) {
        memcpy(g->Ev, g->Lg, sizeof(double) * (size_t)np * np);
        if (LAPACKE_dsyev_work(LAPACK_COL_MAJOR, 'V', 'L', np, g->Ev, np, g->mu, g->syev_work,
                               g->syev_lwork) != 0)
            return -1;
        double mmax = g->mu[np - 1], beta = 0.0; /* dsyev: ascending */
        for (int j = 0; j < np; j++) {
            if (!(g->mu[j] > np * DBL_EPSILON * mmax))
                continue;
            cblas_dgemv(CblasRowMajor, CblasTrans, np, P * q, 1.0, Rl, M * q,
                        g->Ev + (size_t)j * np, 1, 0.0, g->Ck, 1);
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, P, q, sigma2 * g->mu[j], g->Ck,
                        q, beta, g->G, P);
            beta = 1.0;
        }
        if (beta == 0.0) /* J = 0 */
            for (int mu = 0; mu < P; mu++)
                memset(g->G + (size_t)mu * P + mu, 0, sizeof(double) * (size_t)(P - mu));
    }
    for (int mu = 0; mu < P; mu++)
        g->G[(size_t)mu * P + mu] += T;
    int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', P, g->G, P);
    if (info != 0)
        return info;
    /* a NaN or infinity in G reaches its factor's diagonal (theory/paths.c) */
    for (int mu = 0; mu < P; mu++)
        if (!isfinite(g->G[(size_t)mu * P + mu]))
            return mu + 1;
    /* alpha = G^{-1} resid = L^{-T} L^{-1} resid, L column-major lower */
    memcpy(g->alpha, g->resid, sizeof(double) * (size_t)P);
    cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, P, g->G, P, g->alpha, 1);
    cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, P, g->G, P, g->alpha, 1);
    /* theta = theta0 + sigma^2 sum_pi left_pi (R_pi^T alpha)^T */
    for (int pi = 0; pi < np; pi++) {
        int h = lay > 0 ? g->head[pi * g->L + lay - 1] : 0;
        cblas_dgemv(CblasRowMajor, CblasTrans, P, q, 1.0, Rl + (size_t)pi * M * q, q, g->alpha,
                    1, 0.0, g->sk, 1);
        const double *left = lam ? lam + (size_t)pi * p : &one;
        cblas_dger(CblasRowMajor, p, q, sigma2 * (lam ? lscale : 1.0), left, 1, g->sk, 1,
                   g->theta0 + (size_t)h * p * q, q);
    }
    memcpy(th, g->theta0, sizeof(double) * bs);
    return 0;
}

/* Lambda_{l-1}[pi] = c_l V_l^{h_l(pi)T} Lambda_l[pi]. */
static void lambda_down(ac_paths_gibbs *g, double *th, int l)
{
    int p = g->n[l], q = g->n[l - 1];
    for (int pi = 0; pi < g->np; pi++) {
        const double *V = vmat(g, th, l, g->head[pi * g->L + l - 1]);
        cblas_dgemv(CblasRowMajor, CblasTrans, p, q, g->c[l], V, q, g->Lam[l] + (size_t)pi * p, 1,
                    0.0, g->Lam[l - 1] + (size_t)pi * q, 1);
    }
}

/* One sweep of chain `chain` (state th): a, V_L, ..., V_1, V_0.  Its
 * forward pass on the training rows is skipped when R and f already hold
 * this chain's at this state from a call with the same rows (the pass that
 * ended the previous iterate, when one chain runs and no test row is
 * recorded): the same calls on the same inputs, so the same bits.  Returns
 * 0 or dpotrf's info. */
static int sweep(ac_paths_gibbs *g, double *th, int chain, gsl_rng *r)
{
    const ac_paths_settings *net = &g->s.net;
    unsigned b = g->s.blocks;
    int L = g->L, info;
    if (g->fwd_chain != chain || g->fwd_rows != g->P)
        forward(g, th, chain, g->P);
    g->fwd_chain = -1; /* the blocks below move th */
    if (b & AC_PATHS_GIBBS_BLOCK_A) {
        info = block_update(g, th, 1, 1, g->n[L], net->sigma2_a, NULL, g->ca, g->R[L + 1], 0,
                            NULL, r);
        if (info)
            return info;
    }
    /* Lambda_L[pi] = c_a a */
    for (int pi = 0; pi < g->np; pi++)
        for (int j = 0; j < g->n[L]; j++)
            g->Lam[L][(size_t)pi * g->n[L] + j] = g->ca * th[j];
    for (int l = L; l >= 1; l--) {
        if (b & AC_PATHS_GIBBS_BLOCK_V(l)) {
            info = block_update(g, th + g->off[l], net->H[l - 1], g->n[l], g->n[l - 1],
                                net->sigma2[l], g->Lam[l], g->c[l], g->R[l], l, NULL, r);
            if (info)
                return info;
        }
        lambda_down(g, th, l);
    }
    if (b & AC_PATHS_GIBBS_BLOCK_V0) {
        info = block_update(g, th + g->off[0], 1, g->n[0], g->N0, net->sigma2[0], g->Lam[0],
                            g->c[0], g->R[0], 0, g->Cpk, r);
        if (info)
            return info;
    }
    return 0;
}

ac_status ac_paths_gibbs_iterate(ac_paths_gibbs *g, gsl_rng *r, ac_msg *msg)
{
    if (!g || !g->ready || !r)
        return ac_fail(msg, AC_EINVAL, "gibbs iterate: no data set");
    if (g->outcome != AC_TRAIN_RUNNING)
        return AC_OK;
    double t0 = ac_clock();
    int rec = g->sweeps >= g->s.burn;
    int np = g->np;
    for (int c = 0; c < g->s.chains; c++) {
        double *th = g->state + (size_t)c * g->ssize;
        if (sweep(g, th, c, r)) {
            g->outcome = AC_TRAIN_DIVERGED;
            break;
        }
        /* U_1 = H^L Lambda_0[pi] . Lambda_0[pi'] (W_pi = sqrt(H^L n_0)
         * Lambda_0[pi]); Lambda_0 is final: V_0 comes last. */
        if (rec) {
            double *u = g->rec_u + ((size_t)c * g->s.keep + g->kept) * np * np;
            for (int a = 0; a < np; a++)
                for (int bb = 0; bb < np; bb++)
                    u[a * np + bb] = np * cblas_ddot(g->n[0], g->Lam[0] + (size_t)a * g->n[0], 1,
                                                      g->Lam[0] + (size_t)bb * g->n[0], 1);
        }
        forward(g, th, c, rec ? g->M : g->P);
        double loss = 0.0;
        for (int mu = 0; mu < g->P; mu++)
            loss += (g->f[mu] - g->Y[mu]) * (g->f[mu] - g->Y[mu]);
        g->rec_loss[c] = loss / g->P;
        for (int m = 0; m < (rec ? g->M : g->P); m++)
            if (!isfinite(g->f[m]))
                g->outcome = AC_TRAIN_DIVERGED;
        if (rec && g->Pt > 0)
            memcpy(g->rec_f + ((size_t)c * g->s.keep + g->kept) * g->Pt, g->f + g->P,
                   sizeof(double) * (size_t)g->Pt);
    }
    g->sweeps++;
    if (rec && g->outcome == AC_TRAIN_RUNNING)
        g->kept++;
    if (g->outcome == AC_TRAIN_RUNNING && g->kept >= g->s.keep)
        g->outcome = AC_TRAIN_STEP_LIMIT;
    g->seconds += ac_clock() - t0;
    return AC_OK;
}

ac_train_outcome ac_paths_gibbs_test(const ac_paths_gibbs *g)
{
    return g->outcome;
}

ac_status ac_paths_gibbs_run(ac_paths_gibbs *g, gsl_rng *r, ac_msg *msg)
{
    ac_status st = AC_OK;
    while (st == AC_OK && g && g->ready && g->outcome == AC_TRAIN_RUNNING)
        st = ac_paths_gibbs_iterate(g, r, msg);
    if (!g || !g->ready)
        return ac_fail(msg, AC_EINVAL, "gibbs run: no data set");
    return st;
}

ac_status ac_paths_gibbs_predict(ac_paths_gibbs *g, int chain, double *ftr, double *fte)
{
    if (!g || !g->ready || chain < 0 || chain >= g->s.chains)
        return AC_EINVAL;
    forward(g, g->state + (size_t)chain * g->ssize, chain, g->M);
    if (ftr)
        memcpy(ftr, g->f, sizeof(double) * (size_t)g->P);
    if (fte && g->Pt > 0)
        memcpy(fte, g->f + g->P, sizeof(double) * (size_t)g->Pt);
    return AC_OK;
}

/* ---- Diagnostics --------------------------------------------------------- */

#define X(c, s) x[((size_t)(c) * n + (size_t)(s)) * stride]

void ac_paths_gibbs_rhat_ess(int chains, long n, const double *x, size_t stride, double *rhat,
                             double *ess)
{
    if (n < 4 || chains < 1) {
        *rhat = *ess = NAN;
        return;
    }
    long h = n / 2;
    int m = 2 * chains;
    double *mu = malloc(sizeof(double) * (size_t)m * 2);
    if (!mu) {
        *rhat = *ess = NAN;
        return;
    }
    double *var = mu + m;
    /* half j of chain c starts at draw c's 0 (j even) or n - h (j odd) */
#define START(j) ((j) % 2 ? n - h : 0)
    double W = 0.0, gm = 0.0;
    for (int j = 0; j < m; j++) {
        double s = 0.0;
        for (long t = 0; t < h; t++)
            s += X(j / 2, START(j) + t);
        mu[j] = s / h;
        /* a constant half has variance 0 exactly (its mean may round) */
        int constant = 1;
        for (long t = 1; t < h && constant; t++)
            constant = X(j / 2, START(j) + t) == X(j / 2, START(j));
        if (constant)
            mu[j] = X(j / 2, START(j));
        double v = 0.0;
        for (long t = 0; t < h && !constant; t++) {
            double d = X(j / 2, START(j) + t) - mu[j];
            v += d * d;
        }
        var[j] = v / (h - 1);
        W += var[j] / m;
        gm += mu[j] / m;
    }
    double B = 0.0; /* B / h */
    for (int j = 0; j < m; j++)
        B += (mu[j] - gm) * (mu[j] - gm);
    B = m > 1 ? B / (m - 1) : 0.0;
    int same = 1; /* equal means: B = 0 exactly (gm may round) */
    for (int j = 1; j < m; j++)
        same &= mu[j] == mu[0];
    if (same)
        B = 0.0;
    double vplus = (double)(h - 1) / h * W + B;
    double mh = (double)m * h;
    if (!(W > 0.0)) {
        *rhat = B > 0.0 ? INFINITY : 1.0;
        *ess = mh;
        free(mu);
        return;
    }
    *rhat = sqrt(vplus / W);
    /* rho_t from the halves' autocovariances (n denominators), Geyer's
     * initial positive, non-increasing sequence of pair sums. */
    double sum = 0.0, prev = INFINITY;
    for (long t = 0; t + 1 < h; t += 2) {
        double pair = 0.0;
        for (long u = t; u <= t + 1; u++) {
            double gam = 0.0;
            for (int j = 0; j < m; j++) {
                double a = 0.0;
                for (long k = 0; k + u < h; k++)
                    a += (X(j / 2, START(j) + k) - mu[j]) * (X(j / 2, START(j) + k + u) - mu[j]);
                gam += a / h / m;
            }
            pair += 1.0 - (W - gam) / vplus;
        }
        if (pair <= 0.0)
            break;
        if (pair > prev)
            pair = prev;
        prev = pair;
        sum += pair;
    }
#undef START
    double tau = -1.0 + 2.0 * sum;
    double e = tau > 0.0 ? mh / tau : mh;
    double cap = mh * log10(mh);
    *ess = e > cap ? cap : e;
    free(mu);
}

#undef X

ac_status ac_paths_gibbs_test_stats(const ac_paths_gibbs *g, double *mean, double *var,
                                    double *rhat, double *ess)
{
    long n = g->kept;
    int C = g->s.chains, Pt = g->Pt;
    if (n < 4 || n != g->s.keep)
        return AC_EINVAL;
    for (int m = 0; m < Pt; m++) {
        double s = 0.0, s2 = 0.0, tot = (double)C * n;
        for (int c = 0; c < C; c++)
            for (long t = 0; t < n; t++)
                s += g->rec_f[((size_t)c * g->s.keep + t) * Pt + m];
        s /= tot;
        for (int c = 0; c < C; c++)
            for (long t = 0; t < n; t++) {
                double d = g->rec_f[((size_t)c * g->s.keep + t) * Pt + m] - s;
                s2 += d * d;
            }
        if (mean)
            mean[m] = s;
        if (var)
            var[m] = s2 / (tot - 1);
        if (rhat || ess) {
            double rh, es;
            /* records are chains x keep x Pt; with kept == keep the chain
             * stride is n draws of Pt */
            ac_paths_gibbs_rhat_ess(C, n, g->rec_f + m, (size_t)Pt, &rh, &es);
            if (rhat)
                rhat[m] = rh;
            if (ess)
                ess[m] = es;
        }
    }
    return AC_OK;
}

ac_status ac_paths_gibbs_u1(const ac_paths_gibbs *g, double *U, double *rhat, double *ess)
{
    long n = g->kept;
    int C = g->s.chains, np2 = g->np * g->np;
    if (n < 4 || n != g->s.keep)
        return AC_EINVAL;
    for (int e = 0; e < np2; e++) {
        double s = 0.0;
        for (int c = 0; c < C; c++)
            for (long t = 0; t < n; t++)
                s += g->rec_u[((size_t)c * g->s.keep + t) * np2 + e];
        if (U)
            U[e] = s / ((double)C * n);
        double rh, es;
        ac_paths_gibbs_rhat_ess(C, n, g->rec_u + e, (size_t)np2, &rh, &es);
        if (rhat)
            rhat[e] = rh;
        if (ess)
            ess[e] = es;
    }
    return AC_OK;
}

ac_status ac_paths_gibbs_u1_sd(const ac_paths_gibbs *g, double *sd)
{
    long n = g->kept;
    int C = g->s.chains, np2 = g->np * g->np;
    if (n < 4 || n != g->s.keep)
        return AC_EINVAL;
    double tot = (double)C * n;
    for (int e = 0; e < np2; e++) {
        double s = 0.0, s2 = 0.0;
        for (int c = 0; c < C; c++)
            for (long t = 0; t < n; t++)
                s += g->rec_u[((size_t)c * g->s.keep + t) * np2 + e];
        s /= tot;
        for (int c = 0; c < C; c++)
            for (long t = 0; t < n; t++) {
                double d = g->rec_u[((size_t)c * g->s.keep + t) * np2 + e] - s;
                s2 += d * d;
            }
        sd[e] = sqrt(s2 / (tot - 1));
    }
    return AC_OK;
}

/* The worst R-hat and ESS go through ac_max_keep_nan / ac_min_keep_nan
 * (fmax and fmin drop a NaN): an R-hat or ESS that is NaN (a trace that
 * overflowed) must make its number not mixed. */

ac_status ac_paths_gibbs_info_get(const ac_paths_gibbs *g, ac_paths_gibbs_info *info)
{
    memset(info, 0, sizeof *info);
    info->train.outcome = g->outcome;
    info->train.steps = g->sweeps;
    info->train.loss0 = NAN;
    info->train.grad_norm = NAN;
    info->train.seconds = g->seconds;
    double loss = 0.0;
    for (int c = 0; c < g->s.chains; c++)
        loss += g->rec_loss[c] / g->s.chains;
    info->train.loss = loss;
    info->kept = g->kept;
    info->var_mean = (ac_paths_gibbs_stat){NAN, NAN, NAN, NAN};
    info->mean_rhat_max = info->mean_ess_min = NAN;
    info->u_rhat_max = info->u_ess_min = NAN;
    info->mixed = 0;
    if (g->kept < 4 || g->kept != g->s.keep)
        return AC_OK;
    long n = g->kept;
    int C = g->s.chains, Pt = g->Pt;
    int np2 = g->np * g->np;
    double *mean = malloc(sizeof(double) * ((size_t)Pt + 1));
    double *rh = malloc(sizeof(double) * ((size_t)(Pt > np2 ? Pt : np2) + 1));
    double *es = malloc(sizeof(double) * ((size_t)(Pt > np2 ? Pt : np2) + 1));
    double *q = malloc(sizeof(double) * (size_t)C * n);
    if (!mean || !rh || !es || !q) {
        free(mean), free(rh), free(es), free(q);
        return AC_ENOMEM;
    }
    int mixed = 1;
    if (Pt > 0) {
        ac_paths_gibbs_test_stats(g, mean, NULL, rh, es);
        info->mean_rhat_max = 0.0, info->mean_ess_min = INFINITY;
        for (int m = 0; m < Pt; m++) {
            info->mean_rhat_max = ac_max_keep_nan(info->mean_rhat_max, rh[m]);
            info->mean_ess_min = ac_min_keep_nan(info->mean_ess_min, es[m]);
        }
        /* the variance trace q_s = (1/Pt) sum_m (f_m(s) - mean_m)^2 */
        double tot = (double)C * n, s = 0.0;
        for (int c = 0; c < C; c++)
            for (long t = 0; t < n; t++) {
                const double *fs = g->rec_f + ((size_t)c * g->s.keep + t) * Pt;
                double a = 0.0;
                for (int m = 0; m < Pt; m++)
                    a += (fs[m] - mean[m]) * (fs[m] - mean[m]);
                q[(size_t)c * n + t] = a / Pt;
                s += a / Pt;
            }
        ac_paths_gibbs_stat *v = &info->var_mean;
        v->value = s / (tot - 1);
        ac_paths_gibbs_rhat_ess(C, n, q, 1, &v->rhat, &v->ess);
        double vq = 0.0;
        for (size_t j = 0; j < (size_t)C * n; j++)
            vq += (q[j] - s / tot) * (q[j] - s / tot);
        v->mcse = sqrt(vq / (tot - 1) / v->ess) * tot / (tot - 1);
        mixed &= info->mean_rhat_max < AC_PATHS_GIBBS_RHAT_OK &&
                 info->mean_ess_min >= AC_PATHS_GIBBS_ESS_OK && v->rhat < AC_PATHS_GIBBS_RHAT_OK &&
                 v->ess >= AC_PATHS_GIBBS_ESS_OK;
    }
    ac_paths_gibbs_u1(g, NULL, rh, es);
    info->u_rhat_max = 0.0, info->u_ess_min = INFINITY;
    for (int e = 0; e < np2; e++) {
        info->u_rhat_max = ac_max_keep_nan(info->u_rhat_max, rh[e]);
        info->u_ess_min = ac_min_keep_nan(info->u_ess_min, es[e]);
    }
    mixed &= info->u_rhat_max < AC_PATHS_GIBBS_RHAT_OK && info->u_ess_min >= AC_PATHS_GIBBS_ESS_OK;
    info->mixed = mixed;
    free(mean), free(rh), free(es), free(q);
    return AC_OK;
}
