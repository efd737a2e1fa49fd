#include "verify/report.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Digits for numbers people read (Markdown, LaTeX) and for numbers read back
 * (JSON, CSV): 17 significant digits identify every double. */
#define REPORT_DIGITS_HUMAN 6
#define REPORT_DIGITS_EXACT 17

static const char *const format_ext[AC_FMT_COUNT] = {"md", "csv", "json", "tex"};

int ac_format_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "markdown") == 0)
        return AC_FMT_MD;
    if (strcmp(s, "latex") == 0)
        return AC_FMT_TEX;
    for (int i = 0; i < AC_FMT_COUNT; i++)
        if (strcmp(s, format_ext[i]) == 0)
            return i;
    return -1;
}

const char *ac_format_ext(ac_format fmt)
{
    return (unsigned)fmt < AC_FMT_COUNT ? format_ext[fmt] : "?";
}

/* ---------------------------------------------------------------- numbers */

/* A formatted number; as a struct it can be returned and used in one
 * expression (`printf("%s", g_num(x, 6).s)`). */
typedef struct {
    char s[64];
} numtext;

void ac_report_fix_decimal_point(char *buf)
{
    const char *dp = localeconv()->decimal_point;
    if (!dp || !*dp || strcmp(dp, ".") == 0)
        return;
    char *q = strstr(buf, dp);
    if (!q)
        return;
    size_t l = strlen(dp);
    *q = '.';
    memmove(q + 1, q + l, strlen(q + l) + 1);
}

/* x with `digits` significant digits (%g); "nan", "inf", "-inf" otherwise. */
static numtext g_num(double x, int digits)
{
    numtext t;
    if (isnan(x))
        snprintf(t.s, sizeof t.s, "nan");
    else if (isinf(x))
        snprintf(t.s, sizeof t.s, "%s", x > 0 ? "inf" : "-inf");
    else {
        snprintf(t.s, sizeof t.s, "%.*g", digits, x);
        ac_report_fix_decimal_point(t.s);
    }
    return t;
}

/* x with `decimals` digits after the point (%f), for seconds. */
static numtext f_num(double x, int decimals)
{
    numtext t;
    if (!isfinite(x))
        return g_num(x, decimals);
    snprintf(t.s, sizeof t.s, "%.*f", decimals, x);
    ac_report_fix_decimal_point(t.s);
    return t;
}

static int same_text(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

/* The current UTC time as YYYY-MM-DDTHH:MM:SSZ. */
static void utc_now(char *buf, size_t cap)
{
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "unknown");
}

static const char *meta_date(const ac_report_meta *meta, char *buf, size_t cap)
{
    if (meta && meta->date)
        return meta->date;
    utc_now(buf, cap);
    return buf;
}

typedef struct {
    int judged, failing;
} row_counts;

static row_counts count_rows(const ac_claim_result *r)
{
    row_counts c = {0, 0};
    for (int i = 0; i < r->nrows; i++) {
        if (r->rows[i].metric != AC_METRIC_INFO)
            c.judged++;
        if (r->rows[i].verdict == AC_VERDICT_FAIL)
            c.failing++;
    }
    return c;
}

/* The distinct paper names of res, in order of first appearance (pointers
 * borrowed from res).  *n receives their number; NULL on no memory. */
static const char **distinct_papers(const ac_claim_result *res, int nres, int *n)
{
    const char **names = malloc(sizeof *names * (size_t)(nres > 0 ? nres : 1));
    *n = 0;
    if (!names)
        return NULL;
    for (int i = 0; i < nres; i++) {
        int seen = 0;
        for (int j = 0; j < *n && !seen; j++)
            seen = same_text(names[j], res[i].paper);
        if (!seen)
            names[(*n)++] = nz(res[i].paper);
    }
    return names;
}

static ac_status check_stream(FILE *f, const char *what, ac_msg *msg)
{
    if (ferror(f))
        return ac_fail(msg, AC_EIO, "%s: write error on the output stream", what);
    return AC_OK;
}

/* --------------------------------------------------------------- Markdown */

/* Text inside a table cell or a line: '|' escaped, line breaks and tabs as
 * spaces, so that one record stays one table line. */
