#include "verify/joma_data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *ac_joma_data_kind_name(ac_joma_data_kind k)
{
    switch (k) {
    case AC_JOMA_DATA_UNIFORM: return "uniform";
    case AC_JOMA_DATA_GAUSSIAN: return "gaussian";
    }
    return NULL;
}

ac_status ac_joma_data_init(ac_joma_data *D, int N, int M, int K, ac_msg *msg)
{
    memset(D, 0, sizeof *D);
    if (N < 1 || M < 1 || K < 1)
        return ac_fail(msg, AC_EINVAL, "joma data: sizes N = %d, M = %d, K = %d must be at least 1", N,
                       M, K);
    D->X = calloc((size_t)N * M, sizeof(double));
    D->label = calloc((size_t)N, sizeof(int));
    D->Y = calloc((size_t)N * K, sizeof(double));
    if (!D->X || !D->label || !D->Y) {
        ac_joma_data_clear(D);
        return ac_fail(msg, AC_ENOMEM, "joma data: no memory for %d samples of %d tokens", N, M);
    }
    D->N = N;
    D->M = M;
    D->K = K;
    return AC_OK;
}

void ac_joma_data_clear(ac_joma_data *D)
{
    if (!D)
        return;
    free(D->X);
    free(D->label);
    free(D->Y);
    memset(D, 0, sizeof *D);
}

ac_status ac_joma_data_synthetic(ac_joma_data *D, ac_joma_data_kind kind, int mdistinct,
                                 int mcommon, int K, gsl_rng *r, ac_msg *msg)
{
    memset(D, 0, sizeof *D);
    if (mdistinct < 0 || mcommon < 0)
        return ac_fail(msg, AC_EINVAL, "joma data: %d distinct and %d common tokens, need >= 0 each",
                       mdistinct, mcommon);
    if (kind != AC_JOMA_DATA_UNIFORM && kind != AC_JOMA_DATA_GAUSSIAN)
        return ac_fail(msg, AC_EINVAL, "joma data: unknown kind %d", (int)kind);
    if (!r)
        return ac_fail(msg, AC_EINVAL, "joma data: no random generator");
    int M = mdistinct + mcommon;
    ac_status st = ac_joma_data_init(D, K, M, K, msg);
    if (st != AC_OK)
        return st;
    /* X = rand(Mc, K) / 2, drawn token-major as torch fills it; stored
     * transposed (row n = class n) */
    for (int l = 0; l < M; l++)
        for (int n = 0; n < K; n++)
            D->X[n * M + l] = 0.5 * gsl_rng_uniform(r);
    for (int n = 0; n < K; n++) {
        double *x = D->X + n * M;
        if (kind == AC_JOMA_DATA_GAUSSIAN)
            for (int l = 0; l < mdistinct; l++) {
                double c = (double)n / K * mdistinct;
                x[l] = exp(-(l - c) * (l - c) / AC_JOMA_DATA_GAUSS_WIDTH);
            }
        double s = 0.0;
        for (int l = 0; l < M; l++)
            s += x[l];
        for (int l = 0; l < M; l++)
            x[l] /= s;
        D->label[n] = n;
        D->Y[n * K + n] = 1.0;
    }
    return AC_OK;
}

void ac_joma_data_mean(const ac_joma_data *D, double *bbar)
{
    for (int l = 0; l < D->M; l++) {
        double s = 0.0;
        for (int n = 0; n < D->N; n++)
            s += D->X[n * D->M + l];
        bbar[l] = s / D->N;
    }
}
