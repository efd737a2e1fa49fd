/* Report writers: the claim results of one paper (or of several) as
 * Markdown, CSV, JSON or LaTeX tables, the index of all tables
 * (results/README.md), and the JSON reader that `regress` loads baselines
 * with.  One public header; the code sits in one file per job:
 *   verify/report.c        formats, numbers, ac_report_write
 *   verify/report_table.c  Markdown and LaTeX (one walk, two dialects) and CSV
 *   verify/report_json.c   JSON written and read from one field table (jansson)
 *   verify/report_index.c  the index of all tables
 *   verify/report_file.c   a report or the index written whole into a file
 *
 * The writers know no paper: they read the claim record (verify/claim.h) and,
 * where given, a paper's name and title from its ac_paper_def.  They never
 * open files: the caller passes the stream (verify/atomic.h makes it appear
 * whole) and checks it flushed.
 *
 * Pointers.  Every pointer passed in is borrowed for the duration of the call
 * and never kept.  What the reader returns lives in the ac_report_set until
 * ac_report_set_clear (see there).
 *
 * Numbers.  JSON and CSV write every double with 17 significant digits, so
 * that it reads back bit for bit (negative zero and subnormals included);
 * Markdown and LaTeX, which people read, use 6.  The decimal point is '.'
 * whatever the locale (LC_NUMERIC).  JSON has no NaN or infinity: such a value
 * is written as the string "nan", "inf" or "-inf" (CSV writes the same words),
 * and the reader turns the strings back.  A NaN reads back as a quiet NaN; its
 * sign and payload are not kept. */
#ifndef AC_REPORT_H
#define AC_REPORT_H

#include <stdio.h>

#include "solvers/status.h"
#include "verify/claim.h"

typedef enum { AC_FMT_MD = 0, AC_FMT_CSV, AC_FMT_JSON, AC_FMT_TEX } ac_format;

#define AC_FMT_COUNT 4
/* Every format, as a mask of (1u << fmt) bits (ac_report_index). */
#define AC_FMT_ALL ((1u << AC_FMT_COUNT) - 1u)

/* Parse "md" | "markdown" | "csv" | "json" | "tex" | "latex"; -1 when unknown. */
int ac_format_parse(const char *s);
/* The file extension without the dot: "md", "csv", "json", "tex"; "?" when
 * fmt is out of range. */
const char *ac_format_ext(ac_format fmt);

/* Significant digits of the numbers people read (Markdown, LaTeX) and of
 * those read back (JSON, CSV, figure data): 17 identify every double. */
#define AC_REPORT_DIGITS_HUMAN 6
#define AC_REPORT_DIGITS_EXACT 17

/* A formatted number, returned by value so that it can be used in one
 * expression: printf("%s", ac_report_number(x, 6, AC_NUM_SIGNIFICANT).s). */
typedef struct {
    char s[48];
} ac_numtext;

typedef enum {
    AC_NUM_SIGNIFICANT = 0, /* digits significant digits, printf %.*g */
    AC_NUM_DECIMALS         /* digits digits after the point, printf %.*f (seconds) */
} ac_numstyle;

/* x as text, the one number formatter of every report and figure: "nan",
 * "inf" or "-inf" when x is not finite, else printf's %g or %f with '.' as
 * the decimal point whatever the locale.  A %f text that would not fit (|x|
 * beyond about 1e42) is written as %.17g instead.  digits is clamped to
 * [0, 17]. */
ac_numtext ac_report_number(double x, int digits, ac_numstyle style);

/* What a run records beside its results.  Every field is borrowed and may be
 * NULL (written as empty, or for date: the current UTC time,
 * "YYYY-MM-DDTHH:MM:SSZ"). */
typedef struct {
    const char *command_line;
    unsigned long seed;
    const char *size;        /* "quick" | "default" | "paper" (ac_size_str) */
    const char *date;
    const char *source;      /* the library source that ran the claims (ac_trial_source_id,
                                verify/trial.h); NULL: this build's */
} ac_report_meta;

/* Write res[0..nres-1] to f in format fmt.
 *
 * paper names the paper all results belong to (its title heads the Markdown
 * and LaTeX reports, its name and title go into JSON); it may be NULL when
 * the results mix papers: the Markdown and LaTeX reports then group the
 * claims by res[i].paper, in the order each paper first appears, and JSON
 * writes "paper": null.  Only paper->name and paper->title are read.  meta
 * may be NULL (JSON then writes empty fields and the current date).
 *
 * Layouts:
 *   MD    title, run line, a summary table (id | verdict | failing rows |
 *         seconds), then per claim: a heading with id and verdict, the
 *         statement, seconds theory/experiment, the setup line, the table
 *         quantity | theory | experiment | metric | deviation | tolerance |
 *         verdict (one line per row), and the list of tolerance reasons.
 *   CSV   a header line, then one line per claim row (a claim without rows,
 *         e.g. one that could not run, gets one line with empty row fields),
 *         fields quoted as RFC 4180 asks when they hold a comma, a quote, CR
 *         or LF; lines end with LF.
 *   JSON  {"meta": {...}, "paper": {"name", "title"} | null,
 *          "summary": {"pass", "fail", "info"}, "claims": [...]}: every field
 *         of every ac_claim_result, its rows and its figures with their
 *         series (see ac_report_read_json for the keys); status is written as
 *         the enumerator's name ("AC_OK").
 *   TEX   a fragment to \input (needs \usepackage{booktabs}): a summary table
 *         and a table per claim, \toprule/\midrule/\bottomrule; every special
 *         character of a text is escaped.
 *
 * AC_OK; AC_EINVAL (msg says which) for a NULL stream, nres < 0, a NULL res
 * with nres > 0 or an unknown fmt; AC_ENOMEM; AC_EIO when the stream reports
 * a write error (ferror).  Nothing is closed. */
