/* Attention paths (spec attention_paths §2, §3, §6): path tensor, kernels,
 * the action over the layer order parameters with its exact gradient, the
 * predictor, head scores, and the minimisation of S on a Cholesky
 * parameterisation.  BLAS through CBLAS, factorisations through LAPACKE
 * (row-major); the only matrix inverses formed are the U_l^{-1} that are
 * themselves terms of the gradient (§3.6), from their Cholesky factors. */
#include "theory/paths.h"

#include <cblas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_poly.h>
#include <gsl/gsl_roots.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- Settings and sizes ------------------------------------------------ */

void ac_paths_settings_default(ac_paths_settings *s)
{
    memset(s, 0, sizeof *s);
    s->L = 1;
    for (int l = 0; l < AC_PATHS_MAX_LAYERS; l++)
        s->H[l] = 1;
    for (int l = 0; l <= AC_PATHS_MAX_LAYERS; l++) {
        s->n[l] = 1.0;
        s->sigma2[l] = 1.0;
    }
    s->sigma2_a = 1.0;
    s->T = 1.0;
}

static int positive(double x)
{
    return x > 0.0 && isfinite(x);
}

const char *ac_paths_settings_check(const ac_paths_settings *s)
{
    if (!s)
        return "attention-paths settings are missing (NULL)";
    if (s->L < 1 || s->L > AC_PATHS_MAX_LAYERS)
        return "the number of layers L must lie in 1..8 (AC_PATHS_MAX_LAYERS)";
    long np = 1;
    for (int l = 0; l < s->L; l++) {
        if (s->H[l] < 1)
            return "every layer needs at least one head (H_l >= 1)";
        np *= s->H[l];
        if (np > AC_PATHS_MAX_PATHS)
            return "the number of paths H_1 ... H_L exceeds 4096 (AC_PATHS_MAX_PATHS)";
    }
    for (int l = 0; l <= s->L; l++) {
        if (!positive(s->n[l]))
            return "every width n_0 .. n_L (n_L = N_a) must be finite and > 0";
        if (!positive(s->sigma2[l]))
            return "every prior variance sigma_0^2 .. sigma_L^2 must be finite and > 0";
    }
    if (!positive(s->sigma2_a))
        return "the readout prior variance sigma_a^2 must be finite and > 0";
    if (!positive(s->T))
        return "the temperature T must be finite and > 0";
    return NULL;
}

int ac_paths_dim(const ac_paths_settings *s, int l)
{
    int d = 1;
    for (int k = l; k <= s->L; k++)
        d *= s->H[k - 1];
    return d;
}

int ac_paths_count(const ac_paths_settings *s)
{
    return ac_paths_dim(s, 1);
}

size_t ac_paths_u_offset(const ac_paths_settings *s, int l)
{
    size_t off = 0;
    for (int k = 1; k < l; k++) {
        size_t d = (size_t)ac_paths_dim(s, k);
        off += d * d;
    }
    return off;
}

size_t ac_paths_u_size(const ac_paths_settings *s)
{
    return ac_paths_u_offset(s, s->L + 1);
}

/* ---- Paths and kernels ------------------------------------------------ */

/* wn = Om w for an ntok x ntok matrix Om[s, t] (key s, query t). */
static void matvec(const double *Om, int ntok, const double *w, double *wn)
{
    for (int a = 0; a < ntok; a++) {
        double acc = 0.0;
        for (int t = 0; t < ntok; t++)
            acc += Om[(size_t)a * ntok + t] * w[t];
        wn[a] = acc;
    }
}

ac_status ac_paths_attention(const ac_paths_settings *s, int ntok, const double *Omega,
                             const double *r, double *omega)
{
    if (ac_paths_settings_check(s) || ntok < 1 || !Omega || !r || !omega)
        return AC_EINVAL;
    int np = ac_paths_count(s);
    size_t nn = (size_t)ntok * (size_t)ntok;
    double *wn = malloc(sizeof(double) * (size_t)ntok);
    if (!wn)
        return AC_ENOMEM;
    int off[AC_PATHS_MAX_LAYERS + 1];
    off[1] = 0;
    for (int l = 2; l <= s->L; l++)
        off[l] = off[l - 1] + s->H[l - 2];
    for (int pi = 0; pi < np; pi++) {
        double *w = omega + (size_t)pi * (size_t)ntok;
        /* omega_pi = Omega_1^{h_1} (... (Omega_L^{h_L} r)): back-multiply from
         * the last layer (§6 "precompute once"), h_l the l-th digit of pi. */
        memcpy(w, r, sizeof(double) * (size_t)ntok);
        int rest = pi;
        for (int l = s->L; l >= 1; l--) {
            int h = rest % s->H[l - 1];
            rest /= s->H[l - 1];
            matvec(Omega + (size_t)(off[l] + h) * nn, ntok, w, wn);
            memcpy(w, wn, sizeof(double) * (size_t)ntok);
        }
    }
    free(wn);
    return AC_OK;
}

static int all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

ac_status ac_paths_phi(const ac_paths_settings *s, int P, int N0, int ntok, const double *X,
                       const double *Omega, const double *r, double *Phi, ac_msg *msg)
{
    const char *why = ac_paths_settings_check(s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "%s", why);
    if (P < 0 || N0 < 1 || ntok < 1)
        return ac_fail(msg, AC_EINVAL,
                       "path tensor: %d examples, %d features, %d tokens do not fit "
                       "(need P >= 0, N0 >= 1, ntok >= 1)", P, N0, ntok);
    if (P > 0 && (!X || !Omega || !r || !Phi))
        return ac_fail(msg, AC_EINVAL, "path tensor: the inputs X, the attention matrices, the "
                                       "readout vector or the output Phi is NULL");
    if (P == 0)
        return AC_OK;
    int np = ac_paths_count(s), nh = 0;
    for (int l = 0; l < s->L; l++)
        nh += s->H[l];
    size_t nx = (size_t)N0 * ntok, nom = (size_t)nh * ntok * ntok;
    if (!all_finite(X, (size_t)P * nx))
        return ac_fail(msg, AC_EINVAL, "path tensor: the inputs X hold a non-finite value");
    if (!all_finite(Omega, (size_t)P * nom))
        return ac_fail(msg, AC_EINVAL, "path tensor: an attention matrix holds a non-finite value");
    if (!all_finite(r, (size_t)ntok))
        return ac_fail(msg, AC_EINVAL, "path tensor: the readout vector holds a non-finite value");
    double *omega = malloc(sizeof(double) * (size_t)np * ntok);
    if (!omega)
        return ac_fail(msg, AC_ENOMEM, "path tensor: out of memory");
    /* Phi[mu] (N0 x H^L) = c X^mu omega^T, c = sigma_0 / sqrt(N0 H^L) (§2). */
    double c = sqrt(s->sigma2[0] / ((double)N0 * np));
    for (int mu = 0; mu < P; mu++) {
        if (ac_paths_attention(s, ntok, Omega + (size_t)mu * nom, r, omega) != AC_OK) {
            free(omega);
            return ac_fail(msg, AC_ENOMEM, "path tensor: out of memory");
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N0, np, ntok, c, X + (size_t)mu * nx,
                    ntok, omega, ntok, 0.0, Phi + (size_t)mu * N0 * np, np);
    }
    free(omega);
    return AC_OK;
}

void ac_paths_pair_kernel(const ac_paths_settings *s, int N0, int Pa, const double *Phi_a,
                          int Pb, const double *Phi_b, int pi, int pi2, double *C)
{
    int np = ac_paths_count(s);
    /* C_{pi pi'} = (sigma_0^2/N0) xi . xi' = H^L Phi_pi . Phi_pi' (§2). */
    for (int mu = 0; mu < Pa; mu++)
        for (int nu = 0; nu < Pb; nu++) {
            const double *a = Phi_a + (size_t)mu * N0 * np, *b = Phi_b + (size_t)nu * N0 * np;
            double acc = 0.0;
            for (int i = 0; i < N0; i++)
                acc += a[(size_t)i * np + pi] * b[(size_t)i * np + pi2];
            C[(size_t)mu * Pb + nu] = np * acc;
        }
}

