/* The CBOW-MoE model file (verify/moe_io.h) and the JSON arrays under it
 * (verify/json_array.h): round trips bit for bit, and every refusal names
 * the file and the key path. */
#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <mpfr.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "verify/json_array.h"
#include "verify/moe_check.h"
#include "verify/moe_io.h"

static char tmp_path[64];

static const char *write_tmp(const char *text)
{
    snprintf(tmp_path, sizeof tmp_path, "/tmp/ac_moe_io_XXXXXX");
    int fd = mkstemp(tmp_path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    return tmp_path;
}

/* Each variant's options: the round trip keeps every array and which ones exist. */
Test(moe_io, model_round_trip_bit_for_bit)
{
    const struct {
        int H, layers, self, residual;
        unsigned with;
    } cases[] = {
        {1, 1, 1, 0, 0},
        {1, 1, 0, 0, AC_MOE_WITH_P},
        {2, 1, 1, 0, AC_MOE_WITH_P | AC_MOE_WITH_BQ | AC_MOE_WITH_BK | AC_MOE_WITH_BV | AC_MOE_WITH_WO |
                         AC_MOE_WITH_BO | AC_MOE_WITH_C},
        {1, 1, 1, 1, AC_MOE_WITH_P | AC_MOE_WITH_WO},
        {1, 2, 1, 0, AC_MOE_WITH_P | AC_MOE_WITH_C},
    };
    gsl_rng *r = ac_test_rng(11);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ac_moe_sizes s;
        ac_moe_sizes_default(&s);
        s.H = cases[k].H, s.layers = cases[k].layers, s.self = cases[k].self;
        s.residual = cases[k].residual;
        s.dout = cases[k].with & AC_MOE_WITH_WO ? s.d : s.H * s.dv;
        ac_moe_model *mm = ac_moe_model_alloc(&s, cases[k].with);
        cr_assert_not_null(mm, "case %zu", k);
        ac_moe_model_randomize(mm, r, 1.0);
        snprintf(tmp_path, sizeof tmp_path, "/tmp/ac_moe_io_XXXXXX");
        int fd = mkstemp(tmp_path);
        FILE *f = fdopen(fd, "w");
        ac_msg msg = {{0}};
        cr_assert_eq(ac_moe_model_write(f, mm, &msg), AC_OK);
        fclose(f);
        ac_moe_model *back = NULL;
        cr_assert_eq(ac_moe_model_read(tmp_path, &back, &msg), AC_OK, "%s", msg.text);
        unlink(tmp_path);
        cr_assert_eq(back->with, mm->with, "case %zu", k);
        cr_assert_eq(memcmp(&back->m.s, &mm->m.s, sizeof s), 0);
        const double *a[] = {mm->E, mm->P, mm->Wq, mm->Wk, mm->Wv, mm->bq, mm->bk, mm->bv,
                             mm->Wo, mm->bo, mm->U, mm->c, mm->Wq2, mm->Wk2, mm->Wv2};
        const double *b[] = {back->E, back->P, back->Wq, back->Wk, back->Wv, back->bq, back->bk,
                             back->bv, back->Wo, back->bo, back->U, back->c, back->Wq2, back->Wk2,
                             back->Wv2};
        /* Sizes of the arrays, in the same order. */
        const int V = s.V, L = s.L, d = s.d, dk = s.dk, dv = s.dv, H = s.H, dout = s.dout;
        const size_t n[] = {(size_t)(V + 1) * d, (size_t)L * d, (size_t)H * dk * d,
                            (size_t)H * dk * d, (size_t)H * dv * d, (size_t)H * dk, (size_t)H * dk,
                            (size_t)H * dv, (size_t)dout * H * dv, (size_t)dout, (size_t)V * dout,
                            (size_t)V, (size_t)dk * dv, (size_t)dk * dv, (size_t)dv * dv};
        for (int j = 0; j < 15; j++) {
            cr_assert_eq(a[j] == NULL, b[j] == NULL, "case %zu array %d presence", k, j);
            if (a[j])
                cr_assert_eq(memcmp(a[j], b[j], n[j] * sizeof(double)), 0, "case %zu array %d", k, j);
        }
        ac_moe_model_free(back);
        ac_moe_model_free(mm);
    }
    gsl_rng_free(r);
}