ac_status ac_report_write(FILE *f, ac_format fmt, const ac_paper_def *paper,
                          const ac_claim_result *res, int nres, const ac_report_meta *meta,
                          ac_msg *msg);

/* The index of all tables, results/README.md: a table with one line per paper
 * (name, title, links to NAME.EXT for each format in formats, counts of PASS,
 * FAIL and INFO claims among res), then, when fig_dir is not NULL, each
 * figure of each result as a Markdown image link fig_dir/NAME.png.  Links are
 * relative to the index file.
 *
 * papers[0..npapers-1] lists the papers in the order to show (from the
 * registry or chosen by the caller; only name and title are read); papers may
 * be NULL, and then the papers are the distinct res[i].paper in order of
 * appearance, titled by their names.  formats is a mask of (1u << ac_format)
 * bits, AC_FMT_ALL for all.  meta may be NULL.
 *
 * AC_OK; AC_EINVAL for a NULL stream or negative counts; AC_EIO on a write
 * error. */
ac_status ac_report_index(FILE *f, const ac_paper_def *const *papers, int npapers,
                          const ac_claim_result *res, int nres, unsigned formats,
                          const char *fig_dir, const ac_report_meta *meta, ac_msg *msg);


/* Results read back from a JSON report.  The set owns everything: the
 * results (rows, figures, series arrays), the strings their id, paper and
 * statement point to, and the meta strings below.  Every pointer into the set
 * (res, res[i].rows, res[i].id, paper_name, ...) stays valid until
 * ac_report_set_clear and dies there; copy what must outlive it.  Do not call
 * ac_claim_result_clear on its results. */
typedef struct {
    ac_claim_result *res;
    int nres;
    char *paper_name;        /* NULL when the report mixed papers */
    char *paper_title;
    /* meta as written (command line, seed, size, date, version; source, NULL
     * in a report written before reports carried it) */
    char *command_line, *size, *date, *version, *source;
    unsigned long seed;
    /* private: owned copies of the strings above and of res[i].id/paper/statement */
    char **strings_;
    int nstrings_, capstrings_;
} ac_report_set;

/* Read the JSON report at path (as ac_report_write wrote it) into *set, which
 * is overwritten (it need not be initialised; on failure it is left empty,
 * safe to pass to ac_report_set_clear).
 *
 * A UTF-8 byte-order mark before the text is skipped.
 * The keys read are those the writer writes, from the same field table
 * (verify/report_json.c).  Every one is required, except "summary", which is
 * derived and ignored; unknown keys are ignored.  Numbers may be JSON numbers
 * or the strings "nan", "inf", "-inf".  Strings must fit their fields
 * (AC_CLAIM_TEXT, ...).
 *
 * AC_OK; AC_EIO (msg names the path and the system error) when the file
 * cannot be read; AC_EPARSE when the text is not JSON, with msg
 * "PATH:LINE:COLUMN: reason" (jansson's position and message; a duplicate key
 * is named there), or when a key is missing, has the wrong type or a bad
 * value, with msg "PATH: KEYPATH: reason", the key path naming the value,
 * e.g. `claims[2].rows[0]: missing key "theory"` or
 * `claims[0].rows[3].is_count: expected an integer, found a string`
 * (jansson keeps no positions of values); AC_ENOMEM. */
ac_status ac_report_read_json(const char *path, ac_report_set *set, ac_msg *msg);

/* As ac_report_read_json, from text[0..len-1] (borrowed for the call); name
 * stands for the path in messages.  The text need not be NUL-terminated. */
ac_status ac_report_parse_json(const char *text, size_t len, const char *name,
                               ac_report_set *set, ac_msg *msg);

/* printf writes LC_NUMERIC's decimal point; reports and gnuplot data use '.'.
 * Replace the first decimal point in buf (a number printf wrote) by '.'
 * (ac_report_number does this already). */
void ac_report_fix_decimal_point(char *buf);

/* Release everything set owns and empty it; NULL is a no-op. */
void ac_report_set_clear(ac_report_set *set);

#endif
