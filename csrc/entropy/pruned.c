/* pruned.c -- kernel sums that skip provably negligible pairs (PRUNED) and optionally replace
 * tight far clusters by a bounded estimate (APPROX), using a ball tree over the references.
 *
 * Each leaf Q of the query tree (the X tree itself for self sums) walks the reference tree,
 * nearer child first.  For a node R at centre distance t, every pair (q in Q, x in R) has
 *     dlo = max(0, t - r_Q - r_R) <= |q - x| <= dhi = t + r_Q + r_R
 * so all its terms lie in [Kmin, Kmax] = [exp(-a dhi^2), exp(-a dlo^2)].  Let LL_k be a lower
 * bound on ln S_k(q) valid for every q in Q (the block's smallest partial sum so far, in log form,
 * which also covers queries far from all data; for self sums also S >= 1 and
 * S >= |Q| exp(-4 a r_Q^2)).  With N references and tolerance tol:
 *   neglect R    if  |R| Kmax <= tol (|R|/N) exp(LL_k)          i.e. a_k dlo^2 >= ln(N/tol) - LL_k
 *   estimate R   if  |R| (Kmax - Kmin)/2 <= tol (|R|/N) exp(LL_k)        (APPROX only)
 *                with |R| (K(dlo_q) + K(dhi_q))/2 per query q, dlo_q, dhi_q from |q - c_R|.
 * The nodes so treated are disjoint and their sizes add up to at most N, so every sum S_k(q) is
 * off by at most tol * S_k(q) (relative), i.e. |error of ln S| <= -ln(1 - tol) ~ tol, and the
 * same bound holds for H, D and dH.  This is the error-budget rule of dual-tree kernel summation
 * (Gray & Moore, "Nonparametric density estimation: toward computational tractability", SDM 2003,
 * sec. 4) with a relative budget split in proportion to node size.
 *
 * Self sums use the symmetry: leaf Q handles only nodes at or after itself in tree order; tiles add
 * column sums to the other leaf's rows (atomic adds), estimates to a per-node accumulator pushed
 * down at the end.  There the bound must also hold for the column side, whose lower bound is the
 * node's own S >= max(1, |R| exp(-4 a r_R^2)).
 *
 * FAST (ST_ENTROPY_FAST) is APPROX with float32 panels and the float32 tile of tile32.c; its
 * extra rounding error is bounded in tile32.c and reported through J->rounding_bound.
 *
 * Memory: packed copies (n + m) d doubles (floats for FAST), trees O((n + m)/leaf * d) (node
 * centroids), per thread O(leaf * nb); self sums add n * nb doubles.
 * Not done here: a dual-tree walk (the query side is one leaf at a time).
 */
#include "entropy_impl.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct walk {
    /* job constants */
    const ent_job *J;
    const ent_tp *tp;
    const ent_tree *TX, *TQ;
    const ent_pack *PX, *PQ;
    const ent_pack32 *PX32, *PQ32;   /* ST_ENTROPY_FAST: float32 copies (PX, PQ unused) */
    const ent_set *SQ;          /* query rows in original coordinates (approximation) */
    const double *qthr;
    int sym, approx, nb;
    double lnNtol, ln2tolN;
    double *P;                  /* sym: [nb][n] sums in tree order */
    double *nodeacc;            /* sym + approx: [nnodes][nb] */
    /* the current query leaf */
    int64_t qlo;
    int mq;
    const double *cq;
    double rq;
    double *racc, *m, *cacc, *LL, *LL0, *tmp;
    ent_counts cnt;
    int stop;
} walk;

/* Lower bound of ln S: S = g 2^e, g in [1, 2), ln g >= ln2 (g - 1) (chord under a concave curve). */
static inline double log_lb(double S)
{
    if (!(S > 0)) return -INFINITY;
    int e;
    double f = frexp(S, &e);
    return 0.69314718055994530942 * ((double)(e - 1) + (2 * f - 1)) - 1e-12;
}

static double dist(const double *a, const double *b, int d)
{
    double s = 0;
    for (int k = 0; k < d; k++) {
        double t = a[k] - b[k];
        s = fma(t, t, s);
    }
    return sqrt(s);
}