ac_status ac_paths_kernel(const ac_paths_settings *s, int N0, int Pa, const double *Phi_a,
                          int Pb, const double *Phi_b, const double *U1, double *K)
{
    int np = ac_paths_count(s);
    if (Pa == 0 || Pb == 0)
        return AC_OK;
    size_t m = (size_t)N0 * np;
    double *W = malloc(sizeof(double) * (size_t)Pb * m);
    if (!W)
        return AC_ENOMEM;
    /* K = sum_i Phi_a_i U Phi_b_i^T: W = Phi_b U^T as a (Pb N0) x H^L
     * product, then K = Phi_a W^T over the (N0 H^L) index. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Pb * N0, np, np, 1.0, Phi_b, np, U1, np,
                0.0, W, np);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Pa, Pb, (int)m, 1.0, Phi_a, (int)m, W,
                (int)m, 0.0, K, Pb);
    free(W);
    return AC_OK;
}

/* ---- Closed forms ------------------------------------------------------ */

double ac_paths_ua(const ac_paths_settings *s, double tr_UL)
{
    if (!(tr_UL > 0.0))
        return NAN;
    int L = s->L;
    double nL1 = s->n[L - 1], Na = s->n[L], HL = s->H[L - 1];
    double beta = s->sigma2_a * (HL * nL1 / Na - 1.0);
    double gamma = nL1 * s->sigma2_a * tr_UL / (Na * s->sigma2[L]);
    double root = sqrt(beta * beta + 4.0 * gamma);
    /* Positive root of U_a^2 + beta U_a - gamma = 0 (§3.2), the form without
     * cancellation for each sign of beta. */
    return beta > 0.0 ? 2.0 * gamma / (beta + root) : 0.5 * (root - beta);
}

void ac_paths_gp_u(const ac_paths_settings *s, double *U)
{
    double c = s->sigma2_a;
    for (int l = s->L; l >= 1; l--) {
        c *= s->sigma2[l];
        int d = ac_paths_dim(s, l);
        double *Ul = U + ac_paths_u_offset(s, l);
        memset(Ul, 0, sizeof(double) * (size_t)d * d);
        for (int j = 0; j < d; j++)
            Ul[(size_t)j * d + j] = c;
    }
}

void ac_paths_head_scores(const ac_paths_settings *s, const double *U1, double *scores)
{
    int np = ac_paths_count(s), k = 0;
    double mx = 0.0;
    for (int l = 1; l <= s->L; l++) {
        int below = ac_paths_dim(s, l + 1); /* D_{l+1}: weight of digit h_l */
        for (int h = 0; h < s->H[l - 1]; h++, k++) {
            double acc = 0.0;
            for (int a = 0; a < np; a++) {
                int ha = (a / below) % s->H[l - 1];
                for (int b = 0; b < np; b++) {
                    int hb = (b / below) % s->H[l - 1];
                    if (ha == h || hb == h)
                        acc += fabs(U1[(size_t)a * np + b]);
                }
            }
            scores[k] = acc;
            if (acc > mx)
                mx = acc;
        }
    }
    for (int j = 0; j < k; j++)
        scores[j] = mx > 0.0 ? scores[j] / mx : 0.0;
}

/* ---- Workspace --------------------------------------------------------- */

struct ac_paths_workspace {
    ac_paths_settings s;
    int P, N0, np, D[AC_PATHS_MAX_LAYERS + 2];
    size_t usize;
    const double *Phi, *Y;       /* borrowed (set_data) */
    double *K;                   /* P x P: K + T I, then its Cholesky factor L,
                                  * column-major lower (row-major: L^T, upper) */
    double *Z;                   /* P x N0 H^L: Phi L_1, or L^{-1} Phi */
    double *v, *wv;              /* (K+TI)^{-1} Y and L^{-1} Y */
    double *b;                   /* N0 x H^L: Phi_i^T v */
    double *M, *G1;              /* H^L x H^L: M - B, the energy gradient */
    double *Lu;                  /* Cholesky factors of every U_l (usize) */
    double *Inv;                 /* U_l^{-1} (usize) */
    double *Q, *X;               /* D_2 x D_2 scratch (partial traces) */
    double *Ut, *Gt;             /* usize: U(theta) and its gradient */
    double ld1;                  /* ln det U_1 of the last factor */
    ac_paths_numeric numeric;    /* what the last factorisation failed on */
    /* Pre-kernels (NULL when not used, see AC_PATHS_PREKERNEL_MAX): for each
     * pair a <= b of paths, in the order (0,0), (0,1), ..., (np-1,np-1), the
     * upper triangle packed by rows (theory/paths.h ac_paths_packed_row), of
     * C_aa = Phi_a Phi_a^T, or C_ab + C_ab^T for a < b, with
     * Phi_a the P x N0 slice of path a: the triangle w->K is factored in
     * (factor); Pa (P x N0) is scratch for that slice; Kp (P(P+1)/2) and
     * cpair (one per pair) for their sum (kernel_prekernels). */
    double *Cpk, *Pa, *Kp, *cpair;
    /* The compressed gradient route (AC_PATHS_GRAD_COMPRESSED; NULL
     * otherwise), set by set_data from the LQ factorisation Phi = R Q of
     * Phi seen as P x m (m = N0 H^L), R lower trapezoidal P x r, r =
     * min(P, m), Q with orthonormal rows (r x m):
     *   Rq: R, P x r row-major (zero above the diagonal);
     *   Sp: for each pair a <= b of paths in the pre-kernels' order, the
     *       packed lower triangle (row j at j(j+1)/2) of S_ab with
     *       (S_ab)_jj = (M_ab)_jj and (S_ab)_jk = (M_ab)_jk + (M_ab)_kj for
     *       j > k, M_ab = Q_a Q_b^T (r x r), Q_a the columns of Q of path a;
     *   Wp: r(r+1)/2 scratch (the packed triangle of W = Y^T Y);
     *   gp: one entry per pair (scratch). */
    ac_paths_grad_route route;
    int r;
    double *Rq, *Sp, *Wp, *gp;
};

/* Below this order the triangular-by-triangular solve (tri_tri_solve) is
 * one dtrsm on the whole square: recursing further costs more in calls
 * than the zeros above the diagonal it skips. */
#define TRI_BASE 32
/* A double streamed from memory (the pass over the pairs' S_ab) counts as
 * this many flops in the route choice: a single core moves ~1 double per
 * ns against ~15-30 flops per ns in dpotrf/dtrsm on the machines we use. */
#define MEM_FLOPS 16.0
/* The direct route's one wide dtrsm (P x P against m columns) runs at about
 * this multiple of the flop rate of the compressed route's calls (dpotrf-
 * and dlauum-like orders, narrower blocks): measured with OpenBLAS 0.3.21,
 * one thread, a P x P dtrsm against P columns (P^3 flops) takes 3.5, 2.95
 * and 2.5 times a column-major dpotrf 'L' (P^3/3, as factor() calls it) at
 * P = 500, 1000, 2000: 0.86-1.22 times its rate.  (It was 1.5 against the
 * row-major LAPACKE_dpotrf, whose copies made the Cholesky look slower.)
 * With 1.1 the choice matches the measured faster route on the Markov task
 * at P = 100, 500, 1000 (compressed: 4.05 against 4.52 Choleskies an
 * evaluation at 1000) and 2000 (direct: 2.91 against 3.06), where r = m =
 * 924 no longer falls short of P. */
#define DIRECT_SPEED 1.1

/* Doubles the compressed route keeps: R (P r) and the packed S_ab of every
 * pair a <= b. */
static double compressed_doubles(int P, int m, int np)
{
    double r = P < m ? P : m;
    return (double)P * r + (double)np * (np + 1) / 2 * (r * (r + 1) / 2);
}

/* Flops of one gradient evaluation beyond what both routes share (the
 * Cholesky of K + T I, b = Phi^T v and B), in dpotrf-rate flops:
 *   direct:     the solve L^{-1} Phi (P x m right-hand sides), P^2 m, and
 *               M = Z^T Z over P N0 rows, P m H^L, over DIRECT_SPEED;
 *   compressed: Y = L^{-1} R (tri_tri_solve r^3/3 on the leading r x r,
 *               then dgemm (P - r) r^2 and dtrsm (P - r)^2 r below it),
 *               W = Y^T Y (dlauum r^3/3, dsyrk r^2 (P - r)), and one pass
 *               over the pairs' packed S_ab (np(np+1)/2 r^2/2 doubles, at
 *               MEM_FLOPS each). */
static double direct_flops(int P, int m, int np)
{
    return ((double)P * P * m + (double)P * m * np) / DIRECT_SPEED;
}

static double compressed_flops(int P, int m, int np)
{
    double r = P < m ? P : m, d = P - r;
    return 2.0 * r * r * r / 3 + 2.0 * d * r * r + d * d * r +
           MEM_FLOPS * np * (np + 1) / 2 * r * r / 2;
}

/* The route a workspace takes (route requested, AUTO resolved); -1 when the
 * compressed route is asked for but exceeds AC_PATHS_COMPRESS_MAX. */
static int resolve_route(ac_paths_grad_route route, int P, int N0, int np)
{
    int m = N0 * np;
    int fits = P > 0 && compressed_doubles(P, m, np) <= (double)AC_PATHS_COMPRESS_MAX;
    if (route == AC_PATHS_GRAD_DIRECT)
        return AC_PATHS_GRAD_DIRECT;
    if (route == AC_PATHS_GRAD_COMPRESSED)
        return fits ? AC_PATHS_GRAD_COMPRESSED : -1;
    return fits && compressed_flops(P, m, np) < direct_flops(P, m, np) ? AC_PATHS_GRAD_COMPRESSED
                                                                        : AC_PATHS_GRAD_DIRECT;
}

const ac_paths_settings *ac_paths_settings_of(const ac_paths_workspace *w)
{
    return &w->s;
}

ac_status ac_paths_check_sizes(const ac_paths_settings *s, int P, int N0, ac_msg *msg)
{
    const char *why = ac_paths_settings_check(s);
    if (why)
        return ac_fail(msg, AC_EINVAL, "%s", why);
    if (P < 0)
        return ac_fail(msg, AC_ESIZE, "attention paths: %d training examples (need P >= 0)", P);
    if (N0 < 1)
        return ac_fail(msg, AC_ESIZE, "attention paths: %d input features (need N0 >= 1)", N0);
    /* BLAS takes int dimensions: P N0 rows of H^L, and rows of N0 H^L. */
    long np = ac_paths_count(s);
    if ((long)P * N0 > INT_MAX || (long)N0 * np > INT_MAX)
        return ac_fail(msg, AC_ESIZE,
                       "attention paths: %d examples x %d features x %ld paths exceed the int "
                       "dimensions of BLAS", P, N0, np);
    return AC_OK;
}

ac_paths_workspace *ac_paths_alloc(const ac_paths_settings *s, int P, int N0)
{
    return ac_paths_alloc_route(s, P, N0, AC_PATHS_GRAD_AUTO);
}

ac_paths_workspace *ac_paths_alloc_route(const ac_paths_settings *s, int P, int N0,
                                         ac_paths_grad_route route)
{
    if (ac_paths_check_sizes(s, P, N0, NULL) != AC_OK)
        return NULL;
    if (route != AC_PATHS_GRAD_AUTO && route != AC_PATHS_GRAD_DIRECT &&
        route != AC_PATHS_GRAD_COMPRESSED)
        return NULL;
    int rt = resolve_route(route, P, N0, ac_paths_count(s));
    if (rt < 0)
        return NULL;
    ac_paths_workspace *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->s = *s;
    w->P = P, w->N0 = N0, w->np = ac_paths_count(s);
    for (int l = 1; l <= s->L + 1; l++)
        w->D[l] = ac_paths_dim(s, l);
    w->usize = ac_paths_u_size(s);
    size_t np = (size_t)w->np, d2 = (size_t)w->D[s->L >= 2 ? 2 : s->L + 1];
    w->K = malloc(sizeof(double) * ((size_t)P * P + 1));
    w->Z = malloc(sizeof(double) * ((size_t)P * N0 * np + 1));
    w->v = malloc(sizeof(double) * ((size_t)P + 1));
    w->wv = malloc(sizeof(double) * ((size_t)P + 1));
    w->b = malloc(sizeof(double) * (size_t)N0 * np);
    w->M = malloc(sizeof(double) * np * np);
    w->G1 = malloc(sizeof(double) * np * np);
    w->Lu = malloc(sizeof(double) * w->usize);
    w->Inv = malloc(sizeof(double) * w->usize);
    w->Q = malloc(sizeof(double) * d2 * d2);
    w->X = malloc(sizeof(double) * d2 * d2);
    w->Ut = malloc(sizeof(double) * w->usize);
    w->Gt = malloc(sizeof(double) * w->usize);
    int pk = ac_paths_keeps_prekernels(P, N0, w->np);
    if (pk) {
        w->Cpk = malloc(sizeof(double) * (np * (np + 1) / 2) * ((size_t)P * (P + 1) / 2));
        w->Pa = malloc(sizeof(double) * 2 * (size_t)P * N0);
        w->Kp = malloc(sizeof(double) * ((size_t)P * (P + 1) / 2));
        w->cpair = malloc(sizeof(double) * (np * (np + 1) / 2));
    }
    w->route = (ac_paths_grad_route)rt;
    int cq = rt == AC_PATHS_GRAD_COMPRESSED;
    if (cq) {
        int r = P < N0 * w->np ? P : N0 * w->np;
        size_t tri = (size_t)r * (r + 1) / 2, npair = np * (np + 1) / 2;
        w->r = r;
        w->Rq = malloc(sizeof(double) * (size_t)P * r);
        w->Sp = malloc(sizeof(double) * npair * tri);
        w->Wp = malloc(sizeof(double) * tri);
        w->gp = malloc(sizeof(double) * npair);
    }
    if (!w->K || !w->Z || !w->v || !w->wv || !w->b || !w->M || !w->G1 || !w->Lu || !w->Inv || !w->Q ||
        !w->X || !w->Ut || !w->Gt || (pk && (!w->Cpk || !w->Pa || !w->Kp || !w->cpair)) ||
        (cq && (!w->Rq || !w->Sp || !w->Wp || !w->gp))) {
        ac_paths_free(w);
        return NULL;
    }
    return w;
}

void ac_paths_free(ac_paths_workspace *w)
{
    if (!w)
        return;
    free(w->K), free(w->Z), free(w->v), free(w->wv), free(w->b), free(w->M), free(w->G1);
    free(w->Lu), free(w->Inv), free(w->Q), free(w->X), free(w->Ut), free(w->Gt);
    free(w->Cpk), free(w->Pa), free(w->Kp), free(w->cpair);
    free(w->Rq), free(w->Sp), free(w->Wp), free(w->gp);
    free(w);
}

/* Path a's slice of Phi, P x N0, into A. */
static void path_slice(const ac_paths_workspace *w, int a, double *A)
{
    size_t np = (size_t)w->np;
    for (int mu = 0; mu < w->P; mu++)
        for (int i = 0; i < w->N0; i++)
            A[(size_t)mu * w->N0 + i] = w->Phi[((size_t)mu * w->N0 + i) * np + a];
}

/* The pre-kernels of the workspace's layout (above), with w->K as P x P
 * scratch: C_ab = Phi_a Phi_b^T = H^L C_{ab}(x, x') of §2. */
static void prekernels(ac_paths_workspace *w)
{
    int P = w->P, N0 = w->N0, np = w->np;
    size_t tri = (size_t)P * (P + 1) / 2;
    double *A = w->Pa, *B = w->Pa + (size_t)P * N0, *C = w->K, *out = w->Cpk;
    for (int a = 0; a < np; a++) {
        path_slice(w, a, A);
        for (int b = a; b < np; b++, out += tri) {
            if (b == a) {
                cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, P, N0, 1.0, A, N0, 0.0, C, P);
            } else {
                path_slice(w, b, B);
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, P, N0, 1.0, A, N0, B, N0,
                            0.0, C, P);
            }
            /* dsyrk filled the lower triangle: read it as the upper by symmetry */
            for (int mu = 0; mu < P; mu++)
                for (int nu = mu; nu < P; nu++) {
                    double lo = C[(size_t)nu * P + mu]; /* dsyrk's triangle when b == a */
                    out[ac_paths_packed_row(P, mu) + (size_t)(nu - mu)] =
                        b == a ? lo : C[(size_t)mu * P + nu] + lo;
                }
        }
    }
}

