/* strata/desc.h -- per-atom descriptors of local environments.  See docs/descriptors.md.
 *
 * QUESTS (Schwalbe-Koda et al., Nat. Commun. 16, 4014 (2025)): per atom, from its k nearest
 * neighbours (periodic images included, the atom itself excluded) with weights
 * w(r) = (1 - (min(r, rc)/rc)^2)^2:
 *   x1_m = w(r_m + 1e-16) / (r_m + 1e-16), m = 1..k, nearest first;
 *   x2_q = (1/k) sum_m S[m, k-1-q], q = 0..k-2, with S the rows of
 *          A_mn = sqrt(w(r_m) w(r_n)) / (|r_jm - r_jn| + 1e-15) (A_mm = 0) sorted ascending;
 *   row = [x1 | x2], 2k-1 values, Å^-1.  Missing neighbours (non-periodic systems with fewer than
 *   k other atoms) give zeros; x2 still divides by k.
 * Neighbour ties are broken by (distance, index, image shift) -- see st_knn_search.  Partially
 * periodic cells (slabs, wires) get their images along the periodic axes; QUESTS itself treats
 * any cell that is not periodic on all three axes as non-periodic (documented departure).
 *
 * Species-aware variant (species_aware = 1, S species): for S = 1 it is exactly the agnostic
 * row; for S >= 2 the row is
 *   [agnostic (2k-1) | block for species 1 (2k-1) | ... | block for species S | gamma e_c (S)]
 * where the block for species s is the QUESTS row of the environment made of the k nearest
 * neighbours of species s only, and e_c is the one-hot vector of the central atom's species
 * scaled by gamma (species_gap).  Dimension S (2k-1) + (2k-1) + S. */
#ifndef STRATA_DESC_H
#define STRATA_DESC_H
#include "core.h"
#include "atoms.h"

/* All-zero = QUESTS defaults (k = 32, rc = 5 Å, element-agnostic). */
typedef struct st_quests_opts {
    int32_t k;               /* neighbours per environment; 0 = 32; 1 .. 1024 */
    int32_t species_aware;   /* 1: species-aware row (see above) */
    double cutoff;           /* rc of the weight, Å; 0 = 5.0 */
    double species_gap;      /* gamma, Å^-1, of the central-species one-hot; 0 = 1.0 */
    const int32_t *species;  /* species_aware: atomic numbers defining the blocks, in this order;
                                NULL = the distinct numbers of the frame, ascending (give it
                                explicitly when rows of different frames must line up) */
    int32_t nspecies;
    int32_t reserved;
} st_quests_opts;

/* Row length for these options (numbers [n] is needed only when species_aware derives the
 * species list).  ST_ERR_ARG for invalid options. */
ST_API int st_quests_dim(st_ctx *ctx, const st_quests_opts *opts, int64_t n,
                         const int32_t *numbers, int64_t *dim);
/* Descriptor rows for n atoms into out [n][dim] (caller-allocated; see st_quests_dim).
 * pos/cell/pbc as in strata/neighbor.h; numbers [n] required only when species_aware.
 * Threaded over atoms; linear memory; polls the interrupt flag; reports progress "quests".
 * Errors: ST_ERR_ARG (bad options, k < 0 or > 1024, cutoff < 0 or not finite, NaN position,
 * singular periodic cell, element not in the species list), ST_ERR_NOMEM, ST_ERR_INTERRUPTED.
 * n = 0 is fine (nothing written). */
ST_API int st_quests_compute(st_ctx *ctx, int64_t n, const double *pos, const double *cell,
                             const int32_t *pbc, const int32_t *numbers,
                             const st_quests_opts *opts, double *out);
/* The same for a frame (positions, cell if any, pbc, numbers). */
ST_API int st_quests_frame(st_ctx *ctx, st_atoms *frame, const st_quests_opts *opts, double *out);

#endif
