/* strata/crystal.h -- isometry invariants of periodic crystals and the distances between them.
 *
 * A crystal is a periodic point set: the atoms of one unit cell (the motif) plus all their lattice
 * translates.  For a query point p of the motif, d_1(p) <= ... <= d_k(p) are the exact distances
 * (Å) to its k nearest points of the infinite set (p itself excluded, its translates included).
 *   AMD_j = sum_i mu_i d_j(p_i) / sum_i mu_i                      (Widdowson & Kurlin, MATCH 2022)
 *   PDD   = rows (d_1..d_k)(p_i) with weights mu_i / sum mu, near-equal rows merged, rows sorted
 *                                                                  (Widdowson & Kurlin 2021/22)
 * over query sites p_i with multiplicities mu_i (the asymmetric unit of a symmetric crystal, or
 * every atom with mu = 1).  Distances: AMD by L-inf (default), L1 or L2; PDD by the Earth mover's
 * distance with a Chebyshev ground cost, solved exactly (network simplex, double precision).
 * Always L-inf(AMD) <= EMD(PDD).  See docs/crystal-distances.md.
 *
 * Outputs are caller-allocated: k distances per site, k values for an AMD, and at most
 * st_crystal_nsites() rows for a PDD (the actual row count is returned). */
#ifndef STRATA_CRYSTAL_H
#define STRATA_CRYSTAL_H
#include "core.h"
#include "atoms.h"

/* Norms for comparing AMD vectors. */
enum st_crystal_metric { ST_CRYSTAL_LINF = 0, ST_CRYSTAL_L1 = 1, ST_CRYSTAL_L2 = 2 };

/* Default number of neighbours and PDD merge tolerance (the study's values). */
enum { ST_CRYSTAL_DEFAULT_K = 100 };

/* A periodic set given as plain arrays (all borrowed for the duration of a call). */
typedef struct st_crystal_set {
    const double *cell;          /* [3][3] lattice vectors as rows, Å; any basis (reduced inside) */
    int64_t natoms;              /* atoms in the unit cell (the full P1 motif), >= 1 */
    const double *positions;     /* [natoms][3] Cartesian, Å (need not be wrapped into the cell) */
    const int32_t *numbers;      /* [natoms] atomic numbers; may be NULL unless species are chosen */
    int64_t nsites;              /* query sites; 0 = every atom is its own site with weight 1 */
    const int64_t *sites;        /* [nsites] 0-based indices into positions (asymmetric unit) */
    const double *weights;       /* [nsites] multiplicities (> 0); NULL = all 1 */
} st_crystal_set;

/* Options; all-zero means defaults. */
typedef struct st_crystal_opts {
    int32_t k;                   /* neighbours per site; 0 = 100 */
    int32_t nspecies;            /* 0 = all atoms; else keep only atoms whose number is in species
                                    (both as query sites and as points of the periodic set) */
    const int32_t *species;      /* [nspecies] atomic numbers, e.g. {14} for T atoms of a SiO2 */
    double collapse_tol;         /* PDD: merge rows within this Chebyshev distance (Å);
                                    0 = 1e-4; negative = never merge */
} st_crystal_opts;

/* Number of query sites kept after the species restriction (= rows of st_crystal_knn and the
 * capacity a PDD output needs). */
ST_API int st_crystal_nsites(st_ctx *ctx, const st_crystal_set *set, const st_crystal_opts *opts,
                             int64_t *nsites);

/* Exact periodic k-nearest-neighbour distances: dist [nsites][k] ascending (Å).  weights
 * [nsites] (may be NULL) receives the multiplicity of each kept site, in site order. */
ST_API int st_crystal_knn(st_ctx *ctx, const st_crystal_set *set, const st_crystal_opts *opts,
                          double *dist, double *weights);

/* Average minimum distances AMD_1..AMD_k into amd [k]. */
ST_API int st_crystal_amd(st_ctx *ctx, const st_crystal_set *set, const st_crystal_opts *opts,
                          double *amd);

