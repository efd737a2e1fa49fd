#include "verify/figure.h"
#include "verify/report.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define FIGURE_PATH_MAX 4096

/* x in %.17g with '.' (x is finite here: non-finite points are dropped),
 * through the reports' one number formatter. */
static ac_numtext num(double x)
{
    return ac_report_number(x, AC_REPORT_DIGITS_EXACT, AC_NUM_SIGNIFICANT);
}

/* s as a gnuplot single-quoted string: quotes doubled, line breaks and other
 * control characters as spaces. */
static void quoted(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; s && *s; s++) {
        if (*s == '\'')
            fputs("''", f);
        else if ((unsigned char)*s < 0x20)
            fputc(' ', f);
        else
            fputc(*s, f);
    }
    fputc('\'', f);
}

/* Which points of series s can be drawn on fig's axes. */
static int point_ok(const ac_figure *fig, double x, double y)
{
    if (!isfinite(x) || !isfinite(y))
        return 0;
    return (!fig->logx || x > 0) && (!fig->logy || y > 0);
}

static int band_ok(const ac_figure *fig, const ac_series *s, int i)
{
    return point_ok(fig, s->x[i], s->lo[i]) && point_ok(fig, s->x[i], s->hi[i]);
}

/* What the data file holds of a series: drawable points of the line and of
 * the band, and the points lost (to either) and why. */
typedef struct {
    int line, band;          /* drawable points */
    int dropped;             /* points not drawn */
    int nonfinite, nonpos;   /* of which: a NaN/inf coordinate, <= 0 on a log axis */
} series_plan;

static series_plan plan_series(const ac_figure *fig, const ac_series *s)
{
    series_plan p = {0, 0, 0, 0, 0};
    int has_band = s->lo && s->hi;
    for (int i = 0; i < s->n; i++) {
        int lok = point_ok(fig, s->x[i], s->y[i]);
        int bok = has_band ? band_ok(fig, s, i) : 1;
        p.line += lok;
        p.band += has_band && bok;
        if (lok && bok)
            continue;
        p.dropped++;
        int nf = !isfinite(s->x[i]) || !isfinite(s->y[i]) ||
                 (has_band && (!isfinite(s->lo[i]) || !isfinite(s->hi[i])));
        if (nf)
            p.nonfinite++;
        else
            p.nonpos++;
    }
    return p;
}

ac_status ac_figure_write_data(FILE *f, const ac_figure *fig, ac_msg *msg)
{
    int blocks = 0;
    for (int k = 0; k < fig->nseries; k++) {
        const ac_series *s = &fig->series[k];
        series_plan p = plan_series(fig, s);
        if (p.line > 0) {
            fprintf(f, "%s# series %d: x y\n", blocks++ ? "\n\n" : "", k);
            for (int i = 0; i < s->n; i++)
                if (point_ok(fig, s->x[i], s->y[i]))
                    fprintf(f, "%s %s\n", num(s->x[i]).s, num(s->y[i]).s);
        }
        if (p.band > 0) {
            fprintf(f, "%s# series %d: x lo hi\n", blocks++ ? "\n\n" : "", k);
            for (int i = 0; i < s->n; i++)
                if (band_ok(fig, s, i))
                    fprintf(f, "%s %s %s\n", num(s->x[i]).s, num(s->lo[i]).s, num(s->hi[i]).s);
        }
    }
    if (ferror(f))
        return ac_fail(msg, AC_EIO, "figure %s: write error on the data file", fig->name);
    return AC_OK;
}

