/* The Markov task of spec attention_paths §4.1 (verify/paths_task.h): the
 * torch stream against torch itself (Debian python3-torch, run at test time;
 * the test skips with a message when it is absent), the data and head
 * layouts, the attention matrices, and the theory accuracy table against
 * §4.1's. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testutil.h"
#include "verify/paths_task.h"

#define N0 AC_PATHS_MARKOV_N0
#define NTOK AC_PATHS_MARKOV_NTOK
#define FEAT AC_PATHS_MARKOV_FEAT
#define PYTHON "/usr/bin/python3"

/* 1 when Debian's torch imports; the caller skips otherwise. */
static int have_torch(void)
{
    return system(PYTHON " -c 'import torch' >/dev/null 2>&1") == 0;
}

/* Run a python snippet that prints n numbers (repr), read them into v.
 * Returns how many were read. */
static int run_python(const char *code, double *v, int n)
{
    char path[] = "/tmp/ac_paths_task_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp failed");
    FILE *f = fdopen(fd, "w");
    fputs(code, f);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, PYTHON " %s", path);
    FILE *p = popen(cmd, "r");
    cr_assert(p, "popen %s failed", cmd);
    int k = 0;
    while (k < n && fscanf(p, "%lf", &v[k]) == 1)
        k++;
    pclose(p);
    remove(path);
    return k;
}

/* Torch and the C port must agree bit for bit: both compute the same double
 * operations (53-bit mask; log, cos, sin of glibc) in the same order; we
 * allow 4 ulp for a libm that rounds sin/cos differently from torch's. */
static void expect_close(const double *a, const double *b, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        cr_expect(fabs(a[i] - b[i]) <= 4 * DBL_EPSILON * fmax(1.0, fabs(b[i])),
                  "%s[%d]: C %.17g, torch %.17g", what, i, a[i], b[i]);
}

Test(paths_task, torch_stream_matches_torch_uniform_and_normal)
{
    if (!have_torch())
        cr_skip_test("python3-torch is not installed (" PYTHON " cannot import torch): "
                     "apt-get install -y python3-torch to run this check");
    /* seed 27: 5 uniforms, then randn(961) (not a multiple of 16: the tail
     * rule) and randn(32) (a multiple). */
    const char *code = "import torch\n"
                       "torch.manual_seed(27)\n"
                       "d = torch.float64\n"
                       "v = torch.rand(5, dtype=d).tolist()\n"
                       "v += torch.randn(961, dtype=d).tolist()\n"
                       "v += torch.randn(32, dtype=d).tolist()\n"
                       "print('\\n'.join(repr(x) for x in v))\n";
    enum { NU = 5, NA = 961, NB = 32, NT = NU + NA + NB };
    double want[NT], got[NT];
    cr_assert_eq(run_python(code, want, NT), NT, "torch printed fewer than %d numbers", NT);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 27);
    for (int i = 0; i < NU; i++)
        got[i] = ac_paths_torch_uniform(r);
    cr_assert_eq(ac_paths_torch_normal(r, NA, got + NU), AC_OK);
    cr_assert_eq(ac_paths_torch_normal(r, NB, got + NU + NA), AC_OK);
    cr_assert_eq(ac_paths_torch_normal(r, 15, got), AC_EINVAL, "n < 16 must be refused");
    gsl_rng_free(r);
    expect_close(got, want, NU, "rand");
    expect_close(got + NU, want + NU, NA, "randn(961)");
    expect_close(got + NU + NA, want + NU + NA, NB, "randn(32)");
}

