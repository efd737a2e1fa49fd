/* The trained model of the Graph-SVM experiments and its data generator
 * (verify/svm_model.h, verify/svm_data.h). */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/linalg.h"
#include "tests/testutil.h"
#include "theory/tpg.h"
#include "theory/tpg_loss.h"
#include "verify/svm_data.h"
#include "verify/svm_model.h"

static ac_tpg_data *draw(gsl_rng *r, int n, int T, int K, int d, ac_svm_gen_mode mode, double **E)
{
    ac_svm_gen_settings s = {.n = n, .T = T, .K = K, .d = d, .mode = mode, .max_tries = AC_SVM_GEN_MAX_TRIES};
    ac_tpg_data *D = NULL;
    ac_msg msg;
    cr_assert_eq(ac_svm_generate(r, &s, &D, E, NULL, &msg), AC_OK, "%s", msg.text);
    return D;
}

static void random_W(gsl_rng *r, double *W, int n, double scale)
{
    for (int i = 0; i < n; i++)
        W[i] = scale * (2.0 * gsl_rng_uniform(r) - 1.0);
}

/* The model's per-position loss and the theory's multiplicity form
 * (theory/tpg_loss.h) are two codes for one function. */
Test(svm_model, identity_loss_equals_the_theory_log_sum_exp_form)
{
    gsl_rng *r = ac_test_rng(11);
    for (int cs = 0; cs < ac_test_cases(30); cs++) {
        int K = 1 + (int)gsl_rng_uniform_int(r, 7), d = K + (int)gsl_rng_uniform_int(r, 3);
        int T = 1 + (int)gsl_rng_uniform_int(r, 9), n = 1 + (int)gsl_rng_uniform_int(r, 6);
        double *E;
        ac_tpg_data *D = draw(r, n, T, K, d, AC_SVM_GEN_ANY, &E);
        double *W = malloc(sizeof(double) * d * d), *U = malloc(sizeof(double) * K * K);
        random_W(r, W, d * d, 3.1731);
        ac_tpg_token_logits(E, K, d, W, U);
        double lm = ac_svm_model_loss(D, NULL, E, d, AC_SVM_HEAD_IDENTITY, W, NULL);
        double lt = ac_tpg_loss(D, U, D->n, NULL);
        /* Each example's loss is a difference of two log-sum-exps of at most
         * T logits, each logit a d-term dot product: rounding of order
         * DBL_EPSILON (amax + log T) per term, amax the largest |logit|, in
         * either code.  64 DBL_EPSILON (1 + amax + log T) covers both. */
        double amax = 0.0;
        for (int i = 0; i < K * K; i++)
            amax = fmax(amax, fabs(U[i]));
        cr_assert(fabs(lm - lt) <= 64 * DBL_EPSILON * (1 + amax + log(T)),
                  "case %d: model %.17g theory %.17g (n=%d T=%d K=%d d=%d)", cs, lm, lt, n, T, K, d);
        free(W), free(U), free(E);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

/* Central differences: error h^2 |f'''|/6 + eps |f| / h; with h = 1e-5 and
 * O(1)-O(10) third derivatives this is about 1e-9 + 2e-11: tolerance 1e-6
 * relative to the gradient's scale leaves margin without hiding a wrong sign
 * or factor. */
static void check_gradient(ac_svm_head head, unsigned long seed)
{
    gsl_rng *r = ac_test_rng(seed);
    for (int cs = 0; cs < ac_test_cases(15); cs++) {
        int K = 2 + (int)gsl_rng_uniform_int(r, 5), d = K + (int)gsl_rng_uniform_int(r, 3);
        int T = 2 + (int)gsl_rng_uniform_int(r, 5), n = 1 + (int)gsl_rng_uniform_int(r, 5);
        double *E;
        ac_tpg_data *D = draw(r, n, T, K, d, AC_SVM_GEN_ANY, &E);
        int dd = d * d;
        double *W = malloc(sizeof(double) * dd * 2), *g = W + dd;
        random_W(r, W, dd, 1.7312);
        ac_svm_model_loss(D, NULL, E, d, head, W, g);
        double scale = 1e-3 + ac_la_nrm2(g, dd), h = 1e-5;
        for (int j = 0; j < dd; j++) {
            double w = W[j];
            W[j] = w + h;
            double fp = ac_svm_model_loss(D, NULL, E, d, head, W, NULL);
            W[j] = w - h;
            double fm = ac_svm_model_loss(D, NULL, E, d, head, W, NULL);
            W[j] = w;
            double fd = (fp - fm) / (2 * h);
            cr_assert(fabs(fd - g[j]) <= 1e-6 * scale, "head %d case %d entry %d: analytic %.12g fd %.12g", head,
                      cs, j, g[j], fd);
        }
        free(W), free(E);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

Test(svm_model, identity_gradient_matches_central_differences) { check_gradient(AC_SVM_HEAD_IDENTITY, 12); }
Test(svm_model, general_lsq_gradient_matches_central_differences) { check_gradient(AC_SVM_HEAD_GENERAL_LSQ, 13); }
Test(svm_model, general_ce_gradient_matches_central_differences) { check_gradient(AC_SVM_HEAD_GENERAL_CE, 14); }

/* The gradient of the identity-head loss lies in span{(e_a - e_b) e_k^T}
 * (spec §7): the part of W(0) outside it never moves under GD. */
Test(svm_model, gradient_is_orthogonal_to_fixed_directions)
{
    gsl_rng *r = ac_test_rng(15);
    for (int cs = 0; cs < ac_test_cases(20); cs++) {
        int K = 2 + (int)gsl_rng_uniform_int(r, 4), d = K + 1 + (int)gsl_rng_uniform_int(r, 3);
        double *E;
        ac_tpg_data *D = draw(r, 4, 3, K, d, AC_SVM_GEN_ANY, &E);
        int dd = d * d;
        double *W = malloc(sizeof(double) * dd * 2), *g = W + dd;
        random_W(r, W, dd, 1.0);
        ac_svm_model_loss(D, NULL, E, d, AC_SVM_HEAD_IDENTITY, W, g);
        /* The left factor of every example's gradient is X^T(s - q), whose
         * token coefficients sum to zero; so a z with z^T e_j = 1 for every
         * token j gives z^T g = 0. */
        double *z = calloc(d, sizeof(double));
        /* z solves E z = 1 (K equations, d unknowns, K <= d): least norm
         * z = E^T (E E^T)^{-1} 1 */
        double *G = malloc(sizeof(double) * K * K), *one = malloc(sizeof(double) * K);
        ac_la_gram(E, K, d, G);
        for (int j = 0; j < K; j++)
            one[j] = 1.0;
        cr_assert_eq(ac_la_cholesky(G, K), AC_OK);
        ac_la_cholesky_solve(G, K, one);
        for (int j = 0; j < K; j++)
            for (int i = 0; i < d; i++)
                z[i] += E[j * d + i] * one[j];
        double worst = 0, gn = ac_la_nrm2(g, dd);
        for (int c = 0; c < d; c++) {
            double v = 0;
            for (int i = 0; i < d; i++)
                v += z[i] * g[i * d + c];
            worst = fmax(worst, fabs(v));
        }
        /* cancellation of K terms of size |g| |z|: 1e-12 relative */
        cr_assert(worst <= 1e-12 * (1 + gn) * (1 + ac_la_nrm2(z, d)), "case %d: z^T g = %.3g", cs, worst);
        free(z), free(G), free(one), free(W), free(E);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

Test(svm_data, generator_follows_the_rules_of_spec_section_5)
{
    gsl_rng *r = ac_test_rng(16);
    for (int cs = 0; cs < ac_test_cases(40); cs++) {
        int K = 2 + (int)gsl_rng_uniform_int(r, 8), T = 1 + (int)gsl_rng_uniform_int(r, 10);
        int n = 1 + (int)gsl_rng_uniform_int(r, 8), d = K;
        double *E;
        ac_tpg_data *D = draw(r, n, T, K, d, AC_SVM_GEN_ANY, &E);
        ac_msg msg;
        cr_assert_eq(ac_tpg_data_check(D, 1, &msg), AC_OK, "case %d: %s", cs, msg.text);
        for (int k = 0; k < K; k++)
            cr_assert_float_eq(ac_la_nrm2(E + k * d, d), 1.0, 8 * DBL_EPSILON, "unit-norm embeddings");
        for (int i = 0; i < n; i++) {
            cr_assert_eq(D->off[i + 1] - D->off[i], T);
            /* T <= K: distinct tokens; T > K: the first K positions are a permutation */
            int m = T < K ? T : K;
            for (int a = 0; a < m; a++)
                for (int b = a + 1; b < m; b++)
                    cr_assert_neq(D->tok[D->off[i] + a], D->tok[D->off[i] + b], "case %d example %d", cs, i);
        }
        free(E);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

Test(svm_data, rejection_gives_the_structure_asked_for)
{
    gsl_rng *r = ac_test_rng(17);
    for (int cs = 0; cs < ac_test_cases(10); cs++)
        for (int mode = AC_SVM_GEN_ACYCLIC; mode <= AC_SVM_GEN_CYCLIC; mode++) {
            double *E;
            ac_tpg_data *D = draw(r, 6, 4, 6, 8, (ac_svm_gen_mode)mode, &E);
            ac_tpg *G;
            ac_msg msg;
            cr_assert_eq(ac_tpg_build(D, &G, &msg), AC_OK);
            cr_assert_eq(ac_tpg_is_acyclic(G), mode == AC_SVM_GEN_ACYCLIC, "case %d mode %d", cs, mode);
            ac_tpg_free(G);
            free(E);
            ac_tpg_data_free(D);
        }
    gsl_rng_free(r);
}

Test(svm_data, a_seed_fixes_the_instance)
{
    double *E1, *E2;
    gsl_rng *r1 = ac_test_rng(18), *r2 = ac_test_rng(18);
    ac_tpg_data *D1 = draw(r1, 5, 4, 6, 7, AC_SVM_GEN_CYCLIC, &E1), *D2 = draw(r2, 5, 4, 6, 7, AC_SVM_GEN_CYCLIC, &E2);
    cr_assert_eq(memcmp(E1, E2, sizeof(double) * 6 * 7), 0);
    cr_assert_eq(memcmp(D1->tok, D2->tok, sizeof(int) * 20), 0);
    cr_assert_eq(memcmp(D1->label, D2->label, sizeof(int) * 5), 0);
    free(E1), free(E2);
    ac_tpg_data_free(D1), ac_tpg_data_free(D2);
    gsl_rng_free(r1), gsl_rng_free(r2);
}

Test(svm_data, impossible_sizes_are_refused)
{
    ac_svm_gen_settings bad[] = {{0, 4, 6, 8, AC_SVM_GEN_ANY, 10},
                                 {6, 0, 6, 8, AC_SVM_GEN_ANY, 10},
                                 {6, 4, 0, 8, AC_SVM_GEN_ANY, 10},
                                 {6, 4, 6, 0, AC_SVM_GEN_ANY, 10},
                                 {6, 1, 6, 8, AC_SVM_GEN_CYCLIC, 10},
                                 {6, 4, 6, 8, AC_SVM_GEN_ANY, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ac_msg msg = {{0}};
        cr_assert_neq(ac_svm_gen_check(&bad[i], &msg), AC_OK, "setting %zu accepted", i);
        cr_assert(msg.text[0], "setting %zu: no message", i);
    }
    /* a structure that cannot occur: one example of one token has no cycle */
    ac_svm_gen_settings never = {.n = 1, .T = 2, .K = 2, .d = 2, .mode = AC_SVM_GEN_CYCLIC, .max_tries = 50};
    gsl_rng *r = ac_test_rng(19);
    ac_tpg_data *D;
    double *E;
    ac_msg msg;
    cr_assert_eq(ac_svm_generate(r, &never, &D, &E, NULL, &msg), AC_ENOCONV);
    cr_assert_null(D);
    gsl_rng_free(r);
}

/* ---- The blocked evaluation against the straightforward formula ---- */

/* A random dataset of n examples of 1..Tmax tokens from [0, K), each label a
 * token of its sequence, E (K x d) of entries in [-1.7312, 1.7312], and,
 * when with_query, a random query per example (as a reduced dataset has). */
typedef struct {
    ac_tpg_data *D;
    double *E;
    int *query;
    int d;
} rcase;

static void rcase_draw(gsl_rng *r, int n, int Tmax, int K, int d, int with_query, rcase *c)
{
    int *len = malloc(sizeof(int) * n), ntok = 0;
    for (int i = 0; i < n; i++)
        ntok += len[i] = 1 + (int)gsl_rng_uniform_int(r, Tmax);
    c->D = ac_tpg_data_alloc(n, ntok, K);
    cr_assert_not_null(c->D);
    for (int i = 0; i < n; i++) {
        c->D->off[i + 1] = c->D->off[i] + len[i];
        for (int t = 0; t < len[i]; t++)
            c->D->tok[c->D->off[i] + t] = (int)gsl_rng_uniform_int(r, K);
        c->D->label[i] = c->D->tok[c->D->off[i] + (int)gsl_rng_uniform_int(r, len[i])];
    }
    c->d = d;
    c->E = malloc(sizeof(double) * K * d);
    random_W(r, c->E, K * d, 1.7312);
    c->query = NULL;
    if (with_query) {
        c->query = malloc(sizeof(int) * n);
        for (int i = 0; i < n; i++)
            c->query[i] = (int)gsl_rng_uniform_int(r, K);
    }
    free(len);
}

static void rcase_clear(rcase *c)
{
    ac_tpg_data_free(c->D);
    free(c->E);
    free(c->query);
}

static double lse(const double *a, int len, const unsigned char *keep)
{
    double mx = -INFINITY, z = 0.0;
    for (int t = 0; t < len; t++)
        if (!keep || keep[t])
            mx = fmax(mx, a[t]);
    for (int t = 0; t < len; t++)
        if (!keep || keep[t])
            z += exp(a[t] - mx);
    return mx + log(z);
}

/* The model of spec §1 position by position, as written there: a_t = x_t^T
 * W xbar, s = softmax(a), dl/da = s - q (identity head, q the softmax over
 * the label positions) or s * (dl/ds - s.dl/ds) (general heads), and
 * dL/dW = (1/n) sum_i (X^T dl/da) xbar^T. */
static double reference_loss(const rcase *c, ac_svm_head head, const double *W, double *grad)
{
    const ac_tpg_data *D = c->D;
    int d = c->d, K = D->K;
    double total = 0.0;
    double *v = malloc(sizeof(double) * d), *o = malloc(sizeof(double) * d), *go = malloc(sizeof(double) * d);
    double *z = malloc(sizeof(double) * K), *gl = malloc(sizeof(double) * d);
    if (grad)
        memset(grad, 0, sizeof(double) * d * d);
    for (int i = 0; i < D->n; i++) {
        int len = D->off[i + 1] - D->off[i], y = D->label[i];
        const int *tok = D->tok + D->off[i];
        const double *xbar = c->E + (size_t)(c->query ? c->query[i] : tok[len - 1]) * d;
        double *a = malloc(sizeof(double) * len), *g = malloc(sizeof(double) * len);
        unsigned char *lab = malloc(len);
        for (int r = 0; r < d; r++) {
            v[r] = 0.0;
            for (int k = 0; k < d; k++)
                v[r] += W[r * d + k] * xbar[k];
        }
        for (int t = 0; t < len; t++) {
            a[t] = 0.0;
            for (int k = 0; k < d; k++)
                a[t] += c->E[(size_t)tok[t] * d + k] * v[k];
            lab[t] = tok[t] == y;
        }
        double L = lse(a, len, NULL);
        if (head == AC_SVM_HEAD_IDENTITY) {
            double Ly = lse(a, len, lab);
            total += L - Ly;
            for (int t = 0; t < len; t++)
                g[t] = exp(a[t] - L) - (lab[t] ? exp(a[t] - Ly) : 0.0);
        } else {
            memset(o, 0, sizeof(double) * d);
            for (int t = 0; t < len; t++)
                for (int k = 0; k < d; k++)
                    o[k] += exp(a[t] - L) * c->E[(size_t)tok[t] * d + k];
            for (int j = 0; j < K; j++) {
                z[j] = 0.0;
                for (int k = 0; k < d; k++)
                    z[j] += c->E[(size_t)j * d + k] * o[k];
            }
            double Lz = lse(z, K, NULL), py = exp(z[y] - Lz);
            total += head == AC_SVM_HEAD_GENERAL_LSQ ? (1 - py) * (1 - py) : Lz - z[y];
            double cz = head == AC_SVM_HEAD_GENERAL_LSQ ? -2.0 * (1 - py) * py : -1.0;
            memset(go, 0, sizeof(double) * d);
            for (int j = 0; j < K; j++)
                for (int k = 0; k < d; k++)
                    go[k] += cz * ((j == y) - exp(z[j] - Lz)) * c->E[(size_t)j * d + k];
            double sg = 0.0;
            for (int t = 0; t < len; t++) {
                g[t] = 0.0;
                for (int k = 0; k < d; k++)
                    g[t] += c->E[(size_t)tok[t] * d + k] * go[k];
                sg += exp(a[t] - L) * g[t];
            }
            for (int t = 0; t < len; t++)
                g[t] = exp(a[t] - L) * (g[t] - sg);
        }
        if (grad) {
            memset(gl, 0, sizeof(double) * d);
            for (int t = 0; t < len; t++)
                for (int k = 0; k < d; k++)
                    gl[k] += g[t] * c->E[(size_t)tok[t] * d + k];
            for (int r = 0; r < d; r++)
                for (int k = 0; k < d; k++)
                    grad[r * d + k] += gl[r] * xbar[k] / D->n;
        }
        free(a), free(g), free(lab);
    }
    free(v), free(o), free(go), free(z), free(gl);
    return total / D->n;
}

/* Which evaluation a case takes (verify/svm_model.h): 0 per position,
 * 1 dense table, 2 dense table with the exponential table. */
static int path_of(const rcase *c)
{
    const ac_tpg_data *D = c->D;
    int ntok = D->off[D->n], Q = 0, V = 0;
    unsigned char *sq = calloc(D->K, 1), *sv = calloc(D->K, 1);
    for (int i = 0; i < D->n; i++) {
        int q = c->query ? c->query[i] : D->tok[D->off[i + 1] - 1];
        Q += !sq[q], sq[q] = 1;
    }
    for (int t = 0; t < ntok; t++)
        V += !sv[D->tok[t]], sv[D->tok[t]] = 1;
    free(sq), free(sv);
    if ((long)Q * V > (long)AC_SVM_DENSE_RATIO * ntok)
        return 0;
    return (long)AC_SVM_EXPTAB_RATIO * Q * V <= ntok ? 2 : 1;
}

/* Both codes compute a_t as a d-term sum whose terms are bounded by
 * B = max_t |x_t| ||W||_F max|xbar|, so each logit differs by at most
 * ~d DBL_EPSILON B.  The loss moves by at most twice the largest logit
 * change (sum_t |dl/da_t| <= 2) plus the rounding of its log-sum-exps,
 * ~(T + log T) DBL_EPSILON (1 + B); each gradient entry sums weights of total
 * size <= 2 (identity) or <= 4 ||E|| (general) times e^2 with e the largest
 * row norm of E, each weight off by the same relative amount.  So
 * loss: 64 (d + T) eps (1 + B); gradient: 64 (d + T) eps (1 + B) e^2 (1 + ||E||_F):
 * a factor 64 above the first-order estimate, far below any real error
 * (a wrong index or factor shows up at O(1)). */
static void compare_with_reference(ac_svm_head head, unsigned long seed, int *seen)
{
    gsl_rng *r = ac_test_rng(seed);
    for (int cs = 0; cs < ac_test_cases(300); cs++) {
        /* families: sizes 1; long sequences over few tokens (table of
         * exponentials); one or two tokens each over many (per position;
         * two, since one position has zero gradient); mixed */
        int fam = cs % 4;
        int n = fam == 0 ? 1 : fam == 2 ? 8 + (int)gsl_rng_uniform_int(r, 8) : 1 + (int)gsl_rng_uniform_int(r, 6);
        int Tmax = fam == 0   ? 1
                   : fam == 1 ? 6 + (int)gsl_rng_uniform_int(r, 6)
                   : fam == 2 ? 2
                              : 1 + (int)gsl_rng_uniform_int(r, 6);
        int K = fam == 0   ? 1 + (int)gsl_rng_uniform_int(r, 2)
                : fam == 1 ? 1 + (int)gsl_rng_uniform_int(r, 3)
                : fam == 2 ? 2 * n + (int)gsl_rng_uniform_int(r, 6)
                           : 1 + (int)gsl_rng_uniform_int(r, 7);
        int d = 1 + (int)gsl_rng_uniform_int(r, 8);
        rcase c;
        rcase_draw(r, n, Tmax, K, d, (int)gsl_rng_uniform_int(r, 2), &c);
        seen[path_of(&c)]++;
        int dd = d * d, T = 0;
        for (int i = 0; i < n; i++)
            T = T > c.D->off[i + 1] - c.D->off[i] ? T : c.D->off[i + 1] - c.D->off[i];
        double *W = malloc(sizeof(double) * dd * 3), *g = W + dd, *gr = g + dd;
        /* scale 300 sends the label's logit hundreds below the largest in
         * some cases: the shifted label sum of the identity head */
        double sc = cs % 5 == 4 ? 300.0 : 1.7312;
        random_W(r, W, dd, sc);
        double l = ac_svm_model_loss(c.D, c.query, c.E, d, head, W, g);
        double lr = reference_loss(&c, head, W, gr);
        double e2 = 0.0, En = ac_la_nrm2(c.E, K * d);
        for (int k = 0; k < K; k++)
            e2 = fmax(e2, ac_la_dot(c.E + k * d, c.E + k * d, d));
        double B = e2 * ac_la_nrm2(W, dd);
        double tl = 64 * (d + T) * DBL_EPSILON * (1 + B), tg = tl * e2 * (1 + En);
        cr_assert(fabs(l - lr) <= tl * fmax(1.0, fabs(lr)) || (isinf(l) && l == lr),
                  "seed %lu head %d case %d (n=%d T=%d K=%d d=%d scale %g): loss %.17g reference %.17g",
                  ac_test_seed(seed), head, cs, n, T, K, d, sc, l, lr);
        for (int j = 0; j < dd; j++)
            cr_assert(fabs(g[j] - gr[j]) <= tg,
                      "seed %lu head %d case %d (n=%d T=%d K=%d d=%d, scale %g) entry %d: %.17g reference %.17g",
                      ac_test_seed(seed), head, cs, n, T, K, d, sc, j, g[j], gr[j]);
        free(W);
        rcase_clear(&c);
    }
    gsl_rng_free(r);
}

Test(svm_model, blocked_loss_and_gradient_equal_the_per_position_formula)
{
    int seen[3] = {0, 0, 0};
    compare_with_reference(AC_SVM_HEAD_IDENTITY, 21, seen);
    compare_with_reference(AC_SVM_HEAD_GENERAL_LSQ, 22, seen);
    compare_with_reference(AC_SVM_HEAD_GENERAL_CE, 23, seen);
    for (int p = 0; p < 3; p++)
        cr_assert(seen[p] >= 10, "evaluation path %d was taken by only %d cases", p, seen[p]);
}

/* The blocked gradient against central differences of the blocked loss, on
 * the random family above (sizes 1 included, queries or not, all three
 * evaluation paths).  Error of a central difference: h^2 |f'''| / 6 +
 * eps |f| / h.  With entries of E up to 1.73 and d <= 8, |x_t| |xbar| <= 24
 * and the third derivative along one entry of W is at most ~6 * 24^3 ~ 1e5
 * (identity head; the general heads add one factor ||E||): with h = 1e-6
 * that is ~2e-8, and eps |f| / h ~ 1e-9; tolerance 1e-6 (1 + |g|_max)
 * keeps a margin of 50 and still catches a wrong sign, index or factor. */
static void fd_check(ac_svm_head head, unsigned long seed)
{
    gsl_rng *r = ac_test_rng(seed);
    for (int cs = 0; cs < ac_test_cases(40); cs++) {
        int n = 1 + (int)gsl_rng_uniform_int(r, 4), Tmax = 1 + (int)gsl_rng_uniform_int(r, 6);
        int K = 1 + (int)gsl_rng_uniform_int(r, 5), d = 1 + (int)gsl_rng_uniform_int(r, 5);
        rcase c;
        rcase_draw(r, n, Tmax, K, d, (int)gsl_rng_uniform_int(r, 2), &c);
        int dd = d * d;
        double *W = malloc(sizeof(double) * dd * 2), *g = W + dd, h = 1e-6;
        random_W(r, W, dd, 0.31);
        ac_svm_model_loss(c.D, c.query, c.E, d, head, W, g);
        double gmax = 0.0;
        for (int j = 0; j < dd; j++)
            gmax = fmax(gmax, fabs(g[j]));
        for (int j = 0; j < dd; j++) {
            double w = W[j];
            W[j] = w + h;
            double fp = ac_svm_model_loss(c.D, c.query, c.E, d, head, W, NULL);
            W[j] = w - h;
            double fm = ac_svm_model_loss(c.D, c.query, c.E, d, head, W, NULL);
            W[j] = w;
            double fd = (fp - fm) / (2 * h);
            cr_assert(fabs(fd - g[j]) <= 1e-6 * (1 + gmax),
                      "seed %lu head %d case %d (n=%d K=%d d=%d) entry %d: %.12g fd %.12g",
                      ac_test_seed(seed), head, cs, n, K, d, j, g[j], fd);
        }
        free(W);
        rcase_clear(&c);
    }
    gsl_rng_free(r);
}

Test(svm_model, blocked_gradient_matches_central_differences_from_size_1)
{
    fd_check(AC_SVM_HEAD_IDENTITY, 24);
    fd_check(AC_SVM_HEAD_GENERAL_LSQ, 25);
    fd_check(AC_SVM_HEAD_GENERAL_CE, 26);
}

/* ---- The trainer contract (verify/train.h) ---- */

/* A small problem for the trainer tests: the paper's size, seeded. */
static ac_tpg_data *contract_problem(unsigned long seed, double **E, double *W0)
{
    gsl_rng *r = ac_test_rng(seed);
    ac_tpg_data *D = draw(r, 6, 4, 6, 8, AC_SVM_GEN_ANY, E);
    ac_svm_model_init(r, 8, W0);
    gsl_rng_free(r);
    return D;
}

Test(svm_train, each_invalid_setting_is_rejected_by_check_and_by_set)
{
    ac_svm_train_settings def;
    ac_svm_train_settings_default(&def);
    cr_assert_null(ac_svm_train_settings_check(&def), "the defaults are refused");
    cr_assert_not_null(ac_svm_train_settings_check(NULL));
    ac_svm_train_settings bad[14];
    int nb = 0;
    for (int i = 0; i < 14; i++)
        bad[i] = def;
    bad[nb++].steps = -1;
    bad[nb++].lr = 0.0;
    bad[nb++].lr = -0.01;
    bad[nb++].lr = NAN;
    bad[nb++].lr = INFINITY;
    bad[nb++].normalized = 2;
    bad[nb++].normalized = -1;
    bad[nb++].head = (ac_svm_head)3;
    bad[nb++].head = (ac_svm_head)-1;
    bad[nb++].grad_tol = -1e-300;
    bad[nb++].grad_tol = NAN;
    bad[nb++].grad_tol = INFINITY;
    bad[nb++].diverge_factor = 1.0;
    bad[nb++].diverge_factor = NAN;
    double *E, W0[64];
    ac_tpg_data *D = contract_problem(31, &E, W0);
    ac_svm_trainer *tr = ac_svm_trainer_alloc(D->n, D->off[D->n], D->K, 8);
    cr_assert_not_null(tr);
    for (int i = 0; i < nb; i++) {
        const char *why = ac_svm_train_settings_check(&bad[i]);
        cr_assert(why && why[0], "setting %d accepted", i);
        ac_msg msg = {{0}};
        cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &bad[i], W0, &msg), AC_EINVAL, "setting %d: set accepts it", i);
        cr_assert(strstr(msg.text, why), "setting %d: set's message '%s' lacks the check's sentence", i, msg.text);
        double W[64];
        ac_train_info info;
        cr_assert_eq(ac_svm_train(D, NULL, E, 8, &bad[i], W0, W, &info, NULL), AC_EINVAL, "setting %d", i);
    }
    /* the boundaries themselves are valid: 0 steps, grad_tol 0, plain GD */
    ac_svm_train_settings ok = def;
    ok.steps = 0, ok.grad_tol = 0.0, ok.normalized = 0, ok.diverge_factor = 1.0000001;
    cr_assert_null(ac_svm_train_settings_check(&ok));
    ac_svm_trainer_free(tr);
    free(E);
    ac_tpg_data_free(D);
}

Test(svm_train, the_step_limit_ends_a_run_and_further_iterates_change_nothing)
{
    double *E, W0[64];
    ac_tpg_data *D = contract_problem(32, &E, W0);
    ac_svm_train_settings s;
    ac_svm_train_settings_default(&s);
    s.steps = 7;
    ac_svm_trainer *tr = ac_svm_trainer_alloc(D->n, D->off[D->n], D->K, 8);
    ac_msg msg;
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &s, W0, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_svm_trainer_test(tr), AC_TRAIN_RUNNING);
    cr_assert_eq(ac_svm_trainer_run(tr, 3), AC_TRAIN_RUNNING, "run(3) stops at 3 steps, not at the limit");
    cr_assert_eq(ac_svm_trainer_info(tr)->steps, 3);
    cr_assert_eq(ac_svm_trainer_run(tr, 1000), AC_TRAIN_STEP_LIMIT);
    const ac_train_info *in = ac_svm_trainer_info(tr);
    cr_assert_eq(in->steps, 7);
    cr_assert(isfinite(in->loss) && isfinite(in->loss0) && in->loss < in->loss0, "loss %g from %g", in->loss,
              in->loss0);
    double W[64];
    memcpy(W, ac_svm_trainer_W(tr), sizeof W);
    cr_assert_eq(ac_svm_trainer_iterate(tr), AC_OK);
    cr_assert_eq(in->steps, 7);
    cr_assert_eq(memcmp(W, ac_svm_trainer_W(tr), sizeof W), 0, "an ended run moved W");
    /* 0 steps: ended at set, W = W0 */
    s.steps = 0;
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &s, W0, &msg), AC_OK);
    cr_assert_eq(ac_svm_trainer_test(tr), AC_TRAIN_STEP_LIMIT);
    ac_svm_trainer_iterate(tr);
    cr_assert_eq(memcmp(W0, ac_svm_trainer_W(tr), sizeof W), 0);
    ac_svm_trainer_free(tr);
    free(E);
    ac_tpg_data_free(D);
}

/* Plain GD from W0 with grad_tol half the starting gradient norm: the loss
 * tends to 0 along the run (spec §1) and so does the gradient, so the run
 * converges before the limit, at a W whose gradient norm is <= grad_tol. */
Test(svm_train, grad_tol_gives_converged_at_an_iterate_meeting_it)
{
    double *E, W0[64], g[64];
    ac_tpg_data *D = contract_problem(33, &E, W0);
    ac_svm_model_loss(D, NULL, E, 8, AC_SVM_HEAD_IDENTITY, W0, g);
    ac_svm_train_settings s;
    ac_svm_train_settings_default(&s);
    s.normalized = 0, s.lr = 0.5, s.steps = 100000, s.grad_tol = 0.5 * ac_la_nrm2(g, 64);
    ac_svm_trainer *tr = ac_svm_trainer_alloc(D->n, D->off[D->n], D->K, 8);
    ac_msg msg;
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &s, W0, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_svm_trainer_run(tr, s.steps), AC_TRAIN_CONVERGED);
    const ac_train_info *in = ac_svm_trainer_info(tr);
    cr_assert(in->steps > 0 && in->steps < s.steps, "steps %ld", in->steps);
    cr_assert(in->grad_norm <= s.grad_tol);
    /* the info describes the W returned: recompute its gradient */
    ac_svm_model_loss(D, NULL, E, 8, AC_SVM_HEAD_IDENTITY, ac_svm_trainer_W(tr), g);
    cr_assert(ac_la_nrm2(g, 64) <= s.grad_tol, "gradient at the returned W %.6g > %.6g", ac_la_nrm2(g, 64),
              s.grad_tol);
    /* a tolerance above the start: converged at once, W = W0 */
    s.grad_tol = 1e300;
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &s, W0, &msg), AC_OK);
    cr_assert_eq(ac_svm_trainer_run(tr, s.steps), AC_TRAIN_CONVERGED);
    cr_assert_eq(ac_svm_trainer_info(tr)->steps, 0);
    cr_assert_eq(memcmp(W0, ac_svm_trainer_W(tr), sizeof W0), 0);
    ac_svm_trainer_free(tr);
    free(E);
    ac_tpg_data_free(D);
}

static int all_finite(const double *x, int m)
{
    for (int i = 0; i < m; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* lr = 1e300 (normalised): one step takes W to ~1e300, where the loss is
 * ~1e300 > diverge_factor max(1, loss0): diverged at step 1, W finite.
 * Plain GD with lr = DBL_MAX on embeddings scaled by 10 (gradient entries
 * ~100): the first step would overflow, so the run ends at step 0 with
 * W = W0.  In both, further iterates take no step. */
Test(svm_train, a_blow_up_is_diverged_and_keeps_the_last_finite_iterate)
{
    double *E, W0[64];
    ac_tpg_data *D = contract_problem(34, &E, W0);
    ac_svm_train_settings s;
    ac_svm_train_settings_default(&s);
    s.lr = 1e300;
    ac_svm_trainer *tr = ac_svm_trainer_alloc(D->n, D->off[D->n], D->K, 8);
    ac_msg msg;
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &s, W0, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_svm_trainer_run(tr, s.steps), AC_TRAIN_DIVERGED);
    const ac_train_info *in = ac_svm_trainer_info(tr);
    cr_assert_eq(in->steps, 1, "diverged after %ld steps", in->steps);
    cr_assert(all_finite(ac_svm_trainer_W(tr), 64));
    cr_assert(!(in->loss <= s.diverge_factor * fmax(1.0, in->loss0)), "loss %g", in->loss);
    double W[64];
    memcpy(W, ac_svm_trainer_W(tr), sizeof W);
    ac_svm_trainer_iterate(tr);
    cr_assert_eq(in->steps, 1);
    cr_assert_eq(memcmp(W, ac_svm_trainer_W(tr), sizeof W), 0);

    for (int i = 0; i < D->K * 8; i++)
        E[i] *= 10.0;
    s.normalized = 0, s.lr = DBL_MAX;
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &s, W0, &msg), AC_OK);
    cr_assert_eq(ac_svm_trainer_run(tr, s.steps), AC_TRAIN_DIVERGED);
    cr_assert_eq(in->steps, 0);
    cr_assert(isfinite(in->loss), "the loss at W0 is finite: the step, not the loss, ended the run");
    cr_assert_eq(memcmp(W0, ac_svm_trainer_W(tr), sizeof W0), 0, "W is not the last finite iterate");
    ac_svm_trainer_free(tr);
    free(E);
    ac_tpg_data_free(D);
}

