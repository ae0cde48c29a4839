/* neighbor.c -- neighbour search with periodic images: cutoff lists (full/half, CSR) and exact k
 * nearest neighbours, for any triclinic cell and any per-axis periodicity, in linear time and
 * memory.
 *
 * Key idea: cell lists (binning; Hockney & Eastwood, "Computer Simulation Using Particles", 1988,
 * sec. 8-4; Allen & Tildesley, "Computer Simulation of Liquids", 2nd ed., sec. 5.3.2) laid along
 * the reciprocal directions of the cell.  Write r = f B, where the rows of B are the lattice
 * vectors on periodic axes and unit vectors perpendicular to them on the others, so
 * f_a = r . g_a with g_a the a-th column of B^-1 (the reciprocal vector).  Because
 *     |f_a(p) - f_a(q)| <= |p - q| |g_a|                     (Cauchy-Schwarz)      (1)
 * and d_a = 1/|g_a| is the perpendicular width of the cell along a, every point within rho of q
 * lies within rho/d_a of q in f_a: a block of bins reaching rho past q in perpendicular distance
 * along each axis contains the whole sphere.  Periodic axes are an infinite lattice of bins, so
 * a block wider than the cell simply visits a bin several times with different image shifts;
 * this covers cutoffs larger than the cell, including an atom's own images.
 *
 * Exactness: bins hold wrapped positions (r - m.cell, m = floor(f)), which are only used to
 * pre-filter with a rounding margin.  Every reported pair is recomputed canonically from the
 * positions as given, v = (r_j - r_i) + (s0 a + s1 b + s2 c), and decided on that value, so a
 * pair's inclusion, its distance and the k-nearest tie order do not depend on bins or threads.
 *
 * Speed: per home bin the neighbourhood (bins within range, each with its image translation) is
 * gathered into contiguous arrays once; each home atom then runs one vectorised distance loop and
 * a branch-free selection.  Cutoff lists use two passes (count, then fill in place), so rows are
 * written in a fixed order whatever the number of threads.
 *
 * k nearest: fast path on the gathered 3x3x3 neighbourhood of the query's bin with an adaptive
 * pre-filter radius; the answer is accepted only with a proof: the k-th distance plus margins lies
 * within the pre-filter radius and within the distance from the query to the block boundary (by
 * (1)), so no unseen point can be nearer.  Otherwise a generic search grows the block shell by
 * shell until the same proof holds; a non-periodic system with fewer than k other points stops
 * when the block covers every bin.  Ties: total order (distance, j, shift).
 *
 * Not done here: Verlet skins / incremental updates, neighbour lists per species, GPU.
 */
#include "../core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__AVX512F__) && defined(__AVX512VL__)
#include <immintrin.h>
#define HAVE_AVX512_COMPRESS 1
#endif

/* Relative rounding margin: 1e-12 is ~4500 ulps of the coordinate scale, far above the error of
 * the few additions that separate the wrapped and canonical computations. */
#define MARGIN_REL 1e-12

/* k nearest: bin width as a multiple of the estimated k-th neighbour distance.  One bin of slack
 * around the query must usually hold the k nearest; 1.0 measured best in bench_neighbor. */
#define KNN_BIN_WIDTH 1.0

typedef struct grid {
    int64_t n;
    int32_t per[3];      /* periodic axes */
    int32_t nper;
    double lat[9];       /* rows: cell vectors on periodic axes, zero elsewhere (for shifts) */
    double G[9];         /* B^-1: f = r G (f_a = sum_c r_c G[3c+a]) */
    double perp[3];      /* Å per unit of f along each axis (perpendicular width, or 1) */
    double org[3];       /* origin of bins in f units (0 periodic, min f otherwise) */
    double wf[3];        /* bin width in f units */
    double w[3];         /* bin width in Å, measured perpendicular */
    int32_t nb[3];
    int64_t nbins;
    int64_t *bstart;     /* [nbins+1] atoms of bin b are slots bstart[b] .. bstart[b+1]-1 */
    /* everything below is in bin order ("slots"), so neighbourhoods are contiguous in memory */
    double *x, *y, *z;   /* wrapped Cartesian positions r - m.cell */
    double *op;          /* [n][3] positions as given */
    int32_t *om;         /* [n][3] wrap integers m */
    int32_t *idx;        /* slot -> original index */
    int32_t *slot;       /* original index -> slot */
    double scale;        /* coordinate scale for rounding margins */
    double sumlat;       /* sum of |lattice vector| over periodic axes */
    double rk_est;       /* knn: estimated distance of the k_hint-th neighbour (Å) */
} grid;

static void grid_free(grid *g)
{
    if (!g) return;
    free(g->bstart); free(g->x); free(g->y); free(g->z); free(g->op); free(g->om);
    free(g->idx); free(g->slot);
    memset(g, 0, sizeof *g);
}

static double norm3(const double *v) { return sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]); }
static void cross3(const double *a, const double *b, double *c)
{
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}

static const char *axis_name(int a) { return a == 0 ? "a" : a == 1 ? "b" : "c"; }

/* The lattice translation s.cell, always evaluated in this order so that a pair and its reverse
 * get exactly opposite vectors. */
static inline void shift_vec(const double *lat, const int32_t *s, double *t)
{
    for (int c = 0; c < 3; c++)
        t[c] = ((double)s[0] * lat[c] + (double)s[1] * lat[3 + c]) + (double)s[2] * lat[6 + c];
}

/* Canonical vector r_j + s.cell - r_i from the positions as given (r_j at slot t); returns its
 * squared length. */
static inline double canon(const grid *g, const double *ri, int64_t t, const int32_t *s, double *v)
{
    double tr[3];
    shift_vec(g->lat, s, tr);
    const double *rj = g->op + 3 * t;
    v[0] = (rj[0] - ri[0]) + tr[0];
    v[1] = (rj[1] - ri[1]) + tr[1];
    v[2] = (rj[2] - ri[2]) + tr[2];
    return v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
}

/* Output arrays of a list can be GBs: ask for transparent huge pages, which cuts the first-touch
 * page faults (measured ~35% of the build time with 4 KiB pages) by 512x.  Freed with free(). */