/* The compressed route's data (the workspace's Rq and Sp, see there), once
 * per set_data.  Phi (P x m) = R Q by LAPACK's LQ factorisation (dgelqf, Q
 * formed by dorglq), so Phi_a = R Q_a and
 *   M_ab = tr[(K+TI)^{-1} Phi_a Phi_b^T] = tr[Y^T Y Q_a Q_b^T],  Y = L^{-1} R
 * (§3.6 step 3 with Phi compressed to its r = min(P, m) directions): each
 * evaluation then solves with R (P x r, trapezoidal) instead of Phi (P x m)
 * and reads the pairs' M_ab = Q_a Q_b^T computed here.  w->Z (P m doubles)
 * holds the factorisation, w->K (P x P >= r x r) one pair's product. */
static ac_status compress(ac_paths_workspace *w, ac_msg *msg)
{
    int P = w->P, N0 = w->N0, np = w->np, m = N0 * np, r = w->r;
    size_t tri = (size_t)r * (r + 1) / 2;
    double *A = w->Z, *C = w->K;
    double *tau = malloc(sizeof(double) * (size_t)r);
    double *Qp = malloc(sizeof(double) * (size_t)m * r);
    if (!tau || !Qp) {
        free(tau), free(Qp);
        return ac_fail(msg, AC_ENOMEM, "attention paths: out of memory compressing the path tensor");
    }
    memcpy(A, w->Phi, sizeof(double) * (size_t)P * m);
    int info = LAPACKE_dgelqf(LAPACK_ROW_MAJOR, P, m, A, m, tau);
    for (int mu = 0; info == 0 && mu < P; mu++)
        for (int j = 0; j < r; j++)
            w->Rq[(size_t)mu * r + j] = j <= mu ? A[(size_t)mu * m + j] : 0.0;
    if (info == 0)
        info = LAPACKE_dorglq(LAPACK_ROW_MAJOR, r, m, r, A, m, tau);
    if (info != 0) {
        free(tau), free(Qp);
        return ac_fail(msg, info == LAPACK_WORK_MEMORY_ERROR ? AC_ENOMEM : AC_ELAPACK,
                       "attention paths: LQ factorisation of the %d x %d path tensor failed "
                       "(LAPACK dgelqf/dorglq: %d)", P, m, info);
    }
    /* Qp: path a's columns of Q as an N0 x r block, row i = column i np + a. */
    for (int a = 0; a < np; a++)
        for (int i = 0; i < N0; i++)
            for (int j = 0; j < r; j++)
                Qp[((size_t)a * N0 + i) * r + j] = A[(size_t)j * m + (size_t)i * np + a];
    double *out = w->Sp;
    for (int a = 0; a < np; a++) {
        const double *Qa = Qp + (size_t)a * N0 * r;
        for (int b = a; b < np; b++, out += tri) {
            const double *Qb = Qp + (size_t)b * N0 * r;
            /* C = M_ab: (M_ab)_jk = sum_i Qp_a[i][j] Qp_b[i][k] (lower triangle
             * only for a = b, M_aa being symmetric). */
            if (b == a)
                cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, r, N0, 1.0, Qa, r, 0.0, C, r);
            else
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, r, N0, 1.0, Qa, r, Qb, r,
                            0.0, C, r);
            for (int j = 0; j < r; j++)
                for (int k = 0; k <= j; k++)
                    out[(size_t)j * (j + 1) / 2 + k] =
                        k == j ? C[(size_t)j * r + j]
                        : b == a ? 2.0 * C[(size_t)j * r + k]
                                 : C[(size_t)j * r + k] + C[(size_t)k * r + j];
        }
    }
    free(tau), free(Qp);
    return AC_OK;
}

