/* Our symmetric-channel HBLT (theory/joma_hblt.h) and its generator and
 * measurements (verify/joma_hblt.h): the closed form against exact
 * enumeration of a small tree, sampled frequencies within their binomial
 * error, a planted change of rho caught by the fit, the masked-token task's
 * shape, and Spearman's correlation against hand-checked identities. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"
#include "theory/joma_hblt.h"
#include "verify/joma_hblt.h"

/* P(y_l = 1, y_m = 1) by summing over every assignment of the internal
 * nodes and leaves of a depth-D tree (2^(2^(D+1) - 1) states): a second
 * path to the closed form that uses only the channel's definition. */
static double enumerate_cooccur(const ac_joma_hblt *h, int l, int m)
{
    int nodes = (1 << (h->depth + 1)) - 1, leaf0 = (1 << h->depth) - 1;
    double total = 0.0;
    for (long st = 0; st < 1L << nodes; st++) {
        /* node i (heap order: children 2i+1, 2i+2) holds bit i of st */
        double p = (st & 1) ? h->p_root : 1.0 - h->p_root;
        for (int i = 1; i < nodes && p > 0; i++) {
            int parent = (i - 1) / 2, level = 0;
            for (int j = i; j > 0; j = (j - 1) / 2)
                level++;
            int same = ((st >> i) & 1) == ((st >> parent) & 1);
            double keep = 0.5 * (1.0 + h->rho[level - 1]);
            p *= same ? keep : 1.0 - keep;
        }
        if (((st >> (leaf0 + l)) & 1) && ((st >> (leaf0 + m)) & 1))
            total += p;
    }
    return total;
}

/* Exact enumeration sums <= 2^15 products of <= 15 factors: rounding
 * below 1e-13; the closed form is a handful of products. */
#define ENUM_TOL 1e-12

Test(joma_hblt, cooccurrence_formula_matches_exact_enumeration)
{
    gsl_rng *r = ac_test_rng(71);
    for (int c = 0; c < ac_test_cases(6); c++) {
        double rho[3];
        int depth = 1 + c % 3;
        for (int k = 0; k < depth; k++)
            rho[k] = 2.0 * gsl_rng_uniform(r) - 1.0;
        ac_joma_hblt h = {.depth = depth, .p_root = gsl_rng_uniform(r), .rho = rho};
        cr_assert_eq(ac_joma_hblt_check(&h, NULL), AC_OK);
        int n = ac_joma_hblt_nleaves(&h);
        for (int l = 0; l < n; l++)
            for (int m = 0; m < n; m++) {
                double want = enumerate_cooccur(&h, l, m), got = ac_joma_hblt_cooccur(&h, l, m);
                cr_assert(fabs(got - want) <= ENUM_TOL, "case %d depth %d (%d, %d): %.17g vs %.17g", c, depth, l, m,
                          got, want);
            }
    }
    /* p_root = 1/2, one rho: P(l | m) = (1 + rho^{2H})/2 (spec §3 item 4) */
    double rho[4] = {0.7312, 0.7312, 0.7312, 0.7312};
    ac_joma_hblt h = {.depth = 4, .p_root = 0.5, .rho = rho};
    for (int m = 1; m < 16; m++) {
        int H = ac_joma_hblt_lca_height(0, m);
        cr_assert(fabs(ac_joma_hblt_conditional(&h, m, 0) - 0.5 * (1 + pow(0.7312, 2 * H))) < 1e-15);
    }
    cr_assert_eq(ac_joma_hblt_lca_height(5, 5), 0);
    cr_assert_eq(ac_joma_hblt_lca_height(4, 5), 1);
    cr_assert_eq(ac_joma_hblt_lca_height(0, 15), 4);
    gsl_rng_free(r);
}

