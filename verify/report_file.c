/* A report or the index written whole into a file (verify/atomic.h), with
 * one message shape whatever failed: "PATH: reason", the path once.  The
 * writers' messages name the report ("markdown report: write error ..."),
 * not the stream's file; the atomic layer's name the path already: only the
 * former get the path put in front. */
#include "verify/report.h"

#include <string.h>

#include "verify/atomic.h"

typedef struct {
    ac_format fmt;
    const ac_paper_def *paper;
    const ac_paper_def *const *papers; /* index only */
    int npapers;
    const ac_claim_result *res;
    int nres;
    unsigned formats;
    const char *fig_dir;
    const ac_report_meta *meta;
} job;

static ac_status fill_report(FILE *f, void *ctx, ac_msg *msg)
{
    const job *j = ctx;
    return ac_report_write(f, j->fmt, j->paper, j->res, j->nres, j->meta, msg);
}

static ac_status fill_index(FILE *f, void *ctx, ac_msg *msg)
{
    const job *j = ctx;
    return ac_report_index(f, j->papers, j->npapers, j->res, j->nres, j->formats, j->fig_dir,
                           j->meta, msg);
}

/* Whether text starts with "path:". */
static int names_path(const char *text, const char *path)
{
    size_t l = strlen(path);
    return strncmp(text, path, l) == 0 && text[l] == ':';
}

static ac_status write_file(const char *path, ac_atomic_fill fill, job *j, ac_msg *msg)
{
    ac_msg m = {{0}};
    ac_status st = ac_atomic_write(path, fill, j, &m);
    if (st == AC_OK)
        return AC_OK;
    if (names_path(m.text, path))
        return ac_fail(msg, st, "%s", m.text);
    return ac_fail(msg, st, "%s: %s", path, m.text[0] ? m.text : ac_status_str(st));
}

ac_status ac_report_write_file(const char *path, ac_format fmt, const ac_paper_def *paper,
                               const ac_claim_result *res, int nres,
                               const ac_report_meta *meta, ac_msg *msg)
{
    if (!path)
        return ac_fail(msg, AC_EINVAL, "report: no path");
    job j = {fmt, paper, NULL, 0, res, nres, 0, NULL, meta};
    return write_file(path, fill_report, &j, msg);
}

ac_status ac_report_index_file(const char *path, const ac_paper_def *const *papers,
                               int npapers, const ac_claim_result *res, int nres,
                               unsigned formats, const char *fig_dir,
                               const ac_report_meta *meta, ac_msg *msg)
{
    if (!path)
        return ac_fail(msg, AC_EINVAL, "index: no path");
    job j = {AC_FMT_MD, NULL, papers, npapers, res, nres, formats, fig_dir, meta};
    return write_file(path, fill_index, &j, msg);
}
