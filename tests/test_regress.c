/* Regress (verify/regress.h) on claim results built here. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/testutil.h"
#include "verify/claim.h"
#include "verify/regress.h"
#include "verify/report.h"

static const ac_claim_def rdef_a = {.id = "fake.alpha", .paper = "fake", .statement = "Alpha."};
static const ac_claim_def rdef_b = {.id = "fake.beta", .paper = "fake", .statement = "Beta."};

/* Tolerance of the rows whose absolute part dominates: AC_REGRESS_TOL_FRACTION
 * of it is far above AC_REGRESS_RTOL_DEFAULT times the values used. */
#define TOL_WIDE 0.05

/* alpha: a value row whose allowed change is the tolerance part, a value row
 * with tol 0 (the relative part), a count; beta: one row. */
static void make_pair(ac_claim_result res[2])
{
    ac_claim_result_init(&res[0], &rdef_a);
    cr_assert_not_null(ac_claim_add(&res[0], "mean corr", "1", 1.0, 0.98731, AC_METRIC_ABS,
                                    TOL_WIDE, "trials"));
    cr_assert_not_null(ac_claim_add(&res[0], "residual", "0", 0.0, 1.7312e-3, AC_METRIC_INFO, 0.0,
                                    ""));
    ac_claim_row *w = ac_claim_add(&res[0], "iterations", "", 120, 131, AC_METRIC_INFO, 0, "");
    cr_assert_not_null(w);
    w->is_count = 1;
    ac_claim_judge(&res[0]);
    ac_claim_result_init(&res[1], &rdef_b);
    cr_assert_not_null(ac_claim_add(&res[1], "gap", "0", 0.0, 0.0173, AC_METRIC_AT_MOST, 0.1, ""));
    ac_claim_judge(&res[1]);
}

/* A deep copy through the claim API. */
static void copy_result(ac_claim_result *dst, const ac_claim_result *src)
{
    ac_claim_def def = {.id = src->id, .paper = src->paper, .statement = src->statement};
    ac_claim_result_init(dst, &def);
    for (int i = 0; i < src->nrows; i++) {
        const ac_claim_row *w = &src->rows[i];
        ac_claim_row *c = ac_claim_add(dst, w->quantity, w->theory_what, w->theory, w->empirical,
                                       w->metric, w->tol, w->tol_reason);
        cr_assert_not_null(c);
        *c = *w;
    }
    dst->verdict = src->verdict;
    dst->status = src->status;
    dst->regress_rtol = src->regress_rtol;
}

static void free_pair(ac_claim_result *res, int n)
{
    for (int i = 0; i < n; i++)
        ac_claim_result_clear(&res[i]);
}

/* Run the comparison into a memory stream; returns the report (malloc'ed). */
static char *compare(const ac_claim_result *base, int nb, const ac_claim_result *cur, int nc,
                     ac_regress_summary *sum)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    ac_msg msg = {{0}};
    cr_assert_eq(ac_regress_compare(f, base, nb, cur, nc, sum, &msg), AC_OK, "%s", msg.text);
    fclose(f);
    return text;
}

Test(regress, unchanged_results_move_nothing)
{
    ac_claim_result a[2], b[2];
    make_pair(a);
    make_pair(b);
    ac_regress_summary s;
    char *text = compare(a, 2, b, 2, &s);
    cr_assert_eq(s.compared, 4);
    cr_assert_eq(s.moved + s.verdict_changes + s.missing + s.added, 0, "%s", text);
    cr_assert(strstr(text, "regress: compared 4 rows of 2 claims; 0 numbers moved") != NULL, "%s",
              text);
    free(text);
    free_pair(a, 2);
    free_pair(b, 2);
}

/* Move one number of cur by factor * (the allowed change derived from the
 * constants); return the number of moved numbers reported. */
static int moved_after(int row, int empirical_side, double factor, char **report)
{
    ac_claim_result a[2], b[2];
    make_pair(a);
    make_pair(b);
    const ac_claim_row *w = &a[0].rows[row];
    double base = empirical_side ? w->empirical : w->theory;
    double allowed = w->is_count ? AC_REGRESS_COUNT_FRACTION * fabs(base)
                                 : fmax(AC_REGRESS_RTOL_DEFAULT * fabs(base),
                                        AC_REGRESS_TOL_FRACTION * fabs(w->tol));
    double *v = empirical_side ? &b[0].rows[row].empirical : &b[0].rows[row].theory;
    *v = base + factor * allowed;
    cr_assert_neq(*v, base, "the perturbation must be representable");
    ac_regress_summary s;
    *report = compare(a, 2, b, 2, &s);
    cr_assert_eq(s.verdict_changes + s.missing + s.added, 0);
    free_pair(a, 2);
    free_pair(b, 2);
    return s.moved;
}

