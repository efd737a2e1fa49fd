/* The gradient-descent network of the attention-paths module
 * (verify/paths_net.h) against a PyTorch float64 model of spec
 * attention_paths §4.2b's recipe (tests/paths_net_torch.py: written layer by
 * layer with tokens as rows and plain weights, as the authors' my_vit.py,
 * where the C code goes path by path with the fan-in scales pulled out of
 * theta): the same weights and batch on both sides give the same forward
 * output, loss, gradient of every weight block, and weights after a few Adam
 * steps (torch.optim.Adam on the plain weights against the trainer).  Debian's
 * python3-torch runs at test time; the test skips with a message when it is
 * absent. */
#include <criterion/criterion.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/testutil.h"
#include "verify/paths_net.h"

#define PYTHON "/usr/bin/python3"
/* The helper sits beside this file; the suite runs from the repository root,
 * where __FILE__ (tests/test_paths_net_torch.c) is relative to. */
#define HELPER "tests/paths_net_torch.py"

/* Examples in the batch, Adam steps and their step size.  lr is larger than
 * the recipe's 3e-3 so that three steps move every weight by far more than
 * the tolerance below (a step moves a plain weight by about lr). */
#define BATCH 6
#define ADAM_STEPS 3
#define ADAM_LR 0.05

/* Rounding tolerance.  Both sides evaluate the same sums in different orders
 * (BLAS blocks, path by path against layer by layer), so each compared number
 * is a chain of sums of products whose rounding error is at most
 * gamma_m sum |terms| <= m u sum |terms| (Higham, Accuracy and Stability,
 * Thm 3.5; u = DBL_EPSILON / 2) for each side, m the length of the longest
 * chain of dependent operations.  Forward: W = K^T Q / sqrt(G) (G), scores
 * (2 N0), softmax (ntok; exp and the division add 2 u relative, and an
 * absolute score error d moves a softmax entry by its value times 2 d), the L
 * attention products (ntok each), xi (ntok), V_0 (N0), each layer's head sum
 * (H_l n) and the readout (n); the backward pass runs the same chain back and
 * adds the batch sum (BATCH H^L columns), so
 *   m = 2 (G + 2 N0 + (L + 3) ntok + N0 + sum_l H_l n + n) + BATCH H^L + 16
 * covers both (16 for exp, divisions and square roots).  sum |terms| is not
 * the result: the sums cancel (f sums signed products of N(0, 1) weights).
 * We take it as CANCEL times the largest magnitude in the compared block.
 * Over 80 cases (AC_TEST_MULTIPLIER = 20) the largest |C - torch| / (m
 * DBL_EPSILON max|block|) seen is 1.3 (AC_TEST_VERBOSE=1 prints it), so
 * CANCEL = 100 leaves a factor 75; a modelling fault (a scale, a transposed
 * score, a head or path mixed up) moves these numbers by O(1) relative, some
 * 1e11 times the tolerance.  Both sides err, hence the tolerance
 * 2 m u CANCEL max|block| = m DBL_EPSILON CANCEL max|block|. */
#define CANCEL 100.0

/* Adam after the first gradient: an entry moves by lr mhat / (sqrt(vhat) +
 * eps), a ratio of a gradient average to its own root mean square.  A
 * relative error rho in the gradient entries moves that ratio by at most
 * 2 rho, and the bias corrections, square root and division add 8 u; over
 * ADAM_STEPS steps the plain weights differ by at most
 *   ADAM_STEPS lr (2 rho + 8 u) + 4 u |w|    (the final additions).
 * rho is the gradient's tolerance relative to the entry, which is small only
 * when the entry is not tiny against its block: the test asks every gradient
 * entry at every step to be at least GRAD_FLOOR of its block's largest (true
 * of these random draws; asserted on C's gradient before every step and on
 * torch's first), and with ADAM_STEPS <= 3 and the default betas the
 * Cauchy-Schwarz bound on sum_i w_i |g_i| / sqrt(sum_i w'_i g_i^2) (w, w' the
 * bias-corrected moment weights) is below 1, which gives the 2 rho; so
 * rho <= m DBL_EPSILON CANCEL / GRAD_FLOOR, about 2e-6 here, and the bound
 * about 1e-6: loose (the largest difference seen over 80 cases is 1.1e-11),
 * but far below the Adam steps' own size, about lr = 0.05 per entry. */
#define GRAD_FLOOR 1e-6

/* The helper's exit status when torch does not import. */
#define TORCH_MISSING 77

