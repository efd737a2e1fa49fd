/* The C baselines of verify/moe_baselines.h (spec cbow_moe §3.4): their
 * gradients against central differences, the logistic regression's
 * optimum (a stationary point of the convex objective), the MLP's
 * learning, one-hot widths and scores; invalid settings refused. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verify/moe_baselines.h"
#include "tests/testutil.h"

static void rand_tab(gsl_rng *r, int n, int L, int ncat, ac_moe_tab *t)
{
    ac_moe_tab_init(t);
    cr_assert_eq(ac_moe_tab_resize(t, n, L, ncat), AC_OK);
    for (int k = 0; k < n * L; k++)
        t->X[k] = (int)gsl_rng_uniform_int(r, (unsigned long)ncat);
}

/* h = eps^(1/3) balances truncation and rounding (as tests/test_moe_model.c);
 * these objectives have |f|, |f'''| below 1e2 at the test weights. */
static double fd_tol(double fd) { return 1e2 * pow(DBL_EPSILON, 2.0 / 3.0) * (1.0 + fabs(fd)); }

Test(moe_baselines, logreg_gradient_matches_central_differences)
{
    gsl_rng *r = ac_test_rng(61);
    int cases = ac_test_cases(20);
    for (int cs = 0; cs < cases; cs++) {
        int L = 2 + (int)gsl_rng_uniform_int(r, 3), K = 2 + (int)gsl_rng_uniform_int(r, 3);
        int n = 1 + (int)gsl_rng_uniform_int(r, 6);
        ac_moe_tab t;
        rand_tab(r, n, L, K, &t);
        ac_moe_logreg *m = ac_moe_logreg_alloc(L, K);
        size_t np = (size_t)K * (m->p + 1);
        for (size_t k = 0; k < np; k++)
            m->W[k] = gsl_ran_gaussian(r, 0.7);
        double *g = malloc(np * sizeof(double)), C = 0.37;
        ac_moe_logreg_objective(m, &t, C, g);
        for (size_t k = 0; k < np; k++) {
            double w0 = m->W[k], h = cbrt(DBL_EPSILON) * fmax(1.0, fabs(w0));
            m->W[k] = w0 + h;
            double fp = ac_moe_logreg_objective(m, &t, C, NULL);
            m->W[k] = w0 - h;
            double fm = ac_moe_logreg_objective(m, &t, C, NULL);
            m->W[k] = w0;
            double fd = (fp - fm) / (2 * h);
            cr_assert(fabs(fd - g[k]) <= fd_tol(fd), "seed %lu case %d entry %zu: %g vs %g", ac_test_seed(61), cs,
                      k, g[k], fd);
        }
        free(g);
        ac_moe_logreg_free(m);
        ac_moe_tab_clear(&t);
    }
    gsl_rng_free(r);
}

