/* MPFR mirror of the action of theory/paths.h, function for function and
 * name for name (suffix _mpfr): the same entropy, energy and action with
 * their matrix gradients, every intermediate at prec bits, for small sizes
 * (dense O(n^3) loops, no BLAS).
 *
 * Use: tell how many digits the double evaluation keeps.  As T shrinks
 * below the spectrum of K, K + T I has condition ~ lambda_max / T, and the
 * double ln det and Y^T (K + T I)^{-1} Y lose about log10(lambda_max / T)
 * digits (the energy's quadratic form grows like 1/T when P > rank K);
 * at prec bits the loss is the same number of digits out of prec log10 2.
 * Inputs are doubles, converted exactly.  The caller chooses prec. */
#ifndef AC_PATHS_MPFR_H
#define AC_PATHS_MPFR_H

#include <mpfr.h>

#include "theory/paths.h"

/* As ac_paths_entropy: S (initialised by the caller at any precision) gets
 * the entropy, Ua (may be NULL) U_a in closed form, G (may be NULL;
 * ac_paths_u_size initialised mpfr_t) the matrix gradients.  U is the
 * double array of ac_paths_entropy.  Returns AC_EINVAL (bad settings or
 * prec outside [MPFR_PREC_MIN, MPFR_PREC_MAX]), AC_ENUMERIC (some U_l not
 * positive definite at prec bits), AC_ENOMEM, or AC_OK. */
ac_status ac_paths_entropy_mpfr(const ac_paths_settings *s, const double *U, mpfr_t S, mpfr_t Ua,
                                mpfr_t *G, mpfr_prec_t prec);

/* As ac_paths_energy, on the data Phi (P x N0 x H^L) and Y (P), U1 (H^L x
 * H^L): E gets ln det(K + T I) + Y^T (K + T I)^{-1} Y, G1 (may be NULL; H^L
 * x H^L initialised mpfr_t) gets M - B.  K is formed as sum_i Phi_i U_1
 * Phi_i^T directly.  Returns AC_EINVAL, AC_ENUMERIC (U_1 or K + T I not
 * positive definite), AC_ENOMEM, or AC_OK. */
ac_status ac_paths_energy_mpfr(const ac_paths_settings *s, int P, int N0, const double *Phi,
                               const double *Y, const double *U1, mpfr_t E, mpfr_t *G1,
                               mpfr_prec_t prec);

/* As ac_paths_action: S = entropy + energy, Ua and G (may be NULL) as
 * above.  Statuses as the two parts. */
ac_status ac_paths_action_mpfr(const ac_paths_settings *s, int P, int N0, const double *Phi,
                               const double *Y, const double *U, mpfr_t S, mpfr_t Ua, mpfr_t *G,
                               mpfr_prec_t prec);

#endif
