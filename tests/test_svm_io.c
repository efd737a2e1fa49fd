/* Dataset and embeddings files (verify/svm_io): every parse error with its
 * FILE:LINE and quantity, the accepted variations of the format, exact
 * write -> read round trips on seeded random data, and the fuzzers' findings
 * as regressions. */
#include <criterion/criterion.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/testutil.h"
#include "verify/svm_io.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

/* A fresh directory per test, so that messages name a known file. */
static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ac_svm_io.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
}

/* Write len bytes of text to tmpdir/base; the full path goes to path. */
static void put_file(char *path, size_t cap, const char *base, const char *text, size_t len)
{
    if (!tmpdir[0])
        make_tmpdir();
    snprintf(path, cap, "%s/%s", tmpdir, base);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(text, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static void remove_tmpdir(void)
{
    if (!tmpdir[0])
        return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
    tmpdir[0] = '\0';
}

TestSuite(svm_io, .fini = remove_tmpdir);

/* Parse len bytes as data.txt and expect status want with a message holding
 * each of the NULL-terminated substrings. */
static void data_fails_n(const char *text, size_t len, int K, ac_status want, const char *const *sub)
{
    ac_msg m = {{0}};
    ac_tpg_data *D = NULL;
    ac_status st = ac_svm_io_parse_data(text, len, "data.txt", K, &D, &m);
    cr_assert_eq(st, want, "input \"%s\": status %d (%s), want %d; msg: %s", text, st,
                 ac_status_str(st), want, m.text);
    cr_assert_null(D, "input \"%s\": dataset returned with an error", text);
    for (; *sub; sub++)
        cr_assert_not_null(strstr(m.text, *sub), "input \"%s\": message \"%s\" lacks \"%s\"", text,
                           m.text, *sub);
}

#define DATA_FAILS(text, K, want, ...)                                                        \
    data_fails_n(text, strlen(text), K, want, (const char *const[]){__VA_ARGS__, NULL})
#define DATA_FAILS_N(text, K, want, ...)                                                      \
    data_fails_n(text, sizeof(text) - 1, K, want, (const char *const[]){__VA_ARGS__, NULL})

static void emb_fails_n(const char *text, size_t len, ac_status want, const char *const *sub)
{
    ac_msg m = {{0}};
    double *E = (double *)&m;
    int K = -1, d = -1;
    ac_status st = ac_svm_io_parse_emb(text, len, "emb.txt", &E, &K, &d, &m);
    cr_assert_eq(st, want, "input \"%s\": status %d (%s), want %d; msg: %s", text, st,
                 ac_status_str(st), want, m.text);
    cr_assert(E == NULL && K == 0 && d == 0, "input \"%s\": outputs set on error", text);
    for (; *sub; sub++)
        cr_assert_not_null(strstr(m.text, *sub), "input \"%s\": message \"%s\" lacks \"%s\"", text,
                           m.text, *sub);
}

#define EMB_FAILS(text, want, ...)                                                            \
    emb_fails_n(text, strlen(text), want, (const char *const[]){__VA_ARGS__, NULL})
#define EMB_FAILS_N(text, want, ...)                                                          \
    emb_fails_n(text, sizeof(text) - 1, want, (const char *const[]){__VA_ARGS__, NULL})

static ac_tpg_data *data_ok(const char *text, int K)
{
    ac_msg m = {{0}};
    ac_tpg_data *D = NULL;
    ac_status st = ac_svm_io_parse_data(text, strlen(text), "data.txt", K, &D, &m);
    cr_assert_eq(st, AC_OK, "input \"%s\": status %d: %s", text, st, m.text);
    cr_assert_not_null(D);
    return D;
}

/* D holds exactly the examples seqs (each terminated by -1), labels and lines. */
static void expect_data(const ac_tpg_data *D, int n, int K, const int *flat, const int *label,
                        const int *line)
{
    cr_assert_eq(D->n, n, "n = %d, want %d", D->n, n);
    cr_assert_eq(D->K, K, "K = %d, want %d", D->K, K);
    cr_assert_eq(D->off[0], 0);
    int t = 0;
    for (int i = 0; i < n; i++) {
        for (int p = D->off[i]; p < D->off[i + 1]; p++, t++)
            cr_assert_eq(D->tok[p], flat[t], "example %d position %d: %d, want %d", i, p, D->tok[p],
                         flat[t]);
        cr_assert_eq(flat[t], -1, "example %d is too short", i);
        t++;
        cr_assert_eq(D->label[i], label[i], "example %d: label %d, want %d", i, D->label[i],
                     label[i]);
        cr_assert_not_null(D->line);
        cr_assert_eq(D->line[i], line[i], "example %d: line %d, want %d", i, D->line[i], line[i]);
    }
    cr_assert_not_null(D->source);
    cr_assert_str_eq(D->source, "data.txt");
}

/* ------------------------------------------------------------------------ */
/* Dataset: errors                                                          */

Test(svm_io, data_missing_bar_names_line)
{
    DATA_FAILS("1 2 | 2\n\n# c\n1 2 3\n", 0, AC_EPARSE, "data.txt:4:", "`|`");
}

Test(svm_io, data_two_bars_name_line)
{
    DATA_FAILS("1 2 | 2 | 2\n", 0, AC_EPARSE, "data.txt:1:", "more than one `|`");
    DATA_FAILS("1 2 | 2\n1 || 1\n", 0, AC_EPARSE, "data.txt:2:", "more than one `|`");
}

Test(svm_io, data_missing_label_names_line)
{
    DATA_FAILS("1 2 | 2\n0 1 |   # no label\n", 0, AC_EPARSE, "data.txt:2:", "no label");
}

Test(svm_io, data_two_labels_counted)
{
    DATA_FAILS("0 1 | 0 1\n", 0, AC_EPARSE, "data.txt:1:", "2 labels");
    DATA_FAILS("0 1 | 1\n0 1 | 0 1 1\n", 0, AC_EPARSE, "data.txt:2:", "3 labels");
}

Test(svm_io, data_empty_sequence_names_line)
{
    DATA_FAILS("  | 2\n", 0, AC_EPARSE, "data.txt:1:", "empty sequence");
    DATA_FAILS("1 | 1\n\t|1\n", 0, AC_EPARSE, "data.txt:2:", "empty sequence");
}

Test(svm_io, data_token_not_integer_quoted)
{
    static const char *const words[] = {"-1", "+3", "1.5", "x2", "3e2", "0x1", "\xc3\xa9", "1,2"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        char text[64], quoted[32];
        snprintf(text, sizeof text, "1 | 1\n0 %s 1 | 1\n", words[i]);
        snprintf(quoted, sizeof quoted, "token \"%s\"", words[i]);
        DATA_FAILS(text, 0, AC_EPARSE, "data.txt:2:", quoted, "not a non-negative integer");
    }
}

Test(svm_io, data_label_not_integer_quoted)
{
    DATA_FAILS("0 1 | one\n", 0, AC_EPARSE, "data.txt:1:", "label \"one\"",
               "not a non-negative integer");
    DATA_FAILS("0 1 | -1\n", 0, AC_EPARSE, "data.txt:1:", "label \"-1\"");
}

Test(svm_io, data_long_word_quote_is_cut)
{
    char text[400];
    memset(text, 'z', 300);
    strcpy(text + 300, " | 1\n");
    ac_msg m;
    ac_tpg_data *D;
    cr_assert_eq(ac_svm_io_parse_data(text, strlen(text), "data.txt", 0, &D, &m), AC_EPARSE);
    cr_assert_lt(strlen(m.text), 40 + AC_SVM_IO_QUOTE_MAX + 40, "message: %s", m.text);
    cr_assert_not_null(strstr(m.text, "zzz...\""), "message: %s", m.text);
}

Test(svm_io, data_id_too_large_for_int)
{
    DATA_FAILS("0 99999999999 | 0\n", 0, AC_EPARSE, "data.txt:1:", "token 99999999999",
               "too large");
    DATA_FAILS("0 | 2147483648\n", 0, AC_EPARSE, "data.txt:1:", "label 2147483648", "too large");
    /* K = 1 + id must fit an int too */
    DATA_FAILS("2147483647 | 2147483647\n", 0, AC_EPARSE, "data.txt:1:", "token 2147483647",
               "2147483646");
    /* digits then junk: not an integer at all */
    DATA_FAILS("0 99999999999x | 0\n", 0, AC_EPARSE, "data.txt:1:", "not a non-negative integer");
}

Test(svm_io, data_largest_id_is_accepted)
{
    ac_tpg_data *D = data_ok("2147483646 | 2147483646\n", 0);
    cr_assert_eq(D->K, INT_MAX);
    cr_assert_eq(D->tok[0], 2147483646);
    ac_tpg_data_free(D);
}

Test(svm_io, data_label_outside_vocabulary_when_K_given)
{
    DATA_FAILS("0 1 | 1\n3 9 | 9\n", 8, AC_EPARSE, "data.txt:2:", "9", "8");
    ac_tpg_data_free(data_ok("0 1 | 1\n3 7 | 7\n", 8));
}

Test(svm_io, data_token_outside_vocabulary_when_K_given)
{
    DATA_FAILS("0 1 | 1\n\n5 8 | 5\n", 8, AC_EPARSE, "data.txt:3:", "8");
}

Test(svm_io, data_label_absent_from_sequence)
{
    DATA_FAILS("0 1 | 1\n# A2\n0 1 2 | 3\n", 0, AC_EPARSE, "data.txt:3:", "3");
}

Test(svm_io, data_negative_K_is_invalid)
{
    DATA_FAILS("0 | 0\n", -1, AC_EINVAL, "-1");
}

Test(svm_io, data_empty_file_has_no_examples)
{
    DATA_FAILS("", 0, AC_EPARSE, "data.txt: no examples");
    DATA_FAILS("\n\n  \t\n# only a comment\r\n", 0, AC_EPARSE, "data.txt: no examples");
}

Test(svm_io, data_nul_byte_is_not_text)
{
    DATA_FAILS_N("0 1 | 1\n0 \0 | 0\n", 0, AC_EPARSE,
                 "data.txt:2: not a text file (byte 0x00 at column 3)");
}

Test(svm_io, data_control_and_bad_utf8_are_not_text)
{
    DATA_FAILS("0 1 | 1\x01\n", 0, AC_EPARSE, "data.txt:1:", "byte 0x01 at column 8");
    DATA_FAILS("# caf\xe9\n0 | 0\n", 0, AC_EPARSE, "data.txt:1:", "byte 0xe9 at column 6");
    DATA_FAILS("\n\n1 | 1 \xff\n", 0, AC_EPARSE, "data.txt:3:", "byte 0xff at column 7");
    /* overlong '/' and a UTF-16 surrogate are not UTF-8 either */
    DATA_FAILS("0 | 0 # \xc0\xaf\n", 0, AC_EPARSE, "data.txt:1:", "byte 0xc0");
    DATA_FAILS("0 | 0 # \xed\xa0\x80\n", 0, AC_EPARSE, "data.txt:1:", "byte 0xed");
    DATA_FAILS("0 | 0 # \xe2\x82", 0, AC_EPARSE, "data.txt:1:", "byte 0xe2 at column 9");
    DATA_FAILS("0 | 0\x7f", 0, AC_EPARSE, "data.txt:1:", "byte 0x7f");
}

Test(svm_io, data_carriage_return_inside_line)
{
    DATA_FAILS("0 | 0\r1 | 1\r", 0, AC_EPARSE, "data.txt:1:", "carriage return", "column 6");
}

Test(svm_io, data_nonexistent_path_is_eio)
{
    ac_msg m;
    ac_tpg_data *D = (ac_tpg_data *)&m;
    const char *p = "/nonexistent/ac-svm-io/data.txt";
    cr_assert_eq(ac_svm_io_read_data(p, 0, &D, &m), AC_EIO);
    cr_assert_null(D);
    cr_assert_not_null(strstr(m.text, p), "message: %s", m.text);
    cr_assert_not_null(strstr(m.text, strerror(ENOENT)), "message: %s", m.text);
}

Test(svm_io, data_directory_is_eio)
{
    make_tmpdir();
    ac_msg m;
    ac_tpg_data *D;
    cr_assert_eq(ac_svm_io_read_data(tmpdir, 0, &D, &m), AC_EIO);
    cr_assert_not_null(strstr(m.text, tmpdir), "message: %s", m.text);
    cr_assert_not_null(strstr(m.text, strerror(EISDIR)), "message: %s", m.text);
}

Test(svm_io, data_file_errors_name_the_path)
{
    char path[256];
    const char text[] = "0 1 | 1\n0 1 | 4\n";
    put_file(path, sizeof path, "data.txt", text, sizeof text - 1);
    ac_msg m;
    ac_tpg_data *D;
    cr_assert_eq(ac_svm_io_read_data(path, 0, &D, &m), AC_EPARSE);
    char want[300];
    snprintf(want, sizeof want, "%s:2:", path);
    cr_assert_not_null(strstr(m.text, want), "message: %s", m.text);
}

/* ------------------------------------------------------------------------ */
/* Dataset: accepted variations                                             */

Test(svm_io, readme_example_dataset_parses)
{
    const char *text = "# tokens 0..5; the label is the next token\n"
                       "3 0 5 2 | 5\n"
                       "1 4 | 4\n";
    ac_tpg_data *D = data_ok(text, 0);
    static const int flat[] = {3, 0, 5, 2, -1, 1, 4, -1};
    static const int label[] = {5, 4}, line[] = {2, 3};
    expect_data(D, 2, 6, flat, label, line);
    ac_tpg_data_free(D);
}

Test(svm_io, data_comments_blank_crlf_tabs_trailing_spaces)
{
    const char *text = "\xEF\xBB\xBF# header caf\xc3\xa9\r\n"
                       "\r\n"
                       "  0\t1 2 |2   # trailing comment | with bar\r\n"
                       "\t\n"
                       "2 1|1\t \r\n"
                       "   # indented comment\n"
                       "0 0 0 | 0"; /* no final newline */
    ac_tpg_data *D = data_ok(text, 0);
    static const int flat[] = {0, 1, 2, -1, 2, 1, -1, 0, 0, 0, -1};
    static const int label[] = {2, 1, 0}, line[] = {3, 5, 7};
    expect_data(D, 3, 3, flat, label, line);
    ac_tpg_data_free(D);
}

Test(svm_io, data_given_K_is_kept)
{
    ac_tpg_data *D = data_ok("0 1 | 1\n", 5);
    cr_assert_eq(D->K, 5);
    ac_tpg_data_free(D);
}

Test(svm_io, data_long_line_has_no_limit)
{
    int m = 200000;
    size_t cap = (size_t)m * 7 + 64;
    char *text = malloc(cap), *p = text;
    for (int i = 0; i < m; i++)
        p += sprintf(p, "%d ", i % 1000);
    strcpy(p, "| 999\n");
    ac_tpg_data *D = data_ok(text, 0);
    cr_assert_eq(D->n, 1);
    cr_assert_eq(D->off[1], m);
    cr_assert_eq(D->tok[m - 1], (m - 1) % 1000);
    cr_assert_eq(D->K, 1000);
    ac_tpg_data_free(D);
    free(text);
}

Test(svm_io, data_read_from_file_sets_source_and_lines)
{
    char path[256];
    const char text[] = "# c\n1 0 | 0\n\n0 1 | 1\n";
    put_file(path, sizeof path, "data.txt", text, sizeof text - 1);
    ac_msg m;
    ac_tpg_data *D;
    cr_assert_eq(ac_svm_io_read_data(path, 0, &D, &m), AC_OK, "%s", m.text);
    cr_assert_str_eq(D->source, path);
    cr_assert_eq(D->line[0], 2);
    cr_assert_eq(D->line[1], 4);
    ac_tpg_data_free(D);
}

/* ------------------------------------------------------------------------ */
/* Embeddings: errors                                                       */

Test(svm_io, emb_unequal_rows_name_both_lengths)
{
    EMB_FAILS("1 2 3 4 5 6 7 8\n\n1 2 3 4 5 6 7\n", AC_EPARSE, "emb.txt:3:",
              "7 numbers, but the first row", "has 8");
    EMB_FAILS("# c\n1 2\n3 4\n5 6 7\n", AC_EPARSE, "emb.txt:4:", "3 numbers", "(line 2) has 2");
}

Test(svm_io, emb_nan_and_inf_are_not_finite)
{
    EMB_FAILS("1 2 3\n1 2 nan\n", AC_EPARSE, "emb.txt:2:", "entry 3 is not finite");
    EMB_FAILS("1 -inf 3\n", AC_EPARSE, "emb.txt:1:", "entry 2 is not finite");
    EMB_FAILS("1 2 Infinity\n", AC_EPARSE, "emb.txt:1:", "entry 3 is not finite");
    EMB_FAILS("1e999 2\n", AC_EPARSE, "emb.txt:1:", "entry 1 is not finite", "1e999");
}

Test(svm_io, emb_not_a_number_is_quoted)
{
    EMB_FAILS("1 2\n3 abc\n", AC_EPARSE, "emb.txt:2:", "entry 2 \"abc\" is not a number");
    EMB_FAILS("1,5 2\n", AC_EPARSE, "emb.txt:1:", "entry 1 \"1,5\"");
    EMB_FAILS("1 0x1p3\n", AC_EPARSE, "emb.txt:1:", "entry 2 \"0x1p3\"");
    EMB_FAILS("1 2.5.1\n", AC_EPARSE, "emb.txt:1:", "entry 2 \"2.5.1\"");
    EMB_FAILS("1 | 2\n", AC_EPARSE, "emb.txt:1:", "entry 2 \"|\"");
}

Test(svm_io, emb_empty_file_has_no_embeddings)
{
    EMB_FAILS("", AC_EPARSE, "emb.txt: no embeddings");
    EMB_FAILS("# nothing\n\n\t \r\n", AC_EPARSE, "emb.txt: no embeddings");
}

Test(svm_io, emb_binary_is_not_text)
{
    EMB_FAILS_N("1 2\n3\0 4\n", AC_EPARSE, "emb.txt:2: not a text file (byte 0x00 at column 2)");
    EMB_FAILS("1 2\n3 4\x1b[0m\n", AC_EPARSE, "emb.txt:2:", "byte 0x1b at column 4");
    EMB_FAILS("\x80", AC_EPARSE, "emb.txt:1:", "byte 0x80 at column 1");
}

Test(svm_io, emb_nonexistent_path_is_eio)
{
    ac_msg m;
    double *E;
    int K, d;
    const char *p = "/nonexistent/ac-svm-io/emb.txt";
    cr_assert_eq(ac_svm_io_read_emb(p, &E, &K, &d, &m), AC_EIO);
    cr_assert_null(E);
    cr_assert_not_null(strstr(m.text, p), "message: %s", m.text);
    cr_assert_not_null(strstr(m.text, strerror(ENOENT)), "message: %s", m.text);
}

/* ------------------------------------------------------------------------ */
/* Embeddings: accepted variations                                          */

Test(svm_io, emb_comments_blank_crlf_tabs_trailing_spaces)
{
    const char *text = "# K = 3, d = 2\r\n"
                       "\r\n"
                       "1.7312\t-2e-3   # row 0\r\n"
                       "  +0.5 .25  \r\n"
                       "\n"
                       "-0 1E+2";
    ac_msg m;
    double *E;
    int K, d;
    cr_assert_eq(ac_svm_io_parse_emb(text, strlen(text), "emb.txt", &E, &K, &d, &m), AC_OK, "%s",
                 m.text);
    cr_assert_eq(K, 3);
    cr_assert_eq(d, 2);
    static const double want[] = {1.7312, -2e-3, 0.5, 0.25, -0.0, 100.0};
    for (int i = 0; i < 6; i++)
        cr_assert(memcmp(&E[i], &want[i], sizeof(double)) == 0, "entry %d: %.17g, want %.17g", i,
                  E[i], want[i]);
    free(E);
}

Test(svm_io, emb_single_entry)
{
    ac_msg m;
    double *E;
    int K, d;
    cr_assert_eq(ac_svm_io_parse_emb("4.5", 3, "emb.txt", &E, &K, &d, &m), AC_OK, "%s", m.text);
    cr_assert(K == 1 && d == 1 && E[0] == 4.5);
    free(E);
}

/* A locale with a decimal comma must change neither reading nor writing.
 * `make deps` generates de_DE.UTF-8 (TEST_LOCALE in the Makefile), so this
 * runs in CI; it skips only where no decimal-comma locale is installed. */
static char *emb_text(const double *E, int K, int d)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    cr_assert_eq(ac_svm_io_write_emb(f, E, K, d), AC_OK);
    cr_assert_eq(fclose(f), 0);
    return buf;
}

Test(svm_io, emb_ignores_decimal_comma_locale)
{
    /* written and read in the C locale first: the reference */
    static const char text[] = "1.25 -3.5e-1 1.7312\n";
    ac_msg m;
    double *E, *B;
    int K, d, K2, d2;
    cr_assert_eq(ac_svm_io_parse_emb(text, sizeof text - 1, "emb.txt", &E, &K, &d, &m), AC_OK,
                 "%s", m.text);
    char *want = emb_text(E, K, d);
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
    const char *got = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !got; i++)
        got = setlocale(LC_ALL, names[i]);
    if (!got)
        cr_skip_test("no decimal-comma locale installed");
    char probe[16];
    snprintf(probe, sizeof probe, "%.1f", 1.5);
    cr_assert_str_eq(probe, "1,5", "locale %s does not use a decimal comma", got);
    cr_assert_eq(ac_svm_io_parse_emb(text, sizeof text - 1, "emb.txt", &B, &K2, &d2, &m), AC_OK,
                 "%s: %s", got, m.text);
    cr_assert(K2 == K && d2 == d && memcmp(E, B, (size_t)K * d * sizeof *E) == 0,
              "%s: read differently", got);
    char *buf = emb_text(E, K, d);
    cr_assert_str_eq(buf, want, "%s: written differently", got);
    /* and a comma is still not a decimal point */
    EMB_FAILS("1,25\n", AC_EPARSE, "emb.txt:1:", "\"1,25\"");
    setlocale(LC_ALL, "C");
    free(buf);
    free(want);
    free(B);
    free(E);
}

