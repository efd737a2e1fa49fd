#include "theory/joma.h"

#include <float.h>
#include <limits.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_integration.h>
#include <math.h>
#include <string.h>

#include "solvers/vexp.h"

const char *ac_joma_attention_name(ac_joma_attention a)
{
    switch (a) {
    case AC_JOMA_ATT_EXP: return "exp";
    case AC_JOMA_ATT_SOFTMAX: return "softmax";
    case AC_JOMA_ATT_LINEAR: return "linear";
    }
    return NULL;
}

void ac_joma_reduced_init(ac_joma_reduced *m, int M, ac_joma_attention att, ac_joma_activation act,
                          const double *drive)
{
    memset(m, 0, sizeof *m);
    m->M = M;
    m->attention = att;
    m->activation = act;
    if (act == AC_JOMA_ACT_LINEAR)
        m->delta = drive;
    else
        m->mu = drive;
    m->T = AC_JOMA_T_PAPER;
    m->z_blowup = AC_JOMA_Z_BLOWUP_DEFAULT;
}

ac_status ac_joma_reduced_check(const ac_joma_reduced *m, ac_msg *msg)
{
    if (!m)
        return ac_fail(msg, AC_EINVAL, "JoMA reduced model is NULL");
    if (m->M < 1)
        return ac_fail(msg, AC_EINVAL, "JoMA: M = %d tokens, need at least 1", m->M);
    if ((int)m->attention < 0 || m->attention > AC_JOMA_ATT_LINEAR)
        return ac_fail(msg, AC_EINVAL, "JoMA: attention kind %d is not exp, softmax or linear",
                       (int)m->attention);
    if ((int)m->activation < 0 || m->activation > AC_JOMA_ACT_NONLINEAR)
        return ac_fail(msg, AC_EINVAL, "JoMA: activation kind %d is not linear or nonlinear",
                       (int)m->activation);
    const double *drive = m->activation == AC_JOMA_ACT_LINEAR ? m->delta : m->mu;
    const char *dname = m->activation == AC_JOMA_ACT_LINEAR ? "Delta" : "mu";
    if (!drive)
        return ac_fail(msg, AC_EINVAL, "JoMA: the drive %s is missing", dname);
    if (!(m->T > 0.0) || !isfinite(m->T))
        return ac_fail(msg, AC_EINVAL, "JoMA: temperature T = %g must be finite and > 0", m->T);
    if (isnan(m->z_blowup))
        return ac_fail(msg, AC_EINVAL, "JoMA: blow-up threshold z_blowup is NaN");
    double xsum = 0.0;
    for (int l = 0; l < m->M; l++) {
        if (!isfinite(drive[l]))
            return ac_fail(msg, AC_EINVAL, "JoMA: %s[%d] = %g is not finite", dname, l, drive[l]);
        if (m->lambda && !(m->lambda[l] > 0.0 && isfinite(m->lambda[l])))
            return ac_fail(msg, AC_EINVAL, "JoMA: lambda[%d] = %g must be finite and > 0", l,
                           m->lambda[l]);
        if (m->x && !(m->x[l] >= 0.0 && isfinite(m->x[l])))
            return ac_fail(msg, AC_EINVAL, "JoMA: x[%d] = %g must be finite and >= 0", l, m->x[l]);
        xsum += m->x ? m->x[l] : 1.0;
        if (m->c && !isfinite(m->c[l]))
            return ac_fail(msg, AC_EINVAL, "JoMA: offset c[%d] = %g is not finite", l, m->c[l]);
        if (m->c && m->attention == AC_JOMA_ATT_LINEAR && m->c[l] < 0.0)
            return ac_fail(msg, AC_EINVAL,
                           "JoMA: linear attention needs c[%d] = z^2 - v^2 >= 0, got %g", l,
                           m->c[l]);
    }
    if (!(xsum > 0.0))
        return ac_fail(msg, AC_EINVAL, "JoMA: the weights x are all zero");
    return AC_OK;
}

