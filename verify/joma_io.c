/* The joma commands' file formats (formats in joma_io.h).
 *
 * Every parser works on a private NUL-terminated copy of the input, checks
 * that it is text first (so that messages can quote it), then cuts lines in
 * place.  Numbers are read and written under a private C locale object
 * (uselocale), never by changing the process locale. */
#include "verify/joma_io.h"
#include "verify/json_array.h"
#include "verify/text.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_NAME "<input>"
#define READ_CHUNK ((size_t)1 << 16)

/* ---- text ----------------------------------------------------------------- */


typedef struct {
    char *s;
    size_t len, pos;
    long line;
    const char *name;
    int comments; /* 1: '#' starts a comment */
} reader;

static ac_status reader_init(reader *r, const char *buf, size_t len, const char *name, int comments,
                             ac_msg *msg)
{
    memset(r, 0, sizeof *r);
    r->name = name ? name : DEFAULT_NAME;
    r->comments = comments;
    if (len > AC_JOMA_IO_MAX_BYTES)
        return ac_fail(msg, AC_EPARSE, "%s: longer than %zu bytes (the limit of the format)", r->name,
                       AC_JOMA_IO_MAX_BYTES);
    size_t bom = ac_utf8_bom(buf, len);
    buf += bom, len -= bom;
    ac_status st = ac_text_check((const unsigned char *)buf, len, r->name, msg);
    if (st)
        return st;
    if (!(r->s = malloc(len + 1)))
        return ac_fail(msg, AC_ENOMEM, "%s: out of memory", r->name);
    if (len)
        memcpy(r->s, buf, len);
    r->s[len] = '\0';
    r->len = len;
    return AC_OK;
}

/* The next line, its end (LF, CRLF) and comment cut off; 1, or 0 at the end.
 * A CR inside a line is refused (-1). */
static int next_line(reader *r, char **text, ac_msg *msg)
{
    if (r->pos >= r->len)
        return 0;
    char *p = r->s + r->pos, *nl = memchr(p, '\n', r->len - r->pos);
    size_t n = nl ? (size_t)(nl - p) : r->len - r->pos;
    r->pos += n + (nl != NULL);
    r->line++;
    p[n] = '\0';
    if (n && p[n - 1] == '\r')
        p[--n] = '\0';
    if (memchr(p, '\r', n)) {
        ac_fail(msg, AC_EPARSE, "%s:%ld: a carriage return inside the line", r->name, r->line);
        return -1;
    }
    if (r->comments) {
        char *h = strchr(p, '#');
        if (h)
            *h = '\0';
    }
    *text = p;
    return 1;
}

static char *next_word(char **p)
{
    char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s) {
        *p = s;
        return NULL;
    }
    char *w = s;
    while (*s && *s != ' ' && *s != '\t')
        s++;
    if (*s)
        *s++ = '\0';
    *p = s;
    return w;
}

/* A word for a message: at most AC_JOMA_IO_QUOTE_MAX bytes, then "...". */
static const char *quote(const char *w, char *buf, size_t cap)
{
    size_t n = strlen(w);
    if (n <= AC_JOMA_IO_QUOTE_MAX)
        return w;
    size_t k = AC_JOMA_IO_QUOTE_MAX;
    while (k > 0 && ((unsigned char)w[k] & 0xC0) == 0x80) /* do not cut a UTF-8 sequence */
        k--;
    snprintf(buf, cap, "%.*s...", (int)k, w);
    return buf;
}

/* A decimal number, the whole word, under the C locale; hexadecimal refused.
 * 0: finite number in *x; 1: not a number; 2: not finite. */
static int parse_num(const char *w, double *x)
{
    if (strpbrk(w, "xX"))
        return 1;
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!c)
        return 1;
    locale_t old = uselocale(c);
    char *end;
    errno = 0;
    double v = strtod(w, &end);
    uselocale(old);
    freelocale(c);
    if (end == w || *end)
        return 1;
    *x = v;
    return isfinite(v) ? 0 : 2;
}

static ac_status num_error(const reader *r, const char *w, int why, ac_msg *msg)
{
    char q[AC_JOMA_IO_QUOTE_MAX + 8];
    return ac_fail(msg, AC_EPARSE, "%s:%ld: '%s' is not %s", r->name, r->line, quote(w, q, sizeof q),
                   why == 2 ? "a finite number" : "a number");
}

