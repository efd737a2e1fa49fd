/* The gradient-descent network of the attention-paths paper (spec
 * attention_paths §1, §4.2): forward pass path by path, hand-written backward
 * pass, Adam.  See verify/paths_net.h. */
#include "verify/paths_net.h"

#include <gsl/gsl_cblas.h> /* gsl_randist.h pulls it in; same cblas_* symbols (OpenBLAS) */
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- shape and layout --------------------------------------------------- */

const char *ac_paths_net_shape_check(const ac_paths_net_shape *sh)
{
    if (!sh)
        return "the network shape is missing";
    if (sh->L < 1 || sh->L > AC_PATHS_MAX_LAYERS)
        return "layers L must be in 1..AC_PATHS_MAX_LAYERS (8)";
    long np = 1;
    for (int l = 0; l < sh->L; l++) {
        if (sh->H[l] < 1)
            return "every layer needs at least one head";
        np *= sh->H[l];
        if (np > AC_PATHS_MAX_PATHS)
            return "more than AC_PATHS_MAX_PATHS (4096) paths H^L";
    }
    if (sh->n < 1 || sh->n > AC_PATHS_NET_MAX_DIM)
        return "the width n must be in 1..100000";
    if (sh->N0 < 1 || sh->N0 > AC_PATHS_NET_MAX_DIM)
        return "the input features N0 must be in 1..100000";
    if (sh->ntok < 1 || sh->ntok > AC_PATHS_NET_MAX_DIM)
        return "the tokens ntok must be in 1..100000";
    if (sh->G < 1 || sh->G > AC_PATHS_NET_MAX_DIM)
        return "the query/key dimension G must be in 1..100000";
    if (sh->readout != AC_PATHS_NET_MEAN && (sh->readout < 0 || sh->readout >= sh->ntok))
        return "the readout must be a token index in [0, ntok) or AC_PATHS_NET_MEAN";
    return NULL;
}

int ac_paths_net_heads(const ac_paths_net_shape *sh)
{
    int nh = 0;
    for (int l = 0; l < sh->L; l++)
        nh += sh->H[l];
    return nh;
}

int ac_paths_net_paths(const ac_paths_net_shape *sh)
{
    int np = 1;
    for (int l = 0; l < sh->L; l++)
        np *= sh->H[l];
    return np;
}

/* Index of head (l, h) among all heads, layer 1's first. */
static int head_index(const ac_paths_net_shape *sh, int l, int h)
{
    int k = 0;
    for (int j = 1; j < l; j++)
        k += sh->H[j - 1];
    return k + h;
}

size_t ac_paths_net_value_size(const ac_paths_net_shape *sh)
{
    size_t n = (size_t)sh->n;
    return n + n * sh->N0 + (size_t)ac_paths_net_heads(sh) * n * n;
}

size_t ac_paths_net_size(const ac_paths_net_shape *sh)
{
    return ac_paths_net_value_size(sh) + (size_t)ac_paths_net_heads(sh) * 2 * sh->G * sh->N0;
}

size_t ac_paths_net_q_offset(const ac_paths_net_shape *sh, int l, int h)
{
    return ac_paths_net_value_size(sh) + (size_t)head_index(sh, l, h) * 2 * sh->G * sh->N0;
}

size_t ac_paths_net_k_offset(const ac_paths_net_shape *sh, int l, int h)
{
    return ac_paths_net_q_offset(sh, l, h) + (size_t)sh->G * sh->N0;
}

/* Offset of V_l^h in theta (l = 1..L), and of V_0. */
static size_t v_offset(const ac_paths_net_shape *sh, int l, int h)
{
    size_t n = (size_t)sh->n;
    return n + n * sh->N0 + (size_t)head_index(sh, l, h) * n * n;
}

/* ---- the fixed scales of the blocks ---------------------------------------- */

/* The fixed scales of §1's network, one home for the forward pass, the
 * backward pass and Adam (adam_blocks).  The plain weights of §4.2b's
 * PyTorch model (the authors' my_vit.py) are w = c theta blockwise: the
 * readout a enters as a / sqrt(n) (c_a: §1's f = a . z_L / sqrt(N_a) with
 * N_a = n), the input layer V_0 as V_0 / sqrt(N0) (c_0: z_0 = V_0 x /
 * sqrt(N0)), each value weight V_l^h as V_l^h / sqrt(n) (the 1/sqrt(n_{l-1})
 * of §1's layer sum with n_{l-1} = n), and Q, K as they are (scale 1).  Two
 * scales stay outside every weight, as in my_vit.py: the 1/sqrt(G) of the
 * score (§1, real task: S = (K x_s).(Q x_t)/sqrt(G); §4.2b's "/ 4" at G = 16)
 * and the 1/sqrt(H_l) of layer l's head sum (head_sum_scale).  The values
 * are always formed by the same expressions, so every caller sees the same
 * bits. */
typedef struct {
    double a;     /* readout a: 1/sqrt(n) */
    double v0;    /* input layer V_0: 1/sqrt(N0) */
    double v;     /* value weight V_l^h alone: 1/sqrt(n) (its head sum: head_sum_scale) */
    double qk;    /* query/key weights Q, K: 1 */
    double score; /* the score's 1/sqrt(G): W = K^T Q * score */
} net_scales;

static net_scales block_scales(const ac_paths_net_shape *sh)
{
    net_scales c;
    c.a = 1.0 / sqrt((double)sh->n);
    c.v0 = 1.0 / sqrt((double)sh->N0);
    c.v = 1.0 / sqrt((double)sh->n);
    c.qk = 1.0;
    c.score = 1.0 / sqrt((double)sh->G);
    return c;
}

/* Scale of layer l's sum over its hk kept heads, c_l = 1/sqrt(H_kept n) (§1's
 * 1/sqrt(H_l n_{l-1}); pruning rescales by the kept count, §4.2's
 * --drop_heads): the value block's 1/sqrt(n) times the head sum's
 * 1/sqrt(H_kept), taken in one square root; 0 when no head is kept. */
static double head_sum_scale(const ac_paths_net_shape *sh, int hk)
{
    return hk ? 1.0 / sqrt((double)hk * sh->n) : 0.0;
}

void ac_paths_net_readout(const ac_paths_net_shape *sh, double *r)
{
    for (int t = 0; t < sh->ntok; t++)
        r[t] = sh->readout == AC_PATHS_NET_MEAN ? 1.0 / sh->ntok : (t == sh->readout ? 1.0 : 0.0);
}

