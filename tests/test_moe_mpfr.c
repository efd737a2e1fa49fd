/* MPFR mirror of CBOW-MoE (theory/moe_mpfr.h, spec cbow_moe §2.5 item 3,
 * §4.4 item 1): at 256 bits attention and CBOW-MoE agree to >= 50
 * significant digits; the MPFR mirror agrees with itself at 320 bits and
 * with the double code under the double rounding bound; the exact analogy
 * cases come out to ~2^-256. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "theory/moe.h"
#include "theory/moe_mpfr.h"
#include "tests/testutil.h"

#define PREC 256
/* 50 significant digits of p: |Δ log p| = |Δp|/p to first order. */
#define DIGITS50 1e-50
#define SCALE 0.7

static int pick(gsl_rng *r, int lo, int hi)
{
    return lo + (int)gsl_rng_uniform_int(r, (unsigned long)(hi - lo + 1));
}

static mpfr_t *vinit(size_t n, mpfr_prec_t p)
{
    mpfr_t *v = malloc(sizeof(mpfr_t) * (n + 1));
    for (size_t i = 0; i < n; i++)
        mpfr_init2(v[i], p);
    return v;
}

static void vclear(mpfr_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mpfr_clear(v[i]);
    free(v);
}

/* As tests/test_moe.c: V, L, d in 1..6, dk, dv in 1..4, H in 1..3, one or
 * two layers, every option. */
static ac_moe_model *rand_model(gsl_rng *r)
{
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    s.V = pick(r, 1, 6), s.L = pick(r, 1, 6), s.d = pick(r, 1, 6);
    s.dk = pick(r, 1, 4), s.dv = pick(r, 1, 4), s.H = pick(r, 1, 3);
    s.layers = gsl_rng_uniform(r) < 0.3 ? 2 : 1;
    s.self = s.L == 1 ? 1 : pick(r, 0, 1);
    unsigned with = gsl_rng_uniform(r) < 0.8 ? AC_MOE_WITH_P : 0;
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
        with |= (unsigned)pick(r, 0, 7) * AC_MOE_WITH_BQ;
    }
    ac_moe_model *mm = ac_moe_model_alloc(&s, with);
    cr_assert_not_null(mm);
    ac_moe_model_randomize(mm, r, SCALE);
    return mm;
}

/* max_v |a_v - b_v| as a double */
static double maxdiff(int V, mpfr_t *a, mpfr_t *b)
{
    mpfr_t t;
    mpfr_init2(t, PREC + 64);
    double mx = 0.0;
    for (int v = 0; v < V; v++) {
        mpfr_sub(t, a[v], b[v], MPFR_RNDN);
        mx = fmax(mx, fabs(mpfr_get_d(t, MPFR_RNDN)));
    }
    mpfr_clear(t);
    return mx;
}

