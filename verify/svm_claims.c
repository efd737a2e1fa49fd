/* The Graph-SVM claims (spec tpg_svm §4).
 *
 * Every claim runs through the trial harness (verify/trial.h).  Trial i
 * draws its instance (dataset and embeddings) by the generator of spec §5
 * from the seed S + i.  The theory side (theory/tpg*.h, solvers/) computes
 * the token-priority graphs, the Graph-SVM direction W_svm and the finite
 * component W_fin from the instance alone.  The experiment side
 * (verify/svm_model.h) trains the attention layer from a seeded
 * initialisation, with its own per-position loss; it never reads a theory
 * output.  The measurements (verify/svm_measure.h) see both and write the
 * trial's record; the rows are computed from the records alone. */
#include "verify/svm_claims.h"

#include <float.h>
#include <gsl/gsl_rng.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/linalg.h"
#include "theory/tpg.h"
#include "theory/tpg_loss.h"
#include "theory/tpg_mpfr.h"
#include "theory/tpg_solve.h"
#include "verify/svm_data.h"
#include "verify/svm_measure.h"
#include "verify/svm_model.h"
#include "verify/trial.h"

/* A numeric constant as it is written in its header, for reason texts that
 * quote a solver's default (they follow it when it changes). */
#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- acceptance tolerances (spec §4) ----
 *
 * The spec's Accept levels for a limit at one finite time (a mean corr of
 * 0.985 at 4000 steps, a mass of 1e-3, 0.003 after 2e4 GD steps, ...) were
 * read off its reference runs [run]: the rows show them as information,
 * and judge the limit by its trend (the distance to it falls along the
 * run) or by a bound the numerics give (the NGD jitter, lr/2). */

/* S1/S2 of spec §4.1.  The QP stops at 1e-12 (solvers/qp.h); the checks
 * recompute every value from W in R^{d x d}, a different rounding path, so
 * 1e-9 leaves three orders of magnitude for it. */
#define TOL_STRUCT 1e-9
/* S4: a relative 1e-12 (spec §4.1): the gradient sums O(nT) terms of size
 * O(1), each rounded at DBL_EPSILON = 2.2e-16. */
#define TOL_GRAD_IN_SFIN 1e-12
/* The direction (spec §4.2, §4.3): the spec's reference runs gave a mean
 * final corr of 0.9936 (acyclic) and 0.9865 (cyclic) at 4000 NGD steps;
 * shown.  The steps a trial needs to reach AC_SVM_DIR_REACH_CORR (continued
 * from W(end) every AC_SVM_DIR_REACH_EVERY steps up to
 * AC_SVM_DIR_REACH_BUDGET: NGD keeps no state but W, so continuing is the
 * same run) are shown too: the level and the budget are ours. */
/* Finite component (spec §4.3): a normalised step moves W by lr, so NGD
 * settles into a jitter of about lr/2 around W_fin; ||P_fin W - W_fin|| after
 * the NGD run is allowed twice it, lr (rows_finite, from the setup's lr). */

#define NCHECK AC_SVM_NCHECK

/* ---- setups ---------------------------------------------------------- */

ac_status ac_svm_claim_setup(const char *name, ac_size size, ac_svm_setup *s)
{
    int trials = size == AC_SIZE_QUICK ? 3 : 10;
    if (strcmp(name, "acyclic") == 0)
        *s = (ac_svm_setup){4, 6, 8, 8, trials, 4000, 0.01};
    else if (strcmp(name, "cyclic") == 0)
        *s = (ac_svm_setup){6, 4, 6, 8, trials, 4000, 0.01};
    else if (strcmp(name, "local") == 0)
        *s = (ac_svm_setup){6, 4, 6, 8, trials, 2000, 0.1};
    else if (strcmp(name, "plain-gd") == 0)
        *s = (ac_svm_setup){6, 4, 6, 8, trials, size == AC_SIZE_PAPER ? 100000 : 20000, 1.0};
    else
        return AC_ENOTFOUND;
    return AC_OK;
}

/* The setup of a name the claims know (every call below passes one). */
static ac_svm_setup setup_of(const char *name, ac_size size)
{
    ac_svm_setup s = {0};
    ac_svm_claim_setup(name, size, &s);
    return s;
}

/* Draw an instance with r and compute its theory, timing the theory side. */
static ac_status draw_theory(ac_trial *t, gsl_rng *r, const ac_svm_setup *su, ac_svm_gen_mode mode,
                             ac_svm_instance *I, ac_msg *msg)
{
    ac_status st = ac_svm_instance_draw(I, r, su, mode, msg);
    ac_trial_enter(t, AC_TRIAL_THEORY);
    if (st == AC_OK)
        st = ac_svm_instance_theory(I, msg);
    ac_trial_enter(t, AC_TRIAL_OTHER);
    return st;
}

/* The two instances some trials take, by mode index m: */
static const char *const pair_modes[2] = {"acyclic", "cyclic"};
static const ac_svm_gen_mode pair_gen[2] = {AC_SVM_GEN_ACYCLIC, AC_SVM_GEN_CYCLIC};

/* Draw trial t's instance of mode m with its theory (draw_theory), each mode
 * from the start of the seed S + i so that it is the instance of trial i of
 * that mode's direction claim: m = 0 with t->r, m = 1 with a new generator.
 * *r is the generator to continue with (NULL on no memory); release both
 * with pair_clear, also after an error. */
static ac_status pair_draw(ac_trial *t, int m, ac_size size, gsl_rng **r, ac_svm_instance *I, ac_msg *msg)
{
    ac_svm_setup su = setup_of(pair_modes[m], size);
    memset(I, 0, sizeof *I);
    *r = m == 0 ? t->r : ac_trial_rng_alloc(t->seed, t->index);
    if (!*r)
        return ac_fail(msg, AC_ENOMEM, "no memory for a generator");
    return draw_theory(t, *r, &su, pair_gen[m], I, msg);
}

static void pair_clear(const ac_trial *t, gsl_rng *r, ac_svm_instance *I)
{
    ac_svm_instance_clear(I);
    if (r && r != t->r)
        gsl_rng_free(r);
}

/* Train with r (after the draw), timing the experiment side. */
static ac_status train(ac_trial *t, const ac_svm_instance *I, gsl_rng *r, const ac_svm_train_settings *ts,
                       ac_svm_trajectory *traj, ac_msg *msg)
{
    ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
    ac_status st = ac_svm_trajectory_train(traj, I, r, ts, msg);
    ac_trial_enter(t, AC_TRIAL_OTHER);
    return st;
}

static ac_svm_train_settings train_settings(const ac_svm_setup *su, int normalized, ac_svm_head head)
{
    ac_svm_train_settings ts;
    ac_svm_train_settings_default(&ts);
    ts.steps = su->steps;
    ts.lr = su->lr;
    ts.normalized = normalized;
    ts.head = head;
    return ts;
}

/* The checkpoint steps of a trajectory as a record vector. */
static void put_steps(ac_trial_record *rec, const char *name, const ac_svm_trajectory *traj)
{
    double *x = ac_trial_put(rec, name, traj->ncp, NULL);
    for (int c = 0; x && c < traj->ncp; c++)
        x[c] = (double)traj->t[c];
}

/* The records that have a vector of this name. */
static int count_with(const ac_trial_set *set, const char *name)
{
    int n = 0;
    for (int i = 0; i < set->nrec; i++)
        n += ac_trial_get(&set->rec[i], name) != NULL;
    return n;
}

/* The records whose scalar `name` exceeds x. */
static int count_over(const ac_trial_set *set, const char *name, double x)
{
    int n = 0;
    for (int i = 0; i < set->nrec; i++)
        n += ac_trial_get1(&set->rec[i], name, 0) > x;
    return n;
}

/* Entry k of vector name of the first record that has it (NaN if none). */
static double first_value(const ac_trial_set *set, const char *name, int k)
{
    for (int i = 0; i < set->nrec; i++)
        if (ac_trial_get(&set->rec[i], name))
            return ac_trial_get1(&set->rec[i], name, k);
    return NAN;
}

/* A count row (regress compares it by percentage). */
static void add_count(ac_claim_result *res, const char *quantity, const char *theory_what, double v,
                      const char *why)
{
    ac_claim_row *r = ac_claim_add(res, quantity, theory_what, NAN, v, AC_METRIC_INFO, 0.0, why);
    if (r)
        r->is_count = 1;
}

/* The setup line: sizes, how to export trial i, then the training as fmt. */
static void setup_text(ac_claim_result *res, const char *what, const ac_svm_setup *su, const char *mode,
                       unsigned long seed, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void setup_text(ac_claim_result *res, const char *what, const ac_svm_setup *su, const char *mode,
                       unsigned long seed, const char *fmt, ...)
{
    int n = snprintf(res->setup, sizeof res->setup,
                     "%s: n=%d T=%d K=%d d=%d, %d trials; trial i is `attncheck svm generate --mode %s --n %d "
                     "--T %d --K %d --d %d --seed %lu+i`; ",
                     what, su->n, su->T, su->K, su->d, su->trials, mode, su->n, su->T, su->K, su->d, seed);
    if (n < 0 || (size_t)n >= sizeof res->setup)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->setup + n, sizeof res->setup - (size_t)n, fmt, ap);
    va_end(ap);
}

static int trials_acyclic(const ac_run_opts *o)
{
    return setup_of("acyclic", o->size).trials;
}

static int trials_cyclic(const ac_run_opts *o)
{
    return setup_of("cyclic", o->size).trials;
}

/* ---- svm.structure: the exact checks S1-S5 of spec §4.1 --------------- */

/* Trial i: the acyclic and the cyclic instance of trial i of the direction
 * claims, each drawn from the start of the seed S + i. */
