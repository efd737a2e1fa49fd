/* JoMA theory (theory/joma.h): Jacobians against finite differences, the
 * integrator against the erf closed form, the softmax ratio law and the
 * quadrature of the nonlinear case, the blow-up reported at t*, the
 * attention entropy, and the joint flow's gradient and invariant. */
#include <criterion/criterion.h>
#include <float.h>
#include <gsl/gsl_math.h>
#include <math.h>
#include <string.h>

#include "solvers/ode.h"
#include "theory/joma.h"
#include "tests/testutil.h"

#define MMAX 6

typedef struct {
    double delta[MMAX], mu[MMAX], lambda[MMAX], x[MMAX], c[MMAX];
    ac_joma_reduced m;
} model_buf;

static void random_model(gsl_rng *r, model_buf *b, int M, ac_joma_attention att,
                         ac_joma_activation act)
{
    for (int l = 0; l < M; l++) {
        b->delta[l] = 1.7312 * gsl_ran_gaussian(r, 1.0);
        b->mu[l] = 1.0 + 1.5 * gsl_rng_uniform(r);
        b->lambda[l] = 0.5 + gsl_rng_uniform(r);
        b->x[l] = 0.1 + gsl_rng_uniform(r);
        b->c[l] = att == AC_JOMA_ATT_LINEAR ? 0.2 + gsl_rng_uniform(r) : 0.3 * gsl_ran_gaussian(r, 1.0);
    }
    ac_joma_reduced_init(&b->m, M, att, act, act == AC_JOMA_ACT_LINEAR ? b->delta : b->mu);
    b->m.lambda = b->lambda;
    b->m.x = b->x;
    b->m.c = b->c;
    b->m.T = 1.0 + 2.0 * gsl_rng_uniform(r);
}

/* Central differences: error h^2 |f'''|/6 + eps |f|/h.  With h = 1e-5 and
 * |v| <= 1.5 the factors exp(v^2/T) stay below e^{2.25}, their third
 * derivatives below ~1e3, so the truncation is ~2e-8 and the rounding
 * ~2e-11 |f|; 1e-6 (1 + max|J|) is a safe bound. */
Test(joma, reduced_jacobian_matches_central_differences)
{
    gsl_rng *r = ac_test_rng(21);
    int ncase = ac_test_cases(60);
    for (int c = 0; c < ncase; c++) {
        int M = 1 + c % MMAX;
        ac_joma_attention att = (ac_joma_attention)(c % 3);
        ac_joma_activation act = (ac_joma_activation)((c / 3) % 2);
        model_buf b;
        random_model(r, &b, M, att, act);
        cr_assert_eq(ac_joma_reduced_check(&b.m, NULL), AC_OK);
        double v[MMAX], J[MMAX * MMAX], dfdt[MMAX], fp[MMAX], fm[MMAX];
        for (int l = 0; l < M; l++)
            v[l] = 1.5 * (2.0 * gsl_rng_uniform(r) - 1.0);
        cr_assert_eq(ac_joma_reduced_jac(&b.m, 0.0, v, J, dfdt), 0);
        double Jmax = 0.0;
        for (int i = 0; i < M * M; i++)
            Jmax = fmax(Jmax, fabs(J[i]));
        const double h = 1e-5;
        for (int i = 0; i < M; i++) {
            double vi = v[i];
            v[i] = vi + h;
            ac_joma_reduced_rhs(&b.m, 0.0, v, fp);
            v[i] = vi - h;
            ac_joma_reduced_rhs(&b.m, 0.0, v, fm);
            v[i] = vi;
            for (int l = 0; l < M; l++) {
                double fd = (fp[l] - fm[l]) / (2 * h);
                cr_assert(fabs(fd - J[l * M + i]) <= 1e-6 * (1.0 + Jmax),
                          "case %d (%s, act %d, M %d): J[%d][%d] = %.12g, differences %.12g", c,
                          ac_joma_attention_name(att), (int)act, M, l, i, J[l * M + i], fd);
            }
            cr_assert_eq(dfdt[i], 0.0);
        }
    }
    gsl_rng_free(r);
}

/* Integrate with the step/test loop and bound the global error: the sum of
 * accepted local errors (each below 1.1 (atol + rtol |y|), twice for the
 * embedded estimate) times the growth exp(int max(0, mu_inf(J)) dt) of the
 * logarithmic infinity-norm of the Jacobian, which bounds how much a
 * perturbation can grow (Dahlquist).  The integral is taken with the
 * left-point rule on the accepted steps, and doubled. */
typedef struct {
    double local;   /* sum of local error allowances, each amplified */
    double logG;    /* int max(0, mu_inf(J)) dt */
} err_budget;

