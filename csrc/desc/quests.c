/* quests.c -- the QUESTS descriptor of local atomic environments (element-agnostic, plus a
 * species-aware extension), for periodic, partially periodic and non-periodic systems.
 *
 * Definition: Schwalbe-Koda, Hamel, Sadigh, Zhou, Lordi, "Model-free estimation of completeness,
 * uncertainties, and outliers in atomistic machine learning using information theory",
 * Nat. Commun. 16, 4014 (2025), Methods "Descriptors" (x1, x2 of the k nearest neighbours);
 * constants and conventions (the 1e-16 / 1e-15 epsilons, x2 divided by k even when fewer
 * neighbours exist, largest-first order) as summarised in shared/docs/quests-reference.md and
 * reproduced against the reference matrices in shared/data/quests_ref.
 *
 * How: neighbours come from the exact k-nearest search of strata/neighbor.h (images included,
 * deterministic tie rule), processed in blocks of atoms in spatial order so neighbourhoods stay in
 * cache.  For each atom the k x k matrix A (A_mn = s_m s_n / (|d_m - d_n| + 1e-15), s = sqrt(w))
 * is symmetric, so "sort every row of A" is the same as "apply one sorting network to the rows
 * of A seen as columns": each compare-exchange (p, q) of the network becomes an elementwise
 * min/max of rows p and q, a contiguous vector loop.  Batcher's odd-even merge sort (Knuth,
 * TAOCP vol. 3, sec. 5.3.4, Algorithm M) gives the network for any k; comparators touching
 * positions >= k are dropped, which is exact (those positions would hold +inf).  Column sums of
 * the sorted rows are then x2.  No per-atom allocation; one workspace per thread.
 *
 * Not done here: gradients of the descriptor, the entropy/diversity metrics (entropy module),
 * QUESTS's treatment of partially periodic cells as non-periodic (we take their images).
 */
#include "../core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

enum { QUESTS_K_DEFAULT = 32, QUESTS_K_MAX = 1024, QUESTS_BLOCK = 1024 };
#define QUESTS_RC_DEFAULT 5.0
#define QUESTS_EPS_X1 1e-16   /* added to r in x1 (QUESTS descriptor_x1) */
#define QUESTS_EPS_X2 1e-15   /* added to |r_jm - r_jn| in x2 (QUESTS descriptor_x2) */

/* w(r) = (1 - (min(r, rc)/rc)^2)^2 (quests-reference.md, "Descriptor") */
static inline double qweight(double r, double rc)
{
    if (r > rc) r = rc;
    double z = r / rc;
    double u = 1 - z * z;
    return u * u;
}

/* Batcher odd-even merge sort comparators for k inputs, as (p, q) pairs with p < q < k. */
static int batcher_pairs(int k, int32_t **out)
{
    int N = 1;
    while (N < k) N *= 2;
    int cap = 64, np = 0;
    int32_t *pr = malloc((size_t)cap * 2 * sizeof *pr);
    if (!pr) return -1;
    for (int p = 1; p < N; p += p)
        for (int kk = p; kk >= 1; kk /= 2)
            for (int j = kk % p; j <= N - 1 - kk; j += 2 * kk)
                for (int i = 0; i <= kk - 1 && i <= N - j - kk - 1; i++)
                    if ((i + j) / (2 * p) == (i + j + kk) / (2 * p)) {
                        int a = i + j, b = i + j + kk;
                        if (b >= k) continue;       /* against a virtual +inf: no-op */
                        if (np == cap) {
                            int32_t *t = realloc(pr, (size_t)(cap *= 2) * 2 * sizeof *pr);
                            if (!t) { free(pr); return -1; }
                            pr = t;
                        }
                        pr[2 * np] = a;
                        pr[2 * np + 1] = b;
                        np++;
                    }
    *out = pr;
    return np;
}

typedef struct qws {        /* per-thread workspace */
    int kp;                 /* k rounded up to a multiple of 8 (vector width) */
    double *A;              /* [kp][kp] */
    double *X, *Y, *Z, *s;  /* [kp] neighbour vectors and sqrt weights */
} qws;

static void qws_free(qws *w)
{
    free(w->A); free(w->X); free(w->Y); free(w->Z); free(w->s);
    memset(w, 0, sizeof *w);
}

