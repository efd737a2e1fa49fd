/* Task files of the attention-paths commands (format in paths_io.h). */
#include "verify/paths_io.h"

#include <cblas.h>
#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "verify/json_array.h"
#include "verify/paths_gibbs.h" /* the sampler's defaults, for its cost */
#include "verify/paths_task.h"
#include "verify/text.h"

#define DEFAULT_NAME "<task>"
/* Key paths quoted in messages (train.x[123][45] and the like). */
#define KEY_MAX 128

/* ---- Task ------------------------------------------------------------------ */

void ac_paths_task_init(ac_paths_task *t)
{
    memset(t, 0, sizeof *t);
    ac_paths_settings_default(&t->s);
    t->readout = AC_PATHS_READOUT_LAST;
}

void ac_paths_task_clear(ac_paths_task *t)
{
    if (!t)
        return;
    free(t->X), free(t->Y), free(t->Xt), free(t->Yt);
    free(t->G), free(t->Q), free(t->K), free(t->W), free(t->Om), free(t->Omt);
    free(t->description);
    ac_paths_task_init(t);
}

static int heads_of(const ac_paths_settings *s)
{
    int n = 0;
    for (int l = 0; l < s->L; l++)
        n += s->H[l];
    return n;
}

/* Index of the first non-finite entry of v[0..n), or -1. */
static long first_nonfinite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return (long)i;
    return -1;
}

