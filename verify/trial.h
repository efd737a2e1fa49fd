/* The trial harness: what every claim of every paper shares.
 *
 * A claim repeats one experiment over trials.  Trial i of a run with base
 * seed S is fully determined by (S, i): its generator is seeded by
 * ac_trial_rng_set(r, S, i) and it reads nothing else that varies.  Each
 * trial writes a record (named vectors of doubles); the rows and figures of
 * the claim are computed from the merged records alone, in trial order.  So
 * a run may be split into any subsets of trials (on several machines), the
 * records written to JSON, read back and merged, and the table comes out bit
 * for bit as from one run (wall-clock timings aside).
 *
 * The harness also owns the progress callback, the timing of the theory and
 * the experiment sides, and the statistics over trials (mean, standard
 * deviation, min, max, min-max bands).  It knows no paper.
 *
 * A claim is an ac_trial_def and its row in the paper's claim table:
 *
 *     static const ac_trial_def x_trials = {.ntrials = ..., .trial = ..., .rows = ...};
 *     {.id = "p.x", .paper = "p", .statement = "...", .trials = &x_trials},
 *
 * ac_claim_run runs it through ac_trial_claim; the CLI runs a range of its
 * trials into a records file (ac_trial_set_write) and merges such files
 * (ac_trial_set_read, ac_trial_set_merge, ac_claim_run_records).
 *
 * Errors are sticky: a vector that cannot be put in a record makes its trial
 * an error; a row, figure or series that cannot be added makes the claim an
 * error (verify/claim.h).  Nothing is dropped silently. */
#ifndef AC_TRIAL_H
#define AC_TRIAL_H

#include <math.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>

#include "verify/claim.h"

/* Significant digits of the numbers in a records file: 17 is the fewest
 * that read every double back bit for bit (IEEE 754 binary64). */
#define AC_TRIAL_JSON_DIGITS 17

/* Longest vector name (with its terminating 0). */
#define AC_TRIAL_NAME 64

/* One named vector of a record. */
typedef struct {
    char name[AC_TRIAL_NAME];
    int n;
    double *v;
} ac_trial_vec;

/* What trial `index` measured.  Timings are wall-clock seconds: they are
 * summed into the claim's theory_seconds and empirical_seconds and take no
 * part in its rows. */
typedef struct {
    int index;
    ac_trial_vec *vec;
    int nvec, cap;
    double theory_seconds, empirical_seconds;
    ac_status status; /* sticky: the first put that failed (AC_OK if none) */
} ac_trial_record;

/* Empty record of trial `index` (a struct the caller owns). */
void ac_trial_record_init(ac_trial_record *rec, int index);
/* Free the vectors; rec is then empty (init again to reuse).  NULL is a no-op. */
void ac_trial_record_clear(ac_trial_record *rec);

/* Store n entries under name: copied from v, or zeros when v is NULL.
 * Returns the stored entries, writable until the next put on rec (a put
 * may move every vector of the record); NULL when name is empty, too long,
 * already present, n < 0, or on no memory, and then rec->status is set. */
double *ac_trial_put(ac_trial_record *rec, const char *name, int n, const double *v);
/* A one-entry vector: ac_trial_put(rec, name, 1, &x) without the pointer. */
void ac_trial_put1(ac_trial_record *rec, const char *name, double x);

/* The vector of a name, or NULL.  Borrowed until the next put or clear. */
const ac_trial_vec *ac_trial_get(const ac_trial_record *rec, const char *name);
/* Entry k of the vector of a name; NaN when the name is absent or k is out
 * of range (a judged row built from it then fails). */
double ac_trial_get1(const ac_trial_record *rec, const char *name, int k);

/* The identity of the library's sources (16 hex digits: Makefile,
 * $(BUILD)/source_id.h), which records carry: records of another build
 * would be another code's numbers. */
const char *ac_trial_source_id(void);

/* The records of one claim run, sorted by trial index, each index at most
 * once.  id (copied), source, seed, size and ntrials say which run they
 * belong to: merge refuses records of another run, and the rows refuse
 * records of another build. */
struct ac_trial_set {
    char id[AC_CLAIM_TEXT];
    char source[17]; /* ac_trial_source_id() of the build that ran the trials */
    unsigned long seed;
    ac_size size;
    int ntrials;
    ac_trial_record *rec;
    int nrec, cap;
}; /* typedef ac_trial_set in verify/claim.h */

void ac_trial_set_init(ac_trial_set *set, const char *id, const ac_run_opts *o, int ntrials);
/* Free every record; set is then empty.  NULL is a no-op. */
void ac_trial_set_clear(ac_trial_set *set);

