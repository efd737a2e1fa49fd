/* Dense arrays in JSON files (verify/json_array.h). */
#include "verify/json_array.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "verify/text.h"

/* jansson's chunk reader over a stdio stream, the mark skipped. */
typedef struct {
    FILE *f;
    int started;       /* the start was read (a byte-order mark skipped) */
    int err;           /* errno of a failed read, 0 */
    size_t seps, max;  /* separators passed to jansson, and their bound */
} stream_source;

/* Pass n bytes at buf to jansson, or stop (EFBIG) once the separators
 * seen ('[', '{', ',', ':', one before every value but the first) exceed
 * s->max. */
static size_t counted(stream_source *s, const char *buf, size_t n)
{
    /* jansson takes a NUL byte for the end of the input and would report
     * "... near end of file" in the middle of it */
    if (memchr(buf, '\0', n)) {
        s->err = EILSEQ;
        return (size_t)-1;
    }
    for (size_t i = 0; i < n; i++)
        s->seps += buf[i] == '[' || buf[i] == '{' || buf[i] == ',' || buf[i] == ':';
    if (s->seps > s->max) {
        s->err = EFBIG;
        return (size_t)-1;
    }
    return n;
}

static size_t read_chunk(void *buffer, size_t buflen, void *data)
{
    stream_source *s = data;
    if (!s->started) {
        /* the first AC_UTF8_BOM_LEN bytes, whole: a pipe may deliver them one by one */
        s->started = 1;
        unsigned char head[AC_UTF8_BOM_LEN];
        size_t n = fread(head, 1, AC_UTF8_BOM_LEN, s->f);
        if (ac_utf8_bom(head, n))
            n = 0;
        if (n > 0 && buflen >= n) {
            memcpy(buffer, head, n);
            return counted(s, buffer, n);
        }
        if (n > 0) { /* jansson reads in 1024-byte chunks (its load.c): not reached */
            s->err = EIO;
            return (size_t)-1;
        }
        if (ferror(s->f)) {
            s->err = errno ? errno : EIO;
            return (size_t)-1;
        }
    }
    size_t n = fread(buffer, 1, buflen, s->f);
    if (n == 0 && ferror(s->f)) {
        s->err = errno ? errno : EIO;
        return (size_t)-1;
    }
    return counted(s, buffer, n);
}

const char *ac_json_read_error(int read_errno)
{
    static _Thread_local char buf[128]; /* a library user's threads each get theirs */
    if (read_errno == EILSEQ)
        return "a NUL byte: not a JSON text file";
    snprintf(buf, sizeof buf, "read error: %s", strerror(read_errno));
    return buf;
}

json_t *ac_json_read_stream(FILE *f, json_error_t *err, int *read_errno)
{
    return ac_json_read_stream_max(f, (size_t)-1, err, read_errno);
}

json_t *ac_json_read_stream_max(FILE *f, size_t max_values, json_error_t *err, int *read_errno)
{
    stream_source src = {f, 0, 0, 0, max_values > 0 ? max_values - 1 : 0};
    errno = 0;
    json_t *root = json_load_callback(read_chunk, &src, JSON_REJECT_DUPLICATES, err);
    *read_errno = src.err;
    return root;
}

ac_status ac_json_load(const char *path, json_t **root, ac_msg *msg)
{
    *root = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ac_fail(msg, AC_EIO, "%s: cannot open: %s", path, strerror(errno));
    json_error_t err;
    int rerr;
    json_t *j = ac_json_read_stream(f, &err, &rerr);
    fclose(f);
    if (rerr) {
        json_decref(j);
        return ac_fail(msg, rerr == EILSEQ ? AC_EPARSE : AC_EIO, "%s: %s", path, ac_json_read_error(rerr));
    }
    if (!j)
        return ac_fail(msg, AC_EPARSE, "%s:%d:%d: %s", path, err.line, err.column, err.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return ac_fail(msg, AC_EPARSE, "%s: the top level is not a JSON object", path);
    }
    *root = j;
    return AC_OK;
}

/* The key path of index idx[0..depth-1] under key, e.g. "Wq[0][2]". */
static void key_path(char *buf, size_t cap, const char *key, const size_t *idx, int depth)
{
    int n = snprintf(buf, cap, "%s", key);
    for (int k = 0; k < depth && n >= 0 && (size_t)n < cap; k++)
        n += snprintf(buf + n, cap - (size_t)n, "[%zu]", idx[k]);
}

/* Read the nested array v of dimension level `level` into out, advancing
 * *pos; idx holds the indices of the enclosing levels. */
