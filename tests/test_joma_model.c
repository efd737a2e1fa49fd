/* The JoMA transformer block and its data (verify/joma_model.h,
 * verify/joma_data.h): the §4.1 generators, the gradient against central
 * finite differences, one SGD step against theory/joma's joint gradient
 * flow (a second derivation of the same gradient), the trainer's steps,
 * endings and minibatches, and every invalid setting rejected. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"
#include "theory/joma.h"
#include "verify/joma_data.h"
#include "verify/joma_model.h"

/* ---- data ---- */

/* Rows of X sum to 1 (M rounded additions and one division: 2 M eps),
 * x >= 0, labels n, Y one-hot; the GAUSSIAN bump's ratios are exact up to
 * rounding (4 eps relative: two exp, two divisions); the same seed replays
 * bit for bit. */
Test(joma_data, synthetic_sets_are_normalised_and_replay_from_their_seed)
{
    gsl_rng *r = ac_test_rng(51);
    const int md[4] = {10, 3, 0, 1}, mc[4] = {10, 2, 1, 0}, Ks[4] = {20, 5, 1, 3};
    for (int c = 0; c < 4; c++)
        for (int kind = 0; kind < 2; kind++) {
            unsigned long seed = gsl_rng_get(r);
            gsl_rng *r1 = gsl_rng_alloc(gsl_rng_mt19937), *r2 = gsl_rng_alloc(gsl_rng_mt19937);
            gsl_rng_set(r1, seed);
            gsl_rng_set(r2, seed);
            ac_joma_data D, E;
            cr_assert_eq(ac_joma_data_synthetic(&D, (ac_joma_data_kind)kind, md[c], mc[c], Ks[c], r1, NULL), AC_OK);
            cr_assert_eq(ac_joma_data_synthetic(&E, (ac_joma_data_kind)kind, md[c], mc[c], Ks[c], r2, NULL), AC_OK);
            int M = md[c] + mc[c], K = Ks[c];
            cr_assert_eq(D.N, K);
            cr_assert_eq(D.M, M);
            cr_assert_eq(memcmp(D.X, E.X, sizeof(double) * (size_t)K * M), 0, "seed %lu does not replay", seed);
            for (int n = 0; n < K; n++) {
                double s = 0;
                for (int l = 0; l < M; l++) {
                    cr_assert(D.X[n * M + l] >= 0.0);
                    s += D.X[n * M + l];
                }
                cr_assert(fabs(s - 1.0) <= 2 * M * DBL_EPSILON, "case %d row %d sums to %.17g", c, n, s);
                cr_assert_eq(D.label[n], n);
                for (int k = 0; k < K; k++)
                    cr_assert_eq(D.Y[n * K + k], (double)(k == n));
                if (kind == AC_JOMA_DATA_GAUSSIAN)
                    for (int l = 1; l < md[c]; l++) {
                        double cc = (double)n / K * md[c];
                        double want = exp(-((l - cc) * (l - cc) - cc * cc) / AC_JOMA_DATA_GAUSS_WIDTH);
                        double got = D.X[n * M + l] / D.X[n * M];
                        cr_assert(fabs(got - want) <= 8 * DBL_EPSILON * want, "case %d n %d l %d: %g vs %g", c,
                                  n, l, got, want);
                    }
            }
            double bbar[32];
            ac_joma_data_mean(&D, bbar);
            double s = 0;
            for (int l = 0; l < M; l++)
                s += bbar[l];
            cr_assert(fabs(s - 1.0) <= 4 * M * DBL_EPSILON);
            ac_joma_data_clear(&D);
            ac_joma_data_clear(&E);
            gsl_rng_free(r1);
            gsl_rng_free(r2);
        }
    ac_joma_data D;
    ac_msg msg;
    cr_assert_eq(ac_joma_data_synthetic(&D, AC_JOMA_DATA_UNIFORM, 0, 0, 3, r, &msg), AC_EINVAL);
    cr_assert_eq(ac_joma_data_synthetic(&D, AC_JOMA_DATA_UNIFORM, -1, 4, 3, r, &msg), AC_EINVAL);
    cr_assert_eq(ac_joma_data_synthetic(&D, AC_JOMA_DATA_UNIFORM, 2, 2, 0, r, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "K = 0"), "%s", msg.text);
    cr_assert_eq(ac_joma_data_synthetic(&D, (ac_joma_data_kind)9, 2, 2, 3, r, &msg), AC_EINVAL);
    cr_assert_eq(ac_joma_data_synthetic(&D, AC_JOMA_DATA_UNIFORM, 2, 2, 3, NULL, &msg), AC_EINVAL);
    ac_joma_data_clear(&D);
    ac_joma_data_clear(NULL);
    gsl_rng_free(r);
}

/* ---- the model ---- */

/* d x (M+1) embeddings: orthonormal columns by Gram-Schmidt (twice, for
 * orthogonality to rounding) of a Gaussian matrix, or the raw Gaussian
 * matrix scaled by 1/sqrt(d) (not orthonormal: the gradient does not care). */
static void random_U(gsl_rng *r, int d, int M, int orthonormal, double *U)
{
    int C = M + 1;
    for (int i = 0; i < d * C; i++)
        U[i] = gsl_ran_gaussian(r, 1.0) / sqrt((double)d);
    if (!orthonormal)
        return;
    for (int j = 0; j < C; j++) {
        for (int pass = 0; pass < 2; pass++)
            for (int p = 0; p < j; p++) {
                double dot = 0;
                for (int i = 0; i < d; i++)
                    dot += U[i * C + p] * U[i * C + j];
                for (int i = 0; i < d; i++)
                    U[i * C + j] -= dot * U[i * C + p];
            }
        double nn = 0;
        for (int i = 0; i < d; i++)
            nn += U[i * C + j] * U[i * C + j];
        nn = sqrt(nn);
        for (int i = 0; i < d; i++)
            U[i * C + j] /= nn;
    }
}

/* A random data set of N samples (x > 0 normalised, labels in [0, K)). */
static void random_data(gsl_rng *r, ac_joma_data *D, int N, int M, int K)
{
    cr_assert_eq(ac_joma_data_init(D, N, M, K, NULL), AC_OK);
    for (int n = 0; n < N; n++) {
        double s = 0;
        for (int l = 0; l < M; l++)
            s += D->X[n * M + l] = 0.05 + gsl_rng_uniform(r);
        for (int l = 0; l < M; l++)
            D->X[n * M + l] /= s;
        D->label[n] = (int)gsl_rng_uniform_int(r, (unsigned long)K);
        D->Y[n * K + D->label[n]] = 1.0;
    }
}