void ac_paths_net_theory_settings(const ac_paths_net_shape *sh, double N, double T,
                                  ac_paths_settings *s)
{
    ac_paths_settings_default(s);
    s->L = sh->L;
    for (int l = 0; l < sh->L; l++)
        s->H[l] = sh->H[l];
    for (int l = 0; l <= sh->L; l++) {
        s->n[l] = N;
        s->sigma2[l] = 1.0;
    }
    s->sigma2_a = 1.0;
    s->T = T;
}

void ac_paths_net_init(const ac_paths_net_shape *sh, gsl_rng *r, double *theta)
{
    size_t nv = ac_paths_net_value_size(sh), nt = ac_paths_net_size(sh);
    for (size_t j = 0; j < nv; j++)
        theta[j] = gsl_ran_gaussian(r, 1.0);
    /* The initial spread of Q and K (an initialisation choice, not a block
     * scale: Q and K enter with scale 1, block_scales). */
    double sd = 1.0 / sqrt((double)sh->N0);
    for (size_t j = nv; j < nt; j++)
        theta[j] = gsl_ran_gaussian(r, sd);
}

void ac_paths_net_head_w(const ac_paths_net_shape *sh, const double *theta, int l, int h,
                         double *W)
{
    const double *Q = theta + ac_paths_net_q_offset(sh, l, h);
    const double *K = theta + ac_paths_net_k_offset(sh, l, h);
    /* W = K^T Q / sqrt(G): x_s^T W x_t = (K x_s) . (Q x_t) / sqrt(G). */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, sh->N0, sh->N0, sh->G,
                block_scales(sh).score, K, sh->N0, Q, sh->N0, 0.0, W, sh->N0);
}

ac_status ac_paths_net_set_head_w(const ac_paths_net_shape *sh, int l, int h, const double *W,
                                  double *theta, ac_msg *msg)
{
    if (sh->G != sh->N0)
        return ac_fail(msg, AC_EINVAL, "net: fixed head (%d, %d) needs G = N0 (G %d, N0 %d)", l,
                       h, sh->G, sh->N0);
    size_t nn = (size_t)sh->N0 * sh->N0;
    double *Q = theta + ac_paths_net_q_offset(sh, l, h);
    double *K = theta + ac_paths_net_k_offset(sh, l, h);
    memcpy(Q, W, sizeof(double) * nn);
    memset(K, 0, sizeof(double) * nn);
    /* K = sqrt(G) I undoes the score's 1/sqrt(G) (block_scales). */
    for (int i = 0; i < sh->N0; i++)
        K[(size_t)i * sh->N0 + i] = sqrt((double)sh->G);
    return AC_OK;
}

/* ---- scratch of a batch ---------------------------------------------------- */

/* Examples are processed in batches of at most this many on the value side
 * (one level-3 product per head and layer for the whole batch): 128 columns
 * per path already run BLAS near its speed, and the per-example attention
 * records of a batch stay in cache-sized arrays. */
#define NET_CHUNK 128

typedef struct {
    ac_paths_net_shape sh;
    net_scales sc;                          /* block_scales(&sh) */
    int nh, np, Bmax;
    int D[AC_PATHS_MAX_LAYERS + 2];         /* D[l] = H_l ... H_L, D[L+1] = 1 */
    size_t soff[AC_PATHS_MAX_LAYERS + 2];   /* suffix level l (D_l x ntok) at soff[l] in a record */
    size_t ssize;                           /* doubles of one example's suffix record */
    size_t woff[AC_PATHS_MAX_LAYERS + 1];   /* w^l (n x D_{l+1} B) at w + woff[l] */
    double *W, *dW;       /* heads x N0 x N0: bilinear forms and their gradients */
    double *Om;           /* Bmax x heads x ntok x ntok: each example's attention */
    double *dOm;          /* heads x ntok x ntok */
    double *suf;          /* Bmax suffix records; s_{L+1} = r in each */
    double *gsuf;         /* one suffix record of gradients */
    double *Xi, *gXi;     /* N0 x H^L of one example: xi_pi as columns */
    double *Xa, *gXa;     /* N0 x (H^L B): column (pi, b) = xi_pi(x^b) */
    double *w, *g;        /* value-side w^l (n x D_{l+1} B, column (rest, b)) and gradients */
    double *f, *e;        /* B outputs and dLoss/df */
    double *tmp;          /* N0 x ntok */
    double *r;            /* readout vector */
} net_ws;

static void ws_clear(net_ws *ws)
{
    free(ws->W);
    free(ws->dW);
    free(ws->Om);
    free(ws->dOm);
    free(ws->suf);
    free(ws->gsuf);
    free(ws->Xi);
    free(ws->gXi);
    free(ws->Xa);
    free(ws->gXa);
    free(ws->w);
    free(ws->g);
    free(ws->f);
    free(ws->e);
    free(ws->tmp);
    free(ws->r);
    memset(ws, 0, sizeof *ws);
}

static ac_status ws_init(net_ws *ws, const ac_paths_net_shape *sh, int Bmax)
{
    memset(ws, 0, sizeof *ws);
    ws->sh = *sh;
    ws->sc = block_scales(sh);
    ws->nh = ac_paths_net_heads(sh);
    ws->np = ac_paths_net_paths(sh);
    ws->Bmax = Bmax < 1 ? 1 : Bmax > NET_CHUNK ? NET_CHUNK : Bmax;
    int L = sh->L;
    size_t B = (size_t)ws->Bmax;
    ws->D[L + 1] = 1;
    for (int l = L; l >= 1; l--)
        ws->D[l] = sh->H[l - 1] * ws->D[l + 1];
    size_t so = 0, wo = 0;
    for (int l = 1; l <= L + 1; l++) {
        ws->soff[l] = so;
        so += (size_t)ws->D[l] * sh->ntok;
    }
    ws->ssize = so;
    for (int l = 0; l <= L; l++) {
        ws->woff[l] = wo;
        wo += (size_t)sh->n * ws->D[l + 1] * B;
    }
    size_t nn = (size_t)sh->N0 * sh->N0, tt = (size_t)sh->ntok * sh->ntok;
    size_t nx = (size_t)sh->N0 * ws->np;
    ws->W = malloc(sizeof(double) * ws->nh * nn);
    ws->dW = malloc(sizeof(double) * ws->nh * nn);
    ws->Om = malloc(sizeof(double) * B * ws->nh * tt);
    ws->dOm = malloc(sizeof(double) * ws->nh * tt);
    ws->suf = malloc(sizeof(double) * B * so);
    ws->gsuf = malloc(sizeof(double) * so);
    ws->Xi = malloc(sizeof(double) * nx);
    ws->gXi = malloc(sizeof(double) * nx);
    ws->Xa = malloc(sizeof(double) * nx * B);
    ws->gXa = malloc(sizeof(double) * nx * B);
    ws->w = malloc(sizeof(double) * wo);
    ws->g = malloc(sizeof(double) * wo);
    ws->f = malloc(sizeof(double) * B);
    ws->e = malloc(sizeof(double) * B);
    ws->tmp = malloc(sizeof(double) * (size_t)sh->N0 * sh->ntok);
    ws->r = malloc(sizeof(double) * sh->ntok);
    if (!ws->W || !ws->dW || !ws->Om || !ws->dOm || !ws->suf || !ws->gsuf || !ws->Xi || !ws->gXi ||
        !ws->Xa || !ws->gXa || !ws->w || !ws->g || !ws->f || !ws->e || !ws->tmp || !ws->r) {
        ws_clear(ws);
        return AC_ENOMEM;
    }
    ac_paths_net_readout(sh, ws->r);
    for (size_t b = 0; b < B; b++)
        memcpy(ws->suf + b * so + ws->soff[L + 1], ws->r, sizeof(double) * sh->ntok);
    return AC_OK;
}

