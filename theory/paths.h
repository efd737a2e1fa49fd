/* Attention paths: the kernel theory of deep multi-head attention of Tiberi,
 * Mignacco, Irie & Sompolinsky (NeurIPS 2024), as written in
 * ../shared/spec/attention_paths.md (§ numbers below are that note's).
 *
 * Network (§1): L attention layers with H_l heads, widths n_0 .. n_{L-1} and
 * readout width N_a = n_L, prior variances sigma_0^2 .. sigma_L^2 and
 * sigma_a^2, temperature T.  A path pi = (h_1, ..., h_L) has index
 * ((h_1 H_2 + h_2) H_3 + ...) (h_1 most significant); there are H^L =
 * H_1 ... H_L of them.
 *
 * Order parameters (§3.1): U_l for l = 1..L is D_l x D_l with D_l = H_l ...
 * H_L (D_{L+1} = 1), indexed by (h_l, ..., h_L), h_l most significant.  They
 * are stored one after the other, row-major, in one array "U" of
 * ac_paths_u_size entries, U_l at ac_paths_u_offset(s, l).  U_a, the readout
 * overlap, is eliminated in closed form (§3.2) and returned beside.
 *
 * The action (§3.2; the overall factor 1/2 dropped, as in the authors' code):
 *   S = N_a (U_a/sigma_a^2 - ln U_a)
 *     + sum_{l=1..L} n_{l-1} [Tr(U_{l+1}^{-1} ptr_l U_l)/sigma_l^2 - ln det U_l
 *                              + H_l ln det U_{l+1}]                 (entropy)
 *     + ln det(K(U_1) + T I) + Y^T (K(U_1) + T I)^{-1} Y              (energy)
 * with U_{L+1} = U_a and K(U_1) = sum_i Phi_i U_1 Phi_i^T (§2).
 *
 * Gradients are "matrix gradients": G_l with dS = sum_{jk} (G_l)_{jk} (dU_l)_{jk}
 * for every symmetric dU_l; each G_l is symmetric.
 *
 * Arrays are row-major doubles with explicit sizes.  No function here
 * prints, exits or calls GSL's error handler. */
#ifndef AC_PATHS_H
#define AC_PATHS_H

#include <stddef.h>

#include "solvers/minimize.h"
#include "solvers/status.h"

/* Layers the settings struct can hold.  The paper uses L = 2 (and 3 in an
 * appendix); 8 leaves room without making the struct large. */
#define AC_PATHS_MAX_LAYERS 8
/* Largest number of paths H^L accepted: U_1 has (H^L)^2 entries and the
 * path tensor P N0 H^L; 4096 paths already make U_1 128 MiB. */
#define AC_PATHS_MAX_PATHS 4096

typedef struct {
    int L;                                   /* layers, 1..AC_PATHS_MAX_LAYERS */
    int H[AC_PATHS_MAX_LAYERS];              /* H[l-1] = heads of layer l, >= 1 */
    double n[AC_PATHS_MAX_LAYERS + 1];       /* n[l] = width n_l, l = 0..L (n[L] = N_a), > 0 */
    double sigma2[AC_PATHS_MAX_LAYERS + 1];  /* sigma2[l] = sigma_l^2, l = 0..L, > 0 */
    double sigma2_a;                         /* readout prior variance, > 0 */
    double T;                                /* temperature (likelihood variance), > 0 */
} ac_paths_settings;

/* L = 1, H_1 = 1, every width 1, every variance 1, T = 1: callers set what
 * they need. */
void ac_paths_settings_default(ac_paths_settings *s);
/* NULL when s is usable, else a sentence naming the quantity and its bound
 * (static storage): L outside 1..AC_PATHS_MAX_LAYERS, a head count < 1, more
 * than AC_PATHS_MAX_PATHS paths, a width, variance or T that is <= 0 or not
 * finite (NaN included). */
const char *ac_paths_settings_check(const ac_paths_settings *s);

/* Sizes: H^L (paths), D_l for l = 1..L+1, the entries of all U_l, and U_l's
 * offset in U.  Valid for checked settings only. */
