/* The Markov-chain task of spec attention_paths §4.1 (see paths_task.h). */
#include "verify/paths_task.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FEAT AC_PATHS_MARKOV_FEAT
#define SEQ AC_PATHS_MARKOV_SEQ
#define NTOK AC_PATHS_MARKOV_NTOK
#define N0 AC_PATHS_MARKOV_N0
/* torch's normal_fill works on blocks of 16 (8 Box-Muller pairs). */
#define TORCH_NORMAL_BLOCK 16
/* pi and sqrt 2 to double precision (C11 has no PI). */
#define PI 3.14159265358979323846
#define SQRT2 1.41421356237309504880

/* ---- torch's stream (header) ------------------------------------------- */

double ac_paths_torch_uniform(gsl_rng *r)
{
    /* torch random64(): two mt19937 words, the first the high half; the
     * float64 uniform keeps the low 53 bits. */
    unsigned long long a = gsl_rng_get(r) & 0xffffffffULL;
    unsigned long long b = gsl_rng_get(r) & 0xffffffffULL;
    unsigned long long w = ((a << 32) | b) & ((1ULL << 53) - 1);
    return (double)w * 0x1p-53;
}

/* Box-Muller on 16 uniforms u (in place into z, which may alias u). */
static void normal_block16(const double *u, double *z)
{
    double t[TORCH_NORMAL_BLOCK];
    memcpy(t, u, sizeof t);
    for (int j = 0; j < TORCH_NORMAL_BLOCK / 2; j++) {
        double rad = sqrt(-2.0 * log(1.0 - t[j]));
        double th = 2.0 * PI * t[j + TORCH_NORMAL_BLOCK / 2];
        z[j] = rad * cos(th);
        z[j + TORCH_NORMAL_BLOCK / 2] = rad * sin(th);
    }
}

ac_status ac_paths_torch_normal(gsl_rng *r, size_t n, double *z)
{
    if (n < TORCH_NORMAL_BLOCK)
        return AC_EINVAL;
    for (size_t i = 0; i < n; i++)
        z[i] = ac_paths_torch_uniform(r);
    for (size_t k = 0; k + TORCH_NORMAL_BLOCK <= n; k += TORCH_NORMAL_BLOCK)
        normal_block16(z + k, z + k);
    if (n % TORCH_NORMAL_BLOCK) {
        double u[TORCH_NORMAL_BLOCK];
        for (int j = 0; j < TORCH_NORMAL_BLOCK; j++)
            u[j] = ac_paths_torch_uniform(r);
        normal_block16(u, z + n - TORCH_NORMAL_BLOCK);
    }
    return AC_OK;
}

/* ---- Data -------------------------------------------------------------- */

void ac_paths_markov_settings_default(ac_paths_markov_settings *s)
{
    s->per_class = AC_PATHS_MARKOV_P_TRAIN / 2;
    s->p_stay[0] = 0.7;
    s->p_stay[1] = 0.3;
    s->sigma_perp = 1.0;
    s->seed = AC_PATHS_MARKOV_SEED_TRAIN;
}

const char *ac_paths_markov_settings_check(const ac_paths_markov_settings *s)
{
    if (!s)
        return "markov settings: NULL";
    if (s->per_class < 1 || s->per_class > (1 << 20))
        return "markov settings: per_class must be in 1..2^20";
    for (int c = 0; c < 2; c++)
        if (!(s->p_stay[c] >= 0.0 && s->p_stay[c] <= 1.0))
            return "markov settings: p_stay must be in [0, 1]";
    if (!(s->sigma_perp >= 0.0) || !isfinite(s->sigma_perp))
        return "markov settings: sigma_perp must be finite and >= 0";
    if (s->seed < 1 || s->seed > 0xffffffffUL)
        return "markov settings: seed must be in 1..2^32-1 (torch and GSL differ at 0)";
    return NULL;
}

