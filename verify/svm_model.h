/* The one-layer self-attention model of the Graph-SVM experiments, trained
 * by gradient descent (spec tpg_svm §1, §4).  This is the experiment side:
 * it works position by position on the sequences X = [x_1; ...; x_T] with
 * x_t = e_{tok_t}, and never calls the theory's loss (theory/tpg_loss.h).
 *
 *   a_t = x_t^T W xbar,  xbar = x_T,   s = softmax(a).
 *
 * Heads (spec §1, §4.4):
 *   AC_SVM_HEAD_IDENTITY   p(k | X) = sum_{t: tok_t = k} s_t, loss -log p(y | X)
 *   AC_SVM_HEAD_GENERAL_LSQ  logits z = E X^T s, p = softmax(z), loss (1 - p_y)^2
 *   AC_SVM_HEAD_GENERAL_CE   the same logits, loss -log p_y */
#ifndef AC_SVM_MODEL_H
#define AC_SVM_MODEL_H

#include <gsl/gsl_rng.h>

#include "theory/tpg.h"
#include "verify/train.h"

typedef enum {
    AC_SVM_HEAD_IDENTITY = 0,
    AC_SVM_HEAD_GENERAL_LSQ,
    AC_SVM_HEAD_GENERAL_CE
} ac_svm_head;

/* Added to the gradient norm in normalised GD, as the authors' normalize_grad
 * does (spec §7): one double epsilon, so a zero gradient gives a zero step. */
#define AC_SVM_NGD_EPS 2.220446049250313e-16

/* How the loss is evaluated (verify/svm_model.c), with Q distinct queries,
 * V distinct tokens and n_tok positions.  The dense Q x V logit table is
 * used when Q V <= AC_SVM_DENSE_RATIO n_tok: its products cost 2 Q V d
 * against 2 n_tok d for per-position dots, which run several times slower
 * than a product, so a table up to 4 times the positions still pays; the
 * ratio also bounds its memory by 4 n_tok doubles.  The identity head takes
 * its exponentials from the table when AC_SVM_EXPTAB_RATIO Q V <= n_tok: an
 * exp (~10 ns) costs more than the rest of a position's work, so a table of
 * at most half as many entries as positions saves half of them or more. */
#define AC_SVM_DENSE_RATIO 4
#define AC_SVM_EXPTAB_RATIO 2

/* Mean loss over the dataset at W (d x d) and, when grad is non-NULL, its
 * gradient (d x d).  E is K x d.  The dataset must have labels in sequences
 * for the identity head (+inf and a NaN gradient otherwise).  query (n
 * entries) names the attending token of each example when non-NULL (a
 * reduced dataset, theory/tpg_loss.h, keeps only some positions but attends
 * from the original last token); NULL means the last entry of each
 * sequence, the model of spec §1.  Computed in blocks over the distinct
 * tokens and queries (level-3 products, verify/svm_model.c); allocates a
 * workspace per call, so a loop should use a trainer.  NaN when D is empty,
 * an example is empty without a query, an id is outside [0, K), or on no
 * memory. */
double ac_svm_model_loss(const ac_tpg_data *D, const int *query, const double *E, int d, ac_svm_head head,
                         const double *W, double *grad);

/* The attention s of example i at W, gathered per token: mass[j] for j in
 * [0, K) (zero for absent tokens). */
void ac_svm_model_attention(const int *tok, int len, const double *E, int K, int d, const double *W,
                            double *mass);

/* W0 as PyTorch's default nn.Linear initialisation, i.i.d. U(-1/sqrt(d), 1/sqrt(d)). */
void ac_svm_model_init(gsl_rng *r, int d, double *W);

/* Normalised GD: ||W(t)|| <= ||W(0)|| + lr t, so its loss grows at most
 * linearly; plain GD below the step 2/L never raises it.  A loss above this
 * factor times max(1, loss at the start) is a blow-up, not a slow descent
 * (svm train --lr 1e300 reaches 1e298). */
#define AC_SVM_TRAIN_DIVERGE_FACTOR 1e6
#define AC_SVM_TRAIN_STEPS_DEFAULT 4000
/* The spec's reference step for normalised GD (spec §4.2, §4.3). */
#define AC_SVM_TRAIN_LR_DEFAULT 0.01