static ac_status trial_structure(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    ac_svm_structure a;
    ac_svm_structure_init(&a);
    double s3_dim = 0.0, s3_norm = 0.0;
    ac_status st = AC_OK;
    for (int m = 0; m < 2 && st == AC_OK; m++) {
        gsl_rng *r;
        ac_svm_instance I;
        st = pair_draw(t, m, o->size, &r, &I, msg);
        ac_trial_enter(t, AC_TRIAL_EXPERIMENT); /* S4, S5 use the model's loss */
        if (st == AC_OK)
            st = ac_svm_check_s1_s2(&I, I.th.Wsvm, &a);
        if (st == AC_OK && m == 0) {
            s3_dim = I.th.S->dim;
            s3_norm = ac_la_nrm2(I.th.Wfin, I.d * I.d);
        }
        if (st == AC_OK)
            st = ac_svm_check_s4_s5(&I, r, I.th.Dred->data, I.th.Dred->last, AC_SVM_HEAD_IDENTITY, &a);
        ac_trial_enter(t, AC_TRIAL_OTHER);
        pair_clear(t, r, &I);
    }
    if (st != AC_OK)
        return st;
    const struct {
        const char *name;
        double v;
    } q[] = {{"ineq", a.ineq},     {"eq", a.eq},         {"sfin", a.sfin},     {"stat", a.stat},
             {"lam_min", a.lam_min}, {"compl", a.compl}, {"s3_dim", s3_dim},   {"s3_norm", s3_norm},
             {"s4", a.s4},         {"s5", a.s5},         {"s5_tol", a.s5_tol}, {"sweeps", a.sweeps},
             {"cons", a.cons}};
    for (size_t k = 0; k < sizeof q / sizeof q[0]; k++)
        ac_trial_put1(t->rec, q[k].name, q[k].v);
    return AC_OK;
}

static ac_status rows_structure(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)msg;
    ac_svm_setup su[2] = {setup_of("acyclic", o->size), setup_of("cyclic", o->size)};
    snprintf(res->setup, sizeof res->setup,
             "the acyclic (n=%d T=%d K=%d d=%d) and cyclic (n=%d T=%d K=%d d=%d) instances of the direction "
             "claims, %d trials each, seeds %lu+i; S4 and S5 at %d random points with entries U(-2, 2)",
             su[0].n, su[0].T, su[0].K, su[0].d, su[1].n, su[1].T, su[1].K, su[1].d, su[0].trials, o->seed,
             AC_SVM_SPOT_POINTS);
    /* worst values over the trials; sums of counts are exact in double */
    double ninst = 2.0 * set->nrec, sweeps = 0.0, cons = 0.0, s5_tol = 0.0;
    for (int i = 0; i < set->nrec; i++) {
        sweeps += ac_trial_get1(&set->rec[i], "sweeps", 0);
        cons += ac_trial_get1(&set->rec[i], "cons", 0);
        s5_tol = ac_max_keep_nan(s5_tol, ac_trial_get1(&set->rec[i], "s5_tol", 0));
    }
    const char *s12 = "the QP stops at " STR(AC_QP_EPS_DEFAULT) "; values recomputed in R^{d x d} on another rounding path";
    ac_claim_add(res, "S1 worst inequality violation max(0, 1 - <A_c, W_svm>)", "0", 0.0,
                 ac_trial_stat(set, "ineq", 0).max, AC_METRIC_AT_MOST, TOL_STRUCT, s12);
    ac_claim_add(res, "S1 worst equality |<A_c, W_svm>|", "0", 0.0, ac_trial_stat(set, "eq", 0).max,
                 AC_METRIC_AT_MOST, TOL_STRUCT, s12);
    ac_claim_add(res, "S1 worst ||P_fin W_svm||", "0 (W_svm is orthogonal to S_fin)", 0.0,
                 ac_trial_stat(set, "sfin", 0).max, AC_METRIC_AT_MOST, TOL_STRUCT, s12);
    ac_claim_add(res, "S2 worst ||W_svm - sum_c lambda_c A_c||", "0 (stationarity)", 0.0,
                 ac_trial_stat(set, "stat", 0).max, AC_METRIC_AT_MOST, TOL_STRUCT, s12);
    ac_claim_add(res, "S2 smallest inequality multiplier", ">= 0", 0.0, ac_trial_stat(set, "lam_min", 0).min,
                 AC_METRIC_AT_LEAST, 0.0, "exact: the solver clips at 0");
    ac_claim_add(res, "S2 worst |lambda_c (<A_c, W_svm> - 1)|", "0 (complementarity)", 0.0,
                 ac_trial_stat(set, "compl", 0).max, AC_METRIC_AT_MOST, TOL_STRUCT, s12);
    ac_claim_add(res, "S3 largest dim S_fin on acyclic data", "0", 0.0, ac_trial_stat(set, "s3_dim", 0).max,
                 AC_METRIC_AT_MOST, 0.0, "exact: a DAG has no nontrivial SCC");
    ac_claim_add(res, "S3 largest ||W_fin|| on acyclic data", "0", 0.0, ac_trial_stat(set, "s3_norm", 0).max,
                 AC_METRIC_AT_MOST, 0.0, "exact: S_fin = {0}");
    ac_claim_add(res, "S4 worst ||grad L_red - P_fin grad L_red|| / ||grad L_red||", "0", 0.0,
                 ac_trial_stat(set, "s4", 0).max, AC_METRIC_AT_MOST, TOL_GRAD_IN_SFIN,
                 "spec 4.1: sums of O(nT) terms rounded at 2.2e-16; gradient from the model's own code");
    ac_claim_add(res, "S5 worst L((W1+W2)/2) - (L(W1)+L(W2))/2", "<= 0 (convexity)", 0.0,
                 ac_trial_stat(set, "s5", 0).max, AC_METRIC_AT_MOST, s5_tol,
                 "rounding: 64 DBL_EPSILON max(1, |L|) for sums of O(nT) terms");
    add_count(res, "mean QP sweeps", "", sweeps / ninst, "dual coordinate ascent to KKT residuals " STR(AC_QP_EPS_DEFAULT));
    add_count(res, "mean constraints per instance", "", cons / ninst, "");
    return AC_OK;
}

/* The vectors every trial of svm.structure records (ac_trial_def.vectors). */
static const char *const structure_vectors[] = {
    "compl", "cons", "eq", "ineq", "lam_min", "s3_dim", "s3_norm", "s4", "s5", "s5_tol", "sfin", "stat",
    "sweeps", NULL
};
static const ac_trial_def structure_trials = {
    .ntrials = trials_acyclic, .trial = trial_structure, .rows = rows_structure,
    .vectors = structure_vectors};

/* ---- svm.direction-acyclic, svm.direction-cyclic (spec §4.2, §4.3) ----- */

/* The direction measurements of one trained trial into rec: "corr" at every
 * checkpoint "t", and at the end "last", "ratio" (1 - corr at the end over
 * 1 - corr at a quarter of the run), "leak", "leak_ratio" (leak at the end
 * over leak at a quarter of the run), "wn", "dec", "perp"; the
 * trial's trainer adds "reach" and "reach_corr" (direction_reach).  A fully
 * cyclic instance (W_svm = 0, spec §7) has no direction: "skipped" only. */
/* Steps NGD takes from W(end) of traj (which is at step t_end) until corr
 * with W_svm reaches AC_SVM_DIR_REACH_CORR, counted from step 0; +inf when not
 * within AC_SVM_DIR_REACH_BUDGET.  *corr_out gets corr where it stopped. */
static ac_status direction_reach(const ac_svm_instance *I, const ac_svm_trajectory *traj,
                                 const ac_svm_train_settings *main, double *reach, double *corr_out, ac_msg *msg)
{
    int dd = I->d * I->d;
    long t_end = traj->t[traj->ncp - 1];
    const double *Wend = traj->W + (size_t)(traj->ncp - 1) * dd;
    double c = ac_svm_corr(Wend, I->th.Wsvm, dd);
    *reach = INFINITY;
    *corr_out = c;
    if (c >= AC_SVM_DIR_REACH_CORR || t_end >= AC_SVM_DIR_REACH_BUDGET) {
        *reach = c >= AC_SVM_DIR_REACH_CORR ? (double)t_end : INFINITY;
        return AC_OK;
    }
    ac_svm_train_settings ts = *main;
    ts.steps = AC_SVM_DIR_REACH_BUDGET - t_end;
    ac_svm_trainer *tr = ac_svm_trainer_alloc(I->D->n, I->D->off[I->D->n], I->K, I->d);
    if (!tr)
        return ac_fail(msg, AC_ENOMEM, "no memory for a trainer");
    ac_status st = ac_svm_trainer_set(tr, I->D, NULL, I->E, &ts, Wend, msg);
    for (long s = AC_SVM_DIR_REACH_EVERY; st == AC_OK && s <= ts.steps; s += AC_SVM_DIR_REACH_EVERY) {
        ac_train_outcome oc = ac_svm_trainer_run(tr, s);
        if (oc == AC_TRAIN_DIVERGED) {
            st = ac_fail(msg, AC_ENUMERIC, "continued training diverged at step %ld", t_end + s);
            break;
        }
        c = ac_svm_corr(ac_svm_trainer_W(tr), I->th.Wsvm, dd);
        *corr_out = c;
        if (c >= AC_SVM_DIR_REACH_CORR) {
            *reach = (double)(t_end + s);
            break;
        }
    }
    ac_svm_trainer_free(tr);
    return st;
}

static void direction_measure(const ac_svm_instance *I, const ac_svm_trajectory *traj, ac_trial_record *rec)
{
    int ncp = traj->ncp, dd = I->d * I->d;
    if (ac_la_nrm2(I->th.Wsvm, dd) == 0.0) {
        ac_trial_put1(rec, "skipped", 1.0);
        return;
    }
    const double *Wend = traj->W + (size_t)(ncp - 1) * dd;
    put_steps(rec, "t", traj);
    double *corr = ac_trial_put(rec, "corr", ncp, NULL);
    if (!corr)
        return;
    for (int c = 0; c < ncp; c++)
        corr[c] = ac_svm_corr(traj->W + (size_t)c * dd, I->th.Wsvm, dd);
    double last = corr[ncp - 1], quarter = corr[NCHECK / 4];
    ac_trial_put1(rec, "last", last);
    ac_trial_put1(rec, "ratio", (1.0 - last) / (1.0 - quarter));
    double leak = ac_svm_mean_leak(I, Wend);
    ac_trial_put1(rec, "leak", leak);
    ac_trial_put1(rec, "leak_ratio", leak / ac_svm_mean_leak(I, traj->W + (size_t)(NCHECK / 4) * dd));
    ac_trial_put1(rec, "wn", ac_la_nrm2(Wend, dd));
    ac_trial_put1(rec, "dec", fabs(ac_svm_decomposition_corr(I, Wend) - last));
    ac_trial_put1(rec, "perp", ac_svm_perp_corr(I, Wend));
}

