/* select.c -- greedy selection of frames that maximises the information entropy of the selected
 * environments (dataset compression; the Lua recipe `strata compress` drives it).
 *
 * Problem.  A data set is a list of frames; frame f owns the descriptor rows R_f.  Pick frames
 * one at a time so that after every step the entropy of the union S of the picked rows,
 *     H(S) = ln |S| - (1/|S|) sum_{i in S} ln p_i,   p_i = sum_{j in S} K(x_i, x_j)
 * (QUESTS, Schwalbe-Koda et al., Nat. Commun. 16, 4014 (2025); summary in
 * ../shared/docs/quests-reference.md), is as large as possible.  This is the greedy rule: step s
 * adds argmax_f H(S + R_f).  The reference's own compression ("MSC", minimum set coverage) also
 * grows the subset greedily by the information a frame adds to what is already chosen; the rule
 * here is in that spirit but scores each candidate by the exact entropy it would give.
 *
 * Key idea (lazy greedy with an exact bound).  For a candidate f with m rows, split the sums:
 *   rows y of f:  p_y' = s_S(y) + s_f(y),  s_S(y) = sum_{x in S} K(y, x),  s_f(y) = sum over f;
 *   rows i of S:  p_i' = p_i + c_i(f),     c_i(f) = sum_{y in f} K(x_i, y) >= 0.
 * s_f is computed once per frame, s_S is maintained for every row (one kernel-sum pass of all
 * rows against each picked frame), and ln p_i for the picked rows.  Dropping c_i gives
 *   Hest(f) = ln(|S|+m) - (sum_S ln p_i + sum_{y in f} ln p_y') / (|S|+m)  >=  H(S + R_f)
 * because c_i >= 0 only raises p_i.  The bound is tightened for free: by kernel symmetry
 *   sum_i c_i(f) = sum_{y in f} s_S(y) =: C_f   (known), and 0 <= c_i <= m (each K <= 1),
 * and sum_i ln(1 + c_i/p_i) is concave in c, so its minimum over that polytope sits at a vertex:
 * c_i = m on the floor(C_f/m) rows with the largest p_i and the remainder on the next one (an
 * exchange argument shows this vertex is the smallest).  That minimum is subtracted from Hest.
 * Candidates are visited in decreasing Hest and evaluated exactly (the c_i cost |S| m kernel
 * terms each) until the best exact value reaches the next candidate's bound: the result is then
 * the exact greedy choice (the lazy evaluation of Minoux's accelerated greedy, Lecture Notes in
 * Control and Information Sciences 7, 234 (1978); the bounds are recomputed at every step, so
 * no submodularity is assumed).
 * A cap on exact evaluations per step (opts.max_evals) bounds the cost; a capped step takes the
 * best value evaluated and is counted in stats.capped_steps.
 *
 * Cost: per step O(n) for the bounds, sum over evaluations of |S| m, plus n m for the s_S update;
 * over a run about n |S_final| kernel terms plus the evaluations.  Memory: O(n) doubles plus a
 * packed copy of the picked rows.
 *
 * Kernel sums: small blocks (queries x set x columns <= 1e7, e.g. a candidate frame against a few
 * thousand picked rows) are summed here directly, single-threaded, from exact differences with a
 * running log-sum-exp (finite logs even where every term underflows); larger blocks go to the
 * public st_entropy_log_kernel_sums (threaded, pruned; accuracy in docs/entropy.md).  A run makes
 * many small sums, and starting a parallel region for each costs more than the sum itself on a
 * busy machine.  An explicit opts.kernel->method (not AUTO) sends every block to the engine.
 *
 * Does not: select single environments (frames are the unit a user keeps or drops), weight frames
 * by cost, start from an existing training set, or give any optimality guarantee beyond greedy
 * (entropy is not submodular in general).
 */
#include "../core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char FN[] = "st_entropy_select_frames";

/* ln(e^a + e^b), exact for a or b = -inf. */
static double lae(double a, double b)
{
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    double m = a > b ? a : b;
    return m + log1p(exp(-fabs(a - b)));
}

typedef struct { double s, c; } kahan;
static void kadd(kahan *k, double v)
{
    double y = v - k->c, t = k->s + y;
    k->c = (t - k->s) - y;
    k->s = t;
}

typedef struct { double key; int64_t f; } cand;
static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->key > y->key) return -1;
    if (x->key < y->key) return 1;
    return (x->f > y->f) - (x->f < y->f);   /* ties: lower frame index first (deterministic) */
}