/* Move every record of src into dst (src is left empty, its records owned by
 * dst).  AC_EINVAL, with msg naming the field, when src belongs to another
 * run (id, source, seed, size or ntrials differ) or holds an index dst already has;
 * dst is then unchanged.  AC_ENOMEM on no memory (dst unchanged). */
ac_status ac_trial_set_merge(ac_trial_set *dst, ac_trial_set *src, ac_msg *msg);

/* 1 when the set holds trials 0 .. ntrials-1, each once. */
int ac_trial_set_complete(const ac_trial_set *set);

/* The set as a new JSON object (NULL on no memory):
 *   {"id", "source", "seed", "size", "ntrials", "records": [{"index", "digest",
 *    "theory_seconds", "empirical_seconds", "vectors": {name: [numbers]}}]}
 * Numbers are doubles written to 17 significant digits, so they read back
 * bit for bit; NaN and infinities, which JSON lacks, are the strings "nan",
 * "inf" and "-inf".  "digest" (16 hex digits) seals the record's run, index
 * and vectors (verify/trial.c record_digest): the reader refuses a record
 * whose contents no longer give it, and one without it. */
json_t *ac_trial_set_to_json(const ac_trial_set *set);
/* Read such an object into set (initialised here; clear it after).  AC_EPARSE
 * with msg naming the record and field when j does not have that shape, and
 * naming the record and trial when its digest is missing or differs (checked
 * after the trial numbers: outside the run or twice is said first). */
ac_status ac_trial_set_from_json(const json_t *j, ac_trial_set *set, ac_msg *msg);

/* Write set to path as the JSON above, whole or not at all (verify/atomic.h:
 * a temporary beside path renamed over it; a device or FIFO is written
 * through).  AC_ENOMEM, or the status of ac_atomic_write with msg naming
 * path. */
ac_status ac_trial_set_write(const ac_trial_set *set, const char *path, ac_msg *msg);
/* Read a file written by ac_trial_set_write into set (initialised here;
 * clear it after, also on error).  AC_EIO when path cannot be read
 * ("PATH: cannot open: REASON"), AC_EPARSE when it is not JSON
 * ("PATH:LINE:COLUMN: REASON", jansson's position) or not trial records
 * ("PATH: trial record 2: ..."). */
ac_status ac_trial_set_read(const char *path, ac_trial_set *set, ac_msg *msg);

/* ---- statistics over the records of a set ---- */

typedef struct {
    double mean, sd, min, max; /* NaN when n = 0; sd is 0 when n = 1 (NaN for a NaN value) */
    int n;                     /* records that have the vector and entry */
} ac_trial_stats;

/* The larger and the smaller of a and b, NaN when either is NaN.  For
 * every running worst case over measurements: fmax(m, NaN) and fmin(m,
 * NaN) return m, and a comparison such as `x > m ? x : m` drops a NaN x,
 * so a failed measurement would vanish from the maximum. */
static inline double ac_max_keep_nan(double a, double b) { return isnan(a) || isnan(b) ? NAN : (b > a ? b : a); }
static inline double ac_min_keep_nan(double a, double b) { return isnan(a) || isnan(b) ? NAN : (b < a ? b : a); }

/* Mean, sample standard deviation (n - 1), min and max of x[0..n).
 *
 * NaN propagates into every field: one NaN value, wherever it stands, makes
 * mean, sd, min and max all NaN (fmin/fmax would drop it, and a worst case
 * that skips a failed measurement could turn it into a PASS; a judged row
 * with a NaN value FAILs in ac_claim_judge).  A caller whose records hold
 * NaN on purpose ("not applicable") must leave those entries out itself,
 * e.g. by a statistic over the subset where the quantity applies. */
ac_trial_stats ac_trial_stats_of(const double *x, int n);
/* The same over entry k of vector `name` of every record that has it, in
 * trial order (records without it are passed over: a trial may be skipped;
 * a record that has it with the value NaN is not passed over, see above). */
ac_trial_stats ac_trial_stat(const ac_trial_set *set, const char *name, int k);

/* A curve of the mean over trials of vector yname, entry by entry from
 * `first` on, with the band [min, max] over trials; x from vector xname of
 * the first record that has yname (1 skips t = 0 on a log axis).  The band is
 * positive wherever the quantity is, so it draws on a log axis.  Errors are
 * sticky in fig (and in its claim when fig is NULL because adding it
 * failed); the status is returned as well. */
ac_status ac_trial_band(ac_figure *fig, const char *label, const ac_trial_set *set, const char *xname,
                        const char *yname, int first);

/* ---- running trials ---- */