Test(svm_train, a_dataset_larger_than_the_alloc_is_esize)
{
    double *E, W0[64];
    ac_tpg_data *D = contract_problem(35, &E, W0);
    int n = D->n, ntok = D->off[D->n], K = D->K;
    ac_svm_train_settings s;
    ac_svm_train_settings_default(&s);
    ac_svm_trainer *small[3] = {ac_svm_trainer_alloc(n - 1, ntok, K, 8), ac_svm_trainer_alloc(n, ntok - 1, K, 8),
                                ac_svm_trainer_alloc(n, ntok, K - 1, 8)};
    for (int i = 0; i < 3; i++) {
        ac_msg msg = {{0}};
        cr_assert_not_null(small[i]);
        cr_assert_eq(ac_svm_trainer_set(small[i], D, NULL, E, &s, W0, &msg), AC_ESIZE, "size %d", i);
        cr_assert(msg.text[0]);
        ac_svm_trainer_free(small[i]);
    }
    /* exactly the alloc's sizes fit, and so does a smaller dataset */
    ac_svm_trainer *tr = ac_svm_trainer_alloc(n, ntok, K, 8);
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &s, W0, NULL), AC_OK);
    ac_svm_trainer_free(tr);
    tr = ac_svm_trainer_alloc(n + 5, ntok + 9, K + 2, 8);
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &s, W0, NULL), AC_OK);
    ac_svm_trainer_free(tr);
    cr_assert_null(ac_svm_trainer_alloc(0, 1, 1, 1));
    cr_assert_null(ac_svm_trainer_alloc(1, 1, 1, 0));
    ac_svm_trainer_free(NULL);
    free(E);
    ac_tpg_data_free(D);
}

