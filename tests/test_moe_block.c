/* The tabular block of verify/moe_model.h (spec cbow_moe §3.3): the bare
 * layer agrees with theory/moe's forward pass, the gradient of both forms
 * (dropout included, masks replayed from one generator state) with central
 * differences, the trainer's first Adam step with the closed form, the
 * initialisation with Keras's limits; invalid settings are refused. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verify/moe_model.h"
#include "tests/testutil.h"

/* Weights N(0, 0.7^2) on top of the initialisation: values like 1.7312,
 * logits O(1)-O(10), LayerNorm inputs well away from constant rows. */
#define SCALE 0.7

static int pick(gsl_rng *r, int lo, int hi)
{
    return lo + (int)gsl_rng_uniform_int(r, (unsigned long)(hi - lo + 1));
}

static ac_moe_block *rand_block(gsl_rng *r, int block)
{
    ac_moe_block_sizes s = {.V = pick(r, 1, 5), .L = pick(r, 1, 4), .d = pick(r, 2, 5),
                            .H = pick(r, 1, 3), .dk = pick(r, 1, 3), .ffn = pick(r, 1, 4),
                            .block = block};
    ac_moe_block *b = ac_moe_block_alloc(&s);
    cr_assert(b, "alloc failed");
    for (size_t k = 0; k < b->n; k++)
        b->w[k] = gsl_ran_gaussian(r, SCALE);
    return b;
}

static int *rand_cells(gsl_rng *r, const ac_moe_block_sizes *s, int n)
{
    int *X = malloc((size_t)n * s->L * sizeof(int));
    for (int k = 0; k < n * s->L; k++)
        X[k] = pick(r, 0, s->V - 1);
    return X;
}

Test(moe_block, bare_layer_equals_the_theory_forward_pass)
{
    gsl_rng *r = ac_test_rng(41);
    int cases = ac_test_cases(100);
    for (int cs = 0; cs < cases; cs++) {
        ac_moe_block *b = rand_block(r, 0);
        const ac_moe_block_sizes *s = &b->s;
        ac_moe_attention m = {.s = {.V = s->V, .L = s->L, .d = s->d, .dk = s->dk, .dv = s->dk,
                                    .H = s->H, .dout = s->H * s->dk, .layers = 1, .self = 1},
                              .E = b->E, .P = b->P, .Wq = b->Wq, .Wk = b->Wk, .Wv = b->Wv,
                              .U = b->U, .c = b->c};
        ac_moe_block_opts opt = {.dropout = 0.0, .ln_eps = 1e-6};
        int *x = rand_cells(r, s, 1);
        double *lp = malloc((size_t)s->V * sizeof(double)), *lt = malloc((size_t)s->V * sizeof(double));
        ac_msg msg;
        for (int i = 0; i < s->L; i++) {
            cr_assert_eq(ac_moe_block_logp(b, &opt, x, i, lp, &msg), AC_OK, "%s", msg.text);
            cr_assert_eq(ac_moe_attention_logp(&m, x, i, lt, &msg), AC_OK, "%s", msg.text);
            /* Each path is within ac_moe_logp_tolerance (from the sizes, the
             * entries and DBL_EPSILON) of the exact value. */
            double tol = 2.0 * ac_moe_logp_tolerance(&m);
            for (int v = 0; v < s->V; v++)
                cr_assert(fabs(lp[v] - lt[v]) <= tol, "seed %lu case %d slot %d: %.17g vs %.17g",
                          ac_test_seed(41), cs, i, lp[v], lt[v]);
        }
        free(lp);
        free(lt);
        free(x);
        ac_moe_block_free(b);
    }
    gsl_rng_free(r);
}

/* Central differences of the loss in every weight against the gradient,
 * with the dropout masks replayed from the same generator state. */
