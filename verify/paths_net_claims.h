/* Two claims of the attention-paths paper (spec attention_paths §4.2,
 * §4.2b) that need a network trained by gradient descent
 * (verify/paths_net.h), as trial definitions for the paths claim table:
 *
 *   paths.head-pruning  (AC_PATHS_PRUNING_STATEMENT, ac_paths_pruning_trials)
 *   paths.digits        (AC_PATHS_DIGITS_STATEMENT, ac_paths_digits_trials)
 *
 * The lead adds the two rows, e.g.
 *   {.id = "paths.head-pruning", .paper = "paths",
 *    .statement = AC_PATHS_PRUNING_STATEMENT, .trials = &ac_paths_pruning_trials}.
 *
 * Trials are seeds: trial i of a run with base seed S draws everything from
 * the trial's generator (MT19937 at S + i).  Its first draws make the
 * digits task: in both claims the digits task of trial i is
 * ac_paths_digits_task_init at seed S + i with the claim's digits settings
 * (ac_paths_pruning_setup_of or ac_paths_digits_setup_of: the two differ in
 * the GD model's steps, so only the sequences agree).  After it the same
 * generator gives paths.digits' Gibbs chains and paths.head-pruning's
 * Markov net (initial weights, then batches).  The Markov task of trial i
 * adds S + i to every seed of §4.1 (data 27, 59; random heads 147, 247) and
 * draws nothing else from the generator.  Rows come from the records
 * alone. */
#ifndef AC_PATHS_NET_CLAIMS_H
#define AC_PATHS_NET_CLAIMS_H

#include "verify/claim.h"
#include "verify/paths_digits.h"
#include "verify/trial.h"

#define AC_PATHS_PRUNING_STATEMENT                                                              \
    "Heads ranked by the theory's head score (sum of |U_1| over the paths through the head, "  \
    "from the saddle point on the trained network's frozen attention) cost the trained "        \
    "network accuracy in the same order when pruned one at a time: low-score heads cost least " \
    "(spec §4.2, Fig. 3e); judged on the Markov task and on digits as a positive Spearman "     \
    "correlation of score and drop over seeds (drops within test-set error tied) and as the "   \
    "upper-score half costing more than the lower half"
#define AC_PATHS_DIGITS_STATEMENT                                                              \
    "On a real-image one-shot task (scikit-learn digits, spec §4.2b) with Q/K frozen from a "  \
    "GD-trained network, finite-width theory beats its GP limit at every temperature, and the " \
    "theory's predictor matches the Bayesian posterior sampled by Gibbs"

extern const ac_trial_def ac_paths_pruning_trials;
extern const ac_trial_def ac_paths_digits_trials;

/* Judged rows clear this many standard errors when the error is a known
 * sd (the paired test-set error, the null spread of rho): one-sided 2
 * sigma, a 2.3 % false-failure rate for a normal mean.  When the error is
 * the spread of n seeds, the sd is itself estimated, and the row clears the
 * Student t quantile of n - 1 degrees of freedom at the same one-sided
 * level (ac_paths_net_multiplier): 4.53 at 3 seeds, 2.32 at 10; a bar is the
 * larger of the two where both apply. */
#define AC_PATHS_NET_Z 2.0
/* AC_PATHS_NET_Z for a known sd (spread = 0); for the spread of n >= 2
 * seeds (spread = 1), the t quantile of n - 1 degrees of freedom at the
 * normal's one-sided level Phi(AC_PATHS_NET_Z).  NaN for spread with n < 2. */
double ac_paths_net_multiplier(int spread, int n);
/* Theory against samples: 3 Monte-Carlo standard errors (0.13 % one-sided). */
#define AC_PATHS_NET_MC_Z 3.0

typedef struct {
    int seeds;                   /* trials */
    /* Markov task (§4.1 data and heads): a GD net on the frozen heads */
    int m_width;                 /* the GD net's width */
    long m_steps;                /* Adam steps, full batch of the P = 100 training set */
    double m_lr;
    int m_test_per_class;        /* test sequences per class */
    double m_theory_N;           /* width of the theory whose U_1 gives the scores */
    /* digits (§4.2b) */
    ac_paths_digits_settings digits;
    double d_theory_N, d_theory_T;
} ac_paths_pruning_setup;

typedef struct {
    int seeds;
    ac_paths_digits_settings digits;
    int nN;
    double N[8];                 /* finite widths of the theory */
    int nT;
    double T[4];                 /* temperatures */
    double gibbs_N, gibbs_T;     /* the point sampled */
    int chains;
    long burn, keep;
    int gibbs_test;              /* test points recorded by the sampler (from the test half) */
} ac_paths_digits_setup;

/* Epochs of the digits GD model at the default size (§4.2b's reference run
 * reached 0.809 after 10 epochs, 0.903 after 40). */
#define AC_PATHS_DIGITS_DEFAULT_EPOCHS 10
/* Adam steps of each of paths.head-pruning's digits models at the default
 * size (6.4 epochs of 6000 at batch 128). */
#define AC_PATHS_PRUNING_DEFAULT_STEPS 300

/* The sizes (quick: tests, seconds; default: make results; paper: §4.2b's
 * recipe and grids). */
void ac_paths_pruning_setup_of(ac_size size, ac_paths_pruning_setup *su);
void ac_paths_digits_setup_of(ac_size size, ac_paths_digits_setup *su);

/* Spearman's rank correlation of x and y (n entries): Pearson's correlation
 * of their ranks, ties given their mean rank.  NaN when n < 2 or a side is
 * constant. */
double ac_paths_spearman(int n, const double *x, const double *y);
/* The same with y's ties decided by measurement error: y_j and y_k (accuracy
 * drops on ntest test points) count as different only when |y_j - y_k| > z
 * sqrt(disc[j n + k]) / ntest, disc (n x n, borrowed) holding the test points
 * where exactly one of the two pruned nets is right (McNemar's n01 + n10;
 * sqrt(disc)/ntest bounds the standard error of the paired difference).  A
 * pair not resolved adds 1/2 to both ranks, as a tie adds to mid-ranks, so
 * with every pair resolved (or exactly equal) this is ac_paths_spearman; the
 * relation need not be transitive.  Under no association (a random
 * permutation of one side) any Pearson correlation of two fixed non-constant
 * vectors has mean 0 and variance exactly 1/(n - 1), ties or not: the null
 * spread used for judging does not change.  NaN when n < 2 or a side's
 * ranks are constant (every drop unresolved from every other). */
double ac_paths_spearman_resolved(int n, const double *x, const double *y, const double *disc,
                                  int ntest, double z);

#endif
