/* Bit-for-bit comparison of two claim results (rows, setup, figures), the
 * wall-clock timings aside: for the tests that split a claim's trials and
 * merge their records. */
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

#endif
