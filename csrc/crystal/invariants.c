/* invariants.c -- AMD and PDD of a periodic set, from plain arrays or from an st_atoms frame.
 *
 *   AMD_j = sum_i mu_i d_j(p_i) / sum_i mu_i     (Widdowson & Kurlin, MATCH 87(3) 2022: the mean
 *                                                 of d_j over the motif, here over the asymmetric
 *                                                 unit weighted by multiplicity, which is the same
 *                                                 for an exactly symmetric set)
 *   PDD: one row (d_1..d_k)(p_i) per query site, weight mu_i / sum mu (Widdowson & Kurlin,
 *        arXiv:2108.04798, definition of PDD);
 *        rows whose Chebyshev distance is <= tol are merged greedily in row order -- the first
 *        unmerged row founds a group and takes every still unmerged row within tol of IT (not
 *        transitively) -- weights summed, rows averaged (plain mean of the member rows), then
 *        rows sorted lexicographically (docs/zeolite-maps.md).
 * The greedy merge looks for partners through a window on the row means: |mean_i - mean_j| <=
 * Chebyshev(i, j), so rows outside the window cannot merge; this keeps P1 inputs with thousands
 * of sites at about n log n instead of n^2 k.
 *
 * Frames follow the CIF reader's contract: per-atom INT arrays "asym_site" and "multiplicity";
 * the first atom of each asym_site is the site as listed.  Without them every atom is a site.
 *
 * Not done here: the neighbour search (knn.c), distances (compare.c, emd.c).
 */
#include "../core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t opts_k(const st_crystal_opts *o) { return (o && o->k) ? o->k : ST_CRYSTAL_DEFAULT_K; }

/* kNN distances and weights of all kept sites, freshly allocated. */
static int knn_alloc(st_ctx *ctx, const char *where, const st_crystal_set *set,
                     const st_crystal_opts *o, int64_t *nq, double **dist, double **w)
{
    *dist = NULL;
    *w = NULL;
    int rc = st_crystal_nsites(ctx, set, o, nq);
    if (rc) return rc;
    int64_t k = opts_k(o);
    *dist = st_malloc_array((size_t)*nq, (size_t)k * sizeof(double));
    *w = st_malloc_array((size_t)*nq, sizeof(double));
    if (!*dist || !*w) {
        free(*dist); free(*w);
        *dist = *w = NULL;
        return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory for %lld x %lld distances", where,
                       (long long)*nq, (long long)k);
    }
    rc = st_crystal_knn(ctx, set, o, *dist, *w);
    if (rc) {
        free(*dist); free(*w);
        *dist = *w = NULL;
    }
    return rc;
}

int st_crystal_amd(st_ctx *ctx, const st_crystal_set *set, const st_crystal_opts *opts,
                   double *amd)
{
    if (!amd) return st_fail(ctx, ST_ERR_ARG, "crystal_amd: amd output is NULL");
    int64_t nq, k = opts_k(opts);
    double *d, *w;
    int rc = knn_alloc(ctx, "crystal_amd", set, opts, &nq, &d, &w);
    if (rc) return rc;
    double wsum = 0;
    for (int64_t i = 0; i < nq; i++) wsum += w[i];
    for (int64_t j = 0; j < k; j++) amd[j] = 0;
    for (int64_t i = 0; i < nq; i++)
        for (int64_t j = 0; j < k; j++) amd[j] += w[i] * d[i * k + j];
    for (int64_t j = 0; j < k; j++) amd[j] /= wsum;   /* weighted mean over sites */
    free(d); free(w);
    return ST_OK;
}

/* ---- PDD ------------------------------------------------------------------------------------ */

typedef struct {
    const double *key;    /* sort by key[i] (scalar) if rows == NULL */
    const double *rows;   /* else lexicographically by rows[i*k ...] */
    int64_t k;
} sort_ctx;