Test(paths_task, random_head_and_noise_match_torch_recipe)
{
    if (!have_torch())
        cr_skip_test("python3-torch is not installed (" PYTHON " cannot import torch): "
                     "apt-get install -y python3-torch to run this check");
    /* The random head's draws (§4.1) and the first example's noise, computed
     * by torch: W entries at a feature, a position and both cross blocks. */
    const char *code =
        "import torch, math\n"
        "d = torch.float64\n"
        "torch.manual_seed(147)\n"
        "F = torch.randn(200, 200, dtype=d) / 200\n"
        "Q = torch.randn(31, 31, dtype=d)\n"
        "C = torch.randn(231, 231, dtype=d) / math.sqrt(200)\n"
        "v = [10 * F[3, 170].item(), 10 * Q[0, 30].item(), 10 * C[5, 210].item(),\n"
        "     10 * C[220, 199].item()]\n"
        "torch.manual_seed(27)\n"
        "u = torch.rand(100 * 30, dtype=d)\n"
        "n = torch.randn(100, 200, 30, dtype=d)\n"
        "v += [n[0, 7, 4].item(), n[99, 199, 29].item()]\n"
        "print('\\n'.join(repr(x) for x in v))\n";
    double want[6];
    cr_assert_eq(run_python(code, want, 6), 6);
    double *W = malloc(sizeof(double) * N0 * N0);
    ac_paths_markov_head h = {AC_PATHS_HEAD_RANDOM, 147};
    cr_assert_eq(ac_paths_markov_head_w(&h, W, NULL), AC_OK);
    double got[6] = {W[3 * N0 + 170], W[(FEAT + 0) * N0 + FEAT + 30], W[5 * N0 + 210],
                     W[220 * N0 + 199]};
    ac_paths_markov_settings s;
    ac_paths_markov_settings_default(&s);
    ac_paths_markov_data d;
    cr_assert_eq(ac_paths_markov_data_init(&d, &s, NULL), AC_OK);
    /* x = v_state + noise at (example, feature, token t) -> column t + 1;
     * remove v (its entries are 0 or sqrt 2, exact) to read the noise. */
    double x0 = d.X[(size_t)0 * N0 * NTOK + 7 * NTOK + 5];
    double x1 = d.X[(size_t)99 * N0 * NTOK + 199 * NTOK + 30];
    double vv[] = {0.0, sqrt(2.0)};
    double best0 = INFINITY, best1 = INFINITY;
    for (int k = 0; k < 2; k++) {
        if (fabs(x0 - vv[k] - want[4]) < fabs(best0 - want[4]))
            best0 = x0 - vv[k];
        if (fabs(x1 - vv[k] - want[5]) < fabs(best1 - want[5]))
            best1 = x1 - vv[k];
    }
    got[4] = best0, got[5] = best1;
    /* v is added to the noise, so x - v carries one rounding of |v| ~ 1.4. */
    for (int i = 0; i < 4; i++)
        cr_expect(fabs(got[i] - want[i]) <= 4 * DBL_EPSILON * fmax(1.0, fabs(want[i])),
                  "head W entry %d: C %.17g, torch %.17g", i, got[i], want[i]);
    for (int i = 4; i < 6; i++)
        cr_expect(fabs(got[i] - want[i]) <= 8 * DBL_EPSILON, "noise %d: C %.17g, torch %.17g",
                  i - 4, got[i], want[i]);
    free(W);
    ac_paths_markov_data_clear(&d);
}

Test(paths_task, data_layout_labels_bos_and_positions)
{
    ac_paths_markov_settings s;
    ac_paths_markov_settings_default(&s);
    s.per_class = 3;
    ac_paths_markov_data d;
    cr_assert_eq(ac_paths_markov_data_init(&d, &s, NULL), AC_OK);
    cr_assert_eq(d.P, 6);
    for (int mu = 0; mu < d.P; mu++) {
        const double *x = d.X + (size_t)mu * N0 * NTOK;
        cr_expect_eq(d.Y[mu], mu < 3 ? 1.0 : -1.0, "label order: class +1 block first");
        for (int i = 0; i < FEAT; i++)
            cr_expect_eq(x[i * NTOK + 0], 0.0, "BOS features must be zero");
        for (int p = 0; p < NTOK; p++)
            for (int t = 0; t < NTOK; t++)
                cr_expect_eq(x[(FEAT + p) * NTOK + t], p == t ? 1.0 : 0.0, "one-hot position");
    }
    /* sigma_perp only rescales the part outside span(v_+, v_-): the sum over
     * features and the half-difference of (x - v) stay as they were. */
    ac_paths_markov_settings s5 = s;
    s5.sigma_perp = 5.0;
    ac_paths_markov_data d5;
    cr_assert_eq(ac_paths_markov_data_init(&d5, &s5, NULL), AC_OK);
    for (int t = 1; t < NTOK; t++) {
        double a1 = 0, a2 = 0, b1 = 0, b2 = 0;
        for (int i = 0; i < FEAT; i++) {
            double sg = i < FEAT / 2 ? 1.0 : -1.0;
            a1 += d.X[i * NTOK + t], a2 += sg * d.X[i * NTOK + t];
            b1 += d5.X[i * NTOK + t], b2 += sg * d5.X[i * NTOK + t];
        }
        /* sums of 200 terms of size ~5: rounding below 1e-11 */
        cr_expect(fabs(a1 - b1) < 1e-11 && fabs(a2 - b2) < 1e-11, "in-plane noise changed at t=%d",
                  t);
    }
    ac_paths_markov_data_clear(&d);
    ac_paths_markov_data_clear(&d5);
    s.seed = 0;
    cr_expect_eq(ac_paths_markov_data_init(&d, &s, NULL), AC_EINVAL, "seed 0 must be refused");
    s.seed = 27, s.p_stay[1] = 1.5;
    cr_expect(ac_paths_markov_settings_check(&s) != NULL);
}

