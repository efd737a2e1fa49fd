/* Real English text for JoMA (spec joma §4.3, §4.3b): the corpus Debian's
 * `fortunes` package ships, its tokeniser, and a small causal transformer of
 * the §4.3 recipe trained in C (Adam, gradient clipping), with the
 * attention entropy the paper follows along training.
 *
 * Corpus.  The plain text files AC_JOMA_TEXT_FILES under AC_JOMA_TEXT_DIR
 * (never the .dat indexes or the .u8 links), read in that order; the project
 * ships no copy (`make deps` installs the package).  Each file must be valid
 * UTF-8.  Tokeniser, in this order:
 *   1. overstrike: a character followed by a backspace (0x08) is dropped
 *      with the backspace ("_\bx" and "x\bx" read "x"), as a terminal shows it;
 *   2. a line holding only "%" (the separator between fortunes) is a newline;
 *   3. every C0 control character and DEL is white space;
 *   4. a token is a maximal run of ASCII letters and digits, lower-cased
 *      ("Don't" -> "don" "'" "t"), or any other single character (one UTF-8
 *      code point: punctuation, symbols, non-ASCII letters);
 *   5. the vocabulary is <unk> (id 0) and the V - 1 most frequent tokens
 *      (ids 1 .. V-1), ties broken by byte order (strcmp); every other token
 *      reads as <unk>.
 * The last AC_JOMA_TEXT_HELDOUT of the stream is held out (never trained on).
 *
 * Model (spec §4.3, the PyTorch tutorial's encoder with a causal mask; one
 * layer, one head, post-LN):
 *   x_i  = sqrt(d) E[tok_i] + PE_i          (PE sinusoidal; off for positional = 0)
 *   q, k, v = x Wq^T + bq, x Wk^T + bk, x Wv^T + bv
 *   a_ij = softmax_j (q_i . k_j / sqrt(d)) over j <= i (causal)
 *   h1   = LN(x + (sum_j a_ij v_j) Wo^T + bo)
 *   h2   = LN(h1 + W2 relu(W1 h1 + b1) + b2)
 *   loss = mean_i -log softmax(Wd h2_i + bd)[tok_{i+1}]
 * LN(r) = g o (r - mean r) / sqrt(var r + AC_JOMA_TEXT_LN_EPS) + b.
 * Training applies the recipe's dropout where PyTorch's encoder layer does:
 * to x, to the attention weights a, to the attention block's output before
 * its residual sum, to the FFN's hidden layer and to its output before its
 * residual sum (inverted dropout: kept entries scaled by 1/(1 - p)).  The
 * entropy and the held-out loss are evaluated in eval mode (no dropout).
 * The attention entropy of a sequence is the mean over its rows i of
 * -sum_{j <= i} a_ij ln(a_ij + AC_JOMA_TEXT_ENTROPY_EPS) (the authors'
 * decoder_wiki.py, spec §4.3). */
#ifndef AC_JOMA_TEXT_H
#define AC_JOMA_TEXT_H

#include <gsl/gsl_rng.h>

#include "solvers/status.h"
#include "verify/train.h"

/* ---- corpus -------------------------------------------------------- */

/* Where Debian's `fortunes` package puts its text. */
#define AC_JOMA_TEXT_DIR "/usr/share/games/fortunes"
/* The package that provides it (named in the message when it is missing). */
#define AC_JOMA_TEXT_PACKAGE "fortunes"
/* The fixed list of files read, in this order: every plain text file of
 * fortunes 1:1.99.1 (43 files, 2.79 MB).  A file missing is an error, so the
 * corpus is the same wherever it is read. */
#define AC_JOMA_TEXT_NFILES 43
extern const char *const AC_JOMA_TEXT_FILES[AC_JOMA_TEXT_NFILES];
/* Fraction of the token stream held out at its end (spec §4.3b: 10 %). */
#define AC_JOMA_TEXT_HELDOUT 0.1
/* Longest token kept (bytes); longer runs are cut into pieces of this size. */
#define AC_JOMA_TEXT_TOKEN_MAX 64
/* The unknown token's id and spelling. */
#define AC_JOMA_TEXT_UNK 0
#define AC_JOMA_TEXT_UNK_NAME "<unk>"

