/* The Graph-SVM data generator (verify/svm_data): every setting refused on
 * the wrong side of its bound and accepted on the right one, the instance
 * rebuilt a second way from the same seed (spec tpg_svm §5: embeddings
 * first, then datasets), and the structure each mode asks for. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"
#include "verify/svm_data.h"
#include "verify/svm_io.h"

/* ------------------------------------------------------------------------ */
/* Settings                                                                 */

static const ac_svm_gen_settings base = {.n = 6, .T = 4, .K = 6, .d = 8, .mode = AC_SVM_GEN_ANY, .max_tries = 10};

static void check_ok(ac_svm_gen_settings s, const char *what)
{
    ac_msg m = {{0}};
    ac_status st = ac_svm_gen_check(&s, &m);
    cr_assert_eq(st, AC_OK, "%s refused: %s", what, m.text);
}

/* Refused with status want and a sentence holding each substring. */
static void check_refused(ac_svm_gen_settings s, ac_status want, const char *what,
                          const char *const *sub)
{
    ac_msg m = {{0}};
    ac_status st = ac_svm_gen_check(&s, &m);
    cr_assert_eq(st, want, "%s: status %d, want %d (%s)", what, st, want, m.text);
    for (; *sub; sub++)
        cr_assert_not_null(strstr(m.text, *sub), "%s: \"%s\" lacks \"%s\"", what, m.text, *sub);
}

#define REFUSED(s, want, what, ...) check_refused(s, want, what, (const char *const[]){__VA_ARGS__, NULL})

/* A setting changed from base. */
static ac_svm_gen_settings with(int n, int T, int K, int d)
{
    ac_svm_gen_settings s = base;
    s.n = n, s.T = T, s.K = K, s.d = d;
    return s;
}

Test(svm_data, base_settings_pass)
{
    check_ok(base, "base");
    for (int mode = 0; mode < 3; mode++) {
        ac_svm_gen_settings s = base;
        s.mode = (ac_svm_gen_mode)mode;
        check_ok(s, ac_svm_gen_mode_str(s.mode));
    }
}

Test(svm_data, sizes_below_one_are_refused)
{
    check_ok(with(1, 1, 1, 1), "all sizes 1");
    REFUSED(with(0, 1, 1, 1), AC_ESIZE, "n = 0", "n = 0");
    REFUSED(with(1, 0, 1, 1), AC_ESIZE, "T = 0", "T = 0");
    REFUSED(with(1, 1, 0, 1), AC_ESIZE, "K = 0", "K = 0");
    REFUSED(with(1, 1, 1, 0), AC_ESIZE, "d = 0", "d = 0");
    REFUSED(with(-3, 4, 6, 8), AC_ESIZE, "n < 0", "n = -3");
}

/* T > K is spec §5's other rule (a permutation, then uniform draws), not a
 * fault: accepted on both sides of K. */
Test(svm_data, T_on_both_sides_of_K_is_accepted)
{
    check_ok(with(6, 6, 6, 8), "T = K");
    check_ok(with(6, 7, 6, 8), "T = K + 1");
    check_ok(with(6, 10, 5, 8), "T = 10, K = 5");
    check_ok(with(6, 2, 1, 8), "T = 2, K = 1");
}

/* What the files of svm_io can hold: the generator writes them. */
Test(svm_data, sizes_the_files_cannot_hold_are_refused)
{
    check_ok(with(AC_SVM_IO_MAX_LINES, 1, 1, 1), "n at the line limit");
    REFUSED(with(AC_SVM_IO_MAX_LINES + 1, 1, 1, 1), AC_ESIZE, "n past it", "n = 4194305", "4194304");
    check_ok(with(1, AC_SVM_IO_MAX_WORDS, 1, 1), "T at the word limit");
    REFUSED(with(1, AC_SVM_IO_MAX_WORDS + 1, 1, 1), AC_ESIZE, "T past it",
            "T = 32769", "32768");
    check_ok(with(1, 1, AC_SVM_IO_MAX_VOCAB, 1), "K at the vocabulary limit");
    REFUSED(with(1, 1, AC_SVM_IO_MAX_VOCAB + 1, 1), AC_ESIZE, "K past it", "K = 1048577", "1048576");
    check_ok(with(1, 1, 1, AC_SVM_IO_MAX_WORDS), "d at the word limit");
    REFUSED(with(1, 1, 1, AC_SVM_IO_MAX_WORDS + 1), AC_ESIZE, "d past it", "d = 32769", "32768");
}

