/* CBOW with mixture-of-experts weights (theory/moe.h, spec cbow_moe §2,
 * §4): attention and its CBOW-MoE form give the same conditionals over
 * many small random instances (sizes 1 included) under the rounding bound
 * of ac_moe_logp_tolerance; the negative controls of §2.5 item 4 differ by
 * far more; the property tests of item 5; the reverse construction; the
 * exact analogy cases of §4.4 item 1; invalid input. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "theory/moe.h"
#include "tests/testutil.h"

/* Weights N(0, 0.7^2): values like 1.7312, logits O(1)-O(10). */
#define SCALE 0.7

static int pick(gsl_rng *r, int lo, int hi)
{
    return lo + (int)gsl_rng_uniform_int(r, (unsigned long)(hi - lo + 1));
}

/* Random sizes and options: V, L, d in 1..6, dk, dv in 1..4, H in 1..3,
 * one or two layers, with or without the masked slot, the residual, W_O and
 * every bias. */
static ac_moe_model *rand_model(gsl_rng *r)
{
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    s.V = pick(r, 1, 6), s.L = pick(r, 1, 6), s.d = pick(r, 1, 6);
    s.dk = pick(r, 1, 4), s.dv = pick(r, 1, 4), s.H = pick(r, 1, 3);
    s.layers = gsl_rng_uniform(r) < 0.3 ? 2 : 1;
    s.self = s.L == 1 ? 1 : pick(r, 0, 1);
    unsigned with = 0;
    if (gsl_rng_uniform(r) < 0.8)
        with |= AC_MOE_WITH_P;
    if (pick(r, 0, 1))
        with |= AC_MOE_WITH_C;
    if (s.layers == 2) {
        s.H = 1, s.dout = s.dv;
    } else {
        s.residual = pick(r, 0, 1);
        if (s.residual || pick(r, 0, 1)) {
            with |= AC_MOE_WITH_WO;
            s.dout = s.residual ? s.d : pick(r, 1, 5);
            if (pick(r, 0, 1))
                with |= AC_MOE_WITH_BO;
        } else {
            s.dout = s.H * s.dv;
        }
        with |= (unsigned)pick(r, 0, 7) * AC_MOE_WITH_BQ; /* bq, bk, bv bits */
    }
    ac_moe_model *mm = ac_moe_model_alloc(&s, with);
    cr_assert_not_null(mm);
    ac_moe_model_randomize(mm, r, SCALE);
    return mm;
}

static void rand_sentence(gsl_rng *r, int V, int L, int *x)
{
    for (int j = 0; j < L; j++)
        x[j] = pick(r, 0, V - 1);
}

/* max |lp1 - lp2| and max |exp lp1 - exp lp2| */
static void diffs(int V, const double *lp1, const double *lp2, double *dl, double *dp)
{
    *dl = *dp = 0.0;
    for (int v = 0; v < V; v++) {
        *dl = fmax(*dl, fabs(lp1[v] - lp2[v]));
        *dp = fmax(*dp, fabs(exp(lp1[v]) - exp(lp2[v])));
    }
}

/* ---- Equivalence ---------------------------------------------------------- */

