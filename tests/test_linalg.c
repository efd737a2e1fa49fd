/* Tests of solvers/linalg: each helper against a direct loop on random
 * matrices (sizes 0 and 1 included), the empty-size conventions, dist
 * without overflow, the rank tolerance on both sides of its threshold, and
 * the Cholesky factor checked backwards. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "solvers/linalg.h"
#include "theory/paths.h"
#include "theory/tpg.h"
#include "tests/testutil.h"

#define NMAX 9

static void randn(gsl_rng *r, double *x, int n)
{
    for (int i = 0; i < n; i++)
        x[i] = gsl_ran_gaussian(r, 1.0);
}

/* Sums of n products of N(0,1) entries: rounding error below n eps sum|a b|;
 * tolerances below are 4 n eps times that scale. */
Test(linalg, dot_nrm2_and_dist_match_direct_sums)
{
    gsl_rng *r = ac_test_rng(31);
    for (int cs = 0; cs < ac_test_cases(200); cs++) {
        int n = (int)gsl_rng_uniform_int(r, NMAX + 1);
        double a[NMAX], b[NMAX];
        randn(r, a, n), randn(r, b, n);
        double dot = 0.0, scale = 0.0, na = 0.0, dd = 0.0;
        for (int i = 0; i < n; i++) {
            dot += a[i] * b[i];
            scale += fabs(a[i] * b[i]);
            na += a[i] * a[i];
            dd += (a[i] - b[i]) * (a[i] - b[i]);
        }
        double tol = 4.0 * (n + 1) * DBL_EPSILON;
        cr_assert(fabs(ac_la_dot(a, b, n) - dot) <= tol * scale, "case %d n %d dot", cs, n);
        cr_assert(fabs(ac_la_nrm2(a, n) - sqrt(na)) <= tol * sqrt(na), "case %d n %d nrm2", cs, n);
        cr_assert(fabs(ac_la_dist(a, b, n) - sqrt(dd)) <= tol * sqrt(dd), "case %d n %d dist %.17g %.17g", cs,
                  n, ac_la_dist(a, b, n), sqrt(dd));
        cr_assert_eq(ac_la_dist(a, a, n), 0.0);
    }
    double x[1] = {1.7312}, y[1] = {-0.25};
    cr_assert_eq(ac_la_dot(x, y, 0), 0.0);
    cr_assert_eq(ac_la_nrm2(x, 0), 0.0);
    cr_assert_eq(ac_la_dist(x, y, 0), 0.0);
    cr_assert_eq(ac_la_dist(x, y, 1), 1.7312 + 0.25); /* one entry: |a - b| exactly */
    gsl_rng_free(r);
}

/* Entries near 1e200 would overflow a plain sum of squares; the scaled sum
 * gives 1e200 sqrt(sum of (v / 1e200)^2), here 5e200 for a 3-4-5 triangle
 * in either order of the entries. */
Test(linalg, dist_does_not_overflow_or_underflow)
{
    double a[2] = {3e200, 0.0}, b[2] = {0.0, 4e200};
    cr_assert(fabs(ac_la_dist(a, b, 2) - 5e200) <= 4 * DBL_EPSILON * 5e200, "%g", ac_la_dist(a, b, 2));
    double c[2] = {0.0, 3e200}, e[2] = {4e200, 0.0};
    cr_assert(fabs(ac_la_dist(c, e, 2) - 5e200) <= 4 * DBL_EPSILON * 5e200, "%g", ac_la_dist(c, e, 2));
    double s[3] = {3e-200, 0.0, 4e-200}, z[3] = {0.0, 0.0, 0.0};
    cr_assert(fabs(ac_la_dist(s, z, 3) - 5e-200) <= 4 * DBL_EPSILON * 5e-200, "%g", ac_la_dist(s, z, 3));
}

