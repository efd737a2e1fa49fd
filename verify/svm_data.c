#include "verify/svm_data.h"

#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <math.h>

#include "verify/svm_io.h"

static const char *const mode_names[] = {"any", "acyclic", "cyclic"};

long ac_svm_gen_tries(int n, int T)
{
    double per = (double)(n > 0 ? n : 1) * (T > 0 ? T : 1), fit = floor((double)AC_SVM_GEN_MAX_DRAWN / per);
    return fit < 1.0 ? 1 : fit < (double)AC_SVM_GEN_MAX_TRIES ? (long)fit : AC_SVM_GEN_MAX_TRIES;
}

const char *ac_svm_gen_mode_str(ac_svm_gen_mode m)
{
    return (unsigned)m < 3 ? mode_names[m] : "?";
}

int ac_svm_gen_mode_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(s, mode_names[i]) == 0)
            return i;
    return -1;
}

ac_status ac_svm_gen_check(const ac_svm_gen_settings *s, ac_msg *msg)
{
    if (!s)
        return ac_fail(msg, AC_EINVAL, "no generator settings");
    if (s->n < 1 || s->T < 1 || s->K < 1 || s->d < 1)
        return ac_fail(msg, AC_ESIZE, "sizes must be at least 1: n = %d, T = %d, K = %d, d = %d",
                       s->n, s->T, s->K, s->d);
    /* what the files of svm_io can hold, since generate writes them */
    if (s->n > AC_SVM_IO_MAX_LINES)
        return ac_fail(msg, AC_ESIZE, "n = %d examples is more than a data file holds (%d lines)",
                       s->n, AC_SVM_IO_MAX_LINES);
    if (s->T > AC_SVM_IO_MAX_WORDS)
        return ac_fail(msg, AC_ESIZE, "T = %d is more than a data line holds (%d tokens)", s->T,
                       AC_SVM_IO_MAX_WORDS);
    if (s->K > AC_SVM_IO_MAX_VOCAB)
        return ac_fail(msg, AC_ESIZE, "K = %d is more than a vocabulary holds (%d tokens)", s->K,
                       AC_SVM_IO_MAX_VOCAB);
    if (s->d > AC_SVM_IO_MAX_WORDS)
        return ac_fail(msg, AC_ESIZE, "d = %d is more than an embeddings line holds (%d numbers)",
                       s->d, AC_SVM_IO_MAX_WORDS);
    long long nT = (long long)s->n * s->T, Kd = (long long)s->K * s->d;
    if (nT > AC_SVM_GEN_MAX_ENTRIES)
        return ac_fail(msg, AC_ESIZE, "n*T = %lld tokens is more than %ld", nT,
                       AC_SVM_GEN_MAX_ENTRIES);
    if (Kd > AC_SVM_GEN_MAX_ENTRIES)
        return ac_fail(msg, AC_ESIZE, "K*d = %lld embedding entries is more than %ld", Kd,
                       AC_SVM_GEN_MAX_ENTRIES);
    /* T >= 2 distinct first tokens need K >= 2 as well */
    if (s->mode == AC_SVM_GEN_CYCLIC && (s->T < 2 || s->K < 2))
        return ac_fail(msg, AC_ESIZE,
                       "cyclic data need T >= 2 and K >= 2 (a cycle needs two tokens in a "
                       "sequence), got T = %d, K = %d",
                       s->T, s->K);
    if ((unsigned)s->mode > AC_SVM_GEN_CYCLIC)
        return ac_fail(msg, AC_EINVAL, "mode %d is not any, acyclic or cyclic", (int)s->mode);
    if (s->max_tries < 1)
        return ac_fail(msg, AC_EINVAL, "max_tries must be at least 1, got %ld", s->max_tries);
    return AC_OK;
}

static void draw_embeddings(gsl_rng *r, int K, int d, double *E)
{
    for (int i = 0; i < K; i++) {
        double ss = 0.0;
        for (int j = 0; j < d; j++) {
            double v = gsl_ran_gaussian(r, 1.0);
            E[(size_t)i * d + j] = v;
            ss += v * v;
        }
        double nrm = sqrt(ss);
        for (int j = 0; j < d; j++)
            E[(size_t)i * d + j] /= nrm;
    }
}

