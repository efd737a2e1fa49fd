/* ODE driver (solvers/ode.h): accuracy against exact solutions for every
 * stepper, every ending with the state it leaves, the trajectory at
 * requested times, and each invalid setting rejected. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "solvers/ode.h"
#include "tests/testutil.h"

/* Accuracy bound for a problem whose flow does not amplify errors (decay,
 * rotation): the global error is at most the sum of the local errors, and
 * a step is accepted when its error estimate is below 1.1 (atol + rtol|y|)
 * (GSL control.c rejects at a ratio above 1.1).  The estimate is of the
 * lower-order embedded solution, which over-states the error of the
 * propagated one, so 2 steps (atol + rtol max|y|) is a safe bound. */
static double global_bound(const ac_ode_info *info, const ac_ode_settings *s, double ymax)
{
    return 2.0 * (double)(info->steps + 1) * (s->atol + s->rtol * ymax);
}

/* y' = -k y + 0 * stuff, with an optional refusal and an optional domain. */
typedef struct {
    double k;
    int calls;
    int refuse_at;      /* return -1 on this call (0: never) */
    double t_refuse;    /* return -1 when t > t_refuse */
    double domain_t;    /* return +1 when t > domain_t (a domain boundary) */
} decay;

static int decay_rhs(void *ctx, double t, const double *y, double *f)
{
    decay *p = ctx;
    p->calls++;
    if (p->refuse_at && p->calls == p->refuse_at)
        return -1;
    if (t > p->t_refuse)
        return -1;
    if (t > p->domain_t)
        return 1;
    f[0] = -p->k * y[0];
    return 0;
}

static int decay_jac(void *ctx, double t, const double *y, double *J, double *dfdt)
{
    decay *p = ctx;
    (void)t;
    (void)y;
    J[0] = -p->k;
    dfdt[0] = 0.0;
    return 0;
}

static decay decay_make(double k)
{
    decay p = {k, 0, 0, HUGE_VAL, HUGE_VAL};
    return p;
}

Test(ode, every_stepper_matches_exponential_decay_within_the_derived_bound)
{
    for (int m = 0; m < AC_ODE_METHOD_COUNT; m++) {
        decay p = decay_make(1.7312);
        ac_ode_system sys = {1, decay_rhs, decay_jac, NULL, &p};
        ac_ode_settings s;
        ac_ode_settings_default(&s);
        s.method = (ac_ode_method)m;
        s.rtol = 1e-9;
        s.atol = 1e-12;
        ac_ode_workspace *w = ac_ode_alloc(1);
        double y0 = 2.25, y;
        ac_ode_info info;
        ac_msg msg;
        cr_assert_eq(ac_ode_solve(w, &sys, 0.0, &y0, 3.0, &y, &s, &info, &msg), AC_OK, "%s",
                     msg.text);
        cr_assert_eq(info.status, AC_ODE_DONE, "%s: %s", ac_ode_method_name(s.method),
                     ac_ode_outcome_str(info.status));
        cr_assert_eq(info.t, 3.0);
        double exact = y0 * exp(-p.k * 3.0);
        double err = fabs(y - exact), bound = global_bound(&info, &s, y0);
        cr_assert(err <= bound, "%s: |y - exact| = %g > %g (%ld steps)",
                  ac_ode_method_name(s.method), err, bound, info.steps);
        if (ac_ode_method_needs_jac(s.method))
            cr_assert_gt(info.njev, 0);
        ac_ode_free(w);
    }
}

/* Rotation y1' = w y2, y2' = -w y1: an isometric flow, so the bound above
 * holds; also run backwards in time. */
static int rot_rhs(void *ctx, double t, const double *y, double *f)
{
    double om = *(double *)ctx;
    (void)t;
    f[0] = om * y[1];
    f[1] = -om * y[0];
    return 0;
}

static int rot_jac(void *ctx, double t, const double *y, double *J, double *dfdt)
{
    double om = *(double *)ctx;
    (void)t;
    (void)y;
    J[0] = 0.0;
    J[1] = om;
    J[2] = -om;
    J[3] = 0.0;
    dfdt[0] = dfdt[1] = 0.0;
    return 0;
}

