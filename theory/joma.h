/* JoMA (Tian, Wang, Zhang, Chen, Du, ICLR 2024): the MLP-only dynamics that
 * remain once attention is integrated out through the invariant (spec joma
 * §2.2, §6.1), their closed forms and implicit solutions, the attention
 * entropy, and the joint gradient flow of attention logits and MLP weights
 * whose quadratic first integral is the invariant (§2.1, §6.3 I1/I1').
 *
 * Reduced model ("reduced"): state v in R^M (the projected MLP weights of
 * one hidden node, K = 1), right-hand side
 *     dv_l/dt = g_l(v_l) a_l(v),
 *   drive g_l:   linear activation     g_l = Delta_l                  (§2.2a)
 *                nonlinear activation  g_l = lambda_l (mu_l - v_l)    (§2.2b)
 *   attention factor a_l, from the logits the invariant gives:
 *     EXP      z_l = v_l^2/T + c_l,  a_l = exp(z_l)                   (T = 2: the paper's exp(v^2/2))
 *     SOFTMAX  z_l as EXP,           a_l = exp(z_l) / sum_m x_m exp(z_m)
 *              (x = 1: the authors' temperature-normalised toy, softmax(v^2/T), T = 3;
 *              x = normalised counts: §2.2a's "exp-attention dynamics, normalised")
 *     LINEAR   z_l = sqrt(c_l + v_l^2) (the branch z > 0 of z^2 - v^2 = c), a_l = z_l.
 * The attention itself is b = x o exp(z) / sum(x o exp(z)) (EXP, SOFTMAX) or
 * b = x o z / sum(x o z) (LINEAR).
 *
 * Units: t is the gradient-flow time (learning rate times steps). */
#ifndef AC_JOMA_H
#define AC_JOMA_H

#include "solvers/ode.h"
#include "solvers/status.h"

typedef enum { AC_JOMA_ATT_EXP = 0, AC_JOMA_ATT_SOFTMAX, AC_JOMA_ATT_LINEAR } ac_joma_attention;
typedef enum { AC_JOMA_ACT_LINEAR = 0, AC_JOMA_ACT_NONLINEAR } ac_joma_activation;

/* "exp", "softmax", "linear"; NULL outside the list. */
const char *ac_joma_attention_name(ac_joma_attention a);

/* The paper's temperature: exp(v^2/2) (§2.2). */
#define AC_JOMA_T_PAPER 2.0
/* The authors' toy temperature: softmax(v^2/3) (§4.2, draw_figure_4.py). */
#define AC_JOMA_T_TOY 3.0
/* EXP attention: a logit above this makes the right-hand side ask for a
 * smaller step (return 1) instead of overflowing: exp(z) overflows double
 * at z = ln(DBL_MAX) = 709.78 (v > 37.6 at T = 2), and 700 leaves room for
 * the product with |g| <= 1e4. */
#define AC_JOMA_Z_OVERFLOW 700.0
/* Default of ac_joma_reduced.z_blowup: the blow-up test fires when
 * max_l z_l exceeds it.  At z = 40 the rate exp(z) = 2.4e17 |Delta| makes
 * t* - t < 1e-17 t*, below the resolution of t in double, so nothing past
 * it can be resolved anyway. */
#define AC_JOMA_Z_BLOWUP_DEFAULT 40.0

/* The reduced model.  All pointers are borrowed (M entries each) for as long
 * as the model is used; the struct is the ctx of the ODE callbacks. */
typedef struct {
    int M;
    ac_joma_attention attention;
    ac_joma_activation activation;
    const double *delta;   /* linear activation: Delta (required) */
    const double *mu;      /* nonlinear activation: targets mu (required) */
    const double *lambda;  /* nonlinear activation: prefactors lambda > 0; NULL: all 1 */
    const double *x;       /* SOFTMAX/LINEAR weights x >= 0, not all 0; NULL: all 1 */
    const double *c;       /* logit offsets c (LINEAR: c >= 0); NULL: all 0 */
    double T;              /* temperature > 0 (EXP/SOFTMAX) */
    double z_blowup;       /* blow-up test threshold on max z */
} ac_joma_reduced;

/* Fill m with M, the two kinds, drive (Delta for a linear activation, mu
 * for a nonlinear one; borrowed), T = AC_JOMA_T_PAPER, z_blowup default,
 * and NULL lambda, x, c. */
void ac_joma_reduced_init(ac_joma_reduced *m, int M, ac_joma_attention att, ac_joma_activation act,
                          const double *drive);
