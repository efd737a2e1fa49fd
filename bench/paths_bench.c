/* C side of the attention-paths benchmark (bench/paths.sh): on the Markov
 * task of spec attention_paths §4.1 with P training examples (the four-path
 * network, every width N, T = 0.01),
 *   0. ac_paths_set_data once (the pre-kernels and, on the compressed
 *      gradient route, the LQ compression of the path tensor: once per data
 *      set, so once per solve);
 *   1. the action and its gradient at a fixed positive definite U
 *      (ac_paths_action), best of REPS calls, on the route AUTO takes and
 *      on the direct route (theory/paths.h ac_paths_grad_route);
 *   2. the whole solve from the GP values (ac_paths_solve), once, with the
 *      number of evaluations (one Cholesky of the P x P matrix K + T I each);
 *   3. the Cholesky factorisation of K + T I alone, best of REPS, so that the
 *      solve is measured against the Choleskies it needs: LAPACK dpotrf on
 *      the column-major lower triangle through LAPACKE's _work call, as
 *      theory/paths.c and verify/paths_gibbs.c call it, the fastest
 *      Cholesky the Debian LAPACK offers (a row-major LAPACKE_dpotrf adds
 *      copies in and out and a NaN scan: 1.3-1.4x its time);
 *   3b. the floor of one exact gradient: the dense calls of each gradient
 *      route alone (floor_calls), the pre-kernel stream that forms K
 *      (kernel_stream) and the calls both routes share (v and b = Phi^T v),
 *      best of REPS, on the factor of 3;
 *   4. one Gibbs sweep (ac_paths_gibbs_iterate, one chain), best of a few,
 *      against its own L + 2 Choleskies (one P x P factor per block);
 *   4b. the floor of one sweep: the work every exact Gaussian conditional of
 *      verify/paths_gibbs.c needs beyond its Cholesky, each piece timed
 *      alone (gibbs_floor).
 * It writes the inputs for the NumPy peer (bench/paths_numpy.py) into DIR:
 * phi.bin (P x N0 x H^L doubles), y.bin (P), u.bin (the U of part 1) and
 * prints one JSON object on stdout.
 *
 *   paths_bench P N REPS SOLVE_REPS DIR
 *
 * Timings are in-process and warm (libraries loaded, buffers allocated), in
 * CPU seconds of the process (CLOCK_PROCESS_CPUTIME_ID) and the best of
 * several runs: with one BLAS thread that is the work done, which other
 * load on a shared machine does not inflate (wall time under a load of 8
 * on 2 cores was up to 5x the CPU time). */
#include <gsl/gsl_cblas.h> /* gsl_randist.h pulls it in; same cblas_* symbols (OpenBLAS) */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "theory/paths.h"
#include "verify/paths_gibbs.h"
#include "verify/paths_task.h"

/* Sweeps timed for the Gibbs part (the first one is warm-up); up to
 * FLOOR_SMALL_P, FLOOR_SMALL_REPS + 1, below. */
#define GIBBS_SWEEPS 4
/* The off-diagonal scale of the U of part 1: U_l = GP + 0.3 A A^T / D,
 * positive definite with every entry non-zero. */
#define U_OFFDIAG 0.3

/* The floor's calls are timed alone, each the best of its runs; a floor
 * is a sum of such minima, so a noisy term would lift it above the solve it
 * bounds: up to this P, where a run takes microseconds to milliseconds and
 * load swings them most, each is the best of at least this many runs.  So
 * are the Cholesky unit and the Gibbs sweep there, so that each ratio
 * compares minima over as many runs on both sides (it was the best of 3
 * sweeps against the best of 5 dpotrf). */
#define FLOOR_SMALL_P 500
#define FLOOR_SMALL_REPS 25

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double best_of(double *t, int n)
{
    double b = t[0];
    for (int i = 1; i < n; i++)
        b = t[i] < b ? t[i] : b;
    return b;
}

static void write_bin(const char *dir, const char *name, const double *v, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(v, sizeof(double), n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "paths_bench: cannot write %s\n", path);
        exit(2);
    }
}

static void print_vec(const char *key, const double *v, size_t n)
{
    printf(", \"%s\": [", key);
    for (size_t i = 0; i < n; i++)
        printf(i ? ", %.17g" : "%.17g", v[i]);
    printf("]");
}

