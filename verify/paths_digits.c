/* The one-shot digits task of spec attention_paths §4.2b.  See
 * verify/paths_digits.h. */
#include "verify/paths_digits.h"

#include <errno.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---- reading the file ---------------------------------------------------- */

/* Longest line: 65 numbers of at most 2 digits and commas is under 200
 * bytes; a longer line is malformed. */
#define LINE_MAX_BYTES 1024

void ac_paths_digits_images_clear(ac_paths_digits_images *im)
{
    if (!im)
        return;
    free(im->pix);
    free(im->label);
    memset(im, 0, sizeof *im);
}

/* One line "v_0,...,v_63,label" into pix (64) and *label; NULL when fine,
 * else what is wrong. */
static const char *parse_line(char *line, double *pix, int *label, char *why, size_t cap)
{
    char *p = line;
    for (int j = 0; j <= AC_PATHS_DIGITS_PIXELS; j++) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno) {
            snprintf(why, cap, "value %d is not a number", j + 1);
            return why;
        }
        if (j < AC_PATHS_DIGITS_PIXELS) {
            if (!(v >= 0.0 && v <= AC_PATHS_DIGITS_MAXVAL)) {
                snprintf(why, cap, "pixel %d is %g, outside 0..%d", j + 1, v, AC_PATHS_DIGITS_MAXVAL);
                return why;
            }
            pix[j] = v;
        } else {
            if (!(v >= 0 && v < AC_PATHS_DIGITS_CLASSES) || v != floor(v)) {
                snprintf(why, cap, "label %g is not a class 0..9", v);
                return why;
            }
            *label = (int)v;
        }
        p = end;
        while (*p == ' ' || *p == '\t')
            p++;
        if (j < AC_PATHS_DIGITS_PIXELS) {
            if (*p != ',') {
                snprintf(why, cap, "%d values where 65 (64 pixels and a label) are needed", j + 1);
                return why;
            }
            p++;
        }
    }
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    if (*p) {
        snprintf(why, cap, "more than 65 values (64 pixels and a label)");
        return why;
    }
    return NULL;
}

ac_status ac_paths_digits_read(const char *path, ac_paths_digits_images *im, ac_msg *msg)
{
    memset(im, 0, sizeof *im);
    if (!path)
        path = AC_PATHS_DIGITS_PATH;
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f)
        return ac_fail(msg, AC_EIO,
                       "%s: cannot open (%s); the digits come from the Debian package %s: "
                       "install it (make deps)",
                       path, errno ? strerror(errno) : "out of memory", AC_PATHS_DIGITS_PACKAGE);
    char line[LINE_MAX_BYTES], why[128];
    int cap = 0, lineno = 0;
    ac_status st = AC_OK;
    while (gzgets(f, line, sizeof line)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            st = ac_fail(msg, AC_EPARSE, "%s:%d: line longer than %d bytes", path, lineno,
                         LINE_MAX_BYTES - 1);
            break;
        }
        if (strspn(line, " \t\r\n") == len)
            continue; /* blank line */
        if (im->n == cap) {
            int nc = cap ? 2 * cap : 2048;
            double *np = realloc(im->pix, sizeof(double) * AC_PATHS_DIGITS_PIXELS * nc);
            if (np)
                im->pix = np;
            int *nl = realloc(im->label, sizeof(int) * nc);
            if (nl)
                im->label = nl;
            if (!np || !nl) {
                st = ac_fail(msg, AC_ENOMEM, "%s: out of memory", path);
                break;
            }
            cap = nc;
        }
        const char *bad = parse_line(line, im->pix + (size_t)im->n * AC_PATHS_DIGITS_PIXELS,
                                     &im->label[im->n], why, sizeof why);
        if (bad) {
            st = ac_fail(msg, AC_EPARSE, "%s:%d: %s", path, lineno, bad);
            break;
        }
        im->n++;
    }
    int gerr = 0;
    const char *gmsg = gzerror(f, &gerr);
    if (st == AC_OK && gerr != Z_OK && gerr != Z_STREAM_END)
        st = ac_fail(msg, AC_EPARSE, "%s:%d: not a readable gzip file (%s)", path, lineno + 1, gmsg);
    gzclose(f);
    if (st == AC_OK && im->n == 0)
        st = ac_fail(msg, AC_EPARSE, "%s: no images in the file", path);
    if (st != AC_OK)
        ac_paths_digits_images_clear(im);
    return st;
}

