/* pot_pair.c -- simple pair potentials on the half neighbour list: Lennard-Jones and Morse.
 *
 *   LJ:     phi(r) = 4 eps [(sigma/r)^12 - (sigma/r)^6]               (Jones 1924)
 *   Morse:  phi(r) = D0 [exp(-2 alpha (r - r0)) - 2 exp(-alpha (r - r0))]   (Morse 1929)
 * both cut at rc; with shift=1 the energy is shifted by -phi(rc) so it is continuous at rc
 * (forces are unchanged, as LAMMPS pair_modify shift yes).  One parameter set for every species;
 * `elements` optionally restricts which species are allowed.
 *
 * The loop is the performance-critical kernel of the LJ benchmark.  Two paths: a reference path
 * (used when per-atom energies are requested) and a fast path: structure-of-arrays copies of the
 * positions of real atoms and images, Newton's third law on the half list, per-thread SoA force
 * buffers summed in thread order, and for LJ a branch-free compaction of the list entries inside
 * rc before the force loop (about 30% of a Verlet list lies in the skin; branching on it
 * mispredicts, and this alone made the kernel 1.6x faster).  Both paths give the same numbers.
 *
 * Not done: per-type-pair parameters and mixing rules, tail corrections.
 */
#include "md_internal.h"
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct pair_state {
    int kind;                 /* 0 = LJ, 1 = Morse */
    double p[4];              /* LJ: eps sigma; Morse: D0 alpha r0 */
    double rc, rc2, offset;
    int restrict_species;
    md_species sp;
    md_tforce tf;
    double *soa;              /* fast path: x, y, z of every entry, then per-thread fx, fy, fz */
    int64_t soa_cap;
    int32_t *scratch_k;       /* fast path: per-thread neighbours inside rc and their d, r^2 */
    double *scratch_d;
    int64_t scratch_cap;
} pair_state;

static int parse_elements(st_ctx *ctx, const char *label, const char *elements, md_species *sp)
{
    md_species_init(sp);
    if (!elements) return 0;
    const char *p = elements;
    int count = 0;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t') p++;
        if (!*p) break;
        char sym[8];
        size_t k = 0;
        while (*p && *p != ' ' && *p != ',' && *p != '\t') {
            if (k + 1 < sizeof sym) sym[k++] = *p;
            p++;
        }
        sym[k] = 0;
        int z = st_element_number(sym);
        if (z < 0) {
            st_fail(ctx, ST_ERR_ARG, "%s: elements: unknown element '%s'", label, sym);
            return -1;
        }
        if (md_species_add(sp, z) < 0) {
            st_fail(ctx, ST_ERR_ARG, "%s: elements: too many species (max 16)", label);
            return -1;
        }
        count++;
    }
    return count;
}

