/* pot_eam.c -- embedded-atom method potentials from DYNAMO tabulated files (funcfl, as LAMMPS
 * pair_style eam, and setfl, as pair_style eam/alloy).
 *
 *   E = sum_i F_ti(rho_i) + 1/2 sum_i sum_j phi_titj(r_ij),   rho_i = sum_j rho_tj(r_ij)
 *   (Daw & Baskes, PRB 29, 6443 (1984); the functional form of their total energy)
 *
 * Tables are interpolated exactly the way LAMMPS does (pair_eam.cpp, interpolate()): on each
 * interval a cubic Hermite polynomial whose end slopes are the 5-point central differences
 * (f[m-2] - f[m+2] + 8 (f[m+1] - f[m-1])) / 12 (one-sided 2- and 3-point formulas at the ends);
 * the pair term is tabulated as z2r = r phi(r) and divided by r at the point of use; beyond the
 * last density point F is extended linearly with slope F'(rho_max).  For funcfl files
 * z2r = 27.2 * 0.529 * Z(r)^2, the Hartree-Bohr product LAMMPS uses (Foiles' effective charges).
 *
 * Not done: eam/fs (Finnis-Sinclair rho_ij), several funcfl files combined (LAMMPS would mix
 * their Z(r) geometrically), per-atom virial.
 */
#include "md_internal.h"
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct spl {
    int n;
    double *c;   /* [n][7]: c0..c2 derivative coefficients (already / delta), c3..c6 value */
} spl;

typedef struct eam_state {
    int alloy;
    char file[512];
    md_species sp;
    int ne;
    int nrho, nr;
    double drho, dr, rdrho, rdr, cut, cut2, rhomax;
    spl F[16], rho[16], z2r[136];
    int32_t *type;
    int64_t type_cap;
    double *rhob, *fp;      /* [nth][n] densities; [n] F'(rho) */
    int64_t rhob_cap, fp_cap;
    int32_t *scratch_k;     /* per-thread neighbours inside the cutoff, and their d, r^2 */
    double *scratch_d;
    int64_t scratch_cap;
    md_tforce tf;
} eam_state;

/* Cubic Hermite coefficients with 5-point slopes (the LAMMPS construction, see the header). */
static int spl_build(spl *s, const double *f, int n, double delta)
{
    s->n = n;
    s->c = malloc(sizeof(double) * 7 * (size_t)n);
    if (!s->c) return -1;
    double *c = s->c;
    for (int m = 0; m < n; m++) c[7 * m + 6] = f[m];
    if (n >= 5) {
        c[7 * 0 + 5] = f[1] - f[0];
        c[7 * 1 + 5] = 0.5 * (f[2] - f[0]);
        c[7 * (n - 2) + 5] = 0.5 * (f[n - 1] - f[n - 3]);
        c[7 * (n - 1) + 5] = f[n - 1] - f[n - 2];
        for (int m = 2; m < n - 2; m++) c[7 * m + 5] = ((f[m - 2] - f[m + 2]) + 8.0 * (f[m + 1] - f[m - 1])) / 12.0;
    } else {
        for (int m = 0; m < n; m++) c[7 * m + 5] = m + 1 < n ? f[m + 1] - f[m] : (m ? f[m] - f[m - 1] : 0);
    }
    for (int m = 0; m < n - 1; m++) {
        c[7 * m + 4] = 3.0 * (f[m + 1] - f[m]) - 2.0 * c[7 * m + 5] - c[7 * (m + 1) + 5];
        c[7 * m + 3] = c[7 * m + 5] + c[7 * (m + 1) + 5] - 2.0 * (f[m + 1] - f[m]);
    }
    c[7 * (n - 1) + 4] = 0;
    c[7 * (n - 1) + 3] = 0;
    for (int m = 0; m < n; m++) {
        c[7 * m + 2] = c[7 * m + 5] / delta;
        c[7 * m + 1] = 2.0 * c[7 * m + 4] / delta;
        c[7 * m + 0] = 3.0 * c[7 * m + 3] / delta;
    }
    return 0;
}

/* Interval index and fraction, as LAMMPS: p = x/dx + 1, m = int(p) clamped, p -= m, p <= 1. */
static inline const double *spl_at_r(const spl *s, double r, double rdr, double *p)
{
    double q = r * rdr + 1.0;
    int m = (int)q;
    if (m > s->n - 1) m = s->n - 1;
    q -= m;
    if (q > 1.0) q = 1.0;
    *p = q;
    return s->c + 7 * (m - 1);
}

