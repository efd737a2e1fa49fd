/* The tabular claims (verify/moe_tabular_claims.h, spec cbow_moe §3.5-§3.6):
 * run through ac_claim_run as a local claim def at the quick size; split
 * runs merge into the same table; the judged advantage row holds on
 * records drawn at the paper's advantage and fails under a planted
 * violation of known size; the CLI on an exported table repeats a trial
 * bit for bit. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verify/moe_tabular_claims.h"
#include "tests/claim_compare.h"
#include "tests/testutil.h"

static const ac_claim_def ood_def = {.id = "moe.tabular-ood", .paper = "moe",
                                     .statement = "attention beats the baselines out of distribution (spec 3.5)",
                                     .trials = &ac_moe_tabular_ood_trials};
static const ac_claim_def mpg_def = {.id = "moe.tabular-mpg", .paper = "moe",
                                     .statement = "Auto MPG trained on US cars, tested on the others (spec 3.6)",
                                     .trials = &ac_moe_tabular_mpg_trials};

static const ac_claim_row *row_of(const ac_claim_result *res, const char *quantity)
{
    for (int i = 0; i < res->nrows; i++)
        if (!strcmp(res->rows[i].quantity, quantity))
            return &res->rows[i];
    cr_assert_fail("no row '%s'", quantity);
    return NULL;
}

static const char *const ADV_ROW = "mean OOD-accuracy advantage of ATTN over LR, over the settings run";

Test(moe_tabular_claims, quick_runs_give_every_row_and_split_runs_merge)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 7};
    const ac_claim_def *defs[2] = {&ood_def, &mpg_def};
    for (int d = 0; d < 2; d++) {
        ac_claim_result res, res2;
        cr_assert_eq(ac_claim_run(defs[d], &o, &res), AC_OK, "%s: %s", defs[d]->id, res.error);
        cr_assert(res.nrows > 10);
        cr_assert_neq(res.verdict, AC_VERDICT_FAIL);
        /* Trials run apart and merged give the same table (verify/trial.h). */
        int n = defs[d]->trials->ntrials(&o);
        ac_trial_set a, b;
        ac_msg msg;
        ac_trial_set_init(&a, defs[d]->id, &o, n);
        ac_trial_set_init(&b, defs[d]->id, &o, n);
        cr_assert_eq(ac_trial_run(defs[d]->trials, &o, 1, n, &b, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(ac_trial_run(defs[d]->trials, &o, 0, 1, &a, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(ac_trial_set_merge(&a, &b, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(ac_claim_run_records(defs[d], &o, &a, &res2), AC_OK, "%s", res2.error);
        ac_test_same_result(&res, &res2, defs[d]->id);
        ac_trial_set_clear(&a);
        ac_trial_set_clear(&b);
        ac_claim_result_clear(&res2);
        if (d == 0) /* quick is not the paper's protocol: the row is INFO */
            cr_assert_eq(row_of(&res, ADV_ROW)->verdict, AC_VERDICT_INFO);
        else /* the LR fit is deterministic: its SD over seeds is exactly 0 */
            cr_assert_eq(row_of(&res, "OOD test accuracy LR SD over seeds")->empirical, 0.0);
        ac_claim_result_clear(&res);
    }
}

/* Records of the default size's settings with ATTN - LR drawn around the
 * paper's per-setting advantage minus `plant`, noise SD sigma. */
static void fake_ood_records(const ac_run_opts *o, ac_trial_set *set, gsl_rng *r, double sigma, double plant)
{
    ac_moe_ood_size z;
    ac_moe_ood_size_of(o->size, &z);
    ac_trial_set_init(set, ood_def.id, o, z.seeds);
    for (int i = 0; i < z.seeds; i++) {
        ac_trial_set one;
        ac_trial_set_init(&one, ood_def.id, o, z.seeds);
        one.rec = calloc(1, sizeof *one.rec);
        one.cap = one.nrec = 1;
        ac_trial_record_init(&one.rec[0], i);
        double attn[AC_MOE_SHIFT_NSETTINGS], lr[AC_MOE_SHIFT_NSETTINGS];
        for (int k = 0; k < z.nsettings; k++) {
            lr[k] = ac_moe_paper_sim(0, z.settings[k], 0, 0);
            attn[k] = ac_moe_paper_sim(0, z.settings[k], 4, 0) - plant + gsl_ran_gaussian(r, sigma);
        }
        ac_trial_put(&one.rec[0], "attn_test_acc", z.nsettings, attn);
        ac_trial_put(&one.rec[0], "lr_test_acc", z.nsettings, lr);
        ac_trial_put(&one.rec[0], "mlp_test_acc", z.nsettings, lr);
        cr_assert_eq(ac_trial_set_merge(set, &one, NULL), AC_OK);
        ac_trial_set_clear(&one);
    }
}

/* The judged row through the claim's own rows: records at the paper's
 * advantage pass; the same records with ATTN lowered by 0.1 (2.5 times
 * the tolerance the noise level 0.02 gives with 2 seeds x 4 settings:
 * t_4(0.99865) 0.02 sqrt(1/8 + 1/80) = 0.04) fail. */
Test(moe_tabular_claims, advantage_row_fails_under_a_planted_deficit)
{
    ac_run_opts o = {.size = AC_SIZE_DEFAULT, .seed = 3};
    for (int planted = 0; planted < 2; planted++) {
        gsl_rng *r = ac_test_rng(71); /* same noise in both runs */
        ac_trial_set set;
        fake_ood_records(&o, &set, r, 0.02, planted ? 0.1 : 0.0);
        ac_claim_result res;
        cr_assert_eq(ac_claim_run_records(&ood_def, &o, &set, &res), AC_OK, "%s", res.error);
        const ac_claim_row *row = row_of(&res, ADV_ROW);
        cr_assert_eq(row->metric, AC_METRIC_ABS);
        cr_assert(row->tol > 0.02 && row->tol < 0.1, "tol %g", row->tol);
        cr_assert_eq(row->verdict, planted ? AC_VERDICT_FAIL : AC_VERDICT_PASS, "planted %d: %g vs %g tol %g",
                     planted, row->empirical, row->theory, row->tol);
        cr_assert_eq(res.verdict, planted ? AC_VERDICT_FAIL : AC_VERDICT_PASS);
        ac_claim_result_clear(&res);
        ac_trial_set_clear(&set);
        gsl_rng_free(r);
    }
}

/* The tolerance's derivation: with many seeds the pooled SD estimates the
 * noise level, and a shift of 5 standard errors is caught while none is
 * not (seeded draws; the pass side fails with probability 0.27%). */
Test(moe_tabular_claims, advantage_tolerance_follows_its_derivation)
{
    gsl_rng *r = ac_test_rng(72);
    int n = 20, K = 12;
    double sigma = 0.05, paper[12], a[20 * 12];
    for (int k = 0; k < K; k++)
        paper[k] = 0.01 * k;
    for (int planted = 0; planted < 2; planted++) {
        gsl_rng_set(r, ac_test_seed(72));
        double shift = planted ? 5.0 * sigma * sqrt(1.0 / (n * K) + 1.0 / (20.0 * K)) : 0.0;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < K; k++)
                a[i * K + k] = paper[k] + shift + gsl_ran_gaussian(r, sigma);
        ac_moe_adv adv;
        ac_moe_advantage(a, n, K, paper, &adv);
        cr_assert_eq(adv.dof, K * (n - 1));
        /* The pooled SD of 228 degrees of freedom: relative SE 1/sqrt(456) = 0.047; 4 SE. */
        cr_assert(fabs(adv.sd / sigma - 1.0) < 0.19, "sd %g", adv.sd);
        cr_assert(fabs(adv.se_ours - adv.sd / sqrt(n * K)) <= 1e-15);
        cr_assert(fabs(adv.se_paper - adv.sd / sqrt(20.0 * K)) <= 1e-15);
        cr_assert_eq(fabs(adv.ours - adv.paper) > adv.tol, planted, "planted %d: %g vs %g tol %g", planted,
                     adv.ours, adv.paper, adv.tol);
    }
    double one[3] = {0.1, 0.2, 0.3};
    ac_moe_adv adv;
    ac_moe_advantage(one, 1, 3, paper, &adv); /* one seed: no spread, no tolerance */
    cr_assert(isnan(adv.tol));
    gsl_rng_free(r);
}

/* A trial of moe.tabular-ood, exported with `moe generate` and run again
 * with `moe tabular`, gives the same numbers to the last bit. */
Test(moe_tabular_claims, tabular_on_an_exported_trial_repeats_the_claim)
{
    const char *bin = getenv("AC_BIN");
    if (!bin || access(bin, X_OK) != 0)
        cr_skip_test("AC_BIN does not name the attncheck binary (make test sets it)");
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 11};
    ac_moe_ood_size z;
    ac_moe_ood_size_of(o.size, &z);
    int trial = 1, k = 1; /* the second setting of the second trial */
    ac_trial_set set;
    ac_msg msg;
    ac_trial_set_init(&set, ood_def.id, &o, z.seeds);
    cr_assert_eq(ac_trial_run(&ac_moe_tabular_ood_trials, &o, trial, trial + 1, &set, &msg), AC_OK, "%s",
                 msg.text);
    unsigned long u = ac_moe_shift_data_seed(o.seed, trial, z.settings[k]);
    char dir[] = "/tmp/ac_moe_tab_XXXXXX", cmd[2048], path[512];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/out.json", dir);
    snprintf(cmd, sizeof cmd,
             "'%s' moe generate --task shift --setting %d --n %d --seed %lu --out '%s/d' && "
             "'%s' moe tabular --csv '%s/d.csv' --target y --train-where split=train --test-where split=test "
             "--seed %lu --seeds 1 --epochs %d %s --format json --out '%s'",
             bin, z.settings[k], z.n, u, dir, bin, dir, u, z.epochs, z.bare ? "--bare" : "", path);
    cr_assert_eq(system(cmd), 0, "%s", cmd);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    cr_assert_not_null(root, "%s", err.text);
    static const char *const metric[4] = {"train_acc", "test_acc", "train_mse", "test_mse"};
    for (int m = 0; m < AC_MOE_TAB_NMETHODS; m++) {
        if (m == AC_MOE_TAB_BARE && !z.bare)
            continue;
        for (int q = 0; q < 4; q++) {
            char name[64];
            snprintf(name, sizeof name, "%s_%s", ac_moe_tab_method_name(m), metric[q]);
            double want = ac_trial_get1(&set.rec[0], name, k);
            json_t *v = json_array_get(json_object_get(json_object_get(json_object_get(json_object_get(root,
                                                                                                       "methods"),
                                                                                       ac_moe_tab_method_name(m)),
                                                                       metric[q]),
                                                       "per_seed"),
                                       0);
            cr_assert_not_null(v, "%s", name);
            cr_assert(ac_test_same_bits(json_real_value(v), want), "%s: CLI %.17g claim %.17g", name,
                      json_real_value(v), want);
        }
    }
    json_decref(root);
    ac_trial_set_clear(&set);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