/* z_l and dz_l/dv_l of the header's table. */
static double logit(const ac_joma_reduced *m, int l, double v, double *dz)
{
    double c = m->c ? m->c[l] : 0.0;
    if (m->attention == AC_JOMA_ATT_LINEAR) {
        double z = sqrt(c + v * v);
        if (dz)
            *dz = z > 0.0 ? v / z : 0.0;
        return z;
    }
    if (dz)
        *dz = 2.0 * v / m->T;
    return v * v / m->T + c;
}

static double weight(const ac_joma_reduced *m, int l)
{
    return m->x ? m->x[l] : 1.0;
}

/* ln sum_l x_l exp(z_l) by log-sum-exp (terms with x_l = 0 dropped). */
static double log_partition(const ac_joma_reduced *m, const double *v)
{
    double zmax = -HUGE_VAL;
    for (int l = 0; l < m->M; l++)
        if (weight(m, l) > 0.0)
            zmax = fmax(zmax, logit(m, l, v[l], NULL));
    double s = 0.0;
    for (int l = 0; l < m->M; l++)
        if (weight(m, l) > 0.0)
            s += weight(m, l) * exp(logit(m, l, v[l], NULL) - zmax);
    return zmax + log(s);
}

/* ---- the right-hand side's exponentials ----
 * The reduced integration spends most of its time in exp (bench/joma.sh:
 * 55 % of the EXP/linear solve at M = 1000 in glibc's scalar exp, ~3.6 ns a
 * call), one per component and right-hand side call: the M of a call go
 * through ac_exp_array together (solvers/vexp.h: libmvec's 4-lane exp,
 * ~0.8 ns a value). */

/* The loops below are written for -O2 (the Makefile's flags), whose
 * vectoriser takes only loops with no remainder and no aliasing to check:
 * restrict pointers and a trip count M4 = M rounded down to a multiple of
 * 4, then the remainder; reductions (max, sum) keep 4 running values, so
 * that a step does not wait for the previous one (a max or add chain costs
 * 4 cycles a value, more than the rest of the loop). */

/* The logits z_l of the header's table for all l (z may not alias v), and
 * their maximum over the l with x_l > 0 (all l when x is NULL).  EXP and
 * SOFTMAX multiply by 1/T where logit() divides by T (a division costs 8
 * multiplications' time, and this loop was a fifth of the solve at
 * M = 1000): the two differ by at most one rounding, and not at all for
 * T = 2 (the paper's), whose reciprocal is exact. */
/* max_l z_l over the l with x_l > 0 (-inf when none). */
static double masked_max(const double *z, const double *x, int M)
{
    double mx = -HUGE_VAL;
    for (int l = 0; l < M; l++)
        if (x[l] > 0.0 && z[l] > mx)
            mx = z[l];
    return mx;
}

static double logits_all(const ac_joma_reduced *m, const double *restrict v, double *restrict z)
{
    int M = m->M, M4 = M & ~3;
    const double *restrict c = m->c, *restrict x = m->x;
    if (m->attention == AC_JOMA_ATT_LINEAR) {
        for (int l = 0; l < M; l++)
            z[l] = logit(m, l, v[l], NULL);
    } else {
        double rT = 1.0 / m->T;
        if (c) {
            for (int l = 0; l < M4; l++)
                z[l] = v[l] * v[l] * rT + c[l];
            for (int l = M4; l < M; l++)
                z[l] = v[l] * v[l] * rT + c[l];
        } else {
            for (int l = 0; l < M4; l++)
                z[l] = v[l] * v[l] * rT;
            for (int l = M4; l < M; l++)
                z[l] = v[l] * v[l] * rT;
        }
    }
    if (x)
        return masked_max(z, x, M);
    double m0 = -HUGE_VAL, m1 = -HUGE_VAL, m2 = -HUGE_VAL, m3 = -HUGE_VAL;
    for (int l = 0; l < M4; l += 4) {
        m0 = z[l] > m0 ? z[l] : m0;
        m1 = z[l + 1] > m1 ? z[l + 1] : m1;
        m2 = z[l + 2] > m2 ? z[l + 2] : m2;
        m3 = z[l + 3] > m3 ? z[l + 3] : m3;
    }
    for (int l = M4; l < M; l++)
        m0 = z[l] > m0 ? z[l] : m0;
    return fmax(fmax(m0, m1), fmax(m2, m3));
}