/* n*T and K*d at AC_SVM_GEN_MAX_ENTRIES and one step past, each other size
 * within its own limit. */
Test(svm_data, totals_at_the_limit_and_past)
{
    long M = AC_SVM_GEN_MAX_ENTRIES;
    cr_assert_eq(M % 25, 0);
    cr_assert_leq(M / 25 + 1, AC_SVM_IO_MAX_LINES);
    check_ok(with((int)(M / 25), 25, 25, 1), "n*T at the limit");
    REFUSED(with((int)(M / 25) + 1, 25, 25, 1), AC_ESIZE, "n*T past it", "n*T", "100000025");
    cr_assert_eq(M % 1000, 0);
    cr_assert_leq(M / 1000, AC_SVM_IO_MAX_VOCAB);
    check_ok(with(1, 1, (int)(M / 1000), 1000), "K*d at the limit");
    REFUSED(with(1, 1, (int)(M / 1000), 1001), AC_ESIZE, "K*d past it", "K*d", "100100000");
}

Test(svm_data, cyclic_needs_two_tokens_per_sequence)
{
    ac_svm_gen_settings s = with(6, 2, 2, 8);
    s.mode = AC_SVM_GEN_CYCLIC;
    check_ok(s, "cyclic T = 2");
    s.K = 1;
    REFUSED(s, AC_ESIZE, "cyclic K = 1", "cyclic", "K = 1");
    s.K = 2;
    s.T = 1;
    REFUSED(s, AC_ESIZE, "cyclic T = 1", "cyclic", "T = 1");
    s.mode = AC_SVM_GEN_ACYCLIC;
    check_ok(s, "acyclic T = 1");
    s.mode = AC_SVM_GEN_ANY;
    check_ok(s, "any T = 1");
}

Test(svm_data, mode_and_tries_are_checked)
{
    ac_svm_gen_settings s = base;
    s.max_tries = 1;
    check_ok(s, "one try");
    s.max_tries = 0;
    REFUSED(s, AC_EINVAL, "no tries", "max_tries", "0");
    s = base;
    s.mode = (ac_svm_gen_mode)3;
    REFUSED(s, AC_EINVAL, "mode 3", "mode 3");
    s.mode = (ac_svm_gen_mode)-1;
    REFUSED(s, AC_EINVAL, "mode -1", "mode -1");
    ac_msg m;
    cr_assert_eq(ac_svm_gen_check(NULL, &m), AC_EINVAL);
}

Test(svm_data, mode_names_round_trip)
{
    for (int mode = 0; mode < 3; mode++)
        cr_assert_eq(ac_svm_gen_mode_parse(ac_svm_gen_mode_str((ac_svm_gen_mode)mode)), mode);
    cr_assert_str_eq(ac_svm_gen_mode_str(AC_SVM_GEN_ANY), "any");
    cr_assert_str_eq(ac_svm_gen_mode_str(AC_SVM_GEN_ACYCLIC), "acyclic");
    cr_assert_str_eq(ac_svm_gen_mode_str(AC_SVM_GEN_CYCLIC), "cyclic");
    cr_assert_str_eq(ac_svm_gen_mode_str((ac_svm_gen_mode)3), "?");
    cr_assert_str_eq(ac_svm_gen_mode_str((ac_svm_gen_mode)-1), "?");
    cr_assert_eq(ac_svm_gen_mode_parse("Cyclic"), -1);
    cr_assert_eq(ac_svm_gen_mode_parse("cyclic "), -1);
    cr_assert_eq(ac_svm_gen_mode_parse(""), -1);
    cr_assert_eq(ac_svm_gen_mode_parse(NULL), -1);
}

