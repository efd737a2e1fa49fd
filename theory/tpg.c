#include "theory/tpg.h"

#include <stdio.h>
#include <cblas.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/graph.h"
#include "solvers/linalg.h"

/* ---- datasets ---------------------------------------------------------- */

ac_tpg_data *ac_tpg_data_alloc(int n, int ntok, int K)
{
    if (n < 0 || ntok < 0)
        return NULL;
    ac_tpg_data *D = calloc(1, sizeof *D);
    if (!D)
        return NULL;
    D->n = n;
    D->K = K;
    D->off = calloc((size_t)n + 1, sizeof(int));
    D->tok = calloc(ntok > 0 ? (size_t)ntok : 1, sizeof(int));
    D->label = calloc(n > 0 ? (size_t)n : 1, sizeof(int));
    if (!D->off || !D->tok || !D->label) {
        ac_tpg_data_free(D);
        return NULL;
    }
    return D;
}

void ac_tpg_data_free(ac_tpg_data *D)
{
    if (!D)
        return;
    free(D->off);
    free(D->tok);
    free(D->label);
    free(D->line);
    free(D->source);
    free(D);
}

ac_status ac_tpg_data_set_source(ac_tpg_data *D, const char *name)
{
    char *copy = NULL;
    if (name) {
        size_t len = strlen(name) + 1;
        copy = malloc(len);
        if (!copy)
            return AC_ENOMEM;
        memcpy(copy, name, len);
    }
    free(D->source);
    D->source = copy;
    return AC_OK;
}

static int by_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

ac_status ac_tpg_data_renumber(ac_tpg_data *D, int **ids, ac_msg *msg)
{
    if (!D || !ids || D->n < 0 || D->off[0] != 0)
        return ac_fail(msg, AC_EINVAL, "renumber: %s",
                       !D || !ids ? "a NULL dataset or id array" : "a malformed dataset (n < 0 or off[0] != 0)");
    int ntok = D->off[D->n], nu = 0;
    int *u = malloc(sizeof *u * (size_t)(ntok > 0 ? ntok : 1));
    if (!u)
        return ac_fail(msg, AC_ENOMEM, "%s: no memory to number %d tokens", D->source ? D->source : "data", ntok);
    memcpy(u, D->tok, sizeof *u * (size_t)ntok);
    qsort(u, (size_t)ntok, sizeof *u, by_int);
    for (int i = 0; i < ntok; i++)
        if (nu == 0 || u[i] != u[nu - 1])
            u[nu++] = u[i];
    for (int i = 0; i < ntok; i++)
        D->tok[i] = (int)((int *)bsearch(&D->tok[i], u, (size_t)nu, sizeof *u, by_int) - u);
    for (int i = 0; i < D->n; i++) {
        const int *at = bsearch(&D->label[i], u, (size_t)nu, sizeof *u, by_int);
        D->label[i] = at ? (int)(at - u) : nu;
    }
    D->K = nu > 0 ? nu : 1;
    *ids = u;
    return AC_OK;
}

/* "SOURCE:LINE" for file data, "example I" otherwise. */
static void where(const ac_tpg_data *D, int i, char *buf, size_t len)
{
    if (D->source && D->line && D->line[i] > 0)
        snprintf(buf, len, "%s:%d", D->source, D->line[i]);
    else
        snprintf(buf, len, "example %d", i);
}

static int occurs(const int *tok, int len, int j)
{
    for (int t = 0; t < len; t++)
        if (tok[t] == j)
            return 1;
    return 0;
}