Test(moe, attention_and_cbow_moe_give_the_same_conditionals)
{
    unsigned long seed = 1301;
    gsl_rng *r = ac_test_rng(seed);
    int ncase = ac_test_cases(400), seen2 = 0, seenH = 0, seen1 = 0;
    for (int cs = 0; cs < ncase; cs++) {
        ac_moe_model *mm = rand_model(r);
        const ac_moe_sizes *s = &mm->m.s;
        ac_moe_form *f = ac_moe_form_alloc(s);
        cr_assert_eq(ac_moe_form_from_attention(&mm->m, f, NULL), AC_OK);
        double tol = ac_moe_logp_tolerance(&mm->m);
        cr_assert(isfinite(tol) && tol < 1e-6, "seed %lu case %d: tolerance %g", seed, cs, tol);
        int x[8];
        double lpa[8], lpf[8], lpg[8], dl, dp;
        seen2 += s->layers == 2, seenH += s->H > 1, seen1 += s->V == 1 || s->L == 1 || s->d == 1;
        for (int t = 0; t < 3; t++) {
            rand_sentence(r, s->V, s->L, x);
            for (int i = 0; i < s->L; i++) {
                cr_assert_eq(ac_moe_attention_logp(&mm->m, x, i, lpa, NULL), AC_OK);
                cr_assert_eq(ac_moe_form_logp(f, x, i, lpf, NULL), AC_OK);
                diffs(s->V, lpa, lpf, &dl, &dp);
                cr_assert_leq(dl, tol, "seed %lu case %d slot %d: |dlogp| %g > %g (V %d L %d d %d "
                              "H %d layers %d self %d res %d)", seed, cs, i, dl, tol, s->V, s->L,
                              s->d, s->H, s->layers, s->self, s->residual);
                cr_assert_leq(dp, tol);
                if (s->layers == 1) {
                    cr_assert_eq(ac_moe_geometric_logp(f, x, i, lpg, NULL), AC_OK);
                    diffs(s->V, lpa, lpg, &dl, &dp);
                    cr_assert_leq(dl, tol, "seed %lu case %d slot %d: geometric %g > %g", seed, cs,
                                  i, dl, tol);
                }
            }
        }
        ac_moe_form_free(f);
        ac_moe_model_free(mm);
    }
    cr_assert(seen2 > 0 && seenH > 0 && seen1 > 0, "every variant drawn");
    gsl_rng_free(r);
}

/* ---- Negative controls (§2.5 item 4) -------------------------------------- */

/* The spec's instance V = 7, L = 5, d = 6, dk = 4, dv = 3, one head, N(0,1)
 * weights: each control must differ from the attention model by much more
 * than the tolerance (the check can fail). */
Test(moe, negative_controls_differ_far_beyond_the_tolerance)
{
    gsl_rng *r = ac_test_rng(1302);
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    ac_moe_model *mm = ac_moe_model_alloc(&s, AC_MOE_WITH_P | AC_MOE_WITH_C);
    ac_moe_model_randomize(mm, r, 1.0);
    double tol = ac_moe_logp_tolerance(&mm->m);
    const ac_moe_control ctl[] = {AC_MOE_CONTROL_NO_QUERY_POSITION, AC_MOE_CONTROL_ARITHMETIC,
                                  AC_MOE_CONTROL_NO_SCALE};
    for (int k = 0; k < 3; k++) {
        double worst = 0.0, lpa[7], lpc[7], dl, dp;
        int x[5];
        for (int t = 0; t < 20; t++) {
            rand_sentence(r, s.V, s.L, x);
            for (int i = 0; i < s.L; i++) {
                cr_assert_eq(ac_moe_attention_logp(&mm->m, x, i, lpa, NULL), AC_OK);
                cr_assert_eq(ac_moe_control_logp(&mm->m, ctl[k], x, i, lpc, NULL), AC_OK);
                diffs(s.V, lpa, lpc, &dl, &dp);
                worst = fmax(worst, dp);
            }
        }
        /* spec: |Δp| ~ 1e-1, 1e-2, 1e-1; 1e-3 and 1e6 tolerances leave room */
        cr_assert_gt(worst, 1e-3, "control %d: max |dp| %g", k, worst);
        cr_assert_gt(worst, 1e6 * tol, "control %d: max |dp| %g, tol %g", k, worst, tol);
    }
    ac_moe_model_free(mm);
    gsl_rng_free(r);
}

/* ---- Properties (§2.5 item 5) --------------------------------------------- */

Test(moe, the_masked_word_itself_does_not_matter)
{
    gsl_rng *r = ac_test_rng(1303);
    for (int cs = 0; cs < ac_test_cases(100); cs++) {
        ac_moe_model *mm = rand_model(r);
        const ac_moe_sizes *s = &mm->m.s;
        int x[8];
        double lp1[8], lp2[8];
        rand_sentence(r, s->V, s->L, x);
        int i = pick(r, 0, s->L - 1);
        cr_assert_eq(ac_moe_attention_logp(&mm->m, x, i, lp1, NULL), AC_OK);
        x[i] = (x[i] + 1) % s->V;
        cr_assert_eq(ac_moe_attention_logp(&mm->m, x, i, lp2, NULL), AC_OK);
        cr_assert_arr_eq(lp1, lp2, sizeof(double) * (size_t)s->V, "case %d", cs);
        ac_moe_model_free(mm);
    }
    gsl_rng_free(r);
}

