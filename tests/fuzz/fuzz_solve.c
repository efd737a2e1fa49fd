/* libFuzzer target for the one-call Graph-SVM solve (theory/tpg_solve:
 * graphs, constraints, the QP of solvers/qp, S_fin and the Newton solve of
 * W_fin) on small instances.
 *
 * Bytes: K = 1 + b0 % FUZZ_KMAX, d = K + b1 % 3 (sometimes K - 1: dependent
 * rows), a scale exponent s = (int8_t)b2 * 5 (E is multiplied by 2^s, so
 * scales from 2^-640 to 2^635 are tried), then K d entries, one byte each,
 * (int8_t)b / 37.0 (ties and zeros occur), then examples as in fuzz_graph
 * (length byte, tokens mod K, label position).  Sizes are bounded (K <= 6,
 * n <= 8, length <= 6) so a solve takes milliseconds.
 *
 * Invariants: no crash, leak or undefined behaviour; an error comes with a
 * message; on AC_OK the verdict is solved (perhaps inaccurately), infeasible
 * or the sweep limit, never a numerical error; unless infeasible, W_svm,
 * lambda and W_fin are finite; a solved W_svm meets the constraints (s_c
 * against rhs_c, relative to the QP's value_scale, to the sweep-limit-free
 * tolerance 1e-6), and an infeasible verdict has a certificate. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "theory/tpg_solve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_KMAX 6
#define FUZZ_TMAX 6
#define FUZZ_NMAX 8
/* A solved W_svm meets every constraint to AC_QP_EPS_DEFAULT relative to
 * value_scale; 1e-6 leaves room for the rescaling and flags only real
 * violations. */
#define FUZZ_FEAS_TOL 1e-6

#define REQUIRE(c)                                                                 \
    do {                                                                           \
        if (!(c)) {                                                                \
            fprintf(stderr, "fuzz_solve: invariant failed: %s (line %d)\n", #c,     \
                    __LINE__);                                                     \
            abort();                                                               \
        }                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    int K = 1 + data[0] % FUZZ_KMAX;
    int d = data[1] % 4 == 3 ? K - 1 : K + data[1] % 3;
    int sexp = (int8_t)data[2] * 5;
    size_t pos = 3, KdN = (size_t)K * (size_t)d;
    if (size < pos + KdN + 3)
        return 0;
    double E[FUZZ_KMAX * (FUZZ_KMAX + 2)];
    for (size_t i = 0; i < KdN; i++)
        E[i] = ldexp((int8_t)data[pos++] / 37.0, sexp);
    int len[FUZZ_NMAX], n = 0, ntok = 0;
    size_t p0 = pos;
    while (n < FUZZ_NMAX && pos < size) {
        int l = 1 + data[pos] % FUZZ_TMAX;
        if (pos + (size_t)l + 2 > size)
            break;
        len[n++] = l;
        ntok += l;
        pos += (size_t)l + 2;
    }
    if (n == 0)
        return 0;
    ac_tpg_data *D = ac_tpg_data_alloc(n, ntok, K);
    REQUIRE(D);
    pos = p0;
    for (int i = 0; i < n; i++) {
        pos++;
        D->off[i + 1] = D->off[i] + len[i];
        int *tok = D->tok + D->off[i];
        for (int t = 0; t < len[i]; t++)
            tok[t] = data[pos++] % K;
        D->label[i] = tok[data[pos++] % len[i]];
    }
    ac_tpg_solve_settings set;
    ac_tpg_solve_settings_default(&set);
    set.svm.allow_dependent = data[1] & 0x80 ? 1 : 0;
    ac_tpg_solution s;
    ac_msg m;
    m.text[0] = '\0';
    ac_status st = ac_tpg_solve(D, E, d, &set, &s, &m);
    if (st != AC_OK) {
        REQUIRE(m.text[0] != '\0' && memchr(m.text, '\0', sizeof m.text));
    } else {
        size_t dd = (size_t)d * (size_t)d;
        REQUIRE(s.qp.status == AC_QP_SOLVED || s.qp.status == AC_QP_SOLVED_INACCURATE ||
                s.qp.status == AC_QP_INFEASIBLE || s.qp.status == AC_QP_MAX_ITER);
        if (s.qp.status != AC_QP_INFEASIBLE) {
            for (size_t i = 0; i < dd; i++)
                REQUIRE(isfinite(s.Wsvm[i]) && isfinite(s.Wfin[i]));
            for (int c = 0; c < s.C.m; c++)
                REQUIRE(isfinite(s.lambda[c]));
        }
        if (s.qp.status == AC_QP_SOLVED) {
            double *v = malloc(sizeof(double) * ((size_t)s.C.m + 1));
            REQUIRE(v);
            ac_tpg_cons_values(&s.C, E, d, s.Wsvm, v);
            for (int c = 0; c < s.C.m; c++) {
                double r = s.C.is_eq[c] ? fabs(v[c] - s.C.rhs[c]) : fmax(0.0, s.C.rhs[c] - v[c]);
                REQUIRE(!(r > FUZZ_FEAS_TOL * fmax(1.0, s.qp.value_scale)));
            }
            free(v);
        }
        if (s.qp.status == AC_QP_INFEASIBLE) {
            int any = 0;
            for (int c = 0; c < s.C.m; c++)
                any |= s.cert[c] != 0.0;
            REQUIRE(any);
        }
    }
    ac_tpg_solution_clear(&s);
    ac_tpg_data_free(D);
    return 0;
}
