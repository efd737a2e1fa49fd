/* C side of the JoMA benchmarks (bench/joma.sh):
 *
 *   joma_bench ode KIND M REPS DIR NT
 *     KIND explin: exp attention, linear activation, dv_l/dt = Delta_l
 *       exp(v_l^2/T), T = 2, v(0) = 0, Delta_l = 0.5 + U[0,1) (mt19937 seed
 *       1), t in [0, 0.9 t*] (t* the closed-form blow-up time): the closed
 *       form (theory/joma.h ac_joma_linear_v) is the exact reference.
 *     KIND softnl: softmax attention, nonlinear activation (the section 4.2
 *       toy's shape), mu_l = 1 + 3 U[0,1) sorted, T = 3, v(0) = 0.05, t in
 *       [0, 100].
 *     NT (2 to 101) output times evenly over the span.  Ours: ac_ode_trajectory (rk8pd, rtol 1e-10, atol
 *     1e-12: the defaults; first step AC_ODE_H0_AUTO; output HERMITE, rows interpolated between steps whose
 *     length the interpolant's error estimate caps), the fastest of REPS timed runs; beside it the same with
 *     output LAND (each time a step's end), its time, error and difference from the HERMITE rows.  CVODE (SUNDIALS,
 *     Adams-Moulton with fixed-point iteration: its non-stiff method) at
 *     rtol 1e-6 .. 1e-13 (atol = rtol / 100), each the median of REPS runs,
 *     with its error against the closed form (explin).  Writes DIR/sys.txt
 *     (the system for the SciPy peer), DIR/ours.txt (our trajectory, NT
 *     rows of M numbers) and, for explin, DIR/ref.txt (the closed form);
 *     prints one JSON object.
 *
 *   joma_bench step M K d N STEPS DIR
 *     The one-layer block (verify/joma_model.h: softmax attention, T 0.5,
 *     identity activation, CE loss, full batch, lr 0.1: the section 4.1
 *     run) on N random samples (x rows U[0,1) normalised, label n mod K),
 *     init N(0,1) x 0.1 (seed 1).  Writes DIR/step.txt (sizes, X, labels,
 *     z0, W0 in %.17g) and DIR/step_c.txt (z, W after one step), times
 *     STEPS steps (median of per-step times after one warm-up step) and
 *     prints one JSON object. */
#include <cvode/cvode.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <nvector/nvector_serial.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sundials/sundials_context.h>
#include <sunnonlinsol/sunnonlinsol_fixedpoint.h>

#include "solvers/ode.h"
#include "theory/joma.h"
#include "verify/joma_data.h"
#include "verify/joma_model.h"
#include "verify/joma_toy.h"

/* Output times at most (the trajectory benchmark writes 101). */
#define NT_MAX 101

/* CPU seconds of this thread: on a shared machine wall time measures the
 * neighbours; both sides run in this one thread, so they are timed alike
 * (the Python peers use time.thread_time, the same clock). */
static double cpu_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, int n)
{
    qsort(x, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* The fastest of n runs: on a shared machine the other runs measure the
 * neighbours' load, not the code. */
static double best(const double *x, int n)
{
    double b = x[0];
    for (int i = 1; i < n; i++)
        b = fmin(b, x[i]);
    return b;
}

static int NT = NT_MAX;

static void write_rows(const char *path, const double *V, int nt, int M)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(2);
    }
    for (int k = 0; k < nt; k++)
        for (int m = 0; m < M; m++)
            fprintf(f, "%.17g%c", V[(size_t)k * M + m], m + 1 < M ? ' ' : '\n');
    fclose(f);
}

/* ---- the right-hand side alone ------------------------------------------- */

/* A recording wrapper around a system's rhs: each call's (t, y) appended to
 * ts / ys (up to cap calls), then the wrapped rhs called.  Used for one
 * untimed solve, so that the rhs alone can be timed on the very states the
 * solver asked for (the ceiling of the ratio to solve_ivp). */
typedef struct {
    ac_ode_system inner;
    long n, cap;
    double *ts, *ys;
} rhs_record;

static int rhs_recording(void *ctx, double t, const double *y, double *f)
{
    rhs_record *r = ctx;
    if (r->n < r->cap) {
        r->ts[r->n] = t;
        memcpy(r->ys + (size_t)r->n * r->inner.dim, y, sizeof(double) * (size_t)r->inner.dim);
    }
    r->n++;
    return r->inner.rhs(r->inner.ctx, t, y, f);
}

static int blowup_recording(void *ctx, double t, const double *y)
{
    rhs_record *r = ctx;
    return r->inner.blowup ? r->inner.blowup(r->inner.ctx, t, y) : 0;
}