static void *big_alloc(size_t count, size_t size)
{
    if (size && count > ((size_t)1 << 46) / size) return NULL;
    size_t bytes = count * size;
    const size_t huge = (size_t)2 << 20;
    if (bytes < 2 * huge) return malloc(bytes ? bytes : 1);
    bytes = (bytes + huge - 1) / huge * huge;
    void *p = aligned_alloc(huge, bytes);
#ifdef MADV_HUGEPAGE
    if (p) madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

/* Threads for a kernel region: one when called from inside a parallel region (callers such as
 * the descriptors run one search per thread), st_threads() otherwise. */
static int team_size(void)
{
#ifdef _OPENMP
    if (omp_in_parallel()) return 1;
#endif
    return st_threads();
}

static inline int64_t floordiv(int64_t a, int64_t b) { int64_t q = a / b; return (a % b < 0) ? q - 1 : q; }

/* Validates the geometry, builds the binning basis, wraps and bins the atoms.  `target` is the
 * wanted bin width in Å (<= 0: one bin per axis); kdens > 0 instead sizes bins from the density
 * so that a 3x3x3 block usually holds the kdens nearest neighbours (width 0.9 x the radius of a
 * sphere holding kdens atoms; see knn_create).  Keeps bin-order copies of what it needs. */
static int grid_build(st_ctx *ctx, const char *fn, int64_t n, const double *pos,
                      const double *cell, const int32_t *pbc, double target, int kdens, grid *g)
{
    memset(g, 0, sizeof *g);
    if (n < 0 || n > INT32_MAX - 1)
        return st_fail(ctx, ST_ERR_ARG, "%s: number of atoms %lld out of range (0 .. 2^31-2)", fn,
                       (long long)n);
    if (n > 0 && !pos) return st_fail(ctx, ST_ERR_ARG, "%s: positions is NULL", fn);
    g->n = n;
    double B[9] = {0};
    for (int a = 0; a < 3; a++) {
        g->per[a] = pbc ? (pbc[a] != 0) : 0;
        g->nper += g->per[a];
        if (!g->per[a]) continue;
        if (!cell)
            return st_fail(ctx, ST_ERR_ARG, "%s: pbc[%d] = 1 but no cell was given", fn, a);
        for (int c = 0; c < 3; c++) {
            if (!isfinite(cell[3 * a + c]))
                return st_fail(ctx, ST_ERR_ARG, "%s: cell vector %s: component %d is not finite",
                               fn, axis_name(a), c);
            g->lat[3 * a + c] = B[3 * a + c] = cell[3 * a + c];
        }
        if (!(norm3(cell + 3 * a) > 0))
            return st_fail(ctx, ST_ERR_ARG, "%s: pbc[%d] = 1 but cell vector %s has zero length",
                           fn, a, axis_name(a));
    }
    /* Non-periodic axes get unit vectors perpendicular to the periodic ones (the user's vectors
     * there play no role: no images are taken along them). */
    int P[3], Q[3], np = 0, nq = 0;
    for (int a = 0; a < 3; a++) { if (g->per[a]) P[np++] = a; else Q[nq++] = a; }
    if (np == 3) {
        double vol = fabs(st_cell_volume(B));
        if (!(vol > 1e-10 * norm3(B) * norm3(B + 3) * norm3(B + 6)))
            return st_fail(ctx, ST_ERR_ARG,
                           "%s: periodic cell is singular (vectors a, b, c linearly dependent; "
                           "volume %g Å^3)", fn, st_cell_volume(B));
    } else if (np == 2) {
        double e[3];
        cross3(B + 3 * P[0], B + 3 * P[1], e);
        double ne = norm3(e);
        if (!(ne > 1e-10 * norm3(B + 3 * P[0]) * norm3(B + 3 * P[1])))
            return st_fail(ctx, ST_ERR_ARG,
                           "%s: periodic cell vectors %s and %s are parallel (zero area)", fn,
                           axis_name(P[0]), axis_name(P[1]));
        for (int c = 0; c < 3; c++) B[3 * Q[0] + c] = e[c] / ne;
    } else if (np == 1) {
        const double *a = B + 3 * P[0];
        double na = norm3(a), u[3] = {a[0] / na, a[1] / na, a[2] / na};
        int c0 = 0; /* coordinate axis least aligned with a */
        for (int c = 1; c < 3; c++) if (fabs(u[c]) < fabs(u[c0])) c0 = c;
        double e1[3] = {0, 0, 0}, e2[3];
        e1[c0] = 1;
        double d = u[c0];
        for (int c = 0; c < 3; c++) e1[c] -= d * u[c];
        double n1 = norm3(e1);
        for (int c = 0; c < 3; c++) e1[c] /= n1;
        cross3(u, e1, e2);
        for (int c = 0; c < 3; c++) { B[3 * Q[0] + c] = e1[c]; B[3 * Q[1] + c] = e2[c]; }
    } else {
        B[0] = B[4] = B[8] = 1;
    }
    if (st_cell_inverse(B, g->G) != ST_OK)
        return st_fail(ctx, ST_ERR_ARG, "%s: periodic cell is singular", fn);
    for (int a = 0; a < 3; a++) {
        double ga[3] = {g->G[a], g->G[3 + a], g->G[6 + a]};
        g->perp[a] = 1.0 / norm3(ga);
        if (g->per[a]) g->sumlat += norm3(g->lat + 3 * a);
    }

    g->x = st_malloc_array((size_t)n, sizeof(double));
    g->y = st_malloc_array((size_t)n, sizeof(double));
    g->z = st_malloc_array((size_t)n, sizeof(double));
    g->op = st_malloc_array((size_t)n * 3, sizeof(double));
    g->om = st_malloc_array((size_t)n * 3, sizeof(int32_t));
    g->idx = st_malloc_array((size_t)n, sizeof(int32_t));
    g->slot = st_malloc_array((size_t)n, sizeof(int32_t));
    int32_t *bin = st_malloc_array((size_t)n, sizeof(int32_t));
    int32_t *mw = st_malloc_array((size_t)n * 3, sizeof(int32_t));
    double *f = st_malloc_array((size_t)n * 3, sizeof(double));
    double *wp = st_malloc_array((size_t)n * 3, sizeof(double));
    if (!g->x || !g->y || !g->z || !g->op || !g->om || !g->idx || !g->slot || !bin || !mw || !f ||
        !wp) {
        free(bin); free(mw); free(f); free(wp); grid_free(g);
        return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory for %lld atoms", fn, (long long)n);
    }

    /* Fractional coordinates, wrap integers, bounding box of non-periodic axes. */
    int64_t bad = INT64_MAX;
    double maxabs = 0, fmin0 = INFINITY, fmin1 = INFINITY, fmin2 = INFINITY;
    double fmax0 = -INFINITY, fmax1 = -INFINITY, fmax2 = -INFINITY;
    int32_t maxm = 0;
    const double *G = g->G;
    #pragma omp parallel for num_threads(st_threads()) schedule(static) \
        reduction(min: bad, fmin0, fmin1, fmin2) reduction(max: maxabs, maxm, fmax0, fmax1, fmax2)
    for (int64_t i = 0; i < n; i++) {
        const double *r = pos + 3 * i;
        if (!isfinite(r[0]) || !isfinite(r[1]) || !isfinite(r[2])) { if (i < bad) bad = i; continue; }
        double fi[3];
        int32_t mi[3] = {0, 0, 0};
        for (int a = 0; a < 3; a++) {
            fi[a] = r[0] * G[a] + r[1] * G[3 + a] + r[2] * G[6 + a];
            if (g->per[a]) {
                double fl = floor(fi[a]);
                if (fabs(fl) > 1e9) { if (i < bad) bad = i; fl = 0; }
                mi[a] = (int32_t)fl;
                fi[a] -= fl;
                if (fi[a] >= 1.0) fi[a] = 0x1.fffffffffffffp-1; /* f = -tiny rounds to 1 */
                int32_t am = mi[a] < 0 ? -mi[a] : mi[a];
                if (am > maxm) maxm = am;
            }
        }
        double t[3];
        shift_vec(g->lat, mi, t);
        for (int c = 0; c < 3; c++) {
            wp[3 * i + c] = r[c] - t[c];
            double ar = fabs(r[c]);
            if (ar > maxabs) maxabs = ar;
        }
        memcpy(mw + 3 * i, mi, sizeof mi);
        memcpy(f + 3 * i, fi, sizeof fi);
        if (fi[0] < fmin0) fmin0 = fi[0];
        if (fi[0] > fmax0) fmax0 = fi[0];
        if (fi[1] < fmin1) fmin1 = fi[1];
        if (fi[1] > fmax1) fmax1 = fi[1];
        if (fi[2] < fmin2) fmin2 = fi[2];
        if (fi[2] > fmax2) fmax2 = fi[2];
    }
    if (bad != INT64_MAX) {
        const double *r = pos + 3 * bad;
        free(bin); free(mw); free(f); free(wp); grid_free(g);
        if (!isfinite(r[0]) || !isfinite(r[1]) || !isfinite(r[2]))
            return st_fail(ctx, ST_ERR_ARG, "%s: atom %lld: position is not finite (%g, %g, %g)",
                           fn, (long long)bad, r[0], r[1], r[2]);
        return st_fail(ctx, ST_ERR_ARG, "%s: atom %lld: position is more than 1e9 cells away",
                       fn, (long long)bad);
    }
    g->scale = 1 + maxabs + (maxm + 2.0) * g->sumlat;
    double flo[3] = {fmin0, fmin1, fmin2}, fhi[3] = {fmax0, fmax1, fmax2};

    /* Bins: as close to `target` as the extent allows, never more than ~2 per atom (linear
     * memory even for a sparse cluster with a small cutoff). */
    double ext[3];
    for (int a = 0; a < 3; a++) {
        if (g->per[a]) { ext[a] = g->perp[a]; g->org[a] = 0; }
        else if (n > 0) { ext[a] = fhi[a] - flo[a]; g->org[a] = flo[a]; }
        else { ext[a] = 0; g->org[a] = 0; }
    }
    if (kdens > 0 && n > 0) {
        /* volume: periodic measure |det B| times the spans of non-periodic axes (>= 1 Å each) */
        double vol = 1.0 / fabs(st_cell_volume(g->G));
        for (int a = 0; a < 3; a++) if (!g->per[a]) vol *= fmax(ext[a], 1.0);
        double rho = (double)n / vol;
        g->rk_est = cbrt(3.0 * kdens / (4.0 * 3.14159265358979323846 * rho));
        target = KNN_BIN_WIDTH * g->rk_est;
    }
    double nbd[3];
    for (int a = 0; a < 3; a++) {
        double v = target > 0 ? floor(ext[a] / target) : 1;
        nbd[a] = v < 1 ? 1 : v > 1e6 ? 1e6 : v;
    }
    double cap = 2.0 * (double)n + 64;
    if (cap > 1e9) cap = 1e9;
    while (nbd[0] * nbd[1] * nbd[2] > cap) {
        double s = cbrt(nbd[0] * nbd[1] * nbd[2] / cap) * 1.0001;
        for (int a = 0; a < 3; a++) nbd[a] = fmax(1, floor(nbd[a] / s));
    }
    for (int a = 0; a < 3; a++) {
        g->nb[a] = (int32_t)nbd[a];
        if (g->per[a]) g->wf[a] = 1.0 / g->nb[a];
        else g->wf[a] = ext[a] > 0 ? ext[a] / g->nb[a] : 1.0;
        g->w[a] = g->wf[a] * g->perp[a];
    }
    g->nbins = (int64_t)g->nb[0] * g->nb[1] * g->nb[2];
    g->bstart = st_calloc_array((size_t)g->nbins + 1, sizeof(int64_t));
    if (!g->bstart) {
        free(bin); free(mw); free(f); free(wp); grid_free(g);
        return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory for %lld bins", fn,
                       (long long)g->nbins);
    }
    #pragma omp parallel for num_threads(st_threads()) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int64_t c[3];
        for (int a = 0; a < 3; a++) {
            double u = floor((f[3 * i + a] - g->org[a]) / g->wf[a]);
            c[a] = u < 0 ? 0 : u >= g->nb[a] ? g->nb[a] - 1 : (int64_t)u;
        }
        bin[i] = (int32_t)(c[0] + g->nb[0] * (c[1] + g->nb[1] * c[2]));
    }
    /* Counting sort, stable: within a bin atoms keep their original order. */
    for (int64_t i = 0; i < n; i++) g->bstart[bin[i] + 1]++;
    for (int64_t b = 0; b < g->nbins; b++) g->bstart[b + 1] += g->bstart[b];
    for (int64_t i = 0; i < n; i++) g->slot[i] = (int32_t)g->bstart[bin[i]]++;
    for (int64_t b = g->nbins; b > 0; b--) g->bstart[b] = g->bstart[b - 1];
    g->bstart[0] = 0;
    #pragma omp parallel for num_threads(st_threads()) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        int64_t t = g->slot[i];
        g->idx[t] = (int32_t)i;
        g->x[t] = wp[3 * i];
        g->y[t] = wp[3 * i + 1];
        g->z[t] = wp[3 * i + 2];
        memcpy(g->op + 3 * t, pos + 3 * i, 3 * sizeof(double));
        memcpy(g->om + 3 * t, mw + 3 * i, 3 * sizeof(int32_t));
    }
    free(bin); free(mw); free(f); free(wp);
    return ST_OK;
}

