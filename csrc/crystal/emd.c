/* emd.c -- exact balanced transport (network simplex) and the Earth mover's distance between
 * PDDs, for single pairs and whole matrices.
 *
 * EMD(P, Q) = min sum_ij f_ij C_ij over f >= 0 with sum_j f_ij = w_i, sum_i f_ij = v_j, where
 * C_ij = max_t |P_it - Q_jt| (Chebyshev ground distance between PDD rows; Widdowson & Kurlin,
 * arXiv:2108.04798, definition of the EMD on PDDs).
 *
 * Solver: the primal network simplex on the bipartite graph (Ahuja, Magnanti & Orlin, "Network
 * Flows", 1993, ch. 11, "AMO" below), in double precision with no rounding of weights or costs:
 *   - an artificial root joined to every node (supply i -> root, root -> demand j) gives the
 *     first basis; its arcs cost M = 2 max |C|, enough that any flow left on two of them
 *     (2M > C_ij) is beaten by the direct arc, so they are never priced again;
 *   - the basis is a spanning tree kept as parent / pred-arc plus child lists (first child,
 *     siblings); potentials satisfy c_ij - pi_i + pi_j = 0 on tree arcs (AMO's convention);
 *   - entering arc: block search (most negative reduced cost within blocks of ~sqrt(arcs) arcs,
 *     resuming where the last search stopped);
 *   - leaving arc: the last blocking arc met when traversing the cycle from its apex along the
 *     entering arc's orientation, which keeps the tree strongly feasible and rules out cycling
 *     (AMO, strongly feasible spanning trees);
 *   - update: the subtree S cut off by the leaving arc is re-hung from the entering arc
 *     (reversing the path between them) and only the potentials of S change.  The apex is found
 *     by climbing from both ends with visit marks, so no depth labels need maintaining.
 * Tried and dropped: a north-west-corner first basis (rows ordered lexicographically or by
 * mean) took as many pivots as the star and cost more per pivot (deep trees); updating the
 * potentials of the smaller side of the cut was slower on these small problems.  Block sizes
 * of 16..64 for small problems were within a few per cent of 32 (callgrind counts).
 * Non-tree arcs always carry zero flow (no upper bounds), so flows live on the tree arcs only:
 * memory is O(nodes) plus the cost matrix.  Optimality is declared when no reduced cost is below
 * -1e-12 M; the gap to the true optimum is then at most that times the total flow (1).
 *
 * Not done here: unbalanced/partial transport, entropic (Sinkhorn) approximations, sparse graphs.
 */
#include "../core/internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct {
    int32_t n1, n2, N;        /* supply nodes 0..n1-1, demand nodes n1..N-1, root N */
    int64_t E;                /* real arcs: e = i*n2 + j is (i -> n1+j) */
    const double *c;          /* [n1][n2] */
    int64_t cap;              /* nodes allocated */
    double *pi, *tf;          /* potentials; flow on each node's pred arc */
    int64_t *pred;            /* pred arc: real arc id, or -1 for the artificial arc to the root */
    int32_t *parent, *fchild, *nsib, *psib;
    int64_t *mark, stamp;     /* apex search: mark[x] = 2 stamp (+1) if met from k (l) */
    unsigned char *up;        /* pred arc points from the node to its parent */
    int64_t next_arc, block;
    double eps;
    /* scratch owned by the workspace: cost matrix and compaction maps */
    double *cost;
    size_t cost_cap;
    double *wa, *wb;
    int64_t *ia, *ib;
    int64_t wcap;
} ns_work;

static void ns_free(ns_work *w)
{
    free(w->pi); free(w->tf); free(w->pred); free(w->parent); free(w->fchild);
    free(w->nsib); free(w->psib); free(w->mark); free(w->up); free(w->cost);
    free(w->wa); free(w->wb); free(w->ia); free(w->ib);
    memset(w, 0, sizeof *w);
}