/* The largest seed with numbers of its own: GSL's MT19937 (gsl_rng_set)
 * keeps a seed's low 32 bits, so seed + 2^32 would draw seed's numbers.  A
 * seed the code derives (trial i's seed + i, a setting's (S + i) * 12 + k)
 * must stay within it too: past it, two runs would silently share draws.
 * (Seed 0 is GSL's default seed 4357: the two draw the same numbers.) */
#define AC_SEED_MAX 4294967295UL

/* The generator of trial `index` of a run with base seed `seed`: MT19937
 * seeded with seed + index (`attncheck run --seed N`: trial i uses N + i;
 * run refuses an N with N + i > AC_SEED_MAX). */
void ac_trial_rng_set(gsl_rng *r, unsigned long seed, int index);
/* A new generator set as above (NULL on no memory; free with gsl_rng_free).
 * A trial that needs a second stream from its start allocates one. */
gsl_rng *ac_trial_rng_alloc(unsigned long seed, int index);

typedef enum {
    AC_TRIAL_OTHER = 0,   /* drawing data, comparing: counted on neither side */
    AC_TRIAL_THEORY,      /* what the theory predicts from the instance alone */
    AC_TRIAL_EXPERIMENT   /* training and measuring the model */
} ac_trial_phase;

/* What a trial function receives. */
typedef struct {
    int index;              /* trial i */
    unsigned long seed;     /* the run's base seed S */
    gsl_rng *r;             /* set by ac_trial_rng_set(r, S, i); the trial's to use */
    ac_trial_record *rec;   /* the record to fill */
    ac_trial_phase phase;   /* the phase the clock charges (see ac_trial_enter) */
    double mark;            /* when that phase began */
} ac_trial;

/* Charge the time since the last phase change to the current phase and
 * enter p.  A trial starts in AC_TRIAL_OTHER; the harness closes the last
 * phase when the trial returns. */
void ac_trial_enter(ac_trial *t, ac_trial_phase p);

/* A claim as trials:
 *   ntrials  the number of trials of a run under o (o->size);
 *   trial    run trial t->index into t->rec; a status other than AC_OK stops
 *            the run with msg;
 *   rows     the rows, figures and setup line of res from the complete set,
 *            in trial order, and o (never from anything a trial left
 *            elsewhere);
 *   vectors  the vectors every record of the claim holds, at every size
 *            (NULL-terminated; NULL: none declared); a vector some trials
 *            leave out by design (trial 0's extra curves, a case that does
 *            not arise) is not listed;
 *   skip     the vector that marks a trial skipped by design (svm's
 *            "skipped": nothing to measure), whose record need not hold the
 *            others; NULL: no trial is skipped.
 * ac_trial_run refuses a trial that returned AC_OK without a declared vector
 * (a measurement the claim's trial forgot: ac_trial_stat passes over a
 * record without it, so the rows would be judged on fewer trials than they
 * say), and ac_trial_rows a set with such a record. */
struct ac_trial_def {
    int (*ntrials)(const ac_run_opts *o);
    ac_status (*trial)(const ac_run_opts *o, ac_trial *t, ac_msg *msg);
    ac_status (*rows)(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg);
    const char *const *vectors;
    const char *skip;
}; /* typedef ac_trial_def in verify/claim.h */

/* AC_OK when rec holds every vector def declares (or def's skip vector);
 * else AC_EINVAL naming the first missing vector and the trial. */
ac_status ac_trial_record_declared(const ac_trial_def *def, const ac_trial_record *rec, ac_msg *msg);

/* Run trials [first, last) of def under o into set (initialised by the
 * caller with ac_trial_set_init for this run; records are added in order).
 * o->progress, when set, is called after each trial with the fraction of
 * [first, last) done; a negative answer stops with AC_ECALLBACK.  A trial's
 * error, or a put that failed in its record, stops the run: that status is
 * returned with msg saying "trial i: ...", and the set keeps the trials
 * before it.  AC_EINVAL when [first, last) is not within [0, ntrials). */
ac_status ac_trial_run(const ac_trial_def *def, const ac_run_opts *o, int first, int last, ac_trial_set *set,
                       ac_msg *msg);

/* The claim's rows from a complete set: adds the trials' timings to res and
 * calls def->rows.  AC_EINVAL when the set is not complete, belongs to
 * another claim or run, or was recorded by another build (its source). */
ac_status ac_trial_rows(const ac_trial_def *def, const ac_run_opts *o, const ac_trial_set *set,
                        ac_claim_result *res, ac_msg *msg);

/* All trials, then the rows: the body of a claim's run function. */
ac_status ac_trial_claim(const ac_trial_def *def, const ac_run_opts *o, ac_claim_result *res, ac_msg *msg);

#endif