/* f coordinates of a point: wrapped on periodic axes (with the wrap integers), bin coordinates
 * clamped into the grid. */
static void grid_locate(const grid *g, const double *r, double *f, int32_t *m, int64_t *c)
{
    for (int a = 0; a < 3; a++) {
        f[a] = r[0] * g->G[a] + r[1] * g->G[3 + a] + r[2] * g->G[6 + a];
        m[a] = 0;
        if (g->per[a]) {
            double fl = floor(f[a]);
            m[a] = (int32_t)fl;
            f[a] -= fl;
            if (f[a] >= 1.0) f[a] = 0x1.fffffffffffffp-1;
        }
        double u = floor((f[a] - g->org[a]) / g->wf[a]);
        c[a] = u < 0 ? 0 : u >= g->nb[a] ? g->nb[a] - 1 : (int64_t)u;
    }
}

/* ============================ gathered neighbourhoods ============================ */

/* A home bin's neighbourhood (every (bin, image) within `range` bins) copied into contiguous
 * arrays, positions already translated by their image: one vectorised loop then gives the
 * pre-filter distances of a home atom to all candidates, and the bin walk is paid once per home
 * bin instead of once per atom. */
typedef struct gbuf {
    int64_t bin;                 /* home bin gathered (knn cache key), -1 none */
    int64_t n, cap;
    double *x, *y, *z;           /* wrapped x_j + S.cell */
    int32_t *slot, *img;         /* bin-order slot; which image (row of S) */
    double *d2;                  /* per-atom scratch [cap] */
    int32_t *sel;                /* compaction scratch [cap] */
    int32_t *S;                  /* [nS][3] image shifts */
    int64_t nS, capS;
} gbuf;

static void gbuf_free(gbuf *b)
{
    free(b->x); free(b->y); free(b->z); free(b->slot); free(b->img); free(b->d2); free(b->sel);
    free(b->S);
    memset(b, 0, sizeof *b);
    b->bin = -1;
}

static int gbuf_reserve(gbuf *b, int64_t need)
{
    if (need <= b->cap) return 0;
    int64_t cap = b->cap ? b->cap : 512;
    while (cap < need) cap *= 2;
    double *x = realloc(b->x, cap * sizeof *x); if (x) b->x = x;
    double *y = realloc(b->y, cap * sizeof *y); if (y) b->y = y;
    double *z = realloc(b->z, cap * sizeof *z); if (z) b->z = z;
    double *d = realloc(b->d2, cap * sizeof *d); if (d) b->d2 = d;
    int32_t *s1 = realloc(b->slot, cap * sizeof *s1); if (s1) b->slot = s1;
    int32_t *s2 = realloc(b->img, cap * sizeof *s2); if (s2) b->img = s2;
    int32_t *s3 = realloc(b->sel, (cap + 16) * sizeof *s3); if (s3) b->sel = s3; /* +16: slack
                                                         for whole-vector compressed stores */
    if (!x || !y || !z || !d || !s1 || !s2 || !s3) return -1;
    b->cap = cap;
    return 0;
}

static int gather(const grid *g, const int64_t *c, const int64_t *range, gbuf *b)
{
    b->n = 0;
    b->nS = 0;
    b->bin = -1;
    int64_t lo[3], hi[3];
    for (int a = 0; a < 3; a++) {
        lo[a] = c[a] - range[a];
        hi[a] = c[a] + range[a];
        if (!g->per[a]) {
            if (lo[a] < 0) lo[a] = 0;
            if (hi[a] > g->nb[a] - 1) hi[a] = g->nb[a] - 1;
        }
    }
    for (int64_t t2 = lo[2]; t2 <= hi[2]; t2++)
    for (int64_t t1 = lo[1]; t1 <= hi[1]; t1++)
    for (int64_t t0 = lo[0]; t0 <= hi[0]; t0++) {
        int64_t t[3] = {t0, t1, t2}, cc[3];
        int32_t S[3];
        for (int a = 0; a < 3; a++) {
            int64_t q = floordiv(t[a], g->nb[a]);
            cc[a] = t[a] - q * g->nb[a];
            S[a] = (int32_t)q;
        }
        int64_t qb = cc[0] + g->nb[0] * (cc[1] + g->nb[1] * cc[2]);
        int64_t u0 = g->bstart[qb], u1 = g->bstart[qb + 1], nu = u1 - u0;
        if (nu == 0) continue;
        if (b->nS >= b->capS) {
            int64_t cap = b->capS ? 2 * b->capS : 64;
            int32_t *p = realloc(b->S, cap * 3 * sizeof *p);
            if (!p) return -1;
            b->S = p;
            b->capS = cap;
        }
        if (gbuf_reserve(b, b->n + nu)) return -1;
        memcpy(b->S + 3 * b->nS, S, sizeof S);
        double T[3];
        shift_vec(g->lat, S, T);
        double *X = b->x + b->n, *Y = b->y + b->n, *Z = b->z + b->n;
        int32_t *SL = b->slot + b->n, *IM = b->img + b->n, img = (int32_t)b->nS;
        for (int64_t e = 0; e < nu; e++) {
            X[e] = g->x[u0 + e] + T[0];
            Y[e] = g->y[u0 + e] + T[1];
            Z[e] = g->z[u0 + e] + T[2];
            SL[e] = (int32_t)(u0 + e);
            IM[e] = img;
        }
        b->n += nu;
        b->nS++;
    }
    return 0;
}

/* Pre-filter distances from (qx, qy, qz) to every gathered candidate, then the indices of those
 * with d2 <= thr2 (branch-free compaction).  Returns their number. */
static int64_t gbuf_select(gbuf *b, double qx, double qy, double qz, double thr2)
{
    const int64_t n = b->n;
    const double *restrict X = b->x, *restrict Y = b->y, *restrict Z = b->z;
    double *restrict D = b->d2;
    for (int64_t u = 0; u < n; u++) {
        double dx = X[u] - qx, dy = Y[u] - qy, dz = Z[u] - qz;
        D[u] = dx * dx + dy * dy + dz * dz;
    }
    int32_t *restrict sel = b->sel;
    int64_t m = 0, u = 0;
#ifdef HAVE_AVX512_COMPRESS
    /* compress the indices of passing lanes 8 at a time (the scalar loop below is bound by its
     * loop-carried count at ~3 cycles per candidate) */
    __m256i id = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i step = _mm256_set1_epi32(8);
    const __m512d thr = _mm512_set1_pd(thr2);
    for (; u + 8 <= n; u += 8) {
        __mmask8 mk = _mm512_cmp_pd_mask(_mm512_loadu_pd(D + u), thr, _CMP_LE_OQ);
        _mm256_storeu_si256((__m256i *)(sel + m), _mm256_maskz_compress_epi32(mk, id));
        m += __builtin_popcount((unsigned)mk);
        id = _mm256_add_epi32(id, step);
    }
#endif
    for (; u < n; u++) {
        sel[m] = (int32_t)u;
        m += D[u] <= thr2;
    }
    return m;
}

/* ============================== cutoff neighbour lists ============================== */

