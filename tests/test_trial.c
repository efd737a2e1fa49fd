/* The trial harness (verify/trial.h) on a paper-agnostic fake claim: seeding
 * by (seed, index), records that split, travel through JSON and merge into
 * the same table bit for bit, statistics against GSL, sticky errors,
 * progress and timing. */
#include <criterion/criterion.h>
#include <float.h>
#include <gsl/gsl_statistics_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "claim_compare.h"
#include "testutil.h"
#include "verify/trial.h"

/* ---- a fake claim: each trial draws numbers from its generator ---- */

#define FAKE_CURVE 6
#define FAKE_TRIALS 7
/* The fake trial that records no "score" (below FAKE_TRIALS). */
#define FAKE_NO_SCORE 4

static int fake_ntrials(const ac_run_opts *o)
{
    return o->size == AC_SIZE_QUICK ? 3 : FAKE_TRIALS;
}

/* Record: "t" and "curve" (FAKE_CURVE entries), "u" (1 to 5 uniforms),
 * "score" (their mean, times 1.7312); trial FAKE_NO_SCORE has no "score" (a skipped
 * trial) and its "u" holds NaN and infinities. */
static ac_status fake_trial(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    (void)o, (void)msg;
    int k = 1 + (int)gsl_rng_uniform_int(t->r, 5);
    double u[5], s = 0.0;
    ac_trial_enter(t, AC_TRIAL_THEORY);
    for (int i = 0; i < k; i++)
        s += u[i] = gsl_rng_uniform(t->r);
    ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
    double *c = ac_trial_put(t->rec, "curve", FAKE_CURVE, NULL), *x = ac_trial_put(t->rec, "t", FAKE_CURVE, NULL);
    /* the record's vectors may move at a put: c was taken before x */
    c = (double *)ac_trial_get(t->rec, "curve")->v;
    for (int i = 0; i < FAKE_CURVE; i++) {
        c[i] = gsl_ran_gaussian(t->r, 1.0) / (i + 1.0);
        x[i] = 10.0 * i;
    }
    ac_trial_enter(t, AC_TRIAL_OTHER);
    if (t->index == FAKE_NO_SCORE) {
        u[0] = NAN;
        if (k > 1)
            u[1] = INFINITY;
        if (k > 2)
            u[2] = -INFINITY;
    } else {
        ac_trial_put1(t->rec, "score", 1.7312 * s / k);
    }
    ac_trial_put(t->rec, "u", k, u);
    return AC_OK;
}

static ac_status fake_rows(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)msg;
    snprintf(res->setup, sizeof res->setup, "fake, seed %lu", o->seed);
    ac_trial_stats s = ac_trial_stat(set, "score", 0);
    ac_claim_add(res, "mean score", "0.8656", 0.8656, s.mean, AC_METRIC_ABS, 0.5, "uniform mean");
    ac_claim_add(res, "sd score", "", NAN, s.sd, AC_METRIC_INFO, 0.0, "");
    ac_claim_add(res, "max score", "", NAN, s.max, AC_METRIC_INFO, 0.0, "");
    ac_claim_add(res, "u[1] of the last record", "", NAN, ac_trial_get1(&set->rec[set->nrec - 1], "u", 1),
                 AC_METRIC_INFO, 0.0, "");
    ac_figure *f = ac_claim_add_figure(res, "fake-curve", "curve", "t", "c", 0, 0);
    ac_trial_band(f, "mean, min-max", set, "t", "curve", 1);
    return AC_OK;
}

static const ac_trial_def fake_def = {.ntrials = fake_ntrials, .trial = fake_trial, .rows = fake_rows};

static const ac_claim_def fake_claim_def = {
    .id = "fake.trials", .paper = "fake", .statement = "a fake claim over trials", .trials = &fake_def};

/* A set through JSON text and back. */
static void json_trip(ac_trial_set *set)
{
    json_t *j = ac_trial_set_to_json(set);
    cr_assert_not_null(j);
    char *text = json_dumps(j, 0);
    json_decref(j);
    cr_assert_not_null(text);
    json_error_t err;
    json_t *back = json_loads(text, 0, &err);
    free(text);
    cr_assert_not_null(back, "line %d: %s", err.line, err.text);
    ac_trial_set_clear(set);
    ac_msg msg = {{0}};
    cr_assert_eq(ac_trial_set_from_json(back, set, &msg), AC_OK, "%s", msg.text);
    json_decref(back);
}

/* The rows of def from trials [0, k) and [k, n) run apart, each through
 * JSON, then merged (the later part first, to show order does not matter). */
