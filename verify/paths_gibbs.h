/* The finite-width network of the attention-paths paper (spec
 * attention_paths §1) and its Bayesian posterior, sampled by blocked Gibbs
 * with exact Gaussian conditionals (§6).
 *
 * Network, per example and path pi = (h_1..h_L), with xi_pi(x) = x omega_pi(x):
 *   f(x) = c_a a . sum_pi c_L V_L^{h_L} ... c_1 V_1^{h_1} c_0 V_0 xi_pi(x),
 *   c_0 = 1/sqrt(N0), c_l = 1/sqrt(H_l n_{l-1}), c_a = 1/sqrt(N_a),
 * which is §1's layer recursion read path by path (§2).  Prior: every entry
 * of a block i.i.d. N(0, sigma_b^2); likelihood: y ~ N(f(x), T) (§1).
 *
 * A sweep updates the blocks a, V_L (all heads at once), ..., V_1, V_0 in
 * turn.  f is linear and homogeneous in each block given the others, f = J
 * theta, so the conditional is Gaussian and is drawn exactly by Matheron's
 * rule (§6): theta0 ~ N(0, sigma^2 I), eps ~ N(0, T I_P),
 *   theta = theta0 + sigma^2 J^T (sigma^2 J J^T + T I)^{-1} (y - J theta0 - eps),
 * with one P x P Cholesky (LAPACKE dpotrf) per block; J is never formed: it
 * is a sum of outer products (left vector) x (right vector per example).
 *
 * Per kept sweep and chain the sampler records f on the test points and
 * U_1[pi, pi'] = W_pi . W_pi' / n_0 with W_pi = (a^T V_L^{h_L} ... V_1^{h_1})^T /
 * sqrt(N_a n_{L-1} ... n_1), V_0 excluded (§2, §6).  Diagnostics: split R-hat
 * and the effective sample size (Gelman et al., BDA3 §11.4-11.5; Geyer's
 * initial positive sequence) for every reported number.
 *
 * Randomness: one gsl_rng passed to set and iterate, normal draws by GSL's
 * ziggurat (gsl_ran_gaussian_ziggurat: exact in distribution and about 3
 * times as fast as gsl_ran_gaussian's polar method, whose draws cost as much
 * as the four Choleskies of a sweep at P = 100; bench/paths.sh), so a run
 * replays from its seed.  Library code: no printing, no exits. */
#ifndef AC_PATHS_GIBBS_H
#define AC_PATHS_GIBBS_H

#include <gsl/gsl_rng.h>
#include <stddef.h>

#include "solvers/status.h"
#include "theory/paths.h"
#include "verify/train.h"

/* "Mixed" when every reported number has split R-hat below 1.01 and ESS of
 * at least 400 (Vehtari, Gelman, Simpson, Carpenter, Buerkner 2021, the
 * thresholds they recommend). */
#define AC_PATHS_GIBBS_RHAT_OK 1.01
#define AC_PATHS_GIBBS_ESS_OK 400.0
/* §6: start at a prior draw, drop about 200 sweeps, keep about 500; 4 chains
 * for split R-hat. */
#define AC_PATHS_GIBBS_BURN_DEFAULT 200
#define AC_PATHS_GIBBS_KEEP_DEFAULT 500
#define AC_PATHS_GIBBS_CHAINS_DEFAULT 4
/* Largest width, so that the int sizes handed to BLAS cannot overflow. */
#define AC_PATHS_GIBBS_MAX_WIDTH 100000

/* Blocks (bits of settings.blocks): the readout a, the input layer V_0, and
 * layer l's value weights (all heads) for l = 1..L. */
#define AC_PATHS_GIBBS_BLOCK_A 1u
#define AC_PATHS_GIBBS_BLOCK_V0 2u
#define AC_PATHS_GIBBS_BLOCK_V(l) (4u << ((l) - 1))
#define AC_PATHS_GIBBS_ALL_BLOCKS 0xffffffffu

