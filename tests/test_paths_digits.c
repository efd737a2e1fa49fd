/* The one-shot digits task (verify/paths_digits.h): the file read two ways,
 * clear errors for a missing or malformed file, the sequences rebuilt from
 * the raw pixels, the frozen model's theory inputs. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "testutil.h"
#include "theory/paths.h"
#include "verify/paths_digits.h"

/* Sum of every value of the file and its line count, read through the gzip
 * program (a second reader). */
static int read_by_gzip(double *sum)
{
    FILE *p = popen("gzip -dc " AC_PATHS_DIGITS_PATH, "r");
    cr_assert_not_null(p);
    int lines = 0, c;
    double v;
    *sum = 0.0;
    while (fscanf(p, "%lf", &v) == 1) {
        *sum += v;
        c = fgetc(p);
        if (c == '\n')
            lines++;
    }
    pclose(p);
    return lines;
}

Test(paths_digits, the_file_reads_as_the_gzip_program_reads_it)
{
    if (access(AC_PATHS_DIGITS_PATH, R_OK) != 0)
        cr_skip_test("%s missing: install %s (make deps)", AC_PATHS_DIGITS_PATH, AC_PATHS_DIGITS_PACKAGE);
    ac_paths_digits_images im;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_paths_digits_read(NULL, &im, &msg), AC_OK, "%s", msg.text);
    double sum_gz, sum = 0.0;
    int lines = read_by_gzip(&sum_gz);
    cr_assert_eq(im.n, lines);
    int count[AC_PATHS_DIGITS_CLASSES] = {0};
    for (int i = 0; i < im.n; i++) {
        for (int j = 0; j < AC_PATHS_DIGITS_PIXELS; j++)
            sum += im.pix[i * AC_PATHS_DIGITS_PIXELS + j];
        sum += im.label[i];
        count[im.label[i]]++;
    }
    /* integers below 2^53: both sums are exact */
    cr_assert_eq(sum, sum_gz, "%.17g vs %.17g", sum, sum_gz);
    for (int c = 0; c < AC_PATHS_DIGITS_CLASSES; c++)
        cr_assert_gt(count[c], 2, "class %d has %d images", c, count[c]);
    ac_paths_digits_images_clear(&im);
}

Test(paths_digits, a_missing_or_malformed_file_is_named)
{
    ac_paths_digits_images im;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_paths_digits_read("/nonexistent/digits.csv.gz", &im, &msg), AC_EIO);
    cr_assert(strstr(msg.text, "/nonexistent/digits.csv.gz"), "%s", msg.text);
    cr_assert(strstr(msg.text, AC_PATHS_DIGITS_PACKAGE), "%s", msg.text);
    cr_assert_eq(im.n, 0);
    char path[] = "/tmp/ac_digits_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    const char *bad[] = {"1,2,3\n", "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
                                    "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,17,3\n",
                         "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
                         "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,10\n"};
    const char *want[] = {"3 values", "pixel 64 is 17", "label 10"};
    const char *good = "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
                       "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,3\n";
    for (int k = 0; k < 3; k++) {
        gzFile g = gzopen(path, "wb");
        gzputs(g, good);
        gzputs(g, bad[k]);
        gzclose(g);
        cr_assert_eq(ac_paths_digits_read(path, &im, &msg), AC_EPARSE);
        char where[64];
        snprintf(where, sizeof where, "%s:2: ", path);
        cr_assert(strstr(msg.text, where), "%s", msg.text);
        cr_assert(strstr(msg.text, want[k]), "%s", msg.text);
    }
    gzFile g = gzopen(path, "wb");
    gzclose(g);
    cr_assert_eq(ac_paths_digits_read(path, &im, &msg), AC_EPARSE);
    cr_assert(strstr(msg.text, "no images"), "%s", msg.text);
    unlink(path);
}

/* Small settings for tests: a few sequences, a tiny model. */
static void tiny_settings(ac_paths_digits_settings *s)
{
    ac_paths_digits_settings_default(s);
    s->n_train = 60;
    s->n_test = 40;
    s->p_theory = 30;
    s->width = 6;
    s->G = 4;
    s->H = 2;
    s->train.steps = 20;
    s->train.batch = 16;
}

