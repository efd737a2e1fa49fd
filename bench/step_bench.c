/* Normalised gradient descent with the identity head, timed per step: the C
 * side of the step benchmark (bench/run.sh compares it with bench/torch_step.py).
 *
 *   step_bench DATA EMB SEED STEPS LR W0_OUT
 *
 * Reads DATA and EMB (verify/svm_io.h), draws W0 from SEED as the claims do
 * (ac_svm_model_init on an mt19937 seeded with SEED), writes W0 to W0_OUT (d
 * lines of d numbers, %.17g, so the peer starts from the same doubles), then
 * runs STEPS steps of W -= LR g / (||g||_F + AC_SVM_NGD_EPS) with the trainer
 * of verify/svm_model.h and prints one JSON object:
 *
 *   {"seconds_per_step": s, "steps": N, "loss_first": l0, "loss_last": l,
 *    "grad_norm_last": ||g|| at W_final, "n": n, "ntok": positions,
 *    "T": longest sequence, "d": d, "Q": distinct queries, "V": distinct tokens,
 *    "flops_per_position": 4 n d (d + T), "flops_blocked": 4 Q d (d + V),
 *    "gemm_flops_per_s": one-thread DGEMM rate, "gemm_threads": default
 *    OpenBLAS threads, "W_final": [[...], ...]}
 *
 * The flop counts are those of one step (loss and gradient): per position,
 * W xbar_i (2 d^2 per example), T dot products (2 T d), X^T dl/da (2 T d)
 * and the rank-1 update (2 d^2), i.e. 4 n d (d + T) (issue 10 §4's ~15
 * MFLOP at n = 512, T = 32, d = 64); blocked (verify/svm_model.c), the four
 * products Eq W^T, (.) Ev^T, CT Ev, Z^T Eq, i.e. 4 Q d (d + V), plus one
 * exponential per position or table entry.  The DGEMM rate is measured in
 * the same process, on one thread, like the step (whose 64^3 products
 * OpenBLAS does not split): the best of GEMM_REPS products C = A B of
 * GEMM_N x GEMM_N matrices, 2 GEMM_N^3 flops each, taken before and after
 * the timed steps.  "gemm_threads" is OpenBLAS's default thread count, so
 * that the machine's rate can be stated as threads times that (a 2-thread
 * product on a shared machine measures the other jobs more than the
 * machine).
 *
 * Each step is timed on its own and seconds_per_step is the median over the
 * STEPS steps, so that a burst of load from elsewhere on the machine moves it
 * little (one untimed warm-up step on a second trainer comes first, so that
 * first-touch and BLAS start-up costs are not counted; the peer does the
 * same).  Exit 0, or 2 with a message on stderr. */
#include <cblas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "verify/svm_io.h"
#include "verify/svm_model.h"

/* 512^3: large enough for OpenBLAS's peak on 2 cores (~100 GFLOP/s,
 * ~3 ms a product), small enough to measure in well under a second. */
#define GEMM_N 512
#define GEMM_REPS 7

/* Best one-thread rate of GEMM_REPS products of GEMM_N x GEMM_N matrices,
 * flop/s; 0 on no memory.  OpenBLAS's thread count is restored. */
static double gemm_rate(void)
{
    int threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    size_t m = (size_t)GEMM_N * GEMM_N;
    double *A = malloc(sizeof(double) * m * 3), best = 0.0;
    if (!A)
        return 0.0;
    double *B = A + m, *C = B + m;
    for (size_t i = 0; i < m; i++)
        A[i] = 1.0 / (double)(i + 1), B[i] = 0.5 - A[i];
    for (int r = 0; r < GEMM_REPS; r++) {
        double t0 = ac_clock();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, GEMM_N, GEMM_N, GEMM_N, 1.0, A, GEMM_N, B, GEMM_N,
                    0.0, C, GEMM_N);
        double rate = 2.0 * GEMM_N * (double)m / (ac_clock() - t0);
        best = rate > best ? rate : best;
    }
    free(A);
    openblas_set_num_threads(threads);
    return best;
}

/* Distinct values of x (m entries, all in [0, K)). */
static int count_distinct(const int *x, int m, int K)
{
    unsigned char *seen = calloc((size_t)K, 1);
    int c = 0;
    for (int i = 0; seen && i < m; i++)
        c += !seen[x[i]], seen[x[i]] = 1;
    free(seen);
    return c;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int write_matrix(const char *path, const double *W, int d)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (int r = 0; r < d; r++)
        for (int c = 0; c < d; c++)
            fprintf(f, "%.17g%c", W[(size_t)r * d + c], c + 1 < d ? ' ' : '\n');
    return fclose(f) == 0 ? 0 : -1;
}

