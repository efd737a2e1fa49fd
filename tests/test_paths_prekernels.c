/* The pre-kernel routes (theory/paths.h AC_PATHS_PREKERNEL_MAX; the V_0
 * block of verify/paths_gibbs.c), which the workspace and the sampler take
 * only when 4 (H^L + 1) <= N0: at such sizes, the energy, its gradient and
 * the predictor against a direct evaluation of spec attention_paths §3.2,
 * §3.3, §3.6 (kernel by ac_paths_kernel's dgemm, GSL Cholesky solves), and
 * one Gibbs draw of V_0 against Matheron's rule (§6) evaluated by hand from
 * the same random numbers.  The other paths tests run at N0 < 4 (H^L + 1),
 * where the direct routes are taken. */
#include <criterion/criterion.h>
#include <gsl/gsl_linalg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"
#include "theory/paths.h"
#include "verify/paths_gibbs.h"

/* Relative agreement asked of the two routes.  Both sum the same products
 * in other orders: K's entries carry ~ N0 H^L eps relative rounding, the
 * solves amplify it by cond(K + T I), here < 1e3 (T = 0.37 against
 * |K| ~ N0 H^L 0.7^2 / (N0 H^L) ~ 1 per unit of U): 1e-9 leaves a margin of
 * 100 over 1e3 x 100 x 1e-16 x (P N0 H^L ~ 1e3). */
#define ROUTE_RTOL 1e-9

static int close_to(double a, double b, double scale)
{
    return fabs(a - b) <= ROUTE_RTOL * fmax(1.0, scale);
}

/* K(U_1) + T I, by ac_paths_kernel (dgemm route) into a GSL matrix. */
static gsl_matrix *kernel_plus_t(const ac_paths_settings *s, int P, int N0, const double *Phi,
                                 const double *U1)
{
    double *K = malloc(sizeof(double) * P * P);
    cr_assert_eq(ac_paths_kernel(s, N0, P, Phi, P, Phi, U1, K), AC_OK);
    gsl_matrix *A = gsl_matrix_alloc(P, P);
    for (int i = 0; i < P; i++)
        for (int j = 0; j < P; j++)
            gsl_matrix_set(A, i, j, 0.5 * (K[i * P + j] + K[j * P + i]) + (i == j ? s->T : 0.0));
    free(K);
    return A;
}