/* ------------------------------------------------------------------------ */
/* Embeddings against a dataset                                             */

Test(svm_io, check_emb_names_data_line_and_emb_file)
{
    ac_tpg_data *D = data_ok("0 1 | 1\n# c\n2 3 | 3\n3 9 | 9\n9 5 | 9\n", 0);
    ac_msg m;
    cr_assert_eq(ac_svm_io_check_emb_for_data("emb.txt", 8, D, &m), AC_ESIZE);
    cr_assert_str_eq(m.text, "data.txt:4: token 9 has no embedding: emb.txt has 8 rows");
    cr_assert_eq(ac_svm_io_check_emb_for_data("emb.txt", 9, D, &m), AC_ESIZE);
    cr_assert_eq(ac_svm_io_check_emb_for_data("emb.txt", 10, D, &m), AC_OK);
    cr_assert_eq(ac_svm_io_check_emb_for_data("emb.txt", 12, D, &m), AC_OK);
    cr_assert_eq(ac_svm_io_check_emb_for_data("emb.txt", 1, D, &m), AC_ESIZE);
    cr_assert_str_eq(m.text, "data.txt:4: token 9 has no embedding: emb.txt has 1 row");
    ac_tpg_data_free(D);
}

Test(svm_io, check_emb_generated_data_names_example)
{
    ac_tpg_data *D = data_ok("0 1 | 1\n2 3 | 3\n", 0);
    free(D->line);
    D->line = NULL;
    ac_msg m;
    cr_assert_eq(ac_svm_io_check_emb_for_data("emb.txt", 3, D, &m), AC_ESIZE);
    cr_assert_str_eq(m.text, "example 1: token 3 has no embedding: emb.txt has 3 rows");
    cr_assert_eq(ac_svm_io_check_emb_for_data("emb.txt", 4, D, &m), AC_OK);
    cr_assert_eq(ac_svm_io_check_emb_for_data(NULL, -1, D, &m), AC_EINVAL);
    ac_tpg_data_free(D);
}

