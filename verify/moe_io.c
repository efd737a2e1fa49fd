/* The CBOW-MoE module's user files (verify/moe_io.h). */
#include "verify/moe_io.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "verify/json_array.h"

/* One array of the model file: its key, rank, shape (with names for the
 * messages), the option bit that makes it present (0: required) and
 * whether it belongs to the two-layer form. */
typedef struct {
    const char *key;
    int rank;
    int dims[3];
    const char *names[3];
    unsigned bit;
    int two_layer;
} arr_def;

enum { NARRS = 15 };

/* The arrays of a model of sizes s, in the order of ac_moe_model's fields;
 * where[k] receives the address of the model's pointer for arrays[k]. */
static void model_arrays(const ac_moe_sizes *s, arr_def *a)
{
    const int V = s->V, L = s->L, d = s->d, dk = s->dk, dv = s->dv, H = s->H, dout = s->dout;
    const arr_def defs[NARRS] = {
        {"E", 2, {V + 1, d}, {"V + 1", "d"}, 0, 0},
        {"P", 2, {L, d}, {"L", "d"}, AC_MOE_WITH_P, 0},
        {"Wq", 3, {H, dk, d}, {"H", "dk", "d"}, 0, 0},
        {"Wk", 3, {H, dk, d}, {"H", "dk", "d"}, 0, 0},
        {"Wv", 3, {H, dv, d}, {"H", "dv", "d"}, 0, 0},
        {"bq", 2, {H, dk}, {"H", "dk"}, AC_MOE_WITH_BQ, 0},
        {"bk", 2, {H, dk}, {"H", "dk"}, AC_MOE_WITH_BK, 0},
        {"bv", 2, {H, dv}, {"H", "dv"}, AC_MOE_WITH_BV, 0},
        {"Wo", 2, {dout, H * dv}, {"dout", "H dv"}, AC_MOE_WITH_WO, 0},
        {"bo", 1, {dout}, {"dout"}, AC_MOE_WITH_BO, 0},
        {"U", 2, {V, dout}, {"V", "dout"}, 0, 0},
        {"c", 1, {V}, {"V"}, AC_MOE_WITH_C, 0},
        {"Wq2", 2, {dk, dv}, {"dk", "dv"}, 0, 1},
        {"Wk2", 2, {dk, dv}, {"dk", "dv"}, 0, 1},
        {"Wv2", 2, {dv, dv}, {"dv", "dv"}, 0, 1},
    };
    memcpy(a, defs, sizeof defs);
}

/* The model's owned pointer for array k (the order of model_arrays). */
static double *model_array(const ac_moe_model *mm, int k)
{
    double *const p[NARRS] = {mm->E,  mm->P,  mm->Wq, mm->Wk, mm->Wv, mm->bq, mm->bk, mm->bv,
                              mm->Wo, mm->bo, mm->U,  mm->c,  mm->Wq2, mm->Wk2, mm->Wv2};
    return p[k];
}

static const char *const size_keys[] = {"V", "L", "d", "dk", "dv", "H", "dout", "layers", "self",
                                        "residual"};
enum { NSIZES = (int)(sizeof size_keys / sizeof size_keys[0]) };

static int in_list(const char *key, const char *const *list, int n)
{
    for (int k = 0; k < n; k++)
        if (strcmp(key, list[k]) == 0)
            return 1;
    return 0;
}

/* The numbers (non-array leaves) of a nested JSON array: what the file
 * holds, whatever the sizes say. */
static size_t count_leaves(const json_t *v)
{
    if (!json_is_array(v))
        return 1;
    size_t n = 0;
    for (size_t k = 0; k < json_array_size(v); k++)
        n += count_leaves(json_array_get(v, k));
    return n;
}

/* Before the model is allocated from the sizes: every required array must be
 * present and every present array must hold at least the numbers its shape
 * needs, so that a tiny file declaring H = dk = d = 4096 is refused at the
 * array that is missing or short (with
 * ac_json_get_doubles's key-path message, read into a buffer the size of
 * what the file holds: it stops at the first wrong length, having written
 * no more entries than it visited) instead of asking for 550 GB. */
