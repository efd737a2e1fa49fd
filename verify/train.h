/* The shape every small trained model of attncheck shares (GSL multimin,
 * CVODE's return flags):
 *
 *   ac_<m>_train_settings      settings, filled by ac_<m>_train_settings_default
 *                              and then by name (s.lr = 0.1), never positionally;
 *   ac_<m>_train_settings_check  NULL when the settings are usable, otherwise
 *                              the sentence saying which one is wrong and why;
 *   ac_<m>_trainer_alloc       a workspace from sizes (NULL on no memory);
 *   ac_<m>_trainer_set         point it at borrowed data and a start (copied);
 *   ac_<m>_trainer_iterate     one step;
 *   ac_<m>_trainer_test        how the run stands: an ac_train_outcome;
 *   ac_<m>_trainer_run         iterate until a step count or an ending;
 *   ac_<m>_trainer_info        the ac_train_info below;
 *   ac_<m>_trainer_free        free(NULL) is a no-op;
 *   ac_<m>_train               alloc, set, run, free in one call.
 *
 * How a run ended is an outcome in the info, never an error code: a function
 * returns an ac_status only when it could not do its job (bad settings, no
 * memory).  A diverged run keeps the last finite iterate. */
#ifndef AC_TRAIN_H
#define AC_TRAIN_H

#include <stddef.h>

#define AC_TRAIN_OUTCOME_LIST(X)                                                  \
    X(AC_TRAIN_RUNNING, "running")          /* no ending reached yet */           \
    X(AC_TRAIN_STEP_LIMIT, "step limit")    /* took settings.steps steps */       \
    X(AC_TRAIN_CONVERGED, "converged")      /* the model's stopping test held */  \
    X(AC_TRAIN_DIVERGED, "diverged")        /* non-finite or blown-up loss */

typedef enum {
#define AC_TRAIN_OUTCOME_ENUM(name, text) name,
    AC_TRAIN_OUTCOME_LIST(AC_TRAIN_OUTCOME_ENUM)
#undef AC_TRAIN_OUTCOME_ENUM
} ac_train_outcome;

/* "running", "step limit", "converged", "diverged"; "unknown" otherwise. */
const char *ac_train_outcome_str(ac_train_outcome o);

typedef struct {
    ac_train_outcome outcome;
    long steps;        /* steps taken */
    double loss;       /* loss at the current iterate (NaN before the first evaluation) */
    double loss0;      /* loss at the start */
    double grad_norm;  /* gradient norm at the last evaluated iterate */
    double seconds;    /* wall time spent in iterate */
} ac_train_info;

/* Adam (Kingma and Ba 2015), the step every trainer shares.  From the
 * gradient g of n parameters w, update the moments in place,
 *   m = beta1 m + (1 - beta1) g,   v = beta2 v + (1 - beta2) g^2,
 * and write the proposed iterate next (which may be w itself).  The bias
 * correction comes in the two forms the peer libraries write, each kept
 * term for term so that our runs compare bit for bit with theirs:
 *   folded (Keras, scikit-learn): next = w - alpha m / (sqrt(v) + eps),
 *          alpha = lr sqrt(1 - beta2^t) / (1 - beta1^t);
 *   hats (PyTorch, the paper's own code): next = w - lr (m / c1) / (sqrt(v / c2) + eps),
 *          c1 = 1 - beta1^t, c2 = 1 - beta2^t.
 * The caller computes alpha or c1, c2 (as a running product or by pow, as its
 * peer does).  Returns 1 when every next[k] is finite, 0 otherwise (the
 * caller keeps w: a diverged run keeps its last finite iterate). */
int ac_adam_folded(size_t n, const double *w, const double *g, double beta1, double beta2, double alpha,
                   double eps, double *m, double *v, double *next);
int ac_adam_hats(size_t n, const double *w, const double *g, double beta1, double beta2, double lr, double c1,
                 double c2, double eps, double *m, double *v, double *next);

#endif