static int less(const sort_ctx *c, int64_t a, int64_t b)
{
    if (!c->rows) return c->key[a] < c->key[b];
    const double *x = c->rows + a * c->k, *y = c->rows + b * c->k;
    for (int64_t j = 0; j < c->k; j++) {
        if (x[j] < y[j]) return 1;
        if (x[j] > y[j]) return 0;
    }
    return 0;
}

/* Stable merge sort of idx [n] (tmp [n] scratch). */
static void merge_sort(const sort_ctx *c, int64_t *idx, int64_t *tmp, int64_t n)
{
    if (n < 2) return;
    if (n <= 16) {
        for (int64_t i = 1; i < n; i++) {
            int64_t v = idx[i], j = i;
            while (j > 0 && less(c, v, idx[j - 1])) { idx[j] = idx[j - 1]; j--; }
            idx[j] = v;
        }
        return;
    }
    int64_t h = n / 2;
    merge_sort(c, idx, tmp, h);
    merge_sort(c, idx + h, tmp, n - h);
    int64_t i = 0, j = h, o = 0;
    while (i < h && j < n) tmp[o++] = less(c, idx[j], idx[i]) ? idx[j++] : idx[i++];
    while (i < h) tmp[o++] = idx[i++];
    while (j < n) tmp[o++] = idx[j++];
    memcpy(idx, tmp, (size_t)n * sizeof(int64_t));
}

static double cheb(const double *x, const double *y, int64_t k, double stop)
{
    double m = 0;
    for (int64_t j = 0; j < k; j++) {
        double t = fabs(x[j] - y[j]);
        if (t > m) {
            m = t;
            if (m > stop) return m;
        }
    }
    return m;
}

/* Merge (tol >= 0) and sort the n rows d [n][k] with weights w [n]; writes *nrows, wout, rout. */
static int pdd_finish(st_ctx *ctx, int64_t n, int64_t k, const double *d, const double *w,
                      double tol, int64_t *nrows, double *wout, double *rout)
{
    int64_t *group = st_malloc_array((size_t)n, sizeof(int64_t));
    int64_t *order = st_malloc_array((size_t)n, sizeof(int64_t));
    int64_t *pos = st_malloc_array((size_t)n, sizeof(int64_t));
    int64_t *tmp = st_malloc_array((size_t)n, sizeof(int64_t));
    int64_t *count = st_calloc_array((size_t)n, sizeof(int64_t));
    double *key = st_malloc_array((size_t)n, sizeof(double));
    double *gw = st_calloc_array((size_t)n, sizeof(double));
    double *grow = st_calloc_array((size_t)n, (size_t)k * sizeof(double));
    int rc = ST_OK;
    if (!group || !order || !pos || !tmp || !count || !key || !gw || !grow) {
        rc = st_fail(ctx, ST_ERR_NOMEM, "crystal_pdd: out of memory for %lld rows", (long long)n);
        goto done;
    }
    double wsum = 0;
    for (int64_t i = 0; i < n; i++) wsum += w[i];
    int64_t ng = 0;
    if (tol >= 0) {
        for (int64_t i = 0; i < n; i++) {
            double s = 0;
            for (int64_t j = 0; j < k; j++) s += d[i * k + j];
            key[i] = s / (double)k;
            order[i] = i;
            group[i] = -1;
        }
        sort_ctx sc = {key, NULL, 0};
        merge_sort(&sc, order, tmp, n);
        for (int64_t p = 0; p < n; p++) pos[order[p]] = p;
        for (int64_t i = 0; i < n; i++) {
            if (group[i] >= 0) continue;
            int64_t g = ng++;
            group[i] = g;
            /* Window on the mean: rounding in the means is far below this slack. */
            double win = tol + 1e-12 * (fabs(key[i]) + 1);
            for (int64_t p = pos[i] + 1; p < n && key[order[p]] - key[i] <= win; p++) {
                int64_t j = order[p];
                if (group[j] < 0 && cheb(d + i * k, d + j * k, k, tol) <= tol) group[j] = g;
            }
            for (int64_t p = pos[i] - 1; p >= 0 && key[i] - key[order[p]] <= win; p--) {
                int64_t j = order[p];
                if (group[j] < 0 && cheb(d + i * k, d + j * k, k, tol) <= tol) group[j] = g;
            }
        }
    } else {
        for (int64_t i = 0; i < n; i++) group[i] = i;
        ng = n;
    }
    /* Members are added in row order, so each group's mean is summed in row order. */
    for (int64_t i = 0; i < n; i++) {
        int64_t g = group[i];
        gw[g] += w[i];
        count[g]++;
        for (int64_t j = 0; j < k; j++) grow[g * k + j] += d[i * k + j];
    }
    for (int64_t g = 0; g < ng; g++)
        for (int64_t j = 0; j < k; j++) grow[g * k + j] /= (double)count[g];
    for (int64_t g = 0; g < ng; g++) order[g] = g;
    sort_ctx sc = {NULL, grow, k};
    merge_sort(&sc, order, tmp, ng);
    for (int64_t r = 0; r < ng; r++) {
        int64_t g = order[r];
        wout[r] = gw[g] / wsum;
        memcpy(rout + r * k, grow + g * k, (size_t)k * sizeof(double));
    }
    *nrows = ng;
done:
    free(group); free(order); free(pos); free(tmp); free(count); free(key); free(gw); free(grow);
    return rc;
}

