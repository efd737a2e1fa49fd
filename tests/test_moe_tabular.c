/* Categorical tables (verify/moe_tabular.h, spec cbow_moe §3.1-§3.2,
 * §3.6): quantile bins, the covariate-shift simulation, the CSV reader,
 * its filter and every bad input it refuses, Auto MPG's preparation. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/moe_tabular.h"
#include "tests/testutil.h"

Test(moe_tabular, qcut_bins_are_balanced_and_ordered)
{
    gsl_rng *r = ac_test_rng(51);
    int cases = ac_test_cases(50);
    for (int cs = 0; cs < cases; cs++) {
        int n = 1 + (int)gsl_rng_uniform_int(r, 400), q = 1 + (int)gsl_rng_uniform_int(r, 10);
        if (q > n)
            q = n;
        double *x = malloc((size_t)n * sizeof(double));
        int *bin = malloc((size_t)n * sizeof(int)), *count = calloc((size_t)q, sizeof(int));
        for (int k = 0; k < n; k++)
            x[k] = gsl_ran_gaussian(r, 1.7312);
        ac_msg msg;
        ac_status st = ac_moe_qcut(x, n, q, bin, &msg);
        if (n > 1 || q == 1) {
            cr_assert_eq(st, AC_OK, "seed %lu case %d n %d q %d: %s", ac_test_seed(51), cs, n, q, msg.text);
        } else {
            continue;
        }
        for (int k = 0; k < n; k++) {
            cr_assert(bin[k] >= 0 && bin[k] < q);
            count[bin[k]]++;
            for (int j = 0; j < n; j++) /* monotone: a larger value never gets a smaller bin */
                cr_assert(!(x[j] > x[k] && bin[j] < bin[k]), "case %d", cs);
        }
        /* Continuous data: each bin holds n/q rows up to the two edge
         * points and the interpolation, so within 2 of n/q. */
        for (int b = 0; b < q; b++)
            cr_assert(fabs(count[b] - (double)n / q) <= 2.0, "case %d bin %d: %d of %d/%d", cs, b, count[b], n,
                      q);
        free(x);
        free(bin);
        free(count);
    }
    gsl_rng_free(r);
}

Test(moe_tabular, qcut_follows_the_right_closed_rule_on_a_small_case)
{
    /* Sorted 1..5, q = 2: edges 1, 3, 5; (1, 3] and (3, 5], 1 in bin 0. */
    double x[5] = {3, 1, 5, 2, 4};
    int bin[5], want[5] = {0, 0, 1, 0, 1};
    cr_assert_eq(ac_moe_qcut(x, 5, 2, bin, NULL), AC_OK);
    for (int k = 0; k < 5; k++)
        cr_assert_eq(bin[k], want[k], "x %g", x[k]);
    double tied[4] = {1, 1, 1, 2};
    ac_msg msg;
    cr_assert_eq(ac_moe_qcut(tied, 4, 2, bin, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "tied"), "%s", msg.text);
    double bad[2] = {1, NAN};
    cr_assert_eq(ac_moe_qcut(bad, 2, 2, bin, NULL), AC_EINVAL);
}

Test(moe_tabular, simulation_has_its_shape_and_replays_from_its_seed)
{
    ac_moe_shift_settings s;
    for (int k = 0; k < AC_MOE_SHIFT_NSETTINGS; k++) {
        cr_assert_eq(ac_moe_shift_setting(k, &s), AC_OK);
        s.n = 200;
        gsl_rng *r = ac_test_rng(52 + (unsigned long)k);
        ac_moe_tab a, b, c, d;
        ac_moe_tab_init(&a), ac_moe_tab_init(&b), ac_moe_tab_init(&c), ac_moe_tab_init(&d);
        cr_assert_eq(ac_moe_shift_generate(&s, r, &a, &b, NULL), AC_OK);
        gsl_rng_set(r, ac_test_seed(52 + (unsigned long)k));
        cr_assert_eq(ac_moe_shift_generate(&s, r, &c, &d, NULL), AC_OK);
        cr_assert_eq(a.n, 200);
        cr_assert_eq(a.L, 6);
        cr_assert_eq(a.ncat, 10);
        cr_assert(!memcmp(a.X, c.X, 200 * 6 * sizeof(int)) && !memcmp(b.X, d.X, 200 * 6 * sizeof(int)));
        /* Pooled deciles: every column has 40 of the 400 rows per bin. */
        for (int j = 0; j < 6; j++)
            for (int v = 0; v < 10; v++) {
                int cnt = 0;
                for (int i = 0; i < 200; i++)
                    cnt += (a.X[i * 6 + j] == v) + (b.X[i * 6 + j] == v);
                cr_assert_eq(cnt, 40, "setting %d column %d bin %d", k, j, v);
            }
        ac_moe_tab_clear(&a), ac_moe_tab_clear(&b), ac_moe_tab_clear(&c), ac_moe_tab_clear(&d);
        gsl_rng_free(r);
    }
    cr_assert_eq(ac_moe_shift_setting(12, &s), AC_EINVAL);
    ac_moe_shift_settings_default(&s);
    s.corr = 1.5;
    cr_assert(ac_moe_shift_settings_check(&s));
    ac_moe_shift_settings_default(&s);
    s.ncore = 6;
    cr_assert(ac_moe_shift_settings_check(&s));
}

