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

/* Half time: the first checkpoint at half the final value, the same for a
 * path scaled by any nonzero constant (negative included), NaN for a path
 * that ends at 0 or not finite. */
Test(joma_hblt, half_time_is_scale_free)
{
    double t[5] = {0, 10, 20, 30, 40};
    double v[5] = {0.0, 0.2, 0.49, 0.8, 1.0}, w[5], u[5] = {0.0, 0.7, 0.6, 0.5, 1.0};
    cr_assert_eq(ac_joma_hblt_half_time(t, v, 5), 30.0);
    for (int c = 0; c < 5; c++)
        w[c] = -3.5 * v[c];
    cr_assert_eq(ac_joma_hblt_half_time(t, w, 5), 30.0);
    cr_assert_eq(ac_joma_hblt_half_time(t, u, 5), 10.0, "the first crossing, not the last");
    v[4] = 0.0;
    cr_assert(isnan(ac_joma_hblt_half_time(t, v, 5)));
    v[4] = NAN;
    cr_assert(isnan(ac_joma_hblt_half_time(t, v, 5)));
}

/* ---- the query block ---- */

/* The query task: a query and a label among a sample's tokens, neither in
 * the context, the context (at least one token) normalised. */
Test(joma_hblt, query_task_keeps_query_and_label_out_of_a_normalised_context)
{
    double rho[3] = {0.8, 0.8, 0.8};
    ac_joma_hblt h = {.depth = 3, .p_root = 0.5, .rho = rho};
    gsl_rng *r = ac_test_rng(75);
    ac_joma_hblt_qtask q;
    cr_assert_eq(ac_joma_hblt_qtask_init(&q, &h, 100, r, NULL), AC_OK);
    cr_assert_eq(q.data.N, 100);
    cr_assert_eq(q.data.M, 8);
    int differ = 0;
    for (int s = 0; s < 100; s++) {
        const double *x = q.data.X + s * 8;
        double sum = 0;
        int nz = 0;
        for (int l = 0; l < 8; l++) {
            sum += x[l];
            nz += x[l] > 0;
        }
        cr_assert(nz >= 1);
        cr_assert(fabs(sum - 1.0) < 8 * DBL_EPSILON, "sample %d sums to %g", s, sum);
        cr_assert_neq(q.query[s], q.data.label[s]);
        cr_assert_eq(x[q.query[s]], 0.0, "the query is in its own context");
        cr_assert_eq(x[q.data.label[s]], 0.0, "the label is in its own context");
        cr_assert_eq(q.data.Y[s * 8 + q.data.label[s]], 1.0);
        differ += q.query[s] != q.query[0];
    }
    cr_assert(differ > 0, "every sequence has the same query");
    ac_joma_hblt_qtask_clear(&q);
    ac_joma_hblt_qtask_clear(&q); /* a cleared task: a no-op */
    double one[3] = {1.0, 1.0, 1.0};
    ac_joma_hblt never = {.depth = 3, .p_root = 0.0, .rho = one};
    ac_msg msg = {{0}};
    cr_assert_eq(ac_joma_hblt_qtask_init(&q, &never, 3, r, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "only 0 of 3"), "%s", msg.text);
    gsl_rng_free(r);
}

/* The gradient against central differences of the loss: step e = 1e-5 on
 * O(1) parameters gives a truncation error O(e^2) ~ 1e-10 times the third
 * derivative (O(1)) and a rounding error O(DBL_EPSILON / e) ~ 2e-11 on a
 * loss of O(1); the tolerance 1e-7 is far above both and far below a
 * missing factor (the 1/T, the softmax's centring, a sign). */
#define FD_STEP 1e-5
#define FD_TOL 1e-7