/* Every head's W at theta. */
static void ws_heads_w(net_ws *ws, const double *theta)
{
    const ac_paths_net_shape *sh = &ws->sh;
    size_t nn = (size_t)sh->N0 * sh->N0;
    for (int l = 1; l <= sh->L; l++)
        for (int h = 0; h < sh->H[l - 1]; h++)
            ac_paths_net_head_w(sh, theta, l, h, ws->W + head_index(sh, l, h) * nn);
}

/* Om_k[s, t] = softmax_s x_s^T W_k x_t for every head k of example x
 * (Om: heads x ntok x ntok). */
static void example_attention(net_ws *ws, const double *x, double *Om)
{
    const ac_paths_net_shape *sh = &ws->sh;
    int N0 = sh->N0, nt = sh->ntok;
    for (int k = 0; k < ws->nh; k++) {
        double *S = Om + (size_t)k * nt * nt;
        /* tmp = W x (N0 x ntok); S = x^T tmp, S[s, t] = x_s^T W x_t. */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N0, nt, N0, 1.0,
                    ws->W + (size_t)k * N0 * N0, N0, x, nt, 0.0, ws->tmp, nt);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nt, nt, N0, 1.0, x, nt, ws->tmp, nt,
                    0.0, S, nt);
        for (int t = 0; t < nt; t++) { /* log-sum-exp over the keys of query t */
            double mx = -INFINITY, sum = 0.0;
            for (int s = 0; s < nt; s++)
                mx = fmax(mx, S[s * nt + t]);
            for (int s = 0; s < nt; s++)
                sum += (S[s * nt + t] = exp(S[s * nt + t] - mx));
            for (int s = 0; s < nt; s++)
                S[s * nt + t] /= sum;
        }
    }
}

/* Suffix vectors s_l[(h_l, rest)] = Omega_l^{h_l} s_{l+1}[rest], s_{L+1} = r,
 * stored as rows (D_l x ntok) in the record suf; s_1 = omega_pi (§2), and
 * ws->Xi = x omega^T (N0 x H^L), column pi = xi_pi(x). */
static void example_xi(net_ws *ws, const double *x, const double *Om, double *suf)
{
    const ac_paths_net_shape *sh = &ws->sh;
    int nt = sh->ntok;
    for (int l = sh->L; l >= 1; l--) {
        int Dn = ws->D[l + 1];
        for (int h = 0; h < sh->H[l - 1]; h++) {
            const double *O = Om + (size_t)head_index(sh, l, h) * nt * nt;
            /* rows: s_l[h, rest]^T = s_{l+1}[rest]^T Omega^T */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Dn, nt, nt, 1.0,
                        suf + ws->soff[l + 1], nt, O, nt, 0.0,
                        suf + ws->soff[l] + (size_t)h * Dn * nt, nt);
        }
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, sh->N0, ws->np, nt, 1.0, x, nt,
                suf + ws->soff[1], nt, 0.0, ws->Xi, ws->np);
}

/* Column (pi, b) of Xa (N0 x H^L B) from Xi (N0 x H^L), and back for gXa. */
static void scatter_xi(net_ws *ws, const double *Xi, int b, int B)
{
    int np = ws->np;
    for (int i = 0; i < ws->sh.N0; i++)
        for (int p = 0; p < np; p++)
            ws->Xa[(size_t)i * np * B + (size_t)p * B + b] = Xi[(size_t)i * np + p];
}

static void gather_gxi(net_ws *ws, int b, int B)
{
    int np = ws->np;
    for (int i = 0; i < ws->sh.N0; i++)
        for (int p = 0; p < np; p++)
            ws->gXi[(size_t)i * np + p] = ws->gXa[(size_t)i * np * B + (size_t)p * B + b];
}

/* c[l] = head_sum_scale of layer l's kept heads, l = 1..L. */
static void layer_scales(const net_ws *ws, const int *keep, double *c)
{
    const ac_paths_net_shape *sh = &ws->sh;
    for (int l = 1; l <= sh->L; l++) {
        int hk = 0;
        for (int h = 0; h < sh->H[l - 1]; h++)
            hk += !keep || keep[head_index(sh, l, h)];
        c[l] = head_sum_scale(sh, hk);
    }
}

/* The value side of B examples from Xa: w^0 = c_0 V_0 Xa; w^l[(rest, b)] =
 * c_l sum_{h kept} V_l^h w^{l-1}[(h, rest, b)]; f_b = c_a a . w^L[b] (§1
 * read path by path, §2).  Columns are ordered (path suffix, b), so each
 * head's block is contiguous: one product per head and layer. */