/* A refused setting draws nothing and returns no instance. */
Test(svm_data, generate_refuses_what_check_refuses)
{
    gsl_rng *r = ac_test_rng(5);
    unsigned long before = gsl_rng_get(r);
    gsl_rng_set(r, ac_test_seed(5));
    ac_svm_gen_settings s = with(6, 4, 0, 8);
    ac_tpg_data *D = (ac_tpg_data *)&s;
    double *E = (double *)&s;
    long tries = -1;
    ac_msg m;
    cr_assert_eq(ac_svm_generate(r, &s, &D, &E, &tries, &m), AC_ESIZE);
    cr_assert(D == NULL && E == NULL && tries == 0);
    cr_assert_not_null(strstr(m.text, "K = 0"), "%s", m.text);
    cr_assert_eq(gsl_rng_get(r), before, "a refused setting consumed the generator");
    gsl_rng_free(r);
}

/* ------------------------------------------------------------------------ */
/* Sequences                                                                */

Test(svm_data, draw_sequence_distinct_then_uniform)
{
    unsigned long seed = 31337;
    gsl_rng *r = ac_test_rng(seed);
    int cases = ac_test_cases(300);
    for (int c = 0; c < cases; c++) {
        int K = 1 + (int)gsl_rng_uniform_int(r, 9);
        int T = 1 + (int)gsl_rng_uniform_int(r, 2 * K);
        int tok[32], seen[16] = {0};
        ac_svm_draw_sequence(r, T, K, tok);
        int head = T < K ? T : K;
        for (int t = 0; t < T; t++) {
            cr_assert(tok[t] >= 0 && tok[t] < K, "seed %lu case %d: token %d of %d", seed, c,
                      tok[t], K);
            if (t < head) {
                cr_assert_eq(seen[tok[t]], 0, "seed %lu case %d: token %d twice in the first %d",
                             seed, c, tok[t], head);
                seen[tok[t]] = 1;
            }
        }
    }
    gsl_rng_free(r);
}

/* Every token reaches every position: 400 draws of T = K = 4 miss one with
 * probability below 16 (3/4)^400 < 1e-48 (and the seed is fixed). */
Test(svm_data, draw_sequence_reaches_every_position)
{
    gsl_rng *r = ac_test_rng(2718);
    int hit[4][4] = {{0}};
    for (int c = 0; c < 400; c++) {
        int tok[4];
        ac_svm_draw_sequence(r, 4, 4, tok);
        for (int t = 0; t < 4; t++)
            hit[t][tok[t]] = 1;
    }
    for (int t = 0; t < 4; t++)
        for (int k = 0; k < 4; k++)
            cr_assert(hit[t][k], "token %d never at position %d", k, t);
    gsl_rng_free(r);
}

/* ------------------------------------------------------------------------ */
/* Instances                                                                */

/* The instance of mode `any` rebuilt from the seed a second way: unit rows
 * first (tests/testutil.h, the same arithmetic), then per example a
 * sequence, a uniform label, and a uniform position when the label is
 * absent (spec §5). */
static void rebuild(unsigned long seed, const ac_svm_gen_settings *s, double *E, ac_tpg_data *D)
{
    gsl_rng *r = ac_test_rng(seed);
    ac_test_unit_rows(r, E, s->K, s->d);
    for (int i = 0; i < s->n; i++) {
        int *tok = D->tok + (size_t)i * s->T;
        D->off[i + 1] = (i + 1) * s->T;
        ac_svm_draw_sequence(r, s->T, s->K, tok);
        int y = (int)gsl_rng_uniform_int(r, (unsigned long)s->K), in = 0;
        for (int t = 0; t < s->T; t++)
            in |= tok[t] == y;
        D->label[i] = in ? y : tok[gsl_rng_uniform_int(r, (unsigned long)s->T)];
    }
    gsl_rng_free(r);
}

