/* The Graph-SVM claims through the trial harness (verify/svm_claims.h,
 * verify/trial.h), and their measurements under planted faults
 * (verify/svm_measure.h). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "claim_compare.h"
#include "testutil.h"
#include "verify/svm_claims.h"
#include "verify/svm_measure.h"
#include "verify/trial.h"

/* The rows from trials [0, k) and [k, n) run apart, each written to JSON
 * text and read back, then merged. */
static void split_rows(const ac_claim_def *cdef, const ac_trial_def *def, const ac_run_opts *o, int k,
                       ac_claim_result *res)
{
    int n = def->ntrials(o);
    ac_trial_set part[2];
    ac_msg msg = {{0}};
    for (int p = 0; p < 2; p++) {
        ac_trial_set_init(&part[p], cdef->id, o, n);
        cr_assert_eq(ac_trial_run(def, o, p ? k : 0, p ? n : k, &part[p], &msg), AC_OK, "%s", msg.text);
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
    ac_claim_result_init(res, cdef);
    cr_assert_eq(ac_trial_rows(def, o, &part[1], res, &msg), AC_OK, "%s", msg.text);
    ac_claim_judge(res);
    ac_trial_set_clear(&part[0]);
    ac_trial_set_clear(&part[1]);
}

/* Every svm claim's table from split runs equals the one-run table bit for
 * bit: the basis of sweeps over many machines. */
Test(svm_claims, split_trials_reproduce_every_table_bit_for_bit, .timeout = 300)
{
    ac_run_opts o = {AC_SIZE_QUICK, ac_test_seed(3), NULL, NULL};
    for (int i = 0; i < AC_SVM_NCLAIMS; i++) {
        const ac_claim_def *c = &ac_svm_claims[i];
        const ac_trial_def *def = ac_svm_claim_trials(c->id);
        cr_assert_not_null(def, "%s has no trials", c->id);
        ac_claim_result full, part;
        cr_assert_eq(ac_claim_run(c, &o, &full), AC_OK, "%s", full.error);
        int n = def->ntrials(&o), k = n > 1 ? 1 : n;
        split_rows(c, def, &o, k, &part);
        ac_test_same_result(&full, &part, c->id);
        ac_claim_result_clear(&full);
        ac_claim_result_clear(&part);
    }
    cr_assert_null(ac_svm_claim_trials("svm.nosuch"));
}