struct st_nlist {
    int64_t n, npairs;
    size_t cap;                /* pairs the arrays can hold (st_nlist_update reuses them) */
    double cutoff;
    int64_t *offsets;
    int32_t *indices, *shifts;
    double *vectors, *distances;
};

typedef struct nlwork {
    const grid *g;
    double rc2, pre2, in2;     /* cutoff^2, pre-filter bound, surely-inside bound (or -1) */
    int64_t range[3];
    int half;
    int64_t *offsets;          /* count pass: counts at [i+1]; fill pass: row starts */
    st_nlist *nl;              /* fill pass target */
} nlwork;

static inline int lex_positive(const int32_t *s)
{
    return s[0] > 0 || (s[0] == 0 && (s[1] > 0 || (s[1] == 0 && s[2] > 0)));
}

/* One home bin: gather its neighbourhood, then each home atom against every candidate.
 * fill = 0 counts, 1 writes; both passes produce a row in the same order. */
static int nl_home_bin(const nlwork *w, int64_t h, int fill, gbuf *b)
{
    const grid *g = w->g;
    int64_t s0 = g->bstart[h], s1 = g->bstart[h + 1];
    if (s0 == s1) return 0;
    int64_t hc[3] = {h % g->nb[0], (h / g->nb[0]) % g->nb[1], h / ((int64_t)g->nb[0] * g->nb[1])};
    if (gather(g, hc, w->range, b)) return -1;
    st_nlist *nl = w->nl;
    for (int64_t s = s0; s < s1; s++) {
        int64_t m = gbuf_select(b, g->x[s], g->y[s], g->z[s], w->pre2);
        const int32_t i = g->idx[s];
        const double *ri = g->op + 3 * s;
        const int32_t *mi = g->om + 3 * s;
        int64_t p = fill ? w->offsets[i] : 0, cnt = 0;
        if (!fill && !w->half && w->in2 > 0) {
            /* count: candidates surely inside need no more work; the atom itself is one of them
             * (its pre-filter distance is exactly 0: same wrapped position, zero translation) */
            int64_t border = 0;
            const double *D = b->d2;
            for (int64_t e = 0; e < m; e++) {
                int32_t u = b->sel[e];
                border += !(D[u] < w->in2);
            }
            cnt = m - border - 1;
            for (int64_t e = 0; e < m && border; e++) {
                int32_t u = b->sel[e];
                if (D[u] < w->in2) continue;
                border--;
                int32_t t = b->slot[u];
                const int32_t *S = b->S + 3 * b->img[u], *mj = g->om + 3 * (int64_t)t;
                int32_t sh[3] = {S[0] - mj[0] + mi[0], S[1] - mj[1] + mi[1], S[2] - mj[2] + mi[2]};
                double v[3];
                cnt += canon(g, ri, t, sh, v) < w->rc2;
            }
            w->offsets[i + 1] = cnt;
            continue;
        }
        int32_t *restrict oj = fill ? nl->indices : NULL, *restrict osh = fill ? nl->shifts : NULL;
        double *restrict ov = fill ? nl->vectors : NULL, *restrict od = fill ? nl->distances : NULL;
        const int32_t *restrict sel = b->sel, *restrict bslot = b->slot, *restrict bimg = b->img;
        const int half = w->half;
        const double in2 = w->in2, rc2 = w->rc2;
        for (int64_t e = 0; e < m; e++) {
            int32_t u = sel[e];
            int32_t t = bslot[u], j = g->idx[t];
            const int32_t *S = b->S + 3 * bimg[u], *mj = g->om + 3 * (int64_t)t;
            if (j == i && S[0] == 0 && S[1] == 0 && S[2] == 0) continue;   /* the atom itself */
            int32_t sh[3] = {S[0] - mj[0] + mi[0], S[1] - mj[1] + mi[1], S[2] - mj[2] + mi[2]};
            if (half && !(i < j || (i == j && lex_positive(sh)))) continue;
            if (!fill && b->d2[u] < in2) { cnt++; continue; }   /* inside beyond rounding */
            double v[3];
            double d2 = canon(g, ri, t, sh, v);
            if (!(d2 < rc2)) continue;
            if (!fill) { cnt++; continue; }
            oj[p] = j;
            osh[3 * p] = sh[0]; osh[3 * p + 1] = sh[1]; osh[3 * p + 2] = sh[2];
            if (ov) { ov[3 * p] = v[0]; ov[3 * p + 1] = v[1]; ov[3 * p + 2] = v[2]; }
            od[p] = sqrt(d2);
            p++;
        }
        if (!fill) w->offsets[i + 1] = cnt;
    }
    return 0;
}

/* Sort key comparison for rows: (distance, j, shift lexicographic). */
static inline int pair_less(double da, int32_t ja, const int32_t *sa, double db, int32_t jb,
                            const int32_t *sb)
{
    if (da != db) return da < db;
    if (ja != jb) return ja < jb;
    for (int c = 0; c < 3; c++) if (sa[c] != sb[c]) return sa[c] < sb[c];
    return 0;
}

static void nl_sort_row(st_nlist *nl, int64_t a, int64_t b, int32_t *perm, int32_t *tmp,
                        double *dbuf, int32_t *ibuf)
{
    int64_t len = b - a;
    if (len < 2) return;
    const double *D = nl->distances + a;
    const int32_t *J = nl->indices + a, *Sh = nl->shifts + 3 * a;
#define NL_LESS(p, q) pair_less(D[p], J[p], Sh + 3 * (p), D[q], J[q], Sh + 3 * (q))
    /* bottom-up merge sort of a permutation (stable, O(len log len)) */
    for (int64_t i = 0; i < len; i++) perm[i] = (int32_t)i;
    for (int64_t width = 1; width < len; width *= 2) {
        for (int64_t lo = 0; lo < len; lo += 2 * width) {
            int64_t mid = lo + width < len ? lo + width : len;
            int64_t hi = lo + 2 * width < len ? lo + 2 * width : len;
            int64_t p = lo, q = mid, o = lo;
            while (p < mid && q < hi) tmp[o++] = NL_LESS(perm[q], perm[p]) ? perm[q++] : perm[p++];
            while (p < mid) tmp[o++] = perm[p++];
            while (q < hi) tmp[o++] = perm[q++];
        }
        memcpy(perm, tmp, (size_t)len * sizeof *perm);
    }
#undef NL_LESS
    /* apply the permutation to every array */
    for (int64_t i = 0; i < len; i++) dbuf[i] = D[perm[i]];
    memcpy(nl->distances + a, dbuf, (size_t)len * sizeof *dbuf);
    for (int64_t i = 0; i < len; i++) ibuf[i] = J[perm[i]];
    memcpy(nl->indices + a, ibuf, (size_t)len * sizeof *ibuf);
    for (int64_t i = 0; i < len; i++) memcpy(ibuf + 3 * i, Sh + 3 * perm[i], 3 * sizeof *ibuf);
    memcpy(nl->shifts + 3 * a, ibuf, (size_t)len * 3 * sizeof *ibuf);
    if (nl->vectors) {
        double *V = nl->vectors + 3 * a;
        for (int64_t i = 0; i < len; i++) memcpy(dbuf + 3 * i, V + 3 * perm[i], 3 * sizeof *dbuf);
        memcpy(V, dbuf, (size_t)len * 3 * sizeof *dbuf);
    }
}

void st_nlist_destroy(st_nlist *nl)
{
    if (!nl) return;
    free(nl->offsets); free(nl->indices); free(nl->shifts); free(nl->vectors); free(nl->distances);
    free(nl);
}

/* Runs one pass over all home bins in blocks, so the calling thread can report progress and
 * notice interrupts between blocks. */
static int nl_pass(st_ctx *ctx, const nlwork *w, int fill)
{
    const grid *g = w->g;
    int64_t nb = g->nbins, block = 4096;
    int nomem = 0;
    for (int64_t b0 = 0; b0 < nb; b0 += block) {
        int64_t b1 = b0 + block < nb ? b0 + block : nb;
        #pragma omp parallel num_threads(st_threads())
        {
            gbuf gb = {0};
            gb.bin = -1;
            int ok = 1;
            #pragma omp for schedule(dynamic, 8)
            for (int64_t h = b0; h < b1; h++)
                if (ok && nl_home_bin(w, h, fill, &gb)) {
                    ok = 0;
                    #pragma omp atomic write
                    nomem = 1;
                }
            gbuf_free(&gb);
        }
        if (nomem) return st_fail(ctx, ST_ERR_NOMEM, "st_nlist_build: out of memory");
        int rc = st_check_interrupt(ctx, "st_nlist_build");
        if (rc) return rc;
        st_progress(ctx, fill ? "neighbour list (fill)" : "neighbour list (count)", (double)b1,
                    (double)nb);
    }
    return ST_OK;
}

/* Builds into nl, reusing its arrays when they are large enough.  On error nl is left empty
 * (no pairs) but valid. */
