/* Whether a file read into memory is text: the one check every user-file
 * reader (svm, joma) applies before parsing, so that a binary or
 * mis-encoded file is refused at its line and column. */
#ifndef AC_TEXT_H
#define AC_TEXT_H
#include <stddef.h>
#include "solvers/status.h"

/* Length of the well-formed UTF-8 sequence that starts at b[i] (b has len
 * bytes; RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF), or 0 when there is none. */
size_t ac_utf8_seq(const unsigned char *b, size_t len, size_t i);

/* The index of the first byte of b[0..len) that is not text: not UTF-8 (the
 * lead byte of a broken sequence) or a control character other than tab, CR
 * and LF; len when there is none. */
size_t ac_text_first_bad(const unsigned char *b, size_t len);

/* AC_OK when b[0..len) is UTF-8 with no control character but tab, CR and
 * LF; else AC_EPARSE with msg "NAME:LINE: not a text file (byte 0xNN at
 * column C)" for the first bad byte (the lead byte of a broken sequence). */
ac_status ac_text_check(const unsigned char *b, size_t len, const char *name, ac_msg *msg);

/* The UTF-8 byte-order mark (EF BB BF), which some editors and spreadsheets
 * write at the start of a text file and which is no character of its
 * content: every reader of a user's file skips it there. */
#define AC_UTF8_BOM_LEN 3
/* AC_UTF8_BOM_LEN when b[0..len) starts with the mark, else 0. */
size_t ac_utf8_bom(const void *b, size_t len);

#endif