Test(moe_mpfr, attention_and_cbow_moe_agree_to_50_digits)
{
    unsigned long seed = 1311;
    gsl_rng *r = ac_test_rng(seed);
    int ncase = ac_test_cases(120), seen2 = 0;
    for (int cs = 0; cs < ncase; cs++) {
        ac_moe_model *mm = rand_model(r);
        const ac_moe_sizes *s = &mm->m.s;
        int V = s->V;
        seen2 += s->layers == 2;
        ac_moe_form_mpfr *fm = ac_moe_form_mpfr_alloc(s, PREC);
        cr_assert_not_null(fm);
        cr_assert_eq(ac_moe_form_from_attention_mpfr(&mm->m, fm, NULL), AC_OK);
        mpfr_t *la = vinit((size_t)V, PREC), *lf = vinit((size_t)V, PREC);
        mpfr_t *lg = vinit((size_t)V, PREC), *l2 = vinit((size_t)V, PREC + 64);
        double tol = ac_moe_logp_tolerance(&mm->m), lpd[8];
        int x[8];
        for (int j = 0; j < s->L; j++)
            x[j] = pick(r, 0, V - 1);
        for (int i = 0; i < s->L; i++) {
            cr_assert_eq(ac_moe_attention_logp_mpfr(&mm->m, x, i, la, PREC, NULL), AC_OK);
            cr_assert_eq(ac_moe_form_logp_mpfr(fm, x, i, lf, NULL), AC_OK);
            double dl = maxdiff(V, la, lf);
            cr_assert_leq(dl, DIGITS50, "seed %lu case %d slot %d: |dlogp| %g (layers %d H %d)",
                          seed, cs, i, dl, s->layers, s->H);
            if (s->layers == 1) {
                cr_assert_eq(ac_moe_geometric_logp_mpfr(fm, x, i, lg, NULL), AC_OK);
                dl = maxdiff(V, la, lg);
                cr_assert_leq(dl, DIGITS50, "case %d slot %d: geometric %g", cs, i, dl);
            }
            /* the mirror at 320 bits: same formulas, magnitudes <= ~1e3
             * (see the double tolerance), so 2^-240 */
            cr_assert_eq(ac_moe_attention_logp_mpfr(&mm->m, x, i, l2, PREC + 64, NULL), AC_OK);
            cr_assert_leq(maxdiff(V, la, l2), ldexp(1.0, -240));
            /* the double code against the reference, under its own bound */
            cr_assert_eq(ac_moe_attention_logp(&mm->m, x, i, lpd, NULL), AC_OK);
            for (int v = 0; v < V; v++)
                cr_assert_leq(fabs(lpd[v] - mpfr_get_d(la[v], MPFR_RNDN)), tol,
                              "case %d slot %d word %d", cs, i, v);
        }
        vclear(la, (size_t)V), vclear(lf, (size_t)V), vclear(lg, (size_t)V), vclear(l2, (size_t)V);
        ac_moe_form_mpfr_free(fm);
        ac_moe_model_free(mm);
    }
    cr_assert_gt(seen2, 0);
    gsl_rng_free(r);
}

/* The double form copied exactly to MPFR gives the same conditionals as
 * the form computed in MPFR only up to the double rounding of the form
 * (so the set is exact and the two MPFR paths are independent). */
Test(moe_mpfr, a_double_form_copies_exactly)
{
    gsl_rng *r = ac_test_rng(1312);
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    ac_moe_form *f = ac_moe_form_alloc(&s);
    ac_moe_form_mpfr *fm = ac_moe_form_mpfr_alloc(&s, PREC);
    for (size_t k = 0; k < (size_t)(s.V + 1) * s.d; k++)
        f->w[k] = gsl_ran_gaussian(r, 1.0);
    for (size_t k = 0; k < (size_t)s.L * s.d; k++)
        f->gamma[k] = gsl_ran_gaussian(r, 1.0);
    cr_assert_eq(ac_moe_form_mpfr_set(fm, f, NULL), AC_OK);
    for (size_t k = 0; k < (size_t)(s.V + 1) * s.d; k++)
        cr_assert(mpfr_cmp_d(fm->w[k], f->w[k]) == 0);
    for (size_t k = 0; k < (size_t)s.L * s.d; k++)
        cr_assert(mpfr_cmp_d(fm->gamma[k], f->gamma[k]) == 0);
    ac_moe_sizes t = s;
    t.V = 3;
    ac_moe_form_mpfr *g = ac_moe_form_mpfr_alloc(&t, PREC);
    cr_assert_eq(ac_moe_form_mpfr_set(g, f, NULL), AC_EINVAL);
    ac_moe_form_mpfr_free(g);
    ac_moe_form_mpfr_free(fm);
    ac_moe_form_free(f);
    gsl_rng_free(r);
}

