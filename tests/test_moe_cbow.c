/* The CBOW-MoE trainer in the form's coordinates and the plain CBOW
 * trainer (verify/moe_cbow.h, spec cbow_moe §2.5 item 6, §4.4 item 2):
 * their losses agree with theory/moe's conditionals, their gradients with
 * central differences, their Adam steps with the attention trainer's;
 * invalid settings and inputs are refused; training lowers the loss. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verify/moe_cbow.h"
#include "tests/testutil.h"

/* Entries N(0, 0.7^2): values like 1.7312, logits O(1)-O(10). */
#define SCALE 0.7

static int pick(gsl_rng *r, int lo, int hi)
{
    return lo + (int)gsl_rng_uniform_int(r, (unsigned long)(hi - lo + 1));
}

static void gauss(gsl_rng *r, double *x, size_t n)
{
    for (size_t k = 0; k < n; k++)
        x[k] = gsl_ran_gaussian(r, SCALE);
}

/* A random one-layer form (sizes 1 included, self or not). */
static ac_moe_form *rand_form(gsl_rng *r)
{
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    s.V = pick(r, 1, 5), s.L = pick(r, 1, 4), s.d = pick(r, 1, 4);
    s.dk = pick(r, 1, 3), s.dv = pick(r, 1, 3), s.H = pick(r, 1, 2);
    s.dout = s.H * s.dv;
    s.self = s.L == 1 ? 1 : pick(r, 0, 1);
    ac_moe_form *f = ac_moe_form_alloc(&s);
    cr_assert(f);
    size_t V = s.V, L = s.L, d = s.d, dv = s.dv, H = s.H;
    gauss(r, f->w, (V + 1) * d);
    gauss(r, f->p, L * d);
    gauss(r, f->gamma, H * L * d);
    gauss(r, f->a, H * (V + 1) * dv);
    gauss(r, f->b, H * L * dv);
    gauss(r, f->rho, H * V * dv);
    gauss(r, f->c, V);
    return f;
}

static int *rand_words(gsl_rng *r, int V, int L, int n)
{
    int *X = malloc((size_t)n * L * sizeof(int));
    for (int k = 0; k < n * L; k++)
        X[k] = pick(r, 0, V - 1);
    return X;
}

static int form_arrays(const ac_moe_form *f, double **p, size_t *n)
{
    const ac_moe_sizes *s = &f->s;
    size_t V = s->V, L = s->L, d = s->d, dv = s->dv, H = s->H;
    double *pp[7] = {f->w, f->p, f->gamma, f->a, f->b, f->rho, f->c};
    size_t nn[7] = {(V + 1) * d, L * d, H * L * d, H * (V + 1) * dv, H * L * dv, H * V * dv, V};
    memcpy(p, pp, sizeof pp);
    memcpy(n, nn, sizeof nn);
    return 7;
}

/* Rounding of the mean of n L log p terms: theory/moe's conditionals and
 * the trainer's are two summation orders of the same terms, each log p
 * within a few (L d + H dv + V) eps (1 + M) of exact, M the largest
 * |logit term| (scale 0.7, at most 4 x 4 x 2 products: below 1e2), so 1e3
 * (L d + H dv + V) eps |.| covers both with room, and the mean adds n L
 * eps |loss|. */
static double round_tol(const ac_moe_sizes *s, int n, double ref)
{
    return 1e3 * (s->L * s->d + s->H * s->dv + s->V) * DBL_EPSILON * (1.0 + fabs(ref)) +
           2.0 * n * s->L * DBL_EPSILON * fabs(ref);
}

Test(moe_form_fit, loss_equals_the_theory_conditionals_from_the_form)
{
    gsl_rng *r = ac_test_rng(51);
    int cases = ac_test_cases(200);
    for (int cs = 0; cs < cases; cs++) {
        ac_moe_form *f = rand_form(r);
        const ac_moe_sizes *s = &f->s;
        int n = pick(r, 1, 4), *X = rand_words(r, s->V, s->L, n);
        double loss, ref = 0.0, *lp = malloc((size_t)s->V * sizeof(double));
        ac_msg msg;
        cr_assert_eq(ac_moe_form_fit_loss(f, n, X, &loss, NULL, &msg), AC_OK, "%s", msg.text);
        for (int k = 0; k < n; k++)
            for (int i = 0; i < s->L; i++) {
                cr_assert_eq(ac_moe_form_logp(f, X + k * s->L, i, lp, &msg), AC_OK, "%s", msg.text);
                ref -= lp[X[k * s->L + i]];
            }
        ref /= (double)n * s->L;
        cr_assert(fabs(loss - ref) <= round_tol(s, n, ref), "seed %lu case %d: loss %.17g theory %.17g",
                  ac_test_seed(51), cs, loss, ref);
        free(lp), free(X);
        ac_moe_form_free(f);
    }
    gsl_rng_free(r);
}

