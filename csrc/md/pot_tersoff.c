/* pot_tersoff.c -- Tersoff potential from a LAMMPS .tersoff file (pair_style tersoff conventions).
 *
 *   E = 1/2 sum_i sum_{j != i} fC(r_ij) [fR(r_ij) + b_ij fA(r_ij)]
 *   fR = A exp(-lambda1 r),  fA = -B exp(-lambda2 r)
 *   fC = 1 (r < R - D), 1/2 - 1/2 sin(pi/2 (r - R)/D) (|r - R| < D), 0 beyond
 *   b_ij = (1 + beta^n zeta_ij^n)^(-1/(2n))
 *   zeta_ij = sum_{k != i,j} fC(r_ik) g(theta_ijk) exp[(lambda3 (r_ij - r_ik))^m]
 *   g(theta) = gamma (1 + c^2/d^2 - c^2 / (d^2 + (cos theta0 - cos theta)^2))
 *   (Tersoff, PRB 37, 6991 (1988) and PRB 39, 5566 (1989), in the LAMMPS form; the
 *   file's "h" is cos theta0.)
 * Parameter sources as in LAMMPS: fR, fA, fC of (i, j), beta and n come from entry i-j-j; the
 * k-terms of zeta (fC of r_ik, g, lambda3, m) from entry i-j-k.  Like LAMMPS the exponential of
 * zeta is clamped (argument > 69.0776 -> 1e30, < -69.0776 -> 0), m must be 1 or 3, and b_ij
 * switches to its asymptotic series when beta*zeta is tiny or huge (relative error < 1e-16 there).
 *
 * Evaluated on the full neighbour list: each real atom i owns the bonds (i, j) it starts.
 */
#include "md_internal.h"
#include "triplets.h"
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { T_M, T_GAMMA, T_LAM3, T_C, T_D, T_H, T_N, T_BETA, T_LAM2, T_B, T_R, T_DD, T_LAM1, T_A, T_NV };
static const char *const t_names[T_NV] = {"m", "gamma", "lambda3", "c", "d", "costheta0", "n", "beta",
                                          "lambda2", "B", "R", "D", "lambda1", "A"};

typedef struct ters_state {
    char file[512];
    md_triplets tp;
    double cutmax;
    double *c1234;          /* [ne^3][4] thresholds of the b_ij series, per entry */
    int32_t *type;
    int64_t type_cap;
    md_tforce tf;
} ters_state;

static void ters_destroy(void *state)
{
    ters_state *s = state;
    if (!s) return;
    md_triplets_free(&s->tp);
    free(s->c1234);
    free(s->type);
    md_tforce_free(&s->tf);
    free(s);
}

static int ters_create(st_ctx *ctx, const st_md_potential_options *opt, void **state)
{
    if (!opt->file) return st_fail(ctx, ST_ERR_ARG, "tersoff: options.file (the .tersoff file) is required");
    if (opt->params && *opt->params) return st_fail(ctx, ST_ERR_ARG, "tersoff: takes no params, got '%s'", opt->params);
    ters_state *s = calloc(1, sizeof *s);
    if (!s) return st_fail(ctx, ST_ERR_NOMEM, "tersoff: out of memory");
    snprintf(s->file, sizeof s->file, "%s", opt->file);
    int rc = md_triplets_read(ctx, "tersoff", opt->file, opt->elements, T_NV, t_names, &s->tp);
    if (rc) { free(s); return rc; }
    int ne = s->tp.ne;
    s->c1234 = malloc(sizeof(double) * 4 * (size_t)(ne * ne * ne));
    if (!s->c1234) { ters_destroy(s); return st_fail(ctx, ST_ERR_NOMEM, "tersoff: out of memory"); }
    for (int a = 0; a < ne; a++)
        for (int b = 0; b < ne; b++)
            for (int c = 0; c < ne; c++) {
                const double *p = md_trip(&s->tp, a, b, c);
                /* as LAMMPS: everything non-negative, D <= R, m = 1 or 3; n > 0 only where used
                   (i-j-j entries carry the bond-order parameters) */
                int bad = (p[T_M] != 1 && p[T_M] != 3) || p[T_GAMMA] < 0 || p[T_C] < 0 || !(p[T_D] > 0) ||
                          p[T_N] < 0 || p[T_BETA] < 0 || p[T_LAM2] < 0 || p[T_B] < 0 || !(p[T_R] > 0) ||
                          !(p[T_DD] > 0) || p[T_DD] > p[T_R] || p[T_LAM1] < 0 || p[T_A] < 0 ||
                          (b == c && !(p[T_N] > 0));
                if (bad) {
                    rc = st_fail(ctx, ST_ERR_PARSE, "%s: entry %s-%s-%s: need m = 1 or 3, d > 0, 0 < D <= R, other "
                                 "parameters >= 0 and n > 0 on i-j-j entries", opt->file, st_element_symbol(s->tp.sp.z[a]),
                                 st_element_symbol(s->tp.sp.z[b]), st_element_symbol(s->tp.sp.z[c]));
                    ters_destroy(s);
                    return rc;
                }
                double cut = p[T_R] + p[T_DD];
                if (cut > s->cutmax) s->cutmax = cut;
                double n = p[T_N] > 0 ? p[T_N] : 1, *cc = s->c1234 + 4 * ((a * ne + b) * ne + c);
                cc[0] = pow(2.0 * n * 1.0e-16, -1.0 / n);
                cc[1] = pow(2.0 * n * 1.0e-8, -1.0 / n);
                cc[2] = 1.0 / cc[1];
                cc[3] = 1.0 / cc[0];
            }
    *state = s;
    return ST_OK;
}

