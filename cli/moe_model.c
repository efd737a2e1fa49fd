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
#include "verify/moe_claims.h"
#include "verify/moe_io.h"

/* Defaults of check: 32 sentences, every slot, seed 1, 256 bits. */
#define CHECK_SENTENCES 32
#define CHECK_SEED 1
#define CHECK_PREC 256
/* Acceptance of the high-precision side (spec cbow_moe §2.5 item 3): the
 * two forms agree to >= 50 significant digits at >= 200 bits.  At 256 bits
 * (77 digits) this leaves 27 digits for the rounding the log-sum-exps and
 * the products of the form accumulate, far more than the sizes allowed
 * (AC_MOE_MAX_DIM) can lose.  Below 200 bits the digits are shown, not
 * judged. */
#define CHECK_MIN_DIGITS 50
#define CHECK_JUDGED_PREC 200
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

/* ---- convert ------------------------------------------------------------- */

int moe_convert(int argc, char **argv)
{
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model = NULL, *out = "/dev/stdout";
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'm')
            model = optarg;
        else if (c == 'o')
            out = optarg;
        else if (c == 'h') {
            printf("usage: attncheck moe convert --model FILE [--out FILE]\n\n"
                   "The CBOW-with-MoE-weights form (spec cbow_moe section 2) of the attention\n"
                   "model in FILE: gate vectors gamma, gate-score features w and p, experts\n"
                   "alpha = a + b, output embeddings rho, bias c and the residual's slot bias.\n"
                   "Formats: docs/moe.md.  Default output: standard output.\n");
            return cli_finish(EXIT_HOLDS);
        } else
            return EXIT_USAGE;
    }
    if (!model || optind < argc) {
        cli_error("moe convert: expected --model FILE and no other argument (see --help)");
        return EXIT_USAGE;
    }
    ac_moe_model *mm = load_model(model);
    if (!mm)
        return EXIT_USAGE;
    ac_msg msg = {{0}};
    ac_moe_form *f = ac_moe_form_alloc(&mm->m.s);
    ac_status st = f ? ac_moe_form_from_attention(&mm->m, f, &msg) : AC_ENOMEM;
    if (st == AC_OK)
        st = ac_atomic_write(out, ac_moe_form_write, f, &msg);
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
    double tol;            /* ac_moe_logp_tolerance */
    double max_dlogp;      /* max |log p_attention - log p_form|, double */
    double max_dp;         /* max |p_attention - p_form|, double */
    double mpfr_max_rel;   /* max relative |log p_attention - log p_form| at prec bits */
    double digits;         /* -log10 of that: significant digits of agreement */
    double double_err;     /* max |log p_attention(double) - log p_attention(prec bits)| */
    int holds_double, mpfr_judged, holds_mpfr;
} check_result;

/* Every slot of `sentences` sentences drawn uniformly from r: both sides in
 * double and at prec bits. */
