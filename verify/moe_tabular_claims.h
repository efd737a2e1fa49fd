/* The tabular claims of spec cbow_moe §3: the attention block trained as a
 * masked-cell model against the C baselines out of distribution, on the
 * covariate-shift simulation (§3.2, §3.5: moe.tabular-ood) and on Auto MPG
 * split by origin (§3.6: moe.tabular-mpg).  One experiment function,
 * ac_moe_tab_run, serves the claims and `attncheck moe tabular`, so the
 * command on an exported table gives what the claim measured. */
#ifndef AC_MOE_TABULAR_CLAIMS_H
#define AC_MOE_TABULAR_CLAIMS_H

#include "solvers/minimize.h"
#include "verify/moe_baselines.h"
#include "verify/moe_model.h"
#include "verify/moe_tabular.h"
#include "verify/trial.h"

/* The methods of one run, in table order. */
typedef enum {
    AC_MOE_TAB_ATTN = 0, /* the authors' block (§3.3) */
    AC_MOE_TAB_BARE,     /* the bare attention layer (the theorem's model), optional */
    AC_MOE_TAB_LR,       /* logistic regression */
    AC_MOE_TAB_MLP,      /* one-hidden-layer MLP */
    AC_MOE_TAB_NMETHODS
} ac_moe_tab_method;

/* "attn", "bare", "lr", "mlp" (record and JSON names); NULL otherwise. */
const char *ac_moe_tab_method_name(int m);
/* "ATTN", "BARE", "LR", "MLP" (table labels). */
const char *ac_moe_tab_method_label(int m);

/* spec §3.3 and §6: 200 epochs, which OOD accuracy needs (60 under-report it). */
#define AC_MOE_TAB_EPOCHS_DEFAULT 200

typedef struct {
    int epochs;                       /* passes over the masked examples, >= 0 */
    int bare;                         /* 1: also train the bare layer */
    int d, H, dk, ffn;                /* block widths (AC_MOE_BLOCK_*_DEFAULT) */
    ac_moe_block_train_settings attn; /* steps are set from epochs by ac_moe_tab_run, and
                                         epsilon (Keras's) is multiplied by L there, since
                                         Keras's loss is ours / L */
    ac_moe_logreg_settings lr;
    ac_moe_mlp_settings mlp;
} ac_moe_tab_settings;

void ac_moe_tab_settings_default(ac_moe_tab_settings *s);
/* NULL when usable, else a sentence (static storage). */
const char *ac_moe_tab_settings_check(const ac_moe_tab_settings *s);

typedef struct {
    int ran[AC_MOE_TAB_NMETHODS];
    double train_acc[AC_MOE_TAB_NMETHODS], test_acc[AC_MOE_TAB_NMETHODS];
    double train_mse[AC_MOE_TAB_NMETHODS], test_mse[AC_MOE_TAB_NMETHODS];
    ac_train_info attn_info, bare_info, mlp_info;
    ac_min_info lr_info;
} ac_moe_tab_result;

/* The generator of a run with seed u is MT19937 seeded with u +
 * AC_MOE_TAB_TRAIN_SEED_OFFSET, so that a data set drawn from seed u
 * (ac_moe_shift_generate) and the training of seed u use different
 * streams.  Any fixed offset would do; this one is prime. */
#define AC_MOE_TAB_TRAIN_SEED_OFFSET 1000003UL

/* Train every method on train and score it on train (in-sample) and test
 * (out of distribution): the block and the bare layer with the target
 * cell masked (§3.1), the baselines on the one-hot features.  One
 * generator (above) is drawn in the order: block init, block training,
 * bare init, bare training, MLP.  The block's sizes are V = ncat, L = the
 * tables' L.  A diverged training is an error naming the method.
 * AC_EINVAL (bad settings, tables of other shapes or over the baselines'
 * bounds), AC_ENOMEM. */
ac_status ac_moe_tab_run(const ac_moe_tab *train, const ac_moe_tab *test, const ac_moe_tab_settings *s,
                         unsigned long seed, ac_moe_tab_result *res, ac_msg *msg);

/* The data seed of setting k in trial i of a run with base seed S:
 * (S + i) AC_MOE_SHIFT_NSETTINGS + k, so every (trial, setting) draws its
 * own data set (settings are independent) and `attncheck moe generate
 * --task shift --setting k --seed u` writes it. */
unsigned long ac_moe_shift_data_seed(unsigned long seed, int index, int setting);

/* ---- The judged rows of moe.tabular-ood -------------------------------- */

/* Our advantage over LR in OOD accuracy against the paper's:
 *   ours   A = mean over seeds i and settings k of a_ik = attn_ik - lr_ik;
 *   paper  P = mean_k (ATTN_k - LR_k) of §3.5's table;
 * s the pooled within-setting SD of a_ik (df = K (n - 1)); our SE s /
 * sqrt(n K) (settings are independent data sets); the paper's s /
 * sqrt(20 K), assuming its per-seed spread equals ours (same protocol);
 *   tol   = t_df(1 - AC_MOE_ADV_ALPHA / 2) s sqrt(1 / (K n) + 1 / (20 K))
 *         (|A - P| <= tol: the size of the advantage agrees with the paper's);
 *   lower = A - t_df(1 - AC_MOE_ADV_ALPHA / 2) s / sqrt(K n)
 *         (lower > 0: the one-sided claim the paper makes, ATTN beats LR;
 *         the same quantile, used one-sided, is a 0.135% test). */
#define AC_MOE_ADV_ALPHA 0.0027 /* two-sided, the 3-sigma level of a normal */
#define AC_MOE_PAPER_SEEDS 20

typedef struct {
    double ours, paper;   /* A and P */
    double sd;            /* pooled s */
    double se_ours, se_paper, tol;
    double lower;         /* the one-sided lower bound on the advantage */
    int n, K, dof;
} ac_moe_adv;

/* a (n x K, row i = seed) and the paper's per-setting advantages paper[k]
 * (K) into out; tol and lower are NaN when dof < 1. */
void ac_moe_advantage(const double *a, int n, int K, const double *paper, ac_moe_adv *out);
/* Paper's §3.5 values: metric 0..3 (OOD acc, train acc, OOD MSE, train
 * MSE), setting k, method column 0..4 (LR, RF, GB, MLP, ATTN), what 0 mean
 * / 1 SD. */
double ac_moe_paper_sim(int metric, int k, int column, int what);

/* The claims' trials (the lead adds their rows to the moe table). */
extern const ac_trial_def ac_moe_tabular_ood_trials;
extern const ac_trial_def ac_moe_tabular_mpg_trials;

/* The size of a run: settings (their §3.5 indices), rows per split,
 * epochs, seeds, bare layer. */
typedef struct {
    int nsettings;
    int settings[AC_MOE_SHIFT_NSETTINGS];
    int n, epochs, seeds, bare;
} ac_moe_ood_size;
void ac_moe_ood_size_of(ac_size size, ac_moe_ood_size *z);

/* Trial `index` of moe.tabular-ood with base seed `seed` at size z (z
 * need not be one of ac_moe_ood_size_of's: a test plants a measurement
 * with, e.g., 0 epochs) into rec (initialised; the vectors
 * "<method>_<metric>" of z->nsettings entries).  The claim's trial is this
 * with the size of its --size. */
ac_status ac_moe_ood_trial_at(const ac_moe_ood_size *z, unsigned long seed, int index, ac_trial_record *rec,
                              ac_msg *msg);

typedef struct {
    int seeds, epochs, bare;
} ac_moe_mpg_size;
void ac_moe_mpg_size_of(ac_size size, ac_moe_mpg_size *z);

#endif
