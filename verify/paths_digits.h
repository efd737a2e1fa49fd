/* The one-shot in-context task of the attention-paths paper on real images
 * (spec attention_paths §4.2, scaled to scikit-learn's 8x8 digits as §4.2b
 * gives it), its gradient-descent model (verify/paths_net.h) and the inputs
 * the theory needs from that model's frozen attention.
 *
 * Images: Debian's python3-sklearn ships digits.csv.gz, 1797 real 8x8
 * handwritten digits, one per line: 64 pixel values 0..16, then the label
 * 0..9.  It is read (zlib) from where the package puts it; the project ships
 * no copy.
 *
 * Task (§4.2b): images / 16, shuffled; the first train_images build training
 * sequences, the rest test sequences.  A sequence is (support A, support B,
 * query): two distinct classes drawn without replacement, one image of each
 * as supports, the query class one of the two with probability 1/2 and the
 * query an image of that class other than its support.  Each image gives 4
 * patches of 4x4 (16 values, row-major within the patch; patches in
 * row-major order), each standardised (mean 0, sd 1 over its 16 values;
 * ddof 0; a constant patch stays 0) and divided by 4.  Token j (0..11) is
 * x_j = patch + E[label of its image's role: A, B, unknown] + p_j, with E
 * three fixed random unit vectors (N(0, I) normalised, from the task's
 * generator) and p_j the sinusoidal position (p[2i] = sin(j / 10000^{2i/16}),
 * p[2i+1] = cos(...)) divided by its norm sqrt(8).  So N0 = 16, ntok = 12;
 * the target is +1 if the query's class is support A's, else -1; the
 * readout is the mean over tokens.
 *
 * Model (§4.2b): L = 2, H = 4, width 64, G = 16, Adam lr 3e-3, batch 128,
 * 40 epochs over 6000 training sequences (test accuracy about 0.90 there);
 * the theory uses the first 600 training sequences and all 1000 test ones.
 *
 * Randomness: one gsl_rng, used in this order: the image shuffle, the three
 * label embeddings, the training sequences, the test sequences, the net's
 * initial parameters, the mini-batch orders.  So a task replays from its
 * seed.  Library code: no printing, no exits. */
#ifndef AC_PATHS_DIGITS_H
#define AC_PATHS_DIGITS_H

#include <gsl/gsl_rng.h>

#include "solvers/status.h"
#include "verify/paths_net.h"

/* Where Debian's python3-sklearn puts the digits (dpkg -L python3-sklearn). */
#define AC_PATHS_DIGITS_PATH "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"
#define AC_PATHS_DIGITS_PACKAGE "python3-sklearn"
/* Sizes of the file and of the task (§4.2b). */
#define AC_PATHS_DIGITS_PIXELS 64
#define AC_PATHS_DIGITS_SIDE 8
#define AC_PATHS_DIGITS_MAXVAL 16
#define AC_PATHS_DIGITS_CLASSES 10
#define AC_PATHS_DIGITS_PATCH 4
#define AC_PATHS_DIGITS_N0 16      /* 4 x 4 patch values */
#define AC_PATHS_DIGITS_PATCHES 4  /* patches per image */
#define AC_PATHS_DIGITS_NTOK 12    /* 3 images x 4 patches */
/* Patch values are standardised, then divided by this (§4.2b). */
#define AC_PATHS_DIGITS_PATCH_SCALE 4.0
/* Base of the sinusoidal positions (Vaswani et al. 2017). */
#define AC_PATHS_DIGITS_POS_BASE 10000.0

typedef struct {
    int n;         /* images */
    double *pix;   /* n x 64, the file's values 0..16 */
    int *label;    /* n, 0..9 */
} ac_paths_digits_images;

/* Read the digits from path (NULL: AC_PATHS_DIGITS_PATH) into im (caller's
 * struct, filled; clear it after).  AC_EIO when the file cannot be opened:
 * "PATH: cannot open (REASON); the digits come from the Debian package
 * python3-sklearn: install it (make deps)"; AC_EPARSE with "PATH:LINE: ..."
 * for a line that is not 64 values in 0..16 and a label in 0..9, or an empty
 * file; AC_ENOMEM.  im is empty on error. */
ac_status ac_paths_digits_read(const char *path, ac_paths_digits_images *im, ac_msg *msg);
void ac_paths_digits_images_clear(ac_paths_digits_images *im);

