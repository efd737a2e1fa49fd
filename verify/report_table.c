/* The tables people read and the table programs read: Markdown and LaTeX
 * reports, written by one walk over the results (document head, summary
 * table, then per claim a heading, the statement, the timing line, the error,
 * the row table and the list of tolerance reasons), with everything that
 * differs between the two held in a dialect table of cell, row, heading and
 * escape rules; and CSV, one line per claim row (RFC 4180 quoting). */
#include "verify/report.h"
#include "verify/report_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- dialects */

/* A column of a table: its heading in each dialect and its alignment. */
typedef struct {
    const char *head[2]; /* indexed by dialect.lang */
    char align;          /* 'l' or 'r' */
} column;

typedef struct {
    const char *what; /* names the report in messages */
    int lang;         /* 0 Markdown, 1 LaTeX: which column heading */
    /* the title, the run line and whatever precedes the summary table */
    void (*head)(FILE *f, const ac_paper_def *paper, const ac_report_meta *meta);
    void (*text)(FILE *f, const char *s);  /* escape a text */
    void (*number)(FILE *f, double x);     /* a number cell */
    const char *dash;                      /* a cell with no number */
    const char *code_open, *code_close;    /* around a claim id */
    const char *heading_open[2];           /* level 2 and 3 */
    const char *heading_close, *after_group_heading;
    const char *quote_open;                /* before the statement */
    const char *par_end;                   /* ends a paragraph */
    const char *error_label;
    /* tables: what opens one (NULL: nothing), with the column alignments
     * ("llrr") between table_open and table_align when it is not NULL; the
     * rule under the heading row (per column, by alignment); each row's
     * start, cell separator and end; and the table's end */
    const char *table_open, *table_align, *rule_open, *rule_left, *rule_right, *rule_close;
    const char *row_open, *cell_sep, *row_close, *table_close;
    /* the list of tolerance reasons, and what ends a claim */
    const char *list_open, *item, *list_close, *claim_end;
} dialect;

/* ---- Markdown */

static void md_head(FILE *f, const ac_paper_def *paper, const ac_report_meta *meta)
{
    fputs("# ", f);
    if (paper) {
        ac_report_md_text(f, paper->title && *paper->title ? paper->title : paper->name);
        fputs("\n\nPaper `", f);
        ac_report_md_text(f, paper->name);
        fputs("`. ", f);
    } else {
        fputs("attncheck results\n\n", f);
    }
    ac_report_md_run_line(f, meta);
    fputs("## Summary\n\n", f);
}

static void md_number(FILE *f, double x)
{
    fputs(ac_report_number(x, AC_REPORT_DIGITS_HUMAN, AC_NUM_SIGNIFICANT).s, f);
}

static const dialect markdown = {
    .what = "markdown report",
    .lang = 0,
    .head = md_head,
    .text = ac_report_md_text,
    .number = md_number,
    .dash = "-",
    .code_open = "",
    .code_close = "",
    .heading_open = {"## ", "### "},
    .heading_close = "\n\n",
    .after_group_heading = "",
    .quote_open = "> ",
    .par_end = "\n\n",
    .error_label = "**Error:** ",
    .table_open = NULL,
    .table_align = NULL,
    .rule_open = "|",
    .rule_left = "---|",
    .rule_right = "---:|",
    .rule_close = "\n",
    .row_open = "| ",
    .cell_sep = " | ",
    .row_close = " |\n",
    .table_close = "\n",
    .list_open = "Tolerances:\n\n",
    .item = "- ",
    .list_close = "\n",
    .claim_end = "",
};

/* ---- LaTeX */

/* Text with every character LaTeX treats specially escaped; line breaks and
 * tabs become spaces. */
static void tex_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '\\': fputs("\\textbackslash{}", f); break;
        case '{': fputs("\\{", f); break;
        case '}': fputs("\\}", f); break;
        case '$': fputs("\\$", f); break;
        case '&': fputs("\\&", f); break;
        case '#': fputs("\\#", f); break;
        case '_': fputs("\\_", f); break;
        case '%': fputs("\\%", f); break;
        case '~': fputs("\\textasciitilde{}", f); break;
        case '^': fputs("\\textasciicircum{}", f); break;
        case '<': fputs("\\textless{}", f); break;
        case '>': fputs("\\textgreater{}", f); break;
        case '|': fputs("\\textbar{}", f); break;
        case '\n': case '\r': case '\t': fputc(' ', f); break;
        default: fputc(*s, f);
        }
    }
}