static double lognorm_inf(const ac_joma_reduced *m, const double *v)
{
    int M = m->M;
    double J[MMAX * MMAX], dfdt[MMAX], mx = -HUGE_VAL;
    ac_joma_reduced_jac((void *)m, 0.0, v, J, dfdt);
    for (int l = 0; l < M; l++) {
        double s = J[l * M + l];
        for (int i = 0; i < M; i++)
            if (i != l)
                s += fabs(J[l * M + i]);
        mx = fmax(mx, s);
    }
    return mx;
}

static double run_budget(ac_ode_workspace *w, const ac_joma_reduced *m, const ac_ode_settings *s,
                         ac_ode_info *info)
{
    err_budget eb = {0.0, 0.0};
    int M = m->M;
    double vprev[MMAX], tprev = ac_ode_t(w);
    while (!ac_ode_test(w, info)) {
        memcpy(vprev, ac_ode_y(w), sizeof(double) * (size_t)M);
        ac_ode_step(w);
        double dt = fabs(ac_ode_t(w) - tprev);
        double mu = fmax(lognorm_inf(m, vprev), lognorm_inf(m, ac_ode_y(w)));
        eb.logG += 2.0 * fmax(0.0, mu) * dt;
        double ymax = 0.0;
        for (int l = 0; l < M; l++)
            ymax = fmax(ymax, fabs(ac_ode_y(w)[l]));
        /* earlier local errors are amplified by the growth since: add the
         * new local error scaled by exp(-logG) and multiply back at the end */
        eb.local += 2.2 * (s->atol + s->rtol * ymax) * exp(-eb.logG);
        tprev = ac_ode_t(w);
    }
    return eb.local * exp(eb.logG);
}

Test(joma, linear_exp_integrator_matches_erf_closed_form)
{
    gsl_rng *r = ac_test_rng(22);
    int ncase = ac_test_cases(12);
    for (int c = 0; c < ncase; c++) {
        int M = 1 + c % 4;
        model_buf b;
        random_model(r, &b, M, AC_JOMA_ATT_EXP, AC_JOMA_ACT_LINEAR);
        b.m.c = NULL;
        double v0[MMAX];
        for (int l = 0; l < M; l++)
            v0[l] = 0.3 * gsl_ran_gaussian(r, 1.0);
        double ts = ac_joma_linear_tstar_min(M, b.delta, b.m.T, v0);
        double t1 = 0.9 * ts;
        ac_ode_system sys;
        ac_joma_reduced_system(&b.m, &sys);
        ac_ode_settings s;
        ac_ode_settings_default(&s);
        s.method = (c % 2) ? AC_ODE_RK8PD : AC_ODE_MSBDF;
        ac_ode_workspace *w = ac_ode_alloc(M);
        cr_assert_eq(ac_ode_set(w, &sys, 0.0, v0, t1, &s, NULL), AC_OK);
        ac_ode_info info;
        double bound = run_budget(w, &b.m, &s, &info);
        cr_assert_eq(info.status, AC_ODE_DONE, "%s", ac_ode_outcome_str(info.status));
        for (int l = 0; l < M; l++) {
            double exact = ac_joma_linear_v(b.delta[l], b.m.T, v0[l], t1);
            double got = ac_ode_y(w)[l];
            cr_assert(fabs(got - exact) <= bound, "case %d l %d: %.15g vs closed form %.15g, bound %g",
                      c, l, got, exact, bound);
        }
        ac_ode_free(w);
    }
    gsl_rng_free(r);
}

/* Linear attention, linear activation: dv/dt = Delta sqrt(c + v^2) gives
 * asinh(v/sqrt c) = asinh(v0/sqrt c) + Delta t, an exact identity that checks
 * the LINEAR branch (z = sqrt(c + v^2) from z^2 - v^2 = c). */
Test(joma, linear_attention_integrator_matches_asinh_closed_form)
{
    gsl_rng *r = ac_test_rng(28);
    for (int c = 0; c < ac_test_cases(8); c++) {
        int M = 1 + c % 4;
        model_buf b;
        random_model(r, &b, M, AC_JOMA_ATT_LINEAR, AC_JOMA_ACT_LINEAR);
        b.m.x = NULL;
        double v0[MMAX];
        for (int l = 0; l < M; l++)
            v0[l] = 0.4 * gsl_ran_gaussian(r, 1.0);
        ac_ode_system sys;
        ac_joma_reduced_system(&b.m, &sys);
        ac_ode_settings s;
        ac_ode_settings_default(&s);
        s.method = (c % 2) ? AC_ODE_RK8PD : AC_ODE_RK4IMP;
        ac_ode_workspace *w = ac_ode_alloc(M);
        double t1 = 1.1;
        cr_assert_eq(ac_ode_set(w, &sys, 0.0, v0, t1, &s, NULL), AC_OK);
        ac_ode_info info;
        double bound = run_budget(w, &b.m, &s, &info);
        cr_assert_eq(info.status, AC_ODE_DONE);
        for (int l = 0; l < M; l++) {
            double sc = sqrt(b.c[l]);
            double exact = sc * sinh(asinh(v0[l] / sc) + b.delta[l] * t1);
            cr_assert(fabs(ac_ode_y(w)[l] - exact) <= bound, "case %d l %d: %.15g vs %.15g (bound %g)",
                      c, l, ac_ode_y(w)[l], exact, bound);
        }
        ac_ode_free(w);
    }
    gsl_rng_free(r);
}