Test(moe_baselines, logreg_fit_reaches_a_stationary_point)
{
    gsl_rng *r = ac_test_rng(62);
    ac_moe_tab t;
    rand_tab(r, 200, 4, 3, &t);
    ac_moe_logreg *m = ac_moe_logreg_alloc(4, 3);
    ac_moe_logreg_settings s;
    ac_moe_logreg_settings_default(&s);
    ac_min_info info;
    ac_msg msg;
    cr_assert_eq(ac_moe_logreg_fit(m, &t, &s, &info, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(info.status, AC_MIN_CONVERGED, "%s", ac_min_status_str(info.status));
    /* Recompute the gradient from the returned weights: the convex
     * objective's optimum is its only stationary point. */
    size_t np = (size_t)3 * (m->p + 1);
    double *g = malloc(np * sizeof(double)), mx = 0.0;
    ac_moe_logreg_objective(m, &t, s.C, g);
    for (size_t k = 0; k < np; k++)
        mx = fmax(mx, fabs(g[k]));
    cr_assert(mx <= s.eps_grad, "||grad||_inf %g", mx);
    /* A random move anywhere raises the objective. */
    double f0 = ac_moe_logreg_objective(m, &t, s.C, NULL);
    for (size_t k = 0; k < np; k++)
        m->W[k] += gsl_ran_gaussian(r, 1e-3);
    cr_assert(ac_moe_logreg_objective(m, &t, s.C, NULL) > f0);
    free(g);
    ac_moe_logreg_free(m);
    ac_moe_tab_clear(&t);
    gsl_rng_free(r);
}

Test(moe_baselines, mlp_gradient_matches_central_differences)
{
    gsl_rng *r = ac_test_rng(63);
    int cases = ac_test_cases(10);
    for (int cs = 0; cs < cases; cs++) {
        int L = 2 + (int)gsl_rng_uniform_int(r, 3), K = 2 + (int)gsl_rng_uniform_int(r, 3);
        int n = 1 + (int)gsl_rng_uniform_int(r, 6);
        int hidden = 1 + (int)gsl_rng_uniform_int(r, 5);
        ac_moe_tab t;
        rand_tab(r, n, L, K, &t);
        ac_moe_mlp *m = ac_moe_mlp_alloc(L, K, hidden);
        size_t np = ac_moe_mlp_nparams(m);
        for (size_t k = 0; k < np; k++)
            m->W1[k] = gsl_ran_gaussian(r, 0.7);
        int rows[6];
        for (int k = 0; k < n; k++)
            rows[k] = n - 1 - k;
        double *g = malloc(np * sizeof(double)), alpha = 0.13;
        ac_moe_mlp_loss(m, &t, n, rows, alpha, g);
        for (size_t k = 0; k < np; k++) {
            double w0 = m->W1[k], h = cbrt(DBL_EPSILON) * fmax(1.0, fabs(w0));
            m->W1[k] = w0 + h;
            double fp = ac_moe_mlp_loss(m, &t, n, rows, alpha, NULL);
            m->W1[k] = w0 - h;
            double fm = ac_moe_mlp_loss(m, &t, n, rows, alpha, NULL);
            m->W1[k] = w0;
            double fd = (fp - fm) / (2 * h);
            /* A ReLU kink within h of a pre-activation breaks the expansion:
             * with N(0, 0.7^2) weights its chance per case is ~1e-5. */
            cr_assert(fabs(fd - g[k]) <= fd_tol(fd), "seed %lu case %d entry %zu: %g vs %g", ac_test_seed(63), cs,
                      k, g[k], fd);
        }
        free(g);
        ac_moe_mlp_free(m);
        ac_moe_tab_clear(&t);
    }
    gsl_rng_free(r);
}

Test(moe_baselines, both_learn_a_deterministic_rule)
{
    /* y = x0 on 3 categories: both baselines fit it on every row. */
    gsl_rng *r = ac_test_rng(64);
    ac_moe_tab t;
    rand_tab(r, 150, 3, 3, &t);
    for (int i = 0; i < t.n; i++)
        t.X[i * 3 + 2] = t.X[i * 3];
    int pred[150];
    double acc, mse;
    ac_moe_logreg *lr = ac_moe_logreg_alloc(3, 3);
    ac_moe_logreg_settings ls;
    ac_moe_logreg_settings_default(&ls);
    cr_assert_eq(ac_moe_logreg_fit(lr, &t, &ls, NULL, NULL), AC_OK);
    cr_assert_eq(ac_moe_logreg_predict(lr, &t, pred, NULL), AC_OK);
    ac_moe_tab_score(&t, pred, &acc, &mse);
    cr_assert(acc == 1.0 && mse == 0.0, "LR acc %g", acc);
    ac_moe_mlp_settings ms;
    ac_moe_mlp_settings_default(&ms);
    ms.hidden = 8;
    ac_moe_mlp *mlp = ac_moe_mlp_alloc(3, 3, 8);
    ac_train_info info;
    cr_assert_eq(ac_moe_mlp_fit(mlp, &t, &ms, r, &info, NULL), AC_OK);
    cr_assert(info.outcome == AC_TRAIN_CONVERGED || info.outcome == AC_TRAIN_STEP_LIMIT);
    cr_assert(info.loss < info.loss0, "loss %g from %g", info.loss, info.loss0);
    cr_assert_eq(ac_moe_mlp_predict(mlp, &t, pred, NULL), AC_OK);
    ac_moe_tab_score(&t, pred, &acc, &mse);
    cr_assert(acc == 1.0, "MLP acc %g", acc);
    ac_moe_mlp_free(mlp);
    ac_moe_logreg_free(lr);
    ac_moe_tab_clear(&t);
    gsl_rng_free(r);
}

Test(moe_baselines, score_counts_hits_and_squared_bin_errors)
{
    ac_moe_tab t;
    ac_moe_tab_init(&t);
    ac_moe_tab_resize(&t, 4, 2, 5);
    int y[4] = {0, 4, 2, 3}, pred[4] = {0, 1, 2, 4};
    for (int i = 0; i < 4; i++)
        t.X[i * 2 + 1] = y[i];
    double acc, mse;
    ac_moe_tab_score(&t, pred, &acc, &mse);
    cr_assert_eq(acc, 0.5);         /* exact: 2 of 4 */
    cr_assert_eq(mse, (9.0 + 1.0) / 4.0); /* exact in binary */
    cr_assert_eq(ac_moe_onehot_width(6, 10), 45); /* 5 columns x 9 dummies */
    ac_moe_tab_clear(&t);
}

Test(moe_baselines, invalid_settings_are_refused)
{
    ac_moe_logreg_settings ls, l2;
    ac_moe_logreg_settings_default(&ls);
    cr_assert_null(ac_moe_logreg_settings_check(&ls));
    cr_assert_not_null(ac_moe_logreg_settings_check(NULL));
    l2 = ls, l2.C = 0.0;
    cr_assert(ac_moe_logreg_settings_check(&l2));
    l2 = ls, l2.max_iter = -1;
    cr_assert(ac_moe_logreg_settings_check(&l2));
    ac_moe_mlp_settings ms, m2;
    ac_moe_mlp_settings_default(&ms);
    cr_assert_null(ac_moe_mlp_settings_check(&ms));
    cr_assert_not_null(ac_moe_mlp_settings_check(NULL));
    m2 = ms, m2.hidden = 0;
    cr_assert(ac_moe_mlp_settings_check(&m2));
    m2 = ms, m2.lr = -1;
    cr_assert(ac_moe_mlp_settings_check(&m2));
    m2 = ms, m2.n_iter_no_change = 0;
    cr_assert(ac_moe_mlp_settings_check(&m2));
    cr_assert_null(ac_moe_logreg_alloc(1, 3));
    cr_assert_null(ac_moe_mlp_alloc(3, 1, 4));
    ac_moe_tab t;
    ac_moe_tab_init(&t);
    ac_moe_tab_resize(&t, 2, 3, 4);
    t.X[0] = 7;
    ac_moe_logreg *lr = ac_moe_logreg_alloc(3, 4);
    ac_msg msg;
    cr_assert_eq(ac_moe_logreg_fit(lr, &t, &ls, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "category 7"), "%s", msg.text);
    ac_moe_logreg_free(lr);
    ac_moe_tab_clear(&t);
}
