/* Categorical tables for the tabular extension of spec cbow_moe §3: a row
 * is a "sentence" of D feature cells and the target cell last, each cell a
 * category 0..ncat-1 (§3.1).  Three sources:
 *
 *   - the covariate-shift simulation of §3.2 (12 settings), drawn from one
 *     gsl_rng and binned into pooled deciles;
 *   - a user's categorical CSV (a header of column names, then one row per
 *     line, comma-separated) with a COL=VALUE[,VALUE] row filter for the
 *     training and the test split;
 *   - UCI Auto MPG prepared as §3.6 says (drop '?' rows, cylinders 4/6/8,
 *     pooled terciles, train on origin 1, test on origins 2 and 3).
 *
 * Library code: no printing; every error is a status with a sentence naming
 * the file, line and column. */
#ifndef AC_MOE_TABULAR_H
#define AC_MOE_TABULAR_H

#include <stdio.h>

#include <gsl/gsl_rng.h>

#include "solvers/status.h"

/* A categorical table (a struct the caller owns: _init, _clear).  Row r is
 * X[r L .. r L + L), the target in column L - 1. */
typedef struct {
    int n;    /* rows */
    int L;    /* cells per row: L - 1 features, then the target */
    int ncat; /* categories 0..ncat-1 of every cell (the vocabulary, shared by columns) */
    int *X;   /* n x L, owned */
} ac_moe_tab;

void ac_moe_tab_init(ac_moe_tab *t);
/* Free X; t is then empty.  NULL is a no-op. */
void ac_moe_tab_clear(ac_moe_tab *t);
/* Make t an n x L table of ncat categories (zero-filled; the old contents
 * are dropped).  AC_EINVAL for n < 0, L < 2 or ncat < 1; AC_ENOMEM. */
ac_status ac_moe_tab_resize(ac_moe_tab *t, int n, int L, int ncat);

/* ---- Quantile bins (§3.1) ------------------------------------------------ */

/* Bin x[0..n) into q quantile bins as pandas' qcut (labels 0..q-1): edges
 * e_0..e_q are the quantiles at 0, 1/q, .., 1 with linear interpolation
 * (position k (n - 1) / q of the sorted values), bins are right-closed and
 * the lowest edge belongs to bin 0, i.e. bin = (edges strictly below x) - 1,
 * clipped at 0.  bin (n) may not alias x.  AC_EINVAL when n < 1, q < 1, a
 * value is not finite, or two edges coincide (pandas refuses such bins:
 * a tied column); AC_ENOMEM. */
ac_status ac_moe_qcut(const double *x, int n, int q, int *bin, ac_msg *msg);

/* ---- The covariate-shift simulation (§3.2) ------------------------------- */

/* The 12 settings of §3.5's tables, in their row order: core features
 * {1, 5} x corr {0.1, 0.9} x x_noise {0, 0.5, 1.5}. */
#define AC_MOE_SHIFT_NSETTINGS 12

typedef struct {
    int n;          /* rows per split (N) */
    int D;          /* feature columns */
    int ncore;      /* core features: the first ncore columns drive y, 1..D */
    double corr;    /* training off-diagonal correlation, in [0, 1]; the test swaps to 1 - corr */
    double x_noise; /* observation noise scale, >= 0 */
    double y_noise; /* label noise sd, >= 0 */
    int ncat;       /* quantile bins per column */
    int shift;      /* 1: the test correlation is 1 - corr (covariate shift); 0: corr */
} ac_moe_shift_settings;

/* The authors' values (§3.2): N 2000, D 5, ncore 1, corr 0.1, x_noise 0,
 * y_noise 2, ncat 10, shift 1. */
#define AC_MOE_SHIFT_N_DEFAULT 2000
#define AC_MOE_SHIFT_D_DEFAULT 5
#define AC_MOE_SHIFT_Y_NOISE_DEFAULT 2.0
#define AC_MOE_SHIFT_NCAT_DEFAULT 10
/* Per-column observation-noise sd per unit of x_noise (§3.2 step 3). */
#define AC_MOE_SHIFT_CORE_NOISE 0.4
#define AC_MOE_SHIFT_OTHER_NOISE 0.3
/* Coefficients beta_k ~ U(0, AC_MOE_SHIFT_BETA_MAX) (§3.2 step 4). */
#define AC_MOE_SHIFT_BETA_MAX 10.0