static int desc_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Everything the run owns, freed in one place. */
typedef struct {
    st_ctx *inner;           /* context of the kernel-sum calls (no progress hook) */
    double *lsf, *LS, *tmp;  /* [n] ln s_f(y), ln s_S(y), scratch */
    double *lnp, *lnc, *best_lnc; /* [n] ln p_i of picked rows (packed order), c_i buffers */
    double *XS;              /* [n][d] packed picked rows */
    double *Tnew, *Cf;       /* [nframes] sum_{y in f} ln p_y', C_f = sum_{y in f} s_S(y) */
    double *pd, *pref;       /* [n] ln p_i sorted descending, [n+1] prefix sums of the bound */
    int64_t *bucket_of;      /* [nframes] bucket of frame f (its size, or a size above it) */
    int64_t *bsize;          /* [nbuckets] the size M used for the bound of that bucket */
    int64_t *bframes, *boff; /* frames grouped by bucket: bframes[boff[b] .. boff[b+1]-1] */
    cand *cands;             /* [nframes] */
    unsigned char *picked;   /* [nframes] */
} work;

static void work_free(work *w)
{
    st_ctx_destroy(w->inner);
    free(w->lsf); free(w->LS); free(w->tmp); free(w->lnp); free(w->lnc); free(w->best_lnc);
    free(w->XS); free(w->Tnew); free(w->Cf); free(w->cands); free(w->picked);
    free(w->pd); free(w->pref); free(w->bucket_of); free(w->bsize); free(w->bframes); free(w->boff);
}

/* Blocks up to this many (query, reference, column) triples are summed directly. */
#define DIRECT_MAX 1e7

/* out[i] = ln sum_j exp(-a |q_i - x_j|^2) for nq queries against nx rows (d columns), direct:
 * exact differences, running log-sum-exp shifted by the nearest squared distance so far. */
static void direct_log_sums(const double *q, int64_t nq, int64_t ldq, const double *x, int64_t nx,
                            int64_t ldx, int64_t d, double a, double *out)
{
    for (int64_t i = 0; i < nq; i++) {
        const double *qi = q + i * ldq;
        double m = INFINITY, s = 0;
        for (int64_t j = 0; j < nx; j++) {
            const double *xj = x + j * ldx;
            double d2 = 0;
            for (int64_t c = 0; c < d; c++) {
                double t = qi[c] - xj[c];
                d2 += t * t;
            }
            if (d2 < m) {
                s = (m == INFINITY ? 0 : s * exp(-a * (m - d2))) + 1;
                m = d2;
            } else {
                s += exp(-a * (d2 - m));
            }
        }
        out[i] = -a * m + log(s);
    }
}

/* Pass an inner call's failure on to the caller's context. */
static int pass_on(st_ctx *ctx, st_ctx *inner, int rc)
{
    return st_fail(ctx, rc, "%s: %s", FN, st_ctx_message(inner));
}

/* ln sums of queries q (nq rows; q == NULL: the set itself) against the set x (nx rows): directly
 * when the block is small and the caller left the method on AUTO, else through the engine. */
static int log_sums(st_ctx *ctx, st_ctx *inner, const st_entropy_opts *kopt, const double *x,
                    int64_t nx, int64_t ldx, const double *q, int64_t nq, int64_t ldq, int64_t d,
                    double h, double *out)
{
    int direct = (!kopt || kopt->method == ST_ENTROPY_AUTO) &&
                 (double)(q ? nq : nx) * (double)nx * (double)d <= DIRECT_MAX;
    if (direct) {
        if (q) direct_log_sums(q, nq, ldq, x, nx, ldx, d, 1 / (2 * h * h), out);
        else direct_log_sums(x, nx, ldx, x, nx, ldx, d, 1 / (2 * h * h), out);
        return ST_OK;
    }
    int rc = st_entropy_log_kernel_sums(inner, x, nx, d, ldx, q, q ? nq : 0, q ? d : 0, q ? ldq : 0,
                                        &h, 1, kopt, out);
    return rc ? pass_on(ctx, inner, rc) : ST_OK;
}

