/* The gradient-descent network of the attention-paths module
 * (verify/paths_net.h) against a PyTorch float64 model of spec
 * attention_paths §4.2b's recipe (tests/paths_net_torch.py: written layer by
 * layer with tokens as rows and plain weights, as the authors' my_vit.py,
 * where the C code goes path by path with the fan-in scales pulled out of
 * theta).  The C trainer takes a few Adam steps; at the start of each, torch
 * is handed the trainer's own state (weights, Adam's moments, step count),
 * and from that same state both sides give the same forward output, loss,
 * gradient of every weight block, and, one Adam step later (torch.optim.Adam
 * on the plain weights against the trainer), the same moments and weights.
 * Debian's python3-torch runs at test time; the test skips with a message
 * when it is absent. */
#include <criterion/criterion.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "solvers/linalg.h"
#include "tests/testutil.h"
#include "verify/paths_net.h"

#define PYTHON "/usr/bin/python3"
/* The helper sits beside this file; the suite runs from the repository root,
 * where __FILE__ (tests/test_paths_net_torch.c) is relative to. */
#define HELPER "tests/paths_net_torch.py"

/* Examples in the batch, Adam steps and their step size.  lr is larger than
 * the recipe's 3e-3 so that every step moves every weight by far more than
 * the tolerance below (a step moves a plain weight by about lr). */
#define BATCH 6
#define ADAM_STEPS 3
#define ADAM_LR 0.05

/* Unit roundoff. */
#define U (DBL_EPSILON / 2)

/* Rounding tolerance of the model, derived per compared number (no typed
 * factor); it holds at every Adam step alike, since torch evaluates the
 * model at the C trainer's own weights of that step.  Both sides evaluate the
 * same multilinear expansion in different orders (BLAS blocks, path by path
 * against layer by layer).  In Higham's model (Accuracy and Stability,
 * §3.1-3.4; u = DBL_EPSILON / 2, gamma_k = ac_la_gamma(k)) a computed sum of
 * products is the exact sum with each term times 1 + theta, |theta| <=
 * gamma_k, k the roundings that term meets, so the error is at most gamma_k
 * times the sum of the terms' absolute values.  The test computes those sums
 * alongside, by its own loops over the absolute values of the weights and
 * inputs (abs_forward, abs_backward: every term of f, of its gradient and of
 * the softmax derivative, with the attention entries, which are positive, as
 * they are).  Per example:
 *   scores: |dS| <= gamma_kS Sabs, Sabs = |x|^T |K|^T |Q| |x| / sqrt(G), kS
 *     the score's roundings (score_steps), per side;
 *   softmax: a score error d moves Omega_st by at most 2 Omega_st max|d|;
 *     its own roundings (the max subtracted: u |S - max S|; exp within 1
 *     ulp, the ntok-term sum, the division: gamma_{ntok+3}) are relative;
 *     so each side's Omega is within eps_Om Omega of the exact one, and
 *     the two sides within 2 eps_Om Omega (omega_rel);
 *   f: each term carries L attention entries and meets at most kf
 *     roundings (value_steps), so |f_C - f_T| <= (gamma_kfC + gamma_kfT +
 *     2 L eps_Om) f_abs;
 *   loss = mean (f - y)^2: (2/B) sum |f - y| df + 2 gamma_{B+3} loss;
 *   gradient: dL/dtheta = (2/B) sum_b (f_b - y_b) df_b/dtheta, each term
 *     with at most L + 1 attention entries (the softmax derivative adds one)
 *     and the backward pass's roundings (grad_steps): the bound is the
 *     absolute backward pass seeded with (2/B) [(gamma_kgC + gamma_kgT +
 *     2 (L + 1) eps_Om) |f_b - y_b| + df_b] for example b, plus u |g| for
 *     the division by the plain scale c.  It bounds the C gradient in any
 *     order of the batch sum, so the trainer's (its batch shuffled) too.
 * First order in u (O(u^2) terms dropped).  The step counts below are
 * upper counts of both routes (verify/paths_net.c, tests/paths_net_torch.py).
 * A modelling fault (a scale, a transposed score, a head or path mixed up)
 * moves these numbers by O(1) relative, some 1e12 times the bounds.
 * Measured (AC_TEST_VERBOSE=1 prints it), over the three steps: the largest
 * |C - torch| is 9.7e-5 of its bound over the 4 default cases and 2.1e-4
 * over 80 (AC_TEST_MULTIPLIER=20): worst-case bounds against rounding errors
 * that mostly cancel, yet a relative 1e-10 planted in one scale (c_a, or the
 * score's 1/sqrt(G)) fails them. */