Test(moe, key_bias_has_no_effect)
{
    gsl_rng *r = ac_test_rng(1304);
    int moved = 0;
    for (int cs = 0; cs < ac_test_cases(200); cs++) {
        ac_moe_model *mm = rand_model(r);
        if (!mm->bk) {
            ac_moe_model_free(mm);
            continue;
        }
        const ac_moe_sizes *s = &mm->m.s;
        ac_moe_attention no_bk = mm->m;
        no_bk.bk = NULL;
        double tol = ac_moe_logp_tolerance(&mm->m), lp1[8], lp2[8], dl, dp;
        int x[8];
        rand_sentence(r, s->V, s->L, x);
        for (int i = 0; i < s->L; i++) {
            cr_assert_eq(ac_moe_attention_logp(&mm->m, x, i, lp1, NULL), AC_OK);
            cr_assert_eq(ac_moe_attention_logp(&no_bk, x, i, lp2, NULL), AC_OK);
            diffs(s->V, lp1, lp2, &dl, &dp);
            cr_assert_leq(dl, tol, "case %d slot %d: %g > %g", cs, i, dl, tol);
        }
        /* the query bias, by contrast, moves the conditionals */
        ac_moe_attention no_bq = mm->m;
        if (mm->bq && s->V > 1 && s->L > 1 + !s->self) {
            no_bq.bq = NULL;
            for (int i = 0; i < s->L; i++) {
                ac_moe_attention_logp(&mm->m, x, i, lp1, NULL);
                ac_moe_attention_logp(&no_bq, x, i, lp2, NULL);
                diffs(s->V, lp1, lp2, &dl, &dp);
                moved += dl > 1e6 * tol;
            }
        }
        ac_moe_model_free(mm);
    }
    cr_assert_gt(moved, 0, "the query bias never mattered: the comparison cannot tell");
    gsl_rng_free(r);
}

/* Without positional encodings (§2.1): permuting the sentence, masked slot
 * included, leaves p(x_i | x_-i) unchanged, so it depends neither on the
 * order of the context nor on which slot is masked. */
Test(moe, without_positions_the_conditional_is_a_bag_of_words)
{
    gsl_rng *r = ac_test_rng(1305);
    int moved = 0;
    for (int cs = 0; cs < ac_test_cases(200); cs++) {
        ac_moe_model *mm = rand_model(r);
        const ac_moe_sizes *s = &mm->m.s;
        ac_moe_attention nop = mm->m;
        nop.P = NULL;
        double tol = ac_moe_logp_tolerance(&nop), lp1[8], lp2[8], dl, dp;
        int x[8], y[8], perm[8];
        rand_sentence(r, s->V, s->L, x);
        for (int j = 0; j < s->L; j++)
            perm[j] = j;
        gsl_ran_shuffle(r, perm, (size_t)s->L, sizeof(int));
        for (int j = 0; j < s->L; j++)
            y[perm[j]] = x[j];
        int i = pick(r, 0, s->L - 1);
        cr_assert_eq(ac_moe_attention_logp(&nop, x, i, lp1, NULL), AC_OK);
        cr_assert_eq(ac_moe_attention_logp(&nop, y, perm[i], lp2, NULL), AC_OK);
        diffs(s->V, lp1, lp2, &dl, &dp);
        cr_assert_leq(dl, tol, "case %d: %g > %g", cs, dl, tol);
        /* with the positions the same permutation moves it */
        if (mm->P && perm[i] != i) {
            ac_moe_attention_logp(&mm->m, x, i, lp1, NULL);
            ac_moe_attention_logp(&mm->m, y, perm[i], lp2, NULL);
            diffs(s->V, lp1, lp2, &dl, &dp);
            moved += dl > 1e6 * ac_moe_logp_tolerance(&mm->m);
        }
        ac_moe_model_free(mm);
    }
    cr_assert_gt(moved, 0, "positions never mattered: the comparison cannot tell");
    gsl_rng_free(r);
}

/* ---- Reverse construction (§2.1) ------------------------------------------ */