Test(paths_task, attention_columns_sum_to_one_and_good_head_attends_as_designed)
{
    ac_paths_settings s;
    ac_paths_markov_head heads[AC_PATHS_MARKOV_MAX_HEADS];
    int nh = ac_paths_markov_network(AC_PATHS_NET_FOUR_PATHS, 10.0, &s, heads);
    cr_assert_eq(nh, 4);
    ac_paths_markov_settings ms;
    ac_paths_markov_settings_default(&ms);
    ms.per_class = 2;
    ac_paths_markov_data d;
    cr_assert_eq(ac_paths_markov_data_init(&d, &ms, NULL), AC_OK);
    double *W = malloc(sizeof(double) * nh * N0 * N0);
    double *Om = malloc(sizeof(double) * nh * NTOK * NTOK);
    double *work = malloc(sizeof(double) * (N0 * NTOK + NTOK));
    for (int k = 0; k < nh; k++)
        cr_assert_eq(ac_paths_markov_head_w(&heads[k], W + (size_t)k * N0 * N0, NULL), AC_OK);
    for (int mu = 0; mu < d.P; mu++) {
        const double *x = d.X + (size_t)mu * N0 * NTOK;
        ac_paths_markov_omega(nh, W, x, Om, work);
        for (int k = 0; k < nh; k++)
            for (int t = 0; t < NTOK; t++) {
                double sum = 0.0;
                for (int s2 = 0; s2 < NTOK; s2++)
                    sum += Om[(k * NTOK + s2) * NTOK + t];
                /* 31 positive terms: rounding below 31 eps */
                cr_expect(fabs(sum - 1.0) < 31 * DBL_EPSILON, "head %d column %d sums to %.17g", k,
                          t, sum);
            }
        /* uniform head (layer 2, head 1): every entry 1/31 */
        for (int i = 0; i < NTOK * NTOK; i++)
            cr_expect(fabs(Om[2 * NTOK * NTOK + i] - 1.0 / NTOK) < 4 * DBL_EPSILON);
        /* good head: the BOS query sees equal scores (uniform); a real query
         * t >= 2 puts its largest weight on key t - 1 or on BOS. */
        for (int s2 = 0; s2 < NTOK; s2++)
            cr_expect(fabs(Om[s2 * NTOK + 0] - 1.0 / NTOK) < 4 * DBL_EPSILON);
        for (int t = 2; t < NTOK; t++) {
            int arg = 0;
            for (int s2 = 1; s2 < NTOK; s2++)
                if (Om[s2 * NTOK + t] > Om[arg * NTOK + t])
                    arg = s2;
            cr_expect(arg == 0 || arg == t - 1, "example %d query %d attends to key %d", mu, t,
                      arg);
        }
    }
    free(W);
    free(Om);
    free(work);
    ac_paths_markov_data_clear(&d);
}

/* The §4.1 table, four paths, sigma_perp = 1: the acceptance targets the
 * spec gives (authors' code, their seeds, 1000 test points, so each cell is
 * a count out of 1000 and must match exactly). */
