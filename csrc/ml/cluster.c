/* cluster.c -- graphs and hierarchical clustering on a dense distance matrix: the minimum
 * spanning tree (Prim) and Ward linkage (exact, nearest-neighbour chain) with a flat cut at a
 * distance threshold.  Also the argument checks shared by csrc/ml.
 *
 * Prim's algorithm on the complete graph is O(n^2) with an array of best edges (Prim, Bell Syst.
 * Tech. J. 36, 1389 (1957)); a heap would not help on a dense graph.
 * Ward: the Lance-Williams recurrence for squared distances (Lance & Williams, Comput. J. 9, 373
 * (1967); Ward coefficients as in Murtagh & Contreras, WIREs DMKD 2, 86 (2012)):
 *     d^2(k, i+j) = [(n_i + n_k) d^2(k, i) + (n_j + n_k) d^2(k, j) - n_k d^2(i, j)] / (n_i + n_j + n_k)
 * Ward is reducible, so the nearest-neighbour chain (Murtagh 1983; Mullner, arXiv:1109.2378) finds exactly the merges of the greedy algorithm in O(n^2) time; the merges are then
 * sorted by height and relabelled with a union-find, as SciPy does, giving SciPy's linkage format.
 * Heights are sqrt(d^2): with Euclidean input they are Ward's "increase in variance" distances;
 * with any other metric (the AMD L-inf distance of the zeolite study) it is the same recurrence
 * SciPy applies to a condensed matrix.
 *
 * Does not: other linkages (single linkage is the MST), or sparse graphs.
 */
#include "ml_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int st_ml_check_distances(st_ctx *ctx, const char *where, int64_t n, const double *d, int64_t ldd,
                          int64_t min_n)
{
    if (n < min_n || n < 1)
        return st_fail(ctx, ST_ERR_ARG, "%s: n = %lld, need at least %lld items", where, (long long)n,
                       (long long)(min_n > 1 ? min_n : 1));
    if (!d) return st_fail(ctx, ST_ERR_ARG, "%s: NULL distance matrix", where);
    if (ldd < n)
        return st_fail(ctx, ST_ERR_ARG, "%s: row stride %lld < n = %lld", where, (long long)ldd, (long long)n);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i + 1; j < n; j++) {
            double a = d[i * ldd + j], b = d[j * ldd + i];
            if (!isfinite(a) || !isfinite(b) || a < 0 || b < 0)
                return st_fail(ctx, ST_ERR_ARG, "%s: distance (%lld, %lld) = %g: expected a finite "
                               "number >= 0", where, (long long)i, (long long)j, isfinite(a) && a >= 0 ? b : a);
            if (fabs(a - b) > 1e-9 * (1 + fabs(a)))
                return st_fail(ctx, ST_ERR_ARG, "%s: matrix not symmetric: d(%lld, %lld) = %.17g but "
                               "d(%lld, %lld) = %.17g", where, (long long)i, (long long)j, a, (long long)j,
                               (long long)i, b);
        }
    return ST_OK;
}

int st_ml_check_xy(st_ctx *ctx, const char *where, int64_t n, int64_t p, const double *x, int64_t ldx,
                   const double *y, int binary, int allow_nan)
{
    if (n < 1 || p < 1)
        return st_fail(ctx, ST_ERR_ARG, "%s: %lld rows x %lld columns, need at least 1 x 1", where,
                       (long long)n, (long long)p);
    if (!x) return st_fail(ctx, ST_ERR_ARG, "%s: NULL feature matrix", where);
    if (ldx < p)
        return st_fail(ctx, ST_ERR_ARG, "%s: row stride %lld < %lld columns", where, (long long)ldx, (long long)p);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < p; j++) {
            double v = x[i * ldx + j];
            if (!isfinite(v) && !(allow_nan && isnan(v)))
                return st_fail(ctx, ST_ERR_ARG, "%s: feature (%lld, %lld) = %g: expected a finite number",
                               where, (long long)i, (long long)j, v);
        }
    if (y) {
        for (int64_t i = 0; i < n; i++) {
            if (binary && y[i] != 0 && y[i] != 1)
                return st_fail(ctx, ST_ERR_ARG, "%s: label %lld is %g, expected 0 or 1", where, (long long)i, y[i]);
            if (!isfinite(y[i]))
                return st_fail(ctx, ST_ERR_ARG, "%s: target %lld is %g, expected a finite number", where,
                               (long long)i, y[i]);
        }
    }
    return ST_OK;
}

/* ------------------------------------------------------------------ minimum spanning tree */

