/* The claim record, its judging and the registry (verify/claim.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "verify/claim.h"
#include "verify/trial.h"

static const ac_claim_def fake = {.id = "x.fake", .paper = "x", .statement = "a statement"};

/* One row judged alone: its verdict. */
static ac_verdict judge_one(ac_metric m, double t, double e, double tol)
{
    ac_claim_result r;
    ac_claim_result_init(&r, &fake);
    cr_assert_not_null(ac_claim_add(&r, "q", "t", t, e, m, tol, "why"));
    ac_claim_judge(&r);
    ac_verdict v = r.rows[0].verdict;
    cr_assert_eq(r.verdict, v); /* one row: the claim is what it is */
    ac_claim_result_clear(&r);
    return v;
}

Test(claim, each_metric_passes_at_its_bound_and_fails_past_it)
{
    /* values exactly representable, so the bound itself is exact */
    cr_assert_eq(judge_one(AC_METRIC_ABS, 1.0, 1.25, 0.25), AC_VERDICT_PASS);
    cr_assert_eq(judge_one(AC_METRIC_ABS, 1.0, 0.75, 0.25), AC_VERDICT_PASS);
    cr_assert_eq(judge_one(AC_METRIC_ABS, 1.0, 1.5, 0.25), AC_VERDICT_FAIL);
    cr_assert_eq(judge_one(AC_METRIC_REL, 4.0, 5.0, 0.25), AC_VERDICT_PASS);
    cr_assert_eq(judge_one(AC_METRIC_REL, 4.0, 5.5, 0.25), AC_VERDICT_FAIL);
    cr_assert_eq(judge_one(AC_METRIC_AT_MOST, 0.0, 0.5, 0.5), AC_VERDICT_PASS);
    cr_assert_eq(judge_one(AC_METRIC_AT_MOST, 0.0, -7.0, 0.0), AC_VERDICT_PASS);
    cr_assert_eq(judge_one(AC_METRIC_AT_MOST, 0.0, 0.75, 0.5), AC_VERDICT_FAIL);
    cr_assert_eq(judge_one(AC_METRIC_AT_LEAST, 1.0, 0.75, 0.25), AC_VERDICT_PASS);
    cr_assert_eq(judge_one(AC_METRIC_AT_LEAST, 1.0, 3.0, 0.0), AC_VERDICT_PASS);
    cr_assert_eq(judge_one(AC_METRIC_AT_LEAST, 1.0, 0.5, 0.25), AC_VERDICT_FAIL);
    cr_assert_eq(judge_one(AC_METRIC_INFO, 1.0, 1e300, 0.0), AC_VERDICT_INFO);
}

Test(claim, a_nan_fails_every_judged_metric)
{
    for (int m = AC_METRIC_ABS; m <= AC_METRIC_AT_LEAST; m++) {
        cr_assert_eq(judge_one((ac_metric)m, 1.0, NAN, 1.0), AC_VERDICT_FAIL, "metric %d", m);
        cr_assert_eq(judge_one((ac_metric)m, NAN, 1.0, 1.0), AC_VERDICT_FAIL, "metric %d", m);
    }
}

Test(claim, one_failing_row_or_an_error_fails_the_claim)
{
    ac_claim_result r;
    ac_claim_result_init(&r, &fake);
    ac_claim_add(&r, "a", "", 0.0, 0.0, AC_METRIC_AT_MOST, 0.0, "exact");
    ac_claim_add(&r, "b", "", 0.0, 1.0, AC_METRIC_AT_MOST, 0.5, "why");
    ac_claim_judge(&r);
    cr_assert_eq(r.verdict, AC_VERDICT_FAIL);
    r.rows[1].empirical = 0.25;
    ac_claim_judge(&r);
    cr_assert_eq(r.verdict, AC_VERDICT_PASS);
    r.status = AC_ENOCONV;
    ac_claim_judge(&r);
    cr_assert_eq(r.verdict, AC_VERDICT_FAIL);
    ac_claim_result_clear(&r);
}

/* A claim's regress allowance is its def's where the def gives one, else
 * the default with its reason (seen to fail with ac_claim_result_init
 * ignoring the def's). */
