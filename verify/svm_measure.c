/* The measurements of the Graph-SVM claims (verify/svm_measure.h).  The
 * theory side (theory/, solvers/) computes from the instance alone; the
 * experiment side (verify/svm_model.h) trains from a seeded start and never
 * reads a theory output; the functions below are where the two meet. */
#include "verify/svm_measure.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/linalg.h"
#include "theory/tpg.h"
#include "verify/svm_data.h"
#include "verify/trial.h"

double ac_svm_corr(const double *a, const double *b, int n)
{
    return ac_la_dot(a, b, n) /
           ((ac_la_nrm2(a, n) + AC_SVM_CORR_FLOOR) * (ac_la_nrm2(b, n) + AC_SVM_CORR_FLOOR));
}

/* ---- an instance and its theory ------------------------------------------ */

ac_status ac_svm_instance_draw(ac_svm_instance *I, gsl_rng *r, const ac_svm_setup *su, ac_svm_gen_mode mode,
                               ac_msg *msg)
{
    ac_svm_gen_settings gs = {
        .n = su->n, .T = su->T, .K = su->K, .d = su->d, .mode = mode, .max_tries = AC_SVM_GEN_MAX_TRIES};
    memset(I, 0, sizeof *I);
    I->K = su->K;
    I->d = su->d;
    return ac_svm_generate(r, &gs, &I->D, &I->E, NULL, msg);
}

ac_status ac_svm_instance_theory(ac_svm_instance *I, ac_msg *msg)
{
    ac_tpg_solve_settings set;
    ac_tpg_solve_settings_default(&set);
    ac_status st = ac_tpg_solve(I->D, I->E, I->d, &set, &I->th, msg);
    if (st != AC_OK)
        return st;
    if (I->th.qp.status != AC_QP_SOLVED)
        return ac_fail(msg, AC_ENOCONV, "Graph-SVM solve ended %s after %ld sweeps (primal residual %.3g)",
                       ac_qp_status_str(I->th.qp.status), I->th.qp.sweeps, I->th.qp.prim_res);
    if (I->th.S->dim > 0 && I->th.newton.status != AC_NEWTON_CONVERGED)
        return ac_fail(msg, AC_ENOCONV, "W_fin Newton solve ended %s after %d iterations (|grad| %.3g)",
                       ac_newton_status_str(I->th.newton.status), I->th.newton.iter, I->th.newton.grad_norm);
    return AC_OK;
}

void ac_svm_instance_clear(ac_svm_instance *I)
{
    ac_tpg_data_free(I->D);
    free(I->E);
    ac_tpg_solution_clear(&I->th);
    memset(I, 0, sizeof *I);
}

/* ---- a trained trajectory ------------------------------------------------- */

void ac_svm_trajectory_clear(ac_svm_trajectory *tr)
{
    free(tr->t);
    free(tr->W);
    free(tr->loss);
    memset(tr, 0, sizeof *tr);
}

ac_status ac_svm_trajectory_train(ac_svm_trajectory *out, const ac_svm_instance *I, gsl_rng *r,
                                  const ac_svm_train_settings *ts, ac_msg *msg)
{
    int dd = I->d * I->d, ncp = AC_SVM_NCHECK + 1;
    memset(out, 0, sizeof *out);
    out->t = malloc(sizeof(long) * (size_t)ncp);
    out->W = malloc(sizeof(double) * (size_t)ncp * dd);
    out->loss = malloc(sizeof(double) * (size_t)ncp);
    double *W0 = malloc(sizeof(double) * (size_t)dd);
    ac_svm_trainer *tr = ac_svm_trainer_alloc(I->D->n, I->D->off[I->D->n], I->K, I->d);
    if (!out->t || !out->W || !out->loss || !W0 || !tr) {
        free(W0);
        ac_svm_trainer_free(tr);
        return ac_fail(msg, AC_ENOMEM, "no memory for a training trajectory");
    }
    ac_svm_model_init(r, I->d, W0);
    ac_status st = ac_svm_trainer_set(tr, I->D, NULL, I->E, ts, W0, msg);
    free(W0);
    for (int c = 0; c < ncp && st == AC_OK; c++) {
        ac_train_outcome oc = ac_svm_trainer_run(tr, ts->steps * c / AC_SVM_NCHECK);
        out->t[c] = ac_svm_trainer_info(tr)->steps;
        memcpy(out->W + (size_t)c * dd, ac_svm_trainer_W(tr), sizeof(double) * (size_t)dd);
        out->loss[c] = ac_svm_model_loss(I->D, NULL, I->E, I->d, ts->head, ac_svm_trainer_W(tr), NULL);
        out->ncp = c + 1;
        if (oc == AC_TRAIN_DIVERGED)
            st = ac_fail(msg, AC_ENUMERIC, "training diverged (loss %.3g) at step %ld",
                         ac_svm_trainer_info(tr)->loss, out->t[c]);
    }
    ac_svm_trainer_free(tr);
    return st;
}