static void md_text(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n' || *s == '\r' || *s == '\t')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

static void md_summary(FILE *f, const ac_claim_result *res, int nres)
{
    fputs("| id | verdict | failing rows | seconds |\n|---|---|---:|---:|\n", f);
    for (int i = 0; i < nres; i++) {
        const ac_claim_result *r = &res[i];
        row_counts c = count_rows(r);
        fputs("| ", f);
        md_text(f, r->id);
        fprintf(f, " | %s%s | %d/%d | %s |\n", ac_verdict_str(r->verdict),
                r->status != AC_OK ? " (error)" : "", c.failing, c.judged,
                f_num(r->theory_seconds + r->empirical_seconds, 2).s);
    }
    fputc('\n', f);
}

static void md_claim(FILE *f, const ac_claim_result *r, const char *hashes)
{
    fprintf(f, "%s ", hashes);
    md_text(f, r->id);
    fprintf(f, ": %s\n\n", ac_verdict_str(r->verdict));
    if (r->statement && *r->statement) {
        fputs("> ", f);
        md_text(f, r->statement);
        fputs("\n\n", f);
    }
    fprintf(f, "Seconds: theory %s, experiment %s.", f_num(r->theory_seconds, 3).s,
            f_num(r->empirical_seconds, 3).s);
    if (r->setup[0]) {
        fputs(" Setup: ", f);
        md_text(f, r->setup);
    }
    fputs("\n\n", f);
    if (r->status != AC_OK) {
        fputs("**Error:** ", f);
        md_text(f, r->error);
        fputs("\n\n", f);
    }
    if (r->nrows == 0)
        return;
    fputs("| quantity | theory | experiment | metric | deviation | tolerance | verdict |\n"
          "|---|---:|---:|---|---:|---:|---|\n",
          f);
    for (int i = 0; i < r->nrows; i++) {
        const ac_claim_row *w = &r->rows[i];
        fputs("| ", f);
        md_text(f, w->quantity);
        /* an unjudged row has no deviation or tolerance, and may have no
         * theory value: a dash, not "nan" and "0" */
        int info = w->metric == AC_METRIC_INFO;
        fprintf(f, " | %s | %s | %s | %s | %s | %s |\n", isnan(w->theory) ? "-" : g_num(w->theory, REPORT_DIGITS_HUMAN).s,
                g_num(w->empirical, REPORT_DIGITS_HUMAN).s, ac_metric_str(w->metric),
                info ? "-" : g_num(w->deviation, REPORT_DIGITS_HUMAN).s,
                info ? "-" : g_num(w->tol, REPORT_DIGITS_HUMAN).s, ac_verdict_str(w->verdict));
    }
    fputs("\nTolerances:\n\n", f);
    for (int i = 0; i < r->nrows; i++) {
        const ac_claim_row *w = &r->rows[i];
        fputs("- ", f);
        md_text(f, w->quantity);
        if (w->theory_what[0]) {
            fputs(" (theory: ", f);
            md_text(f, w->theory_what);
            fputc(')', f);
        }
        fputs(": ", f);
        md_text(f, w->tol_reason[0] ? w->tol_reason : "(no reason given)");
        fputc('\n', f);
    }
    fputc('\n', f);
}

static void md_run_line(FILE *f, const ac_report_meta *meta)
{
    char date[64];
    fprintf(f, "attncheck %s, seed %lu, size %s, %s.\n", AC_VERSION, meta ? meta->seed : 0UL,
            meta && meta->size ? meta->size : "?", meta_date(meta, date, sizeof date));
    if (meta && meta->command_line) {
        fputs("Command: `", f);
        for (const char *s = meta->command_line; *s; s++)
            fputc(*s == '`' ? '\'' : (*s == '\n' ? ' ' : *s), f);
        fputs("`\n", f);
    }
    fputc('\n', f);
}

static ac_status write_md(FILE *f, const ac_paper_def *paper, const ac_claim_result *res, int nres,
                          const ac_report_meta *meta, ac_msg *msg)
{
    fputs("# ", f);
    if (paper) {
        md_text(f, paper->title && *paper->title ? paper->title : paper->name);
        fputs("\n\nPaper `", f);
        md_text(f, paper->name);
        fputs("`. ", f);
    } else {
        fputs("attncheck results\n\n", f);
    }
    md_run_line(f, meta);
    fputs("## Summary\n\n", f);
    md_summary(f, res, nres);
    if (paper) {
        for (int i = 0; i < nres; i++)
            md_claim(f, &res[i], "##");
        return check_stream(f, "markdown report", msg);
    }
    int np;
    const char **names = distinct_papers(res, nres, &np);
    if (!names)
        return ac_fail(msg, AC_ENOMEM, "markdown report: no memory for %d paper names", nres);
    for (int p = 0; p < np; p++) {
        fputs("## Paper ", f);
        md_text(f, names[p]);
        fputs("\n\n", f);
        for (int i = 0; i < nres; i++)
            if (same_text(res[i].paper, names[p]))
                md_claim(f, &res[i], "###");
    }
    free(names);
    return check_stream(f, "markdown report", msg);
}

/* -------------------------------------------------------------------- CSV */

/* One field, quoted (RFC 4180 §2.6-2.7) when it holds a comma, a quote, CR
 * or LF; quotes inside are doubled. */
static void csv_field(FILE *f, const char *s, int last)
{
    s = nz(s);
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

static void csv_claim_fields(FILE *f, const ac_claim_result *r)
{
    csv_field(f, r->paper, 0);
    csv_field(f, r->id, 0);
    csv_field(f, ac_verdict_str(r->verdict), 0);
    csv_field(f, ac_status_str(r->status), 0);
}

static ac_status write_csv(FILE *f, const ac_claim_result *res, int nres, ac_msg *msg)
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
            csv_field(f, g_num(w->theory, REPORT_DIGITS_EXACT).s, 0);
            csv_field(f, g_num(w->empirical, REPORT_DIGITS_EXACT).s, 0);
            csv_field(f, ac_metric_str(w->metric), 0);
            csv_field(f, g_num(w->deviation, REPORT_DIGITS_EXACT).s, 0);
            csv_field(f, g_num(w->tol, REPORT_DIGITS_EXACT).s, 0);
            csv_field(f, ac_verdict_str(w->verdict), 0);
            csv_field(f, w->is_count ? "1" : "0", 0);
            csv_field(f, w->tol_reason, 1);
        }
    }
    return check_stream(f, "CSV report", msg);
}

/* ------------------------------------------------------------------ LaTeX */

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
static void tex_num(FILE *f, double x)
{
    if (isnan(x)) {
        fputs("NaN", f);
        return;
    }
    if (isinf(x)) {
        fputs(x > 0 ? "$\\infty$" : "$-\\infty$", f);
        return;
    }
    numtext t = g_num(x, REPORT_DIGITS_HUMAN);
    char *e = strchr(t.s, 'e');
    if (!e) {
        fprintf(f, "$%s$", t.s);
        return;
    }
    *e = '\0';
    int ex = atoi(e + 1);
    fprintf(f, "$%s\\times10^{%d}$", t.s, ex);
}

static void tex_summary(FILE *f, const ac_claim_result *res, int nres)
{
    fputs("\\begin{tabular}{llrr}\n\\toprule\nClaim & Verdict & Failing rows & Seconds \\\\\n"
          "\\midrule\n",
          f);
    for (int i = 0; i < nres; i++) {
        row_counts c = count_rows(&res[i]);
        fputs("\\texttt{", f);
        tex_text(f, res[i].id);
        fprintf(f, "} & %s%s & %d/%d & %s \\\\\n", ac_verdict_str(res[i].verdict),
                res[i].status != AC_OK ? " (error)" : "", c.failing, c.judged,
                f_num(res[i].theory_seconds + res[i].empirical_seconds, 2).s);
    }
    fputs("\\bottomrule\n\\end{tabular}\n\n", f);
}