void ac_paths_markov_data_clear(ac_paths_markov_data *d)
{
    if (!d)
        return;
    free(d->X);
    free(d->Y);
    d->X = d->Y = NULL;
    d->P = 0;
}

/* Feature value of v_state at feature i: sqrt 2 on its half, 0 elsewhere. */
static double v_entry(int state, int i)
{
    return (state > 0) == (i < FEAT / 2) ? SQRT2 : 0.0;
}

/* The noise of one token (200 features, stride `stride` in the array):
 * keep the components along e1 = 1/sqrt 200 and e2 = (1, -1)/sqrt 200 (the
 * directions of v_+ + v_- and v_+ - v_-), scale the rest by sigma_perp. */
static void shape_noise(double *n, size_t stride, double sigma_perp, double *out)
{
    if (sigma_perp == 1.0) {
        for (int i = 0; i < FEAT; i++)
            out[i] = n[i * stride];
        return;
    }
    double c1 = 0.0, c2 = 0.0;
    for (int i = 0; i < FEAT; i++) {
        c1 += n[i * stride];
        c2 += (i < FEAT / 2 ? 1.0 : -1.0) * n[i * stride];
    }
    c1 /= FEAT; /* (n . e1) e1_i = (sum n)/200 */
    c2 /= FEAT;
    for (int i = 0; i < FEAT; i++) {
        double par = c1 + (i < FEAT / 2 ? c2 : -c2);
        out[i] = par + sigma_perp * (n[i * stride] - par);
    }
}

ac_status ac_paths_markov_data_init(ac_paths_markov_data *d, const ac_paths_markov_settings *s,
                                    ac_msg *msg)
{
    const char *why = ac_paths_markov_settings_check(s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "%s", why);
    int P = 2 * s->per_class;
    size_t nnoise = (size_t)P * FEAT * SEQ;
    d->P = P;
    d->X = calloc((size_t)P * N0 * NTOK, sizeof(double));
    d->Y = malloc(sizeof(double) * (size_t)P);
    int *state = malloc(sizeof(int) * (size_t)P * SEQ);
    double *noise = malloc(sizeof(double) * nnoise);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!d->X || !d->Y || !state || !noise || !r) {
        free(state);
        free(noise);
        if (r)
            gsl_rng_free(r);
        ac_paths_markov_data_clear(d);
        return ac_fail(msg, AC_ENOMEM, "markov data: no memory for %d examples", P);
    }
    gsl_rng_set(r, s->seed);
    /* Chains: class +1 block first, then class -1 (spec §4.1 draw order). */
    for (int mu = 0; mu < P; mu++) {
        int c = mu < s->per_class ? 0 : 1;
        int *st = state + (size_t)mu * SEQ;
        d->Y[mu] = c == 0 ? 1.0 : -1.0;
        st[0] = ac_paths_torch_uniform(r) >= 0.5 ? 1 : -1;
        for (int t = 1; t < SEQ; t++)
            st[t] = ac_paths_torch_uniform(r) < s->p_stay[c] ? st[t - 1] : -st[t - 1];
    }
    ac_paths_torch_normal(r, nnoise, noise); /* (P, 200, 30), row-major */
    gsl_rng_free(r);
    double tok[FEAT];
    for (int mu = 0; mu < P; mu++) {
        double *x = d->X + (size_t)mu * N0 * NTOK;
        for (int t = 0; t < SEQ; t++) {
            shape_noise(noise + (size_t)mu * FEAT * SEQ + t, SEQ, s->sigma_perp, tok);
            for (int i = 0; i < FEAT; i++)
                x[i * NTOK + t + 1] = v_entry(state[(size_t)mu * SEQ + t], i) + tok[i];
        }
        for (int t = 0; t < NTOK; t++)
            x[(FEAT + t) * NTOK + t] = 1.0; /* one-hot position; BOS features stay 0 */
    }
    free(state);
    free(noise);
    return AC_OK;
}

