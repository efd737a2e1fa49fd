/* What `attncheck svm` writes: a Graph-SVM solution as text or JSON, and a
 * generated instance as its two files (spec tpg_svm §7).  Library code: the
 * CLI chooses the stream and reports the status; tests read the JSON back
 * with jansson.  Every writer borrows its inputs and keeps no pointer. */
#ifndef AC_SVM_EXPORT_H
#define AC_SVM_EXPORT_H

#include <jansson.h>
#include <stdio.h>

#include "theory/tpg_solve.h"

/* A constraint is reported as active when its multiplier exceeds this share
 * of the largest one: the QP's complementarity residual is at most 1e-12
 * (solvers/qp.h), so a constraint with a smaller multiplier is at most weakly
 * active. */
#define AC_SVM_EXPORT_ACTIVE_FRACTION 1e-9

/* 1 when constraint c of s is active (see above). */
int ac_svm_export_is_active(const ac_tpg_solution *s, int c);

/* The solution as one JSON object (new reference; NULL when out of memory):
 * the keys the README lists (status, K, d, n, equalities, inequalities, W_svm,
 * norm_W_svm, active, infeasible_constraints, residuals, qp_sweeps,
 * svm_seconds, sfin_dim, W_fin, W_fin_grad_norm, newton, fin_seconds).  n is
 * the number of examples the solution was computed from.  Matrices are d
 * arrays of d numbers (rows). */
json_t *ac_svm_export_solution_json(const ac_tpg_solution *s, int n);

/* Write root to f with 17 significant digits and a final newline (jansson
 * writes numbers in the C locale).  AC_EIO when the stream fails. */
ac_status ac_svm_export_json_write(FILE *f, const json_t *root);

/* The solution as text: status, constraint counts, then either the
 * infeasible constraints with their Farkas weights, or ||W_svm||, the KKT
 * residuals, the active constraints, W_svm, dim S_fin, W_fin and the Newton
 * outcome.  AC_EIO when the stream fails. */
ac_status ac_svm_export_solution_text(FILE *f, const ac_tpg_solution *s);

/* A generated instance file: "# header" then the dataset (ac_svm_io_write_data)
 * or the K x d embeddings (ac_svm_io_write_emb), readable back by svm_io.
 * header must hold no newline (AC_EINVAL).  AC_EIO when the stream fails. */
ac_status ac_svm_export_data(FILE *f, const char *header, const ac_tpg_data *D);
ac_status ac_svm_export_emb(FILE *f, const char *header, const double *E, int K, int d);

#endif