/* ---- settings ---------------------------------------------------------------- */

void ac_paths_digits_settings_default(ac_paths_digits_settings *s)
{
    s->train_images = AC_PATHS_DIGITS_TRAIN_IMAGES;
    s->n_train = AC_PATHS_DIGITS_N_TRAIN;
    s->n_test = AC_PATHS_DIGITS_N_TEST;
    s->p_theory = AC_PATHS_DIGITS_P_THEORY;
    s->L = 2;
    s->H = 4;
    s->width = AC_PATHS_DIGITS_WIDTH;
    s->G = AC_PATHS_DIGITS_G;
    ac_paths_net_train_settings_default(&s->train);
    s->train.steps = (long)AC_PATHS_DIGITS_EPOCHS * AC_PATHS_DIGITS_N_TRAIN / s->train.batch;
}

const char *ac_paths_digits_settings_check(const ac_paths_digits_settings *s, int n)
{
    if (s->n_train < 1 || s->n_test < 1)
        return "digits: n_train and n_test must be at least 1";
    if (s->p_theory < 1 || s->p_theory > s->n_train)
        return "digits: p_theory must be in 1..n_train";
    if (s->train_images < 1 || s->train_images >= n)
        return "digits: train_images must leave images for both the training and the test pools";
    if (s->L < 1 || s->L > AC_PATHS_MAX_LAYERS || s->H < 1)
        return "digits: L must be in 1..8 and H at least 1";
    if (s->width < 1 || s->G < 1)
        return "digits: width and G must be at least 1";
    const char *why = ac_paths_net_train_settings_check(&s->train);
    return why;
}

/* ---- sequences --------------------------------------------------------------- */

/* The 4 standardised patches of image pix (64 values / 16), as 4 x 16 rows. */
static void image_patches(const double *pix, double *patch)
{
    for (int pr = 0; pr < 2; pr++)
        for (int pc = 0; pc < 2; pc++) {
            double *q = patch + (size_t)(pr * 2 + pc) * AC_PATHS_DIGITS_N0;
            double mean = 0.0, var = 0.0;
            for (int i = 0; i < AC_PATHS_DIGITS_PATCH; i++)
                for (int j = 0; j < AC_PATHS_DIGITS_PATCH; j++) {
                    int row = pr * AC_PATHS_DIGITS_PATCH + i, col = pc * AC_PATHS_DIGITS_PATCH + j;
                    q[i * AC_PATHS_DIGITS_PATCH + j] =
                        pix[row * AC_PATHS_DIGITS_SIDE + col] / AC_PATHS_DIGITS_MAXVAL;
                    mean += q[i * AC_PATHS_DIGITS_PATCH + j];
                }
            mean /= AC_PATHS_DIGITS_N0;
            for (int k = 0; k < AC_PATHS_DIGITS_N0; k++)
                var += (q[k] - mean) * (q[k] - mean);
            double sd = sqrt(var / AC_PATHS_DIGITS_N0); /* ddof 0, as numpy's std */
            for (int k = 0; k < AC_PATHS_DIGITS_N0; k++)
                q[k] = sd > 0.0 ? (q[k] - mean) / sd / AC_PATHS_DIGITS_PATCH_SCALE : 0.0;
        }
}

/* Unit-norm sinusoidal position of token j into p (N0). */
static void position(int j, double *p)
{
    double nrm = 0.0;
    for (int i = 0; i < AC_PATHS_DIGITS_N0 / 2; i++) {
        double a = j / pow(AC_PATHS_DIGITS_POS_BASE, 2.0 * i / AC_PATHS_DIGITS_N0);
        p[2 * i] = sin(a);
        p[2 * i + 1] = cos(a);
        nrm += 1.0; /* sin^2 + cos^2 */
    }
    for (int i = 0; i < AC_PATHS_DIGITS_N0; i++)
        p[i] /= sqrt(nrm);
}

