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
/* Set-up shared by the three-body potentials (sw, tersoff) before their force loop: per-atom
 * types (growing *type to a->next entries), the thread count (one thread per ~1024 atoms, at most
 * a->nthreads), thread-private force buffers, and a scratch block of nbr_size bytes per
 * neighbour slot (*maxnb_out slots per thread) for every thread (*scratch, freed by the caller). */
ST_HIDDEN int md_threebody_begin(st_ctx *ctx, const char *label, st_md_pot_args *a, const md_triplets *tp,
                                 int32_t **type, int64_t *type_cap, md_tforce *tf, size_t nbr_size,
                                 int *nth, int64_t *maxnb_out, void **scratch);

#endif
