/* The attention-paths theory on a task file, through libattncheck
 * (docs/library.md): read the task (verify/paths_io.h), build its path
 * tensors, and minimise the action from the GP values with ac_paths_solve
 * (theory/paths.h).  These are the calls ac_paths_task_solve makes for
 * `attncheck paths solve`, in the same order, so every number printed is
 * that command's, bit for bit.
 *
 *   paths_solve examples/paths-task.json
 *
 * Prints "KEY VALUE" lines, KEY named as in `paths solve --format json`:
 * outcome, iterations, grad_norm, S, U_a, U[l][i][j], head_scores[l][h],
 * test.mean[k], test.variance[k].  Exit 0 when the minimiser converged, 1
 * when it stopped short (its last iterate is printed), 2 on bad input. */
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "solvers/minimize.h"
#include "solvers/status.h"
#include "theory/paths.h"
#include "verify/paths_io.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: paths_solve TASK.json\n");
        return 2;
    }
    gsl_set_error_handler_off(); /* statuses, not GSL's abort */

    ac_msg msg = {{0}};
    ac_paths_task t;
    ac_paths_workspace *w = NULL;
    double *Phi = NULL, *Phit = NULL, *U = NULL, *scores = NULL, *mean = NULL, *var = NULL;
    int rc = 2;

    /* The reader initialises t whatever it returns: clearing it is safe. */
    ac_status st = ac_paths_task_read(argv[1], &t, &msg);
    if (st != AC_OK)
        goto fail;

    const ac_paths_settings *s = &t.s;
    size_t per_example = (size_t)t.N0 * (size_t)ac_paths_count(s);
    Phi = malloc(sizeof(double) * (size_t)t.P * per_example);
    /* +1: malloc(0) may return NULL, and a task may have no test set */
    Phit = malloc(sizeof(double) * ((size_t)t.Pt * per_example + 1));
    U = malloc(sizeof(double) * ac_paths_u_size(s));
    scores = malloc(sizeof(double) * (size_t)t.nheads);
    mean = malloc(sizeof(double) * ((size_t)t.Pt + 1));
    var = malloc(sizeof(double) * ((size_t)t.Pt + 1));
    w = ac_paths_alloc(s, t.P, t.N0); /* copies s */
    if (!Phi || !Phit || !U || !scores || !mean || !var || !w) {
        st = ac_fail(&msg, AC_ENOMEM, "%s: out of memory", argv[1]);
        goto fail;
    }
    /* The path tensors of the training and test sets (spec §2), then the
     * training data into the workspace (borrowed: Phi and t.Y stay alive). */
    if ((st = ac_paths_task_phi(&t, 0, Phi, &msg)) != AC_OK ||
        (st = ac_paths_task_phi(&t, 1, Phit, &msg)) != AC_OK ||
        (st = ac_paths_set_data(w, Phi, t.Y, &msg)) != AC_OK)
        goto fail;

    /* From the GP values (§3.4) to the saddle point (§3.2); default BFGS
     * settings (NULL). */
    ac_paths_info info;
    ac_paths_gp_u(s, U);
    if ((st = ac_paths_solve(w, NULL, U, &info, &msg)) != AC_OK)
        goto fail;
    ac_paths_head_scores(s, U, scores);
    if (t.Pt > 0 && (st = ac_paths_predict(w, U, t.Pt, Phit, mean, var, &msg)) != AC_OK)
        goto fail;

    printf("outcome %s\n", ac_min_status_str(info.min.status));
    printf("iterations %d\n", info.min.iter);
    printf("grad_norm %.17g\n", info.min.grad_norm);
    printf("S %.17g\n", info.S);
    printf("U_a %.17g\n", info.Ua);
    for (int l = 1; l <= s->L; l++) {
        const double *Ul = U + ac_paths_u_offset(s, l);
        int D = ac_paths_dim(s, l);
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++)
                printf("U[%d][%d][%d] %.17g\n", l - 1, i, j, Ul[i * D + j]);
    }
    for (int l = 0, k = 0; l < s->L; l++)
        for (int h = 0; h < s->H[l]; h++, k++)
            printf("head_scores[%d][%d] %.17g\n", l, h, scores[k]);
    for (int k = 0; k < t.Pt; k++)
        printf("test.mean[%d] %.17g\ntest.variance[%d] %.17g\n", k, mean[k], k, var[k]);
    rc = info.min.status == AC_MIN_CONVERGED ? 0 : 1;
    goto done;

fail:
    fprintf(stderr, "paths_solve: %s\n", msg.text[0] ? msg.text : ac_status_str(st));
done:
    ac_paths_free(w);
    free(Phi);
    free(Phit);
    free(U);
    free(scores);
    free(mean);
    free(var);
    ac_paths_task_clear(&t);
    return rc;
}
