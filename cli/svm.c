/* attncheck svm graph | solve | train | generate: the Graph-SVM theory on a
 * user's own data (spec tpg_svm §1-§3, §7).  These commands call the same
 * theory and solver code as the claims (theory/tpg*.h, verify/svm_*.h). */
#include <getopt.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "solvers/linalg.h"
#include "theory/tpg.h"
#include "theory/tpg_loss.h"
#include "theory/tpg_solve.h"
#include "verify/atomic.h"
#include "verify/claim.h"
#include "verify/json_array.h"
#include "verify/svm_claims.h"
#include "verify/svm_data.h"
#include "verify/svm_export.h"
#include "verify/svm_io.h"
#include "verify/svm_measure.h"
#include "verify/svm_model.h"

static const char svm_formats_help[] =
    "File formats:\n"
    "  DATA  one example per line: the input sequence's token ids (0-based integers,\n"
    "        separated by spaces), then '|', then the next-token label; the label must\n"
    "        occur in its sequence.  Blank lines and '#' comments are ignored.\n"
    "          3 0 5 2 | 5\n"
    "  EMB   K lines of d numbers each; line k is the embedding of token k.\n";

/* ---- loading ------------------------------------------------------------- */

typedef struct {
    ac_tpg_data *D;
    double *E;
    int K, d;
    ac_tpg *G;
    int *id;    /* without embeddings: the file's id of token j (G's tokens are 0..n-1, the ids that occur) */
    int K_file; /* ... and 1 + the largest id, what the outputs call the vocabulary */
} svm_input;

static void input_free(svm_input *in)
{
    ac_tpg_data_free(in->D);
    free(in->E);
    ac_tpg_free(in->G);
    free(in->id);
    memset(in, 0, sizeof *in);
}

/* Read DATA (and EMB when emb_path is non-NULL), check them against each
 * other, build the graphs.  0 after a message on failure. */
static int load(const char *data_path, const char *emb_path, svm_input *in)
{
    ac_msg msg = {{0}};
    memset(in, 0, sizeof *in);
    ac_status st = ac_svm_io_read_data(data_path, 0, &in->D, &msg);
    if (st == AC_OK)
        in->K_file = in->D->K;
    if (st == AC_OK && !emb_path) {
        /* a label outside its sequence is refused with the file's ids first */
        st = ac_tpg_data_check(in->D, 1, &msg);
        if (st == AC_OK)
            st = ac_tpg_data_renumber(in->D, &in->id, &msg); /* memory follows the tokens used, not K */
    }
    if (st == AC_OK && emb_path) {
        st = ac_svm_io_read_emb(emb_path, &in->E, &in->K, &in->d, &msg);
        if (st == AC_OK)
            st = ac_svm_io_check_emb_for_data(emb_path, in->K, in->D, &msg);
        if (st == AC_OK)
            in->D->K = in->K; /* the vocabulary is the embedding table */
    }
    if (st == AC_OK)
        st = ac_tpg_data_check(in->D, 1, &msg);
    if (st == AC_OK)
        st = ac_tpg_build(in->D, &in->G, &msg);
    if (st != AC_OK) {
        cli_error("%s", msg.text[0] ? msg.text : ac_status_str(st));
        input_free(in);
        return 0;
    }
    return 1;
}

/* ---- graph --------------------------------------------------------------- */

typedef enum { OUT_TEXT, OUT_JSON, OUT_DOT, OUT_CSV } out_format;

static int parse_out_format(const char *s, unsigned allowed, out_format *f)
{
    static const char *const names[] = {"text", "json", "dot", "csv"};
    for (int i = 0; i < 4; i++)
        if ((allowed & (1u << i)) && strcmp(s, names[i]) == 0) {
            *f = (out_format)i;
            return 1;
        }
    cli_error("--format: '%s' is not one of the formats this command writes (see --help)", s);
    return 0;
}

/* The printers name tokens by the file's ids (in->id) and the vocabulary
 * as the file implies it (in->K_file); G's tokens are 0..G->K-1. */