/* Images of each class in a pool (indices into the image array). */
typedef struct {
    int *idx[AC_PATHS_DIGITS_CLASSES];
    int n[AC_PATHS_DIGITS_CLASSES];
} pool;

static ac_status pool_init(pool *p, const ac_paths_digits_images *im, const int *order, int from,
                           int to)
{
    memset(p, 0, sizeof *p);
    for (int c = 0; c < AC_PATHS_DIGITS_CLASSES; c++)
        if (!(p->idx[c] = malloc(sizeof(int) * (size_t)(to - from))))
            return AC_ENOMEM;
    for (int k = from; k < to; k++) {
        int c = im->label[order[k]];
        p->idx[c][p->n[c]++] = order[k];
    }
    return AC_OK;
}

static void pool_clear(pool *p)
{
    for (int c = 0; c < AC_PATHS_DIGITS_CLASSES; c++)
        free(p->idx[c]);
}

/* Draw n sequences from the pool into X (n x N0 x ntok), Y, img (3 n). */
static void draw_sequences(const pool *p, const ac_paths_digits_images *im, const double *E,
                           const double *pos, int ncls, const int *classes, gsl_rng *r, int n,
                           double *X, double *Y, int *img3)
{
    double patch[AC_PATHS_DIGITS_PATCHES * AC_PATHS_DIGITS_N0];
    const int N0 = AC_PATHS_DIGITS_N0, nt = AC_PATHS_DIGITS_NTOK;
    for (int s = 0; s < n; s++) {
        int pair[2];
        gsl_ran_choose(r, pair, 2, (void *)classes, (size_t)ncls, sizeof(int));
        if (gsl_rng_uniform(r) < 0.5) { /* gsl_ran_choose keeps the input order */
            int t = pair[0];
            pair[0] = pair[1];
            pair[1] = t;
        }
        int a = (int)gsl_rng_uniform_int(r, (unsigned long)p->n[pair[0]]);
        int b = (int)gsl_rng_uniform_int(r, (unsigned long)p->n[pair[1]]);
        int qa = gsl_rng_uniform(r) < 0.5 ? 0 : 1; /* query class: pair[qa] */
        int qc = pair[qa], sup = qa == 0 ? a : b;
        /* another image of the query's class: skip the support's index */
        int q = (int)gsl_rng_uniform_int(r, (unsigned long)p->n[qc] - 1);
        if (q >= sup)
            q++;
        int img[3] = {p->idx[pair[0]][a], p->idx[pair[1]][b], p->idx[qc][q]};
        double *x = X + (size_t)s * N0 * nt;
        for (int role = 0; role < 3; role++) {
            image_patches(im->pix + (size_t)img[role] * AC_PATHS_DIGITS_PIXELS, patch);
            for (int k = 0; k < AC_PATHS_DIGITS_PATCHES; k++) {
                int j = role * AC_PATHS_DIGITS_PATCHES + k;
                for (int i = 0; i < N0; i++)
                    x[(size_t)i * nt + j] = patch[k * N0 + i] + E[role * N0 + i] + pos[j * N0 + i];
            }
        }
        Y[s] = qa == 0 ? 1.0 : -1.0;
        for (int k = 0; k < 3; k++)
            img3[3 * s + k] = img[k];
    }
}

void ac_paths_digits_task_clear(ac_paths_digits_task *t)
{
    if (!t)
        return;
    free(t->X);
    free(t->Y);
    free(t->Xt);
    free(t->Yt);
    free(t->img);
    free(t->theta);
    free(t->Omega);
    free(t->Omega_t);
    free(t->r);
    free(t->Phi);
    free(t->Phi_t);
    memset(t, 0, sizeof *t);
}

