/* observe.c -- cheap on-the-fly observers: radial distribution function, mean-squared
 * displacement and velocity autocorrelation.
 *
 * RDF: g_ab(r) = H_ab(r) / (sum over samples of N_a (N_b - delta_ab) / V * shell volume), where H
 *   counts ordered pairs (i in a, j in b, j != i) in the bin, periodic images included (pairs come
 *   from the MD neighbour list, so rmax may exceed half the cell).  With this normalisation an
 *   ideal gas gives exactly g = 1 in expectation for any N (Allen & Tildesley, 2nd ed., sec. 8.2).
 * MSD and VACF: multiple time origins (a new one every origin_every samples, each kept for nlags
 *   samples) averaged over atoms (optionally one species) and origins (Allen & Tildesley sec. 8.7).
 *   MSD uses the positions as given; the integrators never wrap, so they are unwrapped.
 *   Lag times assume a constant sampling interval, taken from the first two samples.
 *
 * Not done: FFT correlators, per-species-pair tables in one observer, structure factors.
 */
#include "md_internal.h"
#include <stdlib.h>
#include <string.h>

struct st_md_observer {
    st_md_observer_options opt;
    int64_t nsamples, natoms;
    double t0, t1;
    /* RDF */
    double *hist, norm;
    st_md_nlist *nl;
    /* MSD / VACF */
    int norig;
    double **ref;
    int64_t *ostart;         /* sample index of each origin, -1 = free */
    double *acc;
    int64_t *cnt;
};

int md_observer_stride(const st_md_observer *obs) { return obs->opt.stride; }

void st_md_observer_destroy(st_md_observer *o)
{
    if (!o) return;
    free(o->hist);
    st_md_nlist_destroy(o->nl);
    if (o->ref)
        for (int i = 0; i < o->norig; i++) free(o->ref[i]);
    free(o->ref);
    free(o->ostart);
    free(o->acc);
    free(o->cnt);
    free(o);
}

int st_md_observer_create(st_ctx *ctx, const st_md_observer_options *opt, st_md_observer **out)
{
    if (!out || !opt) return st_fail(ctx, ST_ERR_ARG, "md observer: NULL argument");
    *out = NULL;
    st_md_observer_options o = *opt;
    if (o.kind < ST_MD_OBS_RDF || o.kind > ST_MD_OBS_VACF) return st_fail(ctx, ST_ERR_ARG, "md observer: unknown kind %d", (int)o.kind);
    if (o.stride == 0) o.stride = 1;
    if (o.stride < 1) return st_fail(ctx, ST_ERR_ARG, "md observer: stride must be >= 1, got %d", (int)o.stride);
    if (o.species_a < 0 || o.species_a > 118 || o.species_b < 0 || o.species_b > 118)
        return st_fail(ctx, ST_ERR_ARG, "md observer: species must be atomic numbers 0..118");
    st_md_observer *s = calloc(1, sizeof *s);
    if (!s) return st_fail(ctx, ST_ERR_NOMEM, "md observer: out of memory");
    if (o.kind == ST_MD_OBS_RDF) {
        if (o.nbins == 0) o.nbins = 200;
        if (!(o.rmax > 0) || !isfinite(o.rmax)) { free(s); return st_fail(ctx, ST_ERR_ARG, "md observer: rdf needs rmax > 0 Å, got %g", o.rmax); }
        if (o.nbins < 1 || o.nbins > 1000000) { free(s); return st_fail(ctx, ST_ERR_ARG, "md observer: nbins must be 1..1e6, got %d", (int)o.nbins); }
        s->hist = calloc((size_t)o.nbins, sizeof(double));
        if (!s->hist || st_md_nlist_create(ctx, o.rmax, 0.0, 0, &s->nl)) { st_md_observer_destroy(s); return st_fail(ctx, ST_ERR_NOMEM, "md observer: out of memory"); }
    } else {
        if (o.nlags == 0) o.nlags = 100;
        if (o.origin_every == 0) o.origin_every = 10;
        if (o.nlags < 1 || o.nlags > 10000000) { free(s); return st_fail(ctx, ST_ERR_ARG, "md observer: nlags must be >= 1, got %d", (int)o.nlags); }
        if (o.origin_every < 1) { free(s); return st_fail(ctx, ST_ERR_ARG, "md observer: origin_every must be >= 1, got %d", (int)o.origin_every); }
        s->norig = (o.nlags + o.origin_every - 1) / o.origin_every + 1;
        s->ref = calloc((size_t)s->norig, sizeof(double *));
        s->ostart = malloc(sizeof(int64_t) * (size_t)s->norig);
        s->acc = calloc((size_t)o.nlags, sizeof(double));
        s->cnt = calloc((size_t)o.nlags, sizeof(int64_t));
        if (!s->ref || !s->ostart || !s->acc || !s->cnt) { st_md_observer_destroy(s); return st_fail(ctx, ST_ERR_NOMEM, "md observer: out of memory"); }
        for (int i = 0; i < s->norig; i++) s->ostart[i] = -1;
    }
    s->opt = o;
    *out = s;
    return ST_OK;
}