static int qws_init(qws *w, int k)
{
    memset(w, 0, sizeof *w);
    w->kp = (k + 7) / 8 * 8;
    size_t kp = (size_t)w->kp;
    w->A = aligned_alloc(64, kp * kp * sizeof(double));
    w->X = aligned_alloc(64, kp * sizeof(double));
    w->Y = aligned_alloc(64, kp * sizeof(double));
    w->Z = aligned_alloc(64, kp * sizeof(double));
    w->s = aligned_alloc(64, kp * sizeof(double));
    if (!w->A || !w->X || !w->Y || !w->Z || !w->s) { qws_free(w); return -1; }
    return 0;
}

/* Row m of A for all columns n < kp: s_m s_n / (|d_m - d_n| + eps).
 * AVX-512: 1/|d| from the 14-bit estimate vrsqrt14pd refined by two Newton steps
 * y <- y (3 - r2 y^2) / 2 (relative error ~1e-16, i.e. an ulp or two: the epsilon 1e-15, a few
 * ulps of |d| ~ 2.5 Å, is below that and is kept only where |d| = 0, coincident atoms, to give
 * QUESTS's value there).  This is ~5x cheaper than sqrt + div, which dominated the kernel.
 * Elsewhere exact sqrt and division (GCC only vectorises sqrt() under -fno-math-errno, hence
 * intrinsics). */
static void a_row(const qws *w, int m, double *restrict row)
{
    const int kp = w->kp;
    const double xm = w->X[m], ym = w->Y[m], zm = w->Z[m], sm = w->s[m];
    int n = 0;
#if defined(__AVX512F__)
    const __m512d vx = _mm512_set1_pd(xm), vy = _mm512_set1_pd(ym), vz = _mm512_set1_pd(zm);
    const __m512d vs = _mm512_set1_pd(sm), half = _mm512_set1_pd(0.5), three = _mm512_set1_pd(3.0);
    const __m512d zero = _mm512_setzero_pd(), inveps = _mm512_set1_pd(1.0 / QUESTS_EPS_X2);
    for (; n < kp; n += 8) {
        __m512d dx = _mm512_sub_pd(_mm512_load_pd(w->X + n), vx);
        __m512d dy = _mm512_sub_pd(_mm512_load_pd(w->Y + n), vy);
        __m512d dz = _mm512_sub_pd(_mm512_load_pd(w->Z + n), vz);
        __m512d r2 = _mm512_add_pd(_mm512_add_pd(_mm512_mul_pd(dx, dx), _mm512_mul_pd(dy, dy)),
                                   _mm512_mul_pd(dz, dz));
        __m512d y = _mm512_rsqrt14_pd(r2);
        y = _mm512_mul_pd(_mm512_mul_pd(half, y), _mm512_fnmadd_pd(_mm512_mul_pd(r2, y), y, three));
        y = _mm512_mul_pd(_mm512_mul_pd(half, y), _mm512_fnmadd_pd(_mm512_mul_pd(r2, y), y, three));
        __mmask8 z = _mm512_cmp_pd_mask(r2, zero, _CMP_EQ_OQ);
        y = _mm512_mask_mov_pd(y, z, inveps);
        _mm512_store_pd(row + n, _mm512_mul_pd(_mm512_mul_pd(vs, _mm512_load_pd(w->s + n)), y));
    }
#elif defined(__AVX2__)
    const __m256d vx = _mm256_set1_pd(xm), vy = _mm256_set1_pd(ym), vz = _mm256_set1_pd(zm);
    const __m256d vs = _mm256_set1_pd(sm), ve = _mm256_set1_pd(QUESTS_EPS_X2);
    for (; n < kp; n += 4) {
        __m256d dx = _mm256_sub_pd(_mm256_load_pd(w->X + n), vx);
        __m256d dy = _mm256_sub_pd(_mm256_load_pd(w->Y + n), vy);
        __m256d dz = _mm256_sub_pd(_mm256_load_pd(w->Z + n), vz);
        __m256d r2 = _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(dx, dx), _mm256_mul_pd(dy, dy)),
                                   _mm256_mul_pd(dz, dz));
        __m256d den = _mm256_add_pd(_mm256_sqrt_pd(r2), ve);
        _mm256_store_pd(row + n, _mm256_div_pd(_mm256_mul_pd(vs, _mm256_load_pd(w->s + n)), den));
    }
