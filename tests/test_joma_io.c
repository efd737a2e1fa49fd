/* The joma commands' file formats (verify/joma_io): each parse error with
 * its NAME:LINE and quantity, the accepted variations of the format, exact
 * write -> read round trips on seeded random data (under a decimal-comma
 * locale when one is installed), and the claims' in-memory inputs (the toy's
 * mu, the §4.1 data) read back bit for bit from what `joma generate` writes. */
#include <criterion/criterion.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "solvers/ode.h"
#include "tests/testutil.h"
#include "theory/joma.h"
#include "verify/joma_data.h"
#include "verify/joma_io.h"
#include "verify/joma_toy.h"
#include "verify/trial.h"

/* Parse text as a vector named v.txt; expect want and a message holding sub. */
static void vector_fails(const char *text, size_t len, ac_status want, const char *sub)
{
    ac_msg m = {{0}};
    double *x = (double *)1;
    int n = -1;
    ac_status st = ac_joma_io_parse_vector(text, len, "v.txt", &x, &n, &m);
    cr_assert_eq(st, want, "'%s': status %d, message '%s'", text, st, m.text);
    cr_assert_null(x);
    cr_assert_eq(n, 0);
    cr_assert(strstr(m.text, sub), "'%s': message '%s' lacks '%s'", text, m.text, sub);
}

#define VFAILS(text, sub) vector_fails(text, sizeof text - 1, AC_EPARSE, sub)

Test(joma_io, vector_accepts_comments_blank_lines_crlf_and_a_bom)
{
    static const char text[] = "\xEF\xBB\xBF# drive\r\n\n  1.7312  # first\r\n-2.5e-3\n\t3\n# end";
    double *x;
    int n;
    ac_msg m = {{0}};
    cr_assert_eq(ac_joma_io_parse_vector(text, sizeof text - 1, "v.txt", &x, &n, &m), AC_OK, "%s", m.text);
    cr_assert_eq(n, 3);
    /* exact: strtod rounds each decimal correctly, as the literal does */
    cr_assert(x[0] == 1.7312 && x[1] == -2.5e-3 && x[2] == 3.0);
    free(x);
}

Test(joma_io, vector_errors_name_file_line_and_word)
{
    VFAILS("1\nnan\n", "v.txt:2: 'nan' is not a finite number");
    VFAILS("1\n2\n-inf\n", "v.txt:3: '-inf' is not a finite number");
    VFAILS("1e999\n", "v.txt:1: '1e999' is not a finite number");
    VFAILS("1\nabc\n", "v.txt:2: 'abc' is not a number");
    VFAILS("0x1p3\n", "v.txt:1: '0x1p3' is not a number");
    VFAILS("1 2\n", "v.txt:1: more than one number");
    VFAILS("# only a comment\n\n", "v.txt: no numbers");
    VFAILS("", "v.txt: no numbers");
    VFAILS("1\n\xff\n", "v.txt:2: not a text file (byte 0xff at column 1)");
    VFAILS("1\n2\xc3\n", "v.txt:2: not a text file");
    VFAILS("1\r2\n", "v.txt:1: a carriage return inside the line");
    VFAILS("1\n\0\n", "v.txt:2: not a text file (byte 0x00");
}

Test(joma_io, list_parses_and_names_the_bad_entry)
{
    double *x;
    int n;
    ac_msg m = {{0}};
    cr_assert_eq(ac_joma_io_parse_list("1.5, 2,3.25", "--mu", &x, &n, &m), AC_OK, "%s", m.text);
    cr_assert(n == 3 && x[0] == 1.5 && x[1] == 2.0 && x[2] == 3.25);
    free(x);
    cr_assert_eq(ac_joma_io_parse_list("1,,2", "--mu", &x, &n, &m), AC_EPARSE);
    cr_assert(strstr(m.text, "--mu: entry 2 '' is not a number"), "%s", m.text);
    cr_assert_eq(ac_joma_io_parse_list("1,NaN", "--mu", &x, &n, &m), AC_EPARSE);
    cr_assert(strstr(m.text, "--mu: entry 2 'NaN' is not a finite number"), "%s", m.text);
    cr_assert_null(x);
}

