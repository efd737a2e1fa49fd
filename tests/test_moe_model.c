/* The bare attention MLM trainer (verify/moe_model.h, spec cbow_moe §1,
 * §3.3, §6): its loss agrees with theory/moe's forward pass, its gradient
 * with central differences, its Adam steps with the closed form, its
 * initialisation with Keras's limits; invalid settings and the endings. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verify/moe_model.h"
#include "tests/testutil.h"

/* Weights N(0, 0.7^2): values like 1.7312, logits O(1)-O(10). */
#define SCALE 0.7

static int pick(gsl_rng *r, int lo, int hi)
{
    return lo + (int)gsl_rng_uniform_int(r, (unsigned long)(hi - lo + 1));
}

/* Random sizes (1 included everywhere) and weights. */
static ac_moe_model *rand_model(gsl_rng *r)
{
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    s.V = pick(r, 1, 5), s.L = pick(r, 1, 4), s.d = pick(r, 1, 4);
    s.dk = pick(r, 1, 3), s.dv = pick(r, 1, 3), s.H = pick(r, 1, 2);
    s.dout = s.H * s.dv;
    s.self = s.L == 1 ? 1 : pick(r, 0, 1);
    ac_moe_model *mm = ac_moe_mlm_model_alloc(&s);
    cr_assert(mm, "alloc failed for V %d L %d d %d", s.V, s.L, s.d);
    ac_moe_model_randomize(mm, r, SCALE);
    return mm;
}

static int *rand_words(gsl_rng *r, const ac_moe_sizes *s, int n)
{
    int *X = malloc((size_t)n * s->L * sizeof(int));
    for (int k = 0; k < n * s->L; k++)
        X[k] = pick(r, 0, s->V - 1);
    return X;
}

/* The arrays of a trained model, in the order of ac_moe_mlm_init. */
static int arrays(const ac_moe_model *mm, double **p, size_t *n)
{
    const ac_moe_sizes *s = &mm->m.s;
    size_t V = s->V, L = s->L, d = s->d, dk = s->dk, dv = s->dv, H = s->H;
    double *pp[7] = {mm->E, mm->P, mm->Wq, mm->Wk, mm->Wv, mm->U, mm->c};
    size_t nn[7] = {(V + 1) * d, L * d, H * dk * d, H * dk * d, H * dv * d, V * H * dv, V};
    memcpy(p, pp, sizeof pp);
    memcpy(n, nn, sizeof nn);
    return 7;
}

Test(moe_model, loss_equals_the_theory_forward_pass)
{
    gsl_rng *r = ac_test_rng(31);
    int cases = ac_test_cases(200);
    for (int cs = 0; cs < cases; cs++) {
        ac_moe_model *mm = rand_model(r);
        const ac_moe_sizes *s = &mm->m.s;
        int n = pick(r, 1, 4);
        int *X = rand_words(r, s, n);
        double loss;
        ac_msg msg;
        cr_assert_eq(ac_moe_mlm_loss(&mm->m, n, X, &loss, NULL, &msg), AC_OK, "%s", msg.text);
        /* The other side: theory/moe's own forward pass, cell by cell. */
        double *lp = malloc((size_t)s->V * sizeof(double)), ref = 0.0;
        for (int k = 0; k < n; k++)
            for (int i = 0; i < s->L; i++) {
                cr_assert_eq(ac_moe_attention_logp(&mm->m, X + k * s->L, i, lp, &msg), AC_OK);
                ref -= lp[X[k * s->L + i]];
            }
        ref /= (double)n * s->L;
        /* Each cell's log p on either path is within ac_moe_logp_tolerance
         * (derived from the sizes, the entries and DBL_EPSILON) of the exact
         * value, so their difference within twice that; the mean of n L
         * terms adds n L DBL_EPSILON |loss| on each side. */
        double tol = 2.0 * ac_moe_logp_tolerance(&mm->m) + 2.0 * n * s->L * DBL_EPSILON * fabs(ref);
        cr_assert(fabs(loss - ref) <= tol, "seed %lu case %d: loss %.17g theory %.17g tol %g",
                  ac_test_seed(31), cs, loss, ref, tol);
        free(lp);
        free(X);
        ac_moe_model_free(mm);
    }
    gsl_rng_free(r);
}

