/* embed.c -- low-dimensional maps of a distance matrix: classical MDS and exact t-SNE.
 *
 * Classical (Torgerson) MDS: B = -1/2 J D^(2) J with J = I - 11^T / n (double centring); if D is
 * Euclidean, B is the Gram matrix of the centred points and X = V_k Lambda_k^(1/2) recovers them up
 * to an isometry (Torgerson, Psychometrika 17, 401 (1952); Borg & Groenen, Modern MDS, 2nd ed.,
 * ch. 12).  The top eigenpairs come from LAPACK dsyevr (OpenBLAS), range "I".
 * t-SNE (van der Maaten & Hinton, JMLR 9, 2579 (2008)): conditional affinities p_j|i with a
 * Gaussian kernel on the given distances whose width matches the perplexity by bisection on
 * beta = 1/(2 sigma^2) (eq. 1 and sec. 2), symmetrised p_ij = (p_j|i + p_i|j) / (2n); Student-t
 * q_ij (eq. 4); gradient 4 sum_j (p_ij - q_ij)(y_i - y_j)(1 + |y_i - y_j|^2)^-1 (eq. 5); gradient
 * descent with momentum 0.5 then 0.8, early exaggeration, and per-coordinate gains (+0.2 when the
 * sign flips, x0.8 otherwise, floor 0.01; sec. 3.4 and van der Maaten's reference code).
 * Deterministic: a fixed seed gives the same map on any thread count (each row's gradient is
 * summed in a fixed order).
 *
 * Does not: Barnes-Hut or other approximations (O(n^2) per iteration is fine for a few thousand
 * points), metric MDS by stress majorisation, or out-of-sample extension.
 */
#include "ml_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* LAPACK (Fortran interface, from OpenBLAS).  The trailing arguments are the hidden lengths of
 * the three character arguments (gfortran convention). */
extern void dsyevr_(const char *jobz, const char *range, const char *uplo, const int *n, double *a,
                    const int *lda, const double *vl, const double *vu, const int *il, const int *iu,
                    const double *abstol, int *m, double *w, double *z, const int *ldz, int *isuppz,
                    double *work, const int *lwork, int *iwork, const int *liwork, int *info, size_t,
                    size_t, size_t);

