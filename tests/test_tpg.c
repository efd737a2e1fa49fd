/* Tests of theory/tpg: datasets and their checks, token-priority graphs
 * against a direct recomputation, SCCs against a brute-force closure, the top
 * SCC of each example (spec §2), the Graph-SVM constraints, and the Graph-SVM
 * against the structural check S1/S2 and the decoupled orthonormal problem of
 * spec §3.1. */
#include <criterion/criterion.h>
#include <float.h>
#include <stdio.h>
#include <string.h>

#include "solvers/linalg.h"
#include "tests/testutil.h"
#include "theory/tpg.h"



#define KMAX 7
#define NEX 10
#define TMAX 6

/* ---- random data -------------------------------------------------------- */

/* n in 0..NEX examples over K in 1..KMAX tokens, lengths 1..TMAX (repeats
 * allowed), last tokens drawn from a small pool so that graphs collect several
 * examples and cycles occur; labels are a token of the sequence (A2). */
static ac_tpg_data *random_data(gsl_rng *r)
{
    int K = 1 + (int)gsl_rng_uniform_int(r, KMAX);
    int n = (int)gsl_rng_uniform_int(r, NEX + 1);
    int len[NEX], ntok = 0;
    for (int i = 0; i < n; i++)
        ntok += len[i] = 1 + (int)gsl_rng_uniform_int(r, TMAX);
    ac_tpg_data *D = ac_tpg_data_alloc(n, ntok, K);
    cr_assert_not_null(D);
    int pool = 1 + (int)gsl_rng_uniform_int(r, K < 3 ? K : 3);
    for (int i = 0; i < n; i++) {
        D->off[i + 1] = D->off[i] + len[i];
        int *tok = D->tok + D->off[i];
        for (int t = 0; t < len[i] - 1; t++)
            tok[t] = (int)gsl_rng_uniform_int(r, (unsigned long)K);
        tok[len[i] - 1] = (int)gsl_rng_uniform_int(r, (unsigned long)pool);
        D->label[i] = tok[gsl_rng_uniform_int(r, (unsigned long)len[i])];
    }
    return D;
}

/* adj[k][y][j] = 1 when some example with last token k, label y holds j != y
 * (spec §2, recomputed directly). */
static void direct_edges(const ac_tpg_data *D, unsigned char adj[KMAX][KMAX][KMAX], int last_occurs[KMAX])
{
    memset(adj, 0, sizeof(unsigned char) * KMAX * KMAX * KMAX);
    memset(last_occurs, 0, sizeof(int) * KMAX);
    for (int i = 0; i < D->n; i++) {
        int k = D->tok[D->off[i + 1] - 1], y = D->label[i];
        last_occurs[k] = 1;
        for (int t = D->off[i]; t < D->off[i + 1]; t++)
            if (D->tok[t] != y)
                adj[k][y][D->tok[t]] = 1;
    }
}

/* Reflexive-transitive closure of one graph (Floyd-Warshall on booleans). */
static void closure(int K, unsigned char adj[KMAX][KMAX], unsigned char R[KMAX][KMAX])
{
    for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++)
            R[i][j] = i == j || adj[i][j];
    for (int m = 0; m < K; m++)
        for (int i = 0; i < K; i++)
            if (R[i][m])
                for (int j = 0; j < K; j++)
                    R[i][j] |= R[m][j];
}

static ac_tpg *build_ok(const ac_tpg_data *D)
{
    ac_tpg *G = NULL;
    ac_msg msg = {{0}};
    ac_status st = ac_tpg_build(D, &G, &msg);
    cr_assert_eq(st, AC_OK, "build: %s (%s)", ac_status_str(st), msg.text);
    return G;
}

/* ---- datasets ----------------------------------------------------------- */

Test(tpg, data_alloc_zeroes_and_free_releases_everything)
{
    ac_tpg_data *D = ac_tpg_data_alloc(0, 0, 3);
    cr_assert_not_null(D);
    cr_assert_eq(D->n, 0);
    cr_assert_eq(D->off[0], 0);
    cr_assert_null(D->line);
    cr_assert_null(D->source);
    cr_assert_eq(ac_tpg_data_set_source(D, "data.txt"), AC_OK);
    cr_assert_str_eq(D->source, "data.txt");
    cr_assert_eq(ac_tpg_data_set_source(D, "other.txt"), AC_OK); /* the first copy is freed */
    cr_assert_str_eq(D->source, "other.txt");
    D->line = malloc(sizeof(int));
    ac_tpg_data_free(D); /* the leak checkers watch line and source */
    ac_tpg_data_free(NULL);
    cr_assert_null(ac_tpg_data_alloc(-1, 0, 3));
    cr_assert_null(ac_tpg_data_alloc(1, -1, 3));
    ac_tpg_free(NULL);
}

/* A file-like dataset of three examples over K = 8 tokens, lines 3, 5, 12:
 * [1 2 3] -> 2, [4 5] -> 4, [6 7 0] -> 7. */
static ac_tpg_data *file_data(void)
{
    ac_tpg_data *D = ac_tpg_data_alloc(3, 8, 8);
    cr_assert_not_null(D);
    int off[4] = {0, 3, 5, 8}, tok[8] = {1, 2, 3, 4, 5, 6, 7, 0}, label[3] = {2, 4, 7};
    memcpy(D->off, off, sizeof off);
    memcpy(D->tok, tok, sizeof tok);
    memcpy(D->label, label, sizeof label);
    D->line = malloc(sizeof(int) * 3);
    cr_assert_not_null(D->line);
    D->line[0] = 3, D->line[1] = 5, D->line[2] = 12;
    cr_assert_eq(ac_tpg_data_set_source(D, "data.txt"), AC_OK);
    return D;
}

static void expect_fault(const ac_tpg_data *D, int need, ac_status want, const char *text)
{
    ac_msg msg = {{0}};
    ac_status st = ac_tpg_data_check(D, need, &msg);
    cr_assert_eq(st, want, "want %s, got %s (%s)", ac_status_str(want), ac_status_str(st), msg.text);
    cr_assert(strstr(msg.text, text), "message \"%s\" lacks \"%s\"", msg.text, text);
}

Test(tpg, data_check_accepts_valid_data)
{
    ac_tpg_data *D = file_data();
    cr_assert_eq(ac_tpg_data_check(D, 1, NULL), AC_OK);
    ac_tpg_data_free(D);
}

Test(tpg, data_check_names_line_and_bound_of_each_fault)
{
    ac_tpg_data *D = file_data();
    D->label[2] = 9;
    expect_fault(D, 1, AC_EPARSE, "data.txt:12: label 9 is outside the vocabulary of 8 tokens");
    D->label[2] = -1;
    expect_fault(D, 0, AC_EPARSE, "data.txt:12: label -1 is outside the vocabulary of 8 tokens");
    D->label[2] = 8; /* K itself */
    expect_fault(D, 0, AC_EPARSE, "data.txt:12: label 8 is outside the vocabulary of 8 tokens");
    D->label[2] = 0; /* the lowest token: in the sequence [6 7 0] */
    cr_assert_eq(ac_tpg_data_check(D, 1, NULL), AC_OK);
    D->label[2] = 7; /* K - 1 */

    D->label[1] = 3;
    expect_fault(D, 1, AC_EPARSE,
                 "data.txt:5: label 3 does not occur in its sequence (the loss would be infinite; spec "
                 "assumption A2)");
    cr_assert_eq(ac_tpg_data_check(D, 0, NULL), AC_OK, "A2 is checked only when asked for");
    D->label[1] = 4;

    D->tok[4] = 8;
    expect_fault(D, 1, AC_EPARSE, "data.txt:5: token 8 at position 2 is outside the vocabulary of 8 tokens");
    D->tok[4] = -1;
    expect_fault(D, 1, AC_EPARSE, "data.txt:5: token -1 at position 2");
    D->tok[4] = 5;
    D->tok[0] = 8; /* the first position of the first example */
    expect_fault(D, 1, AC_EPARSE, "data.txt:3: token 8 at position 1");
    D->tok[7] = 8; /* the last position of the last example (tok[0] still bad: reported first) */
    expect_fault(D, 1, AC_EPARSE, "data.txt:3: token 8 at position 1");
    D->tok[0] = 1;
    expect_fault(D, 1, AC_EPARSE, "data.txt:12: token 8 at position 3");
    D->tok[7] = 0;

    D->off[1] = 0; /* example 0 becomes empty, example 1 takes its tokens */
    expect_fault(D, 1, AC_EPARSE, "data.txt:3: empty sequence");
    D->off[1] = 6; /* off[1] > off[2]: offsets decrease at example 1 */
    expect_fault(D, 1, AC_EPARSE, "data.txt:5: sequence offsets decrease (6 to 5)");
    D->off[1] = 3;
    cr_assert_eq(ac_tpg_data_check(D, 1, NULL), AC_OK);
    ac_tpg_data_free(D);
}