static ac_status run_check(const ac_moe_model *mm, gsl_rng *r, check_result *res, ac_msg *msg)
{
    const ac_moe_sizes *s = &mm->m.s;
    const int V = s->V, L = s->L;
    ac_moe_form *f = ac_moe_form_alloc(s);
    ac_moe_form_mpfr *fm = ac_moe_form_mpfr_alloc(s, res->prec);
    int *x = malloc(sizeof *x * (size_t)L);
    double *la = malloc(sizeof *la * (size_t)V), *lf = malloc(sizeof *lf * (size_t)V);
    mpfr_t *ma = malloc(sizeof *ma * (size_t)V), *mf = malloc(sizeof *mf * (size_t)V);
    mpfr_t diff;
    ac_status st = f && fm && x && la && lf && ma && mf ? AC_OK : AC_ENOMEM;
    int ninit = 0;
    if (st == AC_OK) {
        for (; ninit < V; ninit++) {
            mpfr_init2(ma[ninit], res->prec);
            mpfr_init2(mf[ninit], res->prec);
        }
        mpfr_init2(diff, res->prec);
    }
    if (st == AC_OK)
        st = ac_moe_form_from_attention(&mm->m, f, msg);
    if (st == AC_OK)
        st = ac_moe_form_from_attention_mpfr(&mm->m, fm, msg);
    /* Test hook (tests/cli_moe_model.sh): AC_TEST_MOE_CHECK_PERTURB=δ adds δ
     * to the form's c_0 on both sides, a violation of known size that the
     * double row (δ above its tolerance) or the MPFR row (δ below it but
     * above 10^-50) must catch. */
    const char *perturb = getenv("AC_TEST_MOE_CHECK_PERTURB");
    if (st == AC_OK && perturb) {
        f->c[0] += strtod(perturb, NULL);
        mpfr_t dlt;
        mpfr_init2(dlt, res->prec);
        mpfr_set_str(dlt, perturb, 10, MPFR_RNDN);
        mpfr_add(fm->c[0], fm->c[0], dlt, MPFR_RNDN);
        mpfr_clear(dlt);
    }
    res->tol = ac_moe_logp_tolerance(&mm->m);
    res->max_dlogp = res->max_dp = res->mpfr_max_rel = res->double_err = 0;
    for (int n = 0; n < res->sentences && st == AC_OK; n++) {
        for (int j = 0; j < L; j++)
            x[j] = (int)gsl_rng_uniform_int(r, (unsigned long)V);
        for (int i = 0; i < L && st == AC_OK; i++) {
            if ((st = ac_moe_attention_logp(&mm->m, x, i, la, msg)) != AC_OK ||
                (st = ac_moe_form_logp(f, x, i, lf, msg)) != AC_OK ||
                (st = ac_moe_attention_logp_mpfr(&mm->m, x, i, ma, res->prec, msg)) != AC_OK ||
                (st = ac_moe_form_logp_mpfr(fm, x, i, mf, msg)) != AC_OK)
                break;
            for (int v = 0; v < V; v++) {
                res->max_dlogp = fmax(res->max_dlogp, fabs(la[v] - lf[v]));
                res->max_dp = fmax(res->max_dp, fabs(exp(la[v]) - exp(lf[v])));
                mpfr_sub(diff, ma[v], mf[v], MPFR_RNDN);
                double d = fabs(mpfr_get_d(diff, MPFR_RNDN));
                double scale = fmax(fabs(mpfr_get_d(ma[v], MPFR_RNDN)), 1.0);
                res->mpfr_max_rel = fmax(res->mpfr_max_rel, d / scale);
                mpfr_sub_d(diff, ma[v], la[v], MPFR_RNDN);
                res->double_err = fmax(res->double_err, fabs(mpfr_get_d(diff, MPFR_RNDN)));
            }
        }
    }
    /* An exact agreement (0) is all the digits the precision carries. */
    const double carried = res->prec * log10(2.0);
    res->digits = res->mpfr_max_rel > 0 ? fmin(-log10(res->mpfr_max_rel), carried) : carried;
    res->holds_double = st == AC_OK && res->max_dlogp <= res->tol && res->max_dp <= res->tol;
    res->mpfr_judged = res->prec >= CHECK_JUDGED_PREC;
    res->holds_mpfr = !res->mpfr_judged || res->digits >= CHECK_MIN_DIGITS;
    if (ninit == V)
        mpfr_clear(diff);
    for (int v = 0; v < ninit; v++) {
        mpfr_clear(ma[v]);
        mpfr_clear(mf[v]);
    }
    free(ma);
    free(mf);
    free(x);
    free(la);
    free(lf);
    ac_moe_form_mpfr_free(fm);
    ac_moe_form_free(f);
    mpfr_free_cache();
    return st;
}

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
            r->max_dlogp, r->tol, verdict(1, r->max_dlogp <= r->tol));
    fprintf(out, "%-44s %12.3e %12.3e  %s\n", "max |p_attention - p_form| (double)", r->max_dp, r->tol,
            verdict(1, r->max_dp <= r->tol));
    char q[64];
    snprintf(q, sizeof q, "significant digits of agreement (%d bits)", r->prec);
    fprintf(out, "%-44s %12.1f %12s  %s\n", q, r->digits, r->mpfr_judged ? ">= 50" : "-",
            verdict(r->mpfr_judged, r->holds_mpfr));
    fprintf(out, "%-44s %12.3e %12s  %s\n", "max |log p double - log p MPFR| (attention)",
            r->double_err, "-", "INFO");
    fprintf(out, "\ntolerance: rounding bound of theory/moe.c from the model's sizes and entries "
                 "(never an observed difference)\n");
    fprintf(out, "%s\n", r->holds_double && r->holds_mpfr ? "the equivalence holds"
                                                          : "the equivalence does NOT hold");
    return ferror(out) ? ac_fail(msg, AC_EIO, "write error") : AC_OK;
}

