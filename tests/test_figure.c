/* The figure writer (verify/figure.h) on figures built here. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/testutil.h"
#include "verify/claim.h"
#include "verify/figure.h"

static char figdir[64];

static void make_figdir(void)
{
    snprintf(figdir, sizeof figdir, "/tmp/ac_figure_XXXXXX");
    cr_assert_not_null(mkdtemp(figdir));
}

/* Number of entries in figdir (besides . and ..); removes them when clear. */
static int dir_entries(int clear)
{
    DIR *d = opendir(figdir);
    cr_assert_not_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        if (clear) {
            char p[512];
            snprintf(p, sizeof p, "%s/%s", figdir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
    return n;
}

static void remove_figdir(void)
{
    dir_entries(1);
    rmdir(figdir);
}

TestSuite(figure, .init = make_figdir, .fini = remove_figdir);

/* A figure on log-log axes: a band series with two non-positive points, a
 * line series with a NaN, a label with quotes. */
static ac_figure *make_figure(ac_claim_result *res, int logx, int logy)
{
    static const ac_claim_def def = {.id = "fake.fig", .paper = "fake", .statement = ""};
    ac_claim_result_init(res, &def);
    ac_figure *g = ac_claim_add_figure(res, "fake-figure", "It's \"the\" title", "step t",
                                       "loss L(t)_1^2", logx, logy);
    cr_assert_not_null(g);
    double x[6] = {1, 2, 4, 8, 16, 32}, y[6] = {1.7312, 0.9, 0.0, 0.3, -0.1, 0.05},
           lo[6] = {1.5, 0.8, 0.1, 0.2, 0.05, 0.01}, hi[6] = {1.9, 1.0, 0.5, 0.4, 0.2, 0.1},
           z[6] = {2, 1, NAN, 0.25, 0.125, 0.0625};
    cr_assert_eq(ac_figure_add_series(g, "mean over 'trials'", 6, x, y, lo, hi), AC_OK);
    cr_assert_eq(ac_figure_add_series(g, "theory 1/t", 6, x, z, NULL, NULL), AC_OK);
    return g;
}

static char *script_of(const ac_figure *g, char **data)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ac_msg msg = {{0}};
    cr_assert_eq(ac_figure_write_script(f, g, "/tmp/d.dat", "/tmp/o'x.png", &msg), AC_OK);
    fclose(f);
    f = open_memstream(data, &len);
    cr_assert_eq(ac_figure_write_data(f, g, &msg), AC_OK);
    fclose(f);
    return text;
}

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

Test(figure, script_escapes_quotes_and_names_dropped_points)
{
    ac_claim_result res;
    ac_figure *g = make_figure(&res, 1, 1);
    char *data;
    char *s = script_of(g, &data);
    cr_assert(strstr(s, "set title 'It''s \"the\" title'") != NULL, "%s", s);
    cr_assert(strstr(s, "set output '/tmp/o''x.png'") != NULL, "%s", s);
    cr_assert(strstr(s, "noenhanced") != NULL, "labels are drawn literally");
    cr_assert(strstr(s, "set logscale x") != NULL && strstr(s, "set logscale y") != NULL, "%s", s);
    cr_assert(strstr(s, "'mean over ''trials'' (2 points not drawn: <= 0 on a log axis)'") != NULL,
              "%s", s);
    cr_assert(strstr(s, "'theory 1/t (1 point not drawn: non-finite)'") != NULL, "%s", s);
    cr_assert(strstr(s, "filledcurves") != NULL);
    cr_assert(strstr(s, "transparent solid 0.25") != NULL, "%s", s);
    /* three blocks: line and band of series 0, line of series 1 */
    cr_assert_eq(count_of(data, "# series"), 3, "%s", data);
    cr_assert(strstr(data, "\n1 1.7312") != NULL, "%s", data);
    cr_assert(strstr(data, " -0.1") == NULL, "a non-positive y on a log axis is dropped:\n%s", data);
    cr_assert(strstr(data, "\n4 0\n") == NULL, "%s", data);
    cr_assert(strstr(data, "nan") == NULL, "%s", data);
    free(s);
    free(data);
    /* on linear axes only the NaN is lost */
    g->logx = g->logy = 0;
    s = script_of(g, &data);
    cr_assert(strstr(s, "set logscale") == NULL);
    cr_assert(strstr(s, "'mean over ''trials'''") != NULL, "%s", s);
    cr_assert(strstr(data, "16 -0.10000000000000001") != NULL, "%%.17g data:\n%s", data);
    free(s);
    free(data);
    ac_claim_result_clear(&res);
}

/* The data file reads back bit for bit, in the order of the blocks: for each
 * series its points "x y", then with a band "x lo hi"; random doubles of
 * every magnitude, written under a decimal-comma locale when one is
 * installed (the data must still use '.'). */
Test(figure, data_reads_back_bit_for_bit_whatever_the_locale)
{
    static const ac_claim_def def = {.id = "fake.fig", .paper = "fake", .statement = ""};
    const char *comma = setlocale(LC_NUMERIC, "de_DE.utf8");
    gsl_rng *rng = ac_test_rng(31);
    for (int c = 0; c < ac_test_cases(10); c++) {
        ac_claim_result res;
        ac_claim_result_init(&res, &def);
        ac_figure *g = ac_claim_add_figure(&res, "fake-data", "", "", "", 0, 0);
        cr_assert_not_null(g);
        int n = 1 + (int)gsl_rng_uniform_int(rng, 20);
        double v[4][20];
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < n; i++)
                v[k][i] = (gsl_rng_uniform(rng) - 0.5) * pow(10.0, gsl_rng_uniform_int(rng, 600) - 300.0);
        cr_assert_eq(ac_figure_add_series(g, "band", n, v[0], v[1], v[2], v[3]), AC_OK);
        cr_assert_eq(ac_figure_add_series(g, "line", n, v[1], v[0], NULL, NULL), AC_OK);
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        ac_msg msg = {{0}};
        cr_assert_eq(ac_figure_write_data(f, g, &msg), AC_OK, "%s", msg.text);
        fclose(f);
        setlocale(LC_NUMERIC, "C");
        /* expected columns, block by block */
        const double *cols[3][3] = {{v[0], v[1], NULL}, {v[0], v[2], v[3]}, {v[1], v[0], NULL}};
        const char *p = text;
        for (int b = 0; b < 3; b++) {
            int ncol = cols[b][2] ? 3 : 2;
            for (int i = 0; i < n; i++) {
                while (*p == '#' || *p == '\n')
                    p = strchr(p, '\n') + 1;
                for (int k = 0; k < ncol; k++) {
                    char *end;
                    double x = strtod(p, &end);
                    cr_assert(end != p, "case %d block %d point %d: no number at '%.20s'", c, b, i, p);
                    cr_assert(memcmp(&x, &cols[b][k][i], sizeof x) == 0,
                              "case %d block %d point %d column %d: wrote %a, read %a", c, b, i, k,
                              cols[b][k][i], x);
                    p = end;
                }
                cr_assert_eq(*p, '\n', "case %d: a point is one line", c);
                p++;
            }
        }
        cr_assert_eq(*p, '\0', "case %d: more data than points", c);
        if (comma)
            setlocale(LC_NUMERIC, "de_DE.utf8");
        free(text);
        ac_claim_result_clear(&res);
    }
    setlocale(LC_NUMERIC, "C");
    gsl_rng_free(rng);
}

