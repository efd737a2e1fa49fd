/* Real English text for JoMA: the fortunes corpus, its tokeniser, and the
 * small causal transformer of spec joma §4.3 with its hand-written backward
 * (checked against finite differences in tests/test_joma_text.c). */
#include "verify/joma_text.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/linalg.h"
#include "solvers/vexp.h"
#include "verify/text.h"

const char *const AC_JOMA_TEXT_FILES[AC_JOMA_TEXT_NFILES] = {
    "art",       "ascii-art",     "computers", "cookie",      "debian",    "definitions", "disclaimer",
    "drugs",     "education",     "ethnic",    "food",        "fortunes",  "goedel",      "humorists",
    "kids",      "knghtbrd",      "law",       "linux",       "linuxcookie", "literature", "love",
    "magic",     "medicine",      "men-women", "miscellaneous", "news",    "paradoxum",   "people",
    "perl",      "pets",          "platitudes", "politics",   "pratchett", "riddles",     "science",
    "songs-poems", "sports",      "startrek",  "tao",         "translate-me", "wisdom",   "work",
    "zippy"};

/* ==== corpus ========================================================== */

/* A string -> id table: ids in order of first appearance (key, count by
 * id), found through an open-addressing index (FNV-1a hash, linear
 * probing) that holds id + 1, or 0 for an empty slot.  Ids never move when
 * the index grows. */
typedef struct {
    char **key;
    long *count;
    long n;
    long *slot;
    long cap;
} strtab;

static unsigned long fnv1a(const char *s)
{
    unsigned long h = 14695981039346656037UL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211UL;
    return h;
}

static int strtab_grow(strtab *t)
{
    long cap = t->cap ? 2 * t->cap : 1024;
    long *slot = calloc((size_t)cap, sizeof *slot);
    char **key = realloc(t->key, sizeof *key * (size_t)cap);
    if (key)
        t->key = key;
    long *count = realloc(t->count, sizeof *count * (size_t)cap);
    if (count)
        t->count = count;
    if (!slot || !key || !count) {
        free(slot);
        return -1;
    }
    for (long id = 0; id < t->n; id++) {
        long j = (long)(fnv1a(t->key[id]) % (unsigned long)cap);
        while (slot[j])
            j = (j + 1) % cap;
        slot[j] = id + 1;
    }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
    return 0;
}

/* The id of s (added with count 0 when new); -1 on no memory. */
static long strtab_id(strtab *t, const char *s)
{
    if (2 * (t->n + 1) > t->cap && strtab_grow(t) != 0)
        return -1;
    long j = (long)(fnv1a(s) % (unsigned long)t->cap);
    while (t->slot[j] && strcmp(t->key[t->slot[j] - 1], s) != 0)
        j = (j + 1) % t->cap;
    if (!t->slot[j]) {
        char *k = strdup(s);
        if (!k)
            return -1;
        t->key[t->n] = k;
        t->count[t->n] = 0;
        t->slot[j] = ++t->n;
    }
    return t->slot[j] - 1;
}

static void strtab_free(strtab *t)
{
    for (long i = 0; i < t->n; i++)
        free(t->key[i]);
    free(t->key);
    free(t->count);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid:
 * ASCII (control bytes too: rule 1 needs the backspace) or ac_utf8_seq's
 * RFC 3629 sequences. */
static int utf8_len(const unsigned char *s, size_t n)
{
    return s[0] < 0x80 ? 1 : (int)ac_utf8_seq(s, n, 0);
}

/* The whole file into a new buffer (*n bytes, 0-terminated). */
static ac_status read_file(const char *path, char **buf, size_t *n, ac_msg *msg)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ac_fail(msg, AC_EIO, "%s: cannot open: %s (install the Debian package %s)", path, strerror(errno),
                       AC_JOMA_TEXT_PACKAGE);
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap);
    while (b) {
        len += fread(b + len, 1, cap - len - 1, f);
        if (len < cap - 1)
            break;
        char *nb = realloc(b, 2 * cap);
        if (!nb) {
            free(b);
            b = NULL;
            break;
        }
        b = nb;
        cap *= 2;
    }
    int err = ferror(f);
    fclose(f);
    if (!b)
        return ac_fail(msg, AC_ENOMEM, "%s: no memory to read it", path);
    if (err) {
        free(b);
        return ac_fail(msg, AC_EIO, "%s: read error", path);
    }
    b[len] = 0;
    *buf = b;
    *n = len;
    return AC_OK;
}

/* Check the buffer is UTF-8, naming the first bad byte by line and column. */
static ac_status check_utf8(const char *path, const unsigned char *b, size_t n, ac_msg *msg)
{
    long line = 1;
    size_t col0 = 0;
    for (size_t i = 0; i < n;) {
        int len = utf8_len(b + i, n - i);
        if (len == 0)
            return ac_fail(msg, AC_EPARSE, "%s:%ld: invalid UTF-8 byte 0x%02X at column %zu", path, line, b[i],
                           i - col0 + 1);
        if (b[i] == '\n') {
            line++;
            col0 = i + 1;
        }
        i += (size_t)len;
    }
    return AC_OK;
}

/* Rewrite the buffer in place by rules 1-3 of the header: drop overstruck
 * characters, blank "%" lines and control characters.  Returns the new
 * length. */
static size_t clean_text(unsigned char *b, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        int len = utf8_len(b + i, n - i); /* valid: checked before */
        if (i + (size_t)len < n && b[i + (size_t)len] == '\b') {
            i += (size_t)len + 1; /* rule 1: "c\b" shows as nothing */
            continue;
        }
        for (int k = 0; k < len; k++)
            b[o++] = b[i + (size_t)k];
        i += (size_t)len;
    }
    /* rule 2: a line that is "%" alone; then rule 3, in a second pass (it
     * blanks the newlines rule 2 looks at) */
    for (size_t i = 0; i < o; i++)
        if (b[i] == '%' && (i == 0 || b[i - 1] == '\n') && (i + 1 == o || b[i + 1] == '\n' || b[i + 1] == '\r'))
            b[i] = '\n';
    for (size_t i = 0; i < o; i++)
        if (b[i] < 0x20 || b[i] == 0x7F)
            b[i] = ' ';
    return o;
}