static void check_gradient(unsigned long seed, int block, double dropout)
{
    gsl_rng *r = ac_test_rng(seed), *drop = gsl_rng_alloc(gsl_rng_mt19937),
            *base = gsl_rng_alloc(gsl_rng_mt19937);
    int cases = ac_test_cases(30);
    for (int cs = 0; cs < cases; cs++) {
        ac_moe_block *b = rand_block(r, block), *g = ac_moe_block_alloc(&b->s);
        int n = pick(r, 1, 3);
        int *X = rand_cells(r, &b->s, n);
        ac_moe_block_opts opt = {.dropout = dropout, .ln_eps = 1e-6};
        gsl_rng_set(base, seed + (unsigned long)cs);
        double loss;
        ac_msg msg;
        gsl_rng_memcpy(drop, base);
        cr_assert_eq(ac_moe_block_loss(b, &opt, n, X, 0, NULL, drop, &loss, g, &msg), AC_OK, "%s",
                     msg.text);
        for (size_t j = 0; j < b->n; j++) {
            /* h = eps^(1/3) balances the truncation h^2 |f'''| / 6 against
             * the rounding eps |f| / h, both ~ eps^(2/3) M with M bounding
             * |f| and |f'''| (below 1e3 at these weights).  A ReLU kink
             * within h of a pre-activation would break the expansion; with
             * N(0, 0.7^2) weights its chance per case is ~1e-5. */
            double w0 = b->w[j], h = cbrt(DBL_EPSILON) * fmax(1.0, fabs(w0)), lp, lm;
            b->w[j] = w0 + h;
            gsl_rng_memcpy(drop, base);
            ac_moe_block_loss(b, &opt, n, X, 0, NULL, drop, &lp, NULL, NULL);
            b->w[j] = w0 - h;
            gsl_rng_memcpy(drop, base);
            ac_moe_block_loss(b, &opt, n, X, 0, NULL, drop, &lm, NULL, NULL);
            b->w[j] = w0;
            double fd = (lp - lm) / (2.0 * h);
            double tol = 1e3 * pow(DBL_EPSILON, 2.0 / 3.0) * (1.0 + fabs(fd));
            cr_assert(fabs(fd - g->w[j]) <= tol, "seed %lu case %d block %d weight %zu: grad %.12g fd %.12g",
                      ac_test_seed(seed), cs, block, j, g->w[j], fd);
        }
        free(X);
        ac_moe_block_free(g);
        ac_moe_block_free(b);
    }
    gsl_rng_free(r);
    gsl_rng_free(drop);
    gsl_rng_free(base);
}

Test(moe_block, bare_gradient_matches_central_differences) { check_gradient(42, 0, 0.0); }
Test(moe_block, block_gradient_matches_central_differences) { check_gradient(43, 1, 0.0); }
Test(moe_block, block_gradient_with_dropout_matches_central_differences) { check_gradient(44, 1, 0.37); }

Test(moe_block, a_chosen_example_list_gives_the_mean_of_its_examples)
{
    gsl_rng *r = ac_test_rng(45);
    ac_moe_block *b = rand_block(r, 1);
    int n = 3, L = b->s.L, *X = rand_cells(r, &b->s, n);
    ac_moe_block_opts opt = {.dropout = 0.0, .ln_eps = 1e-6};
    double all, sum = 0.0;
    cr_assert_eq(ac_moe_block_loss(b, &opt, n, X, 0, NULL, NULL, &all, NULL, NULL), AC_OK);
    double *lp = malloc((size_t)b->s.V * sizeof(double));
    for (int row = 0; row < n; row++)
        for (int i = 0; i < L; i++) {
            int ex[2] = {row, i};
            double one;
            cr_assert_eq(ac_moe_block_loss(b, &opt, n, X, 1, ex, NULL, &one, NULL, NULL), AC_OK);
            cr_assert_eq(ac_moe_block_logp(b, &opt, X + row * L, i, lp, NULL), AC_OK);
            /* The same forward pass on both sides: equal to rounding. */
            cr_assert(fabs(one + lp[X[row * L + i]]) <= 8 * DBL_EPSILON * fabs(one) + 1e-300);
            sum += one;
        }
    /* The mean of n L terms: n L roundings of relative size eps. */
    cr_assert(fabs(sum / (n * L) - all) <= 4.0 * n * L * DBL_EPSILON * fabs(all));
    free(lp);
    free(X);
    ac_moe_block_free(b);
    gsl_rng_free(r);
}

Test(moe_block, initialisation_respects_keras_limits)
{
    gsl_rng *r = ac_test_rng(46);
    ac_moe_block_sizes s;
    ac_moe_block_sizes_default(&s);
    ac_moe_block *b = ac_moe_block_alloc(&s);
    ac_moe_block_init(b, r);
    double d = s.d, H = s.H, dk = s.dk, f = s.ffn, V = s.V, L = s.L;
    struct {
        const double *x;
        size_t n;
        double lim;
    } a[] = {{b->E, (size_t)(s.V + 1) * s.d, AC_MOE_MLM_EMBED_LIMIT},
             {b->P, (size_t)s.L * s.d, sqrt(6 / (L + d))},
             {b->Wq, (size_t)(H * dk * d), sqrt(6 / (H * d + dk * d))},
             {b->Wo, (size_t)(H * dk * d), sqrt(6 / (dk * H + d * H))},
             {b->F1, (size_t)(f * d), sqrt(6 / (d + f))},
             {b->U, (size_t)(V * d), sqrt(6 / (d + V))}};
    for (size_t k = 0; k < sizeof a / sizeof a[0]; k++) {
        double mx = 0.0;
        for (size_t j = 0; j < a[k].n; j++)
            mx = fmax(mx, fabs(a[k].x[j]));
        /* Inside the limit, and (with >= 100 uniform draws) above half of it:
         * P(all below lim/2) = 2^-100. */
        cr_assert(mx <= a[k].lim && mx > 0.5 * a[k].lim, "array %zu: max %g limit %g", k, mx, a[k].lim);
    }
    for (int c = 0; c < s.d; c++)
        cr_assert(b->g1[c] == 1.0 && b->g2[c] == 1.0 && b->b1[c] == 0.0 && b->bo[c] == 0.0);
    ac_moe_block_free(b);
    gsl_rng_free(r);
}

