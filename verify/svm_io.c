/* Dataset and embeddings files of the Graph-SVM commands (format in
 * svm_io.h).
 *
 * Both parsers work on a private NUL-terminated copy of the whole input: no
 * fixed line buffer, and a file read from disk and a fuzzer's bytes take the
 * same path.  The input is first checked to be text (UTF-8 without control
 * characters), so that later messages can quote words from it safely; then
 * lines are cut in place (comment and CR removed) and split into words. */
#include "verify/svm_io.h"
#include "verify/text.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_NAME "<input>"
#define READ_CHUNK ((size_t)1 << 16)

/* Bytes of a line that AC_SVM_IO_MAX_LINE does not count: a CR before the LF
 * and, on line 1, a 3-byte byte-order mark.  The reading guard (slurp)
 * allows them; the parser then makes the exact test. */
#define LINE_SLACK 4

/* The two limit messages, shared by the reading guard and the parser so that
 * a file read from disk and the same bytes parsed give the same sentence. */
static ac_status line_too_long(const char *name, long line, ac_msg *msg)
{
    return ac_fail(msg, AC_EPARSE, "%s:%ld: line longer than %d bytes (the limit of the format)",
                   name, line, AC_SVM_IO_MAX_LINE);
}

static ac_status too_many_lines(const char *name, long line, ac_msg *msg)
{
    return ac_fail(msg, AC_EPARSE, "%s:%ld: more than %d lines (the limit of the format)", name,
                   line, AC_SVM_IO_MAX_LINES);
}

/* ------------------------------------------------------------------------ */
/* Text check                                                               */


/* ------------------------------------------------------------------------ */
/* Lines and words                                                          */

typedef struct {
    char *s;          /* private copy of the input, NUL-terminated */
    size_t len, pos;  /* bytes in s, start of the next line */
    long line;        /* 1-based number of the line last returned */
    const char *name; /* for messages */
} reader;

/* Copy buf into r (a UTF-8 byte-order mark at the start is dropped). */
static ac_status reader_init(reader *r, const char *buf, size_t len, const char *name)
{
    r->name = name;
    r->line = 0;
    r->pos = 0;
    size_t bom = ac_utf8_bom(buf, len);
    buf += bom, len -= bom;
    r->s = malloc(len + 1);
    if (!r->s)
        return AC_ENOMEM;
    if (len)
        memcpy(r->s, buf, len);
    r->s[len] = '\0';
    r->len = len;
    return AC_OK;
}

/* The next line with its end (LF or CRLF) and its comment cut off, as a
 * NUL-terminated string in place.  Returns 1 and sets *text, 0 at the end of
 * the input, or -1 with msg set for a line past AC_SVM_IO_MAX_LINES, a line
 * longer than AC_SVM_IO_MAX_LINE, or a CR inside a line (the only other place
 * a CR may stand is before the LF or at the end of the input). */
