/* The bare single-layer bidirectional-attention MLM of spec cbow_moe §1,
 * trained as §3.3 and §6 say: the pseudo-log-likelihood over every masked
 * position, a hand-written backward pass, Adam with Keras's constants and
 * Keras-like initialisation.  This is the experiment side: its forward pass
 * is its own and never calls theory/moe's ac_moe_attention_logp (the tests
 * compare the two).
 *
 * The model (theory/moe.h, ac_moe_attention): token embeddings E ((V+1) x
 * d, row V the mask), learned positions P (L x d), per head h of H the maps
 * Wq^h, Wk^h (dk x d), Wv^h (dv x d), no biases, no W_O (dout = H dv), the
 * output layer U (V x H dv) and bias c (V); self = 1 (the masked slot among
 * the keys, as Keras) or 0.  The authors' block (residual, LayerNorm, FFN,
 * dropout) is not here.
 *
 * The loss of a set of n sentences X (n x L words in 0..V-1, row-major) is
 * the mean over the n L masked cells of -log p(x_i | x_-i):
 *   loss = -(1 / (n L)) sum_s sum_i log p(X[s][i] | X[s][-i]).
 * (Keras prints this divided by L again, §3.3's "loss scale".) */
#ifndef AC_MOE_MODEL_H
#define AC_MOE_MODEL_H

#include <gsl/gsl_rng.h>

#include "solvers/status.h"
#include "theory/moe.h"
#include "verify/train.h"

/* The optional arrays the trained model has: positions and output bias. */
#define AC_MOE_MLM_WITH (AC_MOE_WITH_P | AC_MOE_WITH_C)

/* Keras's Embedding initialiser: U(-0.05, 0.05) (spec §3.3). */
#define AC_MOE_MLM_EMBED_LIMIT 0.05

/* NULL when s describes a model this trainer handles (ac_moe_sizes_check,
 * one layer, no residual, dout = H dv), else a sentence (static storage). */
const char *ac_moe_mlm_sizes_check(const ac_moe_sizes *s);

/* A zeroed model for s with AC_MOE_MLM_WITH (theory/moe.h's
 * ac_moe_model_alloc); NULL when ac_moe_mlm_sizes_check fails or no memory. */
ac_moe_model *ac_moe_mlm_model_alloc(const ac_moe_sizes *s);

/* Keras-like initialisation (spec §3.3 (d)) drawn from r, arrays in the
 * order E, P, Wq, Wk, Wv, U (c = 0):
 *   E ~ U(-0.05, 0.05);  P glorot over (L, d): U(±sqrt(6 / (L + d)));
 *   Wq, Wk, Wv: Keras's 3-D kernels (d, H, dk|dv), whose glorot takes
 *     fan_in = H d and fan_out = dk d (dv d for Wv): U(±sqrt(6 / (H d + dk d)));
 *   U: the Dense kernel (H dv, V): U(±sqrt(6 / (H dv + V))).
 * mm must come from ac_moe_mlm_model_alloc. */
void ac_moe_mlm_init(ac_moe_model *mm, gsl_rng *r);

/* The loss above at m (borrowed) and, when grad is non-NULL, its gradient
 * into grad (a model from ac_moe_mlm_model_alloc with m's sizes; every
 * array overwritten).  Allocates a workspace per call; a loop should use a
 * trainer.  AC_EINVAL (msg says which) when m fails ac_moe_attention_check
 * or ac_moe_mlm_sizes_check or has biases or W_O, n < 1, a word is outside
 * 0..V-1, or grad's sizes differ; AC_ENOMEM. */
ac_status ac_moe_mlm_loss(const ac_moe_attention *m, int n, const int *X, double *loss,
                          ac_moe_model *grad, ac_msg *msg);

/* ---- Training (verify/train.h's shape) ---------------------------------- */

/* Keras's Adam defaults (spec §6): lr 1e-3, beta1 0.9, beta2 0.999,
 * epsilon 1e-7; batch 128 (§3.3). */
#define AC_MOE_TRAIN_LR_DEFAULT 1e-3
#define AC_MOE_TRAIN_BETA1_DEFAULT 0.9
#define AC_MOE_TRAIN_BETA2_DEFAULT 0.999
#define AC_MOE_TRAIN_EPSILON_DEFAULT 1e-7
#define AC_MOE_TRAIN_BATCH_DEFAULT 128
#define AC_MOE_TRAIN_STEPS_DEFAULT 1000
/* Adam moves each weight by at most about lr per step, so the loss of a
 * sane run stays near its start; a loss this many times max(1, loss0) is a
 * blow-up (an lr of 1e300 reaches it on the first step or overflows). */