/* Largest |v[i]| over v[0..n) (0 when n = 0). */
static double max_abs(const double *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

/* Layer and head (1-based) of head k (layer 1's heads first). */
static void layer_head(const ac_paths_settings *s, int k, int *l, int *h)
{
    int L = 0;
    while (k >= s->H[L])
        k -= s->H[L++];
    *l = L + 1, *h = k + 1;
}

static ac_status check_settings(const ac_paths_task *t, const char *name, ac_msg *msg)
{
    const ac_paths_settings *s = &t->s;
    if (s->L < 1 || s->L > AC_PATHS_MAX_LAYERS)
        return ac_fail(msg, AC_EINVAL, "%s: L: %d layers, need 1..%d", name, s->L,
                       AC_PATHS_MAX_LAYERS);
    long np = 1;
    for (int l = 0; l < s->L; l++) {
        if (s->H[l] < 1)
            return ac_fail(msg, AC_EINVAL, "%s: H[%d]: layer %d has %d heads, need >= 1", name, l,
                           l + 1, s->H[l]);
        np *= s->H[l];
        if (np > AC_PATHS_MAX_PATHS)
            return ac_fail(msg, AC_ESIZE,
                           "%s: H: the number of paths H_1 x ... x H_%d = %ld exceeds %d "
                           "(AC_PATHS_MAX_PATHS)", name, l + 1, np, AC_PATHS_MAX_PATHS);
    }
    for (int l = 0; l <= s->L; l++) {
        if (!(s->n[l] > 0.0) || !isfinite(s->n[l]))
            return ac_fail(msg, AC_EINVAL, "%s: N: width n_%d = %.17g must be finite and > 0",
                           name, l, s->n[l]);
        if (!(s->sigma2[l] > 0.0) || !isfinite(s->sigma2[l]))
            return ac_fail(msg, AC_EINVAL,
                           "%s: sigma2: prior variance sigma_%d^2 = %.17g must be finite and > 0",
                           name, l, s->sigma2[l]);
    }
    if (!(s->sigma2_a > 0.0) || !isfinite(s->sigma2_a))
        return ac_fail(msg, AC_EINVAL,
                       "%s: sigma2_a: readout prior variance %.17g must be finite and > 0", name,
                       s->sigma2_a);
    if (!(s->T > 0.0) || !isfinite(s->T))
        return ac_fail(msg, AC_EINVAL, "%s: T: temperature %.17g must be finite and > 0", name,
                       s->T);
    const char *why = ac_paths_settings_check(s); /* anything the theory adds */
    if (why)
        return ac_fail(msg, AC_EINVAL, "%s: %s", name, why);
    return AC_OK;
}

static ac_status check_matrices(const ac_paths_task *t, const char *name, const char *set,
                                int P, const double *Om, ac_msg *msg)
{
    int n = t->ntok;
    size_t nn = (size_t)n * n;
    for (int mu = 0; mu < P; mu++)
        for (int k = 0; k < t->nheads; k++) {
            const double *A = Om + ((size_t)mu * t->nheads + k) * nn;
            int l, h;
            layer_head(&t->s, k, &l, &h);
            for (int q = 0; q < n; q++) {
                double sum = 0.0;
                for (int s = 0; s < n; s++) {
                    double a = A[(size_t)s * n + q];
                    if (!isfinite(a) || a < 0.0)
                        return ac_fail(msg, AC_EINVAL,
                                       "%s: attention.%s[%d][%d][%d][%d][%d]: attention weight "
                                       "%.17g is %s", name, set, mu, l - 1, h - 1, s, q, a,
                                       isfinite(a) ? "negative" : "not finite");
                    sum += a;
                }
                if (fabs(sum - 1.0) > AC_PATHS_IO_COLSUM_TOL)
                    return ac_fail(msg, AC_EINVAL,
                                   "%s: attention.%s[%d][%d][%d]: column %d (query %d) sums to "
                                   "%.17g, not 1 within %g: entry [s][t] is key s, query t, "
                                   "softmax over the key (is the matrix transposed?)",
                                   name, set, mu, l - 1, h - 1, q, q, sum,
                                   AC_PATHS_IO_COLSUM_TOL);
            }
        }
    return AC_OK;
}

ac_status ac_paths_task_check(const ac_paths_task *t, const char *name, ac_msg *msg)
{
    name = name ? name : DEFAULT_NAME;
    if (!t)
        return ac_fail(msg, AC_EINVAL, "%s: no task (NULL)", name);
    ac_status st = check_settings(t, name, msg);
    if (st != AC_OK)
        return st;
    if (t->P < 1 || !t->X || !t->Y)
        return ac_fail(msg, AC_ESIZE, "%s: train: %d training examples, need at least 1", name,
                       t->P);
    if (t->N0 < 1 || t->ntok < 1)
        return ac_fail(msg, AC_ESIZE, "%s: train.x: %d tokens of %d features, need >= 1 of each",
                       name, t->ntok, t->N0);
    if (t->Pt < 0 || (t->Pt > 0 && !t->Xt))
        return ac_fail(msg, AC_ESIZE, "%s: test: %d test examples", name, t->Pt);
    if (t->readout != AC_PATHS_READOUT_LAST && t->readout != AC_PATHS_READOUT_MEAN &&
        (t->readout < 0 || t->readout >= t->ntok))
        return ac_fail(msg, AC_EINVAL, "%s: readout: token %d is outside the sequence of %d "
                       "tokens (0..%d)", name, t->readout, t->ntok, t->ntok - 1);
    int np = ac_paths_count(&t->s);
    ac_msg m = {{0}};
    if ((st = ac_paths_check_sizes(&t->s, t->P, t->N0, &m)) != AC_OK ||
        (st = ac_paths_check_sizes(&t->s, t->Pt, t->N0, &m)) != AC_OK)
        return ac_fail(msg, st, "%s: %s", name, m.text);
    double phi = ((double)t->P + t->Pt) * t->N0 * np;
    if (phi > (double)AC_PATHS_IO_MAX_PHI)
        return ac_fail(msg, AC_ESIZE,
                       "%s: H: (P + Pt) x N0 x H^L = (%d + %d) x %d x %d = %.0f path-tensor "
                       "entries exceed %zu (AC_PATHS_IO_MAX_PHI)", name, t->P, t->Pt, t->N0, np,
                       phi, AC_PATHS_IO_MAX_PHI);
    double om = (double)t->nheads * t->ntok * t->ntok;
    if (om > (double)AC_PATHS_IO_MAX_OMEGA)
        return ac_fail(msg, AC_ESIZE,
                       "%s: train.x[0]: %d tokens: one example's attention, %d heads x %d x %d "
                       "= %.0f entries, exceeds %zu (AC_PATHS_IO_MAX_OMEGA)", name, t->ntok,
                       t->nheads, t->ntok, t->ntok, om, AC_PATHS_IO_MAX_OMEGA);
    size_t nx = (size_t)t->N0 * t->ntok;
    long i;
    if ((i = first_nonfinite(t->X, (size_t)t->P * nx)) >= 0)
        return ac_fail(msg, AC_EINVAL, "%s: train.x[%ld][%ld][%ld] is not finite", name,
                       i / (long)nx, i % t->ntok, (i % (long)nx) / t->ntok);
    if ((i = first_nonfinite(t->Y, (size_t)t->P)) >= 0)
        return ac_fail(msg, AC_EINVAL, "%s: train.y[%ld] is not finite", name, i);
    if (t->Pt > 0 && (i = first_nonfinite(t->Xt, (size_t)t->Pt * nx)) >= 0)
        return ac_fail(msg, AC_EINVAL, "%s: test.x[%ld][%ld][%ld] is not finite", name,
                       i / (long)nx, i % t->ntok, (i % (long)nx) / t->ntok);
    if (t->Yt && (i = first_nonfinite(t->Yt, (size_t)t->Pt)) >= 0)
        return ac_fail(msg, AC_EINVAL, "%s: test.y[%ld] is not finite", name, i);
    if (t->nheads != heads_of(&t->s))
        return ac_fail(msg, AC_EINVAL, "%s: attention: %d heads, H asks for %d", name, t->nheads,
                       heads_of(&t->s));
    switch (t->kind) {
    case AC_PATHS_ATTN_QK: {
        if (!t->G || !t->Q || !t->K)
            return ac_fail(msg, AC_EINVAL, "%s: attention: no Q/K", name);
        size_t off = 0;
        for (int k = 0; k < t->nheads; k++) {
            int l, h;
            layer_head(&t->s, k, &l, &h);
            if (t->G[k] < 1)
                return ac_fail(msg, AC_ESIZE, "%s: attention.heads[%d][%d].Q: %d rows, need >= 1",
                               name, l - 1, h - 1, t->G[k]);
            size_t n = (size_t)t->G[k] * t->N0;
            if ((i = first_nonfinite(t->Q + off, n)) >= 0 ||
                (i = first_nonfinite(t->K + off, n)) >= 0)
                return ac_fail(msg, AC_EINVAL, "%s: attention.heads[%d][%d]: entry %ld of Q or K "
                               "is not finite", name, l - 1, h - 1, i);
            off += n;
        }
        break;
    }
    case AC_PATHS_ATTN_BILINEAR:
        if (!t->W)
            return ac_fail(msg, AC_EINVAL, "%s: attention: no W", name);
        for (int k = 0; k < t->nheads; k++) {
            int l, h;
            layer_head(&t->s, k, &l, &h);
            size_t n = (size_t)t->N0 * t->N0;
            if ((i = first_nonfinite(t->W + k * n, n)) >= 0)
                return ac_fail(msg, AC_EINVAL, "%s: attention.heads[%d][%d].W[%ld][%ld] is not "
                               "finite", name, l - 1, h - 1, i / t->N0, i % t->N0);
        }
        break;
    case AC_PATHS_ATTN_MATRICES:
        if (!t->Om || (t->Pt > 0 && !t->Omt))
            return ac_fail(msg, AC_EINVAL, "%s: attention: no matrices", name);
        if ((st = check_matrices(t, name, "train", t->P, t->Om, msg)) != AC_OK ||
            (st = check_matrices(t, name, "test", t->Pt, t->Omt, msg)) != AC_OK)
            return st;
        break;
    default:
        return ac_fail(msg, AC_EINVAL, "%s: attention: unknown kind %d", name, (int)t->kind);
    }
    return AC_OK;
}

/* ---- Reading ---------------------------------------------------------------- */

typedef struct {
    const char *name;
    ac_msg *msg;
} rd;

static ac_status bad(const rd *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ac_status bad(const rd *r, const char *key, const char *fmt, ...)
{
    char reason[AC_MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return ac_fail(r->msg, AC_EPARSE, "%s: %s: %s", r->name, key, reason);
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* " of N entries" for an array (the length a shape error quotes), "" else;
 * into buf. */
static const char *length_of(const json_t *v, char *buf, size_t cap)
{
    buf[0] = '\0';
    if (json_is_array(v))
        snprintf(buf, cap, " of %zu entr%s", json_array_size(v),
                 json_array_size(v) == 1 ? "y" : "ies");
    return buf;
}

static ac_status no_memory(const rd *r)
{
    return ac_fail(r->msg, AC_ENOMEM, "%s: out of memory", r->name);
}

/* Refuse keys of o outside the NULL-terminated list. */
static ac_status known_keys(const rd *r, const json_t *o, const char *where,
                            const char *const *keys)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        int ok = 0;
        for (int i = 0; keys[i]; i++)
            ok |= strcmp(k, keys[i]) == 0;
        if (!ok) {
            char list[256] = "";
            for (int i = 0; keys[i]; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                         keys[i]);
            return bad(r, where, "unknown key \"%.40s\" (the keys here are %s)", k, list);
        }
    }
    return AC_OK;
}

static ac_status want(const rd *r, const json_t *o, const char *key, const char *where,
                      json_t **v)
{
    *v = json_object_get(o, key);
    if (!*v)
        return bad(r, where, "missing key \"%s\"", key);
    return AC_OK;
}

static ac_status num(const rd *r, const json_t *v, const char *key, double *x)
{
    if (!json_is_number(v))
        return bad(r, key, "expected a number, found %s", type_name(v));
    *x = json_number_value(v);
    return AC_OK;
}

static ac_status integer(const rd *r, const json_t *v, const char *key, long lo, long hi,
                         const char *what, int *x)
{
    if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
        fabs(json_real_value(v)) < 1e15) /* what a writer of floats (numpy, JavaScript) gives */
        return bad(r, key, "expected an integer (%s), found the real number %.1f: write it without "
                   "a decimal point or exponent", what, json_real_value(v));
    if (!json_is_integer(v))
        return bad(r, key, "expected an integer (%s), found %s", what, type_name(v));
    json_int_t i = json_integer_value(v);
    if (i < lo || i > hi)
        return bad(r, key, "%s %lld is outside %ld..%ld", what, (long long)i, lo, hi);
    *x = (int)i;
    return AC_OK;
}

/* An array of n numbers (n < 0: any length >= 1, returned in *n) into out
 * (allocated when *out is NULL), entry j at out[j stride]. */
static ac_status vec(const rd *r, const json_t *v, const char *key, int *n, const char *expect,
                     double *out, size_t stride)
{
    if (!json_is_array(v))
        return bad(r, key, "expected an array of numbers, found %s", type_name(v));
    size_t m = json_array_size(v);
    if (*n >= 0 && m != (size_t)*n)
        return bad(r, key, "%zu numbers, expected %d (%s)", m, *n, expect);
    if (*n < 0) {
        if (m < 1 || m > (size_t)1 << 30)
            return bad(r, key, "%zu numbers, expected at least 1", m);
        *n = (int)m;
    }
    for (size_t j = 0; j < m; j++) {
        json_t *e = json_array_get(v, j);
        if (!json_is_number(e)) {
            char k[KEY_MAX];
            snprintf(k, sizeof k, "%.96s[%zu]", key, j);
            return bad(r, k, "expected a number, found %s", type_name(e));
        }
        out[j * stride] = json_number_value(e);
    }
    return AC_OK;
}

/* rows x cols numbers (arrays of arrays) into out; entry [i][j] at out[i rs
 * + j cs].  rows, cols >= 0 are required sizes (with the sentences saying
 * why); both must be given. */
static ac_status mat(const rd *r, const json_t *v, const char *key, int rows, const char *why_r,
                     int cols, const char *why_c, double *out, size_t rs, size_t cs)
{
    if (!json_is_array(v))
        return bad(r, key, "expected an array of %d arrays (%s), found %s", rows, why_r,
                   type_name(v));
    if (json_array_size(v) != (size_t)rows)
        return bad(r, key, "%zu rows, expected %d (%s)", json_array_size(v), rows, why_r);
    char k[KEY_MAX];
    for (int i = 0; i < rows; i++) {
        snprintf(k, sizeof k, "%.96s[%d]", key, i);
        int c = cols;
        ac_status st = vec(r, json_array_get(v, (size_t)i), k, &c, why_c, out + (size_t)i * rs, cs);
        if (st != AC_OK)
            return st;
    }
    return AC_OK;
}

/* Read "x" of a set: P examples of ntok tokens of N0 numbers, stored N0 x
 * ntok (tokens as columns).  *P, t->N0, t->ntok < 0 on entry are read off
 * the array (train.x[0]). */
static ac_status examples(const rd *r, const json_t *v, const char *key, ac_paths_task *t,
                          int *P, double **X)
{
    if (!json_is_array(v))
        return bad(r, key, "expected an array of examples, found %s", type_name(v));
    size_t m = json_array_size(v);
    if (m < 1 || m > (size_t)1 << 24)
        return bad(r, key, "%zu examples, expected 1 to %d%s", m, 1 << 24,
                   m < 1 && strcmp(key, "test.x") == 0 ? " (leave \"test\" out for no test set)"
                                                       : "");
    *P = (int)m;
    char k[KEY_MAX];
    if (t->ntok < 0) {
        const json_t *x0 = json_array_get(v, 0), *tok0;
        snprintf(k, sizeof k, "%.96s[0]", key);
        if (!json_is_array(x0) || json_array_size(x0) < 1)
            return bad(r, k, "an example is a non-empty array of tokens, found %s%s",
                       type_name(x0), json_is_array(x0) ? " with no token" : "");
        if (json_array_size(x0) > (size_t)1 << 20)
            return bad(r, k, "%zu tokens exceed %d", json_array_size(x0), 1 << 20);
        t->ntok = (int)json_array_size(x0);
        tok0 = json_array_get(x0, 0);
        snprintf(k, sizeof k, "%.96s[0][0]", key);
        if (!json_is_array(tok0) || json_array_size(tok0) < 1)
            return bad(r, k, "a token is a non-empty array of N0 numbers, found %s%s",
                       type_name(tok0), json_is_array(tok0) ? " with no number" : "");
        if (json_array_size(tok0) > (size_t)1 << 24)
            return bad(r, k, "%zu features exceed %d", json_array_size(tok0), 1 << 24);
        t->N0 = (int)json_array_size(tok0);
    }
    size_t nx = (size_t)t->N0 * t->ntok;
    if ((double)m * nx > (double)AC_PATHS_IO_MAX_PHI)
        return bad(r, key, "%zu examples x %d features x %d tokens exceed %zu numbers", m, t->N0,
                   t->ntok, AC_PATHS_IO_MAX_PHI);
    *X = malloc(sizeof(double) * m * nx);
    if (!*X)
        return no_memory(r);
    for (size_t mu = 0; mu < m; mu++) {
        snprintf(k, sizeof k, "%.96s[%zu]", key, mu);
        ac_status st = mat(r, json_array_get(v, mu), k, t->ntok,
                           "ntok, the tokens of train.x[0]", t->N0,
                           "N0, the features of train.x[0][0]", *X + mu * nx, 1, (size_t)t->ntok);
        if (st != AC_OK)
            return st;
    }
    return AC_OK;
}

/* "train" or "test": {"x": ..., "y": ...}; y optional for test. */
static ac_status read_set(const rd *r, const json_t *o, const char *key, ac_paths_task *t,
                          int test)
{
    static const char *const keys[] = {"x", "y", NULL};
    if (!json_is_object(o))
        return bad(r, key, "expected an object {\"x\": ..., \"y\": ...}, found %s", type_name(o));
    ac_status st = known_keys(r, o, key, keys);
    json_t *x, *y;
    char k[KEY_MAX];
    if (st == AC_OK)
        st = want(r, o, "x", key, &x);
    if (st != AC_OK)
        return st;
    snprintf(k, sizeof k, "%.96s.x", key);
    int *P = test ? &t->Pt : &t->P;
    if ((st = examples(r, x, k, t, P, test ? &t->Xt : &t->X)) != AC_OK)
        return st;
    y = json_object_get(o, "y");
    if (!y) {
        if (!test)
            return bad(r, key, "missing key \"y\" (the training labels)");
        return AC_OK;
    }
    double **Y = test ? &t->Yt : &t->Y;
    if (!(*Y = malloc(sizeof(double) * (size_t)*P)))
        return no_memory(r);
    snprintf(k, sizeof k, "%.96s.y", key);
    int n = *P;
    return vec(r, y, k, &n, test ? "one label per test example" : "one label per training example",
               *Y, 1);
}

/* A number or an array of L+1 numbers into v[0..L]. */
static ac_status per_layer(const rd *r, const json_t *v, const char *key, int L, double *out)
{
    if (json_is_number(v)) {
        for (int l = 0; l <= L; l++)
            out[l] = json_number_value(v);
        return AC_OK;
    }
    if (!json_is_array(v))
        return bad(r, key, "expected a number or an array of L+1 = %d numbers, found %s", L + 1,
                   type_name(v));
    int n = L + 1;
    return vec(r, v, key, &n, "L+1 values, layer 0 to L", out, 1);
}

/* "heads": L arrays of H_l head objects, each handed to fn. */
typedef ac_status (*head_fn)(const rd *r, const json_t *h, const char *key, ac_paths_task *t,
                             int k);

static ac_status each_head(const rd *r, const json_t *a, ac_paths_task *t, head_fn fn)
{
    char lenbuf[48];
    if (!json_is_array(a) || json_array_size(a) != (size_t)t->s.L)
        return bad(r, "attention.heads", "expected an array of L = %d layers (arrays of heads), "
                   "found %s%s", t->s.L, type_name(a), length_of(a, lenbuf, sizeof lenbuf));
    int k = 0;
    char key[KEY_MAX];
    for (int l = 0; l < t->s.L; l++) {
        const json_t *hl = json_array_get(a, (size_t)l);
        snprintf(key, sizeof key, "attention.heads[%d]", l);
        if (!json_is_array(hl) || json_array_size(hl) != (size_t)t->s.H[l])
            return bad(r, key, "expected an array of H[%d] = %d heads, found %s%s", l, t->s.H[l],
                       type_name(hl), length_of(hl, lenbuf, sizeof lenbuf));
        for (int h = 0; h < t->s.H[l]; h++, k++) {
            snprintf(key, sizeof key, "attention.heads[%d][%d]", l, h);
            ac_status st = fn(r, json_array_get(hl, (size_t)h), key, t, k);
            if (st != AC_OK)
                return st;
        }
    }
    return AC_OK;
}

/* Pass 1 of qk: the row counts G_k (from Q). */
static ac_status qk_rows(const rd *r, const json_t *h, const char *key, ac_paths_task *t, int k)
{
    static const char *const keys[] = {"Q", "K", NULL};
    if (!json_is_object(h))
        return bad(r, key, "expected an object {\"Q\": ..., \"K\": ...}, found %s", type_name(h));
    ac_status st = known_keys(r, h, key, keys);
    json_t *Q, *K;
    if (st == AC_OK)
        st = want(r, h, "Q", key, &Q);
    if (st == AC_OK)
        st = want(r, h, "K", key, &K);
    if (st != AC_OK)
        return st;
    char k2[KEY_MAX];
    snprintf(k2, sizeof k2, "%.96s.Q", key);
    if (!json_is_array(Q) || json_array_size(Q) < 1)
        return bad(r, k2, "expected an array of G >= 1 rows of N0 = %d numbers, found %s", t->N0,
                   type_name(Q));
    if (json_array_size(Q) > (size_t)1 << 20) /* it said "found an array" */
        return bad(r, k2, "%zu rows: a head has at most G = 2^20 (1048576) rows", json_array_size(Q));
    t->G[k] = (int)json_array_size(Q);
    return AC_OK;
}

static ac_status qk_read(const rd *r, const json_t *h, const char *key, ac_paths_task *t, int k)
{
    size_t off = 0;
    for (int j = 0; j < k; j++)
        off += (size_t)t->G[j] * t->N0;
    char kq[KEY_MAX], kk[KEY_MAX];
    snprintf(kq, sizeof kq, "%.96s.Q", key);
    snprintf(kk, sizeof kk, "%.96s.K", key);
    ac_status st = mat(r, json_object_get(h, "Q"), kq, t->G[k], "G, the rows of Q", t->N0,
                       "N0, the features of train.x[0][0]", t->Q + off, (size_t)t->N0, 1);
    if (st == AC_OK)
        st = mat(r, json_object_get(h, "K"), kk, t->G[k], "G, the rows of Q", t->N0,
                 "N0, the features of train.x[0][0]", t->K + off, (size_t)t->N0, 1);
    return st;
}

static ac_status w_read(const rd *r, const json_t *h, const char *key, ac_paths_task *t, int k)
{
    static const char *const keys[] = {"W", NULL};
    if (!json_is_object(h))
        return bad(r, key, "expected an object {\"W\": ...}, found %s", type_name(h));
    ac_status st = known_keys(r, h, key, keys);
    json_t *W;
    if (st == AC_OK)
        st = want(r, h, "W", key, &W);
    if (st != AC_OK)
        return st;
    char kw[KEY_MAX];
    snprintf(kw, sizeof kw, "%.96s.W", key);
    size_t n = (size_t)t->N0 * t->N0;
    return mat(r, W, kw, t->N0, "N0, the features of train.x[0][0]", t->N0,
               "N0, the features of train.x[0][0]", t->W + k * n, (size_t)t->N0, 1);
}

/* attention.train / attention.test: [P][L][H_l][ntok][ntok]. */
static ac_status matrices(const rd *r, const json_t *v, const char *set, int P, ac_paths_task *t,
                          double **out)
{
    char lenbuf[48];
    char key[KEY_MAX];
    snprintf(key, sizeof key, "attention.%s", set);
    if (!json_is_array(v) || json_array_size(v) != (size_t)P)
        return bad(r, key, "expected an array of %d examples (one per %s.x), found %s%s", P, set,
                   type_name(v), length_of(v, lenbuf, sizeof lenbuf));
    size_t nn = (size_t)t->ntok * t->ntok;
    if (!(*out = malloc(sizeof(double) * ((size_t)P * t->nheads * nn + 1))))
        return no_memory(r);
    for (int mu = 0; mu < P; mu++) {
        const json_t *e = json_array_get(v, (size_t)mu);
        snprintf(key, sizeof key, "attention.%s[%d]", set, mu);
        if (!json_is_array(e) || json_array_size(e) != (size_t)t->s.L)
            return bad(r, key, "expected an array of L = %d layers, found %s%s", t->s.L,
                       type_name(e), length_of(e, lenbuf, sizeof lenbuf));
        int k = 0;
        for (int l = 0; l < t->s.L; l++) {
            const json_t *el = json_array_get(e, (size_t)l);
            snprintf(key, sizeof key, "attention.%s[%d][%d]", set, mu, l);
            if (!json_is_array(el) || json_array_size(el) != (size_t)t->s.H[l])
                return bad(r, key, "expected an array of H[%d] = %d heads, found %s%s", l,
                           t->s.H[l], type_name(el), length_of(el, lenbuf, sizeof lenbuf));
            for (int h = 0; h < t->s.H[l]; h++, k++) {
                snprintf(key, sizeof key, "attention.%s[%d][%d][%d]", set, mu, l, h);
                ac_status st = mat(r, json_array_get(el, (size_t)h), key, t->ntok,
                                   "ntok rows, one per key", t->ntok, "ntok columns, one per query",
                                   *out + ((size_t)mu * t->nheads + k) * nn, (size_t)t->ntok, 1);
                if (st != AC_OK)
                    return st;
            }
        }
    }
    return AC_OK;
}

static ac_status read_attention(const rd *r, const json_t *a, ac_paths_task *t)
{
    if (!json_is_object(a))
        return bad(r, "attention", "expected an object with a \"kind\", found %s", type_name(a));
    json_t *kind;
    ac_status st = want(r, a, "kind", "attention", &kind);
    if (st != AC_OK)
        return st;
    const char *ks = json_is_string(kind) ? json_string_value(kind) : "";
    t->nheads = heads_of(&t->s);
    if (strcmp(ks, "qk") == 0 || strcmp(ks, "bilinear") == 0) {
        static const char *const keys[] = {"kind", "heads", NULL};
        json_t *heads;
        if ((st = known_keys(r, a, "attention", keys)) != AC_OK ||
            (st = want(r, a, "heads", "attention", &heads)) != AC_OK)
            return st;
        if (ks[0] == 'q') {
            t->kind = AC_PATHS_ATTN_QK;
            if (!(t->G = calloc((size_t)t->nheads, sizeof *t->G)))
                return no_memory(r);
            if ((st = each_head(r, heads, t, qk_rows)) != AC_OK)
                return st;
            size_t n = 0;
            for (int k = 0; k < t->nheads; k++)
                n += (size_t)t->G[k] * t->N0;
            if ((double)n > (double)AC_PATHS_IO_MAX_PHI)
                return bad(r, "attention.heads", "Q and K have %zu entries each, more than %zu",
                           n, AC_PATHS_IO_MAX_PHI);
            t->Q = malloc(sizeof(double) * n);
            t->K = malloc(sizeof(double) * n);
            if (!t->Q || !t->K)
                return no_memory(r);
            return each_head(r, heads, t, qk_read);
        }
        t->kind = AC_PATHS_ATTN_BILINEAR;
        if ((double)t->nheads * t->N0 * t->N0 > (double)AC_PATHS_IO_MAX_PHI)
            return bad(r, "attention.heads", "%d heads of N0 x N0 = %d x %d exceed %zu numbers",
                       t->nheads, t->N0, t->N0, AC_PATHS_IO_MAX_PHI);
        if (!(t->W = malloc(sizeof(double) * (size_t)t->nheads * t->N0 * t->N0)))
            return no_memory(r);
        return each_head(r, heads, t, w_read);
    }
    if (strcmp(ks, "matrices") == 0) {
        static const char *const keys[] = {"kind", "train", "test", NULL};
        json_t *tr, *te = NULL;
        t->kind = AC_PATHS_ATTN_MATRICES;
        if ((st = known_keys(r, a, "attention", keys)) != AC_OK ||
            (st = want(r, a, "train", "attention", &tr)) != AC_OK)
            return st;
        if (t->Pt > 0 && (st = want(r, a, "test", "attention", &te)) != AC_OK)
            return st;
        if (t->Pt == 0 && json_object_get(a, "test"))
            return bad(r, "attention.test", "given, but the task has no test set");
        if ((double)(t->P + t->Pt) * t->nheads * t->ntok * t->ntok > (double)AC_PATHS_IO_MAX_PHI)
            return bad(r, "attention", "%d examples x %d heads x %d x %d tokens exceed %zu numbers",
                       t->P + t->Pt, t->nheads, t->ntok, t->ntok, AC_PATHS_IO_MAX_PHI);
        st = matrices(r, tr, "train", t->P, t, &t->Om);
        if (st == AC_OK && t->Pt > 0)
            st = matrices(r, te, "test", t->Pt, t, &t->Omt);
        return st;
    }
    if (json_is_string(kind))
        return bad(r, "attention.kind", "expected \"qk\", \"bilinear\" or \"matrices\", found "
                   "\"%.40s\"", ks);
    return bad(r, "attention.kind", "expected \"qk\", \"bilinear\" or \"matrices\", found %s",
               type_name(kind));
}

static ac_status read_root(const rd *r, const json_t *o, ac_paths_task *t)
{
    char lenbuf[48];
    static const char *const keys[] = {"format", "description", "L", "H", "N", "sigma2",
                                       "sigma2_a", "T", "readout", "train", "test", "attention",
                                       NULL};
    if (!json_is_object(o))
        return bad(r, "top level", "expected an object, found %s", type_name(o));
    ac_status st = known_keys(r, o, "top level", keys);
    if (st != AC_OK)
        return st;
    json_t *v;
    if ((v = json_object_get(o, "format")) &&
        (!json_is_string(v) || strcmp(json_string_value(v), AC_PATHS_IO_FORMAT) != 0))
        return bad(r, "format", "expected \"%s\" (or no key)", AC_PATHS_IO_FORMAT);
    if ((v = json_object_get(o, "description"))) {
        if (!json_is_string(v))
            return bad(r, "description", "expected a string, found %s", type_name(v));
        if (!(t->description = strdup(json_string_value(v))))
            return no_memory(r);
    }
    if ((st = want(r, o, "L", "top level", &v)) != AC_OK ||
        (st = integer(r, v, "L", 1, AC_PATHS_MAX_LAYERS, "layers", &t->s.L)) != AC_OK)
        return st;
    if ((st = want(r, o, "H", "top level", &v)) != AC_OK)
        return st;
    if (!json_is_array(v) || json_array_size(v) != (size_t)t->s.L)
        return bad(r, "H", "expected an array of L = %d head counts, found %s%s", t->s.L,
                   type_name(v), length_of(v, lenbuf, sizeof lenbuf));
    for (int l = 0; l < t->s.L; l++) {
        char k[KEY_MAX];
        snprintf(k, sizeof k, "H[%d]", l);
        if ((st = integer(r, json_array_get(v, (size_t)l), k, 1, AC_PATHS_MAX_PATHS, "heads",
                          &t->s.H[l])) != AC_OK)
            return st;
    }
    if ((st = want(r, o, "N", "top level", &v)) != AC_OK ||
        (st = per_layer(r, v, "N", t->s.L, t->s.n)) != AC_OK)
        return st;
    if ((v = json_object_get(o, "sigma2")) && (st = per_layer(r, v, "sigma2", t->s.L, t->s.sigma2)))
        return st;
    if ((v = json_object_get(o, "sigma2_a")) && (st = num(r, v, "sigma2_a", &t->s.sigma2_a)))
        return st;
    if ((st = want(r, o, "T", "top level", &v)) != AC_OK || (st = num(r, v, "T", &t->s.T)))
        return st;
    /* settings first: a bad T or H is named before the data are read */
    if ((st = check_settings(t, r->name, r->msg)) != AC_OK)
        return st;
    t->N0 = t->ntok = -1;
    if ((st = want(r, o, "train", "top level", &v)) != AC_OK ||
        (st = read_set(r, v, "train", t, 0)) != AC_OK)
        return st;
    if ((v = json_object_get(o, "test")) && (st = read_set(r, v, "test", t, 1)) != AC_OK)
        return st;
    if ((v = json_object_get(o, "readout"))) {
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        if (s && strcmp(s, "last") == 0)
            t->readout = AC_PATHS_READOUT_LAST;
        else if (s && strcmp(s, "mean") == 0)
            t->readout = AC_PATHS_READOUT_MEAN;
        else if (json_is_integer(v)) {
            if ((st = integer(r, v, "readout", 0, t->ntok - 1, "readout token", &t->readout)))
                return st;
        } else
            return bad(r, "readout", "expected \"last\", \"mean\" or a token index 0..%d, found %s",
                       t->ntok - 1, type_name(v));
    }
    if ((st = want(r, o, "attention", "top level", &v)) != AC_OK ||
        (st = read_attention(r, v, t)) != AC_OK)
        return st;
    return ac_paths_task_check(t, r->name, r->msg);
}

/* The task from a parsed root (a reference taken over), or the parse error
 * err (root NULL) as "NAME:LINE:COLUMN: reason". */
static ac_status task_from_root(json_t *root, const json_error_t *err, const char *name,
                                ac_paths_task *t, ac_msg *msg)
{
    if (!root)
        return ac_fail(msg, AC_EPARSE, "%s:%d:%d: %s", name, err->line > 0 ? err->line : 1,
                       err->column > 0 ? err->column : 1, err->text);
    rd r = {name, msg};
    ac_status st = read_root(&r, root, t);
    json_decref(root);
    if (st != AC_OK)
        ac_paths_task_clear(t);
    return st;
}

static ac_status too_many_values(const char *name, long at, ac_msg *msg)
{
    char where[48] = "";
    if (at >= 0) /* a pipe has no offset */
        snprintf(where, sizeof where, " by byte %ld", at);
    return ac_fail(msg, AC_ESIZE, "%s: more than %zu JSON values (numbers, arrays, objects)%s: "
                   "parsed, they would take up to %.3g GB (AC_PATHS_IO_MAX_VALUES in "
                   "verify/paths_io.h, the most a task file holds)", name, AC_PATHS_IO_MAX_VALUES,
                   where, AC_PATHS_IO_MAX_VALUES * 100.0 / 1e9);
}

ac_status ac_paths_task_parse(const char *buf, size_t len, const char *name, ac_paths_task *t,
                              ac_msg *msg)
{
    name = name ? name : DEFAULT_NAME;
    ac_paths_task_init(t);
    if (!buf)
        return ac_fail(msg, AC_EINVAL, "%s: no text", name);
    size_t bom = ac_utf8_bom(buf, len);
    buf += bom, len -= bom;
    size_t seps = 0; /* as ac_json_read_stream_max counts them */
    for (size_t i = 0; i < len; i++) {
        seps += buf[i] == '[' || buf[i] == '{' || buf[i] == ',' || buf[i] == ':';
        if (seps >= AC_PATHS_IO_MAX_VALUES)
            return too_many_values(name, (long)(i + bom), msg);
    }
    json_error_t err;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    return task_from_root(root, &err, name, t, msg);
}

ac_status ac_paths_task_read(const char *path, ac_paths_task *t, ac_msg *msg)
{
    if (!path || !t)
        return ac_fail(msg, AC_EINVAL, "paths task: %s is NULL", !path ? "the path" : "the task");
    ac_paths_task_init(t);
    FILE *f = fopen(path, "rb");
    if (!f)
        return ac_fail(msg, AC_EIO, "%s: cannot open: %s", path, strerror(errno));
    json_error_t err;
    int rerr;
    /* parsed as it is read, a BOM skipped, at most AC_PATHS_IO_MAX_VALUES */
    json_t *root = ac_json_read_stream_max(f, AC_PATHS_IO_MAX_VALUES, &err, &rerr);
    long at = ftell(f);
    fclose(f);
    if (rerr == EFBIG)
        return too_many_values(path, at, msg);
    if (rerr) {
        json_decref(root);
        return ac_fail(msg, rerr == EILSEQ ? AC_EPARSE : AC_EIO, "%s: %s", path, ac_json_read_error(rerr));
    }
    return task_from_root(root, &err, path, t, msg);
}

/* ---- Writing ------------------------------------------------------------------ */

/* One number, %.17g (17 significant digits identify every double), -0.0
 * kept as a real so that it reads back with its sign. */
static void wnum(FILE *f, double x)
{
    if (x == 0.0 && signbit(x))
        fputs("-0.0", f);
    else
        fprintf(f, "%.17g", x);
}

static void wvec(FILE *f, const double *v, int n, size_t stride)
{
    fputc('[', f);
    for (int j = 0; j < n; j++) {
        if (j)
            fputs(", ", f);
        wnum(f, v[(size_t)j * stride]);
    }
    fputc(']', f);
}

/* rows x cols, entry [i][j] at a[i rs + j cs], one row per line. */
static void wmat(FILE *f, const double *a, int rows, int cols, size_t rs, size_t cs,
                 const char *indent)
{
    fputc('[', f);
    for (int i = 0; i < rows; i++) {
        fprintf(f, "%s\n%s  ", i ? "," : "", indent);
        wvec(f, a + (size_t)i * rs, cols, cs);
    }
    fprintf(f, "\n%s]", indent);
}

static void wset(FILE *f, const ac_paths_task *t, int P, const double *X, const double *Y)
{
    size_t nx = (size_t)t->N0 * t->ntok;
    fputs("{\n    \"x\": [", f);
    for (int mu = 0; mu < P; mu++) {
        fprintf(f, "%s\n      ", mu ? "," : "");
        wmat(f, X + mu * nx, t->ntok, t->N0, 1, (size_t)t->ntok, "      ");
    }
    fputs("\n    ]", f);
    if (Y) {
        fputs(",\n    \"y\": ", f);
        wvec(f, Y, P, 1);
    }
    fputs("\n  }", f);
}

static void wmatrices(FILE *f, const ac_paths_task *t, int P, const double *Om)
{
    size_t nn = (size_t)t->ntok * t->ntok;
    fputc('[', f);
    for (int mu = 0, k = 0; mu < P; mu++) {
        fprintf(f, "%s\n      [", mu ? "," : "");
        for (int l = 0; l < t->s.L; l++) {
            fprintf(f, "%s\n        [", l ? "," : "");
            for (int h = 0; h < t->s.H[l]; h++, k++) {
                fprintf(f, "%s\n          ", h ? "," : "");
                wmat(f, Om + (size_t)k * nn, t->ntok, t->ntok, (size_t)t->ntok, 1, "          ");
            }
            fputs("\n        ]", f);
        }
        fputs("\n      ]", f);
    }
    fputs("\n    ]", f);
}

static void wattention(FILE *f, const ac_paths_task *t)
{
    static const char *const kinds[] = {"qk", "bilinear", "matrices"};
    fprintf(f, "{\n    \"kind\": \"%s\",\n", kinds[t->kind]);
    if (t->kind == AC_PATHS_ATTN_MATRICES) {
        fputs("    \"train\": ", f);
        wmatrices(f, t, t->P, t->Om);
        if (t->Pt > 0) {
            fputs(",\n    \"test\": ", f);
            wmatrices(f, t, t->Pt, t->Omt);
        }
        fputs("\n  }", f);
        return;
    }
    fputs("    \"heads\": [", f);
    size_t off = 0, nw = (size_t)t->N0 * t->N0;
    for (int l = 0, k = 0; l < t->s.L; l++) {
        fprintf(f, "%s\n      [", l ? "," : "");
        for (int h = 0; h < t->s.H[l]; h++, k++) {
            fprintf(f, "%s\n        {", h ? "," : "");
            if (t->kind == AC_PATHS_ATTN_QK) {
                fputs("\"Q\": ", f);
                wmat(f, t->Q + off, t->G[k], t->N0, (size_t)t->N0, 1, "          ");
                fputs(",\n         \"K\": ", f);
                wmat(f, t->K + off, t->G[k], t->N0, (size_t)t->N0, 1, "          ");
                off += (size_t)t->G[k] * t->N0;
            } else {
                fputs("\"W\": ", f);
                wmat(f, t->W + k * nw, t->N0, t->N0, (size_t)t->N0, 1, "          ");
            }
            fputc('}', f);
        }
        fputs("\n      ]", f);
    }
    fputs("\n    ]\n  }", f);
}

ac_status ac_paths_task_write(FILE *f, const ac_paths_task *t, ac_msg *msg)
{
    if (!f)
        return ac_fail(msg, AC_EINVAL, "task writer: no stream");
    ac_status st = ac_paths_task_check(t, DEFAULT_NAME, msg);
    if (st != AC_OK)
        return st;
    locale_t c_loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c_loc == (locale_t)0)
        return ac_fail(msg, AC_ENOMEM, "task writer: cannot create the C locale");
    locale_t old = uselocale(c_loc);
    const ac_paths_settings *s = &t->s;
    fprintf(f, "{\n  \"format\": \"%s\",\n", AC_PATHS_IO_FORMAT);
    if (t->description) {
        json_t *d = json_string(t->description);
        char *q = d ? json_dumps(d, JSON_ENCODE_ANY) : NULL;
        if (q)
            fprintf(f, "  \"description\": %s,\n", q);
        free(q);
        json_decref(d);
    }
    fprintf(f, "  \"L\": %d,\n  \"H\": [", s->L);
    for (int l = 0; l < s->L; l++)
        fprintf(f, "%s%d", l ? ", " : "", s->H[l]);
    fputs("],\n  \"N\": ", f);
    wvec(f, s->n, s->L + 1, 1);
    fputs(",\n  \"sigma2\": ", f);
    wvec(f, s->sigma2, s->L + 1, 1);
    fputs(",\n  \"sigma2_a\": ", f);
    wnum(f, s->sigma2_a);
    fputs(",\n  \"T\": ", f);
    wnum(f, s->T);
    if (t->readout == AC_PATHS_READOUT_LAST)
        fputs(",\n  \"readout\": \"last\"", f);
    else if (t->readout == AC_PATHS_READOUT_MEAN)
        fputs(",\n  \"readout\": \"mean\"", f);
    else
        fprintf(f, ",\n  \"readout\": %d", t->readout);
    fputs(",\n  \"attention\": ", f);
    wattention(f, t);
    fputs(",\n  \"train\": ", f);
    wset(f, t, t->P, t->X, t->Y);
    if (t->Pt > 0) {
        fputs(",\n  \"test\": ", f);
        wset(f, t, t->Pt, t->Xt, t->Yt);
    }
    fputs("\n}\n", f);
    uselocale(old);
    freelocale(c_loc);
    if (ferror(f))
        return ac_fail(msg, AC_EIO, "task writer: write failed: %s", strerror(errno));
    return AC_OK;
}