static ac_status direction_trial(const ac_run_opts *o, ac_trial *t, ac_msg *msg, ac_svm_gen_mode mode)
{
    ac_svm_setup su = setup_of(mode == AC_SVM_GEN_CYCLIC ? "cyclic" : "acyclic", o->size);
    ac_svm_train_settings ts = train_settings(&su, 1, AC_SVM_HEAD_IDENTITY);
    ac_svm_instance I;
    ac_svm_trajectory traj = {0};
    ac_status st = draw_theory(t, t->r, &su, mode, &I, msg);
    if (st == AC_OK)
        st = train(t, &I, t->r, &ts, &traj, msg);
    if (st == AC_OK)
        direction_measure(&I, &traj, t->rec);
    if (st == AC_OK && ac_trial_get(t->rec, "last")) {
        double reach, corr;
        ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
        st = direction_reach(&I, &traj, &ts, &reach, &corr, msg);
        ac_trial_enter(t, AC_TRIAL_OTHER);
        ac_trial_put1(t->rec, "reach", reach);
        ac_trial_put1(t->rec, "reach_corr", corr);
    }
    ac_svm_trajectory_clear(&traj);
    ac_svm_instance_clear(&I);
    return st;
}

static ac_status trial_direction_acyclic(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    return direction_trial(o, t, msg, AC_SVM_GEN_ACYCLIC);
}

static ac_status trial_direction_cyclic(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    return direction_trial(o, t, msg, AC_SVM_GEN_CYCLIC);
}

static void direction_rows(const ac_trial_set *set, ac_claim_result *res, int cyc)
{
    const char *lim = "1 (W/||W|| -> W_svm/||W_svm||)";
    char q[160];
    ac_trial_stats s = ac_trial_stat(set, "last", 0);
    ac_claim_add(res, "mean final corr(W, W_svm)", lim, 1.0, s.mean, AC_METRIC_INFO, 0.0,
                 cyc ? "the distance to the limit at one finite time, shown (the spec's reference runs: 0.9865 at "
                       "4000 steps); the limit is judged by the trend rows"
                     : "the distance to the limit at one finite time, shown (the spec's reference runs: 0.9936 at "
                       "4000 steps); the limit is judged by the trend rows");
    ac_claim_add(res, "worst-trial final corr(W, W_svm)", lim, 1.0, s.min, AC_METRIC_INFO, 0.0,
                 "spec 4.3 Accept (corrected 2026-12-01): information; a trial with a nearly dependent token pair "
                 "converges more slowly (1 - corr ~ 1/log t); its fall is judged by the ratio row");
    snprintf(q, sizeof q, "worst-trial NGD steps until corr(W, W_svm) >= %g (slow trials continued)", AC_SVM_DIR_REACH_CORR);
    ac_claim_add(res, q, "finite (corr -> 1)", AC_SVM_DIR_REACH_BUDGET, ac_trial_stat(set, "reach", 0).max,
                 AC_METRIC_INFO, 0.0,
                 "shown: the level and the budget of " STR(AC_SVM_DIR_REACH_BUDGET)
                 " NGD steps are ours (infinite: not reached within it)");
    add_count(res, "trials continued past the main run", "", count_over(set, "reach", first_value(set, "t", NCHECK)),
              "those below " STR(AC_SVM_DIR_REACH_CORR) " at its end");
    for (int k = 1; k <= 2; k++) {
        int c = NCHECK * k / 4;
        snprintf(q, sizeof q, "mean corr(W, W_svm) at step %ld", (long)first_value(set, "t", c));
        ac_claim_add(res, q, lim, 1.0, ac_trial_stat(set, "corr", c).mean, AC_METRIC_INFO, 0.0,
                     "along the run, shown; the limit is judged by its fall (the ratio rows)");
    }
    ac_claim_add(res, "worst-trial ratio (1 - corr at end) / (1 - corr at a quarter of the run)",
                 "< 1 (corr keeps increasing)", 1.0, ac_trial_stat(set, "ratio", 0).max, AC_METRIC_AT_MOST, 0.0,
                 "exact: the theory says corr increases to 1");
    /* the mass's rate is judged on held-out sequences by svm.retrieval */
    ac_claim_add(res, "mean attention mass outside the top SCC at the end", "0 (hard retrieval)", 0.0,
                 ac_trial_stat(set, "leak", 0).mean, AC_METRIC_INFO, 0.0,
                 cyc ? "the distance to the limit at one finite time, shown; its rate: svm.retrieval"
                     : "the distance to the limit at one finite time, shown (the spec's reference run: about x10 "
                       "per 1000 NGD steps, 7e-5 at 4000)");
    ac_claim_add(res, "worst-trial ratio (mass outside the top SCC at end) / (at a quarter of the run)",
                 "< 1 (the mass falls to 0)", 1.0, ac_trial_stat(set, "leak_ratio", 0).max, AC_METRIC_AT_MOST, 0.0,
                 "exact: the theory says the mass outside falls to 0");
    if (cyc) {
        ac_claim_add(res, "worst |corr(W, W_fin + R W_svm) - corr(W, W_svm)|", "0 (W_fin is bounded while ||W|| grows)",
                     0.0, ac_trial_stat(set, "dec", 0).max, AC_METRIC_INFO, 0.0,
                     "both corrs go to 1: their difference at one finite time, shown (the spec's 0.01 was read off "
                     "its reference runs)");
        ac_claim_add(res, "mean corr(W - P_fin W, W_svm)", lim, 1.0, ac_trial_stat(set, "perp", 0).mean,
                     AC_METRIC_INFO, 0.0,
                     "spec 4.3 lists it among the authors' targets (the same as corr(W, W_svm)), not the Accept");
    }
    ac_claim_add(res, "mean ||W|| at the end", "grows without bound", NAN, ac_trial_stat(set, "wn", 0).mean,
                 AC_METRIC_INFO, 0.0, "NGD: at most ||W(0)|| + lr t");
    add_count(res, "trials skipped (W_svm = 0: fully cyclic)", "", count_with(set, "skipped"),
              "no direction to compare");
    if (s.n > 0) {
        ac_figure *f = ac_claim_add_figure(res, cyc ? "svm-direction-cyclic" : "svm-direction-acyclic",
                                           cyc ? "corr(W(t), W_svm), cyclic TPGs" : "corr(W(t), W_svm), acyclic TPGs",
                                           "NGD step t", "corr(W(t), W_svm)", 0, 0);
        ac_trial_band(f, "mean, band min-max over trials", set, "t", "corr", 0);
    }
}

static ac_status direction_rows_of(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, int cyc)
{
    ac_svm_setup su = setup_of(cyc ? "cyclic" : "acyclic", o->size);
    setup_text(res, cyc ? "cyclic TPGs" : "acyclic TPGs", &su, cyc ? "cyclic" : "acyclic", o->seed,
               "normalised GD, lr %g, %d steps, W(0) ~ U(-1/sqrt(d), 1/sqrt(d))", su.lr, su.steps);
    direction_rows(set, res, cyc);
    return AC_OK;
}

static ac_status rows_direction_acyclic(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res,
                                        ac_msg *msg)
{
    (void)msg;
    return direction_rows_of(o, set, res, 0);
}

static ac_status rows_direction_cyclic(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res,
                                       ac_msg *msg)
{
    (void)msg;
    return direction_rows_of(o, set, res, 1);
}

/* The vectors every trial of svm.direction-acyclic records (ac_trial_def.vectors). */
static const char *const direction_acyclic_vectors[] = {
    "corr", "dec", "last", "leak", "leak_ratio", "perp", "ratio", "reach", "reach_corr", "t", "wn",
    NULL
};
static const ac_trial_def direction_acyclic_trials = {
    .ntrials = trials_acyclic, .trial = trial_direction_acyclic, .rows = rows_direction_acyclic,
    .vectors = direction_acyclic_vectors, .skip = "skipped"};
/* The vectors every trial of svm.direction-cyclic records (ac_trial_def.vectors). */
static const char *const direction_cyclic_vectors[] = {
    "corr", "dec", "last", "leak", "leak_ratio", "perp", "ratio", "reach", "reach_corr", "t", "wn",
    NULL
};
static const ac_trial_def direction_cyclic_trials = {
    .ntrials = trials_cyclic, .trial = trial_direction_cyclic, .rows = rows_direction_cyclic,
    .vectors = direction_cyclic_vectors, .skip = "skipped"};

/* ---- svm.finite-component (spec §3.2, §4.3) ---------------------------- */

/* The authors' W_fin (spec §3.2): NGD on the reduced loss from 0 with the
 * main run's lr and steps; its checkpoints into traj. */
static ac_status authors_wfin(const ac_svm_instance *I, const ac_svm_setup *su, ac_svm_trajectory *traj,
                              ac_msg *msg)
{
    int dd = I->d * I->d, ncp = NCHECK + 1;
    ac_svm_train_settings ts;
    ac_svm_train_settings_default(&ts);
    ts.steps = su->steps;
    ts.lr = su->lr;
    memset(traj, 0, sizeof *traj);
    traj->t = malloc(sizeof(long) * (size_t)ncp);
    traj->W = calloc((size_t)ncp * dd, sizeof(double));
    traj->loss = calloc((size_t)ncp, sizeof(double));
    double *zero = calloc((size_t)dd, sizeof(double));
    const ac_tpg_reduced *R = I->th.Dred;
    ac_svm_trainer *tr = R->data->n > 0 ? ac_svm_trainer_alloc(R->data->n, R->data->off[R->data->n], I->K, I->d)
                                        : NULL;
    ac_status st = AC_OK;
    if (!traj->t || !traj->W || !traj->loss || !zero || (R->data->n > 0 && !tr))
        st = ac_fail(msg, AC_ENOMEM, "no memory");
    else if (tr)
        st = ac_svm_trainer_set(tr, R->data, R->last, I->E, &ts, zero, msg);
    free(zero);
    for (int c = 0; c < ncp && st == AC_OK; c++) {
        traj->t[c] = (long)su->steps * c / NCHECK;
        if (tr && ac_svm_trainer_run(tr, traj->t[c]) == AC_TRAIN_DIVERGED)
            st = ac_fail(msg, AC_ENUMERIC, "NGD on the reduced loss diverged at step %ld",
                         ac_svm_trainer_info(tr)->steps);
        if (tr)
            memcpy(traj->W + (size_t)c * dd, ac_svm_trainer_W(tr), sizeof(double) * (size_t)dd);
        traj->ncp = c + 1;
    }
    ac_svm_trainer_free(tr);
    return st;
}

/* Record: "t_ngd", "t_gd" and the distances "ngd", "gd" (to the exact
 * W_fin) and "auth" (to the authors' NGD-trained one) at every checkpoint;
 * at the end "ngd_end", "gd_end", "auth_sq_end", "corr_dec", "wfin_norm",
 * "gnorm". */
