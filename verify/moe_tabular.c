/* Categorical tables of spec cbow_moe §3: the covariate-shift simulation
 * (§3.2), CSV files with a row filter, and Auto MPG (§3.6).  See
 * verify/moe_tabular.h. */
#include "verify/moe_tabular.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "verify/text.h"

void ac_moe_tab_init(ac_moe_tab *t) { memset(t, 0, sizeof *t); }

void ac_moe_tab_clear(ac_moe_tab *t)
{
    if (!t)
        return;
    free(t->X);
    memset(t, 0, sizeof *t);
}

ac_status ac_moe_tab_resize(ac_moe_tab *t, int n, int L, int ncat)
{
    if (n < 0 || L < 2 || ncat < 1)
        return AC_EINVAL;
    int *X = calloc((size_t)(n > 0 ? n : 1) * L, sizeof(int));
    if (!X)
        return AC_ENOMEM;
    free(t->X);
    t->X = X;
    t->n = n;
    t->L = L;
    t->ncat = ncat;
    return AC_OK;
}

/* ---- Quantile bins --------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* spec §3.1: numpy's linear quantile, then qcut's right-closed bins. */
ac_status ac_moe_qcut(const double *x, int n, int q, int *bin, ac_msg *msg)
{
    if (n < 1 || q < 1)
        return ac_fail(msg, AC_EINVAL, "quantile bins need n >= 1 values and q >= 1 bins (n %d, q %d)",
                       n, q);
    for (int k = 0; k < n; k++)
        if (!isfinite(x[k]))
            return ac_fail(msg, AC_EINVAL, "value %d is not finite (%g)", k, x[k]);
    double *s = malloc((size_t)n * sizeof(double)), *e = malloc((size_t)(q + 1) * sizeof(double));
    if (!s || !e) {
        free(s);
        free(e);
        return ac_fail(msg, AC_ENOMEM, "no memory for quantile bins");
    }
    memcpy(s, x, (size_t)n * sizeof(double));
    qsort(s, (size_t)n, sizeof(double), cmp_double);
    for (int k = 0; k <= q; k++) {
        double pos = (double)k * (n - 1) / q;
        int lo = (int)floor(pos);
        double frac = pos - lo;
        e[k] = lo + 1 < n ? s[lo] + frac * (s[lo + 1] - s[lo]) : s[lo];
    }
    ac_status st = AC_OK;
    for (int k = 0; k < q; k++)
        if (!(e[k + 1] > e[k]))
            st = ac_fail(msg, AC_EINVAL, "quantile edges %d and %d coincide (%.17g): a tied column", k,
                         k + 1, e[k]);
    if (st == AC_OK)
        for (int r = 0; r < n; r++) {
            int below = 0;
            while (below <= q && e[below] < x[r])
                below++;
            bin[r] = below > 0 ? below - 1 : 0;
        }
    free(s);
    free(e);
    return st;
}

/* ---- The covariate-shift simulation ---------------------------------------- */

void ac_moe_shift_settings_default(ac_moe_shift_settings *s)
{
    *s = (ac_moe_shift_settings){.n = AC_MOE_SHIFT_N_DEFAULT,
                                 .D = AC_MOE_SHIFT_D_DEFAULT,
                                 .ncore = 1,
                                 .corr = 0.1,
                                 .x_noise = 0.0,
                                 .y_noise = AC_MOE_SHIFT_Y_NOISE_DEFAULT,
                                 .ncat = AC_MOE_SHIFT_NCAT_DEFAULT,
                                 .shift = 1};
}

ac_status ac_moe_shift_setting(int k, ac_moe_shift_settings *s)
{
    static const int ncore[2] = {1, 5};
    static const double corr[2] = {0.1, 0.9}, noise[3] = {0.0, 0.5, 1.5};
    if (k < 0 || k >= AC_MOE_SHIFT_NSETTINGS)
        return AC_EINVAL;
    ac_moe_shift_settings_default(s);
    s->ncore = ncore[k / 6];
    s->corr = corr[(k / 3) % 2];
    s->x_noise = noise[k % 3];
    return AC_OK;
}

