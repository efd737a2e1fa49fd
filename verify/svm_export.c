#include "verify/svm_export.h"

#include <math.h>
#include <string.h>

#include "solvers/linalg.h"
#include "verify/json_array.h"
#include "verify/svm_io.h"

static double lambda_max(const ac_tpg_solution *s)
{
    double m = 0.0;
    for (int c = 0; c < s->C.m; c++)
        m = fmax(m, fabs(s->lambda[c]));
    return m;
}

static int active_vs(const ac_tpg_solution *s, int c, double lmax)
{
    return fabs(s->lambda[c]) > AC_SVM_EXPORT_ACTIVE_FRACTION * lmax;
}

int ac_svm_export_is_active(const ac_tpg_solution *s, int c)
{
    return active_vs(s, c, lambda_max(s));
}

static json_t *matrix_json(const double *W, int d)
{
    json_t *rows = json_array();
    for (int i = 0; i < d; i++) {
        json_t *row = json_array();
        for (int j = 0; j < d; j++)
            json_array_append_new(row, ac_json_real_or_null(W[(size_t)i * d + j]));
        json_array_append_new(rows, row);
    }
    return rows;
}

json_t *ac_svm_export_solution_json(const ac_tpg_solution *s, int n)
{
    int d = s->d, dd = d * d;
    json_t *o = json_object(), *active = json_array(), *bad = json_array();
    if (!o || !active || !bad) {
        json_decref(o), json_decref(active), json_decref(bad);
        return NULL;
    }
    double lmax = lambda_max(s);
    json_object_set_new(o, "status", json_string(ac_qp_status_str(s->qp.status)));
    json_object_set_new(o, "K", json_integer(s->K));
    json_object_set_new(o, "d", json_integer(d));
    json_object_set_new(o, "n", json_integer(n));
    json_object_set_new(o, "equalities", json_integer(s->C.neq));
    json_object_set_new(o, "inequalities", json_integer(s->C.m - s->C.neq));
    json_object_set_new(o, "W_svm", matrix_json(s->Wsvm, d));
    json_object_set_new(o, "norm_W_svm", ac_json_real_or_null(ac_la_nrm2(s->Wsvm, dd)));
    for (int c = 0; c < s->C.m; c++) {
        /* "o": a NaN multiplier is null, where "f" would drop the row */
        json_t *row = json_pack("{s:i,s:i,s:i,s:s,s:o}", "i", s->C.a[c], "j", s->C.b[c], "k", s->C.k[c], "type",
                                s->C.is_eq[c] ? "eq" : "ineq", "lambda", ac_json_real_or_null(s->lambda[c]));
        if (s->qp.status == AC_QP_INFEASIBLE && s->cert[c] != 0.0) {
            json_object_set_new(row, "certificate", ac_json_real_or_null(s->cert[c]));
            json_array_append_new(bad, row);
        } else if (active_vs(s, c, lmax)) {
            json_array_append_new(active, row);
        } else {
            json_decref(row);
        }
    }
    json_object_set_new(o, "active", active);
    json_object_set_new(o, "infeasible_constraints", bad);
    json_object_set_new(o, "residuals", json_pack("{s:o,s:o,s:o,s:o}", "primal", ac_json_real_or_null(s->qp.prim_res),
                                                  "dual", ac_json_real_or_null(s->qp.dual_res), "complementarity",
                                                  ac_json_real_or_null(s->qp.compl_res), "stationarity",
                                                  ac_json_real_or_null(s->qp.stat_res)));
    json_object_set_new(o, "qp_sweeps", json_integer(s->qp.sweeps));
    json_object_set_new(o, "svm_seconds", ac_json_real_or_null(s->svm_seconds));
    json_object_set_new(o, "sfin_dim", json_integer(s->S ? s->S->dim : 0));
    json_object_set_new(o, "W_fin", matrix_json(s->Wfin, d));
    json_object_set_new(o, "W_fin_grad_norm", ac_json_real_or_null(s->fin_grad_norm));
    json_object_set_new(o, "newton", json_pack("{s:s,s:i}", "status", ac_newton_status_str(s->newton.status),
                                               "iterations", s->newton.iter));
    json_object_set_new(o, "fin_seconds", ac_json_real_or_null(s->fin_seconds));
    return o;
}

