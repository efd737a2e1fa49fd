#include "verify/joma_toy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ac_joma_toy_settings_default(ac_joma_toy_settings *s)
{
    s->eta = AC_JOMA_TOY_ETA;
    s->T = AC_JOMA_TOY_T;
    s->v0 = AC_JOMA_TOY_V0;
    s->steps = AC_JOMA_TOY_STEPS;
}

const char *ac_joma_toy_settings_check(const ac_joma_toy_settings *s)
{
    if (!s)
        return "joma toy: settings are NULL";
    if (!(s->eta > 0.0) || !isfinite(s->eta))
        return "joma toy: step eta must be positive and finite";
    if (!(s->T > 0.0) || !isfinite(s->T))
        return "joma toy: temperature T must be positive and finite";
    if (!isfinite(s->v0))
        return "joma toy: start v0 must be finite";
    if (s->steps < 1)
        return "joma toy: steps must be at least 1";
    return NULL;
}

/* torch.manual_seed(0); torch.rand(10): the low 24 bits of the first ten
 * outputs of MT19937 (init_genrand(0)), over 2^24 (PyTorch's
 * uniform_real_distribution for float).  These ten integers were produced
 * by a reference MT19937 and agree with the 4-digit draw printed in spec
 * joma §3 item 2 (tests/test_joma_toy.c checks that). */
static const unsigned long torch_seed0_rand24[AC_JOMA_TOY_M] = {
    8325804UL, 12888623UL, 1484405UL, 2215104UL, 5157699UL,
    10638075UL, 8222403UL, 15039847UL, 7644169UL, 10608339UL,
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void ac_joma_toy_mu_seed0(double *mu)
{
    /* wstar = sort(torch.rand(10) * 3 + 1) (draw_figure_4.py) */
    for (int i = 0; i < AC_JOMA_TOY_M; i++)
        mu[i] = 3.0 * ldexp((double)torch_seed0_rand24[i], -24) + 1.0;
    qsort(mu, AC_JOMA_TOY_M, sizeof(double), cmp_double);
}

/* ln sum_l exp(v_l^2 / T), by log-sum-exp. */
static double log_partition(int M, double T, const double *v)
{
    double zmax = -HUGE_VAL, s = 0.0;
    for (int l = 0; l < M; l++)
        zmax = fmax(zmax, v[l] * v[l] / T);
    for (int l = 0; l < M; l++)
        s += exp(v[l] * v[l] / T - zmax);
    return zmax + log(s);
}

void ac_joma_toy_attention(int M, double T, const double *v, double *p)
{
    double lA = log_partition(M, T, v);
    for (int l = 0; l < M; l++)
        p[l] = exp(v[l] * v[l] / T - lA);
}

double ac_joma_toy_entropy(int M, double T, const double *v)
{
    double lA = log_partition(M, T, v), H = 0.0;
    for (int l = 0; l < M; l++) {
        double lp = v[l] * v[l] / T - lA;
        H -= exp(lp) * (lp + AC_JOMA_TOY_ENTROPY_EPS);
    }
    return H;
}

void ac_joma_toy_step(const ac_joma_toy_settings *s, int M, const double *mu, double *v, double *p)
{
    /* dw = (wstar - w) * sa; w = w + eta * dw (draw_figure_4.py) */
    ac_joma_toy_attention(M, s->T, v, p);
    for (int l = 0; l < M; l++)
        v[l] += s->eta * (mu[l] - v[l]) * p[l];
}

ac_status ac_joma_toy_run(const ac_joma_toy_settings *s, int M, const double *mu, double *H,
                          double *V, ac_joma_toy_summary *summary, ac_msg *msg)
{
    const char *why = ac_joma_toy_settings_check(s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "%s", why);
    if (M < 1)
        return ac_fail(msg, AC_EINVAL, "joma toy: M = %d components, need at least 1", M);
    if (!mu)
        return ac_fail(msg, AC_EINVAL, "joma toy: mu is NULL");
    for (int l = 0; l < M; l++)
        if (!isfinite(mu[l]))
            return ac_fail(msg, AC_EINVAL, "joma toy: mu[%d] = %g is not finite", l, mu[l]);
    double *v = malloc(sizeof(double) * 2 * (size_t)M);
    if (!v)
        return ac_fail(msg, AC_ENOMEM, "joma toy: no memory for %d components", M);
    double *p = v + M;
    for (int l = 0; l < M; l++)
        v[l] = s->v0;
    ac_joma_toy_summary sum = {0};
    sum.H_min = HUGE_VAL;
    for (long k = 0; k < s->steps; k++) {
        double h = ac_joma_toy_entropy(M, s->T, v);
        if (H)
            H[k] = h;
        if (V)
            memcpy(V + k * M, v, sizeof(double) * (size_t)M);
        if (k == 0)
            sum.H0 = h;
        if (h < sum.H_min) {
            sum.H_min = h;
            sum.step_min = k;
        }
        sum.H_end = h;
        ac_joma_toy_step(s, M, mu, v, p);
    }
    if (V)
        memcpy(V + s->steps * M, v, sizeof(double) * (size_t)M);
    sum.H_limit = ac_joma_toy_entropy(M, s->T, mu);
    if (summary)
        *summary = sum;
    free(v);
    return AC_OK;
}