const char *ac_moe_shift_settings_check(const ac_moe_shift_settings *s)
{
    if (!s)
        return "the settings are missing (NULL)";
    if (s->n < 1)
        return "the simulation needs n >= 1 rows per split";
    if (s->D < 1)
        return "the simulation needs D >= 1 features";
    if (s->ncore < 1 || s->ncore > s->D)
        return "the core features ncore must lie in 1..D";
    if (!(s->corr >= 0.0 && s->corr <= 1.0))
        return "the correlation corr must lie in [0, 1]";
    if (!(s->x_noise >= 0.0) || !isfinite(s->x_noise))
        return "the observation noise x_noise must be finite and >= 0";
    if (!(s->y_noise >= 0.0) || !isfinite(s->y_noise))
        return "the label noise y_noise must be finite and >= 0";
    if (s->ncat < 2)
        return "the simulation needs ncat >= 2 bins";
    if (s->ncat > 2 * s->n)
        return "more bins ncat than the 2n pooled rows";
    return NULL;
}

/* §3.2 step 1-2: n rows of N(0, c 11^T + (1 - c) I) into x (n x D), the
 * first floor(D/2) columns negated. */
static void draw_equicorrelated(gsl_rng *r, int n, int D, double c, double *x)
{
    double a = sqrt(c), b = sqrt(1.0 - c);
    for (int i = 0; i < n; i++) {
        double z0 = gsl_ran_gaussian(r, 1.0);
        for (int j = 0; j < D; j++) {
            double v = a * z0 + b * gsl_ran_gaussian(r, 1.0);
            x[(size_t)i * D + j] = j < D / 2 ? -v : v;
        }
    }
}

/* §3.2 step 3: x = x* + sigma_j z. */
static void add_noise(gsl_rng *r, const ac_moe_shift_settings *s, const double *xs, double *x)
{
    for (int i = 0; i < s->n; i++)
        for (int j = 0; j < s->D; j++) {
            double sd = s->x_noise * (j < s->ncore ? AC_MOE_SHIFT_CORE_NOISE : AC_MOE_SHIFT_OTHER_NOISE);
            x[(size_t)i * s->D + j] = xs[(size_t)i * s->D + j] + sd * gsl_ran_gaussian(r, 1.0);
        }
}

/* §3.2 step 4: y = x*[:, :ncore] beta + y_noise eps. */
static void labels(gsl_rng *r, const ac_moe_shift_settings *s, const double *xs, const double *beta,
                   double *y)
{
    for (int i = 0; i < s->n; i++) {
        double acc = 0.0;
        for (int k = 0; k < s->ncore; k++)
            acc += xs[(size_t)i * s->D + k] * beta[k];
        y[i] = acc + s->y_noise * gsl_ran_gaussian(r, 1.0);
    }
}

ac_status ac_moe_shift_generate(const ac_moe_shift_settings *s, gsl_rng *r, ac_moe_tab *train,
                                ac_moe_tab *test, ac_msg *msg)
{
    const char *why = ac_moe_shift_settings_check(s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "simulation settings: %s", why);
    int n = s->n, D = s->D, L = D + 1;
    size_t nd = (size_t)n * D;
    double *xs = malloc(2 * nd * sizeof(double)), *x = malloc(2 * nd * sizeof(double));
    double *y = malloc(2 * (size_t)n * sizeof(double)), *col = malloc(2 * (size_t)n * sizeof(double));
    double *beta = malloc((size_t)s->ncore * sizeof(double));
    int *bin = malloc(2 * (size_t)n * sizeof(int));
    ac_status st = AC_OK;
    if (!xs || !x || !y || !col || !beta || !bin) {
        st = ac_fail(msg, AC_ENOMEM, "no memory for the simulation");
        goto done;
    }
    double ctest = s->shift ? 1.0 - s->corr : s->corr;
    draw_equicorrelated(r, n, D, s->corr, xs);
    draw_equicorrelated(r, n, D, ctest, xs + nd);
    add_noise(r, s, xs, x);
    add_noise(r, s, xs + nd, x + nd);
    for (int k = 0; k < s->ncore; k++)
        beta[k] = gsl_ran_flat(r, 0.0, AC_MOE_SHIFT_BETA_MAX);
    labels(r, s, xs, beta, y);
    labels(r, s, xs + nd, beta, y + n);
    /* §3.2 step 5: bins over the stacked 2n rows, then split back. */
    if ((st = ac_moe_tab_resize(train, n, L, s->ncat)) || (st = ac_moe_tab_resize(test, n, L, s->ncat))) {
        st = ac_fail(msg, st, "no memory for the simulated tables");
        goto done;
    }
    for (int j = 0; j < L; j++) {
        for (int i = 0; i < 2 * n; i++)
            col[i] = j < D ? x[(size_t)i * D + j] : y[i];
        if ((st = ac_moe_qcut(col, 2 * n, s->ncat, bin, msg)))
            goto done;
        for (int i = 0; i < n; i++) {
            train->X[(size_t)i * L + j] = bin[i];
            test->X[(size_t)i * L + j] = bin[n + i];
        }
    }
done:
    free(xs);
    free(x);
    free(y);
    free(col);
    free(beta);
    free(bin);
    return st;
}