typedef struct {
    double *v;
    size_t n, cap;
} dvec;

static int dpush(dvec *a, double x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 16;
        double *nv = realloc(a->v, cap * sizeof *nv);
        if (!nv)
            return 0;
        a->v = nv, a->cap = cap;
    }
    a->v[a->n++] = x;
    return 1;
}

/* The whole of path, at most AC_JOMA_IO_MAX_BYTES + 1 bytes (the parser
 * refuses more), NUL-terminated. */
static ac_status slurp(const char *path, char **buf, size_t *len, ac_msg *msg)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ac_fail(msg, AC_EIO, "%s: %s", path, strerror(errno));
    size_t n = 0, cap = 0;
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
        n += got;
        if (got == 0 || n > AC_JOMA_IO_MAX_BYTES)
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

/* ---- vectors -------------------------------------------------------------- */

static ac_status vec_done(dvec *a, const char *name, double **x, int *n, ac_msg *msg)
{
    if (a->n == 0) {
        free(a->v);
        return ac_fail(msg, AC_EPARSE, "%s: no numbers", name);
    }
    *x = a->v;
    *n = (int)a->n;
    return AC_OK;
}

ac_status ac_joma_io_parse_vector(const char *buf, size_t len, const char *name, double **x, int *n,
                                  ac_msg *msg)
{
    if (!x || !n || (!buf && len))
        return ac_fail(msg, AC_EINVAL, "ac_joma_io_parse_vector: NULL argument");
    *x = NULL;
    *n = 0;
    reader r;
    ac_status st = reader_init(&r, buf ? buf : "", len, name, 1, msg);
    if (st)
        return st;
    dvec a = {0};
    char *text, *w;
    int got = 0;
    while ((got = next_line(&r, &text, msg)) > 0) {
        if (!(w = next_word(&text)))
            continue;
        double v;
        int why = parse_num(w, &v);
        if (why) {
            st = num_error(&r, w, why, msg);
            break;
        }
        if (next_word(&text)) {
            st = ac_fail(msg, AC_EPARSE, "%s:%ld: more than one number on the line (one per line)", r.name,
                         r.line);
            break;
        }
        if (a.n >= AC_JOMA_IO_MAX_VALUES) {
            st = ac_fail(msg, AC_EPARSE, "%s:%ld: more than %d numbers (the limit of the format)", r.name,
                         r.line, AC_JOMA_IO_MAX_VALUES);
            break;
        }
        if (!dpush(&a, v)) {
            st = ac_fail(msg, AC_ENOMEM, "%s: out of memory", r.name);
            break;
        }
    }
    if (got < 0)
        st = AC_EPARSE;
    if (st == AC_OK)
        st = vec_done(&a, r.name, x, n, msg);
    else
        free(a.v);
    free(r.s);
    return st;
}

ac_status ac_joma_io_read_vector(const char *path, double **x, int *n, ac_msg *msg)
{
    if (!path || !x || !n)
        return ac_fail(msg, AC_EINVAL, "ac_joma_io_read_vector: NULL argument");
    *x = NULL;
    *n = 0;
    char *buf;
    size_t len;
    ac_status st = slurp(path, &buf, &len, msg);
    if (st)
        return st;
    st = ac_joma_io_parse_vector(buf, len, path, x, n, msg);
    free(buf);
    return st;
}

