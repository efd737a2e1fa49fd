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
 * ignored, a line may end in LF or CRLF (or in nothing, at the end of the
 * input), and a leading UTF-8 byte-order mark is skipped.  A file with a NUL
 * byte, a control character other than tab/CR/LF, a CR that does not end a
 * line, or bytes that are not UTF-8 (RFC 3629: no overlong forms, no
 * surrogates U+D800..U+DFFF, nothing above U+10FFFF, no truncated sequence)
 * is rejected as not text.
 *
 * Limits (the AC_SVM_IO_MAX_ constants below).  Memory and time follow the
 * size of the file, never the values in it: a line is at most
 * AC_SVM_IO_MAX_LINE bytes and a file at most AC_SVM_IO_MAX_LINES lines
 * (reading stops at the first line past either, so /dev/zero is refused after
 * one megabyte); an example has at most AC_SVM_IO_MAX_WORDS tokens and an
 * embedding at most AC_SVM_IO_MAX_WORDS numbers (d); a vocabulary has at most
 * AC_SVM_IO_MAX_VOCAB tokens (K, the rows of an embeddings file), and every
 * token id and label is below K: below the embeddings' K when the caller
 * gives it, below AC_SVM_IO_MAX_VOCAB when K is read off the data.  An id is
 * refused at its line as soon as it is read, before anything is allocated
 * for it.  Whatever the writers below write, the readers read back.  Beyond
 * these, a dataset holds at most INT_MAX tokens in all and embeddings at
 * most INT_MAX numbers (int indices; files over 4 GB).
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

/* Bytes in one line, its end (LF or CRLF) and a leading byte-order mark not
 * counted: 1 MiB.  It holds the longest line the writers write, a row of
 * AC_SVM_IO_MAX_WORDS numbers in %.17g (at most 24 bytes and a space each:
 * 800 KiB), and bounds what one read of a line-less stream costs. */
#define AC_SVM_IO_MAX_LINE (1 << 20)

/* Lines in one file, blank and comment lines included: 2^22, about 4.2
 * million examples (far more than a Graph-SVM, a QP with one constraint per
 * token of each example, can solve) or four times the most rows an
 * embeddings file may have. */
#define AC_SVM_IO_MAX_LINES (1 << 22)

/* Tokens in one example's sequence, and numbers in one embedding (d):
 * 32768, a long context and a wide embedding (the solvers take d x d
 * matrices: 8 GiB at this d). */
#define AC_SVM_IO_MAX_WORDS (1 << 15)

/* Tokens in a vocabulary (K, the rows of an embeddings file): 2^20, above
 * every tokenizer's vocabulary.  Token ids and labels are 0 .. K-1.  Read
 * without embeddings, a one-line dataset may name id 2^20 - 1 and make
 * K = 2^20: what is allocated for K then stays in megabytes. */
#define AC_SVM_IO_MAX_VOCAB (1 << 20)

/* Error messages quote at most this many bytes of an offending word, then
 * "..." (a word can be a whole megabyte of digits). */
#define AC_SVM_IO_QUOTE_MAX 40

/* Parse a dataset from buf[0..len) (need not be NUL-terminated; may contain
 * any bytes).  name is the file name used in messages and copied into
 * (*out)->source (NULL reads as "<input>").
 *
 * K_or_0 is the vocabulary size: when 0, K = 1 + the largest token id seen,
 * and ids must be below AC_SVM_IO_MAX_VOCAB; when positive (at most
 * AC_SVM_IO_MAX_VOCAB), every token and label must be below it (the
 * embeddings' row count): "NAME:LINE: token 9 is outside the vocabulary of
 * K = 8 tokens (ids 0 to 7)", at the first line that holds such an id.
 * Besides the syntax and the limits, the dataset must pass
 * ac_tpg_data_check(D, 1, msg): every label occurs in its sequence
 * (assumption A2), every id is below K; its message is returned as is.
 *
 * On AC_OK *out is a new dataset (free with ac_tpg_data_free) with line[i] the
 * 1-based line of example i and source a copy of name.  Errors: AC_EPARSE
 * (msg "NAME:LINE: reason", or "NAME: no examples"; a limit passed included),
 * AC_EINVAL (K_or_0 < 0 or above AC_SVM_IO_MAX_VOCAB, a NULL pointer), AC_ESIZE
 * (more than INT_MAX tokens in all), AC_ENOMEM. */
