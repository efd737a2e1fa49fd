/* The network of the attention-paths paper (spec attention_paths §1) trained
 * by gradient descent: learned input layer, value weights, readout and
 * query/key weights, as the authors' GD model (§4.2, `my_vit.py`: attention
 * computed from the bare input x at every layer, no residual, no MLP).  This
 * is the experiment side of paths.head-pruning and paths.digits; the theory
 * sees only its frozen attention (ac_paths_net_omega).
 *
 * Shape: L layers of H_l heads, every width n, N0 input features, ntok
 * tokens, query/key dimension G.  Per example x (N0 x ntok, tokens as
 * columns) and head (l, h):
 *   Omega_l^h[s, t] = softmax over the key s of x_s^T W_l^h x_t,
 *   W_l^h = K_l^h^T Q_l^h / sqrt(G)          (Q, K: G x N0; §4.2b's x_s^T K Q^T x_t / 4
 *                                             with G = 16, in our G x N0 layout)
 * and the forward pass is §1's recursion read path by path (§2), as in
 * verify/paths_gibbs.h:
 *   f(x) = c_a a . sum_pi c_L V_L^{h_L} ... c_1 V_1^{h_1} c_0 V_0 xi_pi(x),
 *   xi_pi(x) = x Omega_1^{h_1} ... Omega_L^{h_L} r,
 *   c_0 = 1/sqrt(N0), c_l = 1/sqrt(H_l n), c_a = 1/sqrt(n),
 * r = e_{readout} or 1/ntok everywhere (average pooling).  Pruning head (l, h)
 * drops its term and rescales layer l's sum by (H_l - dropped)^{-1/2} instead
 * of H_l^{-1/2} (§4.2, the authors' --drop_heads).
 *
 * Parameters theta, one array: first exactly verify/paths_gibbs.h's state
 * (a (n), V_0 (n x N0), then V_l^h (n x n) for l = 1..L, head 1 first), then
 * for l = 1..L and each head Q_l^h (G x N0) followed by K_l^h (G x N0); all
 * row-major.  So the value part of a trained theta can be planted in the
 * Gibbs sampler (ac_paths_gibbs_set_state), and both compute the same f.
 *
 * Loss: the mean squared error (1/B) sum_mu (f(x^mu) - y^mu)^2 over a
 * (mini-)batch, minimised by Adam (Kingma & Ba 2015, with bias correction)
 * acting on the plain weights of §4.2b's PyTorch model, w = c theta blockwise
 * (a / sqrt(n), V_0 / sqrt(N0), V_l^h / sqrt(n), Q, K; the 1/sqrt(H_l) of the
 * head sum and the 1/sqrt(G) of the score stay explicit there, as in the
 * authors' my_vit.py): theta's blocks take Adam steps lr / c with epsilon
 * c eps, the same iterates in exact arithmetic.  Adam on theta itself would
 * move w 4 to 8 times more slowly on the value side at N0 = 16, n = 64
 * (tests/test_paths_net_torch.c compares a few steps with torch.optim.Adam).
 * The backward pass is written by hand (verify/paths_net.c, derived beside
 * each loop) and checked against central differences in
 * tests/test_paths_net.c.
 *
 * Library code: no printing, no exits. */
#ifndef AC_PATHS_NET_H
#define AC_PATHS_NET_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "solvers/status.h"
#include "theory/paths.h"
#include "verify/train.h"

/* readout value meaning average pooling over the tokens (r = 1/ntok). */
#define AC_PATHS_NET_MEAN (-1)
/* Largest sizes accepted, so that every int size handed to BLAS fits: a
 * width, N0, ntok or G above this is refused. */
#define AC_PATHS_NET_MAX_DIM 100000

typedef struct {
    int L;                       /* layers, 1..AC_PATHS_MAX_LAYERS */
    int H[AC_PATHS_MAX_LAYERS];  /* heads of layer l at H[l-1], >= 1 */
    int n;                       /* width of every layer (n_0 = ... = n_L = N_a) */
    int N0;                      /* input features */
    int ntok;                    /* tokens per example */
    int G;                       /* query/key dimension */
    int readout;                 /* token index in [0, ntok), or AC_PATHS_NET_MEAN */
} ac_paths_net_shape;