Test(joma_hblt, bad_trees_are_rejected_with_the_parameter_named)
{
    double rho[2] = {0.5, 1.5};
    ac_msg msg = {{0}};
    ac_joma_hblt h = {.depth = 2, .p_root = 0.5, .rho = rho};
    cr_assert_eq(ac_joma_hblt_check(&h, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "rho[1] = 1.5"), "%s", msg.text);
    rho[1] = NAN;
    cr_assert_eq(ac_joma_hblt_check(&h, &msg), AC_EINVAL);
    rho[1] = 0.5;
    h.p_root = 1.2;
    cr_assert_eq(ac_joma_hblt_check(&h, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "root probability"), "%s", msg.text);
    h.p_root = 0.5;
    h.depth = 0;
    cr_assert_eq(ac_joma_hblt_check(&h, &msg), AC_EINVAL);
    h.depth = AC_JOMA_HBLT_DEPTH_MAX + 1;
    cr_assert_eq(ac_joma_hblt_check(&h, &msg), AC_EINVAL);
    h.depth = 2;
    h.rho = NULL;
    cr_assert_eq(ac_joma_hblt_check(&h, &msg), AC_EINVAL);
    unsigned char Y[4];
    cr_assert_eq(ac_joma_hblt_sample(&h, NULL, 1, Y, &msg), AC_EINVAL);
}

/* Samples of the true tree: every pair within the Bonferroni bound (the
 * claim's); samples of a tree with rho lowered by 0.05 against the true
 * formula: the fit sees the shift, by height, at its known size
 * ((rho'^{2H} - rho^{2H})/4 in the joint), within 5 binomial errors. */
Test(joma_hblt, fit_sees_a_planted_change_of_rho_at_its_size)
{
    const int N = 20000;
    double rho[4] = {0.9, 0.9, 0.9, 0.9}, rho2[4] = {0.85, 0.85, 0.85, 0.85};
    ac_joma_hblt h = {.depth = 4, .p_root = 0.5, .rho = rho}, h2 = {.depth = 4, .p_root = 0.5, .rho = rho2};
    unsigned char *Y = malloc((size_t)N * 16);
    gsl_rng *r = ac_test_rng(72);
    ac_joma_hblt_fit fit;
    cr_assert_eq(ac_joma_hblt_sample(&h, r, N, Y, NULL), AC_OK);
    cr_assert_eq(ac_joma_hblt_fit_measure(&h, Y, N, &fit, NULL), AC_OK);
    double zcrit = 4.79; /* Phi^-1(1 - 1e-3/(2 x 120 x 5)), the claim's default bound */
    cr_assert(fit.zmax_pair < zcrit, "true tree: z %g", fit.zmax_pair);
    cr_assert(fit.zmax_marg < zcrit, "true tree: marginal z %g", fit.zmax_marg);
    cr_assert_eq(fit.npairs, 120);
    cr_assert_eq(ac_joma_hblt_sample(&h2, r, N, Y, NULL), AC_OK);
    cr_assert_eq(ac_joma_hblt_fit_measure(&h, Y, N, &fit, NULL), AC_OK);
    cr_assert(fit.zmax_pair > zcrit, "rho 0.85 against 0.9: z %g", fit.zmax_pair);
    for (int H = 1; H <= 4; H++) {
        double want = 0.5 * (1 + pow(0.85, 2 * H)); /* P(l | m) of the planted tree */
        double se = sqrt(want * (1 - want) / (N * 0.5));
        cr_assert(fabs(fit.cond_sample[H - 1] - want) < 5 * se, "height %d: %g, planted %g", H,
                  fit.cond_sample[H - 1], want);
        cr_assert(fabs(fit.cond_theory[H - 1] - 0.5 * (1 + pow(0.9, 2 * H))) < 1e-15);
    }
    free(Y);
    gsl_rng_free(r);
}

