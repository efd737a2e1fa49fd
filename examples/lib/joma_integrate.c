/* The reduced JoMA dynamics dv_l/dt = lambda_l (mu_l - v_l) a_l(v) with
 * softmax attention (spec joma §2.2), through libattncheck
 * (docs/library.md): the drive mu from a file (verify/joma_io.h), the
 * system from theory/joma.h, the integration by solvers/ode.h.  These are
 * the calls of `attncheck joma integrate MU_FILE --n-out 11` with its
 * defaults (nonlinear activation, softmax, T = 2, v(0) = 0, t from 0 to 10,
 * rk8pd with rtol 1e-10, atol 1e-12), so the trajectory printed is that
 * command's, bit for bit.
 *
 *   joma_integrate examples/joma-mu.txt
 *
 * Prints "KEY VALUE" lines, KEY named as in `joma integrate --format json`:
 * outcome, steps, t[k], v[k][l], entropy[k].  Exit 0 when the integration
 * reached the end time, 1 when it ended early (the rows reached are
 * printed), 2 on bad input. */
#include <gsl/gsl_errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "solvers/ode.h"
#include "solvers/status.h"
#include "theory/joma.h"
#include "verify/joma_io.h"

/* Output times: N_OUT evenly from T0 to T1, the last exactly T1, computed
 * as the command computes them (each time is a step's end, so the times
 * decide the steps: other times give other, equally valid, rounding). */
#define N_OUT 11
#define T0 0.0
#define T1 10.0

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: joma_integrate MU_FILE\n");
        return 2;
    }
    gsl_set_error_handler_off(); /* statuses, not GSL's abort */

    ac_msg msg = {{0}};
    double *mu = NULL, *v0 = NULL, *V = NULL, *H = NULL;
    ac_ode_workspace *w = NULL;
    int M = 0, rc = 2;

    ac_status st = ac_joma_io_read_vector(argv[1], &mu, &M, &msg);
    if (st != AC_OK)
        goto fail;

    /* The model borrows mu; lambda, x and c stay NULL (all 1, 1, 0). */
    ac_joma_reduced m;
    ac_joma_reduced_init(&m, M, AC_JOMA_ATT_SOFTMAX, AC_JOMA_ACT_NONLINEAR, mu);
    if ((st = ac_joma_reduced_check(&m, &msg)) != AC_OK)
        goto fail;

    double t[N_OUT];
    for (int k = 0; k < N_OUT; k++)
        t[k] = T0 + (T1 - T0) * (double)k / (double)(N_OUT - 1);
    t[N_OUT - 1] = T1;

    v0 = calloc((size_t)M, sizeof(double)); /* v(0) = 0 */
    V = malloc(sizeof(double) * N_OUT * (size_t)M);
    H = malloc(sizeof(double) * N_OUT);
    w = ac_ode_alloc(M);
    if (!v0 || !V || !H || !w) {
        st = ac_fail(&msg, AC_ENOMEM, "%s: out of memory for %d components", argv[1], M);
        goto fail;
    }

    ac_ode_settings set;
    ac_ode_settings_default(&set);
    ac_ode_system sys;
    ac_joma_reduced_system(&m, &sys); /* borrows m */
    ac_ode_info info;
    int n_done = 0;
    /* AC_OK whenever the integration ran: how it ended is info.status. */
    if ((st = ac_ode_trajectory(w, &sys, T0, v0, N_OUT, t, V, &n_done, &set, &info, &msg)) != AC_OK)
        goto fail;
    ac_joma_entropy_trajectory(&m, n_done, V, H);

    printf("outcome %s\n", ac_joma_io_outcome_key(info.status));
    printf("steps %ld\n", info.steps);
    for (int k = 0; k < n_done; k++) {
        printf("t[%d] %.17g\n", k, t[k]);
        for (int l = 0; l < M; l++)
            printf("v[%d][%d] %.17g\n", k, l, V[(size_t)k * M + l]);
        printf("entropy[%d] %.17g\n", k, H[k]);
    }
    if (info.status == AC_ODE_DONE) {
        rc = 0;
    } else {
        ac_ode_info_message(&info, &msg); /* the ending, with t and h reached */
        fprintf(stderr, "joma_integrate: %s\n", msg.text);
        rc = 1;
    }
    goto done;

fail:
    fprintf(stderr, "joma_integrate: %s\n", msg.text[0] ? msg.text : ac_status_str(st));
done:
    ac_ode_free(w);
    free(mu);
    free(v0);
    free(V);
    free(H);
    return rc;
}