/* The closed form near t*: v(t* (1 - eps)) from erfc keeps its digits. An
 * exact identity checks it: erfc(v/sqrt T) = 2 Delta (t* - t)/sqrt(pi T). */
Test(joma, closed_form_is_accurate_near_the_blowup_time)
{
    double d = 1.7312, T = AC_JOMA_T_PAPER;
    double ts = ac_joma_linear_tstar(d, T, 0.0);
    cr_assert(fabs(ts - sqrt(M_PI / 2) / d) <= 4 * DBL_EPSILON * ts);
    for (int e = 1; e <= 12; e++) {
        double gap = pow(10.0, -e);
        double t = ts * (1 - gap);
        double v = ac_joma_linear_v(d, T, 0.0, t);
        double lhs = erfc(v / sqrt(T));
        double rhs = 2 * d * (ts - t) / sqrt(M_PI * T);
        /* Qinv is accurate to a few ulps relative; erfc's relative
         * condition number at v/sqrt T = w is 2 w^2 (<= 2*36 here), and
         * ts - t carries the rounding of t (eps ts / (ts gap)). */
        double tol = 1e-13 * (1 + v * v) + 4 * DBL_EPSILON / gap;
        cr_assert(fabs(lhs / rhs - 1) <= tol, "gap %g: v %.17g, %.17g vs %.17g", gap, v, lhs, rhs);
    }
    cr_assert(isinf(ac_joma_linear_v(d, T, 0.0, ts)));
    /* Backwards the law holds until erf(v/sqrt T) = -1 at t = -t*. */
    double vb = ac_joma_linear_v(d, T, 0.0, -0.5 * ts);
    cr_assert(fabs(vb + ac_joma_linear_v(d, T, 0.0, 0.5 * ts)) <= 4 * DBL_EPSILON * fabs(vb));
    cr_assert(isinf(ac_joma_linear_v(d, T, 0.0, -2 * ts)) && ac_joma_linear_v(d, T, 0.0, -2 * ts) < 0);
    /* A large v0 (erfc underflows) is no error: t* = 0 to double. */
    cr_assert(ac_joma_linear_tstar(d, T, 60.0) >= 0.0);
    cr_assert(ac_joma_linear_v(-d, T, 0.0, 0.5 * ts) < 0);
    cr_assert(isinf(ac_joma_linear_tstar(0.0, T, 0.0)));
    /* No temperature, no law: NaN, whatever the sign of v0 (T = 0 gave 0
     * with v0 > 0: a blow-up "at once" that no closed form says) */
    cr_assert(isnan(ac_joma_linear_tstar(d, 0.0, 1.0)) && isnan(ac_joma_linear_tstar(d, 0.0, -1.0)));
    cr_assert(isnan(ac_joma_linear_tstar(d, -T, 0.0)) && isnan(ac_joma_linear_tstar(d, INFINITY, 0.0)));
    cr_assert(isnan(ac_joma_linear_tstar(NAN, T, 0.0)) && isnan(ac_joma_linear_tstar(d, T, NAN)));
}

Test(joma, linear_exp_singularity_is_reported_at_tstar_without_overflow)
{
    gsl_rng *r = ac_test_rng(23);
    for (int c = 0; c < ac_test_cases(8); c++) {
        int M = 1 + c % 4;
        model_buf b;
        random_model(r, &b, M, AC_JOMA_ATT_EXP, AC_JOMA_ACT_LINEAR);
        b.m.c = NULL;
        b.m.T = AC_JOMA_T_PAPER;
        double v0[MMAX] = {0};
        double ts = ac_joma_linear_tstar_min(M, b.delta, b.m.T, NULL);
        double dmax = 0;
        for (int l = 0; l < M; l++)
            dmax = fmax(dmax, fabs(b.delta[l]));
        cr_assert(fabs(ts - sqrt(M_PI / 2) / dmax) <= 4 * DBL_EPSILON * ts);
        ac_ode_system sys;
        ac_joma_reduced_system(&b.m, &sys);
        ac_ode_settings s;
        ac_ode_settings_default(&s);
        s.method = (c % 2) ? AC_ODE_RK8PD : AC_ODE_BSIMP;
        ac_ode_workspace *w = ac_ode_alloc(M);
        double v[MMAX];
        ac_ode_info info;
        cr_assert_eq(ac_ode_solve(w, &sys, 0.0, v0, 3.0 * ts, v, &s, &info, NULL), AC_OK);
        cr_assert(info.status == AC_ODE_STEP_UNDERFLOW || info.status == AC_ODE_BLOWUP,
                  "%s", ac_ode_outcome_str(info.status));
        /* The computed singularity sits within the accumulated relative
         * error (steps x rtol) of t*. */
        cr_assert(fabs(info.t - ts) <= ts * (double)info.steps * s.rtol * 10,
                  "case %d: ended at %.17g, t* = %.17g (%ld steps)", c, info.t, ts, info.steps);
        for (int l = 0; l < M; l++)
            cr_assert(isfinite(v[l]));
        cr_assert_lt(info.steps, 100000);
        ac_ode_free(w);
    }
    gsl_rng_free(r);
}