#endif
    for (; n < kp; n++) {
        double dx = w->X[n] - xm, dy = w->Y[n] - ym, dz = w->Z[n] - zm;
        row[n] = sm * w->s[n] / (sqrt(dx * dx + dy * dy + dz * dz) + QUESTS_EPS_X2);
    }
}

/* Compare-exchange of two rows, elementwise (explicit min/max: the ternary form compiled to
 * masked blends behind a branch). */
static inline void cx_rows(double *restrict P, double *restrict Q, int kp)
{
    int m = 0;
#if defined(__AVX512F__)
    for (; m < kp; m += 8) {
        __m512d a = _mm512_load_pd(P + m), b = _mm512_load_pd(Q + m);
        _mm512_store_pd(P + m, _mm512_min_pd(a, b));
        _mm512_store_pd(Q + m, _mm512_max_pd(a, b));
    }
#elif defined(__AVX2__)
    for (; m < kp; m += 4) {
        __m256d a = _mm256_load_pd(P + m), b = _mm256_load_pd(Q + m);
        _mm256_store_pd(P + m, _mm256_min_pd(a, b));
        _mm256_store_pd(Q + m, _mm256_max_pd(a, b));
    }
#endif
    for (; m < kp; m++) {
        double a = P[m], b = Q[m];
        P[m] = a < b ? a : b;
        Q[m] = a < b ? b : a;
    }
}

#if defined(__AVX512F__)
/* The default k = 32 (any k in 25..32, kp = 32): Batcher's network for 32 inputs (191
 * comparators; the list batcher_pairs(32) produces, spelled out by a script) applied to 8 columns
 * at a time with all 32 values in registers -- the generic loop above is load/store bound. */
#define CX(a, b) { __m512d t_ = _mm512_min_pd(v##a, v##b); v##b = _mm512_max_pd(v##a, v##b); v##a = t_; }
#define NET32 \
    CX(0, 1) CX(2, 3) CX(4, 5) CX(6, 7) CX(8, 9) CX(10, 11) CX(12, 13) CX(14, 15) CX(16, 17) \
    CX(18, 19) CX(20, 21) CX(22, 23) CX(24, 25) CX(26, 27) CX(28, 29) CX(30, 31) CX(0, 2) \
    CX(1, 3) CX(4, 6) CX(5, 7) CX(8, 10) CX(9, 11) CX(12, 14) CX(13, 15) CX(16, 18) CX(17, 19) \
    CX(20, 22) CX(21, 23) CX(24, 26) CX(25, 27) CX(28, 30) CX(29, 31) CX(1, 2) CX(5, 6) \
    CX(9, 10) CX(13, 14) CX(17, 18) CX(21, 22) CX(25, 26) CX(29, 30) CX(0, 4) CX(1, 5) CX(2, 6) \
    CX(3, 7) CX(8, 12) CX(9, 13) CX(10, 14) CX(11, 15) CX(16, 20) CX(17, 21) CX(18, 22) \
    CX(19, 23) CX(24, 28) CX(25, 29) CX(26, 30) CX(27, 31) CX(2, 4) CX(3, 5) CX(10, 12) \
    CX(11, 13) CX(18, 20) CX(19, 21) CX(26, 28) CX(27, 29) CX(1, 2) CX(3, 4) CX(5, 6) CX(9, 10) \
    CX(11, 12) CX(13, 14) CX(17, 18) CX(19, 20) CX(21, 22) CX(25, 26) CX(27, 28) CX(29, 30) \
    CX(0, 8) CX(1, 9) CX(2, 10) CX(3, 11) CX(4, 12) CX(5, 13) CX(6, 14) CX(7, 15) CX(16, 24) \
    CX(17, 25) CX(18, 26) CX(19, 27) CX(20, 28) CX(21, 29) CX(22, 30) CX(23, 31) CX(4, 8) \
    CX(5, 9) CX(6, 10) CX(7, 11) CX(20, 24) CX(21, 25) CX(22, 26) CX(23, 27) CX(2, 4) CX(3, 5) \
    CX(6, 8) CX(7, 9) CX(10, 12) CX(11, 13) CX(18, 20) CX(19, 21) CX(22, 24) CX(23, 25) \
    CX(26, 28) CX(27, 29) CX(1, 2) CX(3, 4) CX(5, 6) CX(7, 8) CX(9, 10) CX(11, 12) CX(13, 14) \
    CX(17, 18) CX(19, 20) CX(21, 22) CX(23, 24) CX(25, 26) CX(27, 28) CX(29, 30) CX(0, 16) \
    CX(1, 17) CX(2, 18) CX(3, 19) CX(4, 20) CX(5, 21) CX(6, 22) CX(7, 23) CX(8, 24) CX(9, 25) \
    CX(10, 26) CX(11, 27) CX(12, 28) CX(13, 29) CX(14, 30) CX(15, 31) CX(8, 16) CX(9, 17) \
    CX(10, 18) CX(11, 19) CX(12, 20) CX(13, 21) CX(14, 22) CX(15, 23) CX(4, 8) CX(5, 9) \
    CX(6, 10) CX(7, 11) CX(12, 16) CX(13, 17) CX(14, 18) CX(15, 19) CX(20, 24) CX(21, 25) \
    CX(22, 26) CX(23, 27) CX(2, 4) CX(3, 5) CX(6, 8) CX(7, 9) CX(10, 12) CX(11, 13) CX(14, 16) \
    CX(15, 17) CX(18, 20) CX(19, 21) CX(22, 24) CX(23, 25) CX(26, 28) CX(27, 29) CX(1, 2) \
    CX(3, 4) CX(5, 6) CX(7, 8) CX(9, 10) CX(11, 12) CX(13, 14) CX(15, 16) CX(17, 18) CX(19, 20) \
    CX(21, 22) CX(23, 24) CX(25, 26) CX(27, 28) CX(29, 30)
