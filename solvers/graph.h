/* Strongly connected components of a directed graph, by Tarjan's algorithm in
 * iterative form (an explicit stack: no recursion limit whatever the size).
 *
 * The graph has nodes 0..n-1 and adjacency in CSR form: the successors of v
 * are adj[off[v] .. off[v+1]).  off may hold absolute positions into a larger
 * adj array (off[0] need not be 0); only the differences and the entries
 * adj[off[v] .. off[v+1]) are read.  Self-loops and repeated edges are
 * allowed.  Components are numbered in a topological order of the
 * condensation: if some node of component A reaches a node of a different
 * component B, then A < B.  (Tarjan emits sinks first; the numbering reverses
 * that.) */
#ifndef AC_GRAPH_H
#define AC_GRAPH_H

#include "solvers/status.h"

/* comp: n entries out (component of each node, in [0, *ncomp)); *ncomp out.
 * Time O(n + edges), memory 5n ints (the explicit call stack included).
 * Returns AC_OK, AC_ENOMEM, or AC_EINVAL when n < 0, off decreases, or a
 * successor lies outside [0, n); comp and *ncomp are then unspecified. */
ac_status ac_graph_scc(int n, const int *off, const int *adj, int *comp, int *ncomp);

/* Reachability between components: reach[A*ncomp + B] = 1 when A reaches B
 * (A == B included) in the condensation of the graph, else 0.  comp must be a
 * topological numbering of the components (as ac_graph_scc gives; rows are
 * filled from the last component up).  ncomp may be smaller than the number
 * of components: the table then covers components 0..ncomp-1 only and the
 * nodes of higher components are skipped, which is exact as long as no edge
 * leaves the covered components (true, e.g., when the higher components are
 * isolated nodes).  reach is ncomp^2 bytes, caller-allocated, fully written.
 * Time O(ncomp * edges) at worst, memory n + ncomp + 1 ints.  Returns AC_OK,
 * AC_ENOMEM, or AC_EINVAL when an edge goes to a lower-numbered component
 * (comp is not topological) or leaves the covered components, and for what
 * ac_graph_scc refuses (n < 0, off decreasing, a successor outside [0, n)),
 * ncomp < 0 or a negative comp entry.  ncomp = 0 writes nothing. */
ac_status ac_graph_comp_reach(int n, const int *off, const int *adj, const int *comp, int ncomp,
                              unsigned char *reach);

#endif