/* Block lower bound LL_k = max(LL0_k, min_q ln S_k(q)). */
static void ll_update(walk *w)
{
    const int nb = w->nb;
    for (int k = 0; k < nb; k++) {
        double mn = INFINITY;
        for (int i = 0; i < w->mq; i++) {
            double S = ent_lane_sum(w->racc + ((size_t)i * nb + k) * ENT_VL);
            double l = w->sym ? log_lb(1.0 + S) : log_lb(S) - w->J->a[k] * w->m[i];
            if (l < mn) mn = l;
        }
        w->LL[k] = fmax(mn, w->LL0[k]);
    }
}

/* Lower bound on ln S for every row of node R in self sums: S >= max(1, |R| exp(-4 a r^2)). */
static inline double ll_node(const walk *w, int64_t R, int k)
{
    double r = w->TX->radius[R], cnt = (double)(w->TX->hi[R] - w->TX->lo[R]);
    return fmax(0.0, log(cnt) - 4 * w->J->a[k] * r * r);
}

static int negligible(const walk *w, int64_t R, double dlo2)
{
    for (int k = 0; k < w->nb; k++) {
        double ll = w->LL[k];
        if (w->sym) ll = fmin(ll, ll_node(w, R, k));
        if (!(w->J->a[k] * dlo2 >= w->lnNtol - ll)) return 0;
    }
    return 1;
}

static int try_estimate(walk *w, int64_t R, double t, double dlo, int64_t npairs_r)
{
    const int nb = w->nb, d = w->TX->d;
    const double rR = w->TX->radius[R], dhi = t + w->rq + rR;
    const double *a = w->J->a;
    for (int k = 0; k < nb; k++) {
        double ll = w->LL[k];
        if (w->sym) ll = fmin(ll, ll_node(w, R, k));
        double z = a[k] * (dhi * dhi - dlo * dlo);
        double lnwidth = -a[k] * dlo * dlo + log(-expm1(-z));   /* ln(Kmax - Kmin) */
        if (!(lnwidth <= w->ln2tolN + ll)) return 0;
    }
    const double *cR = w->TX->centre + R * d;
    const double cntR = (double)(w->TX->hi[R] - w->TX->lo[R]);
    for (int i = 0; i < w->mq; i++) {   /* per-query bounds; refuse if a shift would overflow */
        const double *q = w->SQ->x + w->TQ->perm[w->qlo + i] * w->SQ->ld;
        double di = dist(q, cR, d), li = fmax(0.0, di - rR);
        double mi = w->sym ? 0.0 : w->m[i];
        if (!(mi < INFINITY) || a[nb - 1] * (mi - li * li) > 600) return 0;
        w->tmp[2 * i] = li;
        w->tmp[2 * i + 1] = di + rR;
    }
    for (int k = 0; k < nb; k++) {
        double col = 0;
        for (int i = 0; i < w->mq; i++) {
            double li = w->tmp[2 * i], hi = w->tmp[2 * i + 1], mi = w->sym ? 0.0 : w->m[i];
            double v = 0.5 * (exp(-a[k] * (li * li - mi)) + exp(-a[k] * (hi * hi - mi)));
            w->racc[((size_t)i * nb + k) * ENT_VL] += cntR * v;
            col += v;
        }
        if (w->sym) {
            #pragma omp atomic
            w->nodeacc[R * nb + k] += col;
        }
    }
    w->cnt.approximated += (double)w->mq * (double)npairs_r;
    ll_update(w);
    return 1;
}

static void leaf_tile(walk *w, int64_t R)
{
    const int64_t lo = w->TX->lo[R], hi = w->TX->hi[R], d = w->TX->d, n = w->TX->n;
    const int nr = (int)(hi - lo), nb = w->nb, pan = w->PX32 ? ENT_NR32 : ENT_NR;
    const int nrp = (nr + pan - 1) / pan * pan;
    const int diag = w->sym && lo == w->qlo;
    if (w->sym) memset(w->cacc, 0, (size_t)nrp * nb * sizeof(double));
#if ENT_HAVE_F32
    if (w->PX32)
        ent_tile32(w->tp, w->PQ32->p + w->qlo * d, w->PQ32->nrm + w->qlo, w->mq,
                   w->PX32->p + lo * d, w->PX32->nrm + lo, nr, diag, w->racc,
                   w->sym ? NULL : w->m, w->sym ? w->cacc : NULL);
    else
#endif
        ent_tile(w->tp, w->PQ->p + w->qlo * d, w->PQ->nrm + w->qlo, w->qthr + w->qlo, w->mq,
                 w->PX->p + lo * d, w->PX->nrm + lo, w->PX->pmax + lo / ENT_NR, nr, diag,
                 w->racc, w->sym ? NULL : w->m, w->sym ? w->cacc : NULL, &w->cnt);
    if (w->sym)
        for (int k = 0; k < nb; k++)
            for (int j = 0; j < nr; j++) {
                double v = w->cacc[(size_t)k * nrp + j];
                #pragma omp atomic
                w->P[(size_t)k * n + lo + j] += v;
            }
    w->cnt.computed += diag ? 0.5 * w->mq * (w->mq + 1.0) : (double)w->mq * nr;
    ll_update(w);
    if (st_interrupt_pending()) w->stop = 1;
}