int ac_paths_count(const ac_paths_settings *s);
int ac_paths_dim(const ac_paths_settings *s, int l);
size_t ac_paths_u_size(const ac_paths_settings *s);
size_t ac_paths_u_offset(const ac_paths_settings *s, int l);

/* ---- Paths and kernels (§2) ------------------------------------------ */

/* Path attention vectors of one example: omega (H^L x ntok) row pi gets
 * omega_pi = Omega_1^{h_1} ... Omega_L^{h_L} r.  Omega holds the example's
 * sum_l H_l attention matrices, layer 1's heads first, each ntok x ntok with
 * entry [s, t] (key s, query t); r (ntok) is the readout vector (e_{t*}, or
 * 1/ntok everywhere for average pooling).  All inputs borrowed for the call;
 * omega may not alias them.  Returns AC_EINVAL (settings that fail
 * ac_paths_settings_check, ntok < 1, a NULL array), AC_ENOMEM or AC_OK. */
ac_status ac_paths_attention(const ac_paths_settings *s, int ntok, const double *Omega,
                             const double *r, double *omega);

/* The path tensor Phi (P x N0 x H^L): Phi[mu, i, pi] = sigma_0 xi_pi(x^mu)_i
 * / sqrt(N0 H^L), xi_pi(x) = x omega_pi(x).  X is P x N0 x ntok (example mu
 * is the N0 x ntok matrix with tokens as columns), Omega is P blocks of
 * ac_paths_attention's layout, r as there.  Returns AC_EINVAL (msg names the
 * quantity) for bad settings, sizes < 1 (P = 0 is allowed, and then no
 * array is read), a NULL array or a non-finite input, AC_ENOMEM, or AC_OK.  Phi may not alias the inputs. */
ac_status ac_paths_phi(const ac_paths_settings *s, int P, int N0, int ntok, const double *X,
                       const double *Omega, const double *r, double *Phi, ac_msg *msg);

/* The path-pair kernel C_{pi pi'}(x^mu, x'^nu) = (sigma_0^2/N0)
 * xi_pi(x^mu) . xi_pi'(x'^nu) = H^L Phi_a[mu,:,pi] . Phi_b[nu,:,pi'], into C
 * (Pa x Pb).  Phi_a, Phi_b (Pa or Pb x N0 x H^L) borrowed. */
void ac_paths_pair_kernel(const ac_paths_settings *s, int N0, int Pa, const double *Phi_a,
                          int Pb, const double *Phi_b, int pi, int pi2, double *C);

/* The renormalised kernel K(U_1) = (1/H^L) sum_{pi pi'} U_{pi pi'} C_{pi pi'}
 * = sum_i Phi_a_i U_1 Phi_b_i^T, into K (Pa x Pb).  U1 is H^L x H^L (any
 * matrix; symmetric in the theory).  Returns AC_ENOMEM or AC_OK. */
ac_status ac_paths_kernel(const ac_paths_settings *s, int N0, int Pa, const double *Phi_a,
                          int Pb, const double *Phi_b, const double *U1, double *K);

/* ---- Order parameters: closed forms (§3.2, §3.4) ---------------------- */

/* U_a at the minimum of S over U_a for given Tr U_L (§3.2):
 *   U_a = [-beta + sqrt(beta^2 + 4 gamma)]/2, beta = sigma_a^2 (H_L n_{L-1}/N_a - 1),
 *   gamma = n_{L-1} sigma_a^2 Tr U_L / (N_a sigma_L^2),
 * evaluated without cancellation (2 gamma / (beta + sqrt(.)) when beta > 0).
 * NaN when tr_UL <= 0. */
double ac_paths_ua(const ac_paths_settings *s, double tr_UL);

/* The GP values (§3.4): U_l = sigma_a^2 prod_{k >= l} sigma_k^2 I for l =
 * 1..L, into U (ac_paths_u_size entries).  They are the stationary point of
 * the entropy alone, the alpha -> 0 limit, with ac_paths_ua = sigma_a^2 there
 * at any widths (U_a^2 + beta U_a - gamma vanishes at sigma_a^2 when Tr U_L =
 * H_L sigma_a^2 sigma_L^2); the authors start their solver there (§3.5). */