Test(linalg, gram_and_lift_match_direct_loops)
{
    gsl_rng *r = ac_test_rng(32);
    for (int cs = 0; cs < ac_test_cases(200); cs++) {
        int K = (int)gsl_rng_uniform_int(r, NMAX + 1), d = (int)gsl_rng_uniform_int(r, NMAX + 1);
        double E[NMAX * NMAX], L[NMAX * NMAX], G[NMAX * NMAX], W[NMAX * NMAX];
        randn(r, E, K * d), randn(r, L, K * K);
        for (int i = 0; i < NMAX * NMAX; i++)
            G[i] = W[i] = NAN; /* every entry must be written */
        ac_la_gram(E, K, d, G);
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                double s = 0.0, sc = 0.0;
                for (int t = 0; t < d; t++)
                    s += E[i * d + t] * E[j * d + t], sc += fabs(E[i * d + t] * E[j * d + t]);
                cr_assert(fabs(G[i * K + j] - s) <= 4.0 * (d + 1) * DBL_EPSILON * sc, "case %d gram", cs);
            }
        ac_la_lift(E, K, d, L, W);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double s = 0.0, sc = 0.0;
                for (int a = 0; a < K; a++)
                    for (int b = 0; b < K; b++) {
                        double v = E[a * d + i] * L[a * K + b] * E[b * d + j];
                        s += v, sc += fabs(v);
                    }
                cr_assert(fabs(W[i * d + j] - s) <= 8.0 * (K + 1) * DBL_EPSILON * sc, "case %d lift (%d,%d) K %d d %d",
                          cs, i, j, K, d);
            }
    }
    gsl_rng_free(r);
}

/* Rank of a product of K x r and r x d Gaussian factors is r (almost surely;
 * singular values of such products sit far above the threshold for these
 * sizes), and smin, smax are the extreme singular values: for a diagonal
 * matrix, its entries. */
Test(linalg, rank_of_random_products_and_singular_values_of_diagonals)
{
    gsl_rng *r = ac_test_rng(33);
    for (int cs = 0; cs < ac_test_cases(100); cs++) {
        int K = 1 + (int)gsl_rng_uniform_int(r, NMAX), d = 1 + (int)gsl_rng_uniform_int(r, NMAX);
        int mn = K < d ? K : d, rk = (int)gsl_rng_uniform_int(r, (unsigned long)mn + 1);
        double A[NMAX * NMAX], B[NMAX * NMAX], M[NMAX * NMAX] = {0};
        randn(r, A, K * rk), randn(r, B, rk * d);
        for (int i = 0; i < K; i++)
            for (int j = 0; j < d; j++)
                for (int t = 0; t < rk; t++)
                    M[i * d + j] += A[i * rk + t] * B[t * d + j];
        int got = -1;
        cr_assert_eq(ac_la_rank(M, K, d, &got, NULL, NULL), AC_OK);
        cr_assert_eq(got, rk, "case %d: %d x %d of rank %d gave %d", cs, K, d, rk, got);
    }
    double D[6] = {3.0, 0, 0, 0, 0.5, 0}; /* 2 x 3, singular values 3 and 0.5 */
    int rk;
    double smin, smax;
    cr_assert_eq(ac_la_rank(D, 2, 3, &rk, &smin, &smax), AC_OK);
    cr_assert_eq(rk, 2);
    cr_assert_eq(smax, 3.0);
    cr_assert_eq(smin, 0.5);
    cr_assert_eq(ac_la_rank(D, 0, 3, &rk, &smin, &smax), AC_OK);
    cr_assert(rk == 0 && smin == 0.0 && smax == 0.0);
    gsl_rng_free(r);
}

/* The threshold max(K, d) eps sigma_max on both sides: diag(1, t) with t
 * at the threshold (not above it: rank 1) and the next double up (rank 2).
 * A diagonal matrix's SVD is exact (no rotation is needed). */
Test(linalg, rank_threshold_on_both_sides)
{
    double tol = 2 * DBL_EPSILON;
    double D[4] = {1.0, 0.0, 0.0, tol};
    int rk;
    double smin;
    cr_assert_eq(ac_la_rank(D, 2, 2, &rk, &smin, NULL), AC_OK);
    cr_assert_eq(smin, tol, "the SVD of a diagonal is exact");
    cr_assert_eq(rk, 1);
    D[3] = nextafter(tol, 1.0);
    cr_assert_eq(ac_la_rank(D, 2, 2, &rk, NULL, NULL), AC_OK);
    cr_assert_eq(rk, 2);
    /* 3 x 2: the factor is max(K, d) = 3, not 2 */
    double T[6] = {1.0, 0.0, 0.0, 2.5 * DBL_EPSILON, 0.0, 0.0};
    cr_assert_eq(ac_la_rank(T, 3, 2, &rk, NULL, NULL), AC_OK);
    cr_assert_eq(rk, 1, "2.5 eps is below 3 eps");
    T[3] = 3.5 * DBL_EPSILON;
    cr_assert_eq(ac_la_rank(T, 3, 2, &rk, NULL, NULL), AC_OK);
    cr_assert_eq(rk, 2, "3.5 eps is above 3 eps");
}

