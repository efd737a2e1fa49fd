/* Helpers shared by the Criterion tests: a seeded generator per test, the
 * AC_TEST_MULTIPLIER scale for the number of random cases, and random data. */
#ifndef AC_TESTUTIL_H
#define AC_TESTUTIL_H

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>

/* Number of random cases: base times AC_TEST_MULTIPLIER (default 1). */
static inline int ac_test_cases(int base)
{
    const char *m = getenv("AC_TEST_MULTIPLIER");
    double f = m ? atof(m) : 1.0;
    int n = (int)(base * (f > 0 ? f : 1.0));
    return n > 0 ? n : 1;
}

/* The seed a test uses: AC_TEST_SEED when set, else `def`. */
static inline unsigned long ac_test_seed(unsigned long def)
{
    const char *s = getenv("AC_TEST_SEED");
    return s ? strtoul(s, NULL, 10) : def;
}

/* A generator seeded with ac_test_seed(seed); print that seed on failure so
 * a case replays. */
static inline gsl_rng *ac_test_rng(unsigned long seed)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, ac_test_seed(seed));
    gsl_set_error_handler_off();
    return r;
}

/* K x d matrix of N(0,1) entries, each row scaled to unit norm (spec tpg_svm
 * §1 'random' embeddings). */
static inline void ac_test_unit_rows(gsl_rng *r, double *E, int K, int d)
{
    for (int i = 0; i < K; i++) {
        double s = 0.0;
        for (int j = 0; j < d; j++) {
            E[i * d + j] = gsl_ran_gaussian(r, 1.0);
            s += E[i * d + j] * E[i * d + j];
        }
        s = sqrt(s);
        for (int j = 0; j < d; j++)
            E[i * d + j] /= s;
    }
}

#endif