Test(moe_model, gradient_matches_central_differences_from_size_1)
{
    gsl_rng *r = ac_test_rng(32);
    int cases = ac_test_cases(60);
    for (int cs = 0; cs < cases; cs++) {
        ac_moe_model *mm = rand_model(r), *g = ac_moe_mlm_model_alloc(&mm->m.s);
        int n = pick(r, 1, 3);
        int *X = rand_words(r, &mm->m.s, n);
        double loss;
        cr_assert_eq(ac_moe_mlm_loss(&mm->m, n, X, &loss, g, NULL), AC_OK);
        double *p[7], *gp[7];
        size_t len[7];
        arrays(mm, p, len);
        arrays(g, gp, len);
        for (int a = 0; a < 7; a++)
            for (size_t j = 0; j < len[a]; j++) {
                /* h = eps^(1/3) balances the truncation h^2 |f'''| / 6 against
                 * the rounding eps |f| / h: both ~ eps^(2/3) M with M bounding
                 * |f| and |f'''|; weights of scale 0.7 keep M below 1e3. */
                double w0 = p[a][j], h = cbrt(DBL_EPSILON) * fmax(1.0, fabs(w0)), lp, lm;
                p[a][j] = w0 + h;
                ac_moe_mlm_loss(&mm->m, n, X, &lp, NULL, NULL);
                p[a][j] = w0 - h;
                ac_moe_mlm_loss(&mm->m, n, X, &lm, NULL, NULL);
                p[a][j] = w0;
                double fd = (lp - lm) / (2.0 * h);
                double tol = 1e3 * pow(DBL_EPSILON, 2.0 / 3.0) * (1.0 + fabs(fd));
                cr_assert(fabs(fd - gp[a][j]) <= tol,
                          "seed %lu case %d array %d entry %zu: grad %.12g fd %.12g",
                          ac_test_seed(32), cs, a, j, gp[a][j], fd);
            }
        free(X);
        ac_moe_model_free(g);
        ac_moe_model_free(mm);
    }
    gsl_rng_free(r);
}

/* A small problem for the trainer: sizes, random start, sentences. */
static ac_moe_model *problem(gsl_rng *r, int n, int **X)
{
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    s.V = 4, s.L = 3, s.d = 3, s.dk = 2, s.dv = 2, s.H = 2, s.dout = 4;
    ac_moe_model *mm = ac_moe_mlm_model_alloc(&s);
    cr_assert(mm);
    ac_moe_model_randomize(mm, r, SCALE);
    *X = rand_words(r, &s, n);
    return mm;
}

Test(moe_train, first_adam_steps_equal_the_closed_form)
{
    gsl_rng *r = ac_test_rng(33);
    int n = 5, *X;
    ac_moe_model *mm = problem(r, n, &X);
    const ac_moe_sizes *s = &mm->m.s;
    ac_moe_train_settings set;
    ac_moe_train_settings_default(&set);
    set.lr = 0.037; /* a step visible against the weights */
    ac_moe_trainer *tr = ac_moe_trainer_alloc(s, n);
    ac_msg msg;
    cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, r, &msg), AC_OK, "%s", msg.text);
    ac_moe_model *g1 = ac_moe_mlm_model_alloc(s), *g2 = ac_moe_mlm_model_alloc(s),
                 *w1 = ac_moe_mlm_model_alloc(s);
    double loss;
    ac_moe_mlm_loss(&mm->m, n, X, &loss, g1, NULL);
    ac_moe_trainer_iterate(tr);
    const ac_moe_model *cur = ac_moe_trainer_model(tr);
    double *p0[7], *pg1[7], *pc[7], *pw1[7], *pg2[7];
    size_t len[7];
    arrays(mm, p0, len);
    arrays(g1, pg1, len);
    arrays(cur, pc, len);
    arrays(w1, pw1, len);
    double b1 = set.beta1, b2 = set.beta2, lr = set.lr, eps = set.epsilon;
    /* Step 1 from zero moments: w1 = w0 - lr sqrt(1-b2)/(1-b1) (1-b1) g /
     * (sqrt((1-b2) g^2) + eps).  A handful of roundings on each side:
     * 16 eps (|w| + lr). */
    for (int a = 0; a < 7; a++)
        for (size_t j = 0; j < len[a]; j++) {
            double g = pg1[a][j];
            double want = p0[a][j] - lr * sqrt(1 - b2) * g / (sqrt(1 - b2) * fabs(g) + eps);
            cr_assert(fabs(pc[a][j] - want) <= 16 * DBL_EPSILON * (fabs(want) + lr),
                      "step 1 array %d entry %zu: %.17g want %.17g", a, j, pc[a][j], want);
            pw1[a][j] = pc[a][j];
        }
    ac_moe_mlm_loss(&w1->m, n, X, &loss, g2, NULL);
    arrays(g2, pg2, len);
    ac_moe_trainer_iterate(tr);
    /* Step 2: m = (1-b1)(b1 g1 + g2), v = (1-b2)(b2 g1^2 + g2^2),
     * w2 = w1 - lr sqrt(1-b2^2)/(1-b1^2) m / (sqrt(v) + eps). */
    for (int a = 0; a < 7; a++)
        for (size_t j = 0; j < len[a]; j++) {
            double ga = pg1[a][j], gb = pg2[a][j];
            double m = (1 - b1) * (b1 * ga + gb), v = (1 - b2) * (b2 * ga * ga + gb * gb);
            double want = pw1[a][j] - lr * sqrt(1 - b2 * b2) / (1 - b1 * b1) * m / (sqrt(v) + eps);
            cr_assert(fabs(pc[a][j] - want) <= 16 * DBL_EPSILON * (fabs(want) + lr),
                      "step 2 array %d entry %zu: %.17g want %.17g", a, j, pc[a][j], want);
        }
    cr_assert_eq(ac_moe_trainer_info(tr)->steps, 2);
    ac_moe_model_free(g1);
    ac_moe_model_free(g2);
    ac_moe_model_free(w1);
    ac_moe_trainer_free(tr);
    ac_moe_model_free(mm);
    free(X);
    gsl_rng_free(r);
}