ac_status ac_paths_set_data(ac_paths_workspace *w, const double *Phi, const double *Y,
                            ac_msg *msg)
{
    if (!w)
        return ac_fail(msg, AC_EINVAL, "attention paths: workspace is NULL");
    /* a failed set leaves no data, never the previous (borrowed) arrays */
    w->Phi = NULL, w->Y = NULL;
    if (w->P > 0 && (!Phi || !Y))
        return ac_fail(msg, AC_EINVAL, "attention paths: path tensor or labels is NULL");
    size_t n = (size_t)w->P * w->N0 * w->np;
    for (size_t j = 0; j < n; j++)
        if (!isfinite(Phi[j]))
            return ac_fail(msg, AC_EINVAL,
                           "attention paths: path tensor entry %zu (example %zu) is not finite", j,
                           j / ((size_t)w->N0 * w->np));
    for (int mu = 0; mu < w->P; mu++)
        if (!isfinite(Y[mu]))
            return ac_fail(msg, AC_EINVAL, "attention paths: label %d is not finite", mu);
    w->Phi = Phi, w->Y = Y;
    if (w->Cpk)
        prekernels(w);
    if (w->route == AC_PATHS_GRAD_COMPRESSED) {
        ac_status st = compress(w, msg);
        if (st != AC_OK)
            w->Phi = NULL, w->Y = NULL;
        return st;
    }
    return AC_OK;
}

ac_paths_grad_route ac_paths_route_of(const ac_paths_workspace *w)
{
    return w->route;
}

/* ---- Entropy (§3.2) and its gradient (§3.6) ---------------------------- */

/* Cholesky factor (lower, row-major, upper zeroed) of the d x d matrix A into
 * F, and ln det A.  Returns nonzero when A is not positive definite. */
static int chol(const double *A, int d, double *F, double *logdet)
{
    memcpy(F, A, sizeof(double) * (size_t)d * d);
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', d, F, d) != 0)
        return 1;
    double ld = 0.0;
    for (int j = 0; j < d; j++) {
        ld += 2.0 * log(F[(size_t)j * d + j]);
        for (int k = j + 1; k < d; k++)
            F[(size_t)j * d + k] = 0.0;
    }
    *logdet = ld;
    return 0;
}

/* ptr_l(U_l) (§3.2): sum over the leading (current-layer) head index. */
static void partial_trace(const double *U, int H, int d, double *Q)
{
    int D = H * d;
    memset(Q, 0, sizeof(double) * (size_t)d * d);
    for (int h = 0; h < H; h++)
        for (int j = 0; j < d; j++)
            for (int k = 0; k < d; k++)
                Q[(size_t)j * d + k] += U[(size_t)(h * d + j) * D + h * d + k];
}

