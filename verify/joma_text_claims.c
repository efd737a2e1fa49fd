/* JoMA's claims on real text (spec joma §4.3, §4.3b) and on the
 * hierarchical binary latent tree (§3 item 4, §4.5).
 *
 * joma.text-entropy.  Trial i draws the §4.3 recipe's init with the
 * generator of seed S + i and trains the causal transformer of
 * verify/joma_text.h on the training part of the fortunes corpus (the
 * batches are the tutorial's fixed schedule, so the seed moves only the
 * init); at each checkpoint it measures the attention entropy and the loss on
 * the same held-out chunks.  The theory (spec §3 item 2) predicts the shape:
 * the entropy drops while salient tokens are learned, then rises again as
 * the less salient ones catch up.  The rows judge the shape over seeds:
 *   t*       the checkpoint where the seed-mean curve is lowest, among
 *            those strictly between the first and the last (a dip needs a
 *            start before it, a rebound a checkpoint after it);
 *   dip_i    = H_i(0) - H_i(t*),  rebound_i = H_i(end) - H_i(t*);
 * and each is judged by its 95 % lower confidence bound over the n seeds,
 * mean - t_{0.975, n-1} sd / sqrt(n) (Student's t: the tolerance is the seed
 * spread), against 0.  Choosing t* on the seed mean rather than per seed
 * keeps the minimum's selection bias (a min over noisy checkpoints sits
 * low) to the mean's noise, and a curve still falling at its end gives a
 * negative rebound.  The rebound is judged only at --size paper (d = 200,
 * the §4.3b reference run): spec §4.3b shows it weak at d = 64 and below,
 * so at the smaller sizes it is INFO.  The authors' WikiText2 1-layer
 * numbers (spec §4.3, decoded from their result files) stand beside ours as
 * INFO: another corpus, another vocabulary, 58k steps. */
#include "verify/joma_text_claims.h"

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/joma_text.h"
#include "verify/trial.h"

/* ---- joma.text-entropy ---------------------------------------------- */

/* The seed-spread bounds are the lower end of a two-sided 95 % interval
 * for the mean: Student's t_{0.975, n-1}. */
#define TEXT_CONF_QUANTILE 0.975
/* Evaluation work in groups of this many chunks (memory: the decoder's
 * logits are group x L x V doubles). */
#define TEXT_EVAL_GROUP 20

/* The authors' WikiText2 1-layer run at lr 1e-4 (spec §4.3, [data], mean
 * over seeds 1-3): H at steps 0, 1k, 2k, 3k, 5k, 10k, 20k, 30k, 58k. */
static const double wt2_step[] = {0, 1000, 2000, 3000, 5000, 10000, 20000, 30000, 58000};
static const double wt2_H[] = {2.51, 1.89, 1.55, 1.59, 1.68, 1.87, 2.06, 2.17, 2.21};
#define WT2_N 9
#define WT2_MIN_STEP 2000.0
#define WT2_MIN_H 1.55
/* Our PyTorch peer's d = 200 run on this corpus (spec §4.3b [run], seed 1):
 * minimum 1.809 at step 2000, 1.908 at step 5000. */
#define PEER_MIN_H 1.809
#define PEER_MIN_STEP 2000.0
#define PEER_END_H 1.908

/* Seeds at --size paper.  A first 4-seed run (results/paper/README.md) gave
 * a rebound of 0.046 with a seed sd of 0.043: its 95 % bound needs
 * t_{0.975, n-1} sd / sqrt(n) < mean, which 4 seeds (1.59 sd) miss and 8
 * seeds (0.84 sd) meet if the mean and sd hold.  The count is fixed here,
 * before the 8-seed run, and its verdict is reported whichever way it comes
 * out; more seeds only sharpen the bound, they do not move what it judges. */
#define TEXT_PAPER_SEEDS 8

ac_joma_text_setup ac_joma_text_claim_setup(ac_size size)
{
    switch (size) {
    case AC_SIZE_QUICK:
        return (ac_joma_text_setup){.V = 200, .d = 16, .L = 35, .batch = 20, .steps = 200, .every = 20,
                                    .lr = 1e-3, .eval_chunks = 20, .trials = 3, .judge_rebound = 0};
    case AC_SIZE_PAPER:
        return (ac_joma_text_setup){.V = 5000, .d = 200, .L = 35, .batch = 20, .steps = 5000, .every = 250,
                                    .lr = 1e-4, .eval_chunks = 57, .trials = TEXT_PAPER_SEEDS, .judge_rebound = 1};
    default:
        return (ac_joma_text_setup){.V = 500, .d = 16, .L = 35, .batch = 20, .steps = 600, .every = 30,
                                    .lr = 2e-3, .eval_chunks = 57, .trials = 3, .judge_rebound = 0};
    }
}

static int text_ntrials(const ac_run_opts *o)
{
    return ac_joma_text_claim_setup(o->size).trials;
}