Test(moe_train, keras_constants_are_the_defaults)
{
    ac_moe_train_settings set;
    ac_moe_train_settings_default(&set);
    cr_assert_eq(set.lr, 1e-3);
    cr_assert_eq(set.beta1, 0.9);
    cr_assert_eq(set.beta2, 0.999);
    cr_assert_eq(set.epsilon, 1e-7);
    cr_assert_eq(set.batch, 128);
    cr_assert_null(ac_moe_train_settings_check(&set));
    cr_assert_not_null(ac_moe_train_settings_check(NULL));
}

Test(moe_train, each_invalid_setting_is_rejected_by_check_and_by_set)
{
    gsl_rng *r = ac_test_rng(34);
    int n = 4, *X;
    ac_moe_model *mm = problem(r, n, &X);
    ac_moe_trainer *tr = ac_moe_trainer_alloc(&mm->m.s, n);
    enum { NBAD = 12 };
    const char *seen[NBAD];
    for (int b = 0; b < NBAD; b++) {
        ac_moe_train_settings set;
        ac_moe_train_settings_default(&set);
        switch (b) {
        case 0: set.steps = -1; break;
        case 1: set.lr = 0.0; break;
        case 2: set.lr = INFINITY; break;
        case 3: set.beta1 = 1.0; break;
        case 4: set.beta1 = -0.1; break;
        case 5: set.beta2 = 1.0; break;
        case 6: set.beta2 = NAN; break;
        case 7: set.epsilon = 0.0; break;
        case 8: set.batch = 0; break;
        case 9: set.grad_tol = -1.0; break;
        case 10: set.grad_tol = NAN; break;
        case 11: set.diverge_factor = 1.0; break;
        }
        const char *why = ac_moe_train_settings_check(&set);
        cr_assert_not_null(why, "bad setting %d accepted", b);
        seen[b] = why;
        ac_msg msg;
        cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, r, &msg), AC_EINVAL, "setting %d", b);
        cr_assert(strstr(msg.text, why), "setting %d: message '%s' lacks '%s'", b, msg.text, why);
    }
    /* The sentences name the setting: the two bad values of one setting share
     * it, different settings do not. */
    const int group[NBAD] = {0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 6, 7};
    for (int a = 0; a < NBAD; a++)
        for (int b = 0; b < NBAD; b++)
            cr_assert_eq(strcmp(seen[a], seen[b]) == 0, group[a] == group[b], "%d %d", a, b);
    ac_moe_trainer_free(tr);
    ac_moe_model_free(mm);
    free(X);
    gsl_rng_free(r);
}

Test(moe_train, bad_words_sizes_and_missing_generator_are_refused)
{
    gsl_rng *r = ac_test_rng(35);
    int n = 4, *X;
    ac_moe_model *mm = problem(r, n, &X);
    ac_moe_trainer *tr = ac_moe_trainer_alloc(&mm->m.s, n);
    ac_moe_train_settings set;
    ac_moe_train_settings_default(&set);
    ac_msg msg;
    cr_assert_eq(ac_moe_trainer_set(tr, n + 1, X, mm, &set, r, &msg), AC_ESIZE);
    cr_assert_eq(ac_moe_trainer_set(tr, 0, X, mm, &set, r, &msg), AC_ESIZE);
    set.batch = 2;
    cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, NULL, &msg), AC_EINVAL);
    X[5] = mm->m.s.V;
    cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, r, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "sentence 1, slot 2"), "%s", msg.text);
    double loss;
    cr_assert_eq(ac_moe_mlm_loss(&mm->m, n, X, &loss, NULL, &msg), AC_EINVAL);
    X[5] = 0;
    cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, r, &msg), AC_OK, "%s", msg.text);
    mm->Wv[3] = NAN;
    cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, r, &msg), AC_EINVAL);
    cr_assert_eq(ac_moe_mlm_loss(&mm->m, n, X, &loss, NULL, &msg), AC_EINVAL);
    ac_moe_model *out = ac_moe_mlm_model_alloc(&mm->m.s);
    ac_train_info info;
    cr_assert_eq(ac_moe_train(0, X, mm, &set, r, out, &info, &msg), AC_ESIZE);
    ac_moe_model_free(out);
    ac_moe_sizes s = mm->m.s;
    s.dout = 3;
    cr_assert_null(ac_moe_trainer_alloc(&s, n));
    cr_assert_not_null(ac_moe_mlm_sizes_check(&s));
    ac_moe_trainer_free(tr);
    ac_moe_model_free(mm);
    free(X);
    gsl_rng_free(r);
}

