/* Attention paths (theory/paths.h): the exact identities of spec
 * attention_paths §6 (unit tests 1-6), the predictor against a direct
 * solve, head scores on constructed U, and every invalid input. */
#include <criterion/criterion.h>
#include <float.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_min.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/linalg.h"
#include "theory/paths.h"
#include "tests/testutil.h"

#define EPS DBL_EPSILON

/* gamma_n (Higham §3.1): ac_la_gamma, solvers/linalg.h. */

/* ---- Random cases ------------------------------------------------------ */

/* L in 1..3, H_l in 1..3 with at most 12 paths, widths in [2, 30], variances
 * in [0.5, 2], T in [0.05, 1]: values like 1.7312, never 0 or 1. */
static void rand_settings(gsl_rng *r, ac_paths_settings *s, int Lmax)
{
    ac_paths_settings_default(s);
    do {
        s->L = 1 + (int)gsl_rng_uniform_int(r, (unsigned long)Lmax);
        for (int l = 0; l < s->L; l++)
            s->H[l] = 1 + (int)gsl_rng_uniform_int(r, 3);
    } while (ac_paths_count(s) > 12);
    for (int l = 0; l <= s->L; l++) {
        s->n[l] = 2.0 + 28.0 * gsl_rng_uniform(r);
        s->sigma2[l] = 0.5 + 1.5 * gsl_rng_uniform(r);
    }
    s->sigma2_a = 0.5 + 1.5 * gsl_rng_uniform(r);
    s->T = 0.05 + 0.95 * gsl_rng_uniform(r);
}

/* d x d positive definite: B B^T / d + 0.3 I, B with N(0, 0.8^2) entries, so
 * lambda_min >= 0.3. */
static void rand_pd(gsl_rng *r, int d, double *A)
{
    double *B = malloc(sizeof(double) * (size_t)d * d);
    for (int i = 0; i < d * d; i++)
        B[i] = 0.8 * gsl_ran_gaussian(r, 1.0);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double acc = 0.0;
            for (int k = 0; k < d; k++)
                acc += B[i * d + k] * B[j * d + k];
            A[i * d + j] = acc / d + (i == j ? 0.3 : 0.0);
        }
    free(B);
}

static double *rand_u(gsl_rng *r, const ac_paths_settings *s)
{
    double *U = malloc(sizeof(double) * ac_paths_u_size(s));
    for (int l = 1; l <= s->L; l++)
        rand_pd(r, ac_paths_dim(s, l), U + ac_paths_u_offset(s, l));
    return U;
}

static double *rand_vec(gsl_rng *r, size_t n, double sd)
{
    double *v = malloc(sizeof(double) * (n + 1));
    for (size_t i = 0; i < n; i++)
        v[i] = sd * gsl_ran_gaussian(r, 1.0);
    return v;
}

static double *rand_labels(gsl_rng *r, int P)
{
    double *Y = malloc(sizeof(double) * ((size_t)P + 1));
    for (int i = 0; i < P; i++)
        Y[i] = gsl_rng_uniform(r) < 0.5 ? -1.0 : 1.0;
    return Y;
}

/* The Cholesky factor of the n x n SPD A (row-major, n >= 1) by GSL: a
 * route independent of the LAPACKE code under test.  The caller frees it. */
static gsl_matrix *gsl_chol(const double *A, int n)
{
    gsl_matrix *F = gsl_matrix_alloc((size_t)n, (size_t)n);
    for (int i = 0; i < n * n; i++)
        F->data[i] = A[i];
    cr_assert_eq(gsl_linalg_cholesky_decomp1(F), 0);
    return F;
}

/* A^{-1} b through gsl_chol's factor F of A (n entries); the caller frees it. */
static gsl_vector *gsl_chol_solve(const gsl_matrix *F, const double *b, int n)
{
    gsl_vector_const_view bv = gsl_vector_const_view_array(b, (size_t)n);
    gsl_vector *x = gsl_vector_alloc((size_t)n);
    gsl_linalg_cholesky_solve(F, &bv.vector, x);
    return x;
}

/* ln det(A) + y^T A^{-1} y for the n x n SPD A by GSL's Cholesky: a route
 * independent of the LAPACKE code under test. */
static double gsl_logdet_quad(const double *A, const double *y, int n)
{
    if (n == 0)
        return 0.0;
    gsl_matrix *M = gsl_chol(A, n);
    gsl_vector *x = gsl_chol_solve(M, y, n);
    double ld = 0.0, q = 0.0;
    for (int i = 0; i < n; i++) {
        ld += 2.0 * log(gsl_matrix_get(M, (size_t)i, (size_t)i));
        q += y[i] * gsl_vector_get(x, (size_t)i);
    }
    gsl_matrix_free(M), gsl_vector_free(x);
    return ld + q;
}

/* ---- Settings ---------------------------------------------------------- */

Test(paths, every_invalid_setting_is_rejected_with_its_sentence)
{
    ac_paths_settings ok;
    ac_paths_settings_default(&ok);
    ok.L = 2, ok.H[0] = 2, ok.H[1] = 3, ok.T = 0.01;
    cr_assert_null(ac_paths_settings_check(&ok));
    cr_assert_not_null(ac_paths_settings_check(NULL));
    ac_paths_settings bad[13];
    for (int i = 0; i < 13; i++)
        bad[i] = ok;
    bad[0].L = 0;
    bad[1].L = AC_PATHS_MAX_LAYERS + 1;
    bad[2].H[1] = 0;
    bad[3].L = 7;                              /* 2 * 3 * 1 ... with H = 5 below */
    for (int l = 0; l < 7; l++)
        bad[3].H[l] = 5;                       /* 5^7 > 4096 paths */
    bad[4].n[0] = 0.0;
    bad[5].n[2] = NAN;                         /* N_a */
    bad[6].sigma2[1] = -1.7312;
    bad[7].sigma2[0] = INFINITY;
    bad[8].sigma2_a = 0.0;
    bad[9].T = 0.0;
    bad[10].T = -0.01;
    bad[11].T = NAN;
    bad[12].T = INFINITY;
    const char *seen[13];
    for (int i = 0; i < 13; i++) {
        seen[i] = ac_paths_settings_check(&bad[i]);
        cr_assert_not_null(seen[i], "bad setting %d accepted", i);
        cr_assert_null(ac_paths_alloc(&bad[i], 3, 2), "alloc accepted bad setting %d", i);
    }
    cr_assert_null(ac_paths_alloc(&ok, -1, 2));
    cr_assert_null(ac_paths_alloc(&ok, 3, 0));
    ac_msg msg;
    cr_assert_eq(ac_paths_check_sizes(&ok, 3, 2, &msg), AC_OK);
    cr_assert_eq(ac_paths_check_sizes(&ok, -1, 2, &msg), AC_ESIZE);
    cr_assert(strstr(msg.text, "-1 training examples") != NULL, "%s", msg.text);
    cr_assert_eq(ac_paths_check_sizes(&ok, 3, 0, &msg), AC_ESIZE);
    cr_assert(strstr(msg.text, "0 input features") != NULL, "%s", msg.text);
    cr_assert_eq(ac_paths_check_sizes(&ok, 1 << 20, 1 << 12, &msg), AC_ESIZE);
    cr_assert_eq(ac_paths_check_sizes(&bad[9], 3, 2, &msg), AC_EINVAL);
    cr_assert_str_eq(msg.text, seen[9]);
    ac_paths_free(NULL);
}

/* ---- §6 test 4: K from Phi = (1/H^L) sum U C, pairwise ------------------ */

/* Softmax over keys (rows) of each column of an ntok x ntok score matrix. */
static void rand_attention(gsl_rng *r, int ntok, double *Om)
{
    for (int t = 0; t < ntok; t++) {
        double z = 0.0;
        for (int a = 0; a < ntok; a++) {
            Om[a * ntok + t] = exp(1.7312 * gsl_ran_gaussian(r, 1.0));
            z += Om[a * ntok + t];
        }
        for (int a = 0; a < ntok; a++)
            Om[a * ntok + t] /= z;
    }
}

/* The rounding steps n of gamma_n (ac_la_gamma) between the two routes to C_{ab}
 * and to K in the test below, on the absolute sums cabs and sabs.
 *   xi (test): the product of L Omega's from the identity (the first
 * product exact, L - 1 of ntok terms), times r (ntok), times x (ntok):
 * (L + 1) ntok; every Omega >= 0, so its bound is the absolute sum xia.
 *   Phi (library, ac_paths_phi): omega_pi by L matvecs (L ntok), the dgemm
 * over tokens (ntok) and its alpha (1), alpha = sqrt(sigma^2 / (N0 H^L)) (a
 * division and a square root: 2): (L + 1) ntok + 3, on c xia.
 *   C_{ab}: test, an N0-term dot product of two xi and the scaling by
 * sigma^2 / N0 (2): 2 (L + 1) ntok + N0 + 2; library
 * (ac_paths_pair_kernel), two Phi, the dot product and the factor H^L:
 * 2 ((L + 1) ntok + 3) + N0 + 1.  The routes differ by at most the sum.
 *   K: test, the np^2-term sum of U_1 C_ab and the division by np:
 * C's steps + np^2 + 1; library (ac_paths_kernel), W = Phi_b U^T (np
 * terms) and Phi_a W^T (N0 np terms): 2 ((L + 1) ntok + 3) + np + N0 np.
 * Measured at AC_TEST_MULTIPLIER=20: the largest error is 0.25 of the C
 * bound and 0.20 of the K bound (the 8 n eps used before were 5 to 35 times
 * these bounds). */
static double c_route_steps(int N0, int ntok, int L)
{
    double test = 2.0 * (L + 1) * ntok + N0 + 2.0, lib = 2.0 * ((L + 1) * ntok + 3.0) + N0 + 1.0;
    return test + lib;
}

static double k_route_steps(int N0, int ntok, int L, int np)
{
    double test = 2.0 * (L + 1) * ntok + N0 + 2.0 + (double)np * np + 1.0;
    double lib = 2.0 * ((L + 1) * ntok + 3.0) + np + (double)N0 * np;
    return test + lib;
}

