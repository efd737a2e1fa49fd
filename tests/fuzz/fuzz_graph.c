/* libFuzzer target for graph building (theory/tpg: ac_tpg_build, the
 * constraints, the condensation and the queries; solvers/graph underneath).
 *
 * The bytes are a small dataset: byte 0 gives K in 1..FUZZ_KMAX, then each
 * example is a length byte (1..FUZZ_TMAX), that many token bytes and a label
 * byte.  A token byte b is b mod K, except 255, which stays 255 (outside the
 * vocabulary); the label byte picks a position of the sequence (b mod len)
 * when b < 200, else it is b - 200 (maybe absent from the sequence, maybe
 * outside [0, K)).  So both valid data and every refusal of
 * ac_tpg_data_check are reached.
 *
 * Invariants: a refusal leaves *out NULL with a message; on AC_OK, for every
 * graph, the components are a topological numbering (every edge goes from a
 * lower component to a higher or the same one), the label's component is the
 * top SCC of its example, the constraints are the edges with equality iff
 * same SCC, and the condensation lists each edge between components once,
 * sorted, A < B, every one of them reachable. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "theory/tpg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_KMAX 24
#define FUZZ_TMAX 12
#define FUZZ_NMAX 64

#define REQUIRE(c)                                                                 \
    do {                                                                           \
        if (!(c)) {                                                                \
            fprintf(stderr, "fuzz_graph: invariant failed: %s (line %d)\n", #c,     \
                    __LINE__);                                                     \
            abort();                                                               \
        }                                                                          \
    } while (0)

/* Dataset from the bytes (NULL when they hold no example). */
static ac_tpg_data *decode(const uint8_t *data, size_t size)
{
    if (size < 3)
        return NULL;
    int K = 1 + data[0] % FUZZ_KMAX;
    int len[FUZZ_NMAX], n = 0, ntok = 0;
    size_t pos = 1;
    while (n < FUZZ_NMAX && pos < size) {
        int l = 1 + data[pos] % FUZZ_TMAX;
        if (pos + 1 + (size_t)l + 1 > size)
            break;
        len[n++] = l;
        ntok += l;
        pos += (size_t)l + 2;
    }
    if (n == 0)
        return NULL;
    ac_tpg_data *D = ac_tpg_data_alloc(n, ntok, K);
    REQUIRE(D);
    pos = 1;
    for (int i = 0; i < n; i++) {
        pos++; /* the length byte */
        D->off[i + 1] = D->off[i] + len[i];
        int *tok = D->tok + D->off[i];
        for (int t = 0; t < len[i]; t++) {
            uint8_t b = data[pos++];
            tok[t] = b == 255 ? 255 : b % K;
        }
        uint8_t lb = data[pos++];
        D->label[i] = lb < 200 ? tok[lb % len[i]] : lb - 200;
    }
    return D;
}

static void check_graphs(const ac_tpg *G, const ac_tpg_data *D)
{
    int K = G->K;
    for (int g = 0; g < G->ngraph; g++) {
        const int *comp = G->comp + (size_t)g * K, *off = G->adj_off + (size_t)g * (K + 1);
        REQUIRE(G->nlive[g] <= G->ncomp[g] && G->ncomp[g] <= K);
        for (int j = 0; j < K; j++) {
            REQUIRE(comp[j] >= 0 && comp[j] < G->ncomp[g]);
            for (int e = off[j]; e < off[j + 1]; e++) {
                int l = G->adj[e];
                REQUIRE(l >= 0 && l < K && l != j);
                REQUIRE(comp[j] <= comp[l]);
                REQUIRE(comp[j] < G->nlive[g] && comp[l] < G->nlive[g]);
                REQUIRE(ac_tpg_comp_reaches(G, g, comp[j], comp[l]));
            }
        }
        ac_tpg_cond c;
        REQUIRE(ac_tpg_condensation(G, g, &c, NULL) == AC_OK);
        for (int e = 0; e < c.n; e++) {
            REQUIRE(c.from[e] < c.to[e] && c.to[e] < G->nlive[g]);
            REQUIRE(ac_tpg_comp_reaches(G, g, c.from[e], c.to[e]));
            REQUIRE(!ac_tpg_comp_reaches(G, g, c.to[e], c.from[e]));
            if (e > 0)
                REQUIRE(c.from[e] > c.from[e - 1] || (c.from[e] == c.from[e - 1] && c.to[e] > c.to[e - 1]));
        }
        ac_tpg_cond_clear(&c);
    }
    for (int i = 0; i < D->n; i++) {
        const int *tok = D->tok + D->off[i];
        int len = D->off[i + 1] - D->off[i], k = tok[len - 1];
        int top = ac_tpg_top_scc(G, k, tok, len);
        REQUIRE(top == G->comp[(size_t)G->graph_of[k] * K + D->label[i]]);
        REQUIRE(ac_tpg_same_scc(G, k, D->label[i], D->label[i]));
    }
    ac_tpg_cons C;
    REQUIRE(ac_tpg_constraints(G, &C, NULL) == AC_OK);
    int m = 0;
    for (int g = 0; g < G->ngraph; g++)
        m += ac_tpg_nedges(G, g);
    REQUIRE(C.m == m);
    for (int c = 0; c < C.m; c++)
        REQUIRE(C.is_eq[c] == ac_tpg_same_scc(G, C.k[c], C.a[c], C.b[c]));
    ac_tpg_cons_clear(&C);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ac_tpg_data *D = decode(data, size);
    if (!D)
        return 0;
    ac_tpg *G = (ac_tpg *)&size; /* must be reset to NULL on error */
    ac_msg m;
    m.text[0] = '\0';
    ac_status st = ac_tpg_build(D, &G, &m);
    if (st != AC_OK) {
        REQUIRE(G == NULL);
        REQUIRE(m.text[0] != '\0' && memchr(m.text, '\0', sizeof m.text));
        REQUIRE(ac_tpg_data_check(D, 1, NULL) != AC_OK);
    } else {
        REQUIRE(ac_tpg_data_check(D, 1, NULL) == AC_OK);
        check_graphs(G, D);
        ac_tpg_free(G);
    }
    ac_tpg_data_free(D);
    return 0;
}