static void value_forward(net_ws *ws, const double *theta, const int *keep, const double *c, int B)
{
    const ac_paths_net_shape *sh = &ws->sh;
    int n = sh->n;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, ws->np * B, sh->N0,
                ws->sc.v0, theta + n, sh->N0, ws->Xa, ws->np * B, 0.0, ws->w,
                ws->np * B);
    for (int l = 1; l <= sh->L; l++) {
        int Dl = ws->D[l] * B, Dn = ws->D[l + 1] * B;
        double *out = ws->w + ws->woff[l];
        memset(out, 0, sizeof(double) * (size_t)n * Dn);
        for (int h = 0; h < sh->H[l - 1]; h++) {
            if (keep && !keep[head_index(sh, l, h)])
                continue;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, Dn, n, c[l],
                        theta + v_offset(sh, l, h), n, ws->w + ws->woff[l - 1] + (size_t)h * Dn,
                        Dl, 1.0, out, Dn);
        }
    }
    cblas_dgemv(CblasRowMajor, CblasTrans, n, B, ws->sc.a, ws->w + ws->woff[sh->L], B,
                theta, 1, 0.0, ws->f, 1);
}

/* The backward pass of value_forward for dLoss/df_b = e_b (all heads kept):
 * adds to grad's a, V_0, V_l^h; fills gXa = dLoss/dXa when want_xi. */
static void value_backward(net_ws *ws, const double *theta, const double *c, int B, double *grad,
                           int want_xi)
{
    const ac_paths_net_shape *sh = &ws->sh;
    int n = sh->n, L = sh->L, npB = ws->np * B;
    double ca = ws->sc.a, c0 = ws->sc.v0;
    /* f_b = c_a a . w^L[b]: da = c_a w^L e, g^L = c_a a e^T. */
    cblas_dgemv(CblasRowMajor, CblasNoTrans, n, B, ca, ws->w + ws->woff[L], B, ws->e, 1, 1.0, grad,
                1);
    double *gL = ws->g + ws->woff[L];
    memset(gL, 0, sizeof(double) * (size_t)n * B);
    cblas_dger(CblasRowMajor, n, B, ca, theta, 1, ws->e, 1, gL, B);
    for (int l = L; l >= 1; l--) {
        int Dl = ws->D[l] * B, Dn = ws->D[l + 1] * B;
        const double *gl = ws->g + ws->woff[l];
        for (int h = 0; h < sh->H[l - 1]; h++) {
            const double *win = ws->w + ws->woff[l - 1] + (size_t)h * Dn;
            /* dV_l^h += c_l g^l (w^{l-1}[h block])^T; g^{l-1}[h block] = c_l V^T g^l */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, Dn, c[l], gl, Dn, win, Dl,
                        1.0, grad + v_offset(sh, l, h), n);
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, Dn, n, c[l],
                        theta + v_offset(sh, l, h), n, gl, Dn, 0.0,
                        ws->g + ws->woff[l - 1] + (size_t)h * Dn, Dl);
        }
    }
    /* w^0 = c_0 V_0 Xa: dV_0 += c_0 g^0 Xa^T, dXa = c_0 V_0^T g^0. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, sh->N0, npB, c0, ws->g, npB, ws->Xa,
                npB, 1.0, grad + n, sh->N0);
    if (want_xi)
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, sh->N0, npB, n, c0, theta + n, sh->N0,
                    ws->g, npB, 0.0, ws->gXa, npB);
}

/* From ws->gXi back to the heads' W for example x (its attention Om and
 * suffix record suf): adds x dS x^T to dW for every head. */
static void attention_backward(net_ws *ws, const double *x, const double *Om, const double *suf)
{
    const ac_paths_net_shape *sh = &ws->sh;
    int nt = sh->ntok, N0 = sh->N0, L = sh->L;
    /* Xi = x omega^T: d omega (H^L x ntok) = gXi^T x. */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ws->np, nt, N0, 1.0, ws->gXi, ws->np, x,
                nt, 0.0, ws->gsuf + ws->soff[1], nt);
    memset(ws->dOm, 0, sizeof(double) * ws->nh * nt * nt);
    for (int l = 1; l <= L; l++) {
        int Dn = ws->D[l + 1];
        if (l < L)
            memset(ws->gsuf + ws->soff[l + 1], 0, sizeof(double) * (size_t)Dn * nt);
        for (int h = 0; h < sh->H[l - 1]; h++) {
            size_t k = (size_t)head_index(sh, l, h);
            const double *gb = ws->gsuf + ws->soff[l] + (size_t)h * Dn * nt;
            /* s_l[h blk] = s_{l+1} Omega^T: dOmega += gb^T s_{l+1}, ds_{l+1} += gb Omega */
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nt, nt, Dn, 1.0, gb, nt,
                        suf + ws->soff[l + 1], nt, 1.0, ws->dOm + k * nt * nt, nt);
            if (l < L)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Dn, nt, nt, 1.0, gb, nt,
                            Om + k * nt * nt, nt, 1.0, ws->gsuf + ws->soff[l + 1], nt);
        }
    }
    for (int k = 0; k < ws->nh; k++) {
        const double *O = Om + (size_t)k * nt * nt;
        double *dS = ws->dOm + (size_t)k * nt * nt; /* overwritten in place */
        for (int t = 0; t < nt; t++) { /* softmax over s: dS = Om (dOm - sum_s' Om dOm) */
            double dot = 0.0;
            for (int s = 0; s < nt; s++)
                dot += O[s * nt + t] * dS[s * nt + t];
            for (int s = 0; s < nt; s++)
                dS[s * nt + t] = O[s * nt + t] * (dS[s * nt + t] - dot);
        }
        /* S = x^T W x: dW += x dS x^T. */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N0, nt, nt, 1.0, x, nt, dS, nt, 0.0,
                    ws->tmp, nt);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N0, N0, nt, 1.0, ws->tmp, nt, x, nt,
                    1.0, ws->dW + (size_t)k * N0 * N0, N0);
    }
}

/* dW (per head) to dQ, dK: W = K^T Q / sqrt(G) gives dQ = K dW / sqrt(G),
 * dK = Q dW^T / sqrt(G). */
static void qk_backward(net_ws *ws, const double *theta, double *grad)
{
    const ac_paths_net_shape *sh = &ws->sh;
    int N0 = sh->N0, G = sh->G;
    double cg = ws->sc.score;
    for (int l = 1; l <= sh->L; l++)
        for (int h = 0; h < sh->H[l - 1]; h++) {
            size_t qo = ac_paths_net_q_offset(sh, l, h), ko = ac_paths_net_k_offset(sh, l, h);
            const double *dW = ws->dW + (size_t)head_index(sh, l, h) * N0 * N0;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, G, N0, N0, cg, theta + ko, N0,
                        dW, N0, 1.0, grad + qo, N0);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, G, N0, N0, cg, theta + qo, N0, dW,
                        N0, 1.0, grad + ko, N0);
        }
}

