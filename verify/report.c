/* Report formats, the one number formatter, the helpers the writers share,
 * and ac_report_write, which hands each format to its writer:
 * verify/report_table.c (Markdown, LaTeX, CSV), verify/report_json.c (JSON).
 * The index lives in verify/report_index.c. */
#include "verify/report.h"
#include "verify/report_impl.h"
#include "verify/trial.h" /* ac_trial_source_id */

#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

ac_numtext ac_report_number(double x, int digits, ac_numstyle style)
{
    ac_numtext t;
    if (digits < 0)
        digits = 0;
    if (digits > AC_REPORT_DIGITS_EXACT)
        digits = AC_REPORT_DIGITS_EXACT;
    if (isnan(x)) {
        snprintf(t.s, sizeof t.s, "nan");
        return t;
    }
    if (isinf(x)) {
        snprintf(t.s, sizeof t.s, "%s", x > 0 ? "inf" : "-inf");
        return t;
    }
    int w = style == AC_NUM_DECIMALS ? snprintf(t.s, sizeof t.s, "%.*f", digits, x)
                                     : snprintf(t.s, sizeof t.s, "%.*g", digits, x);
    /* %.17g needs at most 24 bytes; only %f of a huge x can overflow */
    if (w < 0 || (size_t)w >= sizeof t.s)
        snprintf(t.s, sizeof t.s, "%.*g", AC_REPORT_DIGITS_EXACT, x);
    ac_report_fix_decimal_point(t.s);
    return t;
}

/* ------------------------------------------------------- shared helpers */

const char *ac_report_nz(const char *s)
{
    return s ? s : "";
}

int ac_report_same_text(const char *a, const char *b)
{
    return strcmp(ac_report_nz(a), ac_report_nz(b)) == 0;
}

const char *ac_report_date(const ac_report_meta *meta, char *buf, size_t cap)
{
    if (meta && meta->date)
        return meta->date;
    time_t t = time(NULL);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, cap, "unknown");
    return buf;
}

const char *ac_report_source(const ac_report_meta *meta)
{
    return meta && meta->source ? meta->source : ac_trial_source_id();
}

ac_report_rows ac_report_count_rows(const ac_claim_result *r)
{
    ac_report_rows c = {0, 0};
    for (int i = 0; i < r->nrows; i++) {
        if (r->rows[i].metric != AC_METRIC_INFO)
            c.judged++;
        if (r->rows[i].verdict == AC_VERDICT_FAIL)
            c.failing++;
    }
    return c;
}

const char **ac_report_papers(const ac_claim_result *res, int nres, int *n)
{
    const char **names = malloc(sizeof *names * (size_t)(nres > 0 ? nres : 1));
    *n = 0;
    if (!names)
        return NULL;
    for (int i = 0; i < nres; i++) {
        int seen = 0;
        for (int j = 0; j < *n && !seen; j++)
            seen = ac_report_same_text(names[j], res[i].paper);
        if (!seen)
            names[(*n)++] = ac_report_nz(res[i].paper);
    }
    return names;
}

ac_status ac_report_check_stream(FILE *f, const char *what, ac_msg *msg)
{
    if (ferror(f))
        return ac_fail(msg, AC_EIO, "%s: write error on the output stream", what);
    return AC_OK;
}

void ac_report_md_text(FILE *f, const char *s)
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

void ac_report_md_run_line(FILE *f, const ac_report_meta *meta)
{
    char date[64];
    fprintf(f, "attncheck %s (library source %s), seed %lu, size %s, %s.\n", AC_VERSION, ac_report_source(meta),
            meta ? meta->seed : 0UL, meta && meta->size ? meta->size : "?", ac_report_date(meta, date, sizeof date));
    if (meta && meta->command_line) {
        fputs("Command: `", f);
        for (const char *s = meta->command_line; *s; s++)
            fputc(*s == '`' ? '\'' : (*s == '\n' ? ' ' : *s), f);
        fputs("`\n", f);
    }
    fputc('\n', f);
}

/* ------------------------------------------------------------- dispatch */

ac_status ac_report_write(FILE *f, ac_format fmt, const ac_paper_def *paper,
                          const ac_claim_result *res, int nres, const ac_report_meta *meta,
                          ac_msg *msg)
{
    if (!f)
        return ac_fail(msg, AC_EINVAL, "report: no output stream");
    if (nres < 0 || (nres > 0 && !res))
        return ac_fail(msg, AC_EINVAL, "report: %d results at %p", nres, (const void *)res);
    switch (fmt) {
    case AC_FMT_MD:
    case AC_FMT_TEX: return ac_report_write_table(f, fmt, paper, res, nres, meta, msg);
    case AC_FMT_CSV: return ac_report_write_csv(f, res, nres, msg);
    case AC_FMT_JSON: return ac_report_write_json(f, paper, res, nres, meta, msg);
    }
    return ac_fail(msg, AC_EINVAL, "report: unknown format %d (md, csv, json, tex)", (int)fmt);
}