/* Token j of a sequence, rebuilt from its image's raw pixels: its patch
 * standardised here, so x_j - patch is one vector E_role + p_j for every
 * sequence, of the form (unit vector) + (unit sinusoidal position); the
 * label is +1 iff the query's class is support A's; A and B differ in
 * class; training and test sequences use disjoint images. */
Test(paths_digits, sequences_rebuild_from_the_raw_pixels)
{
    if (access(AC_PATHS_DIGITS_PATH, R_OK) != 0)
        cr_skip_test("%s missing", AC_PATHS_DIGITS_PATH);
    ac_paths_digits_images im;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_paths_digits_read(NULL, &im, &msg), AC_OK, "%s", msg.text);
    ac_paths_digits_settings s;
    tiny_settings(&s);
    gsl_rng *r = ac_test_rng(3);
    ac_paths_digits_task t;
    cr_assert_eq(ac_paths_digits_data_init(&t, &im, &s, r, &msg), AC_OK, "%s", msg.text);
    const int N0 = AC_PATHS_DIGITS_N0, nt = AC_PATHS_DIGITS_NTOK;
    double base[AC_PATHS_DIGITS_NTOK][AC_PATHS_DIGITS_N0];
    char *used = calloc((size_t)im.n, 1);
    for (int q = 0; q < t.P + t.Pt; q++) {
        int tr = q < t.P, sq = tr ? q : q - t.P;
        const double *x = (tr ? t.X : t.Xt) + (size_t)sq * N0 * nt;
        const int *img = t.img + 3 * q;
        int ca = im.label[img[0]], cb = im.label[img[1]], cq = im.label[img[2]];
        cr_assert_neq(ca, cb);
        cr_assert(cq == ca || cq == cb);
        cr_assert_eq((tr ? t.Y : t.Yt)[sq], cq == ca ? 1.0 : -1.0);
        cr_assert_neq(img[2], cq == ca ? img[0] : img[1], "the query is its own support");
        for (int k = 0; k < 3; k++) {
            cr_assert_neq(used[img[k]], tr ? 2 : 1, "image %d in both pools", img[k]);
            used[img[k]] = tr ? 1 : 2;
        }
        for (int j = 0; j < nt; j++) {
            const double *pix = im.pix + (size_t)img[j / 4] * AC_PATHS_DIGITS_PIXELS;
            int pr = (j % 4) / 2, pc = j % 2;
            double v[16], m = 0, var = 0;
            for (int i = 0; i < 16; i++)
                m += (v[i] = pix[(pr * 4 + i / 4) * 8 + pc * 4 + i % 4]);
            m /= 16;
            for (int i = 0; i < 16; i++)
                var += (v[i] - m) * (v[i] - m) / 16;
            for (int i = 0; i < 16; i++) {
                double patch = var > 0 ? (v[i] - m) / sqrt(var) / 4 : 0.0;
                double rest = x[i * nt + j] - patch;
                if (q == 0)
                    base[j][i] = rest;
                else /* rounding of a sum of three O(1) terms */
                    cr_assert_float_eq(rest, base[j][i], 1e-14, "sequence %d token %d feature %d", q, j, i);
            }
        }
    }
    for (int j = 0; j < nt; j++) { /* E_role = base - p_j has unit norm */
        double n2 = 0;
        for (int i = 0; i < N0; i++) {
            double a = j / pow(10000.0, 2.0 * (i / 2) / 16);
            double p = (i % 2 ? cos(a) : sin(a)) / sqrt(8.0);
            n2 += (base[j][i] - p) * (base[j][i] - p);
        }
        cr_assert_float_eq(n2, 1.0, 1e-13, "token %d: |E|^2 = %.17g", j, n2);
    }
    /* replay: the same seed gives the same sequences */
    ac_paths_digits_task t2;
    gsl_rng_set(r, ac_test_seed(3));
    cr_assert_eq(ac_paths_digits_data_init(&t2, &im, &s, r, &msg), AC_OK);
    cr_assert_eq(memcmp(t.X, t2.X, sizeof(double) * t.P * N0 * nt), 0);
    cr_assert_eq(memcmp(t.img, t2.img, sizeof(int) * 3 * (t.P + t.Pt)), 0);
    /* too few images for a class in a pool is refused, naming it */
    ac_paths_digits_task_clear(&t2);
    ac_paths_digits_images few = im;
    few.n = 12;
    s.train_images = 6;
    cr_assert_eq(ac_paths_digits_data_init(&t2, &few, &s, r, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "class"), "%s", msg.text);
    free(used);
    ac_paths_digits_task_clear(&t);
    ac_paths_digits_images_clear(&im);
    gsl_rng_free(r);
}

