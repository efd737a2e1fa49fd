/* The HBLT experiment (spec joma §3 item 4, §4.5): the generator of our
 * symmetric-channel tree (theory/joma_hblt.h), the check of its sampled
 * co-occurrence frequencies, the data sets on which a one-layer block
 * learns which tokens go together, and that block with one attention row
 * per query token.
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
 * P(y_l = 1, y_n = 1) does at the first step: the size of the early change
 * is the order of that gradient, not a learning order.  The theory (spec §3
 * item 4, the Fig. 5 caption, "Theorem 4") says the pairs that co-occur
 * strongly are associated first, by query m's attention z_{ml}, and the
 * weakly co-occurring ones are picked up later.  JoMA's block has one
 * attention vector shared by all labels, so it cannot show that ordering by
 * pair; the query block at the end of this header (one attention row per
 * query, as the paper's analysis has it) is what joma.hierarchy trains
 * (verify/joma_text_claims.c); the masked-token task above stays, for a
 * caller of JoMA's block, and joma.hierarchy no longer trains on it. */
#ifndef AC_JOMA_HBLT_VERIFY_H
#define AC_JOMA_HBLT_VERIFY_H

#include <gsl/gsl_rng.h>

#include "solvers/status.h"
#include "theory/joma_hblt.h"
#include "verify/joma_data.h"
#include "verify/joma_model.h"
#include "verify/train.h"

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
 * when f = p and +inf otherwise.  The maxima keep a NaN (a formula that
 * gives NaN makes zmax NaN, never a fit). */
ac_status ac_joma_hblt_fit_measure(const ac_joma_hblt *h, const unsigned char *Y, int N, ac_joma_hblt_fit *fit,
                                   ac_msg *msg);

/* Draws allowed per kept sequence of a learning task (a tree that rarely
 * shows enough tokens ends the draw with AC_EINVAL, not a hang). */
#define AC_JOMA_HBLT_TASK_DRAWS_MAX 1000

/* The time a path v[0..n) (n >= 1, at times t[0..n)) first reaches half
 * its final value: the first t[c] with v[c] / v[n-1] >= 1/2 (a scale-free
 * time: multiplying v by a constant leaves it unchanged).  NaN when
 * v[n-1] is 0 or not finite. */
double ac_joma_hblt_half_time(const double *t, const double *v, int n);

/* The time a path v[0..n) (at times t[0..n)) first reaches `level`: the
 * first t[c] with v[c] >= level; +inf when it never does (a pair not
 * learned within the run ranks after every learned one, all such tied);
 * NaN when level or an entry before the crossing is NaN. */
double ac_joma_hblt_level_time(const double *t, const double *v, int n, double level);

/* Spearman's rank correlation of x and y (n >= 2 entries; ties get their
 * mean rank); NaN when either has no spread. */
double ac_joma_hblt_spearman(const double *x, const double *y, int n);

/* ---- The query block: attention logits of every query token ----------
 *
 * The paper's analysis (spec §1.1, §1.4 item 2, §3 item 4) gives each query
 * token m its own row of attention logits z_m in R^M: z_{ml} is how much
 * query m attends to context token l, learned only from the sequences whose
 * query is m.  JoMA's block of verify/joma_model.h has one query and one z;
 * this block is the same layer with M queries, kept here, local to the HBLT
 * experiment, because only this experiment needs it.
 *
 * Task (query-token prediction).  Each sequence is a sample of the tree
 * with at least three tokens: one of them, chosen uniformly, is the query
 * m, another, chosen uniformly among the rest, the label n (the token to
 * predict), and the remaining ones the context x (their normalised
 * indicator over the M = 2^depth tokens).
 *
 * Model.  Orthonormal fixed embeddings (U = identity in d = 2M: the M
 * contextual tokens, then the M query embeddings u_m, so U_C^T u_m = 0 as
 * spec §1.4 item 1 asks), so the MLP weights W = [w_1 .. w_M] (d x M, one
 * per output token) are exactly their projections v_k = U_C^T w_k (V, M x
 * M, row k) and residual weights q_{km} = u_m . w_k (Q, M x M, row k):
 *   attention  b = softmax(ln x + z_m / T)  (over the tokens with x_l > 0)
 *   residual   f = U_C b + u_m
 *   MLP        h_k = w_k . f = v_k . b + q_{km}   (identity activation)
 *   loss       -log softmax(h)_n                  (cross-entropy)
 * averaged over the N sequences, trained by full-batch SGD on Z, V and Q
 * at one step lr (the authors' §4.1 run).  The gradient, with g_k = p_k -
 * [k = n] and e_l = sum_k g_k v_{kl}:
 *   dL/dv_{kl} = g_k b_l,  dL/dq_{km} = g_k,
 *   dL/dz_{ml} = b_l (e_l - b . e) / T   (the softmax Jacobian),
 * and z_{m'} for m' != m gets nothing from this sequence. */