/* The longest chain of dependent roundings m of the tolerance comment. */
static double chain_length(const ac_paths_net_shape *sh)
{
    int hn = 0;
    for (int l = 0; l < sh->L; l++)
        hn += sh->H[l] * sh->n;
    return 2.0 * (sh->G + 2 * sh->N0 + (sh->L + 3) * sh->ntok + sh->N0 + hn + sh->n) +
           (double)BATCH * ac_paths_net_paths(sh) + 16.0;
}

static json_t *array_of(const double *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_real(v[i]));
    return a;
}

/* v (n entries) from the JSON array key of o; fails the test otherwise. */
static void read_array(const json_t *o, const char *key, double *v, size_t n)
{
    const json_t *a = json_object_get(o, key);
    cr_assert(json_is_array(a) && json_array_size(a) == n,
              "torch output: %s is not an array of %zu numbers", key, n);
    for (size_t i = 0; i < n; i++) {
        const json_t *x = json_array_get(a, i);
        cr_assert(json_is_number(x), "torch output: %s[%zu] is not a number", key, i);
        v[i] = json_number_value(x);
    }
}

/* One case's input object for the helper. */
static json_t *case_json(const ac_paths_net_shape *sh, const double *X, const double *Y,
                         const double *theta, const ac_paths_net_train_settings *set)
{
    json_t *H = json_array();
    for (int l = 0; l < sh->L; l++)
        json_array_append_new(H, json_integer(sh->H[l]));
    json_t *o = json_object();
    json_object_set_new(o, "L", json_integer(sh->L));
    json_object_set_new(o, "H", H);
    json_object_set_new(o, "n", json_integer(sh->n));
    json_object_set_new(o, "N0", json_integer(sh->N0));
    json_object_set_new(o, "ntok", json_integer(sh->ntok));
    json_object_set_new(o, "G", json_integer(sh->G));
    json_object_set_new(o, "readout", json_integer(sh->readout));
    json_object_set_new(o, "P", json_integer(BATCH));
    json_object_set_new(o, "X", array_of(X, (size_t)BATCH * sh->N0 * sh->ntok));
    json_object_set_new(o, "Y", array_of(Y, BATCH));
    json_object_set_new(o, "theta", array_of(theta, ac_paths_net_size(sh)));
    json_object_set_new(o, "lr", json_real(set->lr));
    json_object_set_new(o, "beta1", json_real(set->beta1));
    json_object_set_new(o, "beta2", json_real(set->beta2));
    json_object_set_new(o, "eps", json_real(set->adam_eps));
    json_object_set_new(o, "steps", json_integer(set->steps));
    return o;
}

/* Write {"cases": cases} (stolen) to a temporary file, run the helper on it
 * (one torch import for all cases: the import is most of the test's time)
 * and return its "cases" array (the caller decrefs), or NULL when torch does
 * not import; both files are removed. */
static json_t *torch_answers(json_t *cases)
{
    char in[] = "/tmp/ac_paths_net_torch_in_XXXXXX", out[] = "/tmp/ac_paths_net_torch_out_XXXXXX";
    int fi = mkstemp(in), fo = mkstemp(out);
    cr_assert(fi >= 0 && fo >= 0, "mkstemp failed");
    close(fi);
    close(fo);
    json_t *o = json_object();
    json_object_set_new(o, "cases", cases);
    /* 17 significant digits read back as the same double */
    int wr = json_dump_file(o, in, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(o);
    char cmd[512];
    snprintf(cmd, sizeof cmd, PYTHON " %s %s %s", HELPER, in, out);
    int rc = wr == 0 ? system(cmd) : -1;
    json_error_t err;
    json_t *ans = rc == 0 ? json_load_file(out, 0, &err) : NULL;
    remove(in);
    remove(out);
    cr_assert_eq(wr, 0, "cannot write %s", in);
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == TORCH_MISSING)
        return NULL;
    cr_assert_eq(rc, 0, "%s failed (status %d)", cmd, rc);
    cr_assert(ans, "torch output %s: %s", out, err.text);
    json_t *arr = json_incref(json_object_get(ans, "cases"));
    json_decref(ans);
    cr_assert(json_is_array(arr), "torch output: no cases array");
    return arr;
}

/* Largest |v| over n entries. */
static double max_abs(const double *v, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(v[i]));
    return m;
}

/* The plain weights of the recipe's model are w = c theta, c the scale of
 * theta's block (the helper's docstring); c per entry of theta into c. */
static void plain_scales(const ac_paths_net_shape *sh, double *c)
{
    size_t n = (size_t)sh->n, nv = ac_paths_net_value_size(sh), nt = ac_paths_net_size(sh);
    for (size_t i = 0; i < nt; i++)
        c[i] = i < n || i >= n + n * sh->N0 ? 1.0 / sqrt((double)sh->n)
                                             : 1.0 / sqrt((double)sh->N0);
    for (size_t i = nv; i < nt; i++)
        c[i] = 1.0;
}

