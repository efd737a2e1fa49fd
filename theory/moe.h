/* Bidirectional attention as a mixture of continuous word experts
 * (Wibisono & Wang, UAI 2023), as written in ../shared/spec/cbow_moe.md
 * (§ numbers below are that note's; the paper's body could not be read, so
 * nothing here cites a theorem number of the paper).
 *
 * The attention model (§1): words 0..V-1 and the mask token V; token
 * embeddings w_v (row v of E, (V+1) x d), positional encodings p_j (row j of
 * P, L x d); per head h the maps W_Q^h, W_K^h (dk x d), W_V^h (dv x d) with
 * optional biases; optional output projection W_O (dout x H dv) and bias
 * b_O; output layer U (V x dout) and bias c (V).  Masking slot i replaces
 * t_i = V; e_j = w_{t_j} + p_j; the masked slot's head-h output is
 *   h^h_i = sum_{j in J} softmax_j((W_Q^h e_i + b_Q)·(W_K^h e_j + b_K)/sqrt(dk))
 *           (W_V^h e_j + b_V),
 * with J = all slots (self = 1, the standard) or all but i (self = 0), and
 *   log p(x_i = v | x_-i) = log softmax_v(c + U(W_O concat_h h^h_i + b_O [+ e_i])),
 * the last term only with the residual (§2.2).  Two layers (§2.4): one head
 * per layer, no biases, W_O or residual; layer 1 maps every slot, layer 2
 * (W_Q2, W_K2: dk x dv, W_V2: dv x dv) reads the masked slot, and the
 * logits are c + U h2_i.
 *
 * The CBOW-MoE form (§2.1-§2.4): gate vectors gamma^h_i = W_K^T(W_Q(w_M +
 * p_i) + b_Q)/sqrt(dk), gate scores s^h_i(v, j) = gamma^h_i·w_v +
 * gamma^h_i·p_j, gating weights pi^h_ij = softmax_{j in J} s^h_i(t_j, j),
 * continuous word experts alpha^h_{v,j} = a^h_v + b^h_j with a^h_v = W_V w_v,
 * b^h_j = W_V p_j, output embeddings rho^h = U W_O^h, and
 *   logit_v = c_v + beta_{i,v} + sum_h rho^h_v · sum_j pi^h_ij alpha^h_{t_j,j},
 * where c absorbs U b_O and U W_O^h b_V^h, beta_i = U(w_M + p_i) is the
 * residual's slot bias (0 without it), and the key bias cancels.
 *
 * Arrays are row-major doubles with explicit sizes; a head index is the
 * slowest.  Every softmax is a log-sum-exp.  No function here prints, exits
 * or calls GSL's error handler. */
#ifndef AC_MOE_H
#define AC_MOE_H

#include <stddef.h>

#include <gsl/gsl_rng.h>

#include "solvers/status.h"

/* Largest size any one dimension may take: the forms are dense, and the
 * tests and claims use V <= 50, L <= 8, d <= 16 (spec §6). */
#define AC_MOE_MAX_DIM 4096
/* The reverse construction succeeds when the reconstructed gates and
 * experts reproduce the targets to this relative residual; a larger one
 * means the targets are not reachable with the given embeddings (§2.1:
 * w_M + p_i dependent, or {w_v, p_j} dependent).  A solve of well-posed
 * small systems leaves ~1e-14; 1e-8 separates that from unreachable
 * targets, whose residual is O(1). */
#define AC_MOE_REVERSE_RTOL 1e-8

typedef struct {
    int V;        /* real words 0..V-1; the mask token is V; >= 1 */
    int L;        /* sentence length, >= 1 (>= 2 when self = 0) */
    int d;        /* embedding width */
    int dk;       /* query/key width per head */
    int dv;       /* value width per head */
    int H;        /* heads (1 when layers = 2) */
    int dout;     /* input width of U: d with a W_O, H dv without */
    int layers;   /* 1 or 2 */
    int self;     /* 1: the masked slot is among the keys (standard); 0: not */
    int residual; /* 1: the logits read h_i + e_i (needs dout = d, layers = 1) */
} ac_moe_sizes;