static void sort32_columns(double *A)
{
    for (int c = 0; c < 32; c += 8) {
        __m512d v0 = _mm512_load_pd(A + 0 * 32 + c), v1 = _mm512_load_pd(A + 1 * 32 + c),
                v2 = _mm512_load_pd(A + 2 * 32 + c), v3 = _mm512_load_pd(A + 3 * 32 + c),
                v4 = _mm512_load_pd(A + 4 * 32 + c), v5 = _mm512_load_pd(A + 5 * 32 + c),
                v6 = _mm512_load_pd(A + 6 * 32 + c), v7 = _mm512_load_pd(A + 7 * 32 + c),
                v8 = _mm512_load_pd(A + 8 * 32 + c), v9 = _mm512_load_pd(A + 9 * 32 + c),
                v10 = _mm512_load_pd(A + 10 * 32 + c), v11 = _mm512_load_pd(A + 11 * 32 + c),
                v12 = _mm512_load_pd(A + 12 * 32 + c), v13 = _mm512_load_pd(A + 13 * 32 + c),
                v14 = _mm512_load_pd(A + 14 * 32 + c), v15 = _mm512_load_pd(A + 15 * 32 + c),
                v16 = _mm512_load_pd(A + 16 * 32 + c), v17 = _mm512_load_pd(A + 17 * 32 + c),
                v18 = _mm512_load_pd(A + 18 * 32 + c), v19 = _mm512_load_pd(A + 19 * 32 + c),
                v20 = _mm512_load_pd(A + 20 * 32 + c), v21 = _mm512_load_pd(A + 21 * 32 + c),
                v22 = _mm512_load_pd(A + 22 * 32 + c), v23 = _mm512_load_pd(A + 23 * 32 + c),
                v24 = _mm512_load_pd(A + 24 * 32 + c), v25 = _mm512_load_pd(A + 25 * 32 + c),
                v26 = _mm512_load_pd(A + 26 * 32 + c), v27 = _mm512_load_pd(A + 27 * 32 + c),
                v28 = _mm512_load_pd(A + 28 * 32 + c), v29 = _mm512_load_pd(A + 29 * 32 + c),
                v30 = _mm512_load_pd(A + 30 * 32 + c), v31 = _mm512_load_pd(A + 31 * 32 + c);
        NET32
#define ST(i) _mm512_store_pd(A + (i) * 32 + c, v##i);
        ST(0) ST(1) ST(2) ST(3) ST(4) ST(5) ST(6) ST(7)
        ST(8) ST(9) ST(10) ST(11) ST(12) ST(13) ST(14) ST(15)
        ST(16) ST(17) ST(18) ST(19) ST(20) ST(21) ST(22) ST(23)
        ST(24) ST(25) ST(26) ST(27) ST(28) ST(29) ST(30) ST(31)
#undef ST
    }
}
#undef CX
#undef NET32
#endif