/* The best of reps times of fn(buf) on a fresh copy of src (n doubles). */
static double time_copy(void (*fn)(int, int, int, double *, const double *), int a, int b, int c,
                        double *buf, const double *src, size_t n, int reps, double *t)
{
    for (int k = 0; k < reps; k++) {
        memcpy(buf, src, sizeof(double) * n);
        double t1 = cpu();
        fn(a, b, c, buf, src);
        t[k] = cpu() - t1;
    }
    return best_of(t, reps);
}

/* The dense calls an exact gradient cannot avoid beyond the Cholesky, one
 * per line of theory/paths.c's energy, timed alone on the factor L (P x P,
 * column-major lower, as factor() leaves it; row-major it reads as L^T) of
 * K + T I, each the best of reps:
 *   compressed (r = min(P, m)): Y_1 = L_11^{-1} R_1 with R_1 lower
 *     triangular, r^3/3 flops, timed as LAPACK dtrtri(r) (the same count,
 *     a triangle by a triangle); W_1 = Y_1^T Y_1 by dlauum(r), r^3/3; when
 *     P > r, Y_2 = L_22^{-1} (R_2 - L_21 Y_1): dgemm (P-r) x r x r and dtrsm
 *     (P-r) x (P-r) against r columns, and W += Y_2^T Y_2 by dsyrk;
 *     and the pass over the np(np+1)/2 pairs' packed r x r S_ab (dgemv);
 *   (the dense calls into *compressed, the pass into *pass);
 *   direct: Z = L^{-1} Phi, dtrsm P x P against m columns (P^2 m), and
 *     M = Z^T Z over P N0 rows of H^L, dsyrk.
 * The inputs' values do not matter to these calls' time (no pivoting, no
 * early exit); L's own triangle keeps them finite. */
static void f_trtri(int r, int P, int unused, double *Y, const double *L)
{
    (void)unused, (void)L;
    LAPACKE_dtrtri(LAPACK_COL_MAJOR, 'U', 'N', r, Y, P);
}
static void f_lauum(int r, int P, int unused, double *Y, const double *L)
{
    (void)unused, (void)L;
    LAPACKE_dlauum(LAPACK_COL_MAJOR, 'U', r, Y, P);
}
static void f_below(int r, int P, int unused, double *Y, const double *L)
{
    (void)unused;
    int d = P - r;
    /* Y's rows r..P-1 stand for Y_2 (d x r, leading dimension P) */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, r, r, -1.0, L + r, P, L, P, 1.0,
                Y + (size_t)r * P, P);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, d, r, 1.0,
                L + (size_t)r * P + r, P, Y + (size_t)r * P, P);
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, r, d, 1.0, Y + (size_t)r * P, P, 1.0, Y, P);
}

/* K(U_1) from pre-kernels, as theory/paths.c assembles it (its
 * kernel_prekernels: ac_paths_prekernel_sum, one dgemv over the np(np+1)/2
 * pairs' packed triangles, then its rows into K's upper triangle), on stand-in
 * values: a stream of np(np+1)/2 P(P+1)/2 doubles, the least any evaluation
 * that forms K reads, and one copy of K's triangle.  Best of reps; 0 when
 * out of memory. */
static double kernel_stream(int P, int np, int reps, double *t)
{
    int npair = np * (np + 1) / 2, tri = P * (P + 1) / 2;
    double *C = malloc(sizeof(double) * (size_t)tri * npair), *K = malloc(sizeof(double) * (size_t)P * P);
    double *Kp = malloc(sizeof(double) * (size_t)tri), c[64];
    if (!C || !K || !Kp || npair > 64) {
        free(C), free(K), free(Kp);
        return 0.0;
    }
    for (size_t i = 0; i < (size_t)tri * npair; i++)
        C[i] = 1.0 / (double)(1 + i % 5);
    for (int q = 0; q < npair; q++)
        c[q] = 0.5 + q;
    for (int k = 0; k < reps; k++) {
        double t1 = cpu();
        ac_paths_prekernel_sum(P, npair, C, c, Kp, K);
        t[k] = cpu() - t1;
    }
    free(C), free(K), free(Kp);
    return best_of(t, reps);
}

