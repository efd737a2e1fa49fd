/* The log-sum-exp loss, the reduced dataset, S_fin and W_fin
 * (theory/tpg_loss.h; spec tpg_svm §1, §3.2, §4.1 S3-S5). */
#include <criterion/criterion.h>
#include <float.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_multimin.h>
#include <math.h>
#include <string.h>

#include "solvers/linalg.h"
#include "tests/testutil.h"
#include "theory/tpg.h"
#include "theory/tpg_loss.h"

#define KMAX 6
#define DMAX (KMAX + 2)
#define TMAX 6

/* n examples over K tokens, lengths 1..tmax, label drawn from the sequence
 * (assumption A2).  When rank is non-NULL (K entries) the label is the
 * sequence's token of highest rank instead: one consistent order, so every
 * TPG is a DAG. */
static ac_tpg_data *random_data(gsl_rng *r, int n, int K, int tmax, const int *rank)
{
    int len[64], ntok = 0;
    for (int i = 0; i < n; i++)
        ntok += len[i] = 1 + (int)gsl_rng_uniform_int(r, (unsigned long)tmax);
    ac_tpg_data *D = ac_tpg_data_alloc(n, ntok, K);
    cr_assert_not_null(D);
    int p = 0;
    for (int i = 0; i < n; i++) {
        for (int t = 0; t < len[i]; t++)
            D->tok[p + t] = (int)gsl_rng_uniform_int(r, (unsigned long)K);
        int y = D->tok[p + (int)gsl_rng_uniform_int(r, (unsigned long)len[i])];
        if (rank)
            for (int t = 0; t < len[i]; t++)
                if (rank[D->tok[p + t]] > rank[y])
                    y = D->tok[p + t];
        D->label[i] = y;
        p += len[i];
        D->off[i + 1] = p;
    }
    return D;
}

static void random_matrix(gsl_rng *r, double *A, int n, double scale)
{
    for (int i = 0; i < n; i++)
        A[i] = scale * gsl_ran_gaussian(r, 1.0);
}

/* ---- the loss ---------------------------------------------------------- */