static int next_line(reader *r, char **text, ac_msg *msg)
{
    if (r->pos >= r->len)
        return 0;
    if (r->line >= AC_SVM_IO_MAX_LINES) {
        too_many_lines(r->name, r->line + 1, msg);
        return -1;
    }
    char *p = r->s + r->pos;
    char *nl = memchr(p, '\n', r->len - r->pos);
    char *e = nl ? nl : r->s + r->len;
    r->pos = (size_t)(e - r->s) + (nl ? 1 : 0);
    r->line++;
    if (e > p && e[-1] == '\r')
        e--;
    if ((size_t)(e - p) > AC_SVM_IO_MAX_LINE) {
        line_too_long(r->name, r->line, msg);
        return -1;
    }
    *e = '\0';
    char *cr = strchr(p, '\r');
    if (cr) {
        ac_fail(msg, AC_EPARSE, "%s:%ld: carriage return inside the line (column %zu)", r->name,
                r->line, (size_t)(cr - p) + 1);
        return -1;
    }
    char *hash = strchr(p, '#');
    if (hash)
        *hash = '\0';
    *text = p;
    return 1;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The next word of *p (NUL-terminated in place) or NULL when none is left;
 * *p moves past it. */
static char *next_word(char **p)
{
    char *s = *p;
    while (is_blank(*s))
        s++;
    if (*s == '\0') {
        *p = s;
        return NULL;
    }
    char *e = s;
    while (*e && !is_blank(*e))
        e++;
    *p = *e ? e + 1 : e;
    *e = '\0';
    return s;
}

static int count_words(const char *s)
{
    int n = 0;
    for (int in = 0; *s; s++) {
        int w = !is_blank(*s);
        n += w && !in;
        in = w;
    }
    return n;
}

/* Printing width and suffix that quote at most AC_SVM_IO_QUOTE_MAX bytes of
 * w: use as "%.*s%s", qw(w), w, qs(w). */
static int qw(const char *w)
{
    size_t n = strlen(w);
    return (int)(n > AC_SVM_IO_QUOTE_MAX ? AC_SVM_IO_QUOTE_MAX : n);
}

static const char *qs(const char *w)
{
    return strlen(w) > AC_SVM_IO_QUOTE_MAX ? "..." : "";
}

/* ------------------------------------------------------------------------ */
/* Growable arrays                                                          */

/* The array v of elem-byte entries (n used of *cap) with room for one more,
 * doubling from 64: v itself or its reallocation; NULL when out of memory
 * (v is then untouched). */
static void *reserve_one(void *v, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return v;
    size_t c = *cap ? 2 * *cap : 64;
    void *p = realloc(v, c * elem);
    if (p)
        *cap = c;
    return p;
}

typedef struct {
    int *v;
    size_t n, cap;
} ivec;

static int ivec_push(ivec *a, int x)
{
    int *v = reserve_one(a->v, a->n, &a->cap, sizeof *a->v);
    if (!v)
        return -1;
    a->v = v;
    a->v[a->n++] = x;
    return 0;
}

typedef struct {
    double *v;
    size_t n, cap;
} dvec;

static int dvec_push(dvec *a, double x)
{
    double *v = reserve_one(a->v, a->n, &a->cap, sizeof *a->v);
    if (!v)
        return -1;
    a->v = v;
    a->v[a->n++] = x;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Datasets                                                                 */

/* A token id or label: decimal digits only.  Returns 0 with the value in
 * *v, saturated at AC_SVM_IO_MAX_VOCAB (every larger id is out of range the
 * same way, and the scan never overflows: "99999999999x" is still read to
 * its end and found not to be an integer), or 1 when w is not a non-negative
 * integer. */
static int parse_id(const char *w, int *v)
{
    long x = 0;
    if (*w == '\0')
        return 1;
    for (; *w; w++) {
        if (*w < '0' || *w > '9')
            return 1;
        x = 10 * x + (*w - '0');
        if (x > AC_SVM_IO_MAX_VOCAB)
            x = AC_SVM_IO_MAX_VOCAB;
    }
    *v = (int)x;
    return 0;
}

typedef struct {
    ivec off, tok, label, line;
    int maxid;
    int K_or_0; /* the vocabulary the caller gave, or 0 */
} data_acc;

/* The word w of the current line as a token or label (what) of the
 * vocabulary: below K_or_0 when given, below AC_SVM_IO_MAX_VOCAB otherwise.
 * The id is checked here, as it is read, so that nothing is ever sized by
 * an id that is refused. */
static ac_status read_id(const reader *r, const data_acc *acc, const char *what, const char *w,
                         int *v, ac_msg *msg)
{
    if (parse_id(w, v))
        return ac_fail(msg, AC_EPARSE, "%s:%ld: %s \"%.*s%s\" is not a non-negative integer",
                       r->name, r->line, what, qw(w), w, qs(w));
    if (acc->K_or_0 > 0 && *v >= acc->K_or_0)
        return ac_fail(msg, AC_EPARSE,
                       "%s:%ld: %s %.*s%s is outside the vocabulary of K = %d tokens (ids 0 to %d)",
                       r->name, r->line, what, qw(w), w, qs(w), acc->K_or_0, acc->K_or_0 - 1);
    if (*v >= AC_SVM_IO_MAX_VOCAB)
        return ac_fail(msg, AC_EPARSE,
                       "%s:%ld: %s %.*s%s is too large (a vocabulary has at most %d tokens, "
                       "ids 0 to %d)",
                       r->name, r->line, what, qw(w), w, qs(w), AC_SVM_IO_MAX_VOCAB,
                       AC_SVM_IO_MAX_VOCAB - 1);
    return AC_OK;
}

/* One non-blank data line "t1 ... tm | y" into acc (spec tpg_svm §1: the
 * sequence, its last token last, then the label). */
static ac_status data_line(reader *r, char *text, data_acc *acc, ac_msg *msg)
{
    char *bar = strchr(text, '|');
    if (!bar)
        return ac_fail(msg, AC_EPARSE, "%s:%ld: no `|` between the sequence and the label",
                       r->name, r->line);
    if (strchr(bar + 1, '|'))
        return ac_fail(msg, AC_EPARSE, "%s:%ld: more than one `|`", r->name, r->line);
    *bar = '\0';
    char *right = bar + 1;
    int nlab = count_words(right);
    if (nlab == 0)
        return ac_fail(msg, AC_EPARSE, "%s:%ld: no label after `|`", r->name, r->line);
    if (nlab > 1)
        return ac_fail(msg, AC_EPARSE, "%s:%ld: %d labels after `|`, expected one", r->name,
                       r->line, nlab);
    /* examples <= lines <= AC_SVM_IO_MAX_LINES: their count fits an int */
    size_t before = acc->tok.n;
    char *w;
    int v;
    ac_status st;
    while ((w = next_word(&text))) {
        if (acc->tok.n - before >= AC_SVM_IO_MAX_WORDS)
            return ac_fail(msg, AC_EPARSE,
                           "%s:%ld: more than %d tokens in the sequence (the limit of the format)",
                           r->name, r->line, AC_SVM_IO_MAX_WORDS);
        if ((st = read_id(r, acc, "token", w, &v, msg)))
            return st;
        if (acc->tok.n >= (size_t)INT_MAX)
            return ac_fail(msg, AC_ESIZE, "%s:%ld: more than %d tokens in all", r->name, r->line,
                           INT_MAX);
        if (ivec_push(&acc->tok, v))
            return AC_ENOMEM;
        if (v > acc->maxid)
            acc->maxid = v;
    }
    if (acc->tok.n == before)
        return ac_fail(msg, AC_EPARSE, "%s:%ld: empty sequence before `|`", r->name, r->line);
    w = next_word(&right);
    if ((st = read_id(r, acc, "label", w, &v, msg)))
        return st;
    if (v > acc->maxid)
        acc->maxid = v;
    if (ivec_push(&acc->label, v) || ivec_push(&acc->off, (int)acc->tok.n) ||
        ivec_push(&acc->line, (int)r->line))
        return AC_ENOMEM;
    return AC_OK;
}

/* Move the accumulated examples into a new dataset. */
static ac_status data_build(const data_acc *acc, int K, const char *name, ac_tpg_data **out)
{
    int n = (int)acc->label.n, ntok = (int)acc->tok.n;
    ac_tpg_data *D = ac_tpg_data_alloc(n, ntok, K);
    if (!D)
        return AC_ENOMEM;
    D->line = malloc((size_t)n * sizeof *D->line);
    if (!D->line || ac_tpg_data_set_source(D, name)) {
        ac_tpg_data_free(D);
        return AC_ENOMEM;
    }
    memcpy(D->off, acc->off.v, ((size_t)n + 1) * sizeof *D->off);
    memcpy(D->tok, acc->tok.v, (size_t)ntok * sizeof *D->tok);
    memcpy(D->label, acc->label.v, (size_t)n * sizeof *D->label);
    memcpy(D->line, acc->line.v, (size_t)n * sizeof *D->line);
    *out = D;
    return AC_OK;
}

ac_status ac_svm_io_parse_data(const char *buf, size_t len, const char *name, int K_or_0,
                               ac_tpg_data **out, ac_msg *msg)
{
    if (!out)
        return ac_fail(msg, AC_EINVAL, "ac_svm_io_parse_data: out is NULL");
    *out = NULL;
    if (!name)
        name = DEFAULT_NAME;
    if (!buf && len)
        return ac_fail(msg, AC_EINVAL, "%s: no buffer", name);
    if (K_or_0 < 0 || K_or_0 > AC_SVM_IO_MAX_VOCAB)
        return ac_fail(msg, AC_EINVAL, "%s: vocabulary size %d is outside 0 to %d", name, K_or_0,
                       AC_SVM_IO_MAX_VOCAB);
    ac_status st = ac_text_check((const unsigned char *)buf, len, name, msg);
    if (st)
        return st;
    reader r;
    if (reader_init(&r, buf ? buf : "", len, name))
        return ac_fail(msg, AC_ENOMEM, "%s: out of memory", name);
    data_acc acc = {.maxid = -1, .K_or_0 = K_or_0};
    char *text;
    int got;
    if (ivec_push(&acc.off, 0))
        st = AC_ENOMEM;
    while (!st && (got = next_line(&r, &text, msg)) != 0) {
        if (got < 0)
            st = AC_EPARSE;
        else if (count_words(text) > 0)
            st = data_line(&r, text, &acc, msg);
    }
    if (!st && acc.label.n == 0)
        st = ac_fail(msg, AC_EPARSE, "%s: no examples", name);
    if (!st)
        st = data_build(&acc, K_or_0 ? K_or_0 : acc.maxid + 1, name, out);
    if (st == AC_ENOMEM)
        ac_fail(msg, AC_ENOMEM, "%s: out of memory", name);
    if (!st) {
        /* ranges and assumption A2, with the same message as every other
         * dataset gets */
        st = ac_tpg_data_check(*out, 1, msg);
        if (st) {
            ac_tpg_data_free(*out);
            *out = NULL;
        }
    }
    free(acc.off.v);
    free(acc.tok.v);
    free(acc.label.v);
    free(acc.line.v);
    free(r.s);
    return st;
}

/* The new bytes b[from..to) of the file path, line *line of which has *cur
 * bytes so far: AC_EPARSE as soon as a line is longer than
 * AC_SVM_IO_MAX_LINE (with LINE_SLACK) or the file has a byte past line
 * AC_SVM_IO_MAX_LINES; the parser refuses these inputs with the same
 * message, so stopping early changes nothing but the cost. */
static ac_status guard(const char *b, size_t from, size_t to, const char *path, long *line,
                       size_t *cur, ac_msg *msg)
{
    for (size_t i = from; i < to; i++) {
        if (*line > AC_SVM_IO_MAX_LINES)
            return too_many_lines(path, *line, msg);
        if (b[i] == '\n') {
            ++*line;
            *cur = 0;
        } else if (++*cur > (size_t)AC_SVM_IO_MAX_LINE + LINE_SLACK) {
            return line_too_long(path, *line, msg);
        }
    }
    return AC_OK;
}

/* The whole of path in a new buffer (NUL-terminated, *len excludes it),
 * read until EOF or until guard refuses it. */
static ac_status slurp(const char *path, char **buf, size_t *len, ac_msg *msg)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ac_fail(msg, AC_EIO, "%s: %s", path, strerror(errno));
    size_t n = 0, cap = 0, cur = 0;
    long line = 1;
    char *b = NULL;
    for (;;) {
        if (cap - n < READ_CHUNK) {
            cap = cap ? 2 * cap : READ_CHUNK + 1;
            char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                fclose(f);
                return ac_fail(msg, AC_ENOMEM, "%s: out of memory", path);
            }
            b = nb;
        }
        size_t got = fread(b + n, 1, cap - n - 1, f);
        ac_status st = guard(b, n, n + got, path, &line, &cur, msg);
        if (st) {
            free(b);
            fclose(f);
            return st;
        }
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;
        free(b);
        fclose(f);
        return ac_fail(msg, AC_EIO, "%s: %s", path, strerror(e));
    }
    fclose(f);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return AC_OK;
}