static void expect_png(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s was not written", path);
    unsigned char sig[8];
    cr_assert_eq(fread(sig, 1, 8, f), 8u);
    fclose(f);
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    cr_assert(memcmp(sig, png_sig, 8) == 0, "%s is not a PNG", path);
}

Test(figure, writes_a_png_and_leaves_no_temporaries)
{
    if (!ac_figure_gnuplot_available())
        cr_skip_test("gnuplot is not installed");
    ac_claim_result res;
    ac_figure *g = make_figure(&res, 1, 1);
    char path[512];
    ac_msg msg = {{0}};
    cr_assert_eq(ac_figure_write_png(g, figdir, path, sizeof path, &msg), AC_OK, "%s", msg.text);
    char want[512];
    snprintf(want, sizeof want, "%s/fake-figure.png", figdir);
    cr_assert_str_eq(path, want);
    expect_png(path);
    cr_assert_eq(dir_entries(0), 1, "temporary files are left in %s", figdir);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0644);
    ac_claim_result_clear(&res);
}

Test(figure, figure_without_drawable_points_still_draws)
{
    if (!ac_figure_gnuplot_available())
        cr_skip_test("gnuplot is not installed");
    static const ac_claim_def def = {.id = "fake.empty", .paper = "fake", .statement = ""};
    ac_claim_result res;
    ac_claim_result_init(&res, &def);
    ac_figure *g = ac_claim_add_figure(&res, "empty", "Nothing", "x", "y", 0, 1);
    double x[2] = {1, 2}, y[2] = {-1, 0};
    cr_assert_eq(ac_figure_add_series(g, "all non-positive", 2, x, y, NULL, NULL), AC_OK);
    cr_assert_eq(ac_figure_add_series(g, "none", 0, NULL, NULL, NULL, NULL), AC_ENOMEM,
                 "claim.c refuses NULL arrays");
    char path[512];
    ac_msg msg = {{0}};
    cr_assert_eq(ac_figure_write_png(g, figdir, path, sizeof path, &msg), AC_OK, "%s", msg.text);
    expect_png(path);
    /* no series at all */
    ac_figure *h = ac_claim_add_figure(&res, "no-series", "", "", "", 1, 1);
    cr_assert_eq(ac_figure_write_png(h, figdir, NULL, 0, &msg), AC_OK, "%s", msg.text);
    snprintf(path, sizeof path, "%s/no-series.png", figdir);
    expect_png(path);
    ac_claim_result_clear(&res);
}

