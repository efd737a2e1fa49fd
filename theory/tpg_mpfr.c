/* MPFR mirror of theory/tpg_loss.c's loss functions: example_loss,
 * loss_query, ac_tpg_loss, ac_tpg_loss_reduced and ac_tpg_loss_line, with
 * the same formulas and branches (spec tpg_svm §1, §7). */
#include "theory/tpg_mpfr.h"

#include <stdlib.h>

/* Temporaries of one loss evaluation, all at prec bits. */
typedef struct {
    mpfr_t r, Z, l, e, sum;
} scratch;

static void scratch_init(scratch *w, mpfr_prec_t prec)
{
    mpfr_inits2(prec, w->r, w->Z, w->l, w->e, w->sum, (mpfr_ptr)0);
}

static void scratch_clear(scratch *w)
{
    mpfr_clears(w->r, w->Z, w->l, w->e, w->sum, (mpfr_ptr)0);
}

/* Mirror of example_loss in tpg_loss.c: w->l = l_i, 1 when the label is
 * absent (then w->l is +inf), and gU[., k] += dl/dU[., k] / norm. */
static int example_loss_mpfr(scratch *w, mpfr_t *U, int K, const int *tok, int len, int k, int y,
                             double norm, mpfr_t *gU)
{
    mpfr_ptr ay = U[y * K + k], amax = NULL;
    int my = 0;
    for (int t = 0; t < len; t++) {
        if (!amax || mpfr_greater_p(U[tok[t] * K + k], amax))
            amax = U[tok[t] * K + k];
        my += tok[t] == y;
    }
    if (my == 0) {
        mpfr_set_inf(w->l, 1);
        return 1;
    }
    /* Reference logit: a_y when it is the largest (log1p form), else the max. */
    int y_top = mpfr_greaterequal_p(ay, amax);
    mpfr_ptr ref = y_top ? ay : amax;
    mpfr_set_zero(w->r, 1);
    for (int t = 0; t < len; t++)
        if (tok[t] != y) {
            mpfr_sub(w->e, U[tok[t] * K + k], ref, MPFR_RNDN);
            mpfr_exp(w->e, w->e, MPFR_RNDN);
            mpfr_add(w->r, w->r, w->e, MPFR_RNDN);
        }
    if (y_top) {
        mpfr_add_si(w->Z, w->r, my, MPFR_RNDN);
        mpfr_div_si(w->l, w->r, my, MPFR_RNDN);
        mpfr_log1p(w->l, w->l, MPFR_RNDN);
    } else {
        mpfr_sub(w->e, ay, amax, MPFR_RNDN);
        mpfr_exp(w->e, w->e, MPFR_RNDN);
        mpfr_mul_si(w->Z, w->e, my, MPFR_RNDN);
        mpfr_add(w->Z, w->Z, w->r, MPFR_RNDN);
        mpfr_log(w->l, w->Z, MPFR_RNDN);
        mpfr_set_si(w->e, my, MPFR_RNDN);
        mpfr_log(w->e, w->e, MPFR_RNDN);
        mpfr_sub(w->l, w->l, w->e, MPFR_RNDN);
        mpfr_sub(w->e, amax, ay, MPFR_RNDN);
        mpfr_add(w->l, w->l, w->e, MPFR_RNDN);
    }
    if (gU) {
        for (int t = 0; t < len; t++)
            if (tok[t] != y) {
                mpfr_sub(w->e, U[tok[t] * K + k], ref, MPFR_RNDN);
                mpfr_exp(w->e, w->e, MPFR_RNDN);
                mpfr_div(w->e, w->e, w->Z, MPFR_RNDN);
                mpfr_div_d(w->e, w->e, norm, MPFR_RNDN);
                mpfr_add(gU[tok[t] * K + k], gU[tok[t] * K + k], w->e, MPFR_RNDN);
            }
        mpfr_div(w->e, w->r, w->Z, MPFR_RNDN);
        mpfr_div_d(w->e, w->e, norm, MPFR_RNDN);
        mpfr_sub(gU[y * K + k], gU[y * K + k], w->e, MPFR_RNDN);
    }
    return 0;
}