ac_status ac_tpg_data_check(const ac_tpg_data *D, int need_label_in_seq, ac_msg *msg)
{
    if (!D)
        return ac_fail(msg, AC_EINVAL, "the dataset is NULL");
    if (D->K < 1)
        return ac_fail(msg, AC_ESIZE, "vocabulary size K = %d; need K >= 1", D->K);
    if (D->n < 0)
        return ac_fail(msg, AC_ESIZE, "number of examples n = %d; need n >= 0", D->n);
    if (D->off[0] != 0)
        return ac_fail(msg, AC_ESIZE, "sequence offsets start at %d; need off[0] = 0", D->off[0]);
    char at[AC_MSG_LEN - 512]; /* a path of PATH_MAX and its line; the reason takes the rest */
    for (int i = 0; i < D->n; i++) {
        const int *tok = D->tok + D->off[i];
        int len = D->off[i + 1] - D->off[i];
        int y = D->label[i];
        where(D, i, at, sizeof at);
        if (len < 0)
            return ac_fail(msg, AC_EPARSE, "%s: sequence offsets decrease (%d to %d)", at, D->off[i],
                           D->off[i + 1]);
        if (len == 0)
            return ac_fail(msg, AC_EPARSE, "%s: empty sequence", at);
        for (int t = 0; t < len; t++)
            if (tok[t] < 0 || tok[t] >= D->K)
                return ac_fail(msg, AC_EPARSE,
                               "%s: token %d at position %d is outside the vocabulary of %d tokens", at,
                               tok[t], t + 1, D->K);
        if (y < 0 || y >= D->K)
            return ac_fail(msg, AC_EPARSE, "%s: label %d is outside the vocabulary of %d tokens", at, y,
                           D->K);
        if (need_label_in_seq && !occurs(tok, len, y))
            return ac_fail(msg, AC_EPARSE,
                           "%s: label %d does not occur in its sequence (the loss would be infinite; "
                           "spec assumption A2)",
                           at, y);
    }
    return AC_OK;
}

/* ---- building the graphs ----------------------------------------------- */

void ac_tpg_free(ac_tpg *G)
{
    if (!G)
        return;
    if (G->reach)
        for (int g = 0; g < G->ngraph; g++)
            free(G->reach[g]);
    free(G->reach);
    free(G->last);
    free(G->graph_of);
    free(G->adj_off);
    free(G->adj);
    free(G->comp);
    free(G->ncomp);
    free(G->nlive);
    free(G->comp_size);
    free(G->in_graph);
    free(G);
}

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

/* The edges of all graphs (spec §2), in CSR over the rows (g, y) =
 * g*(K+1) + y.  Pass 1 counts candidate edges y_i -> tok per row (repeats
 * included), pass 2 fills them, pass 3 keeps the first copy of each head in
 * every row (a stamp per token marks heads seen in the current row), sorts
 * the row and compacts it in place.  Raw edges are at most off[n]. */
static ac_status build_edges(ac_tpg *G, const ac_tpg_data *D)
{
    int K = G->K;
    size_t nrow = (size_t)G->ngraph * ((size_t)K + 1);
    int *cnt = calloc(nrow + 1, sizeof(int));
    int *raw = malloc(sizeof(int) * (D->off[D->n] > 0 ? (size_t)D->off[D->n] : 1));
    int *stamp = malloc(sizeof(int) * (size_t)K);
    if (!cnt || !raw || !stamp) {
        free(cnt), free(raw), free(stamp);
        return AC_ENOMEM;
    }
    for (int i = 0; i < D->n; i++) {
        const int *tok = D->tok + D->off[i];
        int len = D->off[i + 1] - D->off[i], y = D->label[i];
        size_t row = (size_t)G->graph_of[tok[len - 1]] * ((size_t)K + 1) + (size_t)y;
        for (int t = 0; t < len; t++)
            cnt[row + 1] += tok[t] != y;
    }
    for (size_t r = 0; r < nrow; r++)
        cnt[r + 1] += cnt[r];
    /* cnt[r] is the start of row r; fill advances a copy */
    int *fill = G->adj_off; /* borrowed as scratch: nrow entries */
    memcpy(fill, cnt, sizeof(int) * nrow);
    for (int i = 0; i < D->n; i++) {
        const int *tok = D->tok + D->off[i];
        int len = D->off[i + 1] - D->off[i], y = D->label[i];
        size_t row = (size_t)G->graph_of[tok[len - 1]] * ((size_t)K + 1) + (size_t)y;
        for (int t = 0; t < len; t++)
            if (tok[t] != y)
                raw[fill[row]++] = tok[t];
    }
    for (int j = 0; j < K; j++)
        stamp[j] = -1;
    int w = 0;
    for (size_t r = 0; r < nrow; r++) {
        int begin = w;
        for (int e = cnt[r]; e < cnt[r + 1]; e++) {
            int j = raw[e];
            if (stamp[j] != (int)r) { /* nrow <= AC_TPG_ROWS_MAX < 2^31: ac_tpg_size_check */
                stamp[j] = (int)r;
                raw[w++] = j;
            }
        }
        qsort(raw + begin, (size_t)(w - begin), sizeof(int), cmp_int);
        G->adj_off[r] = begin;
    }
    /* row g*(K+1)+K is empty, so its start is graph g's end: offsets are absolute */
    G->adj_off[nrow] = w;
    G->adj = realloc(raw, sizeof(int) * (w > 0 ? (size_t)w : 1));
    if (!G->adj)
        G->adj = raw; /* shrinking failed: keep the larger block */
    free(cnt), free(stamp);
    return AC_OK;
}

