/* entropy_impl.h -- private declarations shared by the files of csrc/entropy (not public API).
 *
 * The engine computes L_k(i) = ln sum_j K_k(q_i, x_j) for queries q (a second set Y, or X itself)
 * against references X, for several bandwidths at once.  Pieces:
 *   pack.c    centring, finiteness check, SIMD panel layout of a descriptor matrix
 *   tile.c    the register-blocked distance micro-kernel with the fused exponential
 *   dense.c   all pairs, cache-blocked tiles (symmetric when the queries are X itself)
 *   tree.c    ball tree in descriptor space
 *   pruned.c  leaf-against-tree traversal with provable skipping (and APPROX estimates)
 *   engine.c  argument checks, bandwidth sorting, method choice, dispatch
 *   metrics.c the public functions (H, D, dH, overlap, frames, bandwidth rule)
 */
#ifndef STRATA_ENTROPY_IMPL_H
#define STRATA_ENTROPY_IMPL_H
#include "../core/internal.h"
#include <stdint.h>

/* SIMD geometry.  A panel holds ENT_NR consecutive rows stored column-major ([d][ENT_NR]); the
 * micro-kernel multiplies ENT_MR query rows (broadcast) by one panel (ENT_NR/ENT_VL vectors). */
#if defined(__AVX512F__)
#define ENT_VL 8
#define ENT_NRV 3
#define ENT_MR 8
#elif defined(__AVX2__) && defined(__FMA__)
#define ENT_VL 4
#define ENT_NRV 3
#define ENT_MR 4
#else
#define ENT_VL 1
#define ENT_NRV 4
#define ENT_MR 4
#endif
#define ENT_NR (ENT_VL * ENT_NRV)
/* float32 panels (tile32.c, ST_ENTROPY_FAST): twice the lanes, twice the rows per panel. */
#define ENT_NR32 (2 * ENT_NR)
#define ENT_HAVE_F32 (ENT_VL > 1)

/* exp(x) underflows to 0 below this (the subnormal range is flushed: such terms are < 1e-307 of
 * the largest term of their sum). */
#define ENT_EXP_MIN (-708.0)
/* A query's running shift is lowered only when it lags the nearest distance by more than this
 * many e-folds for the sharpest bandwidth, so shifted terms stay below e^600 (no overflow). */
#define ENT_SHIFT_SLACK 600.0
/* Per-term rounding target used to decide which pairs are recomputed from exact differences:
 * a term whose expanded-form error could exceed this (in units where its sum is >= 1) is
 * recomputed. */
#define ENT_TERM_TAU 1e-13

/* A borrowed descriptor matrix. */
typedef struct ent_set {
    const double *x;
    int64_t n, d, ld;
    const char *name;          /* "X", "Y", "R": used in messages */
} ent_set;

/* A packed (centred, panel-layout) copy of a set, optionally in a permuted row order. */
typedef struct ent_pack {
    double *p;                 /* npad/ENT_NR panels of [d][ENT_NR]; 64-byte aligned */
    double *nrm;               /* [npad] squared norms of the centred rows; +inf for padding */
    double *pmax;              /* [npad/ENT_NR] largest real squared norm in each panel */
    int64_t n, npad, d;
    double nrm_max;            /* max over real rows */
} ent_pack;

/* The float32 copy used by ST_ENTROPY_FAST: panels of ENT_NR32 rows, no panel maxima. */
typedef struct ent_pack32 {
    float *p;                  /* npad/ENT_NR32 panels of [d][ENT_NR32] */
    float *nrm;                /* [npad] squared norms (of the float32 rows); +inf for padding */
    int64_t n, npad, d;
    double nrm_max;
} ent_pack32;

/* Constants of one tile computation. */
typedef struct ent_tp {
    int d, nb;
    const double *a;           /* [nb] 1/(2h^2), ascending */
    double a_max;
    int shift;                 /* 1: per-query running shift (cross sums); 0: self sums */
    double xskip;              /* terms exp(x), x < xskip (= ln(tol/N) < 0), are skipped */
    double cerr;               /* 2 (d+3) u: expanded-distance error per unit of squared norm */
} ent_tp;

/* Work counters (per thread, summed by the drivers). */
typedef struct ent_counts {
    double computed, neglected, approximated, recomputed;
} ent_counts;

/* One engine job (engine.c fills it; dense.c and pruned.c run it). */
typedef struct ent_job {
    const ent_set *X;          /* references */
    const ent_set *Y;          /* queries, or NULL for X against itself */
    const double *mu;          /* [d] centre used for packing (mean of X) */
    int nb;
    const double *a;           /* [nb] ascending */
    const int *order;          /* sorted index -> user bandwidth index */
    int method;                /* ST_ENTROPY_DENSE / _PRUNED / _APPROX / _FAST */
    double tol;                /* relative error bound of each sum (PRUNED/APPROX) */
    int leaf;                  /* tree leaf size, a multiple of ENT_NR, >= 2*ENT_NR */
    int nthreads;
    const char *fn;            /* public function name for messages */
    ent_counts counts;         /* filled by the driver */
    double rounding_bound;     /* filled by the driver: max relative error of a term (rounding) */
} ent_job;

