/* MPFR mirror of the loss functions of theory/tpg_loss.h, function for
 * function and name for name (suffix _mpfr): the same log-sum-exp form and
 * the same branches, evaluated with every intermediate at prec bits.
 *
 * Use: resolve the loss where double saturates.  Along W_fin + s W_svm on
 * cyclic data L(s) -> L_inf > 0 with L(s) - L_inf ~ C e^{-s margin}; double
 * rounds L(s) to a constant once C e^{-s margin} < eps L_inf (s ~ 37 for a
 * unit margin), while at prec bits the decrease is resolved up to
 * s margin ~ prec ln 2 - ln(1/C) - 53 ln 2 (s = 1000 needs ~1500 bits).
 * The caller chooses prec. */
#ifndef AC_TPG_MPFR_H
#define AC_TPG_MPFR_H

#include <mpfr.h>

#include "theory/tpg_loss.h"

/* L from token logits U (K x K array of initialised mpfr_t, borrowed), as
 * ac_tpg_loss.  L (initialised by the caller at any precision) receives the
 * loss rounded to nearest; gU, when non-NULL, K x K initialised mpfr_t
 * (overwritten; may not alias U), receives dL/dU.  Intermediates use prec
 * bits.  Values: 0 when D->n == 0, +inf when a label is absent from its
 * sequence (gU NaN), NaN when norm <= 0 and D->n > 0.  Returns AC_EINVAL
 * when prec is outside [MPFR_PREC_MIN, MPFR_PREC_MAX], else AC_OK. */
ac_status ac_tpg_loss_mpfr(const ac_tpg_data *D, mpfr_t *U, double norm, mpfr_t L, mpfr_t *gU,
                           mpfr_prec_t prec);

/* The reduced loss, as ac_tpg_loss_reduced (queries R->last, divisor
 * R->n_full). */
ac_status ac_tpg_loss_reduced_mpfr(const ac_tpg_reduced *R, mpfr_t *U, mpfr_t L, mpfr_t *gU,
                                   mpfr_prec_t prec);

/* As ac_tpg_loss_line: U(s) = U0 + s U1 formed at prec bits from the double
 * inputs (exact when prec covers their exponent span: 53 bits plus
 * log2(max|U| / min nonzero |U|) plus log2|s|), L = L(U(s)), dLds =
 * <dL/dU(U(s)), U1>.  L and dLds (initialised by the caller) receive the
 * values rounded to nearest; Ld and dLdsd (each may be NULL) the same
 * values rounded to double.  Returns AC_EINVAL for a bad prec, AC_ENOMEM,
 * or AC_OK. */
ac_status ac_tpg_loss_line_mpfr(const ac_tpg_data *D, const double *U0, const double *U1,
                                double s, double norm, mpfr_t L, mpfr_t dLds, double *Ld,
                                double *dLdsd, mpfr_prec_t prec);

#endif