int st_crystal_pdd(st_ctx *ctx, const st_crystal_set *set, const st_crystal_opts *opts,
                   int64_t *nrows, double *weights, double *rows)
{
    if (!nrows || !weights || !rows)
        return st_fail(ctx, ST_ERR_ARG, "crystal_pdd: nrows, weights and rows must not be NULL");
    double tol = (opts && opts->collapse_tol != 0) ? opts->collapse_tol : 1e-4;
    if (isnan(tol)) return st_fail(ctx, ST_ERR_ARG, "crystal_pdd: opts.collapse_tol is NaN");
    int64_t nq, k = opts_k(opts);
    double *d, *w;
    int rc = knn_alloc(ctx, "crystal_pdd", set, opts, &nq, &d, &w);
    if (rc) return rc;
    rc = pdd_finish(ctx, nq, k, d, w, tol, nrows, weights, rows);
    free(d); free(w);
    return rc;
}

/* ---- frames --------------------------------------------------------------------------------- */

/* Fill set from a frame; *sites and *mult are allocated (NULL for a P1 frame). */
static int frame_set(st_ctx *ctx, const char *where, st_atoms *fr, st_crystal_set *set,
                     int64_t **sites, double **mult)
{
    *sites = NULL;
    *mult = NULL;
    memset(set, 0, sizeof *set);
    if (!fr) return st_fail(ctx, ST_ERR_ARG, "%s: frame is NULL", where);
    int64_t n = st_atoms_count(fr);
    if (n < 1) return st_fail(ctx, ST_ERR_ARG, "%s: frame has no atoms", where);
    if (!st_atoms_has_cell(fr)) return st_fail(ctx, ST_ERR_ARG, "%s: frame has no cell", where);
    const int32_t *pbc = st_atoms_pbc(fr);
    if (!pbc[0] || !pbc[1] || !pbc[2])
        return st_fail(ctx, ST_ERR_ARG,
                       "%s: frame must be periodic along all three cell vectors (pbc %c %c %c)",
                       where, pbc[0] ? 'T' : 'F', pbc[1] ? 'T' : 'F', pbc[2] ? 'T' : 'F');
    set->cell = st_atoms_cell(fr);
    set->natoms = n;
    set->positions = st_atoms_positions(fr);
    set->numbers = st_atoms_numbers(fr);
    int ia = st_atoms_array_find(fr, "asym_site"), im = st_atoms_array_find(fr, "multiplicity");
    if (ia < 0 && im < 0) return ST_OK;   /* P1: every atom its own site */
    if (ia < 0 || im < 0)
        return st_fail(ctx, ST_ERR_ARG, "%s: frame has per-atom \"%s\" but no \"%s\" array", where,
                       ia < 0 ? "multiplicity" : "asym_site", ia < 0 ? "asym_site" : "multiplicity");
    for (int t = 0; t < 2; t++) {
        int idx = t ? im : ia;
        if (st_atoms_array_kind(fr, idx) != ST_KIND_INT || st_atoms_array_ncols(fr, idx) != 1)
            return st_fail(ctx, ST_ERR_ARG, "%s: per-atom \"%s\" must be an INT array with 1 column",
                           where, t ? "multiplicity" : "asym_site");
    }
    const int32_t *as = st_atoms_array_data(fr, ia), *mu = st_atoms_array_data(fr, im);
    int64_t ns = 0;
    for (int64_t i = 0; i < n; i++) {
        if (as[i] < 0 || as[i] >= n)
            return st_fail(ctx, ST_ERR_ARG, "%s: atom %lld: asym_site = %d is out of range [0, %lld)",
                           where, (long long)i, as[i], (long long)n);
        if (as[i] + 1 > ns) ns = as[i] + 1;
    }
    *sites = st_malloc_array((size_t)ns, sizeof(int64_t));
    *mult = st_malloc_array((size_t)ns, sizeof(double));
    if (!*sites || !*mult) {
        free(*sites); free(*mult);
        *sites = NULL; *mult = NULL;
        return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", where);
    }
    for (int64_t s = 0; s < ns; s++) (*sites)[s] = -1;
    for (int64_t i = 0; i < n; i++)
        if ((*sites)[as[i]] < 0) {
            (*sites)[as[i]] = i;
            (*mult)[as[i]] = mu[i];
            if (mu[i] < 1) {
                free(*sites); free(*mult);
                *sites = NULL; *mult = NULL;
                return st_fail(ctx, ST_ERR_ARG, "%s: atom %lld: multiplicity = %d must be >= 1",
                               where, (long long)i, mu[i]);
            }
        }
    for (int64_t s = 0; s < ns; s++)
        if ((*sites)[s] < 0) {
            free(*sites); free(*mult);
            *sites = NULL; *mult = NULL;
            return st_fail(ctx, ST_ERR_ARG, "%s: asym_site %lld has no atom (sites must be 0..%lld)",
                           where, (long long)s, (long long)ns - 1);
        }
    set->nsites = ns;
    set->sites = *sites;
    set->weights = *mult;
    return ST_OK;
}

