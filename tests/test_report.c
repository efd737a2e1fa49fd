/* Report writers and the JSON reader (verify/report.h), on claim results
 * built here: the tests know no paper. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/testutil.h"
#include "verify/claim.h"
#include "verify/report.h"

/* Texts that each format must carry or escape. */
#define NASTY_QUANTITY "corr(W, \"W_svm\") | 50% & $x_1$ #2 {a} ~b^c \\d <e>\nsecond line"
#define NASTY_REASON "tol = 3 sigma, \"paired\"\r\nover 20 trials; ε-close"

static const ac_claim_def def_a = {.id = "fake.alpha",
                                   .paper = "fake",
                                   .statement = "Alpha, with a comma, and \"quotes\"."};
static const ac_claim_def def_b = {.id = "fake.beta", .paper = "fake", .statement = "Beta\nspans two lines."};
static const ac_claim_def def_c = {.id = "other.gamma", .paper = "other", .statement = "Gamma of another paper."};
static const ac_paper_def paper_fake = {"fake", "A. Author. A Fake Paper on Attention. 2024", NULL, 0};

/* The doubles that break naive writers. */
static const double special[] = {1.7312, -0.0, 0.0, 0.1, 1.0 / 3.0, -2.718281828459045,
                                 DBL_TRUE_MIN, -DBL_TRUE_MIN, DBL_MIN, DBL_MAX, -DBL_MAX,
                                 DBL_EPSILON, 1e300, 1e-300, 123456789012345678.0, NAN,
                                 INFINITY, -INFINITY};
#define NSPECIAL ((int)(sizeof special / sizeof special[0]))

/* Three results: alpha (every special double, a figure with a band and one
 * without), beta (failing row, an error status, no figure), gamma (another
 * paper, no rows). */
static void make_results(ac_claim_result res[3])
{
    ac_claim_result_init(&res[0], &def_a);
    for (int i = 0; i < NSPECIAL; i++) {
        char q[64];
        snprintf(q, sizeof q, "special value %d", i);
        ac_claim_row *w = ac_claim_add(&res[0], q, "limit of the special value", special[i],
                                       special[(i + 3) % NSPECIAL], (ac_metric)(i % 5),
                                       special[(i + 7) % NSPECIAL], "reason, plain");
        cr_assert_not_null(w);
        w->is_count = i % 4 == 1;
    }
    cr_assert_not_null(ac_claim_add(&res[0], NASTY_QUANTITY, "what, \"quoted\"", 1.7312, 1.7313,
                                    AC_METRIC_ABS, 1e-3, NASTY_REASON));
    ac_claim_judge(&res[0]);
    /* judged values are overwritten so that every special shows up in deviation too */
    res[0].rows[2].deviation = -0.0;
    res[0].rows[3].deviation = NAN;
    res[0].theory_seconds = 0.125;
    res[0].empirical_seconds = 12.0625;
    snprintf(res[0].setup, sizeof res[0].setup, "K=5, d=8, seed 42, steps 2000");
    res[0].regress_rtol = 3.0e-8;
    snprintf(res[0].regress_reason, sizeof res[0].regress_reason, "fused multiply-add, maybe");
    ac_figure *g = ac_claim_add_figure(&res[0], "fake-alpha-curve", "Alpha's curve", "step t",
                                       "corr", 1, 0);
    cr_assert_not_null(g);
    double x[4] = {1, 10, 100, 1000}, y[4] = {0.5, -0.0, 0.9, NAN}, lo[4] = {0.4, 0.5, 0.8, 0.9},
           hi[4] = {0.6, 0.7, 1.0, INFINITY};
    cr_assert_eq(ac_figure_add_series(g, "mean \"over\" trials", 4, x, y, lo, hi), AC_OK);
    cr_assert_eq(ac_figure_add_series(g, "theory", 4, x, hi, NULL, NULL), AC_OK);
    cr_assert_eq(ac_figure_add_series(g, "empty", 0, x, y, NULL, NULL), AC_OK);
    cr_assert_not_null(ac_claim_add_figure(&res[0], "fake-alpha-none", "", "", "", 0, 1));

    ac_claim_result_init(&res[1], &def_b);
    cr_assert_not_null(ac_claim_add(&res[1], "gap", "0", 0.0, 0.25, AC_METRIC_AT_MOST, 0.1, "margin"));
    cr_assert_not_null(ac_claim_add(&res[1], "iterations", "", 120, 131, AC_METRIC_INFO, 0, ""));
    res[1].rows[1].is_count = 1;
    res[1].status = AC_ENUMERIC;
    snprintf(res[1].error, sizeof res[1].error, "fake.beta: singular Hessian at step 17");
    ac_claim_judge(&res[1]);

    ac_claim_result_init(&res[2], &def_c);
    res[2].verdict = AC_VERDICT_INFO;
}

static void free_results(ac_claim_result *res, int n)
{
    for (int i = 0; i < n; i++)
        ac_claim_result_clear(&res[i]);
}

