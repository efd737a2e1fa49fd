/* JoMA's claims on real text and on the hierarchical latent tree (spec
 * joma §4.3, §4.3b, §3 item 4, §4.5), as trial definitions
 * (verify/trial.h).  The joma module's claim table (verify/joma_claims.c)
 * holds their rows:
 *   {.id = "joma.text-entropy", .paper = "joma", .statement = ...,
 *    .trials = &ac_joma_text_trials}
 *   {.id = "joma.hierarchy", ...,  .trials = &ac_joma_hierarchy_trials} */
#ifndef AC_JOMA_TEXT_CLAIMS_H
#define AC_JOMA_TEXT_CLAIMS_H

#include "verify/claim.h"
#include "verify/trial.h"

/* joma.text-entropy: the dip and rebound of the attention entropy of the
 * causal transformer of verify/joma_text.h trained on the fortunes corpus.
 * Trial i trains from the init drawn with the generator of seed S + i; its
 * record holds "t" (checkpoint steps), "H" (held-out attention entropy at
 * each) and "val" (held-out loss at each). */
extern const ac_trial_def ac_joma_text_trials;
/* The claim's statement, for the row in the joma table. */
#define AC_JOMA_TEXT_STATEMENT                                                                                 \
    "Trained on real English text (Debian's fortunes), a causal transformer's attention entropy first drops " \
    "(attention sparsens on salient tokens) and then rebounds (less salient tokens are picked up), as on "     \
    "WikiText2"

/* The sizes of the text experiment at a run size. */
typedef struct {
    int V, d, L, batch;  /* model: vocabulary, width (= FFN width), bptt, batch */
    long steps, every;   /* training steps; a checkpoint every `every` steps (and at 0) */
    double lr;           /* Adam's step */
    int eval_chunks;     /* held-out chunks of L tokens the entropy is measured on */
    int trials;          /* seeds */
    int judge_rebound;   /* 1: the rebound is judged (near the paper's width); 0: INFO */
} ac_joma_text_setup;

/* quick: V 200, d 16, 200 steps at lr 1e-3, 3 seeds; default: V 500, d 16,
 * 600 steps at lr 2e-3, 3 seeds; paper: the §4.3b reference run, V 5000,
 * d 200, 5000 steps at lr 1e-4, 8 seeds, rebound judged. */
ac_joma_text_setup ac_joma_text_claim_setup(ac_size size);

/* joma.hierarchy: our symmetric-channel HBLT (theory/joma_hblt.h).  Trial
 * i, with the generator of seed S + i: nsample samples of the tree against
 * the co-occurrence formula ("cooc_z", "marg_z": the largest binomial
 * z-scores; "cond_theory", "cond_sample": P(y_l = 1 | y_m = 1) by height),
 * then the query-token task of verify/joma_hblt.h (nseq sequences) learned
 * by its query block (one attention row z_m per query: softmax, identity
 * activation, cross-entropy, full-batch SGD), with "t" (checkpoints),
 * "zH1" .. "zH<depth>" (the mean change of z_{ml} over the pairs at each
 * height), "learned" (the fraction of pairs at each height whose z_{ml}
 * reached half its row's largest final change), "order_rho" (Spearman's
 * correlation over the pairs m != l of that learning time with P(y_l = 1 |
 * y_m = 1): judged, its one-sided 95 % upper bound over the seeds must be
 * <= 0), "order_rho_shuffled" (the control: the leaves relabelled at
 * random), "order_rho_half" (the same with each change's half time, rising
 * or falling), "order_rho_half_rising" and "n_rising" (that over the pairs
 * whose logit rose, and their count), "loss0" and "loss"
 * (verify/joma_text_claims.c says more). */
extern const ac_trial_def ac_joma_hierarchy_trials;
#define AC_JOMA_HIERARCHY_STATEMENT                                                                            \
    "In a hierarchical binary latent tree, token co-occurrence follows the tree's closed form (decaying with " \
    "the height of the common ancestor), and a layer with one attention row per query learns the attention "  \
    "of a query to the tokens that co-occur with it most first"

typedef struct {
    int depth;       /* tree depth: 2^depth tokens */
    double p_root;   /* P(root = 1): not 1/2, so the E s_l terms count */
    double rho;      /* every edge's channel correlation */
    int nsample;     /* samples for the co-occurrence check */
    int nseq;        /* sequences of the learning task */
    long steps, every;
    double lr, T;    /* SGD step and attention temperature of the block */
    int trials;
} ac_joma_hierarchy_setup;

/* p_root 0.35 at every size; quick: depth 3, rho 0.8, 5000 samples, 200
 * sequences, 400 steps, 3 seeds; default: depth 4, rho 0.9, 20000 samples,
 * 1000 sequences, 2000 steps, 5 seeds; paper: depth 5, rho 0.9, 100000
 * samples, 4000 sequences, 5000 steps, 10 seeds.  SGD lr 0.5 (five times
 * the authors' §4.1 step, so that z moves by O(1) within the default run's
 * budget) and T 0.5 (the authors'). */
ac_joma_hierarchy_setup ac_joma_hierarchy_claim_setup(ac_size size);

#endif