/* Train one seed, measuring at every checkpoint. */
static ac_status text_train(const ac_joma_text_setup *su, const ac_joma_text_corpus *C, ac_trial *t,
                            ac_msg *msg)
{
    ac_joma_text_model m = {.V = su->V, .d = su->d, .dh = su->d, .L = su->L, .positional = 1};
    int ncp = (int)(su->steps / su->every) + 1;
    long np = ac_joma_text_nparams(&m);
    double *th0 = malloc(sizeof(double) * (size_t)np);
    ac_joma_text_trainer *tr = ac_joma_text_trainer_alloc(&m, su->batch);
    ac_joma_text_work *w = ac_joma_text_work_alloc(&m, TEXT_EVAL_GROUP);
    double *x = ac_trial_put(t->rec, "t", ncp, NULL);
    double *H = ac_trial_put(t->rec, "H", ncp, NULL);
    double *val = ac_trial_put(t->rec, "val", ncp, NULL);
    ac_status st = AC_OK;
    if (!th0 || !tr || !w || !x || !H || !val) {
        st = ac_fail(msg, AC_ENOMEM, "no memory for the text model");
        goto done;
    }
    /* the pointers from put live until the next put: all three are put */
    x = (double *)ac_trial_get(t->rec, "t")->v;
    H = (double *)ac_trial_get(t->rec, "H")->v;
    ac_joma_text_init(&m, t->r, th0);
    ac_joma_text_train_settings s;
    ac_joma_text_train_settings_default(&s);
    s.steps = su->steps;
    s.lr = su->lr;
    st = ac_joma_text_trainer_set(tr, C->tok, C->ntrain, &s, th0, t->r, msg);
    const int *held = C->tok + C->ntrain;
    long nheld = C->ntok - C->ntrain;
    ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
    for (int c = 0; c < ncp && st == AC_OK; c++) {
        long k = (long)c * su->every;
        if (ac_joma_text_trainer_run(tr, k) == AC_TRAIN_DIVERGED) {
            st = ac_fail(msg, AC_ENUMERIC, "text model diverged at step %ld (batch loss %g)",
                         ac_joma_text_trainer_info(tr)->steps, ac_joma_text_trainer_info(tr)->loss);
            break;
        }
        x[c] = (double)k;
        st = ac_joma_text_eval(w, ac_joma_text_trainer_theta(tr), held, nheld, su->eval_chunks, &H[c], &val[c],
                               msg);
    }
    ac_trial_enter(t, AC_TRIAL_OTHER);
done:
    free(th0);
    ac_joma_text_trainer_free(tr);
    ac_joma_text_work_free(w);
    return st;
}

static ac_status text_trial(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    ac_joma_text_setup su = ac_joma_text_claim_setup(o->size);
    ac_joma_text_corpus C;
    ac_status st = ac_joma_text_corpus_read(&C, NULL, su.V, msg);
    if (st != AC_OK)
        return st;
    st = text_train(&su, &C, t, msg);
    ac_joma_text_corpus_clear(&C);
    return st;
}

/* The interior checkpoint (1 .. ncp - 2) where the mean over the records
 * of set, record `leave` left out (-1: none), of H is lowest; a NaN mean is
 * never the lowest, and 1 when every mean is NaN. */
static int interior_min(const ac_trial_set *set, int leave, int ncp)
{
    int ks = 1;
    double best = INFINITY;
    for (int c = 1; c < ncp - 1; c++) {
        double s = 0.0;
        int m = 0;
        for (int i = 0; i < set->nrec; i++)
            if (i != leave)
                s += ac_trial_get1(&set->rec[i], "H", c), m++;
        if (m > 0 && s / m < best)
            best = s / m, ks = c;
    }
    return ks;
}

/* 95 % lower confidence bound of the mean of x[0..n) (Student's t). */
static double lower_bound(const double *x, int n, double *mean, double *sd)
{
    ac_trial_stats s = ac_trial_stats_of(x, n);
    *mean = s.mean;
    *sd = s.sd;
    if (n < 2)
        return NAN;
    return s.mean - gsl_cdf_tdist_Pinv(TEXT_CONF_QUANTILE, n - 1) * s.sd / sqrt((double)n);
}