/* The one-call run and set + run give the same doubles and the same info;
 * a trainer reused with set replays its first run. */
Test(svm_train, one_call_train_equals_set_and_run)
{
    for (int head = AC_SVM_HEAD_IDENTITY; head <= AC_SVM_HEAD_GENERAL_CE; head++) {
        double *E, W0[64], W[64];
        ac_tpg_data *D = contract_problem(36 + head, &E, W0);
        ac_svm_train_settings s;
        ac_svm_train_settings_default(&s);
        s.steps = 57, s.head = (ac_svm_head)head;
        ac_train_info info;
        cr_assert_eq(ac_svm_train(D, NULL, E, 8, &s, W0, W, &info, NULL), AC_OK);
        ac_svm_trainer *tr = ac_svm_trainer_alloc(D->n + 3, D->off[D->n] + 3, D->K, 8);
        for (int rep = 0; rep < 2; rep++) {
            cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &s, W0, NULL), AC_OK);
            cr_assert_eq(ac_svm_trainer_run(tr, s.steps), info.outcome);
            const ac_train_info *in = ac_svm_trainer_info(tr);
            cr_assert_eq(memcmp(W, ac_svm_trainer_W(tr), sizeof W), 0, "head %d rep %d: W differs", head, rep);
            cr_assert(in->steps == info.steps && in->loss == info.loss && in->loss0 == info.loss0 &&
                          in->grad_norm == info.grad_norm,
                      "head %d rep %d: info differs", head, rep);
        }
        ac_svm_trainer_free(tr);
        free(E);
        ac_tpg_data_free(D);
    }
}

