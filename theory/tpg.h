/* Token-priority graphs and the Graph-SVM of next-token self-attention
 * (Li, Huang, Ildiz, Rawat, Oymak, AISTATS 2024; spec tpg_svm §1-§3).
 *
 * Conventions (spec §1): K tokens with embeddings e_0..e_{K-1} in R^d, the
 * rows of E (K x d, row-major).  An example is a sequence of token ids whose
 * last entry is the last token k, and a label y.  The attention logit of
 * position t is a_t = x_t^T W xbar with xbar = e_k.  Token-space logits are
 * U = E W E^T (K x K): U[j*K + k] = e_j^T W e_k. */
#ifndef AC_TPG_H
#define AC_TPG_H

#include "solvers/qp.h"
#include "solvers/status.h"

/* A dataset of variable-length sequences (CSR).  Example i is
 * tok[off[i] .. off[i+1]), its last entry is the last token, its label is
 * label[i].  line[i] is the source line of example i in its file, or 0 when
 * the data were generated (used in messages only).
 *
 * Every array and the source string are owned by the dataset and released by
 * ac_tpg_data_free: set line to a malloc'd array and source with
 * ac_tpg_data_set_source (a copy), never to borrowed memory. */
typedef struct {
    int n;         /* examples */
    int K;         /* vocabulary size: tokens are 0..K-1 */
    int *off;      /* n + 1 offsets, off[0] = 0 */
    int *tok;      /* off[n] token ids */
    int *label;    /* n labels */
    int *line;     /* n source lines, or NULL */
    char *source;  /* file name for messages, or NULL ("<generated>") */
} ac_tpg_data;

/* Allocate a dataset for n examples and ntok tokens in all (arrays zeroed,
 * off[0] = 0, line and source NULL).  Returns NULL on no memory or when
 * n < 0 or ntok < 0.  The caller fills off[1..n], tok and label. */
ac_tpg_data *ac_tpg_data_alloc(int n, int ntok, int K);
/* Frees the arrays, line and source; NULL is a no-op. */
void ac_tpg_data_free(ac_tpg_data *D);

/* Replace D->source by a copy of name (NULL clears it).  AC_OK or AC_ENOMEM
 * (D unchanged). */
ac_status ac_tpg_data_set_source(ac_tpg_data *D, const char *name);

/* Renumber D's tokens and labels 0..n-1 in the order of the ids that occur
 * in its sequences, and set D->K = n (1 when there are none); *ids (new,
 * n entries, free() it) gets the old id of each new one.  The graphs of
 * ac_tpg_build hold ngraph x (K + 1) rows, so with K the vocabulary a
 * dataset of a few kilobytes that names token 10^8 asks for gigabytes (it
 * is refused, AC_TPG_ROWS_MAX); renumbered, memory follows the tokens the
 * data has.  The order of the ids is kept, so edges, components and their
 * numbering are those of the old ids, mapped.  A label that does not occur
 * in any sequence becomes n, which ac_tpg_data_check then refuses as
 * outside the vocabulary: check with labels in sequences first to have it
 * named by its old id.  AC_OK, AC_EINVAL (D or ids NULL, n < 0 or off[0]
 * != 0), or AC_ENOMEM (D unchanged; msg names D's source). */
ac_status ac_tpg_data_renumber(ac_tpg_data *D, int **ids, ac_msg *msg);

/* Check that the dataset fits the model of spec §1: K >= 1, every sequence
 * non-empty, every token and label in [0, K), and (when need_label_in_seq)
 * every label present in its sequence (assumption A2: otherwise the loss is
 * +inf).  On failure the message reads "SOURCE:LINE: reason", or
 * "example I: reason" (I the 0-based index) when source or line is NULL or
 * line[I] is 0, and AC_EPARSE is returned; K < 1, n < 0 or off[0] != 0 give
 * AC_ESIZE, a NULL D AC_EINVAL.  Examples are checked in order; the first fault is reported. */
ac_status ac_tpg_data_check(const ac_tpg_data *D, int need_label_in_seq, ac_msg *msg);

