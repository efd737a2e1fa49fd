/* One MLM training step of the authors' tabular block (verify/moe_model.h,
 * ac_moe_block_*, spec cbow_moe §3.3), timed: the C side of the block part
 * of the CBOW-MoE step benchmark (bench/moe.sh compares it with
 * bench/moe_block_torch.py).
 *
 *   moe_block_step N NEX SEED STEPS OUT_PREFIX
 *
 * Sizes: ac_moe_block_sizes_default (V = 10 categories plus the mask token,
 * L = 6 columns, d 20, 5 heads of 4, FFN 5: the simulation's shape that
 * moe_tabular trains).  From an mt19937 seeded with SEED it draws the
 * Keras-like initial block (ac_moe_block_init; then the biases and the
 * LayerNorm gains and offsets moved by up to BIAS_SHIFT off 0 and 1, so
 * that their paths count in the comparison), a table of N rows of L
 * uniform cells and NEX uniform masked cells (row, slot).  Dropout is OFF
 * on both sides (probability 0 in the loss and in the trainer) so that the
 * loss and the step are deterministic and comparable; LayerNorm epsilon is
 * the default 1e-6.  Writes, as plain text with 17 significant digits:
 *   OUT_PREFIX.model.json  {"sizes": {...}, "ln_eps": .., "E": [...], ...}
 *                          every array flat, row-major in the header's layout
 *   OUT_PREFIX.data        N lines of L cells
 *   OUT_PREFIX.ex          NEX lines "row slot"
 *   OUT_PREFIX.grad.json   {"loss": .., "E": [...], ...}: ac_moe_block_loss
 *                          over those NEX cells at the initial block
 * then runs STEPS Adam steps of the block trainer (batch NEX, Keras's
 * constants, dropout 0) on the table and prints one JSON object
 * {"seconds_per_step", "steps", "loss0", sizes}: the median of the steps
 * timed one by one, after one untimed warm-up step on a second trainer.
 * Exit 0, or 2 with a message on stderr. */
#include <gsl/gsl_rng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/atomic.h"
#include "verify/moe_model.h"

/* Half-width of the shift of biases and gains off Keras's 0 and 1: of the
 * order of the initial kernel entries, so the block stays near its Keras
 * start. */
#define BIAS_SHIFT 0.1

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int die(const char *what, const ac_msg *msg)
{
    fprintf(stderr, "moe_block_step: %s: %s\n", what, msg ? msg->text : "");
    return 2;
}

