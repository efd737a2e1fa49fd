/* The pieces of `attncheck moe` that live outside cli/moe.c. */
#ifndef AC_CLI_MOE_CMDS_H
#define AC_CLI_MOE_CMDS_H
#include "cli/cli.h"
#include "solvers/status.h"

/* convert and check (cli/moe_model.c). */
extern const cli_command moe_model_commands[];
extern const int moe_model_ncommands;

/* Write the random equivalence instance of a variant (one-head, no-self,
 * biases, residual, multi-head, two-layer) drawn from seed to out, in the
 * model format of verify/moe_io.h.  AC_EINVAL (msg) for an unknown variant. */
ac_status moe_generate_model(const char *variant, unsigned long seed, const char *out, ac_msg *msg);

#endif
