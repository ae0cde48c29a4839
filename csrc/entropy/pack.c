/* pack.c -- check, centre and pack descriptor matrices for the distance micro-kernel.
 *
 * Squared distances are formed as |a|^2 + |b|^2 - 2 a.b (tile.c).  The rounding error of that
 * form grows with the norms, not with the distance, so rows are first centred on the mean of the
 * reference set: distances are translation invariant, and the norms of centred descriptors are
 * 10-100x smaller than the raw ones (QUESTS descriptors share a large common part).  Packing also
 * lays rows out in panels of ENT_NR rows stored column-major ([d][ENT_NR]), so the micro-kernel
 * loads ENT_NR/ENT_VL contiguous vectors per descriptor component, and pads the last panel with
 * zero rows whose squared norm is +inf (their kernel values are exactly 0).
 *
 * Not done here: no reordering heuristics (the caller passes a permutation, e.g. tree order), no
 * float32 copies.
 */
#include "entropy_impl.h"
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void *ent_aligned_alloc(size_t count, size_t size)
{
    if (size && count > ((size_t)1 << 46) / size) return NULL;
    size_t bytes = count * size;
    bytes = (bytes + 63) & ~(size_t)63;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 64)) return NULL;
    return p;
}

int ent_check_finite(st_ctx *ctx, const char *fn, const ent_set *S, int nthreads)
{
    int64_t bad = INT64_MAX;
    int64_t n = S->n, d = S->d, ld = S->ld;
    const double *x = S->x;
    #pragma omp parallel for num_threads(nthreads) schedule(static) reduction(min: bad)
    for (int64_t i = 0; i < n; i++) {
        const double *r = x + i * ld;
        int ok = 1;
        for (int64_t k = 0; k < d; k++) ok &= isfinite(r[k]) ? 1 : 0;
        if (!ok && i < bad) bad = i;
    }
    if (bad == INT64_MAX) return ST_OK;
    const double *r = x + bad * ld;
    int64_t k = 0;
    while (k < d && isfinite(r[k])) k++;
    return st_fail(ctx, ST_ERR_NUMERIC, "%s: %s row %lld, column %lld: descriptor value is %g "
                   "(must be finite)", fn, S->name, (long long)bad, (long long)k, r[k]);
}

/* Column means with a fixed chunking, so the result does not depend on the thread count. */
void ent_mean(const ent_set *S, double *mu, int nthreads)
{
    const int64_t CH = 4096;
    int64_t n = S->n, d = S->d, nch = (n + CH - 1) / CH;
    double *part = calloc((size_t)(nch > 0 ? nch : 1) * (size_t)d, sizeof(double));
    if (!part) { /* fall back to a serial sum: still correct, only slower */
        for (int64_t k = 0; k < d; k++) {
            double s = 0;
            for (int64_t i = 0; i < n; i++) s += S->x[i * S->ld + k];
            mu[k] = n ? s / (double)n : 0.0;
        }
        return;
    }
    #pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int64_t c = 0; c < nch; c++) {
        double *p = part + c * d;
        int64_t e = (c + 1) * CH < n ? (c + 1) * CH : n;
        for (int64_t i = c * CH; i < e; i++) {
            const double *r = S->x + i * S->ld;
            for (int64_t k = 0; k < d; k++) p[k] += r[k];
        }
    }
    for (int64_t k = 0; k < d; k++) {
        double s = 0, comp = 0;     /* Kahan over the chunk sums */
        for (int64_t c = 0; c < nch; c++) {
            double y = part[c * d + k] - comp, t = s + y;
            comp = (t - s) - y;
            s = t;
        }
        mu[k] = n ? s / (double)n : 0.0;
    }
    free(part);
}

int ent_pack_rows(st_ctx *ctx, const char *fn, const ent_set *S, const double *mu,
                  const int64_t *perm, int nthreads, ent_pack *out)
{
    memset(out, 0, sizeof *out);
    int64_t n = S->n, d = S->d, npad = (n + ENT_NR - 1) / ENT_NR * ENT_NR;
    if (npad == 0) npad = ENT_NR;
    out->n = n; out->npad = npad; out->d = d;
    out->p = ent_aligned_alloc((size_t)npad * (size_t)d, sizeof(double));
    out->nrm = ent_aligned_alloc((size_t)npad, sizeof(double));
    out->pmax = malloc((size_t)(npad / ENT_NR) * sizeof(double));
    if (!out->p || !out->nrm || !out->pmax) {
        ent_pack_free(out);
        return st_fail(ctx, ST_ERR_NOMEM, "%s: cannot allocate the packed copy of %s "
                       "(%lld x %lld doubles)", fn, S->name, (long long)npad, (long long)d);
    }
    int64_t npan = npad / ENT_NR, bad = INT64_MAX;
    double mx = 0;
    #pragma omp parallel for num_threads(nthreads) schedule(static) reduction(max: mx) \
        reduction(min: bad)
    for (int64_t P = 0; P < npan; P++) {
        double *pan = out->p + P * ENT_NR * d, pm = 0;
        for (int r = 0; r < ENT_NR; r++) {
            int64_t row = P * ENT_NR + r;
            if (row >= n) {
                for (int64_t k = 0; k < d; k++) pan[k * ENT_NR + r] = 0.0;
                out->nrm[row] = INFINITY;
                continue;
            }
            const double *src = S->x + (perm ? perm[row] : row) * S->ld;
            double nr = 0;
            for (int64_t k = 0; k < d; k++) {
                double v = src[k] - mu[k];
                pan[k * ENT_NR + r] = v;
                nr = fma(v, v, nr);   /* same error model as the micro-kernel's dot product */
            }
            out->nrm[row] = nr;
            if (!isfinite(nr)) { if (row < bad) bad = row; }
            else if (nr > pm) pm = nr;
        }
        out->pmax[P] = pm;
        if (pm > mx) mx = pm;
    }
    out->nrm_max = mx;
    if (bad != INT64_MAX) {
        int64_t orig = perm ? perm[bad] : bad;
        ent_pack_free(out);
        return st_fail(ctx, ST_ERR_NUMERIC, "%s: %s row %lld: squared norm overflows (descriptor "
                       "values too large)", fn, S->name, (long long)orig);
    }
    return ST_OK;
}