static void script_header(FILE *f, const ac_figure *fig, const char *png_path)
{
    ac_numtext alpha = num(AC_FIGURE_BAND_ALPHA);
    fprintf(f,
            "# attncheck figure %s\n"
            "set encoding utf8\n"
            "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
            "    set terminal pngcairo size %d,%d noenhanced\n"
            "} else {\n"
            "    set terminal png size %d,%d truecolor noenhanced\n"
            "}\n"
            "set output ",
            fig->name, AC_FIGURE_WIDTH, AC_FIGURE_HEIGHT, AC_FIGURE_WIDTH, AC_FIGURE_HEIGHT);
    quoted(f, png_path);
    fputs("\nset title ", f);
    quoted(f, fig->title);
    fputs("\nset xlabel ", f);
    quoted(f, fig->xlabel);
    fputs("\nset ylabel ", f);
    quoted(f, fig->ylabel);
    fprintf(f, "\nset grid\nset key box opaque\nset style fill transparent solid %s noborder\n",
            alpha.s);
    if (fig->logx)
        fputs("set logscale x\n", f);
    if (fig->logy)
        fputs("set logscale y\n", f);
}

/* The key entry of a series: its label, and what was not drawn. */
static void series_title(FILE *f, const ac_series *s, series_plan p)
{
    char t[AC_CLAIM_TEXT + 96];
    if (p.dropped == 0) {
        quoted(f, s->label);
        return;
    }
    const char *why = p.nonpos && p.nonfinite ? "non-finite or <= 0 on a log axis"
                      : p.nonpos              ? "<= 0 on a log axis"
                                              : "non-finite";
    snprintf(t, sizeof t, "%s (%d point%s not drawn: %s)", s->label, p.dropped,
             p.dropped == 1 ? "" : "s", why);
    quoted(f, t);
}

ac_status ac_figure_write_script(FILE *f, const ac_figure *fig, const char *data_path,
                                 const char *png_path, ac_msg *msg)
{
    script_header(f, fig, png_path);
    /* the blocks as ac_figure_write_data numbers them; bands are drawn first
     * so that every line lies on top of every band */
    int block = 0, nplots = 0, nblocks = 0;
    for (int k = 0; k < fig->nseries; k++) {
        series_plan p = plan_series(fig, &fig->series[k]);
        nblocks += (p.line > 0) + (p.band > 0);
    }
    for (int pass = 0; pass < 2 && nblocks > 0; pass++) {
        block = 0;
        for (int k = 0; k < fig->nseries; k++) {
            const ac_series *s = &fig->series[k];
            series_plan p = plan_series(fig, s);
            int line_block = p.line > 0 ? block++ : -1;
            int band_block = p.band > 0 ? block++ : -1;
            if (pass == 0 && band_block >= 0) {
                fputs(nplots++ ? ", \\\n     " : "plot ", f);
                quoted(f, data_path);
                fprintf(f, " index %d using 1:2:3 with filledcurves lc %d notitle", band_block,
                        k + 1);
            }
            if (pass == 1 && line_block >= 0) {
                fputs(nplots++ ? ", \\\n     " : "plot ", f);
                quoted(f, data_path);
                fprintf(f, " index %d using 1:2 with %s lc %d title ", line_block,
                        p.line <= AC_FIGURE_POINTS_MAX ? "linespoints pt 7 ps 0.6" : "lines lw 1.5",
                        k + 1);
                series_title(f, s, p);
            } else if (pass == 1 && p.line == 0) {
                /* nothing to draw: still say so in the key */
                fputs(nplots++ ? ", \\\n     " : "plot ", f);
                fprintf(f, "NaN with lines lc %d title ", k + 1);
                series_title(f, s, p);
            }
        }
    }
    if (nblocks == 0) {
        /* no drawable point at all: an empty frame that says so */
        fputs("\nunset logscale\nset label 1 'no drawable points' at graph 0.5, graph 0.5 center\n"
              "plot [0:1] [0:1] -1 notitle",
              f);
    }
    fputs("\nset output\n", f);
    if (ferror(f))
        return ac_fail(msg, AC_EIO, "figure %s: write error on the script", fig->name);
    return AC_OK;
}