/* Run fill under a decimal-comma locale when one is installed (the Makefile
 * installs de_DE.UTF-8 for the tests); the writers must write '.' anyway. */
static char *write_to_buffer(ac_status (*fill)(FILE *, const void *), const void *ctx, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    cr_assert_not_null(f);
    char *old = strdup(setlocale(LC_NUMERIC, NULL));
    setlocale(LC_NUMERIC, "de_DE.UTF-8"); /* may fail: then the C locale stays */
    cr_assert_eq(fill(f, ctx), AC_OK);
    setlocale(LC_NUMERIC, old);
    free(old);
    cr_assert_eq(fclose(f), 0);
    return buf;
}

typedef struct {
    const double *x;
    int n;
    const char *header;
} vec_ctx;

static ac_status fill_vec(FILE *f, const void *ctx)
{
    const vec_ctx *c = ctx;
    return ac_joma_io_write_vector(f, c->header, c->x, c->n);
}

Test(joma_io, vector_write_read_round_trip_is_exact)
{
    gsl_rng *r = ac_test_rng(20261201);
    for (int cs = 0; cs < ac_test_cases(20); cs++) {
        int n = 1 + (int)gsl_rng_uniform_int(r, 40);
        double *x = malloc(sizeof(double) * (size_t)n), *y;
        for (int i = 0; i < n; i++) /* values over many binades, subnormals and -0 included */
            x[i] = i == 0 && cs == 1 ? -0.0 : i == 1 && cs == 2 ? 4.9406564584124654e-324
                                                                : ldexp(gsl_ran_gaussian(r, 1.0), (int)gsl_rng_uniform_int(r, 200) - 100);
        vec_ctx c = {x, n, "a header\nof two lines"};
        size_t len;
        char *buf = write_to_buffer(fill_vec, &c, &len);
        int m;
        ac_msg msg = {{0}};
        cr_assert_eq(ac_joma_io_parse_vector(buf, len, "w.txt", &y, &m, &msg), AC_OK, "seed case %d: %s", cs, msg.text);
        cr_assert_eq(m, n);
        for (int i = 0; i < n; i++)
            cr_assert(memcmp(&x[i], &y[i], sizeof(double)) == 0, "case %d entry %d: %.17g read as %.17g", cs, i, x[i],
                      y[i]);
        free(buf);
        free(x);
        free(y);
    }
    gsl_rng_free(r);
}

Test(joma_io, vector_writer_refuses_what_the_reader_would)
{
    double x[2] = {1.0, NAN};
    char *buf = NULL;
    size_t len;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(ac_joma_io_write_vector(f, NULL, x, 2), AC_EINVAL);
    cr_assert_eq(ac_joma_io_write_vector(f, NULL, x, 0), AC_EINVAL);
    fclose(f);
    cr_assert_eq(len, 0, "nothing is written");
    free(buf);
}

/* The toy's mu as generate writes it reads back as the claims build it. */
Test(joma_io, toy_mu_file_reads_back_as_the_in_memory_mu)
{
    double mu[AC_JOMA_TOY_M], *y;
    ac_joma_toy_mu_seed0(mu);
    vec_ctx c = {mu, AC_JOMA_TOY_M, "attncheck joma generate --task toy"};
    size_t len;
    char *buf = write_to_buffer(fill_vec, &c, &len);
    int n;
    cr_assert_eq(ac_joma_io_parse_vector(buf, len, "toy.mu", &y, &n, NULL), AC_OK);
    cr_assert_eq(n, AC_JOMA_TOY_M);
    cr_assert(memcmp(mu, y, sizeof mu) == 0);
    free(buf);
    free(y);
}

/* ---- token files ---------------------------------------------------------- */