/* Equal bit for bit, any NaN equal to any NaN (its payload is not kept). */
static int same_double(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

#define assert_same_double(a, b, what)                                                          \
    cr_assert(same_double((a), (b)), "%s: wrote %.17g (%a), read %.17g (%a)", (what), (a), (a), \
              (b), (b))

static void assert_same_array(const double *a, const double *b, int n, const char *what)
{
    cr_assert_eq(a == NULL, b == NULL, "%s: NULL on one side only", what);
    for (int i = 0; a && i < n; i++)
        assert_same_double(a[i], b[i], what);
}

static void assert_same_result(const ac_claim_result *a, const ac_claim_result *b)
{
    cr_assert_str_eq(a->id, b->id);
    cr_assert_str_eq(a->paper, b->paper);
    cr_assert_str_eq(a->statement, b->statement);
    cr_assert_eq(a->nrows, b->nrows, "%s: %d rows written, %d read", a->id, a->nrows, b->nrows);
    for (int i = 0; i < a->nrows; i++) {
        const ac_claim_row *u = &a->rows[i], *v = &b->rows[i];
        cr_assert_str_eq(u->quantity, v->quantity);
        cr_assert_str_eq(u->theory_what, v->theory_what);
        cr_assert_str_eq(u->tol_reason, v->tol_reason);
        assert_same_double(u->theory, v->theory, u->quantity);
        assert_same_double(u->empirical, v->empirical, u->quantity);
        assert_same_double(u->tol, v->tol, u->quantity);
        assert_same_double(u->deviation, v->deviation, u->quantity);
        cr_assert_eq(u->metric, v->metric);
        cr_assert_eq(u->verdict, v->verdict);
        cr_assert_eq(u->is_count, v->is_count);
    }
    assert_same_double(a->theory_seconds, b->theory_seconds, "theory_seconds");
    assert_same_double(a->empirical_seconds, b->empirical_seconds, "empirical_seconds");
    assert_same_double(a->regress_rtol, b->regress_rtol, "regress_rtol");
    cr_assert_str_eq(a->setup, b->setup);
    cr_assert_str_eq(a->regress_reason, b->regress_reason);
    cr_assert_str_eq(a->error, b->error);
    cr_assert_eq(a->verdict, b->verdict);
    cr_assert_eq(a->status, b->status);
    cr_assert_eq(a->nfigs, b->nfigs);
    for (int f = 0; f < a->nfigs; f++) {
        const ac_figure *g = &a->figs[f], *h = &b->figs[f];
        cr_assert_str_eq(g->name, h->name);
        cr_assert_str_eq(g->title, h->title);
        cr_assert_str_eq(g->xlabel, h->xlabel);
        cr_assert_str_eq(g->ylabel, h->ylabel);
        cr_assert_eq(g->logx, h->logx);
        cr_assert_eq(g->logy, h->logy);
        cr_assert_eq(g->nseries, h->nseries);
        for (int s = 0; s < g->nseries; s++) {
            const ac_series *p = &g->series[s], *q = &h->series[s];
            cr_assert_str_eq(p->label, q->label);
            cr_assert_eq(p->n, q->n);
            assert_same_array(p->x, q->x, p->n, "series x");
            assert_same_array(p->y, q->y, p->n, "series y");
            assert_same_array(p->lo, q->lo, p->n, "series lo");
            assert_same_array(p->hi, q->hi, p->n, "series hi");
        }
    }
}

/* A fresh temporary directory per test, and a file in it. */
static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ac_report_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void tmp_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static void remove_tmpdir(void)
{
    const char *names[] = {"r.json", "r.csv", "r.md", "r.tex", "bad.json", "index.md"};
    char p[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        tmp_path(p, sizeof p, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

/* Write res in fmt into tmpdir/name; returns the text (malloc'ed). */
static char *write_report(const char *name, ac_format fmt, const ac_paper_def *paper,
                          const ac_claim_result *res, int nres, const ac_report_meta *meta)
{
    char path[128];
    tmp_path(path, sizeof path, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    ac_msg msg = {{0}};
    cr_assert_eq(ac_report_write(f, fmt, paper, res, nres, meta, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(fclose(f), 0);
    f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *text = malloc((size_t)n + 1);
    cr_assert_eq(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void write_text(const char *name, const char *text)
{
    char path[128];
    tmp_path(path, sizeof path, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    cr_assert_eq(fclose(f), 0);
}

static const ac_report_meta test_meta = {"attncheck run --size quick --seed 7, \"quoted\"", 7UL,
                                         "quick", "2024-05-01T12:00:00Z", "0123456789abcdef"};

TestSuite(report, .init = make_tmpdir, .fini = remove_tmpdir);

Test(report, format_names_parse_back)
{
    for (int k = 0; k < AC_FMT_COUNT; k++)
        cr_assert_eq(ac_format_parse(ac_format_ext((ac_format)k)), k);
    cr_assert_eq(ac_format_parse("markdown"), AC_FMT_MD);
    cr_assert_eq(ac_format_parse("latex"), AC_FMT_TEX);
    cr_assert_eq(ac_format_parse("pdf"), -1);
    cr_assert_eq(ac_format_parse(NULL), -1);
    cr_assert_str_eq(ac_format_ext((ac_format)AC_FMT_COUNT), "?");
}

/* The one number formatter: its text reads back to the number within the
 * digits asked for (exactly with 17), in either style, the non-finite as
 * words, and a %f too wide for the buffer (seconds of 1e300) falls back to
 * %.17g instead of being cut. */
Test(report, numbers_read_back_within_their_digits)
{
    gsl_rng *rng = ac_test_rng(5);
    for (int c = 0; c < ac_test_cases(200); c++) {
        double x = (gsl_rng_uniform(rng) - 0.5) * pow(10.0, gsl_rng_uniform_int(rng, 80) - 40.0);
        int digits = 1 + (int)gsl_rng_uniform_int(rng, AC_REPORT_DIGITS_EXACT);
        double g = strtod(ac_report_number(x, digits, AC_NUM_SIGNIFICANT).s, NULL);
        if (digits == AC_REPORT_DIGITS_EXACT)
            cr_assert(same_double(g, x), "case %d: %a read back as %a", c, x, g);
        /* %.*g rounds to digits significant digits: half a unit of the last,
         * plus the rounding of strtod (relative 2^-53) */
        cr_assert_leq(fabs(g - x), (0.5 * pow(10.0, 1 - digits) + DBL_EPSILON) * fabs(x),
                      "case %d: %.17g with %d digits read back as %.17g", c, x, digits, g);
        /* %.3f: half a unit of the third decimal, plus strtod's rounding */
        double f = strtod(ac_report_number(x, 3, AC_NUM_DECIMALS).s, NULL);
        cr_assert_leq(fabs(f - x), 0.5e-3 + DBL_EPSILON * fmax(fabs(x), 1.0),
                      "case %d: %.17g with 3 decimals read back as %.17g", c, x, f);
    }
    gsl_rng_free(rng);
    cr_assert_str_eq(ac_report_number(NAN, 6, AC_NUM_SIGNIFICANT).s, "nan");
    cr_assert_str_eq(ac_report_number(-INFINITY, 3, AC_NUM_DECIMALS).s, "-inf");
    const double huge[] = {1e300, -DBL_MAX, 1.7312e45};
    for (int k = 0; k < 3; k++) {
        double y = strtod(ac_report_number(huge[k], 3, AC_NUM_DECIMALS).s, NULL);
        cr_assert(same_double(y, huge[k]), "%.17g with 3 decimals read back as %.17g", huge[k], y);
    }
}

Test(report, json_round_trip_reproduces_every_field)
{
    ac_claim_result res[3];
    make_results(res);
    free(write_report("r.json", AC_FMT_JSON, &paper_fake, res, 3, &test_meta));
    char path[128];
    tmp_path(path, sizeof path, "r.json");
    ac_report_set set;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_report_read_json(path, &set, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(set.nres, 3);
    for (int i = 0; i < 3; i++)
        assert_same_result(&res[i], &set.res[i]);
    cr_assert_str_eq(set.paper_name, "fake");
    cr_assert_str_eq(set.paper_title, paper_fake.title);
    cr_assert_str_eq(set.command_line, test_meta.command_line);
    cr_assert_str_eq(set.size, "quick");
    cr_assert_str_eq(set.date, test_meta.date);
    cr_assert_str_eq(set.version, AC_VERSION);
    cr_assert_str_eq(set.source, test_meta.source, "the library source that ran the claims");
    cr_assert_eq(set.seed, 7UL);
    ac_report_set_clear(&set);
    cr_assert_eq(set.nres, 0);
    ac_report_set_clear(&set); /* emptied: a second free is harmless */
    ac_report_set_clear(NULL);
    free_results(res, 3);
}

/* Random 64-bit patterns cover every exponent, subnormals and NaN payloads. */
Test(report, json_round_trip_random_bit_patterns)
{
    gsl_rng *rng = ac_test_rng(20240501);
    int cases = ac_test_cases(20);
    for (int c = 0; c < cases; c++) {
        ac_claim_result res;
        ac_claim_result_init(&res, &def_a);
        int n = (int)gsl_rng_uniform_int(rng, 40);
        for (int i = 0; i < n; i++) {
            double v[3];
            for (int k = 0; k < 3; k++) {
                uint64_t bits = ((uint64_t)gsl_rng_get(rng) << 32) | (uint64_t)gsl_rng_get(rng);
                memcpy(&v[k], &bits, sizeof v[k]);
            }
            ac_claim_row *w = ac_claim_add(&res, "q", "", v[0], v[1], AC_METRIC_REL, v[2], "");
            cr_assert_not_null(w);
            w->deviation = v[0] * v[1];
        }
        res.theory_seconds = gsl_rng_uniform(rng);
        free(write_report("r.json", AC_FMT_JSON, NULL, &res, 1, NULL));
        char path[128];
        tmp_path(path, sizeof path, "r.json");
        ac_report_set set;
        ac_msg msg = {{0}};
        cr_assert_eq(ac_report_read_json(path, &set, &msg), AC_OK, "case %d: %s", c, msg.text);
        cr_assert_eq(set.nres, 1);
        cr_assert_null(set.paper_name, "paper NULL is written as null");
        assert_same_result(&res, &set.res[0]);
        ac_report_set_clear(&set);
        ac_claim_result_clear(&res);
    }
    gsl_rng_free(rng);
}

/* Doubles must read back whatever LC_NUMERIC says.  `make deps` generates
 * de_DE.UTF-8 (TEST_LOCALE in the Makefile), so this runs in CI; it skips
 * only where no decimal-comma locale is installed. */
Test(report, json_and_csv_numbers_ignore_the_locale)
{
    /* the CSV text of a row's theory value, %.17g in the C locale: the
     * writer must give the same under a comma locale */
    char num[40], want[64];
    snprintf(num, sizeof num, "%.17g", 1.7312);
    cr_assert_null(strchr(num, ','), "the C locale writes '.': %s", num);
    snprintf(want, sizeof want, ",%s,", num);
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "de_DE"};
    const char *got = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && !got; i++)
        got = setlocale(LC_NUMERIC, names[i]);
    if (!got)
        cr_skip_test("no locale with a decimal comma is installed");
    char probe[16];
    snprintf(probe, sizeof probe, "%.1f", 1.5);
    cr_assert_str_eq(probe, "1,5", "locale %s does not use a decimal comma", got);
    ac_claim_result res[3];
    make_results(res);
    char *csv = write_report("r.csv", AC_FMT_CSV, &paper_fake, res, 3, NULL);
    free(write_report("r.json", AC_FMT_JSON, &paper_fake, res, 3, NULL));
    char path[128];
    tmp_path(path, sizeof path, "r.json");
    ac_report_set set;
    ac_msg msg = {{0}};
    ac_status st = ac_report_read_json(path, &set, &msg);
    setlocale(LC_NUMERIC, "C");
    cr_assert_eq(st, AC_OK, "%s", msg.text);
    for (int i = 0; i < 3; i++)
        assert_same_result(&res[i], &set.res[i]);
    cr_assert(strstr(csv, want) != NULL, "CSV numbers use '.': no \"%s\" in\n%s", want, csv);
    ac_report_set_clear(&set);
    free(csv);
    free_results(res, 3);
}

/* ---- CSV: a small RFC 4180 reader to check the writer against */

typedef struct {
    char **field;
    int n;
} csv_record;

/* Parse one record at *p; advances past its line end. */
static csv_record csv_next(const char **p)
{
    csv_record r = {NULL, 0};
    const char *s = *p;
    for (;;) {
        size_t cap = strlen(s) + 1, k = 0;
        char *buf = malloc(cap);
        if (*s == '"') {
            for (s++;; s++) {
                cr_assert(*s, "unterminated quoted field");
                if (*s == '"' && s[1] == '"')
                    buf[k++] = '"', s++;
                else if (*s == '"') {
                    s++;
                    break;
                } else
                    buf[k++] = *s;
            }
        } else {
            while (*s && *s != ',' && *s != '\n') {
                cr_assert(*s != '"' && *s != '\r', "unquoted field holds a quote or CR");
                buf[k++] = *s++;
            }
        }
        buf[k] = '\0';
        r.field = realloc(r.field, sizeof *r.field * (size_t)(r.n + 1));
        r.field[r.n++] = buf;
        if (*s == ',') {
            s++;
            continue;
        }
        cr_assert_eq(*s, '\n', "a field must end at ',' or a line end");
        *p = s + 1;
        return r;
    }
}

static void csv_free(csv_record *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->field[i]);
    free(r->field);
}

Test(report, csv_quotes_commas_quotes_and_newlines)
{
    ac_claim_result res[3];
    make_results(res);
    char *text = write_report("r.csv", AC_FMT_CSV, &paper_fake, res, 3, &test_meta);
    const char *p = text;
    csv_record head = csv_next(&p);
    cr_assert_eq(head.n, 14);
    cr_assert_str_eq(head.field[4], "quantity");
    cr_assert_str_eq(head.field[6], "theory");
    int records = 0, rows = 0;
    for (int i = 0; i < 3; i++)
        rows += res[i].nrows > 0 ? res[i].nrows : 1;
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < (res[i].nrows > 0 ? res[i].nrows : 1); j++) {
            cr_assert(*p, "CSV ends after %d records, %d expected", records, rows);
            csv_record r = csv_next(&p);
            records++;
            cr_assert_eq(r.n, head.n, "record %d has %d fields", records, r.n);
            cr_assert_str_eq(r.field[1], res[i].id);
            if (res[i].nrows > 0) {
                const ac_claim_row *w = &res[i].rows[j];
                cr_assert_str_eq(r.field[4], w->quantity);
                cr_assert_str_eq(r.field[5], w->theory_what);
                cr_assert_str_eq(r.field[13], w->tol_reason);
                double t = strcmp(r.field[6], "nan") == 0    ? NAN
                           : strcmp(r.field[6], "inf") == 0  ? INFINITY
                           : strcmp(r.field[6], "-inf") == 0 ? -INFINITY
                                                             : strtod(r.field[6], NULL);
                assert_same_double(w->theory, t, "CSV theory");
            }
            csv_free(&r);
        }
    }
    cr_assert_eq(*p, '\0', "CSV has more than %d records", rows);
    csv_free(&head);
    free(text);
    free_results(res, 3);
}

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

Test(report, latex_escapes_special_characters)
{
    ac_claim_result res[3];
    make_results(res);
    char *text = write_report("r.tex", AC_FMT_TEX, &paper_fake, res, 3, &test_meta);
    cr_assert(strstr(text,
                     "corr(W, \"W\\_svm\") \\textbar{} 50\\% \\& \\$x\\_1\\$ \\#2 \\{a\\} "
                     "\\textasciitilde{}b\\textasciicircum{}c \\textbackslash{}d "
                     "\\textless{}e\\textgreater{} second line") != NULL,
              "escaped quantity not found in:\n%s", text);
    /* a summary table and a table for each claim with rows */
    cr_assert_eq(count_of(text, "\\toprule"), 3);
    cr_assert_eq(count_of(text, "\\midrule"), 3);
    cr_assert_eq(count_of(text, "\\bottomrule"), 3);
    cr_assert(strstr(text, "$1.7312$") != NULL);
    cr_assert(strstr(text, "\\times10^{-308}") != NULL, "DBL_MIN in scientific notation");
    /* every line outside comments: no unescaped & beyond the column separators
     * (" & "), no bare % or # */
    for (const char *l = text; *l;) {
        const char *e = strchr(l, '\n');
        size_t len = e ? (size_t)(e - l) : strlen(l);
        if (*l != '%')
            for (size_t i = 0; i < len; i++) {
                int escaped = i > 0 && l[i - 1] == '\\';
                if (l[i] == '%' || l[i] == '#' || l[i] == '_')
                    cr_assert(escaped, "bare '%c' in line: %.*s", l[i], (int)len, l);
                if (l[i] == '&')
                    cr_assert(escaped || (i > 0 && l[i - 1] == ' ' && l[i + 1] == ' '),
                              "bare '&' in line: %.*s", (int)len, l);
            }
        l += len + (e != NULL);
    }
    free(text);
    free_results(res, 3);
}

/* The table lines that follow a line beginning with header. */
static int table_lines_after(const char *text, const char *header, int skip)
{
    const char *p = text;
    for (int k = 0; k <= skip; k++) {
        p = strstr(p, header);
        cr_assert_not_null(p, "table %d with header '%s' not found", k, header);
        p += strlen(header);
    }
    p = strchr(p, '\n') + 1;
    int n = 0;
    while (*p == '|') {
        /* an escaped pipe is no column separator: count the columns too */
        int cols = 0;
        for (const char *q = p; *q && *q != '\n'; q++)
            cols += *q == '|' && q[-1] != '\\';
        cr_assert(cols == 8 || cols == 5, "a table line with %d separators", cols);
        n++;
        p = strchr(p, '\n') + 1;
    }
    return n;
}

Test(report, markdown_tables_have_one_line_per_row)
{
    ac_claim_result res[3];
    make_results(res);
    char *text = write_report("r.md", AC_FMT_MD, &paper_fake, res, 3, &test_meta);
    cr_assert(strncmp(text, "# A. Author. A Fake Paper", 25) == 0);
    /* the code that ran the claims: its library source (reports named none) */
    cr_assert(strstr(text, "attncheck " AC_VERSION " (library source 0123456789abcdef), seed 7, size quick,") != NULL,
              "the run line:\n%.300s", text);
    /* summary: separator + one line per claim */
    cr_assert_eq(table_lines_after(text, "| id | verdict | failing rows | seconds |", 0), 1 + 3);
    const char *row_header = "| quantity | theory | experiment | metric | deviation | tolerance | verdict |";
    cr_assert_eq(table_lines_after(text, row_header, 0), 1 + res[0].nrows);
    cr_assert_eq(table_lines_after(text, row_header, 1), 1 + res[1].nrows);
    cr_assert_eq(count_of(text, row_header), 2, "a claim without rows has no table");
    cr_assert(strstr(text, "**Error:** fake.beta: singular Hessian at step 17") != NULL);
    cr_assert(strstr(text, "| fake.beta | FAIL (error) | 1/1 |") != NULL, "summary line:\n%s", text);
    cr_assert(strstr(text, "Setup: K=5, d=8, seed 42, steps 2000") != NULL);
    cr_assert(strstr(text, "- gap (theory: 0): margin") != NULL, "tolerance reasons listed");
    /* an unjudged row without a note is said to be information (it read
     * "(no reason given)", as if a judged row had lost its reason) */
    cr_assert(strstr(text, "- iterations: shown, not judged\n") != NULL, "an info row's line:\n%s", text);
    free(text);
    free_results(res, 3);
}

/* The cells of a table line: split at sep where it is not escaped by a
 * backslash, trimmed of spaces; the Markdown line's outer pipes dropped.
 * Returns the number of cells (at most max); each cell is malloc'ed. */
static int split_cells(const char *line, char sep, char **cell, int max)
{
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    if (sep == '|') { /* "| a | b |" */
        line++, len -= 2;
    } else { /* "a & b \\" */
        cr_assert(len > 3 && strncmp(line + len - 3, " \\\\", 3) == 0, "%.*s", (int)len, line);
        len -= 3;
    }
    int n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len && n < max; i++) {
        if (i < len && !(line[i] == sep && (i == 0 || line[i - 1] != '\\')))
            continue;
        size_t a = start, b = i;
        while (a < b && line[a] == ' ')
            a++;
        while (b > a && line[b - 1] == ' ')
            b--;
        cell[n] = strndup(line + a, b - a);
        n++;
        start = i + 1;
    }
    return n;
}

/* A number cell read back: Markdown's %g text, LaTeX's $m\times10^{e}$. */
static double md_cell_value(const char *c)
{
    char *end;
    double x = strtod(c, &end); /* strtod reads "nan", "inf", "-inf" */
    cr_assert(*c && !*end, "'%s' is not a number", c);
    return x;
}

static double tex_cell_value(const char *c)
{
    if (strcmp(c, "NaN") == 0)
        return NAN;
    if (strcmp(c, "$\\infty$") == 0)
        return INFINITY;
    if (strcmp(c, "$-\\infty$") == 0)
        return -INFINITY;
    char m[64];
    int e = 0, k = 0;
    cr_assert(sscanf(c, "$%63[-0-9.]%n", m, &k) == 1, "'%s' is not a number", c);
    if (strcmp(c + k, "$") != 0)
        cr_assert(sscanf(c + k, "\\times10^{%d}$", &e) == 1, "'%s' is not a number", c);
    char buf[96];
    snprintf(buf, sizeof buf, "%se%d", m, e);
    return strtod(buf, NULL);
}

/* x shown with AC_REPORT_DIGITS_HUMAN significant digits: off by at most half
 * a unit in the last digit, 0.5e-5 |x| for 6 digits. */
static void assert_shown(double shown, double x, const char *what)
{
    if (isnan(x) || isinf(x)) {
        cr_assert(same_double(shown, x), "%s: %g shown as %g", what, x, shown);
        return;
    }
    double bound = 0.5 * pow(10.0, 1 - AC_REPORT_DIGITS_HUMAN) * fabs(x);
    cr_assert_leq(fabs(shown - x), bound, "%s: %.17g shown as %.17g", what, x, shown);
}

/* Both dialects show the same cells for every row: quantity, the numbers to 6
 * digits (read back here and compared with the record), the metric, a dash
 * where an unjudged row has no deviation or tolerance or a row no theory
 * value, and the verdict. */
Test(report, markdown_and_latex_rows_show_the_same_cells)
{
    ac_claim_result res[3];
    make_results(res);
    char *md = write_report("r.md", AC_FMT_MD, &paper_fake, res, 3, &test_meta);
    char *tex = write_report("r.tex", AC_FMT_TEX, &paper_fake, res, 3, &test_meta);
    const char *pm = strstr(md, "| quantity | theory |"), *pt = strstr(tex, "Quantity & Theory");
    cr_assert(pm && pt);
    pm = strchr(strchr(pm, '\n') + 1, '\n') + 1; /* past the heading and the rule */
    pt = strchr(strstr(pt, "\\midrule"), '\n') + 1;
    const ac_claim_result *r = &res[0];
    for (int i = 0; i < r->nrows; i++) {
        const ac_claim_row *w = &r->rows[i];
        char *cm[8], *ct[8];
        int nm = split_cells(pm, '|', cm, 8), nt = split_cells(pt, '&', ct, 8);
        cr_assert_eq(nm, 7, "row %d: %d Markdown cells", i, nm);
        cr_assert_eq(nt, 7, "row %d: %d LaTeX cells", i, nt);
        int info = w->metric == AC_METRIC_INFO;
        const double value[5] = {w->theory, w->empirical, NAN, w->deviation, w->tol};
        const int absent[5] = {isnan(w->theory), 0, 0, info, info};
        for (int k = 1; k <= 5; k++) {
            if (k == 3)
                continue;
            if (absent[k - 1]) {
                cr_assert_str_eq(cm[k], "-", "row %d cell %d", i, k);
                cr_assert_str_eq(ct[k], "--", "row %d cell %d", i, k);
            } else {
                assert_shown(md_cell_value(cm[k]), value[k - 1], "Markdown");
                assert_shown(tex_cell_value(ct[k]), value[k - 1], "LaTeX");
            }
        }
        cr_assert_str_eq(cm[3], ac_metric_str(w->metric));
        cr_assert_str_eq(cm[6], ac_verdict_str(w->verdict));
        cr_assert_str_eq(ct[6], ac_verdict_str(w->verdict));
        for (int k = 0; k < 7; k++)
            free(cm[k]), free(ct[k]);
        pm = strchr(pm, '\n') + 1;
        pt = strchr(pt, '\n') + 1;
    }
    cr_assert(*pm == '\n', "the Markdown table ends after its rows");
    cr_assert(strncmp(pt, "\\bottomrule", 11) == 0, "the LaTeX table ends after its rows");
    free(md);
    free(tex);
    free_results(res, 3);
}

/* The baseline committed in the repository reads, and writing it back gives
 * the same bytes: the field table reads every key the older writer wrote, and
 * the writer has not changed the file's shape.  The tests run from the
 * repository root (make test). */
#define COMMITTED_BASELINE "results/baseline/svm.json"

Test(report, committed_baseline_reads_and_writes_back_unchanged)
{
    ac_report_set set;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_report_read_json(COMMITTED_BASELINE, &set, &msg), AC_OK, "%s", msg.text);
    cr_assert_gt(set.nres, 0);
    cr_assert_str_eq(set.paper_name, "svm");
    ac_paper_def paper = {set.paper_name, set.paper_title, NULL, 0};
    ac_report_meta meta = {set.command_line, set.seed, set.size, set.date, set.source};
    cr_assert_str_eq(set.version, AC_VERSION, "the baseline was written by another version");
    char *text = write_report("r.json", AC_FMT_JSON, &paper, set.res, set.nres, &meta);
    FILE *f = fopen(COMMITTED_BASELINE, "rb");
    cr_assert_not_null(f);
    size_t n = strlen(text);
    char *file = malloc(n + 2);
    size_t got = fread(file, 1, n + 1, f);
    fclose(f);
    cr_assert_eq(got, n, "the baseline has %zu bytes, written back %zu", got, n);
    cr_assert(memcmp(file, text, n) == 0, "the baseline written back differs");
    free(file);
    free(text);
    ac_report_set_clear(&set);
}

Test(report, mixed_papers_are_grouped_by_paper)
{
    ac_claim_result res[3];
    make_results(res);
    /* order alpha, gamma, beta: the groups are fake (alpha, beta), then other */
    ac_claim_result mixed[3] = {res[0], res[2], res[1]};
    char *md = write_report("r.md", AC_FMT_MD, NULL, mixed, 3, NULL);
    const char *pf = strstr(md, "## Paper fake"), *po = strstr(md, "## Paper other");
    cr_assert(pf && po && pf < po);
    const char *beta = strstr(md, "### fake.beta");
    cr_assert(beta && beta > pf && beta < po, "beta sits in the group of its paper");
    char *tex = write_report("r.tex", AC_FMT_TEX, NULL, mixed, 3, NULL);
    cr_assert(strstr(tex, "\\subsection*{Paper other}") != NULL);
    free(md);
    free(tex);
    free_results(res, 3);
}

Test(report, write_error_on_the_stream_is_reported)
{
    ac_claim_result res[3];
    make_results(res);
    for (int k = 0; k < AC_FMT_COUNT; k++) {
        FILE *f = fopen("/dev/null", "r"); /* every write fails */
        cr_assert_not_null(f);
        ac_msg msg = {{0}};
        cr_assert_eq(ac_report_write(f, (ac_format)k, &paper_fake, res, 3, NULL, &msg), AC_EIO,
                     "format %s", ac_format_ext((ac_format)k));
        cr_assert(strstr(msg.text, "write error") != NULL, "%s", msg.text);
        fclose(f);
    }
    ac_msg msg = {{0}};
    cr_assert_eq(ac_report_write(stdout, (ac_format)9, NULL, res, 3, NULL, &msg), AC_EINVAL);
    cr_assert_eq(ac_report_write(NULL, AC_FMT_MD, NULL, res, 3, NULL, &msg), AC_EINVAL);
    cr_assert_eq(ac_report_write(stdout, AC_FMT_MD, NULL, NULL, 2, NULL, &msg), AC_EINVAL);
    free_results(res, 3);
}

Test(report, index_links_tables_counts_claims_and_shows_figures)
{
    ac_claim_result res[3];
    make_results(res);
    static const ac_paper_def paper_other = {"other", "B. Other. Another Paper. 2023", NULL, 0};
    const ac_paper_def *papers[2] = {&paper_fake, &paper_other};
    char path[128];
    tmp_path(path, sizeof path, "index.md");
    FILE *f = fopen(path, "w+");
    ac_msg msg = {{0}};
    cr_assert_eq(ac_report_index(f, papers, 2, res, 3, AC_FMT_ALL, "figures", &test_meta, &msg),
                 AC_OK, "%s", msg.text);
    rewind(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    cr_assert(strstr(text, "| fake | A. Author. A Fake Paper on Attention. 2024 | [md](fake.md) · "
                           "[csv](fake.csv) · [json](fake.json) · [tex](fake.tex) | 0 | 2 | 0 |") !=
                  NULL,
              "fake line (alpha fails its NaN rows, beta fails) in:\n%s", text);
    cr_assert(strstr(text, "| other | B. Other. Another Paper. 2023 | [md](other.md)") != NULL);
    cr_assert(strstr(text, "| 0 | 0 | 1 |") != NULL, "gamma is INFO");
    cr_assert(strstr(text, "![Alpha's curve](figures/fake-alpha-curve.png)") != NULL, "%s", text);
    cr_assert(strstr(text, "![fake-alpha-none](figures/fake-alpha-none.png)") != NULL);

    /* without papers, from the results; only md and json; no figures */
    f = fopen(path, "w+");
    cr_assert_eq(ac_report_index(f, NULL, 0, res, 3, (1u << AC_FMT_MD) | (1u << AC_FMT_JSON),
                                 NULL, NULL, &msg),
                 AC_OK, "%s", msg.text);
    rewind(f);
    n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    cr_assert(strstr(text, "| fake | fake | [md](fake.md) · [json](fake.json) | 0 | 2 | 0 |") !=
                  NULL,
              "%s", text);
    cr_assert(strstr(text, ".png") == NULL);
    free_results(res, 3);
}

/* ---- the reader's failures: "FILE:LINE:COLUMN: reason" for text that is
 * not JSON, "FILE: KEYPATH: reason" for JSON that is not a report */

/* The 1-based line and column of the first occurrence of needle in text
 * (ASCII before it: columns count bytes). */
static void position_of(const char *text, const char *needle, int *line, int *col)
{
    const char *p = strstr(text, needle);
    cr_assert_not_null(p, "'%s' not in the text", needle);
    *line = 1;
    const char *bol = text;
    for (const char *q = text; q < p; q++)
        if (*q == '\n')
            (*line)++, bol = q + 1;
    *col = (int)(p - bol) + 1;
}

/* Read text: AC_EPARSE, the set left empty, msg starting with the path and
 * then after (":12:5: " or ": "), and holding reason. */
static void expect_parse_error(const char *text, const char *after, const char *reason)
{
    write_text("bad.json", text);
    char path[128], prefix[192];
    tmp_path(path, sizeof path, "bad.json");
    ac_report_set set;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_report_read_json(path, &set, &msg), AC_EPARSE, "%s", msg.text);
    cr_assert_eq(set.nres, 0, "a failed read leaves the set empty");
    cr_assert_null(set.res);
    snprintf(prefix, sizeof prefix, "%s%s", path, after);
    cr_assert(strncmp(msg.text, prefix, strlen(prefix)) == 0, "'%s' does not start with '%s'",
              msg.text, prefix);
    cr_assert(strstr(msg.text, reason) != NULL, "'%s' does not say '%s'", msg.text, reason);
}

/* A syntax error jansson finds at line:col. */
static void expect_error_at(const char *text, int line, int col, const char *reason)
{
    char after[64];
    if (col > 0)
        snprintf(after, sizeof after, ":%d:%d: ", line, col);
    else
        snprintf(after, sizeof after, ":%d:", line);
    expect_parse_error(text, after, reason);
}

/* A report error named by its key path. */
static void expect_error_key(const char *text, const char *keypath_reason)
{
    expect_parse_error(text, ": ", keypath_reason);
}

/* text with the first line holding needle removed (malloc'ed). */
static char *drop_line(const char *text, const char *needle)
{
    const char *p = strstr(text, needle);
    cr_assert_not_null(p);
    while (p > text && p[-1] != '\n')
        p--;
    const char *e = strchr(p, '\n') + 1;
    char *out = malloc(strlen(text) + 1);
    memcpy(out, text, (size_t)(p - text));
    strcpy(out + (p - text), e);
    return out;
}

/* text with the first occurrence of from replaced by to (malloc'ed). */
static char *replace(const char *text, const char *from, const char *to)
{
    const char *p = strstr(text, from);
    cr_assert_not_null(p, "'%s' not in the text", from);
    char *out = malloc(strlen(text) + strlen(to) + 1);
    memcpy(out, text, (size_t)(p - text));
    strcpy(out + (p - text), to);
    strcat(out, p + strlen(from));
    return out;
}

/* text with the first occurrence of from after anchor replaced by to
 * (malloc'ed). */
static char *replace_after(const char *text, const char *anchor, const char *from, const char *to)
{
    const char *a = strstr(text, anchor);
    cr_assert_not_null(a, "'%s' not in the text", anchor);
    char *tail = replace(a, from, to);
    size_t pre = (size_t)(a - text);
    char *out = malloc(pre + strlen(tail) + 1);
    memcpy(out, text, pre);
    strcpy(out + pre, tail);
    free(tail);
    return out;
}

/* text with the value after the first occurrence of key (up to ',' or the
 * line end) replaced by to (malloc'ed). */
static char *replace_value(const char *text, const char *key, const char *to)
{
    const char *p = strstr(text, key);
    cr_assert_not_null(p, "'%s' not in the text", key);
    p += strlen(key);
    const char *e = p + strcspn(p, ",\n");
    char *out = malloc(strlen(text) + strlen(to) + 1);
    memcpy(out, text, (size_t)(p - text));
    strcpy(out + (p - text), to);
    strcat(out, e);
    return out;
}

Test(report, read_json_rejects_truncated_text_at_its_line)
{
    ac_claim_result res[3];
    make_results(res);
    char *text = write_report("r.json", AC_FMT_JSON, &paper_fake, res, 3, &test_meta);
    size_t half = strlen(text) / 2;
    text[half] = '\0';
    /* jansson reports the end of the input: the last line */
    int last = 1;
    for (const char *q = text; *q; q++)
        last += *q == '\n';
    expect_error_at(text, last, 0, "");
    expect_error_at("", 1, 0, "expected near end of file");
    free(text);
    free_results(res, 3);
}

/* A bad character planted at a known place is reported at its line and
 * column (jansson's, which count from 1), and a duplicate key by its name. */
Test(report, read_json_names_line_and_column_of_malformed_text)
{
    ac_claim_result res[3];
    make_results(res);
    char *text = write_report("r.json", AC_FMT_JSON, &paper_fake, res, 3, &test_meta);
    int line, col;
    /* the value of beta's "gap" row tolerance, deep in the file */
    char *doc = replace_after(text, "\"quantity\": \"gap\"", "\"tol\": 0.1", "\"tol\": @.1");
    position_of(doc, "@.1", &line, &col);
    cr_assert_gt(line, 50, "the planted fault sits deep in the file");
    expect_error_at(doc, line, col, "invalid token near '@'");
    free(doc);

    doc = replace(text, "\"quantity\": \"gap\"", "\"quantity\": \"gap\", \"quantity\": \"gap\"");
    position_of(doc, "\"quantity\": \"gap\", \"quantity\"", &line, &col);
    /* jansson stops on the last character of the second key */
    col += (int)strlen("\"quantity\": \"gap\", \"quantity\"") - 1;
    expect_error_at(doc, line, col, "duplicate object key near '\"quantity\"'");
    free(doc);
    free(text);
    free_results(res, 3);
}

Test(report, read_json_names_a_missing_key_by_its_path)
{
    ac_claim_result res[3];
    make_results(res);
    char *text = write_report("r.json", AC_FMT_JSON, &paper_fake, res, 3, &test_meta);
    /* row 0 of claim 1 (beta) without "theory" */
    const char *beta = strstr(text, "\"quantity\": \"gap\"");
    cr_assert_not_null(beta);
    char *bad = drop_line(beta, "\"theory\": 0.0");
    size_t pre = (size_t)(beta - text);
    char *doc = malloc(pre + strlen(bad) + 1);
    memcpy(doc, text, pre);
    strcpy(doc + pre, bad);
    expect_error_key(doc, "claims[1].rows[0]: missing key \"theory\"");
    free(bad);
    free(doc);

    doc = drop_line(text, "\"version\"");
    expect_error_key(doc, "meta: missing key \"version\"");
    free(doc);
    doc = replace(text, "\"claims\"", "\"claimz\"");
    expect_error_key(doc, "top level: missing key \"claims\"");
    free(doc);
    /* the derived summary is not required */
    doc = replace(text, "\"summary\"", "\"summarz\"");
    write_text("bad.json", doc);
    char path[128];
    tmp_path(path, sizeof path, "bad.json");
    ac_report_set set;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_report_read_json(path, &set, &msg), AC_OK, "%s", msg.text);
    ac_report_set_clear(&set);
    free(doc);
    free(text);
    free_results(res, 3);
}

Test(report, read_json_names_a_wrong_value_by_its_path)
{
    ac_claim_result res[3];
    make_results(res);
    char *text = write_report("r.json", AC_FMT_JSON, &paper_fake, res, 3, &test_meta);

    char *doc = replace(text, "\"is_count\": 0", "\"is_count\": \"zero\"");
    expect_error_key(doc, "claims[0].rows[0].is_count: expected an integer, found a string");
    free(doc);
    doc = replace_value(text, "\"theory\": ", "\"1.7312\"");
    expect_error_key(doc, "claims[0].rows[0].theory: expected a number");
    free(doc);
    doc = replace(text, "\"verdict\": \"FAIL\"", "\"verdict\": \"MAYBE\"");
    expect_error_key(doc, "verdict: unknown value \"MAYBE\"");
    free(doc);
    doc = replace(text, "\"rows\": [", "\"rows\": 3, \"x\": [");
    expect_error_key(doc, "claims[0].rows: expected an array, found an integer");
    free(doc);
    /* a series whose x is one element short of n */
    doc = replace(text, "\"n\": 4", "\"n\": 5");
    expect_error_key(doc, "claims[0].figures[0].series[0].x: array has 4 elements, n is 5");
    free(doc);
    doc = replace(text, "\"n\": 4", "\"n\": -1");
    expect_error_key(doc, "claims[0].figures[0].series[0].n: negative count -1");
    free(doc);
    /* y[3] of the first series is NaN, written "nan"; misspelt */
    doc = replace_after(text, "\"y\": [", "\"nan\"", "\"NaN\"");
    expect_error_key(doc, "claims[0].figures[0].series[0].y[3]: expected a number or \"nan\"");
    free(doc);
    doc = replace(text, "\"paper\": {", "\"paper\": 7, \"p\": {");
    expect_error_key(doc, "paper: expected an object or null, found an integer");
    free(doc);
    doc = replace(text, "\"seed\": 7", "\"seed\": \"-7\"");
    expect_error_key(doc, "meta.seed: \"-7\" is not an unsigned decimal");
    free(doc);
    doc = replace(text, "\"seed\": 7", "\"seed\": -7");
    expect_error_key(doc, "meta.seed: expected a non-negative integer, found an integer");
    free(doc);
    doc = replace(text, "\"claims\": [", "\"claims\": [3, ");
    expect_error_key(doc, "claims[0]: expected an object, found an integer");
    free(doc);
    expect_error_key("[1, 2]", "top level: expected an object, found an array");
    free(text);
    free_results(res, 3);
}

Test(report, read_json_missing_file_is_an_io_error)
{
    char path[128];
    tmp_path(path, sizeof path, "absent.json");
    ac_report_set set;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_report_read_json(path, &set, &msg), AC_EIO);
    cr_assert(strncmp(msg.text, path, strlen(path)) == 0, "%s", msg.text);
    ac_report_set_clear(&set);
}

Test(report, parse_json_from_a_buffer_without_nul)
{
    ac_claim_result res[3];
    make_results(res);
    char *text = write_report("r.json", AC_FMT_JSON, NULL, res, 3, NULL);
    size_t n = strlen(text);
    char *copy = malloc(n);
    memcpy(copy, text, n); /* no terminating NUL */
    ac_report_set set;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_report_parse_json(copy, n, "buffer", &set, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(set.nres, 3);
    assert_same_result(&res[2], &set.res[2]);
    ac_report_set_clear(&set);
    cr_assert_eq(ac_report_parse_json(copy, n / 3, "buffer", &set, &msg), AC_EPARSE);
    cr_assert(strncmp(msg.text, "buffer:", 7) == 0, "%s", msg.text);
    free(copy);
    free(text);
    free_results(res, 3);
}

/* A report saved by an editor that writes a UTF-8 byte-order mark reads as
 * without it (it was refused: '[' or '{' expected near the mark); a mark
 * alone, or a mark cut short, is still malformed. */
Test(report, parse_json_skips_a_byte_order_mark)
{
    ac_claim_result res[3];
    make_results(res);
    char *text = write_report("bom.json", AC_FMT_JSON, NULL, res, 3, NULL);
    size_t n = strlen(text);
    char *copy = malloc(n + 3);
    memcpy(copy, "\xEF\xBB\xBF", 3);
    memcpy(copy + 3, text, n);
    ac_report_set set;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_report_parse_json(copy, n + 3, "bom", &set, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(set.nres, 3);
    assert_same_result(&res[2], &set.res[2]);
    ac_report_set_clear(&set);
    cr_assert_eq(ac_report_parse_json(copy, 3, "bom", &set, &msg), AC_EPARSE);
    memcpy(copy + 1, text, n); /* half a mark before the text */
    cr_assert_eq(ac_report_parse_json(copy, n + 1, "bom", &set, &msg), AC_EPARSE);
    cr_assert(strncmp(msg.text, "bom:1:", 6) == 0, "%s", msg.text);
    free(copy);
    free(text);
    free_results(res, 3);
}

/* A text that fills its field reads back; one byte more is refused. */
Test(report, read_json_keeps_texts_that_fit_and_refuses_longer)
{
    ac_claim_result res[3];
    make_results(res);
    char *text = write_report("r.json", AC_FMT_JSON, &paper_fake, res, 3, &test_meta);
    char longest[AC_CLAIM_TEXT + 3];
    longest[0] = '"';
    memset(longest + 1, 'q', AC_CLAIM_TEXT - 1);
    snprintf(longest + AC_CLAIM_TEXT, 3, "\"");
    char *doc = replace_value(text, "\"quantity\": ", longest);
    write_text("bad.json", doc);
    char path[128];
    tmp_path(path, sizeof path, "bad.json");
    ac_report_set set;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_report_read_json(path, &set, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(strlen(set.res[0].rows[0].quantity), AC_CLAIM_TEXT - 1);
    ac_report_set_clear(&set);
    free(doc);
    longest[AC_CLAIM_TEXT] = 'q';
    snprintf(longest + AC_CLAIM_TEXT + 1, 2, "\"");
    doc = replace_value(text, "\"quantity\": ", longest);
    expect_error_key(doc, "claims[0].rows[0].quantity: string of 256 bytes is longer than the 255");
    free(doc);
    free(text);
    free_results(res, 3);
}
