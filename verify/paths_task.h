/* The hidden-Markov-chain classification task of the attention-paths paper
 * and its hand-built heads (../shared/spec/attention_paths.md §4.1), with the
 * authors' random stream reproduced draw for draw.
 *
 * Random numbers: the authors draw everything from torch's CPU generator in
 * float64.  torch.manual_seed(s) is a standard mt19937, which is GSL's
 * gsl_rng_mt19937 after gsl_rng_set(r, s) for s >= 1 (GSL maps s = 0 to
 * 4357, torch does not: seed 0 is refused).  On it:
 *   - one float64 uniform takes two 32-bit words a then b:
 *     u = ((a 2^32 + b) mod 2^53) 2^-53                  (ac_paths_torch_uniform)
 *   - a float64 standard-normal array of n >= 16 entries: n uniforms, then
 *     Box-Muller on each complete block of 16 (z_j = r cos, z_{j+8} = r sin,
 *     r = sqrt(-2 ln(1 - u_j)), theta = 2 pi u_{j+8}); if 16 does not divide n,
 *     16 more uniforms overwrite the last 16 outputs   (ac_paths_torch_normal)
 * tests/test_paths_task.c checks both against torch itself.
 *
 * An example x is N0 x ntok (tokens as columns), row-major: rows 0..199 the
 * features, rows 200..230 the one-hot position; column 0 is BOS (zero
 * features, position 0), column t = 1..30 the t-th state of the chain.
 *
 * Library code: no printing, no exits. */
#ifndef AC_PATHS_TASK_H
#define AC_PATHS_TASK_H

#include <gsl/gsl_rng.h>

#include "solvers/status.h"
#include "theory/paths.h"

/* Sizes fixed by the task (§4.1): 30 chain states, 200 features (v_+ and v_-
 * have 100 ones each, times sqrt 2), a BOS token, 31 one-hot positions. */
#define AC_PATHS_MARKOV_SEQ 30
#define AC_PATHS_MARKOV_FEAT 200
#define AC_PATHS_MARKOV_NTOK (AC_PATHS_MARKOV_SEQ + 1)
#define AC_PATHS_MARKOV_N0 (AC_PATHS_MARKOV_FEAT + AC_PATHS_MARKOV_NTOK)
/* The authors' seeds: data (train, test) and random heads (layer 1 head 2,
 * layer 2 head 2); the good and uniform heads draw nothing. */
#define AC_PATHS_MARKOV_SEED_TRAIN 27UL
#define AC_PATHS_MARKOV_SEED_TEST 59UL
#define AC_PATHS_MARKOV_SEED_RANDOM1 147UL
#define AC_PATHS_MARKOV_SEED_RANDOM2 247UL
/* beta multiplies every head's bilinear form; the BOS key's score for every
 * real query in the good head (§4.1). */
#define AC_PATHS_MARKOV_BETA 10.0
#define AC_PATHS_MARKOV_BOS_BONUS 1.5
/* Model of §4.1: all sigma^2 = 1, T = 0.01, P = 100 train and 1000 test. */
#define AC_PATHS_MARKOV_T 0.01
#define AC_PATHS_MARKOV_P_TRAIN 100
#define AC_PATHS_MARKOV_P_TEST 1000

/* ---- torch's CPU stream on GSL's mt19937 ------------------------------- */

/* One float64 uniform in [0, 1), as torch.rand(..., dtype=float64). */
double ac_paths_torch_uniform(gsl_rng *r);
/* n standard normals into z, as torch.randn(n, dtype=float64).  n >= 16
 * (torch takes another path below 16; AC_EINVAL then); AC_OK. */
ac_status ac_paths_torch_normal(gsl_rng *r, size_t n, double *z);

/* ---- Data ------------------------------------------------------------- */

typedef struct {
    int per_class;         /* sequences per class; P = 2 per_class, >= 1 */
    double p_stay[2];      /* stay probability, class +1 then class -1, in [0, 1] */
    double sigma_perp;     /* noise outside span(v_+, v_-), >= 0 (1, or 5 in Fig. 2e) */
    unsigned long seed;    /* torch seed, >= 1 */
} ac_paths_markov_settings;

/* Training set of §4.1: 50 per class, p_stay = (0.7, 0.3), sigma_perp = 1,
 * seed 27.  The test set differs in per_class = 500, seed 59. */
void ac_paths_markov_settings_default(ac_paths_markov_settings *s);
/* NULL when usable, else the sentence naming the setting (static). */
const char *ac_paths_markov_settings_check(const ac_paths_markov_settings *s);

typedef struct {
    int P;          /* examples */
    double *X;      /* P x N0 x ntok, example mu at X + mu N0 ntok */
    double *Y;      /* P labels, +1 (first per_class) then -1 */
} ac_paths_markov_data;