void ac_svm_draw_sequence(gsl_rng *r, int T, int K, int *tok)
{
    /* A partial Fisher-Yates shuffle of 0..K-1 gives the first min(T, K)
     * positions as distinct uniform draws without replacement. */
    int *perm = malloc(sizeof(int) * (size_t)K);
    int head = T < K ? T : K;
    if (!perm) { /* no memory: uniform draws keep the call total */
        for (int t = 0; t < T; t++)
            tok[t] = (int)gsl_rng_uniform_int(r, (unsigned long)K);
        return;
    }
    for (int j = 0; j < K; j++)
        perm[j] = j;
    for (int t = 0; t < head; t++) {
        int j = t + (int)gsl_rng_uniform_int(r, (unsigned long)(K - t));
        int tmp = perm[t];
        perm[t] = perm[j];
        perm[j] = tmp;
        tok[t] = perm[t];
    }
    for (int t = head; t < T; t++)
        tok[t] = (int)gsl_rng_uniform_int(r, (unsigned long)K);
    free(perm);
}

/* Labels uniform on [K]; a label absent from its sequence is replaced by the
 * token at a uniform position (spec §5, check_label). */
static void draw_dataset(gsl_rng *r, const ac_svm_gen_settings *s, ac_tpg_data *D)
{
    for (int i = 0; i < s->n; i++) {
        int *tok = D->tok + (size_t)i * s->T;
        D->off[i + 1] = (i + 1) * s->T;
        ac_svm_draw_sequence(r, s->T, s->K, tok);
        int y = (int)gsl_rng_uniform_int(r, (unsigned long)s->K);
        int present = 0;
        for (int t = 0; t < s->T; t++)
            present |= tok[t] == y;
        if (!present)
            y = tok[gsl_rng_uniform_int(r, (unsigned long)s->T)];
        D->label[i] = y;
    }
}

/* 1 when D has the structure the mode asks for. */
static ac_status accept(const ac_tpg_data *D, ac_svm_gen_mode mode, int *ok, ac_msg *msg)
{
    *ok = 1;
    if (mode == AC_SVM_GEN_ANY)
        return AC_OK;
    ac_tpg *G = NULL;
    ac_status st = ac_tpg_build(D, &G, msg);
    if (st != AC_OK)
        return st;
    int acyclic = ac_tpg_is_acyclic(G);
    ac_tpg_free(G);
    *ok = mode == AC_SVM_GEN_ACYCLIC ? acyclic : !acyclic;
    return AC_OK;
}

ac_status ac_svm_generate(gsl_rng *r, const ac_svm_gen_settings *s, ac_tpg_data **Dout, double **Eout,
                          long *tries, ac_msg *msg)
{
    *Dout = NULL;
    *Eout = NULL;
    if (tries)
        *tries = 0;
    /* the check comes first: a refused setting draws nothing */
    ac_status st = ac_svm_gen_check(s, msg);
    if (st != AC_OK)
        return st;
    double *E = malloc(sizeof(double) * (size_t)s->K * (size_t)s->d);
    ac_tpg_data *D = ac_tpg_data_alloc(s->n, s->n * s->T, s->K);
    if (!E || !D) {
        free(E);
        ac_tpg_data_free(D);
        return ac_fail(msg, AC_ENOMEM, "no memory for n=%d T=%d K=%d d=%d", s->n, s->T, s->K, s->d);
    }
    draw_embeddings(r, s->K, s->d, E);
    for (long t = 1; t <= s->max_tries; t++) {
        draw_dataset(r, s, D);
        int ok = 0;
        st = accept(D, s->mode, &ok, msg);
        if (st != AC_OK)
            break;
        if (tries)
            *tries = t;
        if (ok) {
            *Dout = D;
            *Eout = E;
            return AC_OK;
        }
    }
    if (st == AC_OK)
        st = ac_fail(msg, AC_ENOCONV,
                     "no %s dataset with n=%d T=%d K=%d in %ld draws; change the sizes",
                     ac_svm_gen_mode_str(s->mode), s->n, s->T, s->K, s->max_tries);
    free(E);
    ac_tpg_data_free(D);
    return st;
}
