/* tile32.c -- the float32 tile kernel of ST_ENTROPY_FAST: the same computation as tile.c with
 * distances and exponentials in single precision, twice the lanes per instruction.
 *
 * Same register blocking as tile.c (ENT_MR broadcast queries x ENT_NRV vectors, now of 2*ENT_VL
 * floats: panels of ENT_NR32 = 2*ENT_NR rows), same running shift per query (lowered when it lags
 * by more than 80 e-folds, so shifted float32 terms stay below e^80), same early exits.  Terms
 * are converted to double as soon as they are summed over one micro-tile row (3 terms), so only
 * the distances, the exponentials and that 3-term sum are in float32.
 *
 * Error (documented in docs/entropy.md and returned as st_entropy_stats.error_bound): with
 * u32 = 2^-24, the expanded squared distance of centred float32 rows is off by at most
 * ds = 2 (d + 8) u32 (|q|^2 + |r|^2) (the FMA dot-product bound of pack.c plus the rounding of the
 * centred rows and of the shift to float32), so each term has relative error <= a ds + 6 u32
 * (exp32 <= 2 ulp, the 3-term sum, the conversions); a sum's relative error is bounded by the
 * same number for its worst term.  No pair is recomputed in this path.
 *
 * Exponential: Cody-Waite x = n ln2 + r (Cephes float split of ln2), degree-7 Taylor polynomial
 * (truncation 5e-9), 2^n in the exponent bits; 0 below -87.
 *
 * Not done here: AVX2-only and scalar builds get no float32 path (FAST falls back to APPROX).
 */
#include "entropy_impl.h"
#include <math.h>
#include <string.h>

#if ENT_VL > 1
#include <immintrin.h>

#if ENT_VL == 8
typedef __m512 vf;
typedef __m512d vd;
typedef __mmask16 vfmask;
static inline vf s_fzero(void) { return _mm512_setzero_ps(); }
static inline vf s_fld(const float *p) { return _mm512_loadu_ps(p); }
static inline vf s_fs1(float x) { return _mm512_set1_ps(x); }
static inline vf s_ffma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline vf s_fadd(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf s_fsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf s_fmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf s_fmx(vf a, vf b) { return _mm512_max_ps(a, b); }
static inline vf s_fmn(vf a, vf b) { return _mm512_min_ps(a, b); }
static inline float s_fhmin(vf a) { return _mm512_reduce_min_ps(a); }
static inline vfmask s_flt(vf a, vf b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline unsigned s_fbits(vfmask m) { return (unsigned)m; }
static inline vf s_fsel(vfmask m, vf t, vf f) { return _mm512_mask_blend_ps(m, f, t); }
static inline vf s_fpow2n(vf t)
{
    __m512i i = _mm512_add_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(127));
    return _mm512_castsi512_ps(_mm512_slli_epi32(i, 23));
}
static inline vd dlo(vf a) { return _mm512_cvtps_pd(_mm512_castps512_ps256(a)); }
static inline vd dhi(vf a)
{
    return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
}
static inline vd dld(const double *p) { return _mm512_loadu_pd(p); }
static inline void dst(double *p, vd v) { _mm512_storeu_pd(p, v); }
static inline vd dadd(vd a, vd b) { return _mm512_add_pd(a, b); }
#else
typedef __m256 vf;
typedef __m256d vd;
typedef __m256 vfmask;
static inline vf s_fzero(void) { return _mm256_setzero_ps(); }
static inline vf s_fld(const float *p) { return _mm256_loadu_ps(p); }
static inline vf s_fs1(float x) { return _mm256_set1_ps(x); }
static inline vf s_ffma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
static inline vf s_fadd(vf a, vf b) { return _mm256_add_ps(a, b); }
static inline vf s_fsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
static inline vf s_fmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
static inline vf s_fmx(vf a, vf b) { return _mm256_max_ps(a, b); }
static inline vf s_fmn(vf a, vf b) { return _mm256_min_ps(a, b); }
static inline float s_fhmin(vf a)
{
    __m128 l = _mm_min_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    l = _mm_min_ps(l, _mm_movehl_ps(l, l));
    return _mm_cvtss_f32(_mm_min_ss(l, _mm_shuffle_ps(l, l, 1)));
}
static inline vfmask s_flt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline unsigned s_fbits(vfmask m) { return (unsigned)_mm256_movemask_ps(m); }
static inline vf s_fsel(vfmask m, vf t, vf f) { return _mm256_blendv_ps(f, t, m); }
static inline vf s_fpow2n(vf t)
{
    __m256i i = _mm256_add_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(127));
    return _mm256_castsi256_ps(_mm256_slli_epi32(i, 23));
}
static inline vd dlo(vf a) { return _mm256_cvtps_pd(_mm256_castps256_ps128(a)); }
static inline vd dhi(vf a) { return _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)); }
static inline vd dld(const double *p) { return _mm256_loadu_pd(p); }
static inline void dst(double *p, vd v) { _mm256_storeu_pd(p, v); }
static inline vd dadd(vd a, vd b) { return _mm256_add_pd(a, b); }
#endif

