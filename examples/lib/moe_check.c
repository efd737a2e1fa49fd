/* The CBOW-MoE form of an attention model and the check that both give the
 * same conditionals (spec cbow_moe §2), through libattncheck
 * (docs/library.md): the model from a file (verify/moe_io.h), the form and
 * the two log-probabilities in double (theory/moe.h) and at 256 bits
 * (theory/moe_mpfr.h, the MPFR mirror).  The form written is `attncheck moe
 * convert --model MODEL`'s, byte for byte; the comparison makes the calls of
 * `attncheck moe check --model MODEL` with its defaults (32 sentences drawn
 * from GSL's mt19937 seeded 1, every slot, 256 bits), so its numbers are
 * that command's, bit for bit.
 *
 *   moe_check examples/moe-model.json [FORM_OUT]
 *
 * Writes the form to FORM_OUT when given; prints "KEY VALUE" lines, KEY
 * named as in `moe check --format json`.  Exit 0 when the two sides agree
 * (within the rounding bound in double, to >= 50 digits at 256 bits), 1 when
 * they do not, 2 on bad input. */
#include <errno.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <mpfr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/status.h"
#include "theory/moe.h"
#include "theory/moe_mpfr.h"
#include "verify/moe_io.h"

#define SENTENCES 32
#define SEED 1
/* 256 bits carry 77 digits; spec cbow_moe §2.5 asks the two forms to agree
 * to 50 of them (at >= 200 bits), leaving 27 for the rounding of the
 * log-sum-exps and products. */
#define PREC 256
#define MIN_DIGITS 50.0

/* The largest differences over every slot of SENTENCES sentences. */
typedef struct {
    double dlogp, dp;   /* max |log p_attention - log p_form| and |p_a - p_f|, double */
    double mpfr_rel;    /* max |log p_a - log p_f| / max(|log p_a|, 1) at PREC bits */
    double double_err;  /* max |log p_a in double - log p_a at PREC bits| */
} diffs;