static void visit(walk *w, int64_t R, double t)
{
    if (w->stop) return;
    const ent_tree *TX = w->TX;
    const int64_t lo = TX->lo[R], hi = TX->hi[R];
    if (w->sym && hi <= w->qlo) return;           /* pairs owned by an earlier leaf */
    const int contains = w->sym && lo <= w->qlo;  /* R holds Q itself */
    const int64_t npr = hi - (contains ? w->qlo : lo);
    double dlo = t - w->rq - TX->radius[R];
    if (dlo < 0) dlo = 0;
    if (dlo > 0 && negligible(w, R, dlo * dlo)) {
        w->cnt.neglected += (double)w->mq * (double)npr;
        return;
    }
    if (w->approx && !contains && try_estimate(w, R, t, dlo, npr)) return;
    if (TX->left[R] < 0) {
        leaf_tile(w, R);
        return;
    }
    const int d = TX->d;
    const int64_t L = TX->left[R], Rr = TX->right[R];
    double tL = dist(w->cq, TX->centre + L * d, d), tR = dist(w->cq, TX->centre + Rr * d, d);
    if (tL <= tR) {
        visit(w, L, tL);
        visit(w, Rr, tR);
    } else {
        visit(w, Rr, tR);
        visit(w, L, tL);
    }
}

/* Add each node's estimate accumulator to all its rows (self sums with APPROX). */
static void push_down(const ent_tree *T, const double *acc, int nb, double *P, int64_t n)
{
    int64_t *stack = malloc((size_t)(T->nnodes + 1) * sizeof *stack);
    double *carry = malloc((size_t)(T->nnodes + 1) * nb * sizeof *carry);
    if (!stack || !carry) {   /* fall back: per node, per row (slower, same result) */
        for (int64_t R = 0; R < T->nnodes; R++)
            for (int k = 0; k < nb; k++)
                if (acc[R * nb + k] != 0)
                    for (int64_t i = T->lo[R]; i < T->hi[R]; i++)
                        P[(size_t)k * n + i] += acc[R * nb + k];
        free(stack);
        free(carry);
        return;
    }
    int64_t sp = 0;
    stack[sp] = 0;
    for (int k = 0; k < nb; k++) carry[k] = acc[k];
    sp = 1;
    while (sp > 0) {
        int64_t R = stack[--sp];
        double *c = carry + sp * nb;
        if (T->left[R] < 0) {
            for (int k = 0; k < nb; k++)
                for (int64_t i = T->lo[R]; i < T->hi[R]; i++) P[(size_t)k * n + i] += c[k];
            continue;
        }
        double cc[64], *cp = nb <= 64 ? cc : malloc((size_t)nb * sizeof *cp);
        if (!cp) continue;
        memcpy(cp, c, (size_t)nb * sizeof *cp);
        int64_t ch[2] = {T->left[R], T->right[R]};
        for (int s = 0; s < 2; s++) {
            stack[sp] = ch[s];
            for (int k = 0; k < nb; k++) carry[sp * nb + k] = cp[k] + acc[ch[s] * nb + k];
            sp++;
        }
        if (cp != cc) free(cp);
    }
    free(stack);
    free(carry);
}

