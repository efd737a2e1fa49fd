/* The attention-paths claims through the trial harness
 * (verify/paths_claims.h, verify/trial.h): each passes at quick size, a
 * split run gives the same table, and every judged row fails under a
 * planted violation of known size. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "claim_compare.h"
#include "testutil.h"
#include "theory/paths.h"
#include "theory/paths_mpfr.h"
#include "verify/paths_claims.h"
#include "verify/paths_gibbs.h"
#include "verify/paths_task.h"
#include "verify/trial.h"

/* ---- quick runs, shared by the tests of one process ---- */

/* The records of a run of claim id at size (seed 1), computed once. */
static ac_trial_set *size_set(const char *id, ac_size size)
{
    static struct {
        char id[64];
        ac_size size;
        ac_trial_set set;
    } cache[2 * AC_PATHS_NCLAIMS];
    static int ncache;
    for (int i = 0; i < ncache; i++)
        if (strcmp(cache[i].id, id) == 0 && cache[i].size == size)
            return &cache[i].set;
    cr_assert_lt(ncache, 2 * AC_PATHS_NCLAIMS);
    gsl_set_error_handler_off();
    ac_run_opts o = {.size = size, .seed = 1};
    const ac_claim_def *c = ac_registry_find_claim(id);
    cr_assert_not_null(c, "%s is not registered", id);
    ac_msg msg = {{0}};
    ac_trial_set *set = &cache[ncache].set;
    ac_trial_set_init(set, id, &o, c->trials->ntrials(&o));
    cr_assert_eq(ac_trial_run(c->trials, &o, 0, set->ntrials, set, &msg), AC_OK, "%s: %s", id, msg.text);
    snprintf(cache[ncache].id, sizeof cache[ncache].id, "%s", id);
    cache[ncache].size = size;
    ncache++;
    return set;
}

/* The records of a quick run of claim id (seed 1), computed once. */
static ac_trial_set *quick_set(const char *id)
{
    return size_set(id, AC_SIZE_QUICK);
}

/* The rows of a set under the claim's own rows function, judged at the
 * set's size. */
static void rows_of(const char *id, const ac_trial_set *set, ac_claim_result *res)
{
    ac_run_opts o = {.size = set->size, .seed = set->seed};
    const ac_claim_def *c = ac_registry_find_claim(id);
    ac_msg msg = {{0}};
    ac_claim_result_init(res, c);
    cr_assert_eq(ac_trial_rows(c->trials, &o, set, res, &msg), AC_OK, "%s: %s", id, msg.text);
    ac_claim_judge(res);
}

/* A deep copy of a set (the records are plain vectors). */
static void copy_set(const ac_trial_set *src, ac_trial_set *dst)
{
    ac_run_opts o = {.size = src->size, .seed = src->seed};
    ac_trial_set_init(dst, src->id, &o, src->ntrials);
    json_t *j = ac_trial_set_to_json(src);
    ac_msg msg = {{0}};
    ac_trial_set_clear(dst);
    cr_assert_eq(ac_trial_set_from_json(j, dst, &msg), AC_OK, "%s", msg.text);
    json_decref(j);
}

/* No paths claim fails at quick size; and its trials run apart, each
 * part through JSON, then merged, give the same table bit for bit as the
 * whole run's rows. */
Test(paths_claims, every_claim_passes_and_split_trials_reproduce_its_table)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
    /* the claims of verify/paths_claims.c (paths.head-pruning and
     * paths.digits have their own split test in test_paths_net_claims.c) */
    for (int i = 0; i < AC_PATHS_MARKOV_NCLAIMS; i++) {
        const ac_claim_def *c = &ac_paths_claims[i];
        int n = c->trials->ntrials(&o), k = n > 1 ? n / 2 : n;
        ac_claim_result full, split;
        rows_of(c->id, quick_set(c->id), &full);
        for (int r = 0; r < full.nrows; r++)
            cr_expect_neq(full.rows[r].verdict, AC_VERDICT_FAIL, "%s: row '%s' fails: theory %g, ours %g, tol %g",
                          c->id, full.rows[r].quantity, full.rows[r].theory, full.rows[r].empirical,
                          full.rows[r].tol);
        /* INFO when nothing is judged at quick size (theory-vs-samples: the
         * chains of 20 sweeps are not mixed) */
        cr_assert_neq(full.verdict, AC_VERDICT_FAIL, "%s fails at quick size", c->id);
        ac_test_split_rows(c, &o, k, &split);
        ac_test_same_result(&full, &split, c->id);
        ac_claim_result_clear(&full);
        ac_claim_result_clear(&split);
    }
}

/* Every paths claim's result carries the paths allowance for regress
 * (verify/paths_claims.h), from its registry row: their saddle points are
 * fixed to the solve's stopping test, not to the ulp (seen to fail with
 * the row of paths.digits left without it). */
Test(paths_claims, every_claim_carries_the_paths_regress_allowance)
{
    for (int i = 0; i < AC_PATHS_NCLAIMS; i++) {
        ac_claim_result res;
        ac_claim_result_init(&res, &ac_paths_claims[i]);
        cr_expect_eq(res.regress_rtol, AC_PATHS_REGRESS_RTOL, "%s", ac_paths_claims[i].id);
        cr_expect_str_eq(res.regress_reason, AC_PATHS_REGRESS_REASON, "%s", ac_paths_claims[i].id);
        ac_claim_result_clear(&res);
    }
}

/* ---- planted violations ----
 *
 * Each judged row is seen to fail when a value of known size is planted in
 * a copy of the claim's quick records (the rows read nothing else), after
 * the same row passed with a value inside its tolerance. */

/* The row whose quantity is exactly `row`, judged from set. */
static ac_claim_row row_of(const char *id, const ac_trial_set *set, const char *row)
{
    ac_claim_result res;
    rows_of(id, set, &res);
    ac_claim_row r;
    memset(&r, 0, sizeof r);
    int found = 0;
    for (int i = 0; i < res.nrows; i++)
        if (strcmp(res.rows[i].quantity, row) == 0)
            r = res.rows[i], found++;
    cr_assert_eq(found, 1, "%s: %d rows '%s'", id, found, row);
    ac_claim_result_clear(&res);
    return r;
}

static ac_verdict verdict_of(const char *id, const ac_trial_set *set, const char *row)
{
    return row_of(id, set, row).verdict;
}

/* A fresh writable copy of claim id's quick records. */
static void fresh(const char *id, ac_trial_set *set)
{
    copy_set(quick_set(id), set);
}

/* A fresh writable copy of claim id's default-size records. */
static void fresh_default(const char *id, ac_trial_set *set)
{
    copy_set(size_set(id, AC_SIZE_DEFAULT), set);
}

Test(paths_measure, paired_se_is_the_standard_error_of_the_mean_paired_difference)
{
    /* d_m = +1 on b points, -1 on c points, 0 elsewhere: SE^2 = population
     * variance of d over n, summed directly. */
    const double cases[][3] = {{69, 16, 1000}, {8, 0, 1000}, {3, 7, 25}, {0, 0, 10}, {1, 0, 1}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double b = cases[c][0], cc = cases[c][1], n = cases[c][2], mean = (b - cc) / n, v = 0.0;
        for (int m = 0; m < (int)n; m++) {
            double d = m < b ? 1.0 : m < b + cc ? -1.0 : 0.0;
            v += (d - mean) * (d - mean);
        }
        double se = sqrt(v / n / n);
        cr_assert(fabs(ac_paths_paired_se(b, cc, n) - se) <= 1e-15 * (1.0 + se), "b %g c %g n %g: %.17g vs %.17g", b,
                  cc, n, ac_paths_paired_se(b, cc, n), se);
    }
    cr_assert_eq(ac_paths_paired_se(1, 1, 0), 0.0);
}