Test(paths, kernel_from_phi_equals_pairwise_sum_of_path_kernels)
{
    gsl_rng *r = ac_test_rng(41);
    int ncase = ac_test_cases(60);
    for (int c = 0; c < ncase; c++) {
        ac_paths_settings s;
        rand_settings(r, &s, 3);
        int P = (int)gsl_rng_uniform_int(r, 5), N0 = 1 + (int)gsl_rng_uniform_int(r, 4);
        int ntok = 1 + (int)gsl_rng_uniform_int(r, 4), np = ac_paths_count(&s), nh = 0;
        for (int l = 0; l < s.L; l++)
            nh += s.H[l];
        size_t nn = (size_t)ntok * ntok;
        double *X = rand_vec(r, (size_t)P * N0 * ntok, 1.0);
        double *Om = malloc(sizeof(double) * ((size_t)P * nh * nn + 1));
        for (int m = 0; m < P * nh; m++)
            rand_attention(r, ntok, Om + (size_t)m * nn);
        double *rv = rand_vec(r, (size_t)ntok, 1.0);
        double *Phi = malloc(sizeof(double) * ((size_t)P * N0 * np + 1));
        cr_assert_eq(ac_paths_phi(&s, P, N0, ntok, X, Om, rv, Phi, NULL), AC_OK);
        /* xi_pi(x^mu) the other way round: the forward product Omega_1^{h_1}
         * ... Omega_L^{h_L} as matrices, then times r, then x. */
        /* xia: the same sums over absolute values, the scale of their
         * rounding (the signs of X and r make xi cancel). */
        double *xi = malloc(sizeof(double) * ((size_t)P * np * N0 + 1));
        double *xia = malloc(sizeof(double) * ((size_t)P * np * N0 + 1));
        double *Mt = malloc(sizeof(double) * nn), *Mn = malloc(sizeof(double) * nn);
        for (int mu = 0; mu < P; mu++)
            for (int pi = 0; pi < np; pi++) {
                for (size_t i = 0; i < nn; i++)
                    Mt[i] = (i % (ntok + 1) == 0) ? 1.0 : 0.0;
                int off = 0;
                for (int l = 1; l <= s.L; l++) {
                    int h = (pi / ac_paths_dim(&s, l + 1)) % s.H[l - 1];
                    const double *O = Om + ((size_t)mu * nh + off + h) * nn;
                    for (int a = 0; a < ntok; a++)
                        for (int b = 0; b < ntok; b++) {
                            double acc = 0.0;
                            for (int k = 0; k < ntok; k++)
                                acc += Mt[a * ntok + k] * O[k * ntok + b];
                            Mn[a * ntok + b] = acc;
                        }
                    memcpy(Mt, Mn, sizeof(double) * nn);
                    off += s.H[l - 1];
                }
                for (int i = 0; i < N0; i++) {
                    double acc = 0.0, aabs = 0.0;
                    for (int a = 0; a < ntok; a++) {
                        double om = 0.0, omabs = 0.0;
                        for (int b = 0; b < ntok; b++) {
                            om += Mt[a * ntok + b] * rv[b];
                            omabs += Mt[a * ntok + b] * fabs(rv[b]); /* Omega >= 0 */
                        }
                        acc += X[((size_t)mu * N0 + i) * ntok + a] * om;
                        aabs += fabs(X[((size_t)mu * N0 + i) * ntok + a]) * omabs;
                    }
                    xi[((size_t)mu * np + pi) * N0 + i] = acc;
                    xia[((size_t)mu * np + pi) * N0 + i] = aabs;
                }
            }
        double *U1 = malloc(sizeof(double) * (size_t)np * np);
        rand_pd(r, np, U1);
        double *K = malloc(sizeof(double) * ((size_t)P * P + 1));
        double *C = malloc(sizeof(double) * ((size_t)P * P + 1));
        cr_assert_eq(ac_paths_kernel(&s, N0, P, Phi, P, Phi, U1, K), AC_OK);
        for (int mu = 0; mu < P; mu++)
            for (int nu = 0; nu < P; nu++) {
                double sum = 0.0, sabs = 0.0;
                for (int a = 0; a < np; a++)
                    for (int b = 0; b < np; b++) {
                        double cab = 0.0, cabs = 0.0;
                        for (int i = 0; i < N0; i++) {
                            cab += xi[((size_t)mu * np + a) * N0 + i] *
                                   xi[((size_t)nu * np + b) * N0 + i];
                            cabs += xia[((size_t)mu * np + a) * N0 + i] *
                                    xia[((size_t)nu * np + b) * N0 + i];
                        }
                        cab *= s.sigma2[0] / N0, cabs *= s.sigma2[0] / N0;
                        /* The library's C_{ab} for this pair agrees too. */
                        ac_paths_pair_kernel(&s, N0, P, Phi, P, Phi, a, b, C);
                        double tc = ac_la_gamma(c_route_steps(N0, ntok, s.L)) * cabs;
                        cr_assert_leq(fabs(C[mu * P + nu] - cab), tc,
                                      "seed 41 case %d pair (%d,%d) paths (%d,%d)", c, mu, nu, a, b);
                        sum += U1[a * np + b] * cab;
                        sabs += fabs(U1[a * np + b]) * cabs;
                    }
                sum /= np, sabs /= np;
                double tol = ac_la_gamma(k_route_steps(N0, ntok, s.L, np)) * sabs;
                cr_assert_leq(fabs(K[mu * P + nu] - sum), tol, "seed 41 case %d (%d,%d): %g vs %g",
                              c, mu, nu, K[mu * P + nu], sum);
            }
        free(X), free(Om), free(rv), free(Phi), free(xi), free(xia), free(Mt), free(Mn), free(U1), free(K),
            free(C);
    }
    gsl_rng_free(r);
}

/* |L||L|^T (n x n) for the Cholesky factor L of the SPD U (GSL's, the
 * test's own route): the scale of every rounding error of a computation
 * that goes through L (Higham Thm 10.3), and an upper bound on |U|. */
static void abs_chol_product(const double *U, int n, double *out)
{
    gsl_matrix *F = gsl_chol(U, n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double acc = 0.0;
            for (int k = 0; k <= (i < j ? i : j); k++)
                acc += fabs(gsl_matrix_get(F, (size_t)i, (size_t)k)) *
                       fabs(gsl_matrix_get(F, (size_t)j, (size_t)k));
            out[i * n + j] = acc;
        }
    gsl_matrix_free(F);
}

/* First-order bound on |E_lib - E_gsl| for E = ln det A + Y^T A^{-1} Y, A =
 * K + T I (P x P, the test's K), computed by the library (theory/paths.c
 * factor: its own K, dpotrf, 2 sum ln l_ii, a forward solve w and w.w) and
 * by gsl_logdet_quad (K as given, Cholesky, two solves, ln l_ii, Y.x).
 * Kabs: the kernel on |Phi| and |L_1||L_1|^T, which bounds the absolute
 * terms of every route to K; kf: the rounding steps of the two routes to K
 * together.  With u = EPS/2 and gamma_n = ac_la_gamma(n):
 *   forming A: the routes differ by |dA| <= gamma_kf Kabs, and on the
 *     diagonal by the rounding of each route's K_ii + T, u (Kabs_ii + T)
 *     each;
 *   Cholesky and solves (Higham Thm 10.3, 10.4): each route computes ln det
 *     and Y^T x of some A + dA with |dA| <= gamma_{3P+1} |L||L^T|, and
 *     (|L||L^T|)_ij <= sqrt(a_ii a_jj) = d_i d_j (Cauchy-Schwarz on rows of
 *     L), so |dA| <= gamma_{3P+1} d d^T;
 *   a perturbation dA moves ln det A by tr(A^{-1} dA) <= sum |A^{-1}| |dA|
 *     and Y^T A^{-1} Y by v^T dA v, v = A^{-1} Y: sum |v||v|^T |dA|;
 *   the P logarithms (glibc's log: within 1 ulp, 2u) and their sum:
 *     gamma_{P+2} sum |ln l_ii^2|; the dot product: gamma_P |Y|^T |v|; the
 *     final addition: u |E|.
 * Each of the `sides` routes (2 here; 1 for one route against the exact
 * value, kf then its own steps) carries the K_ii + T, Cholesky, log, dot
 * and addition terms; tpert adds an error of T itself (an input rounded
 * before the call: |dT| <= tpert on the diagonal).  A^{-1}, v, l_ii come
 * from GSL (the bound's ingredients by the test's own route; O(u^2) terms
 * dropped). */
static double energy_route_bound(const double *A, const double *Kabs, const double *Y, int P,
                                 double T, double kf, double E, int sides, double tpert)
{
    if (P == 0)
        return 0.0;
    gsl_matrix *F = gsl_chol(A, P);
    gsl_vector *v = gsl_chol_solve(F, Y, P);
    double logs = 0.0;
    for (int i = 0; i < P; i++)
        logs += fabs(2.0 * log(gsl_matrix_get(F, (size_t)i, (size_t)i)));
    gsl_linalg_cholesky_invert(F); /* F := A^{-1} */
    double chol = 0.0, form = 0.0, yv_abs = 0.0;
    for (int i = 0; i < P; i++) {
        double vi = fabs(gsl_vector_get(v, (size_t)i));
        yv_abs += fabs(Y[i]) * vi;
        for (int j = 0; j < P; j++) {
            double w = fabs(gsl_matrix_get(F, (size_t)i, (size_t)j)) +
                       vi * fabs(gsl_vector_get(v, (size_t)j));
            chol += w * sqrt(A[i * P + i] * A[j * P + j]);
            form += w * (ac_la_gamma(kf) * Kabs[i * P + j] +
                         (i == j ? sides * (EPS / 2) * (Kabs[i * P + i] + T) + tpert : 0.0));
        }
    }
    gsl_matrix_free(F), gsl_vector_free(v);
    return form + sides * (ac_la_gamma(3.0 * P + 1) * chol + ac_la_gamma(P + 2.0) * logs +
                           ac_la_gamma(P) * yv_abs + EPS / 2 * fabs(E));
}

/* First-order bounds *bm, *bv on |mean_lib - mean_gsl| and |var_lib -
 * var_gsl| at one test point, mean = k^T A^{-1} Y and var = kt - k^T A^{-1}
 * k, A = K + T I (P x P, the test's K), k (P) and kt = K(x_t, x_t) the
 * test's, as energy_route_bound: Kabs, kabs, ktabs the kernels on |Phi|,
 * |Phi_t| and |L_1||L_1|^T; kf the steps of the routes to any of them
 * (library: theory/paths.c ac_paths_predict: K from factor, k = Z Zt^T and
 * kt = |Zt|^2 with Z = Phi L_1; test: ac_paths_kernel).  With x = A^{-1} k,
 * v = A^{-1} Y (GSL), d_i = sqrt(a_ii):
 *   forming: dA (and the diagonal's K_ii + T, u (Kabs_ii + T) on each
 *     route) moves the mean by x^T dA v and the variance by x^T dA x;
 *     dk the mean by dk^T v and the variance by 2 dk^T x; dkt the variance;
 *   Cholesky and solves (Higham Thm 10.3, 10.4; the library's w = L^{-1} k
 *     and |w|^2 included): |dA| <= gamma_{3P+1} d d^T on each route;
 *   dot products of P terms: the library's k . v and |w|^2, the test's
 *     Y . x and k . x: gamma_P |k|^T |x|, |Y|^T |x|, |k|^T |v|;
 *   the subtraction kt - q on each route: u (|kt| + |k|^T |x|).
 * sides and tpert as energy_route_bound's; with sides = 1 only the
 * library's route is counted (its dot products k . v and |w|^2). */
static void predict_route_bound(const double *A, const double *Kabs, const double *k,
                                const double *kabs, double kt, double ktabs, const double *Y,
                                int P, double T, double kf, int sides, double tpert, double *bm,
                                double *bv)
{
    double gf = ac_la_gamma(kf), u = EPS / 2;
    *bm = 0.0;
    *bv = gf * ktabs + sides * u * fabs(kt);
    if (P == 0)
        return;
    gsl_matrix *F = gsl_chol(A, P);
    gsl_vector *x = gsl_chol_solve(F, k, P), *v = gsl_chol_solve(F, Y, P);
    double xKv = 0.0, xKx = 0.0, dx = 0.0, dv = 0.0, kx = 0.0, kv1 = 0.0, yx = 0.0, kax = 0.0,
           kav = 0.0, tx = 0.0, tv = 0.0; /* tx, tv: the diagonal's K_ii + T roundings */
    for (int i = 0; i < P; i++) {
        double xi = fabs(gsl_vector_get(x, (size_t)i)), vi = fabs(gsl_vector_get(v, (size_t)i));
        for (int j = 0; j < P; j++) {
            xKv += xi * Kabs[i * P + j] * fabs(gsl_vector_get(v, (size_t)j));
            xKx += xi * Kabs[i * P + j] * fabs(gsl_vector_get(x, (size_t)j));
        }
        dx += sqrt(A[i * P + i]) * xi, dv += sqrt(A[i * P + i]) * vi;
        kx += fabs(k[i]) * xi, kv1 += fabs(k[i]) * vi, yx += fabs(Y[i]) * xi;
        kax += kabs[i] * xi, kav += kabs[i] * vi;
        tx += xi * xi * (sides * u * (Kabs[i * P + i] + T) + tpert);
        tv += xi * vi * (sides * u * (Kabs[i * P + i] + T) + tpert);
    }
    double gc = ac_la_gamma(3.0 * P + 1), gp = ac_la_gamma(P);
    *bm = gf * (xKv + kav) + tv + sides * gc * dx * dv + gp * (kv1 + (sides > 1 ? yx : 0.0));
    *bv += gf * (xKx + 2.0 * kax) + tx + sides * (gc * dx * dx + gp * kx + u * kx);
    gsl_matrix_free(F);
    gsl_vector_free(x), gsl_vector_free(v);
}

