#include "verify/trial.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/atomic.h"
#include "verify/json_array.h"

/* ---- records ------------------------------------------------------------ */

void ac_trial_record_init(ac_trial_record *rec, int index)
{
    memset(rec, 0, sizeof *rec);
    rec->index = index;
    rec->status = AC_OK;
}

void ac_trial_record_clear(ac_trial_record *rec)
{
    if (!rec)
        return;
    for (int i = 0; i < rec->nvec; i++)
        free(rec->vec[i].v);
    free(rec->vec);
    rec->vec = NULL;
    rec->nvec = rec->cap = 0;
}

static double *put_fail(ac_trial_record *rec, ac_status st)
{
    if (rec->status == AC_OK)
        rec->status = st;
    return NULL;
}

double *ac_trial_put(ac_trial_record *rec, const char *name, int n, const double *v)
{
    if (!name || !name[0] || strlen(name) >= AC_TRIAL_NAME || n < 0 || ac_trial_get(rec, name))
        return put_fail(rec, AC_EINVAL);
    if (rec->nvec == rec->cap) {
        int cap = rec->cap ? 2 * rec->cap : 8;
        ac_trial_vec *g = realloc(rec->vec, sizeof *g * (size_t)cap);
        if (!g)
            return put_fail(rec, AC_ENOMEM);
        rec->vec = g;
        rec->cap = cap;
    }
    double *x = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
    if (!x)
        return put_fail(rec, AC_ENOMEM);
    if (v && n > 0)
        memcpy(x, v, sizeof(double) * (size_t)n);
    ac_trial_vec *e = &rec->vec[rec->nvec++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->n = n;
    e->v = x;
    return x;
}

void ac_trial_put1(ac_trial_record *rec, const char *name, double x)
{
    ac_trial_put(rec, name, 1, &x);
}

const ac_trial_vec *ac_trial_get(const ac_trial_record *rec, const char *name)
{
    for (int i = 0; i < rec->nvec; i++)
        if (strcmp(rec->vec[i].name, name) == 0)
            return &rec->vec[i];
    return NULL;
}

double ac_trial_get1(const ac_trial_record *rec, const char *name, int k)
{
    const ac_trial_vec *e = ac_trial_get(rec, name);
    return e && k >= 0 && k < e->n ? e->v[k] : NAN;
}

/* ---- sets --------------------------------------------------------------- */

void ac_trial_set_init(ac_trial_set *set, const char *id, const ac_run_opts *o, int ntrials)
{
    memset(set, 0, sizeof *set);
    snprintf(set->id, sizeof set->id, "%s", id ? id : "");
    set->seed = o->seed;
    set->size = o->size;
    set->ntrials = ntrials;
}

void ac_trial_set_clear(ac_trial_set *set)
{
    if (!set)
        return;
    for (int i = 0; i < set->nrec; i++)
        ac_trial_record_clear(&set->rec[i]);
    free(set->rec);
    set->rec = NULL;
    set->nrec = set->cap = 0;
}

static ac_status set_reserve(ac_trial_set *set, int n)
{
    if (n <= set->cap)
        return AC_OK;
    int cap = set->cap ? set->cap : 8;
    while (cap < n)
        cap *= 2;
    ac_trial_record *r = realloc(set->rec, sizeof *r * (size_t)cap);
    if (!r)
        return AC_ENOMEM;
    set->rec = r;
    set->cap = cap;
    return AC_OK;
}

/* Insert rec (moved) at its place in index order; the caller has checked
 * that the index is new and reserved room. */
static void set_insert(ac_trial_set *set, const ac_trial_record *rec)
{
    int p = set->nrec;
    while (p > 0 && set->rec[p - 1].index > rec->index)
        p--;
    memmove(set->rec + p + 1, set->rec + p, sizeof *set->rec * (size_t)(set->nrec - p));
    set->rec[p] = *rec;
    set->nrec++;
}

static int set_has(const ac_trial_set *set, int index)
{
    for (int i = 0; i < set->nrec; i++)
        if (set->rec[i].index == index)
            return 1;
    return 0;
}

static int by_index(const void *a, const void *b)
{
    int x = ((const ac_trial_record *)a)->index, y = ((const ac_trial_record *)b)->index;
    return (x > y) - (x < y);
}

/* O((n + m) log m) for m records into n: the records of a file are sorted
 * once and the two sorted runs merged.  (One at a time, with a scan for
 * each, a records file of 10^5 trials took 10^10 steps to read.) */
ac_status ac_trial_set_merge(ac_trial_set *dst, ac_trial_set *src, ac_msg *msg)
{
    if (strcmp(dst->id, src->id) != 0)
        return ac_fail(msg, AC_EINVAL, "trial records of claim %s cannot merge into %s", src->id, dst->id);
    if (dst->seed != src->seed || dst->size != src->size || dst->ntrials != src->ntrials)
        return ac_fail(msg, AC_EINVAL,
                       "%s: trial records of seed %lu, size %s, %d trials cannot merge into seed %lu, size %s, %d "
                       "trials",
                       dst->id, src->seed, ac_size_str(src->size), src->ntrials, dst->seed, ac_size_str(dst->size),
                       dst->ntrials);
    for (int i = 0; i < src->nrec; i++) {
        int k = src->rec[i].index;
        if (k < 0 || k >= dst->ntrials)
            return ac_fail(msg, AC_EINVAL, "%s: trial %d is outside the %d trials of the run", dst->id, k,
                           dst->ntrials);
    }
    if (src->nrec > 1)
        qsort(src->rec, (size_t)src->nrec, sizeof *src->rec, by_index);
    for (int i = 1; i < src->nrec; i++)
        if (src->rec[i].index == src->rec[i - 1].index)
            return ac_fail(msg, AC_EINVAL, "%s: trial %d appears twice", dst->id, src->rec[i].index);
    for (int i = 0, j = 0; i < dst->nrec && j < src->nrec;) {
        if (dst->rec[i].index == src->rec[j].index)
            return ac_fail(msg, AC_EINVAL, "%s: trial %d is in both record sets", dst->id, src->rec[j].index);
        dst->rec[i].index < src->rec[j].index ? i++ : j++;
    }
    int n = dst->nrec + src->nrec;
    ac_trial_record *r = malloc(sizeof *r * (size_t)(n > 0 ? n : 1));
    if (!r)
        return ac_fail(msg, AC_ENOMEM, "%s: no memory to merge trial records", dst->id);
    for (int i = 0, j = 0, k = 0; k < n; k++)
        r[k] = j >= src->nrec || (i < dst->nrec && dst->rec[i].index < src->rec[j].index) ? dst->rec[i++]
                                                                                          : src->rec[j++];
    free(dst->rec);
    dst->rec = r;
    dst->nrec = dst->cap = n;
    free(src->rec);
    src->rec = NULL;
    src->nrec = src->cap = 0;
    return AC_OK;
}

int ac_trial_set_complete(const ac_trial_set *set)
{
    if (set->nrec != set->ntrials)
        return 0;
    for (int i = 0; i < set->nrec; i++)
        if (set->rec[i].index != i)
            return 0;
    return 1;
}

/* ---- JSON --------------------------------------------------------------- */

static json_t *number_json(double x)
{
    if (isnan(x))
        return json_string("nan");
    if (isinf(x))
        return json_string(x > 0 ? "inf" : "-inf");
    return json_real(x);
}

/* 0 and *x on a number or one of the three strings; -1 otherwise. */
static int number_of(const json_t *j, double *x)
{
    if (json_is_number(j)) {
        *x = json_number_value(j);
        return 0;
    }
    const char *s = json_string_value(j);
    if (!s)
        return -1;
    if (strcmp(s, "nan") == 0)
        *x = NAN;
    else if (strcmp(s, "inf") == 0)
        *x = INFINITY;
    else if (strcmp(s, "-inf") == 0)
        *x = -INFINITY;
    else
        return -1;
    return 0;
}

/* A record's digest: 64-bit FNV-1a over its run (id and size as text with
 * their 0, seed, ntrials), its index and its vectors in order (name with its
 * 0, length, each value's bits; every NaN hashed as 0x7ff8000000000000,
 * since its payload need not survive "nan"), each integer as 8 bytes
 * little-endian; written as 16 hex digits (tests/records_reseal.py computes
 * the same).  Not a
 * defence against forgery: it catches a record edited, truncated or moved to
 * another run's file, which merge would otherwise judge on (a vector
 * dropped from one record made the statistics pass over that trial).  Six
 * lines of arithmetic; the project's libraries offer no hash. */
typedef struct {
    uint64_t h;
} digest;

static void digest_bytes(digest *d, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        d->h = (d->h ^ b[i]) * 0x100000001b3ULL;
}

static void digest_u64(digest *d, uint64_t x)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(x >> (8 * i)); /* little-endian whatever the machine */
    digest_bytes(d, b, 8);
}