/* K = sum_k lambda_k u_k u_k^T with orthonormal u_k (QR of a random matrix)
 * and Y = sum_k c_k u_k: the overlaps are |c_k|/sqrt(P) in decreasing
 * lambda order and the alignment is sum lambda_k c_k^2 / (P |lambda|_2). */
Test(paths_measure, kernel_alignment_recovers_planted_eigenvectors)
{
    gsl_rng *r = ac_test_rng(311);
    enum { P = 9 };
    gsl_matrix *A = gsl_matrix_alloc(P, P);
    gsl_vector *tau = gsl_vector_alloc(P);
    gsl_matrix *Q = gsl_matrix_alloc(P, P), *R = gsl_matrix_alloc(P, P);
    for (int i = 0; i < P; i++)
        for (int j = 0; j < P; j++)
            gsl_matrix_set(A, i, j, gsl_ran_gaussian(r, 1.0));
    gsl_linalg_QR_decomp(A, tau);
    gsl_linalg_QR_unpack(A, tau, Q, R);
    double lam[P], c[P], K[P * P] = {0}, Y[P] = {0}, l2 = 0.0, num = 0.0;
    for (int k = 0; k < P; k++) {
        lam[k] = 5.7312 / (1.0 + k); /* distinct, decreasing */
        c[k] = (k % 2 ? -1.0 : 1.0) * (0.3 + 0.41 * k);
        l2 += lam[k] * lam[k];
        num += lam[k] * c[k] * c[k];
    }
    for (int i = 0; i < P; i++)
        for (int k = 0; k < P; k++) {
            Y[i] += c[k] * gsl_matrix_get(Q, i, k);
            for (int j = 0; j < P; j++)
                K[i * P + j] += lam[k] * gsl_matrix_get(Q, i, k) * gsl_matrix_get(Q, j, k);
        }
    double ov[P], kta;
    cr_assert_eq(ac_paths_kernel_alignment(P, K, Y, P, ov, &kta), AC_OK);
    /* eigenvectors to eps |K|/gap (gaps >= 0.1 here): 1e-12 */
    for (int k = 0; k < P; k++)
        cr_assert(fabs(ov[k] - fabs(c[k]) / sqrt((double)P)) < 1e-12, "PC %d: %.17g vs %.17g", k, ov[k],
                  fabs(c[k]) / sqrt((double)P));
    cr_assert(fabs(kta - num / (P * sqrt(l2))) < 1e-12, "alignment %.17g vs %.17g", kta, num / (P * sqrt(l2)));
    gsl_matrix_free(A), gsl_matrix_free(Q), gsl_matrix_free(R);
    gsl_vector_free(tau);
    gsl_rng_free(r);
}

/* ac_paths_gibbs_u1_sd against U_1 recomputed from every kept state (one
 * layer, one head: W = V_1^T a / sqrt(N_a), U_1 = W . W / n_0), and zero
 * when only V_0 moves (U_1 excludes V_0, spec §6). */
Test(paths_measure, gibbs_u1_sd_is_the_spread_of_the_recorded_overlaps)
{
    gsl_rng *r = ac_test_rng(312);
    enum { P = 5, NF = 3, NW = 4, KEEP = 12, CH = 2 };
    ac_paths_gibbs_settings s;
    ac_paths_gibbs_settings_default(&s);
    s.net.n[0] = s.net.n[1] = NW;
    s.net.T = 0.3;
    s.chains = CH, s.burn = 0, s.keep = KEEP;
    double Phi[P * NF], Y[P];
    for (int i = 0; i < P * NF; i++)
        Phi[i] = 0.7 * gsl_ran_gaussian(r, 1.0);
    for (int i = 0; i < P; i++)
        Y[i] = i % 2 ? 1.0 : -1.0;
    for (int pass = 0; pass < 2; pass++) {
        s.blocks = pass ? AC_PATHS_GIBBS_BLOCK_V0 : AC_PATHS_GIBBS_ALL_BLOCKS;
        ac_paths_gibbs *g = ac_paths_gibbs_alloc(&s, P, 0, NF);
        cr_assert_not_null(g);
        cr_assert_eq(ac_paths_gibbs_set(g, Phi, Y, NULL, r, NULL), AC_OK);
        double u[CH * KEEP], su = 0.0;
        for (int t = 0; t < KEEP; t++) {
            cr_assert_eq(ac_paths_gibbs_iterate(g, r, NULL), AC_OK);
            for (int c = 0; c < CH; c++) {
                const double *th = ac_paths_gibbs_state(g, c), *a = th, *V1 = th + NW + NW * NF;
                double ww = 0.0;
                for (int k = 0; k < NW; k++) {
                    double wk = 0.0;
                    for (int j = 0; j < NW; j++)
                        wk += a[j] * V1[j * NW + k];
                    ww += wk * wk / NW;
                }
                u[c * KEEP + t] = ww / NW;
                su += u[c * KEEP + t];
            }
        }
        su /= CH * KEEP;
        double v = 0.0;
        for (int j = 0; j < CH * KEEP; j++)
            v += (u[j] - su) * (u[j] - su);
        double sd = sqrt(v / (CH * KEEP - 1)), um, usd;
        cr_assert_eq(ac_paths_gibbs_u1(g, &um, NULL, NULL), AC_OK);
        cr_assert_eq(ac_paths_gibbs_u1_sd(g, &usd), AC_OK);
        /* sums of 24 values of size ~1: 1e-13 relative */
        cr_assert(fabs(um - su) < 1e-13 * fmax(1.0, su), "mean %.17g vs %.17g", um, su);
        cr_assert(fabs(usd - sd) < 1e-12 * fmax(1.0, sd), "pass %d: sd %.17g vs %.17g", pass, usd, sd);
        /* V_0 alone: each chain keeps its start's U_1 (the spread is the
         * chains' starts only) */
        for (int c = 0; pass && c < CH; c++)
            for (int t = 1; t < KEEP; t++)
                cr_assert_eq(u[c * KEEP + t], u[c * KEEP], "chain %d: U_1 moved with V_0 alone", c);
        cr_assert_gt(usd, 0.0);
        ac_paths_gibbs_free(g);
    }
    gsl_rng_free(r);
}