/* L L^T = A to 4 (n + 1) eps max|A| (Cholesky is backward stable with a
 * constant of order n), and the solve's residual ||A x - b|| to the same
 * relative order times the condition, kept small by a dominant diagonal. */
Test(linalg, cholesky_rebuilds_the_matrix_and_solves)
{
    gsl_rng *r = ac_test_rng(34);
    for (int cs = 0; cs < ac_test_cases(100); cs++) {
        int n = (int)gsl_rng_uniform_int(r, NMAX + 1);
        double B[NMAX * NMAX], A[NMAX * NMAX], L[NMAX * NMAX], b[NMAX], x[NMAX];
        randn(r, B, n * n), randn(r, b, n);
        double amax = 0.0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double s = i == j ? n + 1.7312 : 0.0;
                for (int t = 0; t < n; t++)
                    s += B[i * n + t] * B[j * n + t];
                A[i * n + j] = s;
                amax = fmax(amax, fabs(s));
            }
        memcpy(L, A, sizeof(double) * (size_t)(n * n));
        cr_assert_eq(ac_la_cholesky(L, n), AC_OK);
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) {
                double s = 0.0;
                for (int t = 0; t <= j; t++)
                    s += L[i * n + t] * L[j * n + t];
                cr_assert(fabs(s - A[i * n + j]) <= 4.0 * (n + 1) * DBL_EPSILON * amax, "case %d (%d,%d)", cs, i, j);
            }
        memcpy(x, b, sizeof(double) * (size_t)n);
        ac_la_cholesky_solve(L, n, x);
        for (int i = 0; i < n; i++) {
            double s = 0.0;
            for (int j = 0; j < n; j++)
                s += A[i * n + j] * x[j];
            cr_assert(fabs(s - b[i]) <= 1e3 * (n + 1) * DBL_EPSILON * amax * (1.0 + fabs(b[i])), "case %d row %d", cs, i);
        }
    }
    double N[4] = {1.0, 2.0, 2.0, 1.0}; /* eigenvalues 3, -1 */
    cr_assert_eq(ac_la_cholesky(N, 2), AC_ENUMERIC);
    double Z[4] = {1.0, 0.0, 0.0, 0.0}; /* singular: no positive second pivot */
    cr_assert_eq(ac_la_cholesky(Z, 2), AC_ENUMERIC);
    double F[4] = {-1.0, 0.0, 0.0, 1.0}; /* the first pivot fails (LAPACK info = 1) */
    cr_assert_eq(ac_la_cholesky(F, 2), AC_ENUMERIC);
    double one[1] = {-2.0};
    cr_assert_eq(ac_la_cholesky(one, 1), AC_ENUMERIC);
    cr_assert_eq(ac_la_cholesky(NULL, 0), AC_OK);
    ac_la_cholesky_solve(NULL, 0, NULL);
    gsl_rng_free(r);
}

/* gamma_n bounds n roundings with the unit roundoff u = DBL_EPSILON / 2
 * (Higham §3.1), and is the tightest such bound for n = 1: fl(1 + 2^-53)
 * is a tie that rounds to 1, a relative error of 2^-53 / (1 + 2^-53) =
 * u (1 - u + O(u^2)) (computed exactly enough in double: the one rounding
 * of the division is 2^-53 relative), which gamma_1 = u / (1 - u) exceeds
 * by the factor 1 + 2u + O(u^2).  A bound built on DBL_EPSILON instead of u
 * would be twice as large: 1.5 separates the two.  gamma_n is increasing
 * and, for n u < 1/2, at most 2 n u. */