/* States recorded at most, in doubles (32 MiB): M = 1000 keeps 4194 calls,
 * where the solves here make 95-1342; a solve past the cap reports a replay
 * of its first calls scaled by its call count (the JSON says how many were
 * replayed: "rhs_replayed"). */
#define RHS_CAP_DOUBLES ((long)1 << 22)

/* Best of reps thread-CPU times of the rhs replayed on the n recorded states
 * (n = the solve's nfev), into f (dim). */
static double rhs_replay(const rhs_record *r, long n, int reps, double *f, double *sec)
{
    int M = r->inner.dim;
    long k = n < r->cap ? n : r->cap;
    for (int i = 0; i < reps; i++) {
        double t0 = cpu_clock();
        for (long c = 0; c < k; c++)
            r->inner.rhs(r->inner.ctx, r->ts[c], r->ys + (size_t)c * M, f);
        sec[i] = cpu_clock() - t0;
    }
    return best(sec, reps) * (double)n / (double)k;
}

/* ---- an 8th-order Runge-Kutta step's own arithmetic ---------------------- */

/* Non-zero coefficients of each stage's combination in the Prince-Dormand
 * 8(7) pair that GSL's rk8pd implements (stages 2..13: 60 terms), then the
 * 8th-order update (9 terms) and the error estimate (9 more, combined
 * coefficients): 78 multiply-adds per component per trial step, the least
 * any implementation of this pair does.  The values below are stand-ins of
 * the right sparsity (the time does not depend on them). */
#define RK_STAGES 13
static const int rk_terms[RK_STAGES + 1] = {0, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8, 9, 10, 18};

/* Per stage out = y + sum_j a_j k_j over its terms, one vectorisable
 * multiply-add pass per term (out stays in cache), compiled for AVX2/FMA
 * where the CPU has it, as our right-hand side's exponentials are. */
#define RK_ARITH_BODY                                                                                   \
    for (long s = 0; s < trials; s++)                                                                   \
        for (int st = 1; st <= RK_STAGES; st++) {                                                       \
            int n = rk_terms[st];                                                                       \
            double *restrict out = K[st % RK_STAGES];                                                   \
            for (int i = 0; i < M; i++)                                                                 \
                out[i] = y[i];                                                                          \
            for (int j = 0; j < n; j++) {                                                               \
                const double *restrict k = K[(st + 1 + j) % RK_STAGES];                                 \
                double a = 0.01 * (j + 1);                                                              \
                for (int i = 0; i < M; i++)                                                             \
                    out[i] += a * k[i];                                                                 \
            }                                                                                           \
        }

__attribute__((target("avx2,fma"), optimize("O3"))) static void rk_arith_avx2(int M, long trials, double **K,
                                                                                const double *y)
{
    RK_ARITH_BODY
}

__attribute__((optimize("O3"))) static void rk_arith_plain(int M, long trials, double **K, const double *y)
{
    RK_ARITH_BODY
}

/* Best of reps thread-CPU seconds of trials trial steps' arithmetic at
 * dimension M. */
static double rk_arith(int M, long trials, int reps, double *sec)
{
    double *buf = calloc((size_t)(RK_STAGES + 1) * (size_t)M, sizeof(double)), *K[RK_STAGES];
    for (int j = 0; j < RK_STAGES; j++)
        K[j] = buf + (size_t)j * M;
    const double *y = buf + (size_t)RK_STAGES * M;
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    for (int i = 0; i < reps; i++) {
        double t0 = cpu_clock();
        if (avx2)
            rk_arith_avx2(M, trials, K, y);
        else
            rk_arith_plain(M, trials, K, y);
        sec[i] = cpu_clock() - t0;
    }
    free(buf);
    return best(sec, reps);
}

/* ---- CVODE ---------------------------------------------------------------- */

static int cv_rhs(realtype t, N_Vector y, N_Vector ydot, void *ud)
{
    return ac_joma_reduced_rhs(ud, t, N_VGetArrayPointer(y), N_VGetArrayPointer(ydot));
}

/* One CVODE run to the nt times; V (nt x M) filled; returns seconds, or -1
 * when CVODE failed. */