/* accuracy-vs-width: the table rows, the ordering and the convergence row. */
Test(paths_measure, accuracy_rows_fail_planted_violations)
{
    const char *id = "paths.accuracy-vs-width";
    ac_trial_set set;
    fresh(id, &set);
    const char *row10 = "accuracy, 4 paths, N = 10", *rowgp = "accuracy, 4 paths, GP limit";
    const char *ord = "ordering, 4 paths: FW(1000) - GP";
    /* at quick size (100 test points) the table and the ordering are shown only */
    cr_assert_eq(row_of(id, &set, row10).metric, AC_METRIC_INFO);
    cr_assert_eq(row_of(id, &set, ord).metric, AC_METRIC_INFO);
    /* the whole test set: the table's values pass, one test point more fails */
    *ac_test_entry(&set, 0, "ntest", 0) = 1000;
    *ac_test_entry(&set, 0, "acc", 0) = 0.964, *ac_test_entry(&set, 0, "acc_gp", 0) = 0.826;
    *ac_test_entry(&set, 0, "disc", 4) = 8, *ac_test_entry(&set, 0, "disc", 5) = 0; /* the spec run's discordance */
    cr_assert_eq(verdict_of(id, &set, row10), AC_VERDICT_PASS);
    cr_assert_eq(verdict_of(id, &set, rowgp), AC_VERDICT_PASS);
    cr_assert_eq(verdict_of(id, &set, ord), AC_VERDICT_PASS);
    *ac_test_entry(&set, 0, "acc", 0) = 0.965;
    cr_assert_eq(verdict_of(id, &set, row10), AC_VERDICT_FAIL);
    *ac_test_entry(&set, 0, "acc_gp", 0) = 0.825;
    cr_assert_eq(verdict_of(id, &set, rowgp), AC_VERDICT_FAIL);
    /* the ordering reversed, then right but not resolved: 10 against 5
     * discordant points is 0.005 < 2 SE = 0.0077 */
    *ac_test_entry(&set, 0, "disc", 4) = 0, *ac_test_entry(&set, 0, "disc", 5) = 8;
    cr_assert_eq(verdict_of(id, &set, ord), AC_VERDICT_FAIL);
    *ac_test_entry(&set, 0, "disc", 4) = 10, *ac_test_entry(&set, 0, "disc", 5) = 5;
    cr_assert_eq(verdict_of(id, &set, ord), AC_VERDICT_FAIL);
    *ac_test_entry(&set, 0, "disc", 4) = 13, *ac_test_entry(&set, 0, "disc", 5) = 2; /* 0.011 > 2 SE = 0.0077 */
    cr_assert_eq(verdict_of(id, &set, ord), AC_VERDICT_PASS);
    const char *cv = "widths whose saddle-point solve did not converge";
    cr_assert_eq(verdict_of(id, &set, cv), AC_VERDICT_PASS);
    *ac_test_entry(&set, 1, "conv", 2) = 0;
    cr_assert_eq(verdict_of(id, &set, cv), AC_VERDICT_FAIL);
    ac_trial_set_clear(&set);
}

/* Half a test point of the spec's 1000: the table's accuracies are counts
 * k/1000 printed to 3 decimals, held to the same count (spec 4.1), derived
 * here from the test set's size, not read off the rows. */
#define TABLE_HALF_POINT (0.5 / AC_PATHS_MARKOV_P_TEST)

/* Whether s ends with end. */
static int ends_with(const char *s, const char *end)
{
    size_t n = strlen(s), m = strlen(end);
    return n >= m && strcmp(s + n - m, end) == 0;
}

/* The next row of res from *k on whose quantity starts with prefix (*k
 * moves past it); a test failure when there is none. */
static ac_claim_row next_row(const ac_claim_result *res, int *k, const char *prefix)
{
    while (*k < res->nrows && strncmp(res->rows[*k].quantity, prefix, strlen(prefix)) != 0)
        (*k)++;
    cr_assert_lt(*k, res->nrows, "%s: no further row '%s...'", res->id, prefix);
    return res->rows[(*k)++];
}

/* The default-size records of id (cached) and their judged rows. */
static void default_rows(const char *id, ac_trial_set *set, ac_claim_result *res)
{
    fresh_default(id, set);
    rows_of(id, set, res);
}
/* accuracy-vs-width at the default size, where every record holds the whole
 * test set and every table row is judged (4 paths and Fig. 2e at the seven
 * widths and GP, the good path at N = 1000 and GP, good + denoising at GP):
 * each passes on the records (its accuracy is the table's, a whole count of
 * the 1000 points), passes moved by 0.5 x TABLE_HALF_POINT either way, and
 * fails moved to the table's value plus or minus 1.5 x TABLE_HALF_POINT
 * (0.00075; the table's value is the row's theory column). */
Test(paths_measure, every_accuracy_table_row_fails_a_planted_shift)
{
    /* 16 solves of P = 100 on 1000 test points: too slow under valgrind
     * (tests/test_paths_task.c skips the same table there) */
    if (getenv("AC_UNDER_VALGRIND"))
        cr_skip_test("the default-size section 4.1 table is too slow under valgrind");
    const char *id = "paths.accuracy-vs-width";
    ac_trial_set set;
    ac_claim_result res;
    default_rows(id, &set, &res);
    int k = 0, nrows = 0;
    for (int i = 0; i < set.nrec; i++) {
        cr_assert_eq(*ac_test_entry(&set, i, "ntest", 0), AC_PATHS_MARKOV_P_TEST, "record %d: not the whole test set", i);
        const ac_trial_vec *vN = ac_trial_get(&set.rec[i], "N");
        int nw = vN ? vN->n : 0;
        for (int j = 0; j <= nw; j++) {
            ac_claim_row r = next_row(&res, &k, "accuracy, ");
            char end[64];
            snprintf(end, sizeof end, j < nw ? "N = %g" : "GP limit", j < nw ? vN->v[j] : 0.0);
            cr_assert(ends_with(r.quantity, end), "record %d, entry %d: row '%s'", i, j, r.quantity);
            cr_assert_eq(r.metric, AC_METRIC_ABS, "%s is not judged", r.quantity);
            cr_assert_eq(r.verdict, AC_VERDICT_PASS, "%s: %g against %g", r.quantity, r.empirical, r.theory);
            double *a = j < nw ? ac_test_entry(&set, i, "acc", j) : ac_test_entry(&set, i, "acc_gp", 0), keep = *a;
            for (int sgn = -1; sgn <= 1; sgn += 2) {
                *a = r.theory + sgn * 0.5 * TABLE_HALF_POINT;
                cr_assert_eq(verdict_of(id, &set, r.quantity), AC_VERDICT_PASS, "%s: half the tolerance", r.quantity);
                *a = r.theory + sgn * 1.5 * TABLE_HALF_POINT;
                cr_assert_eq(verdict_of(id, &set, r.quantity), AC_VERDICT_FAIL, "%s: planted %+g x %g", r.quantity,
                             sgn * 1.5, TABLE_HALF_POINT);
            }
            *a = keep;
            nrows++;
        }
    }
    /* every table row was planted: the records' widths plus a GP each */
    int left = 0;
    for (; k < res.nrows; k++)
        left += strncmp(res.rows[k].quantity, "accuracy, ", 10) == 0;
    cr_assert_eq(left, 0, "%d table rows not planted", left);
    /* the two tables at every width of the default setup (N = 30, 50, 300
     * and 500 are there only) */
    ac_paths_claim_setup su;
    ac_paths_claim_setup_of(AC_SIZE_DEFAULT, &su);
    cr_assert_eq(set.nrec, 4);
    for (int i = 0; i < 2; i++)
        cr_assert_eq(ac_trial_get(&set.rec[i], "N")->n, su.nwidth, "record %d", i);
    cr_assert_gt(nrows, 2 * su.nwidth);
    ac_claim_result_clear(&res);
    ac_trial_set_clear(&set);
}