Test(joma_hblt, generator_replays_and_tokens_list_the_active_leaves)
{
    double rho[3] = {0.6, -0.3, 0.9};
    ac_joma_hblt h = {.depth = 3, .p_root = 0.3, .rho = rho};
    unsigned char A[8 * 50], B[8 * 50];
    gsl_rng *r1 = ac_test_rng(73), *r2 = ac_test_rng(73);
    cr_assert_eq(ac_joma_hblt_sample(&h, r1, 50, A, NULL), AC_OK);
    cr_assert_eq(ac_joma_hblt_sample(&h, r2, 50, B, NULL), AC_OK);
    cr_assert_eq(memcmp(A, B, sizeof A), 0, "the same seed gives other samples");
    int tok[8];
    for (int s = 0; s < 50; s++) {
        int c = ac_joma_hblt_tokens(&h, A + 8 * s, tok), k = 0;
        for (int l = 0; l < 8; l++) {
            cr_assert(A[8 * s + l] <= 1);
            if (A[8 * s + l])
                cr_assert_eq(tok[k++], l);
        }
        cr_assert_eq(c, k);
    }
    gsl_rng_free(r1);
    gsl_rng_free(r2);
}

Test(joma_hblt, masked_token_task_has_a_label_outside_a_normalised_context)
{
    double rho[3] = {0.8, 0.8, 0.8};
    ac_joma_hblt h = {.depth = 3, .p_root = 0.5, .rho = rho};
    gsl_rng *r = ac_test_rng(74);
    ac_joma_data D;
    cr_assert_eq(ac_joma_hblt_task(&h, 100, r, &D, NULL), AC_OK);
    cr_assert_eq(D.N, 100);
    cr_assert_eq(D.M, 8);
    cr_assert_eq(D.K, 8);
    for (int s = 0; s < 100; s++) {
        double sum = 0;
        int nz = 0;
        for (int l = 0; l < 8; l++) {
            sum += D.X[s * 8 + l];
            nz += D.X[s * 8 + l] > 0;
        }
        cr_assert(fabs(sum - 1.0) < 8 * DBL_EPSILON, "sample %d sums to %g", s, sum);
        cr_assert_eq(D.X[s * 8 + D.label[s]], 0.0, "the label is in its own context");
        for (int l = 0; l < 8; l++)
            if (D.X[s * 8 + l] > 0)
                cr_assert(fabs(D.X[s * 8 + l] - 1.0 / nz) < DBL_EPSILON);
        cr_assert_eq(D.Y[s * 8 + D.label[s]], 1.0);
    }
    ac_joma_data_clear(&D);
    /* a tree that never shows a token: too few samples, said so */
    double zero[3] = {1.0, 1.0, 1.0};
    ac_joma_hblt never = {.depth = 3, .p_root = 0.0, .rho = zero};
    ac_msg msg = {{0}};
    cr_assert_eq(ac_joma_hblt_task(&never, 3, r, &D, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "only 0 of 3"), "%s", msg.text);
    gsl_rng_free(r);
}

Test(joma_hblt, spearman_on_known_orders)
{
    double x[5] = {1.7312, 2.5, 3.25, 4.0, 9.5}, y[5] = {0.1, 0.2, 0.3, 0.4, 0.5}, z[5] = {5, 4, 3, 2, 1};
    cr_assert_float_eq(ac_joma_hblt_spearman(x, y, 5), 1.0, 1e-15);
    cr_assert_float_eq(ac_joma_hblt_spearman(x, z, 5), -1.0, 1e-15);
    /* ties: ranks (1.5, 1.5, 3) against (1, 2, 3): r = 0.8660... = sqrt(3)/2 */
    double a[3] = {1, 1, 2}, b[3] = {1, 2, 3};
    cr_assert_float_eq(ac_joma_hblt_spearman(a, b, 3), sqrt(3.0) / 2, 1e-15);
    double c[3] = {2, 2, 2};
    cr_assert(isnan(ac_joma_hblt_spearman(c, b, 3)));
    cr_assert(isnan(ac_joma_hblt_spearman(a, b, 1)));
}
