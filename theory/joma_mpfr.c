#include "theory/joma_mpfr.h"

/* ---- the reduced right-hand side (mirror of joma.c) ---- */

static double weight(const ac_joma_reduced *m, int l)
{
    return m->x ? m->x[l] : 1.0;
}

/* z_l of the header's table of joma.h. */
static void logit_mpfr(const ac_joma_reduced *m, int l, const mpfr_t v, mpfr_t z)
{
    double c = m->c ? m->c[l] : 0.0;
    mpfr_sqr(z, v, MPFR_RNDN);
    if (m->attention == AC_JOMA_ATT_LINEAR) {
        mpfr_add_d(z, z, c, MPFR_RNDN);
        mpfr_sqrt(z, z, MPFR_RNDN);
    } else {
        mpfr_div_d(z, z, m->T, MPFR_RNDN);
        mpfr_add_d(z, z, c, MPFR_RNDN);
    }
}

/* ln sum_l x_l exp(z_l) by log-sum-exp, terms with x_l = 0 dropped. */
static void log_partition_mpfr(const ac_joma_reduced *m, mpfr_t *v, mpfr_t lA, mpfr_prec_t prec)
{
    mpfr_t z, zmax, s;
    mpfr_inits2(prec, z, zmax, s, (mpfr_ptr)0);
    mpfr_set_inf(zmax, -1);
    for (int l = 0; l < m->M; l++)
        if (weight(m, l) > 0.0) {
            logit_mpfr(m, l, v[l], z);
            mpfr_max(zmax, zmax, z, MPFR_RNDN);
        }
    mpfr_set_zero(s, 1);
    for (int l = 0; l < m->M; l++)
        if (weight(m, l) > 0.0) {
            logit_mpfr(m, l, v[l], z);
            mpfr_sub(z, z, zmax, MPFR_RNDN);
            mpfr_exp(z, z, MPFR_RNDN);
            mpfr_mul_d(z, z, weight(m, l), MPFR_RNDN);
            mpfr_add(s, s, z, MPFR_RNDN);
        }
    mpfr_log(s, s, MPFR_RNDN);
    mpfr_add(lA, zmax, s, MPFR_RNDN);
    mpfr_clears(z, zmax, s, (mpfr_ptr)0);
}

int ac_joma_reduced_rhs_mpfr(void *ctx, mpfr_t *v, mpfr_t *f, mpfr_prec_t prec)
{
    const ac_joma_reduced *m = ctx;
    mpfr_t lA, z, g;
    mpfr_inits2(prec, lA, z, g, (mpfr_ptr)0);
    mpfr_set_zero(lA, 1);
    if (m->attention == AC_JOMA_ATT_SOFTMAX)
        log_partition_mpfr(m, v, lA, prec);
    for (int l = 0; l < m->M; l++) {
        /* a_l */
        logit_mpfr(m, l, v[l], z);
        if (m->attention != AC_JOMA_ATT_LINEAR) {
            mpfr_sub(z, z, lA, MPFR_RNDN);
            mpfr_exp(z, z, MPFR_RNDN);
        }
        /* g_l */
        if (m->activation == AC_JOMA_ACT_LINEAR) {
            mpfr_set_d(g, m->delta[l], MPFR_RNDN);
        } else {
            mpfr_d_sub(g, m->mu[l], v[l], MPFR_RNDN);
            mpfr_mul_d(g, g, m->lambda ? m->lambda[l] : 1.0, MPFR_RNDN);
        }
        mpfr_mul(f[l], g, z, MPFR_RNDN);
    }
    mpfr_clears(lA, z, g, (mpfr_ptr)0);
    return 0;
}

/* ---- the joint flow (mirror of joma.c) ---- */

static void joint_log_partition_mpfr(const ac_joma_joint *J, const double *x, mpfr_t *z, mpfr_t lA,
                                     mpfr_prec_t prec)
{
    mpfr_t zmax, s, e;
    mpfr_inits2(prec, zmax, s, e, (mpfr_ptr)0);
    mpfr_set_inf(zmax, -1);
    for (int l = 0; l < J->M; l++)
        if (x[l] > 0.0)
            mpfr_max(zmax, zmax, z[l], MPFR_RNDN);
    mpfr_set_zero(s, 1);
    for (int l = 0; l < J->M; l++)
        if (x[l] > 0.0) {
            mpfr_sub(e, z[l], zmax, MPFR_RNDN);
            mpfr_exp(e, e, MPFR_RNDN);
            mpfr_mul_d(e, e, x[l], MPFR_RNDN);
            mpfr_add(s, s, e, MPFR_RNDN);
        }
    mpfr_log(s, s, MPFR_RNDN);
    mpfr_add(lA, zmax, s, MPFR_RNDN);
    mpfr_clears(zmax, s, e, (mpfr_ptr)0);
}