static void tokens_fail(const char *text, size_t len, const char *sub)
{
    ac_joma_tokens tk;
    ac_msg m = {{0}};
    cr_assert_eq(ac_joma_io_parse_tokens(text, len, "tok.txt", &tk, &m), AC_EPARSE, "'%s': %s", text, m.text);
    cr_assert(strstr(m.text, sub), "'%s': message '%s' lacks '%s'", text, m.text, sub);
    cr_assert_null(tk.context);
    cr_assert_eq(tk.D.N, 0);
}

#define TFAILS(text, sub) tokens_fail(text, sizeof text - 1, sub)

Test(joma_io, tokens_make_normalised_counts_and_labels)
{
    static const char text[] = "the cat the mat\r\n\xc3\xa9t\xc3\xa9 17 cat\nthe 17 mat";
    ac_joma_tokens tk;
    ac_msg m = {{0}};
    cr_assert_eq(ac_joma_io_parse_tokens(text, sizeof text - 1, "tok.txt", &tk, &m), AC_OK, "%s", m.text);
    /* context vocabulary in order of first appearance: the, cat, été, 17 */
    cr_assert_eq(tk.D.M, 4);
    cr_assert_eq(tk.D.K, 2); /* labels: mat, cat */
    cr_assert_eq(tk.D.N, 3);
    cr_assert_str_eq(tk.context[2], "\xc3\xa9t\xc3\xa9");
    cr_assert_str_eq(tk.labels[0], "mat");
    static const double X[3][4] = {{2.0 / 3, 1.0 / 3, 0, 0}, {0, 0, 0.5, 0.5}, {0.5, 0, 0, 0.5}};
    static const int lab[3] = {0, 1, 0};
    for (int n = 0; n < 3; n++) {
        cr_assert_eq(tk.D.label[n], lab[n]);
        cr_assert_eq(tk.line[n], n + 1);
        for (int l = 0; l < 4; l++) /* counts / length: one rounding, as the literal */
            cr_assert(tk.D.X[n * 4 + l] == X[n][l], "x[%d][%d] = %.17g", n, l, tk.D.X[n * 4 + l]);
        for (int k = 0; k < 2; k++)
            cr_assert(tk.D.Y[n * 2 + k] == (k == lab[n]));
    }
    ac_joma_tokens_clear(&tk);
    ac_joma_tokens_clear(&tk); /* a cleared struct is a no-op */
}

Test(joma_io, token_errors_name_file_and_line)
{
    TFAILS("", "tok.txt: empty file (no sequences)");
    TFAILS("a b\n\nc d\n", "tok.txt:2: empty line");
    TFAILS("a b\n   \t\n", "tok.txt:2: empty line");
    TFAILS("a b\nc\n", "tok.txt:2: one token");
    TFAILS("a b\nc \xed\xa0\x80 d\n", "tok.txt:2: not a text file (byte 0xed at column 3)");
    TFAILS("a b\n\xc0\xaf x\n", "tok.txt:2: not a text file");
}

/* ---- data files ----------------------------------------------------------- */

static void data_fail(const char *text, size_t len, const char *sub)
{
    ac_joma_data D;
    ac_msg m = {{0}};
    cr_assert_eq(ac_joma_io_parse_data(text, len, "d.data", &D, NULL, &m), AC_EPARSE, "'%s': %s", text, m.text);
    cr_assert(strstr(m.text, sub), "'%s': message '%s' lacks '%s'", text, m.text, sub);
    cr_assert_null(D.X);
}

#define DFAILS(text, sub) data_fail(text, sizeof text - 1, sub)