typedef struct {
    int train_images;   /* images for training sequences; the others test (1200) */
    int n_train;        /* training sequences for the GD model (6000) */
    int n_test;         /* test sequences (1000) */
    int p_theory;       /* training sequences the theory uses, <= n_train (600) */
    int L, H;           /* layers and heads per layer (2, 4) */
    int width;          /* the GD model's width (64) */
    int G;              /* query/key dimension (16) */
    ac_paths_net_train_settings train; /* Adam lr 3e-3, batch 128, 40 epochs */
} ac_paths_digits_settings;

#define AC_PATHS_DIGITS_TRAIN_IMAGES 1200
#define AC_PATHS_DIGITS_N_TRAIN 6000
#define AC_PATHS_DIGITS_N_TEST 1000
#define AC_PATHS_DIGITS_P_THEORY 600
#define AC_PATHS_DIGITS_WIDTH 64
#define AC_PATHS_DIGITS_G 16
#define AC_PATHS_DIGITS_EPOCHS 40

/* §4.2b's recipe (the values above; train from
 * ac_paths_net_train_settings_default with steps = 40 epochs of n_train /
 * batch). */
void ac_paths_digits_settings_default(ac_paths_digits_settings *s);
/* NULL when usable with n images, else the sentence (static): sizes < 1,
 * p_theory > n_train, train_images not in 1..n-1, L or H out of range, the
 * training settings' own check. */
const char *ac_paths_digits_settings_check(const ac_paths_digits_settings *s, int n);

/* The task, its trained model and the theory's inputs. */
typedef struct {
    ac_paths_net_shape sh;  /* L, H, width, N0 = 16, ntok = 12, G, mean readout */
    int P, Pt;              /* training and test sequences */
    double *X, *Y;          /* P x N0 x ntok inputs (tokens as columns), P labels +-1 */
    double *Xt, *Yt;        /* the same for the Pt test sequences */
    int *img;               /* 3 (P + Pt): the images (line numbers - 1 in the file) of
                               support A, support B and the query per sequence, training
                               sequences first */
    double *theta;          /* the trained parameters (ac_paths_net_size entries) */
    ac_train_info train;    /* how the GD run ended */
    double gd_acc;          /* its test accuracy (sign f = y) */
    int Pth;                /* theory examples: the first Pth training sequences */
    double *Omega, *Omega_t;/* frozen attention: Pth (Pt) x H L x ntok x ntok (ac_paths_phi's layout) */
    double *r;              /* readout vector (ntok), 1/ntok */
    double *Phi, *Phi_t;    /* path tensors for sigma_0 = 1: Pth (Pt) x N0 x H^L (ac_paths_phi) */
} ac_paths_digits_task;

/* The sequences only (X, Y, Xt, Yt, img, sh): the image shuffle, the
 * embeddings and the sequences drawn from r in the order of the file
 * comment.  t is the caller's struct, filled (clear it after; empty on
 * error).  AC_EINVAL (the settings' sentence, or a class with fewer than 2
 * images in a pool), AC_ENOMEM. */
ac_status ac_paths_digits_data_init(ac_paths_digits_task *t, const ac_paths_digits_images *im,
                                    const ac_paths_digits_settings *s, gsl_rng *r, ac_msg *msg);
/* Train the GD model on t's sequences (initial parameters and batches from
 * r), freeze it, and fill theta, train, gd_acc, Pth, Omega, Omega_t, r, Phi,
 * Phi_t.  A diverged run is AC_ENUMERIC ("digits: the GD model diverged at
 * step S"); every other ending is kept in t->train.  AC_ENOMEM. */
ac_status ac_paths_digits_model_init(ac_paths_digits_task *t, const ac_paths_digits_settings *s,
                                     gsl_rng *r, ac_msg *msg);

/* Everything from a seed, for export (attncheck paths generate --task
 * digits --seed S): reads the digits from path (NULL: the package's), draws
 * the sequences and trains the model from one MT19937 generator set to
 * `seed` (gsl_rng_set; seed S + i is trial i of the claims run with base
 * seed S), and fills t.  Errors as the three steps. */
ac_status ac_paths_digits_task_init(ac_paths_digits_task *t, const char *path,
                                    const ac_paths_digits_settings *s, unsigned long seed,
                                    ac_msg *msg);
void ac_paths_digits_task_clear(ac_paths_digits_task *t);

#endif