Test(moe_train, the_step_limit_ends_a_run_and_further_iterates_change_nothing)
{
    gsl_rng *r = ac_test_rng(36);
    int n = 7, *X;
    ac_moe_model *mm = problem(r, n, &X);
    ac_moe_train_settings set;
    ac_moe_train_settings_default(&set);
    set.steps = 9;
    set.batch = 3; /* passes of 3 + 3 + 1 sentences */
    set.lr = 0.01;
    ac_moe_trainer *tr = ac_moe_trainer_alloc(&mm->m.s, n);
    cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, r, NULL), AC_OK);
    cr_assert_eq(ac_moe_trainer_run(tr, 4), AC_TRAIN_RUNNING);
    cr_assert_eq(ac_moe_trainer_run(tr, 100), AC_TRAIN_STEP_LIMIT);
    const ac_train_info *in = ac_moe_trainer_info(tr);
    cr_assert_eq(in->steps, 9);
    double E0 = ac_moe_trainer_model(tr)->E[0];
    ac_moe_trainer_iterate(tr);
    cr_assert_eq(in->steps, 9);
    cr_assert_eq(ac_moe_trainer_model(tr)->E[0], E0);
    /* The one-call form replays the same run from the same seed. */
    ac_moe_model *out = ac_moe_mlm_model_alloc(&mm->m.s);
    ac_train_info info;
    gsl_rng_set(r, 99);
    cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, r, NULL), AC_OK);
    ac_moe_trainer_run(tr, set.steps);
    gsl_rng_set(r, 99);
    cr_assert_eq(ac_moe_train(n, X, mm, &set, r, out, &info, NULL), AC_OK);
    cr_assert_eq(info.outcome, AC_TRAIN_STEP_LIMIT);
    cr_assert_eq(memcmp(out->U, ac_moe_trainer_model(tr)->U, 16 * sizeof(double)), 0);
    ac_moe_model_free(out);
    ac_moe_trainer_free(tr);
    ac_moe_model_free(mm);
    free(X);
    gsl_rng_free(r);
}

Test(moe_train, full_batch_training_lowers_the_loss)
{
    gsl_rng *r = ac_test_rng(37);
    int n = 6, *X;
    ac_moe_model *mm = problem(r, n, &X);
    ac_moe_mlm_init(mm, r);
    ac_moe_train_settings set;
    ac_moe_train_settings_default(&set);
    set.steps = 200;
    set.lr = 0.01;
    ac_moe_trainer *tr = ac_moe_trainer_alloc(&mm->m.s, n);
    cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, NULL, NULL), AC_OK);
    ac_moe_trainer_run(tr, set.steps);
    const ac_train_info *in = ac_moe_trainer_info(tr);
    double last;
    ac_moe_mlm_loss(&ac_moe_trainer_model(tr)->m, n, X, &last, NULL, NULL);
    /* 200 Adam steps of 0.01 on 6 sentences of a 4-word vocabulary: the
     * start is near log 4 (small weights); the fit must move well below. */
    cr_assert_lt(last, in->loss0 - 0.1, "loss %g from %g", last, in->loss0);
    ac_moe_trainer_free(tr);
    ac_moe_model_free(mm);
    free(X);
    gsl_rng_free(r);
}

static int all_finite(const ac_moe_model *mm)
{
    double *p[7];
    size_t len[7];
    arrays(mm, p, len);
    for (int a = 0; a < 7; a++)
        for (size_t j = 0; j < len[a]; j++)
            if (!isfinite(p[a][j]))
                return 0;
    return 1;
}

