/* engine.c -- argument checks and dispatch for the kernel-sum engine.
 *
 * Every public entropy function reduces to L_k(i) = ln sum_j K_k(q_i, x_j) (queries = X itself or
 * a second set Y).  This file validates the inputs (shapes, strides, bandwidths, finiteness),
 * converts bandwidths to a_k = 1/(2 h_k^2) sorted ascending (the tile kernel stops at the first
 * bandwidth for which a vector underflows), centres on the mean of X, picks a method and runs it.
 *
 * AUTO picks DENSE up to 4e6 pairs (tree building and traversal do not pay below that) and PRUNED
 * above.  Not done here: any metric (metrics.c).
 */
#include "entropy_impl.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int ent_check_set(st_ctx *ctx, const char *fn, const ent_set *S, int allow_empty)
{
    if (S->n < 0)
        return st_fail(ctx, ST_ERR_ARG, "%s: %s has %lld rows (must be >= 0)", fn, S->name,
                       (long long)S->n);
    if (S->n == 0 && !allow_empty)
        return st_fail(ctx, ST_ERR_ARG, "%s: %s is empty (0 rows)", fn, S->name);
    if (S->n > 0 && !S->x)
        return st_fail(ctx, ST_ERR_ARG, "%s: %s is NULL but has %lld rows", fn, S->name,
                       (long long)S->n);
    if (S->d <= 0 || S->d > (1 << 24))
        return st_fail(ctx, ST_ERR_ARG, "%s: %s has %lld columns (must be 1..%d)", fn, S->name,
                       (long long)S->d, 1 << 24);
    if (S->ld < S->d)
        return st_fail(ctx, ST_ERR_ARG, "%s: %s row stride %lld is smaller than its %lld columns",
                       fn, S->name, (long long)S->ld, (long long)S->d);
    return ST_OK;
}

int ent_check_bandwidths(st_ctx *ctx, const char *fn, const double *h, int nh)
{
    if (nh <= 0 || !h)
        return st_fail(ctx, ST_ERR_ARG, "%s: need at least one bandwidth (h = %p, nh = %d)", fn,
                       (const void *)h, nh);
    for (int k = 0; k < nh; k++) {
        if (!isfinite(h[k]) || h[k] <= 0)
            return st_fail(ctx, ST_ERR_ARG, "%s: h[%d] = %g: bandwidth must be finite and > 0",
                           fn, k, h[k]);
        if (!isfinite(1.0 / (2.0 * h[k] * h[k])))
            return st_fail(ctx, ST_ERR_ARG, "%s: h[%d] = %g: bandwidth too small (1/(2h^2) "
                           "overflows)", fn, k, h[k]);
    }
    return ST_OK;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int ent_log_sums(st_ctx *ctx, const char *fn, const ent_set *X, const ent_set *Y,
                 const double *h, int nh, const st_entropy_opts *opts, st_entropy_stats *stats,
                 int nthreads, int checked, double *out)
{
    static const st_entropy_opts defaults;
    if (!opts) opts = &defaults;
    int rc;
    if (!checked) {
        if ((rc = ent_check_set(ctx, fn, X, 0))) return rc;
        if (Y && (rc = ent_check_set(ctx, fn, Y, 1))) return rc;
        if (Y && Y->d != X->d)
            return st_fail(ctx, ST_ERR_ARG, "%s: %s has %lld columns but %s has %lld", fn,
                           Y->name, (long long)Y->d, X->name, (long long)X->d);
        if ((rc = ent_check_bandwidths(ctx, fn, h, nh))) return rc;
        if (opts->method < ST_ENTROPY_AUTO || opts->method > ST_ENTROPY_FAST)
            return st_fail(ctx, ST_ERR_ARG, "%s: opts.method = %d is not a st_entropy_method", fn,
                           opts->method);
        if (!(opts->tol >= 0 && opts->tol < 1))
            return st_fail(ctx, ST_ERR_ARG, "%s: opts.tol = %g must be in [0, 1)", fn, opts->tol);
        if (opts->leaf_size < 0)
            return st_fail(ctx, ST_ERR_ARG, "%s: opts.leaf_size = %d must be >= 0", fn,
                           opts->leaf_size);
        if (!out) return st_fail(ctx, ST_ERR_ARG, "%s: output array is NULL", fn);
        if ((rc = ent_check_finite(ctx, fn, X, nthreads))) return rc;
        if (Y && (rc = ent_check_finite(ctx, fn, Y, nthreads))) return rc;
    }
    if (Y && Y->n == 0) return ST_OK;
    double t0 = now();

    double *a = malloc((size_t)nh * sizeof(double));
    int *order = malloc((size_t)nh * sizeof(int));
    double *mu = malloc((size_t)X->d * sizeof(double));
    if (!a || !order || !mu) {
        free(a); free(order); free(mu);
        return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", fn);
    }
    for (int k = 0; k < nh; k++) order[k] = k;
    for (int k = 1; k < nh; k++) {   /* insertion sort by a ascending = h descending */
        int o = order[k], j = k;
        while (j > 0 && h[order[j - 1]] < h[o]) { order[j] = order[j - 1]; j--; }
        order[j] = o;
    }
    for (int k = 0; k < nh; k++) a[k] = 1.0 / (2.0 * h[order[k]] * h[order[k]]);
    ent_mean(X, mu, nthreads);

    double pairs = Y ? (double)X->n * (double)Y->n : 0.5 * (double)X->n * ((double)X->n + 1);
    int method = opts->method;
    if (method == ST_ENTROPY_AUTO) method = pairs <= 4e6 ? ST_ENTROPY_DENSE : ST_ENTROPY_PRUNED;
    if (method == ST_ENTROPY_FAST && !ENT_HAVE_F32) method = ST_ENTROPY_APPROX;  /* no SIMD */
    /* leaves are whole panels (two for the float32 panels of FAST) */
    const int align = method == ST_ENTROPY_FAST ? ENT_NR32 : ENT_NR;
    int leaf = opts->leaf_size ? opts->leaf_size : 4 * ENT_NR;
    leaf = (leaf + align - 1) / align * align;
    if (leaf < 2 * align) leaf = 2 * align;
    double tol = opts->tol > 0 ? opts->tol
               : method == ST_ENTROPY_APPROX || method == ST_ENTROPY_FAST ? 1e-6 : 1e-14;
    if (method == ST_ENTROPY_DENSE) tol = 1e-16;   /* only rounding-level terms skipped */

    ent_job J = {X, Y, mu, nh, a, order, method, tol, leaf, nthreads > 0 ? nthreads : 1, fn,
                 {0, 0, 0, 0}, 0};
    rc = method == ST_ENTROPY_DENSE ? ent_run_dense(ctx, &J, out) : ent_run_pruned(ctx, &J, out);
    if (stats) {
        /* |error of ln S| <= -ln(1 - tol) (skipped/estimated terms) + rounding of the terms */
        stats->error_bound = fmax(stats->error_bound, -log1p(-tol) + J.rounding_bound);
        stats->pairs_total += pairs;
        stats->pairs_computed += J.counts.computed;
        stats->pairs_neglected += J.counts.neglected;
        stats->pairs_approximated += J.counts.approximated;
        stats->pairs_recomputed += J.counts.recomputed;
        stats->seconds += now() - t0;
        stats->method_used = method;
    }
    free(a);
    free(order);
    free(mu);
    return rc;
}