/* NULL when usable, else a sentence naming the quantity and its bound
 * (static storage): L outside 1..AC_PATHS_MAX_LAYERS, a head count < 1,
 * more than AC_PATHS_MAX_PATHS paths, n, N0, ntok or G outside
 * 1..AC_PATHS_NET_MAX_DIM, a readout that is neither a token nor MEAN. */
const char *ac_paths_net_shape_check(const ac_paths_net_shape *sh);

/* Sizes of a checked shape: heads sum_l H_l, paths H^L, entries of theta,
 * and of its value part (= ac_paths_gibbs_state_size for the same net). */
int ac_paths_net_heads(const ac_paths_net_shape *sh);
int ac_paths_net_paths(const ac_paths_net_shape *sh);
size_t ac_paths_net_size(const ac_paths_net_shape *sh);
size_t ac_paths_net_value_size(const ac_paths_net_shape *sh);
/* Offsets in theta of Q_l^h and K_l^h (l = 1..L, h = 0..H_l - 1). */
size_t ac_paths_net_q_offset(const ac_paths_net_shape *sh, int l, int h);
size_t ac_paths_net_k_offset(const ac_paths_net_shape *sh, int l, int h);

/* The readout vector r (ntok): e_readout, or 1/ntok everywhere. */
void ac_paths_net_readout(const ac_paths_net_shape *sh, double *r);

/* The theory's settings for this network at width N and temperature T:
 * L, H, every width N, every sigma^2 = 1 (the prior ac_paths_net_init draws
 * the value weights from), T. */
void ac_paths_net_theory_settings(const ac_paths_net_shape *sh, double N, double T,
                                  ac_paths_settings *s);

/* Initial parameters from r: a and every V entry N(0, 1) (the prior of §1
 * with sigma^2 = 1; the c factors carry the scale), every Q and K entry
 * N(0, 1/N0) (so the scores start of order 1). */
void ac_paths_net_init(const ac_paths_net_shape *sh, gsl_rng *r, double *theta);

/* The frozen attention as bilinear forms: W (N0 x N0) = K_l^h^T Q_l^h /
 * sqrt(G), score S[s, t] = x_s^T W x_t (the convention of
 * ac_paths_markov_head_w).  theta borrowed. */
void ac_paths_net_head_w(const ac_paths_net_shape *sh, const double *theta, int l, int h,
                         double *W);
/* The inverse direction for fixed heads: theta's Q_l^h = W and K_l^h =
 * sqrt(G) I, which gives back W exactly; needs G = N0 (AC_EINVAL
 * otherwise).  W (N0 x N0) copied. */
ac_status ac_paths_net_set_head_w(const ac_paths_net_shape *sh, int l, int h, const double *W,
                                  double *theta, ac_msg *msg);

/* The attention matrices of P examples X (P x N0 x ntok) at theta: Omega
 * (P x heads x ntok x ntok), per example the layout ac_paths_attention and
 * ac_paths_phi take (layer 1's heads first; entry [s, t], key s, query t;
 * each column sums to 1; log-sum-exp).  AC_ENOMEM or AC_OK. */
ac_status ac_paths_net_omega(const ac_paths_net_shape *sh, const double *theta, int P,
                             const double *X, double *Omega);

/* f on P examples X (P x N0 x ntok) into f (P).  keep: heads entries, 0 =
 * pruned (NULL keeps all); a layer with every head pruned gives f = 0.
 * AC_EINVAL (msg) for a bad shape, AC_ENOMEM, AC_OK. */
ac_status ac_paths_net_predict(const ac_paths_net_shape *sh, const double *theta, const int *keep,
                               int P, const double *X, double *f, ac_msg *msg);
/* The fraction of the P examples with sign f = y (f = 0 counts as wrong),
 * with heads pruned as keep says.  Statuses as predict. */