ac_status ac_svm_export_json_write(FILE *f, const json_t *root)
{
    if (!root || json_dumpf(root, f, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0)
        return AC_EIO;
    return fputc('\n', f) == EOF || ferror(f) ? AC_EIO : AC_OK;
}

static void matrix_text(FILE *f, const char *name, const double *W, int d)
{
    fprintf(f, "%s (%d x %d, a_t = x_t^T W xbar):\n", name, d, d);
    for (int i = 0; i < d; i++) {
        for (int j = 0; j < d; j++)
            fprintf(f, " % .17g", W[(size_t)i * d + j]);
        fprintf(f, "\n");
    }
}

/* A constraint as text: "(e_3 - e_5)^T W e_2 >= 1". */
static void cons_text(FILE *f, const ac_tpg_cons *C, int c)
{
    fprintf(f, "(e_%d - e_%d)^T W e_%d %s %g", C->a[c], C->b[c], C->k[c], C->is_eq[c] ? "=" : ">=", C->rhs[c]);
}

ac_status ac_svm_export_solution_text(FILE *f, const ac_tpg_solution *s)
{
    int d = s->d, dd = d * d;
    double lmax = lambda_max(s);
    fprintf(f, "status: %s\n", ac_qp_status_str(s->qp.status));
    fprintf(f, "constraints: %d equalities, %d inequalities (K = %d tokens, d = %d)\n", s->C.neq,
            s->C.m - s->C.neq, s->K, d);
    if (s->qp.status == AC_QP_INFEASIBLE) {
        fprintf(f, "constraints that cannot hold together (Farkas certificate, residual %.3g):\n",
                s->qp.cert_residual);
        for (int c = 0; c < s->C.m; c++)
            if (s->cert[c] != 0.0) {
                fprintf(f, "  ");
                cons_text(f, &s->C, c);
                fprintf(f, "   weight %.6g\n", s->cert[c]);
            }
        return ferror(f) ? AC_EIO : AC_OK;
    }
    fprintf(f, "||W_svm||_F = %.17g\n", ac_la_nrm2(s->Wsvm, dd));
    fprintf(f, "KKT residuals after %ld sweeps: primal %.3g, dual %.3g, complementarity %.3g, stationarity %.3g\n",
            s->qp.sweeps, s->qp.prim_res, s->qp.dual_res, s->qp.compl_res, s->qp.stat_res);
    fprintf(f, "active constraints (lambda > %g x max):\n", AC_SVM_EXPORT_ACTIVE_FRACTION);
    for (int c = 0; c < s->C.m; c++)
        if (active_vs(s, c, lmax)) {
            fprintf(f, "  ");
            cons_text(f, &s->C, c);
            fprintf(f, "   lambda %.17g\n", s->lambda[c]);
        }
    matrix_text(f, "W_svm", s->Wsvm, d);
    fprintf(f, "S_fin: dimension %d\n", s->S ? s->S->dim : 0);
    matrix_text(f, "W_fin", s->Wfin, d);
    fprintf(f, "W_fin: Newton %s after %d iterations, ||P_fin grad L_red(W_fin)|| = %.3g\n",
            ac_newton_status_str(s->newton.status), s->newton.iter, s->fin_grad_norm);
    return ferror(f) ? AC_EIO : AC_OK;
}

static ac_status header(FILE *f, const char *h)
{
    if (strchr(h, '\n'))
        return AC_EINVAL;
    return fprintf(f, "# %s\n", h) < 0 ? AC_EIO : AC_OK;
}

ac_status ac_svm_export_data(FILE *f, const char *h, const ac_tpg_data *D)
{
    ac_status st = header(f, h);
    return st != AC_OK ? st : ac_svm_io_write_data(f, D);
}

ac_status ac_svm_export_emb(FILE *f, const char *h, const double *E, int K, int d)
{
    ac_status st = header(f, h);
    return st != AC_OK ? st : ac_svm_io_write_emb(f, E, K, d);
}
