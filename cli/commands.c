/* The top-level command table: one row per command.  A paper module adds the
 * row of its own command (see docs/adding-a-paper.md); main() and the usage
 * read only this table. */
#include "cli/cli.h"

const cli_command cli_commands[] = {
    {"list", "", cmd_list, "every claim: id, paper, statement"},
    {"run", "[ID|PAPER ...]", cmd_run, "run claims and print the theory-vs-experiment table"},
    {"merge", "FILE...", cmd_merge, "the table of a claim from trial records run apart (run --records)"},
    {"regress", "", cmd_regress, "rerun the claims and compare with the committed baseline"},
    {"svm", "COMMAND", cmd_svm, "the Graph-SVM theory on your own data (graph, solve, train, generate)"},
    {"joma", "COMMAND", cmd_joma, "the JoMA dynamics on your own system (integrate, train, generate)"},
    {"paths", "COMMAND", cmd_paths, "the attention-paths theory on your own task (solve, sample, generate)"},
    {"moe", "COMMAND", cmd_moe, "the CBOW-MoE view on your own model and table (convert, check, tabular, generate)"},
};

const int cli_ncommands = (int)(sizeof cli_commands / sizeof cli_commands[0]);
