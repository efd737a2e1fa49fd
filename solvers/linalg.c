#include "solvers/linalg.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

double ac_la_dot(const double *a, const double *b, int n)
{
    return n > 0 ? cblas_ddot(n, a, 1, b, 1) : 0.0;
}

double ac_la_nrm2(const double *a, int n)
{
    return n > 0 ? cblas_dnrm2(n, a, 1) : 0.0;
}

double ac_la_gamma(double n)
{
    double u = DBL_EPSILON / 2;
    return n * u / (1.0 - n * u);
}

double ac_la_dist(const double *a, const double *b, int n)
{
    /* Scaled sum of squares, as dnrm2 does, so that large entries do not overflow. */
    double scale = 0.0, ssq = 1.0;
    for (int i = 0; i < n; i++) {
        double v = fabs(a[i] - b[i]);
        if (v == 0.0)
            continue;
        if (scale < v) {
            ssq = 1.0 + ssq * (scale / v) * (scale / v);
            scale = v;
        } else {
            ssq += (v / scale) * (v / scale);
        }
    }
    return scale * sqrt(ssq);
}

void ac_la_gram(const double *E, int K, int d, double *G)
{
    if (K <= 0)
        return;
    if (d <= 0) {
        memset(G, 0, sizeof(double) * (size_t)K * (size_t)K);
        return;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, K, K, d, 1.0, E, d, E, d, 0.0, G, K);
}

void ac_la_lift(const double *E, int K, int d, const double *Lam, double *W)
{
    if (d <= 0)
        return;
    if (K <= 0) {
        memset(W, 0, sizeof(double) * (size_t)d * (size_t)d);
        return;
    }
    double *T = malloc(sizeof(double) * (size_t)K * (size_t)d);
    if (!T) { /* fall back to a slow loop rather than fail a void function */
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double s = 0.0;
                for (int a = 0; a < K; a++)
                    for (int b = 0; b < K; b++)
                        s += E[a * d + i] * Lam[a * K + b] * E[b * d + j];
                W[i * d + j] = s;
            }
        return;
    }
    /* T = Lam E (K x d), W = E^T T */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, d, K, 1.0, Lam, K, E, d, 0.0, T, d);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, K, 1.0, E, d, T, d, 0.0, W, d);
    free(T);
}

ac_status ac_la_rank(const double *A, int K, int d, int *rank, double *smin, double *smax)
{
    if (K < 0 || d < 0)
        return AC_EINVAL; /* before LAPACK, whose xerbla would print */
    int ns = K < d ? K : d;
    *rank = 0;
    if (smin)
        *smin = 0.0;
    if (smax)
        *smax = 0.0;
    if (ns == 0)
        return AC_OK;
    double *C = malloc(sizeof(double) * (size_t)K * (size_t)d);
    double *s = malloc(sizeof(double) * (size_t)ns);
    double *sup = malloc(sizeof(double) * (size_t)ns);
    if (!C || !s || !sup) {
        free(C), free(s), free(sup);
        return AC_ENOMEM;
    }
    memcpy(C, A, sizeof(double) * (size_t)K * (size_t)d);
    lapack_int info = LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', K, d, C, d, s, NULL, 1, NULL, 1, sup);
    free(C), free(sup);
    if (info != 0) {
        free(s);
        return AC_ELAPACK;
    }
    double tol = (K > d ? K : d) * DBL_EPSILON * s[0];
    int r = 0;
    while (r < ns && s[r] > tol)
        r++;
    *rank = r;
    if (smin)
        *smin = s[ns - 1];
    if (smax)
        *smax = s[0];
    free(s);
    return AC_OK;
}

ac_status ac_la_cholesky(double *A, int n)
{
    if (n < 0)
        return AC_EINVAL; /* before LAPACK, whose xerbla would print */
    if (n == 0)
        return AC_OK;
    lapack_int info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', n, A, n);
    if (info > 0)
        return AC_ENUMERIC;
    return info == 0 ? AC_OK : AC_ELAPACK;
}

void ac_la_cholesky_solve(const double *L, int n, double *b)
{
    if (n <= 0)
        return;
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, n, L, n, b, 1);
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, n, L, n, b, 1);
}