Test(moe_train, a_blow_up_is_diverged_and_keeps_the_last_finite_iterate)
{
    gsl_rng *r = ac_test_rng(38);
    int n = 5, *X;
    ac_moe_model *mm = problem(r, n, &X);
    ac_moe_train_settings set;
    ac_moe_train_settings_default(&set);
    set.lr = 1e300;
    set.steps = 50;
    ac_moe_trainer *tr = ac_moe_trainer_alloc(&mm->m.s, n);
    cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, r, NULL), AC_OK);
    cr_assert_eq(ac_moe_trainer_run(tr, set.steps), AC_TRAIN_DIVERGED);
    cr_assert(ac_moe_trainer_info(tr)->steps < set.steps);
    cr_assert(all_finite(ac_moe_trainer_model(tr)));
    /* An update that itself overflows at a finite loss: with beta2 = 0 the
     * first step is lr sqrt(1)/(1 - beta1) (1 - beta1) g / (|g| + eps), and
     * alpha = lr / (1 - beta1) = 5 DBL_MAX is infinite; the start stays. */
    set.lr = DBL_MAX / 2;
    set.beta2 = 0.0;
    cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, r, NULL), AC_OK);
    cr_assert_eq(ac_moe_trainer_run(tr, set.steps), AC_TRAIN_DIVERGED);
    cr_assert_eq(ac_moe_trainer_info(tr)->steps, 0);
    cr_assert(isfinite(ac_moe_trainer_info(tr)->loss));
    cr_assert_eq(memcmp(ac_moe_trainer_model(tr)->U, mm->U, 16 * sizeof(double)), 0);
    cr_assert_eq(memcmp(ac_moe_trainer_model(tr)->E, mm->E, 15 * sizeof(double)), 0);
    /* An infinite loss at a finite gradient: output biases -+1e308 make
     * log p(word 0) = -inf while softmax, and so the gradient, stay finite;
     * a sane lr would step on, the loss test alone ends the run. */
    ac_moe_train_settings_default(&set);
    mm->c[0] = -1e308, mm->c[1] = 1e308;
    X[0] = 0;
    cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, r, NULL), AC_OK);
    cr_assert_eq(ac_moe_trainer_run(tr, set.steps), AC_TRAIN_DIVERGED);
    cr_assert_eq(ac_moe_trainer_info(tr)->steps, 0);
    cr_assert(isfinite(ac_moe_trainer_info(tr)->grad_norm));
    ac_moe_trainer_free(tr);
    ac_moe_model_free(mm);
    free(X);
    gsl_rng_free(r);
}

Test(moe_train, grad_tol_gives_converged_without_moving)
{
    gsl_rng *r = ac_test_rng(39);
    int n = 3, *X;
    ac_moe_model *mm = problem(r, n, &X);
    ac_moe_train_settings set;
    ac_moe_train_settings_default(&set);
    set.grad_tol = 1e300;
    ac_moe_trainer *tr = ac_moe_trainer_alloc(&mm->m.s, n);
    cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, r, NULL), AC_OK);
    cr_assert_eq(ac_moe_trainer_run(tr, 10), AC_TRAIN_CONVERGED);
    cr_assert_eq(ac_moe_trainer_info(tr)->steps, 0);
    cr_assert_eq(memcmp(ac_moe_trainer_model(tr)->Wq, mm->Wq, 12 * sizeof(double)), 0);
    ac_moe_trainer_free(tr);
    ac_moe_model_free(mm);
    free(X);
    gsl_rng_free(r);
}

Test(moe_model, init_draws_within_keras_limits_with_3d_fans)
{
    gsl_rng *r = ac_test_rng(40);
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    /* §3.3's tabular sizes: d 20, 5 heads of 4, n_cat 10, L = D + 1 = 6. */
    s.V = 10, s.L = 6, s.d = 20, s.dk = 4, s.dv = 4, s.H = 5, s.dout = 20;
    ac_moe_model *mm = ac_moe_mlm_model_alloc(&s);
    ac_moe_mlm_init(mm, r);
    double *p[7];
    size_t len[7];
    arrays(mm, p, len);
    const double lim[7] = {0.05, sqrt(6.0 / 26), sqrt(6.0 / 180), sqrt(6.0 / 180),
                           sqrt(6.0 / 180), sqrt(6.0 / 30), 0.0};
    for (int a = 0; a < 7; a++) {
        double mx = 0.0;
        for (size_t j = 0; j < len[a]; j++)
            mx = fmax(mx, fabs(p[a][j]));
        cr_assert(mx <= lim[a], "array %d: max %g above %g", a, mx, lim[a]);
        /* n uniform draws leave max |x| below lim (1 - 5/n) with chance
         * (1 - 5/n)^n < e^-5: at least 0.9 lim for n >= 50, else half. */
        if (a < 6) {
            double f = len[a] >= 50 ? 0.9 : 0.5;
            cr_assert(mx >= f * lim[a], "array %d: max %g far below the limit %g", a, mx, lim[a]);
        }
    }
    ac_moe_model_free(mm);
    gsl_rng_free(r);
}