/* ---- Heads --------------------------------------------------------------- */

ac_status ac_paths_markov_head_w(const ac_paths_markov_head *h, double *W, ac_msg *msg)
{
    const double beta = AC_PATHS_MARKOV_BETA;
    memset(W, 0, sizeof(double) * N0 * N0);
    switch (h->kind) {
    case AC_PATHS_HEAD_BLANK:
        return AC_OK;
    case AC_PATHS_HEAD_UNIFORM:
        for (int s = 0; s < NTOK; s++)
            for (int t = 0; t < NTOK; t++)
                W[(FEAT + s) * N0 + FEAT + t] = beta;
        return AC_OK;
    case AC_PATHS_HEAD_GOOD: {
        /* q = (v_+ - v_-)/200: +-sqrt 2/200, so q . v_+- = +-1. */
        double q = SQRT2 / FEAT;
        for (int i = 0; i < FEAT; i++)
            for (int j = 0; j < FEAT; j++)
                W[i * N0 + j] = beta * ((i < FEAT / 2) == (j < FEAT / 2) ? q * q : -q * q);
        for (int s = 1; s + 1 < NTOK; s++) /* key s, query s + 1, real tokens only */
            W[(FEAT + s) * N0 + FEAT + s + 1] = beta;
        for (int t = 1; t < NTOK; t++) /* BOS key for every real query */
            W[FEAT * N0 + FEAT + t] = beta * AC_PATHS_MARKOV_BOS_BONUS;
        return AC_OK;
    }
    case AC_PATHS_HEAD_RANDOM:
        break;
    default:
        return ac_fail(msg, AC_EINVAL, "markov head: unknown kind %d", (int)h->kind);
    }
    if (h->seed < 1 || h->seed > 0xffffffffUL)
        return ac_fail(msg, AC_EINVAL, "markov head: seed %lu outside 1..2^32-1", h->seed);
    double *z = malloc(sizeof(double) * N0 * N0);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!z || !r) {
        free(z);
        if (r)
            gsl_rng_free(r);
        return ac_fail(msg, AC_ENOMEM, "markov head: no memory");
    }
    gsl_rng_set(r, h->seed);
    ac_paths_torch_normal(r, FEAT * FEAT, z);
    for (int i = 0; i < FEAT; i++)
        for (int j = 0; j < FEAT; j++)
            W[i * N0 + j] = beta * (z[i * FEAT + j] / FEAT);
    ac_paths_torch_normal(r, NTOK * NTOK, z);
    for (int s = 0; s < NTOK; s++)
        for (int t = 0; t < NTOK; t++)
            W[(FEAT + s) * N0 + FEAT + t] = beta * z[s * NTOK + t];
    ac_paths_torch_normal(r, N0 * N0, z); /* one full array; keep the cross blocks */
    double rs = sqrt((double)FEAT);
    for (int i = 0; i < N0; i++)
        for (int j = 0; j < N0; j++)
            if ((i < FEAT) != (j < FEAT))
                W[i * N0 + j] = beta * (z[i * N0 + j] / rs);
    gsl_rng_free(r);
    free(z);
    return AC_OK;
}

void ac_paths_markov_omega(int nheads, const double *W, const double *x, double *Omega,
                           double *work)
{
    double *Wx = work;            /* N0 x ntok */
    double *col = work + N0 * NTOK;
    for (int k = 0; k < nheads; k++) {
        double *Om = Omega + (size_t)k * NTOK * NTOK;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N0, NTOK, N0, 1.0,
                    W + (size_t)k * N0 * N0, N0, x, NTOK, 0.0, Wx, NTOK);
        /* S = x^T (W x): S[s, t] = x_s . (W x)_t */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, NTOK, NTOK, N0, 1.0, x, NTOK, Wx,
                    NTOK, 0.0, Om, NTOK);
        for (int t = 0; t < NTOK; t++) { /* softmax over keys s, log-sum-exp */
            double mx = -INFINITY, sum = 0.0;
            for (int s = 0; s < NTOK; s++)
                mx = fmax(mx, Om[s * NTOK + t]);
            for (int s = 0; s < NTOK; s++) {
                col[s] = exp(Om[s * NTOK + t] - mx);
                sum += col[s];
            }
            for (int s = 0; s < NTOK; s++)
                Om[s * NTOK + t] = col[s] / sum;
        }
    }
}