static void tex_claim(FILE *f, const ac_claim_result *r, const char *section)
{
    fprintf(f, "\\%s*{\\texttt{", section);
    tex_text(f, r->id);
    fprintf(f, "}: %s}\n", ac_verdict_str(r->verdict));
    if (r->statement && *r->statement) {
        tex_text(f, r->statement);
        fputs("\\par\n", f);
    }
    fprintf(f, "Seconds: theory %s, experiment %s.", f_num(r->theory_seconds, 3).s,
            f_num(r->empirical_seconds, 3).s);
    if (r->setup[0]) {
        fputs(" Setup: ", f);
        tex_text(f, r->setup);
    }
    fputs("\\par\n", f);
    if (r->status != AC_OK) {
        fputs("\\textbf{Error:} ", f);
        tex_text(f, r->error);
        fputs("\\par\n", f);
    }
    if (r->nrows == 0) {
        fputc('\n', f);
        return;
    }
    fputs("\\begin{tabular}{lrrlrrl}\n\\toprule\n"
          "Quantity & Theory & Experiment & Metric & Deviation & Tolerance & Verdict \\\\\n"
          "\\midrule\n",
          f);
    for (int i = 0; i < r->nrows; i++) {
        const ac_claim_row *w = &r->rows[i];
        tex_text(f, w->quantity);
        fputs(" & ", f);
        /* as in Markdown: a dash where an unjudged row has no number */
        int info = w->metric == AC_METRIC_INFO;
        if (isnan(w->theory))
            fputs("--", f);
        else
            tex_num(f, w->theory);
        fputs(" & ", f);
        tex_num(f, w->empirical);
        fputs(" & ", f);
        tex_text(f, ac_metric_str(w->metric));
        fputs(" & ", f);
        if (info)
            fputs("--", f);
        else
            tex_num(f, w->deviation);
        fputs(" & ", f);
        if (info)
            fputs("--", f);
        else
            tex_num(f, w->tol);
        fprintf(f, " & %s \\\\\n", ac_verdict_str(w->verdict));
    }
    fputs("\\bottomrule\n\\end{tabular}\n\n\\begin{itemize}\n", f);
    for (int i = 0; i < r->nrows; i++) {
        const ac_claim_row *w = &r->rows[i];
        fputs("\\item ", f);
        tex_text(f, w->quantity);
        if (w->theory_what[0]) {
            fputs(" (theory: ", f);
            tex_text(f, w->theory_what);
            fputc(')', f);
        }
        fputs(": ", f);
        tex_text(f, w->tol_reason[0] ? w->tol_reason : "(no reason given)");
        fputc('\n', f);
    }
    fputs("\\end{itemize}\n\n", f);
}

static ac_status write_tex(FILE *f, const ac_paper_def *paper, const ac_claim_result *res,
                           int nres, const ac_report_meta *meta, ac_msg *msg)
{
    char date[64];
    fprintf(f, "%% attncheck %s report; needs \\usepackage{booktabs}\n%% command: ", AC_VERSION);
    tex_comment(f, meta ? meta->command_line : "");
    fputs("\n\\section*{", f);
    if (paper)
        tex_text(f, paper->title && *paper->title ? paper->title : paper->name);
    else
        fputs("attncheck results", f);
    fprintf(f, "}\nattncheck %s, seed %lu, size ", AC_VERSION, meta ? meta->seed : 0UL);
    tex_text(f, meta && meta->size ? meta->size : "?");
    fputs(", ", f);
    tex_text(f, meta_date(meta, date, sizeof date));
    fputs(".\\par\n\n", f);
    tex_summary(f, res, nres);
    if (paper) {
        for (int i = 0; i < nres; i++)
            tex_claim(f, &res[i], "subsection");
        return check_stream(f, "LaTeX report", msg);
    }
    int np;
    const char **names = distinct_papers(res, nres, &np);
    if (!names)
        return ac_fail(msg, AC_ENOMEM, "LaTeX report: no memory for %d paper names", nres);
    for (int p = 0; p < np; p++) {
        fputs("\\subsection*{Paper ", f);
        tex_text(f, names[p]);
        fputs("}\n\n", f);
        for (int i = 0; i < nres; i++)
            if (same_text(res[i].paper, names[p]))
                tex_claim(f, &res[i], "subsubsection");
    }
    free(names);
    return check_stream(f, "LaTeX report", msg);
}

/* ------------------------------------------------------------ JSON write */

static const char *const status_names[] = {
#define AC_STATUS_NAME(name, text) #name,
    AC_STATUS_LIST(AC_STATUS_NAME)
#undef AC_STATUS_NAME
};

static const char *status_name(ac_status s)
{
    return (int)s >= 0 && s < AC_STATUS_COUNT ? status_names[s] : "?";
}

/* A JSON string of s.  jansson takes only UTF-8; a text that is not is
 * written with its bytes >= 0x80 as '?'. */
