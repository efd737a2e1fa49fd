/* Checking that a file read into memory is text (verify/text.h). */
#include "verify/text.h"

#include <string.h>

/* Length of the UTF-8 sequence that starts at b[i] (b has len bytes), or 0
 * when it is not a well-formed one (RFC 3629 table 3-7: no overlong forms,
 * no surrogates, nothing above U+10FFFF). */
size_t ac_utf8_seq(const unsigned char *b, size_t len, size_t i)
{
    unsigned c = b[i];
    unsigned lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF)
        n = 1;
    else if (c == 0xE0)
        n = 2, lo = 0xA0;
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
        n = 2;
    else if (c == 0xED)
        n = 2, hi = 0x9F;
    else if (c == 0xF0)
        n = 3, lo = 0x90;
    else if (c >= 0xF1 && c <= 0xF3)
        n = 3;
    else if (c == 0xF4)
        n = 3, hi = 0x8F;
    else
        return 0;
    if (len - i <= n)
        return 0;
    for (size_t k = 1; k <= n; k++) {
        unsigned cc = b[i + k];
        if (cc < (k == 1 ? lo : 0x80) || cc > (k == 1 ? hi : 0xBF))
            return 0;
    }
    return n + 1;
}

size_t ac_text_first_bad(const unsigned char *b, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned c = b[i];
        size_t n = 1;
        if (c >= 0x80)
            n = ac_utf8_seq(b, len, i);
        else if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7F)
            n = 0;
        if (n == 0)
            return i;
        i += n;
    }
    return len;
}

/* AC_OK when b[0..len) is text (ac_text_first_bad); else AC_EPARSE naming
 * the first bad byte, its line and its 1-based byte column. */
ac_status ac_text_check(const unsigned char *b, size_t len, const char *name, ac_msg *msg)
{
    size_t bad = ac_text_first_bad(b, len);
    if (bad == len)
        return AC_OK;
    long line = 1;
    size_t start = 0;
    for (size_t i = 0; i < bad; i++)
        if (b[i] == '\n')
            line++, start = i + 1;
    return ac_fail(msg, AC_EPARSE, "%s:%ld: not a text file (byte 0x%02x at column %zu)", name, line, b[bad],
                   bad - start + 1);
}

size_t ac_utf8_bom(const void *b, size_t len)
{
    return len >= AC_UTF8_BOM_LEN && memcmp(b, "\xef\xbb\xbf", AC_UTF8_BOM_LEN) == 0 ? AC_UTF8_BOM_LEN : 0;
}