Test(ode, trajectory_at_requested_times_forward_and_backward)
{
    double om = 1.3;
    ac_ode_system sys = {2, rot_rhs, rot_jac, NULL, &om};
    ac_ode_workspace *w = ac_ode_alloc(2);
    ac_ode_settings s;
    ac_ode_settings_default(&s);
    double y0[2] = {0.0, 1.7312};
    for (int dir = 0; dir < 2; dir++) {
        double sign = dir ? -1.0 : 1.0;
        double times[6];
        for (int k = 0; k < 6; k++)
            times[k] = sign * 0.9 * k; /* times[0] = t0 itself */
        double Y[12];
        int nd;
        ac_ode_info info;
        cr_assert_eq(ac_ode_trajectory(w, &sys, 0.0, y0, 6, times, Y, &nd, &s, &info, NULL), AC_OK);
        cr_assert_eq(info.status, AC_ODE_DONE);
        cr_assert_eq(nd, 6);
        cr_assert_eq(info.t, times[5]);
        double bound = global_bound(&info, &s, 1.7312);
        for (int k = 0; k < 6; k++) {
            double e0 = 1.7312 * sin(om * times[k]), e1 = 1.7312 * cos(om * times[k]);
            cr_assert(fabs(Y[2 * k] - e0) <= bound && fabs(Y[2 * k + 1] - e1) <= bound,
                      "dir %d row %d: (%g, %g) vs (%g, %g), bound %g", dir, k, Y[2 * k],
                      Y[2 * k + 1], e0, e1, bound);
        }
    }
    /* Non-monotone times are refused. */
    double bad[3] = {0.5, 0.2, 1.0}, Y[6];
    ac_msg msg;
    cr_assert_eq(ac_ode_trajectory(w, &sys, 0.0, y0, 3, bad, Y, NULL, &s, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "monotone"));
    ac_ode_free(w);
}

/* HERMITE rows (ode.h ac_ode_output) on the rotation of radius R = 1.7312,
 * y = R (sin om t, cos om t), a flow that does not amplify errors.  A row
 * is an interpolant whose estimated error is within the local tolerance
 * atol + rtol |y| (or a side step, itself within it), on top of the
 * nodes' own error, which global_bound covers: twice global_bound covers
 * both.  The interpolant does the work: side steps for at most a tenth of
 * the rows (a wrong weight makes the estimate fail everywhere), fewer steps
 * than LAND but more than the stepper's own (the estimate's cap at work),
 * and the last row is the last step's state bit for bit. */