ac_status ac_svm_io_read_data(const char *path, int K_or_0, ac_tpg_data **out, ac_msg *msg)
{
    if (!out || !path)
        return ac_fail(msg, AC_EINVAL, "ac_svm_io_read_data: NULL argument");
    *out = NULL;
    char *buf;
    size_t len;
    ac_status st = slurp(path, &buf, &len, msg);
    if (st)
        return st;
    st = ac_svm_io_parse_data(buf, len, path, K_or_0, out, msg);
    free(buf);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Embeddings                                                               */

/* A decimal number as strtod reads it in the C locale (the caller has made
 * the C locale current), the whole word; hexadecimal floats are refused: the
 * format is decimal.  Returns 0 (value in *x) or 1 (not a number).  A value
 * outside the range of double comes back as +-HUGE_VAL, i.e. not finite. */
static int parse_num(const char *w, double *x)
{
    if (strpbrk(w, "xX"))
        return 1;
    char *end;
    *x = strtod(w, &end);
    return end == w || *end != '\0';
}

typedef struct {
    dvec E;
    int K, d;
    long first_line;
} emb_acc;

static ac_status emb_line(reader *r, char *text, emb_acc *acc, ac_msg *msg)
{
    if (acc->K >= AC_SVM_IO_MAX_VOCAB)
        return ac_fail(msg, AC_EPARSE,
                       "%s:%ld: more than %d rows (a vocabulary has at most %d tokens)", r->name,
                       r->line, AC_SVM_IO_MAX_VOCAB, AC_SVM_IO_MAX_VOCAB);
    char *w;
    int cols = 0;
    while ((w = next_word(&text))) {
        double x;
        if (cols >= AC_SVM_IO_MAX_WORDS)
            return ac_fail(msg, AC_EPARSE,
                           "%s:%ld: more than %d numbers in the row (the limit of the format on d)",
                           r->name, r->line, AC_SVM_IO_MAX_WORDS);
        cols++;
        if (parse_num(w, &x))
            return ac_fail(msg, AC_EPARSE, "%s:%ld: entry %d \"%.*s%s\" is not a number", r->name,
                           r->line, cols, qw(w), w, qs(w));
        if (!isfinite(x))
            return ac_fail(msg, AC_EPARSE, "%s:%ld: entry %d is not finite (\"%.*s%s\")", r->name,
                           r->line, cols, qw(w), w, qs(w));
        if (acc->E.n >= (size_t)INT_MAX)
            return ac_fail(msg, AC_ESIZE, "%s:%ld: more than %d numbers in all", r->name, r->line,
                           INT_MAX);
        if (dvec_push(&acc->E, x))
            return ac_fail(msg, AC_ENOMEM, "%s: out of memory", r->name);
    }
    if (acc->K == 0) {
        acc->d = cols;
        acc->first_line = r->line;
    } else if (cols != acc->d) {
        return ac_fail(msg, AC_EPARSE, "%s:%ld: %d number%s, but the first row (line %ld) has %d",
                       r->name, r->line, cols, cols == 1 ? "" : "s", acc->first_line, acc->d);
    }
    acc->K++;
    return AC_OK;
}

ac_status ac_svm_io_parse_emb(const char *buf, size_t len, const char *name, double **E, int *K,
                              int *d, ac_msg *msg)
{
    if (!E || !K || !d)
        return ac_fail(msg, AC_EINVAL, "ac_svm_io_parse_emb: NULL output");
    *E = NULL;
    *K = *d = 0;
    if (!name)
        name = DEFAULT_NAME;
    if (!buf && len)
        return ac_fail(msg, AC_EINVAL, "%s: no buffer", name);
    ac_status st = ac_text_check((const unsigned char *)buf, len, name, msg);
    if (st)
        return st;
    locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c_loc == (locale_t)0)
        return ac_fail(msg, AC_ENOMEM, "%s: cannot create the C locale", name);
    reader r;
    if (reader_init(&r, buf ? buf : "", len, name)) {
        freelocale(c_loc);
        return ac_fail(msg, AC_ENOMEM, "%s: out of memory", name);
    }
    locale_t old = uselocale(c_loc);
    emb_acc acc = {0};
    char *text;
    int got;
    while (!st && (got = next_line(&r, &text, msg)) != 0) {
        if (got < 0)
            st = AC_EPARSE;
        else if (count_words(text) > 0)
            st = emb_line(&r, text, &acc, msg);
    }
    uselocale(old);
    freelocale(c_loc);
    free(r.s);
    if (!st && acc.K == 0)
        st = ac_fail(msg, AC_EPARSE, "%s: no embeddings", name);
    if (st) {
        free(acc.E.v);
        return st;
    }
    *E = acc.E.v;
    *K = acc.K;
    *d = acc.d;
    return AC_OK;
}

