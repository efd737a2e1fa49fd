/* The one-layer transformer block of JoMA (spec joma §1, §4.1, §6.1),
 * trained by SGD: the experiment side of the joint gradient flow.  It never
 * uses the invariant and never calls theory/joma's functions (it shares its
 * ac_joma_attention names only).
 *
 * Sample (x, y): x in R^M, x >= 0 (normalised token counts, verify/
 * joma_data.h), label y in [0, K).  Fixed embeddings U = [u_1 .. u_M | u_q]
 * (d x (M+1); default the identity in the first M+1 of d rows).  Trained:
 * attention logits z in R^M and the MLP weights W = [w_1 .. w_K] (d x K).
 *   attention  EXP      b_l = x_l exp(z_l / T)
 *              SOFTMAX  b_l = x_l exp(z_l / T) / sum_m x_m exp(z_m / T)
 *              LINEAR   b_l = x_l z_l  (T unused)
 *   residual   f = U_C b + u_q                     (U_C: the first M columns)
 *   MLP        h_k = phi(w_k . f), phi = identity, tanh or ReLU
 *   loss       CE       -log softmax(h)_y         (the authors' script)
 *              SQUARED  1/2 sum_k (h_k - [k = y])^2 (theory/joma's joint flow)
 *              LINEAR   -h_y: a back-propagated gradient g = -dL/dh that is
 *                       constant in time (spec §1.4 Assumption 1, exactly),
 *                       the setting of the linear-activation dynamics §2.2a
 * averaged over a batch.  The projected weights are v_k = U_C^T w_k and the
 * residual weights q_k = u_q . w_k; with orthonormal U, T = 1, the SQUARED
 * loss and the full batch, one SGD step moves y = [z | v_1..v_K | q] by
 * exactly lr times theory/joma's joint-flow right-hand side -grad L(y)
 * (tests/test_joma_model.c checks it), and each SGD step changes the EXP
 * invariant z - (1/2T) sum_k v_k o v_k by exactly -(1/2T) sum_k Dv_k o Dv_k
 * (LINEAR: z o z - sum_k v_k o v_k by Dz o Dz - sum_k Dv_k o Dv_k), the
 * O(lr) per unit time drift of spec §4.1. */
#ifndef AC_JOMA_MODEL_H
#define AC_JOMA_MODEL_H

#include <gsl/gsl_rng.h>

#include "solvers/status.h"
#include "theory/joma.h"
#include "verify/joma_data.h"
#include "verify/train.h"

typedef enum {
    AC_JOMA_MODEL_ACT_IDENTITY = 0,
    AC_JOMA_MODEL_ACT_TANH,
    AC_JOMA_MODEL_ACT_RELU
} ac_joma_model_activation;

typedef enum {
    AC_JOMA_MODEL_LOSS_CE = 0,
    AC_JOMA_MODEL_LOSS_SQUARED,
    AC_JOMA_MODEL_LOSS_LINEAR
} ac_joma_model_loss_kind;

/* "identity", "tanh", "relu"; "ce", "squared", "linear"; NULL outside the
 * lists. */
const char *ac_joma_model_activation_name(ac_joma_model_activation a);
const char *ac_joma_model_loss_name(ac_joma_model_loss_kind l);

/* The model's shape: sizes, embeddings and kinds. */
typedef struct {
    int M, K, d;                         /* tokens, outputs, width: d >= 1, M >= 1, K >= 1 */
    const double *U;                     /* d x (M+1), row-major, borrowed; NULL: identity
                                          * (needs d >= M + 1) */
    ac_joma_attention attention;
    ac_joma_model_activation activation;
    ac_joma_model_loss_kind loss;
    double T;                            /* temperature > 0 (EXP, SOFTMAX) */
} ac_joma_model;

/* Mean loss over the B samples idx[0..B-1] of D (idx NULL: all N, B
 * ignored) at (z, W) and, when gz and gW are non-NULL, its gradient (gz: M,
 * gW: d x K).  Allocates a workspace per call: a loop should use a trainer.
 * NaN on sizes that do not fit D, an index or label out of range, or no
 * memory; +inf or NaN when the model overflows (EXP logits). */
double ac_joma_model_loss(const ac_joma_model *m, const ac_joma_data *D, const int *idx, int B,
                          const double *z, const double *W, double *gz, double *gW);

/* Mean over the N samples of the entropy (nats) of the attention
 * distribution p = b / sum b (EXP, SOFTMAX: p = softmax(ln x + z/T));
 * NaN for LINEAR attention with some b_l < 0 or sum b <= 0. */
double ac_joma_model_entropy(const ac_joma_model *m, const ac_joma_data *D, const double *z);

/* v_k = U_C^T w_k into V (K x M, row k = v_k) and q_k = u_q . w_k into q
 * (K; may be NULL). */
void ac_joma_model_project(const ac_joma_model *m, const double *W, double *V, double *q);

/* The authors' initialisation (spec §4.1): W then z, each entry N(0, 1)
 * times scale (their 1/100), from r. */
void ac_joma_model_init(gsl_rng *r, const ac_joma_model *m, double scale, double *z0, double *W0);

