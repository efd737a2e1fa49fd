/* One MLM training step of the bare single-layer attention model
 * (verify/moe_model.h), timed: the C side of the CBOW-MoE step benchmark
 * (bench/moe.sh compares it with bench/moe_torch.py).
 *
 *   moe_step V L D DK DV H N SEED STEPS OUT_PREFIX
 *
 * Draws the Keras-like initial model (ac_moe_mlm_init) and N sentences of L
 * uniform words from an mt19937 seeded with SEED; writes OUT_PREFIX.model.json
 * (verify/moe_io.h's format, 17 digits, so the peer starts from the same
 * doubles), OUT_PREFIX.data (N lines of L words) and OUT_PREFIX.grad.json
 * (the loss and gradient at the initial model, same format); then runs
 * STEPS Adam steps on the whole set (batch = N) with the trainer and prints
 * one JSON object {"seconds_per_step", "steps", "loss0", "loss_last", sizes}.
 * Each step is timed on its own and the median is reported, after one
 * untimed warm-up step on a second trainer (first touch, BLAS start-up),
 * as the peer does.  Exit 0, or 2 with a message on stderr. */
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/atomic.h"
#include "verify/moe_io.h"
#include "verify/moe_model.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int die(const char *what, const ac_msg *msg)
{
    fprintf(stderr, "moe_step: %s: %s\n", what, msg ? msg->text : "");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc != 11) {
        fprintf(stderr, "usage: moe_step V L D DK DV H N SEED STEPS OUT_PREFIX\n");
        return 2;
    }
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    s.V = atoi(argv[1]), s.L = atoi(argv[2]), s.d = atoi(argv[3]), s.dk = atoi(argv[4]);
    s.dv = atoi(argv[5]), s.H = atoi(argv[6]);
    s.dout = s.H * s.dv;
    const int n = atoi(argv[7]);
    const unsigned long seed = strtoul(argv[8], NULL, 10);
    const long steps = atol(argv[9]);
    const char *prefix = argv[10];
    if (ac_moe_mlm_sizes_check(&s) || n < 1 || steps < 1)
        return die("bad sizes", NULL);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    ac_moe_model *m0 = ac_moe_mlm_model_alloc(&s), *grad = ac_moe_mlm_model_alloc(&s);
    int *X = malloc(sizeof *X * (size_t)n * s.L);
    double *t = malloc(sizeof *t * (size_t)steps);
    if (!m0 || !grad || !X || !t)
        return die("out of memory", NULL);
    ac_moe_mlm_init(m0, r);
    for (long k = 0; k < (long)n * s.L; k++)
        X[k] = (int)gsl_rng_uniform_int(r, (unsigned long)s.V);
    ac_msg msg = {{0}};
    char path[4096];
    snprintf(path, sizeof path, "%s.model.json", prefix);
    if (ac_atomic_write(path, ac_moe_model_write, m0, &msg) != AC_OK)
        return die(path, &msg);
    snprintf(path, sizeof path, "%s.data", prefix);
    FILE *f = fopen(path, "w");
    if (!f)
        return die(path, NULL);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s.L; j++)
            fprintf(f, "%d%c", X[i * s.L + j], j + 1 < s.L ? ' ' : '\n');
    fclose(f);
    double loss0;
    if (ac_moe_mlm_loss(&m0->m, n, X, &loss0, grad, &msg) != AC_OK)
        return die("loss", &msg);
    snprintf(path, sizeof path, "%s.grad.json", prefix);
    if (ac_atomic_write(path, ac_moe_model_write, grad, &msg) != AC_OK)
        return die(path, &msg);

    ac_moe_train_settings set;
    ac_moe_train_settings_default(&set);
    set.batch = n;
    set.steps = steps;
    ac_moe_trainer *warm = ac_moe_trainer_alloc(&s, n), *tr = ac_moe_trainer_alloc(&s, n);
    if (!warm || !tr)
        return die("out of memory", NULL);
    if (ac_moe_trainer_set(warm, n, X, m0, &set, NULL, &msg) != AC_OK)
        return die("set", &msg);
    ac_moe_trainer_iterate(warm);
    if (ac_moe_trainer_set(tr, n, X, m0, &set, NULL, &msg) != AC_OK)
        return die("set", &msg);
    for (long k = 0; k < steps; k++) {
        double t0 = ac_clock();
        ac_moe_trainer_iterate(tr);
        t[k] = ac_clock() - t0;
    }
    const double loss_last = ac_moe_trainer_info(tr)->loss;
    qsort(t, (size_t)steps, sizeof *t, cmp_double);
    printf("{\"seconds_per_step\": %.6e, \"steps\": %ld, \"loss0\": %.17g, \"loss_last\": %.17g, "
           "\"V\": %d, \"L\": %d, \"d\": %d, \"dk\": %d, \"dv\": %d, \"H\": %d, \"n\": %d}\n",
           t[steps / 2], steps, loss0, loss_last, s.V, s.L, s.d, s.dk, s.dv, s.H, n);
    ac_moe_trainer_free(warm);
    ac_moe_trainer_free(tr);
    ac_moe_model_free(m0);
    ac_moe_model_free(grad);
    gsl_rng_free(r);
    free(X);
    free(t);
    return 0;
}