/* The ordering rows of accuracy-vs-width at the default size (the 4-path
 * chain and Fig. 2e's, three steps each): each passes on the records, its
 * step right on more test points than wrong (b > c); with the discordant
 * counts swapped the step is reversed, (c - b)/n < 0, below a bar of 2
 * paired SE >= 0 (a violation of twice the measured margin): FAIL. */
Test(paths_measure, every_ordering_row_fails_when_its_step_is_reversed)
{
    if (getenv("AC_UNDER_VALGRIND"))
        cr_skip_test("the default-size section 4.1 table is too slow under valgrind");
    const char *id = "paths.accuracy-vs-width";
    const char *lab[4] = {"FW(10)", "FW(100)", "FW(1000)", "GP"};
    ac_trial_set set;
    ac_claim_result res;
    default_rows(id, &set, &res);
    int k = 0, nord = 0;
    for (int i = 0; i < set.nrec; i++) {
        if (!ac_trial_get(&set.rec[i], "disc"))
            continue;
        for (int p = 0; p < 3; p++) {
            ac_claim_row r = next_row(&res, &k, "ordering, ");
            char end[64];
            snprintf(end, sizeof end, ": %s - %s", lab[p], lab[p + 1]);
            cr_assert(ends_with(r.quantity, end), "record %d, step %d: row '%s'", i, p, r.quantity);
            cr_assert_eq(r.metric, AC_METRIC_AT_LEAST, "%s is not judged", r.quantity);
            cr_assert_eq(r.verdict, AC_VERDICT_PASS, "%s: %g against %g", r.quantity, r.empirical, r.theory);
            double *b = ac_test_entry(&set, i, "disc", 2 * p), *c = ac_test_entry(&set, i, "disc", 2 * p + 1);
            double b0 = *b, c0 = *c;
            cr_assert_gt(b0, c0, "%s: the step is not right on more points", r.quantity);
            *b = c0, *c = b0;
            cr_assert_eq(verdict_of(id, &set, r.quantity), AC_VERDICT_FAIL, "%s reversed (%g against %g points)",
                         r.quantity, c0, b0);
            *b = b0, *c = c0;
            nord++;
        }
    }
    cr_assert_eq(nord, 6, "%d ordering rows", nord);
    ac_claim_result_clear(&res);
    ac_trial_set_clear(&set);
}

/* kernel-combination at the default size (widths 10, 100, 1000): each
 * width's alignment row passes on the records; the finite-width alignment
 * planted equal to the GP kernel's (a difference of 0, below the bar of
 * TOL_EIG > 0) fails it, and leaves the other widths' rows passing. */
Test(paths_measure, every_kernel_alignment_row_fails_at_the_gp_alignment)
{
    const char *id = "paths.kernel-combination";
    ac_trial_set set;
    fresh_default(id, &set);
    const ac_trial_vec *vN = ac_trial_get(&set.rec[0], "N");
    cr_assert_not_null(vN);
    cr_assert_eq(vN->n, 3, "default size: %d widths", vN->n);
    char row[3][AC_CLAIM_TEXT], name[32];
    for (int j = 0; j < vN->n; j++) {
        snprintf(row[j], sizeof row[j], "kernel-target alignment Y'KY/(P |K|_F), N = %g, minus GP", vN->v[j]);
        cr_assert_eq(verdict_of(id, &set, row[j]), AC_VERDICT_PASS, "%s", row[j]);
    }
    double gp = *ac_test_entry(&set, 0, "gp.kta", 0);
    for (int j = 0; j < vN->n; j++) {
        snprintf(name, sizeof name, "w%d.kta", j);
        double *kta = ac_test_entry(&set, 0, name, 0), keep = *kta;
        cr_assert_gt(keep, gp, "%s", row[j]);
        *kta = gp;
        for (int l = 0; l < vN->n; l++)
            cr_assert_eq(verdict_of(id, &set, row[l]), l == j ? AC_VERDICT_FAIL : AC_VERDICT_PASS,
                         "%s with N = %g planted at the GP alignment", row[l], vN->v[j]);
        *kta = keep;
    }
    ac_trial_set_clear(&set);
}

Test(paths_measure, kernel_rows_fail_planted_violations)
{
    const char *id = "paths.kernel-combination";
    ac_trial_set set;
    fresh(id, &set);
    const char *kta = "kernel-target alignment Y'KY/(P |K|_F), N = 10, minus GP";
    const char *top3 = "share of |Y|^2 in the top 3 PCs, N = 10 minus GP";
    const char *top30 = "share of |Y|^2 in the top 30 PCs, N = 10 minus GP";
    cr_assert_eq(verdict_of(id, &set, kta), AC_VERDICT_PASS);
    cr_assert_eq(verdict_of(id, &set, top3), AC_VERDICT_PASS);
    cr_assert_eq(verdict_of(id, &set, top30), AC_VERDICT_PASS);
    /* the finite-width kernel as aligned as the GP kernel (within rounding) */
    *ac_test_entry(&set, 0, "w0.kta", 0) = *ac_test_entry(&set, 0, "gp.kta", 0);
    cr_assert_eq(verdict_of(id, &set, kta), AC_VERDICT_FAIL);
    for (int k = 0; k < 30; k++)
        *ac_test_entry(&set, 0, "w0.ov", k) = *ac_test_entry(&set, 0, "gp.ov", k) * (1 - 1e-3);
    cr_assert_eq(verdict_of(id, &set, top3), AC_VERDICT_FAIL);
    cr_assert_eq(verdict_of(id, &set, top30), AC_VERDICT_FAIL);
    ac_trial_set_clear(&set);
}

/* gp-limit.  The rate: N (U_1 - U_GP) entries at the widths of trial 0
 * ("N", width-major in "ndu1") must agree within the rows' allowance;
 * planted: U_1 - U_GP falling like 1/sqrt(N) (N (U_1 - U_GP) growing by
 * sqrt(10) a decade: the first pair changes by 2.2 times the coefficient,
 * 325, against an allowance of 113), and U_1 - U_GP not falling at all.
 * The predictor at N = 1e6: the first-order change dropped, doubled, or
 * off by 1 % (the largest first order is 350 times its bound on the mean)
 * breaks the bound at some point. */