/* ---- CSV files --------------------------------------------------------------- */

void ac_moe_csv_init(ac_moe_csv *c) { memset(c, 0, sizeof *c); }

void ac_moe_csv_clear(ac_moe_csv *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->cell);
    free(c->line);
    free(c->buf);
    memset(c, 0, sizeof *c);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static int count_cells(const char *s)
{
    int n = 1;
    for (; *s; s++)
        n += *s == ',';
    return n;
}

/* Split the line s (modified in place) at commas into out[0..n). */
static void split(char *s, char **out)
{
    int k = 0;
    out[k++] = s;
    for (; *s; s++)
        if (*s == ',') {
            *s = '\0';
            out[k++] = s + 1;
        }
}

/* A line without data: empty, spaces only, or a comment ('#' first). */
static int blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return *s == '#';
    return 1;
}

ac_status ac_moe_csv_parse(const char *text, const char *name, ac_moe_csv *c, ac_msg *msg)
{
    ac_moe_csv_init(c);
    snprintf(c->path, sizeof c->path, "%s", name);
    /* A UTF-8 byte-order mark (spreadsheets write one) is not a character
     * of the header. */
    text += ac_utf8_bom(text, strnlen(text, AC_UTF8_BOM_LEN));
    size_t len = strlen(text);
    /* text as every user-file reader takes it (verify/text.h): names and
     * cells are written back into JSON, which takes UTF-8 alone (jansson
     * refused a bad byte there after all the training, as "out of memory") */
    ac_status tst = ac_text_check((const unsigned char *)text, len, name, msg);
    if (tst != AC_OK)
        return tst;
    c->buf = malloc(len + 1);
    if (!c->buf)
        return ac_fail(msg, AC_ENOMEM, "%s: no memory", name);
    memcpy(c->buf, text, len + 1);
    /* Lines: count them first, then cut. */
    size_t nlines = 1;
    for (size_t k = 0; k < len; k++)
        nlines += c->buf[k] == '\n';
    char **lines = malloc(nlines * sizeof(char *));
    if (!lines) {
        ac_moe_csv_clear(c);
        return ac_fail(msg, AC_ENOMEM, "%s: no memory", name);
    }
    size_t nl = 0;
    for (char *p = c->buf;;) {
        lines[nl++] = p;
        char *nlp = strchr(p, '\n');
        if (!nlp)
            break;
        *nlp = '\0';
        p = nlp + 1;
    }
    ac_status st = AC_OK;
    size_t head = 0;
    while (head < nl && blank(lines[head]))
        head++;
    if (head == nl) {
        st = ac_fail(msg, AC_EPARSE, "%s: empty file (no header line of column names)", name);
        goto done;
    }
    for (size_t k = 0; k < nl; k++)
        if (strlen(lines[k]) >= AC_MOE_CSV_LINE_MAX) {
            st = ac_fail(msg, AC_EPARSE, "%s:%zu: line longer than %d characters", name, k + 1,
                         AC_MOE_CSV_LINE_MAX);
            goto done;
        }
    c->ncol = count_cells(lines[head]);
    int rows = 0;
    for (size_t k = head + 1; k < nl; k++)
        rows += !blank(lines[k]);
    if (rows == 0) {
        st = ac_fail(msg, AC_EPARSE, "%s: a header (line %zu) but no data rows", name, head + 1);
        goto done;
    }
    c->name = malloc((size_t)c->ncol * sizeof(char *));
    c->cell = malloc((size_t)rows * c->ncol * sizeof(char *));
    c->line = malloc((size_t)rows * sizeof(int));
    if (!c->name || !c->cell || !c->line) {
        st = ac_fail(msg, AC_ENOMEM, "%s: no memory", name);
        goto done;
    }
    split(lines[head], c->name);
    for (int j = 0; j < c->ncol; j++) {
        c->name[j] = trim(c->name[j]);
        if (!c->name[j][0]) {
            st = ac_fail(msg, AC_EPARSE, "%s:%zu: column %d has an empty name", name, head + 1, j + 1);
            goto done;
        }
        for (int k = 0; k < j; k++)
            if (!strcmp(c->name[k], c->name[j])) {
                st = ac_fail(msg, AC_EPARSE, "%s:%zu: column name '%s' repeated (columns %d and %d)",
                             name, head + 1, c->name[j], k + 1, j + 1);
                goto done;
            }
    }
    for (size_t k = head + 1; k < nl; k++) {
        if (blank(lines[k]))
            continue;
        int nc = count_cells(lines[k]);
        if (nc != c->ncol) {
            st = ac_fail(msg, AC_EPARSE, "%s:%zu: %d cells, the header has %d", name, k + 1, nc, c->ncol);
            goto done;
        }
        char **row = c->cell + (size_t)c->nrow * c->ncol;
        split(lines[k], row);
        for (int j = 0; j < c->ncol; j++)
            row[j] = trim(row[j]);
        c->line[c->nrow++] = (int)(k + 1);
    }
done:
    free(lines);
    if (st) {
        char keep[sizeof c->path];
        memcpy(keep, c->path, sizeof keep);
        ac_moe_csv_clear(c);
        memcpy(c->path, keep, sizeof keep);
    }
    return st;
}

