/* Small dense linear-algebra helpers over CBLAS/LAPACKE (OpenBLAS).
 * Matrices are row-major double arrays with explicit dimensions. */
#ifndef AC_LINALG_H
#define AC_LINALG_H

#include "solvers/status.h"

/* <a, b> over n entries. */
double ac_la_dot(const double *a, const double *b, int n);

/* Euclidean (Frobenius) norm of n entries. */
double ac_la_nrm2(const double *a, int n);

/* Higham's gamma_n = n u / (1 - n u), u = DBL_EPSILON / 2 (Accuracy and
 * Stability, §3.1): a sum of n products, in any order (blocked, with FMA),
 * is within gamma_n of the sum of their absolute values; a chain of such
 * steps gathers the sum of their n (gamma_a + gamma_b <= gamma_{a+b} to
 * first order).  For rounding bounds in tolerances; n u < 1. */
double ac_la_gamma(double n);

/* ||a - b|| over n entries. */
double ac_la_dist(const double *a, const double *b, int n);

/* The void functions below cannot report a bad size: a size below 0 counts
 * as 0 (no entries), and nothing reaches BLAS, whose xerbla would print. */

/* G = E E^T (K x K) for E K x d.  G may not alias E. */
void ac_la_gram(const double *E, int K, int d, double *G);

/* W = E^T Lam E (d x d) for E K x d and Lam K x K.  W may not alias. */
void ac_la_lift(const double *E, int K, int d, const double *Lam, double *W);

/* Numerical rank of the K x d matrix A (singular values above
 * max(K,d) * DBL_EPSILON * sigma_max, the LAPACK dgelss default).  Writes the
 * smallest and largest singular values to smin, smax when non-NULL.
 * Returns AC_EINVAL (K or d negative; *rank untouched), AC_ENOMEM,
 * AC_ELAPACK, or AC_OK. */
ac_status ac_la_rank(const double *A, int K, int d, int *rank, double *smin, double *smax);

/* Cholesky factor in place of the n x n SPD matrix A (lower triangle, row-major).
 * Returns AC_ENUMERIC when A is not positive definite, AC_EINVAL for n < 0
 * (n = 0 is AC_OK), AC_ELAPACK for another LAPACK failure. */
ac_status ac_la_cholesky(double *A, int n);

/* Solve A x = b in place of b with the factor from ac_la_cholesky. */
void ac_la_cholesky_solve(const double *L, int n, double *b);

#endif