#define AC_MOE_TRAIN_DIVERGE_FACTOR 1e6

typedef struct {
    long steps;            /* step limit, >= 0 */
    double lr;             /* > 0, finite */
    double beta1, beta2;   /* in [0, 1) */
    double epsilon;        /* > 0, finite */
    int batch;             /* sentences per step, >= 1; a step takes the next batch of a
                              shuffled pass (reshuffled from r at each pass, as Keras's
                              fit); batch >= n means the whole set every step */
    double grad_tol;       /* converged when ||grad|| <= grad_tol (0: never) */
    double diverge_factor; /* diverged when loss > diverge_factor max(1, loss0); > 1 */
} ac_moe_train_settings;

/* The AC_MOE_TRAIN_*_DEFAULT values, grad_tol 0. */
void ac_moe_train_settings_default(ac_moe_train_settings *s);
/* NULL when s is usable; else a sentence naming the setting and its bound
 * (static storage). */
const char *ac_moe_train_settings_check(const ac_moe_train_settings *s);

typedef struct ac_moe_trainer ac_moe_trainer;

/* A workspace for the sizes s (copied) and at most n sentences.  NULL on
 * ac_moe_mlm_sizes_check's failure, n < 1, or no memory. */
ac_moe_trainer *ac_moe_trainer_alloc(const ac_moe_sizes *s, int n);
void ac_moe_trainer_free(ac_moe_trainer *tr);

/* Start a run on the n sentences X (n x L, borrowed until the next set or
 * free, not to be changed meanwhile) from the weights of start (a model of
 * the trainer's sizes with P and c; copied) under set (copied), drawing the
 * batch order from r (borrowed likewise; NULL only when batch >= n).
 * Adam's moments and step count start at 0.  AC_EINVAL when set fails its
 * check (msg says which setting), a word is outside 0..V-1, start's sizes
 * or arrays differ from the trainer's, start fails ac_moe_attention_check
 * (a NaN or infinite weight, msg names the array), or r is NULL while needed; AC_ESIZE
 * when n < 1 or n exceeds the alloc's. */
ac_status ac_moe_trainer_set(ac_moe_trainer *tr, int n, const int *X, const ac_moe_model *start,
                             const ac_moe_train_settings *set, gsl_rng *r, ac_msg *msg);

/* One step: the loss and gradient on the step's batch, the endings, and,
 * unless one was reached, Keras's Adam update (t the step number from 1):
 *   m = beta1 m + (1 - beta1) g,   v = beta2 v + (1 - beta2) g^2,
 *   w -= lr sqrt(1 - beta2^t) / (1 - beta1^t) m / (sqrt(v) + epsilon).
 * Endings: diverged when the loss or ||g|| is not finite, the loss exceeds
 * diverge_factor max(1, loss0), or the update would leave a non-finite
 * weight (the weights then stay: the last finite iterate); converged when
 * ||g|| <= grad_tol; step limit after settings.steps steps.  info.loss is
 * the loss on the step's batch.  Returns AC_OK, also once the run has ended
 * (nothing then changes). */
ac_status ac_moe_trainer_iterate(ac_moe_trainer *tr);
ac_train_outcome ac_moe_trainer_test(const ac_moe_trainer *tr);

/* Iterate until `steps` steps are taken in all (at most the step limit) or
 * the run ends; the outcome then (AC_TRAIN_RUNNING when stopped at
 * `steps` before the limit). */
ac_train_outcome ac_moe_trainer_run(ac_moe_trainer *tr, long steps);

/* The current weights (owned by the trainer; its pointers stay valid until
 * free, contents change at each iterate) and the info. */
const ac_moe_model *ac_moe_trainer_model(const ac_moe_trainer *tr);
const ac_train_info *ac_moe_trainer_info(const ac_moe_trainer *tr);

/* The whole run in one call: out (a model of start's sizes from
 * ac_moe_mlm_model_alloc) gets the final weights, info how it ended.
 * Errors as ac_moe_trainer_set, and AC_ENOMEM. */
ac_status ac_moe_train(int n, const int *X, const ac_moe_model *start,
                       const ac_moe_train_settings *set, gsl_rng *r, ac_moe_model *out,
                       ac_train_info *info, ac_msg *msg);

#endif
