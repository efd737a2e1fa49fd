/* The CBOW-MoE form of an attention model and the check that both give the
 * same conditionals (spec cbow_moe §2), through libattncheck
 * (docs/library.md): the model from a file (verify/moe_io.h), the form in
 * double (theory/moe.h), and the check (verify/moe_check.h), which compares
 * the two log-probabilities in double and at 256 bits (theory/moe_mpfr.h,
 * the MPFR mirror).  The form written is `attncheck moe convert --model
 * MODEL`'s, byte for byte; the check is `attncheck moe check --model MODEL`'s
 * with its defaults (32 sentences drawn from GSL's mt19937 seeded 1, every
 * slot, 256 bits), so its numbers are that command's, bit for bit.
 *
 *   moe_check examples/moe-model.json [FORM_OUT]
 *
 * Writes the form to FORM_OUT when given; prints "KEY VALUE" lines, KEY
 * named as in `moe check --format json`.  Exit 0 when every judged row holds
 * (within the rounding bound in double, to >= AC_MOE_CHECK_MIN_DIGITS digits
 * at 256 bits), 1 when one does not, 2 on bad input. */
#include <errno.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <mpfr.h>
#include <stdio.h>
#include <string.h>

#include "solvers/status.h"
#include "theory/moe.h"
#include "verify/moe_check.h"
#include "verify/moe_io.h"

#define SENTENCES 32
#define SEED 1
#define PREC 256 /* bits: 77 digits, of which the check asks 50 */

/* The form of m in double, written to path. */
static ac_status write_form(const ac_moe_attention *m, const char *path, ac_msg *msg)
{
    ac_moe_form *f = ac_moe_form_alloc(&m->s);
    if (!f)
        return ac_fail(msg, AC_ENOMEM, "out of memory for the form");
    ac_status st = ac_moe_form_from_attention(m, f, msg);
    if (st == AC_OK) {
        FILE *out = fopen(path, "w");
        if (!out) {
            st = ac_fail(msg, AC_EIO, "%s: cannot open for writing: %s", path, strerror(errno));
        } else {
            st = ac_moe_form_write(out, f, msg);
            /* the library leaves closing (and so the last write error) to us */
            if (fclose(out) != 0 && st == AC_OK)
                st = ac_fail(msg, AC_EIO, "%s: write failed: %s", path, strerror(errno));
        }
    }
    ac_moe_form_free(f);
    return st;
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
    gsl_rng *r = NULL;
    int rc = 2;

    /* mm->m is the attention model (its arrays owned by mm). */
    ac_status st = ac_moe_model_read(argv[1], &mm, &msg);
    if (st == AC_OK && argc == 3)
        st = write_form(&mm->m, argv[2], &msg);
    if (st == AC_OK && !(r = gsl_rng_alloc(gsl_rng_mt19937)))
        st = ac_fail(&msg, AC_ENOMEM, "out of memory");
    ac_moe_check_result c;
    if (st == AC_OK) {
        gsl_rng_set(r, SEED);
        st = ac_moe_check(&mm->m, SENTENCES, PREC, 0.0, r, &c, &msg);
    }
    if (st != AC_OK) {
        fprintf(stderr, "moe_check: %s: %s\n", argv[1], msg.text[0] ? msg.text : ac_status_str(st));
    } else {
        /* The double tolerance is the rounding bound of the model's sizes
         * and entries, never an observed difference (theory/moe.h). */
        printf("tolerance %.17g\n", c.tol);
        printf("max_abs_dlogp %.17g\n", c.max_dlogp);
        printf("max_abs_dp %.17g\n", c.max_dp);
        printf("holds_double %s\n", c.holds_double ? "true" : "false");
        printf("mpfr_max_rel_dlogp %.17g\n", c.mpfr_max_rel);
        printf("mpfr_digits %.17g\n", c.digits);
        printf("holds_mpfr %s\n", c.holds_mpfr ? "true" : "false");
        printf("double_vs_mpfr %.17g\n", c.double_err);
        rc = ac_moe_check_holds(&c) ? 0 : 1;
    }
    gsl_rng_free(r);
    ac_moe_model_free(mm);
    mpfr_free_cache(); /* MPFR's constant caches, so a leak checker sees none */
    return rc;
}
