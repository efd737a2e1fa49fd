/* Tests of solvers/graph: Tarjan's SCCs against a brute-force reachability
 * closure, the topological numbering on every edge, component reachability,
 * invalid input, and a 10^6-node chain and cycle (no recursion limit). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "solvers/graph.h"
#include "tests/testutil.h"



#define NMAX 14

/* A random graph on n nodes in CSR with absolute offsets starting at `base`
 * (the adj array has base unused entries in front, filled with garbage -1),
 * edge probability p; self-loops and repeated edges appear too. */
typedef struct {
    int n;
    int off[NMAX + 1];
    int adj[8 * NMAX * NMAX];
} graph;

static void random_graph(gsl_rng *r, graph *G, int n, double p)
{
    int base = (int)gsl_rng_uniform_int(r, 5), e = base;
    G->n = n;
    for (int i = 0; i < base; i++)
        G->adj[i] = -1;
    for (int v = 0; v < n; v++) {
        G->off[v] = e;
        for (int w = 0; w < n; w++)
            if (gsl_rng_uniform(r) < p) {
                G->adj[e++] = w;
                if (gsl_rng_uniform(r) < 0.2) /* a repeat */
                    G->adj[e++] = w;
            }
    }
    G->off[n] = e;
}

/* R[i][j] = 1 when j is reachable from i (reflexive): Floyd-Warshall on booleans. */
static void closure(const graph *G, unsigned char R[NMAX][NMAX])
{
    int n = G->n;
    memset(R, 0, sizeof(unsigned char) * NMAX * NMAX);
    for (int v = 0; v < n; v++) {
        R[v][v] = 1;
        for (int e = G->off[v]; e < G->off[v + 1]; e++)
            R[v][G->adj[e]] = 1;
    }
    for (int m = 0; m < n; m++)
        for (int i = 0; i < n; i++)
            if (R[i][m])
                for (int j = 0; j < n; j++)
                    R[i][j] |= R[m][j];
}

/* Sizes 0..NMAX, densities from sparse (mostly DAG-like) to dense. */
static void draw(gsl_rng *r, graph *G)
{
    int n = (int)gsl_rng_uniform_int(r, NMAX + 1);
    double p = 0.02 + 0.4 * gsl_rng_uniform(r) * gsl_rng_uniform(r);
    random_graph(r, G, n, p);
}

Test(graph, components_are_classes_of_mutual_reachability)
{
    gsl_rng *r = ac_test_rng(101);
    unsigned long seed = ac_test_seed(101);
    int ncase = ac_test_cases(2000);
    for (int cs = 0; cs < ncase; cs++) {
        graph G;
        draw(r, &G);
        unsigned char R[NMAX][NMAX];
        closure(&G, R);
        int comp[NMAX], nc = -1;
        cr_assert_eq(ac_graph_scc(G.n, G.off, G.adj, comp, &nc), AC_OK, "case %d", cs);
        int seen[NMAX] = {0};
        for (int i = 0; i < G.n; i++) {
            cr_assert(comp[i] >= 0 && comp[i] < nc, "seed %lu case %d: comp[%d] = %d, ncomp %d", seed, cs, i,
                      comp[i], nc);
            seen[comp[i]] = 1;
            for (int j = 0; j < G.n; j++)
                cr_assert_eq(comp[i] == comp[j], R[i][j] && R[j][i],
                             "seed %lu case %d (n %d): nodes %d, %d: same comp %d, mutually reachable %d", seed,
                             cs, G.n, i, j, comp[i] == comp[j], R[i][j] && R[j][i]);
        }
        for (int c = 0; c < nc; c++)
            cr_assert(seen[c], "seed %lu case %d: component %d of %d is empty", seed, cs, c, nc);
    }
    gsl_rng_free(r);
}

Test(graph, components_are_topologically_numbered)
{
    gsl_rng *r = ac_test_rng(102);
    unsigned long seed = ac_test_seed(102);
    int ncase = ac_test_cases(2000);
    for (int cs = 0; cs < ncase; cs++) {
        graph G;
        draw(r, &G);
        int comp[NMAX], nc;
        cr_assert_eq(ac_graph_scc(G.n, G.off, G.adj, comp, &nc), AC_OK);
        for (int v = 0; v < G.n; v++)
            for (int e = G.off[v]; e < G.off[v + 1]; e++)
                cr_assert_leq(comp[v], comp[G.adj[e]], "seed %lu case %d: edge %d -> %d goes from comp %d to %d", seed,
                              cs, v, G.adj[e], comp[v], comp[G.adj[e]]);
    }
    gsl_rng_free(r);
}