Test(tpg, data_check_names_the_example_of_generated_data)
{
    ac_tpg_data *D = file_data();
    free(D->line);
    D->line = NULL;
    D->label[2] = 9;
    expect_fault(D, 1, AC_EPARSE, "example 2: label 9 is outside the vocabulary of 8 tokens");
    D->line = calloc(3, sizeof(int)); /* line 0: generated */
    expect_fault(D, 1, AC_EPARSE, "example 2: label 9");
    D->line[2] = 12;
    cr_assert_eq(ac_tpg_data_set_source(D, NULL), AC_OK);
    expect_fault(D, 1, AC_EPARSE, "example 2: label 9");
    ac_tpg_data_free(D);
}

Test(tpg, data_check_refuses_bad_sizes)
{
    ac_tpg_data *D = file_data();
    D->K = 0;
    expect_fault(D, 1, AC_ESIZE, "vocabulary size K = 0");
    D->K = 8;
    D->n = -1;
    expect_fault(D, 1, AC_ESIZE, "number of examples n = -1");
    D->n = 3;
    D->off[0] = 1;
    expect_fault(D, 1, AC_ESIZE, "sequence offsets start at 1");
    D->off[0] = 0;
    ac_tpg_data_free(D);
}

Test(tpg, build_refuses_bad_data_with_the_check_message)
{
    ac_tpg_data *D = file_data();
    D->label[0] = 6;
    ac_tpg *G = (ac_tpg *)&G;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_tpg_build(D, &G, &msg), AC_EPARSE);
    cr_assert_null(G);
    cr_assert(strstr(msg.text, "data.txt:3: label 6 does not occur"), "%s", msg.text);
    ac_tpg_data_free(D);
}

/* The reproduction of a use after free: 1000 examples [i] -> i and
 * one [2200000] -> 2200000 make 1001 graphs over K = 2200001 tokens, 2.2e9
 * rows.  The refusal used to free the graphs and then read their count for
 * the message (ASan: heap-use-after-free; a release build printed garbage). */
Test(tpg, build_refuses_too_many_graph_rows_and_names_the_counts)
{
    int n = 1001, big = 2200000;
    ac_tpg_data *D = ac_tpg_data_alloc(n, n, big + 1);
    cr_assert_not_null(D);
    for (int i = 0; i < n; i++) {
        D->off[i + 1] = i + 1;
        D->tok[i] = D->label[i] = i < 1000 ? i : big;
    }
    ac_tpg *G = (ac_tpg *)&G;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_tpg_build(D, &G, &msg), AC_ESIZE);
    cr_assert_null(G);
    char want[128];
    snprintf(want, sizeof want, "%d graphs (last tokens) of %d tokens need %zu graph rows", n, big + 1,
             (size_t)n * (size_t)(big + 2));
    cr_assert(strstr(msg.text, want), "%s", msg.text);
    ac_tpg_data_free(D);
}

/* A vocabulary too large for even one graph is refused before anything of
 * size K is allocated (a token id near 2^31 once cost gigabytes): K =
 * AC_TPG_ROWS_MAX needs one row more than the cap (the accepted side of the
 * same cap, K = AC_TPG_ROWS_MAX - 1, is size_check's test: building it would
 * take 1.7 GB). */
Test(tpg, build_refuses_a_vocabulary_too_large_for_one_graph)
{
    int K = (int)AC_TPG_ROWS_MAX;
    ac_tpg_data *D = ac_tpg_data_alloc(1, 1, K);
    cr_assert_not_null(D);
    D->off[1] = 1, D->tok[0] = D->label[0] = K - 1;
    ac_tpg *G = (ac_tpg *)&G;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_tpg_build(D, &G, &msg), AC_ESIZE);
    cr_assert_null(G);
    char want[128];
    snprintf(want, sizeof want, "1 graphs (last tokens) of %d tokens need %zu graph rows", K, AC_TPG_ROWS_MAX + 1);
    cr_assert(strstr(msg.text, want), "%s", msg.text);
    D->K = 0; /* an empty dataset of any K needs no graph; K is checked by the data check */
    D->n = 0;
    cr_assert_eq(ac_tpg_build(D, &G, &msg), AC_ESIZE);
    cr_assert(strstr(msg.text, "vocabulary size K = 0"), "%s", msg.text);
    ac_tpg_data_free(D);
}

/* Sparse ids: the data with each token t as t 2^25 + 1 (K past the cap, so
 * the graphs are refused) renumbers to exactly what the dense data
 * renumbers to, its ids are the dense ids spread the same way, and the
 * graphs then build; a label outside every sequence becomes n (refused by
 * the data check as outside the vocabulary). */
Test(tpg, renumber_makes_memory_follow_the_tokens_used)
{
    gsl_rng *r = ac_test_rng(91);
    for (int cs = 0; cs < 50; cs++) {
        ac_tpg_data *D = random_data(r);
        int n = D->n, ntok = D->off[n];
        ac_tpg_data *S = ac_tpg_data_alloc(n, ntok, KMAX * (1 << 25) + 2);
        cr_assert_not_null(S);
        memcpy(S->off, D->off, sizeof(int) * (size_t)(n + 1));
        for (int j = 0; j < ntok; j++)
            S->tok[j] = D->tok[j] * (1 << 25) + 1;
        for (int i = 0; i < n; i++)
            S->label[i] = D->label[i] * (1 << 25) + 1;
        ac_msg msg = {{0}};
        ac_tpg *G = NULL;
        if (n > 0)
            cr_assert_eq(ac_tpg_build(S, &G, &msg), AC_ESIZE, "case %d", cs);
        int *idd = NULL, *ids = NULL;
        cr_assert_eq(ac_tpg_data_renumber(D, &idd, &msg), AC_OK);
        cr_assert_eq(ac_tpg_data_renumber(S, &ids, &msg), AC_OK);
        cr_assert_eq(S->K, D->K, "case %d", cs);
        cr_assert(!memcmp(S->tok, D->tok, sizeof(int) * (size_t)ntok), "case %d", cs);
        cr_assert(!memcmp(S->label, D->label, sizeof(int) * (size_t)n), "case %d", cs);
        for (int j = 0; j < (ntok > 0 ? S->K : 0); j++)
            cr_assert_eq(ids[j], idd[j] * (1 << 25) + 1, "case %d: id %d", cs, j);
        for (int j = 1; j < (ntok > 0 ? S->K : 0); j++)
            cr_assert_lt(idd[j - 1], idd[j], "case %d: the order of the ids is kept", cs);
        G = build_ok(S);
        ac_tpg_free(G);
        free(idd), free(ids);
        ac_tpg_data_free(D), ac_tpg_data_free(S);
    }
    gsl_rng_free(r);
    /* a label in no sequence */
    ac_tpg_data *D = ac_tpg_data_alloc(1, 2, 100);
    D->off[1] = 2, D->tok[0] = 40, D->tok[1] = 90, D->label[0] = 7;
    int *id = NULL;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_tpg_data_renumber(D, &id, &msg), AC_OK);
    cr_assert(D->K == 2 && D->tok[0] == 0 && D->tok[1] == 1 && D->label[0] == 2 && id[0] == 40 && id[1] == 90);
    cr_assert_eq(ac_tpg_data_check(D, 0, &msg), AC_EPARSE);
    free(id);
    cr_assert_eq(ac_tpg_data_renumber(D, NULL, &msg), AC_EINVAL);
    cr_assert_eq(ac_tpg_data_renumber(NULL, &id, &msg), AC_EINVAL);
    D->off[0] = 1;
    cr_assert_eq(ac_tpg_data_renumber(D, &id, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "malformed"), "%s", msg.text);
    D->off[0] = 0;
    ac_tpg_data_free(D);
}

/* Both sides of the cap on ngraph * (K + 1), and of ngraph >= 0, K >= 1. */
Test(tpg, size_check_accepts_the_cap_and_refuses_one_row_more)
{
    ac_msg msg = {{0}};
    int K = (int)AC_TPG_ROWS_MAX - 1; /* one graph of K tokens: K + 1 rows */
    cr_assert_eq(ac_tpg_size_check(1, K, &msg), AC_OK);
    cr_assert_eq(ac_tpg_size_check(1, K + 1, &msg), AC_ESIZE);
    char want[128];
    snprintf(want, sizeof want, "need %zu graph rows > AC_TPG_ROWS_MAX = %zu", AC_TPG_ROWS_MAX + 1,
             AC_TPG_ROWS_MAX);
    cr_assert(strstr(msg.text, want), "%s", msg.text);
    /* two graphs: 2 (K2 + 1) rows, at the cap and one pair past it */
    int K2 = (int)(AC_TPG_ROWS_MAX / 2) - 1;
    cr_assert_eq(ac_tpg_size_check(2, K2, &msg), AC_OK);
    cr_assert_eq(ac_tpg_size_check(2, K2 + 1, &msg), AC_ESIZE);
    cr_assert_eq(ac_tpg_size_check(0, 1, &msg), AC_OK);
    cr_assert_eq(ac_tpg_size_check(-1, 1, &msg), AC_ESIZE);
    cr_assert(strstr(msg.text, "-1 graphs of 1 tokens: need ngraph >= 0 and K >= 1"), "%s", msg.text);
    cr_assert_eq(ac_tpg_size_check(0, 0, &msg), AC_ESIZE);
    cr_assert_eq(ac_tpg_size_check(1, 1, NULL), AC_OK);
}