ac_status ac_paths_digits_data_init(ac_paths_digits_task *t, const ac_paths_digits_images *im,
                                    const ac_paths_digits_settings *s, gsl_rng *r, ac_msg *msg)
{
    memset(t, 0, sizeof *t);
    const char *why = ac_paths_digits_settings_check(s, im->n);
    if (why)
        return ac_fail(msg, AC_EINVAL, "%s", why);
    const int N0 = AC_PATHS_DIGITS_N0, nt = AC_PATHS_DIGITS_NTOK;
    t->sh = (ac_paths_net_shape){.L = s->L, .n = s->width, .N0 = N0, .ntok = nt, .G = s->G,
                                 .readout = AC_PATHS_NET_MEAN};
    for (int l = 0; l < s->L; l++)
        t->sh.H[l] = s->H;
    if ((why = ac_paths_net_shape_check(&t->sh)))
        return ac_fail(msg, AC_EINVAL, "digits: %s", why);
    t->P = s->n_train;
    t->Pt = s->n_test;
    int *order = malloc(sizeof(int) * (size_t)im->n);
    t->X = malloc(sizeof(double) * (size_t)t->P * N0 * nt);
    t->Y = malloc(sizeof(double) * (size_t)t->P);
    t->Xt = malloc(sizeof(double) * (size_t)t->Pt * N0 * nt);
    t->Yt = malloc(sizeof(double) * (size_t)t->Pt);
    t->img = malloc(sizeof(int) * 3 * (size_t)(t->P + t->Pt));
    pool ptr, pte;
    memset(&ptr, 0, sizeof ptr);
    memset(&pte, 0, sizeof pte);
    ac_status st = AC_OK;
    if (!order || !t->X || !t->Y || !t->Xt || !t->Yt || !t->img) {
        free(order);
        ac_paths_digits_task_clear(t);
        return ac_fail(msg, AC_ENOMEM, "digits: out of memory");
    }
    for (int k = 0; k < im->n; k++)
        order[k] = k;
    gsl_ran_shuffle(r, order, (size_t)im->n, sizeof(int));
    double E[3 * AC_PATHS_DIGITS_N0], pos[AC_PATHS_DIGITS_NTOK * AC_PATHS_DIGITS_N0];
    for (int e = 0; e < 3; e++) { /* A, B, unknown: N(0, I) normalised */
        double nrm = 0.0;
        for (int i = 0; i < N0; i++) {
            E[e * N0 + i] = gsl_ran_gaussian(r, 1.0);
            nrm += E[e * N0 + i] * E[e * N0 + i];
        }
        for (int i = 0; i < N0; i++)
            E[e * N0 + i] /= sqrt(nrm);
    }
    for (int j = 0; j < nt; j++)
        position(j, pos + j * N0);
    if (pool_init(&ptr, im, order, 0, s->train_images) != AC_OK ||
        pool_init(&pte, im, order, s->train_images, im->n) != AC_OK) {
        st = ac_fail(msg, AC_ENOMEM, "digits: out of memory");
    } else {
        /* classes with at least 2 images in both pools take part */
        int classes[AC_PATHS_DIGITS_CLASSES], ncls = 0;
        for (int c = 0; c < AC_PATHS_DIGITS_CLASSES; c++)
            if (ptr.n[c] >= 2 && pte.n[c] >= 2)
                classes[ncls++] = c;
            else if (ptr.n[c] + pte.n[c] > 0)
                st = ac_fail(msg, AC_EINVAL,
                             "digits: class %d has %d training and %d test images; a one-shot "
                             "sequence needs at least 2 in each pool",
                             c, ptr.n[c], pte.n[c]);
        if (st == AC_OK && ncls < 2)
            st = ac_fail(msg, AC_EINVAL, "digits: fewer than 2 classes in the images");
        if (st == AC_OK) {
            draw_sequences(&ptr, im, E, pos, ncls, classes, r, t->P, t->X, t->Y, t->img);
            draw_sequences(&pte, im, E, pos, ncls, classes, r, t->Pt, t->Xt, t->Yt,
                           t->img + 3 * (size_t)t->P);
        }
    }
    pool_clear(&ptr);
    pool_clear(&pte);
    free(order);
    if (st != AC_OK)
        ac_paths_digits_task_clear(t);
    return st;
}