void ac_paths_gp_u(const ac_paths_settings *s, double *U);

/* The head scores (§4.2, authors' compute_heads_score): for head h of layer
 * l, sum |U_1[pi, pi']| over the entries with pi_l = h or pi'_l = h, divided
 * by the largest such sum over all heads.  scores has sum_l H_l entries,
 * layer 1 first.  All zero when U_1 = 0. */
void ac_paths_head_scores(const ac_paths_settings *s, const double *U1, double *scores);

/* ---- Action, gradient, predictor (§3.2, §3.3, §3.6) -------------------- */

/* AC_OK when a workspace for P training examples of N0 features fits the
 * settings: AC_EINVAL with the settings' sentence, AC_ESIZE (msg names the
 * size) for P < 0, N0 < 1, or P N0 or N0 H^L beyond BLAS's int dimensions. */
ac_status ac_paths_check_sizes(const ac_paths_settings *s, int P, int N0, ac_msg *msg);

/* Pre-kernels C_ab = Phi_a Phi_b^T (one P x P triangle per pair of paths,
 * computed once by set_data) let each evaluation assemble K in
 * O(H^L(H^L+1)/2 P^2) instead of O(P^2 N0 H^L); the workspace holds them
 * when they win (4 (H^L + 1) <= N0) and take at most this many doubles,
 * 2^25 (256 MiB): the Markov task at P = 2000 needs 2e7.  Otherwise K is
 * Z Z^T with Z = Phi L_1. */
#define AC_PATHS_PREKERNEL_MAX ((size_t)1 << 25)

/* Whether the pre-kernels are kept for P examples of N0 features and np
 * paths (theory/paths.c's workspace, verify/paths_gibbs.c's V_0 block, and
 * the memory estimates of verify/paths_io.c): assembling K from them reads
 * np(np+1)/2 packed triangles (memory-bound, ~8 bytes per multiply-add),
 * where K = Z Z^T costs N0 np multiply-adds per entry (compute-bound), so
 * they pay off when 4 (np + 1) <= N0 (the paper's tasks, np = 4, N0 = 231
 * and np = 16, N0 = 192, qualify), and they must fit
 * AC_PATHS_PREKERNEL_MAX. */
static inline int ac_paths_keeps_prekernels(double P, double N0, double np)
{
    double n = np * (np + 1) / 2 * (P * (P + 1) / 2);
    return P > 0 && 4.0 * (np + 1) <= N0 && n <= (double)AC_PATHS_PREKERNEL_MAX;
}

/* The pre-kernels' layout (theory/paths.c, verify/paths_gibbs.c): each
 * P x P triangle is the upper one packed by rows, row mu (entries mu ..
 * P-1) starting here, after rows 0 .. mu-1 of P - i entries each.  Row mu of
 * a symmetric matrix's upper triangle is column mu of its lower one, which
 * is where LAPACK's column-major dpotrf 'L' reads it. */
static inline size_t ac_paths_packed_row(int P, int mu)
{
    return (size_t)mu * P - (size_t)mu * (mu - 1) / 2;
}

/* sum_k coef[k] C_k over npair pre-kernels in that layout (Cpk: npair
 * packed triangles of P(P+1)/2 <= AC_PATHS_PREKERNEL_MAX), into the upper
 * triangle of the row-major P x P matrix K (rows mu .. P-1 of each row mu;
 * the lower triangle is not touched), through packed (P(P+1)/2 scratch):
 * one dgemv over the pre-kernels, then the rows into K.  A size below 0
 * counts as 0 (nothing reaches BLAS, whose xerbla prints); npair 0 writes 0
 * into K's triangle (an empty dgemv would write nothing). */
void ac_paths_prekernel_sum(int P, int npair, const double *Cpk, const double *coef, double *packed,
                            double *K);

