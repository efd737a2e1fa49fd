/* The shared Adam step (verify/train.h): exact identities only.
 *   With beta1 = beta2 = 0 and no bias correction (alpha = lr, c1 = c2 = 1)
 *   and eps = 0, m = g, v = g^2 and the step is lr g/sqrt(g^2) = lr sign(g)
 *   exactly (sqrt of a correctly rounded square returns |g| in IEEE double).
 *   With beta1 = 1/2, beta2 = 1/4 and dyadic gradients the moment recursions
 *   are exact, so after two steps m = g1/4 + g2/2 and v = 3 g1^2/16 +
 *   3 g2^2/4 bit for bit.  A non-finite proposal is reported and w is left to the caller. */
#include <criterion/criterion.h>
#include <math.h>

#include "verify/train.h"

Test(adam, a_step_without_memory_moves_each_weight_by_lr_against_its_gradient_sign)
{
    const double g[4] = {3.0, -0.125, 1e-100, -7e100}; /* squares stay normal */
    for (int form = 0; form < 2; form++) {
        double w[4] = {1.0, 1.0, 1.0, 1.0}, m[4] = {0}, v[4] = {0}, next[4];
        int ok = form ? ac_adam_hats(4, w, g, 0.0, 0.0, 0.25, 1.0, 1.0, 0.0, m, v, next)
                      : ac_adam_folded(4, w, g, 0.0, 0.0, 0.25, 0.0, m, v, next);
        cr_assert(ok);
        for (int k = 0; k < 4; k++) {
            cr_assert_eq(m[k], g[k]);
            cr_assert_eq(next[k], g[k] > 0 ? 0.75 : 1.25, "form %d, k %d: %.17g", form, k, next[k]);
        }
    }
}

Test(adam, the_moments_follow_their_recursions_exactly_on_dyadic_gradients)
{
    const double g1[2] = {0.5, -2.0}, g2[2] = {4.0, 0.25};
    for (int form = 0; form < 2; form++) {
        double w[2] = {0.0, 0.0}, m[2] = {0}, v[2] = {0}, next[2];
        for (int step = 0; step < 2; step++) {
            const double *g = step ? g2 : g1;
            if (form)
                ac_adam_hats(2, w, g, 0.5, 0.25, 1e-3, 0.5, 0.75, 1e-8, m, v, next);
            else
                ac_adam_folded(2, w, g, 0.5, 0.25, 1e-3, 1e-8, m, v, next);
        }
        for (int k = 0; k < 2; k++) {
            cr_assert_eq(m[k], g1[k] / 4 + g2[k] / 2);
            cr_assert_eq(v[k], 3 * g1[k] * g1[k] / 16 + 3 * g2[k] * g2[k] / 4);
        }
    }
}

Test(adam, a_non_finite_proposal_is_reported_and_next_may_alias_w)
{
    double w[2] = {1.0, 2.0}, g[2] = {1.0, NAN}, m[2] = {0}, v[2] = {0};
    cr_assert_not(ac_adam_folded(2, w, g, 0.9, 0.999, 1e-3, 1e-8, m, v, w));
    cr_assert(isfinite(w[0]) && w[0] < 1.0);
    cr_assert(isnan(w[1]));
    double w2[1] = {1.0}, g2[1] = {INFINITY}, m2[1] = {0}, v2[1] = {0}, n2[1];
    cr_assert_not(ac_adam_hats(1, w2, g2, 0.9, 0.999, 1e-3, 0.1, 0.001, 1e-8, m2, v2, n2));
}