/* Inverse of A from its Cholesky factor F (dpotri), as a full symmetric matrix. */
static int chol_inverse(const double *F, int d, double *Inv)
{
    memcpy(Inv, F, sizeof(double) * (size_t)d * d);
    if (LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'L', d, Inv, d) != 0)
        return 1;
    for (int j = 0; j < d; j++)
        for (int k = j + 1; k < d; k++)
            Inv[(size_t)j * d + k] = Inv[(size_t)k * d + j];
    return 0;
}

ac_status ac_paths_entropy(ac_paths_workspace *w, const double *U, double *S, double *Ua,
                           double *G, ac_msg *msg)
{
    const ac_paths_settings *s = &w->s;
    int L = s->L;
    double ld[AC_PATHS_MAX_LAYERS + 2];
    w->numeric = AC_PATHS_NUMERIC_NONE;
    for (int l = 1; l <= L; l++) {
        size_t off = ac_paths_u_offset(s, l);
        if (chol(U + off, w->D[l], w->Lu + off, &ld[l])) {
            w->numeric = AC_PATHS_NUMERIC_U;
            return ac_fail(msg, AC_ENUMERIC,
                           "order parameter U_%d (%d x %d) is not positive definite", l, w->D[l],
                           w->D[l]);
        }
    }
    const double *UL = U + ac_paths_u_offset(s, L);
    double tr = 0.0;
    for (int j = 0; j < w->D[L]; j++)
        tr += UL[(size_t)j * w->D[L] + j];
    double ua = ac_paths_ua(s, tr);
    double Na = s->n[L];
    double acc = Na * (ua / s->sigma2_a - log(ua));
    if (G) {
        memset(G, 0, sizeof(double) * w->usize);
        for (int l = 1; l <= L; l++) {
            size_t off = ac_paths_u_offset(s, l);
            if (chol_inverse(w->Lu + off, w->D[l], w->Inv + off)) {
                w->numeric = AC_PATHS_NUMERIC_U;
                return ac_fail(msg, AC_ENUMERIC, "order parameter U_%d could not be inverted", l);
            }
        }
    }
    for (int l = 1; l <= L; l++) {
        int H = s->H[l - 1], d = w->D[l + 1], D = w->D[l];
        double nl = s->n[l - 1], sg = s->sigma2[l];
        size_t off = ac_paths_u_offset(s, l);
        double trq, ldn;
        /* Term l: n_{l-1}[Tr(U_{l+1}^{-1} ptr U_l)/sigma_l^2 - ln det U_l
         *                 + H_l ln det U_{l+1}], U_{L+1} = U_a. */
        partial_trace(U + off, H, d, w->Q);
        if (l == L) {
            trq = w->Q[0] / ua;
            ldn = log(ua);
        } else {
            size_t offn = ac_paths_u_offset(s, l + 1);
            memcpy(w->X, w->Q, sizeof(double) * (size_t)d * d);
            LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', d, d, w->Lu + offn, d, w->X, d);
            trq = 0.0;
            for (int j = 0; j < d; j++)
                trq += w->X[(size_t)j * d + j];
            ldn = ld[l + 1];
        }
        acc += nl * (trq / sg - ld[l] + H * ldn);
        if (!G)
            continue;
        /* dS/dU_l += n_{l-1}[(I_H (x) U_{l+1}^{-1})/sigma_l^2 - U_l^{-1}]. */
        const double *A = l == L ? NULL : w->Inv + ac_paths_u_offset(s, l + 1);
        double *Gl = G + off;
        const double *Il = w->Inv + off;
        for (int j = 0; j < D; j++)
            for (int k = 0; k < D; k++) {
                double kron = 0.0;
                if (j / d == k / d)
                    kron = l == L ? 1.0 / ua : A[(size_t)(j % d) * d + k % d];
                Gl[(size_t)j * D + k] += nl * (kron / sg - Il[(size_t)j * D + k]);
            }
        if (l == L)
            continue; /* dS/dU_a = 0 at the closed form: envelope theorem */
        /* dS/dU_{l+1} += n_{l-1}[-U_{l+1}^{-1} ptr(U_l) U_{l+1}^{-1}/sigma_l^2
         *                        + H_l U_{l+1}^{-1}]; X = U_{l+1}^{-1} Q. */
        double *Gn = G + ac_paths_u_offset(s, l + 1);
        for (int j = 0; j < d; j++)
            for (int k = 0; k < d; k++) {
                double xa = 0.0;
                for (int m = 0; m < d; m++)
                    xa += w->X[(size_t)j * d + m] * A[(size_t)m * d + k];
                Gn[(size_t)j * d + k] += nl * (-xa / sg + H * A[(size_t)j * d + k]);
            }
    }
    if (G) /* symmetrise against rounding: both terms are symmetric in exact arithmetic */
        for (int l = 1; l <= L; l++) {
            int D = w->D[l];
            double *Gl = G + ac_paths_u_offset(s, l);
            for (int j = 0; j < D; j++)
                for (int k = j + 1; k < D; k++) {
                    double m = 0.5 * (Gl[(size_t)j * D + k] + Gl[(size_t)k * D + j]);
                    Gl[(size_t)j * D + k] = Gl[(size_t)k * D + j] = m;
                }
        }
    w->ld1 = ld[1];
    *S = acc;
    if (Ua)
        *Ua = ua;
    return AC_OK;
}

/* ---- Energy (§3.2), its gradient (§3.6), predictor (§3.3) -------------- */

void ac_paths_prekernel_sum(int P, int npair, const double *Cpk, const double *coef, double *packed,
                            double *K)
{
    if (P <= 0) /* a void function cannot report a bad size: below 0 counts as 0 */
        return;
    if (npair <= 0) { /* the empty sum; BLAS returns at once on an empty dgemv, writing nothing */
        for (int mu = 0; mu < P; mu++)
            memset(K + (size_t)mu * P + mu, 0, sizeof(double) * (size_t)(P - mu));
        return;
    }
    int tri = P * (P + 1) / 2;
    cblas_dgemv(CblasRowMajor, CblasTrans, npair, tri, 1.0, Cpk, tri, coef, 1, 0.0, packed, 1);
    for (int mu = 0; mu < P; mu++)
        memcpy(K + (size_t)mu * P + mu, packed + ac_paths_packed_row(P, mu),
               sizeof(double) * (size_t)(P - mu));
}

/* K's upper triangle (row-major) from the pre-kernels: K = sum_i Phi_i U_1
 * Phi_i^T = sum_{a,b} U_ab C_ab = sum_a U_aa C_aa + sum_{a<b} U_ba (C_ab +
 * C_ab^T), reading U_1's lower triangle (as its Cholesky factor does): one
 * pass over the pre-kernels (ac_paths_prekernel_sum; a daxpy per row and
 * pair made P np(np+1)/2 calls, 1000 at P = 100). */
static void kernel_prekernels(ac_paths_workspace *w, const double *U1)
{
    int np = w->np;
    for (int a = 0, k = 0; a < np; a++)
        for (int b = a; b < np; b++, k++)
            w->cpair[k] = U1[(size_t)b * np + a];
    ac_paths_prekernel_sum(w->P, np * (np + 1) / 2, w->Cpk, w->cpair, w->Kp, w->K);
}