static ac_status check_figure(const ac_figure *fig, ac_msg *msg)
{
    if (!fig)
        return ac_fail(msg, AC_EINVAL, "figure: NULL");
    const char *n = fig->name;
    if (!n[0] || n[0] == '.' || strchr(n, '/'))
        return ac_fail(msg, AC_EINVAL,
                       "figure '%s': name must be a file stem (not empty, no '/', no leading '.')",
                       n);
    for (int k = 0; k < fig->nseries; k++) {
        const ac_series *s = &fig->series[k];
        if (s->n < 0 || (s->n > 0 && (!s->x || !s->y)))
            return ac_fail(msg, AC_EINVAL, "figure %s: series %d ('%s') has n = %d, x %s, y %s", n,
                           k, s->label, s->n, s->x ? "set" : "NULL", s->y ? "set" : "NULL");
    }
    return AC_OK;
}

/* Run gnuplot with args, stdin and stdout on /dev/null, stderr into err_fd
 * (or /dev/null when err_fd < 0).  posix_spawnp, not fork: no copy of the
 * caller's memory, and a gnuplot missing from PATH is reported here rather
 * than as an exit status.  Returns 0 with *wstatus (waitpid's) when gnuplot
 * ran, else an errno value. */
static int run_gnuplot(char *const argv[], int err_fd, int *wstatus)
{
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc)
        return rc;
    rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!rc)
        rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (!rc)
        rc = err_fd >= 0 ? posix_spawn_file_actions_adddup2(&fa, err_fd, 2)
                         : posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    if (!rc)
        rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc)
        return rc;
    while (waitpid(pid, wstatus, 0) < 0)
        if (errno != EINTR)
            return errno;
    return 0;
}

int ac_figure_gnuplot_available(void)
{
    char *argv[] = {"gnuplot", "--version", NULL};
    int ws;
    if (run_gnuplot(argv, -1, &ws) != 0)
        return 0;
    return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

/* Temporary files of one drawing, all in the output directory. */
typedef struct {
    char data[FIGURE_PATH_MAX], script[FIGURE_PATH_MAX], err[FIGURE_PATH_MAX],
        png[FIGURE_PATH_MAX];
    int made[4];
} temps;

static void temps_remove(temps *t)
{
    char *p[4] = {t->data, t->script, t->err, t->png};
    for (int i = 0; i < 4; i++)
        if (t->made[i])
            unlink(p[i]);
}

/* Create file i of t from template "<final>.<what>.XXXXXX"; the fd or -1. */
static int temp_make(temps *t, int i, const char *final_path, const char *what)
{
    char *p[4] = {t->data, t->script, t->err, t->png};
    snprintf(p[i], FIGURE_PATH_MAX, "%s.%s.XXXXXX", final_path, what);
    int fd = mkstemp(p[i]);
    t->made[i] = fd >= 0;
    return fd;
}

/* Open temp i as a stream to write; NULL with msg filled on failure. */
static FILE *temp_stream(temps *t, int i, const char *final_path, const char *what,
                         const ac_figure *fig, ac_msg *msg)
{
    int fd = temp_make(t, i, final_path, what);
    if (fd < 0) {
        ac_fail(msg, AC_EIO, "figure %s: cannot create a temporary %s file beside %s: %s",
                fig->name, what, final_path, strerror(errno));
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        ac_fail(msg, AC_EIO, "figure %s: %s", fig->name, strerror(errno));
        close(fd);
    }
    return f;
}

/* Close a written stream; AC_EIO naming what on a write error. */
static ac_status close_written(FILE *f, const ac_figure *fig, const char *what, ac_msg *msg)
{
    int bad = fflush(f) != 0 || ferror(f);
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad)
        return ac_fail(msg, AC_EIO, "figure %s: cannot write the %s file: %s", fig->name, what,
                       strerror(e));
    return AC_OK;
}

/* The first line gnuplot wrote to stderr (may be empty). */
static void first_line(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    /* gnuplot echoes the offending line first; skip blank ones */
    while (fgets(buf, (int)cap, f)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        if (strspn(buf, " \t^") != strlen(buf))
            break;
        buf[0] = '\0';
    }
    fclose(f);
}