/* Fill Xa for examples ids[0..B) (ids NULL: first + 0..B-1): Xi from cache
 * (P x N0 x H^L) when non-NULL, else from each example's attention at the
 * heads' W (ws_heads_w done), keeping the attention and suffix records. */
static void batch_inputs(net_ws *ws, const double *X, const int *ids, int first, int B,
                         const double *cache)
{
    const ac_paths_net_shape *sh = &ws->sh;
    size_t nx = (size_t)sh->N0 * sh->ntok, nxi = (size_t)sh->N0 * ws->np;
    size_t no = (size_t)ws->nh * sh->ntok * sh->ntok;
    for (int b = 0; b < B; b++) {
        int mu = ids ? ids[b] : first + b;
        if (cache) {
            scatter_xi(ws, cache + (size_t)mu * nxi, b, B);
        } else {
            example_attention(ws, X + (size_t)mu * nx, ws->Om + b * no);
            example_xi(ws, X + (size_t)mu * nx, ws->Om + b * no, ws->suf + b * ws->ssize);
            scatter_xi(ws, ws->Xi, b, B);
        }
    }
}

/* Loss (1/Btot) sum (f - y)^2 over the examples idx[0..Btot) (0..Btot-1 when
 * idx is NULL), in chunks of Bmax, and its gradient into grad (zeroed here;
 * may be NULL).  Xi from cache when non-NULL (frozen attention). */
static double batch_loss(net_ws *ws, const double *theta, int learn_qk, const double *X,
                         const double *Y, const int *idx, int Btot, const double *cache,
                         double *grad)
{
    const ac_paths_net_shape *sh = &ws->sh;
    size_t nx = (size_t)sh->N0 * sh->ntok, no = (size_t)ws->nh * sh->ntok * sh->ntok;
    double c[AC_PATHS_MAX_LAYERS + 1];
    layer_scales(ws, NULL, c);
    int qk = grad && learn_qk && !cache;
    if (grad) {
        memset(grad, 0, sizeof(double) * ac_paths_net_size(sh));
        if (qk)
            memset(ws->dW, 0, sizeof(double) * ws->nh * sh->N0 * sh->N0);
    }
    if (!cache)
        ws_heads_w(ws, theta);
    double loss = 0.0;
    for (int first = 0; first < Btot; first += ws->Bmax) {
        int B = Btot - first < ws->Bmax ? Btot - first : ws->Bmax;
        const int *ids = idx ? idx + first : NULL;
        batch_inputs(ws, X, ids, first, B, cache);
        value_forward(ws, theta, NULL, c, B);
        for (int b = 0; b < B; b++) {
            int mu = ids ? ids[b] : first + b;
            double d = ws->f[b] - Y[mu];
            loss += d * d;
            ws->e[b] = 2.0 * d / Btot;
        }
        if (!grad)
            continue;
        value_backward(ws, theta, c, B, grad, qk);
        for (int b = 0; qk && b < B; b++) {
            int mu = ids ? ids[b] : first + b;
            gather_gxi(ws, b, B);
            attention_backward(ws, X + (size_t)mu * nx, ws->Om + b * no, ws->suf + b * ws->ssize);
        }
    }
    if (qk)
        qk_backward(ws, theta, grad);
    return loss / Btot;
}

/* ---- evaluation ----------------------------------------------------------- */

ac_status ac_paths_net_omega(const ac_paths_net_shape *sh, const double *theta, int P,
                             const double *X, double *Omega)
{
    net_ws ws;
    if (ws_init(&ws, sh, 1) != AC_OK)
        return AC_ENOMEM;
    ws_heads_w(&ws, theta);
    size_t nx = (size_t)sh->N0 * sh->ntok, no = (size_t)ws.nh * sh->ntok * sh->ntok;
    for (int mu = 0; mu < P; mu++)
        example_attention(&ws, X + (size_t)mu * nx, Omega + (size_t)mu * no);
    ws_clear(&ws);
    return AC_OK;
}

ac_status ac_paths_net_predict(const ac_paths_net_shape *sh, const double *theta, const int *keep,
                               int P, const double *X, double *f, ac_msg *msg)
{
    const char *why = ac_paths_net_shape_check(sh);
    if (why)
        return ac_fail(msg, AC_EINVAL, "net: %s", why);
    net_ws ws;
    if (ws_init(&ws, sh, P) != AC_OK)
        return ac_fail(msg, AC_ENOMEM, "net: out of memory");
    double c[AC_PATHS_MAX_LAYERS + 1];
    layer_scales(&ws, keep, c);
    ws_heads_w(&ws, theta);
    for (int first = 0; first < P; first += ws.Bmax) {
        int B = P - first < ws.Bmax ? P - first : ws.Bmax;
        batch_inputs(&ws, X, NULL, first, B, NULL);
        value_forward(&ws, theta, keep, c, B);
        memcpy(f + first, ws.f, sizeof(double) * B);
    }
    ws_clear(&ws);
    return AC_OK;
}

/* f on P examples given by their path inputs Xi (P x N0 x H^L) with heads
 * kept as keep says (ws_init done). */
static void predict_paths(net_ws *ws, const double *theta, const int *keep, int P, const double *Xi,
                          double *f)
{
    double c[AC_PATHS_MAX_LAYERS + 1];
    layer_scales(ws, keep, c);
    for (int first = 0; first < P; first += ws->Bmax) {
        int B = P - first < ws->Bmax ? P - first : ws->Bmax;
        batch_inputs(ws, NULL, NULL, first, B, Xi);
        value_forward(ws, theta, keep, c, B);
        memcpy(f + first, ws->f, sizeof(double) * B);
    }
}

static double sign_accuracy(int P, const double *f, const double *Y)
{
    int right = 0;
    for (int mu = 0; mu < P; mu++)
        right += f[mu] * Y[mu] > 0.0;
    return P > 0 ? (double)right / P : NAN;
}

ac_status ac_paths_net_predict_paths(const ac_paths_net_shape *sh, const double *theta,
                                     const int *keep, int P, const double *Xi, double *f,
                                     ac_msg *msg)
{
    const char *why = ac_paths_net_shape_check(sh);
    if (why)
        return ac_fail(msg, AC_EINVAL, "net: %s", why);
    net_ws ws;
    if (ws_init(&ws, sh, P) != AC_OK)
        return ac_fail(msg, AC_ENOMEM, "net: out of memory");
    predict_paths(&ws, theta, keep, P, Xi, f);
    ws_clear(&ws);
    return AC_OK;
}

