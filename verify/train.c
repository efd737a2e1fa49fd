#include "verify/train.h"

const char *ac_train_outcome_str(ac_train_outcome o)
{
    switch (o) {
#define AC_TRAIN_OUTCOME_CASE(name, text) \
    case name:                            \
        return text;
        AC_TRAIN_OUTCOME_LIST(AC_TRAIN_OUTCOME_CASE)
#undef AC_TRAIN_OUTCOME_CASE
    }
    return "unknown";
}
