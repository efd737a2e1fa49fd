/* joma.text-entropy and joma.hierarchy through the trial harness
 * (verify/joma_text_claims.h): split runs give the same table bit for bit,
 * and every judged row fails under a planted violation of known size.  The
 * claim rows live in the joma table (verify/joma_claims.c); the tests build
 * their own ac_claim_def around the exported trial definitions. */
#include <criterion/criterion.h>
#include <float.h>
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "claim_compare.h"
#include "testutil.h"
#include "theory/joma_hblt.h"
#include "verify/joma_hblt.h"
#include "verify/joma_text_claims.h"
#include "verify/trial.h"

static const ac_claim_def text_claim = {
    .id = "joma.text-entropy", .paper = "joma", .statement = AC_JOMA_TEXT_STATEMENT, .trials = &ac_joma_text_trials};

/* The row whose quantity starts with `row` (exactly one). */
static const ac_claim_row *find_row(const ac_claim_result *res, const char *row)
{
    const ac_claim_row *r = NULL;
    int found = 0;
    for (int i = 0; i < res->nrows; i++)
        if (strncmp(res->rows[i].quantity, row, strlen(row)) == 0)
            r = &res->rows[i], found++;
    cr_assert_eq(found, 1, "%d rows start with '%s'", found, row);
    return r;
}

/* Every judged row states why its tolerance is what it is. */
static void judged_rows_have_reasons(const ac_claim_result *res)
{
    for (int i = 0; i < res->nrows; i++)
        if (res->rows[i].metric != AC_METRIC_INFO)
            cr_assert(res->rows[i].tol_reason[0], "judged row '%s' has no tolerance reason", res->rows[i].quantity);
}

Test(joma_text_claims, quick_run_passes_and_splits_bit_for_bit)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = ac_test_seed(1)};
    ac_claim_result full, part;
    cr_assert_eq(ac_claim_run(&text_claim, &o, &full), AC_OK, "%s", full.error);
    ac_test_split_rows(&text_claim, &o, 1, &part);
    ac_test_same_result(&full, &part, text_claim.id);
    judged_rows_have_reasons(&full);
    cr_assert_eq(find_row(&full, "dip")->verdict, AC_VERDICT_PASS, "dip: %g", find_row(&full, "dip")->empirical);
    cr_assert_eq(find_row(&full, "rebound")->metric, AC_METRIC_INFO, "the rebound is INFO below paper size");
    cr_assert_eq(full.nfigs, 1);
    ac_claim_result_clear(&full);
    ac_claim_result_clear(&part);
}

/* ---- planted violations on records of known shape ----
 *
 * Records at --size paper built by hand: curve i is a dip and rebound of
 * known depth and height plus a seed offset, so the rows' numbers are known;
 * then the rebound or the dip is removed by a known amount. */

#define PLANT_SEEDS 8
#define PLANT_NCP 21
#define PLANT_EVERY 250.0 /* steps between checkpoints */

/* H_i(c) = 2.5 - depth s(c) + rise r(c) + 0.01 i + e(i, c), with s rising
 * from 0 to 1 by checkpoint 8, r rising from 0 at checkpoint 8 to 1 at the
 * end, and a checkpoint-to-checkpoint wobble e in [0, 0.004]. */
static double planted_curve(int i, int c, double depth, double rise)
{
    double s = c < 8 ? c / 8.0 : 1.0, r = c <= 8 ? 0.0 : (c - 8) / (double)(PLANT_NCP - 1 - 8);
    return 2.5 - depth * s + rise * r + 0.01 * i + 0.001 * ((i * 7 + c * 3) % 5);
}

typedef double (*curve_fn)(int i, int c, double depth, double rise);

