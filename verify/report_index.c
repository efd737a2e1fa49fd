/* The index of all tables, results/README.md: one line per paper (links to
 * its tables in every format written, counts of PASS, FAIL and INFO claims),
 * then the figures of each paper as Markdown image links. */
#include "verify/report.h"
#include "verify/report_impl.h"

#include <stdlib.h>

static void index_counts(const ac_claim_result *res, int nres, const char *paper, int count[3])
{
    count[0] = count[1] = count[2] = 0;
    for (int i = 0; i < nres; i++)
        if (ac_report_same_text(res[i].paper, paper) && (unsigned)res[i].verdict < 3)
            count[res[i].verdict]++;
}

static void index_figures(FILE *f, const ac_claim_result *res, int nres, const char *paper,
                          const char *fig_dir)
{
    int any = 0;
    for (int i = 0; i < nres; i++) {
        if (!ac_report_same_text(res[i].paper, paper))
            continue;
        for (int j = 0; j < res[i].nfigs; j++) {
            const ac_figure *g = &res[i].figs[j];
            if (!any) {
                fputs("### ", f);
                ac_report_md_text(f, paper);
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
        names = ac_report_papers(res, nres, &np);
        if (!names)
            return ac_fail(msg, AC_ENOMEM, "index: no memory for %d paper names", nres);
    }
    fputs("# attncheck results\n\n", f);
    ac_report_md_run_line(f, meta);
    fputs("| paper | title | tables | PASS | FAIL | INFO |\n|---|---|---|---:|---:|---:|\n", f);
    for (int p = 0; p < np; p++) {
        const char *name = papers ? ac_report_nz(papers[p]->name) : names[p];
        const char *title = papers && papers[p]->title ? papers[p]->title : name;
        int count[3];
        index_counts(res, nres, name, count);
        fputs("| ", f);
        ac_report_md_text(f, name);
        fputs(" | ", f);
        ac_report_md_text(f, title);
        fputs(" |", f);
        const char *sep = " ";
        for (int k = 0; k < AC_FMT_COUNT; k++)
            if (formats & (1u << k)) {
                const char *ext = ac_format_ext((ac_format)k);
                fprintf(f, "%s[%s](%s.%s)", sep, ext, name, ext);
                sep = " · ";
            }
        fprintf(f, " | %d | %d | %d |\n", count[AC_VERDICT_PASS], count[AC_VERDICT_FAIL],
                count[AC_VERDICT_INFO]);
    }
    fputc('\n', f);
    if (fig_dir) {
        fputs("## Figures\n\n", f);
        for (int p = 0; p < np; p++)
            index_figures(f, res, nres, papers ? ac_report_nz(papers[p]->name) : names[p],
                          fig_dir);
    }
    free(names);
    return ac_report_check_stream(f, "index", msg);
}