Test(paths_measure, gp_limit_rows_fail_planted_violations)
{
    const char *id = "paths.gp-limit";
    const char *cv = "widths whose solve did not converge";
    const char *rate[2] = {"max_e |N (U_1 - U_GP)|_e change, N = 100000 to 1e+06",
                           "max_e |N (U_1 - U_GP)|_e change, N = 1e+06 to 1e+07"};
    const char *mrow = "worst |mean - (GP mean + first order in dU_1)| / its bound, N = 1e+06";
    const char *vrow = "worst |variance - (GP variance + first order in dU_1)| / its bound, N = 1e+06";
    ac_trial_set set;
    fresh(id, &set);
    const char *judged[] = {cv, rate[0], rate[1], mrow, vrow};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(verdict_of(id, &set, judged[i]), AC_VERDICT_PASS, "%s", judged[i]);
    /* the check resolves the first order: some point's first order is above
     * twice its bound, so that dropping or doubling it must break the bound */
    cr_assert_gt(row_of(id, &set, "largest |first-order change of the mean| / its bound").empirical, 2.0);
    cr_assert_gt(row_of(id, &set, "largest |first-order change of the variance| / its bound").empirical, 2.0);
    *ac_test_entry(&set, 0, "conv", 1) = 0;
    cr_assert_eq(verdict_of(id, &set, cv), AC_VERDICT_FAIL);
    ac_trial_set_clear(&set);

    /* the rate: a slower fall, then none */
    int ne = 0;
    fresh(id, &set);
    for (int v = 0; v < set.rec[0].nvec; v++)
        if (strcmp(set.rec[0].vec[v].name, "ndu1") == 0)
            ne = set.rec[0].vec[v].n / 3;
    cr_assert_gt(ne, 0);
    double N0w = *ac_test_entry(&set, 0, "N", 0);
    for (int j = 1; j < 3; j++)
        for (int e = 0; e < ne; e++)
            *ac_test_entry(&set, 0, "ndu1", j * ne + e) *= sqrt(*ac_test_entry(&set, 0, "N", j) / N0w);
    cr_assert_eq(verdict_of(id, &set, rate[0]), AC_VERDICT_FAIL);
    cr_assert_eq(verdict_of(id, &set, rate[1]), AC_VERDICT_FAIL);
    ac_trial_set_clear(&set);
    fresh(id, &set);
    for (int j = 1; j < 3; j++)
        for (int e = 0; e < ne; e++)
            *ac_test_entry(&set, 0, "ndu1", j * ne + e) *= *ac_test_entry(&set, 0, "N", j) / N0w;
    cr_assert_eq(verdict_of(id, &set, rate[0]), AC_VERDICT_FAIL);
    cr_assert_eq(verdict_of(id, &set, rate[1]), AC_VERDICT_FAIL);
    ac_trial_set_clear(&set);

    /* the predictor's first order: dropped, doubled, 1 % off */
    const char *first[2] = {"mfirst", "vfirst"}, *row[2] = {mrow, vrow};
    const double scale[3] = {0.0, 2.0, 1.01};
    int nt = (int)*ac_test_entry(quick_set(id), 0, "ntest", 0);
    for (int q = 0; q < 2; q++)
        for (int s = 0; s < 3; s++) {
            fresh(id, &set);
            for (int m = 0; m < nt; m++)
                *ac_test_entry(&set, 0, first[q], m) *= scale[s];
            cr_assert_eq(verdict_of(id, &set, row[q]), AC_VERDICT_FAIL, "%s x %g", first[q], scale[s]);
            ac_trial_set_clear(&set);
        }
    /* a NaN first order at the first point, every later point finite: the
     * worst case keeps it, and the row fails */
    for (int q = 0; q < 2; q++) {
        fresh(id, &set);
        cr_assert_gt(nt, 1);
        *ac_test_entry(&set, 0, first[q], 0) = NAN;
        cr_assert_eq(verdict_of(id, &set, row[q]), AC_VERDICT_FAIL, "%s: NaN at point 0", first[q]);
        ac_trial_set_clear(&set);
    }
}

/* closed-form: each width's tolerance is its two derived parts (tol_s, the
 * solver's bracket, shown as INFO; tol_r, the root's rounding bound); u
 * moved from the root by 0.99 of it passes, by 1.01 or 3 times it fails;
 * a width not converged fails the count; the T -> 0 rate falling 8-fold
 * per decade fails. */
Test(paths_measure, closed_form_rows_fail_planted_violations)
{
    const char *id = "paths.closed-form";
    ac_trial_set set;
    fresh(id, &set);
    const char *cv = "widths whose solve did not converge";
    for (int j = 0; j < 3; j++) {
        char row[AC_CLAIM_TEXT], info[AC_CLAIM_TEXT];
        const double N[3] = {10, 100, 1000};
        snprintf(row, sizeof row, "u from the general solver, N = %g", N[j]);
        snprintf(info, sizeof info, "|u_solver - u*| bracket at 128 bits, N = %g", N[j]);
        ac_claim_row r = row_of(id, &set, row);
        double ts = *ac_test_entry(&set, 0, "tol_s", j), tr = *ac_test_entry(&set, 0, "tol_r", j);
        cr_assert_eq(r.verdict, AC_VERDICT_PASS, "%s", row);
        cr_assert(ts >= 0.0 && tr > 0.0, "%s: parts %g, %g", row, ts, tr);
        cr_assert_eq(r.tol, ts + tr, "%s: tolerance %.17g is not its parts' sum", row, r.tol);
        ac_claim_row ri = row_of(id, &set, info);
        cr_assert_eq(ri.verdict, AC_VERDICT_INFO);
        cr_assert_eq(ri.empirical, ts);
        double ur = *ac_test_entry(&set, 0, "u_root", j), us = *ac_test_entry(&set, 0, "u_solver", j);
        const double by[3] = {0.99, 1.01, 3.0};
        for (int k = 0; k < 3; k++) {
            *ac_test_entry(&set, 0, "u_solver", j) = ur + by[k] * r.tol;
            cr_assert_eq(verdict_of(id, &set, row), k == 0 ? AC_VERDICT_PASS : AC_VERDICT_FAIL, "%s moved by %g tol",
                         row, by[k]);
        }
        *ac_test_entry(&set, 0, "u_solver", j) = us;
    }
    *ac_test_entry(&set, 0, "conv", 0) = 0;
    cr_assert_eq(verdict_of(id, &set, cv), AC_VERDICT_FAIL);
    /* the T -> 0 error falling 8-fold per decade instead of 10 (a relative
     * deviation of 0.2, four times the rows' 5 %): O(T) broken, in each of
     * the two decades in turn; moving err[2] leaves the first decade's row
     * passing (moving err[1] changes both ratios, so only its own row is
     * asserted) */
    char rate[2][AC_CLAIM_TEXT];
    for (int j = 0; j < 2; j++) {
        snprintf(rate[j], sizeof rate[j], "|u(T) - u0| at T = %.3g over that at T/10, N = 1000",
                 *ac_test_entry(&set, 0, "T", j));
        cr_assert_eq(verdict_of(id, &set, rate[j]), AC_VERDICT_PASS, "%s", rate[j]);
    }
    for (int j = 0; j < 2; j++) {
        double keep = *ac_test_entry(&set, 0, "err", j + 1);
        *ac_test_entry(&set, 0, "err", j + 1) = *ac_test_entry(&set, 0, "err", j) / 8.0;
        cr_assert_eq(verdict_of(id, &set, rate[j]), AC_VERDICT_FAIL, "%s", rate[j]);
        if (j == 1) /* err[2] moved: the first decade's ratio err[0]/err[1] is untouched */
            cr_assert_eq(verdict_of(id, &set, rate[0]), AC_VERDICT_PASS, "%s", rate[0]);
        *ac_test_entry(&set, 0, "err", j + 1) = keep;
    }
    ac_trial_set_clear(&set);
}

/* The sign of dS/du at 128 bits (the general action's MPFR mirror) at u,
 * one layer and one head of width N on data (Phi, Y). */
static int cf_sign(const double *Phi, const double *Y, double N, double u)
{
    ac_paths_settings s;
    ac_paths_settings_default(&s);
    s.n[0] = s.n[1] = N, s.T = AC_PATHS_MARKOV_T;
    mpfr_t S, G[1];
    mpfr_inits2(128, S, G[0], (mpfr_ptr)0);
    cr_assert_eq(ac_paths_action_mpfr(&s, AC_PATHS_MARKOV_P_TRAIN, AC_PATHS_MARKOV_N0, Phi, Y, &u, S, NULL, G, 128),
                 AC_OK);
    int sg = mpfr_sgn(G[0]);
    mpfr_clears(S, G[0], (mpfr_ptr)0);
    return sg;
}

