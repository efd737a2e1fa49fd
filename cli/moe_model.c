/* attncheck moe convert | check, and generate's model tasks: the CBOW-MoE
 * reparameterisation (spec cbow_moe §2) on a user's attention model.  The
 * same theory functions as the claims (theory/moe.h, theory/moe_mpfr.h);
 * the model file format is verify/moe_io.h's (docs/moe.md). */
#include <getopt.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <mpfr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/moe_cmds.h"
#include "theory/moe.h"
#include "theory/moe_mpfr.h"
#include "verify/atomic.h"
#include "verify/json_array.h"
#include "verify/moe_check.h"
#include "verify/moe_claims.h"
#include "verify/moe_io.h"
#include "verify/trial.h"

/* Defaults of check: 32 sentences, every slot, seed 1, 256 bits. */
#define CHECK_SENTENCES 32
#define CHECK_SEED 1
#define CHECK_PREC 256
#define CHECK_MAX_SENTENCES 100000

static ac_moe_model *load_model(const char *path)
{
    ac_moe_model *mm = NULL;
    ac_msg msg = {{0}};
    ac_status st = ac_moe_model_read(path, &mm, &msg);
    if (st != AC_OK) {
        cli_error("%s", msg.text[0] ? msg.text : ac_status_str(st));
        return NULL;
    }
    return mm;
}

/* moe_cmds.h.  Without --out the output goes to the stdout stream itself,
 * interleaved with whatever else the process writes there, as any command's
 * output does.  A file is written by cli_write_file: a SIGINT, SIGTERM or
 * SIGHUP while it is written leaves neither the temporary (a SIGTERM during
 * an 80 MB form once left it behind) nor a new file (one committed the form
 * whole, then died by the signal). */
ac_status moe_write_out(const char *out, ac_atomic_fill fill, void *ctx, ac_msg *msg)
{
    if (!out)
        return fill(stdout, ctx, msg);
    return cli_write_file(out, fill, ctx, msg);
}

/* ---- cost bounds ----------------------------------------------------------
 * The sizes in a model file are capped (AC_MOE_MAX_DIM) and every array must
 * have the shape they give, but the form holds an L x V table (slot_bias)
 * that no array of the model holds, and check's work grows as L (L + V) per
 * sentence (L^3 with two layers, whose second layer reads the first at every
 * position): a file of kilobytes can ask for gigabytes and hours.  convert
 * and check estimate their cost from the sizes before any of the work and
 * refuse (exit 2) above these limits. */

/* convert: numbers in the form.  5 million numbers are about 95 MB of JSON
 * (19 characters a number) and 250 MB of memory while jansson builds the
 * document (measured at V = L = 2048, d = 1, 4.2 million numbers: 79 MB
 * written, 206 MB resident, 1.9 s of CPU). */
#define FORM_NUMBERS_MAX 5e6
/* check: bytes of the double and MPFR forms and of the rounding bound's
 * (V + 1) L d table of embeddings (ac_moe_logp_tolerance): 1 GiB, a
 * twentieth of the 23 GiB of the 2-core machine the limits were measured
 * on. */
#define CHECK_BYTES_MAX 1073741824.0
/* check: work units, one unit a 256-bit MPFR multiply-add, which took
 * 0.17 us on that machine; 3.5e8 units are about a minute.  A key of a
 * softmax costs UNITS_PER_KEY (its exponentials, in both forms, in double
 * and MPFR) and a word of the output UNITS_PER_WORD (the log-softmax):
 * fitted to one-sentence runs at d = dk = dv = 1 (V, L in 256..1024:
 * 1.2e-5 s a key, 3.5e-6 s a word) and checked at d = 16, 64 and with two
 * layers, where the estimate was within 0.8x..1.3x of the CPU time. */
#define CHECK_WORK_MAX 3.5e8
#define CHECK_SECONDS_PER_UNIT 1.7e-7
#define UNITS_PER_KEY 70.0
#define UNITS_PER_WORD 20.0

/* Cost of a unit at prec bits against 256: exponentials (measured 0.47x at
 * 64 bits, 5x at 1024, 35x at 4096) and multiply-adds (0.88x, 1.9x, 11x),
 * rounded up. */
static double exp_factor(int prec)
{
    return fmax(0.5, pow(prec / 256.0, 1.3));
}
static double mul_factor(int prec)
{
    return fmax(0.9, pow(prec / 256.0, 0.85));
}

