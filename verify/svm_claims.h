/* The claims of the Graph-SVM paper (Li, Huang, Ildiz, Rawat, Oymak 2024;
 * spec tpg_svm §4), registered in verify/registry.c. */
#ifndef AC_SVM_CLAIMS_H
#define AC_SVM_CLAIMS_H

#include <gsl/gsl_rng.h>

#include "theory/tpg.h"
#include "verify/claim.h"
#include "verify/svm_data.h"
#include "verify/trial.h"

/* The claim table: each claim is its trial definition (verify/trial.h) and
 * its id, paper and statement; verify/registry.c registers the table. */
#define AC_SVM_NCLAIMS 8

/* The direction claims' reach, shown (INFO): the NGD steps until a trial's
 * corr(W, W_svm) reaches AC_SVM_DIR_REACH_CORR, within a budget of
 * AC_SVM_DIR_REACH_BUDGET, the slow trials checked every
 * AC_SVM_DIR_REACH_EVERY steps past the main run.  The level and the budget
 * are ours, so the row judges nothing. */
#define AC_SVM_DIR_REACH_CORR 0.97
#define AC_SVM_DIR_REACH_BUDGET 100000
#define AC_SVM_DIR_REACH_EVERY 100
extern const ac_claim_def ac_svm_claims[AC_SVM_NCLAIMS];

/* The sizes of one experiment of the module at a run size: the generator's
 * settings and the trial seeds (trial t draws its instance with
 * `attncheck svm generate --seed (seed + t)` and the sizes here). */
typedef struct {
    int n, T, K, d;
    int trials;
    int steps;
    double lr;
} ac_svm_setup;

/* The setups the claims use: "acyclic" (spec §4.2), "cyclic" (§4.3),
 * "local" (§4.4), "plain-gd" (plain GD runs of §3.3 and §4.3).  Returns
 * AC_ENOTFOUND for another name. */
ac_status ac_svm_claim_setup(const char *name, ac_size size, ac_svm_setup *s);

#endif