typedef struct {
    ac_paths_settings net;  /* L, H, widths (integers here), sigma^2, T */
    int chains;             /* >= 1 */
    long burn;              /* sweeps dropped per chain, >= 0 */
    long keep;              /* sweeps kept per chain, >= 4 (split R-hat halves) */
    unsigned blocks;        /* blocks updated; the others keep their start (a
                               conditional posterior, for tests). Default all. */
} ac_paths_gibbs_settings;

/* net from ac_paths_settings_default (L = 1, H = 1, widths 1, T = 1), the
 * defaults above, all blocks. */
void ac_paths_gibbs_settings_default(ac_paths_gibbs_settings *s);
/* NULL when usable, else the sentence naming the setting (static storage,
 * a width's sentence valid until the calling thread's next call):
 * the net's own check, a width that is not an integer in
 * 1..AC_PATHS_GIBBS_MAX_WIDTH, chains < 1, burn < 0, keep < 4, no block. */
const char *ac_paths_gibbs_settings_check(const ac_paths_gibbs_settings *s);

/* Entries of one chain's state: a (N_a), V_0 (n_0 x N0), then for l = 1..L
 * the H_l matrices V_l^h (n_l x n_{l-1}, row-major), head 1 first. */
size_t ac_paths_gibbs_state_size(const ac_paths_gibbs_settings *s, int N0);

typedef struct ac_paths_gibbs ac_paths_gibbs;

/* A sampler for P training and Pt test examples of N0 features (Pt may be 0;
 * P >= 1).  Copies s.  Memory: O(chains keep (Pt + (H^L)^2)) for the records
 * plus O(H^L (P + Pt) sum_l n_l) for the forward pass.  NULL on bad settings
 * or sizes (records of chains keep (Pt + (H^L)^2) doubles past SIZE_MAX
 * bytes included), or no memory. */
ac_paths_gibbs *ac_paths_gibbs_alloc(const ac_paths_gibbs_settings *s, int P, int Pt, int N0);
void ac_paths_gibbs_free(ac_paths_gibbs *g);

/* Attach data and start: Phi (P x N0 x H^L) and Phi_t (Pt x N0 x H^L) are
 * path tensors from ac_paths_phi with the same net settings (copied, with
 * their sigma_0 / sqrt(N0 H^L) divided out), Y (P labels, copied).  Every
 * chain starts at an independent prior draw from r; the sweep count and the
 * records are reset.  AC_EINVAL (msg names the entry: NULL or non-finite),
 * AC_OK. */
ac_status ac_paths_gibbs_set(ac_paths_gibbs *g, const double *Phi, const double *Y,
                             const double *Phi_t, gsl_rng *r, ac_msg *msg);
/* Plant chain c's state (ac_paths_gibbs_state_size entries, copied) before
 * the first sweep.  AC_EINVAL for a bad chain, a non-finite entry or after
 * sweeps were taken; AC_OK. */
ac_status ac_paths_gibbs_set_state(ac_paths_gibbs *g, int chain, const double *theta,
                                   ac_msg *msg);
/* Chain c's current state (borrowed until the next call on g). */
const double *ac_paths_gibbs_state(const ac_paths_gibbs *g, int chain);

/* One sweep of every chain; after the burn-in, records f on the test points
 * and U_1.  A no-op once the run has ended.  AC_EINVAL before set; AC_OK
 * otherwise (a failed Cholesky of sigma^2 J J^T + T I, impossible for T > 0
 * in exact arithmetic, ends the run as AC_TRAIN_DIVERGED). */
ac_status ac_paths_gibbs_iterate(ac_paths_gibbs *g, gsl_rng *r, ac_msg *msg);
/* RUNNING until burn + keep sweeps, then STEP_LIMIT; DIVERGED as above or
 * when f became non-finite. */
