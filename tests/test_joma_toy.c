/* The nonlinear toy of JoMA (verify/joma_toy.h): the authors' seed-0 mu,
 * the reference numbers of spec joma §3 item 2 (typed below as spec values:
 * they are the authors' map re-run, §3 [run]), and the map against the ODE
 * of theory/joma it is the Euler method of, within the error of the Euler
 * step estimated by Richardson extrapolation. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/ode.h"
#include "tests/testutil.h"
#include "theory/joma.h"
#include "verify/joma_toy.h"

#define M AC_JOMA_TOY_M

/* Spec joma §3 item 2: torch.rand(10) after torch.manual_seed(0), and
 * mu = sort(3 r + 1), both printed to 4 decimals; 5e-5 is their rounding. */
Test(joma_toy, seed0_mu_is_the_spec_draw)
{
    static const double r_spec[M] = {0.4963, 0.7682, 0.0885, 0.1320, 0.3074,
                                     0.6341, 0.4901, 0.8964, 0.4556, 0.6323};
    static const double mu_spec[M] = {1.2654, 1.3961, 1.9223, 2.3669, 2.4703,
                                      2.4888, 2.8969, 2.9022, 3.3047, 3.6893};
    double mu[M];
    ac_joma_toy_mu_seed0(mu);
    for (int l = 0; l < M; l++)
        cr_assert(fabs(mu[l] - mu_spec[l]) <= 5e-5, "mu[%d] = %.6f, spec %.4f", l, mu[l], mu_spec[l]);
    /* the unsorted draw: every spec r_i appears as (mu - 1)/3 of some entry */
    for (int i = 0; i < M; i++) {
        int found = 0;
        for (int l = 0; l < M; l++)
            found |= fabs((mu[l] - 1.0) / 3.0 - r_spec[i]) <= 5e-5;
        cr_assert(found, "r[%d] = %.4f of the spec is not in the draw", i, r_spec[i]);
    }
}

/* Spec joma §3 item 2, the authors' mu: H(0) = ln 10 - 1e-8 exactly (v(0)
 * uniform; the script's 1e-8 outside the log), minimum H = 0.942 at step
 * 669, H(step 4999) = 1.549, limit 1.622, and the final v (after all 5000
 * updates: the script's w at the end, which the spec lists as v(4999); the
 * iterate after 4999 updates differs in the 3rd decimal of component 5).
 * The spec prints 3 decimals: tolerance 5e-4, and 1e-9 on top for the
 * rounding of 5000 double updates (each ~1e-16, amplified at most ~1e3).
 * The step of the minimum is an integer: exact. */
Test(joma_toy, authors_map_reproduces_the_spec_reference_numbers)
{
    static const double v_spec[M] = {0.954, 1.067, 1.594, 2.180, 2.335,
                                     2.363, 2.893, 2.899, 3.305, 3.689};
    const double tol = 5e-4 + 1e-9;
    ac_joma_toy_settings s;
    ac_joma_toy_settings_default(&s);
    double mu[M];
    ac_joma_toy_mu_seed0(mu);
    double *H = malloc(sizeof(double) * (size_t)s.steps);
    double *V = malloc(sizeof(double) * (size_t)(s.steps + 1) * M);
    ac_joma_toy_summary sum;
    cr_assert_eq(ac_joma_toy_run(&s, M, mu, H, V, &sum, NULL), AC_OK);
    cr_assert(fabs(sum.H0 - (log(10.0) - AC_JOMA_TOY_ENTROPY_EPS)) <= 8 * DBL_EPSILON, "H0 %.17g", sum.H0);
    cr_assert_eq(sum.step_min, 669);
    cr_assert(fabs(sum.H_min - 0.942) <= tol, "H min %.6f", sum.H_min);
    cr_assert(fabs(sum.H_end - 1.549) <= tol, "H(4999) %.6f", sum.H_end);
    cr_assert(fabs(H[4999] - sum.H_end) == 0.0);
    cr_assert(fabs(sum.H_limit - 1.622) <= tol, "H limit %.6f", sum.H_limit);
    for (int l = 0; l < M; l++)
        cr_assert(fabs(V[s.steps * M + l] - v_spec[l]) <= tol, "v[%d] = %.6f, spec %.3f", l,
                  V[s.steps * M + l], v_spec[l]);
    /* the shape §4.2 asks: drop, then rebound, final below the start */
    cr_assert(sum.H_min < sum.H_end && sum.H_end < sum.H0);
    free(H);
    free(V);
}

