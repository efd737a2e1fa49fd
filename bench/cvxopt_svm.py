#!/usr/bin/python3
"""Peer for the Graph-SVM solve: the same problem through cvxopt.solvers.qp.

usage: cvxopt_svm.py DATA EMB [--repeat R] [--tol T]

Reads the two files with its own parser, builds the token-priority graphs and
the Graph-SVM constraints itself (spec tpg_svm section 2 and 3.1), and solves

    minimise 1/2 ||W||_F^2  over vec(W) (row-major, d*d variables)
    s.t.     (e_i - e_j)^T W e_k  = 0   for each edge i -> j inside an SCC of G^(k)
             (e_i - e_j)^T W e_k >= 1   for each edge between SCCs of G^(k)

with P = I (sparse), G/h the inequalities (as -row x <= -1), A/b the
equalities.  cvxopt needs rank(A) = number of rows, and the edges of a cycle
give dependent rows, so only the edges of a spanning forest of each SCC's
equality edges are kept (union-find per last token): with linearly independent
embeddings (K <= d), rows (e_i - e_j) (x) e_k of a forest are independent, and
the forest implies every edge of the SCC (u_i = u_j is transitive).

Only the cvxopt.solvers.qp call is timed (median of R calls).  Prints one JSON
object: seconds, status, iterations, gap, relative_gap, primal_infeasibility,
dual_infeasibility, equalities (kept / all), inequalities, W (d rows).
"""
import json
import statistics
import sys
import time

import numpy as np
from cvxopt import matrix, solvers, spmatrix

from peer_files import read_data, read_rows


def graphs(examples):
    """{k: {y: set of j}}: the edges y -> j of G^(k), spec section 2."""
    g = {}
    for toks, y in examples:
        adj = g.setdefault(toks[-1], {})
        succ = adj.setdefault(y, set())
        succ.update(j for j in toks if j != y)
    return g


def scc(adj):
    """Strongly connected components of {node: successors}: iterative
    Tarjan.  Returns {node: component id}."""
    nodes = set(adj)
    for s in adj.values():
        nodes |= s
    succ = {v: sorted(adj.get(v, ())) for v in nodes}
    index, low, comp = {}, {}, {}
    stack, on_stack = [], set()
    counter = 0
    ncomp = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, pos = work[-1]
            if pos < len(succ[v]):
                work[-1] = (v, pos + 1)
                w = succ[v][pos]
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp[w] = ncomp
                    if w == v:
                        break
                ncomp += 1
    return comp


def constraints(examples):
    """(eq, ineq): lists of (i, j, k), deduplicated; eq keeps a spanning
    forest of each SCC's edges.  Also returns the count of all equalities."""
    eq, ineq, n_eq_all = [], [], 0
    for k, adj in sorted(graphs(examples).items()):
        comp = scc(adj)
        parent = {}

        def find(v):
            while parent.get(v, v) != v:
                parent[v] = parent.get(parent[v], parent[v])
                v = parent[v]
            return v

        for i in sorted(adj):
            for j in sorted(adj[i]):
                if comp[i] != comp[j]:
                    ineq.append((i, j, k))
                    continue
                n_eq_all += 1
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[ri] = rj
                    eq.append((i, j, k))
    return eq, ineq, n_eq_all


def rows(E, cons):
    """One row vec((e_i - e_j) e_k^T) per constraint (row-major vec)."""
    d = E.shape[1]
    M = np.empty((len(cons), d * d))
    for r, (i, j, k) in enumerate(cons):
        M[r] = np.outer(E[i] - E[j], E[k]).ravel()
    return M


def main(argv):
    args = argv[1:]
    repeat, tol = 1, 1e-10
    while len(args) > 2:
        opt, val = args[-2], args[-1]
        args = args[:-2]
        if opt == "--repeat":
            repeat = int(val)
        elif opt == "--tol":
            tol = float(val)
        else:
            sys.exit(__doc__)
    if len(args) != 2:
        sys.exit(__doc__)
    examples = read_data(args[0])
    E = np.array(read_rows(args[1]), dtype=np.float64)
    d = E.shape[1]
    n = d * d
    eq, ineq, n_eq_all = constraints(examples)

    P = spmatrix(1.0, range(n), range(n))
    q = matrix(0.0, (n, 1))
    G = matrix(-rows(E, ineq)) if ineq else None
    h = matrix(-1.0, (len(ineq), 1)) if ineq else None
    A = matrix(rows(E, eq)) if eq else None
    b = matrix(0.0, (len(eq), 1)) if eq else None

    solvers.options.update(show_progress=False, abstol=tol, reltol=tol, feastol=tol, maxiters=200)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        sol = solvers.qp(P, q, G, h, A, b)
        times.append(time.perf_counter() - t0)
    W = np.array(sol["x"]).reshape(d, d)
    print(json.dumps({
        "seconds": statistics.median(times),
        "status": sol["status"],
        "iterations": sol["iterations"],
        "gap": sol["gap"],
        "relative_gap": sol["relative gap"],
        "primal_infeasibility": sol["primal infeasibility"],
        "dual_infeasibility": sol["dual infeasibility"],
        "equalities": [len(eq), n_eq_all],
        "inequalities": len(ineq),
        "tolerance": tol,
        "W": W.tolist(),
    }))


if __name__ == "__main__":
    main(sys.argv)