static int nl_build(st_ctx *ctx, const char *fn, st_nlist *nl, int64_t n, const double *pos,
                    const double *cell, const int32_t *pbc, double cutoff,
                    const st_nlist_opts *opts, int slack)
{
    static const st_nlist_opts defaults;
    if (!opts) opts = &defaults;
    nl->npairs = 0;
    if (nl->offsets) memset(nl->offsets, 0, ((size_t)nl->n + 1) * sizeof *nl->offsets);
    if (!(cutoff >= 0) || !isfinite(cutoff))
        return st_fail(ctx, ST_ERR_ARG, "%s: cutoff must be a finite number >= 0 Å, got %g", fn,
                       cutoff);
    grid g;
    /* Bins one cutoff wide: the 27-bin neighbourhood is gathered once per home bin and shared by
     * its ~rho rc^3 atoms.  (Bins of rc/2 test fewer candidates, 4.6 vs 27 rc^3, but the bin walk
     * is then amortised over ~8x fewer atoms: measured 2x slower in bench_neighbor.) */
    int rc = grid_build(ctx, fn, n, pos, cell, pbc, cutoff, 0, &g);
    if (rc) return rc;
    if (n != nl->n || !nl->offsets) {
        int64_t *o = realloc(nl->offsets, ((size_t)n + 1) * sizeof *o);
        if (!o) { grid_free(&g); return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", fn); }
        nl->offsets = o;
        nl->n = n;
    }
    memset(nl->offsets, 0, ((size_t)n + 1) * sizeof *nl->offsets);
    nl->cutoff = cutoff;
    nlwork w = {0};
    w.g = &g;
    w.rc2 = cutoff * cutoff;
    w.half = opts->half != 0;
    w.offsets = nl->offsets;
    w.nl = nl;
    double minper = INFINITY;
    for (int a = 0; a < 3; a++) if (g.per[a]) minper = fmin(minper, g.perp[a]);
    double images = g.nper ? ceil(cutoff / minper) + 2 : 0;
    double margin = MARGIN_REL * (g.scale + images * g.sumlat + cutoff);
    w.pre2 = (cutoff + margin) * (cutoff + margin);
    w.in2 = cutoff > 2 * margin ? (cutoff - 2 * margin) * (cutoff - 2 * margin) : -1;
    for (int a = 0; a < 3; a++) {
        double r = ceil((cutoff + 3 * margin) / g.w[a]);
        if (!g.per[a] && r > g.nb[a] - 1) r = g.nb[a] - 1;
        if (r > 1e6) {
            grid_free(&g);
            return st_fail(ctx, ST_ERR_ARG, "%s: cutoff %g Å spans more than 10^6 cells along %s",
                           fn, cutoff, axis_name(a));
        }
        w.range[a] = (int64_t)r;
    }
    if (cutoff > 0 && n > 0) {
        rc = nl_pass(ctx, &w, 0);
        if (rc) goto fail;
    }
    for (int64_t i = 0; i < n; i++) nl->offsets[i + 1] += nl->offsets[i];
    size_t np = (size_t)nl->offsets[n];
    int want_vec = !opts->no_vectors;
    if (np > nl->cap || (want_vec && !nl->vectors)) {
        free(nl->indices); free(nl->shifts); free(nl->distances); free(nl->vectors);
        nl->indices = NULL; nl->shifts = NULL; nl->distances = NULL; nl->vectors = NULL;
        nl->cap = 0;
        size_t cap = slack ? np + np / 8 : np;   /* updates: room to grow a little */
        nl->indices = big_alloc(cap, sizeof(int32_t));
        nl->shifts = big_alloc(cap * 3, sizeof(int32_t));
        nl->distances = big_alloc(cap, sizeof(double));
        if (want_vec) nl->vectors = big_alloc(cap * 3, sizeof(double));
        if (!nl->indices || !nl->shifts || !nl->distances || (want_vec && !nl->vectors)) {
            rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory for %lld pairs", fn, (long long)np);
            goto fail;
        }
        nl->cap = cap;
    }
    if (!want_vec) { free(nl->vectors); nl->vectors = NULL; }
    if (np > 0) {
        rc = nl_pass(ctx, &w, 1);
        if (rc) goto fail;
    }
    if (opts->sorted && np > 0) {
        int64_t maxrow = 0;
        for (int64_t i = 0; i < n; i++)
            if (nl->offsets[i + 1] - nl->offsets[i] > maxrow) maxrow = nl->offsets[i + 1] - nl->offsets[i];
        int nomem = 0;
        #pragma omp parallel num_threads(st_threads())
        {
            int32_t *perm = st_malloc_array((size_t)maxrow, sizeof(int32_t));
            int32_t *tmp = st_malloc_array((size_t)maxrow, sizeof(int32_t));
            double *dbuf = st_malloc_array((size_t)maxrow * 3, sizeof(double));
            int32_t *ibuf = st_malloc_array((size_t)maxrow * 3, sizeof(int32_t));
            int ok = perm && tmp && dbuf && ibuf;
            if (!ok) {
                #pragma omp atomic write
                nomem = 1;
            }
            #pragma omp for schedule(dynamic, 256)
            for (int64_t i = 0; i < n; i++)
                if (ok) nl_sort_row(nl, nl->offsets[i], nl->offsets[i + 1], perm, tmp, dbuf, ibuf);
            free(perm); free(tmp); free(dbuf); free(ibuf);
        }
        if (nomem) {
            rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory sorting rows", fn);
            goto fail;
        }
    }
    nl->npairs = (int64_t)np;
    grid_free(&g);
    return ST_OK;
fail:
    memset(nl->offsets, 0, ((size_t)nl->n + 1) * sizeof *nl->offsets);
    nl->npairs = 0;
    grid_free(&g);
    return rc;
}

int st_nlist_build(st_ctx *ctx, int64_t n, const double *pos, const double *cell,
                   const int32_t *pbc, double cutoff, const st_nlist_opts *opts, st_nlist **out)
{
    if (!out) return st_fail(ctx, ST_ERR_ARG, "st_nlist_build: out is NULL");
    *out = NULL;
    st_nlist *nl = calloc(1, sizeof *nl);
    if (!nl) return st_fail(ctx, ST_ERR_NOMEM, "st_nlist_build: out of memory");
    int rc = nl_build(ctx, "st_nlist_build", nl, n, pos, cell, pbc, cutoff, opts, 0);
    if (rc) { st_nlist_destroy(nl); return rc; }
    *out = nl;
    return ST_OK;
}

int st_nlist_update(st_ctx *ctx, st_nlist *nl, int64_t n, const double *pos, const double *cell,
                    const int32_t *pbc, double cutoff, const st_nlist_opts *opts)
{
    if (!nl) return st_fail(ctx, ST_ERR_ARG, "st_nlist_update: list is NULL");
    return nl_build(ctx, "st_nlist_update", nl, n, pos, cell, pbc, cutoff, opts, 1);
}

int64_t st_nlist_natoms(const st_nlist *nl) { return nl ? nl->n : 0; }
double st_nlist_cutoff(const st_nlist *nl) { return nl ? nl->cutoff : 0; }
int64_t st_nlist_npairs(const st_nlist *nl) { return nl ? nl->npairs : 0; }
const int64_t *st_nlist_offsets(const st_nlist *nl) { return nl ? nl->offsets : NULL; }
const int32_t *st_nlist_indices(const st_nlist *nl) { return nl ? nl->indices : NULL; }
const int32_t *st_nlist_shifts(const st_nlist *nl) { return nl ? nl->shifts : NULL; }
const double *st_nlist_vectors(const st_nlist *nl) { return nl ? nl->vectors : NULL; }
const double *st_nlist_distances(const st_nlist *nl) { return nl ? nl->distances : NULL; }
size_t st_nlist_memory(const st_nlist *nl)
{
    if (!nl) return 0;
    return sizeof *nl + ((size_t)nl->n + 1) * sizeof(int64_t) +
           nl->cap * (sizeof(int32_t) * 4 + sizeof(double) + (nl->vectors ? 3 * sizeof(double) : 0));
}

/* ================================ k nearest neighbours ================================ */

struct st_knn {
    grid g;
    int32_t k_hint;
};

typedef struct cand {
    double d2;       /* pre-filter squared distance (wrapped positions) */
    int32_t s;       /* slot */
    int32_t visit;   /* which (bin, image) visit found it */
} cand;

typedef struct key {
    double d2;       /* canonical squared distance */
    int32_t j;       /* original index */
    int32_t e;       /* row in the side arrays (shift, vector) */
} key;

typedef struct kws {   /* per-thread workspace, grown as needed */
    gbuf gb;                          /* gathered neighbourhood of the last home bin */
    double r2est;                     /* adaptive pre-filter radius^2 for the fast path */
    cand *c; int64_t nc, capc;        /* generic search */
    int32_t *vis; int64_t nvis, capv; /* [capv][3] image shifts of generic visits */
    key *k, *k2; int32_t *sh; double *v; int64_t capk;
    double *dd; int32_t *ord;         /* fast path: canonical d2 per survivor, rank order */
} kws;

static void kws_free(kws *w)
{
    gbuf_free(&w->gb);
    free(w->c); free(w->vis); free(w->k); free(w->k2); free(w->sh); free(w->v);
    free(w->dd); free(w->ord);
    memset(w, 0, sizeof *w);
}

static int kws_grow_k(kws *w, int64_t need)
{
    if (need <= w->capk) return 0;
    int64_t cap = w->capk ? w->capk : 128;
    while (cap < need) cap *= 2;
    key *a = realloc(w->k, cap * sizeof *a); if (a) w->k = a;
    key *b = realloc(w->k2, cap * sizeof *b); if (b) w->k2 = b;
    int32_t *s = realloc(w->sh, cap * 3 * sizeof *s); if (s) w->sh = s;
    double *v = realloc(w->v, cap * 3 * sizeof *v); if (v) w->v = v;
    double *dd = realloc(w->dd, cap * sizeof *dd); if (dd) w->dd = dd;
    int32_t *o = realloc(w->ord, cap * sizeof *o); if (o) w->ord = o;
    if (!a || !b || !s || !v || !dd || !o) return -1;
    w->capk = cap;
    return 0;
}

/* The documented total order: (distance, j, shift lexicographic). */
static inline int key_less(const key *a, const key *b, const int32_t *sh)
{
    return pair_less(a->d2, a->j, sh + 3 * a->e, b->d2, b->j, sh + 3 * b->e);
}

/* Stable sort of keys: insertion sort of runs of 8, then bottom-up merges. */
static void key_sort(key *a, key *tmp, int64_t n, const int32_t *sh)
{
    const int64_t run = 8;
    for (int64_t r0 = 0; r0 < n; r0 += run) {
        int64_t r1 = r0 + run < n ? r0 + run : n;
        for (int64_t i = r0 + 1; i < r1; i++) {
            key x = a[i];
            int64_t j = i - 1;
            while (j >= r0 && key_less(&x, &a[j], sh)) { a[j + 1] = a[j]; j--; }
            a[j + 1] = x;
        }
    }
    key *src = a, *dst = tmp;
    for (int64_t width = run; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t p = lo, q = mid, o = lo;
            while (p < mid && q < hi) dst[o++] = key_less(&src[q], &src[p], sh) ? src[q++] : src[p++];
            while (p < mid) dst[o++] = src[p++];
            while (q < hi) dst[o++] = src[q++];
        }
        key *t = src; src = dst; dst = t;
    }
    if (src != a) memcpy(a, src, (size_t)n * sizeof *a);
}

