/* The task file of the attention-paths commands (attncheck paths solve |
 * sample | generate): a user's own inputs, labels and frozen attention in
 * JSON, read with every quantity checked, and written back in the same
 * format (docs/paths.md is the user's description; spec attention_paths
 * §1-§3 the theory it feeds).
 *
 * The file is one JSON object:
 *   "format"    optional, "attncheck-paths-task/1"
 *   "description" optional string (free text)
 *   "L"         layers, 1..AC_PATHS_MAX_LAYERS
 *   "H"         L head counts (>= 1; H_1 ... H_L <= AC_PATHS_MAX_PATHS paths)
 *   "N"         every width (a number), or L+1 widths n_0 .. n_L (n_L = N_a), > 0
 *   "sigma2"    optional: every sigma_l^2, or L+1 of them (default 1), > 0
 *   "sigma2_a"  optional: readout prior variance (default 1), > 0
 *   "T"         temperature (likelihood variance), > 0
 *   "readout"   optional: "last" (default), "mean", or a token index 0..ntok-1
 *   "train"     {"x": P examples, "y": P labels}, P >= 1
 *   "test"      optional: {"x": Pt examples, "y": optional Pt labels}
 *   "attention" {"kind": "qk", "heads": [[{"Q": G x N0, "K": G x N0}, ...H_1], ...L]}
 *             | {"kind": "bilinear", "heads": [[{"W": N0 x N0}, ...H_1], ...L]}
 *             | {"kind": "matrices", "train": [P][L][H_l][ntok][ntok],
 *                                    "test": [Pt][L][H_l][ntok][ntok]}
 * An example is ntok tokens, each N0 numbers ([[x_0], [x_1], ...]); N0 and
 * ntok are read off train.x[0] and every other example must match it.
 * Attention (spec §1; key s, query t; softmax over the key s):
 *   qk:       Omega[s, t] = softmax_s((K x_s) . (Q x_t) / sqrt(G))
 *   bilinear: Omega[s, t] = softmax_s(x_s^T W x_t)
 *   matrices: Omega as given: entries >= 0, every column (query) summing to
 *             1 within AC_PATHS_IO_COLSUM_TOL.
 * Unknown keys are refused (a misspelt optional key would otherwise be
 * silently ignored).  Numbers are JSON numbers; NaN and Inf cannot be
 * written in JSON and are refused by the parser.
 *
 * Every error returns a status with msg "FILE: KEY: reason" naming the key
 * path (train.x[3][2]) and the quantity, or "FILE:LINE:COLUMN: reason" for
 * JSON syntax.  Library code: no printing, no exits. */
#ifndef AC_PATHS_IO_H
#define AC_PATHS_IO_H

#include <stdio.h>

#include "solvers/minimize.h"
#include "solvers/status.h"
#include "theory/paths.h"

#define AC_PATHS_IO_FORMAT "attncheck-paths-task/1"
/* Column sums of given attention matrices: 1 within 1e-5, so that a float32
 * softmax (rounding ~6e-8 per entry, ntok of them) passes and a transposed
 * matrix (rows summing to 1) does not. */
#define AC_PATHS_IO_COLSUM_TOL 1e-5
/* Largest path tensor (P + Pt) x N0 x H^L a task may need: 2^28 doubles
 * (2 GiB), far above the paper's tasks (1100 x 231 x 4 = 1e6) and below
 * what a workstation holds twice. */
#define AC_PATHS_IO_MAX_PHI ((size_t)1 << 28)
/* Largest attention of one example, nheads x ntok x ntok: 2^26 doubles (512
 * MiB), the scratch ac_paths_task_phi holds (qk and bilinear compute it from
 * a few numbers per token, so without this bound a 200 kB file of 20000
 * one-feature tokens asked for 3 GiB).  The paper's tasks need 4 x 31 x 31;
 * the bound leaves 4 heads of 4096 tokens. */
#define AC_PATHS_IO_MAX_OMEGA ((size_t)1 << 26)
/* Most JSON values (numbers, arrays, objects, strings) a task file may
 * hold: 2^25.  jansson keeps each as a node of 24 to 100 bytes (a lone
 * number in its array of one costs the most: "[[1]]," is 6 bytes of text
 * and 3 nodes, measured 95 bytes a value in all), so the parsed document
 * stays within about 3.4 GB, under AC_PATHS_IO_BYTES_MAX; the reader counts
 * the separators as it reads and stops past the bound, before the
 * document is built.  The claims' Markov task with its 1000 test examples
 * holds 8.1e6 values; the bound leaves 4633 such examples in all (paths
 * generate refuses more). */