/* ---- Attention and the path tensor ----------------------------------------- */

size_t ac_paths_task_omega_work(const ac_paths_task *t)
{
    int gmax = 0;
    for (int k = 0; t->G && k < t->nheads; k++)
        gmax = t->G[k] > gmax ? t->G[k] : gmax;
    return (size_t)t->N0 * t->ntok + 2 * (size_t)gmax * t->ntok + (size_t)t->ntok;
}

/* Softmax over the key s of every column t of Om (ntok x ntok), by
 * log-sum-exp, in the arithmetic of ac_paths_markov_omega. */
static void softmax_columns(double *Om, int n, double *col)
{
    for (int q = 0; q < n; q++) {
        double mx = -INFINITY, sum = 0.0;
        for (int s = 0; s < n; s++)
            mx = fmax(mx, Om[s * n + q]);
        for (int s = 0; s < n; s++) {
            col[s] = exp(Om[s * n + q] - mx);
            sum += col[s];
        }
        for (int s = 0; s < n; s++)
            Om[s * n + q] = col[s] / sum;
    }
}

void ac_paths_task_omega(const ac_paths_task *t, int test, int mu, double *Om, double *work)
{
    int N0 = t->N0, n = t->ntok;
    size_t nn = (size_t)n * n;
    if (t->kind == AC_PATHS_ATTN_MATRICES) {
        const double *src = (test ? t->Omt : t->Om) + (size_t)mu * t->nheads * nn;
        memcpy(Om, src, sizeof(double) * t->nheads * nn);
        return;
    }
    const double *x = (test ? t->Xt : t->X) + (size_t)mu * N0 * n;
    size_t off = 0;
    for (int k = 0; k < t->nheads; k++) {
        double *A = Om + (size_t)k * nn;
        if (t->kind == AC_PATHS_ATTN_BILINEAR) {
            double *Wx = work, *col = work + (size_t)N0 * n;
            /* S = x^T (W x): S[s, t] = x_s . (W x)_t (as ac_paths_markov_omega) */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N0, n, N0, 1.0,
                        t->W + (size_t)k * N0 * N0, N0, x, n, 0.0, Wx, n);
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, N0, 1.0, x, n, Wx, n, 0.0,
                        A, n);
            softmax_columns(A, n, col);
        } else {
            int G = t->G[k];
            double *Kx = work, *Qx = work + (size_t)G * n, *col = work + 2 * (size_t)G * n;
            /* S[s, t] = (K x_s) . (Q x_t) / sqrt(G) (spec §1) */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, G, n, N0, 1.0, t->K + off, N0,
                        x, n, 0.0, Kx, n);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, G, n, N0, 1.0, t->Q + off, N0,
                        x, n, 0.0, Qx, n);
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, G, 1.0 / sqrt((double)G),
                        Kx, n, Qx, n, 0.0, A, n);
            softmax_columns(A, n, col);
            off += (size_t)G * N0;
        }
    }
}