/* Factor K(U_1) + T I into w->K, and wv = L^{-1} Y, v = (K + T I)^{-1} Y,
 * *logdet = ln det(K + T I); Z = Phi L_1 on the way when the kernel is built
 * from it, or when need_z (the predictor reads it).
 *
 * K is built in its row-major upper triangle, which is LAPACK's
 * column-major lower one, and factored there by dpotrf 'L' through
 * LAPACKE's _work call: no row-major copy in and out and no NaN scan of the
 * matrix, 24-30% of a row-major LAPACKE_dpotrf at P = 100 ... 2000 on 2
 * cores (OpenBLAS's 'U' factorisation of the same triangle is slower than
 * its 'L' one at P <= 500), and no P x P allocation.  The factor L
 * (K + T I = L L^T) is then column-major lower: the triangular calls below
 * pass CblasColMajor, or, beside row-major operands, its row-major view L^T
 * (CblasUpper) with CblasTrans for L and CblasNoTrans for L^T.  A NaN or
 * infinity anywhere in the triangle reaches the factor's diagonal (each
 * row's diagonal entry sums the squares of that row's entries), so the
 * diagonal is the scan. */
static ac_status factor(ac_paths_workspace *w, const double *U1, int need_z, double *logdet,
                        ac_msg *msg)
{
    int P = w->P, np = w->np, m = w->N0 * np;
    double ldu;
    w->numeric = AC_PATHS_NUMERIC_NONE;
    if (chol(U1, np, w->Lu, &ldu)) {
        w->numeric = AC_PATHS_NUMERIC_U;
        return ac_fail(msg, AC_ENUMERIC, "order parameter U_1 (%d x %d) is not positive definite",
                       np, np);
    }
    if (need_z || !w->Cpk)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, P * w->N0, np, np, 1.0, w->Phi,
                    np, w->Lu, np, 0.0, w->Z, np);
    /* K = sum_i Phi_i U_1 Phi_i^T = Z Z^T with Z = Phi L_1 over the path
     * index (positive semidefinite by construction), or the same sum from
     * the pre-kernels. */
    if (w->Cpk)
        kernel_prekernels(w, U1);
    else
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, P, m, 1.0, w->Z, m, 0.0, w->K, P);
    for (int mu = 0; mu < P; mu++)
        w->K[(size_t)mu * P + mu] += w->s.T;
    int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', P, w->K, P);
    if (info != 0) {
        w->numeric = AC_PATHS_NUMERIC_K_INDEFINITE;
        return ac_fail(msg, AC_ENUMERIC,
                       "K + T I (%d x %d, T = %.17g) is not positive definite (LAPACK dpotrf: "
                       "leading minor %d)", P, P, w->s.T, info);
    }
    double ld = 0.0;
    for (int mu = 0; mu < P; mu++) {
        double d = w->K[(size_t)mu * P + mu];
        if (!(isfinite(d) && d > 0.0)) {
            w->numeric = AC_PATHS_NUMERIC_K_NOT_FINITE;
            return ac_fail(msg, AC_ENUMERIC,
                           "K + T I (%d x %d, T = %.17g) is not finite: its Cholesky factor's "
                           "row %d is %g", P, P, w->s.T, mu + 1, d);
        }
        ld += 2.0 * log(d);
    }
    *logdet = ld;
    memcpy(w->wv, w->Y, sizeof(double) * (size_t)P);
    cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, P, w->K, P, w->wv, 1);
    memcpy(w->v, w->wv, sizeof(double) * (size_t)P);
    cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, P, w->K, P, w->v, 1);
    return AC_OK;
}

/* Y := L^{-1} Y for n x n lower triangular L and Y (Y holds R on entry,
 * zero above its diagonal, and stays so): with L = [L11 0; L21 L22] and Y
 * alike, Y11 = L11^{-1} Y11, Y21 = L22^{-1} (Y21 - L21 Y11), Y22 =
 * L22^{-1} Y22, recursively, so that every flop is in a full-size dgemm or
 * dtrsm: 3n^3/8 per level, n^3/2 in all, against n^3 for one dtrsm that
 * ignores Y's zeros.  (A dtrmm for L21 Y11, Y11 being triangular, would
 * bring that to n^3/3, but OpenBLAS's dtrmm is slower than its dgemm by
 * about as much: one evaluation measured 0-4% faster at P = 500 and 1000
 * and 8% slower at 100.)  L is column-major (factor), Y row-major: L's
 * row-major view is L^T, so L is (L^T, CblasTrans), L21 the transposed
 * block right of L11 in that view. */
static void tri_tri_solve(int n, const double *L, int ldl, double *Y, int ldy)
{
    if (n <= TRI_BASE) {
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, n, n, 1.0, L,
                    ldl, Y, ldy);
        return;
    }
    int h = n / 2;
    tri_tri_solve(h, L, ldl, Y, ldy);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n - h, h, h, -1.0, L + h, ldl, Y, ldy,
                1.0, Y + (size_t)h * ldy, ldy);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, n - h, h, 1.0,
                L + (size_t)h * ldl + h, ldl, Y + (size_t)h * ldy, ldy);
    tri_tri_solve(n - h, L + (size_t)h * ldl + h, ldl, Y + (size_t)h * ldy + h, ldy);
}

/* M's lower triangle (§3.6 step 3) by the compressed route (compress):
 * M_ab = tr[W M_ab] = <W, S_ab> over the packed lower triangles, with
 * W = Y^T Y, Y = L^{-1} R (P x r, L = w->K's factor).  R's leading r x r
 * is lower triangular (tri_tri_solve) and its P - r rows below are full:
 * Y_2 = L_22^{-1} (R_2 - L_21 Y_1); W = Y_1^T Y_1 + Y_2^T Y_2 by LAPACK
 * dlauum (Y_1 lower triangular) and dsyrk.  Y lives in w->Z (P r <= P m
 * doubles). */
static void energy_m_compressed(ac_paths_workspace *w)
{
    int P = w->P, np = w->np, r = w->r;
    size_t tri = (size_t)r * (r + 1) / 2;
    double *Y = w->Z;
    memcpy(Y, w->Rq, sizeof(double) * (size_t)P * r);
    tri_tri_solve(r, w->K, P, Y, r);
    if (P > r) {
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, P - r, r, r, -1.0, w->K + r, P, Y, r,
                    1.0, Y + (size_t)r * r, r);
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, P - r, r, 1.0,
                    w->K + (size_t)r * P + r, P, Y + (size_t)r * r, r);
    }
    /* Y_1^T Y_1 into Y_1's lower triangle: row-major lower is column-major
     * upper, where dlauum's U U^T is the same product without LAPACKE's
     * row-major transposition copies. */
    LAPACKE_dlauum(LAPACK_COL_MAJOR, 'U', r, Y, r);
    if (P > r)
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, r, P - r, 1.0, Y + (size_t)r * r, r, 1.0,
                    Y, r);
    for (int j = 0; j < r; j++)
        memcpy(w->Wp + (size_t)j * (j + 1) / 2, Y + (size_t)j * r, sizeof(double) * (size_t)(j + 1));
    int npair = np * (np + 1) / 2;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, npair, (int)tri, 1.0, w->Sp, (int)tri, w->Wp, 1, 0.0,
                w->gp, 1);
    for (int a = 0, k = 0; a < np; a++)
        for (int b = a; b < np; b++, k++)
            w->M[(size_t)b * np + a] = w->gp[k];
}