static void graph_text(const svm_input *in)
{
    const ac_tpg *G = in->G;
    const int *id = in->id;
    int K = G->K;
    printf("vocabulary: %d tokens; %d token-priority graphs (one per last token that occurs)\n", in->K_file,
           G->ngraph);
    for (int g = 0; g < G->ngraph; g++) {
        printf("\nlast token %d: %d edges\n  edges:", id[G->last[g]], ac_tpg_nedges(G, g));
        for (int j = 0; j < K; j++)
            for (int e = G->adj_off[(size_t)g * (K + 1) + j]; e < G->adj_off[(size_t)g * (K + 1) + j + 1]; e++)
                printf(" %d->%d", id[j], id[G->adj[e]]);
        printf("\n  SCCs in priority order (higher first):\n");
        ac_tpg_cond ce;
        if (ac_tpg_condensation(G, g, &ce, NULL) != AC_OK)
            ce.n = 0;
        int c = 0;
        /* components 0 .. nlive[g]-1 hold the graph's tokens (theory/tpg.h) */
        for (int A = 0; A < G->nlive[g]; A++) {
            printf("    SCC %d: {", A);
            for (int j = 0, first = 1; j < K; j++)
                if (G->comp[(size_t)g * K + j] == A)
                    printf(first ? "%d" : ", %d", id[j]), first = 0;
            printf("}%s", G->comp_size[(size_t)g * K + A] > 1 ? "  (cyclic)" : "");
            for (int any = 0; c < ce.n && ce.from[c] == A; c++)
                printf(any++ ? ", %d" : "  -> SCC %d", ce.to[c]);
            printf("\n");
        }
        ac_tpg_cond_clear(&ce);
    }
}

static json_t *graph_json(const svm_input *in)
{
    const ac_tpg *G = in->G;
    const int *id = in->id;
    int K = G->K;
    json_t *root = json_object(), *graphs = json_array();
    json_object_set_new(root, "K", json_integer(in->K_file));
    for (int g = 0; g < G->ngraph; g++) {
        json_t *o = json_object(), *edges = json_array(), *sccs = json_array(), *order = json_array();
        json_object_set_new(o, "last", json_integer(id[G->last[g]]));
        for (int j = 0; j < K; j++)
            for (int e = G->adj_off[(size_t)g * (K + 1) + j]; e < G->adj_off[(size_t)g * (K + 1) + j + 1]; e++)
                json_array_append_new(edges, json_pack("[ii]", id[j], id[G->adj[e]]));
        for (int A = 0; A < G->nlive[g]; A++) {
            json_t *members = json_array();
            for (int j = 0; j < K; j++)
                if (G->comp[(size_t)g * K + j] == A)
                    json_array_append_new(members, json_integer(id[j]));
            json_array_append_new(sccs, json_pack("{s:i,s:o}", "id", A, "tokens", members));
        }
        ac_tpg_cond ce;
        if (ac_tpg_condensation(G, g, &ce, NULL) != AC_OK)
            ce.n = 0;
        for (int c = 0; c < ce.n; c++)
            json_array_append_new(order, json_pack("[ii]", ce.from[c], ce.to[c]));
        ac_tpg_cond_clear(&ce);
        json_object_set_new(o, "edges", edges);
        json_object_set_new(o, "sccs", sccs);
        json_object_set_new(o, "priority", order);
        json_array_append_new(graphs, o);
    }
    json_object_set_new(root, "graphs", graphs);
    return root;
}

static void graph_dot(const svm_input *in)
{
    const ac_tpg *G = in->G;
    const int *id = in->id;
    int K = G->K;
    printf("digraph tpg {\n  compound=true;\n  node [shape=circle];\n");
    for (int g = 0; g < G->ngraph; g++) {
        int k = id[G->last[g]];
        printf("  subgraph cluster_k%d {\n    label=\"last token %d\";\n", k, k);
        for (int A = 0; A < G->nlive[g]; A++) {
            printf("    subgraph cluster_k%d_scc%d {\n      label=\"SCC %d\"; style=rounded;\n", k, A, A);
            for (int j = 0; j < K; j++)
                if (G->comp[(size_t)g * K + j] == A && G->in_graph[(size_t)g * K + j])
                    printf("      k%d_t%d [label=\"%d\"];\n", k, id[j], id[j]);
            printf("    }\n");
        }
        for (int j = 0; j < K; j++)
            for (int e = G->adj_off[(size_t)g * (K + 1) + j]; e < G->adj_off[(size_t)g * (K + 1) + j + 1]; e++)
                printf("    k%d_t%d -> k%d_t%d;\n", k, id[j], k, id[G->adj[e]]);
        printf("  }\n");
    }
    printf("}\n");
}

static int print_json(json_t *root)
{
    int bad = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0;
    json_decref(root);
    putchar('\n');
    return bad ? EXIT_USAGE : EXIT_HOLDS;
}