int ent_run_pruned(st_ctx *ctx, ent_job *J, double *out)
{
    const int sym = J->Y == NULL, nb = J->nb, T = J->nthreads;
    const int f32 = J->method == ST_ENTROPY_FAST && ENT_HAVE_F32;
    const int pan = f32 ? ENT_NR32 : ENT_NR;
    ent_tree TX, TY;
    ent_pack PX, PY;
    ent_pack32 PX32, PY32;
    memset(&TY, 0, sizeof TY);
    memset(&PX, 0, sizeof PX);
    memset(&PY, 0, sizeof PY);
    memset(&PX32, 0, sizeof PX32);
    memset(&PY32, 0, sizeof PY32);
    double *thr = NULL, *P = NULL, *nodeacc = NULL;
    int rc = ent_tree_build(ctx, J->fn, J->X, J->leaf, pan, T, &TX);
    if (rc) return rc;
    rc = f32 ? ent_pack32_rows(ctx, J->fn, J->X, J->mu, TX.perm, T, &PX32)
             : ent_pack_rows(ctx, J->fn, J->X, J->mu, TX.perm, T, &PX);
    if (rc) goto out_all;
    if (!sym) {
        if ((rc = ent_tree_build(ctx, J->fn, J->Y, J->leaf, pan, T, &TY))) goto out_all;
        rc = f32 ? ent_pack32_rows(ctx, J->fn, J->Y, J->mu, TY.perm, T, &PY32)
                 : ent_pack_rows(ctx, J->fn, J->Y, J->mu, TY.perm, T, &PY);
        if (rc) goto out_all;
    }
    const ent_tree *TQ = sym ? &TX : &TY;
    const ent_pack *PQ = sym ? &PX : &PY;
    const ent_pack32 *PQ32 = sym ? &PX32 : &PY32;
    const int64_t n = TX.n, mcount = TQ->n, qpad = f32 ? PQ32->npad : PQ->npad;
    const int approx = J->method == ST_ENTROPY_APPROX || J->method == ST_ENTROPY_FAST;
    thr = malloc((size_t)qpad * sizeof *thr);
    if (sym) P = st_malloc_array((size_t)n * nb, sizeof *P);
    if (sym && approx) nodeacc = st_calloc_array((size_t)TX.nnodes * nb, sizeof *nodeacc);
    if (!thr || (sym && !P) || (sym && approx && !nodeacc)) {
        rc = st_fail(ctx, ST_ERR_NOMEM, "%s: cannot allocate kernel sums (%lld x %d)", J->fn,
                     (long long)mcount, nb);
        goto out_all;
    }
    if (sym)
        for (int64_t i = 0; i < n * nb; i++) P[i] = 1.0;   /* the self term, exactly */
    ent_tp tp = {TX.d, nb, J->a, J->a[nb - 1], !sym,
                 fmax(ENT_EXP_MIN, log(J->tol / (double)n)), ent_cerr(TX.d)};
    /* rounding: relative error bound of any term (pack.c / tile32.c), for st_entropy_stats */
    if (f32) {
        double qmax = 0;
        for (int64_t i = 0; i < mcount; i++) qmax = fmax(qmax, PQ32->nrm[i]);
        J->rounding_bound = J->a[nb - 1] * ENT_CERR32(TX.d) * (qmax + PX32.nrm_max) +
                            ENT_EXP32_REL;
        for (int64_t i = 0; i < qpad; i++) thr[i] = -INFINITY;
    } else {
        ent_thresholds(PQ, PX.nrm_max, tp.a_max, thr);
        J->rounding_bound = tp.a_max * tp.cerr * (PX.nrm_max + PQ->nrm_max);
    }

    int64_t maxleaf = 0;
    for (int64_t l = 0; l < TQ->nleaves; l++) {
        int64_t s = TQ->hi[TQ->leaves[l]] - TQ->lo[TQ->leaves[l]];
        if (s > maxleaf) maxleaf = s;
    }
    const int64_t mlp = (maxleaf + pan - 1) / pan * pan;
    const double lnNtol = log((double)n / J->tol), ln2tolN = log(2 * J->tol / (double)n);
    int stop = 0, nomem = 0;
    int64_t done = 0;
    ent_counts tot = {0, 0, 0, 0};
    #pragma omp parallel num_threads(T)
    {
        walk w;
        memset(&w, 0, sizeof w);
        w.J = J; w.tp = &tp; w.TX = &TX; w.TQ = TQ; w.PX = &PX; w.PQ = PQ;
        w.PX32 = f32 ? &PX32 : NULL;
        w.PQ32 = f32 ? PQ32 : NULL;
        w.SQ = sym ? J->X : J->Y;
        w.qthr = thr; w.sym = sym; w.approx = approx; w.nb = nb;
        w.lnNtol = lnNtol; w.ln2tolN = ln2tolN; w.P = P; w.nodeacc = nodeacc;
        w.racc = ent_aligned_alloc((size_t)mlp * nb * ENT_VL, sizeof(double));
        w.cacc = ent_aligned_alloc((size_t)mlp * nb, sizeof(double));
        w.m = malloc((size_t)mlp * sizeof(double));
        w.LL = malloc((size_t)nb * sizeof(double));
        w.LL0 = malloc((size_t)nb * sizeof(double));
        w.tmp = malloc((size_t)mlp * 2 * sizeof(double));
        if (!w.racc || !w.cacc || !w.m || !w.LL || !w.LL0 || !w.tmp) {
            #pragma omp atomic write
            nomem = 1;
        }
        #pragma omp for schedule(dynamic, 1)
        for (int64_t l = 0; l < TQ->nleaves; l++) {
            int s_;
            #pragma omp atomic read
            s_ = stop;
            if (s_ || nomem) continue;
            const int64_t Q = TQ->leaves[l];
            w.qlo = TQ->lo[Q];
            w.mq = (int)(TQ->hi[Q] - TQ->lo[Q]);
            w.cq = TQ->centre + Q * TQ->d;
            w.rq = TQ->radius[Q];
            memset(w.racc, 0, (size_t)mlp * nb * ENT_VL * sizeof(double));
            for (int i = 0; i < w.mq; i++) w.m[i] = INFINITY;
            for (int k = 0; k < nb; k++)   /* S >= 1 and S >= |Q| exp(-4 a r_Q^2) for self */
                w.LL0[k] = sym ? fmax(0.0, log((double)w.mq) - 4 * J->a[k] * w.rq * w.rq)
                               : -INFINITY;
            memcpy(w.LL, w.LL0, (size_t)nb * sizeof(double));
            w.stop = 0;
            visit(&w, 0, dist(w.cq, TX.centre, TX.d));
            if (w.stop) {
                #pragma omp atomic write
                stop = 1;
                continue;
            }
            for (int i = 0; i < w.mq; i++)
                for (int k = 0; k < nb; k++) {
                    double S = ent_lane_sum(w.racc + ((size_t)i * nb + k) * ENT_VL);
                    if (sym) {
                        #pragma omp atomic
                        P[(size_t)k * n + w.qlo + i] += S;
                    } else {
                        out[(size_t)J->order[k] * mcount + TQ->perm[w.qlo + i]] =
                            log(S) - J->a[k] * w.m[i];
                    }
                }
            int64_t dn;
            #pragma omp atomic capture
            dn = ++done;
#ifdef _OPENMP
            if (omp_get_thread_num() == 0)
#endif
                st_progress(ctx, sym ? "entropy: pruned leaves" : "entropy: pruned query leaves",
                            (double)dn, (double)TQ->nleaves);
        }
        #pragma omp critical(ent_pruned_counts)
        {
            tot.computed += w.cnt.computed;
            tot.neglected += w.cnt.neglected;
            tot.approximated += w.cnt.approximated;
            tot.recomputed += w.cnt.recomputed;
        }
        free(w.racc); free(w.cacc); free(w.m); free(w.LL); free(w.LL0); free(w.tmp);
    }
    if (!nomem && !stop)   /* the calling thread always reports the end */
        st_progress(ctx, sym ? "entropy: pruned leaves" : "entropy: pruned query leaves",
                    (double)TQ->nleaves, (double)TQ->nleaves);
    J->counts.computed += tot.computed;
    J->counts.neglected += tot.neglected;
    J->counts.approximated += tot.approximated;
    J->counts.recomputed += tot.recomputed;
    if (nomem) rc = st_fail(ctx, ST_ERR_NOMEM, "%s: cannot allocate traversal buffers", J->fn);
    else if (stop) rc = st_check_interrupt(ctx, J->fn);
    if (rc == ST_OK && sym) {
        if (nodeacc) push_down(&TX, nodeacc, nb, P, n);
        #pragma omp parallel for num_threads(T) schedule(static)
        for (int64_t i = 0; i < n; i++)
            for (int k = 0; k < nb; k++)
                out[(size_t)J->order[k] * n + TX.perm[i]] = log(P[(size_t)k * n + i]);
    }
out_all:
    free(thr);
    free(P);
    free(nodeacc);
    ent_pack_free(&PY);
    ent_pack32_free(&PY32);
    ent_tree_free(&TY);
    ent_pack_free(&PX);
    ent_pack32_free(&PX32);
    ent_tree_free(&TX);
    return rc;
}