/* Rows of I_d + 0.05 N(0,1): the Gram matrix of any subset of m <= d rows
 * has condition kappa^2 with kappa <= (1 + 0.05 (sqrt d + sqrt m + 3)) /
 * (1 - 0.05 (...)) < 3 for d <= 12 (the 0.05 N part has norm below 0.05
 * (sqrt d + sqrt m + 3) but with negligible probability). */
static void near_identity_rows(gsl_rng *r, double *X, int rows, int d, int first)
{
    for (int k = 0; k < rows; k++)
        for (int c = 0; c < d; c++)
            X[(size_t)k * d + c] = (k + first == c ? 1.0 : 0.0) + gsl_ran_gaussian(r, 0.05);
}

Test(moe, arbitrary_gates_and_experts_are_realised_by_attention_weights)
{
    gsl_rng *r = ac_test_rng(1306);
    for (int cs = 0; cs < ac_test_cases(100); cs++) {
        ac_moe_sizes s;
        ac_moe_sizes_default(&s);
        s.V = pick(r, 1, 3), s.L = pick(r, 1, 3), s.dv = pick(r, 1, 3), s.H = pick(r, 1, 2);
        s.d = s.dk = s.V + 1 + s.L + pick(r, 0, 2), s.dout = s.H * s.dv;
        s.self = s.L == 1 ? 1 : pick(r, 0, 1);
        ac_moe_form *f = ac_moe_form_alloc(&s);
        /* {w_0..w_V, p_1..p_L} are V + 1 + L <= d near-orthonormal rows */
        near_identity_rows(r, f->w, s.V + 1, s.d, 0);
        near_identity_rows(r, f->p, s.L, s.d, s.V + 1);
        for (size_t k = 0; k < (size_t)s.H * s.L * s.d; k++)
            f->gamma[k] = gsl_ran_gaussian(r, 1.0);
        for (size_t k = 0; k < (size_t)s.H * (s.V + 1) * s.dv; k++)
            f->a[k] = gsl_ran_gaussian(r, 1.0);
        for (size_t k = 0; k < (size_t)s.H * s.L * s.dv; k++)
            f->b[k] = gsl_ran_gaussian(r, 1.0);
        for (size_t k = 0; k < (size_t)s.H * s.V * s.dv; k++)
            f->rho[k] = gsl_ran_gaussian(r, 1.0);
        for (int v = 0; v < s.V; v++)
            f->c[v] = gsl_ran_gaussian(r, 1.0);
        size_t dd = (size_t)s.d * s.d;
        double *Wq = malloc(sizeof(double) * s.H * dd), *Wk = malloc(sizeof(double) * s.H * dd);
        double *Wv = malloc(sizeof(double) * s.H * s.dv * s.d);
        double *U = malloc(sizeof(double) * s.V * s.H * s.dv);
        cr_assert_eq(ac_moe_attention_from_form(f, Wq, Wk, Wv, U, NULL), AC_OK, "case %d", cs);
        ac_moe_attention m = {.s = s, .E = f->w, .P = f->p, .Wq = Wq, .Wk = Wk, .Wv = Wv,
                              .U = U, .c = f->c};
        /* The solve's backward error is a relative d kappa eps on gamma and
         * the experts, like one more rounding of every score and value, so
         * the rounding bound holds with kappa^2 <= 9 more. */
        double tol = 9.0 * ac_moe_logp_tolerance(&m), lpa[4], lpf[4], dl, dp;
        int x[4];
        for (int t = 0; t < 3; t++) {
            rand_sentence(r, s.V, s.L, x);
            for (int i = 0; i < s.L; i++) {
                cr_assert_eq(ac_moe_attention_logp(&m, x, i, lpa, NULL), AC_OK);
                cr_assert_eq(ac_moe_form_logp(f, x, i, lpf, NULL), AC_OK);
                diffs(s.V, lpa, lpf, &dl, &dp);
                cr_assert_leq(dl, tol, "case %d slot %d: %g > %g", cs, i, dl, tol);
            }
        }
        /* one word too many for d: the experts are no longer reachable */
        ac_moe_sizes s2 = s;
        s2.d = s2.dk = s.V + s.L; /* V + 1 + L = d + 1 */
        ac_moe_form *g = ac_moe_form_alloc(&s2);
        for (size_t k = 0; k < (size_t)(s2.V + 1) * s2.d; k++)
            g->w[k] = gsl_ran_gaussian(r, 1.0);
        for (size_t k = 0; k < (size_t)s2.L * s2.d; k++)
            g->p[k] = gsl_ran_gaussian(r, 1.0);
        for (size_t k = 0; k < (size_t)s2.H * (s2.V + 1) * s2.dv; k++)
            g->a[k] = gsl_ran_gaussian(r, 1.0);
        ac_msg msg;
        cr_assert_eq(ac_moe_attention_from_form(g, Wq, Wk, Wv, U, &msg), AC_ERANK, "case %d", cs);
        ac_moe_form_free(g);
        ac_moe_form_free(f);
        free(Wq), free(Wk), free(Wv), free(U);
    }
    gsl_rng_free(r);
}

