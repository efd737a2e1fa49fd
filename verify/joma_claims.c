/* The JoMA claims (spec joma §2-§4, §6).
 *
 * Every claim runs through the trial harness (verify/trial.h).  The
 * experiment sides train the one-layer block by SGD (verify/joma_model.h,
 * which never calls theory/joma) or iterate the authors' Euler map
 * (verify/joma_toy.h); the theory sides are the closed forms, quadratures
 * and ODEs of theory/joma*.h integrated by solvers/ode*.h.  Trials write
 * what they measured; rows read only the records. */
#include "verify/joma_claims.h"

#include <float.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_erf.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solvers/ode.h"
#include "solvers/ode_mpfr.h"
#include "theory/joma.h"
#include "theory/joma_mpfr.h"
#include "verify/joma_data.h"
#include "verify/joma_model.h"
#include "verify/joma_text_claims.h"
#include "verify/joma_toy.h"
#include "verify/trial.h"

/* ---- sizes -------------------------------------------------------------- */

/* joma.invariant (spec §4.1): the authors' block, M = 10 + 10 tokens, K = 20
 * classes, d = 30, SGD lr 0.1 on CE, softmax T = 0.5, 2000 iterations whose
 * last NC is taken after 1999 updates (the authors record before each
 * update; the spec's "step 1999"); at least
 * 20 seeds where a median is judged (§6.3 I2), 40 at paper size as the
 * spec's reference runs.  Exp attention runs to t = lr steps = 40, below the
 * breakdown of the exp flow at lr steps ~ 74-82 (§4.1). */
typedef struct {
    int trials;
    long sm_steps;   /* softmax run */
    long exp_steps;  /* exp run at INV_LR (twice as many at INV_LR / 2) */
} inv_size;

static inv_size inv_size_of(ac_size s)
{
    switch (s) {
    case AC_SIZE_QUICK: return (inv_size){3, 200, 100};
    case AC_SIZE_PAPER: return (inv_size){40, 1999, 400};
    default: return (inv_size){20, 1999, 400};
    }
}

#define INV_MDIST AC_JOMA_DATA_MDISTINCT
#define INV_MCOMMON AC_JOMA_DATA_MCOMMON
#define INV_M (INV_MDIST + INV_MCOMMON)
#define INV_K AC_JOMA_DATA_K
#define INV_D 30
#define INV_LR AC_JOMA_TRAIN_LR_DEFAULT
#define INV_T AC_JOMA_TRAIN_T_DEFAULT
/* NC curves are kept every this many steps (plus step 0 and the end). */
#define INV_NCP 50
/* "Early on" for NC of the changes (spec §4.1: step 10). */
#define INV_EARLY 10

/* Softmax, judged as spec §6.3 I2 says: the median over the seeds, never one
 * run, against the spec's own runs (§4.1 [run], 40 seeds, median NC(z,
 * zhat) at the steps it reports).  NC falls along training (the spec's
 * minimum over t is its value at the end), so the bar of a run of S steps is
 * the spec's median at the first reported step >= S.  The bar's tolerance
 * is three standard errors of the difference of two medians, each
 * sqrt(pi/2) sigma / sqrt(n) (a median of n normal draws), sigma estimated
 * from this run's own seeds by 1.4826 x their median absolute deviation (a
 * spread that one outlying seed does not inflate), the spec's 40 seeds
 * assumed as spread out as ours.  Early on (step 10, the changes z - z(0)),
 * the spec gives only the range 0.95-0.98 of its runs: its low end is the
 * bar, and only our median's standard error is allowed. */
static const struct {
    long step;
    double gaussian, uniform;
} inv_nc_ref[] = {{100, 0.9995, 0.9993}, {1000, 0.9967, 0.9915}, {1999, 0.9946, 0.9597}};
#define INV_NC_REF_SEEDS 40
#define INV_NC_EARLY_REF 0.95
#define INV_NC_NSE 3.0
/* sigma = 1.4826 MAD for normal draws (1 / Phi^-1(3/4)). */
#define INV_MAD_SIGMA 1.4826
/* The exp drift is (lr/2T) int |g_v|^2 dt (1 + O(lr)): halving lr halves it
 * at the same t up to the change of the trajectory itself, a relative O(lr
 * t L) shift of int |g_v|^2 that the spec's runs put at a few per cent
 * (2e-3, 2e-4, 2e-5 relative error at lr 0.1, 0.01, 0.001 are order 1 to
 * within 0.05); 0.2 on the fitted order is four times that. */
#define TOL_EXP_ORDER 0.2

/* ---- helpers ------------------------------------------------------------ */

#define STR_(x) #x
#define STR(x) STR_(x)

/* Every max and min of a measurement in this file goes through
 * ac_max_keep_nan / ac_min_keep_nan (verify/trial.h): fmax and fmin return
 * the other argument, so a NaN measurement would vanish from a worst-case
 * row and the row pass. */

/* A count row: INFO, compared by percentage by regress. */
static void add_count(ac_claim_result *res, const char *quantity, const char *theory_what, double v,
                      const char *why)
{
    ac_claim_row *r = ac_claim_add(res, quantity, theory_what, NAN, v, AC_METRIC_INFO, 0.0, why);
    if (r)
        r->is_count = 1;
}