static ac_status text_rows(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    ac_joma_text_setup su = ac_joma_text_claim_setup(o->size);
    int n = set->nrec;
    const ac_trial_vec *t0 = n > 0 ? ac_trial_get(&set->rec[0], "t") : NULL;
    int ncp = t0 ? t0->n : 0;
    if (n < 2 || ncp < 3)
        return ac_fail(msg, AC_EINVAL, "joma.text-entropy needs 2 seeds and 3 checkpoints (has %d, %d)", n, ncp);
    for (int i = 0; i < n; i++) {
        const ac_trial_vec *h = ac_trial_get(&set->rec[i], "H");
        if (!h || h->n != ncp)
            return ac_fail(msg, AC_EINVAL, "trial %d: the entropy curve has not %d checkpoints", set->rec[i].index,
                           ncp);
    }
    snprintf(res->setup, sizeof res->setup,
             "fortunes corpus (%d files of Debian's fortunes, tokenised as docs/joma-text.md says; last %g held "
             "out); 1-layer causal transformer, 1 head, post-LN, d = d_hid = %d, V = %d, bptt %d, batch %d, Adam lr "
             "%g, clip 0.5, dropout 0.2; %ld steps, entropy on the first %d held-out chunks of %d tokens every %ld "
             "steps; %d seeds, trial i from seed %lu+i",
             AC_JOMA_TEXT_NFILES, AC_JOMA_TEXT_HELDOUT, su.d, su.V, su.L, su.batch, su.lr, su.steps,
             su.eval_chunks, su.L, su.every, n, o->seed);
    /* the seed-mean curve and its interior minimum t* */
    double *mean = calloc((size_t)ncp, sizeof(double)), *dip = malloc(sizeof(double) * (size_t)n);
    double *reb = malloc(sizeof(double) * (size_t)n);
    if (!mean || !dip || !reb) {
        free(mean);
        free(dip);
        free(reb);
        return ac_fail(msg, AC_ENOMEM, "no memory for the curves");
    }
    for (int c = 0; c < ncp; c++)
        mean[c] = ac_trial_stat(set, "H", c).mean;
    int ks = interior_min(set, -1, ncp); /* the INFO rows' t*, by the seeds' rule */
    /* Each seed is judged at the minimum of the other seeds' mean curve
     * (leave-one-out).  The minimum of a curve that holds seed i's own
     * noise sits where that noise is low: H_i(t*) is biased down, and the
     * rebound H_i(end) - H_i(t*) up (at the default size, 3 seeds, the
     * in-sample t* gave a mean rebound of +0.029, the leave-one-out one
     * -0.003; on the paper-size records every t*_-i is t*). */
    double tlo = INFINITY, thi = -INFINITY;
    for (int i = 0; i < n; i++) {
        const ac_trial_record *r = &set->rec[i];
        int ki = interior_min(set, i, ncp);
        dip[i] = ac_trial_get1(r, "H", 0) - ac_trial_get1(r, "H", ki);
        reb[i] = ac_trial_get1(r, "H", ncp - 1) - ac_trial_get1(r, "H", ki);
        tlo = fmin(tlo, t0->v[ki]), thi = fmax(thi, t0->v[ki]);
    }
    double dm, dsd, rm, rsd;
    double dlb = lower_bound(dip, n, &dm, &dsd), rlb = lower_bound(reb, n, &rm, &rsd);
    double tstar = t0->v[ks], tend = t0->v[ncp - 1];
    char q[AC_CLAIM_TEXT], why[AC_CLAIM_REASON];
    const char *wt2 = "authors' WikiText2, 1 layer, lr 1e-4 (spec 4.3): another corpus and 58k steps";

    ac_claim_add(res, "mean H(0), nats", "WikiText2 H(0) (max at bptt 35: 2.632)", wt2_H[0], mean[0],
                 AC_METRIC_INFO, 0.0, wt2);
    snprintf(q, sizeof q, "mean H at t* = %.0f (the seed-mean curve's interior minimum)", tstar);
    ac_claim_add(res, q, "WikiText2 minimum (at 2k steps)", WT2_MIN_H, mean[ks], AC_METRIC_INFO, 0.0, wt2);
    ac_claim_row *row = ac_claim_add(res, "step t* of the minimum", "WikiText2: 2000; our PyTorch peer at d = 200: 2000",
                                     WT2_MIN_STEP, tstar, AC_METRIC_INFO, 0.0, wt2);
    if (row)
        row->is_count = 1;
    snprintf(q, sizeof q, "mean H at the last step %.0f", tend);
    ac_claim_add(res, q, "WikiText2 at 58k steps", wt2_H[WT2_N - 1], mean[ncp - 1], AC_METRIC_INFO, 0.0, wt2);
    if (o->size == AC_SIZE_PAPER) {
        ac_claim_add(res, "mean H at t* (d = 200)", "our PyTorch peer's minimum (spec 4.3b, seed 1)", PEER_MIN_H,
                     mean[ks], AC_METRIC_INFO, 0.0, "one reference run, other random draws");
        ac_claim_add(res, "mean H at the last step (d = 200)", "our PyTorch peer at step 5000 (spec 4.3b)",
                     PEER_END_H, mean[ncp - 1], AC_METRIC_INFO, 0.0, "one reference run, other random draws");
    }
    for (int k = 0; k < 2; k++) {
        row = ac_claim_add(res, k ? "largest step t*_-i at which a seed is judged"
                                  : "smallest step t*_-i at which a seed is judged",
                           "", NAN, k ? thi : tlo, AC_METRIC_INFO, 0.0,
                           "seed i's t*_-i: the interior minimum of the other seeds' mean curve (leave-one-out)");
        if (row)
            row->is_count = 1;
    }
    snprintf(q, sizeof q, "dip H(0) - H(t*_-i): mean %.4f, sd %.4f over %d seeds; 95%% lower bound", dm, dsd, n);
    snprintf(why, sizeof why,
             "each seed at the minimum of the other seeds' mean curve, never its own; seed spread: mean - t(0.975, "
             "%d) sd/sqrt(%d) = mean - %.3g sd; the bound must be above 0", n - 1, n,
             gsl_cdf_tdist_Pinv(TEXT_CONF_QUANTILE, n - 1) / sqrt((double)n));
    ac_claim_add(res, q, "> 0: the entropy drops (salient tokens first, spec 3 item 2)", 0.0, dlb,
                 AC_METRIC_AT_LEAST, 0.0, why);
    snprintf(q, sizeof q, "rebound H(end) - H(t*_-i): mean %.4f, sd %.4f over %d seeds; 95%% lower bound", rm, rsd,
             n);
    if (su.judge_rebound)
        ac_claim_add(res, q, "> 0: the entropy rises again (less salient tokens later)", 0.0, rlb,
                     AC_METRIC_AT_LEAST, 0.0, why);
    else
        ac_claim_add(res, q, "> 0: the entropy rises again (less salient tokens later)", 0.0, rlb, AC_METRIC_INFO,
                     0.0, "not judged below --size paper: at d <= 64 the rebound is weak (spec 4.3b)");
    ac_claim_add(res, "mean held-out loss at step 0, nats", "", NAN, ac_trial_stat(set, "val", 0).mean,
                 AC_METRIC_INFO, 0.0, "");
    ac_claim_add(res, "mean held-out loss at the last step, nats", "", NAN, ac_trial_stat(set, "val", ncp - 1).mean,
                 AC_METRIC_INFO, 0.0, "");

    ac_figure *f = ac_claim_add_figure(res, "joma-text-entropy", "Attention entropy along training on real text",
                                       "step", "attention entropy (nats)", 0, 0);
    char lab[AC_CLAIM_TEXT];
    snprintf(lab, sizeof lab, "fortunes, d = %d, V = %d (mean, min-max over %d seeds)", su.d, su.V, n);
    ac_trial_band(f, lab, set, "t", "H", 0);
    int nw = 0;
    while (nw < WT2_N && wt2_step[nw] <= tend)
        nw++;
    if (f && nw > 0)
        ac_figure_add_series(f, "authors' WikiText2, 1 layer (spec 4.3)", nw, wt2_step, wt2_H, NULL, NULL);
    free(mean);
    free(dip);
    free(reb);
    return AC_OK;
}