Test(joma_hblt, query_block_gradient_matches_finite_differences)
{
    double rho[2] = {0.7312, 0.6};
    ac_joma_hblt h = {.depth = 2, .p_root = 0.6, .rho = rho};
    gsl_rng *r = ac_test_rng(76);
    ac_joma_hblt_qtask q;
    cr_assert_eq(ac_joma_hblt_qtask_init(&q, &h, 7, r, NULL), AC_OK);
    const int M = 4, mm = 16;
    double P[48], G[48], Pp[48], Pm[48];
    for (int j = 0; j < 48; j++)
        P[j] = 1.7312 * (gsl_rng_uniform(r) - 0.5);
    const double T = 0.7;
    double L = ac_joma_hblt_q_loss(&q, P, P + mm, P + 2 * mm, T, G, G + mm, G + 2 * mm);
    cr_assert(isfinite(L));
    cr_assert_float_eq(ac_joma_hblt_q_loss(&q, P, P + mm, P + 2 * mm, T, NULL, NULL, NULL), L, 0.0);
    for (int j = 0; j < 3 * mm; j++) {
        memcpy(Pp, P, sizeof P);
        memcpy(Pm, P, sizeof P);
        Pp[j] += FD_STEP;
        Pm[j] -= FD_STEP;
        double fd = (ac_joma_hblt_q_loss(&q, Pp, Pp + mm, Pp + 2 * mm, T, NULL, NULL, NULL) -
                     ac_joma_hblt_q_loss(&q, Pm, Pm + mm, Pm + 2 * mm, T, NULL, NULL, NULL)) /
                    (2 * FD_STEP);
        cr_assert(fabs(fd - G[j]) < FD_TOL, "entry %d of %s: gradient %.12g, differences %.12g", j % mm,
                  j < mm ? "Z" : j < 2 * mm ? "V" : "Q", G[j], fd);
    }
    /* z_m of a query that never occurs gets no gradient */
    for (int m = 0; m < M; m++) {
        int seen = 0;
        for (int s = 0; s < q.data.N; s++)
            seen += q.query[s] == m;
        for (int l = 0; l < M && !seen; l++)
            cr_assert_eq(G[m * M + l], 0.0);
    }
    q.query[0] = M;
    cr_assert(isnan(ac_joma_hblt_q_loss(&q, P, P + mm, P + 2 * mm, T, NULL, NULL, NULL)), "a query out of range");
    ac_joma_hblt_qtask_clear(&q);
    gsl_rng_free(r);
}

/* The trainer: a step is exactly P - lr G; the loss falls along a run that
 * ends at its step limit; bad settings, sizes and starts are refused; an
 * absurd step diverges and keeps the last finite iterate. */