static ac_status check_json(FILE *out, void *ctx, ac_msg *msg)
{
    const check_result *r = ctx;
    json_t *root = json_pack("{s:s, s:i, s:I, s:i, s:f, s:f, s:f, s:b, s:f, s:f, s:b, s:b, s:f, s:b}",
                             "model", r->model, "sentences", r->sentences, "seed", (json_int_t)r->seed,
                             "prec_bits", r->prec, "tolerance", r->tol, "max_abs_dlogp", r->max_dlogp,
                             "max_abs_dp", r->max_dp, "holds_double", r->holds_double,
                             "mpfr_digits", r->digits, "mpfr_max_rel_dlogp", r->mpfr_max_rel,
                             "mpfr_judged", r->mpfr_judged, "holds_mpfr", r->holds_mpfr,
                             "double_vs_mpfr", r->double_err, "holds",
                             r->holds_double && r->holds_mpfr);
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
    const char *out = "/dev/stdout";
    int json = 0, c;
    long v;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': res.model = optarg; break;
        case 'n':
            if (!cli_long("sentences", optarg, 1, CHECK_MAX_SENTENCES, &v))
                return EXIT_USAGE;
            res.sentences = (int)v;
            break;
        case 's':
            if (!cli_long("seed", optarg, 0, 4294967295L, &v))
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
                   "bits).  Exit 0 when it holds, 1 when it does not, 2 on bad input.\n"
                   "defaults: --sentences %d --seed %d --prec %d --format text.  Formats: docs/moe.md.\n",
                   CHECK_MIN_DIGITS, CHECK_JUDGED_PREC, CHECK_SENTENCES, CHECK_SEED, CHECK_PREC);
            return cli_finish(EXIT_HOLDS);
        default: return EXIT_USAGE;
        }
    }
    if (!res.model || optind < argc) {
        cli_error("moe check: expected --model FILE and no other argument (see --help)");
        return EXIT_USAGE;
    }
    ac_moe_model *mm = load_model(res.model);
    if (!mm)
        return EXIT_USAGE;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    ac_msg msg = {{0}};
    ac_status st = r ? AC_OK : AC_ENOMEM;
    if (st == AC_OK) {
        gsl_rng_set(r, res.seed);
        st = run_check(mm, r, &res, &msg);
    }
    if (st == AC_OK)
        st = ac_atomic_write(out, json ? check_json : check_text, &res, &msg);
    if (st != AC_OK)
        cli_error("moe check: %s: %s", res.model, msg.text[0] ? msg.text : ac_status_str(st));
    gsl_rng_free(r);
    ac_moe_model_free(mm);
    if (st != AC_OK)
        return cli_finish(EXIT_USAGE);
    return cli_finish(res.holds_double && res.holds_mpfr ? EXIT_HOLDS : EXIT_FAILS);
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
        st = ac_atomic_write(out, ac_moe_model_write, mm, msg);
    ac_moe_model_free(mm);
    return st;
}
