/* The log-loss of the one-layer attention model in log-sum-exp form, the
 * finite-component subspace S_fin and the finite component W_fin
 * (spec tpg_svm §1, §3.2).
 *
 * Copies of a token in a sequence share their logit, so with U = E W E^T and
 * m_{i,j} the count of token j in example i (last token k_i, label y_i):
 *
 *   l_i(W) = log sum_j m_{i,j} exp(U[j,k_i]) - U[y_i,k_i] - log m_{i,y_i}
 *   L(W)   = (1/n) sum_i l_i(W).
 *
 * This is the theory's form of the loss; verify/ trains the model with its
 * own per-position implementation, and the two are compared in the tests. */
#ifndef AC_TPG_LOSS_H
#define AC_TPG_LOSS_H

#include "solvers/newton.h"
#include "theory/tpg.h"

/* L(W) from token logits U (K x K).  When gU is non-NULL it receives
 * dL/dU (K x K); the gradient in W is then E^T gU E (ac_la_lift).  norm is
 * the divisor (n for the full loss; the reduced loss divides by the full n).
 * Returns +inf when a label is absent from its sequence. */
double ac_tpg_loss(const ac_tpg_data *D, const double *U, double norm, double *gU);

/* The reduced dataset of spec §3.2: in each example keep the positions whose
 * token is in the label's SCC of G^(k); drop examples left with one distinct
 * token (zero loss, zero gradient).  *out is new; free with ac_tpg_data_free. */
ac_status ac_tpg_reduce(const ac_tpg *G, const ac_tpg_data *D, ac_tpg_data **out);

/* S_fin = span{(e_a - e_b) e_k^T : a ≍_k b} (spec §3.1-3.2), held as the
 * generators (e_a - e_{a0(C)}) e_k^T for every nontrivial SCC C of every
 * G^(k) and every a in C other than its smallest token a0(C), with the
 * Cholesky factor of their Gram matrix.  dim = sum over SCCs of (|C| - 1). */
typedef struct {
    int K, d, dim;
    int *a, *a0, *k;    /* dim generators */
    double *E;          /* K x d copy */
    double *chol;       /* dim x dim lower Cholesky factor of the generator Gram */
} ac_tpg_sfin;

/* Returns AC_ERANK when the generators are linearly dependent (dependent
 * embeddings), AC_ENOMEM, or AC_OK. */
ac_status ac_tpg_sfin_alloc(ac_tpg_sfin **out, const ac_tpg *G, const double *E, int d, ac_msg *msg);
void ac_tpg_sfin_free(ac_tpg_sfin *S);

/* The matrix sum_g c_g (e_{a_g} - e_{a0_g}) e_{k_g}^T (d x d). */
void ac_tpg_sfin_matrix(const ac_tpg_sfin *S, const double *c, double *W);

/* Orthogonal (Frobenius) projection of W (d x d) on S_fin: P (d x d; may
 * alias W) and its generator coefficients c (dim; may be NULL). */
ac_status ac_tpg_sfin_project(const ac_tpg_sfin *S, const double *W, double *P, double *c);

/* W_fin = argmin over S_fin of the reduced loss (normalised by the full n),
 * by damped Newton in generator coordinates (spec §7).  Wfin is d x d; info
 * reports the Newton ending and ||grad||.  grad_norm_W receives the Frobenius
 * norm of the projection on S_fin of the reduced-loss gradient at W_fin.
 * dim = 0 gives W_fin = 0.  AC_OK whenever the solve ran. */
ac_status ac_tpg_wfin(const ac_tpg_sfin *S, const ac_tpg_data *Dred, int n_full,
                      const ac_newton_settings *set, double *Wfin, double *grad_norm_W,
                      ac_newton_info *info, ac_msg *msg);

/* Soft composition (spec §3.3): the limit distribution over the tokens of the
 * top SCC C of a sequence, p(j) = m_j exp(U[j,k]) / sum_{j' in C} m_j' exp(U[j',k]),
 * from U = E W_fin E^T.  tok has len entries, the last is k; top is the
 * component index from ac_tpg_top_scc.  p has K entries (zero outside C). */
void ac_tpg_soft_composition(const ac_tpg *G, const double *U, const int *tok, int len, int top,
                             double *p);

#endif