/* The vectors every trial of joma.text-entropy records (ac_trial_def.vectors). */
static const char *const joma_text_vectors[] = {"H", "t", "val", NULL};
const ac_trial_def ac_joma_text_trials = {
    .ntrials = text_ntrials, .trial = text_trial, .rows = text_rows,
    .vectors = joma_text_vectors};

/* ---- joma.hierarchy --------------------------------------------------
 *
 * Co-occurrence.  Each pair's frequency over n samples is binomial: its
 * z-score |f - p| / sqrt(p (1 - p) / n) is about standard normal when the
 * formula holds.  The row takes the largest z over the P pairs of every
 * trial and judges it against the Bonferroni bound z* = Phi^{-1}(1 -
 * alpha / (2 P trials)), alpha = HIER_ALPHA: a correct formula fails the
 * row with probability at most alpha, and a formula off by delta in one
 * pair's probability fails it once delta > (z* + 2) sigma or so.  The
 * marginals likewise, over the leaves.  The root is 1 with probability
 * p_root != 1/2, so the E s_l terms of the formula are exercised.
 *
 * Learning order.  The paper's statement (Fig. 5 caption, spec §3 item 4)
 * is about query m's attention logits z_{ml}: the strongly co-occurring l
 * (a close common ancestor, a large P(y_l = 1 | y_m = 1)) is associated
 * first (Theorem 4's speed-up), the weak l' eventually.  The query block of
 * verify/joma_hblt.h has one row z_m per query and is trained by SGD on the
 * query-token task drawn from the tree.  Per pair (m, l), m != l:
 *   t_learn  the first checkpoint where the change z_{ml}(t) - z_{ml}(0)
 *            reaches half the largest final change of query m's row
 *            (ac_joma_hblt_level_time; +inf, ranked last, when it never
 *            does, and for every pair of a row where no logit rose: a
 *            logit that falls is not an association);
 *   r        Spearman(t_learn, P(y_l = 1 | y_m = 1)) over the M (M - 1)
 *            pairs, the formula's P (theory/joma_hblt.h): < 0 when strong
 *            pairs are learned first.
 * The judged row is the one-sided 95 % upper confidence bound of r's mean
 * over the n seeds, mean + t_{0.95, n-1} sd / sqrt(n) (Student's t: the
 * tolerance is the seed spread), against 0.  The control is r with the
 * co-occurrence of a random relabelling of the leaves (one permutation per
 * seed, drawn after training): the same learning times against a
 * co-occurrence that has nothing to do with them, whose mean is about 0
 * (the null of the statistic with its ties and its +inf ranks).  Shown
 * beside: the mean change of z by height, along training (the figure) and
 * at the end, the fraction of pairs learned at each height, and the
 * Spearman correlation of each change's half time (ac_joma_hblt_half_time,
 * rising or falling alike) with P, which counts a logit that falls early as
 * early, and the same over the pairs whose logit rose (Theorem 4's reading:
 * each pair's own target reached first; it selects pairs by outcome). */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>

#include "theory/joma_hblt.h"
#include "verify/joma_hblt.h"

/* Family-wise false-alarm rate of the co-occurrence rows. */
#define HIER_ALPHA 1e-3
/* The learning-order bound: one-sided 95 %. */
#define HIER_ORDER_QUANTILE 0.95
/* The block's init scale (the authors' N(0, 1)/100, spec §4.1). */
#define HIER_INIT_SCALE 0.01
/* A pair is learned when its logit's change reaches this fraction of the
 * largest final change in its query's row. */
#define HIER_LEARN_FRACTION 0.5

