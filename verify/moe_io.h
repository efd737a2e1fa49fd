/* The CBOW-MoE module's user files: an attention model (JSON, read and
 * written) and its CBOW-with-MoE-weights form (JSON, written).  Formats in
 * docs/moe.md; arrays are nested JSON arrays, row-major (verify/json_array.h).
 *
 * The attention model file (every key of theory/moe.h's ac_moe_attention):
 *   "format": "attncheck-moe-attention-1"   (optional; another value is refused)
 *   "sizes": {"V", "L", "d", "dk", "dv", "H", "layers", "self", "residual",
 *             "dout" (optional: H dv when absent)}
 *   "E" (V+1) x d, "Wq" H x dk x d, "Wk" H x dk x d, "Wv" H x dv x d, "U" V x dout;
 *   optional: "P" L x d, "bq" H x dk, "bk" H x dk, "bv" H x dv, "Wo" dout x (H dv),
 *             "bo" dout, "c" V;
 *   two layers: "Wq2" dk x dv, "Wk2" dk x dv, "Wv2" dv x dv.
 * Any other key is refused (a misspelt optional array would otherwise be
 * silently zero). */
#ifndef AC_MOE_IO_H
#define AC_MOE_IO_H
#include <stdio.h>
#include "theory/moe.h"

#define AC_MOE_MODEL_FORMAT "attncheck-moe-attention-1"
#define AC_MOE_FORM_FORMAT "attncheck-moe-form-1"

/* Read the model file at path into a new model (*out; the caller frees it
 * with ac_moe_model_free).  AC_EIO (cannot read), AC_EPARSE (malformed JSON
 * at FILE:LINE:COLUMN, a missing or unknown key, a size out of range, an
 * array of the wrong shape, a non-finite entry: msg names the file and the
 * key path), AC_ENOMEM, AC_EINVAL (a NULL path or out; *out, when out is
 * not NULL, is NULL on every error). */
ac_status ac_moe_model_read(const char *path, ac_moe_model **out, ac_msg *msg);

/* Write mm in the model format (an ac_atomic_fill: ctx is the model).
 * AC_EINVAL for a NULL f or ctx. */
ac_status ac_moe_model_write(FILE *f, void *ctx, ac_msg *msg);

/* Write the form f in the form format: "format", "sizes", "w", "p",
 * "gamma" H x L x d, "a" H x (V+1) x dv, "b" H x L x dv, "rho" H x V x dv,
 * "c" V, "slot_bias" L x V, and for two layers "G1" d x d, "G2" dv x dv
 * (an ac_atomic_fill: ctx is the form).  AC_EINVAL for a NULL f or ctx. */
ac_status ac_moe_form_write(FILE *f, void *ctx, ac_msg *msg);

#endif