ac_status ac_moe_csv_read(const char *path, ac_moe_csv *c, ac_msg *msg)
{
    ac_moe_csv_init(c);
    FILE *f = fopen(path, "rb");
    if (!f)
        return ac_fail(msg, AC_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    ac_status st = AC_OK;
    /* Stop at the first NUL or past AC_MOE_CSV_BYTES_MAX: memory follows
     * the text read, never an endless input. */
    while (text && st == AC_OK) {
        if (len + 1 >= cap) {
            char *t = realloc(text, cap * 2);
            if (!t) {
                free(text);
                text = NULL;
                break;
            }
            text = t;
            cap *= 2;
        }
        size_t got = fread(text + len, 1, cap - 1 - len, f);
        const char *nul = memchr(text + len, '\0', got);
        if (nul) {
            size_t line = 1;
            for (const char *q = text; q < nul; q++)
                line += *q == '\n';
            st = ac_fail(msg, AC_EPARSE, "%s:%zu: a NUL byte (the file is not text)", path, line);
        }
        len += got;
        if (st == AC_OK && len > (size_t)AC_MOE_CSV_BYTES_MAX)
            st = ac_fail(msg, AC_EPARSE, "%s: more than %ld bytes (AC_MOE_CSV_BYTES_MAX): too large for a table",
                         path, (long)AC_MOE_CSV_BYTES_MAX);
        if (got == 0)
            break;
    }
    int err = errno;
    if (st == AC_OK && !text)
        st = ac_fail(msg, AC_ENOMEM, "%s: no memory", path);
    else if (st == AC_OK && ferror(f))
        st = ac_fail(msg, AC_EIO, "%s: read error: %s", path, strerror(err));
    fclose(f);
    if (st) {
        free(text);
        return st;
    }
    text[len] = '\0';
    st = ac_moe_csv_parse(text, path, c, msg);
    free(text);
    return st;
}

int ac_moe_csv_column(const ac_moe_csv *c, const char *name)
{
    for (int j = 0; j < c->ncol; j++)
        if (!strcmp(c->name[j], name))
            return j;
    return -1;
}

ac_status ac_moe_filter_parse(const char *expr, const ac_moe_csv *c, ac_moe_filter *f, ac_msg *msg)
{
    memset(f, 0, sizeof *f);
    const char *eq = strchr(expr, '=');
    if (!eq)
        return ac_fail(msg, AC_EINVAL, "filter '%s': expected COL=VALUE[,VALUE...]", expr);
    char col[256];
    size_t n = (size_t)(eq - expr);
    if (n >= sizeof col)
        return ac_fail(msg, AC_EINVAL, "filter '%s': column name too long", expr);
    memcpy(col, expr, n);
    col[n] = '\0';
    char *cn = trim(col);
    f->col = ac_moe_csv_column(c, cn);
    if (f->col < 0)
        return ac_fail(msg, AC_EINVAL, "filter '%s': %s has no column '%s'", expr, c->path, cn);
    const char *p = eq + 1;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t m = comma ? (size_t)(comma - p) : strlen(p);
        if (f->nval == AC_MOE_FILTER_MAX_VALUES)
            return ac_fail(msg, AC_EINVAL, "filter '%s': more than %d values", expr,
                           AC_MOE_FILTER_MAX_VALUES);
        if (m >= sizeof f->val[0])
            return ac_fail(msg, AC_EINVAL, "filter '%s': a value over %zu characters", expr,
                           sizeof f->val[0] - 1);
        char v[sizeof f->val[0]];
        memcpy(v, p, m);
        v[m] = '\0';
        char *tv = trim(v);
        if (!tv[0])
            return ac_fail(msg, AC_EINVAL, "filter '%s': an empty value", expr);
        snprintf(f->val[f->nval++], sizeof f->val[0], "%s", tv);
        if (!comma)
            break;
        p = comma + 1;
    }
    return AC_OK;
}