/* The sizes and flop counts of the header comment, and the DGEMM rate. */
static void print_sizes(const ac_tpg_data *D, int d, double rate)
{
    int n = D->n, ntok = D->off[n], T = 0;
    int *last = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) {
        T = D->off[i + 1] - D->off[i] > T ? D->off[i + 1] - D->off[i] : T;
        if (last)
            last[i] = D->tok[D->off[i + 1] - 1];
    }
    int Q = last ? count_distinct(last, n, D->K) : 0, V = count_distinct(D->tok, ntok, D->K);
    free(last);
    printf("\"n\": %d, \"ntok\": %d, \"T\": %d, \"d\": %d, \"Q\": %d, \"V\": %d, "
           "\"flops_per_position\": %.17g, \"flops_blocked\": %.17g, \"gemm_flops_per_s\": %.17g, "
           "\"gemm_threads\": %d, ",
           n, ntok, T, d, Q, V, 4.0 * n * d * (double)(d + T), 4.0 * Q * d * (double)(d + V), rate,
           openblas_get_num_threads());
}

static void print_json(double sec, int steps, double l0, double l, double gn, const double *W, int d)
{
    printf("\"seconds_per_step\": %.17g, \"steps\": %d, \"loss_first\": %.17g, \"loss_last\": %.17g, "
           "\"grad_norm_last\": %.17g, \"W_final\": [",
           sec, steps, l0, l, gn);
    for (int r = 0; r < d; r++) {
        printf("%s[", r ? ", " : "");
        for (int c = 0; c < d; c++)
            printf("%s%.17g", c ? ", " : "", W[(size_t)r * d + c]);
        printf("]");
    }
    printf("]}\n");
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: step_bench DATA EMB SEED STEPS LR W0_OUT\n");
        return 2;
    }
    gsl_set_error_handler_off();
    ac_msg msg = {{0}};
    double *E = NULL;
    int K = 0, d = 0;
    ac_tpg_data *D = NULL;
    ac_status st = ac_svm_io_read_emb(argv[2], &E, &K, &d, &msg);
    if (st == AC_OK)
        st = ac_svm_io_read_data(argv[1], K, &D, &msg);
    if (st != AC_OK) {
        fprintf(stderr, "step_bench: %s\n", msg.text);
        return 2;
    }
    unsigned long seed = strtoul(argv[3], NULL, 10);
    int steps = atoi(argv[4]);
    ac_svm_train_settings set;
    ac_svm_train_settings_default(&set);
    set.steps = steps + 1;
    set.lr = strtod(argv[5], NULL);
    if (steps < 1) {
        fprintf(stderr, "step_bench: STEPS must be at least 1\n");
        return 2;
    }
    double *W0 = malloc(sizeof(double) * (size_t)d * d);
    double *dt = malloc(sizeof(double) * (size_t)steps);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!W0 || !dt || !r) {
        fprintf(stderr, "step_bench: no memory, or STEPS < 1\n");
        return 2;
    }
    gsl_rng_set(r, seed);
    ac_svm_model_init(r, d, W0);
    if (write_matrix(argv[6], W0, d) != 0) {
        fprintf(stderr, "step_bench: cannot write %s\n", argv[6]);
        return 2;
    }

    ac_svm_trainer *warm = ac_svm_trainer_alloc(D->n, D->off[D->n], D->K, d);
    ac_svm_trainer *tr = ac_svm_trainer_alloc(D->n, D->off[D->n], D->K, d);
    if (!warm || !tr || ac_svm_trainer_set(warm, D, NULL, E, &set, W0, &msg) != AC_OK ||
        ac_svm_trainer_set(tr, D, NULL, E, &set, W0, &msg) != AC_OK ||
        (ac_svm_trainer_iterate(warm), ac_svm_trainer_test(warm) != AC_TRAIN_RUNNING)) {
        fprintf(stderr, "step_bench: warm-up step failed\n");
        return 2;
    }
    double rate0 = gemm_rate(), l0 = 0.0;
    for (int s = 0; s < steps; s++) {
        double t0 = ac_clock();
        ac_svm_trainer_iterate(tr);
        if (ac_svm_trainer_test(tr) == AC_TRAIN_DIVERGED) {
            fprintf(stderr, "step_bench: step %d: training diverged\n", s);
            return 2;
        }
        dt[s] = ac_clock() - t0;
        if (s == 0)
            l0 = ac_svm_trainer_info(tr)->loss;
    }
    double sec = median(dt, steps);

    /* ||g|| where the run ended (untimed): a normalised step amplifies a
     * perturbation of W by up to 1 + LR ||Hessian|| / ||g||, so the two
     * sides' trajectories stay together only while ||g|| is not small. */
    double *g = malloc(sizeof(double) * (size_t)d * d);
    if (!g) {
        fprintf(stderr, "step_bench: no memory\n");
        return 2;
    }
    ac_svm_model_loss(D, NULL, E, d, AC_SVM_HEAD_IDENTITY, ac_svm_trainer_W(tr), g);
    double gn = 0.0;
    for (size_t i = 0; i < (size_t)d * d; i++)
        gn += g[i] * g[i];
    double rate1 = gemm_rate(), rate = rate1 > rate0 ? rate1 : rate0;
    printf("{");
    print_sizes(D, d, rate);
    print_json(sec, steps, l0, ac_svm_trainer_info(tr)->loss, sqrt(gn), ac_svm_trainer_W(tr), d);
    free(g);
    free(dt);

    ac_svm_trainer_free(warm);
    ac_svm_trainer_free(tr);
    gsl_rng_free(r);
    free(W0);
    free(E);
    ac_tpg_data_free(D);
    return 0;
}
