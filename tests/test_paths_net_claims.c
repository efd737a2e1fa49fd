/* paths.head-pruning and paths.digits through the trial harness
 * (verify/paths_net_claims.h), run through local claim rows (the paths
 * table holds the real ones), and every judged row under a planted
 * violation of known size. */
#include <criterion/criterion.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "claim_compare.h"
#include "testutil.h"
#include "verify/paths_digits.h"
#include "verify/paths_gibbs.h"
#include "verify/paths_net.h"
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

/* Spearman with ties decided by test-set error: with no discordant point
 * every pair of distinct drops is resolved, so it is ac_paths_spearman (ties
 * included); drops that differ by less than 2 sqrt(disc)/n are ties: the
 * A4 picture (three heads sending the net to chance, 0.500, 0.500, 0.508
 * drops, one head that costs nothing) gives the same rho whatever order the
 * noise puts the three in, equal to plain Spearman on the drops with the
 * three made equal; and a side whose drops are all unresolved is NaN. */
Test(paths_net_claims, spearman_resolved_ties_drops_within_their_error)
{
    gsl_rng *r = ac_test_rng(5);
    double zero[64] = {0};
    for (int c = 0; c < ac_test_cases(20); c++) {
        int n = 2 + c % 7;
        double x[8], y[8];
        for (int i = 0; i < n; i++) {
            x[i] = gsl_ran_gaussian(r, 1.0);
            y[i] = floor(gsl_ran_gaussian(r, 2.0)); /* integers: ties happen */
        }
        double a = ac_paths_spearman(n, x, y), b = ac_paths_spearman_resolved(n, x, y, zero, 100, 2.0);
        cr_assert(isnan(a) ? isnan(b) : fabs(a - b) < 1e-12, "case %d: %g vs %g", c, a, b);
    }
    gsl_rng_free(r);
    const int n = 500;
    /* heads 0-2 saturated: any two of them disagree on 400 points (error
     * sqrt(400)/500 = 0.04, so 0.008 apart is a tie); head 3 differs from
     * each on 250 points (0.5 apart: resolved) */
    double disc[16];
    for (int j = 0; j < 4; j++)
        for (int k = 0; k < 4; k++)
            disc[j * 4 + k] = j == k ? 0 : (j == 3 || k == 3) ? 250 : 400;
    double score[4] = {0.78, 0.59, 1.0, 0.12};
    double d1[4] = {0.500, 0.500, 0.508, 0.0}, d2[4] = {0.508, 0.500, 0.500, 0.0};
    double flat[4] = {0.5, 0.5, 0.5, 0.0};
    double r1 = ac_paths_spearman_resolved(4, score, d1, disc, n, 2.0);
    double r2 = ac_paths_spearman_resolved(4, score, d2, disc, n, 2.0);
    cr_assert_float_eq(r1, r2, 1e-12, "noise within the error moved rho: %g vs %g", r1, r2);
    cr_assert_float_eq(r1, ac_paths_spearman(4, score, flat), 1e-12);
    cr_assert(fabs(ac_paths_spearman(4, score, d1) - ac_paths_spearman(4, score, d2)) > 0.1,
              "plain Spearman is moved by that noise (what the tie rule removes)");
    /* with every pair unresolved the ranks are constant */
    for (int k = 0; k < 16; k++)
        disc[k] = 400;
    cr_assert(isnan(ac_paths_spearman_resolved(3, score, d1, disc, n, 2.0)));
}

/* Both claims run at quick size, give a table with judged rows and a
 * figure, and the same table from split trials, bit for bit. */