static ac_status read_level(const json_t *v, int level, int rank, const int *dims,
                            const char *const *names, double *out, size_t *pos, size_t *idx,
                            const char *key, const char *file, ac_msg *msg)
{
    char path[160];
    if (level == rank) {
        key_path(path, sizeof path, key, idx, level);
        if (!json_is_number(v))
            return ac_fail(msg, AC_EPARSE, "%s: %s: not a number", file, path);
        double x = json_number_value(v);
        if (!isfinite(x))
            return ac_fail(msg, AC_EPARSE, "%s: %s: not a finite number", file, path);
        out[(*pos)++] = x;
        return AC_OK;
    }
    key_path(path, sizeof path, key, idx, level);
    const char *nm = names && names[level] ? names[level] : NULL;
    if (!json_is_array(v))
        return ac_fail(msg, AC_EPARSE, "%s: %s: not an array (expected %d entries%s%s%s)", file,
                       path, dims[level], nm ? ": " : "", nm ? nm : "", "");
    size_t n = json_array_size(v);
    if (n != (size_t)dims[level])
        return ac_fail(msg, AC_EPARSE, "%s: %s: %zu entries, expected %d%s%s%s", file, path, n,
                       dims[level], nm ? " (" : "", nm ? nm : "", nm ? ")" : "");
    for (size_t k = 0; k < n; k++) {
        idx[level] = k;
        ac_status st = read_level(json_array_get(v, k), level + 1, rank, dims, names, out, pos,
                                  idx, key, file, msg);
        if (st != AC_OK)
            return st;
    }
    return AC_OK;
}

ac_status ac_json_get_doubles(const json_t *obj, const char *key, int rank, const int *dims,
                              const char *const *names, double *out, int *present,
                              const char *file, ac_msg *msg)
{
    if (rank < 1 || rank > AC_JSON_MAX_RANK)
        return ac_fail(msg, AC_EINVAL, "%s: %s: rank %d outside 1..%d", file, key, rank,
                       AC_JSON_MAX_RANK);
    for (int k = 0; k < rank; k++)
        if (dims[k] < 1)
            return ac_fail(msg, AC_EINVAL, "%s: %s: dimension %d is %d, not positive", file, key,
                           k, dims[k]);
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (present) {
            *present = 0;
            return AC_OK;
        }
        return ac_fail(msg, AC_EPARSE, "%s: missing key '%s'", file, key);
    }
    size_t idx[AC_JSON_MAX_RANK] = {0}, pos = 0;
    ac_status st = read_level(v, 0, rank, dims, names, out, &pos, idx, key, file, msg);
    if (st == AC_OK && present)
        *present = 1;
    return st;
}

ac_status ac_json_get_int(const json_t *obj, const char *key, long lo, long hi, long *out,
                          int *present, const char *file, ac_msg *msg)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (present) {
            *present = 0;
            return AC_OK;
        }
        return ac_fail(msg, AC_EPARSE, "%s: missing key '%s' (an integer in %ld..%ld)", file, key,
                       lo, hi);
    }
    if (!json_is_integer(v))
        return ac_fail(msg, AC_EPARSE, "%s: %s: not an integer (expected one in %ld..%ld)", file,
                       key, lo, hi);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return ac_fail(msg, AC_EPARSE, "%s: %s = %lld, outside %ld..%ld", file, key, (long long)x,
                       lo, hi);
    *out = (long)x;
    if (present)
        *present = 1;
    return AC_OK;
}

json_t *ac_json_real_or_null(double x)
{
    return isfinite(x) ? json_real(x) : json_null();
}

static json_t *write_level(int level, int rank, const int *dims, const double *a, size_t *pos)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (int k = 0; k < dims[level]; k++) {
        json_t *e = level + 1 == rank ? json_real(a[(*pos)++])
                                      : write_level(level + 1, rank, dims, a, pos);
        if (!e || json_array_append_new(arr, e) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

json_t *ac_json_doubles(int rank, const int *dims, const double *a)
{
    if (rank < 1 || rank > AC_JSON_MAX_RANK)
        return NULL;
    for (int k = 0; k < rank; k++)
        if (dims[k] < 0)
            return NULL;
    size_t pos = 0;
    return write_level(0, rank, dims, a, &pos);
}

ac_status ac_json_set_new(json_t *obj, const char *key, json_t *value)
{
    if (!value)
        return AC_ENOMEM;
    return json_object_set_new(obj, key, value) == 0 ? AC_OK : AC_ENOMEM;
}

/* One value, compact, 17-digit reals, to f; 0 on success. */
static int dump_compact(FILE *f, const json_t *v)
{
    return json_dumpf(v, f, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
}

ac_status ac_json_dump(FILE *f, const json_t *root, ac_msg *msg)
{
    /* An object is written one key per line, each value compact: a matrix
     * stays one readable line instead of one number per line. */
    int bad = 0;
    if (!json_is_object(root)) {
        bad = dump_compact(f, root) != 0;
    } else {
        const char *key;
        json_t *v;
        size_t k = 0, n = json_object_size(root);
        bad = fputs("{\n", f) == EOF;
        json_object_foreach((json_t *)root, key, v) {
            json_t *jk = json_string(key);
            bad = bad || !jk || fputc(' ', f) == EOF || dump_compact(f, jk) != 0 ||
                  fputs(": ", f) == EOF || dump_compact(f, v) != 0 ||
                  fputs(++k < n ? ",\n" : "\n", f) == EOF;
            json_decref(jk);
        }
        bad = bad || fputc('}', f) == EOF;
    }
    if (bad || fputc('\n', f) == EOF)
        return ac_fail(msg, AC_EIO, "cannot write the JSON document");
    return AC_OK;
}