static ac_status draw(const ac_figure *fig, const char *final_path, temps *t, ac_msg *msg)
{
    FILE *f = temp_stream(t, 0, final_path, "data", fig, msg);
    if (!f)
        return AC_EIO;
    ac_status st = ac_figure_write_data(f, fig, msg);
    ac_status cst = close_written(f, fig, "data", msg);
    if (st || cst)
        return st ? st : cst;
    int fd = temp_make(t, 3, final_path, "tmp");
    if (fd < 0)
        return ac_fail(msg, AC_EIO, "figure %s: cannot create a temporary PNG beside %s: %s",
                       fig->name, final_path, strerror(errno));
    /* mkstemp creates 0600; the figure is an ordinary file */
    fchmod(fd, 0644);
    close(fd);
    if (!(f = temp_stream(t, 1, final_path, "gp", fig, msg)))
        return AC_EIO;
    st = ac_figure_write_script(f, fig, t->data, t->png, msg);
    cst = close_written(f, fig, "script", msg);
    if (st || cst)
        return st ? st : cst;
    int err_fd = temp_make(t, 2, final_path, "err");
    if (err_fd < 0)
        return ac_fail(msg, AC_EIO, "figure %s: cannot create a temporary file beside %s: %s",
                       fig->name, final_path, strerror(errno));
    char *argv[] = {"gnuplot", t->script, NULL};
    int ws;
    int rc = run_gnuplot(argv, err_fd, &ws);
    close(err_fd);
    if (rc != 0)
        return ac_fail(msg, AC_EIO, "figure %s: cannot run gnuplot: %s", fig->name, strerror(rc));
    char line[256];
    first_line(t->err, line, sizeof line);
    if (WIFSIGNALED(ws))
        return ac_fail(msg, AC_EIO, "figure %s: gnuplot killed by signal %d%s%s", fig->name,
                       WTERMSIG(ws), line[0] ? ": " : "", line);
    if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
        int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
        return ac_fail(msg, AC_EIO, "figure %s: gnuplot exited with status %d%s%s", fig->name,
                       code, line[0] ? ": " : "", line);
    }
    return AC_OK;
}

ac_status ac_figure_write_png(const ac_figure *fig, const char *dir, char *path_out, size_t cap,
                              ac_msg *msg)
{
    ac_status st = check_figure(fig, msg);
    if (st)
        return st;
    if (!dir || !*dir)
        dir = ".";
    char final_path[FIGURE_PATH_MAX - 32];
    int w = snprintf(final_path, sizeof final_path, "%s/%s.png", dir, fig->name);
    if (w < 0 || (size_t)w >= sizeof final_path)
        return ac_fail(msg, AC_EINVAL, "figure %s: path %s/... too long", fig->name, dir);
    if (path_out && (size_t)w >= cap)
        return ac_fail(msg, AC_EINVAL, "figure %s: path %s does not fit %zu bytes", fig->name,
                       final_path, cap);
    temps *t = calloc(1, sizeof *t);
    if (!t)
        return ac_fail(msg, AC_ENOMEM, "figure %s: no memory", fig->name);
    st = draw(fig, final_path, t, msg);
    if (st == AC_OK) {
        FILE *png = fopen(t->png, "rb");
        long size = -1;
        if (png && fseek(png, 0, SEEK_END) == 0)
            size = ftell(png);
        if (png)
            fclose(png);
        if (size <= 0)
            st = ac_fail(msg, AC_EIO, "figure %s: gnuplot exited with status 0 but wrote no PNG",
                         fig->name);
    }
    if (st == AC_OK && rename(t->png, final_path) != 0)
        st = ac_fail(msg, AC_EIO, "figure %s: cannot rename the PNG into %s: %s", fig->name,
                     final_path, strerror(errno));
    if (st == AC_OK) {
        t->made[3] = 0;
        if (path_out)
            snprintf(path_out, cap, "%s", final_path);
    }
    temps_remove(t);
    free(t);
    return st;
}