/* b_l(x, z) (joma.h); lA used by SOFTMAX only. */
static void joint_b_mpfr(const ac_joma_joint *J, const double *x, mpfr_t *z, int l, const mpfr_t lA,
                         mpfr_t b)
{
    switch (J->attention) {
    case AC_JOMA_ATT_LINEAR: mpfr_mul_d(b, z[l], x[l], MPFR_RNDN); break;
    case AC_JOMA_ATT_SOFTMAX:
        if (x[l] > 0.0) {
            mpfr_sub(b, z[l], lA, MPFR_RNDN);
            mpfr_exp(b, b, MPFR_RNDN);
            mpfr_mul_d(b, b, x[l], MPFR_RNDN);
        } else {
            mpfr_set_zero(b, 1);
        }
        break;
    default:
        mpfr_exp(b, z[l], MPFR_RNDN);
        mpfr_mul_d(b, b, x[l], MPFR_RNDN);
        break;
    }
}

int ac_joma_joint_rhs_mpfr(void *ctx, mpfr_t *y, mpfr_t *f, mpfr_prec_t prec)
{
    const ac_joma_joint *J = ctx;
    int M = J->M, K = J->K, dim = ac_joma_joint_dim(J);
    mpfr_t *z = y, *fz = f, *fV = f + M, *fq = f + M + K * M;
    mpfr_t lA, pre, h, gk, b, tmp;
    mpfr_inits2(prec, lA, pre, h, gk, b, tmp, (mpfr_ptr)0);
    for (int i = 0; i < dim; i++)
        mpfr_set_zero(f[i], 1);
    mpfr_set_zero(lA, 1);
    for (int n = 0; n < J->N; n++) {
        const double *x = J->X + n * M;
        if (J->attention == AC_JOMA_ATT_SOFTMAX)
            joint_log_partition_mpfr(J, x, z, lA, prec);
        for (int k = 0; k < K; k++) {
            mpfr_t *vk = y + M + k * M;
            /* pre = v_k . b + q_k */
            mpfr_set(pre, y[M + K * M + k], MPFR_RNDN);
            for (int l = 0; l < M; l++) {
                joint_b_mpfr(J, x, z, l, lA, b);
                mpfr_fma(pre, vk[l], b, pre, MPFR_RNDN);
            }
            /* gk = -(h - y_k) h' / N */
            if (J->tanh_act) {
                mpfr_tanh(h, pre, MPFR_RNDN);
                mpfr_sqr(tmp, h, MPFR_RNDN);
                mpfr_d_sub(tmp, 1.0, tmp, MPFR_RNDN);
            } else {
                mpfr_set(h, pre, MPFR_RNDN);
                mpfr_set_ui(tmp, 1, MPFR_RNDN);
            }
            mpfr_sub_d(gk, h, J->Y[n * K + k], MPFR_RNDN);
            mpfr_mul(gk, gk, tmp, MPFR_RNDN);
            mpfr_div_si(gk, gk, -J->N, MPFR_RNDN);
            mpfr_add(fq[k], fq[k], gk, MPFR_RNDN);
            /* SOFTMAX needs v_k . b = pre - q_k */
            mpfr_sub(pre, pre, y[M + K * M + k], MPFR_RNDN);
            for (int l = 0; l < M; l++) {
                joint_b_mpfr(J, x, z, l, lA, b);
                mpfr_fma(fV[k * M + l], gk, b, fV[k * M + l], MPFR_RNDN);
                switch (J->attention) {
                case AC_JOMA_ATT_LINEAR: mpfr_mul_d(tmp, vk[l], x[l], MPFR_RNDN); break;
                case AC_JOMA_ATT_SOFTMAX:
                    mpfr_sub(tmp, vk[l], pre, MPFR_RNDN);
                    mpfr_mul(tmp, tmp, b, MPFR_RNDN);
                    break;
                default: mpfr_mul(tmp, vk[l], b, MPFR_RNDN); break;
                }
                mpfr_fma(fz[l], gk, tmp, fz[l], MPFR_RNDN);
            }
        }
    }
    mpfr_clears(lA, pre, h, gk, b, tmp, (mpfr_ptr)0);
    return 0;
}