Test(svm_data, any_instance_is_the_seeded_draw)
{
    unsigned long seed = 424242;
    gsl_rng *g = ac_test_rng(seed);
    int cases = ac_test_cases(30);
    for (int c = 0; c < cases; c++) {
        ac_svm_gen_settings s = base;
        s.K = 1 + (int)gsl_rng_uniform_int(g, 9);
        s.T = 1 + (int)gsl_rng_uniform_int(g, (unsigned long)(2 * s.K)); /* both rules of §5 */
        s.n = 1 + (int)gsl_rng_uniform_int(g, 12);
        s.d = 1 + (int)gsl_rng_uniform_int(g, 10);
        unsigned long cs = seed + (unsigned long)c;
        gsl_rng *r = ac_test_rng(cs);
        ac_tpg_data *D;
        double *E;
        long tries;
        ac_msg m;
        cr_assert_eq(ac_svm_generate(r, &s, &D, &E, &tries, &m), AC_OK, "case %d: %s", c, m.text);
        gsl_rng_free(r);
        cr_assert_eq(tries, 1);
        double *E2 = malloc((size_t)s.K * s.d * sizeof *E2);
        ac_tpg_data *D2 = ac_tpg_data_alloc(s.n, s.n * s.T, s.K);
        rebuild(cs, &s, E2, D2);
        cr_assert(memcmp(E, E2, (size_t)s.K * s.d * sizeof *E) == 0, "case %d: embeddings", c);
        cr_assert(D->n == s.n && D->K == s.K, "case %d: n %d K %d", c, D->n, D->K);
        cr_assert(memcmp(D->off, D2->off, ((size_t)s.n + 1) * sizeof(int)) == 0, "case %d: off", c);
        cr_assert(memcmp(D->tok, D2->tok, (size_t)s.n * s.T * sizeof(int)) == 0, "case %d: tok", c);
        cr_assert(memcmp(D->label, D2->label, (size_t)s.n * sizeof(int)) == 0, "case %d: label", c);
        /* unit rows: |sum e^2 - 1| <= (d + 2) eps (a sum of d squares, a
         * square root and a division, each within half an ulp) */
        for (int k = 0; k < s.K; k++) {
            double ss = 0.0;
            for (int j = 0; j < s.d; j++)
                ss += E[k * s.d + j] * E[k * s.d + j];
            cr_assert(fabs(ss - 1.0) <= (s.d + 2) * DBL_EPSILON, "case %d row %d: |e|^2 = %.17g",
                      c, k, ss);
        }
        ac_tpg_data_free(D2);
        free(E2);
        ac_tpg_data_free(D);
        free(E);
    }
    gsl_rng_free(g);
}

/* The label of an example whose drawn label is absent is a token at a
 * uniform position: with T = 2, K = 6 the label is the last token with
 * probability 1/6 + (2/3)(1/2) = 1/2 (1/6 if the first position were always
 * taken).  600 examples: mean 300, sd 12.2; the bounds 200..400 are 8 sd
 * away (the seed is fixed, so the count is too). */
Test(svm_data, absent_labels_take_a_uniform_position)
{
    gsl_rng *r = ac_test_rng(99);
    ac_svm_gen_settings s = with(600, 2, 6, 3);
    ac_tpg_data *D;
    double *E;
    ac_msg m;
    cr_assert_eq(ac_svm_generate(r, &s, &D, &E, NULL, &m), AC_OK, "%s", m.text);
    int last = 0;
    for (int i = 0; i < D->n; i++)
        last += D->label[i] == D->tok[D->off[i + 1] - 1];
    cr_assert(last > 200 && last < 400, "label is the last token in %d of 600", last);
    ac_tpg_data_free(D);
    free(E);
    gsl_rng_free(r);
}

