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

typedef enum {
    AC_SVM_HEAD_IDENTITY = 0,
    AC_SVM_HEAD_GENERAL_LSQ,
    AC_SVM_HEAD_GENERAL_CE
} ac_svm_head;

/* Added to the gradient norm in normalised GD, as the authors' normalize_grad
 * does (spec §7): one double epsilon, so a zero gradient gives a zero step. */
#define AC_SVM_NGD_EPS 2.220446049250313e-16

typedef struct {
    int steps;
    double lr;
    int normalized;   /* 1: W -= lr g / (||g|| + AC_SVM_NGD_EPS); 0: W -= lr g */
    ac_svm_head head;
} ac_svm_train_settings;

/* Mean loss over the dataset at W (d x d) and, when grad is non-NULL, its
 * gradient (d x d).  E is K x d.  The dataset must have labels in sequences
 * for the identity head.  query (n entries) names the attending token of
 * each example when non-NULL (a reduced dataset, theory/tpg_loss.h, keeps
 * only some positions but attends from the original last token); NULL means
 * the last entry of each sequence, the model of spec §1. */
double ac_svm_model_loss(const ac_tpg_data *D, const int *query, const double *E, int d, ac_svm_head head,
                         const double *W, double *grad);

/* The attention s of example i at W, gathered per token: mass[j] for j in
 * [0, K) (zero for absent tokens). */
void ac_svm_model_attention(const int *tok, int len, const double *E, int K, int d, const double *W,
                            double *mass);

/* W0 as PyTorch's default nn.Linear initialisation, i.i.d. U(-1/sqrt(d), 1/sqrt(d)). */
void ac_svm_model_init(gsl_rng *r, int d, double *W);

typedef struct ac_svm_trainer ac_svm_trainer;

/* A trainer over (D, query, E) (borrowed; query as in ac_svm_model_loss),
 * starting at W0 (copied). */
ac_svm_trainer *ac_svm_trainer_alloc(const ac_tpg_data *D, const int *query, const double *E, int d,
                                     const ac_svm_train_settings *set, const double *W0);
void ac_svm_trainer_free(ac_svm_trainer *tr);

/* One step; returns AC_ENUMERIC if the loss or gradient is not finite. */
ac_status ac_svm_trainer_step(ac_svm_trainer *tr);
/* Current weights (d x d, borrowed), steps taken, loss at the last step's start. */
const double *ac_svm_trainer_W(const ac_svm_trainer *tr);
long ac_svm_trainer_steps(const ac_svm_trainer *tr);
double ac_svm_trainer_loss(const ac_svm_trainer *tr);

#endif
