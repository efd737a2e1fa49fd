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
    ac_svm_gen_settings s = {n, T, K, d, mode, AC_SVM_GEN_MAX_TRIES};
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
    ac_svm_gen_settings never = {1, 2, 2, 2, AC_SVM_GEN_CYCLIC, 50};
    gsl_rng *r = ac_test_rng(19);
    ac_tpg_data *D;
    double *E;
    ac_msg msg;
    cr_assert_eq(ac_svm_generate(r, &never, &D, &E, NULL, &msg), AC_ENOCONV);
    cr_assert_null(D);
    gsl_rng_free(r);
}
