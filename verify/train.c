#include "verify/train.h"

#include <math.h>

const char *ac_train_outcome_str(ac_train_outcome o)
{
    switch (o) {
#define AC_TRAIN_OUTCOME_CASE(name, text) \
    case name:                            \
        return text;
        AC_TRAIN_OUTCOME_LIST(AC_TRAIN_OUTCOME_CASE)
#undef AC_TRAIN_OUTCOME_CASE
    }
    return "unknown";
}

int ac_adam_folded(size_t n, const double *w, const double *g, double beta1, double beta2, double alpha,
                   double eps, double *m, double *v, double *next)
{
    int finite = 1;
    for (size_t k = 0; k < n; k++) {
        m[k] = beta1 * m[k] + (1.0 - beta1) * g[k];
        v[k] = beta2 * v[k] + (1.0 - beta2) * g[k] * g[k];
        next[k] = w[k] - alpha * m[k] / (sqrt(v[k]) + eps);
        finite = finite && isfinite(next[k]);
    }
    return finite;
}

int ac_adam_hats(size_t n, const double *w, const double *g, double beta1, double beta2, double lr, double c1,
                 double c2, double eps, double *m, double *v, double *next)
{
    int finite = 1;
    for (size_t k = 0; k < n; k++) {
        m[k] = beta1 * m[k] + (1.0 - beta1) * g[k];
        v[k] = beta2 * v[k] + (1.0 - beta2) * g[k] * g[k];
        next[k] = w[k] - lr * (m[k] / c1) / (sqrt(v[k] / c2) + eps);
        finite = finite && isfinite(next[k]);
    }
    return finite;
}
