/* The check behind `attncheck moe check`, as a library call: whether an
 * attention model and its CBOW-MoE form (theory/moe.h) give the same
 * conditionals p(x_i | x_-i) at every slot of sentences drawn uniformly, in
 * double against the rounding bound of the model's sizes and entries
 * (ac_moe_logp_tolerance, never an observed difference) and at prec bits
 * through the MPFR mirror.  The command line adds the file, the cost bounds
 * and the report; a program of its own calls this (examples/lib/moe_check.c). */
#ifndef AC_MOE_CHECK_H
#define AC_MOE_CHECK_H

#include <gsl/gsl_rng.h>

#include "solvers/status.h"
#include "theory/moe.h"

/* Acceptance of the high-precision side (spec cbow_moe §2.5 item 3): the
 * two forms agree to >= 50 significant digits at >= 200 bits.  At 256 bits
 * (77 digits) this leaves 27 digits for the rounding the log-sum-exps and
 * the products of the form accumulate, far more than the sizes allowed
 * (AC_MOE_MAX_DIM) can lose.  Below 200 bits the digits are shown, not
 * judged. */
#define AC_MOE_CHECK_MIN_DIGITS 50
#define AC_MOE_CHECK_JUDGED_PREC 200

typedef struct {
    double tol;            /* ac_moe_logp_tolerance */
    double max_dlogp;      /* max |log p_attention - log p_form|, double */
    double max_dp;         /* max |p_attention - p_form|, double */
    double mpfr_max_rel;   /* max relative |log p_attention - log p_form| at prec bits */
    double digits;         /* -log10 of that (capped at the digits prec carries) */
    double double_err;     /* max |log p_attention(double) - log p_attention(prec bits)| */
    int double_judged;     /* ac_moe_check_double_judged(tol) */
    int holds_double;      /* both double maxima within tol (and no error) */
    int mpfr_judged;       /* prec >= AC_MOE_CHECK_JUDGED_PREC */
    int holds_mpfr;        /* digits >= AC_MOE_CHECK_MIN_DIGITS */
} ac_moe_check_result;

/* The double rows are judged when the rounding bound is under 1: a bound of
 * 1 or more on |log p| says the double forward pass may carry no correct
 * digit (entries so large that the scores overflow give inf or NaN), and
 * |p_attention - p_form| <= 1 always, so such a bound judges nothing. */
int ac_moe_check_double_judged(double tol);

/* Every judged row of r holds. */
int ac_moe_check_holds(const ac_moe_check_result *r);

/* Check m (borrowed) at every slot of `sentences` sentences whose words are
 * drawn uniformly with r, in double and at prec bits (>= MPFR_PREC_MIN).
 * perturb_c0 is a test hook: it is added to the form's c_0 on both sides, a
 * violation of known size (0: none).  A NaN in either side is kept by the
 * maxima and fails its row.  Fills res; AC_ENOMEM, or a status of the
 * forward passes (msg says which).  AC_EINVAL (msg names the quantity)
 * for a NULL m, r or res, a model that fails ac_moe_attention_check,
 * sentences < 1 (no slot would be judged, yet every row would hold) or prec
 * below MPFR_PREC_MIN.  On any error res (when non-NULL)
 * has both rows judged and neither holding, its numbers NaN where not
 * reached. */
ac_status ac_moe_check(const ac_moe_attention *m, int sentences, int prec, double perturb_c0, gsl_rng *r,
                       ac_moe_check_result *res, ac_msg *msg);

#endif