/* The token-priority graphs of a dataset, one per last token that occurs
 * (spec §2): in G^(k), an edge y_i -> j for every example i with last token k
 * and every token j != y_i of its sequence.  Edges are a set (deduplicated).
 *
 * Every token is a node of every graph, so a graph has ncomp[g] <= K
 * components.  They are numbered in topological order with the components
 * that hold a token with an edge ("live", the first nlive[g]) before the
 * isolated tokens (one singleton component each, numbers nlive[g] ..
 * ncomp[g]-1).  The reachability table covers the live components only:
 * nlive[g]^2 bytes per graph, so memory grows with the tokens actually seen
 * after each last token, not with ngraph * K^2 (K = 1000 with 1000 last
 * tokens would need 1 GB).  Use ac_tpg_comp_reaches for any two components. */
typedef struct {
    int K;
    int ngraph;         /* last tokens that occur */
    int *last;          /* ngraph last-token ids, increasing */
    int *graph_of;      /* K entries: graph index of last token k, or -1 */
    /* Edges of graph g in CSR form with absolute offsets: the successors of
     * token j are adj[adj_off[g*(K+1) + j] .. adj_off[g*(K+1) + j + 1]),
     * increasing.  Graph g's edges are contiguous and graphs follow in order. */
    int *adj_off;       /* ngraph * (K + 1) */
    int *adj;           /* all edges */
    int *comp;          /* ngraph * K: SCC of token j in graph g, numbered in
                           topological order (lower = higher priority) */
    int *ncomp;         /* ngraph: components of graph g (every token is a node) */
    int *nlive;         /* ngraph: components 0..nlive[g]-1 hold tokens with edges */
    int *comp_size;     /* ngraph * K: size of component c of graph g (first ncomp[g] used) */
    unsigned char *in_graph; /* ngraph * K: 1 when token j has an edge in G^(k) */
    /* ngraph arrays of nlive[g]^2 bytes: reach[g][A*nlive[g] + B] = 1 when
     * live component A reaches live component B (A == B included).  NULL
     * when nlive[g] = 0. */
    unsigned char **reach;
} ac_tpg;

/* Cap on the total size of the reachability tables, sum_g nlive[g]^2 bytes:
 * beyond it ac_tpg_build refuses with AC_ESIZE rather than take gigabytes
 * (about a thousand last tokens each followed by about a thousand distinct
 * tokens in its examples). */
#define AC_TPG_REACH_MAX_BYTES ((size_t)1 << 30)

/* AC_OK when the tables of ngraph graphs with nlive[g] live components fit:
 * sum_g nlive[g]^2 <= AC_TPG_REACH_MAX_BYTES; else AC_ESIZE with the
 * sentence (bytes, graphs, the largest nlive, the cap).  ac_tpg_build calls
 * it once the components are known. */
ac_status ac_tpg_reach_check(int ngraph, const int *nlive, ac_msg *msg);

/* The per-graph arrays take AC_TPG_ROW_BYTES bytes per (graph, token) row:
 * adj_off (int) over K + 1 rows per graph, comp, comp_size (int) and
 * in_graph (byte) over K.  ac_tpg_build refuses ngraph * (K + 1) >
 * AC_TPG_ROWS_MAX rows: 2^27 rows are about 1.7 GB, beside the 1 GB of
 * AC_TPG_REACH_MAX_BYTES, and keep every offset and row index below 2^31 (the
 * int offsets of ac_tpg). */
#define AC_TPG_ROW_BYTES (3 * sizeof(int) + 1)
#define AC_TPG_ROWS_MAX ((size_t)1 << 27)

/* AC_OK when ngraph graphs over K tokens fit: ngraph >= 0, K >= 1 and
 * ngraph * (K + 1) <= AC_TPG_ROWS_MAX; otherwise AC_ESIZE with the sentence
 * in msg (the counts, the rows needed, the cap, and ac_tpg_data_renumber
 * for a vocabulary larger than the tokens the data uses). */
ac_status ac_tpg_size_check(int ngraph, int K, ac_msg *msg);

/* Build the graphs, their SCCs (iterative Tarjan) and the reachability
 * between components.  The dataset is read, not kept.  It must pass
 * ac_tpg_data_check with labels in sequences; it is checked first.  Returns
 * AC_OK (*out is new; free with ac_tpg_free), AC_ENOMEM, or AC_EPARSE /
 * AC_ESIZE (msg says why; *out is NULL). */
