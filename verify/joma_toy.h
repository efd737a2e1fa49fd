/* The nonlinear toy of JoMA (spec joma §4.2; the authors' script
 * joma/draw_figure_4.py): the explicit Euler map
 *     v <- v + eta (mu - v) o softmax(v^2 / T)
 * from v(0) = v0 1, iterated as the authors do, with the attention entropy
 * recorded before each update.  This is the experiment side: it never
 * calls theory/joma (whose SOFTMAX, nonlinear reduced model with x = 1 is
 * the ODE this map is the Euler method of, at time t = eta k). */
#ifndef AC_JOMA_TOY_H
#define AC_JOMA_TOY_H

#include "solvers/status.h"

/* The script's sizes and constants (spec §4.2). */
#define AC_JOMA_TOY_M 10
#define AC_JOMA_TOY_ETA 0.02
#define AC_JOMA_TOY_T 3.0
#define AC_JOMA_TOY_V0 0.05
#define AC_JOMA_TOY_STEPS 5000L
/* The script's entropy is -sum_l p_l (ln p_l + 1e-8): the 1e-8 sits
 * outside the log (spec §3 item 2), shifting H by exactly -1e-8. */
#define AC_JOMA_TOY_ENTROPY_EPS 1e-8

typedef struct {
    double eta;   /* step, > 0 and finite */
    double T;     /* temperature, > 0 and finite */
    double v0;    /* every component of v(0), finite */
    long steps;   /* updates, >= 1 */
} ac_joma_toy_settings;

/* The script's values: AC_JOMA_TOY_ETA, _T, _V0, _STEPS. */
void ac_joma_toy_settings_default(ac_joma_toy_settings *s);
/* NULL when s is usable, else a sentence naming the setting and its bound
 * (static storage). */
const char *ac_joma_toy_settings_check(const ac_joma_toy_settings *s);

/* The authors' targets: mu = sort(3 r + 1) with r = torch.rand(10) after
 * torch.manual_seed(0) (PyTorch's CPU generator: MT19937 seeded with 0,
 * r_i = (low 24 bits of the i-th 32-bit output) / 2^24, exact in float32),
 * then double arithmetic as spec §3 item 2 does.  mu: AC_JOMA_TOY_M
 * entries, increasing. */
void ac_joma_toy_mu_seed0(double *mu);

/* The attention p = softmax(v^2/T) (M entries, log-sum-exp form; p may not
 * alias v) and the script's entropy -sum p (ln p + AC_JOMA_TOY_ENTROPY_EPS),
 * with ln p_l = v_l^2/T - ln sum exp(v^2/T) (finite even where p_l
 * underflows). */
void ac_joma_toy_attention(int M, double T, const double *v, double *p);
double ac_joma_toy_entropy(int M, double T, const double *v);

/* One update v <- v + eta (mu - v) o p(v), in place (v: M entries; p: M
 * entries of scratch). */
void ac_joma_toy_step(const ac_joma_toy_settings *s, int M, const double *mu, double *v, double *p);

/* What a run shows (spec §3 item 2): H0 the entropy at step 0, H_min its
 * smallest value over steps 0..steps-1 and the first step reaching it,
 * H_end the entropy at step steps-1 (before the last update, as the
 * script's entropies[niter-1]), H_limit the entropy at v = mu, the fixed
 * point. */
typedef struct {
    double H0, H_min, H_end, H_limit;
    long step_min;
} ac_joma_toy_summary;

/* The whole run from v(0) = s->v0: H (s->steps entries, may be NULL)
 * H[k] = entropy after k updates; V (may be NULL) ((s->steps + 1) x M,
 * row-major) row k = v after k updates; summary (may be NULL).  AC_EINVAL
 * (msg says which) for bad settings, M < 1, a NULL or non-finite mu;
 * AC_ENOMEM; else AC_OK. */
ac_status ac_joma_toy_run(const ac_joma_toy_settings *s, int M, const double *mu, double *H,
                          double *V, ac_joma_toy_summary *summary, ac_msg *msg);

#endif