Test(joma, softmax_linear_obeys_the_erf_ratio_law_and_saturates)
{
    gsl_rng *r = ac_test_rng(24);
    for (int c = 0; c < ac_test_cases(6); c++) {
        int M = 2 + c % 4;
        model_buf b;
        random_model(r, &b, M, AC_JOMA_ATT_SOFTMAX, AC_JOMA_ACT_LINEAR);
        b.m.c = NULL;
        for (int l = 0; l < M; l++)
            b.delta[l] = 0.4 + gsl_rng_uniform(r); /* positive: v grows */
        double v0[MMAX] = {0};
        ac_ode_system sys;
        ac_joma_reduced_system(&b.m, &sys);
        ac_ode_settings s;
        ac_ode_settings_default(&s);
        ac_ode_workspace *w = ac_ode_alloc(M);
        cr_assert_eq(ac_ode_set(w, &sys, 0.0, v0, 4.0, &s, NULL), AC_OK);
        ac_ode_info info;
        double bound = run_budget(w, &b.m, &s, &info);
        cr_assert_eq(info.status, AC_ODE_DONE);
        /* |d erf(v/sqrt T)/dv| <= 2/sqrt(pi T), so the ratio moves by at
         * most that times the state error over Delta. */
        double dmin = HUGE_VAL;
        for (int l = 0; l < M; l++)
            dmin = fmin(dmin, b.delta[l]);
        double tol = 2.0 / sqrt(M_PI * b.m.T) * bound / dmin * 2;
        const double *v = ac_ode_y(w);
        double r0 = ac_joma_erf_ratio(v[0], b.delta[0], b.m.T);
        for (int l = 1; l < M; l++) {
            double rl = ac_joma_erf_ratio(v[l], b.delta[l], b.m.T);
            cr_assert(fabs(rl - r0) <= tol, "case %d: ratio %d %.15g vs %.15g (tol %g)", c, l, rl,
                      r0, tol);
        }
        /* Saturation: v_l stays below sqrt T erfinv(Delta_l/Delta_max). */
        double dmax = 0;
        for (int l = 0; l < M; l++)
            dmax = fmax(dmax, b.delta[l]);
        for (int l = 0; l < M; l++)
            if (b.delta[l] < dmax)
                cr_assert(v[l] < ac_joma_linear_v_inf(b.delta[l], dmax, b.m.T) + tol);
        ac_ode_free(w);
    }
    gsl_rng_free(r);
}

/* Nonlinear EXP attention: lambda e^c t = F(v(t)) for each component, F by
 * quadrature.  dF/dv = exp(-v^2/T)/(mu - v), so the state error bound
 * becomes an error in F of that size; the quadrature adds its abserr. */
Test(joma, nonlinear_integrator_matches_quadrature)
{
    gsl_rng *r = ac_test_rng(25);
    for (int c = 0; c < ac_test_cases(8); c++) {
        int M = 1 + c % 5;
        ac_joma_attention att = c % 2 ? AC_JOMA_ATT_SOFTMAX : AC_JOMA_ATT_EXP;
        model_buf b;
        random_model(r, &b, M, att, AC_JOMA_ACT_NONLINEAR);
        if (att == AC_JOMA_ATT_SOFTMAX) {
            b.m.x = NULL; /* the authors' softmax(v^2/T) */
            b.m.c = NULL;
        }
        double v0[MMAX];
        for (int l = 0; l < M; l++)
            v0[l] = 0.05;
        ac_ode_system sys;
        ac_joma_reduced_system(&b.m, &sys);
        ac_ode_settings s;
        ac_ode_settings_default(&s);
        ac_ode_workspace *w = ac_ode_alloc(M);
        double t1 = 1.3;
        cr_assert_eq(ac_ode_set(w, &sys, 0.0, v0, t1, &s, NULL), AC_OK);
        ac_ode_info info;
        double bound = run_budget(w, &b.m, &s, &info);
        cr_assert_eq(info.status, AC_ODE_DONE);
        const double *v = ac_ode_y(w);
        double G[MMAX], tolF[MMAX];
        for (int l = 0; l < M; l++) {
            double F, aerr;
            cr_assert(v[l] < b.mu[l], "v crossed its target mu");
            cr_assert_eq(ac_joma_nonlinear_F(b.mu[l], b.m.T, v0[l], v[l], 1e-14, 1e-13, &F, &aerr),
                         AC_OK);
            double ec = b.m.c ? exp(b.c[l]) : 1.0;
            G[l] = F / (b.lambda[l] * ec);
            tolF[l] = (bound * exp(-v[l] * v[l] / b.m.T) / (b.mu[l] - v[l]) + aerr +
                       1e-13 * fabs(F)) / (b.lambda[l] * ec);
            if (att == AC_JOMA_ATT_EXP)
                cr_assert(fabs(G[l] - t1) <= tolF[l], "case %d l %d: F/lambda = %.15g vs t = %g (tol %g)",
                          c, l, G[l], t1, tolF[l]);
        }
        if (att == AC_JOMA_ATT_SOFTMAX)
            for (int l = 1; l < M; l++)
                cr_assert(fabs(G[l] - G[0]) <= tolF[l] + tolF[0],
                          "case %d: F_%d/lambda %.15g vs F_0/lambda %.15g", c, l, G[l], G[0]);
        ac_ode_free(w);
    }
    gsl_rng_free(r);
}

