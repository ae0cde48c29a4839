/* tile.c -- kernel sums over one tile of (query rows) x (reference rows): a register-blocked
 * distance micro-kernel with the Gaussian kernel evaluated for several bandwidths in the epilogue.
 *
 * Key idea: |q - r|^2 = |q|^2 + |r|^2 - 2 q.r, where the dot products are a small GEMM.  The
 * micro-kernel keeps an ENT_MR x ENT_NR block of dot products in registers (ENT_MR broadcast query
 * values times ENT_NRV reference vectors per descriptor component, the GotoBLAS/BLIS register
 * blocking), then, while the block is still in registers, forms s, and for each bandwidth
 * accumulates exp(-(s - m_i) a_k), a_k = 1/(2 h_k^2), into per-query lane sums (and per-reference
 * column sums for symmetric tiles).  The squared distance is computed once per pair; only the
 * exponential is per bandwidth.  Bandwidths are sorted so that once a whole vector is negligible
 * for one bandwidth it is negligible for all sharper ones and the loop stops.
 *
 * Negligible terms: exp(x) with x < tp->xskip = ln(tol/N) is skipped (whole vectors only).  Each
 * sum is >= 1 in its shifted units (self term, or the nearest term exp((m - s_min) a) >= 1), so
 * the skipped terms add up to less than tol of the sum: the same budget the pruning uses
 * (pruned.c); the dense path uses tol = 1e-16, i.e. rounding level.
 *
 * Accuracy: the expanded form loses absolute accuracy ds <= 2 (d+3) u (|q|^2 + |r|^2) (pack.c),
 * so every term has relative error <= a ds.  Pairs whose term could be off by more than
 * ENT_TERM_TAU (1e-13 of a sum that is >= 1) are recomputed as sum_k (q_k - r_k)^2: exact and near
 * duplicates give K = 1 to 1e-13.  The test is two-level: a per-query bound using the largest
 * reference norm of the whole set (thr[i], cheap, usually decides), then for rows that have pairs
 * below it, the exact threshold with the panel's largest norm.  Cross sums are kept
 * relative to a running per-query shift m_i (the nearest squared distance seen, lowered lazily,
 * ENT_SHIFT_SLACK) so that the nearest term is ~1 and a query far from every reference still
 * gets a finite log-sum (ln S - a m).
 *
 * The exponential is our own vectorised one (Tang's table-driven method, ACM TOMS 15, 144 (1989),
 * with a 16-entry table on AVX-512; plain Cody-Waite reduction x = n ln2 + r and a degree-13
 * Taylor polynomial elsewhere), scaling built in the exponent bits; inputs below ENT_EXP_MIN give
 * 0.  Max error <= 2 ulp on [-708, 600] (checked in tests).
 *
 * Not done here: blocking over the descriptor dimension (one panel of ENT_NR x d doubles should fit
 * in L1: 12 KB for d = 63; for d in the hundreds it streams from L2), no float32 (tile32.c), no
 * threading (the drivers thread over tiles).
 */
#include "entropy_impl.h"
#include <math.h>
#include <string.h>
#if ENT_VL > 1
#include <immintrin.h>
#endif

/* ---------------------------------------------------------------------------------------------
 * SIMD layer: vd = ENT_VL doubles, vmask = a lane predicate. */
