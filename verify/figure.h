/* Figures: draw an ac_figure (verify/claim.h) as a PNG through gnuplot.
 *
 * The writer knows no paper: it reads the figure record.  Each series is a
 * line (with a marker at each point when it has at most AC_FIGURE_POINTS_MAX
 * of them), titled by its label in the key; a series with lo and hi
 * gets a band between them, filled in the series' colour with transparency.
 * On a log axis (logx, logy) points with a non-positive coordinate cannot be
 * drawn: they are dropped, and so are points with a NaN or infinite
 * coordinate; a series that lost points says how many in its key entry
 * ("label (3 points not drawn: <= 0 on a log axis)").  Labels and titles are
 * drawn literally (no gnuplot enhanced-text markup).  Every pointer passed
 * in is borrowed for the call and never kept. */
#ifndef AC_FIGURE_H
#define AC_FIGURE_H

#include <stddef.h>
#include <stdio.h>

#include "solvers/status.h"
#include "verify/claim.h"

/* PNG size in pixels. */
#define AC_FIGURE_WIDTH 800
#define AC_FIGURE_HEIGHT 560
/* A series with more drawable points than this is drawn as a plain line:
 * markers that overlap say nothing. */
#define AC_FIGURE_POINTS_MAX 60
/* Opacity of a band: light enough that the lines and other bands show through. */
#define AC_FIGURE_BAND_ALPHA 0.25

/* 1 when a gnuplot program runs from PATH (`gnuplot --version` exits 0), 0
 * otherwise.  Nothing is printed. */
int ac_figure_gnuplot_available(void);

/* Write the gnuplot script that draws fig from data_path (written by
 * ac_figure_write_data) into png_path.  The terminal is pngcairo when this
 * gnuplot has it, else png (decided by the script).  AC_OK; AC_EIO on a write
 * error of f. */
ac_status ac_figure_write_script(FILE *f, const ac_figure *fig, const char *data_path,
                                 const char *png_path, ac_msg *msg);

/* Write the data of fig in gnuplot's format (%.17g): for each series that
 * has drawable points, a block "x y" and, with a band, a block "x lo hi";
 * blocks are separated by two blank lines (gnuplot's `index`).  The blocks
 * follow the order in which ac_figure_write_script refers to them.  AC_OK;
 * AC_EIO on a write error. */
ac_status ac_figure_write_data(FILE *f, const ac_figure *fig, ac_msg *msg);

/* Draw fig into DIR/<fig->name>.png: data and script go to temporary files
 * in dir, gnuplot (found through PATH; its output is captured, never shown)
 * writes a temporary PNG there, which is renamed into place; the temporaries
 * are removed whatever happens.  path_out (may be NULL) receives the path of
 * the PNG, cap bytes at most.
 *
 * AC_OK; AC_EINVAL when the name is empty, holds '/' or starts with '.', a
 * series has n < 0 or NULL x / y with n > 0, or the path does not fit cap;
 * AC_EIO when a file cannot be written, gnuplot cannot be started (msg: "cannot
 * run gnuplot: No such file or directory") or gnuplot fails: msg names the
 * figure, gnuplot's exit status (or signal) and the first line it wrote to
 * stderr; AC_ENOMEM. */
ac_status ac_figure_write_png(const ac_figure *fig, const char *dir, char *path_out, size_t cap,
                              ac_msg *msg);

#endif