static double ters_cutoff(const void *state) { return ((const ters_state *)state)->cutmax; }

static inline void fc_of(const double *p, double r, double *fc, double *dfc)
{
    double R = p[T_R], D = p[T_DD];
    if (r < R - D) { *fc = 1; *dfc = 0; return; }
    if (r > R + D) { *fc = 0; *dfc = 0; return; }
    double arg = 0.5 * M_PI * (r - R) / D;
    *fc = 0.5 * (1.0 - sin(arg));
    *dfc = -0.25 * M_PI / D * cos(arg);
}

/* exp[(lambda3 u)^m] and its derivative in u, clamped like LAMMPS */
static inline void ex_of(const double *p, double u, double *e, double *de)
{
    double l3 = p[T_LAM3];
    double arg = p[T_M] == 3 ? (l3 * u) * (l3 * u) * (l3 * u) : l3 * u;
    if (arg > 69.0776) *e = 1.0e30;
    else if (arg < -69.0776) *e = 0;
    else *e = exp(arg);
    *de = p[T_M] == 3 ? 3.0 * l3 * l3 * l3 * u * u * *e : l3 * *e;
}

static inline void g_of(const double *p, double cs, double *g, double *dg)
{
    double c2 = p[T_C] * p[T_C], d2 = p[T_D] * p[T_D], h = p[T_H] - cs, den = d2 + h * h;
    *g = p[T_GAMMA] * (1.0 + c2 / d2 - c2 / den);
    *dg = -2.0 * p[T_GAMMA] * c2 * h / (den * den);
}

/* b(zeta) and db/dzeta with the asymptotic branches (thresholds cc from the entry). */
static inline void bij_of(const double *p, const double *cc, double zeta, double *b, double *db)
{
    double n = p[T_N], beta = p[T_BETA], t = beta * zeta;
    if (t > cc[0]) {
        *b = 1.0 / sqrt(t);
        *db = beta * -0.5 * pow(t, -1.5);
    } else if (t > cc[1]) {
        *b = (1.0 - pow(t, -n) / (2.0 * n)) / sqrt(t);
        *db = beta * -0.5 * pow(t, -1.5) * (1.0 - (1.0 + 1.0 / (2.0 * n)) * pow(t, -n));
    } else if (t < cc[3]) {
        *b = 1.0;
        *db = 0.0;
    } else if (t < cc[2]) {
        *b = 1.0 - pow(t, n) / 2.0;
        *db = beta * -0.5 * pow(t, n - 1.0);
    } else {
        double tn = pow(t, n);
        *b = pow(1.0 + tn, -1.0 / (2.0 * n));
        *db = beta * -0.5 * pow(1.0 + tn, -1.0 - 1.0 / (2.0 * n)) * tn / t;
    }
}

typedef struct tnbr { int32_t k; int32_t t; double d[3], r; } tnbr;