ac_status ac_joma_io_parse_list(const char *text, const char *name, double **x, int *n, ac_msg *msg)
{
    if (!text || !x || !n)
        return ac_fail(msg, AC_EINVAL, "ac_joma_io_parse_list: NULL argument");
    *x = NULL;
    *n = 0;
    name = name ? name : DEFAULT_NAME;
    char *s = strdup(text);
    if (!s)
        return ac_fail(msg, AC_ENOMEM, "%s: out of memory", name);
    dvec a = {0};
    ac_status st = AC_OK;
    char *p = s;
    for (long k = 1;; k++) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *w = p, q[AC_JOMA_IO_QUOTE_MAX + 8];
        while (*w == ' ')
            w++;
        for (char *e = w + strlen(w); e > w && e[-1] == ' ';)
            *--e = '\0';
        double v;
        int why = parse_num(w, &v);
        if (why) {
            st = ac_fail(msg, AC_EPARSE, "%s: entry %ld '%s' is not %s", name, k, quote(w, q, sizeof q),
                         why == 2 ? "a finite number" : "a number");
            break;
        }
        if (a.n >= AC_JOMA_IO_MAX_VALUES) {
            st = ac_fail(msg, AC_EPARSE, "%s: more than %d numbers", name, AC_JOMA_IO_MAX_VALUES);
            break;
        }
        if (!dpush(&a, v)) {
            st = ac_fail(msg, AC_ENOMEM, "%s: out of memory", name);
            break;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    free(s);
    if (st == AC_OK)
        return vec_done(&a, name, x, n, msg);
    free(a.v);
    return st;
}

/* fprintf under the C locale (%.17g writes '.' whatever the process locale). */
typedef struct {
    locale_t c, old;
} c_locale;

static int c_locale_enter(c_locale *l)
{
    l->c = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!l->c)
        return 0;
    l->old = uselocale(l->c);
    return 1;
}

static void c_locale_leave(c_locale *l)
{
    uselocale(l->old);
    freelocale(l->c);
}

static void write_header(FILE *f, const char *header)
{
    if (!header)
        return;
    for (const char *p = header; *p;) {
        const char *nl = strchr(p, '\n');
        int n = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(f, "# %.*s\n", n, p);
        p += n + (nl != NULL);
    }
}

