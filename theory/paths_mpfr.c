/* MPFR mirror of theory/paths.c's action (spec attention_paths §3.2, §3.6):
 * the same formulas, dense loops at prec bits. */
#include "theory/paths_mpfr.h"

#include <stdlib.h>

#define R MPFR_RNDN

static mpfr_t *vinit(size_t n, mpfr_prec_t prec)
{
    mpfr_t *v = malloc(sizeof(mpfr_t) * (n + 1));
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        mpfr_init2(v[i], prec), mpfr_set_zero(v[i], 1);
    return v;
}

static void vclear(mpfr_t *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        mpfr_clear(v[i]);
    free(v);
}

/* In-place Cholesky (lower) of the n x n A; returns 1 when not positive
 * definite. */
static int chol(mpfr_t *A, int n, mpfr_t t)
{
    for (int j = 0; j < n; j++) {
        mpfr_set(t, A[j * n + j], R);
        for (int k = 0; k < j; k++)
            mpfr_fms(t, A[j * n + k], A[j * n + k], t, R), mpfr_neg(t, t, R);
        if (mpfr_sgn(t) <= 0 || !mpfr_number_p(t))
            return 1;
        mpfr_sqrt(A[j * n + j], t, R);
        for (int i = j + 1; i < n; i++) {
            mpfr_set(t, A[i * n + j], R);
            for (int k = 0; k < j; k++)
                mpfr_fms(t, A[i * n + k], A[j * n + k], t, R), mpfr_neg(t, t, R);
            mpfr_div(A[i * n + j], t, A[j * n + j], R);
        }
        for (int k = j + 1; k < n; k++)
            mpfr_set_zero(A[j * n + k], 1);
    }
    return 0;
}

/* b <- A^{-1} b with A = L L^T, b a vector of n. */
static void chol_solve(mpfr_t *L, int n, mpfr_t *b, mpfr_t t)
{
    for (int i = 0; i < n; i++) {
        mpfr_set(t, b[i], R);
        for (int k = 0; k < i; k++)
            mpfr_fms(t, L[i * n + k], b[k], t, R), mpfr_neg(t, t, R);
        mpfr_div(b[i], t, L[i * n + i], R);
    }
    for (int i = n - 1; i >= 0; i--) {
        mpfr_set(t, b[i], R);
        for (int k = i + 1; k < n; k++)
            mpfr_fms(t, L[k * n + i], b[k], t, R), mpfr_neg(t, t, R);
        mpfr_div(b[i], t, L[i * n + i], R);
    }
}

/* ln det A = 2 sum ln L_ii. */
static void logdet(mpfr_t *L, int n, mpfr_t out, mpfr_t t)
{
    mpfr_set_zero(out, 1);
    for (int i = 0; i < n; i++) {
        mpfr_log(t, L[i * n + i], R);
        mpfr_add(out, out, t, R);
    }
    mpfr_mul_2ui(out, out, 1, R);
}

/* X (n x n) <- A^{-1} B column by column, col a scratch vector of n. */
static void chol_solve_mat(mpfr_t *L, int n, mpfr_t *const B, mpfr_t *X, mpfr_t *col, mpfr_t t)
{
    for (int j = 0; j < n; j++) {
        for (int i = 0; i < n; i++)
            mpfr_set(col[i], B ? B[i * n + j] : col[i], R);
        if (!B)
            for (int i = 0; i < n; i++)
                mpfr_set_si(col[i], i == j, R);
        chol_solve(L, n, col, t);
        for (int i = 0; i < n; i++)
            mpfr_set(X[i * n + j], col[i], R);
    }
}

static int prec_ok(mpfr_prec_t prec)
{
    return prec >= MPFR_PREC_MIN && prec <= MPFR_PREC_MAX;
}