static int svm_graph(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    out_format fmt = OUT_TEXT;
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        if (c == 'f') {
            if (!parse_out_format(optarg, 1u << OUT_TEXT | 1u << OUT_JSON | 1u << OUT_DOT, &fmt))
                return EXIT_USAGE;
        } else if (c == 'h') {
            printf("usage: attncheck svm graph DATA [--format text|json|dot]\n\n"
                   "The token-priority graph of each last token that occurs (an edge y -> j for\n"
                   "each example with label y and each other token j of its sequence), its\n"
                   "strongly connected components in priority order, and the order between them.\n"
                   "--format dot writes Graphviz DOT, one cluster per SCC (render: dot -Tsvg).\n"
                   "Default format: text.\n\n%s",
                   svm_formats_help);
            return cli_finish(EXIT_HOLDS);
        } else
            return EXIT_USAGE;
    }
    if (argc - optind != 1) {
        cli_error("svm graph: expected one DATA file (see --help)");
        return EXIT_USAGE;
    }
    svm_input in;
    if (!load(argv[optind], NULL, &in))
        return EXIT_USAGE;
    int st = EXIT_HOLDS;
    if (fmt == OUT_TEXT)
        graph_text(&in);
    else if (fmt == OUT_DOT)
        graph_dot(&in);
    else
        st = print_json(graph_json(&in));
    input_free(&in);
    return cli_finish(st);
}

/* ---- solve --------------------------------------------------------------- */

/* A solve that could not run: the message names the input at fault.  The
 * rank test is on the embeddings, so its message names EMB and the option. */
static void solve_error(const char *data_path, const char *emb_path, const svm_input *in, ac_status st,
                        const ac_msg *msg)
{
    int rank = -1;
    if (st == AC_ERANK && ac_la_rank(in->E, in->K, in->d, &rank, NULL, NULL) == AC_OK)
        cli_error("%s: embeddings have rank %d < K = %d; the Graph-SVM needs linearly independent "
                  "embeddings (--allow-dependent solves anyway)",
                  emb_path, rank, in->K);
    else if (st == AC_ENUMERIC) /* the embeddings' scale (theory/tpg_solve.c scale_back): it named the data */
        cli_error("%s: %s (the solve on %s)", emb_path, msg->text[0] ? msg->text : ac_status_str(st), data_path);
    else
        cli_error("%s: %s", data_path, msg->text[0] ? msg->text : ac_status_str(st));
}

/* EXIT_HOLDS when W_svm is solved and W_fin converged (or S_fin = {0}); else
 * a message saying which part did not, and EXIT_FAILS.  Newton runs only
 * after a solved QP, so its status is named only then. */
static int solve_outcome(const char *data_path, const ac_tpg_solution *sol)
{
    if (sol->qp.status != AC_QP_SOLVED) {
        cli_error("%s: Graph-SVM %s", data_path, ac_qp_status_str(sol->qp.status));
        return EXIT_FAILS;
    }
    if (sol->S && sol->S->dim > 0 && sol->newton.status != AC_NEWTON_CONVERGED) {
        cli_error("%s: Graph-SVM solved; W_fin Newton %s after %d iterations", data_path,
                  ac_newton_status_str(sol->newton.status), sol->newton.iter);
        return EXIT_FAILS;
    }
    return EXIT_HOLDS;
}