static ac_status trial_finite(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    ac_svm_setup su = setup_of("cyclic", o->size), gd = setup_of("plain-gd", o->size);
    int ncp = NCHECK + 1, dd = su.d * su.d;
    ac_svm_instance I;
    ac_svm_trajectory tn = {0}, tg = {0}, ta = {0};
    ac_svm_train_settings tsn = train_settings(&su, 1, AC_SVM_HEAD_IDENTITY);
    ac_svm_train_settings tsg = train_settings(&gd, 0, AC_SVM_HEAD_IDENTITY);
    ac_status st = draw_theory(t, t->r, &su, AC_SVM_GEN_CYCLIC, &I, msg);
    if (st == AC_OK)
        st = train(t, &I, t->r, &tsn, &tn, msg);
    if (st == AC_OK)
        st = train(t, &I, t->r, &tsg, &tg, msg);
    ac_trial_enter(t, AC_TRIAL_THEORY);
    if (st == AC_OK)
        st = authors_wfin(&I, &su, &ta, msg); /* the authors' W_fin: a theory quantity, by NGD */
    ac_trial_enter(t, AC_TRIAL_OTHER);
    double *dist = st == AC_OK ? malloc(sizeof(double) * (size_t)ncp * 3) : NULL;
    if (st == AC_OK && !dist)
        st = ac_fail(msg, AC_ENOMEM, "no memory");
    double *ngd = dist, *g = ngd + ncp, *au = g + ncp;
    if (st == AC_OK)
        st = ac_svm_fin_distance(&I, tn.W, ncp, I.th.Wfin, 0, ngd);
    if (st == AC_OK)
        st = ac_svm_fin_distance(&I, tg.W, ncp, I.th.Wfin, 0, g);
    if (st == AC_OK)
        st = ac_svm_fin_distance(&I, tn.W, ncp, ta.W, dd, au);
    if (st == AC_OK) {
        const double *Wend = tn.W + (size_t)(ncp - 1) * dd;
        ac_trial_put(t->rec, "ngd", ncp, ngd);
        ac_trial_put(t->rec, "gd", ncp, g);
        ac_trial_put(t->rec, "auth", ncp, au);
        ac_trial_put1(t->rec, "ngd_end", ngd[ncp - 1]);
        ac_trial_put1(t->rec, "gd_end", g[ncp - 1]);
        ac_trial_put1(t->rec, "auth_sq_end", au[ncp - 1] * au[ncp - 1]);
        ac_trial_put1(t->rec, "corr_dec", ac_svm_decomposition_corr(&I, Wend));
        ac_trial_put1(t->rec, "wfin_norm", ac_la_nrm2(I.th.Wfin, dd));
        ac_trial_put1(t->rec, "gnorm", I.th.fin_grad_norm);
        put_steps(t->rec, "t_ngd", &tn);
        put_steps(t->rec, "t_gd", &tg);
    }
    free(dist);
    ac_svm_trajectory_clear(&tn), ac_svm_trajectory_clear(&tg), ac_svm_trajectory_clear(&ta);
    ac_svm_instance_clear(&I);
    return st;
}

static ac_status rows_finite(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)msg;
    ac_svm_setup su = setup_of("cyclic", o->size), gd = setup_of("plain-gd", o->size);
    int ncp = NCHECK + 1;
    setup_text(res, "cyclic TPGs", &su, "cyclic", o->seed,
               "NGD lr %g for %d steps; plain GD lr %g for %d steps; W_fin by Newton", su.lr, su.steps, gd.lr,
               gd.steps);
    char why[160];
    snprintf(why, sizeof why, "NGD's step of lr = %g leaves a jitter of about lr/2 around W_fin: twice it", su.lr);
    ac_claim_add(res, "worst ||P_fin W - W_fin|| after the NGD run", "0 (P_fin W(t) -> W_fin)", 0.0,
                 ac_trial_stat(set, "ngd_end", 0).max, AC_METRIC_AT_MOST, su.lr, why);
    ac_claim_add(res, "worst ||P_fin W - W_fin|| after the plain GD run", "0 (P_fin W(t) -> W_fin)", 0.0,
                 ac_trial_stat(set, "gd_end", 0).max, AC_METRIC_INFO, 0.0,
                 "the distance to the limit at one finite time, shown (the spec's reference runs: 1e-4 to 2e-3 "
                 "after 2e4 steps); judged by its trend, next row");
    double gratio = -INFINITY;
    for (int i = 0; i < set->nrec; i++)
        gratio = ac_max_keep_nan(gratio, ac_trial_get1(&set->rec[i], "gd", ncp - 1) /
                                             ac_trial_get1(&set->rec[i], "gd", NCHECK / 4));
    ac_claim_add(res, "worst-trial ratio ||P_fin W - W_fin|| at the end / at a quarter of the plain GD run",
                 "< 1 (P_fin W(t) -> W_fin)", 1.0, set->nrec ? gratio : NAN, AC_METRIC_AT_MOST, 0.0,
                 "exact: plain GD has no jitter, and the theory says the distance falls to 0");
    ac_claim_add(res, "mean corr(W, W_fin + R W_svm) after the NGD run", "1", 1.0,
                 ac_trial_stat(set, "corr_dec", 0).mean, AC_METRIC_INFO, 0.0,
                 "spec 4.3 judges it against corr(W, W_svm) (svm.direction-cyclic), not by a bound of its own");
    ac_claim_add(res, "mean ||P_fin W - W_fin^NGD||^2 at the end (authors' W_fin by NGD)", "0", 0.0,
                 ac_trial_stat(set, "auth_sq_end", 0).mean, AC_METRIC_INFO, 0.0,
                 "shown beside the authors' figure files (spec 4.3: the loosest ends near 0.02 at 4000 steps)");
    /* the step where the mean squared authors' difference peaks */
    double best = -1.0;
    long at = 0;
    for (int c = 0; c < ncp; c++) {
        double m = 0.0;
        for (int i = 0; i < set->nrec; i++) {
            double a = ac_trial_get1(&set->rec[i], "auth", c);
            m += a * a;
        }
        if (m > best) {
            best = m;
            at = (long)first_value(set, "t_ngd", c);
        }
    }
    add_count(res, "step of the peak of the mean squared difference (authors' W_fin)", "early peak, then decay",
              (double)at,
              "spec 4.3: one early peak within the first 500 steps in the figure files");
    ac_claim_add(res, "mean ||W_fin||", "", NAN, ac_trial_stat(set, "wfin_norm", 0).mean, AC_METRIC_INFO, 0.0,
                 "W_fin can be 0 (an SCC from one win each way)");
    ac_claim_row *g = ac_claim_add(res, "worst ||P_fin grad L_red(W_fin)||", "0", 0.0,
                                   ac_trial_stat(set, "gnorm", 0).max, AC_METRIC_INFO, 0.0,
                                   "Newton stops at " STR(AC_NEWTON_EPS_GRAD_DEFAULT) " in its coordinates");
    if (g) /* a residual below the stop: its digits are the summation order's (4.7e-17 here, 6.6e-17
            * in a baseline from another machine) */
        g->regress_abs = AC_NEWTON_EPS_GRAD_DEFAULT;
    ac_figure *f = ac_claim_add_figure(res, "svm-finite-component", "||P_fin W(t) - W_fin||, cyclic TPGs", "step t",
                                       "||P_fin W(t) - W_fin||", 0, 1);
    ac_trial_band(f, "NGD, exact W_fin (mean, min-max)", set, "t_ngd", "ngd", 0);
    ac_trial_band(f, "NGD, authors' NGD-trained W_fin (mean, min-max)", set, "t_ngd", "auth", 1);
    f = ac_claim_add_figure(res, "svm-finite-component-gd", "||P_fin W(t) - W_fin||, plain GD, cyclic TPGs",
                            "step t", "||P_fin W(t) - W_fin||", 1, 1);
    ac_trial_band(f, "plain GD lr 1 (mean, min-max)", set, "t_gd", "gd", 1);
    return AC_OK;
}

/* The vectors every trial of svm.finite-component records (ac_trial_def.vectors). */
static const char *const finite_vectors[] = {
    "auth", "auth_sq_end", "corr_dec", "gd", "gd_end", "gnorm", "ngd", "ngd_end", "t_gd", "t_ngd", "wfin_norm",
    NULL
};
static const ac_trial_def finite_trials = {
    .ntrials = trials_cyclic, .trial = trial_finite, .rows = rows_finite,
    .vectors = finite_vectors};

/* ---- svm.retrieval (spec §2, §3.3) ------------------------------------- */

/* Held-out sequences drawn by the generator's rule whose tokens all lie in
 * G^(k) and have a top SCC that reaches the others (then W_svm gives every
 * other token a margin >= 1, spec §3.1).  Hard retrieval: attention mass
 * outside that SCC.  Soft composition: inside it, the attention per token
 * against the distribution W_fin predicts. */
/* Per held-out sequence into rec: "leak" (mass outside the top SCC at W),
 * "pred" (what W_fin + R W_svm gives) and, for those with two or more
 * distinct top-SCC tokens, "soft" (max_j |attention on j - p_fin(j)| inside
 * the top SCC) with "soft_bound" = expm1(2 ||P_fin W - W_fin||) + leak, the
 * bound the identity gives (within an SCC the logit differences of W are
 * those of P_fin W, which differ from W_fin's by at most 2 ||P_fin W - W_fin||
 * for unit tokens; a softmax moves by at most expm1 of that, plus the mass
 * leaked out of the SCC). */