void st_md_observer_reset(st_md_observer *o)
{
    if (!o) return;
    o->nsamples = 0;
    o->natoms = 0;
    o->norm = 0;
    if (o->hist) memset(o->hist, 0, sizeof(double) * (size_t)o->opt.nbins);
    if (o->acc) {
        memset(o->acc, 0, sizeof(double) * (size_t)o->opt.nlags);
        memset(o->cnt, 0, sizeof(int64_t) * (size_t)o->opt.nlags);
        for (int i = 0; i < o->norig; i++) o->ostart[i] = -1;
    }
}

int64_t st_md_observer_samples(const st_md_observer *o) { return o ? o->nsamples : 0; }

int64_t st_md_observer_length(const st_md_observer *o)
{
    if (!o) return 0;
    return o->opt.kind == ST_MD_OBS_RDF ? o->opt.nbins : o->opt.nlags;
}

static inline int in_species(int32_t want, const int32_t *numbers, int64_t i)
{
    return want == 0 || (numbers && numbers[i] == want);
}

static int sample_rdf(st_ctx *ctx, st_md_observer *o, int64_t n, const double *x, const int32_t *z,
                      const double *cell, const int32_t *pbc)
{
    if (!pbc || !(pbc[0] && pbc[1] && pbc[2]) || !cell)
        return st_fail(ctx, ST_ERR_ARG, "md observer rdf: needs a cell periodic on all axes (the density is N/V)");
    double V = fabs(st_cell_volume(cell));
    int rc = md_nlist_build(ctx, o->nl, n, x, cell, pbc);
    if (rc) return rc;
    const int32_t A = o->opt.species_a, B = o->opt.species_b;
    int64_t na = 0, nb = 0, nab = 0;
    for (int64_t i = 0; i < n; i++) {
        int a = in_species(A, z, i), b = in_species(B, z, i);
        na += a;
        nb += b;
        nab += a && b;
    }
    /* ordered pairs (i in A, j in B, i != j): na * nb - (atoms in both) */
    o->norm += ((double)na * (double)nb - (double)nab) / V;
    const double rmax = o->opt.rmax, r2max = rmax * rmax, scale = o->opt.nbins / rmax;
    const st_md_nlist *nl = o->nl;
    for (int64_t i = 0; i < n; i++)
        for (int64_t q = nl->half_off[i]; q < nl->half_off[i + 1]; q++) {
            int32_t k = nl->half_idx[q];
            double dx = nl->x[3 * k] - nl->x[3 * i], dy = nl->x[3 * k + 1] - nl->x[3 * i + 1], dz = nl->x[3 * k + 2] - nl->x[3 * i + 2];
            double r2 = dx * dx + dy * dy + dz * dz;
            if (r2 >= r2max) continue;
            int j = nl->src[k];
            double w = (in_species(A, z, i) && in_species(B, z, j)) + (in_species(A, z, j) && in_species(B, z, i));
            if (w == 0) continue;
            int bin = (int)(sqrt(r2) * scale);
            if (bin >= o->opt.nbins) bin = o->opt.nbins - 1;
            o->hist[bin] += w;
        }
    return ST_OK;
}