ac_status ac_tpg_build(const ac_tpg_data *D, ac_tpg **out, ac_msg *msg);
/* NULL is a no-op. */
void ac_tpg_free(ac_tpg *G);

/* 1 when component A reaches component B (A == B included) in graph g, else
 * 0; 0 for indices out of range. */
int ac_tpg_comp_reaches(const ac_tpg *G, int g, int A, int B);

/* Number of edges of graph g. */
int ac_tpg_nedges(const ac_tpg *G, int g);

/* 1 when tokens i and j lie in the same SCC of the graph of last token k
 * (i ≍_k j); 0 otherwise, and 0 when k never occurs as a last token or a
 * token is outside [0, K).  i ≍_k i for every token i of an occurring k. */
int ac_tpg_same_scc(const ac_tpg *G, int k, int i, int j);

/* The highest-priority SCC among the tokens tok[0..len) in the graph of last
 * token k: the component that reaches the components of all the others.
 * Returns its index, or -1 when there is none: len < 1, k never last, a token
 * outside [0, K), or two incomparable components at the top.  A token with no
 * edge in G^(k) is its own isolated component, comparable with nothing, so it
 * is the top only when it is the only distinct token of the list (the case of
 * an example whose every position is its label: its label is then trivially
 * the top).  For every example i of the data, the result is the SCC of y_i
 * (spec §2: y_i reaches every token of X_i in one step).  O(len). */
int ac_tpg_top_scc(const ac_tpg *G, int k, const int *tok, int len);

/* The condensation of graph g: its direct edges A -> B between different
 * components (from the token edges), sorted by A then B and deduplicated;
 * A < B always (topological numbering), and only live components occur.
 * n edges in from[0..n), to[0..n). */
typedef struct {
    int n;
    int *from, *to;
} ac_tpg_cond;

/* Fills *out (new arrays, allocated even when n = 0; empty it with
 * ac_tpg_cond_clear).  Returns AC_OK, AC_ENOMEM, or AC_EINVAL when g is
 * outside [0, G->ngraph) (msg says so); *out is zeroed on failure. */
ac_status ac_tpg_condensation(const ac_tpg *G, int g, ac_tpg_cond *out, ac_msg *msg);
/* Frees the arrays and zeroes *c; a zeroed *c, or c NULL, is a no-op. */
void ac_tpg_cond_clear(ac_tpg_cond *c);

/* 1 when every graph is a DAG (all SCCs singletons), else 0.  Spec
 * assumption A3. */
int ac_tpg_is_acyclic(const ac_tpg *G);

/* The token-space attention logits U = E W E^T (K x K, spec §1):
 * U[j*K + k] = e_j^T W e_k, the logit of token j when the last token is k.
 * E is K x d, W d x d (row-major); U may not alias either.  Two GEMMs through
 * a K x d temporary; without memory for it, a direct O(K^2 d^2) loop.  A
 * size below 0 counts as 0 (nothing reaches BLAS, whose xerbla prints). */
void ac_tpg_token_logits(const double *E, int K, int d, const double *W, double *U);

/* The Graph-SVM constraints (spec §3.1): for every graph G^(k) and edge
 * i -> j, (e_i - e_j)^T W e_k = 0 when i ≍_k j, >= 1 otherwise.  Edges are
 * deduplicated, so each (i, j, k) appears once.  Ordered by k, then i, then j
 * (the CSR order of the graphs).  Constraint c reads a[c] = i, b[c] = j,
 * k[c] = k, is_eq[c], rhs[c] (0 for equalities, 1 for inequalities); m
 * constraints, neq of them equalities.  The arrays are allocated even when
 * m = 0. */
typedef struct {
    int m, neq;
    int *a, *b, *k;
    unsigned char *is_eq;
    double *rhs;
} ac_tpg_cons;

/* Fills *C (new arrays).  AC_OK or AC_ENOMEM (*C then zeroed, msg says
 * how many edges). */
ac_status ac_tpg_constraints(const ac_tpg *G, ac_tpg_cons *C, ac_msg *msg);
/* Frees the arrays and zeroes *C; a zeroed *C, or C NULL, is a no-op. */
void ac_tpg_cons_clear(ac_tpg_cons *C);

