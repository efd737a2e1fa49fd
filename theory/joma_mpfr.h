/* MPFR mirror of theory/joma.h (suffix _mpfr, same formulas and branches,
 * every intermediate at prec bits): the right-hand sides of the reduced
 * model and of the joint flow, the joint invariant and its rate, for the
 * checks of spec joma §6.4.  They have the signature ac_ode_mpfr_rhs of
 * solvers/ode_mpfr.h, whose Gauss-Legendre and RK4 steppers integrate
 * them.  Right-hand sides are autonomous (the JoMA flows are).  Arrays of
 * mpfr_t are initialised by the caller (any precision) and borrowed for the
 * call; outputs never alias inputs. */
#ifndef AC_JOMA_MPFR_H
#define AC_JOMA_MPFR_H

#include <mpfr.h>

#include "solvers/ode_mpfr.h"
#include "theory/joma.h"

/* As ac_joma_reduced_rhs (ctx = const ac_joma_reduced *, t dropped): f (M)
 * receives the right-hand side at v (M), rounded to nearest, with the
 * double inputs of the model (Delta, mu, lambda, x, c, T) taken exactly.
 * Never overflows (MPFR's exponent range), so it always returns 0. */
int ac_joma_reduced_rhs_mpfr(void *ctx, mpfr_t *v, mpfr_t *f, mpfr_prec_t prec);
/* As ac_joma_joint_rhs (ctx = const ac_joma_joint *); returns 0. */
int ac_joma_joint_rhs_mpfr(void *ctx, mpfr_t *y, mpfr_t *f, mpfr_prec_t prec);
/* As ac_joma_joint_invariant: I (M entries). */
void ac_joma_joint_invariant_mpfr(const ac_joma_joint *J, mpfr_t *y, mpfr_t *I, mpfr_prec_t prec);
/* As ac_joma_joint_invariant_rate: dI (M entries). */
void ac_joma_joint_invariant_rate_mpfr(const ac_joma_joint *J, mpfr_t *y, mpfr_t *dI,
                                       mpfr_prec_t prec);

#endif
