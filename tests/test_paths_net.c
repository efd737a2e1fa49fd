/* The gradient-descent network of the attention-paths paper
 * (verify/paths_net.h): its backward pass against central differences, its
 * forward pass against the Gibbs sampler's (a separate code path), its
 * attention against the Markov task's, pruning identities, training. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "theory/paths.h"
#include "verify/paths_gibbs.h"
#include "verify/paths_net.h"
#include "verify/paths_task.h"

/* A small shape with unequal head counts, so that a mixed-up head or path
 * index shows. */
static ac_paths_net_shape small_shape(int readout)
{
    ac_paths_net_shape sh = {.L = 2, .H = {2, 3}, .n = 3, .N0 = 4, .ntok = 5, .G = 3,
                             .readout = readout};
    return sh;
}

static void random_data(gsl_rng *r, const ac_paths_net_shape *sh, int P, double *X, double *Y)
{
    for (size_t j = 0; j < (size_t)P * sh->N0 * sh->ntok; j++)
        X[j] = gsl_ran_gaussian(r, 1.0);
    for (int mu = 0; mu < P; mu++)
        Y[mu] = gsl_rng_uniform(r) < 0.5 ? -1.0 : 1.0;
}

/* Central differences with step FD_STEP: truncation error h^2 |f'''|/6 with
 * f''' of order 10 here (a few layers of products of O(1) entries and
 * softmaxes), 2e-10, plus rounding eps |f| / h, 2e-11; FD_TOL = 1e-6
 * (relative to max(1, |g|)) leaves a factor 1000 over both. */
#define FD_STEP 1e-5
#define FD_TOL 1e-6

static void check_gradient(const ac_paths_net_shape *sh, int learn_qk, unsigned long seed)
{
    gsl_rng *r = ac_test_rng(seed);
    int P = 3;
    size_t nt = ac_paths_net_size(sh);
    double *X = malloc(sizeof(double) * P * sh->N0 * sh->ntok), *Y = malloc(sizeof(double) * P);
    double *th = malloc(sizeof(double) * nt), *g = malloc(sizeof(double) * nt);
    random_data(r, sh, P, X, Y);
    ac_paths_net_init(sh, r, th);
    /* larger Q, K so that the softmaxes are far from uniform */
    for (size_t j = ac_paths_net_value_size(sh); j < nt; j++)
        th[j] *= 2.3;
    double loss, lp, lm;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_paths_net_loss(sh, th, learn_qk, P, X, Y, &loss, g, &msg), AC_OK, "%s", msg.text);
    size_t nchk = learn_qk ? nt : ac_paths_net_value_size(sh);
    for (size_t j = 0; j < nt; j++) {
        double keep = th[j];
        th[j] = keep + FD_STEP;
        ac_paths_net_loss(sh, th, learn_qk, P, X, Y, &lp, NULL, &msg);
        th[j] = keep - FD_STEP;
        ac_paths_net_loss(sh, th, learn_qk, P, X, Y, &lm, NULL, &msg);
        th[j] = keep;
        double fd = (lp - lm) / (2 * FD_STEP);
        if (j < nchk)
            cr_assert_leq(fabs(fd - g[j]), FD_TOL * fmax(1.0, fabs(g[j])),
                          "seed %lu entry %zu of %zu: analytic %.12g, differences %.12g", seed, j,
                          nt, g[j], fd);
        else
            cr_assert_eq(g[j], 0.0, "frozen Q/K entry %zu has gradient %g", j, g[j]);
    }
    free(X);
    free(Y);
    free(th);
    free(g);
    gsl_rng_free(r);
}

Test(paths_net, backward_pass_equals_central_differences)
{
    for (int c = 0; c < ac_test_cases(2); c++) {
        ac_paths_net_shape a = small_shape(AC_PATHS_NET_MEAN), b = small_shape(2);
        check_gradient(&a, 1, 11 + c);
        check_gradient(&b, 1, 21 + c);
        check_gradient(&b, 0, 31 + c);
        ac_paths_net_shape one = {.L = 1, .H = {2}, .n = 2, .N0 = 3, .ntok = 4, .G = 2,
                                  .readout = 3};
        check_gradient(&one, 1, 41 + c);
        ac_paths_net_shape three = {.L = 3, .H = {2, 1, 2}, .n = 2, .N0 = 3, .ntok = 3, .G = 2,
                                    .readout = AC_PATHS_NET_MEAN};
        check_gradient(&three, 1, 51 + c);
    }
}

