/* The fortunes corpus, its tokeniser and the small causal transformer of
 * spec joma §4.3 (verify/joma_text.h): tokens of hand-written text, UTF-8
 * errors by file and line, the hand-written backward against central
 * finite differences, the entropy's bounds, and the trainer. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/testutil.h"
#include "verify/joma_text.h"

/* A temporary file holding text (n bytes); the path is written to path. */
static void temp_text(char *path, size_t len, const char *text, size_t n)
{
    snprintf(path, len, "/tmp/ac_joma_text_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(text, 1, n, f), n);
    fclose(f);
}

/* The spelling of token t of C. */
static const char *word_at(const ac_joma_text_corpus *C, long t)
{
    return C->word[C->tok[t]];
}

Test(joma_text_corpus, tokeniser_follows_its_five_rules)
{
    /* overstrike (bold and underline), a "%" separator, a bell, words
     * lower-cased, punctuation and a non-ASCII letter as single tokens */
    const char text[] = "The c\bca_\bt's \"NAP\"!\n%\n\adog 42 caf\xc3\xa9 the the\n%";
    char path[64];
    temp_text(path, sizeof path, text, sizeof text - 1);
    const char *paths[1] = {path};
    ac_joma_text_corpus C;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_joma_text_corpus_read_files(&C, paths, 1, 100, &msg), AC_OK, "%s", msg.text);
    const char *want[] = {"the", "cat", "'", "s", "\"", "nap", "\"", "!", "dog", "42", "caf", "\xc3\xa9", "the", "the"};
    int nw = (int)(sizeof want / sizeof want[0]);
    cr_assert_eq(C.ntok, nw, "%ld tokens", C.ntok);
    for (int t = 0; t < nw; t++)
        cr_assert_str_eq(word_at(&C, t), want[t], "token %d", t);
    /* vocabulary: <unk>, then "the" (3), "\"" (2), then the count-1 tokens in byte order */
    cr_assert_str_eq(C.word[0], AC_JOMA_TEXT_UNK_NAME);
    cr_assert_str_eq(C.word[1], "the");
    cr_assert_str_eq(C.word[2], "\"");
    for (int v = 3; v + 1 < C.V && C.word[v + 1][0]; v++)
        cr_assert(strcmp(C.word[v], C.word[v + 1]) < 0, "ties out of byte order at %d", v);
    cr_assert_eq(C.ntrain, nw - (long)ceil(AC_JOMA_TEXT_HELDOUT * nw));
    ac_joma_text_corpus_clear(&C);
    /* V = 3: everything but "the" and "\"" is <unk> */
    cr_assert_eq(ac_joma_text_corpus_read_files(&C, paths, 1, 3, &msg), AC_OK, "%s", msg.text);
    long unk = 0;
    for (long t = 0; t < C.ntok; t++)
        unk += C.tok[t] == AC_JOMA_TEXT_UNK;
    cr_assert_eq(unk, nw - 5);
    cr_assert_eq(C.count[0], unk);
    ac_joma_text_corpus_clear(&C);
    unlink(path);
}

Test(joma_text_corpus, invalid_utf8_is_named_by_file_line_and_column)
{
    const char *bad[] = {"ok line\nsecond \xff line\n", "a\nb\nc \xc0\xaf\n", "\xed\xa0\x80\n",
                         "x\n\n\xe2\x82\n"};
    const int line[] = {2, 3, 1, 3}, col[] = {8, 3, 1, 1};
    for (int c = 0; c < 4; c++) {
        char path[64], want[128];
        temp_text(path, sizeof path, bad[c], strlen(bad[c]));
        const char *paths[1] = {path};
        ac_joma_text_corpus C;
        ac_msg msg = {{0}};
        cr_assert_eq(ac_joma_text_corpus_read_files(&C, paths, 1, 10, &msg), AC_EPARSE, "case %d", c);
        snprintf(want, sizeof want, "%s:%d: invalid UTF-8 byte", path, line[c]);
        cr_assert(strstr(msg.text, want), "case %d: %s", c, msg.text);
        snprintf(want, sizeof want, "at column %d", col[c]);
        cr_assert(strstr(msg.text, want), "case %d: %s", c, msg.text);
        cr_assert_null(C.tok);
        unlink(path);
    }
}