Test(svm_data, modes_give_the_structure_they_name)
{
    unsigned long seed = 8080;
    int cases = ac_test_cases(10);
    for (int c = 0; c < cases; c++)
        for (int mode = 0; mode < 3; mode++) {
            gsl_rng *r = ac_test_rng(seed + (unsigned long)c);
            ac_svm_gen_settings s = {.n = 6, .T = 4, .K = 6, .d = 8,
                .mode = (ac_svm_gen_mode)mode, .max_tries = AC_SVM_GEN_MAX_TRIES};
            ac_tpg_data *D;
            double *E;
            long tries;
            ac_msg m;
            cr_assert_eq(ac_svm_generate(r, &s, &D, &E, &tries, &m), AC_OK, "case %d mode %d: %s",
                         c, mode, m.text);
            cr_assert(tries >= 1 && tries <= s.max_tries);
            cr_assert_eq(ac_tpg_data_check(D, 1, &m), AC_OK, "case %d: %s", c, m.text);
            ac_tpg *G;
            cr_assert_eq(ac_tpg_build(D, &G, &m), AC_OK, "%s", m.text);
            if (mode == AC_SVM_GEN_ACYCLIC)
                cr_assert(ac_tpg_is_acyclic(G), "case %d: acyclic mode gave a cycle", c);
            if (mode == AC_SVM_GEN_CYCLIC)
                cr_assert(!ac_tpg_is_acyclic(G), "case %d: cyclic mode gave no cycle", c);
            if (mode == AC_SVM_GEN_ANY)
                cr_assert_eq(tries, 1);
            ac_tpg_free(G);
            ac_tpg_data_free(D);
            free(E);
            gsl_rng_free(r);
        }
}

/* n = 1, T = 2: one edge, never a cycle: every try fails and is counted. */
Test(svm_data, impossible_structure_ends_after_max_tries)
{
    gsl_rng *r = ac_test_rng(3);
    ac_svm_gen_settings s = {.n = 1, .T = 2, .K = 2, .d = 2, .mode = AC_SVM_GEN_CYCLIC, .max_tries = 50};
    ac_tpg_data *D = (ac_tpg_data *)&s;
    double *E = (double *)&s;
    long tries = 0;
    ac_msg m;
    cr_assert_eq(ac_svm_generate(r, &s, &D, &E, &tries, &m), AC_ENOCONV);
    cr_assert(D == NULL && E == NULL);
    cr_assert_eq(tries, 50);
    cr_assert_not_null(strstr(m.text, "no cyclic dataset with n=1 T=2 K=2 in 50 draws"), "%s",
                       m.text);
    gsl_rng_free(r);
}

/* The redraws stop at about a minute of drawing: AC_SVM_GEN_MAX_TRIES for
 * small datasets, AC_SVM_GEN_MAX_DRAWN / (n T) for large ones, at least
 * one.  (10^5 redraws of 20 000 tokens had taken 90 s, of 10^6 hours.) */
Test(svm_data, redraws_are_bounded_by_the_tokens_drawn)
{
    cr_assert_eq(ac_svm_gen_tries(6, 4), AC_SVM_GEN_MAX_TRIES);
    cr_assert_eq(ac_svm_gen_tries(1000, 20), AC_SVM_GEN_MAX_DRAWN / 20000);
    cr_assert_leq((double)ac_svm_gen_tries(1000, 20) * 20000, (double)AC_SVM_GEN_MAX_DRAWN);
    cr_assert_eq(ac_svm_gen_tries(100000000, 100), 1, "a dataset over the bound still gets one draw");
    for (int n = 1; n <= 1000000; n *= 7)
        cr_assert_leq((double)ac_svm_gen_tries(n, 13) * n * 13,
                      fmax((double)AC_SVM_GEN_MAX_DRAWN, (double)n * 13), "n = %d", n);
}
