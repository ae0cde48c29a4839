/* tree.c -- ball tree over descriptor rows, for the pruned kernel sums (pruned.c).
 *
 * Each node stores the centroid c of its rows and the radius r = max |x - c|, so by the triangle
 * inequality every row x of the node satisfies |q - c| - r <= |q - x| <= |q - c| + r for any q
 * (Omohundro, "Five balltree construction algorithms", ICSI TR-89-063 (1989); Uhlmann (1991)).
 * Split rule: p1 = the row farthest from the centroid, p2 = the row farthest from p1, project on
 * p2 - p1 and split at the median (a cheap approximation of the principal direction that follows
 * the data's spread in high dimension), giving a balanced tree of depth log2(n/leaf).
 *
 * The split point is rounded to a multiple of `align` (the SIMD panel height), so every node starts
 * on a panel boundary and only the last leaf has a partial panel.  Leaves hold between leaf/4 and
 * leaf rows.  Distances are exact differences in the caller's coordinates; the radius is rounded
 * up by 1e-12 relative so rounding can never make a bound unsafe.  The build is O(n d log n), run
 * as OpenMP tasks; the result does not depend on the thread count.
 *
 * Not done here: no k-means refinement, no incremental insertion, no persistence.
 */
#include "entropy_impl.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct builder {
    const ent_set *S;
    ent_tree *T;
    int leaf, align;
    int64_t next;          /* next free node id (atomic) */
    double *key;           /* [n] projections, indexed by tree position */
} builder;

static int64_t new_node(builder *B)
{
    int64_t id;
    #pragma omp atomic capture
    id = B->next++;
    return id;
}

static double dist2(const double *a, const double *b, int d)
{
    double s = 0;
    for (int k = 0; k < d; k++) {
        double t = a[k] - b[k];
        s = fma(t, t, s);
    }
    return s;
}

/* Reorder key/perm[lo, hi) so that position k holds the element of rank k - lo, smaller keys
 * before it and larger after (Hoare's FIND with a median-of-three pivot). */
static void select_kth(double *key, int64_t *perm, int64_t lo, int64_t hi, int64_t k)
{
    while (hi - lo > 2) {
        int64_t mid = lo + (hi - lo) / 2;
        double a = key[lo], b = key[mid], c = key[hi - 1];
        double pv = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        int64_t i = lo, j = hi - 1;
        while (i <= j) {
            while (key[i] < pv) i++;
            while (key[j] > pv) j--;
            if (i <= j) {
                double tk = key[i]; key[i] = key[j]; key[j] = tk;
                int64_t tp = perm[i]; perm[i] = perm[j]; perm[j] = tp;
                i++;
                j--;
            }
        }
        if (k <= j) hi = j + 1;
        else if (k >= i) lo = i;
        else return;
    }
    if (hi - lo == 2 && key[lo] > key[lo + 1]) {
        double tk = key[lo]; key[lo] = key[lo + 1]; key[lo + 1] = tk;
        int64_t tp = perm[lo]; perm[lo] = perm[lo + 1]; perm[lo + 1] = tp;
    }
}

