/* The claims of Wibisono & Wang, Bidirectional Attention as a Mixture of
 * Continuous Word Experts (UAI 2023), as ../shared/spec/cbow_moe.md states
 * them: the exact equivalence of attention and CBOW-MoE (§2.5), the
 * equivalence of the two fits (§2.5 item 6) and the linear-analogy cases
 * (§4.4).  The tabular claims (§3) are the other part of the table.
 * Registered in verify/registry.c. */
#ifndef AC_MOE_CLAIMS_H
#define AC_MOE_CLAIMS_H

#include "theory/moe.h"
#include "verify/claim.h"
#include "verify/trial.h"

#define AC_MOE_NCLAIMS 5
extern const ac_claim_def ac_moe_claims[AC_MOE_NCLAIMS];

/* The trial definitions, for a table that adds claims beside them. */
extern const ac_trial_def ac_moe_equivalence_trials;
extern const ac_trial_def ac_moe_fit_trials;
extern const ac_trial_def ac_moe_analogy_trials;

/* ---- moe.equivalence ------------------------------------------------------ */

/* The variants of the equivalence check (spec §2.1-§2.4, §2.5 item 1):
 * sizes V = 7, L = 5, d = 6, dk = 4, dv = 3 with weights N(0, 1), and */
typedef enum {
    AC_MOE_VAR_ONE_HEAD,      /* one head, the masked slot among the keys */
    AC_MOE_VAR_NO_SELF,       /* one head, the masked slot not a key */
    AC_MOE_VAR_BIASES,        /* query, key, value and output biases, W_O, c (§2.2) */
    AC_MOE_VAR_RESIDUAL,      /* the residual h_i + e_i with W_O (§2.2) */
    AC_MOE_VAR_HEADS,         /* three heads with W_O and biases (§2.3) */
    AC_MOE_VAR_HEADS_NO_SELF, /* three heads concatenated, no self */
    AC_MOE_VAR_TWO_LAYERS,    /* two layers (§2.4) */
    AC_MOE_VAR_TWO_NO_SELF,   /* two layers, no self */
    AC_MOE_NVAR
} ac_moe_variant;

/* The variant's name ("one head", ...) and its sizes and optional arrays
 * (theory/moe.h's AC_MOE_WITH_* bits).  NULL / AC_EINVAL for another v. */
const char *ac_moe_variant_name(ac_moe_variant v);
ac_status ac_moe_variant_sizes(ac_moe_variant v, ac_moe_sizes *s, unsigned *with);

/* The random sentences per trial and variant at a run size: in double
 * (every slot of each), and at AC_MOE_EQ_PREC bits when mpfr is 1.  Trial
 * i draws, for each variant in turn, the model's weights
 * (ac_moe_model_randomize, scale 1), then the double sentences, then the
 * MPFR ones, from the generator of seed S + i. */
int ac_moe_eq_sentences(ac_size s, int mpfr);

/* The model of variant v that trial `trial` of moe.equivalence draws at
 * seed and size (the claim's instance, bit for bit): replays the trial's
 * generator through the variants before v.  *out is a new model the
 * caller frees (ac_moe_model_free).  AC_EINVAL for a bad variant or a
 * negative trial, AC_ENOMEM. */
ac_status ac_moe_eq_instance(unsigned long seed, ac_size size, int trial, ac_moe_variant v,
                             ac_moe_model **out, ac_msg *msg);

/* The worst differences of two conditionals over the V words: *dlp gets
 * the larger of itself and max_v |a_v - b_v|, *dp of itself and max_v
 * |e^a_v - e^b_v| (the measurement of every |Δ log p| and |Δp| row of
 * moe.equivalence).  A NaN in a, b, *dlp or *dp makes the result NaN, so a
 * failed evaluation fails the row instead of vanishing from the maximum. */
void ac_moe_eq_diffs(int V, const double *a, const double *b, double *dlp, double *dp);

/* The check passes each variant when the largest |Δ log p| (and so |Δp|)
 * stays under ac_moe_logp_tolerance; at AC_MOE_EQ_PREC bits the two sides
 * must agree to AC_MOE_EQ_DIGITS significant digits (spec §2.5 item 3:
 * >= 200 bits, >= 50 digits; 256 bits carry 77). */
#define AC_MOE_EQ_PREC 256
#define AC_MOE_EQ_DIGITS 50
/* A negative control (spec §2.5 item 4) must differ from attention by at
 * least this many times the largest rounding tolerance of its trials: a
 * model the check cannot tell from attention within three orders of
 * magnitude of rounding would make a pass say little. */
#define AC_MOE_CONTROL_MARGIN 1e3

/* ---- moe.fit-equivalence --------------------------------------------------- */

/* Both fits run AC_MOE_FIT_LR full-batch Adam steps with the trainers,
 * then BFGS (solvers/minimize.h) on the same loss until ||grad||_inf <=
 * AC_MOE_FIT_GTOL (at most AC_MOE_FIT_BFGS_MAX iterations).  Two fits of
 * one optimum then end within AC_MOE_FIT_TOL: the loss left to gain is at
 * most P g^2 / (2 mu) for P < 150 parameters and g = AC_MOE_FIT_GTOL,
 * below 1e-6 for every curvature mu >= 1e-6 off the flat directions (the
 * non-identifiable directions of spec §2.1, along which the loss is
 * constant).  The fits are nonconvex: two fits from corresponding starts
 * may end in different optima, so the claim is judged by carrying each
 * optimum into the other coordinates and fitting again there (an optimum
 * of one is an optimum of the other); the independent fits' difference is
 * shown. */
#define AC_MOE_FIT_LR 1e-2
#define AC_MOE_FIT_GTOL 1e-7
#define AC_MOE_FIT_BFGS_MAX 3000
#define AC_MOE_FIT_TOL 1e-6
/* The claim's regress_rtol (verify/regress.h), in place of
 * AC_REGRESS_RTOL_DEFAULT's "a few ulps amplified by training".  Its
 * numbers are of three kinds: fitted losses (and their means, differences
 * and drops), which the gradient rule fixes only to within AC_MOE_FIT_TOL of
 * their optimum's loss (above), not to the ulp; the exact maps' residuals
 * (1e-16), which regress compares through their rows' tolerances; and the
 * teacher's loss (no training: a few ulps).  The fitted losses are of order
 * 1 nat (0.88 to 1.06 in the default run), so a relative AC_MOE_FIT_TOL is
 * that band; a smaller loss would only make the allowance tighter.  Another
 * summation order (OpenBLAS's Prescott and Nehalem kernels in place of
 * Haswell's, default size) moved the losses of fits at the rule by at most
 * 1.6e-8.  A larger move is another outcome of a fit and regress reports it:
 * those kernels also sent one attention fit to another optimum (its loss
 * by 1e-4) and moved a fit that met the iteration limit by 1.3e-5.  The
 * BFGS iteration counts are count rows (a percentage); the largest final
 * gradient is not reproducible below AC_MOE_FIT_GTOL and moves. */
#define AC_MOE_FIT_REGRESS_RTOL AC_MOE_FIT_TOL
#define AC_MOE_FIT_REGRESS_REASON                                                                                    \
    "fitted losses of order 1 nat end within AC_MOE_FIT_TOL of their optimum's by the gradient rule wherever "     \
    "rounding moves the Adam and BFGS paths (verify/moe_claims.h)"

/* ---- moe.analogy ------------------------------------------------------------- */

/* The analogy cases are computed at this precision in MPFR too. */
#define AC_MOE_ANALOGY_PREC 256

#endif