/* ------------------------------------------------------------------------ */
/* Writers and round trips                                                  */

/* A random dataset of n examples over K tokens, labels in their sequences
 * (A2), sequence lengths 1..maxlen. */
static ac_tpg_data *random_data(gsl_rng *r, int n, int K, int maxlen)
{
    int *len = malloc((size_t)n * sizeof *len), ntok = 0;
    for (int i = 0; i < n; i++)
        ntok += len[i] = 1 + (int)gsl_rng_uniform_int(r, (unsigned long)maxlen);
    ac_tpg_data *D = ac_tpg_data_alloc(n, ntok, K);
    cr_assert_not_null(D);
    for (int i = 0; i < n; i++) {
        D->off[i + 1] = D->off[i] + len[i];
        for (int t = D->off[i]; t < D->off[i + 1]; t++)
            D->tok[t] = (int)gsl_rng_uniform_int(r, (unsigned long)K);
        D->label[i] = D->tok[D->off[i] + (int)gsl_rng_uniform_int(r, (unsigned long)len[i])];
    }
    free(len);
    return D;
}

static void expect_same_data(const ac_tpg_data *A, const ac_tpg_data *B, unsigned long seed, int c)
{
    cr_assert_eq(A->n, B->n, "seed %lu case %d: n %d vs %d", seed, c, A->n, B->n);
    cr_assert_eq(A->K, B->K, "seed %lu case %d: K %d vs %d", seed, c, A->K, B->K);
    cr_assert(memcmp(A->off, B->off, ((size_t)A->n + 1) * sizeof(int)) == 0, "seed %lu case %d: off",
              seed, c);
    cr_assert(memcmp(A->tok, B->tok, (size_t)A->off[A->n] * sizeof(int)) == 0,
              "seed %lu case %d: tok", seed, c);
    cr_assert(memcmp(A->label, B->label, (size_t)A->n * sizeof(int)) == 0,
              "seed %lu case %d: label", seed, c);
    for (int i = 0; i < B->n; i++)
        cr_assert_eq(B->line[i], i + 1, "seed %lu case %d: line of example %d", seed, c, i);
}