/* Order of m keys by rank: rank_i = #{d_j < d_i} + #{j < i : d_j == d_i}, two branch-free
 * (vectorised) counts per element.  O(m^2) but for the ~1.3k survivors of the fast path it beats
 * a comparison sort, whose data-dependent branches mispredict about every other compare. */
static void rank_order(const double *restrict d, int64_t m, int32_t *restrict ord)
{
    for (int64_t i = 0; i < m; i++) {
        const double di = d[i];
        int64_t r = 0;
        for (int64_t j = 0; j < i; j++) r += d[j] <= di;
        for (int64_t j = i + 1; j < m; j++) r += d[j] < di;
        ord[r] = (int32_t)i;
    }
}

/* Moves the k smallest candidates (by d2) to c[0..k-1] with c[k-1] the k-th smallest
 * (quickselect, median-of-three pivot; deterministic). */
static void cand_select(cand *c, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1, kk = k - 1;
    while (hi > lo) {
        int64_t mid = lo + (hi - lo) / 2;
        if (c[mid].d2 < c[lo].d2) { cand t = c[mid]; c[mid] = c[lo]; c[lo] = t; }
        if (c[hi].d2 < c[lo].d2) { cand t = c[hi]; c[hi] = c[lo]; c[lo] = t; }
        if (c[hi].d2 < c[mid].d2) { cand t = c[hi]; c[hi] = c[mid]; c[mid] = t; }
        double piv = c[mid].d2;
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (c[i].d2 < piv) i++;
            while (c[j].d2 > piv) j--;
            if (i <= j) { cand t = c[i]; c[i] = c[j]; c[j] = t; i++; j--; }
        }
        if (kk <= j) hi = j;
        else if (kk >= i) lo = i;
        else return;
    }
}

/* Distance from the query (f coordinates, bin c) to the boundary of the block of bins within
 * R of c, by (1); infinite on the sides of a non-periodic axis that reach the last bin. */
static double block_reach(const grid *g, const double *f, const int64_t *c, int64_t R)
{
    double rs = INFINITY;
    for (int a = 0; a < 3; a++) {
        double lof = g->org[a] + (double)(c[a] - R) * g->wf[a];
        double hif = g->org[a] + (double)(c[a] + R + 1) * g->wf[a];
        double dlo = (g->per[a] || c[a] - R > 0) ? (f[a] - lof) * g->perp[a] : INFINITY;
        double dhi = (g->per[a] || c[a] + R < g->nb[a] - 1) ? (hif - f[a]) * g->perp[a] : INFINITY;
        rs = fmin(rs, fmin(dlo, dhi));
    }
    return rs;
}

/* Query context shared by the fast and the generic search. */
typedef struct query {
    const double *r;     /* the point as given */
    double f[3], q[3];   /* f coordinates (wrapped), wrapped Cartesian point */
    int32_t m[3];        /* wrap integers of the query */
    int64_t c[3], bin;
    int64_t exs;         /* slot excluded at zero shift, or -1 */
    int32_t exS[3];      /* bin image at which the excluded slot has zero shift */
    double qabs;
    int32_t qm;
} query;

static void query_init(const grid *g, const double *r, int64_t exs, query *Q)
{
    Q->r = r;
    grid_locate(g, r, Q->f, Q->m, Q->c);
    Q->bin = Q->c[0] + g->nb[0] * (Q->c[1] + g->nb[1] * Q->c[2]);
    double t[3];
    shift_vec(g->lat, Q->m, t);
    for (int a = 0; a < 3; a++) Q->q[a] = r[a] - t[a];
    Q->qabs = fmax(fabs(r[0]), fmax(fabs(r[1]), fabs(r[2])));
    Q->qm = 0;
    for (int a = 0; a < 3; a++) Q->qm = Q->qm > abs(Q->m[a]) ? Q->qm : abs(Q->m[a]);
    Q->exs = exs;
    for (int a = 0; a < 3; a++) Q->exS[a] = exs >= 0 ? g->om[3 * exs + a] - Q->m[a] : 0;
}

static void write_rows(const kws *w, int64_t found, int32_t k, int32_t *oidx, int32_t *osh,
                       double *ovec, double *odist)
{
    for (int64_t e = 0; e < found; e++) {
        const key *o = w->k + e;
        if (oidx) oidx[e] = o->j;
        if (osh) memcpy(osh + 3 * e, w->sh + 3 * o->e, 3 * sizeof *osh);
        if (ovec) memcpy(ovec + 3 * e, w->v + 3 * o->e, 3 * sizeof *ovec);
        if (odist) odist[e] = sqrt(o->d2);
    }
    for (int64_t e = found; e < k; e++) {
        if (oidx) oidx[e] = -1;
        if (osh) osh[3 * e] = osh[3 * e + 1] = osh[3 * e + 2] = 0;
        if (ovec) ovec[3 * e] = ovec[3 * e + 1] = ovec[3 * e + 2] = 0;
        if (odist) odist[e] = INFINITY;
    }
}

/* Fast path: the gathered 27-bin neighbourhood of the query's bin (cached between queries in the
 * same bin), pre-filtered at an adaptive radius.  Returns k, or -2 when it cannot prove the answer
 * (the generic search then runs), or -1 on allocation failure. */