/* A judged count row. */
static void add_judged_count(ac_claim_result *res, const char *quantity, const char *theory_what,
                             double theory, double v, ac_metric metric, double tol, const char *why)
{
    ac_claim_row *r = ac_claim_add(res, quantity, theory_what, theory, v, metric, tol, why);
    if (r)
        r->is_count = 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of entry k of vector `name` over the records that have it (NaN
 * in a record sorts as it comes: NaN makes the median NaN only when it is
 * the middle; a NaN anywhere is counted in *nan). */
static double median_of(const ac_trial_set *set, const char *name, int k, int *nan)
{
    double *x = malloc(sizeof(double) * (size_t)(set->nrec > 0 ? set->nrec : 1));
    int n = 0, bad = 0;
    for (int i = 0; x && i < set->nrec; i++) {
        if (!ac_trial_get(&set->rec[i], name))
            continue;
        double v = ac_trial_get1(&set->rec[i], name, k);
        if (isnan(v))
            bad++;
        else
            x[n++] = v;
    }
    if (nan)
        *nan = bad;
    double m = NAN;
    if (x && n > 0 && bad == 0) {
        qsort(x, (size_t)n, sizeof(double), cmp_double);
        m = n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
    }
    free(x);
    return m;
}

/* Max over records of entry k of `name` (NaN if any record has NaN there). */
static double worst_of(const ac_trial_set *set, const char *name, int k)
{
    double m = -HUGE_VAL;
    int n = 0;
    for (int i = 0; i < set->nrec; i++) {
        if (!ac_trial_get(&set->rec[i], name))
            continue;
        double v = ac_trial_get1(&set->rec[i], name, k);
        if (isnan(v))
            return NAN;
        m = ac_max_keep_nan(m, v);
        n++;
    }
    return n ? m : NAN;
}

static double min_of(const ac_trial_set *set, const char *name, int k)
{
    double m = HUGE_VAL;
    int n = 0;
    for (int i = 0; i < set->nrec; i++) {
        if (!ac_trial_get(&set->rec[i], name))
            continue;
        double v = ac_trial_get1(&set->rec[i], name, k);
        if (isnan(v))
            return NAN;
        m = ac_min_keep_nan(m, v);
        n++;
    }
    return n ? m : NAN;
}

/* The standard error of the difference between the median over the records
 * of entry k of `name` (n of them) and a reference median of nref draws
 * (nref 0: none, the reference exact): sqrt(pi/2) sigma sqrt(1/n + 1/nref),
 * sigma = INV_MAD_SIGMA x the median absolute deviation of the n values.
 * NaN when a value is NaN or none is there. */
static double median_se(const ac_trial_set *set, const char *name, int k, int nref)
{
    int nan = 0;
    double med = median_of(set, name, k, &nan);
    double *d = malloc(sizeof(double) * (size_t)(set->nrec > 0 ? set->nrec : 1));
    int n = 0;
    for (int i = 0; d && i < set->nrec; i++)
        if (ac_trial_get(&set->rec[i], name))
            d[n++] = fabs(ac_trial_get1(&set->rec[i], name, k) - med);
    double se = NAN;
    if (d && n > 0 && nan == 0 && !isnan(med)) {
        qsort(d, (size_t)n, sizeof(double), cmp_double);
        double mad = n % 2 ? d[n / 2] : 0.5 * (d[n / 2 - 1] + d[n / 2]);
        se = sqrt(M_PI / 2) * INV_MAD_SIGMA * mad * sqrt(1.0 / n + (nref > 0 ? 1.0 / nref : 0.0));
    }
    free(d);
    return se;
}

static double vmaxabs(int n, const double *x)
{
    double m = 0.0;
    for (int i = 0; i < n; i++)
        m = ac_max_keep_nan(m, fabs(x[i]));
    return m;
}

/* ---- the invariant tracker --------------------------------------------- */

/* I_l = z_l - (1/2T) sum_k v_kl^2 (spec §2.1, exp attention). */
static double inv_of(int M, int K, double T, const double *z, const double *V, int l)
{
    double s = 0.0;
    for (int k = 0; k < K; k++)
        s += V[k * M + l] * V[k * M + l];
    return z[l] - s / (2.0 * T);
}

ac_status ac_joma_inv_track_init(ac_joma_inv_track *tr, int M, int K, double T, const double *z,
                                 const double *V)
{
    memset(tr, 0, sizeof *tr);
    if (M < 1 || K < 1 || !(T > 0.0))
        return AC_EINVAL;
    tr->M = M;
    tr->K = K;
    tr->T = T;
    tr->I0 = malloc(sizeof(double) * (size_t)M);
    tr->bound = calloc((size_t)M, sizeof(double));
    tr->drift = calloc((size_t)M, sizeof(double));
    tr->Vprev = malloc(sizeof(double) * (size_t)(K * M));
    if (!tr->I0 || !tr->bound || !tr->drift || !tr->Vprev) {
        ac_joma_inv_track_clear(tr);
        return AC_ENOMEM;
    }
    for (int l = 0; l < M; l++)
        tr->I0[l] = inv_of(M, K, T, z, V, l);
    memcpy(tr->Vprev, V, sizeof(double) * (size_t)(K * M));
    return AC_OK;
}

void ac_joma_inv_track_clear(ac_joma_inv_track *tr)
{
    if (!tr)
        return;
    free(tr->I0);
    free(tr->bound);
    free(tr->drift);
    free(tr->Vprev);
    memset(tr, 0, sizeof *tr);
}

void ac_joma_inv_track_add(ac_joma_inv_track *tr, const double *z, const double *V)
{
    int M = tr->M, K = tr->K;
    for (int l = 0; l < M; l++) {
        double s2 = 0.0, sv = 0.0;
        for (int k = 0; k < K; k++) {
            double dv = V[k * M + l] - tr->Vprev[k * M + l];
            s2 += dv * dv;
            sv += V[k * M + l] * V[k * M + l];
        }
        /* the step's second-order term, and the rounding of the step */
        tr->bound[l] += s2 / (2.0 * tr->T) + AC_JOMA_INV_ROUND_ULPS * DBL_EPSILON * (fabs(z[l]) + sv / tr->T);
        tr->drift[l] = fabs(inv_of(M, K, tr->T, z, V, l) - tr->I0[l]);
        double r = tr->drift[l] / tr->bound[l];
        tr->ratio = ac_max_keep_nan(tr->ratio, r);
    }
    memcpy(tr->Vprev, V, sizeof(double) * (size_t)(K * M));
    tr->steps++;
}

double ac_joma_nc(int n, const double *a, const double *b)
{
    double ma = 0.0, mb = 0.0;
    for (int i = 0; i < n; i++) {
        ma += a[i];
        mb += b[i];
    }
    ma /= n;
    mb /= n;
    double ab = 0.0, aa = 0.0, bb = 0.0;
    for (int i = 0; i < n; i++) {
        ab += (a[i] - ma) * (b[i] - mb);
        aa += (a[i] - ma) * (a[i] - ma);
        bb += (b[i] - mb) * (b[i] - mb);
    }
    return aa > 0.0 && bb > 0.0 ? ab / sqrt(aa * bb) : NAN;
}

/* ---- joma.invariant ----------------------------------------------------- */

/* The theory's estimates of z from V (K x M): exp, (1/2T) sum_k v_k^2;
 * softmax (spec §2.1), (1/2T) (sum_k v_k^2 - bbar sum_k |v_k|^2), the norm
 * term with |v_k| as the theory has it (the authors' |w_k| moves NC in the
 * 4th decimal only, §4.1).  est: M. */
static void z_estimate(int M, int K, double T, const double *V, const double *bbar, double *est)
{
    double nrm = 0.0;
    for (int i = 0; i < K * M; i++)
        nrm += V[i] * V[i];
    for (int l = 0; l < M; l++) {
        double s = 0.0;
        for (int k = 0; k < K; k++)
            s += V[k * M + l] * V[k * M + l];
        est[l] = (s - (bbar ? bbar[l] * nrm : 0.0)) / (2.0 * T);
    }
}

/* A trainer set up for the §4.1 block with attention att, T, lr, from (z0,
 * W0); the caller frees it. */
static ac_status inv_trainer(const ac_joma_data *D, ac_joma_attention att, double lr, long steps,
                             const double *z0, const double *W0, ac_joma_trainer **out, ac_msg *msg)
{
    ac_joma_train_settings s;
    ac_joma_train_settings_default(&s);
    s.attention = att;
    s.lr = lr;
    s.steps = steps;
    s.T = INV_T;
    ac_joma_trainer *tr = ac_joma_trainer_alloc(D->N, D->M, D->K, INV_D);
    if (!tr)
        return ac_fail(msg, AC_ENOMEM, "no memory for the trainer");
    ac_status st = ac_joma_trainer_set(tr, D, NULL, &s, z0, W0, NULL, msg);
    if (st != AC_OK) {
        ac_joma_trainer_free(tr);
        return st;
    }
    *out = tr;
    return AC_OK;
}

/* One step; a diverged or converged run is an error naming the step. */
static ac_status step_or_fail(ac_joma_trainer *tr, const char *what, ac_msg *msg)
{
    ac_joma_trainer_iterate(tr);
    ac_train_outcome oc = ac_joma_trainer_test(tr);
    if (oc == AC_TRAIN_RUNNING || oc == AC_TRAIN_STEP_LIMIT)
        return AC_OK;
    return ac_fail(msg, AC_ENUMERIC, "%s: training ended (%s) at step %ld", what, ac_train_outcome_str(oc),
                   ac_joma_trainer_info(tr)->steps);
}

/* The softmax run of one data kind: NC(z, zhat) every INV_NCP steps (zhat =
 * estimate + C, C fixing zhat(0) = z(0)), NC of the changes at step
 * INV_EARLY, the magnitude error |z - zhat| / |z - C| at the end; the final
 * z and zhat into zend, zhend (M). */
static ac_status inv_softmax_run(ac_trial *t, const ac_joma_data *D, long steps, const char *kind,
                                 double *zend, double *zhend, ac_msg *msg)
{
    const int M = D->M, K = D->K;
    double z0[INV_M], W0[INV_D * INV_K], bbar[INV_M], V[INV_K * INV_M], e0[INV_M], e[INV_M], C[INV_M],
        zh[INV_M], dz[INV_M], de[INV_M];
    ac_joma_model m = {M, K, INV_D, NULL, AC_JOMA_ATT_SOFTMAX, AC_JOMA_MODEL_ACT_IDENTITY, AC_JOMA_MODEL_LOSS_CE,
                       INV_T};
    ac_joma_model_init(t->r, &m, AC_JOMA_TRAIN_INIT_SCALE_DEFAULT, z0, W0);
    ac_joma_data_mean(D, bbar);
    ac_joma_model_project(&m, W0, V, NULL);
    z_estimate(M, K, INV_T, V, bbar, e0);
    for (int l = 0; l < M; l++)
        C[l] = z0[l] - e0[l];
    int ncp = (int)(steps / INV_NCP) + 1;
    char name[AC_TRIAL_NAME];
    snprintf(name, sizeof name, "nc_%s", kind);
    ac_trial_put(t->rec, name, ncp, NULL);
    ac_joma_trainer *tr = NULL;
    ac_status st = inv_trainer(D, AC_JOMA_ATT_SOFTMAX, INV_LR, steps, z0, W0, &tr, msg);
    double early = NAN;
    for (long s = 0; st == AC_OK && s <= steps; s++) {
        if (s > 0) {
            ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
            st = step_or_fail(tr, "softmax run", msg);
            ac_trial_enter(t, AC_TRIAL_OTHER);
            if (st != AC_OK)
                break;
        }
        if (s % INV_NCP != 0 && s != INV_EARLY && s != steps)
            continue;
        const double *z = ac_joma_trainer_z(tr);
        ac_joma_model_project(&m, ac_joma_trainer_W(tr), V, NULL);
        ac_trial_enter(t, AC_TRIAL_THEORY);
        z_estimate(M, K, INV_T, V, bbar, e);
        ac_trial_enter(t, AC_TRIAL_OTHER);
        for (int l = 0; l < M; l++) {
            zh[l] = e[l] + C[l];
            dz[l] = z[l] - z0[l];
            de[l] = e[l] - e0[l];
        }
        const ac_trial_vec *ncv = ac_trial_get(t->rec, name); /* NULL after a failed put (sticky) */
        if (ncv && s % INV_NCP == 0)
            ncv->v[s / INV_NCP] = ac_joma_nc(M, z, zh);
        if (s == INV_EARLY)
            early = ac_joma_nc(M, dz, de);
        if (s == steps) {
            double num = 0.0, den = 0.0;
            for (int l = 0; l < M; l++) {
                num += (z[l] - zh[l]) * (z[l] - zh[l]);
                den += (z[l] - C[l]) * (z[l] - C[l]);
                zend[l] = z[l];
                zhend[l] = zh[l];
            }
            snprintf(name, sizeof name, "ncend_%s", kind);
            ac_trial_put1(t->rec, name, ac_joma_nc(M, z, zh));
            snprintf(name, sizeof name, "mag_%s", kind);
            ac_trial_put1(t->rec, name, sqrt(num / den));
            snprintf(name, sizeof name, "nc_%s", kind);
        }
    }
    snprintf(name, sizeof name, "ncearly_%s", kind);
    if (st == AC_OK)
        ac_trial_put1(t->rec, name, early);
    ac_joma_trainer_free(tr);
    return st;
}

/* The exp run at lr for `steps` steps from (z0, W0), tracking the invariant:
 * the tracker's ratio, max_l drift at the end, the relative error |z -
 * zhat| / |z - z(0)|; the final z and zhat into zend, zhend. */
static ac_status inv_exp_run(ac_trial *t, const ac_joma_data *D, double lr, long steps, const double *z0,
                             const double *W0, double out[3], double *zend, double *zhend, ac_msg *msg)
{
    const int M = D->M, K = D->K;
    double V[INV_K * INV_M], e[INV_M];
    ac_joma_model m = {M, K, INV_D, NULL, AC_JOMA_ATT_EXP, AC_JOMA_MODEL_ACT_IDENTITY, AC_JOMA_MODEL_LOSS_CE,
                       INV_T};
    ac_joma_model_project(&m, W0, V, NULL);
    ac_joma_inv_track it;
    ac_status st = ac_joma_inv_track_init(&it, M, K, INV_T, z0, V);
    if (st != AC_OK)
        return ac_fail(msg, st, "no memory for the invariant tracker");
    ac_joma_trainer *tr = NULL;
    st = inv_trainer(D, AC_JOMA_ATT_EXP, lr, steps, z0, W0, &tr, msg);
    for (long s = 1; st == AC_OK && s <= steps; s++) {
        ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
        st = step_or_fail(tr, "exp run", msg);
        ac_trial_enter(t, AC_TRIAL_OTHER);
        if (st != AC_OK)
            break;
        ac_joma_model_project(&m, ac_joma_trainer_W(tr), V, NULL);
        ac_joma_inv_track_add(&it, ac_joma_trainer_z(tr), V);
    }
    if (st == AC_OK) {
        const double *z = ac_joma_trainer_z(tr);
        ac_trial_enter(t, AC_TRIAL_THEORY);
        z_estimate(M, K, INV_T, V, NULL, e);
        ac_trial_enter(t, AC_TRIAL_OTHER);
        double num = 0.0, den = 0.0, I0e[INV_M];
        for (int l = 0; l < M; l++)
            I0e[l] = it.I0[l];
        for (int l = 0; l < M; l++) {
            zend[l] = z[l];
            zhend[l] = e[l] + I0e[l];
            num += (z[l] - zhend[l]) * (z[l] - zhend[l]);
            den += (z[l] - z0[l]) * (z[l] - z0[l]);
        }
        out[0] = it.ratio;
        out[1] = vmaxabs(M, it.drift);
        out[2] = sqrt(num / den);
    }
    ac_joma_trainer_free(tr);
    ac_joma_inv_track_clear(&it);
    return st;
}

/* Trial i: a Gaussian and a random data set (spec §4.1) drawn with t->r, the
 * softmax block trained on each from the authors' initialisation, then the
 * exp block on the Gaussian set from a fresh initialisation at lr and lr/2
 * to the same time t = lr steps. */
static ac_status trial_invariant(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    inv_size sz = inv_size_of(o->size);
    ac_joma_data D[2];
    memset(D, 0, sizeof D);
    const ac_joma_data_kind kinds[2] = {AC_JOMA_DATA_GAUSSIAN, AC_JOMA_DATA_UNIFORM};
    const char *names[2] = {"gaussian", "uniform"};
    double zend[INV_M], zhend[INV_M];
    ac_status st = AC_OK;
    for (int k = 0; k < 2 && st == AC_OK; k++) {
        st = ac_joma_data_synthetic(&D[k], kinds[k], INV_MDIST, INV_MCOMMON, INV_K, t->r, msg);
        if (st == AC_OK)
            st = inv_softmax_run(t, &D[k], sz.sm_steps, names[k], zend, zhend, msg);
        if (st == AC_OK && k == 0) {
            ac_trial_put(t->rec, "sm_z", INV_M, zend);
            ac_trial_put(t->rec, "sm_zhat", INV_M, zhend);
        }
    }
    if (st == AC_OK) {
        double z0[INV_M], W0[INV_D * INV_K], a[3], b[3];
        ac_joma_model m = {INV_M, INV_K, INV_D, NULL, AC_JOMA_ATT_EXP, AC_JOMA_MODEL_ACT_IDENTITY,
                           AC_JOMA_MODEL_LOSS_CE, INV_T};
        ac_joma_model_init(t->r, &m, AC_JOMA_TRAIN_INIT_SCALE_DEFAULT, z0, W0);
        st = inv_exp_run(t, &D[0], INV_LR, sz.exp_steps, z0, W0, a, zend, zhend, msg);
        if (st == AC_OK) {
            ac_trial_put(t->rec, "exp_z", INV_M, zend);
            ac_trial_put(t->rec, "exp_zhat", INV_M, zhend);
            st = inv_exp_run(t, &D[0], INV_LR / 2, 2 * sz.exp_steps, z0, W0, b, zend, zhend, msg);
        }
        if (st == AC_OK) {
            double v[6] = {a[0], a[1], a[2], b[0], b[1], b[2]};
            ac_trial_put(t->rec, "exp", 6, v); /* ratio, drift, rel at lr; the same at lr/2 */
        }
    }
    ac_joma_data_clear(&D[0]);
    ac_joma_data_clear(&D[1]);
    return st;
}

static int trials_invariant(const ac_run_opts *o)
{
    return inv_size_of(o->size).trials;
}

/* Points (x, y) sorted by x, so that a figure's line through them is a
 * scatter read left to right. */
static void add_scatter(ac_figure *f, const char *label, int n, const double *x, const double *y)
{
    double *p = malloc(sizeof(double) * 2 * (size_t)n), *xs = malloc(sizeof(double) * (size_t)n),
           *ys = malloc(sizeof(double) * (size_t)n);
    if (p && xs && ys) {
        for (int i = 0; i < n; i++)
            p[2 * i] = x[i], p[2 * i + 1] = y[i];
        qsort(p, (size_t)n, 2 * sizeof(double), cmp_double);
        for (int i = 0; i < n; i++)
            xs[i] = p[2 * i], ys[i] = p[2 * i + 1];
        ac_figure_add_series(f, label, n, xs, ys, NULL, NULL);
    } else {
        ac_figure_add_series(f, label, n, NULL, NULL, NULL, NULL); /* records the ENOMEM */
    }
    free(p);
    free(xs);
    free(ys);
}

static ac_status rows_invariant(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)msg;
    inv_size sz = inv_size_of(o->size);
    snprintf(res->setup, sizeof res->setup,
             "spec §4.1 block: M = %d + %d tokens, K = %d, d = %d, identity U, CE, SGD full batch lr %g on z and W, "
             "init N(0,1)/100; %d trials (trial i: seed %lu+i draws the Gaussian then the random X, then the "
             "inits); softmax T = %g for %ld steps; exp T = %g to t = %g (lr %g and %g)",
             INV_MDIST, INV_MCOMMON, INV_K, INV_D, INV_LR, sz.trials, o->seed, INV_T, sz.sm_steps, INV_T,
             INV_LR * (double)sz.exp_steps, INV_LR, INV_LR / 2);
    char q[AC_CLAIM_TEXT];
    /* exp attention: exact up to the SGD step */
    ac_claim_add(res, "exp: worst |I(t) - I(0)| / (sum over steps of (1/2T) sum_k Dv_k^2 + rounding), both lr",
                 "<= 1 (I changes only by the step's second-order term)", 1.0,
                 ac_max_keep_nan(worst_of(set, "exp", 0), worst_of(set, "exp", 3)), AC_METRIC_AT_MOST, 0.0,
                 "each SGD step changes I = z - (1/2T) sum_k v_k^2 by exactly -(1/2T) sum_k Dv_k^2, Dv = -lr g "
                 "(O(lr^2) per step); the tolerance is that sum over the steps taken plus " STR(AC_JOMA_INV_ROUND_ULPS)
                 " ulps of |z| + sum v^2/T per step for rounding, so the ratio is <= 1 unless the gradients of z "
                 "and W disagree");
    double p = NAN;
    {
        /* order of the drift in lr from the medians at lr and lr/2 */
        double d1 = median_of(set, "exp", 1, NULL), d2 = median_of(set, "exp", 4, NULL);
        p = log2(d1 / d2);
    }
    ac_claim_add(res, "exp: order in lr of the median drift max_l |I_l(t) - I_l(0)| at the same t (lr, lr/2)",
                 "1 (drift = (lr/2T) int |g_v|^2 dt)", 1.0, p, AC_METRIC_ABS, TOL_EXP_ORDER,
                 "the drift is (lr/2T) int |g_v|^2 dt (1 + O(lr)); the O(lr) change of the trajectory moves the "
                 "ratio by a few per cent in the spec's runs; 0.2 is four times that");
    ac_claim_add(res, "exp: median max_l |I_l(t) - I_l(0)| at the end, lr 0.1", "0 in continuous time", 0.0,
                 median_of(set, "exp", 1, NULL), AC_METRIC_INFO, 0.0,
                 "the drift itself; judged against the step's second-order sum above");
    ac_claim_add(res, "exp: median relative error |z - zhat| / |z - z(0)| at the end, lr 0.1",
                 "spec §4.1 [run]: ~2e-3 at lr 0.1", 2e-3, median_of(set, "exp", 2, NULL), AC_METRIC_INFO, 0.0,
                 "shown beside the spec's reference runs; its size is judged by the two rows above");
    ac_claim_add(res, "exp: median relative error at lr 0.05", "half the value at lr 0.1", NAN,
                 median_of(set, "exp", 5, NULL), AC_METRIC_INFO, 0.0, "O(lr): see the order row");
    /* softmax: approximate, medians over the seeds */
    const char *kinds[2] = {"gaussian", "uniform"};
    int ref = 0;
    while (ref + 1 < (int)(sizeof inv_nc_ref / sizeof inv_nc_ref[0]) && inv_nc_ref[ref].step < sz.sm_steps)
        ref++;
    for (int k = 0; k < 2; k++) {
        char name[AC_TRIAL_NAME], th[AC_CLAIM_TEXT];
        int nan = 0;
        double rv = k ? inv_nc_ref[ref].uniform : inv_nc_ref[ref].gaussian;
        snprintf(name, sizeof name, "ncend_%s", kinds[k]);
        double se = median_se(set, name, 0, INV_NC_REF_SEEDS);
        snprintf(q, sizeof q, "softmax, %s X: median NC(z, zhat) at step %ld over %d seeds", kinds[k], sz.sm_steps,
                 set->nrec);
        snprintf(th, sizeof th, ">= %.4f - 3 SE = %.4f (spec §4.1: its %d-seed median at step %ld; 1 if exact)", rv,
                 rv - INV_NC_NSE * se, INV_NC_REF_SEEDS, inv_nc_ref[ref].step);
        ac_claim_add(res, q, th, rv, median_of(set, name, 0, &nan), AC_METRIC_AT_LEAST, INV_NC_NSE * se,
                     "NC falls along training, so the spec's median at the first reported step >= ours is a lower "
                     "bar; SE = sqrt(pi/2) sigma sqrt(1/n + 1/40), sigma = 1.4826 x the MAD of our seeds' NC (the "
                     "standard error of a difference of medians)");
        snprintf(q, sizeof q, "softmax, %s X: smallest NC(z, zhat) at step %ld over the seeds", kinds[k],
                 sz.sm_steps);
        ac_claim_add(res, q, "spec §4.1: 0.9755 Gaussian, 0.8643 random (40 seeds)", NAN, min_of(set, name, 0),
                     AC_METRIC_INFO, 0.0, "one seed is never judged (spec §6.3 I2)");
        snprintf(name, sizeof name, "ncearly_%s", kinds[k]);
        se = median_se(set, name, 0, 0);
        snprintf(q, sizeof q, "softmax, %s X: median NC(z - z(0), zhat - zhat(0)) at step %d", kinds[k], INV_EARLY);
        snprintf(th, sizeof th, ">= %.2f - 3 SE = %.4f (the low end of spec §4.1's runs; 1 if exact)",
                 INV_NC_EARLY_REF, INV_NC_EARLY_REF - INV_NC_NSE * se);
        ac_claim_add(res, q, th, INV_NC_EARLY_REF, median_of(set, name, 0, NULL), AC_METRIC_AT_LEAST,
                     INV_NC_NSE * se,
                     "spec §4.1: 0.95-0.98 at step 10 in its runs (no median given): the low end is the bar, less "
                     "three standard errors of our median, sqrt(pi/2) sigma / sqrt n, sigma = 1.4826 x the MAD of "
                     "our seeds' NC");
        snprintf(name, sizeof name, "mag_%s", kinds[k]);
        snprintf(q, sizeof q, "softmax, %s X: median |z - zhat| / |z - C| at step %ld (the drift)", kinds[k],
                 sz.sm_steps);
        ac_claim_add(res, q, "0 if exact; spec §4.1: median 7.7 Gaussian, 3.6 random at step 1999", NAN,
                     median_of(set, name, 0, NULL), AC_METRIC_INFO, 0.0,
                     "not exact (constant bbar, factorisation, spec §1.4 item 4): the drift is reported, NC judged");
    }
    add_count(res, "seeds", "", (double)set->nrec, "trials of this run");
    /* figures: the invariant as a scatter, and the NC curves */
    const ac_trial_record *r0 = &set->rec[0];
    const ac_trial_vec *ez = ac_trial_get(r0, "exp_z"), *ezh = ac_trial_get(r0, "exp_zhat"),
                       *sz_ = ac_trial_get(r0, "sm_z"), *szh = ac_trial_get(r0, "sm_zhat");
    const char *fname[2] = {"joma-invariant-scatter", "joma-invariant-scatter-softmax"};
    const char *ftitle[2] = {"exp attention: z against (1/2T) sum_k v_k^2 + c at the end of the lr 0.1 run (trial 0; exact up to the SGD step)",
                             "softmax, Gaussian X: z against the approximate estimate at the end (trial 0; NC judged, "
                             "not the scale)"};
    const ac_trial_vec *pz[2] = {ez, sz_}, *pzh[2] = {ezh, szh};
    ac_figure *f = NULL;
    for (int g = 0; g < 2; g++) {
        f = ac_claim_add_figure(res, fname[g], ftitle[g],
                                g ? "zhat = (1/2T)(sum_k v_k^2 - bbar sum_k |v_k|^2) + C" : "zhat = (1/2T) sum_k v_k^2 + c",
                                "z", 0, 0);
        if (!pz[g] || !pzh[g])
            continue;
        add_scatter(f, "tokens l: (zhat_l, z_l)", pz[g]->n, pzh[g]->v, pz[g]->v);
        double x[2], mn = HUGE_VAL, mx = -HUGE_VAL;
        for (int i = 0; i < pz[g]->n; i++) {
            mn = ac_min_keep_nan(mn, pzh[g]->v[i]);
            mx = ac_max_keep_nan(mx, pzh[g]->v[i]);
        }
        x[0] = mn;
        x[1] = mx;
        ac_figure_add_series(f, "z = zhat", 2, x, x, NULL, NULL);
    }
    f = ac_claim_add_figure(res, "joma-invariant-nc", "NC(z, zhat) along softmax training (median band over seeds)",
                            "step", "NC(z, zhat)", 0, 0);
    for (int k = 0; k < 2; k++) {
        char name[AC_TRIAL_NAME], lab[64];
        snprintf(name, sizeof name, "nc_%s", kinds[k]);
        const ac_trial_vec *nc = ac_trial_get(r0, name);
        int n = nc ? nc->n : 0;
        double *x = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)), *y = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)),
               *lo = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)), *hi = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
        if (x && y && lo && hi) {
            for (int c = 0; c < n; c++) {
                ac_trial_stats s = ac_trial_stat(set, name, c);
                x[c] = (double)c * INV_NCP;
                y[c] = median_of(set, name, c, NULL);
                lo[c] = s.min;
                hi[c] = s.max;
            }
            snprintf(lab, sizeof lab, "%s X: median, band min-max", kinds[k]);
            ac_figure_add_series(f, lab, n, x, y, lo, hi);
        }
        free(x);
        free(y);
        free(lo);
        free(hi);
    }
    return AC_OK;
}