ac_status ac_paths_energy(ac_paths_workspace *w, const double *U1, double *E, double *G1,
                          ac_msg *msg)
{
    if (!w->Phi && w->P > 0)
        return ac_fail(msg, AC_EINVAL, "attention paths: no data (call ac_paths_set_data)");
    int P = w->P, np = w->np, m = w->N0 * np;
    if (P == 0) {
        *E = 0.0;
        if (G1)
            memset(G1, 0, sizeof(double) * (size_t)np * np);
        return AC_OK;
    }
    double ld;
    ac_status st = factor(w, U1, 0, &ld, msg);
    if (st != AC_OK)
        return st;
    *E = ld + cblas_ddot(P, w->wv, 1, w->wv, 1);
    if (!G1)
        return AC_OK;
    if (w->route == AC_PATHS_GRAD_COMPRESSED)
        energy_m_compressed(w);
    else {
        /* M = sum_i Phi_i^T (K+TI)^{-1} Phi_i = Z'^T Z' with Z = L^{-1} Phi
         * seen as a (P N0) x H^L matrix (§3.6 steps 2-3). */
        memcpy(w->Z, w->Phi, sizeof(double) * (size_t)P * m);
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, P, m, 1.0,
                    w->K, P, w->Z, m);
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, np, P * w->N0, 1.0, w->Z, np, 0.0, w->M,
                    np);
    }
    /* b = Phi^T v (N0 x H^L) and B = b^T b (§3.6 step 4); G1 = M - B. */
    cblas_dgemv(CblasRowMajor, CblasTrans, P, m, 1.0, w->Phi, m, w->v, 1, 0.0, w->b, 1);
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, np, w->N0, -1.0, w->b, np, 1.0, w->M, np);
    for (int j = 0; j < np; j++)
        for (int k = 0; k <= j; k++)
            G1[(size_t)j * np + k] = G1[(size_t)k * np + j] = w->M[(size_t)j * np + k];
    return AC_OK;
}

ac_status ac_paths_action(ac_paths_workspace *w, const double *U, double *S, double *Ua,
                          double *G, ac_msg *msg)
{
    double Se, Sk;
    ac_status st = ac_paths_entropy(w, U, &Se, Ua, G, msg);
    if (st != AC_OK)
        return st;
    size_t n1 = (size_t)w->np * w->np;
    double *G1 = G ? w->G1 : NULL;
    st = ac_paths_energy(w, U, &Sk, G1, msg);
    if (st != AC_OK)
        return st;
    if (G)
        for (size_t j = 0; j < n1; j++)
            G[j] += G1[j];
    *S = Se + Sk;
    return AC_OK;
}

ac_status ac_paths_predict(ac_paths_workspace *w, const double *U1, int Pt,
                           const double *Phi_t, double *mean, double *var, ac_msg *msg)
{
    if (!w->Phi && w->P > 0)
        return ac_fail(msg, AC_EINVAL, "attention paths: no data (call ac_paths_set_data)");
    int P = w->P, np = w->np, m = w->N0 * np;
    if (Pt < 0 || (Pt > 0 && (!U1 || !Phi_t || !mean)))
        return ac_fail(msg, AC_EINVAL,
                       "attention paths predictor: %d test points (need Pt >= 0), or a NULL U_1, "
                       "test tensor or mean", Pt);
    if (Pt == 0)
        return AC_OK;
    double *Zt = malloc(sizeof(double) * (size_t)Pt * m);
    double *Kt = malloc(sizeof(double) * ((size_t)P * Pt + 1));
    if (!Zt || !Kt) {
        free(Zt), free(Kt);
        return ac_fail(msg, AC_ENOMEM, "attention paths predictor: out of memory");
    }
    double ld;
    ac_status st = AC_OK;
    w->numeric = AC_PATHS_NUMERIC_NONE;
    if (P > 0)
        st = factor(w, U1, 1, &ld, msg);
    else if (chol(U1, np, w->Lu, &ld)) {
        w->numeric = AC_PATHS_NUMERIC_U;
        st = ac_fail(msg, AC_ENUMERIC, "order parameter U_1 (%d x %d) is not positive definite",
                     np, np);
    }
    if (st != AC_OK) {
        free(Zt), free(Kt);
        return st;
    }
    /* Zt = Phi_t L_1, so K(x_mu, x_m) = Z_mu . Zt_m and K(x_m, x_m) = |Zt_m|^2. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Pt * w->N0, np, np, 1.0, Phi_t, np,
                w->Lu, np, 0.0, Zt, np);
    if (P > 0) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, Pt, m, 1.0, w->Z, m, Zt, m, 0.0,
                    Kt, Pt);
        cblas_dgemv(CblasRowMajor, CblasTrans, P, Pt, 1.0, Kt, Pt, w->v, 1, 0.0, mean, 1);
        /* k^T (K+TI)^{-1} k = |L^{-1} k|^2. */
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, P, Pt, 1.0,
                    w->K, P, Kt, Pt);
    } else
        memset(mean, 0, sizeof(double) * (size_t)Pt);
    if (var)
        for (int t = 0; t < Pt; t++) {
            double kxx = cblas_ddot(m, Zt + (size_t)t * m, 1, Zt + (size_t)t * m, 1), q = 0.0;
            for (int mu = 0; mu < P; mu++)
                q += Kt[(size_t)mu * Pt + t] * Kt[(size_t)mu * Pt + t];
            var[t] = kxx - q;
        }
    free(Zt), free(Kt);
    return AC_OK;
}

/* ---- Cholesky parameterisation and the solve (§6) ---------------------- */

int ac_paths_theta_size(const ac_paths_settings *s)
{
    int n = 0;
    for (int l = 1; l <= s->L; l++) {
        int d = ac_paths_dim(s, l);
        n += d * (d + 1) / 2;
    }
    return n;
}

ac_status ac_paths_theta_from_u(const ac_paths_settings *s, const double *U, double *theta,
                                ac_msg *msg)
{
    int t = 0;
    for (int l = 1; l <= s->L; l++) {
        int d = ac_paths_dim(s, l);
        double *F = malloc(sizeof(double) * (size_t)d * d), ld;
        if (!F)
            return ac_fail(msg, AC_ENOMEM, "attention paths: out of memory");
        if (chol(U + ac_paths_u_offset(s, l), d, F, &ld)) {
            free(F);
            return ac_fail(msg, AC_ENUMERIC,
                           "order parameter U_%d (%d x %d) is not positive definite", l, d, d);
        }
        for (int j = 0; j < d; j++)
            for (int k = 0; k <= j; k++)
                theta[t++] = k == j ? log(F[(size_t)j * d + j]) : F[(size_t)j * d + k];
        free(F);
    }
    return AC_OK;
}

/* L_l from theta into F (d x d, upper zeroed); returns the entries read. */
static int unpack(const double *theta, int d, double *F)
{
    int t = 0;
    memset(F, 0, sizeof(double) * (size_t)d * d);
    for (int j = 0; j < d; j++)
        for (int k = 0; k <= j; k++, t++)
            F[(size_t)j * d + k] = k == j ? exp(theta[t]) : theta[t];
    return t;
}

/* U from theta, with F (sum_l D_l^2 doubles) holding each L_l. */
static void u_from_theta(const ac_paths_settings *s, const double *theta, double *U, double *F)
{
    for (int l = 1; l <= s->L; l++) {
        int d = ac_paths_dim(s, l);
        size_t off = ac_paths_u_offset(s, l);
        double *Ul = U + off, *Fl = F + off;
        theta += unpack(theta, d, Fl);
        /* U_l = L_l L_l^T (lower triangle by dsyrk, then mirrored). */
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, d, d, 1.0, Fl, d, 0.0, Ul, d);
        for (int j = 0; j < d; j++)
            for (int k = j + 1; k < d; k++)
                Ul[(size_t)j * d + k] = Ul[(size_t)k * d + j];
    }
}

void ac_paths_u_from_theta(const ac_paths_settings *s, const double *theta, double *U)
{
    /* The factors are built in U itself, one layer at a time from the
     * last, would clash with dsyrk's output; a scratch copy is simplest. */
    double *F = malloc(sizeof(double) * ac_paths_u_size(s));
    if (!F)
        return;
    u_from_theta(s, theta, U, F);
    free(F);
}

static double width_max(const ac_paths_settings *s)
{
    double m = 0.0;
    for (int l = 0; l <= s->L; l++)
        if (s->n[l] > m)
            m = s->n[l];
    return m;
}