Test(ode, hermite_rows_stay_within_the_tolerance_with_few_side_steps)
{
    double om = 1.3, R = 1.7312;
    ac_ode_system sys = {2, rot_rhs, rot_jac, NULL, &om};
    ac_ode_workspace *w = ac_ode_alloc(2);
    ac_ode_settings s;
    ac_ode_settings_default(&s);
    s.output = AC_ODE_OUTPUT_HERMITE;
    s.h0 = AC_ODE_H0_AUTO;
    double y0[2] = {0.0, R};
    enum { NT = 201 };
    double times[NT], Y[2 * NT];
    for (int dir = 0; dir < 2; dir++) {
        double sign = dir ? -1.0 : 1.0;
        for (int k = 0; k < NT; k++)
            times[k] = sign * 12.0 * k / (NT - 1);
        int nd;
        ac_ode_info info, land;
        cr_assert_eq(ac_ode_trajectory(w, &sys, 0.0, y0, NT, times, Y, &nd, &s, &info, NULL), AC_OK);
        cr_assert_eq(info.status, AC_ODE_DONE);
        cr_assert_eq(nd, NT);
        cr_assert(Y[2 * (NT - 1)] == ac_ode_y(w)[0] && Y[2 * (NT - 1) + 1] == ac_ode_y(w)[1]);
        double bound = 2.0 * global_bound(&info, &s, R), worst = 0.0;
        for (int k = 0; k < NT; k++) {
            double t = times[k];
            double e = fmax(fabs(Y[2 * k] - R * sin(om * t)), fabs(Y[2 * k + 1] - R * cos(om * t)));
            worst = fmax(worst, e);
            cr_assert(e <= bound, "dir %d row %d t = %.17g: error %.3g above %.3g (%ld steps, %ld side)",
                      dir, k, t, e, bound, info.steps, info.side_steps);
        }
        cr_assert_leq(info.side_steps, NT / 10, "%ld side steps", info.side_steps);
        ac_ode_settings sl = s;
        sl.output = AC_ODE_OUTPUT_LAND;
        cr_assert_eq(ac_ode_trajectory(w, &sys, 0.0, y0, NT, times, Y, &nd, &sl, &land, NULL), AC_OK);
        cr_assert_lt(info.steps, land.steps);
        /* and more than rk8pd's own steps: at rtol 1e-10 they are too long to
         * interpolate within the tolerance, so the estimate caps them */
        ac_ode_info plain;
        double yend[2];
        cr_assert_eq(ac_ode_solve(w, &sys, 0.0, y0, times[NT - 1], yend, &s, &plain, NULL), AC_OK);
        cr_assert_gt(info.steps, plain.steps);
        cr_log_info("hermite dir %d: %ld steps (LAND %ld), %ld side steps, worst error %.3g of bound %.3g",
                    dir, info.steps, land.steps, info.side_steps, worst, bound);
    }
    /* an implicit method cannot take side steps */
    s.method = AC_ODE_MSBDF;
    cr_assert_not_null(ac_ode_settings_check(&s));
    ac_ode_free(w);
}

/* h0 = AC_ODE_H0_AUTO: the first step from f at t0 (ode.h) lands within the
 * same accuracy bound as the fixed 1e-6 start, with fewer steps (from 1e-6
 * the control needs some log_5(h/1e-6) steps to grow), two more rhs calls
 * at the start, and stays inside a span shorter than the guess. */
Test(ode, automatic_first_step_saves_the_ramp_within_the_same_bound)
{
    double om = 1.3, R = 1.7312, y0[2] = {0.0, R}, y[2];
    ac_ode_system sys = {2, rot_rhs, rot_jac, NULL, &om};
    ac_ode_workspace *w = ac_ode_alloc(2);
    ac_ode_settings s;
    ac_ode_settings_default(&s);
    ac_ode_info fixed, autoh;
    cr_assert_eq(ac_ode_solve(w, &sys, 0.0, y0, 7.0, y, &s, &fixed, NULL), AC_OK);
    s.h0 = AC_ODE_H0_AUTO;
    cr_assert_eq(ac_ode_solve(w, &sys, 0.0, y0, 7.0, y, &s, &autoh, NULL), AC_OK);
    cr_assert_eq(autoh.status, AC_ODE_DONE);
    double bound = global_bound(&autoh, &s, R);
    cr_assert(fabs(y[0] - R * sin(om * 7.0)) <= bound && fabs(y[1] - R * cos(om * 7.0)) <= bound);
    cr_assert_lt(autoh.steps + 3, fixed.steps, "auto %ld steps, fixed h0 %ld", autoh.steps, fixed.steps);
    /* a span far shorter than any guess: one step, ending exactly there */
    cr_assert_eq(ac_ode_solve(w, &sys, 0.0, y0, -1e-9, y, &s, &autoh, NULL), AC_OK);
    cr_assert_eq(autoh.status, AC_ODE_DONE);
    cr_assert_eq(autoh.steps, 1);
    cr_assert_eq(autoh.t, -1e-9);
    ac_ode_free(w);
}

/* Gauss-Legendre (rk4imp) conserves the quadratic invariant |y|^2 of the
 * rotation up to its Newton tolerance and rounding, whatever the accuracy
 * of the trajectory: at a loose rtol the phase error is large, the radius
 * error stays far smaller.  rk8pd at the same tolerance does not have this
 * structure. */