static void planted_set_of(ac_trial_set *set, const ac_run_opts *o, curve_fn curve, double depth, double rise)
{
    ac_trial_set_init(set, text_claim.id, o, PLANT_SEEDS);
    for (int i = 0; i < PLANT_SEEDS; i++) {
        ac_trial_set one;
        ac_trial_set_init(&one, text_claim.id, o, PLANT_SEEDS);
        one.rec = calloc(1, sizeof *one.rec);
        one.nrec = one.cap = 1;
        ac_trial_record_init(&one.rec[0], i);
        double t[PLANT_NCP], H[PLANT_NCP], val[PLANT_NCP];
        for (int c = 0; c < PLANT_NCP; c++) {
            t[c] = PLANT_EVERY * c;
            H[c] = curve(i, c, depth, rise);
            val[c] = 8.0 - 0.1 * c;
        }
        ac_trial_put(&one.rec[0], "t", PLANT_NCP, t);
        ac_trial_put(&one.rec[0], "H", PLANT_NCP, H);
        ac_trial_put(&one.rec[0], "val", PLANT_NCP, val);
        ac_msg msg = {{0}};
        cr_assert_eq(ac_trial_set_merge(set, &one, &msg), AC_OK, "%s", msg.text);
        ac_trial_set_clear(&one);
    }
}

static void planted_set(ac_trial_set *set, const ac_run_opts *o, double depth, double rise)
{
    planted_set_of(set, o, planted_curve, depth, rise);
}

static ac_verdict planted_verdict(double depth, double rise, const char *row, double *value)
{
    ac_run_opts o = {.size = AC_SIZE_PAPER, .seed = 1};
    cr_assert_eq(ac_joma_text_claim_setup(AC_SIZE_PAPER).trials, PLANT_SEEDS);
    ac_trial_set set;
    planted_set(&set, &o, depth, rise);
    ac_claim_result res;
    ac_msg msg = {{0}};
    ac_claim_result_init(&res, &text_claim);
    cr_assert_eq(ac_trial_rows(text_claim.trials, &o, &set, &res, &msg), AC_OK, "%s", msg.text);
    ac_claim_judge(&res);
    judged_rows_have_reasons(&res);
    const ac_claim_row *r = find_row(&res, row);
    cr_assert_neq(r->metric, AC_METRIC_INFO, "'%s' is judged at paper size", row);
    ac_verdict v = r->verdict;
    *value = r->empirical;
    ac_claim_result_clear(&res);
    ac_trial_set_clear(&set);
    return v;
}

/* A dip of 0.7 and a rebound of 0.1 (the §4.3b reference run's sizes)
 * pass; the same curve with the rebound replaced by a fall of 0.1 after t*
 * (0.008 per checkpoint, twice the wobble) fails the rebound row; a curve
 * that rises by 0.2 before it falls back (no dip: H(1) is 0.025 above H(0))
 * fails the dip row. */
Test(joma_text_claims, rebound_and_dip_rows_fail_when_planted_away)
{
    double v;
    cr_assert_eq(planted_verdict(0.7, 0.1, "rebound", &v), AC_VERDICT_PASS, "rebound bound %g", v);
    cr_assert(fabs(v - 0.1) < 0.02, "rebound bound %g for a planted 0.1", v);
    cr_assert_eq(planted_verdict(0.7, 0.1, "dip", &v), AC_VERDICT_PASS, "dip bound %g", v);
    cr_assert(fabs(v - 0.7) < 0.02, "dip bound %g for a planted 0.7", v);
    cr_assert_eq(planted_verdict(0.7, -0.1, "rebound", &v), AC_VERDICT_FAIL, "a fall of 0.1 after t*: %g", v);
    cr_assert_eq(planted_verdict(-0.2, -0.1, "dip", &v), AC_VERDICT_FAIL, "a rise of 0.2 instead of a dip: %g", v);
}

/* H_i(0) = 2.5, then flat at 2 but for one spike of -spike at checkpoint
 * 2 + 2i (seed i's own noise) and a last value 2 - fall. */