Test(moe_train, each_pass_of_batches_covers_every_sentence_once)
{
    gsl_rng *r = ac_test_rng(41);
    int n = 7, *X;
    ac_moe_model *mm = problem(r, n, &X);
    ac_moe_train_settings set;
    ac_moe_train_settings_default(&set);
    /* A step of at most about lr = 1e-300 leaves every weight of size
     * > 1e-284 exactly as it was, so each batch's loss is read at the start
     * weights, and a pass's batch losses weighted by their sizes add up to
     * n times the whole set's loss. */
    set.lr = 1e-300;
    set.batch = 3; /* passes of 3 + 3 + 1 */
    set.steps = 6;
    double full;
    ac_moe_mlm_loss(&mm->m, n, X, &full, NULL, NULL);
    ac_moe_trainer *tr = ac_moe_trainer_alloc(&mm->m.s, n);
    cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, r, NULL), AC_OK);
    const int sizes[3] = {3, 3, 1};
    for (int pass = 0; pass < 2; pass++) {
        double sum = 0.0;
        for (int k = 0; k < 3; k++) {
            ac_moe_trainer_iterate(tr);
            sum += sizes[k] * ac_moe_trainer_info(tr)->loss;
        }
        /* Each side sums the same n L terms in another order and divides:
         * 4 n L DBL_EPSILON relative covers both. */
        double tol = 4.0 * n * mm->m.s.L * DBL_EPSILON * fmax(1.0, n * full);
        cr_assert(fabs(sum - n * full) <= tol, "pass %d: %.17g against %.17g", pass, sum, n * full);
    }
    ac_moe_trainer_free(tr);
    ac_moe_model_free(mm);
    free(X);
    gsl_rng_free(r);
}

/* ---- A plain reference for the loss and its gradient ------------------- */

/* Spec §1 slot by slot, written from the formulas with no tables or BLAS:
 * e_j = E[t_j] + P[j] (t_i = mask V), q = Wq^h e_i, k_j = Wk^h e_j,
 * v_j = Wv^h e_j, a = softmax_{j in J}(q·k_j / sqrt(dk)), o^h = sum a_j v_j,
 * z = U o + c, loss = mean of -log softmax(z)[x_i]; backward
 *   dz = wt (softmax(z) - e_y), dc += dz, dU += dz o^T, do = U^T dz,
 *   ds_j = a_j (do·v_j - sum_k a_k do·v_k) / sqrt(dk),
 *   dq = sum_j ds_j k_j, dk_j = ds_j q, dv_j = a_j do,
 *   dWq += dq e_i^T, dWk += dk_j e_j^T, dWv += dv_j e_j^T,
 *   de_i += Wq^T dq, de_j += Wk^T dk_j + Wv^T dv_j, dE[t_j], dP[j] += de_j. */