/* The vectors every trial of joma.invariant records (ac_trial_def.vectors). */
static const char *const invariant_vectors[] = {
    "exp", "exp_z", "exp_zhat", "mag_gaussian", "mag_uniform", "nc_gaussian", "nc_uniform", "ncearly_gaussian",
    "ncearly_uniform", "ncend_gaussian", "ncend_uniform", "sm_z", "sm_zhat", NULL
};
static const ac_trial_def invariant_trials = {
    .ntrials = trials_invariant, .trial = trial_invariant, .rows = rows_invariant,
    .vectors = invariant_vectors};

/* ---- joma.linear-sparse ------------------------------------------------- */

/* Spec §2.2a with the block of §4.1 (Gaussian X, M = 20) reduced to what the
 * theorem assumes: K = 1 output, T = 1, identity activation, the linear loss
 * -h (a constant back-propagated gradient, Assumption 1), zero init, full
 * batch.  Then Delta_l = the mean x_l and full-batch SGD is exactly the
 * Euler method of the joint flow. */
#define LIN_M INV_M
#define LIN_D (LIN_M + 1)
#define LIN_LR 0.1
/* The exp run stops when the iterate overflows past the blow-up (a few
 * steps after t* / lr, some 10^2 steps here); the cap only guards a bug. */
#define LIN_STEP_CAP 100000L
/* The softmax run: t = 60, several times t* of the exp run. */
#define LIN_SM_STEPS 600L
#define LIN_SM_EVERY 10
/* Fractions of t* where SGD is compared with the erf law. */
static const double lin_fracs[2] = {0.5, 0.8};
/* SGD lags the erf law by h e1(t) + O(h^2) (ac_joma_sgd_lag_coeff).  The
 * relative size of the O(h^2) term has two parts: the start, where the
 * Euler sum differs from the integral by O(h/t), and the growth, O(h f') with
 * f' = v a e^{v^2/2} the rate at which the flow amplifies perturbations at
 * t.  On the scalar map (spec §2.2a derivation, checked at h = 0.1 and 0.05,
 * where (ratio - 1)/h stays put, i.e. the remainder is O(h^2)) |ratio - 1|
 * <= C h (1/t + f') holds with C = 0.67 for small a and up to 1.2 for the
 * largest a at 0.9 t*; C = 2.5 leaves twice that. */
#define LIN_LAG_C 2.5
/* The integrator's global error: at most the accepted local errors (atol +
 * rtol |v| each, steps of them) amplified by the flow's growth
 * f(v_t)/f(v_s) <= e^{v_t^2/2}; 10 for the embedded estimate's own error. */
#define LIN_ODE_C 10.0
/* An entropy increase below this is rounding: H sums M = 20 terms of size
 * <= ln M, each to a few ulps. */
#define LIN_H_ROUND 1e-12

static int lin_trials_n(ac_size s)
{
    return s == AC_SIZE_QUICK ? 2 : s == AC_SIZE_PAPER ? 20 : 5;
}

static int trials_linear(const ac_run_opts *o)
{
    return lin_trials_n(o->size);
}

/* e1 of the header: the inner integral by 32-point Gauss-Legendre, exact to
 * rounding for this smooth integrand on [0, v], v <= 3. */
static double lag_integrand(double r, void *p)
{
    double v = *(double *)p;
    return exp(0.5 * r * r) * sqrt(M_PI / 2) * (erf(v / M_SQRT2) - erf(r / M_SQRT2));
}

double ac_joma_sgd_lag_coeff(double a, double v)
{
    gsl_integration_glfixed_table *tab = gsl_integration_glfixed_table_alloc(32);
    if (!tab)
        return NAN;
    gsl_function F = {lag_integrand, &v};
    double I = gsl_integration_glfixed(&F, 0.0, v, tab);
    gsl_integration_glfixed_table_free(tab);
    return a * exp(0.5 * v * v) * (0.25 * v * v + 0.5 * I);
}

/* The K = 1 data of the linear claims: X of D0, every label 0. */
static ac_status lin_data(const ac_joma_data *D0, int N, const double *x, ac_joma_data *D, ac_msg *msg)
{
    ac_status st = ac_joma_data_init(D, N, D0->M, 1, msg);
    if (st != AC_OK)
        return st;
    for (int n = 0; n < N; n++) {
        memcpy(D->X + n * D0->M, x ? x : D0->X + n * D0->M, sizeof(double) * (size_t)D0->M);
        D->label[n] = 0;
        D->Y[n] = 1.0;
    }
    return AC_OK;
}

static ac_status lin_trainer(const ac_joma_data *D, ac_joma_attention att, long steps, ac_joma_trainer **out,
                             ac_msg *msg)
{
    ac_joma_train_settings s;
    ac_joma_train_settings_default(&s);
    s.attention = att;
    s.activation = AC_JOMA_MODEL_ACT_IDENTITY;
    s.loss = AC_JOMA_MODEL_LOSS_LINEAR;
    s.T = 1.0;
    s.lr = LIN_LR;
    s.steps = steps;
    double z0[LIN_M] = {0}, W0[LIN_D] = {0};
    ac_joma_trainer *tr = ac_joma_trainer_alloc(D->N, D->M, 1, LIN_D);
    if (!tr)
        return ac_fail(msg, AC_ENOMEM, "no memory for the trainer");
    ac_status st = ac_joma_trainer_set(tr, D, NULL, &s, z0, W0, NULL, msg);
    if (st != AC_OK) {
        ac_joma_trainer_free(tr);
        return st;
    }
    *out = tr;
    return AC_OK;
}

/* The mean over samples of the attention softmax(ln x + z) (T = 1). */
static void mean_attention(const ac_joma_data *D, const double *z, double *b)
{
    int M = D->M;
    for (int l = 0; l < M; l++)
        b[l] = 0.0;
    for (int n = 0; n < D->N; n++) {
        const double *x = D->X + n * M;
        double mx = -HUGE_VAL, s = 0.0;
        for (int l = 0; l < M; l++)
            if (x[l] > 0)
                mx = ac_max_keep_nan(mx, log(x[l]) + z[l]);
        for (int l = 0; l < M; l++)
            s += x[l] > 0 ? exp(log(x[l]) + z[l] - mx) : 0.0;
        for (int l = 0; l < M; l++)
            b[l] += (x[l] > 0 ? exp(log(x[l]) + z[l] - mx) / s : 0.0) / D->N;
    }
}

static int argmax(int n, const double *x)
{
    int k = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[k])
            k = i;
    return k;
}

ac_status ac_joma_ratio_law_score(const ac_ode_system *sys, const double *delta, double t1, double *score,
                                  long *steps, ac_msg *msg)
{
    int M = sys->dim;
    ac_ode_workspace *w = ac_ode_alloc(M);
    double *v0 = calloc((size_t)M, sizeof(double)), *v = malloc(sizeof(double) * (size_t)M);
    ac_status st = w && v0 && v ? AC_OK : ac_fail(msg, AC_ENOMEM, "no memory for the ratio-law ODE");
    ac_ode_settings os;
    ac_ode_settings_default(&os);
    ac_ode_info info;
    if (st == AC_OK)
        st = ac_ode_solve(w, sys, 0.0, v0, t1, v, &os, &info, msg);
    if (st == AC_OK && info.status != AC_ODE_DONE) {
        ac_msg m2;
        ac_ode_info_message(&info, &m2);
        st = ac_fail(msg, AC_ENUMERIC, "ratio-law ODE: %s", m2.text);
    }
    if (st == AC_OK) {
        double rmin = HUGE_VAL, rmax = -HUGE_VAL, vmin = HUGE_VAL;
        for (int l = 0; l < M; l++) {
            double r = ac_joma_erf_ratio(v[l], delta[l], AC_JOMA_T_PAPER);
            rmin = ac_min_keep_nan(rmin, r);
            rmax = ac_max_keep_nan(rmax, r);
            vmin = ac_min_keep_nan(vmin, fabs(v[l]));
        }
        /* the relative error of each erf(v/sqrt 2) is at most that of v (erf
         * is concave on v >= 0): the accumulated steps (rtol + atol / v) */
        double tol = LIN_ODE_C * (double)info.steps * (os.rtol + os.atol / vmin);
        *score = (rmax / rmin - 1.0) / tol;
        *steps = info.steps;
    }
    ac_ode_free(w);
    free(v0);
    free(v);
    return st;
}

/* The exp run: v (one row per step, the start included) and the entropy
 * until the iterate overflows; *n receives the steps taken (finite rows - 1). */
static ac_status lin_exp_run(ac_trial *t, const ac_joma_data *D, double **Vout, double **Hout, long *n,
                             double top[2], ac_msg *msg)
{
    const int M = D->M;
    ac_joma_trainer *tr = NULL;
    ac_status st = lin_trainer(D, AC_JOMA_ATT_EXP, LIN_STEP_CAP, &tr, msg);
    if (st != AC_OK)
        return st;
    long cap = 256, k = 0;
    double *V = malloc(sizeof(double) * (size_t)(cap * M)), *H = malloc(sizeof(double) * (size_t)cap);
    const ac_joma_model *m = ac_joma_trainer_model(tr);
    double b[LIN_M];
    ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
    for (;;) {
        if (!V || !H) {
            st = ac_fail(msg, AC_ENOMEM, "no memory for the exp trajectory");
            break;
        }
        ac_joma_model_project(m, ac_joma_trainer_W(tr), V + k * M, NULL);
        H[k] = ac_joma_model_entropy(m, D, ac_joma_trainer_z(tr));
        mean_attention(D, ac_joma_trainer_z(tr), b);
        top[0] = (double)argmax(M, b);
        top[1] = b[(int)top[0]];
        ac_joma_trainer_iterate(tr);
        ac_train_outcome oc = ac_joma_trainer_test(tr);
        if (oc == AC_TRAIN_DIVERGED)
            break;
        if (oc != AC_TRAIN_RUNNING) {
            st = ac_fail(msg, AC_ENUMERIC, "linear exp run: %s at step %ld before any blow-up",
                         ac_train_outcome_str(oc), ac_joma_trainer_info(tr)->steps);
            break;
        }
        if (++k == cap) {
            cap *= 2;
            double *V2 = realloc(V, sizeof(double) * (size_t)(cap * M)), *H2 = realloc(H, sizeof(double) * (size_t)cap);
            if (V2)
                V = V2;
            if (H2)
                H = H2;
            if (!V2 || !H2) {
                free(V);
                free(H);
                V = H = NULL;
            }
        }
    }
    ac_trial_enter(t, AC_TRIAL_OTHER);
    ac_joma_trainer_free(tr);
    *Vout = V;
    *Hout = H;
    *n = k;
    return st;
}

/* How many of the n - 1 steps of H rise above round; NaN when any H is
 * NaN (a comparison with NaN is false, so a NaN entropy would count as no
 * rise and its row pass). */
static double count_increases(long n, const double *H, double round)
{
    long c = 0;
    for (long k = 0; k + 1 < n; k++) {
        if (isnan(H[k]) || isnan(H[k + 1]))
            return NAN;
        c += H[k + 1] > H[k] + round;
    }
    return (double)c;
}

/* The reduced linear ODE (theory/joma) of attention att with Delta = a (x =
 * a for SOFTMAX), T = 2 (exp(v^2/2), i.e. the block's T = 1). */
static void lin_reduced(ac_joma_reduced *r, ac_joma_attention att, const double *a)
{
    ac_joma_reduced_init(r, LIN_M, att, AC_JOMA_ACT_LINEAR, a);
    r->T = AC_JOMA_T_PAPER;
    if (att == AC_JOMA_ATT_SOFTMAX)
        r->x = a;
}

/* Trial i: the Gaussian X of seed S + i (spec §4.1), Delta its mean; the exp
 * block by SGD until it overflows, the erf law, the lag prediction, the ODE
 * to the blow-up; the softmax block on the one sample x = Delta and the
 * reduced softmax ODE. */
