/* The claims of the attention-paths paper (Tiberi, Mignacco, Irie,
 * Sompolinsky, NeurIPS 2024; spec attention_paths §3-§4.1) on the
 * hidden-Markov-chain task, registered in verify/registry.c.
 *
 * Every claim runs through the trial harness (verify/trial.h).  The task is
 * the spec's with the authors' fixed seeds (train 27, test 59, random heads
 * 147 and 247: verify/paths_task.h), so the theory side of every trial is
 * deterministic; only the Gibbs sampler of paths.theory-vs-samples uses the
 * trial's generator (seed S + i). */
#ifndef AC_PATHS_CLAIMS_H
#define AC_PATHS_CLAIMS_H

#include "verify/claim.h"
#include "verify/trial.h"

/* The claim table: the AC_PATHS_MARKOV_NCLAIMS claims of this file first
 * (accuracy-vs-width, kernel-combination, gp-limit, closed-form,
 * theory-vs-samples), then paths.head-pruning and paths.digits, whose
 * trials verify/paths_net_claims.h defines. */
#define AC_PATHS_MARKOV_NCLAIMS 5
#define AC_PATHS_NCLAIMS 7
extern const ac_claim_def ac_paths_claims[AC_PATHS_NCLAIMS];

/* The regress_rtol of every paths claim (verify/regress.h), in place of
 * AC_REGRESS_RTOL_DEFAULT's "a few ulps amplified by training": the theory
 * side's numbers come from saddle points that the solve fixes to within its
 * stopping test (|grad S/n_max|_inf <= 1e-8, solvers/minimize.h; 1e-12 in
 * paths.gp-limit, where N (U - U_GP) at N = 1e7 keeps what is left of it),
 * not to the ulp, and the sampler's chains replay exactly.  Another summation
 * order (OpenBLAS's Haswell and Prescott kernels in place of SkylakeX's, by
 * OPENBLAS_CORETYPE, default size) moved them by at most 5e-8 relative
 * (an entry of U_1 of 0.006 by 3e-10; accuracies by 1.3e-8; N (U - U_GP) by
 * 1e-8), as did factoring K + T I in another storage order; 1e-6 leaves a
 * factor 20.  A larger move is another end point, and regress reports it. */
#define AC_PATHS_REGRESS_RTOL 1e-6
#define AC_PATHS_REGRESS_REASON                                                                                      \
    "saddle points fixed to within the solve's stopping test, not to the ulp: another summation order moved them " \
    "by at most 5e-8 relative (verify/paths_claims.h)"

/* The widths of the spec's accuracy table (§4.1). */
#define AC_PATHS_CLAIM_NWIDTH 7

/* The sizes of the claims at a run size. */
typedef struct {
    int nwidth;                             /* widths of the accuracy table used */
    double width[AC_PATHS_CLAIM_NWIDTH];    /* those widths, increasing */
    int test_stride;                        /* theory claims: every test_stride-th test point */
    /* paths.theory-vs-samples, at (N, P) = (10, 100) ([0]), (50, 50) ([1]) and (100, 100) ([2]) */
    int gibbs_chains;
    long gibbs_burn[3], gibbs_keep[3];
    int gibbs_test_stride[3];               /* the sampler's test points: every k-th of the 1000 */
} ac_paths_claim_setup;

/* The setup of a run size (quick for tests, default for `make results`,
 * paper for the spec's sizes). */
void ac_paths_claim_setup_of(ac_size size, ac_paths_claim_setup *s);

/* The standard error of the difference of two accuracies measured on the
 * same n test points (paired; McNemar): b points right under the first and
 * wrong under the second, c the reverse:
 *   SE = sqrt(b + c - (b - c)^2 / n) / n.
 * 0 when n < 1. */
double ac_paths_paired_se(double b, double c, double n);

/* The kernel-label alignment of a P x P kernel K (symmetric, row-major)
 * with labels Y (P): overlap[k] = |PC_k . Y| / sqrt(P) for the unit
 * eigenvectors PC_k in decreasing eigenvalue order, k < nk (nk <= P), and
 * *kta = Y^T K Y / (P ||K||_F), the kernel-target alignment (cosine of K
 * and Y Y^T in Frobenius product).  AC_ENOMEM, AC_ENUMERIC (the
 * eigensolver failed) or AC_OK. */
ac_status ac_paths_kernel_alignment(int P, const double *K, const double *Y, int nk,
                                    double *overlap, double *kta);

#endif
