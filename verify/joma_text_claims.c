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

ac_joma_text_setup ac_joma_text_claim_setup(ac_size size)
{
    switch (size) {
    case AC_SIZE_QUICK:
        return (ac_joma_text_setup){.V = 200, .d = 16, .L = 35, .batch = 20, .steps = 200, .every = 20,
                                    .lr = 1e-3, .eval_chunks = 20, .trials = 3, .judge_rebound = 0};
    case AC_SIZE_PAPER:
        return (ac_joma_text_setup){.V = 5000, .d = 200, .L = 35, .batch = 20, .steps = 5000, .every = 250,
                                    .lr = 1e-4, .eval_chunks = 57, .trials = 4, .judge_rebound = 1};
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
    int ks = 1;
    for (int c = 2; c < ncp - 1; c++)
        if (mean[c] < mean[ks])
            ks = c;
    for (int i = 0; i < n; i++) {
        const ac_trial_record *r = &set->rec[i];
        dip[i] = ac_trial_get1(r, "H", 0) - ac_trial_get1(r, "H", ks);
        reb[i] = ac_trial_get1(r, "H", ncp - 1) - ac_trial_get1(r, "H", ks);
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
    snprintf(q, sizeof q, "dip H(0) - H(t*): mean %.4f, sd %.4f over %d seeds; 95%% lower bound", dm, dsd, n);
    snprintf(why, sizeof why,
             "seed spread: mean - t(0.975, %d) sd/sqrt(%d) = mean - %.3g sd; the bound must be above 0", n - 1, n,
             gsl_cdf_tdist_Pinv(TEXT_CONF_QUANTILE, n - 1) / sqrt((double)n));
    ac_claim_add(res, q, "> 0: the entropy drops (salient tokens first, spec 3 item 2)", 0.0, dlb,
                 AC_METRIC_AT_LEAST, 0.0, why);
    snprintf(q, sizeof q, "rebound H(end) - H(t*): mean %.4f, sd %.4f over %d seeds; 95%% lower bound", rm, rsd, n);
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

const ac_trial_def ac_joma_text_trials = {.ntrials = text_ntrials, .trial = text_trial, .rows = text_rows};

/* ---- joma.hierarchy --------------------------------------------------
 *
 * Co-occurrence.  Each pair's frequency over n samples is binomial: its
 * z-score |f - p| / sqrt(p (1 - p) / n) is about standard normal when the
 * formula holds.  The row takes the largest z over the P pairs of every
 * trial and judges it against the Bonferroni bound z* = Phi^{-1}(1 -
 * alpha / (2 P trials)), alpha = HIER_ALPHA: a correct formula fails the
 * row with probability at most alpha, and a formula off by delta in one
 * pair's probability fails it once delta > (z* + 2) sigma or so.  The
 * marginals likewise, over the leaves.
 *
 * Learning order.  Spearman's correlation, over the pairs n != l, of the
 * change of the block's association v_{n l} at a tenth of the run with the
 * formula's P(y_l = 1, y_n = 1): the theory says strong pairs first, i.e.
 * a positive correlation.  Judged by its 95 % lower bound over seeds
 * (Student's t, the seed spread) against 0.  The paper gives no number
 * (its multilayer account is qualitative, spec §3 item 4), so the sizes of
 * the correlation and of the per-height changes are INFO. */
#include <gsl/gsl_cdf.h>

#include "theory/joma_hblt.h"
#include "verify/joma_hblt.h"
#include "verify/joma_model.h"

/* Family-wise false-alarm rate of the co-occurrence rows. */
#define HIER_ALPHA 1e-3
/* The early checkpoint: this fraction of the run. */
#define HIER_EARLY_FRACTION 0.1
/* The block's init scale (the authors' N(0, 1)/100, spec §4.1). */
#define HIER_INIT_SCALE 0.01

ac_joma_hierarchy_setup ac_joma_hierarchy_claim_setup(ac_size size)
{
    switch (size) {
    case AC_SIZE_QUICK:
        return (ac_joma_hierarchy_setup){.depth = 3, .rho = 0.8, .nsample = 5000, .nseq = 200, .steps = 300,
                                         .every = 30, .lr = 0.1, .T = 0.5, .trials = 3};
    case AC_SIZE_PAPER:
        return (ac_joma_hierarchy_setup){.depth = 5, .rho = 0.9, .nsample = 100000, .nseq = 1000, .steps = 5000,
                                         .every = 250, .lr = 0.1, .T = 0.5, .trials = 10};
    default:
        return (ac_joma_hierarchy_setup){.depth = 4, .rho = 0.9, .nsample = 20000, .nseq = 300, .steps = 1000,
                                         .every = 50, .lr = 0.1, .T = 0.5, .trials = 5};
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
    return (ac_joma_hblt){.depth = su->depth, .p_root = 0.5, .rho = rho};
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

/* Per height H = 1..depth, the mean of dv over the pairs n != l at that
 * height into out[H-1]; dv is K x M (row n = class n). */
static void by_height(const ac_joma_hblt *h, const double *dv, double *out)
{
    int n = ac_joma_hblt_nleaves(h), cnt[AC_JOMA_HBLT_DEPTH_MAX] = {0};
    for (int H = 0; H < h->depth; H++)
        out[H] = 0.0;
    for (int a = 0; a < n; a++)
        for (int l = 0; l < n; l++)
            if (a != l) {
                int H = ac_joma_hblt_lca_height(a, l) - 1;
                out[H] += dv[(size_t)a * n + l];
                cnt[H]++;
            }
    for (int H = 0; H < h->depth; H++)
        out[H] /= cnt[H];
}

/* Spearman over the pairs n != l of dv (K x M) with the formula's P. */
static double pair_spearman(const ac_joma_hblt *h, const double *dv, double *x, double *y)
{
    int n = ac_joma_hblt_nleaves(h), k = 0;
    for (int a = 0; a < n; a++)
        for (int l = 0; l < n; l++)
            if (a != l) {
                x[k] = dv[(size_t)a * n + l];
                y[k++] = ac_joma_hblt_cooccur(h, l, a);
            }
    return ac_joma_hblt_spearman(x, y, k);
}

/* Train the block on the masked-token task, recording by-height changes. */
static ac_status hier_learn(const ac_joma_hierarchy_setup *su, const ac_joma_hblt *h, ac_trial *t, ac_msg *msg)
{
    int n = ac_joma_hblt_nleaves(h), d = n + 1, ncp = (int)(su->steps / su->every) + 1, depth = h->depth;
    int early = (int)lround(HIER_EARLY_FRACTION * (ncp - 1));
    if (early < 1)
        early = 1;
    ac_joma_data D;
    ac_status st = ac_joma_hblt_task(h, su->nseq, t->r, &D, msg);
    if (st != AC_OK)
        return st;
    ac_joma_train_settings s;
    ac_joma_train_settings_default(&s);
    s.steps = su->steps;
    s.lr = su->lr;
    s.T = su->T;
    ac_joma_model m = {.M = n, .K = n, .d = d, .U = NULL, .attention = s.attention, .activation = s.activation,
                       .loss = s.loss, .T = s.T};
    size_t nn = (size_t)n * n;
    double *z0 = malloc(sizeof(double) * n), *W0 = malloc(sizeof(double) * (size_t)d * n);
    double *V0 = malloc(sizeof(double) * nn), *V = malloc(sizeof(double) * nn);
    double *xs = malloc(sizeof(double) * nn), *ys = malloc(sizeof(double) * nn);
    double *curve = malloc(sizeof(double) * (size_t)ncp * depth), *x = malloc(sizeof(double) * (size_t)ncp);
    ac_joma_trainer *tr = ac_joma_trainer_alloc(su->nseq, n, n, d);
    double rho_early = NAN, rho_end = NAN;
    if (!z0 || !W0 || !V0 || !V || !xs || !ys || !curve || !x || !tr) {
        st = ac_fail(msg, AC_ENOMEM, "no memory for the HBLT block");
        goto done;
    }
    ac_joma_model_init(t->r, &m, HIER_INIT_SCALE, z0, W0);
    ac_joma_model_project(&m, W0, V0, NULL);
    st = ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, NULL, msg);
    ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
    for (int c = 0; c < ncp && st == AC_OK; c++) {
        long k = (long)c * su->every;
        if (ac_joma_trainer_run(tr, k) == AC_TRAIN_DIVERGED) {
            st = ac_fail(msg, AC_ENUMERIC, "HBLT block diverged at step %ld", ac_joma_trainer_info(tr)->steps);
            break;
        }
        x[c] = (double)k;
        ac_joma_model_project(&m, ac_joma_trainer_W(tr), V, NULL);
        for (size_t j = 0; j < nn; j++)
            V[j] -= V0[j];
        by_height(h, V, curve + (size_t)c * depth);
        if (c == early)
            rho_early = pair_spearman(h, V, xs, ys);
        if (c == ncp - 1)
            rho_end = pair_spearman(h, V, xs, ys);
    }
    ac_trial_enter(t, AC_TRIAL_OTHER);
    if (st == AC_OK) {
        ac_trial_put(t->rec, "t", ncp, x);
        for (int H = 0; H < depth; H++) {
            char name[16];
            snprintf(name, sizeof name, "vH%d", H + 1);
            double *v = ac_trial_put(t->rec, name, ncp, NULL);
            for (int c = 0; v && c < ncp; c++)
                v[c] = curve[(size_t)c * depth + H];
        }
        ac_trial_put1(t->rec, "rho_early", rho_early);
        ac_trial_put1(t->rec, "rho_end", rho_end);
        ac_trial_put1(t->rec, "t_early", x[early]);
    }
done:
    ac_joma_data_clear(&D);
    ac_joma_trainer_free(tr);
    free(z0);
    free(W0);
    free(V0);
    free(V);
    free(xs);
    free(ys);
    free(curve);
    free(x);
    return st;
}

static ac_status hier_trial(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    ac_joma_hierarchy_setup su = ac_joma_hierarchy_claim_setup(o->size);
    double rho[AC_JOMA_HBLT_DEPTH_MAX];
    ac_joma_hblt h = hier_tree(&su, rho);
    ac_status st = hier_cooccur(&h, su.nsample, t, msg);
    if (st == AC_OK)
        st = hier_learn(&su, &h, t, msg);
    return st;
}

/* The largest value of scalar `name` over the records. */
static double max_over(const ac_trial_set *set, const char *name)
{
    double m = -INFINITY;
    for (int i = 0; i < set->nrec; i++)
        m = fmax(m, ac_trial_get1(&set->rec[i], name, 0));
    return m;
}

static ac_status hier_rows(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    ac_joma_hierarchy_setup su = ac_joma_hierarchy_claim_setup(o->size);
    int n = set->nrec, nleaves = 1 << su.depth, npairs = nleaves * (nleaves - 1) / 2;
    if (n < 2)
        return ac_fail(msg, AC_EINVAL, "joma.hierarchy needs 2 seeds (has %d)", n);
    snprintf(res->setup, sizeof res->setup,
             "our symmetric-channel HBLT: depth %d (%d tokens), p_root 0.5, rho %g on every edge; %d samples per "
             "trial against the formula; masked-token task of %d sequences learned by JoMA's block (softmax "
             "attention T %g, identity activation, cross-entropy, full-batch SGD lr %g, %ld steps, init N(0,1)/100, "
             "U = identity); %d seeds, trial i from seed %lu+i",
             su.depth, nleaves, su.rho, su.nsample, su.nseq, su.T, su.lr, su.steps, n, o->seed);
    char q[AC_CLAIM_TEXT], why[AC_CLAIM_REASON], th[AC_CLAIM_TEXT];
    /* co-occurrence */
    double zp = gsl_cdf_ugaussian_Qinv(HIER_ALPHA / (2.0 * npairs * n));
    double zm = gsl_cdf_ugaussian_Qinv(HIER_ALPHA / (2.0 * nleaves * n));
    snprintf(q, sizeof q, "largest z = |f - p|/sqrt(p(1-p)/%d) over %d pairs x %d trials", su.nsample, npairs, n);
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
    for (int H = 0; H < su.depth; H++) {
        snprintf(q, sizeof q, "P(y_l = 1 | y_m = 1), common ancestor %d level%s up (pooled samples)", H + 1,
                 H ? "s" : "");
        snprintf(th, sizeof th, "(1 + rho^%d)/2", 2 * (H + 1));
        ac_claim_add(res, q, th, ac_trial_get1(&set->rec[0], "cond_theory", H),
                     ac_trial_stat(set, "cond_sample", H).mean, AC_METRIC_INFO, 0.0,
                     "shown: the pairs above are judged one by one");
    }
    /* learning order */
    double *r = malloc(sizeof(double) * (size_t)n);
    if (!r)
        return ac_fail(msg, AC_ENOMEM, "no memory for the correlations");
    for (int i = 0; i < n; i++)
        r[i] = ac_trial_get1(&set->rec[i], "rho_early", 0);
    double rm, rsd, lb = lower_bound(r, n, &rm, &rsd);
    free(r);
    double tq = gsl_cdf_tdist_Pinv(TEXT_CONF_QUANTILE, n - 1) / sqrt((double)n);
    snprintf(q, sizeof q,
             "Spearman(change of v_nl at step %.0f, P(y_l = 1, y_n = 1)) over %d pairs: mean %.4f, sd %.4f over %d "
             "seeds; 95%% lower bound",
             ac_trial_get1(&set->rec[0], "t_early", 0), nleaves * (nleaves - 1), rm, rsd, n);
    snprintf(why, sizeof why, "seed spread: mean - t(0.975, %d) sd/sqrt(%d) = mean - %.3g sd; the bound must be above 0",
             n - 1, n, tq);
    ac_claim_add(res, q, "> 0: strongly co-occurring pairs are associated first (spec 3 item 4)", 0.0, lb,
                 AC_METRIC_AT_LEAST, 0.0, why);
    ac_claim_add(res, "mean Spearman at the last step", "", NAN, ac_trial_stat(set, "rho_end", 0).mean,
                 AC_METRIC_INFO, 0.0, "the paper gives no number");
    const ac_trial_vec *tv = ac_trial_get(&set->rec[0], "t");
    int ncp = tv ? tv->n : 0;
    for (int H = 0; H < su.depth && ncp > 0; H++) {
        char name[16];
        snprintf(name, sizeof name, "vH%d", H + 1);
        snprintf(q, sizeof q, "mean change of v_nl, pairs %d level%s apart, at the last step", H + 1, H ? "s" : "");
        snprintf(th, sizeof th, "P(y_l = 1 | y_n = 1) = %.4f", ac_trial_get1(&set->rec[0], "cond_theory", H));
        ac_claim_add(res, q, th, NAN, ac_trial_stat(set, name, ncp - 1).mean, AC_METRIC_INFO, 0.0,
                     "the order along training is in the figure");
    }
    ac_figure *f = ac_claim_add_figure(res, "joma-hblt-order", "HBLT: which token pairs the block associates first",
                                       "SGD step", "mean change of v_nl = u_l . w_n", 0, 0);
    for (int H = 0; H < su.depth; H++) {
        char name[16], lab[AC_CLAIM_TEXT];
        snprintf(name, sizeof name, "vH%d", H + 1);
        snprintf(lab, sizeof lab, "pairs %d level%s apart, P(l|n) = %.3f (mean, min-max over seeds)", H + 1,
                 H ? "s" : "", ac_trial_get1(&set->rec[0], "cond_theory", H));
        ac_trial_band(f, lab, set, "t", name, 0);
    }
    return AC_OK;
}

const ac_trial_def ac_joma_hierarchy_trials = {.ntrials = hier_ntrials, .trial = hier_trial, .rows = hier_rows};