static double ref_loss_grad(const ac_moe_attention *m, int n, const int *X, ac_moe_model *g)
{
    const ac_moe_sizes *s = &m->s;
    int V = s->V, L = s->L, d = s->d, dk = s->dk, dv = s->dv, H = s->H;
    double *p[7];
    size_t len[7];
    arrays(g, p, len);
    for (int a = 0; a < 7; a++)
        memset(p[a], 0, len[a] * sizeof(double));
    double *e = malloc((size_t)L * d * sizeof(double)), *q = malloc((size_t)H * dk * sizeof(double));
    double *k = malloc((size_t)H * L * dk * sizeof(double)), *v = malloc((size_t)H * L * dv * sizeof(double));
    double *a = malloc((size_t)H * L * sizeof(double)), *o = malloc((size_t)H * dv * sizeof(double));
    double *z = malloc((size_t)V * sizeof(double)), *dout = malloc((size_t)H * dv * sizeof(double));
    double *de = malloc((size_t)L * d * sizeof(double)), *dq = malloc((size_t)dk * sizeof(double));
    int *t = malloc((size_t)L * sizeof(int));
    double wt = 1.0 / ((double)n * L), total = 0.0, scale = 1.0 / sqrt((double)dk);
    for (int r = 0; r < n; r++)
        for (int i = 0; i < L; i++) {
            const int *x = X + (size_t)r * L;
            for (int j = 0; j < L; j++) {
                t[j] = j == i ? V : x[j];
                for (int c = 0; c < d; c++)
                    e[j * d + c] = m->E[t[j] * d + c] + m->P[j * d + c];
            }
            for (int h = 0; h < H; h++) {
                for (int r2 = 0; r2 < dk; r2++) {
                    q[h * dk + r2] = 0.0;
                    for (int c = 0; c < d; c++)
                        q[h * dk + r2] += m->Wq[(h * dk + r2) * d + c] * e[i * d + c];
                }
                for (int j = 0; j < L; j++) {
                    for (int r2 = 0; r2 < dk; r2++) {
                        k[(h * L + j) * dk + r2] = 0.0;
                        for (int c = 0; c < d; c++)
                            k[(h * L + j) * dk + r2] += m->Wk[(h * dk + r2) * d + c] * e[j * d + c];
                    }
                    for (int r2 = 0; r2 < dv; r2++) {
                        v[(h * L + j) * dv + r2] = 0.0;
                        for (int c = 0; c < d; c++)
                            v[(h * L + j) * dv + r2] += m->Wv[(h * dv + r2) * d + c] * e[j * d + c];
                    }
                }
                double mx = -INFINITY, sum = 0.0;
                for (int j = 0; j < L; j++) {
                    double sc = 0.0;
                    for (int c = 0; c < dk; c++)
                        sc += q[h * dk + c] * k[(h * L + j) * dk + c];
                    a[h * L + j] = (s->self || j != i) ? sc * scale : -INFINITY;
                    mx = fmax(mx, a[h * L + j]);
                }
                for (int j = 0; j < L; j++)
                    sum += (a[h * L + j] = exp(a[h * L + j] - mx));
                for (int c = 0; c < dv; c++)
                    o[h * dv + c] = 0.0;
                for (int j = 0; j < L; j++) {
                    a[h * L + j] /= sum;
                    for (int c = 0; c < dv; c++)
                        o[h * dv + c] += a[h * L + j] * v[(h * L + j) * dv + c];
                }
            }
            double mx = -INFINITY, sum = 0.0;
            for (int u = 0; u < V; u++) {
                z[u] = m->c[u];
                for (int c = 0; c < H * dv; c++)
                    z[u] += m->U[u * H * dv + c] * o[c];
                mx = fmax(mx, z[u]);
            }
            for (int u = 0; u < V; u++)
                sum += exp(z[u] - mx);
            total -= z[x[i]] - mx - log(sum);
            /* backward */
            memset(dout, 0, (size_t)H * dv * sizeof(double));
            memset(de, 0, (size_t)L * d * sizeof(double));
            for (int u = 0; u < V; u++) {
                double dz = wt * (exp(z[u] - mx) / sum - (u == x[i]));
                g->c[u] += dz;
                for (int c = 0; c < H * dv; c++) {
                    g->U[u * H * dv + c] += dz * o[c];
                    dout[c] += m->U[u * H * dv + c] * dz;
                }
            }
            for (int h = 0; h < H; h++) {
                double abar = 0.0, dav[64]; /* L <= 64 here */
                cr_assert(L <= 64);
                for (int j = 0; j < L; j++) {
                    dav[j] = 0.0;
                    for (int c = 0; c < dv; c++)
                        dav[j] += dout[h * dv + c] * v[(h * L + j) * dv + c];
                    abar += a[h * L + j] * dav[j];
                }
                memset(dq, 0, (size_t)dk * sizeof(double));
                for (int j = 0; j < L; j++) {
                    double aj = a[h * L + j], ds = aj * (dav[j] - abar) * scale;
                    for (int c = 0; c < dk; c++)
                        dq[c] += ds * k[(h * L + j) * dk + c];
                    for (int r2 = 0; r2 < dk; r2++)
                        for (int c = 0; c < d; c++) {
                            double dkr = ds * q[h * dk + r2];
                            g->Wk[(h * dk + r2) * d + c] += dkr * e[j * d + c];
                            de[j * d + c] += m->Wk[(h * dk + r2) * d + c] * dkr;
                        }
                    for (int r2 = 0; r2 < dv; r2++)
                        for (int c = 0; c < d; c++) {
                            double dvr = aj * dout[h * dv + r2];
                            g->Wv[(h * dv + r2) * d + c] += dvr * e[j * d + c];
                            de[j * d + c] += m->Wv[(h * dv + r2) * d + c] * dvr;
                        }
                }
                for (int r2 = 0; r2 < dk; r2++)
                    for (int c = 0; c < d; c++) {
                        g->Wq[(h * dk + r2) * d + c] += dq[r2] * e[i * d + c];
                        de[i * d + c] += m->Wq[(h * dk + r2) * d + c] * dq[r2];
                    }
            }
            for (int j = 0; j < L; j++)
                for (int c = 0; c < d; c++) {
                    g->E[t[j] * d + c] += de[j * d + c];
                    g->P[j * d + c] += de[j * d + c];
                }
        }
    free(e), free(q), free(k), free(v), free(a), free(o), free(z), free(dout), free(de), free(dq);
    free(t);
    return total * wt;
}

static double max_abs_model(const ac_moe_model *mm)
{
    double *p[7], mx = 0.0;
    size_t len[7];
    arrays(mm, p, len);
    for (int a = 0; a < 7; a++)
        for (size_t j = 0; j < len[a]; j++)
            mx = fmax(mx, fabs(p[a][j]));
    return mx;
}

/* Fast path (ac_moe_mlm_loss, and the trainer's first gradient norm) against
 * the reference at model m with n sentences. */