static int pair_create(st_ctx *ctx, const st_md_potential_options *opt, void **state, int kind)
{
    const char *label = kind == 0 ? "lj" : "morse";
    static const char *ljkeys[] = {"epsilon", "sigma", "rc", "shift", NULL};
    static const char *mokeys[] = {"D0", "alpha", "r0", "rc", "shift", NULL};
    double v[5] = {0, 0, 0, 0, 0};
    int given[5];
    int rc = md_parse_params(ctx, label, opt->params, kind == 0 ? ljkeys : mokeys, v, given);
    if (rc) return rc;
    pair_state *s = calloc(1, sizeof *s);
    if (!s) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", label);
    s->kind = kind;
    int nreq = kind == 0 ? 2 : 3;
    const char **keys = kind == 0 ? ljkeys : mokeys;
    for (int i = 0; i < nreq; i++)
        if (!given[i]) {
            free(s);
            return st_fail(ctx, ST_ERR_ARG, "%s: params: '%s' is required (params = \"%s\")", label, keys[i],
                           opt->params ? opt->params : "");
        }
    if (kind == 0) {
        s->p[0] = v[0];
        s->p[1] = v[1];
        s->rc = given[2] ? v[2] : 2.5 * v[1];
        if (!(v[1] > 0)) { free(s); return st_fail(ctx, ST_ERR_ARG, "lj: params: sigma must be > 0, got %g", v[1]); }
        if (v[3] != 0 && v[3] != 1) { free(s); return st_fail(ctx, ST_ERR_ARG, "lj: params: shift must be 0 or 1, got %g", v[3]); }
        if (v[3] == 1) {
            double sr6 = pow(v[1] / s->rc, 6);
            s->offset = 4 * v[0] * (sr6 * sr6 - sr6);
        }
    } else {
        s->p[0] = v[0];
        s->p[1] = v[1];
        s->p[2] = v[2];
        if (!given[3]) { free(s); return st_fail(ctx, ST_ERR_ARG, "morse: params: 'rc' is required"); }
        s->rc = v[3];
        if (!(v[1] > 0)) { free(s); return st_fail(ctx, ST_ERR_ARG, "morse: params: alpha must be > 0, got %g", v[1]); }
        if (v[4] != 0 && v[4] != 1) { free(s); return st_fail(ctx, ST_ERR_ARG, "morse: params: shift must be 0 or 1, got %g", v[4]); }
        if (v[4] == 1) {
            double e = exp(-v[1] * (s->rc - v[2]));
            s->offset = v[0] * (e * e - 2 * e);
        }
    }
    if (!(s->rc > 0) || !isfinite(s->rc)) {
        double bad = s->rc;
        free(s);
        return st_fail(ctx, ST_ERR_ARG, "%s: params: rc must be > 0, got %g", label, bad);
    }
    s->rc2 = s->rc * s->rc;
    int ne = parse_elements(ctx, label, opt->elements, &s->sp);
    if (ne < 0) { free(s); return st_ctx_status(ctx); }
    s->restrict_species = ne > 0;
    *state = s;
    return ST_OK;
}

static int lj_create(st_ctx *ctx, const st_md_potential_options *opt, void **state) { return pair_create(ctx, opt, state, 0); }
static int morse_create(st_ctx *ctx, const st_md_potential_options *opt, void **state) { return pair_create(ctx, opt, state, 1); }

static void pair_destroy(void *state)
{
    pair_state *s = state;
    if (!s) return;
    md_tforce_free(&s->tf);
    free(s->soa);
    free(s->scratch_k);
    free(s->scratch_d);
    free(s);
}

static double pair_cutoff(const void *state) { return ((const pair_state *)state)->rc; }

static int check_species(st_ctx *ctx, const pair_state *s, const st_md_pot_args *a)
{
    if (!s->restrict_species) return ST_OK;
    const char *label = s->kind == 0 ? "lj" : "morse";
    for (int64_t i = 0; i < a->n; i++) {
        int z = a->numbers ? a->numbers[i] : 0;
        if (z < 0 || z > 118 || s->sp.z2t[z] < 0) {
            const char *sym = (z >= 0 && z <= 118) ? st_element_symbol(z) : NULL;
            return st_fail(ctx, ST_ERR_NOTFOUND, "%s: atom %lld is %s (Z=%d), not among the elements of the potential",
                           label, (long long)i, sym ? sym : "unknown", z);
        }
    }
    return ST_OK;
}

/* Fast path (no per-atom energies): structure-of-arrays copies of the positions and per-thread
 * SoA force buffers, so the inner loop over the neighbours of one atom is a plain SIMD loop with
 * gathers and scatters.  Scatters within one vector never collide: the neighbours of an atom are
 * distinct entries.  Pairs in the skin are masked rather than branched on. */
