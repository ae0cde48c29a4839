/* dense.c -- kernel sums over every pair, in cache-blocked tiles threaded over all tiles.
 *
 * X against itself: blocks of ENT_DENSE_TB rows; each unordered block pair (I <= J) is one task
 * (the symmetry halves the work: a tile adds its row sums to the rows of I and its column sums to
 * the rows of J; the diagonal tile takes j > i only and the self term 1 is added exactly).  Tile
 * results go into the global sums with atomic adds, so the last bits may vary between runs (the
 * order of additions does); everything else is deterministic.
 *
 * Y against X: tasks are (query block, chunk of reference blocks).  Chunks exist only when there
 * are too few query blocks to keep every thread busy; each chunk keeps its own shifted sums
 * (m, S) and they are merged in chunk order at the end: S = sum_c S_c exp(-(m_c - m) a_k).
 *
 * Memory: the packed copies (n + m) d doubles, plus per thread O(tile * bandwidths).
 * Not done here: pruning (pruned.c) and early exit for far tiles.
 */
#include "entropy_impl.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define ENT_DENSE_TB (8 * ENT_NR)

static int tid(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int run_self(st_ctx *ctx, ent_job *J, const ent_pack *PX, const double *thr,
                    const ent_tp *tp, double *out)
{
    const int64_t n = PX->n, d = PX->d, TB = ENT_DENSE_TB;
    const int nb = J->nb;
    const int64_t nbk = (n + TB - 1) / TB, ntask = nbk * (nbk + 1) / 2;
    int64_t *rowstart = malloc((size_t)(nbk + 1) * sizeof *rowstart);
    double *P = st_malloc_array((size_t)n * nb, sizeof(double));
    if (!rowstart || !P) {
        free(rowstart); free(P);
        return st_fail(ctx, ST_ERR_NOMEM, "%s: cannot allocate kernel sums (%lld x %d)", J->fn,
                       (long long)n, nb);
    }
    rowstart[0] = 0;
    for (int64_t I = 0; I < nbk; I++) rowstart[I + 1] = rowstart[I] + (nbk - I);
    for (int64_t i = 0; i < n * nb; i++) P[i] = 1.0;   /* the self term, exactly */

    int stop = 0, nomem = 0;
    int64_t done = 0;
    double computed = 0, recomputed = 0;
    #pragma omp parallel num_threads(J->nthreads) reduction(+: computed, recomputed)
    {
        double *racc = ent_aligned_alloc((size_t)TB * nb * ENT_VL, sizeof(double));
        double *cacc = ent_aligned_alloc((size_t)TB * nb, sizeof(double));
        ent_counts cnt = {0};
        if (!racc || !cacc) {
            #pragma omp atomic write
            nomem = 1;
        }
        #pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < ntask; t++) {
            int s_;
            #pragma omp atomic read
            s_ = stop;
            if (s_ || nomem) continue;
            if (st_interrupt_pending()) {
                #pragma omp atomic write
                stop = 1;
                continue;
            }
            int64_t lo = 0, hi = nbk;   /* largest I with rowstart[I] <= t */
            while (hi - lo > 1) {
                int64_t mid = (lo + hi) / 2;
                if (rowstart[mid] <= t) lo = mid; else hi = mid;
            }
            const int64_t I = lo, JB = I + (t - rowstart[I]);
            const int64_t q0 = I * TB, r0 = JB * TB;
            const int mq = (int)(n - q0 < TB ? n - q0 : TB), nr = (int)(n - r0 < TB ? n - r0 : TB);
            const int mqp = (mq + ENT_MR - 1) / ENT_MR * ENT_MR;
            const int nrp = (nr + ENT_NR - 1) / ENT_NR * ENT_NR;
            memset(racc, 0, (size_t)mqp * nb * ENT_VL * sizeof(double));
            memset(cacc, 0, (size_t)nrp * nb * sizeof(double));
            ent_tile(tp, PX->p + q0 * d, PX->nrm + q0, thr + q0, mq, PX->p + r0 * d,
                     PX->nrm + r0, PX->pmax + r0 / ENT_NR, nr, I == JB, racc, NULL, cacc, &cnt);
            for (int i = 0; i < mq; i++)
                for (int k = 0; k < nb; k++) {
                    double v = ent_lane_sum(racc + ((size_t)i * nb + k) * ENT_VL);
                    #pragma omp atomic
                    P[(size_t)k * n + q0 + i] += v;
                }
            for (int k = 0; k < nb; k++)
                for (int j = 0; j < nr; j++) {
                    double v = cacc[(size_t)k * nrp + j];
                    #pragma omp atomic
                    P[(size_t)k * n + r0 + j] += v;
                }
            computed += I == JB ? 0.5 * mq * (mq + 1.0) : (double)mq * nr;
            int64_t dn;
            #pragma omp atomic capture
            dn = ++done;
            if (tid() == 0) st_progress(ctx, "entropy: dense tiles", (double)dn, (double)ntask);
        }
        recomputed += cnt.recomputed;
        free(racc);
        free(cacc);
    }
    J->counts.computed += computed;
    J->counts.recomputed += recomputed;
    free(rowstart);
    /* the calling thread always reports the end (it may have taken no tile itself) */
    if (!nomem && !stop) st_progress(ctx, "entropy: dense tiles", (double)ntask, (double)ntask);
    int rc = ST_OK;
    if (nomem) rc = st_fail(ctx, ST_ERR_NOMEM, "%s: cannot allocate tile buffers", J->fn);
    else if (stop) rc = st_check_interrupt(ctx, J->fn);
    if (rc == ST_OK)
        for (int k = 0; k < nb; k++)
            for (int64_t i = 0; i < n; i++)
                out[(size_t)J->order[k] * n + i] = log(P[(size_t)k * n + i]);
    free(P);
    return rc;
}