Test(joma, quadrature_rejects_the_wrong_side_of_mu)
{
    double F;
    cr_assert_eq(ac_joma_nonlinear_F(2.0, 2.0, 0.05, 2.0, 1e-12, 1e-12, &F, NULL), AC_EINVAL);
    cr_assert_eq(ac_joma_nonlinear_F(2.0, 2.0, 0.05, 2.5, 1e-12, 1e-12, &F, NULL), AC_EINVAL);
    cr_assert_eq(ac_joma_nonlinear_F(2.0, 0.0, 0.05, 1.0, 1e-12, 1e-12, &F, NULL), AC_EINVAL);
    /* From above mu the same law holds with the sign of mu - r. */
    cr_assert_eq(ac_joma_nonlinear_F(1.0, 2.0, 3.0, 1.5, 1e-13, 1e-13, &F, NULL), AC_OK);
    cr_assert_gt(F, 0.0);
    /* Exact at v = v0. */
    cr_assert_eq(ac_joma_nonlinear_F(1.0, 2.0, 0.5, 0.5, 1e-13, 1e-13, &F, NULL), AC_OK);
    cr_assert_eq(F, 0.0);
}

Test(joma, entropy_is_log_m_at_uniform_attention_and_vanishes_when_one_hot)
{
    for (int M = 1; M <= MMAX; M++) {
        double mu[MMAX], v[MMAX] = {0};
        for (int l = 0; l < M; l++)
            mu[l] = 1.7312;
        for (int a = 0; a < 2; a++) {
            ac_joma_reduced m;
            ac_joma_reduced_init(&m, M, a ? AC_JOMA_ATT_SOFTMAX : AC_JOMA_ATT_EXP,
                                 AC_JOMA_ACT_NONLINEAR, mu);
            double H = ac_joma_entropy(&m, v);
            cr_assert(fabs(H - log(M)) <= 4 * M * DBL_EPSILON, "M %d: H %.17g", M, H);
            /* One component far out: b is one-hot to rounding, H -> 0. */
            v[0] = 40.0;
            H = ac_joma_entropy(&m, v);
            cr_assert(H >= 0.0 && H < 1e-100, "M %d: H %g", M, H);
            double b[MMAX], s = 0;
            ac_joma_attention_weights(&m, v, b);
            for (int l = 0; l < M; l++)
                s += b[l];
            cr_assert(fabs(s - 1) <= M * DBL_EPSILON);
            v[0] = 0.0;
        }
    }
}

/* Linear attention b = x z / sum x z with every z = sqrt(c + v^2) = 0 is
 * 0/0: the entropy is NaN, not the 0 of a one-hot attention (it read 0). */
Test(joma, linear_attention_with_every_logit_zero_has_no_entropy)
{
    double mu[2] = {1.0, 2.0}, v[2] = {0.0, 0.0};
    ac_joma_reduced m;
    ac_joma_reduced_init(&m, 2, AC_JOMA_ATT_LINEAR, AC_JOMA_ACT_LINEAR, mu);
    double H = ac_joma_entropy(&m, v);
    cr_assert(isnan(H), "H %g at z = 0", H);
    v[1] = 1.0; /* one logit nonzero: one-hot, H = 0 exactly */
    H = ac_joma_entropy(&m, v);
    cr_assert(H == 0.0, "H %g one-hot", H);
}

