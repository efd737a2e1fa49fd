/* The file formats of the joma commands (cli/joma.c; docs/joma.md): the
 * drive vector of the reduced dynamics (mu or Delta), the user's token file,
 * the distribution data file of spec joma §4.1, and the trajectory an
 * integration writes (CSV or JSON).
 *
 * Vector file: one number per line (decimal, read as strtod in the C locale
 * whatever the process locale), blank lines and comments (from '#' to the
 * end of the line) ignored:
 *     # mu of the toy
 *     1.2
 *     3.5e-1
 * A vector list (an option value): numbers separated by commas, "1.2,0.35".
 *
 * Token file: one sequence per line, its tokens separated by spaces or tabs;
 * a token is any word (UTF-8, no space), integer ids included ("17" is the
 * word 17).  The last token of a line is the next token, the label; the
 * tokens before it are the context.  Sample n is (x^(n), y^(n)) with x^(n)
 * the normalised counts of the context tokens of line n over the context
 * vocabulary (M distinct context tokens, in order of first appearance) and
 * y^(n) the label's index among the K distinct labels (order of first
 * appearance): the data of spec joma §1.1 with one query.  No comments (a
 * '#' is a word); every line needs at least two tokens; a blank line is an
 * error (it is an empty sequence).
 *
 * Data file: one sample per line, M numbers x_1 .. x_M (>= 0, finite, not all
 * 0), then '|', then the label (a decimal integer from 0 to
 * AC_JOMA_IO_LABEL_MAX).  K is the number of distinct labels used (at most
 * AC_JOMA_IO_MAX_VOCAB), class k the k-th smallest of them: labels 3 and
 * 4095 alone make K = 2 (class 0 = label 3, class 1 = label 4095), so memory
 * and time follow the data, never the value of a label; labels 0 .. K-1 all
 * used (what the writer writes) are their own classes.  Every line has the
 * same M.  Comments and blank lines as in the vector file.  Rows are used as
 * written (the writer writes %.17g, so a written data set reads back bit for
 * bit).
 *
 * All readers: a line may end in LF or CRLF, a leading UTF-8 byte-order mark
 * is skipped, the input must be UTF-8 text without control characters other
 * than tab, CR and LF (else "NAME:LINE: not a text file (byte 0x.. at column
 * C)"), and at most AC_JOMA_IO_MAX_BYTES long.  Every parse error returns
 * AC_EPARSE with msg "NAME:LINE: reason" (or "NAME: reason" when no line is
 * to blame); an unreadable file AC_EIO with "PATH: system error".  On an
 * error the outputs are empty (NULL / 0).  Nothing here prints, exits or
 * changes the process locale. */
#ifndef AC_JOMA_IO_H
#define AC_JOMA_IO_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "solvers/ode.h"
#include "solvers/status.h"
#include "verify/joma_data.h"

/* Bytes in one input: 64 MiB, some 3 million numbers in %.17g; reading
 * stops past it, so an endless stream costs at most that. */
#define AC_JOMA_IO_MAX_BYTES ((size_t)1 << 26)
/* Entries of a vector, tokens on a line, numbers in a data row: 2^20.  A
 * reduced system of that size takes seconds per unit of time. */
#define AC_JOMA_IO_MAX_VALUES (1 << 20)
/* Distinct context tokens (M) and labels (K) of a token or data file: 4096.
 * The joint flow has M + K M + K unknowns; at M = K = 4096 that is 16.8
 * million, already beyond what the comparison can integrate. */
#define AC_JOMA_IO_MAX_VOCAB 4096
/* The samples are held dense: X (N x M) and the one-hot Y (N x K), N (M + K)
 * doubles, at most 2^25 (256 MiB).  Without it a 1.2 MB token file (4096
 * distinct context words, then 200000 short lines) asked for 6.7 GB (and,
 * while K was 1 + the largest label, an 8 MB data file of rows "1 | 4095"
 * for 32 GB).  The §4.1 data need 20 x 40. */
#define AC_JOMA_IO_MAX_DENSE ((size_t)1 << 25)
/* The largest label of a data file: 2^53 - 1, so that every label is an
 * exact double too (a JSON reader such as Python's json or JavaScript gets
 * the label the file holds); parsed as a 64-bit integer, so a longer
 * one is refused by value, not wrapped. */
#define AC_JOMA_IO_LABEL_MAX ((long long)(((long long)1 << 53) - 1))
/* Messages quote at most this many bytes of an offending word, then "...". */
#define AC_JOMA_IO_QUOTE_MAX 40

/* ---- vectors -------------------------------------------------------------- */

/* Parse a vector file from buf[0..len) (need not be NUL-terminated); name is
 * used in messages (NULL: "<input>").  On AC_OK *x is a new array of *n >= 1
 * finite doubles (free()).  AC_EPARSE: a word that is not a decimal number
 * ("NAME:LINE: 'abc' is not a number"), a non-finite one ("NAME:LINE: 'nan'
 * is not a finite number"), two numbers on a line, no numbers ("NAME: no
 * numbers"), more than AC_JOMA_IO_MAX_VALUES, not text; AC_ENOMEM. */
ac_status ac_joma_io_parse_vector(const char *buf, size_t len, const char *name, double **x, int *n,
                                  ac_msg *msg);
/* Read path and parse it (path as the name).  AC_EIO when unreadable. */
ac_status ac_joma_io_read_vector(const char *path, double **x, int *n, ac_msg *msg);
/* Parse a comma-separated list (NUL-terminated text; name, e.g. "--mu", in
 * messages: "--mu: entry 3 'x' is not a number").  Same results. */
