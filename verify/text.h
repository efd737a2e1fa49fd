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

/* AC_OK when b[0..len) is UTF-8 with no control character but tab, CR and
 * LF; else AC_EPARSE with msg "NAME:LINE: not a text file (byte 0xNN at
 * column C)" for the first bad byte (the lead byte of a broken sequence). */
ac_status ac_text_check(const unsigned char *b, size_t len, const char *name, ac_msg *msg);

#endif