/* One Adam step from a common state.  Torch is given the trainer's weights
 * theta_k, moments m_k, v_k and step count k at the start of step k + 1
 * (converted to the plain weights: w = c theta, m / c, v / c^2; 1, 1 and 2
 * roundings), so the two sides differ there only by those conversions, and
 * nothing carries from one step to the next: each step is compared on its
 * own, with no assumption on how errors propagate.  Both take, with t = k + 1,
 *   m' = b1 m + (1 - b1) g,  v' = b2 v + (1 - b2) g^2,
 *   w' = w - lr R(m', v'),   R(m, v) = (m / c1) / (sqrt(v / c2) + eps),
 *   c1 = 1 - b1^t, c2 = 1 - b2^t
 * (the C side in theta units, lr / c and c eps, the same in exact
 * arithmetic), from gradients g_C, g_T within e = the model's derived
 * gradient bound of each other.  So, in the plain weights, with |g| <=
 * |g_T| + e:
 *   moments: |m'_C - m'_T| <= dm = (1 - b1) e + (2 gamma_2 + 2u) (b1 |m| +
 *     (1 - b1) |g|)  (each side's two products and sum, gamma_2 a term;
 *     torch's m / c and the test's own, u each);
 *     |v'_C - v'_T| <= dv = (1 - b2) e (2 |g_T| + e) + (2 gamma_3 + 4u) (b2 v
 *     + (1 - b2) g^2)  (g^2 (1 - b2) two products, then the sum: gamma_3;
 *     v / c^2 two divisions, on each of torch's input and the test's own);
 *   step: both sides' moments lie in the box [m'_C +- dm] x [max(0, v'_C -
 *     dv), v'_C + dv], and R rises with m and, at fixed m, falls in |R| as v
 *     grows, so its exact values on the box lie in [Rmin, Rmax], two corners
 *     (adam_box): this is exact in the gradient error, no relative-error
 *     expansion and no sign condition on g.  Each side's own rounding of R
 *     is relative: the bias corrections (1 - pow(b, t): pow within 1 ulp,
 *     2u b^t, and the subtraction u, so relative u (2 b^t / (1 - b^t) + 1),
 *     bias_rel; c2's under the square root counts half), and at most 8
 *     further roundings (C: lr / c, m / c1, v / c2, sqrt, c eps, the sum,
 *     the division, the product; torch: lr / c1, sqrt(c2), sqrt(v), the
 *     division by it, + eps, m / denom, times the step size); the box's own
 *     two corners, computed here, the same again; so
 *       |w'_C - w'_T| <= lr (Rmax - Rmin + 4 (bias_rel(b1) + bias_rel(b2) / 2
 *       + 8u) max(|Rmin|, |Rmax|)) + u (|w| + 3 |w'|)
 *     the last for w = c theta on torch's side, the C side's subtraction and
 *     w' = c theta', and torch's addition.
 * First order in u, as above.  Measured: the moments use 7.3e-4 of their
 * bounds over the default cases and 0.11 over 80 (entries with a gradient
 * near 0, where a few ulp of v' meet the 10 u of the rounding part), the
 * weights 1.6e-4 and 1.9e-3; an Adam fault (c2 from b1, eps under the
 * square root, c1 one step off from step 2 on, a relative 1e-10 in lr) fails
 * them at the steps it touches. */

/* The helper's exit status when torch does not import. */
#define TORCH_MISSING 77

/* One case: its shape and seed, the batch and weights drawn from the seed,
 * and the C trainer's states. */
typedef struct {
    ac_paths_net_shape sh;
    unsigned long seed;
    double X[BATCH * 64], Y[BATCH]; /* N0 ntok <= 64 in the cases below */
    ac_paths_net_train_settings set;
    /* the trainer's theta and Adam moments (theta units) at the start of
     * step k + 1 (k = 0..ADAM_STEPS - 1) and after the last (k = ADAM_STEPS) */
    double *th[ADAM_STEPS + 1], *m[ADAM_STEPS + 1], *v[ADAM_STEPS + 1];
    /* C's f, loss and gradient at th[k] (ac_paths_net_predict, _loss) */
    double f[ADAM_STEPS][BATCH], loss[ADAM_STEPS], *g[ADAM_STEPS];
} net_case;

/* Roundings of one score S[s, t]: C forms W = K^T Q (G terms) times
 * 1/sqrt(G) (3 with the scale's own square root and division), then x^T W x
 * (two N0-term sums); torch q and k (N0 each), q . k (G) and / sqrt(G) (2). */
static double score_steps(const ac_paths_net_shape *sh, int torch)
{
    return torch ? sh->G + 2.0 * sh->N0 + 2.0 : sh->G + 3.0 + 2.0 * sh->N0;
}

/* Roundings a term of f meets.  C: the suffix products and x (L + 1
 * ntok-term sums), V_0 (N0 terms, its scale 3), each layer's dgemm (n
 * terms, c_l and its forming 4) accumulated over H_l heads, the readout (n
 * terms, c_a 3).  torch: V_0 (N0, its scale 3), per layer z V^T (n, V's scale
 * 3), A @ (ntok), the head sum (H_l) and / sqrt(H_l) (2), the readout's mean
 * (ntok + 1) and . a (n, a's scale 3). */