static double cvode_run(ac_joma_reduced *m, const double *v0, const double *t, int nt, double rtol, double atol,
                        double *V, long *nfev)
{
    SUNContext ctx;
    if (SUNContext_Create(NULL, &ctx))
        return -1;
    int M = m->M;
    double t0 = cpu_clock();
    N_Vector y = N_VNew_Serial(M, ctx);
    memcpy(N_VGetArrayPointer(y), v0, sizeof(double) * (size_t)M);
    void *cv = CVodeCreate(CV_ADAMS, ctx);
    SUNNonlinearSolver nls = SUNNonlinSol_FixedPoint(y, 0, ctx);
    int bad = CVodeInit(cv, cv_rhs, t[0], y) || CVodeSStolerances(cv, rtol, atol) || CVodeSetUserData(cv, m) ||
              CVodeSetNonlinearSolver(cv, nls) || CVodeSetMaxNumSteps(cv, 10000000L);
    memcpy(V, v0, sizeof(double) * (size_t)M);
    for (int k = 1; k < nt && !bad; k++) {
        realtype tr;
        bad = CVode(cv, t[k], y, &tr, CV_NORMAL) < 0;
        memcpy(V + (size_t)k * M, N_VGetArrayPointer(y), sizeof(double) * (size_t)M);
    }
    double s = cpu_clock() - t0;
    CVodeGetNumRhsEvals(cv, nfev);
    CVodeFree(&cv);
    SUNNonlinSolFree(nls);
    N_VDestroy(y);
    SUNContext_Free(&ctx);
    return bad ? -1 : s;
}

/* A JSON number, or null when not finite (NaN: not measured). */
static const char *jnum(double x, char *buf)
{
    if (!isfinite(x))
        return "null";
    sprintf(buf, "%.6e", x);
    return buf;
}

static double max_err(const double *A, const double *B, size_t n)
{
    double e = 0.0;
    for (size_t i = 0; i < n; i++)
        e = fmax(e, fabs(A[i] - B[i]));
    return e;
}