ac_status ac_paths_task_phi(const ac_paths_task *t, int test, double *Phi, ac_msg *msg)
{
    int P = test ? t->Pt : t->P, n = t->ntok, np = ac_paths_count(&t->s);
    double *Om = malloc(sizeof(double) * (size_t)t->nheads * n * n);
    double *work = malloc(sizeof(double) * ac_paths_task_omega_work(t));
    double *r = malloc(sizeof(double) * (size_t)n);
    ac_status st = AC_OK;
    if (!Om || !work || !r) {
        st = ac_fail(msg, AC_ENOMEM, "path tensor: out of memory");
        goto out;
    }
    for (int s = 0; s < n; s++)
        r[s] = t->readout == AC_PATHS_READOUT_MEAN ? 1.0 / n : 0.0;
    if (t->readout != AC_PATHS_READOUT_MEAN)
        r[t->readout == AC_PATHS_READOUT_LAST ? n - 1 : t->readout] = 1.0;
    const double *X = test ? t->Xt : t->X;
    /* one example at a time, as ac_paths_markov_phi */
    size_t nn = (size_t)n * n;
    for (int mu = 0; mu < P && st == AC_OK; mu++) {
        ac_paths_task_omega(t, test, mu, Om, work);
        /* qk and bilinear scores of huge inputs or weights overflow to
         * inf - inf in the softmax: name the example and the head */
        long i = first_nonfinite(Om, (size_t)t->nheads * nn);
        if (i >= 0) {
            int l, h;
            layer_head(&t->s, (int)(i / (long)nn), &l, &h);
            st = ac_fail(msg, AC_EINVAL, "%s.x[%d]: the attention of layer %d, head %d (attention."
                         "heads[%d][%d]) is not finite: its scores overflow (largest |x| = "
                         "%.3g): rescale the inputs or the head's weights", test ? "test" : "train", mu, l, h, l - 1, h - 1,
                         max_abs(X + (size_t)mu * t->N0 * n, (size_t)t->N0 * n));
            break;
        }
        st = ac_paths_phi(&t->s, 1, t->N0, n, X + (size_t)mu * t->N0 * n, Om, r,
                          Phi + (size_t)mu * t->N0 * np, msg);
    }
out:
    free(Om), free(work), free(r);
    return st;
}

