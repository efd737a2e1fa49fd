/* JSON reports, written and read through jansson from one field table.
 *
 * Each record the report holds (the document, a claim, a row, a figure, a
 * series) is described once, below, as a list of fields: key, kind and place
 * in the C struct.  The writer walks that list to build the document and the
 * reader walks the same list to fill the structs back, so that a field added
 * to one is added to both.  Key order in the file is the order of the table
 * (jansson keeps insertion order).
 *
 * Numbers are reals with 17 significant digits (JSON_REAL_PRECISION), which
 * read back bit for bit; NaN and the infinities, which JSON lacks, are the
 * strings "nan", "inf" and "-inf".  jansson writes and reads '.' whatever the
 * locale.  A malformed text is reported at jansson's line and column; a
 * value that is well-formed JSON but wrong for its field is reported by its
 * key path (claims[2].rows[0].theory): jansson keeps no positions of values. */
#include "verify/report.h"
#include "verify/report_impl.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "verify/text.h"

/* Enumerations are stored and read as int (F_ENUM). */
_Static_assert(sizeof(ac_verdict) == sizeof(int), "ac_verdict is int-sized");
_Static_assert(sizeof(ac_metric) == sizeof(int), "ac_metric is int-sized");
_Static_assert(sizeof(ac_status) == sizeof(int), "ac_status is int-sized");

/* ------------------------------------------------------------- the table */

typedef enum {
    F_TEXT,    /* char[size] inside the struct */
    F_STR,     /* a char pointer: written from it (NULL as ""), read as a copy the set owns */
    F_NUM,     /* double: a real, or "nan", "inf", "-inf" */
    F_INT,     /* int; a boolean reads as 0 or 1 */
    F_ULONG,   /* unsigned long: an integer, or a decimal string beyond json_int_t */
    F_ENUM,    /* an int-sized enumeration, written by name */
    F_NUMS,    /* double *: an array of as many numbers as the int at count_off */
    F_OBJECT,  /* fields sub of the same struct, grouped under the key */
    F_LIST,    /* an array of objects: the elements of list */
    F_DERIVED  /* written only, by derive; ignored when read */
} field_kind;

typedef struct field field;
typedef struct list_def list_def;

struct field {
    const char *key;
    field_kind kind;
    size_t off;                 /* place in the struct (F_OBJECT: unused) */
    size_t size;                /* F_TEXT: capacity in bytes */
    const char *(*name)(int);   /* F_ENUM: the name of a value */
    int nnames;                 /* F_ENUM: values 0..nnames-1 */
    int nonneg;                 /* F_INT: must be >= 0 */
    int optional;               /* reading: an absent key leaves the zeroed member */
    size_t count_off;           /* F_NUMS: place of the int count */
    int nullable;               /* F_NUMS: NULL is null; F_OBJECT: null when its first
                                 * field (an F_STR) is NULL */
    const field *sub;           /* F_OBJECT */
    int nsub;
    const list_def *list;       /* F_LIST */
    json_t *(*derive)(const void *obj); /* F_DERIVED */
};

/* An array of elements of elem_size bytes at the pointer field's place, with
 * its int count at count_off of the same struct. */
struct list_def {
    size_t count_off, elem_size;
    const field *fields;
    int nfields;
    /* Reading: append the element tmp (read into zeroed memory) to parent,
     * taking what tmp owns; AC_ENOMEM when it cannot (tmp keeps it). */
    ac_status (*append)(void *parent, void *tmp);
    /* Release what an element that was not appended owns. */
    void (*release)(void *tmp);
};

#define MEMBER_SIZE(T, m) sizeof(((T *)0)->m)
#define TEXT(T, k, m) {.key = k, .kind = F_TEXT, .off = offsetof(T, m), .size = MEMBER_SIZE(T, m)}
#define STR(T, k, m) {.key = k, .kind = F_STR, .off = offsetof(T, m)}
#define STR_OPT(T, k, m) {.key = k, .kind = F_STR, .off = offsetof(T, m), .optional = 1}
#define NUM(T, k, m) {.key = k, .kind = F_NUM, .off = offsetof(T, m)}
/* a number a reader takes as 0 when its key is absent (added after results
 * had been written without it) */
