/* The data generator of the Graph-SVM experiments (spec tpg_svm §5), shared
 * by the claims and by `attncheck svm generate`, so that every claim's
 * instance can be exported and rerun through the CLI. */
#ifndef AC_SVM_DATA_H
#define AC_SVM_DATA_H

#include <gsl/gsl_rng.h>

#include "theory/tpg.h"

typedef enum {
    AC_SVM_GEN_ANY = 0,  /* no rejection */
    AC_SVM_GEN_ACYCLIC,  /* every token-priority graph a DAG */
    AC_SVM_GEN_CYCLIC    /* at least one SCC with two or more tokens */
} ac_svm_gen_mode;

const char *ac_svm_gen_mode_str(ac_svm_gen_mode m);
int ac_svm_gen_mode_parse(const char *s);

/* Redraws before the rejection loop gives up.  Acyclic draws succeed with
 * probability about 1/3 at the paper's sizes; 10^5 failures mean the sizes
 * make the asked-for structure practically impossible. */
#define AC_SVM_GEN_MAX_TRIES 100000

typedef struct {
    int n, T, K, d;
    ac_svm_gen_mode mode;
    long max_tries;
} ac_svm_gen_settings;

/* Check sizes: n >= 1, T >= 1, K >= 1, d >= 1, and mode-specific limits.
 * AC_ESIZE with the sentence in msg. */
ac_status ac_svm_gen_check(const ac_svm_gen_settings *s, ac_msg *msg);

/* Draw the embeddings (K x d, i.i.d. Gaussian rows scaled to unit norm), then
 * datasets until one has the structure the mode asks for.  The generator r is
 * consumed in that order, so a seed fixes the instance.  *E (K x d) and *D are
 * new.  *tries (may be NULL) counts the datasets drawn.  AC_ENOCONV when
 * max_tries draws all failed. */
ac_status ac_svm_generate(gsl_rng *r, const ac_svm_gen_settings *s, ac_tpg_data **D, double **E,
                          long *tries, ac_msg *msg);

/* Draw one sequence of length T over K tokens by the rule of spec §5 (T <= K:
 * distinct tokens; T > K: a permutation then uniform draws) into tok. */
void ac_svm_draw_sequence(gsl_rng *r, int T, int K, int *tok);

#endif