/* Sum of a row of kp (multiple of 8) values, eight running partial sums. */
static inline double row_sum(const double *restrict row, int kp)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int m = 0; m < kp; m += 8)
        for (int l = 0; l < 8; l++) acc[l] += row[m + l];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* One descriptor row [x1 (k) | x2 (k-1)] from the k neighbour slots (found of them real;
 * vectors relative to the central atom, distances). */
static void quests_row(int k, double rc, int found, const double *vec, const double *dist,
                       const int32_t *net, int nnet, qws *w, double *out)
{
    const int kp = w->kp;
    /* x1_m = w(r + 1e-16) / (r + 1e-16) (QUESTS descriptor_x1), zero for missing slots */
    for (int m = 0; m < k; m++) {
        if (m < found) {
            double r = dist[m] + QUESTS_EPS_X1;
            out[m] = qweight(r, rc) / r;
        } else {
            out[m] = 0;
        }
    }
    if (k == 1) return;
    /* x2: s_m = sqrt(w(r_m)) (weights at the plain distance, QUESTS descriptor_x2) */
    for (int m = 0; m < kp; m++) {
        if (m < found) {
            w->X[m] = vec[3 * m]; w->Y[m] = vec[3 * m + 1]; w->Z[m] = vec[3 * m + 2];
            w->s[m] = sqrt(qweight(dist[m], rc));
        } else {
            w->X[m] = w->Y[m] = w->Z[m] = w->s[m] = 0;
        }
    }
    double *A = w->A;
    for (int m = 0; m < kp; m++) {
        double *row = A + (size_t)m * kp;
        if (m < found) {
            a_row(w, m, row);
            row[m] = 0;                 /* A_mm = 0 */
        } else {
            memset(row, 0, (size_t)kp * sizeof *row);
        }
    }
    /* Sort every row: A symmetric, so row p of A holds element p of every row; the network's
     * compare-exchange (p, q) is an elementwise min/max of rows p and q. */
    int off = 0;   /* sorted position p of the k real slots is at row p + off */
#if defined(__AVX512F__)
    if (kp == 32) {
        /* all 32 positions sorted: the kp - k padding rows are zeros and sort first */
        sort32_columns(A);
        off = kp - k;
    } else
#endif
    for (int c = 0; c < nnet; c++)
        cx_rows(A + (size_t)net[2 * c] * kp, A + (size_t)net[2 * c + 1] * kp, kp);
    /* x2_q = (1/k) sum_m S[m][k-1-q]: row p of the sorted A summed over the k rows, largest p
     * first; p = 0 (the zero diagonal) is dropped (quests-reference.md, "Descriptor"). */
    for (int p = 1; p < k; p++) {
        out[k + (k - 1 - p)] = row_sum(A + (size_t)(p + off) * kp, kp) / k;
    }
}

/* ------------------------------------------------------------------------------------------- */