Test(moe_tabular, simulation_shifts_the_correlation)
{
    /* Unbinned check through the bins: with corr 0.9 in training, columns
     * 2 and 3 (same sign) agree in bin far more often than in the test
     * (corr 0.1).  With 2000 rows, agreement rates differ by > 0.1 while
     * their sampling SD is ~0.01. */
    ac_moe_shift_settings s;
    ac_moe_shift_setting(3, &s); /* 1/0.9/0 */
    gsl_rng *r = ac_test_rng(53);
    ac_moe_tab a, b;
    ac_moe_tab_init(&a), ac_moe_tab_init(&b);
    cr_assert_eq(ac_moe_shift_generate(&s, r, &a, &b, NULL), AC_OK);
    double ta = 0, tb = 0;
    for (int i = 0; i < s.n; i++) {
        ta += abs(a.X[i * 6 + 2] - a.X[i * 6 + 3]) <= 1;
        tb += abs(b.X[i * 6 + 2] - b.X[i * 6 + 3]) <= 1;
    }
    cr_assert(ta / s.n - tb / s.n > 0.1, "train %g test %g", ta / s.n, tb / s.n);
    ac_moe_tab_clear(&a), ac_moe_tab_clear(&b);
    gsl_rng_free(r);
}

static ac_status parse(const char *text, ac_moe_csv *c, ac_msg *msg)
{
    return ac_moe_csv_parse(text, "t.csv", c, msg);
}