/* Text in a % comment: only line breaks matter. */
static void tex_comment(FILE *f, const char *s)
{
    for (; s && *s; s++)
        fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
}

/* A number in math mode: 1.5e-05 as $1.5\times10^{-5}$. */
static void tex_number(FILE *f, double x)
{
    if (isnan(x)) {
        fputs("NaN", f);
        return;
    }
    if (isinf(x)) {
        fputs(x > 0 ? "$\\infty$" : "$-\\infty$", f);
        return;
    }
    ac_numtext t = ac_report_number(x, AC_REPORT_DIGITS_HUMAN, AC_NUM_SIGNIFICANT);
    char *e = strchr(t.s, 'e');
    if (!e) {
        fprintf(f, "$%s$", t.s);
        return;
    }
    *e = '\0';
    fprintf(f, "$%s\\times10^{%d}$", t.s, atoi(e + 1));
}

static void tex_head(FILE *f, const ac_paper_def *paper, const ac_report_meta *meta)
{
    char date[64];
    fprintf(f, "%% attncheck %s report; needs \\usepackage{booktabs}\n%% command: ", AC_VERSION);
    tex_comment(f, meta ? meta->command_line : "");
    fputs("\n\\section*{", f);
    if (paper)
        tex_text(f, paper->title && *paper->title ? paper->title : paper->name);
    else
        fputs("attncheck results", f);
    fprintf(f, "}\nattncheck %s (library source %s), seed %lu, size ", AC_VERSION, ac_report_source(meta),
            meta ? meta->seed : 0UL);
    tex_text(f, meta && meta->size ? meta->size : "?");
    fputs(", ", f);
    tex_text(f, ac_report_date(meta, date, sizeof date));
    fputs(".\\par\n\n", f);
}

static const dialect latex = {
    .what = "LaTeX report",
    .lang = 1,
    .head = tex_head,
    .text = tex_text,
    .number = tex_number,
    .dash = "--",
    .code_open = "\\texttt{",
    .code_close = "}",
    .heading_open = {"\\subsection*{", "\\subsubsection*{"},
    .heading_close = "}\n",
    .after_group_heading = "\n",
    .quote_open = "",
    .par_end = "\\par\n",
    .error_label = "\\textbf{Error:} ",
    .table_open = "\\begin{tabular}{",
    .table_align = "}\n\\toprule\n",
    .rule_open = "\\midrule\n",
    .rule_left = "",
    .rule_right = "",
    .rule_close = "",
    .row_open = "",
    .cell_sep = " & ",
    .row_close = " \\\\\n",
    .table_close = "\\bottomrule\n\\end{tabular}\n\n",
    .list_open = "\\begin{itemize}\n",
    .item = "\\item ",
    .list_close = "\\end{itemize}\n",
    .claim_end = "\n",
};

/* ---------------------------------------------------------------- the walk */

static const column summary_cols[] = {
    {{"id", "Claim"}, 'l'},
    {{"verdict", "Verdict"}, 'l'},
    {{"failing rows", "Failing rows"}, 'r'},
    {{"seconds", "Seconds"}, 'r'},
};

static const column row_cols[] = {
    {{"quantity", "Quantity"}, 'l'},   {{"theory", "Theory"}, 'r'},
    {{"experiment", "Experiment"}, 'r'}, {{"metric", "Metric"}, 'l'},
    {{"deviation", "Deviation"}, 'r'}, {{"tolerance", "Tolerance"}, 'r'},
    {{"verdict", "Verdict"}, 'l'},
};

#define NCOLS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The separator before cell i of a row. */
static void cell(FILE *f, const dialect *d, int i)
{
    fputs(i == 0 ? d->row_open : d->cell_sep, f);
}

static void cell_text(FILE *f, const dialect *d, int i, const char *s)
{
    cell(f, d, i);
    d->text(f, s);
}

/* A number cell, or the dash when the number is absent. */
static void cell_number(FILE *f, const dialect *d, int i, double x, int absent)
{
    cell(f, d, i);
    if (absent)
        fputs(d->dash, f);
    else
        d->number(f, x);
}