static int sample_corr(st_ctx *ctx, st_md_observer *o, int64_t n, const double *data, const int32_t *z)
{
    const int64_t idx = o->nsamples;
    const int L = o->opt.nlags;
    int32_t A = o->opt.species_a;
    int64_t cnt = 0;
    for (int64_t i = 0; i < n; i++) cnt += in_species(A, z, i);
    if (cnt == 0) return st_fail(ctx, ST_ERR_ARG, "md observer: no atom of species Z=%d", (int)A);
    /* open a new origin */
    if (idx % o->opt.origin_every == 0) {
        int slot = -1;
        for (int s = 0; s < o->norig; s++)
            if (o->ostart[s] < 0) { slot = s; break; }
        if (slot >= 0) {
            if (!o->ref[slot]) {
                o->ref[slot] = malloc(sizeof(double) * 3 * (size_t)n);
                if (!o->ref[slot]) return st_fail(ctx, ST_ERR_NOMEM, "md observer: out of memory");
            }
            memcpy(o->ref[slot], data, sizeof(double) * 3 * (size_t)n);
            o->ostart[slot] = idx;
        }
    }
    for (int s = 0; s < o->norig; s++) {
        if (o->ostart[s] < 0) continue;
        int64_t lag = idx - o->ostart[s];
        if (lag >= L) { o->ostart[s] = -1; continue; }
        const double *r = o->ref[s];
        double sum = 0;
        for (int64_t i = 0; i < n; i++) {
            if (!in_species(A, z, i)) continue;
            const double *p = data + 3 * i, *q = r + 3 * i;
            if (o->opt.kind == ST_MD_OBS_MSD) {
                double dx = p[0] - q[0], dy = p[1] - q[1], dz = p[2] - q[2];
                sum += dx * dx + dy * dy + dz * dz;
            } else {
                sum += p[0] * q[0] + p[1] * q[1] + p[2] * q[2];
            }
        }
        o->acc[lag] += sum / (double)cnt;
        o->cnt[lag]++;
        if (lag == L - 1) o->ostart[s] = -1;
    }
    return ST_OK;
}

int st_md_observer_sample(st_ctx *ctx, st_md_observer *o, int64_t n, const double *positions, const double *velocities,
                          const int32_t *numbers, const double *cell, const int32_t *pbc, double time)
{
    if (!o) return st_fail(ctx, ST_ERR_ARG, "md observer sample: observer is NULL");
    if (n < 1) return st_fail(ctx, ST_ERR_ARG, "md observer sample: need atoms, got %lld", (long long)n);
    if (o->nsamples > 0 && n != o->natoms)
        return st_fail(ctx, ST_ERR_ARG, "md observer sample: frame has %lld atoms, earlier frames had %lld (reset first)",
                       (long long)n, (long long)o->natoms);
    int rc;
    switch (o->opt.kind) {
    case ST_MD_OBS_RDF:
        if (!positions) return st_fail(ctx, ST_ERR_ARG, "md observer rdf: positions are NULL");
        rc = sample_rdf(ctx, o, n, positions, numbers, cell, pbc);
        break;
    case ST_MD_OBS_MSD:
        if (!positions) return st_fail(ctx, ST_ERR_ARG, "md observer msd: positions are NULL");
        rc = sample_corr(ctx, o, n, positions, numbers);
        break;
    default:
        if (!velocities) return st_fail(ctx, ST_ERR_ARG, "md observer vacf: velocities are NULL");
        rc = sample_corr(ctx, o, n, velocities, numbers);
        break;
    }
    if (rc) return rc;
    if (o->nsamples == 0) o->t0 = time;
    if (o->nsamples == 1) o->t1 = time;
    o->natoms = n;
    o->nsamples++;
    return ST_OK;
}

int st_md_observer_result(st_ctx *ctx, const st_md_observer *o, double *x, double *y, int64_t len)
{
    if (!o || !x || !y) return st_fail(ctx, ST_ERR_ARG, "md observer result: NULL argument");
    int64_t need = st_md_observer_length(o);
    if (len < need) return st_fail(ctx, ST_ERR_ARG, "md observer result: arrays of %lld rows, need %lld", (long long)len, (long long)need);
    if (o->opt.kind == ST_MD_OBS_RDF) {
        double dr = o->opt.rmax / o->opt.nbins;
        for (int k = 0; k < o->opt.nbins; k++) {
            double r0 = k * dr, r1 = (k + 1) * dr;
            x[k] = 0.5 * (r0 + r1);
            double shell = 4.0 / 3.0 * M_PI * (r1 * r1 * r1 - r0 * r0 * r0);
            y[k] = o->norm > 0 ? o->hist[k] / (o->norm * shell) : NAN;
        }
    } else {
        double dt = o->nsamples > 1 ? o->t1 - o->t0 : 0;
        for (int k = 0; k < o->opt.nlags; k++) {
            x[k] = k * dt;
            y[k] = o->cnt[k] ? o->acc[k] / (double)o->cnt[k] : NAN;
        }
    }
    return ST_OK;
}
