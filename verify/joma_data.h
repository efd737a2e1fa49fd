/* The synthetic data of the JoMA invariant check (spec joma §4.1; the
 * authors' joma/draw_figure_2_3.py): M = Mdistinct + Mcommon contextual
 * tokens, K classes, one sample per class.  Sample n (class n) has the
 * token distribution x^(n) in R^M (x >= 0, sum 1):
 *   UNIFORM   x^(n)_l proportional to r_{l n} ~ U[0, 1/2) (X = rand / 2);
 *   GAUSSIAN  as UNIFORM, but the first Mdistinct entries are replaced by
 *             exp(-(l - n Mdistinct / K)^2 / 30) before normalising
 *             (a bump that moves with the class).
 * Randomness comes from the caller's gsl_rng (entries drawn token by token,
 * class by class, as torch.rand(Mc, K) fills its rows; the values are not
 * torch's), so a data set replays from its seed. */
#ifndef AC_JOMA_DATA_H
#define AC_JOMA_DATA_H

#include <gsl/gsl_rng.h>

#include "solvers/status.h"

/* The authors' sizes (spec §4.1). */
#define AC_JOMA_DATA_MDISTINCT 10
#define AC_JOMA_DATA_MCOMMON 10
#define AC_JOMA_DATA_K 20
/* Width of the GAUSSIAN bump: exp(-(l - c)^2 / 30) (draw_figure_2_3.py). */
#define AC_JOMA_DATA_GAUSS_WIDTH 30.0

typedef enum { AC_JOMA_DATA_UNIFORM = 0, AC_JOMA_DATA_GAUSSIAN } ac_joma_data_kind;

/* "uniform", "gaussian"; NULL outside the list. */
const char *ac_joma_data_kind_name(ac_joma_data_kind k);

/* A data set owned by the struct (ac_joma_data_init / _clear). */
typedef struct {
    int N;        /* samples */
    int M;        /* contextual tokens */
    int K;        /* classes (output nodes) */
    double *X;    /* N x M, row-major: row n = x^(n), x >= 0 */
    int *label;   /* N labels in [0, K) */
    double *Y;    /* N x K, row-major: one-hot of label (targets of the squared loss) */
} ac_joma_data;

/* Allocate for N samples, M tokens, K classes, all zero.  AC_EINVAL (msg
 * says which) for a size < 1; AC_ENOMEM (D left empty). */
ac_status ac_joma_data_init(ac_joma_data *D, int N, int M, int K, ac_msg *msg);
/* Free and zero; a cleared or zeroed struct is a no-op. */
void ac_joma_data_clear(ac_joma_data *D);

/* Fill D (initialised by this call; clear it after) with the §4.1 data:
 * N = K samples, sample n of class n, M = mdistinct + mcommon.  AC_EINVAL
 * for mdistinct < 0, mcommon < 0, M < 1, K < 1 or r NULL; AC_ENOMEM. */
ac_status ac_joma_data_synthetic(ac_joma_data *D, ac_joma_data_kind kind, int mdistinct,
                                 int mcommon, int K, gsl_rng *r, ac_msg *msg);

/* bbar = the mean of the x^(n) (M entries): the authors' x-bar, the mean
 * attention of the approximate softmax invariant (spec §2.1). */
void ac_joma_data_mean(const ac_joma_data *D, double *bbar);

#endif
