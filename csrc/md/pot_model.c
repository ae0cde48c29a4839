/* pot_model.c -- analytic model potentials acting directly on the flat coordinate vector
 * q = (x0, y0, z0, x1, ...) of the positions (definitions in docs/free-energy.md of the shared
 * references; units are whatever the definition says: the classic surfaces are dimensionless and
 * are used as eV and Å by the integrators).
 *
 *   muller-brown          V(x, y) = sum_k A_k exp[a_k (x - x0_k)^2 + b_k (x - x0_k)(y - y0_k)
 *                                   + c_k (y - y0_k)^2]  on (q0, q1)  (Müller & Brown 1979)
 *   muller-brown-scaled   the multitask-CV version (Sun et al., JCTC 2022): A_k * 0.04337209302 * 0.2
 *                         eV, lengths x 16 Å: V_s(X, Y) = 0.04337209302 * 0.2 * V((X - 32)/16, (Y - 8)/16)
 *   muller-brown-5d       V_s(q0, q2) + 0.1 [(q1-25)^2 + (q3-25)^2 + (q4-25)^2] (eV, Å); params
 *                         k = 0.2 eV/Å^2 (= 2 x 0.1) and centre = 25 Å may be changed
 *   muller-brown-rings    the multitask-CV study's 5D version: V_s(s1, s2) on hidden coordinates
 *                         s1 = sqrt(q0^2 + q1^2 + 1e-7 q4^2), s2 = sqrt(q2^2 + q3^2), so each basin
 *                         becomes a ring; the force is zero where s1 or s2 vanishes (a cusp)
 *   three-well            3 e^{-x^2-(y-1/3)^2} - 3 e^{-x^2-(y-5/3)^2} - 5 e^{-(x-1)^2-y^2}
 *                         - 5 e^{-(x+1)^2-y^2} + 0.2 x^4 + 0.2 (y-1/3)^4 on (q0, q1)
 *   three-well-scaled     energies / 2, lengths x 4, centre offset 7.5:
 *                         V_s(X, Y) = 0.5 V((X - 7.5)/4, (Y - 7.5)/4)  (our reading of the study)
 *   harmonic              k/2 sum_i |x_i - c|^2 on every atom, params k (eV/Å^2), cx, cy, cz
 * Coordinates a model does not use feel no force.  The energy is attributed to atom 0.
 */
#include "md_internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct model_state {
    int kind;
    double k, c[3];
} model_state;

enum { M_MB, M_MBS, M_MB5, M_TW, M_TWS, M_HARM, M_MBR };

static const double mbA[4] = {-200, -100, -170, 15}, mba[4] = {-1, -1, -6.5, 0.7}, mbb[4] = {0, 0, 11, 0.6},
                    mbc[4] = {-10, -10, -6.5, 0.7}, mbx[4] = {1, 0, -0.5, -1}, mby[4] = {0, 0.5, 1.5, 1};

/* Müller-Brown value and gradient in its own units. */
static double mb(double x, double y, double *gx, double *gy)
{
    double v = 0;
    *gx = *gy = 0;
    for (int k = 0; k < 4; k++) {
        double dx = x - mbx[k], dy = y - mby[k];
        double e = mbA[k] * exp(mba[k] * dx * dx + mbb[k] * dx * dy + mbc[k] * dy * dy);
        v += e;
        *gx += e * (2 * mba[k] * dx + mbb[k] * dy);
        *gy += e * (mbb[k] * dx + 2 * mbc[k] * dy);
    }
    return v;
}

/* Scaled Müller-Brown: X = 16 x + 32, Y = 16 y + 8, energy factor 0.04337209302 * 0.2. */
static double mb_scaled(double X, double Y, double *gX, double *gY)
{
    const double es = 0.04337209302 * 0.2, ls = 16.0;
    double gx, gy;
    double v = mb((X - 32.0) / ls, (Y - 8.0) / ls, &gx, &gy);
    *gX = es * gx / ls;
    *gY = es * gy / ls;
    return es * v;
}

static double threewell(double x, double y, double *gx, double *gy)
{
    double y1 = y - 1.0 / 3.0, y2 = y - 5.0 / 3.0;
    double e1 = 3 * exp(-x * x - y1 * y1);
    double e2 = -3 * exp(-x * x - y2 * y2);
    double e3 = -5 * exp(-(x - 1) * (x - 1) - y * y);
    double e4 = -5 * exp(-(x + 1) * (x + 1) - y * y);
    double v = e1 + e2 + e3 + e4 + 0.2 * x * x * x * x + 0.2 * y1 * y1 * y1 * y1;
    *gx = -2 * x * (e1 + e2) - 2 * (x - 1) * e3 - 2 * (x + 1) * e4 + 0.8 * x * x * x;
    *gy = -2 * y1 * e1 - 2 * y2 * e2 - 2 * y * (e3 + e4) + 0.8 * y1 * y1 * y1;
    return v;
}

static int model_create_kind(st_ctx *ctx, const st_md_potential_options *opt, void **state, int kind)
{
    model_state *s = calloc(1, sizeof *s);
    if (!s) return st_fail(ctx, ST_ERR_NOMEM, "model potential: out of memory");
    s->kind = kind;
    if (kind == M_HARM) {
        static const char *keys[] = {"k", "cx", "cy", "cz", NULL};
        double v[4] = {0, 0, 0, 0};
        int given[4];
        int rc = md_parse_params(ctx, "harmonic", opt->params, keys, v, given);
        if (rc) { free(s); return rc; }
        if (!given[0] || !(v[0] > 0)) { free(s); return st_fail(ctx, ST_ERR_ARG, "harmonic: params: 'k' (eV/Å^2) > 0 is required"); }
        s->k = v[0];
        s->c[0] = v[1]; s->c[1] = v[2]; s->c[2] = v[3];
    } else if (kind == M_MB5) {
        static const char *keys[] = {"k", "centre", NULL};
        double v[2] = {0.2, 25};
        int given[2];
        int rc = md_parse_params(ctx, "muller-brown-5d", opt->params, keys, v, given);
        if (rc) { free(s); return rc; }
        s->k = v[0];       /* 0.1 (x - 25)^2 = k/2 (x - 25)^2 with k = 0.2 */
        s->c[0] = v[1];
    } else if (opt->params && *opt->params) {
        free(s);
        return st_fail(ctx, ST_ERR_ARG, "model potential: takes no params, got '%s'", opt->params);
    }
    *state = s;
    return ST_OK;
}

