/* Two trained models beside the attention MLM of verify/moe_model.h (spec
 * cbow_moe §2.5 item 6, §4.4 item 2, §6):
 *
 *  - the CBOW-MoE model in the reparameterised coordinates (theory/moe.h's
 *    ac_moe_form, one layer, no residual): the word and position features
 *    of the gate scores w ((V+1) x d), p (L x d), the gate vectors
 *    gamma^h_i (H x L x d, free per slot), the additive experts a^h_v + b^h_j
 *    (H x (V+1) x dv, H x L x dv), the output embeddings rho^h (H x V x dv)
 *    and bias c (V):
 *      logit_v = c_v + sum_h rho^h_v · sum_{j in J} pi^h_ij (a^h_{t_j} + b^h_j),
 *      pi^h_ij = softmax_{j in J} gamma^h_i·(w_{t_j} + p_j),
 *    t_i = V (the mask), J = all slots (self = 1) or all but i;
 *  - plain CBOW (theory/moe.h's ac_moe_cbow): context embeddings alpha and
 *    output embeddings rho (V x dv), bias c (V),
 *      logit_v = c_v + rho_v · mean_{j != i} alpha_{x_j}.
 *
 * Both fit the loss of verify/moe_model.h, the mean over the n L masked
 * cells of -log p(x_i | x_-i), with their own forward and hand-written
 * backward passes (never theory/moe's ac_moe_form_logp or ac_moe_cbow_logp,
 * which the tests compare them with), and Keras's Adam under the settings
 * of verify/moe_model.h (ac_moe_train_settings: the same optimiser as the
 * attention trainer, so that the fits of moe.fit-equivalence differ only in
 * their coordinates).  Trainers have the shape of verify/train.h. */
#ifndef AC_MOE_CBOW_H
#define AC_MOE_CBOW_H

#include <gsl/gsl_rng.h>

#include "solvers/status.h"
#include "theory/moe.h"
#include "verify/moe_model.h"
#include "verify/train.h"

/* ---- CBOW-MoE in the form's coordinates --------------------------------- */

/* NULL when s describes a form this trainer fits (ac_moe_sizes_check, one
 * layer, no residual), else a sentence (static storage). */
const char *ac_moe_form_fit_sizes_check(const ac_moe_sizes *s);

/* The loss above at f (borrowed; slot_bias must be 0) on the n sentences X
 * (n x L words in 0..V-1) and, when grad is non-NULL, its gradient into
 * grad (a form of f's sizes; w, p, gamma, a, b, rho, c overwritten,
 * slot_bias zeroed).  AC_EINVAL (msg says which) for sizes the check
 * refuses, a nonzero slot bias or non-finite entry, n < 1, a word outside
 * 0..V-1 or grad of other sizes; AC_ENOMEM. */
ac_status ac_moe_form_fit_loss(const ac_moe_form *f, int n, const int *X, double *loss,
                               ac_moe_form *grad, ac_msg *msg);

typedef struct ac_moe_form_trainer ac_moe_form_trainer;

/* A workspace for sizes s (copied) and at most n sentences.  NULL when
 * ac_moe_form_fit_sizes_check fails, n < 1, or no memory.  _free(NULL) is a
 * no-op. */
ac_moe_form_trainer *ac_moe_form_trainer_alloc(const ac_moe_sizes *s, int n);
void ac_moe_form_trainer_free(ac_moe_form_trainer *tr);

/* Start a run on the n sentences X (borrowed until the next set or free,
 * not to be changed meanwhile) from start (a form of the trainer's sizes;
 * copied) under set (copied; verify/moe_model.h's settings and their
 * check), the batch order drawn from r (borrowed; NULL only when batch >=
 * n).  Adam's moments start at 0.  AC_EINVAL for bad settings (msg names
 * the setting), a word outside the vocabulary, start of other sizes, with
 * a slot bias or a non-finite entry, or a missing r; AC_ESIZE when n < 1
 * or exceeds the alloc's. */
ac_status ac_moe_form_trainer_set(ac_moe_form_trainer *tr, int n, const int *X,
                                  const ac_moe_form *start, const ac_moe_train_settings *set,
                                  gsl_rng *r, ac_msg *msg);

/* One step, with the endings and the Adam update of ac_moe_trainer_iterate
 * (verify/moe_model.h), word for word: info.loss is the loss on the step's
 * batch at the iterate before the update; diverged when it or ||g|| is not
 * finite, it exceeds diverge_factor max(1, loss0), or the update would
 * leave a non-finite entry (the last finite iterate stays); converged when
 * ||g|| <= grad_tol; step limit after settings.steps steps.  AC_OK always
 * (nothing changes once the run has ended). */