Test(moe_block, first_adam_step_equals_the_closed_form)
{
    gsl_rng *r = ac_test_rng(47);
    ac_moe_block *b = rand_block(r, 1), *g = ac_moe_block_alloc(&b->s);
    int n = 4, *X = rand_cells(r, &b->s, n);
    ac_moe_block_train_settings set;
    ac_moe_block_train_settings_default(&set);
    set.lr = 0.037;
    set.dropout = 0.0;     /* the step's gradient is then the full-batch one */
    set.batch = n * b->s.L; /* one batch holds every example */
    ac_moe_block_trainer *tr = ac_moe_block_trainer_alloc(&b->s, n);
    ac_msg msg;
    cr_assert_eq(ac_moe_block_trainer_set(tr, n, X, b, &set, r, &msg), AC_OK, "%s", msg.text);
    ac_moe_block_opts opt = {.dropout = 0.0, .ln_eps = set.ln_eps};
    double loss;
    ac_moe_block_loss(b, &opt, n, X, 0, NULL, NULL, &loss, g, NULL);
    ac_moe_block_trainer_iterate(tr);
    const ac_moe_block *cur = ac_moe_block_trainer_model(tr);
    /* The batch is the whole set in shuffled order: its mean loss equals
     * the loss up to the reordering of n L terms. */
    cr_assert(fabs(ac_moe_block_trainer_info(tr)->loss - loss) <= 4.0 * n * b->s.L * DBL_EPSILON * loss);
    double b2 = set.beta2, lr = set.lr, eps = set.epsilon;
    for (size_t j = 0; j < b->n; j++) {
        double gj = g->w[j];
        double want = b->w[j] - lr * sqrt(1 - b2) * gj / (sqrt(1 - b2) * fabs(gj) + eps);
        /* The gradient summed in another order: relative error ~ n L eps
         * in g, which moves the step by at most lr n L eps |g| eps-scaled;
         * 16 eps (|w| + lr) covers both sides. */
        cr_assert(fabs(cur->w[j] - want) <= 16 * DBL_EPSILON * (fabs(want) + lr) + lr * 1e-9,
                  "weight %zu: %.17g want %.17g", j, cur->w[j], want);
    }
    ac_moe_block_trainer_free(tr);
    ac_moe_block_free(g);
    ac_moe_block_free(b);
    free(X);
    gsl_rng_free(r);
}

Test(moe_block, training_lowers_the_loss_on_a_learnable_table)
{
    /* Rows (a, a, a): every cell predicts the others exactly. */
    gsl_rng *r = ac_test_rng(48);
    ac_moe_block_sizes s;
    ac_moe_block_sizes_default(&s);
    s.V = 4, s.L = 3;
    int n = 64, *X = malloc((size_t)n * 3 * sizeof(int));
    for (int k = 0; k < n; k++)
        X[3 * k] = X[3 * k + 1] = X[3 * k + 2] = k % 4;
    ac_moe_block *b = ac_moe_block_alloc(&s);
    ac_moe_block_init(b, r);
    ac_moe_block_train_settings set;
    ac_moe_block_train_settings_default(&set);
    set.steps = 400;
    set.lr = 0.01;
    ac_moe_block_trainer *tr = ac_moe_block_trainer_alloc(&s, n);
    cr_assert_eq(ac_moe_block_trainer_set(tr, n, X, b, &set, r, NULL), AC_OK);
    cr_assert_eq(ac_moe_block_trainer_run(tr, set.steps), AC_TRAIN_STEP_LIMIT);
    int *pred = malloc((size_t)n * sizeof(int));
    ac_moe_block_opts opt = {.dropout = 0.0, .ln_eps = set.ln_eps};
    cr_assert_eq(ac_moe_block_predict(ac_moe_block_trainer_model(tr), &opt, n, X, pred, NULL), AC_OK);
    for (int k = 0; k < n; k++)
        cr_assert_eq(pred[k], X[3 * k + 2], "row %d", k);
    /* From log 4 = 1.39 nats at the start; every prediction is right (above),
     * and below 0.2 the right class has a mean log-probability above -0.2
     * (probability > 0.82): learned with a margin, not by a hair. */
    cr_assert(ac_moe_block_trainer_info(tr)->loss < 0.2, "loss %g", ac_moe_block_trainer_info(tr)->loss);
    free(pred);
    free(X);
    ac_moe_block_trainer_free(tr);
    ac_moe_block_free(b);
    gsl_rng_free(r);
}

