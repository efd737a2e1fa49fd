/* Claims: checkable statements of a paper, each comparing what a theory
 * predicts with what a trained model does.
 *
 * A claim is registered once (verify/registry.c) as an ac_claim_def.  Running
 * it fills an ac_claim_result: one row per compared quantity (theory value,
 * empirical value, metric, tolerance and its reason, verdict), the seconds
 * each side took, and free-form notes.  The report writers and `regress`
 * read only this record; they know no paper. */
#ifndef AC_CLAIM_H
#define AC_CLAIM_H

#include <stdio.h>

#include "solvers/status.h"

/* Regress: a number moved when |new - base| > max(rtol |base|, AC_REGRESS_TOL_FRACTION * tol)
 * for a row with tolerance tol.  The relative part: a claim replays exactly
 * from its seed, so only the summation order of BLAS kernels and libm can
 * differ between machines, a few ulps amplified by at most some 1e4 steps of
 * training.  The absolute part: a change below a thousandth of the acceptance
 * tolerance cannot move a verdict, and residuals near rounding level (1e-16)
 * vary in relative terms by construction. */
#define AC_REGRESS_RTOL_DEFAULT 1e-9
#define AC_REGRESS_TOL_FRACTION 1e-3
/* Counts (iterations, sweeps) may move by this fraction (SUNDIALS testRunner). */
#define AC_REGRESS_COUNT_FRACTION 0.10

typedef enum { AC_SIZE_QUICK = 0, AC_SIZE_DEFAULT, AC_SIZE_PAPER } ac_size;

const char *ac_size_str(ac_size s);
/* Parse "quick" | "default" | "paper"; -1 when unknown. */
int ac_size_parse(const char *s);

/* How a row's empirical value e is judged against its theory value t:
 *   ABS       |e - t| <= tol
 *   REL       |e - t| <= tol * |t|
 *   AT_MOST   e <= t + tol         (t is the bound the theory gives, e.g. 0)
 *   AT_LEAST  e >= t - tol
 *   INFO      shown, not judged (a number along the run, a count)
 * The deviation printed is |e - t| for ABS and REL (REL: divided by |t|),
 * e - t for AT_MOST and t - e for AT_LEAST (positive = towards failure). */
typedef enum {
    AC_METRIC_ABS = 0,
    AC_METRIC_REL,
    AC_METRIC_AT_MOST,
    AC_METRIC_AT_LEAST,
    AC_METRIC_INFO
} ac_metric;

const char *ac_metric_str(ac_metric m);
int ac_metric_parse(const char *s);

typedef enum { AC_VERDICT_PASS = 0, AC_VERDICT_FAIL, AC_VERDICT_INFO } ac_verdict;

const char *ac_verdict_str(ac_verdict v);

#define AC_CLAIM_TEXT 256
#define AC_CLAIM_REASON 384

typedef struct {
    char quantity[AC_CLAIM_TEXT];   /* what is compared, e.g. "mean final corr(W, W_svm)" */
    char theory_what[AC_CLAIM_TEXT];/* what the theory value is, e.g. "limit of corr" */
    double theory;
    double empirical;
    ac_metric metric;
    double tol;
    char tol_reason[AC_CLAIM_REASON];
    int is_count;                   /* an integer count (regress compares it by percentage) */
    /* Regress: an absolute change up to this is no move (0: none).  For a
     * residual that a solver's stopping test or rounding fixes only below a
     * scale (a gradient norm at the end, Newton's stop), that scale: its
     * digits below it differ with the summation order of another machine's
     * BLAS.  Set after ac_claim_add; verify/regress.h. */
    double regress_abs;
    double deviation;               /* filled by ac_claim_judge */
    ac_verdict verdict;             /* filled by ac_claim_judge */
} ac_claim_row;

/* A curve for a figure: n points (x, y), with a band [lo, hi] when lo and hi
 * are non-NULL (e.g. mean and mean -/+ one standard deviation over trials). */
typedef struct {
    char label[AC_CLAIM_TEXT];
    int n;
    double *x, *y, *lo, *hi;
} ac_series;

/* A figure a claim offers; the figure writer (verify/figure.h) draws it. */
typedef struct {
    char name[64];                  /* file stem, e.g. "svm-direction-acyclic" */
    char title[AC_CLAIM_TEXT];
    char xlabel[64], ylabel[64];
    int logx, logy;
    ac_series *series;
    int nseries;
    ac_status status;               /* sticky: the first series that could not be added */
} ac_figure;

/* Options a claim runs under. */
typedef struct {
    ac_size size;
    unsigned long seed;
    /* Progress callback (may be NULL): called with the claim id and the
     * fraction done.  Returns 0 to go on, < 0 to stop (the claim then returns
     * AC_ECALLBACK). */
    int (*progress)(void *ctx, const char *id, double frac);
    void *progress_ctx;
} ac_run_opts;

typedef struct {
    const char *id;          /* "svm.direction-acyclic" (borrowed from the def) */
    const char *paper;       /* "svm" */
    const char *statement;
    ac_claim_row *rows;
    int nrows, cap;
    double theory_seconds;   /* wall time of the theory side */
    double empirical_seconds;/* wall time of the experiment side */
    char setup[AC_CLAIM_REASON * 2]; /* sizes, seeds, steps: enough to rerun */
    double regress_rtol;     /* relative tolerance regress allows on every number */
    char regress_reason[AC_CLAIM_REASON];
    ac_figure *figs;         /* figures the claim offers (may be none) */
    int nfigs;
    ac_verdict verdict;      /* FAIL if any judged row fails */
    ac_status add_status;    /* sticky: the first row or figure that could not be added */
    ac_status status;        /* AC_OK, or why the claim could not run */
    char error[AC_MSG_LEN + 128]; /* message when status != AC_OK */
} ac_claim_result;