static int ns_reserve(ns_work *w, int64_t nodes)
{
    if (nodes <= w->cap) return ST_OK;
    int64_t n = nodes + nodes / 2;
    void *p[9];
    p[0] = realloc(w->pi, (size_t)n * sizeof(double));     if (p[0]) w->pi = p[0];
    p[1] = realloc(w->tf, (size_t)n * sizeof(double));     if (p[1]) w->tf = p[1];
    p[2] = realloc(w->pred, (size_t)n * sizeof(int64_t));  if (p[2]) w->pred = p[2];
    p[3] = realloc(w->parent, (size_t)n * sizeof(int32_t)); if (p[3]) w->parent = p[3];
    p[4] = realloc(w->fchild, (size_t)n * sizeof(int32_t)); if (p[4]) w->fchild = p[4];
    p[5] = realloc(w->nsib, (size_t)n * sizeof(int32_t));  if (p[5]) w->nsib = p[5];
    p[6] = realloc(w->psib, (size_t)n * sizeof(int32_t));  if (p[6]) w->psib = p[6];
    p[7] = realloc(w->mark, (size_t)n * sizeof(int64_t));  if (p[7]) w->mark = p[7];
    p[8] = realloc(w->up, (size_t)n);                      if (p[8]) w->up = p[8];
    for (int i = 0; i < 9; i++)
        if (!p[i]) return ST_ERR_NOMEM;
    w->cap = n;
    return ST_OK;
}

static int reserve_doubles(double **p, size_t *cap, size_t n)
{
    if (n <= *cap) return ST_OK;
    double *q = realloc(*p, (n ? n : 1) * sizeof(double));
    if (!q) return ST_ERR_NOMEM;
    *p = q;
    *cap = n;
    return ST_OK;
}

static int reserve_weights(ns_work *w, int64_t n)
{
    if (n <= w->wcap) return ST_OK;
    void *p[4];
    p[0] = realloc(w->wa, (size_t)n * sizeof(double));   if (p[0]) w->wa = p[0];
    p[1] = realloc(w->wb, (size_t)n * sizeof(double));   if (p[1]) w->wb = p[1];
    p[2] = realloc(w->ia, (size_t)n * sizeof(int64_t));  if (p[2]) w->ia = p[2];
    p[3] = realloc(w->ib, (size_t)n * sizeof(int64_t));  if (p[3]) w->ib = p[3];
    for (int i = 0; i < 4; i++)
        if (!p[i]) return ST_ERR_NOMEM;
    w->wcap = n;
    return ST_OK;
}

static void child_add(ns_work *w, int32_t p, int32_t x)
{
    w->nsib[x] = w->fchild[p];
    w->psib[x] = -1;
    if (w->fchild[p] >= 0) w->psib[w->fchild[p]] = x;
    w->fchild[p] = x;
}

static void child_remove(ns_work *w, int32_t p, int32_t x)
{
    if (w->psib[x] >= 0) w->nsib[w->psib[x]] = w->nsib[x];
    else w->fchild[p] = w->nsib[x];
    if (w->nsib[x] >= 0) w->psib[w->nsib[x]] = w->psib[x];
}

/* Block search for an entering arc; returns -1 when every reduced cost is >= -eps.  Arcs are
 * scanned row by row from where the last search stopped; within a row segment the minimum of
 * c_ij + pi_j is taken first (vectorised), and the arc is located only if it beats the best. */
static int64_t ns_price(ns_work *w, double *rc_out)
{
    const int64_t E = w->E, B = w->block, n1 = w->n1, n2 = w->n2;
    const double *c = w->c, *pi = w->pi, *pid = w->pi + w->n1;
    int64_t i = w->next_arc / n2, j = w->next_arc % n2, scanned = 0, inblock = 0, best_e = -1;
    double best = -w->eps;
    while (scanned < E) {
        int64_t len = n2 - j;
        if (len > B - inblock) len = B - inblock;
        if (len > E - scanned) len = E - scanned;
        const double *cr = c + i * n2 + j, *pj = pid + j;
        double mn = INFINITY;
#pragma omp simd reduction(min : mn)
        for (int64_t t = 0; t < len; t++) {
            double r = cr[t] + pj[t];
            mn = r < mn ? r : mn;
        }
        double rc = mn - pi[i];   /* reduced cost c_ij - pi_i + pi_j */
        if (rc < best) {
            int64_t t = 0;
            while (t < len - 1 && cr[t] + pj[t] != mn) t++;
            best = rc;
            best_e = i * n2 + j + t;
        }
        scanned += len;
        inblock += len;
        j += len;
        if (j == n2) {
            j = 0;
            if (++i == n1) i = 0;
        }
        if (inblock == B) {
            if (best_e >= 0) break;
            inblock = 0;
        }
    }
    w->next_arc = i * n2 + j;
    *rc_out = best;
    return best_e;
}