/* The numbers of the form of a model of sizes s (verify/moe_io.h's form). */
static double form_numbers(const ac_moe_sizes *s)
{
    const double V = s->V, L = s->L, d = s->d, dv = s->dv, H = s->H;
    double n = (V + 1) * d + L * d + H * L * d + H * (V + 1) * dv + H * L * dv + H * V * dv + V + L * V;
    return s->layers == 2 ? n + d * d + dv * dv : n;
}

/* check's work units for one sentence at prec bits, and once for the forms. */
static double check_units_sentence(const ac_moe_sizes *s, int prec)
{
    const double V = s->V, L = s->L, d = s->d, dk = s->dk, dv = s->dv, H = s->H, dout = s->dout;
    const double keys = s->layers == 2 ? L * L : H * L;
    const double per_slot = exp_factor(prec) * (UNITS_PER_KEY * keys + UNITS_PER_WORD * V) +
                            mul_factor(prec) * (keys * d * (dk + dv) + L * dv * (dk + dv) + V * (dout + H * dv));
    return L * per_slot;
}
static double check_units_setup(const ac_moe_sizes *s, int prec)
{
    const double V = s->V, L = s->L, d = s->d, dk = s->dk, dv = s->dv, H = s->H, dout = s->dout;
    return mul_factor(prec) * (L * V * dout + H * L * d * dk + H * V * dv * dout + H * (V + 1) * dv * d);
}

static double check_bytes(const ac_moe_sizes *s, int prec)
{
    const double limbs = ceil(prec / 64.0) * 8.0;
    return 8.0 * (s->V + 1.0) * s->L * s->d + form_numbers(s) * (8.0 + sizeof(mpfr_t) + limbs);
}

static void sizes_text(const ac_moe_sizes *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "V = %d, L = %d, d = %d, dk = %d, dv = %d, H = %d, dout = %d, %d layer%s", s->V, s->L,
             s->d, s->dk, s->dv, s->H, s->dout, s->layers, s->layers == 2 ? "s" : "");
}

static void duration_text(double sec, char *buf, size_t cap)
{
    if (sec < 120)
        snprintf(buf, cap, "%.0f s", sec);
    else if (sec < 7200)
        snprintf(buf, cap, "%.0f minutes", sec / 60);
    else if (sec < 172800)
        snprintf(buf, cap, "%.0f hours", sec / 3600);
    else
        snprintf(buf, cap, "%.0f days", sec / 86400);
}

/* 1 when convert's form of model file `path` fits FORM_NUMBERS_MAX; else 0
 * after a message. */
static int convert_fits(const char *path, const ac_moe_sizes *s)
{
    const double n = form_numbers(s);
    if (n <= FORM_NUMBERS_MAX)
        return 1;
    char sz[256];
    sizes_text(s, sz, sizeof sz);
    cli_error("%s: the form of this model (%s) has %.3g numbers, %.3g of them the L x V table slot_bias: "
              "about %.0f MB of JSON and %.0f MB of memory, over convert's limit of %.0f numbers (about 95 MB); "
              "a model with a smaller L x V fits",
              path, sz, n, (double)s->L * s->V, n * 19 / 1e6, n * 56 / 1e6, FORM_NUMBERS_MAX);
    return 0;
}

/* 1 when check of model file `path` at these settings fits CHECK_BYTES_MAX
 * and CHECK_WORK_MAX; else 0 after a message saying how to get under. */
static int check_fits(const char *path, const ac_moe_sizes *s, int sentences, int prec)
{
    char sz[256], t[64], t1[64];
    sizes_text(s, sz, sizeof sz);
    const double bytes = check_bytes(s, prec);
    if (bytes > CHECK_BYTES_MAX) {
        const double at64 = check_bytes(s, 64);
        char how[160];
        if (at64 <= CHECK_BYTES_MAX)
            snprintf(how, sizeof how, "a smaller --prec needs less (%.0f MB at --prec 64)", at64 / 1e6);
        else
            snprintf(how, sizeof how, "even --prec 64 needs %.0f MB: a model with a smaller L x V and (V + 1) L d fits",
                     at64 / 1e6);
        cli_error("%s: moe check of this model (%s) at --prec %d needs about %.0f MB for its forms "
                  "(the L x V table slot_bias in double and MPFR, and (V + 1) L d embeddings), over the "
                  "limit of %.0f MB; %s",
                  path, sz, prec, bytes / 1e6, CHECK_BYTES_MAX / 1e6, how);
        return 0;
    }
    const double one = check_units_sentence(s, prec), setup = check_units_setup(s, prec);
    const double work = setup + sentences * one;
    if (work <= CHECK_WORK_MAX)
        return 1;
    duration_text(work * CHECK_SECONDS_PER_UNIT, t, sizeof t);
    duration_text((setup + one) * CHECK_SECONDS_PER_UNIT, t1, sizeof t1);
    char how[256];
    const double fit = floor((CHECK_WORK_MAX - setup) / one);
    const double fit64 = floor((CHECK_WORK_MAX - check_units_setup(s, 64)) / check_units_sentence(s, 64));
    if (fit >= 1)
        snprintf(how, sizeof how, "--sentences %.0f or fewer gets under it", fit);
    else if (fit64 >= 1)
        snprintf(how, sizeof how, "one sentence at --prec %d is %s; --prec 64 with --sentences %.0f or fewer gets "
                 "under it", prec, t1, fmin(fit64, sentences));
    else
        snprintf(how, sizeof how, "even one sentence at --prec 64 is over it: a model with a smaller L (L + V) "
                 "fits");
    cli_error("%s: moe check of this model (%s), %d sentence%s at --prec %d, is about %.3g work units "
              "(%s on the 2-core machine the limit was measured on; L (L + V) per sentence%s), over the "
              "limit of %.3g (about a minute); %s",
              path, sz, sentences, sentences == 1 ? "" : "s", prec, work, t,
              s->layers == 2 ? ", L^3 with two layers" : "", CHECK_WORK_MAX, how);
    return 0;
}