ac_status ac_paths_entropy_mpfr(const ac_paths_settings *s, const double *U, mpfr_t S, mpfr_t Ua,
                                mpfr_t *G, mpfr_prec_t prec)
{
    if (ac_paths_settings_check(s) || !prec_ok(prec))
        return AC_EINVAL;
    int L = s->L;
    size_t nu = ac_paths_u_size(s);
    int d2 = ac_paths_dim(s, L >= 2 ? 2 : L + 1);
    mpfr_t *F = vinit(nu, prec), *Inv = vinit(nu, prec);
    mpfr_t *Q = vinit((size_t)d2 * d2, prec), *X = vinit((size_t)d2 * d2, prec);
    mpfr_t *col = vinit((size_t)ac_paths_count(s), prec), *ld = vinit((size_t)L + 2, prec);
    mpfr_t t, ua, acc, beta, gamma, root, trq, ldn, a, kron;
    mpfr_inits2(prec, t, ua, acc, beta, gamma, root, trq, ldn, a, kron, (mpfr_ptr)0);
    ac_status st = AC_OK;
    if (!F || !Inv || !Q || !X || !col || !ld) {
        st = AC_ENOMEM;
        goto done;
    }
    for (int l = 1; l <= L; l++) {
        int D = ac_paths_dim(s, l);
        size_t off = ac_paths_u_offset(s, l);
        for (int j = 0; j < D * D; j++)
            mpfr_set_d(F[off + j], U[off + j], R);
        if (chol(F + off, D, t)) {
            st = AC_ENUMERIC;
            goto done;
        }
        logdet(F + off, D, ld[l], t);
    }
    /* U_a = [-beta + sqrt(beta^2 + 4 gamma)]/2 (§3.2), as ac_paths_ua. */
    {
        int DL = ac_paths_dim(s, L);
        size_t offL = ac_paths_u_offset(s, L);
        mpfr_set_zero(trq, 1);
        for (int j = 0; j < DL; j++)
            mpfr_add_d(trq, trq, U[offL + (size_t)j * DL + j], R);
        mpfr_set_d(beta, s->H[L - 1], R);
        mpfr_mul_d(beta, beta, s->n[L - 1], R);
        mpfr_div_d(beta, beta, s->n[L], R);
        mpfr_sub_ui(beta, beta, 1, R);
        mpfr_mul_d(beta, beta, s->sigma2_a, R);
        mpfr_mul_d(gamma, trq, s->n[L - 1] * 1.0, R);
        mpfr_mul_d(gamma, gamma, s->sigma2_a, R);
        mpfr_div_d(gamma, gamma, s->n[L], R);
        mpfr_div_d(gamma, gamma, s->sigma2[L], R);
        mpfr_sqr(root, beta, R);
        mpfr_mul_2ui(t, gamma, 2, R);
        mpfr_add(root, root, t, R);
        mpfr_sqrt(root, root, R);
        if (mpfr_sgn(beta) > 0) {
            mpfr_add(t, beta, root, R);
            mpfr_mul_2ui(ua, gamma, 1, R);
            mpfr_div(ua, ua, t, R);
        } else {
            mpfr_sub(ua, root, beta, R);
            mpfr_div_2ui(ua, ua, 1, R);
        }
    }
    /* N_a (U_a / sigma_a^2 - ln U_a). */
    mpfr_div_d(acc, ua, s->sigma2_a, R);
    mpfr_log(t, ua, R);
    mpfr_sub(acc, acc, t, R);
    mpfr_mul_d(acc, acc, s->n[L], R);
    if (G) {
        for (size_t j = 0; j < nu; j++)
            mpfr_set_zero(G[j], 1);
        for (int l = 1; l <= L; l++) {
            size_t off = ac_paths_u_offset(s, l);
            chol_solve_mat(F + off, ac_paths_dim(s, l), NULL, Inv + off, col, t);
        }
    }
    for (int l = 1; l <= L; l++) {
        int H = s->H[l - 1], d = ac_paths_dim(s, l + 1), D = ac_paths_dim(s, l);
        size_t off = ac_paths_u_offset(s, l);
        /* Q = ptr_l(U_l). */
        for (int j = 0; j < d; j++)
            for (int k = 0; k < d; k++) {
                mpfr_set_zero(Q[j * d + k], 1);
                for (int h = 0; h < H; h++)
                    mpfr_add_d(Q[j * d + k], Q[j * d + k],
                               U[off + (size_t)(h * d + j) * D + h * d + k], R);
            }
        if (l == L) {
            mpfr_div(trq, Q[0], ua, R);
            mpfr_log(ldn, ua, R);
        } else {
            size_t offn = ac_paths_u_offset(s, l + 1);
            chol_solve_mat(F + offn, d, Q, X, col, t);
            mpfr_set_zero(trq, 1);
            for (int j = 0; j < d; j++)
                mpfr_add(trq, trq, X[j * d + j], R);
            mpfr_set(ldn, ld[l + 1], R);
        }
        /* n_{l-1} [trq / sigma_l^2 - ln det U_l + H_l ln det U_{l+1}]. */
        mpfr_div_d(t, trq, s->sigma2[l], R);
        mpfr_sub(t, t, ld[l], R);
        mpfr_mul_si(a, ldn, H, R);
        mpfr_add(t, t, a, R);
        mpfr_mul_d(t, t, s->n[l - 1], R);
        mpfr_add(acc, acc, t, R);
        if (!G)
            continue;
        mpfr_t *A = l == L ? NULL : Inv + ac_paths_u_offset(s, l + 1);
        for (int j = 0; j < D; j++)
            for (int k = 0; k < D; k++) {
                mpfr_set_zero(kron, 1);
                if (j / d == k / d) {
                    if (l == L)
                        mpfr_ui_div(kron, 1, ua, R);
                    else
                        mpfr_set(kron, A[(j % d) * d + k % d], R);
                }
                mpfr_div_d(kron, kron, s->sigma2[l], R);
                mpfr_sub(kron, kron, Inv[off + (size_t)j * D + k], R);
                mpfr_mul_d(kron, kron, s->n[l - 1], R);
                mpfr_add(G[off + (size_t)j * D + k], G[off + (size_t)j * D + k], kron, R);
            }
        if (l == L)
            continue;
        mpfr_t *Gn = G + ac_paths_u_offset(s, l + 1);
        for (int j = 0; j < d; j++)
            for (int k = 0; k < d; k++) {
                mpfr_set_zero(a, 1);
                for (int m = 0; m < d; m++)
                    mpfr_fma(a, X[j * d + m], A[m * d + k], a, R);
                mpfr_div_d(a, a, s->sigma2[l], R);
                mpfr_mul_si(t, A[j * d + k], H, R);
                mpfr_sub(t, t, a, R);
                mpfr_mul_d(t, t, s->n[l - 1], R);
                mpfr_add(Gn[j * d + k], Gn[j * d + k], t, R);
            }
    }
    mpfr_set(S, acc, R);
    if (Ua)
        mpfr_set(Ua, ua, R);
done:
    mpfr_clears(t, ua, acc, beta, gamma, root, trq, ldn, a, kron, (mpfr_ptr)0);
    vclear(F, nu), vclear(Inv, nu), vclear(Q, (size_t)d2 * d2), vclear(X, (size_t)d2 * d2);
    vclear(col, (size_t)ac_paths_count(s)), vclear(ld, (size_t)L + 2);
    return st;
}

