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
 *    "grad_norm_last": ||g|| at W_final, "W_final": [[...], ...]}
 *
 * Each step is timed on its own and seconds_per_step is the median over the
 * STEPS steps, so that a burst of load from elsewhere on the machine moves it
 * little (one untimed warm-up step on a second trainer comes first, so that
 * first-touch and BLAS start-up costs are not counted; the peer does the
 * same).  Exit 0, or 2 with a message on stderr. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "verify/svm_io.h"
#include "verify/svm_model.h"

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

static void print_json(double sec, int steps, double l0, double l, double gn, const double *W, int d)
{
    printf("{\"seconds_per_step\": %.17g, \"steps\": %d, \"loss_first\": %.17g, \"loss_last\": %.17g, "
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
    double l0 = 0.0;
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