ac_status ac_joma_io_write_vector(FILE *f, const char *header, const double *x, int n)
{
    if (!f || !x || n < 1)
        return AC_EINVAL;
    for (int i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return AC_EINVAL;
    c_locale l;
    if (!c_locale_enter(&l))
        return AC_ENOMEM;
    write_header(f, header);
    for (int i = 0; i < n; i++)
        fprintf(f, "%.17g\n", x[i]);
    c_locale_leave(&l);
    return ferror(f) ? AC_EIO : AC_OK;
}

/* AC_OK when N samples of M inputs and K labels fit AC_JOMA_IO_MAX_DENSE,
 * else AC_EPARSE naming the file and the three counts. */
static ac_status dense_fits(const char *name, int N, int M, const char *mwhat, int K, const char *kwhat,
                            ac_msg *msg)
{
    double n = (double)N * ((double)M + K);
    if (n <= (double)AC_JOMA_IO_MAX_DENSE)
        return AC_OK;
    return ac_fail(msg, AC_EPARSE,
                   "%s: N x (M + K) = %d x (%d + %d) = %.0f numbers held dense (M: %s, K: %s) exceed %zu "
                   "(AC_JOMA_IO_MAX_DENSE, 256 MiB)", name, N, M, K, n, mwhat, kwhat, AC_JOMA_IO_MAX_DENSE);
}

/* ---- token files ---------------------------------------------------------- */

/* A vocabulary: words in order of first appearance, looked up by a hash
 * table with linear probing (size a power of two, at most half full). */
typedef struct {
    char **word;
    int n;
    int *slot; /* index + 1, 0 empty */
    size_t nslot;
} vocab;

static size_t hash_word(const char *s)
{
    size_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The index of w, added when new; -1 on no memory, -2 past max entries. */
static int vocab_id(vocab *v, const char *w, int max)
{
    if (2 * (size_t)(v->n + 1) > v->nslot) {
        size_t ns = v->nslot ? 2 * v->nslot : 64;
        int *s = calloc(ns, sizeof *s);
        char **nw = realloc(v->word, ns / 2 * sizeof *nw);
        if (!s || !nw) {
            free(s);
            if (nw)
                v->word = nw;
            return -1;
        }
        v->word = nw;
        for (int i = 0; i < v->n; i++) {
            size_t h = hash_word(v->word[i]) & (ns - 1);
            while (s[h])
                h = (h + 1) & (ns - 1);
            s[h] = i + 1;
        }
        free(v->slot);
        v->slot = s;
        v->nslot = ns;
    }
    size_t h = hash_word(w) & (v->nslot - 1);
    while (v->slot[h]) {
        if (strcmp(v->word[v->slot[h] - 1], w) == 0)
            return v->slot[h] - 1;
        h = (h + 1) & (v->nslot - 1);
    }
    if (v->n >= max)
        return -2;
    if (!(v->word[v->n] = strdup(w)))
        return -1;
    v->slot[h] = ++v->n;
    return v->n - 1;
}

static void vocab_free(vocab *v)
{
    for (int i = 0; i < v->n; i++)
        free(v->word[i]);
    free(v->word);
    free(v->slot);
    memset(v, 0, sizeof *v);
}

typedef struct {
    int *v;
    size_t n, cap;
} ivec;

static int ipush(ivec *a, int x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        int *nv = realloc(a->v, cap * sizeof *nv);
        if (!nv)
            return 0;
        a->v = nv, a->cap = cap;
    }
    a->v[a->n++] = x;
    return 1;
}

/* One token line: context ids into ctx (offsets in off), label into lab. */
static ac_status token_line(reader *r, char *text, vocab *cv, vocab *lv, ivec *ctx, ivec *off, ivec *lab,
                            ivec *lines, ac_msg *msg)
{
    char *words[2] = {NULL, NULL}; /* the last two words seen */
    long nw = 0;
    for (char *w; (w = next_word(&text));) {
        if (++nw > AC_JOMA_IO_MAX_VALUES)
            return ac_fail(msg, AC_EPARSE, "%s:%ld: more than %d tokens on the line (the limit of the format)",
                           r->name, r->line, AC_JOMA_IO_MAX_VALUES);
        if (words[1]) { /* the previous word is context */
            int id = vocab_id(cv, words[1], AC_JOMA_IO_MAX_VOCAB);
            if (id == -2)
                return ac_fail(msg, AC_EPARSE, "%s:%ld: more than %d distinct context tokens", r->name, r->line,
                               AC_JOMA_IO_MAX_VOCAB);
            if (id < 0 || !ipush(ctx, id))
                return ac_fail(msg, AC_ENOMEM, "%s: out of memory", r->name);
        }
        words[1] = w;
    }
    if (nw == 0)
        return ac_fail(msg, AC_EPARSE,
                       "%s:%ld: empty line (each line is one sequence: context tokens, then the next token)",
                       r->name, r->line);
    if (nw == 1)
        return ac_fail(msg, AC_EPARSE,
                       "%s:%ld: one token; a sequence needs at least one context token before the next token",
                       r->name, r->line);
    int y = vocab_id(lv, words[1], AC_JOMA_IO_MAX_VOCAB);
    if (y == -2)
        return ac_fail(msg, AC_EPARSE, "%s:%ld: more than %d distinct next tokens", r->name, r->line,
                       AC_JOMA_IO_MAX_VOCAB);
    if (y < 0 || !ipush(lab, y) || !ipush(off, (int)ctx->n) || !ipush(lines, (int)r->line))
        return ac_fail(msg, AC_ENOMEM, "%s: out of memory", r->name);
    return AC_OK;
}

void ac_joma_tokens_clear(ac_joma_tokens *tk)
{
    if (!tk)
        return;
    for (int i = 0; tk->context && i < tk->D.M; i++)
        free(tk->context[i]);
    for (int i = 0; tk->labels && i < tk->D.K; i++)
        free(tk->labels[i]);
    ac_joma_data_clear(&tk->D); /* after: it zeroes M and K */
    free(tk->context);
    free(tk->labels);
    free(tk->line);
    memset(tk, 0, sizeof *tk);
}

ac_status ac_joma_io_parse_tokens(const char *buf, size_t len, const char *name, ac_joma_tokens *tk,
                                  ac_msg *msg)
{
    if (!tk || (!buf && len))
        return ac_fail(msg, AC_EINVAL, "ac_joma_io_parse_tokens: NULL argument");
    memset(tk, 0, sizeof *tk);
    reader r;
    ac_status st = reader_init(&r, buf ? buf : "", len, name, 0, msg);
    if (st)
        return st;
    vocab cv = {0}, lv = {0};
    ivec ctx = {0}, off = {0}, lab = {0}, lines = {0};
    char *text;
    int got = 0;
    if (!ipush(&off, 0))
        st = ac_fail(msg, AC_ENOMEM, "%s: out of memory", r.name);
    while (st == AC_OK && (got = next_line(&r, &text, msg)) > 0) {
        st = token_line(&r, text, &cv, &lv, &ctx, &off, &lab, &lines, msg);
    }
    if (st == AC_OK && got < 0)
        st = AC_EPARSE;
    if (st == AC_OK && lab.n == 0)
        st = ac_fail(msg, AC_EPARSE, "%s: empty file (no sequences)", r.name);
    if (st == AC_OK && lab.n > AC_JOMA_IO_MAX_VALUES)
        st = ac_fail(msg, AC_EPARSE, "%s: more than %d sequences", r.name, AC_JOMA_IO_MAX_VALUES);
    int N = (int)lab.n;
    if (st == AC_OK)
        st = dense_fits(r.name, N, cv.n, "distinct context tokens", lv.n, "distinct next tokens", msg);
    if (st == AC_OK)
        st = ac_joma_data_init(&tk->D, N, cv.n, lv.n, msg);
    if (st == AC_OK) {
        for (int n = 0; n < N; n++) {
            int a = off.v[n], b = off.v[n + 1];
            double *x = tk->D.X + (size_t)n * cv.n;
            for (int i = a; i < b; i++)
                x[ctx.v[i]] += 1.0;
            for (int l = 0; l < cv.n; l++)
                x[l] /= (double)(b - a); /* normalised counts (spec §1.1) */
            tk->D.label[n] = lab.v[n];
            tk->D.Y[(size_t)n * lv.n + lab.v[n]] = 1.0;
        }
        tk->context = cv.word, tk->labels = lv.word, tk->line = lines.v;
        cv.word = lv.word = NULL, cv.n = lv.n = 0, lines.v = NULL;
    }
    vocab_free(&cv);
    vocab_free(&lv);
    free(ctx.v);
    free(off.v);
    free(lab.v);
    free(lines.v);
    free(r.s);
    if (st != AC_OK)
        ac_joma_tokens_clear(tk);
    return st;
}

ac_status ac_joma_io_read_tokens(const char *path, ac_joma_tokens *tk, ac_msg *msg)
{
    if (!path || !tk)
        return ac_fail(msg, AC_EINVAL, "ac_joma_io_read_tokens: NULL argument");
    memset(tk, 0, sizeof *tk);
    char *buf;
    size_t len;
    ac_status st = slurp(path, &buf, &len, msg);
    if (st)
        return st;
    st = ac_joma_io_parse_tokens(buf, len, path, tk, msg);
    free(buf);
    return st;
}

/* ---- data files ----------------------------------------------------------- */

typedef struct {
    long long *v;
    size_t n, cap;
} llvec;

static int llpush(llvec *a, long long x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        long long *nv = realloc(a->v, cap * sizeof *nv);
        if (!nv)
            return 0;
        a->v = nv, a->cap = cap;
    }
    a->v[a->n++] = x;
    return 1;
}