#if ENT_VL == 8
typedef __m512d vd;
typedef __mmask8 vmask;
static inline vd vzero(void) { return _mm512_setzero_pd(); }
static inline vd vld(const double *p) { return _mm512_loadu_pd(p); }
static inline void vst(double *p, vd v) { _mm512_storeu_pd(p, v); }
static inline vd vs1(double x) { return _mm512_set1_pd(x); }
static inline vd vfma(vd a, vd b, vd c) { return _mm512_fmadd_pd(a, b, c); }
static inline vd vadd(vd a, vd b) { return _mm512_add_pd(a, b); }
static inline vd vsub(vd a, vd b) { return _mm512_sub_pd(a, b); }
static inline vd vmul(vd a, vd b) { return _mm512_mul_pd(a, b); }
static inline vd vmax(vd a, vd b) { return _mm512_max_pd(a, b); }
static inline vd vmin(vd a, vd b) { return _mm512_min_pd(a, b); }
static inline double vhmin(vd a) { return _mm512_reduce_min_pd(a); }
static inline vmask vlt(vd a, vd b) { return _mm512_cmp_pd_mask(a, b, _CMP_LT_OQ); }
static inline unsigned vbits(vmask m) { return (unsigned)m; }
static inline vd vsel(vmask m, vd t, vd f) { return _mm512_mask_blend_pd(m, f, t); }
static inline vd vpow2n(vd t) /* t = n + 0x1.8p52 -> 2^n */
{
    __m512i i = _mm512_add_epi64(_mm512_castpd_si512(t), _mm512_set1_epi64(1023));
    return _mm512_castsi512_pd(_mm512_slli_epi64(i, 52));
}
#elif ENT_VL == 4
typedef __m256d vd;
typedef __m256d vmask;
static inline vd vzero(void) { return _mm256_setzero_pd(); }
static inline vd vld(const double *p) { return _mm256_loadu_pd(p); }
static inline void vst(double *p, vd v) { _mm256_storeu_pd(p, v); }
static inline vd vs1(double x) { return _mm256_set1_pd(x); }
static inline vd vfma(vd a, vd b, vd c) { return _mm256_fmadd_pd(a, b, c); }
static inline vd vadd(vd a, vd b) { return _mm256_add_pd(a, b); }
static inline vd vsub(vd a, vd b) { return _mm256_sub_pd(a, b); }
static inline vd vmul(vd a, vd b) { return _mm256_mul_pd(a, b); }
static inline vd vmax(vd a, vd b) { return _mm256_max_pd(a, b); }
static inline vd vmin(vd a, vd b) { return _mm256_min_pd(a, b); }
static inline double vhmin(vd a)
{
    __m128d l = _mm_min_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_min_sd(l, _mm_unpackhi_pd(l, l)));
}
static inline vmask vlt(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
static inline unsigned vbits(vmask m) { return (unsigned)_mm256_movemask_pd(m); }
static inline vd vsel(vmask m, vd t, vd f) { return _mm256_blendv_pd(f, t, m); }
static inline vd vpow2n(vd t)
{
    __m256i i = _mm256_add_epi64(_mm256_castpd_si256(t), _mm256_set1_epi64x(1023));
    return _mm256_castsi256_pd(_mm256_slli_epi64(i, 52));
}
#else
typedef double vd;
typedef int vmask;
static inline vd vzero(void) { return 0.0; }
static inline vd vld(const double *p) { return *p; }
static inline void vst(double *p, vd v) { *p = v; }
static inline vd vs1(double x) { return x; }
static inline vd vfma(vd a, vd b, vd c) { return fma(a, b, c); }
static inline vd vadd(vd a, vd b) { return a + b; }
static inline vd vsub(vd a, vd b) { return a - b; }
static inline vd vmul(vd a, vd b) { return a * b; }
static inline vd vmax(vd a, vd b) { return a > b ? a : b; }
static inline vd vmin(vd a, vd b) { return a < b ? a : b; }
static inline double vhmin(vd a) { return a; }
static inline vmask vlt(vd a, vd b) { return a < b; }
static inline unsigned vbits(vmask m) { return (unsigned)m; }
static inline vd vsel(vmask m, vd t, vd f) { return m ? t : f; }
static inline vd vpow2n(vd t)
{
    uint64_t i;
    memcpy(&i, &t, 8);
    i = (i + 1023) << 52;
    memcpy(&t, &i, 8);
    return t;
}
#endif

#if ENT_VL == 8
/* exp(x) for x <= ~700; 0 below ENT_EXP_MIN (and for -inf).  AVX-512: x = (16 k + j) ln2/16 + r,
 * |r| <= ln2/32, e^x = 2^k * 2^(j/16) * e^r with the 16 table values held in two registers
 * (one vpermt2pd per vector) and a degree-7 Taylor polynomial (truncation < 1.3e-18). */
static const double exp2_tab[16] = {
    0x1p+0, 0x1.0b5586cf9890fp+0, 0x1.172b83c7d517bp+0, 0x1.2387a6e756238p+0,
    0x1.306fe0a31b715p+0, 0x1.3dea64c123422p+0, 0x1.4bfdad5362a27p+0, 0x1.5ab07dd485429p+0,
    0x1.6a09e667f3bcdp+0, 0x1.7a11473eb0187p+0, 0x1.8ace5422aa0dbp+0, 0x1.9c49182a3f09p+0,
    0x1.ae89f995ad3adp+0, 0x1.c199bdd85529cp+0, 0x1.d5818dcfba487p+0, 0x1.ea4afa2a490dap+0};

static inline vd vexp(vd x)
{
    const vd shifter = vs1(0x1.8p52);   /* adding it rounds to an integer kept in the low bits */
    const vd tlo = _mm512_loadu_pd(exp2_tab), thi = _mm512_loadu_pd(exp2_tab + 8);
    vd t = vfma(x, vs1(0x1.71547652b82fep+4), shifter);   /* x * 16/ln2 + shifter */
    vd n = vsub(t, shifter);
    vd r = vfma(n, vs1(-0x1.62e42fefa39efp-5), x);         /* ln2/16, hi part */
    r = vfma(n, vs1(-0x1.abc9e3b39803fp-60), r);           /* ln2/16, lo part */
    vd p = vs1(1.0 / 5040.0);                               /* 1/7! ... Taylor series of e^r */
    p = vfma(p, r, vs1(1.0 / 720.0));
    p = vfma(p, r, vs1(1.0 / 120.0));
    p = vfma(p, r, vs1(1.0 / 24.0));
    p = vfma(p, r, vs1(1.0 / 6.0));
    p = vfma(p, r, vs1(0.5));
    p = vfma(p, r, vs1(1.0));
    p = vfma(p, r, vs1(1.0));
    __m512i ti = _mm512_castpd_si512(t);
    vd tab = _mm512_permutex2var_pd(tlo, ti, thi);          /* 2^(j/16), j = low 4 bits */
    /* (N >> 4) << 52 is N << 48 with bits 48..51 cleared; added to the table's exponent bits */
    __m512i k = _mm512_and_si512(_mm512_slli_epi64(ti, 48),
                                 _mm512_set1_epi64((long long)0xFFF0000000000000ull));
    vd scale = _mm512_castsi512_pd(_mm512_add_epi64(_mm512_castpd_si512(tab), k));
    return _mm512_maskz_mul_pd(_mm512_cmp_pd_mask(x, vs1(ENT_EXP_MIN), _CMP_GE_OQ), p, scale);
}
#else
/* exp(x) for x <= ~700; 0 below ENT_EXP_MIN (and for -inf): x = n ln2 + r, |r| <= ln2/2,
 * degree-13 Taylor polynomial (truncation < 5e-18 relative), 2^n built in the exponent bits. */
static inline vd vexp(vd x)
{
    const vd shifter = vs1(0x1.8p52);   /* adding it rounds to an integer kept in the low bits */
    vd t = vfma(x, vs1(1.4426950408889634074), shifter);
    vd n = vsub(t, shifter);
    vd r = vfma(n, vs1(-6.93147180369123816490e-01), x);  /* ln2 hi (fdlibm split) */
    r = vfma(n, vs1(-1.90821492927058770002e-10), r);     /* ln2 lo */
    vd p = vs1(1.0 / 6227020800.0);                       /* 1/13! ... Taylor series of e^r */
    p = vfma(p, r, vs1(1.0 / 479001600.0));
    p = vfma(p, r, vs1(1.0 / 39916800.0));
    p = vfma(p, r, vs1(1.0 / 3628800.0));
    p = vfma(p, r, vs1(1.0 / 362880.0));
    p = vfma(p, r, vs1(1.0 / 40320.0));
    p = vfma(p, r, vs1(1.0 / 5040.0));
    p = vfma(p, r, vs1(1.0 / 720.0));
    p = vfma(p, r, vs1(1.0 / 120.0));
    p = vfma(p, r, vs1(1.0 / 24.0));
    p = vfma(p, r, vs1(1.0 / 6.0));
    p = vfma(p, r, vs1(0.5));
    p = vfma(p, r, vs1(1.0));
    p = vfma(p, r, vs1(1.0));
    return vsel(vlt(x, vs1(ENT_EXP_MIN)), vzero(), vmul(p, vpow2n(t)));
}
#endif

void ent_exp_array(const double *x, double *y, int64_t n)
{
    double tx[ENT_VL], ty[ENT_VL];
    for (int64_t i = 0; i < n; i += ENT_VL) {
        int c = n - i < ENT_VL ? (int)(n - i) : ENT_VL;
        for (int l = 0; l < ENT_VL; l++) tx[l] = l < c ? x[i + l] : 0.0;
        vst(ty, vexp(vld(tx)));
        for (int l = 0; l < c; l++) y[i + l] = ty[l];
    }
}

double ent_lane_sum(const double *lanes)
{
    double t[ENT_VL];
    memcpy(t, lanes, sizeof t);
    for (int w = ENT_VL / 2; w >= 1; w /= 2)   /* pairwise, fixed order */
        for (int l = 0; l < w; l++) t[l] += t[l + w];
    return t[0];
}

/* Upper bound of ln x for normal x > 0: x = g 2^e, g in [1, 2), ln g <= g - 1 (over by <= 0.31;
 * only used to widen the recompute threshold slightly, never to narrow it). */
static inline double ln_ub(double x)
{
    uint64_t b;
    memcpy(&b, &x, 8);
    int e = (int)((b >> 52) & 0x7ff) - 1023;
    b = (b & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
    double g;
    memcpy(&g, &b, 8);
    return e * 0.69314718055994530942 + (g - 1.0);
}

/* ENT_MR x ENT_NR dot products: acc[ii][v] lane l = q_ii . r_(v*VL+l). */
static inline void micro(const double *restrict qp, const double *restrict rp, int d,
                         vd acc[ENT_MR][ENT_NRV])
{
    for (int ii = 0; ii < ENT_MR; ii++)
        for (int v = 0; v < ENT_NRV; v++) acc[ii][v] = vzero();
    for (int k = 0; k < d; k++) {
        const double *r = rp + (size_t)k * ENT_NR, *q = qp + (size_t)k * ENT_NR;
        vd rv[ENT_NRV];
        for (int v = 0; v < ENT_NRV; v++) rv[v] = vld(r + v * ENT_VL);
        for (int ii = 0; ii < ENT_MR; ii++) {
            vd b = vs1(q[ii]);
            for (int v = 0; v < ENT_NRV; v++) acc[ii][v] = vfma(b, rv[v], acc[ii][v]);
        }
    }
}

static const double lane_index[ENT_VL] = {
#if ENT_VL == 8
    0, 1, 2, 3, 4, 5, 6, 7
#elif ENT_VL == 4
    0, 1, 2, 3
#else
    0
#endif
};

/* The tile body, specialised at compile time on SHIFT (cross sums with running shifts), DIAG
 * (symmetric diagonal tile: pairs j > i only) and COLS (also accumulate column sums), so the hot
 * loop carries no mode tests. */
static inline __attribute__((always_inline)) void
tile_body(const ent_tp *tp, const double *Qp, const double *qn, const double *qthr, int mq,
          const double *Rp, const double *rn, const double *rpmax, int nr, double *racc,
          double *m, double *cacc, ent_counts *cnt, const int SHIFT, const int DIAG,
          const int COLS)
{
    const int d = tp->d, nb = tp->nb;
    const double *a = tp->a;
    const double smax0 = -tp->xskip / a[0];   /* beyond this every term is skipped */
    const int mq_pad = (mq + ENT_MR - 1) / ENT_MR * ENT_MR;
    const int nr_pad = (nr + ENT_NR - 1) / ENT_NR * ENT_NR;
    const vd inf = vs1(INFINITY), zero = vzero(), xskip = vs1(tp->xskip), m2 = vs1(-2.0);
    double nrec = 0;
    vd acc[ENT_MR][ENT_NRV];

    for (int jp = 0; jp < nr_pad / ENT_NR; jp++) {
        const double *rp = Rp + (size_t)jp * ENT_NR * d;
        vd rnv[ENT_NRV];
        for (int v = 0; v < ENT_NRV; v++) rnv[v] = vld(rn + jp * ENT_NR + v * ENT_VL);
        for (int ib = 0; ib < mq_pad; ib += ENT_MR) {
            /* diagonal tile: skip micro-tiles with every j <= i */
            if (DIAG && jp * ENT_NR + ENT_NR - 1 <= ib) continue;
            const double *qp = Qp + (size_t)(ib / ENT_NR) * ENT_NR * d + ib % ENT_NR;
            micro(qp, rp, d, acc);
            /* s = |q|^2 + |r|^2 - 2 q.r, clamped at 0 (rows past mq have |q|^2 = inf) */
            for (int ii = 0; ii < ENT_MR; ii++) {
                const vd qv = vs1(qn[ib + ii]);
                for (int v = 0; v < ENT_NRV; v++)
                    acc[ii][v] = vmax(vfma(m2, acc[ii][v], vadd(qv, rnv[v])), zero);
            }
            if (!SHIFT && !DIAG) {   /* fast path: the whole micro-tile is negligible */
                vd mn = acc[0][0];
                double thm = qthr[ib];
                for (int ii = 0; ii < ENT_MR; ii++) {
                    for (int v = 0; v < ENT_NRV; v++) mn = vmin(mn, acc[ii][v]);
                    thm = fmax(thm, qthr[ib + ii]);
                }
                double smin = vhmin(mn);
                if (smin > smax0 && smin >= thm) continue;
            }
            for (int ii = 0; ii < ENT_MR; ii++) {
                const int i = ib + ii;
                if (i >= mq) break;
                vd *s = acc[ii];
                if (DIAG) {       /* keep j > i only: j - i < 0.5 -> masked */
                    for (int v = 0; v < ENT_NRV; v++) {
                        vd j = vadd(vld(lane_index), vs1((double)(jp * ENT_NR + v * ENT_VL - i)));
                        s[v] = vsel(vlt(j, vs1(0.5)), inf, s[v]);
                    }
                }
                double mi = 0.0;
                double *ra = racc + (size_t)i * nb * ENT_VL;
                double th = qthr[i];   /* upper bound of this row's recompute threshold */
                int near;
                if (SHIFT) {   /* running shift: needs the row minimum */
                    vd mn = s[0];
                    for (int v = 1; v < ENT_NRV; v++) mn = vmin(mn, s[v]);
                    const double smin = vhmin(mn);
                    mi = m[i];
                    if (smin < INFINITY &&
                        (mi == INFINITY || (mi - smin) * tp->a_max > ENT_SHIFT_SLACK)) {
                        if (mi != INFINITY)   /* rescale what was summed so far */
                            for (int k = 0; k < nb; k++) {
                                double f = exp(-(mi - smin) * a[k]);
                                for (int l = 0; l < ENT_VL; l++) ra[k * ENT_VL + l] *= f;
                            }
                        m[i] = mi = smin;
                    }
                    if (mi == INFINITY) continue;
                    th += mi;
                    if (smin - mi > smax0 && smin >= th) continue;   /* row negligible */
                    near = smin < th;
                } else {       /* vector compares only: no horizontal minimum on this path */
                    const vd thv = vs1(th);
                    unsigned any = 0;
                    for (int v = 0; v < ENT_NRV; v++) any |= vbits(vlt(s[v], thv));
                    near = any != 0;
                }
                if (near) {
                    /* the exact threshold for this panel's largest norm (pack.c); recompute
                     * the lanes below it from exact differences, the whole row at once */
                    const double ds = tp->cerr * (qn[i] + rpmax[jp]), e = tp->a_max * ds;
                    if (e > ENT_TERM_TAU) {
                        const vd thv = vs1(mi + ds + ln_ub(e / ENT_TERM_TAU) / tp->a_max);
                        vmask mk[ENT_NRV];
                        unsigned any = 0;
                        for (int v = 0; v < ENT_NRV; v++) {
                            mk[v] = vlt(s[v], thv);
                            any |= vbits(mk[v]);
                        }
                        if (any) {
                            vd e0[ENT_NRV], e1[ENT_NRV];   /* two chains per vector */
                            for (int v = 0; v < ENT_NRV; v++) e0[v] = e1[v] = zero;
                            const double *qq = qp + ii;
                            int k = 0;
                            for (; k + 1 < d; k += 2) {
                                const vd q0 = vs1(qq[(size_t)k * ENT_NR]);
                                const vd q1 = vs1(qq[(size_t)(k + 1) * ENT_NR]);
                                for (int v = 0; v < ENT_NRV; v++) {
                                    vd d0 = vsub(vld(rp + (size_t)k * ENT_NR + v * ENT_VL), q0);
                                    vd d1 = vsub(vld(rp + (size_t)(k + 1) * ENT_NR + v * ENT_VL),
                                                 q1);
                                    e0[v] = vfma(d0, d0, e0[v]);
                                    e1[v] = vfma(d1, d1, e1[v]);
                                }
                            }
                            if (k < d) {
                                const vd q0 = vs1(qq[(size_t)k * ENT_NR]);
                                for (int v = 0; v < ENT_NRV; v++) {
                                    vd d0 = vsub(vld(rp + (size_t)k * ENT_NR + v * ENT_VL), q0);
                                    e0[v] = vfma(d0, d0, e0[v]);
                                }
                            }
                            for (int v = 0; v < ENT_NRV; v++)
                                s[v] = vsel(mk[v], vadd(e0[v], e1[v]), s[v]);
                            nrec += __builtin_popcount(any);
                        }
                    }
                }
                vd dl[ENT_NRV];
                for (int v = 0; v < ENT_NRV; v++) dl[v] = SHIFT ? vsub(vs1(mi), s[v]) : vsub(zero, s[v]);
                for (int k = 0; k < nb; k++) {
                    const vd av = vs1(a[k]);
                    vd x[ENT_NRV], xm = vs1(-INFINITY);
                    for (int v = 0; v < ENT_NRV; v++) {
                        x[v] = vmul(dl[v], av);
                        xm = vmax(xm, x[v]);
                    }
                    /* all lanes negligible here, and for every sharper bandwidth after it */
                    if (vbits(vlt(xm, xskip)) == (1u << ENT_VL) - 1u) break;
                    vd e[ENT_NRV], sum = zero;
                    for (int v = 0; v < ENT_NRV; v++) {
                        e[v] = vexp(x[v]);
                        sum = vadd(sum, e[v]);
                    }
                    vst(ra + k * ENT_VL, vadd(vld(ra + k * ENT_VL), sum));
                    if (COLS) {
                        double *c = cacc + (size_t)k * nr_pad + jp * ENT_NR;
                        for (int v = 0; v < ENT_NRV; v++)
                            vst(c + v * ENT_VL, vadd(vld(c + v * ENT_VL), e[v]));
                    }
                }
            }
        }
    }
    cnt->recomputed += nrec;
}

void ent_tile(const ent_tp *tp, const double *Qp, const double *qn, const double *qthr, int mq,
              const double *Rp, const double *rn, const double *rpmax, int nr, int diag,
              double *racc, double *m, double *cacc, ent_counts *cnt)
{
    if (tp->shift)
        tile_body(tp, Qp, qn, qthr, mq, Rp, rn, rpmax, nr, racc, m, NULL, cnt, 1, 0, 0);
    else if (diag)
        tile_body(tp, Qp, qn, qthr, mq, Rp, rn, rpmax, nr, racc, NULL, cacc, cnt, 0, 1,
                  cacc != NULL);
    else if (cacc)
        tile_body(tp, Qp, qn, qthr, mq, Rp, rn, rpmax, nr, racc, NULL, cacc, cnt, 0, 0, 1);
    else
        tile_body(tp, Qp, qn, qthr, mq, Rp, rn, rpmax, nr, racc, NULL, NULL, cnt, 0, 0, 0);
}