static int is_alnum_ascii(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Rule 4 on a cleaned buffer: call emit(token) for each token.  Returns
 * nonzero when emit does. */
static int tokenise(const unsigned char *b, size_t n, int (*emit)(void *, const char *), void *ctx)
{
    char tok[AC_JOMA_TEXT_TOKEN_MAX + 1];
    for (size_t i = 0; i < n;) {
        if (b[i] == ' ') {
            i++;
            continue;
        }
        int len = 0;
        if (is_alnum_ascii(b[i])) {
            while (i < n && is_alnum_ascii(b[i]) && len < AC_JOMA_TEXT_TOKEN_MAX) {
                unsigned c = b[i++];
                tok[len++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
            }
        } else {
            int cl = utf8_len(b + i, n - i);
            memcpy(tok, b + i, (size_t)cl);
            len = cl;
            i += (size_t)cl;
        }
        tok[len] = 0;
        if (emit(ctx, tok))
            return -1;
    }
    return 0;
}

typedef struct {
    strtab *tab;
    long *slots; /* the stream as table ids */
    long n, cap;
} stream;

static int emit_token(void *ctx, const char *tok)
{
    stream *s = ctx;
    long j = strtab_id(s->tab, tok);
    if (j < 0)
        return -1;
    s->tab->count[j]++;
    if (s->n == s->cap) {
        long cap = s->cap ? 2 * s->cap : 1 << 16;
        long *ns = realloc(s->slots, sizeof *ns * (size_t)cap);
        if (!ns)
            return -1;
        s->slots = ns;
        s->cap = cap;
    }
    s->slots[s->n++] = j;
    return 0;
}

/* Order of the vocabulary: count descending, then byte order. */
static const strtab *sort_tab;
static int by_count(const void *a, const void *b)
{
    long i = *(const long *)a, j = *(const long *)b;
    long ci = sort_tab->count[i], cj = sort_tab->count[j];
    if (ci != cj)
        return ci > cj ? -1 : 1;
    return strcmp(sort_tab->key[i], sort_tab->key[j]);
}

void ac_joma_text_corpus_clear(ac_joma_text_corpus *C)
{
    if (!C)
        return;
    if (C->word)
        for (int v = 0; v < C->V; v++)
            free(C->word[v]);
    free(C->word);
    free(C->count);
    free(C->tok);
    memset(C, 0, sizeof *C);
}

/* The vocabulary and ids of the stream (rule 5). */
static ac_status build_vocab(ac_joma_text_corpus *C, strtab *tab, const stream *s, int V, ac_msg *msg)
{
    long *order = malloc(sizeof *order * (size_t)(tab->n > 0 ? tab->n : 1));
    long *id = malloc(sizeof *id * (size_t)(tab->n > 0 ? tab->n : 1));
    C->V = V;
    C->word = calloc((size_t)V, sizeof *C->word);
    C->count = calloc((size_t)V, sizeof *C->count);
    C->tok = malloc(sizeof *C->tok * (size_t)(s->n > 0 ? s->n : 1));
    ac_status st = AC_OK;
    if (!order || !id || !C->word || !C->count || !C->tok) {
        st = ac_fail(msg, AC_ENOMEM, "no memory for the vocabulary");
        goto done;
    }
    long m = tab->n;
    for (long i = 0; i < m; i++) {
        id[i] = AC_JOMA_TEXT_UNK;
        order[i] = i;
    }
    sort_tab = tab;
    qsort(order, (size_t)m, sizeof *order, by_count);
    C->word[0] = strdup(AC_JOMA_TEXT_UNK_NAME);
    for (int v = 1; v < V; v++)
        C->word[v] = strdup(v - 1 < m ? tab->key[order[v - 1]] : "");
    for (int v = 0; v < V; v++)
        if (!C->word[v]) {
            st = ac_fail(msg, AC_ENOMEM, "no memory for the vocabulary");
            goto done;
        }
    for (long k = 0; k < m && k < V - 1; k++)
        id[order[k]] = (long)k + 1;
    for (long t = 0; t < s->n; t++) {
        C->tok[t] = (int)id[s->slots[t]];
        C->count[C->tok[t]]++;
    }
    C->ntok = s->n;
    C->ntypes = m;
    C->ntrain = s->n - (long)ceil(AC_JOMA_TEXT_HELDOUT * (double)s->n);
    if (C->ntrain < 2 || s->n - C->ntrain < 2)
        st = ac_fail(msg, AC_EINVAL, "the text has %ld tokens: too few to hold out %g of them", s->n,
                     AC_JOMA_TEXT_HELDOUT);
done:
    free(order);
    free(id);
    return st;
}

ac_status ac_joma_text_corpus_read_files(ac_joma_text_corpus *C, const char *const *paths, int npaths, int V,
                                         ac_msg *msg)
{
    memset(C, 0, sizeof *C);
    if (V < 2)
        return ac_fail(msg, AC_EINVAL, "vocabulary size %d: needs at least 2 (<unk> and one word)", V);
    if (npaths < 1 || !paths)
        return ac_fail(msg, AC_EINVAL, "no text files to read");
    strtab tab = {0};
    stream s = {.tab = &tab};
    ac_status st = AC_OK;
    for (int f = 0; f < npaths && st == AC_OK; f++) {
        char *buf = NULL;
        size_t n = 0;
        st = read_file(paths[f], &buf, &n, msg);
        if (st != AC_OK)
            break;
        st = check_utf8(paths[f], (unsigned char *)buf, n, msg);
        if (st == AC_OK) {
            n = clean_text((unsigned char *)buf, n);
            if (tokenise((unsigned char *)buf, n, emit_token, &s) != 0)
                st = ac_fail(msg, AC_ENOMEM, "%s: no memory for its tokens", paths[f]);
        }
        free(buf);
    }
    if (st == AC_OK)
        st = build_vocab(C, &tab, &s, V, msg);
    free(s.slots);
    strtab_free(&tab);
    if (st != AC_OK)
        ac_joma_text_corpus_clear(C);
    return st;
}

ac_status ac_joma_text_corpus_read(ac_joma_text_corpus *C, const char *dir, int V, ac_msg *msg)
{
    if (!dir)
        dir = AC_JOMA_TEXT_DIR;
    size_t len = strlen(dir) + 64;
    char *buf = malloc(len * AC_JOMA_TEXT_NFILES);
    const char *paths[AC_JOMA_TEXT_NFILES];
    if (!buf) {
        memset(C, 0, sizeof *C);
        return ac_fail(msg, AC_ENOMEM, "no memory for the file names");
    }
    for (int f = 0; f < AC_JOMA_TEXT_NFILES; f++) {
        snprintf(buf + (size_t)f * len, len, "%s/%s", dir, AC_JOMA_TEXT_FILES[f]);
        paths[f] = buf + (size_t)f * len;
    }
    ac_status st = ac_joma_text_corpus_read_files(C, paths, AC_JOMA_TEXT_NFILES, V, msg);
    free(buf);
    return st;
}

/* ==== model =========================================================== */

const char *ac_joma_text_model_check(const ac_joma_text_model *m)
{
    if (m->V < 2)
        return "vocabulary V must be at least 2";
    if (m->d < 2 || m->d % 2 != 0)
        return "width d must be even and at least 2 (sinusoidal positions come in pairs)";
    if (m->dh < 1)
        return "FFN width dh must be at least 1";
    if (m->L < 1)
        return "sequence length L must be at least 1";
    if (m->positional != 0 && m->positional != 1)
        return "positional must be 0 or 1";
    return NULL;
}

ac_joma_text_layout ac_joma_text_layout_of(const ac_joma_text_model *m)
{
    long V = m->V, d = m->d, dh = m->dh, o = 0;
    ac_joma_text_layout l;
#define BLOCK(name, size) (l.name = o, o += (size))
    BLOCK(E, V * d);
    BLOCK(Wq, d * d);
    BLOCK(Wk, d * d);
    BLOCK(Wv, d * d);
    BLOCK(bq, d);
    BLOCK(bk, d);
    BLOCK(bv, d);
    BLOCK(Wo, d * d);
    BLOCK(bo, d);
    BLOCK(g1, d);
    BLOCK(b1n, d);
    BLOCK(W1, dh * d);
    BLOCK(b1, dh);
    BLOCK(W2, d * dh);
    BLOCK(b2, d);
    BLOCK(g2, d);
    BLOCK(b2n, d);
    BLOCK(Wd, V * d);
    BLOCK(bd, V);
#undef BLOCK
    l.n = o;
    return l;
}

long ac_joma_text_nparams(const ac_joma_text_model *m)
{
    return ac_joma_text_layout_of(m).n;
}

static void uniform(gsl_rng *r, double a, double *x, long n)
{
    for (long i = 0; i < n; i++)
        x[i] = a * (2.0 * gsl_rng_uniform(r) - 1.0);
}

void ac_joma_text_init(const ac_joma_text_model *m, gsl_rng *r, double *theta)
{
    ac_joma_text_layout l = ac_joma_text_layout_of(m);
    long V = m->V, d = m->d, dh = m->dh;
    memset(theta, 0, sizeof *theta * (size_t)l.n);
    uniform(r, AC_JOMA_TEXT_INIT_RANGE, theta + l.E, V * d);
    /* Xavier-uniform on the stacked in-projection: fan_in d, fan_out 3d */
    double xav = sqrt(6.0 / (4.0 * (double)d));
    uniform(r, xav, theta + l.Wq, d * d);
    uniform(r, xav, theta + l.Wk, d * d);
    uniform(r, xav, theta + l.Wv, d * d);
    /* nn.Linear's kaiming_uniform(a = sqrt 5): U(-1/sqrt(fan_in), +) */
    uniform(r, 1.0 / sqrt((double)d), theta + l.Wo, d * d);
    for (long i = 0; i < d; i++)
        theta[l.g1 + i] = theta[l.g2 + i] = 1.0;
    uniform(r, 1.0 / sqrt((double)d), theta + l.W1, dh * d);
    uniform(r, 1.0 / sqrt((double)d), theta + l.b1, dh);
    uniform(r, 1.0 / sqrt((double)dh), theta + l.W2, d * dh);
    uniform(r, 1.0 / sqrt((double)dh), theta + l.b2, d);
    uniform(r, AC_JOMA_TEXT_INIT_RANGE, theta + l.Wd, V * d);
}

/* The output layer's logits are taken HEAD_ROWS rows at a time when its
 * weights Wd fit in HEAD_BLOCK_WEIGHTS doubles (128 KiB; L2 is 2 MiB a core here), so
 * that re-reading them for every block is cheap; then a block of logits
 * stays in L2 (32 x 500 doubles at the default size) and each of its three
 * products is small enough for OpenBLAS's unpacked small-matrix kernels.
 * Over all rows at once, packing the V-wide logits for the two gradient
 * products took a seventh of a step at the default size (perf); the
 * blocks made a one-thread step 1.13-1.36x faster at d = 16 and 32 (V = 500,
 * 1000), but 1.07x slower at V = 2000, d = 64 and 1.1x at the paper's
 * V = 5000, d = 200 (Wd re-packed per block, the products too small for
 * two threads), hence the bound. */
#define HEAD_ROWS 32
#define HEAD_BLOCK_WEIGHTS 16384L

struct ac_joma_text_work {
    ac_joma_text_model m;
    ac_joma_text_layout l;
    int nseq;
    double *pe;                      /* L x d positions */
    /* forward, n = nseq L rows */
    double *X0, *Q, *K, *Vv, *A, *O, *R1, *H1, *xh1, *rs1, *Z1, *P, *R2, *H2, *xh2, *rs2;
    int head_rows; /* rows of logits per block (HEAD_ROWS or all) */
    double *lg;    /* head_rows x V: one block of logits (head) */
    /* backward */
    double *dH, *dR, *dO, *dQ, *dK, *dV, *dA, *dP, *dX;
    /* dropout (train mode): the masks (0 or 1/(1-p)) of the input rows, the
     * attention weights, the attention block's output, the FFN's hidden
     * layer and its output; Am = A o mA and Pm = P o mP */
    int train;
    double *mX, *mA, *mY, *mP, *mF, *Am, *Pm;
};

ac_joma_text_work *ac_joma_text_work_alloc(const ac_joma_text_model *m, int nseq)
{
    if (ac_joma_text_model_check(m) || nseq < 1)
        return NULL;
    ac_joma_text_work *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->m = *m;
    w->l = ac_joma_text_layout_of(m);
    w->nseq = nseq;
    size_t n = (size_t)nseq * (size_t)m->L, d = (size_t)m->d, dh = (size_t)m->dh, L = (size_t)m->L;
    double **nd[] = {&w->X0, &w->Q,  &w->K,  &w->Vv, &w->O,  &w->R1, &w->H1, &w->xh1, &w->R2,
                     &w->H2, &w->xh2, &w->dH, &w->dR, &w->dO, &w->dQ, &w->dK, &w->dV,  &w->dX};
    int ok = 1;
    for (size_t k = 0; k < sizeof nd / sizeof nd[0]; k++)
        ok &= (*nd[k] = malloc(sizeof(double) * n * d)) != NULL;
    ok &= (w->Z1 = malloc(sizeof(double) * n * dh)) != NULL;
    ok &= (w->P = malloc(sizeof(double) * n * dh)) != NULL;
    ok &= (w->dP = malloc(sizeof(double) * n * dh)) != NULL;
    ok &= (w->A = malloc(sizeof(double) * n * L)) != NULL;
    ok &= (w->dA = malloc(sizeof(double) * L * L)) != NULL;
    ok &= (w->rs1 = malloc(sizeof(double) * n)) != NULL;
    ok &= (w->rs2 = malloc(sizeof(double) * n)) != NULL;
    w->head_rows = (long)m->V * m->d <= HEAD_BLOCK_WEIGHTS && (size_t)HEAD_ROWS < n ? HEAD_ROWS : (int)n;
    ok &= (w->lg = malloc(sizeof(double) * (size_t)w->head_rows * (size_t)m->V)) != NULL;
    ok &= (w->pe = calloc(L * d, sizeof(double))) != NULL;
    double **md[] = {&w->mX, &w->mY, &w->mF};
    for (size_t k = 0; k < sizeof md / sizeof md[0]; k++)
        ok &= (*md[k] = malloc(sizeof(double) * n * d)) != NULL;
    ok &= (w->mA = malloc(sizeof(double) * n * L)) != NULL;
    ok &= (w->Am = malloc(sizeof(double) * n * L)) != NULL;
    ok &= (w->mP = malloc(sizeof(double) * n * dh)) != NULL;
    ok &= (w->Pm = malloc(sizeof(double) * n * dh)) != NULL;
    if (!ok) {
        ac_joma_text_work_free(w);
        return NULL;
    }
    /* PE[p, 2i] = sin(p / base^(2i/d)), PE[p, 2i+1] = cos(same) (the tutorial) */
    if (m->positional)
        for (size_t p = 0; p < L; p++)
            for (size_t i = 0; i < d / 2; i++) {
                double f = exp(-(double)(2 * i) * log(AC_JOMA_TEXT_PE_BASE) / (double)d);
                w->pe[p * d + 2 * i] = sin((double)p * f);
                w->pe[p * d + 2 * i + 1] = cos((double)p * f);
            }
    return w;
}

void ac_joma_text_work_free(ac_joma_text_work *w)
{
    if (!w)
        return;
    double *a[] = {w->pe, w->X0, w->Q,  w->K,   w->Vv, w->A,  w->O,  w->R1, w->H1, w->xh1, w->rs1, w->Z1,
                   w->P,  w->R2, w->H2, w->xh2, w->rs2, w->lg, w->dH, w->dR, w->dO, w->dQ,  w->dK,  w->dV,
                   w->dA, w->dP, w->dX, w->mX, w->mA, w->mY, w->mP, w->mF, w->Am, w->Pm};
    for (size_t k = 0; k < sizeof a / sizeof a[0]; k++)
        free(a[k]);
    free(w);
}

/* C (n x o) = X (n x i) W^T (W: o x i) + b, every row. */
static void linear(int n, int o, int i, const double *X, const double *W, const double *b, double *C)
{
    for (int r = 0; r < n; r++)
        memcpy(C + (size_t)r * o, b, sizeof(double) * (size_t)o);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, o, i, 1.0, X, i, W, i, 1.0, C, o);
}

/* Backward of linear: dW += dC^T X, db += colsum dC, dX = dC W (dX may be
 * NULL; beta 1 adds into it). */
static void linear_back(int n, int o, int i, const double *X, const double *W, const double *dC, double *dW,
                        double *db, double *dX, double beta)
{
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, i, n, 1.0, dC, o, X, i, 1.0, dW, i);
    for (int r = 0; r < n; r++)
        for (int k = 0; k < o; k++)
            db[k] += dC[(size_t)r * o + k];
    if (dX)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, i, o, 1.0, dC, o, W, i, beta, dX, i);
}