/* Central differences at step h = 1e-5: truncation h^2/6 |L'''| <~ 2e-11
 * |L'''| (|L'''| <~ 1e2 here: T >= 0.7, weights O(1)) and rounding
 * eps |L| / h ~ 2e-11 |L| (L = O(1)), so 1e-7 (1 + |g|) leaves a factor
 * 100 and still catches any wrong term of the gradient (O(1e-2) or more).
 * Sizes from 1 up; identity and random (orthonormal or not) embeddings;
 * every attention, activation and loss; full batch and a subset with a
 * repeated index. */
Test(joma_model, gradient_matches_central_finite_differences)
{
    gsl_rng *r = ac_test_rng(52);
    const double h = 1e-5;
    for (int c = 0; c < ac_test_cases(36); c++) {
        int M = 1 + (int)gsl_rng_uniform_int(r, 4), K = 1 + (int)gsl_rng_uniform_int(r, 3);
        int N = 1 + (int)gsl_rng_uniform_int(r, 4);
        int uk = (c / 2) % 3; /* 0 identity, 1 orthonormal, 2 general */
        int d = M + 1 + (int)gsl_rng_uniform_int(r, 3);
        double U[8 * 6];
        if (uk)
            random_U(r, d, M, uk == 1, U);
        ac_joma_data D;
        random_data(r, &D, N, M, K);
        /* c in mixed radix: every (attention, activation, loss) in 18 cases */
        ac_joma_model m = {M, K, d, uk ? U : NULL, (ac_joma_attention)(c % 3),
                           (ac_joma_model_activation)((c / 3) % 3), (ac_joma_model_loss_kind)((c / 9) % 2),
                           0.7 + gsl_rng_uniform(r)};
        double z[4], W[8 * 3], gz[4], gW[8 * 3];
        ac_joma_model_init(r, &m, 0.8, z, W);
        int idx[3] = {N - 1, 0, N - 1};
        const int *ip = (c % 4 == 3) ? idx : NULL;
        int B = ip ? 3 : 0;
        double L = ac_joma_model_loss(&m, &D, ip, B, z, W, gz, gW);
        cr_assert(isfinite(L), "case %d: loss %g", c, L);
        double *par[2] = {z, W}, *gr[2] = {gz, gW};
        int np[2] = {M, d * K};
        for (int p = 0; p < 2; p++)
            for (int i = 0; i < np[p]; i++) {
                double keep = par[p][i];
                par[p][i] = keep + h;
                double Lp = ac_joma_model_loss(&m, &D, ip, B, z, W, NULL, NULL);
                par[p][i] = keep - h;
                double Lm = ac_joma_model_loss(&m, &D, ip, B, z, W, NULL, NULL);
                par[p][i] = keep;
                double fd = (Lp - Lm) / (2 * h);
                cr_assert(fabs(fd - gr[p][i]) <= 1e-7 * (1 + fabs(gr[p][i])),
                          "seed %lu case %d (%s, %s, %s, U %d) %s[%d]: analytic %.12g, fd %.12g",
                          ac_test_seed(52), c, ac_joma_attention_name(m.attention),
                          ac_joma_model_activation_name(m.activation), ac_joma_model_loss_name(m.loss), uk,
                          p ? "W" : "z", i, gr[p][i], fd);
            }
        ac_joma_data_clear(&D);
    }
    gsl_rng_free(r);
}

/* With orthonormal embeddings, T = 1, the SQUARED loss and the full batch,
 * the model is theory/joma's joint flow in the coordinates y = [z | V | q]
 * (V = U_C^T W, q = u_q^T W): one SGD step must move y by lr times
 * ac_joma_joint_rhs(y).  The step is read back through projections of d
 * rounded terms each (error <= d eps max|W| per entry, twice, over lr) and
 * the right-hand sides differ by rounding: tol = 4 d eps (1 + max|W|)/lr +
 * 64 eps (1 + |f|). */
Test(joma_model, one_sgd_step_is_the_theory_joint_flow_step)
{
    gsl_rng *r = ac_test_rng(53);
    for (int c = 0; c < ac_test_cases(12); c++) {
        int M = 1 + (int)gsl_rng_uniform_int(r, 4), K = 1 + (int)gsl_rng_uniform_int(r, 3);
        int N = 1 + (int)gsl_rng_uniform_int(r, 4), d = M + 1 + (int)gsl_rng_uniform_int(r, 3);
        double U[8 * 6];
        random_U(r, d, M, 1, U);
        ac_joma_data D;
        random_data(r, &D, N, M, K);
        ac_joma_attention att = (ac_joma_attention)(c % 3);
        int tanh_act = (c / 3) % 2;
        ac_joma_train_settings s;
        ac_joma_train_settings_default(&s);
        s.T = 1.0;
        s.loss = AC_JOMA_MODEL_LOSS_SQUARED;
        s.attention = att;
        s.activation = tanh_act ? AC_JOMA_MODEL_ACT_TANH : AC_JOMA_MODEL_ACT_IDENTITY;
        s.lr = 0.1;
        ac_joma_model shape = {M, K, d, U, att, s.activation, s.loss, 1.0};
        double z0[4], W0[8 * 3];
        ac_joma_model_init(r, &shape, 0.7, z0, W0);
        ac_joma_trainer *tr = ac_joma_trainer_alloc(N, M, K, d);
        cr_assert_eq(ac_joma_trainer_set(tr, &D, U, &s, z0, W0, NULL, NULL), AC_OK);
        int dim = M + K * M + K;
        double y0[4 + 12 + 3], y1[4 + 12 + 3], f[4 + 12 + 3];
        memcpy(y0, z0, sizeof(double) * (size_t)M);
        ac_joma_model_project(&shape, W0, y0 + M, y0 + M + K * M);
        cr_assert_eq(ac_joma_trainer_iterate(tr), AC_OK);
        memcpy(y1, ac_joma_trainer_z(tr), sizeof(double) * (size_t)M);
        ac_joma_model_project(&shape, ac_joma_trainer_W(tr), y1 + M, y1 + M + K * M);
        ac_joma_joint J = {M, K, N, att, tanh_act, D.X, D.Y, NULL};
        cr_assert_eq(ac_joma_joint_rhs(&J, 0.0, y0, f), 0);
        double wmax = 0;
        for (int i = 0; i < d * K; i++)
            wmax = fmax(wmax, fabs(W0[i]));
        for (int i = 0; i < dim; i++) {
            double step = (y1[i] - y0[i]) / s.lr;
            double tol = 4 * d * DBL_EPSILON * (1 + wmax) / s.lr + 64 * DBL_EPSILON * (1 + fabs(f[i]));
            cr_assert(fabs(step - f[i]) <= tol, "case %d (%s, tanh %d) y[%d]: step %.17g, flow %.17g", c,
                      ac_joma_attention_name(att), tanh_act, i, step, f[i]);
        }
        /* the joint loss is the model's loss */
        double L = ac_joma_model_loss(&shape, &D, NULL, 0, z0, W0, NULL, NULL);
        cr_assert(fabs(L - ac_joma_joint_loss(&J, y0)) <= 64 * DBL_EPSILON * (1 + L));
        ac_joma_trainer_free(tr);
        ac_joma_data_clear(&D);
    }
    gsl_rng_free(r);
}

