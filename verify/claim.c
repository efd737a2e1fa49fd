#include "verify/claim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verify/trial.h"

static const char *const size_names[] = {"quick", "default", "paper"};
static const char *const metric_names[] = {"abs", "rel", "at_most", "at_least", "info"};
static const char *const verdict_names[] = {"PASS", "FAIL", "INFO"};

const char *ac_size_str(ac_size s)
{
    return (unsigned)s < 3 ? size_names[s] : "?";
}

int ac_size_parse(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, size_names[i]) == 0)
            return i;
    return -1;
}

const char *ac_metric_str(ac_metric m)
{
    return (unsigned)m < 5 ? metric_names[m] : "?";
}

int ac_metric_parse(const char *s)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(s, metric_names[i]) == 0)
            return i;
    return -1;
}

const char *ac_verdict_str(ac_verdict v)
{
    return (unsigned)v < 3 ? verdict_names[v] : "?";
}

static void copy_text(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

void ac_claim_result_init(ac_claim_result *res, const ac_claim_def *def)
{
    memset(res, 0, sizeof *res);
    res->id = def->id;
    res->paper = def->paper;
    res->statement = def->statement;
    if (def->regress_rtol > 0.0) {
        res->regress_rtol = def->regress_rtol;
        copy_text(res->regress_reason, sizeof res->regress_reason, def->regress_reason);
    } else {
        res->regress_rtol = AC_REGRESS_RTOL_DEFAULT;
        copy_text(res->regress_reason, sizeof res->regress_reason,
                  "replays exactly from its seed; allows BLAS/libm summation-order differences");
    }
    res->verdict = AC_VERDICT_PASS;
    res->status = AC_OK;
}

static void series_free(ac_series *s)
{
    free(s->x), free(s->y), free(s->lo), free(s->hi);
}

void ac_claim_result_clear(ac_claim_result *res)
{
    if (!res)
        return;
    free(res->rows);
    for (int f = 0; f < res->nfigs; f++) {
        for (int i = 0; i < res->figs[f].nseries; i++)
            series_free(&res->figs[f].series[i]);
        free(res->figs[f].series);
    }
    free(res->figs);
    res->rows = NULL;
    res->figs = NULL;
    res->nrows = res->cap = res->nfigs = 0;
}

static void *add_fail(ac_claim_result *res, ac_status st)
{
    if (res->add_status == AC_OK)
        res->add_status = st;
    return NULL;
}

ac_claim_row *ac_claim_add(ac_claim_result *res, const char *quantity, const char *theory_what,
                           double theory, double empirical, ac_metric metric, double tol,
                           const char *tol_reason)
{
    if (res->nrows >= AC_CLAIM_MAX_ROWS)
        return add_fail(res, AC_ESIZE);
    if (res->nrows == res->cap) {
        int cap = res->cap ? 2 * res->cap : 8;
        ac_claim_row *r = realloc(res->rows, sizeof *r * (size_t)cap);
        if (!r)
            return add_fail(res, AC_ENOMEM);
        res->rows = r;
        res->cap = cap;
    }
    ac_claim_row *row = &res->rows[res->nrows++];
    memset(row, 0, sizeof *row);
    copy_text(row->quantity, sizeof row->quantity, quantity);
    copy_text(row->theory_what, sizeof row->theory_what, theory_what);
    copy_text(row->tol_reason, sizeof row->tol_reason, tol_reason);
    row->theory = theory;
    row->empirical = empirical;
    row->metric = metric;
    row->tol = tol;
    row->verdict = AC_VERDICT_INFO;
    return row;
}

ac_figure *ac_claim_add_figure(ac_claim_result *res, const char *name, const char *title,
                               const char *xlabel, const char *ylabel, int logx, int logy)
{
    ac_figure *f = realloc(res->figs, sizeof *f * (size_t)(res->nfigs + 1));
    if (!f)
        return add_fail(res, AC_ENOMEM);
    res->figs = f;
    ac_figure *fig = &f[res->nfigs++];
    memset(fig, 0, sizeof *fig);
    copy_text(fig->name, sizeof fig->name, name);
    copy_text(fig->title, sizeof fig->title, title);
    copy_text(fig->xlabel, sizeof fig->xlabel, xlabel);
    copy_text(fig->ylabel, sizeof fig->ylabel, ylabel);
    fig->logx = logx;
    fig->logy = logy;
    return fig;
}

static double *dup_array(const double *a, int n)
{
    if (!a)
        return NULL;
    double *c = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    if (c && n > 0)
        memcpy(c, a, sizeof(double) * (size_t)n);
    return c;
}

static ac_status series_fail(ac_figure *fig, ac_status st)
{
    if (fig->status == AC_OK)
        fig->status = st;
    return st;
}

ac_status ac_figure_add_series(ac_figure *fig, const char *label, int n, const double *x,
                               const double *y, const double *lo, const double *hi)
{
    if (!fig)
        return AC_EINVAL;
    ac_series *s = realloc(fig->series, sizeof *s * (size_t)(fig->nseries + 1));
    if (!s)
        return series_fail(fig, AC_ENOMEM);
    fig->series = s;
    ac_series *c = &s[fig->nseries];
    memset(c, 0, sizeof *c);
    copy_text(c->label, sizeof c->label, label);
    c->n = n;
    c->x = dup_array(x, n);
    c->y = dup_array(y, n);
    c->lo = dup_array(lo, n);
    c->hi = dup_array(hi, n);
    if (!c->x || !c->y || (lo && !c->lo) || (hi && !c->hi)) {
        series_free(c);
        return series_fail(fig, AC_ENOMEM);
    }
    fig->nseries++;
    return AC_OK;
}

/* Deviation towards failure and pass/fail of one row (see ac_metric). */
static void judge_row(ac_claim_row *r)
{
    double e = r->empirical, t = r->theory;
    switch (r->metric) {
    case AC_METRIC_ABS:
        r->deviation = fabs(e - t);
        break;
    case AC_METRIC_REL:
        r->deviation = fabs(e - t) / fabs(t);
        break;
    case AC_METRIC_AT_MOST:
        r->deviation = e - t;
        break;
    case AC_METRIC_AT_LEAST:
        r->deviation = t - e;
        break;
    case AC_METRIC_INFO:
    default:
        r->deviation = NAN;
        r->verdict = AC_VERDICT_INFO;
        return;
    }
    /* written so that a NaN deviation fails */
    r->verdict = r->deviation <= r->tol ? AC_VERDICT_PASS : AC_VERDICT_FAIL;
}

void ac_claim_judge(ac_claim_result *res)
{
    /* A claim whose rows are all INFO judged nothing: its verdict is INFO,
     * never a PASS that no row earned. */
    int judged = 0;
    res->verdict = AC_VERDICT_PASS;
    for (int i = 0; i < res->nrows; i++) {
        judge_row(&res->rows[i]);
        judged += res->rows[i].verdict != AC_VERDICT_INFO;
        if (res->rows[i].verdict == AC_VERDICT_FAIL)
            res->verdict = AC_VERDICT_FAIL;
    }
    if (!judged)
        res->verdict = AC_VERDICT_INFO;
    if (res->status != AC_OK)
        res->verdict = AC_VERDICT_FAIL;
}

ac_status ac_claim_build_status(const ac_claim_result *res)
{
    if (res->add_status != AC_OK)
        return res->add_status;
    for (int f = 0; f < res->nfigs; f++)
        if (res->figs[f].status != AC_OK)
            return res->figs[f].status;
    return AC_OK;
}

/* The end of every run: a sticky build error becomes the claim's error,
 * res->status and res->error are set, the rows judged. */
static ac_status claim_finish(const ac_claim_def *def, ac_claim_result *res, ac_status st, ac_msg *msg)
{
    if (st == AC_OK && (st = ac_claim_build_status(res)) != AC_OK)
        ac_fail(msg, st, "a row, figure or series of the result could not be added (%s)", ac_status_str(st));
    res->status = st;
    if (st != AC_OK)
        snprintf(res->error, sizeof res->error, "%s: %s", def->id, msg->text[0] ? msg->text : ac_status_str(st));
    ac_claim_judge(res);
    return st;
}

ac_status ac_claim_run(const ac_claim_def *def, const ac_run_opts *opts, ac_claim_result *res)
{
    ac_claim_result_init(res, def);
    ac_msg msg = {{0}};
    ac_status st = def->trials ? ac_trial_claim(def->trials, opts, res, &msg)
                               : ac_fail(&msg, AC_EINVAL, "the claim has no trial definition");
    return claim_finish(def, res, st, &msg);
}

ac_status ac_claim_run_records(const ac_claim_def *def, const ac_run_opts *opts, const ac_trial_set *set,
                               ac_claim_result *res)
{
    ac_claim_result_init(res, def);
    ac_msg msg = {{0}};
    ac_status st = def->trials ? ac_trial_rows(def->trials, opts, set, res, &msg)
                               : ac_fail(&msg, AC_EINVAL, "the claim has no trial definition");
    return claim_finish(def, res, st, &msg);
}