Test(linalg, gamma_is_the_tight_bound_of_one_rounding_with_the_unit_roundoff)
{
    volatile double tiny = ldexp(1.0, -53), one = 1.0;
    double rounded = one + tiny; /* a tie: rounds to even, 1 */
    cr_assert_eq(rounded, 1.0);
    double err = tiny / (1.0 + tiny); /* |(1 + 2^-53) - 1| / (1 + 2^-53) */
    double g1 = ac_la_gamma(1);
    cr_assert_geq(g1, err, "gamma_1 = %.17g is below the error %.17g of one rounding", g1, err);
    cr_assert_lt(g1, 1.5 * err, "gamma_1 = %.17g is not the tight bound %.17g (u = DBL_EPSILON / 2)", g1,
                 err);
    for (int n = 1; n < 1000; n++) {
        cr_assert_gt(ac_la_gamma(n + 1), ac_la_gamma(n), "gamma is not increasing at n = %d", n);
        cr_assert_leq(ac_la_gamma(n), 2.0 * n * (DBL_EPSILON / 2), "gamma_%d above 2 n u", n);
    }
}

/* BLAS's and LAPACK's xerbla print on stdout (OpenBLAS) or stderr. */
static void redirect_both(void)
{
    cr_redirect_stdout();
    cr_redirect_stderr();
}

/* Negative sizes are refused before LAPACK: its xerbla printed "On entry
 * to DPOTRF parameter number 2 had an illegal value" on stderr (the
 * library never prints) and the call returned AC_ELAPACK.  The void
 * functions, here and in the theory modules, take them as 0 (seen to print
 * with gram's K < 0 let through, and with npair < 0 passed to dgemv;
 * npair = 0 copied packed's stale contents into K, BLAS's empty dgemv
 * writing nothing: seen to fail under the sanitizers, then here with
 * packed set beforehand). */
Test(linalg, negative_sizes_are_refused_without_printing, .init = redirect_both)
{
    double A[4] = {2.0, 0.5, 0.5, 1.7312};
    int rank = -7;
    cr_assert_eq(ac_la_cholesky(A, -1), AC_EINVAL);
    cr_assert_eq(ac_la_rank(A, -1, 2, &rank, NULL, NULL), AC_EINVAL);
    cr_assert_eq(ac_la_rank(A, 2, -3, &rank, NULL, NULL), AC_EINVAL);
    cr_assert_eq(rank, -7);
    cr_assert_eq(A[0], 2.0);
    /* the void functions take a negative size as 0: nothing written, no print */
    double G[4] = {1.7312, 1.7312, 1.7312, 1.7312}, b[2] = {1.0, 2.0};
    ac_la_gram(A, -2, 2, G);
    ac_la_lift(A, 2, -2, A, G);
    ac_la_cholesky_solve(A, -2, b);
    cr_assert_eq(G[0], 1.7312);
    cr_assert_eq(b[0], 1.0);
    ac_la_gram(A, 2, -1, G); /* K x 0 times its transpose: zero */
    cr_assert_eq(G[3], 0.0);
    /* and the theory modules' void functions over BLAS */
    double U[4] = {1.7312, 1.7312, 1.7312, 1.7312}, packed[3] = {1.7312, 1.7312, 1.7312};
    double K[4] = {1.7312, 1.7312, 1.7312, 1.7312};
    ac_tpg_token_logits(A, -2, 2, A, U);
    cr_assert_eq(U[0], 1.7312);
    ac_paths_prekernel_sum(-2, 1, A, b, packed, K);
    cr_assert_eq(K[0], 1.7312);
    for (int npair = -1; npair <= 0; npair++) { /* no pre-kernels: K's triangle 0 */
        K[0] = K[1] = K[2] = K[3] = 1.7312;
        ac_paths_prekernel_sum(2, npair, A, b, packed, K);
        cr_assert(K[0] == 0.0 && K[1] == 0.0 && K[3] == 0.0, "npair %d", npair);
        cr_assert_eq(K[2], 1.7312); /* the lower triangle is not touched */
    }
    fflush(stdout);
    fflush(stderr);
    cr_assert_stdout_eq_str("");
    cr_assert_stderr_eq_str("");
}
