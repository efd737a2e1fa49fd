/* The measurements of the Graph-SVM claims (spec tpg_svm §4): one instance
 * with its theory, a trained trajectory, and the quantities the claims
 * compare.  The claims (verify/svm_claims.c) call these from their trials;
 * the tests (tests/test_svm_claims.c) plant violations of known size in
 * their inputs and check that each reports it.
 *
 * Matrices are row-major: W, W_svm, W_fin are d x d, E is K x d. */
#ifndef AC_SVM_MEASURE_H
#define AC_SVM_MEASURE_H

#include <gsl/gsl_rng.h>

#include "theory/tpg_solve.h"
#include "verify/svm_claims.h"
#include "verify/svm_model.h"

/* The authors' cal_corr adds this to each norm (spec tpg_svm §4), so that a
 * zero matrix has correlation 0, not NaN; the claims do the same to compare
 * with their numbers. */
#define AC_SVM_CORR_FLOOR 1e-8

/* <a, b> / ((||a|| + AC_SVM_CORR_FLOOR) (||b|| + AC_SVM_CORR_FLOOR)) over n entries. */
double ac_svm_corr(const double *a, const double *b, int n);

/* ---- an instance and its theory ---- */

typedef struct {
    ac_tpg_data *D;     /* the training sequences (owned) */
    double *E;          /* K x d embeddings (owned) */
    int K, d;
    ac_tpg_solution th; /* the theory side: TPGs, W_svm, W_fin, ... (owned) */
} ac_svm_instance;

/* Draw the data of an instance with r (spec §5) under the setup's sizes
 * and mode; th is left empty.  I is initialised here. */
ac_status ac_svm_instance_draw(ac_svm_instance *I, gsl_rng *r, const ac_svm_setup *su, ac_svm_gen_mode mode,
                               ac_msg *msg);
/* The theory side from (D, E) alone (theory/tpg_solve.h).  AC_ENOCONV with
 * msg naming the solver when the Graph-SVM QP or the W_fin Newton solve does
 * not converge. */
ac_status ac_svm_instance_theory(ac_svm_instance *I, ac_msg *msg);
/* Free what I owns; I is then empty. */
void ac_svm_instance_clear(ac_svm_instance *I);

/* ---- a trained trajectory ---- */

/* Checkpoints along a run for the tables and figures. */
#define AC_SVM_NCHECK 100

typedef struct {
    int ncp;     /* checkpoints filled */
    long *t;     /* ncp step counts */
    double *W;   /* ncp x d x d */
    double *loss;/* ncp losses */
} ac_svm_trajectory;

/* Train the experiment's model on I's data from W(0) drawn with r
 * (ac_svm_model_init), keeping W at steps 0, steps/AC_SVM_NCHECK, ...,
 * steps into out (initialised here).  AC_ENUMERIC when training diverges
 * (out keeps the checkpoints before). */
ac_status ac_svm_trajectory_train(ac_svm_trajectory *out, const ac_svm_instance *I, gsl_rng *r,
                                  const ac_svm_train_settings *ts, ac_msg *msg);
void ac_svm_trajectory_clear(ac_svm_trajectory *tr);

/* ---- measurements ---- */

/* Attention mass example i of I's data puts on its label's SCC at W;
 * mass (K entries) is workspace. */
double ac_svm_top_mass(const ac_svm_instance *I, const double *W, int i, double *mass);
/* Mean over I's training examples of 1 - top mass (NaN on no memory). */
double ac_svm_mean_leak(const ac_svm_instance *I, const double *W);

/* R = argmin_R ||W_fin + R W_svm - W|| = <W - W_fin, W_svm> / ||W_svm||^2
 * (spec §3.3; 0 when W_svm = 0). */
double ac_svm_decomposition_R(const ac_svm_instance *I, const double *W);
/* corr(W, W_fin + R W_svm) with that R (NaN on no memory). */
double ac_svm_decomposition_corr(const ac_svm_instance *I, const double *W);
/* corr(W - P_fin W, W_svm) (NaN on failure). */
double ac_svm_perp_corr(const ac_svm_instance *I, const double *W);

/* ||P_fin W_c - Wf_c|| for the ncp matrices W (ncp x d x d) into out (ncp);
 * Wf is one matrix (stride 0) or one per checkpoint (stride d*d). */
ac_status ac_svm_fin_distance(const ac_svm_instance *I, const double *W, int ncp, const double *Wf, int stride,
                              double *out);

