/* The baselines of the tabular experiment (spec cbow_moe §3.4), trained in
 * C on the same categorical tables as the attention model (verify/
 * moe_tabular.h): the target is the last cell, the features the others,
 * one-hot encoded over the fixed category set 0..ncat-1 of every column
 * with category 0 dropped (pandas get_dummies(drop_first) on a fixed
 * vocabulary, §3.6's reading), so train and test always have the same
 * (L - 1)(ncat - 1) columns.  Classes are the ncat categories, whether or
 * not all occur in the training rows.
 *
 *   - multinomial logistic regression with L2 (sklearn's LogisticRegression
 *     defaults: C = 1, intercept unpenalised), minimised by BFGS
 *     (solvers/minimize.h) to a gradient test;
 *   - a one-hidden-layer ReLU MLP with softmax output, Adam and sklearn's
 *     MLPClassifier stopping rule (one configuration of §3.4's grid: the
 *     grid search itself is not reproduced).
 *
 * Random forests and gradient boosting are not here: they run as peers in
 * bench/ (python3-sklearn). */
#ifndef AC_MOE_BASELINES_H
#define AC_MOE_BASELINES_H

#include <gsl/gsl_rng.h>

#include "solvers/minimize.h"
#include "solvers/status.h"
#include "verify/moe_tabular.h"
#include "verify/train.h"

/* Bounds of the baselines: feature columns and classes (the per-row
 * buffers live on the stack).  Larger tables are refused by _alloc. */
#define AC_MOE_BASELINE_MAX_FEATURES 1024
#define AC_MOE_BASELINE_MAX_CLASSES 1024

/* Columns of the one-hot design of L - 1 features of ncat categories. */
int ac_moe_onehot_width(int L, int ncat);

/* Accuracy and mean squared difference of the bin index (spec §3.1's
 * "MSE") of predictions pred (t->n) against t's last column. */
void ac_moe_tab_score(const ac_moe_tab *t, const int *pred, double *acc, double *mse);

/* ---- Logistic regression ------------------------------------------------- */

/* sklearn's C = 1; the objective (mean over the n rows, as sklearn >= 1.1
 * scales it) is
 *   f(W, b) = (1/n) sum_r -log softmax(W x_r + b)[y_r] + ||W||^2 / (2 C n),
 * minimised until ||grad f||_inf <= eps_grad.  1e-8 is tighter than
 * sklearn's tol 1e-4, so the optimum, not the stopping point, is compared. */
#define AC_MOE_LOGREG_C_DEFAULT 1.0
#define AC_MOE_LOGREG_EPS_GRAD_DEFAULT 1e-8
/* sklearn's max_iter 2000 of the authors' call (§3.4). */
#define AC_MOE_LOGREG_MAX_ITER_DEFAULT 2000

typedef struct {
    double C;        /* > 0 */
    double eps_grad; /* >= 0 */
    int max_iter;    /* >= 0 */
} ac_moe_logreg_settings;

void ac_moe_logreg_settings_default(ac_moe_logreg_settings *s);
const char *ac_moe_logreg_settings_check(const ac_moe_logreg_settings *s);

typedef struct {
    int L, ncat, p; /* p = ac_moe_onehot_width(L, ncat) */
    double *W;      /* ncat x p */
    double *b;      /* ncat */
} ac_moe_logreg;

/* A zero model for rows of L cells of ncat categories; NULL on L < 2,
 * ncat < 2, L - 1 or ncat over the bounds above, or no memory. */
ac_moe_logreg *ac_moe_logreg_alloc(int L, int ncat);
void ac_moe_logreg_free(ac_moe_logreg *m);

/* Fit m to train (same L and ncat) from zero weights; info (may be NULL)
 * gets how BFGS ended, which the caller must read (MAX_ITER and
 * NO_PROGRESS are endings, not errors).  AC_EINVAL for bad settings or
 * sizes; AC_ENOMEM. */
ac_status ac_moe_logreg_fit(ac_moe_logreg *m, const ac_moe_tab *train, const ac_moe_logreg_settings *s,
                            ac_min_info *info, ac_msg *msg);