/* LayerNorm of each row of R (n x d): xh = (r - mean)/sqrt(var + eps) (var
 * biased), H = g o xh + b; rs gets 1/sqrt(var + eps). */
static void layernorm(int n, int d, const double *R, const double *g, const double *b, double *xh, double *rs,
                      double *H)
{
    for (int r = 0; r < n; r++) {
        const double *x = R + (size_t)r * d;
        double mu = 0.0, var = 0.0;
        for (int k = 0; k < d; k++)
            mu += x[k];
        mu /= d;
        for (int k = 0; k < d; k++)
            var += (x[k] - mu) * (x[k] - mu);
        var /= d;
        rs[r] = 1.0 / sqrt(var + AC_JOMA_TEXT_LN_EPS);
        for (int k = 0; k < d; k++) {
            xh[(size_t)r * d + k] = (x[k] - mu) * rs[r];
            H[(size_t)r * d + k] = g[k] * xh[(size_t)r * d + k] + b[k];
        }
    }
}

/* Backward of layernorm: dg += sum dH o xh, db += sum dH, and
 * dR = rs (dx - mean(dx) - xh mean(dx o xh)) with dx = dH o g, written
 * (beta 0: dR is not read, as BLAS reads no C at beta 0; it may hold
 * anything, and 0 x NaN would be NaN) or added (beta 1) into dR. */