void ac_joma_joint_invariant_mpfr(const ac_joma_joint *J, mpfr_t *y, mpfr_t *I, mpfr_prec_t prec)
{
    int M = J->M, K = J->K;
    mpfr_t s, t;
    mpfr_inits2(prec, s, t, (mpfr_ptr)0);
    for (int l = 0; l < M; l++) {
        mpfr_set_zero(s, 1);
        for (int k = 0; k < K; k++) {
            mpfr_sqr(t, y[M + k * M + l], MPFR_RNDN);
            mpfr_add(s, s, t, MPFR_RNDN);
        }
        if (J->attention == AC_JOMA_ATT_LINEAR) {
            mpfr_sqr(t, y[l], MPFR_RNDN);
            mpfr_sub(I[l], t, s, MPFR_RNDN);
        } else {
            mpfr_div_2ui(s, s, 1, MPFR_RNDN);
            mpfr_sub(I[l], y[l], s, MPFR_RNDN);
        }
    }
    if (J->attention == AC_JOMA_ATT_SOFTMAX && J->bbar) {
        mpfr_set_zero(s, 1);
        for (int i = M; i < M + K * M; i++)
            mpfr_fma(s, y[i], y[i], s, MPFR_RNDN);
        mpfr_div_2ui(s, s, 1, MPFR_RNDN);
        for (int l = 0; l < M; l++) {
            mpfr_mul_d(t, s, J->bbar[l], MPFR_RNDN);
            mpfr_add(I[l], I[l], t, MPFR_RNDN);
        }
    }
    mpfr_clears(s, t, (mpfr_ptr)0);
}

void ac_joma_joint_invariant_rate_mpfr(const ac_joma_joint *J, mpfr_t *y, mpfr_t *dI,
                                       mpfr_prec_t prec)
{
    int M = J->M, K = J->K;
    for (int l = 0; l < M; l++)
        mpfr_set_zero(dI[l], 1);
    if (J->attention != AC_JOMA_ATT_SOFTMAX)
        return;
    mpfr_t lA, pre, h, gk, b, tmp;
    mpfr_inits2(prec, lA, pre, h, gk, b, tmp, (mpfr_ptr)0);
    for (int n = 0; n < J->N; n++) {
        const double *x = J->X + n * M;
        joint_log_partition_mpfr(J, x, y, lA, prec);
        for (int k = 0; k < K; k++) {
            mpfr_t *vk = y + M + k * M;
            mpfr_set_zero(pre, 1); /* v_k . b */
            for (int l = 0; l < M; l++) {
                joint_b_mpfr(J, x, y, l, lA, b);
                mpfr_fma(pre, vk[l], b, pre, MPFR_RNDN);
            }
            mpfr_add(h, pre, y[M + K * M + k], MPFR_RNDN);
            if (J->tanh_act) {
                mpfr_tanh(h, h, MPFR_RNDN);
                mpfr_sqr(tmp, h, MPFR_RNDN);
                mpfr_d_sub(tmp, 1.0, tmp, MPFR_RNDN);
            } else {
                mpfr_set_ui(tmp, 1, MPFR_RNDN);
            }
            mpfr_sub_d(gk, h, J->Y[n * K + k], MPFR_RNDN);
            mpfr_mul(gk, gk, tmp, MPFR_RNDN);
            mpfr_div_si(gk, gk, J->N, MPFR_RNDN); /* -g h'/N: the minus of dI is folded in */
            mpfr_mul(gk, gk, pre, MPFR_RNDN);
            for (int l = 0; l < M; l++) {
                joint_b_mpfr(J, x, y, l, lA, b);
                mpfr_sub_d(b, b, J->bbar ? J->bbar[l] : 0.0, MPFR_RNDN);
                mpfr_fma(dI[l], gk, b, dI[l], MPFR_RNDN);
            }
        }
    }
    mpfr_clears(lA, pre, h, gk, b, tmp, (mpfr_ptr)0);
}