ac_status ac_paths_digits_model_init(ac_paths_digits_task *t, const ac_paths_digits_settings *s,
                                     gsl_rng *r, ac_msg *msg)
{
    const ac_paths_net_shape *sh = &t->sh;
    size_t nth = ac_paths_net_size(sh);
    int nh = ac_paths_net_heads(sh), np = ac_paths_net_paths(sh);
    size_t no = (size_t)nh * sh->ntok * sh->ntok;
    t->Pth = s->p_theory;
    double *th0 = malloc(sizeof(double) * nth);
    t->theta = malloc(sizeof(double) * nth);
    t->Omega = malloc(sizeof(double) * t->Pth * no);
    t->Omega_t = malloc(sizeof(double) * t->Pt * no);
    t->r = malloc(sizeof(double) * sh->ntok);
    t->Phi = malloc(sizeof(double) * (size_t)t->Pth * sh->N0 * np);
    t->Phi_t = malloc(sizeof(double) * (size_t)t->Pt * sh->N0 * np);
    if (!th0 || !t->theta || !t->Omega || !t->Omega_t || !t->r || !t->Phi || !t->Phi_t) {
        free(th0);
        return ac_fail(msg, AC_ENOMEM, "digits: out of memory");
    }
    ac_paths_net_init(sh, r, th0);
    ac_status st = ac_paths_net_train(sh, t->P, t->X, t->Y, &s->train, th0, r, t->theta, &t->train,
                                      msg);
    free(th0);
    if (st != AC_OK)
        return st;
    if (t->train.outcome == AC_TRAIN_DIVERGED)
        return ac_fail(msg, AC_ENUMERIC, "digits: the GD model diverged at step %ld (batch loss %g)",
                       t->train.steps, t->train.loss);
    if ((st = ac_paths_net_accuracy(sh, t->theta, NULL, t->Pt, t->Xt, t->Yt, &t->gd_acc, msg)) !=
        AC_OK)
        return st;
    ac_paths_net_readout(sh, t->r);
    if (ac_paths_net_omega(sh, t->theta, t->Pth, t->X, t->Omega) != AC_OK ||
        ac_paths_net_omega(sh, t->theta, t->Pt, t->Xt, t->Omega_t) != AC_OK)
        return ac_fail(msg, AC_ENOMEM, "digits: out of memory");
    ac_paths_settings ts;
    ac_paths_net_theory_settings(sh, 1.0, 1.0, &ts); /* Phi depends on sigma_0 and H^L only */
    if ((st = ac_paths_phi(&ts, t->Pth, sh->N0, sh->ntok, t->X, t->Omega, t->r, t->Phi, msg)) !=
        AC_OK)
        return st;
    return ac_paths_phi(&ts, t->Pt, sh->N0, sh->ntok, t->Xt, t->Omega_t, t->r, t->Phi_t, msg);
}

ac_status ac_paths_digits_task_init(ac_paths_digits_task *t, const char *path,
                                    const ac_paths_digits_settings *s, unsigned long seed,
                                    ac_msg *msg)
{
    memset(t, 0, sizeof *t);
    ac_paths_digits_images im;
    ac_status st = ac_paths_digits_read(path, &im, msg);
    if (st != AC_OK)
        return st;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r) {
        ac_paths_digits_images_clear(&im);
        return ac_fail(msg, AC_ENOMEM, "digits: out of memory");
    }
    gsl_rng_set(r, seed);
    st = ac_paths_digits_data_init(t, &im, s, r, msg);
    if (st == AC_OK && (st = ac_paths_digits_model_init(t, s, r, msg)) != AC_OK)
        ac_paths_digits_task_clear(t);
    gsl_rng_free(r);
    ac_paths_digits_images_clear(&im);
    return st;
}
