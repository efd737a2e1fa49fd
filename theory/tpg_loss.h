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
 * own per-position implementation, and the two are compared in the tests.
 * The MPFR mirror of the loss functions is theory/tpg_mpfr.h. */
#ifndef AC_TPG_LOSS_H
#define AC_TPG_LOSS_H

#include "solvers/newton.h"
#include "theory/tpg.h"

/* L(W) from token logits U (K x K, U[j*K + k] = e_j^T W e_k; borrowed).
 * When gU is non-NULL it receives dL/dU (K x K, overwritten; may not alias
 * U); the gradient in W is then E^T gU E (ac_la_lift).  norm > 0 is the
 * divisor (n for the full loss; the reduced loss divides by the full n).
 *
 * Each l_i is computed as log1p(sum_{t: tok_t != y} exp(a_t - a_y) / m_y)
 * when the label holds the largest logit (so a loss near 0 keeps its
 * relative accuracy), else as a max-shifted log-sum-exp minus a_y and
 * log m_y; log p is never formed.  Column k_i of dl_i/dU is m_j pi_j at the
 * tokens j != y_i and minus their sum at y_i (pi the softmax over
 * positions), so every column of gU sums to 0 up to rounding.
 *
 * Returns L; 0 when D->n == 0; +inf when a label is absent from its
 * sequence (gU is then filled with NaN); NaN when norm <= 0 and D->n > 0. */
double ac_tpg_loss(const ac_tpg_data *D, const double *U, double norm, double *gU);

/* L along a line in logit space: U(s) = U0 + s U1 (both K x K, borrowed),
 * L = L(U(s)) and dLds = <dL/dU(U(s)), U1> (Frobenius).  Used to watch the
 * loss along W_fin + s W_svm (U0 = E W_fin E^T, U1 = E W_svm E^T); where the
 * value saturates in double, ac_tpg_loss_line_mpfr resolves it (in double,
 * dLds there is a sum of O(1) terms cancelling to ~e^{-s margin}, so only
 * its absolute error ~eps is meaningful).  Returns
 * AC_ENOMEM or AC_OK (values as ac_tpg_loss gives them). */
ac_status ac_tpg_loss_line(const ac_tpg_data *D, const double *U0, const double *U1, double s,
                           double norm, double *L, double *dLds);

/* The reduced dataset of spec §3.2: in each example keep the positions whose
 * token is in the label's SCC of G^(k); drop examples left with one distinct
 * token (zero loss, zero gradient).
 *
 * The last token k of an example is the attention query and stays so even
 * when its own position is dropped (k outside the label's SCC, the common
 * case), so a reduced example cannot follow ac_tpg_data's "last entry is the
 * last token" convention: the kept positions are data's sequences and the
 * queries are last[].  Never pass R->data to ac_tpg_loss or ac_tpg_build. */
typedef struct {
    ac_tpg_data *data;  /* kept examples: kept positions in their order, label */
    int *last;          /* data->n: the last token (query) of each kept example */
    int *src;           /* data->n: the index in the full dataset of each one */
    int n_full;         /* examples of the full dataset: the divisor of L_red */
} ac_tpg_reduced;

/* *out is new (free with ac_tpg_reduced_free).  D must satisfy
 * ac_tpg_data_check with labels in sequences (checked: its error and
 * sentence are returned), and G be built from D.  Returns AC_ENOMEM,
 * AC_EINVAL (G does not match D: another K, or a last token without a
 * graph; msg says which), or AC_OK. */
ac_status ac_tpg_reduce(const ac_tpg *G, const ac_tpg_data *D, ac_tpg_reduced **out, ac_msg *msg);
void ac_tpg_reduced_free(ac_tpg_reduced *R);

/* The reduced loss L_red(U) = (1/n_full) sum over the kept examples of
 * l_i, with the query of example i taken from R->last[i]; gU as in
 * ac_tpg_loss.  0 when R keeps no example. */
double ac_tpg_loss_reduced(const ac_tpg_reduced *R, const double *U, double *gU);