static ac_status trial_linear(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    (void)o;
    ac_joma_data D0, D1, D2;
    memset(&D0, 0, sizeof D0);
    memset(&D1, 0, sizeof D1);
    memset(&D2, 0, sizeof D2);
    double a[LIN_M], *V = NULL, *H = NULL, top[2] = {NAN, NAN};
    long n = 0;
    ac_status st = ac_joma_data_synthetic(&D0, AC_JOMA_DATA_GAUSSIAN, INV_MDIST, INV_MCOMMON, INV_K, t->r, msg);
    if (st == AC_OK) {
        ac_joma_data_mean(&D0, a);
        st = lin_data(&D0, D0.N, NULL, &D1, msg);
    }
    if (st == AC_OK)
        st = lin_data(&D0, 1, a, &D2, msg);
    if (st == AC_OK)
        st = lin_exp_run(t, &D1, &V, &H, &n, top, msg);
    ac_ode_workspace *w = ac_ode_alloc(LIN_M);
    if (st == AC_OK && !w)
        st = ac_fail(msg, AC_ENOMEM, "no memory for the ODE");
    if (st == AC_OK) {
        ac_trial_put(t->rec, "delta", LIN_M, a);
        ac_trial_put(t->rec, "exp_v", (int)((n + 1) * LIN_M), V);
        ac_trial_put(t->rec, "exp_H", (int)(n + 1), H);
        double topv[3] = {(double)(argmax(LIN_M, a) == (int)top[0]), top[1],
                          count_increases(n + 1, H, LIN_H_ROUND)};
        ac_trial_put(t->rec, "exp_top", 3, topv);
        /* theory: the erf law, the lag, the ODE, the blow-up */
        ac_trial_enter(t, AC_TRIAL_THEORY);
        double ts = ac_joma_linear_tstar_min(LIN_M, a, AC_JOMA_T_PAPER, NULL);
        double lag[6], ode[3], blow[4];
        double times[2], Y[2 * LIN_M];
        int done = 0;
        ac_joma_reduced red;
        lin_reduced(&red, AC_JOMA_ATT_EXP, a);
        ac_ode_system sys;
        ac_joma_reduced_system(&red, &sys);
        ac_ode_settings os;
        ac_ode_settings_default(&os);
        for (int f = 0; f < 2; f++) {
            long k = lround(lin_fracs[f] * ts / LIN_LR);
            double tk = LIN_LR * (double)k, score = 0.0, raw = 0.0;
            times[f] = tk;
            for (int l = 0; l < LIN_M; l++) {
                double vc = ac_joma_linear_v(a[l], AC_JOMA_T_PAPER, 0.0, tk);
                double vs = k <= n ? V[k * LIN_M + l] : NAN;
                double e1 = ac_joma_sgd_lag_coeff(a[l], vc);
                double fp = vc * a[l] * exp(0.5 * vc * vc);
                double ratio = (vc - vs) / (LIN_LR * e1);
                double sc = fabs(ratio - 1.0) / (LIN_LAG_C * LIN_LR * (1.0 / tk + fp));
                score = ac_max_keep_nan(score, sc);
                raw = ac_max_keep_nan(raw, fabs(vc - vs));
            }
            lag[f] = score;
            lag[2 + f] = raw;
            lag[4 + f] = (double)k;
        }
        ac_ode_info info;
        st = ac_ode_trajectory(w, &sys, 0.0, (double[LIN_M]){0}, 2, times, Y, &done, &os, &info, msg);
        double osc = 0.0;
        for (int f = 0; st == AC_OK && f < 2; f++)
            for (int l = 0; l < LIN_M; l++) {
                double vc = ac_joma_linear_v(a[l], AC_JOMA_T_PAPER, 0.0, times[f]);
                double bnd = LIN_ODE_C * (double)info.steps * (os.atol + os.rtol * fabs(vc)) * exp(0.5 * vc * vc);
                double sc = f < done ? fabs(Y[f * LIN_M + l] - vc) / bnd : NAN;
                osc = ac_max_keep_nan(osc, sc);
            }
        ode[0] = osc;
        ode[1] = (double)info.steps;
        ode[2] = ts;
        double vend[LIN_M];
        if (st == AC_OK)
            st = ac_ode_solve(w, &sys, 0.0, (double[LIN_M]){0}, 2.0 * ts, vend, &os, &info, msg);
        blow[0] = info.status == AC_ODE_BLOWUP || info.status == AC_ODE_STEP_UNDERFLOW;
        blow[1] = info.t;
        blow[2] = fabs(info.t - ts) / (LIN_ODE_C * (double)info.steps * os.rtol * ts);
        blow[3] = (double)info.steps;
        ac_trial_enter(t, AC_TRIAL_OTHER);
        ac_trial_put(t->rec, "lag", 6, lag);
        ac_trial_put(t->rec, "ode", 3, ode);
        ac_trial_put(t->rec, "blow", 4, blow);
        ac_trial_put1(t->rec, "sgd_blow", LIN_LR * (double)(n + 1) / ts);
    }
    /* softmax: the block on x = Delta, and the reduced softmax ODE */
    ac_joma_trainer *tr = NULL;
    if (st == AC_OK)
        st = lin_trainer(&D2, AC_JOMA_ATT_SOFTMAX, LIN_SM_STEPS, &tr, msg);
    if (st == AC_OK) {
        int nh = (int)(LIN_SM_STEPS / LIN_SM_EVERY) + 1;
        double Hs[LIN_SM_STEPS / LIN_SM_EVERY + 1], v[LIN_M], b[LIN_M];
        const ac_joma_model *m = ac_joma_trainer_model(tr);
        ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
        for (long s = 0; st == AC_OK && s <= LIN_SM_STEPS; s++) {
            if (s > 0)
                st = step_or_fail(tr, "linear softmax run", msg);
            if (s % LIN_SM_EVERY == 0)
                Hs[s / LIN_SM_EVERY] = ac_joma_model_entropy(m, &D2, ac_joma_trainer_z(tr));
        }
        ac_trial_enter(t, AC_TRIAL_OTHER);
        if (st == AC_OK) {
            ac_joma_model_project(m, ac_joma_trainer_W(tr), v, NULL);
            mean_attention(&D2, ac_joma_trainer_z(tr), b);
            double rmin = HUGE_VAL, rmax = -HUGE_VAL;
            for (int l = 0; l < LIN_M; l++) {
                double r = ac_joma_erf_ratio(v[l], a[l], AC_JOMA_T_PAPER);
                rmin = ac_min_keep_nan(rmin, r);
                rmax = ac_max_keep_nan(rmax, r);
            }
            double smv[4] = {rmax / rmin - 1.0, count_increases(nh, Hs, LIN_H_ROUND),
                             b[argmax(LIN_M, b)], (double)(argmax(LIN_M, a) == argmax(LIN_M, b))};
            ac_trial_put(t->rec, "sm", 4, smv);
            ac_trial_put(t->rec, "sm_H", nh, Hs);
            /* theory: the reduced softmax ODE to the same time */
            ac_trial_enter(t, AC_TRIAL_THEORY);
            ac_joma_reduced red;
            lin_reduced(&red, AC_JOMA_ATT_SOFTMAX, a);
            ac_ode_system sys;
            ac_joma_reduced_system(&red, &sys);
            double ode[3];
            long steps = 0;
            st = ac_joma_ratio_law_score(&sys, a, LIN_LR * (double)LIN_SM_STEPS, &ode[0], &steps, msg);
            ode[1] = (double)steps;
            ode[2] = 1.0;
            ac_trial_enter(t, AC_TRIAL_OTHER);
            ac_trial_put(t->rec, "sm_ode", 3, ode);
        }
    }
    ac_joma_trainer_free(tr);
    ac_ode_free(w);
    free(V);
    free(H);
    ac_joma_data_clear(&D0);
    ac_joma_data_clear(&D1);
    ac_joma_data_clear(&D2);
    return st;
}

static ac_status rows_linear(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)msg;
    int nt = lin_trials_n(o->size);
    snprintf(res->setup, sizeof res->setup,
             "spec §2.2a on the §4.1 block: Gaussian X (M = %d, 20 samples) of seed %lu+i, K = 1, T = 1, identity "
             "activation, linear loss -h (constant g), zero init, full-batch SGD lr %g; Delta = mean x; exp run until "
             "the iterate overflows; softmax run on the one sample x = Delta for %ld steps; reduced ODEs rk8pd at "
             "rtol %g; %d trials",
             LIN_M, o->seed, LIN_LR, LIN_SM_STEPS, AC_ODE_RTOL_DEFAULT, nt);
    char q[AC_CLAIM_TEXT];
    for (int f = 0; f < 2; f++) {
        snprintf(q, sizeof q, "exp: worst |(v_erf - v_SGD)/(lr e1) - 1| / (%g lr (1/t + f')) at t = %g t*", LIN_LAG_C,
                 lin_fracs[f]);
        ac_claim_add(res, q, "<= 1 (SGD = erf law - lr e1 + O(lr^2))", 1.0, worst_of(set, "lag", f), AC_METRIC_AT_MOST,
                     0.0,
                     "full-batch SGD is the Euler method of the joint flow; its lag behind the erf law is lr e1(t) "
                     "(derived, ac_joma_sgd_lag_coeff) plus a relative O(lr (1/t + f')) remainder (the start and "
                     "the growth f' = v a e^{v^2/2}), coefficient <= 1.2 on the scalar map; 2.5 bounds it");
        snprintf(q, sizeof q, "exp: worst |v_erf - v_SGD| at t = %g t*", lin_fracs[f]);
        ac_claim_add(res, q, "0 as lr -> 0", 0.0, worst_of(set, "lag", 2 + f), AC_METRIC_INFO, 0.0,
                     "the raw lag, explained by the row above");
    }
    ac_claim_add(res, "exp: worst |v_ODE - v_erf| / (10 steps (atol + rtol v) e^{v^2/2}) at 0.5 t* and 0.8 t*",
                 "<= 1", 1.0, worst_of(set, "ode", 0), AC_METRIC_AT_MOST, 0.0,
                 "the integrator's global error is at most its accepted local errors amplified by the flow's "
                 "growth f(v_t)/f(v_s) <= e^{v_t^2/2}; x10 for the error estimate's own error");
    add_judged_count(res, "exp: trials whose ODE ends in a blow-up or step underflow before 2 t*", "every trial",
                     (double)nt, ac_trial_stat(set, "blow", 0).mean * set->nrec, AC_METRIC_AT_LEAST, 0.0,
                     "the linear exp case has a finite-time singularity at t* = sqrt(pi/2)/max Delta (spec §6.2)");
    ac_claim_add(res, "exp: worst |t_end - t*| / (10 steps rtol t*)", "<= 1 (the ODE ends at t*)", 1.0,
                 worst_of(set, "blow", 2), AC_METRIC_AT_MOST, 0.0,
                 "the computed singularity sits within the accumulated relative error (steps x rtol) of t*, x10");
    ac_claim_add(res, "exp: t* of trial 0 (closed form)", "sqrt(pi/2) / max Delta", NAN,
                 ac_trial_get1(&set->rec[0], "ode", 2), AC_METRIC_INFO, 0.0, "reported");
    ac_claim_add(res, "exp: time where trial 0's ODE ended", "t*", ac_trial_get1(&set->rec[0], "ode", 2),
                 ac_trial_get1(&set->rec[0], "blow", 1), AC_METRIC_INFO, 0.0, "judged by the row above");
    ac_claim_add(res, "exp: smallest lr x (last finite SGD step + 1) / t* over the trials",
                 ">= 1 (the Euler iterate stays below the flow until t*)", 1.0, min_of(set, "sgd_blow", 0),
                 AC_METRIC_AT_LEAST, 0.0,
                 "z' = v a e^z, v' = a e^z is cooperative with z', v' increasing along the flow (v >= 0) and the "
                 "Euler map is monotone, so by induction z_n <= z(t_n), v_n <= v(t_n) while t_n < t*: no iterate "
                 "before t* overflows, and the first one that does sits at (n + 1) lr >= t*; exact, no tolerance");
    add_judged_count(res, "exp: entropy increases along SGD (all trials)", "0 (attention sparsifies monotonically)", 0.0,
                     ac_trial_stat(set, "exp_top", 2).max * set->nrec, AC_METRIC_AT_MOST, 0.0,
                     "spec §3.1: the entropy decreases towards 0; increases below " STR(LIN_H_ROUND)
                     " (rounding of a sum of 20 terms) are not counted");
    add_judged_count(res, "exp: trials whose last attention peaks off argmax Delta", "0 (one-hot on argmax Delta)",
                     0.0, set->nrec - ac_trial_stat(set, "exp_top", 0).mean * set->nrec, AC_METRIC_AT_MOST, 0.0,
                     "spec §2.2a: the largest Delta blows up first, attention -> one-hot on it");
    ac_claim_add(res, "exp: mean attention on argmax Delta at the last finite step", "-> 1 as t -> t*", 1.0,
                 ac_trial_stat(set, "exp_top", 1).mean, AC_METRIC_INFO, 0.0, "the limit is judged by trend above");
    ac_claim_add(res, "integrator check, reduced softmax ODE: worst ratio-law spread max/min erf(v_l/sqrt 2)/Delta_l - 1, / (10 steps (rtol + atol/v))",
                 "<= 1 (an identity of the reduced model)", 1.0, worst_of(set, "sm_ode", 0), AC_METRIC_AT_MOST,
                 0.0,
                 "the reduced softmax model is the exp model under the time change dtau = dt/A, where the ratio "
                 "law is exact: this row tests rk8pd, not the paper; the tolerance is the integrator's accumulated "
                 "relative error on v, which bounds erf's");
    ac_claim_add(res, "softmax SGD: worst ratio-law spread at the end", "0 for the reduced model only", 0.0,
                 worst_of(set, "sm", 0), AC_METRIC_INFO, 0.0,
                 "the trained softmax block keeps the law only approximately: the exact substitution leaves the "
                 "factor exp(-1/2 |v|^2 bbar_l), which cancels only for uniform bbar (spec §2.2a caveat); the law "
                 "is the reduced model's, not judged on training");
    add_judged_count(res, "softmax SGD: entropy increases along the run (all trials)", "0", 0.0,
                     ac_trial_stat(set, "sm", 1).max * set->nrec, AC_METRIC_AT_MOST, 0.0,
                     "spec §3.1: sparse over time; increases below " STR(LIN_H_ROUND) " are rounding");
    add_judged_count(res, "softmax SGD: trials whose final attention peaks off argmax Delta", "0", 0.0,
                     set->nrec - ac_trial_stat(set, "sm", 3).mean * set->nrec, AC_METRIC_AT_MOST, 0.0,
                     "spec §2.2a: 1 - b_{l*} -> 0 on l* = argmax Delta");
    ac_claim_add(res, "softmax SGD: mean attention on argmax Delta at the end", "-> 1 (z_{l*} ~ t^2)", 1.0,
                 ac_trial_stat(set, "sm", 2).mean, AC_METRIC_INFO, 0.0, "a limit: judged by trend above");
    /* figure: trial 0's largest, middle and smallest Delta against the erf
     * law, up to 0.95 t* (beyond it v leaves any useful scale) */
    const ac_trial_record *r0 = &set->rec[0];
    const ac_trial_vec *dv = ac_trial_get(r0, "delta"), *ev = ac_trial_get(r0, "exp_v");
    ac_figure *fg = ac_claim_add_figure(res, "joma-linear-components",
                                        "linear activation, exp attention: v_l(t), SGD against the erf law (trial 0)",
                                        "t = lr x step", "v_l", 0, 0);
    if (dv && ev && dv->n == LIN_M) {
        double ts = ac_trial_get1(r0, "ode", 2);
        int n = ev->n / LIN_M, order[LIN_M];
        for (int l = 0; l < LIN_M; l++)
            order[l] = l;
        for (int i = 0; i < LIN_M; i++) /* sort by Delta, descending */
            for (int j = i + 1; j < LIN_M; j++)
                if (dv->v[order[j]] > dv->v[order[i]]) {
                    int tmp = order[i];
                    order[i] = order[j];
                    order[j] = tmp;
                }
        const int pick[3] = {order[0], order[LIN_M / 2], order[LIN_M - 1]};
        int nk = 0;
        while (nk < n && LIN_LR * nk <= 0.95 * ts)
            nk++;
        double *x = malloc(sizeof(double) * (size_t)(nk > 0 ? nk : 1)), *ys = malloc(sizeof(double) * (size_t)(nk > 0 ? nk : 1)),
               *yc = malloc(sizeof(double) * (size_t)(nk > 0 ? nk : 1));
        for (int j = 0; x && ys && yc && nk > 0 && j < 3; j++) {
            for (int k = 0; k < nk; k++) {
                x[k] = LIN_LR * k;
                ys[k] = ev->v[k * LIN_M + pick[j]];
                yc[k] = ac_joma_linear_v(dv->v[pick[j]], AC_JOMA_T_PAPER, 0.0, x[k]);
            }
            char lab[64];
            snprintf(lab, sizeof lab, "SGD, Delta = %.4f", dv->v[pick[j]]);
            ac_figure_add_series(fg, lab, nk, x, ys, NULL, NULL);
            snprintf(lab, sizeof lab, "erf law, Delta = %.4f", dv->v[pick[j]]);
            ac_figure_add_series(fg, lab, nk, x, yc, NULL, NULL);
        }
        free(x);
        free(ys);
        free(yc);
    }
    return AC_OK;
}

/* The vectors every trial of joma.linear-sparse records (ac_trial_def.vectors). */
static const char *const linear_vectors[] = {
    "blow", "delta", "exp_H", "exp_top", "exp_v", "lag", "ode", "sgd_blow", "sm", "sm_H", "sm_ode", NULL
};
static const ac_trial_def linear_trials = {
    .ntrials = trials_linear, .trial = trial_linear, .rows = rows_linear,
    .vectors = linear_vectors};

/* ---- joma.nonlinear-sparse-dense ---------------------------------------- */

/* Spec §3.2, §4.2: the authors' toy map (verify/joma_toy, the experiment)
 * against the reduced SOFTMAX nonlinear ODE with x = 1, T = 3 (theory/joma,
 * the theory) on the seed-0 mu.  The map is the Euler method of the ODE
 * with step eta, so it lags by eta e1(t) + O(eta^2), e1 from the
 * variational equation e1' = J e1 + 1/2 J f, e1(0) = 0 (J the Jacobian of
 * f): the theory's prediction of the map is v - eta e1.  Both are
 * integrated together (dimension 2M) at the map's times t = eta k. */
#define NL_M AC_JOMA_TOY_M
/* The ODE is carried on to t = NL_T_LONG for the salient-first order: the
 * slowest component (mu = 1.27) converges at rate ~ exp((mu^2 -
 * mu_max^2)/3) ~ 0.02, so 2000 is some 40 time constants. */
#define NL_T_LONG 2000.0
/* "Converged": the gap mu - v below this fraction of its start mu - v0.
 * With that definition the order is a theorem: d ln(mu - v)/dt = -s(v), and
 * s grows with v, which grows with mu, so a larger mu's relative gap is
 * always the smaller (the same for the map: (mu - v) <- (mu - v)(1 - eta s)). */
#define NL_EPS 0.05
/* Figures sample the curves every NL_EVERY steps. */
#define NL_EVERY 50
/* The map against the corrected prediction v - eta e1: the remainder is
 * O(eta^2); relative to the first-order term it is O(eta |J|), |J| <= 1 +
 * 2 mu_max^2/T ~ 10 for the normalised form (spec §6.2), i.e. <= 0.2 at
 * eta = 0.02; 0.5 of the first-order term's size bounds it with room.  The
 * dip's depth takes the same fraction of the first-order shift of H. */
#define NL_REMAINDER_FRAC 0.5
/* Added to those tolerances: the rounding of an entropy (M = 10 terms p ln
 * p, a few ulps of ln 10 ~ 1e-15 each), with room, so that a first-order
 * shift of exactly 0 does not leave a tolerance of 0 that rounding alone
 * would break. */