/* A tokenised corpus, owned by the struct (init by the readers, then
 * ac_joma_text_corpus_clear). */
typedef struct {
    int V;          /* vocabulary size, <unk> included */
    char **word;    /* V spellings, word[0] = "<unk>"; ids past ntypes are unused, spelled "" */
    long *count;    /* V counts in the whole stream (count[0]: tokens read as <unk>) */
    int *tok;       /* ntok ids in [0, V) */
    long ntok;      /* tokens in the stream */
    long ntrain;    /* the first ntrain are for training, the rest held out */
    long ntypes;    /* distinct tokens before the vocabulary cut */
} ac_joma_text_corpus;

/* Tokenise the files paths[0..npaths-1] (read in order) into C with a
 * vocabulary of V >= 2.  AC_EIO "PATH: cannot open: REASON (install the
 * Debian package fortunes)" when a file cannot be read; AC_EPARSE
 * "PATH:LINE: invalid UTF-8 byte 0xNN at column COL" on the first byte that
 * is not valid UTF-8 (overlong forms, surrogates and code points above
 * U+10FFFF included); AC_EINVAL for V < 2 or npaths < 1, or when the
 * stream has fewer than 2 tokens in training or held out; AC_ENOMEM.  C is
 * empty on every error. */
ac_status ac_joma_text_corpus_read_files(ac_joma_text_corpus *C, const char *const *paths, int npaths, int V,
                                         ac_msg *msg);
/* The same over AC_JOMA_TEXT_FILES in dir (NULL: AC_JOMA_TEXT_DIR). */
ac_status ac_joma_text_corpus_read(ac_joma_text_corpus *C, const char *dir, int V, ac_msg *msg);
void ac_joma_text_corpus_clear(ac_joma_text_corpus *C);

/* ---- model ---------------------------------------------------------- */

/* LayerNorm's epsilon (PyTorch's default). */
#define AC_JOMA_TEXT_LN_EPS 1e-5
/* The entropy's guard inside the log (decoder_wiki.py, spec §4.3). */
#define AC_JOMA_TEXT_ENTROPY_EPS 1e-8
/* The sinusoidal positions' base: PE[p, 2i] = sin(p / 10000^(2i/d)) (the
 * PyTorch tutorial, after Vaswani et al.). */
#define AC_JOMA_TEXT_PE_BASE 10000.0
/* Init (spec §4.3): embedding and decoder weights U(-0.1, 0.1). */
#define AC_JOMA_TEXT_INIT_RANGE 0.1

typedef struct {
    int V;          /* vocabulary, >= 2 */
    int d;          /* width (emsize), >= 2 and even (sinusoidal pairs) */
    int dh;         /* FFN hidden width (d_hid), >= 1 */
    int L;          /* sequence length (bptt), >= 1 */
    int positional; /* 1: add the sinusoidal positions (the recipe); 0: none */
} ac_joma_text_model;

/* NULL when m is usable, else the sentence naming the size (static). */
const char *ac_joma_text_model_check(const ac_joma_text_model *m);

/* The parameters are one vector theta of ac_joma_text_nparams(m) doubles,
 * in this order (matrices row-major, out x in):
 *   E (V x d), Wq, Wk, Wv (d x d each), bq, bk, bv (d each), Wo (d x d), bo,
 *   g1, b1n (d each), W1 (dh x d), b1 (dh), W2 (d x dh), b2, g2, b2n (d each),
 *   Wd (V x d), bd (V). */
long ac_joma_text_nparams(const ac_joma_text_model *m);