static int resolve_opts(st_ctx *ctx, const char *fn, const st_quests_opts *o, int *k, double *rc,
                        double *gap)
{
    *k = o->k ? o->k : QUESTS_K_DEFAULT;
    *rc = o->cutoff != 0 ? o->cutoff : QUESTS_RC_DEFAULT;
    *gap = o->species_gap != 0 ? o->species_gap : 1.0;
    if (o->k < 0 || *k > QUESTS_K_MAX)
        return st_fail(ctx, ST_ERR_ARG, "%s: k must be >= 1 and <= %d (0 = default %d), got %d",
                       fn, QUESTS_K_MAX, QUESTS_K_DEFAULT, o->k);
    if (!(*rc > 0) || !isfinite(*rc))
        return st_fail(ctx, ST_ERR_ARG, "%s: cutoff must be a finite number > 0 Å (0 = default "
                       "5), got %g", fn, o->cutoff);
    if (!(*gap > 0) || !isfinite(*gap))
        return st_fail(ctx, ST_ERR_ARG, "%s: species_gap must be a finite number > 0 (0 = "
                       "default 1), got %g", fn, o->species_gap);
    return ST_OK;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The species list (given or derived) and each atom's position in it. */
static int species_list(st_ctx *ctx, const char *fn, const st_quests_opts *o, int64_t n,
                        const int32_t *numbers, int32_t **list, int *ns, int32_t *which)
{
    *list = NULL;
    *ns = 0;
    if (o->species && o->nspecies > 0) {
        int32_t *l = malloc((size_t)o->nspecies * sizeof *l);
        if (!l) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", fn);
        memcpy(l, o->species, (size_t)o->nspecies * sizeof *l);
        for (int a = 0; a < o->nspecies; a++)
            for (int b = 0; b < a; b++)
                if (l[a] == l[b]) {
                    free(l);
                    return st_fail(ctx, ST_ERR_ARG, "%s: species list: element %d appears twice",
                                   fn, o->species[a]);
                }
        *list = l;
        *ns = o->nspecies;
    } else if (o->species || o->nspecies) {
        return st_fail(ctx, ST_ERR_ARG, "%s: species list: pointer and count disagree (%d "
                       "species)", fn, o->nspecies);
    } else {
        if (n > 0 && !numbers)
            return st_fail(ctx, ST_ERR_ARG, "%s: species_aware needs atomic numbers", fn);
        int32_t *l = malloc((size_t)(n > 0 ? n : 1) * sizeof *l);
        if (!l) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", fn);
        if (n > 0) memcpy(l, numbers, (size_t)n * sizeof *l);
        qsort(l, (size_t)n, sizeof *l, cmp_i32);
        int m = 0;
        for (int64_t i = 0; i < n; i++) if (m == 0 || l[i] != l[m - 1]) l[m++] = l[i];
        *list = l;
        *ns = m;
    }
    if (which) {
        if (n > 0 && !numbers) {
            free(*list);
            *list = NULL;
            return st_fail(ctx, ST_ERR_ARG, "%s: species_aware needs atomic numbers", fn);
        }
        for (int64_t i = 0; i < n; i++) {
            int s = -1;
            for (int a = 0; a < *ns; a++) if ((*list)[a] == numbers[i]) { s = a; break; }
            if (s < 0) {
                const char *sym = st_element_symbol(numbers[i]);
                st_fail(ctx, ST_ERR_ARG, "%s: atom %lld: element %d (%s) is not in the species "
                        "list", fn, (long long)i, numbers[i], sym ? sym : "?");
                free(*list);
                *list = NULL;
                return ST_ERR_ARG;
            }
            which[i] = s;
        }
    }
    return ST_OK;
}

static int64_t row_dim(int k, int species_aware, int ns)
{
    int64_t d = 2 * (int64_t)k - 1;
    return species_aware && ns >= 2 ? d * (ns + 1) + ns : d;
}

int st_quests_dim(st_ctx *ctx, const st_quests_opts *opts, int64_t n, const int32_t *numbers,
                  int64_t *dim)
{
    static const st_quests_opts defaults;
    if (!opts) opts = &defaults;
    if (!dim) return st_fail(ctx, ST_ERR_ARG, "st_quests_dim: dim is NULL");
    int k;
    double rc, gap;
    int rcode = resolve_opts(ctx, "st_quests_dim", opts, &k, &rc, &gap);
    if (rcode) return rcode;
    int ns = 1;
    if (opts->species_aware) {
        int32_t *list;
        rcode = species_list(ctx, "st_quests_dim", opts, n, numbers, &list, &ns, NULL);
        if (rcode) return rcode;
        free(list);
    }
    *dim = row_dim(k, opts->species_aware, ns);
    return ST_OK;
}

/* Shared state of one st_quests_compute call. */
typedef struct qrun {
    int k, ns, multi, nnet;
    double rc, gap;
    int64_t n, dim, d1;
    const double *pos;
    const int32_t *net, *order, *which;
    int32_t **local;            /* per species: atom -> index in that species' subset, or -1 */
    const st_knn *h;
    st_knn **hs;
    double *out;
} qrun;

enum { QUESTS_CHUNK = 256, QUESTS_SUPER = 64 /* chunks per parallel region */ };

/* One chunk of atoms (consecutive in spatial order) on the calling thread: its k-NN searches
 * (which run single-threaded inside the region) and its rows.  Returns a status; the message
 * is in tin. */
static int quests_chunk(const qrun *R, int64_t c0, int64_t nb, st_ctx *tin, qws *w, double *vec,
                        double *dist, int32_t *found, double *qpos, int32_t *excl)
{
    const int k = R->k;
    const int32_t *blk = R->order + c0;
    int rc = st_knn_search_atoms(tin, R->h, nb, blk, k, NULL, NULL, vec, dist, found);
    if (rc) return rc;
    for (int64_t b = 0; b < nb; b++)
        quests_row(k, R->rc, found[b], vec + 3 * b * k, dist + b * k, R->net, R->nnet, w,
                   R->out + (int64_t)blk[b] * R->dim);
    if (!R->multi) return ST_OK;
    for (int64_t b = 0; b < nb; b++) memcpy(qpos + 3 * b, R->pos + 3 * (int64_t)blk[b], 3 * sizeof *qpos);
    for (int s = 0; s < R->ns; s++) {
        for (int64_t b = 0; b < nb; b++) excl[b] = R->local[s][blk[b]];
        rc = st_knn_search_points(tin, R->hs[s], nb, qpos, excl, k, NULL, NULL, vec, dist, found);
        if (rc) return rc;
        for (int64_t b = 0; b < nb; b++)
            quests_row(k, R->rc, found[b], vec + 3 * b * k, dist + b * k, R->net, R->nnet, w,
                       R->out + (int64_t)blk[b] * R->dim + R->d1 * (1 + s));
    }
    /* central species one-hot, scaled by gamma */
    for (int64_t b = 0; b < nb; b++) {
        double *o = R->out + (int64_t)blk[b] * R->dim + R->d1 * (R->ns + 1);
        for (int s = 0; s < R->ns; s++) o[s] = 0;
        o[R->which[blk[b]]] = R->gap;
    }
    return ST_OK;
}

int st_quests_compute(st_ctx *ctx, int64_t n, const double *pos, const double *cell,
                      const int32_t *pbc, const int32_t *numbers, const st_quests_opts *opts,
                      double *out)
{
    static const char fn[] = "st_quests_compute";
    static const st_quests_opts defaults;
    if (!opts) opts = &defaults;
    qrun R;
    memset(&R, 0, sizeof R);
    int rcode = resolve_opts(ctx, fn, opts, &R.k, &R.rc, &R.gap);
    if (rcode) return rcode;
    if (n < 0) return st_fail(ctx, ST_ERR_ARG, "%s: negative number of atoms %lld", fn, (long long)n);
    if (n > 0 && (!pos || !out))
        return st_fail(ctx, ST_ERR_ARG, "%s: %s is NULL", fn, !pos ? "positions" : "out");

    int32_t *list = NULL, *which = NULL;
    R.ns = 1;
    if (opts->species_aware) {
        which = st_malloc_array((size_t)(n > 0 ? n : 1), sizeof *which);
        if (!which) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", fn);
        rcode = species_list(ctx, fn, opts, n, numbers, &list, &R.ns, which);
        if (rcode) { free(which); return rcode; }
    }
    R.n = n;
    R.pos = pos;
    R.out = out;
    R.which = which;
    R.dim = row_dim(R.k, opts->species_aware, R.ns);
    R.d1 = 2 * (int64_t)R.k - 1;
    R.multi = opts->species_aware && R.ns >= 2;

    st_ctx *in = st_ctx_create();   /* inner calls: their progress is not the caller's */
    int32_t *net = NULL, *order = NULL;
    st_knn *h = NULL;
    double *sub = NULL;
    R.nnet = R.k > 1 ? batcher_pairs(R.k, &net) : 0;
    R.net = net;
    order = st_malloc_array((size_t)(n > 0 ? n : 1), sizeof *order);
    R.order = order;
    if (!in || R.nnet < 0 || !order) {
        rcode = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", fn);
        goto done;
    }
    if (n == 0) goto done;

    rcode = st_knn_create(in, n, pos, cell, pbc, R.k, &h);
    if (rcode) { rcode = st_fail(ctx, rcode, "%s: %s", fn, st_ctx_message(in)); goto done; }
    R.h = h;
    st_knn_spatial_order(h, order);
    if (R.multi) {
        R.hs = calloc((size_t)R.ns, sizeof *R.hs);
        R.local = calloc((size_t)R.ns, sizeof *R.local);
        sub = st_malloc_array((size_t)n * 3, sizeof *sub);
        if (!R.hs || !R.local || !sub) { rcode = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", fn); goto done; }
        for (int s = 0; s < R.ns; s++) {
            R.local[s] = st_malloc_array((size_t)n, sizeof *R.local[s]);
            if (!R.local[s]) { rcode = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", fn); goto done; }
            int64_t m = 0;
            for (int64_t i = 0; i < n; i++) {
                if (which[i] == s) {
                    R.local[s][i] = (int32_t)m;
                    memcpy(sub + 3 * m, pos + 3 * i, 3 * sizeof *sub);
                    m++;
                } else {
                    R.local[s][i] = -1;
                }
            }
            rcode = st_knn_create(in, m, sub, cell, pbc, R.k, &R.hs[s]);
            if (rcode) { rcode = st_fail(ctx, rcode, "%s: %s", fn, st_ctx_message(in)); goto done; }
        }
    }

    /* Chunks of QUESTS_CHUNK atoms in spatial order, handed out dynamically; a parallel region
     * covers QUESTS_SUPER chunks so that progress and interrupts are handled between regions by
     * the calling thread while barriers stay rare. */
    const int64_t C = QUESTS_CHUNK, nch = (n + C - 1) / C;
    for (int64_t s0 = 0; s0 < nch; s0 += QUESTS_SUPER) {
        int64_t s1 = s0 + QUESTS_SUPER < nch ? s0 + QUESTS_SUPER : nch;
        int fail = 0;
        char msg[512] = "";
        #pragma omp parallel num_threads(st_threads())
        {
            st_ctx *tin = st_ctx_create();
            qws w;
            memset(&w, 0, sizeof w);
            int ok = tin && qws_init(&w, R.k) == 0;
            double *vec = st_malloc_array((size_t)C * R.k * 3, sizeof *vec);
            double *dist = st_malloc_array((size_t)C * R.k, sizeof *dist);
            int32_t *found = st_malloc_array((size_t)C, sizeof *found);
            double *qpos = st_malloc_array((size_t)C * 3, sizeof *qpos);
            int32_t *excl = st_malloc_array((size_t)C, sizeof *excl);
            if (!vec || !dist || !found || !qpos || !excl) ok = 0;
            #pragma omp for schedule(dynamic, 1)
            for (int64_t ch = s0; ch < s1; ch++) {
                int f;
                #pragma omp atomic read
                f = fail;
                if (f) continue;
                int64_t c0 = ch * C, nb = c0 + C < n ? C : n - c0;
                int rc = ok ? quests_chunk(&R, c0, nb, tin, &w, vec, dist, found, qpos, excl)
                            : ST_ERR_NOMEM;
                if (rc) {
                    #pragma omp critical(st_quests_fail)
                    if (!fail) {
                        fail = rc;
                        snprintf(msg, sizeof msg, "%s", ok ? st_ctx_message(tin) : "out of memory");
                    }
                }
            }
            qws_free(&w);
            free(vec); free(dist); free(found); free(qpos); free(excl);
            st_ctx_destroy(tin);
        }
        if (fail) {
            if (fail == ST_ERR_INTERRUPTED) rcode = st_fail(ctx, fail, "%s: interrupted", fn);
            else rcode = st_fail(ctx, fail, "%s: %s", fn, msg);
            goto done;
        }
        rcode = st_check_interrupt(ctx, fn);
        if (rcode) goto done;
        st_progress(ctx, "quests", (double)(s1 * C < n ? s1 * C : n), (double)n);
    }
    rcode = ST_OK;
done:
    if (R.hs) for (int s = 0; s < R.ns; s++) st_knn_destroy(R.hs[s]);
    if (R.local) for (int s = 0; s < R.ns; s++) free(R.local[s]);
    free(R.hs); free(R.local);
    st_knn_destroy(h);
    st_ctx_destroy(in);
    free(net); free(order); free(sub); free(list); free(which);
    return rcode;
}

int st_quests_frame(st_ctx *ctx, st_atoms *frame, const st_quests_opts *opts, double *out)
{
    if (!frame) return st_fail(ctx, ST_ERR_ARG, "st_quests_frame: frame is NULL");
    const double *cell = st_atoms_has_cell(frame) ? st_atoms_cell(frame) : NULL;
    return st_quests_compute(ctx, st_atoms_count(frame), st_atoms_positions(frame), cell,
                             st_atoms_pbc(frame), st_atoms_numbers(frame), opts, out);
}