#define NL_H_ROUND 1e-12
/* Dip time: the prediction's minimum on the same grid; a perturbation
 * dH of the curve moves its flat minimum by |dH'/H''|, which the
 * first-order shift bounds (its dH'/H'' is the corrected-uncorrected
 * difference of the minimum's step); half of it plus one grid step (the
 * argmin's resolution). */
/* The spec's §3 reference numbers, printed to 3 decimals ([run], PyTorch
 * peer): half a unit of the last digit. */
#define NL_REF_HMIN 0.942
#define NL_REF_STEP 669
#define NL_REF_HEND 1.549
#define NL_REF_HLIM 1.622
#define NL_REF_TOL 5e-4
/* H(0) = ln M - 1e-8 (the script's epsilon outside the log): the toy sums
 * M = 10 terms p ln p at p = 1/10, a few ulps of ln 10. */
#define NL_H0_TOL 1e-14

typedef struct {
    ac_joma_reduced m;
} nl_ctx;

/* y = [v (M) | e1 (M)]: f = [f(v) | J e1 + 1/2 J f]. */
static int nl_aug_rhs(void *ctx, double t, const double *y, double *f)
{
    const nl_ctx *c = ctx;
    double J[NL_M * NL_M], dfdt[NL_M];
    int rc = ac_joma_reduced_rhs((void *)&c->m, t, y, f);
    if (rc)
        return rc;
    rc = ac_joma_reduced_jac((void *)&c->m, t, y, J, dfdt);
    if (rc)
        return rc;
    for (int i = 0; i < NL_M; i++) {
        double s = 0.0;
        for (int j = 0; j < NL_M; j++)
            s += J[i * NL_M + j] * (y[NL_M + j] + 0.5 * f[j]);
        f[NL_M + i] = s;
    }
    return 0;
}

/* First grid index where every |mu - v| <= eps |mu - v0| per component;
 * -1 (never) gives +inf in times. */
static void reach_times(int n, int M, const double *V, int stride, const double *mu, double v0, double dt,
                        double *tr)
{
    for (int j = 0; j < M; j++) {
        tr[j] = HUGE_VAL;
        for (int k = 0; k < n; k++)
            if (fabs(mu[j] - V[k * stride + j]) <= NL_EPS * fabs(mu[j] - v0)) {
                tr[j] = dt * k;
                break;
            }
    }
}

/* Pairs (a, b) with mu_a < mu_b whose times say a converged strictly first. */
static int inversions(int M, const double *mu, const double *tr)
{
    int c = 0;
    for (int a = 0; a < M; a++)
        for (int b = 0; b < M; b++)
            c += mu[a] < mu[b] && tr[a] < tr[b];
    return c;
}

static long argmin_l(long n, const double *H)
{
    long k = 0;
    for (long i = 1; i < n; i++)
        if (H[i] < H[k])
            k = i;
    return k;
}

/* ---- the trained block: a nonlinear activation in the linear regime ----
 * The reviewer's experiment: the one-layer block of verify/joma_model
 * (public API only; the SGD of joma.invariant) trained with a nonlinear
 * activation, its attention entropy along training over seeds.  The
 * setting is chosen from the spec before any run, not tuned:
 *   - loss LINEAR (-h_y): the back-propagated gradient g = -dL/dh is
 *     constant in time, spec §1.4 Assumption 1 exactly (cross-entropy
 *     breaks it);
 *   - activation tanh (§2.2b/§3.2 "nonlinear activation"; smooth, the one
 *     the crosscheck's joint flow uses);
 *   - softmax attention, T = 0.5, d = 30, identity embeddings, N(0,1)/100
 *     init, full batch, lr 0.1: the authors' §4.1 block;
 *   - data: §4.1 GAUSSIAN X (10 + 10 tokens, 20 classes, one sample per
 *     class), the variant with class-specific salient tokens, drawn per seed.
 * Which regime this block is in (derived, spec §1.3, §2.2): with the
 * linear loss g_{h_k} = [k = y] / N and one sample per class, output k is
 * driven by sample k alone, so
 *   dv_k/dt = E[g_{h_k} h'_k b] = (1/N) h'_k(t) b^(k)(t),  h'_k = 1 - tanh^2(w_k . f^(k)) > 0:
 * the driving term of §2.2 is E[g h' x] = (1/N) h'_k(t) x^(k), a positive
 * scalar times a fixed vector.  The tanh only changes each neuron's clock,
 * dtau_k = h'_k dt, and the block follows the LINEAR-activation dynamics of
 * §2.2a (Delta_k = x^(k) / N) in those clocks: attention sparsifies and
 * never rebounds.  The nonlinear form dv/dt ~ (mu - v) o exp(v^2/2) needs
 * a finite zero mu of E[g h' x] (Theorem 3: a neuron seeing a mixture,
 * gated by phi', on the unit sphere); here E[g h' x] has no zero at any
 * finite w, so the block has no mu and no ODE dip time exists for it, at
 * any horizon or lr.  Theorem 3's own setting (unit-norm neurons, a
 * mixture per class) does not give a fixed mu either once attention is on:
 * the zero of P_v^perp E[g h' b] is v ~ e^{z/T} o E[g h' x / A], a target
 * that moves toward the attended tokens, so attention keeps sharpening
 * (outside the claim: 8 samples per class of 20 tokens drawn from the §4.1
 * class distributions, unit-norm tanh neurons, the linear loss, lr 0.1,
 * seed 1: H 2.25 -> 0.19 at 20000 steps -> 0.044 at 100000, its minimum
 * at the end).  The nonlinear ODE's fixed mu, with attention as a rate
 * factor only, is the paper's "closed-form simplification" (spec §2.2b),
 * not a consequence of a trained block's gradient.  (Outside the claim, the same block and init with
 * identity or ReLU activation collapse to H < 1e-3 within 5000 steps; the
 * tanh block falls slowly, H 2.73 -> 2.57 at 20000 steps -> 1.83 at 400000,
 * seed 1, with its minimum at the last step, as its saturating clock
 * predicts.)  So the rows judge what the theory predicts for this block:
 * sparse first (a dip) and no rebound within the run; the rebound the claim
 * is about is judged on the reduced ODE and the toy above.  The mean
 * entropy over the 20 samples is kept every NLT_EVERY steps; t_min per
 * seed is the argmin of that curve. */
#define NLT_D INV_D
#define NLT_LR INV_LR
#define NLT_T INV_T
#define NLT_EVERY 10
/* One-sided 95 % Student-t lower bounds of the mean over seeds. */
#define NLT_CONF 0.95
/* A dip or rebound must exceed the rounding of the entropy itself: 20
 * samples of 20 terms p ln p each, a few hundred ulps of ln 20 ~ 1e-13 at
 * most; 1e-12 covers it, so a flat curve (t_min at step 0 or at the end)
 * fails. */
#define NLT_ROUND 1e-12

typedef struct {
    int seeds;
    long steps;
} nlt_size;

static nlt_size nlt_size_of(ac_size s)
{
    switch (s) {
    case AC_SIZE_QUICK: return (nlt_size){3, 2000};
    /* paper: five times the default horizon, to see whether a rebound
     * appears later (the derivation above says it never does) */
    case AC_SIZE_PAPER: return (nlt_size){20, 100000};
    default: return (nlt_size){8, 20000};
    }
}

/* One seed: data, init, training; "trained_H" the entropy curve
 * (steps/NLT_EVERY + 1 entries) at the steps "trained_t", "trained" = {H(0),
 * H_min, step of H_min, H(end), H(mid) - H(end)}; "twin" = {H(end), H_min}
 * of the same data, init, lr and steps with the identity activation (the
 * linear case the derivation maps the block to, on an unslowed clock). */
static ac_status nl_trained(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    nlt_size sz = nlt_size_of(o->size);
    ac_joma_data D = {0};
    ac_status st = ac_joma_data_synthetic(&D, AC_JOMA_DATA_GAUSSIAN, INV_MDIST, INV_MCOMMON, INV_K, t->r, msg);
    if (st != AC_OK)
        return st;
    ac_joma_model m = {D.M, D.K, NLT_D, NULL, AC_JOMA_ATT_SOFTMAX, AC_JOMA_MODEL_ACT_TANH,
                       AC_JOMA_MODEL_LOSS_LINEAR, NLT_T};
    double z0[INV_M], W0[NLT_D * INV_K];
    ac_joma_model_init(t->r, &m, AC_JOMA_TRAIN_INIT_SCALE_DEFAULT, z0, W0);
    ac_joma_train_settings s;
    ac_joma_train_settings_default(&s);
    s.attention = m.attention;
    s.activation = m.activation;
    s.loss = m.loss;
    s.lr = NLT_LR;
    s.T = NLT_T;
    s.steps = sz.steps;
    ac_joma_trainer *tr = ac_joma_trainer_alloc(D.N, D.M, D.K, NLT_D);
    if (!tr)
        st = ac_fail(msg, AC_ENOMEM, "no memory for the trainer");
    if (st == AC_OK)
        st = ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, NULL, msg);
    int n = (int)(sz.steps / NLT_EVERY) + 1;
    double *tt = st == AC_OK ? ac_trial_put(t->rec, "trained_t", n, NULL) : NULL;
    for (int i = 0; tt && i < n; i++)
        tt[i] = (double)i * NLT_EVERY;
    double *H = st == AC_OK ? ac_trial_put(t->rec, "trained_H", n, NULL) : NULL;
    if (st == AC_OK && !H)
        st = ac_fail(msg, AC_ENOMEM, "no memory for the entropy curve");
    for (long k = 0; st == AC_OK && k <= sz.steps; k++) {
        if (k > 0) {
            ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
            st = step_or_fail(tr, "trained tanh block", msg);
            ac_trial_enter(t, AC_TRIAL_OTHER);
        }
        if (st == AC_OK && k % NLT_EVERY == 0)
            H[k / NLT_EVERY] = ac_joma_model_entropy(&m, &D, ac_joma_trainer_z(tr));
    }
    if (st == AC_OK) {
        long kmin = argmin_l(n, H);
        double sm[5] = {H[0], H[kmin], (double)(kmin * NLT_EVERY), H[n - 1], H[(n - 1) / 2] - H[n - 1]};
        ac_trial_put(t->rec, "trained", 5, sm);
    }
    /* the identity-activation twin */
    s.activation = m.activation = AC_JOMA_MODEL_ACT_IDENTITY;
    if (st == AC_OK)
        st = ac_joma_trainer_set(tr, &D, NULL, &s, z0, W0, NULL, msg);
    double tw[2] = {NAN, HUGE_VAL};
    for (long k = 0; st == AC_OK && k <= sz.steps; k++) {
        if (k > 0) {
            ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
            st = step_or_fail(tr, "identity twin of the trained block", msg);
            ac_trial_enter(t, AC_TRIAL_OTHER);
        }
        if (st == AC_OK && k % NLT_EVERY == 0) {
            tw[0] = ac_joma_model_entropy(&m, &D, ac_joma_trainer_z(tr));
            tw[1] = ac_min_keep_nan(tw[1], tw[0]);
        }
    }
    if (st == AC_OK)
        ac_trial_put(t->rec, "twin", 2, tw);
    ac_joma_trainer_free(tr);
    ac_joma_data_clear(&D);
    return st;
}

/* One-sided NLT_CONF lower bound of the mean of x[0..n); NaN for n < 2. */
static double nlt_lower(const double *x, int n, double *mean, double *sd)
{
    ac_trial_stats s = ac_trial_stats_of(x, n);
    *mean = s.mean;
    *sd = s.sd;
    return n < 2 ? NAN : s.mean - gsl_cdf_tdist_Pinv(NLT_CONF, n - 1) * s.sd / sqrt((double)n);
}

/* Trial 0: the toy, the ODE with its lag, the long ODE. */
static ac_status nl_toy(ac_trial *t, ac_msg *msg)
{
    ac_joma_toy_settings ts;
    ac_joma_toy_settings_default(&ts);
    const long S = ts.steps;
    const int M = NL_M;
    double mu[NL_M];
    ac_joma_toy_mu_seed0(mu);
    double *Ht = malloc(sizeof(double) * (size_t)S), *Vt = malloc(sizeof(double) * (size_t)((S + 1) * M)),
           *times = malloc(sizeof(double) * (size_t)S), *Y = malloc(sizeof(double) * (size_t)(S * 2 * M)),
           *Ho = malloc(sizeof(double) * (size_t)S), *Hp = malloc(sizeof(double) * (size_t)S);
    ac_ode_workspace *w = ac_ode_alloc(2 * M);
    ac_status st = AC_OK;
    ac_joma_toy_summary sum;
    if (!Ht || !Vt || !times || !Y || !Ho || !Hp || !w)
        st = ac_fail(msg, AC_ENOMEM, "no memory for the toy");
    if (st == AC_OK) {
        ac_trial_enter(t, AC_TRIAL_EXPERIMENT);
        st = ac_joma_toy_run(&ts, M, mu, Ht, Vt, &sum, msg);
        ac_trial_enter(t, AC_TRIAL_OTHER);
    }
    nl_ctx c;
    ac_joma_reduced_init(&c.m, M, AC_JOMA_ATT_SOFTMAX, AC_JOMA_ACT_NONLINEAR, mu);
    c.m.T = ts.T;
    double tr_ode[NL_M], tr_toy[NL_M], Hlong = NAN;
    if (st == AC_OK) {
        ac_trial_enter(t, AC_TRIAL_THEORY);
        for (long k = 0; k < S; k++)
            times[k] = ts.eta * (double)k;
        double y0[2 * NL_M];
        for (int j = 0; j < M; j++) {
            y0[j] = ts.v0;
            y0[M + j] = 0.0;
        }
        ac_ode_system sys = {2 * M, nl_aug_rhs, NULL, NULL, &c};
        ac_ode_settings os;
        ac_ode_settings_default(&os);
        ac_ode_info info;
        int done = 0;
        st = ac_ode_trajectory(w, &sys, 0.0, y0, (int)S, times, Y, &done, &os, &info, msg);
        if (st == AC_OK && info.status != AC_ODE_DONE) {
            ac_msg m2;
            ac_ode_info_message(&info, &m2);
            st = ac_fail(msg, AC_ENUMERIC, "toy ODE: %s", m2.text);
        }
        for (long k = 0; st == AC_OK && k < S; k++) {
            double vp[NL_M];
            const double *y = Y + k * 2 * M;
            for (int j = 0; j < M; j++)
                vp[j] = y[j] - ts.eta * y[M + j];
            Ho[k] = ac_joma_entropy(&c.m, y) - AC_JOMA_TOY_ENTROPY_EPS;
            Hp[k] = ac_joma_entropy(&c.m, vp) - AC_JOMA_TOY_ENTROPY_EPS;
        }
        /* the long run, watched at every accepted step for the reach times */
        if (st == AC_OK) {
            ac_ode_system s1;
            ac_joma_reduced_system(&c.m, &s1);
            ac_ode_workspace *w1 = ac_ode_alloc(M);
            double v0[NL_M];
            for (int j = 0; j < M; j++) {
                v0[j] = ts.v0;
                tr_ode[j] = HUGE_VAL;
            }
            st = w1 ? ac_ode_set(w1, &s1, 0.0, v0, NL_T_LONG, &os, msg) : ac_fail(msg, AC_ENOMEM, "no memory");
            while (st == AC_OK && !ac_ode_test(w1, &info)) {
                ac_ode_step(w1);
                const double *v = ac_ode_y(w1);
                for (int j = 0; j < M; j++)
                    if (tr_ode[j] == HUGE_VAL && fabs(mu[j] - v[j]) <= NL_EPS * fabs(mu[j] - ts.v0))
                        tr_ode[j] = ac_ode_t(w1);
            }
            if (st == AC_OK && info.status != AC_ODE_DONE)
                st = ac_fail(msg, AC_ENUMERIC, "long toy ODE ended early (%s)", ac_ode_outcome_str(info.status));
            if (st == AC_OK)
                Hlong = ac_joma_entropy(&c.m, ac_ode_y(w1));
            ac_ode_free(w1);
        }
        ac_trial_enter(t, AC_TRIAL_OTHER);
    }
    if (st == AC_OK) {
        reach_times((int)(S + 1), M, Vt, M, mu, ts.v0, ts.eta, tr_toy);
        ac_trial_put(t->rec, "mu", M, mu);
        ac_trial_put(t->rec, "toy_H", (int)S, Ht);
        ac_trial_put(t->rec, "ode_H", (int)S, Ho);
        ac_trial_put(t->rec, "pred_H", (int)S, Hp);
        long nf = S / NL_EVERY + 1;
        double *tv = ac_trial_put(t->rec, "toy_v", (int)(nf * M), NULL);
        for (long k = 0; tv && k < nf; k++)
            memcpy(tv + k * M, Vt + k * NL_EVERY * M, sizeof(double) * (size_t)M);
        double *ov = ac_trial_put(t->rec, "ode_v", (int)(nf * M), NULL);
        for (long k = 0; ov && k < nf; k++) {
            long kk = k * NL_EVERY < S ? k * NL_EVERY : S - 1;
            memcpy(ov + k * M, Y + kk * 2 * M, sizeof(double) * (size_t)M);
        }
        /* the map against the prediction, over the run: worst |v_toy - (v -
         * eta e1)| and the worst first-order term eta |e1| */
        double rem = 0.0, first = 0.0;
        for (long k = 0; k < S; k++)
            for (int j = 0; j < M; j++) {
                const double *y = Y + k * 2 * M;
                rem = ac_max_keep_nan(rem, fabs(Vt[k * M + j] - (y[j] - ts.eta * y[M + j])));
                first = ac_max_keep_nan(first, fabs(ts.eta * y[M + j]));
            }
        double s[4] = {rem, first, (double)inversions(M, mu, tr_ode), (double)inversions(M, mu, tr_toy)};
        ac_trial_put(t->rec, "lag", 4, s);
        ac_trial_put(t->rec, "reach_ode", M, tr_ode);
        ac_trial_put(t->rec, "reach_toy", M, tr_toy);
        double sm[5] = {sum.H0, sum.H_min, (double)sum.step_min, sum.H_end, sum.H_limit};
        ac_trial_put(t->rec, "toy_summary", 5, sm);
        ac_trial_put1(t->rec, "H_long", Hlong);
    }
    ac_ode_free(w);
    free(Ht);
    free(Vt);
    free(times);
    free(Y);
    free(Ho);
    free(Hp);
    return st;
}

