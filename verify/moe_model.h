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

/* ---- The tabular block (spec §3.3) --------------------------------------
 *
 * The model the authors trained on tables, and its bare single-layer
 * counterpart, on the masked examples of §3.1: every (row, slot) pair of a
 * table of n rows of L cells is one example with that slot masked (token
 * V), the loss the cross-entropy of the masked cell.  Weights, row-major
 * (out x in), a head index the slowest:
 *   E (V+1) x d token embeddings (row V the mask), P L x d positions;
 *   per head Wq, Wk, Wv (dk x d) with biases bq, bk, bv (dk);
 *   block only: Wo (d x H dk) and bo (d), LayerNorm 1 (g1, b1: d), the FFN
 *   F1 (ffn x d), f1 (ffn), F2 (d x ffn), f2 (d), LayerNorm 2 (g2, b2: d);
 *   U (V x dout) and c (V), dout = d with the block, H dk without.
 * Forward pass for slot i masked (e_j = E[t_j] + P[j], t_i = V; every slot
 * a key, as Keras's MultiHeadAttention without a mask):
 *   o_h = sum_j softmax_j(q_h·k_hj / sqrt(dk)) v_hj,  q_h = Wq_h e_i + bq_h,
 *         k_hj = Wk_h e_j + bk_h,  v_hj = Wv_h e_j + bv_h;
 *   bare:  logits = U o + c  (theory/moe.h's model with self = 1, biases 0);
 *   block: n1 = LN1(e_i + drop(Wo o + bo)),
 *          n2 = LN2(n1 + drop(F2 relu(F1 n1 + f1) + f2)),  logits = U n2 + c,
 *   LN(x) = g (x - mean x) / sqrt(var x + ln_eps) + b (var over the d
 *   entries, divided by d), drop() inverted dropout: each entry kept with
 *   probability 1 - p and scaled by 1 / (1 - p) in training, the identity
 *   in prediction.
 * The loss of a set of examples is the mean of -log softmax(logits)[x_i].
 * (Keras divides it by L again, spec §3.3's "loss scale"; Adam's steps are
 * unchanged by a constant factor apart from epsilon's share: epsilon L
 * here is Keras's epsilon, which ac_moe_tab_run passes.) */

typedef struct {
    int V;     /* categories; the mask token is V; >= 1 */
    int L;     /* cells per row; >= 1 */
    int d;     /* embedding width */
    int H;     /* heads */
    int dk;    /* query, key and value width per head */
    int ffn;   /* FFN width (block only) */
    int block; /* 1: the authors' block; 0: the bare attention layer */
} ac_moe_block_sizes;

/* spec §3.3: embed_dim 20, 5 heads of key_dim 20 / 5 = 4, ff_dim 5;
 * dropout 0.1, LayerNorm epsilon 1e-6. */
#define AC_MOE_BLOCK_D_DEFAULT 20
#define AC_MOE_BLOCK_H_DEFAULT 5
#define AC_MOE_BLOCK_DK_DEFAULT 4
#define AC_MOE_BLOCK_FFN_DEFAULT 5
#define AC_MOE_BLOCK_DROPOUT_DEFAULT 0.1
#define AC_MOE_BLOCK_LN_EPS_DEFAULT 1e-6

/* V = 10, L = 6 (the simulation's), the widths above, block = 1. */
void ac_moe_block_sizes_default(ac_moe_block_sizes *s);
/* NULL when s is usable, else a sentence (static storage). */
const char *ac_moe_block_sizes_check(const ac_moe_block_sizes *s);

/* The weights: one flat vector w of n entries and named views into it
 * (NULL for the arrays the bare layer lacks). */
typedef struct {
    ac_moe_block_sizes s;
    size_t n;
    double *w;
    double *E, *P, *Wq, *bq, *Wk, *bk, *Wv, *bv, *Wo, *bo, *g1, *b1, *F1, *f1, *F2, *f2, *g2, *b2,
        *U, *c;
} ac_moe_block;

/* A zeroed model for checked sizes (copied); NULL on bad sizes or no
 * memory.  free(NULL) is a no-op. */
ac_moe_block *ac_moe_block_alloc(const ac_moe_block_sizes *s);
void ac_moe_block_free(ac_moe_block *b);
/* dst = src (same sizes; AC_EINVAL otherwise). */
ac_status ac_moe_block_copy(ac_moe_block *dst, const ac_moe_block *src);

/* Keras's initialisation (spec §3.3 (d)) drawn from r in the order E, P,
 * Wq, Wk, Wv, Wo, F1, F2, U: E ~ U(+-0.05); P glorot over (L, d); the 3-D
 * attention kernels (d, H, dk): U(+-sqrt(6 / (H d + dk d))); the output
 * kernel (H, dk, d): U(+-sqrt(6 / (dk H + d H))); Dense kernels glorot over
 * their (in, out) shape; biases 0, LayerNorm gains 1. */