ac_status ac_moe_form_trainer_iterate(ac_moe_form_trainer *tr);
ac_train_outcome ac_moe_form_trainer_test(const ac_moe_form_trainer *tr);
/* Iterate until `steps` steps in all or an ending; the outcome then. */
ac_train_outcome ac_moe_form_trainer_run(ac_moe_form_trainer *tr, long steps);
/* The current form (owned by the trainer, valid until free; a copy of the
 * current iterate refreshed at each call) and the info. */
const ac_moe_form *ac_moe_form_trainer_form(const ac_moe_form_trainer *tr);
const ac_train_info *ac_moe_form_trainer_info(const ac_moe_form_trainer *tr);

/* Alloc, set, run, copy the final form into out (start's sizes), free.
 * Errors as _set, and AC_ENOMEM. */
ac_status ac_moe_form_train(int n, const int *X, const ac_moe_form *start,
                            const ac_moe_train_settings *set, gsl_rng *r, ac_moe_form *out,
                            ac_train_info *info, ac_msg *msg);

/* ---- Plain CBOW ------------------------------------------------------------ */

/* A CBOW model that owns its arrays; m's pointers point into them (c
 * always present). */
typedef struct {
    ac_moe_cbow m;
    double *alpha, *rho, *c;
} ac_moe_cbow_model;

/* A zeroed model for V >= 1 words of dv in 1..AC_MOE_MAX_DIM; NULL
 * otherwise or on no memory.  _free(NULL) is a no-op. */
ac_moe_cbow_model *ac_moe_cbow_model_alloc(int V, int dv);
void ac_moe_cbow_model_free(ac_moe_cbow_model *cm);

/* Keras-like initialisation (spec §3.3 (d)) from r, in the order alpha,
 * rho: alpha is an Embedding, U(-AC_MOE_MLM_EMBED_LIMIT, +); rho the Dense
 * kernel (dv, V), glorot U(±sqrt(6 / (dv + V))); c = 0. */
void ac_moe_cbow_init(ac_moe_cbow_model *cm, gsl_rng *r);

/* The loss above for CBOW at m (borrowed; c optional) on n sentences of
 * length L >= 2, and its gradient into grad when non-NULL (a model of m's
 * V and dv).  AC_EINVAL for bad sizes, a missing array, a non-finite
 * entry, n < 1, a word outside 0..V-1, or grad of other sizes. */
ac_status ac_moe_cbow_fit_loss(const ac_moe_cbow *m, int L, int n, const int *X, double *loss,
                               ac_moe_cbow_model *grad, ac_msg *msg);

typedef struct ac_moe_cbow_trainer ac_moe_cbow_trainer;

/* A workspace for V words, width dv, sentences of length L >= 2 and at
 * most n sentences; NULL on bad sizes or no memory. */
ac_moe_cbow_trainer *ac_moe_cbow_trainer_alloc(int V, int dv, int L, int n);
void ac_moe_cbow_trainer_free(ac_moe_cbow_trainer *tr);

/* As ac_moe_form_trainer_set, from a CBOW start of the trainer's V and dv
 * (copied; c optional, zero when NULL). */
ac_status ac_moe_cbow_trainer_set(ac_moe_cbow_trainer *tr, int n, const int *X,
                                  const ac_moe_cbow *start, const ac_moe_train_settings *set,
                                  gsl_rng *r, ac_msg *msg);
/* As the form trainer's. */
ac_status ac_moe_cbow_trainer_iterate(ac_moe_cbow_trainer *tr);
ac_train_outcome ac_moe_cbow_trainer_test(const ac_moe_cbow_trainer *tr);
ac_train_outcome ac_moe_cbow_trainer_run(ac_moe_cbow_trainer *tr, long steps);
const ac_moe_cbow *ac_moe_cbow_trainer_model(const ac_moe_cbow_trainer *tr);
const ac_train_info *ac_moe_cbow_trainer_info(const ac_moe_cbow_trainer *tr);

/* Alloc, set, run, copy the final weights into out (start's V, dv), free. */
ac_status ac_moe_cbow_train(int L, int n, const int *X, const ac_moe_cbow *start,
                            const ac_moe_train_settings *set, gsl_rng *r, ac_moe_cbow_model *out,
                            ac_train_info *info, ac_msg *msg);

#endif