ac_status ac_joma_io_parse_list(const char *text, const char *name, double **x, int *n, ac_msg *msg);
/* Write x (n entries) in the vector format: header (may be NULL; each of its
 * lines becomes a '#' comment line) then one %.17g number per line in the C
 * locale, so that reading it back gives the same doubles bit for bit.
 * AC_EINVAL (nothing written) for a non-finite entry or n < 1; AC_EIO when
 * the stream fails (f is not flushed or closed). */
ac_status ac_joma_io_write_vector(FILE *f, const char *header, const double *x, int n);

/* ---- token files ---------------------------------------------------------- */

/* A token file turned into data.  Owned (ac_joma_tokens_clear). */
typedef struct {
    ac_joma_data D;   /* N samples, M context tokens, K labels; Y one-hot */
    char **context;   /* M words: column l of D.X */
    char **labels;    /* K words: label k */
    int *line;        /* N: the 1-based line of sample n */
} ac_joma_tokens;

/* Parse a token file (format above).  AC_EPARSE: "NAME: empty file (no
 * sequences)", "NAME:LINE: empty line (each line is one sequence: context
 * tokens, then the next token)", "NAME:LINE: one token; a sequence needs at
 * least one context token before the next token", not text, more than
 * AC_JOMA_IO_MAX_VALUES tokens on a line or AC_JOMA_IO_MAX_VOCAB distinct
 * context tokens or labels; AC_ENOMEM.  On error tk is empty. */
ac_status ac_joma_io_parse_tokens(const char *buf, size_t len, const char *name, ac_joma_tokens *tk,
                                  ac_msg *msg);
ac_status ac_joma_io_read_tokens(const char *path, ac_joma_tokens *tk, ac_msg *msg);
/* Free and zero; a zeroed struct is a no-op. */
void ac_joma_tokens_clear(ac_joma_tokens *tk);

/* ---- data files ----------------------------------------------------------- */

/* Parse a data file into D (initialised by this call; ac_joma_data_clear it
 * after): D->label[n] is the class of row n, the rank of its label among
 * the D->K distinct labels.  When labels is not NULL, *labels is a new array
 * (free()) of the D->K labels as written, increasing: class k is label
 * (*labels)[k].  AC_EPARSE: no '|', a number that is not finite or negative,
 * a row of zeros or whose sum is not a normal double, a label that is not an integer from 0 to
 * AC_JOMA_IO_LABEL_MAX, more than AC_JOMA_IO_MAX_VOCAB distinct labels, a
 * row whose length differs from the first ("NAME:LINE: 19 numbers, but the
 * first row (line 2) has 20"), no rows, not text; AC_ENOMEM.  On error D is
 * empty and *labels NULL. */
ac_status ac_joma_io_parse_data(const char *buf, size_t len, const char *name, ac_joma_data *D,
                                long long **labels, ac_msg *msg);
ac_status ac_joma_io_read_data(const char *path, ac_joma_data *D, long long **labels, ac_msg *msg);
/* Write D in the data format (%.17g, C locale), header as in write_vector;
 * the label written is the class D->label[n], so a D whose K classes all
 * occur reads back with the same classes.  AC_EINVAL for a malformed D
 * (nothing written); AC_EIO on a stream error. */
ac_status ac_joma_io_write_data(FILE *f, const char *header, const ac_joma_data *D);

/* ---- trajectories --------------------------------------------------------- */

/* What `joma integrate` writes (borrowed views). */
typedef struct {
    int M;               /* components of v */
    int nt;              /* rows: the requested times reached (all on DONE) */
    int nt_requested;    /* requested times */
    const double *t;     /* nt times */
    const double *V;     /* nt x M, row-major: v(t_k) */
    const double *H;     /* nt: attention entropy (nats) */
    const double *drift; /* nt: first-integral residual (NaN in a row where it is not measured), or NULL
                            when none is known */
    const char *drift_name; /* what drift measures (JSON key "drift_kind"), NULL with drift */
    double tstar;        /* predicted blow-up time (closed form), or +inf when none */
    ac_ode_info info;    /* how the integration ended */
    const char *method;  /* stepper name */
    double rtol, atol;
    long max_steps;      /* the step budget the run had */
} ac_joma_io_trajectory;

/* CSV: comment lines "# key: value" (outcome, t_reached, steps, max_steps,
 * rejected, nfev, njev, method, rtol, atol, t_star, drift_kind, rows), then
 * the header
 * "t,v_0,..,v_{M-1},entropy,drift" and one row per time reached, %.17g in
 * the C locale (drift empty when none is known, "nan" in a row where it is
 * not measured; t_star "inf" when none).
 * AC_EIO on a stream error. */
ac_status ac_joma_io_write_csv(FILE *f, const ac_joma_io_trajectory *tr);
/* JSON object with keys M, outcome, outcome_text, t_reached, h, steps,
 * max_steps, rejected, nfev, njev, method, rtol, atol, t_star (null when none),
 * drift_kind (null), rows_requested, t (array), v (array of arrays),
 * entropy, drift (array or null), drift_max (null).  New reference (NULL on
 * no memory). */
json_t *ac_joma_io_trajectory_json(const ac_joma_io_trajectory *tr);
/* A short machine name of each ODE outcome: "done", "max_steps",
 * "step_underflow", "blowup", "rhs_refused", "running". */
const char *ac_joma_io_outcome_key(ac_ode_outcome o);

#endif