/* V = 7, L = 5, d = 6, dk = 4, dv = 3, H = 1, dout = 3, one layer, self =
 * 1, no residual (the instance of spec §2.5 item 1, one head). */
void ac_moe_sizes_default(ac_moe_sizes *s);
/* NULL when s is usable, else a sentence naming the size and its bound
 * (static storage). */
const char *ac_moe_sizes_check(const ac_moe_sizes *s);

/* An attention model: every array borrowed; NULL for an optional one means
 * zero (P, biases, c) or identity (W_O, then dout = H dv). */
typedef struct {
    ac_moe_sizes s;
    const double *E;        /* (V+1) x d token embeddings, row V = mask */
    const double *P;        /* L x d positional encodings, optional */
    const double *Wq, *Wk;  /* H x dk x d */
    const double *Wv;       /* H x dv x d */
    const double *bq, *bk;  /* H x dk, optional */
    const double *bv;       /* H x dv, optional */
    const double *Wo;       /* dout x (H dv), optional */
    const double *bo;       /* dout, optional */
    const double *U;        /* V x dout */
    const double *c;        /* V, optional */
    const double *Wq2, *Wk2; /* dk x dv (layers = 2 only) */
    const double *Wv2;       /* dv x dv (layers = 2 only) */
} ac_moe_attention;

/* NULL when m is usable, else a sentence (static storage) naming the
 * array: bad sizes, a required array missing, a layer-2 array or an
 * option the two-layer form does not cover (biases, W_O, residual), dout
 * not H dv without W_O, or a NaN or infinite entry. */
const char *ac_moe_attention_check(const ac_moe_attention *m);

/* An attention model that owns its arrays (for random instances, the
 * claims' inputs and tests).  `with` says which optional arrays exist
 * (AC_MOE_WITH_* bits; W_O needs dout, the others only the sizes); m's
 * pointers point into the owned storage, zero-filled by _alloc. */
enum {
    AC_MOE_WITH_P = 1 << 0,  /* positional encodings */
    AC_MOE_WITH_BQ = 1 << 1, /* query bias */
    AC_MOE_WITH_BK = 1 << 2, /* key bias */
    AC_MOE_WITH_BV = 1 << 3, /* value bias */
    AC_MOE_WITH_WO = 1 << 4, /* output projection W_O */
    AC_MOE_WITH_BO = 1 << 5, /* its bias */
    AC_MOE_WITH_C = 1 << 6,  /* output bias c */
    AC_MOE_WITH_ALL = (1 << 7) - 1 /* every bit above; any other is refused */
};
typedef struct {
    ac_moe_attention m; /* pointers into the arrays below */
    unsigned with;
    double *E, *P, *Wq, *Wk, *Wv, *bq, *bk, *bv, *Wo, *bo, *U, *c, *Wq2, *Wk2, *Wv2;
} ac_moe_model;

/* A zeroed model for checked sizes (copied); layer-2 arrays for layers =
 * 2.  NULL on bad sizes, a bit of `with` outside AC_MOE_WITH_ALL, options
 * the sizes do not allow (biases or W_O with two layers, no W_O while dout
 * != H dv), or no memory. */
ac_moe_model *ac_moe_model_alloc(const ac_moe_sizes *s, unsigned with);
void ac_moe_model_free(ac_moe_model *mm);

/* Fill every owned array with independent N(0, scale^2) entries drawn from
 * r, in the order of the struct's fields (so a seed replays the model). */
void ac_moe_model_randomize(ac_moe_model *mm, gsl_rng *r, double scale);

/* The CBOW-MoE form.  Owned arrays (ac_moe_form_alloc); fields may be set
 * directly, e.g. to build a form from arbitrary gates (reverse
 * construction, analogy cases). */