/* One pivot on entering arc e (k -> l) with reduced cost rc < 0. */
static int ns_pivot(ns_work *w, int64_t e, double rc)
{
    int32_t *parent = w->parent;
    unsigned char *up = w->up;
    double *tf = w->tf;
    const int32_t root = w->N;
    int32_t k = (int32_t)(e / w->n2), l = (int32_t)(w->n1 + e % w->n2);
    /* Apex of the cycle (nearest common ancestor of k and l): climb from both ends in turn,
     * marking, until one climber reaches a node the other has marked.  Costs O(cycle length),
     * not O(depth), and needs no depth labels (which would have to be updated on every pivot). */
    int64_t sk = 2 * ++w->stamp, sl = sk + 1;
    int32_t a = k, b = l, apex = -1;
    w->mark[a] = sk;
    w->mark[b] = sl;
    while (apex < 0) {
        if (a != root) {
            a = parent[a];
            if (w->mark[a] == sl) { apex = a; break; }
            w->mark[a] = sk;
        }
        if (b != root) {
            b = parent[b];
            if (w->mark[b] == sk) { apex = b; break; }
            w->mark[b] = sl;
        }
    }
    /* The cycle runs apex -> ... -> k -> l -> ... -> apex.  On the k side it goes down the tree,
     * so arcs pointing up lose flow; on the l side it goes up, so arcs pointing down lose flow.
     * Leaving arc = last blocking arc in that order: the k side is scanned from k (strict <, the
     * one nearest k wins among ties), then the l side from l (<=, the one nearest the apex wins),
     * which gives the l side precedence as it comes later in the traversal. */
    double delta = INFINITY;
    int32_t leave = -1, side = 0;
    for (int32_t x = k; x != apex; x = parent[x])
        if (up[x] && tf[x] < delta) { delta = tf[x]; leave = x; side = 0; }
    for (int32_t x = l; x != apex; x = parent[x])
        if (!up[x] && tf[x] <= delta) { delta = tf[x]; leave = x; side = 1; }
    if (leave < 0) return ST_ERR_INTERNAL;   /* no blocking arc: impossible (no directed cycles) */
    if (delta > 0) {
        for (int32_t x = k; x != apex; x = parent[x]) tf[x] += up[x] ? -delta : delta;
        for (int32_t x = l; x != apex; x = parent[x]) tf[x] += up[x] ? delta : -delta;
    }
    /* The subtree S below the leaving arc contains k (side 0) or l (side 1).  It is re-rooted at
     * that endpoint and hung from the other one; its potentials shift so that the entering arc
     * gets reduced cost 0: pi_k += rc if k is in S, pi_l -= rc if l is. */
    int32_t u_in = side ? l : k, v_in = side ? k : l;
    double dpi = side ? -rc : rc;
    child_remove(w, parent[leave], leave);
    int32_t x = u_in, newp = v_in;
    int64_t carc = e;
    unsigned char cup = (x == k);     /* arc k -> l points from k to its new parent l */
    double cf = delta;
    for (;;) {
        int32_t oldp = parent[x];
        int64_t oarc = w->pred[x];
        unsigned char oup = up[x];
        double of = tf[x];
        if (x != leave) child_remove(w, oldp, x);
        parent[x] = newp;
        w->pred[x] = carc;
        up[x] = cup;
        tf[x] = cf;
        child_add(w, newp, x);
        if (x == leave) break;
        carc = oarc;                  /* the old pred arc of x now hangs oldp from x */
        cup = !oup;
        cf = of;
        newp = x;
        x = oldp;
    }
    /* Potentials of S, in preorder via the child lists. */
    w->pi[u_in] += dpi;
    x = u_in;
    for (;;) {
        if (w->fchild[x] >= 0) {
            x = w->fchild[x];
        } else {
            while (x != u_in && w->nsib[x] < 0) x = parent[x];
            if (x == u_in) break;
            x = w->nsib[x];
        }
        w->pi[x] += dpi;
    }
    return ST_OK;
}