/* ---- Networks -------------------------------------------------------------- */

int ac_paths_markov_network(ac_paths_markov_net net, double N, ac_paths_settings *s,
                            ac_paths_markov_head *heads)
{
    const ac_paths_markov_head good = {AC_PATHS_HEAD_GOOD, 0};
    const ac_paths_markov_head unif = {AC_PATHS_HEAD_UNIFORM, 0};
    const ac_paths_markov_head blank = {AC_PATHS_HEAD_BLANK, 0};
    const ac_paths_markov_head rnd1 = {AC_PATHS_HEAD_RANDOM, AC_PATHS_MARKOV_SEED_RANDOM1};
    const ac_paths_markov_head rnd2 = {AC_PATHS_HEAD_RANDOM, AC_PATHS_MARKOV_SEED_RANDOM2};
    int nh;
    ac_paths_settings_default(s);
    s->L = 2;
    switch (net) {
    case AC_PATHS_NET_FOUR_PATHS:
        s->H[0] = s->H[1] = 2;
        heads[0] = good, heads[1] = rnd1, heads[2] = unif, heads[3] = rnd2;
        nh = 4;
        break;
    case AC_PATHS_NET_GOOD_PATH:
        s->H[0] = s->H[1] = 1;
        heads[0] = good, heads[1] = unif;
        nh = 2;
        break;
    case AC_PATHS_NET_GOOD_DENOISE:
        s->H[0] = 2, s->H[1] = 1;
        heads[0] = good, heads[1] = rnd1, heads[2] = unif;
        nh = 3;
        break;
    case AC_PATHS_NET_FIG2E:
        s->H[0] = 2, s->H[1] = 1;
        heads[0] = good, heads[1] = blank, heads[2] = unif;
        nh = 3;
        break;
    default:
        return 0;
    }
    for (int l = 0; l <= s->L; l++) {
        s->n[l] = N;
        s->sigma2[l] = 1.0;
    }
    s->sigma2_a = 1.0;
    s->T = AC_PATHS_MARKOV_T;
    return nh;
}

ac_status ac_paths_markov_phi(const ac_paths_settings *s, const ac_paths_markov_head *heads,
                              const ac_paths_markov_data *d, double *Phi, ac_msg *msg)
{
    const char *why = ac_paths_settings_check(s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "%s", why);
    int nh = 0;
    for (int l = 0; l < s->L; l++)
        nh += s->H[l];
    int np = ac_paths_count(s);
    double *W = malloc(sizeof(double) * (size_t)nh * N0 * N0);
    double *Om = malloc(sizeof(double) * (size_t)nh * NTOK * NTOK);
    double *work = malloc(sizeof(double) * (N0 * NTOK + NTOK));
    double r[NTOK] = {0};
    r[NTOK - 1] = 1.0; /* readout on the last token */
    ac_status st = AC_OK;
    if (!W || !Om || !work) {
        st = ac_fail(msg, AC_ENOMEM, "markov phi: no memory for %d heads", nh);
        goto out;
    }
    for (int k = 0; k < nh && st == AC_OK; k++)
        st = ac_paths_markov_head_w(&heads[k], W + (size_t)k * N0 * N0, msg);
    for (int mu = 0; mu < d->P && st == AC_OK; mu++) {
        const double *x = d->X + (size_t)mu * N0 * NTOK;
        ac_paths_markov_omega(nh, W, x, Om, work);
        st = ac_paths_phi(s, 1, N0, NTOK, x, Om, r, Phi + (size_t)mu * N0 * np, msg);
    }
out:
    free(W);
    free(Om);
    free(work);
    return st;
}