#define NUM_OPT(T, k, m) {.key = k, .kind = F_NUM, .off = offsetof(T, m), .optional = 1}
#define INT(T, k, m) {.key = k, .kind = F_INT, .off = offsetof(T, m)}
#define COUNT(T, k, m) {.key = k, .kind = F_INT, .off = offsetof(T, m), .nonneg = 1}
#define ULONG(T, k, m) {.key = k, .kind = F_ULONG, .off = offsetof(T, m)}
#define ENUM(T, k, m, fn, n) {.key = k, .kind = F_ENUM, .off = offsetof(T, m), .name = fn, .nnames = n}
#define NUMS(T, k, m, cnt, null)                                                                \
    {.key = k, .kind = F_NUMS, .off = offsetof(T, m), .count_off = offsetof(T, cnt), .nullable = null}
#define OBJECT(k, fields, null)                                                                  \
    {.key = k, .kind = F_OBJECT, .sub = fields, .nsub = (int)(sizeof fields / sizeof fields[0]), \
     .nullable = null}
#define LIST(T, k, m, l) {.key = k, .kind = F_LIST, .off = offsetof(T, m), .list = &l}
#define DERIVED(k, fn) {.key = k, .kind = F_DERIVED, .derive = fn}
#define NFIELDS(a) ((int)(sizeof a / sizeof a[0]))

static const char *const status_names[] = {
#define AC_STATUS_NAME(name, text) #name,
    AC_STATUS_LIST(AC_STATUS_NAME)
#undef AC_STATUS_NAME
};

static const char *status_at(int i)
{
    return i >= 0 && i < AC_STATUS_COUNT ? status_names[i] : "?";
}

static const char *verdict_at(int i)
{
    return ac_verdict_str((ac_verdict)i);
}

static const char *metric_at(int i)
{
    return ac_metric_str((ac_metric)i);
}

/* ---- appending a read element, and releasing one that was not */

static void release_series(void *tmp)
{
    ac_series *s = tmp;
    free(s->x), free(s->y), free(s->lo), free(s->hi);
}

/* ac_figure_add_series copies the arrays: tmp's are released once copied. */
static ac_status append_series(void *parent, void *tmp)
{
    ac_series *s = tmp;
    ac_status st = ac_figure_add_series(parent, s->label, s->n, s->x, s->y, s->lo, s->hi);
    if (st == AC_OK)
        release_series(s);
    return st;
}

static void release_figure(void *tmp)
{
    ac_figure *g = tmp;
    for (int i = 0; i < g->nseries; i++)
        release_series(&g->series[i]);
    free(g->series);
}

static ac_status append_figure(void *parent, void *tmp)
{
    ac_figure *g = tmp;
    ac_figure *fig = ac_claim_add_figure(parent, g->name, g->title, g->xlabel, g->ylabel, g->logx,
                                         g->logy);
    if (!fig)
        return AC_ENOMEM;
    fig->series = g->series; /* taken */
    fig->nseries = g->nseries;
    return AC_OK;
}

static ac_status append_row(void *parent, void *tmp)
{
    const ac_claim_row *w = tmp;
    ac_claim_row *row = ac_claim_add(parent, "", "", 0.0, 0.0, w->metric, 0.0, "");
    if (!row)
        return AC_ENOMEM;
    *row = *w;
    return AC_OK;
}

static void release_nothing(void *tmp)
{
    (void)tmp;
}

static ac_status append_claim(void *parent, void *tmp)
{
    ac_report_set *set = parent;
    ac_claim_result *r = realloc(set->res, sizeof *r * (size_t)(set->nres + 1));
    if (!r)
        return AC_ENOMEM;
    set->res = r;
    set->res[set->nres++] = *(ac_claim_result *)tmp; /* taken */
    return AC_OK;
}

static void release_claim(void *tmp)
{
    ac_claim_result_clear(tmp);
}

/* ---- the records */

static const field series_fields[] = {
    TEXT(ac_series, "label", label),
    COUNT(ac_series, "n", n),
    NUMS(ac_series, "x", x, n, 0),
    NUMS(ac_series, "y", y, n, 0),
    NUMS(ac_series, "lo", lo, n, 1),
    NUMS(ac_series, "hi", hi, n, 1),
};
static const list_def series_list = {offsetof(ac_figure, nseries), sizeof(ac_series),
                                     series_fields, NFIELDS(series_fields), append_series,
                                     release_series};