/* A minimal valid model (V = 2, L = 2, d = 2, dk = dv = 1, H = 1) with one
 * replacement applied: the refusals below each change one thing. */
static const char base_model[] =
    "{\"sizes\": {\"V\": 2, \"L\": 2, \"d\": 2, \"dk\": 1, \"dv\": 1, \"H\": 1, \"layers\": 1,\n"
    "           \"self\": 1, \"residual\": 0},\n"
    " \"E\": [[1, 0], [0, 1], [0.5, 0.5]],\n"
    " \"Wq\": [[[1, 2]]], \"Wk\": [[[0.5, -1]]], \"Wv\": [[[1, 1]]],\n"
    " \"U\": [[1], [-1]]}\n";

static void expect_refused(const char *from, const char *to, ac_status want, const char *needle)
{
    char text[2048];
    const char *p = strstr(base_model, from);
    cr_assert_not_null(p, "'%s' not in the base model", from);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(p - base_model), base_model, to, p + strlen(from));
    const char *path = write_tmp(text);
    ac_moe_model *mm = NULL;
    ac_msg msg = {{0}};
    ac_status st = ac_moe_model_read(path, &mm, &msg);
    unlink(path);
    cr_assert_eq(st, want, "'%s' -> '%s': status %d (%s)", from, to, st, msg.text);
    cr_assert_null(mm);
    cr_assert(strstr(msg.text, path) != NULL, "message names the file: %s", msg.text);
    cr_assert(strstr(msg.text, needle) != NULL, "message '%s' lacks '%s'", msg.text, needle);
}

Test(moe_io, base_model_reads)
{
    const char *path = write_tmp(base_model);
    ac_moe_model *mm = NULL;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_moe_model_read(path, &mm, &msg), AC_OK, "%s", msg.text);
    unlink(path);
    cr_assert_eq(mm->m.s.dout, 1, "dout defaults to H dv");
    cr_assert_eq(mm->with, 0u);
    cr_assert_eq(mm->E[5], 0.5);
    ac_moe_model_free(mm);
}

Test(moe_io, refusals_name_file_and_key_path)
{
    expect_refused("[[[1, 2]]], \"Wk\"", "[[[1, 2, 3]]], \"Wk\"", AC_EPARSE, "Wq[0][0]: 3 entries, expected 2 (d)");
    expect_refused("[[1, 0], [0, 1], [0.5, 0.5]]", "[[1, 0], [0, 1]]", AC_EPARSE, "E: 2 entries, expected 3 (V + 1)");
    expect_refused("[[1], [-1]]", "[[1], [\"x\"]]", AC_EPARSE, "U[1][0]: not a number");
    expect_refused("[[1], [-1]]", "[[1], [NaN]]", AC_EPARSE, ":5:");
    expect_refused("[[1], [-1]]", "[[1], [1e999]]", AC_EPARSE, ":5:18: real number overflow");
    expect_refused(" \"U\": [[1], [-1]]", " \"Ux\": [[1], [-1]]", AC_EPARSE, "unknown key 'Ux'");
    expect_refused(", \"Wv\": [[[1, 1]]]", "", AC_EPARSE, "missing key 'Wv'");
    expect_refused("\"V\": 2", "\"V\": 0", AC_EPARSE, "sizes: V = 0, outside 1..");
    expect_refused("\"V\": 2", "\"V\": 2.5", AC_EPARSE, "sizes: V: not an integer");
    expect_refused("\"self\": 1", "\"self\": 1, \"heads\": 2", AC_EPARSE, "sizes: heads: unknown size");
    expect_refused("\"layers\": 1", "\"layers\": 2", AC_EPARSE, "Wq2: missing");
    expect_refused(" \"U\"", " \"bo\": [1], \"U\"", AC_EPARSE, "bo: given without Wo");
    expect_refused(" \"U\"", " \"format\": \"other\", \"U\"", AC_EPARSE, "format: expected");
    expect_refused("\"residual\": 0", "\"residual\": 1", AC_EPARSE, "sizes:");
}

/* Sizes alone, declaring H dk d = 2^36 numbers: refused at the first
 * required array that is missing, before the model is allocated from the
 * sizes (it asked for 550 GB and said "out of memory for the model"). */