Test(tpg_loss, gradient_matches_central_differences)
{
    gsl_rng *r = ac_test_rng(21);
    for (int c = 0; c < ac_test_cases(200); c++) {
        int K = 1 + (int)(c % KMAX), n = (int)(c % 9);
        ac_tpg_data *D = random_data(r, n, K, TMAX, NULL);
        double U[KMAX * KMAX], gU[KMAX * KMAX];
        random_matrix(r, U, K * K, 1.7312);
        double L = ac_tpg_loss(D, U, n > 0 ? n : 1, gU);
        cr_assert(isfinite(L));
        /* Each column of dl_i/dU sums to 0 (the softmax minus its total). */
        for (int k = 0; k < K; k++) {
            double s = 0.0, a = 0.0;
            for (int j = 0; j < K; j++)
                s += gU[j * K + k], a += fabs(gU[j * K + k]);
            cr_assert_leq(fabs(s), 4 * K * DBL_EPSILON * (a + 1e-300) + 0.0,
                          "seed 21 case %d column %d", c, k);
        }
        /* Central differences: error <= h^2/6 max|f'''| + (rounding of L)/h.
         * Along one entry U[j,k], l_i is a log-sum-exp in one variable whose
         * third derivative is a third central moment of a Bernoulli law,
         * |.| <= 1/(6 sqrt 3) < 1, so the mean over examples has |f'''| <= 1.
         * L sums n + T terms of size <= |L| + 10 with relative error eps, so
         * the difference quotient carries <= 2 (n + T) eps (|L| + 10) / (2h).
         * h = 1e-5 balances the two near 1e-10; the bound below is twice
         * their sum. */
        double h = 1e-5;
        double tol = 2.0 * (h * h / 6.0 + (n + TMAX) * DBL_EPSILON * (fabs(L) + 10.0) / h);
        for (int j = 0; j < K * K; j++) {
            double u = U[j];
            U[j] = u + h;
            double Lp = ac_tpg_loss(D, U, n > 0 ? n : 1, NULL);
            U[j] = u - h;
            double Lm = ac_tpg_loss(D, U, n > 0 ? n : 1, NULL);
            U[j] = u;
            double fd = (Lp - Lm) / (2 * h);
            cr_assert_leq(fabs(fd - gU[j]), tol, "seed 21 case %d entry %d: %.17g vs %.17g", c,
                          j, fd, gU[j]);
        }
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

/* The per-position model of spec §1, written out: X from E, a_t = x_t^T W
 * xbar, s = softmax(a) (max-shifted), p = sum_{t: tok_t = y} s_t, l = -log p;
 * and the gradient of spec §7, (X^T g) xbar^T with g_t = s_t - q_t, q the
 * softmax over the label's positions. */
static double direct_loss(const ac_tpg_data *D, const double *E, int d, const double *W,
                          double *gW)
{
    double sum = 0.0;
    memset(gW, 0, sizeof(double) * (size_t)(d * d));
    for (int i = 0; i < D->n; i++) {
        int T = D->off[i + 1] - D->off[i];
        const int *tok = D->tok + D->off[i];
        double X[TMAX * DMAX], a[TMAX], s[TMAX], amax = -INFINITY, Z = 0.0, p = 0.0;
        for (int t = 0; t < T; t++)
            memcpy(X + t * d, E + tok[t] * d, sizeof(double) * (size_t)d);
        const double *xbar = X + (T - 1) * d;
        for (int t = 0; t < T; t++) {
            a[t] = 0.0;
            for (int u = 0; u < d; u++)
                for (int v = 0; v < d; v++)
                    a[t] += X[t * d + u] * W[u * d + v] * xbar[v];
            amax = fmax(amax, a[t]);
        }
        for (int t = 0; t < T; t++)
            Z += s[t] = exp(a[t] - amax);
        for (int t = 0; t < T; t++) {
            s[t] /= Z;
            if (tok[t] == D->label[i])
                p += s[t];
        }
        sum += -log(p);
        for (int t = 0; t < T; t++) {
            double g = s[t] - (tok[t] == D->label[i] ? s[t] / p : 0.0);
            for (int u = 0; u < d; u++)
                for (int v = 0; v < d; v++)
                    gW[u * d + v] += g * X[t * d + u] * xbar[v] / D->n;
        }
    }
    return D->n > 0 ? sum / D->n : 0.0;
}

Test(tpg_loss, loss_equals_per_position_softmax_from_embeddings)
{
    gsl_rng *r = ac_test_rng(22);
    for (int c = 0; c < ac_test_cases(200); c++) {
        int K = 1 + (int)(c % KMAX), d = K + (int)(c % 3), n = (int)(c % 7);
        ac_tpg_data *D = random_data(r, n, K, TMAX, NULL);
        double E[KMAX * DMAX], W[DMAX * DMAX], U[KMAX * KMAX], gU[KMAX * KMAX];
        double gW[DMAX * DMAX], gW2[DMAX * DMAX];
        ac_test_unit_rows(r, E, K, d);
        random_matrix(r, W, d * d, 1.7312);
        ac_tpg_token_logits(E, K, d, W, U);
        double L = ac_tpg_loss(D, U, n > 0 ? n : 1, gU);
        ac_la_lift(E, K, d, gU, gW);
        double L2 = direct_loss(D, E, d, W, gW2);
        /* The logits of the two ways differ by rounding of a d x d bilinear
         * form with unit vectors, |da| <= 2 d^2 eps max|W| (~1e-13 here);
         * l moves by at most 2 |da|, and -log p adds T eps / p relative
         * rounding with p >= e^{-2 max|a|} ~ 1e-5 at these scales.  1e-10
         * covers both with a margin of 10. */
        cr_assert_leq(fabs(L - L2), 1e-10 * (1.0 + fabs(L)), "seed 22 case %d: %.17g vs %.17g", c,
                      L, L2);
        /* The gradient: same rounding over d^2 entries through 1/p. */
        cr_assert_leq(ac_la_dist(gW, gW2, d * d), 1e-9 * (1.0 + ac_la_nrm2(gW, d * d)),
                      "seed 22 case %d", c);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

Test(tpg_loss, small_loss_keeps_relative_accuracy)
{
    /* One example [a, b, k] labelled a with U[a,k] - U[b,k] = 40 and
     * U[k,k] - U[a,k] = -45: l = log1p((e^{-40} + e^{-45}) / 1), which a
     * -log(p) form would round to 0. */
    ac_tpg_data *D = ac_tpg_data_alloc(1, 3, 3);
    D->tok[0] = 0, D->tok[1] = 1, D->tok[2] = 2, D->off[1] = 3, D->label[0] = 0;
    double U[9] = {0};
    U[0 * 3 + 2] = 1.7312, U[1 * 3 + 2] = 1.7312 - 40.0, U[2 * 3 + 2] = 1.7312 - 45.0;
    double gU[9];
    double L = ac_tpg_loss(D, U, 1.0, gU);
    double want = log1p(exp(U[5] - U[2]) + exp(U[8] - U[2]));
    cr_assert_leq(fabs(L - want), 8 * DBL_EPSILON * want, "%.17g vs %.17g", L, want);
    cr_assert_gt(L, 0.0);
    /* dL/dU[a,k] = -(pi_b + pi_k), relative accuracy too. */
    cr_assert_lt(gU[2], 0.0);
    cr_assert_leq(fabs(gU[2] + gU[5] + gU[8]), 4 * DBL_EPSILON * fabs(gU[2]));
    ac_tpg_data_free(D);
}

Test(tpg_loss, absent_label_gives_infinity_and_empty_data_zero)
{
    ac_tpg_data *D = ac_tpg_data_alloc(1, 2, 3);
    D->tok[0] = 0, D->tok[1] = 2, D->off[1] = 2, D->label[0] = 1;
    double U[9] = {0.5, -0.25, 1.7312, 0, 0, 0, 0, 0, 0}, gU[9];
    cr_assert(isinf(ac_tpg_loss(D, U, 1.0, gU)));
    cr_assert(isnan(gU[0]));
    D->n = 0;
    cr_assert_eq(ac_tpg_loss(D, U, 1.0, gU), 0.0);
    cr_assert_eq(gU[4], 0.0);
    D->n = 1;
    D->label[0] = 2;
    cr_assert(isnan(ac_tpg_loss(D, U, 0.0, NULL)), "norm <= 0 is invalid");
    ac_tpg_data_free(D);
}

Test(tpg_loss, loss_is_convex_on_random_pairs)
{
    /* S5: L(½(U1 + U2)) <= ½(L(U1) + L(U2)); convexity in U is convexity in
     * W (U is linear in W).  Allowance: the rounding of three loss values,
     * each (n + T) eps relative. */
    gsl_rng *r = ac_test_rng(23);
    for (int c = 0; c < ac_test_cases(300); c++) {
        int K = 1 + (int)(c % KMAX), n = (int)(c % 9);
        ac_tpg_data *D = random_data(r, n, K, TMAX, NULL);
        double U1[KMAX * KMAX], U2[KMAX * KMAX], Um[KMAX * KMAX];
        random_matrix(r, U1, K * K, 3.0);
        random_matrix(r, U2, K * K, 3.0);
        for (int j = 0; j < K * K; j++)
            Um[j] = 0.5 * (U1[j] + U2[j]);
        double L1 = ac_tpg_loss(D, U1, n > 0 ? n : 1, NULL);
        double L2 = ac_tpg_loss(D, U2, n > 0 ? n : 1, NULL);
        double Lm = ac_tpg_loss(D, Um, n > 0 ? n : 1, NULL);
        double tol = 4 * (n + TMAX) * DBL_EPSILON * (fabs(L1) + fabs(L2) + 1.0);
        cr_assert_leq(Lm, 0.5 * (L1 + L2) + tol, "seed 23 case %d", c);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

Test(tpg_loss, line_loss_matches_loss_and_its_derivative)
{
    gsl_rng *r = ac_test_rng(24);
    for (int c = 0; c < ac_test_cases(100); c++) {
        int K = 1 + (int)(c % KMAX), n = (int)(c % 6);
        ac_tpg_data *D = random_data(r, n, K, TMAX, NULL);
        double U0[KMAX * KMAX], U1[KMAX * KMAX], U[KMAX * KMAX];
        random_matrix(r, U0, K * K, 1.0);
        random_matrix(r, U1, K * K, 1.0);
        double s = 1.7312 * gsl_ran_gaussian(r, 1.0), L, dL;
        cr_assert_eq(ac_tpg_loss_line(D, U0, U1, s, n > 0 ? n : 1, &L, &dL), AC_OK);
        for (int j = 0; j < K * K; j++)
            U[j] = U0[j] + s * U1[j];
        cr_assert_eq(L, ac_tpg_loss(D, U, n > 0 ? n : 1, NULL), "the same evaluation");
        /* Central difference in s: |f'''| <= ||U1||_max^3 (T-term moment
         * bound), ~ 30 here, rounding as in gradient_matches_... */
        double h = 1e-5, Lp, Lm, dd;
        ac_tpg_loss_line(D, U0, U1, s + h, n > 0 ? n : 1, &Lp, &dd);
        ac_tpg_loss_line(D, U0, U1, s - h, n > 0 ? n : 1, &Lm, &dd);
        double tol = 2.0 * (30.0 * h * h / 6.0 + (n + TMAX) * DBL_EPSILON * (fabs(L) + 30.0) / h);
        cr_assert_leq(fabs((Lp - Lm) / (2 * h) - dL), tol, "seed 24 case %d", c);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

/* ---- reduced data, S_fin, W_fin ----------------------------------------- */

typedef struct {
    ac_tpg_data *D;
    ac_tpg *G;
    ac_tpg_reduced *R;
    ac_tpg_sfin *S;
    int K, d;
    double E[KMAX * DMAX];
} setup;

static void setup_make(setup *s, gsl_rng *r, ac_tpg_data *D, int d)
{
    ac_msg msg;
    s->D = D;
    s->K = D->K;
    s->d = d;
    ac_test_unit_rows(r, s->E, s->K, d);
    cr_assert_eq(ac_tpg_build(D, &s->G, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_tpg_reduce(s->G, D, &s->R, NULL), AC_OK);
    cr_assert_eq(ac_tpg_sfin_alloc(s->G, s->E, d, &s->S, &msg), AC_OK, "%s", msg.text);
}

static void setup_free(setup *s)
{
    ac_tpg_sfin_free(s->S);
    ac_tpg_reduced_free(s->R);
    ac_tpg_free(s->G);
    ac_tpg_data_free(s->D);
}

/* A random dataset with at least one example, small K so that cycles are
 * common, d = K + 2 so that the embeddings are independent. */
static void setup_random(setup *s, gsl_rng *r, int c)
{
    int K = 1 + (int)(c % 5), n = 1 + (int)(c % 8);
    setup_make(s, r, random_data(r, n, K, 5, NULL), K + 2);
}

Test(tpg_loss, reduced_gradient_lies_in_sfin)
{
    /* S4.  Each column of dL_red/dU is supported on one label SCC per
     * example and sums to zero there, so E^T gU E is a combination of the
     * generators.  The projection's rounding error is ~ cond(M) dim eps
     * ||grad||, cond(M) <= ~1e2 for unit random embeddings with d = K + 2,
     * so 1e-12 relative is the spec's bound with a margin of ~10. */
    gsl_rng *r = ac_test_rng(25);
    int nontrivial = 0;
    for (int c = 0; c < ac_test_cases(200); c++) {
        setup s;
        setup_random(&s, r, c);
        int K = s.K, d = s.d;
        double W[DMAX * DMAX], U[KMAX * KMAX], gU[KMAX * KMAX], gW[DMAX * DMAX], P[DMAX * DMAX];
        random_matrix(r, W, d * d, 1.7312);
        ac_tpg_token_logits(s.E, K, d, W, U);
        ac_tpg_loss_reduced(s.R, U, gU);
        ac_la_lift(s.E, K, d, gU, gW);
        cr_assert_eq(ac_tpg_sfin_project(s.S, gW, P, NULL), AC_OK);
        double gn = ac_la_nrm2(gW, d * d);
        cr_assert_leq(ac_la_dist(gW, P, d * d), 1e-12 * gn, "seed 25 case %d: dim %d |g| %g", c,
                      s.S->dim, gn);
        if (s.S->dim == 0)
            cr_assert_eq(gn, 0.0, "seed 25 case %d: no SCC, no reduced gradient", c);
        nontrivial += s.S->dim > 0 && gn > 0;
        setup_free(&s);
    }
    cr_assert_gt(nontrivial, 20, "too few cyclic cases to test S4");
    gsl_rng_free(r);
}

Test(tpg_loss, projection_is_idempotent_and_orthogonal)
{
    gsl_rng *r = ac_test_rng(26);
    for (int c = 0; c < ac_test_cases(200); c++) {
        setup s;
        setup_random(&s, r, c);
        int d = s.d, m = s.S->dim;
        double W[DMAX * DMAX], P[DMAX * DMAX], P2[DMAX * DMAX], A[DMAX * DMAX], B[DMAX * DMAX];
        double cf[KMAX * KMAX], e[KMAX * KMAX];
        random_matrix(r, W, d * d, 1.7312);
        cr_assert_eq(ac_tpg_sfin_project(s.S, W, P, cf), AC_OK);
        cr_assert_eq(ac_tpg_sfin_project(s.S, P, P2, NULL), AC_OK);
        /* Idempotent: a second projection moves P by rounding only,
         * ~ cond(M) m eps ||W|| (cond(M) <= ~1e2). */
        double wn = ac_la_nrm2(W, d * d);
        cr_assert_leq(ac_la_dist(P, P2, d * d), 1e-12 * wn, "seed 26 case %d", c);
        /* Orthogonal: <B_g, W - P> = 0 for every generator B_g, to the
         * rounding of a d^2-term inner product, d^2 eps ||B_g|| ||W||. */
        for (int j = 0; j < d * d; j++)
            A[j] = W[j] - P[j];
        for (int g = 0; g < m; g++) {
            memset(e, 0, sizeof e);
            e[g] = 1.0;
            ac_tpg_sfin_matrix(s.S, e, B);
            double ip = ac_la_dot(B, A, d * d);
            cr_assert_leq(fabs(ip), 1e3 * DBL_EPSILON * ac_la_nrm2(B, d * d) * wn,
                          "seed 26 case %d generator %d: %g", c, g, ip);
        }
        /* The coefficients rebuild P; aliasing P with W gives the same. */
        ac_tpg_sfin_matrix(s.S, cf, A);
        cr_assert_leq(ac_la_dist(A, P, d * d), 1e-14 * wn);
        memcpy(A, W, sizeof(double) * (size_t)(d * d));
        cr_assert_eq(ac_tpg_sfin_project(s.S, A, A, NULL), AC_OK);
        for (int j = 0; j < d * d; j++)
            cr_assert_eq(A[j], P[j], "seed 26 case %d: aliased projection differs", c);
        setup_free(&s);
    }
    gsl_rng_free(r);
}

/* The reduced loss in generator coordinates for GSL, computed through E
 * (ac_tpg_token_logits, ac_la_lift), not through the Gram as ac_tpg_wfin
 * does: f(c) = L_red(E W(c) E^T), grad_g = <B_g, E^T gU E>. */
typedef struct {
    setup *s;
} bfgs_ctx;

static double bfgs_fdf_core(const gsl_vector *v, void *p, gsl_vector *grad)
{
    setup *s = ((bfgs_ctx *)p)->s;
    int K = s->K, d = s->d, m = s->S->dim;
    double c[KMAX * KMAX] = {0}, W[DMAX * DMAX], U[KMAX * KMAX], gU[KMAX * KMAX], gW[DMAX * DMAX];
    double B[DMAX * DMAX], e[KMAX * KMAX];
    for (int g = 0; g < m; g++)
        c[g] = gsl_vector_get(v, (size_t)g);
    ac_tpg_sfin_matrix(s->S, c, W);
    ac_tpg_token_logits(s->E, K, d, W, U);
    double f = ac_tpg_loss_reduced(s->R, U, gU);
    if (grad) {
        ac_la_lift(s->E, K, d, gU, gW);
        for (int g = 0; g < m; g++) {
            memset(e, 0, sizeof e);
            e[g] = 1.0;
            ac_tpg_sfin_matrix(s->S, e, B);
            gsl_vector_set(grad, (size_t)g, ac_la_dot(B, gW, d * d));
        }
    }
    return f;
}

static double bfgs_f(const gsl_vector *v, void *p)
{
    return bfgs_fdf_core(v, p, NULL);
}

static void bfgs_df(const gsl_vector *v, void *p, gsl_vector *g)
{
    bfgs_fdf_core(v, p, g);
}

static void bfgs_fdf(const gsl_vector *v, void *p, double *f, gsl_vector *g)
{
    *f = bfgs_fdf_core(v, p, g);
}

/* ||Pi_{S_fin} grad_W L_red(W)||_F, through E. */
static double projected_grad_norm(setup *s, const double *W)
{
    int K = s->K, d = s->d;
    double U[KMAX * KMAX], gU[KMAX * KMAX], gW[DMAX * DMAX], P[DMAX * DMAX];
    ac_tpg_token_logits(s->E, K, d, W, U);
    ac_tpg_loss_reduced(s->R, U, gU);
    ac_la_lift(s->E, K, d, gU, gW);
    cr_assert_eq(ac_tpg_sfin_project(s->S, gW, P, NULL), AC_OK);
    return ac_la_nrm2(P, d * d);
}

/* Smallest eigenvalue of the Hessian of L_red on S_fin in the Frobenius
 * metric: the generalised problem H_c v = lambda M v, H_c by central
 * differences of the BFGS gradient (step 1e-5: error ~1e-10, far below
 * lambda), M the generator Gram from the d x d matrices themselves. */
static double hessian_min_eig(setup *s, const double *c0)
{
    int m = s->S->dim, d = s->d;
    bfgs_ctx bc = {s};
    gsl_matrix *H = gsl_matrix_alloc((size_t)m, (size_t)m), *M = gsl_matrix_alloc((size_t)m, (size_t)m);
    gsl_vector *v = gsl_vector_alloc((size_t)m), *gp = gsl_vector_alloc((size_t)m),
               *gm = gsl_vector_alloc((size_t)m), *ev = gsl_vector_alloc((size_t)m);
    double Bg[DMAX * DMAX], Bh[DMAX * DMAX], e[KMAX * KMAX];
    double h = 1e-5;
    for (int g = 0; g < m; g++) {
        for (int j = 0; j < m; j++)
            gsl_vector_set(v, (size_t)j, c0[j] + (j == g ? h : 0.0));
        bfgs_df(v, &bc, gp);
        gsl_vector_set(v, (size_t)g, c0[g] - h);
        bfgs_df(v, &bc, gm);
        for (int j = 0; j < m; j++)
            gsl_matrix_set(H, (size_t)g, (size_t)j,
                           (gsl_vector_get(gp, (size_t)j) - gsl_vector_get(gm, (size_t)j)) / (2 * h));
        memset(e, 0, sizeof e);
        e[g] = 1.0;
        ac_tpg_sfin_matrix(s->S, e, Bg);
        for (int j = 0; j < m; j++) {
            memset(e, 0, sizeof e);
            e[j] = 1.0;
            ac_tpg_sfin_matrix(s->S, e, Bh);
            gsl_matrix_set(M, (size_t)g, (size_t)j, ac_la_dot(Bg, Bh, d * d));
        }
    }
    for (int g = 0; g < m; g++) /* symmetrise the difference quotients */
        for (int j = 0; j < g; j++) {
            double a = 0.5 * (gsl_matrix_get(H, (size_t)g, (size_t)j) + gsl_matrix_get(H, (size_t)j, (size_t)g));
            gsl_matrix_set(H, (size_t)g, (size_t)j, a);
            gsl_matrix_set(H, (size_t)j, (size_t)g, a);
        }
    gsl_eigen_gensymm_workspace *w = gsl_eigen_gensymm_alloc((size_t)m);
    cr_assert_eq(gsl_eigen_gensymm(H, M, ev, w), GSL_SUCCESS);
    double lmin = gsl_vector_min(ev);
    gsl_eigen_gensymm_free(w);
    gsl_matrix_free(H), gsl_matrix_free(M);
    gsl_vector_free(v), gsl_vector_free(gp), gsl_vector_free(gm), gsl_vector_free(ev);
    return lmin;
}

Test(tpg_loss, wfin_has_vanishing_gradient_and_matches_bfgs)
{
    gsl_rng *r = ac_test_rng(27);
    int compared = 0, maxiter = 0;
    for (int c = 0; c < ac_test_cases(120); c++) {
        setup s;
        setup_random(&s, r, c);
        int d = s.d, m = s.S->dim;
        double Wfin[DMAX * DMAX], gn;
        ac_newton_info info;
        ac_msg msg;
        cr_assert_eq(ac_tpg_wfin(s.S, s.R, NULL, Wfin, &gn, &info, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(info.status, AC_NEWTON_CONVERGED, "seed 27 case %d: %s, |g| %g", c,
                     ac_newton_status_str(info.status), info.grad_norm);
        cr_assert_leq(gn, 1e-12, "seed 27 case %d", c);
        maxiter = info.iter > maxiter ? info.iter : maxiter;
        /* Recomputed through E instead of the Gram: the logits differ by
         * ~ d^2 eps |U|, the gradient by the Hessian (<= 1) times that. */
        double gn2 = projected_grad_norm(&s, Wfin);
        cr_assert_leq(gn2, 1e-12 + 1e2 * d * d * DBL_EPSILON, "seed 27 case %d: %g", c, gn2);
        if (m == 0) {
            for (int j = 0; j < d * d; j++)
                cr_assert_eq(Wfin[j], 0.0);
            setup_free(&s);
            continue;
        }
        /* Second method: GSL's BFGS in the generator coordinates from 0. */
        bfgs_ctx bc = {&s};
        gsl_multimin_function_fdf fdf = {bfgs_f, bfgs_df, bfgs_fdf, (size_t)m, &bc};
        gsl_multimin_fdfminimizer *mz =
            gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, (size_t)m);
        gsl_vector *x0 = gsl_vector_calloc((size_t)m);
        gsl_multimin_fdfminimizer_set(mz, &fdf, x0, 0.1, 0.1);
        for (int it = 0; it < 5000; it++) {
            if (gsl_multimin_fdfminimizer_iterate(mz) != GSL_SUCCESS)
                break;
            if (gsl_multimin_test_gradient(mz->gradient, 1e-10) == GSL_SUCCESS)
                break;
        }
        double cb[KMAX * KMAX], Wb[DMAX * DMAX], cf[KMAX * KMAX];
        for (int g = 0; g < m; g++)
            cb[g] = gsl_vector_get(mz->x, (size_t)g);
        ac_tpg_sfin_matrix(s.S, cb, Wb);
        /* Strong convexity on S_fin: ||W_b - W_fin|| <= ||grad(W_b)|| /
         * lambda_min, grad and lambda in the Frobenius metric.  lambda is
         * taken at W_fin by differences; along the short segment to W_b the
         * Hessian changes by O(||W_b - W_fin||), so half of it is a safe
         * lower bound; plus W_fin's own 1e-12 gradient. */
        double gb = projected_grad_norm(&s, Wb);
        cr_assert_leq(gb, 1e-6, "seed 27 case %d: BFGS stalled at |g| %g", c, gb);
        ac_tpg_sfin_project(s.S, Wfin, Wb, cf); /* coefficients of W_fin */
        ac_tpg_sfin_matrix(s.S, cb, Wb);
        double lmin = hessian_min_eig(&s, cf);
        cr_assert_gt(lmin, 0.0, "seed 27 case %d: L_red not strictly convex on S_fin", c);
        double tol = 2.0 * (gb + 1e-12) / lmin + 1e-13;
        cr_assert_leq(ac_la_dist(Wb, Wfin, d * d), tol, "seed 27 case %d: %g vs tol %g", c,
                      ac_la_dist(Wb, Wfin, d * d), tol);
        compared++;
        gsl_vector_free(x0);
        gsl_multimin_fdfminimizer_free(mz);
        setup_free(&s);
    }
    cr_assert_gt(compared, 20, "too few cyclic cases");
    /* With the exact Hessian, Newton converges quadratically once near the
     * minimiser: from W = 0 these small problems (logits O(1)) take at most
     * ~5 steps (1200 cases); a wrong Hessian (e.g. without the -pi pi^T term, an
     * over-estimate) still converges, but linearly, in dozens.  12 is a
     * count bound with more than 100% to spare. */
    cr_assert_leq(maxiter, 12, "Newton took %d iterations: is the Hessian exact?", maxiter);
    gsl_rng_free(r);
}

/* n examples over K >= 3 tokens: p copies of context ctx labelled a and q
 * labelled b (ctx holds a, b, other tokens below them, and last token k). */
static ac_tpg_data *two_win_data(const int *ctx, int len, int a, int b, int p, int q, int K)
{
    ac_tpg_data *D = ac_tpg_data_alloc(p + q, (p + q) * len, K);
    for (int i = 0; i < p + q; i++) {
        memcpy(D->tok + i * len, ctx, sizeof(int) * (size_t)len);
        D->label[i] = i < p ? a : b;
        D->off[i + 1] = (i + 1) * len;
    }
    return D;
}

Test(tpg_loss, wfin_matches_closed_form_on_two_token_scc)
{
    /* Context [a x m_a, b x m_b, k] with p a-wins and q b-wins: the SCC is
     * {a, b} and the reduced loss (p + q)^{-1} [p (LSE - u_a - log m_a) +
     * q (LSE - u_b - log m_b)] is minimal where the model's
     * p(a) = m_a e^{u_a} / (m_a e^{u_a} + m_b e^{u_b}) = p / (p + q), that is
     *   U[a,k] - U[b,k] = log(p m_b / (q m_a)).
     * p = q, m_a = m_b is spec §3.2's W_fin = 0 (one a-win, one b-win), and
     * then the gradient at 0 is exactly 0: W_fin is 0 to the bit. */
    gsl_rng *r = ac_test_rng(28);
    for (int c = 0; c < ac_test_cases(100); c++) {
        int K = 3 + (int)(c % 4), d = K + 1;
        int a = (int)gsl_rng_uniform_int(r, (unsigned long)K), b, k;
        do
            b = (int)gsl_rng_uniform_int(r, (unsigned long)K);
        while (b == a);
        do
            k = (int)gsl_rng_uniform_int(r, (unsigned long)K);
        while (k == a || k == b);
        int ma = 1 + (int)(c % 2), mb = 1 + (int)((c / 2) % 2);
        int p = 1 + (int)((c / 4) % 3), q = 1 + (int)((c / 12) % 2);
        if (c % 5 == 0)
            p = q = 1, ma = mb = 1 + (int)(c % 3);
        int ctx[8], len = 0;
        for (int i = 0; i < ma; i++)
            ctx[len++] = a;
        for (int i = 0; i < mb; i++)
            ctx[len++] = b;
        ctx[len++] = k;
        setup s;
        setup_make(&s, r, two_win_data(ctx, len, a, b, p, q, K), d);
        cr_assert_eq(s.S->dim, 1);
        cr_assert_eq(s.R->data->n, p + q);
        double Wfin[DMAX * DMAX], gn, U[KMAX * KMAX];
        ac_newton_info info;
        cr_assert_eq(ac_tpg_wfin(s.S, s.R, NULL, Wfin, &gn, &info, NULL), AC_OK);
        cr_assert_eq(info.status, AC_NEWTON_CONVERGED);
        ac_tpg_token_logits(s.E, K, d, Wfin, U);
        double want = log((double)(p * mb) / (double)(q * ma));
        if (p == q && ma == mb) {
            cr_assert_eq(info.iter, 0, "seed 28 case %d", c);
            for (int j = 0; j < d * d; j++)
                cr_assert_eq(Wfin[j], 0.0, "seed 28 case %d: W_fin is not exactly 0", c);
        }
        /* |grad| <= 1e-12 and the curvature of the 1-D problem is
         * pi_a pi_b ||B||^2 / (p+q) * (p+q) >= ~0.1 ||B||^2, so the logit gap is
         * within ~1e-11 of the closed form; plus rounding of U (d^2 eps). */
        cr_assert_leq(fabs(U[a * K + k] - U[b * K + k] - want), 1e-10,
                      "seed 28 case %d: gap %.17g, want %.17g", c, U[a * K + k] - U[b * K + k], want);
        /* Soft composition at W_fin gives the empirical label frequencies. */
        double pr[KMAX];
        int top = ac_tpg_top_scc(s.G, k, ctx, len);
        cr_assert_geq(top, 0);
        ac_tpg_soft_composition(s.G, U, ctx, len, top, pr);
        cr_assert_leq(fabs(pr[a] - (double)p / (p + q)), 1e-10, "seed 28 case %d", c);
        cr_assert_leq(fabs(pr[a] + pr[b] - 1.0), 4 * DBL_EPSILON);
        cr_assert_eq(pr[k], 0.0);
        setup_free(&s);
    }
    gsl_rng_free(r);
}

Test(tpg_loss, acyclic_data_gives_empty_sfin_and_zero_wfin)
{
    /* S3: labels follow one ranking of the tokens, so every TPG is a DAG,
     * no example keeps a second token, dim S_fin = 0 and W_fin = 0. */
    gsl_rng *r = ac_test_rng(29);
    for (int c = 0; c < ac_test_cases(100); c++) {
        int K = 1 + (int)(c % KMAX), n = (int)(c % 9), rank[KMAX];
        for (int j = 0; j < K; j++)
            rank[j] = j;
        gsl_ran_shuffle(r, rank, (size_t)K, sizeof(int));
        setup s;
        setup_make(&s, r, random_data(r, n, K, TMAX, rank), K + 1);
        cr_assert(ac_tpg_is_acyclic(s.G));
        cr_assert_eq(s.S->dim, 0);
        cr_assert_eq(s.R->data->n, 0);
        cr_assert_eq(s.R->n_full, n);
        double Wfin[DMAX * DMAX], gn = -1.0;
        for (int j = 0; j < s.d * s.d; j++)
            Wfin[j] = 1.7312;
        ac_newton_info info;
        cr_assert_eq(ac_tpg_wfin(s.S, s.R, NULL, Wfin, &gn, &info, NULL), AC_OK);
        cr_assert_eq(info.status, AC_NEWTON_CONVERGED);
        cr_assert_eq(gn, 0.0);
        cr_assert_eq(info.f, 0.0);
        for (int j = 0; j < s.d * s.d; j++)
            cr_assert_eq(Wfin[j], 0.0, "seed 29 case %d", c);
        setup_free(&s);
    }
    gsl_rng_free(r);
}

Test(tpg_loss, reduction_keeps_label_scc_positions_and_query)
{
    /* [c, a, b, k] labelled a and [b, a, k] labelled b: SCC {a, b} in
     * G^(k), c and k below it.  The reduced examples are [a, b] and [b, a]
     * with query k; dependent embeddings are reported as such. */
    int K = 4, a = 0, b = 1, cc = 2, k = 3;
    ac_tpg_data *D = ac_tpg_data_alloc(2, 7, K);
    int seq[7] = {cc, a, b, k, b, a, k};
    memcpy(D->tok, seq, sizeof seq);
    D->off[1] = 4, D->off[2] = 7, D->label[0] = a, D->label[1] = b;
    ac_tpg *G;
    ac_tpg_reduced *R;
    cr_assert_eq(ac_tpg_build(D, &G, NULL), AC_OK);
    cr_assert_eq(ac_tpg_reduce(G, D, &R, NULL), AC_OK);
    cr_assert_eq(R->data->n, 2);
    cr_assert_eq(R->data->off[1], 2);
    cr_assert_eq(R->data->off[2], 4);
    cr_assert_eq(R->data->tok[0], a);
    cr_assert_eq(R->data->tok[1], b);
    cr_assert_eq(R->data->tok[2], b);
    cr_assert_eq(R->data->tok[3], a);
    cr_assert_eq(R->last[0], k);
    cr_assert_eq(R->last[1], k);
    cr_assert_eq(R->src[1], 1);
    /* Rows e_a = e_b: the generator (e_a - e_b) e_k^T is 0. */
    double E[4 * 2] = {0.6, 0.8, 0.6, 0.8, 1.0, 0.0, 0.0, 1.0};
    ac_tpg_sfin *S = NULL;
    ac_msg msg;
    cr_assert_eq(ac_tpg_sfin_alloc(G, E, 2, &S, &msg), AC_ERANK);
    cr_assert_null(S);
    cr_assert(strstr(msg.text, "linearly dependent") != NULL, "%s", msg.text);
    /* Distinct, nearly collinear rows e_c = 2 e_b - e_a + 3e-7 (0, 1): with
     * SCC {a, b, c} the generators (e_b - e_a) e_k^T and (e_c - e_a) e_k^T
     * are parallel up to ~2e-7: the last pivot is ~1.4e-13 of ||B||^2, well
     * above rounding (the factor exists) and below the pivot test. */
    ac_tpg_data *D3 = ac_tpg_data_alloc(3, 12, K);
    int seq3[12] = {a, b, cc, k, b, cc, a, k, cc, a, b, k};
    memcpy(D3->tok, seq3, sizeof seq3);
    for (int i = 0; i < 3; i++)
        D3->off[i + 1] = 4 * (i + 1), D3->label[i] = seq3[4 * i];
    double E3[4 * 2] = {0.6, 0.8, 0.8, 0.6, 1.0, 0.4 + 3e-7, 0.0, 1.0};
    ac_tpg *G3;
    cr_assert_eq(ac_tpg_build(D3, &G3, NULL), AC_OK);
    cr_assert_eq(ac_tpg_sfin_alloc(G3, E3, 2, &S, &msg), AC_ERANK);
    cr_assert_null(S);
    ac_tpg_free(G3);
    ac_tpg_data_free(D3);
    ac_tpg_sfin_free(NULL);
    ac_tpg_reduced_free(NULL);
    ac_tpg_reduced_free(R);
    ac_tpg_free(G);
    ac_tpg_data_free(D);
}

/* ac_tpg_reduce refuses graphs that do not belong to the data, and data
 * that fail their check, with a sentence. */
Test(tpg_loss, reduce_refuses_mismatched_graphs_and_bad_data_with_a_sentence)
{
    int seq[7] = {2, 0, 1, 3, 1, 0, 3};
    ac_tpg_data *D = ac_tpg_data_alloc(2, 7, 4);
    memcpy(D->tok, seq, sizeof seq);
    D->off[1] = 4, D->off[2] = 7, D->label[0] = 0, D->label[1] = 1;
    ac_tpg *G;
    ac_tpg_reduced *R = (ac_tpg_reduced *)&R;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_tpg_build(D, &G, NULL), AC_OK);
    D->K = 5; /* another vocabulary */
    cr_assert_eq(ac_tpg_reduce(G, D, &R, &msg), AC_EINVAL);
    cr_assert_null(R);
    cr_assert(strstr(msg.text, "the graphs have K = 4 tokens, the data K = 5"), "%s", msg.text);
    D->K = 4;
    D->tok[6] = 2; /* example 1 now ends in 2, which has no graph */
    cr_assert_eq(ac_tpg_reduce(G, D, &R, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "example 1 ends in token 2, which has no graph"), "%s", msg.text);
    D->tok[6] = 4; /* outside the vocabulary: the data check speaks */
    cr_assert_eq(ac_tpg_reduce(G, D, &R, &msg), AC_EPARSE);
    cr_assert(strstr(msg.text, "token 4 at position 3 is outside the vocabulary of 4 tokens"), "%s", msg.text);
    D->tok[6] = 3;
    cr_assert_eq(ac_tpg_reduce(G, D, &R, &msg), AC_OK, "%s", msg.text);
    ac_tpg_reduced_free(R);
    ac_tpg_free(G);
    ac_tpg_data_free(D);
}

/* Soft composition (spec §3.3) against a direct softmax over the distinct
 * tokens of the top SCC present in the sequence, weighted by their counts:
 * p(j) = m_j exp(U[j,k]) / sum_j' m_j' exp(U[j',k]), j, j' in the top SCC.
 * Each p is a sum of at most TMAX terms of a max-shifted softmax: rounding
 * below 8 TMAX eps.  Refusals give zeros: len 0, top -1, a last token with
 * no graph, a component with no position in the sequence. */
Test(tpg_loss, soft_composition_is_the_softmax_over_the_top_scc)
{
    gsl_rng *r = ac_test_rng(4101);
    for (int cs = 0; cs < ac_test_cases(300); cs++) {
        int K = 1 + (int)gsl_rng_uniform_int(r, KMAX), n = 1 + (int)gsl_rng_uniform_int(r, 8);
        ac_tpg_data *D = random_data(r, n, K, TMAX, NULL);
        ac_tpg *G;
        cr_assert_eq(ac_tpg_build(D, &G, NULL), AC_OK);
        double U[KMAX * KMAX], p[KMAX], q[KMAX];
        random_matrix(r, U, K * K, 2.0);
        for (int i = 0; i < D->n; i++) {
            const int *tok = D->tok + D->off[i];
            int len = D->off[i + 1] - D->off[i], k = tok[len - 1], g = G->graph_of[k];
            int top = ac_tpg_top_scc(G, k, tok, len);
            cr_assert(top >= 0, "the label's SCC is the top (spec §2)");
            ac_tpg_soft_composition(G, U, tok, len, top, p);
            int cnt[KMAX] = {0};
            for (int t = 0; t < len; t++)
                cnt[tok[t]]++;
            double Z = 0.0;
            for (int j = 0; j < K; j++) {
                q[j] = cnt[j] && G->comp[g * K + j] == top ? cnt[j] * exp(U[j * K + k]) : 0.0;
                Z += q[j];
            }
            for (int j = 0; j < K; j++)
                cr_assert(fabs(p[j] - q[j] / Z) <= 8 * TMAX * DBL_EPSILON, "case %d ex %d token %d: %.17g vs %.17g",
                          cs, i, j, p[j], q[j] / Z);
            for (int j = 0; j < K; j++)
                p[j] = 1.0;
            ac_tpg_soft_composition(G, U, tok, 0, top, p);
            for (int j = 0; j < K; j++)
                cr_assert_eq(p[j], 0.0, "len 0");
            for (int j = 0; j < K; j++)
                p[j] = 1.0;
            ac_tpg_soft_composition(G, U, tok, len, -1, p);
            for (int j = 0; j < K; j++)
                cr_assert_eq(p[j], 0.0, "top -1");
            int absent = -1; /* a component of G^(k) with no position here */
            for (int c = 0; c < G->ncomp[g] && absent < 0; c++) {
                int any = 0;
                for (int t = 0; t < len; t++)
                    any |= G->comp[g * K + tok[t]] == c;
                if (!any)
                    absent = c;
            }
            if (absent >= 0) {
                ac_tpg_soft_composition(G, U, tok, len, absent, p);
                for (int j = 0; j < K; j++)
                    cr_assert_eq(p[j], 0.0, "no position in component %d", absent);
            }
        }
        ac_tpg_free(G);
        ac_tpg_data_free(D);
    }
    /* a sequence whose last token has no graph */
    int off[3] = {0, 2, 4}, tok[4] = {0, 1, 1, 0}, label[2] = {0, 1};
    ac_tpg_data *D = ac_tpg_data_alloc(2, 4, 3);
    memcpy(D->off, off, sizeof off), memcpy(D->tok, tok, sizeof tok), memcpy(D->label, label, sizeof label);
    ac_tpg *G;
    cr_assert_eq(ac_tpg_build(D, &G, NULL), AC_OK);
    double U[9] = {0.5, 1, 2, 3, 4, 5, 6, 7, 8}, p[3] = {1, 1, 1};
    int seq[2] = {0, 2}; /* 2 is never last */
    ac_tpg_soft_composition(G, U, seq, 2, 0, p);
    cr_assert(p[0] == 0.0 && p[1] == 0.0 && p[2] == 0.0);
    ac_tpg_free(G);
    ac_tpg_data_free(D);
    gsl_rng_free(r);
}

/* ac_tpg_sfin_alloc refuses NULL graphs or embeddings by name (it read
 * G->K and then E). */
Test(tpg_loss, sfin_refuses_null_inputs)
{
    gsl_rng *r = ac_test_rng(77);
    setup s;
    setup_random(&s, r, 3);
    ac_tpg_sfin *S = (ac_tpg_sfin *)&S;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_tpg_sfin_alloc(NULL, s.E, s.d, &S, &msg), AC_EINVAL);
    cr_assert_null(S);
    cr_assert_eq(ac_tpg_sfin_alloc(s.G, NULL, s.d, &S, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "NULL"), "%s", msg.text);
    setup_free(&s);
    gsl_rng_free(r);
}