static void table_begin(FILE *f, const dialect *d, const column *cols, int n)
{
    char align[16];
    for (int i = 0; i < n && i < (int)sizeof align - 1; i++)
        align[i] = cols[i].align;
    align[n < (int)sizeof align - 1 ? n : (int)sizeof align - 1] = '\0';
    if (d->table_open) {
        fputs(d->table_open, f);
        fputs(align, f);
        fputs(d->table_align, f);
    }
    for (int i = 0; i < n; i++) {
        cell(f, d, i);
        fputs(cols[i].head[d->lang], f);
    }
    fputs(d->row_close, f);
    fputs(d->rule_open, f);
    for (int i = 0; i < n; i++)
        fputs(cols[i].align == 'r' ? d->rule_right : d->rule_left, f);
    fputs(d->rule_close, f);
}

static void summary(FILE *f, const dialect *d, const ac_claim_result *res, int nres)
{
    table_begin(f, d, summary_cols, NCOLS(summary_cols));
    for (int i = 0; i < nres; i++) {
        const ac_claim_result *r = &res[i];
        ac_report_rows c = ac_report_count_rows(r);
        char verdict[32], rows[32];
        snprintf(verdict, sizeof verdict, "%s%s", ac_verdict_str(r->verdict),
                 r->status != AC_OK ? " (error)" : "");
        snprintf(rows, sizeof rows, "%d/%d", c.failing, c.judged);
        cell(f, d, 0);
        fputs(d->code_open, f);
        d->text(f, r->id);
        fputs(d->code_close, f);
        cell_text(f, d, 1, verdict);
        cell_text(f, d, 2, rows);
        cell_text(f, d, 3,
                  ac_report_number(r->theory_seconds + r->empirical_seconds, 2, AC_NUM_DECIMALS).s);
        fputs(d->row_close, f);
    }
    fputs(d->table_close, f);
}

static void row_table(FILE *f, const dialect *d, const ac_claim_result *r)
{
    table_begin(f, d, row_cols, NCOLS(row_cols));
    for (int i = 0; i < r->nrows; i++) {
        const ac_claim_row *w = &r->rows[i];
        /* an unjudged row has no deviation or tolerance, and may have no
         * theory value: a dash, not "nan" and "0" */
        int info = w->metric == AC_METRIC_INFO;
        cell_text(f, d, 0, w->quantity);
        cell_number(f, d, 1, w->theory, isnan(w->theory));
        cell_number(f, d, 2, w->empirical, 0);
        cell_text(f, d, 3, ac_metric_str(w->metric));
        cell_number(f, d, 4, w->deviation, info);
        cell_number(f, d, 5, w->tol, info);
        cell_text(f, d, 6, ac_verdict_str(w->verdict));
        fputs(d->row_close, f);
    }
    fputs(d->table_close, f);
}

static void reasons(FILE *f, const dialect *d, const ac_claim_result *r)
{
    fputs(d->list_open, f);
    for (int i = 0; i < r->nrows; i++) {
        const ac_claim_row *w = &r->rows[i];
        fputs(d->item, f);
        d->text(f, w->quantity);
        if (w->theory_what[0]) {
            fputs(" (theory: ", f);
            d->text(f, w->theory_what);
            fputc(')', f);
        }
        fputs(": ", f);
        /* a judged row always has its reason (tests/test_claim.c); an
         * unjudged one without a note is shown for information, which is
         * what the reader needs to know of it ("no reason given" read as
         * a judged row missing its tolerance's reason) */
        d->text(f, w->tol_reason[0]                     ? w->tol_reason
                   : w->metric == AC_METRIC_INFO ? "shown, not judged"
                                                 : "(no reason given)");
        fputc('\n', f);
    }
    fputs(d->list_close, f);
}

/* One claim under a heading of level 0 (a paper's report) or 1 (in the group
 * of its paper). */