/* The block's named arrays and their lengths, in the header's order. */
static int write_arrays(FILE *f, const ac_moe_block *b)
{
    const ac_moe_block_sizes *s = &b->s;
    const size_t d = (size_t)s->d, hk = (size_t)s->H * (size_t)s->dk, ff = (size_t)s->ffn;
    const size_t V = (size_t)s->V;
    struct {
        const char *name;
        const double *a;
        size_t n;
    } t[] = {{"E", b->E, (V + 1) * d}, {"P", b->P, (size_t)s->L * d},
             {"Wq", b->Wq, hk * d},    {"bq", b->bq, hk},
             {"Wk", b->Wk, hk * d},    {"bk", b->bk, hk},
             {"Wv", b->Wv, hk * d},    {"bv", b->bv, hk},
             {"Wo", b->Wo, d * hk},    {"bo", b->bo, d},
             {"g1", b->g1, d},         {"b1", b->b1, d},
             {"F1", b->F1, ff * d},    {"f1", b->f1, ff},
             {"F2", b->F2, d * ff},    {"f2", b->f2, d},
             {"g2", b->g2, d},         {"b2", b->b2, d},
             {"U", b->U, V * d},       {"c", b->c, V}};
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        fprintf(f, ", \"%s\": [", t[k].name);
        for (size_t i = 0; i < t[k].n; i++)
            fprintf(f, "%s%.17g", i ? ", " : "", t[k].a[i]);
        fputc(']', f);
    }
    return ferror(f) ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: moe_block_step N NEX SEED STEPS OUT_PREFIX\n");
        return 2;
    }
    ac_moe_block_sizes s;
    ac_moe_block_sizes_default(&s);
    const int n = atoi(argv[1]), nex = atoi(argv[2]);
    const unsigned long seed = strtoul(argv[3], NULL, 10);
    const long steps = atol(argv[4]);
    const char *prefix = argv[5];
    if (n < 1 || nex < 1 || nex > n * s.L || steps < 1)
        return die("bad arguments", NULL);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    ac_moe_block *b0 = ac_moe_block_alloc(&s), *grad = ac_moe_block_alloc(&s);
    int *X = malloc(sizeof *X * (size_t)n * s.L), *ex = malloc(sizeof *ex * 2 * (size_t)nex);
    double *t = malloc(sizeof *t * (size_t)steps);
    if (!r || !b0 || !grad || !X || !ex || !t)
        return die("out of memory", NULL);
    ac_moe_block_init(b0, r);
    /* Keras starts biases at 0 and LayerNorm gains at 1, where a bias added
     * with the wrong sign or a gain misapplied would go unseen by the
     * comparison; shift each of them by U(-BIAS_SHIFT, BIAS_SHIFT) so that
     * every forward path counts (both sides read these weights). */
    double *shifted[] = {b0->bq, b0->bk, b0->bv, b0->bo, b0->g1, b0->b1,
                         b0->f1, b0->f2, b0->g2, b0->b2, b0->c};
    const int shifted_n[] = {s.H * s.dk, s.H * s.dk, s.H * s.dk, s.d, s.d, s.d,
                             s.ffn, s.d, s.d, s.d, s.V};
    for (size_t a = 0; a < sizeof shifted / sizeof shifted[0]; a++)
        for (int i = 0; i < shifted_n[a]; i++)
            shifted[a][i] += BIAS_SHIFT * (2.0 * gsl_rng_uniform(r) - 1.0);
    for (long k = 0; k < (long)n * s.L; k++)
        X[k] = (int)gsl_rng_uniform_int(r, (unsigned long)s.V);
    for (int k = 0; k < nex; k++) {
        ex[2 * k] = (int)gsl_rng_uniform_int(r, (unsigned long)n);
        ex[2 * k + 1] = (int)gsl_rng_uniform_int(r, (unsigned long)s.L);
    }
    /* Dropout off: the prediction pass (r NULL) with probability 0. */
    const ac_moe_block_opts opt = {.dropout = 0.0, .ln_eps = AC_MOE_BLOCK_LN_EPS_DEFAULT};
    ac_msg msg = {{0}};
    double loss0;
    if (ac_moe_block_loss(b0, &opt, n, X, nex, ex, NULL, &loss0, grad, &msg) != AC_OK)
        return die("loss", &msg);

    char path[4096];
    snprintf(path, sizeof path, "%s.model.json", prefix);
    FILE *f = fopen(path, "w");
    if (!f)
        return die(path, NULL);
    fprintf(f, "{\"sizes\": {\"V\": %d, \"L\": %d, \"d\": %d, \"H\": %d, \"dk\": %d, \"ffn\": %d}, "
               "\"ln_eps\": %.17g",
            s.V, s.L, s.d, s.H, s.dk, s.ffn, opt.ln_eps);
    if (write_arrays(f, b0) || fputs("}\n", f) == EOF || fclose(f))
        return die(path, NULL);
    snprintf(path, sizeof path, "%s.grad.json", prefix);
    if (!(f = fopen(path, "w")))
        return die(path, NULL);
    fprintf(f, "{\"loss\": %.17g", loss0);
    if (write_arrays(f, grad) || fputs("}\n", f) == EOF || fclose(f))
        return die(path, NULL);
    snprintf(path, sizeof path, "%s.data", prefix);
    if (!(f = fopen(path, "w")))
        return die(path, NULL);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < s.L; j++)
            fprintf(f, "%d%c", X[i * s.L + j], j + 1 < s.L ? ' ' : '\n');
    if (fclose(f))
        return die(path, NULL);
    snprintf(path, sizeof path, "%s.ex", prefix);
    if (!(f = fopen(path, "w")))
        return die(path, NULL);
    for (int k = 0; k < nex; k++)
        fprintf(f, "%d %d\n", ex[2 * k], ex[2 * k + 1]);
    if (fclose(f))
        return die(path, NULL);

    ac_moe_block_train_settings set;
    ac_moe_block_train_settings_default(&set);
    set.batch = nex;
    set.steps = steps + 1;
    set.dropout = 0.0;
    ac_moe_block_trainer *warm = ac_moe_block_trainer_alloc(&s, n), *tr = ac_moe_block_trainer_alloc(&s, n);
    if (!warm || !tr)
        return die("out of memory", NULL);
    if (ac_moe_block_trainer_set(warm, n, X, b0, &set, r, &msg) != AC_OK)
        return die("set", &msg);
    if (ac_moe_block_trainer_iterate(warm) != AC_OK)
        return die("warm-up step", NULL);
    if (ac_moe_block_trainer_set(tr, n, X, b0, &set, r, &msg) != AC_OK)
        return die("set", &msg);
    for (long k = 0; k < steps; k++) {
        double t0 = ac_clock();
        const ac_status st = ac_moe_block_trainer_iterate(tr);
        t[k] = ac_clock() - t0;
        if (st != AC_OK)
            return die("step", NULL);
    }
    /* iterate returns AC_OK without stepping once a run has ended: make sure
     * every timed call was a step. */
    const ac_train_info *info = ac_moe_block_trainer_info(tr);
    if (info->steps != steps || info->outcome != AC_TRAIN_RUNNING)
        return die("the trainer stopped before the last timed step", NULL);
    qsort(t, (size_t)steps, sizeof *t, cmp_double);
    printf("{\"seconds_per_step\": %.6e, \"steps\": %ld, \"loss0\": %.17g, \"V\": %d, \"L\": %d, "
           "\"d\": %d, \"H\": %d, \"dk\": %d, \"ffn\": %d, \"n\": %d, \"batch\": %d}\n",
           t[steps / 2], steps, loss0, s.V, s.L, s.d, s.H, s.dk, s.ffn, n, nex);
    ac_moe_block_trainer_free(warm);
    ac_moe_block_trainer_free(tr);
    ac_moe_block_free(b0);
    ac_moe_block_free(grad);
    gsl_rng_free(r);
    free(X);
    free(ex);
    free(t);
    return 0;
}
