/* paths.head-pruning and paths.digits through the trial harness
 * (verify/paths_net_claims.h), run through local claim rows (the paths
 * table holds the real ones), and every judged row under a planted
 * violation of known size. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "claim_compare.h"
#include "testutil.h"
#include "verify/paths_net_claims.h"
#include "verify/trial.h"

static const ac_claim_def pruning_def = {.id = "paths.head-pruning",
                                         .paper = "paths",
                                         .statement = AC_PATHS_PRUNING_STATEMENT,
                                         .trials = &ac_paths_pruning_trials};
static const ac_claim_def digits_def = {.id = "paths.digits",
                                        .paper = "paths",
                                        .statement = AC_PATHS_DIGITS_STATEMENT,
                                        .trials = &ac_paths_digits_trials};

static void need_digits(void)
{
    if (access(AC_PATHS_DIGITS_PATH, R_OK) != 0)
        cr_skip_test("%s missing: install %s (make deps)", AC_PATHS_DIGITS_PATH, AC_PATHS_DIGITS_PACKAGE);
}

/* Spearman's rho: 1 against itself and any increasing map of itself, -1
 * against its negation, and (no ties) 1 - 6 sum d^2 / (n (n^2 - 1)), the
 * textbook form reached by another route.  Rounding: sums of <= 64 ranks
 * squared, 1e-12. */
Test(paths_net_claims, spearman_identities)
{
    gsl_rng *r = ac_test_rng(2);
    for (int c = 0; c < ac_test_cases(20); c++) {
        int n = 2 + c % 9;
        double x[12], y[12], ex[12], nx[12];
        for (int i = 0; i < n; i++) {
            x[i] = gsl_ran_gaussian(r, 1.7312);
            y[i] = gsl_ran_gaussian(r, 1.0);
            ex[i] = exp(x[i]);
            nx[i] = -x[i];
        }
        cr_assert_float_eq(ac_paths_spearman(n, x, ex), 1.0, 1e-12, "case %d", c);
        cr_assert_float_eq(ac_paths_spearman(n, x, nx), -1.0, 1e-12, "case %d", c);
        double d2 = 0;
        for (int i = 0; i < n; i++) {
            int rx = 1, ry = 1;
            for (int j = 0; j < n; j++) {
                rx += x[j] < x[i];
                ry += y[j] < y[i];
            }
            d2 += (double)(rx - ry) * (rx - ry);
        }
        double want = 1.0 - 6.0 * d2 / (n * ((double)n * n - 1));
        cr_assert_float_eq(ac_paths_spearman(n, x, y), want, 1e-12, "case %d n %d", c, n);
    }
    double t[4] = {1, 1, 2, 3}, u[4] = {1.5, 1.5, 1.5, 1.5};
    cr_assert(isnan(ac_paths_spearman(4, t, u)), "a constant side has no correlation");
    cr_assert(isnan(ac_paths_spearman(1, t, t)));
    /* ties take their mean rank: (1, 1, 2, 3) ranks as (1.5, 1.5, 3, 4) */
    double rk[4] = {1.5, 1.5, 3, 4};
    cr_assert_float_eq(ac_paths_spearman(4, t, rk), 1.0, 1e-12);
    gsl_rng_free(r);
}

/* The rows from trials [0, k) and [k, n) run apart, written to JSON and read
 * back, then merged. */
static void split_rows(const ac_claim_def *cdef, const ac_run_opts *o, int k, ac_claim_result *res)
{
    const ac_trial_def *def = cdef->trials;
    int n = def->ntrials(o);
    ac_trial_set part[2];
    ac_msg msg = {{0}};
    for (int p = 0; p < 2; p++) {
        ac_trial_set_init(&part[p], cdef->id, o, n);
        cr_assert_eq(ac_trial_run(def, o, p ? k : 0, p ? n : k, &part[p], &msg), AC_OK, "%s", msg.text);
        json_t *j = ac_trial_set_to_json(&part[p]);
        char *text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        ac_trial_set_clear(&part[p]);
        j = json_loads(text, 0, NULL);
        free(text);
        cr_assert_eq(ac_trial_set_from_json(j, &part[p], &msg), AC_OK, "%s", msg.text);
        json_decref(j);
    }
    cr_assert_eq(ac_trial_set_merge(&part[1], &part[0], &msg), AC_OK, "%s", msg.text);
    ac_claim_result_init(res, cdef);
    cr_assert_eq(ac_trial_rows(def, o, &part[1], res, &msg), AC_OK, "%s", msg.text);
    ac_claim_judge(res);
    ac_trial_set_clear(&part[0]);
    ac_trial_set_clear(&part[1]);
}

