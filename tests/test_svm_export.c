/* Every claim's instance can be exported with `attncheck svm generate` and
 * solved with `attncheck svm solve`: the solve must give exactly, bit for
 * bit, the W_svm and W_fin the claim computed in process (issue 7). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/testutil.h"
#include "theory/tpg_solve.h"
#include "verify/svm_claims.h"
#include "verify/svm_measure.h"
#include "verify/trial.h"

/* Read "key": [[...], ...] (d x d) from a solve JSON into W. */
static void read_matrix(json_t *root, const char *key, int d, double *W)
{
    json_t *rows = json_object_get(root, key);
    cr_assert(json_is_array(rows) && (int)json_array_size(rows) == d, "%s: not %d rows", key, d);
    for (int i = 0; i < d; i++) {
        json_t *row = json_array_get(rows, (size_t)i);
        cr_assert(json_is_array(row) && (int)json_array_size(row) == d);
        for (int j = 0; j < d; j++)
            W[i * d + j] = json_number_value(json_array_get(row, (size_t)j));
    }
}

static void check_export(const char *setup, ac_svm_gen_mode mode, unsigned long seed, int trial)
{
    const char *bin = getenv("AC_BIN");
    if (!bin || access(bin, X_OK) != 0)
        cr_skip_test("AC_BIN does not name the attncheck binary (make test sets it)");
    ac_svm_setup su;
    cr_assert_eq(ac_svm_claim_setup(setup, AC_SIZE_DEFAULT, &su), AC_OK);
    /* the claim's side: the trial's generator and draw, as every svm trial
     * takes them (verify/trial.h, ac_svm_instance_draw), solved in process */
    gsl_rng *r = ac_trial_rng_alloc(seed, trial);
    cr_assert_not_null(r);
    ac_svm_instance I;
    ac_msg msg;
    cr_assert_eq(ac_svm_instance_draw(&I, r, &su, mode, &msg), AC_OK, "%s", msg.text);
    const ac_tpg_data *D = I.D;
    const double *E = I.E;
    ac_tpg_solve_settings set;
    ac_tpg_solve_settings_default(&set);
    ac_tpg_solution sol;
    cr_assert_eq(ac_tpg_solve(D, E, su.d, &set, &sol, &msg), AC_OK, "%s", msg.text);
    /* the CLI's side: export, then solve from the files */
    char dir[] = "/tmp/ac_export_XXXXXX", cmd[1024], json[256];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(json, sizeof json, "%s/sol.json", dir);
    snprintf(cmd, sizeof cmd,
             "%s svm generate --mode %s --n %d --T %d --K %d --d %d --seed %lu --out %s/inst && "
             "%s svm solve %s/inst.data --embeddings %s/inst.emb --format json --out %s",
             bin, ac_svm_gen_mode_str(mode), su.n, su.T, su.K, su.d, seed + (unsigned long)trial, dir, bin, dir,
             dir, json);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    json_error_t err;
    json_t *root = json_load_file(json, 0, &err);
    cr_assert_not_null(root, "%s: %s", json, err.text);
    int dd = su.d * su.d;
    double *W = malloc(sizeof(double) * dd);
    read_matrix(root, "W_svm", su.d, W);
    for (int i = 0; i < dd; i++)
        cr_assert(W[i] == sol.Wsvm[i], "%s trial %d: W_svm[%d] %.17g (CLI) != %.17g (claim)", setup, trial, i, W[i],
                  sol.Wsvm[i]);
    read_matrix(root, "W_fin", su.d, W);
    for (int i = 0; i < dd; i++)
        cr_assert(W[i] == sol.Wfin[i], "%s trial %d: W_fin[%d] %.17g (CLI) != %.17g (claim)", setup, trial, i, W[i],
                  sol.Wfin[i]);
    json_decref(root);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    free(W);
    ac_tpg_solution_clear(&sol);
    ac_svm_instance_clear(&I);
    gsl_rng_free(r);
}

Test(svm_export, cyclic_claim_instances_solve_identically_from_exported_files)
{
    for (int t = 0; t < 3; t++)
        check_export("cyclic", AC_SVM_GEN_CYCLIC, 1, t);
}

Test(svm_export, acyclic_claim_instances_solve_identically_from_exported_files)
{
    for (int t = 0; t < 3; t++)
        check_export("acyclic", AC_SVM_GEN_ACYCLIC, 7, t);
}
