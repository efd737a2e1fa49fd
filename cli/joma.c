/* attncheck joma integrate | train | generate: the JoMA dynamics (spec joma)
 * on a user's own system.  These commands call the same theory, solver and
 * model code as the claims (theory/joma.h, solvers/ode.h, verify/joma_*.h);
 * the formats are in verify/joma_io.h and docs/joma.md.
 *
 * Exit statuses (all three commands): 0 the run ended as asked; 1 it ran
 * but ended early (an integration that did not reach its end time: blow-up,
 * step budget, step size underflow, a refused right-hand side; a training
 * run that diverged) -- the rows reached are written, whole, with the ending
 * in them, and stderr says how it ended with the time reached; 2 bad usage
 * or bad input (file:line: reason), nothing written. */
#include <float.h>
#include <getopt.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "solvers/ode.h"
#include "theory/joma.h"
#include "verify/atomic.h"
#include "verify/joma_data.h"
#include "verify/joma_hblt.h"
#include "verify/joma_io.h"
#include "verify/joma_model.h"
#include "verify/joma_text_claims.h"
#include "verify/joma_toy.h"
#include "verify/json_array.h"
#include "verify/trial.h"

#define SEED_MAX ((long)AC_SEED_MAX) /* verify/trial.h: MT19937 keeps 32 bits */
/* pi to double precision (M_PI is not C11). */
#define PI_D 3.14159265358979323846

/* ---- shared helpers ------------------------------------------------------- */

typedef enum { OUT_TEXT, OUT_CSV, OUT_JSON } out_format;

static int parse_format(const char *s, int allow_text, out_format *f)
{
    if (strcmp(s, "csv") == 0)
        *f = OUT_CSV;
    else if (strcmp(s, "json") == 0)
        *f = OUT_JSON;
    else if (allow_text && strcmp(s, "text") == 0)
        *f = OUT_TEXT;
    else {
        cli_error("--format: '%s' is not one of %s", s, allow_text ? "text, csv, json" : "csv, json");
        return 0;
    }
    return 1;
}

static int parse_attention(const char *s, ac_joma_attention *a)
{
    for (int i = 0; i <= AC_JOMA_ATT_LINEAR; i++)
        if (strcmp(s, ac_joma_attention_name((ac_joma_attention)i)) == 0) {
            *a = (ac_joma_attention)i;
            return 1;
        }
    cli_error("--attention: '%s' is not exp, softmax or linear", s);
    return 0;
}