ac_status ac_svm_io_read_emb(const char *path, double **E, int *K, int *d, ac_msg *msg)
{
    if (!path || !E || !K || !d)
        return ac_fail(msg, AC_EINVAL, "ac_svm_io_read_emb: NULL argument");
    *E = NULL;
    *K = *d = 0;
    char *buf;
    size_t len;
    ac_status st = slurp(path, &buf, &len, msg);
    if (st)
        return st;
    st = ac_svm_io_parse_emb(buf, len, path, E, K, d, msg);
    free(buf);
    return st;
}

ac_status ac_svm_io_check_emb_for_data(const char *emb_path, int K_emb, const ac_tpg_data *D,
                                       ac_msg *msg)
{
    if (!D || K_emb < 0 || D->n < 0 || (D->n > 0 && (!D->off || !D->tok || !D->label)))
        return ac_fail(msg, AC_EINVAL, "ac_svm_io_check_emb_for_data: invalid argument");
    if (!emb_path)
        emb_path = "the embeddings";
    /* the largest id, and the first example and role in which it occurs */
    int best = -1, at = -1, is_label = 0;
    for (int i = 0; i < D->n; i++) {
        for (int t = D->off[i]; t < D->off[i + 1]; t++)
            if (D->tok[t] > best)
                best = D->tok[t], at = i, is_label = 0;
        if (D->label[i] > best)
            best = D->label[i], at = i, is_label = 1;
    }
    if (best < K_emb)
        return AC_OK;
    const char *what = is_label ? "label" : "token";
    const char *rows = K_emb == 1 ? "row" : "rows";
    /* the place as ac_tpg_data_check names it */
    if (D->source && D->line && D->line[at] > 0)
        return ac_fail(msg, AC_ESIZE, "%s:%d: %s %d has no embedding: %s has %d %s", D->source,
                       D->line[at], what, best, emb_path, K_emb, rows);
    return ac_fail(msg, AC_ESIZE, "example %d: %s %d has no embedding: %s has %d %s", at, what,
                   best, emb_path, K_emb, rows);
}