#define F_VL (2 * ENT_VL)
#define F_NR ENT_NR32
#define F_EXP_MIN (-87.0f)
#define F_SHIFT_SLACK 80.0f

static inline vf s_fexp(vf x)
{
    const vf shifter = s_fs1(0x1.8p23f);
    vf t = s_ffma(x, s_fs1(1.44269504088896341f), shifter);
    vf n = s_fsub(t, shifter);
    vf r = s_ffma(n, s_fs1(-0.693359375f), x);      /* ln2 = 0.693359375 - 2.12194440e-4 (Cephes) */
    r = s_ffma(n, s_fs1(2.12194440e-4f), r);
    vf p = s_fs1(1.0f / 5040.0f);
    p = s_ffma(p, r, s_fs1(1.0f / 720.0f));
    p = s_ffma(p, r, s_fs1(1.0f / 120.0f));
    p = s_ffma(p, r, s_fs1(1.0f / 24.0f));
    p = s_ffma(p, r, s_fs1(1.0f / 6.0f));
    p = s_ffma(p, r, s_fs1(0.5f));
    p = s_ffma(p, r, s_fs1(1.0f));
    p = s_ffma(p, r, s_fs1(1.0f));
    return s_fsel(s_flt(x, s_fs1(F_EXP_MIN)), s_fzero(), s_fmul(p, s_fpow2n(t)));
}

void ent_exp32_array(const float *x, float *y, int64_t n)
{
    float tx[F_VL], ty[F_VL];
    for (int64_t i = 0; i < n; i += F_VL) {
        int c = n - i < F_VL ? (int)(n - i) : F_VL;
        for (int l = 0; l < F_VL; l++) tx[l] = l < c ? x[i + l] : 0.0f;
        vf v = s_fexp(s_fld(tx));
        memcpy(ty, &v, sizeof ty);
        for (int l = 0; l < c; l++) y[i + l] = ty[l];
    }
}

static inline void micro32(const float *restrict qp, const float *restrict rp, int d,
                           vf acc[ENT_MR][ENT_NRV])
{
    for (int ii = 0; ii < ENT_MR; ii++)
        for (int v = 0; v < ENT_NRV; v++) acc[ii][v] = s_fzero();
    for (int k = 0; k < d; k++) {
        const float *r = rp + (size_t)k * F_NR, *q = qp + (size_t)k * F_NR;
        vf rv[ENT_NRV];
        for (int v = 0; v < ENT_NRV; v++) rv[v] = s_fld(r + v * F_VL);
        for (int ii = 0; ii < ENT_MR; ii++) {
            vf b = s_fs1(q[ii]);
            for (int v = 0; v < ENT_NRV; v++) acc[ii][v] = s_ffma(b, rv[v], acc[ii][v]);
        }
    }
}

static const float lane_index32[F_VL] = {0,  1,  2,  3,  4,  5,  6,  7
#if F_VL == 16
                                         , 8, 9, 10, 11, 12, 13, 14, 15
#endif
};