int ac_moe_filter_match(const ac_moe_filter *f, const ac_moe_csv *c, int r)
{
    const char *cell = c->cell[(size_t)r * c->ncol + f->col];
    for (int k = 0; k < f->nval; k++)
        if (!strcmp(cell, f->val[k]))
            return 1;
    return 0;
}

/* A whole number 0..ncat-1 from cell text, or the reason it is not
 * (ncat <= 0: K not given, 0..AC_MOE_TAB_NCAT_MAX-1). */
static ac_status category(const ac_moe_csv *c, int r, int j, int ncat, int *out, ac_msg *msg)
{
    const char *s = c->cell[(size_t)r * c->ncol + j];
    if (!s[0])
        return ac_fail(msg, AC_EPARSE, "%s:%d: column %s (column %d): missing value", c->path,
                       c->line[r], c->name[j], j + 1);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno)
        return ac_fail(msg, AC_EPARSE, "%s:%d: column %s (column %d): '%s' is not a category number",
                       c->path, c->line[r], c->name[j], j + 1, s);
    if (v < 0) /* a category is a whole number 0..K-1; a bound beside the point would mislead (the
                * reader's limit read as if the user had said 1000 categories) */
        return ac_fail(msg, AC_EPARSE, "%s:%d: column %s (column %d): category %ld is negative: categories are "
                       "whole numbers 0..K-1", c->path, c->line[r], c->name[j], j + 1, v);
    if (ncat <= 0 && v >= AC_MOE_TAB_NCAT_MAX) /* the reader's limit, not a K the user gave */
        return ac_fail(msg, AC_EPARSE,
                       "%s:%d: column %s (column %d): category %ld is above %d, the largest this reader takes "
                       "(at most %d categories, numbered 0..K-1)",
                       c->path, c->line[r], c->name[j], j + 1, v, AC_MOE_TAB_NCAT_MAX - 1, AC_MOE_TAB_NCAT_MAX);
    if (ncat > 0 && v >= ncat)
        return ac_fail(msg, AC_EPARSE,
                       "%s:%d: column %s (column %d): category %ld is outside the vocabulary 0..%d",
                       c->path, c->line[r], c->name[j], j + 1, v, ncat - 1);
    *out = (int)v;
    return AC_OK;
}