static ac_status shapes_fit_file(const json_t *root, const arr_def *defs, const char *path, ac_msg *msg)
{
    for (int k = 0; k < NARRS; k++) {
        const json_t *a = json_object_get(root, defs[k].key);
        if (!a || json_is_null(a)) {
            /* Optional arrays (a bit) may be absent; the two-layer ones were
             * matched with sizes.layers by the caller. */
            if (defs[k].bit || defs[k].two_layer)
                continue;
            return ac_fail(msg, AC_EPARSE, "%s: missing key '%s'", path, defs[k].key);
        }
        size_t need = 1;
        for (int r = 0; r < defs[k].rank; r++)
            need *= (size_t)defs[k].dims[r];
        const size_t have = count_leaves(a);
        if (have >= need)
            continue;
        double *scratch = malloc(sizeof(double) * (have + 1));
        if (!scratch)
            return ac_fail(msg, AC_ENOMEM, "%s: out of memory", path);
        ac_status st = ac_json_get_doubles(root, defs[k].key, defs[k].rank, defs[k].dims, defs[k].names,
                                           scratch, NULL, path, msg);
        free(scratch);
        if (st == AC_OK) /* cannot happen: fewer numbers than the shape */
            st = ac_fail(msg, AC_EPARSE, "%s: %s: %zu numbers, the shape needs %zu", path, defs[k].key, have,
                         need);
        return st;
    }
    return AC_OK;
}

static ac_status read_sizes(const json_t *root, const char *path, ac_moe_sizes *s, ac_msg *msg)
{
    const json_t *js = json_object_get(root, "sizes");
    if (!js)
        return ac_fail(msg, AC_EPARSE, "%s: missing key 'sizes'", path);
    if (!json_is_object(js))
        return ac_fail(msg, AC_EPARSE, "%s: sizes: not an object", path);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)js, key, v) {
        if (!in_list(key, size_keys, NSIZES))
            return ac_fail(msg, AC_EPARSE, "%s: sizes: %s: unknown size (the sizes are V, L, d, dk, "
                           "dv, H, dout, layers, self, residual)", path, key);
    }
    /* Messages name the key as "FILE: sizes: KEY ...". */
    char where[1024];
    snprintf(where, sizeof where, "%s: sizes", path);
    long val[NSIZES];
    int present[NSIZES];
    for (int k = 0; k < NSIZES; k++) {
        const int optional = strcmp(size_keys[k], "dout") == 0;
        /* Bounds: a dimension 1..AC_MOE_MAX_DIM, flags 0..1, layers 1..2;
         * ac_moe_sizes_check then says what does not fit together. */
        long lo = 1, hi = AC_MOE_MAX_DIM;
        if (strcmp(size_keys[k], "self") == 0 || strcmp(size_keys[k], "residual") == 0)
            lo = 0, hi = 1;
        else if (strcmp(size_keys[k], "layers") == 0)
            hi = 2;
        ac_status st = ac_json_get_int(js, size_keys[k], lo, hi, &val[k],
                                       optional ? &present[k] : NULL, where, msg);
        if (st != AC_OK)
            return st;
        if (!optional)
            present[k] = 1;
    }
    s->V = (int)val[0];
    s->L = (int)val[1];
    s->d = (int)val[2];
    s->dk = (int)val[3];
    s->dv = (int)val[4];
    s->H = (int)val[5];
    s->layers = (int)val[7];
    s->self = (int)val[8];
    s->residual = (int)val[9];
    s->dout = present[6] ? (int)val[6] : s->H * s->dv;
    const char *why = ac_moe_sizes_check(s);
    if (why)
        return ac_fail(msg, AC_EPARSE, "%s: sizes: %s", path, why);
    return AC_OK;
}