Test(paths_net_claims, quick_runs_and_split_trials_reproduce_the_table)
{
    need_digits();
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = ac_test_seed(3)};
    const ac_claim_def *defs[2] = {&pruning_def, &digits_def};
    for (int c = 0; c < 2; c++) {
        ac_claim_result full, part;
        cr_assert_eq(ac_claim_run(defs[c], &o, &full), AC_OK, "%s", full.error);
        /* quick's digits GD model is near chance (a few seconds of
         * training): its rows must then say so rather than judge */
        int judged = 0, gated = 0;
        for (int i = 0; i < full.nrows; i++) {
            judged += full.rows[i].metric != AC_METRIC_INFO;
            gated += strstr(full.rows[i].tol_reason, "chance") != NULL &&
                     strstr(full.rows[i].tol_reason, "not judged") != NULL;
        }
        cr_assert_gt(judged + gated, 0, "%s has no judged row and no gated one", defs[c]->id);
        /* a row without a bar (too few seeds kept, INFO) says so in its
         * theory column, rather than whatever its buffer held */
        int nobar = 0;
        for (int i = 0; i < full.nrows; i++)
            if (strstr(full.rows[i].theory_what, "beyond") && full.rows[i].metric == AC_METRIC_INFO) {
                cr_assert(strstr(full.rows[i].theory_what, "no bar (too few seeds)"), "%s: '%s'",
                          full.rows[i].quantity, full.rows[i].theory_what);
                nobar++;
            }
        if (c == 0)
            cr_assert_gt(nobar, 0, "quick head-pruning keeps too few seeds for some bar");
        cr_assert_gt(full.nfigs, 0, "%s has no figure", defs[c]->id);
        cr_assert_gt(strlen(full.setup), 0);
        int n = defs[c]->trials->ntrials(&o);
        ac_test_split_rows(defs[c], &o, n > 1 ? 1 : n, &part);
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

/* The one row whose quantity starts with `row`, judged at the set's size. */
static ac_claim_row the_row(const ac_claim_def *cdef, const ac_trial_set *set, const char *row)
{
    ac_run_opts o = {.size = set->size, .seed = set->seed};
    ac_claim_result res;
    ac_msg msg = {{0}};
    ac_claim_result_init(&res, cdef);
    cr_assert_eq(ac_trial_rows(cdef->trials, &o, set, &res, &msg), AC_OK, "%s", msg.text);
    ac_claim_judge(&res);
    ac_claim_row out;
    memset(&out, 0, sizeof out);
    int found = 0;
    for (int i = 0; i < res.nrows; i++)
        if (strncmp(res.rows[i].quantity, row, strlen(row)) == 0)
            out = res.rows[i], found++;
    cr_assert_eq(found, 1, "%s: %d rows start with '%s'", cdef->id, found, row);
    ac_claim_result_clear(&res);
    return out;
}

/* The verdict of the one row whose quantity starts with `row`. */
static ac_verdict row_verdict(const ac_claim_def *cdef, const ac_trial_set *set, const char *row)
{
    ac_run_opts o = {.size = set->size, .seed = set->seed};
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

/* A consistent planted pruning record of a task: the unpruned net at acc0
 * on n test points, drop_k = 0.01 + sign * 0.05 (rank_k - (nh - 1) / 2)
 * (rank_k: the head's score rank from 0), rounded to a whole number of test
 * points, acc_k = acc0 - drop_k, and the fewest discordant points these
 * accuracies allow (|acc_j - acc_k| n: the nets' right answers nested), the
 * solve converged.  Adjacent drops are then 0.05 apart against a bar of 2
 * sqrt(0.05 n)/n (0.045 at n = 100): resolved.  sign 1 gives rho = 1 and the
 * upper-score half costing more (the paper's ordering), -1 the reverse. */
static void plant_drops1(ac_trial_set *set, int i, const char *prefix, double sign, double acc0)
{
    char nm[5][16];
    const char *what[5] = {"score", "drop", "acc", "disc", "acc0"};
    for (int w = 0; w < 5; w++)
        snprintf(nm[w], sizeof nm[w], "%s_%s", prefix, what[w]);
    const ac_trial_vec *s = ac_trial_get(&set->rec[i], nm[0]);
    cr_assert_not_null(s);
    int nh = s->n;
    char nn[16], nc[16];
    snprintf(nn, sizeof nn, "%s_n", prefix);
    snprintf(nc, sizeof nc, "%s_conv", prefix);
    double n = *ac_test_entry(set, i, nn, 0);
    *ac_test_entry(set, i, nm[4], 0) = acc0;
    *ac_test_entry(set, i, nc, 0) = 1;
    cr_assert_geq(n, 100, "the planted steps need n >= 100 to be resolved");
    for (int k = 0; k < nh; k++) {
        int rank = 0;
        for (int j = 0; j < nh; j++)
            rank += s->v[j] < s->v[k] || (s->v[j] == s->v[k] && j < k);
        *ac_test_entry(set, i, nm[1], k) = round((0.01 + sign * 0.05 * (rank - (nh - 1) / 2.0)) * n) / n;
        *ac_test_entry(set, i, nm[2], k) = acc0 - *ac_test_entry(set, i, nm[1], k);
    }
    for (int j = 0; j < nh; j++)
        for (int k = 0; k < nh; k++)
            *ac_test_entry(set, i, nm[3], j * nh + k) = round(fabs(*ac_test_entry(set, i, nm[2], j) - *ac_test_entry(set, i, nm[2], k)) * n);
}

static void plant_drops(ac_trial_set *set, const char *prefix, const double *sign)
{
    for (int i = 0; i < set->nrec; i++)
        plant_drops1(set, i, prefix, sign[i], 0.8);
}

/* Both judged rows of each task: the planted ordering passes, the reverse
 * fails (rho = -1, a violation of size 2; the lower half costing more),
 * mixed signs over seeds fail (mean rho 0, mean half difference 0). */
Test(paths_net_claims, a_reversed_head_ranking_fails_the_pruning_rows)
{
    need_digits();
    ac_trial_set set;
    quick_set(&pruning_def, &set);
    cr_assert_geq(set.nrec, 2);
    const char *task[2] = {"m", "d"};
    const char *row[2][2] = {{"markov: mean Spearman", "markov: mean drop of the upper"},
                             {"digits: mean Spearman", "digits: mean drop of the upper"}};
    double up[8] = {1, 1, 1, 1, 1, 1, 1, 1}, down[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    double mixed[8] = {1, -1, 1, -1, 1, -1, 1, -1};
    for (int k = 0; k < 2; k++)
        for (int w = 0; w < 2; w++) {
            plant_drops(&set, task[k], up);
            ac_claim_row rr = the_row(&pruning_def, &set, row[k][w]);
            cr_assert_eq(rr.verdict, AC_VERDICT_PASS, "%s: %g vs %g: %s", row[k][w], rr.empirical, rr.theory, rr.tol_reason);
            plant_drops(&set, task[k], down);
            cr_assert_eq(row_verdict(&pruning_def, &set, row[k][w]), AC_VERDICT_FAIL, "%s", row[k][w]);
            plant_drops(&set, task[k], mixed);
            cr_assert_eq(row_verdict(&pruning_def, &set, row[k][w]), AC_VERDICT_FAIL, "%s mixed",
                         row[k][w]);
        }
    ac_trial_set_clear(&set);
}

/* Seeds that cannot speak are left out, and counted: a net within 2
 * binomial errors of chance (A5), a theory solve that did not converge
 * (its scores), drops all within their error of each other (rho NaN).
 * With both seeds out the judged rows turn INFO saying why; with one out
 * the other still judges the half difference (rho needs 2 seeds). */
Test(paths_net_claims, seeds_at_chance_unconverged_or_unresolved_are_left_out)
{
    need_digits();
    ac_trial_set set;
    quick_set(&pruning_def, &set);
    cr_assert_eq(set.nrec, 2);
    const char *task[2] = {"m", "d"}, *rho[2] = {"markov: mean Spearman", "digits: mean Spearman"};
    const char *half[2] = {"markov: mean drop of the upper", "digits: mean drop of the upper"};
    const char *left[2] = {"markov: seeds left out", "digits: seeds left out"};
    for (int k = 0; k < 2; k++) {
        char nn[16], nc[16], nd[16];
        snprintf(nn, sizeof nn, "%s_n", task[k]);
        snprintf(nc, sizeof nc, "%s_conv", task[k]);
        snprintf(nd, sizeof nd, "%s_disc", task[k]);
        double n = *ac_test_entry(&set, 0, nn, 0);
        /* at chance: 0.5 + 2 * 0.5 / sqrt(n) is the edge; just below it */
        double edge = 0.5 + AC_PATHS_NET_Z * 0.5 / sqrt(n);
        for (int i = 0; i < 2; i++)
            plant_drops1(&set, i, task[k], 1, edge - 1e-9);
        ac_claim_row r = the_row(&pruning_def, &set, rho[k]);
        cr_assert_eq(r.metric, AC_METRIC_INFO, "%s at chance", rho[k]);
        cr_assert(strstr(r.tol_reason, "2 net at chance"), "%s", r.tol_reason);
        cr_assert_eq(the_row(&pruning_def, &set, half[k]).metric, AC_METRIC_INFO);
        cr_assert_eq(the_row(&pruning_def, &set, left[k]).empirical, 2);
        /* just above the edge both are judged again */
        for (int i = 0; i < 2; i++)
            plant_drops1(&set, i, task[k], 1, edge + 0.01);
        cr_assert_eq(row_verdict(&pruning_def, &set, rho[k]), AC_VERDICT_PASS);
        cr_assert_eq(the_row(&pruning_def, &set, left[k]).empirical, 0);
        /* one seed's solve unconverged: rho not judged, the half row on one seed */
        *ac_test_entry(&set, 1, nc, 0) = 0;
        r = the_row(&pruning_def, &set, left[k]);
        cr_assert_eq(r.empirical, 1);
        cr_assert(strstr(r.tol_reason, "1 theory unconverged"), "%s", r.tol_reason);
        cr_assert_eq(the_row(&pruning_def, &set, rho[k]).metric, AC_METRIC_INFO);
        cr_assert_eq(row_verdict(&pruning_def, &set, half[k]), AC_VERDICT_PASS);
        /* one seed's drops all equal (the same nets' answers): rho NaN
         * there, left out, not a FAIL */
        plant_drops1(&set, 1, task[k], 1, edge + 0.01);
        char ndr[16], nac[16];
        snprintf(ndr, sizeof ndr, "%s_drop", task[k]);
        snprintf(nac, sizeof nac, "%s_acc", task[k]);
        const ac_trial_vec *dv = ac_trial_get(&set.rec[1], nd), *drv = ac_trial_get(&set.rec[1], ndr);
        for (int j = 0; j < dv->n; j++)
            *ac_test_entry(&set, 1, nd, j) = 0;
        for (int j = 0; j < drv->n; j++) {
            *ac_test_entry(&set, 1, ndr, j) = 0.01;
            *ac_test_entry(&set, 1, nac, j) = edge;
        }
        r = the_row(&pruning_def, &set, left[k]);
        cr_assert_eq(r.empirical, 1);
        cr_assert(strstr(r.tol_reason, "1 no resolved drop"), "%s", r.tol_reason);
        cr_assert_neq(row_verdict(&pruning_def, &set, rho[k]), AC_VERDICT_FAIL);
    }
    ac_trial_set_clear(&set);
}

/* Vector `name` of record i widened to n entries (the new ones 0), so that
 * quick records can be read as a larger size's. */
static void widen(ac_trial_set *set, int i, const char *name, int n)
{
    for (int v = 0; v < set->rec[i].nvec; v++) {
        ac_trial_vec *e = &set->rec[i].vec[v];
        if (strcmp(e->name, name) != 0)
            continue;
        if (e->n < n) {
            double *x = realloc(e->v, sizeof(double) * (size_t)n);
            cr_assert_not_null(x);
            memset(x + e->n, 0, sizeof(double) * (size_t)(n - e->n));
            e->v = x, e->n = n;
        }
        return;
    }
    cr_assert_fail("record %d has no %s", i, name);
}

/* The finite-width-beats-GP rows, with the GD model planted above chance:
 * a difference of +0.3 with 3 discordant points passes (bar 2 sqrt(4)/n);
 * -0.3 fails as reversed; 0 with no discordant point (equal predictions)
 * fails as not resolved; a GD model at chance (0.5) leaves the row INFO.
 * At every temperature of the quick setup and of the default one (T =
 * 0.01 is the default's only): the quick records, widened to the default's
 * temperatures and judged as default-size records (one seed at both sizes;
 * the row reads only the GD model's accuracy and the planted entries). */
Test(paths_net_claims, finite_width_not_beating_gp_fails)
{
    need_digits();
    ac_trial_set set;
    quick_set(&digits_def, &set);
    for (int size = 0; size < 2; size++) {
        ac_paths_digits_setup su;
        ac_paths_digits_setup_of(size ? AC_SIZE_DEFAULT : AC_SIZE_QUICK, &su);
        if (size) { /* the quick records as the default size's */
            ac_run_opts od = {.size = AC_SIZE_DEFAULT, .seed = set.seed};
            cr_assert_eq(digits_def.trials->ntrials(&od), set.ntrials, "the default size runs another number of seeds");
            set.size = AC_SIZE_DEFAULT;
            for (int i = 0; i < set.nrec; i++) {
                widen(&set, i, "fw_gp_diff", su.nT);
                widen(&set, i, "fw_gp_disc", su.nT);
            }
        }
        for (int it = 0; it < su.nT; it++) {
            char row[64];
            snprintf(row, sizeof row, "T = %g: test accuracy of finite width", su.T[it]);
            const double d[3] = {0.3, -0.3, 0.0}, disc[3] = {3, 3, 0};
            const ac_verdict want[3] = {AC_VERDICT_PASS, AC_VERDICT_FAIL, AC_VERDICT_FAIL};
            const char *says[3] = {"resolved", "REVERSED", "NOT RESOLVED"};
            for (int c = 0; c < 3; c++) {
                for (int i = 0; i < set.nrec; i++) {
                    *ac_test_entry(&set, i, "gd_acc", 0) = 0.9;
                    *ac_test_entry(&set, i, "fw_gp_diff", it) = d[c];
                    *ac_test_entry(&set, i, "fw_gp_disc", it) = disc[c];
                }
                ac_claim_row r = the_row(&digits_def, &set, row);
                cr_assert_eq(r.verdict, want[c], "%s (%s size): planted %g", row, size ? "default" : "quick", d[c]);
                cr_assert(strstr(r.tol_reason, says[c]), "%s: %s", row, r.tol_reason);
            }
            for (int i = 0; i < set.nrec; i++)
                *ac_test_entry(&set, i, "gd_acc", 0) = 0.5;
            ac_claim_row r = the_row(&digits_def, &set, row);
            cr_assert_eq(r.verdict, AC_VERDICT_INFO, "%s: GD model at chance", row);
            cr_assert(strstr(r.tol_reason, "chance"), "%s", r.tol_reason);
        }
    }
    ac_trial_set_clear(&set);
}

static int three_trials(const ac_run_opts *o)
{
    (void)o;
    return 3;
}

/* The normal bar and the Student t bar: at 3 seeds whose spread sets the
 * error (McNemar's is planted near 0: no discordant point), the bar is the
 * t quantile of 2 degrees of freedom, not 2.  A mean of (Z + t) / 2
 * standard errors passes a normal bar and must fail; a mean of t + 0.5
 * passes.  Seed values mean +- a, 0 at each temperature: sd a, se a/sqrt 3. */
Test(paths_net_claims, a_seed_spread_from_three_seeds_takes_the_t_quantile)
{
    need_digits();
    ac_trial_def t = *digits_def.trials;
    t.ntrials = three_trials;
    ac_claim_def c = digits_def;
    c.trials = &t;
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
    ac_msg msg = {{0}};
    ac_trial_set set;
    ac_trial_set_init(&set, c.id, &o, 3);
    cr_assert_eq(ac_trial_run(&t, &o, 0, 3, &set, &msg), AC_OK, "%s", msg.text);
    ac_paths_digits_setup su;
    ac_paths_digits_setup_of(AC_SIZE_QUICK, &su);
    double z = ac_paths_net_multiplier(0, 3), tq = ac_paths_net_multiplier(1, 3);
    cr_assert(z == AC_PATHS_NET_Z && tq > z + 1.0, "normal %g, t(2) %g", z, tq);
    const double a = 0.05, se = a / sqrt(3.0);
    for (int it = 0; it < su.nT; it++) {
        char row[64];
        snprintf(row, sizeof row, "T = %g: test accuracy of finite width", su.T[it]);
        const double k[2] = {0.5 * (z + tq), tq + 0.5};
        const ac_verdict want[2] = {AC_VERDICT_FAIL, AC_VERDICT_PASS};
        for (int v = 0; v < 2; v++) {
            for (int i = 0; i < 3; i++) {
                *ac_test_entry(&set, i, "gd_acc", 0) = 0.9;
                *ac_test_entry(&set, i, "fw_gp_diff", it) = k[v] * se + (i - 1) * a;
                *ac_test_entry(&set, i, "fw_gp_disc", it) = 0.0;
            }
            ac_claim_result res;
            ac_claim_result_init(&res, &c);
            cr_assert_eq(ac_trial_rows(&t, &o, &set, &res, &msg), AC_OK, "%s", msg.text);
            ac_claim_judge(&res);
            int found = 0;
            for (int r = 0; r < res.nrows; r++)
                if (!strncmp(res.rows[r].quantity, row, strlen(row))) {
                    found++;
                    cr_assert_eq(res.rows[r].verdict, want[v], "%s: mean %g se: %g against %g (%s)", row, k[v],
                                 res.rows[r].empirical, res.rows[r].theory, res.rows[r].tol_reason);
                    cr_assert(strstr(res.rows[r].theory_what, "(t, 2 dof)"), "%s", res.rows[r].theory_what);
                }
            cr_assert_eq(found, 1);
            ac_claim_result_clear(&res);
        }
    }
    ac_trial_set_clear(&set);
}

/* Theory against samples: with mixed chains planted, accuracy agreement
 * passes; an accuracy off by 0.1 with at most 0.5 expected flips on 50
 * points fails; unmixed chains give INFO.  The mean test variance row is
 * INFO however large the gap (the saddle point does not claim it at N = 10),
 * and shows the planted values: theory, sampled, and the gap's z-score. */
Test(paths_net_claims, theory_against_samples_sees_a_planted_gap)
{
    need_digits();
    ac_trial_set set;
    quick_set(&digits_def, &set);
    const char *racc = "N = 10, T = 0.5: test accuracy of the sampled", *rvar = "N = 10, T = 0.5: mean test variance";
    double vt = 0;
    for (int i = 0; i < set.nrec; i++) {
        *ac_test_entry(&set, i, "s_mixed", 0) = 1;
        *ac_test_entry(&set, i, "s_conv", 0) = 1;
        *ac_test_entry(&set, i, "s_flip_mean", 0) = 0.5;
        *ac_test_entry(&set, i, "s_flip_var", 0) = 0.25;
        *ac_test_entry(&set, i, "s_n", 0) = 50;
        *ac_test_entry(&set, i, "s_acc_sampled", 0) = *ac_test_entry(&set, i, "s_acc_theory", 0);
        *ac_test_entry(&set, i, "s_var_mcse", 0) = 1e-3;
        *ac_test_entry(&set, i, "s_var_sampled", 0) = *ac_test_entry(&set, i, "s_var_theory", 0);
        vt += *ac_test_entry(&set, i, "s_var_theory", 0) / set.nrec;
    }
    cr_assert_eq(row_verdict(&digits_def, &set, racc), AC_VERDICT_PASS);
    cr_assert_eq(row_verdict(&digits_def, &set, rvar), AC_VERDICT_INFO);
    for (int i = 0; i < set.nrec; i++) {
        *ac_test_entry(&set, i, "s_acc_sampled", 0) = *ac_test_entry(&set, i, "s_acc_theory", 0) - 0.1;
        *ac_test_entry(&set, i, "s_var_sampled", 0) = *ac_test_entry(&set, i, "s_var_theory", 0) + 0.01;
    }
    cr_assert_eq(row_verdict(&digits_def, &set, racc), AC_VERDICT_FAIL);
    ac_claim_row r = the_row(&digits_def, &set, rvar);
    cr_assert_eq(r.verdict, AC_VERDICT_INFO);
    /* the mean over seeds of theory and sampled: rounding only */
    cr_assert(fabs(r.theory - vt) <= 1e-12 * fabs(vt) && fabs(r.empirical - (vt + 0.01)) <= 1e-12 * fabs(vt) + 1e-15,
              "theory %.17g sampled %.17g", r.theory, r.empirical);
    /* z = 0.01 / (1e-3 sqrt(seeds) / seeds) */
    char z[64];
    snprintf(z, sizeof z, "z = %.4g", 0.01 / (1e-3 / sqrt((double)set.nrec)));
    cr_assert(strstr(r.tol_reason, z), "reason '%s' lacks '%s'", r.tol_reason, z);
    for (int i = 0; i < set.nrec; i++)
        *ac_test_entry(&set, i, "s_mixed", 0) = 0;
    cr_assert_eq(row_verdict(&digits_def, &set, racc), AC_VERDICT_INFO);
    cr_assert_eq(row_verdict(&digits_def, &set, rvar), AC_VERDICT_INFO);
    ac_trial_set_clear(&set);
}

/* The half difference's error from pair counts equals the error computed
 * straight from the test points: random right/wrong answers of the four
 * pruned Markov nets on the record's n points (correlated through a shared
 * draw), their accuracies and discordant counts planted in both seeds; the
 * row's bar is 2 sqrt(2 v) / 2 with v the variance of the mean over points
 * of sum_k w_k c_k (w = +1/2 on the two lower-score heads' accuracies, -1/2
 * on the upper two).  Rounding only: 1e-9 relative. */
Test(paths_net_claims, the_half_difference_error_matches_the_test_points)
{
    need_digits();
    ac_trial_set set;
    quick_set(&pruning_def, &set);
    cr_assert_eq(set.nrec, 2);
    int n = (int)*ac_test_entry(&set, 0, "m_n", 0), nh = 4;
    cr_assert_eq(*ac_test_entry(&set, 1, "m_n", 0), n);
    gsl_rng *r = ac_test_rng(7);
    int *c = malloc(sizeof(int) * n * nh);
    for (int i = 0; i < n; i++) {
        double u = gsl_rng_uniform(r);
        for (int k = 0; k < nh; k++)
            c[i * nh + k] = (u < 0.3 + 0.15 * k) != (gsl_rng_uniform(r) < 0.1);
    }
    gsl_rng_free(r);
    double acc[4] = {0}, disc[16] = {0};
    for (int i = 0; i < n; i++)
        for (int j = 0; j < nh; j++) {
            acc[j] += (double)c[i * nh + j] / n;
            for (int k = 0; k < nh; k++)
                disc[j * nh + k] += c[i * nh + j] != c[i * nh + k];
        }
    double v = 0, mz = 0;
    for (int s = 0; s < 2; s++) {
        *ac_test_entry(&set, s, "m_acc0", 0) = 0.95;
        *ac_test_entry(&set, s, "m_conv", 0) = 1;
        for (int k = 0; k < nh; k++) {
            *ac_test_entry(&set, s, "m_acc", k) = acc[k];
            *ac_test_entry(&set, s, "m_drop", k) = 0.95 - acc[k];
        }
        for (int k = 0; k < nh * nh; k++)
            *ac_test_entry(&set, s, "m_disc", k) = disc[k];
    }
    const ac_trial_vec *sc = ac_trial_get(&set.rec[0], "m_score");
    cr_assert(sc->v[0] != sc->v[1] || sc->v[1] != sc->v[2]);
    /* both seeds share the scores' halves only if their scores order alike:
     * plant seed 1's scores as seed 0's */
    for (int k = 0; k < nh; k++)
        *ac_test_entry(&set, 1, "m_score", k) = sc->v[k];
    double w[4];
    for (int k = 0; k < nh; k++) {
        int below = 0;
        for (int j = 0; j < nh; j++)
            below += sc->v[j] < sc->v[k] || (sc->v[j] == sc->v[k] && j < k);
        w[k] = below < 2 ? 0.5 : -0.5;
    }
    double *z = malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++) {
        z[i] = 0;
        for (int k = 0; k < nh; k++)
            z[i] += w[k] * c[i * nh + k];
        mz += z[i] / n;
    }
    for (int i = 0; i < n; i++)
        v += (z[i] - mz) * (z[i] - mz) / n;
    v /= n;
    ac_claim_row row = the_row(&pruning_def, &set, "markov: mean drop of the upper");
    cr_assert_float_eq(row.theory, AC_PATHS_NET_Z * sqrt(2 * v) / 2, 1e-9 * row.theory, "%g vs %g",
                       row.theory, AC_PATHS_NET_Z * sqrt(2 * v) / 2);
    cr_assert_float_eq(row.empirical, mz, 1e-12);
    free(z);
    free(c);
    ac_trial_set_clear(&set);
}

/* On the measured quick records (not planted drops): reversing the theory's
 * head order (each score s replaced by 1/s, so the lowest-score head becomes
 * the highest) negates the resolved rho of every kept seed and swaps the
 * halves (4 and 8 heads: even), so both rows' values change sign exactly;
 * the kept seeds do not change (the gates read the net and the solve). */
Test(paths_net_claims, reversing_the_score_order_negates_both_pruning_rows)
{
    need_digits();
    ac_trial_set set;
    quick_set(&pruning_def, &set);
    const char *task[2] = {"m", "d"};
    const char *rho[2] = {"markov: mean Spearman", "digits: mean Spearman"};
    const char *half[2] = {"markov: mean drop of the upper", "digits: mean drop of the upper"};
    for (int k = 0; k < 2; k++) {
        /* the gates at quick may leave nothing for digits: plant its nets
         * above chance, keeping the measured drops and counts */
        char na0[16], nsc[16];
        snprintf(na0, sizeof na0, "%s_acc0", task[k]);
        snprintf(nsc, sizeof nsc, "%s_score", task[k]);
        for (int i = 0; i < set.nrec; i++)
            *ac_test_entry(&set, i, na0, 0) = 1.0;
        ac_claim_row r0 = the_row(&pruning_def, &set, rho[k]), h0 = the_row(&pruning_def, &set, half[k]);
        for (int i = 0; i < set.nrec; i++) {
            const ac_trial_vec *s = ac_trial_get(&set.rec[i], nsc);
            for (int j = 0; j < s->n; j++)
                *ac_test_entry(&set, i, nsc, j) = 1.0 / s->v[j];
        }
        ac_claim_row r1 = the_row(&pruning_def, &set, rho[k]), h1 = the_row(&pruning_def, &set, half[k]);
        /* a NaN or 0 would make "changes sign" vacuous: both sides finite
         * and nonzero before the signs are compared */
        cr_assert(isfinite(h0.empirical) && h0.empirical != 0.0, "%s: %g before", half[k], h0.empirical);
        cr_assert(isfinite(h1.empirical) && h1.empirical != 0.0, "%s: %g reversed", half[k], h1.empirical);
        cr_assert_float_eq(h1.empirical, -h0.empirical, 1e-12, "%s", half[k]);
        cr_assert(isfinite(h0.theory) && isfinite(h1.theory), "%s: its error %g, %g", half[k], h0.theory, h1.theory);
        cr_assert_float_eq(h1.theory, h0.theory, 1e-12, "%s: its error", half[k]);
        cr_assert(isfinite(r0.empirical) && r0.empirical != 0.0, "%s: %g before", rho[k], r0.empirical);
        cr_assert(isfinite(r1.empirical) && r1.empirical != 0.0, "%s: %g reversed", rho[k], r1.empirical);
        cr_assert_float_eq(r1.empirical, -r0.empirical, 1e-12, "%s", rho[k]);
    }
    ac_trial_set_clear(&set);
}

/* ---- measurement-level plants ---- */

/* The sampled rows of paths.digits as digits_samples fills them, from a
 * Gibbs run of the net at (N, T) with the given sigma^2 on the quick task
 * of seed 1 (the task trial 0 draws: ac_paths_digits_task_init at seed
 * S + 0), on the same Pg test points of the test half; written into record
 * 0 of set.  The sampler's generator has a seed of its own (7): the chains
 * differ from the trial's, the posterior they sample does not. */
static void digits_resample(ac_trial_set *set, const ac_paths_digits_task *task, const ac_paths_digits_setup *su,
                            double T, double sigma2, int chains, long burn, long keep)
{
    int Pv = task->Pt / 2, Pg = su->gibbs_test < task->Pt - Pv ? su->gibbs_test : task->Pt - Pv;
    int np = ac_paths_net_paths(&task->sh);
    const double *Phig = task->Phi_t + (size_t)Pv * task->sh.N0 * np, *Yg = task->Yt + Pv;
    ac_paths_gibbs_settings gs;
    ac_paths_gibbs_settings_default(&gs);
    ac_paths_net_theory_settings(&task->sh, su->gibbs_N, T, &gs.net);
    for (int l = 0; l <= gs.net.L; l++)
        gs.net.sigma2[l] = sigma2;
    gs.net.sigma2_a = sigma2;
    gs.chains = chains, gs.burn = burn, gs.keep = keep;
    ac_paths_gibbs *g = ac_paths_gibbs_alloc(&gs, task->Pth, Pg, task->sh.N0);
    cr_assert_not_null(g);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    ac_msg msg = {{0}};
    cr_assert_eq(ac_paths_gibbs_set(g, task->Phi, task->Y, Phig, r, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_paths_gibbs_run(g, r, &msg), AC_OK, "%s", msg.text);
    ac_paths_gibbs_info gi;
    cr_assert_eq(ac_paths_gibbs_info_get(g, &gi), AC_OK);
    double *ms = malloc(sizeof(double) * Pg), *vs = malloc(sizeof(double) * Pg), *ess = malloc(sizeof(double) * Pg);
    cr_assert_eq(ac_paths_gibbs_test_stats(g, ms, vs, NULL, ess), AC_OK);
    double qsum = 0, qvar = 0;
    int right = 0;
    for (int m = 0; m < Pg; m++) {
        double mcse = sqrt(vs[m] / ess[m]), q = mcse > 0 ? gsl_cdf_ugaussian_P(-fabs(ms[m]) / mcse) : 0.0;
        qsum += q, qvar += q * (1 - q);
        right += ms[m] * Yg[m] > 0.0;
    }
    cr_assert_eq((int)*ac_test_entry(set, 0, "s_n", 0), Pg, "the record's test points are not the task's");
    *ac_test_entry(set, 0, "s_acc_sampled", 0) = (double)right / Pg;
    *ac_test_entry(set, 0, "s_flip_mean", 0) = qsum;
    *ac_test_entry(set, 0, "s_flip_var", 0) = qvar;
    *ac_test_entry(set, 0, "s_var_sampled", 0) = gi.var_mean.value;
    *ac_test_entry(set, 0, "s_var_mcse", 0) = gi.var_mean.mcse;
    *ac_test_entry(set, 0, "s_mixed", 0) = gi.mixed;
    free(ms), free(vs), free(ess);
    gsl_rng_free(r);
    ac_paths_gibbs_free(g);
}

/* paths.digits, theory against samples, with the fault planted in the
 * measurement: the sampler itself run at 2T (T = 1 for the claim's 0.5),
 * and at the right T with every prior variance sigma^2 = 2 for the claim's
 * 1, on the quick task's 50 test points.  The variance row is information
 * (the saddle point's gap at N = 10 is not bounded by the theory; see
 * digits_samples), so the test checks what the row shows: 4 chains x 400
 * kept sweeps after 100 (Pth = 40, N = 10: about a second) mix; each
 * planted fault moves the sampled mean variance by more than 5 combined MC
 * SE from the right run's, so a broken sampler shows in the row's numbers
 * and its z-score even though no verdict rests on them.  (The right run is
 * not held to the theory: at N = 10 the theory gives no bound on the gap;
 * that the sampler draws the posterior it should is checked at T = 1e8 in
 * tests/test_paths_gibbs.c.)  The accuracy row (judged)
 * cannot see these faults at quick size: the quick GD model is at chance
 * (0.5), its signs carry no T. */
Test(paths_net_claims, a_sampler_at_the_wrong_temperature_or_prior_moves_the_sampled_variance)
{
    need_digits();
    ac_trial_set set;
    quick_set(&digits_def, &set);
    ac_paths_digits_setup su;
    ac_paths_digits_setup_of(AC_SIZE_QUICK, &su);
    ac_paths_digits_task task;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_paths_digits_task_init(&task, NULL, &su.digits, 1, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(*ac_test_entry(&set, 0, "s_conv", 0), 1.0, "the quick theory solve at N = 10, T = 0.5 did not converge");
    const char *rvar = "N = 10, T = 0.5: mean test variance";
    const int chains = 4;
    const long burn = 100, keep = 400;
    double v[3], se[3];
    const double T[3] = {su.gibbs_T, 2 * su.gibbs_T, su.gibbs_T}, s2[3] = {1.0, 1.0, 2.0};
    ac_claim_row row;
    for (int k = 0; k < 3; k++) {
        digits_resample(&set, &task, &su, T[k], s2[k], chains, burn, keep);
        cr_assert_eq(*ac_test_entry(&set, 0, "s_mixed", 0), 1.0, "case %d: the test's chains did not mix", k);
        row = the_row(&digits_def, &set, rvar);
        cr_assert_eq(row.verdict, AC_VERDICT_INFO, "case %d: the variance row is judged", k);
        cr_assert(ac_test_same_bits(row.empirical, *ac_test_entry(&set, 0, "s_var_sampled", 0)), "case %d", k);
        v[k] = row.empirical;
        se[k] = *ac_test_entry(&set, 0, "s_var_mcse", 0);
    }
    for (int k = 1; k < 3; k++)
        cr_assert_gt(fabs(v[k] - v[0]), 5 * hypot(se[k], se[0]), "case %d: sampled %g against %g (MC SE %g, %g)", k,
                     v[k], v[0], se[k], se[0]);
    cr_log_info("digits variance row: theory %g; sampled %g (right T), %g (2T), %g (sigma^2 = 2)", row.theory, v[0],
                v[1], v[2]);
    ac_paths_digits_task_clear(&task);
    ac_trial_set_clear(&set);
}
