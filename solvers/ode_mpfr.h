/* Fixed-step ODE integrators in MPFR for autonomous systems dy/dt = F(y),
 * knowing no paper:
 *   - Gauss-Legendre collocation with s stages (order 2s), which conserves
 *     every quadratic first integral of the flow exactly (Cooper 1987):
 *     such an invariant holds to the working precision whatever the step,
 *     so it tests the derivation of F rather than the step size;
 *   - the classic explicit Runge-Kutta method of order 4, whose invariant
 *     residual is truncation error and shrinks as h^4.
 * Arrays of mpfr_t are initialised by the caller (any precision) and
 * borrowed for the call; outputs never alias inputs. */
#ifndef AC_ODE_MPFR_H
#define AC_ODE_MPFR_H

#include <mpfr.h>

#include "solvers/status.h"

/* f = F(y) at prec bits (y and f: the stepper's dim entries): 0 on
 * success, non-zero to stop (as ac_ode_rhs). */
typedef int (*ac_ode_mpfr_rhs)(void *ctx, mpfr_t *y, mpfr_t *f, mpfr_prec_t prec);

typedef enum { AC_ODE_MPFR_GL = 0, AC_ODE_MPFR_RK4 } ac_ode_mpfr_method;

/* Stage equations of Gauss-Legendre, K_i = F(y + h sum_j a_ij K_j), are
 * solved by fixed-point iteration (it contracts by a factor h L max_i
 * sum_j |a_ij| per sweep, L the Lipschitz constant of F) until the largest
 * change of a stage is below 2^-(prec - AC_ODE_MPFR_GL_GUARD_BITS) (1 + max|K|):
 * 8 guard bits absorb the rounding of the sums, so the stages are exact to
 * the last ~8 bits and a conserved quantity drifts by a few ulps per step.
 * AC_ODE_MPFR_GL_MAX_ITER sweeps without that is AC_ENOCONV (the step is
 * too large for the iteration: h L >~ 1). */
#define AC_ODE_MPFR_GL_GUARD_BITS 8
#define AC_ODE_MPFR_GL_MAX_ITER 400

typedef struct ac_ode_mpfr_stepper ac_ode_mpfr_stepper;

/* A stepper for dimension dim >= 1, at prec bits; stages s >= 1 for GL (the
 * nodes are the roots of the Legendre polynomial P_s, found by Newton at
 * prec bits; the weights and a_ij follow by exact quadrature of the
 * Lagrange basis), ignored for RK4.  NULL on bad sizes (s^2 or s dim past
 * INT_MAX included), prec outside
 * MPFR's range, no memory, or nodes that Newton cannot resolve. */
ac_ode_mpfr_stepper *ac_ode_mpfr_stepper_alloc(ac_ode_mpfr_method m, int dim, int stages,
                                               mpfr_prec_t prec);
/* NULL is a no-op. */
void ac_ode_mpfr_stepper_free(ac_ode_mpfr_stepper *s);
/* The Butcher tableau of a GL stepper: c (s), b (s), a (s x s, row-major),
 * borrowed for the stepper's life; NULL for RK4. */
void ac_ode_mpfr_stepper_tableau(const ac_ode_mpfr_stepper *s, mpfr_t **c, mpfr_t **b,
                                 mpfr_t **a);

/* One step of size h: y (dim, updated in place).  iters (may be NULL)
 * receives the fixed-point sweeps used (GL) or 0.  Returns AC_EINVAL for a
 * NULL stepper, F or y; AC_ECALLBACK when F returns non-zero (y unchanged);
 * AC_ENOCONV as above (y unchanged); else AC_OK. */
ac_status ac_ode_mpfr_step(ac_ode_mpfr_stepper *s, ac_ode_mpfr_rhs F, void *ctx, mpfr_t *y,
                           const mpfr_t h, int *iters);
/* nsteps >= 1 steps of size (t1 - t0)/nsteps (formed at prec bits), y in
 * place; max_iters (may be NULL) receives the largest sweep count.  Stops
 * at the first failing step with its status (y at the last good step);
 * AC_EINVAL for nsteps < 1 or non-finite t0, t1. */
ac_status ac_ode_mpfr_integrate(ac_ode_mpfr_stepper *s, ac_ode_mpfr_rhs F, void *ctx, mpfr_t *y,
                                double t0, double t1, long nsteps, int *max_iters);

#endif