/* SCCs of graph g with the live components (tokens with an edge) renumbered
 * before the isolated tokens, keeping Tarjan's topological order within each
 * group; isolated tokens have no edges, so the order stays topological. */
static ac_status graph_components(ac_tpg *G, int g, int *scratch)
{
    int K = G->K;
    const int *off = G->adj_off + (size_t)g * ((size_t)K + 1);
    int *comp = G->comp + (size_t)g * (size_t)K;
    unsigned char *in = G->in_graph + (size_t)g * (size_t)K;
    int nc;
    ac_status st = ac_graph_scc(K, off, G->adj, comp, &nc);
    if (st != AC_OK)
        return st;
    for (int j = 0; j < K; j++)
        for (int e = off[j]; e < off[j + 1]; e++)
            in[j] = in[G->adj[e]] = 1;
    int *live = scratch, *renum = scratch + K; /* K each */
    for (int c = 0; c < nc; c++)
        live[c] = 0;
    for (int j = 0; j < K; j++)
        if (in[j])
            live[comp[j]] = 1;
    int next = 0;
    for (int c = 0; c < nc; c++)
        if (live[c])
            renum[c] = next++;
    G->nlive[g] = next;
    for (int c = 0; c < nc; c++)
        if (!live[c])
            renum[c] = next++;
    int *size = G->comp_size + (size_t)g * (size_t)K;
    for (int j = 0; j < K; j++) {
        comp[j] = renum[comp[j]];
        size[comp[j]]++;
    }
    G->ncomp[g] = nc;
    return AC_OK;
}

static ac_status alloc_graphs(ac_tpg *G)
{
    size_t K = (size_t)G->K, ng = (size_t)G->ngraph, ngK = ng * K > 0 ? ng * K : 1;
    G->last = malloc(sizeof(int) * (ng > 0 ? ng : 1));
    G->adj_off = calloc(ng * (K + 1) + 1, sizeof(int));
    G->comp = calloc(ngK, sizeof(int));
    G->ncomp = calloc(ng > 0 ? ng : 1, sizeof(int));
    G->nlive = calloc(ng > 0 ? ng : 1, sizeof(int));
    G->comp_size = calloc(ngK, sizeof(int));
    G->in_graph = calloc(ngK, 1);
    G->reach = calloc(ng > 0 ? ng : 1, sizeof(unsigned char *));
    if (!G->last || !G->adj_off || !G->comp || !G->ncomp || !G->nlive || !G->comp_size ||
        !G->in_graph || !G->reach)
        return AC_ENOMEM;
    return AC_OK;
}

ac_status ac_tpg_reach_check(int ngraph, const int *nlive, ac_msg *msg)
{
    size_t total = 0;
    int maxlive = 0;
    for (int g = 0; g < ngraph; g++) {
        total += (size_t)nlive[g] * (size_t)nlive[g];
        if (nlive[g] > maxlive)
            maxlive = nlive[g];
    }
    if (total > AC_TPG_REACH_MAX_BYTES)
        return ac_fail(msg, AC_ESIZE,
                       "reachability tables would take %zu bytes (%d graphs, up to %d live components) "
                       "> AC_TPG_REACH_MAX_BYTES = %zu",
                       total, ngraph, maxlive, AC_TPG_REACH_MAX_BYTES);
    return AC_OK;
}

