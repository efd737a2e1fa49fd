/* Everything the Graph-SVM theory predicts for one dataset and embedding
 * table, in one call: the token-priority graphs and their SCCs, the
 * Graph-SVM direction W_svm (with its multipliers, KKT residuals and, when
 * infeasible, the certificate), the subspace S_fin and the finite component
 * W_fin (spec tpg_svm §2-§3).  The claims (verify/svm_claims.c) and the
 * `attncheck svm` commands both call this, so they cannot disagree. */
#ifndef AC_TPG_SOLVE_H
#define AC_TPG_SOLVE_H

#include "solvers/newton.h"
#include "solvers/qp.h"
#include "theory/tpg.h"
#include "theory/tpg_loss.h"

typedef struct {
    ac_tpg_svm_settings svm;
    ac_newton_settings newton;
} ac_tpg_solve_settings;

void ac_tpg_solve_settings_default(ac_tpg_solve_settings *s);

typedef struct {
    int K, d;
    ac_tpg *G;
    ac_tpg_cons C;
    double *Wsvm;          /* d x d */
    double *lambda;        /* C.m multipliers */
    double *cert;          /* C.m: infeasibility certificate (zero unless qp.status is INFEASIBLE) */
    ac_qp_info qp;
    ac_tpg_sfin *S;        /* NULL when the QP was infeasible */
    ac_tpg_reduced *Dred;  /* reduced dataset (spec §3.2) */
    double *Wfin;          /* d x d; zero when S is NULL */
    double fin_grad_norm;  /* ||P_fin grad L_red(W_fin)|| */
    ac_newton_info newton;
    double svm_seconds, fin_seconds;
    int scale_exp;         /* p: the solve ran on E 2^-p (ac_tpg_scale_exp) */
} ac_tpg_solution;

/* Solve for dataset D (checked, labels in sequences, D->K = rows of E) and
 * embeddings E (K x d).  AC_OK when both solves ran: read out->qp.status and
 * out->newton.status.  When the Graph-SVM is infeasible W_fin is not
 * computed (S_fin assumes the graphs' constraints hold together).  Errors:
 * AC_ERANK (dependent embeddings, unless set->svm.allow_dependent), AC_ENOMEM,
 * AC_EPARSE, AC_EINVAL (a NULL D, or a NULL E with K d > 0); msg says why.
 * set NULL means ac_tpg_solve_settings_default.  out is filled as far as the solve got; free it
 * with ac_tpg_solution_clear in every case.
 *
 * Any finite scale of E is accepted: the solve runs on E 2^-p, p =
 * ac_tpg_scale_exp (exact; p = 0 for max|E| in the band of
 * AC_TPG_SCALE_BAND, so such E are solved as given), and the results come
 * back in E's units (tpg.h, Scale): Wsvm, Wfin, fin_grad_norm and
 * newton.grad_norm times 2^-2p, 2^-2p, 2^2p, 2^2p; lambda, qp.obj,
 * qp.dual_obj, qp.dual_res, qp.compl_res, qp.stat_res and qp.lambda_max times
 * 2^-4p; qp.cert_residual times 2^2p; qp.prim_res, qp.value_scale, cert,
 * newton.f unchanged (they are scale-free).  The stopping tests (qp.eps,
 * newton.eps_grad) apply to the normalised problem; newton.reg, S (built from
 * E 2^-p: the same subspace S_fin, its generators and coefficients in the
 * normalised units) and Dred are left as solved.  When a scaled-back W_svm,
 * W_fin or lambda would leave double range (largest entry above DBL_MAX or
 * below DBL_MIN: max|E| beyond about 2^±250 for multipliers of order one),
 * AC_ENUMERIC is returned with the admissible range of max|E| in msg, and out
 * keeps the normalised values (scale_exp = p).  An infeasible verdict is
 * scale-free and always returned: when its last iterate does not fit, Wsvm
 * and lambda are zeroed. */
ac_status ac_tpg_solve(const ac_tpg_data *D, const double *E, int d, const ac_tpg_solve_settings *set,
                       ac_tpg_solution *out, ac_msg *msg);
void ac_tpg_solution_clear(ac_tpg_solution *s);

#endif
