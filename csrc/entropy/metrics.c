/* metrics.c -- the public entropy functions: H, D, dH, overlap, per-frame metrics, bandwidth rule.
 *
 * Definitions (QUESTS: Schwalbe-Koda et al., Nat. Commun. 16, 4014 (2025); summarised in
 * ../shared/docs/quests-reference.md), natural logs:
 *   H = ln N - (1/N) sum_i ln p_i,   D = ln sum_i 1/p_i,   dH(y|X) = -ln sum_j K(y, x_j),
 *   overlap = fraction of y with dH(y|X) < eps.
 * Everything is computed from the log kernel sums of engine.c, so dH is finite even for a y far
 * from every x (the reference implementation returns inf there).  Means and sums over environments
 * use Kahan summation (10^7 environments would otherwise lose ~1e-10).
 *
 * Not done here: dataset efficiency 100 H / ln N and the information-gap fit (one line each in
 * the Lua layer), descriptor computation (csrc/desc).
 */
#include "entropy_impl.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct { double s, c; } kahan;
static void kadd(kahan *k, double v)
{
    double y = v - k->c, t = k->s + y;
    k->c = (t - k->s) - y;
    k->s = t;
}

static ent_set mkset(const double *x, int64_t n, int64_t d, int64_t ld, const char *name)
{
    ent_set S = {x, n, d, ld ? ld : d, name};
    return S;
}

static void stats_reset(const st_entropy_opts *opts)
{
    if (opts && opts->stats) memset(opts->stats, 0, sizeof *opts->stats);
}

static st_entropy_stats *stats_of(const st_entropy_opts *opts)
{
    return opts ? opts->stats : NULL;
}

int st_entropy_bandwidth(st_ctx *ctx, double V, double *h_out)
{
    if (!h_out) return st_fail(ctx, ST_ERR_ARG, "st_entropy_bandwidth: h_out is NULL");
    if (!isfinite(V) || V <= 0)
        return st_fail(ctx, ST_ERR_ARG, "st_entropy_bandwidth: volume per atom V = %g A^3 must "
                       "be finite and > 0", V);
    /* QUESTS bandwidth rule (quests-reference.md, "Bandwidth rule") */
    *h_out = 0.0897141 * exp(-0.5 * (V / 10.896) * (V / 10.896)) + 0.0119417;
    return ST_OK;
}

int st_entropy_log_kernel_sums(st_ctx *ctx, const double *x, int64_t n, int64_t dx, int64_t ldx,
                               const double *y, int64_t m, int64_t dy, int64_t ldy,
                               const double *h, int32_t nh, const st_entropy_opts *opts,
                               double *out)
{
    static const char fn[] = "st_entropy_log_kernel_sums";
    stats_reset(opts);
    ent_set X = mkset(x, n, dx, ldx, "X"), Y = mkset(y, m, dy, ldy, "Y");
    if (!y && m != 0)
        return st_fail(ctx, ST_ERR_ARG, "%s: y is NULL but m = %lld (pass m = 0 for X against "
                       "itself)", fn, (long long)m);
    return ent_log_sums(ctx, fn, &X, y ? &Y : NULL, h, nh, opts, stats_of(opts), st_threads(), 0,
                        out);
}

/* H and D from the log sums L[0..n) of one bandwidth. */
static void entropy_from_logs(const double *L, int64_t n, double *H, double *D)
{
    kahan sl = {0, 0}, si = {0, 0};
    for (int64_t i = 0; i < n; i++) {
        kadd(&sl, L[i]);
        kadd(&si, exp(-L[i]));
    }
    *H = log((double)n) - sl.s / (double)n;   /* H = ln N - <ln p_i> */
    *D = log(si.s);                            /* D = ln sum_i 1/p_i */
}

int st_entropy_compute(st_ctx *ctx, const double *x, int64_t n, int64_t d, int64_t ldx,
                       const double *h, int32_t nh, const st_entropy_opts *opts, double *H,
                       double *D)
{
    static const char fn[] = "st_entropy_compute";
    stats_reset(opts);
    ent_set X = mkset(x, n, d, ldx, "X");
    int rc = ent_check_set(ctx, fn, &X, 0);
    if (rc) return rc;
    if ((rc = ent_check_bandwidths(ctx, fn, h, nh))) return rc;
    double *L = st_malloc_array((size_t)n * (size_t)nh, sizeof(double));
    if (!L) return st_fail(ctx, ST_ERR_NOMEM, "%s: cannot allocate %lld x %d sums", fn,
                           (long long)n, nh);
    rc = ent_log_sums(ctx, fn, &X, NULL, h, nh, opts, stats_of(opts), st_threads(), 0, L);
    if (rc == ST_OK)
        for (int k = 0; k < nh; k++) {
            double hk, dk;
            entropy_from_logs(L + (size_t)k * n, n, &hk, &dk);
            if (H) H[k] = hk;
            if (D) D[k] = dk;
        }
    free(L);
    return rc;
}