ac_train_outcome ac_paths_gibbs_test(const ac_paths_gibbs *g);
/* iterate until test is not RUNNING. */
ac_status ac_paths_gibbs_run(ac_paths_gibbs *g, gsl_rng *r, ac_msg *msg);

/* One reported number: its value over all kept draws of all chains, split
 * R-hat, ESS and the Monte-Carlo standard error sqrt(var/ESS). */
typedef struct {
    double value, rhat, ess, mcse;
} ac_paths_gibbs_stat;

typedef struct {
    ac_train_info train;          /* outcome, steps = sweeps, loss = training MSE
                                     (1/P) sum (f - y)^2 averaged over chains at
                                     the last sweep, seconds */
    long kept;                    /* draws per chain recorded */
    ac_paths_gibbs_stat var_mean; /* mean over test points of the posterior
                                     variance of f (trace: (1/Pt) sum_m (f_m -
                                     mean_m)^2 per draw, rescaled n/(n-1)) */
    double mean_rhat_max;         /* over test points, of f_m's trace */
    double mean_ess_min;
    double u_rhat_max;            /* over the entries of U_1 */
    double u_ess_min;
    int mixed;                    /* every R-hat < RHAT_OK and ESS >= ESS_OK */
} ac_paths_gibbs_info;

/* Fill info (valid at any time; the sampled numbers and diagnostics are NaN
 * until all keep draws are kept).  AC_ENOMEM or AC_OK. */
ac_status ac_paths_gibbs_info_get(const ac_paths_gibbs *g, ac_paths_gibbs_info *info);

/* Per test point m (arrays of Pt, any may be NULL): the posterior mean of f
 * (the mean predictor), its variance over the draws (n - 1 denominator), and
 * split R-hat and ESS of f_m's trace.  AC_EINVAL before the run has kept
 * all settings.keep draws, else AC_OK. */
ac_status ac_paths_gibbs_test_stats(const ac_paths_gibbs *g, double *mean, double *var,
                                    double *rhat, double *ess);
/* U_1 (H^L x H^L, row-major; arrays may be NULL): mean over draws, split
 * R-hat and ESS per entry.  AC_EINVAL before all keep draws are kept. */
ac_status ac_paths_gibbs_u1(const ac_paths_gibbs *g, double *U, double *rhat, double *ess);
/* The standard deviation of each U_1 entry over all kept draws of all
 * chains (n - 1 denominator; H^L x H^L, row-major): with ess from
 * ac_paths_gibbs_u1, the Monte-Carlo standard error of the mean is
 * sd / sqrt(ess).  AC_EINVAL before all keep draws are kept. */
ac_status ac_paths_gibbs_u1_sd(const ac_paths_gibbs *g, double *sd);

/* f at the current state of chain c on the training (ftr, P) and test (fte,
 * Pt) points; either may be NULL.  AC_EINVAL before set. */
ac_status ac_paths_gibbs_predict(ac_paths_gibbs *g, int chain, double *ftr, double *fte);

/* Split R-hat and ESS of one scalar recorded in `chains` chains of n draws:
 * draw s of chain c at x[(c n + s) stride].  Each chain is cut into halves
 * of n/2 (the middle draw dropped when n is odd), m = 2 chains halves:
 *   W = mean of the halves' variances, B/h = variance of their means,
 *   var+ = (h - 1)/h W + B/h, R-hat = sqrt(var+/W);
 *   rho_t = 1 - (W - mean_j gamma_j(t))/var+, ESS = m h / (-1 + 2 sum_k P_k)
 *   with P_k = rho_{2k} + rho_{2k+1} summed while positive and made
 *   non-increasing (Geyer), capped at m h log10(m h) (as Stan).
 * n < 4: both NaN.  W = 0: R-hat 1 when B = 0, +inf otherwise; ESS m h. */
void ac_paths_gibbs_rhat_ess(int chains, long n, const double *x, size_t stride, double *rhat,
                             double *ess);

#endif