/* The §4.1 run (Gaussian data, softmax T = 0.5, CE, lr 0.1, full batch),
 * shortened to 300 steps: each step is z -= lr gz, W -= lr gW with the
 * gradient of ac_joma_model_loss (bit for bit: the same code path), the
 * loss goes down, and the run ends at its step limit; the batch = N
 * minibatch is the full batch bit for bit, and a true minibatch replays
 * from its seed and differs from the full batch. */
Test(joma_model, trainer_steps_are_sgd_and_minibatches_replay)
{
    gsl_rng *r = ac_test_rng(54);
    ac_joma_data D;
    cr_assert_eq(ac_joma_data_synthetic(&D, AC_JOMA_DATA_GAUSSIAN, 10, 10, 20, r, NULL), AC_OK);
    const int M = 20, K = 20, d = 30;
    ac_joma_train_settings s;
    ac_joma_train_settings_default(&s);
    s.steps = 300;
    ac_joma_model shape = {M, K, d, NULL, s.attention, s.activation, s.loss, s.T};
    static double z0[20], W0[30 * 20], gz[20], gW[600], zc[20], Wc[600];
    ac_joma_model_init(r, &shape, AC_JOMA_TRAIN_INIT_SCALE_DEFAULT, z0, W0);
    ac_joma_trainer *tr = ac_joma_trainer_alloc(D.N, M, K, d);
    cr_assert_eq(ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, NULL, NULL), AC_OK);
    for (int it = 0; it < 5; it++) {
        memcpy(zc, ac_joma_trainer_z(tr), sizeof zc);
        memcpy(Wc, ac_joma_trainer_W(tr), sizeof Wc);
        double L = ac_joma_model_loss(ac_joma_trainer_model(tr), &D, NULL, 0, zc, Wc, gz, gW);
        ac_joma_trainer_iterate(tr);
        cr_assert_eq(ac_joma_trainer_info(tr)->loss, L);
        for (int l = 0; l < M; l++)
            cr_assert_eq(ac_joma_trainer_z(tr)[l], zc[l] - s.lr * gz[l]);
        for (int i = 0; i < d * K; i++)
            cr_assert_eq(ac_joma_trainer_W(tr)[i], Wc[i] - s.lr * gW[i]);
    }
    cr_assert_eq(ac_joma_trainer_run(tr, 100), AC_TRAIN_RUNNING);
    cr_assert_eq(ac_joma_trainer_info(tr)->steps, 100);
    cr_assert_eq(ac_joma_trainer_run(tr, 1000000), AC_TRAIN_STEP_LIMIT);
    const ac_train_info *in = ac_joma_trainer_info(tr);
    cr_assert_eq(in->steps, 300);
    cr_assert(in->loss < in->loss0, "loss %g -> %g", in->loss0, in->loss);
    /* the attention moved away from x: entropy changed */
    double H0 = ac_joma_model_entropy(&shape, &D, z0), H = ac_joma_model_entropy(&shape, &D, ac_joma_trainer_z(tr));
    cr_assert(H != H0);
    memcpy(zc, ac_joma_trainer_z(tr), sizeof zc);
    /* batch = N: the full batch */
    s.batch = D.N;
    gsl_rng *rb = gsl_rng_alloc(gsl_rng_mt19937);
    cr_assert_eq(ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, rb, NULL), AC_OK);
    ac_joma_trainer_run(tr, s.steps);
    cr_assert_eq(memcmp(zc, ac_joma_trainer_z(tr), sizeof zc), 0);
    /* a minibatch of 5 replays from its seed */
    s.batch = 5;
    double zm[20];
    for (int rep = 0; rep < 2; rep++) {
        gsl_rng_set(rb, 77);
        cr_assert_eq(ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, rb, NULL), AC_OK);
        cr_assert_eq(ac_joma_trainer_run(tr, s.steps), AC_TRAIN_STEP_LIMIT);
        if (rep == 0)
            memcpy(zm, ac_joma_trainer_z(tr), sizeof zm);
        else
            cr_assert_eq(memcmp(zm, ac_joma_trainer_z(tr), sizeof zm), 0);
    }
    cr_assert_neq(memcmp(zm, zc, sizeof zm), 0);
    /* ac_joma_train gives the trainer's result */
    s.batch = 0;
    double zt[20], Wt[600];
    ac_train_info info;
    cr_assert_eq(ac_joma_train(&D, NULL, d, &s, z0, W0, NULL, zt, Wt, &info, NULL), AC_OK);
    cr_assert_eq(memcmp(zt, zc, sizeof zt), 0);
    cr_assert_eq(info.outcome, AC_TRAIN_STEP_LIMIT);
    gsl_rng_free(rb);
    ac_joma_trainer_free(tr);
    ac_joma_data_clear(&D);
    gsl_rng_free(r);
}

/* z = 0 with softmax attention gives b = x: the entropy is the mean of
 * H(x^(n)); uniform x gives ln M exactly (up to M rounded terms). */
Test(joma_model, entropy_of_uniform_attention_is_log_m)
{
    for (int M = 1; M <= 7; M++) {
        ac_joma_data D;
        cr_assert_eq(ac_joma_data_init(&D, 2, M, 1, NULL), AC_OK);
        for (int i = 0; i < 2 * M; i++)
            D.X[i] = 1.0 / M;
        double z[7] = {0};
        for (int a = 0; a < 2; a++) {
            ac_joma_model m = {M, 1, M + 1, NULL, a ? AC_JOMA_ATT_EXP : AC_JOMA_ATT_SOFTMAX,
                               AC_JOMA_MODEL_ACT_IDENTITY, AC_JOMA_MODEL_LOSS_CE, 0.5};
            double H = ac_joma_model_entropy(&m, &D, z);
            cr_assert(fabs(H - log((double)M)) <= 4 * M * DBL_EPSILON, "M %d: %.17g", M, H);
        }
        ac_joma_data_clear(&D);
    }
}

