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
 * the data were generated (used in messages only). */
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
 * off[0] = 0, line and source NULL).  Returns NULL on no memory. */
ac_tpg_data *ac_tpg_data_alloc(int n, int ntok, int K);
void ac_tpg_data_free(ac_tpg_data *D);

/* Check that the dataset fits the model of spec §1: K >= 1, every sequence
 * non-empty, every token and label in [0, K), and (when need_label_in_seq)
 * every label present in its sequence (assumption A2: otherwise the loss is
 * +inf).  On failure the message reads "SOURCE:LINE: reason" (or
 * "example I: reason" for generated data) and AC_EPARSE is returned. */
ac_status ac_tpg_data_check(const ac_tpg_data *D, int need_label_in_seq, ac_msg *msg);

/* The token-priority graphs of a dataset, one per last token that occurs
 * (spec §2): in G^(k), an edge y_i -> j for every example i with last token k
 * and every token j != y_i of its sequence.  Edges are a set (deduplicated). */
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
    int *ncomp;         /* ngraph: components of graph g (K each: every token is a node) */
    int *comp_size;     /* ngraph * K: size of component c of graph g (first ncomp[g] used) */
    unsigned char *in_graph; /* ngraph * K: 1 when token j has an edge in G^(k) */
    unsigned char **reach;   /* ngraph arrays of ncomp[g]^2: reach[g][A*ncomp+B] */
} ac_tpg;

/* Build the graphs, their SCCs (iterative Tarjan) and the reachability
 * between components.  The dataset must pass ac_tpg_data_check with labels in
 * sequences.  Returns AC_OK, AC_ENOMEM, or AC_EPARSE (msg says why). */
ac_status ac_tpg_build(ac_tpg **out, const ac_tpg_data *D, ac_msg *msg);
void ac_tpg_free(ac_tpg *G);

/* Number of edges of graph g. */
int ac_tpg_nedges(const ac_tpg *G, int g);

/* 1 when tokens i and j lie in the same SCC of the graph of last token k
 * (i ≍_k j); 0 otherwise, and 0 when k never occurs as a last token. */
int ac_tpg_same_scc(const ac_tpg *G, int k, int i, int j);

/* The highest-priority SCC among the tokens tok[0..len) in the graph of last
 * token k: the component that reaches the components of all the others.
 * Returns its index, or -1 when there is none (k never last, a token outside
 * G^(k), or two incomparable components at the top). */
int ac_tpg_top_scc(const ac_tpg *G, int k, const int *tok, int len);

/* 1 when every graph is a DAG (all SCCs singletons), else 0. */
int ac_tpg_is_acyclic(const ac_tpg *G);

/* The Graph-SVM constraints (spec §3.1): for every graph G^(k) and edge
 * i -> j, (e_i - e_j)^T W e_k = 0 when i ≍_k j, >= 1 otherwise.  Edges are
 * deduplicated, so each (i, j, k) appears once.  Ordered by k. */
typedef struct {
    int m, neq;
    int *a, *b, *k;
    unsigned char *is_eq;
    double *rhs;
} ac_tpg_cons;

ac_status ac_tpg_constraints(const ac_tpg *G, ac_tpg_cons *C);
void ac_tpg_cons_free(ac_tpg_cons *C);

/* Graph-SVM solution: W_svm = argmin ||W||_F under the constraints.
 * E is K x d.  When the rows of E are linearly dependent (rank < K) the
 * problem may be infeasible and the theory does not apply: AC_ERANK is
 * returned (msg names the rank) unless allow_dependent is set.  On AC_OK the
 * solve ran: read info->status.  W (d x d) and lambda (C->m, may be NULL) are
 * written whatever the status (the last iterate). */
typedef struct {
    ac_qp_settings qp;
    int allow_dependent;
} ac_tpg_svm_settings;

void ac_tpg_svm_settings_default(ac_tpg_svm_settings *s);

ac_status ac_tpg_svm(const ac_tpg *G, const ac_tpg_cons *C, const double *E, int d,
                     const ac_tpg_svm_settings *set, double *W, double *lambda,
                     ac_qp_info *info, ac_msg *msg);

/* Constraint values s_c = (e_a - e_b)^T W e_k for all c, computed from W in
 * R^{d x d} directly (an independent path from the solver's running values). */
void ac_tpg_cons_values(const ac_tpg_cons *C, const double *E, int d, const double *W, double *s);

#endif