/* First basis: every node hangs from the artificial root (supply i -> root carries a_i,
 * root -> demand j carries b_j); all flows positive, so the tree is strongly feasible. */
static void ns_init_star(ns_work *w, const double *a, const double *b, double M)
{
    int32_t n1 = w->n1, N = w->N;
    w->parent[N] = -1;
    w->fchild[N] = -1;
    w->pi[N] = 0;
    w->pred[N] = -1;
    for (int32_t x = N - 1; x >= 0; x--) {
        w->parent[x] = N;
        w->pred[x] = -1;
        w->fchild[x] = -1;
        if (x < n1) { w->up[x] = 1; w->tf[x] = a[x]; w->pi[x] = M; }          /* x -> root */
        else { w->up[x] = 0; w->tf[x] = b[x - n1]; w->pi[x] = -M; }            /* root -> x */
        child_add(w, N, x);
    }
}

/* Solve with all a, b > 0 (n1, n2 >= 1).  The optimal tree is left in w. */
static int ns_solve(ns_work *w, int32_t n1, const double *a, int32_t n2, const double *b,
                    const double *c, double *value)
{
    int32_t N = n1 + n2;
    if (ns_reserve(w, N + 1)) return ST_ERR_NOMEM;
    w->n1 = n1;
    w->n2 = n2;
    w->N = N;
    w->E = (int64_t)n1 * n2;
    w->c = c;
    double maxc = 0;
    for (int64_t e = 0; e < w->E; e++) maxc = fabs(c[e]) > maxc ? fabs(c[e]) : maxc;
    double M = maxc > 0 ? 2 * maxc : 1;   /* > max c / 2 suffices, see the header comment */
    w->eps = 1e-12 * M;
    w->block = (int64_t)ceil(sqrt((double)w->E));
    if (w->block < 32) w->block = w->E < 32 ? w->E : 32;
    w->next_arc = 0;
    w->stamp = 0;
    memset(w->mark, 0, (size_t)(N + 1) * sizeof(int64_t));
    ns_init_star(w, a, b, M);
    int64_t maxpiv = 1000 * (int64_t)(N + 1) + 20 * w->E, piv = 0;
    for (;;) {
        double rc;
        int64_t e = ns_price(w, &rc);
        if (e < 0) break;
        int rcode = ns_pivot(w, e, rc);
        if (rcode) return rcode;
        if (++piv > maxpiv) return ST_ERR_NUMERIC;
        /* a single large problem (thousands of rows) runs for seconds: poll now and then */
        if ((piv & 4095) == 0 && st_interrupt_pending()) return ST_ERR_INTERRUPTED;
    }
    double v = 0;
    for (int32_t x = 0; x < N; x++)
        if (w->pred[x] >= 0) v += c[w->pred[x]] * w->tf[x];
    *value = v;
    return ST_OK;
}

/* Transport with zero weights allowed: compacts to the positive ones, solves, expands outputs.
 * cost_full is [n1][n2]; if all weights are positive it is used in place. */