Test(paths_task, accuracy_table_matches_spec_4_1)
{
    /* 16 solves of P = 100 and 1000 test points: some 50x slower under
     * valgrind than its 600 s allow; the same code runs there in the smaller
     * paths tests, and this table runs natively and under ASan */
    if (getenv("AC_UNDER_VALGRIND"))
        cr_skip_test("the full section 4.1 table is too slow under valgrind");
    static const double N[] = {10, 30, 50, 100, 300, 500, 1000};
    static const double want[] = {0.964, 0.961, 0.945, 0.911, 0.855, 0.840, 0.834};
    static const double want_gp = 0.826;
    enum { NN = sizeof N / sizeof N[0] };
    gsl_set_error_handler_off();
    ac_paths_markov_settings tr, te;
    ac_paths_markov_settings_default(&tr);
    te = tr;
    te.per_class = AC_PATHS_MARKOV_P_TEST / 2;
    te.seed = AC_PATHS_MARKOV_SEED_TEST;
    double acc[NN], gp;
    ac_paths_info info[NN];
    ac_msg msg = {{0}};
    ac_status st =
        ac_paths_markov_accuracy(AC_PATHS_NET_FOUR_PATHS, &tr, &te, NN, N, NULL, acc, info, &gp,
                                 &msg);
    cr_assert_eq(st, AC_OK, "%s", msg.text);
    for (int k = 0; k < NN; k++) {
        cr_expect_eq(info[k].min.status, AC_MIN_CONVERGED, "N = %g: solver did not converge",
                     N[k]);
        cr_expect_eq(lround(acc[k] * 1000), lround(want[k] * 1000), "N = %g: %.3f, spec %.3f",
                     N[k], acc[k], want[k]);
    }
    cr_expect_eq(lround(gp * 1000), lround(want_gp * 1000), "GP: %.3f, spec %.3f", gp, want_gp);
}

/* Fig. 2e of §4.1 (two paths, sigma_perp = 5) and the GP-limit reference
 * lines of Fig. 2c, each in its own network (§4.1: good path only 0.940 and
 * 0.924 at N = 1000; good + denoising 0.955): spec targets, counts out of
 * 1000, exact. */
Test(paths_task, fig2e_table_and_gp_lines_match_spec_4_1)
{
    /* 16 solves of P = 100 and 1000 test points: some 50x slower under
     * valgrind than its 600 s allow; the same code runs there in the smaller
     * paths tests, and this table runs natively and under ASan */
    if (getenv("AC_UNDER_VALGRIND"))
        cr_skip_test("the full section 4.1 table is too slow under valgrind");
    static const double N[] = {10, 30, 50, 100, 300, 500, 1000};
    static const double want[] = {0.957, 0.955, 0.954, 0.925, 0.881, 0.862, 0.857};
    enum { NN = sizeof N / sizeof N[0] };
    gsl_set_error_handler_off();
    ac_paths_markov_settings tr, te;
    ac_paths_markov_settings_default(&tr);
    te = tr;
    te.per_class = AC_PATHS_MARKOV_P_TEST / 2;
    te.seed = AC_PATHS_MARKOV_SEED_TEST;
    ac_paths_markov_settings tr5 = tr;
    tr5.sigma_perp = 5.0;
    double acc[NN], gp;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_paths_markov_accuracy(AC_PATHS_NET_FIG2E, &tr5, &te, NN, N, NULL, acc, NULL,
                                          &gp, &msg),
                 AC_OK, "%s", msg.text);
    for (int k = 0; k < NN; k++)
        cr_expect_eq(lround(acc[k] * 1000), lround(want[k] * 1000), "Fig. 2e N = %g: %.3f, spec %.3f",
                     N[k], acc[k], want[k]);
    cr_expect_eq(lround(gp * 1000), 843, "Fig. 2e GP: %.3f, spec 0.843", gp);
    double n1000 = 1000;
    cr_assert_eq(ac_paths_markov_accuracy(AC_PATHS_NET_GOOD_PATH, &tr, &te, 1, &n1000, NULL, acc,
                                          NULL, &gp, &msg),
                 AC_OK, "%s", msg.text);
    cr_expect_eq(lround(gp * 1000), 940, "good path GP: %.3f, spec 0.940", gp);
    cr_expect_eq(lround(acc[0] * 1000), 924, "good path N = 1000: %.3f, spec 0.924", acc[0]);
    cr_assert_eq(ac_paths_markov_accuracy(AC_PATHS_NET_GOOD_DENOISE, &tr, &te, 0, NULL, NULL, NULL,
                                          NULL, &gp, &msg),
                 AC_OK, "%s", msg.text);
    cr_expect_eq(lround(gp * 1000), 955, "good + denoising GP: %.3f, spec 0.955", gp);
}