/* How the energy gradient's M = sum_i Phi_i^T (K+TI)^{-1} Phi_i (§3.6) is
 * computed; m = N0 H^L, r = min(P, m), L L^T = K + T I.
 *   DIRECT: Z = L^{-1} Phi (a triangular solve with m right-hand sides,
 *     P^2 m flops per evaluation), M = Z^T Z over the P N0 rows.
 *   COMPRESSED: once per set_data, the LQ factorisation Phi = R Q (R P x r
 *     lower trapezoidal, Q orthonormal rows) and, for each pair a <= b of
 *     paths, Q_a Q_b^T (r x r, Q_a path a's columns of Q); then per
 *     evaluation M's entry (a, b) is tr[W Q_a Q_b^T] with W = Y^T Y,
 *     Y = L^{-1} R: a solve
 *     with R, triangular on its leading r x r (P^3/3 flops when r = P, by
 *     recursive halving into dgemm and dtrsm), W by dlauum/dsyrk (r^3/3 +
 *     r^2 (P - r)), and one pass over the pairs (np(np+1)/2 r^2/2
 *     doubles).  No inverse is formed.
 *   AUTO: COMPRESSED when its cost per evaluation is lower (flops, the
 *     direct route's wide dtrsm weighted by its higher flop rate and the
 *     compressed route's pass over the pairs by memory traffic; see
 *     theory/paths.c) and its data fit AC_PATHS_COMPRESS_MAX, else DIRECT.
 *     The once-per-data compression (LQ, ~2 P^2 m - 2P^3/3 flops, and the
 *     pairs' products) is not weighed: it is amortised over a solve.
 * Both compute the same quantity from the same factor L; they differ by
 * rounding only (tests/test_paths.c bounds the difference). */
typedef enum {
    AC_PATHS_GRAD_AUTO = 0,
    AC_PATHS_GRAD_DIRECT,
    AC_PATHS_GRAD_COMPRESSED
} ac_paths_grad_route;

/* Doubles the compressed route may keep, R (P r) and the packed M_ab of
 * every pair (np(np+1)/2 r(r+1)/2): 2^25 (256 MiB), as the pre-kernels.
 * The Markov task (4 paths, m = 924) at P = 2000 needs 6.1e6 (47 MiB:
 * 1.8e6 for R, 4.3e6 for the ten pairs' triangles). */
#define AC_PATHS_COMPRESS_MAX ((size_t)1 << 25)

/* A workspace for P training examples of N0 features (O(P^2 + P N0 H^L)
 * doubles, plus the pre-kernels above and the compressed route's data when
 * used).  Copies s; NULL on no memory or when ac_paths_check_sizes fails.
 * ac_paths_alloc takes AC_PATHS_GRAD_AUTO; ac_paths_alloc_route the route
 * given (NULL also for an unknown route, or COMPRESSED beyond
 * AC_PATHS_COMPRESS_MAX or with P = 0). */
typedef struct ac_paths_workspace ac_paths_workspace;
ac_paths_workspace *ac_paths_alloc(const ac_paths_settings *s, int P, int N0);
ac_paths_workspace *ac_paths_alloc_route(const ac_paths_settings *s, int P, int N0,
                                         ac_paths_grad_route route);
/* The route the workspace takes (DIRECT or COMPRESSED, AUTO resolved). */
ac_paths_grad_route ac_paths_route_of(const ac_paths_workspace *w);
void ac_paths_free(ac_paths_workspace *w);
/* The settings the workspace holds (borrowed). */
const ac_paths_settings *ac_paths_settings_of(const ac_paths_workspace *w);

/* Attach the training data: Phi (P x N0 x H^L) and labels Y (P).  Both
 * borrowed until the next set_data or free, and must not change meanwhile
 * (the pre-kernels and the compressed route's factorisation are computed
 * from Phi here).  Returns AC_EINVAL (msg names the entry) for a NULL or
 * non-finite entry, AC_ENOMEM or AC_ELAPACK when the compression fails,
 * else AC_OK.  After an error the workspace holds no data, not the arrays
 * of an earlier set_data: the calls that need data refuse (AC_EINVAL) until
 * a good one. */