/* ---- Cost ------------------------------------------------------------------- */

/* The key of the largest of n terms (values v, keys k). */
static const char *largest(int n, const double *v, const char *const *k)
{
    int j = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[j])
            j = i;
    return k[j];
}

/* The packed P(P+1)/2 sum of the pre-kernels (ac_paths_prekernel_sum)
 * that theory/paths.c and verify/paths_gibbs.c keep beside them when they
 * keep pre-kernels (ac_paths_keeps_prekernels); else 0. */
static double prekernel_sum_doubles(double P, double N0, double np)
{
    return ac_paths_keeps_prekernels(P, N0, np) ? P * (P + 1) / 2 : 0.0;
}

/* Doubles held while one example's path tensor is computed: its attention
 * matrices (nheads ntok^2), the scores' work (ac_paths_task_omega_work: 2 G
 * ntok for a qk head, 4.3 GB at G = 2^20 and 256 tokens) and the path
 * vectors (np ntok). */
static double phi_doubles(const ac_paths_task *t)
{
    double n = t->ntok;
    return t->nheads * n * n + (double)ac_paths_task_omega_work(t) + ac_paths_count(&t->s) * n;
}

/* Seconds for the path tensors of every train and test example
 * (ac_paths_task_phi; the rates and the terms in verify/paths_io.h). */