/* ---- measurements ---------------------------------------------------------- */

double ac_svm_top_mass(const ac_svm_instance *I, const double *W, int i, double *mass)
{
    const int *tok = I->D->tok + I->D->off[i];
    int len = I->D->off[i + 1] - I->D->off[i];
    int k = tok[len - 1], y = I->D->label[i];
    ac_svm_model_attention(tok, len, I->E, I->K, I->d, W, mass);
    double m = 0.0;
    for (int j = 0; j < I->K; j++)
        if (mass[j] > 0.0 && (j == y || ac_tpg_same_scc(I->th.G, k, j, y)))
            m += mass[j];
    return m;
}

double ac_svm_mean_leak(const ac_svm_instance *I, const double *W)
{
    double *mass = malloc(sizeof(double) * (size_t)I->K), s = 0.0;
    if (!mass)
        return NAN;
    for (int i = 0; i < I->D->n; i++)
        s += 1.0 - ac_svm_top_mass(I, W, i, mass);
    free(mass);
    return s / I->D->n;
}

double ac_svm_decomposition_R(const ac_svm_instance *I, const double *W)
{
    int dd = I->d * I->d;
    double ss = ac_la_dot(I->th.Wsvm, I->th.Wsvm, dd);
    return ss > 0.0 ? (ac_la_dot(W, I->th.Wsvm, dd) - ac_la_dot(I->th.Wfin, I->th.Wsvm, dd)) / ss : 0.0;
}

double ac_svm_decomposition_corr(const ac_svm_instance *I, const double *W)
{
    int dd = I->d * I->d;
    double c = NAN, R = ac_svm_decomposition_R(I, W);
    double *Wd = malloc(sizeof(double) * (size_t)dd);
    if (Wd) {
        for (int j = 0; j < dd; j++)
            Wd[j] = I->th.Wfin[j] + R * I->th.Wsvm[j];
        c = ac_svm_corr(W, Wd, dd);
        free(Wd);
    }
    return c;
}

double ac_svm_perp_corr(const ac_svm_instance *I, const double *W)
{
    int dd = I->d * I->d;
    double *P = malloc(sizeof(double) * (size_t)dd), c = NAN;
    if (!P)
        return NAN;
    if (ac_tpg_sfin_project(I->th.S, W, P, NULL) == AC_OK) {
        for (int j = 0; j < dd; j++)
            P[j] = W[j] - P[j];
        c = ac_svm_corr(P, I->th.Wsvm, dd);
    }
    free(P);
    return c;
}

ac_status ac_svm_fin_distance(const ac_svm_instance *I, const double *W, int ncp, const double *Wf, int stride,
                              double *out)
{
    int dd = I->d * I->d;
    double *P = malloc(sizeof(double) * (size_t)dd);
    if (!P)
        return AC_ENOMEM;
    ac_status st = AC_OK;
    for (int c = 0; c < ncp && st == AC_OK; c++) {
        st = ac_tpg_sfin_project(I->th.S, W + (size_t)c * dd, P, NULL);
        out[c] = ac_la_dist(P, Wf + (size_t)c * stride, dd);
    }
    free(P);
    return st;
}

void ac_svm_structure_init(ac_svm_structure *a)
{
    memset(a, 0, sizeof *a);
    a->lam_min = INFINITY;
    a->s5 = -INFINITY;
}

/* S1, S2 (spec §4.1).  Every worst case here and in S4, S5 goes through
 * ac_max_keep_nan / ac_min_keep_nan: fmax and fmin drop a NaN operand, so a
 * NaN W_svm or multiplier would leave each worst case at its start (0) and
 * every S row would pass. */
