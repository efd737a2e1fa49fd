/* The co-occurrence of tokens in our symmetric-channel HBLT (spec joma §3
 * item 4 [derived]); the formulas are in the header. */
#include "theory/joma_hblt.h"

#include <math.h>

ac_status ac_joma_hblt_check(const ac_joma_hblt *h, ac_msg *msg)
{
    if (!h)
        return ac_fail(msg, AC_EINVAL, "HBLT parameters are missing (NULL)");
    if (h->depth < 1 || h->depth > AC_JOMA_HBLT_DEPTH_MAX)
        return ac_fail(msg, AC_EINVAL, "HBLT depth %d is outside [1, %d]", h->depth, AC_JOMA_HBLT_DEPTH_MAX);
    if (!(h->p_root >= 0.0 && h->p_root <= 1.0))
        return ac_fail(msg, AC_EINVAL, "HBLT root probability %g is outside [0, 1]", h->p_root);
    if (!h->rho)
        return ac_fail(msg, AC_EINVAL, "HBLT has no channel correlations rho");
    for (int k = 0; k < h->depth; k++)
        if (!(h->rho[k] >= -1.0 && h->rho[k] <= 1.0))
            return ac_fail(msg, AC_EINVAL, "HBLT rho[%d] = %g is outside [-1, 1]", k, h->rho[k]);
    return AC_OK;
}

int ac_joma_hblt_nleaves(const ac_joma_hblt *h)
{
    return 1 << h->depth;
}

int ac_joma_hblt_lca_height(int l, int m)
{
    unsigned x = (unsigned)(l ^ m);
    int H = 0;
    while (x) {
        H++;
        x >>= 1;
    }
    return H;
}

/* E[s_l] = (2 p_root - 1) prod_k rho_k */
static double spin_mean(const ac_joma_hblt *h)
{
    double e = 2.0 * h->p_root - 1.0;
    for (int k = 0; k < h->depth; k++)
        e *= h->rho[k];
    return e;
}

double ac_joma_hblt_marginal(const ac_joma_hblt *h)
{
    return 0.5 * (1.0 + spin_mean(h));
}

double ac_joma_hblt_cooccur(const ac_joma_hblt *h, int l, int m)
{
    if (l == m)
        return ac_joma_hblt_marginal(h);
    /* E[s_l s_m] = prod over the H levels below the common ancestor of rho_k^2 */
    int H = ac_joma_hblt_lca_height(l, m);
    double c = 1.0;
    for (int k = h->depth - H; k < h->depth; k++)
        c *= h->rho[k] * h->rho[k];
    double e = spin_mean(h);
    return 0.25 * (1.0 + 2.0 * e + c);
}

double ac_joma_hblt_conditional(const ac_joma_hblt *h, int l, int m)
{
    double pm = ac_joma_hblt_marginal(h);
    return pm > 0.0 ? ac_joma_hblt_cooccur(h, l, m) / pm : NAN;
}