ac_status ac_svm_io_parse_data(const char *buf, size_t len, const char *name, int K_or_0,
                               ac_tpg_data **out, ac_msg *msg);

/* Read the file path and parse it as ac_svm_io_parse_data does, with path as
 * the name.  Reading stops with AC_EPARSE at the first line longer than
 * AC_SVM_IO_MAX_LINE or past AC_SVM_IO_MAX_LINES (the same message the parser
 * gives), so a stream without end costs at most a line.  AC_EIO (msg "PATH:
 * system error") when it cannot be opened or read (a directory included). */
ac_status ac_svm_io_read_data(const char *path, int K_or_0, ac_tpg_data **out, ac_msg *msg);

/* Parse embeddings from buf[0..len) (need not be NUL-terminated).  On AC_OK
 * *E is a new K x d row-major array (free with free()), *K >= 1 rows and
 * *d >= 1 columns, every entry finite.  Errors: AC_EPARSE for a row whose
 * length differs from the first ("NAME:LINE: 7 numbers, but the first row
 * (line 2) has 8"), an entry that is not a decimal number or not finite (NaN,
 * Inf, beyond +-DBL_MAX after rounding), no rows, not text, or a limit passed
 * (more than AC_SVM_IO_MAX_WORDS numbers in a row, more than
 * AC_SVM_IO_MAX_VOCAB rows); AC_ESIZE when K * d does not fit an int;
 * AC_EINVAL, AC_ENOMEM.  Entries are converted with correct rounding (glibc
 * strtod), so %.17g text reads back bit for bit; a number below the smallest
 * subnormal in magnitude reads as a zero of its sign. */
ac_status ac_svm_io_parse_emb(const char *buf, size_t len, const char *name, double **E, int *K,
                              int *d, ac_msg *msg);

/* Read the file path and parse it as ac_svm_io_parse_emb does, stopping at
 * the first line past a limit as ac_svm_io_read_data does.  AC_EIO when it
 * cannot be opened or read. */
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
 * and label.  Returns AC_OK, AC_EINVAL (NULL f or D, a malformed D: an empty
 * sequence, an id outside 0 .. K-1), AC_ESIZE (what the reader would refuse:
 * K above AC_SVM_IO_MAX_VOCAB, a sequence longer than AC_SVM_IO_MAX_WORDS,
 * more than AC_SVM_IO_MAX_LINES examples; nothing is written then), or AC_EIO
 * when a write fails (the stream's error flag is set; f is not flushed or
 * closed: that stays with the caller, e.g. ac_atomic_commit). */
ac_status ac_svm_io_write_data(FILE *f, const ac_tpg_data *D);

/* Write E (K x d, row-major) in the embeddings format, each entry with %.17g
 * in the C locale whatever the process locale, so that reading it back gives
 * the same doubles bit for bit (-0.0 included).  K = 0 writes nothing.
 * Returns AC_OK, AC_EINVAL (NULL f, E NULL with K > 0, K negative, d < 1
 * with K > 0, a non-finite entry: the reader would reject it; nothing is
 * written then), AC_ESIZE (K above AC_SVM_IO_MAX_VOCAB or d above
 * AC_SVM_IO_MAX_WORDS: the reader would refuse them; nothing is written),
 * AC_ENOMEM (no C locale object), or AC_EIO when a write fails. */
ac_status ac_svm_io_write_emb(FILE *f, const double *E, int K, int d);

#endif