int st_ml_mst(st_ctx *ctx, int64_t n, const double *d, int64_t ldd, int64_t *edges, double *weights)
{
    int rc = st_ml_check_distances(ctx, "ml_mst", n, d, ldd, 1);
    if (rc) return rc;
    if (n > 1 && (!edges || !weights)) return st_fail(ctx, ST_ERR_ARG, "ml_mst: NULL output");
    double *key = st_malloc_array((size_t)n, sizeof *key);
    int64_t *from = st_malloc_array((size_t)n, sizeof *from);
    char *in = calloc((size_t)n, 1);
    if (!key || !from || !in) {
        free(key); free(from); free(in);
        return st_fail(ctx, ST_ERR_NOMEM, "ml_mst: out of memory (n = %lld)", (long long)n);
    }
    /* key[v] = lightest edge from the tree to v (Prim 1957); ties go to the lower index */
    in[0] = 1;
    for (int64_t v = 1; v < n; v++) { key[v] = d[v]; from[v] = 0; }
    for (int64_t e = 0; e < n - 1; e++) {
        if ((e & 255) == 0 && (rc = st_check_interrupt(ctx, "ml_mst"))) break;
        int64_t best = -1;
        for (int64_t v = 1; v < n; v++)
            if (!in[v] && (best < 0 || key[v] < key[best])) best = v;
        in[best] = 1;
        edges[2 * e] = from[best];
        edges[2 * e + 1] = best;
        weights[e] = key[best];
        const double *row = d + best * ldd;
        for (int64_t v = 1; v < n; v++)
            if (!in[v] && row[v] < key[v]) { key[v] = row[v]; from[v] = best; }
    }
    free(key); free(from); free(in);
    return rc;
}

/* ------------------------------------------------------------------ Ward linkage */

typedef struct {
    int64_t a, b;      /* slots (leaf indices that represent the clusters) */
    double h;
    int64_t order;     /* NN-chain order, for a stable sort */
} merge;

static int by_height(const void *x, const void *y)
{
    const merge *p = x, *q = y;
    if (p->h != q->h) return p->h < q->h ? -1 : 1;
    return (p->order > q->order) - (p->order < q->order);
}

static int64_t uf_find(int64_t *parent, int64_t v)
{
    while (parent[v] != v) {
        parent[v] = parent[parent[v]];
        v = parent[v];
    }
    return v;
}

int st_ml_ward(st_ctx *ctx, int64_t n, const double *d, int64_t ldd, double *linkage)
{
    int rc = st_ml_check_distances(ctx, "ml_ward", n, d, ldd, 2);
    if (rc) return rc;
    if (!linkage) return st_fail(ctx, ST_ERR_ARG, "ml_ward: NULL output");
    if ((uint64_t)n > ((uint64_t)1 << 31))
        return st_fail(ctx, ST_ERR_ARG, "ml_ward: n = %lld too large for a dense matrix", (long long)n);
    double *d2 = st_malloc_array((size_t)n * (size_t)n, sizeof *d2);
    double *size = st_malloc_array((size_t)n, sizeof *size);
    int64_t *chain = st_malloc_array((size_t)n, sizeof *chain);
    int64_t *alive = st_malloc_array((size_t)n, sizeof *alive);    /* list of active slots */
    merge *m = st_malloc_array((size_t)n, sizeof *m);
    int64_t *parent = st_malloc_array((size_t)n, sizeof *parent);
    int64_t *cid = st_malloc_array((size_t)n, sizeof *cid);
    if (!d2 || !size || !chain || !alive || !m || !parent || !cid) {
        rc = st_fail(ctx, ST_ERR_NOMEM, "ml_ward: out of memory (n = %lld)", (long long)n);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        for (int64_t j = 0; j < n; j++) {
            double v = i == j ? 0 : d[i * ldd + j];
            d2[i * n + j] = v * v;
        }
        size[i] = 1;
        alive[i] = i;
    }
    int64_t nalive = n, len = 0;
    for (int64_t k = 0; k < n - 1; k++) {
        if ((k & 63) == 0) {
            if ((rc = st_check_interrupt(ctx, "ml_ward"))) goto done;
            if (n >= 1000) st_progress(ctx, "ward linkage", (double)k, (double)(n - 1));
        }
        if (len == 0) chain[len++] = alive[0];
        int64_t a, b;
        for (;;) {
            a = chain[len - 1];
            /* nearest active neighbour of a; the previous chain element wins ties, which makes
               the chain end in a reciprocal pair (Mullner 2011) */
            int64_t prev = len >= 2 ? chain[len - 2] : -1;
            b = prev;
            double best = prev >= 0 ? d2[a * n + prev] : INFINITY;
            for (int64_t t = 0; t < nalive; t++) {
                int64_t c = alive[t];
                if (c == a) continue;
                double v = d2[a * n + c];
                if (v < best) { best = v; b = c; }
            }
            if (b == prev) break;
            chain[len++] = b;
        }
        len -= 2;
        /* merge a and b into the slot min(a, b) */
        int64_t lo = a < b ? a : b, hi = a < b ? b : a;
        double dab = d2[a * n + b], sa = size[lo], sb = size[hi];
        m[k].a = lo;
        m[k].b = hi;
        m[k].h = sqrt(dab > 0 ? dab : 0);
        m[k].order = k;
        for (int64_t t = 0; t < nalive; t++) {
            int64_t c = alive[t];
            if (c == lo || c == hi) continue;
            double sc = size[c];
            /* Lance-Williams with Ward's coefficients (Lance & Williams 1967) */
            double v = ((sa + sc) * d2[lo * n + c] + (sb + sc) * d2[hi * n + c] - sc * dab) / (sa + sb + sc);
            d2[lo * n + c] = d2[c * n + lo] = v;
        }
        size[lo] = sa + sb;
        for (int64_t t = 0; t < nalive; t++)
            if (alive[t] == hi) { alive[t] = alive[--nalive]; break; }
    }
    /* sort by height (stable) and relabel to SciPy's ids with a union-find over slots */
    qsort(m, (size_t)(n - 1), sizeof *m, by_height);
    for (int64_t i = 0; i < n; i++) { parent[i] = i; cid[i] = i; size[i] = 1; }
    for (int64_t k = 0; k < n - 1; k++) {
        int64_t ra = uf_find(parent, m[k].a), rb = uf_find(parent, m[k].b);
        int64_t ia = cid[ra], ib = cid[rb];
        double s = size[ra] + size[rb];
        linkage[4 * k] = (double)(ia < ib ? ia : ib);
        linkage[4 * k + 1] = (double)(ia < ib ? ib : ia);
        linkage[4 * k + 2] = m[k].h;
        linkage[4 * k + 3] = s;
        parent[rb] = ra;
        cid[ra] = n + k;
        size[ra] = s;
    }
    if (n >= 1000) st_progress(ctx, "ward linkage", (double)(n - 1), (double)(n - 1));
done:
    free(d2); free(size); free(chain); free(alive); free(m); free(parent); free(cid);
    return rc;
}

