/* The claims of JoMA (Tian, Wang, Zhang, Chen, Du, ICLR 2024; spec joma),
 * registered in verify/registry.c, and the measurements they make, exposed
 * so that tests can feed them a broken right-hand side or gradient.
 *
 *   joma.invariant               §2.1, §4.1, §6.3 I1/I2: z against (1/2T) sum_k v_k^2
 *                                along SGD of the one-layer block
 *   joma.linear-sparse           §2.2a, §3.1: erf law, Euler lag, blow-up, sparsity;
 *                                the ratio law of the reduced softmax model (an
 *                                integrator check: an identity of that model)
 *   joma.nonlinear-sparse-dense  §2.2b, §3.2, §4.2: entropy dip and rebound, toy
 *                                against the ODE, salient first; the trained block
 *                                (tanh, linear loss: Assumption 1) over seeds
 *   joma.solver-crosscheck       §6.2-§6.4: integrator against closed form,
 *                                quadrature and MPFR; GL invariants; RK4 order;
 *                                softmax drift against the covariance term
 *
 * Experiment and theory are separate code paths: the experiment sides are
 * verify/joma_model (SGD of the block) and verify/joma_toy (the authors'
 * Euler map); the theory sides are theory/joma* and the ODE solvers. */
#ifndef AC_JOMA_CLAIMS_H
#define AC_JOMA_CLAIMS_H

#include <mpfr.h>

#include "solvers/ode.h"
#include "solvers/ode_mpfr.h"
#include "solvers/status.h"
#include "theory/joma.h"
#include "verify/claim.h"
#include "verify/trial.h"

#define AC_JOMA_NCLAIMS 6
extern const ac_claim_def ac_joma_claims[AC_JOMA_NCLAIMS];

/* ---- joma.invariant: the exp invariant along SGD ----
 * I_l = z_l - (1/2T) sum_k v_kl^2.  One SGD step (z, V) -> (z + Dz, V + DV)
 * with Dz_l = (1/T) sum_k v_kl DV_kl (exp attention, orthonormal
 * embeddings: the gradients share the factor, spec §2.1) changes I_l by
 * exactly -(1/2T) sum_k DV_kl^2: each DV is -lr g, so the drift is O(lr^2)
 * per step and O(lr) per unit time.  The tracker sums these second-order
 * terms from the states it is given (it never sees a gradient) and a
 * rounding allowance, and compares the drift with them. */

/* Rounding allowance per step and per unit of |z| + (1/T) sum_k v^2: the
 * update z += Dz rounds at eps |z|, each v += Dv at eps |v| (squared: 2 eps
 * v^2), and I itself is formed from them again (3 more roundings); 8 eps
 * covers the five with room. */
#define AC_JOMA_INV_ROUND_ULPS 8.0

typedef struct {
    int M, K;
    double T;
    double *I0;     /* M: I at the first state */
    double *Vprev;  /* K x M: the previous V */
    double *bound;  /* M: sum over steps of (1/2T) sum_k DV_kl^2 + rounding allowance */
    double *drift;  /* M: |I_l - I0_l| at the last state */
    double ratio;   /* max over states and l of drift_l / bound_l (0 before the second state) */
    long steps;     /* states added after the first */
} ac_joma_inv_track;

/* Start at (z (M), V (K x M, row k = v_k)), both copied.  AC_EINVAL for
 * sizes < 1 or T <= 0; AC_ENOMEM (tr left cleared). */
ac_status ac_joma_inv_track_init(ac_joma_inv_track *tr, int M, int K, double T, const double *z,
                                 const double *V);
/* Free and zero; a zeroed struct is a no-op. */
void ac_joma_inv_track_clear(ac_joma_inv_track *tr);
/* The state after one more step (z, V borrowed for the call). */
void ac_joma_inv_track_add(ac_joma_inv_track *tr, const double *z, const double *V);

/* Normalised correlation of spec §4.1: the cosine of the mean-centred a and
 * b (n entries); NaN when either is constant. */
double ac_joma_nc(int n, const double *a, const double *b);