static int svm_solve(int argc, char **argv)
{
    static const struct option opts[] = {{"embeddings", required_argument, 0, 'e'},
                                         {"format", required_argument, 0, 'f'},
                                         {"out", required_argument, 0, 'o'},
                                         {"allow-dependent", no_argument, 0, 'a'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *emb = NULL, *out = NULL;
    out_format fmt = OUT_TEXT;
    ac_tpg_solve_settings set;
    ac_tpg_solve_settings_default(&set);
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        switch (c) {
        case 'e':
            emb = optarg;
            break;
        case 'f':
            if (!parse_out_format(optarg, 1u << OUT_TEXT | 1u << OUT_JSON, &fmt))
                return EXIT_USAGE;
            break;
        case 'o':
            out = optarg;
            break;
        case 'a':
            set.svm.allow_dependent = 1;
            break;
        case 'h':
            printf("usage: attncheck svm solve DATA --embeddings EMB [--format text|json] [--out FILE]\n"
                   "                           [--allow-dependent]\n\n"
                   "The Graph-SVM: W_svm = argmin ||W||_F subject to (e_i - e_j)^T W e_k = 0 for every\n"
                   "edge i -> j inside an SCC of the graph of last token k, and >= 1 for every edge\n"
                   "between SCCs; its KKT residuals; and the finite component W_fin, the minimiser of\n"
                   "the loss on the top-SCC tokens over S_fin = span{(e_i - e_j) e_k^T : i, j in one SCC}.\n"
                   "An infeasible problem prints the constraints that cannot hold together; exit 1.\n\n"
                   "  --embeddings EMB     embeddings file (required)\n"
                   "  --format F           text | json (default: text); JSON keys in the README\n"
                   "  --out FILE           write there instead of standard output (atomically)\n"
                   "  --allow-dependent    solve even when the embeddings are linearly dependent\n"
                   "                       (the theory assumes them independent; default: refuse)\n"
                   "  QP tolerance %g, at most %ld sweeps; Newton stops at |grad| <= %g\n\n%s",
                   set.svm.qp.eps, set.svm.qp.max_sweeps, set.newton.eps_grad, svm_formats_help);
            return cli_finish(EXIT_HOLDS);
        default:
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !emb) {
        cli_error("svm solve: expected DATA and --embeddings EMB (see --help)");
        return EXIT_USAGE;
    }
    /* Before the solve: an --out that is an input or cannot be written. */
    if (cli_same_file(argv[optind], out) || cli_same_file(emb, out) || !cli_out_writable(out))
        return EXIT_USAGE;
    svm_input in;
    if (!load(argv[optind], emb, &in))
        return EXIT_USAGE;
    ac_tpg_solution sol;
    ac_msg msg = {{0}};
    ac_status st = ac_tpg_solve(in.D, in.E, in.d, &set, &sol, &msg);
    if (st != AC_OK) {
        solve_error(argv[optind], emb, &in, st, &msg);
        ac_tpg_solution_clear(&sol);
        input_free(&in);
        return EXIT_USAGE;
    }
    int rc = solve_outcome(argv[optind], &sol);
    ac_atomic a = {0};
    FILE *f = stdout;
    cli_hold_signals();
    if (out && ac_atomic_open(&a, out, &msg) != AC_OK) {
        cli_error("%s", msg.text);
        rc = EXIT_USAGE;
        goto done;
    }
    if (out)
        f = a.f;
    if (fmt == OUT_JSON) {
        json_t *j = ac_svm_export_solution_json(&sol, in.D->n);
        st = ac_svm_export_json_write(f, j);
        json_decref(j);
    } else {
        st = ac_svm_export_solution_text(f, &sol);
    }
    if (out && cli_interrupted()) {
        ac_atomic_abort(&a);
    } else if (out && ac_atomic_commit(&a, &msg) != AC_OK) {
        cli_error("%s", msg.text);
        rc = EXIT_USAGE;
    }
done:
    cli_release_signals();
    ac_tpg_solution_clear(&sol);
    input_free(&in);
    return cli_finish(rc);
}

/* ---- train --------------------------------------------------------------- */

#define TRAIN_SEED_DEFAULT 1UL
/* Option ranges.  Steps: 1e8 steps of the smallest problem take minutes; a
 * longer run is a typo.  Step size: the positive normal doubles' range within
 * 1e±300, so that lr * g stays finite for any finite g of norm <= 1e8.  Seeds:
 * the 32 bits MT19937 keeps (AC_SEED_MAX). */
#define TRAIN_STEPS_MAX 100000000L
#define TRAIN_LR_MIN 1e-300
#define TRAIN_LR_MAX 1e300
#define SEED_MAX ((long)AC_SEED_MAX) /* verify/trial.h: MT19937 keeps 32 bits */

/* Plain GD is stable for lr < 2 / L with L the smoothness constant; for
 * tokens of norm at most r, L <= r^4 (spec §1: softmax variance bound with
 * (x_t - x_t')^T D xbar <= 2 r^2 ||D||), so the default is 1 / r^4 (= 1 for
 * unit-norm tokens, the spec's reference choice). */
static double plain_lr_default(const double *E, int K, int d)
{
    double r = 0.0;
    for (int k = 0; k < K; k++)
        r = fmax(r, ac_la_nrm2(E + (size_t)k * d, d));
    return r > 0.0 ? 1.0 / (r * r * r * r) : 1.0;
}

/* Steps 0, 1, 2, 5, 10, 20, 50, ... up to steps, and steps itself. */
static int next_log_step(long t)
{
    if (t == 0)
        return 1;
    long p = 1;
    while (p * 10 <= t)
        p *= 10;
    long m = t / p;
    return (int)(m < 2 ? 2 * p : m < 5 ? 5 * p : 10 * p);
}

typedef struct {
    long step;
    double loss, norm, corr, fin;
} train_row;

static void train_row_of(const svm_input *in, const ac_tpg_solution *s, const ac_svm_trainer *tr,
                         const ac_svm_train_settings *ts, train_row *row, double *P)
{
    int dd = in->d * in->d;
    const double *W = ac_svm_trainer_W(tr);
    row->step = ac_svm_trainer_info(tr)->steps;
    row->loss = ac_svm_model_loss(in->D, NULL, in->E, in->d, ts->head, W, NULL);
    row->norm = ac_la_nrm2(W, dd);
    row->corr = ac_la_nrm2(s->Wsvm, dd) > 0.0 && s->qp.status == AC_QP_SOLVED ? ac_svm_corr(W, s->Wsvm, dd) : NAN;
    row->fin = NAN;
    if (s->S && ac_tpg_sfin_project(s->S, W, P, NULL) == AC_OK)
        row->fin = ac_la_dist(P, s->Wfin, dd);
}

static void train_print(out_format fmt, const train_row *r, int n, const ac_svm_train_settings *ts,
                        unsigned long seed, const ac_tpg_solution *s, const ac_train_info *info)
{
    if (fmt == OUT_JSON) {
        json_t *o = json_object(), *rows = json_array();
        json_object_set_new(o, "method", json_string(ts->normalized ? "normalized" : "plain"));
        json_object_set_new(o, "lr", ac_json_real_or_null(ts->lr));
        json_object_set_new(o, "steps", json_integer(ts->steps));
        json_object_set_new(o, "seed", json_integer((json_int_t)seed));
        json_object_set_new(o, "outcome", json_string(ac_train_outcome_str(info->outcome)));
        json_object_set_new(o, "graph_svm_status", json_string(ac_qp_status_str(s->qp.status)));
        json_object_set_new(o, "norm_W_svm", ac_json_real_or_null(ac_la_nrm2(s->Wsvm, s->d * s->d)));
        for (int i = 0; i < n; i++)
            /* "o" with null for NaN: "f" made json_pack fail on a NaN (corr
             * when W_svm = 0, dist_fin without S_fin) and the row vanished */
            json_array_append_new(rows, json_pack("{s:I,s:o,s:o,s:o,s:o}", "step", (json_int_t)r[i].step, "loss",
                                                  ac_json_real_or_null(r[i].loss), "norm_W",
                                                  ac_json_real_or_null(r[i].norm), "corr_W_svm",
                                                  ac_json_real_or_null(r[i].corr), "dist_fin",
                                                  ac_json_real_or_null(r[i].fin)));
        json_object_set_new(o, "rows", rows);
        print_json(o);
        return;
    }
    if (fmt == OUT_CSV) {
        printf("step,loss,norm_W,corr_W_svm,dist_fin\n");
        for (int i = 0; i < n; i++)
            printf("%ld,%.17g,%.17g,%.17g,%.17g\n", r[i].step, r[i].loss, r[i].norm, r[i].corr, r[i].fin);
        return;
    }
    printf("%s GD, lr %g, %ld steps, seed %lu; ||W_svm|| = %.6g (%s)\n", ts->normalized ? "normalised" : "plain",
           ts->lr, ts->steps, seed, ac_la_nrm2(s->Wsvm, s->d * s->d), ac_qp_status_str(s->qp.status));
    printf("training ended: %s after %ld steps\n", ac_train_outcome_str(info->outcome), info->steps);
    printf("theory: corr(W, W_svm) -> 1 when W_svm != 0; ||P_fin W - W_fin|| -> 0\n");
    printf("%10s %14s %12s %14s %16s\n", "step", "loss", "||W||", "corr(W,W_svm)", "||P_fin W-W_fin||");
    for (int i = 0; i < n; i++)
        printf("%10ld %14.6e %12.6g %14.8f %16.6e\n", r[i].step, r[i].loss, r[i].norm, r[i].corr, r[i].fin);
}

static void train_help(void)
{
    ac_svm_train_settings def;
    ac_svm_train_settings_default(&def);
    printf("usage: attncheck svm train DATA --embeddings EMB [OPTIONS]\n\n"
           "Train the one-layer attention model (a_t = x_t^T W xbar, identity head, log-loss)\n"
           "from W(0) ~ U(-1/sqrt(d), 1/sqrt(d)) and print, at log-spaced steps, the loss,\n"
           "||W(t)||, corr(W(t), W_svm) and ||P_fin W(t) - W_fin||: the theory's prediction on\n"
           "your data against what gradient descent does.  A run whose loss exceeds %g times\n"
           "max(1, its starting loss) has diverged: it stops there and exits 1.\n\n"
           "  --embeddings EMB   embeddings file (required)\n"
           "  --steps N          steps, 0 to %ld (default: %ld)\n"
           "  --lr ETA           step size in [%g, %g] (default: %g normalised; 1/max||e_k||^4 plain)\n"
           "  --normalized       normalised GD, W -= lr g/||g|| (default: %s)\n"
           "  --plain            plain GD, W -= lr g\n"
           "  --seed S           seed of W(0), 0 to %ld (default: %lu)\n"
           "  --allow-dependent  compare even when the embeddings are linearly dependent\n"
           "  --format F         text | json | csv (default: text)\n\n%s",
           def.diverge_factor, TRAIN_STEPS_MAX, def.steps, TRAIN_LR_MIN, TRAIN_LR_MAX, def.lr,
           def.normalized ? "yes" : "no", SEED_MAX, TRAIN_SEED_DEFAULT, svm_formats_help);
}

static int svm_train(int argc, char **argv)
{
    static const struct option opts[] = {
        {"embeddings", required_argument, 0, 'e'}, {"steps", required_argument, 0, 'n'},
        {"lr", required_argument, 0, 'l'},         {"normalized", no_argument, 0, 'N'},
        {"plain", no_argument, 0, 'P'},            {"seed", required_argument, 0, 's'},
        {"format", required_argument, 0, 'f'},     {"help", no_argument, 0, 'h'},
        {"allow-dependent", no_argument, 0, 'a'},  {0, 0, 0, 0}};
    const char *emb = NULL;
    out_format fmt = OUT_TEXT;
    ac_svm_train_settings ts;
    ac_svm_train_settings_default(&ts);
    ts.lr = NAN; /* filled below: its default depends on the method */
    ac_tpg_solve_settings set;
    ac_tpg_solve_settings_default(&set);
    unsigned long seed = TRAIN_SEED_DEFAULT;
    long v;
    double x;
    int c;
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        switch (c) {
        case 'e': emb = optarg; break;
        case 'n':
            if (!cli_long("steps", optarg, 0, TRAIN_STEPS_MAX, &v))
                return EXIT_USAGE;
            ts.steps = v;
            break;
        case 'l':
            if (!cli_double("lr", optarg, TRAIN_LR_MIN, TRAIN_LR_MAX, &x))
                return EXIT_USAGE;
            ts.lr = x;
            break;
        case 'a': set.svm.allow_dependent = 1; break;
        case 'N': ts.normalized = 1; break;
        case 'P': ts.normalized = 0; break;
        case 's':
            if (!cli_long("seed", optarg, 0, SEED_MAX, &v))
                return EXIT_USAGE;
            seed = (unsigned long)v;
            break;
        case 'f':
            if (!parse_out_format(optarg, 1u << OUT_TEXT | 1u << OUT_JSON | 1u << OUT_CSV, &fmt))
                return EXIT_USAGE;
            break;
        case 'h': train_help(); return cli_finish(EXIT_HOLDS);
        default: return EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !emb) {
        cli_error("svm train: expected DATA and --embeddings EMB (see --help)");
        return EXIT_USAGE;
    }
    svm_input in;
    if (!load(argv[optind], emb, &in))
        return EXIT_USAGE;
    if (isnan(ts.lr))
        ts.lr = ts.normalized ? AC_SVM_TRAIN_LR_DEFAULT : plain_lr_default(in.E, in.K, in.d);
    ac_tpg_solution sol;
    ac_msg msg = {{0}};
    ac_status st = ac_tpg_solve(in.D, in.E, in.d, &set, &sol, &msg);
    int dd = in.d * in.d, rc = EXIT_HOLDS;
    double *W0 = malloc(sizeof(double) * (size_t)dd * 2);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    train_row *rows = calloc(64, sizeof *rows);
    ac_svm_trainer *tr = NULL;
    if (st != AC_OK) {
        solve_error(argv[optind], emb, &in, st, &msg);
        rc = EXIT_USAGE;
        goto done;
    }
    if (!W0 || !r || !rows) {
        cli_error("%s: out of memory", argv[optind]);
        rc = EXIT_USAGE;
        goto done;
    }
    gsl_rng_set(r, seed);
    ac_svm_model_init(r, in.d, W0);
    if (!(tr = ac_svm_trainer_alloc(in.D->n, in.D->off[in.D->n], in.K, in.d))) {
        cli_error("%s: out of memory", argv[optind]);
        rc = EXIT_USAGE;
        goto done;
    }
    if (ac_svm_trainer_set(tr, in.D, NULL, in.E, &ts, W0, &msg) != AC_OK) {
        cli_error("svm train: %s", msg.text);
        rc = EXIT_USAGE;
        goto done;
    }
    int n = 0;
    for (long next = 0;; next = next_log_step(next)) {
        if (next > ts.steps)
            next = ts.steps;
        ac_train_outcome oc = ac_svm_trainer_run(tr, next);
        if (oc == AC_TRAIN_DIVERGED) {
            cli_error("%s: training diverged (loss %.3g, from %.3g at the start) at step %ld; lower --lr",
                      argv[optind], ac_svm_trainer_info(tr)->loss, ac_svm_trainer_info(tr)->loss0,
                      ac_svm_trainer_info(tr)->steps);
            rc = EXIT_FAILS;
            break;
        }
        /* one row a step: a run that converges at a step already shown adds none */
        if (n == 0 || ac_svm_trainer_info(tr)->steps != rows[n - 1].step)
            train_row_of(&in, &sol, tr, &ts, &rows[n++], W0 + dd);
        if (oc != AC_TRAIN_RUNNING || next == ts.steps || n == 64)
            break;
    }
    train_print(fmt, rows, n, &ts, seed, &sol, ac_svm_trainer_info(tr));
    if (sol.qp.status != AC_QP_SOLVED) {
        cli_error("%s: Graph-SVM %s: no direction to compare", argv[optind], ac_qp_status_str(sol.qp.status));
        rc = EXIT_FAILS;
    }
done:
    ac_svm_trainer_free(tr);
    gsl_rng_free(r);
    free(rows);
    free(W0);
    ac_tpg_solution_clear(&sol);
    input_free(&in);
    return cli_finish(rc);
}

/* ---- generate ------------------------------------------------------------ */

/* A generated instance file: a header comment, then the dataset D or the
 * embeddings E (K x d). */
typedef struct {
    const char *header;
    const ac_tpg_data *D;
    const double *E;
    int K, d;
} instance_file;

static ac_status fill_instance(FILE *f, void *ctx, ac_msg *msg)
{
    const instance_file *x = ctx;
    (void)msg; /* AC_EIO: the set writer names the file and the reason */
    return x->D ? ac_svm_export_data(f, x->header, x->D) : ac_svm_export_emb(f, x->header, x->E, x->K, x->d);
}

/* PREFIX.data and PREFIX.emb as one set (verify/atomic.h): both or neither,
 * also under SIGINT/SIGTERM. */
static int write_instance(const char *prefix, const char *header, const ac_tpg_data *D, const double *E, int K,
                          int d)
{
    char dir[AC_ATOMIC_PATH_MAX], name[AC_ATOMIC_NAME_MAX];
    const char *slash = strrchr(prefix, '/'), *base = slash ? slash + 1 : prefix;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - prefix) + (slash == prefix) : 1,
             slash ? prefix : ".");
    instance_file data = {header, D, NULL, 0, 0}, emb = {header, NULL, E, K, d};
    ac_msg msg = {{0}};
    ac_atomic_set set;
    cli_hold_signals();
    ac_status st = ac_atomic_set_init(&set, dir, &msg);
    if (st == AC_OK) {
        snprintf(name, sizeof name, "%s.data", base);
        st = ac_atomic_set_write(&set, name, fill_instance, &data, &msg);
    }
    cli_test_stall();
    if (st == AC_OK && !cli_interrupted()) {
        snprintf(name, sizeof name, "%s.emb", base);
        st = ac_atomic_set_write(&set, name, fill_instance, &emb, &msg);
    }
    if (st == AC_OK && !cli_interrupted())
        st = ac_atomic_set_commit(&set, &msg);
    ac_atomic_set_clear(&set);
    if (st != AC_OK && !cli_interrupted())
        cli_error("%s", msg.text);
    cli_release_signals();
    return st == AC_OK;
}