/* AC_OK, or AC_EINVAL with the sentence naming the quantity (index and
 * value): M < 1, a kind out of range, a missing or non-finite drive, T <= 0,
 * lambda <= 0, x < 0 or all zero, c < 0 for LINEAR attention. */
ac_status ac_joma_reduced_check(const ac_joma_reduced *m, ac_msg *msg);

/* The ac_ode callbacks, ctx = const ac_joma_reduced *.  rhs returns 1 (a
 * smaller step) when an EXP logit exceeds AC_JOMA_Z_OVERFLOW; jac fills the
 * exact Jacobian (row-major M x M) and dfdt = 0; blowup fires when
 * max_l z_l > z_blowup (EXP only; the other forms are bounded). */
int ac_joma_reduced_rhs(void *ctx, double t, const double *v, double *f);
int ac_joma_reduced_jac(void *ctx, double t, const double *v, double *J, double *dfdt);
int ac_joma_reduced_blowup(void *ctx, double t, const double *v);
/* sys = {M, rhs, jac, blowup, m}; m borrowed. */
void ac_joma_reduced_system(const ac_joma_reduced *m, ac_ode_system *sys);

/* The logits z (M) at v, and the attention b (M, sums to 1; log-sum-exp
 * form).  Outputs may not alias v. */
void ac_joma_logits(const ac_joma_reduced *m, const double *v, double *z);
void ac_joma_attention_weights(const ac_joma_reduced *m, const double *v, double *b);
/* Entropy -sum_l b_l ln b_l (nats, 0 ln 0 = 0) of the attention at v; NaN
 * where the attention is undefined (linear attention whose weighted logits
 * x_l sqrt(c_l + v_l^2) all vanish: b = 0/0). */
double ac_joma_entropy(const ac_joma_reduced *m, const double *v);

/* The entropy along a trajectory: H[k] = ac_joma_entropy(m, V + k M) for
 * k < nt (V: nt x M, row-major, e.g. the output of ac_ode_trajectory).
 * Rows holding a NaN (past the end of a failed integration) give NaN. */
void ac_joma_entropy_trajectory(const ac_joma_reduced *m, int nt, const double *V, double *H);

/* ---- Closed forms of the linear-activation EXP case (§2.2a) ----
 * dv/dt = Delta exp(v^2/T) gives
 *     erf(v/sqrt T) = erf(v0/sqrt T) + 2 Delta t / sqrt(pi T),
 * finite-time blow-up at t* = sqrt(pi T)/2 (1 - sgn(Delta) erf(v0/sqrt T)) / |Delta|
 * (T = 2, v0 = 0: t* = sqrt(pi/2)/|Delta|).  Near t* v is computed from
 * erfc, so v(t* (1 - 1e-12)) keeps its accuracy. */

/* t* of one component; +inf when Delta = 0; NaN when T is not a finite
 * positive number or Delta or v0 is NaN. */
double ac_joma_linear_tstar(double delta, double T, double v0);
/* min over l of the t* of each component (v0 = NULL: zeros); +inf when
 * every Delta is 0. */
double ac_joma_linear_tstar_min(int M, const double *delta, double T, const double *v0);
/* v(t): +-inf at or after t*; for t < 0 (backwards) -+inf at or before the
 * backward singularity, where erf(v/sqrt T) reaches -+1; NaN for NaN t. */
double ac_joma_linear_v(double delta, double T, double v0, double t);
/* Ratio law of the SOFTMAX case (any x, c = 0, v(0) = 0): A is common to
 * every l, so in the time tau = int dt/A the EXP closed form holds and
 * erf(v_l/sqrt T)/Delta_l is the same for every l at all times; this
 * returns it (Delta != 0). */
double ac_joma_erf_ratio(double v, double delta, double T);
/* The SOFTMAX saturation value v_l(inf) = sqrt T erfinv(Delta_l / Delta_max)
 * (Delta_max: the largest Delta, > 0; v(0) = 0). */
double ac_joma_linear_v_inf(double delta, double delta_max, double T);