/* S1-S5 of spec §4.1, as worst values over the instances measured. */
typedef struct {
    double ineq, eq, sfin;        /* S1: max(0, rhs - <A_c, W_svm>), |<A_c, W_svm>| on equalities, ||P_fin W_svm|| */
    double stat, lam_min, compl;  /* S2: ||W_svm - sum_c lambda_c A_c||, min lambda_c (inequalities),
                                     |lambda_c (<A_c, W_svm> - rhs)| */
    double s4, s5, s5_tol;        /* S4: relative ||grad L_red - P_fin grad L_red||; S5: L(mid) - mean L; its bound */
    double sweeps, cons;          /* QP sweeps, constraints (summed) */
} ac_svm_structure;

/* Every maximum at 0, the minimum at +inf, s5 at -inf. */
void ac_svm_structure_init(ac_svm_structure *a);
/* S1 and S2 of one instance, from its constraint set and multipliers, with
 * W_svm given (the instance's own, or a perturbed one to plant a fault):
 * constraint values and sum_c lambda_c A_c formed in R^{d x d} from E
 * directly, not from the solver's coefficients. */
ac_status ac_svm_check_s1_s2(const ac_svm_instance *I, const double *Wsvm, ac_svm_structure *a);
/* S4 and S5 at AC_SVM_SPOT_POINTS random points drawn with r, with the
 * experiment's model loss at head `head`: S4 on the loss of (Dg, query)
 * (the claim passes the reduced dataset I->th.Dred->data and its queries
 * I->th.Dred->last), S5 on the loss of I's data.  Another dataset or head
 * plants a loss that is not the theory's. */
#define AC_SVM_SPOT_POINTS 20
ac_status ac_svm_check_s4_s5(const ac_svm_instance *I, gsl_rng *r, const ac_tpg_data *Dg, const int *query,
                             ac_svm_head head, ac_svm_structure *a);

/* ---- held-out retrieval and its rate (spec §4.2 "Held-out sequences") ---- */

/* Attention mass outside component `top` of the graph of sequence tok (T
 * tokens) that token logits Up (K x K, Up[j*K + k] = e_j^T W e_k) give:
 * softmax over positions of Up[tok_t, k], max-shifted. */
double ac_svm_predicted_leak(const ac_tpg *G, const double *Up, const int *tok, int T, int top);

/* Least squares y = a + b x over n >= 3 points: the slope b, its standard
 * error sqrt(SSR / (n - 2) / Sxx), and sum |x - xbar| / Sxx (NaN below 3). */
typedef struct {
    double slope, se, lever;
} ac_svm_line_fit;
ac_svm_line_fit ac_svm_fit_line(const double *x, const double *y, int n);

/* The rate verdict of one window of n >= 6 iterates: the slope of
 * ln(leak) against R, against -m; tol = 3 se + |slope on the second half -
 * slope on the first| + 1 / (e mean R); dev = |slope + m|; pass = dev <= tol
 * (NaN fails).  See verify/svm_measure.c for the reasons. */
typedef struct {
    double slope, se, drift, bias, tol, dev;
    int pass;
} ac_svm_rate;
ac_svm_rate ac_svm_rate_judge(const double *R, const double *leak, int n, double m);

/* Held-out sequences per trial; 200 gives a standard error of the mean mass
 * below 1e-4 at the leakage levels seen.  Draws allowed to find them. */
#define AC_SVM_HELDOUT_SEQS 200
#define AC_SVM_HELDOUT_MAX_DRAWS 200000

/* Up to AC_SVM_HELDOUT_SEQS sequences of T tokens drawn with r by the
 * generator's rule that have a top SCC (ac_tpg_top_scc), and that SCC. */
typedef struct {
    int n, T;
    int *tok; /* n x T */
    int *top; /* n */
} ac_svm_heldout;
/* h is filled here (clear it after, also on error). */
ac_status ac_svm_heldout_draw(const ac_svm_instance *I, gsl_rng *r, int T, ac_svm_heldout *h);
void ac_svm_heldout_clear(ac_svm_heldout *h);

/* 1 when token j lies in component `top` of the graph of sequence tok. */
int ac_svm_in_top(const ac_tpg *G, const int *tok, int T, int top, int j);

/* The rate measurement over the nc iterates Ws (nc x d x d): *m the
 * smallest held-out logit gap from W_svm alone, *nrate the sequences with a
 * token outside the top SCC, and into out (4 nc): R, mean leakage (the sum
 * of the masses outside), the leakage W_fin + R W_svm gives, and delta =
 * max |x_t^T (W - W_fin - R W_svm) xbar|, at each iterate. */
ac_status ac_svm_rate_window(const ac_svm_instance *I, const ac_svm_heldout *h, const double *Ws, int nc, double *m,
                             int *nrate, double *out);

#endif