#define AC_PATHS_IO_MAX_VALUES ((size_t)1 << 25)

typedef enum {
    AC_PATHS_ATTN_QK,        /* per head Q, K (G_k x N0 each) */
    AC_PATHS_ATTN_BILINEAR,  /* per head W (N0 x N0) */
    AC_PATHS_ATTN_MATRICES   /* per example, layer and head, ntok x ntok */
} ac_paths_attn_kind;

/* The readout vector r of ac_paths_phi: e_t (token t), 1/ntok everywhere
 * (mean), or e_{ntok-1} (last). */
#define AC_PATHS_READOUT_LAST (-1)
#define AC_PATHS_READOUT_MEAN (-2)

typedef struct {
    ac_paths_settings s;   /* L, H, widths, sigma^2, sigma_a^2, T */
    int N0, ntok;
    int readout;           /* token index, or AC_PATHS_READOUT_LAST / _MEAN */
    int P, Pt;             /* training and test examples */
    double *X, *Y;         /* P x N0 x ntok (example mu: N0 x ntok, tokens as
                              columns, as spec §1 and ac_paths_phi), P labels */
    double *Xt, *Yt;       /* Pt x N0 x ntok; Pt labels or NULL (none given) */
    ac_paths_attn_kind kind;
    int nheads;            /* sum_l H_l; heads in order layer 1 first */
    int *G;                /* qk: nheads row counts */
    double *Q, *K;         /* qk: head k's G_k x N0 blocks one after the other */
    double *W;             /* bilinear: nheads x N0 x N0 */
    double *Om, *Omt;      /* matrices: P (Pt) x nheads x ntok x ntok, [s, t] */
    char *description;     /* NULL or a copy */
} ac_paths_task;

/* An empty task (every pointer NULL); _clear frees what it holds and
 * empties it again (safe on an empty task). */
void ac_paths_task_init(ac_paths_task *t);
void ac_paths_task_clear(ac_paths_task *t);

/* AC_OK when t is a usable task, else AC_EINVAL (or AC_ESIZE for sizes) with
 * msg "NAME: KEY: reason", NAME the file name used in messages: the settings
 * (ac_paths_settings_check's bound, under the key that sets it), sizes (P >=
 * 1, N0, ntok >= 1, G >= 1, the path tensor within AC_PATHS_IO_MAX_PHI, one
 * example's attention within AC_PATHS_IO_MAX_OMEGA, and
 * BLAS's int sizes), a non-finite entry, a readout token outside the
 * sequence, attention matrices with a negative entry or a column not summing
 * to 1.  The reader calls it; the writer too, before writing anything. */
ac_status ac_paths_task_check(const ac_paths_task *t, const char *name, ac_msg *msg);

/* Parse a task from buf[0..len) (name is used in messages; NULL reads as
 * "<task>").  t is initialised here; on error it is left empty.  AC_EPARSE
 * (JSON syntax, a missing or unknown key, a wrong type or shape), AC_EINVAL /
 * AC_ESIZE (ac_paths_task_check), AC_ENOMEM. */
ac_status ac_paths_task_parse(const char *buf, size_t len, const char *name, ac_paths_task *t,
                              ac_msg *msg);
/* Read the file path and parse it into t (initialised here, as by _parse:
 * clear a task read before first); AC_EIO (msg "PATH: reason") when it
 * cannot be read, AC_EINVAL for a NULL path or t.  The text is parsed as it is read (jansson's callback
 * loader), so memory follows what was parsed: a stream that is not JSON
 * stops at its first bad byte.  A leading UTF-8 byte-order mark is skipped,
 * here and by _parse (RFC 8259 allows a parser to ignore one). */
ac_status ac_paths_task_read(const char *path, ac_paths_task *t, ac_msg *msg);

/* Write t in the format above, every number as %.17g in the C locale
 * whatever the process locale (a -0.0 as -0.0), so that reading it back
 * gives the same doubles bit for bit.  Checks t first (nothing written when
 * it fails; msg names "<task>").  AC_EIO when a write fails (f's error flag
 * set; f is not closed: that stays with the caller, e.g. ac_atomic_commit). */
ac_status ac_paths_task_write(FILE *f, const ac_paths_task *t, ac_msg *msg);

/* Doubles of scratch ac_paths_task_omega needs: N0 ntok + 2 max(G) ntok +
 * ntok. */
