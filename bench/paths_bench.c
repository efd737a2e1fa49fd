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
 *   3. the Cholesky factorisation of K + T I alone (LAPACKE_dpotrf), best of
 *      REPS, so that the solve is measured against the Choleskies it needs;
 *   4. one Gibbs sweep (ac_paths_gibbs_iterate, one chain), best of a few,
 *      against its own L + 2 Choleskies (one P x P factor per block).
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
#include <gsl/gsl_errno.h>
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

/* Sweeps timed for the Gibbs part (the first one is warm-up). */
#define GIBBS_SWEEPS 4
/* The off-diagonal scale of the U of part 1: U_l = GP + 0.3 A A^T / D,
 * positive definite with every entry non-zero. */
#define U_OFFDIAG 0.3

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
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
    double *t = malloc(sizeof(double) * (reps + sreps + GIBBS_SWEEPS));
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
    for (int k = 0; k < reps; k++) {
        memcpy(F, A, sizeof(double) * (size_t)P * P);
        double t1 = cpu();
        if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', P, F, P) != 0) {
            fprintf(stderr, "paths_bench: dpotrf failed\n");
            return 1;
        }
        t[k] = cpu() - t1;
    }
    double t_chol = best_of(t, reps);
    /* 4. Gibbs sweeps, one chain, no test points */
    ac_paths_gibbs_settings gs;
    ac_paths_gibbs_settings_default(&gs);
    gs.net = s;
    gs.chains = 1, gs.burn = 0, gs.keep = GIBBS_SWEEPS;
    ac_paths_gibbs *g = ac_paths_gibbs_alloc(&gs, P, 0, N0);
    if (!g || ac_paths_gibbs_set(g, Phi, d.Y, NULL, r, &msg) != AC_OK) {
        fprintf(stderr, "paths_bench: gibbs: %s\n", msg.text[0] ? msg.text : "alloc");
        return 1;
    }
    for (int k = 0; k < GIBBS_SWEEPS; k++) {
        double t1 = cpu();
        ac_paths_gibbs_iterate(g, r, &msg);
        t[k] = cpu() - t1;
    }
    double t_sweep = best_of(t + 1, GIBBS_SWEEPS - 1);
    printf("{\"P\": %d, \"N\": %.17g, \"N0\": %d, \"paths\": %d, \"T\": %.17g, \"reps\": %d", P, N, N0,
           np, s.T, reps);
    printf(", \"route\": \"%s\", \"setup_seconds\": %.17g",
           ac_paths_route_of(w) == AC_PATHS_GRAD_COMPRESSED ? "compressed" : "direct", t_setup);
    printf(", \"action_seconds\": %.17g, \"action_direct_seconds\": %.17g, \"S\": %.17g", t_action,
           t_action_direct, S);
    print_vec("grad", G, us);
    printf(", \"solve_seconds\": %.17g, \"solve_S\": %.17g, \"solve_Ua\": %.17g, \"outcome\": \"%s\", "
           "\"iterations\": %d, \"evaluations\": %d, \"grad_norm\": %.17g", t_solve, info.S, info.Ua,
           ac_min_status_str(info.min.status), info.min.iter, info.min.nfev, info.min.grad_norm);
    print_vec("solve_U", Us, us);
    /* Choleskies of the solve: one P x P factor per evaluation, plus the
     * final action and the start's check (ac_paths_solve), and the D_l x D_l
     * factors of U, negligible beside them. */
    printf(", \"chol_seconds\": %.17g, \"solve_choleskies\": %d", t_chol, info.min.nfev + 2);
    printf(", \"sweep_seconds\": %.17g, \"sweep_choleskies\": %d}\n", t_sweep, s.L + 2);
    ac_paths_gibbs_free(g);
    ac_paths_free(w);
    gsl_rng_free(r);
    ac_paths_markov_data_clear(&d);
    free(Phi), free(U), free(G), free(Us), free(A), free(F), free(t);
    return 0;
}
