/* The Graph-SVM solve repeated in one process, as bench/cvxopt_svm.py repeats
 * cvxopt's qp(): both sides are then timed warm (libraries loaded, BLAS
 * buffers allocated), and the median is printed.
 *
 *   solve_bench DATA EMB REPEAT   ->  {"svm_seconds": median, "W_svm": [[...]]}
 *
 * svm_seconds times ac_tpg_solve's Graph-SVM part: graphs, constraints, rank
 * check and QP (cvxopt's time covers its qp() call only). */
#include <stdio.h>
#include <stdlib.h>

#include "solvers/linalg.h"
#include "theory/tpg_solve.h"
#include "verify/svm_io.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: solve_bench DATA EMB REPEAT\n");
        return 2;
    }
    int reps = atoi(argv[3]), K, d;
    ac_tpg_data *D;
    double *E;
    ac_msg msg;
    if (reps < 1 || ac_svm_io_read_data(argv[1], 0, &D, &msg) != AC_OK ||
        ac_svm_io_read_emb(argv[2], &E, &K, &d, &msg) != AC_OK) {
        fprintf(stderr, "solve_bench: %s\n", reps < 1 ? "REPEAT must be positive" : msg.text);
        return 2;
    }
    D->K = K;
    ac_tpg_solve_settings set;
    ac_tpg_solve_settings_default(&set);
    double *t = malloc(sizeof(double) * (size_t)reps);
    ac_tpg_solution s = {0};
    for (int i = 0; i < reps; i++) {
        ac_tpg_solution_clear(&s);
        if (ac_tpg_solve(D, E, d, &set, &s, &msg) != AC_OK || s.qp.status != AC_QP_SOLVED) {
            fprintf(stderr, "solve_bench: %s (%s)\n", msg.text, ac_qp_status_str(s.qp.status));
            return 1;
        }
        t[i] = s.svm_seconds;
    }
    qsort(t, (size_t)reps, sizeof(double), cmp);
    /* the keys of `attncheck svm solve --format json` that bench/report.py reads */
    printf("{\"svm_seconds\": %.17g, \"repeat\": %d, \"status\": \"%s\", \"K\": %d, \"d\": %d, \"n\": %d, "
           "\"equalities\": %d, \"inequalities\": %d, \"qp_sweeps\": %ld, \"norm_W_svm\": %.17g, \"W_svm\": [",
           t[reps / 2], reps, ac_qp_status_str(s.qp.status), K, d, D->n, s.C.neq, s.C.m - s.C.neq, s.qp.sweeps,
           ac_la_nrm2(s.Wsvm, d * d));
    for (int i = 0; i < d; i++) {
        printf(i ? ", [" : "[");
        for (int j = 0; j < d; j++)
            printf(j ? ", %.17g" : "%.17g", s.Wsvm[i * d + j]);
        printf("]");
    }
    printf("]}\n");
    ac_tpg_solution_clear(&s);
    ac_tpg_data_free(D);
    free(E), free(t);
    return 0;
}