Test(moe_mpfr, analogy_defect_cases_come_out_exactly)
{
    gsl_rng *r = ac_test_rng(1313);
    for (int cs = 0; cs < ac_test_cases(10); cs++)
        for (int k = 0; k < AC_MOE_ANALOGY_COUNT; k++) {
            ac_moe_analogy *an = ac_moe_analogy_alloc((ac_moe_analogy_kind)k, r);
            int V = ac_moe_analogy_vocab(an);
            mpfr_t *delta = vinit((size_t)V, PREC), var;
            mpfr_init2(var, PREC);
            cr_assert_eq(ac_moe_analogy_defect_mpfr(an, delta, PREC, NULL), AC_OK);
            ac_moe_defect_variance_mpfr(V, delta, var);
            double dvar = mpfr_get_d(var, MPFR_RNDN);
            /* the double defect agrees with the reference */
            double dd[16];
            ac_moe_analogy_defect(an, dd, NULL);
            double vd = ac_moe_defect_variance(V, dd);
            if (an->zero) {
                /* the rounding bound at 256 bits, eps = 2^-255 (~1e-150 on
                 * Var): far below 1e-100, i.e. Δ constant to 50 digits */
                double tol = ac_moe_analogy_tolerance(an, ldexp(1.0, 1 - PREC));
                cr_assert_leq(dvar, tol, "case %d kind %d: Var %g > %g", cs, k, dvar, tol);
                cr_assert_leq(tol, 1e-100);
            } else {
                cr_assert_gt(dvar, 1e-6, "case %d kind %d: Var %g", cs, k, dvar);
                /* double Var against the reference: Var is a smooth function of
                 * Δ with |dVar/dΔ_v| <= 2 max|Δ|/V; Δ errors as the double bound */
                double E = sqrt(ac_moe_analogy_tolerance(an, DBL_EPSILON));
                cr_assert_leq(fabs(vd - dvar), 4.0 * E * (1.0 + sqrt(dvar)), "case %d", cs);
            }
            vclear(delta, (size_t)V);
            mpfr_clear(var);
            ac_moe_analogy_free(an);
        }
    gsl_rng_free(r);
}

Test(moe_mpfr, invalid_precision_sizes_and_sentences_are_refused)
{
    ac_moe_sizes s;
    ac_moe_sizes_default(&s);
    cr_assert_null(ac_moe_form_mpfr_alloc(&s, 0));
    s.V = 0;
    cr_assert_null(ac_moe_form_mpfr_alloc(&s, PREC));
    ac_moe_sizes_default(&s);
    gsl_rng *r = ac_test_rng(1314);
    ac_moe_model *mm = ac_moe_model_alloc(&s, AC_MOE_WITH_P);
    ac_moe_model_randomize(mm, r, SCALE);
    mpfr_t *lp = vinit(7, PREC);
    ac_msg msg;
    int x[5] = {0, 1, 2, 3, 4};
    cr_assert_eq(ac_moe_attention_logp_mpfr(&mm->m, x, 0, lp, 0, &msg), AC_EINVAL);
    cr_assert_not_null(strstr(msg.text, "precision"), "%s", msg.text);
    x[4] = 9;
    cr_assert_eq(ac_moe_attention_logp_mpfr(&mm->m, x, 0, lp, PREC, &msg), AC_EINVAL);
    cr_assert_not_null(strstr(msg.text, "slot 4"), "%s", msg.text);
    x[4] = 4;
    mm->E[3] = INFINITY;
    cr_assert_eq(ac_moe_attention_logp_mpfr(&mm->m, x, 0, lp, PREC, &msg), AC_EINVAL);
    ac_moe_form_mpfr *fm = ac_moe_form_mpfr_alloc(&s, PREC);
    cr_assert_eq(ac_moe_form_from_attention_mpfr(&mm->m, fm, &msg), AC_EINVAL);
    cr_assert_not_null(strstr(msg.text, "token embeddings"), "%s", msg.text);
    mm->E[3] = 0.5;
    cr_assert_eq(ac_moe_form_logp_mpfr(fm, x, 7, lp, &msg), AC_EINVAL);
    ac_moe_cbow cb = {.V = 7, .dv = 1, .alpha = mm->E, .rho = mm->E};
    cr_assert_eq(ac_moe_cbow_logp_mpfr(&cb, 1, x, 0, lp, PREC, &msg), AC_EINVAL);
    vclear(lp, 7);
    ac_moe_form_mpfr_free(fm);
    ac_moe_form_mpfr_free(NULL);
    ac_moe_model_free(mm);
    gsl_rng_free(r);
}