static double phi_seconds(const ac_paths_task *t)
{
    const ac_paths_settings *s = &t->s;
    double n = t->ntok, N0 = t->N0, np = ac_paths_count(s), blas = 2 * N0 * np * n, exps = 0.0;
    for (int k = 0; k < t->nheads; k++) {
        if (t->kind == AC_PATHS_ATTN_QK)
            blas += 2.0 * t->G[k] * n * (2 * N0 + n);
        else if (t->kind == AC_PATHS_ATTN_BILINEAR)
            blas += 2 * N0 * n * (N0 + n);
        if (t->kind != AC_PATHS_ATTN_MATRICES)
            exps += n * n;
    }
    double loops = np * s->L * n * n;
    return ((double)t->P + t->Pt) * (blas / AC_PATHS_IO_BLAS_FLOPS + loops * AC_PATHS_IO_LOOP_SECONDS +
                                     exps * AC_PATHS_IO_EXP_SECONDS);
}

void ac_paths_task_solve_cost(const ac_paths_task *t, int max_iter, ac_paths_task_cost *c)
{
    const ac_paths_settings *s = &t->s;
    double P = t->P, Pt = t->Pt, np = ac_paths_count(s), m = (double)t->N0 * np;
    double u = (double)ac_paths_u_size(s), theta = ac_paths_theta_size(s), d3 = 0.0;
    for (int l = 1; l <= s->L; l++)
        d3 += pow(ac_paths_dim(s, l), 3);
    /* doubles: K + T I (factored in place: theory/paths.c factor); the path tensors
     * and Z = Phi L_1; the U-sized arrays of theory/paths.c (U, Ugp, Lu, Inv,
     * Ut, Gt, the action's gradient; M, G1 of np^2) and the minimiser's
     * vectors ((9 + 2 AC_MIN_MEMORY) of theta's size, solvers/minimize.h);
     * the pre-kernels
     * or the compressed route, each at most 2^25, and the pre-kernels'
     * packed sum when they are kept (prekernel_sum_doubles) */
    double kb = P * P, xb = (2 * P + Pt) * m,
           hb = 8 * u + 2 * np * np + (9 + 2 * AC_MIN_MEMORY) * theta, ob = phi_doubles(t);
    c->bytes = 8.0 * (kb + xb + hb + ob + (double)AC_PATHS_PREKERNEL_MAX +
                      prekernel_sum_doubles(P, t->N0, np));
    /* one evaluation: the Cholesky P^3/3, K and the direct route's L^{-1} Phi
     * (P^2 m each, plus Z^T Z over P N0 rows, np^2 P N0), through BLAS; the
     * factors, inverses and chain rule of the U_l, as loops */
    c->evals = fmin(fmin(AC_PATHS_IO_EVALS_BASE + AC_PATHS_IO_EVALS_PER_SQRT_THETA * sqrt(theta),
                         AC_PATHS_IO_EVALS_MAX), 3.0 * max_iter + 1);
    double pf = c->evals * (P * P * P / 3 + 3 * P * P * m) / AC_PATHS_IO_BLAS_FLOPS,
           hf = c->evals * (2 * np * np * P * t->N0 / AC_PATHS_IO_BLAS_FLOPS +
                            d3 * AC_PATHS_IO_LOOP_SECONDS);
    double af = phi_seconds(t);
    c->seconds = pf + hf + af;
    c->phi_seconds = af;
    static const char *const keys[] = {"train.x", "train.x", "H", "train.x", "H", "attention", "attention"};
    double v[] = {kb / (AC_PATHS_IO_BYTES_MAX / 8), xb / (AC_PATHS_IO_BYTES_MAX / 8),
                  hb / (AC_PATHS_IO_BYTES_MAX / 8), pf / AC_PATHS_IO_SECONDS_MAX,
                  hf / AC_PATHS_IO_SECONDS_MAX, af / AC_PATHS_IO_SECONDS_MAX, ob / (AC_PATHS_IO_BYTES_MAX / 8)};
    c->key = largest(7, v, keys);
    if (c->key == keys[1] && Pt > P)
        c->key = "test.x";
}