int st_entropy_delta(st_ctx *ctx, const double *y, int64_t m, int64_t dy, int64_t ldy,
                     const double *x, int64_t n, int64_t dx, int64_t ldx, const double *h,
                     int32_t nh, const st_entropy_opts *opts, double *dH)
{
    static const char fn[] = "st_entropy_delta";
    stats_reset(opts);
    ent_set X = mkset(x, n, dx, ldx, "X"), Y = mkset(y, m, dy, ldy, "Y");
    int rc = ent_log_sums(ctx, fn, &X, &Y, h, nh, opts, stats_of(opts), st_threads(), 0, dH);
    if (rc == ST_OK)
        for (int64_t i = 0; i < (int64_t)nh * m; i++) dH[i] = -dH[i];
    return rc;
}

int st_entropy_overlap(st_ctx *ctx, const double *y, int64_t m, int64_t dy, int64_t ldy,
                       const double *x, int64_t n, int64_t dx, int64_t ldx, const double *h,
                       int32_t nh, const st_entropy_opts *opts, double *overlap)
{
    static const char fn[] = "st_entropy_overlap";
    stats_reset(opts);
    ent_set X = mkset(x, n, dx, ldx, "X"), Y = mkset(y, m, dy, ldy, "Y");
    int rc = ent_check_set(ctx, fn, &Y, 0);
    if (rc) return rc;
    if ((rc = ent_check_bandwidths(ctx, fn, h, nh))) return rc;
    double eps = opts && opts->overlap_eps != 0 ? opts->overlap_eps : 1e-5;
    if (!isfinite(eps))
        return st_fail(ctx, ST_ERR_ARG, "%s: opts.overlap_eps = %g must be finite", fn, eps);
    if (!overlap) return st_fail(ctx, ST_ERR_ARG, "%s: output array is NULL", fn);
    double *L = st_malloc_array((size_t)m * (size_t)nh, sizeof(double));
    if (!L) return st_fail(ctx, ST_ERR_NOMEM, "%s: cannot allocate %lld x %d sums", fn,
                           (long long)m, nh);
    rc = ent_log_sums(ctx, fn, &X, &Y, h, nh, opts, stats_of(opts), st_threads(), 0, L);
    if (rc == ST_OK)
        for (int k = 0; k < nh; k++) {
            int64_t c = 0;
            for (int64_t i = 0; i < m; i++) c += -L[(size_t)k * m + i] < eps;   /* dH < eps */
            overlap[k] = (double)c / (double)m;
        }
    free(L);
    return rc;
}

static void stats_add(st_entropy_stats *to, const st_entropy_stats *s)
{
    to->pairs_total += s->pairs_total;
    to->pairs_computed += s->pairs_computed;
    to->pairs_neglected += s->pairs_neglected;
    to->pairs_approximated += s->pairs_approximated;
    to->pairs_recomputed += s->pairs_recomputed;
    to->seconds += s->seconds;
    to->error_bound = fmax(to->error_bound, s->error_bound);
    to->method_used = s->method_used;
}

/* H and D of each frame on its own.  Many small frames run one per thread (each engine call
 * single-threaded); a few large frames run one after another with all threads. */
static int frames_self(st_ctx *ctx, const char *fn, const ent_set *X, const int64_t *off,
                       int64_t nf, const double *h, int nh, const st_entropy_opts *opts,
                       double *H, double *D)
{
    int64_t maxf = 0;
    for (int64_t f = 0; f < nf; f++)
        if (off[f + 1] - off[f] > maxf) maxf = off[f + 1] - off[f];
    const int T = st_threads();
    const int per_frame = nf >= 2 * (int64_t)T && maxf <= 20000;
    const int team = per_frame ? T : 1;
    st_entropy_stats tot = {0};
    int64_t bad_frame = -1, done = 0;
    int bad_rc = ST_OK;
    #pragma omp parallel num_threads(team)
    {
        st_entropy_stats loc = {0};
        double *L = st_malloc_array((size_t)maxf * (size_t)nh, sizeof(double));
        #pragma omp for schedule(dynamic, 1)
        for (int64_t f = 0; f < nf; f++) {
            int stop;
            #pragma omp atomic read
            stop = bad_rc;
            if (stop) continue;
            int rc = ST_OK;
            ent_set F = *X;
            F.x = X->x + off[f] * X->ld;
            F.n = off[f + 1] - off[f];
            if (!L) rc = ST_ERR_NOMEM;
            else if (st_interrupt_pending()) rc = ST_ERR_INTERRUPTED;
            else rc = ent_log_sums(per_frame ? NULL : ctx, fn, &F, NULL, h, nh, opts, &loc,
                                   per_frame ? 1 : T, 1, L);
            if (rc) {
                #pragma omp critical(ent_frames_err)
                if (!bad_rc || f < bad_frame) { bad_rc = rc; bad_frame = f; }
                continue;
            }
            for (int k = 0; k < nh; k++) {
                double hk, dk;
                entropy_from_logs(L + (size_t)k * F.n, F.n, &hk, &dk);
                if (H) H[(size_t)k * nf + f] = hk;
                if (D) D[(size_t)k * nf + f] = dk;
            }
            int64_t dn;
            #pragma omp atomic capture
            dn = ++done;
#ifdef _OPENMP
            if (omp_get_thread_num() == 0)
#endif
                st_progress(ctx, "entropy: frames", (double)dn, (double)nf);
        }
        free(L);
        #pragma omp critical(ent_frames_stats)
        stats_add(&tot, &loc);
    }
    if (opts && opts->stats) stats_add(opts->stats, &tot);
    if (!bad_rc) st_progress(ctx, "entropy: frames", (double)nf, (double)nf);
    if (bad_rc == ST_ERR_INTERRUPTED)
        return st_fail(ctx, bad_rc, "%s: frame %lld: interrupted", fn, (long long)bad_frame);
    if (bad_rc && per_frame)
        return st_fail(ctx, bad_rc, "%s: frame %lld: %s", fn, (long long)bad_frame,
                       st_status_name(bad_rc));
    return bad_rc;   /* serial frames: the engine set the message */
}