/* Central differences with h = eps^(1/3) max(1, |w|): truncation h^2
 * |f'''| / 6 and rounding eps |f| / h, both ~ eps^(2/3) M with M bounding
 * |f| and |f'''| (below 1e3 at scale 0.7). */
#define FD_TOL(fd) (1e3 * pow(DBL_EPSILON, 2.0 / 3.0) * (1.0 + fabs(fd)))

Test(moe_form_fit, gradient_matches_central_differences_from_size_1)
{
    gsl_rng *r = ac_test_rng(52);
    int cases = ac_test_cases(60);
    for (int cs = 0; cs < cases; cs++) {
        ac_moe_form *f = rand_form(r), *g = ac_moe_form_alloc(&f->s);
        int n = pick(r, 1, 3), *X = rand_words(r, f->s.V, f->s.L, n);
        double loss;
        cr_assert_eq(ac_moe_form_fit_loss(f, n, X, &loss, g, NULL), AC_OK);
        double *p[7], *gp[7];
        size_t len[7];
        form_arrays(f, p, len);
        form_arrays(g, gp, len);
        for (int a = 0; a < 7; a++)
            for (size_t j = 0; j < len[a]; j++) {
                double w0 = p[a][j], h = cbrt(DBL_EPSILON) * fmax(1.0, fabs(w0)), lp, lm;
                p[a][j] = w0 + h;
                ac_moe_form_fit_loss(f, n, X, &lp, NULL, NULL);
                p[a][j] = w0 - h;
                ac_moe_form_fit_loss(f, n, X, &lm, NULL, NULL);
                p[a][j] = w0;
                double fd = (lp - lm) / (2.0 * h);
                cr_assert(fabs(fd - gp[a][j]) <= FD_TOL(fd),
                          "seed %lu case %d array %d entry %zu: grad %.12g fd %.12g", ac_test_seed(52),
                          cs, a, j, gp[a][j], fd);
            }
        free(X);
        ac_moe_form_free(g);
        ac_moe_form_free(f);
    }
    gsl_rng_free(r);
}

static ac_moe_cbow_model *rand_cbow(gsl_rng *r, int V, int dv)
{
    ac_moe_cbow_model *cm = ac_moe_cbow_model_alloc(V, dv);
    cr_assert(cm);
    gauss(r, cm->alpha, (size_t)V * dv);
    gauss(r, cm->rho, (size_t)V * dv);
    gauss(r, cm->c, (size_t)V);
    return cm;
}

Test(moe_cbow_fit, loss_equals_the_theory_conditionals_and_gradient_central_differences)
{
    gsl_rng *r = ac_test_rng(53);
    int cases = ac_test_cases(100);
    for (int cs = 0; cs < cases; cs++) {
        int V = pick(r, 1, 5), dv = pick(r, 1, 3), L = pick(r, 2, 5), n = pick(r, 1, 3);
        ac_moe_cbow_model *cm = rand_cbow(r, V, dv), *g = ac_moe_cbow_model_alloc(V, dv);
        int *X = rand_words(r, V, L, n);
        double loss, ref = 0.0, *lp = malloc((size_t)V * sizeof(double));
        ac_msg msg;
        cr_assert_eq(ac_moe_cbow_fit_loss(&cm->m, L, n, X, &loss, g, &msg), AC_OK, "%s", msg.text);
        for (int k = 0; k < n; k++)
            for (int i = 0; i < L; i++) {
                cr_assert_eq(ac_moe_cbow_logp(&cm->m, L, X + k * L, i, lp, &msg), AC_OK, "%s", msg.text);
                ref -= lp[X[k * L + i]];
            }
        ref /= (double)n * L;
        ac_moe_sizes s = {.V = V, .L = L, .d = 1, .H = 1, .dv = dv};
        cr_assert(fabs(loss - ref) <= round_tol(&s, n, ref), "seed %lu case %d: loss %.17g theory %.17g",
                  ac_test_seed(53), cs, loss, ref);
        size_t tot = (size_t)V * (2 * dv + 1);
        for (size_t j = 0; j < tot; j++) {
            double w0 = cm->alpha[j], h = cbrt(DBL_EPSILON) * fmax(1.0, fabs(w0)), lpl, lml;
            cm->alpha[j] = w0 + h;
            ac_moe_cbow_fit_loss(&cm->m, L, n, X, &lpl, NULL, NULL);
            cm->alpha[j] = w0 - h;
            ac_moe_cbow_fit_loss(&cm->m, L, n, X, &lml, NULL, NULL);
            cm->alpha[j] = w0;
            double fd = (lpl - lml) / (2.0 * h);
            cr_assert(fabs(fd - g->alpha[j]) <= FD_TOL(fd),
                      "seed %lu case %d entry %zu (alpha, rho, c in turn): grad %.12g fd %.12g",
                      ac_test_seed(53), cs, j, g->alpha[j], fd);
        }
        free(lp), free(X);
        ac_moe_cbow_model_free(g);
        ac_moe_cbow_model_free(cm);
    }
    gsl_rng_free(r);
}