static uint64_t record_digest(const ac_trial_set *set, const ac_trial_record *r)
{
    digest d = {0xcbf29ce484222325ULL};
    digest_bytes(&d, set->id, strlen(set->id) + 1);
    digest_u64(&d, set->seed);
    digest_bytes(&d, ac_size_str(set->size), strlen(ac_size_str(set->size)) + 1);
    digest_u64(&d, (uint64_t)set->ntrials);
    digest_u64(&d, (uint64_t)r->index);
    for (int i = 0; i < r->nvec; i++) {
        digest_bytes(&d, r->vec[i].name, strlen(r->vec[i].name) + 1);
        digest_u64(&d, (uint64_t)r->vec[i].n);
        for (int k = 0; k < r->vec[i].n; k++) {
            double x = isnan(r->vec[i].v[k]) ? NAN : r->vec[i].v[k];
            uint64_t u;
            memcpy(&u, &x, sizeof u);
            digest_u64(&d, isnan(x) ? 0x7ff8000000000000ULL : u);
        }
    }
    return d.h;
}

static json_t *record_json(const ac_trial_set *set, const ac_trial_record *r)
{
    json_t *o = json_object(), *vs = json_object();
    int bad = !o || !vs;
    if (!bad) {
        char hex[17];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)record_digest(set, r));
        bad |= json_object_set_new(o, "index", json_integer(r->index));
        bad |= json_object_set_new(o, "digest", json_string(hex));
        bad |= json_object_set_new(o, "theory_seconds", number_json(r->theory_seconds));
        bad |= json_object_set_new(o, "empirical_seconds", number_json(r->empirical_seconds));
    }
    for (int i = 0; i < r->nvec && !bad; i++) {
        json_t *a = json_array();
        for (int k = 0; a && k < r->vec[i].n && !bad; k++)
            bad |= json_array_append_new(a, number_json(r->vec[i].v[k]));
        bad |= !a || json_object_set_new(vs, r->vec[i].name, a);
    }
    if (!bad) {
        bad |= json_object_set_new(o, "vectors", vs);
        vs = NULL;
    }
    json_decref(vs);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *ac_trial_set_to_json(const ac_trial_set *set)
{
    json_t *o = json_object(), *recs = json_array();
    int bad = !o || !recs;
    if (!bad) {
        bad |= json_object_set_new(o, "id", json_string(set->id));
        bad |= json_object_set_new(o, "seed", json_integer((json_int_t)set->seed));
        bad |= json_object_set_new(o, "size", json_string(ac_size_str(set->size)));
        bad |= json_object_set_new(o, "ntrials", json_integer(set->ntrials));
    }
    for (int i = 0; i < set->nrec && !bad; i++) {
        json_t *r = record_json(set, &set->rec[i]);
        bad |= !r || json_array_append_new(recs, r);
    }
    if (!bad) {
        bad |= json_object_set_new(o, "records", recs);
        recs = NULL;
    }
    json_decref(recs);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Record `at` of a file into rec; *seal is 1 when its "digest" is the one
 * its contents give, 0 when it differs, -1 when it has none (the caller
 * reports it once the file's trial numbers are known to fit). */
static ac_status record_of(const json_t *j, int at, const ac_trial_set *set, ac_trial_record *rec, int *seal,
                           ac_msg *msg)
{
    *seal = -1;
    json_t *idx = json_object_get(j, "index"), *vs = json_object_get(j, "vectors");
    ac_trial_record_init(rec, -1); /* empty before any return: the caller clears it whatever happens */
    if (!json_is_object(j))
        return ac_fail(msg, AC_EPARSE, "trial record %d: not an object", at);
    if (!json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) > 1000000000)
        return ac_fail(msg, AC_EPARSE, "trial record %d: \"index\" is not a trial number", at);
    if (!json_is_object(vs))
        return ac_fail(msg, AC_EPARSE, "trial record %d: \"vectors\" is not an object", at);
    rec->index = (int)json_integer_value(idx);
    if (number_of(json_object_get(j, "theory_seconds"), &rec->theory_seconds) != 0 ||
        number_of(json_object_get(j, "empirical_seconds"), &rec->empirical_seconds) != 0)
        return ac_fail(msg, AC_EPARSE, "trial record %d: seconds are not numbers", at);
    const char *name;
    json_t *a;
    json_object_foreach(vs, name, a) {
        if (!json_is_array(a))
            return ac_fail(msg, AC_EPARSE, "trial record %d: vector \"%s\" is not an array", at, name);
        double *x = ac_trial_put(rec, name, (int)json_array_size(a), NULL);
        if (!x)
            return ac_fail(msg, rec->status == AC_ENOMEM ? AC_ENOMEM : AC_EPARSE,
                           "trial record %d: vector \"%s\" cannot be stored (%s)", at, name,
                           ac_status_str(rec->status));
        for (size_t k = 0; k < json_array_size(a); k++)
            if (number_of(json_array_get(a, k), &x[k]) != 0)
                return ac_fail(msg, AC_EPARSE, "trial record %d: vector \"%s\" entry %zu is not a number", at,
                               name, k);
    }
    const char *dg = json_string_value(json_object_get(j, "digest"));
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)record_digest(set, rec));
    *seal = dg ? strcmp(dg, hex) == 0 : -1;
    return AC_OK;
}

