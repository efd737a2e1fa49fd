/* The attention-paths claims through the trial harness
 * (verify/paths_claims.h, verify/trial.h): each passes at quick size, a
 * split run gives the same table, and every judged row fails under a
 * planted violation of known size. */
#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "claim_compare.h"
#include "testutil.h"
#include "verify/paths_claims.h"
#include "verify/trial.h"

/* ---- quick runs, shared by the tests of one process ---- */

/* The records of a quick run of claim id (seed 1), computed once. */
static ac_trial_set *quick_set(const char *id)
{
    static struct {
        char id[64];
        ac_trial_set set;
    } cache[AC_PATHS_NCLAIMS];
    static int ncache;
    for (int i = 0; i < ncache; i++)
        if (strcmp(cache[i].id, id) == 0)
            return &cache[i].set;
    cr_assert_lt(ncache, AC_PATHS_NCLAIMS);
    gsl_set_error_handler_off();
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
    const ac_claim_def *c = ac_registry_find_claim(id);
    cr_assert_not_null(c, "%s is not registered", id);
    ac_msg msg = {{0}};
    ac_trial_set *set = &cache[ncache].set;
    ac_trial_set_init(set, id, &o, c->trials->ntrials(&o));
    cr_assert_eq(ac_trial_run(c->trials, &o, 0, set->ntrials, set, &msg), AC_OK, "%s: %s", id, msg.text);
    snprintf(cache[ncache].id, sizeof cache[ncache].id, "%s", id);
    ncache++;
    return set;
}

/* The rows of a set under the claim's own rows function, judged. */
static void rows_of(const char *id, const ac_trial_set *set, ac_claim_result *res)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
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

/* Every paths claim passes at quick size. */
Test(paths_claims, every_claim_passes_at_quick_size, .timeout = 120)
{
    for (int i = 0; i < AC_PATHS_NCLAIMS; i++) {
        const char *id = ac_paths_claims[i].id;
        ac_claim_result res;
        rows_of(id, quick_set(id), &res);
        for (int k = 0; k < res.nrows; k++)
            cr_expect_neq(res.rows[k].verdict, AC_VERDICT_FAIL, "%s: row '%s' fails: theory %g, ours %g, tol %g", id,
                          res.rows[k].quantity, res.rows[k].theory, res.rows[k].empirical, res.rows[k].tol);
        cr_assert_eq(res.verdict, AC_VERDICT_PASS, "%s does not pass", id);
        ac_claim_result_clear(&res);
    }
}

/* Trials run apart, each part through JSON, then merged: the same table bit
 * for bit as the whole run's rows. */
Test(paths_claims, split_trials_reproduce_every_table_bit_for_bit, .timeout = 120)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
    for (int i = 0; i < AC_PATHS_NCLAIMS; i++) {
        const ac_claim_def *c = &ac_paths_claims[i];
        const ac_trial_def *def = c->trials;
        int n = def->ntrials(&o), k = n > 1 ? n / 2 : n;
        ac_trial_set part[2];
        ac_msg msg = {{0}};
        for (int p = 0; p < 2; p++) {
            ac_trial_set_init(&part[p], c->id, &o, n);
            cr_assert_eq(ac_trial_run(def, &o, p ? k : 0, p ? n : k, &part[p], &msg), AC_OK, "%s", msg.text);
            json_t *j = ac_trial_set_to_json(&part[p]);
            char *text = json_dumps(j, JSON_COMPACT);
            json_decref(j);
            ac_trial_set_clear(&part[p]);
            j = json_loads(text, 0, NULL);
            free(text);
            cr_assert_eq(ac_trial_set_from_json(j, &part[p], &msg), AC_OK, "%s", msg.text);
            json_decref(j);
        }
        cr_assert_eq(ac_trial_set_merge(&part[1], &part[0], &msg), AC_OK, "%s", msg.text);
        ac_claim_result full, split;
        rows_of(c->id, quick_set(c->id), &full);
        rows_of(c->id, &part[1], &split);
        ac_test_same_result(&full, &split, c->id);
        ac_claim_result_clear(&full);
        ac_claim_result_clear(&split);
        ac_trial_set_clear(&part[0]);
        ac_trial_set_clear(&part[1]);
    }
}