/* The reachability cap on both sides: 2^15 live components make exactly
 * 2^30 bytes; one more live component in a second graph is one byte over. */
Test(tpg, reach_check_accepts_the_cap_and_refuses_one_byte_more)
{
    ac_msg msg = {{0}};
    int nl[2] = {1 << 15, 0};
    cr_assert_eq(ac_tpg_reach_check(2, nl, &msg), AC_OK);
    nl[1] = 1;
    cr_assert_eq(ac_tpg_reach_check(2, nl, &msg), AC_ESIZE);
    char want[160];
    snprintf(want, sizeof want, "reachability tables would take %zu bytes (2 graphs, up to %d live components) "
             "> AC_TPG_REACH_MAX_BYTES = %zu", AC_TPG_REACH_MAX_BYTES + 1, 1 << 15, AC_TPG_REACH_MAX_BYTES);
    cr_assert(strstr(msg.text, want), "%s", msg.text);
    int small[3] = {3, 7, 2};
    cr_assert_eq(ac_tpg_reach_check(3, small, NULL), AC_OK);
    cr_assert_eq(ac_tpg_reach_check(0, NULL, NULL), AC_OK);
}

/* ---- graphs --------------------------------------------------------------- */

Test(tpg, edges_match_direct_recomputation)
{
    gsl_rng *r = ac_test_rng(201);
    unsigned long seed = ac_test_seed(201);
    int ncase = ac_test_cases(1000);
    for (int cs = 0; cs < ncase; cs++) {
        ac_tpg_data *D = random_data(r);
        ac_tpg *G = build_ok(D);
        unsigned char adj[KMAX][KMAX][KMAX];
        int occurs[KMAX], K = D->K, ng = 0;
        direct_edges(D, adj, occurs);
        for (int k = 0; k < K; k++) {
            if (!occurs[k]) {
                cr_assert_eq(G->graph_of[k], -1, "seed %lu case %d: k %d never last", seed, cs, k);
                continue;
            }
            int g = G->graph_of[k];
            cr_assert_eq(g, ng, "seed %lu case %d: graph of k %d is %d, want %d", seed, cs, k, g, ng);
            cr_assert_eq(G->last[g], k);
            ng++;
            const int *off = G->adj_off + g * (K + 1);
            int ne = 0;
            for (int y = 0; y < K; y++) {
                int prev = -1, in = 0;
                for (int e = off[y]; e < off[y + 1]; e++) {
                    int j = G->adj[e];
                    cr_assert_gt(j, prev, "seed %lu case %d: successors of %d not increasing", seed, cs, y);
                    cr_assert(adj[k][y][j], "seed %lu case %d: edge %d -> %d in G^(%d) not in data", seed, cs, y, j, k);
                    prev = j;
                }
                for (int j = 0; j < K; j++) {
                    ne += adj[k][y][j];
                    in |= adj[k][y][j] | adj[k][j][y];
                }
                cr_assert_eq(G->in_graph[g * K + y], in, "seed %lu case %d: in_graph of %d in G^(%d)", seed, cs, y, k);
            }
            /* edges counted = edges present, each listed edge in data and no repeats: the sets agree */
            cr_assert_eq(ac_tpg_nedges(G, g), ne, "seed %lu case %d: G^(%d) has %d edges, data %d", seed, cs, k,
                         ac_tpg_nedges(G, g), ne);
            cr_assert_eq(off[K] - off[0], ne);
            if (g > 0)
                cr_assert_eq(off[0], G->adj_off[(g - 1) * (K + 1) + K], "graphs are contiguous");
        }
        cr_assert_eq(G->ngraph, ng);
        ac_tpg_free(G);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

Test(tpg, components_match_mutual_reachability_in_each_graph)
{
    gsl_rng *r = ac_test_rng(202);
    unsigned long seed = ac_test_seed(202);
    int ncase = ac_test_cases(1000);
    for (int cs = 0; cs < ncase; cs++) {
        ac_tpg_data *D = random_data(r);
        ac_tpg *G = build_ok(D);
        unsigned char adj[KMAX][KMAX][KMAX], R[KMAX][KMAX];
        int occurs[KMAX], K = D->K;
        direct_edges(D, adj, occurs);
        for (int g = 0; g < G->ngraph; g++) {
            int k = G->last[g], nc = G->ncomp[g], nl = G->nlive[g];
            const int *comp = G->comp + g * K;
            closure(K, adj[k], R);
            int size[KMAX] = {0};
            for (int i = 0; i < K; i++) {
                cr_assert(comp[i] >= 0 && comp[i] < nc);
                size[comp[i]]++;
                /* live components first, isolated tokens after */
                cr_assert_eq(comp[i] < nl, G->in_graph[g * K + i], "seed %lu case %d: token %d comp %d, nlive %d", seed,
                             cs, i, comp[i], nl);
                for (int j = 0; j < K; j++) {
                    int mutual = R[i][j] && R[j][i];
                    cr_assert_eq(ac_tpg_same_scc(G, k, i, j), mutual,
                                 "seed %lu case %d: G^(%d): %d ≍ %d is %d, mutual reach %d", seed, cs, k, i, j,
                                 ac_tpg_same_scc(G, k, i, j), mutual);
                    if (adj[k][i][j])
                        cr_assert_leq(comp[i], comp[j], "seed %lu case %d: edge %d -> %d against the numbering", seed,
                                      cs, i, j);
                    cr_assert_eq(ac_tpg_comp_reaches(G, g, comp[i], comp[j]), R[i][j],
                                 "seed %lu case %d: G^(%d): %d reaches %d", seed, cs, k, i, j);
                }
            }
            for (int c = 0; c < nc; c++) {
                cr_assert_eq(G->comp_size[g * K + c], size[c], "seed %lu case %d: size of comp %d", seed, cs, c);
                cr_assert_gt(size[c], 0);
            }
        }
        /* tokens and last tokens outside the data */
        cr_assert_eq(ac_tpg_same_scc(G, -1, 0, 0), 0);
        cr_assert_eq(ac_tpg_same_scc(G, 0, 0, K), 0);
        ac_tpg_free(G);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

/* The condensation against the data's edges: A -> B listed iff some edge
 * y -> j of the data's G^(k) joins component A = comp[y] to B = comp[j] != A;
 * listed once, in increasing (A, B) order, A < B. */
Test(tpg, condensation_edges_are_the_edges_between_components)
{
    gsl_rng *r = ac_test_rng(207);
    unsigned long seed = ac_test_seed(207);
    for (int cs = 0; cs < ac_test_cases(1000); cs++) {
        ac_tpg_data *D = random_data(r);
        ac_tpg *G = build_ok(D);
        unsigned char adj[KMAX][KMAX][KMAX];
        int occurs[KMAX], K = D->K;
        direct_edges(D, adj, occurs);
        for (int g = 0; g < G->ngraph; g++) {
            int k = G->last[g];
            const int *comp = G->comp + g * K;
            unsigned char want[KMAX][KMAX] = {{0}}, got[KMAX][KMAX] = {{0}};
            for (int y = 0; y < K; y++)
                for (int j = 0; j < K; j++)
                    if (adj[k][y][j] && comp[y] != comp[j])
                        want[comp[y]][comp[j]] = 1;
            ac_tpg_cond c;
            cr_assert_eq(ac_tpg_condensation(G, g, &c, NULL), AC_OK);
            for (int e = 0; e < c.n; e++) {
                int A = c.from[e], B = c.to[e];
                cr_assert(A >= 0 && B < G->nlive[g] && A < B, "seed %lu case %d: edge %d -> %d", seed, cs, A, B);
                if (e > 0)
                    cr_assert(A > c.from[e - 1] || (A == c.from[e - 1] && B > c.to[e - 1]),
                              "seed %lu case %d: edges not increasing at %d", seed, cs, e);
                got[A][B] = 1;
            }
            cr_assert_eq(memcmp(got, want, sizeof got), 0, "seed %lu case %d: condensation of G^(%d)", seed, cs, k);
            ac_tpg_cond_clear(&c);
        }
        ac_tpg_cond c;
        ac_msg msg = {{0}};
        cr_assert_eq(ac_tpg_condensation(G, G->ngraph, &c, &msg), AC_EINVAL);
        cr_assert_eq(c.n, 0);
        cr_assert_null(c.from);
        cr_assert_eq(ac_tpg_condensation(G, -1, &c, &msg), AC_EINVAL);
        cr_assert(strstr(msg.text, "graph index -1 is outside [0, "), "%s", msg.text);
        ac_tpg_cond_clear(&c); /* a zeroed struct is a no-op */
        ac_tpg_free(G);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

Test(tpg, acyclic_iff_no_two_tokens_are_mutually_reachable)
{
    gsl_rng *r = ac_test_rng(203);
    unsigned long seed = ac_test_seed(203);
    int ncase = ac_test_cases(1000), nacyc = 0;
    for (int cs = 0; cs < ncase; cs++) {
        ac_tpg_data *D = random_data(r);
        ac_tpg *G = build_ok(D);
        unsigned char adj[KMAX][KMAX][KMAX], R[KMAX][KMAX];
        int occurs[KMAX], K = D->K, cyclic = 0;
        direct_edges(D, adj, occurs);
        for (int k = 0; k < K; k++) {
            closure(K, adj[k], R);
            for (int i = 0; i < K; i++)
                for (int j = 0; j < i; j++)
                    cyclic |= R[i][j] && R[j][i];
        }
        cr_assert_eq(ac_tpg_is_acyclic(G), !cyclic, "seed %lu case %d", seed, cs);
        nacyc += !cyclic;
        ac_tpg_free(G);
        ac_tpg_data_free(D);
    }
    /* both outcomes must occur for the test to mean anything */
    cr_assert(nacyc > 0 && nacyc < ncase, "%d of %d acyclic", nacyc, ncase);
    gsl_rng_free(r);
}

/* spec §2: y_i reaches every token of X_i in one step, so its SCC is the
 * unique component among the tokens' components that reaches all of them. */
Test(tpg, label_scc_is_the_unique_top_among_the_example_tokens)
{
    gsl_rng *r = ac_test_rng(204);
    unsigned long seed = ac_test_seed(204);
    int ncase = ac_test_cases(1000);
    for (int cs = 0; cs < ncase; cs++) {
        ac_tpg_data *D = random_data(r);
        ac_tpg *G = build_ok(D);
        int K = D->K;
        for (int i = 0; i < D->n; i++) {
            const int *tok = D->tok + D->off[i];
            int len = D->off[i + 1] - D->off[i], k = tok[len - 1], g = G->graph_of[k];
            const int *comp = G->comp + g * K;
            cr_assert_eq(ac_tpg_top_scc(G, k, tok, len), comp[D->label[i]], "seed %lu case %d example %d", seed, cs, i);
            int ntop = 0; /* brute force over the tokens' components */
            for (int s = 0; s < len; s++) {
                int all = 1;
                for (int t = 0; t < len; t++)
                    all &= ac_tpg_comp_reaches(G, g, comp[tok[s]], comp[tok[t]]);
                ntop += all && comp[tok[s]] != comp[D->label[i]];
            }
            cr_assert_eq(ntop, 0, "seed %lu case %d example %d: another top component", seed, cs, i);
        }
        ac_tpg_free(G);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

/* Random token lists (not examples): the top is the component reaching all
 * the others by the brute-force closure, or -1. */
Test(tpg, top_scc_of_any_token_list_matches_the_closure)
{
    gsl_rng *r = ac_test_rng(205);
    unsigned long seed = ac_test_seed(205);
    int ncase = ac_test_cases(1000), nnone = 0, nsome = 0;
    for (int cs = 0; cs < ncase; cs++) {
        ac_tpg_data *D = random_data(r);
        ac_tpg *G = build_ok(D);
        unsigned char adj[KMAX][KMAX][KMAX], R[KMAX][KMAX];
        int occurs[KMAX], K = D->K;
        direct_edges(D, adj, occurs);
        for (int k = 0; k < K; k++) {
            int tok[TMAX], len = 1 + (int)gsl_rng_uniform_int(r, TMAX);
            for (int t = 0; t < len; t++)
                tok[t] = (int)gsl_rng_uniform_int(r, (unsigned long)K);
            int got = ac_tpg_top_scc(G, k, tok, len);
            if (!occurs[k]) {
                cr_assert_eq(got, -1);
                continue;
            }
            closure(K, adj[k], R);
            int want = -1;
            for (int s = 0; s < len && want < 0; s++) {
                int all = 1;
                for (int t = 0; t < len; t++)
                    all &= R[tok[s]][tok[t]];
                if (all)
                    want = G->comp[G->graph_of[k] * K + tok[s]];
            }
            cr_assert_eq(got, want, "seed %lu case %d, k %d", seed, cs, k);
            nnone += want < 0, nsome += want >= 0;
        }
        ac_tpg_free(G);
        ac_tpg_data_free(D);
    }
    cr_assert(nnone > 0 && nsome > 0, "both outcomes occur: %d none, %d some", nnone, nsome);
    gsl_rng_free(r);
}

/* K = 4: one example [1 3] -> 3 with last token 3; token 2 and 0 never occur. */
Test(tpg, top_scc_of_unknown_or_isolated_tokens)
{
    ac_tpg_data *D = ac_tpg_data_alloc(1, 2, 4);
    D->off[1] = 2, D->tok[0] = 1, D->tok[1] = 3, D->label[0] = 3;
    ac_tpg *G = build_ok(D);
    const int *comp = G->comp + G->graph_of[3] * 4;
    int one[1] = {2}, same[3] = {2, 2, 2}, two[2] = {0, 2}, mixed[2] = {3, 2}, bad[2] = {3, 4};
    cr_assert_eq(ac_tpg_top_scc(G, 3, one, 1), comp[2], "a lone isolated token is its own top");
    cr_assert_eq(ac_tpg_top_scc(G, 3, same, 3), comp[2], "repeats of one token");
    cr_assert_eq(ac_tpg_top_scc(G, 3, two, 2), -1, "two isolated tokens are incomparable");
    cr_assert_eq(ac_tpg_top_scc(G, 3, mixed, 2), -1, "3 does not reach the isolated 2");
    cr_assert_eq(ac_tpg_top_scc(G, 3, bad, 2), -1, "token outside the vocabulary");
    cr_assert_eq(ac_tpg_top_scc(G, 3, one, 0), -1, "empty list");
    cr_assert_eq(ac_tpg_top_scc(G, 1, one, 1), -1, "1 is never last");
    cr_assert_eq(ac_tpg_top_scc(G, 9, one, 1), -1, "9 is no token");
    int pair[2] = {1, 3};
    cr_assert_eq(ac_tpg_top_scc(G, 3, pair, 2), comp[3], "3 -> 1");
    ac_tpg_free(G);
    ac_tpg_data_free(D);
}

/* Every index check of the queries on both sides of its bound: -1 and the
 * count are refused (0 / -1), 0 and count - 1 answered.  Data (K = 4):
 * [0 1 3] -> 0, [1 0 3] -> 1, [2 3] -> 2, [3 2] -> 3: G^(3) has the cycle
 * 0 <-> 1 and the edges into 3 and 2 -> 3 (all tokens live), G^(2) has the
 * edge 3 -> 2 with 0 and 1 isolated. */
Test(tpg, query_index_checks_hold_on_both_sides_of_each_bound)
{
    int off[5] = {0, 3, 6, 8, 10}, tok[10] = {0, 1, 3, 1, 0, 3, 2, 3, 3, 2}, label[4] = {0, 1, 2, 3};
    ac_tpg_data *D = ac_tpg_data_alloc(4, 10, 4);
    memcpy(D->off, off, sizeof off), memcpy(D->tok, tok, sizeof tok), memcpy(D->label, label, sizeof label);
    ac_tpg *G = build_ok(D);
    int K = 4, ng = G->ngraph;
    cr_assert_eq(ng, 2);
    int g3 = G->graph_of[3], g2 = G->graph_of[2];
    cr_assert_eq(G->nlive[g3], G->ncomp[g3], "every token of G^(3) has an edge");
    cr_assert(G->nlive[g2] < G->ncomp[g2], "G^(2) has isolated tokens");
    /* ac_tpg_nedges */
    cr_assert_eq(ac_tpg_nedges(G, -1), 0);
    cr_assert_eq(ac_tpg_nedges(G, ng), 0);
    cr_assert_eq(ac_tpg_nedges(G, 0) + ac_tpg_nedges(G, ng - 1), G->adj_off[ng * (K + 1) - 1] - G->adj_off[0]);
    cr_assert_eq(ac_tpg_nedges(G, g2), 1);
    /* ac_tpg_comp_reaches: g, A and B at -1, 0, count - 1, count */
    for (int g = 0; g < ng; g++) {
        int nc = G->ncomp[g];
        cr_assert_eq(ac_tpg_comp_reaches(G, g, 0, 0), 1);
        cr_assert_eq(ac_tpg_comp_reaches(G, g, nc - 1, nc - 1), 1, "the last component reaches itself");
        cr_assert_eq(ac_tpg_comp_reaches(G, g, -1, 0), 0);
        cr_assert_eq(ac_tpg_comp_reaches(G, g, 0, -1), 0);
        cr_assert_eq(ac_tpg_comp_reaches(G, g, nc, nc), 0);
        cr_assert_eq(ac_tpg_comp_reaches(G, g, 0, nc), 0);
        cr_assert_eq(ac_tpg_comp_reaches(G, g, nc, 0), 0);
    }
    cr_assert_eq(ac_tpg_comp_reaches(G, -1, 0, 0), 0);
    cr_assert_eq(ac_tpg_comp_reaches(G, ng, 0, 0), 0);
    /* live components of G^(2): 3 -> 2; the last live one is reached, the
     * first isolated one (nlive) reaches and is reached by nothing else */
    const int *c2 = G->comp + g2 * K;
    int nl = G->nlive[g2];
    cr_assert_eq(ac_tpg_comp_reaches(G, g2, c2[3], c2[2]), 1);
    cr_assert_eq(c2[2], nl - 1, "the sink 2 is the last live component");
    cr_assert_eq(ac_tpg_comp_reaches(G, g2, c2[3], nl), 0);
    cr_assert_eq(ac_tpg_comp_reaches(G, g2, nl, c2[2]), 0);
    cr_assert_eq(ac_tpg_comp_reaches(G, g2, nl, nl), 1);
    /* the last components of G^(3): the sink 3 is reached from 0, 1 and 2 */
    const int *c3 = G->comp + g3 * K;
    cr_assert_eq(c3[3], G->ncomp[g3] - 1);
    for (int j = 0; j < 3; j++)
        cr_assert_eq(ac_tpg_comp_reaches(G, g3, c3[j], c3[3]), 1, "%d reaches 3 in G^(3)", j);
    cr_assert_eq(ac_tpg_comp_reaches(G, g3, c3[3], c3[0]), 0);
    /* ac_tpg_same_scc: k, i and j at -1, 0, K - 1, K */
    cr_assert_eq(ac_tpg_same_scc(G, 3, 0, 1), 1);
    cr_assert_eq(ac_tpg_same_scc(G, 3, 1, 0), 1);
    cr_assert_eq(ac_tpg_same_scc(G, 3, 3, 3), 1, "K - 1 with itself");
    cr_assert_eq(ac_tpg_same_scc(G, 3, 0, 3), 0);
    cr_assert_eq(ac_tpg_same_scc(G, 2, 0, 0), 1, "an isolated token is in its own SCC");
    cr_assert_eq(ac_tpg_same_scc(G, 0, 0, 0), 0, "0 is never last");
    cr_assert_eq(ac_tpg_same_scc(G, -1, 0, 0), 0);
    cr_assert_eq(ac_tpg_same_scc(G, K, 0, 0), 0);
    cr_assert_eq(ac_tpg_same_scc(G, 3, -1, -1), 0);
    cr_assert_eq(ac_tpg_same_scc(G, 3, K, K), 0);
    cr_assert_eq(ac_tpg_same_scc(G, 3, 0, K), 0);
    cr_assert_eq(ac_tpg_same_scc(G, 3, K, 0), 0);
    cr_assert_eq(ac_tpg_same_scc(G, 3, 0, -1), 0);
    /* ac_tpg_top_scc: tokens -1, 0, K - 1, K; k at the same */
    int t01[3] = {0, 1, 3}, tK[2] = {0, K}, tneg[2] = {-1, 0}, tlast[1] = {K - 1};
    cr_assert_eq(ac_tpg_top_scc(G, 3, t01, 3), c3[0]);
    cr_assert_eq(ac_tpg_top_scc(G, 3, tlast, 1), c3[3]);
    cr_assert_eq(ac_tpg_top_scc(G, 3, tK, 2), -1);
    cr_assert_eq(ac_tpg_top_scc(G, 3, tneg, 2), -1);
    cr_assert_eq(ac_tpg_top_scc(G, K, tlast, 1), -1);
    cr_assert_eq(ac_tpg_top_scc(G, -1, tlast, 1), -1);
    cr_assert_eq(ac_tpg_top_scc(G, 3, t01, 1), c3[0], "len 1");
    cr_assert_eq(ac_tpg_top_scc(G, 3, t01, 0), -1, "len 0");
    /* the last graph is acyclic or not as its own SCCs say */
    cr_assert_eq(ac_tpg_is_acyclic(G), 0, "G^(3) has the cycle 0 <-> 1");
    ac_tpg_free(G);
    D->tok[0] = 2, D->label[0] = 2; /* [2 1 3] -> 2: no cycle left in G^(3) */
    D->label[1] = 1;
    G = build_ok(D);
    cr_assert_eq(ac_tpg_is_acyclic(G), 1);
    ac_tpg_free(G);
    ac_tpg_data_free(D);
}

Test(tpg, empty_dataset_has_no_graphs)
{
    ac_tpg_data *D = ac_tpg_data_alloc(0, 0, 3);
    ac_tpg *G = build_ok(D);
    cr_assert_eq(G->ngraph, 0);
    cr_assert_eq(ac_tpg_is_acyclic(G), 1);
    ac_tpg_cons C;
    cr_assert_eq(ac_tpg_constraints(G, &C, NULL), AC_OK);
    cr_assert_eq(C.m, 0);
    ac_tpg_cons_clear(&C);
    ac_tpg_cons_clear(&C); /* a zeroed set frees to nothing */
    ac_tpg_free(G);
    ac_tpg_data_free(D);
}

/* ---- constraints ------------------------------------------------------------ */

Test(tpg, constraints_are_the_edges_with_equality_iff_same_scc)
{
    gsl_rng *r = ac_test_rng(206);
    unsigned long seed = ac_test_seed(206);
    int ncase = ac_test_cases(1000);
    for (int cs = 0; cs < ncase; cs++) {
        ac_tpg_data *D = random_data(r);
        ac_tpg *G = build_ok(D);
        unsigned char adj[KMAX][KMAX][KMAX], seen[KMAX][KMAX][KMAX] = {{{0}}};
        int occurs[KMAX], K = D->K, ne = 0, neq = 0;
        direct_edges(D, adj, occurs);
        ac_tpg_cons C;
        cr_assert_eq(ac_tpg_constraints(G, &C, NULL), AC_OK);
        for (int c = 0; c < C.m; c++) {
            int a = C.a[c], b = C.b[c], k = C.k[c];
            cr_assert(adj[k][a][b] && !seen[k][a][b], "seed %lu case %d: constraint %d (%d, %d, %d)", seed, cs, c, a, b, k);
            seen[k][a][b] = 1;
            cr_assert_eq(C.is_eq[c], ac_tpg_same_scc(G, k, a, b), "seed %lu case %d: constraint %d", seed, cs, c);
            cr_assert_eq(C.rhs[c], C.is_eq[c] ? 0.0 : 1.0);
            neq += C.is_eq[c];
            if (c > 0)
                cr_assert_leq(C.k[c - 1], k, "ordered by k");
        }
        for (int k = 0; k < K; k++)
            for (int a = 0; a < K; a++)
                for (int b = 0; b < K; b++)
                    ne += adj[k][a][b];
        cr_assert_eq(C.m, ne, "seed %lu case %d: %d constraints, %d edges", seed, cs, C.m, ne);
        cr_assert_eq(C.neq, neq);
        ac_tpg_cons_clear(&C);
        ac_tpg_free(G);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

/* s_c = U[a,k] - U[b,k] with U = E W E^T: the same number by another route.
 * Both sum d^2 products of entries O(1) (unit rows, W entries N(0,1)), so
 * each carries rounding below d^2 * DBL_EPSILON * max|W| * ||e||^2 ~ 64 eps;
 * 1e3 d^2 eps leaves a margin. */
Test(tpg, constraint_values_match_token_logits)
{
    gsl_rng *r = ac_test_rng(207);
    unsigned long seed = ac_test_seed(207);
    int ncase = ac_test_cases(300);
    for (int cs = 0; cs < ncase; cs++) {
        ac_tpg_data *D = random_data(r);
        ac_tpg *G = build_ok(D);
        int K = D->K, d = K + (int)gsl_rng_uniform_int(r, 3);
        double E[KMAX * (KMAX + 2)], W[(KMAX + 2) * (KMAX + 2)], U[KMAX * KMAX];
        ac_test_unit_rows(r, E, K, d);
        for (int i = 0; i < d * d; i++)
            W[i] = 1.7312 * gsl_ran_gaussian(r, 1.0);
        ac_tpg_token_logits(E, K, d, W, U);
        ac_tpg_cons C;
        cr_assert_eq(ac_tpg_constraints(G, &C, NULL), AC_OK);
        double s[KMAX * KMAX * KMAX];
        ac_tpg_cons_values(&C, E, d, W, s);
        for (int c = 0; c < C.m; c++) {
            double want = U[C.a[c] * K + C.k[c]] - U[C.b[c] * K + C.k[c]];
            cr_assert(fabs(s[c] - want) <= 1e3 * d * d * DBL_EPSILON * 1.7312 * 5,
                      "seed %lu case %d: s_%d = %.17g, from U %.17g", seed, cs, c, s[c], want);
        }
        ac_tpg_cons_clear(&C);
        ac_tpg_free(G);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

/* ---- Graph-SVM ---------------------------------------------------------------- */

/* Spec §4.1 S1 thresholds: each inequality >= 1 - 1e-9, each equality
 * |.| <= 1e-9.  The solver stops when its own residuals are <= 1e-12
 * (AC_QP_EPS_DEFAULT); recomputing s_c from W adds rounding of order
 * d^2 eps |W| ~ 1e-13 here, so 1e-9 holds with room. */
#define S1_TOL 1e-9

static void expect_s1(const ac_tpg_cons *C, const double *E, int d, const double *W, unsigned long seed, int cs)
{
    double *s = malloc(sizeof(double) * (C->m > 0 ? (size_t)C->m : 1));
    ac_tpg_cons_values(C, E, d, W, s);
    for (int c = 0; c < C->m; c++) {
        if (C->is_eq[c])
            cr_assert_leq(fabs(s[c]), S1_TOL, "seed %lu case %d: equality %d (%d, %d, %d) = %.17g", seed, cs, c, C->a[c],
                          C->b[c], C->k[c], s[c]);
        else
            cr_assert_geq(s[c], 1.0 - S1_TOL, "seed %lu case %d: inequality %d (%d, %d, %d) = %.17g", seed, cs, c,
                          C->a[c], C->b[c], C->k[c], s[c]);
    }
    free(s);
}

/* Rows of E orthonormal (K <= d): Gram-Schmidt applied twice to Gaussian rows
 * ("twice is enough": orthogonal to a few ulps). */
static void orthonormal_rows(gsl_rng *r, double *E, int K, int d)
{
    for (int i = 0; i < K * d; i++)
        E[i] = gsl_ran_gaussian(r, 1.0);
    for (int i = 0; i < K; i++) {
        double *ei = E + i * d;
        for (int pass = 0; pass < 2; pass++)
            for (int j = 0; j < i; j++) {
                double p = ac_la_dot(ei, E + j * d, d);
                for (int t = 0; t < d; t++)
                    ei[t] -= p * E[j * d + t];
            }
        double nrm = ac_la_nrm2(ei, d);
        for (int t = 0; t < d; t++)
            ei[t] /= nrm;
    }
}

static void shuffle(gsl_rng *r, int *v, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)gsl_rng_uniform_int(r, (unsigned long)i + 1), t = v[i];
        v[i] = v[j], v[j] = t;
    }
}

/* Solve the Graph-SVM of D with embeddings E; returns W (d x d, malloc'd).
 * The solve must end AC_QP_SOLVED, or AC_QP_SOLVED_INACCURATE when
 * inaccurate_ok.  The solver's complementarity test is absolute
 * (|lambda_c (s_c - 1)| <= 1e-12), and with two nearly parallel random
 * embeddings the multipliers reach ~1e3 while s_c carries rounding ~1e-14 *
 * 1e3: the test cannot pass although the iterate is as good as double
 * allows.  Callers that accept this check S1 and S2 themselves. */
static double *solve_svm(const ac_tpg *G, const ac_tpg_cons *C, const double *E, int d, double *lambda,
                         ac_qp_info *info, int inaccurate_ok)
{
    double *W = malloc(sizeof(double) * (size_t)(d * d > 0 ? d * d : 1));
    ac_msg msg = {{0}};
    ac_status st = ac_tpg_svm(G, C, E, d, NULL, W, lambda, NULL, info, &msg);
    cr_assert_eq(st, AC_OK, "svm: %s (%s)", ac_status_str(st), msg.text);
    cr_assert(info->status == AC_QP_SOLVED || (inaccurate_ok && info->status == AC_QP_SOLVED_INACCURATE),
              "svm ended %s after %ld sweeps", ac_qp_status_str(info->status), info->sweeps);
    return W;
}

Test(tpg, svm_settings_default_are_the_qp_defaults)
{
    ac_tpg_svm_settings s;
    ac_qp_settings q;
    memset(&s, 0xff, sizeof s);
    ac_tpg_svm_settings_default(&s);
    ac_qp_settings_default(&q);
    cr_assert_eq(s.qp.eps, q.eps);
    cr_assert_eq(s.qp.eps_infeas, q.eps_infeas);
    cr_assert_eq(s.qp.max_sweeps, q.max_sweeps);
    cr_assert_eq(s.qp.check_every, q.check_every);
    cr_assert_eq(s.allow_dependent, 0);
}

/* Random unit rows (spec §1) redrawn until sigma_min >= 0.1 (condition
 * number <= 10 sqrt(K)).  Full rank is all the feasibility claim needs, but
 * dual coordinate ascent converges at a linear rate that degrades with the
 * conditioning of E E^T: draws with sigma_min ~ 2e-3 (about 1 in 1500 at
 * these sizes) need more than the default 1e5 sweeps and end
 * AC_QP_MAX_ITER, which is the solver's business (tests/test_qp.c), not a
 * property of the Graph-SVM. */
static void well_conditioned_unit_rows(gsl_rng *r, double *E, int K, int d)
{
    int rank;
    double smin;
    do {
        ac_test_unit_rows(r, E, K, d);
        cr_assert_eq(ac_la_rank(E, K, d, &rank, &smin, NULL), AC_OK);
    } while (smin < 0.1);
}

/* Feasible whenever E has full row rank (spec §3.1), and the solution meets
 * S1; S2 checked from the returned multipliers: lambda >= 0 on inequalities,
 * complementarity, and W = sum_c lambda_c (e_a - e_b) e_k^T rebuilt here.
 * Complementarity |lambda_c (s_c - 1)| is within the solver's eps = 1e-12
 * at its own values; our s_c differ by rounding ~1e-13 |lambda_c|, so
 * 1e-9 (1 + |lambda_c|) holds.  The rebuilt W sums m rank-one terms of
 * size <= 2 |lambda_c|: rounding below 1e-12 (1 + sum |lambda_c|). */
Test(tpg, svm_solution_is_feasible_and_meets_s1_s2_for_independent_embeddings)
{
    gsl_rng *r = ac_test_rng(301);
    unsigned long seed = ac_test_seed(301);
    int ncase = ac_test_cases(300);
    for (int cs = 0; cs < ncase; cs++) {
        ac_tpg_data *D = random_data(r);
        ac_tpg *G = build_ok(D);
        int K = D->K, d = K + (int)gsl_rng_uniform_int(r, 3);
        double E[KMAX * (KMAX + 2)], lambda[KMAX * KMAX * KMAX + 1];
        well_conditioned_unit_rows(r, E, K, d);
        ac_tpg_cons C;
        cr_assert_eq(ac_tpg_constraints(G, &C, NULL), AC_OK);
        ac_qp_info info;
        double *W = solve_svm(G, &C, E, d, lambda, &info, 1);
        expect_s1(&C, E, d, W, seed, cs);

        double *s = malloc(sizeof(double) * (size_t)(C.m + 1)), *W2 = calloc((size_t)(d * d), sizeof(double));
        ac_tpg_cons_values(&C, E, d, W, s);
        double lsum = 0.0;
        for (int c = 0; c < C.m; c++) {
            lsum += fabs(lambda[c]);
            if (!C.is_eq[c]) {
                cr_assert_geq(lambda[c], 0.0, "seed %lu case %d: lambda_%d", seed, cs, c);
                cr_assert_leq(fabs(lambda[c] * (s[c] - 1.0)), 1e-9 * (1.0 + fabs(lambda[c])),
                              "seed %lu case %d: complementarity of %d", seed, cs, c);
            }
            const double *ea = E + C.a[c] * d, *eb = E + C.b[c] * d, *ek = E + C.k[c] * d;
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++)
                    W2[i * d + j] += lambda[c] * (ea[i] - eb[i]) * ek[j];
        }
        cr_assert_leq(ac_la_dist(W, W2, d * d), 1e-12 * (1.0 + lsum) * d, "seed %lu case %d: W from lambda", seed, cs);
        free(s), free(W2), free(W);
        ac_tpg_cons_clear(&C);
        ac_tpg_free(G);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

/* Orthonormal E: U = E W E^T holds the decoupled per-k values of spec §3.1
 * (minimise sum_C |C| v_C^2 subject to v_A - v_B >= 1 on condensation edges;
 * isolated tokens and columns of tokens never last are 0).  With the active
 * set identified, ||W - W*|| <= ||r|| / sigma_min(A_active) for the residual
 * r <= 1e-12 per constraint; sigma_min of a path of <= KMAX unit-spaced
 * constraints is >= ~1/KMAX^2 (path Laplacian), giving ~1e-12 sqrt(m) 49 <
 * 1e-9; 1e-8 leaves a margin for the rounding of the lift. */
#define DECOUPLED_TOL 1e-8

static void expect_decoupled(const double *E, int K, int d, const double *W, double want[KMAX][KMAX],
                             unsigned long seed, int cs)
{
    double U[KMAX * KMAX];
    ac_tpg_token_logits(E, K, d, W, U);
    for (int j = 0; j < K; j++)
        for (int k = 0; k < K; k++)
            cr_assert_leq(fabs(U[j * K + k] - want[j][k]), DECOUPLED_TOL, "seed %lu case %d: u[%d,%d] = %.17g, want %.17g",
                          seed, cs, j, k, U[j * K + k], want[j][k]);
}

/* A chain c_0 -> c_1 -> ... -> c_L = k (examples [c_i c_{i+1} k] -> c_i, which
 * also add the implied edges c_i -> k) for up to two last tokens at once.
 * All chain constraints are active at the optimum, v_i = c - i, and
 * minimising sum_i (c - i)^2 gives c = L/2: v_i = L/2 - i. */
Test(tpg, orthonormal_dag_chain_matches_decoupled_qp)
{
    gsl_rng *r = ac_test_rng(302);
    unsigned long seed = ac_test_seed(302);
    int ncase = ac_test_cases(200);
    for (int cs = 0; cs < ncase; cs++) {
        int K = 2 + (int)gsl_rng_uniform_int(r, KMAX - 1), d = K + (int)gsl_rng_uniform_int(r, 3);
        int nlast = 1 + (int)gsl_rng_uniform_int(r, 2);
        int perm[2][KMAX], L[2], lasts[2], n = 0, ntok = 0;
        double want[KMAX][KMAX] = {{0}};
        for (int h = 0; h < nlast; h++) {
            for (int j = 0; j < K; j++)
                perm[h][j] = j;
            shuffle(r, perm[h], K);
            L[h] = 1 + (int)gsl_rng_uniform_int(r, (unsigned long)K - 1); /* L + 1 <= K nodes */
            lasts[h] = perm[h][L[h]];
            if (h == 1 && lasts[1] == lasts[0])
                nlast = 1; /* same last token twice: keep one chain */
            else
                n += L[h], ntok += 3 * L[h] - 1;
        }
        ac_tpg_data *D = ac_tpg_data_alloc(n, ntok, K);
        int order[2 * KMAX], e = 0;
        for (int i = 0; i < n; i++)
            order[i] = i;
        shuffle(r, order, n); /* example order must not matter */
        int slot = 0;
        int lens[2 * KMAX], seqs[2 * KMAX][3], labels[2 * KMAX];
        for (int h = 0; h < nlast; h++) {
            int k = lasts[h];
            for (int i = 0; i < L[h]; i++, slot++) {
                int ci = perm[h][i], cn = perm[h][i + 1];
                labels[slot] = ci;
                seqs[slot][0] = ci;
                if (cn == k)
                    lens[slot] = 2, seqs[slot][1] = k;
                else
                    lens[slot] = 3, seqs[slot][1] = cn, seqs[slot][2] = k;
                want[ci][k] = L[h] / 2.0 - i;
            }
            want[k][k] = L[h] / 2.0 - L[h];
        }
        for (int i = 0; i < n; i++) {
            int src = order[i];
            D->off[i + 1] = D->off[i] + lens[src];
            for (int t = 0; t < lens[src]; t++)
                D->tok[e++] = seqs[src][t];
            D->label[i] = labels[src];
        }
        ac_tpg *G = build_ok(D);
        cr_assert_eq(ac_tpg_is_acyclic(G), 1);
        double E[KMAX * (KMAX + 2)];
        orthonormal_rows(r, E, K, d);
        ac_tpg_cons C;
        cr_assert_eq(ac_tpg_constraints(G, &C, NULL), AC_OK);
        ac_qp_info info;
        double *W = solve_svm(G, &C, E, d, NULL, &info, 0);
        expect_decoupled(E, K, d, W, want, seed, cs);
        free(W);
        ac_tpg_cons_clear(&C);
        ac_tpg_free(G);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

/* Two SCCs A -> B in G^(k): cycles a_i -> a_{i+1} and b_i -> b_{i+1} (k = b_0),
 * and every a_i -> k.  Minimise s1 x^2 + s2 y^2 subject to x - y >= 1: the
 * constraint is active, x = y + 1, and 2 s1 (y + 1) + 2 s2 y = 0 gives
 * y = -s1/(s1 + s2), x = s2/(s1 + s2).  Examples: [a_i a_{i+1} k] -> a_i and
 * [b_i b_{i+1} k] -> b_i (indices mod the cycle length). */
Test(tpg, orthonormal_two_scc_case_matches_decoupled_qp)
{
    gsl_rng *r = ac_test_rng(303);
    unsigned long seed = ac_test_seed(303);
    int ncase = ac_test_cases(200);
    for (int cs = 0; cs < ncase; cs++) {
        int K = 2 + (int)gsl_rng_uniform_int(r, KMAX - 1), d = K + (int)gsl_rng_uniform_int(r, 3);
        int s1 = 1 + (int)gsl_rng_uniform_int(r, (unsigned long)K - 1);
        int s2 = 1 + (int)gsl_rng_uniform_int(r, (unsigned long)(K - s1));
        int perm[KMAX];
        for (int j = 0; j < K; j++)
            perm[j] = j;
        shuffle(r, perm, K);
        const int *A = perm, *B = perm + s1;
        int k = B[0], n = s1 + (s2 > 1 ? s2 : 0);
        ac_tpg_data *D = ac_tpg_data_alloc(n, 3 * n, K);
        int i = 0, e = 0;
        for (int h = 0; h < 2; h++) {
            const int *S = h == 0 ? A : B;
            int sz = h == 0 ? s1 : s2;
            if (h == 1 && sz == 1)
                break;
            for (int t = 0; t < sz; t++, i++) {
                D->tok[e++] = S[t];
                if (sz > 1)
                    D->tok[e++] = S[(t + 1) % sz];
                D->tok[e++] = k;
                D->off[i + 1] = e;
                D->label[i] = S[t];
            }
        }
        ac_tpg *G = build_ok(D);
        cr_assert_eq(G->ncomp[0], K - s1 - s2 + 2, "seed %lu case %d: components", seed, cs);
        double want[KMAX][KMAX] = {{0}};
        for (int t = 0; t < s1; t++)
            want[A[t]][k] = (double)s2 / (s1 + s2);
        for (int t = 0; t < s2; t++)
            want[B[t]][k] = -(double)s1 / (s1 + s2);
        double E[KMAX * (KMAX + 2)];
        orthonormal_rows(r, E, K, d);
        ac_tpg_cons C;
        cr_assert_eq(ac_tpg_constraints(G, &C, NULL), AC_OK);
        ac_qp_info info;
        double *W = solve_svm(G, &C, E, d, NULL, &info, 0);
        expect_s1(&C, E, d, W, seed, cs);
        expect_decoupled(E, K, d, W, want, seed, cs);
        free(W);
        ac_tpg_cons_clear(&C);
        ac_tpg_free(G);
        ac_tpg_data_free(D);
    }
    gsl_rng_free(r);
}

/* No edges (every sequence one distinct token): no constraints, W = 0. */
Test(tpg, svm_without_constraints_is_zero)
{
    ac_tpg_data *D = ac_tpg_data_alloc(2, 3, 3);
    D->off[1] = 2, D->off[2] = 3;
    D->tok[0] = D->tok[1] = 1, D->tok[2] = 2;
    D->label[0] = 1, D->label[1] = 2;
    ac_tpg *G = build_ok(D);
    ac_tpg_cons C;
    cr_assert_eq(ac_tpg_constraints(G, &C, NULL), AC_OK);
    cr_assert_eq(C.m, 0);
    double E[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, W[9];
    for (int i = 0; i < 9; i++)
        W[i] = 1.7312;
    ac_qp_info info;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_tpg_svm(G, &C, E, 3, NULL, W, NULL, NULL, &info, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(info.status, AC_QP_SOLVED);
    for (int i = 0; i < 9; i++)
        cr_assert_eq(W[i], 0.0);
    ac_tpg_cons_clear(&C);
    ac_tpg_free(G);
    ac_tpg_data_free(D);
}

/* K = 3 tokens, examples [0 2] -> 0 and [1 2] -> 1 (k = 2): edges 0 -> 2 and
 * 1 -> 2 in G^(2). */
static ac_tpg_data *fork_data(void)
{
    ac_tpg_data *D = ac_tpg_data_alloc(2, 4, 3);
    D->off[1] = 2, D->off[2] = 4;
    D->tok[0] = 0, D->tok[1] = 2, D->tok[2] = 1, D->tok[3] = 2;
    D->label[0] = 0, D->label[1] = 1;
    return D;
}

Test(tpg, svm_refuses_more_tokens_than_dimensions)
{
    gsl_rng *r = ac_test_rng(304);
    ac_tpg_data *D = fork_data();
    ac_tpg *G = build_ok(D);
    ac_tpg_cons C;
    cr_assert_eq(ac_tpg_constraints(G, &C, NULL), AC_OK);
    double E[6], W[4] = {1.7312, 1.7312, 1.7312, 1.7312};
    ac_test_unit_rows(r, E, 3, 2);
    ac_qp_info info;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_tpg_svm(G, &C, E, 2, NULL, W, NULL, NULL, &info, &msg), AC_ERANK);
    cr_assert(strstr(msg.text, "embeddings have rank 2 < K = 3"), "%s", msg.text);
    cr_assert(strstr(msg.text, "allow_dependent"), "%s", msg.text);
    cr_assert_eq(W[0], 1.7312, "W is not written on AC_ERANK");
    ac_tpg_cons_clear(&C);
    ac_tpg_free(G);
    ac_tpg_data_free(D);
    gsl_rng_free(r);
}

/* e_2 = (e_0 + e_1)/2 makes u_2 = (u_0 + u_1)/2 in every column, so
 * u_0 - u_2 >= 1 and u_1 - u_2 >= 1 add to 0 >= 2: infeasible by
 * construction.  Refused by the rank test; with allow_dependent the solver
 * runs and must certify infeasibility. */
Test(tpg, svm_on_dependent_embeddings_is_refused_or_certified_infeasible)
{
    ac_tpg_data *D = fork_data();
    ac_tpg *G = build_ok(D);
    ac_tpg_cons C;
    cr_assert_eq(ac_tpg_constraints(G, &C, NULL), AC_OK);
    double E[9] = {1.7312, 0.3, -0.2, -0.4, 0.9, 0.5, 0, 0, 0}, W[9];
    for (int t = 0; t < 3; t++)
        E[6 + t] = 0.5 * (E[t] + E[3 + t]);
    ac_qp_info info;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_tpg_svm(G, &C, E, 3, NULL, W, NULL, NULL, &info, &msg), AC_ERANK);
    cr_assert(strstr(msg.text, "rank 2 < K = 3"), "%s", msg.text);
    ac_tpg_svm_settings set;
    ac_tpg_svm_settings_default(&set);
    set.allow_dependent = 1;
    double lambda[2], y[2] = {-1.0, -1.0};
    cr_assert_eq(ac_tpg_svm(G, &C, E, 3, &set, W, lambda, y, &info, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(info.status, AC_QP_INFEASIBLE, "ended %s", ac_qp_status_str(info.status));
    /* The certificate, checked from E directly: y >= 0 on the inequalities,
     * rhs^T y > 0 and sum_c y_c (e_a - e_b) e_k^T ~ 0.  The solver accepts
     * a ratio <= eps_infeas = 1e-9 on its own (Gram-factor) arithmetic; the
     * direct sum differs by rounding ~ 4 eps sum|y_c|, so 1e-8 holds. */
    double rty = 0.0, Y[9] = {0};
    for (int c = 0; c < C.m; c++) {
        cr_assert_geq(y[c], 0.0, "certificate entry %d", c);
        rty += C.rhs[c] * y[c];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                Y[i * 3 + j] += y[c] * (E[C.a[c] * 3 + i] - E[C.b[c] * 3 + i]) * E[C.k[c] * 3 + j];
    }
    cr_assert_gt(rty, 0.0);
    cr_assert_leq(ac_la_nrm2(Y, 9), 1e-8 * rty, "||sum y_c A_c|| = %g, rhs^T y = %g", ac_la_nrm2(Y, 9), rty);
    ac_tpg_cons_clear(&C);
    ac_tpg_free(G);
    ac_tpg_data_free(D);
}

/* Rows 2^-j apart (j = 10..26) are linearly independent (rank 2: the
 * smaller singular value ~ 2^-j/sqrt 2 is far above 2 eps), so the one
 * constraint (e_0 - e_1)^T W e_0 >= 1 is feasible.  A vanishing test on the
 * Gram called it 'infeasible' (certificate residual 0) from j = 23 on; now
 * the solve either succeeds or refuses the numerically zero A_c (qp check),
 * never a verdict of infeasibility.  Rows equal entry for entry (j = inf,
 * with allow_dependent) are infeasible, rightly. */
Test(tpg, nearly_equal_independent_rows_are_never_called_infeasible)
{
    ac_tpg_data *D = ac_tpg_data_alloc(1, 2, 2);
    D->off[1] = 2, D->tok[0] = 1, D->tok[1] = 0, D->label[0] = 0;
    ac_tpg *G = build_ok(D);
    ac_tpg_cons C;
    cr_assert_eq(ac_tpg_constraints(G, &C, NULL), AC_OK);
    cr_assert_eq(C.m, 1);
    for (int j = 10; j <= 27; j++) {
        double E[4] = {1.0, 0.0, 1.0, ldexp(1.0, -j)}, W[4], cert[1];
        if (j == 27)
            E[3] = 0.0; /* equal rows */
        ac_tpg_svm_settings set;
        ac_tpg_svm_settings_default(&set);
        set.allow_dependent = j == 27;
        ac_qp_info info;
        ac_msg msg = {{0}};
        ac_status st = ac_tpg_svm(G, &C, E, 2, &set, W, NULL, cert, &info, &msg);
        if (j == 27) {
            cr_assert_eq(st, AC_OK, "%s", msg.text);
            cr_assert_eq(info.status, AC_QP_INFEASIBLE);
            cr_assert_eq(cert[0], 1.0);
        } else {
            cr_assert(st != AC_OK || info.status != AC_QP_INFEASIBLE, "rows 2^-%d apart called infeasible", j);
            if (st == AC_OK && info.status == AC_QP_SOLVED) {
                double s[1];
                ac_tpg_cons_values(&C, E, 2, W, s);
                cr_assert(s[0] >= 1.0 - 1e-6, "2^-%d: s = %g", j, s[0]);
            }
        }
    }
    ac_tpg_cons_clear(&C);
    ac_tpg_free(G);
    ac_tpg_data_free(D);
}

/* ac_tpg_svm's info is optional (it was written through), and NULL graphs,
 * constraints, embeddings or W are refused by name instead of read; the
 * solution with info NULL is the one with info, bit for bit. */
Test(tpg, svm_takes_null_info_and_refuses_null_inputs)
{
    ac_tpg_data *D = fork_data();
    ac_tpg *G = build_ok(D);
    ac_tpg_cons C;
    cr_assert_eq(ac_tpg_constraints(G, &C, NULL), AC_OK);
    double E[9] = {1.7312, 0, 0.2, 0, 0.9, 0, 0.1, 0, 1.1}, W1[9], W2[9];
    ac_qp_info info;
    ac_msg msg = {{0}};
    cr_assert_eq(ac_tpg_svm(G, &C, E, 3, NULL, W1, NULL, NULL, &info, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(info.status, AC_QP_SOLVED);
    cr_assert_eq(ac_tpg_svm(G, &C, E, 3, NULL, W2, NULL, NULL, NULL, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(memcmp(W1, W2, sizeof W1), 0);
    cr_assert_eq(ac_tpg_svm(G, &C, NULL, 3, NULL, W1, NULL, NULL, &info, &msg), AC_EINVAL);
    cr_assert(strstr(msg.text, "NULL"), "%s", msg.text);
    cr_assert_eq(ac_tpg_svm(NULL, &C, E, 3, NULL, W1, NULL, NULL, &info, &msg), AC_EINVAL);
    cr_assert_eq(ac_tpg_svm(G, NULL, E, 3, NULL, W1, NULL, NULL, &info, &msg), AC_EINVAL);
    cr_assert_eq(ac_tpg_svm(G, &C, E, 3, NULL, NULL, NULL, NULL, &info, &msg), AC_EINVAL);
    ac_tpg_cons_clear(&C);
    ac_tpg_free(G);
    ac_tpg_data_free(D);
}

/* NULL is a no-op for the two _clear functions (they read through it). */
Test(tpg, clears_take_null)
{
    ac_tpg_cons_clear(NULL);
    ac_tpg_cond_clear(NULL);
}
