/* The C side of the text-model step benchmark (bench/joma_text.sh compares
 * it with bench/joma_text.py, PyTorch float64, on the same weights and
 * batches).
 *
 *   joma_text_step V D STEPS SEED OUT_PREFIX [LR]
 *
 * Reads the fortunes corpus with a vocabulary of V (verify/joma_text.h),
 * draws theta0 for the model V, d = dh = D, L = 35 from an mt19937 seeded
 * with SEED (ac_joma_text_init), and runs STEPS steps of the trainer (batch
 * 20, Adam at LR, default 1e-4, clip 0.5, no dropout) on the training
 * tokens.  Writes
 *   OUT_PREFIX.theta0   theta0, nparams float64 (machine order)
 *   OUT_PREFIX.thetaN   theta after STEPS steps, the same shape
 *   OUT_PREFIX.batch    the STEPS batches, int32, STEPS x 20 x 36 (inputs
 *                       and the last target of each row: row b of step k is
 *                       tokens t .. t + 35 of the stream)
 * and prints one JSON object: V, d, L, batch, nparams, steps,
 * seconds_per_step (median of the per-step times; one untimed warm-up step
 * on a second trainer first), losses (the batch loss of every step), and
 * flops_per_step (the products of forward and backward: 3 x 2 n (4 d^2 +
 * 2 d dh + V d) + 3 x 2 n L d for the attention, n = 20 x 35 rows).
 * Exit 0, or 2 with a message on stderr. */
#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>

#include "verify/joma_text.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int write_raw(const char *prefix, const char *ext, const void *p, size_t size, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s.%s", prefix, ext);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, size, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "joma_text_step: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 6 || argc > 7) {
        fprintf(stderr, "usage: joma_text_step V D STEPS SEED OUT_PREFIX [LR]\n");
        return 2;
    }
    gsl_set_error_handler_off();
    int V = atoi(argv[1]), D = atoi(argv[2]);
    long steps = atol(argv[3]);
    unsigned long seed = strtoul(argv[4], NULL, 10);
    const char *out = argv[5];
    double lr = argc == 7 ? atof(argv[6]) : AC_JOMA_TEXT_LR_DEFAULT;
    const int B = AC_JOMA_TEXT_BATCH_DEFAULT, L = AC_JOMA_TEXT_BPTT_DEFAULT;
    ac_joma_text_corpus C;
    ac_msg msg = {{0}};
    if (ac_joma_text_corpus_read(&C, NULL, V, &msg) != AC_OK) {
        fprintf(stderr, "joma_text_step: %s\n", msg.text);
        return 2;
    }
    ac_joma_text_model m = {.V = V, .d = D, .dh = D, .L = L, .positional = 1};
    const char *why = ac_joma_text_model_check(&m);
    if (why || steps < 1) {
        fprintf(stderr, "joma_text_step: %s\n", why ? why : "STEPS must be at least 1");
        return 2;
    }
    long np = ac_joma_text_nparams(&m);
    double *th0 = malloc(sizeof(double) * (size_t)np), *sec = malloc(sizeof(double) * (size_t)steps);
    double *loss = malloc(sizeof(double) * (size_t)steps);
    int *batch = malloc(sizeof(int) * (size_t)steps * B * (L + 1));
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    ac_joma_text_trainer *tr = ac_joma_text_trainer_alloc(&m, B), *warm = ac_joma_text_trainer_alloc(&m, B);
    if (!th0 || !sec || !loss || !batch || !r || !tr || !warm) {
        fprintf(stderr, "joma_text_step: no memory\n");
        return 2;
    }
    gsl_rng_set(r, seed);
    ac_joma_text_init(&m, r, th0);
    ac_joma_text_train_settings s;
    ac_joma_text_train_settings_default(&s);
    s.steps = steps;
    s.lr = lr;
    s.dropout = 0.0; /* the peer's masks come from another generator */
    if (ac_joma_text_trainer_set(tr, C.tok, C.ntrain, &s, th0, NULL, &msg) != AC_OK ||
        ac_joma_text_trainer_set(warm, C.tok, C.ntrain, &s, th0, NULL, &msg) != AC_OK) {
        fprintf(stderr, "joma_text_step: %s\n", msg.text);
        return 2;
    }
    ac_joma_text_trainer_iterate(warm);
    /* the batches the trainer reads (its documented schedule) */
    long col = C.ntrain / B, chunks = (col - 1) / L;
    for (long k = 0; k < steps; k++)
        for (int b = 0; b < B; b++)
            for (int i = 0; i <= L; i++)
                batch[(k * B + b) * (L + 1) + i] = C.tok[(long)b * col + (k % chunks) * L + i];
    for (long k = 0; k < steps; k++) {
        double t0 = ac_clock();
        ac_joma_text_trainer_iterate(tr);
        sec[k] = ac_clock() - t0;
        loss[k] = ac_joma_text_trainer_info(tr)->loss;
    }
    if (ac_joma_text_trainer_test(tr) != AC_TRAIN_STEP_LIMIT) {
        fprintf(stderr, "joma_text_step: the run ended '%s' at step %ld\n",
                ac_train_outcome_str(ac_joma_text_trainer_test(tr)), ac_joma_text_trainer_info(tr)->steps);
        return 2;
    }
    if (write_raw(out, "theta0", th0, sizeof(double), (size_t)np) ||
        write_raw(out, "thetaN", ac_joma_text_trainer_theta(tr), sizeof(double), (size_t)np) ||
        write_raw(out, "batch", batch, sizeof(int), (size_t)steps * B * (L + 1)))
        return 2;
    qsort(sec, (size_t)steps, sizeof *sec, cmp_double);
    double n = (double)B * L, d = D;
    double flops = 3.0 * 2.0 * n * (4 * d * d + 2 * d * D + V * d) + 3.0 * 2.0 * n * L * d;
    printf("{\"V\": %d, \"d\": %d, \"L\": %d, \"batch\": %d, \"nparams\": %ld, \"steps\": %ld, "
           "\"seconds_per_step\": %.17g, \"flops_per_step\": %.17g, \"losses\": [",
           V, D, L, B, np, steps, sec[steps / 2], flops);
    for (long k = 0; k < steps; k++)
        printf("%s%.17g", k ? ", " : "", loss[k]);
    printf("]}\n");
    ac_joma_text_trainer_free(tr);
    ac_joma_text_trainer_free(warm);
    ac_joma_text_corpus_clear(&C);
    gsl_rng_free(r);
    free(th0);
    free(sec);
    free(loss);
    free(batch);
    return 0;
}