/* Weight blocks of the cases' theta: a, V_0 and 3 per head (<= 6 heads). */
#define MAX_BLOCKS 20

/* Blocks of theta in its layout (verify/paths_net.h): a, V_0, each V_l^h,
 * each Q_l^h and K_l^h; their starts into off (blocks + 1 entries). */
static int blocks(const ac_paths_net_shape *sh, size_t *off, const char **name)
{
    size_t n = (size_t)sh->n, gq = (size_t)sh->G * sh->N0;
    int k = 0, nh = ac_paths_net_heads(sh);
    cr_assert_leq(2 + 3 * nh, MAX_BLOCKS, "%d heads: raise MAX_BLOCKS", nh);
    off[k] = 0, name[k++] = "a";
    off[k] = n, name[k++] = "V_0";
    for (int j = 0; j < nh; j++)
        off[k] = n + n * sh->N0 + (size_t)j * n * n, name[k++] = "V_l^h";
    for (int j = 0; j < nh; j++) {
        off[k] = ac_paths_net_value_size(sh) + (size_t)j * 2 * gq, name[k++] = "Q_l^h";
        off[k] = off[k - 1] + gq, name[k++] = "K_l^h";
    }
    off[k] = ac_paths_net_size(sh);
    return k;
}

/* |c - t| <= tol_rel max|t over the block| for each block of theta's layout;
 * returns the largest ratio |c - t| / (m DBL_EPSILON max|block|) seen. */
static double expect_blocks(const ac_paths_net_shape *sh, const double *c, const double *t,
                            double tol_rel, const char *what, unsigned long seed)
{
    size_t off[MAX_BLOCKS + 1];
    const char *name[MAX_BLOCKS];
    int nb = blocks(sh, off, name);
    double worst = 0.0, m = chain_length(sh);
    for (int b = 0; b < nb; b++) {
        double scale = max_abs(t + off[b], off[b + 1] - off[b]);
        for (size_t i = off[b]; i < off[b + 1]; i++) {
            double d = fabs(c[i] - t[i]);
            worst = fmax(worst, d / (m * DBL_EPSILON * scale));
            cr_expect(d <= tol_rel * scale,
                      "seed %lu, %s of %s, entry %zu of theta: C %.17g, torch %.17g "
                      "(|diff| %.3g > %.3g)",
                      seed, what, name[b], i, c[i], t[i], d, tol_rel * scale);
        }
    }
    return worst;
}

/* Every gradient entry at least GRAD_FLOOR of its block's largest (the
 * premise of the Adam tolerance). */
static void expect_floor(const ac_paths_net_shape *sh, const double *g, const char *what,
                         unsigned long seed)
{
    size_t off[MAX_BLOCKS + 1];
    const char *name[MAX_BLOCKS];
    int nb = blocks(sh, off, name);
    for (int b = 0; b < nb; b++) {
        double scale = max_abs(g + off[b], off[b + 1] - off[b]);
        for (size_t i = off[b]; i < off[b + 1]; i++)
            cr_assert_geq(fabs(g[i]), GRAD_FLOOR * scale,
                          "seed %lu, %s: gradient entry %zu of %s is %.3g, below %g of the "
                          "block's largest %.3g; the Adam tolerance needs it (draw another seed)",
                          seed, what, i, name[b], g[i], GRAD_FLOOR, scale);
    }
}

/* One case: its shape and seed, the batch and weights drawn from the seed,
 * and what the C side computes from them. */
typedef struct {
    ac_paths_net_shape sh;
    unsigned long seed;
    double X[BATCH * 64], Y[BATCH]; /* N0 ntok <= 64 in the cases below */
    double *th, *g, *after;         /* start, gradient there, after the Adam steps */
    double f[BATCH], loss;
    ac_paths_net_train_settings set;
} net_case;