ac_status ac_svm_check_s1_s2(const ac_svm_instance *I, const double *Wsvm, ac_svm_structure *a)
{
    int d = I->d, dd = d * d, m = I->th.C.m;
    double *s = malloc(sizeof(double) * (size_t)(m + 1)), *W = calloc((size_t)dd * 2, sizeof(double));
    if (!s || !W) {
        free(s), free(W);
        return AC_ENOMEM;
    }
    ac_tpg_cons_values(&I->th.C, I->E, d, Wsvm, s);
    for (int c = 0; c < m; c++) {
        const double *ea = I->E + (size_t)I->th.C.a[c] * d, *eb = I->E + (size_t)I->th.C.b[c] * d,
                     *ek = I->E + (size_t)I->th.C.k[c] * d;
        double lam = I->th.lambda[c];
        if (I->th.C.is_eq[c]) {
            a->eq = ac_max_keep_nan(a->eq, fabs(s[c]));
        } else {
            a->ineq = ac_max_keep_nan(a->ineq, ac_max_keep_nan(0.0, I->th.C.rhs[c] - s[c]));
            a->lam_min = ac_min_keep_nan(a->lam_min, lam);
            a->compl = ac_max_keep_nan(a->compl, fabs(lam * (s[c] - I->th.C.rhs[c])));
        }
        /* A_c = (e_a - e_b) e_k^T */
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                W[i * d + j] += lam * (ea[i] - eb[i]) * ek[j];
    }
    a->stat = ac_max_keep_nan(a->stat, ac_la_dist(W, Wsvm, dd));
    ac_status st = ac_tpg_sfin_project(I->th.S, Wsvm, W + dd, NULL);
    a->sfin = ac_max_keep_nan(a->sfin, ac_la_nrm2(W + dd, dd));
    a->sweeps += (double)I->th.qp.sweeps;
    a->cons += m;
    free(s), free(W);
    return st;
}

/* S4 (gradient of the reduced loss lies in S_fin) and S5 (midpoint
 * convexity) at random points with entries U(-2, 2). */
ac_status ac_svm_check_s4_s5(const ac_svm_instance *I, gsl_rng *r, const ac_tpg_data *Dg, const int *query,
                             ac_svm_head head, ac_svm_structure *a)
{
    int d = I->d, dd = d * d;
    double *W = malloc(sizeof(double) * (size_t)dd * 4);
    if (!W)
        return AC_ENOMEM;
    double *W2 = W + dd, *g = W2 + dd, *P = g + dd;
    ac_status st = AC_OK;
    for (int p = 0; p < AC_SVM_SPOT_POINTS && st == AC_OK; p++) {
        for (int j = 0; j < dd; j++) {
            W[j] = 4.0 * (gsl_rng_uniform(r) - 0.5);
            W2[j] = 4.0 * (gsl_rng_uniform(r) - 0.5);
        }
        if (Dg->n > 0) {
            ac_svm_model_loss(Dg, query, I->E, d, head, W, g);
            st = ac_tpg_sfin_project(I->th.S, g, P, NULL);
            double gn = ac_la_nrm2(g, dd);
            if (!(gn == 0.0)) /* a NaN norm is kept, not skipped */
                a->s4 = ac_max_keep_nan(a->s4, ac_la_dist(g, P, dd) / gn);
        }
        double l1 = ac_svm_model_loss(I->D, NULL, I->E, d, head, W, NULL);
        double l2 = ac_svm_model_loss(I->D, NULL, I->E, d, head, W2, NULL);
        for (int j = 0; j < dd; j++)
            P[j] = 0.5 * (W[j] + W2[j]);
        double lm = ac_svm_model_loss(I->D, NULL, I->E, d, head, P, NULL);
        a->s5 = ac_max_keep_nan(a->s5, lm - 0.5 * (l1 + l2));
        /* each loss sums O(nT) rounded terms of size up to |L|: allow
         * 64 DBL_EPSILON max(1, |L|) */
        a->s5_tol = fmax(a->s5_tol, 64.0 * DBL_EPSILON * fmax(1.0, fmax(fabs(l1), fabs(l2))));
    }
    free(W);
    return st;
}

/* ---- held-out retrieval and its rate (spec §4.2 "Held-out sequences") ---- */

/* Attention mass outside the top SCC that token logits Up (K x K) give a
 * sequence: softmax over positions of Up[tok_t, k], max-shifted. */