static void layernorm_back(int n, int d, const double *xh, const double *rs, const double *g, const double *dH,
                           double *dg, double *db, double *dR, double beta)
{
    for (int r = 0; r < n; r++) {
        const double *y = dH + (size_t)r * d, *x = xh + (size_t)r * d;
        double m1 = 0.0, m2 = 0.0;
        for (int k = 0; k < d; k++) {
            dg[k] += y[k] * x[k];
            db[k] += y[k];
            m1 += y[k] * g[k];
            m2 += y[k] * g[k] * x[k];
        }
        m1 /= d;
        m2 /= d;
        for (int k = 0; k < d; k++) {
            double v = rs[r] * (y[k] * g[k] - m1 - x[k] * m2);
            dR[(size_t)r * d + k] = beta == 0.0 ? v : beta * dR[(size_t)r * d + k] + v;
        }
    }
}

/* The largest and the sum of z[0 .. n-1], n >= 1, over four running values:
 * one value's chain of maxsd or addsd waits 4 cycles a step, and these two
 * loops over the V logits of every row took a fifth of a training step at
 * V = 500 (perf) with one chain each. */
static double max4(const double *z, int n)
{
    double m[4] = {z[0], z[0], z[0], z[0]};
    int i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++)
            m[k] = z[i + k] > m[k] ? z[i + k] : m[k];
    for (; i < n; i++)
        m[0] = z[i] > m[0] ? z[i] : m[0];
    return fmax(fmax(m[0], m[1]), fmax(m[2], m[3]));
}