static void split_rows(const ac_claim_def *cdef, const ac_trial_def *def, const ac_run_opts *o, int k,
                       ac_claim_result *res)
{
    ac_trial_set a, b;
    ac_msg msg = {{0}};
    int n = def->ntrials(o);
    ac_trial_set_init(&a, cdef->id, o, n);
    ac_trial_set_init(&b, cdef->id, o, n);
    cr_assert_eq(ac_trial_run(def, o, k, n, &b, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_trial_run(def, o, 0, k, &a, &msg), AC_OK, "%s", msg.text);
    json_trip(&a);
    json_trip(&b);
    cr_assert_eq(ac_trial_set_merge(&b, &a, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(a.nrec, 0);
    cr_assert(ac_trial_set_complete(&b));
    ac_claim_result_init(res, cdef);
    cr_assert_eq(ac_trial_rows(def, o, &b, res, &msg), AC_OK, "%s", msg.text);
    ac_claim_judge(res);
    ac_trial_set_clear(&a);
    ac_trial_set_clear(&b);
}

Test(trial, split_runs_merged_through_json_give_the_table_bit_for_bit)
{
    ac_run_opts o = {.size = AC_SIZE_DEFAULT, .seed = ac_test_seed(17)};
    ac_claim_result full;
    cr_assert_eq(ac_claim_run(&fake_claim_def, &o, &full), AC_OK, "%s", full.error);
    cr_assert_eq(full.nfigs, 1);
    cr_assert_eq(full.figs[0].series[0].n, FAKE_CURVE - 1);
    for (int k = 0; k <= FAKE_TRIALS; k++) {
        ac_claim_result part;
        char what[32];
        snprintf(what, sizeof what, "split at %d", k);
        split_rows(&fake_claim_def, &fake_def, &o, k, &part);
        ac_test_same_result(&full, &part, what);
        ac_claim_result_clear(&part);
    }
    ac_claim_result_clear(&full);
}

/* Trial i alone records what it records inside the full run; another seed
 * records something else. */
Test(trial, a_trial_depends_on_seed_and_index_only)
{
    ac_run_opts o = {.size = AC_SIZE_DEFAULT, .seed = ac_test_seed(5)}, o2 = o;
    o2.seed++;
    ac_trial_set all, one, other;
    ac_msg msg = {{0}};
    ac_trial_set_init(&all, "fake.trials", &o, FAKE_TRIALS);
    ac_trial_set_init(&one, "fake.trials", &o, FAKE_TRIALS);
    ac_trial_set_init(&other, "fake.trials", &o2, FAKE_TRIALS);
    cr_assert_eq(ac_trial_run(&fake_def, &o, 0, FAKE_TRIALS, &all, &msg), AC_OK);
    cr_assert_eq(ac_trial_run(&fake_def, &o, 3, 4, &one, &msg), AC_OK);
    cr_assert_eq(ac_trial_run(&fake_def, &o2, 3, 4, &other, &msg), AC_OK);
    const ac_trial_vec *a = ac_trial_get(&all.rec[3], "curve"), *b = ac_trial_get(&one.rec[0], "curve"),
                       *c = ac_trial_get(&other.rec[0], "curve");
    cr_assert(ac_test_same_array(a->v, b->v, FAKE_CURVE));
    cr_assert_not(ac_test_same_array(a->v, c->v, FAKE_CURVE));
    /* trial i of seed S is trial i - 1 of seed S + 1: the rule is seed + index */
    ac_trial_set_clear(&other);
    ac_trial_set_init(&other, "fake.trials", &o2, FAKE_TRIALS);
    cr_assert_eq(ac_trial_run(&fake_def, &o2, 2, 3, &other, &msg), AC_OK);
    cr_assert(ac_test_same_array(a->v, ac_trial_get(&other.rec[0], "curve")->v, FAKE_CURVE));
    ac_trial_set_clear(&all), ac_trial_set_clear(&one), ac_trial_set_clear(&other);
}

/* Every bit survives the JSON text, NaN and infinities included. */
Test(trial, json_keeps_every_bit_nan_and_infinities)
{
    const double v[] = {1.7312, -0.0, 0.1, 1.0 / 3.0, DBL_MIN, 4.9406564584124654e-324, DBL_MAX, -2.5e-300,
                        NAN, INFINITY, -INFINITY, 3.0};
    int n = (int)(sizeof v / sizeof v[0]);
    ac_run_opts o = {.size = AC_SIZE_PAPER, .seed = 123456789UL};
    ac_trial_set set, one;
    ac_trial_set_init(&set, "x.json", &o, 4);
    ac_trial_set_init(&one, "x.json", &o, 4);
    one.rec = calloc(1, sizeof *one.rec);
    one.cap = one.nrec = 1;
    ac_trial_record_init(&one.rec[0], 2);
    cr_assert_not_null(ac_trial_put(&one.rec[0], "values", n, v));
    cr_assert_not_null(ac_trial_put(&one.rec[0], "empty", 0, NULL));
    one.rec[0].theory_seconds = 0.25;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_trial_set_merge(&set, &one, &msg), AC_OK, "%s", msg.text);
    json_trip(&set);
    cr_assert_str_eq(set.id, "x.json");
    cr_assert(set.seed == 123456789UL && set.size == AC_SIZE_PAPER && set.ntrials == 4 && set.nrec == 1);
    cr_assert_eq(set.rec[0].index, 2);
    cr_assert_eq(set.rec[0].theory_seconds, 0.25);
    const ac_trial_vec *e = ac_trial_get(&set.rec[0], "values");
    cr_assert(e && e->n == n);
    for (int i = 0; i < n; i++)
        cr_assert(ac_test_same_bits(e->v[i], v[i]) || (isnan(v[i]) && isnan(e->v[i])), "entry %d: %.17g", i,
                  e->v[i]);
    cr_assert_eq(ac_trial_get(&set.rec[0], "empty")->n, 0);
    ac_trial_set_clear(&set);
    ac_trial_set_clear(&one);
}

/* A record changed after it was written is refused by its digest: one value
 * moved by one ulp, a vector dropped, the run's seed or the record's index
 * changed (before, a record without a vector was read, and the statistics
 * passed over its trial).  The untouched JSON reads back. */
Test(trial, a_record_changed_after_writing_is_refused_by_its_digest)
{
    ac_run_opts o = {.size = AC_SIZE_DEFAULT, .seed = 7};
    ac_trial_set set;
    ac_msg msg = {{0}};
    ac_trial_set_init(&set, "fake.trials", &o, FAKE_TRIALS);
    cr_assert_eq(ac_trial_run(&fake_def, &o, 0, FAKE_TRIALS, &set, &msg), AC_OK, "%s", msg.text);
    json_t *j = ac_trial_set_to_json(&set);
    cr_assert_not_null(j);
    for (int c = 0; c < 5; c++) {
        json_t *e = json_deep_copy(j);
        json_t *r1 = json_array_get(json_object_get(e, "records"), 1), *vs = json_object_get(r1, "vectors");
        json_t *curve = json_object_get(vs, "curve");
        if (c == 1)
            json_array_set_new(curve, 0, json_real(nextafter(json_number_value(json_array_get(curve, 0)), INFINITY)));
        else if (c == 2)
            json_object_del(vs, "curve");
        else if (c == 3)
            json_object_set_new(e, "seed", json_integer(8));
        else if (c == 4)
        {
            /* record 1 claims the last trial's place, the last record removed */
            json_object_set_new(r1, "index", json_integer(FAKE_TRIALS - 1));
            json_array_remove(json_object_get(e, "records"), FAKE_TRIALS - 1);
        }
        ac_trial_set back;
        ac_status st = ac_trial_set_from_json(e, &back, &msg);
        if (c == 0)
            cr_assert_eq(st, AC_OK, "untouched: %s", msg.text);
        else
            cr_assert(st == AC_EPARSE &&
                          strstr(msg.text, c == 3 ? "trial record 0 (trial 0)" : "trial record 1 (trial ") &&
                          strstr(msg.text, "digest does not match"),
                      "case %d: %s", c, msg.text); /* a changed seed: every record, the first named */
        ac_trial_set_clear(&back);
        json_decref(e);
    }
    json_decref(j);
    ac_trial_set_clear(&set);
}

/* Malformed JSON is refused with a message naming the field. */
Test(trial, json_of_another_shape_is_refused)
{
    const char *bad[] = {
        "[]",
        "{\"id\": \"x\", \"source\": \"s\", \"seed\": 1, \"size\": \"huge\", \"ntrials\": 2, \"records\": []}",
        "{\"id\": \"x\", \"source\": \"s\", \"seed\": 1, \"size\": \"quick\", \"ntrials\": 2, \"records\": [{\"index\": 5, "
        "\"theory_seconds\": 0, \"empirical_seconds\": 0, \"vectors\": {}}]}",
        "{\"id\": \"x\", \"source\": \"s\", \"seed\": 1, \"size\": \"quick\", \"ntrials\": 2, \"records\": [{\"index\": 1, "
        "\"theory_seconds\": 0, \"empirical_seconds\": 0, \"vectors\": {\"a\": [1, \"one\"]}}]}",
        "{\"id\": \"x\", \"source\": \"s\", \"seed\": 1, \"size\": \"quick\", \"ntrials\": 2, \"records\": [{\"index\": 1, "
        "\"theory_seconds\": 0, \"empirical_seconds\": 0, \"vectors\": {}}, {\"index\": 1, "
        "\"theory_seconds\": 0, \"empirical_seconds\": 0, \"vectors\": {}}]}",
        /* records that fail before any field is read: each once freed memory
         * it never owned (a double free, exit 134, in attncheck merge) */
        "{\"id\": \"x\", \"source\": \"s\", \"seed\": 1, \"size\": \"quick\", \"ntrials\": 2, \"records\": [7]}",
        "{\"id\": \"x\", \"source\": \"s\", \"seed\": 1, \"size\": \"quick\", \"ntrials\": 2, \"records\": [{\"index\": 0.0, "
        "\"vectors\": {}}]}",
        "{\"id\": \"x\", \"source\": \"s\", \"seed\": 1, \"size\": \"quick\", \"ntrials\": 2, \"records\": [{\"index\": -1, "
        "\"vectors\": {}}]}",
        "{\"id\": \"x\", \"source\": \"s\", \"seed\": 1, \"size\": \"quick\", \"ntrials\": 2, \"records\": [{\"vectors\": {}}]}",
        "{\"id\": \"x\", \"source\": \"s\", \"seed\": 1, \"size\": \"quick\", \"ntrials\": 2, \"records\": [{\"index\": 0}]}",
        /* more records than trials: refused before any is read */
        "{\"id\": \"x\", \"source\": \"s\", \"seed\": 1, \"size\": \"quick\", \"ntrials\": 1, \"records\": [{}, {}]}",
    };
    const char *says[] = {"need", "size", "outside", "entry 1", "appears twice",
                          "not an object", "index", "index", "index", "vectors", "more than the 1 trials"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        cr_assert_not_null(j);
        ac_trial_set set;
        ac_msg msg = {{0}};
        ac_status st = ac_trial_set_from_json(j, &set, &msg);
        cr_assert_neq(st, AC_OK, "case %zu accepted", i);
        cr_assert(strstr(msg.text, says[i]), "case %zu: '%s' does not say '%s'", i, msg.text, says[i]);
        cr_assert_eq(set.nrec, 0);
        ac_trial_set_clear(&set);
        json_decref(j);
    }
}

/* ---- records files: the sweep over machines ---- */

/* A temporary directory for the files of one test; removed by the caller. */
static void temp_dir(char *dir, size_t cap)
{
    snprintf(dir, cap, "/tmp/ac_trial_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Trials [0, k) and [k, n) written to two files, read back and merged
 * (later part first): the result from those records is ac_claim_run's, bit
 * for bit, and the recorded seconds are the ones summed into it. */
Test(trial, records_files_read_back_and_merged_give_the_run_bit_for_bit)
{
    char dir[64], pa[128], pb[128];
    temp_dir(dir, sizeof dir);
    snprintf(pa, sizeof pa, "%s/a.json", dir);
    snprintf(pb, sizeof pb, "%s/b.json", dir);
    ac_run_opts o = {.size = AC_SIZE_DEFAULT, .seed = ac_test_seed(23)};
    ac_claim_result full;
    cr_assert_eq(ac_claim_run(&fake_claim_def, &o, &full), AC_OK, "%s", full.error);
    for (int k = 0; k <= FAKE_TRIALS; k++) {
        ac_trial_set a, b;
        ac_msg msg = {{0}};
        ac_trial_set_init(&a, fake_claim_def.id, &o, FAKE_TRIALS);
        ac_trial_set_init(&b, fake_claim_def.id, &o, FAKE_TRIALS);
        cr_assert_eq(ac_trial_run(&fake_def, &o, 0, k, &a, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(ac_trial_run(&fake_def, &o, k, FAKE_TRIALS, &b, &msg), AC_OK, "%s", msg.text);
        double seconds = 0.0;
        for (int i = 0; i < a.nrec; i++)
            seconds += a.rec[i].theory_seconds;
        cr_assert_eq(ac_trial_set_write(&a, pa, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(ac_trial_set_write(&b, pb, &msg), AC_OK, "%s", msg.text);
        ac_trial_set_clear(&a);
        ac_trial_set_clear(&b);
        cr_assert_eq(ac_trial_set_read(pa, &a, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(ac_trial_set_read(pb, &b, &msg), AC_OK, "%s", msg.text);
        double back = 0.0;
        for (int i = 0; i < a.nrec; i++)
            back += a.rec[i].theory_seconds;
        cr_assert(ac_test_same_bits(seconds, back), "split at %d: seconds %.17g read back as %.17g", k, seconds,
                  back);
        cr_assert_eq(ac_trial_set_merge(&b, &a, &msg), AC_OK, "%s", msg.text);
        ac_claim_result part;
        cr_assert_eq(ac_claim_run_records(&fake_claim_def, &o, &b, &part), AC_OK, "%s", part.error);
        char what[32];
        snprintf(what, sizeof what, "files split at %d", k);
        ac_test_same_result(&full, &part, what);
        ac_claim_result_clear(&part);
        ac_trial_set_clear(&a);
        ac_trial_set_clear(&b);
    }
    ac_claim_result_clear(&full);
    remove_dir(dir);
}

/* A file that is missing, a directory, not JSON or not records is refused
 * with a message naming it (and the line and column for bad JSON); writing
 * onto a directory is refused too. */
Test(trial, a_bad_records_file_is_refused_naming_it)
{
    char dir[64], path[128];
    temp_dir(dir, sizeof dir);
    const char *text[] = {"{\"id\": \"x\",\n \"seed\": }", "[1.7312]",
                          "{\"id\": \"x\", \"source\": \"s\", \"seed\": -1, \"size\": \"quick\", \"ntrials\": 2, \"records\": []}"};
    const char *says[] = {":2:", "need", "negative"};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++) {
        snprintf(path, sizeof path, "%s/bad%zu.json", dir, i);
        FILE *f = fopen(path, "w");
        cr_assert_not_null(f);
        fputs(text[i], f);
        fclose(f);
        ac_trial_set set;
        ac_msg msg = {{0}};
        cr_assert_eq(ac_trial_set_read(path, &set, &msg), AC_EPARSE, "case %zu accepted", i);
        cr_assert(strstr(msg.text, path) && strstr(msg.text, says[i]), "case %zu: '%s'", i, msg.text);
        cr_assert_eq(set.nrec, 0);
        ac_trial_set_clear(&set);
    }
    ac_trial_set set;
    ac_msg msg = {{0}};
    snprintf(path, sizeof path, "%s/nosuch.json", dir);
    cr_assert_eq(ac_trial_set_read(path, &set, &msg), AC_EIO);
    cr_assert(strstr(msg.text, path) && strstr(msg.text, "cannot open"), "%s", msg.text);
    cr_assert_eq(ac_trial_set_read(dir, &set, &msg), AC_EIO);
    cr_assert(strstr(msg.text, dir) && strstr(msg.text, "read failed"), "%s", msg.text);
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
    ac_trial_set_init(&set, "x.y", &o, 1);
    cr_assert_neq(ac_trial_set_write(&set, dir, &msg), AC_OK);
    cr_assert(strstr(msg.text, dir), "%s", msg.text);
    ac_trial_set_clear(&set);
    remove_dir(dir);
}

/* The result from records needs all of them, of this claim and run; a def
 * without trials cannot run. */
Test(trial, a_result_from_records_needs_every_trial_of_this_run)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 4}, o2 = o;
    o2.seed = 5;
    ac_trial_set set;
    ac_msg msg = {{0}};
    ac_trial_set_init(&set, fake_claim_def.id, &o, fake_ntrials(&o));
    cr_assert_eq(ac_trial_run(&fake_def, &o, 0, 2, &set, &msg), AC_OK, "%s", msg.text);
    ac_claim_result res;
    cr_assert_eq(ac_claim_run_records(&fake_claim_def, &o, &set, &res), AC_EINVAL);
    cr_assert(strstr(res.error, "fake.trials") && strstr(res.error, "2 of 3"), "%s", res.error);
    cr_assert_eq(res.verdict, AC_VERDICT_FAIL);
    cr_assert_eq(res.nrows, 0);
    ac_claim_result_clear(&res);
    cr_assert_eq(ac_trial_run(&fake_def, &o, 2, 3, &set, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_claim_run_records(&fake_claim_def, &o2, &set, &res), AC_EINVAL, "seed 4's records as seed 5");
    ac_claim_result_clear(&res);
    static const ac_claim_def other = {.id = "fake.other", .paper = "fake", .statement = "", .trials = &fake_def};
    cr_assert_eq(ac_claim_run_records(&other, &o, &set, &res), AC_EINVAL, "another claim's records");
    ac_claim_result_clear(&res);
    cr_assert_eq(ac_claim_run_records(&fake_claim_def, &o, &set, &res), AC_OK, "%s", res.error);
    cr_assert_gt(res.nrows, 0);
    ac_claim_result_clear(&res);
    /* records of another build (its source id): another code's numbers, and
     * they do not merge with this build's (before, records carried no build) */
    cr_assert_eq(strlen(ac_trial_source_id()), 16);
    ac_trial_set other_build;
    ac_trial_set_init(&other_build, fake_claim_def.id, &o, fake_ntrials(&o));
    cr_assert_str_eq(other_build.source, ac_trial_source_id());
    snprintf(other_build.source, sizeof other_build.source, "%s", "0123456789abcdef");
    cr_assert_eq(ac_trial_set_merge(&set, &other_build, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "source 0123456789abcdef"), "%s", msg.text);
    snprintf(set.source, sizeof set.source, "%s", "0123456789abcdef");
    cr_assert_eq(ac_claim_run_records(&fake_claim_def, &o, &set, &res), AC_EINVAL, "another build's records");
    cr_assert(strstr(res.error, "not this build's"), "%s", res.error);
    ac_claim_result_clear(&res);
    ac_trial_set_clear(&other_build);
    static const ac_claim_def none = {.id = "fake.none", .paper = "fake", .statement = ""};
    cr_assert_eq(ac_claim_run(&none, &o, &res), AC_EINVAL);
    cr_assert(strstr(res.error, "fake.none") && strstr(res.error, "no trial definition"), "%s", res.error);
    cr_assert_eq(res.verdict, AC_VERDICT_FAIL);
    ac_claim_result_clear(&res);
    cr_assert_eq(ac_claim_run_records(&none, &o, &set, &res), AC_EINVAL);
    ac_claim_result_clear(&res);
    ac_trial_set_clear(&set);
}

/* Records of another run or claim do not merge, nor an index twice; the
 * rows need every trial. */
Test(trial, merge_refuses_other_runs_and_rows_need_every_trial)
{
    ac_run_opts o = {.size = AC_SIZE_DEFAULT, .seed = 9}, o2 = o;
    o2.seed = 10;
    ac_trial_set a, b, c, d;
    ac_msg msg = {{0}};
    ac_trial_set_init(&a, "fake.trials", &o, FAKE_TRIALS);
    ac_trial_set_init(&b, "fake.trials", &o, FAKE_TRIALS);
    ac_trial_set_init(&c, "fake.trials", &o2, FAKE_TRIALS);
    ac_trial_set_init(&d, "fake.other", &o, FAKE_TRIALS);
    cr_assert_eq(ac_trial_run(&fake_def, &o, 0, 3, &a, &msg), AC_OK);
    cr_assert_eq(ac_trial_run(&fake_def, &o, 2, 4, &b, &msg), AC_OK);
    cr_assert_eq(ac_trial_run(&fake_def, &o2, 4, 5, &c, &msg), AC_OK);
    cr_assert_eq(ac_trial_run(&fake_def, &o, 4, 5, &d, &msg), AC_OK);
    cr_assert_eq(ac_trial_set_merge(&a, &b, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "trial 2"), "%s", msg.text);
    cr_assert_eq(a.nrec, 3, "a failed merge leaves dst unchanged");
    cr_assert_eq(ac_trial_set_merge(&a, &c, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "seed 10"), "%s", msg.text);
    cr_assert_eq(ac_trial_set_merge(&a, &d, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "fake.other"), "%s", msg.text);
    cr_assert_eq(ac_trial_run(&fake_def, &o, 1, 2, &a, &msg), AC_EINVAL, "a trial twice in one set");
    cr_assert_eq(ac_trial_run(&fake_def, &o, 5, FAKE_TRIALS + 1, &a, &msg), AC_EINVAL);
    ac_claim_result res;
    ac_claim_result_init(&res, &fake_claim_def);
    cr_assert_eq(ac_trial_rows(&fake_def, &o, &a, &res, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "3 of 7"), "%s", msg.text);
    cr_assert_eq(res.nrows, 0);
    cr_assert_eq(ac_trial_run(&fake_def, &o, 3, FAKE_TRIALS, &a, &msg), AC_OK);
    cr_assert_eq(ac_trial_rows(&fake_def, &o2, &a, &res, &msg), AC_EINVAL, "rows of seed 9 under seed 10");
    cr_assert_eq(ac_trial_rows(&fake_def, &o, &a, &res, &msg), AC_OK, "%s", msg.text);
    ac_claim_result_clear(&res);
    ac_trial_set_clear(&a), ac_trial_set_clear(&b), ac_trial_set_clear(&c), ac_trial_set_clear(&d);
}

/* The statistics agree with GSL's; the band is the per-entry mean and
 * min-max over the records that have the vector. */
Test(trial, statistics_agree_with_gsl_and_skip_absent_vectors)
{
    gsl_rng *r = ac_test_rng(31);
    for (int cs = 0; cs < ac_test_cases(20); cs++) {
        int n = (int)gsl_rng_uniform_int(r, 9), m = 1 + (int)gsl_rng_uniform_int(r, 4);
        ac_run_opts o = {.size = AC_SIZE_DEFAULT, .seed = 1};
        ac_trial_set set;
        ac_trial_set_init(&set, "x.stats", &o, n + 1);
        set.rec = calloc((size_t)n + 1, sizeof *set.rec);
        set.cap = n + 1;
        double *col = malloc(sizeof(double) * (size_t)(n + 1) * m), *x = malloc(sizeof(double) * m);
        for (int j = 0; j < m; j++)
            x[j] = 1.7312 * j;
        for (int i = 0; i <= n; i++) {
            ac_trial_record_init(&set.rec[i], i);
            set.nrec++;
            if (i == n / 2)
                continue; /* a record without the vector */
            double *v = ac_trial_put(&set.rec[i], "q", m, NULL);
            ac_trial_put(&set.rec[i], "x", m, x);
            v = (double *)ac_trial_get(&set.rec[i], "q")->v;
            for (int j = 0; j < m; j++)
                v[j] = gsl_ran_gaussian(r, 2.0) + j;
        }
        ac_claim_result res;
        static const ac_claim_def def = {.id = "x.stats", .paper = "x", .statement = ""};
        ac_claim_result_init(&res, &def);
        ac_figure *f = ac_claim_add_figure(&res, "band", "", "", "", 0, 0);
        ac_status st = ac_trial_band(f, "b", &set, "x", "q", 0);
        for (int j = 0; j < m; j++) {
            int k = 0;
            for (int i = 0; i <= n; i++)
                if (i != n / 2)
                    col[k++] = ac_trial_get1(&set.rec[i], "q", j);
            ac_trial_stats s = ac_trial_stat(&set, "q", j), t = ac_trial_stats_of(col, k);
            cr_assert_eq(s.n, k, "case %d", cs);
            if (k == 0) {
                cr_assert(isnan(s.mean) && isnan(s.max));
                continue;
            }
            /* the same sums in the same order: equal bits */
            cr_assert(ac_test_same_bits(s.mean, t.mean) && ac_test_same_bits(s.sd, t.sd));
            /* GSL sums by a running mean: a few ulps of the largest |x| apart */
            double scale = 8.0 * DBL_EPSILON * (1.0 + fabs(gsl_stats_max(col, 1, k)) + fabs(gsl_stats_min(col, 1, k)));
            cr_assert_float_eq(s.mean, gsl_stats_mean(col, 1, k), scale, "case %d", cs);
            if (k > 1)
                cr_assert_float_eq(s.sd, gsl_stats_sd(col, 1, k), 10 * scale, "case %d", cs);
            cr_assert_eq(s.min, gsl_stats_min(col, 1, k));
            cr_assert_eq(s.max, gsl_stats_max(col, 1, k));
            const ac_series *b = &f->series[0];
            cr_assert(b->x[j] == x[j] && ac_test_same_bits(b->y[j], s.mean) && b->lo[j] == s.min &&
                      b->hi[j] == s.max);
        }
        cr_assert_eq(st, n == 0 ? AC_EINVAL : AC_OK, "case %d: n %d", cs, n); /* n = 0: only the empty record */
        ac_claim_result_clear(&res);
        ac_trial_set_clear(&set);
        free(col), free(x);
    }
    gsl_rng_free(r);
}

/* A NaN in any record, the first or a later one, makes min, max, mean and
 * sd NaN, and a row judged on the max FAILs: a worst case must not skip a
 * failed measurement (fmax(m, NaN) is m).  Seen to fail with the old
 * comparisons, which kept the min and max of the other records when the
 * NaN was not the first. */
Test(trial, a_nan_in_any_record_makes_every_statistic_nan)
{
    for (int n = 1; n <= 5; n++)
        for (int at = 0; at < n; at++) {
            ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
            ac_trial_set set;
            ac_trial_set_init(&set, "x.nan", &o, n);
            set.rec = calloc((size_t)n, sizeof *set.rec);
            set.cap = n;
            double col[5];
            for (int i = 0; i < n; i++) {
                ac_trial_record_init(&set.rec[i], i);
                set.nrec++;
                col[i] = i == at ? NAN : 0.25 * i; /* every other value passes the row below */
                ac_trial_put1(&set.rec[i], "q", col[i]);
            }
            ac_trial_stats s = ac_trial_stat(&set, "q", 0), t = ac_trial_stats_of(col, n);
            cr_assert_eq(s.n, n);
            cr_assert(isnan(s.min) && isnan(s.max) && isnan(s.mean) && isnan(s.sd), "n %d, NaN in record %d", n, at);
            cr_assert(isnan(t.min) && isnan(t.max) && isnan(t.mean) && isnan(t.sd), "n %d, NaN at %d", n, at);
            static const ac_claim_def def = {.id = "x.nan", .paper = "x", .statement = ""};
            ac_claim_result res;
            ac_claim_result_init(&res, &def);
            ac_claim_add(&res, "worst q", "0", 0.0, s.max, AC_METRIC_AT_MOST, 10.0, "");
            ac_claim_add(&res, "fewest q", "0", 0.0, s.min, AC_METRIC_AT_LEAST, 10.0, "");
            ac_claim_judge(&res);
            cr_assert_eq(res.rows[0].verdict, AC_VERDICT_FAIL, "n %d, NaN in record %d", n, at);
            cr_assert_eq(res.rows[1].verdict, AC_VERDICT_FAIL, "n %d, NaN in record %d", n, at);
            cr_assert_eq(res.verdict, AC_VERDICT_FAIL);
            ac_claim_result_clear(&res);
            ac_trial_set_clear(&set);
        }
}

/* ---- sticky errors ---- */

/* A trial whose put fails (a name twice) is an error naming the trial. */
static ac_status twice_trial(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    (void)o, (void)msg;
    ac_trial_put1(t->rec, "a", 1.0);
    if (t->index == 2)
        ac_trial_put1(t->rec, "a", 2.0);
    return AC_OK;
}

static ac_status count_rows(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)o, (void)msg;
    ac_claim_add(res, "n", "", NAN, set->nrec, AC_METRIC_INFO, 0.0, "");
    return AC_OK;
}

/* A band over a vector the trials never wrote: the claim is an error. */
static ac_status missing_band_rows(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    count_rows(o, set, res, msg);
    ac_trial_band(ac_claim_add_figure(res, "f", "", "", "", 0, 0), "b", set, "a", "nosuch", 0);
    return AC_OK;
}

static int three(const ac_run_opts *o)
{
    (void)o;
    return 3;
}

static const ac_trial_def twice_def = {.ntrials = three, .trial = twice_trial, .rows = count_rows};
static const ac_trial_def missing_def = {.ntrials = three, .trial = fake_trial, .rows = missing_band_rows};

/* Declared vectors (ac_trial_def.vectors): fake_trial leaves "score" out of
 * trial FAKE_NO_SCORE, which a claim declaring it refuses at the run, naming the trial
 * and the vector, and at the rows of a set recorded without the
 * declaration; a trial marked by the skip vector is exempt. */
static const char *const fake_vectors[] = {"curve", "t", "u", "score", NULL};
static const ac_trial_def declared_def = {
    .ntrials = fake_ntrials, .trial = fake_trial, .rows = fake_rows, .vectors = fake_vectors};

static ac_status skip_trial(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    if (t->index == FAKE_NO_SCORE) {
        ac_trial_put1(t->rec, "skipped", 1.0);
        return AC_OK;
    }
    return fake_trial(o, t, msg);
}

Test(trial, a_trial_without_a_declared_vector_is_refused)
{
    ac_run_opts o = {.size = AC_SIZE_DEFAULT, .seed = 1};
    ac_trial_set set;
    ac_msg msg = {{0}};
    char want[64];
    snprintf(want, sizeof want, "trial %d recorded no 'score'", FAKE_NO_SCORE);
    ac_trial_set_init(&set, "fake.trials", &o, FAKE_TRIALS);
    cr_assert_eq(ac_trial_run(&declared_def, &o, 0, FAKE_TRIALS, &set, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "fake.trials: ") == msg.text && strstr(msg.text, want), "%s", msg.text);
    cr_assert_eq(set.nrec, FAKE_NO_SCORE, "the trials before it are kept, it is not");
    ac_trial_set_clear(&set);
    /* recorded without the declaration, then judged with it */
    ac_trial_set_init(&set, "fake.trials", &o, FAKE_TRIALS);
    cr_assert_eq(ac_trial_run(&fake_def, &o, 0, FAKE_TRIALS, &set, &msg), AC_OK, "%s", msg.text);
    ac_claim_result res;
    ac_claim_result_init(&res, &fake_claim_def);
    cr_assert_eq(ac_trial_rows(&declared_def, &o, &set, &res, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, want), "%s", msg.text);
    cr_assert_eq(res.nrows, 0, "no row was judged");
    ac_claim_result_clear(&res);
    ac_trial_set_clear(&set);
    /* a skipped trial holds only its mark */
    const ac_trial_def skip_def = {.ntrials = fake_ntrials, .trial = skip_trial, .rows = fake_rows,
                                   .vectors = fake_vectors, .skip = "skipped"};
    ac_trial_set_init(&set, "fake.trials", &o, FAKE_TRIALS);
    cr_assert_eq(ac_trial_run(&skip_def, &o, 0, FAKE_TRIALS, &set, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(set.nrec, FAKE_TRIALS);
    ac_trial_set_clear(&set);
}

Test(trial, a_failed_put_or_band_makes_the_claim_an_error)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
    static const ac_claim_def d1 = {.id = "x.twice", .paper = "x", .statement = "", .trials = &twice_def},
                              d2 = {.id = "x.band", .paper = "x", .statement = "", .trials = &missing_def};
    ac_claim_result res;
    cr_assert_eq(ac_claim_run(&d1, &o, &res), AC_EINVAL);
    cr_assert(strstr(res.error, "trial 2"), "%s", res.error);
    cr_assert_eq(res.verdict, AC_VERDICT_FAIL);
    ac_claim_result_clear(&res);
    cr_assert_eq(ac_claim_run(&d2, &o, &res), AC_EINVAL);
    cr_assert_eq(res.verdict, AC_VERDICT_FAIL);
    cr_assert(strstr(res.error, "x.band"), "%s", res.error);
    ac_claim_result_clear(&res);
    /* bad names */
    ac_trial_record rec;
    ac_trial_record_init(&rec, 0);
    char longname[AC_TRIAL_NAME + 1];
    memset(longname, 'a', AC_TRIAL_NAME);
    longname[AC_TRIAL_NAME] = 0;
    cr_assert_null(ac_trial_put(&rec, "", 1, NULL));
    cr_assert_eq(rec.status, AC_EINVAL);
    rec.status = AC_OK;
    cr_assert_null(ac_trial_put(&rec, longname, 1, NULL));
    cr_assert_null(ac_trial_put(&rec, "neg", -1, NULL));
    longname[AC_TRIAL_NAME - 1] = 0;
    rec.status = AC_OK;
    cr_assert_not_null(ac_trial_put(&rec, longname, 1, NULL), "the longest name that fits");
    cr_assert_eq(rec.status, AC_OK);
    ac_trial_record_clear(&rec);
}

/* ---- progress and timing ---- */

static int stop_at_half(void *ctx, const char *id, double frac)
{
    int *calls = ctx;
    cr_assert_str_eq(id, "fake.trials");
    (*calls)++;
    return frac >= 0.5 ? -1 : 0;
}

Test(trial, progress_sees_every_trial_and_can_stop_the_run)
{
    int calls = 0;
    ac_run_opts o = {.size = AC_SIZE_DEFAULT, .seed = 1, .progress = stop_at_half, .progress_ctx = &calls};
    ac_claim_result res;
    cr_assert_eq(ac_claim_run(&fake_claim_def, &o, &res), AC_ECALLBACK);
    cr_assert_eq(calls, 4, "7 trials: stops after the 4th (4/7 >= 1/2)");
    cr_assert_eq(res.nrows, 0);
    ac_claim_result_clear(&res);
}

static ac_status slow_theory_trial(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    (void)o, (void)msg;
    struct timespec ts = {0, 20 * 1000 * 1000};
    ac_trial_enter(t, AC_TRIAL_THEORY);
    nanosleep(&ts, NULL);
    ac_trial_enter(t, AC_TRIAL_OTHER);
    struct timespec other = {0, 200 * 1000 * 1000};
    nanosleep(&other, NULL); /* counted on neither side */
    ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
    ts.tv_nsec /= 2;
    nanosleep(&ts, NULL); /* closed by the harness */
    ac_trial_put1(t->rec, "a", 1.0);
    return AC_OK;
}

static const ac_trial_def slow_def = {.ntrials = three, .trial = slow_theory_trial, .rows = count_rows};

Test(trial, each_phase_is_timed_on_its_side)
{
    static const ac_claim_def d = {.id = "x.slow", .paper = "x", .statement = "", .trials = &slow_def};
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
    ac_claim_result res;
    cr_assert_eq(ac_claim_run(&d, &o, &res), AC_OK, "%s", res.error);
    /* nanosleep sleeps at least as asked; the upper bounds only say the
     * OTHER phase (3 x 200 ms) was charged to neither side, with slack for
     * a loaded machine */
    cr_assert(res.theory_seconds >= 0.06 && res.theory_seconds < 0.5, "%g", res.theory_seconds);
    cr_assert(res.empirical_seconds >= 0.03 && res.empirical_seconds < 0.5, "%g", res.empirical_seconds);
    ac_claim_result_clear(&res);
}
