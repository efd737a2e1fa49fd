/* libFuzzer target for the embeddings parser (verify/svm_io).
 *
 * Any bytes must give AC_OK or an error with a non-empty message.  On AC_OK
 * the matrix must be K x d with K, d >= 1 within the limits of svm_io.h
 * (K <= AC_SVM_IO_MAX_VOCAB, d <= AC_SVM_IO_MAX_WORDS) and finite entries, and
 * write (%.17g) -> parse must give the same doubles bit for bit. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/svm_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "fuzz_emb: invariant failed: %s (line %d)\n", #c,     \
                    __LINE__);                                                    \
            abort();                                                              \
        }                                                                         \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    double *E = (double *)&size; /* must be reset to NULL on error */
    int K = -1, d = -1;
    ac_msg m;
    m.text[0] = '\0';
    ac_status st = ac_svm_io_parse_emb((const char *)data, size, "fuzz.txt", &E, &K, &d, &m);
    if (st != AC_OK) {
        REQUIRE(E == NULL && K == 0 && d == 0);
        REQUIRE(m.text[0] != '\0' && memchr(m.text, '\0', sizeof m.text));
        REQUIRE(strncmp(m.text, "fuzz.txt", 8) == 0);
        return 0;
    }
    REQUIRE(K >= 1 && d >= 1 && K <= AC_SVM_IO_MAX_VOCAB && d <= AC_SVM_IO_MAX_WORDS);
    size_t n = (size_t)K * (size_t)d;
    for (size_t i = 0; i < n; i++)
        REQUIRE(isfinite(E[i]));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    REQUIRE(f);
    REQUIRE(ac_svm_io_write_emb(f, E, K, d) == AC_OK);
    REQUIRE(fclose(f) == 0);
    double *B = NULL;
    int K2 = 0, d2 = 0;
    REQUIRE(ac_svm_io_parse_emb(buf, len, "rewritten", &B, &K2, &d2, &m) == AC_OK);
    REQUIRE(K2 == K && d2 == d);
    REQUIRE(memcmp(B, E, n * sizeof *E) == 0);
    free(B);
    free(buf);
    free(E);
    return 0;
}