/* EXP's p = b / sum b is softmax(ln x + z/T) (the header), so its entropy
 * is SOFTMAX's at the same z, to rounding, also where exp(z/T) is past
 * double range (z_0 / T = 800 > ln DBL_MAX = 709.8: the linear exp case's
 * blow-up, where inf / inf made it NaN) and where only part of the samples
 * overflow (sample 1 lacks token 0). */
Test(joma_model, exp_entropy_is_the_softmax_entropy_also_past_overflow)
{
    enum { M = 4 };
    ac_joma_data D;
    cr_assert_eq(ac_joma_data_init(&D, 2, M, 1, NULL), AC_OK);
    const double X[2 * M] = {0.4, 0.3, 0.2, 0.1, 0.0, 0.5, 0.25, 0.25};
    memcpy(D.X, X, sizeof X);
    const double z0[3] = {0.7, 400.0, 1000.0};
    for (int c = 0; c < 3; c++) {
        double z[M] = {z0[c], 0.1, -0.2, 0.3};
        ac_joma_model me = {M, 1, M + 1, NULL, AC_JOMA_ATT_EXP, AC_JOMA_MODEL_ACT_IDENTITY,
                            AC_JOMA_MODEL_LOSS_CE, 0.5};
        ac_joma_model ms = me;
        ms.attention = AC_JOMA_ATT_SOFTMAX;
        double He = ac_joma_model_entropy(&me, &D, z), Hs = ac_joma_model_entropy(&ms, &D, z);
        /* each entropy sums M terms p ln p with |ln p| <= |z|/T + ln(1/min x)
         * rounded relatively: 8 M eps (1 + that) bounds the difference */
        double tol = 8.0 * M * DBL_EPSILON * (1.0 + 2.0 * z0[c] + log(10.0));
        cr_assert(isfinite(He) && fabs(He - Hs) <= tol, "z_0 = %g: exp %.17g, softmax %.17g", z0[c], He, Hs);
    }
    /* a NaN logit, alone or beside an overflowing one, is no entropy on
     * either form (the overflow's fallback must not turn it finite) */
    for (int c = 0; c < 2; c++) {
        double z[M] = {c ? 1000.0 : NAN, 0.1, c ? NAN : -0.2, 0.3};
        for (int a = 0; a < 2; a++) {
            ac_joma_model m = {M, 1, M + 1, NULL, a ? AC_JOMA_ATT_EXP : AC_JOMA_ATT_SOFTMAX,
                               AC_JOMA_MODEL_ACT_IDENTITY, AC_JOMA_MODEL_LOSS_CE, 0.5};
            double H = ac_joma_model_entropy(&m, &D, z);
            cr_assert(isnan(H), "case %d, %s: entropy %g of a NaN logit", c, a ? "exp" : "softmax", H);
        }
    }
    ac_joma_data_clear(&D);
}

/* Endings: an EXP-attention run at a huge step diverges with a finite last
 * iterate; a grad_tol above the first gradient converges at step 0. */
Test(joma_model, divergence_and_convergence_are_outcomes)
{
    gsl_rng *r = ac_test_rng(55);
    ac_joma_data D;
    cr_assert_eq(ac_joma_data_synthetic(&D, AC_JOMA_DATA_UNIFORM, 3, 2, 4, r, NULL), AC_OK);
    int M = 5, K = 4, d = 6;
    ac_joma_train_settings s;
    ac_joma_train_settings_default(&s);
    s.attention = AC_JOMA_ATT_EXP;
    s.loss = AC_JOMA_MODEL_LOSS_SQUARED;
    s.lr = 1e6;
    ac_joma_model shape = {M, K, d, NULL, s.attention, s.activation, s.loss, s.T};
    double z0[5], W0[24];
    ac_joma_model_init(r, &shape, 1.0, z0, W0);
    ac_joma_trainer *tr = ac_joma_trainer_alloc(4, M, K, d);
    cr_assert_eq(ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, NULL, NULL), AC_OK);
    cr_assert_eq(ac_joma_trainer_run(tr, 1000), AC_TRAIN_DIVERGED);
    for (int l = 0; l < M; l++)
        cr_assert(isfinite(ac_joma_trainer_z(tr)[l]));
    for (int i = 0; i < d * K; i++)
        cr_assert(isfinite(ac_joma_trainer_W(tr)[i]));
    long st = ac_joma_trainer_info(tr)->steps;
    cr_assert_eq(ac_joma_trainer_iterate(tr), AC_OK); /* a no-op once ended */
    cr_assert_eq(ac_joma_trainer_info(tr)->steps, st);
    s.lr = 0.1;
    s.grad_tol = 1e300;
    cr_assert_eq(ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, NULL, NULL), AC_OK);
    cr_assert_eq(ac_joma_trainer_run(tr, 10), AC_TRAIN_CONVERGED);
    cr_assert_eq(ac_joma_trainer_info(tr)->steps, 0);
    ac_joma_trainer_free(tr);
    ac_joma_data_clear(&D);
    gsl_rng_free(r);
}

/* Every invalid setting is rejected with a sentence naming it, and so are
 * inputs that do not fit. */