/* Mirror of loss_query. */
static ac_status loss_query_mpfr(const ac_tpg_data *D, const int *last, mpfr_t *U, double norm,
                                 mpfr_t L, mpfr_t *gU, mpfr_prec_t prec)
{
    if (prec < MPFR_PREC_MIN || prec > MPFR_PREC_MAX)
        return AC_EINVAL;
    int K = D->K;
    for (int j = 0; gU && j < K * K; j++)
        mpfr_set_zero(gU[j], 1);
    if (D->n == 0) {
        mpfr_set_zero(L, 1);
        return AC_OK;
    }
    if (!(norm > 0.0)) {
        mpfr_set_nan(L);
        return AC_OK;
    }
    scratch w;
    scratch_init(&w, prec);
    mpfr_set_zero(w.sum, 1);
    for (int i = 0; i < D->n; i++) {
        const int *tok = D->tok + D->off[i];
        int len = D->off[i + 1] - D->off[i];
        int k = last ? last[i] : tok[len - 1];
        if (example_loss_mpfr(&w, U, K, tok, len, k, D->label[i], norm, gU)) {
            for (int j = 0; gU && j < K * K; j++)
                mpfr_set_nan(gU[j]);
            mpfr_set_inf(L, 1);
            scratch_clear(&w);
            return AC_OK;
        }
        mpfr_add(w.sum, w.sum, w.l, MPFR_RNDN);
    }
    mpfr_div_d(L, w.sum, norm, MPFR_RNDN);
    scratch_clear(&w);
    return AC_OK;
}

ac_status ac_tpg_loss_mpfr(const ac_tpg_data *D, mpfr_t *U, double norm, mpfr_t L, mpfr_t *gU,
                           mpfr_prec_t prec)
{
    return loss_query_mpfr(D, NULL, U, norm, L, gU, prec);
}

ac_status ac_tpg_loss_reduced_mpfr(const ac_tpg_reduced *R, mpfr_t *U, mpfr_t L, mpfr_t *gU,
                                   mpfr_prec_t prec)
{
    return loss_query_mpfr(R->data, R->last, U, R->n_full, L, gU, prec);
}

static mpfr_t *matrix_new(size_t n, mpfr_prec_t prec)
{
    mpfr_t *A = malloc(sizeof(mpfr_t) * (n + 1));
    for (size_t j = 0; A && j < n; j++)
        mpfr_init2(A[j], prec);
    return A;
}

static void matrix_free(mpfr_t *A, size_t n)
{
    for (size_t j = 0; A && j < n; j++)
        mpfr_clear(A[j]);
    free(A);
}

ac_status ac_tpg_loss_line_mpfr(const ac_tpg_data *D, const double *U0, const double *U1,
                                double s, double norm, mpfr_t L, mpfr_t dLds, double *Ld,
                                double *dLdsd, mpfr_prec_t prec)
{
    if (prec < MPFR_PREC_MIN || prec > MPFR_PREC_MAX)
        return AC_EINVAL;
    size_t KK = (size_t)D->K * (size_t)D->K;
    mpfr_t *U = matrix_new(KK, prec), *gU = matrix_new(KK, prec);
    if (!U || !gU) {
        matrix_free(U, U ? KK : 0), matrix_free(gU, gU ? KK : 0);
        return AC_ENOMEM;
    }
    /* U = U0 + s U1, rounded once at prec bits. */
    for (size_t j = 0; j < KK; j++) {
        mpfr_set_d(U[j], U1[j], MPFR_RNDN);
        mpfr_mul_d(U[j], U[j], s, MPFR_RNDN);
        mpfr_add_d(U[j], U[j], U0[j], MPFR_RNDN);
    }
    ac_status st = ac_tpg_loss_mpfr(D, U, norm, L, gU, prec);
    if (st == AC_OK) {
        /* dL/ds = <gU, U1>, summed at prec bits (U reused as the product). */
        mpfr_t acc;
        mpfr_init2(acc, prec);
        mpfr_set_zero(acc, 1);
        for (size_t j = 0; j < KK; j++) {
            mpfr_mul_d(U[j], gU[j], U1[j], MPFR_RNDN);
            mpfr_add(acc, acc, U[j], MPFR_RNDN);
        }
        mpfr_set(dLds, acc, MPFR_RNDN);
        mpfr_clear(acc);
        if (Ld)
            *Ld = mpfr_get_d(L, MPFR_RNDN);
        if (dLdsd)
            *dLdsd = mpfr_get_d(dLds, MPFR_RNDN);
    }
    matrix_free(U, KK), matrix_free(gU, KK);
    return st;
}