static void check_against_reference(ac_moe_model *mm, int n, const int *X, const char *what)
{
    const ac_moe_sizes *s = &mm->m.s;
    ac_moe_model *g = ac_moe_mlm_model_alloc(s), *gr = ac_moe_mlm_model_alloc(s);
    double loss, ref;
    ac_msg msg;
    cr_assert_eq(ac_moe_mlm_loss(&mm->m, n, X, &loss, g, &msg), AC_OK, "%s", msg.text);
    ref = ref_loss_grad(&mm->m, n, X, gr);
    /* Both sides sum the same terms in other orders and groupings (the fast
     * path projects w and p separately, W w + W p for W (w + p), and sums
     * the slots through BLAS).  The longest chain of additions behind any
     * entry has K = d + L (dk + dv) + H dv + V + n L^2 terms, so each side
     * is within K DBL_EPSILON times the sum of the absolute terms.  Each
     * per-cell term of the loss or gradient is a product of at most four
     * weight-sized factors (U, a query or key map, a value map or an
     * embedding; softmax weights are <= 1), bounded by M^4 with M = max(1,
     * largest |weight|), and the mean's weight 1/(n L) cancels the count of
     * cells; the factor 8 covers the two sides and exp/log's few ulps. */
    double M = fmax(1.0, max_abs_model(mm));
    double K = s->d + s->L * (s->dk + s->dv) + s->H * s->dv + s->V + (double)n * s->L * s->L;
    double tol = 8.0 * K * DBL_EPSILON * M * M * M * M;
    cr_assert(fabs(loss - ref) <= tol * fmax(1.0, fabs(ref)), "%s: loss %.17g reference %.17g tol %g",
              what, loss, ref, tol);
    double *p[7], *pr[7], gn2 = 0.0;
    size_t len[7];
    arrays(g, p, len);
    arrays(gr, pr, len);
    for (int a = 0; a < 7; a++)
        for (size_t j = 0; j < len[a]; j++) {
            cr_assert(fabs(p[a][j] - pr[a][j]) <= tol,
                      "%s: array %d entry %zu: grad %.17g reference %.17g tol %g", what, a, j,
                      p[a][j], pr[a][j], tol);
            gn2 += pr[a][j] * pr[a][j];
        }
    /* The trainer's step, full batch: its gradient norm at the start. */
    ac_moe_trainer *tr = ac_moe_trainer_alloc(s, n);
    ac_moe_train_settings set;
    ac_moe_train_settings_default(&set);
    set.batch = n;
    set.steps = 1;
    cr_assert_eq(ac_moe_trainer_set(tr, n, X, mm, &set, NULL, &msg), AC_OK, "%s", msg.text);
    ac_moe_trainer_iterate(tr);
    const ac_train_info *in = ac_moe_trainer_info(tr);
    /* The norm of vectors within tol entrywise differs by at most tol
     * sqrt(entries). */
    double nent = 0.0;
    for (int a = 0; a < 7; a++)
        nent += (double)len[a];
    cr_assert(fabs(in->loss0 - ref) <= tol * fmax(1.0, fabs(ref)), "%s: trainer loss %.17g vs %.17g",
              what, in->loss0, ref);
    cr_assert(fabs(in->grad_norm - sqrt(gn2)) <= tol * sqrt(nent), "%s: trainer |grad| %.17g vs %.17g",
              what, in->grad_norm, sqrt(gn2));
    ac_moe_trainer_free(tr);
    ac_moe_model_free(g);
    ac_moe_model_free(gr);
}

Test(moe_model, fast_loss_and_gradient_equal_a_plain_reference)
{
    gsl_rng *r = ac_test_rng(33);
    char what[96];
    /* Random small sizes from 1 (self = 0 among them). */
    int cases = ac_test_cases(100);
    for (int cs = 0; cs < cases; cs++) {
        ac_moe_model *mm = rand_model(r);
        int n = pick(r, 1, 4);
        int *X = rand_words(r, &mm->m.s, n);
        snprintf(what, sizeof what, "seed %lu case %d (self %d)", ac_test_seed(33), cs, mm->m.s.self);
        check_against_reference(mm, n, X, what);
        free(X);
        ac_moe_model_free(mm);
    }
    /* The bench's sizes (both self values), and more sentences than one
     * chunk of the fast path (256). */
    int fixed[][8] = {{50, 8, 32, 16, 16, 4, 3, 1}, {50, 8, 32, 16, 16, 4, 3, 0},
                      {11, 8, 16, 16, 16, 1, 5, 0}, {4, 3, 3, 2, 3, 2, 600, 0}};
    for (int f = 0; f < 4; f++) {
        ac_moe_sizes s;
        ac_moe_sizes_default(&s);
        s.V = fixed[f][0], s.L = fixed[f][1], s.d = fixed[f][2], s.dk = fixed[f][3];
        s.dv = fixed[f][4], s.H = fixed[f][5], s.dout = s.H * s.dv, s.self = fixed[f][7];
        ac_moe_model *mm = ac_moe_mlm_model_alloc(&s);
        ac_moe_model_randomize(mm, r, SCALE);
        int n = fixed[f][6];
        int *X = rand_words(r, &s, n);
        snprintf(what, sizeof what, "seed %lu fixed %d", ac_test_seed(33), f);
        check_against_reference(mm, n, X, what);
        free(X);
        ac_moe_model_free(mm);
    }
    gsl_rng_free(r);
}