static int transport(ns_work *w, int64_t n1, const double *a, int64_t n2, const double *b,
                     const double *cost, double *flow, double *u, double *v, double *value)
{
    if (reserve_weights(w, n1 > n2 ? n1 : n2)) return ST_ERR_NOMEM;
    int64_t m1 = 0, m2 = 0;
    for (int64_t i = 0; i < n1; i++)
        if (a[i] > 0) { w->ia[m1] = i; w->wa[m1++] = a[i]; }
    for (int64_t j = 0; j < n2; j++)
        if (b[j] > 0) { w->ib[m2] = j; w->wb[m2++] = b[j]; }
    const double *c = cost;
    double *cc = NULL;
    if (m1 < n1 || m2 < n2) {
        cc = st_malloc_array((size_t)m1, (size_t)m2 * sizeof(double));
        if (!cc) return ST_ERR_NOMEM;
        for (int64_t i = 0; i < m1; i++)
            for (int64_t j = 0; j < m2; j++) cc[i * m2 + j] = cost[w->ia[i] * n2 + w->ib[j]];
        c = cc;
    }
    int rc = ns_solve(w, (int32_t)m1, w->wa, (int32_t)m2, w->wb, c, value);
    if (rc) {
        free(cc);
        return rc;
    }
    if (flow) {
        memset(flow, 0, (size_t)(n1 * n2) * sizeof(double));
        for (int32_t x = 0; x < w->N; x++)
            if (w->pred[x] >= 0) {
                int64_t e = w->pred[x], i = e / m2, j = e % m2;
                flow[w->ia[i] * n2 + w->ib[j]] = w->tf[x];
            }
    }
    if (u || v) {
        /* u_i = pi_i, v_j = -pi_j (shifted by the root's potential): u_i + v_j <= c_ij. */
        double p0 = w->pi[w->N];
        double *uu = u, *vv = v;
        double *tu = NULL, *tv = NULL;
        if (!uu) uu = tu = st_malloc_array((size_t)n1, sizeof(double));
        if (!vv) vv = tv = st_malloc_array((size_t)n2, sizeof(double));
        if (!uu || !vv) {
            free(tu); free(tv); free(cc);
            return ST_ERR_NOMEM;
        }
        for (int64_t i = 0; i < n1; i++) uu[i] = NAN;
        for (int64_t j = 0; j < n2; j++) vv[j] = NAN;
        for (int64_t i = 0; i < m1; i++) uu[w->ia[i]] = w->pi[i] - p0;
        for (int64_t j = 0; j < m2; j++) vv[w->ib[j]] = p0 - w->pi[m1 + j];
        /* Rows/columns of weight 0 take the largest potential that keeps the dual feasible. */
        for (int64_t i = 0; i < n1; i++)
            if (isnan(uu[i])) {
                double best = INFINITY;
                for (int64_t j = 0; j < n2; j++)
                    if (!isnan(vv[j]) && cost[i * n2 + j] - vv[j] < best) best = cost[i * n2 + j] - vv[j];
                uu[i] = best;
            }
        for (int64_t j = 0; j < n2; j++)
            if (isnan(vv[j])) {
                double best = INFINITY;
                for (int64_t i = 0; i < n1; i++)
                    if (cost[i * n2 + j] - uu[i] < best) best = cost[i * n2 + j] - uu[i];
                vv[j] = best;
            }
        free(tu); free(tv);
    }
    free(cc);
    return ST_OK;
}

static int check_weights(st_ctx *ctx, const char *where, const char *name, int64_t n,
                         const double *x, double *sum)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!(x[i] >= 0) || !isfinite(x[i]))
            return st_fail(ctx, ST_ERR_ARG, "%s: %s[%lld] = %g: weights must be finite and >= 0",
                           where, name, (long long)i, x[i]);
        s += x[i];
    }
    if (!(s > 0)) return st_fail(ctx, ST_ERR_ARG, "%s: %s sums to 0", where, name);
    *sum = s;
    return ST_OK;
}

static int solver_status(st_ctx *ctx, const char *where, int rc)
{
    if (rc == ST_ERR_NOMEM) return st_fail(ctx, rc, "%s: out of memory", where);
    if (rc == ST_ERR_INTERRUPTED) return st_fail(ctx, rc, "%s: interrupted", where);
    if (rc == ST_ERR_NUMERIC)
        return st_fail(ctx, rc, "%s: network simplex exceeded its pivot limit", where);
    return st_fail(ctx, rc, "%s: network simplex found no blocking arc (a bug)", where);
}