void ac_paths_task_sample_cost(const ac_paths_task *t, int chains, long burn, long keep,
                               ac_paths_task_cost *c)
{
    const ac_paths_settings *s = &t->s;
    int L = s->L;
    double P = t->P, Pt = t->Pt, M = P + Pt, np = ac_paths_count(s), N0 = t->N0;
    /* one chain's state (verify/paths_gibbs.c's layout), the forward pass's
     * products per path and example, and the widths' sums */
    double state = s->n[L] + s->n[0] * N0, fwd = N0 * s->n[0] + s->n[L], widths = N0, qsum = N0;
    for (int l = 1; l <= L; l++) {
        state += s->H[l - 1] * s->n[l] * s->n[l - 1];
        fwd += s->n[l] * s->n[l - 1];
    }
    for (int l = 0; l <= L; l++)
        widths += s->n[l], qsum += s->n[l];
    /* doubles: the states; R_l (np M per width) and Lam; G (factored in
     * place); the records (f on the test set and U_1 per kept sweep and
     * chain) and their diagnostics' copy; the CLI's path tensors and the
     * pre-kernels (at most 2^25) with their packed sum */
    double nb = chains * state + np * M * widths + np * widths, pb = P * P + 2 * M * N0 * np,
           rb = 2.0 * chains * keep * (Pt + np * np), ob = phi_doubles(t);
    c->bytes = 8.0 * (nb + pb + rb + ob + (double)AC_PATHS_PREKERNEL_MAX +
                      prekernel_sum_doubles(P, N0, np));
    /* one sweep of one chain: per block (a, V_L .. V_1, V_0) the Cholesky
     * P^3/3 and J J^T, np P^2 q plus np^2 P q to build it (q the block's
     * input width); two forward passes over M rows; every weight drawn */
    double sweeps = (double)chains * ((double)burn + (double)keep); /* burn + keep in long may overflow */
    double pf = sweeps * ((L + 2) * P * P * P / 3 + np * P * P * qsum) / AC_PATHS_IO_BLAS_FLOPS,
           hf = sweeps * np * np * P * qsum / AC_PATHS_IO_BLAS_FLOPS,
           nf = sweeps * 2 * np * M * fwd / AC_PATHS_IO_BLAS_FLOPS,
           df = sweeps * (state + (L + 2) * P) * AC_PATHS_IO_DRAW_SECONDS;
    double af = phi_seconds(t);
    c->evals = sweeps;
    c->seconds = pf + hf + nf + df + af;
    c->phi_seconds = af;
    static const char *const keys[] = {"N", "train.x", "--sweeps", "train.x", "H", "N", "N", "attention",
                                       "attention"};
    double v[] = {nb / (AC_PATHS_IO_BYTES_MAX / 8), pb / (AC_PATHS_IO_BYTES_MAX / 8),
                  rb / (AC_PATHS_IO_BYTES_MAX / 8), pf / AC_PATHS_IO_SECONDS_MAX,
                  hf / AC_PATHS_IO_SECONDS_MAX, nf / AC_PATHS_IO_SECONDS_MAX,
                  df / AC_PATHS_IO_SECONDS_MAX, af / AC_PATHS_IO_SECONDS_MAX, ob / (AC_PATHS_IO_BYTES_MAX / 8)};
    c->key = largest(9, v, keys);
    if (c->key == keys[2] && Pt > np * np) /* the records are mostly f on the test set */
        c->key = "--sweeps, test.x";
    /* over the time bound with sweeps that the default run would not take:
     * the options are the lever, not the sizes */
    double dflt = (double)AC_PATHS_GIBBS_CHAINS_DEFAULT *
                  (AC_PATHS_GIBBS_BURN_DEFAULT + AC_PATHS_GIBBS_KEEP_DEFAULT);
    if (c->bytes <= AC_PATHS_IO_BYTES_MAX && c->seconds > AC_PATHS_IO_SECONDS_MAX &&
        (c->seconds - af) / sweeps * dflt + af <= AC_PATHS_IO_SECONDS_MAX)
        c->key = "--chains, --burn, --sweeps";
}

ac_status ac_paths_task_cost_check(const ac_paths_task *t, const ac_paths_task_cost *c,
                                   const char *what, const char *name, ac_msg *msg)
{
    name = name ? name : DEFAULT_NAME;
    double wmax = 0.0;
    for (int l = 0; l <= t->s.L; l++)
        wmax = fmax(wmax, t->s.n[l]);
    char sizes[256];
    snprintf(sizes, sizeof sizes, "P = %d training and %d test examples of %d tokens x %d "
             "features, %d paths, widths up to %.6g", t->P, t->Pt, t->ntok, t->N0,
             ac_paths_count(&t->s), wmax);
    if (c->bytes > AC_PATHS_IO_BYTES_MAX)
        return ac_fail(msg, AC_ESIZE, "%s: %s: %s would hold about %.3g GB of memory (%s), over "
                       "the bound of %.3g GB (AC_PATHS_IO_BYTES_MAX in verify/paths_io.h)", name,
                       c->key, what, c->bytes / 1e9, sizes, AC_PATHS_IO_BYTES_MAX / 1e9);
    if (c->seconds > AC_PATHS_IO_SECONDS_MAX)
        return ac_fail(msg, AC_ESIZE, "%s: %s: %s would take about %.3g s: the path tensors %.3g s, then "
                       "%.3g %s at %.3g s each (%s), over the bound of %g s (AC_PATHS_IO_SECONDS_MAX in "
                       "verify/paths_io.h)", name, c->key, what, c->seconds, c->phi_seconds, c->evals,
                       strcmp(what, "paths solve") == 0 ? "evaluations of the action" : "sweeps (all chains)",
                       (c->seconds - c->phi_seconds) / c->evals, sizes, AC_PATHS_IO_SECONDS_MAX);
    return AC_OK;
}

/* ---- Solve ------------------------------------------------------------------ */

void ac_paths_task_result_init(ac_paths_task_result *r)
{
    memset(r, 0, sizeof *r);
    r->accuracy = r->mse = r->var_mean = r->gp_accuracy = NAN;
}

void ac_paths_task_result_clear(ac_paths_task_result *r)
{
    if (!r)
        return;
    free(r->U), free(r->scores), free(r->mean), free(r->var);
    ac_paths_task_result_init(r);
}

/* Fraction of sign(mean) == y; mean 0 counts as wrong (as the claims). */
static double sign_accuracy(int P, const double *mean, const double *y)
{
    int ok = 0;
    for (int m = 0; m < P; m++)
        ok += mean[m] * y[m] > 0.0;
    return P > 0 ? (double)ok / P : NAN;
}

/* The largest prior variance of the layers, sigma2[0..L], for the start's
 * messages. */
static double sigma2_max(const ac_paths_settings *s)
{
    double s2 = 0.0;
    for (int l = 0; l <= s->L; l++)
        s2 = fmax(s2, s->sigma2[l]);
    return s2;
}

/* The minimiser could not start: the action or its gradient at the GP
 * values of U is not finite although K + T I has a factor (labels or
 * kernel entries so large that y^T (K + T I)^{-1} y or the gradient
 * overflow).  Say so with the scales of the quantities that set it. */
static ac_status start_not_finite(const ac_paths_task *t, ac_paths_workspace *w, const double *U,
                                  ac_msg *msg)
{
    const ac_paths_settings *s = &t->s;
    double S = NAN, Ua, *G = malloc(sizeof(double) * ac_paths_u_size(s));
    ac_msg m = {{0}};
    int gfin = 0;
    if (G && ac_paths_action(w, U, &S, &Ua, G, &m) == AC_OK)
        gfin = first_nonfinite(G, ac_paths_u_size(s)) < 0;
    free(G);
    return ac_fail(msg, AC_EINVAL,
                   "train.y, train.x, sigma2, sigma2_a: the action at the GP start is %s (S = %.3g, its "
                   "gradient %s): the scales of the labels (largest |y| = %.3g), the inputs "
                   "(largest |x| = %.3g) and the prior variances (largest sigma2 %.3g, sigma2_a "
                   "%.3g) against T = %.3g overflow double precision: rescale them",
                   isfinite(S) ? "finite but its gradient is not" : "not finite", S,
                   gfin ? "finite" : "not finite", max_abs(t->Y, (size_t)t->P),
                   max_abs(t->X, (size_t)t->P * t->N0 * t->ntok), sigma2_max(s), s->sigma2_a, s->T);
}

/* The solve could not factor K + T I, or U, at the GP start (AC_ENUMERIC,
 * theory's sentence in why, its cause in w's ac_paths_last_numeric): name
 * the key by the cause.  The GP values sigma_a^2 prod_{k >= l} sigma_k^2
 * that under- or overflow are the prior variances' doing; a K + T I that is
 * not finite is the inputs' or the variances' scale; else T is small
 * against K's smallest eigenvalue.  (It said "T: ...: raise T or rescale
 * the inputs" of all three, and named T where sigma2 = 1e300 or 1e-300 was
 * the cause.) */
static ac_status start_not_factored(const ac_paths_task *t, const ac_paths_workspace *w, const double *Ugp,
                                    const char *why, ac_msg *msg)
{
    const ac_paths_settings *s = &t->s;
    double umin = INFINITY, umax = 0.0;
    for (int l = 1; l <= s->L; l++) {
        double u = Ugp[ac_paths_u_offset(s, l)]; /* U_l = u I */
        umin = fmin(umin, u), umax = fmax(umax, u);
    }
    if (!(umin >= DBL_MIN) || !(umax <= DBL_MAX))
        return ac_fail(msg, AC_ENUMERIC, "sigma2, sigma2_a: the GP order parameters sigma2_a prod sigma2 lie in "
                       "[%.3g, %.3g], outside the positive doubles (%s at the start of the solve): rescale the "
                       "prior variances", umin, umax, why);
    if (ac_paths_last_numeric(w) == AC_PATHS_NUMERIC_K_NOT_FINITE)
        return ac_fail(msg, AC_ENUMERIC, "sigma2, train.x: %s at the start of the solve: the kernel overflows "
                       "(largest sigma2 %.3g, sigma2_a %.3g, largest |x| %.3g): rescale the inputs or the prior "
                       "variances", why, sigma2_max(s), s->sigma2_a, max_abs(t->X, (size_t)t->P * t->N0 * t->ntok));
    return ac_fail(msg, AC_ENUMERIC, "T: %s at the start of the solve: T = %.3g is too small against K's smallest "
                   "eigenvalue: raise T", why, s->T);
}