/* Offsets into theta of the blocks above. */
typedef struct {
    long E, Wq, Wk, Wv, bq, bk, bv, Wo, bo, g1, b1n, W1, b1, W2, b2, g2, b2n, Wd, bd, n;
} ac_joma_text_layout;
ac_joma_text_layout ac_joma_text_layout_of(const ac_joma_text_model *m);

/* The recipe's initialisation from r (spec §4.3; PyTorch's defaults):
 * E, Wd ~ U(-0.1, 0.1), bd = 0; Wq, Wk, Wv Xavier-uniform on the stacked
 * (3d x d) in-projection, U(-sqrt(6/(4d)), +); bq, bk, bv, bo = 0; Wo
 * U(-1/sqrt(d), +); W1, b1 U(-1/sqrt(d), +); W2, b2 U(-1/sqrt(dh), +);
 * g = 1, b = 0 for both norms.  Drawn block by block in the order above. */
void ac_joma_text_init(const ac_joma_text_model *m, gsl_rng *r, double *theta);

/* A workspace for nseq sequences of m (sizes copied).  NULL on a bad model,
 * nseq < 1 or no memory. */
typedef struct ac_joma_text_work ac_joma_text_work;
ac_joma_text_work *ac_joma_text_work_alloc(const ac_joma_text_model *m, int nseq);
void ac_joma_text_work_free(ac_joma_text_work *w);

/* Train mode: draw the dropout masks of n <= nseq sequences with r (each
 * entry kept with probability 1 - p, in the order x, a, the attention
 * output, the FFN hidden layer, the FFN output, row by row), used by every
 * ac_joma_text_loss until the next call.  p = 0, r NULL or n out of range:
 * eval mode (no dropout).  ac_joma_text_entropy and ac_joma_text_eval always
 * evaluate in eval mode (ac_joma_text_eval leaves w in it). */
void ac_joma_text_work_dropout(ac_joma_text_work *w, double p, gsl_rng *r, int n);

/* Mean next-token cross-entropy (nats) over the n <= nseq sequences
 * in[s*L .. s*L+L-1] with targets tgt (same shape; ids in [0, V)), at theta,
 * and its gradient into grad (nparams; NULL: loss only).  NaN when n is out
 * of range or an id is.  grad may not alias theta. */
double ac_joma_text_loss(ac_joma_text_work *w, const double *theta, const int *in, const int *tgt, int n,
                         double *grad);

/* Mean attention entropy (nats) over the n <= nseq sequences in (n x L),
 * every row i of each (spec §4.3's metric); NaN when n or an id is out of
 * range.  Only the attention is evaluated. */
double ac_joma_text_entropy(ac_joma_text_work *w, const double *theta, const int *in, int n);

/* The largest value the entropy can take at length L: uniform causal
 * attention, mean_{i=1..L} ln i (2.632 at L = 35, spec §4.3). */
double ac_joma_text_entropy_max(int L);

/* ---- evaluation over a stretch of tokens ---------------------------- */

/* Entropy and loss over held-out text: nseq consecutive chunks of L tokens
 * from tok[0..], chunk c = tok[c L .. c L + L - 1] (targets shifted by one),
 * evaluated through w in groups of w's nseq.  Needs ntok >= nseq L + 1.
 * Either output may be NULL.  AC_EINVAL when the tokens are too few. */
ac_status ac_joma_text_eval(ac_joma_text_work *w, const double *theta, const int *tok, long ntok, int nseq,
                            double *entropy, double *loss, ac_msg *msg);

/* ---- trainer (verify/train.h) --------------------------------------- */

/* The recipe's optimiser (spec §4.3): Adam with PyTorch's defaults, the
 * gradient's norm clipped at 0.5, batch 20 of bptt 35. */
#define AC_JOMA_TEXT_LR_DEFAULT 1e-4
#define AC_JOMA_TEXT_BETA1_DEFAULT 0.9
#define AC_JOMA_TEXT_BETA2_DEFAULT 0.999
#define AC_JOMA_TEXT_ADAM_EPS_DEFAULT 1e-8
#define AC_JOMA_TEXT_CLIP_DEFAULT 0.5
/* clip_grad_norm_ scales by clip / (||g|| + this) (PyTorch's constant, so
 * the bench's steps agree to rounding). */