ac_status ac_moe_model_read(const char *path, ac_moe_model **out, ac_msg *msg)
{
    if (!out)
        return ac_fail(msg, AC_EINVAL, "ac_moe_model_read: out is NULL");
    *out = NULL;
    if (!path)
        return ac_fail(msg, AC_EINVAL, "ac_moe_model_read: the path is NULL");
    /* jansson says only "read error" of a directory. */
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return ac_fail(msg, AC_EIO, "%s: is a directory, not a model file", path);
    json_t *root;
    ac_status st = ac_json_load(path, &root, msg);
    if (st != AC_OK)
        return st;
    ac_moe_model *mm = NULL;
    ac_moe_sizes s;
    arr_def defs[NARRS];
    const json_t *fmt = json_object_get(root, "format");
    if (fmt && !(json_is_string(fmt) && strcmp(json_string_value(fmt), AC_MOE_MODEL_FORMAT) == 0)) {
        st = ac_fail(msg, AC_EPARSE, "%s: format: expected \"%s\"", path, AC_MOE_MODEL_FORMAT);
        goto done;
    }
    if ((st = read_sizes(root, path, &s, msg)) != AC_OK)
        goto done;
    model_arrays(&s, defs);
    /* Every key must be known: a misspelt optional array would be zero. */
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        int known = strcmp(key, "format") == 0 || strcmp(key, "sizes") == 0;
        for (int k = 0; k < NARRS && !known; k++)
            known = strcmp(key, defs[k].key) == 0;
        if (!known) {
            st = ac_fail(msg, AC_EPARSE, "%s: unknown key '%s' (docs/moe.md lists the keys)", path,
                         key);
            goto done;
        }
    }
    unsigned with = 0;
    for (int k = 0; k < NARRS; k++) {
        const json_t *a = json_object_get(root, defs[k].key);
        const int here = a && !json_is_null(a);
        if (defs[k].two_layer && here != (s.layers == 2)) {
            st = ac_fail(msg, AC_EPARSE, "%s: %s: %s", path, defs[k].key,
                         here ? "given, but the model has one layer (sizes.layers = 1)"
                              : "missing (sizes.layers = 2 needs Wq2, Wk2, Wv2)");
            goto done;
        }
        if (defs[k].bit && here)
            with |= defs[k].bit;
    }
    if ((with & AC_MOE_WITH_BO) && !(with & AC_MOE_WITH_WO)) {
        st = ac_fail(msg, AC_EPARSE, "%s: bo: given without Wo", path);
        goto done;
    }
    if (!(with & AC_MOE_WITH_WO) && s.dout != s.H * s.dv) {
        st = ac_fail(msg, AC_EPARSE, "%s: sizes.dout = %d needs an output projection Wo "
                     "(without one dout is H dv = %d)", path, s.dout, s.H * s.dv);
        goto done;
    }
    if (s.layers == 2 && (with & ~(unsigned)(AC_MOE_WITH_P | AC_MOE_WITH_C))) {
        st = ac_fail(msg, AC_EPARSE, "%s: the two-layer form covers no biases and no Wo "
                     "(spec cbow_moe §2.4): remove them or use one layer", path);
        goto done;
    }
    if ((st = shapes_fit_file(root, defs, path, msg)) != AC_OK)
        goto done;
    mm = ac_moe_model_alloc(&s, with);
    if (!mm) {
        st = ac_fail(msg, AC_ENOMEM, "%s: out of memory for the model", path);
        goto done;
    }
    for (int k = 0; k < NARRS; k++) {
        double *dst = model_array(mm, k);
        if (!dst)
            continue;
        st = ac_json_get_doubles(root, defs[k].key, defs[k].rank, defs[k].dims, defs[k].names, dst,
                                 NULL, path, msg);
        if (st != AC_OK)
            goto done;
    }
    const char *why = ac_moe_attention_check(&mm->m);
    if (why) {
        st = ac_fail(msg, AC_EPARSE, "%s: %s", path, why);
        goto done;
    }
    *out = mm;
    mm = NULL;
done:
    ac_moe_model_free(mm);
    json_decref(root);
    return st;
}