int st_crystal_frame_nsites(st_ctx *ctx, st_atoms *frame, const st_crystal_opts *opts,
                            int64_t *nsites)
{
    st_crystal_set set;
    int64_t *s;
    double *m;
    int rc = frame_set(ctx, "crystal_frame_nsites", frame, &set, &s, &m);
    if (!rc) rc = st_crystal_nsites(ctx, &set, opts, nsites);
    free(s); free(m);
    return rc;
}

int st_crystal_frame_knn(st_ctx *ctx, st_atoms *frame, const st_crystal_opts *opts, double *dist,
                         double *weights)
{
    st_crystal_set set;
    int64_t *s;
    double *m;
    int rc = frame_set(ctx, "crystal_frame_knn", frame, &set, &s, &m);
    if (!rc) rc = st_crystal_knn(ctx, &set, opts, dist, weights);
    free(s); free(m);
    return rc;
}

int st_crystal_frame_amd(st_ctx *ctx, st_atoms *frame, const st_crystal_opts *opts, double *amd)
{
    st_crystal_set set;
    int64_t *s;
    double *m;
    int rc = frame_set(ctx, "crystal_frame_amd", frame, &set, &s, &m);
    if (!rc) rc = st_crystal_amd(ctx, &set, opts, amd);
    free(s); free(m);
    return rc;
}

int st_crystal_frame_pdd(st_ctx *ctx, st_atoms *frame, const st_crystal_opts *opts,
                         int64_t *nrows, double *weights, double *rows)
{
    st_crystal_set set;
    int64_t *s;
    double *m;
    int rc = frame_set(ctx, "crystal_frame_pdd", frame, &set, &s, &m);
    if (!rc) rc = st_crystal_pdd(ctx, &set, opts, nrows, weights, rows);
    free(s); free(m);
    return rc;
}