Test(claim, regress_allowance_comes_from_the_def_or_the_default)
{
    static const ac_claim_def loose = {.id = "x.loose", .paper = "x", .statement = "s", .regress_rtol = 1e-6,
                                       .regress_reason = "a solve's stopping test"};
    ac_claim_result r;
    ac_claim_result_init(&r, &loose);
    cr_assert_eq(r.regress_rtol, 1e-6);
    cr_assert_str_eq(r.regress_reason, "a solve's stopping test");
    ac_claim_result_clear(&r);
    ac_claim_result_init(&r, &fake);
    cr_assert_eq(r.regress_rtol, AC_REGRESS_RTOL_DEFAULT);
    cr_assert_str_neq(r.regress_reason, "");
    ac_claim_result_clear(&r);
}

/* A claim whose rows are all INFO judged nothing: INFO, not PASS; one
 * judged row makes it PASS or FAIL; no row at all is INFO too (seen to
 * fail with the claim's verdict started at PASS and left there). */
Test(claim, a_claim_that_judges_nothing_is_info_not_pass)
{
    ac_claim_result r;
    ac_claim_result_init(&r, &fake);
    ac_claim_judge(&r);
    cr_assert_eq(r.verdict, AC_VERDICT_INFO);
    ac_claim_add(&r, "shown", "", 1.0, 2.0, AC_METRIC_INFO, 0.0, "shown");
    ac_claim_add(&r, "shown too", "", NAN, NAN, AC_METRIC_INFO, 0.0, "shown");
    ac_claim_judge(&r);
    cr_assert_eq(r.verdict, AC_VERDICT_INFO);
    ac_claim_add(&r, "judged", "", 0.0, 0.25, AC_METRIC_AT_MOST, 0.5, "why");
    ac_claim_judge(&r);
    cr_assert_eq(r.verdict, AC_VERDICT_PASS);
    r.rows[2].empirical = 1.0;
    ac_claim_judge(&r);
    cr_assert_eq(r.verdict, AC_VERDICT_FAIL);
    r.rows[2].metric = AC_METRIC_INFO;
    r.status = AC_ENOCONV;
    ac_claim_judge(&r);
    cr_assert_eq(r.verdict, AC_VERDICT_FAIL, "an error fails even a claim that judges nothing");
    ac_claim_result_clear(&r);
}

/* ---- sticky errors: a row, figure or series that cannot be added makes
 *      the claim an error, never a silent PASS ---- */

static int one_trial(const ac_run_opts *o)
{
    (void)o;
    return 1;
}

static ac_status empty_trial(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    (void)o, (void)t, (void)msg;
    return AC_OK;
}

static ac_status too_many_rows(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)o, (void)set, (void)msg;
    for (int i = 0; i <= AC_CLAIM_MAX_ROWS; i++)
        ac_claim_add(res, "row", "", 0.0, 0.0, AC_METRIC_AT_MOST, 0.0, "exact");
    return AC_OK;
}

static ac_status series_without_y(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res,
                                  ac_msg *msg)
{
    (void)o, (void)set, (void)msg;
    double x[2] = {1.7312, 2.5};
    ac_claim_add(res, "a", "", 0.0, 0.0, AC_METRIC_AT_MOST, 0.0, "exact");
    ac_figure_add_series(ac_claim_add_figure(res, "f", "", "", "", 0, 0), "no y", 2, x, NULL, NULL, NULL);
    ac_claim_add_figure(res, "g", "", "", "", 0, 0); /* a later figure does not clear it */
    return AC_OK;
}