static int pair_fast(st_ctx *ctx, pair_state *s, st_md_pot_args *a, int nth)
{
    const int64_t n = a->n, next = a->next;
    int64_t need = 3 * next * (1 + nth);
    if (need > s->soa_cap) {
        double *p = realloc(s->soa, sizeof(double) * (size_t)need);
        if (!p) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", s->kind == 0 ? "lj" : "morse");
        s->soa = p;
        s->soa_cap = need;
    }
    double *restrict xs = s->soa, *restrict ys = s->soa + next, *restrict zs = s->soa + 2 * next;
    const double *restrict x = a->x;
    const int64_t *restrict off = a->half_offsets;
    const int32_t *restrict idx = a->half_index;
    const double rc2 = s->rc2, offset = s->offset;
    const double eps = s->p[0], sig = s->p[1];
    const double sig6 = pow(sig, 6), lj1 = 48 * eps * sig6 * sig6, lj2 = 24 * eps * sig6;
    const double lj3 = 4 * eps * sig6 * sig6, lj4 = 4 * eps * sig6;
    const double D0 = s->p[0], alpha = s->p[1], r0 = s->p[2];
    const int kind = s->kind;
    int64_t maxnb = 1;
    for (int64_t i = 0; i < n; i++)
        if (off[i + 1] - off[i] > maxnb) maxnb = off[i + 1] - off[i];
    if (maxnb * nth > s->scratch_cap) {
        int32_t *k2 = realloc(s->scratch_k, sizeof(int32_t) * (size_t)(maxnb * nth));
        if (k2) s->scratch_k = k2;
        double *d2 = realloc(s->scratch_d, sizeof(double) * 4 * (size_t)(maxnb * nth));
        if (d2) s->scratch_d = d2;
        if (!k2 || !d2) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", kind == 0 ? "lj" : "morse");
        s->scratch_cap = maxnb * nth;
    }
    double epart[64 * 8];
    memset(epart, 0, sizeof epart);
#pragma omp parallel num_threads(nth)
    {
#ifdef _OPENMP
        int t = omp_get_thread_num();
        int T = omp_get_num_threads();
#else
        int t = 0, T = 1;
#endif
        double *restrict fx = s->soa + 3 * next * (1 + t), *restrict fy = fx + next, *restrict fz = fy + next;
        int32_t *restrict kb = s->scratch_k + t * maxnb;
        double *restrict db = s->scratch_d + 4 * t * maxnb;
        memset(fx, 0, sizeof(double) * 3 * (size_t)next);
        for (int64_t k = next * t / T; k < next * (t + 1) / T; k++) {
            xs[k] = x[3 * k];
            ys[k] = x[3 * k + 1];
            zs[k] = x[3 * k + 2];
        }
#pragma omp barrier
        double esum = 0;
        for (int64_t i = n * t / T; i < n * (t + 1) / T; i++) {
            const double xi = xs[i], yi = ys[i], zi = zs[i];
            double fxi = 0, fyi = 0, fzi = 0, ei = 0;
            const int64_t q0 = off[i], q1 = off[i + 1];
            if (kind == 0) {
                /* Two passes: distances of all listed neighbours with a branch-free compaction of
                   those inside rc (about 30% of a Verlet list lies in the skin and a branch on it
                   mispredicts), then the force loop over the survivors only.  Pair order and
                   arithmetic are those of a plain loop, so results are bitwise the same. */
                int m = 0;
                for (int64_t q = q0; q < q1; q++) {
                    const int32_t k = idx[q];
                    const double dx = xi - xs[k], dy = yi - ys[k], dz = zi - zs[k];
                    const double r2 = dx * dx + dy * dy + dz * dz;
                    kb[m] = k;
                    db[4 * m] = dx;
                    db[4 * m + 1] = dy;
                    db[4 * m + 2] = dz;
                    db[4 * m + 3] = r2;
                    m += r2 < rc2;
                }
                for (int u = 0; u < m; u++) {
                    const int32_t k = kb[u];
                    const double dx = db[4 * u], dy = db[4 * u + 1], dz = db[4 * u + 2];
                    const double r2i = 1.0 / db[4 * u + 3], r6i = r2i * r2i * r2i;
                    const double fpair = r6i * (lj1 * r6i - lj2) * r2i;   /* -dphi/dr / r */
                    fxi += dx * fpair;
                    fyi += dy * fpair;
                    fzi += dz * fpair;
                    fx[k] -= dx * fpair;
                    fy[k] -= dy * fpair;
                    fz[k] -= dz * fpair;
                    ei += r6i * (lj3 * r6i - lj4) - offset;
                }
            } else {
#pragma omp simd reduction(+ : fxi, fyi, fzi, ei)
                for (int64_t q = q0; q < q1; q++) {
                    const int32_t k = idx[q];
                    const double dx = xi - xs[k], dy = yi - ys[k], dz = zi - zs[k];
                    const double r2 = dx * dx + dy * dy + dz * dz;
                    const int in = r2 < rc2;
                    const double r = sqrt(r2), ex = exp(-alpha * (r - r0));
                    /* dphi/dr = -2 alpha D0 (ex^2 - ex) */
                    const double fpair = in ? 2 * alpha * D0 * (ex * ex - ex) / r : 0.0;
                    fxi += dx * fpair;
                    fyi += dy * fpair;
                    fzi += dz * fpair;
                    fx[k] -= dx * fpair;
                    fy[k] -= dy * fpair;
                    fz[k] -= dz * fpair;
                    ei += in ? D0 * (ex * ex - 2 * ex) - offset : 0.0;
                }
            }
            fx[i] += fxi;
            fy[i] += fyi;
            fz[i] += fzi;
            esum += ei;
        }
        epart[8 * t] = esum;
#pragma omp barrier
        /* add the per-thread buffers into the caller's forces, in thread order */
        double *restrict f = a->forces;
        for (int64_t k = next * t / T; k < next * (t + 1) / T; k++) {
            double sx = 0, sy = 0, sz = 0;
            for (int u = 0; u < T; u++) {
                const double *b = s->soa + 3 * next * (1 + u);
                sx += b[k];
                sy += b[next + k];
                sz += b[2 * next + k];
            }
            f[3 * k] += sx;
            f[3 * k + 1] += sy;
            f[3 * k + 2] += sz;
        }
    }
    double e = 0;
    for (int t = 0; t < nth; t++) e += epart[8 * t];
    a->energy = e;
    return ST_OK;
}