Test(moe_io, sizes_without_arrays_are_refused_before_any_allocation)
{
    const char *path = write_tmp("{\"sizes\": {\"V\": 3, \"L\": 3, \"d\": 4096, \"dk\": 4096, \"dv\": 1, "
                                 "\"H\": 4096, \"layers\": 1, \"self\": 1, \"residual\": 0}}");
    ac_moe_model *mm = NULL;
    ac_msg msg = {{0}};
    ac_status st = ac_moe_model_read(path, &mm, &msg);
    unlink(path);
    cr_assert_eq(st, AC_EPARSE, "status %d: %s", st, msg.text);
    cr_assert_null(mm);
    cr_assert(strstr(msg.text, "missing key 'E'") != NULL, "%s", msg.text);
}

Test(moe_io, missing_file_and_malformed_json)
{
    ac_moe_model *mm = NULL;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_moe_model_read("/nonexistent/model.json", &mm, &msg), AC_EIO);
    cr_assert(strstr(msg.text, "/nonexistent/model.json: cannot open") != NULL, "%s", msg.text);
    const char *path = write_tmp("{\"sizes\": {\n  \"V\": ,\n}");
    cr_assert_eq(ac_moe_model_read(path, &mm, &msg), AC_EPARSE);
    char want[128];
    snprintf(want, sizeof want, "%s:2:", path);
    unlink(path);
    cr_assert(strstr(msg.text, want) != NULL, "'%s' lacks the line: %s", msg.text, want);
    path = write_tmp("[1, 2]");
    cr_assert_eq(ac_moe_model_read(path, &mm, &msg), AC_EPARSE);
    unlink(path);
    cr_assert(strstr(msg.text, "not a JSON object") != NULL, "%s", msg.text);
}