static double value_steps(const ac_paths_net_shape *sh, int torch)
{
    double m = torch ? sh->N0 + 3.0 + sh->ntok + 1.0 + sh->n + 3.0
                     : (sh->L + 1.0) * sh->ntok + sh->N0 + 3.0 + sh->n + 3.0;
    for (int l = 0; l < sh->L; l++)
        m += torch ? sh->n + 3.0 + sh->ntok + sh->H[l] + 2.0 : sh->n + 4.0 + sh->H[l];
    return m;
}

/* Roundings a gradient term meets: a term of f's (value_steps), the loss
 * derivative 2 (f - y) / B (2), the batch sum (C: H^L B columns for V_0,
 * fewer for the others; torch: B ntok rows), and for Q and K the softmax
 * derivative (an ntok-term dot, a subtraction, a product: ntok + 2), x dS
 * x^T (2 ntok), K dW or Q dW^T (N0; torch: its G-term q k^T backward and the
 * N0-term q = x Q^T backward, G + N0), the scale 1/sqrt(G) (3). */
static double grad_steps(const ac_paths_net_shape *sh, int torch)
{
    double batch = torch ? (double)BATCH * sh->ntok : (double)BATCH * ac_paths_net_paths(sh);
    double qk = sh->ntok + 2.0 + 2.0 * sh->ntok + (torch ? sh->G + sh->N0 : sh->N0) + 3.0;
    return value_steps(sh, torch) + 2.0 + batch + qk;
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

/* One case's input object for the helper: the shape, batch, Adam's settings
 * and the trainer's state at the start of each step. */
static json_t *case_json(const net_case *cs)
{
    const ac_paths_net_shape *sh = &cs->sh;
    size_t nt = ac_paths_net_size(sh);
    json_t *H = json_array(), *steps = json_array();
    for (int l = 0; l < sh->L; l++)
        json_array_append_new(H, json_integer(sh->H[l]));
    for (int k = 0; k < ADAM_STEPS; k++) {
        json_t *s = json_object();
        json_object_set_new(s, "theta", array_of(cs->th[k], nt));
        json_object_set_new(s, "m", array_of(cs->m[k], nt));
        json_object_set_new(s, "v", array_of(cs->v[k], nt));
        json_object_set_new(s, "t", json_integer(k));
        json_array_append_new(steps, s);
    }
    json_t *o = json_object();
    json_object_set_new(o, "L", json_integer(sh->L));
    json_object_set_new(o, "H", H);
    json_object_set_new(o, "n", json_integer(sh->n));
    json_object_set_new(o, "N0", json_integer(sh->N0));
    json_object_set_new(o, "ntok", json_integer(sh->ntok));
    json_object_set_new(o, "G", json_integer(sh->G));
    json_object_set_new(o, "readout", json_integer(sh->readout));
    json_object_set_new(o, "P", json_integer(BATCH));
    json_object_set_new(o, "X", array_of(cs->X, (size_t)BATCH * sh->N0 * sh->ntok));
    json_object_set_new(o, "Y", array_of(cs->Y, BATCH));
    json_object_set_new(o, "lr", json_real(cs->set.lr));
    json_object_set_new(o, "beta1", json_real(cs->set.beta1));
    json_object_set_new(o, "beta2", json_real(cs->set.beta2));
    json_object_set_new(o, "eps", json_real(cs->set.adam_eps));
    json_object_set_new(o, "steps", steps);
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

/* |c - t| <= bound entry by entry, each named by its block of theta's
 * layout; returns the largest |c - t| / bound seen. */
static double expect_blocks(const ac_paths_net_shape *sh, const double *c, const double *t,
                            const double *bound, const char *what, unsigned long seed)
{
    size_t off[MAX_BLOCKS + 1];
    const char *name[MAX_BLOCKS];
    int nb = blocks(sh, off, name);
    double worst = 0.0;
    for (int b = 0; b < nb; b++)
        for (size_t i = off[b]; i < off[b + 1]; i++) {
            double d = fabs(c[i] - t[i]);
            worst = fmax(worst, d / bound[i]);
            cr_expect(d <= bound[i],
                      "seed %lu, %s of %s, entry %zu of theta: C %.17g, torch %.17g "
                      "(|diff| %.3g > bound %.3g)",
                      seed, what, name[b], i, c[i], t[i], d, bound[i]);
        }
    return worst;
}

/* Draw the batch and weights from cs->seed and run the C trainer on them,
 * keeping its state at each step and C's f, loss and gradient there. */
static void c_side(net_case *cs)
{
    const ac_paths_net_shape *sh = &cs->sh;
    cr_assert_leq(sh->N0 * sh->ntok, 64);
    gsl_rng *r = ac_test_rng(cs->seed);
    size_t nt = ac_paths_net_size(sh), nx = (size_t)BATCH * sh->N0 * sh->ntok;
    for (int k = 0; k <= ADAM_STEPS; k++) {
        cs->th[k] = malloc(sizeof(double) * nt);
        cs->m[k] = malloc(sizeof(double) * nt);
        cs->v[k] = malloc(sizeof(double) * nt);
        cr_assert(cs->th[k] && cs->m[k] && cs->v[k]);
        if (k < ADAM_STEPS)
            cr_assert(cs->g[k] = malloc(sizeof(double) * nt));
    }
    for (size_t j = 0; j < nx; j++)
        cs->X[j] = gsl_ran_gaussian(r, 1.0);
    for (int mu = 0; mu < BATCH; mu++)
        cs->Y[mu] = gsl_rng_uniform(r) < 0.5 ? -1.0 : 1.0;
    ac_paths_net_init(sh, r, cs->th[0]);
    /* larger Q, K than the init's, so that the softmaxes are far from uniform
     * and a transposed score shows */
    for (size_t j = ac_paths_net_value_size(sh); j < nt; j++)
        cs->th[0][j] *= 2.3;

    /* Adam on the whole batch (batch = P: the trainer's shuffle only permutes
     * the order of the batch sum) */
    ac_msg msg = {{0}};
    ac_paths_net_train_settings_default(&cs->set);
    cs->set.steps = ADAM_STEPS;
    cs->set.batch = BATCH;
    cs->set.lr = ADAM_LR;
    ac_paths_net_trainer *tr = ac_paths_net_trainer_alloc(sh, BATCH);
    cr_assert(tr);
    cr_assert_eq(ac_paths_net_trainer_set(tr, BATCH, cs->X, cs->Y, &cs->set, cs->th[0], &msg),
                 AC_OK, "%s", msg.text);
    for (int k = 0; k <= ADAM_STEPS; k++) {
        const double *m, *v;
        ac_paths_net_trainer_moments(tr, &m, &v);
        memcpy(cs->th[k], ac_paths_net_trainer_theta(tr), sizeof(double) * nt);
        memcpy(cs->m[k], m, sizeof(double) * nt);
        memcpy(cs->v[k], v, sizeof(double) * nt);
        if (k == ADAM_STEPS)
            break;
        cr_assert_eq(ac_paths_net_predict(sh, cs->th[k], NULL, BATCH, cs->X, cs->f[k], &msg),
                     AC_OK, "%s", msg.text);
        cr_assert_eq(ac_paths_net_loss(sh, cs->th[k], 1, BATCH, cs->X, cs->Y, &cs->loss[k],
                                       cs->g[k], &msg),
                     AC_OK, "%s", msg.text);
        cr_assert_eq(ac_paths_net_trainer_iterate(tr, r), AC_OK);
    }
    cr_assert_eq(ac_paths_net_trainer_test(tr), AC_TRAIN_STEP_LIMIT, "Adam ended early: %s",
                 ac_train_outcome_str(ac_paths_net_trainer_test(tr)));
    ac_paths_net_trainer_free(tr);
    gsl_rng_free(r);
}

static void case_clear(net_case *cs)
{
    for (int k = 0; k <= ADAM_STEPS; k++) {
        free(cs->th[k]);
        free(cs->m[k]);
        free(cs->v[k]);
        if (k < ADAM_STEPS)
            free(cs->g[k]);
    }
}

/* ---- The sums of absolute values of the tolerance comment -------------- */

/* Largest n, N0, ntok, G of the cases (the scratch below is fixed). */
#define AMAX 8

/* One example's attention from the test's own loops: Om[k] (head k, layer
 * 1's first; [s][t], s the key) and the relative bound omega_rel on the two
 * sides' difference of its entries (the tolerance comment's 2 eps_Om). */
static double abs_attention(const ac_paths_net_shape *sh, const double *theta, const double *x,
                            double Om[][AMAX][AMAX])
{
    int N0 = sh->N0, nt = sh->ntok, G = sh->G;
    double sg = 1.0 / sqrt((double)G), worst = 0.0;
    for (int l = 1, k = 0; l <= sh->L; l++)
        for (int h = 0; h < sh->H[l - 1]; h++, k++) {
            const double *Q = theta + ac_paths_net_q_offset(sh, l, h);
            const double *K = theta + ac_paths_net_k_offset(sh, l, h);
            double S[AMAX][AMAX], sabs = 0.0;
            for (int s = 0; s < nt; s++)
                for (int t = 0; t < nt; t++) {
                    double v = 0.0, va = 0.0;
                    for (int g = 0; g < G; g++) {
                        double ks = 0.0, qt = 0.0, ka = 0.0, qa = 0.0;
                        for (int i = 0; i < N0; i++) {
                            ks += K[g * N0 + i] * x[i * nt + s];
                            qt += Q[g * N0 + i] * x[i * nt + t];
                            ka += fabs(K[g * N0 + i] * x[i * nt + s]);
                            qa += fabs(Q[g * N0 + i] * x[i * nt + t]);
                        }
                        v += ks * qt, va += ka * qa;
                    }
                    S[s][t] = v * sg;
                    sabs = fmax(sabs, va * sg);
                }
            double range = 0.0;
            for (int t = 0; t < nt; t++) {
                double mx = -INFINITY, mn = INFINITY, z = 0.0;
                for (int s = 0; s < nt; s++)
                    mx = fmax(mx, S[s][t]), mn = fmin(mn, S[s][t]);
                range = fmax(range, mx - mn);
                for (int s = 0; s < nt; s++)
                    z += Om[k][s][t] = exp(S[s][t] - mx);
                for (int s = 0; s < nt; s++)
                    Om[k][s][t] /= z;
            }
            double side = ac_la_gamma(score_steps(sh, 0)) + ac_la_gamma(score_steps(sh, 1));
            double rel = 2.0 * side * sabs + 2.0 * (DBL_EPSILON / 2 * range + ac_la_gamma(nt + 3.0));
            worst = fmax(worst, rel);
        }
    return worst;
}

/* The absolute network of one example x: z[l] (n x ntok) from |V_0| |x|
 * and |V_l^h| with the attention as it is (positive), y[k] = z[l-1] Om[k]
 * for head k of layer l; returns f_abs = c_a |a| . z[L] r. */
static double abs_forward(const ac_paths_net_shape *sh, const double *theta, const double *x,
                          double Om[][AMAX][AMAX], double z[][AMAX][AMAX],
                          double y[][AMAX][AMAX])
{
    int n = sh->n, N0 = sh->N0, nt = sh->ntok;
    double r[AMAX], c0 = 1.0 / sqrt((double)N0), ca = 1.0 / sqrt((double)n);
    ac_paths_net_readout(sh, r);
    const double *V0 = theta + n;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < nt; t++) {
            double v = 0.0;
            for (int j = 0; j < N0; j++)
                v += fabs(V0[i * N0 + j] * x[j * nt + t]);
            z[0][i][t] = c0 * v;
        }
    for (int l = 1, k = 0; l <= sh->L; l++) {
        double cl = 1.0 / sqrt((double)sh->H[l - 1] * n);
        memset(z[l], 0, sizeof z[l]);
        for (int h = 0; h < sh->H[l - 1]; h++, k++) {
            const double *V = theta + n + (size_t)n * N0 + (size_t)k * n * n;
            for (int i = 0; i < n; i++)
                for (int t = 0; t < nt; t++) {
                    double v = 0.0;
                    for (int s = 0; s < nt; s++)
                        v += z[l - 1][i][s] * Om[k][s][t];
                    y[k][i][t] = v;
                }
            for (int i = 0; i < n; i++)
                for (int t = 0; t < nt; t++)
                    for (int j = 0; j < n; j++)
                        z[l][i][t] += cl * fabs(V[i * n + j]) * y[k][j][t];
        }
    }
    double f = 0.0;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < nt; t++)
            f += ca * fabs(theta[i]) * z[sh->L][i][t] * r[t];
    return f;
}