static void build(builder *B, int64_t id, int64_t lo, int64_t hi)
{
    ent_tree *T = B->T;
    const ent_set *S = B->S;
    const int d = T->d;
    const int64_t n = hi - lo;
    double *c = T->centre + id * d;
    T->lo[id] = lo;
    T->hi[id] = hi;
    T->left[id] = T->right[id] = -1;
    memset(c, 0, (size_t)d * sizeof *c);
    for (int64_t i = lo; i < hi; i++) {
        const double *x = S->x + T->perm[i] * S->ld;
        for (int k = 0; k < d; k++) c[k] += x[k];
    }
    for (int k = 0; k < d; k++) c[k] /= (double)n;
    double r2 = 0;
    int64_t p1 = lo;
    for (int64_t i = lo; i < hi; i++) {
        double e = dist2(S->x + T->perm[i] * S->ld, c, d);
        if (e > r2) { r2 = e; p1 = i; }
    }
    T->radius[id] = sqrt(r2) * (1 + 1e-12);
    if (n <= B->leaf) return;

    const double *x1 = S->x + T->perm[p1] * S->ld;
    double f2 = -1;
    int64_t p2 = lo;
    for (int64_t i = lo; i < hi; i++) {
        double e = dist2(S->x + T->perm[i] * S->ld, x1, d);
        if (e > f2) { f2 = e; p2 = i; }
    }
    const double *x2 = S->x + T->perm[p2] * S->ld;
    for (int64_t i = lo; i < hi; i++) {
        const double *x = S->x + T->perm[i] * S->ld;
        double s = 0;
        for (int k = 0; k < d; k++) s = fma(x2[k] - x1[k], x[k], s);
        B->key[i] = s;
    }
    int64_t nl = (int64_t)llround((double)n / 2 / B->align) * B->align;
    if (nl < B->align) nl = B->align;
    if (nl > n - 1) nl = n - 1;
    select_kth(B->key, T->perm, lo, hi, lo + nl);
    int64_t L = new_node(B), R = new_node(B);
    T->left[id] = L;
    T->right[id] = R;
    if (n > 20000) {
        #pragma omp task
        build(B, L, lo, lo + nl);
        build(B, R, lo + nl, hi);
        #pragma omp taskwait
    } else {
        build(B, L, lo, lo + nl);
        build(B, R, lo + nl, hi);
    }
}

static int cmp_lo(const void *a, const void *b, void *T_)
{
    const ent_tree *T = T_;
    int64_t x = T->lo[*(const int64_t *)a], y = T->lo[*(const int64_t *)b];
    return (x > y) - (x < y);
}

int ent_tree_build(st_ctx *ctx, const char *fn, const ent_set *S, int leaf, int align,
                   int nthreads, ent_tree *T)
{
    memset(T, 0, sizeof *T);
    const int64_t n = S->n;
    const int d = (int)S->d;
    const int64_t cap = 8 * (n / leaf) + 8;   /* leaves hold >= leaf/4 rows, see header */
    T->n = n;
    T->d = d;
    T->lo = malloc((size_t)cap * sizeof(int64_t));
    T->hi = malloc((size_t)cap * sizeof(int64_t));
    T->left = malloc((size_t)cap * sizeof(int64_t));
    T->right = malloc((size_t)cap * sizeof(int64_t));
    T->radius = malloc((size_t)cap * sizeof(double));
    T->centre = st_malloc_array((size_t)cap * d, sizeof(double));
    T->perm = st_malloc_array((size_t)(n ? n : 1), sizeof(int64_t));
    double *key = st_malloc_array((size_t)(n ? n : 1), sizeof(double));
    if (!T->lo || !T->hi || !T->left || !T->right || !T->radius || !T->centre || !T->perm ||
        !key) {
        free(key);
        ent_tree_free(T);
        return st_fail(ctx, ST_ERR_NOMEM, "%s: cannot allocate the ball tree of %s (%lld rows)",
                       fn, S->name, (long long)n);
    }
    for (int64_t i = 0; i < n; i++) T->perm[i] = i;
    builder B = {S, T, leaf, align, 1, key};
    #pragma omp parallel num_threads(nthreads)
    #pragma omp single
    build(&B, 0, 0, n);
    free(key);
    T->nnodes = B.next;
    int64_t nl = 0;
    for (int64_t i = 0; i < T->nnodes; i++) nl += T->left[i] < 0;
    T->leaves = malloc((size_t)(nl ? nl : 1) * sizeof(int64_t));
    if (!T->leaves) {
        ent_tree_free(T);
        return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", fn);
    }
    T->nleaves = 0;
    for (int64_t i = 0; i < T->nnodes; i++)
        if (T->left[i] < 0) T->leaves[T->nleaves++] = i;
    qsort_r(T->leaves, (size_t)T->nleaves, sizeof(int64_t), cmp_lo, T);
    return ST_OK;
}

void ent_tree_free(ent_tree *T)
{
    if (!T) return;
    free(T->lo); free(T->hi); free(T->left); free(T->right);
    free(T->radius); free(T->centre); free(T->perm); free(T->leaves);
    memset(T, 0, sizeof *T);
}