typedef struct {
    ac_moe_sizes s;
    double *w;         /* (V+1) x d: word features of the gate scores */
    double *p;         /* L x d: position features of the gate scores */
    double *gamma;     /* H x L x d: gamma^h_i */
    double *a;         /* H x (V+1) x dv: word part of the experts */
    double *b;         /* H x L x dv: position part of the experts */
    double *rho;       /* H x V x dv: output embeddings (U W_V2 for two layers) */
    double *c;         /* V: output bias */
    double *slot_bias; /* L x V: beta_{i,v} (residual), else 0 */
    double *G1;        /* d x d: layer-1 gate matrix W_K^T W_Q/sqrt(dk) (two layers) */
    double *G2;        /* dv x dv: layer-2 gate matrix W_K2^T W_Q2/sqrt(dk) (two layers) */
} ac_moe_form;

/* A zeroed form for checked sizes (copied); NULL on bad sizes or no
 * memory.  G1, G2 are allocated for two layers only (NULL otherwise).
 * ac_moe_form_free(NULL) is a no-op. */
ac_moe_form *ac_moe_form_alloc(const ac_moe_sizes *s);
void ac_moe_form_free(ac_moe_form *f);

/* The reparameterisation (§2.1-§2.4) of m into f (allocated for m's
 * sizes).  Returns AC_EINVAL (msg: ac_moe_attention_check's sentence or a
 * size mismatch) or AC_OK. */
ac_status ac_moe_form_from_attention(const ac_moe_attention *m, ac_moe_form *f, ac_msg *msg);

/* The tolerance on |log p_attention - log p_form| (and so on |Δp|, since
 * p <= 1) that rounding alone can reach for the model m, from its sizes,
 * its entries' magnitudes and DBL_EPSILON (derivation in moe.c); never
 * from an observed difference.  NaN when m fails ac_moe_attention_check. */
double ac_moe_logp_tolerance(const ac_moe_attention *m);

/* ---- Conditionals p(x_i | x_-i) ---------------------------------------- */
/* Each takes the sentence x (L words in 0..V-1; x[i] is ignored: the slot is
 * masked) and the masked slot i, and writes log p(x_i = v | x_-i) for v =
 * 0..V-1 into logp (V).  They return AC_EINVAL (msg names the word or
 * slot) for i outside 0..L-1 or a word outside 0..V-1, else AC_OK. */

/* The attention forward pass itself (§1, §2.2-§2.4): queries, keys and
 * values projected and mixed as the network does (never through gamma or
 * the experts), the "experiment" side of the equivalence.  Also
 * AC_EINVAL for ac_moe_attention_check's failures. */
ac_status ac_moe_attention_logp(const ac_moe_attention *m, const int *x, int i, double *logp,
                                ac_msg *msg);

/* From the form alone: gates, gating weights, experts, output embeddings
 * (§2.1, §2.3; for two layers the mixture of MoEs of §2.4). */
ac_status ac_moe_form_logp(const ac_moe_form *f, const int *x, int i, double *logp, ac_msg *msg);

/* The gating weights pi^h_ij of head h for masked slot i into pi (L; 0 at
 * j = i when self = 0).  One layer only (AC_EINVAL for two). */
ac_status ac_moe_gate_weights(const ac_moe_form *f, const int *x, int i, int h, double *pi,
                              ac_msg *msg);

/* The geometric-mixture reading (§2.1): p ∝ prod_h prod_j p^h_j^{pi^h_ij}
 * with the single-expert predictors p^h_j = softmax(c/H + beta_i/H +
 * rho^h·alpha^h_{t_j,j}); equals ac_moe_form_logp.  One layer only. */
ac_status ac_moe_geometric_logp(const ac_moe_form *f, const int *x, int i, double *logp,
                                ac_msg *msg);

/* The negative controls of §2.5 item 4: models that are NOT the attention
 * model, to show that the equivalence check can fail. */