Test(moe_tabular, csv_filter_and_table)
{
    ac_moe_csv c;
    ac_msg msg;
    cr_assert_eq(parse("# a comment\n a , b,y ,g\n\n0,1,2,tr\n1, 2 ,0,te\n2,0,1,tr\n", &c, &msg), AC_OK, "%s",
                 msg.text);
    cr_assert_eq(c.ncol, 4);
    cr_assert_eq(c.nrow, 3);
    cr_assert_eq(c.line[0], 4);
    cr_assert_str_eq(c.name[0], "a");
    cr_assert_str_eq(c.name[2], "y");
    ac_moe_filter f;
    cr_assert_eq(ac_moe_filter_parse("g=tr", &c, &f, &msg), AC_OK);
    int feat[2] = {0, 1};
    ac_moe_tab t;
    cr_assert_eq(ac_moe_csv_table(&c, &f, feat, 2, 2, 3, &t, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(t.n, 2);
    int want[6] = {0, 1, 2, 2, 0, 1};
    cr_assert(!memcmp(t.X, want, sizeof want));
    ac_moe_tab_clear(&t);
    cr_assert_eq(ac_moe_filter_parse("g = tr , te", &c, &f, &msg), AC_OK);
    cr_assert_eq(ac_moe_csv_table(&c, &f, feat, 2, 2, 3, &t, &msg), AC_OK);
    cr_assert_eq(t.n, 3);
    ac_moe_tab_clear(&t);
    /* Bad filters. */
    cr_assert_eq(ac_moe_filter_parse("g", &c, &f, &msg), AC_EINVAL);
    cr_assert_eq(ac_moe_filter_parse("h=1", &c, &f, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "no column 'h'"), "%s", msg.text);
    cr_assert_eq(ac_moe_filter_parse("g=tr,", &c, &f, &msg), AC_EINVAL);
    cr_assert_eq(ac_moe_filter_parse("g=none", &c, &f, &msg), AC_OK);
    cr_assert_eq(ac_moe_csv_table(&c, &f, feat, 2, 2, 3, &t, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "selects no rows"), "%s", msg.text);
    /* A category outside the vocabulary: line and column named. */
    cr_assert_eq(ac_moe_filter_parse("g=te", &c, &f, &msg), AC_OK);
    cr_assert_eq(ac_moe_csv_table(&c, &f, feat, 2, 2, 2, &t, &msg), AC_EPARSE);
    cr_assert(strstr(msg.text, "t.csv:5: column b (column 2): category 2 is outside the vocabulary 0..1"), "%s",
              msg.text);
    ac_moe_csv_clear(&c);
}

/* Each bad CSV is refused with the file, the line and (for a cell) the column. */
Test(moe_tabular, bad_csv_inputs_are_refused_with_file_line_and_column)
{
    struct {
        const char *text, *want;
    } bad[] = {
        {"", "t.csv: empty file"},
        {"\n  \n# only a comment\n", "t.csv: empty file"},
        {"a,b\n", "no data rows"},
        {"a,b\n1,2\n3\n", "t.csv:3: 1 cells, the header has 2"},
        {"a,b\n1,2,3\n", "t.csv:2: 3 cells, the header has 2"},
        {"a,,c\n1,2,3\n", "t.csv:1: column 2 has an empty name"},
        {"a,a\n1,2\n", "repeated"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ac_moe_csv c;
        ac_msg msg;
        cr_assert_eq(parse(bad[k].text, &c, &msg), AC_EPARSE, "case %zu", k);
        cr_assert(strstr(msg.text, bad[k].want), "case %zu: %s", k, msg.text);
        cr_assert_eq(c.nrow, 0);
        ac_moe_csv_clear(&c);
    }
    struct {
        const char *text, *want;
    } cells[] = {
        {"a,y\n1,\n", "t.csv:2: column y (column 2): missing value"},
        {"a,y\n1,0\nx1,1\n", "t.csv:3: column a (column 1): 'x1' is not a category number"},
        {"a,y\n1.5,0\n", "'1.5' is not a category number"},
        {"a,y\n-1,0\n", "t.csv:2: column a (column 1): category -1 is negative: categories are whole numbers 0..K-1"},
        {"a,y\n4,0\n", "t.csv:2: column a (column 1): category 4 is outside the vocabulary 0..3"},
    };
    for (size_t k = 0; k < sizeof cells / sizeof cells[0]; k++) {
        ac_moe_csv c;
        ac_moe_tab t;
        ac_msg msg;
        cr_assert_eq(parse(cells[k].text, &c, &msg), AC_OK);
        int feat[1] = {0};
        cr_assert_eq(ac_moe_csv_table(&c, NULL, feat, 1, 1, 4, &t, &msg), AC_EPARSE, "case %zu", k);
        cr_assert(strstr(msg.text, cells[k].want), "case %zu: %s", k, msg.text);
        cr_assert_null(t.X);
        ac_moe_csv_clear(&c);
    }
    /* K not given (ncat 0): the table's K is 1 + its largest category, and
     * a category past the reader's limit is named as that limit, not as a
     * vocabulary the user gave (it read "outside the vocabulary 0..999"). */
    {
        ac_moe_csv c;
        ac_moe_tab t;
        ac_msg msg;
        int feat[1] = {0};
        cr_assert_eq(parse("a,y\n2,0\n5,1\n", &c, &msg), AC_OK);
        cr_assert_eq(ac_moe_csv_table(&c, NULL, feat, 1, 1, 0, &t, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(t.ncat, 6);
        ac_moe_tab_clear(&t);
        cr_assert_eq(ac_moe_csv_table(&c, NULL, feat, 1, 1, AC_MOE_TAB_NCAT_MAX + 1, &t, &msg), AC_EINVAL);
        cr_assert(strstr(msg.text, "more than AC_MOE_TAB_NCAT_MAX"), "%s", msg.text);
        ac_moe_csv_clear(&c);
        char text[64], want[160];
        snprintf(text, sizeof text, "a,y\n1,0\n%d,1\n", AC_MOE_TAB_NCAT_MAX);
        cr_assert_eq(parse(text, &c, &msg), AC_OK);
        cr_assert_eq(ac_moe_csv_table(&c, NULL, feat, 1, 1, 0, &t, &msg), AC_EPARSE);
        snprintf(want, sizeof want, "t.csv:3: column a (column 1): category %d is above %d, the largest this reader "
                 "takes (at most %d categories", AC_MOE_TAB_NCAT_MAX, AC_MOE_TAB_NCAT_MAX - 1, AC_MOE_TAB_NCAT_MAX);
        cr_assert(strstr(msg.text, want), "%s", msg.text);
        cr_assert_null(t.X);
        ac_moe_csv_clear(&c);
    }
    ac_moe_csv c;
    ac_msg msg;
    cr_assert_eq(ac_moe_csv_read("/nonexistent/x.csv", &c, &msg), AC_EIO);
    cr_assert(strstr(msg.text, "/nonexistent/x.csv: cannot open"), "%s", msg.text);
}

Test(moe_tabular, written_tables_read_back_equal)
{
    ac_moe_shift_settings s;
    ac_moe_shift_setting(7, &s);
    s.n = 50;
    gsl_rng *r = ac_test_rng(54);
    ac_moe_tab a, b, a2, b2;
    ac_moe_tab_init(&a), ac_moe_tab_init(&b);
    cr_assert_eq(ac_moe_shift_generate(&s, r, &a, &b, NULL), AC_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(ac_moe_tab_write_csv(f, "a comment", &a, &b), AC_OK);
    fclose(f);
    ac_moe_csv c;
    ac_moe_filter ft, fs;
    cr_assert_eq(parse(buf, &c, NULL), AC_OK);
    cr_assert_eq(ac_moe_filter_parse("split=train", &c, &ft, NULL), AC_OK);
    cr_assert_eq(ac_moe_filter_parse("split=test", &c, &fs, NULL), AC_OK);
    int feat[5] = {0, 1, 2, 3, 4};
    cr_assert_eq(ac_moe_csv_table(&c, &ft, feat, 5, 5, 10, &a2, NULL), AC_OK);
    cr_assert_eq(ac_moe_csv_table(&c, &fs, feat, 5, 5, 10, &b2, NULL), AC_OK);
    cr_assert(a2.n == 50 && b2.n == 50);
    cr_assert(!memcmp(a.X, a2.X, 300 * sizeof(int)) && !memcmp(b.X, b2.X, 300 * sizeof(int)));
    ac_moe_csv_clear(&c);
    ac_moe_tab_clear(&a), ac_moe_tab_clear(&b), ac_moe_tab_clear(&a2), ac_moe_tab_clear(&b2);
    free(buf);
    gsl_rng_free(r);
}

Test(moe_tabular, auto_mpg_prepares_as_the_spec_counts)
{
    ac_moe_csv c;
    ac_moe_tab tr, te;
    ac_moe_mpg_info in;
    ac_msg msg;
    cr_assert_eq(ac_moe_csv_read(AC_MOE_MPG_PATH, &c, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_moe_mpg_prepare(&c, &tr, &te, &in, &msg), AC_OK, "%s", msg.text);
    /* spec §3.6, recounted from the CSV: 398 -> 392 -> 385; 245 / 140. */
    cr_assert_eq(in.read, 398);
    cr_assert_eq(in.missing, 6);
    cr_assert_eq(in.cylinders, 7);
    cr_assert_eq(in.ntrain, 245);
    cr_assert_eq(in.ntest, 140);
    cr_assert_eq(tr.L, 7);
    cr_assert_eq(tr.ncat, 3);
    /* spec §3.6 (1): no 8-cylinder car and no top displacement tercile in the test. */
    for (int i = 0; i < te.n; i++)
        cr_assert(te.X[i * 7] != 2 && te.X[i * 7 + 1] != 2, "test row %d", i);
    ac_moe_tab_clear(&tr), ac_moe_tab_clear(&te);
    ac_moe_csv_clear(&c);
}

Test(moe_tabular, auto_mpg_bad_cells_are_refused)
{
    const char *head = "mpg,cylinders,displacement,horsepower,weight,acceleration,model year,origin,car name\n";
    char text[1024];
    ac_moe_csv c;
    ac_moe_tab tr, te;
    ac_moe_mpg_info in;
    ac_msg msg;
    snprintf(text, sizeof text, "%s18,8,307,130,3504,12,70,1,a\n15,8,35x,165,3693,11.5,70,1,b\n", head);
    cr_assert_eq(parse(text, &c, &msg), AC_OK);
    cr_assert_eq(ac_moe_mpg_prepare(&c, &tr, &te, &in, &msg), AC_EPARSE);
    cr_assert(strstr(msg.text, "t.csv:3: column displacement (column 3): '35x' is not a number"), "%s", msg.text);
    ac_moe_csv_clear(&c);
    snprintf(text, sizeof text, "%s18,8,307,130,3504,12,70,4,a\n", head);
    cr_assert_eq(parse(text, &c, &msg), AC_OK);
    cr_assert_eq(ac_moe_mpg_prepare(&c, &tr, &te, &in, &msg), AC_EPARSE);
    cr_assert(strstr(msg.text, "t.csv:2: column origin"), "%s", msg.text);
    ac_moe_csv_clear(&c);
    cr_assert_eq(parse("mpg,cylinders\n1,2\n", &c, &msg), AC_OK);
    cr_assert_eq(ac_moe_mpg_prepare(&c, &tr, &te, &in, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "no column 'displacement'"), "%s", msg.text);
    ac_moe_csv_clear(&c);
}