double ac_svm_predicted_leak(const ac_tpg *G, const double *Up, const int *tok, int T, int top)
{
    int K = G->K, k = tok[T - 1], g = G->graph_of[k];
    double mx = -INFINITY, z = 0.0, out = 0.0;
    for (int t = 0; t < T; t++)
        mx = fmax(mx, Up[(size_t)tok[t] * K + k]);
    for (int t = 0; t < T; t++) {
        double e = exp(Up[(size_t)tok[t] * K + k] - mx);
        z += e;
        if (G->comp[(size_t)g * K + tok[t]] != top)
            out += e;
    }
    return out / z;
}

/* Least squares y = a + b x over n points: the slope b, its standard error
 * sqrt(SSR / (n - 2) / Sxx), and sum |x - xbar| / Sxx. */
ac_svm_line_fit ac_svm_fit_line(const double *x, const double *y, int n)
{
    ac_svm_line_fit f = {NAN, NAN, NAN};
    if (n < 3)
        return f;
    double xm = 0.0, ym = 0.0, sxx = 0.0, sxy = 0.0, ssr = 0.0, sab = 0.0;
    for (int i = 0; i < n; i++)
        xm += x[i] / n, ym += y[i] / n;
    for (int i = 0; i < n; i++) {
        sxx += (x[i] - xm) * (x[i] - xm);
        sxy += (x[i] - xm) * (y[i] - ym);
        sab += fabs(x[i] - xm);
    }
    f.slope = sxy / sxx;
    for (int i = 0; i < n; i++) {
        double e = y[i] - ym - f.slope * (x[i] - xm);
        ssr += e * e;
    }
    f.se = sqrt(ssr / (n - 2) / sxx);
    f.lever = sab / sxx;
    return f;
}

/* The rate of one window (spec §4.2 "Held-out sequences"): the slope b of
 * ln(leak) against R, against -m.  The tolerance:
 *   3 se           the fit's standard error (a two-sided 0.3 % level);
 *   |b2 - b1|      the slopes fitted on each half of the window: how far the
 *                  rate still moves inside it (0 once it has settled);
 *   1 / (e Rbar)   the finite-R bias of a rate exp(-R m): a gap g > m adds
 *                  (g - m) e^{-R (g - m)} <= 1 / (e R) to the slope per unit
 *                  of its weight relative to the smallest gap, and the offset
 *                  of W from W_pred moves the log-leakage by O(1/R) per unit
 *                  of R as P_fin W converges like 1/t. */
ac_svm_rate ac_svm_rate_judge(const double *R, const double *leak, int n, double m)
{
    ac_svm_rate v = {NAN, NAN, NAN, NAN, NAN, NAN, 0};
    double *y = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)), Rbar = 0.0;
    if (!y || n < 6) {
        free(y);
        return v;
    }
    for (int i = 0; i < n; i++) {
        y[i] = log(leak[i]);
        Rbar += R[i] / n;
    }
    ac_svm_line_fit f = ac_svm_fit_line(R, y, n), f1 = ac_svm_fit_line(R, y, n / 2),
                    f2 = ac_svm_fit_line(R + n / 2, y + n / 2, n - n / 2);
    free(y);
    v.slope = f.slope;
    v.se = f.se;
    v.drift = fabs(f2.slope - f1.slope);
    v.bias = 1.0 / (exp(1.0) * Rbar);
    v.tol = 3.0 * v.se + v.drift + v.bias;
    v.dev = fabs(v.slope + m);
    v.pass = v.dev <= v.tol; /* NaN fails */
    return v;
}

/* The held-out sequences of a trial: up to AC_SVM_HELDOUT_SEQS drawn with r
 * that have a top SCC (ac_tpg_top_scc), T tokens each, and that top SCC. */
ac_status ac_svm_heldout_draw(const ac_svm_instance *I, gsl_rng *r, int T, ac_svm_heldout *h)
{
    h->n = 0;
    h->T = T;
    h->tok = malloc(sizeof(int) * (size_t)T * AC_SVM_HELDOUT_SEQS);
    h->top = malloc(sizeof(int) * AC_SVM_HELDOUT_SEQS);
    if (!h->tok || !h->top)
        return AC_ENOMEM;
    for (long draw = 0; draw < AC_SVM_HELDOUT_MAX_DRAWS && h->n < AC_SVM_HELDOUT_SEQS; draw++) {
        int *tok = h->tok + (size_t)h->n * T;
        ac_svm_draw_sequence(r, T, I->K, tok);
        int top = ac_tpg_top_scc(I->th.G, tok[T - 1], tok, T);
        if (top >= 0)
            h->top[h->n++] = top;
    }
    return AC_OK;
}