ac_status ac_trial_set_from_json(const json_t *j, ac_trial_set *set, ac_msg *msg)
{
    ac_run_opts o = {0};
    memset(set, 0, sizeof *set);
    json_t *id = json_object_get(j, "id"), *seed = json_object_get(j, "seed"), *size = json_object_get(j, "size"),
           *nt = json_object_get(j, "ntrials"), *recs = json_object_get(j, "records");
    if (!json_is_string(id) || !json_is_integer(seed) || !json_is_string(size) || !json_is_integer(nt) ||
        !json_is_array(recs))
        return ac_fail(msg, AC_EPARSE, "trial records: need \"id\", \"seed\", \"size\", \"ntrials\" and \"records\"");
    if (json_integer_value(seed) < 0)
        return ac_fail(msg, AC_EPARSE, "trial records: \"seed\" is negative");
    int sz = ac_size_parse(json_string_value(size));
    if (sz < 0)
        return ac_fail(msg, AC_EPARSE, "trial records: unknown size \"%s\"", json_string_value(size));
    if (json_integer_value(nt) < 0 || json_integer_value(nt) > 1000000000)
        return ac_fail(msg, AC_EPARSE, "trial records: \"ntrials\" out of range");
    o.seed = (unsigned long)json_integer_value(seed);
    o.size = (ac_size)sz;
    ac_trial_set_init(set, json_string_value(id), &o, (int)json_integer_value(nt));
    /* every trial at most once: more records than trials is refused before
     * any is read (memory and time follow the run, not the file) */
    size_t nrec = json_array_size(recs);
    if (nrec > (size_t)set->ntrials)
        return ac_fail(msg, AC_EPARSE, "trial records: %zu records, more than the %d trials of the run", nrec,
                       set->ntrials);
    ac_trial_set all;
    ac_trial_set_init(&all, set->id, &o, set->ntrials);
    ac_status st = set_reserve(&all, (int)nrec);
    int *seal = malloc(sizeof(int) * (nrec > 0 ? nrec : 1));
    if (st != AC_OK || !seal) {
        free(seal);
        ac_trial_set_clear(&all);
        ac_trial_set_clear(set);
        return ac_fail(msg, AC_ENOMEM, "trial records: no memory for %zu records", nrec);
    }
    for (size_t i = 0; i < nrec && st == AC_OK; i++) {
        st = record_of(json_array_get(recs, i), (int)i, &all, &all.rec[i], &seal[i], msg);
        all.nrec++; /* record_of leaves it initialised whatever happens: cleared with the set */
    }
    /* the trial numbers first (outside the run, twice), then the digests */
    size_t bad = 0;
    while (st == AC_OK && bad < nrec && seal[bad] == 1)
        bad++;
    int bad_index = bad < nrec ? all.rec[bad].index : -1;
    if (st == AC_OK)
        st = ac_trial_set_merge(set, &all, msg);
    if (st == AC_OK && bad < nrec)
        st = seal[bad] < 0 ? ac_fail(msg, AC_EPARSE, "trial record %zu (trial %d): no \"digest\" (`attncheck run "
                                     "--records` writes one with each record)", bad, bad_index)
                           : ac_fail(msg, AC_EPARSE, "trial record %zu (trial %d): its digest does not match its "
                                     "contents: the record was changed after `attncheck run` wrote it (a vector or "
                                     "value edited or dropped, or the record taken from another run); run that "
                                     "trial again", bad, bad_index);
    free(seal);
    ac_trial_set_clear(&all);
    if (st != AC_OK)
        ac_trial_set_clear(set);
    return st;
}