void ac_moe_block_init(ac_moe_block *b, gsl_rng *r);

/* Dropout probability and LayerNorm epsilon of a forward pass. */
typedef struct {
    double dropout; /* in [0, 1) */
    double ln_eps;  /* > 0 */
} ac_moe_block_opts;

/* The mean loss over the examples (row ex[2k], slot ex[2k+1]) for k <
 * nex, or over all n L examples when ex is NULL, of the table X (n x L,
 * cells 0..V-1), with dropout masks drawn from r (NULL: no dropout, the
 * prediction pass), and its gradient into grad when non-NULL (a model of
 * b's sizes; overwritten).  Masks are drawn example by example, in order
 * (the same r state gives the same masks: the finite-difference tests rely
 * on it).  Allocates its workspace per call.  AC_EINVAL (msg says which)
 * for a cell outside 0..V-1, a bad example, bad opts, other sizes or a
 * non-finite weight; AC_ENOMEM. */
ac_status ac_moe_block_loss(const ac_moe_block *b, const ac_moe_block_opts *opt, int n, const int *X,
                            int nex, const int *ex, gsl_rng *r, double *loss, ac_moe_block *grad,
                            ac_msg *msg);

/* log p(x_i = v | x_-i) for v < V of row x (L cells; x[i] ignored) with
 * slot i masked, in prediction mode (no dropout), into logp (V). */
ac_status ac_moe_block_logp(const ac_moe_block *b, const ac_moe_block_opts *opt, const int *x, int i,
                            double *logp, ac_msg *msg);

/* Predict the last cell (the target) of each row of X (n x L) with it
 * masked: pred[r] = argmax_v p(v | x_-target) (the smallest v on a tie). */
ac_status ac_moe_block_predict(const ac_moe_block *b, const ac_moe_block_opts *opt, int n,
                               const int *X, int *pred, ac_msg *msg);

/* Training: Adam (the constants above) on batches of masked examples, as
 * Keras's fit on the expanded table: each pass (epoch) shuffles the n L
 * examples with r and cuts them into batches of `batch`, the last one
 * partial; a step is one batch. */
typedef struct {
    long steps;            /* step limit, >= 0 */
    double lr, beta1, beta2, epsilon; /* as ac_moe_train_settings */
    int batch;             /* examples per step, >= 1 */
    double dropout;        /* in [0, 1) */
    double ln_eps;         /* > 0 */
    double grad_tol;       /* converged when ||grad|| <= grad_tol (0: never) */
    double diverge_factor; /* as ac_moe_train_settings */
} ac_moe_block_train_settings;

/* Keras's Adam, batch 128, dropout 0.1, ln_eps 1e-6, steps
 * AC_MOE_TRAIN_STEPS_DEFAULT, grad_tol 0. */
void ac_moe_block_train_settings_default(ac_moe_block_train_settings *s);
const char *ac_moe_block_train_settings_check(const ac_moe_block_train_settings *s);
/* Steps of one pass over n rows of L cells: ceil(n L / batch). */
long ac_moe_block_steps_per_epoch(int n, int L, int batch);

typedef struct ac_moe_block_trainer ac_moe_block_trainer;

/* A workspace for sizes s (copied) and at most n rows.  NULL on bad sizes,
 * n < 1 or no memory. */
ac_moe_block_trainer *ac_moe_block_trainer_alloc(const ac_moe_block_sizes *s, int n);
void ac_moe_block_trainer_free(ac_moe_block_trainer *tr);
/* Start a run on the table X (n x L, borrowed until the next set or free)
 * from start (copied) under set (copied), shuffling and dropping out with r
 * (borrowed likewise).  AC_EINVAL for bad settings, a cell outside 0..V-1,
 * start's sizes or a non-finite weight, a NULL r; AC_ESIZE for n outside
 * 1..the alloc's n. */
ac_status ac_moe_block_trainer_set(ac_moe_block_trainer *tr, int n, const int *X,
                                   const ac_moe_block *start, const ac_moe_block_train_settings *set,
                                   gsl_rng *r, ac_msg *msg);
/* One step, endings and Adam's update as ac_moe_trainer_iterate. */
ac_status ac_moe_block_trainer_iterate(ac_moe_block_trainer *tr);
ac_train_outcome ac_moe_block_trainer_test(const ac_moe_block_trainer *tr);
ac_train_outcome ac_moe_block_trainer_run(ac_moe_block_trainer *tr, long steps);
/* The current weights (owned by the trainer) and the info. */
const ac_moe_block *ac_moe_block_trainer_model(const ac_moe_block_trainer *tr);
const ac_train_info *ac_moe_block_trainer_info(const ac_moe_block_trainer *tr);

#endif