static int pair_compute(st_ctx *ctx, void *state, st_md_pot_args *a)
{
    pair_state *s = state;
    int rc = check_species(ctx, s, a);
    if (rc) return rc;
    int nth = a->nthreads;
    if ((int64_t)nth > a->n / 2048 + 1) nth = (int)(a->n / 2048 + 1);
    if (!a->atom_energies) return pair_fast(ctx, s, a, nth);
    rc = md_tforce_init(ctx, &s->tf, a, nth);
    if (rc) return rc;
    double epart[64 * 8];
    memset(epart, 0, sizeof epart);
    const int64_t n = a->n;
    const double *restrict x = a->x;
    const int64_t *restrict off = a->half_offsets;
    const int32_t *restrict idx = a->half_index;
    const int32_t *restrict src = a->src;
    const double rc2 = s->rc2, offset = s->offset;
    const int kind = s->kind;
    const double eps = s->p[0], sig = s->p[1];
    const double sig6 = pow(sig, 6), lj1 = 48 * eps * sig6 * sig6, lj2 = 24 * eps * sig6;
    const double lj3 = 4 * eps * sig6 * sig6, lj4 = 4 * eps * sig6;
    const double D0 = s->p[0], alpha = s->p[1], r0 = s->p[2];
#pragma omp parallel num_threads(nth)
    {
#ifdef _OPENMP
        int t = omp_get_thread_num();
        int T = omp_get_num_threads();
#else
        int t = 0, T = 1;
#endif
        double *restrict f = s->tf.f[t];
        double *restrict ea = s->tf.e[t];
        double esum = 0;
        int64_t i0 = n * t / T, i1 = n * (t + 1) / T;
        if (kind == 0) {
            for (int64_t i = i0; i < i1; i++) {
                const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
                double fxi = 0, fyi = 0, fzi = 0, ei = 0;
                /* Branch-free: about 30% of list pairs lie in the skin, and a data-dependent
                   branch on r < rc mispredicts often; masking the result is cheaper. */
                for (int64_t q = off[i]; q < off[i + 1]; q++) {
                    const int64_t k = idx[q];
                    const double dx = xi - x[3 * k], dy = yi - x[3 * k + 1], dz = zi - x[3 * k + 2];
                    const double r2 = dx * dx + dy * dy + dz * dz;
                    const double in = r2 < rc2 ? 1.0 : 0.0;
                    const double r2i = in / r2, r6i = r2i * r2i * r2i;
                    const double fpair = r6i * (lj1 * r6i - lj2) * r2i;   /* -dphi/dr / r */
                    fxi += dx * fpair;
                    fyi += dy * fpair;
                    fzi += dz * fpair;
                    f[3 * k] -= dx * fpair;
                    f[3 * k + 1] -= dy * fpair;
                    f[3 * k + 2] -= dz * fpair;
                    const double e = r6i * (lj3 * r6i - lj4) - in * offset;
                    ei += e;
                    if (ea) ea[src[k]] += 0.5 * e;
                }
                f[3 * i] += fxi;
                f[3 * i + 1] += fyi;
                f[3 * i + 2] += fzi;
                esum += ei;
                if (ea) ea[i] += 0.5 * ei;
            }
        } else {
            for (int64_t i = i0; i < i1; i++) {
                const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
                double fxi = 0, fyi = 0, fzi = 0, ei = 0;
                for (int64_t q = off[i]; q < off[i + 1]; q++) {
                    const int64_t k = idx[q];
                    const double dx = xi - x[3 * k], dy = yi - x[3 * k + 1], dz = zi - x[3 * k + 2];
                    const double r2 = dx * dx + dy * dy + dz * dz;
                    if (r2 < rc2) {
                        const double r = sqrt(r2);
                        const double ex = exp(-alpha * (r - r0));
                        /* dphi/dr = -2 alpha D0 (ex^2 - ex) */
                        const double fpair = 2 * alpha * D0 * (ex * ex - ex) / r;
                        fxi += dx * fpair;
                        fyi += dy * fpair;
                        fzi += dz * fpair;
                        f[3 * k] -= dx * fpair;
                        f[3 * k + 1] -= dy * fpair;
                        f[3 * k + 2] -= dz * fpair;
                        const double e = D0 * (ex * ex - 2 * ex) - offset;
                        ei += e;
                        if (ea) ea[src[k]] += 0.5 * e;
                    }
                }
                f[3 * i] += fxi;
                f[3 * i + 1] += fyi;
                f[3 * i + 2] += fzi;
                esum += ei;
                if (ea) ea[i] += 0.5 * ei;
            }
        }
        epart[8 * t] = esum;
    }
    md_tforce_reduce(&s->tf, a);
    double e = 0;
    for (int t = 0; t < nth; t++) e += epart[8 * t];
    a->energy = e;
    return ST_OK;
}

const st_md_potential_class md_class_lj = {
    ST_MD_POTENTIAL_ABI, 0, "lj", "Lennard-Jones 12-6, params epsilon (eV) sigma (Å) [rc (Å) shift (0/1)]",
    lj_create, pair_destroy, pair_cutoff, pair_compute};

const st_md_potential_class md_class_morse = {
    ST_MD_POTENTIAL_ABI, 0, "morse", "Morse, params D0 (eV) alpha (1/Å) r0 (Å) rc (Å) [shift (0/1)]",
    morse_create, pair_destroy, pair_cutoff, pair_compute};