static ac_status retrieval_end(const ac_svm_instance *I, const double *W, const ac_svm_heldout *h, ac_trial_record *rec)
{
    int K = I->K, T = h->T, nsoft = 0, dd = I->d * I->d;
    double *mass = malloc(sizeof(double) * (size_t)K * 2), *U = malloc(sizeof(double) * (size_t)K * K * 3);
    double *out = malloc(sizeof(double) * AC_SVM_HELDOUT_SEQS * 4), *P = malloc(sizeof(double) * (size_t)dd);
    if (!mass || !U || !out || !P) {
        free(mass), free(U), free(out), free(P);
        return AC_ENOMEM;
    }
    double *p = mass + K, *Up = U + (size_t)K * K, *leak = out, *pred = leak + AC_SVM_HELDOUT_SEQS,
           *soft = pred + AC_SVM_HELDOUT_SEQS, *bound = soft + AC_SVM_HELDOUT_SEQS;
    ac_tpg_token_logits(I->E, K, I->d, I->th.Wfin, U);
    /* the decomposition's logits at the trained scale: U_fin + R U_svm, R
     * fitted to W (spec §3.3), for the leakage the theory predicts there */
    double R = ac_svm_decomposition_R(I, W);
    ac_tpg_token_logits(I->E, K, I->d, I->th.Wsvm, Up + (size_t)K * K);
    for (int i = 0; i < K * K; i++)
        Up[i] = U[i] + R * Up[(size_t)K * K + i];
    ac_status st = ac_tpg_sfin_project(I->th.S, W, P, NULL);
    double fin = ac_la_dist(P, I->th.Wfin, dd);
    for (int s = 0; s < h->n && st == AC_OK; s++) {
        const int *tok = h->tok + (size_t)s * T;
        int top = h->top[s], distinct = 0;
        ac_svm_model_attention(tok, T, I->E, K, I->d, W, mass);
        double in = 0.0, dev = 0.0;
        ac_tpg_soft_composition(I->th.G, U, tok, T, top, p);
        for (int j = 0; j < K; j++)
            if (mass[j] > 0.0 && ac_svm_in_top(I->th.G, tok, T, top, j)) {
                in += mass[j];
                distinct++;
                dev = ac_max_keep_nan(dev, fabs(mass[j] - p[j]));
            }
        leak[s] = 1.0 - in;
        pred[s] = ac_svm_predicted_leak(I->th.G, Up, tok, T, top);
        if (distinct >= 2) {
            soft[nsoft] = dev;
            bound[nsoft++] = expm1(2.0 * fin) + leak[s];
        }
    }
    ac_trial_put(rec, "leak", h->n, leak);
    ac_trial_put(rec, "pred", h->n, pred);
    ac_trial_put(rec, "soft", nsoft, soft);
    ac_trial_put(rec, "soft_bound", nsoft, bound);
    free(mass), free(U), free(out), free(P);
    return st;
}

/* The rate is judged over the second half of the run (spec §4.2):
 * RATE_POINTS checkpoints evenly over [steps/2, steps].  A rate still
 * settling there widens its own tolerance (the drift term of
 * ac_svm_rate_judge) rather than being continued. */
#define RATE_POINTS (NCHECK / 2 + 1)

static ac_status retrieval_rate(const ac_svm_instance *I, const ac_svm_trajectory *traj, const ac_svm_heldout *h,
                                ac_trial_record *rec, ac_msg *msg)
{
    int dd = I->d * I->d, nc = RATE_POINTS, nrate = 0;
    double m = NAN, *out = malloc(sizeof(double) * (size_t)nc * 4);
    if (!out)
        return ac_fail(msg, AC_ENOMEM, "no memory for the retrieval rate");
    ac_status st = ac_svm_rate_window(I, h, traj->W + (size_t)(traj->ncp - nc) * dd, nc, &m, &nrate, out);
    if (st == AC_OK) {
        ac_trial_put1(rec, "m", nrate > 0 ? m : NAN);
        ac_trial_put1(rec, "rate_n", nrate);
        ac_trial_put(rec, "rate_R", nc, out);
        ac_trial_put(rec, "rate_leak", nc, out + nc);
        ac_trial_put(rec, "rate_leak_pred", nc, out + 2 * nc);
        ac_trial_put(rec, "rate_delta", nc, out + 3 * nc);
    }
    free(out);
    return st;
}

static ac_status trial_retrieval(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    ac_svm_setup su = setup_of("cyclic", o->size);
    ac_svm_train_settings ts = train_settings(&su, 1, AC_SVM_HEAD_IDENTITY);
    ac_svm_instance I;
    ac_svm_trajectory traj = {0};
    ac_status st = draw_theory(t, t->r, &su, AC_SVM_GEN_CYCLIC, &I, msg);
    if (st == AC_OK)
        st = train(t, &I, t->r, &ts, &traj, msg);
    ac_svm_heldout h = {0};
    ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
    if (st == AC_OK)
        st = ac_svm_heldout_draw(&I, t->r, su.T, &h);
    if (st == AC_OK)
        st = retrieval_end(&I, traj.W + (size_t)NCHECK * I.d * I.d, &h, t->rec);
    if (st == AC_OK)
        st = retrieval_rate(&I, &traj, &h, t->rec, msg);
    ac_trial_enter(t, AC_TRIAL_OTHER);
    ac_svm_heldout_clear(&h);
    ac_svm_trajectory_clear(&traj);
    ac_svm_instance_clear(&I);
    return st;
}

/* The sum of every entry of vector name over the records, in order, and
 * the number of entries. */
static double sum_all(const ac_trial_set *set, const char *name, long *count)
{
    double s = 0.0;
    *count = 0;
    for (int i = 0; i < set->nrec; i++) {
        const ac_trial_vec *e = ac_trial_get(&set->rec[i], name);
        for (int k = 0; e && k < e->n; k++)
            s += e->v[k];
        *count += e ? e->n : 0;
    }
    return s;
}

/* The soft-composition identity's rounding: softmax weights over T <= 64
 * positions and an expm1 are each right to a few DBL_EPSILON; 1e-12 is far
 * above that and far below any violation worth the name. */
#define TOL_SOFT_IDENTITY 1e-12

static ac_status rows_retrieval(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)msg;
    ac_svm_setup su = setup_of("cyclic", o->size);
    long nseq, nsoft, npred;
    double leak_sum = sum_all(set, "leak", &nseq), soft_sum = sum_all(set, "soft", &nsoft),
           pred_sum = sum_all(set, "pred", &npred);
    setup_text(res, "cyclic TPGs", &su, "cyclic", o->seed,
               "NGD lr %g, %d steps; up to %d held-out sequences per trial drawn after training; rate fitted on "
               "%d iterates over steps %d-%d",
               su.lr, su.steps, AC_SVM_HELDOUT_SEQS, RATE_POINTS, su.steps / 2, su.steps);
    double worst = -INFINITY, slope_sum = 0.0, m_min = INFINITY, delta = 0.0, soft_excess = -INFINITY;
    int nfit = 0;
    for (int i = 0; i < set->nrec; i++) {
        const ac_trial_record *r = &set->rec[i];
        const ac_trial_vec *sv = ac_trial_get(r, "soft"), *sb = ac_trial_get(r, "soft_bound");
        for (int k = 0; sv && sb && k < sv->n && k < sb->n; k++)
            soft_excess = ac_max_keep_nan(soft_excess, sv->v[k] - sb->v[k]);
        const ac_trial_vec *R = ac_trial_get(r, "rate_R"), *L = ac_trial_get(r, "rate_leak"),
                           *d = ac_trial_get(r, "rate_delta");
        if (!(ac_trial_get1(r, "rate_n", 0) > 0) || !R || !L || !d || R->n != L->n)
            continue;
        double m = ac_trial_get1(r, "m", 0);
        ac_svm_rate v = ac_svm_rate_judge(R->v, L->v, L->n, m);
        double q = v.dev / v.tol;
        worst = ac_max_keep_nan(worst, q);
        slope_sum += v.slope;
        m_min = ac_min_keep_nan(m_min, m);
        for (int c = 0; c < d->n; c++)
            delta = ac_max_keep_nan(delta, d->v[c]);
        nfit++;
    }
    ac_claim_add(res, "worst-trial |slope of ln(held-out leakage) against R + m| / tolerance",
                 "0 (leakage ~ exp(-R m), m from W_svm alone)", 0.0, nfit ? worst : NAN, AC_METRIC_AT_MOST, 1.0,
                 "spec 4.2 Held-out sequences: per trial, tolerance 3 se of the fit + the change of the slope "
                 "between the window's halves + 1/(e mean R), the finite-R bias of a rate exp(-R m)");
    ac_claim_add(res, "mean slope of ln(held-out leakage) against R", "-m", NAN, nfit ? slope_sum / nfit : NAN,
                 AC_METRIC_INFO, 0.0, "R = <W - W_fin, W_svm> / ||W_svm||^2 at each iterate of the window");
    add_count(res, "trials without a rate fit (no held-out sequence has a token outside its top SCC)", "",
              (double)(set->nrec - nfit), "left out of the slope rows above; every trial is in the rows below");
    ac_claim_add(res, "smallest held-out logit gap m from W_svm", ">= 1 (a top SCC that reaches the rest)", NAN,
                 nfit ? m_min : NAN, AC_METRIC_INFO, 0.0, "theory side, W_svm alone");
    ac_claim_add(res, "worst delta = max |x_t^T (W - W_fin - R W_svm) xbar| over the fit window", "", NAN,
                 nfit ? delta : NAN, AC_METRIC_INFO, 0.0,
                 "spec 4.2: softmax weights under W lie within e^{+-2 delta} of those under W_fin + R W_svm "
                 "(an identity, not a test)");
    ac_claim_add(res, "mean attention mass outside the top SCC, held-out sequences", "0 (hard retrieval)", 0.0,
                 nseq ? leak_sum / nseq : NAN, AC_METRIC_INFO, 0.0,
                 "spec 4.2: no finite-time bound on held-out sequences; judged by its rate above");
    ac_claim_add(res, "mean mass outside the top SCC that W_fin + R W_svm gives (R fitted to W)", "", NAN,
                 npred ? pred_sum / npred : NAN, AC_METRIC_INFO, 0.0,
                 "the decomposition's leakage at the trained scale, beside the measured one");
    ac_claim_add(res, "worst max_j |attention on j - p_fin(j)| - (expm1(2 ||P_fin W - W_fin||) + leakage)",
                 "<= 0 (soft composition)", 0.0, nsoft ? soft_excess : NAN, AC_METRIC_AT_MOST, TOL_SOFT_IDENTITY,
                 "exact: inside an SCC the logit differences of W are those of P_fin W, within 2 ||P_fin W - "
                 "W_fin|| of W_fin's for unit tokens; rounding only");
    ac_claim_add(res, "mean max_j |attention on j - p_fin(j)| inside the top SCC", "0 (soft composition)", 0.0,
                 nsoft ? soft_sum / nsoft : NAN, AC_METRIC_INFO, 0.0, "bounded per sequence by the row above");
    add_count(res, "held-out sequences with a top SCC", "", (double)nseq, "");
    add_count(res, "of which with two or more distinct top-SCC tokens", "", (double)nsoft, "");
    return AC_OK;
}

/* The vectors every trial of svm.retrieval records (ac_trial_def.vectors). */
static const char *const retrieval_vectors[] = {
    "leak", "m", "pred", "rate_R", "rate_delta", "rate_leak", "rate_leak_pred", "rate_n", "soft", "soft_bound",
    NULL
};
static const ac_trial_def retrieval_trials = {
    .ntrials = trials_cyclic, .trial = trial_retrieval, .rows = rows_retrieval,
    .vectors = retrieval_vectors};

