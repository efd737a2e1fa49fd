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
/* Tokens drawn over all redraws, at most: a draw costs some 45 ns a token
 * (measured alone, n = 1000, T = 20: 0.9 ms a draw), so 10^9 is under a
 * minute.  10^5 redraws of a dataset whose asked-for structure never comes
 * take 10^5 n T tokens: 90 s at n = 1000, T = 20 (acyclic, K = 30), hours
 * at n T = 10^6. */
#define AC_SVM_GEN_MAX_DRAWN 1000000000L

/* The redraws for n examples of T tokens: AC_SVM_GEN_MAX_TRIES, fewer where
 * they would draw more than AC_SVM_GEN_MAX_DRAWN tokens, at least 1. */
long ac_svm_gen_tries(int n, int T);

/* Most tokens in a dataset (n*T) and entries in the embeddings (K*d) the
 * generator draws: 10^8, i.e. 400 MB of ids or 800 MB of doubles, already
 * far past what a Graph-SVM solve can take. */
#define AC_SVM_GEN_MAX_ENTRIES 100000000L

typedef struct {
    int n, T, K, d;       /* examples, tokens per sequence, vocabulary, embedding width */
    ac_svm_gen_mode mode;
    long max_tries;       /* datasets drawn before AC_ENOCONV */
} ac_svm_gen_settings;

/* Check the settings, the first fault in this order, with the sentence in
 * msg (the CLI prefixes its command name):
 *   n, T, K, d >= 1                                     AC_ESIZE
 *   what the files can hold (verify/svm_io.h): n <= AC_SVM_IO_MAX_LINES,
 *     T and d <= AC_SVM_IO_MAX_WORDS, K <= AC_SVM_IO_MAX_VOCAB  AC_ESIZE
 *   n*T and K*d <= AC_SVM_GEN_MAX_ENTRIES                AC_ESIZE
 *   cyclic mode: T >= 2 and K >= 2 (a cycle needs two tokens)  AC_ESIZE
 *   mode one of the three, max_tries >= 1, s not NULL     AC_EINVAL
 * e.g. "K = 1048577 is more than a vocabulary holds (1048576 tokens)".
 * AC_OK when all hold.  T > K is valid: spec §5 draws a permutation of the
 * K tokens and then T - K uniform tokens (ac_svm_draw_sequence), and the
 * model tests use it for sequences with repeated tokens. */
ac_status ac_svm_gen_check(const ac_svm_gen_settings *s, ac_msg *msg);

/* Check s (ac_svm_gen_check: on a fault its status and sentence, nothing
 * drawn), then draw the embeddings (K x d, i.i.d. Gaussian rows scaled to
 * unit norm), then datasets until one has the structure the mode asks for.  The generator r is
 * consumed in that order, so a seed fixes the instance.  *E (K x d) and *D are
 * new.  *tries (may be NULL) counts the datasets drawn.  AC_ENOCONV when
 * max_tries draws all failed. */
ac_status ac_svm_generate(gsl_rng *r, const ac_svm_gen_settings *s, ac_tpg_data **D, double **E,
                          long *tries, ac_msg *msg);

/* Draw one sequence of length T over K tokens by the rule of spec §5 (T <= K:
 * distinct tokens; T > K: a permutation then uniform draws) into tok. */
void ac_svm_draw_sequence(gsl_rng *r, int T, int K, int *tok);

#endif