typedef struct {
    ac_joma_data data;  /* X (N x M context), label (N), Y (one-hot); K = M */
    int *query;         /* N queries in [0, M) */
} ac_joma_hblt_qtask;

/* The task with N sequences drawn with r (initialised here; clear it with
 * ac_joma_hblt_qtask_clear).  AC_EINVAL for a bad tree, N < 1, r NULL, or
 * when AC_JOMA_HBLT_TASK_DRAWS_MAX draws per kept sequence yield too few
 * with three tokens; AC_ENOMEM. */
ac_status ac_joma_hblt_qtask_init(ac_joma_hblt_qtask *q, const ac_joma_hblt *h, int N, gsl_rng *r, ac_msg *msg);
/* Free and zero; a cleared or zeroed struct is a no-op. */
void ac_joma_hblt_qtask_clear(ac_joma_hblt_qtask *q);

/* Defaults: the authors' §4.1 step and temperature (verify/joma_model.h). */
#define AC_JOMA_HBLT_Q_STEPS_DEFAULT 1000L
#define AC_JOMA_HBLT_Q_LR_DEFAULT AC_JOMA_TRAIN_LR_DEFAULT
#define AC_JOMA_HBLT_Q_T_DEFAULT AC_JOMA_TRAIN_T_DEFAULT

typedef struct {
    long steps;             /* step limit, >= 1 */
    double lr;              /* SGD step on Z, V and Q, > 0, finite */
    double T;               /* attention temperature, > 0, finite */
    double diverge_factor;  /* diverged when loss > diverge_factor max(1, loss0), > 1 */
} ac_joma_hblt_q_settings;

/* AC_JOMA_HBLT_Q_STEPS_DEFAULT steps at lr AC_JOMA_HBLT_Q_LR_DEFAULT, T
 * AC_JOMA_HBLT_Q_T_DEFAULT, AC_JOMA_TRAIN_DIVERGE_FACTOR. */
void ac_joma_hblt_q_settings_default(ac_joma_hblt_q_settings *s);
/* NULL when usable; else a sentence naming the setting (static storage). */
const char *ac_joma_hblt_q_settings_check(const ac_joma_hblt_q_settings *s);

/* Mean loss of the task at (Z, V, Q) (each M x M, row-major, as above)
 * and, when gZ, gV, gQ are all non-NULL, its gradient into them.  NaN for
 * a query or label out of range. */
double ac_joma_hblt_q_loss(const ac_joma_hblt_qtask *q, const double *Z, const double *V, const double *Q,
                           double T, double *gZ, double *gV, double *gQ);

typedef struct ac_joma_hblt_q_trainer ac_joma_hblt_q_trainer;

/* A workspace for tasks of M tokens.  NULL on M < 1 or no memory. */
ac_joma_hblt_q_trainer *ac_joma_hblt_q_trainer_alloc(int M);
void ac_joma_hblt_q_trainer_free(ac_joma_hblt_q_trainer *tr);

/* Start a run on q (borrowed until the next set or free) from Z0, V0, Q0
 * (copied; NULL: zero) under s (copied).  AC_EINVAL (msg says which) for
 * bad settings, a query or label out of range or a non-finite start;
 * AC_ESIZE when q's M is not the alloc's. */
ac_status ac_joma_hblt_q_trainer_set(ac_joma_hblt_q_trainer *tr, const ac_joma_hblt_qtask *q,
                                     const ac_joma_hblt_q_settings *s, const double *Z0, const double *V0,
                                     const double *Q0, ac_msg *msg);
/* One step: the loss and gradient at the iterate, then Z, V, Q -= lr
 * times the gradient, as verify/joma_model.h's trainer: diverged when the
 * loss or gradient is not finite, the loss exceeds diverge_factor max(1,
 * loss0) or the step would leave a non-finite entry (the last finite
 * iterate stays); step limit once settings.steps steps are taken.
 * AC_EINVAL before a good set, else AC_OK (a no-op once ended). */
ac_status ac_joma_hblt_q_trainer_iterate(ac_joma_hblt_q_trainer *tr);
ac_train_outcome ac_joma_hblt_q_trainer_test(const ac_joma_hblt_q_trainer *tr);
/* Iterate until `steps` steps in all (at most the limit) or an ending;
 * the outcome then (AC_TRAIN_RUNNING when stopped at `steps`). */
ac_train_outcome ac_joma_hblt_q_trainer_run(ac_joma_hblt_q_trainer *tr, long steps);
/* The current Z, V, Q (M x M each), borrowed until the next iterate or
 * set; the info. */
const double *ac_joma_hblt_q_trainer_Z(const ac_joma_hblt_q_trainer *tr);
const double *ac_joma_hblt_q_trainer_V(const ac_joma_hblt_q_trainer *tr);
const double *ac_joma_hblt_q_trainer_Q(const ac_joma_hblt_q_trainer *tr);
const ac_train_info *ac_joma_hblt_q_trainer_info(const ac_joma_hblt_q_trainer *tr);

#endif