static double sum4(const double *z, int n)
{
    double a[4] = {0.0, 0.0, 0.0, 0.0};
    int i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++)
            a[k] += z[i + k];
    for (; i < n; i++)
        a[0] += z[i];
    return (a[0] + a[1]) + (a[2] + a[3]);
}

/* The input rows X0 = sqrt(d) E[in] + PE; 0 on success, -1 on an id out of range. */
static int embed(ac_joma_text_work *w, const double *theta, const int *in, int n)
{
    int L = w->m.L, d = w->m.d;
    double sd = sqrt((double)d);
    const double *E = theta + w->l.E;
    for (int s = 0; s < n; s++)
        for (int i = 0; i < L; i++) {
            int t = in[s * L + i];
            if (t < 0 || t >= w->m.V)
                return -1;
            double *x = w->X0 + ((size_t)s * L + i) * d;
            for (int k = 0; k < d; k++)
                x[k] = sd * E[(size_t)t * d + k] + w->pe[(size_t)i * d + k];
        }
    return 0;
}

/* Causal single-head attention of n sequences: Q, K, V from X0, then A (per
 * sequence L x L, zero above the diagonal) and O = A V (train mode: O = Am V
 * with the dropped-out weights Am = A o mA). */
static void attention(ac_joma_text_work *w, const double *theta, int n)
{
    int L = w->m.L, d = w->m.d, rows = n * L;
    const ac_joma_text_layout *l = &w->l;
    linear(rows, d, d, w->X0, theta + l->Wq, theta + l->bq, w->Q);
    linear(rows, d, d, w->X0, theta + l->Wk, theta + l->bk, w->K);
    linear(rows, d, d, w->X0, theta + l->Wv, theta + l->bv, w->Vv);
    double sc = 1.0 / sqrt((double)d);
    for (int s = 0; s < n; s++) {
        double *A = w->A + (size_t)s * L * L;
        const double *Q = w->Q + (size_t)s * L * d, *K = w->K + (size_t)s * L * d;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, d, sc, Q, d, K, d, 0.0, A, L);
        for (int i = 0; i < L; i++) { /* softmax over j <= i, log-sum-exp */
            double *a = A + (size_t)i * L, mx = a[0], z = 0.0;
            for (int j = 1; j <= i; j++)
                mx = fmax(mx, a[j]);
            for (int j = 0; j <= i; j++)
                a[j] -= mx;
            ac_exp_array(a, a, i + 1);
            for (int j = 0; j <= i; j++)
                z += a[j];
            for (int j = 0; j <= i; j++)
                a[j] /= z;
            for (int j = i + 1; j < L; j++)
                a[j] = 0.0;
        }
        const double *Au = A;
        if (w->train) {
            double *Am = w->Am + (size_t)s * L * L;
            const double *mA = w->mA + (size_t)s * L * L;
            for (int k = 0; k < L * L; k++)
                Am[k] = A[k] * mA[k];
            Au = Am;
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, d, L, 1.0, Au, L, w->Vv + (size_t)s * L * d, d,
                    0.0, w->O + (size_t)s * L * d, d);
    }
}

double ac_joma_text_entropy_max(int L)
{
    double h = 0.0;
    for (int i = 1; i <= L; i++)
        h += log((double)i);
    return L > 0 ? h / L : NAN;
}

double ac_joma_text_entropy(ac_joma_text_work *w, const double *theta, const int *in, int n)
{
    if (n < 1 || n > w->nseq || embed(w, theta, in, n) != 0)
        return NAN;
    int train = w->train;
    w->train = 0; /* eval mode */
    attention(w, theta, n);
    w->train = train;
    int L = w->m.L;
    double h = 0.0;
    for (long r = 0; r < (long)n * L; r++) {
        const double *a = w->A + r * L;
        for (int j = 0; j <= (int)(r % L); j++)
            h -= a[j] * log(a[j] + AC_JOMA_TEXT_ENTROPY_EPS);
    }
    return h / ((double)n * L);
}

/* The output layer and the loss of the rows of H2: returns the summed loss.
 * With grad (zeroed by the caller), it adds the logits' gradient
 * (softmax - onehot) / rows to grad's Wd and bd and writes dH = its
 * product with Wd, the gradient reaching H2.  Each row is finished while
 * it is in L1. */
static double head(ac_joma_text_work *w, const double *theta, const int *tgt, int rows, double *grad)
{
    int d = w->m.d, V = w->m.V;
    const ac_joma_text_layout *l = &w->l;
    double loss = 0.0;
    for (int r0 = 0; r0 < rows; r0 += w->head_rows) {
        int nb = rows - r0 < w->head_rows ? rows - r0 : w->head_rows;
        linear(nb, V, d, w->H2 + (size_t)r0 * d, theta + l->Wd, theta + l->bd, w->lg);
        for (int r = 0; r < nb; r++) { /* log-sum-exp; with grad, the logits' gradient */
            double *z = w->lg + (size_t)r * V, mx = max4(z, V);
            int t = tgt[r0 + r];
            loss += mx - z[t];
            for (int v = 0; v < V; v++)
                z[v] -= mx;
            ac_exp_array(z, z, V); /* solvers/vexp.h: a third of a step in scalar exp at V = 500 */
            double s = sum4(z, V);
            loss += log(s);
            if (grad) {
                double sc = 1.0 / (s * rows), *gbd = grad + l->bd;
                for (int v = 0; v < V; v++)
                    z[v] *= sc;
                z[t] -= 1.0 / rows;
                for (int v = 0; v < V; v++)
                    gbd[v] += z[v];
            }
        }
        if (grad) {
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, V, d, nb, 1.0, w->lg, V, w->H2 + (size_t)r0 * d, d,
                        1.0, grad + l->Wd, d);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, d, V, 1.0, w->lg, V, theta + l->Wd, d, 0.0,
                        w->dH + (size_t)r0 * d, d);
        }
    }
    return loss;
}