/* A label: decimal digits only, 0 .. AC_JOMA_IO_LABEL_MAX, read as a 64-bit
 * integer (strtoll saturates and sets ERANGE past it, so nothing wraps). */
static int parse_label(const char *w, long long *y)
{
    if (!*w || strspn(w, "0123456789") != strlen(w))
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(w, &end, 10);
    if (*end || errno || v > AC_JOMA_IO_LABEL_MAX)
        return 0;
    *y = v;
    return 1;
}

/* One data row: its M numbers onto X, its label onto lab; seen counts the
 * distinct labels (by their canonical decimal text), refused past
 * AC_JOMA_IO_MAX_VOCAB at the row that brings one too many. */
static ac_status data_line(reader *r, char *text, dvec *X, llvec *lab, vocab *seen, int *M, long *first,
                           ac_msg *msg)
{
    char *bar = strchr(text, '|'), *w, q[AC_JOMA_IO_QUOTE_MAX + 8];
    if (!bar)
        return ac_fail(msg, AC_EPARSE, "%s:%ld: no '|' (a row is x_1 .. x_M | label)", r->name, r->line);
    *bar = '\0';
    char *rest = bar + 1;
    long m = 0;
    double sum = 0.0;
    while ((w = next_word(&text))) {
        double v;
        int why = parse_num(w, &v);
        if (why)
            return num_error(r, w, why, msg);
        if (v < 0.0)
            return ac_fail(msg, AC_EPARSE, "%s:%ld: x_%ld = %s is negative (token weights are >= 0)", r->name,
                           r->line, m + 1, quote(w, q, sizeof q));
        if (++m > AC_JOMA_IO_MAX_VOCAB)
            return ac_fail(msg, AC_EPARSE, "%s:%ld: more than %d numbers before '|'", r->name, r->line,
                           AC_JOMA_IO_MAX_VOCAB);
        if (!dpush(X, v))
            return ac_fail(msg, AC_ENOMEM, "%s: out of memory", r->name);
        sum += v;
    }
    if (*M < 0) {
        if (m == 0)
            return ac_fail(msg, AC_EPARSE, "%s:%ld: no numbers before '|'", r->name, r->line);
        *M = (int)m, *first = r->line;
    } else if (m != *M) {
        return ac_fail(msg, AC_EPARSE, "%s:%ld: %ld numbers, but the first row (line %ld) has %d", r->name,
                       r->line, m, *first, *M);
    }
    if (!(sum > 0.0))
        return ac_fail(msg, AC_EPARSE, "%s:%ld: every x is 0 (a row needs some weight)", r->name, r->line);
    /* the attention divides by sums of x e^z: a subnormal or infinite sum
     * made the joint flow's right-hand side refuse at t = 0, with no line */
    if (!(sum >= DBL_MIN) || !isfinite(sum))
        return ac_fail(msg, AC_EPARSE, "%s:%ld: the x sum to %g, outside the normal doubles [%g, %g]", r->name,
                       r->line, sum, DBL_MIN, DBL_MAX);
    if (!(w = next_word(&rest)))
        return ac_fail(msg, AC_EPARSE, "%s:%ld: no label after '|'", r->name, r->line);
    long long y;
    if (!parse_label(w, &y))
        return ac_fail(msg, AC_EPARSE, "%s:%ld: label '%s' is not an integer from 0 to %lld", r->name, r->line,
                       quote(w, q, sizeof q), AC_JOMA_IO_LABEL_MAX);
    if (next_word(&rest))
        return ac_fail(msg, AC_EPARSE, "%s:%ld: more than one label after '|'", r->name, r->line);
    char canon[24];
    snprintf(canon, sizeof canon, "%lld", y); /* "007" and "7" are one label */
    int id = vocab_id(seen, canon, AC_JOMA_IO_MAX_VOCAB);
    if (id == -2)
        return ac_fail(msg, AC_EPARSE, "%s:%ld: label %lld is the %dth distinct label; at most %d (K, the classes)",
                       r->name, r->line, y, AC_JOMA_IO_MAX_VOCAB + 1, AC_JOMA_IO_MAX_VOCAB);
    if (id < 0 || !llpush(lab, y))
        return ac_fail(msg, AC_ENOMEM, "%s: out of memory", r->name);
    return AC_OK;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* The K distinct values of lab (n entries), increasing: a new array. */
static long long *distinct_sorted(const long long *lab, size_t n, int *K)
{
    long long *u = malloc((n ? n : 1) * sizeof *u);
    if (!u)
        return NULL;
    if (n)
        memcpy(u, lab, n * sizeof *u);
    qsort(u, n, sizeof *u, cmp_ll);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || u[i] != u[k - 1])
            u[k++] = u[i];
    *K = (int)k;
    return u;
}

