/* The Graph-SVM of a dataset and its embeddings, through libattncheck
 * (docs/library.md): the same calls as `attncheck svm solve DATA
 * --embeddings EMB`, so the numbers printed are that command's, bit for bit.
 *
 *   svm_solve examples/toy.data examples/toy.emb
 *
 * Prints "KEY VALUE" lines, KEY named as in `svm solve --format json`:
 * status, norm_W_svm, W_svm[i][j], W_fin[i][j], the KKT residuals and the
 * Newton ending.  Exit 0 when both solves converged, 1 when one did not (the
 * numbers reached are printed), 2 on bad input (the library's message on
 * stderr). */
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "solvers/linalg.h"
#include "solvers/status.h"
#include "theory/tpg.h"
#include "theory/tpg_solve.h"
#include "verify/svm_io.h"

static void print_matrix(const char *name, const double *W, int d)
{
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
            printf("%s[%d][%d] %.17g\n", name, i, j, W[i * d + j]);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: svm_solve DATA EMB\n");
        return 2;
    }
    /* The library returns GSL's error codes; GSL's default handler would
     * abort the program first. */
    gsl_set_error_handler_off();

    ac_msg msg = {{0}};
    ac_tpg_data *D = NULL;
    double *E = NULL;
    int K = 0, d = 0;
    ac_tpg_solution sol;
    int have_sol = 0, rc = 2;

    /* Read both files, check the embeddings cover every token, and make
     * the vocabulary the embedding table (as the CLI does). */
    ac_status st = ac_svm_io_read_data(argv[1], 0, &D, &msg);
    if (st == AC_OK)
        st = ac_svm_io_read_emb(argv[2], &E, &K, &d, &msg);
    if (st == AC_OK)
        st = ac_svm_io_check_emb_for_data(argv[2], K, D, &msg);
    if (st == AC_OK) {
        D->K = K;
        st = ac_tpg_data_check(D, 1, &msg);
    }
    if (st == AC_OK) {
        ac_tpg_solve_settings set;
        ac_tpg_solve_settings_default(&set);
        st = ac_tpg_solve(D, E, d, &set, &sol, &msg);
        have_sol = 1; /* filled as far as it got: cleared in every case */
    }
    if (st != AC_OK) {
        fprintf(stderr, "svm_solve: %s\n", msg.text[0] ? msg.text : ac_status_str(st));
        goto done;
    }

    /* AC_OK says the solves ran; how they ended is in sol.qp and sol.newton. */
    printf("status %s\n", ac_qp_status_str(sol.qp.status));
    printf("norm_W_svm %.17g\n", ac_la_nrm2(sol.Wsvm, d * d));
    print_matrix("W_svm", sol.Wsvm, d);
    print_matrix("W_fin", sol.Wfin, d);
    printf("residuals.primal %.17g\n", sol.qp.prim_res);
    printf("residuals.dual %.17g\n", sol.qp.dual_res);
    printf("residuals.complementarity %.17g\n", sol.qp.compl_res);
    printf("residuals.stationarity %.17g\n", sol.qp.stat_res);
    printf("W_fin_grad_norm %.17g\n", sol.fin_grad_norm);
    printf("newton.status %s\n", ac_newton_status_str(sol.newton.status));
    rc = sol.qp.status == AC_QP_SOLVED &&
                 (!sol.S || sol.S->dim == 0 || sol.newton.status == AC_NEWTON_CONVERGED)
             ? 0
             : 1;
done:
    if (have_sol)
        ac_tpg_solution_clear(&sol);
    free(E);
    ac_tpg_data_free(D);
    return rc;
}