static int ters_compute(st_ctx *ctx, void *state, st_md_pot_args *a)
{
    ters_state *s = state;
    const int64_t n = a->n;
    char label[600];
    snprintf(label, sizeof label, "tersoff (%s)", s->file);
    int nth;
    int64_t maxnb;
    void *scratch_mem;
    int rc = md_threebody_begin(ctx, label, a, &s->tp, &s->type, &s->type_cap, &s->tf, sizeof(tnbr), &nth,
                                &maxnb, &scratch_mem);
    if (rc) { free(scratch_mem); return rc; }
    tnbr *scratch = scratch_mem;
    double epart[64 * 8];
    memset(epart, 0, sizeof epart);
    const double *x = a->x;
    const int32_t *type = s->type;
    const md_triplets *tp = &s->tp;
    const int ne = tp->ne;
#pragma omp parallel num_threads(nth)
    {
#ifdef _OPENMP
        int t = omp_get_thread_num();
        int T = omp_get_num_threads();
#else
        int t = 0, T = 1;
#endif
        tnbr *nb = scratch + maxnb * t;
        double *f = s->tf.f[t], *ea = s->tf.e[t];
        double esum = 0;
        for (int64_t i = n * t / T; i < n * (t + 1) / T; i++) {
            const int ti = type[i];
            int m = 0;
            for (int64_t q = a->full_offsets[i]; q < a->full_offsets[i + 1]; q++) {
                int32_t k = a->full_index[q];
                double dx = x[3 * k] - x[3 * i], dy = x[3 * k + 1] - x[3 * i + 1], dz = x[3 * k + 2] - x[3 * i + 2];
                double r = sqrt(dx * dx + dy * dy + dz * dz);
                if (r >= s->cutmax) continue;
                nb[m].k = k;
                nb[m].t = type[k];
                nb[m].d[0] = dx; nb[m].d[1] = dy; nb[m].d[2] = dz;
                nb[m].r = r;
                m++;
            }
            double ei = 0;
            for (int u = 0; u < m; u++) {
                const int tj = nb[u].t;
                const double *pij = md_trip(tp, ti, tj, tj);
                const double r1 = nb[u].r;
                if (r1 >= pij[T_R] + pij[T_DD]) continue;
                const double *d1 = nb[u].d;
                /* bond order argument zeta_ij */
                double zeta = 0;
                for (int v = 0; v < m; v++) {
                    if (v == u) continue;
                    const double *pijk = md_trip(tp, ti, tj, nb[v].t);
                    const double r2 = nb[v].r;
                    if (r2 >= pijk[T_R] + pijk[T_DD]) continue;
                    const double *d2 = nb[v].d;
                    double fc, dfc, g, dg, e, de;
                    fc_of(pijk, r2, &fc, &dfc);
                    double cs = (d1[0] * d2[0] + d1[1] * d2[1] + d1[2] * d2[2]) / (r1 * r2);
                    g_of(pijk, cs, &g, &dg);
                    ex_of(pijk, r1 - r2, &e, &de);
                    zeta += fc * g * e;
                }
                double fc1, dfc1;
                fc_of(pij, r1, &fc1, &dfc1);
                const double fr = pij[T_A] * exp(-pij[T_LAM1] * r1), dfr = -pij[T_LAM1] * fr;
                const double fa = -pij[T_B] * exp(-pij[T_LAM2] * r1), dfa = -pij[T_LAM2] * fa;
                double b, db;
                bij_of(pij, s->c1234 + 4 * ((ti * ne + tj) * ne + tj), zeta, &b, &db);
                const double eij = 0.5 * fc1 * (fr + b * fa);
                ei += eij;
                /* explicit r_ij dependence */
                const double dedr = 0.5 * (dfc1 * (fr + b * fa) + fc1 * (dfr + b * dfa));
                double g1[3];
                for (int c = 0; c < 3; c++) g1[c] = dedr * d1[c] / r1;
                /* through zeta: P = dE/dzeta */
                const double P = 0.5 * fc1 * fa * db;
                if (P != 0) {
                    for (int v = 0; v < m; v++) {
                        if (v == u) continue;
                        const double *pijk = md_trip(tp, ti, tj, nb[v].t);
                        const double r2 = nb[v].r;
                        if (r2 >= pijk[T_R] + pijk[T_DD]) continue;
                        const double *d2 = nb[v].d;
                        double fc, dfc, g, dg, e, de;
                        fc_of(pijk, r2, &fc, &dfc);
                        double cs = (d1[0] * d2[0] + d1[1] * d2[1] + d1[2] * d2[2]) / (r1 * r2);
                        g_of(pijk, cs, &g, &dg);
                        ex_of(pijk, r1 - r2, &e, &de);
                        /* d zeta_k = dfc g e dr2 + fc dg e dcos + fc g de (dr1 - dr2) */
                        const double a1 = P * fc * g * de;                 /* coefficient of dr1 */
                        const double a2 = P * (dfc * g * e - fc * g * de); /* coefficient of dr2 */
                        const double ac = P * fc * dg * e;                 /* coefficient of dcos */
                        double g2[3];
                        for (int c = 0; c < 3; c++) {
                            g1[c] += a1 * d1[c] / r1 + ac * (d2[c] / (r1 * r2) - cs * d1[c] / (r1 * r1));
                            g2[c] = a2 * d2[c] / r2 + ac * (d1[c] / (r1 * r2) - cs * d2[c] / (r2 * r2));
                        }
                        const int32_t k2 = nb[v].k;
                        for (int c = 0; c < 3; c++) {
                            f[3 * k2 + c] -= g2[c];
                            f[3 * i + c] += g2[c];
                        }
                    }
                }
                const int32_t k1 = nb[u].k;
                for (int c = 0; c < 3; c++) {
                    f[3 * k1 + c] -= g1[c];
                    f[3 * i + c] += g1[c];
                }
            }
            esum += ei;
            if (ea) ea[i] += ei;
        }
        epart[8 * t] = esum;
    }
    free(scratch);
    md_tforce_reduce(&s->tf, a);
    double e = 0;
    for (int t = 0; t < nth; t++) e += epart[8 * t];
    a->energy = e;
    return ST_OK;
}

const st_md_potential_class md_class_tersoff = {
    ST_MD_POTENTIAL_ABI, ST_MD_POT_FULL_LIST, "tersoff", "Tersoff, LAMMPS .tersoff file",
    ters_create, ters_destroy, ters_cutoff, ters_compute};