/* ---- convert ------------------------------------------------------------- */

int moe_convert(int argc, char **argv)
{
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model = NULL, *out = NULL;
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        if (c == 'm')
            model = optarg;
        else if (c == 'o')
            out = optarg;
        else if (c == 'h') {
            printf("usage: attncheck moe convert --model FILE [--out FILE]\n\n"
                   "The CBOW-with-MoE-weights form (spec cbow_moe section 2) of the attention\n"
                   "model in FILE: gate vectors gamma, gate-score features w and p, experts\n"
                   "alpha = a + b, output embeddings rho, bias c and the residual's slot bias.\n"
                   "Formats: docs/moe.md.  Default output: standard output.  A form over %.0f\n"
                   "numbers is refused from the sizes (docs/moe.md, Sizes and cost).\n",
                   FORM_NUMBERS_MAX);
            return cli_finish(EXIT_HOLDS);
        } else
            return EXIT_USAGE;
    }
    if (!model || optind < argc) {
        cli_error("moe convert: expected --model FILE and no other argument (see --help)");
        return EXIT_USAGE;
    }
    if (cli_same_file(model, out) || !cli_out_writable(out))
        return EXIT_USAGE;
    ac_moe_model *mm = load_model(model);
    if (!mm)
        return EXIT_USAGE;
    if (!convert_fits(model, &mm->m.s)) {
        ac_moe_model_free(mm);
        return EXIT_USAGE;
    }
    ac_msg msg = {{0}};
    ac_moe_form *f = ac_moe_form_alloc(&mm->m.s);
    ac_status st = f ? ac_moe_form_from_attention(&mm->m, f, &msg) : AC_ENOMEM;
    if (st == AC_OK)
        st = moe_write_out(out, ac_moe_form_write, f, &msg);
    if (st != AC_OK)
        cli_error("moe convert: %s", msg.text[0] ? msg.text : ac_status_str(st));
    ac_moe_form_free(f);
    ac_moe_model_free(mm);
    return cli_finish(st == AC_OK ? EXIT_HOLDS : EXIT_USAGE);
}

/* ---- check --------------------------------------------------------------- */

typedef struct {
    const char *model;
    int sentences, prec;
    unsigned long seed;
    ac_moe_check_result c; /* verify/moe_check.h */
} check_result;

static const char *verdict(int judged, int holds)
{
    return !judged ? "INFO" : holds ? "PASS" : "FAIL";
}

