/* verify/svm_export: what `svm solve` and `svm generate` write reads back to
 * the numbers the library computed, bit for bit (17 significant digits
 * round-trip every double), and a failed stream is AC_EIO. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/testutil.h"
#include "verify/svm_data.h"
#include "verify/svm_export.h"
#include "verify/svm_io.h"

/* The text a writer puts on a stream, NUL-terminated (free it). */
static char *capture(ac_status (*write)(FILE *, const void *), const void *ctx, ac_status *st)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    *st = write(f, ctx);
    fclose(f);
    return buf;
}

static ac_status write_json(FILE *f, const void *ctx)
{
    return ac_svm_export_json_write(f, ctx);
}

static ac_status write_text(FILE *f, const void *ctx)
{
    return ac_svm_export_solution_text(f, ctx);
}

static void assert_matrix(json_t *root, const char *key, const double *W, int d)
{
    json_t *rows = json_object_get(root, key);
    cr_assert(json_is_array(rows) && (int)json_array_size(rows) == d, "%s: not %d rows", key, d);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double v = json_number_value(json_array_get(json_array_get(rows, (size_t)i), (size_t)j));
            cr_assert(v == W[i * d + j], "%s[%d][%d] = %.17g, solved %.17g", key, i, j, v, W[i * d + j]);
        }
}

/* A small random instance of the claims' generator, solved. */
static void solve_random(unsigned long seed, ac_svm_gen_mode mode, ac_tpg_data **D, double **E,
                         ac_svm_gen_settings *gs, ac_tpg_solution *sol)
{
    gsl_rng *r = ac_test_rng(seed);
    *gs = (ac_svm_gen_settings){6, 3, 4, 5, mode, AC_SVM_GEN_MAX_TRIES};
    ac_msg msg = {{0}};
    cr_assert_eq(ac_svm_generate(r, gs, D, E, NULL, &msg), AC_OK, "seed %lu: %s", seed, msg.text);
    gsl_rng_free(r);
    ac_tpg_solve_settings set;
    ac_tpg_solve_settings_default(&set);
    cr_assert_eq(ac_tpg_solve(*D, *E, gs->d, &set, sol, &msg), AC_OK, "seed %lu: %s", seed, msg.text);
}

Test(svm_serialise, solution_json_reads_back_bit_for_bit)
{
    int cases = ac_test_cases(6);
    for (int c = 0; c < cases; c++) {
        unsigned long seed = 400 + (unsigned long)c;
        ac_tpg_data *D;
        double *E;
        ac_svm_gen_settings gs;
        ac_tpg_solution sol;
        solve_random(seed, c % 2 ? AC_SVM_GEN_CYCLIC : AC_SVM_GEN_ACYCLIC, &D, &E, &gs, &sol);
        json_t *o = ac_svm_export_solution_json(&sol, D->n);
        cr_assert_not_null(o);
        ac_status st;
        char *text = capture(write_json, o, &st);
        json_decref(o);
        cr_assert_eq(st, AC_OK);
        json_error_t err;
        json_t *root = json_loads(text, 0, &err);
        cr_assert_not_null(root, "seed %lu: line %d: %s", seed, err.line, err.text);
        cr_assert_str_eq(json_string_value(json_object_get(root, "status")), ac_qp_status_str(sol.qp.status));
        cr_assert_eq(json_integer_value(json_object_get(root, "K")), sol.K);
        cr_assert_eq(json_integer_value(json_object_get(root, "d")), sol.d);
        cr_assert_eq(json_integer_value(json_object_get(root, "n")), D->n);
        cr_assert_eq(json_integer_value(json_object_get(root, "equalities")), sol.C.neq);
        cr_assert_eq(json_integer_value(json_object_get(root, "inequalities")), sol.C.m - sol.C.neq);
        assert_matrix(root, "W_svm", sol.Wsvm, sol.d);
        assert_matrix(root, "W_fin", sol.Wfin, sol.d);
        /* the active list is exactly the constraints ac_svm_export_is_active
         * names, each with its multiplier */
        json_t *active = json_object_get(root, "active");
        size_t k = 0;
        double lmax = 0.0;
        for (int i = 0; i < sol.C.m; i++)
            lmax = fmax(lmax, fabs(sol.lambda[i]));
        for (int i = 0; i < sol.C.m; i++) {
            int is = fabs(sol.lambda[i]) > AC_SVM_EXPORT_ACTIVE_FRACTION * lmax;
            cr_assert_eq(ac_svm_export_is_active(&sol, i), is, "seed %lu: constraint %d", seed, i);
            if (!is)
                continue;
            json_t *row = json_array_get(active, k++);
            cr_assert_not_null(row, "seed %lu: active constraint %d missing", seed, i);
            cr_assert_eq(json_integer_value(json_object_get(row, "i")), sol.C.a[i]);
            cr_assert_eq(json_integer_value(json_object_get(row, "j")), sol.C.b[i]);
            cr_assert_eq(json_integer_value(json_object_get(row, "k")), sol.C.k[i]);
            cr_assert(json_number_value(json_object_get(row, "lambda")) == sol.lambda[i]);
        }
        cr_assert_eq(json_array_size(active), k, "seed %lu: extra active rows", seed);
        cr_assert(k > 0 || sol.C.m - sol.C.neq == 0, "seed %lu: a solved SVM with inequalities has an active one",
                  seed);
        json_t *res = json_object_get(root, "residuals");
        cr_assert(json_number_value(json_object_get(res, "stationarity")) == sol.qp.stat_res);
        json_decref(root);
        free(text);
        char *t = capture(write_text, &sol, &st);
        cr_assert_eq(st, AC_OK);
        cr_assert(strstr(t, "status: solved") && strstr(t, "W_svm (") && strstr(t, "W_fin ("), "%s", t);
        free(t);
        ac_tpg_solution_clear(&sol);
        ac_tpg_data_free(D);
        free(E);
    }
}