/* SOFTMAX a_l = exp(z_l - zmax) / sum_m x_m exp(z_m - zmax) (terms with
 * x_m = 0 left out of the sum): one exponential per component, where
 * exp(z_l - log_partition) takes two; the profile of the reduced
 * integration (bench/joma.sh) is exponentials for the most part.  The
 * shift by zmax keeps every exponential <= 1 and the sum >= min x > 0. */
static void softmax_factors(const ac_joma_reduced *m, const double *restrict v, double *restrict a)
{
    int M = m->M, M4 = M & ~3;
    const double *restrict x = m->x;
    double zmax = logits_all(m, v, a);
    for (int l = 0; l < M4; l++)
        a[l] -= zmax;
    for (int l = M4; l < M; l++)
        a[l] -= zmax;
    ac_exp_array(a, a, M);
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    if (x) {
        for (int l = 0; l < M; l++)
            if (x[l] > 0.0)
                s0 += x[l] * a[l];
    } else {
        for (int l = 0; l < M4; l += 4) {
            s0 += a[l];
            s1 += a[l + 1];
            s2 += a[l + 2];
            s3 += a[l + 3];
        }
        for (int l = M4; l < M; l++)
            s0 += a[l];
    }
    /* times 1/s rather than divided by s, for the division's cost (as in
     * logits_all): one more rounding */
    double rs = 1.0 / ((s0 + s1) + (s2 + s3));
    for (int l = 0; l < M4; l++)
        a[l] *= rs;
    for (int l = M4; l < M; l++)
        a[l] *= rs;
}

/* g_l and dg_l/dv_l. */
static double drive(const ac_joma_reduced *m, int l, double v, double *dg)
{
    if (m->activation == AC_JOMA_ACT_LINEAR) {
        *dg = 0.0;
        return m->delta[l];
    }
    double lam = m->lambda ? m->lambda[l] : 1.0;
    *dg = -lam;
    return lam * (m->mu[l] - v);
}

/* The attention factors a_l of the header's table (spec joma §6.1), by
 * log-sum-exp for SOFTMAX.  Returns 1 when an EXP logit would overflow
 * (AC_JOMA_Z_OVERFLOW); a (M) may not alias v. */
static int factors(const ac_joma_reduced *m, const double *v, double *a)
{
    if (m->attention == AC_JOMA_ATT_SOFTMAX)
        return softmax_factors(m, v, a), 0;
    double zmax = logits_all(m, v, a);
    if (m->attention == AC_JOMA_ATT_LINEAR)
        return 0;
    if (zmax > AC_JOMA_Z_OVERFLOW)
        return 1;
    ac_exp_array(a, a, m->M);
    return 0;
}

/* f_l = g_l a_l, the drive in one loop per activation (lambda = 1 when
 * NULL, as drive() takes it); f may not alias v. */
int ac_joma_reduced_rhs(void *ctx, double t, const double *restrict v, double *restrict f)
{
    const ac_joma_reduced *m = ctx;
    int M = m->M, M4 = M & ~3;
    (void)t;
    if (factors(m, v, f) != 0)
        return 1;
    if (m->activation == AC_JOMA_ACT_LINEAR) {
        const double *restrict delta = m->delta;
        for (int l = 0; l < M4; l++)
            f[l] *= delta[l];
        for (int l = M4; l < M; l++)
            f[l] *= delta[l];
    } else if (m->lambda) {
        const double *restrict mu = m->mu, *restrict lam = m->lambda;
        for (int l = 0; l < M4; l++)
            f[l] *= lam[l] * (mu[l] - v[l]);
        for (int l = M4; l < M; l++)
            f[l] *= lam[l] * (mu[l] - v[l]);
    } else {
        const double *restrict mu = m->mu;
        for (int l = 0; l < M4; l++)
            f[l] *= mu[l] - v[l];
        for (int l = M4; l < M; l++)
            f[l] *= mu[l] - v[l];
    }
    return 0;
}