/* The backward pass of abs_forward seeded with w at f: adds to gb (theta's
 * layout) the sums of absolute values of the terms of w df/dtheta, the
 * value weights' and (through the softmax derivative dS = Om (dOm - sum_s'
 * Om dOm), its two parts added) Q's and K's. */
static void abs_backward(const ac_paths_net_shape *sh, const double *theta, const double *x,
                         double Om[][AMAX][AMAX], double z[][AMAX][AMAX],
                         double y[][AMAX][AMAX], double w, double *gb)
{
    int n = sh->n, N0 = sh->N0, nt = sh->ntok, G = sh->G, L = sh->L;
    double r[AMAX], c0 = 1.0 / sqrt((double)N0), ca = 1.0 / sqrt((double)n);
    double sg = 1.0 / sqrt((double)G);
    double g[AMAX][AMAX], gp[AMAX][AMAX];
    ac_paths_net_readout(sh, r);
    for (int i = 0; i < n; i++)
        for (int t = 0; t < nt; t++) {
            g[i][t] = ca * fabs(theta[i]) * r[t] * w;
            gb[i] += ca * z[L][i][t] * r[t] * w;
        }
    int k0 = ac_paths_net_heads(sh);
    for (int l = L; l >= 1; l--) {
        double cl = 1.0 / sqrt((double)sh->H[l - 1] * n);
        k0 -= sh->H[l - 1];
        memset(gp, 0, sizeof gp);
        for (int h = 0, k = k0; h < sh->H[l - 1]; h++, k++) {
            size_t vo = (size_t)n + (size_t)n * N0 + (size_t)k * n * n;
            const double *V = theta + vo;
            double u[AMAX][AMAX], dOm[AMAX][AMAX], dS[AMAX][AMAX];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    for (int t = 0; t < nt; t++)
                        gb[vo + (size_t)i * n + j] += cl * g[i][t] * y[k][j][t];
            for (int j = 0; j < n; j++)
                for (int t = 0; t < nt; t++) {
                    u[j][t] = 0.0;
                    for (int i = 0; i < n; i++)
                        u[j][t] += cl * fabs(V[i * n + j]) * g[i][t];
                }
            for (int s = 0; s < nt; s++)
                for (int t = 0; t < nt; t++) {
                    dOm[s][t] = 0.0;
                    for (int j = 0; j < n; j++) {
                        dOm[s][t] += z[l - 1][j][s] * u[j][t];
                        gp[j][s] += u[j][t] * Om[k][s][t];
                    }
                }
            for (int t = 0; t < nt; t++) {
                double dot = 0.0;
                for (int s = 0; s < nt; s++)
                    dot += Om[k][s][t] * dOm[s][t];
                for (int s = 0; s < nt; s++)
                    dS[s][t] = Om[k][s][t] * (dOm[s][t] + dot);
            }
            /* S = x^T W x, W = sg K^T Q: dW = |x| dS |x|^T, dQ = sg |K| dW,
             * dK = sg |Q| dW^T */
            double dW[AMAX][AMAX];
            for (int i = 0; i < N0; i++)
                for (int j = 0; j < N0; j++) {
                    dW[i][j] = 0.0;
                    for (int s = 0; s < nt; s++)
                        for (int t = 0; t < nt; t++)
                            dW[i][j] += fabs(x[i * nt + s]) * dS[s][t] * fabs(x[j * nt + t]);
                }
            size_t qo = ac_paths_net_q_offset(sh, l, h), ko = ac_paths_net_k_offset(sh, l, h);
            for (int q = 0; q < G; q++)
                for (int i = 0; i < N0; i++)
                    for (int j = 0; j < N0; j++) {
                        gb[qo + (size_t)q * N0 + j] += sg * fabs(theta[ko + (size_t)q * N0 + i]) * dW[i][j];
                        gb[ko + (size_t)q * N0 + i] += sg * fabs(theta[qo + (size_t)q * N0 + j]) * dW[i][j];
                    }
        }
        memcpy(g, gp, sizeof g);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < N0; j++)
            for (int t = 0; t < nt; t++)
                gb[n + (size_t)i * N0 + j] += c0 * g[i][t] * fabs(x[j * nt + t]);
}