/* Draw the batch and weights from cs->seed and run the C side on them. */
static void c_side(net_case *cs)
{
    const ac_paths_net_shape *sh = &cs->sh;
    cr_assert_leq(sh->N0 * sh->ntok, 64);
    gsl_rng *r = ac_test_rng(cs->seed);
    size_t nt = ac_paths_net_size(sh), nx = (size_t)BATCH * sh->N0 * sh->ntok;
    cs->th = malloc(sizeof(double) * nt);
    cs->g = malloc(sizeof(double) * nt);
    cs->after = malloc(sizeof(double) * nt);
    double *gs = malloc(sizeof(double) * nt);
    cr_assert(cs->th && cs->g && cs->after && gs);
    for (size_t j = 0; j < nx; j++)
        cs->X[j] = gsl_ran_gaussian(r, 1.0);
    for (int mu = 0; mu < BATCH; mu++)
        cs->Y[mu] = gsl_rng_uniform(r) < 0.5 ? -1.0 : 1.0;
    ac_paths_net_init(sh, r, cs->th);
    /* larger Q, K than the init's, so that the softmaxes are far from uniform
     * and a transposed score shows */
    for (size_t j = ac_paths_net_value_size(sh); j < nt; j++)
        cs->th[j] *= 2.3;

    ac_msg msg = {{0}};
    cr_assert_eq(ac_paths_net_predict(sh, cs->th, NULL, BATCH, cs->X, cs->f, &msg), AC_OK, "%s",
                 msg.text);
    cr_assert_eq(ac_paths_net_loss(sh, cs->th, 1, BATCH, cs->X, cs->Y, &cs->loss, cs->g, &msg),
                 AC_OK, "%s", msg.text);

    /* Adam on the whole batch (batch = P: the trainer's shuffle only permutes
     * the order of the batch sum), with a look at each step's gradient */
    ac_paths_net_train_settings_default(&cs->set);
    cs->set.steps = ADAM_STEPS;
    cs->set.batch = BATCH;
    cs->set.lr = ADAM_LR;
    ac_paths_net_trainer *tr = ac_paths_net_trainer_alloc(sh, BATCH);
    cr_assert(tr);
    cr_assert_eq(ac_paths_net_trainer_set(tr, BATCH, cs->X, cs->Y, &cs->set, cs->th, &msg), AC_OK,
                 "%s", msg.text);
    for (int s = 0; s < ADAM_STEPS; s++) {
        double ls;
        const double *cur = ac_paths_net_trainer_theta(tr);
        cr_assert_eq(ac_paths_net_loss(sh, cur, 1, BATCH, cs->X, cs->Y, &ls, gs, &msg), AC_OK);
        expect_floor(sh, gs, "C gradient before an Adam step", cs->seed);
        cr_assert_eq(ac_paths_net_trainer_iterate(tr, r), AC_OK);
    }
    cr_assert_eq(ac_paths_net_trainer_test(tr), AC_TRAIN_STEP_LIMIT, "Adam ended early: %s",
                 ac_train_outcome_str(ac_paths_net_trainer_test(tr)));
    memcpy(cs->after, ac_paths_net_trainer_theta(tr), sizeof(double) * nt);
    ac_paths_net_trainer_free(tr);
    free(gs);
    gsl_rng_free(r);
}

static void case_clear(net_case *cs)
{
    free(cs->th);
    free(cs->g);
    free(cs->after);
}

/* Compare the C side with torch's answer; returns the largest forward or
 * gradient error over m DBL_EPSILON max|block| (the CANCEL the case needed). */