typedef struct {
    long steps;            /* step limit */
    double lr;             /* step size, > 0 and finite */
    int normalized;        /* 1: W -= lr g / (||g|| + AC_SVM_NGD_EPS); 0: W -= lr g */
    ac_svm_head head;
    double grad_tol;       /* converged when ||grad|| <= grad_tol (0: never, the theory's
                              minimiser is at infinity) */
    double diverge_factor; /* diverged when loss > diverge_factor max(1, loss0) */
} ac_svm_train_settings;

/* Defaults: AC_SVM_TRAIN_STEPS_DEFAULT steps of normalised GD with
 * AC_SVM_TRAIN_LR_DEFAULT, identity head, grad_tol 0,
 * AC_SVM_TRAIN_DIVERGE_FACTOR. */
void ac_svm_train_settings_default(ac_svm_train_settings *s);
/* NULL when s is usable; otherwise a sentence naming the setting and its
 * bound (static storage). */
const char *ac_svm_train_settings_check(const ac_svm_train_settings *s);

typedef struct ac_svm_trainer ac_svm_trainer;

/* A workspace for datasets of at most n examples, ntok tokens in all, a
 * vocabulary of K and dimension d.  NULL on no memory or sizes < 1.  Its
 * memory is linear in the sizes: O(ntok + n + (min(K, n) + min(K, ntok)) d
 * + d^2 + K) doubles, the logit table capped at 4 ntok entries; no array
 * grows with the largest token id beyond K. */
ac_svm_trainer *ac_svm_trainer_alloc(int n, int ntok, int K, int d);
void ac_svm_trainer_free(ac_svm_trainer *tr);

/* Start a run on (D, query, E) (borrowed until the next set or free, and
 * not to be changed meanwhile: the rows of E the data uses and the compact
 * token ids are taken here; query as in ac_svm_model_loss) from W0 (d x d,
 * copied) under set (copied; NULL: ac_svm_train_settings_default).
 * AC_EINVAL when set fails its check (msg says which setting), tr, D, E or
 * W0 is NULL, an id is outside [0, D->K), an example is empty without a
 * query, or W0 or a row of E the data uses holds a NaN or an infinity; AC_ESIZE when D is empty or does not fit the sizes of the alloc.
 * After an error the trainer holds no run (nothing of an earlier one):
 * iterate refuses with AC_EINVAL, run returns at once, test says RUNNING
 * and the info is that of a run not started. */
ac_status ac_svm_trainer_set(ac_svm_trainer *tr, const ac_tpg_data *D, const int *query, const double *E,
                             const ac_svm_train_settings *set, const double *W0, ac_msg *msg);

/* One step: evaluate the loss and gradient at W, test for the endings, and
 * step unless one was reached.  Endings: diverged when the loss or ||grad||
 * is not finite, the loss exceeds diverge_factor max(1, loss0), or the step
 * would leave a non-finite entry in W (W is then not moved: it is the last
 * finite iterate); converged when ||grad|| <= grad_tol; step limit after
 * settings.steps steps.  Returns AC_OK, also when the run has ended (then W
 * is left as it was), AC_EINVAL before a good set; ac_svm_trainer_test says
 * how it stands. */
ac_status ac_svm_trainer_iterate(ac_svm_trainer *tr);
ac_train_outcome ac_svm_trainer_test(const ac_svm_trainer *tr);

/* Iterate until `steps` steps are taken in all (at most the step limit) or the
 * run ends; returns the outcome then (AC_TRAIN_RUNNING when it stopped at
 * `steps` before the limit). */
ac_train_outcome ac_svm_trainer_run(ac_svm_trainer *tr, long steps);

/* Current weights (d x d, borrowed until the next iterate) and the info. */
const double *ac_svm_trainer_W(const ac_svm_trainer *tr);
const ac_train_info *ac_svm_trainer_info(const ac_svm_trainer *tr);

/* The whole run in one call: W (d x d) gets the final weights, info how it
 * ended.  Errors as ac_svm_trainer_set, and AC_ENOMEM; set NULL means the
 * defaults; AC_EINVAL for a NULL D, W or info. */
ac_status ac_svm_train(const ac_tpg_data *D, const int *query, const double *E, int d,
                       const ac_svm_train_settings *set, const double *W0, double *W, ac_train_info *info,
                       ac_msg *msg);

#endif