static void floor_calls(int P, int m, int np, const double *L, int reps, double *t, double *compressed,
                        double *pass, double *direct)
{
    int r = P < m ? P : m;
    size_t n = (size_t)P * P;
    double *Y = malloc(sizeof(double) * n), *Z = malloc(sizeof(double) * (size_t)P * m),
           *Mm = malloc(sizeof(double) * (size_t)np * np);
    if (!Y || !Z || !Mm) {
        fprintf(stderr, "paths_bench: out of memory\n");
        exit(1);
    }
    /* dtrtri / dlauum (column-major upper: the symmetric K + T I that
     * dpotrf 'L' left above L) see a finite triangle of order r */
    double c = time_copy(f_trtri, r, P, 0, Y, L, n, reps, t);
    c += time_copy(f_lauum, r, P, 0, Y, L, n, reps, t);
    if (P > r)
        c += time_copy(f_below, r, P, 0, Y, L, n, reps, t);
    /* and the pass over the pairs' packed S_ab (one dgemv against W's
     * packed triangle) */
    int npair = np * (np + 1) / 2;
    size_t tri = (size_t)r * (r + 1) / 2;
    double *Sp = malloc(sizeof(double) * tri * npair), *Wp = malloc(sizeof(double) * tri), gp[64];
    if (Sp && Wp && npair <= 64) {
        for (size_t i = 0; i < tri * npair; i++)
            Sp[i] = 1.0 / (double)(1 + i % 5);
        for (size_t i = 0; i < tri; i++)
            Wp[i] = 1.0 / (double)(1 + i % 3);
        for (int k = 0; k < reps; k++) {
            double t1 = cpu();
            cblas_dgemv(CblasRowMajor, CblasNoTrans, npair, (int)tri, 1.0, Sp, (int)tri, Wp, 1, 0.0, gp, 1);
            t[k] = cpu() - t1;
        }
        *pass = best_of(t, reps);
    }
    free(Sp), free(Wp);
    *compressed = c;
    for (size_t i = 0; i < (size_t)P * m; i++)
        Z[i] = 1.0 / (double)(1 + i % 7);
    for (int k = 0; k < reps; k++) {
        double t1 = cpu();
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, P, m, 1.0, L, P, Z, m);
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, np, P * (m / np), 1.0, Z, np, 0.0, Mm, np);
        t[k] = cpu() - t1;
        for (size_t i = 0; i < (size_t)P * m; i++)
            Z[i] = 1.0 / (double)(1 + i % 7);
    }
    *direct = best_of(t, reps);
    free(Y), free(Z), free(Mm);
}

/* The floor of one Gibbs sweep beyond its L + 2 Choleskies: the work each
 * exact Gaussian conditional of verify/paths_gibbs.c (Matheron's rule on
 * the P x P matrix G = T I + sigma^2 J J^T of the block, spec §6) cannot
 * avoid, each piece timed alone on stand-in values of the same shapes, the
 * best of reps (one chain, training rows only):
 *   draws: one N(0, sd) per weight of the state and P per block (the
 *     likelihood noise): the same gsl_ran_gaussian_ziggurat calls on the same kind of
 *     generator (mt19937), so the same count of the same draws;
 *   forward: one pass over the training rows per sweep (the blocks' J
 *     depends on the weights the previous sweep moved): per layer l and
 *     path a P x n_l x n_{l-1} product (N0 for l = 0), and the readout;
 *   precision: one triangle of J J^T per block, as little as the
 *     method can form it: the readout a's J is P x n_L (every path acts on
 *     a), one dsyrk; V_l's J J^T = sum_ab Lg_ab R_a R_b^T with Lg of rank at
 *     most H^L, a dsyrk of P against H^L n_{l-1} columns; V_0 from the
 *     pre-kernels when the sampler keeps them (the np(np+1)/2 packed
 *     triangles, kernel_stream), else a dsyrk against H^L N0 columns;
 *   solves: the two triangular solves with one right-hand side per block;
 *   matvecs: J theta_0 and J^T alpha per block (2 H^L matrix-vector
 *     products of P x q) and the rank-one update of theta_0 (H^L of p x q).
 * Times into parts[0..4] in that order; the draw count into *ndraws. */