/* The forward pass equals the Gibbs sampler's f at the same value weights,
 * with the sampler fed the theory's path tensor of the net's attention
 * (ac_paths_net_omega, ac_paths_phi): two code paths for one network.
 * Rounding: sums of <= 100 products of O(1) numbers, 1e-12 is x50 eps. */
Test(paths_net, forward_equals_the_gibbs_samplers_network)
{
    gsl_rng *r = ac_test_rng(5);
    ac_paths_net_shape sh = small_shape(AC_PATHS_NET_MEAN);
    int P = 4, nh = ac_paths_net_heads(&sh), np = ac_paths_net_paths(&sh);
    size_t nt = ac_paths_net_size(&sh);
    double *X = malloc(sizeof(double) * P * sh.N0 * sh.ntok), *Y = malloc(sizeof(double) * P);
    double *th = malloc(sizeof(double) * nt), f[4], fg[4], rd[5];
    double *Om = malloc(sizeof(double) * P * nh * sh.ntok * sh.ntok);
    double *Phi = malloc(sizeof(double) * P * sh.N0 * np);
    random_data(r, &sh, P, X, Y);
    ac_paths_net_init(&sh, r, th);
    ac_msg msg = {{0}};
    cr_assert_eq(ac_paths_net_predict(&sh, th, NULL, P, X, f, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_paths_net_omega(&sh, th, P, X, Om), AC_OK);
    ac_paths_gibbs_settings gs;
    ac_paths_gibbs_settings_default(&gs);
    ac_paths_net_theory_settings(&sh, sh.n, 0.5, &gs.net);
    gs.chains = 1;
    ac_paths_net_readout(&sh, rd);
    cr_assert_eq(ac_paths_phi(&gs.net, P, sh.N0, sh.ntok, X, Om, rd, Phi, &msg), AC_OK, "%s",
                 msg.text);
    cr_assert_eq(ac_paths_gibbs_state_size(&gs, sh.N0), ac_paths_net_value_size(&sh));
    ac_paths_gibbs *g = ac_paths_gibbs_alloc(&gs, P, 0, sh.N0);
    cr_assert_not_null(g);
    cr_assert_eq(ac_paths_gibbs_set(g, Phi, Y, NULL, r, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_paths_gibbs_set_state(g, 0, th, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_paths_gibbs_predict(g, 0, fg, NULL), AC_OK);
    for (int mu = 0; mu < P; mu++)
        cr_assert_float_eq(f[mu], fg[mu], 1e-12 * fmax(1.0, fabs(f[mu])), "example %d: %.17g vs %.17g",
                           mu, f[mu], fg[mu]);
    ac_paths_gibbs_free(g);
    free(X);
    free(Y);
    free(th);
    free(Om);
    free(Phi);
    gsl_rng_free(r);
}

/* The net's attention equals the Markov task's softmax of x_s^T W x_t
 * (ac_paths_markov_omega, a separate implementation at the task's sizes N0
 * = 231, ntok = 31) with W = ac_paths_net_head_w; and §4.1's hand-built heads
 * set by ac_paths_net_set_head_w give their W back.  Rounding: scores are
 * sums of 231^2 products of O(1) entries; 1e-12 on probabilities is far
 * above the ~1e-14 that leaves after the softmax. */
Test(paths_net, attention_is_the_softmax_of_the_heads_bilinear_form)
{
    gsl_rng *r = ac_test_rng(7);
    ac_paths_net_shape sh = {.L = 2, .H = {2, 2}, .n = 3, .N0 = AC_PATHS_MARKOV_N0,
                             .ntok = AC_PATHS_MARKOV_NTOK, .G = 5, .readout = AC_PATHS_MARKOV_SEQ};
    int nh = ac_paths_net_heads(&sh), nt2 = sh.ntok * sh.ntok, NN = sh.N0 * sh.N0;
    ac_paths_markov_settings ms;
    ac_paths_markov_settings_default(&ms);
    ms.per_class = 1;
    ac_paths_markov_data d;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_paths_markov_data_init(&d, &ms, &msg), AC_OK, "%s", msg.text);
    const double *X = d.X + (size_t)sh.N0 * sh.ntok; /* the class -1 example */
    double *th = malloc(sizeof(double) * ac_paths_net_size(&sh));
    double *W = malloc(sizeof(double) * nh * NN), *W2 = malloc(sizeof(double) * NN);
    double *Om = malloc(sizeof(double) * nh * nt2), *Om2 = malloc(sizeof(double) * nh * nt2);
    double *work = malloc(sizeof(double) * (sh.N0 * sh.ntok + sh.ntok));
    ac_paths_net_init(&sh, r, th);
    for (size_t j = ac_paths_net_value_size(&sh); j < ac_paths_net_size(&sh); j++)
        th[j] *= 0.5; /* scores of order a few over 231 features */
    for (int l = 1, k = 0; l <= sh.L; l++)
        for (int h = 0; h < sh.H[l - 1]; h++, k++)
            ac_paths_net_head_w(&sh, th, l, h, W + k * NN);
    cr_assert_eq(ac_paths_net_omega(&sh, th, 1, X, Om), AC_OK);
    ac_paths_markov_omega(nh, W, X, Om2, work);
    for (int j = 0; j < nh * nt2; j++)
        cr_assert_float_eq(Om[j], Om2[j], 1e-12, "entry %d: %.17g vs %.17g", j, Om[j], Om2[j]);
    /* §4.1's four heads as fixed heads (G = N0) */
    ac_paths_net_shape fx = sh;
    fx.G = fx.N0;
    double *thf = malloc(sizeof(double) * ac_paths_net_size(&fx));
    ac_paths_settings s;
    ac_paths_markov_head heads[AC_PATHS_MARKOV_MAX_HEADS];
    cr_assert_eq(ac_paths_markov_network(AC_PATHS_NET_FOUR_PATHS, 3, &s, heads), 4);
    ac_paths_net_init(&fx, r, thf);
    for (int l = 1, k = 0; l <= fx.L; l++)
        for (int h = 0; h < fx.H[l - 1]; h++, k++) {
            cr_assert_eq(ac_paths_markov_head_w(&heads[k], W + k * NN, &msg), AC_OK, "%s", msg.text);
            cr_assert_eq(ac_paths_net_set_head_w(&fx, l, h, W + k * NN, thf, &msg), AC_OK, "%s", msg.text);
            ac_paths_net_head_w(&fx, thf, l, h, W2);
            for (int j = 0; j < NN; j++)
                cr_assert_float_eq(W2[j], W[k * NN + j], 1e-14 * fmax(1.0, fabs(W2[j])), "head %d entry %d", k, j);
        }
    cr_assert_eq(ac_paths_net_omega(&fx, thf, 1, X, Om), AC_OK);
    ac_paths_markov_omega(nh, W, X, Om2, work);
    for (int j = 0; j < nh * nt2; j++)
        cr_assert_float_eq(Om[j], Om2[j], 1e-12, "markov head entry %d: %.17g vs %.17g", j, Om[j], Om2[j]);
    cr_assert_eq(ac_paths_net_set_head_w(&sh, 2, 1, W, th, &msg), AC_EINVAL);
    ac_paths_markov_data_clear(&d);
    free(th);
    free(thf);
    free(W);
    free(W2);
    free(Om);
    free(Om2);
    free(work);
    gsl_rng_free(r);
}

/* Pruning a head whose value weights are zero changes f only through the
 * rescaled head sum: f_pruned = f sqrt(H_l / (H_l - 1)) exactly (up to
 * rounding); keep all = keep NULL; pruning every head of a layer gives 0. */
Test(paths_net, pruning_a_silent_head_only_rescales_the_sum)
{
    gsl_rng *r = ac_test_rng(9);
    ac_paths_net_shape sh = small_shape(AC_PATHS_NET_MEAN);
    int P = 5, nh = ac_paths_net_heads(&sh);
    size_t nt = ac_paths_net_size(&sh);
    double *X = malloc(sizeof(double) * P * sh.N0 * sh.ntok), *Y = malloc(sizeof(double) * P);
    double *th = malloc(sizeof(double) * nt), f[5], fp[5], fa[5];
    random_data(r, &sh, P, X, Y);
    ac_paths_net_init(&sh, r, th);
    /* silence layer 2's head 1 (three heads there) */
    size_t vo = ac_paths_net_value_size(&sh) - (size_t)2 * sh.n * sh.n;
    memset(th + vo, 0, sizeof(double) * sh.n * sh.n);
    int keep[5] = {1, 1, 1, 1, 1};
    ac_msg msg = {{0}};
    ac_paths_net_predict(&sh, th, NULL, P, X, f, &msg);
    ac_paths_net_predict(&sh, th, keep, P, X, fa, &msg);
    keep[3] = 0;
    ac_paths_net_predict(&sh, th, keep, P, X, fp, &msg);
    for (int mu = 0; mu < P; mu++) {
        cr_assert_eq(fa[mu], f[mu]);
        cr_assert_float_eq(fp[mu], f[mu] * sqrt(3.0 / 2.0), 1e-12 * fmax(1.0, fabs(f[mu])),
                           "example %d", mu);
    }
    keep[0] = keep[1] = 0;
    ac_paths_net_predict(&sh, th, keep, P, X, fp, &msg);
    for (int mu = 0; mu < P; mu++)
        cr_assert_eq(fp[mu], 0.0);
    double acc0, acc[5];
    cr_assert_eq(ac_paths_net_prune_each(&sh, th, P, X, Y, &acc0, acc, &msg), AC_OK);
    /* the silent head costs nothing: the signs do not change */
    cr_assert_eq(acc[3], acc0);
    (void)nh;
    free(X);
    free(Y);
    free(th);
    gsl_rng_free(r);
}

/* A task the net can learn (the label is the sign of a fixed direction of
 * the mean token): Adam lowers the loss; frozen Q/K stay put; the run ends
 * at its step limit and reports it; bad settings are refused by name. */
Test(paths_net, adam_learns_and_reports_how_the_run_ended)
{
    gsl_rng *r = ac_test_rng(13);
    ac_paths_net_shape sh = {.L = 2, .H = {2, 2}, .n = 8, .N0 = 4, .ntok = 3, .G = 4,
                             .readout = AC_PATHS_NET_MEAN};
    int P = 64;
    size_t nt = ac_paths_net_size(&sh);
    double *X = malloc(sizeof(double) * P * sh.N0 * sh.ntok), *Y = malloc(sizeof(double) * P);
    double *th0 = malloc(sizeof(double) * nt), *th = malloc(sizeof(double) * nt);
    random_data(r, &sh, P, X, Y);
    for (int mu = 0; mu < P; mu++) {
        double s = 0;
        for (int t = 0; t < sh.ntok; t++)
            s += X[(size_t)mu * sh.N0 * sh.ntok + t] - 0.5 * X[(size_t)mu * sh.N0 * sh.ntok + sh.ntok + t];
        Y[mu] = s > 0 ? 1.0 : -1.0;
    }
    ac_paths_net_init(&sh, r, th0);
    ac_paths_net_train_settings set;
    ac_paths_net_train_settings_default(&set);
    set.steps = 300;
    set.batch = 16;
    set.lr = 1e-2;
    ac_train_info info;
    ac_msg msg = {{0}};
    double l0, l1;
    ac_paths_net_loss(&sh, th0, 1, P, X, Y, &l0, NULL, &msg);
    cr_assert_eq(ac_paths_net_train(&sh, P, X, Y, &set, th0, r, th, &info, &msg), AC_OK, "%s", msg.text);
    ac_paths_net_loss(&sh, th, 1, P, X, Y, &l1, NULL, &msg);
    cr_assert_eq(info.outcome, AC_TRAIN_STEP_LIMIT);
    cr_assert_eq(info.steps, 300);
    cr_assert_lt(l1, 0.5 * l0, "loss %g -> %g", l0, l1);
    double acc;
    ac_paths_net_accuracy(&sh, th, NULL, P, X, Y, &acc, &msg);
    cr_assert_gt(acc, 0.9, "training accuracy %g", acc);
    /* frozen attention: Q/K unchanged, the value weights move */
    set.learn_qk = 0;
    cr_assert_eq(ac_paths_net_train(&sh, P, X, Y, &set, th0, r, th, &info, &msg), AC_OK, "%s", msg.text);
    size_t nv = ac_paths_net_value_size(&sh);
    cr_assert_eq(memcmp(th + nv, th0 + nv, sizeof(double) * (nt - nv)), 0);
    cr_assert_neq(memcmp(th, th0, sizeof(double) * nv), 0);
    /* converged ending, theta not moved past it */
    set.loss_tol = 1e9;
    cr_assert_eq(ac_paths_net_train(&sh, P, X, Y, &set, th0, r, th, &info, &msg), AC_OK);
    cr_assert_eq(info.outcome, AC_TRAIN_CONVERGED);
    cr_assert_eq(info.steps, 0);
    /* refused settings and inputs */
    ac_paths_net_train_settings bad = set;
    bad.lr = -1;
    cr_assert_eq(ac_paths_net_train(&sh, P, X, Y, &bad, th0, r, th, &info, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "lr"), "%s", msg.text);
    bad = set;
    bad.beta2 = 1.0;
    cr_assert_not_null(ac_paths_net_train_settings_check(&bad));
    X[3] = NAN;
    cr_assert_eq(ac_paths_net_train(&sh, P, X, Y, &set, th0, r, th, &info, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "non-finite"), "%s", msg.text);
    ac_paths_net_shape bs = sh;
    bs.readout = 3;
    cr_assert_not_null(ac_paths_net_shape_check(&bs));
    cr_assert_null(ac_paths_net_trainer_alloc(&bs, 4));
    free(X);
    free(Y);
    free(th0);
    free(th);
    gsl_rng_free(r);
}

/* A huge step blows the loss up: the run ends diverged with the last finite
 * iterate kept. */
Test(paths_net, a_blown_up_run_ends_diverged)
{
    gsl_rng *r = ac_test_rng(17);
    ac_paths_net_shape sh = small_shape(AC_PATHS_NET_MEAN);
    int P = 8;
    size_t nt = ac_paths_net_size(&sh);
    double *X = malloc(sizeof(double) * P * sh.N0 * sh.ntok), *Y = malloc(sizeof(double) * P);
    double *th0 = malloc(sizeof(double) * nt);
    random_data(r, &sh, P, X, Y);
    ac_paths_net_init(&sh, r, th0);
    ac_paths_net_train_settings set;
    ac_paths_net_train_settings_default(&set);
    set.lr = 1e3;
    set.steps = 200;
    ac_paths_net_trainer *tr = ac_paths_net_trainer_alloc(&sh, P);
    ac_msg msg = {{0}};
    cr_assert_eq(ac_paths_net_trainer_set(tr, P, X, Y, &set, th0, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_paths_net_trainer_run(tr, r, set.steps), AC_TRAIN_DIVERGED);
    const double *th = ac_paths_net_trainer_theta(tr);
    for (size_t j = 0; j < nt; j++)
        cr_assert(isfinite(th[j]));
    cr_assert_lt(ac_paths_net_trainer_info(tr)->steps, set.steps);
    ac_paths_net_trainer_free(tr);
    free(X);
    free(Y);
    free(th0);
    gsl_rng_free(r);
}

/* Examples are processed in chunks (of 128): the loss and gradient over 130
 * examples equal the weighted sum of those over two halves done apart.
 * Rounding: sums of O(100) terms of O(1), 1e-12 relative. */
Test(paths_net, chunked_batches_give_the_same_loss_and_gradient)
{
    gsl_rng *r = ac_test_rng(19);
    ac_paths_net_shape sh = small_shape(AC_PATHS_NET_MEAN);
    int P = 130, h = 65;
    size_t nt = ac_paths_net_size(&sh), nx = (size_t)sh.N0 * sh.ntok;
    double *X = malloc(sizeof(double) * P * nx), *Y = malloc(sizeof(double) * P);
    double *th = malloc(sizeof(double) * nt), *g = malloc(sizeof(double) * nt);
    double *g1 = malloc(sizeof(double) * nt), *g2 = malloc(sizeof(double) * nt);
    random_data(r, &sh, P, X, Y);
    ac_paths_net_init(&sh, r, th);
    double l, l1, l2;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_paths_net_loss(&sh, th, 1, P, X, Y, &l, g, &msg), AC_OK);
    ac_paths_net_loss(&sh, th, 1, h, X, Y, &l1, g1, &msg);
    ac_paths_net_loss(&sh, th, 1, P - h, X + h * nx, Y + h, &l2, g2, &msg);
    cr_assert_float_eq(l, (h * l1 + (P - h) * l2) / P, 1e-12 * l);
    for (size_t j = 0; j < nt; j++) {
        double want = (h * g1[j] + (P - h) * g2[j]) / P;
        cr_assert_float_eq(g[j], want, 1e-12 * fmax(1e-3, fabs(want)), "entry %zu", j);
    }
    free(X);
    free(Y);
    free(th);
    free(g);
    free(g1);
    free(g2);
    gsl_rng_free(r);
}

/* Path inputs: the theory's Phi times sqrt(N0 H^L) gives the same f as the
 * inputs X (rounding of one scaling, 1e-12); training on path inputs equals
 * training with frozen Q/K on X bit for bit (same cached inputs, same
 * generator); prune_each on either agrees; learn_qk = 1 on path inputs is
 * refused. */
Test(paths_net, path_inputs_stand_for_the_frozen_attention)
{
    gsl_rng *r = ac_test_rng(23);
    ac_paths_net_shape sh = small_shape(4);
    int P = 12, nh = ac_paths_net_heads(&sh), np = ac_paths_net_paths(&sh);
    size_t nt = ac_paths_net_size(&sh);
    double *X = malloc(sizeof(double) * P * sh.N0 * sh.ntok), *Y = malloc(sizeof(double) * P);
    double *th = malloc(sizeof(double) * nt), *t1 = malloc(sizeof(double) * nt), *t2 = malloc(sizeof(double) * nt);
    double *Om = malloc(sizeof(double) * P * nh * sh.ntok * sh.ntok), rd[5];
    double *Phi = malloc(sizeof(double) * P * sh.N0 * np), *Xi = malloc(sizeof(double) * P * sh.N0 * np);
    double f[12], fp[12];
    random_data(r, &sh, P, X, Y);
    ac_paths_net_init(&sh, r, th);
    ac_msg msg = {{0}};
    ac_paths_settings s;
    ac_paths_net_theory_settings(&sh, 7, 0.3, &s);
    ac_paths_net_readout(&sh, rd);
    ac_paths_net_omega(&sh, th, P, X, Om);
    cr_assert_eq(ac_paths_phi(&s, P, sh.N0, sh.ntok, X, Om, rd, Phi, &msg), AC_OK, "%s", msg.text);
    for (int j = 0; j < P * sh.N0 * np; j++)
        Phi[j] *= sqrt((double)sh.N0 * np);
    ac_paths_net_predict(&sh, th, NULL, P, X, f, &msg);
    cr_assert_eq(ac_paths_net_predict_paths(&sh, th, NULL, P, Phi, fp, &msg), AC_OK);
    for (int mu = 0; mu < P; mu++)
        cr_assert_float_eq(fp[mu], f[mu], 1e-12 * fmax(1.0, fabs(f[mu])), "example %d", mu);
    cr_assert_eq(ac_paths_net_path_inputs(&sh, th, P, X, Xi), AC_OK);
    ac_paths_net_train_settings set;
    ac_paths_net_train_settings_default(&set);
    set.steps = 25;
    set.batch = 5;
    set.learn_qk = 0;
    ac_paths_net_trainer *tr = ac_paths_net_trainer_alloc(&sh, P);
    gsl_rng_set(r, 99);
    cr_assert_eq(ac_paths_net_trainer_set(tr, P, X, Y, &set, th, &msg), AC_OK, "%s", msg.text);
    ac_paths_net_trainer_run(tr, r, set.steps);
    memcpy(t1, ac_paths_net_trainer_theta(tr), sizeof(double) * nt);
    gsl_rng_set(r, 99);
    cr_assert_eq(ac_paths_net_trainer_set_paths(tr, P, Xi, Y, &set, th, &msg), AC_OK, "%s", msg.text);
    ac_paths_net_trainer_run(tr, r, set.steps);
    memcpy(t2, ac_paths_net_trainer_theta(tr), sizeof(double) * nt);
    cr_assert_eq(memcmp(t1, t2, sizeof(double) * nt), 0);
    double a0, a[5], b0, b[5];
    ac_paths_net_prune_each(&sh, t1, P, X, Y, &a0, a, &msg);
    ac_paths_net_prune_each_paths(&sh, t1, P, Xi, Y, &b0, b, &msg);
    cr_assert_eq(a0, b0);
    for (int k = 0; k < nh; k++)
        cr_assert_eq(a[k], b[k], "head %d", k);
    set.learn_qk = 1;
    cr_assert_eq(ac_paths_net_trainer_set_paths(tr, P, Xi, Y, &set, th, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "learn_qk"), "%s", msg.text);
    ac_paths_net_trainer_free(tr);
    free(X);
    free(Y);
    free(th);
    free(t1);
    free(t2);
    free(Om);
    free(Phi);
    free(Xi);
    gsl_rng_free(r);
}