/* ---- joma.linear-sparse: SGD as the Euler method of the joint flow ----
 * With exp attention, T = 1, identity activation, the linear loss (g
 * constant) and K = 1, full-batch SGD with step h is the Euler method of
 * z' = v a e^z, v' = a e^z per token (a = Delta_l = the mean x_l), whose
 * exact solution is the erf law v = sqrt 2 erfinv(sqrt(2/pi) a t).  The
 * Euler iterate lags it by h e1(t) + O(h^2), with (spec §2.2a, derived
 * through the variational equation; the perturbations of the flow grow by
 * f(v_t)/f(v_s), f = a e^{v^2/2}):
 *     e1 = a e^{v^2/2} [ v^2/4 + 1/2 int_0^v e^{r^2/2} sqrt(pi/2)
 *                        (erf(v/sqrt 2) - erf(r/sqrt 2)) dr ],
 * the first term the lag of the reduced Euler map, the second the SGD
 * drift of the invariant (-1/2 sum Dv^2) fed back through z.  Returns e1 at
 * the exact v(t) (v >= 0). */
double ac_joma_sgd_lag_coeff(double a, double v);

/* The ratio law (spec §3.1, §6.3 I3) on the reduced softmax linear system
 * sys (the claim passes ac_joma_reduced_system of the SOFTMAX, linear model
 * with x = Delta, T = 2; a test passes a broken one): integrated from v = 0
 * to t1 by rk8pd at the default tolerances, *score = (max_l r_l / min_l
 * r_l - 1) / (10 steps (rtol + atol / min v)), r_l = erf(v_l/sqrt 2) /
 * Delta_l, the spread over its tolerance (<= 1 when the law holds); *steps
 * the accepted steps.  AC_ENUMERIC (msg with t and h) when the integration
 * does not reach t1. */
ac_status ac_joma_ratio_law_score(const ac_ode_system *sys, const double *delta, double t1, double *score,
                                  long *steps, ac_msg *msg);

/* ---- joma.solver-crosscheck ---- */

/* The implicit solution of the nonlinear EXP model m (lambda = 1, c = 0,
 * M <= 4; spec §2.2b, §6.3 I4): sys (the claim passes
 * ac_joma_reduced_system(m); a test passes a broken one, with a Jacobian)
 * integrated by msbdf at rtol 1e-12 from v0 to t1, then *score = max_j
 * |F_j(v_j(t1)) - t1| / (|dF/dv| bound + 2 abserr + rel |F|), F by
 * quadrature (ac_joma_nonlinear_F), bound the Dahlquist bound on the
 * global error built from m's Jacobian (*bound).  <= 1 when the law holds.
 * AC_EINVAL for M > 4; AC_ENUMERIC when the integration does not reach t1. */
ac_status ac_joma_quadrature_score(const ac_joma_reduced *m, const ac_ode_system *sys, const double *v0, double t1,
                                   double *score, double *bound, ac_msg *msg);

/* The MPFR checks of spec §6.4.
 * Both take the right-hand side F to integrate (the claim passes
 * ac_joma_joint_rhs_mpfr; a test passes a broken one) and y0 (the joint
 * state, ac_joma_joint_dim(J) entries). */

/* Integrate y' = F(y) from y0 over [0, t1] in nsteps steps of method meth
 * (stages s for GL) at prec bits; *drift = max_l |I_l(t1) - I_l(0)| of
 * ac_joma_joint_invariant_mpfr.  Errors of the stepper (AC_ENOCONV,
 * AC_ECALLBACK, AC_ENOMEM) are returned with msg. */
ac_status ac_joma_mpfr_invariant_drift(const ac_joma_joint *J, ac_ode_mpfr_rhs F, const double *y0,
                                       ac_ode_mpfr_method meth, int stages, long nsteps, double t1,
                                       mpfr_prec_t prec, double *drift, ac_msg *msg);
/* The softmax "invariant" of J (J->bbar set) along F, integrated by
 * Gauss-Legendre with s stages beside w' = dI/dt (the covariance term of
 * ac_joma_joint_invariant_rate_mpfr): *drift = the l of largest |I_l(t1) -
 * I_l(0)|'s value, *miss = max_l |I_l(t1) - I_l(0) - w_l(t1)|. */
ac_status ac_joma_mpfr_softmax_drift(const ac_joma_joint *J, ac_ode_mpfr_rhs F, const double *y0, int stages,
                                     long nsteps, double t1, mpfr_prec_t prec, double *drift, double *miss,
                                     ac_msg *msg);

#endif
