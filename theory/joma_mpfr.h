/* MPFR mirror of theory/joma.h (suffix _mpfr, same formulas and branches,
 * every intermediate at prec bits), and two fixed-step MPFR integrators
 * for the checks of spec joma §6.4:
 *   - Gauss-Legendre collocation with s stages (order 2s), which conserves
 *     every quadratic first integral of the flow exactly (Cooper 1987), so
 *     the joint flow's invariants I1 (exp attention) and I1' (linear
 *     attention) hold to the working precision whatever the step: a test of
 *     the derivation of the gradient, not of the step size;
 *   - the classic explicit Runge-Kutta method of order 4, whose invariant
 *     residual is truncation error and shrinks as h^4.
 * Right-hand sides are autonomous (the JoMA flows are).  Arrays of mpfr_t
 * are initialised by the caller (any precision) and borrowed for the call;
 * outputs never alias inputs. */
#ifndef AC_JOMA_MPFR_H
#define AC_JOMA_MPFR_H

#include <mpfr.h>

#include "theory/joma.h"

/* f = F(y) at prec bits: 0 on success, non-zero to stop (as ac_ode_rhs). */
typedef int (*ac_joma_rhs_mpfr)(void *ctx, mpfr_t *y, mpfr_t *f, mpfr_prec_t prec);

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

typedef enum { AC_JOMA_MPFR_GL = 0, AC_JOMA_MPFR_RK4 } ac_joma_mpfr_method;

/* Stage equations of Gauss-Legendre, K_i = F(y + h sum_j a_ij K_j), are
 * solved by fixed-point iteration (it contracts by a factor h L max_i
 * sum_j |a_ij| per sweep, L the Lipschitz constant of F) until the largest
 * change of a stage is below 2^-(prec - AC_JOMA_GL_GUARD_BITS) (1 + max|K|):
 * 8 guard bits absorb the rounding of the sums, so the stages are exact to
 * the last ~8 bits and the conserved quantity drifts by a few ulps per step.
 * AC_JOMA_GL_MAX_ITER sweeps without that is AC_ENOCONV (the step is too
 * large for the iteration: h L >~ 1). */
#define AC_JOMA_GL_GUARD_BITS 8
#define AC_JOMA_GL_MAX_ITER 400

typedef struct ac_joma_mpfr_stepper ac_joma_mpfr_stepper;

/* A stepper for dimension dim >= 1, at prec bits; stages s >= 1 for GL (the
 * nodes are the roots of the Legendre polynomial P_s, found by Newton at
 * prec bits; the weights and a_ij follow by exact quadrature of the
 * Lagrange basis), ignored for RK4.  NULL on bad sizes, prec outside
 * MPFR's range, no memory, or nodes that Newton cannot resolve. */
ac_joma_mpfr_stepper *ac_joma_mpfr_stepper_alloc(ac_joma_mpfr_method m, int dim, int stages,
                                                 mpfr_prec_t prec);
void ac_joma_mpfr_stepper_free(ac_joma_mpfr_stepper *s);
/* The Butcher tableau of a GL stepper: c (s), b (s), a (s x s, row-major),
 * borrowed; NULL for RK4. */
void ac_joma_mpfr_stepper_tableau(const ac_joma_mpfr_stepper *s, mpfr_t **c, mpfr_t **b,
                                  mpfr_t **a);

/* One step of size h: y (dim, updated in place).  iters (may be NULL)
 * receives the fixed-point sweeps used (GL) or 0.  Returns AC_ECALLBACK when
 * F returns non-zero (y unchanged), AC_ENOCONV as above (y unchanged), else
 * AC_OK. */
ac_status ac_joma_mpfr_step(ac_joma_mpfr_stepper *s, ac_joma_rhs_mpfr F, void *ctx, mpfr_t *y,
                            const mpfr_t h, int *iters);
/* nsteps steps of size (t1 - t0)/nsteps (formed at prec bits), y in place;
 * max_iters (may be NULL) receives the largest sweep count.  Stops at the
 * first failing step with its status (y at the last good step). */
ac_status ac_joma_mpfr_integrate(ac_joma_mpfr_stepper *s, ac_joma_rhs_mpfr F, void *ctx,
                                 mpfr_t *y, double t0, double t1, long nsteps, int *max_iters);

#endif