/* ---- Analogy (§4.2, §4.4 item 1) ------------------------------------------ */

Test(moe, analogy_defect_cases_come_out_exactly)
{
    gsl_rng *r = ac_test_rng(1307);
    for (int cs = 0; cs < ac_test_cases(50); cs++)
        for (int k = 0; k < AC_MOE_ANALOGY_COUNT; k++) {
            ac_moe_analogy *an = ac_moe_analogy_alloc((ac_moe_analogy_kind)k, r);
            cr_assert_not_null(an);
            double delta[16];
            cr_assert_eq(ac_moe_analogy_defect(an, delta, NULL), AC_OK);
            double var = ac_moe_defect_variance(ac_moe_analogy_vocab(an), delta);
            double tol = ac_moe_analogy_tolerance(an, DBL_EPSILON);
            if (an->zero)
                cr_assert_leq(var, tol, "case %d kind %d: Var %g > %g", cs, k, var, tol);
            else
                /* Var is a fixed positive number of the instance (~1e-3 ..
                 * 1): require it far above what rounding could make */
                cr_assert_gt(var, 1e6 * tol, "case %d kind %d: Var %g, tol %g", cs, k, var, tol);
            ac_moe_analogy_free(an);
        }
    gsl_rng_free(r);
}

/* A w-parallelogram with unequal scores is not enough (§4.2(b)); the
 * defect of a fixed instance grows with the spread of the scores: scaling
 * gamma by 0 gives equal scores (Var to rounding), by 1 a positive Var. */
Test(moe, analogy_defect_vanishes_when_the_gates_are_flattened)
{
    gsl_rng *r = ac_test_rng(1308);
    ac_moe_analogy *an = ac_moe_analogy_alloc(AC_MOE_ANALOGY_MOE_UNEQUAL, r);
    double delta[16], tol = ac_moe_analogy_tolerance(an, DBL_EPSILON);
    int V = ac_moe_analogy_vocab(an);
    ac_moe_analogy_defect(an, delta, NULL);
    double v1 = ac_moe_defect_variance(V, delta);
    for (size_t k = 0; k < (size_t)an->L * an->form->s.d; k++)
        an->form->gamma[k] = 0.0;
    ac_moe_analogy_defect(an, delta, NULL);
    double v0 = ac_moe_defect_variance(V, delta);
    cr_assert_leq(v0, tol, "flat gates: Var %g", v0);
    cr_assert_gt(v1, 1e6 * tol, "unequal scores: Var %g", v1);
    ac_moe_analogy_free(an);
    gsl_rng_free(r);
}

Test(moe, defect_and_variance_of_known_vectors)
{
    /* exact identities: Δ = a - b - c + d, Var of (1, 3) is 1 */
    double a[2] = {1.5, 2.25}, b[2] = {0.5, 0.25}, c[2] = {1.0, 1.0}, d[2] = {1.0, 2.0}, out[2];
    ac_moe_defect(2, a, b, c, d, out);
    cr_assert(out[0] == 1.0 && out[1] == 3.0);
    cr_assert(ac_moe_defect_variance(2, out) == 1.0);
    cr_assert(ac_moe_defect_variance(1, out) == 0.0);
}

/* ---- Invalid input --------------------------------------------------------- */