/* closed-form: each part of the tolerance holds what it claims, seen from
 * outside the claim: dS/du at 128 bits changes sign within tol_s of the
 * solver's end (the bracket) and within tol_r of the 1-D root (its rounding
 * bound), on the claim's own data (§4.1's training set, the good head).
 * 128 bits: dS/du's rounding there is < 1e-28 of its terms (see CF_PREC in
 * verify/paths_claims.c), far below |dS/du| >= f' tol ~ 1e-17 at the ends. */
Test(paths_measure, closed_form_tolerance_parts_each_contain_the_128_bit_stationary_point)
{
    const ac_trial_set *set = quick_set("paths.closed-form");
    ac_paths_settings s;
    ac_paths_settings_default(&s);
    ac_paths_markov_head head = {.kind = AC_PATHS_HEAD_GOOD, .seed = 1};
    ac_paths_markov_settings ds;
    ac_paths_markov_settings_default(&ds);
    ac_paths_markov_data d = {0};
    ac_msg msg = {{0}};
    double *Phi = malloc(sizeof(double) * AC_PATHS_MARKOV_P_TRAIN * AC_PATHS_MARKOV_N0);
    cr_assert_eq(ac_paths_markov_data_init(&d, &ds, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_paths_markov_phi(&s, &head, &d, Phi, &msg), AC_OK, "%s", msg.text);
    const double N[3] = {10, 100, 1000};
    for (int j = 0; j < 3; j++) {
        const ac_trial_record *rec = &set->rec[0];
        double us = ac_trial_get1(rec, "u_solver", j), ts = ac_trial_get1(rec, "tol_s", j);
        double ur = ac_trial_get1(rec, "u_root", j), tr = ac_trial_get1(rec, "tol_r", j);
        int lo = cf_sign(Phi, d.Y, N[j], us - ts), hi = cf_sign(Phi, d.Y, N[j], us + ts);
        cr_assert(lo <= 0 && hi >= 0, "N = %g: no stationary point within tol_s %g of the solver's u %.17g (signs %d, %d)",
                  N[j], ts, us, lo, hi);
        lo = cf_sign(Phi, d.Y, N[j], ur - tr), hi = cf_sign(Phi, d.Y, N[j], ur + tr);
        cr_assert(lo <= 0 && hi >= 0, "N = %g: no stationary point within tol_r %g of the root %.17g (signs %d, %d)", N[j],
                  tr, ur, lo, hi);
    }
    ac_paths_markov_data_clear(&d);
    free(Phi);
}

/* theory-vs-samples: the gap at each width is INFO; the rate row (N |gap|
 * not growing from (N, P) = (50, 50), trial 1, to (100, 100), trial 2, both
 * alpha = 1) passes for a gap falling like 1/N and fails for a planted gap
 * that does not shrink (the violation an O(1/N) theory forbids); when its
 * tolerance is not below the excess such a gap would give ((Nb/Na - 1) Na
 * |gap_a|), a pass is INFO (not resolved) but a growth beyond the
 * tolerance still fails; not mixed, it is shown, not judged. */
Test(paths_measure, theory_vs_samples_rows_fail_planted_violations)
{
    const char *id = "paths.theory-vs-samples";
    ac_trial_set set;
    fresh(id, &set);
    const double Na = 50, Nb = 100; /* the widths of trials 1 and 2 */
    /* ... sampled with P = N training examples: alpha = 1 at both */
    cr_assert_eq(*ac_test_entry(&set, 1, "ptrain", 0), Na);
    cr_assert_eq(*ac_test_entry(&set, 2, "ptrain", 0), Nb);
    *ac_test_entry(&set, 1, "mixed", 0) = 1, *ac_test_entry(&set, 2, "mixed", 0) = 1;
    const char *ra = "N |gap| of sampled accuracy, (N, P) = (100, 100) vs (50, 50)",
               *rv = "N |gap| of mean test variance, (N, P) = (100, 100) vs (50, 50)";
    /* accuracy: one undecided point at each width bounds its error by
     * 1/ntest: tol Na/nt_a + Nb/nt_b */
    double nta = *ac_test_entry(&set, 1, "ntest", 0), ntb = *ac_test_entry(&set, 2, "ntest", 0), atol = Na / nta + Nb / ntb;
    *ac_test_entry(&set, 1, "undecided", 0) = 1, *ac_test_entry(&set, 2, "undecided", 0) = 1;
    double ata = *ac_test_entry(&set, 1, "acc_th", 0), atb = *ac_test_entry(&set, 2, "acc_th", 0);
    *ac_test_entry(&set, 1, "acc_s", 0) = ata + 0.04, *ac_test_entry(&set, 2, "acc_s", 0) = atb + 0.02; /* 1/N: 2 vs 2 */
    /* variance: MC SE 0.001 at both: tol 3.5 hypot(0.05, 0.1) = 0.391 */
    double vta = *ac_test_entry(&set, 1, "var_th", 0), vtb = *ac_test_entry(&set, 2, "var_th", 0);
    *ac_test_entry(&set, 1, "var_mcse", 0) = 0.001, *ac_test_entry(&set, 2, "var_mcse", 0) = 0.001;
    *ac_test_entry(&set, 1, "var_s", 0) = vta + 0.01, *ac_test_entry(&set, 2, "var_s", 0) = vtb + 0.005; /* 0.5 vs 0.5 */
    /* every U_1 entry: MC SE 0.001, gap 0.02 at N = 50 and 0.01 at N = 100 */
    for (int e = 0; e < 16; e++) {
        for (int i = 1; i < 3; i++)
            *ac_test_entry(&set, i, "u_mcse", e) = 0.001;
        *ac_test_entry(&set, 1, "u_s", e) = *ac_test_entry(&set, 1, "u_th", e) - 0.02;
        *ac_test_entry(&set, 2, "u_s", e) = *ac_test_entry(&set, 2, "u_th", e) - 0.01;
    }
    ac_claim_result res;
    rows_of(id, &set, &res);
    int nrate = 0;
    for (int k = 0; k < res.nrows; k++) {
        const ac_claim_row *r = &res.rows[k];
        if (strncmp(r->quantity, "N |gap|", 7) == 0) {
            cr_assert_eq(r->verdict, AC_VERDICT_PASS, "%s", r->quantity);
            nrate++;
        } else
            cr_assert_eq(r->verdict, AC_VERDICT_INFO, "%s is judged", r->quantity);
    }
    cr_assert_eq(nrate, 12);
    ac_claim_result_clear(&res);
    cr_assert(fabs(row_of(id, &set, rv).tol - 3.5 * hypot(Na * 0.001, Nb * 0.001)) < 1e-12, "tol %.17g",
              row_of(id, &set, rv).tol);
    cr_assert(fabs(row_of(id, &set, ra).tol - atol) < 1e-12, "tol %.17g", row_of(id, &set, ra).tol);
    /* planted: gaps that do not shrink with N (accuracy 0.04 -> 0.04 + 2
     * atol / Nb; variance 0.01 -> 0.01; U_1 0.02 -> 0.02): N |gap| doubles */
    *ac_test_entry(&set, 2, "acc_s", 0) = atb + 0.04 + 2 * atol / Nb;
    *ac_test_entry(&set, 2, "var_s", 0) = vtb + 0.01;
    for (int e = 0; e < 16; e++)
        *ac_test_entry(&set, 2, "u_s", e) = *ac_test_entry(&set, 2, "u_th", e) - 0.02;
    rows_of(id, &set, &res);
    nrate = 0;
    for (int k = 0; k < res.nrows; k++)
        if (strncmp(res.rows[k].quantity, "N |gap|", 7) == 0) {
            cr_assert_eq(res.rows[k].verdict, AC_VERDICT_FAIL, "%s", res.rows[k].quantity);
            nrate++;
        }
    cr_assert_eq(nrate, 12);
    cr_assert_eq(res.verdict, AC_VERDICT_FAIL);
    ac_claim_result_clear(&res);
    /* resolution: variance gaps 0.01 -> 0.005 (N |gap| 0.5 and 0.5), so a
     * gap that did not shrink would exceed the bar by alt = 0.5; tol = 3.5
     * hypot(Na s, Nb s) = 391.3 s is below it for s = 0.0012 (tol 0.470:
     * judged, PASS), not for s = 0.0013 (0.509: INFO) */
    *ac_test_entry(&set, 2, "var_s", 0) = vtb + 0.005;
    for (int k = 0; k < 2; k++) {
        double sk = k ? 0.0013 : 0.0012;
        *ac_test_entry(&set, 1, "var_mcse", 0) = sk, *ac_test_entry(&set, 2, "var_mcse", 0) = sk;
        ac_claim_row r = row_of(id, &set, rv);
        cr_assert_eq(r.verdict, k ? AC_VERDICT_INFO : AC_VERDICT_PASS, "s = %g: tol %.6g", sk, r.tol);
    }
    /* unresolved (tol 3.5 hypot(0.5, 1) = 3.91 > alt 0.5), but N |gap|
     * growing from 0.5 to 5 (gap 0.05 at N = 100) exceeds it: FAIL */
    *ac_test_entry(&set, 1, "var_mcse", 0) = 0.01, *ac_test_entry(&set, 2, "var_mcse", 0) = 0.01;
    cr_assert_eq(verdict_of(id, &set, rv), AC_VERDICT_INFO);
    *ac_test_entry(&set, 2, "var_s", 0) = vtb + 0.05;
    cr_assert_eq(verdict_of(id, &set, rv), AC_VERDICT_FAIL);
    /* one width not mixed: shown, not judged */
    *ac_test_entry(&set, 1, "mixed", 0) = 0;
    cr_assert_eq(verdict_of(id, &set, ra), AC_VERDICT_INFO);
    cr_assert_eq(verdict_of(id, &set, rv), AC_VERDICT_INFO);
    cr_assert_eq(verdict_of(id, &set, "N |gap| of U_1[g, dn], (N, P) = (100, 100) vs (50, 50)"), AC_VERDICT_INFO);
    ac_trial_set_clear(&set);
}

/* ---- measurement-level plants ---- */

/* What an exact sampler run at temperature T with every prior variance
 * sigma2 measures at width N, up to the O(1/N) the saddle point neglects:
 * the theory's accuracy, mean test variance and U_1 at those settings, on
 * the Markov task (4 paths) and every stride-th test point, as
 * paths.theory-vs-samples thins them. */
static void markov_theory_at(double N, int P_train, double T, double sigma2, int stride, double *acc, double *var,
                             double *U1)
{
    ac_paths_settings s;
    ac_paths_markov_head heads[AC_PATHS_MARKOV_MAX_HEADS];
    cr_assert(ac_paths_markov_network(AC_PATHS_NET_FOUR_PATHS, N, &s, heads));
    s.T = T;
    for (int l = 0; l <= s.L; l++)
        s.sigma2[l] = sigma2;
    s.sigma2_a = sigma2;
    ac_paths_markov_settings tr, te;
    ac_paths_markov_settings_default(&tr);
    te = tr;
    tr.per_class = P_train / 2;
    te.per_class = AC_PATHS_MARKOV_P_TEST / 2;
    te.seed = AC_PATHS_MARKOV_SEED_TEST;
    ac_paths_markov_data dtr, dte;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_paths_markov_data_init(&dtr, &tr, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_paths_markov_data_init(&dte, &te, &msg), AC_OK, "%s", msg.text);
    size_t ex = (size_t)AC_PATHS_MARKOV_N0 * AC_PATHS_MARKOV_NTOK;
    int Pt = 0;
    for (int m = 0; m < dte.P; m += stride, Pt++) {
        memmove(dte.X + (size_t)Pt * ex, dte.X + (size_t)m * ex, sizeof(double) * ex);
        dte.Y[Pt] = dte.Y[m];
    }
    dte.P = Pt;
    int np = ac_paths_count(&s), P = dtr.P;
    double *Phi = malloc(sizeof(double) * (size_t)P * AC_PATHS_MARKOV_N0 * np);
    double *Phit = malloc(sizeof(double) * (size_t)Pt * AC_PATHS_MARKOV_N0 * np);
    double *U = malloc(sizeof(double) * ac_paths_u_size(&s)), *f = malloc(sizeof(double) * (size_t)Pt * 2);
    cr_assert(Phi && Phit && U && f);
    cr_assert_eq(ac_paths_markov_phi(&s, heads, &dtr, Phi, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_paths_markov_phi(&s, heads, &dte, Phit, &msg), AC_OK, "%s", msg.text);
    ac_paths_workspace *w = ac_paths_alloc(&s, P, AC_PATHS_MARKOV_N0);
    cr_assert_not_null(w);
    cr_assert_eq(ac_paths_set_data(w, Phi, dtr.Y, &msg), AC_OK, "%s", msg.text);
    ac_paths_gp_u(&s, U);
    ac_paths_info info;
    cr_assert_eq(ac_paths_solve(w, NULL, U, &info, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(info.min.status, AC_MIN_CONVERGED, "N = %g, T = %g, sigma^2 = %g", N, T, sigma2);
    size_t off1 = ac_paths_u_offset(&s, 1);
    cr_assert_eq(ac_paths_predict(w, U + off1, Pt, Phit, f, f + Pt, &msg), AC_OK, "%s", msg.text);
    int right = 0;
    double v = 0.0;
    for (int m = 0; m < Pt; m++)
        right += f[m] * dte.Y[m] > 0.0, v += f[Pt + m] / Pt;
    *acc = (double)right / Pt, *var = v;
    memcpy(U1, U + off1, sizeof(double) * (size_t)np * np);
    ac_paths_free(w);
    free(Phi), free(Phit), free(U), free(f);
    ac_paths_markov_data_clear(&dtr);
    ac_paths_markov_data_clear(&dte);
}

/* The factor from the quick run's MC errors at width index i (0..2) to
 * the paper run's at equal ESS per sweep: MC standard errors go as
 * 1/sqrt(chains x kept sweeps x ESS per sweep) (the test below). */
static double paper_scale(int i)
{
    ac_paths_claim_setup q, p;
    ac_paths_claim_setup_of(AC_SIZE_QUICK, &q);
    ac_paths_claim_setup_of(AC_SIZE_PAPER, &p);
    return sqrt((double)q.gibbs_chains * (double)q.gibbs_keep[i] / ((double)p.gibbs_chains * (double)p.gibbs_keep[i]));
}

/* paths.theory-vs-samples with the fault in the measurement: a sampler run
 * with every prior variance sigma^2 = 2, or at 2T.  The judged rows are the
 * rate rows at N = 50 and 100 and need mixed chains at both widths: about
 * 4 x 600 sweeps at N = 50 and 4 x 400 at N = 100 (25 s of CPU, the default
 * size), far above a test's budget, and the quick claim's 2 x 20 sweeps are
 * not mixed (its rows are INFO).  So the fault is planted at the judging
 * function with a measurement of known size: the sampled numbers replaced
 * by the theory at the faulty settings (what such a sampler converges to,
 * up to O(1/N)), both widths marked mixed.  The gap theory - samples is
 * then the fault's effect, which does not fall like 1/N.
 *   sigma^2 = 2: with the Monte-Carlo errors of the quick run, N |gap| of
 * the mean test variance goes from 10.8 to 57.7 (tolerance 8.3) and four
 * U_1 rows fail.
 *   2T: a smaller effect: N |gap| of the variance goes from 0.23 to 0.83,
 * of U_1[r1>r2, r1>r2] from 1.1 to 4.9.  With the quick run's errors
 * (tolerances 8.3 and 15.8) and with the default size's (0.87 and 3.9 in
 * the committed results) this is not resolved: a sampler at 2T passes the
 * claim at those sizes.  It is planted with the MC errors of the paper
 * size's chains, derived from the quick run's own: an MC standard error
 * goes as 1/sqrt(chains x kept sweeps x ESS per sweep), so at equal ESS
 * per sweep the paper run's are the quick run's times sqrt(quick chains x
 * kept / (paper chains x kept)) = sqrt(2 x 20 / (4 x 5000)) = 0.045 at
 * N = 50 and 100 (paper_scale, from the two sizes' setups).  The quick
 * chains are not mixed (ESS per sweep 0.1-0.2 against 0.5-0.6 at the
 * default size), so this overstates the paper run's errors, by about 2: a
 * fault caught with them is caught with the real ones.  With them (seed 1:
 * 1.3e-3 and 1.0e-3 on the variance, tolerance 0.42 against the excess
 * 0.59) the variance row and four U_1 rows fail.
 *   No fault (the control): the theory at the right T and prior plus the
 * sigma^2 = 2 fault's gap at N = 50, falling like 1/N as the saddle
 * point's O(1/N) error does, with the paper run's errors: the gaps are
 * resolved (the rows judged) and no rate row fails.
 * The accuracy row sees neither fault (a few test points change sign
 * against an undecided-point bound of 40 at quick size): reported only. */

Test(paths_measure, a_sampler_at_the_wrong_temperature_or_prior_fails_the_rate_rows)
{
    const char *id = "paths.theory-vs-samples";
    const char *rv = "N |gap| of mean test variance, (N, P) = (100, 100) vs (50, 50)";
    ac_paths_claim_setup su;
    ac_paths_claim_setup_of(AC_SIZE_QUICK, &su);
    const double T = AC_PATHS_MARKOV_T;
    const struct {
        const char *what;
        double T, sigma2;
        int paper;   /* 0: the quick run's MC errors, 1: the paper run's (paper_scale) */
        int control; /* 1: no fault, a gap falling like 1/N */
    } fault[3] = {{"sigma^2 = 2", T, 2.0, 0, 0}, {"2T", 2 * T, 1.0, 1, 0}, {"no fault", T, 1.0, 1, 1}};
    const double Nw[2] = {50, 100}; /* trials 1 and 2, at fixed alpha = 1 */
    const int Pw[2] = {AC_PATHS_MARKOV_P_TRAIN / 2, AC_PATHS_MARKOV_P_TRAIN};
    /* the control's gaps at N = 50: those of the sigma^2 = 2 fault */
    double gap_var, gap_u[16];
    {
        ac_trial_set set;
        fresh(id, &set);
        double acc, var, U1[16];
        markov_theory_at(Nw[0], Pw[0], fault[0].T, fault[0].sigma2, su.gibbs_test_stride[1], &acc, &var, U1);
        gap_var = var - ac_trial_get1(&set.rec[1], "var_th", 0);
        for (int e = 0; e < 16; e++)
            gap_u[e] = U1[e] - ac_trial_get1(&set.rec[1], "u_th", e);
        ac_trial_set_clear(&set);
    }
    for (int f = 0; f < 3; f++) {
        ac_trial_set set;
        fresh(id, &set);
        for (int i = 1; i < 3; i++) {
            double acc, var, U1[16], sc = fault[f].paper ? paper_scale(i) : 1.0;
            const ac_trial_record *rec = &set.rec[i];
            if (fault[f].control) {
                double shrink = Nw[0] / Nw[i - 1];
                acc = ac_trial_get1(rec, "acc_th", 0);
                var = ac_trial_get1(rec, "var_th", 0) + gap_var * shrink;
                for (int e = 0; e < 16; e++)
                    U1[e] = ac_trial_get1(rec, "u_th", e) + gap_u[e] * shrink;
            } else {
                markov_theory_at(Nw[i - 1], Pw[i - 1], fault[f].T, fault[f].sigma2, su.gibbs_test_stride[i], &acc, &var,
                                 U1);
            }
            *ac_test_entry(&set, i, "mixed", 0) = 1;
            *ac_test_entry(&set, i, "acc_s", 0) = acc;
            *ac_test_entry(&set, i, "var_s", 0) = var;
            *ac_test_entry(&set, i, "var_mcse", 0) *= sc;
            for (int e = 0; e < 16; e++) {
                *ac_test_entry(&set, i, "u_s", e) = U1[e];
                *ac_test_entry(&set, i, "u_mcse", e) *= sc;
            }
        }
        ac_claim_result res;
        rows_of(id, &set, &res);
        int nu = 0, nfail = 0;
        for (int k = 0; k < res.nrows; k++) {
            const ac_claim_row *r = &res.rows[k];
            if (strncmp(r->quantity, "N |gap|", 7) != 0)
                continue;
            cr_log_info("%s: %s: %g against %g + %g: %s", fault[f].what, r->quantity, r->empirical, r->theory,
                        r->tol, ac_verdict_str(r->verdict));
            nu += strstr(r->quantity, "U_1") != NULL && r->verdict == AC_VERDICT_FAIL;
            nfail += r->verdict == AC_VERDICT_FAIL;
        }
        if (fault[f].control) {
            cr_assert_eq(nfail, 0, "%s: %d rate rows fail", fault[f].what, nfail);
            cr_assert_eq(row_of(id, &set, rv).verdict, AC_VERDICT_PASS, "%s", fault[f].what);
            cr_assert_neq(res.verdict, AC_VERDICT_FAIL, "%s", fault[f].what);
        } else {
            cr_assert_eq(row_of(id, &set, rv).verdict, AC_VERDICT_FAIL, "%s", fault[f].what);
            cr_assert_gt(nu, 0, "%s: no U_1 rate row fails", fault[f].what);
            cr_assert_eq(res.verdict, AC_VERDICT_FAIL, "%s", fault[f].what);
        }
        ac_claim_result_clear(&res);
        ac_trial_set_clear(&set);
    }
}