static ac_status build_reach(ac_tpg *G, ac_msg *msg)
{
    ac_status st0 = ac_tpg_reach_check(G->ngraph, G->nlive, msg);
    if (st0 != AC_OK)
        return st0;
    for (int g = 0; g < G->ngraph; g++) {
        size_t nl = (size_t)G->nlive[g];
        if (nl == 0)
            continue;
        G->reach[g] = malloc(nl * nl);
        if (!G->reach[g])
            return AC_ENOMEM;
        ac_status st = ac_graph_comp_reach(G->K, G->adj_off + (size_t)g * ((size_t)G->K + 1), G->adj,
                                           G->comp + (size_t)g * (size_t)G->K, G->nlive[g], G->reach[g]);
        if (st != AC_OK)
            return st;
    }
    return AC_OK;
}

ac_status ac_tpg_size_check(int ngraph, int K, ac_msg *msg)
{
    if (ngraph < 0 || K < 1)
        return ac_fail(msg, AC_ESIZE, "%d graphs of %d tokens: need ngraph >= 0 and K >= 1", ngraph, K);
    size_t rows = (size_t)ngraph * ((size_t)K + 1);
    if (rows > AC_TPG_ROWS_MAX)
        return ac_fail(msg, AC_ESIZE,
                       "%d graphs (last tokens) of %d tokens need %zu graph rows > AC_TPG_ROWS_MAX = %zu "
                       "(about %zu bytes per row; a vocabulary larger than the tokens used: "
                       "ac_tpg_data_renumber)",
                       ngraph, K, rows, (size_t)AC_TPG_ROWS_MAX, (size_t)AC_TPG_ROW_BYTES);
    return AC_OK;
}

ac_status ac_tpg_build(const ac_tpg_data *D, ac_tpg **out, ac_msg *msg)
{
    *out = NULL;
    ac_status st = ac_tpg_data_check(D, 1, msg);
    if (st != AC_OK)
        return st;
    /* one graph at least when there are examples: refuse a vocabulary too
     * large for it before allocating anything of size K */
    if (D->n > 0 && (st = ac_tpg_size_check(1, D->K, msg)) != AC_OK)
        return st;
    ac_tpg *G = calloc(1, sizeof *G);
    if (!G)
        return AC_ENOMEM;
    int K = D->K;
    G->K = K;
    G->graph_of = malloc(sizeof(int) * (size_t)K);
    if (!G->graph_of) {
        ac_tpg_free(G);
        return AC_ENOMEM;
    }
    for (int k = 0; k < K; k++)
        G->graph_of[k] = -1;
    for (int i = 0; i < D->n; i++)
        G->graph_of[D->tok[D->off[i + 1] - 1]] = 0;
    for (int k = 0; k < K; k++)
        if (G->graph_of[k] == 0)
            G->graph_of[k] = G->ngraph++;
    st = ac_tpg_size_check(G->ngraph, K, msg);
    if (st != AC_OK) {
        ac_tpg_free(G); /* the message is written: G is not read after this */
        return st;
    }
    st = alloc_graphs(G);
    if (st == AC_OK) {
        for (int k = 0; k < K; k++)
            if (G->graph_of[k] >= 0)
                G->last[G->graph_of[k]] = k;
        st = build_edges(G, D);
    }
    int *scratch = st == AC_OK ? malloc(sizeof(int) * 2 * (size_t)K) : NULL;
    if (st == AC_OK && !scratch)
        st = AC_ENOMEM;
    for (int g = 0; g < G->ngraph && st == AC_OK; g++)
        st = graph_components(G, g, scratch);
    free(scratch);
    if (st == AC_OK)
        st = build_reach(G, msg);
    if (st != AC_OK) {
        ac_tpg_free(G);
        return st;
    }
    *out = G;
    return AC_OK;
}

/* ---- queries ------------------------------------------------------------ */

int ac_tpg_nedges(const ac_tpg *G, int g)
{
    if (g < 0 || g >= G->ngraph)
        return 0;
    const int *off = G->adj_off + (size_t)g * ((size_t)G->K + 1);
    return off[G->K] - off[0];
}

