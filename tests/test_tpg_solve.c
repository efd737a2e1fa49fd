/* Tests of theory/tpg_solve: the one-call solve is scale-covariant (tpg.h,
 * Scale).  W_svm(sE) = W_svm(E) / s^2, lambda(sE) = lambda(E) / s^4 and
 * W_fin(sE) = W_fin(E) / s^2: exactly (bit for bit) when s is a power of two
 * that moves E out of the band (the normalised problem is then E itself),
 * to the solvers' accuracy for decimal scales; beyond the documented range
 * the solve refuses and names it, never a wrong verdict. */
#include <criterion/criterion.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "tests/testutil.h"
#include "theory/tpg_solve.h"

/* The toy dataset of examples/ and one more example [0 1 2] -> 0: graphs of
 * last tokens 2 (a cycle 0 <-> 1, won twice by 0 and once by 1, so W_fin is
 * not zero) and 3, K = 4. */
static ac_tpg_data *toy_data(void)
{
    int off[6] = {0, 4, 8, 11, 15, 18};
    int tok[18] = {0, 1, 3, 2, 1, 0, 3, 2, 3, 0, 2, 0, 2, 1, 3, 0, 1, 2};
    int label[5] = {0, 1, 0, 1, 0};
    ac_tpg_data *D = ac_tpg_data_alloc(5, 18, 4);
    cr_assert_not_null(D);
    memcpy(D->off, off, sizeof off);
    memcpy(D->tok, tok, sizeof tok);
    memcpy(D->label, label, sizeof label);
    return D;
}

/* K = 4 random rows in d = 6, scaled by a power of two so that the largest
 * entry lies in [0.5, 1): E is then its own normalisation, for any scale. */
static void random_emb(gsl_rng *r, double *E, int K, int d)
{
    double m = 0.0;
    for (int i = 0; i < K * d; i++) {
        E[i] = gsl_ran_gaussian(r, 1.0);
        m = fmax(m, fabs(E[i]));
    }
    int e;
    frexp(m, &e);
    for (int i = 0; i < K * d; i++)
        E[i] = ldexp(E[i], -e);
}

static ac_status solve(const ac_tpg_data *D, const double *E, int d, ac_tpg_solution *s, ac_msg *msg)
{
    ac_tpg_solve_settings set;
    ac_tpg_solve_settings_default(&set);
    return ac_tpg_solve(D, E, d, &set, s, msg);
}