/* The forward pass of n sequences; returns the mean loss.  With grad
 * (zeroed by the caller), the output layer's part of the gradient is done
 * too (head) and dH holds the gradient reaching H2, where backward starts. */
static double forward(ac_joma_text_work *w, const double *theta, const int *tgt, int n, double *grad)
{
    int L = w->m.L, d = w->m.d, dh = w->m.dh, rows = n * L;
    const ac_joma_text_layout *l = &w->l;
    if (w->train)
        for (long k = 0; k < (long)rows * d; k++)
            w->X0[k] *= w->mX[k];
    attention(w, theta, n);
    linear(rows, d, d, w->O, theta + l->Wo, theta + l->bo, w->R1);
    for (long k = 0; k < (long)rows * d; k++)
        w->R1[k] = (w->train ? w->mY[k] * w->R1[k] : w->R1[k]) + w->X0[k];
    layernorm(rows, d, w->R1, theta + l->g1, theta + l->b1n, w->xh1, w->rs1, w->H1);
    linear(rows, dh, d, w->H1, theta + l->W1, theta + l->b1, w->Z1);
    for (long k = 0; k < (long)rows * dh; k++) {
        w->P[k] = w->Z1[k] > 0.0 ? w->Z1[k] : 0.0;
        w->Pm[k] = w->train ? w->P[k] * w->mP[k] : w->P[k];
    }
    linear(rows, d, dh, w->Pm, theta + l->W2, theta + l->b2, w->R2);
    for (long k = 0; k < (long)rows * d; k++)
        w->R2[k] = (w->train ? w->mF[k] * w->R2[k] : w->R2[k]) + w->H1[k];
    layernorm(rows, d, w->R2, theta + l->g2, theta + l->b2n, w->xh2, w->rs2, w->H2);
    return head(w, theta, tgt, rows, grad) / rows;
}

/* The backward pass after forward (spec: the chain rule through each line
 * of the header's model, in reverse). */
static void backward(ac_joma_text_work *w, const double *theta, const int *in, int n, double *grad)
{
    int L = w->m.L, d = w->m.d, dh = w->m.dh, rows = n * L;
    const ac_joma_text_layout *l = &w->l;
    /* the output layer is done (forward's head): dH is the gradient reaching H2 */
    layernorm_back(rows, d, w->xh2, w->rs2, theta + l->g2, w->dH, grad + l->g2, grad + l->b2n, w->dR, 0.0);
    /* R2 = H1 + mF o FFN(H1): dH1 = dR2 + FFN backward of dF = mF o dR2 */
    for (long k = 0; k < (long)rows * d; k++)
        w->dX[k] = w->train ? w->mF[k] * w->dR[k] : w->dR[k];
    linear_back(rows, d, dh, w->Pm, theta + l->W2, w->dX, grad + l->W2, grad + l->b2, w->dP, 0.0);
    for (long k = 0; k < (long)rows * dh; k++)
        w->dP[k] = w->Z1[k] > 0.0 ? (w->train ? w->mP[k] * w->dP[k] : w->dP[k]) : 0.0;
    memcpy(w->dH, w->dR, sizeof(double) * (size_t)rows * d);
    linear_back(rows, dh, d, w->H1, theta + l->W1, w->dP, grad + l->W1, grad + l->b1, w->dH, 1.0);
    layernorm_back(rows, d, w->xh1, w->rs1, theta + l->g1, w->dH, grad + l->g1, grad + l->b1n, w->dR, 0.0);
    /* R1 = X0 + mY o (O Wo^T + bo): dX0 = dR1 + attention backward of mY o dR1 */
    for (long k = 0; k < (long)rows * d; k++)
        w->dX[k] = w->train ? w->mY[k] * w->dR[k] : w->dR[k];
    linear_back(rows, d, d, w->O, theta + l->Wo, w->dX, grad + l->Wo, grad + l->bo, w->dO, 0.0);
    double sc = 1.0 / sqrt((double)d);
    for (int s = 0; s < n; s++) {
        size_t off = (size_t)s * L * d;
        const double *A = w->A + (size_t)s * L * L, *Au = w->train ? w->Am + (size_t)s * L * L : A;
        /* dAm = dO V^T, dA = mA o dAm; dV = Am^T dO; dS = A o (dA - rowsum(dA o A)) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, L, L, d, 1.0, w->dO + off, d, w->Vv + off, d, 0.0,
                    w->dA, L);
        if (w->train)
            for (int k = 0; k < L * L; k++)
                w->dA[k] *= w->mA[(size_t)s * L * L + k];
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, d, L, 1.0, Au, L, w->dO + off, d, 0.0, w->dV + off,
                    d);
        for (int i = 0; i < L; i++) {
            double *g = w->dA + (size_t)i * L, dot = 0.0;
            const double *a = A + (size_t)i * L;
            for (int j = 0; j <= i; j++)
                dot += g[j] * a[j];
            for (int j = 0; j < L; j++)
                g[j] = j <= i ? a[j] * (g[j] - dot) : 0.0;
        }
        /* S = sc Q K^T: dQ = sc dS K, dK = sc dS^T Q */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, L, d, L, sc, w->dA, L, w->K + off, d, 0.0,
                    w->dQ + off, d);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L, d, L, sc, w->dA, L, w->Q + off, d, 0.0,
                    w->dK + off, d);
    }
    memcpy(w->dX, w->dR, sizeof(double) * (size_t)rows * d);
    linear_back(rows, d, d, w->X0, theta + l->Wq, w->dQ, grad + l->Wq, grad + l->bq, w->dX, 1.0);
    linear_back(rows, d, d, w->X0, theta + l->Wk, w->dK, grad + l->Wk, grad + l->bk, w->dX, 1.0);
    linear_back(rows, d, d, w->X0, theta + l->Wv, w->dV, grad + l->Wv, grad + l->bv, w->dX, 1.0);
    /* X0 = mX o (sqrt(d) E[in] + PE) */
    double sd = sqrt((double)d);
    double *gE = grad + l->E;
    if (w->train)
        for (long k = 0; k < (long)rows * d; k++)
            w->dX[k] *= w->mX[k];
    for (int r = 0; r < rows; r++)
        cblas_daxpy(d, sd, w->dX + (size_t)r * d, 1, gE + (size_t)in[r] * d, 1);
}