/* gnuplot found on PATH fails: the message names the figure, the status and
 * what gnuplot said; the PNG is not created and no temporary is left. */
Test(figure, gnuplot_failure_is_an_io_error_naming_its_status)
{
    /* under valgrind (make test-valgrind sets AC_UNDER_VALGRIND) posix_spawnp
     * of the fake script exits 127 whatever the tracing options: the spawn,
     * not our code, is what valgrind cannot run; the suite runs this natively
     * and under ASan */
    if (getenv("AC_UNDER_VALGRIND"))
        cr_skip_test("valgrind cannot posix_spawnp a shell script");
    char bin[128], fake[160];
    snprintf(bin, sizeof bin, "%s/bin", figdir);
    cr_assert_eq(mkdir(bin, 0755), 0);
    snprintf(fake, sizeof fake, "%s/gnuplot", bin);
    FILE *f = fopen(fake, "w");
    fputs("#!/bin/sh\necho 'line 3: undefined variable: boom' >&2\nexit 3\n", f);
    fclose(f);
    chmod(fake, 0755);
    char *old = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    /* the fake first, then the rest (valgrind, tracing children, needs them) */
    char path_var[4096];
    snprintf(path_var, sizeof path_var, "%s:%s", bin, old);
    setenv("PATH", path_var, 1);
    ac_claim_result res;
    ac_figure *g = make_figure(&res, 0, 0);
    char path[512];
    ac_msg msg = {{0}};
    ac_status st = ac_figure_write_png(g, figdir, path, sizeof path, &msg);
    int avail = ac_figure_gnuplot_available();
    setenv("PATH", old, 1);
    cr_assert_eq(st, AC_EIO, "%s", msg.text);
    cr_assert(strstr(msg.text, "figure fake-figure") != NULL, "%s", msg.text);
    cr_assert(strstr(msg.text, "exited with status 3") != NULL, "%s", msg.text);
    cr_assert(strstr(msg.text, "undefined variable: boom") != NULL, "%s", msg.text);
    cr_assert_not(avail, "a gnuplot that exits 3 is not available");
    unlink(fake);
    rmdir(bin);
    cr_assert_eq(dir_entries(0), 0, "the PNG or a temporary was left behind");

    /* no gnuplot at all */
    setenv("PATH", "/nonexistent", 1);
    st = ac_figure_write_png(g, figdir, NULL, 0, &msg);
    avail = ac_figure_gnuplot_available();
    setenv("PATH", old, 1);
    free(old);
    cr_assert_eq(st, AC_EIO);
    cr_assert(strstr(msg.text, "figure fake-figure: cannot run gnuplot") != NULL, "%s", msg.text);
    cr_assert_not(avail);
    ac_claim_result_clear(&res);
}

Test(figure, bad_names_and_series_are_rejected)
{
    ac_claim_result res;
    ac_figure *g = make_figure(&res, 0, 0);
    ac_msg msg = {{0}};
    const char *bad[] = {"", "../x", "a/b", ".hidden"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(g->name, sizeof g->name, "%s", bad[i]);
        cr_assert_eq(ac_figure_write_png(g, figdir, NULL, 0, &msg), AC_EINVAL, "name '%s'", bad[i]);
    }
    snprintf(g->name, sizeof g->name, "ok");
    g->series[1].n = -1;
    cr_assert_eq(ac_figure_write_png(g, figdir, NULL, 0, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "theory 1/t") != NULL, "%s", msg.text);
    g->series[1].n = 6;
    char small[8];
    cr_assert_eq(ac_figure_write_png(g, figdir, small, sizeof small, &msg), AC_EINVAL);
    cr_assert_eq(ac_figure_write_png(g, "/nonexistent/dir", NULL, 0, &msg), AC_EIO);
    cr_assert(strstr(msg.text, "/nonexistent/dir/ok.png") != NULL, "%s", msg.text);
    cr_assert_eq(dir_entries(0), 0);
    ac_claim_result_clear(&res);
}