Test(joma_io, data_errors_name_file_line_and_quantity)
{
    DFAILS("# c\n0.5 0.5 | 0\n1 0 0 | 1\n", "d.data:3: 3 numbers, but the first row (line 2) has 2");
    DFAILS("0.5 0.5 0\n", "d.data:1: no '|'");
    DFAILS("0.5 -0.5 | 0\n", "d.data:1: x_2 = -0.5 is negative");
    DFAILS("0.5 nan | 0\n", "d.data:1: 'nan' is not a finite number");
    DFAILS("0 0 | 0\n", "d.data:1: every x is 0");
    DFAILS("1e-320 0 | 0\n", "d.data:1: the x sum to 9.99989e-321, outside the normal doubles");
    DFAILS("1e308 1e308 | 0\n", "d.data:1: the x sum to inf, outside the normal doubles");
    DFAILS("1 0 | -1\n", "d.data:1: label '-1' is not an integer");
    DFAILS("1 0 | 2.5\n", "d.data:1: label '2.5' is not an integer");
    DFAILS("1 0 |\n", "d.data:1: no label");
    DFAILS("1 0 | 1 2\n", "d.data:1: more than one label");
    DFAILS("| 1\n", "d.data:1: no numbers before '|'");
    DFAILS("# nothing\n", "d.data: no rows");
    DFAILS("1 0 | +3\n", "d.data:1: label '+3' is not an integer from 0 to 9007199254740991");
    DFAILS("1 0 | 1e3\n", "d.data:1: label '1e3' is not an integer");
    DFAILS("1 0 | 0x10\n", "d.data:1: label '0x10' is not an integer");
    DFAILS("1 0 | 9007199254740992\n", "d.data:1: label '9007199254740992' is not an integer"); /* 2^53 */
    DFAILS("1 0 | 99999999999999999999\n", "d.data:1: label '99999999999999999999' is not an integer");
}

/* K is the number of distinct labels, class k the k-th smallest label: the
 * memory follows the data, not the largest label (labels 3, 7, 4095 and
 * 2^53 - 1 make K = 4, not 2^53).  Leading zeros name the same label. */
Test(joma_io, data_classes_are_the_distinct_labels_in_increasing_order)
{
    static const char text[] = "0.25 0.75 | 7\n1 0 | 4095\n0 2 | 3\n1 1 | 007\n0.5 0.5 | 9007199254740991\n";
    static const long long want_labels[] = {3, 7, 4095, 9007199254740991LL};
    static const int want_class[] = {1, 2, 0, 1, 3};
    ac_joma_data D;
    long long *labels = NULL;
    ac_msg m = {{0}};
    cr_assert_eq(ac_joma_io_parse_data(text, sizeof text - 1, "d.data", &D, &labels, &m), AC_OK, "%s", m.text);
    cr_assert(D.N == 5 && D.M == 2 && D.K == 4, "N %d M %d K %d", D.N, D.M, D.K);
    for (int k = 0; k < 4; k++)
        cr_assert_eq(labels[k], want_labels[k], "class %d: label %lld", k, labels[k]);
    for (int n = 0; n < 5; n++) {
        cr_assert_eq(D.label[n], want_class[n], "row %d: class %d", n, D.label[n]);
        for (int k = 0; k < 4; k++)
            cr_assert(D.Y[n * 4 + k] == (k == want_class[n]), "row %d: Y one-hot at its class", n);
    }
    free(labels);
    ac_joma_data_clear(&D);
}

/* 4096 distinct labels are fine whatever their values; the 4097th is
 * refused at its line, with the count and the bound. */
Test(joma_io, data_refuses_more_distinct_labels_than_the_bound_at_their_line)
{
    const int n = AC_JOMA_IO_MAX_VOCAB + 1;
    char *text = malloc((size_t)n * 40), *p = text;
    for (int i = 0; i < n; i++)
        p += sprintf(p, "1 | %lld\n", 1000000007LL * (long long)(n - i)); /* large, decreasing */
    ac_joma_data D;
    long long *labels = (long long *)1;
    ac_msg m = {{0}};
    size_t len = (size_t)(p - text);
    cr_assert_eq(ac_joma_io_parse_data(text, len, "d.data", &D, &labels, &m), AC_EPARSE);
    cr_assert(strstr(m.text, "d.data:4097: label 1000000007 is the 4097th distinct label; at most 4096"), "%s",
              m.text);
    cr_assert_null(labels);
    cr_assert_null(D.X);
    len -= strlen("1 | 1000000007\n"); /* one row fewer: 4096 classes, label order reversed */
    cr_assert_eq(ac_joma_io_parse_data(text, len, "d.data", &D, &labels, &m), AC_OK, "%s", m.text);
    cr_assert_eq(D.K, AC_JOMA_IO_MAX_VOCAB);
    cr_assert(D.label[0] == D.K - 1 && D.label[D.N - 1] == 0 && labels[0] == 2 * 1000000007LL);
    free(labels);
    ac_joma_data_clear(&D);
    free(text);
}

