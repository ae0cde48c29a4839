/* compare.c -- distances between AMD vectors: L-infinity (the study's choice), L1, L2; single
 * pairs, all pairs of one collection and the cross matrix of two, threaded with OpenMP.
 *
 * AMD_j is Lipschitz in the atom positions (Widdowson & Kurlin, MATCH 2022: perturbing every point
 * by <= e changes each AMD_j by <= 2e), so L-inf is the natural norm; L1/L2 sum over k and grow
 * with it.  These kernels are memory-bound and cheap (n^2 k / 2 flops); they poll the interrupt
 * flag once per row.
 *
 * Not done here: computing the AMDs (invariants.c) or PDD distances (emd.c).
 */
#include "../core/internal.h"
#include <math.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static double amd_dist(int64_t k, const double *a, const double *b, int metric)
{
    double s = 0;
    if (metric == ST_CRYSTAL_LINF) {
#pragma omp simd reduction(max : s)
        for (int64_t j = 0; j < k; j++) {
            double t = fabs(a[j] - b[j]);
            s = t > s ? t : s;
        }
        return s;
    }
    if (metric == ST_CRYSTAL_L1) {
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < k; j++) s += fabs(a[j] - b[j]);
        return s;
    }
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < k; j++) s += (a[j] - b[j]) * (a[j] - b[j]);
    return sqrt(s);
}

static int check_args(st_ctx *ctx, const char *where, int64_t k, int metric)
{
    if (k < 1) return st_fail(ctx, ST_ERR_ARG, "%s: k = %lld must be >= 1", where, (long long)k);
    if (metric != ST_CRYSTAL_LINF && metric != ST_CRYSTAL_L1 && metric != ST_CRYSTAL_L2)
        return st_fail(ctx, ST_ERR_ARG, "%s: metric = %d: expected ST_CRYSTAL_LINF (0), L1 (1) or "
                       "L2 (2)", where, metric);
    return ST_OK;
}

int st_crystal_amd_distance(st_ctx *ctx, int64_t k, const double *a, const double *b, int metric,
                            double *out)
{
    int rc = check_args(ctx, "crystal_amd_distance", k, metric);
    if (rc) return rc;
    if (!a || !b || !out)
        return st_fail(ctx, ST_ERR_ARG, "crystal_amd_distance: a, b and out must not be NULL");
    *out = amd_dist(k, a, b, metric);
    return ST_OK;
}

/* Shared driver: sym = 1 fills the symmetric n x n matrix from the upper triangle. */
static int amd_pairs(st_ctx *ctx, const char *where, int64_t na, const double *a, int64_t nb,
                     const double *b, int64_t k, int metric, int sym, double *out)
{
    int rc = check_args(ctx, where, k, metric);
    if (rc) return rc;
    if (na < 0 || nb < 0)
        return st_fail(ctx, ST_ERR_ARG, "%s: negative collection size", where);
    if (!out || (na && !a) || (nb && !b))
        return st_fail(ctx, ST_ERR_ARG, "%s: NULL array", where);
    int stop = 0;
    int64_t done = 0;
#pragma omp parallel num_threads(na * nb * k > 100000 ? st_threads() : 1)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
#pragma omp for schedule(dynamic, 8)
        for (int64_t i = 0; i < na; i++) {
            int s;
#pragma omp atomic read
            s = stop;
            if (s) continue;
            if (st_interrupt_pending()) {
#pragma omp atomic write
                stop = 1;
                continue;
            }
            if (sym) {
                out[i * na + i] = 0;
                for (int64_t j = i + 1; j < na; j++)
                    out[i * na + j] = out[j * na + i] = amd_dist(k, a + i * k, a + j * k, metric);
            } else {
                for (int64_t j = 0; j < nb; j++)
                    out[i * nb + j] = amd_dist(k, a + i * k, b + j * k, metric);
            }
            int64_t d;
#pragma omp atomic capture
            d = ++done;
            if (tid == 0 && na >= 256 && d % 64 == 0) st_progress(ctx, where, (double)d, (double)na);
        }
    }
    if (stop) return st_fail(ctx, ST_ERR_INTERRUPTED, "%s: interrupted", where);
    if (na >= 256) st_progress(ctx, where, (double)na, (double)na);
    return ST_OK;
}

int st_crystal_amd_matrix(st_ctx *ctx, int64_t n, int64_t k, const double *amds, int metric,
                          double *out)
{
    return amd_pairs(ctx, "crystal_amd_matrix", n, amds, n, amds, k, metric, 1, out);
}

int st_crystal_amd_cross(st_ctx *ctx, int64_t na, const double *amds_a, int64_t nb,
                         const double *amds_b, int64_t k, int metric, double *out)
{
    return amd_pairs(ctx, "crystal_amd_cross", na, amds_a, nb, amds_b, k, metric, 0, out);
}