int st_crystal_transport(st_ctx *ctx, int64_t n1, const double *a, int64_t n2, const double *b,
                         const double *cost, double *flow, double *u, double *v, double *value)
{
    static const char *where = "crystal_transport";
    if (n1 < 1 || n2 < 1 || n1 > 100000000 || n2 > 100000000)
        return st_fail(ctx, ST_ERR_ARG, "%s: sizes %lld x %lld must be >= 1", where,
                       (long long)n1, (long long)n2);
    if (!a || !b || !cost || !value)
        return st_fail(ctx, ST_ERR_ARG, "%s: a, b, cost and value must not be NULL", where);
    double sa = 0, sb = 0;
    int rc = check_weights(ctx, where, "a", n1, a, &sa);
    if (!rc) rc = check_weights(ctx, where, "b", n2, b, &sb);
    if (rc) return rc;
    if (fabs(sa - sb) > 1e-9 * (sa > sb ? sa : sb))
        return st_fail(ctx, ST_ERR_ARG, "%s: unbalanced: sum a = %.17g, sum b = %.17g", where, sa, sb);
    for (int64_t e = 0; e < n1 * n2; e++)
        if (!isfinite(cost[e]))
            return st_fail(ctx, ST_ERR_ARG, "%s: cost[%lld][%lld] is not finite", where,
                           (long long)(e / n2), (long long)(e % n2));
    ns_work w;
    memset(&w, 0, sizeof w);
    rc = transport(&w, n1, a, n2, b, cost, flow, u, v, value);
    ns_free(&w);
    return rc ? solver_status(ctx, where, rc) : ST_OK;
}

/* ---- EMD between PDDs ----------------------------------------------------------------------- */

/* Chebyshev cost matrix between rows r1 [n1][k] and r2 [n2][k]. */
static void cheb_costs(int64_t k, int64_t n1, const double *r1, int64_t n2, const double *r2,
                       double *c)
{
    for (int64_t i = 0; i < n1; i++) {
        const double *x = r1 + i * k;
        for (int64_t j = 0; j < n2; j++) {
            const double *y = r2 + j * k;
            double m = 0;
#pragma omp simd reduction(max : m)
            for (int64_t t = 0; t < k; t++) {
                double d = fabs(x[t] - y[t]);
                m = d > m ? d : m;
            }
            c[i * n2 + j] = m;
        }
    }
}

/* EMD with weights already normalised to sum 1. */
static int emd_pair(ns_work *w, int64_t k, int64_t n1, const double *w1, const double *r1,
                    int64_t n2, const double *w2, const double *r2, double *out)
{
    if (reserve_doubles(&w->cost, &w->cost_cap, (size_t)(n1 * n2))) return ST_ERR_NOMEM;
    cheb_costs(k, n1, r1, n2, r2, w->cost);
    if (n1 == 1 || n2 == 1) {
        /* A single row must ship all its weight to every row of the other side. */
        const double *ww = n1 == 1 ? w2 : w1;
        double s = 0;
        for (int64_t t = 0; t < n1 * n2; t++) s += ww[t] * w->cost[t];
        *out = s;
        return ST_OK;
    }
    return transport(w, n1, w1, n2, w2, w->cost, NULL, NULL, NULL, out);
}

static int check_pdd(st_ctx *ctx, const char *where, const char *name, int64_t n, int64_t k,
                     const double *wt, const double *rows, double *sum)
{
    int rc = check_weights(ctx, where, name, n, wt, sum);
    if (rc) return rc;
    for (int64_t e = 0; e < n * k; e++)
        if (!isfinite(rows[e]))
            return st_fail(ctx, ST_ERR_ARG, "%s: row %lld of %s is not finite", where,
                           (long long)(e / k), name);
    return ST_OK;
}

