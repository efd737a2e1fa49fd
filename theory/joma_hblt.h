/* Our symmetric-channel hierarchical binary latent tree (HBLT; spec joma
 * §3 item 4): what it predicts about token co-occurrence, from its
 * parameters alone.
 *
 * The tree is complete and binary, of depth D >= 1: one root at level 0,
 * 2^k latents at level k, and 2^D leaves at level D, the tokens (leaf l
 * is token l, numbered left to right).  Every node is binary, y in {0, 1}:
 * the root is 1 with probability p_root, and each edge into level k is a
 * binary symmetric channel of correlation rho_k in [-1, 1],
 *     P(child = parent) = (1 + rho_k) / 2.
 * A sequence holds token l when leaf y_l = 1.
 *
 * With spins s = 2y - 1, E[s_child | s_parent] = rho_k s_parent, so
 *     E[s_l]       = (2 p_root - 1) prod_{k=1..D} rho_k,
 *     E[s_l s_m]   = prod_{k=a+1..D} rho_k^2   (l != m, lowest common ancestor at level a;
 *                                               the two branches below it are independent given it),
 *     P(y_l = 1, y_m = 1) = (1 + E s_l + E s_m + E s_l s_m) / 4,
 * which for p_root = 1/2 and one rho gives P(y_l = 1 | y_m = 1) =
 * (1 + rho^{2H}) / 2, H = D - a the height of the common ancestor (spec §3
 * item 4 [derived]).  This is our parametrisation, not the paper's Theorem
 * 5, whose printed form is unverified (spec §0); the paper's Fig. 5 root is
 * a D-valued label, ours a binary latent. */
#ifndef AC_JOMA_HBLT_H
#define AC_JOMA_HBLT_H

#include "solvers/status.h"

/* Deepest tree allowed: 2^16 leaves already make a 65536-token vocabulary. */
#define AC_JOMA_HBLT_DEPTH_MAX 16

/* The tree's parameters.  rho is borrowed (depth entries: rho[k-1] is the
 * correlation of the edges into level k). */
typedef struct {
    int depth;
    double p_root;
    const double *rho;
} ac_joma_hblt;

/* AC_OK, or AC_EINVAL with the sentence naming the parameter: depth outside
 * [1, AC_JOMA_HBLT_DEPTH_MAX], p_root outside [0, 1], rho missing or an
 * entry outside [-1, 1] or not finite. */
ac_status ac_joma_hblt_check(const ac_joma_hblt *h, ac_msg *msg);

/* 2^depth. */
int ac_joma_hblt_nleaves(const ac_joma_hblt *h);

/* Height of the lowest common ancestor of leaves l and m: 0 when l = m,
 * else the bit length of l XOR m (1 for siblings, depth for leaves in
 * different halves). */
int ac_joma_hblt_lca_height(int l, int m);

/* P(y_l = 1), the same for every leaf. */
double ac_joma_hblt_marginal(const ac_joma_hblt *h);
/* P(y_l = 1, y_m = 1) (l = m: the marginal). */
double ac_joma_hblt_cooccur(const ac_joma_hblt *h, int l, int m);
/* P(y_l = 1 | y_m = 1); NaN when P(y_m = 1) = 0. */
double ac_joma_hblt_conditional(const ac_joma_hblt *h, int l, int m);

#endif