/* ------------------------------------------------------------------------ */
/* Writers                                                                  */

ac_status ac_svm_io_write_data(FILE *f, const ac_tpg_data *D)
{
    if (!f || !D || D->n < 0 || D->K < 1 || (D->n > 0 && (!D->off || !D->tok || !D->label)))
        return AC_EINVAL;
    /* what the reader would refuse is not written (svm_io.h, limits) */
    if (D->K > AC_SVM_IO_MAX_VOCAB || D->n > AC_SVM_IO_MAX_LINES)
        return AC_ESIZE;
    for (int i = 0; i < D->n; i++) {
        if (D->off[i] < 0 || D->off[i] >= D->off[i + 1] || D->label[i] < 0 || D->label[i] >= D->K)
            return AC_EINVAL;
        if (D->off[i + 1] - D->off[i] > AC_SVM_IO_MAX_WORDS)
            return AC_ESIZE;
        for (int t = D->off[i]; t < D->off[i + 1]; t++)
            if (D->tok[t] < 0 || D->tok[t] >= D->K)
                return AC_EINVAL;
    }
    for (int i = 0; i < D->n; i++) {
        for (int t = D->off[i]; t < D->off[i + 1]; t++)
            if (fprintf(f, t > D->off[i] ? " %d" : "%d", D->tok[t]) < 0)
                return AC_EIO;
        if (fprintf(f, " | %d\n", D->label[i]) < 0)
            return AC_EIO;
    }
    return ferror(f) ? AC_EIO : AC_OK;
}

ac_status ac_svm_io_write_emb(FILE *f, const double *E, int K, int d)
{
    if (!f || K < 0 || (K > 0 && (!E || d < 1)))
        return AC_EINVAL;
    if (K > AC_SVM_IO_MAX_VOCAB || (K > 0 && d > AC_SVM_IO_MAX_WORDS))
        return AC_ESIZE; /* the reader would refuse it */
    size_t m = (size_t)K * (size_t)(K > 0 ? d : 0);
    for (size_t i = 0; i < m; i++)
        if (!isfinite(E[i]))
            return AC_EINVAL;
    locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c_loc == (locale_t)0)
        return AC_ENOMEM;
    locale_t old = uselocale(c_loc);
    ac_status st = AC_OK;
    /* %.17g: 17 significant digits identify every double (DBL_DECIMAL_DIG) */
    for (int k = 0; k < K && !st; k++)
        for (int j = 0; j < d && !st; j++)
            if (fprintf(f, "%.17g%c", E[(size_t)k * d + j], j + 1 < d ? ' ' : '\n') < 0)
                st = AC_EIO;
    uselocale(old);
    freelocale(c_loc);
    if (!st && ferror(f))
        st = AC_EIO;
    return st;
}