int st_crystal_pdd_emd(st_ctx *ctx, int64_t k, int64_t n1, const double *weights1,
                       const double *rows1, int64_t n2, const double *weights2,
                       const double *rows2, double *out)
{
    static const char *where = "crystal_pdd_emd";
    if (k < 1) return st_fail(ctx, ST_ERR_ARG, "%s: k = %lld must be >= 1", where, (long long)k);
    if (n1 < 1 || n2 < 1)
        return st_fail(ctx, ST_ERR_ARG, "%s: a PDD needs at least one row (%lld, %lld)", where,
                       (long long)n1, (long long)n2);
    if (!weights1 || !rows1 || !weights2 || !rows2 || !out)
        return st_fail(ctx, ST_ERR_ARG, "%s: NULL array", where);
    double s1 = 0, s2 = 0;
    int rc = check_pdd(ctx, where, "weights1", n1, k, weights1, rows1, &s1);
    if (!rc) rc = check_pdd(ctx, where, "weights2", n2, k, weights2, rows2, &s2);
    if (rc) return rc;
    double *a = st_malloc_array((size_t)(n1 + n2), sizeof(double));
    if (!a) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", where);
    for (int64_t i = 0; i < n1; i++) a[i] = weights1[i] / s1;
    for (int64_t j = 0; j < n2; j++) a[n1 + j] = weights2[j] / s2;
    ns_work w;
    memset(&w, 0, sizeof w);
    rc = emd_pair(&w, k, n1, a, rows1, n2, a + n1, rows2, out);
    ns_free(&w);
    free(a);
    return rc ? solver_status(ctx, where, rc) : ST_OK;
}

/* Validate a PDD collection and return its weights normalised per PDD (allocated). */
static int collection(st_ctx *ctx, const char *where, const char *name, int64_t n,
                      const int64_t *off, const double *wt, const double *rows, int64_t k,
                      double **wn)
{
    *wn = NULL;
    if (n < 0) return st_fail(ctx, ST_ERR_ARG, "%s: %s: negative count", where, name);
    if (!off || (n > 0 && (!wt || !rows)))
        return st_fail(ctx, ST_ERR_ARG, "%s: %s: NULL array", where, name);
    if (off[0] != 0)
        return st_fail(ctx, ST_ERR_ARG, "%s: %s: offsets[0] = %lld must be 0", where, name,
                       (long long)off[0]);
    for (int64_t i = 0; i < n; i++)
        if (off[i + 1] <= off[i])
            return st_fail(ctx, ST_ERR_ARG, "%s: %s: PDD %lld has no rows (offsets %lld, %lld)",
                           where, name, (long long)i, (long long)off[i], (long long)off[i + 1]);
    *wn = st_malloc_array((size_t)(off[n] > 0 ? off[n] : 1), sizeof(double));
    if (!*wn) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", where);
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        char label[64];
        snprintf(label, sizeof label, "%s PDD %lld weights", name, (long long)i);
        int rc = check_pdd(ctx, where, label, off[i + 1] - off[i], k, wt + off[i],
                           rows + off[i] * k, &s);
        if (rc) {
            free(*wn);
            *wn = NULL;
            return rc;
        }
        for (int64_t r = off[i]; r < off[i + 1]; r++) (*wn)[r] = wt[r] / s;
    }
    return ST_OK;
}

/* Row i and column j of pair p in the upper triangle (i < j) of an n x n matrix; row i starts
 * at S(i) = i (2n - i - 1) / 2. */
static void pair_of(int64_t n, int64_t p, int64_t *pi, int64_t *pj)
{
    double t = 2.0 * (double)n - 1;
    int64_t i = (int64_t)floor((t - sqrt(t * t - 8.0 * (double)p)) / 2);
    if (i < 0) i = 0;
    while (i > 0 && i * (2 * n - i - 1) / 2 > p) i--;
    while ((i + 1) * (2 * n - i - 2) / 2 <= p) i++;
    *pi = i;
    *pj = p - i * (2 * n - i - 1) / 2 + i + 1;
}