static inline __attribute__((always_inline)) void
tile32_body(const ent_tp *tp, const float *Qp, const float *qn, int mq, const float *Rp,
            const float *rn, int nr, double *racc, double *m, double *cacc, const int SHIFT,
            const int DIAG, const int COLS)
{
    const int d = tp->d, nb = tp->nb;
    const double *a = tp->a;
    const float xs = (float)fmax(tp->xskip, F_EXP_MIN);
    const float smax0 = -xs / (float)a[0];
    const int mq_pad = (mq + ENT_MR - 1) / ENT_MR * ENT_MR;
    const int nr_pad = (nr + F_NR - 1) / F_NR * F_NR;
    const vf inf = s_fs1(INFINITY), zero = s_fzero(), xskip = s_fs1(xs), m2 = s_fs1(-2.0f);
    vf acc[ENT_MR][ENT_NRV];

    for (int jp = 0; jp < nr_pad / F_NR; jp++) {
        const float *rp = Rp + (size_t)jp * F_NR * d;
        vf rnv[ENT_NRV];
        for (int v = 0; v < ENT_NRV; v++) rnv[v] = s_fld(rn + jp * F_NR + v * F_VL);
        for (int ib = 0; ib < mq_pad; ib += ENT_MR) {
            if (DIAG && jp * F_NR + F_NR - 1 <= ib) continue;
            const float *qp = Qp + (size_t)(ib / F_NR) * F_NR * d + ib % F_NR;
            micro32(qp, rp, d, acc);
            for (int ii = 0; ii < ENT_MR; ii++) {
                const vf qv = s_fs1(qn[ib + ii]);
                for (int v = 0; v < ENT_NRV; v++)
                    acc[ii][v] = s_fmx(s_ffma(m2, acc[ii][v], s_fadd(qv, rnv[v])), zero);
            }
            if (!SHIFT && !DIAG) {
                vf mn = acc[0][0];
                for (int ii = 0; ii < ENT_MR; ii++)
                    for (int v = 0; v < ENT_NRV; v++) mn = s_fmn(mn, acc[ii][v]);
                if (s_fhmin(mn) > smax0) continue;
            }
            for (int ii = 0; ii < ENT_MR; ii++) {
                const int i = ib + ii;
                if (i >= mq) break;
                vf *s = acc[ii];
                if (DIAG)
                    for (int v = 0; v < ENT_NRV; v++) {
                        vf j = s_fadd(s_fld(lane_index32), s_fs1((float)(jp * F_NR + v * F_VL - i)));
                        s[v] = s_fsel(s_flt(j, s_fs1(0.5f)), inf, s[v]);
                    }
                double mi = 0.0;
                double *ra = racc + (size_t)i * nb * ENT_VL;
                if (SHIFT) {
                    vf mn = s[0];
                    for (int v = 1; v < ENT_NRV; v++) mn = s_fmn(mn, s[v]);
                    const double smin = s_fhmin(mn);
                    mi = m[i];
                    if (smin < INFINITY &&
                        (mi == INFINITY || (mi - smin) * tp->a_max > F_SHIFT_SLACK)) {
                        if (mi != INFINITY)
                            for (int k = 0; k < nb; k++) {
                                double f = exp(-(mi - smin) * a[k]);
                                for (int l = 0; l < ENT_VL; l++) ra[k * ENT_VL + l] *= f;
                            }
                        m[i] = mi = smin;
                    }
                    if (mi == INFINITY) continue;
                    if (smin - mi > smax0) continue;
                }
                vf dl[ENT_NRV];
                for (int v = 0; v < ENT_NRV; v++) dl[v] = s_fsub(s_fs1((float)mi), s[v]);
                for (int k = 0; k < nb; k++) {
                    const vf av = s_fs1((float)a[k]);
                    vf x[ENT_NRV], xm = s_fs1(-INFINITY);
                    for (int v = 0; v < ENT_NRV; v++) {
                        x[v] = s_fmul(dl[v], av);
                        xm = s_fmx(xm, x[v]);
                    }
                    if (s_fbits(s_flt(xm, xskip)) == (1u << F_VL) - 1u) break;
                    vf e[ENT_NRV], sum = zero;
                    for (int v = 0; v < ENT_NRV; v++) {
                        e[v] = s_fexp(x[v]);
                        sum = s_fadd(sum, e[v]);
                    }
                    dst(ra + k * ENT_VL, dadd(dld(ra + k * ENT_VL), dadd(dlo(sum), dhi(sum))));
                    if (COLS) {
                        double *c = cacc + (size_t)k * nr_pad + jp * F_NR;
                        for (int v = 0; v < ENT_NRV; v++) {
                            double *cv = c + v * F_VL;
                            dst(cv, dadd(dld(cv), dlo(e[v])));
                            dst(cv + ENT_VL, dadd(dld(cv + ENT_VL), dhi(e[v])));
                        }
                    }
                }
            }
        }
    }
}

void ent_tile32(const ent_tp *tp, const float *Qp, const float *qn, int mq, const float *Rp,
                const float *rn, int nr, int diag, double *racc, double *m, double *cacc)
{
    if (tp->shift)
        tile32_body(tp, Qp, qn, mq, Rp, rn, nr, racc, m, NULL, 1, 0, 0);
    else if (diag)
        tile32_body(tp, Qp, qn, mq, Rp, rn, nr, racc, NULL, cacc, 0, 1, cacc != NULL);
    else if (cacc)
        tile32_body(tp, Qp, qn, mq, Rp, rn, nr, racc, NULL, cacc, 0, 0, 1);
    else
        tile32_body(tp, Qp, qn, mq, Rp, rn, nr, racc, NULL, NULL, 0, 0, 0);
}

#endif