/* ---- svm.norm-growth (spec §3.3) --------------------------------------- */

/* Least-squares slope of y against log t over the checkpoints with
 * t >= t_min. */
static double log_slope(const long *t, const double *y, int n, long t_min, long t_max)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int m = 0;
    for (int c = 0; c < n; c++) {
        if (t[c] < t_min || t[c] > t_max || t[c] <= 0)
            continue;
        double x = log((double)t[c]);
        sx += x, sy += y[c], sxx += x * x, sxy += x * y[c];
        m++;
    }
    return (m * sxy - sx * sy) / (m * sxx - sx * sx);
}

/* Relative slope error |b - ||W_svm||| / ||W_svm|| where b is the fitted
 * slope of ||W(t)|| against log t over the last decade of the run, and over
 * the decade before it (from steps / 100: the first checkpoint when
 * NCHECK = 100; other counts only change how many points each fit has). */
#define NORM_FIT_FROM_FRACTION 10
/* Plain GD on a log-type loss: W(t) = W_svm log t + rho(t) with rho(t)
 * converging (Soudry et al. 2018, Thm 3 for separable logistic regression;
 * spec §3.3 reports ||W|| = ||W_svm|| log t + O(1)).  Over a decade the
 * fitted slope then errs by the change of <rho, W_svm>/||W_svm|| over it,
 * / log 10, plus the orthogonal part's ||rho_perp||^2 / (2 ||W_svm|| log t),
 * whose change shrinks like 1/log^2 t: both fall from one decade to the
 * next as rho converges.  No constant bounds either at a finite t, so the
 * error over the last decade is shown, and its fall from the decade before
 * is judged. */

/* Trial i: plain GD on the acyclic and the cyclic instance of trial i, each
 * from the start of the seed S + i.  Record: "t", and per mode "ratio_<mode>"
 * (||W(t)|| / ||W_svm|| at every checkpoint) and "err_<mode>". */
static ac_status trial_norm_growth(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    ac_svm_setup gd = setup_of("plain-gd", o->size);
    ac_svm_train_settings ts = train_settings(&gd, 0, AC_SVM_HEAD_IDENTITY);
    int ncp = NCHECK + 1;
    ac_status st = AC_OK;
    for (int m = 0; m < 2 && st == AC_OK; m++) {
        gsl_rng *r;
        ac_svm_instance I;
        ac_svm_trajectory traj = {0};
        st = pair_draw(t, m, o->size, &r, &I, msg);
        int dd = I.d * I.d;
        if (st == AC_OK)
            st = train(t, &I, r, &ts, &traj, msg);
        char name[AC_TRIAL_NAME];
        snprintf(name, sizeof name, "ratio_%s", pair_modes[m]);
        double *wn = st == AC_OK ? ac_trial_put(t->rec, name, ncp, NULL) : NULL;
        if (wn) {
            double ns = ac_la_nrm2(I.th.Wsvm, dd);
            for (int c = 0; c < ncp; c++)
                wn[c] = ac_la_nrm2(traj.W + (size_t)c * dd, dd) / ns;
            /* in units of ||W_svm|| the predicted slope is exactly 1 */
            long t1 = ts.steps / NORM_FIT_FROM_FRACTION;
            double err = fabs(log_slope(traj.t, wn, ncp, t1, LONG_MAX) - 1.0);
            double prev = fabs(log_slope(traj.t, wn, ncp, t1 / NORM_FIT_FROM_FRACTION, t1) - 1.0);
            snprintf(name, sizeof name, "err_%s", pair_modes[m]);
            ac_trial_put1(t->rec, name, err);
            snprintf(name, sizeof name, "err_prev_%s", pair_modes[m]);
            ac_trial_put1(t->rec, name, prev);
            if (m == 0)
                put_steps(t->rec, "t", &traj);
        }
        ac_svm_trajectory_clear(&traj);
        pair_clear(t, r, &I);
    }
    return st;
}

static ac_status rows_norm_growth(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res,
                                  ac_msg *msg)
{
    (void)msg;
    ac_svm_setup gd = setup_of("plain-gd", o->size), su[2] = {setup_of("acyclic", o->size),
                                                               setup_of("cyclic", o->size)};
    int ncp = NCHECK + 1;
    snprintf(res->setup, sizeof res->setup,
             "plain GD, lr %g, %d steps, on the acyclic (n=%d T=%d K=%d d=%d) and cyclic (n=%d T=%d K=%d "
             "d=%d) instances, %d trials each, seeds %lu+i; slope of ||W(t)|| against log t fitted over "
             "t >= %d (the last decade) and over %d <= t <= %d (the decade before)",
             gd.lr, gd.steps, su[0].n, su[0].T, su[0].K, su[0].d, su[1].n, su[1].T, su[1].K, su[1].d, gd.trials,
             o->seed, gd.steps / NORM_FIT_FROM_FRACTION,
             gd.steps / (NORM_FIT_FROM_FRACTION * NORM_FIT_FROM_FRACTION), gd.steps / NORM_FIT_FROM_FRACTION);
    for (int m = 0; m < 2; m++) {
        char q[160], name[AC_TRIAL_NAME];
        snprintf(name, sizeof name, "err_prev_%s", pair_modes[m]);
        ac_trial_stats sp = ac_trial_stat(set, name, 0);
        snprintf(name, sizeof name, "err_%s", pair_modes[m]);
        ac_trial_stats s = ac_trial_stat(set, name, 0);
        snprintf(q, sizeof q, "%s: mean |slope/||W_svm|| - 1|", pair_modes[m]);
        ac_claim_add(res, q, "0 (||W(t)|| ~ ||W_svm|| log t)", 0.0, s.mean, AC_METRIC_INFO, 0.0,
                     "over the last decade of the run: the distance to the limit at one finite time, shown");
        snprintf(q, sizeof q, "%s: mean |slope/||W_svm|| - 1| over the last decade / over the decade before",
                 pair_modes[m]);
        ac_claim_add(res, q, "< 1 (the slope tends to ||W_svm||)", 1.0, s.mean / sp.mean, AC_METRIC_AT_MOST, 0.0,
                     "W(t) = W_svm log t + rho(t), rho converging (Soudry et al. 2018): the slope's error over a "
                     "decade, the change of rho over it and a term ~ 1/log^2 t, falls from decade to decade; the "
                     "mean over trials, since one trial's signed error can pass through 0 within a decade");
        snprintf(q, sizeof q, "%s: worst |slope/||W_svm|| - 1|", pair_modes[m]);
        ac_claim_add(res, q, "0", 0.0, s.max, AC_METRIC_INFO, 0.0,
                     "information: a per-trial bound would be read off runs (rho(t) converges more slowly on "
                     "some instances); the mean's fall is judged");
    }
    ac_figure *f = ac_claim_add_figure(res, "svm-norm-growth", "||W(t)|| / ||W_svm|| under plain GD", "step t",
                                       "||W(t)|| / ||W_svm||", 1, 0);
    ac_trial_band(f, "acyclic (mean, min-max)", set, "t", "ratio_acyclic", 1);
    ac_trial_band(f, "cyclic (mean, min-max)", set, "t", "ratio_cyclic", 1);
    /* the theory's slope: 1 per unit of log t, anchored at the acyclic mean
     * at the end of the run */
    double x[2], y[2], end = 0.0, tend = first_value(set, "t", ncp - 1);
    for (int i = 0; i < set->nrec; i++)
        end += ac_trial_get1(&set->rec[i], "ratio_acyclic", ncp - 1) / set->nrec;
    x[0] = tend / NORM_FIT_FROM_FRACTION / 10.0;
    x[1] = tend;
    y[0] = end - log(x[1] / x[0]);
    y[1] = end;
    ac_figure_add_series(f, "theory slope ||W_svm|| per unit log t", 2, x, y, NULL, NULL);
    return AC_OK;
}

/* The vectors every trial of svm.norm-growth records (ac_trial_def.vectors). */
static const char *const norm_growth_vectors[] = {
    "err_acyclic", "err_cyclic", "err_prev_acyclic", "err_prev_cyclic", "ratio_acyclic", "ratio_cyclic", "t", NULL
};
static const ac_trial_def norm_growth_trials = {
    .ntrials = trials_cyclic, .trial = trial_norm_growth, .rows = rows_norm_growth,
    .vectors = norm_growth_vectors};

/* ---- svm.local-head (spec §4.4) ----------------------------------------- */

/* The authors' selection thresholds (spec §4.4): a token is selected when
 * its attention mass exceeds 1e-2 and left out of the local graph when it is
 * in (9e-3, 1e-2]. */
#define LOCAL_SELECTED 1e-2
#define LOCAL_EXCLUDED 9e-3

/* The local dataset: for example i and each token a that GD selects, an
 * example with label a over the tokens of X_i that are not excluded (the
 * last token always kept: it names the graph).  Its Graph-SVM is the local
 * Graph-SVM.  This is the one place where the theory side takes an input
 * from the experiment: the local result is conditional on the selected set. */
static ac_status local_dataset(const ac_svm_instance *I, const double *W, ac_tpg_data **out)
{
    int K = I->K, n = I->D->n, nnew = 0, ntok = 0;
    double *mass = malloc(sizeof(double) * (size_t)K * n);
    if (!mass)
        return AC_ENOMEM;
    for (int i = 0; i < n; i++) {
        const int *tok = I->D->tok + I->D->off[i];
        int len = I->D->off[i + 1] - I->D->off[i];
        ac_svm_model_attention(tok, len, I->E, K, I->d, W, mass + (size_t)i * K);
        for (int j = 0; j < K; j++)
            if (mass[(size_t)i * K + j] > LOCAL_SELECTED)
                nnew++, ntok += len;
    }
    ac_tpg_data *L = ac_tpg_data_alloc(nnew, ntok, K);
    if (!L) {
        free(mass);
        return AC_ENOMEM;
    }
    int e = 0, p = 0;
    for (int i = 0; i < n; i++) {
        const int *tok = I->D->tok + I->D->off[i];
        int len = I->D->off[i + 1] - I->D->off[i];
        const double *mi = mass + (size_t)i * K;
        for (int a = 0; a < K; a++) {
            if (!(mi[a] > LOCAL_SELECTED))
                continue;
            for (int t = 0; t < len; t++) {
                double mt = mi[tok[t]];
                if (t == len - 1 || !(mt > LOCAL_EXCLUDED && mt <= LOCAL_SELECTED))
                    L->tok[p++] = tok[t];
            }
            L->label[e] = a;
            L->off[++e] = p;
        }
    }
    free(mass);
    *out = L;
    return AC_OK;
}

