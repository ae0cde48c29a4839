/* pot_sw.c -- Stillinger-Weber potential from a LAMMPS .sw file (pair_style sw conventions).
 *
 *   E = sum_i sum_{j>i} phi2(r_ij) + sum_i sum_{j != i} sum_{k > j} phi3(r_ij, r_ik, theta_jik)
 *   phi2 = A eps [B (sigma/r)^p - (sigma/r)^q] exp(sigma / (r - a sigma))
 *   phi3 = lambda eps (cos theta_jik - cos theta0)^2 exp(gamma_ij sigma_ij / (r_ij - a_ij sigma_ij))
 *                                                    exp(gamma_ik sigma_ik / (r_ik - a_ik sigma_ik))
 *   (Stillinger & Weber, PRB 31, 5262 (1985), in the multi-element form of the LAMMPS documentation)
 * Parameter sources as in LAMMPS: the two-body term of (i, j) and the radial factors of the
 * three-body term use entry i-j-j; lambda, eps and cos theta0 of the angular prefactor use entry
 * i-j-k.  The cutoff of a pair is a sigma of its i-j-j entry; `tol` is read and ignored.
 *
 * Evaluated on the full neighbour list: each real atom i owns half of every pair term and all
 * triplets centred on it; forces go to the atoms and images involved.
 */
#include "md_internal.h"
#include "triplets.h"
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { SW_EPS, SW_SIG, SW_A, SW_LAM, SW_GAM, SW_COS0, SW_BIGA, SW_BIGB, SW_P, SW_Q, SW_TOL, SW_NV };
static const char *const sw_names[SW_NV] = {"epsilon", "sigma", "a", "lambda", "gamma", "costheta0",
                                            "A", "B", "p", "q", "tol"};

typedef struct sw_state {
    char file[512];
    md_triplets tp;
    double cutmax;
    int32_t *type;
    int64_t type_cap;
    md_tforce tf;
} sw_state;

static void sw_destroy(void *state)
{
    sw_state *s = state;
    if (!s) return;
    md_triplets_free(&s->tp);
    free(s->type);
    md_tforce_free(&s->tf);
    free(s);
}

static int sw_create(st_ctx *ctx, const st_md_potential_options *opt, void **state)
{
    if (!opt->file) return st_fail(ctx, ST_ERR_ARG, "sw: options.file (the .sw file) is required");
    if (opt->params && *opt->params) return st_fail(ctx, ST_ERR_ARG, "sw: takes no params, got '%s'", opt->params);
    sw_state *s = calloc(1, sizeof *s);
    if (!s) return st_fail(ctx, ST_ERR_NOMEM, "sw: out of memory");
    snprintf(s->file, sizeof s->file, "%s", opt->file);
    int rc = md_triplets_read(ctx, "sw", opt->file, opt->elements, SW_NV, sw_names, &s->tp);
    if (rc) { free(s); return rc; }
    for (int a = 0; a < s->tp.ne; a++)
        for (int b = 0; b < s->tp.ne; b++)
            for (int c = 0; c < s->tp.ne; c++) {
                const double *p = md_trip(&s->tp, a, b, c);
                if (!(p[SW_SIG] > 0) || !(p[SW_A] > 0) || p[SW_EPS] < 0) {
                    rc = st_fail(ctx, ST_ERR_PARSE, "%s: entry %s-%s-%s: need sigma > 0, a > 0, epsilon >= 0", opt->file,
                                 st_element_symbol(s->tp.sp.z[a]), st_element_symbol(s->tp.sp.z[b]),
                                 st_element_symbol(s->tp.sp.z[c]));
                    sw_destroy(s);
                    return rc;
                }
                double cut = p[SW_A] * p[SW_SIG];
                if (cut > s->cutmax) s->cutmax = cut;
            }
    *state = s;
    return ST_OK;
}

static double sw_cutoff(const void *state) { return ((const sw_state *)state)->cutmax; }

typedef struct nbr { int32_t k; int32_t t; double d[3], r; } nbr;

