/* ac_exp_array (solvers/vexp.h): libmvec's 4-lane exp where there is one. */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "solvers/vexp.h"
#include "tests/testutil.h"

/* Within glibc's documented 4 ulp of exp over the range where exp is a
 * normal number, and exact at the identities exp(0) = 1 and exp(-inf) = 0;
 * y may be x. */
Test(vexp, within_four_ulp_of_exp_and_exact_where_exp_is_exact)
{
    gsl_rng *r = ac_test_rng(71);
    enum { N = 1003 };
    double x[N], y[N];
    for (int rep = 0; rep < ac_test_cases(20); rep++) {
        for (int i = 0; i < N; i++)
            x[i] = gsl_ran_flat(r, -700.0, 700.0);
        ac_exp_array(x, y, N);
        for (int i = 0; i < N; i++) {
            double e = exp(x[i]);
            cr_assert(fabs(y[i] - e) <= 4.0 * DBL_EPSILON * e, "exp(%.17g): %.17g against %.17g", x[i], y[i], e);
        }
        memcpy(y, x, sizeof x);
        ac_exp_array(y, y, N); /* in place */
        for (int i = 0; i < N; i++)
            cr_assert(fabs(y[i] - exp(x[i])) <= 4.0 * DBL_EPSILON * exp(x[i]), "in place, x = %.17g", x[i]);
    }
    double z[3] = {0.0, -INFINITY, 0.0};
    ac_exp_array(z, z, 3);
    cr_assert(z[0] == 1.0 && z[1] == 0.0 && z[2] == 1.0, "%g %g %g", z[0], z[1], z[2]);
    gsl_rng_free(r);
}

/* A value depends on its argument alone: the same bits whatever its index
 * in the array and the array's length (the tail of n mod 4 goes through the
 * same 4-lane call, padded). */
Test(vexp, a_value_does_not_depend_on_its_index_or_the_length)
{
    gsl_rng *r = ac_test_rng(72);
    enum { N = 11 };
    double x[N], all[N];
    for (int i = 0; i < N; i++)
        x[i] = gsl_ran_flat(r, -30.0, 30.0);
    ac_exp_array(x, all, N);
    for (int n = 1; n <= N; n++)
        for (int off = 0; off + n <= N; off++) {
            double part[N];
            ac_exp_array(x + off, part, n);
            for (int i = 0; i < n; i++)
                cr_assert(memcmp(&part[i], &all[off + i], sizeof(double)) == 0,
                          "exp(%.17g) at index %d of %d differs from index %d of %d", x[off + i], i, n, off + i, N);
        }
    gsl_rng_free(r);
}