/* d f_l / d v_i = delta_li (g'_l a_l + g_l da_l/dv_l) - [SOFTMAX] g_l a_l x_i a_i dz_i,
 * with da_l/dv_l = a_l dz_l (EXP, SOFTMAX) or dz_l (LINEAR, a = z); the
 * SOFTMAX term is the derivative of 1/A (spec joma §6.1 with x = 1). */
int ac_joma_reduced_jac(void *ctx, double t, const double *v, double *J, double *dfdt)
{
    const ac_joma_reduced *m = ctx;
    int M = m->M;
    (void)t;
    double *a = dfdt; /* a in dfdt until the end */
    if (factors(m, v, a) != 0)
        return 1;
    for (int l = 0; l < M; l++) {
        double dg, g = drive(m, l, v[l], &dg), dzl;
        logit(m, l, v[l], &dzl);
        for (int i = 0; i < M; i++) {
            double dzi = 0.0;
            if (m->attention == AC_JOMA_ATT_SOFTMAX)
                logit(m, i, v[i], &dzi);
            J[l * M + i] = -g * a[l] * weight(m, i) * a[i] * dzi;
        }
        double dal = m->attention == AC_JOMA_ATT_LINEAR ? dzl : a[l] * dzl;
        J[l * M + l] += dg * a[l] + g * dal;
    }
    for (int l = 0; l < M; l++)
        dfdt[l] = 0.0;
    return 0;
}

int ac_joma_reduced_blowup(void *ctx, double t, const double *v)
{
    const ac_joma_reduced *m = ctx;
    (void)t;
    if (m->attention != AC_JOMA_ATT_EXP)
        return 0;
    for (int l = 0; l < m->M; l++)
        if (logit(m, l, v[l], NULL) > m->z_blowup)
            return 1;
    return 0;
}

void ac_joma_reduced_system(const ac_joma_reduced *m, ac_ode_system *sys)
{
    sys->dim = m->M;
    sys->rhs = ac_joma_reduced_rhs;
    sys->jac = ac_joma_reduced_jac;
    sys->blowup = ac_joma_reduced_blowup;
    sys->ctx = (void *)m;
}

void ac_joma_logits(const ac_joma_reduced *m, const double *v, double *z)
{
    for (int l = 0; l < m->M; l++)
        z[l] = logit(m, l, v[l], NULL);
}

void ac_joma_attention_weights(const ac_joma_reduced *m, const double *v, double *b)
{
    int M = m->M;
    if (m->attention == AC_JOMA_ATT_LINEAR) {
        double s = 0.0;
        for (int l = 0; l < M; l++) {
            b[l] = weight(m, l) * logit(m, l, v[l], NULL);
            s += b[l];
        }
        for (int l = 0; l < M; l++)
            b[l] /= s;
        return;
    }
    double lA = log_partition(m, v);
    for (int l = 0; l < M; l++)
        b[l] = weight(m, l) > 0.0 ? weight(m, l) * exp(logit(m, l, v[l], NULL) - lA) : 0.0;
}

/* H = -sum b ln b with ln b_l = ln x_l + z_l - ln A taken from the logs, so
 * that a weight that underflows to 0 in b contributes its exact 0 limit. */
double ac_joma_entropy(const ac_joma_reduced *m, const double *v)
{
    int M = m->M;
    double H = 0.0;
    if (m->attention == AC_JOMA_ATT_LINEAR) {
        double s = 0.0;
        for (int l = 0; l < M; l++)
            s += weight(m, l) * logit(m, l, v[l], NULL);
        if (!(s > 0.0))
            return NAN; /* b = 0/0: no attention, so no entropy (it read 0, a one-hot attention's) */
        for (int l = 0; l < M; l++) {
            double b = weight(m, l) * logit(m, l, v[l], NULL) / s;
            if (b > 0.0)
                H -= b * log(b);
        }
        return H;
    }
    double lA = log_partition(m, v);
    for (int l = 0; l < M; l++) {
        if (!(weight(m, l) > 0.0))
            continue;
        double lb = log(weight(m, l)) + logit(m, l, v[l], NULL) - lA;
        H -= exp(lb) * lb;
    }
    return H;
}