/* Entries kept with probability 1 - p, scaled by 1/(1 - p) (inverted dropout, as PyTorch). */
static void draw_mask(gsl_rng *r, double p, double *m, long n)
{
    double keep = 1.0 / (1.0 - p);
    for (long k = 0; k < n; k++)
        m[k] = gsl_rng_uniform(r) < p ? 0.0 : keep;
}

void ac_joma_text_work_dropout(ac_joma_text_work *w, double p, gsl_rng *r, int n)
{
    w->train = p > 0.0 && p < 1.0 && r && n >= 1 && n <= w->nseq;
    if (!w->train)
        return;
    long rows = (long)n * w->m.L, d = w->m.d;
    draw_mask(r, p, w->mX, rows * d);
    draw_mask(r, p, w->mA, rows * w->m.L);
    draw_mask(r, p, w->mY, rows * d);
    draw_mask(r, p, w->mP, rows * w->m.dh);
    draw_mask(r, p, w->mF, rows * d);
}

double ac_joma_text_loss(ac_joma_text_work *w, const double *theta, const int *in, const int *tgt, int n,
                         double *grad)
{
    if (n < 1 || n > w->nseq || embed(w, theta, in, n) != 0)
        return NAN;
    for (long r = 0; r < (long)n * w->m.L; r++)
        if (tgt[r] < 0 || tgt[r] >= w->m.V)
            return NAN;
    if (grad)
        memset(grad, 0, sizeof *grad * (size_t)w->l.n);
    double loss = forward(w, theta, tgt, n, grad);
    if (grad)
        backward(w, theta, in, n, grad);
    return loss;
}

ac_status ac_joma_text_eval(ac_joma_text_work *w, const double *theta, const int *tok, long ntok, int nseq,
                            double *entropy, double *loss, ac_msg *msg)
{
    int L = w->m.L;
    if (nseq < 1 || ntok < (long)nseq * L + 1)
        return ac_fail(msg, AC_EINVAL, "evaluation needs %d chunks of %d tokens and one more; the text has %ld",
                       nseq, L, ntok);
    double H = 0.0, lo = 0.0;
    w->train = 0; /* eval mode */
    for (int c = 0; c < nseq; c += w->nseq) {
        int g = nseq - c < w->nseq ? nseq - c : w->nseq;
        const int *in = tok + (long)c * L;
        if (entropy)
            H += g * ac_joma_text_entropy(w, theta, in, g);
        if (loss)
            lo += g * ac_joma_text_loss(w, theta, in, in + 1, g, NULL);
    }
    if (entropy)
        *entropy = H / nseq;
    if (loss)
        *loss = lo / nseq;
    return AC_OK;
}

/* ==== trainer ========================================================= */

struct ac_joma_text_trainer {
    ac_joma_text_model m;
    int batch;
    long np;
    ac_joma_text_work *w;
    double *theta, *grad, *m1, *m2, *prev;
    int *in, *tgt;
    const int *tok;
    long ntok, chunks; /* chunks per column */
    gsl_rng *r;        /* borrowed: the dropout masks */
    ac_joma_text_train_settings s;
    ac_train_info info;
    int ready;
};

void ac_joma_text_train_settings_default(ac_joma_text_train_settings *s)
{
    s->steps = AC_JOMA_TEXT_STEPS_DEFAULT;
    s->lr = AC_JOMA_TEXT_LR_DEFAULT;
    s->beta1 = AC_JOMA_TEXT_BETA1_DEFAULT;
    s->beta2 = AC_JOMA_TEXT_BETA2_DEFAULT;
    s->adam_eps = AC_JOMA_TEXT_ADAM_EPS_DEFAULT;
    s->clip = AC_JOMA_TEXT_CLIP_DEFAULT;
    s->diverge_factor = AC_JOMA_TEXT_DIVERGE_FACTOR;
    s->dropout = AC_JOMA_TEXT_DROPOUT_DEFAULT;
}

const char *ac_joma_text_train_settings_check(const ac_joma_text_train_settings *s)
{
    if (!s)
        return "the settings are missing (NULL)";
    if (s->steps < 1)
        return "steps must be at least 1";
    if (!(s->lr > 0.0) || !isfinite(s->lr))
        return "lr must be positive and finite";
    if (!(s->beta1 >= 0.0 && s->beta1 < 1.0) || !(s->beta2 >= 0.0 && s->beta2 < 1.0))
        return "Adam's beta1 and beta2 must lie in [0, 1)";
    if (!(s->adam_eps > 0.0) || !isfinite(s->adam_eps))
        return "adam_eps must be positive and finite";
    if (!(s->clip >= 0.0) || !isfinite(s->clip))
        return "clip must be 0 (none) or a positive finite norm";
    if (!(s->diverge_factor > 1.0))
        return "diverge_factor must exceed 1";
    if (!(s->dropout >= 0.0 && s->dropout < 1.0))
        return "dropout must lie in [0, 1)";
    return NULL;
}

ac_joma_text_trainer *ac_joma_text_trainer_alloc(const ac_joma_text_model *m, int batch)
{
    if (ac_joma_text_model_check(m) || batch < 1)
        return NULL;
    ac_joma_text_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    tr->m = *m;
    tr->batch = batch;
    tr->np = ac_joma_text_nparams(m);
    size_t np = (size_t)tr->np, nt = (size_t)batch * (size_t)m->L;
    tr->w = ac_joma_text_work_alloc(m, batch);
    tr->theta = malloc(sizeof(double) * np);
    tr->grad = malloc(sizeof(double) * np);
    tr->m1 = malloc(sizeof(double) * np);
    tr->m2 = malloc(sizeof(double) * np);
    tr->prev = malloc(sizeof(double) * np);
    tr->in = malloc(sizeof(int) * nt);
    tr->tgt = malloc(sizeof(int) * nt);
    if (!tr->w || !tr->theta || !tr->grad || !tr->m1 || !tr->m2 || !tr->prev || !tr->in || !tr->tgt) {
        ac_joma_text_trainer_free(tr);
        return NULL;
    }
    return tr;
}