Test(moe, invalid_sizes_models_and_sentences_are_refused)
{
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    cr_assert_null(ac_moe_sizes_check(&s));
    struct { int field; int value; const char *word; } bad[] = {
        {0, 0, "vocabulary"}, {1, 0, "length"}, {2, 0, "widths"}, {3, 0, "heads"},
        {4, 3, "layers"}, {5, 2, "self"}, {6, 2, "residual"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ac_moe_sizes t = s;
        int *f[] = {&t.V, &t.L, &t.d, &t.H, &t.layers, &t.self, &t.residual};
        *f[bad[k].field] = bad[k].value;
        const char *e = ac_moe_sizes_check(&t);
        cr_assert_not_null(e, "entry %zu accepted", k);
        cr_assert_not_null(strstr(e, bad[k].word), "'%s' lacks '%s'", e, bad[k].word);
        cr_assert_null(ac_moe_form_alloc(&t));
    }
    ac_moe_sizes t = s;
    t.self = 0, t.L = 1;
    cr_assert_not_null(ac_moe_sizes_check(&t));
    t = s, t.residual = 1; /* dout 3 != d 6 */
    cr_assert_not_null(strstr(ac_moe_sizes_check(&t), "dout = d"));
    t = s, t.layers = 2, t.H = 2;
    cr_assert_not_null(ac_moe_sizes_check(&t));

    gsl_rng *r = ac_test_rng(1309);
    ac_moe_model *mm = ac_moe_model_alloc(&s, AC_MOE_WITH_P);
    ac_moe_model_randomize(mm, r, SCALE);
    ac_msg msg;
    int x[5] = {0, 1, 2, 3, 4};
    double lp[7];
    mm->P[7] = NAN;
    cr_assert_eq(ac_moe_attention_logp(&mm->m, x, 0, lp, &msg), AC_EINVAL);
    cr_assert_not_null(strstr(msg.text, "positional"), "%s", msg.text);
    mm->P[7] = 0.25;
    x[2] = 7;
    cr_assert_eq(ac_moe_attention_logp(&mm->m, x, 0, lp, &msg), AC_EINVAL);
    cr_assert_not_null(strstr(msg.text, "slot 2"), "%s", msg.text);
    x[2] = 2;
    cr_assert_eq(ac_moe_attention_logp(&mm->m, x, 5, lp, &msg), AC_EINVAL);
    cr_assert_not_null(strstr(msg.text, "masked slot 5"), "%s", msg.text);
    ac_moe_form *f = ac_moe_form_alloc(&s);
    cr_assert_eq(ac_moe_form_from_attention(&mm->m, f, NULL), AC_OK);
    x[3] = -1;
    cr_assert_eq(ac_moe_form_logp(f, x, 0, lp, &msg), AC_EINVAL);
    x[3] = 3;
    cr_assert_eq(ac_moe_control_logp(&mm->m, (ac_moe_control)9, x, 0, lp, &msg), AC_EINVAL);
    cr_assert(isnan(ac_moe_logp_tolerance(NULL)));
    ac_moe_attention m2 = mm->m;
    m2.U = NULL;
    cr_assert_not_null(strstr(ac_moe_attention_check(&m2), "needs"));
    m2 = mm->m, m2.s.H = 2; /* dout 3 != H dv 6 without W_O */
    cr_assert_eq(ac_moe_form_from_attention(&m2, f, &msg), AC_EINVAL);
    ac_moe_quad q = {.i = 0, .j = 0, .a = 0, .b = 1, .c = 2, .d = 3};
    cr_assert_eq(ac_moe_form_analogy_defect(f, x, x, &q, lp, &msg), AC_EINVAL);
    cr_assert_null(ac_moe_model_alloc(&s, AC_MOE_WITH_BO)); /* b_O without W_O */
    cr_assert_null(ac_moe_model_alloc(&s, AC_MOE_WITH_P | (1u << 7))); /* a bit of no array */
    ac_moe_model *all = ac_moe_model_alloc(&s, AC_MOE_WITH_ALL & ~(unsigned)AC_MOE_WITH_BO);
    cr_assert_not_null(all, "every known bit the sizes allow is accepted");
    ac_moe_model_free(all);
    double big[256];
    cr_assert_eq(ac_moe_attention_from_form(f, big, big, big, big, &msg), AC_EINVAL); /* dk != d */
    cr_assert_not_null(strstr(msg.text, "dk = d"), "%s", msg.text);
    cr_assert_null(ac_moe_analogy_alloc(AC_MOE_ANALOGY_COUNT, r));
    ac_moe_form_free(f);
    ac_moe_form_free(NULL);
    ac_moe_model_free(mm);
    ac_moe_model_free(NULL);
    ac_moe_analogy_free(NULL);
    gsl_rng_free(r);
}

/* The gating weights of the form are the attention weights a_ij of §1,
 * computed here from W_Q, W_K directly: softmax_j((W_Q e_i + b_Q)·(W_K e_j +
 * b_K)/sqrt(dk)) over J; they sum to 1 and vanish at j = i when self = 0. */
Test(moe, gating_weights_are_the_attention_weights)
{
    gsl_rng *r = ac_test_rng(1310);
    for (int cs = 0; cs < ac_test_cases(200); cs++) {
        ac_moe_model *mm = rand_model(r);
        const ac_moe_sizes *s = &mm->m.s;
        if (s->layers != 1) {
            ac_moe_model_free(mm);
            continue;
        }
        ac_moe_form *f = ac_moe_form_alloc(s);
        ac_moe_form_from_attention(&mm->m, f, NULL);
        int x[8], L = s->L, d = s->d, dk = s->dk;
        for (int j = 0; j < L; j++)
            x[j] = pick(r, 0, s->V - 1);
        int i = pick(r, 0, L - 1), h = pick(r, 0, s->H - 1);
        double pi[8], sc[8], q[8], k[8], e[8], mx = -INFINITY, sum = 0.0;
        cr_assert_eq(ac_moe_gate_weights(f, x, i, h, pi, NULL), AC_OK);
        for (int j = 0; j < L; j++) {
            for (int side = 0; side < 2; side++) {
                int jj = side ? j : i, t = jj == i ? s->V : x[jj];
                for (int c = 0; c < d; c++)
                    e[c] = mm->E[t * d + c] + (mm->P ? mm->P[jj * d + c] : 0.0);
                const double *W = (side ? mm->Wk : mm->Wq) + (size_t)h * dk * d;
                const double *bb = side ? mm->bk : mm->bq;
                for (int a = 0; a < dk; a++) {
                    double acc = bb ? bb[h * dk + a] : 0.0;
                    for (int c = 0; c < d; c++)
                        acc += W[a * d + c] * e[c];
                    (side ? k : q)[a] = acc;
                }
            }
            sc[j] = 0.0;
            for (int a = 0; a < dk; a++)
                sc[j] += q[a] * k[a] / sqrt((double)dk);
            if (s->self || j != i)
                mx = fmax(mx, sc[j]);
        }
        for (int j = 0; j < L; j++)
            sum += (s->self || j != i) ? exp(sc[j] - mx) : 0.0;
        double tol = ac_moe_logp_tolerance(&mm->m), tot = 0.0;
        for (int j = 0; j < L; j++) {
            double want = (s->self || j != i) ? exp(sc[j] - mx) / sum : 0.0;
            /* |Δ pi_j| <= pi_j |Δ log pi_j| <= tol (the bound covers score
             * errors entering a log-softmax) */
            cr_assert_leq(fabs(pi[j] - want), tol, "case %d slot %d: %.17g vs %.17g", cs, j, pi[j],
                          want);
            tot += pi[j];
        }
        cr_assert_leq(fabs(tot - 1.0), 4 * L * DBL_EPSILON);
        if (!s->self)
            cr_assert(pi[i] == 0.0);
        ac_moe_form_free(f);
        ac_moe_model_free(mm);
    }
    gsl_rng_free(r);
}

/* An analogy case needs its generator: NULL r gives NULL (it was read
 * through by gsl_rng_uniform_int). */
Test(moe, analogy_alloc_refuses_a_null_generator)
{
    for (int k = 0; k < AC_MOE_ANALOGY_COUNT; k++)
        cr_assert_null(ac_moe_analogy_alloc((ac_moe_analogy_kind)k, NULL), "kind %d", k);
}