/* Draw the data set, in the authors' order (§4.1): the per_class chains of
 * class +1, then those of class -1, each of 30 uniforms (the first state is +1
 * iff u >= 0.5, a later one stays iff u < p_stay); then one normal array
 * (P, 200, 30) for the noise, whose components along (v_+ + v_-) and
 * (v_+ - v_-) keep strength 1 and whose rest is scaled by sigma_perp.
 * d is caller-owned and filled (arrays allocated); ac_paths_markov_data_clear
 * frees them.  AC_EINVAL (msg: the setting), AC_ENOMEM (d left empty), AC_OK. */
ac_status ac_paths_markov_data_init(ac_paths_markov_data *d, const ac_paths_markov_settings *s,
                                    ac_msg *msg);
void ac_paths_markov_data_clear(ac_paths_markov_data *d);

/* ---- Heads ------------------------------------------------------------- */

typedef enum {
    AC_PATHS_HEAD_GOOD,     /* same token, shift -1, else BOS (no draws) */
    AC_PATHS_HEAD_UNIFORM,  /* positions block all ones: uniform attention */
    AC_PATHS_HEAD_RANDOM,   /* blank head + perturbations drawn from its seed */
    AC_PATHS_HEAD_BLANK     /* W = 0: uniform too (Fig. 2e's "blank" head) */
} ac_paths_head_kind;

typedef struct {
    ac_paths_head_kind kind;
    unsigned long seed;     /* used by AC_PATHS_HEAD_RANDOM only, >= 1 */
} ac_paths_markov_head;

/* The head's bilinear form W (N0 x N0, row-major; score S[s, t] = x_s^T W x_t,
 * s the key, t the query), beta included (§4.1):
 *   GOOD:    features beta q q^T, q = (v_+ - v_-)/200; positions beta at
 *            (s, s+1) for s = 1..29 and beta 1.5 at (0, t) for t = 1..30.
 *   UNIFORM: positions block all beta.
 *   RANDOM:  from a generator seeded with the head's seed: features
 *            N(0,1)/200 (200 x 200), then positions N(0,1) (31 x 31), then one
 *            231 x 231 N(0,1)/sqrt(200) array of which only the two
 *            feature x position blocks are kept; all times beta.
 *   BLANK:   zero.
 * AC_EINVAL for an unknown kind or seed 0, AC_ENOMEM, AC_OK. */
ac_status ac_paths_markov_head_w(const ac_paths_markov_head *h, double *W, ac_msg *msg);

/* The attention matrices of one example x (N0 x ntok): for each head k of
 * the nheads heads (layer 1's first, in W's order, W = nheads blocks of
 * N0 x N0), Omega_k[s, t] = softmax over the key s of x_s^T W_k x_t
 * (log-sum-exp), so each column sums to 1.  Omega: nheads x ntok x ntok,
 * the layout ac_paths_attention takes.  work: N0 x ntok + ntok doubles. */
void ac_paths_markov_omega(int nheads, const double *W, const double *x, double *Omega,
                           double *work);

/* ---- Networks of §4.1 ---------------------------------------------------- */

typedef enum {
    AC_PATHS_NET_FOUR_PATHS,    /* L = 2: (good, random 147), (uniform, random 247) */
    AC_PATHS_NET_GOOD_PATH,     /* L = 2, H = (1, 1): good; uniform */
    AC_PATHS_NET_GOOD_DENOISE,  /* L = 2, H = (2, 1): (good, random 147); uniform */
    AC_PATHS_NET_FIG2E          /* L = 2, H = (2, 1): (good, blank); uniform */
} ac_paths_markov_net;

/* Maximum heads in the networks above. */
#define AC_PATHS_MARKOV_MAX_HEADS 4

/* Fill s (L, H, every width N, sigma^2 = 1, T = 0.01) and heads (sum H_l
 * entries, layer 1 first) for the network; returns the number of heads, or 0
 * for an unknown net. */
int ac_paths_markov_network(ac_paths_markov_net net, double N, ac_paths_settings *s,
                            ac_paths_markov_head *heads);

/* The path tensor of a data set for a network (Phi: d->P x N0 x H^L, the
 * layout of ac_paths_phi, readout on the last token), built from the heads'
 * W.  AC_EINVAL / AC_ENOMEM (msg says which), AC_OK. */
ac_status ac_paths_markov_phi(const ac_paths_settings *s, const ac_paths_markov_head *heads,
                              const ac_paths_markov_data *d, double *Phi, ac_msg *msg);

/* Theory accuracy of the mean predictor (§3.3, §4.1): the fraction of test
 * points with sign <f> = y, for each width N[k] (the saddle point from the GP
 * start by ac_paths_solve with set, NULL = defaults; info[k] gets how it
 * ended, may be NULL) and, in *acc_gp, the GP limit (U = ac_paths_gp_u).
 * Data: train/test from the two settings, sigma_perp from train's.
 * AC_EINVAL, AC_ENOMEM, AC_ENUMERIC (msg says which), AC_OK even when a solve
 * did not converge (read info). */
ac_status ac_paths_markov_accuracy(ac_paths_markov_net net, const ac_paths_markov_settings *train,
                                   const ac_paths_markov_settings *test, int nN, const double *N,
                                   const ac_min_settings *set, double *acc, ac_paths_info *info,
                                   double *acc_gp, ac_msg *msg);

#endif