ac_status ac_joma_io_parse_data(const char *buf, size_t len, const char *name, ac_joma_data *D,
                                long long **labels, ac_msg *msg)
{
    if (labels)
        *labels = NULL;
    if (!D || (!buf && len))
        return ac_fail(msg, AC_EINVAL, "ac_joma_io_parse_data: NULL argument");
    memset(D, 0, sizeof *D);
    reader r;
    ac_status st = reader_init(&r, buf ? buf : "", len, name, 1, msg);
    if (st)
        return st;
    dvec X = {0};
    llvec lab = {0};
    vocab seen = {0};
    long long *cls = NULL;
    int M = -1, got = 0, K = 0;
    long first = 0;
    char *text;
    while (st == AC_OK && (got = next_line(&r, &text, msg)) > 0) {
        if (text[strspn(text, " \t")] == '\0') /* blank or comment line */
            continue;
        if (lab.n >= AC_JOMA_IO_MAX_VALUES)
            st = ac_fail(msg, AC_EPARSE, "%s:%ld: more than %d rows", r.name, r.line, AC_JOMA_IO_MAX_VALUES);
        else
            st = data_line(&r, text, &X, &lab, &seen, &M, &first, msg);
    }
    vocab_free(&seen);
    if (st == AC_OK && got < 0)
        st = AC_EPARSE;
    if (st == AC_OK && lab.n == 0)
        st = ac_fail(msg, AC_EPARSE, "%s: no rows", r.name);
    if (st == AC_OK && !(cls = distinct_sorted(lab.v, lab.n, &K)))
        st = ac_fail(msg, AC_ENOMEM, "%s: out of memory", r.name);
    if (st == AC_OK)
        st = dense_fits(r.name, (int)lab.n, M, "numbers per row", K, "distinct labels", msg);
    if (st == AC_OK)
        st = ac_joma_data_init(D, (int)lab.n, M, K, msg);
    if (st == AC_OK) {
        memcpy(D->X, X.v, X.n * sizeof(double));
        for (int n = 0; n < D->N; n++) { /* class = rank of the label among the distinct ones */
            const long long *c = bsearch(&lab.v[n], cls, (size_t)K, sizeof *cls, cmp_ll);
            D->label[n] = (int)(c - cls);
            D->Y[(size_t)n * K + D->label[n]] = 1.0;
        }
    }
    free(X.v);
    free(lab.v);
    free(r.s);
    if (st == AC_OK && labels)
        *labels = cls;
    else
        free(cls);
    if (st != AC_OK)
        ac_joma_data_clear(D);
    return st;
}

