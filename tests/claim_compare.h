/* What every paper's claim tests share: bit-for-bit comparison of two claim
 * results (rows, setup, figures; the wall-clock timings aside) for the tests
 * that split a claim's trials and merge their records, and the quick-size
 * records, rows and verdicts that the planted-violation tests edit and read. */
#ifndef AC_CLAIM_COMPARE_H
#define AC_CLAIM_COMPARE_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "verify/claim.h"
#include "verify/trial.h"

/* Same bits, so NaN equals NaN and -0 differs from 0. */
static inline int ac_test_same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

static inline int ac_test_same_array(const double *a, const double *b, int n)
{
    if (!a || !b)
        return a == b;
    return n <= 0 || memcmp(a, b, sizeof(double) * (size_t)n) == 0;
}

/* Assert a and b are the same table; `what` names the case. */
static inline void ac_test_same_result(const ac_claim_result *a, const ac_claim_result *b, const char *what)
{
    cr_assert_eq(a->nrows, b->nrows, "%s: %d rows against %d", what, a->nrows, b->nrows);
    cr_assert_str_eq(a->setup, b->setup, "%s: setup differs", what);
    cr_assert_eq(a->verdict, b->verdict, "%s: verdict differs", what);
    for (int i = 0; i < a->nrows; i++) {
        const ac_claim_row *x = &a->rows[i], *y = &b->rows[i];
        cr_assert_str_eq(x->quantity, y->quantity, "%s: row %d", what, i);
        cr_assert_str_eq(x->theory_what, y->theory_what, "%s: row %d", what, i);
        cr_assert_str_eq(x->tol_reason, y->tol_reason, "%s: row %d", what, i);
        cr_assert(ac_test_same_bits(x->theory, y->theory), "%s: row '%s' theory %.17g vs %.17g", what, x->quantity,
                  x->theory, y->theory);
        cr_assert(ac_test_same_bits(x->empirical, y->empirical), "%s: row '%s' empirical %.17g vs %.17g", what,
                  x->quantity, x->empirical, y->empirical);
        cr_assert(ac_test_same_bits(x->tol, y->tol), "%s: row '%s' tol", what, x->quantity);
        cr_assert(ac_test_same_bits(x->deviation, y->deviation), "%s: row '%s' deviation", what, x->quantity);
        cr_assert(x->metric == y->metric && x->verdict == y->verdict && x->is_count == y->is_count,
                  "%s: row '%s' metric, verdict or count flag", what, x->quantity);
    }
    cr_assert_eq(a->nfigs, b->nfigs, "%s: figures", what);
    for (int f = 0; f < a->nfigs; f++) {
        const ac_figure *g = &a->figs[f], *h = &b->figs[f];
        cr_assert_str_eq(g->name, h->name, "%s: figure %d", what, f);
        cr_assert_eq(g->nseries, h->nseries, "%s: figure %s series", what, g->name);
        for (int s = 0; s < g->nseries; s++) {
            const ac_series *p = &g->series[s], *q = &h->series[s];
            cr_assert(strcmp(p->label, q->label) == 0 && p->n == q->n, "%s: %s series %d", what, g->name, s);
            cr_assert(ac_test_same_array(p->x, q->x, p->n) && ac_test_same_array(p->y, q->y, p->n) &&
                          ac_test_same_array(p->lo, q->lo, p->n) && ac_test_same_array(p->hi, q->hi, p->n),
                      "%s: %s series '%s' differs", what, g->name, p->label);
        }
    }
}

/* The rows of claim cdef from trials [0, k) and [k, n) run apart, each set
 * written to JSON text and read back, then merged and judged into res (the
 * caller clears it): what `attncheck run --trials` and `attncheck merge`
 * do across machines.  A part with no trials is written and read empty. */
static inline void ac_test_split_rows(const ac_claim_def *cdef, const ac_run_opts *o, int k,
                                      ac_claim_result *res)
{
    const ac_trial_def *def = cdef->trials;
    int n = def->ntrials(o);
    ac_trial_set part[2];
    ac_msg msg = {{0}};
    for (int p = 0; p < 2; p++) {
        ac_trial_set_init(&part[p], cdef->id, o, n);
        if ((p ? n : k) > (p ? k : 0))
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

/* The records of a claim's quick run (seed 1) into set (the caller clears it). */
static inline void ac_test_quick_set(const char *id, ac_trial_set *set)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
    const ac_trial_def *def = ac_registry_find_claim(id)->trials;
    ac_msg msg = {{0}};
    ac_trial_set_init(set, id, &o, def->ntrials(&o));
    cr_assert_eq(ac_trial_run(def, &o, 0, set->ntrials, set, &msg), AC_OK, "%s", msg.text);
}

/* Entry k of vector `name` of record i, writable (a test failure when the
 * record has none). */
static inline double *ac_test_entry(ac_trial_set *set, int i, const char *name, int k)
{
    for (int v = 0; v < set->rec[i].nvec; v++)
        if (strcmp(set->rec[i].vec[v].name, name) == 0 && k < set->rec[i].vec[v].n)
            return &set->rec[i].vec[v].v[k];
    cr_assert_fail("record %d has no %s[%d]", i, name, k);
    return NULL;
}

/* The judged rows of set under the claim's own rows function, quick size
 * (the caller clears res). */
static inline void ac_test_rows_of(const char *id, const ac_trial_set *set, ac_claim_result *res)
{
    ac_run_opts o = {.size = AC_SIZE_QUICK, .seed = 1};
    ac_msg msg = {{0}};
    ac_claim_result_init(res, ac_registry_find_claim(id));
    cr_assert_eq(ac_trial_rows(ac_registry_find_claim(id)->trials, &o, set, res, &msg), AC_OK, "%s", msg.text);
    ac_claim_judge(res);
}

/* The one row whose quantity starts with `row`. */
static inline const ac_claim_row *ac_test_row_of(const ac_claim_result *res, const char *row)
{
    const ac_claim_row *r = NULL;
    int found = 0;
    for (int i = 0; i < res->nrows; i++)
        if (strncmp(res->rows[i].quantity, row, strlen(row)) == 0)
            r = &res->rows[i], found++;
    cr_assert_eq(found, 1, "%s: %d rows start with '%s'", res->id, found, row);
    return r;
}

/* The verdict of the one row whose quantity starts with `row`. */
static inline ac_verdict ac_test_row_verdict(const char *id, const ac_trial_set *set, const char *row)
{
    ac_claim_result res;
    ac_test_rows_of(id, set, &res);
    ac_verdict v = ac_test_row_of(&res, row)->verdict;
    ac_claim_result_clear(&res);
    return v;
}

#endif