/* S_fin = span{(e_a - e_b) e_k^T : a ≍_k b} (spec §3.1-3.2), held as the
 * generators (e_a - e_{a0(C)}) e_k^T for every nontrivial SCC C of every
 * G^(k) and every a in C other than its smallest token a0(C), with the
 * Cholesky factor of their Gram matrix.  dim = sum over SCCs of (|C| - 1).
 * The Gram matrix needs only G = E E^T:
 *   <(e_a - e_a0) e_k^T, (e_b - e_b0) e_k'^T>
 *     = (G[a,b] - G[a,b0] - G[a0,b] + G[a0,b0]) G[k,k']. */
typedef struct {
    int K, d, dim;
    int *a, *a0, *k;    /* dim generators, ordered by graph, SCC, then a */
    double *E;          /* K x d copy */
    double *gram;       /* K x K: E E^T */
    double *chol;       /* dim x dim lower Cholesky factor of the generator Gram */
} ac_tpg_sfin;

/* A Cholesky pivot L_gg^2 (the squared norm of the part of generator g
 * orthogonal to the generators before it) below this multiple of ||B_g||^2
 * means the generators are dependent to working precision (dependent
 * embeddings): the Gram's condition number would exceed ~1e12 and the
 * projection keep at most ~4 digits. */
#define AC_TPG_SFIN_PIVOT_RTOL 1e-12

/* Returns AC_ERANK when the generators are linearly dependent (dependent
 * embeddings; msg names the generator, or -1 when the factorisation itself
 * failed), AC_ENOMEM, AC_ESIZE / AC_EPARSE when E fails ac_tpg_scale_check
 * (max|E| outside the band of AC_TPG_SCALE_BAND, or a non-finite entry),
 * AC_EINVAL (a NULL G, or a NULL E with K d > 0), or AC_OK.  E (K x d) is copied. */
ac_status ac_tpg_sfin_alloc(const ac_tpg *G, const double *E, int d, ac_tpg_sfin **out, ac_msg *msg);
void ac_tpg_sfin_free(ac_tpg_sfin *S);

/* The matrix sum_g c_g (e_{a_g} - e_{a0_g}) e_{k_g}^T (d x d, overwritten). */
void ac_tpg_sfin_matrix(const ac_tpg_sfin *S, const double *c, double *W);

/* Orthogonal (Frobenius) projection of W (d x d) on S_fin: P (d x d; may
 * alias W) and its generator coefficients c (dim; may be NULL):
 * c = M^{-1} J with J_g = <B_g, W> and M the generator Gram.  Returns
 * AC_ENOMEM or AC_OK. */
ac_status ac_tpg_sfin_project(const ac_tpg_sfin *S, const double *W, double *P, double *c);

/* W_fin = argmin over S_fin of the reduced loss (normalised by the full n),
 * by damped Newton (spec §7) with the exact Hessian.  Newton runs in the
 * coordinates z = L^T c (M = L L^T, c the generator coefficients): its
 * iterates are those of Newton in c (Newton is affine invariant), and
 * ||grad_z|| = sqrt(J^T M^{-1} J) is the Frobenius norm of the projection on
 * S_fin of the W-gradient, so the stopping test ||grad|| <= set->eps_grad
 * is in W-space.  Starts from W = 0.  set == NULL means the defaults.
 *
 * Wfin is d x d; info reports the Newton ending; grad_norm_W (may be NULL)
 * receives ||Pi_{S_fin} grad L_red(W_fin)||_F.  dim = 0 gives W_fin = 0,
 * converged in 0 iterations.  Returns AC_OK whenever the solve ran (read
 * info->status), AC_EINVAL when R's tokens exceed S's K, AC_ENOMEM. */
ac_status ac_tpg_wfin(const ac_tpg_sfin *S, const ac_tpg_reduced *R,
                      const ac_newton_settings *set, double *Wfin, double *grad_norm_W,
                      ac_newton_info *info, ac_msg *msg);

/* Soft composition (spec §3.3): the limit distribution over the tokens of the
 * top SCC C of a sequence, p(j) = m_j exp(U[j,k]) / sum_{j' in C} m_j' exp(U[j',k]),
 * from U = E W_fin E^T.  tok has len entries, the last is k; top is the
 * component index from ac_tpg_top_scc.  p has K entries (zero outside C; all
 * zero when top < 0, k has no graph or no position lies in C). */
void ac_tpg_soft_composition(const ac_tpg *G, const double *U, const int *tok, int len, int top,
                             double *p);

#endif