Test(graph, component_reach_is_the_closure_between_components)
{
    gsl_rng *r = ac_test_rng(103);
    unsigned long seed = ac_test_seed(103);
    int ncase = ac_test_cases(2000);
    for (int cs = 0; cs < ncase; cs++) {
        graph G;
        draw(r, &G);
        unsigned char R[NMAX][NMAX], reach[NMAX * NMAX];
        closure(&G, R);
        int comp[NMAX], nc;
        cr_assert_eq(ac_graph_scc(G.n, G.off, G.adj, comp, &nc), AC_OK);
        memset(reach, 7, sizeof reach); /* every entry must be written */
        cr_assert_eq(ac_graph_comp_reach(G.n, G.off, G.adj, comp, nc, reach), AC_OK);
        for (int i = 0; i < G.n; i++)
            for (int j = 0; j < G.n; j++)
                cr_assert_eq(reach[comp[i] * nc + comp[j]], R[i][j],
                             "seed %lu case %d: node %d reaches %d: %d, table of comps %d -> %d: %d", seed, cs, i, j,
                             R[i][j], comp[i], comp[j], reach[comp[i] * nc + comp[j]]);
    }
    gsl_rng_free(r);
}

/* Components numbered after the covered prefix are skipped; that is exact when
 * they are isolated nodes.  Here: nodes 0 -> 1 -> 2 and node 3 isolated, with
 * 3's component moved to the end and only the first three covered. */
Test(graph, component_reach_covers_a_prefix_of_components)
{
    int off[5] = {0, 1, 2, 2, 2}, adj[2] = {1, 2};
    int comp[4] = {0, 1, 2, 3};
    unsigned char reach[9];
    cr_assert_eq(ac_graph_comp_reach(4, off, adj, comp, 3, reach), AC_OK);
    for (int A = 0; A < 3; A++)
        for (int B = 0; B < 3; B++)
            cr_assert_eq(reach[A * 3 + B], A <= B, "chain of 3: %d reaches %d", A, B);
    /* an edge into the uncovered component loses reachability: refused */
    int off2[5] = {0, 1, 2, 3, 3}, adj2[3] = {1, 2, 3};
    cr_assert_eq(ac_graph_comp_reach(4, off2, adj2, comp, 3, reach), AC_EINVAL);
}

Test(graph, component_reach_refuses_a_non_topological_numbering)
{
    int off[3] = {0, 1, 1}, adj[1] = {1};
    int comp[2] = {1, 0}; /* the edge 0 -> 1 goes from comp 1 to comp 0 */
    unsigned char reach[4];
    cr_assert_eq(ac_graph_comp_reach(2, off, adj, comp, 2, reach), AC_EINVAL);
}

Test(graph, invalid_graphs_are_refused)
{
    int comp[3], nc;
    int off[4] = {0, 1, 2, 2}, bad_adj[2] = {1, 3};
    cr_assert_eq(ac_graph_scc(3, off, bad_adj, comp, &nc), AC_EINVAL, "successor 3 in a graph of 3 nodes");
    int neg_adj[2] = {1, -1};
    cr_assert_eq(ac_graph_scc(3, off, neg_adj, comp, &nc), AC_EINVAL, "successor -1");
    int dec_off[4] = {0, 2, 1, 2}, adj[2] = {1, 2};
    cr_assert_eq(ac_graph_scc(3, dec_off, adj, comp, &nc), AC_EINVAL, "offsets decrease");
    cr_assert_eq(ac_graph_scc(-1, off, adj, comp, &nc), AC_EINVAL, "n = -1");
    /* the first node and the last are checked too, on both sides of [0, n) */
    int off0[4] = {0, 1, 1, 1}, first_bad[1] = {3}, first_neg[1] = {-1}, first_ok[1] = {2};
    cr_assert_eq(ac_graph_scc(3, off0, first_bad, comp, &nc), AC_EINVAL, "node 0 -> 3");
    cr_assert_eq(ac_graph_scc(3, off0, first_neg, comp, &nc), AC_EINVAL, "node 0 -> -1");
    cr_assert_eq(ac_graph_scc(3, off0, first_ok, comp, &nc), AC_OK, "node 0 -> 2 is fine");
    int offl[4] = {0, 0, 0, 1}, last_ok[1] = {0};
    cr_assert_eq(ac_graph_scc(3, offl, first_bad, comp, &nc), AC_EINVAL, "node 2 -> 3");
    cr_assert_eq(ac_graph_scc(3, offl, last_ok, comp, &nc), AC_OK, "node 2 -> 0 is fine");
    int dec0[4] = {1, 0, 0, 0};
    cr_assert_eq(ac_graph_scc(3, dec0, adj, comp, &nc), AC_EINVAL, "offsets decrease at node 0");
    int decl[4] = {0, 0, 1, 0};
    cr_assert_eq(ac_graph_scc(3, decl, adj, comp, &nc), AC_EINVAL, "offsets decrease at the last node");
}