static int64_t knn_fast(const grid *g, const query *Q, int32_t k, kws *w)
{
    gbuf *b = &w->gb;
    if (b->bin != Q->bin) {
        static const int64_t one[3] = {1, 1, 1};
        if (gather(g, Q->c, one, b)) return -1;
        b->bin = Q->bin;
    }
    double thr2 = w->r2est > 0 ? w->r2est : INFINITY;
    int64_t m = 0;
    for (int pass = 0; pass < 2; pass++) {
        m = gbuf_select(b, Q->q[0], Q->q[1], Q->q[2], thr2);
        if (Q->exs >= 0) {             /* drop the excluded point */
            for (int64_t e = 0; e < m; e++) {
                int32_t u = b->sel[e];
                const int32_t *S = b->S + 3 * b->img[u];
                if (b->slot[u] == Q->exs && S[0] == Q->exS[0] && S[1] == Q->exS[1] && S[2] == Q->exS[2]) {
                    memmove(b->sel + e, b->sel + e + 1, (size_t)(m - e - 1) * sizeof *b->sel);
                    m--;
                    break;
                }
            }
        }
        if (m >= k || thr2 == INFINITY) break;
        thr2 = INFINITY;
    }
    if (m < k) return -2;
    if (kws_grow_k(w, m)) return -1;
    for (int64_t e = 0; e < m; e++) {
        int32_t u = b->sel[e], t = b->slot[u];
        const int32_t *S = b->S + 3 * b->img[u], *mj = g->om + 3 * (int64_t)t;
        int32_t *sh = w->sh + 3 * e;
        for (int a = 0; a < 3; a++) sh[a] = S[a] - mj[a] + Q->m[a];
        w->dd[e] = canon(g, Q->r, t, sh, w->v + 3 * e);
        w->k[e].d2 = w->dd[e];
        w->k[e].j = g->idx[t];
        w->k[e].e = (int32_t)e;
    }
    if (m <= 128) {
        rank_order(w->dd, m, w->ord);
        for (int64_t e = 0; e < m; e++) w->k2[e] = w->k[w->ord[e]];
        /* runs of exactly equal distances: order by (j, shift) (perfect crystals) */
        for (int64_t a = 0; a < m;) {
            int64_t z = a + 1;
            while (z < m && w->k2[z].d2 == w->k2[a].d2) z++;
            for (int64_t i = a + 1; i < z; i++) {
                key x = w->k2[i];
                int64_t j = i - 1;
                while (j >= a && key_less(&x, &w->k2[j], w->sh)) { w->k2[j + 1] = w->k2[j]; j--; }
                w->k2[j + 1] = x;
            }
            a = z;
        }
        key *t = w->k; w->k = w->k2; w->k2 = t;
    } else {
        key_sort(w->k, w->k2, m, w->sh);
    }
    double rk = sqrt(w->k[k - 1].d2);
    double margin = MARGIN_REL * (g->scale + Q->qabs + (Q->qm + 3.0) * g->sumlat + rk);
    /* every point within rk (+ rounding) must be among the candidates and pass the pre-filter */
    if (!(rk + 3 * margin <= block_reach(g, Q->f, Q->c, 1))) return -2;
    if (!(rk + 2 * margin <= sqrt(thr2))) return -2;
    /* next query nearby: pre-filter a little beyond this k-th distance */
    w->r2est = (1.1 * rk + 2 * margin) * (1.1 * rk + 2 * margin);
    return k;
}

/* Generic search: grow a block of bins shell by shell until the k nearest are provably inside
 * (or, non-periodic, every bin is covered).  Returns found (>= 0), or -1 on allocation failure. */
static int64_t knn_generic(const grid *g, const query *Q, int32_t k, kws *w)
{
    w->nc = 0;
    w->nvis = 0;
    if (g->n == 0) return 0;
    const int64_t *c = Q->c;
    for (int64_t R = 1;; R++) {
        int64_t Rlo = R == 1 ? 0 : R;
        int64_t lo[3], hi[3];
        for (int a = 0; a < 3; a++) {
            lo[a] = c[a] - R; hi[a] = c[a] + R;
            if (!g->per[a]) { if (lo[a] < 0) lo[a] = 0; if (hi[a] > g->nb[a] - 1) hi[a] = g->nb[a] - 1; }
        }
        for (int64_t t2 = lo[2]; t2 <= hi[2]; t2++)
        for (int64_t t1 = lo[1]; t1 <= hi[1]; t1++) {
            int64_t d12 = llabs(t2 - c[2]) > llabs(t1 - c[1]) ? llabs(t2 - c[2]) : llabs(t1 - c[1]);
            for (int64_t t0 = lo[0]; t0 <= hi[0]; t0++) {
                int64_t cheb = d12 > llabs(t0 - c[0]) ? d12 : llabs(t0 - c[0]);
                if (cheb < Rlo) {   /* inside the block visited before: skip the run */
                    t0 = c[0] + Rlo - 1;
                    continue;
                }
                int64_t tt[3] = {t0, t1, t2}, cc[3];
                int32_t S[3];
                for (int a = 0; a < 3; a++) {
                    int64_t qq = floordiv(tt[a], g->nb[a]);
                    cc[a] = tt[a] - qq * g->nb[a];
                    S[a] = (int32_t)qq;
                }
                int64_t qb = cc[0] + g->nb[0] * (cc[1] + g->nb[1] * cc[2]);
                int64_t u0 = g->bstart[qb], u1 = g->bstart[qb + 1], nu = u1 - u0;
                if (nu == 0) continue;
                if (w->nvis >= w->capv) {
                    int64_t cap = w->capv ? 2 * w->capv : 64;
                    int32_t *p = realloc(w->vis, (size_t)cap * 3 * sizeof *p);
                    if (!p) return -1;
                    w->vis = p; w->capv = cap;
                }
                int32_t vid = (int32_t)w->nvis++;
                memcpy(w->vis + 3 * vid, S, sizeof S);
                if (w->nc + nu > w->capc) {
                    int64_t cap = w->capc ? w->capc : 256;
                    while (cap < w->nc + nu) cap *= 2;
                    cand *p = realloc(w->c, (size_t)cap * sizeof *p);
                    if (!p) return -1;
                    w->c = p; w->capc = cap;
                }
                double T[3];
                shift_vec(g->lat, S, T);
                double qx = Q->q[0] - T[0], qy = Q->q[1] - T[1], qz = Q->q[2] - T[2];
                cand *cc0 = w->c + w->nc;
                int skip = Q->exs >= u0 && Q->exs < u1 && S[0] == Q->exS[0] && S[1] == Q->exS[1] &&
                           S[2] == Q->exS[2];
                int64_t o = 0;
                for (int64_t u = u0; u < u1; u++) {
                    if (skip && u == Q->exs) continue;
                    double dx = g->x[u] - qx, dy = g->y[u] - qy, dz = g->z[u] - qz;
                    cc0[o].d2 = dx * dx + dy * dy + dz * dz;
                    cc0[o].s = (int32_t)u;
                    cc0[o].visit = vid;
                    o++;
                }
                w->nc += o;
            }
        }
        double rsafe = block_reach(g, Q->f, c, R);
        double thr2;
        if (w->nc >= k) {
            cand_select(w->c, w->nc, k);
            double rk = sqrt(w->c[k - 1].d2);
            double margin = MARGIN_REL * (g->scale + Q->qabs + (Q->qm + R + 2.0) * g->sumlat + rk);
            if (!(rk + 3 * margin <= rsafe)) continue;
            thr2 = (rk + 2 * margin) * (rk + 2 * margin);
        } else {
            if (rsafe < INFINITY) continue;
            thr2 = INFINITY;                   /* everything there is: take all */
        }
        /* Canonical distances for every candidate that can be among the k nearest. */
        int64_t nf = 0;
        for (int64_t e = 0; e < w->nc; e++) nf += w->c[e].d2 <= thr2;
        if (kws_grow_k(w, nf)) return -1;
        nf = 0;
        for (int64_t e = 0; e < w->nc; e++) {
            if (!(w->c[e].d2 <= thr2)) continue;
            int32_t t = w->c[e].s;
            const int32_t *S = w->vis + 3 * w->c[e].visit, *mj = g->om + 3 * (int64_t)t;
            int32_t *sh = w->sh + 3 * nf;
            for (int a = 0; a < 3; a++) sh[a] = S[a] - mj[a] + Q->m[a];
            w->k[nf].d2 = canon(g, Q->r, t, sh, w->v + 3 * nf);
            w->k[nf].j = g->idx[t];
            w->k[nf].e = (int32_t)nf;
            nf++;
        }
        key_sort(w->k, w->k2, nf, w->sh);
        return nf < k ? nf : k;
    }
}

int st_knn_create(st_ctx *ctx, int64_t n, const double *pos, const double *cell,
                  const int32_t *pbc, int32_t k_hint, st_knn **out)
{
    if (!out) return st_fail(ctx, ST_ERR_ARG, "st_knn_create: out is NULL");
    *out = NULL;
    if (k_hint < 0) return st_fail(ctx, ST_ERR_ARG, "st_knn_create: k_hint must be >= 0, got %d", k_hint);
    if (k_hint == 0) k_hint = 32;
    st_knn *h = calloc(1, sizeof *h);
    if (!h) return st_fail(ctx, ST_ERR_NOMEM, "st_knn_create: out of memory");
    int rc = grid_build(ctx, "st_knn_create", n, pos, cell, pbc, 0, k_hint, &h->g);
    if (rc) { free(h); return rc; }
    h->k_hint = k_hint;
    *out = h;
    return ST_OK;
}

void st_knn_destroy(st_knn *h)
{
    if (!h) return;
    grid_free(&h->g);
    free(h);
}

int64_t st_knn_count(const st_knn *h) { return h ? h->g.n : 0; }

void st_knn_spatial_order(const st_knn *h, int32_t *order)
{
    if (h && order && h->g.n) memcpy(order, h->g.idx, (size_t)h->g.n * sizeof *order);
}