static int print_json(FILE *f, json_t *j)
{
    if (!j)
        return 0;
    int bad = json_dumpf(j, f, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0;
    json_decref(j);
    fputc('\n', f);
    return !bad && !ferror(f);
}

/* ---- integrate ------------------------------------------------------------ */

/* Built-in drives: what the claims build in memory (the test compares
 * `integrate --builtin toy` with `integrate` on the file generate wrote). */
typedef struct {
    const char *name;
    int M;
    void (*fill)(double *mu);
} builtin_mu;

static const builtin_mu builtin_mus[] = {
    {"toy", AC_JOMA_TOY_M, ac_joma_toy_mu_seed0},
};

/* Defaults of integrate. */
#define INT_T_END_DEFAULT 10.0
#define INT_NOUT_DEFAULT 101L
#define INT_NOUT_MAX 1000000L
/* The trajectory is held until the run ends (its ending heads the output),
 * output times x M numbers, at most 2^27 (1 GiB; some 3 GB of CSV).  Without
 * it --n-out 10000 on a drive of 100000 components took 6.4 GB, and the
 * largest options (2^20 components, 10^6 times) asked for 8 TB. */
#define INT_OUT_NUMBERS_MAX (1L << 27)
/* The first-integral residuals are computed by GSL QAG to this relative
 * accuracy: 1e-12 sits two decades above the quadrature's rounding floor
 * and far below the 1e-10 local tolerance of a default integration. */
#define INT_QUAD_EPSREL 1e-12
/* A relative tolerance below some ulps cannot be met by any double stepper:
 * the error estimate itself is a difference of O(1) numbers rounded to
 * DBL_EPSILON.  4 ulps leaves the estimate one bit of meaning. */
#define INT_RTOL_FLOOR (4.0 * DBL_EPSILON)
/* The implicit steppers (rk4imp, msbdf, bsimp) hold and factor a dense
 * M x M Jacobian: M^2 memory and M^3 time a factorisation.  At M = 1000 a
 * 10-unit solve of a random drive took 1.2 s (msbdf) to 7 s (rk4imp), at
 * 4000 more than a minute and 270-650 MB, and at 65536 msbdf asked for
 * 34 GB.  2048 keeps one solve within about a minute. */
#define INT_IMPLICIT_M_MAX 2048
/* The default step budget is AC_ODE_MAX_STEPS_DEFAULT steps, but at most
 * this many component-steps over M: one rk8pd step costs some 13 right-hand
 * sides of M components, about 130 ns a component (measured at M = 65536:
 * 157 right-hand sides in 0.1 s), so 2^29 component-steps bound the solve at
 * roughly 70 s whatever M.  M <= 536 keeps the full budget; at M = 2^20 it
 * is 512 steps (a smooth 10-unit solve with 101 output times takes some
 * 110).  An explicit --max-steps replaces it. */
#define INT_WORK_MAX (1L << 29)

typedef struct {
    int M;
    double *drive, *v0, *lambda, *x, *c;
    const char *drive_name; /* file or option, for messages */
} int_input;

static void int_input_free(int_input *in)
{
    free(in->drive);
    free(in->v0);
    free(in->lambda);
    free(in->x);
    free(in->c);
}

/* A vector option: one number (every component) or a list of M. */
static int vector_option(const char *opt, const char *text, int M, double **out)
{
    double *x;
    int n;
    ac_msg msg = {{0}};
    if (ac_joma_io_parse_list(text, opt, &x, &n, &msg) != AC_OK) {
        cli_error("%s", msg.text);
        return 0;
    }
    if (n != 1 && n != M) {
        cli_error("%s: %d values, but the drive (mu or Delta) has M = %d components (give one value or %d)", opt,
                  n, M, M);
        free(x);
        return 0;
    }
    if (n == 1 && M > 1) {
        double *y = realloc(x, sizeof(double) * (size_t)M);
        if (!y) {
            free(x);
            cli_error("%s: out of memory", opt);
            return 0;
        }
        x = y;
        for (int i = 1; i < M; i++)
            x[i] = x[0];
    }
    *out = x;
    return 1;
}

/* The residual of the first integral the closed form or quadrature gives
 * (docs/joma.md "drift"), as an error in v:
 *   linear activation, EXP/SOFTMAX: R_l = sqrt(pi T)/2 (erf(v_l/sqrt T) -
 *     erf(v0_l/sqrt T)) / (Delta_l e^{c_l}) is t - t0 (EXP) or common to
 *     every l (SOFTMAX, the ratio law, time tau = int dt/A);
 *   nonlinear activation, EXP/SOFTMAX: R_l = F_l(v_l) / (lambda_l e^{c_l})
 *     (theory/joma.h ac_joma_nonlinear_F), the same two laws;
 *   LINEAR attention, linear activation: R_l = (asinh(v_l/sqrt c_l) -
 *     asinh(v0_l/sqrt c_l)) / Delta_l, or ln(v_l/v0_l) / Delta_l for c_l = 0,
 *     equals t - t0 (z = sqrt(c + v^2), spec §2.2a);
 *   LINEAR attention, nonlinear: none.
 * In every case dR_l/dv_l = 1 / (dv_l/dt at unit attention normaliser), so
 * e_l = |R_l - tau| / |dR_l/dv_l| is the error in v_l the residual implies
 * (first order), with tau = t - t0 (EXP, LINEAR) or the median of the R_l
 * (SOFTMAX).  R in time units would be ill-conditioned: F has a logarithmic
 * singularity at v = mu, where a v-error of one ulp moves F by O(1).
 * drift = max_l e_l over the components where R_l is defined (Delta_l != 0;
 * v_l strictly between v0_l and mu_l; v0_l != 0 when c_l = 0); NaN where
 * no component defines it, or only one does under SOFTMAX (a ratio law
 * over one component holds whatever v is): the residual is not measured
 * there, and 0 would read as a law held exactly. */
static int drift_kind(const ac_joma_reduced *m, const char **name)
{
    if (m->attention == AC_JOMA_ATT_LINEAR && m->activation == AC_JOMA_ACT_NONLINEAR)
        return 0;
    *name = m->attention == AC_JOMA_ATT_SOFTMAX ? "ratio_law" : "closed_form";
    return 1;
}

/* R_l and dR_l/dv_l at v; 0 when R_l is not defined there. */
static int component_R(const ac_joma_reduced *m, int l, double v0, double v, double *R, double *dR)
{
    double T = m->T, c = m->c ? m->c[l] : 0.0;
    if (m->activation == AC_JOMA_ACT_LINEAR) {
        double D = m->delta[l];
        if (D == 0.0)
            return 0;
        if (m->attention != AC_JOMA_ATT_LINEAR) {
            *R = sqrt(PI_D * T) / 2.0 * (erf(v / sqrt(T)) - erf(v0 / sqrt(T))) / (D * exp(c));
            *dR = exp(-v * v / T) / (D * exp(c));
        } else if (c > 0.0) {
            *R = (asinh(v / sqrt(c)) - asinh(v0 / sqrt(c))) / D;
            *dR = 1.0 / (D * sqrt(c + v * v));
        } else {
            if (v0 == 0.0 || v / v0 <= 0.0)
                return 0;
            *R = log(v / v0) / D;
            *dR = 1.0 / (D * v);
        }
        return 1;
    }
    double mu = m->mu[l], lam = m->lambda ? m->lambda[l] : 1.0, F;
    if (v0 == mu || (mu - v) * (mu - v0) <= 0.0)
        return 0;
    if (v == v0)
        F = 0.0;
    else if (ac_joma_nonlinear_F(mu, T, v0, v, 0.0, INT_QUAD_EPSREL, &F, NULL) != AC_OK)
        return 0;
    *R = F / (lam * exp(c));
    *dR = exp(-v * v / T) / ((mu - v) * lam * exp(c));
    return 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* R, dR, sorted: scratch of M entries each. */
static double drift_at(const ac_joma_reduced *m, const double *v0, const double *v, double dt, double *R,
                       double *dR, double *sorted)
{
    int n = 0;
    for (int l = 0; l < m->M; l++) {
        R[l] = NAN;
        if (component_R(m, l, v0[l], v[l], &R[l], &dR[l]) && dR[l] != 0.0)
            sorted[n++] = R[l];
        else
            R[l] = NAN;
    }
    if (n == 0 || (m->attention == AC_JOMA_ATT_SOFTMAX && n < 2))
        return NAN;
    double tau = dt;
    if (m->attention == AC_JOMA_ATT_SOFTMAX) {
        qsort(sorted, (size_t)n, sizeof(double), cmp_double);
        tau = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    }
    double worst = 0.0;
    for (int l = 0; l < m->M; l++)
        if (!isnan(R[l]))
            worst = fmax(worst, fabs((R[l] - tau) / dR[l]));
    return worst;
}

typedef struct {
    ac_joma_io_trajectory tr;
    out_format fmt;
} traj_out;

static ac_status fill_traj(FILE *f, void *ctx, ac_msg *msg)
{
    const traj_out *o = ctx;
    (void)msg;
    if (o->fmt == OUT_JSON)
        return print_json(f, ac_joma_io_trajectory_json(&o->tr)) ? AC_OK : AC_EIO;
    return ac_joma_io_write_csv(f, &o->tr);
}

static void integrate_help(void)
{
    ac_ode_settings s;
    ac_ode_settings_default(&s);
    printf("usage: attncheck joma integrate [MU_FILE] [--mu LIST | --builtin toy] [OPTIONS]\n\n"
           "Integrate the reduced JoMA dynamics dv_l/dt = g_l(v_l) a_l(v) (spec joma section 2.2):\n"
           "g = Delta (linear activation) or lambda (mu - v) (nonlinear), a from the attention\n"
           "kind (exp: exp(v^2/T + c); softmax: that over sum x exp(v^2/T + c); linear:\n"
           "sqrt(c + v^2)).  Writes the trajectory at the output times with the attention\n"
           "entropy, the residual of the first integral (drift) and how the integration ended.\n\n"
           "  MU_FILE            the drive (mu, or Delta for --activation linear): one number\n"
           "                     per line, '#' comments\n"
           "  --mu LIST          the drive as a list: 1.5,2,3.25\n"
           "  --builtin toy      the drive the claims build in memory (the section 4.2 toy)\n"
           "  --M N              refuse a drive that does not have N components\n"
           "  --activation A     linear | nonlinear (default: nonlinear)\n"
           "  --attention K      exp | softmax | linear (default: softmax)\n"
           "  --T T              temperature > 0 (default: %g, the paper's exp(v^2/2))\n"
           "  --v0 X|LIST        v(0) (default: 0)\n"
           "  --lambda X|LIST    nonlinear prefactors > 0 (default: 1)\n"
           "  --x X|LIST         softmax/linear weights >= 0 (default: 1)\n"
           "  --c X|LIST         logit offsets (linear attention: >= 0; default: 0)\n"
           "  --t0 T0            start time (default: 0)\n"
           "  --t-end T1         end time (default: %g)\n"
           "  --n-out N          N output times evenly from T0 to T1 (default: %ld)\n"
           "  --times LIST       output times instead (monotone, from T0)\n"
           "  --method M         rk8pd | rkf45 (explicit) | rk4imp | msbdf | bsimp (implicit, with\n"
           "                     the dense Jacobian, M <= %d) (default: %s)\n"
           "  --rtol R, --atol A local error tolerances (default: %g, %g); rtol >= %.3g\n"
           "  --max-steps N      step budget (default: %ld, at most %ld / M)\n"
           "  --format F         csv | json (default: csv); --out FILE writes there atomically\n\n"
           "Exit 0: reached T1.  Exit 1: ended early (blow-up, step budget, step size underflow,\n"
           "refused right-hand side): the rows reached are written with the outcome, and stderr\n"
           "names the time reached.  Exit 2: bad input, nothing written.\n",
           AC_JOMA_T_PAPER, INT_T_END_DEFAULT, INT_NOUT_DEFAULT, INT_IMPLICIT_M_MAX, ac_ode_method_name(s.method),
           s.rtol, s.atol, INT_RTOL_FLOOR, s.max_steps, INT_WORK_MAX);
}

/* The drive from the file, list or built-in (exactly one). */
static int read_drive(const char *file, const char *list, const char *builtin, long M_want, int_input *in)
{
    ac_msg msg = {{0}};
    if ((file != NULL) + (list != NULL) + (builtin != NULL) != 1) {
        cli_error("joma integrate: give the drive once: MU_FILE, --mu LIST or --builtin NAME (see --help)");
        return 0;
    }
    if (builtin) {
        for (size_t i = 0; i < sizeof builtin_mus / sizeof builtin_mus[0]; i++)
            if (strcmp(builtin, builtin_mus[i].name) == 0) {
                in->M = builtin_mus[i].M;
                if (!(in->drive = malloc(sizeof(double) * (size_t)in->M))) {
                    cli_error("out of memory");
                    return 0;
                }
                builtin_mus[i].fill(in->drive);
                in->drive_name = "--builtin";
            }
        if (!in->drive) {
            cli_error("--builtin: '%s' is not one of: toy", builtin);
            return 0;
        }
    } else {
        ac_status st = file ? ac_joma_io_read_vector(file, &in->drive, &in->M, &msg)
                            : ac_joma_io_parse_list(list, "--mu", &in->drive, &in->M, &msg);
        if (st != AC_OK) {
            cli_error("%s", msg.text);
            return 0;
        }
        in->drive_name = file ? file : "--mu";
    }
    if (M_want > 0 && in->M != M_want) {
        cli_error("%s: %d values, but --M is %ld", in->drive_name, in->M, M_want);
        return 0;
    }
    return 1;
}

/* Output times: --times, or n evenly spaced (the last exactly t1). */
static double *output_times(const char *list, long n, double t0, double t1, int *nt)
{
    double *t;
    ac_msg msg = {{0}};
    if (list) {
        if (ac_joma_io_parse_list(list, "--times", &t, nt, &msg) != AC_OK) {
            cli_error("%s", msg.text);
            return NULL;
        }
        /* one way from t0, the way of the last time (ties allowed) */
        double dir = t[*nt - 1] > t0 ? 1.0 : t[*nt - 1] < t0 ? -1.0 : 0.0;
        for (int k = 0; k < *nt; k++) {
            double prev = k ? t[k - 1] : t0;
            if ((t[k] - prev) * dir < 0.0 || (dir == 0.0 && t[k] != t0)) {
                if (k)
                    cli_error("--times: entry %d (%.17g) goes back past entry %d (%.17g): the times run one way "
                              "from --t0 = %g to the last one", k + 1, t[k], k, prev, t0);
                else
                    cli_error("--times: entry 1 (%.17g) lies on the other side of --t0 = %g from the last time "
                              "(%.17g): the times run one way from --t0", t[0], t0, t[*nt - 1]);
                free(t);
                return NULL;
            }
        }
        return t;
    }
    if (!(t = malloc(sizeof(double) * (size_t)n))) {
        cli_error("out of memory");
        return NULL;
    }
    for (long k = 0; k < n; k++)
        t[k] = n == 1 ? t1 : t0 + (t1 - t0) * (double)k / (double)(n - 1);
    t[n - 1] = t1;
    *nt = (int)n;
    return t;
}

/* The message for an ending other than DONE: the outcome, the time reached,
 * the closed-form t* when known, and what to try. */
static void ending_message(const ac_ode_info *info, double tstar, double t0, double t_end, const ac_ode_settings *set,
                           int scaled_budget, int M, int rows, int nreq)
{
    ac_ode_method method = set->method;
    char why[256] = "";
    int back = t_end < t0; /* the span runs backwards, and t* lies below t0 */
    int inside = isfinite(tstar) && (back ? tstar >= t_end : tstar <= t_end);
    ac_msg msg = {{0}};
    ac_ode_info_message(info, &msg);
    const char *hint = "";
    if (info->status == AC_ODE_MAX_STEPS)
        hint = ac_ode_method_needs_jac(method) ? "; raise --max-steps"
                                               : "; the system may be stiff: try --method msbdf, or raise --max-steps";
    else if (info->status == AC_ODE_STEP_UNDERFLOW)
        /* t* names the cause only when it lies in the span: one beyond
         * --t-end is not where the steps collapsed (a tolerance too tight
         * underflows at t0 too; it had said "singular at t*: shorten
         * --t-end" of a span that ends before t*) */
        hint = inside ? "; the solution is singular at t*: end --t-end before it"
                      : "; a tolerance too tight for double, or a singularity near t: loosen --rtol/--atol";
    if (info->status == AC_ODE_MAX_STEPS && scaled_budget) {
        /* the default budget, scaled down for a large M (INT_WORK_MAX) */
        snprintf(why, sizeof why, "; the default budget is %ld steps at M = %d (%ld component-steps over M)",
                 set->max_steps, M, INT_WORK_MAX);
        hint = why;
    } else if (info->status == AC_ODE_STEP_UNDERFLOW && !inside && fabs(t_end - info->t) > fabs(info->t)) {
        /* the floor came from the span left, not from t (ode.h): a span too
         * long is a third cause, beside a singularity and a tolerance too
         * tight (a step shrunk by rejections falls below it as well) */
        snprintf(why, sizeof why, "; a singularity, a tolerance too tight (loosen --rtol/--atol), or a span too "
                 "long: the step floor is %g ulps of the span left, |t-end - t| = %g, so no step below %.3g is taken",
                 AC_ODE_HMIN_ULPS, fabs(t_end - info->t), AC_ODE_HMIN_ULPS * DBL_EPSILON * fabs(t_end - info->t));
        hint = why;
    }
    else if (info->status == AC_ODE_BLOWUP)
        hint = "; shorten --t-end below the blow-up time";
    if (inside)
        cli_error("blow-up inside the requested span: closed-form t* = %.17g %s --t-end %.17g; %s%s; wrote the "
                  "%d of %d rows before it ended",
                  tstar, back ? ">" : "<", t_end, msg.text, hint, rows, nreq);
    else if (isfinite(tstar))
        cli_error("%s; closed-form blow-up time t* = %.17g%s; wrote the %d of %d rows before it ended", msg.text,
                  tstar, hint, rows, nreq);
    else
        cli_error("%s%s; wrote the %d of %d rows before it ended", msg.text, hint, rows, nreq);
}

/* Check the tolerances before integrating: a tolerance no double stepper can
 * meet is bad input.  scale: the largest |value| the state starts from or
 * heads for. */
static int tolerances_ok(const ac_ode_settings *s, double scale)
{
    if (s->rtol > 0.0 && s->rtol < INT_RTOL_FLOOR) {
        cli_error("--rtol %g cannot be met in double precision (below %.3g = 4 ulps)", s->rtol, INT_RTOL_FLOOR);
        return 0;
    }
    if (s->rtol == 0.0 && s->atol < INT_RTOL_FLOOR * fmax(1.0, scale)) {
        cli_error("--atol %g with --rtol 0 cannot be met in double precision for a state of size %g "
                  "(below %.3g)",
                  s->atol, fmax(1.0, scale), INT_RTOL_FLOOR * fmax(1.0, scale));
        return 0;
    }
    return 1;
}

static int joma_integrate(int argc, char **argv)
{
    static const struct option opts[] = {
        {"mu", required_argument, 0, 'u'},        {"builtin", required_argument, 0, 'B'},
        {"M", required_argument, 0, 'M'},         {"activation", required_argument, 0, 'a'},
        {"attention", required_argument, 0, 'k'}, {"T", required_argument, 0, 'T'},
        {"v0", required_argument, 0, 'v'},        {"lambda", required_argument, 0, 'L'},
        {"x", required_argument, 0, 'x'},         {"c", required_argument, 0, 'c'},
        {"t0", required_argument, 0, '0'},        {"t-end", required_argument, 0, '1'},
        {"n-out", required_argument, 0, 'n'},     {"times", required_argument, 0, 't'},
        {"method", required_argument, 0, 'm'},    {"rtol", required_argument, 0, 'r'},
        {"atol", required_argument, 0, 'A'},      {"max-steps", required_argument, 0, 'S'},
        {"format", required_argument, 0, 'f'},    {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    const char *mu_list = NULL, *builtin = NULL, *v0s = NULL, *lams = NULL, *xs = NULL, *cs = NULL, *times = NULL,
               *out = NULL;
    ac_joma_attention att = AC_JOMA_ATT_SOFTMAX;
    ac_joma_activation act = AC_JOMA_ACT_NONLINEAR;
    double T = AC_JOMA_T_PAPER, t0 = 0.0, t1 = INT_T_END_DEFAULT, x;
    long M_want = 0, nout = INT_NOUT_DEFAULT, max_steps = 0; /* 0: the default, scaled by M */
    out_format fmt = OUT_CSV;
    ac_ode_settings set;
    ac_ode_settings_default(&set);
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        switch (c) {
        case 'u': mu_list = optarg; break;
        case 'B': builtin = optarg; break;
        case 'M':
            if (!cli_long("M", optarg, 1, AC_JOMA_IO_MAX_VALUES, &M_want))
                return EXIT_USAGE;
            break;
        case 'a':
            if (strcmp(optarg, "linear") == 0)
                act = AC_JOMA_ACT_LINEAR;
            else if (strcmp(optarg, "nonlinear") == 0)
                act = AC_JOMA_ACT_NONLINEAR;
            else {
                cli_error("--activation: '%s' is not linear or nonlinear", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'k':
            if (!parse_attention(optarg, &att))
                return EXIT_USAGE;
            break;
        case 'T':
            if (!cli_double("T", optarg, DBL_MIN, DBL_MAX, &T))
                return EXIT_USAGE;
            break;
        case 'v': v0s = optarg; break;
        case 'L': lams = optarg; break;
        case 'x': xs = optarg; break;
        case 'c': cs = optarg; break;
        case '0':
            if (!cli_double("t0", optarg, -DBL_MAX, DBL_MAX, &t0))
                return EXIT_USAGE;
            break;
        case '1':
            if (!cli_double("t-end", optarg, -DBL_MAX, DBL_MAX, &t1))
                return EXIT_USAGE;
            break;
        case 'n':
            if (!cli_long("n-out", optarg, 1, INT_NOUT_MAX, &nout))
                return EXIT_USAGE;
            break;
        case 't': times = optarg; break;
        case 'm': {
            int mm = ac_ode_method_from_name(optarg);
            if (mm < 0) {
                cli_error("--method: '%s' is not rk8pd, rkf45, rk4imp, msbdf or bsimp", optarg);
                return EXIT_USAGE;
            }
            set.method = (ac_ode_method)mm;
            break;
        }
        case 'r':
            if (!cli_double("rtol", optarg, 0.0, 1.0, &x))
                return EXIT_USAGE;
            set.rtol = x;
            break;
        case 'A':
            if (!cli_double("atol", optarg, 0.0, DBL_MAX, &x))
                return EXIT_USAGE;
            set.atol = x;
            break;
        case 'S':
            if (!cli_long("max-steps", optarg, 1, 1000000000L, &max_steps))
                return EXIT_USAGE;
            break;
        case 'f':
            if (!parse_format(optarg, 0, &fmt))
                return EXIT_USAGE;
            break;
        case 'o': out = optarg; break;
        case 'h': integrate_help(); return cli_finish(EXIT_HOLDS);
        default: return EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        cli_error("joma integrate: at most one MU_FILE (see --help)");
        return EXIT_USAGE;
    }
    if ((optind < argc && cli_same_file(argv[optind], out)) || !cli_out_writable(out))
        return EXIT_USAGE;
    int_input in = {0};
    int rc = EXIT_USAGE, nt = 0, n_done = 0;
    double *tv = NULL, *V = NULL, *H = NULL, *drift = NULL;
    ac_ode_workspace *w = NULL;
    if (!read_drive(optind < argc ? argv[optind] : NULL, mu_list, builtin, M_want, &in))
        goto done;
    int M = in.M;
    if (!vector_option("--v0", v0s ? v0s : "0", M, &in.v0) || (lams && !vector_option("--lambda", lams, M, &in.lambda)) ||
        (xs && !vector_option("--x", xs, M, &in.x)) || (cs && !vector_option("--c", cs, M, &in.c)))
        goto done;
    double xsum = 0.0;
    for (int l = 0; in.x && l < M; l++)
        xsum += in.x[l];
    if (in.x && xsum > 0.0 && !(xsum >= DBL_MIN && isfinite(xsum))) {
        /* softmax divides by sum x e^z: a subnormal or infinite sum made the
         * right-hand side refuse at t = 0 with no quantity named */
        cli_error("--x: the weights sum to %g, outside the normal doubles [%g, %g]", xsum, DBL_MIN, DBL_MAX);
        goto done;
    }
    ac_joma_reduced m;
    ac_joma_reduced_init(&m, M, att, act, in.drive);
    m.T = T, m.lambda = in.lambda, m.x = in.x, m.c = in.c;
    ac_msg msg = {{0}};
    if (ac_joma_reduced_check(&m, &msg) != AC_OK) {
        cli_error("joma integrate: %s", msg.text);
        goto done;
    }
    double scale = 0.0;
    for (int l = 0; l < M; l++)
        scale = fmax(scale, fmax(fabs(in.v0[l]), act == AC_JOMA_ACT_NONLINEAR ? fabs(in.drive[l]) : 0.0));
    if (!tolerances_ok(&set, scale))
        goto done;
    if (ac_ode_method_needs_jac(set.method) && M > INT_IMPLICIT_M_MAX) {
        cli_error("%s: M = %d components: --method %s factors a dense M x M Jacobian (M^2 memory, M^3 time), "
                  "at most %d components here; use --method rk8pd",
                  in.drive_name, M, ac_ode_method_name(set.method), INT_IMPLICIT_M_MAX);
        goto done;
    }
    int scaled_budget = !max_steps && (long)M * set.max_steps > INT_WORK_MAX;
    set.max_steps = max_steps ? max_steps : scaled_budget ? INT_WORK_MAX / M : set.max_steps;
    if (!isfinite(t1 - t0)) {
        cli_error("--t0 %g, --t-end %g: the span t-end - t0 is not a finite double", t0, t1);
        goto done;
    }
    if (!(tv = output_times(times, nout, t0, t1, &nt)))
        goto done;
    t1 = tv[nt - 1]; /* with --times the run ends at its last time */
    if ((long)nt * M > INT_OUT_NUMBERS_MAX) {
        cli_error("%s: %d output times x M = %d components = %ld numbers exceed %ld (2^27, 1 GiB held "
                  "until the end): fewer --n-out or --times", in.drive_name, nt, M, (long)nt * M,
                  INT_OUT_NUMBERS_MAX);
        goto done;
    }
    V = malloc(sizeof(double) * (size_t)nt * (size_t)M);
    H = malloc(sizeof(double) * (size_t)nt);
    drift = malloc(sizeof(double) * (size_t)nt);
    w = ac_ode_alloc(M);
    if (!V || !H || !drift || !w) {
        cli_error("%s: out of memory for %d times x %d components", in.drive_name, nt, M);
        goto done;
    }
    ac_ode_system sys;
    ac_joma_reduced_system(&m, &sys);
    ac_ode_info info;
    if (ac_ode_trajectory(w, &sys, t0, in.v0, nt, tv, V, &n_done, &set, &info, &msg) != AC_OK) {
        cli_error("joma integrate: %s", msg.text);
        goto done;
    }
    ac_joma_entropy_trajectory(&m, n_done, V, H);
    const char *dname = NULL;
    int has_drift = drift_kind(&m, &dname);
    double *scratch = has_drift ? malloc(sizeof(double) * 3 * (size_t)M) : NULL;
    if (has_drift && !scratch) {
        cli_error("out of memory");
        goto done;
    }
    for (int k = 0; has_drift && k < n_done; k++)
        drift[k] = drift_at(&m, in.v0, V + (size_t)k * M, tv[k] - t0, scratch, scratch + M, scratch + 2 * M);
    free(scratch);
    double tstar = HUGE_VAL;
    if (att == AC_JOMA_ATT_EXP && act == AC_JOMA_ACT_LINEAR) {
        /* the closed form's t* with Delta_l e^{c_l} as the rate (theory/joma.h);
         * backwards in time the system is the forward one with -Delta, whose
         * blow-up lies at t0 - t* */
        double dir = t1 < t0 ? -1.0 : 1.0;
        for (int l = 0; l < M; l++)
            tstar = fmin(tstar, ac_joma_linear_tstar(dir * in.drive[l] * exp(in.c ? in.c[l] : 0.0), T, in.v0[l]));
        tstar = t0 + dir * tstar;
    }
    traj_out o = {{M, n_done, nt, tv, V, H, has_drift ? drift : NULL, dname, tstar, info,
                   ac_ode_method_name(set.method), set.rtol, set.atol, set.max_steps},
                  fmt};
    if (!cli_write_output(out, fill_traj, &o))
        goto done;
    rc = EXIT_HOLDS;
    if (info.status != AC_ODE_DONE) {
        ending_message(&info, tstar, t0, tv[nt - 1], &set, scaled_budget, M, n_done, nt);
        rc = EXIT_FAILS;
    }
done:
    ac_ode_free(w);
    free(tv);
    free(V);
    free(H);
    free(drift);
    int_input_free(&in);
    return cli_finish(rc);
}

/* ---- train ---------------------------------------------------------------- */

#define TRAIN_SEED_DEFAULT 1UL
#define TRAIN_STEPS_MAX 100000000L
/* Rows of the table: 0, 1, 2, 5, 10, 20, 50, ... and the last step. */
#define TRAIN_ROWS_MAX 64
/* The JSON output carries v_train and v_ode (K x M each) per row when K M is
 * at most this: 2^16 numbers, some 3 MB of JSON per row at %.17g. */
#define TRAIN_JSON_V_MAX 65536
/* The text output names the first classes' labels (JSON: all of them). */
#define TRAIN_TEXT_LABELS 20
/* The joint flow's unknowns, M + K M + K (ac_joma_joint_dim), at most 2^20.
 * The run holds some 270 bytes an unknown (rk8pd's stages, the trainer, the
 * table; measured 75 MB at M = K = 512 and 274 MB at 1024), so about 280 MB
 * at the bound.  The readers' own bound (4096 each) alone let a 47 kB token
 * file of 4096 two-word lines, or an 8 kB data file (one row of 4096 numbers,
 * label 4095), ask for 4.5 GB. */
#define TRAIN_DIM_MAX (1L << 20)
/* The cost of a run, bounded before it starts.  One full-batch SGD step
 * costs some N K (M + 1) multiply-adds (the forward pass over d = M + 1
 * embeddings, the backward pass the same): measured 5-6 ns each (N = 12,
 * M = 16, K = 7: 8.6 us a step; N = M = 128, K = 86: 7 ms), so steps x
 * N K (M + 1) at most 2^34 bounds the training at some 90 s.  The example's
 * 12 lines allow 12 million steps. */
#define TRAIN_SGD_WORK_MAX (1LL << 34)
/* Each table row extends the joint flow, whose right-hand side costs
 * N K M (the attention of every sample against every v_k): the first row at
 * N = M = 128, K = 86 (N K M = 1.4e6) took 1.5 s, and one row at
 * N = M = K = 512 96 s.  At most 2^23 (8.4e6) keeps a row near 10 s. */
#define TRAIN_FLOW_WORK_MAX (1LL << 23)
/* The whole flow is bounded too, not only one evaluation: its step budget is
 * the default 10^6 steps, but at most TRAIN_FLOW_TOTAL_MAX / (13 N K M)
 * (rk8pd evaluates the right-hand side 13 times a step).  An evaluation
 * costs some 3.5 ns x N K M (N = 512, K = 126, M = 128: 29 ms, 1365
 * evaluations in 39 s), so 2^35 bounds the flow near two minutes; at the
 * largest N K M (2^23) that is 315 steps, where the default 2000 SGD steps
 * at lr 0.1 (t = 200) took 129.  With the 10^6 steps alone a stiff flow at
 * that size could have run for a day. */
#define TRAIN_FLOW_TOTAL_MAX (1LL << 35)

static long train_flow_budget(long long flow_work, long max_steps)
{
    long long cap = TRAIN_FLOW_TOTAL_MAX / (13 * flow_work);
    return cap < max_steps ? (long)(cap > 1 ? cap : 1) : max_steps;
}

/* The next step of the 1-2-5 sequence. */
static long next_row_step(long s)
{
    if (s == 0)
        return 1;
    long p = 1;
    while (p * 10 <= s)
        p *= 10;
    long d = s / p;
    return d < 2 ? 2 * p : d < 5 ? 5 * p : 10 * p;
}

typedef struct {
    long step;
    double t, loss, H_train, H_ode, inv_train, inv_ode, dv, dz;
    double *v_train, *v_ode; /* K x M each (JSON only) */
} train_row;

typedef struct {
    train_row *rows;
    int n, M, K;
    const char *source, *attention, *activation;
    long steps;
    double lr, init_scale;
    unsigned long seed;
    const ac_train_info *info;
    const ac_ode_info *ode;
    long ode_max_steps;
    out_format fmt;
    /* class k is label word[k] (token file) or id[k] (data file) */
    char *const *label_word;
    const long long *label_id;
} train_report;

static double max_abs_diff(const double *a, const double *b, size_t n)
{
    double d = 0.0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs(a[i] - b[i]));
    return d;
}

static ac_status fill_train(FILE *f, void *ctx, ac_msg *msg)
{
    const train_report *r = ctx;
    (void)msg;
    if (r->fmt == OUT_JSON) {
        json_t *o = json_object(), *rows = json_array();
        json_object_set_new(o, "source", json_string(r->source));
        json_object_set_new(o, "M", json_integer(r->M));
        json_object_set_new(o, "K", json_integer(r->K));
        json_object_set_new(o, "attention", json_string(r->attention));
        json_object_set_new(o, "activation", json_string(r->activation));
        json_object_set_new(o, "loss", json_string("squared"));
        json_object_set_new(o, "lr", ac_json_real_or_null(r->lr));
        json_object_set_new(o, "steps", json_integer(r->steps));
        json_object_set_new(o, "seed", json_integer((json_int_t)r->seed));
        json_object_set_new(o, "init_scale", ac_json_real_or_null(r->init_scale));
        json_t *labels = json_array();
        for (int k = 0; k < r->K; k++)
            json_array_append_new(labels, r->label_word ? json_string(r->label_word[k])
                                                        : json_integer((json_int_t)r->label_id[k]));
        json_object_set_new(o, "labels", labels);
        json_object_set_new(o, "outcome", json_string(ac_train_outcome_str(r->info->outcome)));
        json_object_set_new(o, "steps_taken", json_integer(r->info->steps));
        json_object_set_new(o, "ode_outcome", json_string(ac_joma_io_outcome_key(r->ode->status)));
        json_object_set_new(o, "ode_t_reached", ac_json_real_or_null(r->ode->t));
        json_object_set_new(o, "ode_steps", json_integer(r->ode->steps));
        json_object_set_new(o, "ode_max_steps", json_integer(r->ode_max_steps));
        json_object_set_new(o, "ode_nfev", json_integer(r->ode->nfev));
        for (int i = 0; i < r->n; i++) {
            const train_row *w = &r->rows[i];
            json_t *row = json_object();
            json_object_set_new(row, "step", json_integer((json_int_t)w->step));
            static const char *const keys[] = {"t", "loss", "entropy_train", "entropy_ode", "invariant_drift_train",
                                               "invariant_drift_ode", "max_abs_v_diff", "max_abs_z_diff"};
            const double vals[] = {w->t, w->loss, w->H_train, w->H_ode, w->inv_train, w->inv_ode, w->dv, w->dz};
            for (int k = 0; k < 8; k++) /* NaN (an entropy of signed linear attention): null */
                json_object_set_new(row, keys[k], ac_json_real_or_null(vals[k]));
            if (w->v_train) {
                json_t *vt = json_array(), *vo = json_array();
                for (int k = 0; k < r->K * r->M; k++) {
                    json_array_append_new(vt, ac_json_real_or_null(w->v_train[k]));
                    json_array_append_new(vo, ac_json_real_or_null(w->v_ode[k]));
                }
                json_object_set_new(row, "v_train", vt);
                json_object_set_new(row, "v_ode", vo);
            }
            json_array_append_new(rows, row);
        }
        json_object_set_new(o, "rows", rows);
        return print_json(f, o) ? AC_OK : AC_EIO;
    }
    if (r->fmt == OUT_CSV) {
        fprintf(f, "step,t,loss,entropy_train,entropy_ode,invariant_drift_train,invariant_drift_ode,"
                   "max_abs_v_diff,max_abs_z_diff\n");
        for (int i = 0; i < r->n; i++) {
            const train_row *w = &r->rows[i];
            fprintf(f, "%ld,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g\n", w->step, w->t, w->loss, w->H_train,
                    w->H_ode, w->inv_train, w->inv_ode, w->dv, w->dz);
        }
    }
    return ferror(f) ? AC_EIO : AC_OK;
}

static void train_text(FILE *f, const train_report *r, int N)
{
    fprintf(f, "data: %s (N = %d samples, M = %d context tokens, K = %d labels)\n", r->source, N, r->M, r->K);
    fprintf(f, "classes (output k: label):");
    for (int k = 0; k < r->K && k < TRAIN_TEXT_LABELS; k++) {
        if (r->label_word)
            fprintf(f, "%s %d: %s", k ? "," : "", k, r->label_word[k]);
        else
            fprintf(f, "%s %d: %lld", k ? "," : "", k, r->label_id[k]);
    }
    fprintf(f, "%s\n", r->K > TRAIN_TEXT_LABELS ? " ... (all in --format json)" : "");
    fprintf(f, "model: %s attention, %s activation, squared loss, T = 1, identity embeddings (d = M + 1)\n",
            r->attention, r->activation);
    fprintf(f, "training: full-batch SGD, lr %g, %ld steps, init N(0,1) x %g, seed %lu: ended %s after %ld steps\n",
            r->lr, r->steps, r->init_scale, r->seed, ac_train_outcome_str(r->info->outcome), r->info->steps);
    fprintf(f, "theory: the joint gradient flow (spec joma 6.1) from the same start, rk8pd, at t = lr x step: %s "
               "at t = %.6g (%ld steps of at most %ld, %ld evaluations)\n",
            ac_ode_outcome_str(r->ode->status), r->ode->t, r->ode->steps, r->ode_max_steps, r->ode->nfev);
    fprintf(f, "invariant drift = max_l |I_l(t) - I_l(0)|, I = z - 1/2 sum_k v_k^2 (linear attention: z^2 - "
               "sum_k v_k^2); SGD drifts by O(lr) per unit time, the flow by 0 (softmax: neither is conserved)\n");
    fprintf(f, "%8s %10s %12s %10s %10s %12s %12s %12s %12s\n", "step", "t", "loss", "H_train", "H_ode", "inv_train",
            "inv_ode", "|dv|max", "|dz|max");
    for (int i = 0; i < r->n; i++) {
        const train_row *w = &r->rows[i];
        fprintf(f, "%8ld %10.4g %12.6e %10.6f %10.6f %12.4e %12.4e %12.4e %12.4e\n", w->step, w->t, w->loss,
                w->H_train, w->H_ode, w->inv_train, w->inv_ode, w->dv, w->dz);
    }
}

typedef struct {
    const train_report *r;
    int N;
} train_text_ctx;

static ac_status fill_train_any(FILE *f, void *ctx, ac_msg *msg)
{
    const train_text_ctx *c = ctx;
    if (c->r->fmt == OUT_TEXT) {
        train_text(f, c->r, c->N);
        return ferror(f) ? AC_EIO : AC_OK;
    }
    return fill_train(f, (void *)c->r, msg);
}

static void train_help(void)
{
    ac_joma_train_settings d;
    ac_joma_train_settings_default(&d);
    printf("usage: attncheck joma train (--tokens FILE | --data FILE) [OPTIONS]\n\n"
           "Train the one-layer block of spec joma section 1 (verify/joma_model: attention logits z\n"
           "and MLP weights W, identity embeddings, squared loss, T = 1, full-batch SGD) on your\n"
           "data, and beside it integrate the joint gradient flow of z, v_k = U^T w_k and q from the\n"
           "same start to t = lr x step (theory/joma.h, rk8pd): the theory-vs-training table of\n"
           "attention entropy, invariant drift and the largest v and z differences.\n\n"
           "  --tokens FILE    one sequence per line: context tokens, then the next token (words;\n"
           "                   integer ids are words too); x = normalised context counts\n"
           "  --data FILE      rows 'x_1 .. x_M | label' (what joma generate --task synthetic writes)\n"
           "  --attention K    exp | softmax | linear (default: softmax)\n"
           "  --activation A   identity | tanh (default: identity)\n"
           "  --steps N        SGD steps, 1 to %ld (default: %ld); steps x N K (M + 1) <= 2^34\n"
           "  --lr ETA         step size > 0 (default: %g)\n"
           "  --init-scale S   W, z ~ N(0, 1) x S (default: %g)\n"
           "  --seed S         seed of the initialisation (default: %lu)\n"
           "  --format F       text | csv | json (default: text); --out FILE writes there atomically\n\n"
           "Exit 0: trained to the step limit and the flow reached the last time.  Exit 1: training\n"
           "diverged or the flow ended early (exp attention breaks down, spec 6.2, or its step budget,\n"
           "10^6 but at most 2^35 / (13 N K M), was spent): the rows reached are written.  Exit 2:\n"
           "bad input, or data past the bounds checked before the run:\n"
           "M + K M + K <= 2^20 flow unknowns, N K M <= 2^23 a flow evaluation (docs/joma.md).\n",
           TRAIN_STEPS_MAX, d.steps, d.lr, AC_JOMA_TRAIN_INIT_SCALE_DEFAULT, TRAIN_SEED_DEFAULT);
}

static double invariant_drift(const ac_joma_joint *J, const double *y, const double *I0, double *I)
{
    ac_joma_joint_invariant(J, y, I);
    return max_abs_diff(I, I0, (size_t)J->M);
}

/* The state [z | V | q] of the flow from the trainer's z and W. */
static void trained_state(const ac_joma_model *mdl, const double *z, const double *W, double *y)
{
    int M = mdl->M, K = mdl->K;
    memcpy(y, z, sizeof(double) * (size_t)M);
    ac_joma_model_project(mdl, W, y + M, y + M + (size_t)K * M);
}

static int joma_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tokens", required_argument, 0, 'k'},   {"data", required_argument, 0, 'D'},
        {"attention", required_argument, 0, 'a'}, {"activation", required_argument, 0, 'A'},
        {"steps", required_argument, 0, 'n'},    {"lr", required_argument, 0, 'l'},
        {"init-scale", required_argument, 0, 'i'}, {"seed", required_argument, 0, 's'},
        {"format", required_argument, 0, 'f'},   {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *tokens = NULL, *data = NULL, *out = NULL;
    ac_joma_train_settings ts;
    ac_joma_train_settings_default(&ts);
    ts.loss = AC_JOMA_MODEL_LOSS_SQUARED; /* the loss of the joint flow */
    ts.T = 1.0;                           /* the flow's attention is exp(z), softmax(z) */
    double scale = AC_JOMA_TRAIN_INIT_SCALE_DEFAULT;
    unsigned long seed = TRAIN_SEED_DEFAULT;
    out_format fmt = OUT_TEXT;
    long v;
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        switch (c) {
        case 'k': tokens = optarg; break;
        case 'D': data = optarg; break;
        case 'a':
            if (!parse_attention(optarg, &ts.attention))
                return EXIT_USAGE;
            break;
        case 'A':
            if (strcmp(optarg, "identity") == 0)
                ts.activation = AC_JOMA_MODEL_ACT_IDENTITY;
            else if (strcmp(optarg, "tanh") == 0)
                ts.activation = AC_JOMA_MODEL_ACT_TANH;
            else {
                cli_error("--activation: '%s' is not identity or tanh (the activations of the joint flow)", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'n':
            if (!cli_long("steps", optarg, 1, TRAIN_STEPS_MAX, &v))
                return EXIT_USAGE;
            ts.steps = v;
            break;
        case 'l':
            if (!cli_double("lr", optarg, DBL_MIN, 1e6, &ts.lr))
                return EXIT_USAGE;
            break;
        case 'i':
            if (!cli_double("init-scale", optarg, 0.0, 1e6, &scale))
                return EXIT_USAGE;
            break;
        case 's':
            if (!cli_long("seed", optarg, 0, SEED_MAX, &v))
                return EXIT_USAGE;
            seed = (unsigned long)v;
            break;
        case 'f':
            if (!parse_format(optarg, 1, &fmt))
                return EXIT_USAGE;
            break;
        case 'o': out = optarg; break;
        case 'h': train_help(); return cli_finish(EXIT_HOLDS);
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc || (tokens != NULL) == (data != NULL)) {
        cli_error("joma train: expected one of --tokens FILE or --data FILE, and no other argument (see --help)");
        return EXIT_USAGE;
    }
    if (cli_same_file(tokens ? tokens : data, out) || !cli_out_writable(out))
        return EXIT_USAGE;
    ac_msg msg = {{0}};
    ac_joma_tokens tk = {0};
    ac_joma_data *D = &tk.D;
    long long *label_id = NULL; /* --data: the label of class k */
    ac_status st = tokens ? ac_joma_io_read_tokens(tokens, &tk, &msg) : ac_joma_io_read_data(data, D, &label_id, &msg);
    if (st != AC_OK) {
        cli_error("%s", msg.text);
        return EXIT_USAGE;
    }
    const char *src = tokens ? tokens : data;
    if ((long)D->M + (long)D->K * D->M + D->K > TRAIN_DIM_MAX) {
        cli_error("%s: M = %d %s and K = %d %s give the joint flow M + K M + K = %ld unknowns, "
                  "more than %ld (2^20, some 280 MB): use fewer distinct %s", src, D->M,
                  tokens ? "distinct context tokens" : "numbers per row", D->K,
                  tokens ? "distinct next tokens" : "distinct labels",
                  (long)D->M + (long)D->K * D->M + D->K, TRAIN_DIM_MAX,
                  tokens ? "tokens" : "labels or shorter rows");
        ac_joma_tokens_clear(&tk);
        free(label_id);
        return EXIT_USAGE;
    }
    long long flow_work = (long long)D->N * D->K * D->M; /* <= 2^20 x 2^20: no overflow */
    if (flow_work > TRAIN_FLOW_WORK_MAX) {
        cli_error("%s: N x K x M = %d x %d x %d = %lld, the cost of one evaluation of the joint flow, exceeds "
                  "%lld (2^23, some 10 s a table row): use fewer lines, %s or %s",
                  src, D->N, D->K, D->M, flow_work, TRAIN_FLOW_WORK_MAX,
                  tokens ? "distinct next tokens" : "distinct labels",
                  tokens ? "distinct context tokens" : "numbers per row");
        ac_joma_tokens_clear(&tk);
        free(label_id);
        return EXIT_USAGE;
    }
    /* after the flow bound: N K (M + 1) <= 2^24, times steps <= 10^8 */
    long long per_step = (long long)D->N * D->K * (D->M + 1), sgd_work = ts.steps * per_step;
    if (sgd_work > TRAIN_SGD_WORK_MAX) {
        cli_error("--steps %ld: steps x N x K x (M + 1) = %ld x %d x %d x %d = %lld multiply-adds of SGD exceed "
                  "%lld (2^34, some 90 s); this data allows at most --steps %lld",
                  ts.steps, ts.steps, D->N, D->K, D->M + 1, sgd_work, TRAIN_SGD_WORK_MAX,
                  TRAIN_SGD_WORK_MAX / per_step);
        ac_joma_tokens_clear(&tk);
        free(label_id);
        return EXIT_USAGE;
    }
    int M = D->M, K = D->K, d = M + 1, rc = EXIT_USAGE, n = 0;
    ac_joma_model mdl = {M, K, d, NULL, ts.attention, ts.activation, ts.loss, ts.T};
    ac_joma_joint J = {M, K, D->N, ts.attention, ts.activation == AC_JOMA_MODEL_ACT_TANH, D->X, D->Y, NULL};
    int dim = ac_joma_joint_dim(&J);
    size_t KM = (size_t)K * M;
    double *z0 = malloc(sizeof(double) * (size_t)M), *W0 = malloc(sizeof(double) * (size_t)d * K);
    double *y0 = malloc(sizeof(double) * (size_t)dim), *y = malloc(sizeof(double) * (size_t)dim);
    double *I0 = malloc(sizeof(double) * (size_t)M), *I = malloc(sizeof(double) * (size_t)M);
    int keep_v = fmt == OUT_JSON && KM <= TRAIN_JSON_V_MAX;
    double *vrows = keep_v ? calloc((size_t)TRAIN_ROWS_MAX * 2 * KM, sizeof(double)) : NULL;
    train_row *rows = calloc(TRAIN_ROWS_MAX, sizeof *rows);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    ac_joma_trainer *tr = ac_joma_trainer_alloc(D->N, M, K, d);
    ac_ode_workspace *w = ac_ode_alloc(dim);
    ac_ode_info oinfo = {0};
    if (!z0 || !W0 || !y0 || !y || !I0 || !I || (keep_v && !vrows) || !rows || !r || !tr || !w) {
        cli_error("%s: out of memory (M = %d, K = %d)", src, M, K);
        goto done;
    }
    gsl_rng_set(r, seed);
    ac_joma_model_init(r, &mdl, scale, z0, W0);
    if (ac_joma_trainer_set(tr, D, NULL, &ts, z0, W0, NULL, &msg) != AC_OK) {
        cli_error("joma train: %s", msg.text);
        goto done;
    }
    trained_state(&mdl, z0, W0, y0);
    ac_joma_joint_invariant(&J, y0, I0);
    ac_ode_system sys = {dim, ac_joma_joint_rhs, NULL, NULL, &J};
    ac_ode_settings oset;
    ac_ode_settings_default(&oset);
    oset.max_steps = train_flow_budget(flow_work, oset.max_steps);
    /* set with t_end = 0 (DONE at once), then extend to each row's time */
    if (ac_ode_set(w, &sys, 0.0, y0, 0.0, &oset, &msg) != AC_OK) {
        cli_error("joma train: %s", msg.text);
        goto done;
    }
    rc = EXIT_HOLDS;
    for (long s = 0;; s = next_row_step(s)) {
        if (s > ts.steps)
            s = ts.steps;
        ac_train_outcome oc = ac_joma_trainer_run(tr, s);
        const ac_train_info *ti = ac_joma_trainer_info(tr);
        if (oc == AC_TRAIN_DIVERGED && !isfinite(ti->loss0)) {
            /* no step was taken: the model overflows at its start (exp
             * attention of logits of size --init-scale), not a divergence
             * that a smaller --lr would cure; bad input, nothing written */
            cli_error("%s: the loss at the start is %g, before any step: the %s attention model overflows at "
                      "--init-scale %g; lower --init-scale",
                      src, ti->loss0, ac_joma_attention_name(ts.attention), scale);
            rc = EXIT_USAGE;
            goto done;
        }
        if (oc == AC_TRAIN_DIVERGED) {
            cli_error("%s: training diverged (loss %.3g, from %.3g at the start) at step %ld; lower --lr", src,
                      ti->loss, ti->loss0, ti->steps);
            rc = EXIT_FAILS;
            break;
        }
        double t = ts.lr * (double)s;
        /* the flow to t (time runs on; each row time is stepped to exactly) */
        int ok = 1;
        if (t > ac_ode_t(w)) {
            if (ac_ode_extend(w, t) != AC_OK) {
                cli_error("joma train: cannot extend the flow to t = %g", t);
                rc = EXIT_USAGE;
                break;
            }
            while (!ac_ode_test(w, &oinfo))
                ac_ode_step(w);
            ok = oinfo.status == AC_ODE_DONE;
        }
        ac_ode_test(w, &oinfo);
        if (!ok) {
            ac_msg om = {{0}};
            ac_ode_info_message(&oinfo, &om);
            char why[256] = "";
            if (oinfo.status == AC_ODE_MAX_STEPS && oset.max_steps < AC_ODE_MAX_STEPS_DEFAULT)
                snprintf(why, sizeof why, "; the flow's budget at N K M = %lld is %ld steps (2^35 / (13 N K M), "
                         "some two minutes): fewer --steps or a smaller --lr reach less far", flow_work,
                         oset.max_steps);
            else if ((oinfo.status == AC_ODE_STEP_UNDERFLOW || oinfo.status == AC_ODE_BLOWUP) &&
                     ts.attention == AC_JOMA_ATT_EXP)
                /* it gave the ODE's words alone: exp attention's flow is
                 * singular in finite time (spec joma 6.2), the sooner the
                 * larger the logits */
                snprintf(why, sizeof why, "; exp attention's flow blows up in finite time (spec joma 6.2), the "
                         "sooner the larger the logits (loss %.3g at the start): a smaller --init-scale or "
                         "--attention softmax", ac_joma_trainer_info(tr)->loss0);
            cli_error("%s: the joint flow stopped before t = %.6g (step %ld): %s%s", src, t, s, om.text, why);
            rc = EXIT_FAILS;
            break;
        }
        train_row *row = &rows[n];
        row->step = s, row->t = t;
        if (keep_v)
            row->v_train = vrows + (size_t)n * 2 * KM, row->v_ode = row->v_train + KM;
        trained_state(&mdl, ac_joma_trainer_z(tr), ac_joma_trainer_W(tr), y);
        const double *yo = ac_ode_y(w);
        row->loss = ac_joma_joint_loss(&J, y);
        row->H_train = ac_joma_model_entropy(&mdl, D, y);
        row->H_ode = ac_joma_model_entropy(&mdl, D, yo);
        row->inv_train = invariant_drift(&J, y, I0, I);
        row->inv_ode = invariant_drift(&J, yo, I0, I);
        row->dv = max_abs_diff(y + M, yo + M, KM);
        row->dz = max_abs_diff(y, yo, (size_t)M);
        if (keep_v) {
            memcpy(row->v_train, y + M, sizeof(double) * KM);
            memcpy(row->v_ode, yo + M, sizeof(double) * KM);
        }
        n++;
        if (oc != AC_TRAIN_RUNNING || s == ts.steps || n == TRAIN_ROWS_MAX)
            break;
    }
    {
        train_report rep = {rows, n, M, K, src, ac_joma_attention_name(ts.attention),
                            ac_joma_model_activation_name(ts.activation), ts.steps, ts.lr, scale, seed,
                            ac_joma_trainer_info(tr), &oinfo, oset.max_steps, fmt, tokens ? tk.labels : NULL,
                            label_id};
        train_text_ctx tc = {&rep, D->N};
        if (!cli_write_output(out, fill_train_any, &tc))
            rc = EXIT_USAGE;
    }
done:
    ac_ode_free(w);
    ac_joma_trainer_free(tr);
    gsl_rng_free(r);
    free(rows);
    free(vrows);
    free(z0), free(W0), free(y0), free(y), free(I0), free(I);
    ac_joma_tokens_clear(&tk);
    free(label_id);
    return cli_finish(rc);
}

/* ---- generate ------------------------------------------------------------- */

/* What a task is given: the seed, the output prefix, its variant (NULL: its
 * default) and the header to write first. */
typedef struct {
    unsigned long seed;
    const char *prefix;
    const char *variant;
} gen_options;

/* A task writes its files (PREFIX.<ext>) atomically and returns an exit
 * status, after a message on failure. */
typedef int (*gen_task_fn)(const gen_options *o);

typedef struct {
    const char *name;
    const char *files; /* what it writes, for --help */
    gen_task_fn run;
    const char *help;
} gen_task;

typedef struct {
    const char *header;
    const double *x;
    int n;
    const ac_joma_data *D;
} gen_file;

static ac_status fill_gen(FILE *f, void *ctx, ac_msg *msg)
{
    const gen_file *g = ctx;
    (void)msg;
    return g->D ? ac_joma_io_write_data(f, g->header, g->D) : ac_joma_io_write_vector(f, g->header, g->x, g->n);
}

/* PREFIX + ext as a path; 0 after a message when too long. */
static int gen_path(const char *prefix, const char *ext, char *buf, size_t cap)
{
    if ((size_t)snprintf(buf, cap, "%s%s", prefix, ext) >= cap) {
        cli_error("joma generate: --out: PREFIX too long");
        return 0;
    }
    return 1;
}

static int gen_toy(const gen_options *o)
{
    if (o->seed != 0) {
        cli_error("joma generate --task toy: --seed %lu: the toy's mu exists for seed 0 only (the authors' "
                  "torch.manual_seed(0), spec joma 4.2)",
                  o->seed);
        return EXIT_USAGE;
    }
    if (o->variant) {
        cli_error("joma generate --task toy: no --variant");
        return EXIT_USAGE;
    }
    double mu[AC_JOMA_TOY_M];
    ac_joma_toy_mu_seed0(mu);
    char path[AC_ATOMIC_PATH_MAX], header[512];
    snprintf(header, sizeof header,
             "attncheck joma generate --task toy --seed 0\n"
             "mu of the nonlinear toy (spec joma 4.2, seed 0), as verify/joma_toy builds it.\n"
             "The claims integrate it as:\n"
             "attncheck joma integrate FILE --activation nonlinear --attention softmax --T %g --v0 %g --t-end %g",
             AC_JOMA_TOY_T, AC_JOMA_TOY_V0, AC_JOMA_TOY_ETA * (double)AC_JOMA_TOY_STEPS);
    if (!gen_path(o->prefix, ".mu", path, sizeof path))
        return EXIT_USAGE;
    gen_file g = {header, mu, AC_JOMA_TOY_M, NULL};
    return cli_write_output(path, fill_gen, &g) ? EXIT_HOLDS : EXIT_USAGE;
}

static int gen_synthetic(const gen_options *o)
{
    ac_joma_data_kind kind = AC_JOMA_DATA_GAUSSIAN;
    if (o->variant && strcmp(o->variant, "uniform") == 0)
        kind = AC_JOMA_DATA_UNIFORM;
    else if (o->variant && strcmp(o->variant, "gaussian") != 0) {
        cli_error("joma generate --task synthetic: --variant '%s' is not uniform or gaussian", o->variant);
        return EXIT_USAGE;
    }
    /* the trial harness's generator: trial i of a claim run with --seed S
     * draws from ac_trial_rng_alloc(S, i), i.e. mt19937 seeded S + i */
    gsl_rng *r = ac_trial_rng_alloc(o->seed, 0);
    if (!r)
        return EXIT_USAGE;
    ac_joma_data D = {0};
    ac_msg msg = {{0}};
    ac_status st = ac_joma_data_synthetic(&D, kind, AC_JOMA_DATA_MDISTINCT, AC_JOMA_DATA_MCOMMON, AC_JOMA_DATA_K, r,
                                          &msg);
    gsl_rng_free(r);
    if (st != AC_OK) {
        cli_error("joma generate: %s", msg.text);
        return EXIT_USAGE;
    }
    char path[AC_ATOMIC_PATH_MAX], header[512];
    snprintf(header, sizeof header,
             "attncheck joma generate --task synthetic --variant %s --seed %lu\n"
             "spec joma 4.1: %d distinct + %d common tokens, K = %d classes, one sample per class\n"
             "(verify/joma_data, gsl mt19937 seeded %lu).  Rows: x_1 .. x_M | label.",
             ac_joma_data_kind_name(kind), o->seed, AC_JOMA_DATA_MDISTINCT, AC_JOMA_DATA_MCOMMON, AC_JOMA_DATA_K,
             o->seed);
    int rc = EXIT_USAGE;
    if (gen_path(o->prefix, ".data", path, sizeof path)) {
        gen_file g = {header, NULL, 0, &D};
        rc = cli_write_output(path, fill_gen, &g) ? EXIT_HOLDS : EXIT_USAGE;
    }
    ac_joma_data_clear(&D);
    return rc;
}

typedef struct {
    const char *header;
    int N, nleaves;
    const unsigned char *Y;
} gen_hblt_file;

static ac_status fill_hblt(FILE *f, void *ctx, ac_msg *msg)
{
    const gen_hblt_file *g = ctx;
    for (const char *p = g->header; *p;) {
        const char *e = strchr(p, '\n');
        int len = e ? (int)(e - p) : (int)strlen(p);
        fprintf(f, "# %.*s\n", len, p);
        p += len + (e != NULL);
    }
    for (int s = 0; s < g->N; s++)
        for (int l = 0; l < g->nleaves; l++)
            fputs(g->Y[(size_t)s * g->nleaves + l] ? (l + 1 < g->nleaves ? "1 " : "1\n")
                                                   : (l + 1 < g->nleaves ? "0 " : "0\n"), f);
    return ferror(f) ? ac_fail(msg, AC_EIO, "write error") : AC_OK;
}

/* The HBLT samples of joma.hierarchy (spec joma 4.5): the tree of the
 * claim's setup at size --variant (quick|default|paper, default default),
 * sampled first from trial 0's generator of --seed, which is what trial i
 * of a run with --seed S - i draws. */
static int gen_hblt(const gen_options *o)
{
    int size = AC_SIZE_DEFAULT;
    if (o->variant && (size = ac_size_parse(o->variant)) < 0) {
        cli_error("joma generate --task hblt: --variant '%s' is not quick, default or paper (the claim's size)",
                  o->variant);
        return EXIT_USAGE;
    }
    ac_joma_hierarchy_setup su = ac_joma_hierarchy_claim_setup((ac_size)size);
    double rho[AC_JOMA_HBLT_DEPTH_MAX];
    for (int k = 0; k < su.depth; k++)
        rho[k] = su.rho;
    ac_joma_hblt h = {.depth = su.depth, .p_root = su.p_root, .rho = rho};
    const int nl = ac_joma_hblt_nleaves(&h);
    unsigned char *Y = malloc((size_t)su.nsample * (size_t)nl);
    gsl_rng *r = ac_trial_rng_alloc(o->seed, 0);
    ac_msg msg = {{0}};
    ac_status st = Y && r ? ac_joma_hblt_sample(&h, r, su.nsample, Y, &msg) : AC_ENOMEM;
    gsl_rng_free(r);
    int rc = EXIT_USAGE;
    char path[AC_ATOMIC_PATH_MAX], header[512];
    if (st != AC_OK)
        cli_error("joma generate: %s", msg.text[0] ? msg.text : ac_status_str(st));
    else if (gen_path(o->prefix, ".hblt", path, sizeof path)) {
        snprintf(header, sizeof header,
                 "attncheck joma generate --task hblt --variant %s --seed %lu\n"
                 "spec joma 4.5: binary latent tree of depth %d (%d leaves), P(root = 1) = %g, every edge's\n"
                 "correlation rho = %g; %d samples drawn first by trial 0 of seed %lu (joma.hierarchy).\n"
                 "One sample per line: y_1 .. y_%d (0 or 1); its tokens are the leaves with y = 1.",
                 ac_size_str((ac_size)size), o->seed, su.depth, nl, su.p_root, su.rho, su.nsample, o->seed, nl);
        gen_hblt_file g = {header, su.nsample, nl, Y};
        rc = cli_write_output(path, fill_hblt, &g) ? EXIT_HOLDS : EXIT_USAGE;
    }
    free(Y);
    return rc;
}

/* The tasks: one row each. */
static const gen_task gen_tasks[] = {
    {"toy", "PREFIX.mu", gen_toy, "mu of the section 4.2 toy (seed 0 only)"},
    {"synthetic", "PREFIX.data", gen_synthetic,
     "the section 4.1 data (--variant gaussian|uniform, default gaussian)"},
    {"hblt", "PREFIX.hblt", gen_hblt,
     "the section 4.5 tree's samples of joma.hierarchy (--variant quick|default|paper, default default)"},
};
#define N_GEN_TASKS ((int)(sizeof gen_tasks / sizeof gen_tasks[0]))

static int joma_generate(int argc, char **argv)
{
    static const struct option opts[] = {{"task", required_argument, 0, 't'},    {"seed", required_argument, 0, 's'},
                                         {"variant", required_argument, 0, 'v'}, {"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *task = NULL;
    gen_options o = {0, NULL, NULL};
    long v;
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        switch (c) {
        case 't': task = optarg; break;
        case 's':
            if (!cli_long("seed", optarg, 0, SEED_MAX, &v))
                return EXIT_USAGE;
            o.seed = (unsigned long)v;
            break;
        case 'v': o.variant = optarg; break;
        case 'o': o.prefix = optarg; break;
        case 'h':
            printf("usage: attncheck joma generate --task TASK [--seed S] [--variant V] --out PREFIX\n\n"
                   "Write the inputs the claims use, in the formats the other joma commands read\n"
                   "(docs/joma.md).  Default seed 0.  Tasks:\n");
            for (int i = 0; i < N_GEN_TASKS; i++)
                printf("  %-10s -> %-12s %s\n", gen_tasks[i].name, gen_tasks[i].files, gen_tasks[i].help);
            return cli_finish(EXIT_HOLDS);
        default: return EXIT_USAGE;
        }
    }
    if (!task || !o.prefix || optind < argc) {
        cli_error("joma generate: expected --task TASK and --out PREFIX, and no other argument (see --help)");
        return EXIT_USAGE;
    }
    const char *slash = strrchr(o.prefix, '/'), *base = slash ? slash + 1 : o.prefix;
    if (!base[0] || strchr(o.prefix, '\n')) {
        cli_error("joma generate: --out '%s': PREFIX must end in a file name and hold no newline", o.prefix);
        return EXIT_USAGE;
    }
    for (int i = 0; i < N_GEN_TASKS; i++)
        if (strcmp(task, gen_tasks[i].name) == 0)
            return cli_finish(gen_tasks[i].run(&o));
    char names[256] = "";
    for (int i = 0; i < N_GEN_TASKS; i++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "", gen_tasks[i].name);
    cli_error("--task: '%s' is not one of: %s", task, names);
    return EXIT_USAGE;
}

static const cli_command joma_commands[] = {
    {"integrate", "[MU_FILE] [OPTIONS]", joma_integrate,
     "the reduced dynamics: trajectory, entropy, first-integral drift, blow-up time"},
    {"train", "--tokens FILE | --data FILE", joma_train, "the one-layer block trained on your data against the flow"},
    {"generate", "--task TASK --out PREFIX", joma_generate, "the claims' inputs as files (toy, synthetic)"},
};

int cmd_joma(int argc, char **argv)
{
    return cli_dispatch("attncheck joma",
                        "JoMA (Tian et al., ICLR 2024): the joint MLP/attention dynamics on your own system.\n"
                        "Formats and output keys: docs/joma.md.",
                        joma_commands, (int)(sizeof joma_commands / sizeof joma_commands[0]), argc, argv);
}
