/* The check behind `attncheck moe check` (verify/moe_check.h). */
#include "verify/moe_check.h"

#include <math.h>
#include <mpfr.h>
#include <stdlib.h>

#include "theory/moe_mpfr.h"
#include "verify/trial.h"

int ac_moe_check_double_judged(double tol)
{
    return tol < 1.0;
}

int ac_moe_check_holds(const ac_moe_check_result *r)
{
    return (!r->double_judged || r->holds_double) && (!r->mpfr_judged || r->holds_mpfr);
}

ac_status ac_moe_check(const ac_moe_attention *m, int sentences, int prec, double perturb_c0, gsl_rng *r,
                       ac_moe_check_result *res, ac_msg *msg)
{
    if (res) /* until the run says otherwise: judged, and nothing holds */
        *res = (ac_moe_check_result){.tol = NAN, .max_dlogp = NAN, .max_dp = NAN, .mpfr_max_rel = NAN,
                                     .digits = NAN, .double_err = NAN, .double_judged = 1,
                                     .mpfr_judged = 1};
    if (!m || !r || !res)
        return ac_fail(msg, AC_EINVAL, "moe check: the model, the random generator or the result is NULL");
    const char *why = ac_moe_attention_check(m);
    if (why)
        return ac_fail(msg, AC_EINVAL, "%s", why);
    if (sentences < 1)
        return ac_fail(msg, AC_EINVAL,
                       "moe check: %d sentences; need at least 1 (with none, no slot would be judged)", sentences);
    if (prec < MPFR_PREC_MIN) /* an int never exceeds MPFR_PREC_MAX */
        return ac_fail(msg, AC_EINVAL, "moe check: precision %d bits is below MPFR's minimum of %ld", prec,
                       (long)MPFR_PREC_MIN);
    const ac_moe_sizes *s = &m->s;
    const int V = s->V, L = s->L;
    ac_moe_form *f = ac_moe_form_alloc(s);
    ac_moe_form_mpfr *fm = ac_moe_form_mpfr_alloc(s, prec);
    int *x = malloc(sizeof *x * (size_t)L);
    double *la = malloc(sizeof *la * (size_t)V), *lf = malloc(sizeof *lf * (size_t)V);
    mpfr_t *ma = malloc(sizeof *ma * (size_t)V), *mf = malloc(sizeof *mf * (size_t)V);
    mpfr_t diff;
    ac_status st = f && fm && x && la && lf && ma && mf ? AC_OK : ac_fail(msg, AC_ENOMEM, "no memory");
    int ninit = 0;
    if (st == AC_OK) {
        for (; ninit < V; ninit++) {
            mpfr_init2(ma[ninit], prec);
            mpfr_init2(mf[ninit], prec);
        }
        mpfr_init2(diff, prec);
    }
    if (st == AC_OK)
        st = ac_moe_form_from_attention(m, f, msg);
    if (st == AC_OK)
        st = ac_moe_form_from_attention_mpfr(m, fm, msg);
    if (st == AC_OK && perturb_c0 != 0.0) {
        f->c[0] += perturb_c0;
        mpfr_add_d(fm->c[0], fm->c[0], perturb_c0, MPFR_RNDN);
    }
    res->tol = ac_moe_logp_tolerance(m);
    res->max_dlogp = res->max_dp = res->mpfr_max_rel = res->double_err = 0;
    for (int n = 0; n < sentences && st == AC_OK; n++) {
        for (int j = 0; j < L; j++)
            x[j] = (int)gsl_rng_uniform_int(r, (unsigned long)V);
        for (int i = 0; i < L && st == AC_OK; i++) {
            if ((st = ac_moe_attention_logp(m, x, i, la, msg)) != AC_OK ||
                (st = ac_moe_form_logp(f, x, i, lf, msg)) != AC_OK ||
                (st = ac_moe_attention_logp_mpfr(m, x, i, ma, prec, msg)) != AC_OK ||
                (st = ac_moe_form_logp_mpfr(fm, x, i, mf, msg)) != AC_OK)
                break;
            for (int v = 0; v < V; v++) {
                /* NaN (an overflow in one form) is kept, and fails the row. */
                res->max_dlogp = ac_max_keep_nan(res->max_dlogp, fabs(la[v] - lf[v]));
                res->max_dp = ac_max_keep_nan(res->max_dp, fabs(exp(la[v]) - exp(lf[v])));
                mpfr_sub(diff, ma[v], mf[v], MPFR_RNDN);
                double d = fabs(mpfr_get_d(diff, MPFR_RNDN));
                double scale = fmax(fabs(mpfr_get_d(ma[v], MPFR_RNDN)), 1.0);
                res->mpfr_max_rel = ac_max_keep_nan(res->mpfr_max_rel, d / scale);
                mpfr_sub_d(diff, ma[v], la[v], MPFR_RNDN);
                res->double_err = ac_max_keep_nan(res->double_err, fabs(mpfr_get_d(diff, MPFR_RNDN)));
            }
        }
    }
    /* An exact agreement (0) is all the digits the precision carries. */
    const double carried = prec * log10(2.0);
    res->digits = isnan(res->mpfr_max_rel) ? NAN
                  : res->mpfr_max_rel > 0   ? fmin(-log10(res->mpfr_max_rel), carried)
                                            : carried;
    res->double_judged = ac_moe_check_double_judged(res->tol);
    res->holds_double = st == AC_OK && res->max_dlogp <= res->tol && res->max_dp <= res->tol;
    res->mpfr_judged = prec >= AC_MOE_CHECK_JUDGED_PREC;
    res->holds_mpfr = res->digits >= AC_MOE_CHECK_MIN_DIGITS;
    if (ninit == V)
        mpfr_clear(diff);
    for (int v = 0; v < ninit; v++) {
        mpfr_clear(ma[v]);
        mpfr_clear(mf[v]);
    }
    free(ma), free(mf), free(x), free(la), free(lf);
    ac_moe_form_mpfr_free(fm);
    ac_moe_form_free(f);
    return st;
}
