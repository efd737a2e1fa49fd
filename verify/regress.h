/* Regress: compare the claim results of this run with a baseline (results
 * read back by ac_report_read_json) and list every number that moved.
 *
 * Claims are matched by id, rows within a claim by their quantity text (the
 * k-th row of a quantity with the k-th row of the same quantity, should a
 * claim repeat one).  For a matched row with tolerance tol, in the claim
 * whose current regress_rtol is rtol, each of theory and empirical moved when
 *
 *     |new - base| > max(rtol |base|, AC_REGRESS_TOL_FRACTION |tol|, abs) (value rows)
 *     |new - base| > AC_REGRESS_COUNT_FRACTION |base|                   (rows with is_count)
 *
 * with abs the current row's regress_abs (verify/claim.h: the scale below
 * which a residual's digits are rounding or a stopping test's; 0 for most
 * rows), and its tolerance moved when
 *
 *     |tol_new - tol_base| > max(rtol, AC_REGRESS_TOL_FRACTION) |tol_base|
 *
 * (a tolerance made looser or tighter changes what the claim judges even when
 * its numbers stay: make faults found such edits that nothing else saw).
 * verify/claim.h gives the reasons for the constants.  Two NaNs are equal,
 * a NaN against a number moved, infinities equal only themselves.  rtol comes
 * from the current result: the code of today says how exactly a claim
 * replays; a claim with a NaN or negative rtol gets AC_REGRESS_RTOL_DEFAULT.
 * Any change of verdict, of a claim or of a row, counts; so does a change of
 * status (a claim that ran and now cannot).  Claims and rows present on one
 * side only are reported as missing (in the baseline only) or added (in the
 * current results only). */
#ifndef AC_REGRESS_H
#define AC_REGRESS_H

#include <stdio.h>

#include "solvers/status.h"
#include "verify/claim.h"

typedef struct {
    int compared;        /* rows found on both sides */
    int moved;           /* numbers (theory, empirical or tolerance of a row) that moved */
    int verdict_changes; /* claims whose verdict or status changed, plus rows whose verdict changed */
    int missing;         /* claims, and rows of matched claims, in the baseline only */
    int added;           /* claims, and rows of matched claims, in the current results only */
} ac_regress_summary;

/* The change |new - base| a number may make before it counts as moved (the
 * formula above): for a value row max(rtol |base|, AC_REGRESS_TOL_FRACTION
 * |tol|), for a count AC_REGRESS_COUNT_FRACTION |base|.  NaN tol counts as 0. */
double ac_regress_allowed(double base, double rtol, double tol, int is_count);

/* Whether cur moved from base beyond allowed (NaN and infinities as above). */
int ac_regress_moved(double base, double cur, double allowed);

/* Compare cur[0..ncur-1] with base[0..nbase-1]; both are borrowed for the
 * call and only read, nothing is kept.
 *
 * out (may be NULL: only the summary is filled) receives one line per
 * finding, then a summary line:
 *   ID: verdict PASS -> FAIL
 *   ID: status AC_OK -> AC_ENUMERIC (message)
 *   ID | QUANTITY | empirical: base B, new N, change C > allowed A
 *   ID | QUANTITY | tolerance: base B, new N, change C > allowed A
 *   ID | QUANTITY: verdict PASS -> FAIL
 *   ID: claim missing from the current results      ID: claim added
 *   ID | QUANTITY: row missing from the current results   ... row added
 *   regress: compared R rows of K claims; M numbers moved, V verdict changes, X missing, Y added
 * with B and N in %.17g.
 *
 * AC_OK whatever was found (read *sum); AC_EINVAL for negative counts or NULL
 * arrays with positive counts or a NULL sum; AC_ENOMEM; AC_EIO when out
 * reports a write error. */
ac_status ac_regress_compare(FILE *out, const ac_claim_result *base, int nbase,
                             const ac_claim_result *cur, int ncur, ac_regress_summary *sum,
                             ac_msg *msg);

#endif