/* The derived bounds of the model at step k of a case (the tolerance
 * comment), at the C trainer's weights th[k] with C's f and loss there:
 * fb[b] on |f_C - f_T| for each example, *lb on the loss's, gb (theta's
 * layout, theta units) on the gradient's. */
static void derive_bounds(const net_case *cs, int k, double *fb, double *lb, double *gb)
{
    const ac_paths_net_shape *sh = &cs->sh;
    const double *th = cs->th[k];
    cr_assert(sh->n <= AMAX && sh->N0 <= AMAX && sh->ntok <= AMAX && sh->G <= AMAX,
              "raise AMAX");
    int nh = ac_paths_net_heads(sh);
    size_t nx = (size_t)sh->N0 * sh->ntok;
    double(*Om)[AMAX][AMAX] = malloc(sizeof(double[AMAX][AMAX]) * (size_t)nh);
    double(*y)[AMAX][AMAX] = malloc(sizeof(double[AMAX][AMAX]) * (size_t)nh);
    double(*z)[AMAX][AMAX] = malloc(sizeof(double[AMAX][AMAX]) * (size_t)(sh->L + 1));
    cr_assert(Om && y && z);
    double kf = ac_la_gamma(value_steps(sh, 0)) + ac_la_gamma(value_steps(sh, 1));
    double kg = ac_la_gamma(grad_steps(sh, 0)) + ac_la_gamma(grad_steps(sh, 1));
    memset(gb, 0, sizeof(double) * ac_paths_net_size(sh));
    *lb = 2.0 * ac_la_gamma(BATCH + 3.0) * cs->loss[k];
    for (int b = 0; b < BATCH; b++) {
        const double *x = cs->X + (size_t)b * nx;
        double orel = abs_attention(sh, th, x, Om);
        double fabs_b = abs_forward(sh, th, x, Om, z, y);
        double r = fabs(cs->f[k][b] - cs->Y[b]);
        fb[b] = (kf + sh->L * orel) * fabs_b;
        *lb += 2.0 / BATCH * r * fb[b];
        double w = 2.0 / BATCH * ((kg + (sh->L + 1) * orel) * r + fb[b]);
        abs_backward(sh, th, x, Om, z, y, w, gb);
    }
    free(Om), free(y), free(z);
}