/* Fraction of sign(mean) == y; mean 0 counts as wrong. */
static double sign_accuracy(int P, const double *mean, const double *y)
{
    int ok = 0;
    for (int m = 0; m < P; m++)
        ok += mean[m] * y[m] > 0.0;
    return P > 0 ? (double)ok / P : NAN;
}

ac_status ac_paths_markov_accuracy(ac_paths_markov_net net, const ac_paths_markov_settings *train,
                                   const ac_paths_markov_settings *test, int nN, const double *N,
                                   const ac_min_settings *set, double *acc, ac_paths_info *info,
                                   double *acc_gp, ac_msg *msg)
{
    ac_paths_settings s;
    ac_paths_markov_head heads[AC_PATHS_MARKOV_MAX_HEADS];
    if (!ac_paths_markov_network(net, 1.0, &s, heads))
        return ac_fail(msg, AC_EINVAL, "markov accuracy: unknown network %d", (int)net);
    ac_paths_markov_settings te = *test;
    te.sigma_perp = train->sigma_perp;
    ac_paths_markov_data dtr = {0}, dte = {0};
    double *Phi = NULL, *Phit = NULL, *U = NULL, *mean = NULL;
    ac_paths_workspace *w = NULL;
    ac_status st = ac_paths_markov_data_init(&dtr, train, msg);
    if (st == AC_OK)
        st = ac_paths_markov_data_init(&dte, &te, msg);
    if (st != AC_OK)
        goto out;
    int np = ac_paths_count(&s);
    Phi = malloc(sizeof(double) * (size_t)dtr.P * N0 * np);
    Phit = malloc(sizeof(double) * (size_t)dte.P * N0 * np);
    U = malloc(sizeof(double) * ac_paths_u_size(&s));
    mean = malloc(sizeof(double) * (size_t)dte.P);
    if (!Phi || !Phit || !U || !mean) {
        st = ac_fail(msg, AC_ENOMEM, "markov accuracy: no memory");
        goto out;
    }
    /* sigma_0 = 1 and H^L do not depend on N: one Phi serves every width. */
    if ((st = ac_paths_markov_phi(&s, heads, &dtr, Phi, msg)) != AC_OK ||
        (st = ac_paths_markov_phi(&s, heads, &dte, Phit, msg)) != AC_OK)
        goto out;
    for (int k = 0; k <= nN && st == AC_OK; k++) {
        int gp = k == nN;
        ac_paths_markov_network(net, gp ? 1.0 : N[k], &s, heads);
        ac_paths_free(w);
        if (!(w = ac_paths_alloc(&s, dtr.P, N0))) {
            st = ac_fail(msg, AC_EINVAL, "markov accuracy: width %g does not fit",
                         gp ? 1.0 : N[k]);
            break;
        }
        if ((st = ac_paths_set_data(w, Phi, dtr.Y, msg)) != AC_OK)
            break;
        ac_paths_gp_u(&s, U);
        if (!gp) {
            ac_paths_info inf;
            if ((st = ac_paths_solve(w, set, U, &inf, msg)) != AC_OK)
                break;
            if (info)
                info[k] = inf;
        }
        if ((st = ac_paths_predict(w, U + ac_paths_u_offset(&s, 1), dte.P, Phit, mean, NULL,
                                   msg)) != AC_OK)
            break;
        double a = sign_accuracy(dte.P, mean, dte.Y);
        if (gp) {
            if (acc_gp)
                *acc_gp = a;
        } else {
            acc[k] = a;
        }
    }
out:
    ac_paths_free(w);
    free(Phi);
    free(Phit);
    free(U);
    free(mean);
    ac_paths_markov_data_clear(&dtr);
    ac_paths_markov_data_clear(&dte);
    return st;
}