Test(joma_hblt, query_trainer_steps_ends_and_refuses)
{
    double rho[2] = {0.8, 0.8};
    ac_joma_hblt h = {.depth = 2, .p_root = 0.5, .rho = rho};
    gsl_rng *r = ac_test_rng(77);
    ac_joma_hblt_qtask q;
    cr_assert_eq(ac_joma_hblt_qtask_init(&q, &h, 40, r, NULL), AC_OK);
    const int mm = 16;
    ac_joma_hblt_q_settings s;
    ac_joma_hblt_q_settings_default(&s);
    cr_assert_null(ac_joma_hblt_q_settings_check(&s));
    cr_assert_not_null(ac_joma_hblt_q_settings_check(NULL));
    s.steps = 30;
    s.lr = 0.3;
    ac_joma_hblt_q_trainer *tr = ac_joma_hblt_q_trainer_alloc(4);
    cr_assert_eq(ac_joma_hblt_q_trainer_iterate(tr), AC_EINVAL, "iterate before set");
    cr_assert_eq(ac_joma_hblt_q_trainer_set(tr, &q, &s, NULL, NULL, NULL, NULL), AC_OK);
    double G[48];
    ac_joma_hblt_q_loss(&q, ac_joma_hblt_q_trainer_Z(tr), ac_joma_hblt_q_trainer_V(tr),
                        ac_joma_hblt_q_trainer_Q(tr), s.T, G, G + mm, G + 2 * mm);
    cr_assert_eq(ac_joma_hblt_q_trainer_iterate(tr), AC_OK);
    for (int j = 0; j < mm; j++) {
        cr_assert_eq(ac_joma_hblt_q_trainer_Z(tr)[j], -s.lr * G[j]);
        cr_assert_eq(ac_joma_hblt_q_trainer_V(tr)[j], -s.lr * G[mm + j]);
        cr_assert_eq(ac_joma_hblt_q_trainer_Q(tr)[j], -s.lr * G[2 * mm + j]);
    }
    cr_assert_eq(ac_joma_hblt_q_trainer_run(tr, 1000), AC_TRAIN_STEP_LIMIT);
    const ac_train_info *in = ac_joma_hblt_q_trainer_info(tr);
    cr_assert_eq(in->steps, 30);
    cr_assert(in->loss < in->loss0, "loss %g from %g", in->loss, in->loss0);
    /* a zero start predicts uniformly: ln 4 per sequence, the mean of 40
     * equal terms off by at most 40 roundings of ~1.4 */
    cr_assert_float_eq(in->loss0, log(4.0), 64 * DBL_EPSILON, "loss0 %.17g", in->loss0);
    /* refusals */
    ac_msg msg = {{0}};
    s.lr = -1;
    cr_assert_eq(ac_joma_hblt_q_trainer_set(tr, &q, &s, NULL, NULL, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "lr"), "%s", msg.text);
    s.lr = 0.3;
    s.T = 0;
    cr_assert_not_null(ac_joma_hblt_q_settings_check(&s));
    s.T = 0.5;
    double bad[16] = {0};
    bad[5] = NAN;
    cr_assert_eq(ac_joma_hblt_q_trainer_set(tr, &q, &s, NULL, bad, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "entry 5 of V"), "%s", msg.text);
    ac_joma_hblt_q_trainer *small = ac_joma_hblt_q_trainer_alloc(2);
    cr_assert_eq(ac_joma_hblt_q_trainer_set(small, &q, &s, NULL, NULL, NULL, &msg), AC_ESIZE);
    ac_joma_hblt_q_trainer_free(small);
    cr_assert_null(ac_joma_hblt_q_trainer_alloc(0));
    ac_joma_hblt_q_trainer_free(NULL);
    /* divergence: a huge step from a large start */
    double big[16];
    for (int j = 0; j < 16; j++)
        big[j] = 300.0 * (j % 3 - 1);
    s.lr = 1e300;
    cr_assert_eq(ac_joma_hblt_q_trainer_set(tr, &q, &s, big, big, big, NULL), AC_OK);
    cr_assert_eq(ac_joma_hblt_q_trainer_run(tr, 30), AC_TRAIN_DIVERGED);
    for (int j = 0; j < mm; j++)
        cr_assert(isfinite(ac_joma_hblt_q_trainer_Z(tr)[j]), "the last finite iterate stays");
    ac_joma_hblt_q_trainer_free(tr);
    ac_joma_hblt_qtask_clear(&q);
    gsl_rng_free(r);
}

/* The level time: the first checkpoint at or above the level, +inf when
 * never reached, NaN for a NaN level or a NaN before the crossing. */
Test(joma_hblt, level_time_is_the_first_crossing)
{
    double t[5] = {0, 10, 20, 30, 40}, v[5] = {0.0, 0.3, 0.2, 0.5, 0.4};
    cr_assert_eq(ac_joma_hblt_level_time(t, v, 5, 0.25), 10.0);
    cr_assert_eq(ac_joma_hblt_level_time(t, v, 5, 0.5), 30.0, "reaching the level counts");
    cr_assert(isinf(ac_joma_hblt_level_time(t, v, 5, 0.6)));
    cr_assert(isnan(ac_joma_hblt_level_time(t, v, 5, NAN)));
    v[1] = NAN;
    cr_assert(isnan(ac_joma_hblt_level_time(t, v, 5, 0.5)));
    cr_assert_eq(ac_joma_hblt_level_time(t, v, 5, -1.0), 0.0);
}

/* A NULL tree is refused by name (it was read through). */
Test(joma_hblt, null_tree_is_refused)
{
    ac_msg msg = {{0}};
    cr_assert_eq(ac_joma_hblt_check(NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "NULL"), "%s", msg.text);
}