static ac_status check_text(FILE *out, void *ctx, ac_msg *msg)
{
    const check_result *r = ctx;
    fprintf(out, "model: %s\n", r->model);
    fprintf(out, "every slot of %d sentences drawn uniformly (seed %lu)\n\n", r->sentences, r->seed);
    fprintf(out, "%-44s %12s %12s  %s\n", "quantity", "value", "tolerance", "verdict");
    fprintf(out, "%-44s %12.3e %12.3e  %s\n", "max |log p_attention - log p_form| (double)",
            r->c.max_dlogp, r->c.tol, verdict(r->c.double_judged, r->c.max_dlogp <= r->c.tol));
    fprintf(out, "%-44s %12.3e %12.3e  %s\n", "max |p_attention - p_form| (double)", r->c.max_dp, r->c.tol,
            verdict(r->c.double_judged, r->c.max_dp <= r->c.tol));
    char q[64];
    snprintf(q, sizeof q, "significant digits of agreement (%d bits)", r->prec);
    fprintf(out, "%-44s %12.1f %12s  %s\n", q, r->c.digits, r->c.mpfr_judged ? ">= 50" : "-",
            verdict(r->c.mpfr_judged, r->c.holds_mpfr));
    fprintf(out, "%-44s %12.3e %12s  %s\n", "max |log p double - log p MPFR| (attention)",
            r->c.double_err, "-", "INFO");
    fprintf(out, "\ntolerance: rounding bound of theory/moe.c from the model's sizes and entries "
                 "(never an observed difference)%s\n",
            r->c.double_judged ? "" : "; 1 or more: the double rows judge nothing (INFO)");
    fprintf(out, "%s\n", ac_moe_check_holds(&r->c) ? "the equivalence holds" : "the equivalence does NOT hold");
    return ferror(out) ? ac_fail(msg, AC_EIO, "write error") : AC_OK;
}

/* A double as JSON: a real, or "nan", "inf", "-inf" (JSON has none of them;
 * as the run records write them). */
static json_t *num(double x)
{
    return isnan(x) ? json_string("nan") : isinf(x) ? json_string(x > 0 ? "inf" : "-inf") : json_real(x);
}

static ac_status check_json(FILE *out, void *ctx, ac_msg *msg)
{
    const check_result *r = ctx;
    json_t *root = json_pack("{s:s, s:i, s:I, s:i, s:o, s:o, s:o, s:b, s:b, s:o, s:o, s:b, s:b, s:o, s:b}",
                             "model", r->model, "sentences", r->sentences, "seed", (json_int_t)r->seed,
                             "prec_bits", r->prec, "tolerance", num(r->c.tol), "max_abs_dlogp", num(r->c.max_dlogp),
                             "max_abs_dp", num(r->c.max_dp), "double_judged", r->c.double_judged, "holds_double",
                             r->c.holds_double, "mpfr_digits", num(r->c.digits), "mpfr_max_rel_dlogp",
                             num(r->c.mpfr_max_rel), "mpfr_judged", r->c.mpfr_judged, "holds_mpfr", r->c.holds_mpfr,
                             "double_vs_mpfr", num(r->c.double_err), "holds", ac_moe_check_holds(&r->c));
    if (!root)
        return ac_fail(msg, AC_ENOMEM, "out of memory building the JSON result");
    ac_status st = ac_json_dump(out, root, msg);
    json_decref(root);
    return st;
}