/* The rounding steps of the routes to K in the tests below: the library's
 * (theory/paths.c factor) either Z = Phi L_1 (dpotrf of U_1: np + 1; np
 * terms) and Z Z^T (m = N0 np terms): 2 np + 1 + m, or the pre-kernels (an
 * N0-term dot product, C_ab + C_ab^T: 1, np (np + 1) / 2 axpy terms);
 * ac_paths_kernel's: W = Phi U^T (np terms), Phi W^T (m terms).  Every
 * route's absolute terms are bounded by Phi's and |L_1||L_1|^T's. */
static double lib_k_steps(int N0, int np)
{
    double m = (double)N0 * np;
    return fmax(2.0 * np + 1.0 + m, N0 + 1.0 + np * (np + 1.0) / 2.0);
}

static double energy_k_steps(int N0, int np)
{
    return lib_k_steps(N0, np) + np + (double)N0 * np;
}

Test(paths, energy_equals_logdet_and_quadratic_form_of_the_pairwise_kernel)
{
    gsl_rng *r = ac_test_rng(42);
    int ncase = ac_test_cases(60);
    for (int c = 0; c < ncase; c++) {
        ac_paths_settings s;
        rand_settings(r, &s, 3);
        int P = (int)gsl_rng_uniform_int(r, 7), N0 = 1 + (int)gsl_rng_uniform_int(r, 4);
        int np = ac_paths_count(&s);
        double *Phi = rand_vec(r, (size_t)P * N0 * np, 0.7), *Y = rand_labels(r, P);
        double *U1 = malloc(sizeof(double) * (size_t)np * np);
        rand_pd(r, np, U1);
        double *K = malloc(sizeof(double) * ((size_t)P * P + 1));
        ac_paths_kernel(&s, N0, P, Phi, P, Phi, U1, K);
        for (int i = 0; i < P; i++)
            K[i * P + i] += s.T;
        double ref = gsl_logdet_quad(K, Y, P);
        ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
        cr_assert_eq(ac_paths_set_data(w, Phi, Y, NULL), AC_OK);
        double E;
        cr_assert_eq(ac_paths_energy(w, U1, &E, NULL, NULL), AC_OK);
        /* Two routes to ln det(K + T I) + Y^T (K + T I)^{-1} Y, bound
         * derived in energy_route_bound.  Measured at AC_TEST_MULTIPLIER=50:
         * the largest error is 0.20 of it (the 64 (P + 1) cond eps bound
         * used before, its 64 not derived, was 150 times the error). */
        double *Labs = malloc(sizeof(double) * (size_t)np * np);
        double *Pabs = malloc(sizeof(double) * ((size_t)P * N0 * np + 1));
        double *Kabs = malloc(sizeof(double) * ((size_t)P * P + 1));
        abs_chol_product(U1, np, Labs);
        for (int i = 0; i < P * N0 * np; i++)
            Pabs[i] = fabs(Phi[i]);
        ac_paths_kernel(&s, N0, P, Pabs, P, Pabs, Labs, Kabs);
        double tol = energy_route_bound(K, Kabs, Y, P, s.T, energy_k_steps(N0, np), ref, 2, 0.0);
        cr_assert_leq(fabs(E - ref), tol, "seed 42 case %d P %d: %.17g vs %.17g, bound %g", c, P,
                      E, ref, tol);
        ac_paths_free(w);
        free(Phi), free(Y), free(U1), free(K), free(Labs), free(Pabs), free(Kabs);
    }
    gsl_rng_free(r);
}

/* ---- §6 test 6: analytic gradient = finite differences ----------------- */

/* S(U + t E) with E symmetric, for the central difference. */
static double action_along(ac_paths_workspace *w, const double *U, const double *E, double t,
                           size_t n)
{
    double *Ut = malloc(sizeof(double) * n), S;
    for (size_t i = 0; i < n; i++)
        Ut[i] = U[i] + t * E[i];
    cr_assert_eq(ac_paths_action(w, Ut, &S, NULL, NULL, NULL), AC_OK);
    free(Ut);
    return S;
}

Test(paths, gradient_of_action_matches_central_differences)
{
    gsl_rng *r = ac_test_rng(43);
    int ncase = ac_test_cases(80);
    for (int c = 0; c < ncase; c++) {
        ac_paths_settings s;
        rand_settings(r, &s, 3);
        int P = (int)gsl_rng_uniform_int(r, 7), N0 = 1 + (int)gsl_rng_uniform_int(r, 4);
        int np = ac_paths_count(&s);
        size_t nu = ac_paths_u_size(&s);
        double *Phi = rand_vec(r, (size_t)P * N0 * np, 0.7), *Y = rand_labels(r, P);
        double *U = rand_u(r, &s), *G = malloc(sizeof(double) * nu);
        ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
        cr_assert_eq(ac_paths_set_data(w, Phi, Y, NULL), AC_OK);
        double S;
        cr_assert_eq(ac_paths_action(w, U, &S, NULL, G, NULL), AC_OK);
        for (int dir = 0; dir < 3; dir++) {
            /* A random symmetric direction over every layer. */
            double *E = calloc(nu, sizeof(double));
            for (int l = 1; l <= s.L; l++) {
                int d = ac_paths_dim(&s, l);
                double *El = E + ac_paths_u_offset(&s, l);
                for (int j = 0; j < d; j++)
                    for (int k = 0; k <= j; k++)
                        El[j * d + k] = El[k * d + j] = gsl_ran_gaussian(r, 1.0);
            }
            double an = 0.0;
            for (size_t i = 0; i < nu; i++)
                an += G[i] * E[i];
            /* Central differences at h and h/2: each has truncation error
             * h^2 |phi'''| / 6, so |fd(h) - fd(h/2)| = (3/4) h^2 |phi'''|/6
             * estimates fd(h/2)'s own truncation error to within 4/3; the
             * rounding of S (some 64 eps |S| plus 64 eps per unit of width
             * and label, the terms that cancel inside S) divided by h adds
             * to it.  h = 1e-4 keeps U +- h E positive definite
             * (lambda_min(U) >= 0.3, |E| = O(sqrt(D))).  The 64 is not
             * derived: it stands for the rounding steps of S (Choleskies of
             * every U_l and of K + T I, their logs, the trace terms), which
             * the test does not count.  Measured at AC_TEST_MULTIPLIER=50
             * (12000 directions): the truncation term alone covers the
             * difference but for 0.0045 of the rounding term at most; the
             * whole check is used to 0.17. */
            double h = 1e-4;
            double fd1 = (action_along(w, U, E, h, nu) - action_along(w, U, E, -h, nu)) / (2 * h);
            double fd2 = (action_along(w, U, E, h / 2, nu) - action_along(w, U, E, -h / 2, nu)) / h;
            double wsum = P;
            for (int l = 0; l <= s.L; l++)
                wsum += s.n[l] * ac_paths_dim(&s, l < 1 ? 1 : l);
            double round = 64.0 * EPS * (fabs(S) + wsum) / (h / 2);
            double tol = 2.0 * fabs(fd1 - fd2) + 4.0 * round;
            cr_assert_leq(fabs(an - fd2), tol,
                          "seed 43 case %d dir %d: analytic %.12g, differences %.12g (h) %.12g (h/2)",
                          c, dir, an, fd1, fd2);
            free(E);
        }
        ac_paths_free(w);
        free(Phi), free(Y), free(U), free(G);
    }
    gsl_rng_free(r);
}

Test(paths, gradient_of_cholesky_objective_matches_central_differences)
{
    gsl_rng *r = ac_test_rng(44);
    int ncase = ac_test_cases(40);
    for (int c = 0; c < ncase; c++) {
        ac_paths_settings s;
        rand_settings(r, &s, 2);
        int P = (int)gsl_rng_uniform_int(r, 6), N0 = 1 + (int)gsl_rng_uniform_int(r, 3);
        int np = ac_paths_count(&s), nt = ac_paths_theta_size(&s);
        double *Phi = rand_vec(r, (size_t)P * N0 * np, 0.7), *Y = rand_labels(r, P);
        double *U = rand_u(r, &s), *U2 = malloc(sizeof(double) * ac_paths_u_size(&s));
        double *th = malloc(sizeof(double) * nt), *g = malloc(sizeof(double) * nt);
        double *tp = malloc(sizeof(double) * nt), *gs = malloc(sizeof(double) * nt);
        cr_assert_eq(ac_paths_theta_from_u(&s, U, th, NULL), AC_OK);
        /* U -> theta -> U is the identity (Cholesky factors are unique), to
         * rounding: dpotrf's L satisfies L L^T = U + dU1, |dU1| <=
         * gamma_{d+1} |L||L^T| (Higham Thm 10.3); theta keeps ln l_jj and
         * unpack takes exp of it (glibc's log and exp within 1 ulp, 2u
         * each), so l_jj comes back times 1 + e_j, |e_j| <= 2u (|ln l_jj| +
         * 1) = 2u (|theta_jj| + 1); dsyrk re-forms L L^T within gamma_d
         * |L||L^T|; a relative change e_j of l_jj moves (L L^T)_ik by at most
         * 2 max|e| (|L||L^T|)_ik.  With (|L||L^T|)_ik <= sqrt(U_ii U_kk):
         *   |U2 - U|_ik <= (gamma_{2d+1} + 4u (1 + max_j |theta_jj|)) sqrt(U_ii U_kk)
         * to first order, per layer of dimension d.  Measured at
         * AC_TEST_MULTIPLIER=50: the largest error is 0.28 of it (of the 64
         * eps (1 + |U|) H^L used before, its 64 not derived: 0.012). */
        ac_paths_u_from_theta(&s, th, U2);
        for (int l = 1, t = 0; l <= s.L; l++) {
            int d = ac_paths_dim(&s, l);
            const double *Ul = U + ac_paths_u_offset(&s, l), *U2l = U2 + ac_paths_u_offset(&s, l);
            double lmax = 0.0;
            for (int j = 0; j < d; j++)
                for (int k = 0; k <= j; k++, t++)
                    if (k == j)
                        lmax = fmax(lmax, fabs(th[t]));
            double rel = ac_la_gamma(2.0 * d + 1) + 2.0 * EPS * (1.0 + lmax);
            for (int i = 0; i < d; i++)
                for (int k = 0; k < d; k++) {
                    double tol = rel * sqrt(Ul[i * d + i] * Ul[k * d + k]);
                    cr_assert_leq(fabs(U2l[i * d + k] - Ul[i * d + k]), tol,
                                  "seed 44 case %d layer %d (%d,%d): %.17g vs %.17g, bound %g", c,
                                  l, i, k, U2l[i * d + k], Ul[i * d + k], tol);
                }
        }
        ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
        cr_assert_eq(ac_paths_set_data(w, Phi, Y, NULL), AC_OK);
        double f, fp, fm;
        cr_assert_eq(ac_paths_objective(w, th, &f, g), 0);
        for (int k = 0; k < nt; k++) {
            /* Coordinate central differences at h and h/2, tolerance as in
             * the U test; f is S / n_max, so its rounding is 64 eps (|f| +
             * 1) per unit (the 64 not derived, as there).  Measured at
             * AC_TEST_MULTIPLIER=50 (20220 coordinates): beyond the
             * truncation term the difference uses 0.0035 of the rounding
             * term at most; the whole check is used to 0.16. */
            double fd[2], h = 1e-4;
            for (int q = 0; q < 2; q++, h /= 2) {
                memcpy(tp, th, sizeof(double) * nt);
                tp[k] += h;
                ac_paths_objective(w, tp, &fp, gs);
                tp[k] -= 2 * h;
                ac_paths_objective(w, tp, &fm, gs);
                fd[q] = (fp - fm) / (2 * h);
            }
            double tol = 2.0 * fabs(fd[0] - fd[1]) + 4.0 * 64.0 * EPS * (fabs(f) + 4.0) / 5e-5;
            cr_assert_leq(fabs(g[k] - fd[1]), tol, "seed 44 case %d theta %d: %.12g vs %.12g", c, k,
                          g[k], fd[1]);
        }
        ac_paths_free(w);
        free(Phi), free(Y), free(U), free(U2), free(th), free(g), free(tp), free(gs);
    }
    gsl_rng_free(r);
}

