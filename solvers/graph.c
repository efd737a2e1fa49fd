#include "solvers/graph.h"

#include <stdlib.h>
#include <string.h>

/* Successor lists must lie in [0, n) and off must not decrease. */
static int valid_graph(int n, const int *off, const int *adj)
{
    for (int v = 0; v < n; v++) {
        if (off[v + 1] < off[v])
            return 0;
        for (int e = off[v]; e < off[v + 1]; e++)
            if (adj[e] < 0 || adj[e] >= n)
                return 0;
    }
    return 1;
}

/* Tarjan's algorithm (Tarjan 1972) with the recursion replaced by an explicit
 * call stack `call`: the top frame is the node v being explored, and cursor[v]
 * is the next of its edges to follow, which is all the state a recursive
 * frame would hold.  Returning from a frame is the `else` branch: v is popped,
 * closes a component when low[v] == index[v], and passes low[v] to its parent.
 *
 * A visited node whose component is not yet assigned is on Tarjan's stack
 * (the invariant of the algorithm), so comp[w] == -1 serves as the on-stack
 * flag.  Components are emitted sinks first (emission number t); the
 * topological number is ncomp - 1 - t. */
ac_status ac_graph_scc(int n, const int *off, const int *adj, int *comp, int *ncomp)
{
    if (n < 0)
        return AC_EINVAL;
    *ncomp = 0;
    if (n == 0)
        return AC_OK;
    if (!valid_graph(n, off, adj))
        return AC_EINVAL;

    int *work = malloc(sizeof(int) * 5 * (size_t)n);
    if (!work)
        return AC_ENOMEM;
    int *index = work, *low = work + n, *cursor = work + 2 * (size_t)n;
    int *call = work + 3 * (size_t)n, *stack = work + 4 * (size_t)n;
    for (int v = 0; v < n; v++) {
        index[v] = -1;
        comp[v] = -1;
    }

    int counter = 0, nemit = 0, sp = 0;
    for (int r = 0; r < n; r++) {
        if (index[r] >= 0)
            continue;
        int top = 0;
        index[r] = low[r] = counter++;
        cursor[r] = off[r];
        call[top++] = r;
        stack[sp++] = r;
        while (top > 0) {
            int v = call[top - 1];
            if (cursor[v] < off[v + 1]) {
                int w = adj[cursor[v]++];
                if (index[w] < 0) { /* descend: push a frame for w */
                    index[w] = low[w] = counter++;
                    cursor[w] = off[w];
                    call[top++] = w;
                    stack[sp++] = w;
                } else if (comp[w] < 0 && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            top--; /* return from v */
            if (low[v] == index[v]) {
                int w;
                do {
                    w = stack[--sp];
                    comp[w] = nemit;
                } while (w != v);
                nemit++;
            }
            if (top > 0) {
                int u = call[top - 1];
                if (low[v] < low[u])
                    low[u] = low[v];
            }
        }
    }
    for (int v = 0; v < n; v++)
        comp[v] = nemit - 1 - comp[v];
    *ncomp = nemit;
    free(work);
    return AC_OK;
}

/* Row A of the closure is {A} united with the rows of A's successor
 * components, which all have larger numbers (topological numbering) and so
 * are complete when A's turn comes, going from the last component up.
 * A successor B already marked in row A needs no merge: it was marked by the
 * complete row of some C that reaches B, and that row already holds B's row. */
ac_status ac_graph_comp_reach(int n, const int *off, const int *adj, const int *comp, int ncomp,
                              unsigned char *reach)
{
    if (n < 0 || ncomp < 0)
        return AC_EINVAL;
    if (ncomp == 0)
        return AC_OK;
    if (!valid_graph(n, off, adj))
        return AC_EINVAL;
    for (int v = 0; v < n; v++)
        if (comp[v] < 0)
            return AC_EINVAL; /* it would index start[] below 0 */
    size_t nc = (size_t)ncomp;
    memset(reach, 0, nc * nc);
    int *start = calloc(nc + 1, sizeof(int));
    int *nodes = malloc(sizeof(int) * (n > 0 ? (size_t)n : 1));
    if (!start || !nodes) {
        free(start), free(nodes);
        return AC_ENOMEM;
    }
    /* nodes grouped by component (counting sort) */
    for (int v = 0; v < n; v++)
        if (comp[v] < ncomp)
            start[comp[v] + 1]++;
    for (int c = 0; c < ncomp; c++)
        start[c + 1] += start[c];
    for (int v = 0; v < n; v++)
        if (comp[v] < ncomp)
            nodes[start[comp[v]]++] = v;
    for (int c = ncomp; c > 0; c--)
        start[c] = start[c - 1];
    start[0] = 0;

    ac_status st = AC_OK;
    for (int A = ncomp - 1; A >= 0 && st == AC_OK; A--) {
        unsigned char *row = reach + (size_t)A * nc;
        row[A] = 1;
        for (int i = start[A]; i < start[A + 1] && st == AC_OK; i++) {
            int v = nodes[i];
            for (int e = off[v]; e < off[v + 1]; e++) {
                int B = comp[adj[e]];
                if (B < A || B >= ncomp) {
                    st = AC_EINVAL;
                    break;
                }
                if (row[B])
                    continue;
                const unsigned char *rowB = reach + (size_t)B * nc;
                for (size_t c = (size_t)B; c < nc; c++)
                    row[c] |= rowB[c];
            }
        }
    }
    free(start), free(nodes);
    return st;
}
