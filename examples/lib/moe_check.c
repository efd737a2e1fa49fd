/* The CBOW-MoE form of an attention model and the check that both give the
 * same conditionals (spec cbow_moe §2), through libattncheck
 * (docs/library.md): the model from a file (verify/moe_io.h), the form and
 * the two log-probabilities from theory/moe.h.  The form written is
 * `attncheck moe convert --model MODEL`'s, byte for byte; the double-
 * precision half of `attncheck moe check --model MODEL` (its defaults: 32
 * sentences drawn from GSL's mt19937 seeded 1, every slot) gives its
 * numbers bit for bit.
 *
 *   moe_check examples/moe-model.json [FORM_OUT]
 *
 * Writes the form to FORM_OUT when given; prints "KEY VALUE" lines, KEY
 * named as in `moe check --format json`: tolerance, max_abs_dlogp,
 * max_abs_dp, holds_double.  Exit 0 when the two agree within the
 * tolerance, 1 when they do not, 2 on bad input. */
#include <errno.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/status.h"
#include "theory/moe.h"
#include "verify/moe_io.h"

#define SENTENCES 32
#define SEED 1

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
    gsl_rng *r = NULL;
    int *x = NULL;
    double *la = NULL, *lf = NULL;
    int rc = 2;

    ac_status st = ac_moe_model_read(argv[1], &mm, &msg);
    if (st != AC_OK)
        goto fail;
    /* mm->m is the attention model (its arrays owned by mm); the form is
     * allocated from its sizes and filled by the reparameterisation. */
    const ac_moe_sizes *s = &mm->m.s;
    if (!(f = ac_moe_form_alloc(s))) {
        st = ac_fail(&msg, AC_ENOMEM, "%s: out of memory for the form", argv[1]);
        goto fail;
    }
    if ((st = ac_moe_form_from_attention(&mm->m, f, &msg)) != AC_OK)
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

    /* log p(x_i = v | x_-i) by the attention forward pass and by the form,
     * at every slot i of SENTENCES sentences drawn uniformly. */
    r = gsl_rng_alloc(gsl_rng_mt19937);
    x = malloc(sizeof *x * (size_t)s->L);
    la = malloc(sizeof *la * (size_t)s->V);
    lf = malloc(sizeof *lf * (size_t)s->V);
    if (!r || !x || !la || !lf) {
        st = ac_fail(&msg, AC_ENOMEM, "%s: out of memory", argv[1]);
        goto fail;
    }
    gsl_rng_set(r, SEED);
    double max_dlogp = 0.0, max_dp = 0.0;
    for (int n = 0; n < SENTENCES; n++) {
        for (int j = 0; j < s->L; j++)
            x[j] = (int)gsl_rng_uniform_int(r, (unsigned long)s->V);
        for (int i = 0; i < s->L; i++) {
            if ((st = ac_moe_attention_logp(&mm->m, x, i, la, &msg)) != AC_OK ||
                (st = ac_moe_form_logp(f, x, i, lf, &msg)) != AC_OK)
                goto fail;
            for (int v = 0; v < s->V; v++) {
                max_dlogp = fmax(max_dlogp, fabs(la[v] - lf[v]));
                max_dp = fmax(max_dp, fabs(exp(la[v]) - exp(lf[v])));
            }
        }
    }
    /* The tolerance is the rounding bound of the model's sizes and entries,
     * never an observed difference (theory/moe.h). */
    double tol = ac_moe_logp_tolerance(&mm->m);
    int holds = max_dlogp <= tol && max_dp <= tol;
    printf("tolerance %.17g\n", tol);
    printf("max_abs_dlogp %.17g\n", max_dlogp);
    printf("max_abs_dp %.17g\n", max_dp);
    printf("holds_double %s\n", holds ? "true" : "false");
    rc = holds ? 0 : 1;
    goto done;

fail:
    fprintf(stderr, "moe_check: %s\n", msg.text[0] ? msg.text : ac_status_str(st));
done:
    free(x);
    free(la);
    free(lf);
    gsl_rng_free(r);
    ac_moe_form_free(f);
    ac_moe_model_free(mm);
    return rc;
}