Test(joma_model, invalid_settings_and_inputs_are_rejected)
{
    gsl_rng *r = ac_test_rng(56);
    ac_joma_data D;
    cr_assert_eq(ac_joma_data_synthetic(&D, AC_JOMA_DATA_UNIFORM, 2, 1, 3, r, NULL), AC_OK);
    int M = 3, K = 3, d = 4;
    double z0[3] = {0.1, -0.2, 0.3}, W0[12] = {0};
    ac_joma_trainer *tr = ac_joma_trainer_alloc(3, M, K, d);
    ac_msg msg;
    const char *name[9] = {"steps", "lr", "batch", "T", "attention", "activation", "loss", "grad_tol",
                           "diverge_factor"};
    for (int f = 0; f < 9; f++) {
        ac_joma_train_settings s;
        ac_joma_train_settings_default(&s);
        cr_assert_null(ac_joma_train_settings_check(&s));
        switch (f) {
        case 0: s.steps = 0; break;
        case 1: s.lr = INFINITY; break;
        case 2: s.batch = -1; break;
        case 3: s.T = -0.5; break;
        case 4: s.attention = (ac_joma_attention)5; break;
        case 5: s.activation = (ac_joma_model_activation)5; break;
        case 6: s.loss = (ac_joma_model_loss_kind)5; break;
        case 7: s.grad_tol = NAN; break;
        default: s.diverge_factor = 1.0; break;
        }
        const char *why = ac_joma_train_settings_check(&s);
        cr_assert_not_null(why, "setting %s accepted", name[f]);
        cr_assert(strstr(why, name[f]), "'%s' does not name %s", why, name[f]);
        cr_assert_eq(ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, NULL, &msg), AC_EINVAL);
        cr_assert_eq(ac_joma_trainer_iterate(tr), AC_EINVAL); /* unusable after a failed set */
    }
    {
        /* ... and it reports no outcome of the run before it (it said that
         * run's step limit) */
        ac_joma_train_settings s;
        ac_joma_train_settings_default(&s);
        s.steps = 2;
        cr_assert_eq(ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, NULL, &msg), AC_OK, "%s", msg.text);
        cr_assert_eq(ac_joma_trainer_run(tr, 10), AC_TRAIN_STEP_LIMIT);
        s.lr = -1.0;
        cr_assert_eq(ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, NULL, &msg), AC_EINVAL);
        cr_assert_eq(ac_joma_trainer_test(tr), AC_TRAIN_RUNNING, "the earlier run's %s survived a failed set",
                     ac_train_outcome_str(ac_joma_trainer_test(tr)));
        cr_assert_eq(ac_joma_trainer_info(tr)->steps, 0);
        cr_assert_eq(ac_joma_trainer_set(NULL, &D, NULL, &s, z0, W0, NULL, &msg), AC_EINVAL);
    }
    ac_joma_train_settings s;
    ac_joma_train_settings_default(&s);
    s.batch = 4;
    cr_assert_eq(ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, r, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "batch 4"), "%s", msg.text);
    s.batch = 2;
    cr_assert_eq(ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "random generator"), "%s", msg.text);
    s.batch = 0;
    z0[1] = NAN;
    cr_assert_eq(ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "z0[1]"), "%s", msg.text);
    z0[1] = 0.2;
    D.label[2] = 3;
    cr_assert_eq(ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "label 3"), "%s", msg.text);
    ac_joma_model m = {M, K, d, NULL, AC_JOMA_ATT_SOFTMAX, AC_JOMA_MODEL_ACT_IDENTITY, AC_JOMA_MODEL_LOSS_CE, 1.0};
    cr_assert(isnan(ac_joma_model_loss(&m, &D, NULL, 0, z0, W0, NULL, NULL)));
    D.label[2] = 2;
    int bad = 3;
    cr_assert(isnan(ac_joma_model_loss(&m, &D, &bad, 1, z0, W0, NULL, NULL)));
    ac_joma_trainer *small = ac_joma_trainer_alloc(3, M, K, M); /* d = M: no room for u_q */
    cr_assert_eq(ac_joma_trainer_set(small, &D, NULL, &s, z0, W0, NULL, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "d >= M + 1"), "%s", msg.text);
    ac_joma_trainer_free(small);
    ac_joma_trainer *other = ac_joma_trainer_alloc(2, M, K, d); /* too few samples */
    cr_assert_eq(ac_joma_trainer_set(other, &D, NULL, &s, z0, W0, NULL, &msg), AC_ESIZE);
    ac_joma_trainer_free(other);
    cr_assert_null(ac_joma_trainer_alloc(0, M, K, d));
    ac_joma_trainer_free(NULL);
    ac_joma_trainer_free(tr);
    ac_joma_data_clear(&D);
    gsl_rng_free(r);
}

/* SGD keeps the joint flow's quadratic invariants up to an exact per-step
 * term (orthonormal U; any activation, loss and step): with Dz = -lr gz,
 * Dv_k = -lr g_{v_k} and gz = (1/T) sum_k v_k o g_{v_k} (EXP), resp.
 * z o gz = sum_k v_k o g_{v_k} (LINEAR), expanding the squares gives
 *   EXP     I = z - (1/2T) sum_k v_k o v_k:  I' - I = -(1/2T) sum_k Dv_k o Dv_k
 *   LINEAR  I = z o z - sum_k v_k o v_k:     I' - I = Dz o Dz - sum_k Dv_k o Dv_k
 * so the invariant's drift under SGD is second order in lr per step.  Each
 * side is a difference of O(|z| + sum v^2) quantities read through
 * projections of d rounded terms: tol = (8 d + 16) eps times the sum of
 * the magnitudes of the terms on the left (both iterates).  Measured: the
 * misses stay below 3 % of tol while the second-order term is 1e6 to 1e11
 * times tol, so dropping it would fail at once. */
Test(joma_model, sgd_changes_the_invariants_by_exactly_the_second_order_term)
{
    gsl_rng *r = ac_test_rng(57);
    for (int c = 0; c < ac_test_cases(12); c++) {
        int M = 1 + (int)gsl_rng_uniform_int(r, 4), K = 1 + (int)gsl_rng_uniform_int(r, 3);
        int N = 1 + (int)gsl_rng_uniform_int(r, 4), d = M + 1 + (int)gsl_rng_uniform_int(r, 3);
        double U[8 * 6];
        random_U(r, d, M, 1, U);
        ac_joma_data D;
        random_data(r, &D, N, M, K);
        ac_joma_train_settings s;
        ac_joma_train_settings_default(&s);
        s.attention = c % 2 ? AC_JOMA_ATT_LINEAR : AC_JOMA_ATT_EXP;
        s.activation = (ac_joma_model_activation)((c / 2) % 3);
        s.loss = (ac_joma_model_loss_kind)((c / 6) % 2);
        s.T = 0.5 + gsl_rng_uniform(r);
        s.lr = 0.05 + 0.1 * gsl_rng_uniform(r);
        s.steps = 40;
        ac_joma_model shape = {M, K, d, U, s.attention, s.activation, s.loss, s.T};
        double z0[4], W0[8 * 3];
        ac_joma_model_init(r, &shape, 0.5, z0, W0);
        ac_joma_trainer *tr = ac_joma_trainer_alloc(N, M, K, d);
        cr_assert_eq(ac_joma_trainer_set(tr, &D, U, &s, z0, W0, NULL, NULL), AC_OK);
        double za[4], Va[12], zb[4], Vb[12];
        memcpy(za, z0, sizeof za);
        ac_joma_model_project(&shape, W0, Va, NULL);
        double drift = 0.0;
        for (int it = 0; it < s.steps; it++) {
            ac_joma_trainer_iterate(tr);
            cr_assert_eq(ac_joma_trainer_info(tr)->outcome == AC_TRAIN_DIVERGED, 0, "case %d diverged", c);
            memcpy(zb, ac_joma_trainer_z(tr), sizeof(double) * (size_t)M);
            ac_joma_model_project(&shape, ac_joma_trainer_W(tr), Vb, NULL);
            for (int l = 0; l < M; l++) {
                double sa = 0, sb = 0, sd = 0, dz = zb[l] - za[l];
                for (int k = 0; k < K; k++) {
                    sa += Va[k * M + l] * Va[k * M + l];
                    sb += Vb[k * M + l] * Vb[k * M + l];
                    sd += (Vb[k * M + l] - Va[k * M + l]) * (Vb[k * M + l] - Va[k * M + l]);
                }
                double dI, want, scale;
                if (s.attention == AC_JOMA_ATT_EXP) {
                    dI = (zb[l] - sb / (2 * s.T)) - (za[l] - sa / (2 * s.T));
                    want = -sd / (2 * s.T);
                    scale = 1 + fabs(za[l]) + fabs(zb[l]) + (sa + sb) / s.T;
                } else {
                    dI = (zb[l] * zb[l] - sb) - (za[l] * za[l] - sa);
                    want = dz * dz - sd;
                    scale = 1 + za[l] * za[l] + zb[l] * zb[l] + sa + sb;
                }
                double tol = (8 * d + 16) * DBL_EPSILON * scale;
                drift = fmax(drift, fabs(want));
                cr_assert(fabs(dI - want) <= tol, "case %d (%s) step %d l %d: dI %.17g, second-order term %.17g",
                          c, ac_joma_attention_name(s.attention), it, l, dI, want);
            }
            memcpy(za, zb, sizeof za);
            memcpy(Va, Vb, sizeof Va);
        }
        /* (ReLU units may all be dead, and CE over K = 1 class is 0: zero
         * gradient, nothing to test) */
        if (s.activation != AC_JOMA_MODEL_ACT_RELU && !(K == 1 && s.loss == AC_JOMA_MODEL_LOSS_CE))
            cr_assert(drift > 1e3 * DBL_EPSILON, "case %d: the second-order term %g is too small to test", c,
                      drift);
        ac_joma_trainer_free(tr);
        ac_joma_data_clear(&D);
    }
    gsl_rng_free(r);
}