int ac_tpg_comp_reaches(const ac_tpg *G, int g, int A, int B)
{
    if (g < 0 || g >= G->ngraph || A < 0 || B < 0 || A >= G->ncomp[g] || B >= G->ncomp[g])
        return 0;
    if (A == B)
        return 1;
    int nl = G->nlive[g];
    if (A >= nl || B >= nl) /* an isolated token reaches and is reached by nothing else */
        return 0;
    return G->reach[g][(size_t)A * (size_t)nl + (size_t)B];
}

int ac_tpg_same_scc(const ac_tpg *G, int k, int i, int j)
{
    if (k < 0 || k >= G->K || i < 0 || i >= G->K || j < 0 || j >= G->K)
        return 0;
    int g = G->graph_of[k];
    if (g < 0)
        return 0;
    const int *comp = G->comp + (size_t)g * (size_t)G->K;
    return comp[i] == comp[j];
}

/* With topological numbering a component that reaches all the others has the
 * smallest number among them, so that one is the only candidate. */
int ac_tpg_top_scc(const ac_tpg *G, int k, const int *tok, int len)
{
    if (len < 1 || k < 0 || k >= G->K || G->graph_of[k] < 0)
        return -1;
    int g = G->graph_of[k];
    const int *comp = G->comp + (size_t)g * (size_t)G->K;
    int top = G->K;
    for (int t = 0; t < len; t++) {
        if (tok[t] < 0 || tok[t] >= G->K)
            return -1;
        if (comp[tok[t]] < top)
            top = comp[tok[t]];
    }
    for (int t = 0; t < len; t++)
        if (!ac_tpg_comp_reaches(G, g, top, comp[tok[t]]))
            return -1;
    return top;
}

void ac_tpg_cond_clear(ac_tpg_cond *c)
{
    if (!c)
        return;
    free(c->from);
    free(c->to);
    memset(c, 0, sizeof *c);
}

static int cmp_pair(const void *x, const void *y)
{
    const int *a = x, *b = y;
    if (a[0] != b[0])
        return (a[0] > b[0]) - (a[0] < b[0]);
    return (a[1] > b[1]) - (a[1] < b[1]);
}

/* Every token edge j -> l with comp[j] != comp[l] gives the pair
 * (comp[j], comp[l]); sorting and keeping the first of equal neighbours
 * leaves each condensation edge once. */
ac_status ac_tpg_condensation(const ac_tpg *G, int g, ac_tpg_cond *out, ac_msg *msg)
{
    memset(out, 0, sizeof *out);
    if (g < 0 || g >= G->ngraph)
        return ac_fail(msg, AC_EINVAL, "graph index %d is outside [0, %d)", g, G->ngraph);
    int K = G->K;
    const int *comp = G->comp + (size_t)g * (size_t)K, *off = G->adj_off + (size_t)g * ((size_t)K + 1);
    size_t cap = (size_t)(off[K] - off[0]) + 1;
    int *pair = malloc(sizeof(int) * 2 * cap);
    out->from = malloc(sizeof(int) * cap);
    out->to = malloc(sizeof(int) * cap);
    if (!pair || !out->from || !out->to) {
        free(pair);
        ac_tpg_cond_clear(out);
        return ac_fail(msg, AC_ENOMEM, "condensation of graph %d: out of memory", g);
    }
    int n = 0;
    for (int j = 0; j < K; j++)
        for (int e = off[j]; e < off[j + 1]; e++)
            if (comp[j] != comp[G->adj[e]]) {
                pair[2 * n] = comp[j];
                pair[2 * n + 1] = comp[G->adj[e]];
                n++;
            }
    qsort(pair, (size_t)n, 2 * sizeof(int), cmp_pair);
    int u = 0;
    for (int i = 0; i < n; i++)
        if (u == 0 || pair[2 * i] != out->from[u - 1] || pair[2 * i + 1] != out->to[u - 1]) {
            out->from[u] = pair[2 * i];
            out->to[u] = pair[2 * i + 1];
            u++;
        }
    out->n = u;
    free(pair);
    return AC_OK;
}

int ac_tpg_is_acyclic(const ac_tpg *G)
{
    for (int g = 0; g < G->ngraph; g++)
        if (G->ncomp[g] != G->K)
            return 0;
    return 1;
}

