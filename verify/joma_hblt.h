/* The HBLT experiment (spec joma §3 item 4, §4.5): the generator of our
 * symmetric-channel tree (theory/joma_hblt.h), the check of its sampled
 * co-occurrence frequencies, and the data set on which JoMA's one-layer
 * block (verify/joma_model.h) learns which tokens go together.
 *
 * Generator.  A sample is drawn top-down: the root y = 1 with probability
 * p_root (one gsl_rng_uniform), then level by level, left to right, each
 * child copies its parent and is flipped when a uniform draw falls below
 * (1 - rho_k)/2.  Its tokens are the leaves with y = 1, in increasing
 * order; a sample may have none.  The command line writes them one sequence
 * per line (`attncheck joma generate --task hblt`) through
 * ac_joma_hblt_sample and ac_joma_hblt_tokens.
 *
 * Learning task (masked token).  Each sequence is a sample with at least
 * two tokens; one of them, chosen uniformly, is the label (the token to
 * predict) and the others are the context: x = their normalised indicator
 * over the M = 2^D tokens, K = M classes.  JoMA's block (verify/
 * joma_model.h) associates context token l with label n through the
 * projected MLP weight v_{n l} = u_l . w_n; at the start of training it
 * grows at the rate Delta_{n l} = E[x_l ([y = n] - 1/K)] (spec §2.2, the
 * drive of the linear case), which orders the pairs as their co-occurrence
 * P(y_l = 1, y_n = 1) does.  The theory (spec §3 item 4, the Fig. 5
 * caption, "Theorem 4") says the pairs that co-occur strongly are associated
 * first, and the weakly co-occurring ones are picked up later. */
#ifndef AC_JOMA_HBLT_VERIFY_H
#define AC_JOMA_HBLT_VERIFY_H

#include <gsl/gsl_rng.h>

#include "solvers/status.h"
#include "theory/joma_hblt.h"
#include "verify/joma_data.h"

/* Draw N samples into Y (N x 2^depth, row-major, entries 0 or 1), in the
 * order of the header.  AC_EINVAL (msg says which) for a bad tree
 * (ac_joma_hblt_check), N < 0 or r NULL. */
ac_status ac_joma_hblt_sample(const ac_joma_hblt *h, gsl_rng *r, int N, unsigned char *Y, ac_msg *msg);

/* The tokens of one sample y (2^depth entries): the leaves with y = 1, in
 * increasing order, into tok (room for 2^depth); returns their count. */
int ac_joma_hblt_tokens(const ac_joma_hblt *h, const unsigned char *y, int *tok);

/* The sampled co-occurrence frequencies of N samples Y against the tree's
 * formula.  For each pair l < m, f = (samples with y_l = y_m = 1)/N against
 * p = ac_joma_hblt_cooccur; for each leaf the marginal likewise.  A
 * frequency's binomial standard error is sqrt(p (1 - p) / N), and
 * z = |f - p| / that. */
typedef struct {
    double zmax_pair;   /* largest z over the pairs */
    double zmax_marg;   /* largest z over the leaves' marginals */
    int worst_l, worst_m;  /* the pair of zmax_pair */
    double f_worst, p_worst;
    int npairs;         /* 2^depth (2^depth - 1) / 2 */
    /* by height H = 1..depth of the common ancestor (index H - 1): the
     * theory's P(y_l = 1 | y_m = 1) and the sampled one, pooled over the
     * pairs at that height (counts of both present over counts of m present) */
    double cond_theory[AC_JOMA_HBLT_DEPTH_MAX];
    double cond_sample[AC_JOMA_HBLT_DEPTH_MAX];
} ac_joma_hblt_fit;

/* Fill fit from Y (N x 2^depth).  AC_EINVAL for a bad tree or N < 1;
 * AC_ENOMEM.  A pair whose p is 0 or 1 has no spread: it contributes z = 0
 * when f = p and +inf otherwise. */
ac_status ac_joma_hblt_fit_measure(const ac_joma_hblt *h, const unsigned char *Y, int N, ac_joma_hblt_fit *fit,
                                   ac_msg *msg);

/* The learning task with N sequences, drawn with r: D is initialised here
 * (N samples, M = K = 2^depth; clear it after).  AC_EINVAL for a bad tree,
 * N < 1, r NULL, or when AC_JOMA_HBLT_TASK_DRAWS_MAX draws per kept
 * sequence yield too few (a tree that rarely shows two tokens). */
#define AC_JOMA_HBLT_TASK_DRAWS_MAX 1000
ac_status ac_joma_hblt_task(const ac_joma_hblt *h, int N, gsl_rng *r, ac_joma_data *D, ac_msg *msg);

/* Spearman's rank correlation of x and y (n >= 2 entries; ties get their
 * mean rank); NaN when either has no spread. */
double ac_joma_hblt_spearman(const double *x, const double *y, int n);

#endif
