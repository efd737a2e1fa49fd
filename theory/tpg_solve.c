#include "theory/tpg_solve.h"

#include <stdlib.h>
#include <string.h>

void ac_tpg_solve_settings_default(ac_tpg_solve_settings *s)
{
    ac_tpg_svm_settings_default(&s->svm);
    ac_newton_settings_default(&s->newton);
}

void ac_tpg_solution_clear(ac_tpg_solution *s)
{
    if (!s)
        return;
    ac_tpg_free(s->G);
    ac_tpg_cons_clear(&s->C);
    free(s->Wsvm);
    free(s->lambda);
    free(s->cert);
    ac_tpg_sfin_free(s->S);
    ac_tpg_reduced_free(s->Dred);
    free(s->Wfin);
    memset(s, 0, sizeof *s);
}

ac_status ac_tpg_solve(const ac_tpg_data *D, const double *E, int d, const ac_tpg_solve_settings *set,
                       ac_tpg_solution *out, ac_msg *msg)
{
    memset(out, 0, sizeof *out);
    out->K = D->K;
    out->d = d;
    size_t dd = (size_t)d * d;
    double t0 = ac_clock();
    ac_status st = ac_tpg_build(&out->G, D, msg);
    if (st == AC_OK)
        st = ac_tpg_constraints(out->G, &out->C);
    if (st != AC_OK)
        return st;
    out->Wsvm = calloc(dd + 1, sizeof(double));
    out->Wfin = calloc(dd + 1, sizeof(double));
    out->lambda = calloc((size_t)out->C.m + 1, sizeof(double));
    out->cert = calloc((size_t)out->C.m + 1, sizeof(double));
    if (!out->Wsvm || !out->Wfin || !out->lambda || !out->cert)
        return ac_fail(msg, AC_ENOMEM, "no memory for d=%d and %d constraints", d, out->C.m);
    st = ac_tpg_svm(out->G, &out->C, E, d, &set->svm, out->Wsvm, out->lambda, out->cert, &out->qp, msg);
    out->svm_seconds = ac_clock() - t0;
    if (st != AC_OK)
        return st;
    if (out->qp.status == AC_QP_INFEASIBLE)
        return AC_OK;
    double t1 = ac_clock();
    st = ac_tpg_sfin_alloc(&out->S, out->G, E, d, msg);
    if (st == AC_OK)
        st = ac_tpg_reduce(out->G, D, &out->Dred);
    if (st == AC_OK)
        st = ac_tpg_wfin(out->S, out->Dred, &set->newton, out->Wfin, &out->fin_grad_norm, &out->newton, msg);
    out->fin_seconds = ac_clock() - t1;
    return st;
}