ac_status ac_paths_set_data(ac_paths_workspace *w, const double *Phi, const double *Y,
                            ac_msg *msg);

/* The entropy (first two lines of S) at U, with U_a in closed form; Ua gets
 * it (may be NULL).  G (ac_paths_u_size entries, may be NULL) gets the matrix
 * gradients (§3.6; with U_a eliminated, dS/dU_L is the partial derivative at
 * fixed U_a: envelope theorem).  Returns AC_ENUMERIC when some U_l has no
 * Cholesky factor (not positive definite; msg names the layer), else AC_OK.
 * Needs no data. */
ac_status ac_paths_entropy(ac_paths_workspace *w, const double *U, double *S, double *Ua,
                           double *G, ac_msg *msg);

/* The energy E = ln det(K + T I) + Y^T (K + T I)^{-1} Y at U_1 (H^L x H^L,
 * positive definite), and (G1 non-NULL) its matrix gradient M - B (§3.6):
 * M = sum_i Phi_i^T (K+TI)^{-1} Phi_i, B = sum_i b_i b_i^T, b_i = Phi_i^T v,
 * v = (K + T I)^{-1} Y.  One Cholesky of K + T I (LAPACKE dpotrf), no
 * inverse; M by the workspace's route (ac_paths_grad_route).  Returns AC_EINVAL before set_data, AC_ENUMERIC when U_1 or
 * K + T I is not positive definite (msg says which), else AC_OK. */
ac_status ac_paths_energy(ac_paths_workspace *w, const double *U1, double *E, double *G1,
                          ac_msg *msg);

/* What the last AC_ENUMERIC of a call on a workspace (entropy, energy,
 * action, predict, solve, objective) was about, so that a caller can name
 * the input at fault without reading the message's words:
 *   AC_PATHS_NUMERIC_U            an order parameter U_l has no Cholesky
 *                                 factor (or, in solve, the start's);
 *   AC_PATHS_NUMERIC_K_INDEFINITE dpotrf found K + T I not positive
 *                                 definite (T small against K's spectrum);
 *   AC_PATHS_NUMERIC_K_NOT_FINITE K + T I has an infinity or NaN (its
 *                                 factor's diagonal is not finite: the
 *                                 inputs' or the prior variances' scale).
 * AC_PATHS_NUMERIC_NONE after a call that factored everything it needed. */
typedef enum {
    AC_PATHS_NUMERIC_NONE = 0,
    AC_PATHS_NUMERIC_U,
    AC_PATHS_NUMERIC_K_INDEFINITE,
    AC_PATHS_NUMERIC_K_NOT_FINITE
} ac_paths_numeric;

ac_paths_numeric ac_paths_last_numeric(const ac_paths_workspace *w);

/* S = entropy + energy at U, Ua (may be NULL) and G (may be NULL) as above
 * (G_1 gets the sum of both parts).  Statuses as the two parts. */
ac_status ac_paths_action(ac_paths_workspace *w, const double *U, double *S, double *Ua,
                          double *G, ac_msg *msg);

/* The predictor at U_1 for Pt test points Phi_t (Pt x N0 x H^L, borrowed):
 * mean[m] = k_m^T (K + T I)^{-1} Y and var[m] = K(x_m, x_m) - k_m^T (K + T
 * I)^{-1} k_m (§3.3; the variance of f, no T at the test point), k_m[mu] =
 * K(x^mu, x_m).  var may be NULL; Pt = 0 computes nothing.  Statuses as
 * ac_paths_energy, AC_EINVAL for Pt < 0 (or a NULL U1, Phi_t or mean with
 * Pt > 0), and AC_ENOMEM. */
ac_status ac_paths_predict(ac_paths_workspace *w, const double *U1, int Pt,
                           const double *Phi_t, double *mean, double *var, ac_msg *msg);

/* ---- Minimising S (§6) ------------------------------------------------- */