ac_status ac_paths_task_solve(const ac_paths_task *t, const ac_min_settings *set,
                              ac_paths_task_result *r, ac_msg *msg)
{
    ac_paths_task_result_init(r);
    ac_status st = ac_paths_task_check(t, DEFAULT_NAME, msg);
    if (st != AC_OK)
        return st;
    ac_paths_task_cost cost;
    ac_min_settings def;
    ac_min_settings_default(&def);
    ac_paths_task_solve_cost(t, (set ? set : &def)->max_iter, &cost);
    if ((st = ac_paths_task_cost_check(t, &cost, "paths solve", NULL, msg)) != AC_OK)
        return st;
    double t0 = ac_clock();
    const ac_paths_settings *s = &t->s;
    int np = ac_paths_count(s), Pt = t->Pt;
    size_t m = (size_t)t->N0 * np;
    double *Phi = malloc(sizeof(double) * (size_t)t->P * m);
    double *Phit = malloc(sizeof(double) * ((size_t)Pt * m + 1));
    double *Ugp = malloc(sizeof(double) * ac_paths_u_size(s));
    r->U = malloc(sizeof(double) * ac_paths_u_size(s));
    r->scores = malloc(sizeof(double) * (size_t)t->nheads);
    r->mean = malloc(sizeof(double) * ((size_t)Pt + 1));
    r->var = malloc(sizeof(double) * ((size_t)Pt + 1));
    ac_paths_workspace *w = ac_paths_alloc(s, t->P, t->N0);
    if (!Phi || !Phit || !Ugp || !r->U || !r->scores || !r->mean || !r->var || !w) {
        st = ac_fail(msg, AC_ENOMEM, "paths solve: out of memory");
        goto out;
    }
    if ((st = ac_paths_task_phi(t, 0, Phi, msg)) != AC_OK ||
        (st = ac_paths_task_phi(t, 1, Phit, msg)) != AC_OK ||
        (st = ac_paths_set_data(w, Phi, t->Y, msg)) != AC_OK)
        goto out;
    ac_paths_gp_u(s, r->U);
    memcpy(Ugp, r->U, sizeof(double) * ac_paths_u_size(s));
    if ((st = ac_paths_solve(w, set, r->U, &r->info, msg)) != AC_OK) {
        if (st == AC_ECALLBACK)
            st = start_not_finite(t, w, Ugp, msg);
        else if (st == AC_ENUMERIC) {
            char why[AC_MSG_LEN];
            snprintf(why, sizeof why, "%s", msg->text);
            st = start_not_factored(t, w, Ugp, why, msg);
        }
        goto out;
    }
    ac_paths_head_scores(s, r->U, r->scores);
    if (Pt > 0) {
        if ((st = ac_paths_predict(w, r->U, Pt, Phit, r->mean, r->var, msg)) != AC_OK)
            goto out;
        double v = 0.0;
        for (int k = 0; k < Pt; k++)
            v += r->var[k];
        r->var_mean = v / Pt;
        if (t->Yt) {
            double e = 0.0;
            for (int k = 0; k < Pt; k++)
                e += (r->mean[k] - t->Yt[k]) * (r->mean[k] - t->Yt[k]);
            r->mse = e / Pt;
            r->accuracy = sign_accuracy(Pt, r->mean, t->Yt);
            /* the GP limit (§3.4) on the same test set: the predictor at
             * the GP values of U */
            double *gm = malloc(sizeof(double) * (size_t)Pt);
            if (!gm) {
                st = ac_fail(msg, AC_ENOMEM, "paths solve: out of memory");
                goto out;
            }
            st = ac_paths_predict(w, Ugp, Pt, Phit, gm, NULL, msg);
            if (st == AC_OK)
                r->gp_accuracy = sign_accuracy(Pt, gm, t->Yt);
            free(gm);
        }
    }
out:
    r->seconds = ac_clock() - t0;
    ac_paths_free(w);
    free(Phi), free(Phit), free(Ugp);
    return st;
}

/* ---- The Markov task (§4.1) -------------------------------------------------- */

ac_status ac_paths_task_markov(const ac_paths_task_gen *g, ac_paths_task *t, ac_msg *msg)
{
    ac_paths_task_init(t);
    int ntr = g->train ? g->train : AC_PATHS_MARKOV_P_TRAIN;
    int nte = g->test ? g->test : AC_PATHS_MARKOV_P_TEST;
    if (ntr < 2 || ntr % 2 || nte < 2 || nte % 2)
        return ac_fail(msg, AC_EINVAL, "markov task: --train %d and --test %d must be even and "
                       ">= 2 (half of each set per class)", ntr, nte);
    /* what the reader takes back (AC_PATHS_IO_MAX_VALUES; each set's inputs
     * within AC_PATHS_IO_MAX_PHI follows), checked before drawing gigabytes:
     * an example is ntok (N0 + 1) + 2 values and its label, the four
     * bilinear heads 4 N0 (N0 + 1), the settings a few dozen */
    double per = (double)AC_PATHS_MARKOV_NTOK * (AC_PATHS_MARKOV_N0 + 1) + 3,
           fixed = 4.0 * AC_PATHS_MARKOV_N0 * (AC_PATHS_MARKOV_N0 + 1) + 64,
           values = ((double)ntr + nte) * per + fixed;
    if (values > (double)AC_PATHS_IO_MAX_VALUES)
        return ac_fail(msg, AC_ESIZE, "markov task: --train %d and --test %d examples make a file of "
                       "%.0f JSON values, over %zu (AC_PATHS_IO_MAX_VALUES), more than paths solve "
                       "reads back (at most %d examples in all)", ntr, nte, values,
                       AC_PATHS_IO_MAX_VALUES, (int)(((double)AC_PATHS_IO_MAX_VALUES - fixed) / per));
    unsigned long off = g->seed - AC_PATHS_IO_MARKOV_SEED_DEFAULT; /* wraps below 27: fine */
    unsigned long seeds[4] = {g->seed, g->seed + (AC_PATHS_MARKOV_SEED_TEST - AC_PATHS_MARKOV_SEED_TRAIN),
                              AC_PATHS_MARKOV_SEED_RANDOM1 + off, AC_PATHS_MARKOV_SEED_RANDOM2 + off};
    for (int i = 0; i < 4; i++)
        if (g->seed < 1 || seeds[i] < 1 || seeds[i] > 0xffffffffUL)
            return ac_fail(msg, AC_EINVAL, "markov task: seed %lu makes a seed outside "
                           "1..2^32-1 (data %lu, test %lu, heads %lu, %lu)", g->seed, seeds[0],
                           seeds[1], seeds[2], seeds[3]);
    if (!(g->width > 0.0) || !isfinite(g->width))
        return ac_fail(msg, AC_EINVAL, "markov task: width %g must be finite and > 0", g->width);
    ac_paths_markov_head heads[AC_PATHS_MARKOV_MAX_HEADS];
    int nh = ac_paths_markov_network(AC_PATHS_NET_FOUR_PATHS, g->width, &t->s, heads);
    for (int k = 0; k < nh; k++)
        if (heads[k].kind == AC_PATHS_HEAD_RANDOM)
            heads[k].seed = heads[k].seed == AC_PATHS_MARKOV_SEED_RANDOM1 ? seeds[2] : seeds[3];
    ac_paths_markov_settings tr, te;
    ac_paths_markov_settings_default(&tr);
    tr.per_class = ntr / 2, tr.seed = seeds[0];
    te = tr;
    te.per_class = nte / 2, te.seed = seeds[1];
    ac_paths_markov_data dtr = {0}, dte = {0};
    ac_status st = ac_paths_markov_data_init(&dtr, &tr, msg);
    if (st == AC_OK)
        st = ac_paths_markov_data_init(&dte, &te, msg);
    if (st != AC_OK)
        goto fail;
    t->N0 = AC_PATHS_MARKOV_N0, t->ntok = AC_PATHS_MARKOV_NTOK;
    t->readout = AC_PATHS_READOUT_LAST;
    t->P = dtr.P, t->X = dtr.X, t->Y = dtr.Y;
    t->Pt = dte.P, t->Xt = dte.X, t->Yt = dte.Y;
    t->kind = AC_PATHS_ATTN_BILINEAR;
    t->nheads = nh;
    size_t nw = (size_t)t->N0 * t->N0;
    if (!(t->W = malloc(sizeof(double) * nh * nw))) {
        st = ac_fail(msg, AC_ENOMEM, "markov task: out of memory");
        goto fail_owned;
    }
    for (int k = 0; k < nh && st == AC_OK; k++)
        st = ac_paths_markov_head_w(&heads[k], t->W + k * nw, msg);
    if (st != AC_OK)
        goto fail_owned;
    char d[256];
    snprintf(d, sizeof d, "attncheck paths generate --task markov --seed %lu --width %.17g "
             "--train %d --test %d: the four-path Markov task of spec attention_paths 4.1 "
             "(data seeds %lu, %lu; random-head seeds %lu, %lu)", g->seed, g->width, ntr, nte,
             seeds[0], seeds[1], seeds[2], seeds[3]);
    if (!(t->description = strdup(d))) {
        st = ac_fail(msg, AC_ENOMEM, "markov task: out of memory");
        goto fail_owned;
    }
    return AC_OK;
fail_owned:
    ac_paths_task_clear(t); /* owns the data arrays now */
    return st;
fail:
    ac_paths_markov_data_clear(&dtr);
    ac_paths_markov_data_clear(&dte);
    ac_paths_task_clear(t);
    return st;
}