/* ---- Graph-SVM ---------------------------------------------------------- */

void ac_tpg_token_logits(const double *E, int K, int d, const double *W, double *U)
{
    if (K <= 0) /* a size below 0 counts as 0: a void function cannot report it */
        return;
    if (d <= 0) {
        memset(U, 0, sizeof(double) * (size_t)K * (size_t)K);
        return;
    }
    double *T = malloc(sizeof(double) * (size_t)K * (size_t)d);
    if (!T) {
        for (int j = 0; j < K; j++)
            for (int k = 0; k < K; k++) {
                double s = 0.0;
                for (int a = 0; a < d; a++)
                    for (int b = 0; b < d; b++)
                        s += E[j * d + a] * W[a * d + b] * E[k * d + b];
                U[j * K + k] = s;
            }
        return;
    }
    /* T = E W (K x d), U = T E^T */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, d, d, 1.0, E, d, W, d, 0.0, T, d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, K, K, d, 1.0, T, d, E, d, 0.0, U, K);
    free(T);
}


void ac_tpg_cons_clear(ac_tpg_cons *C)
{
    if (!C)
        return;
    free(C->a);
    free(C->b);
    free(C->k);
    free(C->is_eq);
    free(C->rhs);
    memset(C, 0, sizeof *C);
}

/* spec §3.1: one constraint per edge i -> j of G^(k); = 0 inside an SCC,
 * >= 1 across SCCs. */
ac_status ac_tpg_constraints(const ac_tpg *G, ac_tpg_cons *C, ac_msg *msg)
{
    memset(C, 0, sizeof *C);
    int m = 0;
    for (int g = 0; g < G->ngraph; g++)
        m += ac_tpg_nedges(G, g);
    size_t cap = m > 0 ? (size_t)m : 1;
    C->a = malloc(sizeof(int) * cap);
    C->b = malloc(sizeof(int) * cap);
    C->k = malloc(sizeof(int) * cap);
    C->is_eq = malloc(cap);
    C->rhs = malloc(sizeof(double) * cap);
    if (!C->a || !C->b || !C->k || !C->is_eq || !C->rhs) {
        ac_tpg_cons_clear(C);
        return ac_fail(msg, AC_ENOMEM, "Graph-SVM constraints: out of memory for %d edges", m);
    }
    int K = G->K, c = 0;
    for (int g = 0; g < G->ngraph; g++) {
        const int *off = G->adj_off + (size_t)g * ((size_t)K + 1);
        const int *comp = G->comp + (size_t)g * (size_t)K;
        for (int i = 0; i < K; i++)
            for (int e = off[i]; e < off[i + 1]; e++, c++) {
                int j = G->adj[e];
                C->a[c] = i;
                C->b[c] = j;
                C->k[c] = G->last[g];
                C->is_eq[c] = comp[i] == comp[j];
                C->rhs[c] = C->is_eq[c] ? 0.0 : 1.0;
                C->neq += C->is_eq[c];
            }
    }
    C->m = m;
    return AC_OK;
}

void ac_tpg_svm_settings_default(ac_tpg_svm_settings *s)
{
    ac_qp_settings_default(&s->qp);
    s->allow_dependent = 0;
}


typedef struct {
    int m;
    int *idx; /* positions in the full set */
    int *a, *b, *k;
    unsigned char *is_eq;
    double *rhs, *lambda, *cert;
} cons_subset;

static void subset_free(cons_subset *s)
{
    free(s->idx), free(s->a), free(s->b), free(s->k), free(s->is_eq), free(s->rhs), free(s->lambda),
        free(s->cert);
    memset(s, 0, sizeof *s);
}

/* A_c = (e_a - e_b) e_k^T vanishes exactly when e_a = e_b entry for entry
 * or e_k = 0, decided from E itself: a test on the Gram,
 * (G_aa + G_bb - 2 G_ab) G_kk against rounding, cannot tell a tiny A_c
 * from zero (rows 2^-23 apart made a feasible problem 'infeasible'). */