static int run_cross(st_ctx *ctx, ent_job *J, const ent_pack *PX, const ent_pack *PY,
                     const double *thr, const ent_tp *tp, double *out)
{
    const int64_t n = PX->n, m = PY->n, d = PX->d, TB = ENT_DENSE_TB;
    const int nb = J->nb;
    const int64_t nQB = (m + TB - 1) / TB, nRB = (n + TB - 1) / TB;
    int64_t nch = 1;
    if (nQB < 4 * (int64_t)J->nthreads) {
        nch = (4 * (int64_t)J->nthreads + nQB - 1) / nQB;
        if (nch > nRB) nch = nRB;
    }
    const int64_t ntask = nQB * nch;
    double *S = st_malloc_array((size_t)nch * nb * m, sizeof(double));
    double *M = st_malloc_array((size_t)nch * m, sizeof(double));
    if (!S || !M) {
        free(S); free(M);
        return st_fail(ctx, ST_ERR_NOMEM, "%s: cannot allocate kernel sums (%lld x %d x %lld)",
                       J->fn, (long long)m, nb, (long long)nch);
    }
    int stop = 0, nomem = 0;
    int64_t done = 0;
    double recomputed = 0;
    #pragma omp parallel num_threads(J->nthreads) reduction(+: recomputed)
    {
        double *racc = ent_aligned_alloc((size_t)TB * nb * ENT_VL, sizeof(double));
        double *mloc = malloc((size_t)TB * sizeof(double));
        ent_counts cnt = {0};
        if (!racc || !mloc) {
            #pragma omp atomic write
            nomem = 1;
        }
        #pragma omp for schedule(dynamic, 1)
        for (int64_t t = 0; t < ntask; t++) {
            int s_;
            #pragma omp atomic read
            s_ = stop;
            if (s_ || nomem) continue;
            const int64_t qb = t / nch, c = t % nch, q0 = qb * TB;
            const int mq = (int)(m - q0 < TB ? m - q0 : TB);
            const int mqp = (mq + ENT_MR - 1) / ENT_MR * ENT_MR;
            memset(racc, 0, (size_t)mqp * nb * ENT_VL * sizeof(double));
            for (int i = 0; i < TB; i++) mloc[i] = INFINITY;
            for (int64_t rb = c * nRB / nch; rb < (c + 1) * nRB / nch; rb++) {
                if (st_interrupt_pending()) {
                    #pragma omp atomic write
                    stop = 1;
                    break;
                }
                const int64_t r0 = rb * TB;
                const int nr = (int)(n - r0 < TB ? n - r0 : TB);
                ent_tile(tp, PY->p + q0 * d, PY->nrm + q0, thr + q0, mq, PX->p + r0 * d,
                         PX->nrm + r0, PX->pmax + r0 / ENT_NR, nr, 0, racc, mloc, NULL, &cnt);
            }
            for (int i = 0; i < mq; i++) {
                M[(size_t)c * m + q0 + i] = mloc[i];
                for (int k = 0; k < nb; k++)
                    S[((size_t)c * nb + k) * m + q0 + i] =
                        ent_lane_sum(racc + ((size_t)i * nb + k) * ENT_VL);
            }
            int64_t dn;
            #pragma omp atomic capture
            dn = ++done;
            if (tid() == 0) st_progress(ctx, "entropy: dense tiles", (double)dn, (double)ntask);
        }
        recomputed += cnt.recomputed;
        free(racc);
        free(mloc);
    }
    J->counts.computed += (double)n * m;
    J->counts.recomputed += recomputed;
    if (!nomem && !stop) st_progress(ctx, "entropy: dense tiles", (double)ntask, (double)ntask);
    int rc = ST_OK;
    if (nomem) rc = st_fail(ctx, ST_ERR_NOMEM, "%s: cannot allocate tile buffers", J->fn);
    else if (stop) rc = st_check_interrupt(ctx, J->fn);
    if (rc == ST_OK) {
        #pragma omp parallel for num_threads(J->nthreads) schedule(static)
        for (int64_t i = 0; i < m; i++) {
            double mm = INFINITY;
            for (int64_t c = 0; c < nch; c++) mm = fmin(mm, M[(size_t)c * m + i]);
            for (int k = 0; k < nb; k++) {
                double s = 0;
                for (int64_t c = 0; c < nch; c++) {
                    double mc = M[(size_t)c * m + i];
                    if (mc == INFINITY) continue;
                    s += S[((size_t)c * nb + k) * m + i] * exp(-(mc - mm) * J->a[k]);
                }
                out[(size_t)J->order[k] * m + i] = log(s) - mm * J->a[k];
            }
        }
    }
    free(S);
    free(M);
    return rc;
}