void ac_joma_entropy_trajectory(const ac_joma_reduced *m, int nt, const double *V, double *H)
{
    for (int k = 0; k < nt; k++) {
        const double *v = V + (size_t)k * (size_t)m->M;
        int ok = 1;
        for (int l = 0; l < m->M; l++)
            ok &= !isnan(v[l]);
        H[k] = ok ? ac_joma_entropy(m, v) : NAN;
    }
}

/* ---- closed forms (spec joma §2.2a) ---- */

double ac_joma_linear_tstar(double delta, double T, double v0)
{
    if (!(T > 0.0) || !isfinite(T) || isnan(delta) || isnan(v0))
        return NAN; /* joma.h: no temperature, no law (T = 0 gave 0 or NaN by the sign of v0) */
    if (delta == 0.0)
        return HUGE_VAL;
    double s = delta > 0.0 ? 1.0 : -1.0;
    /* 1 - s erf(v0/sqrt T) = erfc(s v0 / sqrt T), exact for large v0 too. */
    return 0.5 * sqrt(M_PI * T) * erfc(s * v0 / sqrt(T)) / fabs(delta);
}

double ac_joma_linear_tstar_min(int M, const double *delta, double T, const double *v0)
{
    double t = HUGE_VAL;
    for (int l = 0; l < M; l++)
        t = fmin(t, ac_joma_linear_tstar(delta[l], T, v0 ? v0[l] : 0.0));
    return t;
}

/* erfc(w) = 2 Q(sqrt 2 w) with Q the standard normal upper tail, so
 * erfcinv(q) = Qinv(q/2)/sqrt 2 (GSL cdf). */
static double erfcinv(double q)
{
    if (!(q > 0.0))
        return q == 0.0 ? HUGE_VAL : NAN;
    if (q >= 2.0)
        return -HUGE_VAL; /* at or past the backward singularity */
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    double r = gsl_cdf_ugaussian_Qinv(0.5 * q) / M_SQRT2;
    gsl_set_error_handler(old);
    return r;
}

double ac_joma_linear_v(double delta, double T, double v0, double t)
{
    if (delta == 0.0)
        return v0;
    if (delta < 0.0)
        return -ac_joma_linear_v(-delta, T, -v0, t);
    double ts = ac_joma_linear_tstar(delta, T, v0);
    if (isnan(t))
        return NAN;
    if (t >= ts)
        return HUGE_VAL;
    /* erfc(v/sqrt T) = erfc(v0/sqrt T) - 2 Delta t/sqrt(pi T) = 2 Delta (t* - t)/sqrt(pi T). */
    double q = 2.0 * delta * (ts - t) / sqrt(M_PI * T);
    return sqrt(T) * erfcinv(q);
}

double ac_joma_erf_ratio(double v, double delta, double T)
{
    return erf(v / sqrt(T)) / delta;
}

double ac_joma_linear_v_inf(double delta, double delta_max, double T)
{
    /* erf(v/sqrt T) = r  <=>  v = sqrt T erfcinv(1 - r). */
    return sqrt(T) * erfcinv(1.0 - delta / delta_max);
}

/* ---- implicit solution of the nonlinear case (spec joma §2.2b) ---- */

typedef struct {
    double mu, T, s;
} quad_par;

/* exp(-(mu - s e^{-u})^2 / T): the integrand after r = mu - s e^{-u}. */
static double quad_integrand(double u, void *p)
{
    const quad_par *q = p;
    double r = q->mu - q->s * exp(-u);
    return exp(-r * r / q->T);
}