/* ---- Implicit solution of the nonlinear case by quadrature (§2.2b) ----
 *     F(v) = int_{v0}^{v} exp(-r^2/T) / (mu - r) dr,
 * computed with u = -ln|mu - r| (dr/(mu - r) = du), which turns the
 * logarithmic end singularity at r = mu into the smooth integrand
 * exp(-(mu - s e^{-u})^2/T), s = sgn(mu - v0), over a finite u-interval.
 * EXP attention, nonlinear: lambda e^{c} t = F(v(t)) for each component.
 * SOFTMAX (x = 1): F_l(v_l(t)) / (lambda_l e^{c_l}) is the same for every l.
 * GSL QAG (21-point Gauss-Kronrod) to max(epsabs, epsrel |F|).  Returns
 * AC_EINVAL when v0 or v is on the wrong side of mu (or equal to it), T <= 0,
 * an input is not finite, F is NULL, or the tolerances are not usable
 * (negative or not finite, or epsabs = 0 with epsrel below GSL's floor of
 * 50 DBL_EPSILON); AC_ENOCONV when QAG cannot reach the
 * tolerance (F still filled with its estimate); else AC_OK.  abserr may be
 * NULL. */
#define AC_JOMA_QUAD_LIMIT 1000
ac_status ac_joma_nonlinear_F(double mu, double T, double v0, double v, double epsabs,
                              double epsrel, double *F, double *abserr);

/* ---- The joint gradient flow (§1.3, §6.1), with orthonormal embeddings ----
 * Data: N sequences, x^(n) in R^M (x >= 0), targets y^(n) in R^K.  Model:
 * attention b(x, z) of the chosen kind (EXP: b_l = x_l e^{z_l}; LINEAR:
 * b_l = x_l z_l; SOFTMAX: b_l = x_l e^{z_l} / sum x e^{z}), K hidden nodes
 * h_k = phi(v_k . b + q_k) (q_k: the weight on the residual u_q),
 * phi = identity or tanh, loss L = (1/N) sum_n 1/2 sum_k (h_k - y_k)^2.
 * State y = [z (M) | V (K x M, row-major, row k = v_k) | q (K)], dimension
 * M + K M + K; the flow is dy/dt = -grad L(y).  With g_k = -(h_k - y_k)
 * and h'_k = phi'(.),
 *     dv_k/dt = E[g_k h'_k b],   dq_k/dt = E[g_k h'_k],
 *     dz_l/dt = E[sum_k g_k h'_k v_k . db/dz_l],
 * so EXP gives dz/dt = sum_k v_k o dv_k/dt (I1: z - 1/2 sum_k v_k o v_k is
 * constant) and LINEAR z o dz/dt = sum_k v_k o dv_k/dt (I1': z o z -
 * sum_k v_k o v_k constant).  SOFTMAX conserves neither. */
typedef struct {
    int M, K, N;
    ac_joma_attention attention;
    int tanh_act;        /* 0: phi = identity, 1: phi = tanh */
    const double *X;     /* N x M, borrowed */
    const double *Y;     /* N x K, borrowed */
    const double *bbar;  /* SOFTMAX: the mean attention taken as constant by the
                          * approximate invariant (§1.4 item 4, §2.1), M
                          * entries, borrowed; NULL: no norm term */
} ac_joma_joint;

/* Dimension M + K M + K; -1 when M < 1, K < 1, N < 1 (no data: every
 * expectation of the flow is 0/0) or it exceeds INT_MAX (then ac_ode_alloc
 * refuses it too). */
int ac_joma_joint_dim(const ac_joma_joint *J);
/* The ac_ode right-hand side, ctx = const ac_joma_joint *; returns 1 when
 * an EXP logit exceeds AC_JOMA_Z_OVERFLOW. */
int ac_joma_joint_rhs(void *ctx, double t, const double *y, double *f);
/* The loss L(y). */
double ac_joma_joint_loss(const ac_joma_joint *J, const double *y);
/* The invariant I (M entries): EXP z - 1/2 sum_k v_k^2, LINEAR
 * z^2 - sum_k v_k^2, SOFTMAX z - 1/2 sum_k v_k^2 + 1/2 (sum_k |v_k|^2) bbar
 * (the last term dropped when bbar is NULL); not conserved. */
void ac_joma_joint_invariant(const ac_joma_joint *J, const double *y, double *I);
/* dI/dt along the flow (M entries): 0 for EXP and LINEAR; for SOFTMAX the
 * covariance term of §6.4,
 *     dI_m/dt = -E[ sum_k g_k h'_k (b_m - bbar_m) (v_k . b) ]
 * (bbar = 0 when NULL), E the mean over the N sequences.  It vanishes
 * under the factorisation E[g_k h'_k b b^T] = bbar E[g_k h'_k b^T] for each
 * k (assumption 4(b), per node as §2.1 notes). */
void ac_joma_joint_invariant_rate(const ac_joma_joint *J, const double *y, double *dI);

#endif