static json_t *sizes_json(const ac_moe_sizes *s)
{
    return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "V", s->V, "L", s->L, "d",
                     s->d, "dk", s->dk, "dv", s->dv, "H", s->H, "dout", s->dout, "layers", s->layers,
                     "self", s->self, "residual", s->residual);
}

ac_status ac_moe_model_write(FILE *f, void *ctx, ac_msg *msg)
{
    if (!f || !ctx)
        return ac_fail(msg, AC_EINVAL, "ac_moe_model_write: the stream or the model is NULL");
    const ac_moe_model *mm = ctx;
    arr_def defs[NARRS];
    model_arrays(&mm->m.s, defs);
    json_t *root = json_object();
    ac_status st = root ? AC_OK : AC_ENOMEM;
    if (st == AC_OK)
        st = ac_json_set_new(root, "format", json_string(AC_MOE_MODEL_FORMAT));
    if (st == AC_OK)
        st = ac_json_set_new(root, "sizes", sizes_json(&mm->m.s));
    for (int k = 0; k < NARRS && st == AC_OK; k++) {
        const double *a = model_array(mm, k);
        if (a)
            st = ac_json_set_new(root, defs[k].key, ac_json_doubles(defs[k].rank, defs[k].dims, a));
    }
    if (st == AC_OK)
        st = ac_json_dump(f, root, msg);
    else
        ac_fail(msg, st, "out of memory building the model document");
    json_decref(root);
    return st;
}

ac_status ac_moe_form_write(FILE *f, void *ctx, ac_msg *msg)
{
    if (!f || !ctx)
        return ac_fail(msg, AC_EINVAL, "ac_moe_form_write: the stream or the form is NULL");
    const ac_moe_form *fm = ctx;
    const ac_moe_sizes *s = &fm->s;
    const int V = s->V, L = s->L, d = s->d, dv = s->dv, H = s->H;
    struct {
        const char *key;
        int rank, dims[3];
        const double *a;
    } arrs[] = {
        {"w", 2, {V + 1, d}, fm->w},
        {"p", 2, {L, d}, fm->p},
        {"gamma", 3, {H, L, d}, fm->gamma},
        {"a", 3, {H, V + 1, dv}, fm->a},
        {"b", 3, {H, L, dv}, fm->b},
        {"rho", 3, {H, V, dv}, fm->rho},
        {"c", 1, {V}, fm->c},
        {"slot_bias", 2, {L, V}, fm->slot_bias},
        {"G1", 2, {d, d}, fm->G1},
        {"G2", 2, {dv, dv}, fm->G2},
    };
    /* JSON has no inf or NaN: a form entry that overflowed (a + b, rho of
     * entries near DBL_MAX) is named here, where json_real's NULL had read
     * as "out of memory" */
    for (size_t k = 0; k < sizeof arrs / sizeof arrs[0]; k++) {
        size_t n = arrs[k].a ? 1 : 0;
        for (int r = 0; r < arrs[k].rank; r++)
            n *= (size_t)arrs[k].dims[r];
        for (size_t i = 0; i < n; i++)
            if (!isfinite(arrs[k].a[i]))
                return ac_fail(msg, AC_ENUMERIC,
                               "the form's %s has %g at flat index %zu: the model's entries overflow double "
                               "in the reparameterisation; scale them down",
                               arrs[k].key, arrs[k].a[i], i);
    }
    json_t *root = json_object();
    ac_status st = root ? AC_OK : AC_ENOMEM;
    if (st == AC_OK)
        st = ac_json_set_new(root, "format", json_string(AC_MOE_FORM_FORMAT));
    if (st == AC_OK)
        st = ac_json_set_new(root, "sizes", sizes_json(s));
    for (size_t k = 0; k < sizeof arrs / sizeof arrs[0] && st == AC_OK; k++)
        if (arrs[k].a)
            st = ac_json_set_new(root, arrs[k].key, ac_json_doubles(arrs[k].rank, arrs[k].dims, arrs[k].a));
    if (st == AC_OK)
        st = ac_json_dump(f, root, msg);
    else
        ac_fail(msg, st, "out of memory building the form document");
    json_decref(root);
    return st;
}
