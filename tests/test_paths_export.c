/* The digits task as a task file (verify/paths_export.h): its path tensors
 * are the claim's bit for bit, and it survives the file round trip. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "verify/paths_export.h"
#include "verify/paths_net_claims.h"

/* The quick-size digits task of seed 3 exported at N = 10, T = 0.5: Phi and
 * Phi_t from the task's matrices equal the task's own (seen to fail with
 * the readout exported as the last token instead of the mean). */
Test(paths_export, digits_task_file_gives_the_claims_path_tensors)
{
    ac_paths_digits_setup su;
    ac_paths_digits_setup_of(AC_SIZE_QUICK, &su);
    ac_paths_digits_task dt;
    memset(&dt, 0, sizeof dt);
    ac_msg msg = {{0}};
    ac_status st = ac_paths_digits_task_init(&dt, NULL, &su.digits, 3, &msg);
    if (st == AC_EIO)
        cr_skip_test("%s", msg.text); /* python3-sklearn missing: make deps installs it */
    cr_assert_eq(st, AC_OK, "%s", msg.text);
    ac_paths_task t;
    cr_assert_eq(ac_paths_task_from_digits(&dt, 10.0, 0.5, &t, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_paths_task_check(&t, "digits", &msg), AC_OK, "%s", msg.text);
    int npaths = 1;
    for (int l = 0; l < t.s.L; l++)
        npaths *= t.s.H[l];
    size_t n = (size_t)t.P * t.N0 * npaths, nt = (size_t)t.Pt * t.N0 * npaths;
    double *Phi = malloc(sizeof(double) * n), *Phit = malloc(sizeof(double) * nt);
    cr_assert_eq(ac_paths_task_phi(&t, 0, Phi, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(ac_paths_task_phi(&t, 1, Phit, &msg), AC_OK, "%s", msg.text);
    cr_assert_eq(memcmp(Phi, dt.Phi, sizeof(double) * n), 0, "training path tensor differs");
    cr_assert_eq(memcmp(Phit, dt.Phi_t, sizeof(double) * nt), 0, "test path tensor differs");
    /* the file round trip keeps every matrix */
    char path[] = "/tmp/ac_paths_export_XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    cr_assert_eq(ac_paths_task_write(f, &t, &msg), AC_OK, "%s", msg.text);
    fclose(f);
    ac_paths_task back;
    cr_assert_eq(ac_paths_task_read(path, &back, &msg), AC_OK, "%s", msg.text);
    unlink(path);
    size_t om = (size_t)t.nheads * t.ntok * t.ntok;
    cr_assert_eq(memcmp(back.Om, t.Om, sizeof(double) * t.P * om), 0);
    cr_assert_eq(memcmp(back.Omt, t.Omt, sizeof(double) * t.Pt * om), 0);
    cr_assert_eq(back.readout, AC_PATHS_READOUT_MEAN);
    ac_paths_task_clear(&back);
    free(Phi), free(Phit);
    ac_paths_task_clear(&t);
    ac_paths_digits_task_clear(&dt);
}
