/* The pieces of `attncheck moe` that live outside cli/moe.c: the commands
 * on a user's attention model (cli/moe_model.c). */
#ifndef AC_CLI_MOE_CMDS_H
#define AC_CLI_MOE_CMDS_H
#include "cli/cli.h"
#include "solvers/status.h"
#include "verify/atomic.h"
#include "verify/claim.h"

/* attncheck moe convert and check (cli/moe_model.c). */
int moe_convert(int argc, char **argv);
int moe_check(int argc, char **argv);

/* Write through fill to out, whole or not at all (verify/atomic.h), SIGINT,
 * SIGTERM and SIGHUP held meanwhile (one that arrives ends the process once
 * the file is in place and no temporary is left); to standard output,
 * written through, when out is NULL. */
ac_status moe_write_out(const char *out, ac_atomic_fill fill, void *ctx, ac_msg *msg);

/* Write the model of a variant (moe_variant_list) that trial `trial` of
 * moe.equivalence draws at seed and size, bit for bit
 * (ac_moe_eq_instance), to out in the model format of verify/moe_io.h.
 * AC_EINVAL (msg) for an unknown variant. */
ac_status moe_generate_model(const char *variant, unsigned long seed, ac_size size, int trial,
                             const char *out, ac_msg *msg);
/* "one-head, no-self, ...": the variant names generate accepts. */
const char *moe_variant_list(void);

#endif
