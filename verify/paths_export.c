/* The digits task as a task file (verify/paths_export.h). */
#include "verify/paths_export.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/paths_net_claims.h"

static double *copy_of(const double *a, size_t n)
{
    double *b = malloc(sizeof(double) * (n ? n : 1));
    if (b && n)
        memcpy(b, a, sizeof(double) * n);
    return b;
}

ac_status ac_paths_task_from_digits(const ac_paths_digits_task *dt, double N, double T,
                                    ac_paths_task *t, ac_msg *msg)
{
    ac_paths_task_init(t);
    if (!(N > 0.0) || !isfinite(N) || !(T > 0.0) || !isfinite(T))
        return ac_fail(msg, AC_EINVAL, "digits task: width %g and temperature %g must be finite and > 0",
                       N, T);
    const ac_paths_net_shape *sh = &dt->sh;
    ac_paths_net_theory_settings(sh, N, T, &t->s);
    t->N0 = sh->N0, t->ntok = sh->ntok;
    t->readout = AC_PATHS_READOUT_MEAN;
    t->P = dt->Pth, t->Pt = dt->Pt;
    t->kind = AC_PATHS_ATTN_MATRICES;
    t->nheads = 0;
    for (int l = 0; l < t->s.L; l++)
        t->nheads += t->s.H[l];
    const size_t ex = (size_t)sh->N0 * sh->ntok, om = (size_t)t->nheads * sh->ntok * sh->ntok;
    t->X = copy_of(dt->X, (size_t)t->P * ex);
    t->Y = copy_of(dt->Y, (size_t)t->P);
    t->Xt = copy_of(dt->Xt, (size_t)t->Pt * ex);
    t->Yt = copy_of(dt->Yt, (size_t)t->Pt);
    t->Om = copy_of(dt->Omega, (size_t)t->P * om);
    t->Omt = copy_of(dt->Omega_t, (size_t)t->Pt * om);
    if (!t->X || !t->Y || !t->Xt || !t->Yt || !t->Om || !t->Omt) {
        ac_paths_task_clear(t);
        return ac_fail(msg, AC_ENOMEM, "digits task: out of memory");
    }
    return AC_OK;
}

ac_status ac_paths_task_digits(const ac_paths_task_gen *g, ac_paths_task *t, ac_msg *msg)
{
    ac_paths_task_init(t);
    if (g->train || g->test)
        return ac_fail(msg, AC_EINVAL, "digits task: --train and --test are the claim's (%s); leave them out",
                       "paths.digits at its default size");
    ac_paths_digits_setup su;
    ac_paths_digits_setup_of(AC_SIZE_DEFAULT, &su);
    ac_paths_digits_task dt;
    memset(&dt, 0, sizeof dt);
    ac_status st = ac_paths_digits_task_init(&dt, NULL, &su.digits, g->seed, msg);
    if (st == AC_OK)
        st = ac_paths_task_from_digits(&dt, g->width, su.gibbs_T, t, msg);
    char d[512];
    if (st == AC_OK) {
        snprintf(d, sizeof d,
                 "attncheck paths generate --task digits --seed %lu --width %.17g: the 2-way 1-shot task "
                 "of spec attention_paths 4.2b on scikit-learn's digits at paths.digits' default size "
                 "(%d training sequences for the theory, %d test), attention frozen from the GD model "
                 "(test accuracy %.4f), T = %g",
                 g->seed, g->width, t->P, t->Pt, dt.gd_acc, su.gibbs_T);
        if (!(t->description = strdup(d)))
            st = ac_fail(msg, AC_ENOMEM, "digits task: out of memory");
    }
    if (st != AC_OK)
        ac_paths_task_clear(t);
    ac_paths_digits_task_clear(&dt);
    return st;
}