/* ---- §6 test 5: a single path ---------------------------------------- */

Test(paths, single_path_energy_and_predictor_depend_on_u_only_as_a_ridge)
{
    gsl_rng *r = ac_test_rng(45);
    int ncase = ac_test_cases(60);
    for (int c = 0; c < ncase; c++) {
        ac_paths_settings s;
        rand_settings(r, &s, 3);
        for (int l = 0; l < s.L; l++)
            s.H[l] = 1;
        int P = (int)gsl_rng_uniform_int(r, 7), N0 = 1 + (int)gsl_rng_uniform_int(r, 4), Pt = 3;
        double *Phi = rand_vec(r, (size_t)P * N0, 0.7), *Y = rand_labels(r, P);
        double *Pht = rand_vec(r, (size_t)Pt * N0, 0.7);
        double u = 0.2 + 3.0 * gsl_rng_uniform(r), one = 1.0;
        /* K = u C, so ln det(uC + T I) = P ln u + ln det(C + (T/u) I) and
         * Y^T (uC + TI)^{-1} Y = (Y/sqrt u)^T (C + (T/u) I)^{-1} (Y/sqrt u);
         * the mean predictor is GP regression with ridge T/u; the variance
         * is u times that of the ridge-T/u problem. */
        ac_paths_settings s1 = s;
        s1.T = s.T / u;
        double *Ys = malloc(sizeof(double) * ((size_t)P + 1));
        for (int i = 0; i < P; i++)
            Ys[i] = Y[i] / sqrt(u);
        ac_paths_workspace *w = ac_paths_alloc(&s, P, N0), *w1 = ac_paths_alloc(&s1, P, N0);
        ac_paths_set_data(w, Phi, Y, NULL);
        ac_paths_set_data(w1, Phi, Ys, NULL);
        double E, E1, m[3], v[3], m1[3], v1[3];
        cr_assert_eq(ac_paths_energy(w, &u, &E, NULL, NULL), AC_OK);
        cr_assert_eq(ac_paths_energy(w1, &one, &E1, NULL, NULL), AC_OK);
        /* Each side is one library route to a value that the identity fixes
         * exactly, so the bound is the sum of two one-route bounds
         * (energy_route_bound, predict_route_bound with sides = 1 and the
         * library's own kernel steps): route 1 on A = u C + T I (its kernel
         * u C, on |Phi| u |Phi|^T), route 2 on A_1 = C + T_1 I with the
         * test's rounded inputs T_1 = fl(T / u) (|dT| <= u T_1 on the
         * diagonal) and Ys = fl(Y / fl(sqrt u)) (relative gamma_2 each: the
         * quadratic form moves by 2 gamma_2 |Ys|^T |A_1^{-1} Ys|); then P ln u
         * (glibc's log within 1 ulp, the product, the sum with E_1: gamma_3
         * |P ln u| + u |P ln u + E_1|), and the test's u v_1 (u |u v_1|).
         * Measured at AC_TEST_MULTIPLIER=50: the largest error is 0.17 of
         * the bound for E, 0.25 for the mean and 0.41 for the variance (of
         * the 64 (P + 1) cond eps bound used before, its 64 not derived:
         * 0.0068, 0.001 and 0.032). */
        double *C = malloc(sizeof(double) * ((size_t)P * P + 1)), *Cabs = malloc(sizeof(double) * ((size_t)P * P + 1));
        double *A1 = malloc(sizeof(double) * ((size_t)P * P + 1)), *A2 = malloc(sizeof(double) * ((size_t)P * P + 1));
        double *K1abs = malloc(sizeof(double) * ((size_t)P * P + 1)), *Pa = malloc(sizeof(double) * ((size_t)P * N0 + 1));
        double *kc = malloc(sizeof(double) * ((size_t)P * Pt + 1)), *kca = malloc(sizeof(double) * ((size_t)P * Pt + 1));
        double *ktt = malloc(sizeof(double) * (size_t)Pt * Pt), *ktta = malloc(sizeof(double) * (size_t)Pt * Pt);
        double *Pta = malloc(sizeof(double) * (size_t)Pt * N0), *k1 = malloc(sizeof(double) * ((size_t)P + 1));
        double *k1a = malloc(sizeof(double) * ((size_t)P + 1)), *k2 = malloc(sizeof(double) * ((size_t)P + 1));
        double *k2a = malloc(sizeof(double) * ((size_t)P + 1));
        for (int i = 0; i < P * N0; i++)
            Pa[i] = fabs(Phi[i]);
        for (int i = 0; i < Pt * N0; i++)
            Pta[i] = fabs(Pht[i]);
        ac_paths_kernel(&s, N0, P, Phi, P, Phi, &one, C);
        ac_paths_kernel(&s, N0, P, Pa, P, Pa, &one, Cabs);
        ac_paths_kernel(&s, N0, P, Phi, Pt, Pht, &one, kc);
        ac_paths_kernel(&s, N0, P, Pa, Pt, Pta, &one, kca);
        ac_paths_kernel(&s, N0, Pt, Pht, Pt, Pht, &one, ktt);
        ac_paths_kernel(&s, N0, Pt, Pta, Pt, Pta, &one, ktta);
        for (int i = 0; i < P * P; i++) {
            A1[i] = u * C[i] + (i % (P + 1) == 0 ? s.T : 0.0);
            A2[i] = C[i] + (i % (P + 1) == 0 ? s1.T : 0.0);
            K1abs[i] = u * Cabs[i];
        }
        double kl = lib_k_steps(N0, 1), ys = 0.0, lnu = P * log(u);
        if (P > 0) { /* |Ys|^T |A_1^{-1} Ys| */
            gsl_matrix *F = gsl_chol(A2, P);
            gsl_vector *x = gsl_chol_solve(F, Ys, P);
            for (int i = 0; i < P; i++)
                ys += fabs(Ys[i]) * fabs(gsl_vector_get(x, (size_t)i));
            gsl_matrix_free(F), gsl_vector_free(x);
        }
        double tol = energy_route_bound(A1, K1abs, Y, P, s.T, kl, E, 1, 0.0) +
                     energy_route_bound(A2, Cabs, Ys, P, s1.T, kl, E1, 1, EPS / 2 * s1.T) +
                     2.0 * ac_la_gamma(2) * ys + ac_la_gamma(3) * fabs(lnu) + EPS / 2 * fabs(lnu + E1);
        cr_assert_leq(fabs(E - (lnu + E1)), tol, "seed 45 case %d: %.17g vs %.17g, bound %g", c, E,
                      lnu + E1, tol);
        ac_paths_set_data(w1, Phi, Y, NULL);
        cr_assert_eq(ac_paths_predict(w, &u, Pt, Pht, m, v, NULL), AC_OK);
        cr_assert_eq(ac_paths_predict(w1, &one, Pt, Pht, m1, v1, NULL), AC_OK);
        for (int t = 0; t < Pt; t++) {
            double bm1, bv1, bm2, bv2;
            for (int i = 0; i < P; i++) {
                k1[i] = u * kc[i * Pt + t], k1a[i] = u * kca[i * Pt + t];
                k2[i] = kc[i * Pt + t], k2a[i] = kca[i * Pt + t];
            }
            predict_route_bound(A1, K1abs, k1, k1a, u * ktt[t * Pt + t], u * ktta[t * Pt + t], Y, P,
                                s.T, kl, 1, 0.0, &bm1, &bv1);
            predict_route_bound(A2, Cabs, k2, k2a, ktt[t * Pt + t], ktta[t * Pt + t], Y, P, s1.T, kl,
                                1, EPS / 2 * s1.T, &bm2, &bv2);
            double bm = bm1 + bm2, bv = bv1 + u * bv2 + EPS / 2 * fabs(u * v1[t]);
            cr_assert_leq(fabs(m[t] - m1[t]), bm, "seed 45 case %d test %d mean: %.17g vs %.17g, "
                          "bound %g", c, t, m[t], m1[t], bm);
            cr_assert_leq(fabs(v[t] - u * v1[t]), bv, "seed 45 case %d test %d var: %.17g vs %.17g, "
                          "bound %g", c, t, v[t], u * v1[t], bv);
        }
        free(C), free(Cabs), free(A1), free(A2), free(K1abs), free(Pa), free(kc), free(kca);
        free(ktt), free(ktta), free(Pta), free(k1), free(k1a), free(k2), free(k2a);
        ac_paths_free(w), ac_paths_free(w1);
        free(Phi), free(Y), free(Pht), free(Ys);
    }
    gsl_rng_free(r);
}

/* ---- Predictor against a direct solve ---------------------------------- */

