/* strata/entropy.h -- information entropy of atomic environments (QUESTS metrics).
 *
 * Descriptors are rows of a caller-owned float64 matrix: row i of X starts at x + i*ldx and holds
 * d values (ldx >= d; ldx = 0 means d).  Bandwidths h are in descriptor units (Å^-1 for the QUESTS
 * descriptor); several bandwidths are evaluated in one pass over the pairs.  Logs are natural.
 *
 *   K(a,b) = exp(-|a-b|^2 / (2 h^2))              unnormalised Gaussian kernel
 *   p_i    = sum_j K(x_i, x_j)                     self term included, p_i >= 1
 *   H      = ln N - <ln p_i>                       entropy, in [0, ln N]
 *   D      = ln sum_i 1/p_i                        diversity, in [0, ln N]
 *   dH(y|X)= -ln sum_j K(y, x_j)                   differential entropy (always finite here)
 *   overlap(Y,X) = fraction of y with dH(y|X) < eps
 *
 * Output arrays over bandwidths are bandwidth-major: out[k*count + i] for bandwidth k.
 * Methods and their error guarantees are documented in docs/entropy.md.
 *
 * Statuses: ST_ERR_ARG (NULL pointer, n/m/d/ld out of range, empty set where one is needed,
 * h <= 0 / NaN / inf, column counts of X and Y differ, bad frame offsets), ST_ERR_NUMERIC (a
 * descriptor entry is NaN or inf; the message names the set, row and column), ST_ERR_NOMEM,
 * ST_ERR_INTERRUPTED.  Messages start with the function name. */
#ifndef STRATA_ENTROPY_H
#define STRATA_ENTROPY_H
#include "core.h"

enum st_entropy_method {
    ST_ENTROPY_AUTO = 0,   /* DENSE for small problems (n*m <= 4e6 pairs), PRUNED otherwise */
    ST_ENTROPY_DENSE = 1,  /* every pair, cache-blocked tiles */
    ST_ENTROPY_PRUNED = 2, /* ball tree; skipped terms bounded: relative error of each sum <= tol */
    ST_ENTROPY_APPROX = 3, /* PRUNED plus cluster-midpoint estimates; each sum within tol (rel.) */
    ST_ENTROPY_FAST = 4    /* APPROX with float32 distances and exponentials; each sum within
                              tol + a float32 rounding bound (stats.error_bound; ~1e-4 at
                              h = 0.015 on QUESTS rows).  AVX2/AVX-512 builds; else APPROX */
};

/* Work counters of the last call (optional output, see st_entropy_opts.stats). */
typedef struct st_entropy_stats {
    double pairs_total;       /* n*m (or n*(n+1)/2 for a set against itself) */
    double pairs_computed;    /* pairs whose distance was evaluated (tile padding included) */
    double pairs_neglected;   /* pairs skipped as provably negligible */
    double pairs_approximated;/* pairs replaced by a cluster-midpoint estimate (APPROX only) */
    double pairs_recomputed;  /* near pairs whose distance was recomputed from differences */
    double seconds;           /* wall time of the kernel-sum engine */
    double error_bound;       /* guaranteed bound on |error of ln(sum)| for every output, from
                                 skipped/estimated terms (tol) and term rounding (worst case) */
    int32_t method_used;      /* ST_ENTROPY_DENSE, _PRUNED, _APPROX or _FAST */
    int32_t reserved;
} st_entropy_stats;

/* Options: all-zero means defaults. */
typedef struct st_entropy_opts {
    int32_t method;           /* st_entropy_method; 0 = AUTO */
    int32_t leaf_size;        /* PRUNED/APPROX tree leaf size; 0 = default (4 SIMD panels) */
    double tol;               /* bound on the relative error of each kernel sum from skipping /
                                 approximating terms; 0 = 1e-14 (PRUNED) or 1e-6 (APPROX, FAST);
                                 ignored by DENSE (which skips only terms < 1e-16 of a sum) */
    double overlap_eps;       /* overlap threshold on dH; 0 = 1e-5 */
    st_entropy_stats *stats;  /* if not NULL, filled with work counters */
} st_entropy_opts;

/* Bandwidth rule of QUESTS from the volume per atom V (Å^3):
 *   h = 0.0897141 exp(-0.5 (V/10.896)^2) + 0.0119417   (Å^-1).
 * ST_ERR_ARG if V is not finite or V <= 0. */
ST_API int st_entropy_bandwidth(st_ctx *ctx, double volume_per_atom, double *h_out);

/* ln of the kernel sums, finite even where the sum underflows (the nearest term is factored out).
 * y == NULL: queries are X itself and out[k*n + i] = ln p_i (self term included).
 * Otherwise out[k*m + i] = ln sum_j K_k(y_i, x_j) = -dH(y_i | X); n must be > 0. */