#define CREATOR(fn, kind) \
    static int fn(st_ctx *ctx, const st_md_potential_options *opt, void **state) { return model_create_kind(ctx, opt, state, kind); }
CREATOR(mb_create, M_MB)
CREATOR(mbs_create, M_MBS)
CREATOR(mb5_create, M_MB5)
CREATOR(tw_create, M_TW)
CREATOR(tws_create, M_TWS)
CREATOR(harm_create, M_HARM)
CREATOR(mbr_create, M_MBR)

static void model_destroy(void *state) { free(state); }
static double model_cutoff(const void *state) { (void)state; return 0; }

static int model_compute(st_ctx *ctx, void *state, st_md_pot_args *a)
{
    model_state *s = state;
    const double *q = a->x;
    double *f = a->forces;
    int64_t need = (s->kind == M_MB5 || s->kind == M_MBR) ? 5 : (s->kind == M_HARM ? 0 : 2);
    if (3 * a->n < need)
        return st_fail(ctx, ST_ERR_ARG, "model potential: needs %lld coordinates (%lld atoms), got %lld atoms",
                       (long long)need, (long long)((need + 2) / 3), (long long)a->n);
    double v = 0, gx, gy;
    switch (s->kind) {
    case M_MB:
        v = mb(q[0], q[1], &gx, &gy);
        f[0] -= gx; f[1] -= gy;
        break;
    case M_MBS:
        v = mb_scaled(q[0], q[1], &gx, &gy);
        f[0] -= gx; f[1] -= gy;
        break;
    case M_MB5:
        v = mb_scaled(q[0], q[2], &gx, &gy);
        f[0] -= gx; f[2] -= gy;
        for (int i = 0; i < 3; i++) {
            int c = i == 0 ? 1 : i + 2;   /* q1, q3, q4 */
            double d = q[c] - s->c[0];
            v += 0.5 * s->k * d * d;
            f[c] -= s->k * d;
        }
        break;
    case M_MBR: {
        /* Sun et al., JCTC 2022: hidden coordinates s1, s2; chain rule through the square roots */
        double s1 = sqrt(q[0] * q[0] + q[1] * q[1] + 1e-7 * q[4] * q[4]);
        double s2 = sqrt(q[2] * q[2] + q[3] * q[3]);
        v = mb_scaled(s1, s2, &gx, &gy);
        if (s1 > 0) {
            f[0] -= gx * q[0] / s1;
            f[1] -= gx * q[1] / s1;
            f[4] -= gx * 1e-7 * q[4] / s1;
        }
        if (s2 > 0) {
            f[2] -= gy * q[2] / s2;
            f[3] -= gy * q[3] / s2;
        }
        break;
    }
    case M_TW:
        v = threewell(q[0], q[1], &gx, &gy);
        f[0] -= gx; f[1] -= gy;
        break;
    case M_TWS:
        v = 0.5 * threewell((q[0] - 7.5) / 4.0, (q[1] - 7.5) / 4.0, &gx, &gy);
        f[0] -= 0.5 * gx / 4.0; f[1] -= 0.5 * gy / 4.0;
        break;
    case M_HARM:
        for (int64_t i = 0; i < a->n; i++)
            for (int c = 0; c < 3; c++) {
                double d = q[3 * i + c] - s->c[c];
                v += 0.5 * s->k * d * d;
                f[3 * i + c] -= s->k * d;
            }
        break;
    }
    if (a->atom_energies && a->n > 0) a->atom_energies[0] += v;
    a->energy = v;
    return ST_OK;
}

#define MODEL_CLASS(var, name, desc, fn) \
    const st_md_potential_class var = {ST_MD_POTENTIAL_ABI, ST_MD_POT_COORDINATES, name, desc, fn, \
                                       model_destroy, model_cutoff, model_compute};
MODEL_CLASS(md_class_mb, "muller-brown", "2D Müller-Brown surface on (q0, q1)", mb_create)
MODEL_CLASS(md_class_mb_scaled, "muller-brown-scaled", "Müller-Brown scaled to eV and Å (Sun et al. 2022)", mbs_create)
MODEL_CLASS(md_class_mb5d, "muller-brown-5d", "scaled Müller-Brown on (q0, q2) + 0.1 (q - 25)^2 on q1, q3, q4", mb5_create)
MODEL_CLASS(md_class_mb_rings, "muller-brown-rings", "scaled Müller-Brown on s1 = |(q0, q1, 3.2e-4 q4)|, s2 = |(q2, q3)| (5D rings)", mbr_create)
MODEL_CLASS(md_class_threewell, "three-well", "three-hole potential on (q0, q1)", tw_create)
MODEL_CLASS(md_class_threewell_scaled, "three-well-scaled", "three-hole potential, energies / 2, lengths x 4, offset 7.5", tws_create)
MODEL_CLASS(md_class_harmonic, "harmonic", "k/2 |x - c|^2 on every atom, params k cx cy cz", harm_create)