Test(paths, predictor_equals_direct_gp_regression_with_the_renormalised_kernel)
{
    gsl_rng *r = ac_test_rng(46);
    int ncase = ac_test_cases(40);
    for (int c = 0; c < ncase; c++) {
        ac_paths_settings s;
        rand_settings(r, &s, 2);
        int P = (int)gsl_rng_uniform_int(r, 7), N0 = 1 + (int)gsl_rng_uniform_int(r, 4), Pt = 4;
        int np = ac_paths_count(&s);
        double *Phi = rand_vec(r, (size_t)P * N0 * np, 0.7), *Y = rand_labels(r, P);
        double *Pht = rand_vec(r, (size_t)Pt * N0 * np, 0.7);
        double *U1 = malloc(sizeof(double) * (size_t)np * np);
        rand_pd(r, np, U1);
        double *K = malloc(sizeof(double) * ((size_t)P * P + 1));
        double *k = malloc(sizeof(double) * ((size_t)P * Pt + 1)), kt[16];
        ac_paths_kernel(&s, N0, P, Phi, P, Phi, U1, K);
        ac_paths_kernel(&s, N0, P, Phi, Pt, Pht, U1, k);
        ac_paths_kernel(&s, N0, Pt, Pht, Pt, Pht, U1, kt);
        for (int i = 0; i < P; i++)
            K[i * P + i] += s.T;
        ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
        ac_paths_set_data(w, Phi, Y, NULL);
        double m[4], v[4];
        cr_assert_eq(ac_paths_predict(w, U1, Pt, Pht, m, v, NULL), AC_OK);
        gsl_matrix *M = gsl_matrix_alloc((size_t)P + 1, (size_t)P + 1);
        /* the bound's ingredients: the kernels on |Phi|, |Phi_t|, |L_1||L_1|^T */
        double *Labs = malloc(sizeof(double) * (size_t)np * np), ktabs[16];
        double *Pabs = malloc(sizeof(double) * ((size_t)P * N0 * np + 1));
        double *Ptabs = malloc(sizeof(double) * ((size_t)Pt * N0 * np + 1));
        double *Kabs = malloc(sizeof(double) * ((size_t)P * P + 1));
        double *kabs = malloc(sizeof(double) * ((size_t)P * Pt + 1));
        double *kc = malloc(sizeof(double) * ((size_t)P + 1)), *kac = malloc(sizeof(double) * ((size_t)P + 1));
        abs_chol_product(U1, np, Labs);
        for (int i = 0; i < P * N0 * np; i++)
            Pabs[i] = fabs(Phi[i]);
        for (int i = 0; i < Pt * N0 * np; i++)
            Ptabs[i] = fabs(Pht[i]);
        ac_paths_kernel(&s, N0, P, Pabs, P, Pabs, Labs, Kabs);
        ac_paths_kernel(&s, N0, P, Pabs, Pt, Ptabs, Labs, kabs);
        ac_paths_kernel(&s, N0, Pt, Ptabs, Pt, Ptabs, Labs, ktabs);
        for (int t = 0; t < Pt; t++) {
            double mref = 0.0, vref = kt[t * Pt + t];
            if (P > 0) {
                gsl_matrix_view Mv = gsl_matrix_submatrix(M, 0, 0, (size_t)P, (size_t)P);
                gsl_vector *x = gsl_vector_alloc((size_t)P), *b = gsl_vector_alloc((size_t)P);
                for (int i = 0; i < P; i++) {
                    gsl_vector_set(b, (size_t)i, k[i * Pt + t]);
                    for (int j = 0; j < P; j++)
                        gsl_matrix_set(&Mv.matrix, (size_t)i, (size_t)j, K[i * P + j]);
                }
                gsl_linalg_cholesky_decomp1(&Mv.matrix);
                gsl_linalg_cholesky_solve(&Mv.matrix, b, x);
                for (int i = 0; i < P; i++) {
                    mref += Y[i] * gsl_vector_get(x, (size_t)i);
                    vref -= k[i * Pt + t] * gsl_vector_get(x, (size_t)i);
                }
                gsl_vector_free(x), gsl_vector_free(b);
            }
            /* Two routes to the mean and variance, bounds derived in
             * predict_route_bound.  Measured at AC_TEST_MULTIPLIER=50: the
             * largest error is 0.28 of the mean's bound and 0.48 of the
             * variance's (of the 64 (P + 1) cond eps bound used before, its
             * 64 not derived: 0.0019 and 0.051).  The exact variance is >= 0,
             * so the library's is >= -bv. */
            double bm, bv;
            for (int i = 0; i < P; i++)
                kc[i] = k[i * Pt + t], kac[i] = kabs[i * Pt + t];
            predict_route_bound(K, Kabs, kc, kac, kt[t * Pt + t], ktabs[t * Pt + t], Y, P, s.T,
                                energy_k_steps(N0, np), 2, 0.0, &bm, &bv);
            cr_assert_leq(fabs(m[t] - mref), bm, "seed 46 case %d mean %d: %.17g vs %.17g, bound %g",
                          c, t, m[t], mref, bm);
            cr_assert_leq(fabs(v[t] - vref), bv, "seed 46 case %d var %d: %.17g vs %.17g, bound %g",
                          c, t, v[t], vref, bv);
            cr_assert_geq(v[t], -bv, "variance below zero");
        }
        gsl_matrix_free(M);
        free(Labs), free(Pabs), free(Ptabs), free(Kabs), free(kabs), free(kc), free(kac);
        ac_paths_free(w);
        free(Phi), free(Y), free(Pht), free(U1), free(K), free(k);
    }
    gsl_rng_free(r);
}

/* ---- §6 test 2: the U_a closed form is the 1-D minimiser ---------------- */

typedef struct {
    double Na, nL, HL, sa, sL, tr;
} ua_fn_t;

/* The part of S that depends on U_a (§3.2). */
static double ua_part(double a, void *p)
{
    const ua_fn_t *q = p;
    return q->Na * (a / q->sa - log(a)) + q->nL * (q->tr / (q->sL * a) + q->HL * log(a));
}

/* The bound on f'(a) = t1 - t2 - t3 + t4 at the computed a = ac_paths_ua
 * (t1 = Na/sa, t2 = Na/a, t3 = nL tr/(sL a^2), t4 = nL HL/a), where the
 * exact root has f' = 0.  Since f'(a) = (Na/(sa a^2)) g(a), g(a) = a^2 +
 * beta a - gamma (§3.2), an error da of a gives g = (2a + beta) da, and
 * errors dbeta, dgamma of the coefficients da = -(a dbeta - dgamma) /
 * (2a + beta).  Mapped back through Na/(sa a^2):
 *   beta = sa (HL nL/Na - 1) in 4 roundings: |dbeta| <= gamma_4 sa HL nL/Na
 *     + gamma_2 sa, i.e. gamma_4 t4 + gamma_2 t2;
 *   gamma = nL sa tr/(Na sL) in 4: gamma_4 t3;
 *   the root sqrt(beta^2 + 4 gamma) (3) and the form without cancellation
 *     (2) leave a within gamma_5 a of the root of the rounded coefficients
 *     (either branch), and (Na/(sa a^2)) (2a + beta) a = 2 t1 + t4 - t2:
 *     gamma_5 (2 t1 + t2 + t4);
 *   the test's evaluation: t1, t2 one rounding, t3 four, t4 two, then the
 *     three additions left to right (t1, t2 through 3, t3 through 2, t4
 *     through 1): gamma_4 t1 + gamma_4 t2 + gamma_6 t3 + gamma_3 t4.
 * Summed per term: gamma_14 t1 + gamma_11 t2 + gamma_10 t3 + gamma_12 t4
 * (the 8 eps used before is gamma_16).  Measured at AC_TEST_MULTIPLIER=50:
 * |f'| at most 0.22 of it; Brent's |x - a| at most 0.34 of its tolerance
 * below with delta = gamma_6 (was 8 eps = gamma_16). */
static double ua_fprime_bound(double t1, double t2, double t3, double t4)
{
    return ac_la_gamma(14) * t1 + ac_la_gamma(11) * t2 + ac_la_gamma(10) * t3 + ac_la_gamma(12) * t4;
}

Test(paths, ua_closed_form_is_the_one_dimensional_minimiser)
{
    gsl_rng *r = ac_test_rng(47);
    int ncase = ac_test_cases(200), neg = 0, pos = 0;
    gsl_min_fminimizer *m = gsl_min_fminimizer_alloc(gsl_min_fminimizer_brent);
    for (int c = 0; c < ncase; c++) {
        ac_paths_settings s;
        rand_settings(r, &s, 3);
        int L = s.L;
        ua_fn_t q = {s.n[L], s.n[L - 1], s.H[L - 1], s.sigma2_a, s.sigma2[L],
                     0.1 + 5.0 * gsl_rng_uniform(r)};
        double a = ac_paths_ua(&s, q.tr);
        double beta = s.sigma2_a * (q.HL * q.nL / q.Na - 1.0);
        neg += beta < 0, pos += beta > 0;
        /* f'(a) = t1 - t2 - t3 + t4 = 0 to rounding (ua_fprime_bound). */
        double t1 = q.Na / q.sa, t2 = q.Na / a, t3 = q.nL * q.tr / (q.sL * a * a), t4 = q.nL * q.HL / a;
        double fb = ua_fprime_bound(t1, t2, t3, t4);
        cr_assert_leq(fabs(t1 - t2 - t3 + t4), fb, "seed 47 case %d: f'(U_a) = %g", c, t1 - t2 - t3 + t4);
        /* Brent's method on f over [a/8, 8a].  It locates the minimum only
         * to where f is flat to rounding: |x - a| <= sqrt(2 delta / f''),
         * delta the rounding of f; twice that, plus the bracket it stops
         * at (1e-12 relative).  delta: ua_part's terms pass through at
         * most 6 roundings (nL HL log a: log within an ulp, 2; the product,
         * the sum in the bracket, the factor nL, the final sum), so
         * delta = gamma_6 sum|terms of f|. */
        gsl_function F = {ua_part, &q};
        cr_assert_eq(gsl_min_fminimizer_set(m, &F, a * (1.0 + 0.3 * gsl_rng_uniform(r)), a / 8, 8 * a), 0,
                     "seed 47 case %d: closed form does not bracket a minimum", c);
        for (int it = 0; it < 200; it++) {
            gsl_min_fminimizer_iterate(m);
            if (gsl_min_test_interval(gsl_min_fminimizer_x_lower(m), gsl_min_fminimizer_x_upper(m),
                                      0.0, 1e-12) == GSL_SUCCESS)
                break;
        }
        double x = gsl_min_fminimizer_x_minimum(m);
        double f2 = q.Na / (a * a) + 2.0 * q.nL * q.tr / (q.sL * a * a * a) - q.nL * q.HL / (a * a);
        double delta = ac_la_gamma(6) * (q.Na * (a / q.sa + fabs(log(a))) +
                                 q.nL * (q.tr / (q.sL * a) + q.HL * fabs(log(a))));
        double tol = 2.0 * sqrt(2.0 * delta / f2) + 1e-12 * a;
        cr_assert_leq(fabs(x - a), tol, "seed 47 case %d: Brent %.17g, closed form %.17g", c, x, a);
    }
    cr_assert(neg > 0 && pos > 0, "both signs of beta: %d %d", neg, pos);
    gsl_min_fminimizer_free(m);
    gsl_rng_free(r);
}

/* ---- §6 test 1 and §3.4: the GP limit ----------------------------------- */

Test(paths, gp_values_are_the_stationary_point_of_the_entropy)
{
    gsl_rng *r = ac_test_rng(48);
    int ncase = ac_test_cases(100);
    for (int c = 0; c < ncase; c++) {
        ac_paths_settings s;
        rand_settings(r, &s, 3);
        size_t nu = ac_paths_u_size(&s);
        double *U = malloc(sizeof(double) * nu), *G = malloc(sizeof(double) * nu);
        ac_paths_gp_u(&s, U);
        ac_paths_workspace *w = ac_paths_alloc(&s, 0, 1);
        double S, Ua;
        cr_assert_eq(ac_paths_entropy(w, U, &S, &Ua, G, NULL), AC_OK);
        cr_assert_leq(fabs(Ua - s.sigma2_a), 8.0 * EPS * s.sigma2_a, "seed 48 case %d", c);
        /* Each entry of G is a sum of terms n (a - b) with a = b = n/c_l in
         * exact arithmetic: 16 eps (n_{l-2} + n_{l-1}) (H + 2) / c_l. */
        for (int l = 1; l <= s.L; l++) {
            int d = ac_paths_dim(&s, l);
            double cl = U[ac_paths_u_offset(&s, l)];
            double tol = 16.0 * EPS * (s.n[l - 1] + (l > 1 ? s.n[l - 2] : 0.0)) * (s.H[l - 1] + 2.0) / cl;
            for (int j = 0; j < d * d; j++)
                cr_assert_leq(fabs(G[ac_paths_u_offset(&s, l) + j]), tol,
                              "seed 48 case %d layer %d entry %d: %g", c, l, j,
                              G[ac_paths_u_offset(&s, l) + j]);
        }
        ac_paths_free(w);
        free(U), free(G);
    }
    gsl_rng_free(r);
}