typedef struct {
    const ac_joma_data *D;
} data_ctx;

static ac_status fill_data(FILE *f, const void *ctx)
{
    return ac_joma_io_write_data(f, "synthetic", ((const data_ctx *)ctx)->D);
}

/* The §4.1 data the claims build in memory, written as generate writes it,
 * reads back bit for bit, for both kinds and several seeds. */
Test(joma_io, synthetic_data_file_reads_back_as_the_in_memory_data)
{
    for (int kind = 0; kind < 2; kind++)
        for (unsigned long seed = 0; seed < (unsigned long)ac_test_cases(3); seed++) {
            gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
            gsl_rng_set(r, seed);
            ac_joma_data D, E;
            cr_assert_eq(ac_joma_data_synthetic(&D, (ac_joma_data_kind)kind, AC_JOMA_DATA_MDISTINCT,
                                                AC_JOMA_DATA_MCOMMON, AC_JOMA_DATA_K, r, NULL),
                         AC_OK);
            gsl_rng_free(r);
            data_ctx c = {&D};
            size_t len;
            char *buf = write_to_buffer(fill_data, &c, &len);
            ac_msg m = {{0}};
            cr_assert_eq(ac_joma_io_parse_data(buf, len, "s.data", &E, NULL, &m), AC_OK, "%s", m.text);
            cr_assert(E.N == D.N && E.M == D.M && E.K == D.K, "kind %d seed %lu: sizes", kind, seed);
            cr_assert(memcmp(E.X, D.X, sizeof(double) * (size_t)D.N * D.M) == 0, "kind %d seed %lu: X", kind, seed);
            cr_assert(memcmp(E.label, D.label, sizeof(int) * (size_t)D.N) == 0);
            cr_assert(memcmp(E.Y, D.Y, sizeof(double) * (size_t)D.N * D.K) == 0);
            free(buf);
            ac_joma_data_clear(&D);
            ac_joma_data_clear(&E);
        }
}

/* ---- trajectories --------------------------------------------------------- */

typedef struct {
    const ac_joma_io_trajectory *tr;
} traj_ctx;

static ac_status fill_csv(FILE *f, const void *ctx)
{
    return ac_joma_io_write_csv(f, ((const traj_ctx *)ctx)->tr);
}

static ac_joma_io_trajectory sample_trajectory(double *t, double *V, double *H, double *dr)
{
    /* 3 rows of 2 components, values 1.7312 k + 0.1 l and the like */
    for (int k = 0; k < 3; k++) {
        t[k] = 0.25 * k;
        H[k] = 0.6931 - 0.01 * k;
        dr[k] = 1e-13 * k;
        for (int l = 0; l < 2; l++)
            V[k * 2 + l] = 1.7312 * k + 0.1 * l;
    }
    ac_joma_io_trajectory tr = {2, 3, 4, t, V, H, dr, "closed_form", INFINITY, {0}, "rk8pd", 1e-10, 1e-12, 4321};
    tr.info.status = AC_ODE_STEP_UNDERFLOW;
    tr.info.t = 0.6;
    tr.info.steps = 17;
    return tr;
}