ac_status ac_paths_net_accuracy(const ac_paths_net_shape *sh, const double *theta, const int *keep,
                                int P, const double *X, const double *Y, double *acc, ac_msg *msg)
{
    double *f = malloc(sizeof(double) * (P > 0 ? P : 1));
    if (!f)
        return ac_fail(msg, AC_ENOMEM, "net: out of memory");
    ac_status st = ac_paths_net_predict(sh, theta, keep, P, X, f, msg);
    if (st == AC_OK)
        *acc = sign_accuracy(P, f, Y);
    free(f);
    return st;
}

ac_status ac_paths_net_prune_each_paths(const ac_paths_net_shape *sh, const double *theta, int P,
                                        const double *Xi, const double *Y, double *acc0,
                                        double *acc, ac_msg *msg)
{
    const char *why = ac_paths_net_shape_check(sh);
    if (why)
        return ac_fail(msg, AC_EINVAL, "net: %s", why);
    int nh = ac_paths_net_heads(sh);
    int *keep = malloc(sizeof(int) * nh);
    double *f = malloc(sizeof(double) * (P > 0 ? P : 1));
    net_ws ws;
    if (!keep || !f || ws_init(&ws, sh, P) != AC_OK) {
        free(keep);
        free(f);
        return ac_fail(msg, AC_ENOMEM, "net: out of memory");
    }
    predict_paths(&ws, theta, NULL, P, Xi, f);
    *acc0 = sign_accuracy(P, f, Y);
    for (int k = 0; k < nh; k++) {
        for (int j = 0; j < nh; j++)
            keep[j] = j != k;
        predict_paths(&ws, theta, keep, P, Xi, f);
        acc[k] = sign_accuracy(P, f, Y);
    }
    ws_clear(&ws);
    free(keep);
    free(f);
    return AC_OK;
}

ac_status ac_paths_net_path_inputs(const ac_paths_net_shape *sh, const double *theta, int P,
                                   const double *X, double *Xi)
{
    net_ws ws;
    if (ws_init(&ws, sh, 1) != AC_OK)
        return AC_ENOMEM;
    ws_heads_w(&ws, theta);
    size_t nx = (size_t)sh->N0 * sh->ntok, nxi = (size_t)sh->N0 * ws.np;
    for (int mu = 0; mu < P; mu++) {
        example_attention(&ws, X + (size_t)mu * nx, ws.Om);
        example_xi(&ws, X + (size_t)mu * nx, ws.Om, ws.suf);
        memcpy(Xi + (size_t)mu * nxi, ws.Xi, sizeof(double) * nxi);
    }
    ws_clear(&ws);
    return AC_OK;
}

ac_status ac_paths_net_prune_each(const ac_paths_net_shape *sh, const double *theta, int P,
                                  const double *X, const double *Y, double *acc0, double *acc,
                                  ac_msg *msg)
{
    const char *why = ac_paths_net_shape_check(sh);
    if (why)
        return ac_fail(msg, AC_EINVAL, "net: %s", why);
    double *Xi = malloc(sizeof(double) * (size_t)(P > 0 ? P : 1) * sh->N0 * ac_paths_net_paths(sh));
    if (!Xi || ac_paths_net_path_inputs(sh, theta, P, X, Xi) != AC_OK) {
        free(Xi);
        return ac_fail(msg, AC_ENOMEM, "net: out of memory");
    }
    ac_status st = ac_paths_net_prune_each_paths(sh, theta, P, Xi, Y, acc0, acc, msg);
    free(Xi);
    return st;
}

ac_status ac_paths_net_loss(const ac_paths_net_shape *sh, const double *theta, int learn_qk, int P,
                            const double *X, const double *Y, double *loss, double *grad,
                            ac_msg *msg)
{
    const char *why = ac_paths_net_shape_check(sh);
    if (why)
        return ac_fail(msg, AC_EINVAL, "net: %s", why);
    if (P < 1)
        return ac_fail(msg, AC_EINVAL, "net: the loss needs at least one example (P = %d)", P);
    net_ws ws;
    if (ws_init(&ws, sh, P) != AC_OK)
        return ac_fail(msg, AC_ENOMEM, "net: out of memory");
    *loss = batch_loss(&ws, theta, learn_qk, X, Y, NULL, P, NULL, grad);
    ws_clear(&ws);
    return AC_OK;
}

/* ---- training --------------------------------------------------------------- */

void ac_paths_net_train_settings_default(ac_paths_net_train_settings *s)
{
    s->steps = AC_PATHS_NET_STEPS_DEFAULT;
    s->batch = AC_PATHS_NET_BATCH_DEFAULT;
    s->lr = AC_PATHS_NET_LR_DEFAULT;
    s->beta1 = AC_PATHS_NET_BETA1_DEFAULT;
    s->beta2 = AC_PATHS_NET_BETA2_DEFAULT;
    s->adam_eps = AC_PATHS_NET_ADAM_EPS_DEFAULT;
    s->learn_qk = 1;
    s->loss_tol = 0.0;
    s->diverge_factor = AC_PATHS_NET_DIVERGE_FACTOR;
}

const char *ac_paths_net_train_settings_check(const ac_paths_net_train_settings *s)
{
    if (!s)
        return "the training settings are missing";
    if (s->steps < 1)
        return "steps must be at least 1";
    if (s->batch < 1)
        return "batch must be at least 1";
    if (!(s->lr > 0.0) || !isfinite(s->lr))
        return "lr must be positive and finite";
    if (!(s->beta1 >= 0.0 && s->beta1 < 1.0))
        return "beta1 must be in [0, 1)";
    if (!(s->beta2 >= 0.0 && s->beta2 < 1.0))
        return "beta2 must be in [0, 1)";
    if (!(s->adam_eps > 0.0) || !isfinite(s->adam_eps))
        return "adam_eps must be positive and finite";
    if (s->learn_qk != 0 && s->learn_qk != 1)
        return "learn_qk must be 0 or 1";
    if (!(s->loss_tol >= 0.0) || !isfinite(s->loss_tol))
        return "loss_tol must be finite and >= 0";
    if (!(s->diverge_factor > 1.0))
        return "diverge_factor must be > 1";
    return NULL;
}