static inline double spl_val(const double *c, double p) { return ((c[3] * p + c[4]) * p + c[5]) * p + c[6]; }
static inline double spl_der(const double *c, double p) { return (c[0] * p + c[1]) * p + c[2]; }

static void eam_destroy(void *state)
{
    eam_state *s = state;
    if (!s) return;
    for (int i = 0; i < 16; i++) {
        free(s->F[i].c);
        free(s->rho[i].c);
    }
    for (int i = 0; i < 136; i++) free(s->z2r[i].c);
    free(s->type);
    free(s->rhob);
    free(s->fp);
    free(s->scratch_k);
    free(s->scratch_d);
    md_tforce_free(&s->tf);
    free(s);
}

static int read_array(st_ctx *ctx, md_text *t, const char *what, int count, double *out)
{
    char lab[96];
    for (int i = 0; i < count; i++) {
        snprintf(lab, sizeof lab, "%s value %d of %d", what, i + 1, count);
        int rc = md_text_number(ctx, t, 0, lab, &out[i]);
        if (rc) return rc;
    }
    return ST_OK;
}

/* Header line: numbers that must all sit on line `line`. */
static int header_number(st_ctx *ctx, md_text *t, int64_t line, const char *what, double *v)
{
    int rc = md_text_number(ctx, t, 0, what, v);
    if (rc) return rc;
    if (t->line != line)
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: %s expected on line %lld (line too short)", t->name,
                       (long long)t->line, what, (long long)line);
    return ST_OK;
}

static int read_grid(st_ctx *ctx, md_text *t, eam_state *s, int64_t line)
{
    double v[5];
    static const char *names[] = {"Nrho", "drho", "Nr", "dr", "cutoff"};
    for (int i = 0; i < 5; i++) {
        int rc = header_number(ctx, t, line, names[i], &v[i]);
        if (rc) return rc;
    }
    md_text_skip_line(t);
    if (v[0] < 5 || v[0] > 1e7 || v[0] != floor(v[0]))
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: field 1 (Nrho): expected an integer >= 5, got %g", t->name, (long long)line, v[0]);
    if (v[2] < 5 || v[2] > 1e7 || v[2] != floor(v[2]))
        return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: field 3 (Nr): expected an integer >= 5, got %g", t->name, (long long)line, v[2]);
    if (!(v[1] > 0)) return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: field 2 (drho): must be > 0, got %g", t->name, (long long)line, v[1]);
    if (!(v[3] > 0)) return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: field 4 (dr): must be > 0, got %g", t->name, (long long)line, v[3]);
    if (!(v[4] > 0)) return st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: field 5 (cutoff): must be > 0, got %g", t->name, (long long)line, v[4]);
    s->nrho = (int)v[0];
    s->drho = v[1];
    s->nr = (int)v[2];
    s->dr = v[3];
    s->cut = v[4];
    s->rdrho = 1.0 / s->drho;
    s->rdr = 1.0 / s->dr;
    s->cut2 = s->cut * s->cut;
    s->rhomax = (s->nrho - 1) * s->drho;
    return ST_OK;
}