ac_status ac_paths_net_accuracy(const ac_paths_net_shape *sh, const double *theta, const int *keep,
                                int P, const double *X, const double *Y, double *acc, ac_msg *msg);
/* The accuracy with no head pruned (acc0) and with each head pruned alone
 * (acc, heads entries, layer 1's first).  Statuses as predict. */
ac_status ac_paths_net_prune_each(const ac_paths_net_shape *sh, const double *theta, int P,
                                  const double *X, const double *Y, double *acc0, double *acc,
                                  ac_msg *msg);

/* Frozen attention as path inputs: Xi (P x N0 x H^L), entry [mu, i, pi] =
 * xi_pi(x^mu)_i, the layout of ac_paths_phi (whose Phi is Xi times
 * sigma_0 / sqrt(N0 H^L)).  ac_paths_net_path_inputs computes it from theta's
 * Q/K (AC_ENOMEM or AC_OK); the _paths variants below take it instead of X,
 * so that attention computed elsewhere (the Markov task's hand-built heads,
 * ac_paths_markov_phi) is used as it is and computed once. */
ac_status ac_paths_net_path_inputs(const ac_paths_net_shape *sh, const double *theta, int P,
                                   const double *X, double *Xi);
ac_status ac_paths_net_predict_paths(const ac_paths_net_shape *sh, const double *theta,
                                     const int *keep, int P, const double *Xi, double *f,
                                     ac_msg *msg);
ac_status ac_paths_net_prune_each_paths(const ac_paths_net_shape *sh, const double *theta, int P,
                                        const double *Xi, const double *Y, double *acc0,
                                        double *acc, ac_msg *msg);

/* The loss (1/P) sum_mu (f(x^mu) - y^mu)^2 over P >= 1 examples and, when
 * grad is non-NULL, its gradient (ac_paths_net_size entries; with learn_qk =
 * 0 the Q/K entries are left zero).  AC_EINVAL (msg), AC_ENOMEM, AC_OK. */
ac_status ac_paths_net_loss(const ac_paths_net_shape *sh, const double *theta, int learn_qk, int P,
                            const double *X, const double *Y, double *loss, double *grad,
                            ac_msg *msg);

/* ---- Training (the shape of verify/train.h) ---------------------------- */

/* §4.2b's reference run: Adam lr 3e-3, batch 128, 40 epochs of 6000 (1875
 * steps); Adam's usual betas and epsilon. */
#define AC_PATHS_NET_LR_DEFAULT 3e-3
#define AC_PATHS_NET_BATCH_DEFAULT 128
#define AC_PATHS_NET_STEPS_DEFAULT 1875
#define AC_PATHS_NET_BETA1_DEFAULT 0.9
#define AC_PATHS_NET_BETA2_DEFAULT 0.999
#define AC_PATHS_NET_ADAM_EPS_DEFAULT 1e-8
/* A batch loss above this factor times max(1, the first batch's loss) is a
 * blow-up: with labels +-1 the loss of f = 0 is 1, and Adam's steps are
 * bounded by lr per entry, so a healthy run never climbs 1e6-fold. */
#define AC_PATHS_NET_DIVERGE_FACTOR 1e6

typedef struct {
    long steps;            /* step limit, >= 1 */
    int batch;             /* examples per step (capped at P), >= 1 */
    double lr;             /* Adam step, > 0 and finite */
    double beta1, beta2;   /* in [0, 1) */
    double adam_eps;       /* > 0 */
    int learn_qk;          /* 1: train Q and K too; 0: hold them (frozen attention) */
    double loss_tol;       /* converged when a batch loss <= loss_tol (0: never) */
    double diverge_factor; /* diverged when a batch loss > diverge_factor max(1, loss0) */
} ac_paths_net_train_settings;

/* The defaults above, learn_qk = 1, loss_tol = 0. */
void ac_paths_net_train_settings_default(ac_paths_net_train_settings *s);
/* NULL when usable, else the sentence naming the setting (static). */
const char *ac_paths_net_train_settings_check(const ac_paths_net_train_settings *s);