void ac_joma_text_trainer_free(ac_joma_text_trainer *tr)
{
    if (!tr)
        return;
    ac_joma_text_work_free(tr->w);
    free(tr->theta);
    free(tr->grad);
    free(tr->m1);
    free(tr->m2);
    free(tr->prev);
    free(tr->in);
    free(tr->tgt);
    free(tr);
}

ac_status ac_joma_text_trainer_set(ac_joma_text_trainer *tr, const int *tok, long ntok,
                                   const ac_joma_text_train_settings *s, const double *theta0, gsl_rng *r,
                                   ac_msg *msg)
{
    tr->ready = 0;
    const char *why = ac_joma_text_train_settings_check(s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "text trainer: %s", why);
    if (s->dropout > 0.0 && !r)
        return ac_fail(msg, AC_EINVAL, "text trainer: dropout %g needs a generator for its masks", s->dropout);
    int L = tr->m.L;
    long col = ntok / tr->batch;
    if (col < L + 1)
        return ac_fail(msg, AC_EINVAL, "text trainer: %ld tokens give %ld per column; a batch of %d needs %d",
                       ntok, col, tr->batch, L + 1);
    for (long t = 0; t < ntok; t++)
        if (tok[t] < 0 || tok[t] >= tr->m.V)
            return ac_fail(msg, AC_EINVAL, "text trainer: token %ld has id %d outside [0, %d)", t, tok[t], tr->m.V);
    for (long k = 0; k < tr->np; k++)
        if (!isfinite(theta0[k]))
            return ac_fail(msg, AC_EINVAL, "text trainer: start parameter %ld is not finite", k);
    tr->tok = tok;
    tr->ntok = ntok;
    tr->r = r;
    tr->chunks = (col - 1) / L;
    tr->s = *s;
    memcpy(tr->theta, theta0, sizeof(double) * (size_t)tr->np);
    memset(tr->m1, 0, sizeof(double) * (size_t)tr->np);
    memset(tr->m2, 0, sizeof(double) * (size_t)tr->np);
    tr->info = (ac_train_info){.outcome = AC_TRAIN_RUNNING, .loss = NAN, .loss0 = NAN, .grad_norm = NAN};
    tr->ready = 1;
    return AC_OK;
}

/* Batch of step k: column b is tok[b col .. (b+1) col - 1]; rows c L ..
 * c L + L of it, c = k mod chunks (the tutorial's batchify/get_batch). */
static void fill_batch(ac_joma_text_trainer *tr, long k)
{
    int L = tr->m.L;
    long col = tr->ntok / tr->batch, c = k % tr->chunks;
    for (int b = 0; b < tr->batch; b++)
        for (int i = 0; i < L; i++) {
            long t = (long)b * col + c * L + i;
            tr->in[b * L + i] = tr->tok[t];
            tr->tgt[b * L + i] = tr->tok[t + 1];
        }
}

ac_status ac_joma_text_trainer_iterate(ac_joma_text_trainer *tr)
{
    if (!tr->ready)
        return AC_EINVAL;
    if (tr->info.outcome != AC_TRAIN_RUNNING)
        return AC_OK;
    double t0 = ac_clock();
    fill_batch(tr, tr->info.steps);
    ac_joma_text_work_dropout(tr->w, tr->s.dropout, tr->r, tr->batch);
    double loss = ac_joma_text_loss(tr->w, tr->theta, tr->in, tr->tgt, tr->batch, tr->grad);
    double gn = ac_la_nrm2(tr->grad, (int)tr->np);
    tr->info.loss = loss;
    tr->info.grad_norm = gn;
    if (tr->info.steps == 0)
        tr->info.loss0 = loss;
    if (!isfinite(loss) || !isfinite(gn) || loss > tr->s.diverge_factor * tr->info.loss0) {
        tr->info.outcome = AC_TRAIN_DIVERGED;
        tr->info.seconds += ac_clock() - t0;
        return AC_OK;
    }
    /* clip_grad_norm_: scale by clip / (||g|| + eps) when that is below 1 (PyTorch) */
    double sc = tr->s.clip > 0.0 ? tr->s.clip / (gn + AC_JOMA_TEXT_CLIP_EPS) : 1.0;
    if (sc > 1.0)
        sc = 1.0;
    /* Adam (PyTorch's form): m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
     * theta -= lr m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps) */
    long t = tr->info.steps + 1;
    double b1 = tr->s.beta1, b2 = tr->s.beta2;
    double c1 = 1.0 - pow(b1, (double)t), c2 = sqrt(1.0 - pow(b2, (double)t));
    memcpy(tr->prev, tr->theta, sizeof(double) * (size_t)tr->np);
    int bad = 0;
    for (long k = 0; k < tr->np; k++) {
        double g = sc * tr->grad[k];
        tr->m1[k] = b1 * tr->m1[k] + (1.0 - b1) * g;
        tr->m2[k] = b2 * tr->m2[k] + (1.0 - b2) * g * g;
        tr->theta[k] -= tr->s.lr * (tr->m1[k] / c1) / (sqrt(tr->m2[k]) / c2 + tr->s.adam_eps);
        bad |= !isfinite(tr->theta[k]);
    }
    if (bad) {
        memcpy(tr->theta, tr->prev, sizeof(double) * (size_t)tr->np);
        tr->info.outcome = AC_TRAIN_DIVERGED;
    } else {
        tr->info.steps = t;
        if (t >= tr->s.steps)
            tr->info.outcome = AC_TRAIN_STEP_LIMIT;
    }
    tr->info.seconds += ac_clock() - t0;
    return AC_OK;
}

ac_train_outcome ac_joma_text_trainer_test(const ac_joma_text_trainer *tr)
{
    return tr->info.outcome;
}

ac_train_outcome ac_joma_text_trainer_run(ac_joma_text_trainer *tr, long steps)
{
    while (tr->ready && tr->info.outcome == AC_TRAIN_RUNNING && tr->info.steps < steps)
        ac_joma_text_trainer_iterate(tr);
    return tr->info.outcome;
}

const double *ac_joma_text_trainer_theta(const ac_joma_text_trainer *tr)
{
    return tr->theta;
}

const ac_joma_text_model *ac_joma_text_trainer_model(const ac_joma_text_trainer *tr)
{
    return &tr->m;
}

const ac_train_info *ac_joma_text_trainer_info(const ac_joma_text_trainer *tr)
{
    return &tr->info;
}