ac_status ac_joma_io_read_data(const char *path, ac_joma_data *D, long long **labels, ac_msg *msg)
{
    if (labels)
        *labels = NULL;
    if (!path || !D)
        return ac_fail(msg, AC_EINVAL, "ac_joma_io_read_data: NULL argument");
    memset(D, 0, sizeof *D);
    char *buf;
    size_t len;
    ac_status st = slurp(path, &buf, &len, msg);
    if (st)
        return st;
    st = ac_joma_io_parse_data(buf, len, path, D, labels, msg);
    free(buf);
    return st;
}

ac_status ac_joma_io_write_data(FILE *f, const char *header, const ac_joma_data *D)
{
    if (!f || !D || D->N < 1 || D->M < 1 || D->K < 1 || !D->X || !D->label)
        return AC_EINVAL;
    for (int n = 0; n < D->N; n++) {
        double s = 0.0;
        if (D->label[n] < 0 || D->label[n] >= D->K || D->label[n] >= AC_JOMA_IO_MAX_VOCAB)
            return AC_EINVAL;
        for (int l = 0; l < D->M; l++) {
            double x = D->X[(size_t)n * D->M + l];
            if (!isfinite(x) || x < 0.0)
                return AC_EINVAL;
            s += x;
        }
        if (!(s > 0.0))
            return AC_EINVAL;
    }
    c_locale l;
    if (!c_locale_enter(&l))
        return AC_ENOMEM;
    write_header(f, header);
    for (int n = 0; n < D->N; n++) {
        for (int m = 0; m < D->M; m++)
            fprintf(f, "%.17g ", D->X[(size_t)n * D->M + m]);
        fprintf(f, "| %d\n", D->label[n]);
    }
    c_locale_leave(&l);
    return ferror(f) ? AC_EIO : AC_OK;
}

/* ---- trajectories --------------------------------------------------------- */

const char *ac_joma_io_outcome_key(ac_ode_outcome o)
{
    switch (o) {
    case AC_ODE_RUNNING: return "running";
    case AC_ODE_DONE: return "done";
    case AC_ODE_MAX_STEPS: return "max_steps";
    case AC_ODE_STEP_UNDERFLOW: return "step_underflow";
    case AC_ODE_BLOWUP: return "blowup";
    case AC_ODE_RHS_REFUSED: return "rhs_refused";
    }
    return "unknown";
}

