/* The two file formats of the Graph-SVM commands: datasets and embeddings.
 *
 * Dataset: one example per line, the token ids of the input sequence
 * (non-negative decimal integers separated by spaces or tabs), then `|`, then
 * the next-token label:
 *
 *     # K = 6
 *     3 0 5 2 | 5
 *     1 4     | 4    # a comment may follow the data
 *
 * Embeddings: K lines of d numbers (decimal floating point, read as strtod
 * does in the C locale whatever the process locale); line k is the embedding
 * e_k of token k, the row k of E (K x d, row-major).
 *
 * In both, blank lines and comments (from `#` to the end of the line) are
 * ignored, a line may end in LF or CRLF, a leading UTF-8 byte-order mark is
 * skipped, and lines may have any length.  A file with a NUL byte, a control
 * character other than tab/CR/LF, or bytes that are not UTF-8 is rejected as
 * not text.
 *
 * Every parse error returns AC_EPARSE with msg "NAME:LINE: reason" (or
 * "NAME: reason" when no line is to blame); an unreadable file returns AC_EIO
 * with msg "PATH: system error".  On error the outputs are NULL / 0.  None of
 * these functions prints, exits or changes the process locale. */
#ifndef AC_SVM_IO_H
#define AC_SVM_IO_H

#include <stddef.h>
#include <stdio.h>

#include "solvers/status.h"
#include "theory/tpg.h"

/* The largest token id a dataset may hold: K = 1 + the largest id must fit an
 * int. */
#define AC_SVM_IO_MAX_TOKEN (2147483647 - 1)

/* Error messages quote at most this many bytes of an offending word, then
 * "..." (a word can be a whole megabyte of digits). */
#define AC_SVM_IO_QUOTE_MAX 40

/* Parse a dataset from buf[0..len) (need not be NUL-terminated; may contain
 * any bytes).  name is the file name used in messages and copied into
 * (*out)->source (NULL reads as "<input>").
 *
 * K_or_0 is the vocabulary size: when 0, K = 1 + the largest token id seen;
 * when positive, every token and label must be below it (the embeddings' row
 * count).  Besides the syntax, the dataset must pass
 * ac_tpg_data_check(D, 1, msg): every label occurs in its sequence
 * (assumption A2), every id is below K; its message is returned as is.
 *
 * On AC_OK *out is a new dataset (free with ac_tpg_data_free) with line[i] the
 * 1-based line of example i and source a copy of name.  Errors: AC_EPARSE
 * (msg "NAME:LINE: reason", or "NAME: no examples"), AC_EINVAL (K_or_0 < 0 or
 * a NULL pointer), AC_ESIZE (more than INT_MAX examples or tokens), AC_ENOMEM. */
ac_status ac_svm_io_parse_data(const char *buf, size_t len, const char *name, int K_or_0,
                               ac_tpg_data **out, ac_msg *msg);

/* Read the whole file path and parse it as ac_svm_io_parse_data does, with
 * path as the name.  AC_EIO (msg "PATH: system error") when it cannot be
 * opened or read (a directory included). */
ac_status ac_svm_io_read_data(const char *path, int K_or_0, ac_tpg_data **out, ac_msg *msg);

/* Parse embeddings from buf[0..len) (need not be NUL-terminated).  On AC_OK
 * *E is a new K x d row-major array (free with free()), *K >= 1 rows and
 * *d >= 1 columns, every entry finite.  Errors: AC_EPARSE for a row whose
 * length differs from the first ("NAME:LINE: 7 numbers, but the first row
 * (line 2) has 8"), an entry that is not a decimal number or not finite (NaN,
 * Inf, out of the range of double), no rows, or not text; AC_ESIZE when
 * K * d does not fit an int; AC_EINVAL, AC_ENOMEM.  Entries are converted
 * with correct rounding (glibc strtod), so %.17g text reads back bit for bit. */
ac_status ac_svm_io_parse_emb(const char *buf, size_t len, const char *name, double **E, int *K,
                              int *d, ac_msg *msg);

/* Read the whole file path and parse it as ac_svm_io_parse_emb does.  AC_EIO
 * when it cannot be opened or read. */
ac_status ac_svm_io_read_emb(const char *path, double **E, int *K, int *d, ac_msg *msg);

/* Check that embeddings with K_emb rows cover every token and label of D.
 * AC_OK when they do (extra rows are fine).  Otherwise AC_ESIZE with msg
 * naming the first line of D that holds the largest id and the embeddings
 * file: "data.txt:4: token 9 has no embedding: emb.txt has 8 rows" (or
 * "example I:", I the 0-based index, where ac_tpg_data_check would say so:
 * no source, no lines, or line 0).  emb_path is used in the message only;
 * NULL reads as "the embeddings".  AC_EINVAL on a NULL D or K_emb < 0. */
ac_status ac_svm_io_check_emb_for_data(const char *emb_path, int K_emb, const ac_tpg_data *D,
                                       ac_msg *msg);

/* Write D in the dataset format, one line "t1 t2 ... | y" per example, no
 * comments.  Reading it back with K_or_0 = D->K gives the same n, K, off, tok
 * and label.  Returns AC_OK, AC_EINVAL (NULL f or D, a malformed D), or AC_EIO
 * when a write fails (the stream's error flag is set; f is not flushed or
 * closed: that stays with the caller, e.g. ac_atomic_commit). */
ac_status ac_svm_io_write_data(FILE *f, const ac_tpg_data *D);

/* Write E (K x d, row-major) in the embeddings format, each entry with %.17g
 * in the C locale whatever the process locale, so that reading it back gives
 * the same doubles bit for bit (-0.0 included).  K = 0 writes nothing.
 * Returns AC_OK, AC_EINVAL (NULL f, E NULL with K > 0, K negative, d < 1
 * with K > 0, a non-finite entry: the reader would reject it; nothing is
 * written then), AC_ENOMEM (no C locale object), or AC_EIO when a write
 * fails. */
ac_status ac_svm_io_write_emb(FILE *f, const double *E, int K, int d);

#endif