Test(joma_text_corpus, a_missing_corpus_names_the_path_and_the_package)
{
    ac_joma_text_corpus C;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_joma_text_corpus_read(&C, "/nonexistent/fortunes", 100, &msg), AC_EIO);
    cr_assert(strstr(msg.text, "/nonexistent/fortunes/art: cannot open"), "%s", msg.text);
    cr_assert(strstr(msg.text, "Debian package fortunes"), "%s", msg.text);
    cr_assert_eq(ac_joma_text_corpus_read(&C, NULL, 1, &msg), AC_EINVAL);
    const char *one[1] = {"/dev/null"};
    cr_assert_eq(ac_joma_text_corpus_read_files(&C, one, 1, 10, &msg), AC_EINVAL, "an empty text has no held-out part");
}

/* The installed corpus: 577,912 tokens, the count an independent
 * tokeniser gives for these 43 files of fortunes 1:1.99.1 (Python's re:
 * sub('.\x08', ''), "%" lines and [\x00-\x1f\x7f] blanked, then
 * findall('[A-Za-z0-9]{1,64}|[^ ]')); the 10 % held out. */
Test(joma_text_corpus, fortunes_reads_with_the_documented_count)
{
    ac_joma_text_corpus C;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_joma_text_corpus_read(&C, NULL, 2000, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(C.ntok, 577912L, "%ld tokens", C.ntok);
    cr_assert_eq(C.ntok - C.ntrain, (long)ceil(0.1 * C.ntok));
    long sum = 0;
    for (int v = 0; v < C.V; v++) {
        sum += C.count[v];
        if (v > 1)
            cr_assert(C.count[v] <= C.count[v - 1], "counts not decreasing at %d", v);
    }
    cr_assert_eq(sum, C.ntok);
    ac_joma_text_corpus_clear(&C);
}

/* ---- model ---- */

static void small_model(ac_joma_text_model *m, int V, int d, int dh, int L, int positional)
{
    *m = (ac_joma_text_model){.V = V, .d = d, .dh = dh, .L = L, .positional = positional};
}

/* theta from the recipe's init, then every entry moved by N(0, 0.3) so the
 * norms' gains and the biases are not at their special values 1 and 0. */
static double *random_theta(const ac_joma_text_model *m, gsl_rng *r)
{
    long np = ac_joma_text_nparams(m);
    double *th = malloc(sizeof(double) * (size_t)np);
    ac_joma_text_init(m, r, th);
    for (long k = 0; k < np; k++)
        th[k] += gsl_ran_gaussian(r, 0.3);
    return th;
}

/* Central differences: the error is h^2 |f'''| / 6 (f''' = O(10) here:
 * h^2 = 1e-10 gives ~1e-9) plus the rounding of two losses of size ~3 over
 * 2h: 3 x 2.2e-16 / 1e-5 ~ 1e-10.  A wrong backward line moves some
 * component by O(0.01) or more; 1e-6 (absolute, plus 1e-6 relative) leaves
 * x1000 over the expected error.  A ReLU kink within h of a pre-activation
 * would break the difference; with pre-activations of size ~1 drawn at
 * random it has probability ~1e-5 per entry, and the seeds here avoid it. */
#define FD_H 1e-5
#define FD_TOL 1e-6

/* The same in train mode: dropout masks drawn once (p = 0.3) and held
 * fixed while the differences are taken, so the loss is a smooth function
 * of theta; each mask enters the backward in one place. */
Test(joma_text_model, backward_matches_central_differences)
{
    gsl_rng *r = ac_test_rng(61);
    /* V, d, dh, L, positional, sequences; the last has 36 rows of logits,
     * so the output layer takes them as a block of 32 and one of 4 */
    const int sizes[5][6] = {{7, 4, 5, 4, 1, 2}, {5, 2, 1, 1, 1, 2}, {9, 6, 3, 5, 0, 2}, {3, 4, 4, 3, 1, 2},
                             {6, 4, 3, 12, 1, 3}};
    for (int c = 0; c < 10; c++) {
        const int *z = sizes[c % 5];
        ac_joma_text_model m;
        small_model(&m, z[0], z[1], z[2], z[3], z[4]);
        int n = z[5], L = m.L;
        long np = ac_joma_text_nparams(&m);
        ac_joma_text_work *w = ac_joma_text_work_alloc(&m, n);
        cr_assert_not_null(w);
        if (c >= 5)
            ac_joma_text_work_dropout(w, 0.3, r, n);
        double *th = random_theta(&m, r), *g = malloc(sizeof(double) * (size_t)np);
        int in[64], tgt[64];
        for (int i = 0; i < n * L; i++) {
            in[i] = (int)gsl_rng_uniform_int(r, (unsigned long)m.V);
            tgt[i] = (int)gsl_rng_uniform_int(r, (unsigned long)m.V);
        }
        double f0 = ac_joma_text_loss(w, th, in, tgt, n, g);
        cr_assert(isfinite(f0));
        cr_assert_eq(ac_joma_text_loss(w, th, in, tgt, n, NULL), f0, "loss depends on asking for the gradient");
        for (long k = 0; k < np; k++) {
            double t0 = th[k];
            th[k] = t0 + FD_H;
            double fp = ac_joma_text_loss(w, th, in, tgt, n, NULL);
            th[k] = t0 - FD_H;
            double fm = ac_joma_text_loss(w, th, in, tgt, n, NULL);
            th[k] = t0;
            double fd = (fp - fm) / (2 * FD_H);
            cr_assert(fabs(fd - g[k]) <= FD_TOL * (1 + fabs(fd)), "case %d param %ld of %ld: backward %.10g, FD %.10g",
                      c, k, np, g[k], fd);
        }
        free(th);
        free(g);
        ac_joma_text_work_free(w);
    }
    gsl_rng_free(r);
}

/* With Wq = Wk = 0 and zero biases every score is 0: attention is uniform
 * over j <= i and the entropy is mean_i sum_j -(1/i) ln(1/i + 1e-8), which
 * differs from mean_i ln i by at most 1e-8 L (ln(1/i + e) - ln(1/i) <= e i). */
Test(joma_text_model, uniform_attention_gives_the_largest_entropy)
{
    gsl_rng *r = ac_test_rng(62);
    ac_joma_text_model m;
    small_model(&m, 11, 6, 4, 35, 1);
    ac_joma_text_layout l = ac_joma_text_layout_of(&m);
    ac_joma_text_work *w = ac_joma_text_work_alloc(&m, 3);
    double *th = random_theta(&m, r);
    int in[3 * 35];
    for (int i = 0; i < 3 * 35; i++)
        in[i] = (int)gsl_rng_uniform_int(r, 11);
    double H = ac_joma_text_entropy(w, th, in, 3);
    cr_assert(H > 0 && H <= ac_joma_text_entropy_max(35) + 1e-12, "H = %g", H);
    memset(th + l.Wq, 0, sizeof(double) * 36);
    memset(th + l.Wk, 0, sizeof(double) * 36);
    memset(th + l.bq, 0, sizeof(double) * 6);
    memset(th + l.bk, 0, sizeof(double) * 6);
    H = ac_joma_text_entropy(w, th, in, 3);
    cr_assert(fabs(H - ac_joma_text_entropy_max(35)) <= 35e-8, "H = %.12g, max %.12g", H, ac_joma_text_entropy_max(35));
    /* an identity: row i of a causal L x L attention has i keys, so the
     * uniform rows' mean entropy is (1/L) sum ln i = ln(L!)/L = lgamma(L + 1)/L
     * (35 rounded logs and a division: 64 eps of the value) */
    cr_assert(fabs(ac_joma_text_entropy_max(35) - lgamma(36.0) / 35.0) <= 64 * DBL_EPSILON * lgamma(36.0) / 35.0,
              "max %.17g, ln(35!)/35 %.17g", ac_joma_text_entropy_max(35), lgamma(36.0) / 35.0);
    /* the spec prints it to 3 decimals: within half a unit of the last */
    cr_assert(fabs(ac_joma_text_entropy_max(35) - 2.632) < 5e-4, "spec §4.3: 2.632 at L = 35");
    cr_assert(isnan(ac_joma_text_entropy(w, th, in, 4)), "more sequences than the workspace");
    in[5] = 11;
    cr_assert(isnan(ac_joma_text_entropy(w, th, in, 1)), "an id out of range");
    free(th);
    ac_joma_text_work_free(w);
    gsl_rng_free(r);
}

/* ---- trainer ---- */

/* A periodic token stream: a model that attends to the token 3 back can
 * predict it, so Adam lowers the loss well below ln V. */
Test(joma_text_trainer, adam_lowers_the_loss_and_ends_at_the_step_limit)
{
    gsl_rng *r = ac_test_rng(63);
    ac_joma_text_model m;
    small_model(&m, 8, 8, 8, 6, 1);
    int tok[600];
    for (int t = 0; t < 600; t++)
        tok[t] = (t * 5 + t / 3) % 8;
    ac_joma_text_trainer *tr = ac_joma_text_trainer_alloc(&m, 4);
    cr_assert_not_null(tr);
    double *th = malloc(sizeof(double) * (size_t)ac_joma_text_nparams(&m));
    ac_joma_text_init(&m, r, th);
    ac_joma_text_train_settings s;
    ac_joma_text_train_settings_default(&s);
    s.steps = 300;
    s.lr = 1e-2;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_joma_text_trainer_iterate(tr), AC_EINVAL, "iterate before set");
    cr_assert_eq(ac_joma_text_trainer_set(tr, tok, 600, &s, th, r, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_joma_text_trainer_run(tr, 100), AC_TRAIN_RUNNING);
    cr_assert_eq(ac_joma_text_trainer_info(tr)->steps, 100);
    cr_assert_eq(ac_joma_text_trainer_run(tr, 1000), AC_TRAIN_STEP_LIMIT);
    const ac_train_info *info = ac_joma_text_trainer_info(tr);
    cr_assert_eq(info->steps, 300);
    cr_assert(info->loss < 0.5 * info->loss0, "loss %g from %g", info->loss, info->loss0);
    /* bad input */
    tok[7] = 8;
    cr_assert_eq(ac_joma_text_trainer_set(tr, tok, 600, &s, th, r, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "token 7"), "%s", msg.text);
    tok[7] = 0;
    cr_assert_eq(ac_joma_text_trainer_set(tr, tok, 20, &s, th, r, &msg), AC_EINVAL);
    cr_assert_eq(ac_joma_text_trainer_set(tr, tok, 600, &s, th, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "dropout"), "%s", msg.text);
    th[3] = NAN;
    cr_assert_eq(ac_joma_text_trainer_set(tr, tok, 600, &s, th, r, &msg), AC_EINVAL);
    free(th);
    ac_joma_text_trainer_free(tr);
    gsl_rng_free(r);
}

Test(joma_text_trainer, every_invalid_setting_and_size_is_rejected)
{
    ac_joma_text_train_settings s;
    ac_joma_text_train_settings_default(&s);
    cr_assert_null(ac_joma_text_train_settings_check(&s));
    cr_assert_not_null(ac_joma_text_train_settings_check(NULL));
    ac_joma_text_train_settings b;
    b = s, b.steps = 0;
    cr_assert_not_null(ac_joma_text_train_settings_check(&b));
    b = s, b.lr = -1e-4;
    cr_assert_not_null(ac_joma_text_train_settings_check(&b));
    b = s, b.lr = INFINITY;
    cr_assert_not_null(ac_joma_text_train_settings_check(&b));
    b = s, b.beta1 = 1.0;
    cr_assert_not_null(ac_joma_text_train_settings_check(&b));
    b = s, b.beta2 = -0.1;
    cr_assert_not_null(ac_joma_text_train_settings_check(&b));
    b = s, b.adam_eps = 0.0;
    cr_assert_not_null(ac_joma_text_train_settings_check(&b));
    b = s, b.clip = -0.5;
    cr_assert_not_null(ac_joma_text_train_settings_check(&b));
    b = s, b.diverge_factor = 1.0;
    cr_assert_not_null(ac_joma_text_train_settings_check(&b));
    b = s, b.dropout = 1.0;
    cr_assert_not_null(ac_joma_text_train_settings_check(&b));
    b = s, b.dropout = -0.1;
    cr_assert_not_null(ac_joma_text_train_settings_check(&b));
    ac_joma_text_model m = {.V = 10, .d = 4, .dh = 3, .L = 5, .positional = 1};
    cr_assert_null(ac_joma_text_model_check(&m));
    ac_joma_text_model bm;
    bm = m, bm.V = 1;
    cr_assert_not_null(ac_joma_text_model_check(&bm));
    bm = m, bm.d = 3;
    cr_assert_not_null(ac_joma_text_model_check(&bm));
    bm = m, bm.dh = 0;
    cr_assert_not_null(ac_joma_text_model_check(&bm));
    bm = m, bm.L = 0;
    cr_assert_not_null(ac_joma_text_model_check(&bm));
    bm = m, bm.positional = 2;
    cr_assert_not_null(ac_joma_text_model_check(&bm));
    cr_assert_null(ac_joma_text_work_alloc(&bm, 1));
    cr_assert_null(ac_joma_text_trainer_alloc(&m, 0));
    ac_joma_text_trainer_free(NULL);
    ac_joma_text_work_free(NULL);
}
