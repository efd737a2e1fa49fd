/* Dense arrays of doubles and bounded integers in JSON files, through
 * jansson: the pieces every paper's user-data format needs.
 *
 * An array of rank r and shape n_0 x ... x n_{r-1} is written as nested JSON
 * arrays, outermost index first (row-major, as the C arrays are): a 2 x 3
 * matrix is [[a, b, c], [d, e, f]].  Reals are written with 17 significant
 * digits and read back bit for bit; an integer in the file is read as the
 * double it names.
 *
 * jansson keeps no positions of values, so a value that is well-formed JSON
 * but wrong for its key is reported by its file and key path, e.g.
 * "model.json: Wq[0][2]: 5 entries, expected 6 (d)".  Syntax errors are
 * reported at jansson's line and column (ac_json_load).  Nothing here prints
 * or exits. */
#ifndef AC_JSON_ARRAY_H
#define AC_JSON_ARRAY_H
#include <stdio.h>
#include <jansson.h>
#include "solvers/status.h"

/* Largest rank ac_json_get_doubles reads. */
#define AC_JSON_MAX_RANK 4

/* x as a JSON real, or null when it is NaN or infinite (JSON has neither;
 * json_real returns NULL for them, and a value set or packed from that NULL
 * drops its key or its whole row without a word).  The one form the user
 * commands' outputs give a non-finite number.  NULL only on no memory. */
json_t *ac_json_real_or_null(double x);

/* Parse the stream f (opened by the caller, read to where the value ends)
 * as it is read: jansson's parser takes the text in chunks, so memory
 * follows what was parsed and a stream that is not JSON (the NUL bytes of
 * /dev/zero) stops at its first byte.  A UTF-8 byte-order mark at the start
 * (editors on some systems write one) is skipped.  Returns the root (a new
 * reference) or NULL with err filled by jansson; *read_errno is the errno
 * of a failed read (then the root is NULL or to be dropped), EILSEQ for a
 * NUL byte in the text (which jansson would take for its end), else 0. */
json_t *ac_json_read_stream(FILE *f, json_error_t *err, int *read_errno);
/* What a *read_errno of the readers above means, for a message after
 * "PATH: ": "a NUL byte: not a JSON text file" or "read error: REASON".
 * A buffer of the calling thread: use it before that thread's next call. */
const char *ac_json_read_error(int read_errno);
/* The same, stopping with *read_errno = EFBIG (root NULL) once the text
 * read holds more than max_values JSON values, counted from above by their
 * separators ('[', '{', ',', ':', strings' contents included): jansson
 * holds each value as a node of 24 to 100 bytes, so a file of a few bytes a
 * number ("[[1]],") takes 20 to 60 times its size in memory. */
json_t *ac_json_read_stream_max(FILE *f, size_t max_values, json_error_t *err, int *read_errno);

/* Parse the file at path (ac_json_read_stream) into *root (a new reference
 * the caller releases with json_decref).  AC_EIO when the file cannot be
 * read ("FILE: read error: reason"), AC_EPARSE for malformed JSON
 * ("FILE:LINE:COLUMN: what jansson says") or a top level that is not an
 * object. */
ac_status ac_json_load(const char *path, json_t **root, ac_msg *msg);

/* Read obj[key] as an array of rank `rank` (1..AC_JSON_MAX_RANK) and shape
 * dims (every entry >= 1) into out (dims[0] x ... x dims[rank-1] doubles,
 * row-major).  names (may be NULL) gives each dimension a name for the
 * messages ("V + 1", "d").  A key that is absent or null: with present ==
 * NULL it is an error (AC_EPARSE, "FILE: missing key 'KEY'"); otherwise
 * *present = 0 and out is untouched.  A nested array of another length, an
 * entry that is not a number, or a NaN or infinite one is AC_EPARSE naming
 * the key path.  file is used only in messages. */
ac_status ac_json_get_doubles(const json_t *obj, const char *key, int rank, const int *dims,
                              const char *const *names, double *out, int *present,
                              const char *file, ac_msg *msg);

/* Read obj[key] as an integer in [lo, hi] into *out.  Absent: an error
 * when present is NULL, else *present = 0.  AC_EPARSE names the key, the
 * value and the bounds. */
ac_status ac_json_get_int(const json_t *obj, const char *key, long lo, long hi, long *out,
                          int *present, const char *file, ac_msg *msg);

/* A new JSON value holding a (rank 1..AC_JSON_MAX_RANK, shape dims) as
 * nested arrays; NULL on no memory or a bad rank. */
json_t *ac_json_doubles(int rank, const int *dims, const double *a);

/* Set obj[key] to value, taking the reference (also on failure); AC_ENOMEM
 * when value is NULL or jansson cannot store it. */
ac_status ac_json_set_new(json_t *obj, const char *key, json_t *value);

/* Write root to f with 17-digit reals and a final newline: an object one
 * key per line, each value compact (so a matrix is one line).  AC_EIO on a
 * write error. */
ac_status ac_json_dump(FILE *f, const json_t *root, ac_msg *msg);

#endif