int st_entropy_select_frames(st_ctx *ctx, const double *x, int64_t n, int64_t d, int64_t ldx,
                             const int64_t *offsets, int64_t nframes, double h, int64_t nselect,
                             const st_entropy_select_opts *opts, int64_t *order, double *H_path)
{
    double t0 = now();
    st_entropy_select_stats *stats = opts ? opts->stats : NULL;
    if (stats) memset(stats, 0, sizeof *stats);
    if (ldx == 0) ldx = d;
    if (!x || n < 1 || d < 1 || ldx < d)
        return st_fail(ctx, ST_ERR_ARG, "%s: bad descriptor matrix (x = %p, n = %lld, d = %lld, "
                       "ldx = %lld)", FN, (const void *)x, (long long)n, (long long)d,
                       (long long)ldx);
    if (!offsets || nframes < 1)
        return st_fail(ctx, ST_ERR_ARG, "%s: need frame offsets (offsets = %p, nframes = %lld)",
                       FN, (const void *)offsets, (long long)nframes);
    if (offsets[0] != 0)
        return st_fail(ctx, ST_ERR_ARG, "%s: offsets[0] = %lld (must be 0)", FN,
                       (long long)offsets[0]);
    for (int64_t f = 0; f < nframes; f++)
        if (offsets[f + 1] <= offsets[f])
            return st_fail(ctx, ST_ERR_ARG, "%s: frame %lld is empty or reversed (offsets[%lld] = "
                           "%lld, offsets[%lld] = %lld)", FN, (long long)f, (long long)f,
                           (long long)offsets[f], (long long)(f + 1), (long long)offsets[f + 1]);
    if (offsets[nframes] != n)
        return st_fail(ctx, ST_ERR_ARG, "%s: offsets[%lld] = %lld but x has %lld rows", FN,
                       (long long)nframes, (long long)offsets[nframes], (long long)n);
    if (!isfinite(h) || h <= 0)
        return st_fail(ctx, ST_ERR_ARG, "%s: bandwidth h = %g must be finite and > 0", FN, h);
    if (nselect < 0 || nselect > nframes)
        return st_fail(ctx, ST_ERR_ARG, "%s: nselect = %lld must be in 0..%lld (the number of "
                       "frames)", FN, (long long)nselect, (long long)nframes);
    if (nselect > 0 && !order) return st_fail(ctx, ST_ERR_ARG, "%s: order is NULL", FN);
    int32_t max_evals = opts && opts->max_evals ? opts->max_evals : 32;
    if (max_evals < 1)
        return st_fail(ctx, ST_ERR_ARG, "%s: opts.max_evals = %d must be >= 0 (0 = 32)", FN,
                       opts->max_evals);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++)
            if (!isfinite(x[i * ldx + j]))
                return st_fail(ctx, ST_ERR_NUMERIC, "%s: row %lld, column %lld: descriptor value "
                               "is %g (must be finite)", FN, (long long)i, (long long)j,
                               x[i * ldx + j]);
    if (nselect == 0) return ST_OK;

    const st_entropy_opts *kopt = opts ? opts->kernel : NULL;
    work w;
    memset(&w, 0, sizeof w);
    size_t N = (size_t)n;
    w.inner = st_ctx_create();
    w.lsf = st_malloc_array(N, sizeof(double));
    w.LS = st_malloc_array(N, sizeof(double));
    w.tmp = st_malloc_array(N, sizeof(double));
    w.lnp = st_malloc_array(N, sizeof(double));
    w.lnc = st_malloc_array(N, sizeof(double));
    w.best_lnc = st_malloc_array(N, sizeof(double));
    w.XS = st_malloc_array(N * (size_t)d, sizeof(double));
    w.Tnew = st_malloc_array((size_t)nframes, sizeof(double));
    w.Cf = st_malloc_array((size_t)nframes, sizeof(double));
    w.pd = st_malloc_array(N, sizeof(double));
    w.pref = st_malloc_array(N + 1, sizeof(double));
    w.bucket_of = st_malloc_array((size_t)nframes, sizeof(int64_t));
    w.bsize = st_malloc_array((size_t)nframes + 64, sizeof(int64_t));
    w.bframes = st_malloc_array((size_t)nframes, sizeof(int64_t));
    w.boff = st_malloc_array((size_t)nframes + 65, sizeof(int64_t));
    w.cands = st_malloc_array((size_t)nframes, sizeof(cand));
    w.picked = st_calloc_array((size_t)nframes, 1);
    if (!w.inner || !w.lsf || !w.LS || !w.tmp || !w.lnp || !w.lnc || !w.best_lnc || !w.XS ||
        !w.Tnew || !w.cands || !w.picked || !w.Cf || !w.pd || !w.pref || !w.bucket_of ||
        !w.bsize || !w.bframes || !w.boff) {
        work_free(&w);
        return st_fail(ctx, ST_ERR_NOMEM, "%s: cannot allocate work space for %lld rows", FN,
                       (long long)n);
    }

    /* Buckets of frame sizes for the bound: the distinct sizes when there are at most 64 of
     * them, else a geometric grid of 64 sizes (a frame uses the smallest bucket size >= its own
     * size: a larger cap M on c_i still gives a valid, slightly weaker bound).  The bound's
     * prefix sums are computed once per bucket per step. */
    int64_t nb = 0;
    {
        int64_t *sz = w.bframes;   /* scratch for the sorted sizes */
        for (int64_t f = 0; f < nframes; f++) sz[f] = offsets[f + 1] - offsets[f];
        qsort(sz, (size_t)nframes, sizeof(int64_t), i64_cmp);
        int64_t distinct = 0;
        for (int64_t f = 0; f < nframes; f++)
            if (f == 0 || sz[f] != sz[f - 1]) w.bsize[distinct++] = sz[f];
        if (distinct <= 64) {
            nb = distinct;
        } else {
            double lo = (double)sz[0], hi = (double)sz[nframes - 1], r = pow(hi / lo, 1.0 / 63);
            for (int64_t b = 0; b < 64; b++) {
                int64_t v = (int64_t)ceil(lo * pow(r, (double)b) - 1e-9);
                if (b == 63 || v > hi) v = (int64_t)hi;
                if (nb == 0 || v > w.bsize[nb - 1]) w.bsize[nb++] = v;
            }
        }
        for (int64_t b = 0; b <= nb; b++) w.boff[b] = 0;
        for (int64_t f = 0; f < nframes; f++) {
            int64_t m = offsets[f + 1] - offsets[f], lo = 0, hi = nb - 1;
            while (lo < hi) {                  /* smallest bucket size >= m */
                int64_t mid = (lo + hi) / 2;
                if (w.bsize[mid] >= m) hi = mid; else lo = mid + 1;
            }
            w.bucket_of[f] = lo;
            w.boff[lo + 1]++;
        }
        for (int64_t b = 0; b < nb; b++) w.boff[b + 1] += w.boff[b];
        int64_t fill[64];
        for (int64_t b = 0; b < nb; b++) fill[b] = w.boff[b];
        for (int64_t f = 0; f < nframes; f++) w.bframes[fill[w.bucket_of[f]]++] = f;
    }

    int rc = ST_OK;
    /* ln s_f(y): each frame against itself (self term included). */
    for (int64_t f = 0; f < nframes && rc == ST_OK; f++) {
        const double *xf = x + offsets[f] * ldx;
        int64_t m = offsets[f + 1] - offsets[f];
        rc = log_sums(ctx, w.inner, kopt, xf, m, ldx, NULL, 0, 0, d, h, w.lsf + offsets[f]);
        if (rc == ST_OK && (f & 255) == 255) rc = st_check_interrupt(ctx, FN);
    }
    for (size_t i = 0; i < N; i++) w.LS[i] = -INFINITY;

    int64_t NS = 0, evaluations = 0, capped = 0;
    for (int64_t s = 0; s < nselect && rc == ST_OK; s++) {
        if ((rc = st_check_interrupt(ctx, FN))) break;
        /* Upper bounds Hest(f) for every frame not picked yet. */
        kahan ks = {0, 0};
        for (int64_t i = 0; i < NS; i++) kadd(&ks, w.lnp[i]);
        double sumS = ks.s;
        int64_t nc = 0;
        for (int64_t f = 0; f < nframes; f++) {   /* O(n): serial, cheaper than a region */
            if (w.picked[f]) continue;
            kahan k = {0, 0}, c = {0, 0};
            for (int64_t y = offsets[f]; y < offsets[f + 1]; y++) {
                kadd(&k, lae(w.LS[y], w.lsf[y]));
                kadd(&c, exp(w.LS[y]));
            }
            w.Tnew[f] = k.s;
            w.Cf[f] = c.s;
        }
        /* Smallest possible increase of sum_S ln p_i (see the header), per bucket. */
        for (int64_t i = 0; i < NS; i++) w.pd[i] = w.lnp[i];
        qsort(w.pd, (size_t)NS, sizeof(double), desc_cmp);
        for (int64_t b = 0; b < nb; b++) {
            double M = (double)w.bsize[b];
            int64_t kneed = 0;
            for (int64_t q = w.boff[b]; q < w.boff[b + 1]; q++) {
                int64_t f = w.bframes[q];
                if (w.picked[f]) continue;
                int64_t k = (int64_t)floor(w.Cf[f] / M);
                if (k > kneed) kneed = k;
            }
            if (kneed > NS) kneed = NS;
            w.pref[0] = 0;
            for (int64_t j = 0; j < kneed; j++) w.pref[j + 1] = w.pref[j] + log1p(M * exp(-w.pd[j]));
            for (int64_t q = w.boff[b]; q < w.boff[b + 1]; q++) {
                int64_t f = w.bframes[q];
                if (w.picked[f]) continue;
                int64_t k = (int64_t)floor(w.Cf[f] / M);
                double low;
                if (k >= NS) low = w.pref[NS];
                else low = w.pref[k] + log1p((w.Cf[f] - (double)k * M) * exp(-w.pd[k]));
                low *= 1 - 1e-12;   /* keep it a lower bound through rounding */
                double tot = (double)(NS + offsets[f + 1] - offsets[f]);
                w.cands[nc].key = log(tot) - (sumS + low + w.Tnew[f]) / tot;
                w.cands[nc].f = f;
                nc++;
            }
        }
        qsort(w.cands, (size_t)nc, sizeof(cand), cand_cmp);

        /* Exact evaluation in bound order until the bound proves the choice (or the cap). */
        int64_t best = -1;
        double bestH = -INFINITY;
        int32_t ev = 0;
        for (int64_t c = 0; c < nc; c++) {
            if (best >= 0 && bestH >= w.cands[c].key) break;   /* no later candidate can win */
            if (ev >= max_evals) { capped++; break; }
            int64_t f = w.cands[c].f, m = offsets[f + 1] - offsets[f];
            double tot = (double)(NS + m), Hf;
            if (NS == 0) {
                Hf = w.cands[c].key;                    /* no picked rows: the bound is exact */
            } else {
                rc = log_sums(ctx, w.inner, kopt, x + offsets[f] * ldx, m, ldx, w.XS, NS, d, d, h,
                              w.lnc);
                if (rc) break;
                kahan k = {0, 0};
                for (int64_t i = 0; i < NS; i++) kadd(&k, lae(w.lnp[i], w.lnc[i]));
                Hf = log(tot) - (k.s + w.Tnew[f]) / tot;
            }
            ev++;
            if (Hf > bestH) {
                bestH = Hf;
                best = f;
                double *t = w.best_lnc; w.best_lnc = w.lnc; w.lnc = t;
            }
        }
        evaluations += ev;
        if (rc) break;

        /* Add the chosen frame: update ln p of the picked rows, append its rows. */
        int64_t m = offsets[best + 1] - offsets[best];
        for (int64_t i = 0; i < NS; i++) w.lnp[i] = lae(w.lnp[i], w.best_lnc[i]);
        for (int64_t j = 0; j < m; j++) {
            int64_t y = offsets[best] + j;
            w.lnp[NS + j] = lae(w.LS[y], w.lsf[y]);
            memcpy(w.XS + (size_t)(NS + j) * (size_t)d, x + y * ldx, (size_t)d * sizeof(double));
        }
        NS += m;
        w.picked[best] = 1;
        order[s] = best;
        if (H_path) {
            kahan k = {0, 0};
            for (int64_t i = 0; i < NS; i++) kadd(&k, w.lnp[i]);
            H_path[s] = log((double)NS) - k.s / (double)NS;
        }
        /* ln s_S(y) += the new frame's sums, for every row (picked rows too: cheaper than
         * gathering the others, and harmless). */
        if (s + 1 < nselect) {
            rc = log_sums(ctx, w.inner, kopt, x + offsets[best] * ldx, m, ldx, x, n, ldx, d, h,
                          w.tmp);
            if (rc) break;
            for (size_t i = 0; i < N; i++) w.LS[i] = lae(w.LS[i], w.tmp[i]);
        }
        st_progress(ctx, "entropy: select frames", (double)(s + 1), (double)nselect);
    }
    if (stats) {
        stats->evaluations = evaluations;
        stats->capped_steps = capped;
        stats->seconds = now() - t0;
    }
    work_free(&w);
    return rc;
}