/* Both claims run at quick size, give a table with judged rows and a
 * figure, and the same table from split trials, bit for bit. */
Test(paths_net_claims, quick_runs_and_split_trials_reproduce_the_table, .timeout = 300)
{
    need_digits();
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = ac_test_seed(3)};
    const ac_claim_def *defs[2] = {&pruning_def, &digits_def};
    for (int c = 0; c < 2; c++) {
        ac_claim_result full, part;
        cr_assert_eq(ac_claim_run(defs[c], &o, &full), AC_OK, "%s", full.error);
        int judged = 0;
        for (int i = 0; i < full.nrows; i++)
            judged += full.rows[i].metric != AC_METRIC_INFO;
        cr_assert_gt(judged, 0, "%s has no judged row", defs[c]->id);
        cr_assert_gt(full.nfigs, 0, "%s has no figure", defs[c]->id);
        cr_assert_gt(strlen(full.setup), 0);
        int n = defs[c]->trials->ntrials(&o);
        split_rows(defs[c], &o, n > 1 ? 1 : n, &part);
        ac_test_same_result(&full, &part, defs[c]->id);
        ac_claim_result_clear(&full);
        ac_claim_result_clear(&part);
    }
}

/* ---- planted violations ---- */

static void quick_set(const ac_claim_def *cdef, ac_trial_set *set)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
    ac_msg msg = {{0}};
    ac_trial_set_init(set, cdef->id, &o, cdef->trials->ntrials(&o));
    cr_assert_eq(ac_trial_run(cdef->trials, &o, 0, set->ntrials, set, &msg), AC_OK, "%s", msg.text);
}

static double *entry(ac_trial_set *set, int i, const char *name, int k)
{
    for (int v = 0; v < set->rec[i].nvec; v++)
        if (strcmp(set->rec[i].vec[v].name, name) == 0 && k < set->rec[i].vec[v].n)
            return &set->rec[i].vec[v].v[k];
    cr_assert_fail("record %d has no %s[%d]", i, name, k);
    return NULL;
}

/* The verdict of the one row whose quantity starts with `row`. */
static ac_verdict row_verdict(const ac_claim_def *cdef, const ac_trial_set *set, const char *row)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
    ac_claim_result res;
    ac_msg msg = {{0}};
    ac_claim_result_init(&res, cdef);
    cr_assert_eq(ac_trial_rows(cdef->trials, &o, set, &res, &msg), AC_OK, "%s", msg.text);
    ac_claim_judge(&res);
    ac_verdict v = AC_VERDICT_INFO;
    int found = 0;
    for (int i = 0; i < res.nrows; i++)
        if (strncmp(res.rows[i].quantity, row, strlen(row)) == 0)
            v = res.rows[i].verdict, found++;
    cr_assert_eq(found, 1, "%s: %d rows start with '%s'", cdef->id, found, row);
    ac_claim_result_clear(&res);
    return v;
}

/* Drops set to sign * score + shift in every record of a task: sign 1 gives
 * rho = 1 in every seed (the paper's ordering, passes), -1 gives rho = -1
 * (the reverse ordering, a violation of size 2 in rho, fails); mixed signs
 * over seeds give mean rho 0 (fails: not above 2 standard errors). */
static void plant_drops(ac_trial_set *set, const char *prefix, const double *sign)
{
    char ns[16], nd[16];
    snprintf(ns, sizeof ns, "%s_score", prefix);
    snprintf(nd, sizeof nd, "%s_drop", prefix);
    for (int i = 0; i < set->nrec; i++) {
        const ac_trial_vec *s = ac_trial_get(&set->rec[i], ns);
        cr_assert_not_null(s);
        for (int k = 0; k < s->n; k++)
            *entry(set, i, nd, k) = sign[i] * s->v[k] + 0.01;
    }
}