ac_joma_hierarchy_setup ac_joma_hierarchy_claim_setup(ac_size size)
{
    switch (size) {
    case AC_SIZE_QUICK:
        return (ac_joma_hierarchy_setup){.depth = 3, .p_root = 0.35, .rho = 0.8, .nsample = 5000, .nseq = 200,
                                         .steps = 400, .every = 20, .lr = 0.5, .T = 0.5, .trials = 3};
    case AC_SIZE_PAPER:
        return (ac_joma_hierarchy_setup){.depth = 5, .p_root = 0.35, .rho = 0.9, .nsample = 100000, .nseq = 4000,
                                         .steps = 5000, .every = 100, .lr = 0.5, .T = 0.5, .trials = 10};
    default:
        return (ac_joma_hierarchy_setup){.depth = 4, .p_root = 0.35, .rho = 0.9, .nsample = 20000, .nseq = 1000,
                                         .steps = 2000, .every = 50, .lr = 0.5, .T = 0.5, .trials = 5};
    }
}

static int hier_ntrials(const ac_run_opts *o)
{
    return ac_joma_hierarchy_claim_setup(o->size).trials;
}

/* The tree of a setup (rho borrowed from the caller's array). */
static ac_joma_hblt hier_tree(const ac_joma_hierarchy_setup *su, double *rho)
{
    for (int k = 0; k < su->depth; k++)
        rho[k] = su->rho;
    return (ac_joma_hblt){.depth = su->depth, .p_root = su->p_root, .rho = rho};
}

/* Sample the tree and compare with the formula (the co-occurrence rows). */
static ac_status hier_cooccur(const ac_joma_hblt *h, int nsample, ac_trial *t, ac_msg *msg)
{
    int n = ac_joma_hblt_nleaves(h);
    unsigned char *Y = malloc((size_t)nsample * n);
    if (!Y)
        return ac_fail(msg, AC_ENOMEM, "no memory for %d HBLT samples", nsample);
    ac_joma_hblt_fit fit;
    ac_status st = ac_joma_hblt_sample(h, t->r, nsample, Y, msg);
    ac_trial_enter(t, AC_TRIAL_THEORY);
    if (st == AC_OK)
        st = ac_joma_hblt_fit_measure(h, Y, nsample, &fit, msg);
    ac_trial_enter(t, AC_TRIAL_OTHER);
    free(Y);
    if (st != AC_OK)
        return st;
    ac_trial_put1(t->rec, "cooc_z", fit.zmax_pair);
    ac_trial_put1(t->rec, "marg_z", fit.zmax_marg);
    ac_trial_put(t->rec, "cond_theory", h->depth, fit.cond_theory);
    ac_trial_put(t->rec, "cond_sample", h->depth, fit.cond_sample);
    return AC_OK;
}

/* Per height H = 1..depth, the mean of dz over the pairs m != l at that
 * height into out[H-1]; dz is M x M (row m = query m). */
static void by_height(const ac_joma_hblt *h, const double *dz, double *out)
{
    int n = ac_joma_hblt_nleaves(h), cnt[AC_JOMA_HBLT_DEPTH_MAX] = {0};
    for (int H = 0; H < h->depth; H++)
        out[H] = 0.0;
    for (int m = 0; m < n; m++)
        for (int l = 0; l < n; l++)
            if (m != l) {
                int H = ac_joma_hblt_lca_height(m, l) - 1;
                out[H] += dz[(size_t)m * n + l];
                cnt[H]++;
            }
    for (int H = 0; H < h->depth; H++)
        out[H] /= cnt[H];
}

/* The learning time of every pair m != l (row-major over m, then l != m)
 * from the changes dz (ncp checkpoints of M x M at times x) into tl, the
 * half time of each change, rising or falling, into th
 * (ac_joma_hblt_half_time), and the count of learned pairs by height into
 * learned (depth entries). */
static void learn_times(const ac_joma_hblt *h, const double *dz, const double *x, int ncp, double *tl, double *th,
                        double *path, double *learned)
{
    int n = ac_joma_hblt_nleaves(h), k = 0;
    size_t nn = (size_t)n * n;
    for (int H = 0; H < h->depth; H++)
        learned[H] = 0.0;
    for (int m = 0; m < n; m++) {
        const double *last = dz + nn * (ncp - 1) + (size_t)m * n;
        double top = -INFINITY;
        for (int l = 0; l < n; l++)
            if (l != m)
                top = fmax(top, last[l]);
        for (int l = 0; l < n; l++) {
            if (l == m)
                continue;
            for (int c = 0; c < ncp; c++)
                path[c] = dz[nn * c + (size_t)m * n + l];
            /* a row where no logit rose learned nothing */
            tl[k] = ac_joma_hblt_level_time(x, path, ncp, top > 0 ? HIER_LEARN_FRACTION * top : INFINITY);
            th[k] = ac_joma_hblt_half_time(x, path, ncp);
            if (isfinite(tl[k]))
                learned[ac_joma_hblt_lca_height(m, l) - 1] += 1.0;
            k++;
        }
    }
}

/* Spearman of tl (pairs m != l, as learn_times orders them) with the
 * formula's P(y_l = 1 | y_m = 1), the leaves relabelled by perm (NULL:
 * none). */
static double order_spearman(const ac_joma_hblt *h, const double *tl, const size_t *perm, double *co)
{
    int n = ac_joma_hblt_nleaves(h), k = 0;
    for (int m = 0; m < n; m++)
        for (int l = 0; l < n; l++)
            if (l != m)
                co[k++] = perm ? ac_joma_hblt_conditional(h, (int)perm[l], (int)perm[m])
                               : ac_joma_hblt_conditional(h, l, m);
    return ac_joma_hblt_spearman(tl, co, k);
}