static double spiked_curve(int i, int c, double spike, double fall)
{
    if (c == 0)
        return 2.5;
    if (c == PLANT_NCP - 1)
        return 2.0 - fall;
    return c == 2 + 2 * i ? 2.0 - spike : 2.0;
}

/* No seed is judged at its own minimum.  On spiked curves the seed-mean
 * curve's minimum is seed 0's spike, where seed 0 would show a rebound of
 * spike - fall = 0.29 that is only its noise; judged at the other seeds'
 * minimum, every seed sits on its flat part: each rebound is exactly
 * -fall and each dip exactly 0.5, so both bounds are those values (sd 0)
 * and the rebound row fails. */
Test(joma_text_claims, no_seed_is_judged_at_its_own_minimum)
{
    ac_run_opts o = {.size = AC_SIZE_PAPER, .seed = 1};
    const double spike = 0.3, fall = 0.01;
    ac_trial_set set;
    planted_set_of(&set, &o, spiked_curve, spike, fall);
    ac_claim_result res;
    ac_msg msg = {{0}};
    ac_claim_result_init(&res, &text_claim);
    cr_assert_eq(ac_trial_rows(text_claim.trials, &o, &set, &res, &msg), AC_OK, "%s", msg.text);
    ac_claim_judge(&res);
    const ac_claim_row *reb = find_row(&res, "rebound"), *dip = find_row(&res, "dip");
    /* 2 - fall - 2 and 2.5 - 2: one rounding each */
    cr_assert(fabs(reb->empirical + fall) <= 2 * DBL_EPSILON, "rebound bound %.17g, planted %g", reb->empirical, -fall);
    cr_assert(fabs(dip->empirical - 0.5) <= 2 * DBL_EPSILON, "dip bound %.17g", dip->empirical);
    cr_assert_eq(reb->verdict, AC_VERDICT_FAIL);
    /* seeds 1.. are judged at seed 0's spike (checkpoint 2), seed 0 at seed
     * 1's (checkpoint 4), the first of the equal minima of the others' curve */
    cr_assert_eq(find_row(&res, "smallest step t*_-i")->empirical, 2 * PLANT_EVERY, "seed 0's spike, checkpoint 2");
    cr_assert_eq(find_row(&res, "largest step t*_-i")->empirical, 4 * PLANT_EVERY, "seed 1's spike, checkpoint 4");
    ac_claim_result_clear(&res);
    ac_trial_set_clear(&set);
}

/* ---- joma.hierarchy ---- */

static const ac_claim_def hier_claim = {.id = "joma.hierarchy",
                                        .paper = "joma",
                                        .statement = AC_JOMA_HIERARCHY_STATEMENT,
                                        .trials = &ac_joma_hierarchy_trials};

static ac_verdict row_verdict(const ac_trial_set *set, const ac_run_opts *o, const char *row, double *value)
{
    ac_claim_result res;
    ac_msg msg = {{0}};
    ac_claim_result_init(&res, &hier_claim);
    cr_assert_eq(ac_trial_rows(hier_claim.trials, o, set, &res, &msg), AC_OK, "%s", msg.text);
    ac_claim_judge(&res);
    const ac_claim_row *r = find_row(&res, row);
    ac_verdict v = r->verdict;
    if (value)
        *value = r->empirical;
    ac_claim_result_clear(&res);
    return v;
}

/* Scalar `name` of record i, writable. */
static double *entry(ac_trial_set *set, int i, const char *name)
{
    for (int v = 0; v < set->rec[i].nvec; v++)
        if (strcmp(set->rec[i].vec[v].name, name) == 0)
            return &set->rec[i].vec[v].v[0];
    cr_assert_fail("record %d has no %s", i, name);
    return NULL;
}

