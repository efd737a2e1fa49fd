/* Strongly connected components of a directed graph, by Tarjan's algorithm in
 * iterative form (an explicit stack: no recursion limit whatever the size).
 *
 * The graph has nodes 0..n-1 and adjacency in CSR form: the successors of v
 * are adj[off[v] .. off[v+1]).  Components are numbered in a topological order
 * of the condensation: if some node of component A reaches a node of a
 * different component B, then A < B.  (Tarjan emits sinks first; the numbering
 * reverses that.) */
#ifndef AC_GRAPH_H
#define AC_GRAPH_H

#include "solvers/status.h"

/* comp: n entries out; *ncomp out.  Returns AC_ENOMEM or AC_OK. */
ac_status ac_graph_scc(int n, const int *off, const int *adj, int *comp, int *ncomp);

/* Reachability between components: reach[A*ncomp + B] = 1 when A reaches B
 * (A == B included) in the condensation of the graph.  reach is ncomp^2
 * bytes, caller-allocated.  O(ncomp * edges). */
ac_status ac_graph_comp_reach(int n, const int *off, const int *adj, const int *comp, int ncomp,
                              unsigned char *reach);

#endif