Test(joma, invalid_models_are_rejected_with_the_quantity_named)
{
    double d[3] = {1.0, NAN, 2.0}, x[3] = {0, 0, 0}, lam[3] = {1, -1, 1};
    ac_joma_reduced m;
    ac_msg msg;
    ac_joma_reduced_init(&m, 3, AC_JOMA_ATT_EXP, AC_JOMA_ACT_LINEAR, d);
    cr_assert_eq(ac_joma_reduced_check(&m, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "Delta[1]"), "%s", msg.text);
    d[1] = 0.5;
    cr_assert_eq(ac_joma_reduced_check(&m, &msg), AC_OK);
    m.T = 0.0;
    cr_assert_eq(ac_joma_reduced_check(&m, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "temperature"));
    m.T = 2.0;
    m.x = x;
    cr_assert_eq(ac_joma_reduced_check(&m, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "all zero"));
    m.x = NULL;
    ac_joma_reduced_init(&m, 3, AC_JOMA_ATT_EXP, AC_JOMA_ACT_NONLINEAR, d);
    m.lambda = lam;
    cr_assert_eq(ac_joma_reduced_check(&m, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "lambda[1]"));
    m.M = 0;
    cr_assert_eq(ac_joma_reduced_check(&m, &msg), AC_EINVAL);
}

/* ---- joint flow ---- */

#define JM 3
#define JK 2
#define JN 3

typedef struct {
    double X[JN * JM], Y[JN * JK];
    ac_joma_joint J;
} joint_buf;

static void random_joint(gsl_rng *r, joint_buf *b, ac_joma_attention att, int tanh_act)
{
    for (int i = 0; i < JN * JM; i++)
        b->X[i] = 0.1 + gsl_rng_uniform(r);
    for (int i = 0; i < JN * JK; i++)
        b->Y[i] = 0.8 * gsl_ran_gaussian(r, 1.0);
    ac_joma_joint J = {JM, JK, JN, att, tanh_act, b->X, b->Y, NULL};
    b->J = J;
}

static void random_state(gsl_rng *r, const ac_joma_joint *J, double *y)
{
    int dim = ac_joma_joint_dim(J);
    for (int i = 0; i < dim; i++)
        y[i] = 0.3 * gsl_ran_gaussian(r, 1.0);
    if (J->attention == AC_JOMA_ATT_LINEAR)
        for (int l = 0; l < J->M; l++)
            y[l] = 0.5 + fabs(y[l]); /* z > 0 branch */
}

/* The flow is -grad L: central differences of the loss (error h^2 L'''/6 +
 * eps L/h ~ 1e-10 + 2e-11 for h = 1e-5 and L, L''' = O(1)). */
Test(joma, joint_rhs_is_minus_the_loss_gradient)
{
    gsl_rng *r = ac_test_rng(26);
    for (int c = 0; c < ac_test_cases(12); c++) {
        joint_buf b;
        random_joint(r, &b, (ac_joma_attention)(c % 3), (c / 3) % 2);
        int dim = ac_joma_joint_dim(&b.J);
        cr_assert_eq(dim, JM + JK * JM + JK);
        double y[64], f[64];
        random_state(r, &b.J, y);
        cr_assert_eq(ac_joma_joint_rhs(&b.J, 0.0, y, f), 0);
        const double h = 1e-5;
        for (int i = 0; i < dim; i++) {
            double yi = y[i];
            y[i] = yi + h;
            double Lp = ac_joma_joint_loss(&b.J, y);
            y[i] = yi - h;
            double Lm = ac_joma_joint_loss(&b.J, y);
            y[i] = yi;
            double g = (Lp - Lm) / (2 * h);
            cr_assert(fabs(-g - f[i]) <= 1e-8 * (1 + fabs(g)), "case %d (%s) i %d: f %.12g, -dL %.12g",
                      c, ac_joma_attention_name(b.J.attention), i, f[i], -g);
        }
    }
    gsl_rng_free(r);
}

/* I(y_n) - I(y_0) = sum of I(y_{i+1}) - I(Phi_h(y_i)) since I is a first
 * integral: the drift is the sum of the local errors projected on grad I,
 * with no amplification; |grad I|_1 <= 1 + 2 K max|v| (EXP) or
 * 2 |z| + 2 K max|v| (LINEAR). */