/* The model's theory inputs: Omega is the trained net's attention, Phi the
 * path tensor of it (ac_paths_phi), gd_acc the net's accuracy; the seed
 * function replays data_init + model_init on one generator. */
Test(paths_digits, the_frozen_model_gives_the_theory_its_inputs)
{
    if (access(AC_PATHS_DIGITS_PATH, R_OK) != 0)
        cr_skip_test("%s missing", AC_PATHS_DIGITS_PATH);
    ac_paths_digits_settings s;
    tiny_settings(&s);
    ac_paths_digits_task t;
    ac_msg msg = {{0}};
    unsigned long seed = ac_test_seed(8);
    cr_assert_eq(ac_paths_digits_task_init(&t, NULL, &s, seed, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(t.train.outcome, AC_TRAIN_STEP_LIMIT);
    int nh = ac_paths_net_heads(&t.sh), np = ac_paths_net_paths(&t.sh);
    size_t no = (size_t)nh * t.sh.ntok * t.sh.ntok;
    double *Om = malloc(sizeof(double) * t.Pt * no), *Phi = malloc(sizeof(double) * t.Pt * 16 * np);
    cr_assert_eq(ac_paths_net_omega(&t.sh, t.theta, t.Pt, t.Xt, Om), AC_OK);
    cr_assert_eq(memcmp(Om, t.Omega_t, sizeof(double) * t.Pt * no), 0);
    ac_paths_settings ps;
    ac_paths_net_theory_settings(&t.sh, 10, 0.1, &ps);
    cr_assert_eq(ac_paths_phi(&ps, t.Pt, 16, 12, t.Xt, Om, t.r, Phi, &msg), AC_OK);
    cr_assert_eq(memcmp(Phi, t.Phi_t, sizeof(double) * t.Pt * 16 * np), 0);
    double acc;
    ac_paths_net_accuracy(&t.sh, t.theta, NULL, t.Pt, t.Xt, t.Yt, &acc, &msg);
    cr_assert_eq(acc, t.gd_acc);
    /* replay by hand on one generator */
    ac_paths_digits_images im;
    ac_paths_digits_read(NULL, &im, &msg);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    ac_paths_digits_task t2;
    cr_assert_eq(ac_paths_digits_data_init(&t2, &im, &s, r, &msg), AC_OK);
    cr_assert_eq(ac_paths_digits_model_init(&t2, &s, r, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(memcmp(t.theta, t2.theta, sizeof(double) * ac_paths_net_size(&t.sh)), 0);
    cr_assert_eq(memcmp(t.Phi, t2.Phi, sizeof(double) * t.Pth * 16 * np), 0);
    /* a missing file stops the seed function with the file's message */
    ac_paths_digits_task t3;
    cr_assert_eq(ac_paths_digits_task_init(&t3, "/nonexistent/d.csv.gz", &s, seed, &msg), AC_EIO);
    cr_assert(strstr(msg.text, AC_PATHS_DIGITS_PACKAGE), "%s", msg.text);
    gsl_rng_free(r);
    ac_paths_digits_images_clear(&im);
    ac_paths_digits_task_clear(&t);
    ac_paths_digits_task_clear(&t2);
    free(Om);
    free(Phi);
}