static ac_status local_svm(const ac_tpg_data *L, const double *E, int d, double *W, ac_msg *msg)
{
    ac_tpg *G = NULL;
    ac_tpg_cons C = {0};
    ac_qp_info info;
    ac_tpg_svm_settings ss;
    ac_tpg_svm_settings_default(&ss);
    ac_status st = ac_tpg_build(L, &G, msg);
    if (st == AC_OK)
        st = ac_tpg_constraints(G, &C, msg);
    if (st == AC_OK)
        st = ac_tpg_svm(G, &C, E, d, &ss, W, NULL, NULL, &info, msg);
    if (st == AC_OK && info.status != AC_QP_SOLVED)
        st = ac_fail(msg, AC_ENOCONV, "local Graph-SVM solve ended %s", ac_qp_status_str(info.status));
    ac_tpg_cons_clear(&C);
    ac_tpg_free(G);
    return st;
}

/* Record: "cl" and "cg", corr(W, local Graph-SVM) and corr(W, the labels'
 * Graph-SVM) at the end of the run. */
static ac_status trial_local_head(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    ac_svm_setup su = setup_of("local", o->size);
    ac_svm_train_settings ts = train_settings(&su, 1, AC_SVM_HEAD_GENERAL_LSQ);
    int dd = su.d * su.d;
    double *Wl = malloc(sizeof(double) * (size_t)dd);
    ac_svm_instance I;
    ac_svm_trajectory traj = {0};
    ac_tpg_data *L = NULL;
    ac_status st = draw_theory(t, t->r, &su, AC_SVM_GEN_CYCLIC, &I, msg);
    if (st == AC_OK && !Wl)
        st = ac_fail(msg, AC_ENOMEM, "no memory");
    if (st == AC_OK)
        st = train(t, &I, t->r, &ts, &traj, msg);
    ac_trial_enter(t, AC_TRIAL_THEORY); /* the local Graph-SVM */
    const double *Wend = traj.W ? traj.W + (size_t)NCHECK * dd : NULL;
    if (st == AC_OK)
        st = local_dataset(&I, Wend, &L);
    if (st == AC_OK)
        st = local_svm(L, I.E, I.d, Wl, msg);
    ac_trial_enter(t, AC_TRIAL_OTHER);
    if (st == AC_OK) {
        ac_trial_put1(t->rec, "cl", ac_svm_corr(Wend, Wl, dd));
        ac_trial_put1(t->rec, "cg", ac_svm_corr(Wend, I.th.Wsvm, dd));
    }
    ac_tpg_data_free(L);
    ac_svm_trajectory_clear(&traj);
    ac_svm_instance_clear(&I);
    free(Wl);
    return st;
}

static int trials_local(const ac_run_opts *o)
{
    return setup_of("local", o->size).trials;
}

static ac_status rows_local_head(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res,
                                 ac_msg *msg)
{
    (void)msg;
    ac_svm_setup su = setup_of("local", o->size);
    setup_text(res, "cyclic TPGs", &su, "cyclic", o->seed,
               "general head E X^T s with loss (1 - softmax_y)^2, NGD lr %g, %d steps; selected tokens: "
               "attention > %g",
               su.lr, su.steps, LOCAL_SELECTED);
    ac_trial_stats sl = ac_trial_stat(set, "cl", 0), sg = ac_trial_stat(set, "cg", 0);
    ac_claim_add(res, "mean corr(W, local Graph-SVM from the selected tokens)", "1", 1.0, sl.mean, AC_METRIC_INFO,
                 0.0,
                 "shown: the selected tokens are read off W at the end, as the authors do (spec 4.4), so the theory "
                 "takes an input from the experiment; the authors' outputs: mean 0.998.  Judged against the "
                 "labels' Graph-SVM, next row (1 - corr with the local one levels off near 1e-3 under NGD's fixed "
                 "step, so no trend is judged)");
    ac_claim_add(res, "mean corr(W, local) - mean corr(W, Graph-SVM from the labels)",
                 "> 0 (the labels' Graph-SVM does not predict GD)", 0.0, sl.mean - sg.mean, AC_METRIC_AT_LEAST, 0.0,
                 "spec 4.4 Accept: strictly above");
    ac_claim_add(res, "mean corr(W, Graph-SVM from the labels)", "", NAN, sg.mean, AC_METRIC_INFO, 0.0,
                 "shown for comparison");
    ac_claim_add(res, "worst-trial corr(W, local Graph-SVM)", "1", 1.0, sl.min, AC_METRIC_INFO, 0.0, "");
    return AC_OK;
}

/* The vectors every trial of svm.local-head records (ac_trial_def.vectors). */
static const char *const local_head_vectors[] = {"cg", "cl", NULL};
static const ac_trial_def local_head_trials = {
    .ntrials = trials_local, .trial = trial_local_head, .rows = rows_local_head,
    .vectors = local_head_vectors};

/* ---- svm.high-precision (spec §7) --------------------------------------- */

/* The grid s = 2^0 .. 2^HP_GRID_LOG2 along W_fin + s W_svm: past s ~ 37 the
 * double softmax gives the top SCC mass exactly 1 and the loss's decrease is
 * below one ulp of L_inf; by s = 1024 exp(-s) is far below DBL_MIN. */
#define HP_GRID_LOG2 10
#define HP_NGRID (HP_GRID_LOG2 + 1)

/* W_svm gives the tokens of one SCC equal logits (its equality constraints);
 * E W_svm E^T in double keeps that only to ~1e-15, which s = 1024 turns into
 * within-SCC logit gaps of 1e-12: far above the e^{-s} effect under test.
 * Set each SCC's entries to the value of its smallest token, exactly. */
static void snap_equalities(const ac_tpg *G, double *U1)
{
    int K = G->K;
    for (int g = 0; g < G->ngraph; g++) {
        int k = G->last[g];
        for (int j = 0; j < K; j++)
            for (int a = 0; a < j; a++)
                if (G->comp[(size_t)g * K + a] == G->comp[(size_t)g * K + j]) {
                    U1[(size_t)j * K + k] = U1[(size_t)a * K + k];
                    break;
                }
    }
}

/* Digits the double x shares with the exact value v: -log10 |x - v| / |v|,
 * computed at v's precision, within [0, 17]. */
static double digits_mp(double x, const mpfr_t v)
{
    if (mpfr_zero_p(v))
        return x == 0.0 ? 17.0 : 0.0;
    mpfr_t e;
    mpfr_init2(e, 64);
    mpfr_d_sub(e, x, v, MPFR_RNDN);
    mpfr_div(e, e, v, MPFR_RNDN);
    mpfr_abs(e, e, MPFR_RNDN);
    double r = 17.0;
    if (!mpfr_zero_p(e)) {
        mpfr_log10(e, e, MPFR_RNDN);
        r = -mpfr_get_d(e, MPFR_RNDN);
    }
    mpfr_clear(e);
    /* digits are a coarse measure: to one decimal, so that rounding noise
     * around 0 or 17 does not read as a change */
    return round(10.0 * fmin(17.0, fmax(0.0, r))) / 10.0;
}

typedef struct {
    double s[HP_NGRID], Lmp[HP_NGRID], gmp[HP_NGRID], Ld[HP_NGRID], gd[HP_NGRID];
    double dig_L[HP_NGRID], dig_g[HP_NGRID];
    int mp_nondecr, mp_nonneg, d_nondecr;
    double first_flat;   /* smallest s where the double L stops decreasing */
    double err_ratio;    /* worst |L_d - L_mp| / rounding bound */
    long prec;
} hp_line;

/* L and dL/ds along U0 + s U1 in double and at prec bits, for one instance.
 * The double bound: every per-example loss is a log-sum-exp of at most
 * T + 1 terms of size <= max|U(s)| + log T, each rounded at DBL_EPSILON, so
 * |L_d - L_mp| <= 32 DBL_EPSILON (1 + max|U(s)| + log T) T. */
static ac_status hp_trace(const ac_svm_instance *I, hp_line *h)
{
    int K = I->K, Tmax = 1;
    double *U = malloc(sizeof(double) * (size_t)K * K * 2), u1max = 0.0, u0max = 0.0;
    if (!U)
        return AC_ENOMEM;
    double *U1 = U + (size_t)K * K;
    ac_tpg_token_logits(I->E, K, I->d, I->th.Wfin, U);
    ac_tpg_token_logits(I->E, K, I->d, I->th.Wsvm, U1);
    snap_equalities(I->th.G, U1);
    /* fmax here sizes the precision only (ceil of a NaN would be undefined
     * as a long); a NaN U makes L_d NaN, and err_ratio keeps it. */
    for (int i = 0; i < K * K; i++) {
        u0max = fmax(u0max, fabs(U[i]));
        u1max = fmax(u1max, fabs(U1[i]));
    }
    for (int i = 0; i < I->D->n; i++)
        Tmax = I->D->off[i + 1] - I->D->off[i] > Tmax ? I->D->off[i + 1] - I->D->off[i] : Tmax;
    double smax = ldexp(1.0, HP_GRID_LOG2);
    /* resolve e^{-2 s max|U1|} below L_inf: 2 s max|U1| / ln 2 bits, plus a
     * double's 53 and a margin of 64 */
    h->prec = 117 + (long)ceil(2.0 * smax * u1max / log(2.0));
    mpfr_t L, g, prev;
    mpfr_init2(L, (mpfr_prec_t)h->prec);
    mpfr_init2(g, (mpfr_prec_t)h->prec);
    mpfr_init2(prev, (mpfr_prec_t)h->prec);
    ac_status st = AC_OK;
    h->err_ratio = 0.0;
    for (int j = 0; j < HP_NGRID && st == AC_OK; j++) {
        double s = ldexp(1.0, j);
        h->s[j] = s;
        st = ac_tpg_loss_line_mpfr(I->D, U, U1, s, I->D->n, L, g, &h->Lmp[j], &h->gmp[j], (mpfr_prec_t)h->prec);
        if (st == AC_OK)
            st = ac_tpg_loss_line(I->D, U, U1, s, I->D->n, &h->Ld[j], &h->gd[j]);
        if (st != AC_OK)
            break;
        h->dig_L[j] = digits_mp(h->Ld[j], L);
        h->dig_g[j] = digits_mp(h->gd[j], g);
        double bound = 32.0 * DBL_EPSILON * (1.0 + u0max + s * u1max + log(Tmax)) * Tmax;
        h->err_ratio = ac_max_keep_nan(h->err_ratio, fabs(h->Ld[j] - h->Lmp[j]) / bound);
        if (mpfr_sgn(g) >= 0)
            h->mp_nonneg++;
        if (j > 0) {
            /* compared at prec bits: the values differ below double resolution */
            h->mp_nondecr += mpfr_cmp(L, prev) >= 0;
            if (!(h->Ld[j] < h->Ld[j - 1])) {
                h->d_nondecr++;
                if (isnan(h->first_flat))
                    h->first_flat = s;
            }
        }
        mpfr_set(prev, L, MPFR_RNDN);
    }
    mpfr_clear(L);
    mpfr_clear(g);
    mpfr_clear(prev);
    free(U);
    return st;
}