void ent_pack_free(ent_pack *P)
{
    if (!P) return;
    free(P->p);
    free(P->nrm);
    free(P->pmax);
    P->p = NULL;
    P->nrm = NULL;
    P->pmax = NULL;
}

/* The float32 copy: the same centring, panels of ENT_NR32 rows.  Norms are summed in double from
 * the rounded float rows, then rounded (their error is inside ENT_CERR32). */
int ent_pack32_rows(st_ctx *ctx, const char *fn, const ent_set *S, const double *mu,
                    const int64_t *perm, int nthreads, ent_pack32 *out)
{
    memset(out, 0, sizeof *out);
    int64_t n = S->n, d = S->d, npad = (n + ENT_NR32 - 1) / ENT_NR32 * ENT_NR32;
    if (npad == 0) npad = ENT_NR32;
    out->n = n; out->npad = npad; out->d = d;
    out->p = ent_aligned_alloc((size_t)npad * (size_t)d, sizeof(float));
    out->nrm = ent_aligned_alloc((size_t)npad, sizeof(float));
    if (!out->p || !out->nrm) {
        ent_pack32_free(out);
        return st_fail(ctx, ST_ERR_NOMEM, "%s: cannot allocate the float32 copy of %s "
                       "(%lld x %lld floats)", fn, S->name, (long long)npad, (long long)d);
    }
    int64_t npan = npad / ENT_NR32, bad = INT64_MAX;
    double mx = 0;
    #pragma omp parallel for num_threads(nthreads) schedule(static) reduction(max: mx) \
        reduction(min: bad)
    for (int64_t P = 0; P < npan; P++) {
        float *pan = out->p + P * ENT_NR32 * d;
        for (int r = 0; r < ENT_NR32; r++) {
            int64_t row = P * ENT_NR32 + r;
            if (row >= n) {
                for (int64_t k = 0; k < d; k++) pan[k * ENT_NR32 + r] = 0.0f;
                out->nrm[row] = INFINITY;
                continue;
            }
            const double *src = S->x + (perm ? perm[row] : row) * S->ld;
            double nr = 0;
            for (int64_t k = 0; k < d; k++) {
                float v = (float)(src[k] - mu[k]);
                pan[k * ENT_NR32 + r] = v;
                nr += (double)v * v;
            }
            out->nrm[row] = (float)nr;
            if (!isfinite((float)nr)) { if (row < bad) bad = row; }
            else if (nr > mx) mx = nr;
        }
    }
    out->nrm_max = mx;
    if (bad != INT64_MAX) {
        int64_t orig = perm ? perm[bad] : bad;
        ent_pack32_free(out);
        return st_fail(ctx, ST_ERR_NUMERIC, "%s: %s row %lld: squared norm overflows float32 "
                       "(descriptor values too large for ST_ENTROPY_FAST)", fn, S->name,
                       (long long)orig);
    }
    return ST_OK;
}

void ent_pack32_free(ent_pack32 *P)
{
    if (!P) return;
    free(P->p);
    free(P->nrm);
    P->p = NULL;
    P->nrm = NULL;
}

/* Which pairs are recomputed from exact differences.  With u = 2^-53, FMA dot products of length
 * d satisfy |fl(a.b) - a.b| <= gamma_d |a||b| and |fl(|a|^2) - |a|^2| <= gamma_d |a|^2 (Higham,
 * Accuracy and Stability of Numerical Algorithms, 2nd ed., eq. 3.5), so the expanded squared
 * distance is off by at most ds = 2 gamma_{d+2} (|a|^2 + |b|^2) <= 2 (d+3) u (|a|^2 + |b|^2).
 * A term exp(-a s) then has absolute error <= a ds exp(-a (s - ds)).  We recompute the pairs where
 * that could exceed ENT_TERM_TAU: s - ds < ln(a ds / tau) / a.  thr[i] is that bound for query i
 * against the largest reference norm (relative to the query's shift, see tile.c); -inf means the
 * expanded form is always good enough.  tile.c refines it with each panel's largest norm. */
double ent_cerr(int64_t d)
{
    return 2.0 * (double)(d + 3) * (DBL_EPSILON / 2) * (1 + 1e-6);
}

void ent_thresholds(const ent_pack *Q, double ref_nrm_max, double a_max, double *thr)
{
    const double C = ent_cerr(Q->d);
    for (int64_t i = 0; i < Q->npad; i++) {
        if (i >= Q->n) { thr[i] = -INFINITY; continue; }
        double ds = C * (Q->nrm[i] + ref_nrm_max);
        double e = a_max * ds;
        thr[i] = e > ENT_TERM_TAU ? ds + log(e / ENT_TERM_TAU) / a_max : -INFINITY;
    }
}