Test(ode, gauss_legendre_keeps_the_radius_of_a_rotation)
{
    double om = 1.0;
    ac_ode_system sys = {2, rot_rhs, rot_jac, NULL, &om};
    ac_ode_workspace *w = ac_ode_alloc(2);
    ac_ode_settings s;
    ac_ode_settings_default(&s);
    s.method = AC_ODE_RK4IMP;
    s.rtol = 1e-4;
    s.atol = 1e-6;
    double y0[2] = {1.0, 0.0}, y[2];
    ac_ode_info info;
    cr_assert_eq(ac_ode_solve(w, &sys, 0.0, y0, 50.0, y, &s, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_ODE_DONE);
    double phase = hypot(y[0] - cos(50.0), y[1] + sin(50.0));
    double radius = fabs(hypot(y[0], y[1]) - 1.0);
    cr_assert(radius < 1e-3 * phase, "radius drift %g vs phase error %g", radius, phase);
    ac_ode_free(w);
}

/* y' = y^2, y(0) = 1: y = 1/(1 - t), singular at t = 1. */
static int sq_rhs(void *ctx, double t, const double *y, double *f)
{
    (void)ctx;
    (void)t;
    f[0] = y[0] * y[0];
    return 0;
}

static int above(void *ctx, double t, const double *y)
{
    (void)t;
    return y[0] > *(double *)ctx;
}

Test(ode, finite_time_singularity_ends_before_it_with_its_time)
{
    ac_ode_system sys = {1, sq_rhs, NULL, NULL, NULL};
    ac_ode_workspace *w = ac_ode_alloc(1);
    ac_ode_settings s;
    ac_ode_settings_default(&s);
    double y0 = 1.0, y;
    ac_ode_info info;
    /* No bound reachable in double: the step floor ends it at the
     * singularity of the computed solution, which sits within the
     * accumulated relative error of the exact one: y = 1/(t* - t) moves t*
     * by the error of 1/y, some steps * rtol = O(1e-8) here. */
    cr_assert_eq(ac_ode_solve(w, &sys, 0.0, &y0, 2.0, &y, &s, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_ODE_STEP_UNDERFLOW, "%s", ac_ode_outcome_str(info.status));
    cr_assert(fabs(info.t - 1.0) < (double)info.steps * s.rtol, "t = %.17g after %ld steps", info.t,
              info.steps);
    cr_assert(isfinite(y) && y > 1e6);
    ac_msg msg;
    ac_ode_info_message(&info, &msg);
    char tbuf[64];
    snprintf(tbuf, sizeof tbuf, "t = %.17g", info.t);
    cr_assert(strstr(msg.text, "below the floor") && strstr(msg.text, tbuf), "%s", msg.text);
    /* A norm bound of 1e4: blow-up at the first step past y = 1e4, i.e.
     * t just past 1 - 1e-4, and y finite. */
    s.y_max = 1e4;
    cr_assert_eq(ac_ode_solve(w, &sys, 0.0, &y0, 2.0, &y, &s, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_ODE_BLOWUP);
    cr_assert(y > 1e4 && info.t > 1.0 - 1e-4 && info.t < 1.0, "t %.17g y %g", info.t, y);
    /* The same through a user predicate. */
    double lim = 1e3;
    ac_ode_system sysp = {1, sq_rhs, NULL, above, &lim};
    ac_ode_settings_default(&s);
    cr_assert_eq(ac_ode_solve(w, &sysp, 0.0, &y0, 2.0, &y, &s, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_ODE_BLOWUP);
    cr_assert(y > 1e3 && info.t > 1.0 - 1e-3 && info.t < 1.0);
    ac_ode_free(w);
}

/* The explicit methods' control (solvers/ode.c) follows a solution that
 * steepens without rejecting steps: y' = y^2 from y(0) = 1 to t = 0.99,
 * where GSL's standard control rejected 17 of rk8pd's trial steps and 32 of
 * rkf45's (seen to fail with it), ours none.  The end state keeps its
 * bound: each of at most ~250 steps commits a local error of at most 1.1
 * rtol relative, and an error made at t_i reaches t = 0.99 amplified by
 * (1 - t_i)/(1 - 0.99) <= 100 (dy(0.99)/dy(t_i) y(t_i)/y(0.99)), so
 * |y - 1/(1 - 0.99)| <= 250 x 1.1 rtol x 100 relative. */
Test(ode, steepening_solution_is_followed_without_rejected_steps)
{
    ac_ode_system sys = {1, sq_rhs, NULL, NULL, NULL};
    ac_ode_workspace *w = ac_ode_alloc(1);
    ac_ode_settings s;
    ac_ode_settings_default(&s);
    s.h0 = AC_ODE_H0_AUTO;
    const ac_ode_method m[2] = {AC_ODE_RK8PD, AC_ODE_RKF45};
    for (int k = 0; k < 2; k++) {
        s.method = m[k];
        double y0 = 1.0, y;
        ac_ode_info info;
        cr_assert_eq(ac_ode_solve(w, &sys, 0.0, &y0, 0.99, &y, &s, &info, NULL), AC_OK);
        cr_assert_eq(info.status, AC_ODE_DONE);
        cr_assert_leq(info.rejected, 1, "%s: %ld of %ld trial steps rejected", ac_ode_method_name(m[k]),
                      info.rejected, info.steps + info.rejected);
        cr_assert_leq(info.steps, 250);
        double exact = 1.0 / (1.0 - 0.99);
        cr_assert_leq(fabs(y - exact) / exact, 250 * 1.1 * s.rtol * 100, "%s: y %.17g", ac_ode_method_name(m[k]), y);
    }
    ac_ode_free(w);
}

/* The blow-up test fires at the first accepted state past y_max, whatever
 * the method: the state before it is within the bound (a test at any larger
 * multiple of y_max would step past it first).  y' = y^2 from y(0) = 1.7312
 * reaches 1e4 before its singularity at t = 1/1.7312. */
Test(ode, blowup_is_reported_at_the_first_state_past_y_max)
{
    ac_ode_system sys = {1, sq_rhs, NULL, NULL, NULL};
    for (int m = 0; m < AC_ODE_METHOD_COUNT; m++) {
        if (ac_ode_method_needs_jac((ac_ode_method)m))
            continue;
        ac_ode_settings s;
        ac_ode_settings_default(&s);
        s.method = (ac_ode_method)m;
        s.y_max = 1e4;
        ac_ode_workspace *w = ac_ode_alloc(1);
        double y0 = 1.7312, prev = y0;
        ac_ode_info info;
        cr_assert_eq(ac_ode_set(w, &sys, 0.0, &y0, 2.0, &s, NULL), AC_OK);
        while (!ac_ode_test(w, &info)) {
            prev = ac_ode_y(w)[0];
            cr_assert_eq(ac_ode_step(w), AC_OK);
        }
        cr_assert_eq(info.status, AC_ODE_BLOWUP, "%s: %s", ac_ode_method_name((ac_ode_method)m),
                     ac_ode_outcome_str(info.status));
        cr_assert(ac_ode_y(w)[0] > s.y_max && prev <= s.y_max,
                  "%s: blow-up reported at y = %g after y = %g (y_max %g)",
                  ac_ode_method_name((ac_ode_method)m), ac_ode_y(w)[0], prev, s.y_max);
        ac_ode_free(w);
    }
}

Test(ode, refusing_rhs_leaves_t_and_y_at_the_last_good_step)
{
    for (int m = 0; m < AC_ODE_METHOD_COUNT; m++) {
        for (int refuse = 5; refuse < 60; refuse += 7) {
            decay p = decay_make(0.9);
            p.refuse_at = refuse;
            ac_ode_system sys = {1, decay_rhs, decay_jac, NULL, &p};
            ac_ode_settings s;
            ac_ode_settings_default(&s);
            s.method = (ac_ode_method)m;
            ac_ode_workspace *w = ac_ode_alloc(1);
            double y0 = 1.5;
            cr_assert_eq(ac_ode_set(w, &sys, 0.0, &y0, 10.0, &s, NULL), AC_OK);
            double t_good = 0.0, y_good = y0;
            ac_ode_info info;
            while (!ac_ode_test(w, &info)) {
                cr_assert_eq(ac_ode_step(w), AC_OK);
                if (!ac_ode_test(w, NULL) || ac_ode_t(w) == 10.0) {
                    t_good = ac_ode_t(w);
                    y_good = ac_ode_y(w)[0];
                }
            }
            cr_assert_eq(info.status, AC_ODE_RHS_REFUSED, "%s refuse %d: %s",
                         ac_ode_method_name(s.method), refuse, ac_ode_outcome_str(info.status));
            cr_assert_eq(info.user_code, -1);
            cr_assert_eq(info.t, t_good);
            cr_assert_eq(ac_ode_y(w)[0], y_good);
            /* Further steps are no-ops. */
            cr_assert_eq(ac_ode_step(w), AC_OK);
            cr_assert_eq(ac_ode_t(w), t_good);
            ac_ode_free(w);
        }
    }
}

/* A right-hand side defined only for t <= 0.6317 (positive return past
 * it): the steps shrink towards the boundary and the run ends there with
 * STEP_UNDERFLOW, never past it. */
Test(ode, domain_boundary_shrinks_the_step_to_underflow)
{
    decay p = decay_make(0.5);
    p.domain_t = 0.6317;
    ac_ode_system sys = {1, decay_rhs, NULL, NULL, &p};
    ac_ode_workspace *w = ac_ode_alloc(1);
    double y0 = 1.0, y;
    ac_ode_info info;
    cr_assert_eq(ac_ode_solve(w, &sys, 0.0, &y0, 1.0, &y, NULL, &info, NULL), AC_OK);
    cr_assert(info.status == AC_ODE_STEP_UNDERFLOW || info.status == AC_ODE_RHS_REFUSED,
              "%s", ac_ode_outcome_str(info.status));
    cr_assert(info.t <= 0.6317 && info.t > 0.6317 - 1e-9, "t = %.17g", info.t);
    cr_assert_gt(info.rejected, 0);
    cr_assert_eq(info.user_code, 1);
    ac_ode_free(w);
}

Test(ode, step_budget_ends_with_max_steps)
{
    decay p = decay_make(1.0);
    ac_ode_system sys = {1, decay_rhs, NULL, NULL, &p};
    ac_ode_workspace *w = ac_ode_alloc(1);
    ac_ode_settings s;
    ac_ode_settings_default(&s);
    s.max_steps = 5;
    double y0 = 1.0, y;
    ac_ode_info info;
    cr_assert_eq(ac_ode_solve(w, &sys, 0.0, &y0, 100.0, &y, &s, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_ODE_MAX_STEPS);
    cr_assert_eq(info.steps, 5);
    cr_assert(info.t > 0.0 && info.t < 100.0);
    /* t_end == t0 ends at once. */
    cr_assert_eq(ac_ode_solve(w, &sys, 1.0, &y0, 1.0, &y, &s, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_ODE_DONE);
    cr_assert_eq(info.steps, 0);
    cr_assert_eq(y, 1.0);
    ac_ode_free(w);
}

Test(ode, each_invalid_setting_and_input_is_rejected)
{
    ac_ode_settings s;
    ac_ode_settings_default(&s);
    cr_assert_null(ac_ode_settings_check(&s));
    cr_assert_not_null(ac_ode_settings_check(NULL));
    const char *why[10];
    int k = 0;
#define BAD(field, value)                                                                          \
    do {                                                                                           \
        ac_ode_settings b = s;                                                                     \
        b.field = value;                                                                           \
        why[k] = ac_ode_settings_check(&b);                                                        \
        cr_assert_not_null(why[k], #field " = " #value " accepted");                               \
        k++;                                                                                       \
    } while (0)
    BAD(method, AC_ODE_METHOD_COUNT);
    BAD(rtol, -1e-3);
    BAD(atol, NAN);
    BAD(h0, -1.0);
    BAD(hmin, -1.0);
    BAD(max_steps, 0);
    BAD(y_max, 0.0);
    BAD(output, AC_ODE_OUTPUT_COUNT);
    {
        ac_ode_settings b = s;
        b.rtol = 0.0;
        b.atol = 0.0;
        why[k] = ac_ode_settings_check(&b);
        cr_assert_not_null(why[k]);
        k++;
    }
#undef BAD
    /* Each sentence names a different quantity (rtol twice: sign, zero sum). */
    cr_assert(strstr(why[1], "rtol") && strstr(why[2], "atol") && strstr(why[3], "h0") &&
              strstr(why[4], "hmin") && strstr(why[5], "max_steps") && strstr(why[6], "y_max") &&
              strstr(why[7], "output") && strstr(why[8], "both"));

    decay p = decay_make(1.0);
    ac_ode_system sys = {1, decay_rhs, NULL, NULL, &p};
    ac_ode_workspace *w = ac_ode_alloc(1);
    cr_assert_null(ac_ode_alloc(0));
    double y0 = 1.0;
    ac_msg msg;
    s.method = AC_ODE_MSBDF;
    cr_assert_eq(ac_ode_set(w, &sys, 0.0, &y0, 1.0, &s, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "Jacobian") && strstr(msg.text, "msbdf"), "%s", msg.text);
    cr_assert_eq(ac_ode_step(w), AC_EINVAL); /* unusable after a failed set */
    s.method = AC_ODE_RK8PD;
    double nan0 = NAN;
    cr_assert_eq(ac_ode_set(w, &sys, 0.0, &nan0, 1.0, &s, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "y0[0]"), "%s", msg.text);
    ac_ode_system two = sys;
    two.dim = 2;
    cr_assert_eq(ac_ode_set(w, &two, 0.0, &y0, 1.0, &s, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "dimension"));
    cr_assert_eq(ac_ode_set(w, &sys, 0.0, &y0, INFINITY, &s, &msg), AC_EINVAL);
    cr_assert_eq(ac_ode_method_from_name("msbdf"), AC_ODE_MSBDF);
    cr_assert_eq(ac_ode_method_from_name("euler"), -1);
    ac_ode_free(w);
    ac_ode_free(NULL);
}

/* ac_ode_solve's outputs are optional: y NULL leaves the final state in
 * the workspace (it was copied to NULL), info NULL is not written. */
Test(ode, solve_takes_null_y_and_null_info)
{
    decay p = decay_make(1.7312);
    ac_ode_system sys = {1, decay_rhs, NULL, NULL, &p};
    ac_ode_workspace *w = ac_ode_alloc(1);
    double y0 = 1.0, y;
    ac_ode_info info;
    cr_assert_eq(ac_ode_solve(w, &sys, 0.0, &y0, 0.5, &y, NULL, &info, NULL), AC_OK);
    cr_assert_eq(info.status, AC_ODE_DONE);
    cr_assert_eq(ac_ode_solve(w, &sys, 0.0, &y0, 0.5, NULL, NULL, NULL, NULL), AC_OK);
    cr_assert_eq(ac_ode_y(w)[0], y, "the same calls give the same state");
    ac_ode_free(w);
}

/* A span t_end - t0 that overflows is refused: the step floor, scaled by
 * it, was infinite, and the integration ended at once as a step-size
 * underflow, which it is not. */
Test(ode, span_that_overflows_is_refused)
{
    decay p = decay_make(1.7312);
    ac_ode_system sys = {1, decay_rhs, NULL, NULL, &p};
    ac_ode_workspace *w = ac_ode_alloc(1);
    double y0 = 1.0, y;
    ac_ode_info info;
    ac_msg msg;
    cr_assert_eq(ac_ode_solve(w, &sys, -DBL_MAX, &y0, DBL_MAX, &y, NULL, &info, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "span"), "%s", msg.text);
    cr_assert_eq(ac_ode_step(w), AC_EINVAL);
    /* the largest span that fits is accepted */
    cr_assert_eq(ac_ode_set(w, &sys, 0.0, &y0, DBL_MAX, NULL, &msg), AC_OK, "%s", msg.text);
    ac_ode_free(w);
}