ac_status ac_joma_io_write_csv(FILE *f, const ac_joma_io_trajectory *tr)
{
    if (!f || !tr)
        return AC_EINVAL;
    c_locale l;
    if (!c_locale_enter(&l))
        return AC_ENOMEM;
    const ac_ode_info *in = &tr->info;
    fprintf(f, "# outcome: %s (%s)\n", ac_joma_io_outcome_key(in->status), ac_ode_outcome_str(in->status));
    fprintf(f, "# t_reached: %.17g\n# steps: %ld\n# max_steps: %ld\n# rejected: %ld\n# nfev: %ld\n# njev: %ld\n",
            in->t, in->steps, tr->max_steps, in->rejected, in->nfev, in->njev);
    fprintf(f, "# method: %s\n# rtol: %.17g\n# atol: %.17g\n", tr->method ? tr->method : "?", tr->rtol,
            tr->atol);
    fprintf(f, "# t_star: %.17g\n# drift_kind: %s\n# rows: %d of %d\n", tr->tstar,
            tr->drift ? tr->drift_name : "none", tr->nt, tr->nt_requested);
    fprintf(f, "t");
    for (int m = 0; m < tr->M; m++)
        fprintf(f, ",v_%d", m);
    fprintf(f, ",entropy,drift\n");
    for (int k = 0; k < tr->nt; k++) {
        fprintf(f, "%.17g", tr->t[k]);
        for (int m = 0; m < tr->M; m++)
            fprintf(f, ",%.17g", tr->V[(size_t)k * tr->M + m]);
        fprintf(f, ",%.17g,", tr->H[k]);
        if (tr->drift)
            fprintf(f, "%.17g", tr->drift[k]);
        fputc('\n', f);
    }
    c_locale_leave(&l);
    return ferror(f) ? AC_EIO : AC_OK;
}

static json_t *jarray(const double *x, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        json_array_append_new(a, ac_json_real_or_null(x[i]));
    return a;
}

json_t *ac_joma_io_trajectory_json(const ac_joma_io_trajectory *tr)
{
    if (!tr)
        return NULL;
    const ac_ode_info *in = &tr->info;
    json_t *o = json_object(), *V = json_array();
    if (!o || !V) {
        json_decref(o);
        json_decref(V);
        return NULL;
    }
    /* The largest over the rows where the drift is measured (fmax passes
     * over NaN); null when it is measured at none. */
    double dmax = NAN;
    for (int k = 0; tr->drift && k < tr->nt; k++)
        dmax = fmax(dmax, fabs(tr->drift[k]));
    json_object_set_new(o, "M", json_integer(tr->M));
    json_object_set_new(o, "outcome", json_string(ac_joma_io_outcome_key(in->status)));
    json_object_set_new(o, "outcome_text", json_string(ac_ode_outcome_str(in->status)));
    json_object_set_new(o, "t_reached", ac_json_real_or_null(in->t));
    json_object_set_new(o, "h", ac_json_real_or_null(in->h));
    json_object_set_new(o, "steps", json_integer(in->steps));
    json_object_set_new(o, "max_steps", json_integer(tr->max_steps));
    json_object_set_new(o, "rejected", json_integer(in->rejected));
    json_object_set_new(o, "nfev", json_integer(in->nfev));
    json_object_set_new(o, "njev", json_integer(in->njev));
    json_object_set_new(o, "method", json_string(tr->method ? tr->method : "?"));
    json_object_set_new(o, "rtol", ac_json_real_or_null(tr->rtol));
    json_object_set_new(o, "atol", ac_json_real_or_null(tr->atol));
    json_object_set_new(o, "t_star", ac_json_real_or_null(tr->tstar));
    json_object_set_new(o, "drift_kind", tr->drift ? json_string(tr->drift_name) : json_null());
    json_object_set_new(o, "rows_requested", json_integer(tr->nt_requested));
    json_object_set_new(o, "t", jarray(tr->t, tr->nt));
    for (int k = 0; k < tr->nt; k++)
        json_array_append_new(V, jarray(tr->V + (size_t)k * tr->M, tr->M));
    json_object_set_new(o, "v", V);
    json_object_set_new(o, "entropy", jarray(tr->H, tr->nt));
    json_object_set_new(o, "drift", tr->drift ? jarray(tr->drift, tr->nt) : json_null());
    json_object_set_new(o, "drift_max", tr->drift ? ac_json_real_or_null(dmax) : json_null());
    return o;
}