void ac_svm_heldout_clear(ac_svm_heldout *h)
{
    free(h->tok);
    free(h->top);
}

/* 1 when token j lies in component `top` of the graph of sequence tok. */
int ac_svm_in_top(const ac_tpg *G, const int *tok, int T, int top, int j)
{
    return G->comp[(size_t)G->graph_of[tok[T - 1]] * G->K + j] == top;
}

/* The rate of hard retrieval (spec §4.2 "Held-out sequences") over one
 * window of nc iterates W (nc x d x d).  Theory: m, the smallest logit gap
 * (x_top - x_t)^T W_svm xbar over the held-out sequences and their tokens
 * outside the top SCC, from W_svm alone (W_svm gives the tokens of one SCC
 * equal logits, so any top token serves).  Experiment: at each iterate,
 * R fitted to W and the mean leakage outside the top SCC (the sum of the
 * masses outside, not 1 - the mass inside, so small values keep their
 * digits), over the sequences with a token outside it; beside it the
 * leakage W_pred = W_fin + R W_svm gives and delta = max |x_t^T (W - W_pred)
 * xbar| over the sequences' tokens.  Into out[0..4][nc]: R, leak, pred,
 * delta; *m and *nrate (the sequences with a token outside the top SCC). */
ac_status ac_svm_rate_window(const ac_svm_instance *I, const ac_svm_heldout *h, const double *Ws, int nc, double *m,
                             int *nrate, double *out)
{
    int K = I->K, T = h->T, dd = I->d * I->d;
    double *U = malloc(sizeof(double) * (size_t)K * K * 3), *mass = malloc(sizeof(double) * (size_t)K);
    double *Wp = malloc(sizeof(double) * (size_t)dd);
    if (!U || !mass || !Wp) {
        free(U), free(mass), free(Wp);
        return AC_ENOMEM;
    }
    double *Usvm = U, *Uw = Usvm + (size_t)K * K, *Upred = Uw + (size_t)K * K;
    double *Rc = out, *leak = Rc + nc, *lpred = leak + nc, *delta = lpred + nc;
    *m = INFINITY;
    *nrate = 0;
    ac_tpg_token_logits(I->E, K, I->d, I->th.Wsvm, Usvm); /* theory: W_svm alone */
    for (int s = 0; s < h->n; s++) {
        const int *tok = h->tok + (size_t)s * T;
        int k = tok[T - 1], a = -1, outside = 0;
        for (int t = 0; t < T && a < 0; t++)
            if (ac_svm_in_top(I->th.G, tok, T, h->top[s], tok[t]))
                a = tok[t];
        for (int t = 0; t < T; t++)
            if (!ac_svm_in_top(I->th.G, tok, T, h->top[s], tok[t])) {
                *m = ac_min_keep_nan(*m, Usvm[(size_t)a * K + k] - Usvm[(size_t)tok[t] * K + k]);
                outside = 1;
            }
        *nrate += outside;
    }
    for (int c = 0; c < nc; c++) {
        const double *W = Ws + (size_t)c * dd;
        Rc[c] = ac_svm_decomposition_R(I, W);
        for (int j = 0; j < dd; j++)
            Wp[j] = I->th.Wfin[j] + Rc[c] * I->th.Wsvm[j];
        ac_tpg_token_logits(I->E, K, I->d, W, Uw);
        ac_tpg_token_logits(I->E, K, I->d, Wp, Upred);
        double sum = 0.0, dl = 0.0, sp = 0.0;
        for (int s = 0; s < h->n; s++) {
            const int *tok = h->tok + (size_t)s * T;
            int k = tok[T - 1];
            sp += ac_svm_predicted_leak(I->th.G, Upred, tok, T, h->top[s]);
            ac_svm_model_attention(tok, T, I->E, K, I->d, W, mass);
            for (int j = 0; j < K; j++)
                if (mass[j] > 0.0 && !ac_svm_in_top(I->th.G, tok, T, h->top[s], j))
                    sum += mass[j];
            for (int t = 0; t < T; t++)
                dl = ac_max_keep_nan(dl, fabs(Uw[(size_t)tok[t] * K + k] - Upred[(size_t)tok[t] * K + k]));
        }
        leak[c] = *nrate > 0 ? sum / *nrate : NAN;
        lpred[c] = *nrate > 0 ? sp / *nrate : NAN;
        delta[c] = dl;
    }
    free(U), free(mass), free(Wp);
    return AC_OK;
}