Test(paths_prekernels, energy_gradient_and_predictor_equal_the_direct_formulas)
{
    enum { P = 7, PT = 3, N0 = 20 }; /* H^L = 4: 4 (4 + 1) = 20 <= N0, pre-kernels on */
    gsl_rng *r = ac_test_rng(424242);
    ac_paths_settings s;
    ac_paths_settings_default(&s);
    s.L = 2, s.H[0] = 2, s.H[1] = 2;
    for (int l = 0; l <= 2; l++)
        s.n[l] = 3.7, s.sigma2[l] = 1.3;
    s.T = 0.37;
    int np = ac_paths_count(&s), n = ac_test_cases(5);
    for (int c = 0; c < n; c++) {
        double Phi[P * N0 * 4], Phit[PT * N0 * 4], Y[P], U1[16], E, G1[16];
        for (int i = 0; i < P * N0 * np; i++)
            Phi[i] = gsl_ran_gaussian(r, 0.7) / sqrt((double)N0);
        for (int i = 0; i < PT * N0 * np; i++)
            Phit[i] = gsl_ran_gaussian(r, 0.7) / sqrt((double)N0);
        for (int mu = 0; mu < P; mu++)
            Y[mu] = gsl_ran_gaussian(r, 1.0);
        /* U_1 = B B^T / np + 0.5 I: positive definite, every entry non-zero */
        double B[16];
        for (int i = 0; i < 16; i++)
            B[i] = gsl_ran_gaussian(r, 1.0);
        for (int a = 0; a < np; a++)
            for (int b = 0; b < np; b++) {
                double v = 0.0;
                for (int k = 0; k < np; k++)
                    v += B[a * np + k] * B[b * np + k];
                U1[a * np + b] = v / np + (a == b ? 0.5 : 0.0);
            }
        ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
        cr_assert_not_null(w);
        ac_msg msg = {{0}};
        cr_assert_eq(ac_paths_set_data(w, Phi, Y, &msg), AC_OK);
        cr_assert_eq(ac_paths_energy(w, U1, &E, G1, &msg), AC_OK, "%s", msg.text);
        /* direct: E = ln det A + Y^T A^{-1} Y, M_ab = sum_i Phi_i[:,a]^T A^{-1} Phi_i[:,b],
         * B_ab = b_a . b_b with b = Phi^T A^{-1} Y (§3.2, §3.6) */
        gsl_matrix *A = kernel_plus_t(&s, P, N0, Phi, U1);
        cr_assert_eq(gsl_linalg_cholesky_decomp1(A), 0);
        double ld = 0.0;
        for (int i = 0; i < P; i++)
            ld += 2.0 * log(gsl_matrix_get(A, i, i));
        gsl_vector *y = gsl_vector_alloc(P), *v = gsl_vector_alloc(P), *x = gsl_vector_alloc(P);
        for (int mu = 0; mu < P; mu++)
            gsl_vector_set(y, mu, Y[mu]);
        gsl_linalg_cholesky_solve(A, y, v);
        double Eref = ld;
        for (int mu = 0; mu < P; mu++)
            Eref += Y[mu] * gsl_vector_get(v, mu);
        cr_assert(close_to(E, Eref, fabs(Eref)), "case %d: E %.17g vs %.17g", c, E, Eref);
        double M[16] = {0}, bb[N0 * 4] = {0};
        for (int i = 0; i < N0; i++)
            for (int b = 0; b < np; b++) {
                gsl_vector *col = gsl_vector_alloc(P);
                for (int mu = 0; mu < P; mu++)
                    gsl_vector_set(col, mu, Phi[(mu * N0 + i) * np + b]);
                gsl_linalg_cholesky_solve(A, col, x);
                for (int a = 0; a < np; a++)
                    for (int mu = 0; mu < P; mu++)
                        M[a * np + b] += Phi[(mu * N0 + i) * np + a] * gsl_vector_get(x, mu);
                for (int mu = 0; mu < P; mu++)
                    bb[i * np + b] += Phi[(mu * N0 + i) * np + b] * gsl_vector_get(v, mu);
                gsl_vector_free(col);
            }
        double gmax = 0.0;
        for (int k = 0; k < 16; k++)
            gmax = fmax(gmax, fabs(G1[k]));
        for (int a = 0; a < np; a++)
            for (int b = 0; b < np; b++) {
                double Bab = 0.0;
                for (int i = 0; i < N0; i++)
                    Bab += bb[i * np + a] * bb[i * np + b];
                double ref = M[a * np + b] - Bab;
                cr_assert(close_to(G1[a * np + b], ref, gmax), "case %d: dE/dU[%d][%d] %.17g vs %.17g",
                          c, a, b, G1[a * np + b], ref);
            }
        /* predictor: mean = k^T A^{-1} Y, var = K(x,x) - k^T A^{-1} k */
        double mean[PT], var[PT];
        cr_assert_eq(ac_paths_predict(w, U1, PT, Phit, mean, var, &msg), AC_OK, "%s", msg.text);
        double kt[P * PT], kxx[PT * PT];
        ac_paths_kernel(&s, N0, P, Phi, PT, Phit, U1, kt);
        ac_paths_kernel(&s, N0, PT, Phit, PT, Phit, U1, kxx);
        for (int m = 0; m < PT; m++) {
            gsl_vector *k = gsl_vector_alloc(P);
            for (int mu = 0; mu < P; mu++)
                gsl_vector_set(k, mu, kt[mu * PT + m]);
            gsl_linalg_cholesky_solve(A, k, x);
            double mref = 0.0, q = 0.0;
            for (int mu = 0; mu < P; mu++) {
                mref += kt[mu * PT + m] * gsl_vector_get(v, mu);
                q += kt[mu * PT + m] * gsl_vector_get(x, mu);
            }
            cr_assert(close_to(mean[m], mref, fabs(mref)), "case %d: mean[%d] %.17g vs %.17g", c, m,
                      mean[m], mref);
            cr_assert(close_to(var[m], kxx[m * PT + m] - q, kxx[m * PT + m]),
                      "case %d: var[%d] %.17g vs %.17g", c, m, var[m], kxx[m * PT + m] - q);
            gsl_vector_free(k);
        }
        gsl_vector_free(y), gsl_vector_free(v), gsl_vector_free(x);
        gsl_matrix_free(A);
        ac_paths_free(w);
    }
    gsl_rng_free(r);
}

/* One Gibbs draw of V_0 (the only block sampled) against Matheron's rule by
 * hand (§6): theta0 ~ N(0, s2 I), eps ~ N(0, T I) from the same generator
 * state, theta = theta0 + s2 J^T (s2 J J^T + T I)^{-1} (y - J theta0 - eps),
 * J read off the network (f at V_0 = e_j, the sampler's predict). */