#define AC_JOMA_TEXT_CLIP_EPS 1e-6
#define AC_JOMA_TEXT_BATCH_DEFAULT 20
#define AC_JOMA_TEXT_BPTT_DEFAULT 35
#define AC_JOMA_TEXT_STEPS_DEFAULT 5000L
/* The recipe's dropout (spec §4.3). */
#define AC_JOMA_TEXT_DROPOUT_DEFAULT 0.2
/* A loss above this factor times the loss at the start is a blow-up: Adam
 * at these rates never multiplies a cross-entropy of ~ln V by 10. */
#define AC_JOMA_TEXT_DIVERGE_FACTOR 10.0

typedef struct {
    long steps;            /* step limit, >= 1 */
    double lr;             /* Adam's step, > 0 and finite */
    double beta1, beta2;   /* in [0, 1) */
    double adam_eps;       /* > 0 */
    double clip;           /* clip ||grad|| at this norm; 0: no clipping */
    double diverge_factor; /* diverged when loss > diverge_factor loss0, > 1 */
    double dropout;        /* in [0, 1): the masks' drop probability (0: none) */
} ac_joma_text_train_settings;

void ac_joma_text_train_settings_default(ac_joma_text_train_settings *s);
/* NULL when s is usable, else the sentence naming the setting (static). */
const char *ac_joma_text_train_settings_check(const ac_joma_text_train_settings *s);

typedef struct ac_joma_text_trainer ac_joma_text_trainer;

/* A trainer for m with batch sequences per step (m.L is bptt).  NULL on a
 * bad model, batch < 1, or no memory. */
ac_joma_text_trainer *ac_joma_text_trainer_alloc(const ac_joma_text_model *m, int batch);
void ac_joma_text_trainer_free(ac_joma_text_trainer *tr);

/* Start a run on the training tokens tok[0..ntok-1] (borrowed until the
 * next set or free) from theta0 (copied; Adam's moments zero) under s
 * (copied); r (borrowed likewise) draws the dropout masks, one set per step
 * (NULL allowed when s.dropout = 0).  The batches are the tutorial's: the stream cut into `batch`
 * equal columns, step k reads rows [c L, c L + L] of every column with c = k
 * mod (the chunks per column), so an epoch is every chunk once, in order.
 * AC_EINVAL (msg says which) for bad settings, dropout without r, an id
 * outside [0, V), a non-finite theta0, or fewer tokens than one chunk per
 * column needs. */
ac_status ac_joma_text_trainer_set(ac_joma_text_trainer *tr, const int *tok, long ntok,
                                   const ac_joma_text_train_settings *s, const double *theta0, gsl_rng *r,
                                   ac_msg *msg);
/* One step: the dropout masks, the batch's loss and gradient, the
 * endings, then clip and Adam.  Diverged when the loss or gradient is not finite or the loss
 * exceeds diverge_factor loss0 (theta stays the last finite iterate); step
 * limit after s.steps.  AC_EINVAL before a good set, else AC_OK. */
ac_status ac_joma_text_trainer_iterate(ac_joma_text_trainer *tr);
ac_train_outcome ac_joma_text_trainer_test(const ac_joma_text_trainer *tr);
/* Iterate until `steps` steps in all or an ending (AC_TRAIN_RUNNING when
 * stopped at `steps`). */
ac_train_outcome ac_joma_text_trainer_run(ac_joma_text_trainer *tr, long steps);
/* The current parameters (borrowed until the next iterate or set), the
 * model, and the info (loss = batch loss before the last step). */
const double *ac_joma_text_trainer_theta(const ac_joma_text_trainer *tr);
const ac_joma_text_model *ac_joma_text_trainer_model(const ac_joma_text_trainer *tr);
const ac_train_info *ac_joma_text_trainer_info(const ac_joma_text_trainer *tr);

#endif