static int eam_create_any(st_ctx *ctx, const st_md_potential_options *opt, void **state, int alloy)
{
    const char *label = alloy ? "eam/alloy" : "eam";
    if (!opt->file) return st_fail(ctx, ST_ERR_ARG, "%s: options.file (the potential file) is required", label);
    if (opt->params && *opt->params) return st_fail(ctx, ST_ERR_ARG, "%s: takes no params, got '%s'", label, opt->params);
    if (opt->elements && *opt->elements)
        return st_fail(ctx, ST_ERR_ARG, "%s: options.elements is not supported (the species are those of the file)", label);
    md_text t;
    int rc = md_text_open(ctx, &t, opt->file);
    if (rc) return rc;
    eam_state *s = calloc(1, sizeof *s);
    if (!s) { md_text_close(&t); return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", label); }
    s->alloy = alloy;
    snprintf(s->file, sizeof s->file, "%s", opt->file);
    md_species_init(&s->sp);
    double *buf = NULL;
    char tok[64];
    if (!alloy) {
        /* funcfl: comment; Z mass a lattice; Nrho drho Nr dr cut; F(rho); Z(r); rho(r) */
        md_text_skip_line(&t);
        long z;
        rc = md_text_int(ctx, &t, 0, "atomic number", &z);
        if (rc) goto fail;
        if (t.line != 2 || z < 1 || z > 118) {
            rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: field 1 (atomic number): expected 1..118 on line 2, got %ld",
                         t.name, (long long)t.line, z);
            goto fail;
        }
        md_text_skip_line(&t);
        rc = read_grid(ctx, &t, s, 3);
        if (rc) goto fail;
        s->ne = 1;
        md_species_add(&s->sp, (int)z);
        int nmax = s->nrho > s->nr ? s->nrho : s->nr;
        buf = malloc(sizeof(double) * (size_t)nmax * 2);
        if (!buf) { rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", label); goto fail; }
        rc = read_array(ctx, &t, "F(rho)", s->nrho, buf);
        if (rc) goto fail;
        if (spl_build(&s->F[0], buf, s->nrho, s->drho)) goto nomem;
        rc = read_array(ctx, &t, "Z(r)", s->nr, buf);
        if (rc) goto fail;
        /* r phi(r) = 27.2 * 0.529 * Z(r)^2 (Hartree * Bohr in eV * Å, the LAMMPS constants) */
        for (int m = 0; m < s->nr; m++) buf[s->nr + m] = 27.2 * 0.529 * buf[m] * buf[m];
        if (spl_build(&s->z2r[0], buf + s->nr, s->nr, s->dr)) goto nomem;
        rc = read_array(ctx, &t, "rho(r)", s->nr, buf);
        if (rc) goto fail;
        if (spl_build(&s->rho[0], buf, s->nr, s->dr)) goto nomem;
    } else {
        /* setfl: 3 comment lines; Ne El1 El2 ...; grid; per element: Z mass a lattice, F, rho;
           then r*phi for i >= j */
        for (int i = 0; i < 3; i++) md_text_skip_line(&t);
        long ne;
        rc = md_text_int(ctx, &t, 0, "number of elements", &ne);
        if (rc) goto fail;
        if (t.line != 4 || ne < 1 || ne > 16) {
            rc = st_fail(ctx, ST_ERR_PARSE, "%s: line %lld: field 1 (number of elements): expected 1..16 on line 4, got %ld",
                         t.name, (long long)t.line, ne);
            goto fail;
        }
        s->ne = (int)ne;
        for (int e = 0; e < ne; e++) {
            if (!md_text_token(&t, 0, tok, sizeof tok) || t.line != 4) {
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line 4: expected %ld element symbols, found %d", t.name, ne, e);
                goto fail;
            }
            int z = st_element_number(tok);
            if (z <= 0) {
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line 4: field %d (element): unknown element '%s'", t.name, t.field, tok);
                goto fail;
            }
            if (md_species_add(&s->sp, z) != e) {
                rc = st_fail(ctx, ST_ERR_PARSE, "%s: line 4: field %d (element): '%s' is listed twice", t.name, t.field, tok);
                goto fail;
            }
        }
        md_text_skip_line(&t);
        rc = read_grid(ctx, &t, s, 5);
        if (rc) goto fail;
        int nmax = s->nrho > s->nr ? s->nrho : s->nr;
        buf = malloc(sizeof(double) * (size_t)nmax);
        if (!buf) { rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", label); goto fail; }
        char what[64];
        for (int e = 0; e < ne; e++) {
            double zz, mass;
            snprintf(what, sizeof what, "element %d header: atomic number", e + 1);
            rc = md_text_number(ctx, &t, 0, what, &zz);
            if (rc) goto fail;
            int64_t hl = t.line;
            snprintf(what, sizeof what, "element %d header: mass", e + 1);
            rc = header_number(ctx, &t, hl, what, &mass);
            if (rc) goto fail;
            md_text_skip_line(&t);
            snprintf(what, sizeof what, "F(rho) of %s", st_element_symbol(s->sp.z[e]));
            rc = read_array(ctx, &t, what, s->nrho, buf);
            if (rc) goto fail;
            if (spl_build(&s->F[e], buf, s->nrho, s->drho)) goto nomem;
            snprintf(what, sizeof what, "rho(r) of %s", st_element_symbol(s->sp.z[e]));
            rc = read_array(ctx, &t, what, s->nr, buf);
            if (rc) goto fail;
            if (spl_build(&s->rho[e], buf, s->nr, s->dr)) goto nomem;
        }
        for (int i = 0; i < ne; i++)
            for (int j = 0; j <= i; j++) {
                snprintf(what, sizeof what, "r*phi(r) of %s-%s", st_element_symbol(s->sp.z[i]), st_element_symbol(s->sp.z[j]));
                rc = read_array(ctx, &t, what, s->nr, buf);
                if (rc) goto fail;
                if (spl_build(&s->z2r[i * (i + 1) / 2 + j], buf, s->nr, s->dr)) goto nomem;
            }
    }
    free(buf);
    md_text_close(&t);
    *state = s;
    return ST_OK;
nomem:
    rc = st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", label);
fail:
    free(buf);
    md_text_close(&t);
    eam_destroy(s);
    return rc;
}

static int eam_create(st_ctx *ctx, const st_md_potential_options *opt, void **state) { return eam_create_any(ctx, opt, state, 0); }
static int eam_alloy_create(st_ctx *ctx, const st_md_potential_options *opt, void **state) { return eam_create_any(ctx, opt, state, 1); }
static double eam_cutoff(const void *state) { return ((const eam_state *)state)->cut; }

static inline const spl *z2r_of(const eam_state *s, int a, int b)
{
    return a >= b ? &s->z2r[a * (a + 1) / 2 + b] : &s->z2r[b * (b + 1) / 2 + a];
}

static int eam_compute(st_ctx *ctx, void *state, st_md_pot_args *a)
{
    eam_state *s = state;
    const int64_t n = a->n, next = a->next;
    char label[600];
    snprintf(label, sizeof label, "%s (%s)", s->alloy ? "eam/alloy" : "eam", s->file);
    if (next > s->type_cap) {
        int32_t *tp = realloc(s->type, sizeof(int32_t) * (size_t)next);
        if (!tp) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", label);
        s->type = tp;
        s->type_cap = next;
    }
    int rc = md_species_types(ctx, &s->sp, label, a, s->type);
    if (rc) return rc;
    int nth = a->nthreads;
    if ((int64_t)nth > n / 2048 + 1) nth = (int)(n / 2048 + 1);
    if ((int64_t)nth * n > s->rhob_cap) {
        double *p = realloc(s->rhob, sizeof(double) * (size_t)(nth * n + 1));
        if (!p) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", label);
        s->rhob = p;
        s->rhob_cap = nth * n;
    }
    if (n > s->fp_cap) {
        double *p = realloc(s->fp, sizeof(double) * (size_t)(n + 1));
        if (!p) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", label);
        s->fp = p;
        s->fp_cap = n;
    }
    rc = md_tforce_init(ctx, &s->tf, a, nth);
    if (rc) return rc;
    int64_t maxnb = 1;
    for (int64_t i = 0; i < n; i++)
        if (a->half_offsets[i + 1] - a->half_offsets[i] > maxnb) maxnb = a->half_offsets[i + 1] - a->half_offsets[i];
    if (maxnb * nth > s->scratch_cap) {
        int32_t *k2 = realloc(s->scratch_k, sizeof(int32_t) * (size_t)(maxnb * nth));
        if (k2) s->scratch_k = k2;
        double *d2 = realloc(s->scratch_d, sizeof(double) * 4 * (size_t)(maxnb * nth));
        if (d2) s->scratch_d = d2;
        if (!k2 || !d2) return st_fail(ctx, ST_ERR_NOMEM, "%s: out of memory", label);
        s->scratch_cap = maxnb * nth;
    }
    const double *restrict x = a->x;
    const int64_t *restrict off = a->half_offsets;
    const int32_t *restrict idx = a->half_index;
    const int32_t *restrict src = a->src;
    const int32_t *restrict type = s->type;
    double *restrict rhob = s->rhob;
    double *restrict fp = s->fp;
    const double cut2 = s->cut2, rdr = s->rdr;
    double epart[64 * 8];
    memset(epart, 0, sizeof epart);
    memset(rhob, 0, sizeof(double) * (size_t)(nth * n));
#pragma omp parallel num_threads(nth)
    {
#ifdef _OPENMP
        int t = omp_get_thread_num();
        int T = omp_get_num_threads();
#else
        int t = 0, T = 1;
#endif
        int64_t i0 = n * t / T, i1 = n * (t + 1) / T;
        double *restrict rho = rhob + t * n;
        int32_t *restrict kb = s->scratch_k + t * maxnb;
        double *restrict db = s->scratch_d + 4 * t * maxnb;
        /* pass 1: host densities rho_i on the half list, both directions of each pair */
        for (int64_t i = i0; i < i1; i++) {
            const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
            const int ti = type[i];
            double rhoi = 0;
            /* branch-free compaction of the neighbours inside the cutoff (a large part of a Verlet
               list is in the skin), then the work on the survivors only */
            int m = 0;
            for (int64_t q = off[i]; q < off[i + 1]; q++) {
                const int32_t k = idx[q];
                const double dx = xi - x[3 * k], dy = yi - x[3 * k + 1], dz = zi - x[3 * k + 2];
                const double r2 = dx * dx + dy * dy + dz * dz;
                kb[m] = k;
                db[4 * m + 3] = r2;
                m += r2 < cut2;
            }
            for (int u = 0; u < m; u++) {
                const int32_t k = kb[u];
                const double r = sqrt(db[4 * u + 3]);
                double p;
                const double *c = spl_at_r(&s->rho[type[k]], r, rdr, &p);
                rhoi += spl_val(c, p);
                if (type[k] != ti) c = spl_at_r(&s->rho[ti], r, rdr, &p);
                rho[src[k]] += spl_val(c, p);
            }
            rho[i] += rhoi;
        }
#pragma omp barrier
        /* pass 2: embedding energies; sum the per-thread densities in thread order */
        double esum = 0;
        for (int64_t i = i0; i < i1; i++) {
            double r = 0;
            for (int u = 0; u < T; u++) r += rhob[u * n + i];
            const spl *F = &s->F[type[i]];
            double q = r * s->rdrho + 1.0;
            int m = (int)q;
            if (m > s->nrho - 1) m = s->nrho - 1;
            if (m < 1) m = 1;
            q -= m;
            if (q > 1.0) q = 1.0;
            const double *c = F->c + 7 * (m - 1);
            fp[i] = spl_der(c, q);
            double e = spl_val(c, q);
            if (r > s->rhomax) e += fp[i] * (r - s->rhomax);  /* linear extension beyond the table */
            esum += e;
            if (s->tf.e[t]) s->tf.e[t][i] += e;
        }
#pragma omp barrier
        /* pass 3: forces, dE/dr = F'_i rho_j'(r) + F'_j rho_i'(r) + phi'(r) */
        double *restrict f = s->tf.f[t];
        double *restrict ea = s->tf.e[t];
        for (int64_t i = i0; i < i1; i++) {
            const double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
            const int ti = type[i];
            const double fpi = fp[i];
            double fxi = 0, fyi = 0, fzi = 0, ei = 0;
            int m = 0;
            for (int64_t q = off[i]; q < off[i + 1]; q++) {
                const int32_t k = idx[q];
                const double dx = xi - x[3 * k], dy = yi - x[3 * k + 1], dz = zi - x[3 * k + 2];
                const double r2 = dx * dx + dy * dy + dz * dz;
                kb[m] = k;
                db[4 * m] = dx;
                db[4 * m + 1] = dy;
                db[4 * m + 2] = dz;
                db[4 * m + 3] = r2;
                m += r2 < cut2;
            }
            for (int u = 0; u < m; u++) {
                const int32_t k = kb[u];
                const double dx = db[4 * u], dy = db[4 * u + 1], dz = db[4 * u + 2];
                const int tk = type[k];
                const double r = sqrt(db[4 * u + 3]), rinv = 1.0 / r;
                double p;
                const double *ci = spl_at_r(&s->rho[ti], r, rdr, &p);
                const double rhoip = spl_der(ci, p);
                const double *ck = tk == ti ? ci : s->rho[tk].c + (ci - s->rho[ti].c);
                const double rhokp = spl_der(ck, p);
                const double *cz = z2r_of(s, ti, tk)->c + (ci - s->rho[ti].c);
                const double z2 = spl_val(cz, p), z2p = spl_der(cz, p);
                const double phi = z2 * rinv;
                const double phip = z2p * rinv - phi * rinv;
                const double psip = fpi * rhokp + fp[src[k]] * rhoip + phip;
                const double fpair = -psip * rinv;
                fxi += dx * fpair;
                fyi += dy * fpair;
                fzi += dz * fpair;
                f[3 * k] -= dx * fpair;
                f[3 * k + 1] -= dy * fpair;
                f[3 * k + 2] -= dz * fpair;
                ei += phi;
                if (ea) ea[src[k]] += 0.5 * phi;
            }
            f[3 * i] += fxi;
            f[3 * i + 1] += fyi;
            f[3 * i + 2] += fzi;
            esum += ei;
            if (ea) ea[i] += 0.5 * ei;
        }
        epart[8 * t] = esum;
    }
    md_tforce_reduce(&s->tf, a);
    double e = 0;
    for (int t = 0; t < nth; t++) e += epart[8 * t];
    a->energy = e;
    return ST_OK;
}

const st_md_potential_class md_class_eam = {
    ST_MD_POTENTIAL_ABI, 0, "eam", "EAM, DYNAMO funcfl file (LAMMPS pair_style eam)",
    eam_create, eam_destroy, eam_cutoff, eam_compute};

const st_md_potential_class md_class_eam_alloy = {
    ST_MD_POTENTIAL_ABI, 0, "eam/alloy", "EAM, DYNAMO setfl file (LAMMPS pair_style eam/alloy)",
    eam_alloy_create, eam_destroy, eam_cutoff, eam_compute};