/* The objective above and its gradient (W then b, ncat (p + 1) entries) at
 * m, for tests; g may be NULL. */
double ac_moe_logreg_objective(const ac_moe_logreg *m, const ac_moe_tab *train, double C, double *g);
/* argmax of the logits per row of t (the smallest class on a tie). */
ac_status ac_moe_logreg_predict(const ac_moe_logreg *m, const ac_moe_tab *t, int *pred, ac_msg *msg);

/* ---- One-hidden-layer MLP ------------------------------------------------ */

/* sklearn's MLPClassifier as the authors called it (§3.4: learning_rate_init
 * 0.01, max_iter 2000) with the grid's first hidden size 100 and alpha
 * 1e-4 (sklearn's default); Adam beta1 0.9, beta2 0.999, epsilon 1e-8
 * (sklearn's, not Keras's); batch min(200, n); stop after n_iter_no_change
 * = 10 epochs whose mean training loss did not fall below the best by tol
 * = 1e-4 (sklearn's rule). */
#define AC_MOE_MLP_HIDDEN_DEFAULT 100
#define AC_MOE_MLP_ALPHA_DEFAULT 1e-4
#define AC_MOE_MLP_LR_DEFAULT 0.01
#define AC_MOE_MLP_EPSILON_DEFAULT 1e-8
#define AC_MOE_MLP_BATCH_DEFAULT 200
#define AC_MOE_MLP_MAX_EPOCHS_DEFAULT 2000
#define AC_MOE_MLP_NO_CHANGE_DEFAULT 10
#define AC_MOE_MLP_TOL_DEFAULT 1e-4

typedef struct {
    int hidden;           /* >= 1 */
    double alpha;         /* L2 weight, >= 0: loss += alpha ||W||^2 / (2 batch) per batch */
    double lr, beta1, beta2, epsilon; /* Adam */
    int batch;            /* >= 1; min(batch, n) is used */
    int max_epochs;       /* >= 0 */
    int n_iter_no_change; /* >= 1 */
    double tol;           /* >= 0 */
} ac_moe_mlp_settings;

void ac_moe_mlp_settings_default(ac_moe_mlp_settings *s);
const char *ac_moe_mlp_settings_check(const ac_moe_mlp_settings *s);

typedef struct {
    int L, ncat, p, hidden;
    double *W1, *b1; /* hidden x p, hidden */
    double *W2, *b2; /* ncat x hidden, ncat */
} ac_moe_mlp;

/* NULL on L < 2, ncat < 2, hidden < 1, the bounds above, or no memory. */
ac_moe_mlp *ac_moe_mlp_alloc(int L, int ncat, int hidden);
void ac_moe_mlp_free(ac_moe_mlp *m);

/* Initialise (sklearn: every weight and bias U(+-sqrt(6 / (fan_in +
 * fan_out)))) and train on train, drawing the initialisation and the
 * per-epoch shuffles from r.  info gets steps = epochs run, loss = the last
 * epoch's mean loss, outcome CONVERGED (the stopping rule) or STEP_LIMIT
 * (max_epochs) or DIVERGED (a non-finite loss; the weights are then those
 * of the last finite epoch).  AC_EINVAL, AC_ENOMEM. */
ac_status ac_moe_mlp_fit(ac_moe_mlp *m, const ac_moe_tab *train, const ac_moe_mlp_settings *s,
                         gsl_rng *r, ac_train_info *info, ac_msg *msg);
/* The loss of a batch (mean cross-entropy + alpha ||W||^2 / (2 nb)) of rows
 * rows[0..nb) of t and its gradient (W1, b1, W2, b2 order) into g when
 * non-NULL, for tests. */
double ac_moe_mlp_loss(const ac_moe_mlp *m, const ac_moe_tab *t, int nb, const int *rows, double alpha,
                       double *g);
ac_status ac_moe_mlp_predict(const ac_moe_mlp *m, const ac_moe_tab *t, int *pred, ac_msg *msg);
/* Entries of the flat parameter vector (W1, b1, W2, b2). */
size_t ac_moe_mlp_nparams(const ac_moe_mlp *m);

#endif