/* json_array: rank-3 nesting is row-major and reads back exactly. */
Test(json_array, nested_row_major)
{
    const int dims[3] = {2, 3, 2};
    double a[12], b[12];
    for (int k = 0; k < 12; k++)
        a[k] = k / 7.0;
    json_t *obj = json_object();
    cr_assert_eq(ac_json_set_new(obj, "A", ac_json_doubles(3, dims, a)), AC_OK);
    /* A[1][2][0] is entry (1*3 + 2)*2 + 0 = 10 */
    cr_assert_eq(json_real_value(json_array_get(json_array_get(json_array_get(json_object_get(obj, "A"), 1), 2), 0)), a[10]);
    ac_msg msg = {{0}};
    cr_assert_eq(ac_json_get_doubles(obj, "A", 3, dims, NULL, b, NULL, "f", &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(memcmp(a, b, sizeof a), 0);
    int present = 1;
    cr_assert_eq(ac_json_get_doubles(obj, "B", 3, dims, NULL, b, &present, "f", &msg), AC_OK);
    cr_assert_eq(present, 0);
    json_decref(obj);
}

/* json_array: ac_json_load skips a UTF-8 byte-order mark at the start, and
 * only there (a mark after the first byte is not JSON); a top level that
 * is not an object is still refused after it. */
Test(json_array, load_skips_a_byte_order_mark_at_the_start)
{
    json_t *root = NULL;
    ac_msg msg = {{0}};
    const char *path = write_tmp("\xef\xbb\xbf{\"a\": 1}");
    ac_status st = ac_json_load(path, &root, &msg);
    unlink(path);
    cr_assert_eq(st, AC_OK, "%s", msg.text);
    cr_assert_eq(json_integer_value(json_object_get(root, "a")), 1);
    json_decref(root);
    path = write_tmp(" \xef\xbb\xbf{\"a\": 1}");
    st = ac_json_load(path, &root, &msg);
    unlink(path);
    cr_assert_eq(st, AC_EPARSE, "a mark after a space was accepted");
    path = write_tmp("\xef\xbb\xbf[1]");
    st = ac_json_load(path, &root, &msg);
    unlink(path);
    cr_assert_eq(st, AC_EPARSE);
    cr_assert(strstr(msg.text, "not a JSON object") != NULL, "%s", msg.text);
    path = write_tmp("\xef\xbb");
    st = ac_json_load(path, &root, &msg);
    unlink(path);
    cr_assert_eq(st, AC_EPARSE, "two bytes of a mark and nothing else");
}

/* moe_check: ac_moe_check holds on a model read from a file, and catches a
 * violation of known size planted in the form's c_0: 1e-6 (above the
 * double rounding bound of these entries, asserted) fails the double rows
 * and the MPFR row (6 digits), 1e-40 (below the double bound, above the
 * 10^-50 of 50 digits) the MPFR row alone, NaN both; 1e-70 (below both)
 * fails neither. */
Test(moe_check, holds_and_catches_planted_violations)
{
    ac_moe_model *mm = NULL;
    ac_msg msg = {{0}};
    const char *path = write_tmp(base_model);
    ac_status st = ac_moe_model_read(path, &mm, &msg);
    unlink(path);
    cr_assert_eq(st, AC_OK, "%s", msg.text);
    const double plant[] = {0.0, 1e-6, 1e-40, NAN, 1e-70};
    const int want_double[] = {1, 0, 1, 0, 1}, want_mpfr[] = {1, 0, 0, 0, 1};
    for (int k = 0; k < 5; k++) {
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(r, 1);
        ac_moe_check_result c;
        cr_assert_eq(ac_moe_check(&mm->m, 4, 256, plant[k], r, &c, &msg), AC_OK, "%s", msg.text);
        gsl_rng_free(r);
        cr_assert(c.tol < 1e-6, "the planted 1e-6 must exceed the bound %g", c.tol);
        cr_assert(c.double_judged && c.mpfr_judged);
        cr_assert_eq(c.holds_double, want_double[k], "plant %g: holds_double %d", plant[k], c.holds_double);
        cr_assert_eq(c.holds_mpfr, want_mpfr[k], "plant %g: holds_mpfr %d (%g digits)", plant[k], c.holds_mpfr,
                     c.digits);
        cr_assert_eq(ac_moe_check_holds(&c), want_double[k] && want_mpfr[k]);
    }
    ac_moe_model_free(mm);
    mpfr_free_cache();
}

/* The careless calls: a NULL path or out is refused (both were written or
 * read through), and ac_moe_check refuses what would judge nothing or
 * could not run: zero or negative sentences (AC_OK and "holds" on no
 * evidence), no generator (a NULL read in GSL), a precision MPFR cannot
 * take (reported as "no memory"), a NULL model or result.  After a
 * refusal the result holds nothing. */
Test(moe_check, refuses_null_and_vacuous_arguments_by_name)
{
    ac_moe_model *mm = (ac_moe_model *)&mm;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_moe_model_read(NULL, &mm, &msg), AC_EINVAL);
    cr_assert_null(mm);
    cr_assert_eq(ac_moe_model_read("/nonexistent/model.json", NULL, &msg), AC_EINVAL);
    const char *path = write_tmp(base_model);
    cr_assert_eq(ac_moe_model_read(path, &mm, &msg), AC_OK, "%s", msg.text);
    unlink(path);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    ac_moe_check_result c;
    struct { int sentences, prec; gsl_rng *r; const char *names; } bad[] = {
        {0, 256, r, "0 sentences"}, {-3, 256, r, "-3 sentences"}, {1, 0, r, "precision 0 bits"},
        {1, 256, NULL, "random generator"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        cr_assert_eq(ac_moe_check(&mm->m, bad[k].sentences, bad[k].prec, 0.0, bad[k].r, &c, &msg), AC_EINVAL,
                     "case %zu", k);
        cr_assert(strstr(msg.text, bad[k].names), "case %zu: %s", k, msg.text);
        cr_assert_not(ac_moe_check_holds(&c), "case %zu: a refused check holds", k);
    }
    cr_assert_eq(ac_moe_check(NULL, 1, 256, 0.0, r, &c, &msg), AC_EINVAL);
    cr_assert_eq(ac_moe_check(&mm->m, 1, 256, 0.0, r, NULL, &msg), AC_EINVAL);
    cr_assert_eq(ac_moe_model_write(stdout, NULL, &msg), AC_EINVAL);
    cr_assert_eq(ac_moe_form_write(stdout, NULL, &msg), AC_EINVAL);
    mm->E[0] = NAN;
    cr_assert_eq(ac_moe_check(&mm->m, 1, 256, 0.0, r, &c, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "NaN"), "%s", msg.text);
    gsl_rng_free(r);
    ac_moe_model_free(mm);
    mpfr_free_cache();
}