ac_status ac_moe_csv_table(const ac_moe_csv *c, const ac_moe_filter *f, const int *feat, int nfeat,
                           int target, int ncat, ac_moe_tab *out, ac_msg *msg)
{
    ac_moe_tab_init(out);
    if (nfeat < 1)
        return ac_fail(msg, AC_EINVAL, "%s: no feature columns", c->path);
    int n = 0;
    for (int r = 0; r < c->nrow; r++)
        n += !f || ac_moe_filter_match(f, c, r);
    if (n == 0)
        return ac_fail(msg, AC_EINVAL, "%s: the filter %s=%s%s selects no rows", c->path,
                       c->name[f->col], f->val[0], f->nval > 1 ? ",..." : "");
    if (ncat > AC_MOE_TAB_NCAT_MAX)
        return ac_fail(msg, AC_EINVAL, "%s: %d categories, more than AC_MOE_TAB_NCAT_MAX = %d", c->path, ncat,
                       AC_MOE_TAB_NCAT_MAX);
    int L = nfeat + 1, largest = 0;
    if (ac_moe_tab_resize(out, n, L, ncat > 0 ? ncat : 1))
        return ac_fail(msg, AC_ENOMEM, "%s: no memory for the table", c->path);
    int k = 0;
    for (int r = 0; r < c->nrow; r++) {
        if (f && !ac_moe_filter_match(f, c, r))
            continue;
        for (int j = 0; j < L; j++) {
            ac_status st = category(c, r, j < nfeat ? feat[j] : target, ncat,
                                    &out->X[(size_t)k * L + j], msg);
            if (st) {
                ac_moe_tab_clear(out);
                return st;
            }
            largest = out->X[(size_t)k * L + j] > largest ? out->X[(size_t)k * L + j] : largest;
        }
        k++;
    }
    if (ncat <= 0)
        out->ncat = largest + 1;
    return AC_OK;
}

/* ---- Auto MPG ------------------------------------------------------------------ */

enum { MPG_MPG, MPG_CYL, MPG_DISP, MPG_HP, MPG_WEIGHT, MPG_ACC, MPG_YEAR, MPG_ORIGIN, MPG_NCOL };
static const char *const mpg_names[MPG_NCOL] = {"mpg",    "cylinders",    "displacement",
                                                "horsepower", "weight", "acceleration",
                                                "model year", "origin"};

/* The number in a cell: 1 fine, 0 missing ('?'), or an error. */
static ac_status number(const ac_moe_csv *c, int r, int j, double *out, int *missing, ac_msg *msg)
{
    const char *s = c->cell[(size_t)r * c->ncol + j];
    *missing = !strcmp(s, "?");
    if (*missing)
        return AC_OK;
    if (!s[0])
        return ac_fail(msg, AC_EPARSE, "%s:%d: column %s (column %d): missing value", c->path,
                       c->line[r], c->name[j], j + 1);
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (*end || errno || !isfinite(*out))
        return ac_fail(msg, AC_EPARSE, "%s:%d: column %s (column %d): '%s' is not a number", c->path,
                       c->line[r], c->name[j], j + 1, s);
    return AC_OK;
}