/* pack.c */
ST_HIDDEN void *ent_aligned_alloc(size_t count, size_t size);   /* 64-byte aligned; free() it */
ST_HIDDEN int ent_check_finite(st_ctx *ctx, const char *fn, const ent_set *S, int nthreads);
ST_HIDDEN void ent_mean(const ent_set *S, double *mu, int nthreads);
ST_HIDDEN int ent_pack_rows(st_ctx *ctx, const char *fn, const ent_set *S, const double *mu,
                            const int64_t *perm, int nthreads, ent_pack *out);
ST_HIDDEN void ent_pack_free(ent_pack *P);
ST_HIDDEN int ent_pack32_rows(st_ctx *ctx, const char *fn, const ent_set *S, const double *mu,
                              const int64_t *perm, int nthreads, ent_pack32 *out);
ST_HIDDEN void ent_pack32_free(ent_pack32 *P);
/* Recompute thresholds (see tile.c): thr[i] for each packed query row. */
ST_HIDDEN void ent_thresholds(const ent_pack *Q, double ref_nrm_max, double a_max, double *thr);

/* tile.c.  Queries: Qp (first panel), qn, qthr, mq rows; refs: Rp, rn, rpmax (panel maxima),
 * nr rows.  diag: Q and R
 * are the same rows, only pairs j > i are taken.  racc: [mq_pad][nb][ENT_VL] running lane sums
 * (shifted by m[i] when tp->shift); cacc: NULL or [nb][nr_pad] column sums (added to). */
ST_HIDDEN void ent_tile(const ent_tp *tp, const double *Qp, const double *qn, const double *qthr,
                        int mq, const double *Rp, const double *rn, const double *rpmax, int nr,
                        int diag, double *racc, double *m, double *cacc, ent_counts *cnt);
ST_HIDDEN double ent_cerr(int64_t d);   /* 2 (d+3) u, see pack.c */
/* tile32.c (only when ENT_HAVE_F32): the float32 tile; no recomputation, no counters. */
ST_HIDDEN void ent_tile32(const ent_tp *tp, const float *Qp, const float *qn, int mq,
                          const float *Rp, const float *rn, int nr, int diag, double *racc,
                          double *m, double *cacc);
ST_HIDDEN void ent_exp32_array(const float *x, float *y, int64_t n);
/* Relative error bound of one float32 term per unit of a * (|q|^2 + |r|^2): 2 (d+8) u32. */
#define ENT_CERR32(d) (2.0 * (double)((d) + 8) * 0x1.0p-24)
#define ENT_EXP32_REL (6 * 0x1.0p-24)
ST_HIDDEN void ent_exp_array(const double *x, double *y, int64_t n); /* the same exp, for tests */
/* Sum of one query's ENT_VL lane partials (fixed order). */
ST_HIDDEN double ent_lane_sum(const double *lanes);

/* dense.c / pruned.c: out[order[k]*count + i] = ln sum for query i (original order). */
ST_HIDDEN int ent_run_dense(st_ctx *ctx, ent_job *J, double *out);
ST_HIDDEN int ent_run_pruned(st_ctx *ctx, ent_job *J, double *out);

/* tree.c: ball tree over the rows of S, in S's own coordinates. */
typedef struct ent_tree {
    int64_t nnodes, nleaves, n;
    int d;
    int64_t *lo, *hi;          /* row range in tree order */
    int64_t *left, *right;     /* children, -1 for a leaf */
    double *centre;            /* [nnodes][d] centroid of the node's rows */
    double *radius;            /* [nnodes] max distance centroid -> row (rounded up) */
    int64_t *perm;             /* [n] tree order -> original row */
    int64_t *leaves;           /* [nleaves] leaf node ids in increasing lo */
} ent_tree;
ST_HIDDEN int ent_tree_build(st_ctx *ctx, const char *fn, const ent_set *S, int leaf, int align,
                             int nthreads, ent_tree *T);
ST_HIDDEN void ent_tree_free(ent_tree *T);

/* engine.c */
ST_HIDDEN int ent_log_sums(st_ctx *ctx, const char *fn, const ent_set *X, const ent_set *Y,
                           const double *h, int nh, const st_entropy_opts *opts,
                           st_entropy_stats *stats, int nthreads, int checked, double *out);
ST_HIDDEN int ent_check_set(st_ctx *ctx, const char *fn, const ent_set *S, int allow_empty);
ST_HIDDEN int ent_check_bandwidths(st_ctx *ctx, const char *fn, const double *h, int nh);

#endif