struct ac_paths_net_trainer {
    ac_paths_net_shape sh;
    int Pmax, P;
    const double *X, *Y;
    ac_paths_net_train_settings set;
    size_t size;
    double *theta, *grad, *m, *v, *next;
    double *cache;   /* Pmax x N0 x H^L when Q/K are frozen (owned) */
    const double *paths; /* the path inputs the run uses: cache or borrowed */
    int *perm, pos, started;
    ac_train_info info;
    net_ws ws;
};

ac_paths_net_trainer *ac_paths_net_trainer_alloc(const ac_paths_net_shape *sh, int Pmax)
{
    if (ac_paths_net_shape_check(sh) || Pmax < 1)
        return NULL;
    ac_paths_net_trainer *tr = calloc(1, sizeof *tr);
    if (!tr)
        return NULL;
    tr->sh = *sh;
    tr->Pmax = Pmax;
    tr->size = ac_paths_net_size(sh);
    tr->theta = malloc(sizeof(double) * tr->size);
    tr->grad = malloc(sizeof(double) * tr->size);
    tr->m = malloc(sizeof(double) * tr->size);
    tr->v = malloc(sizeof(double) * tr->size);
    tr->next = malloc(sizeof(double) * tr->size);
    tr->perm = malloc(sizeof(int) * (size_t)Pmax);
    if (!tr->theta || !tr->grad || !tr->m || !tr->v || !tr->next || !tr->perm ||
        ws_init(&tr->ws, sh, Pmax) != AC_OK) {
        ac_paths_net_trainer_free(tr);
        return NULL;
    }
    return tr;
}

void ac_paths_net_trainer_free(ac_paths_net_trainer *tr)
{
    if (!tr)
        return;
    free(tr->theta);
    free(tr->grad);
    free(tr->m);
    free(tr->v);
    free(tr->next);
    free(tr->cache);
    free(tr->perm);
    ws_clear(&tr->ws);
    free(tr);
}

static int all_finite(const double *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return 0;
    return 1;
}

/* Start a run on inputs X (Q/K learned or frozen) or on path inputs Xi
 * (frozen; X NULL). */
static ac_status trainer_start(ac_paths_net_trainer *tr, int P, const double *X, const double *Xi,
                               const double *Y, const ac_paths_net_train_settings *set,
                               const double *theta0, ac_msg *msg)
{
    const char *why = ac_paths_net_train_settings_check(set);
    if (why)
        return ac_fail(msg, AC_EINVAL, "net train: %s", why);
    if (P < 1 || P > tr->Pmax)
        return ac_fail(msg, AC_EINVAL, "net train: %d examples, the trainer holds 1..%d", P,
                       tr->Pmax);
    const ac_paths_net_shape *sh = &tr->sh;
    size_t nxi = (size_t)sh->N0 * tr->ws.np, nx = (size_t)sh->N0 * sh->ntok;
    if ((!X && !Xi) || !Y || !theta0)
        return ac_fail(msg, AC_EINVAL, "net train: the inputs, labels or start are missing");
    if (Xi && set->learn_qk)
        return ac_fail(msg, AC_EINVAL, "net train: path inputs fix the attention: learn_qk must be 0");
    if (X && !all_finite(X, (size_t)P * nx))
        return ac_fail(msg, AC_EINVAL, "net train: the inputs X hold a non-finite value");
    if (Xi && !all_finite(Xi, (size_t)P * nxi))
        return ac_fail(msg, AC_EINVAL, "net train: the path inputs hold a non-finite value");
    if (!all_finite(Y, (size_t)P))
        return ac_fail(msg, AC_EINVAL, "net train: the labels Y hold a non-finite value");
    if (!all_finite(theta0, tr->size))
        return ac_fail(msg, AC_EINVAL, "net train: the start theta0 holds a non-finite value");
    tr->P = P;
    tr->X = X;
    tr->Y = Y;
    tr->set = *set;
    memcpy(tr->theta, theta0, sizeof(double) * tr->size);
    memset(tr->m, 0, sizeof(double) * tr->size);
    memset(tr->v, 0, sizeof(double) * tr->size);
    free(tr->cache);
    tr->cache = NULL;
    tr->paths = Xi;
    if (X && !set->learn_qk) { /* frozen attention: xi_pi(x^mu) once */
        if (!(tr->cache = malloc(sizeof(double) * (size_t)P * nxi)))
            return ac_fail(msg, AC_ENOMEM, "net train: out of memory");
        ws_heads_w(&tr->ws, tr->theta);
        for (int mu = 0; mu < P; mu++) {
            example_attention(&tr->ws, X + (size_t)mu * nx, tr->ws.Om);
            example_xi(&tr->ws, X + (size_t)mu * nx, tr->ws.Om, tr->ws.suf);
            memcpy(tr->cache + (size_t)mu * nxi, tr->ws.Xi, sizeof(double) * nxi);
        }
        tr->paths = tr->cache;
    }
    for (int mu = 0; mu < P; mu++)
        tr->perm[mu] = mu;
    tr->pos = P; /* shuffle before the first batch */
    tr->started = 1;
    tr->info = (ac_train_info){.outcome = AC_TRAIN_RUNNING, .loss = NAN, .loss0 = NAN,
                               .grad_norm = NAN};
    return AC_OK;
}

ac_status ac_paths_net_trainer_set(ac_paths_net_trainer *tr, int P, const double *X,
                                   const double *Y, const ac_paths_net_train_settings *set,
                                   const double *theta0, ac_msg *msg)
{
    if (!X)
        return ac_fail(msg, AC_EINVAL, "net train: the inputs X are missing");
    return trainer_start(tr, P, X, NULL, Y, set, theta0, msg);
}

ac_status ac_paths_net_trainer_set_paths(ac_paths_net_trainer *tr, int P, const double *Xi,
                                         const double *Y, const ac_paths_net_train_settings *set,
                                         const double *theta0, ac_msg *msg)
{
    if (!Xi)
        return ac_fail(msg, AC_EINVAL, "net train: the path inputs are missing");
    return trainer_start(tr, P, NULL, Xi, Y, set, theta0, msg);
}

/* The next mini-batch: B indices from the epoch's permutation (a new
 * Fisher-Yates shuffle from r when the epoch is used up). */