Test(joma, joint_flow_conserves_the_exp_and_linear_invariants_and_softmax_drifts)
{
    gsl_rng *r = ac_test_rng(27);
    for (int c = 0; c < ac_test_cases(6); c++) {
        ac_joma_attention att = (ac_joma_attention)(c % 3);
        joint_buf b;
        random_joint(r, &b, att, c % 2);
        int dim = ac_joma_joint_dim(&b.J);
        double y0[64], I0[JM], I1[JM];
        random_state(r, &b.J, y0);
        ac_joma_joint_invariant(&b.J, y0, I0);
        ac_ode_system sys = {dim, ac_joma_joint_rhs, NULL, NULL, &b.J};
        ac_ode_settings s;
        ac_ode_settings_default(&s);
        ac_ode_workspace *w = ac_ode_alloc(dim);
        cr_assert_eq(ac_ode_set(w, &sys, 0.0, y0, 3.0, &s, NULL), AC_OK);
        ac_ode_info info;
        double drift_bound = 0.0;
        while (!ac_ode_test(w, &info)) {
            ac_ode_step(w);
            const double *y = ac_ode_y(w);
            double ymax = 0, vmax = 0, zmax = 0;
            for (int i = 0; i < dim; i++)
                ymax = fmax(ymax, fabs(y[i]));
            for (int i = JM; i < JM + JK * JM; i++)
                vmax = fmax(vmax, fabs(y[i]));
            for (int i = 0; i < JM; i++)
                zmax = fmax(zmax, fabs(y[i]));
            double gI = (att == AC_JOMA_ATT_LINEAR ? 2 * zmax : 1.0) + 2.0 * JK * vmax;
            drift_bound += 2.2 * (s.atol + s.rtol * ymax) * gI;
        }
        cr_assert_eq(info.status, AC_ODE_DONE);
        ac_joma_joint_invariant(&b.J, ac_ode_y(w), I1);
        double drift = 0;
        for (int l = 0; l < JM; l++)
            drift = fmax(drift, fabs(I1[l] - I0[l]));
        /* softmax's drift must be the dynamics', not the integration's: a
         * thousand times the integrator's whole error budget */
        if (att == AC_JOMA_ATT_SOFTMAX)
            cr_assert(drift > 1e3 * drift_bound, "case %d: softmax drift %g is within %g", c, drift,
                      drift_bound);
        else
            cr_assert(drift <= drift_bound, "case %d (%s): drift %g > %g", c,
                      ac_joma_attention_name(att), drift, drift_bound);
        ac_ode_free(w);
    }
    gsl_rng_free(r);
}

/* dI/dt = grad I . F(y): the rate formula against the right-hand side.  EXP
 * and LINEAR: exactly 0, so the rhs-side sum vanishes to rounding; SOFTMAX
 * (with and without bbar): the covariance term.  Both sides sum the same
 * O(N K M) products in a different order: 64 eps times the sum of the
 * magnitudes of the terms. */
Test(joma, joint_invariant_rate_is_the_derivative_along_the_flow)
{
    gsl_rng *r = ac_test_rng(29);
    for (int c = 0; c < ac_test_cases(18); c++) {
        ac_joma_attention att = (ac_joma_attention)(c % 3);
        joint_buf b;
        random_joint(r, &b, att, (c / 3) % 2);
        double bbar[JM];
        for (int l = 0; l < JM; l++)
            bbar[l] = gsl_rng_uniform(r) / JM;
        if ((c / 6) % 2)
            b.J.bbar = bbar;
        int dim = ac_joma_joint_dim(&b.J);
        double y[64], f[64], dI[JM];
        random_state(r, &b.J, y);
        cr_assert_eq(ac_joma_joint_rhs(&b.J, 0.0, y, f), 0);
        ac_joma_joint_invariant_rate(&b.J, y, dI);
        (void)dim;
        double vfv = 0.0, mag_all = 0.0;
        for (int i = JM; i < JM + JK * JM; i++) {
            vfv += y[i] * f[i];
            mag_all += fabs(y[i] * f[i]);
        }
        for (int l = 0; l < JM; l++) {
            double zf = att == AC_JOMA_ATT_LINEAR ? 2 * y[l] * f[l] : f[l];
            double s = zf, mag = fabs(zf);
            for (int k = 0; k < JK; k++) {
                double t = y[JM + k * JM + l] * f[JM + k * JM + l];
                s -= att == AC_JOMA_ATT_LINEAR ? 2 * t : t;
                mag += 2 * fabs(t);
            }
            if (att == AC_JOMA_ATT_SOFTMAX && b.J.bbar) {
                s += bbar[l] * vfv;
                mag += bbar[l] * mag_all;
            }
            cr_assert(fabs(s - dI[l]) <= 64 * DBL_EPSILON * (mag + fabs(dI[l])),
                      "case %d (%s) l %d: grad I . F = %.17g, rate %.17g", c,
                      ac_joma_attention_name(att), l, s, dI[l]);
            /* the covariance term of a random O(1) state is O(1): 1e-6 lies far
             * below it and far above the rounding bound just checked (~1e-14) */
            if (att == AC_JOMA_ATT_SOFTMAX)
                cr_assert(fabs(dI[l]) > 1e-6, "softmax rate %g is suspiciously 0", dI[l]);
        }
    }
    gsl_rng_free(r);
}

/* Spec joma §6.3 I5 on the authors' normalised toy (softmax(v^2/3), x = 1,
 * v(0) = 0.05, mu spread over [1, 4]): each v_j rises monotonically and
 * never crosses mu_j; H(0) = ln M exactly (uniform attention); the entropy
 * dips below both ends (sparse, then dense) and at late times approaches
 * H(softmax(mu^2/T)), the attention at v = mu, from below. */
