/* The real-image task of the attention-paths module (verify/paths_digits.h)
 * as a task file (verify/paths_io.h), for `attncheck paths generate --task
 * digits`: the first Pth training sequences and every test sequence, their
 * labels, and the trained network's frozen attention as explicit matrices
 * ("kind": "matrices"), mean readout, so that solving the file gives the
 * theory the claim computes from the same task. */
#ifndef AC_PATHS_EXPORT_H
#define AC_PATHS_EXPORT_H
#include "verify/paths_digits.h"
#include "verify/paths_io.h"

/* Fill t (initialised here) from the digits task dt (borrowed; copied) at
 * every width N and temperature T (ac_paths_net_theory_settings).  Its path
 * tensors (ac_paths_task_phi) are dt->Phi and dt->Phi_t bit for bit.
 * AC_EINVAL (N or T not finite and > 0), AC_ENOMEM. */
ac_status ac_paths_task_from_digits(const ac_paths_digits_task *dt, double N, double T,
                                    ac_paths_task *t, ac_msg *msg);

/* A builder (ac_paths_task_builder) for the digits task of the claim
 * paths.digits at its default size (ac_paths_digits_setup_of): the digits
 * from python3-sklearn's file, sequences and the trained model drawn from
 * seed g->seed (seed S + i is trial i of a run with base seed S), width
 * g->width, T the temperature the claim samples at.  g->train and g->test
 * must be 0 (the claim's sizes).  Errors as ac_paths_digits_task_init. */
ac_status ac_paths_task_digits(const ac_paths_task_gen *g, ac_paths_task *t, ac_msg *msg);

#endif
