#include "verify/regress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double ac_regress_allowed(double base, double rtol, double tol, int is_count)
{
    if (is_count)
        return AC_REGRESS_COUNT_FRACTION * fabs(base);
    /* fmax drops a NaN operand, so a NaN tol counts as 0 */
    return fmax(rtol * fabs(base), AC_REGRESS_TOL_FRACTION * fabs(tol));
}

int ac_regress_moved(double base, double cur, double allowed)
{
    if (isnan(base) || isnan(cur))
        return isnan(base) != isnan(cur);
    if (base == cur)
        return 0;
    double change = fabs(cur - base);
    /* an infinity against anything else changes by inf (or NaN for inf - inf) */
    if (!isfinite(change))
        return 1;
    return change > allowed;
}

static const char *text(const char *s)
{
    return s ? s : "";
}

static int same(const char *a, const char *b)
{
    return strcmp(text(a), text(b)) == 0;
}

static double claim_rtol(const ac_claim_result *c)
{
    return c->regress_rtol >= 0 ? c->regress_rtol : AC_REGRESS_RTOL_DEFAULT;
}

/* The first unused index j of cur with key(cur[j]) equal to want; -1 if none. */
static int match_claim(const ac_claim_result *cur, int ncur, const char *id, const char *used)
{
    for (int j = 0; j < ncur; j++)
        if (!used[j] && same(cur[j].id, id))
            return j;
    return -1;
}

static int match_row(const ac_claim_result *c, const char *quantity, const char *used)
{
    for (int j = 0; j < c->nrows; j++)
        if (!used[j] && same(c->rows[j].quantity, quantity))
            return j;
    return -1;
}

static void compare_number(FILE *out, const char *id, const ac_claim_row *b,
                           const ac_claim_row *c, const char *side, double vb, double vc,
                           double rtol, ac_regress_summary *sum)
{
    double allowed = ac_regress_allowed(vb, rtol, b->tol, b->is_count);
    if (!b->is_count && c->regress_abs > allowed) /* NaN: none */
        allowed = c->regress_abs;
    if (!ac_regress_moved(vb, vc, allowed))
        return;
    sum->moved++;
    if (out)
        fprintf(out, "%s | %s | %s: base %.17g, new %.17g, change %.3g > allowed %.3g (%s)\n", id,
                b->quantity, side, vb, vc, fabs(vc - vb), allowed,
                b->is_count ? "count" : "max(rtol |base|, fraction of tol, the row's regress_abs)");
}

/* A row's tolerance moved when |new - base| > max(rtol, AC_REGRESS_TOL_FRACTION)
 * |base| (regress.h): the claim now judges its numbers differently even when
 * they stay where they were. */
static void compare_tol(FILE *out, const char *id, const ac_claim_row *b, double tc, double rtol,
                        ac_regress_summary *sum)
{
    double allowed = fmax(rtol, AC_REGRESS_TOL_FRACTION) * fabs(b->tol);
    if (!ac_regress_moved(b->tol, tc, allowed))
        return;
    sum->moved++;
    if (out)
        fprintf(out, "%s | %s | tolerance: base %.17g, new %.17g, change %.3g > allowed %.3g "
                     "(max(rtol, tol fraction) |base|)\n",
                id, b->quantity, b->tol, tc, fabs(tc - b->tol), allowed);
}