static double max_abs(const double *x, int n)
{
    double m = 0.0;
    for (int i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

/* 1 when v 2^-(c k) is finite and, for v != 0, at least DBL_MIN: computed by
 * ldexp itself, a second derivation of the range the solve documents. */
static int fits(double v, int c, int k)
{
    double w = ldexp(v, -c * k);
    return isfinite(w) && (v == 0.0 || w >= DBL_MIN);
}

#define K 4
#define D_EMB 6

Test(tpg_solve, power_of_two_scales_give_the_scaled_solution_bit_for_bit)
{
    gsl_rng *r = ac_test_rng(101);
    ac_tpg_data *D = toy_data();
    int ks[] = {9, 10, 40, 100, 200, 250, -9, -10, -40, -100, -200, -250};
    for (int cs = 0; cs < ac_test_cases(3); cs++) {
        double E[K * D_EMB], Es[K * D_EMB];
        random_emb(r, E, K, D_EMB);
        ac_tpg_solution ref, s;
        ac_msg msg = {{0}};
        cr_assert_eq(solve(D, E, D_EMB, &ref, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(ref.scale_exp, 0);
        cr_assert_eq(ref.qp.status, AC_QP_SOLVED);
        for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
            int k = ks[t];
            for (int i = 0; i < K * D_EMB; i++)
                Es[i] = ldexp(E[i], k);
            cr_assert_eq(solve(D, Es, D_EMB, &s, &msg), AC_OK, "case %d k %d: %s", cs, k, msg.text);
            cr_assert_eq(s.scale_exp, k, "case %d: scale_exp %d for 2^%d", cs, s.scale_exp, k);
            cr_assert_eq(s.qp.status, AC_QP_SOLVED);
            for (int i = 0; i < D_EMB * D_EMB; i++) {
                cr_assert_eq(s.Wsvm[i], ldexp(ref.Wsvm[i], -2 * k), "case %d k %d W_svm[%d]", cs, k, i);
                cr_assert_eq(s.Wfin[i], ldexp(ref.Wfin[i], -2 * k), "case %d k %d W_fin[%d]", cs, k, i);
            }
            for (int c = 0; c < s.C.m; c++)
                cr_assert_eq(s.lambda[c], ldexp(ref.lambda[c], -4 * k), "case %d k %d lambda[%d]", cs, k, c);
            cr_assert_eq(s.qp.stat_res, ldexp(ref.qp.stat_res, -4 * k));
            cr_assert_eq(s.qp.compl_res, ldexp(ref.qp.compl_res, -4 * k));
            cr_assert_eq(s.qp.lambda_max, ldexp(ref.qp.lambda_max, -4 * k));
            cr_assert_eq(s.qp.obj, ldexp(ref.qp.obj, -4 * k));
            cr_assert_eq(s.qp.prim_res, ref.qp.prim_res);
            cr_assert_eq(s.fin_grad_norm, ldexp(ref.fin_grad_norm, 2 * k));
            cr_assert_eq(s.newton.grad_norm, ldexp(ref.newton.grad_norm, 2 * k));
            cr_assert_eq(s.newton.f, ref.newton.f);
            ac_tpg_solution_clear(&s);
        }
        ac_tpg_solution_clear(&ref);
    }
    ac_tpg_data_free(D);
    gsl_rng_free(r);
}

/* Both sides of the representable range, at the first scales where W_svm,
 * W_fin or lambda leave double: solved with the scaled solution inside, and
 * refused (AC_ENUMERIC, the range named) just outside, never a verdict. */
Test(tpg_solve, scales_beyond_the_representable_range_are_refused_on_both_sides)
{
    /* The multipliers bind first (they scale as 2^-4k): with lambda of order
     * one the boundary lies near k = +-255, and where it falls depends on
     * lambda's exponent mod 4, so several embeddings are tried. */
    gsl_rng *r = ac_test_rng(102);
    ac_tpg_data *D = toy_data();
    for (int cs = 0; cs < ac_test_cases(12); cs++) {
        double E[K * D_EMB], Es[K * D_EMB];
        random_emb(r, E, K, D_EMB);
        ac_tpg_solution ref, s;
        ac_msg msg = {{0}};
        cr_assert_eq(solve(D, E, D_EMB, &ref, &msg), AC_OK, "%s", msg.text);
        double wmax = fmax(max_abs(ref.Wsvm, D_EMB * D_EMB), max_abs(ref.Wfin, D_EMB * D_EMB));
        double lmax = max_abs(ref.lambda, ref.C.m);
        int seen_in = 0, seen_out = 0;
        for (int sign = -1; sign <= 1; sign += 2) {
            int in_prev = 1;
            for (int a = 248; a <= 264; a++) {
                int k = sign * a;
                int in = fits(wmax, 2, k) && fits(lmax, 4, k);
                for (int i = 0; i < K * D_EMB; i++)
                    Es[i] = ldexp(E[i], k);
                ac_status st = solve(D, Es, D_EMB, &s, &msg);
                if (in) {
                    cr_assert_eq(st, AC_OK, "case %d 2^%d: %s", cs, k, msg.text);
                    cr_assert_eq(s.Wsvm[0], ldexp(ref.Wsvm[0], -2 * k));
                    seen_in++;
                } else {
                    cr_assert_eq(st, AC_ENUMERIC, "case %d 2^%d: expected a refusal", cs, k);
                    cr_assert(strstr(msg.text, "would leave double range"), "%s", msg.text);
                    seen_out += in_prev; /* the boundary itself was crossed */
                }
                in_prev = in;
                ac_tpg_solution_clear(&s);
            }
        }
        cr_assert(seen_in > 0 && seen_out == 2, "case %d: %d in, %d boundaries", cs, seen_in, seen_out);
        /* the refusal names the admissible range: exponents lo..hi of the
         * normalisation, i.e. a largest entry in [2^(lo-1), 2^hi) */
        int lo = 0, hi = 0; /* lambda > 0 here: the scans end near +-255 */
        while (hi < 1100 && fits(wmax, 2, hi + 1) && fits(lmax, 4, hi + 1))
            hi++;
        while (lo > -1100 && fits(wmax, 2, lo - 1) && fits(lmax, 4, lo - 1))
            lo--;
        for (int i = 0; i < K * D_EMB; i++)
            Es[i] = ldexp(E[i], hi + 1);
        cr_assert_eq(solve(D, Es, D_EMB, &s, &msg), AC_ENUMERIC);
        char want[96];
        snprintf(want, sizeof want, "results fit for a largest entry in [2^%d, 2^%d)", lo - 1, hi);
        cr_assert(strstr(msg.text, want), "case %d: want '%s' in %s", cs, want, msg.text);
        snprintf(want, sizeof want, "the largest embedding entry is in [2^%d, 2^%d)", hi, hi + 1);
        cr_assert(strstr(msg.text, want), "case %d: want '%s' in %s", cs, want, msg.text);
        ac_tpg_solution_clear(&s);
        ac_tpg_solution_clear(&ref);
    }
    ac_tpg_data_free(D);
    gsl_rng_free(r);
}

/* The decimal scales.  fl(s E) = s E (1 + delta), |delta| <= u, and
 * the normalisation by 2^-p is exact, so the normalised problem is E times
 * c = s 2^-p in [0.5, 1) up to u: a different problem from E for the
 * solvers, agreeing with it to their accuracy.  Tolerances: 1e-9 relative in
 * W_svm and 1e-7 in W_fin, the agreement of W_svm and W_fin with an
 * independent interior-point solve (issue 10); the rounding u ~ 1e-16 of the
 * data is far below them.  Scales beyond about 1e+-77 are refused. */
Test(tpg_solve, decimal_scales_match_the_unscaled_solve_or_are_refused)
{
    ac_tpg_data *D = toy_data();
    double E[K * D_EMB] = {1, 0, 0, 0, 0.5, 0.25, 0, 1, 0, 0, -0.5, 0.125, 0, 0, 1, 0, 0.25, 0,
                           0.5, 0, 0, 1, 0, -0.375};
    double Es[K * D_EMB];
    ac_tpg_solution ref, s;
    ac_msg msg = {{0}};
    cr_assert_eq(solve(D, E, D_EMB, &ref, &msg), AC_OK, "%s", msg.text);
    double wref = max_abs(ref.Wsvm, D_EMB * D_EMB), fref = max_abs(ref.Wfin, D_EMB * D_EMB);
    cr_assert(fref > 0.0, "the toy has a nontrivial W_fin");
    double ok[] = {1e-45, 1e-60, 1e-70, 1e-3, 0.1, 3.0, 1e3, 1e45, 1e60, 1e70};
    for (size_t t = 0; t < sizeof ok / sizeof ok[0]; t++) {
        double sc = ok[t];
        for (int i = 0; i < K * D_EMB; i++)
            Es[i] = sc * E[i];
        cr_assert_eq(solve(D, Es, D_EMB, &s, &msg), AC_OK, "scale %g: %s", sc, msg.text);
        cr_assert_eq(s.qp.status, AC_QP_SOLVED, "scale %g", sc);
        cr_assert(isfinite(s.qp.stat_res) && isfinite(s.qp.compl_res), "scale %g", sc);
        for (int i = 0; i < D_EMB * D_EMB; i++) {
            cr_assert(fabs(s.Wsvm[i] * sc * sc - ref.Wsvm[i]) <= 1e-9 * wref, "scale %g W_svm[%d] %.17g / %.17g",
                      sc, i, s.Wsvm[i] * sc * sc, ref.Wsvm[i]);
            cr_assert(fabs(s.Wfin[i] * sc * sc - ref.Wfin[i]) <= 1e-7 * fref, "scale %g W_fin[%d]", sc, i);
        }
        ac_tpg_solution_clear(&s);
    }
    double bad[] = {1e-300, 1e-90, 1e-78, 1e78, 1e90, 1e308};
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        for (int i = 0; i < K * D_EMB; i++)
            Es[i] = bad[t] * E[i];
        cr_assert_eq(solve(D, Es, D_EMB, &s, &msg), AC_ENUMERIC, "scale %g", bad[t]);
        cr_assert(strstr(msg.text, "results fit for a largest entry in [2^"), "%s", msg.text);
        ac_tpg_solution_clear(&s);
    }
    ac_tpg_solution_clear(&ref);
    ac_tpg_data_free(D);
}

Test(tpg_solve, non_finite_embeddings_are_refused_with_their_entry)
{
    ac_tpg_data *D = toy_data();
    double E[K * D_EMB] = {0};
    for (int i = 0; i < K; i++)
        E[i * D_EMB + i] = 1.0;
    ac_tpg_solution s;
    ac_msg msg = {{0}};
    E[2 * D_EMB + 3] = INFINITY;
    cr_assert_eq(solve(D, E, D_EMB, &s, &msg), AC_EPARSE);
    cr_assert(strstr(msg.text, "embedding entry (2, 3) is inf"), "%s", msg.text);
    ac_tpg_solution_clear(&s);
    E[2 * D_EMB + 3] = NAN;
    cr_assert_eq(solve(D, E, D_EMB, &s, &msg), AC_EPARSE);
    ac_tpg_solution_clear(&s);
    for (int i = 0; i < K; i++)
        E[i * D_EMB + i] = DBL_MAX; /* finite: normalised, then out of range */
    E[2 * D_EMB + 3] = 0.0;
    cr_assert_eq(solve(D, E, D_EMB, &s, &msg), AC_ENUMERIC, "%s", msg.text);
    ac_tpg_solution_clear(&s);
    ac_tpg_data_free(D);
}

/* The band: ac_tpg_scale_exp is 0 for a largest entry in [2^-8, 2^8] and
 * the exponent outside; ac_tpg_svm and ac_tpg_sfin_alloc accept the band's
 * edges and refuse the next double beyond them. */
Test(tpg_solve, band_edges_are_accepted_and_the_next_doubles_refused)
{
    double hi = ldexp(1.0, AC_TPG_SCALE_BAND), lo = ldexp(1.0, -AC_TPG_SCALE_BAND);
    double vals[4] = {hi, nextafter(hi, INFINITY), lo, nextafter(lo, 0.0)};
    int want_p[4] = {0, AC_TPG_SCALE_BAND + 1, 0, -AC_TPG_SCALE_BAND};
    ac_tpg_data *D = toy_data();
    ac_tpg *G = NULL;
    ac_tpg_cons C;
    cr_assert_eq(ac_tpg_build(D, &G, NULL), AC_OK);
    cr_assert_eq(ac_tpg_constraints(G, &C, NULL), AC_OK);
    for (int t = 0; t < 4; t++) {
        double E[K * D_EMB] = {0}, W[D_EMB * D_EMB];
        for (int i = 0; i < K; i++)
            E[i * D_EMB + i] = vals[t]; /* independent rows, largest entry vals[t] */
        int p = 99;
        ac_msg msg = {{0}};
        cr_assert_eq(ac_tpg_scale_exp(E, K, D_EMB, &p, &msg), AC_OK);
        cr_assert_eq(p, want_p[t], "value %a: p %d", vals[t], p);
        ac_qp_info info;
        ac_tpg_sfin *S = NULL;
        ac_status want = p == 0 ? AC_OK : AC_ESIZE;
        cr_assert_eq(ac_tpg_svm(G, &C, E, D_EMB, NULL, W, NULL, NULL, &info, &msg), want, "%a: %s", vals[t],
                     msg.text);
        cr_assert_eq(ac_tpg_sfin_alloc(G, E, D_EMB, &S, &msg), want, "%a: %s", vals[t], msg.text);
        if (want != AC_OK)
            cr_assert(strstr(msg.text, "outside [2^-8, 2^8] (AC_TPG_SCALE_BAND)"), "%s", msg.text);
        ac_tpg_sfin_free(S);
    }
    double Z[K * D_EMB] = {0};
    int p = 99;
    cr_assert_eq(ac_tpg_scale_exp(Z, K, D_EMB, &p, NULL), AC_OK);
    cr_assert_eq(p, 0, "a zero matrix is left as it is (the rank check refuses it)");
    ac_tpg_cons_clear(&C);
    ac_tpg_free(G);
    ac_tpg_data_free(D);
}

/* An infeasible verdict is scale-free.  Data [0 1 2] -> 0 and [0 1 3] -> 0
 * with e_3 = -e_2 (dependent, allowed) ask (e_0 - e_1)^T W e_2 >= 1 and
 * (e_0 - e_1)^T W e_3 = -(e_0 - e_1)^T W e_2 >= 1: infeasible, found by the
 * QP with a nonzero last iterate.  Up to the last exponent where they fit
 * the last iterate and multipliers come back scaled exactly; beyond it the
 * verdict and certificate stand and W_svm, lambda are zero. */
Test(tpg_solve, infeasible_verdicts_hold_at_any_scale)
{
    int off[3] = {0, 3, 6}, tok[6] = {0, 1, 2, 0, 1, 3}, label[2] = {0, 0};
    ac_tpg_data *D = ac_tpg_data_alloc(2, 6, K);
    cr_assert_not_null(D);
    memcpy(D->off, off, sizeof off), memcpy(D->tok, tok, sizeof tok), memcpy(D->label, label, sizeof label);
    double E[K * D_EMB] = {0}, Es[K * D_EMB];
    for (int i = 0; i < 3; i++)
        E[i * D_EMB + i] = 0.75;
    E[3 * D_EMB + 2] = -0.75;
    ac_tpg_solve_settings set;
    ac_tpg_solve_settings_default(&set);
    set.svm.allow_dependent = 1;
    ac_tpg_solution ref, s;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_tpg_solve(D, E, D_EMB, &set, &ref, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ref.qp.status, AC_QP_INFEASIBLE);
    /* hi: the largest exponent at which W and lambda still fit; hi + 1 is
     * the first where they are zeroed */
    double wmax = max_abs(ref.Wsvm, D_EMB * D_EMB), lmax = max_abs(ref.lambda, ref.C.m);
    cr_assert(wmax > 0.0 && lmax > 0.0, "the QP's last iterate is not zero");
    int hi = 0;
    while (hi < 1100 && fits(wmax, 2, hi + 1) && fits(lmax, 4, hi + 1))
        hi++;
    int ks[4] = {20, hi, hi + 1, 400};
    for (int t = 0; t < 4; t++) {
        int k = ks[t], keep = k <= hi;
        for (int i = 0; i < K * D_EMB; i++)
            Es[i] = ldexp(E[i], k);
        cr_assert_eq(ac_tpg_solve(D, Es, D_EMB, &set, &s, &msg), AC_OK, "2^%d: %s", k, msg.text);
        cr_assert_eq(s.qp.status, AC_QP_INFEASIBLE, "2^%d", k);
        for (int c = 0; c < s.C.m; c++) {
            cr_assert_eq(s.cert[c], ref.cert[c], "2^%d: the certificate is scale-free", k);
            cr_assert_eq(s.lambda[c], keep ? ldexp(ref.lambda[c], -4 * k) : 0.0, "2^%d lambda[%d]", k, c);
        }
        for (int i = 0; i < D_EMB * D_EMB; i++)
            cr_assert_eq(s.Wsvm[i], keep ? ldexp(ref.Wsvm[i], -2 * k) : 0.0, "2^%d W[%d]", k, i);
        ac_tpg_solution_clear(&s);
    }
    ac_tpg_solution_clear(&ref);
    ac_tpg_solution s0;
    cr_assert_eq(ac_tpg_solve(D, E, 0, &set, &s0, &msg), AC_OK, "d = 0 is a size, refused only by rank: %s",
                 msg.text);
    ac_tpg_solution_clear(&s0);
    set.svm.allow_dependent = 0;
    cr_assert_eq(ac_tpg_solve(D, E, 0, &set, &s0, &msg), AC_ERANK, "%s", msg.text);
    ac_tpg_solution_clear(&s0);
    cr_assert_eq(ac_tpg_solve(D, E, -1, &set, &s0, &msg), AC_ESIZE);
    cr_assert(strstr(msg.text, "embedding dimension d = -1; need d >= 0"), "%s", msg.text);
    ac_tpg_solution_clear(&s0);
    ac_tpg_data_free(D);
}

/* The careless calls: set NULL means the defaults (same W_svm bit for bit;
 * it was read through), a NULL dataset or embedding table is refused by
 * name (AC_EINVAL), and ac_tpg_data_check / ac_tpg_build refuse a NULL
 * dataset instead of reading it. */
Test(tpg_solve, null_settings_are_the_defaults_and_null_inputs_are_refused)
{
    gsl_rng *r = ac_test_rng(5);
    ac_tpg_data *D = toy_data();
    double E[K * D_EMB];
    random_emb(r, E, K, D_EMB);
    ac_tpg_solution a, b;
    ac_msg msg = {{0}};
    cr_assert_eq(solve(D, E, D_EMB, &a, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_tpg_solve(D, E, D_EMB, NULL, &b, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(a.qp.status, b.qp.status);
    cr_assert_eq(memcmp(a.Wsvm, b.Wsvm, sizeof(double) * D_EMB * D_EMB), 0);
    ac_tpg_solution_clear(&a);
    ac_tpg_solution_clear(&b);
    cr_assert_eq(ac_tpg_solve(D, NULL, D_EMB, NULL, &a, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "embeddings are NULL"), "%s", msg.text);
    ac_tpg_solution_clear(&a);
    cr_assert_eq(ac_tpg_solve(NULL, E, D_EMB, NULL, &a, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "dataset is NULL"), "%s", msg.text);
    ac_tpg_solution_clear(&a);
    cr_assert_eq(ac_tpg_data_check(NULL, 1, &msg), AC_EINVAL);
    ac_tpg *G = (ac_tpg *)&G;
    cr_assert_eq(ac_tpg_build(NULL, &G, &msg), AC_EINVAL);
    cr_assert_null(G);
    ac_tpg_data_free(D);
    gsl_rng_free(r);
}
