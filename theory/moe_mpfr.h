/* MPFR mirror of theory/moe.h, function for function and name for name
 * (suffix _mpfr): the reparameterisation, the conditionals from the
 * attention network and from the form, the geometric-mixture reading,
 * plain CBOW and the analogy defect, every intermediate at prec bits.
 *
 * Use: show the equivalence of spec cbow_moe §2 to >= 50 significant
 * digits (§2.5 item 3) and the exact analogy cases of §4.4 item 1 to
 * ~2^-prec.  Inputs are the same double arrays as the double code,
 * converted exactly, so both sides see identical weights.  Not mirrored:
 * the negative controls and the reverse construction (a LAPACK solve whose
 * output is doubles; feed those to ac_moe_attention_logp_mpfr). */
#ifndef AC_MOE_MPFR_H
#define AC_MOE_MPFR_H

#include <mpfr.h>

#include "theory/moe.h"

/* The form of theory/moe.h with mpfr_t entries, all at one precision;
 * shapes as ac_moe_form. */
typedef struct {
    ac_moe_sizes s;
    mpfr_prec_t prec;
    mpfr_t *w, *p, *gamma, *a, *b, *rho, *c, *slot_bias;
    mpfr_t *G1, *G2; /* two layers only, else NULL */
} ac_moe_form_mpfr;

/* A zeroed form for checked sizes at prec bits; NULL on bad sizes, prec
 * outside [MPFR_PREC_MIN, MPFR_PREC_MAX] or no memory.  _free(NULL) is a
 * no-op. */
ac_moe_form_mpfr *ac_moe_form_mpfr_alloc(const ac_moe_sizes *s, mpfr_prec_t prec);
void ac_moe_form_mpfr_free(ac_moe_form_mpfr *f);
/* Exact copy of a double form with the same sizes (AC_EINVAL otherwise). */
ac_status ac_moe_form_mpfr_set(ac_moe_form_mpfr *fm, const ac_moe_form *f, ac_msg *msg);

/* As ac_moe_form_from_attention, at fm's precision. */
ac_status ac_moe_form_from_attention_mpfr(const ac_moe_attention *m, ac_moe_form_mpfr *fm,
                                          ac_msg *msg);

/* As ac_moe_attention_logp: logp (V initialised mpfr_t, any precision)
 * gets log p(x_i = v | x_-i), every intermediate at prec bits.  Also
 * AC_EINVAL for prec outside MPFR's range; AC_ENOMEM. */
ac_status ac_moe_attention_logp_mpfr(const ac_moe_attention *m, const int *x, int i,
                                     mpfr_t *logp, mpfr_prec_t prec, ac_msg *msg);

/* As ac_moe_form_logp and ac_moe_geometric_logp, at fm's precision. */
ac_status ac_moe_form_logp_mpfr(const ac_moe_form_mpfr *fm, const int *x, int i, mpfr_t *logp,
                                ac_msg *msg);
ac_status ac_moe_geometric_logp_mpfr(const ac_moe_form_mpfr *fm, const int *x, int i,
                                     mpfr_t *logp, ac_msg *msg);

/* As ac_moe_cbow_logp, at prec bits. */
ac_status ac_moe_cbow_logp_mpfr(const ac_moe_cbow *m, int L, const int *x, int i, mpfr_t *logp,
                                mpfr_prec_t prec, ac_msg *msg);

/* As ac_moe_defect (delta may alias an input) and ac_moe_defect_variance
 * (var gets it, rounded to var's precision). */
void ac_moe_defect_mpfr(int V, mpfr_t *lp_a, mpfr_t *lp_b, mpfr_t *lp_c, mpfr_t *lp_d,
                        mpfr_t *delta);
void ac_moe_defect_variance_mpfr(int V, mpfr_t *delta, mpfr_t var);

/* As the double analogy defects; delta is V initialised mpfr_t. */
ac_status ac_moe_cbow_analogy_defect_mpfr(const ac_moe_cbow *m, int L, const int *ctx1,
                                          const int *ctx2, const ac_moe_quad *q, mpfr_t *delta,
                                          mpfr_prec_t prec, ac_msg *msg);
ac_status ac_moe_form_analogy_defect_mpfr(const ac_moe_form_mpfr *fm, const int *ctx1,
                                          const int *ctx2, const ac_moe_quad *q, mpfr_t *delta,
                                          ac_msg *msg);
/* As ac_moe_analogy_defect, the case's model copied exactly to prec bits. */
ac_status ac_moe_analogy_defect_mpfr(const ac_moe_analogy *an, mpfr_t *delta, mpfr_prec_t prec,
                                     ac_msg *msg);

#endif