Test(paths_net_claims, a_reversed_head_ranking_fails_the_pruning_rows)
{
    need_digits();
    ac_trial_set set;
    quick_set(&pruning_def, &set);
    cr_assert_geq(set.nrec, 2);
    const char *task[2] = {"m", "d"}, *row[2] = {"markov: mean Spearman", "digits: mean Spearman"};
    double up[8] = {1, 1, 1, 1, 1, 1, 1, 1}, down[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    double mixed[8] = {1, -1, 1, -1, 1, -1, 1, -1};
    for (int k = 0; k < 2; k++) {
        plant_drops(&set, task[k], up);
        cr_assert_eq(row_verdict(&pruning_def, &set, row[k]), AC_VERDICT_PASS, "%s", row[k]);
        plant_drops(&set, task[k], down);
        cr_assert_eq(row_verdict(&pruning_def, &set, row[k]), AC_VERDICT_FAIL, "%s", row[k]);
        plant_drops(&set, task[k], mixed);
        cr_assert_eq(row_verdict(&pruning_def, &set, row[k]), AC_VERDICT_FAIL, "%s mixed", row[k]);
    }
    ac_trial_set_clear(&set);
}

/* The finite-width-beats-GP rows: a difference of +0.3 with 3 discordant
 * points passes (bar 2 sqrt(4)/n); -0.05 fails; 0 with no discordant point
 * (equal predictions) fails. */
Test(paths_net_claims, finite_width_not_beating_gp_fails)
{
    need_digits();
    ac_trial_set set;
    quick_set(&digits_def, &set);
    ac_paths_digits_setup su;
    ac_paths_digits_setup_of(AC_SIZE_QUICK, &su);
    for (int it = 0; it < su.nT; it++) {
        char row[64];
        snprintf(row, sizeof row, "T = %g: test accuracy of finite width", su.T[it]);
        const double d[3] = {0.3, -0.05, 0.0}, disc[3] = {3, 3, 0};
        const ac_verdict want[3] = {AC_VERDICT_PASS, AC_VERDICT_FAIL, AC_VERDICT_FAIL};
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < set.nrec; i++) {
                *entry(&set, i, "fw_gp_diff", it) = d[c];
                *entry(&set, i, "fw_gp_disc", it) = disc[c];
            }
            cr_assert_eq(row_verdict(&digits_def, &set, row), want[c], "%s: planted %g", row, d[c]);
        }
    }
    ac_trial_set_clear(&set);
}

/* Theory against samples: with mixed chains planted, agreement passes; an
 * accuracy off by 0.1 with at most 0.5 expected flips on 50 points fails; a
 * variance off by 10 standard errors fails; unmixed chains give INFO. */
Test(paths_net_claims, theory_against_samples_sees_a_planted_gap)
{
    need_digits();
    ac_trial_set set;
    quick_set(&digits_def, &set);
    const char *racc = "N = 10, T = 0.5: test accuracy of the sampled", *rvar = "N = 10, T = 0.5: mean test variance";
    for (int i = 0; i < set.nrec; i++) {
        *entry(&set, i, "s_mixed", 0) = 1;
        *entry(&set, i, "s_conv", 0) = 1;
        *entry(&set, i, "s_flip_mean", 0) = 0.5;
        *entry(&set, i, "s_flip_var", 0) = 0.25;
        *entry(&set, i, "s_n", 0) = 50;
        *entry(&set, i, "s_acc_sampled", 0) = *entry(&set, i, "s_acc_theory", 0);
        *entry(&set, i, "s_var_mcse", 0) = 1e-3;
        *entry(&set, i, "s_var_sampled", 0) = *entry(&set, i, "s_var_theory", 0);
    }
    cr_assert_eq(row_verdict(&digits_def, &set, racc), AC_VERDICT_PASS);
    cr_assert_eq(row_verdict(&digits_def, &set, rvar), AC_VERDICT_PASS);
    for (int i = 0; i < set.nrec; i++) {
        *entry(&set, i, "s_acc_sampled", 0) = *entry(&set, i, "s_acc_theory", 0) - 0.1;
        *entry(&set, i, "s_var_sampled", 0) = *entry(&set, i, "s_var_theory", 0) + 0.01;
    }
    cr_assert_eq(row_verdict(&digits_def, &set, racc), AC_VERDICT_FAIL);
    cr_assert_eq(row_verdict(&digits_def, &set, rvar), AC_VERDICT_FAIL);
    for (int i = 0; i < set.nrec; i++)
        *entry(&set, i, "s_mixed", 0) = 0;
    cr_assert_eq(row_verdict(&digits_def, &set, racc), AC_VERDICT_INFO);
    cr_assert_eq(row_verdict(&digits_def, &set, rvar), AC_VERDICT_INFO);
    ac_trial_set_clear(&set);
}