static int sw_compute(st_ctx *ctx, void *state, st_md_pot_args *a)
{
    sw_state *s = state;
    const int64_t n = a->n;
    char label[600];
    snprintf(label, sizeof label, "sw (%s)", s->file);
    int nth;
    int64_t maxnb;
    void *scratch_mem;
    int rc = md_threebody_begin(ctx, label, a, &s->tp, &s->type, &s->type_cap, &s->tf, sizeof(nbr), &nth,
                                &maxnb, &scratch_mem);
    if (rc) { free(scratch_mem); return rc; }
    nbr *scratch = scratch_mem;
    double epart[64 * 8];
    memset(epart, 0, sizeof epart);
    const double *x = a->x;
    const int32_t *type = s->type, *src = a->src;
    const md_triplets *tp = &s->tp;
#pragma omp parallel num_threads(nth)
    {
#ifdef _OPENMP
        int t = omp_get_thread_num();
        int T = omp_get_num_threads();
#else
        int t = 0, T = 1;
#endif
        nbr *nb = scratch + maxnb * t;
        double *f = s->tf.f[t], *ea = s->tf.e[t];
        double esum = 0;
        for (int64_t i = n * t / T; i < n * (t + 1) / T; i++) {
            const int ti = type[i];
            int m = 0;
            for (int64_t q = a->full_offsets[i]; q < a->full_offsets[i + 1]; q++) {
                int32_t k = a->full_index[q];
                const double *pk = md_trip(tp, ti, type[k], type[k]);
                double dx = x[3 * k] - x[3 * i], dy = x[3 * k + 1] - x[3 * i + 1], dz = x[3 * k + 2] - x[3 * i + 2];
                double r = sqrt(dx * dx + dy * dy + dz * dz);
                if (r >= pk[SW_A] * pk[SW_SIG]) continue;
                nb[m].k = k;
                nb[m].t = type[k];
                nb[m].d[0] = dx; nb[m].d[1] = dy; nb[m].d[2] = dz;
                nb[m].r = r;
                m++;
            }
            double ei = 0;
            /* two-body: half of each pair belongs to i */
            for (int u = 0; u < m; u++) {
                const double *p = md_trip(tp, ti, nb[u].t, nb[u].t);
                const double r = nb[u].r, sig = p[SW_SIG], rc2 = r - p[SW_A] * sig;
                const double sr = sig / r, srp = pow(sr, p[SW_P]), srq = pow(sr, p[SW_Q]);
                const double ex = exp(sig / rc2);
                const double ae = p[SW_BIGA] * p[SW_EPS];
                const double phi = ae * (p[SW_BIGB] * srp - srq) * ex;
                /* dphi2/dr */
                const double dphi = ae * ex * ((-p[SW_P] * p[SW_BIGB] * srp + p[SW_Q] * srq) / r) - phi * sig / (rc2 * rc2);
                ei += 0.5 * phi;
                const double g = 0.5 * dphi / r;   /* dE/dd_j = g d */
                const int32_t k = nb[u].k;
                for (int c = 0; c < 3; c++) {
                    f[3 * k + c] -= g * nb[u].d[c];
                    f[3 * i + c] += g * nb[u].d[c];
                }
            }
            /* three-body, centred on i */
            for (int u = 0; u < m; u++) {
                const double *pij = md_trip(tp, ti, nb[u].t, nb[u].t);
                const double r1 = nb[u].r, sg1 = pij[SW_SIG] * pij[SW_GAM], c1 = r1 - pij[SW_A] * pij[SW_SIG];
                const double e1 = exp(sg1 / c1), de1 = -sg1 / (c1 * c1);   /* d ln e1 / dr1 */
                for (int v = u + 1; v < m; v++) {
                    const double *pik = md_trip(tp, ti, nb[v].t, nb[v].t);
                    const double *pijk = md_trip(tp, ti, nb[u].t, nb[v].t);
                    const double r2 = nb[v].r, sg2 = pik[SW_SIG] * pik[SW_GAM], c2 = r2 - pik[SW_A] * pik[SW_SIG];
                    const double e2 = exp(sg2 / c2), de2 = -sg2 / (c2 * c2);
                    const double *d1 = nb[u].d, *d2 = nb[v].d;
                    const double cs = (d1[0] * d2[0] + d1[1] * d2[1] + d1[2] * d2[2]) / (r1 * r2);
                    const double dc = cs - pijk[SW_COS0];
                    const double le = pijk[SW_LAM] * pijk[SW_EPS];
                    const double h = le * dc * dc * e1 * e2;
                    ei += h;
                    const double dhdc = 2 * le * dc * e1 * e2;
                    /* dE/dd1 = h de1 d1/r1 + dhdc (d2/(r1 r2) - cs d1/r1^2), same for d2 */
                    double g1[3], g2[3];
                    for (int c = 0; c < 3; c++) {
                        g1[c] = h * de1 * d1[c] / r1 + dhdc * (d2[c] / (r1 * r2) - cs * d1[c] / (r1 * r1));
                        g2[c] = h * de2 * d2[c] / r2 + dhdc * (d1[c] / (r1 * r2) - cs * d2[c] / (r2 * r2));
                    }
                    const int32_t k1 = nb[u].k, k2 = nb[v].k;
                    for (int c = 0; c < 3; c++) {
                        f[3 * k1 + c] -= g1[c];
                        f[3 * k2 + c] -= g2[c];
                        f[3 * i + c] += g1[c] + g2[c];
                    }
                }
            }
            esum += ei;
            if (ea) ea[i] += ei;
        }
        epart[8 * t] = esum;
    }
    (void)src;
    free(scratch);
    md_tforce_reduce(&s->tf, a);
    double e = 0;
    for (int t = 0; t < nth; t++) e += epart[8 * t];
    a->energy = e;
    return ST_OK;
}

const st_md_potential_class md_class_sw = {
    ST_MD_POTENTIAL_ABI, ST_MD_POT_FULL_LIST, "sw", "Stillinger-Weber, LAMMPS .sw file",
    sw_create, sw_destroy, sw_cutoff, sw_compute};