Test(graph, empty_and_single_node_graphs)
{
    int off[2] = {3, 3}, comp[1] = {-5}, nc = -1;
    cr_assert_eq(ac_graph_scc(0, off, NULL, NULL, &nc), AC_OK);
    cr_assert_eq(nc, 0);
    cr_assert_eq(ac_graph_scc(1, off, NULL, comp, &nc), AC_OK);
    cr_assert_eq(nc, 1);
    cr_assert_eq(comp[0], 0);
    int off_loop[2] = {0, 1}, adj_loop[1] = {0}; /* a self-loop */
    cr_assert_eq(ac_graph_scc(1, off_loop, adj_loop, comp, &nc), AC_OK);
    cr_assert_eq(nc, 1);
    unsigned char reach[1] = {0};
    cr_assert_eq(ac_graph_comp_reach(1, off_loop, adj_loop, comp, 1, reach), AC_OK);
    cr_assert_eq(reach[0], 1);
}

/* A path 0 -> 1 -> ... -> n-1 makes the depth-first search n frames deep;
 * closing it into a cycle makes one component of n nodes.  A recursive Tarjan
 * would overflow the C stack long before 10^6 frames. */
#define DEEP 1000000

Test(graph, deep_chain_and_cycle_need_no_recursion)
{
    int *off = malloc(sizeof(int) * (DEEP + 1)), *adj = malloc(sizeof(int) * DEEP);
    int *comp = malloc(sizeof(int) * DEEP), nc;
    cr_assert(off && adj && comp);
    for (int v = 0; v < DEEP; v++) {
        off[v] = v;
        adj[v] = (v + 1) % DEEP;
    }
    off[DEEP] = DEEP - 1; /* the last node has no successor */
    clock_t t0 = clock();
    cr_assert_eq(ac_graph_scc(DEEP, off, adj, comp, &nc), AC_OK);
    double chain_s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    cr_assert_eq(nc, DEEP);
    for (int v = 0; v < DEEP; v++)
        if (comp[v] != v)
            cr_assert_fail("chain: comp[%d] = %d, want %d", v, comp[v], v);

    off[DEEP] = DEEP; /* the edge last -> 0, already in adj, closes the cycle */
    t0 = clock();
    cr_assert_eq(ac_graph_scc(DEEP, off, adj, comp, &nc), AC_OK);
    double cycle_s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    cr_assert_eq(nc, 1);
    for (int v = 0; v < DEEP; v++)
        if (comp[v] != 0)
            cr_assert_fail("cycle: comp[%d] = %d", v, comp[v]);
    unsigned char reach = 0;
    cr_assert_eq(ac_graph_comp_reach(DEEP, off, adj, comp, 1, &reach), AC_OK);
    cr_assert_eq(reach, 1);
    /* Linear time: about 10^7 simple steps, some 10 ms optimised.  The bound is
     * loose so that sanitizer builds (a few times slower) pass; valgrind
     * (some 50x) is excused by AC_TEST_NO_TIMING. */
    if (!getenv("AC_TEST_NO_TIMING")) {
        cr_assert_lt(chain_s, 1.0, "chain of 10^6 took %g s", chain_s);
        cr_assert_lt(cycle_s, 1.0, "cycle of 10^6 took %g s", cycle_s);
    }
    free(off), free(adj), free(comp);
}

/* ac_graph_comp_reach validates what it indexes with, as ac_graph_scc
 * does: a successor outside [0, n) was read as comp[adj[e]] beyond the
 * array, a negative component number indexed the counting sort below its
 * start, and a negative ncomp or n passed as AC_OK. */
Test(graph, component_reach_refuses_invalid_graphs_and_numberings)
{
    unsigned char reach[4] = {7, 7, 7, 7};
    int off[3] = {0, 1, 1}, adj[1] = {1}, comp[2] = {0, 1};
    cr_assert_eq(ac_graph_comp_reach(2, off, adj, comp, 2, reach), AC_OK);
    int bad_adj[1] = {5};
    cr_assert_eq(ac_graph_comp_reach(2, off, bad_adj, comp, 2, reach), AC_EINVAL, "successor 5 of 2 nodes");
    int dec_off[3] = {0, 1, 0};
    cr_assert_eq(ac_graph_comp_reach(2, dec_off, adj, comp, 2, reach), AC_EINVAL, "offsets decrease");
    int neg_comp[2] = {-2, 0};
    cr_assert_eq(ac_graph_comp_reach(2, off, adj, neg_comp, 2, reach), AC_EINVAL, "component -2");
    cr_assert_eq(ac_graph_comp_reach(2, off, adj, comp, -1, reach), AC_EINVAL, "ncomp = -1");
    cr_assert_eq(ac_graph_comp_reach(-1, off, adj, comp, 2, reach), AC_EINVAL, "n = -1");
}