/* The quick run's co-occurrence rows pass and the run splits bit for bit;
 * then, planted in its records: the co-occurrence z that a tree with rho
 * lowered from 0.8 to 0.5 gives against the formula (tests/test_joma_hblt.c
 * measures such shifts; here the value is computed from the planted tree's
 * known frequency), a marginal from a root probability lowered by 0.1, and
 * a NaN z-score in either row (a formula that gives NaN), each caught.  The
 * learning-order row is judged (its verdict at this size is what the run
 * gives; the planted test below checks that it can pass and fail). */
Test(joma_hierarchy_claims, quick_run_passes_splits_and_fails_when_planted)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = ac_test_seed(1)};
    ac_claim_result full, part;
    cr_assert_eq(ac_claim_run(&hier_claim, &o, &full), AC_OK, "%s", full.error);
    ac_test_split_rows(&hier_claim, &o, 1, &part);
    ac_test_same_result(&full, &part, hier_claim.id);
    judged_rows_have_reasons(&full);
    cr_assert_eq(find_row(&full, "largest z =")->verdict, AC_VERDICT_PASS);
    cr_assert_eq(find_row(&full, "largest z of a marginal")->verdict, AC_VERDICT_PASS);
    cr_assert_eq(find_row(&full, "Spearman(t_learn")->metric, AC_METRIC_AT_MOST, "the learning order is judged");
    cr_assert_eq(find_row(&full, "control:")->metric, AC_METRIC_INFO);
    cr_assert_eq(full.nfigs, 1);
    ac_claim_result_clear(&full);
    ac_claim_result_clear(&part);

    ac_joma_hierarchy_setup su = ac_joma_hierarchy_claim_setup(AC_SIZE_QUICK);
    cr_assert_neq(su.p_root, 0.5, "the marginal row needs p_root != 1/2 to see the E s_l terms");
    ac_trial_set set;
    ac_msg msg = {{0}};
    ac_trial_set_init(&set, hier_claim.id, &o, su.trials);
    cr_assert_eq(ac_trial_run(hier_claim.trials, &o, 0, su.trials, &set, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(row_verdict(&set, &o, "largest z =", NULL), AC_VERDICT_PASS);
    cr_assert_eq(row_verdict(&set, &o, "largest z of a marginal", NULL), AC_VERDICT_PASS);
    /* siblings: the formula's P(both) at rho 0.8 against the one of the
     * same tree at rho 0.5 (z about 5.9 at 5000 samples) */
    double r8[3] = {0.8, 0.8, 0.8}, r5[3] = {0.5, 0.5, 0.5};
    cr_assert_eq(su.depth, 3);
    cr_assert_eq(su.rho, 0.8);
    ac_joma_hblt h8 = {.depth = 3, .p_root = su.p_root, .rho = r8}, h5 = {.depth = 3, .p_root = su.p_root, .rho = r5};
    double p = ac_joma_hblt_cooccur(&h8, 0, 1), f = ac_joma_hblt_cooccur(&h5, 0, 1);
    double z = fabs(f - p) / sqrt(p * (1 - p) / su.nsample);
    double *cz = entry(&set, 1, "cooc_z"), keep = *cz;
    *cz = z;
    double v;
    cr_assert_eq(row_verdict(&set, &o, "largest z =", &v), AC_VERDICT_FAIL, "planted z %g", z);
    cr_assert_float_eq(v, z, 1e-12);
    *cz = NAN;
    cr_assert_eq(row_verdict(&set, &o, "largest z =", &v), AC_VERDICT_FAIL, "a NaN z-score: %g", v);
    cr_assert(isnan(v));
    *cz = keep;
    /* marginal: the formula's P(y = 1) against that of a root probability 0.1 lower */
    ac_joma_hblt h8lo = {.depth = 3, .p_root = su.p_root - 0.1, .rho = r8};
    double pm = ac_joma_hblt_marginal(&h8), fm = ac_joma_hblt_marginal(&h8lo);
    double *mz = entry(&set, 2, "marg_z");
    *mz = fabs(fm - pm) / sqrt(pm * (1 - pm) / su.nsample);
    cr_assert_eq(row_verdict(&set, &o, "largest z of a marginal", NULL), AC_VERDICT_FAIL);
    *mz = NAN;
    cr_assert_eq(row_verdict(&set, &o, "largest z of a marginal", &v), AC_VERDICT_FAIL, "a NaN z-score: %g", v);
    ac_trial_set_clear(&set);
}

/* The learning-order row on planted learning times.  Each seed's record
 * (from a real quick run, so every other entry is in place) gets the
 * Spearman correlation of planted times for the quick tree's M (M - 1)
 * pairs: t = 1 - P(y_l = 1 | y_m = 1) plus a seed's jitter, strong pairs
 * first (r near -1), which passes with the bound the seed spread gives
 * (recomputed here from the t quantile); then the same times reversed (t
 * -> -t, the strongest pairs last: r near +1), which fails by the known
 * amount -mean + t sd/sqrt(n); and a NaN correlation (a learning time that
 * failed), which fails. */
Test(joma_hierarchy_claims, learning_order_row_fails_on_reversed_times)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = ac_test_seed(2)};
    ac_joma_hierarchy_setup su = ac_joma_hierarchy_claim_setup(AC_SIZE_QUICK);
    ac_trial_set set;
    ac_msg msg = {{0}};
    ac_trial_set_init(&set, hier_claim.id, &o, su.trials);
    cr_assert_eq(ac_trial_run(hier_claim.trials, &o, 0, su.trials, &set, &msg), AC_OK, "%s", msg.text);
    double rho[AC_JOMA_HBLT_DEPTH_MAX];
    for (int k = 0; k < su.depth; k++)
        rho[k] = su.rho;
    ac_joma_hblt h = {.depth = su.depth, .p_root = su.p_root, .rho = rho};
    int M = ac_joma_hblt_nleaves(&h), np = M * (M - 1), n = set.nrec;
    double *t = malloc(sizeof(double) * np), *co = malloc(sizeof(double) * np), r[8], sum = 0, ss = 0;
    cr_assert(n >= 2 && n <= 8);
    for (int reversed = 0; reversed < 2; reversed++) {
        sum = ss = 0;
        for (int i = 0; i < n; i++) {
            gsl_rng *g = ac_test_rng(80 + i);
            int k = 0;
            for (int m = 0; m < M; m++)
                for (int l = 0; l < M; l++)
                    if (l != m) {
                        co[k] = ac_joma_hblt_conditional(&h, l, m);
                        /* jitter up to 0.3: reorders pairs one or two heights apart */
                        t[k] = 1.0 - co[k] + 0.3 * gsl_rng_uniform(g);
                        if (reversed)
                            t[k] = -t[k];
                        k++;
                    }
            r[i] = ac_joma_hblt_spearman(t, co, np);
            *entry(&set, i, "order_rho") = r[i];
            sum += r[i];
            gsl_rng_free(g);
        }
        double mean = sum / n;
        for (int i = 0; i < n; i++)
            ss += (r[i] - mean) * (r[i] - mean);
        double bound = mean + gsl_cdf_tdist_Pinv(0.95, n - 1) * sqrt(ss / (n - 1) / n), v;
        ac_verdict want = reversed ? AC_VERDICT_FAIL : AC_VERDICT_PASS;
        cr_assert_eq(row_verdict(&set, &o, "Spearman(t_learn", &v), want, "%s times: bound %g",
                     reversed ? "reversed" : "planted", v);
        cr_assert_float_eq(v, bound, 1e-12, "bound %g, recomputed %g", v, bound);
        cr_assert(reversed ? mean > 0.5 : mean < -0.5, "planted mean correlation %g", mean);
    }
    *entry(&set, 1, "order_rho") = NAN;
    cr_assert_eq(row_verdict(&set, &o, "Spearman(t_learn", NULL), AC_VERDICT_FAIL, "a NaN correlation");
    free(t);
    free(co);
    ac_trial_set_clear(&set);
}