/* Solve at widths all N and return max|U_1 - U_1^GP| and max|mean - mean_GP|. */
static void gp_deviation(const ac_paths_settings *s0, double N, int P, int N0, const double *Phi,
                         const double *Y, int Pt, const double *Pht, double *du, double *dm)
{
    ac_paths_settings s = *s0;
    for (int l = 0; l <= s.L; l++)
        s.n[l] = N;
    int np = ac_paths_count(&s);
    size_t nu = ac_paths_u_size(&s);
    double *U = malloc(sizeof(double) * nu), *Ug = malloc(sizeof(double) * nu);
    ac_paths_gp_u(&s, Ug);
    memcpy(U, Ug, sizeof(double) * nu);
    ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
    ac_paths_set_data(w, Phi, Y, NULL);
    ac_min_settings ms;
    ac_min_settings_default(&ms);
    ms.eps_grad = 1e-13;
    ac_paths_info info;
    cr_assert_eq(ac_paths_solve(w, &ms, U, &info, NULL), AC_OK);
    cr_assert_eq(info.min.status, AC_MIN_CONVERGED, "N %g: %s |g| %g", N,
                 ac_min_status_str(info.min.status), info.min.grad_norm);
    double m[8], mg[8];
    ac_paths_predict(w, U, Pt, Pht, m, NULL, NULL);
    ac_paths_predict(w, Ug, Pt, Pht, mg, NULL, NULL);
    *du = 0.0, *dm = 0.0;
    for (int j = 0; j < np * np; j++)
        *du = fmax(*du, fabs(U[j] - Ug[j]));
    for (int t = 0; t < Pt; t++)
        *dm = fmax(*dm, fabs(m[t] - mg[t]));
    ac_paths_free(w);
    free(U), free(Ug);
}

Test(paths, gp_limit_is_reached_at_rate_one_over_width)
{
    gsl_rng *r = ac_test_rng(49);
    int ncase = ac_test_cases(6);
    for (int c = 0; c < ncase; c++) {
        ac_paths_settings s;
        rand_settings(r, &s, 2);
        int P = 2 + (int)gsl_rng_uniform_int(r, 4), N0 = 2, Pt = 3, np = ac_paths_count(&s);
        double *Phi = rand_vec(r, (size_t)P * N0 * np, 0.7), *Y = rand_labels(r, P);
        double *Pht = rand_vec(r, (size_t)Pt * N0 * np, 0.7);
        /* At GP values the kernel is K_GP = prod sigma^2 sigma_a^2 sum_pi
         * Phi_pi Phi_pi^T H^L ... / H^L: the predictor there is GP
         * regression with K_GP, checked in
         * predictor_equals_direct_gp_regression...; here U_1 - U_GP and the
         * predictor's move are O(alpha) = O(P/N): their product with N
         * tends to a constant, so at N and 10 N they differ by a factor
         * 10 (1 +- O(P/N) + the solver's error, eps_grad N / curvature):
         * within 10 %. */
        double du1, dm1, du2, dm2;
        gp_deviation(&s, 1e5, P, N0, Phi, Y, Pt, Pht, &du1, &dm1);
        gp_deviation(&s, 1e6, P, N0, Phi, Y, Pt, Pht, &du2, &dm2);
        cr_assert_gt(du1, 0.0);
        cr_assert(du1 / du2 > 9.0 && du1 / du2 < 11.0, "seed 49 case %d: U moves %g, %g", c, du1, du2);
        cr_assert(dm1 / dm2 > 9.0 && dm1 / dm2 < 11.0, "seed 49 case %d: mean moves %g, %g", c, dm1,
                  dm2);
        free(Phi), free(Y), free(Pht);
    }
    gsl_rng_free(r);
}

/* ---- §6 test 3: one layer, one head ------------------------------------ */

Test(paths, one_layer_one_head_solver_equals_one_dimensional_root)
{
    gsl_rng *r = ac_test_rng(50);
    int ncase = ac_test_cases(40);
    for (int c = 0; c < ncase; c++) {
        ac_paths_settings s;
        rand_settings(r, &s, 1);
        s.L = 1, s.H[0] = 1;
        s.T = 0.01 + gsl_rng_uniform(r);
        int P = 1 + (int)gsl_rng_uniform_int(r, 5), N0 = P + 2;
        double *Phi = rand_vec(r, (size_t)P * N0, 0.7), *Y = rand_labels(r, P);
        ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
        ac_paths_set_data(w, Phi, Y, NULL);
        double u1d, U;
        cr_assert_eq(ac_paths_one_path_u(w, &u1d, NULL), AC_OK);
        ac_paths_gp_u(&s, &U);
        ac_min_settings ms;
        ac_min_settings_default(&ms);
        ms.eps_grad = 1e-11;
        ac_paths_info info;
        cr_assert_eq(ac_paths_solve(w, &ms, &U, &info, NULL), AC_OK);
        cr_assert_eq(info.min.status, AC_MIN_CONVERGED, "seed 50 case %d: %s", c,
                     ac_min_status_str(info.min.status));
        /* theta = ln sqrt(u): |delta theta| <= |g| / f''(theta), f'' from a
         * central difference of g (h = 1e-4, relative error O(h^2)); u
         * moves by 2 u delta theta.  Twice that, plus the rounding of g
         * (1e3 eps relative to n_0 / n_max = O(1)) over f''. */
        double th = 0.5 * log(U), gp, gm, fv;
        double tp = th + 1e-4, tm = th - 1e-4;
        ac_paths_objective(w, &tp, &fv, &gp);
        ac_paths_objective(w, &tm, &fv, &gm);
        double curv = (gp - gm) / 2e-4;
        cr_assert_gt(curv, 0.0);
        double tol = 2.0 * 2.0 * U * (info.min.grad_norm + 1e3 * EPS) / curv;
        cr_assert_leq(fabs(U - u1d), tol, "seed 50 case %d: solver %.17g, root %.17g", c, U, u1d);
        ac_paths_free(w);
        free(Phi), free(Y);
    }
    gsl_rng_free(r);
}

Test(paths, one_layer_one_head_tends_to_the_cubic_as_temperature_vanishes)
{
    gsl_rng *r = ac_test_rng(51);
    int ncase = ac_test_cases(20);
    for (int c = 0; c < ncase; c++) {
        int P = 2 + (int)gsl_rng_uniform_int(r, 5), N0 = P + 3;
        double N = P * (1.2 + 20.0 * gsl_rng_uniform(r)); /* alpha in (0.05, 0.8) */
        ac_paths_settings s;
        ac_paths_settings_default(&s);
        s.n[0] = s.n[1] = N;
        double *Phi = rand_vec(r, (size_t)P * N0, 0.7), *Y = rand_labels(r, P);
        /* r = Y^T C^{-1} Y with C = Phi Phi^T, by GSL. */
        double *C = malloc(sizeof(double) * (size_t)P * P);
        for (int a = 0; a < P; a++)
            for (int b = 0; b < P; b++) {
                double acc = 0.0;
                for (int i = 0; i < N0; i++)
                    acc += Phi[a * N0 + i] * Phi[b * N0 + i];
                C[a * P + b] = acc;
            }
        double ldq = gsl_logdet_quad(C, Y, P), ld0 = 0.0;
        double *Z = calloc((size_t)P, sizeof(double));
        ld0 = gsl_logdet_quad(C, Z, P);
        double rr = ldq - ld0;
        double u0 = ac_paths_one_path_u_t0(P / N, rr / N);
        cr_assert(u0 > 0.0);
        /* u^{3/2} = (1 - alpha) u + r/N holds at u0 to rounding. */
        cr_assert_leq(fabs(pow(u0, 1.5) - (1.0 - P / N) * u0 - rr / N),
                      16.0 * EPS * (pow(u0, 1.5) + u0 + rr / N));
        /* At T > 0 the root moves by O(T) (the energy's T-derivative is
         * bounded when C is invertible): the error shrinks 10-fold per
         * decade of T, within 30 % once T lambda_min(C)^{-1} is small. */
        double err[3], T = 1e-5;
        for (int k = 0; k < 3; k++, T /= 10) {
            s.T = T;
            ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
            ac_paths_set_data(w, Phi, Y, NULL);
            double u;
            cr_assert_eq(ac_paths_one_path_u(w, &u, NULL), AC_OK);
            err[k] = fabs(u - u0);
            ac_paths_free(w);
        }
        cr_assert(err[0] / err[1] > 7.0 && err[0] / err[1] < 13.0, "seed 51 case %d: %g %g %g", c,
                  err[0], err[1], err[2]);
        cr_assert(err[1] / err[2] > 7.0 && err[1] / err[2] < 13.0, "seed 51 case %d: %g %g %g", c,
                  err[0], err[1], err[2]);
        free(Phi), free(Y), free(C), free(Z);
    }
    gsl_rng_free(r);
}

/* ---- Head scores ------------------------------------------------------- */

Test(paths, head_scores_on_constructed_order_parameters)
{
    ac_paths_settings s;
    ac_paths_settings_default(&s);
    s.L = 2, s.H[0] = 3, s.H[1] = 2;
    int np = 6, nh = 5;
    double U[36], sc[5];
    /* All entries 1.7312: every head of a layer covers the same number of
     * entries; layer l's head covers np^2 - (np - np/H_l)^2 of them, so
     * layer 2 (H = 2: 36 - 9 = 27) beats layer 1 (H = 3: 36 - 16 = 20). */
    for (int j = 0; j < 36; j++)
        U[j] = 1.7312;
    ac_paths_head_scores(&s, U, sc);
    for (int h = 0; h < 3; h++)
        cr_assert_leq(fabs(sc[h] - 20.0 / 27.0), 4 * EPS);
    for (int h = 3; h < nh; h++)
        cr_assert_eq(sc[h], 1.0);
    /* Only path (h_1, h_2) = (2, 1), index 2*2 + 1 = 5, on the diagonal:
     * head 2 of layer 1 and head 1 of layer 2 score 1, the others 0. */
    memset(U, 0, sizeof U);
    U[5 * np + 5] = -2.5;
    ac_paths_head_scores(&s, U, sc);
    double want[5] = {0, 0, 1, 0, 1};
    for (int h = 0; h < nh; h++)
        cr_assert_eq(sc[h], want[h], "head %d", h);
    memset(U, 0, sizeof U);
    ac_paths_head_scores(&s, U, sc);
    for (int h = 0; h < nh; h++)
        cr_assert_eq(sc[h], 0.0);
}

/* ---- Failure paths ----------------------------------------------------- */