/* Ids outside [0, K) and empty examples without a query are refused at set;
 * with queries, empty examples are allowed, so there may be fewer positions
 * than examples (the workspace must not assume otherwise; ASan watches). */
Test(svm_train, ids_outside_the_vocabulary_and_empty_examples_are_einval)
{
    double E[4 * 3], W0[9];
    for (int i = 0; i < 12; i++)
        E[i] = 0.3 + 0.1731 * i;
    for (int i = 0; i < 9; i++)
        W0[i] = 0.05 * i - 0.2;
    ac_tpg_data *D = ac_tpg_data_alloc(4, 3, 4);
    int off[] = {0, 1, 1, 2, 3}, tok[] = {2, 1, 3}, lab[] = {2, 0, 1, 3}, query[] = {1, 3, 0, 2};
    memcpy(D->off, off, sizeof off), memcpy(D->tok, tok, sizeof tok), memcpy(D->label, lab, sizeof lab);
    ac_svm_train_settings s;
    ac_svm_train_settings_default(&s);
    s.steps = 3, s.head = AC_SVM_HEAD_GENERAL_CE;
    ac_svm_trainer *tr = ac_svm_trainer_alloc(4, 3, 4, 3);
    ac_msg msg = {{0}};
    cr_assert_eq(ac_svm_trainer_set(tr, D, query, E, &s, W0, &msg), AC_OK, "%s", msg.text);
    ac_svm_trainer_run(tr, 3);
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &s, W0, &msg), AC_EINVAL, "empty example 1 without a query");
    cr_assert(strstr(msg.text, "example 1"), "%s", msg.text);
    D->off[2] = 2, D->tok[1] = 4;
    cr_assert_eq(ac_svm_trainer_set(tr, D, query, E, &s, W0, &msg), AC_EINVAL, "token 4 of K = 4");
    D->tok[1] = -1;
    cr_assert_eq(ac_svm_trainer_set(tr, D, query, E, &s, W0, &msg), AC_EINVAL, "token -1");
    D->tok[1] = 1, query[3] = 4;
    cr_assert_eq(ac_svm_trainer_set(tr, D, query, E, &s, W0, &msg), AC_EINVAL, "query 4 of K = 4");
    query[3] = 2, D->label[0] = 4;
    cr_assert_eq(ac_svm_trainer_set(tr, D, query, E, &s, W0, &msg), AC_EINVAL, "label 4 of K = 4");
    cr_assert(isnan(ac_svm_model_loss(D, query, E, 3, AC_SVM_HEAD_IDENTITY, W0, NULL)));
    D->label[0] = 2;
    cr_assert_eq(ac_svm_trainer_set(tr, D, query, E, &s, W0, &msg), AC_OK, "%s", msg.text);
    ac_svm_trainer_free(tr);
    ac_tpg_data_free(D);
}