Test(joma_io, csv_has_the_documented_header_and_exact_rows)
{
    double t[3], V[6], H[3], dr[3];
    ac_joma_io_trajectory tr = sample_trajectory(t, V, H, dr);
    traj_ctx c = {&tr};
    size_t len;
    char *buf = write_to_buffer(fill_csv, &c, &len);
    cr_assert(strstr(buf, "# outcome: step_underflow ("), "%s", buf);
    cr_assert(strstr(buf, "# t_star: inf\n"), "%s", buf);
    cr_assert(strstr(buf, "# rows: 3 of 4\n"), "%s", buf);
    cr_assert(strstr(buf, "# max_steps: 4321\n"), "%s", buf);
    char *hdr = strstr(buf, "\nt,v_0,v_1,entropy,drift\n");
    cr_assert_not_null(hdr, "%s", buf);
    /* each row reads back exactly (%.17g, '.' whatever the locale) */
    char *p = hdr + strlen("\nt,v_0,v_1,entropy,drift\n");
    for (int k = 0; k < 3; k++) {
        double row[5];
        for (int j = 0; j < 5; j++) {
            char *end;
            row[j] = strtod(p, &end);
            cr_assert(end != p && (*end == ',' || *end == '\n'), "row %d field %d: '%.20s'", k, j, p);
            p = end + 1;
        }
        cr_assert(row[0] == t[k] && row[1] == V[2 * k] && row[2] == V[2 * k + 1] && row[3] == H[k] && row[4] == dr[k],
                  "row %d", k);
    }
    cr_assert_eq(*p, '\0', "no more rows than reached");
    free(buf);
}