/* Z <- L^{-1} Z in place by forward substitution, L lower n x n, Z n x m
 * row-major (m right-hand sides), each inner product one fused
 * multiply-add. */
static void chol_forward_mat(mpfr_t *L, int n, mpfr_t *Z, int m, mpfr_t t)
{
    for (int c = 0; c < m; c++)
        for (int i = 0; i < n; i++) {
            mpfr_set_zero(t, 1);
            for (int k = 0; k < i; k++)
                mpfr_fma(t, L[i * n + k], Z[(size_t)k * m + c], t, R);
            mpfr_sub(t, Z[(size_t)i * m + c], t, R);
            mpfr_div(Z[(size_t)i * m + c], t, L[i * n + i], R);
        }
}

ac_status ac_paths_energy_mpfr(const ac_paths_settings *s, int P, int N0, const double *Phi,
                               const double *Y, const double *U1, mpfr_t E, mpfr_t *G1,
                               mpfr_prec_t prec)
{
    if (ac_paths_settings_check(s) || !prec_ok(prec) || P < 0 || N0 < 1)
        return AC_EINVAL;
    int np = ac_paths_count(s), m = N0 * np;
    size_t n1 = (size_t)np * np, pm = (size_t)P * m;
    mpfr_t *Fu = vinit(n1, prec), *K = vinit((size_t)P * P, prec), *v = vinit((size_t)P, prec);
    mpfr_t *F = vinit(pm, prec), *A = vinit(pm, prec), *b = vinit((size_t)m, prec);
    mpfr_t t, a, ld;
    mpfr_inits2(prec, t, a, ld, (mpfr_ptr)0);
    ac_status st = AC_OK;
    if (!Fu || !K || !v || !F || !A || !b) {
        st = AC_ENOMEM;
        goto done;
    }
    for (size_t j = 0; j < n1; j++)
        mpfr_set_d(Fu[j], U1[j], R);
    if (chol(Fu, np, t)) { /* U_1 positive definite, as the double code asks */
        st = AC_ENUMERIC;
        goto done;
    }
    /* K = sum_i Phi_i U_1 Phi_i^T + T I (§2), directly: A_i = Phi_i U_1
     * (A[mu, i, q] = sum_p Phi[mu, i, p] U_pq), K_{mu nu} = sum_{i, q} A[mu,
     * i, q] Phi[nu, i, q]. */
    for (size_t c = 0; c < pm; c++)
        mpfr_set_d(F[c], Phi[c], R);
    for (size_t mi = 0; mi < (size_t)P * N0; mi++)
        for (int q = 0; q < np; q++) {
            mpfr_set_zero(a, 1);
            for (int p = 0; p < np; p++) {
                mpfr_mul_d(t, F[mi * np + p], U1[p * np + q], R);
                mpfr_add(a, a, t, R);
            }
            mpfr_set(A[mi * np + q], a, R);
        }
    for (int mu = 0; mu < P; mu++)
        for (int nu = 0; nu <= mu; nu++) {
            mpfr_set_zero(a, 1);
            for (int c = 0; c < m; c++)
                mpfr_fma(a, A[(size_t)mu * m + c], F[(size_t)nu * m + c], a, R);
            if (mu == nu)
                mpfr_add_d(a, a, s->T, R);
            mpfr_set(K[mu * P + nu], a, R);
            mpfr_set(K[nu * P + mu], a, R);
        }
    if (chol(K, P, t)) {
        st = AC_ENUMERIC;
        goto done;
    }
    logdet(K, P, ld, t);
    for (int mu = 0; mu < P; mu++)
        mpfr_set_d(v[mu], Y[mu], R);
    chol_solve(K, P, v, t);
    mpfr_set(E, ld, R);
    for (int mu = 0; mu < P; mu++) {
        mpfr_mul_d(t, v[mu], Y[mu], R);
        mpfr_add(E, E, t, R);
    }
    if (!G1)
        goto done;
    /* M - B (§3.6) with v = (K + T I)^{-1} Y, b_ia = Phi_i^T v, B = sum_i b_i
     * b_i^T and M = sum_i Phi_i^T (K + T I)^{-1} Phi_i = sum_i Z_i^T Z_i, Z =
     * L^{-1} Phi (K + T I = L L^T), one forward substitution per column. */
    for (int c = 0; c < m; c++) {
        mpfr_set_zero(b[c], 1);
        for (int mu = 0; mu < P; mu++)
            mpfr_fma(b[c], v[mu], F[(size_t)mu * m + c], b[c], R);
    }
    chol_forward_mat(K, P, F, m, t); /* F <- Z */
    for (int p = 0; p < np; p++)
        for (int q = 0; q < np; q++) {
            mpfr_set_zero(a, 1);
            for (size_t mi = 0; mi < (size_t)P * N0; mi++)
                mpfr_fma(a, F[mi * np + p], F[mi * np + q], a, R);
            for (int i = 0; i < N0; i++)
                mpfr_fms(a, b[i * np + p], b[i * np + q], a, R), mpfr_neg(a, a, R);
            mpfr_set(G1[p * np + q], a, R);
        }
done:
    mpfr_clears(t, a, ld, (mpfr_ptr)0);
    vclear(Fu, n1), vclear(K, (size_t)P * P), vclear(v, (size_t)P);
    vclear(F, pm), vclear(A, pm), vclear(b, (size_t)m);
    return st;
}