/* Before a good set, and after a failed one, the trainer holds no run:
 * iterate refuses (it read the missing dataset), run returns at once, and
 * the outcome of an earlier run is not reported (after a refused set, test
 * said "step limit" from the run before).  NULL settings are the defaults
 * (they were read through); NULL arrays are refused by name. */
Test(svm_train, no_run_before_a_good_set_and_null_settings_are_the_defaults)
{
    double *E, W0[64];
    ac_tpg_data *D = contract_problem(32, &E, W0);
    ac_svm_trainer *tr = ac_svm_trainer_alloc(D->n, D->off[D->n], D->K, 8);
    cr_assert_eq(ac_svm_trainer_iterate(tr), AC_EINVAL);
    cr_assert_eq(ac_svm_trainer_run(tr, 5), AC_TRAIN_RUNNING);
    cr_assert_eq(ac_svm_trainer_info(tr)->steps, 0);
    ac_svm_train_settings s;
    ac_svm_train_settings_default(&s);
    s.steps = 3;
    ac_msg msg;
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &s, W0, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_svm_trainer_run(tr, 100), AC_TRAIN_STEP_LIMIT);
    s.lr = -1.0;
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &s, W0, &msg), AC_EINVAL);
    cr_assert_eq(ac_svm_trainer_test(tr), AC_TRAIN_RUNNING, "the earlier run's %s survived a failed set",
                 ac_train_outcome_str(ac_svm_trainer_test(tr)));
    cr_assert_eq(ac_svm_trainer_info(tr)->steps, 0);
    cr_assert_eq(ac_svm_trainer_iterate(tr), AC_EINVAL);
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &s, NULL, &msg), AC_EINVAL);
    s.lr = AC_SVM_TRAIN_LR_DEFAULT;
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &s, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "NULL"), "%s", msg.text);
    /* NULL settings: the defaults, the same first step as with them */
    ac_svm_train_settings def;
    ac_svm_train_settings_default(&def);
    double W1[64];
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, &def, W0, &msg), AC_OK, "%s", msg.text);
    ac_svm_trainer_iterate(tr);
    memcpy(W1, ac_svm_trainer_W(tr), sizeof W1);
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, NULL, W0, &msg), AC_OK, "%s", msg.text);
    ac_svm_trainer_iterate(tr);
    cr_assert_eq(memcmp(W1, ac_svm_trainer_W(tr), sizeof W1), 0);
    /* a NaN in a used embedding row or an infinity in W0 is refused by
     * name (they ran, and ended as "diverged" at the first step) */
    double keep = E[(size_t)D->tok[0] * 8 + 3];
    E[(size_t)D->tok[0] * 8 + 3] = NAN;
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, NULL, W0, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "embedding") && strstr(msg.text, "entry 3"), "%s", msg.text);
    E[(size_t)D->tok[0] * 8 + 3] = keep;
    W0[9] = INFINITY;
    cr_assert_eq(ac_svm_trainer_set(tr, D, NULL, E, NULL, W0, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "W0[1][1]"), "%s", msg.text);
    ac_svm_trainer_free(tr);
    free(E);
    ac_tpg_data_free(D);
}