static void claim(FILE *f, const dialect *d, const ac_claim_result *r, int level)
{
    fputs(d->heading_open[level], f);
    fputs(d->code_open, f);
    d->text(f, r->id);
    fputs(d->code_close, f);
    fprintf(f, ": %s", ac_verdict_str(r->verdict));
    fputs(d->heading_close, f);
    if (r->statement && *r->statement) {
        fputs(d->quote_open, f);
        d->text(f, r->statement);
        fputs(d->par_end, f);
    }
    fprintf(f, "Seconds: theory %s, experiment %s.",
            ac_report_number(r->theory_seconds, 3, AC_NUM_DECIMALS).s,
            ac_report_number(r->empirical_seconds, 3, AC_NUM_DECIMALS).s);
    if (r->setup[0]) {
        fputs(" Setup: ", f);
        d->text(f, r->setup);
    }
    fputs(d->par_end, f);
    if (r->status != AC_OK) {
        fputs(d->error_label, f);
        d->text(f, r->error);
        fputs(d->par_end, f);
    }
    if (r->nrows > 0) {
        row_table(f, d, r);
        reasons(f, d, r);
    }
    fputs(d->claim_end, f);
}

static ac_status write_dialect(FILE *f, const dialect *d, const ac_paper_def *paper,
                               const ac_claim_result *res, int nres, const ac_report_meta *meta,
                               ac_msg *msg)
{
    d->head(f, paper, meta);
    summary(f, d, res, nres);
    if (paper) {
        for (int i = 0; i < nres; i++)
            claim(f, d, &res[i], 0);
        return ac_report_check_stream(f, d->what, msg);
    }
    int np;
    const char **names = ac_report_papers(res, nres, &np);
    if (!names)
        return ac_fail(msg, AC_ENOMEM, "%s: no memory for %d paper names", d->what, nres);
    for (int p = 0; p < np; p++) {
        fputs(d->heading_open[0], f);
        fputs("Paper ", f);
        d->text(f, names[p]);
        fputs(d->heading_close, f);
        fputs(d->after_group_heading, f);
        for (int i = 0; i < nres; i++)
            if (ac_report_same_text(res[i].paper, names[p]))
                claim(f, d, &res[i], 1);
    }
    free(names);
    return ac_report_check_stream(f, d->what, msg);
}

ac_status ac_report_write_table(FILE *f, ac_format fmt, const ac_paper_def *paper,
                                const ac_claim_result *res, int nres,
                                const ac_report_meta *meta, ac_msg *msg)
{
    return write_dialect(f, fmt == AC_FMT_TEX ? &latex : &markdown, paper, res, nres, meta, msg);
}

/* -------------------------------------------------------------------- CSV */

/* One field, quoted (RFC 4180 §2.6-2.7) when it holds a comma, a quote, CR
 * or LF; quotes inside are doubled. */
static void csv_field(FILE *f, const char *s, int last)
{
    s = ac_report_nz(s);
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

static void csv_number(FILE *f, double x)
{
    csv_field(f, ac_report_number(x, AC_REPORT_DIGITS_EXACT, AC_NUM_SIGNIFICANT).s, 0);
}

static void csv_claim_fields(FILE *f, const ac_claim_result *r)
{
    csv_field(f, r->paper, 0);
    csv_field(f, r->id, 0);
    csv_field(f, ac_verdict_str(r->verdict), 0);
    csv_field(f, ac_status_str(r->status), 0);
}

ac_status ac_report_write_csv(FILE *f, const ac_claim_result *res, int nres, ac_msg *msg)
{
    fputs("paper,claim,claim_verdict,claim_status,quantity,theory_what,theory,empirical,metric,"
          "deviation,tol,verdict,is_count,tol_reason\n",
          f);
    for (int i = 0; i < nres; i++) {
        const ac_claim_result *r = &res[i];
        if (r->nrows == 0) {
            csv_claim_fields(f, r);
            fputs(",,,,,,,,,\n", f);
            continue;
        }
        for (int j = 0; j < r->nrows; j++) {
            const ac_claim_row *w = &r->rows[j];
            csv_claim_fields(f, r);
            csv_field(f, w->quantity, 0);
            csv_field(f, w->theory_what, 0);
            csv_number(f, w->theory);
            csv_number(f, w->empirical);
            csv_field(f, ac_metric_str(w->metric), 0);
            csv_number(f, w->deviation);
            csv_number(f, w->tol);
            csv_field(f, ac_verdict_str(w->verdict), 0);
            csv_field(f, w->is_count ? "1" : "0", 0);
            csv_field(f, w->tol_reason, 1);
        }
    }
    return ac_report_check_stream(f, "CSV report", msg);
}