int st_ml_linkage_cut(st_ctx *ctx, int64_t n, const double *linkage, double threshold, int32_t *labels,
                      int64_t *nclusters)
{
    if (n < 1) return st_fail(ctx, ST_ERR_ARG, "ml_linkage_cut: n = %lld, need at least 1", (long long)n);
    if ((n > 1 && !linkage) || !labels) return st_fail(ctx, ST_ERR_ARG, "ml_linkage_cut: NULL array");
    if (isnan(threshold)) return st_fail(ctx, ST_ERR_ARG, "ml_linkage_cut: threshold is NaN");
    int64_t *parent = st_malloc_array((size_t)n, sizeof *parent);
    int64_t *rep = st_malloc_array((size_t)(2 * n), sizeof *rep);   /* cluster id -> a leaf */
    if (!parent || !rep) {
        free(parent); free(rep);
        return st_fail(ctx, ST_ERR_NOMEM, "ml_linkage_cut: out of memory");
    }
    for (int64_t i = 0; i < n; i++) { parent[i] = i; rep[i] = i; }
    for (int64_t k = 0; k < n - 1; k++) {
        const double *r = linkage + 4 * k;
        double a = r[0], b = r[1];
        if (!(a >= 0 && b >= 0 && a < (double)(n + k) && b < (double)(n + k) && a != b && a == floor(a) &&
              b == floor(b)) || isnan(r[2])) {
            free(parent); free(rep);
            return st_fail(ctx, ST_ERR_ARG, "ml_linkage_cut: row %lld (%g, %g, %g): ids must be distinct "
                           "integers below %lld and the height a number", (long long)k, a, b, r[2],
                           (long long)(n + k));
        }
        int64_t la = rep[(int64_t)a], lb = rep[(int64_t)b];
        rep[n + k] = la;
        if (r[2] <= threshold) parent[uf_find(parent, lb)] = uf_find(parent, la);
    }
    /* number clusters in order of their first leaf */
    int64_t *num = rep;   /* reuse: root -> label + 1 */
    for (int64_t i = 0; i < n; i++) num[i] = 0;
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t r = uf_find(parent, i);
        if (!num[r]) num[r] = ++k;
        labels[i] = (int32_t)(num[r] - 1);
    }
    if (nclusters) *nclusters = k;
    free(parent); free(rep);
    return ST_OK;
}