/* Every trial trains one seed of the block; trial 0 also runs the toy. */
static ac_status trial_nonlinear(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    ac_status st = t->rec->index == 0 ? nl_toy(t, msg) : AC_OK;
    return st == AC_OK ? nl_trained(o, t, msg) : st;
}

static int trials_nonlinear(const ac_run_opts *o)
{
    return nlt_size_of(o->size).seeds;
}

static int trials_one(const ac_run_opts *o)
{
    (void)o;
    return 1;
}

static ac_status rows_nonlinear(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)msg;
    const ac_trial_record *r = &set->rec[0];
    ac_joma_toy_settings ts;
    ac_joma_toy_settings_default(&ts);
    snprintf(res->setup, sizeof res->setup,
             "spec §4.2 toy: v <- v + %g (mu - v) o softmax(v^2/%g), v(0) = %g, %ld steps, mu = the authors' seed-0 "
             "draw; the ODE dv/dt = (mu - v) o softmax(v^2/T) (theory/joma, rk8pd rtol %g) with its Euler lag e1 "
             "(variational equation), and to t = %g for the salient-first order (gap <= %g of its start)",
             ts.eta, ts.T, ts.v0, ts.steps, AC_ODE_RTOL_DEFAULT, NL_T_LONG, NL_EPS);
    const ac_trial_vec *Ht = ac_trial_get(r, "toy_H"), *Ho = ac_trial_get(r, "ode_H"), *Hp = ac_trial_get(r, "pred_H");
    long S = Ht ? Ht->n : 0;
    double nan = NAN;
    const double *ht = Ht ? Ht->v : &nan, *ho = Ho ? Ho->v : &nan, *hp = Hp ? Hp->v : &nan;
    if (!Ho || !Hp || Ho->n != S || Hp->n != S)
        S = 0;
    long kt = S ? argmin_l(S, ht) : 0, ko = S ? argmin_l(S, ho) : 0, kp = S ? argmin_l(S, hp) : 0;
    double lnM = log((double)NL_M) - AC_JOMA_TOY_ENTROPY_EPS;
    ac_claim_add(res, "H at step 0", "ln M - 1e-8 (uniform attention; the script's epsilon)", lnM, S ? ht[0] : NAN,
                 AC_METRIC_ABS, NL_H0_TOL, "an identity: M = 10 terms of p ln p at p = 1/10, a few ulps");
    /* the dip, toy against the ODE's prediction of the map */
    double shiftH = S ? fabs(hp[kp] - ho[ko]) : NAN;
    ac_claim_add(res, "discretisation check (the toy map is the ODE's Euler method): dip depth: toy H_min against the ODE's (with the Euler lag)", "ODE H_min, corrected by eta e1",
                 S ? hp[kp] : NAN, S ? ht[kt] : NAN, AC_METRIC_ABS, NL_REMAINDER_FRAC * shiftH + NL_H_ROUND,
                 "the map is the ODE's Euler method: it differs from the corrected prediction by O(eta^2), "
                 "<= 0.2 of the first-order shift |H_min(corrected) - H_min(ODE)| at eta |J| <= 0.2; half of it");
    double shiftT = S ? fabs((double)(kp - ko)) : NAN;
    add_judged_count(res, "discretisation check: dip time: toy's step of H_min against the ODE's (with the Euler lag)",
                     "ODE's argmin, corrected by eta e1", (double)kp, S ? (double)kt : NAN, AC_METRIC_ABS,
                     NL_REMAINDER_FRAC * shiftT + 1.0,
                     "the first-order shift moves the flat minimum by |kp - ko| steps; the O(eta^2) remainder by at "
                     "most half of that, plus one step for the argmin on the grid");
    ac_claim_add(res, "dip time of the ODE itself (t = eta x step)", "", NAN, ts.eta * (double)ko, AC_METRIC_INFO, 0.0,
                 "the continuous-time dip; the map's is eta x its step");
    ac_claim_add(res, "dip depth of the ODE itself", "", NAN, S ? ho[ko] : NAN, AC_METRIC_INFO, 0.0,
                 "the continuous-time minimum of H");
    double rem = ac_trial_get1(r, "lag", 0), first = ac_trial_get1(r, "lag", 1);
    ac_claim_add(res, "discretisation check: worst |v_toy - (v_ODE - eta e1)| over the run, / worst eta |e1|", "O(eta) remainder", 0.0,
                 rem / first, AC_METRIC_AT_MOST, NL_REMAINDER_FRAC,
                 "O(eta^2) against the O(eta) term: eta |J| <= 0.2 at eta = 0.02; 0.5 bounds it");
    ac_claim_add(res, "toy: drop H(0) - H_min", "> 0 (sparse first)", 0.0, S ? ht[0] - ht[kt] : NAN,
                 AC_METRIC_INFO, 0.0, "its size is judged against the ODE above");
    ac_claim_add(res, "toy: rebound H(end) - H_min", "> 0 (then dense)", 0.0, S ? ht[S - 1] - ht[kt] : NAN,
                 AC_METRIC_INFO, 0.0, "judged against the ODE in the next row");
    ac_claim_add(res, "discretisation check: toy rebound H(end) - H_min against the ODE's prediction", "ODE, corrected by eta e1",
                 S ? hp[S - 1] - hp[kp] : NAN, S ? ht[S - 1] - ht[kt] : NAN, AC_METRIC_ABS,
                 NL_REMAINDER_FRAC * (S ? fabs((hp[S - 1] - hp[kp]) - (ho[S - 1] - ho[ko])) : NAN) + NL_H_ROUND,
                 "as the dip depth: O(eta^2) remainder, half of the first-order shift");
    ac_claim_add(res, "ODE: H at t = 2000 against H(softmax(mu^2/T))", "the limit (dense)",
                 ac_trial_get1(r, "toy_summary", 4) + AC_JOMA_TOY_ENTROPY_EPS, ac_trial_get1(r, "H_long", 0),
                 AC_METRIC_INFO, 0.0, "the approach to the limit, shown");
    /* salient first: the pairs out of order, counted here from the recorded
     * reach times (the trial's own counts, lag[2] and lag[3], are the same
     * numbers; counting them again from the times lets a planted time be
     * seen) */
    const ac_trial_vec *mu_r = ac_trial_get(r, "mu"), *ro = ac_trial_get(r, "reach_ode"),
                       *rt = ac_trial_get(r, "reach_toy");
    int reach_ok = mu_r && ro && rt && mu_r->n == NL_M && ro->n == NL_M && rt->n == NL_M;
    double inv_ode = reach_ok ? (double)inversions(NL_M, mu_r->v, ro->v) : NAN,
           inv_toy = reach_ok ? (double)inversions(NL_M, mu_r->v, rt->v) : NAN;
    add_judged_count(res, "ODE: pairs converging out of order of mu (gap <= 5% of its start)", "0 (salient first)",
                     0.0, inv_ode, AC_METRIC_AT_MOST, 0.0,
                     "a theorem for the relative gap: d ln(mu - v)/dt = -s(v), s increasing in v and v in mu");
    add_judged_count(res, "toy: pairs converging out of order of mu within its 5000 steps", "0 (salient first)", 0.0,
                     inv_toy, AC_METRIC_AT_MOST, 0.0,
                     "the same for the map: (mu - v) <- (mu - v)(1 - eta s); unconverged components count as later");
    /* §3 reference numbers beside ours */
    ac_claim_add(res, "§3 reference numbers: toy H_min (spec §3 [run])", "0.942", NL_REF_HMIN, ac_trial_get1(r, "toy_summary", 1),
                 AC_METRIC_ABS, NL_REF_TOL, "the spec prints 3 decimals: half a unit of the last");
    add_judged_count(res, "§3 reference numbers: toy step of H_min (spec §3 [run])", "669", NL_REF_STEP, ac_trial_get1(r, "toy_summary", 2),
                     AC_METRIC_ABS, 0.0, "the same map in double: the same step");
    ac_claim_add(res, "§3 reference numbers: toy H(step 4999) (spec §3 [run])", "1.549", NL_REF_HEND, ac_trial_get1(r, "toy_summary", 3),
                 AC_METRIC_ABS, NL_REF_TOL, "the spec prints 3 decimals: half a unit of the last");
    ac_claim_add(res, "§3 reference numbers: H(softmax(mu^2/3)) (spec §3 [run])", "1.622", NL_REF_HLIM,
                 ac_trial_get1(r, "toy_summary", 4) + AC_JOMA_TOY_ENTROPY_EPS, AC_METRIC_ABS, NL_REF_TOL,
                 "the spec prints 3 decimals: half a unit of the last");
    /* the trained block (tanh, linear loss): dip and rebound over seeds */
    {
        nlt_size sz = nlt_size_of(o->size);
        int n = set->nrec;
        double *dip = malloc(sizeof(double) * (size_t)(n ? n : 1)), *reb = malloc(sizeof(double) * (size_t)(n ? n : 1)),
               *tm = malloc(sizeof(double) * (size_t)(n ? n : 1)), *hm = malloc(sizeof(double) * (size_t)(n ? n : 1));
        if (!dip || !reb || !tm || !hm)
            n = 0;
        for (int i = 0; i < n; i++) {
            const ac_trial_record *ri = &set->rec[i];
            double h0 = ac_trial_get1(ri, "trained", 0), hmin = ac_trial_get1(ri, "trained", 1),
                   hend = ac_trial_get1(ri, "trained", 3);
            dip[i] = h0 - hmin;
            reb[i] = hend - hmin;
            tm[i] = ac_trial_get1(ri, "trained", 2);
            hm[i] = hmin;
        }
        double dm, ds, rm, rs, tmm, tms, hmm, hms;
        double dlo = nlt_lower(dip, n, &dm, &ds), rlo = nlt_lower(reb, n, &rm, &rs);
        nlt_lower(tm, n, &tmm, &tms);
        nlt_lower(hm, n, &hmm, &hms);
        char why[512];
        snprintf(why, sizeof why,
                 "%d seeds of the §4.1 gaussian data, softmax T %g, tanh, the linear loss (Assumption 1), lr %g, full "
                 "batch, %ld steps",
                 n, NLT_T, NLT_LR, sz.steps);
        add_count(res, "trained block (tanh, linear loss): seeds", "", (double)n, why);
        ac_claim_add(res, "trained block: step of H_min, mean over seeds (sd in the next row)", "", NAN, tmm,
                     AC_METRIC_INFO, 0.0, "t_min per seed: the argmin of its entropy curve, kept every 10 steps");
        ac_claim_add(res, "trained block: step of H_min, sd over seeds", "", NAN, tms, AC_METRIC_INFO, 0.0, "");
        ac_claim_add(res, "trained block: H_min, mean over seeds", "", NAN, hmm, AC_METRIC_INFO, 0.0, "");
        ac_claim_add(res, "trained block: dip H(0) - H(t_min), mean over seeds", "", NAN, dm, AC_METRIC_INFO, 0.0, "");
        ac_claim_add(res, "trained block: rebound H(end) - H(t_min), mean over seeds", "", NAN, rm, AC_METRIC_INFO, 0.0,
                     "");
        snprintf(why, sizeof why,
                 "sparse first: one-sided %g%% Student-t lower bound over the seeds; above the entropy's rounding %g "
                 "(a curve whose minimum is its start fails)",
                 100.0 * NLT_CONF, NLT_ROUND);
        ac_claim_add(res, "trained block: dip H(0) - H(t_min), 95% lower bound over seeds", "> 0 (sparse first)",
                     NLT_ROUND, n >= 2 ? dlo : NAN, AC_METRIC_AT_LEAST, 0.0, why);
        ac_claim_add(res, "trained block: rebound H(end) - H(t_min), 95% lower bound over seeds", "", NAN,
                     n >= 2 ? rlo : NAN, AC_METRIC_INFO, 0.0,
                     "shown: the theory predicts no rebound for this block (next row)");
        int nreb = 0;
        for (int i = 0; i < n; i++)
            nreb += reb[i] > NLT_ROUND;
        snprintf(why, sizeof why,
                 "the linear loss with one sample per output makes E[g h' x] = h'_k(t) x^(k) / N: tanh only "
                 "rescales each neuron's clock, so the block is the linear case of §2.2a (no target mu, no "
                 "rebound at any horizon); a seed whose H(end) exceeds its minimum by more than the rounding %g "
                 "contradicts it",
                 NLT_ROUND);
        add_judged_count(res, "trained block (linear regime by §2.2): seeds that rebound, H(end) - H(t_min) above rounding",
                         "0 (no rebound predicted)", 0.0, n ? (double)nreb : NAN, AC_METRIC_AT_MOST, 0.0, why);
        ac_claim_add(res, "trained block: H(mid-run) - H(end), mean over seeds", "", NAN,
                     ac_trial_stat(set, "trained", 4).mean, AC_METRIC_INFO, 0.0,
                     "> 0: the entropy still falls over the second half of the run");
        ac_claim_add(res, "identity-activation twin (same data, init, lr, steps): H(end), mean over seeds", "", NAN,
                     ac_trial_stat(set, "twin", 0).mean, AC_METRIC_INFO, 0.0,
                     "the linear case the block maps to, on an unslowed clock: it sparsifies to near 0; the tanh "
                     "block's saturating clock h'_k = 1 - tanh^2 slows the same fall");
        ac_claim_add(res, "trained block: dip time against the ODE's", "not compared", NAN, NAN, AC_METRIC_INFO, 0.0,
                     "no mu exists for this block: the nonlinear ODE's mu is a finite zero of E[g h' x], and here "
                     "E[g h' x] = h'_k x^(k) / N with h'_k > 0 never vanishes; its dip is the end of the run");
        free(dip);
        free(reb);
        free(tm);
        free(hm);
        ac_figure *fb = ac_claim_add_figure(res, "joma-nonlinear-trained",
                                            "trained block (tanh, linear loss, softmax T 0.5): attention entropy, "
                                            "mean over seeds with the [min, max] band",
                                            "SGD step", "H (nats)", 0, 0);
        ac_trial_band(fb, "trained block", set, "trained_t", "trained_H", 0);
    }
    /* figures */
    const ac_trial_vec *tv = ac_trial_get(r, "toy_v"), *ov = ac_trial_get(r, "ode_v"), *mu = ac_trial_get(r, "mu");
    ac_figure *f = ac_claim_add_figure(res, "joma-nonlinear-components",
                                       "toy components v_j(t) against their targets mu_j: the salient converge first",
                                       "t = eta x step", "v_j", 0, 0);
    if (tv && ov && mu && tv->n == ov->n) {
        int nf = tv->n / NL_M, no = (nf + 1) / 2;
        double *x = malloc(sizeof(double) * (size_t)nf), *y = malloc(sizeof(double) * (size_t)nf),
               *xo = malloc(sizeof(double) * (size_t)no), *yo = malloc(sizeof(double) * (size_t)no);
        const int shown[4] = {0, 3, 6, NL_M - 1}; /* lowest to highest mu */
        for (int c = 0; x && y && xo && yo && c < 4; c++) {
            int j = shown[c];
            for (int k = 0; k < nf; k++) {
                x[k] = ts.eta * NL_EVERY * k;
                y[k] = tv->v[k * NL_M + j];
            }
            for (int k = 0; k < no; k++) {
                xo[k] = x[2 * k];
                yo[k] = ov->v[2 * k * NL_M + j];
            }
            char lab[64];
            snprintf(lab, sizeof lab, "toy map, mu = %.3f", mu->v[j]);
            ac_figure_add_series(f, lab, nf, x, y, NULL, NULL);
            snprintf(lab, sizeof lab, "ODE, mu = %.3f", mu->v[j]);
            ac_figure_add_series(f, lab, no, xo, yo, NULL, NULL);
            double xm[2] = {0.0, x[nf - 1]}, ym[2] = {mu->v[j], mu->v[j]};
            snprintf(lab, sizeof lab, "target mu = %.3f", mu->v[j]);
            ac_figure_add_series(f, lab, 2, xm, ym, NULL, NULL);
        }
        free(x);
        free(y);
        free(xo);
        free(yo);
    }
    f = ac_claim_add_figure(res, "joma-nonlinear-entropy", "attention entropy: dip and rebound, toy map beside the ODE",
                            "t = eta x step", "H (nats)", 0, 0);
    if (S) {
        double *x = malloc(sizeof(double) * (size_t)S);
        for (long k = 0; x && k < S; k++)
            x[k] = ts.eta * (double)k;
        if (x) {
            ac_figure_add_series(f, "toy map (training)", (int)S, x, ht, NULL, NULL);
            ac_figure_add_series(f, "ODE", (int)S, x, ho, NULL, NULL);
            ac_figure_add_series(f, "ODE with the Euler lag eta e1", (int)S, x, hp, NULL, NULL);
        }
        free(x);
    }
    return AC_OK;
}