ST_API int st_entropy_log_kernel_sums(st_ctx *ctx, const double *x, int64_t n, int64_t dx,
                                      int64_t ldx, const double *y, int64_t m, int64_t dy,
                                      int64_t ldy, const double *h, int32_t nh,
                                      const st_entropy_opts *opts, double *out);

/* Entropy H[k] and diversity D[k] of the set X for each bandwidth h[k].  Either output may be NULL.
 * N = 1 gives H = D = 0.  n = 0 is ST_ERR_ARG. */
ST_API int st_entropy_compute(st_ctx *ctx, const double *x, int64_t n, int64_t d, int64_t ldx,
                              const double *h, int32_t nh, const st_entropy_opts *opts,
                              double *H, double *D);

/* Differential entropy dH[k*m + i] = dH(y_i | X) for each bandwidth.  m = 0 is allowed (nothing
 * to do); n = 0 (empty reference) is ST_ERR_ARG. */
ST_API int st_entropy_delta(st_ctx *ctx, const double *y, int64_t m, int64_t dy, int64_t ldy,
                            const double *x, int64_t n, int64_t dx, int64_t ldx, const double *h,
                            int32_t nh, const st_entropy_opts *opts, double *dH);

/* Overlap of Y with X: overlap[k] = fraction of y with dH(y|X) < opts->overlap_eps (default 1e-5).
 * m = 0 or n = 0 is ST_ERR_ARG. */
ST_API int st_entropy_overlap(st_ctx *ctx, const double *y, int64_t m, int64_t dy, int64_t ldy,
                              const double *x, int64_t n, int64_t dx, int64_t ldx,
                              const double *h, int32_t nh, const st_entropy_opts *opts,
                              double *overlap);

/* Per-frame metrics.  Frame f is rows offsets[f] .. offsets[f+1]-1 of X (offsets[0] = 0,
 * non-decreasing, offsets[nframes] = n; an empty frame is ST_ERR_ARG).  Outputs, each
 * [nh*nframes] bandwidth-major and each optional (NULL = not wanted):
 *   H[k*nframes + f], D[k*nframes + f]: entropy and diversity of frame f on its own;
 *   mean_dH[k*nframes + f]: mean over the frame of dH(x | R) against the reference set R
 *   (r, nr, dr, ldr; required when mean_dH is not NULL). */
ST_API int st_entropy_frames(st_ctx *ctx, const double *x, int64_t n, int64_t d, int64_t ldx,
                             const int64_t *offsets, int64_t nframes, const double *r,
                             int64_t nr, int64_t dr, int64_t ldr, const double *h, int32_t nh,
                             const st_entropy_opts *opts, double *H, double *D, double *mean_dH);

/* ---- Greedy frame selection (csrc/entropy/select.c; used by `strata compress`) -------------- */

/* Work counters of st_entropy_select_frames (optional output). */
typedef struct st_entropy_select_stats {
    int64_t evaluations;      /* exact evaluations of H(S + frame) over the run */
    int64_t capped_steps;     /* steps that hit max_evals before the bound proved the choice */
    double seconds;           /* wall time */
} st_entropy_select_stats;

/* Options: all-zero means defaults. */
typedef struct st_entropy_select_opts {
    int32_t max_evals;        /* exact evaluations per step; 0 = 32 */
    int32_t reserved;
    const st_entropy_opts *kernel;  /* method / tol of the kernel sums; NULL = defaults */
    st_entropy_select_stats *stats; /* if not NULL, filled */
} st_entropy_select_opts;

/* Greedy entropy-maximising selection of frames: step s adds the frame f that maximises H of the
 * union of the rows picked so far and f's rows (lazy greedy, exact unless a step is capped; see
 * select.c).  Frames as in st_entropy_frames (offsets[0] = 0, non-empty, offsets[nframes] = n).
 * Outputs: order[s] = 0-based frame picked at step s (nselect values); H_path[s] (optional) =
 * entropy of the first s+1 picked frames.  nselect in 0..nframes.  Errors: ST_ERR_ARG (shapes,
 * offsets, h <= 0 or not finite, nselect out of range, max_evals < 0), ST_ERR_NUMERIC (a
 * non-finite descriptor; the message names row and column), ST_ERR_NOMEM, ST_ERR_INTERRUPTED.
 * Reports progress "entropy: select frames" (steps). */
ST_API int st_entropy_select_frames(st_ctx *ctx, const double *x, int64_t n, int64_t d, int64_t ldx,
                                    const int64_t *offsets, int64_t nframes, double h,
                                    int64_t nselect, const st_entropy_select_opts *opts,
                                    int64_t *order, double *H_path);

#endif