/* tests/cli.sh's infeasible instance: e_1 = e_0 + e_2, e_3 = 2 e_0 + e_2. */
Test(svm_serialise, infeasible_solution_lists_its_certificate)
{
    char dir[] = "/tmp/ac_serial_XXXXXX", dp[64], ep[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(dp, sizeof dp, "%s/inf.data", dir);
    snprintf(ep, sizeof ep, "%s/inf.emb", dir);
    FILE *f = fopen(dp, "w");
    fputs("0 1 2 | 0\n1 0 2 | 1\n3 2 | 2\n", f);
    fclose(f);
    f = fopen(ep, "w");
    fputs("1 0\n1 1\n0 1\n2 1\n", f);
    fclose(f);
    ac_tpg_data *D;
    double *E;
    int K, d;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_svm_io_read_data(dp, 0, &D, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_svm_io_read_emb(ep, &E, &K, &d, &msg), AC_OK, "%s", msg.text);
    D->K = K;
    ac_tpg_solve_settings set;
    ac_tpg_solve_settings_default(&set);
    set.svm.allow_dependent = 1;
    ac_tpg_solution sol;
    cr_assert_eq(ac_tpg_solve(D, E, d, &set, &sol, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(sol.qp.status, AC_QP_INFEASIBLE);
    json_t *o = ac_svm_export_solution_json(&sol, D->n);
    json_t *bad = json_object_get(o, "infeasible_constraints");
    int support = 0;
    for (int c = 0; c < sol.C.m; c++)
        if (sol.cert[c] != 0.0) {
            json_t *row = json_array_get(bad, (size_t)support++);
            cr_assert_not_null(row);
            cr_assert(json_number_value(json_object_get(row, "certificate")) == sol.cert[c]);
        }
    cr_assert(support > 0);
    cr_assert_eq(json_array_size(bad), (size_t)support);
    json_decref(o);
    ac_status st;
    char *t = capture(write_text, &sol, &st);
    cr_assert_eq(st, AC_OK);
    cr_assert(strstr(t, "cannot hold together") && !strstr(t, "W_svm ("), "%s", t);
    free(t);
    ac_tpg_solution_clear(&sol);
    ac_tpg_data_free(D);
    free(E);
    unlink(dp);
    unlink(ep);
    rmdir(dir);
}

Test(svm_serialise, instance_files_read_back_exactly)
{
    ac_tpg_data *D;
    double *E;
    ac_svm_gen_settings gs = {.n = 7, .T = 4, .K = 6, .d = 5,
        .mode = AC_SVM_GEN_ANY, .max_tries = AC_SVM_GEN_MAX_TRIES};
    gsl_rng *r = ac_test_rng(17);
    ac_msg msg = {{0}};
    cr_assert_eq(ac_svm_generate(r, &gs, &D, &E, NULL, &msg), AC_OK, "%s", msg.text);
    gsl_rng_free(r);
    char dir[] = "/tmp/ac_serial_XXXXXX", dp[64], ep[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(dp, sizeof dp, "%s/x.data", dir);
    snprintf(ep, sizeof ep, "%s/x.emb", dir);
    FILE *f = fopen(dp, "w");
    cr_assert_eq(ac_svm_export_data(f, "a header", D), AC_OK);
    fclose(f);
    f = fopen(ep, "w");
    cr_assert_eq(ac_svm_export_emb(f, "a header", E, gs.K, gs.d), AC_OK);
    fclose(f);
    ac_tpg_data *D2;
    double *E2;
    int K2, d2;
    cr_assert_eq(ac_svm_io_read_data(dp, gs.K, &D2, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_svm_io_read_emb(ep, &E2, &K2, &d2, &msg), AC_OK, "%s", msg.text);
    cr_assert(D2->n == D->n && K2 == gs.K && d2 == gs.d);
    for (int i = 0; i <= D->n; i++)
        cr_assert_eq(D2->off[i], D->off[i]);
    for (int t = 0; t < D->off[D->n]; t++)
        cr_assert_eq(D2->tok[t], D->tok[t]);
    for (int i = 0; i < D->n; i++)
        cr_assert_eq(D2->label[i], D->label[i]);
    for (int i = 0; i < gs.K * gs.d; i++)
        cr_assert(E2[i] == E[i], "E[%d] = %.17g read back as %.17g", i, E[i], E2[i]);
    /* a header is one comment line; a failed stream is AC_EIO */
    f = fopen(dp, "w");
    cr_assert_eq(ac_svm_export_data(f, "two\nlines", D), AC_EINVAL);
    fclose(f);
    f = fopen("/dev/null", "r");
    cr_assert_eq(ac_svm_export_emb(f, "h", E, gs.K, gs.d), AC_EIO);
    json_t *o = json_pack("{s:f}", "x", 1.7312);
    cr_assert_eq(ac_svm_export_json_write(f, o), AC_EIO);
    json_decref(o);
    fclose(f);
    ac_tpg_data_free(D);
    ac_tpg_data_free(D2);
    free(E);
    free(E2);
    unlink(dp);
    unlink(ep);
    rmdir(dir);
}