int ent_run_dense(st_ctx *ctx, ent_job *J, double *out)
{
    ent_pack PX, PY;
    int rc = ent_pack_rows(ctx, J->fn, J->X, J->mu, NULL, J->nthreads, &PX);
    if (rc) return rc;
    const ent_pack *PQ = &PX;
    if (J->Y) {
        rc = ent_pack_rows(ctx, J->fn, J->Y, J->mu, NULL, J->nthreads, &PY);
        if (rc) { ent_pack_free(&PX); return rc; }
        PQ = &PY;
    }
    double *thr = malloc((size_t)PQ->npad * sizeof(double));
    if (!thr) {
        rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", J->fn);
    } else {
        /* dense = every pair; only terms below 1e-16/N of the sum (rounding level) skipped */
        ent_tp tp = {(int)PX.d, J->nb, J->a, J->a[J->nb - 1], J->Y != NULL,
                     fmax(ENT_EXP_MIN, log(1e-16 / (double)PX.n)), ent_cerr(PX.d)};
        ent_thresholds(PQ, PX.nrm_max, tp.a_max, thr);
        J->rounding_bound = tp.a_max * tp.cerr * (PX.nrm_max + PQ->nrm_max);
        rc = J->Y ? run_cross(ctx, J, &PX, &PY, thr, &tp, out)
                  : run_self(ctx, J, &PX, thr, &tp, out);
    }
    free(thr);
    if (J->Y) ent_pack_free(&PY);
    ent_pack_free(&PX);
    return rc;
}
