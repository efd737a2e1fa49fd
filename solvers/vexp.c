#include "solvers/vexp.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#define HAVE_MVEC_EXP 1
/* glibc libmvec: exp on 4 doubles, AVX2 ("d" ISA, "N4": 4 lanes unmasked). */
__m256d _ZGVdN4v_exp(__m256d x);

__attribute__((target("avx2"))) static void exp_array_avx2(const double *x, double *y, int n)
{
    int i = 0;
    for (; i + 4 <= n; i += 4)
        _mm256_storeu_pd(y + i, _ZGVdN4v_exp(_mm256_loadu_pd(x + i)));
    if (i < n) {
        double pad[4] = {0.0, 0.0, 0.0, 0.0};
        memcpy(pad, x + i, sizeof(double) * (size_t)(n - i));
        _mm256_storeu_pd(pad, _ZGVdN4v_exp(_mm256_loadu_pd(pad)));
        memcpy(y + i, pad, sizeof(double) * (size_t)(n - i));
    }
}
#endif

void ac_exp_array(const double *x, double *y, int n)
{
#ifdef HAVE_MVEC_EXP
    if (__builtin_cpu_supports("avx2")) {
        exp_array_avx2(x, y, n);
        return;
    }
#endif
    for (int i = 0; i < n; i++)
        y[i] = exp(x[i]);
}
