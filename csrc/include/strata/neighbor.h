/* strata/neighbor.h -- neighbour search with periodic images: cutoff lists (full or half) and
 * k nearest neighbours, for any triclinic cell and any per-axis periodicity.  See
 * docs/neighbors.md.
 *
 * Conventions shared by every function here:
 *   pos   [n][3] Cartesian positions, Å (need not lie inside the cell);
 *   cell  [3][3] rows a, b, c, Å; may be NULL or zero on non-periodic axes (then the bounding box
 *         of the atoms is used); only the rows of periodic axes are used;
 *   pbc   [3] 0/1 per axis; NULL = not periodic;
 *   shift [3] integers s: the neighbour is the image r_j + s0 a + s1 b + s2 c; shifts refer to the
 *         positions exactly as given (wrapping is internal), and are 0 on non-periodic axes;
 *   vector  r_j + s.cell - r_i (Å), distance its length;
 *   n <= 2^31 - 1 (indices are int32).
 * Pointers are borrowed for the duration of a call; st_knn_create copies what it keeps. */
#ifndef STRATA_NEIGHBOR_H
#define STRATA_NEIGHBOR_H
#include "core.h"

/* ---- cutoff neighbour lists ------------------------------------------------------------- */

typedef struct st_nlist st_nlist;   /* opaque built list */

/* All-zero = full list, neighbours in search order (deterministic), vectors stored. */
typedef struct st_nlist_opts {
    int32_t half;        /* 1: each unordered pair once: kept under i when i < j, or i == j
                            (self image) with shift lexicographically positive */
    int32_t sorted;      /* 1: each atom's neighbours sorted by (distance, j, shift) */
    int32_t no_vectors;  /* 1: do not store vectors (saves 24 bytes per pair) */
    int32_t reserved;
} st_nlist_opts;

/* Pairs with distance < cutoff (strict; cutoff 0 gives an empty list), the atom itself at zero
 * shift excluded, its own images included.  Errors: ST_ERR_ARG for a negative or non-finite
 * cutoff, a non-finite position, or a periodic axis whose cell vectors are zero or linearly
 * dependent; ST_ERR_NOMEM; ST_ERR_INTERRUPTED.  *out is NULL on error. */
ST_API int st_nlist_build(st_ctx *ctx, int64_t n, const double *pos, const double *cell,
                          const int32_t *pbc, double cutoff, const st_nlist_opts *opts,
                          st_nlist **out);
/* Rebuild nl in place for new positions (or anything else), reusing its arrays when they are
 * large enough: repeated rebuilds (MD) skip the allocation and first-touch cost.  Pointers from
 * the accessors are invalidated.  On error the list is left empty (0 pairs) but valid. */
ST_API int st_nlist_update(st_ctx *ctx, st_nlist *nl, int64_t n, const double *pos,
                           const double *cell, const int32_t *pbc, double cutoff,
                           const st_nlist_opts *opts);
ST_API void st_nlist_destroy(st_nlist *nl);                   /* NULL is a no-op */
ST_API int64_t st_nlist_natoms(const st_nlist *nl);
ST_API double st_nlist_cutoff(const st_nlist *nl);
ST_API int64_t st_nlist_npairs(const st_nlist *nl);
/* CSR: the neighbours of atom i are entries offsets[i] .. offsets[i+1]-1. */
ST_API const int64_t *st_nlist_offsets(const st_nlist *nl);  /* [natoms+1] */
ST_API const int32_t *st_nlist_indices(const st_nlist *nl);  /* [npairs] j */
ST_API const int32_t *st_nlist_shifts(const st_nlist *nl);   /* [npairs][3] */
ST_API const double *st_nlist_vectors(const st_nlist *nl);   /* [npairs][3]; NULL if no_vectors */
ST_API const double *st_nlist_distances(const st_nlist *nl); /* [npairs] */
ST_API size_t st_nlist_memory(const st_nlist *nl);           /* bytes held (capacity) */

/* ---- k nearest neighbours --------------------------------------------------------------- */

/* A binned search structure over a set of points (with their periodic images), built once and
 * queried many times.  Copies positions and cell. */
typedef struct st_knn st_knn;

/* k_hint: the k you will usually ask for (sizes the bins); 0 = 32.  Same errors as
 * st_nlist_build (no cutoff). */
ST_API int st_knn_create(st_ctx *ctx, int64_t n, const double *pos, const double *cell,
                         const int32_t *pbc, int32_t k_hint, st_knn **out);
ST_API void st_knn_destroy(st_knn *h);                        /* NULL is a no-op */
ST_API int64_t st_knn_count(const st_knn *h);

/* The k nearest neighbours of atoms first .. first+count-1 of the set (the atom itself at zero
 * shift excluded, its images included).  Outputs are caller-allocated, row i of each belongs to
 * atom first+i, and any of them may be NULL:
 *   index [count][k], shifts [count][k][3], vectors [count][k][3], distances [count][k],
 *   found [count] (number of neighbours returned, = k unless the system is non-periodic and has
 *   fewer than k other atoms; missing slots get index -1, zero shift and vector, distance +inf).
 * Rows are sorted by the total order (distance, j, shift lexicographic), distances computed
 * as |(r_j - r_i) + (s0 a + s1 b + s2 c)| and compared exactly: the result is unique and does not
 * depend on threads or binning.  Reports no progress (callers loop over blocks); polls the
 * interrupt flag.  ST_ERR_ARG for k < 1 or a range outside the set.  The search functions may be
 * called concurrently on one st_knn (each with its own ctx), e.g. from the threads of an OpenMP
 * region; inside a parallel region a search runs on the calling thread only. */
ST_API int st_knn_search(st_ctx *ctx, const st_knn *h, int64_t first, int64_t count, int32_t k,
                         int32_t *index, int32_t *shifts, double *vectors, double *distances,
                         int32_t *found);
/* The same for an arbitrary list of atoms of the set (row i belongs to atoms[i]). */
ST_API int st_knn_search_atoms(st_ctx *ctx, const st_knn *h, int64_t count, const int32_t *atoms,
                               int32_t k, int32_t *index, int32_t *shifts, double *vectors,
                               double *distances, int32_t *found);
/* The atoms in a spatially coherent order (by bin) [n]: searching blocks of this order keeps
 * neighbourhoods in cache and is markedly faster than a random order. */
ST_API void st_knn_spatial_order(const st_knn *h, int32_t *order);
/* The same for nq query points [nq][3] that need not belong to the set; vectors are relative to
 * the query point as given.  exclude (may be NULL) [nq]: index of a set point to leave out when
 * its shift is zero (the query point's own atom), or -1. */
ST_API int st_knn_search_points(st_ctx *ctx, const st_knn *h, int64_t nq, const double *points,
                                const int32_t *exclude, int32_t k, int32_t *index,
                                int32_t *shifts, double *vectors, double *distances,
                                int32_t *found);

/* One-shot forms (build, search every atom / query point, destroy); report progress "knn". */
ST_API int st_nlist_knn(st_ctx *ctx, int64_t n, const double *pos, const double *cell,
                        const int32_t *pbc, int32_t k, int32_t *index, int32_t *shifts,
                        double *vectors, double *distances, int32_t *found);
ST_API int st_nlist_knn_query(st_ctx *ctx, int64_t n, const double *pos, const double *cell,
                              const int32_t *pbc, int64_t nq, const double *points, int32_t k,
                              int32_t *index, int32_t *shifts, double *vectors,
                              double *distances, int32_t *found);

#endif