void ac_moe_shift_settings_default(ac_moe_shift_settings *s);
/* Setting k (0..11) of §3.5 on top of the defaults; AC_EINVAL for another k. */
ac_status ac_moe_shift_setting(int k, ac_moe_shift_settings *s);
/* NULL when s is usable, else a sentence (static storage). */
const char *ac_moe_shift_settings_check(const ac_moe_shift_settings *s);

/* Draw one data set (§3.2) from r: equicorrelated normals as one shared
 * factor, x* = sqrt(c) z0 1 + sqrt(1 - c) z (exact for c in [0, 1]), the
 * first floor(D/2) columns negated; x = x* + sigma noise; y = x*[:ncore]
 * beta + y_noise eps from the noise-free x*; then the D + 1 columns binned
 * into ncat pooled quantile bins (ac_moe_qcut over both splits) and split
 * back.  Draw order (§3.2): x* train (row by row: z0, then D z), x* test,
 * x-noise train, x-noise test, beta, y-noise train, y-noise test.
 * train and test (initialised) become n x (D + 1) tables.  AC_EINVAL
 * (msg: the setting's sentence, or a tied column); AC_ENOMEM. */
ac_status ac_moe_shift_generate(const ac_moe_shift_settings *s, gsl_rng *r, ac_moe_tab *train,
                                ac_moe_tab *test, ac_msg *msg);

/* ---- CSV files ----------------------------------------------------------- */

/* Longest line and cell the reader accepts. */
#define AC_MOE_CSV_LINE_MAX 65536
/* Largest file the reader accepts: it holds the text and a pointer a cell,
 * about 5 bytes a byte of the file; 64 MiB is 3 million rows of the
 * simulation's 7 columns (`moe generate --task shift --n 1000000` writes
 * 36 MB), and a larger file (or /dev/zero) is refused before it is read
 * whole. */
#define AC_MOE_CSV_BYTES_MAX (64L << 20)

/* A CSV file read as text: a header of column names (line 1, or the first
 * non-blank line), then rows of the same number of cells.  Cells are
 * separated by commas and trimmed of spaces and tabs; quoting is not
 * supported (a comma always separates).  Blank lines and lines whose
 * first non-blank character is '#' (comments) are skipped.  A
 * struct the caller owns (_init, _clear). */
typedef struct {
    char path[4096]; /* the name messages use (copied; PATH_MAX) */
    int ncol, nrow;
    char **name;     /* ncol column names */
    char **cell;     /* nrow x ncol cells, row-major */
    int *line;       /* nrow: the file line of each row (from 1) */
    char *buf;       /* storage of every string (owned) */
} ac_moe_csv;

void ac_moe_csv_init(ac_moe_csv *c);
void ac_moe_csv_clear(ac_moe_csv *c);
/* Read path into c (initialised).  AC_EIO when it cannot be opened;
 * AC_EPARSE with "PATH: ..." for an empty file (no header), a header
 * without data rows, an empty or repeated column name, a row with another
 * number of cells ("PATH:LINE: 7 cells, the header has 9") or a line over
 * AC_MOE_CSV_LINE_MAX, a NUL byte, text that is not UTF-8 or holds a
 * control character ("PATH:LINE: not a text file (byte 0xNN at column C)",
 * verify/text.h), a file over AC_MOE_CSV_BYTES_MAX;
 * AC_ENOMEM.  A UTF-8 byte-order mark at the start is skipped.  On error c
 * is left empty. */
ac_status ac_moe_csv_read(const char *path, ac_moe_csv *c, ac_msg *msg);
/* The same from text in memory; name is used in messages. */
ac_status ac_moe_csv_parse(const char *text, const char *name, ac_moe_csv *c, ac_msg *msg);
/* The column of a name, or -1. */
int ac_moe_csv_column(const ac_moe_csv *c, const char *name);

/* A row filter COL=VALUE[,VALUE...]: a row is kept when its cell in column
 * COL equals one of the values (text comparison after trimming). */
#define AC_MOE_FILTER_MAX_VALUES 64
typedef struct {
    int col;
    int nval;
    char val[AC_MOE_FILTER_MAX_VALUES][128];
} ac_moe_filter;