int moe_check(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"sentences", required_argument, 0, 'n'},
        {"seed", required_argument, 0, 's'},  {"prec", required_argument, 0, 'p'},
        {"format", required_argument, 0, 'f'}, {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    check_result res = {.sentences = CHECK_SENTENCES, .prec = CHECK_PREC, .seed = CHECK_SEED};
    const char *out = NULL;
    int json = 0, c;
    long v;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        switch (c) {
        case 'm': res.model = optarg; break;
        case 'n':
            if (!cli_long("sentences", optarg, 1, CHECK_MAX_SENTENCES, &v))
                return EXIT_USAGE;
            res.sentences = (int)v;
            break;
        case 's':
            if (!cli_long("seed", optarg, 0, (long)AC_SEED_MAX, &v))
                return EXIT_USAGE;
            res.seed = (unsigned long)v;
            break;
        case 'p':
            if (!cli_long("prec", optarg, 64, 4096, &v))
                return EXIT_USAGE;
            res.prec = (int)v;
            break;
        case 'f':
            if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0) {
                cli_error("--format: '%s' is not text or json", optarg);
                return EXIT_USAGE;
            }
            json = strcmp(optarg, "json") == 0;
            break;
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: attncheck moe check --model FILE [--sentences N] [--seed S] [--prec BITS]\n"
                   "                           [--format text|json] [--out FILE]\n\n"
                   "Whether the attention model in FILE and its CBOW-MoE form (moe convert) give\n"
                   "the same conditionals p(x_i | x_-i), at every slot of N sentences drawn\n"
                   "uniformly: in double, against the rounding bound of the model's sizes and\n"
                   "entries; at BITS bits (MPFR), to >= %d significant digits (judged at >= %d\n"
                   "bits).  Exit 0 when it holds, 1 when it does not, 2 on bad input or when the\n"
                   "work estimated from the sizes is over about a minute or %.0f MB (docs/moe.md).\n"
                   "defaults: --sentences %d --seed %d --prec %d --format text.  Formats: docs/moe.md.\n",
                   AC_MOE_CHECK_MIN_DIGITS, AC_MOE_CHECK_JUDGED_PREC, CHECK_BYTES_MAX / 1e6, CHECK_SENTENCES, CHECK_SEED, CHECK_PREC);
            return cli_finish(EXIT_HOLDS);
        default: return EXIT_USAGE;
        }
    }
    if (!res.model || optind < argc) {
        cli_error("moe check: expected --model FILE and no other argument (see --help)");
        return EXIT_USAGE;
    }
    /* JSON holds UTF-8 alone: a path that is not would fail after the check */
    if ((json && !cli_utf8("model", res.model)) || cli_same_file(res.model, out) || !cli_out_writable(out))
        return EXIT_USAGE;
    ac_moe_model *mm = load_model(res.model);
    if (!mm)
        return EXIT_USAGE;
    if (!check_fits(res.model, &mm->m.s, res.sentences, res.prec)) {
        ac_moe_model_free(mm);
        return EXIT_USAGE;
    }
    /* Refuse a run that would judge nothing: a vacuous double bound and a
     * precision below the judged one. */
    const double tol = ac_moe_logp_tolerance(&mm->m);
    if (!ac_moe_check_double_judged(tol) && res.prec < AC_MOE_CHECK_JUDGED_PREC) {
        cli_error("%s: the double rounding bound of this model is %g (its entries are so large that the "
                  "double forward pass may carry no correct digit), so the double rows judge nothing, and "
                  "--prec %d is below the %d bits at which the MPFR row is judged: run with --prec %d or more",
                  res.model, tol, res.prec, AC_MOE_CHECK_JUDGED_PREC, AC_MOE_CHECK_JUDGED_PREC);
        ac_moe_model_free(mm);
        return EXIT_USAGE;
    }
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    ac_msg msg = {{0}};
    ac_status st = r ? AC_OK : AC_ENOMEM;
    if (st == AC_OK) {
        gsl_rng_set(r, res.seed);
        /* Test hook (tests/cli_moe_model.sh): AC_TEST_MOE_CHECK_PERTURB=δ adds
         * δ to the form's c_0 on both sides, a violation of known size that the
         * double row (δ above its tolerance) or the MPFR row (δ below it but
         * above 10^-50) must catch. */
        const char *perturb = getenv("AC_TEST_MOE_CHECK_PERTURB");
        st = ac_moe_check(&mm->m, res.sentences, res.prec, perturb ? strtod(perturb, NULL) : 0.0, r, &res.c,
                          &msg);
        mpfr_free_cache(); /* MPFR's constant caches, so that a leak checker sees none */
    }
    if (st == AC_OK)
        st = moe_write_out(out, json ? check_json : check_text, &res, &msg);
    if (st != AC_OK)
        cli_error("moe check: %s: %s", res.model, msg.text[0] ? msg.text : ac_status_str(st));
    gsl_rng_free(r);
    ac_moe_model_free(mm);
    if (st != AC_OK)
        return cli_finish(EXIT_USAGE);
    return cli_finish(ac_moe_check_holds(&res.c) ? EXIT_HOLDS : EXIT_FAILS);
}

/* ---- generate: the equivalence instances --------------------------------- */

/* Command-line names of moe.equivalence's variants, in the order of
 * ac_moe_variant (verify/moe_claims.h). */
static const char *const variant_slugs[] = {"one-head", "no-self",       "biases",     "residual",
                                            "heads",    "heads-no-self", "two-layers", "two-layers-no-self"};
_Static_assert(sizeof variant_slugs / sizeof variant_slugs[0] == AC_MOE_NVAR,
               "one command-line name per variant of moe.equivalence");

const char *moe_variant_list(void)
{
    return "one-head, no-self, biases, residual, heads, heads-no-self, two-layers, two-layers-no-self";
}

ac_status moe_generate_model(const char *variant, unsigned long seed, ac_size size, int trial,
                             const char *out, ac_msg *msg)
{
    int v = -1;
    for (int k = 0; k < AC_MOE_NVAR; k++)
        if (strcmp(variant_slugs[k], variant) == 0)
            v = k;
    if (v < 0)
        return ac_fail(msg, AC_EINVAL, "--variant: '%s' is not one of %s", variant, moe_variant_list());
    ac_moe_model *mm = NULL;
    ac_status st = ac_moe_eq_instance(seed, size, trial, (ac_moe_variant)v, &mm, msg);
    if (st == AC_OK)
        st = moe_write_out(out, ac_moe_model_write, mm, msg);
    ac_moe_model_free(mm);
    return st;
}