ac_status ac_joma_nonlinear_F(double mu, double T, double v0, double v, double epsabs,
                              double epsrel, double *F, double *abserr)
{
    if (!isfinite(mu) || !isfinite(v0) || !isfinite(v) || !(T > 0.0) || !isfinite(T) || !F)
        return AC_EINVAL;
    /* NaN tolerances pass GSL's own test (a comparison) and end as AC_ENOCONV */
    if (!(epsabs >= 0.0) || !(epsrel >= 0.0) || !isfinite(epsabs) || !isfinite(epsrel))
        return AC_EINVAL;
    double s = mu > v0 ? 1.0 : -1.0;
    if (mu == v0 || s * (mu - v) <= 0.0)
        return AC_EINVAL;
    quad_par par = {mu, T, s};
    double u0 = -log(fabs(mu - v0)), u1 = -log(fabs(mu - v));
    gsl_function fn = {quad_integrand, &par};
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    gsl_integration_workspace *ws = gsl_integration_workspace_alloc(AC_JOMA_QUAD_LIMIT);
    if (!ws) {
        gsl_set_error_handler(old);
        return AC_ENOMEM;
    }
    double err = 0.0;
    int rc = gsl_integration_qag(&fn, u0, u1, epsabs, epsrel, AC_JOMA_QUAD_LIMIT,
                                 GSL_INTEG_GAUSS21, ws, F, &err);
    gsl_integration_workspace_free(ws);
    gsl_set_error_handler(old);
    if (abserr)
        *abserr = err;
    if (rc == GSL_EBADTOL)
        return AC_EINVAL;
    return rc == GSL_SUCCESS ? AC_OK : AC_ENOCONV;
}

/* ---- joint gradient flow (spec joma §1.3, §6.1) ---- */

int ac_joma_joint_dim(const ac_joma_joint *J)
{
    if (J->M < 1 || J->K < 1 || J->N < 1) /* N = 0: the flow's expectations are 0/0 */
        return -1;
    long long dim = (long long)J->M + (long long)J->K * J->M + J->K; /* no int overflow */
    return dim <= INT_MAX ? (int)dim : -1;
}

/* ln sum_l x_l e^{z_l} for one sequence (SOFTMAX), by log-sum-exp. */
static double joint_log_partition(const ac_joma_joint *J, const double *x, const double *z)
{
    double zmax = -HUGE_VAL, s = 0.0;
    for (int l = 0; l < J->M; l++)
        if (x[l] > 0.0)
            zmax = fmax(zmax, z[l]);
    for (int l = 0; l < J->M; l++)
        if (x[l] > 0.0)
            s += x[l] * exp(z[l] - zmax);
    return zmax + log(s);
}

/* b_l(x, z) of the header; lA is the log partition (SOFTMAX only). */
static double joint_b(const ac_joma_joint *J, const double *x, const double *z, int l, double lA)
{
    switch (J->attention) {
    case AC_JOMA_ATT_LINEAR: return x[l] * z[l];
    case AC_JOMA_ATT_SOFTMAX: return x[l] > 0.0 ? x[l] * exp(z[l] - lA) : 0.0;
    default: return x[l] * exp(z[l]);
    }
}

static int joint_overflow(const ac_joma_joint *J, const double *z)
{
    if (J->attention != AC_JOMA_ATT_EXP)
        return 0;
    for (int l = 0; l < J->M; l++)
        if (z[l] > AC_JOMA_Z_OVERFLOW)
            return 1;
    return 0;
}

/* pre-activation v_k . b + q_k of hidden node k for one sequence. */
static double joint_pre(const ac_joma_joint *J, const double *y, const double *x, int k, double lA)
{
    const double *z = y, *vk = y + J->M + k * J->M;
    double s = y[J->M + J->K * J->M + k];
    for (int l = 0; l < J->M; l++)
        s += vk[l] * joint_b(J, x, z, l, lA);
    return s;
}