Test(paths, not_positive_definite_and_non_finite_inputs_are_reported)
{
    gsl_rng *r = ac_test_rng(52);
    ac_paths_settings s;
    ac_paths_settings_default(&s);
    s.L = 2, s.H[0] = 2, s.H[1] = 2, s.T = 0.01;
    int P = 3, N0 = 2, np = 4;
    double *Phi = rand_vec(r, (size_t)P * N0 * np, 0.7), *Y = rand_labels(r, P);
    ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
    ac_msg msg;
    double S, E;
    /* Energy before data. */
    double *U = rand_u(r, &s);
    cr_assert_eq(ac_paths_energy(w, U, &E, NULL, &msg), AC_EINVAL);
    /* A non-finite path tensor entry or label. */
    Phi[5] = NAN;
    cr_assert_eq(ac_paths_set_data(w, Phi, Y, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "entry 5") != NULL, "%s", msg.text);
    Phi[5] = 0.3;
    Y[2] = INFINITY;
    cr_assert_eq(ac_paths_set_data(w, Phi, Y, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "label 2") != NULL, "%s", msg.text);
    Y[2] = 1.0;
    cr_assert_eq(ac_paths_set_data(w, Phi, Y, &msg), AC_OK);
    /* U_2 with a negative eigenvalue: det < 0 is caught, and so is an even
     * number of negative eigenvalues (det > 0), which a log-determinant
     * alone would pass (spec §3.5). */
    double *U2 = U + ac_paths_u_offset(&s, 2);
    double keep[4];
    memcpy(keep, U2, sizeof keep);
    U2[0] = -U2[0], U2[3] = -U2[3], U2[1] = U2[2] = 0.0;
    cr_assert_eq(ac_paths_action(w, U, &S, NULL, NULL, &msg), AC_ENUMERIC);
    cr_assert(strstr(msg.text, "U_2") != NULL, "%s", msg.text);
    cr_assert_eq(ac_paths_last_numeric(w), AC_PATHS_NUMERIC_U);
    memcpy(U2, keep, sizeof keep);
    cr_assert_eq(ac_paths_action(w, U, &S, NULL, NULL, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_paths_last_numeric(w), AC_PATHS_NUMERIC_NONE, "a call that factored clears the cause");
    U[0] = -1.7312;
    cr_assert_eq(ac_paths_energy(w, U, &E, NULL, &msg), AC_ENUMERIC);
    cr_assert(strstr(msg.text, "U_1") != NULL, "%s", msg.text);
    cr_assert_eq(ac_paths_last_numeric(w), AC_PATHS_NUMERIC_U);
    double Uc[20];
    memcpy(Uc, U, sizeof(double) * ac_paths_u_size(&s));
    ac_paths_info info;
    cr_assert_eq(ac_paths_solve(w, NULL, Uc, &info, &msg), AC_ENUMERIC);
    cr_assert_eq(ac_paths_last_numeric(w), AC_PATHS_NUMERIC_U);
    /* Two equal examples (one path, N0 = 2) make K = [1 1; 1 1] singular;
     * at T = 1e-320, 1 + T rounds to 1, so dpotrf's second pivot is exactly
     * 0: indefinite, not overflow. */
    {
        ac_paths_settings st;
        ac_paths_settings_default(&st);
        st.L = 1, st.H[0] = 1, st.T = 1e-320;
        double Pd[4] = {1, 0, 1, 0}, Yd[2] = {1, -1}, Ud[1] = {1};
        ac_paths_workspace *wd = ac_paths_alloc(&st, 2, 2);
        cr_assert_eq(ac_paths_set_data(wd, Pd, Yd, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(ac_paths_energy(wd, Ud, &E, NULL, &msg), AC_ENUMERIC, "E = %g", E);
        cr_assert(strstr(msg.text, "not positive definite"), "%s", msg.text);
        cr_assert_eq(ac_paths_last_numeric(wd), AC_PATHS_NUMERIC_K_INDEFINITE);
        ac_paths_free(wd);
    }
    /* Finite inputs whose kernel overflows: K + T I holds infinities, which
     * the factorisation turns into infinities and NaNs on its diagonal
     * (theory/paths.c factor scans it there, LAPACK's dpotrf does not). */
    double *Big = malloc(sizeof(double) * (size_t)P * N0 * np);
    for (int j = 0; j < P * N0 * np; j++)
        Big[j] = 1e160 * Phi[j];
    ac_paths_workspace *wb = ac_paths_alloc(&s, P, N0);
    cr_assert_eq(ac_paths_set_data(wb, Big, Y, &msg), AC_OK, "%s", msg.text);
    double *Ug = rand_u(r, &s);
    cr_assert_eq(ac_paths_energy(wb, Ug, &E, NULL, &msg), AC_ENUMERIC, "E = %g", E);
    cr_assert(strstr(msg.text, "K + T I") && strstr(msg.text, "not finite"), "%s", msg.text);
    cr_assert_eq(ac_paths_last_numeric(wb), AC_PATHS_NUMERIC_K_NOT_FINITE);
    ac_paths_free(wb);
    free(Big), free(Ug);
    /* The path tensor rejects NaN inputs and sizes that do not fit. */
    double X[4] = {1, 2, 3, NAN}, Om[4 * 4] = {0}, rv[1] = {1};
    double out[16];
    cr_assert_eq(ac_paths_phi(&s, 1, 4, 1, X, Om, rv, out, &msg), AC_EINVAL);
    cr_assert_eq(ac_paths_phi(&s, 1, 0, 1, X, Om, rv, out, &msg), AC_EINVAL);
    /* The one-path form refuses a network with more paths. */
    double u;
    cr_assert_eq(ac_paths_one_path_u(w, &u, &msg), AC_EINVAL);
    ac_paths_free(w);
    free(Phi), free(Y), free(U);
    gsl_rng_free(r);
}

/* ---- The solver's end point satisfies the fixed-point form (§3.6) ------- */

/* Inverse of the d x d SPD A into X by GSL (a route apart from LAPACKE). */
static void gsl_spd_inverse(const double *A, int d, double *X)
{
    gsl_matrix *M = gsl_chol(A, d);
    gsl_linalg_cholesky_invert(M);
    for (int i = 0; i < d * d; i++)
        X[i] = M->data[i];
    gsl_matrix_free(M);
}

Test(paths, solver_end_point_satisfies_the_fixed_point_form)
{
    gsl_rng *r = ac_test_rng(53);
    int ncase = ac_test_cases(12);
    for (int c = 0; c < ncase; c++) {
        ac_paths_settings s;
        rand_settings(r, &s, 2);
        s.L = 2;
        s.H[0] = 1 + (int)gsl_rng_uniform_int(r, 2), s.H[1] = 2;
        int P = 3 + (int)gsl_rng_uniform_int(r, 6), N0 = 3, np = ac_paths_count(&s), d2 = 2;
        double *Phi = rand_vec(r, (size_t)P * N0 * np, 0.7), *Y = rand_labels(r, P);
        size_t nu = ac_paths_u_size(&s);
        double *U = malloc(sizeof(double) * nu);
        ac_paths_gp_u(&s, U);
        ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
        ac_paths_set_data(w, Phi, Y, NULL);
        ac_min_settings ms;
        ac_min_settings_default(&ms);
        ms.eps_grad = 1e-10;
        ac_paths_info info;
        cr_assert_eq(ac_paths_solve(w, &ms, U, &info, NULL), AC_OK);
        cr_assert_eq(info.min.status, AC_MIN_CONVERGED, "seed 53 case %d: %s |g| %g", c,
                     ac_min_status_str(info.min.status), info.min.grad_norm);
        /* U_1^{-1} = (I_{H_1} (x) U_2^{-1}) / sigma_1^2 + (M - B) / n_0 at a
         * stationary point.  The residual is -G_1 / n_0, and the theta
         * gradient is 2 G_1 L_1 / n_max (diagonal times L_jj), so |G_1| <=
         * n_max |g|_inf np |L_1^{-1}|_max max(1, 1/min L_jj) / 2; 4x that
         * plus the rounding of the three terms (1e3 eps of their size). */
        double *I1 = malloc(sizeof(double) * np * np), *I2 = malloc(sizeof(double) * d2 * d2);
        double *MB = malloc(sizeof(double) * np * np), E;
        gsl_spd_inverse(U, np, I1);
        gsl_spd_inverse(U + ac_paths_u_offset(&s, 2), d2, I2);
        cr_assert_eq(ac_paths_energy(w, U, &E, MB, NULL), AC_OK);
        /* L_1 and its inverse, by GSL. */
        gsl_matrix *Lm = gsl_matrix_alloc((size_t)np, (size_t)np);
        for (int i = 0; i < np * np; i++)
            Lm->data[i] = U[i];
        gsl_linalg_cholesky_decomp1(Lm);
        double lmin = INFINITY;
        for (int j = 0; j < np; j++)
            lmin = fmin(lmin, gsl_matrix_get(Lm, (size_t)j, (size_t)j));
        for (int j = 0; j < np; j++)
            for (int k = j + 1; k < np; k++)
                gsl_matrix_set(Lm, (size_t)j, (size_t)k, 0.0);
        gsl_linalg_tri_lower_invert(Lm);
        double linv = 0.0, scale = 0.0;
        for (int j = 0; j < np; j++)
            for (int k = 0; k <= j; k++)
                linv = fmax(linv, fabs(gsl_matrix_get(Lm, (size_t)j, (size_t)k)));
        double tol = 4.0 * info.n_max * info.min.grad_norm * np * linv * fmax(1.0, 1.0 / lmin) /
                     (2.0 * s.n[0]);
        for (int j = 0; j < np * np; j++)
            scale = fmax(scale, fabs(I1[j]) + fabs(MB[j]) / s.n[0]);
        tol += 1e3 * EPS * scale;
        for (int j = 0; j < np; j++)
            for (int k = 0; k < np; k++) {
                double kron = (j / d2 == k / d2) ? I2[(j % d2) * d2 + k % d2] : 0.0;
                double res = I1[j * np + k] - kron / s.sigma2[1] - MB[j * np + k] / s.n[0];
                cr_assert_leq(fabs(res), tol, "seed 53 case %d entry (%d,%d): residual %g, tol %g",
                              c, j, k, res, tol);
            }
        gsl_matrix_free(Lm);
        ac_paths_free(w);
        free(Phi), free(Y), free(U), free(I1), free(I2), free(MB);
    }
    gsl_rng_free(r);
}

/* ---- The two gradient routes (theory/paths.h ac_paths_grad_route) ------- */

/* Householder QR/LQ's gamma~_n = c n u (Higham Thm 19.4, 19.13: the
 * backward error of the factorisation and the distance of the formed Q
 * from an exactly orthonormal one).  Higham's c is "a small integer
 * constant" that his theorems leave unnamed (it depends on how the
 * Householder vectors are formed and applied, here by LAPACK's dgelqf and
 * dorglq), so it cannot be derived from them: 8 stands for it.  Measured
 * at AC_TEST_MULTIPLIER=50 (29339 entries): the largest difference is
 * 0.064 of the whole bound below, and 0.42 of the bound with the
 * Householder terms left out (c = 0), so on these cases the difference
 * never needed those terms and the test cannot measure c either.  Left at
 * 8. */
#define HOUSEHOLDER_C 8.0

/* The energy gradient by the COMPRESSED route equals the DIRECT one to a
 * bound derived from both computations, on random tasks with P < m and
 * P > m (m = N0 H^L), and the energy is bit-for-bit the same (one code path
 * up to M).  With A = K + T I = L L^T (the same computed L in both routes),
 * Z = L^{-1} Phi, z_a = |Z_a|_F, z^2 = |Z|_F^2, c_L = | |L^{-1}| |L| |_F,
 * r = min(P, m), to first order in u:
 *   DIRECT: each column of Z solves (L + dL) z = phi, |dL| <= g_P |L|
 *     (Higham Thm 8.5), so |dz| <= g_P c_L |z|; M_ab sums P N0 products:
 *     (2 g_P c_L + g_{P N0}) z_a z_b.
 *   COMPRESSED: (i) the LQ's backward error dPhi, |dPhi|_F <= g~_{mr}
 *     |Phi|_F, enters tr[A^{-1} dPhi_a Phi_b^T] <= |L^{-1}|_2 |dPhi|_F z_b,
 *     |L^{-1}|_2 <= 1/sqrt(T) since A >= T I: g~ |Phi|_F (z_a + z_b)/sqrt T;
 *     (ii) Q's distance from orthonormal, |tr W dM| <= tr W |dM|_2 with
 *     tr W = |Y|_F^2 = z^2: 2 sqrt(r) g~ z^2; (iii) the solve for Y as
 *     above, through W = Y^T Y and |M_ab|_2 <= 1: 2 g_P c_L z^2; (iv) W's
 *     inner products of length <= P: g_P |M_ab|_F z^2 <= g_P sqrt(r) z^2;
 *     (v) M_ab's inner products of length N0: g_N0 |Q_a|_F |Q_b|_F z^2 <=
 *     g_N0 r z^2; (vi) <W, S_ab> over r(r+1)/2 terms, |S_ab|_F <=
 *     2 sqrt(r): 2 g_{r(r+1)/2} sqrt(r) z^2.
 *   Both subtract B (the same b = Phi^T v): u (|G_ab| + 2|B_ab|) each. */
Test(paths, compressed_gradient_route_equals_the_direct_one_to_rounding)
{
    gsl_rng *r = ac_test_rng(54);
    int ncase = ac_test_cases(24);
    for (int c = 0; c < ncase; c++) {
        ac_paths_settings s;
        rand_settings(r, &s, 3);
        int np = ac_paths_count(&s), N0 = 1 + (int)gsl_rng_uniform_int(r, 6), m = N0 * np;
        /* even cases P < m (r = P), odd cases P > m (r = m) */
        int P = c % 2 == 0 ? (m > 2 ? 1 + (int)gsl_rng_uniform_int(r, (unsigned long)(m - 1)) : 1)
                           : m + 1 + (int)gsl_rng_uniform_int(r, 12);
        if (c % 2 == 0 && P >= m)
            continue; /* m = 1: no P below it */
        double *Phi = rand_vec(r, (size_t)P * m, 0.7), *Y = rand_labels(r, P);
        double *U1 = malloc(sizeof(double) * (size_t)np * np);
        rand_pd(r, np, U1);
        ac_paths_workspace *wd = ac_paths_alloc_route(&s, P, N0, AC_PATHS_GRAD_DIRECT);
        ac_paths_workspace *wc = ac_paths_alloc_route(&s, P, N0, AC_PATHS_GRAD_COMPRESSED);
        cr_assert(wd && wc, "case %d: allocation", c);
        cr_assert_eq(ac_paths_route_of(wd), AC_PATHS_GRAD_DIRECT);
        cr_assert_eq(ac_paths_route_of(wc), AC_PATHS_GRAD_COMPRESSED);
        ac_msg msg = {{0}};
        cr_assert_eq(ac_paths_set_data(wd, Phi, Y, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(ac_paths_set_data(wc, Phi, Y, &msg), AC_OK, "%s", msg.text);
        double Ed, Ec, *Gd = malloc(sizeof(double) * np * np), *Gc = malloc(sizeof(double) * np * np);
        cr_assert_eq(ac_paths_energy(wd, U1, &Ed, Gd, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(ac_paths_energy(wc, U1, &Ec, Gc, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(Ed, Ec, "case %d: energy %.17g vs %.17g (one code path)", c, Ed, Ec);
        /* The bound's ingredients, by a route of the test's own: A by
         * ac_paths_kernel, its Cholesky factor by GSL, L^{-1} by substitution. */
        double *A = malloc(sizeof(double) * P * P), *Li = calloc((size_t)P * P, sizeof(double));
        ac_paths_kernel(&s, N0, P, Phi, P, Phi, U1, A);
        gsl_matrix *F = gsl_matrix_alloc(P, P);
        for (int i = 0; i < P; i++)
            for (int j = 0; j < P; j++)
                gsl_matrix_set(F, i, j, 0.5 * (A[i * P + j] + A[j * P + i]) + (i == j ? s.T : 0.0));
        cr_assert_eq(gsl_linalg_cholesky_decomp1(F), 0);
#define LF(i, j) ((j) <= (i) ? gsl_matrix_get(F, i, j) : 0.0)
        for (int j = 0; j < P; j++)
            for (int i = j; i < P; i++) {
                double acc = i == j ? 1.0 : 0.0;
                for (int k = j; k < i; k++)
                    acc -= LF(i, k) * Li[k * P + j];
                Li[i * P + j] = acc / LF(i, i);
            }
        double cL = 0.0;
        for (int i = 0; i < P; i++)
            for (int j = 0; j <= i; j++) {
                double acc = 0.0;
                for (int k = j; k <= i; k++)
                    acc += fabs(Li[i * P + k]) * fabs(LF(k, j));
                cL += acc * acc;
            }
        cL = sqrt(cL);
#undef LF
        /* z_a, |Phi|_F; v = A^{-1} Y = L^{-T} L^{-1} Y and b = Phi^T v */
        double *za = calloc(np, sizeof(double)), z2 = 0.0, phi = 0.0;
        double *wv = calloc(P, sizeof(double)), *v = calloc(P, sizeof(double));
        double *b = calloc((size_t)m, sizeof(double));
        for (int mu = 0; mu < P; mu++)
            for (int k = 0; k < m; k++) {
                double acc = 0.0;
                for (int nu = 0; nu <= mu; nu++)
                    acc += Li[mu * P + nu] * Phi[nu * m + k];
                za[k % np] += acc * acc;
                phi += Phi[mu * m + k] * Phi[mu * m + k];
            }
        for (int a = 0; a < np; a++)
            z2 += za[a], za[a] = sqrt(za[a]);
        phi = sqrt(phi);
        for (int mu = 0; mu < P; mu++)
            for (int nu = 0; nu <= mu; nu++)
                wv[mu] += Li[mu * P + nu] * Y[nu];
        for (int mu = 0; mu < P; mu++)
            for (int nu = mu; nu < P; nu++)
                v[mu] += Li[nu * P + mu] * wv[nu];
        for (int mu = 0; mu < P; mu++)
            for (int k = 0; k < m; k++)
                b[k] += Phi[mu * m + k] * v[mu];
        int rr = P < m ? P : m;
        double gt = HOUSEHOLDER_C * m * rr * EPS / 2, sr = sqrt((double)rr);
        double cz = 2.0 * sr * gt + 2.0 * ac_la_gamma(P) * cL + ac_la_gamma(P) * sr + ac_la_gamma(N0) * rr +
                    2.0 * ac_la_gamma((double)rr * (rr + 1) / 2) * sr;
        for (int a = 0; a < np; a++)
            for (int bb = 0; bb < np; bb++) {
                double Bab = 0.0;
                for (int i = 0; i < N0; i++)
                    Bab += b[i * np + a] * b[i * np + bb];
                double bound = (2.0 * ac_la_gamma(P) * cL + ac_la_gamma((double)P * N0)) * za[a] * za[bb] +
                               gt * phi / sqrt(s.T) * (za[a] + za[bb]) + cz * z2 +
                               EPS * (fabs(Gd[a * np + bb]) + 2.0 * fabs(Bab));
                double d = fabs(Gc[a * np + bb] - Gd[a * np + bb]);
                cr_assert_leq(d, bound, "seed 54 case %d (P %d, m %d) G1[%d][%d]: compressed %.17g, "
                              "direct %.17g, bound %g", c, P, m, a, bb, Gc[a * np + bb],
                              Gd[a * np + bb], bound);
            }
        gsl_matrix_free(F);
        free(A), free(Li), free(za), free(wv), free(v), free(b), free(Gd), free(Gc);
        ac_paths_free(wd), ac_paths_free(wc);
        free(Phi), free(Y), free(U1);
    }
    gsl_rng_free(r);
}

/* AUTO takes the cheaper route per evaluation: COMPRESSED when P << m (the
 * Markov task at P = 100: m = 924), DIRECT when m is small against P and
 * the pass over the pairs' r^2 outweighs the saving, or when r = m < P
 * (P = 2000). */
Test(paths, auto_route_follows_the_flop_count)
{
    ac_paths_settings s;
    ac_paths_settings_default(&s);
    s.L = 2, s.H[0] = 2, s.H[1] = 2;
    ac_paths_workspace *w = ac_paths_alloc(&s, 100, 231);
    cr_assert_eq(ac_paths_route_of(w), AC_PATHS_GRAD_COMPRESSED);
    ac_paths_free(w);
    w = ac_paths_alloc(&s, 7, 1); /* m = 4 */
    cr_assert_eq(ac_paths_route_of(w), AC_PATHS_GRAD_DIRECT);
    ac_paths_free(w);
    w = ac_paths_alloc(&s, 1000, 231);
    cr_assert_eq(ac_paths_route_of(w), AC_PATHS_GRAD_COMPRESSED);
    ac_paths_free(w);
    w = ac_paths_alloc(&s, 2000, 231);
    cr_assert_eq(ac_paths_route_of(w), AC_PATHS_GRAD_DIRECT);
    ac_paths_free(w);
    cr_assert_null(ac_paths_alloc_route(&s, 0, 1, AC_PATHS_GRAD_COMPRESSED));
    cr_assert_null(ac_paths_alloc_route(&s, 5, 1, (ac_paths_grad_route)7));
}

/* The careless calls: a set_data that fails leaves no data (the earlier,
 * borrowed arrays were kept, and the energy went on from them, here a
 * label changed to inf after it was borrowed: E = inf with AC_OK); a
 * negative count of test points is refused (it was AC_OK with nothing
 * written); the path tensor refuses NULL arrays (it read them) and reads
 * none when P = 0; ac_paths_attention refuses ntok < 1 (a malloc of
 * 2^64 - 8 bytes at ntok = -1, reported as AC_ENOMEM). */
Test(paths, failed_set_data_leaves_no_data_and_bad_counts_are_refused)
{
    gsl_rng *r = ac_test_rng(54);
    ac_paths_settings s;
    ac_paths_settings_default(&s);
    s.L = 2, s.H[0] = 2, s.H[1] = 2;
    int P = 3, N0 = 2, np = 4;
    double *Phi = rand_vec(r, (size_t)P * N0 * np, 0.7), *Y = rand_labels(r, P);
    ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
    ac_msg msg;
    double *U = rand_u(r, &s), E, mean[2];
    cr_assert_eq(ac_paths_set_data(w, Phi, Y, &msg), AC_OK);
    cr_assert_eq(ac_paths_energy(w, U, &E, NULL, &msg), AC_OK);
    Y[1] = INFINITY;
    cr_assert_eq(ac_paths_set_data(w, Phi, Y, &msg), AC_EINVAL);
    cr_assert_eq(ac_paths_energy(w, U, &E, NULL, &msg), AC_EINVAL, "E = %g from the old data", E);
    cr_assert(strstr(msg.text, "no data"), "%s", msg.text);
    Y[1] = 0.7312;
    cr_assert_eq(ac_paths_set_data(w, Phi, Y, &msg), AC_OK);
    cr_assert_eq(ac_paths_predict(w, U, -1, Phi, mean, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "-1 test points"), "%s", msg.text);
    cr_assert_eq(ac_paths_predict(w, U, 0, NULL, NULL, NULL, &msg), AC_OK);
    double X[4] = {1.7, 0.2, -0.3, 0.9}, Om[4 * 4], rv[2] = {0.5, 0.5}, out[2 * 4], om[4 * 2];
    for (int i = 0; i < 4 * 4; i++)  /* 4 heads of 2 x 2 */
        Om[i] = 0.25;
    cr_assert_eq(ac_paths_phi(&s, 1, 2, 2, X, NULL, rv, out, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "NULL"), "%s", msg.text);
    cr_assert_eq(ac_paths_phi(&s, 0, 2, 2, NULL, NULL, NULL, NULL, &msg), AC_OK);
    cr_assert_eq(ac_paths_phi(&s, 1, 2, 2, X, Om, rv, out, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_paths_attention(&s, -1, Om, rv, om), AC_EINVAL);
    cr_assert_eq(ac_paths_attention(&s, 0, Om, rv, om), AC_EINVAL);
    ac_paths_free(w);
    free(Phi), free(Y), free(U);
    gsl_rng_free(r);
}