enum { Q_RANGE = 0, Q_ATOMS = 1, Q_POINTS = 2, Q_ALL = 3 /* every atom, bin order, row = atom */ };

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Shared driver.  Queries are processed block by block, each block in bin order so that
 * consecutive queries share the gathered neighbourhood; row i of the outputs is query i. */
static int knn_run(st_ctx *ctx, const char *fn, const st_knn *h, int mode, int64_t first,
                   int64_t nq, const int32_t *atoms, const double *points, const int32_t *exclude,
                   int32_t k, int32_t *index, int32_t *shifts, double *vectors, double *distances,
                   int32_t *found, int progress)
{
    if (!h) return st_fail(ctx, ST_ERR_ARG, "%s: search structure is NULL", fn);
    if (k < 1) return st_fail(ctx, ST_ERR_ARG, "%s: k must be >= 1, got %d", fn, k);
    if (nq < 0) return st_fail(ctx, ST_ERR_ARG, "%s: negative number of queries %lld", fn, (long long)nq);
    const grid *g = &h->g;
    if (mode == Q_RANGE && (first < 0 || first + nq > g->n))
        return st_fail(ctx, ST_ERR_ARG, "%s: atoms %lld..%lld outside the set of %lld", fn,
                       (long long)first, (long long)(first + nq - 1), (long long)g->n);
    if (mode == Q_ATOMS) {
        if (nq > 0 && !atoms) return st_fail(ctx, ST_ERR_ARG, "%s: atoms is NULL", fn);
        for (int64_t i = 0; i < nq; i++)
            if (atoms[i] < 0 || atoms[i] >= g->n)
                return st_fail(ctx, ST_ERR_ARG, "%s: atoms[%lld] = %d outside the set of %lld",
                               fn, (long long)i, atoms[i], (long long)g->n);
    }
    if (mode == Q_POINTS) {
        if (nq > 0 && !points) return st_fail(ctx, ST_ERR_ARG, "%s: points is NULL", fn);
        for (int64_t i = 0; i < nq; i++) {
            const double *p = points + 3 * i;
            if (!isfinite(p[0]) || !isfinite(p[1]) || !isfinite(p[2]))
                return st_fail(ctx, ST_ERR_ARG, "%s: query point %lld is not finite (%g, %g, %g)",
                               fn, (long long)i, p[0], p[1], p[2]);
            if (exclude && (exclude[i] < -1 || exclude[i] >= g->n))
                return st_fail(ctx, ST_ERR_ARG, "%s: query point %lld: exclude index %d outside "
                               "the set of %lld", fn, (long long)i, exclude[i], (long long)g->n);
            for (int a = 0; a < 3; a++) {
                double fa = p[0] * g->G[a] + p[1] * g->G[3 + a] + p[2] * g->G[6 + a];
                if (g->per[a] && fabs(fa) > 1e9)
                    return st_fail(ctx, ST_ERR_ARG, "%s: query point %lld is more than 1e9 "
                                   "cells away", fn, (long long)i);
            }
        }
    }
    const int64_t block = 16384;
    uint64_t *order = st_malloc_array((size_t)(nq < block ? nq : block), sizeof *order);
    if (!order) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", fn);
    int nomem = 0;
    double r2est = g->rk_est > 0 ? 1.3 * 1.3 * g->rk_est * g->rk_est : 0;
    for (int64_t b0 = 0; b0 < nq; b0 += block) {
        int64_t b1 = b0 + block < nq ? b0 + block : nq;
        /* order of this block: by bin, then query index */
        int sorted = 1;
        for (int64_t i = b0; i < b1 && mode != Q_ALL; i++) {
            double f[3];
            int32_t m[3];
            int64_t c[3];
            const double *r = mode == Q_POINTS ? points + 3 * i
                            : g->op + 3 * (int64_t)g->slot[mode == Q_RANGE ? first + i : atoms[i]];
            grid_locate(g, r, f, m, c);
            uint64_t bin = (uint64_t)(c[0] + g->nb[0] * (c[1] + g->nb[1] * c[2]));
            order[i - b0] = bin << 20 | (uint64_t)(i - b0);
            if (i > b0 && order[i - b0] < order[i - b0 - 1]) sorted = 0;
        }
        if (!sorted) qsort(order, (size_t)(b1 - b0), sizeof *order, u64_cmp);
        #pragma omp parallel num_threads(team_size())
        {
            kws w = {0};
            w.gb.bin = -1;
            w.r2est = r2est;
            int stop = 0;   /* this thread saw an interrupt or failed to allocate */
            #pragma omp for schedule(dynamic, 128)
            for (int64_t o = b0; o < b1; o++) {
                if (stop) continue;
                if ((o & 255) == 0 && st_interrupt_pending()) { stop = 1; continue; }
                int64_t i = mode == Q_ALL ? g->idx[o] : b0 + (int64_t)(order[o - b0] & 0xfffff);
                query Q;
                if (mode == Q_ALL) {
                    query_init(g, g->op + 3 * o, o, &Q);
                } else if (mode == Q_POINTS) {
                    query_init(g, points + 3 * i, exclude && exclude[i] >= 0 ? g->slot[exclude[i]] : -1, &Q);
                } else {
                    int64_t t = g->slot[mode == Q_RANGE ? first + i : atoms[i]];
                    query_init(g, g->op + 3 * t, t, &Q);
                }
                int64_t f = knn_fast(g, &Q, k, &w);
                if (f == -2) f = knn_generic(g, &Q, k, &w);
                if (f < 0) {
                    stop = 1;
                    #pragma omp atomic write
                    nomem = 1;
                    continue;
                }
                write_rows(&w, f, k, index ? index + i * k : NULL, shifts ? shifts + 3 * i * k : NULL,
                           vectors ? vectors + 3 * i * k : NULL, distances ? distances + i * k : NULL);
                if (found) found[i] = (int32_t)f;
            }
            kws_free(&w);
        }
        if (nomem) { free(order); return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", fn); }
        int rc = st_check_interrupt(ctx, fn);
        if (rc) { free(order); return rc; }
        if (progress) st_progress(ctx, "knn", (double)b1, (double)nq);
    }
    free(order);
    return ST_OK;
}

int st_knn_search(st_ctx *ctx, const st_knn *h, int64_t first, int64_t count, int32_t k,
                  int32_t *index, int32_t *shifts, double *vectors, double *distances,
                  int32_t *found)
{
    return knn_run(ctx, "st_knn_search", h, Q_RANGE, first, count, NULL, NULL, NULL, k, index,
                   shifts, vectors, distances, found, 0);
}

int st_knn_search_atoms(st_ctx *ctx, const st_knn *h, int64_t count, const int32_t *atoms,
                        int32_t k, int32_t *index, int32_t *shifts, double *vectors,
                        double *distances, int32_t *found)
{
    return knn_run(ctx, "st_knn_search_atoms", h, Q_ATOMS, 0, count, atoms, NULL, NULL, k, index,
                   shifts, vectors, distances, found, 0);
}

int st_knn_search_points(st_ctx *ctx, const st_knn *h, int64_t nq, const double *points,
                         const int32_t *exclude, int32_t k, int32_t *index, int32_t *shifts,
                         double *vectors, double *distances, int32_t *found)
{
    return knn_run(ctx, "st_knn_search_points", h, Q_POINTS, 0, nq, NULL, points, exclude, k,
                   index, shifts, vectors, distances, found, 0);
}

int st_nlist_knn(st_ctx *ctx, int64_t n, const double *pos, const double *cell,
                 const int32_t *pbc, int32_t k, int32_t *index, int32_t *shifts, double *vectors,
                 double *distances, int32_t *found)
{
    if (k < 1) return st_fail(ctx, ST_ERR_ARG, "st_nlist_knn: k must be >= 1, got %d", k);
    st_knn *h;
    int rc = st_knn_create(ctx, n, pos, cell, pbc, k, &h);
    if (rc) return rc;
    rc = knn_run(ctx, "st_nlist_knn", h, Q_ALL, 0, n, NULL, NULL, NULL, k, index, shifts, vectors,
                 distances, found, 1);
    st_knn_destroy(h);
    return rc;
}

int st_nlist_knn_query(st_ctx *ctx, int64_t n, const double *pos, const double *cell,
                       const int32_t *pbc, int64_t nq, const double *points, int32_t k,
                       int32_t *index, int32_t *shifts, double *vectors, double *distances,
                       int32_t *found)
{
    if (k < 1) return st_fail(ctx, ST_ERR_ARG, "st_nlist_knn_query: k must be >= 1, got %d", k);
    st_knn *h;
    int rc = st_knn_create(ctx, n, pos, cell, pbc, k, &h);
    if (rc) return rc;
    rc = knn_run(ctx, "st_nlist_knn_query", h, Q_POINTS, 0, nq, NULL, points, NULL, k, index,
                 shifts, vectors, distances, found, 1);
    st_knn_destroy(h);
    return rc;
}