/* Rows k_i * r of a run at step eta / r (r = 1, 2, 4): v at the same times
 * t_i = eta k_i. */
static void euler_at(const double *mu, double eta, int r, int nt, const long *k, double *out)
{
    ac_joma_toy_settings s;
    ac_joma_toy_settings_default(&s);
    s.eta = eta / r;
    s.steps = k[nt - 1] * r;
    double *V = malloc(sizeof(double) * (size_t)(s.steps + 1) * M);
    cr_assert_eq(ac_joma_toy_run(&s, M, mu, NULL, V, NULL, NULL), AC_OK);
    for (int i = 0; i < nt; i++)
        for (int l = 0; l < M; l++)
            out[i * M + l] = V[k[i] * r * M + l];
    free(V);
}

/* theory/joma's SOFTMAX nonlinear reduced model with x = 1, T = 3, lambda =
 * 1, c = 0 is dv/dt = (mu - v) o softmax(v^2/3), whose Euler method at step
 * eta is the toy map (t = eta k). */
static void ode_at(const double *mu, double rtol, int nt, const double *times, double *out)
{
    ac_joma_reduced m;
    ac_joma_reduced_init(&m, M, AC_JOMA_ATT_SOFTMAX, AC_JOMA_ACT_NONLINEAR, mu);
    m.T = AC_JOMA_TOY_T;
    ac_ode_system sys;
    ac_joma_reduced_system(&m, &sys);
    ac_ode_settings set;
    ac_ode_settings_default(&set);
    set.rtol = rtol;
    set.atol = rtol * 1e-2;
    double v0[M];
    for (int l = 0; l < M; l++)
        v0[l] = AC_JOMA_TOY_V0;
    ac_ode_workspace *w = ac_ode_alloc(M);
    ac_ode_info info;
    cr_assert_eq(ac_ode_trajectory(w, &sys, 0.0, v0, nt, times, out, NULL, &set, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_ODE_DONE);
    ac_ode_free(w);
}

/* Euler's global error is E(h) = C(t) h + D(t) h^2 + O(h^3).  With runs at
 * h, h/2, h/4 the Richardson values R(h) = 2 v_{h/2} - v_h cancel C:
 * R(h) - v* = -D h^2/2 + O(h^3), and R(h) - R(h/2) = -3/8 D h^2 + O(h^3),
 * so |R(h) - v*| = (4/3) |R(h) - R(h/2)| up to O(h^3); we allow twice that
 * ((8/3) |R(h) - R(h/2)|, per time, max over components) plus the ODE's
 * own error, estimated as 10 times the change from rtol 1e-10 to 1e-12.
 * This is the Euler map against the ODE to second order in the step, a
 * much sharper test than the O(h) agreement itself, which is also checked:
 * the plain error E(h) is within 25 % of its first-order estimate
 * 2 (v_h - v_{h/2}) wherever that estimate exceeds 100 times the
 * second-order remainder. */
Test(joma_toy, euler_map_follows_the_ode_within_its_step_error)
{
    enum { NT = 8 };
    const long k[NT] = {0, 100, 300, 669, 1000, 2000, 3500, 4999};
    double times[NT];
    const double eta = AC_JOMA_TOY_ETA;
    for (int i = 0; i < NT; i++)
        times[i] = eta * k[i];
    double mu[M];
    ac_joma_toy_mu_seed0(mu);
    static double v1[NT * M], v2[NT * M], v4[NT * M], ode[NT * M], ode_lo[NT * M];
    euler_at(mu, eta, 1, NT, k, v1);
    euler_at(mu, eta, 2, NT, k, v2);
    euler_at(mu, eta, 4, NT, k, v4);
    ode_at(mu, 1e-12, NT, times, ode);
    ode_at(mu, 1e-10, NT, times, ode_lo);
    int first_order_checked = 0;
    for (int i = 0; i < NT; i++) {
        double miss = 0, est = 0, ode_err = 0;
        for (int l = 0; l < M; l++) {
            int j = i * M + l;
            double R1 = 2 * v2[j] - v1[j], R2 = 2 * v4[j] - v2[j];
            miss = fmax(miss, fabs(R1 - ode[j]));
            est = fmax(est, fabs(R1 - R2));
            ode_err = fmax(ode_err, 10 * fabs(ode[j] - ode_lo[j]));
        }
        double tol = 8.0 / 3.0 * est + ode_err + 1e-13;
        cr_assert(miss <= tol, "t = %g (step %ld): Richardson Euler misses the ODE by %g > %g", times[i],
                  k[i], miss, tol);
        for (int l = 0; l < M; l++) {
            int j = i * M + l;
            double E = v1[j] - ode[j], E1 = 2 * (v1[j] - v2[j]);
            if (fabs(E1) > 100 * tol) {
                cr_assert(fabs(E - E1) <= 0.25 * fabs(E1), "t = %g l %d: Euler error %g, estimate %g",
                          times[i], l, E, E1);
                first_order_checked++;
            }
        }
    }
    cr_assert(first_order_checked > NT, "only %d first-order comparisons were sharp enough",
              first_order_checked);
    /* the entropy of the ODE at the spec's steps, within the first-order
     * estimate of the map's entropy error (twice it) */
    const int at[2] = {3, 7};
    for (int a = 0; a < 2; a++) {
        int i = at[a];
        double H1 = ac_joma_toy_entropy(M, AC_JOMA_TOY_T, v1 + i * M);
        double H2 = ac_joma_toy_entropy(M, AC_JOMA_TOY_T, v2 + i * M);
        double Ho = ac_joma_toy_entropy(M, AC_JOMA_TOY_T, ode + i * M);
        cr_assert(fabs(H1 - Ho) <= 2 * 2 * fabs(H1 - H2) + 1e-9, "step %ld: H map %.6f, ODE %.6f, est %g",
                  k[i], H1, Ho, 2 * fabs(H1 - H2));
    }
}

Test(joma_toy, bad_settings_and_inputs_are_rejected_with_a_sentence)
{
    double mu[M];
    ac_joma_toy_mu_seed0(mu);
    ac_joma_toy_settings s;
    ac_msg msg;
    const char *field[4] = {"eta", "T", "v0", "steps"};
    for (int f = 0; f < 4; f++) {
        ac_joma_toy_settings_default(&s);
        cr_assert_null(ac_joma_toy_settings_check(&s));
        switch (f) {
        case 0: s.eta = -0.02; break;
        case 1: s.T = 0.0; break;
        case 2: s.v0 = NAN; break;
        default: s.steps = 0; break;
        }
        const char *why = ac_joma_toy_settings_check(&s);
        cr_assert_not_null(why);
        cr_assert(strstr(why, field[f]), "'%s' does not name %s", why, field[f]);
        cr_assert_eq(ac_joma_toy_run(&s, M, mu, NULL, NULL, NULL, &msg), AC_EINVAL);
        cr_assert(strstr(msg.text, field[f]));
    }
    ac_joma_toy_settings_default(&s);
    cr_assert_eq(ac_joma_toy_run(&s, 0, mu, NULL, NULL, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "M = 0"));
    mu[4] = NAN;
    cr_assert_eq(ac_joma_toy_run(&s, M, mu, NULL, NULL, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "mu[4]"), "%s", msg.text);
    cr_assert_eq(ac_joma_toy_run(&s, M, NULL, NULL, NULL, NULL, &msg), AC_EINVAL);
}