/* ---- files --------------------------------------------------------------- */

static ac_status fill_json(FILE *f, void *ctx, ac_msg *msg)
{
    (void)msg;
    const json_t *j = ctx;
    if (json_dumpf(j, f, JSON_COMPACT | JSON_REAL_PRECISION(AC_TRIAL_JSON_DIGITS)) != 0 || fputc('\n', f) == EOF)
        return AC_EIO; /* the stream's error: ac_atomic_write names path and reason */
    return AC_OK;
}

ac_status ac_trial_set_write(const ac_trial_set *set, const char *path, ac_msg *msg)
{
    json_t *j = ac_trial_set_to_json(set);
    if (!j)
        return ac_fail(msg, AC_ENOMEM, "%s: no memory for the trial records", path);
    ac_status st = ac_atomic_write(path, fill_json, j, msg);
    json_decref(j);
    return st;
}

ac_status ac_trial_set_read(const char *path, ac_trial_set *set, ac_msg *msg)
{
    memset(set, 0, sizeof *set);
    FILE *f = fopen(path, "rb");
    if (!f)
        return ac_fail(msg, AC_EIO, "%s: cannot open: %s", path, strerror(errno));
    json_error_t err;
    int read_error;
    json_t *j = ac_json_read_stream(f, &err, &read_error); /* a NUL byte named, a BOM skipped */
    fclose(f);
    if (read_error == EILSEQ) {
        json_decref(j);
        return ac_fail(msg, AC_EPARSE, "%s: %s", path, ac_json_read_error(read_error));
    }
    if (read_error) { /* a directory opens, then fails to read */
        json_decref(j);
        return ac_fail(msg, AC_EIO, "%s: read failed: %s", path, strerror(read_error));
    }
    if (!j)
        return ac_fail(msg, AC_EPARSE, "%s:%d:%d: %s", path, err.line > 0 ? err.line : 1,
                       err.column > 0 ? err.column : 1, err.text);
    ac_msg m = {{0}};
    ac_status st = ac_trial_set_from_json(j, set, &m);
    json_decref(j);
    if (st != AC_OK)
        return ac_fail(msg, st, "%s: %s", path, m.text[0] ? m.text : ac_status_str(st));
    return AC_OK;
}