ac_status ac_paths_action_mpfr(const ac_paths_settings *s, int P, int N0, const double *Phi,
                               const double *Y, const double *U, mpfr_t S, mpfr_t Ua, mpfr_t *G,
                               mpfr_prec_t prec)
{
    if (ac_paths_settings_check(s) || !prec_ok(prec))
        return AC_EINVAL;
    int np = ac_paths_count(s);
    size_t n1 = (size_t)np * np;
    mpfr_t Se, Sk;
    mpfr_inits2(prec, Se, Sk, (mpfr_ptr)0);
    mpfr_t *G1 = G ? vinit(n1, prec) : NULL;
    ac_status st = G && !G1 ? AC_ENOMEM : AC_OK;
    if (st == AC_OK)
        st = ac_paths_entropy_mpfr(s, U, Se, Ua, G, prec);
    if (st == AC_OK)
        st = ac_paths_energy_mpfr(s, P, N0, Phi, Y, U, Sk, G1, prec);
    if (st == AC_OK) {
        mpfr_add(S, Se, Sk, R);
        if (G)
            for (size_t j = 0; j < n1; j++)
                mpfr_add(G[j], G[j], G1[j], R);
    }
    mpfr_clears(Se, Sk, (mpfr_ptr)0);
    vclear(G1, n1);
    return st;
}