/* Train the query block on q from an init drawn with t->r, recording the
 * checkpoints "t", the curves "zH<H>", "learned" (fraction by height),
 * "order_rho", "order_rho_shuffled" and the losses. */
static ac_status hier_learn(const ac_joma_hierarchy_setup *su, const ac_joma_hblt *h, const ac_joma_hblt_qtask *q,
                            ac_trial *t, ac_msg *msg)
{
    int n = ac_joma_hblt_nleaves(h), ncp = (int)(su->steps / su->every) + 1, depth = h->depth;
    int np = n * (n - 1);
    size_t nn = (size_t)n * n;
    double *P0 = malloc(sizeof(double) * 3 * nn), *dz = malloc(sizeof(double) * nn * (size_t)ncp);
    double *tl = malloc(sizeof(double) * (size_t)np), *co = malloc(sizeof(double) * (size_t)np);
    double *th = malloc(sizeof(double) * (size_t)np);
    double *path = malloc(sizeof(double) * (size_t)ncp), *x = malloc(sizeof(double) * (size_t)ncp);
    double *curve = malloc(sizeof(double) * (size_t)ncp * depth);
    size_t *perm = malloc(sizeof(size_t) * (size_t)n);
    ac_joma_hblt_q_trainer *tr = ac_joma_hblt_q_trainer_alloc(n);
    ac_status st = AC_OK;
    if (!P0 || !dz || !tl || !th || !co || !path || !x || !curve || !perm || !tr) {
        st = ac_fail(msg, AC_ENOMEM, "no memory for the HBLT query block");
        goto done;
    }
    for (size_t j = 0; j < 3 * nn; j++) /* Z0, V0, Q0 in turn */
        P0[j] = HIER_INIT_SCALE * gsl_ran_gaussian(t->r, 1.0);
    ac_joma_hblt_q_settings s;
    ac_joma_hblt_q_settings_default(&s);
    s.steps = su->steps;
    s.lr = su->lr;
    s.T = su->T;
    st = ac_joma_hblt_q_trainer_set(tr, q, &s, P0, P0 + nn, P0 + 2 * nn, msg);
    ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
    for (int c = 0; c < ncp && st == AC_OK; c++) {
        long k = (long)c * su->every;
        if (ac_joma_hblt_q_trainer_run(tr, k) == AC_TRAIN_DIVERGED) {
            st = ac_fail(msg, AC_ENUMERIC, "HBLT query block diverged at step %ld (loss %g)",
                         ac_joma_hblt_q_trainer_info(tr)->steps, ac_joma_hblt_q_trainer_info(tr)->loss);
            break;
        }
        x[c] = (double)k;
        const double *Z = ac_joma_hblt_q_trainer_Z(tr);
        double *dc = dz + nn * c;
        for (size_t j = 0; j < nn; j++)
            dc[j] = Z[j] - P0[j];
        by_height(h, dc, curve + (size_t)c * depth);
    }
    ac_trial_enter(t, AC_TRIAL_OTHER);
    if (st != AC_OK)
        goto done;
    double learned[AC_JOMA_HBLT_DEPTH_MAX];
    learn_times(h, dz, x, ncp, tl, th, path, learned);
    for (int H = 0; H < depth; H++) /* ordered pairs at height H + 1: n 2^H of the n (n - 1) */
        learned[H] /= (double)n * (1 << H);
    ac_trial_put1(t->rec, "order_rho", order_spearman(h, tl, NULL, co));
    ac_trial_put1(t->rec, "order_rho_half", order_spearman(h, th, NULL, co));
    /* the same over the pairs whose logit rose (compacted in place: co is
     * filled with P by order_spearman, in the pairs' order) */
    int nr = 0, k = 0;
    for (int m = 0; m < n; m++)
        for (int l = 0; l < n; l++)
            if (l != m) {
                if (dz[nn * (ncp - 1) + (size_t)m * n + l] > 0) {
                    th[nr] = th[k];
                    co[nr++] = co[k];
                }
                k++;
            }
    ac_trial_put1(t->rec, "order_rho_half_rising", ac_joma_hblt_spearman(th, co, nr));
    ac_trial_put1(t->rec, "n_rising", nr);
    for (int l = 0; l < n; l++)
        perm[l] = (size_t)l;
    gsl_ran_shuffle(t->r, perm, (size_t)n, sizeof(size_t));
    ac_trial_put1(t->rec, "order_rho_shuffled", order_spearman(h, tl, perm, co));
    ac_trial_put(t->rec, "learned", depth, learned);
    ac_trial_put1(t->rec, "loss0", ac_joma_hblt_q_trainer_info(tr)->loss0);
    ac_trial_put1(t->rec, "loss", ac_joma_hblt_q_trainer_info(tr)->loss);
    ac_trial_put(t->rec, "t", ncp, x);
    for (int H = 0; H < depth; H++) {
        char name[16];
        snprintf(name, sizeof name, "zH%d", H + 1);
        double *v = ac_trial_put(t->rec, name, ncp, NULL);
        for (int c = 0; v && c < ncp; c++)
            v[c] = curve[(size_t)c * depth + H];
    }
done:
    ac_joma_hblt_q_trainer_free(tr);
    free(P0);
    free(dz);
    free(tl);
    free(th);
    free(co);
    free(path);
    free(x);
    free(curve);
    free(perm);
    return st;
}