/* ---- the batched step against a plain reference ---- */

/* The loss and gradient written plainly from the formulas of
 * verify/joma_model.h, one sample at a time, with the embeddings as an
 * explicit matrix (Ue: d x (M+1), the identity when the model's U is NULL)
 * and softmax(ln x + z/T) by log-sum-exp: the implementation the batched
 * DGEMM step replaced.  Beside each result it carries a running error
 * scale (the same chain with every term replaced by a bound on its size
 * and on the error it inherits, Wilkinson's |.| analysis), so that any
 * two correct evaluations of the same sums differ by at most a few times
 * n eps times that scale, n the longest sum of the chain. */
typedef struct {
    double loss, loss_s;  /* mean loss, its error scale */
    double *gz, *gz_s;    /* M */
    double *gW, *gW_s;    /* d x K */
} ref_grad;

static double ref_loss(const ac_joma_model *m, const double *Ue, const ac_joma_data *D, const int *idx, int B,
                       const double *z, const double *W, ref_grad *g)
{
    int M = m->M, K = m->K, d = m->d, C = M + 1;
    double *b = calloc((size_t)M, sizeof(double)), *bs = calloc((size_t)M, sizeof(double));
    double *f = calloc((size_t)d, sizeof(double)), *fs = calloc((size_t)d, sizeof(double));
    double *gf = calloc((size_t)d, sizeof(double)), *gfs = calloc((size_t)d, sizeof(double));
    double *h = calloc((size_t)K, sizeof(double)), *as = calloc((size_t)K, sizeof(double));
    double *dp = calloc((size_t)K, sizeof(double)), *dl = calloc((size_t)K, sizeof(double));
    double *dls = calloc((size_t)K, sizeof(double));
    double n = B + M + K + d, zmax = 0.0, T = m->T;
    for (int l = 0; l < M; l++)
        zmax = fmax(zmax, fabs(z[l]));
    memset(g->gz, 0, sizeof(double) * (size_t)M);
    memset(g->gz_s, 0, sizeof(double) * (size_t)M);
    memset(g->gW, 0, sizeof(double) * (size_t)d * K);
    memset(g->gW_s, 0, sizeof(double) * (size_t)d * K);
    g->loss = g->loss_s = 0.0;
    for (int j = 0; j < B; j++) {
        int nn = idx ? idx[j] : j, y = D->label[nn];
        const double *x = D->X + (size_t)nn * M;
        /* b: EXP x exp(z/T); SOFTMAX exp(ln x + z/T - lse); LINEAR x z.  The
         * arguments of exp are rounded to eps times |z|/T, |ln x| and |lse|,
         * which the scale carries as a relative error of that size over n. */
        double lse = 0.0, lxmax = 0.0;
        if (m->attention == AC_JOMA_ATT_SOFTMAX) {
            double mx = -HUGE_VAL, s = 0.0;
            for (int l = 0; l < M; l++)
                if (x[l] > 0.0) {
                    mx = fmax(mx, log(x[l]) + z[l] / T);
                    lxmax = fmax(lxmax, fabs(log(x[l])));
                }
            for (int l = 0; l < M; l++)
                if (x[l] > 0.0)
                    s += exp(log(x[l]) + z[l] / T - mx);
            lse = mx + log(s);
        }
        for (int l = 0; l < M; l++) {
            switch (m->attention) {
            case AC_JOMA_ATT_LINEAR: b[l] = x[l] * z[l]; break;
            case AC_JOMA_ATT_EXP: b[l] = x[l] * exp(z[l] / T); break;
            default: b[l] = x[l] > 0.0 ? exp(log(x[l]) + z[l] / T - lse) : 0.0; break;
            }
            bs[l] = fabs(b[l]) * (1.0 + (3.0 * zmax / T + 2.0 * lxmax + fabs(lse)) / n);
        }
        /* f = U_C b + u_q, a = W^T f, h = phi(a) */
        for (int i = 0; i < d; i++) {
            f[i] = Ue[i * C + M];
            fs[i] = fabs(Ue[i * C + M]);
            for (int l = 0; l < M; l++) {
                f[i] += Ue[i * C + l] * b[l];
                fs[i] += fabs(Ue[i * C + l]) * bs[l];
            }
        }
        double hmax = -HUGE_VAL, asmax = 0.0;
        for (int k = 0; k < K; k++) {
            double a = 0.0;
            as[k] = 0.0;
            for (int i = 0; i < d; i++) {
                a += W[i * K + k] * f[i];
                as[k] += fabs(W[i * K + k]) * fs[i];
            }
            asmax = fmax(asmax, as[k]);
            switch (m->activation) {
            case AC_JOMA_MODEL_ACT_TANH: h[k] = tanh(a); dp[k] = 1.0 - h[k] * h[k]; break;
            case AC_JOMA_MODEL_ACT_RELU: h[k] = a > 0.0 ? a : 0.0; dp[k] = a > 0.0; break;
            default: h[k] = a; dp[k] = 1.0; break;
            }
            hmax = fmax(hmax, h[k]);
        }
        /* loss and e = dl/dh; the scales add what the error of h (<= as)
         * moves them by: a softmax probability by at most 2 max as, tanh's
         * derivative by 2 as */
        double ls;
        if (m->loss == AC_JOMA_MODEL_LOSS_CE) {
            double se = 0.0;
            for (int k = 0; k < K; k++)
                se += exp(h[k] - hmax);
            double l2 = hmax + log(se);
            g->loss += l2 - h[y];
            ls = fabs(l2) + fabs(h[y]) + 2.0 * asmax + 1.0;
            for (int k = 0; k < K; k++) {
                double p = exp(h[k] - l2);
                dl[k] = p - (k == y);
                dls[k] = p + (k == y) + 2.0 * asmax;
            }
        } else if (m->loss == AC_JOMA_MODEL_LOSS_LINEAR) {
            g->loss += -h[y];
            ls = fabs(h[y]) + as[y];
            for (int k = 0; k < K; k++) {
                dl[k] = -(double)(k == y);
                dls[k] = (double)(k == y);
            }
        } else {
            ls = 0.0;
            for (int k = 0; k < K; k++) {
                dl[k] = h[k] - (k == y);
                g->loss += 0.5 * dl[k] * dl[k];
                ls += dl[k] * dl[k] + fabs(dl[k]) * as[k];
                dls[k] = fabs(h[k]) + 1.0 + as[k];
            }
        }
        g->loss_s += ls;
        /* delta_k = e_k phi'(a_k) / B */
        for (int k = 0; k < K; k++) {
            double dps = fabs(dp[k]) + (m->activation == AC_JOMA_MODEL_ACT_TANH ? 2.0 * as[k] : 0.0);
            dl[k] *= dp[k] / B;
            dls[k] *= dps / B;
        }
        /* dl/dw_k = delta_k f; gf = sum_k delta_k w_k; gb = U_C^T gf */
        for (int i = 0; i < d; i++) {
            gf[i] = gfs[i] = 0.0;
            for (int k = 0; k < K; k++) {
                g->gW[i * K + k] += dl[k] * f[i];
                g->gW_s[i * K + k] += dls[k] * fs[i];
                gf[i] += dl[k] * W[i * K + k];
                gfs[i] += dls[k] * fabs(W[i * K + k]);
            }
        }
        double gbb = 0.0, gbbs = 0.0, gbl[64], gbls[64];
        cr_assert(M <= 64);
        for (int l = 0; l < M; l++) {
            gbl[l] = gbls[l] = 0.0;
            for (int i = 0; i < d; i++) {
                gbl[l] += Ue[i * C + l] * gf[i];
                gbls[l] += fabs(Ue[i * C + l]) * gfs[i];
            }
            gbb += gbl[l] * b[l];
            gbbs += gbls[l] * bs[l];
        }
        /* dl/dz_l: EXP gb_l b_l / T; SOFTMAX b_l (gb_l - gb . b) / T; LINEAR gb_l x_l */
        for (int l = 0; l < M; l++) {
            switch (m->attention) {
            case AC_JOMA_ATT_LINEAR:
                g->gz[l] += gbl[l] * x[l];
                g->gz_s[l] += gbls[l] * x[l];
                break;
            case AC_JOMA_ATT_EXP:
                g->gz[l] += gbl[l] * b[l] / T;
                g->gz_s[l] += gbls[l] * bs[l] / T;
                break;
            default:
                g->gz[l] += b[l] * (gbl[l] - gbb) / T;
                g->gz_s[l] += bs[l] * (gbls[l] + gbbs) / T;
                break;
            }
        }
    }
    g->loss /= B;
    g->loss_s /= B;
    free(b), free(bs), free(f), free(fs), free(gf), free(gfs), free(h), free(as), free(dp), free(dl), free(dls);
    return g->loss;
}