ac_status ac_moe_mpg_prepare(const ac_moe_csv *c, ac_moe_tab *train, ac_moe_tab *test,
                             ac_moe_mpg_info *info, ac_msg *msg)
{
    ac_moe_tab_init(train);
    ac_moe_tab_init(test);
    memset(info, 0, sizeof *info);
    int col[MPG_NCOL];
    for (int k = 0; k < MPG_NCOL; k++)
        if ((col[k] = ac_moe_csv_column(c, mpg_names[k])) < 0)
            return ac_fail(msg, AC_EINVAL, "%s: no column '%s' (Auto MPG needs it)", c->path,
                           mpg_names[k]);
    info->read = c->nrow;
    double *v = malloc((size_t)c->nrow * MPG_NCOL * sizeof(double));
    double *colv = malloc((size_t)c->nrow * sizeof(double));
    int *keep = malloc((size_t)c->nrow * sizeof(int)), *bin = malloc((size_t)c->nrow * sizeof(int));
    int *cat = malloc((size_t)c->nrow * 7 * sizeof(int));
    ac_status st = AC_OK;
    if (!v || !colv || !keep || !bin || !cat) {
        st = ac_fail(msg, AC_ENOMEM, "%s: no memory", c->path);
        goto done;
    }
    int n = 0;
    for (int r = 0; r < c->nrow; r++) {
        int any_missing = 0;
        for (int k = 0; k < MPG_NCOL; k++) {
            int miss;
            if ((st = number(c, r, col[k], &v[(size_t)n * MPG_NCOL + k], &miss, msg)))
                goto done;
            any_missing |= miss;
        }
        if (any_missing) {
            info->missing++;
            continue;
        }
        double *row = v + (size_t)n * MPG_NCOL, o = row[MPG_ORIGIN];
        if (o != 1.0 && o != 2.0 && o != 3.0) {
            st = ac_fail(msg, AC_EPARSE, "%s:%d: column origin (column %d): %g is not 1, 2 or 3",
                         c->path, c->line[r], col[MPG_ORIGIN] + 1, o);
            goto done;
        }
        double cy = row[MPG_CYL];
        if (cy != 4.0 && cy != 6.0 && cy != 8.0) {
            info->cylinders++;
            continue;
        }
        keep[n++] = r;
    }
    /* x0 = cylinders/2 - 2; x1..x5 and y pooled terciles (§3.6). */
    static const int binned[6] = {MPG_DISP, MPG_HP, MPG_WEIGHT, MPG_ACC, MPG_YEAR, MPG_MPG};
    for (int i = 0; i < n; i++)
        cat[(size_t)i * 7] = (int)(v[(size_t)i * MPG_NCOL + MPG_CYL] / 2.0) - 2;
    for (int b = 0; b < 6; b++) {
        for (int i = 0; i < n; i++)
            colv[i] = v[(size_t)i * MPG_NCOL + binned[b]];
        if ((st = ac_moe_qcut(colv, n, AC_MOE_MPG_NCAT, bin, msg))) {
            char why[AC_MSG_LEN];
            snprintf(why, sizeof why, "%s", msg ? msg->text : "");
            st = ac_fail(msg, AC_EINVAL, "%s: column %s: %s", c->path, mpg_names[binned[b]], why);
            goto done;
        }
        for (int i = 0; i < n; i++)
            cat[(size_t)i * 7 + 1 + b] = bin[i];
    }
    for (int i = 0; i < n; i++) {
        if (v[(size_t)i * MPG_NCOL + MPG_ORIGIN] == 1.0)
            info->ntrain++;
        else
            info->ntest++;
    }
    if (info->ntrain == 0 || info->ntest == 0) {
        st = ac_fail(msg, AC_EINVAL, "%s: %d US cars and %d others: both splits need rows", c->path,
                     info->ntrain, info->ntest);
        goto done;
    }
    if ((st = ac_moe_tab_resize(train, info->ntrain, 7, AC_MOE_MPG_NCAT)) ||
        (st = ac_moe_tab_resize(test, info->ntest, 7, AC_MOE_MPG_NCAT))) {
        st = ac_fail(msg, st, "%s: no memory", c->path);
        goto done;
    }
    for (int i = 0, a = 0, b = 0; i < n; i++) {
        int us = v[(size_t)i * MPG_NCOL + MPG_ORIGIN] == 1.0;
        int *dst = us ? train->X + (size_t)a++ * 7 : test->X + (size_t)b++ * 7;
        memcpy(dst, cat + (size_t)i * 7, 7 * sizeof(int));
    }
done:
    free(v);
    free(colv);
    free(keep);
    free(bin);
    free(cat);
    if (st) {
        ac_moe_tab_clear(train);
        ac_moe_tab_clear(test);
    }
    return st;
}

/* ---- Writing ------------------------------------------------------------------- */

ac_status ac_moe_tab_write_csv(FILE *f, const char *comment, const ac_moe_tab *train, const ac_moe_tab *test)
{
    if (comment)
        fprintf(f, "# %s\n", comment);
    for (int j = 0; j < train->L - 1; j++)
        fprintf(f, "x%d,", j);
    fprintf(f, "y,%s\n", AC_MOE_SPLIT_COLUMN);
    const ac_moe_tab *t[2] = {train, test};
    static const char *const name[2] = {"train", "test"};
    for (int s = 0; s < 2; s++)
        for (int r = 0; r < t[s]->n; r++) {
            for (int j = 0; j < t[s]->L; j++)
                fprintf(f, "%d,", t[s]->X[(size_t)r * t[s]->L + j]);
            fprintf(f, "%s\n", name[s]);
        }
    return ferror(f) ? AC_EIO : AC_OK;
}