typedef struct ac_paths_net_trainer ac_paths_net_trainer;

/* A trainer for at most Pmax examples of the shape (copied).  Memory
 * O(size + scratch of a batch of min(Pmax, 128) examples), plus Pmax N0 H^L doubles for the cached
 * path inputs when Q/K are frozen.  NULL on a bad shape, Pmax < 1 or no
 * memory. */
ac_paths_net_trainer *ac_paths_net_trainer_alloc(const ac_paths_net_shape *sh, int Pmax);
void ac_paths_net_trainer_free(ac_paths_net_trainer *tr);

/* Start a run on P examples X (P x N0 x ntok) with labels Y (P), borrowed
 * until the next set or free, from theta0 (copied) under set (copied); Adam's
 * moments and the step count are reset.  AC_EINVAL (msg says which: the
 * settings' sentence, P outside 1..Pmax, a NULL or non-finite entry),
 * AC_ENOMEM, AC_OK. */
ac_status ac_paths_net_trainer_set(ac_paths_net_trainer *tr, int P, const double *X,
                                   const double *Y, const ac_paths_net_train_settings *set,
                                   const double *theta0, ac_msg *msg);
/* The same on path inputs Xi (P x N0 x H^L, borrowed like X): the attention
 * is fixed, so set->learn_qk must be 0 (AC_EINVAL otherwise) and theta's
 * Q/K are not used. */
ac_status ac_paths_net_trainer_set_paths(ac_paths_net_trainer *tr, int P, const double *Xi,
                                         const double *Y, const ac_paths_net_train_settings *set,
                                         const double *theta0, ac_msg *msg);
/* One Adam step on the next mini-batch (the examples in an order drawn from
 * r, reshuffled every epoch).  Endings, tested in this order after the
 * batch loss and gradient are evaluated at the current theta: diverged when
 * either is not finite or the loss exceeds diverge_factor max(1, loss0), or
 * when the step would leave a non-finite entry (theta is then not moved: the
 * last finite iterate); converged when the loss <= loss_tol (theta not
 * moved); step limit after settings.steps steps.  A no-op once ended.
 * AC_EINVAL before set, else AC_OK. */
ac_status ac_paths_net_trainer_iterate(ac_paths_net_trainer *tr, gsl_rng *r);
ac_train_outcome ac_paths_net_trainer_test(const ac_paths_net_trainer *tr);
/* Iterate until `steps` steps in all (at most the limit) or an ending;
 * returns the outcome (RUNNING when stopped at `steps` first). */
ac_train_outcome ac_paths_net_trainer_run(ac_paths_net_trainer *tr, gsl_rng *r, long steps);
/* Current parameters (ac_paths_net_size entries, borrowed until the next
 * iterate or set) and the info (steps, batch loss, loss0 = the first batch's,
 * grad_norm = Euclidean norm of the last batch gradient, seconds). */
const double *ac_paths_net_trainer_theta(const ac_paths_net_trainer *tr);
const ac_train_info *ac_paths_net_trainer_info(const ac_paths_net_trainer *tr);
/* Adam's moments of the run, ac_paths_net_size entries each in theta's units
 * (m: the moving average of the batch gradient in theta, v: of its square; the
 * plain weights' are m / c and v / c^2, c the block's scale): zero after set,
 * else those the last step left.  Both borrowed until the next iterate or
 * set; for tests that start a peer optimiser from the trainer's state. */
void ac_paths_net_trainer_moments(const ac_paths_net_trainer *tr, const double **m,
                                  const double **v);

/* alloc, set, run to the end, free: theta (size entries) gets the last
 * iterate, info how it ended.  Errors as alloc (AC_EINVAL / AC_ENOMEM) and
 * set. */
ac_status ac_paths_net_train(const ac_paths_net_shape *sh, int P, const double *X, const double *Y,
                             const ac_paths_net_train_settings *set, const double *theta0,
                             gsl_rng *r, double *theta, ac_train_info *info, ac_msg *msg);

#endif
