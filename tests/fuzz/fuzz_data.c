/* libFuzzer target for the dataset parser (verify/svm_io).
 *
 * Any bytes must give AC_OK or an error with a non-empty message, never a
 * crash, a leak or undefined behaviour.  On AC_OK the dataset must be well
 * formed (offsets increasing, every token and label below K, every label in
 * its sequence, lines increasing), within the limits of svm_io.h (K, tokens
 * per example, lines), and survive write -> parse unchanged.  The
 * input is parsed twice: with K from the data, and with a K taken from its
 * length (so "outside the vocabulary" paths run too). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/svm_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                \
    do {                                                                          \
        if (!(c)) {                                                               \
            fprintf(stderr, "fuzz_data: invariant failed: %s (line %d)\n", #c,    \
                    __LINE__);                                                    \
            abort();                                                              \
        }                                                                         \
    } while (0)

/* Returns the largest id. */
static int check_dataset(const ac_tpg_data *D, int K_or_0)
{
    REQUIRE(D->n >= 1 && D->K >= 1 && D->K <= AC_SVM_IO_MAX_VOCAB);
    REQUIRE(K_or_0 == 0 || D->K == K_or_0);
    REQUIRE(D->off[0] == 0 && D->line && D->source);
    int maxid = -1;
    for (int i = 0; i < D->n; i++) {
        REQUIRE(D->off[i] < D->off[i + 1] && D->off[i + 1] - D->off[i] <= AC_SVM_IO_MAX_WORDS);
        REQUIRE(D->line[i] >= 1 && D->line[i] <= AC_SVM_IO_MAX_LINES &&
                (i == 0 || D->line[i] > D->line[i - 1]));
        int found = 0;
        for (int t = D->off[i]; t < D->off[i + 1]; t++) {
            REQUIRE(D->tok[t] >= 0 && D->tok[t] < D->K);
            found |= D->tok[t] == D->label[i];
            maxid = D->tok[t] > maxid ? D->tok[t] : maxid;
        }
        REQUIRE(found);
    }
    REQUIRE(K_or_0 != 0 || D->K == maxid + 1);
    return maxid;
}

static void round_trip(const ac_tpg_data *D)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    REQUIRE(f);
    REQUIRE(ac_svm_io_write_data(f, D) == AC_OK);
    REQUIRE(fclose(f) == 0);
    ac_tpg_data *B = NULL;
    ac_msg m;
    REQUIRE(ac_svm_io_parse_data(buf, len, "rewritten", D->K, &B, &m) == AC_OK);
    REQUIRE(B->n == D->n && B->K == D->K);
    REQUIRE(memcmp(B->off, D->off, ((size_t)D->n + 1) * sizeof(int)) == 0);
    REQUIRE(memcmp(B->tok, D->tok, (size_t)D->off[D->n] * sizeof(int)) == 0);
    REQUIRE(memcmp(B->label, D->label, (size_t)D->n * sizeof(int)) == 0);
    ac_tpg_data_free(B);
    free(buf);
}

static void one(const uint8_t *data, size_t size, int K_or_0)
{
    ac_tpg_data *D = (ac_tpg_data *)&D; /* must be reset to NULL on error */
    ac_msg m;
    m.text[0] = '\0';
    ac_status st = ac_svm_io_parse_data((const char *)data, size, "fuzz.txt", K_or_0, &D, &m);
    if (st != AC_OK) {
        REQUIRE(D == NULL);
        REQUIRE(m.text[0] != '\0' && memchr(m.text, '\0', sizeof m.text));
        REQUIRE(strncmp(m.text, "fuzz.txt", 8) == 0);
        return;
    }
    int maxid = check_dataset(D, K_or_0);
    round_trip(D);
    REQUIRE(ac_svm_io_check_emb_for_data("emb", maxid + 1, D, &m) == AC_OK);
    REQUIRE(ac_svm_io_check_emb_for_data("emb", maxid, D, &m) == AC_ESIZE);
    ac_tpg_data_free(D);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, 0);
    one(data, size, 1 + (int)(size % 13));
    return 0;
}