typedef enum {
    AC_MOE_CONTROL_NO_QUERY_POSITION, /* gamma_i from w_M alone (p_i dropped) */
    AC_MOE_CONTROL_ARITHMETIC,        /* sum_j pi_ij p_j(v): arithmetic mixture of the
                                         single-expert predictors of ac_moe_geometric_logp
                                         (per head; heads multiplied) */
    AC_MOE_CONTROL_NO_SCALE           /* gate scores without 1/sqrt(dk) */
} ac_moe_control;

/* log p under the control model built from m, single layer.  AC_EINVAL as
 * ac_moe_attention_logp, also for two layers or an unknown control;
 * AC_ENOMEM. */
ac_status ac_moe_control_logp(const ac_moe_attention *m, ac_moe_control control, const int *x,
                              int i, double *logp, ac_msg *msg);

/* ---- Reverse construction (§2.1) --------------------------------------- */

/* Attention weights realising the single-layer form f (any gamma, any
 * additive experts a, b, any rho and c; slot_bias must be 0): with dk = d,
 * W_K^h = I, W_Q^h = sqrt(d) G^h where G^h (w_M + p_i) = gamma^h_i, and
 * W_V^h with W_V^h w_v = a^h_v, W_V^h p_j = b^h_j (minimum-norm solutions,
 * LAPACKE dgels).  Outputs Wq, Wk (H x d x d), Wv (H x dv x d), U (V x H dv,
 * head h in columns h dv ..); the model with E = f->w, P = f->p, c = f->c,
 * these, no biases, no W_O, no residual gives f's conditionals.  Needs
 * f->s.dk = d, layers = 1, no residual and dout = H dv (AC_EINVAL), the L vectors w_M + p_i and the
 * V + 1 + L vectors {w_v, p_j} linearly independent (so L <= d and
 * V + 1 + L <= d), else AC_ERANK (the residual exceeds
 * AC_MOE_REVERSE_RTOL); AC_ENOMEM, AC_ELAPACK. */
ac_status ac_moe_attention_from_form(const ac_moe_form *f, double *Wq, double *Wk, double *Wv,
                                     double *U, ac_msg *msg);

/* ---- Linear analogies (§4.2) ------------------------------------------- */

/* Plain CBOW (§4.2(a)): p(v | C) ∝ exp(c_v + rho_v · mean_{j != i} alpha_{x_j});
 * arrays borrowed, c optional. */
typedef struct {
    int V, dv;
    const double *alpha; /* V x dv context embeddings */
    const double *rho;   /* V x dv output embeddings */
    const double *c;     /* V, optional */
} ac_moe_cbow;

/* log p(x_i = v | x_-i) under CBOW for a sentence x of L >= 2 words.
 * AC_EINVAL for bad sizes, slot or word (msg says which). */
ac_status ac_moe_cbow_logp(const ac_moe_cbow *m, int L, const int *x, int i, double *logp,
                           ac_msg *msg);

/* An analogy a:b :: c:d probed at masked slot i with the words placed at
 * context slot j (j != i). */
typedef struct {
    int i, j;
    int a, b, c, d;
} ac_moe_quad;

/* Delta(v) = lp_a[v] - lp_b[v] - lp_c[v] + lp_d[v] (§4.2), from four
 * conditionals; delta may alias any input. */
void ac_moe_defect(int V, const double *lp_a, const double *lp_b, const double *lp_c,
                   const double *lp_d, double *delta);
/* Var_v Delta(v) = mean_v (Delta(v) - mean Delta)^2 (two passes); 0 for V = 1. */
double ac_moe_defect_variance(int V, const double *delta);

/* Delta(v) for CBOW (length L) and for a form (its L; one layer or two):
 * conditionals at slot q->i of ctx1 with q->a, then q->b at slot q->j, and
 * of ctx2 with q->c, then q->d there.  ctx1, ctx2 (L words) are borrowed
 * and not changed.  AC_EINVAL for bad slots or words, AC_ENOMEM. */