static int ode_bench(const char *kind, int M, int reps, const char *dir)
{
    int explin = strcmp(kind, "explin") == 0;
    char b1[32], b2[32], b3[32];
    double *drive = malloc(sizeof(double) * (size_t)M), *v0 = malloc(sizeof(double) * (size_t)M);
    double *V = malloc(sizeof(double) * NT * (size_t)M), *R = malloc(sizeof(double) * NT * (size_t)M);
    double *W = malloc(sizeof(double) * NT * (size_t)M), t[NT_MAX], *sec = calloc((size_t)reps, sizeof(double));
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 1);
    double T = explin ? AC_JOMA_T_PAPER : AC_JOMA_T_TOY, t_end;
    for (int l = 0; l < M; l++) {
        drive[l] = explin ? 0.5 + gsl_rng_uniform(r) : 1.0 + 3.0 * gsl_rng_uniform(r);
        v0[l] = explin ? 0.0 : AC_JOMA_TOY_V0;
    }
    if (!explin)
        qsort(drive, (size_t)M, sizeof(double), cmp_double);
    t_end = explin ? 0.9 * ac_joma_linear_tstar_min(M, drive, T, v0) : 100.0;
    for (int k = 0; k < NT; k++)
        t[k] = t_end * k / (NT - 1);
    ac_joma_reduced m;
    ac_joma_reduced_init(&m, M, explin ? AC_JOMA_ATT_EXP : AC_JOMA_ATT_SOFTMAX,
                         explin ? AC_JOMA_ACT_LINEAR : AC_JOMA_ACT_NONLINEAR, drive);
    m.T = T;
    ac_ode_system sys;
    ac_joma_reduced_system(&m, &sys);
    ac_ode_settings set;
    ac_ode_settings_default(&set);
    set.h0 = AC_ODE_H0_AUTO; /* the first step chosen as solve_ivp and DOP853 choose it */
    set.output = AC_ODE_OUTPUT_HERMITE; /* rows interpolated, as solve_ivp's t_eval and CVODE's */
    ac_ode_workspace *w = ac_ode_alloc(M);
    ac_ode_info info;
    int nd;
    for (int i = 0; i < reps; i++) {
        double t0 = cpu_clock();
        ac_ode_trajectory(w, &sys, 0.0, v0, NT, t, V, &nd, &set, &info, NULL);
        sec[i] = cpu_clock() - t0;
    }
    double ours = best(sec, reps);
    /* the rhs alone, on the states of one more (recorded) solve: the part of
     * our time no stepper of ours could remove at our f count */
    long cap = RHS_CAP_DOUBLES / M;
    rhs_record rec = {sys, 0, cap, malloc(sizeof(double) * (size_t)cap), malloc(sizeof(double) * (size_t)cap * M)};
    if (!rec.ts || !rec.ys) {
        fprintf(stderr, "joma_bench: out of memory\n");
        return 2;
    }
    ac_ode_system sysr = {M, rhs_recording, NULL, blowup_recording, &rec};
    ac_ode_info irec;
    ac_ode_trajectory(w, &sysr, 0.0, v0, NT, t, W, &nd, &set, &irec, NULL);
    double *fbuf = malloc(sizeof(double) * (size_t)M);
    double rhs_s = rhs_replay(&rec, rec.n, reps, fbuf, sec);
    long rhs_n = rec.n;
    free(rec.ts), free(rec.ys), free(fbuf);
    /* the stepper's least arithmetic over our trial steps (accepted,
     * rejected and side steps) */
    double rk_s = rk_arith(M, irec.steps + irec.rejected + irec.side_steps, reps, sec);
    /* the same solve with LAND rows (solvers/ode.h): every output time a
     * step's end; printed beside the judged line */
    ac_ode_settings sl = set;
    sl.output = AC_ODE_OUTPUT_LAND;
    ac_ode_info il;
    for (int i = 0; i < reps; i++) {
        double t0 = cpu_clock();
        ac_ode_trajectory(w, &sys, 0.0, v0, NT, t, W, &nd, &sl, &il, NULL);
        sec[i] = cpu_clock() - t0;
    }
    double land_s = best(sec, reps), land_diff = max_err(W, V, (size_t)NT * M); /* LAND's */
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/sys.txt", dir);
    if (!(f = fopen(path, "w")))
        return 2;
    fprintf(f, "%s %d %.17g %.17g %.17g %d\n", kind, M, T, t_end, explin ? 0.0 : AC_JOMA_TOY_V0, NT);
    for (int l = 0; l < M; l++)
        fprintf(f, "%.17g\n", drive[l]);
    fclose(f);
    snprintf(path, sizeof path, "%s/ours.txt", dir);
    write_rows(path, V, NT, M);
    double err_ours = NAN;
    if (explin) {
        for (int k = 0; k < NT; k++)
            for (int l = 0; l < M; l++)
                R[(size_t)k * M + l] = ac_joma_linear_v(drive[l], T, 0.0, t[k]);
        snprintf(path, sizeof path, "%s/ref.txt", dir);
        write_rows(path, R, NT, M);
        err_ours = max_err(V, R, (size_t)NT * M);
    }
    double err_land = explin ? max_err(W, R, (size_t)NT * M) : NAN;
    printf("{\"kind\": \"%s\", \"NT\": %d, \"side_steps\": %ld, \"M\": %d, \"T\": %.17g, \"t_end\": %.17g, \"outcome\": \"%s\", \"steps\": %ld, "
           "\"nfev\": %ld, \"seconds\": %.6e, \"rtol\": %g, \"atol\": %g, \"err\": %s, \"reps\": %d, "
           "\"land\": {\"outcome\": \"%s\", \"steps\": %ld, \"nfev\": %ld, \"seconds\": %.6e, \"err\": %s, "
           "\"diff\": %s}, \"rejected\": %ld, \"rhs_calls\": %ld, \"rhs_seconds\": %.6e, \"rhs_replayed\": %ld, "
           "\"rk_arith_seconds\": %.6e, \"sweep\": [",
           kind, NT, info.side_steps, M, T, t_end, info.status == AC_ODE_DONE ? "done" : "failed", info.steps, info.nfev, ours, set.rtol,
           set.atol, jnum(err_ours, b1), reps, il.status == AC_ODE_DONE ? "done" : "failed", il.steps, il.nfev, land_s,
           jnum(err_land, b2), jnum(land_diff, b3), info.rejected, rhs_n, rhs_s, rhs_n < cap ? rhs_n : cap, rk_s);
    /* both integrators at rtol 1e-6 .. 1e-13, atol = rtol / 100: the
     * time-accuracy curves the report compares at equal accuracy */
    int first = 1;
    for (double rt = 1e-6; rt > 0.9e-13; rt /= 10) {
        ac_ode_settings s2 = set;
        s2.rtol = rt, s2.atol = rt * 1e-2;
        ac_ode_info i2;
        for (int i = 0; i < reps; i++) {
            double t0 = cpu_clock();
            ac_ode_trajectory(w, &sys, 0.0, v0, NT, t, W, &nd, &s2, &i2, NULL);
            sec[i] = cpu_clock() - t0;
        }
        printf("%s{\"rtol\": %g, \"atol\": %g, \"ours_seconds\": %.6e, \"ours_nfev\": %ld, \"ours_err\": %s, ",
               first ? "" : ", ", rt, rt * 1e-2, best(sec, reps), i2.nfev,
               jnum(explin && i2.status == AC_ODE_DONE ? max_err(W, R, (size_t)NT * M) : NAN, b1));
        long nfev = 0;
        int okall = 1;
        for (int i = 0; i < reps && okall; i++)
            okall = (sec[i] = cvode_run(&m, v0, t, NT, rt, rt * 1e-2, W, &nfev)) >= 0;
        printf("\"cvode_seconds\": %s, \"cvode_nfev\": %ld, \"cvode_err\": %s, \"cvode_diff_ours\": %s}",
               jnum(okall ? best(sec, reps) : NAN, b1), nfev,
               jnum(okall && explin ? max_err(W, R, (size_t)NT * M) : NAN, b2),
               jnum(okall ? max_err(W, V, (size_t)NT * M) : NAN, b3));
        first = 0;
    }
    printf("]}\n");
    ac_ode_free(w);
    gsl_rng_free(r);
    free(drive), free(v0), free(V), free(R), free(W), free(sec);
    return 0;
}