int st_entropy_frames(st_ctx *ctx, const double *x, int64_t n, int64_t d, int64_t ldx,
                      const int64_t *offsets, int64_t nframes, const double *r, int64_t nr,
                      int64_t dr, int64_t ldr, const double *h, int32_t nh,
                      const st_entropy_opts *opts, double *H, double *D, double *mean_dH)
{
    static const char fn[] = "st_entropy_frames";
    stats_reset(opts);
    ent_set X = mkset(x, n, d, ldx, "X"), R = mkset(r, nr, dr, ldr, "R");
    int rc = ent_check_set(ctx, fn, &X, 0);
    if (rc) return rc;
    if ((rc = ent_check_bandwidths(ctx, fn, h, nh))) return rc;
    if (!offsets || nframes <= 0)
        return st_fail(ctx, ST_ERR_ARG, "%s: need frame offsets (offsets = %p, nframes = %lld)",
                       fn, (const void *)offsets, (long long)nframes);
    if (offsets[0] != 0)
        return st_fail(ctx, ST_ERR_ARG, "%s: offsets[0] = %lld (must be 0)", fn,
                       (long long)offsets[0]);
    for (int64_t f = 0; f < nframes; f++)
        if (offsets[f + 1] <= offsets[f])
            return st_fail(ctx, ST_ERR_ARG, "%s: frame %lld is empty or reversed (offsets[%lld] "
                           "= %lld, offsets[%lld] = %lld)", fn, (long long)f, (long long)f,
                           (long long)offsets[f], (long long)(f + 1), (long long)offsets[f + 1]);
    if (offsets[nframes] != n)
        return st_fail(ctx, ST_ERR_ARG, "%s: offsets[%lld] = %lld but X has %lld rows", fn,
                       (long long)nframes, (long long)offsets[nframes], (long long)n);
    if (mean_dH) {
        if ((rc = ent_check_set(ctx, fn, &R, 0))) return rc;
        if (R.d != X.d)
            return st_fail(ctx, ST_ERR_ARG, "%s: R has %lld columns but X has %lld", fn,
                           (long long)R.d, (long long)X.d);
    }
    if ((rc = ent_check_finite(ctx, fn, &X, st_threads()))) return rc;
    if (mean_dH && (rc = ent_check_finite(ctx, fn, &R, st_threads()))) return rc;
    if (opts && !(opts->tol >= 0 && opts->tol < 1))
        return st_fail(ctx, ST_ERR_ARG, "%s: opts.tol = %g must be in [0, 1)", fn, opts->tol);
    if (opts && opts->leaf_size < 0)
        return st_fail(ctx, ST_ERR_ARG, "%s: opts.leaf_size = %d must be >= 0", fn,
                       opts->leaf_size);
    if (opts && (opts->method < ST_ENTROPY_AUTO || opts->method > ST_ENTROPY_FAST))
        return st_fail(ctx, ST_ERR_ARG, "%s: opts.method = %d is not a st_entropy_method", fn,
                       opts->method);

    if (H || D) {
        rc = frames_self(ctx, fn, &X, offsets, nframes, h, nh, opts, H, D);
        if (rc) return rc;
    }
    if (mean_dH) {
        double *L = st_malloc_array((size_t)n * (size_t)nh, sizeof(double));
        if (!L) return st_fail(ctx, ST_ERR_NOMEM, "%s: cannot allocate %lld x %d sums", fn,
                               (long long)n, nh);
        st_entropy_stats loc = {0};
        rc = ent_log_sums(ctx, fn, &R, &X, h, nh, opts, &loc, st_threads(), 1, L);
        if (opts && opts->stats) stats_add(opts->stats, &loc);
        if (rc == ST_OK)
            for (int k = 0; k < nh; k++)
                for (int64_t f = 0; f < nframes; f++) {
                    kahan s = {0, 0};
                    for (int64_t i = offsets[f]; i < offsets[f + 1]; i++)
                        kadd(&s, -L[(size_t)k * n + i]);
                    mean_dH[(size_t)k * nframes + f] = s.s / (double)(offsets[f + 1] - offsets[f]);
                }
        free(L);
    }
    return rc;
}