int st_ml_mds(st_ctx *ctx, int64_t n, const double *d, int64_t ldd, int32_t ndim, double *coords,
              double *eigenvalues)
{
    int rc = st_ml_check_distances(ctx, "ml_mds", n, d, ldd, 2);
    if (rc) return rc;
    if (ndim < 1 || ndim > n)
        return st_fail(ctx, ST_ERR_ARG, "ml_mds: ndim = %d, expected 1..n = %lld", ndim, (long long)n);
    if (!coords) return st_fail(ctx, ST_ERR_ARG, "ml_mds: NULL output");
    if (n > 46000) return st_fail(ctx, ST_ERR_ARG, "ml_mds: n = %lld too large for a dense eigensolver", (long long)n);
    int N = (int)n, K = ndim;
    double *b = st_malloc_array((size_t)n * (size_t)n, sizeof *b);
    double *rowmean = st_malloc_array((size_t)n, sizeof *rowmean);
    double *w = st_malloc_array((size_t)n, sizeof *w);
    double *z = st_malloc_array((size_t)n * (size_t)K, sizeof *z);
    int *isuppz = st_malloc_array((size_t)(2 * K), sizeof *isuppz);
    double *work = NULL;
    int *iwork = NULL;
    if (!b || !rowmean || !w || !z || !isuppz) {
        rc = st_fail(ctx, ST_ERR_NOMEM, "ml_mds: out of memory (n = %lld)", (long long)n);
        goto done;
    }
    /* double centring of squared distances: b_ij = -1/2 (d2_ij - r_i - r_j + g) (Torgerson 1952) */
    double grand = 0;
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t j = 0; j < n; j++) {
            double v = i == j ? 0 : d[i * ldd + j];
            b[i * n + j] = v * v;
            s += v * v;
        }
        rowmean[i] = s / (double)n;
        grand += s;
    }
    grand /= (double)n * (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            b[i * n + j] = -0.5 * (b[i * n + j] - rowmean[i] - rowmean[j] + grand);
    /* top K eigenpairs: indices n-K+1 .. n in LAPACK's ascending order */
    int il = N - K + 1, iu = N, m = 0, info = 0, lwork = -1, liwork = -1, iw_query = 0;
    double vl = 0, vu = 0, abstol = 0, w_query = 0;
    dsyevr_("V", "I", "U", &N, b, &N, &vl, &vu, &il, &iu, &abstol, &m, w, z, &N, isuppz, &w_query, &lwork,
            &iw_query, &liwork, &info, 1, 1, 1);
    if (info) {
        rc = st_fail(ctx, ST_ERR_INTERNAL, "ml_mds: dsyevr workspace query failed (info = %d)", info);
        goto done;
    }
    lwork = (int)w_query + 1;
    liwork = iw_query + 1;
    work = st_malloc_array((size_t)lwork, sizeof *work);
    iwork = st_malloc_array((size_t)liwork, sizeof *iwork);
    if (!work || !iwork) {
        rc = st_fail(ctx, ST_ERR_NOMEM, "ml_mds: out of memory (LAPACK workspace)");
        goto done;
    }
    /* b is symmetric and row-major == column-major; z comes back column-major: z[k * n + i] */
    dsyevr_("V", "I", "U", &N, b, &N, &vl, &vu, &il, &iu, &abstol, &m, w, z, &N, isuppz, work, &lwork, iwork,
            &liwork, &info, 1, 1, 1);
    if (info || m != K) {
        rc = st_fail(ctx, ST_ERR_NUMERIC, "ml_mds: eigensolver failed (dsyevr info = %d, %d of %d "
                     "eigenvalues)", info, m, K);
        goto done;
    }
    for (int a = 0; a < K; a++) {
        int src = K - 1 - a;   /* decreasing order */
        double lam = w[src], scale = lam > 0 ? sqrt(lam) : 0;
        const double *v = z + (size_t)src * (size_t)n;
        int64_t imax = 0;
        for (int64_t i = 1; i < n; i++)
            if (fabs(v[i]) > fabs(v[imax])) imax = i;
        double sign = v[imax] < 0 ? -1 : 1;
        for (int64_t i = 0; i < n; i++) coords[i * K + a] = sign * scale * v[i];
        if (eigenvalues) eigenvalues[a] = lam;
    }
done:
    free(b); free(rowmean); free(w); free(z); free(isuppz); free(work); free(iwork);
    return rc;
}

/* ------------------------------------------------------------------ t-SNE */

/* splitmix64 (Steele, Lea & Flood, OOPSLA 2014) and Box-Muller normals: the same stream on every
 * platform for a given seed. */