/* The vectors every trial of joma.nonlinear-sparse-dense records (ac_trial_def.vectors).
 * Left out, as only some trials record them: trial 0's toy and ODE curves. */
static const char *const nonlinear_vectors[] = {"trained", "trained_H", "trained_t", "twin", NULL};
static const ac_trial_def nonlinear_trials = {
    .ntrials = trials_nonlinear, .trial = trial_nonlinear, .rows = rows_nonlinear,
    .vectors = nonlinear_vectors};

/* ---- joma.solver-crosscheck --------------------------------------------- */

/* Spec §6.2-§6.4.  One trial draws small systems from t->r:
 *   (a) the linear exp reduced model (M = 4, Delta ~ 0.5 + U[0,1)) by rk8pd
 *       and msbdf to 0.9 t*, against the erf closed form;
 *   (b) the paper's nonlinear form dv/dt = (mu - v) exp(v^2/2) (mu ~ 1 + U,
 *       so that the gap mu - v stays >= 1e-4 at t = 1.5, where the quadrature
 *       keeps its digits, spec §6.3 I4) by msbdf, F_j(v_j(t)) by quadrature
 *       against t;
 *   (c) the same by rk8pd, msbdf and rk4imp against MPFR Gauss-Legendre (s =
 *       6, 128 bits, h = 0.01);
 *   (d) the joint flow (M = 3, K = 2, N = 3) with exp and linear attention:
 *       MPFR Gauss-Legendre (s = 4, 128 bits) keeps the invariant at h =
 *       0.5, 0.25, 0.1;
 *   (e) MPFR RK4 on the same: residual at h = 0.05, 0.025, 0.0125;
 *   (f) the softmax joint flow (bbar = mean x): the drift of its "invariant"
 *       against the integrated covariance term (GL s = 8, 192 bits). */
#define XC_M 4
#define XC_JM 3
#define XC_JK 2
#define XC_JN 3
#define XC_JDIM (XC_JM + XC_JK * XC_JM + XC_JK)
#define XC_PREC 128
#define XC_PREC_SM 192
#define XC_T1 1.5
/* The MPFR reference of (c): GL s = 6 (order 12), 150 steps of h = 0.01:
 * error ~ C 1e-24, far below double. */
#define XC_REF_STAGES 6
#define XC_REF_STEPS 150
/* (d): GL s = 4 (order 8); (f): GL s = 8 (order 16), 50 steps over t = 1. */
#define XC_GL_STAGES 4
#define XC_SM_STAGES 8
#define XC_SM_STEPS 50
#define XC_SM_T1 1.0
/* Tolerances of the double runs of (b), (c): tight, so that the Dahlquist
 * bound (~1e3 steps x rtol x growth) stays ~1e-10. */
#define XC_RTOL 1e-12
#define XC_ATOL 1e-14
/* QAG's targets: a few hundred ulps of F = O(1), reachable in double. */
#define XC_QUAD_ABS 1e-14
#define XC_QUAD_REL 1e-13
/* Gauss-Legendre keeps quadratic invariants exactly for exact stages; the
 * stages are solved to 2^-(128-8) and each step rounds O(dim s) terms, so
 * after <= 20 steps the drift is below 20 x 2^-100 ~ 1e-29 at worst: 1e-30
 * (30 digits) is the spec's demand (§6.4a). */
#define XC_GL_TOL 1e-30
/* RK4 (p = 4): the residual is C h^4 (1 + O(h)); over h = 0.05 .. 0.0125 the
 * O(h) correction moves the fitted order by <= 0.4. */
#define XC_RK_P 4.0
#define XC_RK_TOL 0.4
/* (f): I - w is a first integral but not a quadratic one, so GL (order 16)
 * keeps it to its truncation error C h^16 = C 6.6e-28 at h = 0.02, C = O(1):
 * 1e-20 leaves room for C and sits 14 orders below the drift. */
#define XC_SM_TOL 1e-20
/* The drift must be visible: far above the 1e-20 of the check, O(0.01-1)
 * for data of size O(1) over t = 1; 1e-6 says "not conserved". */
#define XC_SM_VISIBLE 1e-6
/* Double global error: accepted local errors (2.2 (atol + rtol |v|) each,
 * the estimate being of the lower order) amplified by exp(int max(0,
 * mu_inf(J)) dt), taken on both ends of each step and doubled (Dahlquist). */
#define XC_LOCAL_C 2.2

static mpfr_t *mp_vec(int n, mpfr_prec_t prec)
{
    mpfr_t *v = malloc(sizeof(mpfr_t) * (size_t)n);
    for (int i = 0; v && i < n; i++)
        mpfr_init2(v[i], prec);
    return v;
}

static void mp_vec_free(mpfr_t *v, int n)
{
    for (int i = 0; v && i < n; i++)
        mpfr_clear(v[i]);
    free(v);
}

ac_status ac_joma_mpfr_invariant_drift(const ac_joma_joint *J, ac_ode_mpfr_rhs F, const double *y0,
                                       ac_ode_mpfr_method meth, int stages, long nsteps, double t1,
                                       mpfr_prec_t prec, double *drift, ac_msg *msg)
{
    int n = ac_joma_joint_dim(J), M = J->M;
    mpfr_t *y = mp_vec(n, prec), *I0 = mp_vec(M, prec), *I = mp_vec(M, prec);
    ac_ode_mpfr_stepper *st = ac_ode_mpfr_stepper_alloc(meth, n, stages, prec);
    ac_status s = AC_OK;
    if (!y || !I0 || !I || !st)
        s = ac_fail(msg, AC_ENOMEM, "no memory for the MPFR integration");
    if (s == AC_OK) {
        for (int i = 0; i < n; i++)
            mpfr_set_d(y[i], y0[i], MPFR_RNDN);
        ac_joma_joint_invariant_mpfr(J, y, I0, prec);
        s = ac_ode_mpfr_integrate(st, F, (void *)J, y, 0.0, t1, nsteps, NULL);
        if (s != AC_OK)
            ac_fail(msg, s, "MPFR %s integration (%ld steps): %s", meth == AC_ODE_MPFR_GL ? "Gauss-Legendre" : "RK4",
                    nsteps, ac_status_str(s));
    }
    if (s == AC_OK) {
        ac_joma_joint_invariant_mpfr(J, y, I, prec);
        double mx = 0.0;
        for (int l = 0; l < M; l++) {
            mpfr_sub(I[l], I[l], I0[l], MPFR_RNDN);
            mx = ac_max_keep_nan(mx, fabs(mpfr_get_d(I[l], MPFR_RNDN)));
        }
        *drift = mx;
    }
    ac_ode_mpfr_stepper_free(st);
    mp_vec_free(y, n);
    mp_vec_free(I0, M);
    mp_vec_free(I, M);
    return s;
}

typedef struct {
    const ac_joma_joint *J;
    ac_ode_mpfr_rhs F;
} sm_aug;

static int sm_aug_rhs(void *ctx, mpfr_t *y, mpfr_t *f, mpfr_prec_t prec)
{
    const sm_aug *a = ctx;
    int rc = a->F((void *)a->J, y, f, prec);
    if (rc)
        return rc;
    ac_joma_joint_invariant_rate_mpfr(a->J, y, f + ac_joma_joint_dim(a->J), prec);
    return 0;
}

ac_status ac_joma_mpfr_softmax_drift(const ac_joma_joint *J, ac_ode_mpfr_rhs F, const double *y0, int stages,
                                     long nsteps, double t1, mpfr_prec_t prec, double *drift, double *miss,
                                     ac_msg *msg)
{
    int n = ac_joma_joint_dim(J), M = J->M;
    mpfr_t *y = mp_vec(n + M, prec), *I0 = mp_vec(M, prec), *I = mp_vec(M, prec);
    ac_ode_mpfr_stepper *st = ac_ode_mpfr_stepper_alloc(AC_ODE_MPFR_GL, n + M, stages, prec);
    ac_status s = AC_OK;
    if (!y || !I0 || !I || !st)
        s = ac_fail(msg, AC_ENOMEM, "no memory for the MPFR integration");
    if (s == AC_OK) {
        for (int i = 0; i < n; i++)
            mpfr_set_d(y[i], y0[i], MPFR_RNDN);
        for (int l = 0; l < M; l++)
            mpfr_set_zero(y[n + l], 1);
        ac_joma_joint_invariant_mpfr(J, y, I0, prec);
        sm_aug a = {J, F};
        s = ac_ode_mpfr_integrate(st, sm_aug_rhs, &a, y, 0.0, t1, nsteps, NULL);
        if (s != AC_OK)
            ac_fail(msg, s, "MPFR softmax integration: %s", ac_status_str(s));
    }
    if (s == AC_OK) {
        ac_joma_joint_invariant_mpfr(J, y, I, prec);
        double dmax = 0.0, mmax = 0.0;
        for (int l = 0; l < M; l++) {
            mpfr_sub(I[l], I[l], I0[l], MPFR_RNDN);
            double d = mpfr_get_d(I[l], MPFR_RNDN);
            if (!isnan(dmax) && (isnan(d) || fabs(d) > fabs(dmax)))
                dmax = d; /* the largest in size; a NaN, once met, stays */
            mpfr_sub(I[l], I[l], y[n + l], MPFR_RNDN);
            mmax = ac_max_keep_nan(mmax, fabs(mpfr_get_d(I[l], MPFR_RNDN)));
        }
        *drift = dmax;
        *miss = mmax;
    }
    ac_ode_mpfr_stepper_free(st);
    mp_vec_free(y, n + M);
    mp_vec_free(I0, M);
    mp_vec_free(I, M);
    return s;
}

/* The logarithmic infinity norm of the reduced Jacobian at v. */
static double lognorm_inf(const ac_joma_reduced *m, const double *v)
{
    int M = m->M;
    double J[XC_M * XC_M], dfdt[XC_M], mx = -HUGE_VAL;
    ac_joma_reduced_jac((void *)m, 0.0, v, J, dfdt);
    for (int l = 0; l < M; l++) {
        double s = J[l * M + l];
        for (int i = 0; i < M; i++)
            if (i != l)
                s += fabs(J[l * M + i]);
        mx = ac_max_keep_nan(mx, s);
    }
    return mx;
}

/* Step w to its end and return the Dahlquist bound on the global error. */
static double xc_run_bound(ac_ode_workspace *w, const ac_joma_reduced *m, const ac_ode_settings *s,
                           ac_ode_info *info)
{
    int M = m->M;
    double local = 0.0, logG = 0.0, t = ac_ode_t(w), vprev[XC_M];
    while (!ac_ode_test(w, info)) {
        memcpy(vprev, ac_ode_y(w), sizeof(double) * (size_t)M);
        ac_ode_step(w);
        double mu = ac_max_keep_nan(lognorm_inf(m, vprev), lognorm_inf(m, ac_ode_y(w)));
        logG += 2.0 * ac_max_keep_nan(0.0, mu) * fabs(ac_ode_t(w) - t);
        local += XC_LOCAL_C * (s->atol + s->rtol * vmaxabs(M, ac_ode_y(w))) * exp(-logG);
        t = ac_ode_t(w);
    }
    return local * exp(logG);
}

/* A random joint system (spec §6.4: 2-3 sequences, M ~ 3-4, K ~ 2). */
typedef struct {
    double X[XC_JN * XC_JM], Y[XC_JN * XC_JK], bbar[XC_JM];
    ac_joma_joint J;
} xc_joint;

static void xc_joint_draw(gsl_rng *r, xc_joint *b, ac_joma_attention att, int tanh_act, double *y0)
{
    for (int i = 0; i < XC_JN * XC_JM; i++)
        b->X[i] = 0.1 + gsl_rng_uniform(r);
    for (int i = 0; i < XC_JN * XC_JK; i++)
        b->Y[i] = 0.8 * gsl_ran_gaussian(r, 1.0);
    for (int l = 0; l < XC_JM; l++)
        b->bbar[l] = 0.0;
    for (int n = 0; n < XC_JN; n++) {
        double s = 0.0;
        for (int l = 0; l < XC_JM; l++)
            s += b->X[n * XC_JM + l];
        for (int l = 0; l < XC_JM; l++)
            b->bbar[l] += b->X[n * XC_JM + l] / s / XC_JN;
    }
    ac_joma_joint J = {XC_JM, XC_JK, XC_JN, att, tanh_act, b->X, b->Y,
                       att == AC_JOMA_ATT_SOFTMAX ? b->bbar : NULL};
    b->J = J;
    for (int i = 0; i < XC_JDIM; i++)
        y0[i] = 0.3 * gsl_ran_gaussian(r, 1.0);
    if (att == AC_JOMA_ATT_LINEAR)
        for (int l = 0; l < XC_JM; l++)
            y0[l] = 0.5 + fabs(y0[l]);
}

static const long xc_gl_steps[3] = {4, 8, 20};     /* h = 0.5, 0.25, 0.1 over t = 2 */
static const long xc_rk_steps[3] = {40, 80, 160};  /* h = 0.05, 0.025, 0.0125 */
#define XC_JT1 2.0

static double fitted_order(const long *n, const double *d, int k)
{
    /* least squares slope of ln d against ln h = ln(t1/n): -slope vs ln n */
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < k; i++) {
        double x = log((double)n[i]), y = log(d[i]);
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    return -(k * sxy - sx * sy) / (k * sxx - sx * sx);
}

ac_status ac_joma_quadrature_score(const ac_joma_reduced *m, const ac_ode_system *sys, const double *v0, double t1,
                                   double *score, double *bound, ac_msg *msg)
{
    int M = m->M;
    if (M > XC_M || sys->dim != M)
        return ac_fail(msg, AC_EINVAL, "quadrature check: M = %d (at most %d, and the system's dimension)", M, XC_M);
    ac_ode_workspace *w = ac_ode_alloc(M);
    if (!w)
        return ac_fail(msg, AC_ENOMEM, "no memory for the ODE");
    ac_ode_settings s;
    ac_ode_settings_default(&s);
    s.method = AC_ODE_MSBDF;
    s.rtol = XC_RTOL;
    s.atol = XC_ATOL;
    ac_ode_info info;
    ac_status st = ac_ode_set(w, sys, 0.0, v0, t1, &s, msg);
    double bnd = st == AC_OK ? xc_run_bound(w, m, &s, &info) : NAN;
    if (st == AC_OK && info.status != AC_ODE_DONE) {
        ac_msg m2;
        ac_ode_info_message(&info, &m2);
        st = ac_fail(msg, AC_ENUMERIC, "quadrature check: %s", m2.text);
    }
    double sc = 0.0;
    for (int l = 0; st == AC_OK && l < M; l++) {
        /* F_j(v_j(t1)) = lambda e^c t1 = t1; |dF/dv| = e^{-v^2/T}/(mu - v)
         * carries the bound on v, plus the quadrature's own error */
        double F, ae, v = ac_ode_y(w)[l];
        ac_status q = ac_joma_nonlinear_F(m->mu[l], m->T, v0[l], v, XC_QUAD_ABS, XC_QUAD_REL, &F, &ae);
        double dF = exp(-v * v / m->T) / (m->mu[l] - v);
        double tol = dF * bnd + 2.0 * ae + XC_QUAD_REL * fabs(F);
        double e = q == AC_OK ? fabs(F - t1) / tol : NAN;
        sc = ac_max_keep_nan(sc, e);
    }
    *score = st == AC_OK ? sc : NAN;
    *bound = bnd;
    ac_ode_free(w);
    return st;
}

