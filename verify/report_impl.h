/* What the report files (verify/report*.c) share: small helpers over the
 * claim record and the Markdown run line, which the tables and the index both
 * write.  Private to verify/report*.c; other modules include
 * verify/report.h.  Every pointer is borrowed for the call. */
#ifndef AC_REPORT_IMPL_H
#define AC_REPORT_IMPL_H

#include <stddef.h>
#include <stdio.h>

#include "verify/report.h"

/* s, or "" for NULL. */
const char *ac_report_nz(const char *s);

/* Whether a and b hold the same text, NULL counting as "". */
int ac_report_same_text(const char *a, const char *b);

/* meta->date, or the current UTC time "YYYY-MM-DDTHH:MM:SSZ" written into
 * buf[cap] when meta or its date is NULL; the result lives as long as meta
 * or buf. */
const char *ac_report_date(const ac_report_meta *meta, char *buf, size_t cap);

/* meta->source, or this build's library source (ac_trial_source_id) when
 * meta or its source is NULL. */
const char *ac_report_source(const ac_report_meta *meta);

/* Rows of a claim that are judged (metric not INFO) and that fail. */
typedef struct {
    int judged, failing;
} ac_report_rows;
ac_report_rows ac_report_count_rows(const ac_claim_result *r);

/* The distinct paper names of res[0..nres-1], in order of first appearance;
 * *n receives their number.  The array is malloc'ed (the caller frees it), the
 * names it holds are borrowed from res.  NULL on no memory. */
const char **ac_report_papers(const ac_claim_result *res, int nres, int *n);

/* AC_EIO naming what when f reports a write error, else AC_OK. */
ac_status ac_report_check_stream(FILE *f, const char *what, ac_msg *msg);

/* Markdown text inside a table cell or a line: '|' escaped, line breaks and
 * tabs as spaces, so that one record stays one table line. */
void ac_report_md_text(FILE *f, const char *s);

/* The Markdown run line ("attncheck V, seed S, size Z, DATE."), the command
 * line in backquotes when meta has one, and a blank line. */
void ac_report_md_run_line(FILE *f, const ac_report_meta *meta);

/* The three writers ac_report_write dispatches to (arguments checked there). */
ac_status ac_report_write_table(FILE *f, ac_format fmt, const ac_paper_def *paper,
                                const ac_claim_result *res, int nres,
                                const ac_report_meta *meta, ac_msg *msg);
ac_status ac_report_write_csv(FILE *f, const ac_claim_result *res, int nres, ac_msg *msg);
ac_status ac_report_write_json(FILE *f, const ac_paper_def *paper, const ac_claim_result *res,
                               int nres, const ac_report_meta *meta, ac_msg *msg);

#endif