/* ---- statistics --------------------------------------------------------- */

ac_trial_stats ac_trial_stats_of(const double *x, int n)
{
    ac_trial_stats s = {NAN, NAN, NAN, NAN, n};
    if (n <= 0)
        return s;
    double sum = 0.0;
    s.min = s.max = x[0];
    for (int i = 0; i < n; i++) {
        sum += x[i];
        s.min = ac_min_keep_nan(s.min, x[i]);
        s.max = ac_max_keep_nan(s.max, x[i]);
    }
    s.mean = sum / n;
    double v = 0.0;
    for (int i = 0; i < n; i++)
        v += (x[i] - s.mean) * (x[i] - s.mean);
    s.sd = n > 1 ? sqrt(v / (n - 1)) : isnan(s.mean) ? NAN : 0.0;
    return s;
}

/* The same sums as ac_trial_stats_of, in the same order, over the records
 * (no copy, so no allocation can fail). */
ac_trial_stats ac_trial_stat(const ac_trial_set *set, const char *name, int k)
{
    ac_trial_stats s = {NAN, NAN, NAN, NAN, 0};
    double sum = 0.0;
    for (int i = 0; i < set->nrec; i++) {
        const ac_trial_vec *e = ac_trial_get(&set->rec[i], name);
        if (!e || k < 0 || k >= e->n)
            continue;
        double x = e->v[k];
        if (s.n++ == 0)
            s.min = s.max = x;
        sum += x;
        s.min = ac_min_keep_nan(s.min, x);
        s.max = ac_max_keep_nan(s.max, x);
    }
    if (s.n == 0)
        return s;
    s.mean = sum / s.n;
    double v = 0.0;
    for (int i = 0; i < set->nrec; i++) {
        const ac_trial_vec *e = ac_trial_get(&set->rec[i], name);
        if (e && k >= 0 && k < e->n)
            v += (e->v[k] - s.mean) * (e->v[k] - s.mean);
    }
    s.sd = s.n > 1 ? sqrt(v / (s.n - 1)) : isnan(s.mean) ? NAN : 0.0;
    return s;
}