/* ---- training step -------------------------------------------------------- */

static void write_vec(FILE *f, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%.17g%c", x[i], i + 1 < n ? ' ' : '\n');
}

static int step_bench(int M, int K, int d, int N, long steps, const char *dir)
{
    ac_joma_data D;
    if (ac_joma_data_init(&D, N, M, K, NULL) != AC_OK)
        return 2;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 1);
    for (int n = 0; n < N; n++) {
        double s = 0.0;
        for (int l = 0; l < M; l++)
            s += D.X[(size_t)n * M + l] = gsl_rng_uniform(r);
        for (int l = 0; l < M; l++)
            D.X[(size_t)n * M + l] /= s;
        D.label[n] = n % K;
        D.Y[(size_t)n * K + n % K] = 1.0;
    }
    ac_joma_train_settings ts;
    ac_joma_train_settings_default(&ts); /* softmax, T 0.5, identity, CE, lr 0.1, full batch */
    ts.steps = steps + 2;
    ac_joma_model mdl = {M, K, d, NULL, ts.attention, ts.activation, ts.loss, ts.T};
    double *z0 = malloc(sizeof(double) * (size_t)M), *W0 = malloc(sizeof(double) * (size_t)d * K);
    ac_joma_model_init(r, &mdl, 0.1, z0, W0);
    char path[4096];
    snprintf(path, sizeof path, "%s/step.txt", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return 2;
    fprintf(f, "%d %d %d %d %.17g %.17g\n", M, K, d, N, ts.T, ts.lr);
    write_vec(f, D.X, (size_t)N * M);
    for (int n = 0; n < N; n++)
        fprintf(f, "%d%c", D.label[n], n + 1 < N ? ' ' : '\n');
    write_vec(f, z0, (size_t)M);
    write_vec(f, W0, (size_t)d * K);
    fclose(f);
    ac_joma_trainer *tr = ac_joma_trainer_alloc(N, M, K, d);
    ac_msg msg = {{0}};
    if (!tr || ac_joma_trainer_set(tr, &D, NULL, &ts, z0, W0, NULL, &msg) != AC_OK) {
        fprintf(stderr, "joma_bench: %s\n", msg.text);
        return 2;
    }
    ac_joma_trainer_iterate(tr); /* the step compared with PyTorch (and the warm-up) */
    snprintf(path, sizeof path, "%s/step_c.txt", dir);
    if (!(f = fopen(path, "w")))
        return 2;
    write_vec(f, ac_joma_trainer_z(tr), (size_t)M);
    write_vec(f, ac_joma_trainer_W(tr), (size_t)d * K);
    fclose(f);
    double *sec = malloc(sizeof(double) * (size_t)steps);
    for (long i = 0; i < steps; i++) {
        double t0 = cpu_clock();
        ac_joma_trainer_iterate(tr);
        sec[i] = cpu_clock() - t0;
    }
    printf("{\"M\": %d, \"K\": %d, \"d\": %d, \"N\": %d, \"steps\": %ld, \"seconds_per_step\": %.6e, "
           "\"outcome\": \"%s\"}\n",
           M, K, d, N, steps, median(sec, (int)steps), ac_train_outcome_str(ac_joma_trainer_info(tr)->outcome));
    ac_joma_trainer_free(tr);
    ac_joma_data_clear(&D);
    gsl_rng_free(r);
    free(z0), free(W0), free(sec);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 7 && strcmp(argv[1], "ode") == 0) {
        NT = atoi(argv[6]);
        if (NT < 2 || NT > NT_MAX)
            return 2;
        return ode_bench(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5]);
    }
    if (argc == 8 && strcmp(argv[1], "step") == 0)
        return step_bench(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atol(argv[6]), argv[7]);
    fprintf(stderr, "usage: joma_bench ode explin|softnl M REPS DIR NT | step M K d N STEPS DIR\n");
    return 2;
}