Test(svm_io, data_round_trip_is_exact)
{
    unsigned long seed = 20240511;
    gsl_rng *r = ac_test_rng(seed);
    int cases = ac_test_cases(200);
    for (int c = 0; c < cases; c++) {
        int n = c < 2 ? 1 : 1 + (int)gsl_rng_uniform_int(r, 40);
        int K = c == 0 ? 1 : 1 + (int)gsl_rng_uniform_int(r, c % 5 == 0 ? 100000 : 12);
        ac_tpg_data *D = random_data(r, n, K, c == 1 ? 1 : 9);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        cr_assert_eq(ac_svm_io_write_data(f, D), AC_OK);
        cr_assert_eq(fclose(f), 0);
        ac_tpg_data *B;
        ac_msg m;
        ac_status st = ac_svm_io_parse_data(buf, len, "data.txt", K, &B, &m);
        cr_assert_eq(st, AC_OK, "seed %lu case %d: %s", seed, c, m.text);
        expect_same_data(D, B, seed, c);
        ac_tpg_data_free(B);
        free(buf);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

Test(svm_io, data_round_trip_through_file)
{
    gsl_rng *r = ac_test_rng(77);
    ac_tpg_data *D = random_data(r, 30, 7, 6);
    char path[256];
    put_file(path, sizeof path, "data.txt", "", 0);
    FILE *f = fopen(path, "w");
    cr_assert_eq(ac_svm_io_write_data(f, D), AC_OK);
    cr_assert_eq(fclose(f), 0);
    ac_tpg_data *B;
    ac_msg m;
    cr_assert_eq(ac_svm_io_read_data(path, 7, &B, &m), AC_OK, "%s", m.text);
    expect_same_data(D, B, 77, 0);
    cr_assert_str_eq(B->source, path);
    ac_tpg_data_free(B);
    ac_tpg_data_free(D);
    gsl_rng_free(r);
}

/* A double from all over the range: normal numbers of every exponent,
 * subnormals, signed zeros and the extremes. */
static double random_double(gsl_rng *r)
{
    static const double special[] = {0.0, -0.0, DBL_MAX, -DBL_MAX, DBL_MIN, -DBL_MIN,
                                      4.9406564584124654e-324, 1.7312, 0.1, 1.0 / 3.0};
    unsigned long k = gsl_rng_uniform_int(r, 8);
    if (k == 0)
        return special[gsl_rng_uniform_int(r, sizeof special / sizeof *special)];
    if (k == 1)
        return ldexp(gsl_rng_uniform(r), -1074 + (int)gsl_rng_uniform_int(r, 52));
    if (k == 2)
        return gsl_ran_gaussian(r, 1.0);
    double x = ldexp(gsl_rng_uniform_pos(r), (int)gsl_rng_uniform_int(r, 2040) - 1020);
    return gsl_rng_uniform(r) < 0.5 ? -x : x;
}

Test(svm_io, emb_round_trip_is_bit_exact)
{
    unsigned long seed = 8675309;
    gsl_rng *r = ac_test_rng(seed);
    int cases = ac_test_cases(200);
    for (int c = 0; c < cases; c++) {
        int K = c < 2 ? 1 : 1 + (int)gsl_rng_uniform_int(r, 20);
        int d = c == 0 ? 1 : 1 + (int)gsl_rng_uniform_int(r, 20);
        double *E = malloc((size_t)K * d * sizeof *E);
        if (c % 2)
            ac_test_unit_rows(r, E, K, d);
        else
            for (int i = 0; i < K * d; i++)
                E[i] = random_double(r);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        cr_assert_eq(ac_svm_io_write_emb(f, E, K, d), AC_OK);
        cr_assert_eq(fclose(f), 0);
        double *B;
        int K2, d2;
        ac_msg m;
        cr_assert_eq(ac_svm_io_parse_emb(buf, len, "emb.txt", &B, &K2, &d2, &m), AC_OK,
                     "seed %lu case %d: %s", seed, c, m.text);
        cr_assert(K2 == K && d2 == d, "seed %lu case %d: %d x %d, want %d x %d", seed, c, K2, d2,
                  K, d);
        for (int i = 0; i < K * d; i++)
            cr_assert(memcmp(&E[i], &B[i], sizeof(double)) == 0,
                      "seed %lu case %d entry %d: %a read back as %a", seed, c, i, E[i], B[i]);
        free(B);
        free(buf);
        free(E);
    }
    gsl_rng_free(r);
}

Test(svm_io, emb_round_trip_through_file)
{
    static const double E[] = {1.7312, -0.0, 5e-324, 1e308, 1.0 / 3.0, 0.1 + 0.2};
    char path[256];
    put_file(path, sizeof path, "emb.txt", "", 0);
    FILE *f = fopen(path, "w");
    cr_assert_eq(ac_svm_io_write_emb(f, E, 2, 3), AC_OK);
    cr_assert_eq(fclose(f), 0);
    double *B;
    int K, d;
    ac_msg m;
    cr_assert_eq(ac_svm_io_read_emb(path, &B, &K, &d, &m), AC_OK, "%s", m.text);
    cr_assert(K == 2 && d == 3);
    cr_assert(memcmp(E, B, sizeof E) == 0);
    free(B);
}

Test(svm_io, write_emb_refuses_non_finite_and_writes_nothing)
{
    double E[] = {1.0, NAN, 2.0, 3.0};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(ac_svm_io_write_emb(f, E, 2, 2), AC_EINVAL);
    E[1] = -INFINITY;
    cr_assert_eq(ac_svm_io_write_emb(f, E, 2, 2), AC_EINVAL);
    cr_assert_eq(ac_svm_io_write_emb(f, E, 1, 0), AC_EINVAL);
    cr_assert_eq(ac_svm_io_write_emb(f, E, -1, 2), AC_EINVAL);
    cr_assert_eq(ac_svm_io_write_emb(f, NULL, 0, 0), AC_OK);
    fclose(f);
    cr_assert_eq(len, 0);
    free(buf);
}

Test(svm_io, write_data_refuses_malformed_dataset)
{
    ac_tpg_data *D = data_ok("0 1 | 1\n", 0);
    FILE *f = fopen("/dev/null", "w");
    D->off[1] = 0; /* empty sequence */
    cr_assert_eq(ac_svm_io_write_data(f, D), AC_EINVAL);
    D->off[1] = 2;
    D->tok[1] = -4;
    cr_assert_eq(ac_svm_io_write_data(f, D), AC_EINVAL);
    cr_assert_eq(ac_svm_io_write_data(NULL, D), AC_EINVAL);
    fclose(f);
    ac_tpg_data_free(D);
}

/* /dev/full fails every write with ENOSPC; unbuffered, the first fprintf
 * sees it. */
Test(svm_io, writers_report_write_errors)
{
    FILE *f = fopen("/dev/full", "w");
    if (!f)
        cr_skip_test("no /dev/full");
    setvbuf(f, NULL, _IONBF, 0);
    ac_tpg_data *D = data_ok("0 1 | 1\n", 0);
    cr_assert_eq(ac_svm_io_write_data(f, D), AC_EIO);
    clearerr(f);
    static const double E[] = {1.5, 2.5};
    cr_assert_eq(ac_svm_io_write_emb(f, E, 1, 2), AC_EIO);
    fclose(f);
    ac_tpg_data_free(D);
}

/* ------------------------------------------------------------------------ */
/* Fuzzer findings (tests/fuzz/run.sh), kept as regressions                 */
/* The real run (tests/fuzz/run.sh, 3 minutes per target) found nothing.
 * These inputs come from checking that the fuzzers catch planted bugs: each
 * one crashed a deliberately broken parser. */

/* A multi-byte UTF-8 lead byte as the very last byte: reading its
 * continuation must not run past the buffer (found by fuzz_data against a
 * text check without the length test; ASan heap-buffer-overflow). */
Test(svm_io, fuzz_truncated_utf8_at_end_of_buffer)
{
    static const char input[] = "01 |999!9\n899\xea";
    /* exact length, no NUL after the input: as the fuzzer passes it */
    char *buf = malloc(sizeof input - 1);
    memcpy(buf, input, sizeof input - 1);
    data_fails_n(buf, sizeof input - 1, 0, AC_EPARSE,
                 (const char *const[]){"data.txt:2:", "byte 0xea at column 4", NULL});
    emb_fails_n(buf, sizeof input - 1, AC_EPARSE,
                (const char *const[]){"emb.txt:2:", "byte 0xea at column 4", NULL});
    free(buf);
}

/* The smallest subnormal and the largest double: 15 digits would write
 * DBL_MAX as 1.79769313486232e+308, which overflows when read back (found
 * by fuzz_emb against a %.15g writer). */
Test(svm_io, fuzz_extreme_doubles_round_trip)
{
    static const char input[] = "4.9406564584124654e-324 1.7976931348623157e308 -0\n";
    ac_msg m;
    double *E, *B;
    int K, d, K2, d2;
    cr_assert_eq(ac_svm_io_parse_emb(input, sizeof input - 1, "emb.txt", &E, &K, &d, &m), AC_OK,
                 "%s", m.text);
    cr_assert(K == 1 && d == 3 && E[0] == 4.9406564584124654e-324 && E[1] == DBL_MAX &&
              signbit(E[2]));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(ac_svm_io_write_emb(f, E, K, d), AC_OK);
    cr_assert_eq(fclose(f), 0);
    cr_assert_eq(ac_svm_io_parse_emb(buf, len, "emb.txt", &B, &K2, &d2, &m), AC_OK, "%s", m.text);
    cr_assert(K2 == 1 && d2 == 3 && memcmp(E, B, 3 * sizeof *E) == 0);
    free(B);
    free(E);
    free(buf);
}