static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double normal01(uint64_t *s)
{
    double u1 = ((double)(splitmix(s) >> 11) + 0.5) * 0x1.0p-53;
    double u2 = (double)(splitmix(s) >> 11) * 0x1.0p-53;
    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* Row i of the conditional affinities p_j|i for a target perplexity: bisection on beta so that
 * the Shannon entropy H(P_i) = log(perplexity) (van der Maaten & Hinton 2008, sec. 2). */
static void row_affinities(int64_t n, const double *d, int64_t ldd, int64_t i, double logperp, double *p)
{
    double beta = 1, lo = 0, hi = INFINITY;
    /* shift by the smallest squared distance so exp() never underflows to all zeros */
    double dmin = INFINITY;
    for (int64_t j = 0; j < n; j++)
        if (j != i && d[i * ldd + j] * d[i * ldd + j] < dmin) dmin = d[i * ldd + j] * d[i * ldd + j];
    for (int it = 0; it < 200; it++) {
        double sum = 0, sdp = 0;
        for (int64_t j = 0; j < n; j++) {
            if (j == i) { p[j] = 0; continue; }
            double dd = d[i * ldd + j] * d[i * ldd + j] - dmin;
            p[j] = exp(-beta * dd);
            sum += p[j];
            sdp += dd * p[j];
        }
        /* H = log sum + beta <d^2 - dmin> */
        double h = log(sum) + beta * sdp / sum;
        for (int64_t j = 0; j < n; j++) p[j] /= sum;
        double diff = h - logperp;
        if (fabs(diff) < 1e-10) break;
        if (diff > 0) {   /* entropy too high: narrow the kernel */
            lo = beta;
            beta = isinf(hi) ? beta * 2 : 0.5 * (beta + hi);
        } else {
            hi = beta;
            beta = 0.5 * (beta + lo);
        }
    }
}

int st_ml_tsne(st_ctx *ctx, int64_t n, const double *d, int64_t ldd, const st_tsne_opts *opts,
               double *coords, double *kl)
{
    int rc = st_ml_check_distances(ctx, "ml_tsne", n, d, ldd, 4);
    if (rc) return rc;
    if (!coords) return st_fail(ctx, ST_ERR_ARG, "ml_tsne: NULL output");
    st_tsne_opts o;
    memset(&o, 0, sizeof o);
    if (opts) o = *opts;
    int K = o.ndim ? o.ndim : 2;
    double perp = o.perplexity != 0 ? o.perplexity : 30;
    int iters = o.iterations ? o.iterations : 1000;
    double eta = o.learning_rate;
    double exag = o.early_exaggeration != 0 ? o.early_exaggeration : 12;
    int exag_iters = o.exaggeration_iters ? o.exaggeration_iters : 250;
    if (K < 1 || K > 3) return st_fail(ctx, ST_ERR_ARG, "ml_tsne: ndim = %d, expected 1, 2 or 3", K);
    if (!(perp > 0) || !(eta >= 0) || !(exag > 0) || iters < 1 || exag_iters < 0)
        return st_fail(ctx, ST_ERR_ARG, "ml_tsne: perplexity (%g), learning rate (%g), exaggeration (%g) "
                       "and iterations (%d) must be positive", perp, eta, exag, iters);
    if (perp > (double)(n - 1) / 3) perp = (double)(n - 1) / 3;   /* as in common implementations */
    /* default step: max(n / exaggeration / 4, 50) (Belkina et al., Nat. Commun. 10, 5415 (2019);
       scikit-learn's "auto"); the classic 200 oscillates for a few hundred points */
    if (eta == 0) eta = fmax((double)n / exag / 4, 50);
    if (n > 46000) return st_fail(ctx, ST_ERR_ARG, "ml_tsne: n = %lld too large for exact t-SNE", (long long)n);
    size_t nn = (size_t)n * (size_t)n;
    double *P = st_malloc_array(nn, sizeof *P);
    double *num = st_malloc_array(nn, sizeof *num);
    double *grad = st_malloc_array((size_t)n * K, sizeof *grad);
    double *upd = st_calloc_array((size_t)n * K, sizeof *upd);
    double *gains = st_malloc_array((size_t)n * K, sizeof *gains);
    double *rowsum = st_malloc_array((size_t)n, sizeof *rowsum);
    double *Y = coords;
    if (!P || !num || !grad || !upd || !gains || !rowsum) {
        rc = st_fail(ctx, ST_ERR_NOMEM, "ml_tsne: out of memory (n = %lld)", (long long)n);
        goto done;
    }
    double logperp = log(perp);
#pragma omp parallel for schedule(dynamic, 16) num_threads(n >= 1024 ? st_threads() : 1)
    for (int64_t i = 0; i < n; i++) row_affinities(n, d, ldd, i, logperp, P + i * n);
    /* symmetrise, normalise (sum p_ij = 1), floor at 1e-12 as in the reference code */
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) {
            double v = (P[i * n + j] + P[j * n + i]) / (2.0 * (double)n);
            if (v < 1e-12) v = 1e-12;
            P[i * n + j] = P[j * n + i] = v;
        }
    for (int64_t i = 0; i < n; i++) P[i * n + i] = 0;
    uint64_t seed = o.seed;
    for (int64_t i = 0; i < n * K; i++) { Y[i] = 1e-4 * normal01(&seed); gains[i] = 1; }
    double qsum = 0;
    for (int it = 0; it < iters; it++) {
        if ((rc = st_check_interrupt(ctx, "ml_tsne"))) goto done;
        if (it % 50 == 0) st_progress(ctx, "t-SNE", it, iters);
        double pscale = it < exag_iters ? exag : 1, mom = it < exag_iters ? 0.5 : 0.8;
        /* Student-t numerators (eq. 4) */
#pragma omp parallel for schedule(static) num_threads(n >= 1024 ? st_threads() : 1)
        for (int64_t i = 0; i < n; i++) {
            double rs = 0;
            for (int64_t j = 0; j < n; j++) {
                if (j == i) { num[i * n + j] = 0; continue; }
                double s = 0;
                for (int a = 0; a < K; a++) {
                    double t = Y[i * K + a] - Y[j * K + a];
                    s += t * t;
                }
                num[i * n + j] = 1 / (1 + s);
                rs += num[i * n + j];
            }
            rowsum[i] = rs;
        }
        qsum = 0;   /* summed serially so the result does not depend on the thread count */
        for (int64_t i = 0; i < n; i++) qsum += rowsum[i];
        /* gradient (eq. 5) */
#pragma omp parallel for schedule(static) num_threads(n >= 1024 ? st_threads() : 1)
        for (int64_t i = 0; i < n; i++) {
            double g[3] = {0, 0, 0};
            for (int64_t j = 0; j < n; j++) {
                if (j == i) continue;
                double w = (pscale * P[i * n + j] - num[i * n + j] / qsum) * num[i * n + j];
                for (int a = 0; a < K; a++) g[a] += w * (Y[i * K + a] - Y[j * K + a]);
            }
            for (int a = 0; a < K; a++) grad[i * K + a] = 4 * g[a];
        }
        /* gains + momentum step, then re-centre */
        for (int64_t t = 0; t < n * K; t++) {
            gains[t] = (grad[t] > 0) != (upd[t] > 0) ? gains[t] + 0.2 : gains[t] * 0.8;
            if (gains[t] < 0.01) gains[t] = 0.01;
            upd[t] = mom * upd[t] - eta * gains[t] * grad[t];
            Y[t] += upd[t];
        }
        for (int a = 0; a < K; a++) {
            double mean = 0;
            for (int64_t i = 0; i < n; i++) mean += Y[i * K + a];
            mean /= (double)n;
            for (int64_t i = 0; i < n; i++) Y[i * K + a] -= mean;
        }
    }
    for (int64_t i = 0; i < n * K; i++)
        if (!isfinite(Y[i])) {
            rc = st_fail(ctx, ST_ERR_NUMERIC, "ml_tsne: the layout diverged (non-finite coordinate); "
                         "lower the learning rate");
            goto done;
        }
    if (kl) {
        /* KL(P || Q) = sum p_ij log(p_ij / q_ij) at the final layout */
        double s = 0;
        qsum = 0;
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) {
                if (i == j) continue;
                double q = 0;
                for (int a = 0; a < K; a++) q += (Y[i * K + a] - Y[j * K + a]) * (Y[i * K + a] - Y[j * K + a]);
                num[i * n + j] = 1 / (1 + q);
                qsum += num[i * n + j];
            }
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                if (i != j) s += P[i * n + j] * log(P[i * n + j] / (num[i * n + j] / qsum));
        *kl = s;
    }
    st_progress(ctx, "t-SNE", iters, iters);
done:
    free(P); free(num); free(grad); free(upd); free(gains); free(rowsum);
    return rc;
}