/* The largest |C - torch| / bound of each kind, over the compared numbers. */
typedef struct {
    double model;   /* f, loss, gradient */
    double moments; /* m', v' after a step */
    double weights; /* w' after a step */
} shares;

/* The model at step k: f, loss and gradient against torch's answer ans;
 * the gradient bound in the plain weights into gbw (theta's layout). */
static double compare_model(const net_case *cs, int k, const json_t *ans, const double *c,
                            const double *tg, double *gbw)
{
    const ac_paths_net_shape *sh = &cs->sh;
    size_t nt = ac_paths_net_size(sh);
    double tf[BATCH], fb[BATCH], lb, *cw = malloc(sizeof(double) * nt);
    cr_assert(cw);
    derive_bounds(cs, k, fb, &lb, gbw);
    read_array(ans, "f", tf, BATCH);
    const json_t *jl = json_object_get(ans, "loss");
    cr_assert(json_is_number(jl), "torch output: loss is not a number");
    double tl = json_number_value(jl), worst = 0.0;

    for (int mu = 0; mu < BATCH; mu++) {
        double d = fabs(cs->f[k][mu] - tf[mu]);
        worst = fmax(worst, d / fb[mu]);
        cr_expect(d <= fb[mu], "seed %lu, step %d: f[%d]: C %.17g, torch %.17g, bound %.3g",
                  cs->seed, k + 1, mu, cs->f[k][mu], tf[mu], fb[mu]);
    }
    worst = fmax(worst, fabs(cs->loss[k] - tl) / lb);
    cr_expect(fabs(cs->loss[k] - tl) <= lb,
              "seed %lu, step %d: loss: C %.17g, torch %.17g, bound %.3g", cs->seed, k + 1,
              cs->loss[k], tl, lb);

    /* the gradient in the plain weights w = c theta is dL/dtheta / c: the
     * bound over c, plus u |g_w| for the division */
    for (size_t i = 0; i < nt; i++) {
        cw[i] = cs->g[k][i] / c[i];
        gbw[i] = gbw[i] / c[i] + U * fabs(cw[i]);
    }
    char what[32];
    snprintf(what, sizeof what, "step %d gradient", k + 1);
    worst = fmax(worst, expect_blocks(sh, cw, tg, gbw, what, cs->seed));
    free(cw);
    return worst;
}