Test(claim, a_row_or_series_that_cannot_be_added_makes_the_claim_an_error)
{
    static const ac_trial_def rows_trials = {.ntrials = one_trial, .trial = empty_trial, .rows = too_many_rows},
                              ser_trials = {.ntrials = one_trial, .trial = empty_trial, .rows = series_without_y};
    static const ac_claim_def rows = {.id = "x.rows", .paper = "x", .statement = "", .trials = &rows_trials},
                              ser = {.id = "x.series", .paper = "x", .statement = "", .trials = &ser_trials};
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
    ac_claim_result r;
    cr_assert_eq(ac_claim_run(&rows, &o, &r), AC_ESIZE);
    cr_assert_eq(r.status, AC_ESIZE);
    cr_assert_eq(r.nrows, AC_CLAIM_MAX_ROWS, "the row past the limit is refused");
    cr_assert_eq(r.verdict, AC_VERDICT_FAIL, "every row passes, yet the claim fails");
    cr_assert(strstr(r.error, "x.rows") && strstr(r.error, "could not be added"), "%s", r.error);
    ac_claim_result_clear(&r);
    cr_assert_eq(ac_claim_run(&ser, &o, &r), AC_ENOMEM);
    cr_assert_eq(r.verdict, AC_VERDICT_FAIL);
    cr_assert_eq(r.figs[0].nseries, 0);
    ac_claim_result_clear(&r);
    /* a NULL figure (its add failed) takes no series and does not crash */
    cr_assert_eq(ac_figure_add_series(NULL, "s", 0, NULL, NULL, NULL, NULL), AC_EINVAL);
}

Test(claim, names_parse_back)
{
    for (int s = 0; s < 3; s++)
        cr_assert_eq(ac_size_parse(ac_size_str((ac_size)s)), s);
    for (int m = 0; m < 5; m++)
        cr_assert_eq(ac_metric_parse(ac_metric_str((ac_metric)m)), m);
    cr_assert_eq(ac_size_parse("huge"), -1);
}

/* Every claim id is PAPER.NAME with its paper's name, ids are unique, and
 * lookups find them. */
Test(registry, ids_are_unique_and_carry_their_paper)
{
    cr_assert_gt(ac_registry_npapers(), 0);
    for (int p = 0; p < ac_registry_npapers(); p++) {
        const ac_paper_def *P = ac_registry_paper(p);
        cr_assert_eq(ac_registry_find_paper(P->name), P);
        size_t ln = strlen(P->name);
        for (int i = 0; i < P->nclaims; i++) {
            const ac_claim_def *c = &P->claims[i];
            cr_assert(strncmp(c->id, P->name, ln) == 0 && c->id[ln] == '.', "%s: not %s.NAME", c->id, P->name);
            cr_assert_str_eq(c->paper, P->name);
            cr_assert(c->statement && c->statement[0], "%s: no statement", c->id);
            cr_assert(c->trials && c->trials->ntrials && c->trials->trial && c->trials->rows,
                      "%s: a claim is a trial definition (ntrials, trial, rows)", c->id);
            cr_assert_eq(ac_registry_find_claim(c->id), c, "%s: lookup finds another claim", c->id);
        }
    }
    cr_assert_null(ac_registry_find_claim("svm.nosuch"));
    cr_assert_null(ac_registry_paper(-1));
}

/* Every registered claim runs at quick size, and every row it judges states
 * a reason for its tolerance, as its regress allowance does: the project's
 * rule for honest numbers (seen to fail with moe.fit-equivalence's reason
 * dropped from its registry row). */
Test(registry, every_claim_runs_and_justifies_its_tolerances)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
    for (int p = 0; p < ac_registry_npapers(); p++) {
        const ac_paper_def *P = ac_registry_paper(p);
        for (int i = 0; i < P->nclaims; i++) {
            ac_claim_result r;
            ac_status st = ac_claim_run(&P->claims[i], &o, &r);
            cr_assert_eq(st, AC_OK, "%s: %s", P->claims[i].id, r.error);
            cr_assert_gt(r.nrows, 0, "%s: no rows", r.id);
            cr_assert(r.setup[0], "%s: no setup line", r.id);
            /* a registry row that sets regress_rtol says why, as the default does */
            cr_assert(r.regress_rtol > 0.0 && r.regress_reason[0], "%s: regress allowance %g without a reason",
                      r.id, r.regress_rtol);
            for (int k = 0; k < r.nrows; k++)
                if (r.rows[k].metric != AC_METRIC_INFO)
                    cr_assert(r.rows[k].tol_reason[0], "%s: row '%s' has no tolerance reason", r.id,
                              r.rows[k].quantity);
            ac_claim_result_clear(&r);
        }
    }
}