ac_status ac_moe_cbow_analogy_defect(const ac_moe_cbow *m, int L, const int *ctx1,
                                     const int *ctx2, const ac_moe_quad *q, double *delta,
                                     ac_msg *msg);
ac_status ac_moe_form_analogy_defect(const ac_moe_form *f, const int *ctx1, const int *ctx2,
                                     const ac_moe_quad *q, double *delta, ac_msg *msg);

/* ---- The exact analogy cases (§4.4 item 1) ------------------------------ */

/* Each case is a small model with every entry a multiple of 1/64 in
 * [-2, 2], so that the planted parallelograms (x_d = x_b - x_a + x_c) and
 * equal scores hold exactly in binary, in double and at any MPFR
 * precision.  Words a, b, c, d are 0, 1, 2, 3; the probe masks slot 0 and
 * places them at slot 1. */
typedef enum {
    AC_MOE_ANALOGY_CBOW,        /* CBOW, alpha-parallelogram, contexts C' != C'': Var Δ = 0 */
    AC_MOE_ANALOGY_MOE_UNEQUAL, /* CBOW-MoE, >= 2 gated experts, w- and alpha-parallelograms,
                                   unequal scores: Var Δ > 0 */
    AC_MOE_ANALOGY_MOE_EQUAL,   /* the four words differ only orthogonally to every gamma_i
                                   (equal scores), parallelograms: Var Δ = 0 */
    AC_MOE_ANALOGY_MOE_SINGLE,  /* one gated expert (L = 2, self = 0): Var Δ = 0 */
    AC_MOE_ANALOGY_MOE_BRANCH2, /* §4.2(b) branch (ii): s_a = s_b, s_c = s_d, alpha_a =
                                   alpha_b, alpha_c = alpha_d: Var Δ = 0 */
    AC_MOE_ANALOGY_MOE_BRANCH3, /* branch (iii): s_a = s_c, s_b = s_d, alpha_a = alpha_c,
                                   alpha_b = alpha_d: Var Δ = 0 */
    AC_MOE_ANALOGY_COUNT
} ac_moe_analogy_kind;

typedef struct {
    ac_moe_analogy_kind kind;
    int zero;           /* 1 when the theory says Var_v Δ(v) = 0 exactly */
    int L;
    ac_moe_cbow cbow;   /* the CBOW case (pointers into owned arrays), else zero */
    ac_moe_form *form;  /* the CBOW-MoE cases, else NULL */
    ac_moe_quad q;
    int *ctx1, *ctx2;   /* L words each (C' and C'') */
    double *buf;        /* owned storage of the CBOW arrays */
} ac_moe_analogy;

/* A random instance of the case kind drawn from r (entries as above;
 * scores of the unequal case differ).  NULL on an unknown kind, a NULL r or
 * no memory.  ac_moe_analogy_free(NULL) is a no-op. */
ac_moe_analogy *ac_moe_analogy_alloc(ac_moe_analogy_kind kind, gsl_rng *r);
void ac_moe_analogy_free(ac_moe_analogy *an);
/* Its Δ(v) into delta (V = the model's vocabulary). */
ac_status ac_moe_analogy_defect(const ac_moe_analogy *an, double *delta, ac_msg *msg);
/* The vocabulary size of the case. */
int ac_moe_analogy_vocab(const ac_moe_analogy *an);
/* The bound on Var_v Δ(v) that rounding alone reaches when the theory says
 * 0: each of the four log p carries at most n eps (1 + M_z) (n = L + d + dv
 * + V + 4 terms in its longest sum, M_z the largest |logit| term sum), so
 * |Δ(v) - const| <= E = 8 n eps (1 + M_z) and Var <= E^2.  For MPFR at prec
 * bits, the same with eps = 2^(1 - prec). */
double ac_moe_analogy_tolerance(const ac_moe_analogy *an, double eps);

#endif
