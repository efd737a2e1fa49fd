/* attncheck moe: the CBOW-MoE view (Wibisono & Wang 2023) on your own model. */
#include <stdio.h>
#include <string.h>
#include <getopt.h>

#include "cli/cli.h"
#include "cli/moe_cmds.h"
#include "verify/claim.h"

static int moe_generate(int argc, char **argv)
{
    static const struct option opts[] = {{"task", required_argument, 0, 't'}, {"variant", required_argument, 0, 'v'},
                                         {"seed", required_argument, 0, 's'}, {"trial", required_argument, 0, 'i'},
                                         {"size", required_argument, 0, 'z'}, {"out", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *task = NULL, *variant = "one-head", *out = NULL;
    unsigned long seed = 1;
    int trial = 0, size = AC_SIZE_DEFAULT;
    long v;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': task = optarg; break;
        case 'v': variant = optarg; break;
        case 's':
            if (!cli_long("seed", optarg, 0, 4294967295L, &v))
                return EXIT_USAGE;
            seed = (unsigned long)v;
            break;
        case 'i':
            if (!cli_long("trial", optarg, 0, 1000000, &v))
                return EXIT_USAGE;
            trial = (int)v;
            break;
        case 'z':
            if ((size = ac_size_parse(optarg)) < 0) {
                cli_error("--size: '%s' is not quick, default or paper", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: attncheck moe generate --task equivalence [--variant V] [--seed S] [--trial I]\n"
                   "                              [--size quick|default|paper] --out FILE\n\n"
                   "equivalence: the attention model of variant V that trial I of moe.equivalence\n"
                   "draws when run with --seed S --size SIZE (spec cbow_moe section 2.5 item 1:\n"
                   "V=7, L=5, d=6, dk=4, dv=3, entries N(0,1)), bit for bit, in the model format\n"
                   "(docs/moe.md).  Variants: %s.\n"
                   "defaults: --variant one-head --seed 1 --trial 0 --size default\n", moe_variant_list());
            return cli_finish(EXIT_HOLDS);
        default: return EXIT_USAGE;
        }
    }
    if (!task || !out || optind < argc) {
        cli_error("moe generate: expected --task and --out, and no other argument (see --help)");
        return EXIT_USAGE;
    }
    if (strcmp(task, "equivalence") != 0) {
        cli_error("--task: '%s' is not equivalence", task);
        return EXIT_USAGE;
    }
    ac_msg msg = {{0}};
    if (moe_generate_model(variant, seed, (ac_size)size, trial, out, &msg) != AC_OK) {
        cli_error("moe generate: %s", msg.text);
        return EXIT_USAGE;
    }
    return cli_finish(EXIT_HOLDS);
}

int cmd_moe(int argc, char **argv)
{
    cli_command cmds[8];
    int n = 0;
    for (int k = 0; k < moe_model_ncommands; k++)
        cmds[n++] = moe_model_commands[k];
    cmds[n++] = (cli_command){"generate", "--task T --out FILE", moe_generate, "the claims' inputs"};
    return cli_dispatch("attncheck moe", "The CBOW-MoE view of bidirectional attention (Wibisono & Wang 2023).",
                        cmds, n, argc, argv);
}