int ac_joma_joint_rhs(void *ctx, double t, const double *y, double *f)
{
    const ac_joma_joint *J = ctx;
    int M = J->M, K = J->K, dim = ac_joma_joint_dim(J);
    const double *z = y;
    (void)t;
    if (joint_overflow(J, z))
        return 1;
    memset(f, 0, sizeof(double) * (size_t)dim);
    double *fz = f, *fV = f + M, *fq = f + M + K * M;
    for (int n = 0; n < J->N; n++) {
        const double *x = J->X + n * M;
        double lA = J->attention == AC_JOMA_ATT_SOFTMAX ? joint_log_partition(J, x, z) : 0.0;
        for (int k = 0; k < K; k++) {
            const double *vk = y + M + k * M;
            double pre = joint_pre(J, y, x, k, lA);
            double h = J->tanh_act ? tanh(pre) : pre;
            double hp = J->tanh_act ? 1.0 - h * h : 1.0;
            /* g_k h'_k / N with g_k = -(h_k - y_k) = -dL/dh_k. */
            double gk = -(h - J->Y[n * K + k]) * hp / J->N;
            double vb = 0.0;
            if (J->attention == AC_JOMA_ATT_SOFTMAX)
                vb = pre - y[M + K * M + k];
            fq[k] += gk;
            for (int l = 0; l < M; l++) {
                double b = joint_b(J, x, z, l, lA);
                fV[k * M + l] += gk * b;
                /* dz_l: g h' v_k . db/dz_l (EXP db_l/dz_l = b_l; LINEAR x_l;
                 * SOFTMAX db_m/dz_l = b_m (delta_ml - b_l)). */
                switch (J->attention) {
                case AC_JOMA_ATT_LINEAR: fz[l] += gk * vk[l] * x[l]; break;
                case AC_JOMA_ATT_SOFTMAX: fz[l] += gk * b * (vk[l] - vb); break;
                default: fz[l] += gk * vk[l] * b; break;
                }
            }
        }
    }
    return 0;
}

double ac_joma_joint_loss(const ac_joma_joint *J, const double *y)
{
    int M = J->M, K = J->K;
    double L = 0.0;
    for (int n = 0; n < J->N; n++) {
        const double *x = J->X + n * M;
        double lA = J->attention == AC_JOMA_ATT_SOFTMAX ? joint_log_partition(J, x, y) : 0.0;
        for (int k = 0; k < K; k++) {
            double pre = joint_pre(J, y, x, k, lA);
            double r = (J->tanh_act ? tanh(pre) : pre) - J->Y[n * K + k];
            L += 0.5 * r * r;
        }
    }
    return L / J->N;
}

void ac_joma_joint_invariant(const ac_joma_joint *J, const double *y, double *I)
{
    int M = J->M, K = J->K;
    for (int l = 0; l < M; l++) {
        double s = 0.0;
        for (int k = 0; k < K; k++)
            s += y[M + k * M + l] * y[M + k * M + l];
        I[l] = J->attention == AC_JOMA_ATT_LINEAR ? y[l] * y[l] - s : y[l] - 0.5 * s;
    }
    if (J->attention == AC_JOMA_ATT_SOFTMAX && J->bbar) {
        double nv = 0.0;
        for (int i = M; i < M + K * M; i++)
            nv += y[i] * y[i];
        for (int l = 0; l < M; l++)
            I[l] += 0.5 * nv * J->bbar[l];
    }
}

/* Spec joma §6.4: with dz_m/dt = E[sum_k g h' b_m (v_km - v_k . b)] and
 * d/dt 1/2 |v_k|^2 = E[g h' v_k . b], the v-terms cancel the v_km part and
 * leave -E[sum_k g h' (b_m - bbar_m)(v_k . b)]. */
void ac_joma_joint_invariant_rate(const ac_joma_joint *J, const double *y, double *dI)
{
    int M = J->M, K = J->K;
    for (int l = 0; l < M; l++)
        dI[l] = 0.0;
    if (J->attention != AC_JOMA_ATT_SOFTMAX)
        return;
    for (int n = 0; n < J->N; n++) {
        const double *x = J->X + n * M;
        double lA = joint_log_partition(J, x, y);
        for (int k = 0; k < K; k++) {
            double pre = joint_pre(J, y, x, k, lA);
            double h = J->tanh_act ? tanh(pre) : pre;
            double hp = J->tanh_act ? 1.0 - h * h : 1.0;
            double gk = -(h - J->Y[n * K + k]) * hp / J->N;
            double vb = pre - y[M + K * M + k];
            for (int l = 0; l < M; l++) {
                double bl = joint_b(J, x, y, l, lA) - (J->bbar ? J->bbar[l] : 0.0);
                dI[l] -= gk * bl * vb;
            }
        }
    }
}