/* An output prefix names files: not empty, not ending in '/' (PREFIX.data
 * would be a hidden file), no newline (it goes into the header comment). */
static int prefix_ok(const char *prefix)
{
    const char *slash = strrchr(prefix, '/'), *base = slash ? slash + 1 : prefix;
    if (!base[0] || base[0] == '.') {
        cli_error("svm generate: --out '%s': PREFIX must end in a file name not starting with '.' "
                  "(it writes PREFIX.data and PREFIX.emb)",
                  prefix);
        return 0;
    }
    if (strchr(prefix, '\n') || strlen(base) + sizeof ".data" > AC_ATOMIC_NAME_MAX ||
        strlen(prefix) + sizeof ".data" > AC_ATOMIC_PATH_MAX) {
        cli_error("svm generate: --out: PREFIX too long or holds a newline");
        return 0;
    }
    return 1;
}

/* ac_svm_gen_check bounds n*T and K*d by 1e8 (verify/svm_data.c): a single
 * size above that can never pass it. */
#define GEN_SIZE_MAX 100000000L

static int svm_generate(int argc, char **argv)
{
    static const struct option opts[] = {{"mode", required_argument, 0, 'm'}, {"n", required_argument, 0, 'n'},
                                         {"T", required_argument, 0, 'T'},    {"K", required_argument, 0, 'K'},
                                         {"d", required_argument, 0, 'd'},    {"seed", required_argument, 0, 's'},
                                         {"out", required_argument, 0, 'o'},  {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int mode = -1, c;
    long sz[4] = {0, 0, 0, 0}, v;
    unsigned long seed = 1;
    const char *prefix = NULL;
    ac_svm_setup cyc, acyc;
    ac_svm_claim_setup("cyclic", AC_SIZE_DEFAULT, &cyc);
    ac_svm_claim_setup("acyclic", AC_SIZE_DEFAULT, &acyc);
    unsigned long long seen = 0;
    while ((c = cli_getopt(argc, argv, opts, &seen)) != -1) {
        switch (c) {
        case 'm':
            if ((mode = ac_svm_gen_mode_parse(optarg)) < 0) {
                cli_error("--mode: '%s' is not cyclic, acyclic or any", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'n': case 'T': case 'K': case 'd': {
            const char *name = c == 'n' ? "n" : c == 'T' ? "T" : c == 'K' ? "K" : "d";
            if (!cli_long(name, optarg, 1, GEN_SIZE_MAX, &v))
                return EXIT_USAGE;
            sz[c == 'n' ? 0 : c == 'T' ? 1 : c == 'K' ? 2 : 3] = v;
            break;
        }
        case 's':
            if (!cli_long("seed", optarg, 0, SEED_MAX, &v))
                return EXIT_USAGE;
            seed = (unsigned long)v;
            break;
        case 'o': prefix = optarg; break;
        case 'h':
            printf("usage: attncheck svm generate --mode cyclic|acyclic|any [--n N] [--T T] [--K K] [--d D]\n"
                   "                              [--seed S] --out PREFIX\n\n"
                   "Write PREFIX.data and PREFIX.emb with the generator the claims use (spec tpg_svm\n"
                   "section 5): unit-norm Gaussian embeddings, then sequences of T tokens (distinct\n"
                   "when T <= K; else a permutation of the K tokens, then T - K uniform draws),\n"
                   "labels uniform and replaced by a token of the sequence when absent,\n"
                   "redrawn until the graphs are acyclic (or have a cycle).  Trial i of a claim is\n"
                   "--seed (its seed + i) with the sizes its setup line gives.\n\n"
                   "defaults: cyclic n=%d T=%d K=%d d=%d; acyclic n=%d T=%d K=%d d=%d; seed 1\n",
                   cyc.n, cyc.T, cyc.K, cyc.d, acyc.n, acyc.T, acyc.K, acyc.d);
            return cli_finish(EXIT_HOLDS);
        default: return EXIT_USAGE;
        }
    }
    if (mode < 0 || !prefix || optind < argc) {
        cli_error("svm generate: expected --mode and --out PREFIX, and no other argument (see --help)");
        return EXIT_USAGE;
    }
    if (!prefix_ok(prefix))
        return EXIT_USAGE;
    const ac_svm_setup *def = mode == AC_SVM_GEN_ACYCLIC ? &acyc : &cyc;
    ac_svm_gen_settings gs = {.n = sz[0] ? (int)sz[0] : def->n,
                              .T = sz[1] ? (int)sz[1] : def->T,
                              .K = sz[2] ? (int)sz[2] : def->K,
                              .d = sz[3] ? (int)sz[3] : def->d,
                              .mode = (ac_svm_gen_mode)mode};
    gs.max_tries = ac_svm_gen_tries(gs.n, gs.T); /* about a minute of redraws at most */
    ac_msg msg = {{0}};
    if (ac_svm_gen_check(&gs, &msg) != AC_OK) {
        cli_error("svm generate: %s", msg.text);
        return EXIT_USAGE;
    }
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r)
        return EXIT_USAGE;
    gsl_rng_set(r, seed);
    ac_tpg_data *D = NULL;
    double *E = NULL;
    ac_status st = ac_svm_generate(r, &gs, &D, &E, NULL, &msg);
    gsl_rng_free(r);
    if (st != AC_OK) {
        cli_error("svm generate: %s", msg.text);
        return st == AC_ENOCONV ? EXIT_FAILS : EXIT_USAGE;
    }
    char header[256];
    snprintf(header, sizeof header, "attncheck svm generate --mode %s --n %d --T %d --K %d --d %d --seed %lu",
             ac_svm_gen_mode_str((ac_svm_gen_mode)mode), gs.n, gs.T, gs.K, gs.d, seed);
    int ok = write_instance(prefix, header, D, E, gs.K, gs.d);
    ac_tpg_data_free(D);
    free(E);
    return cli_finish(ok ? EXIT_HOLDS : EXIT_USAGE);
}

static const cli_command svm_commands[] = {
    {"graph", "DATA", svm_graph, "token-priority graphs, their SCCs and the priority order between them"},
    {"solve", "DATA --embeddings EMB", svm_solve, "W_svm, its KKT residuals, and the finite component W_fin"},
    {"train", "DATA --embeddings EMB", svm_train, "gradient descent on your data against the theory"},
    {"generate", "--mode M --out PREFIX", svm_generate, "PREFIX.data and PREFIX.emb from the claims' generator"},
};

int cmd_svm(int argc, char **argv)
{
    char about[1024];
    snprintf(about, sizeof about,
             "The Graph-SVM theory of next-token self-attention (Li et al. 2024) on your data.\n\n%s",
             svm_formats_help);
    return cli_dispatch("attncheck svm", about, svm_commands, (int)(sizeof svm_commands / sizeof svm_commands[0]),
                        argc, argv);
}