static const int *next_batch(ac_paths_net_trainer *tr, gsl_rng *r, int *B)
{
    int b = tr->set.batch < tr->P ? tr->set.batch : tr->P;
    if (tr->pos + b > tr->P) {
        for (int i = tr->P - 1; i > 0; i--) {
            int j = (int)gsl_rng_uniform_int(r, (unsigned long)i + 1);
            int t = tr->perm[i];
            tr->perm[i] = tr->perm[j];
            tr->perm[j] = t;
        }
        tr->pos = 0;
    }
    const int *idx = tr->perm + tr->pos;
    tr->pos += b;
    *B = b;
    return idx;
}

/* One Adam step on theta as PyTorch takes it on the recipe's model (spec
 * §4.2b, the authors' my_vit.py): there the weights are w = c theta with c
 * the fixed scale of the block (block_scales: a 1/sqrt(n), V_0 1/sqrt(N0),
 * V_l^h 1/sqrt(n), Q and K 1; the score's 1/sqrt(G) and the head sum's
 * 1/sqrt(H) stay outside the weights), and Adam acts on w.  With
 * g_theta = c g_w, m_theta = c m_w and v_theta = c^2 v_w, the step
 *   w -= lr (m_w / c1) / (sqrt(v_w / c2) + eps)
 * reads in theta
 *   theta -= (lr / c) (m_theta / c1) / (sqrt(v_theta / c2) + c eps),
 * so each block takes ac_adam_hats with lr / c and c eps.  (Adam on theta
 * itself would move w by lr c per step: 4 to 8 times more slowly on the
 * value side than the recipe's model at N0 = 16, n = 64.)  Writes tr->next;
 * returns ac_adam_hats' finiteness flag. */
static int adam_blocks(ac_paths_net_trainer *tr, double bc1, double bc2)
{
    const ac_paths_net_shape *sh = &tr->sh;
    const ac_paths_net_train_settings *s = &tr->set;
    size_t n = (size_t)sh->n, nv = ac_paths_net_value_size(sh);
    size_t start[4] = {0, n, n + n * sh->N0, nv};
    size_t end[4] = {n, n + n * sh->N0, nv, s->learn_qk ? tr->size : nv};
    net_scales sc = block_scales(sh);
    double c[4] = {sc.a, sc.v0, sc.v, sc.qk};
    int finite = 1;
    for (int b = 0; b < 4; b++) {
        size_t o = start[b];
        finite &= ac_adam_hats(end[b] - o, tr->theta + o, tr->grad + o, s->beta1, s->beta2,
                               s->lr / c[b], bc1, bc2, c[b] * s->adam_eps, tr->m + o, tr->v + o,
                               tr->next + o);
    }
    return finite;
}

ac_status ac_paths_net_trainer_iterate(ac_paths_net_trainer *tr, gsl_rng *r)
{
    if (!tr->started)
        return AC_EINVAL;
    if (tr->info.outcome != AC_TRAIN_RUNNING)
        return AC_OK;
    double t0 = ac_clock();
    int B;
    const int *idx = next_batch(tr, r, &B);
    double loss = batch_loss(&tr->ws, tr->theta, tr->set.learn_qk, tr->X, tr->Y, idx, B,
                             tr->paths, tr->grad);
    double gn = cblas_dnrm2((int)tr->size, tr->grad, 1);
    ac_train_info *in = &tr->info;
    in->loss = loss;
    in->grad_norm = gn;
    if (in->steps == 0)
        in->loss0 = loss;
    if (!isfinite(loss) || !isfinite(gn) ||
        loss > tr->set.diverge_factor * fmax(1.0, in->loss0)) {
        in->outcome = AC_TRAIN_DIVERGED;
    } else if (loss <= tr->set.loss_tol) {
        in->outcome = AC_TRAIN_CONVERGED;
    } else {
        /* Adam with PyTorch's bias-corrected hats (verify/train.h) on the
         * effective weights w = c theta (adam_blocks); only the value weights
         * move when Q/K are frozen. */
        const ac_paths_net_train_settings *s = &tr->set;
        long t = in->steps + 1;
        double bc1 = 1.0 - pow(s->beta1, (double)t), bc2 = 1.0 - pow(s->beta2, (double)t);
        memcpy(tr->next, tr->theta, sizeof(double) * tr->size);
        int finite = adam_blocks(tr, bc1, bc2);
        if (!finite) {
            in->outcome = AC_TRAIN_DIVERGED;
        } else {
            memcpy(tr->theta, tr->next, sizeof(double) * tr->size);
            in->steps = t;
            if (t >= s->steps)
                in->outcome = AC_TRAIN_STEP_LIMIT;
        }
    }
    in->seconds += ac_clock() - t0;
    return AC_OK;
}

ac_train_outcome ac_paths_net_trainer_test(const ac_paths_net_trainer *tr)
{
    return tr->info.outcome;
}

ac_train_outcome ac_paths_net_trainer_run(ac_paths_net_trainer *tr, gsl_rng *r, long steps)
{
    while (tr->started && tr->info.outcome == AC_TRAIN_RUNNING && tr->info.steps < steps)
        ac_paths_net_trainer_iterate(tr, r);
    return tr->info.outcome;
}

const double *ac_paths_net_trainer_theta(const ac_paths_net_trainer *tr)
{
    return tr->theta;
}

const ac_train_info *ac_paths_net_trainer_info(const ac_paths_net_trainer *tr)
{
    return &tr->info;
}

void ac_paths_net_trainer_moments(const ac_paths_net_trainer *tr, const double **m,
                                  const double **v)
{
    *m = tr->m;
    *v = tr->v;
}

ac_status ac_paths_net_train(const ac_paths_net_shape *sh, int P, const double *X, const double *Y,
                             const ac_paths_net_train_settings *set, const double *theta0,
                             gsl_rng *r, double *theta, ac_train_info *info, ac_msg *msg)
{
    const char *why = ac_paths_net_shape_check(sh);
    if (why)
        return ac_fail(msg, AC_EINVAL, "net: %s", why);
    ac_paths_net_trainer *tr = ac_paths_net_trainer_alloc(sh, P > 0 ? P : 1);
    if (!tr)
        return ac_fail(msg, AC_ENOMEM, "net train: out of memory");
    ac_status st = ac_paths_net_trainer_set(tr, P, X, Y, set, theta0, msg);
    if (st == AC_OK) {
        ac_paths_net_trainer_run(tr, r, set->steps);
        memcpy(theta, tr->theta, sizeof(double) * tr->size);
        if (info)
            *info = tr->info;
    }
    ac_paths_net_trainer_free(tr);
    return st;
}