/* Rows of one matched claim. */
static ac_status compare_rows(FILE *out, const ac_claim_result *b, const ac_claim_result *c,
                              ac_regress_summary *sum, ac_msg *msg)
{
    char *used = calloc((size_t)(c->nrows > 0 ? c->nrows : 1), 1);
    if (!used)
        return ac_fail(msg, AC_ENOMEM, "regress: no memory for %d rows of %s", c->nrows,
                       text(c->id));
    const char *id = text(b->id);
    double rtol = claim_rtol(c);
    for (int i = 0; i < b->nrows; i++) {
        const ac_claim_row *rb = &b->rows[i];
        int j = match_row(c, rb->quantity, used);
        if (j < 0) {
            sum->missing++;
            if (out)
                fprintf(out, "%s | %s: row missing from the current results\n", id, rb->quantity);
            continue;
        }
        used[j] = 1;
        const ac_claim_row *rc = &c->rows[j];
        sum->compared++;
        compare_number(out, id, rb, rc, "theory", rb->theory, rc->theory, rtol, sum);
        compare_number(out, id, rb, rc, "empirical", rb->empirical, rc->empirical, rtol, sum);
        compare_tol(out, id, rb, rc->tol, rtol, sum);
        if (rb->verdict != rc->verdict) {
            sum->verdict_changes++;
            if (out)
                fprintf(out, "%s | %s: verdict %s -> %s\n", id, rb->quantity,
                        ac_verdict_str(rb->verdict), ac_verdict_str(rc->verdict));
        }
    }
    for (int j = 0; j < c->nrows; j++)
        if (!used[j]) {
            sum->added++;
            if (out)
                fprintf(out, "%s | %s: row added (not in the baseline)\n", id, c->rows[j].quantity);
        }
    free(used);
    return AC_OK;
}

static void compare_claim_head(FILE *out, const ac_claim_result *b, const ac_claim_result *c,
                               ac_regress_summary *sum)
{
    if (b->verdict != c->verdict) {
        sum->verdict_changes++;
        if (out)
            fprintf(out, "%s: verdict %s -> %s\n", text(b->id), ac_verdict_str(b->verdict),
                    ac_verdict_str(c->verdict));
    }
    if (b->status != c->status) {
        if (b->verdict == c->verdict)
            sum->verdict_changes++;
        if (out)
            fprintf(out, "%s: status '%s' -> '%s'%s%s\n", text(b->id), ac_status_str(b->status),
                    ac_status_str(c->status), c->error[0] ? ": " : "", c->error);
    }
}

ac_status ac_regress_compare(FILE *out, const ac_claim_result *base, int nbase,
                             const ac_claim_result *cur, int ncur, ac_regress_summary *sum,
                             ac_msg *msg)
{
    if (!sum || nbase < 0 || ncur < 0 || (nbase > 0 && !base) || (ncur > 0 && !cur))
        return ac_fail(msg, AC_EINVAL, "regress: %d baseline and %d current results", nbase, ncur);
    memset(sum, 0, sizeof *sum);
    char *used = calloc((size_t)(ncur > 0 ? ncur : 1), 1);
    if (!used)
        return ac_fail(msg, AC_ENOMEM, "regress: no memory for %d claims", ncur);
    int matched = 0;
    ac_status st = AC_OK;
    for (int i = 0; i < nbase && st == AC_OK; i++) {
        int j = match_claim(cur, ncur, base[i].id, used);
        if (j < 0) {
            sum->missing++;
            if (out)
                fprintf(out, "%s: claim missing from the current results\n", text(base[i].id));
            continue;
        }
        used[j] = 1;
        matched++;
        compare_claim_head(out, &base[i], &cur[j], sum);
        st = compare_rows(out, &base[i], &cur[j], sum, msg);
    }
    for (int j = 0; j < ncur && st == AC_OK; j++)
        if (!used[j]) {
            sum->added++;
            if (out)
                fprintf(out, "%s: claim added (not in the baseline)\n", text(cur[j].id));
        }
    free(used);
    if (st != AC_OK)
        return st;
    if (out) {
        fprintf(out,
                "regress: compared %d rows of %d claims; %d numbers moved, %d verdict changes, "
                "%d missing, %d added\n",
                sum->compared, matched, sum->moved, sum->verdict_changes, sum->missing, sum->added);
        if (ferror(out))
            return ac_fail(msg, AC_EIO, "regress: write error on the report stream");
    }
    return AC_OK;
}