/* Parse expr against c's header.  AC_EINVAL with a sentence for a missing
 * '=', an unknown column, an empty value, more than
 * AC_MOE_FILTER_MAX_VALUES values or a value over 127 characters. */
ac_status ac_moe_filter_parse(const char *expr, const ac_moe_csv *c, ac_moe_filter *f, ac_msg *msg);
/* 1 when row r of c passes f. */
int ac_moe_filter_match(const ac_moe_filter *f, const ac_moe_csv *c, int r);

/* The most categories a table read without a given K may have: the
 * baselines' parameters grow as K^2 per feature, and a cell of 10^6 in a
 * small table would otherwise ask for gigabytes. */
#define AC_MOE_TAB_NCAT_MAX 1000

/* The rows of c passing f as a categorical table: the columns feat[0..nfeat)
 * then target, every cell a whole number 0..ncat-1 written in decimal.
 * ncat <= 0: K is not given; the cells may be 0..AC_MOE_TAB_NCAT_MAX-1 and
 * out->ncat is 1 + the largest one read.  out is initialised here.
 * AC_EPARSE "PATH:LINE: column NAME (column K): ..." for a missing cell, a
 * cell that is not a whole number, a negative category, or one outside
 * 0..ncat-1 (K not given: above AC_MOE_TAB_NCAT_MAX-1, named as the reader's
 * limit, not as a K); AC_EINVAL when no row passes f ("PATH: the filter
 * COL=.. selects no rows"), nfeat < 1 or ncat > AC_MOE_TAB_NCAT_MAX;
 * AC_ENOMEM. */
ac_status ac_moe_csv_table(const ac_moe_csv *c, const ac_moe_filter *f, const int *feat, int nfeat,
                           int target, int ncat, ac_moe_tab *out, ac_msg *msg);

/* The split column of ac_moe_tab_write_csv. */
#define AC_MOE_SPLIT_COLUMN "split"

/* Write train and test as one CSV: an optional "# comment" line, the
 * header x0,..,x{L-2},y,split, then the training rows (split = train) and
 * the test rows (split = test).  ac_moe_csv_read with the filters
 * split=train and split=test and the columns x0.., y reads them back.
 * AC_EIO when the stream reports an error (ferror). */
ac_status ac_moe_tab_write_csv(FILE *f, const char *comment, const ac_moe_tab *train, const ac_moe_tab *test);

/* ---- Auto MPG (§3.6) ----------------------------------------------------- */

/* Where the project keeps its copy of the UCI file (relative to the
 * repository root, where attncheck runs); the environment variable
 * AC_MOE_MPG_ENV, when set, names another path. */
#define AC_MOE_MPG_PATH "data/auto-mpg.csv"
#define AC_MOE_MPG_ENV "ATTNCHECK_AUTO_MPG"
/* Terciles (§3.6): every binned column and the target have 3 categories. */
#define AC_MOE_MPG_NCAT 3

typedef struct {
    int read;          /* data rows in the file (398) */
    int missing;       /* dropped for a '?' in a column used (6, horsepower) */
    int cylinders;     /* dropped for cylinders other than 4, 6, 8 (7) */
    int ntrain, ntest; /* origin 1; origins 2 and 3 (245, 140) */
} ac_moe_mpg_info;

/* Prepare the Auto MPG table c (columns found by name: mpg, cylinders,
 * displacement, horsepower, weight, acceleration, model year, origin) as
 * §3.6: drop rows with '?' in one of them (counted), keep cylinders 4, 6, 8
 * (counted) and map them to cylinders/2 - 2; displacement, horsepower,
 * weight, acceleration, model year and the target mpg into terciles pooled
 * over the kept rows; train = origin 1, test = origins 2 and 3.  train and
 * test (initialised) get 7 columns x0..x5, y.  AC_EPARSE "PATH:LINE: column
 * NAME (column K): ..." for a missing or non-numeric cell or an origin
 * other than 1..3; AC_EINVAL for a missing column or tied terciles;
 * AC_ENOMEM. */
ac_status ac_moe_mpg_prepare(const ac_moe_csv *c, ac_moe_tab *train, ac_moe_tab *test,
                             ac_moe_mpg_info *info, ac_msg *msg);

#endif