/* A claim's experiment as trials (verify/trial.h): how many trials a run
 * has, one trial, and the rows from the records of all of them. */
typedef struct ac_trial_def ac_trial_def;
/* The records of a run's trials (verify/trial.h). */
typedef struct ac_trial_set ac_trial_set;

/* A claim is its id, paper, statement and trials, nothing else: running it
 * is always the trial harness (ac_claim_run), so every claim can be split
 * over trials and merged (attncheck run --trials, attncheck merge).  Fill it
 * by name:
 *     {.id = "p.name", .paper = "p", .statement = "...", .trials = &name_trials}
 * Every pointer is borrowed and must outlive the program (static tables). */
typedef struct {
    const char *id;
    const char *paper;
    const char *statement;
    const ac_trial_def *trials;
    /* Optional: the relative tolerance regress allows on every number of
     * the claim (verify/regress.h) and why, where the claim's numbers are
     * not fixed to a few ulps (a solve's stopping test, a fit's optimum).
     * Left 0 and NULL: AC_REGRESS_RTOL_DEFAULT and its reason. */
    double regress_rtol;
    const char *regress_reason;
} ac_claim_def;

typedef struct {
    const char *name;        /* "svm" */
    const char *title;       /* full citation */
    const ac_claim_def *claims;
    int nclaims;
} ac_paper_def;

/* The registry (verify/registry.c): every paper and its claims. */
int ac_registry_npapers(void);
const ac_paper_def *ac_registry_paper(int i);
/* The paper of a name, or NULL. */
const ac_paper_def *ac_registry_find_paper(const char *name);
/* The claim of an id, or NULL. */
const ac_claim_def *ac_registry_find_claim(const char *id);

/* Start a result for def (rows empty, verdict PASS, def's regress tolerance
 * or the default). */
void ac_claim_result_init(ac_claim_result *res, const ac_claim_def *def);
void ac_claim_result_clear(ac_claim_result *res);

/* A claim's table longer than this is a bug in the claim, not a result:
 * ac_claim_add refuses the row past it (and the claim becomes an error). */
#define AC_CLAIM_MAX_ROWS 4096

/* Errors in building a result are sticky.  A row or figure that cannot be
 * added (no memory, AC_CLAIM_MAX_ROWS) sets res->add_status; a series that
 * cannot be added sets its figure's status; ac_claim_run turns either into
 * the claim's error.  So a claim may add rows and series without checking
 * each return, and never passes with a row missing.
 *
 * Lifetimes: a row pointer returned by ac_claim_add lives until the next
 * ac_claim_add on res (the rows may move); a figure pointer from
 * ac_claim_add_figure until the next ac_claim_add_figure; series and their
 * arrays until ac_claim_result_clear.  res->id, paper and statement are
 * borrowed from the def, which outlives the result. */

/* Append a row; returns it (NULL on no memory or past AC_CLAIM_MAX_ROWS,
 * and then res->add_status is set).  quantity, theory_what and tol_reason
 * are copied (truncated to AC_CLAIM_TEXT / AC_CLAIM_REASON).  The verdict is
 * set by ac_claim_judge. */
ac_claim_row *ac_claim_add(ac_claim_result *res, const char *quantity, const char *theory_what,
                           double theory, double empirical, ac_metric metric, double tol,
                           const char *tol_reason);

/* Append a figure (NULL on no memory, and then res->add_status is set);
 * then add its curves.  Arrays are copied; x and y must be non-NULL, lo and
 * hi may be NULL.  ac_figure_add_series returns AC_ENOMEM when an array is
 * missing or memory is, and sets fig->status; on fig == NULL (its figure
 * could not be added, an error already in the claim) it returns AC_EINVAL. */
ac_figure *ac_claim_add_figure(ac_claim_result *res, const char *name, const char *title,
                               const char *xlabel, const char *ylabel, int logx, int logy);
ac_status ac_figure_add_series(ac_figure *fig, const char *label, int n, const double *x,
                               const double *y, const double *lo, const double *hi);

/* Judge every row and the claim: FAIL if a judged row fails (NaN in a
 * judged row fails it) or the claim could not run, INFO if no row is judged
 * (nothing was checked), else PASS. */
void ac_claim_judge(ac_claim_result *res);

/* The sticky status of res: add_status, else the first figure's status
 * that is not AC_OK, else AC_OK. */
ac_status ac_claim_build_status(const ac_claim_result *res);

/* Run def under opts into res: init, every trial of def->trials, the rows
 * from their records (ac_trial_claim), judge.  AC_OK when the claim ran,
 * whatever its verdict; otherwise res->status and res->error ("ID: why")
 * say why.  A claim whose rows return AC_OK with a sticky build error (a
 * row, figure or series that could not be added) is that error; a def
 * without trials is AC_EINVAL. */
ac_status ac_claim_run(const ac_claim_def *def, const ac_run_opts *opts, ac_claim_result *res);

/* The same from records already run (split over machines and merged, see
 * ac_trial_set_merge): init, rows from set (ac_trial_rows), judge.  set must
 * be complete and belong to this claim and to opts' seed and size (AC_EINVAL
 * otherwise, in res->error).  The result equals ac_claim_run's bit for bit,
 * wall-clock seconds aside, which are the sums recorded in set.  set is
 * borrowed for the call. */
ac_status ac_claim_run_records(const ac_claim_def *def, const ac_run_opts *opts, const ac_trial_set *set,
                               ac_claim_result *res);

/* The version string written into every report. */
#define AC_VERSION "0.1.0"

#endif