/* la, lf: V doubles; ma, mf: V mpfr_t; diff one mpfr_t, all initialised. */
static ac_status compare(const ac_moe_attention *m, const ac_moe_form *f, const ac_moe_form_mpfr *fm,
                         gsl_rng *r, int *x, double *la, double *lf, mpfr_t *ma, mpfr_t *mf, mpfr_t diff,
                         diffs *out, ac_msg *msg)
{
    const int V = m->s.V, L = m->s.L;
    ac_status st = AC_OK;
    *out = (diffs){0};
    for (int n = 0; n < SENTENCES; n++) {
        for (int j = 0; j < L; j++)
            x[j] = (int)gsl_rng_uniform_int(r, (unsigned long)V);
        for (int i = 0; i < L; i++) {
            if ((st = ac_moe_attention_logp(m, x, i, la, msg)) != AC_OK ||
                (st = ac_moe_form_logp(f, x, i, lf, msg)) != AC_OK ||
                (st = ac_moe_attention_logp_mpfr(m, x, i, ma, PREC, msg)) != AC_OK ||
                (st = ac_moe_form_logp_mpfr(fm, x, i, mf, msg)) != AC_OK)
                return st;
            for (int v = 0; v < V; v++) {
                out->dlogp = fmax(out->dlogp, fabs(la[v] - lf[v]));
                out->dp = fmax(out->dp, fabs(exp(la[v]) - exp(lf[v])));
                mpfr_sub(diff, ma[v], mf[v], MPFR_RNDN);
                double d = fabs(mpfr_get_d(diff, MPFR_RNDN));
                out->mpfr_rel = fmax(out->mpfr_rel, d / fmax(fabs(mpfr_get_d(ma[v], MPFR_RNDN)), 1.0));
                mpfr_sub_d(diff, ma[v], la[v], MPFR_RNDN);
                out->double_err = fmax(out->double_err, fabs(mpfr_get_d(diff, MPFR_RNDN)));
            }
        }
    }
    return AC_OK;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: moe_check MODEL.json [FORM_OUT]\n");
        return 2;
    }
    gsl_set_error_handler_off(); /* statuses, not GSL's abort */

    ac_msg msg = {{0}};
    ac_moe_model *mm = NULL;
    ac_moe_form *f = NULL;
    ac_moe_form_mpfr *fm = NULL;
    gsl_rng *r = NULL;
    int *x = NULL, V = 0, ninit = 0, rc = 2;
    double *la = NULL, *lf = NULL;
    mpfr_t *ma = NULL, *mf = NULL, diff;

    ac_status st = ac_moe_model_read(argv[1], &mm, &msg);
    if (st != AC_OK)
        goto fail;
    /* mm->m is the attention model (its arrays owned by mm); the forms are
     * allocated from its sizes and filled by the reparameterisation. */
    const ac_moe_sizes *s = &mm->m.s;
    V = s->V;
    f = ac_moe_form_alloc(s);
    fm = ac_moe_form_mpfr_alloc(s, PREC);
    r = gsl_rng_alloc(gsl_rng_mt19937);
    x = malloc(sizeof *x * (size_t)s->L);
    la = malloc(sizeof *la * (size_t)V);
    lf = malloc(sizeof *lf * (size_t)V);
    ma = malloc(sizeof *ma * (size_t)V);
    mf = malloc(sizeof *mf * (size_t)V);
    if (!f || !fm || !r || !x || !la || !lf || !ma || !mf) {
        st = ac_fail(&msg, AC_ENOMEM, "%s: out of memory", argv[1]);
        goto fail;
    }
    for (; ninit < V; ninit++) {
        mpfr_init2(ma[ninit], PREC);
        mpfr_init2(mf[ninit], PREC);
    }
    mpfr_init2(diff, PREC);
    if ((st = ac_moe_form_from_attention(&mm->m, f, &msg)) != AC_OK ||
        (st = ac_moe_form_from_attention_mpfr(&mm->m, fm, &msg)) != AC_OK)
        goto fail;

    if (argc == 3) {
        FILE *out = fopen(argv[2], "w");
        if (!out) {
            st = ac_fail(&msg, AC_EIO, "%s: cannot open for writing: %s", argv[2], strerror(errno));
            goto fail;
        }
        st = ac_moe_form_write(out, f, &msg);
        /* the library leaves closing (and so the last write error) to us */
        if (fclose(out) != 0 && st == AC_OK)
            st = ac_fail(&msg, AC_EIO, "%s: write failed: %s", argv[2], strerror(errno));
        if (st != AC_OK)
            goto fail;
    }

    diffs d;
    gsl_rng_set(r, SEED);
    if ((st = compare(&mm->m, f, fm, r, x, la, lf, ma, mf, diff, &d, &msg)) != AC_OK)
        goto fail;
    /* The double tolerance is the rounding bound of the model's sizes and
     * entries, never an observed difference (theory/moe.h).  An exact
     * agreement at PREC bits is all the digits PREC carries. */
    double tol = ac_moe_logp_tolerance(&mm->m);
    double carried = PREC * log10(2.0);
    double digits = d.mpfr_rel > 0 ? fmin(-log10(d.mpfr_rel), carried) : carried;
    int holds_double = d.dlogp <= tol && d.dp <= tol, holds_mpfr = digits >= MIN_DIGITS;
    printf("tolerance %.17g\n", tol);
    printf("max_abs_dlogp %.17g\n", d.dlogp);
    printf("max_abs_dp %.17g\n", d.dp);
    printf("holds_double %s\n", holds_double ? "true" : "false");
    printf("mpfr_max_rel_dlogp %.17g\n", d.mpfr_rel);
    printf("mpfr_digits %.17g\n", digits);
    printf("holds_mpfr %s\n", holds_mpfr ? "true" : "false");
    printf("double_vs_mpfr %.17g\n", d.double_err);
    rc = holds_double && holds_mpfr ? 0 : 1;
    goto done;

fail:
    fprintf(stderr, "moe_check: %s\n", msg.text[0] ? msg.text : ac_status_str(st));
done:
    if (ninit == V && V > 0)
        mpfr_clear(diff);
    for (int v = 0; v < ninit; v++) {
        mpfr_clear(ma[v]);
        mpfr_clear(mf[v]);
    }
    free(ma);
    free(mf);
    free(x);
    free(la);
    free(lf);
    gsl_rng_free(r);
    ac_moe_form_mpfr_free(fm);
    ac_moe_form_free(f);
    ac_moe_model_free(mm);
    mpfr_free_cache(); /* MPFR's constant caches, so a leak checker sees none */
    return rc;
}