int ac_paths_objective(void *ctx, const double *theta, double *f, double *g)
{
    ac_paths_workspace *w = ctx;
    const ac_paths_settings *s = &w->s;
    if (!w->Phi && w->P > 0)
        return -1;
    u_from_theta(s, theta, w->Ut, w->Lu);
    double S;
    if (ac_paths_action(w, w->Ut, &S, NULL, w->Gt, NULL) != AC_OK)
        return 1;
    double nm = width_max(s);
    *f = S / nm;
    /* dS/dL = 2 G L on the lower triangle; on the diagonal times L_jj once
     * more, since dL_jj/dtheta = L_jj (§6).  Each L_l is rebuilt from theta
     * into the (now free) factor slot. */
    for (int l = 1; l <= s->L; l++) {
        int d = w->D[l];
        size_t off = ac_paths_u_offset(s, l);
        double *F = w->Lu + off;
        const double *Gl = w->Gt + off;
        int used = unpack(theta, d, F);
        int t = 0;
        for (int j = 0; j < d; j++)
            for (int k = 0; k <= j; k++, t++) {
                double acc = 0.0;
                for (int m = k; m < d; m++)
                    acc += Gl[(size_t)j * d + m] * F[(size_t)m * d + k];
                acc *= 2.0;
                if (k == j)
                    acc *= F[(size_t)j * d + j];
                g[t] = acc / nm;
            }
        theta += used;
        g += used;
    }
    return 0;
}

ac_status ac_paths_solve(ac_paths_workspace *w, const ac_min_settings *set, double *U,
                         ac_paths_info *info, ac_msg *msg)
{
    const ac_paths_settings *s = &w->s;
    if (!w->Phi && w->P > 0)
        return ac_fail(msg, AC_EINVAL, "attention paths: no data (call ac_paths_set_data)");
    int n = ac_paths_theta_size(s);
    double *theta = malloc(sizeof(double) * ((size_t)n + 1));
    ac_min_workspace *mw = ac_min_alloc(n);
    if (!theta || !mw) {
        free(theta), ac_min_free(mw);
        return ac_fail(msg, AC_ENOMEM, "attention paths solve: out of memory");
    }
    ac_status st = ac_paths_theta_from_u(s, U, theta, msg);
    w->numeric = st == AC_ENUMERIC ? AC_PATHS_NUMERIC_U : AC_PATHS_NUMERIC_NONE;
    double S0;
    if (st == AC_OK)
        st = ac_paths_action(w, U, &S0, NULL, NULL, msg); /* names the failure at the start */
    ac_min_info mi;
    memset(&mi, 0, sizeof mi);
    if (st == AC_OK) {
        st = ac_min_solve(mw, ac_paths_objective, w, theta, theta, set, &mi, msg);
        if (st == AC_OK) {
            ac_paths_u_from_theta(s, theta, U);
            double S, Ua;
            st = ac_paths_action(w, U, &S, &Ua, NULL, msg);
            if (info) {
                info->S = S;
                info->Ua = Ua;
            }
        }
    }
    if (info) {
        info->min = mi;
        info->n_max = width_max(s);
    }
    free(theta);
    ac_min_free(mw);
    return st;
}

ac_paths_numeric ac_paths_last_numeric(const ac_paths_workspace *w)
{
    return w->numeric;
}

/* ---- One layer, one head (§3.7) ---------------------------------------- */

typedef struct {
    const ac_paths_settings *s;
    const double *lam, *q;
    int P;
} one_path;

/* dS/du for L = H = 1 in the eigenbasis of C = Phi Phi^T (§3.7). */
static double one_path_dsdu(double u, void *p)
{
    const one_path *o = p;
    double ua = ac_paths_ua(o->s, u);
    double d = o->s->n[0] * (1.0 / (o->s->sigma2[1] * ua) - 1.0 / u);
    for (int k = 0; k < o->P; k++) {
        double den = u * o->lam[k] + o->s->T;
        d += o->lam[k] / den - o->lam[k] * o->q[k] * o->q[k] / (den * den);
    }
    return d;
}

ac_status ac_paths_one_path_u(ac_paths_workspace *w, double *u, ac_msg *msg)
{
    if (w->np != 1 || w->s.L != 1)
        return ac_fail(msg, AC_EINVAL, "one-path closed form needs L = 1 and H_1 = 1 (got L = %d, "
                       "%d paths)", w->s.L, w->np);
    if (!w->Phi && w->P > 0)
        return ac_fail(msg, AC_EINVAL, "attention paths: no data (call ac_paths_set_data)");
    int P = w->P, N0 = w->N0;
    double *C = malloc(sizeof(double) * ((size_t)P * P + 1));
    double *lam = malloc(sizeof(double) * ((size_t)P + 1));
    double *q = malloc(sizeof(double) * ((size_t)P + 1));
    gsl_root_fsolver *rs = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    ac_status st = AC_OK;
    if (!C || !lam || !q || !rs) {
        st = ac_fail(msg, AC_ENOMEM, "one-path closed form: out of memory");
        goto done;
    }
    if (P > 0) {
        /* C = Phi Phi^T = V diag(lambda) V^T (LAPACK dsyev, eigenvectors in
         * the columns of C), q = V^T Y. */
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasNoTrans, P, N0, 1.0, w->Phi, N0, 0.0, C, P);
        if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'L', P, C, P, lam) != 0) {
            st = ac_fail(msg, AC_ELAPACK, "one-path closed form: eigensolver (dsyev) failed");
            goto done;
        }
        for (int k = 0; k < P; k++) {
            double acc = 0.0;
            for (int a = 0; a < P; a++)
                acc += C[(size_t)a * P + k] * w->Y[a];
            q[k] = acc;
        }
    }
    one_path o = {&w->s, lam, q, P};
    gsl_function F = {one_path_dsdu, &o};
    /* dS/du -> -N_a/u < 0 as u -> 0 and > 0 as u -> infinity (§3.7); bracket
     * the first sign change on a grid of factor 2. */
    double lo = AC_PATHS_ONE_U_MIN, hi = 2.0 * lo;
    while (hi <= AC_PATHS_ONE_U_MAX && one_path_dsdu(hi, &o) < 0.0)
        lo = hi, hi *= 2.0;
    if (hi > AC_PATHS_ONE_U_MAX || one_path_dsdu(lo, &o) >= 0.0) {
        st = ac_fail(msg, AC_ENOCONV, "one-path closed form: dS/du has no sign change in [%g, %g]",
                     AC_PATHS_ONE_U_MIN, AC_PATHS_ONE_U_MAX);
        goto done;
    }
    gsl_root_fsolver_set(rs, &F, lo, hi);
    for (int it = 0; it < 200; it++) {
        gsl_root_fsolver_iterate(rs);
        lo = gsl_root_fsolver_x_lower(rs), hi = gsl_root_fsolver_x_upper(rs);
        if (gsl_root_test_interval(lo, hi, 0.0, AC_PATHS_ONE_U_RTOL) == GSL_SUCCESS)
            break;
    }
    *u = gsl_root_fsolver_root(rs);
done:
    free(C), free(lam), free(q);
    if (rs)
        gsl_root_fsolver_free(rs);
    return st;
}

double ac_paths_one_path_u_t0(double alpha, double r_over_N)
{
    if (!(r_over_N > 0.0))
        return NAN;
    double x0, x1, x2;
    int nr = gsl_poly_solve_cubic(-(1.0 - alpha), 0.0, -r_over_N, &x0, &x1, &x2);
    double sr = nr == 1 ? x0 : x2; /* the largest root is the positive one */
    /* One Newton step on s^3 - (1-alpha) s^2 - r/N polishes the trigonometric
     * formula's rounding. */
    double f = sr * sr * sr - (1.0 - alpha) * sr * sr - r_over_N;
    double fp = 3.0 * sr * sr - 2.0 * (1.0 - alpha) * sr;
    if (fp != 0.0)
        sr -= f / fp;
    return sr * sr;
}