/* Two evaluations of the same sums, each within n eps of the exact value
 * times the error scale (n the longest chain, B + M + K + d), with a few
 * more ulps per stage for exp, log, tanh and the divisions: 8 n eps
 * times the scale.  A wrong term moves an entry by a fraction of the
 * scale itself, 1e12 times more. */
#define REF_ULPS 8.0

static void assert_near(double got, double want, double scale, double n, const char *what, int i, int c)
{
    double tol = REF_ULPS * n * DBL_EPSILON * scale;
    cr_assert(fabs(got - want) <= tol, "case %d: %s[%d] = %.17g, reference %.17g (|diff| %.3g > tol %.3g)", c, what,
              i, got, want, fabs(got - want), tol);
}

/* Every attention, activation and loss, identity and random (not
 * orthonormal) embeddings, the full batch and a minibatch with a repeated
 * index, a token absent from a sample (x_l = 0): ac_joma_model_loss
 * equals the reference to rounding. */
Test(joma_model, batched_step_equals_the_plain_reference)
{
    gsl_rng *r = ac_test_rng(58);
    const int M = 5, K = 4, d = 8, N = 7, C = M + 1;
    ac_joma_data D;
    random_data(r, &D, N, M, K);
    D.X[2 * M + 1] = 0.0; /* a token missing from sample 2 */
    double Ue[8 * 6], Ur[8 * 6], z[5], W[8 * 4], gz[5], gW[32], rgz[5], rgzs[5], rgW[32], rgWs[32];
    ref_grad g = {0, 0, rgz, rgzs, rgW, rgWs};
    for (int i = 0; i < d * C; i++)
        Ue[i] = (i / C == i % C);
    random_U(r, d, M, 0, Ur);
    const int idx[4] = {3, 0, 3, 6};
    int c = 0;
    for (int att = 0; att < 3; att++)
        for (int act = 0; act < 3; act++)
            for (int loss = 0; loss < 3; loss++)
                for (int u = 0; u < 2; u++)
                    for (int mb = 0; mb < 2; mb++, c++) {
                        for (int l = 0; l < M; l++)
                            z[l] = gsl_ran_gaussian(r, 1.0);
                        for (int i = 0; i < d * K; i++)
                            W[i] = gsl_ran_gaussian(r, 1.0);
                        ac_joma_model m = {M, K, d, u ? Ur : NULL, (ac_joma_attention)att,
                                           (ac_joma_model_activation)act, (ac_joma_model_loss_kind)loss, 0.7};
                        int B = mb ? 4 : N;
                        const int *ix = mb ? idx : NULL;
                        double L = ac_joma_model_loss(&m, &D, ix, B, z, W, gz, gW);
                        double L0 = ac_joma_model_loss(&m, &D, ix, B, z, W, NULL, NULL);
                        ref_loss(&m, u ? Ur : Ue, &D, ix, B, z, W, &g);
                        double n = B + M + K + d;
                        cr_assert_eq(L, L0, "case %d: the loss without the gradient differs", c);
                        assert_near(L, g.loss, g.loss_s, n, "loss", 0, c);
                        for (int l = 0; l < M; l++)
                            assert_near(gz[l], rgz[l], rgzs[l], n, "gz", l, c);
                        for (int i = 0; i < d * K; i++)
                            assert_near(gW[i], rgW[i], rgWs[i], n, "gW", i, c);
                    }
    ac_joma_data_clear(&D);
    gsl_rng_free(r);
}