static void hp_rows(ac_claim_result *res, const char *mode, const hp_line *h)
{
    char q[200];
    ac_claim_row *r;
    snprintf(q, sizeof q, "%s: grid steps where the %ld-bit L(W_fin + s W_svm) does not decrease", mode, h->prec);
    r = ac_claim_add(res, q, "0 (L decreases in s: W_svm has margin >= 1)", 0.0, h->mp_nondecr, AC_METRIC_AT_MOST,
                     0.0, "exact: compared at a precision that resolves e^{-2 s max|U_svm|}");
    if (r)
        r->is_count = 1;
    snprintf(q, sizeof q, "%s: grid points where the %ld-bit dL/ds >= 0", mode, h->prec);
    r = ac_claim_add(res, q, "0 (dL/ds < 0)", 0.0, h->mp_nonneg, AC_METRIC_AT_MOST, 0.0, "exact, as above");
    if (r)
        r->is_count = 1;
    snprintf(q, sizeof q, "%s: worst |L_double - L_mpfr| / rounding bound", mode);
    ac_claim_add(res, q, "0 (the double code is right to rounding)", 0.0, h->err_ratio, AC_METRIC_AT_MOST, 1.0,
                 "the rounding bound 32 eps (1 + max|U(s)| + log T) T of log-sum-exps of T terms");
    snprintf(q, sizeof q, "%s: grid steps where the double L does not decrease", mode);
    r = ac_claim_add(res, q, "", NAN, h->d_nondecr, AC_METRIC_INFO, 0.0, "where double saturates");
    if (r)
        r->is_count = 1;
    snprintf(q, sizeof q, "%s: smallest s where the double L stops decreasing", mode);
    ac_claim_add(res, q, "", NAN, h->first_flat, AC_METRIC_INFO, 0.0, "NaN: never on this grid");
    snprintf(q, sizeof q, "%s: digits of L the double keeps at s = %g", mode, h->s[HP_NGRID - 1]);
    ac_claim_add(res, q, "", NAN, h->dig_L[HP_NGRID - 1], AC_METRIC_INFO, 0.0, "");
    snprintf(q, sizeof q, "%s: digits of dL/ds the double keeps at s = %g", mode, h->s[HP_NGRID - 1]);
    ac_claim_add(res, q, "", NAN, h->dig_g[HP_NGRID - 1], AC_METRIC_INFO, 0.0,
                 "0 once exp(-s margin) underflows");
}

/* The one trial: trial 0's acyclic and cyclic instances, each from the start
 * of the seed S.  Record per mode "<mode>.s", ".dig_L", ".dig_g" along the
 * grid and ".counts" = {mp_nondecr, mp_nonneg, d_nondecr, first_flat,
 * err_ratio, prec}. */
static ac_status trial_high_precision(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    ac_status st = AC_OK;
    for (int m = 0; m < 2 && st == AC_OK; m++) {
        gsl_rng *r;
        ac_svm_instance I;
        hp_line h;
        memset(&h, 0, sizeof h);
        h.first_flat = NAN;
        st = pair_draw(t, m, o->size, &r, &I, msg);
        ac_trial_enter(t, AC_TRIAL_EXPERIMENT); /* both evaluations: timed as the experiment side */
        if (st == AC_OK)
            st = hp_trace(&I, &h);
        ac_trial_enter(t, AC_TRIAL_OTHER);
        if (st == AC_OK) {
            char name[AC_TRIAL_NAME];
            double counts[6] = {h.mp_nondecr, h.mp_nonneg, h.d_nondecr, h.first_flat, h.err_ratio, (double)h.prec};
            snprintf(name, sizeof name, "%s.s", pair_modes[m]);
            ac_trial_put(t->rec, name, HP_NGRID, h.s);
            snprintf(name, sizeof name, "%s.dig_L", pair_modes[m]);
            ac_trial_put(t->rec, name, HP_NGRID, h.dig_L);
            snprintf(name, sizeof name, "%s.dig_g", pair_modes[m]);
            ac_trial_put(t->rec, name, HP_NGRID, h.dig_g);
            snprintf(name, sizeof name, "%s.counts", pair_modes[m]);
            ac_trial_put(t->rec, name, 6, counts);
        }
        pair_clear(t, r, &I);
    }
    return st;
}

static int trials_one(const ac_run_opts *o)
{
    (void)o;
    return 1;
}

static ac_status rows_high_precision(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res,
                                     ac_msg *msg)
{
    (void)msg;
    ac_svm_setup su[2] = {setup_of("acyclic", o->size), setup_of("cyclic", o->size)};
    const ac_trial_record *rec = &set->rec[0];
    snprintf(res->setup, sizeof res->setup,
             "trial 0 of the acyclic (n=%d T=%d K=%d d=%d) and cyclic (n=%d T=%d K=%d d=%d) claims, seed %lu; "
             "s = 1, 2, 4, ..., %g; the 'experiment' is the double evaluation, the 'theory' the MPFR one",
             su[0].n, su[0].T, su[0].K, su[0].d, su[1].n, su[1].T, su[1].K, su[1].d, o->seed,
             ldexp(1.0, HP_GRID_LOG2));
    hp_line h[2];
    for (int m = 0; m < 2; m++) {
        char name[AC_TRIAL_NAME];
        memset(&h[m], 0, sizeof h[m]);
        for (int j = 0; j < HP_NGRID; j++) {
            snprintf(name, sizeof name, "%s.s", pair_modes[m]);
            h[m].s[j] = ac_trial_get1(rec, name, j);
            snprintf(name, sizeof name, "%s.dig_L", pair_modes[m]);
            h[m].dig_L[j] = ac_trial_get1(rec, name, j);
            snprintf(name, sizeof name, "%s.dig_g", pair_modes[m]);
            h[m].dig_g[j] = ac_trial_get1(rec, name, j);
        }
        snprintf(name, sizeof name, "%s.counts", pair_modes[m]);
        h[m].mp_nondecr = (int)ac_trial_get1(rec, name, 0);
        h[m].mp_nonneg = (int)ac_trial_get1(rec, name, 1);
        h[m].d_nondecr = (int)ac_trial_get1(rec, name, 2);
        h[m].first_flat = ac_trial_get1(rec, name, 3);
        h[m].err_ratio = ac_trial_get1(rec, name, 4);
        h[m].prec = (long)ac_trial_get1(rec, name, 5);
        hp_rows(res, pair_modes[m], &h[m]);
    }
    ac_figure *f = ac_claim_add_figure(res, "svm-high-precision",
                                       "digits the double evaluation keeps along W_fin + s W_svm", "s",
                                       "digits shared with MPFR", 1, 0);
    for (int m = 0; m < 2; m++) {
        char lab[64];
        snprintf(lab, sizeof lab, "%s: L", pair_modes[m]);
        ac_figure_add_series(f, lab, HP_NGRID, h[m].s, h[m].dig_L, NULL, NULL);
        snprintf(lab, sizeof lab, "%s: dL/ds", pair_modes[m]);
        ac_figure_add_series(f, lab, HP_NGRID, h[m].s, h[m].dig_g, NULL, NULL);
    }
    return AC_OK;
}

/* The vectors every trial of svm.high-precision records (ac_trial_def.vectors). */
static const char *const high_precision_vectors[] = {
    "acyclic.counts", "acyclic.dig_L", "acyclic.dig_g", "acyclic.s", "cyclic.counts", "cyclic.dig_L",
    "cyclic.dig_g", "cyclic.s", NULL
};
static const ac_trial_def high_precision_trials = {
    .ntrials = trials_one, .trial = trial_high_precision, .rows = rows_high_precision,
    .vectors = high_precision_vectors};

/* ---- the table ---------------------------------------------------------- */

const ac_claim_def ac_svm_claims[AC_SVM_NCLAIMS] = {
    {.id = "svm.structure",
     .paper = "svm",
     .statement = "The Graph-SVM solution satisfies its constraints and KKT conditions, is orthogonal to S_fin; "
                  "acyclic data have S_fin = {0}; the reduced-loss gradient lies in S_fin; the loss is convex "
                  "(S1-S5)",
     .trials = &structure_trials},
    {.id = "svm.direction-acyclic",
     .paper = "svm",
     .statement = "On acyclic token-priority graphs, normalised GD's W(t) aligns with the Graph-SVM direction W_svm",
     .trials = &direction_acyclic_trials},
    {.id = "svm.direction-cyclic",
     .paper = "svm",
     .statement = "On cyclic token-priority graphs, W(t) aligns with W_svm, and W_fin + R W_svm describes it as well",
     .trials = &direction_cyclic_trials},
    {.id = "svm.finite-component",
     .paper = "svm",
     .statement = "The projection of W(t) on S_fin converges to the finite component W_fin, the minimiser of the "
                  "reduced loss",
     .trials = &finite_trials},
    {.id = "svm.retrieval",
     .paper = "svm",
     .statement = "On held-out sequences attention retrieves the top SCC (hard retrieval) and splits its mass "
                  "inside it as W_fin predicts (soft composition)",
     .trials = &retrieval_trials},
    {.id = "svm.norm-growth",
     .paper = "svm",
     .statement = "Under plain GD, ||W(t)|| grows like ||W_svm|| log t",
     .trials = &norm_growth_trials},
    {.id = "svm.local-head",
     .paper = "svm",
     .statement = "With a general head and squared loss, GD's direction is the Graph-SVM of the tokens it selects, "
                  "not the one of the labels",
     .trials = &local_head_trials},
    {.id = "svm.high-precision",
     .paper = "svm",
     .statement = "Along W_fin + s W_svm the loss keeps decreasing in s where double precision saturates (MPFR), "
                  "and the double evaluation is right to rounding",
     .trials = &high_precision_trials},
};