/* Scale (spec §3.1 is scale-covariant): with the embeddings sE the
 * constraints read s^2 (e_a - e_b)^T W e_k, so W_svm(sE) = W_svm(E) / s^2,
 * its multipliers lambda(sE) = lambda(E) / s^4, and W_fin, a function of the
 * logits U = E W E^T on the subspace S_fin (the same subspace for sE), is
 * W_fin(sE) = W_fin(E) / s^2.  The Gram products of the solvers, O(max|E|^4),
 * leave double range near max|E| ~ 1e77 (and 1e-77), and their absolute
 * thresholds lose meaning well before, so ac_tpg_svm and ac_tpg_sfin_alloc
 * take embeddings whose largest entry lies in the band
 * [2^-AC_TPG_SCALE_BAND, 2^AC_TPG_SCALE_BAND] (about [0.0039, 256]: raw or
 * unit-norm embeddings of any d up to 65536) and refuse others; ac_tpg_solve
 * rescales any finite E by an exact power of two into the band and scales
 * the results back. */
#define AC_TPG_SCALE_BAND 8

/* The power of two ac_tpg_solve divides E (K x d) by: *p = 0 when max|E_ij|
 * is 0 or lies in the band above, else the exponent e of max|E| = f 2^e,
 * f in [0.5, 1) (E 2^-p then has its largest entry in [0.5, 1); the scaling
 * is exact).  AC_OK, or AC_EPARSE when an entry is not finite (msg names its
 * row and column, 0-based); *p is then 0. */
ac_status ac_tpg_scale_exp(const double *E, int K, int d, int *p, ac_msg *msg);

/* AC_OK when E's entries are finite and max|E| is 0 or in the band;
 * AC_EPARSE (non-finite entry) or AC_ESIZE (outside the band) with the
 * sentence in msg. */
ac_status ac_tpg_scale_check(const double *E, int K, int d, ac_msg *msg);

/* Graph-SVM solution: W_svm = argmin ||W||_F under the constraints, solved
 * by the dual coordinate ascent of solvers/qp.h with GL = GR = E E^T, then
 * W = E^T Lam E (spec §7).  E is K x d (row-major, borrowed), K = G->K.
 * When the rows of E are linearly dependent (numerical rank < K, see
 * ac_la_rank) the problem may be infeasible and the theory does not apply:
 * AC_ERANK is returned (msg names the rank) unless allow_dependent is set.
 * E must have finite entries with max|E| in the band of AC_TPG_SCALE_BAND
 * (or be zero): otherwise AC_ESIZE (AC_EPARSE for a non-finite entry), msg
 * naming the scale; ac_tpg_solve rescales for you.
 * On AC_OK the solve ran: read info->status.  W (d x d) and lambda (C->m,
 * may be NULL) are written whatever the status (the last iterate); cert
 * (C->m, may be NULL) receives the infeasibility certificate y of
 * ac_qp_certificate when info->status is AC_QP_INFEASIBLE, zeros otherwise
 * (sum_c y_c A_c ~ 0 with rhs^T y > 0: info->cert_residual).  Other
 * returns: AC_ESIZE (d < 0), AC_ENOMEM, AC_ELAPACK, and the input errors of
 * ac_qp_check (e.g. a constraint with A_c = 0 when allow_dependent lets
 * e_a = e_b through), AC_EINVAL (a NULL G, C, W, or E with K d > 0); W,
 * lambda and cert are then not written.  set NULL means the defaults;
 * info may be NULL. */
typedef struct {
    ac_qp_settings qp;
    int allow_dependent;
} ac_tpg_svm_settings;

/* The defaults of solvers/qp.h; allow_dependent = 0. */
void ac_tpg_svm_settings_default(ac_tpg_svm_settings *s);

ac_status ac_tpg_svm(const ac_tpg *G, const ac_tpg_cons *C, const double *E, int d,
                     const ac_tpg_svm_settings *set, double *W, double *lambda, double *cert,
                     ac_qp_info *info, ac_msg *msg);

/* Constraint values s_c = (e_a - e_b)^T W e_k for all c, computed from W in
 * R^{d x d} directly (an independent path from the solver's running values),
 * O(m d^2).  s has C->m entries. */
void ac_tpg_cons_values(const ac_tpg_cons *C, const double *E, int d, const double *W, double *s);

#endif