static int vanishes(const double *E, int d, int a, int b, int k)
{
    const double *ea = E + (size_t)a * (size_t)d, *eb = E + (size_t)b * (size_t)d;
    return ac_la_dist(ea, eb, d) == 0.0 || ac_la_nrm2(E + (size_t)k * (size_t)d, d) == 0.0;
}

/* The constraints of C whose matrix does not vanish, into sub.  When a
 * vanishing inequality exists, info says infeasible with it as certificate. */
static ac_status drop_vanishing(const ac_tpg_cons *C, const double *E, int d, cons_subset *sub, ac_qp_info *info,
                                double *lambda, double *cert)
{
    size_t m = (size_t)C->m + 1;
    memset(sub, 0, sizeof *sub);
    memset(info, 0, sizeof *info);
    sub->idx = malloc(sizeof(int) * m), sub->a = malloc(sizeof(int) * m), sub->b = malloc(sizeof(int) * m);
    sub->k = malloc(sizeof(int) * m), sub->is_eq = malloc(m), sub->rhs = malloc(sizeof(double) * m);
    sub->lambda = calloc(m, sizeof(double)), sub->cert = calloc(m, sizeof(double));
    if (!sub->idx || !sub->a || !sub->b || !sub->k || !sub->is_eq || !sub->rhs || !sub->lambda || !sub->cert)
        return AC_ENOMEM;
    if (lambda)
        memset(lambda, 0, sizeof(double) * (size_t)C->m);
    if (cert)
        memset(cert, 0, sizeof(double) * (size_t)C->m);
    for (int c = 0; c < C->m; c++) {
        int a = C->a[c], b = C->b[c], k = C->k[c];
        if (vanishes(E, d, a, b, k)) {
            if (C->is_eq[c])
                continue;
            info->status = AC_QP_INFEASIBLE;
            info->cert_support = 1;
            info->cert_residual = 0.0;
            if (cert)
                cert[c] = 1.0;
            return AC_OK;
        }
        int j = sub->m++;
        sub->idx[j] = c, sub->a[j] = a, sub->b[j] = b, sub->k[j] = k;
        sub->is_eq[j] = C->is_eq[c], sub->rhs[j] = C->rhs[c];
    }
    return AC_OK;
}

/* Multipliers and certificate of the subset back to full positions. */
static void scatter(const cons_subset *sub, double *lambda, double *cert)
{
    for (int j = 0; j < sub->m; j++) {
        if (lambda)
            lambda[sub->idx[j]] = sub->lambda[j];
        if (cert)
            cert[sub->idx[j]] = sub->cert[j];
    }
}

ac_status ac_tpg_scale_exp(const double *E, int K, int d, int *p, ac_msg *msg)
{
    double m = 0.0;
    *p = 0;
    for (int i = 0; i < K; i++)
        for (int j = 0; j < d; j++) {
            double v = fabs(E[(size_t)i * (size_t)d + (size_t)j]);
            if (!isfinite(v))
                return ac_fail(msg, AC_EPARSE, "embedding entry (%d, %d) is %g; need finite entries", i,
                               j, E[(size_t)i * (size_t)d + (size_t)j]);
            if (v > m)
                m = v;
        }
    if (m == 0.0 || (m >= ldexp(1.0, -AC_TPG_SCALE_BAND) && m <= ldexp(1.0, AC_TPG_SCALE_BAND)))
        return AC_OK;
    frexp(m, p);
    return AC_OK;
}

/* The band check of ac_tpg_svm and ac_tpg_sfin_alloc. */
ac_status ac_tpg_scale_check(const double *E, int K, int d, ac_msg *msg)
{
    int p;
    ac_status st = ac_tpg_scale_exp(E, K, d, &p, msg);
    if (st != AC_OK || p == 0)
        return st;
    return ac_fail(msg, AC_ESIZE,
                   "largest embedding entry is about 2^%d, outside [2^-%d, 2^%d] (AC_TPG_SCALE_BAND); "
                   "rescale the embeddings (ac_tpg_solve does so exactly)",
                   p, AC_TPG_SCALE_BAND, AC_TPG_SCALE_BAND);
}