/* Relative error of a computed bias correction 1 - b^t (the Adam comment). */
static double bias_rel(double b, int t)
{
    double p = pow(b, t);
    return U * (2.0 * p / (1.0 - p) + 1.0);
}

/* Adam's step ratio R(m, v) = (m / c1) / (sqrt(v / c2) + eps). */
static double adam_ratio(double m, double v, double c1, double c2, double eps)
{
    return m / c1 / (sqrt(v / c2) + eps);
}

/* [*rmin, *rmax]: R over the box [mlo, mhi] x [vlo, vhi], vlo >= 0 (the Adam
 * comment): R rises with m; for m >= 0 it falls as v grows, for m < 0 it
 * rises. */
static void adam_box(double mlo, double mhi, double vlo, double vhi, double c1, double c2,
                     double eps, double *rmin, double *rmax)
{
    *rmax = adam_ratio(mhi, mhi >= 0.0 ? vlo : vhi, c1, c2, eps);
    *rmin = adam_ratio(mlo, mlo >= 0.0 ? vhi : vlo, c1, c2, eps);
}

/* One Adam step from the trainer's state at step k against torch's step
 * from the same state (the Adam comment): moments m', v' and weights w'
 * entry by entry, e = gbw the gradient bound.  Adds to *far the entries the
 * step moved by 100 times their bound. */
