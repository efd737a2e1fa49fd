/* The one table of papers and their claims.  A module adds its line here and
 * nothing else: the CLI, the report writers and regress read this table. */
#include <string.h>

#include "verify/claim.h"
#include "verify/joma_claims.h"
#include "verify/moe_claims.h"
#include "verify/paths_claims.h"
#include "verify/svm_claims.h"

static const ac_paper_def papers[] = {
    {"svm", "Li, Huang, Ildiz, Rawat, Oymak. Mechanics of Next Token Prediction with Self-Attention. AISTATS 2024",
     ac_svm_claims, AC_SVM_NCLAIMS},
    {"joma", "Tian, Wang, Zhang, Chen, Du. JoMA: Demystifying Multilayer Transformers via JOint Dynamics of MLP and "
             "Attention. ICLR 2024",
     ac_joma_claims, AC_JOMA_NCLAIMS},
    {"moe", "Wibisono, Wang. Bidirectional Attention as a Mixture of Continuous Word Experts. UAI 2023", ac_moe_claims,
     AC_MOE_NCLAIMS},
    {"paths",
     "Tiberi, Mignacco, Irie, Sompolinsky. Dissecting the Interplay of Attention Paths in a Statistical Mechanics "
     "Theory of Transformers. NeurIPS 2024",
     ac_paths_claims, AC_PATHS_NCLAIMS},
};

int ac_registry_npapers(void)
{
    return (int)(sizeof papers / sizeof papers[0]);
}

const ac_paper_def *ac_registry_paper(int i)
{
    return i >= 0 && i < ac_registry_npapers() ? &papers[i] : NULL;
}

const ac_paper_def *ac_registry_find_paper(const char *name)
{
    for (int i = 0; i < ac_registry_npapers(); i++)
        if (strcmp(papers[i].name, name) == 0)
            return &papers[i];
    return NULL;
}

const ac_claim_def *ac_registry_find_claim(const char *id)
{
    for (int i = 0; i < ac_registry_npapers(); i++)
        for (int j = 0; j < papers[i].nclaims; j++)
            if (strcmp(papers[i].claims[j].id, id) == 0)
                return &papers[i].claims[j];
    return NULL;
}