Test(joma, normalised_toy_entropy_drops_then_rises_towards_its_limit)
{
    enum { M = 10, NT = 401 };
    double mu[M], v0[M], times[NT], V[NT * M], H[NT];
    for (int j = 0; j < M; j++) {
        mu[j] = 1.0 + 3.0 * (j + 0.5) / M; /* an even spread over [1, 4] */
        v0[j] = 0.05;
    }
    ac_joma_reduced m;
    ac_joma_reduced_init(&m, M, AC_JOMA_ATT_SOFTMAX, AC_JOMA_ACT_NONLINEAR, mu);
    m.T = AC_JOMA_T_TOY;
    for (int k = 0; k < NT; k++)
        times[k] = 2000.0 * k / (NT - 1);
    ac_ode_system sys;
    ac_joma_reduced_system(&m, &sys);
    ac_ode_workspace *w = ac_ode_alloc(M);
    int nd;
    ac_ode_info info;
    cr_assert_eq(ac_ode_trajectory(w, &sys, 0.0, v0, NT, times, V, &nd, NULL, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_ODE_DONE);
    cr_assert_eq(nd, NT);
    /* Once v_j has converged it sits at mu_j up to the error allowance of
     * one step, 2.2 (atol + rtol mu_j) (GSL's 1.1 acceptance, twice for
     * the embedded estimate): monotone and below mu_j up to that. */
    for (int k = 1; k < NT; k++)
        for (int j = 0; j < M; j++) {
            double tol = 2.2 * (AC_ODE_ATOL_DEFAULT + AC_ODE_RTOL_DEFAULT * mu[j]);
            cr_assert(V[k * M + j] >= V[(k - 1) * M + j] - tol, "v_%d decreased at t = %g", j,
                      times[k]);
            cr_assert(V[k * M + j] <= mu[j] + tol, "v_%d crossed mu at t = %g", j, times[k]);
        }
    ac_joma_entropy_trajectory(&m, NT, V, H);
    cr_assert(fabs(H[0] - log(M)) <= 8 * DBL_EPSILON * log(M));
    int kmin = 0;
    for (int k = 1; k < NT; k++)
        if (H[k] < H[kmin])
            kmin = k;
    double Hlim = ac_joma_entropy(&m, mu);
    cr_assert(kmin > 0 && kmin < NT - 1, "minimum at the boundary (k = %d)", kmin);
    cr_assert(H[kmin] < H[NT - 1] && H[NT - 1] < Hlim && Hlim < H[0],
              "H(0) %g, min %g at t %g, H(end) %g, limit %g", H[0], H[kmin], times[kmin], H[NT - 1],
              Hlim);
    /* rising after the dip */
    for (int k = kmin + 1; k < NT; k++)
        cr_assert(H[k] >= H[k - 1] - 1e-12, "H fell again at t = %g", times[k]);
    ac_ode_free(w);
}

/* Tolerances GSL's own test lets through (NaN) were reported as a failure
 * to converge (AC_ENOCONV) with an estimate in F: they are refused; so is a
 * NULL F.  ac_joma_joint_dim refuses sizes whose M + K M + K overflows an
 * int (it was signed overflow) or that are empty, or that have no data. */
Test(joma, quadrature_refuses_unusable_tolerances_and_joint_dim_its_overflow)
{
    double F = 1.7312;
    cr_assert_eq(ac_joma_nonlinear_F(1.0, 2.0, 0.0, 0.5, -1.0, NAN, &F, NULL), AC_EINVAL);
    cr_assert_eq(ac_joma_nonlinear_F(1.0, 2.0, 0.0, 0.5, NAN, 1e-12, &F, NULL), AC_EINVAL);
    cr_assert_eq(ac_joma_nonlinear_F(1.0, 2.0, 0.0, 0.5, INFINITY, 1e-12, &F, NULL), AC_EINVAL);
    cr_assert_eq(F, 1.7312);
    cr_assert_eq(ac_joma_nonlinear_F(1.0, 2.0, 0.0, 0.5, 0.0, 0.0, &F, NULL), AC_EINVAL); /* GSL's floor */
    cr_assert_eq(ac_joma_nonlinear_F(1.0, 2.0, 0.0, 0.5, 1e-12, 0.0, NULL, NULL), AC_EINVAL);
    cr_assert_eq(ac_joma_nonlinear_F(1.0, 2.0, 0.0, 0.5, 1e-12, 0.0, &F, NULL), AC_OK);
    ac_joma_joint J = {.M = 3, .K = 2, .N = 1};
    cr_assert_eq(ac_joma_joint_dim(&J), 3 + 2 * 3 + 2);
    J.M = 46341, J.K = 46341; /* M K alone passes 2^31 */
    cr_assert_eq(ac_joma_joint_dim(&J), -1);
    J.M = 0;
    cr_assert_eq(ac_joma_joint_dim(&J), -1);
    J = (ac_joma_joint){.M = 3, .K = 2, .N = 0}; /* no data: the loss and flow would be 0/0 */
    cr_assert_eq(ac_joma_joint_dim(&J), -1);
}