static json_t *j_str(const char *s)
{
    json_t *v = json_string(nz(s));
    if (v)
        return v;
    char *c = strdup(nz(s));
    if (!c)
        return NULL;
    for (char *p = c; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = json_string(c);
    free(c);
    return v;
}

/* A double: a JSON real, or "nan" / "inf" / "-inf" (JSON has none of these). */
static json_t *j_num(double x)
{
    if (isnan(x))
        return json_string("nan");
    if (isinf(x))
        return json_string(x > 0 ? "inf" : "-inf");
    return json_real(x);
}

static json_t *j_array(const double *x, int n)
{
    if (!x)
        return json_null();
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++)
        if (json_array_append_new(a, j_num(x[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* Set o[key] = v, stealing v; on failure (v NULL or no memory) *ok = 0. */
static void put(json_t *o, const char *key, json_t *v, int *ok)
{
    if (!o || json_object_set_new(o, key, v) != 0)
        *ok = 0;
}

static json_t *j_series(const ac_series *s)
{
    int ok = 1;
    json_t *o = json_object();
    put(o, "label", j_str(s->label), &ok);
    put(o, "n", json_integer(s->n), &ok);
    put(o, "x", j_array(s->x, s->n), &ok);
    put(o, "y", j_array(s->y, s->n), &ok);
    put(o, "lo", j_array(s->lo, s->n), &ok);
    put(o, "hi", j_array(s->hi, s->n), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *j_figure(const ac_figure *g)
{
    int ok = 1;
    json_t *o = json_object(), *ser = json_array();
    put(o, "name", j_str(g->name), &ok);
    put(o, "title", j_str(g->title), &ok);
    put(o, "xlabel", j_str(g->xlabel), &ok);
    put(o, "ylabel", j_str(g->ylabel), &ok);
    put(o, "logx", json_integer(g->logx), &ok);
    put(o, "logy", json_integer(g->logy), &ok);
    for (int i = 0; ser && i < g->nseries; i++)
        if (json_array_append_new(ser, j_series(&g->series[i])) != 0)
            ok = 0;
    put(o, "series", ser, &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *j_row(const ac_claim_row *w)
{
    int ok = 1;
    json_t *o = json_object();
    put(o, "quantity", j_str(w->quantity), &ok);
    put(o, "theory_what", j_str(w->theory_what), &ok);
    put(o, "theory", j_num(w->theory), &ok);
    put(o, "empirical", j_num(w->empirical), &ok);
    put(o, "metric", json_string(ac_metric_str(w->metric)), &ok);
    put(o, "tol", j_num(w->tol), &ok);
    put(o, "tol_reason", j_str(w->tol_reason), &ok);
    put(o, "is_count", json_integer(w->is_count), &ok);
    put(o, "deviation", j_num(w->deviation), &ok);
    put(o, "verdict", json_string(ac_verdict_str(w->verdict)), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *j_claim(const ac_claim_result *r)
{
    int ok = 1;
    json_t *o = json_object(), *rows = json_array(), *figs = json_array();
    put(o, "id", j_str(r->id), &ok);
    put(o, "paper", j_str(r->paper), &ok);
    put(o, "statement", j_str(r->statement), &ok);
    put(o, "verdict", json_string(ac_verdict_str(r->verdict)), &ok);
    put(o, "status", json_string(status_name(r->status)), &ok);
    put(o, "error", j_str(r->error), &ok);
    put(o, "theory_seconds", j_num(r->theory_seconds), &ok);
    put(o, "empirical_seconds", j_num(r->empirical_seconds), &ok);
    put(o, "setup", j_str(r->setup), &ok);
    put(o, "regress_rtol", j_num(r->regress_rtol), &ok);
    put(o, "regress_reason", j_str(r->regress_reason), &ok);
    for (int i = 0; rows && i < r->nrows; i++)
        if (json_array_append_new(rows, j_row(&r->rows[i])) != 0)
            ok = 0;
    put(o, "rows", rows, &ok);
    for (int i = 0; figs && i < r->nfigs; i++)
        if (json_array_append_new(figs, j_figure(&r->figs[i])) != 0)
            ok = 0;
    put(o, "figures", figs, &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *j_meta(const ac_report_meta *meta)
{
    int ok = 1;
    char date[64];
    json_t *o = json_object();
    unsigned long seed = meta ? meta->seed : 0UL;
    put(o, "version", json_string(AC_VERSION), &ok);
    put(o, "command_line", j_str(meta ? meta->command_line : ""), &ok);
    /* a seed beyond json_int_t's range is written as a decimal string */
    if (seed <= (unsigned long)LLONG_MAX) {
        put(o, "seed", json_integer((json_int_t)seed), &ok);
    } else {
        char buf[32];
        snprintf(buf, sizeof buf, "%lu", seed);
        put(o, "seed", json_string(buf), &ok);
    }
    put(o, "size", j_str(meta ? meta->size : ""), &ok);
    put(o, "date", j_str(meta_date(meta, date, sizeof date)), &ok);
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static ac_status write_json(FILE *f, const ac_paper_def *paper, const ac_claim_result *res,
                            int nres, const ac_report_meta *meta, ac_msg *msg)
{
    int ok = 1;
    json_t *root = json_object(), *claims = json_array(), *summary = json_object();
    put(root, "meta", j_meta(meta), &ok);
    if (paper) {
        json_t *p = json_object();
        put(p, "name", j_str(paper->name), &ok);
        put(p, "title", j_str(paper->title), &ok);
        put(root, "paper", p, &ok);
    } else {
        put(root, "paper", json_null(), &ok);
    }
    int count[3] = {0, 0, 0};
    for (int i = 0; i < nres; i++)
        if ((unsigned)res[i].verdict < 3)
            count[res[i].verdict]++;
    put(summary, "pass", json_integer(count[AC_VERDICT_PASS]), &ok);
    put(summary, "fail", json_integer(count[AC_VERDICT_FAIL]), &ok);
    put(summary, "info", json_integer(count[AC_VERDICT_INFO]), &ok);
    put(root, "summary", summary, &ok);
    for (int i = 0; claims && i < nres; i++)
        if (json_array_append_new(claims, j_claim(&res[i])) != 0)
            ok = 0;
    put(root, "claims", claims, &ok);
    if (!ok) {
        json_decref(root);
        return ac_fail(msg, AC_ENOMEM, "JSON report: no memory to build the document of %d claims",
                       nres);
    }
    int rc = json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(REPORT_DIGITS_EXACT));
    json_decref(root);
    fputc('\n', f);
    if (rc != 0)
        return ac_fail(msg, AC_EIO, "JSON report: write error on the output stream");
    return check_stream(f, "JSON report", msg);
}

ac_status ac_report_write(FILE *f, ac_format fmt, const ac_paper_def *paper,
                          const ac_claim_result *res, int nres, const ac_report_meta *meta,
                          ac_msg *msg)
{
    if (!f)
        return ac_fail(msg, AC_EINVAL, "report: no output stream");
    if (nres < 0 || (nres > 0 && !res))
        return ac_fail(msg, AC_EINVAL, "report: %d results at %p", nres, (const void *)res);
    switch (fmt) {
    case AC_FMT_MD: return write_md(f, paper, res, nres, meta, msg);
    case AC_FMT_CSV: return write_csv(f, res, nres, msg);
    case AC_FMT_JSON: return write_json(f, paper, res, nres, meta, msg);
    case AC_FMT_TEX: return write_tex(f, paper, res, nres, meta, msg);
    }
    return ac_fail(msg, AC_EINVAL, "report: unknown format %d (md, csv, json, tex)", (int)fmt);
}

/* ------------------------------------------------------------------ index */

static void index_counts(const ac_claim_result *res, int nres, const char *paper, int count[3])
{
    count[0] = count[1] = count[2] = 0;
    for (int i = 0; i < nres; i++)
        if (same_text(res[i].paper, paper) && (unsigned)res[i].verdict < 3)
            count[res[i].verdict]++;
}

static void index_figures(FILE *f, const ac_claim_result *res, int nres, const char *paper,
                          const char *fig_dir)
{
    int any = 0;
    for (int i = 0; i < nres; i++) {
        if (!same_text(res[i].paper, paper))
            continue;
        for (int j = 0; j < res[i].nfigs; j++) {
            const ac_figure *g = &res[i].figs[j];
            if (!any) {
                fputs("### ", f);
                md_text(f, paper);
                fputs("\n\n", f);
                any = 1;
            }
            fputs("![", f);
            for (const char *s = g->title[0] ? g->title : g->name; *s; s++)
                fputc(*s == '[' || *s == ']' ? ' ' : (*s == '\n' ? ' ' : *s), f);
            fprintf(f, "](%s%s%s.png)\n\n", fig_dir, *fig_dir ? "/" : "", g->name);
        }
    }
}

ac_status ac_report_index(FILE *f, const ac_paper_def *const *papers, int npapers,
                          const ac_claim_result *res, int nres, unsigned formats,
                          const char *fig_dir, const ac_report_meta *meta, ac_msg *msg)
{
    if (!f)
        return ac_fail(msg, AC_EINVAL, "index: no output stream");
    if (npapers < 0 || nres < 0 || (nres > 0 && !res) || (npapers > 0 && !papers))
        return ac_fail(msg, AC_EINVAL, "index: %d papers, %d results", npapers, nres);
    int np = npapers;
    const char **names = NULL;
    if (!papers) {
        names = distinct_papers(res, nres, &np);
        if (!names)
            return ac_fail(msg, AC_ENOMEM, "index: no memory for %d paper names", nres);
    }
    fputs("# attncheck results\n\n", f);
    md_run_line(f, meta);
    fputs("| paper | title | tables | PASS | FAIL | INFO |\n|---|---|---|---:|---:|---:|\n", f);
    for (int p = 0; p < np; p++) {
        const char *name = papers ? nz(papers[p]->name) : names[p];
        const char *title = papers && papers[p]->title ? papers[p]->title : name;
        int count[3];
        index_counts(res, nres, name, count);
        fputs("| ", f);
        md_text(f, name);
        fputs(" | ", f);
        md_text(f, title);
        fputs(" |", f);
        const char *sep = " ";
        for (int k = 0; k < AC_FMT_COUNT; k++)
            if (formats & (1u << k)) {
                fprintf(f, "%s[%s](%s.%s)", sep, format_ext[k], name, format_ext[k]);
                sep = " · ";
            }
        fprintf(f, " | %d | %d | %d |\n", count[AC_VERDICT_PASS], count[AC_VERDICT_FAIL],
                count[AC_VERDICT_INFO]);
    }
    fputc('\n', f);
    if (fig_dir) {
        fputs("## Figures\n\n", f);
        for (int p = 0; p < np; p++)
            index_figures(f, res, nres, papers ? nz(papers[p]->name) : names[p], fig_dir);
    }
    free(names);
    return check_stream(f, "index", msg);
}

/* ------------------------------------------------------------- JSON read */

/* Where a value sits in the document: claims[2].rows[0].theory. */
#define READ_MAX_DEPTH 8
typedef struct {
    const char *key; /* NULL: an array element */
    int index;
} path_seg;

typedef struct {
    const char *name, *text;
    size_t len;
    ac_msg *msg;
    path_seg seg[READ_MAX_DEPTH];
    int depth;
    ac_report_set *set;
} reader;

/* A cursor over JSON text jansson has already accepted, to find the line of
 * a value (jansson keeps no positions). */
typedef struct {
    const char *p, *end;
    int line;
} scan;

static void scan_ws(scan *s)
{
    for (; s->p < s->end; s->p++) {
        if (*s->p == '\n')
            s->line++;
        else if (*s->p != ' ' && *s->p != '\t' && *s->p != '\r')
            break;
    }
}

/* At '"': past the closing quote. */
static void scan_string(scan *s)
{
    for (s->p++; s->p < s->end && *s->p != '"'; s->p++)
        if (*s->p == '\\')
            s->p++;
    if (s->p < s->end)
        s->p++;
}

static void scan_value(scan *s)
{
    if (s->p >= s->end)
        return;
    if (*s->p == '"') {
        scan_string(s);
        return;
    }
    if (*s->p != '{' && *s->p != '[') {
        while (s->p < s->end && !strchr(",]} \t\r\n", *s->p))
            s->p++;
        return;
    }
    int depth = 0;
    while (s->p < s->end) {
        char c = *s->p;
        if (c == '"') {
            scan_string(s);
            continue;
        }
        if (c == '\n')
            s->line++;
        else if (c == '{' || c == '[')
            depth++;
        else if ((c == '}' || c == ']') && --depth == 0) {
            s->p++;
            return;
        }
        s->p++;
    }
}

/* At '"': whether the string's raw text equals key. */
static int scan_key_is(const scan *s, const char *key)
{
    size_t l = strlen(key);
    return (size_t)(s->end - s->p) > l + 1 && memcmp(s->p + 1, key, l) == 0 && s->p[l + 1] == '"';
}

/* Enter the member `key` of the object at the cursor; 0 when absent (the
 * cursor then stays on the object). */
static int scan_member(scan *s, const char *key)
{
    scan t = *s;
    if (t.p >= t.end || *t.p != '{')
        return 0;
    t.p++;
    for (;;) {
        scan_ws(&t);
        if (t.p >= t.end || *t.p != '"')
            return 0;
        int hit = scan_key_is(&t, key);
        scan_string(&t);
        scan_ws(&t);
        if (t.p >= t.end || *t.p != ':')
            return 0;
        t.p++;
        scan_ws(&t);
        if (hit) {
            *s = t;
            return 1;
        }
        scan_value(&t);
        scan_ws(&t);
        if (t.p >= t.end || *t.p != ',')
            return 0;
        t.p++;
    }
}

static int scan_element(scan *s, int index)
{
    scan t = *s;
    if (t.p >= t.end || *t.p != '[')
        return 0;
    t.p++;
    scan_ws(&t);
    for (int k = 0; k < index; k++) {
        scan_value(&t);
        scan_ws(&t);
        if (t.p >= t.end || *t.p != ',')
            return 0;
        t.p++;
        scan_ws(&t);
    }
    *s = t;
    return 1;
}

/* The line of the value at the reader's path followed by key (key may be
 * NULL); as deep as the text goes. */
static int path_line(const reader *r, const char *key)
{
    scan s = {r->text, r->text + r->len, 1};
    scan_ws(&s);
    for (int i = 0; i < r->depth; i++) {
        int ok = r->seg[i].key ? scan_member(&s, r->seg[i].key) : scan_element(&s, r->seg[i].index);
        if (!ok)
            return s.line;
    }
    if (key)
        scan_member(&s, key);
    return s.line;
}

static void path_text(const reader *r, const char *key, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i <= r->depth && n < cap; i++) {
        const char *k = i < r->depth ? r->seg[i].key : key;
        int w;
        if (i == r->depth && !key)
            break;
        if (k)
            w = snprintf(buf + n, cap - n, "%s%s", n ? "." : "", k);
        else
            w = snprintf(buf + n, cap - n, "[%d]", r->seg[i].index);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    if (n == 0)
        snprintf(buf, cap, "top level");
}

/* AC_EPARSE with "NAME:LINE: PATH[.key]: reason"; the line is that of the
 * member key when present, else of the innermost value on the path. */
static ac_status bad(const reader *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ac_status bad(const reader *r, const char *key, const char *fmt, ...)
{
    char path[256], reason[AC_MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    path_text(r, key, path, sizeof path);
    return ac_fail(r->msg, AC_EPARSE, "%s:%d: %s: %s", r->name, path_line(r, key), path, reason);
}

static void push_key(reader *r, const char *key)
{
    r->seg[r->depth].key = key;
    r->seg[r->depth].index = 0;
    r->depth++;
}

static void push_index(reader *r, int i)
{
    r->seg[r->depth].key = NULL;
    r->seg[r->depth].index = i;
    r->depth++;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a real";
    case JSON_TRUE: case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* The member key of o, which must exist. */
static ac_status get(const reader *r, const json_t *o, const char *key, json_t **v)
{
    *v = json_object_get(o, key);
    if (!*v)
        return bad(r, NULL, "missing key \"%s\"", key);
    return AC_OK;
}

static ac_status get_typed(const reader *r, const json_t *o, const char *key, json_type t,
                           const char *want, json_t **v)
{
    ac_status st = get(r, o, key, v);
    if (st == AC_OK && json_typeof(*v) != t)
        return bad(r, key, "expected %s, found %s", want, type_name(*v));
    return st;
}

/* A double from a JSON number or the strings "nan", "inf", "-inf". */
static ac_status as_num(const reader *r, const char *key, const json_t *v, double *x)
{
    if (json_is_number(v)) {
        *x = json_number_value(v);
        return AC_OK;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "nan") == 0)
            *x = NAN;
        else if (strcmp(s, "inf") == 0)
            *x = INFINITY;
        else if (strcmp(s, "-inf") == 0)
            *x = -INFINITY;
        else
            return bad(r, key, "expected a number or \"nan\", \"inf\", \"-inf\", found \"%.40s\"",
                       s);
        return AC_OK;
    }
    return bad(r, key, "expected a number, found %s", type_name(v));
}

static ac_status get_num(const reader *r, const json_t *o, const char *key, double *x)
{
    json_t *v;
    ac_status st = get(r, o, key, &v);
    return st ? st : as_num(r, key, v, x);
}

static ac_status get_int(const reader *r, const json_t *o, const char *key, int *x)
{
    json_t *v;
    ac_status st = get(r, o, key, &v);
    if (st)
        return st;
    if (json_is_boolean(v)) {
        *x = json_is_true(v);
        return AC_OK;
    }
    if (!json_is_integer(v))
        return bad(r, key, "expected an integer, found %s", type_name(v));
    json_int_t i = json_integer_value(v);
    if (i < INT_MIN || i > INT_MAX)
        return bad(r, key, "integer %lld is outside the range of int", (long long)i);
    *x = (int)i;
    return AC_OK;
}

/* Copy the string member into buf[cap]; it must fit. */
static ac_status get_text(const reader *r, const json_t *o, const char *key, char *buf,
                          size_t cap)
{
    json_t *v;
    ac_status st = get_typed(r, o, key, JSON_STRING, "a string", &v);
    if (st)
        return st;
    size_t l = json_string_length(v);
    if (l >= cap)
        return bad(r, key, "string of %zu bytes is longer than the %zu the field holds", l,
                   cap - 1);
    if (strlen(json_string_value(v)) != l)
        return bad(r, key, "string holds a NUL character");
    memcpy(buf, json_string_value(v), l + 1);
    return AC_OK;
}

/* Keep a copy of s in the set; NULL on no memory. */
static char *own(ac_report_set *set, const char *s)
{
    if (set->nstrings_ == set->capstrings_) {
        int cap = set->capstrings_ ? 2 * set->capstrings_ : 16;
        char **p = realloc(set->strings_, sizeof *p * (size_t)cap);
        if (!p)
            return NULL;
        set->strings_ = p;
        set->capstrings_ = cap;
    }
    char *c = strdup(s);
    if (c)
        set->strings_[set->nstrings_++] = c;
    return c;
}

/* A string member copied into the set. */
static ac_status get_owned(reader *r, const json_t *o, const char *key, char **out)
{
    json_t *v;
    ac_status st = get_typed(r, o, key, JSON_STRING, "a string", &v);
    if (st)
        return st;
    if (strlen(json_string_value(v)) != json_string_length(v))
        return bad(r, key, "string holds a NUL character");
    *out = own(r->set, json_string_value(v));
    return *out ? AC_OK : ac_fail(r->msg, AC_ENOMEM, "%s: no memory for a string", r->name);
}

static ac_status get_enum(const reader *r, const json_t *o, const char *key,
                          const char *(*str)(int), int n, int *x)
{
    json_t *v;
    ac_status st = get_typed(r, o, key, JSON_STRING, "a string", &v);
    if (st)
        return st;
    for (int i = 0; i < n; i++)
        if (strcmp(json_string_value(v), str(i)) == 0) {
            *x = i;
            return AC_OK;
        }
    return bad(r, key, "unknown value \"%.40s\"", json_string_value(v));
}

static const char *verdict_at(int i)
{
    return ac_verdict_str((ac_verdict)i);
}

static const char *metric_at(int i)
{
    return ac_metric_str((ac_metric)i);
}

static const char *status_at(int i)
{
    return status_name((ac_status)i);
}

/* An array of n doubles (or null: *out NULL); *out is malloc'ed. */
static ac_status get_doubles(reader *r, const json_t *o, const char *key, int n, int nullable,
                             double **out)
{
    json_t *v;
    *out = NULL;
    ac_status st = get(r, o, key, &v);
    if (st)
        return st;
    if (nullable && json_is_null(v))
        return AC_OK;
    if (!json_is_array(v))
        return bad(r, key, "expected an array%s, found %s", nullable ? " or null" : "",
                   type_name(v));
    if (json_array_size(v) != (size_t)n)
        return bad(r, key, "array has %zu elements, n is %d", json_array_size(v), n);
    double *a = malloc(sizeof *a * (size_t)(n > 0 ? n : 1));
    if (!a)
        return ac_fail(r->msg, AC_ENOMEM, "%s: no memory for %d numbers", r->name, n);
    push_key(r, key);
    for (int i = 0; i < n && st == AC_OK; i++) {
        push_index(r, i);
        st = as_num(r, NULL, json_array_get(v, (size_t)i), &a[i]);
        r->depth--;
    }
    r->depth--;
    if (st) {
        free(a);
        return st;
    }
    *out = a;
    return AC_OK;
}

static ac_status read_series(reader *r, const json_t *o, ac_figure *g)
{
    char label[AC_CLAIM_TEXT];
    int n;
    double *x = NULL, *y = NULL, *lo = NULL, *hi = NULL;
    ac_status st = get_text(r, o, "label", label, sizeof label);
    if (!st)
        st = get_int(r, o, "n", &n);
    if (!st && n < 0)
        st = bad(r, "n", "negative number of points %d", n);
    if (!st)
        st = get_doubles(r, o, "x", n, 0, &x);
    if (!st)
        st = get_doubles(r, o, "y", n, 0, &y);
    if (!st)
        st = get_doubles(r, o, "lo", n, 1, &lo);
    if (!st)
        st = get_doubles(r, o, "hi", n, 1, &hi);
    if (!st && ac_figure_add_series(g, label, n, x, y, lo, hi) != AC_OK)
        st = ac_fail(r->msg, AC_ENOMEM, "%s: no memory for a series of %d points", r->name, n);
    free(x), free(y), free(lo), free(hi);
    return st;
}

static ac_status read_figure(reader *r, const json_t *o, ac_claim_result *res)
{
    ac_figure g; /* text fields only, sized as the record's */
    int logx, logy;
    json_t *ser;
    ac_status st = get_text(r, o, "name", g.name, sizeof g.name);
    if (!st)
        st = get_text(r, o, "title", g.title, sizeof g.title);
    if (!st)
        st = get_text(r, o, "xlabel", g.xlabel, sizeof g.xlabel);
    if (!st)
        st = get_text(r, o, "ylabel", g.ylabel, sizeof g.ylabel);
    if (!st)
        st = get_int(r, o, "logx", &logx);
    if (!st)
        st = get_int(r, o, "logy", &logy);
    if (!st)
        st = get_typed(r, o, "series", JSON_ARRAY, "an array", &ser);
    if (st)
        return st;
    ac_figure *fig = ac_claim_add_figure(res, g.name, g.title, g.xlabel, g.ylabel, logx, logy);
    if (!fig)
        return ac_fail(r->msg, AC_ENOMEM, "%s: no memory for a figure", r->name);
    push_key(r, "series");
    for (size_t i = 0; i < json_array_size(ser) && st == AC_OK; i++) {
        json_t *s = json_array_get(ser, i);
        push_index(r, (int)i);
        st = json_is_object(s) ? read_series(r, s, fig)
                               : bad(r, NULL, "expected an object, found %s", type_name(s));
        r->depth--;
    }
    r->depth--;
    return st;
}

static ac_status read_row(reader *r, const json_t *o, ac_claim_result *res)
{
    ac_claim_row w;
    int metric = 0, verdict = 0;
    ac_status st = get_text(r, o, "quantity", w.quantity, sizeof w.quantity);
    if (!st)
        st = get_text(r, o, "theory_what", w.theory_what, sizeof w.theory_what);
    if (!st)
        st = get_num(r, o, "theory", &w.theory);
    if (!st)
        st = get_num(r, o, "empirical", &w.empirical);
    if (!st)
        st = get_enum(r, o, "metric", metric_at, AC_METRIC_INFO + 1, &metric);
    if (!st)
        st = get_num(r, o, "tol", &w.tol);
    if (!st)
        st = get_text(r, o, "tol_reason", w.tol_reason, sizeof w.tol_reason);
    if (!st)
        st = get_int(r, o, "is_count", &w.is_count);
    if (!st)
        st = get_num(r, o, "deviation", &w.deviation);
    if (!st)
        st = get_enum(r, o, "verdict", verdict_at, AC_VERDICT_INFO + 1, &verdict);
    if (st)
        return st;
    ac_claim_row *row = ac_claim_add(res, w.quantity, w.theory_what, w.theory, w.empirical,
                                     (ac_metric)metric, w.tol, w.tol_reason);
    if (!row)
        return ac_fail(r->msg, AC_ENOMEM, "%s: no memory for a row", r->name);
    row->is_count = w.is_count;
    row->deviation = w.deviation;
    row->verdict = (ac_verdict)verdict;
    return AC_OK;
}

/* Read the array member key of o, calling one() on each element object. */
static ac_status read_list(reader *r, const json_t *o, const char *key,
                           ac_status (*one)(reader *, const json_t *, ac_claim_result *),
                           ac_claim_result *res)
{
    json_t *a;
    ac_status st = get_typed(r, o, key, JSON_ARRAY, "an array", &a);
    if (st)
        return st;
    push_key(r, key);
    for (size_t i = 0; i < json_array_size(a) && st == AC_OK; i++) {
        json_t *e = json_array_get(a, i);
        push_index(r, (int)i);
        st = json_is_object(e) ? one(r, e, res)
                               : bad(r, NULL, "expected an object, found %s", type_name(e));
        r->depth--;
    }
    r->depth--;
    return st;
}

static ac_status read_claim(reader *r, const json_t *o, ac_claim_result *res)
{
    char *id, *paper, *statement;
    int verdict = 0, status = 0;
    ac_status st = get_owned(r, o, "id", &id);
    if (!st)
        st = get_owned(r, o, "paper", &paper);
    if (!st)
        st = get_owned(r, o, "statement", &statement);
    if (st)
        return st;
    ac_claim_def def = {id, paper, statement, NULL};
    ac_claim_result_init(res, &def);
    st = get_enum(r, o, "verdict", verdict_at, AC_VERDICT_INFO + 1, &verdict);
    if (!st)
        st = get_enum(r, o, "status", status_at, AC_STATUS_COUNT, &status);
    if (!st)
        st = get_text(r, o, "error", res->error, sizeof res->error);
    if (!st)
        st = get_num(r, o, "theory_seconds", &res->theory_seconds);
    if (!st)
        st = get_num(r, o, "empirical_seconds", &res->empirical_seconds);
    if (!st)
        st = get_text(r, o, "setup", res->setup, sizeof res->setup);
    if (!st)
        st = get_num(r, o, "regress_rtol", &res->regress_rtol);
    if (!st)
        st = get_text(r, o, "regress_reason", res->regress_reason, sizeof res->regress_reason);
    if (!st)
        st = read_list(r, o, "rows", read_row, res);
    if (!st)
        st = read_list(r, o, "figures", read_figure, res);
    res->verdict = (ac_verdict)verdict;
    res->status = (ac_status)status;
    return st;
}

static ac_status read_meta(reader *r, const json_t *root)
{
    ac_report_set *set = r->set;
    json_t *m, *seed;
    ac_status st = get_typed(r, root, "meta", JSON_OBJECT, "an object", &m);
    if (st)
        return st;
    push_key(r, "meta");
    st = get_owned(r, m, "version", &set->version);
    if (!st)
        st = get_owned(r, m, "command_line", &set->command_line);
    if (!st)
        st = get_owned(r, m, "size", &set->size);
    if (!st)
        st = get_owned(r, m, "date", &set->date);
    if (!st)
        st = get(r, m, "seed", &seed);
    if (!st && json_is_integer(seed) && json_integer_value(seed) >= 0) {
        set->seed = (unsigned long)json_integer_value(seed);
    } else if (!st && json_is_string(seed)) {
        char *end;
        errno = 0;
        set->seed = strtoul(json_string_value(seed), &end, 10);
        if (errno || *end || end == json_string_value(seed))
            st = bad(r, "seed", "\"%.40s\" is not an unsigned decimal", json_string_value(seed));
    } else if (!st) {
        st = bad(r, "seed", "expected a non-negative integer, found %s", type_name(seed));
    }
    r->depth--;
    return st;
}

static ac_status read_paper(reader *r, const json_t *root)
{
    json_t *p;
    ac_status st = get(r, root, "paper", &p);
    if (st || json_is_null(p))
        return st;
    if (!json_is_object(p))
        return bad(r, "paper", "expected an object or null, found %s", type_name(p));
    push_key(r, "paper");
    st = get_owned(r, p, "name", &r->set->paper_name);
    if (!st)
        st = get_owned(r, p, "title", &r->set->paper_title);
    r->depth--;
    return st;
}

static ac_status read_root(reader *r, const json_t *root)
{
    ac_report_set *set = r->set;
    json_t *claims;
    if (!json_is_object(root))
        return bad(r, NULL, "expected an object, found %s", type_name(root));
    ac_status st = read_meta(r, root);
    if (!st)
        st = read_paper(r, root);
    if (!st)
        st = get_typed(r, root, "claims", JSON_ARRAY, "an array", &claims);
    if (st)
        return st;
    size_t n = json_array_size(claims);
    if (n > (size_t)INT_MAX / 2)
        return bad(r, "claims", "%zu claims are too many", n);
    set->res = calloc(n ? n : 1, sizeof *set->res);
    if (!set->res)
        return ac_fail(r->msg, AC_ENOMEM, "%s: no memory for %zu claims", r->name, n);
    push_key(r, "claims");
    for (size_t i = 0; i < n && st == AC_OK; i++) {
        json_t *c = json_array_get(claims, i);
        push_index(r, (int)i);
        if (!json_is_object(c)) {
            st = bad(r, NULL, "expected an object, found %s", type_name(c));
        } else {
            /* counted before reading, so that a failure frees what it got */
            set->nres++;
            st = read_claim(r, c, &set->res[i]);
        }
        r->depth--;
    }
    r->depth--;
    return st;
}

ac_status ac_report_parse_json(const char *text, size_t len, const char *name,
                               ac_report_set *set, ac_msg *msg)
{
    memset(set, 0, sizeof *set);
    name = name ? name : "(json)";
    if (!text)
        return ac_fail(msg, AC_EINVAL, "%s: no text", name);
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return ac_fail(msg, AC_EPARSE, "%s:%d: %s", name, err.line > 0 ? err.line : 1, err.text);
    reader r = {name, text, len, msg, {{0}}, 0, set};
    ac_status st = read_root(&r, root);
    json_decref(root);
    if (st != AC_OK)
        ac_report_set_clear(set);
    return st;
}

ac_status ac_report_read_json(const char *path, ac_report_set *set, ac_msg *msg)
{
    memset(set, 0, sizeof *set);
    FILE *f = fopen(path, "rb");
    if (!f)
        return ac_fail(msg, AC_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap)
            break;
        char *b = realloc(buf, 2 * cap);
        if (!b) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
        cap *= 2;
    }
    int rerr = ferror(f);
    int e = errno;
    fclose(f);
    if (!buf)
        return ac_fail(msg, AC_ENOMEM, "%s: no memory to read the file", path);
    if (rerr) {
        free(buf);
        return ac_fail(msg, AC_EIO, "%s: read error: %s", path, strerror(e));
    }
    ac_status st = ac_report_parse_json(buf, len, path, set, msg);
    free(buf);
    return st;
}

void ac_report_set_clear(ac_report_set *set)
{
    if (!set)
        return;
    for (int i = 0; i < set->nres; i++)
        ac_claim_result_clear(&set->res[i]);
    free(set->res);
    for (int i = 0; i < set->nstrings_; i++)
        free(set->strings_[i]);
    free(set->strings_);
    memset(set, 0, sizeof *set);
}