/* The trainer at the §4.1 setting (softmax, CE, identity U) and with
 * random U and squared loss: at each of 6 steps its loss is the
 * reference's at the iterate it starts from, and its step is lr times the
 * reference gradient (one more rounding of the subtraction: eps |w|). */
Test(joma_model, trainer_steps_follow_the_plain_reference)
{
    gsl_rng *r = ac_test_rng(59);
    const int M = 6, K = 3, d = 9, N = 5, C = M + 1, STEPS = 6;
    ac_joma_data D;
    random_data(r, &D, N, M, K);
    double Ue[9 * 7], Ur[9 * 7], z0[6], W0[27], zc[6], Wc[27], rgz[6], rgzs[6], rgW[27], rgWs[27];
    ref_grad g = {0, 0, rgz, rgzs, rgW, rgWs};
    for (int i = 0; i < d * C; i++)
        Ue[i] = (i / C == i % C);
    random_U(r, d, M, 0, Ur);
    ac_joma_trainer *tr = ac_joma_trainer_alloc(N, M, K, d);
    cr_assert(tr);
    for (int c = 0; c < 2; c++) {
        ac_joma_train_settings s;
        ac_joma_train_settings_default(&s);
        s.lr = 0.5; /* larger than the default: the iterates move visibly in 6 steps */
        if (c == 1) {
            s.loss = AC_JOMA_MODEL_LOSS_SQUARED;
            s.activation = AC_JOMA_MODEL_ACT_TANH;
        }
        for (int l = 0; l < M; l++)
            z0[l] = gsl_ran_gaussian(r, 0.5);
        for (int i = 0; i < d * K; i++)
            W0[i] = gsl_ran_gaussian(r, 0.5);
        cr_assert_eq(ac_joma_trainer_set(tr, &D, c ? Ur : NULL, &s, z0, W0, NULL, NULL), AC_OK);
        const ac_joma_model *m = ac_joma_trainer_model(tr);
        double n = N + M + K + d;
        for (int it = 0; it < STEPS; it++) {
            memcpy(zc, ac_joma_trainer_z(tr), sizeof zc);
            memcpy(Wc, ac_joma_trainer_W(tr), sizeof Wc);
            ref_loss(m, c ? Ur : Ue, &D, NULL, N, zc, Wc, &g);
            ac_joma_trainer_iterate(tr);
            cr_assert_eq(ac_joma_trainer_info(tr)->steps, it + 1);
            assert_near(ac_joma_trainer_info(tr)->loss, g.loss, g.loss_s, n, "loss", it, c);
            const double *z = ac_joma_trainer_z(tr), *W = ac_joma_trainer_W(tr);
            for (int l = 0; l < M; l++)
                assert_near(z[l], zc[l] - s.lr * rgz[l], s.lr * rgzs[l] + fabs(z[l]) / n, n, "z", l, c);
            for (int i = 0; i < d * K; i++)
                assert_near(W[i], Wc[i] - s.lr * rgW[i], s.lr * rgWs[i] + fabs(W[i]) / n, n, "W", i, c);
        }
        cr_assert(memcmp(zc, z0, sizeof zc) != 0);
    }
    ac_joma_trainer_free(tr);
    ac_joma_data_clear(&D);
    gsl_rng_free(r);
}

/* Softmax logits spread so far that the tokens of a sample all have
 * exp((z_l - max z)/T) below DBL_MIN (the batched step's shifted sum
 * underflows) or subnormal: the per-sample log-sum-exp fallback gives the
 * reference's attention, loss and gradient, all finite. */
Test(joma_model, softmax_with_far_spread_logits_equals_the_reference)
{
    gsl_rng *r = ac_test_rng(60);
    const int M = 4, K = 3, d = 5, N = 3, C = M + 1;
    ac_joma_data D;
    random_data(r, &D, N, M, K);
    /* sample 0 lacks token 0, whose logit is far above the rest */
    D.X[0] = 0.0;
    double Ue[5 * 5], W[15], gz[4], gW[15], rgz[4], rgzs[4], rgW[15], rgWs[15];
    ref_grad g = {0, 0, rgz, rgzs, rgW, rgWs};
    for (int i = 0; i < d * C; i++)
        Ue[i] = (i / C == i % C);
    for (int i = 0; i < d * K; i++)
        W[i] = gsl_ran_gaussian(r, 1.0);
    /* (z_0 - z_l) / T about 2000 (e^-2000 is 0 in double: the shifted sum
     * is 0), 720 (e^-720 ~ 1e-313, subnormal: the sum is below the
     * fallback's bound), 650 (e^-650 ~ 5e-283: above the bound, the
     * shifted formula with arguments rounded to 650 eps) and 10 (ordinary) */
    const double spread[4] = {1000.0, 360.0, 325.0, 5.0};
    for (int c = 0; c < 4; c++) {
        double z[4] = {spread[c], 0.1, -0.2, 0.3};
        ac_joma_model m = {M, K, d, NULL, AC_JOMA_ATT_SOFTMAX, AC_JOMA_MODEL_ACT_IDENTITY, AC_JOMA_MODEL_LOSS_CE, 0.5};
        double L = ac_joma_model_loss(&m, &D, NULL, 0, z, W, gz, gW);
        ref_loss(&m, Ue, &D, NULL, N, z, W, &g);
        cr_assert(isfinite(L) && isfinite(g.loss), "case %d: loss %g, reference %g", c, L, g.loss);
        double n = N + M + K + d;
        assert_near(L, g.loss, g.loss_s, n, "loss", 0, c);
        for (int l = 0; l < M; l++)
            assert_near(gz[l], rgz[l], rgzs[l], n, "gz", l, c);
        for (int i = 0; i < d * K; i++)
            assert_near(gW[i], rgW[i], rgWs[i], n, "gW", i, c);
        double H = ac_joma_model_entropy(&m, &D, z);
        cr_assert(isfinite(H), "case %d: entropy %g", c, H);
    }
    ac_joma_data_clear(&D);
    gsl_rng_free(r);
}