ac_status ac_trial_band(ac_figure *fig, const char *label, const ac_trial_set *set, const char *xname,
                        const char *yname, int first)
{
    if (!fig)
        return AC_EINVAL; /* adding the figure failed: its claim holds the error */
    const ac_trial_vec *xv = NULL, *yv = NULL;
    for (int i = 0; i < set->nrec && !yv; i++)
        if ((yv = ac_trial_get(&set->rec[i], yname)))
            xv = ac_trial_get(&set->rec[i], xname);
    if (!yv || !xv || xv->n != yv->n || first < 0 || first > yv->n) {
        if (fig->status == AC_OK)
            fig->status = AC_EINVAL;
        return AC_EINVAL;
    }
    int n = yv->n - first;
    double *x = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1) * 4);
    if (!x) {
        if (fig->status == AC_OK)
            fig->status = AC_ENOMEM;
        return AC_ENOMEM;
    }
    double *y = x + n, *lo = y + n, *hi = lo + n;
    for (int c = first; c < yv->n; c++) {
        ac_trial_stats s = ac_trial_stat(set, yname, c);
        x[c - first] = xv->v[c];
        y[c - first] = s.mean;
        lo[c - first] = s.min;
        hi[c - first] = s.max;
    }
    ac_status st = ac_figure_add_series(fig, label, n, x, y, lo, hi);
    free(x);
    return st;
}

/* ---- running ------------------------------------------------------------ */

void ac_trial_rng_set(gsl_rng *r, unsigned long seed, int index)
{
    gsl_rng_set(r, seed + (unsigned long)index);
}

gsl_rng *ac_trial_rng_alloc(unsigned long seed, int index)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (r)
        ac_trial_rng_set(r, seed, index);
    return r;
}