/* The form of an attention model starts at the attention model's loss
 * (the equivalence), the trainer's loss0 is its own loss function's value
 * bit for bit, and its first Adam step is the closed form of Keras's
 * update at t = 1 for every coordinate. */
Test(moe_form_fit, trainer_starts_at_the_attention_loss_and_its_first_step_is_sign_descent)
{
    gsl_rng *r = ac_test_rng(54);
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    s.V = 4, s.L = 3, s.d = 3, s.dk = 2, s.dv = 2, s.H = 2, s.dout = 4;
    ac_moe_model *mm = ac_moe_mlm_model_alloc(&s);
    ac_moe_mlm_init(mm, r);
    ac_moe_form *f = ac_moe_form_alloc(&s), *g = ac_moe_form_alloc(&s);
    ac_msg msg;
    cr_assert_eq(ac_moe_form_from_attention(&mm->m, f, &msg), AC_OK, "%s", msg.text);
    int n = 6, *X = rand_words(r, s.V, s.L, n);
    double la, lf;
    cr_assert_eq(ac_moe_mlm_loss(&mm->m, n, X, &la, NULL, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_moe_form_fit_loss(f, n, X, &lf, g, &msg), AC_OK, "%s", msg.text);
    cr_assert(fabs(la - lf) <= 2.0 * ac_moe_logp_tolerance(&mm->m) + round_tol(&s, n, la), "%.17g vs %.17g", la, lf);
    ac_moe_train_settings set;
    ac_moe_train_settings_default(&set);
    set.steps = 1, set.lr = 1.7312e-3, set.batch = n;
    ac_moe_form_trainer *tr = ac_moe_form_trainer_alloc(&s, n);
    cr_assert_eq(ac_moe_form_trainer_set(tr, n, X, f, &set, NULL, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_moe_form_trainer_run(tr, 5), AC_TRAIN_STEP_LIMIT);
    const ac_train_info *in = ac_moe_form_trainer_info(tr);
    cr_assert_eq(in->steps, 1);
    cr_assert(in->loss0 == lf, "loss0 %.17g vs %.17g", in->loss0, lf);
    const ac_moe_form *f1 = ac_moe_form_trainer_form(tr);
    double *p0[7], *p1[7], *gp[7];
    size_t len[7];
    form_arrays(f, p0, len);
    form_arrays(f1, p1, len);
    form_arrays(g, gp, len);
    for (int a = 0; a < 7; a++)
        for (size_t j = 0; j < len[a]; j++) {
            double gj = gp[a][j];
            /* t = 1: m = (1 - b1) g, v = (1 - b2) g^2, step lr sqrt(1 - b2) / (1 - b1) m /
             * (sqrt(v) + eps) = lr g / (|g| + eps / sqrt(1 - b2)); a few roundings of the
             * weight's size */
            double want = set.lr * gj / (fabs(gj) + set.epsilon / sqrt(1.0 - set.beta2));
            double step = p0[a][j] - p1[a][j];
            cr_assert(fabs(step - want) <= 8.0 * DBL_EPSILON * (fabs(p0[a][j]) + set.lr),
                      "array %d entry %zu: step %.17g, closed form %.17g (gradient %.17g)", a, j, step,
                      want, gj);
        }
    ac_moe_form_trainer_free(tr);
    free(X);
    ac_moe_form_free(f), ac_moe_form_free(g);
    ac_moe_model_free(mm);
    gsl_rng_free(r);
}

/* Invalid settings are refused by _check (verify/moe_model.h's) and by
 * both trainers' _set, as are bad words, sizes, and a missing generator. */
Test(moe_form_fit, invalid_settings_and_inputs_are_refused)
{
    gsl_rng *r = ac_test_rng(55);
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    s.V = 3, s.L = 3, s.d = 2, s.dk = 2, s.dv = 2, s.dout = 2;
    ac_moe_form *f = ac_moe_form_alloc(&s);
    ac_moe_cbow_model *cm = rand_cbow(r, 3, 2);
    int X[6] = {0, 1, 2, 2, 1, 0}, bad[6] = {0, 1, 3, 2, 1, 0};
    ac_moe_form_trainer *tf = ac_moe_form_trainer_alloc(&s, 2);
    ac_moe_cbow_trainer *tc = ac_moe_cbow_trainer_alloc(3, 2, 3, 2);
    cr_assert(tf && tc);
    ac_msg msg;
    ac_moe_train_settings set, ok;
    ac_moe_train_settings_default(&ok);
    ok.batch = 1;
    for (int k = 0; k < 9; k++) {
        set = ok;
        switch (k) {
        case 0: set.steps = -1; break;
        case 1: set.lr = 0.0; break;
        case 2: set.lr = NAN; break;
        case 3: set.beta1 = 1.0; break;
        case 4: set.beta2 = -0.1; break;
        case 5: set.epsilon = 0.0; break;
        case 6: set.batch = 0; break;
        case 7: set.grad_tol = -1.0; break;
        case 8: set.diverge_factor = 1.0; break;
        }
        cr_assert_not_null(ac_moe_train_settings_check(&set), "case %d passes the check", k);
        cr_assert_eq(ac_moe_form_trainer_set(tf, 2, X, f, &set, r, &msg), AC_EINVAL, "case %d", k);
        cr_assert_eq(ac_moe_cbow_trainer_set(tc, 2, X, &cm->m, &set, r, &msg), AC_EINVAL, "case %d", k);
    }
    cr_assert_eq(ac_moe_form_trainer_set(tf, 2, X, f, &ok, r, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_moe_cbow_trainer_set(tc, 2, X, &cm->m, &ok, r, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_moe_form_trainer_set(tf, 2, bad, f, &ok, r, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "word 3"), "%s", msg.text);
    cr_assert_eq(ac_moe_cbow_trainer_set(tc, 2, bad, &cm->m, &ok, r, &msg), AC_EINVAL);
    cr_assert_eq(ac_moe_form_trainer_set(tf, 3, X, f, &ok, r, &msg), AC_ESIZE);
    cr_assert_eq(ac_moe_cbow_trainer_set(tc, 0, X, &cm->m, &ok, r, &msg), AC_ESIZE);
    cr_assert_eq(ac_moe_form_trainer_set(tf, 2, X, f, &ok, NULL, &msg), AC_EINVAL);
    cr_assert_eq(ac_moe_cbow_trainer_set(tc, 2, X, &cm->m, &ok, NULL, &msg), AC_EINVAL);
    f->gamma[1] = NAN;
    cr_assert_eq(ac_moe_form_trainer_set(tf, 2, X, f, &ok, r, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "gamma"), "%s", msg.text);
    f->gamma[1] = 0.0;
    f->slot_bias[0] = 1.0;
    cr_assert_eq(ac_moe_form_trainer_set(tf, 2, X, f, &ok, r, &msg), AC_EINVAL);
    cm->rho[0] = INFINITY;
    cr_assert_eq(ac_moe_cbow_trainer_set(tc, 2, X, &cm->m, &ok, r, &msg), AC_EINVAL);
    s.layers = 2;
    cr_assert_null(ac_moe_form_trainer_alloc(&s, 2));
    cr_assert_not_null(ac_moe_form_fit_sizes_check(&s));
    cr_assert_null(ac_moe_cbow_trainer_alloc(3, 2, 1, 2), "L = 1 has no context");
    ac_moe_form_trainer_free(NULL);
    ac_moe_cbow_trainer_free(NULL);
    ac_moe_cbow_model_free(NULL);
    ac_moe_form_trainer_free(tf);
    ac_moe_cbow_trainer_free(tc);
    ac_moe_cbow_model_free(cm);
    ac_moe_form_free(f);
    gsl_rng_free(r);
}

/* Full-batch Adam lowers both models' loss; the step limit ends a run and
 * later iterates change nothing; grad_tol above the start's gradient norm
 * ends at once with converged. */
Test(moe_form_fit, training_lowers_the_loss_and_the_endings_hold)
{
    gsl_rng *r = ac_test_rng(56);
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    s.V = 4, s.L = 3, s.d = 3, s.dk = 3, s.dv = 2, s.dout = 2;
    ac_moe_model *mm = ac_moe_mlm_model_alloc(&s);
    ac_moe_mlm_init(mm, r);
    ac_moe_form *f = ac_moe_form_alloc(&s), *out = ac_moe_form_alloc(&s);
    ac_msg msg;
    cr_assert_eq(ac_moe_form_from_attention(&mm->m, f, &msg), AC_OK);
    int n = 20, *X = rand_words(r, s.V, s.L, n);
    ac_moe_train_settings set;
    ac_moe_train_settings_default(&set);
    set.steps = 300, set.lr = 1e-2, set.batch = n;
    ac_train_info info;
    cr_assert_eq(ac_moe_form_train(n, X, f, &set, NULL, out, &info, &msg), AC_OK, "%s", msg.text);
    double l0, l1;
    ac_moe_form_fit_loss(f, n, X, &l0, NULL, NULL);
    ac_moe_form_fit_loss(out, n, X, &l1, NULL, NULL);
    cr_assert_eq(info.outcome, AC_TRAIN_STEP_LIMIT);
    cr_assert_eq(info.steps, 300);
    cr_assert(l1 < l0 - 0.05, "form loss %g -> %g", l0, l1);
    ac_moe_cbow_model *cm = ac_moe_cbow_model_alloc(s.V, 2), *cout = ac_moe_cbow_model_alloc(s.V, 2);
    ac_moe_cbow_init(cm, r);
    cr_assert_eq(ac_moe_cbow_train(s.L, n, X, &cm->m, &set, NULL, cout, &info, &msg), AC_OK, "%s", msg.text);
    ac_moe_cbow_fit_loss(&cm->m, s.L, n, X, &l0, NULL, NULL);
    ac_moe_cbow_fit_loss(&cout->m, s.L, n, X, &l1, NULL, NULL);
    cr_assert(l1 < l0 - 0.05, "CBOW loss %g -> %g", l0, l1);
    /* endings */
    ac_moe_cbow_trainer *tc = ac_moe_cbow_trainer_alloc(s.V, 2, s.L, n);
    set.steps = 7;
    cr_assert_eq(ac_moe_cbow_trainer_set(tc, n, X, &cm->m, &set, NULL, &msg), AC_OK);
    cr_assert_eq(ac_moe_cbow_trainer_run(tc, 3), AC_TRAIN_RUNNING);
    cr_assert_eq(ac_moe_cbow_trainer_run(tc, 100), AC_TRAIN_STEP_LIMIT);
    double a0 = ac_moe_cbow_trainer_model(tc)->alpha[0];
    ac_moe_cbow_trainer_iterate(tc);
    cr_assert_eq(ac_moe_cbow_trainer_info(tc)->steps, 7);
    cr_assert(ac_moe_cbow_trainer_model(tc)->alpha[0] == a0);
    set.grad_tol = 1e6;
    cr_assert_eq(ac_moe_cbow_trainer_set(tc, n, X, &cm->m, &set, NULL, &msg), AC_OK);
    cr_assert_eq(ac_moe_cbow_trainer_run(tc, 100), AC_TRAIN_CONVERGED);
    cr_assert_eq(ac_moe_cbow_trainer_info(tc)->steps, 0);
    ac_moe_form_trainer *tf = ac_moe_form_trainer_alloc(&s, n);
    cr_assert_eq(ac_moe_form_trainer_set(tf, n, X, f, &set, NULL, &msg), AC_OK);
    cr_assert_eq(ac_moe_form_trainer_run(tf, 100), AC_TRAIN_CONVERGED);
    cr_assert_eq(ac_moe_form_trainer_test(tf), AC_TRAIN_CONVERGED);
    /* a blow-up: a huge step size leaves a non-finite or huge loss */
    set.grad_tol = 0.0, set.lr = 1e300, set.steps = 50;
    cr_assert_eq(ac_moe_form_trainer_set(tf, n, X, f, &set, NULL, &msg), AC_OK);
    cr_assert_eq(ac_moe_form_trainer_run(tf, 50), AC_TRAIN_DIVERGED);
    const ac_moe_form *fl = ac_moe_form_trainer_form(tf);
    double *p[7];
    size_t len[7];
    form_arrays(fl, p, len);
    for (int a = 0; a < 7; a++)
        for (size_t j = 0; j < len[a]; j++)
            cr_assert(isfinite(p[a][j]), "the last iterate keeps finite weights");
    ac_moe_form_trainer_free(tf);
    ac_moe_cbow_trainer_free(tc);
    ac_moe_cbow_model_free(cm), ac_moe_cbow_model_free(cout);
    free(X);
    ac_moe_form_free(f), ac_moe_form_free(out);
    ac_moe_model_free(mm);
    gsl_rng_free(r);
}