size_t ac_paths_task_omega_work(const ac_paths_task *t);
/* The attention matrices of example mu (test: of the test set), nheads x
 * ntok x ntok in ac_paths_attention's layout, into Om (work: the scratch
 * above).  For "bilinear" the arithmetic is that of ac_paths_markov_omega
 * (two dgemm, log-sum-exp), so a Markov task written to a file gives the
 * same Omega bit for bit; for "qk" it is S = (K X)^T (Q X) / sqrt(G), then
 * the same softmax; "matrices" are copied. */
void ac_paths_task_omega(const ac_paths_task *t, int test, int mu, double *Om, double *work);

/* The path tensor (P or Pt x N0 x H^L, ac_paths_phi's layout) of the
 * training (test = 0) or test set.  AC_ENOMEM, AC_EINVAL (ac_paths_phi's
 * message), AC_OK. */
ac_status ac_paths_task_phi(const ac_paths_task *t, int test, double *Phi, ac_msg *msg);

/* ---- The theory on a task (attncheck paths solve) ------------------------ */

typedef struct {
    ac_paths_info info;    /* how the minimisation ended, S, U_a */
    double *U;             /* ac_paths_u_size entries: U_1 .. U_L */
    double *scores;        /* nheads head scores (ac_paths_head_scores) */
    double *mean, *var;    /* Pt: predictor mean and variance at U */
    double accuracy;       /* sign accuracy of mean on test labels, NaN without */
    double mse;            /* mean (mean - y)^2 on test labels, NaN without */
    double var_mean;       /* mean of var over the test set (NaN when Pt = 0) */
    double gp_accuracy;    /* the same at the GP values of U (§3.4), NaN without */
    double seconds;        /* path tensor, solve and prediction */
} ac_paths_task_result;

void ac_paths_task_result_init(ac_paths_task_result *r);
void ac_paths_task_result_clear(ac_paths_task_result *r);

/* The saddle point of S from the GP start by ac_paths_solve (set NULL:
 * ac_min_settings_default), the predictor on the test set at it and at the
 * GP values, and the head scores into r, which is initialised here (clear a
 * result of an earlier call first: its arrays are not freed): the computation of
 * ac_paths_markov_accuracy, step for step, on the task's path tensor.
 * Returns AC_OK whenever the minimiser ran (read r->info.min.status);
 * AC_ENUMERIC when K + T I has no Cholesky factor at the GP start (msg names
 * T); AC_EINVAL for bad settings, an attention that is not finite (scores
 * that overflow; msg names the example and the head), or an action or
 * gradient that is not finite at the GP start (labels, inputs or prior
 * variances too large: msg names them with their scales); AC_ENOMEM. */
ac_status ac_paths_task_solve(const ac_paths_task *t, const ac_min_settings *set,
                              ac_paths_task_result *r, ac_msg *msg);

/* ---- Cost, from the sizes, before any work ------------------------------- */

/* A task file of kilobytes can ask for more memory than the machine has and
 * for hours of work: 24000 one-number examples make K + T I 24000 x 24000
 * (4.6 GB) and 4.6e12 flops (its Cholesky) an
 * evaluation; 4096 paths make U_1 4096 x 4096, whose factor and inverse take
 * minutes an evaluation, and a solve takes thousands.  The commands estimate
 * both from the sizes and refuse (AC_ESIZE, naming the key) above these
 * bounds, set on a 2-core machine with 24 GiB (docs/paths.md):
 *   memory: 4 GiB, a sixth of that machine;
 *   time: 30 minutes for the whole run (a solve: its evaluations of the
 *         action and gradient, estimated below; a sample: every chain and
 *         sweep). */
#define AC_PATHS_IO_BYTES_MAX 4294967296.0
#define AC_PATHS_IO_SECONDS_MAX 1800.0
/* Evaluations a solve takes, for its estimate: 30 + 20 sqrt(theta), theta
 * the Cholesky parameters (ac_paths_theta_size), at most 3 per iteration
 * allowed and at most 4000.  Measured: 25-35 with one path (P = 1000,
 * 3000), 204 at theta = 146, 761 at 2116, 3043 at 33032, 1824 at 131464. */
