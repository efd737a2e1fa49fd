/* The HBLT generator, its co-occurrence check and the learning task (spec
 * joma §3 item 4, §4.5); see the header. */
#include "verify/joma_hblt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* |f - p| / sqrt(p (1 - p) / N), the degenerate p = 0, 1 as in the header. */
static double zscore(double f, double p, int N)
{
    double v = p * (1.0 - p) / N;
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
        fit->zmax_marg = fmax(fit->zmax_marg, zscore(fm, ac_joma_hblt_marginal(h), N));
        for (int m = l + 1; m < n; m++) {
            double f = (double)cnt[(size_t)l * n + m] / N, p = ac_joma_hblt_cooccur(h, l, m);
            double z = zscore(f, p, N);
            if (z > fit->zmax_pair || (l == 0 && m == 1)) {
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

ac_status ac_joma_hblt_task(const ac_joma_hblt *h, int N, gsl_rng *r, ac_joma_data *D, ac_msg *msg)
{
    memset(D, 0, sizeof *D);
    ac_status st = ac_joma_hblt_check(h, msg);
    if (st != AC_OK)
        return st;
    int n = ac_joma_hblt_nleaves(h);
    if (N < 1 || !r)
        return ac_fail(msg, AC_EINVAL, "HBLT task: N = %d must be >= 1 and a generator given", N);
    st = ac_joma_data_init(D, N, n, n, msg);
    if (st != AC_OK)
        return st;
    unsigned char *y = malloc((size_t)n);
    int *tok = malloc(sizeof(int) * (size_t)n);
    if (!y || !tok) {
        free(y);
        free(tok);
        ac_joma_data_clear(D);
        return ac_fail(msg, AC_ENOMEM, "no memory for the HBLT task");
    }
    long draws = 0, limit = (long)AC_JOMA_HBLT_TASK_DRAWS_MAX * N;
    int kept = 0;
    while (kept < N && draws < limit) {
        draws++;
        ac_joma_hblt_sample(h, r, 1, y, NULL);
        int c = ac_joma_hblt_tokens(h, y, tok);
        if (c < 2)
            continue;
        int pick = (int)gsl_rng_uniform_int(r, (unsigned long)c);
        double *x = D->X + (size_t)kept * n;
        for (int k = 0; k < c; k++)
            if (k != pick)
                x[tok[k]] = 1.0 / (c - 1);
        D->label[kept] = tok[pick];
        D->Y[(size_t)kept * n + tok[pick]] = 1.0;
        kept++;
    }
    free(y);
    free(tok);
    if (kept < N) {
        ac_joma_data_clear(D);
        return ac_fail(msg, AC_EINVAL, "HBLT task: only %d of %d samples with two tokens in %ld draws", kept, N,
                       draws);
    }
    return AC_OK;
}/* Ranks 1..n of x, ties at their mean rank. */
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