static void compare_adam(const net_case *cs, int k, const json_t *ans, const double *c,
                         const double *tg, const double *gbw, shares *sh_out, size_t *far)
{
    size_t nt = ac_paths_net_size(&cs->sh);
    double *tm = malloc(sizeof(double) * nt), *tv = malloc(sizeof(double) * nt);
    double *tw = malloc(sizeof(double) * nt);
    cr_assert(tm && tv && tw);
    read_array(ans, "m", tm, nt);
    read_array(ans, "v", tv, nt);
    read_array(ans, "w", tw, nt);
    const ac_paths_net_train_settings *s = &cs->set;
    double b1 = s->beta1, b2 = s->beta2;
    int t = k + 1;
    double c1 = 1.0 - pow(b1, t), c2 = 1.0 - pow(b2, t);
    double rel = 4.0 * (bias_rel(b1, t) + bias_rel(b2, t) / 2.0 + 8.0 * U);
    double g2 = ac_la_gamma(2.0), g3 = ac_la_gamma(3.0);
    for (size_t i = 0; i < nt; i++) {
        double e = gbw[i], g = fabs(tg[i]) + e;
        double m0 = fabs(cs->m[k][i] / c[i]), v0 = cs->v[k][i] / c[i] / c[i];
        double m1 = cs->m[k + 1][i] / c[i], v1 = cs->v[k + 1][i] / c[i] / c[i];
        double dm = (1.0 - b1) * e + (2.0 * g2 + 2.0 * U) * (b1 * m0 + (1.0 - b1) * g);
        double dv = (1.0 - b2) * e * (2.0 * fabs(tg[i]) + e) +
                    (2.0 * g3 + 4.0 * U) * (b2 * v0 + (1.0 - b2) * g * g);
        sh_out->moments = fmax(sh_out->moments, fmax(fabs(m1 - tm[i]) / dm,
                                                     fabs(v1 - tv[i]) / dv));
        cr_expect(fabs(m1 - tm[i]) <= dm,
                  "seed %lu, step %d: m[%zu] after the step: C %.17g, torch %.17g, bound %.3g",
                  cs->seed, t, i, m1, tm[i], dm);
        cr_expect(fabs(v1 - tv[i]) <= dv,
                  "seed %lu, step %d: v[%zu] after the step: C %.17g, torch %.17g, bound %.3g",
                  cs->seed, t, i, v1, tv[i], dv);

        double rmin, rmax;
        adam_box(m1 - dm, m1 + dm, fmax(0.0, v1 - dv), v1 + dv, c1, c2, s->adam_eps, &rmin,
                 &rmax);
        double w0 = c[i] * cs->th[k][i], w1 = c[i] * cs->th[k + 1][i];
        double bound = s->lr * (rmax - rmin + rel * fmax(fabs(rmin), fabs(rmax))) +
                       U * (fabs(w0) + 3.0 * fabs(tw[i]));
        double d = fabs(w1 - tw[i]);
        sh_out->weights = fmax(sh_out->weights, d / bound);
        *far += fabs(tw[i] - w0) > 100.0 * bound;
        cr_expect(d <= bound,
                  "seed %lu, step %d: w[%zu] after the step: C %.17g, torch %.17g (start "
                  "%.17g), bound %.3g", cs->seed, t, i, w1, tw[i], w0, bound);
    }
    free(tm);
    free(tv);
    free(tw);
}

/* Compare the C side with torch's answers (one per step) against the
 * derived bounds; returns the largest shares of each kind. */
static shares compare_case(const net_case *cs, const json_t *ans)
{
    const ac_paths_net_shape *sh = &cs->sh;
    size_t nt = ac_paths_net_size(sh), far = 0;
    double *c = malloc(sizeof(double) * nt), *tg = malloc(sizeof(double) * nt);
    double *gbw = malloc(sizeof(double) * nt);
    cr_assert(c && tg && gbw);
    cr_assert(json_is_array(ans) && json_array_size(ans) == ADAM_STEPS,
              "torch output: a case is not a list of %d steps", ADAM_STEPS);
    plain_scales(sh, c);
    shares w = {0.0, 0.0, 0.0};
    for (int k = 0; k < ADAM_STEPS; k++) {
        const json_t *a = json_array_get(ans, (size_t)k);
        cr_assert(json_is_object(a), "torch output: step %d is not an object", k + 1);
        read_array(a, "grad_w", tg, nt);
        w.model = fmax(w.model, compare_model(cs, k, a, c, tg, gbw));
        compare_adam(cs, k, a, c, tg, gbw, &w, &far);
    }
    /* the steps did move the weights, by far more than the bound: nine in
     * ten entries by 100 times their own at each step (an entry whose
     * gradient is near 0 has a loose bound) */
    cr_expect_geq(far, 0.9 * ADAM_STEPS * nt, "seed %lu: Adam moved only %zu of %d x %zu "
                  "weights by 100 times their bound", cs->seed, far, ADAM_STEPS, nt);
    if (getenv("AC_TEST_VERBOSE"))
        fprintf(stderr, "seed %lu: over %d steps, f/loss/gradient use %.3g of their bounds, "
                "Adam's moments %.3g, the weights after each step %.3g; %zu of %d x %zu "
                "moved by 100 bounds\n", cs->seed, ADAM_STEPS, w.model, w.moments, w.weights,
                far, ADAM_STEPS, nt);
    free(c);
    free(tg);
    free(gbw);
    return w;
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
        json_array_append_new(in, case_json(&cs[c]));
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
    shares worst = {0.0, 0.0, 0.0};
    for (int c = 0; c < nc; c++) {
        shares w = compare_case(&cs[c], json_array_get(out, c));
        worst.model = fmax(worst.model, w.model);
        worst.moments = fmax(worst.moments, w.moments);
        worst.weights = fmax(worst.weights, w.weights);
        case_clear(&cs[c]);
    }
    if (getenv("AC_TEST_VERBOSE"))
        fprintf(stderr, "paths_net_torch: largest |C - torch| / derived bound: f/loss/gradient "
                "%.3g, Adam's moments %.3g, weights after a step %.3g\n", worst.model,
                worst.moments, worst.weights);
    json_decref(out);
    free(cs);
}