/* Defaults of the settings: the authors' §4.1 run. */
#define AC_JOMA_TRAIN_STEPS_DEFAULT 2000L
#define AC_JOMA_TRAIN_LR_DEFAULT 0.1
#define AC_JOMA_TRAIN_T_DEFAULT 0.5
#define AC_JOMA_TRAIN_INIT_SCALE_DEFAULT 0.01
/* A loss above this factor times max(1, loss at the start) is a blow-up:
 * SGD below the stable step never multiplies the loss by more than a
 * modest factor, an exp-attention run past its singularity (§6.2) by far
 * more. */
#define AC_JOMA_TRAIN_DIVERGE_FACTOR 1e6

typedef struct {
    long steps;            /* step limit, >= 1 */
    double lr;             /* SGD step on z and W alike (spec §1.4 item 3), > 0, finite */
    int batch;             /* samples per step: 0 = the full batch (the authors'), else
                              1 <= batch <= N, drawn without replacement from the rng */
    double T;              /* temperature > 0, finite */
    ac_joma_attention attention;
    ac_joma_model_activation activation;
    ac_joma_model_loss_kind loss;
    double grad_tol;       /* converged when ||(gz, gW)|| <= grad_tol (0: never) */
    double diverge_factor; /* diverged when loss > diverge_factor max(1, loss0), > 1 */
} ac_joma_train_settings;

/* The §4.1 run: AC_JOMA_TRAIN_STEPS_DEFAULT steps, lr
 * AC_JOMA_TRAIN_LR_DEFAULT, full batch, T AC_JOMA_TRAIN_T_DEFAULT, SOFTMAX
 * attention, identity activation, CE loss, grad_tol 0,
 * AC_JOMA_TRAIN_DIVERGE_FACTOR. */
void ac_joma_train_settings_default(ac_joma_train_settings *s);
/* NULL when s is usable; otherwise a sentence naming the setting and its
 * bound (static storage).  The batch's upper bound N is checked by set. */
const char *ac_joma_train_settings_check(const ac_joma_train_settings *s);

typedef struct ac_joma_trainer ac_joma_trainer;

/* A workspace for at most N samples of M tokens, K outputs, width d.  NULL
 * on sizes < 1 or no memory. */
ac_joma_trainer *ac_joma_trainer_alloc(int N, int M, int K, int d);
void ac_joma_trainer_free(ac_joma_trainer *tr);

/* Start a run on D (borrowed until the next set or free, not to be changed
 * meanwhile) with embeddings U (d x (M+1), borrowed likewise; NULL: the
 * identity, needs d >= M + 1) from z0 (M) and W0 (d x K), both copied, under
 * set (copied).  r (borrowed) draws the minibatches; it may be NULL for the
 * full batch.  AC_EINVAL (msg says which) for a NULL tr, D, set, z0 or W0
 * (set NULL is not the defaults here), bad settings, a batch above
 * D->N, a minibatch without r, NULL U with d < M + 1, a label out of range or
 * a non-finite start; AC_ESIZE when D does not fit the alloc's sizes.  After
 * an error the trainer holds no run (iterate refuses, run returns at once)
 * and its info and outcome are those of a run not started, never the
 * earlier run's. */
ac_status ac_joma_trainer_set(ac_joma_trainer *tr, const ac_joma_data *D, const double *U,
                              const ac_joma_train_settings *set, const double *z0, const double *W0,
                              gsl_rng *r, ac_msg *msg);

/* One step: draw the batch, evaluate the loss and gradient at (z, W), test
 * the endings, and step z -= lr gz, W -= lr gW unless one was reached.
 * Endings: diverged when the loss or gradient norm is not finite, the loss
 * exceeds diverge_factor max(1, loss0) or the step would leave a
 * non-finite entry ((z, W) then stay the last finite iterate); converged
 * when ||(gz, gW)|| <= grad_tol; step limit after settings.steps steps.
 * info.loss is the batch loss at the iterate before the step.  Returns
 * AC_EINVAL before a good set, else AC_OK (also once ended: a no-op). */
ac_status ac_joma_trainer_iterate(ac_joma_trainer *tr);
ac_train_outcome ac_joma_trainer_test(const ac_joma_trainer *tr);
/* Iterate until `steps` steps in all (at most the limit) or an ending;
 * returns the outcome then (AC_TRAIN_RUNNING when stopped at `steps`). */
ac_train_outcome ac_joma_trainer_run(ac_joma_trainer *tr, long steps);

/* The current z (M), W (d x K), borrowed until the next iterate or set;
 * the model the trainer runs (U borrowed as in set); the info. */
const double *ac_joma_trainer_z(const ac_joma_trainer *tr);
const double *ac_joma_trainer_W(const ac_joma_trainer *tr);
const ac_joma_model *ac_joma_trainer_model(const ac_joma_trainer *tr);
const ac_train_info *ac_joma_trainer_info(const ac_joma_trainer *tr);

/* alloc, set, run, free in one call: z (M) and W (d x K) get the final
 * iterate, info how the run ended.  Errors as set, and AC_ENOMEM. */
ac_status ac_joma_train(const ac_joma_data *D, const double *U, int d,
                        const ac_joma_train_settings *set, const double *z0, const double *W0,
                        gsl_rng *r, double *z, double *W, ac_train_info *info, ac_msg *msg);

#endif