static double compare_case(const net_case *cs, const json_t *ans)
{
    const ac_paths_net_shape *sh = &cs->sh;
    size_t nt = ac_paths_net_size(sh);
    double tf[BATCH], *tt = malloc(sizeof(double) * nt), *c = malloc(sizeof(double) * nt);
    double *cw = malloc(sizeof(double) * nt);
    cr_assert(tt && c && cw && json_is_object(ans), "torch output: a case is not an object");
    plain_scales(sh, c);
    read_array(ans, "f", tf, BATCH);
    const json_t *jl = json_object_get(ans, "loss");
    cr_assert(json_is_number(jl), "torch output: loss is not a number");
    double tl = json_number_value(jl);

    double m = chain_length(sh), tol = m * DBL_EPSILON * CANCEL, worst = 0.0;
    double fs = max_abs(tf, BATCH);
    for (int mu = 0; mu < BATCH; mu++) {
        worst = fmax(worst, fabs(cs->f[mu] - tf[mu]) / (m * DBL_EPSILON * fs));
        cr_expect(fabs(cs->f[mu] - tf[mu]) <= tol * fs, "seed %lu: f[%d]: C %.17g, torch %.17g",
                  cs->seed, mu, cs->f[mu], tf[mu]);
    }
    /* loss = mean (f - y)^2: the errors of f (at most tol max|f| each) move
     * it by at most 2 tol max|f| max|f - y|, plus its own sum (BATCH u) */
    double fy = 0.0;
    for (int mu = 0; mu < BATCH; mu++)
        fy = fmax(fy, fabs(tf[mu] - cs->Y[mu]));
    cr_expect(fabs(cs->loss - tl) <= 2.0 * tol * fs * fy + BATCH * DBL_EPSILON * tl,
              "seed %lu: loss: C %.17g, torch %.17g", cs->seed, cs->loss, tl);

    /* the gradient in the plain weights w = c theta is dL/dtheta / c (one
     * more rounding, inside the 16 of m's slack) */
    read_array(ans, "grad_w", tt, nt);
    expect_floor(sh, tt, "torch gradient", cs->seed);
    for (size_t i = 0; i < nt; i++)
        cw[i] = cs->g[i] / c[i];
    worst = fmax(worst, expect_blocks(sh, cw, tt, tol, "gradient", cs->seed));

    /* plain weights after ADAM_STEPS steps: ADAM_STEPS (lr (2 rho + 8 u) +
     * 4 u |w|) per entry, rho = tol / GRAD_FLOOR (the Adam comment above),
     * and 2 u |w| for C's w = c theta */
    read_array(ans, "w_after", tt, nt);
    double rho = tol / GRAD_FLOOR, moved = 0.0, most = 0.0, wdiff = 0.0;
    for (size_t i = 0; i < nt; i++) {
        double bound = ADAM_STEPS * ADAM_LR * (2.0 * rho + 4.0 * DBL_EPSILON) +
                       (2.0 * ADAM_STEPS + 1.0) * DBL_EPSILON * fabs(tt[i]);
        double w = c[i] * cs->after[i];
        most = fmax(most, bound);
        moved = fmax(moved, fabs(tt[i] - c[i] * cs->th[i]));
        wdiff = fmax(wdiff, fabs(w - tt[i]));
        cr_expect(fabs(w - tt[i]) <= bound,
                  "seed %lu: w[%zu] after %d Adam steps: C %.17g, torch %.17g (start %.17g)",
                  cs->seed, i, ADAM_STEPS, w, tt[i], c[i] * cs->th[i]);
    }
    /* the steps did move the weights, by far more than the bound */
    cr_expect_gt(moved, 100.0 * most, "seed %lu: Adam moved w by at most %g", cs->seed, moved);
    if (getenv("AC_TEST_VERBOSE"))
        fprintf(stderr, "seed %lu: weights after Adam differ by %.3g, bound %.3g\n", cs->seed,
                wdiff, most);
    free(tt);
    free(c);
    free(cw);
    return worst;
}

/* The cases: the recipe's form (L = 2, mean readout) with unequal head
 * counts and G != N0, so that a mixed-up head, path or Q/K index shows; and
 * three layers read at one token.  AC_TEST_MULTIPLIER scales the seeds of
 * each. */
Test(paths_net_torch, forward_loss_gradient_and_adam_match_torch, .timeout = 60)
{
    cr_assert_eq(access(HELPER, R_OK), 0,
                 "%s not found: run the suite from the repository root", HELPER);
    int per = ac_test_cases(2), nc = 2 * per;
    net_case *cs = calloc((size_t)nc, sizeof *cs);
    cr_assert(cs);
    json_t *in = json_array();
    for (int c = 0; c < nc; c++) {
        if (c < per)
            cs[c].sh = (ac_paths_net_shape){.L = 2, .H = {2, 3}, .n = 5, .N0 = 4, .ntok = 5,
                                            .G = 3, .readout = AC_PATHS_NET_MEAN};
        else
            cs[c].sh = (ac_paths_net_shape){.L = 3, .H = {2, 1, 3}, .n = 4, .N0 = 3, .ntok = 4,
                                            .G = 5, .readout = 2};
        cs[c].seed = 1100 + (unsigned long)c;
        c_side(&cs[c]);
        json_array_append_new(in, case_json(&cs[c].sh, cs[c].X, cs[c].Y, cs[c].th, &cs[c].set));
    }
    json_t *out = torch_answers(in);
    if (!out) {
        for (int c = 0; c < nc; c++)
            case_clear(&cs[c]);
        free(cs);
        cr_skip_test("python3-torch is not installed (" PYTHON " cannot import torch): "
                     "apt-get install -y python3-torch to run this check");
    }
    cr_assert_eq(json_array_size(out), (size_t)nc, "torch answered %zu of %d cases",
                 json_array_size(out), nc);
    double worst = 0.0;
    for (int c = 0; c < nc; c++) {
        worst = fmax(worst, compare_case(&cs[c], json_array_get(out, c)));
        case_clear(&cs[c]);
    }
    if (getenv("AC_TEST_VERBOSE"))
        fprintf(stderr, "paths_net_torch: largest error / (m eps max|block|) = %.3g\n", worst);
    json_decref(out);
    free(cs);
}