void ac_trial_enter(ac_trial *t, ac_trial_phase p)
{
    double now = ac_clock();
    if (t->phase == AC_TRIAL_THEORY)
        t->rec->theory_seconds += now - t->mark;
    else if (t->phase == AC_TRIAL_EXPERIMENT)
        t->rec->empirical_seconds += now - t->mark;
    t->phase = p;
    t->mark = now;
}

/* Trial i into a new record, inserted into set on success. */
static ac_status run_one(const ac_trial_def *def, const ac_run_opts *o, int i, ac_trial_set *set, ac_msg *msg)
{
    ac_msg m = {{0}};
    ac_trial_record rec;
    ac_trial_record_init(&rec, i);
    ac_trial t = {i, o->seed, ac_trial_rng_alloc(o->seed, i), &rec, AC_TRIAL_OTHER, ac_clock()};
    ac_status st = t.r ? AC_OK : ac_fail(&m, AC_ENOMEM, "no memory for a generator");
    if (st == AC_OK)
        st = def->trial(o, &t, &m);
    ac_trial_enter(&t, AC_TRIAL_OTHER);
    gsl_rng_free(t.r);
    if (st == AC_OK && rec.status != AC_OK)
        st = ac_fail(&m, rec.status, "a measurement could not be recorded");
    if (st == AC_OK)
        st = set_reserve(set, set->nrec + 1) == AC_OK ? AC_OK : ac_fail(&m, AC_ENOMEM, "no memory for a record");
    if (st != AC_OK) {
        ac_trial_record_clear(&rec);
        return ac_fail(msg, st, "trial %d: %s", i, m.text[0] ? m.text : ac_status_str(st));
    }
    set_insert(set, &rec);
    return AC_OK;
}

ac_status ac_trial_run(const ac_trial_def *def, const ac_run_opts *o, int first, int last, ac_trial_set *set,
                       ac_msg *msg)
{
    int n = def->ntrials(o);
    if (first < 0 || last > n || first > last || set->ntrials != n)
        return ac_fail(msg, AC_EINVAL, "%s: trials [%d, %d) are not within the %d trials of the run", set->id,
                       first, last, n);
    for (int i = first; i < last; i++) {
        if (set_has(set, i))
            return ac_fail(msg, AC_EINVAL, "%s: trial %d is already in the records", set->id, i);
        ac_status st = run_one(def, o, i, set, msg);
        if (st != AC_OK)
            return st;
        if (o->progress && o->progress(o->progress_ctx, set->id, (double)(i + 1 - first) / (last - first)) < 0)
            return ac_fail(msg, AC_ECALLBACK, "stopped by the progress callback after trial %d", i);
    }
    return AC_OK;
}

ac_status ac_trial_rows(const ac_trial_def *def, const ac_run_opts *o, const ac_trial_set *set,
                        ac_claim_result *res, ac_msg *msg)
{
    if (strcmp(set->id, res->id ? res->id : "") != 0 || set->seed != o->seed || set->size != o->size ||
        set->ntrials != def->ntrials(o))
        return ac_fail(msg, AC_EINVAL, "trial records of %s (seed %lu, size %s) do not belong to this run of %s",
                       set->id, set->seed, ac_size_str(set->size), res->id ? res->id : "");
    if (!ac_trial_set_complete(set))
        return ac_fail(msg, AC_EINVAL, "%s: %d of %d trials recorded; the rows need all of them", set->id,
                       set->nrec, set->ntrials);
    for (int i = 0; i < set->nrec; i++) {
        res->theory_seconds += set->rec[i].theory_seconds;
        res->empirical_seconds += set->rec[i].empirical_seconds;
    }
    return def->rows(o, set, res, msg);
}

ac_status ac_trial_claim(const ac_trial_def *def, const ac_run_opts *o, ac_claim_result *res, ac_msg *msg)
{
    ac_trial_set set;
    ac_trial_set_init(&set, res->id, o, def->ntrials(o));
    ac_status st = ac_trial_run(def, o, 0, set.ntrials, &set, msg);
    if (st == AC_OK)
        st = ac_trial_rows(def, o, &set, res, msg);
    ac_trial_set_clear(&set);
    return st;
}