/* Just above: 1 + 1e-6 of the allowed change; just below: 1 - 1e-6.  The
 * margin is far above the rounding of base + factor * allowed (ulps of base
 * relative to allowed: at most 2^-52 * 1 / 5e-5 ~ 1e-11 for the tol part,
 * 2^-52 / 1e-9 ~ 2e-7 for the relative part). */
#define JUST_ABOVE (1.0 + 1e-6)
#define JUST_BELOW (1.0 - 1e-6)

Test(regress, change_just_above_the_allowed_is_reported_just_below_is_not)
{
    struct {
        int row, side;
        const char *what;
    } cases[] = {{0, 1, "fake.alpha | mean corr | empirical"},
                 {0, 0, "fake.alpha | mean corr | theory"},
                 {1, 1, "fake.alpha | residual | empirical"},
                 {2, 1, "fake.alpha | iterations | empirical"},
                 {2, 0, "fake.alpha | iterations | theory"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char *text;
        int n = moved_after(cases[k].row, cases[k].side, JUST_ABOVE, &text);
        cr_assert_eq(n, 1, "%s: a change just above the allowed is not reported:\n%s",
                     cases[k].what, text);
        cr_assert(strstr(text, cases[k].what) != NULL, "'%s' not in:\n%s", cases[k].what, text);
        cr_assert(strstr(text, "allowed") != NULL);
        free(text);
        n = moved_after(cases[k].row, cases[k].side, -JUST_ABOVE, &text);
        cr_assert_eq(n, 1, "%s: downwards", cases[k].what);
        free(text);
        n = moved_after(cases[k].row, cases[k].side, JUST_BELOW, &text);
        cr_assert_eq(n, 0, "%s: a change just below the allowed is reported:\n%s", cases[k].what,
                     text);
        free(text);
    }
}

Test(regress, claim_rtol_widens_the_allowed_change)
{
    ac_claim_result a[2], b[2];
    make_pair(a);
    make_pair(b);
    /* the tol-0 row: allowed is rtol |base|, with the current claim's rtol */
    double base = a[0].rows[1].empirical, rtol = 1e-4;
    b[0].regress_rtol = rtol;
    b[0].rows[1].empirical = base + JUST_BELOW * rtol * base;
    ac_regress_summary s;
    char *text = compare(a, 2, b, 2, &s);
    cr_assert_eq(s.moved, 0, "%s", text);
    free(text);
    b[0].rows[1].empirical = base + JUST_ABOVE * rtol * base;
    text = compare(a, 2, b, 2, &s);
    cr_assert_eq(s.moved, 1, "%s", text);
    free(text);
    free_pair(a, 2);
    free_pair(b, 2);
}

/* The test is strict: a change equal to the allowed one has not moved, the
 * next double below the change as allowed has.  The change is exact: cur and
 * base are within a factor 2 of each other (Sterbenz), so cur - base is the
 * double fabs() sees. */
Test(regress, change_equal_to_the_allowed_is_not_a_move)
{
    gsl_rng *rng = ac_test_rng(11);
    for (int c = 0; c < ac_test_cases(50); c++) {
        double base = 1.0 + gsl_rng_uniform(rng), tol = gsl_rng_uniform(rng);
        double cur = base + ac_regress_allowed(base, AC_REGRESS_RTOL_DEFAULT, tol, c % 2);
        double change = cur - base;
        cr_assert_gt(change, 0.0, "case %d", c);
        cr_assert_not(ac_regress_moved(base, cur, change), "case %d: equal is no move", c);
        cr_assert(ac_regress_moved(base, cur, nextafter(change, 0.0)), "case %d", c);
        cr_assert_not(ac_regress_moved(cur, base, change), "case %d: downwards", c);
    }
    gsl_rng_free(rng);
}

/* A claim whose rtol is negative or NaN gets the default: the tol-0 row then
 * allows AC_REGRESS_RTOL_DEFAULT |base|, on both sides of it. */
Test(regress, negative_or_nan_rtol_falls_back_to_the_default)
{
    const double bad[] = {-1e-4, NAN};
    for (int k = 0; k < 2; k++) {
        ac_claim_result a[2], b[2];
        make_pair(a);
        make_pair(b);
        double base = a[0].rows[1].empirical;
        b[0].regress_rtol = bad[k];
        b[0].rows[1].empirical = base + JUST_BELOW * AC_REGRESS_RTOL_DEFAULT * base;
        ac_regress_summary s;
        char *text = compare(a, 2, b, 2, &s);
        cr_assert_eq(s.moved, 0, "rtol %g: %s", bad[k], text);
        free(text);
        b[0].rows[1].empirical = base + JUST_ABOVE * AC_REGRESS_RTOL_DEFAULT * base;
        text = compare(a, 2, b, 2, &s);
        cr_assert_eq(s.moved, 1, "rtol %g: %s", bad[k], text);
        free(text);
        free_pair(a, 2);
        free_pair(b, 2);
    }
}

Test(regress, allowed_change_follows_the_formula)
{
    gsl_rng *rng = ac_test_rng(7);
    for (int c = 0; c < ac_test_cases(50); c++) {
        double base = gsl_ran_gaussian(rng, 3.0), tol = gsl_rng_uniform(rng),
               rtol = gsl_rng_uniform(rng) * 1e-3;
        cr_assert_eq(ac_regress_allowed(base, rtol, tol, 0),
                     fmax(rtol * fabs(base), AC_REGRESS_TOL_FRACTION * tol), "case %d", c);
        cr_assert_eq(ac_regress_allowed(base, rtol, tol, 1), AC_REGRESS_COUNT_FRACTION * fabs(base));
    }
    gsl_rng_free(rng);
    cr_assert_eq(ac_regress_allowed(2.0, 0.0, NAN, 0), 0.0, "a NaN tol counts as 0");
    cr_assert_not(ac_regress_moved(NAN, NAN, 0.0), "two NaNs are equal");
    cr_assert(ac_regress_moved(NAN, 1.0, INFINITY));
    cr_assert(ac_regress_moved(1.0, NAN, INFINITY));
    cr_assert_not(ac_regress_moved(INFINITY, INFINITY, 0.0));
    cr_assert(ac_regress_moved(INFINITY, -INFINITY, INFINITY));
    cr_assert(ac_regress_moved(1.0, INFINITY, INFINITY));
    cr_assert_not(ac_regress_moved(-0.0, 0.0, 0.0));
}

Test(regress, verdict_change_is_reported)
{
    ac_claim_result a[2], b[2];
    make_pair(a);
    make_pair(b);
    /* beta's gap moves past its bound: a moved number, a row and a claim verdict */
    b[1].rows[0].empirical = 0.25;
    ac_claim_judge(&b[1]);
    cr_assert_eq(b[1].verdict, AC_VERDICT_FAIL);
    ac_regress_summary s;
    char *text = compare(a, 2, b, 2, &s);
    cr_assert_eq(s.verdict_changes, 2, "%s", text);
    cr_assert_eq(s.moved, 1);
    cr_assert(strstr(text, "fake.beta: verdict PASS -> FAIL") != NULL, "%s", text);
    cr_assert(strstr(text, "fake.beta | gap: verdict PASS -> FAIL") != NULL, "%s", text);
    free(text);

    /* a verdict change with no number moved still counts */
    b[1].rows[0].empirical = a[1].rows[0].empirical;
    b[1].rows[0].verdict = AC_VERDICT_INFO;
    b[1].verdict = AC_VERDICT_PASS;
    text = compare(a, 2, b, 2, &s);
    cr_assert_eq(s.verdict_changes, 1, "%s", text);
    cr_assert_eq(s.moved, 0);
    free(text);

    /* a claim that now cannot run */
    b[1].rows[0].verdict = a[1].rows[0].verdict;
    b[1].status = AC_ENOCONV;
    snprintf(b[1].error, sizeof b[1].error, "fake.beta: no convergence in 50 steps");
    text = compare(a, 2, b, 2, &s);
    cr_assert_eq(s.verdict_changes, 1, "%s", text);
    cr_assert(strstr(text, "no convergence in 50 steps") != NULL, "%s", text);
    free(text);
    free_pair(a, 2);
    free_pair(b, 2);
}

Test(regress, missing_and_added_claims_and_rows_are_reported)
{
    ac_claim_result a[2], b[2];
    make_pair(a);
    make_pair(b);
    ac_regress_summary s;
    /* beta gone */
    char *text = compare(a, 2, b, 1, &s);
    cr_assert_eq(s.missing, 1);
    cr_assert_eq(s.added, 0);
    cr_assert(strstr(text, "fake.beta: claim missing from the current results") != NULL, "%s",
              text);
    free(text);
    /* beta new */
    text = compare(a, 1, b, 2, &s);
    cr_assert_eq(s.missing, 0);
    cr_assert_eq(s.added, 1);
    cr_assert(strstr(text, "fake.beta: claim added") != NULL, "%s", text);
    free(text);
    /* a row renamed: one missing, one added */
    snprintf(b[0].rows[1].quantity, sizeof b[0].rows[1].quantity, "residual norm");
    text = compare(a, 2, b, 2, &s);
    cr_assert_eq(s.missing, 1, "%s", text);
    cr_assert_eq(s.added, 1);
    cr_assert_eq(s.compared, 3);
    cr_assert(strstr(text, "fake.alpha | residual: row missing") != NULL, "%s", text);
    cr_assert(strstr(text, "fake.alpha | residual norm: row added") != NULL, "%s", text);
    free(text);
    /* only the summary */
    ac_msg msg = {{0}};
    cr_assert_eq(ac_regress_compare(NULL, a, 2, b, 0, &s, &msg), AC_OK);
    cr_assert_eq(s.missing, 2);
    cr_assert_eq(ac_regress_compare(NULL, a, -1, b, 0, &s, &msg), AC_EINVAL);
    cr_assert_eq(ac_regress_compare(NULL, a, 2, b, 2, NULL, &msg), AC_EINVAL);
    free_pair(a, 2);
    free_pair(b, 2);
}

Test(regress, repeated_quantities_match_in_order)
{
    ac_claim_result a[1], b[1];
    ac_claim_result_init(&a[0], &rdef_a);
    for (int i = 0; i < 3; i++)
        cr_assert_not_null(ac_claim_add(&a[0], "trial", "", 0, 1.7312 * i, AC_METRIC_INFO, 0, ""));
    copy_result(&b[0], &a[0]);
    b[0].rows[2].empirical *= 1.5;
    ac_regress_summary s;
    char *text = compare(a, 1, b, 1, &s);
    cr_assert_eq(s.compared, 3);
    cr_assert_eq(s.moved, 1, "%s", text);
    free(text);
    free_pair(a, 1);
    free_pair(b, 1);
}

/* Write the n results as a JSON report into a new file whose name mkstemp
 * makes from path ("/tmp/ac_regress_XXXXXX"). */
static void write_json(const ac_claim_result *res, int n, char *path)
{
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    ac_msg msg = {{0}};
    cr_assert_eq(ac_report_write(f, AC_FMT_JSON, NULL, res, n, NULL, &msg), AC_OK, "%s", msg.text);
    fclose(f);
}

/* A baseline written as JSON and read back is the same run: nothing moves. */
Test(regress, json_baseline_of_the_same_results_moves_nothing)
{
    ac_claim_result a[2];
    make_pair(a);
    a[0].rows[1].empirical = NAN;
    char path[] = "/tmp/ac_regress_XXXXXX";
    write_json(a, 2, path);
    ac_msg msg = {{0}};
    ac_report_set set;
    cr_assert_eq(ac_report_read_json(path, &set, &msg), AC_OK, "%s", msg.text);
    unlink(path);
    ac_regress_summary s;
    char *text = compare(set.res, set.nres, a, 2, &s);
    cr_assert_eq(s.compared, 4);
    cr_assert_eq(s.moved + s.verdict_changes + s.missing + s.added, 0, "%s", text);
    free(text);
    ac_report_set_clear(&set);
    free_pair(a, 2);
}

/* A tolerance that moves is reported even when the row's numbers and verdict
 * stay: 10x looser (the size of the faults of tests/faults that nothing saw
 * before), 1 + 1e-6 of the allowed change either way, and just below it. */
Test(regress, a_tolerance_that_moves_is_reported_with_the_numbers_unchanged)
{
    struct {
        double factor; /* tol_new = tol_base + factor * allowed, or tol_base * -factor for < 0 */
        int moved;
    } cases[] = {{-10.0, 1}, {JUST_ABOVE, 1}, {-JUST_ABOVE, 1}, {JUST_BELOW, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ac_claim_result a[2], b[2];
        make_pair(a);
        make_pair(b);
        double base = a[1].rows[0].tol;
        double allowed = fmax(AC_REGRESS_RTOL_DEFAULT, AC_REGRESS_TOL_FRACTION) * fabs(base);
        b[1].rows[0].tol = cases[k].factor == -10.0 ? 10.0 * base : base + cases[k].factor * allowed;
        ac_claim_judge(&b[1]);
        ac_regress_summary s;
        char *text = compare(a, 2, b, 2, &s);
        cr_assert_eq(s.verdict_changes + s.missing + s.added, 0, "case %zu:\n%s", k, text);
        cr_assert_eq(s.moved, cases[k].moved, "case %zu: tol %.17g -> %.17g:\n%s", k, base,
                     b[1].rows[0].tol, text);
        if (cases[k].moved)
            cr_assert(strstr(text, "fake.beta | gap | tolerance") != NULL, "%s", text);
        free(text);
        free_pair(a, 2);
        free_pair(b, 2);
    }
}

/* A row's regress_abs (verify/claim.h): the current row's absolute
 * allowance.  The residual row (1.7e-3, tol 0: allowed AC_REGRESS_RTOL_DEFAULT
 * |base| = 1.7e-12 alone) with a scale of 1e-11 sees a change of 0.9e-11 as
 * no move, of 1.1e-11 as one; without the scale, or with it on the baseline's
 * row only, the smaller change moves; a count ignores it. */
Test(regress, a_rows_regress_abs_is_an_absolute_allowance_read_from_the_current_row)
{
    const double scale = 1e-11;
    struct {
        double change, abs_base, abs_cur;
        int moved;
    } cases[] = {{0.9 * scale, 0.0, scale, 0}, {1.1 * scale, 0.0, scale, 1}, {0.9 * scale, scale, 0.0, 1},
                 {0.9 * scale, 0.0, 0.0, 1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ac_claim_result a[2], b[2];
        make_pair(a);
        make_pair(b);
        a[0].rows[1].regress_abs = cases[k].abs_base;
        b[0].rows[1].regress_abs = cases[k].abs_cur;
        b[0].rows[1].empirical += cases[k].change;
        ac_regress_summary s;
        char *text = compare(a, 2, b, 2, &s);
        cr_assert_eq(s.moved, cases[k].moved, "case %zu: change %g, regress_abs %g (base) %g (current):\n%s",
                     k, cases[k].change, cases[k].abs_base, cases[k].abs_cur, text);
        free(text);
        free_pair(a, 2);
        free_pair(b, 2);
    }
    /* a count row: its percentage, whatever regress_abs says */
    ac_claim_result a[2], b[2];
    make_pair(a);
    make_pair(b);
    b[0].rows[2].regress_abs = 1e9;
    b[0].rows[2].empirical *= 1.5;
    ac_regress_summary s;
    char *text = compare(a, 2, b, 2, &s);
    cr_assert_eq(s.moved, 1, "%s", text);
    free(text);
    free_pair(a, 2);
    free_pair(b, 2);
}

/* Write the JSON document j to path. */
static void dump_to(const json_t *j, const char *path)
{
    cr_assert_eq(json_dump_file(j, path, JSON_INDENT(1)), 0, "cannot write %s", path);
}

/* Set (value non-NULL) or delete every row's "regress_abs" of the document. */
static void each_row_regress_abs(json_t *doc, json_t *value)
{
    size_t i, k;
    json_t *c, *r;
    json_array_foreach(json_object_get(doc, "claims"), i, c)
        json_array_foreach(json_object_get(c, "rows"), k, r)
        {
            if (value)
                json_object_set(r, "regress_abs", value);
            else
                json_object_del(r, "regress_abs");
        }
}

/* regress_abs goes through the JSON baseline; a baseline written before the
 * key existed reads with 0 (no allowance), and a key of the wrong type is
 * refused by name. */
Test(regress, regress_abs_round_trips_and_an_older_baseline_without_it_reads_as_zero)
{
    ac_claim_result a[2];
    make_pair(a);
    a[0].rows[1].regress_abs = 2.5e-12;
    char path[] = "/tmp/ac_regress_XXXXXX";
    write_json(a, 2, path);
    ac_msg msg = {{0}};
    ac_report_set set;
    cr_assert_eq(ac_report_read_json(path, &set, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(set.res[0].rows[1].regress_abs, 2.5e-12, "regress_abs not read back");
    ac_report_set_clear(&set);
    json_error_t err;
    json_t *doc = json_load_file(path, 0, &err);
    cr_assert_not_null(doc, "%s", err.text);
    each_row_regress_abs(doc, NULL); /* an older baseline */
    dump_to(doc, path);
    cr_assert_eq(ac_report_read_json(path, &set, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(set.res[0].rows[1].regress_abs, 0.0);
    ac_report_set_clear(&set);
    json_t *str = json_string("x");
    each_row_regress_abs(doc, str); /* a string where the number belongs */
    dump_to(doc, path);
    cr_assert_neq(ac_report_read_json(path, &set, &msg), AC_OK);
    cr_assert(strstr(msg.text, "regress_abs") != NULL, "%s", msg.text);
    json_decref(str);
    json_decref(doc);
    unlink(path);
    free_pair(a, 2);
}