static const field figure_fields[] = {
    TEXT(ac_figure, "name", name),
    TEXT(ac_figure, "title", title),
    TEXT(ac_figure, "xlabel", xlabel),
    TEXT(ac_figure, "ylabel", ylabel),
    INT(ac_figure, "logx", logx),
    INT(ac_figure, "logy", logy),
    LIST(ac_figure, "series", series, series_list),
};
static const list_def figure_list = {offsetof(ac_claim_result, nfigs), sizeof(ac_figure),
                                     figure_fields, NFIELDS(figure_fields), append_figure,
                                     release_figure};

static const field row_fields[] = {
    TEXT(ac_claim_row, "quantity", quantity),
    TEXT(ac_claim_row, "theory_what", theory_what),
    NUM(ac_claim_row, "theory", theory),
    NUM(ac_claim_row, "empirical", empirical),
    ENUM(ac_claim_row, "metric", metric, metric_at, AC_METRIC_INFO + 1),
    NUM(ac_claim_row, "tol", tol),
    TEXT(ac_claim_row, "tol_reason", tol_reason),
    INT(ac_claim_row, "is_count", is_count),
    NUM_OPT(ac_claim_row, "regress_abs", regress_abs),
    NUM(ac_claim_row, "deviation", deviation),
    ENUM(ac_claim_row, "verdict", verdict, verdict_at, AC_VERDICT_INFO + 1),
};
static const list_def row_list = {offsetof(ac_claim_result, nrows), sizeof(ac_claim_row),
                                  row_fields, NFIELDS(row_fields), append_row, release_nothing};

static const field claim_fields[] = {
    STR(ac_claim_result, "id", id),
    STR(ac_claim_result, "paper", paper),
    STR(ac_claim_result, "statement", statement),
    ENUM(ac_claim_result, "verdict", verdict, verdict_at, AC_VERDICT_INFO + 1),
    ENUM(ac_claim_result, "status", status, status_at, AC_STATUS_COUNT),
    TEXT(ac_claim_result, "error", error),
    NUM(ac_claim_result, "theory_seconds", theory_seconds),
    NUM(ac_claim_result, "empirical_seconds", empirical_seconds),
    TEXT(ac_claim_result, "setup", setup),
    NUM(ac_claim_result, "regress_rtol", regress_rtol),
    TEXT(ac_claim_result, "regress_reason", regress_reason),
    LIST(ac_claim_result, "rows", rows, row_list),
    LIST(ac_claim_result, "figures", figs, figure_list),
};
static const list_def claim_list = {offsetof(ac_report_set, nres), sizeof(ac_claim_result),
                                    claim_fields, NFIELDS(claim_fields), append_claim,
                                    release_claim};

/* The document is an ac_report_set: the writer fills one that borrows its
 * caller's data, the reader fills the caller's. */
static const field meta_fields[] = {
    STR(ac_report_set, "version", version),
    STR_OPT(ac_report_set, "source", source), /* absent from reports written before it was added */
    STR(ac_report_set, "command_line", command_line),
    ULONG(ac_report_set, "seed", seed),
    STR(ac_report_set, "size", size),
    STR(ac_report_set, "date", date),
};

static const field paper_fields[] = {
    STR(ac_report_set, "name", paper_name),
    STR(ac_report_set, "title", paper_title),
};

static json_t *summary_of(const void *obj);

static const field report_fields[] = {
    OBJECT("meta", meta_fields, 0),
    OBJECT("paper", paper_fields, 1),
    DERIVED("summary", summary_of),
    LIST(ac_report_set, "claims", res, claim_list),
};

/* ------------------------------------------------------------- writing */

static const char *str_at(const void *obj, size_t off)
{
    const char *s;
    memcpy(&s, (const char *)obj + off, sizeof s);
    return s;
}

static int int_at(const void *obj, size_t off)
{
    int i;
    memcpy(&i, (const char *)obj + off, sizeof i);
    return i;
}

static double num_at(const void *obj, size_t off)
{
    double x;
    memcpy(&x, (const char *)obj + off, sizeof x);
    return x;
}

static const void *ptr_at(const void *obj, size_t off)
{
    const void *p;
    memcpy(&p, (const char *)obj + off, sizeof p);
    return p;
}

/* A JSON string of s.  jansson takes only UTF-8; a text that is not is
 * written with its bytes >= 0x80 as '?'. */
