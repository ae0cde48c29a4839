/* triplets.h -- three-element parameter tables read from LAMMPS .sw/.tersoff files. */
#ifndef STRATA_MD_TRIPLETS_H
#define STRATA_MD_TRIPLETS_H
#include "md_internal.h"

typedef struct md_triplets {
    md_species sp;
    int ne, nvals;
    double *v;     /* [ne][ne][ne][nvals] */
} md_triplets;

static inline const double *md_trip(const md_triplets *t, int a, int b, int c)
{
    return t->v + (size_t)((a * t->ne + b) * t->ne + c) * t->nvals;
}

ST_HIDDEN int md_triplets_read(st_ctx *ctx, const char *label, const char *path, const char *elements, int nvals,
                               const char *const *names, md_triplets *out);
ST_HIDDEN void md_triplets_free(md_triplets *t);

#endif