static int pdd_pairs(st_ctx *ctx, const char *where, int sym, int64_t na, const int64_t *offa,
                     const double *wa, const double *ra, int64_t nb, const int64_t *offb,
                     const double *wb, const double *rb, int64_t k, double *out)
{
    if (k < 1) return st_fail(ctx, ST_ERR_ARG, "%s: k = %lld must be >= 1", where, (long long)k);
    if (!out) return st_fail(ctx, ST_ERR_ARG, "%s: out is NULL", where);
    double *na_w = NULL, *nb_w = NULL;
    int rc = collection(ctx, where, sym ? "pdds" : "a", na, offa, wa, ra, k, &na_w);
    if (rc) return rc;
    if (!sym) {
        rc = collection(ctx, where, "b", nb, offb, wb, rb, k, &nb_w);
        if (rc) { free(na_w); return rc; }
    } else {
        nb_w = na_w;
    }
    int64_t npairs = sym ? na * (na - 1) / 2 : na * nb;
    if (sym)
        for (int64_t i = 0; i < na; i++) out[i * na + i] = 0;
    int stop = 0, err = ST_OK;
    int64_t err_pair = -1, done = 0, step = npairs / 100 > 0 ? npairs / 100 : 1;
    int nth = npairs >= 4 ? st_threads() : 1;
#pragma omp parallel num_threads(nth)
    {
        ns_work w;
        memset(&w, 0, sizeof w);
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        int64_t last = 0;
#pragma omp for schedule(dynamic, 1)
        for (int64_t p = 0; p < npairs; p++) {
            int s;
#pragma omp atomic read
            s = stop;
            if (s) continue;
            if (st_interrupt_pending()) {
#pragma omp atomic write
                stop = 1;
                continue;
            }
            int64_t i, j;
            if (sym) pair_of(na, p, &i, &j);
            else { i = p / nb; j = p % nb; }
            const int64_t *ob = sym ? offa : offb;
            const double *rbb = sym ? ra : rb;
            double d = 0;
            int r = emd_pair(&w, k, offa[i + 1] - offa[i], na_w + offa[i], ra + offa[i] * k,
                             ob[j + 1] - ob[j], nb_w + ob[j], rbb + ob[j] * k, &d);
            if (r) {
#pragma omp critical(crystal_pdd_err)
                if (err == ST_OK && r != ST_ERR_INTERRUPTED) { err = r; err_pair = p; }
#pragma omp atomic write
                stop = 1;
                continue;
            }
            if (sym) out[i * na + j] = out[j * na + i] = d;
            else out[i * nb + j] = d;
            int64_t dn;
#pragma omp atomic capture
            dn = ++done;
            /* Progress from the calling thread (thread 0 of the team) only. */
            if (tid == 0 && dn - last >= step) {
                last = dn;
                st_progress(ctx, where, (double)dn, (double)npairs);
            }
        }
        ns_free(&w);
    }
    free(na_w);
    if (!sym) free(nb_w);
    if (err) {
        int64_t i, j;
        if (sym) pair_of(na, err_pair, &i, &j);
        else { i = err_pair / nb; j = err_pair % nb; }
        char w2[96];
        snprintf(w2, sizeof w2, "%s: pair (%lld, %lld)", where, (long long)i, (long long)j);
        return solver_status(ctx, w2, err);
    }
    if (stop) return st_fail(ctx, ST_ERR_INTERRUPTED, "%s: interrupted", where);
    st_progress(ctx, where, (double)npairs, (double)npairs);
    return ST_OK;
}

int st_crystal_pdd_matrix(st_ctx *ctx, int64_t n, const int64_t *offsets, const double *weights,
                          const double *rows, int64_t k, double *out)
{
    return pdd_pairs(ctx, "crystal_pdd_matrix", 1, n, offsets, weights, rows, 0, NULL, NULL, NULL,
                     k, out);
}

int st_crystal_pdd_cross(st_ctx *ctx, int64_t na, const int64_t *offsets_a,
                         const double *weights_a, const double *rows_a, int64_t nb,
                         const int64_t *offsets_b, const double *weights_b, const double *rows_b,
                         int64_t k, double *out)
{
    return pdd_pairs(ctx, "crystal_pdd_cross", 0, na, offsets_a, weights_a, rows_a, nb, offsets_b,
                     weights_b, rows_b, k, out);
}