/* Parameters theta of the Cholesky parameterisation U_l = L_l L_l^T: for
 * each layer, the rows of L_l's lower triangle in order, the diagonal
 * entries as ln L_jj, so that every theta gives positive definite U.  Their
 * number, sum_l D_l (D_l + 1)/2. */
int ac_paths_theta_size(const ac_paths_settings *s);
/* theta from U (each U_l positive definite; AC_ENUMERIC, naming the layer,
 * otherwise; AC_ENOMEM) and U from theta (U untouched on no memory). */
ac_status ac_paths_theta_from_u(const ac_paths_settings *s, const double *U, double *theta,
                                ac_msg *msg);
void ac_paths_u_from_theta(const ac_paths_settings *s, const double *theta, double *U);

/* The objective the minimiser sees, in ac_min_fn's form with ctx = the
 * workspace (after set_data): f = S(U(theta)) / n_max with n_max the largest
 * width (as the authors' code, so that eps_grad means the same at every
 * width), and its gradient by the chain rule (§6): dS/dL_l = 2 G_l L_l on the
 * lower triangle, times L_jj once more on the diagonal.  Returns 1 (reject)
 * when K + T I has no Cholesky factor, -1 before set_data, else 0. */
int ac_paths_objective(void *w, const double *theta, double *f, double *g);

typedef struct {
    ac_min_info min;     /* how the minimisation ended, on f = S / n_max */
    double S;            /* the action at the end (not divided) */
    double Ua;           /* U_a there */
    double n_max;        /* the width S was divided by */
} ac_paths_info;

/* Minimise S from U (in: the start, e.g. ac_paths_gp_u; out: the last
 * accepted iterate, the minimiser when info->min.status is CONVERGED).
 * set NULL means ac_min_settings_default.  Returns AC_EINVAL (bad settings,
 * no data), AC_ENUMERIC (the start is not positive definite or K + T I fails
 * there), AC_ENOMEM, or AC_OK whenever the iteration ran (read
 * info->min.status). */
ac_status ac_paths_solve(ac_paths_workspace *w, const ac_min_settings *set, double *U,
                         ac_paths_info *info, ac_msg *msg);

/* ---- Exact special cases (§3.7) ----------------------------------------- */

/* One layer, one head (L = H_1 = 1; any widths and variances): the scalar u
 * = U_1 minimising S, by a route independent of the general solver: the
 * eigenvalues lambda_k of C = Phi Phi^T (LAPACK dsyev) and q =
 * V^T Y make dS/du = n_0 [1/(sigma_1^2 U_a(u)) - 1/u] + sum_k lambda_k/(u
 * lambda_k + T) - sum_k lambda_k q_k^2/(u lambda_k + T)^2, whose first root
 * on a log grid from u = AC_PATHS_ONE_U_MIN up is refined by Brent's method
 * to AC_PATHS_ONE_U_RTOL.  Returns AC_EINVAL (not one path, no data),
 * AC_ENOCONV (no sign change below AC_PATHS_ONE_U_MAX), AC_ENOMEM, or AC_OK. */
#define AC_PATHS_ONE_U_MIN 1e-12
#define AC_PATHS_ONE_U_MAX 1e12
/* Brent's bracket is closed to 4 eps relative: the root is then known to
 * the rounding of dS/du near it. */
#define AC_PATHS_ONE_U_RTOL (4 * 2.220446049250313e-16)
ac_status ac_paths_one_path_u(ac_paths_workspace *w, double *u, ac_msg *msg);

/* The T -> 0 form of the same (§3.7, all sigma = 1, n_0 = N_a = N):
 * u^{3/2} = (1 - alpha) u + r/N with alpha = P/N, r = Y^T C^{-1} Y > 0.  With
 * s = sqrt(u) this is the cubic s^3 - (1 - alpha) s^2 - r/N = 0, which has
 * exactly one positive root (one sign change, Descartes).  NaN when
 * r_over_N <= 0. */
double ac_paths_one_path_u_t0(double alpha, double r_over_N);

#endif