static ac_status trial_crosscheck(const ac_run_opts *o, ac_trial *t, ac_msg *msg)
{
    (void)o;
    ac_status st = AC_OK;
    const int M = XC_M;
    double delta[XC_M], mu[XC_M], v0[XC_M], zero[XC_M] = {0};
    for (int l = 0; l < M; l++)
        delta[l] = 0.5 + gsl_rng_uniform(t->r);
    for (int l = 0; l < M; l++) {
        mu[l] = 1.0 + gsl_rng_uniform(t->r);
        v0[l] = 0.05;
    }
    ac_ode_workspace *w = ac_ode_alloc(M);
    if (!w)
        return ac_fail(msg, AC_ENOMEM, "no memory for the ODE");
    ac_trial_enter(t, AC_TRIAL_THEORY);
    /* (a) closed form */
    ac_joma_reduced lin;
    ac_joma_reduced_init(&lin, M, AC_JOMA_ATT_EXP, AC_JOMA_ACT_LINEAR, delta);
    ac_ode_system sys;
    ac_joma_reduced_system(&lin, &sys);
    double ts = ac_joma_linear_tstar_min(M, delta, AC_JOMA_T_PAPER, NULL);
    double cf[4];
    const ac_ode_method cm[2] = {AC_ODE_RK8PD, AC_ODE_MSBDF};
    for (int k = 0; st == AC_OK && k < 2; k++) {
        ac_ode_settings s;
        ac_ode_settings_default(&s);
        s.method = cm[k];
        ac_ode_info info;
        st = ac_ode_set(w, &sys, 0.0, zero, 0.9 * ts, &s, msg);
        double bound = st == AC_OK ? xc_run_bound(w, &lin, &s, &info) : NAN;
        double err = 0.0, rel = 0.0;
        for (int l = 0; st == AC_OK && l < M; l++) {
            double ex = ac_joma_linear_v(delta[l], AC_JOMA_T_PAPER, 0.0, 0.9 * ts);
            double e = info.status == AC_ODE_DONE ? fabs(ac_ode_y(w)[l] - ex) : NAN;
            err = ac_max_keep_nan(err, e);
            rel = ac_max_keep_nan(rel, e / fabs(ex));
        }
        cf[k] = err / bound;
        cf[2 + k] = -log10(rel);
    }
    /* (b) quadrature and (c) MPFR, on the paper's nonlinear form */
    ac_joma_reduced nl;
    ac_joma_reduced_init(&nl, M, AC_JOMA_ATT_EXP, AC_JOMA_ACT_NONLINEAR, mu);
    ac_joma_reduced_system(&nl, &sys);
    double qd[2] = {NAN, NAN}, mp[6] = {NAN, NAN, NAN, NAN, NAN, NAN};
    mpfr_t *vr = mp_vec(M, XC_PREC);
    ac_ode_mpfr_stepper *gl = ac_ode_mpfr_stepper_alloc(AC_ODE_MPFR_GL, M, XC_REF_STAGES, XC_PREC);
    if (st == AC_OK && (!vr || !gl))
        st = ac_fail(msg, AC_ENOMEM, "no memory for the MPFR reference");
    if (st == AC_OK) {
        for (int l = 0; l < M; l++)
            mpfr_set_d(vr[l], v0[l], MPFR_RNDN);
        st = ac_ode_mpfr_integrate(gl, ac_joma_reduced_rhs_mpfr, &nl, vr, 0.0, XC_T1, XC_REF_STEPS, NULL);
        if (st != AC_OK)
            ac_fail(msg, st, "MPFR reference: %s", ac_status_str(st));
    }
    const ac_ode_method mm[3] = {AC_ODE_RK8PD, AC_ODE_MSBDF, AC_ODE_RK4IMP};
    for (int k = 0; st == AC_OK && k < 3; k++) {
        ac_ode_settings s;
        ac_ode_settings_default(&s);
        s.method = mm[k];
        s.rtol = XC_RTOL;
        s.atol = XC_ATOL;
        ac_ode_info info;
        st = ac_ode_set(w, &sys, 0.0, v0, XC_T1, &s, msg);
        double bound = st == AC_OK ? xc_run_bound(w, &nl, &s, &info) : NAN;
        double err = 0.0, rel = 0.0;
        for (int l = 0; st == AC_OK && l < M; l++) {
            double ref = mpfr_get_d(vr[l], MPFR_RNDN);
            double e = info.status == AC_ODE_DONE ? fabs(ac_ode_y(w)[l] - ref) : NAN;
            err = ac_max_keep_nan(err, e);
            rel = ac_max_keep_nan(rel, e / fabs(ref));
        }
        mp[k] = err / bound;
        mp[3 + k] = -log10(rel);
    }
    if (st == AC_OK)
        st = ac_joma_quadrature_score(&nl, &sys, v0, XC_T1, &qd[0], &qd[1], msg);
    ac_ode_mpfr_stepper_free(gl);
    mp_vec_free(vr, M);
    ac_ode_free(w);
    /* (d), (e): joint flow invariants in MPFR */
    double gld[6] = {NAN, NAN, NAN, NAN, NAN, NAN}, rko[2] = {NAN, NAN}, rkd[6];
    for (int a = 0; st == AC_OK && a < 2; a++) {
        xc_joint b;
        double y0[XC_JDIM];
        xc_joint_draw(t->r, &b, a == 0 ? AC_JOMA_ATT_EXP : AC_JOMA_ATT_LINEAR, a == 0, y0);
        for (int k = 0; st == AC_OK && k < 3; k++)
            st = ac_joma_mpfr_invariant_drift(&b.J, ac_joma_joint_rhs_mpfr, y0, AC_ODE_MPFR_GL, XC_GL_STAGES, xc_gl_steps[k],
                                              XC_JT1, XC_PREC, &gld[3 * a + k], msg);
        for (int k = 0; st == AC_OK && k < 3; k++)
            st = ac_joma_mpfr_invariant_drift(&b.J, ac_joma_joint_rhs_mpfr, y0, AC_ODE_MPFR_RK4, 0,
                                              (long)(xc_rk_steps[k] * (XC_JT1 / 2.0)), XC_JT1, XC_PREC, &rkd[3 * a + k],
                                              msg);
        if (st == AC_OK)
            rko[a] = fitted_order(xc_rk_steps, rkd + 3 * a, 3);
    }
    /* (f) softmax drift against the covariance term */
    double sm[2] = {NAN, NAN};
    if (st == AC_OK) {
        xc_joint b;
        double y0[XC_JDIM];
        xc_joint_draw(t->r, &b, AC_JOMA_ATT_SOFTMAX, 1, y0);
        st = ac_joma_mpfr_softmax_drift(&b.J, ac_joma_joint_rhs_mpfr, y0, XC_SM_STAGES, XC_SM_STEPS, XC_SM_T1, XC_PREC_SM,
                                        &sm[0], &sm[1], msg);
    }
    ac_trial_enter(t, AC_TRIAL_OTHER);
    if (st == AC_OK) {
        ac_trial_put(t->rec, "closed", 4, cf);
        ac_trial_put(t->rec, "quad", 2, qd);
        ac_trial_put(t->rec, "mpfr", 6, mp);
        ac_trial_put(t->rec, "gl", 6, gld);
        ac_trial_put(t->rec, "rk_order", 2, rko);
        ac_trial_put(t->rec, "rk_drift", 6, rkd);
        ac_trial_put(t->rec, "softmax", 2, sm);
    }
    return st;
}

static ac_status rows_crosscheck(const ac_run_opts *o, const ac_trial_set *set, ac_claim_result *res, ac_msg *msg)
{
    (void)msg;
    const ac_trial_record *r = &set->rec[0];
    snprintf(res->setup, sizeof res->setup,
             "one trial, systems drawn from seed %lu: linear exp reduced (M = %d, Delta ~ 0.5 + U) to 0.9 t*; "
             "nonlinear dv/dt = (mu - v) e^{v^2/2} (mu ~ 1 + U, v0 = 0.05) to t = %g at rtol 1e-12; joint flow "
             "M = %d, K = %d, N = %d to t = %g; MPFR at %d bits (softmax %d)",
             o->seed, XC_M, XC_T1, XC_JM, XC_JK, XC_JN, XC_JT1, XC_PREC, XC_PREC_SM);
    const char *cmn[2] = {"rk8pd", "msbdf"}, *mmn[3] = {"rk8pd", "msbdf", "rk4imp"};
    char q[AC_CLAIM_TEXT];
    for (int k = 0; k < 2; k++) {
        snprintf(q, sizeof q, "%s against the erf closed form at 0.9 t*: |error| / Dahlquist bound", cmn[k]);
        ac_claim_add(res, q, "<= 1", 1.0, ac_trial_get1(r, "closed", k), AC_METRIC_AT_MOST, 0.0,
                     "the global error is at most the accepted local errors (2.2 (atol + rtol |v|)) amplified by "
                     "exp(int max(0, mu_inf(J)) dt), taken on both ends of each step and doubled");
        snprintf(q, sizeof q, "%s against the closed form: digits", cmn[k]);
        ac_claim_add(res, q, "", NAN, ac_trial_get1(r, "closed", 2 + k), AC_METRIC_INFO, 0.0, "-log10 of the relative error");
    }
    ac_claim_add(res, "msbdf against the quadrature F_j(v_j(t)) = t: worst |F - t| / (|dF/dv| bound + quad error)",
                 "<= 1", 1.0, ac_trial_get1(r, "quad", 0), AC_METRIC_AT_MOST, 0.0,
                 "F (GSL QAG with the log substitution, an independent path) carries the integrator's bound on v "
                 "through |dF/dv| = e^{-v^2/2}/(mu - v), plus twice QAG's error estimate");
    for (int k = 0; k < 3; k++) {
        snprintf(q, sizeof q, "%s against MPFR Gauss-Legendre (s = 6, %d bits): |error| / Dahlquist bound", mmn[k],
                 XC_PREC);
        ac_claim_add(res, q, "<= 1", 1.0, ac_trial_get1(r, "mpfr", k), AC_METRIC_AT_MOST, 0.0,
                     "the MPFR reference is exact to ~1e-24, far below double; the bound as for the closed form");
        snprintf(q, sizeof q, "%s against MPFR: digits", mmn[k]);
        ac_claim_add(res, q, "", NAN, ac_trial_get1(r, "mpfr", 3 + k), AC_METRIC_INFO, 0.0,
                     "-log10 of the relative error at rtol 1e-12");
    }
    const char *an[2] = {"exp", "linear"};
    for (int a = 0; a < 2; a++) {
        double mx = 0.0;
        for (int k = 0; k < 3; k++) {
            double d = ac_trial_get1(r, "gl", 3 * a + k);
            mx = ac_max_keep_nan(mx, d);
        }
        snprintf(q, sizeof q, "%s attention: MPFR Gauss-Legendre worst invariant drift at h = 0.5, 0.25, 0.1", an[a]);
        ac_claim_add(res, q, "0 (a quadratic first integral)", 0.0, mx, AC_METRIC_AT_MOST, XC_GL_TOL,
                     "GL conserves quadratic invariants exactly; stages solved to 2^-120 relative, <= 20 steps: "
                     "below 1e-29; the spec asks 30 digits");
        snprintf(q, sizeof q, "%s attention: digits of the GL invariant", an[a]);
        ac_claim_add(res, q, ">= 30", NAN, -log10(ac_max_keep_nan(mx, 1e-300)), AC_METRIC_INFO, 0.0, "-log10 of the drift");
        snprintf(q, sizeof q, "%s attention: MPFR RK4 fitted order of the invariant residual (h = 0.05 .. 0.0125)",
                 an[a]);
        ac_claim_add(res, q, "p = 4", XC_RK_P, ac_trial_get1(r, "rk_order", a), AC_METRIC_ABS, XC_RK_TOL,
                     "the residual is truncation error C h^4 (1 + O(h)); the O(h) term moves the fit by <= 0.4");
        snprintf(q, sizeof q, "%s attention: RK4 invariant residual at h = 0.0125", an[a]);
        ac_claim_add(res, q, "C h^4", NAN, ac_trial_get1(r, "rk_drift", 3 * a + 2), AC_METRIC_INFO, 0.0, "shown");
    }
    ac_claim_add(res, "softmax: drift of the 'invariant' z - 1/2 sum v^2 + 1/2 |v|^2 bbar over t = 1", "not 0",
                 XC_SM_VISIBLE, fabs(ac_trial_get1(r, "softmax", 0)), AC_METRIC_AT_LEAST, 0.0,
                 "spec §6.4: not conserved; a drift above 1e-6 is far above the 1e-20 of the next row");
    ac_claim_add(res, "softmax: |drift - integral of the covariance term| (GL s = 8, 192 bits)", "0", 0.0,
                 ac_trial_get1(r, "softmax", 1), AC_METRIC_AT_MOST, XC_SM_TOL,
                 "I - w is a first integral but not quadratic: GL order 16 keeps it to C h^16 = C 6.6e-28 at h = "
                 "0.02; 1e-20 leaves room for C");
    return AC_OK;
}

/* The vectors every trial of joma.solver-crosscheck records (ac_trial_def.vectors). */
static const char *const crosscheck_vectors[] = {
    "closed", "gl", "mpfr", "quad", "rk_drift", "rk_order", "softmax", NULL
};
static const ac_trial_def crosscheck_trials = {
    .ntrials = trials_one, .trial = trial_crosscheck, .rows = rows_crosscheck,
    .vectors = crosscheck_vectors};

/* ---- the table ---------------------------------------------------------- */

const ac_claim_def ac_joma_claims[AC_JOMA_NCLAIMS] = {
    {.id = "joma.invariant",
     .paper = "joma",
     .statement = "Along training, the attention logits follow the MLP weights: z - (1/2T) sum_k v_k^2 is conserved "
                  "with exp attention (up to the SGD step), approximately with softmax (NC close to 1)",
     .trials = &invariant_trials},
    {.id = "joma.linear-sparse",
     .paper = "joma",
     .statement = "With linear activation attention becomes sparse: with exp attention v follows the erf-inverse "
                  "law up to its blow-up at t*; with softmax attention the entropy falls onto argmax Delta (the "
                  "ratio law erf(v_l/sqrt 2)/Delta_l = const holds for the reduced model only, spec §2.2a caveat)",
     .trials = &linear_trials},
    {.id = "joma.nonlinear-sparse-dense",
     .paper = "joma",
     .statement = "With nonlinear activation attention is first sparse, then dense: along the reduced dynamics "
                  "dv/dt = (mu - v) o softmax(v^2/T) the entropy dips and rebounds and salient components converge "
                  "first (the authors' toy map, its Euler method, is a discretisation check).  The trained "
                  "one-layer block (tanh, the linear loss of Assumption 1, softmax T 0.5, the §4.1 gaussian data) "
                  "is, by the derivation in verify/joma_claims.c, the LINEAR case on a slowed clock (E[g h' x] = "
                  "h'_k x^(k) / N has no zero mu): it is judged for what that predicts, a dip (Student-t lower bound "
                  "over seeds) and no rebound; it is no evidence for or against the rebound",
     .trials = &nonlinear_trials},
    {.id = "joma.solver-crosscheck",
     .paper = "joma",
     .statement = "The integrators agree with the closed form, the quadrature and MPFR; Gauss-Legendre keeps the "
                  "invariants to 30 digits, RK4 loses them as h^4, the softmax drift is the covariance term",
     .trials = &crosscheck_trials},
    {.id = "joma.hierarchy", .paper = "joma", .statement = AC_JOMA_HIERARCHY_STATEMENT,
     .trials = &ac_joma_hierarchy_trials},
    {.id = "joma.text-entropy", .paper = "joma", .statement = AC_JOMA_TEXT_STATEMENT,
     .trials = &ac_joma_text_trials},
};