/* Pointwise distance distribution: *nrows rows (<= st_crystal_nsites) of weights [nrows]
 * (summing to 1) and rows [nrows][k], merged and sorted lexicographically.  Allocate
 * st_crystal_nsites() rows. */
ST_API int st_crystal_pdd(st_ctx *ctx, const st_crystal_set *set, const st_crystal_opts *opts,
                          int64_t *nrows, double *weights, double *rows);

/* The same from an st_atoms frame (needs a cell and pbc T T T).  If the frame has the per-atom
 * INT arrays "asym_site" (0-based asymmetric-site index) and "multiplicity" (as the CIF reader
 * writes them), the query sites are the first atom of each asym_site with that multiplicity;
 * otherwise every atom is its own site with multiplicity 1. */
ST_API int st_crystal_frame_nsites(st_ctx *ctx, st_atoms *frame, const st_crystal_opts *opts,
                                   int64_t *nsites);
ST_API int st_crystal_frame_knn(st_ctx *ctx, st_atoms *frame, const st_crystal_opts *opts,
                                double *dist, double *weights);
ST_API int st_crystal_frame_amd(st_ctx *ctx, st_atoms *frame, const st_crystal_opts *opts,
                                double *amd);
ST_API int st_crystal_frame_pdd(st_ctx *ctx, st_atoms *frame, const st_crystal_opts *opts,
                                int64_t *nrows, double *weights, double *rows);

/* Distance between two AMD vectors of length k with a st_crystal_metric. */
ST_API int st_crystal_amd_distance(st_ctx *ctx, int64_t k, const double *a, const double *b,
                                   int metric, double *out);
/* All pairs: out [n][n] (symmetric, zero diagonal) for amds [n][k]; threaded. */
ST_API int st_crystal_amd_matrix(st_ctx *ctx, int64_t n, int64_t k, const double *amds,
                                 int metric, double *out);
/* Cross distances: out [na][nb] between amds_a [na][k] and amds_b [nb][k]. */
ST_API int st_crystal_amd_cross(st_ctx *ctx, int64_t na, const double *amds_a, int64_t nb,
                                const double *amds_b, int64_t k, int metric, double *out);

/* Exact balanced transport: minimise sum c_ij f_ij over f >= 0 with row sums a [n1] and column
 * sums b [n2] (sum a = sum b within 1e-9 relative; zero entries allowed).  cost [n1][n2].
 * Outputs (each may be NULL): flow [n1][n2]; dual potentials u [n1], v [n2] with
 * u_i + v_j <= c_ij and sum a u + sum b v = *value at the optimum.  Network simplex. */
ST_API int st_crystal_transport(st_ctx *ctx, int64_t n1, const double *a, int64_t n2,
                                const double *b, const double *cost, double *flow, double *u,
                                double *v, double *value);

/* Earth mover's distance between two PDDs (weights summing to 1, rows of length k) with the
 * Chebyshev ground distance between rows. */
ST_API int st_crystal_pdd_emd(st_ctx *ctx, int64_t k, int64_t n1, const double *weights1,
                              const double *rows1, int64_t n2, const double *weights2,
                              const double *rows2, double *out);

/* A collection of n PDDs stored back to back: PDD i has rows offsets[i] .. offsets[i+1]-1 of
 * weights [offsets[n]] and rows [offsets[n]][k].  All pairs: out [n][n]; threaded over pairs. */
ST_API int st_crystal_pdd_matrix(st_ctx *ctx, int64_t n, const int64_t *offsets,
                                 const double *weights, const double *rows, int64_t k,
                                 double *out);
/* Cross distances between two collections: out [na][nb]. */
ST_API int st_crystal_pdd_cross(st_ctx *ctx, int64_t na, const int64_t *offsets_a,
                                const double *weights_a, const double *rows_a, int64_t nb,
                                const int64_t *offsets_b, const double *weights_b,
                                const double *rows_b, int64_t k, double *out);

#endif