static void gibbs_floor(const ac_paths_settings *s, int P, int N0, const double *F, int reps,
                        double *t, double *parts, long *ndraws)
{
    int L = s->L, np = ac_paths_count(s), n[AC_PATHS_MAX_LAYERS + 1];
    int qmax = N0;
    for (int l = 0; l <= L; l++) {
        n[l] = (int)s->n[l];
        qmax = n[l] > qmax ? n[l] : qmax;
    }
    long nw = n[L] + (long)n[0] * N0;
    for (int l = 1; l <= L; l++)
        nw += (long)s->H[l - 1] * n[l] * n[l - 1];
    *ndraws = nw + (long)(L + 2) * P;
    size_t big = (size_t)np * P * qmax;
    double *R = malloc(sizeof(double) * big), *R2 = malloc(sizeof(double) * big);
    double *V = malloc(sizeof(double) * (size_t)qmax * qmax), *G = malloc(sizeof(double) * (size_t)P * P);
    double *x = malloc(sizeof(double) * (size_t)(P > qmax ? P : qmax)), *y = malloc(sizeof(double) * (size_t)(P > qmax ? P : qmax));
    if (!R || !R2 || !V || !G || !x || !y) {
        fprintf(stderr, "paths_bench: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < big; i++)
        R[i] = 1.0 / (double)(1 + i % 7), R2[i] = 0.0;
    for (int i = 0; i < qmax * qmax; i++)
        V[i] = 1.0 / (double)(1 + i % 5);
    for (int i = 0; i < (P > qmax ? P : qmax); i++)
        x[i] = 1.0 / (double)(1 + i % 3), y[i] = 0.0;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    double sink = 0.0;
    for (int k = 0; k < reps; k++) { /* draws */
        double t1 = cpu();
        for (long j = 0; j < *ndraws; j++)
            sink += gsl_ran_gaussian_ziggurat(r, 0.1);
        t[k] = cpu() - t1;
    }
    parts[0] = best_of(t, reps);
    for (int k = 0; k < reps; k++) { /* forward */
        double t1 = cpu();
        for (int l = 0; l <= L; l++) {
            int q = l == 0 ? N0 : n[l - 1], p = n[l];
            for (int a = 0; a < np; a++)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, P, p, q, 0.5,
                            R + (size_t)a * P * q, q, V, q, 0.0, R2 + (size_t)a * P * p, p);
        }
        for (int a = 0; a < np; a++)
            cblas_dgemv(CblasRowMajor, CblasNoTrans, P, n[L], 0.5, R2 + (size_t)a * P * n[L], n[L],
                        x, 1, 1.0, y, 1);
        t[k] = cpu() - t1;
    }
    parts[1] = best_of(t, reps);
    int stream = ac_paths_keeps_prekernels(P, N0, np);
    double tk = stream ? kernel_stream(P, np, reps, t) : 0.0;
    for (int k = 0; k < reps; k++) { /* precision, beyond V_0's stream */
        double t1 = cpu();
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, P, n[L], 1.0, R, n[L], 0.0, G, P);
        for (int l = 1; l <= L; l++)
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, P, np * n[l - 1], 1.0, R,
                        np * n[l - 1], 1.0, G, P);
        if (!stream)
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, P, np * N0, 1.0, R, np * N0, 1.0,
                        G, P);
        t[k] = cpu() - t1;
    }
    parts[2] = best_of(t, reps) + tk;
    for (int k = 0; k < reps; k++) { /* solves */
        double t1 = cpu();
        for (int b = 0; b < L + 2; b++) {
            memcpy(y, x, sizeof(double) * (size_t)P);
            cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, P, F, P, y, 1);
            cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, P, F, P, y, 1);
        }
        t[k] = cpu() - t1;
    }
    parts[3] = best_of(t, reps);
    for (int k = 0; k < reps; k++) { /* matvecs: J theta_0, J^T alpha, theta_0 update */
        double t1 = cpu();
        for (int b = 0; b < L + 2; b++) {
            int q = b == 0 ? n[L] : b <= L ? n[L - b] : N0, p = b == 0 ? 1 : b <= L ? n[L - b + 1] : n[0];
            for (int a = 0; a < np; a++) {
                cblas_dgemv(CblasRowMajor, CblasNoTrans, P, q, -1.0, R + (size_t)a * P * q, q, x, 1,
                            1.0, y, 1);
                cblas_dgemv(CblasRowMajor, CblasTrans, P, q, 1.0, R + (size_t)a * P * q, q, y, 1,
                            0.0, R2, 1);
                cblas_dger(CblasRowMajor, p, q, 0.5, x, 1, R2, 1, V, q);
            }
        }
        t[k] = cpu() - t1;
    }
    parts[4] = best_of(t, reps);
    if (sink == 42.0) /* keep the draws */
        fprintf(stderr, " ");
    gsl_rng_free(r);
    free(R), free(R2), free(V), free(G), free(x), free(y);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: paths_bench P N REPS SOLVE_REPS DIR\n");
        return 2;
    }
    int P = atoi(argv[1]), reps = atoi(argv[3]), sreps = atoi(argv[4]);
    double N = atof(argv[2]);
    const char *dir = argv[5];
    if (P < 2 || P % 2 || !(N >= 1) || reps < 1 || sreps < 1) {
        fprintf(stderr, "paths_bench: P even >= 2, N >= 1, REPS >= 1, SOLVE_REPS >= 1\n");
        return 2;
    }
    gsl_set_error_handler_off();
    ac_msg msg = {{0}};
    ac_paths_settings s;
    ac_paths_markov_head heads[AC_PATHS_MARKOV_MAX_HEADS];
    ac_paths_markov_network(AC_PATHS_NET_FOUR_PATHS, N, &s, heads);
    ac_paths_markov_settings ms;
    ac_paths_markov_settings_default(&ms);
    ms.per_class = P / 2;
    ac_paths_markov_data d = {0};
    int N0 = AC_PATHS_MARKOV_N0, np = ac_paths_count(&s);
    size_t m = (size_t)N0 * np, us = ac_paths_u_size(&s);
    double *Phi = malloc(sizeof(double) * P * m);
    double *U = malloc(sizeof(double) * us), *G = malloc(sizeof(double) * us);
    double *Us = malloc(sizeof(double) * us);
    double *A = malloc(sizeof(double) * (size_t)P * P), *F = malloc(sizeof(double) * (size_t)P * P);
    /* the runs of the Cholesky unit, the floors' pieces and the sweep */
    int small = P <= FLOOR_SMALL_P;
    int creps = small && reps < FLOOR_SMALL_REPS ? FLOOR_SMALL_REPS : reps;
    int nsweeps = small ? FLOOR_SMALL_REPS + 1 : GIBBS_SWEEPS;
    double *t = malloc(sizeof(double) * (size_t)(creps + sreps + nsweeps + reps));
    if (!Phi || !U || !G || !Us || !A || !F || !t ||
        ac_paths_markov_data_init(&d, &ms, &msg) != AC_OK ||
        ac_paths_markov_phi(&s, heads, &d, Phi, &msg) != AC_OK) {
        fprintf(stderr, "paths_bench: %s\n", msg.text[0] ? msg.text : "out of memory");
        return 1;
    }
    write_bin(dir, "phi.bin", Phi, (size_t)P * m);
    write_bin(dir, "y.bin", d.Y, (size_t)P);
    ac_paths_workspace *w = ac_paths_alloc(&s, P, N0);
    double t0 = cpu();
    if (!w || ac_paths_set_data(w, Phi, d.Y, &msg) != AC_OK) {
        fprintf(stderr, "paths_bench: %s\n", msg.text);
        return 1;
    }
    /* the set-up once per data set: pre-kernels and the compression */
    double t_setup = cpu() - t0;
    ac_paths_workspace *wd = ac_paths_alloc_route(&s, P, N0, AC_PATHS_GRAD_DIRECT);
    if (!wd || ac_paths_set_data(wd, Phi, d.Y, &msg) != AC_OK) {
        fprintf(stderr, "paths_bench: direct route: %s\n", msg.text[0] ? msg.text : "alloc");
        return 1;
    }
    /* 1. action and gradient at a fixed PD U with off-diagonal entries */
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 1);
    ac_paths_gp_u(&s, U);
    for (int l = 1; l <= s.L; l++) {
        int D = ac_paths_dim(&s, l);
        double *Ul = U + ac_paths_u_offset(&s, l), *B = malloc(sizeof(double) * D * D);
        for (int i = 0; i < D * D; i++)
            B[i] = gsl_rng_uniform(r) - 0.5;
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++) {
                double acc = 0.0;
                for (int k = 0; k < D; k++)
                    acc += B[i * D + k] * B[j * D + k];
                Ul[i * D + j] += U_OFFDIAG * acc / D;
            }
        free(B);
    }
    write_bin(dir, "u.bin", U, us);
    double S = 0.0;
    for (int k = 0; k < reps; k++) {
        double t1 = cpu();
        if (ac_paths_action(w, U, &S, NULL, G, &msg) != AC_OK) {
            fprintf(stderr, "paths_bench: action: %s\n", msg.text);
            return 1;
        }
        t[k] = cpu() - t1;
    }
    double t_action = best_of(t, reps);
    /* 1b. the same with the direct gradient route (theory/paths.h) */
    double Sd = 0.0;
    for (int k = 0; k < reps; k++) {
        double t1 = cpu();
        if (ac_paths_action(wd, U, &Sd, NULL, G, &msg) != AC_OK) {
            fprintf(stderr, "paths_bench: action (direct): %s\n", msg.text);
            return 1;
        }
        t[k] = cpu() - t1;
    }
    double t_action_direct = best_of(t, reps);
    ac_paths_free(wd);
    /* 1c. the same with the compressed route, where it fits (NaN if not) */
    double t_action_compressed = NAN;
    ac_paths_workspace *wc = ac_paths_alloc_route(&s, P, N0, AC_PATHS_GRAD_COMPRESSED);
    if (wc && ac_paths_set_data(wc, Phi, d.Y, &msg) == AC_OK) {
        double Sc;
        for (int k = 0; k < reps; k++) {
            double t1 = cpu();
            if (ac_paths_action(wc, U, &Sc, NULL, G, &msg) != AC_OK) {
                fprintf(stderr, "paths_bench: action (compressed): %s\n", msg.text);
                return 1;
            }
            t[k] = cpu() - t1;
        }
        t_action_compressed = best_of(t, reps);
    }
    ac_paths_free(wc);
    if (ac_paths_action(w, U, &S, NULL, G, &msg) != AC_OK) { /* G of the route timed in 2. */
        fprintf(stderr, "paths_bench: action: %s\n", msg.text);
        return 1;
    }
    /* 2. the whole solve, from the GP values each time */
    ac_paths_info info;
    for (int k = 0; k < sreps; k++) {
        ac_paths_gp_u(&s, Us);
        t0 = cpu();
        if (ac_paths_solve(w, NULL, Us, &info, &msg) != AC_OK) {
            fprintf(stderr, "paths_bench: solve: %s\n", msg.text);
            return 1;
        }
        t[k] = cpu() - t0;
    }
    double t_solve = best_of(t, sreps);
    /* 3. one Cholesky of K + T I (K at the solution) */
    ac_paths_kernel(&s, N0, P, Phi, P, Phi, Us, A);
    for (int i = 0; i < P; i++)
        A[(size_t)i * P + i] += s.T;
    for (int k = 0; k < creps; k++) {
        memcpy(F, A, sizeof(double) * (size_t)P * P);
        double t1 = cpu();
        if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', P, F, P) != 0) {
            fprintf(stderr, "paths_bench: dpotrf failed\n");
            return 1;
        }
        t[k] = cpu() - t1;
    }
    double t_chol = best_of(t, creps);
    /* 3b. the floor of one exact gradient: its dense calls alone, on the
     * factor L just computed (floor_calls) */
    double t_floor_c, t_floor_d, t_pass = 0.0;
    double *tf = malloc(sizeof(double) * (size_t)creps);
    if (!tf) {
        fprintf(stderr, "paths_bench: out of memory\n");
        return 1;
    }
    floor_calls(P, (int)m, np, F, creps, tf, &t_floor_c, &t_pass, &t_floor_d);
    double t_kernel = kernel_stream(P, np, creps, tf);
    /* the calls both routes share beyond the Cholesky: the two triangular
     * solves for v = (K + T I)^{-1} Y and b = Phi^T v (one pass over Phi) */
    double *v = malloc(sizeof(double) * (size_t)P), *bv = malloc(sizeof(double) * m);
    if (!v || !bv) {
        fprintf(stderr, "paths_bench: out of memory\n");
        return 1;
    }
    for (int k = 0; k < creps; k++) {
        memcpy(v, d.Y, sizeof(double) * (size_t)P);
        double t1 = cpu();
        cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasNonUnit, P, F, P, v, 1);
        cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasNonUnit, P, F, P, v, 1);
        cblas_dgemv(CblasRowMajor, CblasTrans, P, (int)m, 1.0, Phi, (int)m, v, 1, 0.0, bv, 1);
        tf[k] = cpu() - t1;
    }
    double t_shared = best_of(tf, creps);
    free(v), free(bv), free(tf);
    /* 4. Gibbs sweeps, one chain, no test points */
    ac_paths_gibbs_settings gs;
    ac_paths_gibbs_settings_default(&gs);
    gs.net = s;
    gs.chains = 1, gs.burn = 0, gs.keep = nsweeps;
    ac_paths_gibbs *g = ac_paths_gibbs_alloc(&gs, P, 0, N0);
    if (!g || ac_paths_gibbs_set(g, Phi, d.Y, NULL, r, &msg) != AC_OK) {
        fprintf(stderr, "paths_bench: gibbs: %s\n", msg.text[0] ? msg.text : "alloc");
        return 1;
    }
    for (int k = 0; k < nsweeps; k++) {
        double t1 = cpu();
        ac_paths_gibbs_iterate(g, r, &msg);
        t[k] = cpu() - t1;
    }
    double t_sweep = best_of(t + 1, nsweeps - 1);
    qsort(t + 1, (size_t)(nsweeps - 1), sizeof(double), cmp_double);
    double t_sweep_median = t[1 + (nsweeps - 1) / 2];
    /* 4b. the sweep's floor beyond its Choleskies, on the factor F of 3. */
    double gparts[5];
    long gdraws;
    double *tg = malloc(sizeof(double) * (size_t)creps);
    if (!tg) {
        fprintf(stderr, "paths_bench: out of memory\n");
        return 1;
    }
    gibbs_floor(&s, P, N0, F, creps, tg, gparts, &gdraws);
    free(tg);
    printf("{\"P\": %d, \"N\": %.17g, \"N0\": %d, \"paths\": %d, \"T\": %.17g, \"reps\": %d", P, N, N0,
           np, s.T, reps);
    printf(", \"route\": \"%s\", \"setup_seconds\": %.17g",
           ac_paths_route_of(w) == AC_PATHS_GRAD_COMPRESSED ? "compressed" : "direct", t_setup);
    printf(", \"action_seconds\": %.17g, \"action_direct_seconds\": %.17g, \"S\": %.17g", t_action,
           t_action_direct, S);
    if (isnan(t_action_compressed))
        printf(", \"action_compressed_seconds\": null");
    else
        printf(", \"action_compressed_seconds\": %.17g", t_action_compressed);
    printf(", \"floor_compressed_seconds\": %.17g, \"floor_pass_seconds\": %.17g, \"floor_direct_seconds\": %.17g, "
           "\"kernel_seconds\": %.17g, \"shared_seconds\": %.17g", t_floor_c, t_pass, t_floor_d, t_kernel, t_shared);
    print_vec("grad", G, us);
    printf(", \"solve_seconds\": %.17g, \"solve_S\": %.17g, \"solve_Ua\": %.17g, \"outcome\": \"%s\", "
           "\"iterations\": %d, \"evaluations\": %d, \"grad_norm\": %.17g", t_solve, info.S, info.Ua,
           ac_min_status_str(info.min.status), info.min.iter, info.min.nfev, info.min.grad_norm);
    print_vec("solve_U", Us, us);
    /* Choleskies of the solve: one P x P factor per evaluation, plus the
     * final action and the start's check (ac_paths_solve), and the D_l x D_l
     * factors of U, negligible beside them. */
    printf(", \"chol_seconds\": %.17g, \"solve_choleskies\": %d", t_chol, info.min.nfev + 2);
    printf(", \"sweep_seconds\": %.17g, \"sweep_median_seconds\": %.17g, \"sweeps_timed\": %d", t_sweep,
           t_sweep_median, nsweeps - 1);
    printf(", \"sweep_choleskies\": %d, \"chol_reps\": %d", s.L + 2, creps);
    printf(", \"sweep_draws\": %ld, \"sweep_floor_draws_seconds\": %.17g, "
           "\"sweep_floor_forward_seconds\": %.17g, \"sweep_floor_precision_seconds\": %.17g, "
           "\"sweep_floor_solves_seconds\": %.17g, \"sweep_floor_matvecs_seconds\": %.17g}\n",
           gdraws, gparts[0], gparts[1], gparts[2], gparts[3], gparts[4]);
    ac_paths_gibbs_free(g);
    ac_paths_free(w);
    gsl_rng_free(r);
    ac_paths_markov_data_clear(&d);
    free(Phi), free(U), free(G), free(Us), free(A), free(F), free(t);
    return 0;
}