static ac_status hier_trial(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    ac_joma_hierarchy_setup su = ac_joma_hierarchy_claim_setup(o->size);
    double rho[AC_JOMA_HBLT_DEPTH_MAX];
    ac_joma_hblt h = hier_tree(&su, rho);
    ac_status st = hier_cooccur(&h, su.nsample, t, msg);
    if (st != AC_OK)
        return st;
    ac_joma_hblt_qtask q;
    st = ac_joma_hblt_qtask_init(&q, &h, su.nseq, t->r, msg);
    if (st != AC_OK)
        return st;
    st = hier_learn(&su, &h, &q, t, msg);
    ac_joma_hblt_qtask_clear(&q);
    return st;
}

/* The largest value of scalar `name` over the records; NaN when any is NaN
 * (fmax would drop it, and a NaN z-score would then pass its row). */
static double max_over(const ac_trial_set *set, const char *name)
{
    double m = -INFINITY;
    for (int i = 0; i < set->nrec; i++) {
        double v = ac_trial_get1(&set->rec[i], name, 0);
        m = ac_max_keep_nan(m, v);
    }
    return m;
}

/* The co-occurrence rows. */
static void hier_cooccur_rows(const ac_joma_hierarchy_setup *su, const ac_trial_set *set, ac_claim_result *res)
{
    int n = set->nrec, nleaves = 1 << su->depth, npairs = nleaves * (nleaves - 1) / 2;
    char q[AC_CLAIM_TEXT], why[AC_CLAIM_REASON], th[AC_CLAIM_TEXT];
    double zp = gsl_cdf_ugaussian_Qinv(HIER_ALPHA / (2.0 * npairs * n));
    double zm = gsl_cdf_ugaussian_Qinv(HIER_ALPHA / (2.0 * nleaves * n));
    snprintf(q, sizeof q, "largest z = |f - p|/sqrt(p(1-p)/%d) over %d pairs x %d trials", su->nsample, npairs, n);
    snprintf(why, sizeof why,
             "binomial sampling: Bonferroni bound Phi^-1(1 - %g/(2 x %d x %d)), a false alarm at most %g per run",
             HIER_ALPHA, npairs, n, HIER_ALPHA);
    ac_claim_add(res, q, "0: P(y_l = 1, y_m = 1) = (1 + E s_l + E s_m + prod rho^2)/4", 0.0,
                 max_over(set, "cooc_z"), AC_METRIC_AT_MOST, zp, why);
    snprintf(q, sizeof q, "largest z of a marginal P(y_l = 1) over %d leaves x %d trials", nleaves, n);
    snprintf(why, sizeof why, "binomial sampling: Bonferroni bound Phi^-1(1 - %g/(2 x %d x %d))", HIER_ALPHA,
             nleaves, n);
    ac_claim_add(res, q, "0: P(y_l = 1) = (1 + (2 p_root - 1) prod rho)/2", 0.0, max_over(set, "marg_z"),
                 AC_METRIC_AT_MOST, zm, why);
    for (int H = 0; H < su->depth; H++) {
        snprintf(q, sizeof q, "P(y_l = 1 | y_m = 1), common ancestor %d level%s up (pooled samples)", H + 1,
                 H ? "s" : "");
        snprintf(th, sizeof th, "(1 + rho^%d)/2", 2 * (H + 1));
        ac_claim_add(res, q, th, ac_trial_get1(&set->rec[0], "cond_theory", H),
                     ac_trial_stat(set, "cond_sample", H).mean, AC_METRIC_INFO, 0.0,
                     "shown: the pairs above are judged one by one");
    }
}