#define AC_PATHS_IO_EVALS_BASE 30.0
#define AC_PATHS_IO_EVALS_PER_SQRT_THETA 20.0
#define AC_PATHS_IO_EVALS_MAX 4000.0
/* The rates the estimates use, measured with one OpenBLAS thread on that
 * machine under a load of 2-5 (other jobs sharing its cores), rounded so
 * that the estimate is above the time measured (tests/cli_paths.sh times
 * none of this; docs/paths.md gives the runs):
 *   BLAS_FLOPS: dpotrf, dgemm and dtrsm flops a second (dpotrf at P =
 *               1000 in a solve: 1.2e10);
 *   LOOP_SECONDS: the solve's loops over U_l (its factor, inverse and the
 *               chain rule through L_l, not BLAS), seconds per D_l^3
 *               (measured 1.4-1.5 ns at D_1 = 256 and 512);
 *   DRAW_SECONDS: one gsl_ran_gaussian draw (32 ns measured in
 *               bench/paths.sh's Gibbs floor);
 *   EXP_SECONDS: one entry of an attention softmax (its max, exp and
 *               division; glibc's exp alone measured 3.5 ns).
 * The path tensors of every train and test example are in both estimates:
 * each head's scores (qk: 2 G ntok (2 N0 + ntok) flops; bilinear: 2 N0
 * ntok (N0 + ntok)) through BLAS, their softmax, then np L matrix-vector
 * products of ntok^2 as loops.  A qk task of 40 examples of 128 tokens and
 * G = 10^6 took 35 s there (estimated 270 s), and 1200 such examples of 512
 * tokens would take hours: the estimates had left this out. */
#define AC_PATHS_IO_BLAS_FLOPS 5e9
#define AC_PATHS_IO_LOOP_SECONDS 2e-9
#define AC_PATHS_IO_DRAW_SECONDS 4e-8
#define AC_PATHS_IO_EXP_SECONDS 1e-8

typedef struct {
    double bytes;         /* most memory held at once, the task itself excluded */
    double seconds;       /* the whole run */
    double phi_seconds;   /* of which the path tensors of the train and test examples */
    double evals;         /* solve: the evaluations estimated; sample: sweeps
                             of all chains */
    const char *key;      /* the key whose size dominates the larger of the
                             two against its bound ("train.x", "test.x", "H",
                             "N", "attention"; for sample also "--sweeps") */
} ac_paths_task_cost;

/* The cost of ac_paths_task_solve on t (a checked task) with at most
 * max_iter iterations. */
void ac_paths_task_solve_cost(const ac_paths_task *t, int max_iter, ac_paths_task_cost *c);
/* The cost of sampling t (a checked task with integer widths) by
 * verify/paths_gibbs.h with chains, burn and keep sweeps, the path tensors
 * included. */
void ac_paths_task_sample_cost(const ac_paths_task *t, int chains, long burn, long keep,
                               ac_paths_task_cost *c);
/* AC_OK when c is within AC_PATHS_IO_BYTES_MAX and AC_PATHS_IO_SECONDS_MAX,
 * else AC_ESIZE with msg "NAME: KEY: what would need what (the sizes), over
 * the bound (its name)"; what names the command ("paths solve", "paths
 * sample"). */
ac_status ac_paths_task_cost_check(const ac_paths_task *t, const ac_paths_task_cost *c,
                                   const char *what, const char *name, ac_msg *msg);

/* ---- Tasks of the claims (attncheck paths generate) ---------------------- */

typedef struct {
    unsigned long seed;  /* the task's seed */
    double width;        /* every width N */
    int train, test;     /* examples; 0: the claim's */
} ac_paths_task_gen;

/* A builder fills an initialised task from g; AC_EINVAL (msg: the option),
 * AC_ENOMEM, AC_OK. */
typedef ac_status (*ac_paths_task_builder)(const ac_paths_task_gen *g, ac_paths_task *t,
                                           ac_msg *msg);

/* Seeds of the Markov task: seed S sets the training data's seed S, the
 * test data's S + 32 and the random heads' 147 + (S - 27) and 247 + (S - 27)
 * (offsets added to every seed, as the spec's seed spread), so S = 27 is the
 * claims' task (§4.1). */
#define AC_PATHS_IO_MARKOV_SEED_DEFAULT 27UL
/* The width written when none is asked: the first column of §4.1's table. */
#define AC_PATHS_IO_MARKOV_WIDTH_DEFAULT 10.0

/* The four-path Markov task of §4.1 (AC_PATHS_NET_FOUR_PATHS): exact data
 * draws (ac_paths_markov_data_init), the hand-built heads as bilinear forms
 * (ac_paths_markov_head_w), readout on the last token, every width
 * g->width, sigma^2 = 1, T = 0.01; train / test even (per class halves;
 * 0: 100 and 1000). */
ac_status ac_paths_task_markov(const ac_paths_task_gen *g, ac_paths_task *t, ac_msg *msg);

#endif