Test(moe_block, invalid_settings_sizes_and_cells_are_refused)
{
    ac_moe_block_sizes s;
    ac_moe_block_sizes_default(&s);
    ac_moe_block_sizes bad = s;
    bad.d = 0;
    cr_assert(ac_moe_block_sizes_check(&bad));
    cr_assert_null(ac_moe_block_alloc(&bad));
    bad = s;
    bad.block = 2;
    cr_assert(ac_moe_block_sizes_check(&bad));
    bad = s;
    bad.ffn = 0;
    cr_assert(ac_moe_block_sizes_check(&bad));
    bad.block = 0; /* the bare layer has no FFN */
    cr_assert_null(ac_moe_block_sizes_check(&bad));
    ac_moe_block_train_settings set, t;
    ac_moe_block_train_settings_default(&set);
    cr_assert_null(ac_moe_block_train_settings_check(&set));
    cr_assert_not_null(ac_moe_block_train_settings_check(NULL));
    t = set, t.dropout = 1.0;
    cr_assert(ac_moe_block_train_settings_check(&t));
    t = set, t.dropout = -0.1;
    cr_assert(ac_moe_block_train_settings_check(&t));
    t = set, t.ln_eps = 0.0;
    cr_assert(ac_moe_block_train_settings_check(&t));
    t = set, t.batch = 0;
    cr_assert(ac_moe_block_train_settings_check(&t));
    t = set, t.lr = NAN;
    cr_assert(ac_moe_block_train_settings_check(&t));
    cr_assert_eq(ac_moe_block_steps_per_epoch(2000, 6, 128), 94); /* spec §3.3: 94 steps */
    ac_moe_block *b = ac_moe_block_alloc(&s);
    ac_moe_block_opts opt = {.dropout = 0.0, .ln_eps = 1e-6};
    int X[6] = {0, 1, 2, 3, 4, 10};
    double loss;
    ac_msg msg;
    cr_assert_eq(ac_moe_block_loss(b, &opt, 1, X, 0, NULL, NULL, &loss, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "category 10"), "%s", msg.text);
    X[5] = 9;
    b->w[3] = NAN;
    cr_assert_eq(ac_moe_block_loss(b, &opt, 1, X, 0, NULL, NULL, &loss, NULL, &msg), AC_EINVAL);
    b->w[3] = 0.0;
    int ex[2] = {1, 0};
    cr_assert_eq(ac_moe_block_loss(b, &opt, 1, X, 1, ex, NULL, &loss, NULL, &msg), AC_EINVAL);
    ac_moe_block_trainer *tr = ac_moe_block_trainer_alloc(&s, 1);
    cr_assert_eq(ac_moe_block_trainer_set(tr, 1, X, b, &set, NULL, &msg), AC_EINVAL);
    cr_assert_eq(ac_moe_block_trainer_set(tr, 2, X, b, &set, NULL, &msg), AC_ESIZE);
    ac_moe_block_trainer_free(tr);
    ac_moe_block_free(b);
}

Test(moe_block, a_blown_up_step_ends_the_run_as_diverged_and_keeps_finite_weights)
{
    gsl_rng *r = ac_test_rng(49);
    ac_moe_block *b = rand_block(r, 1);
    int n = 3, *X = rand_cells(r, &b->s, n);
    ac_moe_block_train_settings set;
    ac_moe_block_train_settings_default(&set);
    set.lr = 1e300; /* the first update overflows or blows the loss up */
    set.steps = 50;
    ac_moe_block_trainer *tr = ac_moe_block_trainer_alloc(&b->s, n);
    cr_assert_eq(ac_moe_block_trainer_set(tr, n, X, b, &set, r, NULL), AC_OK);
    cr_assert_eq(ac_moe_block_trainer_run(tr, set.steps), AC_TRAIN_DIVERGED);
    const ac_moe_block *cur = ac_moe_block_trainer_model(tr);
    for (size_t j = 0; j < cur->n; j++)
        cr_assert(isfinite(cur->w[j]), "weight %zu", j);
    cr_assert(ac_moe_block_trainer_info(tr)->steps < set.steps);
    ac_moe_block_trainer_free(tr);
    ac_moe_block_free(b);
    free(X);
    gsl_rng_free(r);
}