Test(paths_prekernels, gibbs_input_layer_draw_equals_matherons_rule)
{
    enum { P = 6, N0 = 12 }; /* H^L = 2: 4 (2 + 1) = 12 <= N0, pre-kernels on */
    gsl_rng *r = ac_test_rng(777);
    ac_paths_gibbs_settings gs;
    ac_paths_gibbs_settings_default(&gs);
    gs.net.L = 1, gs.net.H[0] = 2;
    gs.net.n[0] = 2, gs.net.n[1] = 3;
    gs.net.sigma2[0] = 1.3, gs.net.sigma2[1] = 0.8, gs.net.sigma2_a = 0.9;
    gs.net.T = 0.37;
    gs.chains = 1, gs.burn = 0, gs.keep = 4, gs.blocks = AC_PATHS_GIBBS_BLOCK_V0;
    int np = ac_paths_count(&gs.net);
    double Phi[P * N0 * 2], Y[P];
    for (int i = 0; i < P * N0 * np; i++)
        Phi[i] = gsl_ran_gaussian(r, 0.7);
    for (int mu = 0; mu < P; mu++)
        Y[mu] = mu % 2 ? 1.0 : -1.0;
    ac_paths_gibbs *g = ac_paths_gibbs_alloc(&gs, P, 0, N0);
    cr_assert_not_null(g);
    ac_msg msg = {{0}};
    cr_assert_eq(ac_paths_gibbs_set(g, Phi, Y, NULL, r, &msg), AC_OK, "%s", msg.text);
    size_t ss = ac_paths_gibbs_state_size(&gs, N0), lo = (size_t)gs.net.n[1];
    int d = (int)gs.net.n[0] * N0;
    double *base = malloc(sizeof(double) * ss), *th = malloc(sizeof(double) * ss);
    memcpy(base, ac_paths_gibbs_state(g, 0), sizeof(double) * ss);
    gsl_matrix *J = gsl_matrix_alloc(P, d);
    double f[P];
    for (int j = 0; j < d; j++) {
        memcpy(th, base, sizeof(double) * ss);
        memset(th + lo, 0, sizeof(double) * (size_t)d);
        th[lo + j] = 1.0;
        cr_assert_eq(ac_paths_gibbs_set_state(g, 0, th, NULL), AC_OK);
        ac_paths_gibbs_predict(g, 0, f, NULL);
        for (int mu = 0; mu < P; mu++)
            gsl_matrix_set(J, mu, j, f[mu]);
    }
    cr_assert_eq(ac_paths_gibbs_set_state(g, 0, base, NULL), AC_OK);
    gsl_rng *r2 = gsl_rng_clone(r);
    cr_assert_eq(ac_paths_gibbs_iterate(g, r, &msg), AC_OK, "%s", msg.text);
    const double *got = ac_paths_gibbs_state(g, 0) + lo;
    /* by hand, the draws in the sampler's order: theta0, then eps */
    double s2 = gs.net.sigma2[0], T = gs.net.T, th0[24], res[P];
    for (int j = 0; j < d; j++)
        th0[j] = gsl_ran_gaussian_ziggurat(r2, sqrt(s2));
    for (int mu = 0; mu < P; mu++) {
        res[mu] = Y[mu] - gsl_ran_gaussian_ziggurat(r2, sqrt(T));
        for (int j = 0; j < d; j++)
            res[mu] -= gsl_matrix_get(J, mu, j) * th0[j];
    }
    gsl_matrix *G = gsl_matrix_alloc(P, P);
    for (int a = 0; a < P; a++)
        for (int b = 0; b < P; b++) {
            double v = 0.0;
            for (int j = 0; j < d; j++)
                v += gsl_matrix_get(J, a, j) * gsl_matrix_get(J, b, j);
            gsl_matrix_set(G, a, b, s2 * v + (a == b ? T : 0.0));
        }
    cr_assert_eq(gsl_linalg_cholesky_decomp1(G), 0);
    gsl_vector_view rv = gsl_vector_view_array(res, P);
    gsl_vector *al = gsl_vector_alloc(P);
    gsl_linalg_cholesky_solve(G, &rv.vector, al);
    for (int j = 0; j < d; j++) {
        double want = th0[j];
        for (int mu = 0; mu < P; mu++)
            want += s2 * gsl_matrix_get(J, mu, j) * gsl_vector_get(al, mu);
        cr_assert(close_to(got[j], want, fabs(want)), "V_0 entry %d: %.17g (sampler) vs %.17g", j,
                  got[j], want);
    }
    gsl_vector_free(al);
    gsl_matrix_free(G), gsl_matrix_free(J);
    free(base), free(th);
    gsl_rng_free(r), gsl_rng_free(r2);
    ac_paths_gibbs_free(g);
}