Test(joma_io, json_has_the_documented_keys)
{
    double t[3], V[6], H[3], dr[3];
    ac_joma_io_trajectory tr = sample_trajectory(t, V, H, dr);
    json_t *j = ac_joma_io_trajectory_json(&tr);
    cr_assert_not_null(j);
    static const char *const keys[] = {"M", "outcome", "outcome_text", "t_reached", "h", "steps", "max_steps", "rejected", "nfev",
                                       "njev", "method", "rtol", "atol", "t_star", "drift_kind", "rows_requested", "t",
                                       "v", "entropy", "drift", "drift_max"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_assert_not_null(json_object_get(j, keys[i]), "key %s", keys[i]);
    cr_assert_str_eq(json_string_value(json_object_get(j, "outcome")), "step_underflow");
    cr_assert(json_is_null(json_object_get(j, "t_star")), "an infinite t* is null");
    cr_assert_eq(json_array_size(json_object_get(j, "v")), 3);
    cr_assert(json_real_value(json_object_get(j, "drift_max")) == 2e-13);
    cr_assert_eq(json_integer_value(json_object_get(j, "max_steps")), 4321);
    json_decref(j);
}

/* ---- the CLI against the claims' in-memory path --------------------------- */

static const char *cli_bin(void)
{
    const char *bin = getenv("AC_BIN");
    if (!bin || access(bin, X_OK) != 0)
        cr_skip_test("AC_BIN does not name the attncheck binary (make test sets it)");
    return bin;
}

/* `joma generate --task toy` then `joma integrate` on the file gives, bit for
 * bit, the trajectory of the in-memory toy mu through the same model and
 * integrator (what the claims integrate: theory/joma.h with
 * ac_joma_toy_mu_seed0). */
Test(joma_io, cli_integrate_on_the_generated_toy_is_the_in_memory_trajectory)
{
    const char *bin = cli_bin();
    enum { NT = 11 };
    double mu[AC_JOMA_TOY_M], v0[AC_JOMA_TOY_M], t[NT], V[NT * AC_JOMA_TOY_M];
    ac_joma_toy_mu_seed0(mu);
    const double t_end = AC_JOMA_TOY_ETA * (double)AC_JOMA_TOY_STEPS;
    for (int l = 0; l < AC_JOMA_TOY_M; l++)
        v0[l] = AC_JOMA_TOY_V0;
    for (int k = 0; k < NT; k++) /* the CLI's --n-out times */
        t[k] = 0.0 + (t_end - 0.0) * (double)k / (double)(NT - 1);
    t[NT - 1] = t_end;
    ac_joma_reduced m;
    ac_joma_reduced_init(&m, AC_JOMA_TOY_M, AC_JOMA_ATT_SOFTMAX, AC_JOMA_ACT_NONLINEAR, mu);
    m.T = AC_JOMA_TOY_T;
    ac_ode_system sys;
    ac_joma_reduced_system(&m, &sys);
    ac_ode_workspace *w = ac_ode_alloc(AC_JOMA_TOY_M);
    ac_ode_info info;
    int nd;
    cr_assert_eq(ac_ode_trajectory(w, &sys, 0.0, v0, NT, t, V, &nd, NULL, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_ODE_DONE);
    ac_ode_free(w);

    char dir[] = "/tmp/ac_joma_io_XXXXXX", cmd[2048], json[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/traj.json", dir);
    snprintf(cmd, sizeof cmd,
             "%s joma generate --task toy --out %s/toy && %s joma integrate %s/toy.mu --activation nonlinear "
             "--attention softmax --T %.17g --v0 %.17g --t-end %.17g --n-out %d --format json --out %s",
             bin, dir, bin, dir, AC_JOMA_TOY_T, AC_JOMA_TOY_V0, t_end, NT, json);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    json_error_t err;
    json_t *root = json_load_file(json, 0, &err);
    cr_assert_not_null(root, "%s: %s", json, err.text);
    json_t *rows = json_object_get(root, "v");
    cr_assert_eq(json_array_size(rows), NT);
    for (int k = 0; k < NT; k++)
        for (int l = 0; l < AC_JOMA_TOY_M; l++) {
            double x = json_number_value(json_array_get(json_array_get(rows, (size_t)k), (size_t)l));
            cr_assert(x == V[k * AC_JOMA_TOY_M + l], "t = %g, v_%d: %.17g (CLI) != %.17g (in memory)", t[k], l, x,
                      V[k * AC_JOMA_TOY_M + l]);
        }
    json_decref(root);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* `joma generate --task synthetic --seed S+i` writes the Gaussian X that trial
 * i of a claim run with seed S draws first (verify/trial.h generator). */
Test(joma_io, cli_generated_synthetic_is_the_trial_draw)
{
    const char *bin = cli_bin();
    const unsigned long seed = 7;
    for (int trial = 0; trial < 2; trial++) {
        gsl_rng *r = ac_trial_rng_alloc(seed, trial);
        ac_joma_data D, E;
        cr_assert_eq(ac_joma_data_synthetic(&D, AC_JOMA_DATA_GAUSSIAN, AC_JOMA_DATA_MDISTINCT, AC_JOMA_DATA_MCOMMON,
                                            AC_JOMA_DATA_K, r, NULL),
                     AC_OK);
        gsl_rng_free(r);
        char dir[] = "/tmp/ac_joma_io_XXXXXX", cmd[1024], path[256];
        cr_assert_not_null(mkdtemp(dir));
        snprintf(cmd, sizeof cmd, "%s joma generate --task synthetic --seed %lu --out %s/syn", bin,
                 seed + (unsigned long)trial, dir);
        cr_assert_eq(system(cmd), 0, "%s", cmd);
        snprintf(path, sizeof path, "%s/syn.data", dir);
        ac_msg m = {{0}};
        cr_assert_eq(ac_joma_io_read_data(path, &E, NULL, &m), AC_OK, "%s", m.text);
        cr_assert(E.N == D.N && E.M == D.M && E.K == D.K);
        cr_assert(memcmp(E.X, D.X, sizeof(double) * (size_t)D.N * D.M) == 0, "trial %d: X differs", trial);
        cr_assert(memcmp(E.label, D.label, sizeof(int) * (size_t)D.N) == 0);
        ac_joma_data_clear(&D);
        ac_joma_data_clear(&E);
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        cr_assert_eq(system(cmd), 0);
    }
}