/* The learning-order rows and the figure. */
static ac_status hier_order_rows(const ac_joma_hierarchy_setup *su, const ac_trial_set *set, ac_claim_result *res)
{
    int n = set->nrec, nleaves = 1 << su->depth, np = nleaves * (nleaves - 1);
    char q[AC_CLAIM_TEXT], why[AC_CLAIM_REASON], th[AC_CLAIM_TEXT];
    double *r = malloc(sizeof(double) * (size_t)n);
    if (!r)
        return ac_fail(NULL, AC_ENOMEM, "no memory");
    for (int i = 0; i < n; i++)
        r[i] = ac_trial_get1(&set->rec[i], "order_rho", 0);
    ac_trial_stats so = ac_trial_stats_of(r, n);
    double tq = gsl_cdf_tdist_Pinv(HIER_ORDER_QUANTILE, n - 1) / sqrt((double)n);
    double ub = so.mean + tq * so.sd;
    ac_trial_stats sc = ac_trial_stat(set, "order_rho_shuffled", 0);
    free(r);
    snprintf(q, sizeof q,
             "Spearman(t_learn of z_ml, P(y_l = 1 | y_m = 1)) over %d pairs: mean %.4f, sd %.4f over %d seeds; 95%% "
             "upper bound",
             np, so.mean, so.sd, n);
    snprintf(why, sizeof why,
             "seed spread: mean + t(0.95, %d) sd/sqrt(%d) = mean + %.3g sd; the bound must be <= 0 (strong pairs "
             "first)",
             n - 1, n, tq);
    ac_claim_add(res, q, "< 0: query m's attention to strongly co-occurring l is learned first (Fig. 5 caption)",
                 0.0, ub, AC_METRIC_AT_MOST, 0.0, why);
    snprintf(q, sizeof q, "control: the same learning times against the leaves relabelled at random (sd %.4f)",
             sc.sd);
    ac_claim_add(res, q, "about 0: a co-occurrence unrelated to the times", 0.0, sc.mean, AC_METRIC_INFO, 0.0,
                 "the statistic's null with its ties and unlearned (+inf) pairs");
    ac_trial_stats sh = ac_trial_stat(set, "order_rho_half", 0);
    snprintf(q, sizeof q,
             "Spearman(t_half of z_ml's change, rising or falling, P(y_l = 1 | y_m = 1)): mean over %d seeds "
             "(sd %.4f)",
             n, sh.sd);
    ac_claim_add(res, q, "", NAN, sh.mean, AC_METRIC_INFO, 0.0,
                 "when each logit's change reaches half its final change: a logit that falls early (siblings, "
                 "see below) counts as early here, not as an association");
    sh = ac_trial_stat(set, "order_rho_half_rising", 0);
    snprintf(q, sizeof q,
             "the same over the pairs whose logit rose (%.1f of %d on average): mean over %d seeds (sd %.4f)",
             ac_trial_stat(set, "n_rising", 0).mean, np, n, sh.sd);
    ac_claim_add(res, q, "< 0 by Theorem 4's reading (own target reached first)", NAN, sh.mean, AC_METRIC_INFO,
                 0.0,
                 "shown, not judged: it selects the pairs by their outcome and leaves out most of the strongest "
                 "(siblings' logits fall)");
    ac_claim_add(res, "mean loss at step 0, nats", "ln M at a uniform start", log((double)nleaves),
                 ac_trial_stat(set, "loss0", 0).mean, AC_METRIC_INFO, 0.0, "");
    ac_claim_add(res, "mean loss at the last step, nats", "", NAN, ac_trial_stat(set, "loss", 0).mean,
                 AC_METRIC_INFO, 0.0, "");
    const ac_trial_vec *tv = ac_trial_get(&set->rec[0], "t");
    int ncp = tv ? tv->n : 0;
    for (int H = 0; H < su->depth && ncp > 0; H++) {
        char name[16];
        snprintf(name, sizeof name, "zH%d", H + 1);
        snprintf(q, sizeof q,
                 "mean change of z_ml, pairs %d level%s apart, at the last step (fraction learned %.3f)", H + 1,
                 H ? "s" : "", ac_trial_stat(set, "learned", H).mean);
        snprintf(th, sizeof th, "P(y_l = 1 | y_m = 1) = %.4f", ac_trial_get1(&set->rec[0], "cond_theory", H));
        ac_claim_add(res, q, th, NAN, ac_trial_stat(set, name, ncp - 1).mean, AC_METRIC_INFO, 0.0,
                     "the order along training is in the figure");
    }
    ac_figure *f = ac_claim_add_figure(res, "joma-hblt-order", "HBLT: which token pairs the query attends first",
                                       "SGD step", "mean change of the attention logit z_ml", 0, 0);
    for (int H = 0; H < su->depth; H++) {
        char name[16], lab[AC_CLAIM_TEXT];
        snprintf(name, sizeof name, "zH%d", H + 1);
        snprintf(lab, sizeof lab, "pairs %d level%s apart, P(l|m) = %.3f (mean, min-max over seeds)", H + 1,
                 H ? "s" : "", ac_trial_get1(&set->rec[0], "cond_theory", H));
        ac_trial_band(f, lab, set, "t", name, 0);
    }
    return AC_OK;
}

static ac_status hier_rows(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    ac_joma_hierarchy_setup su = ac_joma_hierarchy_claim_setup(o->size);
    int n = set->nrec;
    if (n < 2)
        return ac_fail(msg, AC_EINVAL, "joma.hierarchy needs 2 seeds (has %d)", n);
    snprintf(res->setup, sizeof res->setup,
             "our symmetric-channel HBLT: depth %d (%d tokens), p_root %g, rho %g on every edge; %d samples per "
             "trial against the formula; query-token task of %d sequences (a query, a label and the rest as "
             "context, from samples with >= 3 tokens) learned by the query block of verify/joma_hblt.h (one "
             "attention row z_m per query, softmax T %g, identity activation, cross-entropy, full-batch SGD lr %g, "
             "%ld steps, init N(0,1)/100, orthonormal embeddings); %d seeds, trial i from seed %lu+i",
             su.depth, 1 << su.depth, su.p_root, su.rho, su.nsample, su.nseq, su.T, su.lr, su.steps, n, o->seed);
    hier_cooccur_rows(&su, set, res);
    if (hier_order_rows(&su, set, res) != AC_OK)
        return ac_fail(msg, AC_ENOMEM, "no memory for the learning-order rows");
    return AC_OK;
}

/* The vectors every trial of joma.hierarchy records (ac_trial_def.vectors).
 * Left out, as only some trials record them: zH4 and zH5, the heights of the deeper trees (default and paper size). */
static const char *const joma_hierarchy_vectors[] = {
    "cond_sample", "cond_theory", "cooc_z", "learned", "loss", "loss0", "marg_z", "n_rising", "order_rho",
    "order_rho_half", "order_rho_half_rising", "order_rho_shuffled", "t", "zH1", "zH2", "zH3", NULL
};
const ac_trial_def ac_joma_hierarchy_trials = {
    .ntrials = hier_ntrials, .trial = hier_trial, .rows = hier_rows,
    .vectors = joma_hierarchy_vectors};