ac_status ac_tpg_svm(const ac_tpg *G, const ac_tpg_cons *C, const double *E, int d,
                     const ac_tpg_svm_settings *set, double *W, double *lambda, double *cert,
                     ac_qp_info *info, ac_msg *msg)
{
    ac_tpg_svm_settings def;
    if (!set) {
        ac_tpg_svm_settings_default(&def);
        set = &def;
    }
    ac_qp_info local;
    if (!info)
        info = &local;
    if (!G || !C || !W || (!E && G->K > 0 && d > 0))
        return ac_fail(msg, AC_EINVAL, "Graph-SVM: the graphs, constraints, embeddings or W is NULL");
    int K = G->K;
    if (d < 0)
        return ac_fail(msg, AC_ESIZE, "embedding dimension d = %d; need d >= 0", d);
    ac_status st0 = ac_tpg_scale_check(E, K, d, msg);
    if (st0 != AC_OK)
        return st0;
    int rank;
    ac_status st = ac_la_rank(E, K, d, &rank, NULL, NULL);
    if (st != AC_OK)
        return ac_fail(msg, st, "rank of the %d x %d embedding matrix: %s", K, d, ac_status_str(st));
    if (rank < K && !set->allow_dependent)
        return ac_fail(msg, AC_ERANK,
                       "embeddings have rank %d < K = %d; the Graph-SVM needs linearly independent "
                       "embeddings (pass allow_dependent to solve anyway)",
                       rank, K);

    double *gram = malloc(sizeof(double) * (size_t)K * (size_t)K);
    double *Lam = malloc(sizeof(double) * (size_t)K * (size_t)K);
    ac_qp_workspace *w = ac_qp_alloc(K, K, C->m);
    if (!gram || !Lam || !w) {
        free(gram), free(Lam), ac_qp_free(w);
        return ac_fail(msg, AC_ENOMEM, "Graph-SVM workspace for K = %d, %d constraints", K, C->m);
    }
    ac_la_gram(E, K, d, gram);
    /* With dependent embeddings a constraint can vanish: A_c = 0 when two
     * tokens share an embedding.  A vanishing inequality (0 >= 1) is
     * infeasible by itself: its certificate is that constraint alone.  A
     * vanishing equality (0 = 0) says nothing and is left out of the QP. */
    cons_subset sub;
    st = drop_vanishing(C, E, d, &sub, info, lambda, cert);
    if (st == AC_OK && info->status != AC_QP_INFEASIBLE) {
        ac_qp_problem prob = {.p = K, .q = K, .GL = gram, .GR = gram, .m = sub.m, .a = sub.a, .b = sub.b,
                              .k = sub.k, .is_eq = sub.is_eq, .rhs = sub.rhs};
        st = ac_qp_solve(w, &prob, &set->qp, info, msg);
        if (st == AC_OK) {
            ac_qp_solution(w, sub.lambda, Lam);
            if (cert)
                ac_qp_certificate(w, sub.cert); /* zeros unless infeasible */
            scatter(&sub, lambda, cert);
            ac_la_lift(E, K, d, Lam, W); /* W = E^T Lam E */
        }
    } else if (st == AC_OK) {
        memset(W, 0, sizeof(double) * (size_t)d * (size_t)d);
    }
    subset_free(&sub);
    free(gram), free(Lam), ac_qp_free(w);
    return st == AC_ENOMEM ? ac_fail(msg, st, "Graph-SVM: no memory for %d constraints", C->m) : st;
}

void ac_tpg_cons_values(const ac_tpg_cons *C, const double *E, int d, const double *W, double *s)
{
    for (int c = 0; c < C->m; c++) {
        const double *ea = E + (size_t)C->a[c] * (size_t)d, *eb = E + (size_t)C->b[c] * (size_t)d;
        const double *ek = E + (size_t)C->k[c] * (size_t)d;
        double v = 0.0;
        for (int i = 0; i < d; i++) {
            double u = ea[i] - eb[i];
            if (u == 0.0)
                continue;
            double r = 0.0; /* (W e_k)_i */
            for (int j = 0; j < d; j++)
                r += W[(size_t)i * (size_t)d + (size_t)j] * ek[j];
            v += u * r;
        }
        s[c] = v;
    }
}