static json_t *j_str(const char *s)
{
    json_t *v = json_string(ac_report_nz(s));
    if (v)
        return v;
    char *c = strdup(ac_report_nz(s));
    if (!c)
        return NULL;
    for (char *p = c; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = json_string(c);
    free(c);
    return v;
}

/* A double: a JSON real, or "nan" / "inf" / "-inf". */
static json_t *j_num(double x)
{
    if (isnan(x))
        return json_string("nan");
    if (isinf(x))
        return json_string(x > 0 ? "inf" : "-inf");
    return json_real(x);
}

static json_t *j_nums(const double *x, int n)
{
    if (!x)
        return json_null();
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, j_num(x[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* A seed beyond json_int_t's range is written as a decimal string. */
static json_t *j_ulong(unsigned long u)
{
    if (u <= (unsigned long)LLONG_MAX)
        return json_integer((json_int_t)u);
    char buf[32];
    snprintf(buf, sizeof buf, "%lu", u);
    return json_string(buf);
}

static json_t *j_object(const void *obj, const field *fields, int n);

static json_t *j_list(const void *obj, const field *fd)
{
    const list_def *l = fd->list;
    const char *elems = ptr_at(obj, fd->off);
    int n = int_at(obj, l->count_off);
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, j_object(elems + (size_t)i * l->elem_size, l->fields,
                                              l->nfields)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *j_field(const void *obj, const field *fd)
{
    const char *base = obj;
    switch (fd->kind) {
    case F_TEXT: return j_str(base + fd->off);
    case F_STR: return j_str(str_at(obj, fd->off));
    case F_NUM: return j_num(num_at(obj, fd->off));
    case F_INT: return json_integer(int_at(obj, fd->off));
    case F_ULONG: {
        unsigned long u;
        memcpy(&u, base + fd->off, sizeof u);
        return j_ulong(u);
    }
    case F_ENUM: return json_string(fd->name(int_at(obj, fd->off)));
    case F_NUMS: return j_nums(ptr_at(obj, fd->off), int_at(obj, fd->count_off));
    case F_OBJECT:
        if (fd->nullable && !str_at(obj, fd->sub[0].off))
            return json_null();
        return j_object(obj, fd->sub, fd->nsub);
    case F_LIST: return j_list(obj, fd);
    case F_DERIVED: return fd->derive(obj);
    }
    return NULL;
}

/* The object of fields[0..n-1] of obj; NULL on no memory. */
static json_t *j_object(const void *obj, const field *fields, int n)
{
    json_t *o = json_object();
    for (int i = 0; o && i < n; i++)
        if (json_object_set_new(o, fields[i].key, j_field(obj, &fields[i])) != 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

/* Claims per verdict (derived, so never read back). */
static json_t *summary_of(const void *obj)
{
    const ac_report_set *set = obj;
    int count[3] = {0, 0, 0};
    for (int i = 0; i < set->nres; i++)
        if ((unsigned)set->res[i].verdict < 3)
            count[set->res[i].verdict]++;
    return json_pack("{s:i, s:i, s:i}", "pass", count[AC_VERDICT_PASS], "fail",
                     count[AC_VERDICT_FAIL], "info", count[AC_VERDICT_INFO]);
}

ac_status ac_report_write_json(FILE *f, const ac_paper_def *paper, const ac_claim_result *res,
                               int nres, const ac_report_meta *meta, ac_msg *msg)
{
    /* a set that borrows everything; the writer only reads it, so the casts
     * from const are never written through */
    char date[64];
    ac_report_set doc;
    memset(&doc, 0, sizeof doc);
    doc.res = (ac_claim_result *)res;
    doc.nres = nres;
    doc.paper_name = paper ? (char *)ac_report_nz(paper->name) : NULL;
    doc.paper_title = paper ? (char *)paper->title : NULL;
    doc.version = (char *)AC_VERSION;
    doc.source = (char *)ac_report_source(meta);
    doc.command_line = meta ? (char *)meta->command_line : NULL;
    doc.seed = meta ? meta->seed : 0UL;
    doc.size = meta ? (char *)meta->size : NULL;
    doc.date = (char *)ac_report_date(meta, date, sizeof date);
    json_t *root = j_object(&doc, report_fields, NFIELDS(report_fields));
    if (!root)
        return ac_fail(msg, AC_ENOMEM, "JSON report: no memory to build the document of %d claims",
                       nres);
    int rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(AC_REPORT_DIGITS_EXACT));
    json_decref(root);
    fputc('\n', f);
    if (rc != 0)
        return ac_fail(msg, AC_EIO, "JSON report: write error on the output stream");
    return ac_report_check_stream(f, "JSON report", msg);
}

/* ------------------------------------------------------------- reading */

/* Where a value sits in the document: claims[2].rows[0].theory. */
#define READ_MAX_DEPTH 12
typedef struct {
    const char *key; /* NULL: an array element */
    int index;
} path_seg;

typedef struct {
    const char *name;
    ac_msg *msg;
    path_seg seg[READ_MAX_DEPTH];
    int depth;
    ac_report_set *set;
} reader;

static void path_text(const reader *r, const char *key, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i <= r->depth && n < cap; i++) {
        if (i == r->depth && !key)
            break;
        const char *k = i < r->depth ? r->seg[i].key : key;
        int w = k ? snprintf(buf + n, cap - n, "%s%s", n ? "." : "", k)
                  : snprintf(buf + n, cap - n, "[%d]", r->seg[i].index);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    if (n == 0)
        snprintf(buf, cap, "top level");
}

/* AC_EPARSE with "NAME: PATH[.key]: reason". */
static ac_status bad(const reader *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ac_status bad(const reader *r, const char *key, const char *fmt, ...)
{
    char path[256], reason[AC_MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    path_text(r, key, path, sizeof path);
    return ac_fail(r->msg, AC_EPARSE, "%s: %s: %s", r->name, path, reason);
}

static void push(reader *r, const char *key, int index)
{
    /* depth is bounded by the tables: document, claim, figure, series, array */
    r->seg[r->depth].key = key;
    r->seg[r->depth].index = index;
    r->depth++;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* Keep a copy of s in the set; NULL on no memory. */
static char *own(ac_report_set *set, const char *s)
{
    if (set->nstrings_ == set->capstrings_) {
        int cap = set->capstrings_ ? 2 * set->capstrings_ : 16;
        char **p = realloc(set->strings_, sizeof *p * (size_t)cap);
        if (!p)
            return NULL;
        set->strings_ = p;
        set->capstrings_ = cap;
    }
    char *c = strdup(s);
    if (c)
        set->strings_[set->nstrings_++] = c;
    return c;
}

/* A double from a JSON number or the strings "nan", "inf", "-inf". */
static ac_status as_num(const reader *r, const char *key, const json_t *v, double *x)
{
    if (json_is_number(v)) {
        *x = json_number_value(v);
        return AC_OK;
    }
    if (!json_is_string(v))
        return bad(r, key, "expected a number, found %s", type_name(v));
    const char *s = json_string_value(v);
    if (strcmp(s, "nan") == 0)
        *x = NAN;
    else if (strcmp(s, "inf") == 0)
        *x = INFINITY;
    else if (strcmp(s, "-inf") == 0)
        *x = -INFINITY;
    else
        return bad(r, key, "expected a number or \"nan\", \"inf\", \"-inf\", found \"%.40s\"", s);
    return AC_OK;
}

static ac_status want_string(const reader *r, const char *key, const json_t *v)
{
    if (!json_is_string(v))
        return bad(r, key, "expected a string, found %s", type_name(v));
    if (strlen(json_string_value(v)) != json_string_length(v))
        return bad(r, key, "string holds a NUL character");
    return AC_OK;
}

static ac_status read_text(const reader *r, const char *key, const json_t *v, char *buf,
                           size_t cap)
{
    ac_status st = want_string(r, key, v);
    if (st)
        return st;
    size_t l = json_string_length(v);
    if (l >= cap)
        return bad(r, key, "string of %zu bytes is longer than the %zu the field holds", l,
                   cap - 1);
    memcpy(buf, json_string_value(v), l + 1);
    return AC_OK;
}

static ac_status read_int(const reader *r, const field *fd, const json_t *v, int *x)
{
    if (json_is_boolean(v)) {
        *x = json_is_true(v);
        return AC_OK;
    }
    if (!json_is_integer(v))
        return bad(r, fd->key, "expected an integer, found %s", type_name(v));
    json_int_t i = json_integer_value(v);
    if (i < INT_MIN || i > INT_MAX)
        return bad(r, fd->key, "integer %lld is outside the range of int", (long long)i);
    if (fd->nonneg && i < 0)
        return bad(r, fd->key, "negative count %lld", (long long)i);
    *x = (int)i;
    return AC_OK;
}

static ac_status read_ulong(const reader *r, const char *key, const json_t *v, unsigned long *u)
{
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *u = (unsigned long)json_integer_value(v);
        return AC_OK;
    }
    if (!json_is_string(v))
        return bad(r, key, "expected a non-negative integer, found %s", type_name(v));
    const char *s = json_string_value(v);
    char *end;
    errno = 0;
    *u = strtoul(s, &end, 10);
    if (errno || *end || end == s || *s == '-' || *s == ' ' || *s == '+')
        return bad(r, key, "\"%.40s\" is not an unsigned decimal", s);
    return AC_OK;
}

static ac_status read_enum(const reader *r, const field *fd, const json_t *v, int *x)
{
    ac_status st = want_string(r, fd->key, v);
    if (st)
        return st;
    for (int i = 0; i < fd->nnames; i++)
        if (strcmp(json_string_value(v), fd->name(i)) == 0) {
            *x = i;
            return AC_OK;
        }
    return bad(r, fd->key, "unknown value \"%.40s\"", json_string_value(v));
}

/* An array of n doubles (or null: NULL) into a malloc'ed array *out. */
static ac_status read_nums(reader *r, const field *fd, const json_t *v, int n, double **out)
{
    *out = NULL;
    if (fd->nullable && json_is_null(v))
        return AC_OK;
    if (!json_is_array(v))
        return bad(r, fd->key, "expected an array%s, found %s", fd->nullable ? " or null" : "",
                   type_name(v));
    if (json_array_size(v) != (size_t)n)
        return bad(r, fd->key, "array has %zu elements, n is %d", json_array_size(v), n);
    double *a = malloc(sizeof *a * (size_t)(n > 0 ? n : 1));
    if (!a)
        return ac_fail(r->msg, AC_ENOMEM, "%s: no memory for %d numbers", r->name, n);
    ac_status st = AC_OK;
    push(r, fd->key, 0);
    for (int i = 0; i < n && st == AC_OK; i++) {
        push(r, NULL, i);
        st = as_num(r, NULL, json_array_get(v, (size_t)i), &a[i]);
        r->depth--;
    }
    r->depth--;
    if (st) {
        free(a);
        return st;
    }
    *out = a;
    return AC_OK;
}

static ac_status read_object(reader *r, const json_t *o, void *obj, const field *fields, int n);

static ac_status read_list(reader *r, const field *fd, const json_t *a, void *parent)
{
    const list_def *l = fd->list;
    if (!json_is_array(a))
        return bad(r, fd->key, "expected an array, found %s", type_name(a));
    if (json_array_size(a) > (size_t)INT_MAX / 2)
        return bad(r, fd->key, "%zu elements are too many", json_array_size(a));
    void *tmp = malloc(l->elem_size);
    if (!tmp)
        return ac_fail(r->msg, AC_ENOMEM, "%s: no memory", r->name);
    ac_status st = AC_OK;
    push(r, fd->key, 0);
    for (size_t i = 0; i < json_array_size(a) && st == AC_OK; i++) {
        const json_t *e = json_array_get(a, i);
        push(r, NULL, (int)i);
        memset(tmp, 0, l->elem_size);
        if (!json_is_object(e))
            st = bad(r, NULL, "expected an object, found %s", type_name(e));
        else
            st = read_object(r, e, tmp, l->fields, l->nfields);
        if (st == AC_OK && l->append(parent, tmp) != AC_OK)
            st = ac_fail(r->msg, AC_ENOMEM, "%s: no memory for %s[%zu]", r->name, fd->key, i);
        if (st != AC_OK)
            l->release(tmp);
        r->depth--;
    }
    r->depth--;
    free(tmp);
    return st;
}

/* The member of fd's key in o, read into obj. */
static ac_status read_field(reader *r, const json_t *o, void *obj, const field *fd)
{
    char *base = obj;
    const json_t *v = json_object_get(o, fd->key);
    if (!v && fd->optional)
        return AC_OK;
    if (!v)
        return bad(r, NULL, "missing key \"%s\"", fd->key);
    ac_status st = AC_OK;
    switch (fd->kind) {
    case F_TEXT: return read_text(r, fd->key, v, base + fd->off, fd->size);
    case F_STR: {
        st = want_string(r, fd->key, v);
        if (st)
            return st;
        char *s = own(r->set, json_string_value(v));
        if (!s)
            return ac_fail(r->msg, AC_ENOMEM, "%s: no memory for a string", r->name);
        memcpy(base + fd->off, &s, sizeof s);
        return AC_OK;
    }
    case F_NUM: {
        double x;
        st = as_num(r, fd->key, v, &x);
        if (!st)
            memcpy(base + fd->off, &x, sizeof x);
        return st;
    }
    case F_INT:
    case F_ENUM: {
        int i = 0;
        st = fd->kind == F_INT ? read_int(r, fd, v, &i) : read_enum(r, fd, v, &i);
        if (!st)
            memcpy(base + fd->off, &i, sizeof i);
        return st;
    }
    case F_ULONG: {
        unsigned long u = 0;
        st = read_ulong(r, fd->key, v, &u);
        if (!st)
            memcpy(base + fd->off, &u, sizeof u);
        return st;
    }
    case F_NUMS: {
        double *a;
        st = read_nums(r, fd, v, int_at(obj, fd->count_off), &a);
        if (!st)
            memcpy(base + fd->off, &a, sizeof a);
        return st;
    }
    case F_OBJECT:
        if (fd->nullable && json_is_null(v))
            return AC_OK;
        if (!json_is_object(v))
            return bad(r, fd->key, "expected an object%s, found %s",
                       fd->nullable ? " or null" : "", type_name(v));
        push(r, fd->key, 0);
        st = read_object(r, v, obj, fd->sub, fd->nsub);
        r->depth--;
        return st;
    case F_LIST: return read_list(r, fd, v, obj);
    case F_DERIVED: return AC_OK;
    }
    return AC_OK;
}

static ac_status read_object(reader *r, const json_t *o, void *obj, const field *fields, int n)
{
    ac_status st = AC_OK;
    for (int i = 0; i < n && st == AC_OK; i++)
        if (fields[i].kind != F_DERIVED)
            st = read_field(r, o, obj, &fields[i]);
    return st;
}

ac_status ac_report_parse_json(const char *text, size_t len, const char *name,
                               ac_report_set *set, ac_msg *msg)
{
    memset(set, 0, sizeof *set);
    name = name ? name : "(json)";
    if (!text)
        return ac_fail(msg, AC_EINVAL, "%s: no text", name);
    /* a UTF-8 byte-order mark (some editors write one) is skipped, as
     * ac_json_read_stream does for the other JSON inputs */
    size_t bom = ac_utf8_bom(text, len);
    text += bom, len -= bom;
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return ac_fail(msg, AC_EPARSE, "%s:%d:%d: %s", name, err.line > 0 ? err.line : 1,
                       err.column > 0 ? err.column : 1, err.text);
    reader r = {name, msg, {{0}}, 0, set};
    ac_status st = json_is_object(root)
                       ? read_object(&r, root, set, report_fields, NFIELDS(report_fields))
                       : bad(&r, NULL, "expected an object, found %s", type_name(root));
    json_decref(root);
    if (st != AC_OK)
        ac_report_set_clear(set);
    return st;
}

ac_status ac_report_read_json(const char *path, ac_report_set *set, ac_msg *msg)
{
    memset(set, 0, sizeof *set);
    FILE *f = fopen(path, "rb");
    if (!f)
        return ac_fail(msg, AC_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        char *b = realloc(buf, 2 * cap);
        if (!b) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
        cap *= 2;
    }
    int rerr = ferror(f);
    int e = errno;
    fclose(f);
    if (!buf)
        return ac_fail(msg, AC_ENOMEM, "%s: no memory to read the file", path);
    if (rerr) {
        free(buf);
        return ac_fail(msg, AC_EIO, "%s: read error: %s", path, strerror(e));
    }
    ac_status st = ac_report_parse_json(buf, len, path, set, msg);
    free(buf);
    return st;
}

void ac_report_set_clear(ac_report_set *set)
{
    if (!set)
        return;
    for (int i = 0; i < set->nres; i++)
        ac_claim_result_clear(&set->res[i]);
    free(set->res);
    for (int i = 0; i < set->nstrings_; i++)
        free(set->strings_[i]);
    free(set->strings_);
    memset(set, 0, sizeof *set);
}
