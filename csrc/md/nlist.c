/* nlist.c -- Verlet neighbour lists for MD: binned build over periodic images ("ghosts"), half
 * and full lists in CSR layout, and the skin test that decides when to rebuild.
 *
 * Idea (the scheme LAMMPS uses, re-derived here for triclinic cells): atoms are wrapped into the
 * cell in fractional coordinates s = x H^-1 (H rows = lattice vectors) and binned on a grid
 * aligned with the lattice, so a lattice translation maps bins onto bins exactly.  Periodic images
 * within the halo (fractional distance delta_a = (rc + skin)/d_a of the cell faces, d_a = spacing
 * of lattice planes) become ghost entries: x_ext[k] = x[src[k]] + shift[k] . H.  Because image
 * bins are computed by integer arithmetic (owner bin + n * nbins), the two geometric realisations
 * of one periodic pair, (i, image of j) and (j, image of i), sit at exactly opposite bin offsets,
 * so a half stencil (offsets lexicographically > 0) keeps exactly one of them; pairs in the same
 * bin are decided by a canonical rule on (owner index, image shift).  Forces on ghosts are folded
 * back by the caller and the virial is sum_k f_k x_k over all entries.
 *
 * Skin test with a changing cell (NPT): with M = H0^-1 H, the affine part of the motion maps a
 * pair vector r0 to r0 M, which is at least sigma_min(M) |r0| long; sigma_min(M) >= 1 - |M - 1|_F.
 * Writing u_i = x_i - x0_i M, a pair outside rc + skin at the build stays outside rc while
 * 2 max|u| < sigma_min (rc + skin) - rc, which reduces to the usual max|u| < skin/2 for M = 1.
 *
 * Not done: spatial sorting of atoms (the caller's order is kept), Verlet lists per type pair.
 */
#include "md_internal.h"
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

int st_md_nlist_create(st_ctx *ctx, double cutoff, double skin, int full, st_md_nlist **out)
{
    if (!out) return st_fail(ctx, ST_ERR_ARG, "md nlist: out is NULL");
    *out = NULL;
    if (!(cutoff > 0) || !isfinite(cutoff))
        return st_fail(ctx, ST_ERR_ARG, "md nlist: cutoff must be > 0 Å, got %g", cutoff);
    if (!(skin >= 0) || !isfinite(skin))
        return st_fail(ctx, ST_ERR_ARG, "md nlist: skin must be >= 0 Å, got %g", skin);
    st_md_nlist *nl = calloc(1, sizeof *nl);
    if (!nl) return st_fail(ctx, ST_ERR_NOMEM, "md nlist: out of memory");
    nl->cutoff = cutoff;
    nl->skin = skin;
    nl->full = full ? 1 : 0;
    *out = nl;
    return ST_OK;
}

void st_md_nlist_destroy(st_md_nlist *nl)
{
    if (!nl) return;
    free(nl->x0);
    free(nl->src);
    free(nl->img);
    free(nl->x);
    free(nl->half_off);
    free(nl->half_idx);
    free(nl->full_off);
    free(nl->full_idx);
    free(nl);
}

int64_t st_md_nlist_build_count(const st_md_nlist *nl) { return nl ? nl->builds : 0; }

static int any_periodic(const int32_t *pbc)
{
    return pbc && (pbc[0] || pbc[1] || pbc[2]);
}

/* Per-thread growing pair buffer. */
typedef struct pairbuf {
    int32_t *idx;
    int64_t len, cap;
    int failed;
} pairbuf;

static inline int pb_reserve(pairbuf *b, int64_t extra)
{
    if (b->len + extra <= b->cap) return 1;
    int64_t nc = b->cap ? 2 * b->cap : 4096;
    while (nc < b->len + extra) nc *= 2;
    int32_t *p = realloc(b->idx, (size_t)nc * sizeof *p);
    if (!p) { b->failed = 1; return 0; }
    b->idx = p;
    b->cap = nc;
    return 1;
}

static inline void pb_push(pairbuf *b, int32_t k)
{
    if (b->len == b->cap) {
        int64_t nc = b->cap ? 2 * b->cap : 4096;
        int32_t *p = realloc(b->idx, (size_t)nc * sizeof *p);
        if (!p) { b->failed = 1; return; }
        b->idx = p;
        b->cap = nc;
    }
    b->idx[b->len++] = k;
}

/* Geometry of the binning frame. */
typedef struct frame {
    double H[9], Hinv[9];
    int per[3];
    double lo[3], bw[3];   /* fractional origin and bin width per axis */
    int nb[3], R[3], G[3], off[3];
    int orth;              /* H diagonal: stencil pruning by box distance */
    double plane[3];       /* d_a: spacing of lattice planes, Å */
} frame;

static inline int64_t bin_linear(const frame *fr, int bx, int by, int bz)
{
    return ((int64_t)(bz + fr->off[2]) * fr->G[1] + (by + fr->off[1])) * fr->G[0] + (bx + fr->off[0]);
}

/* Lexicographic sign of an integer triple (z most significant, as the stencil order). */
static inline int lex_positive(int a, int b, int c)
{
    if (c != 0) return c > 0;
    if (b != 0) return b > 0;
    return a > 0;
}

static int build_lists(st_ctx *ctx, st_md_nlist *nl, const frame *fr, const int64_t *binof,
                       const int64_t *bstart, const int32_t *order, const double *sx, const double *sy,
                       const double *sz, int full_mode,
                       int64_t **off_out, int32_t **idx_out, int64_t *cap_out)
{
    const int64_t n = nl->n;
    const double rcs = nl->cutoff + nl->skin, rcs2 = rcs * rcs;
    const double *x = nl->x;
    const int32_t *src = nl->src, *img = nl->img;
    /* stencil */
    int nst = 0;
    int (*st)[3] = malloc(sizeof(int[3]) * (size_t)(2 * fr->R[0] + 1) * (2 * fr->R[1] + 1) *
                          (2 * fr->R[2] + 1));
    if (!st) return st_fail(ctx, ST_ERR_NOMEM, "md nlist: out of memory (stencil)");
    for (int dz = -fr->R[2]; dz <= fr->R[2]; dz++)
        for (int dy = -fr->R[1]; dy <= fr->R[1]; dy++)
            for (int dx = -fr->R[0]; dx <= fr->R[0]; dx++) {
                if (!full_mode && !lex_positive(dx, dy, dz)) continue; /* half: upper offsets */
                if (full_mode && dx == 0 && dy == 0 && dz == 0) continue; /* same bin: below */
                if (fr->orth) {
                    /* closest approach of two boxes of this offset */
                    int o[3] = {dx, dy, dz};
                    double d2 = 0;
                    for (int a = 0; a < 3; a++) {
                        int g = abs(o[a]) - 1;
                        if (g > 0) {
                            double w = g * fr->bw[a] * fr->plane[a];
                            d2 += w * w;
                        }
                    }
                    if (d2 >= rcs2) continue;
                }
                st[nst][0] = dx; st[nst][1] = dy; st[nst][2] = dz;
                nst++;
            }
    int nth = st_threads();
    if (nth > 64) nth = 64;
    if ((int64_t)nth > n / 4096 + 1) nth = (int)(n / 4096 + 1);   /* threads only pay off for big lists */
    pairbuf pb[64];
    memset(pb, 0, sizeof pb);
    int64_t *cnt = malloc(sizeof(int64_t) * (size_t)(n + 1));
    if (!cnt) { free(st); return st_fail(ctx, ST_ERR_NOMEM, "md nlist: out of memory"); }
    const int64_t G0 = fr->G[0], G1 = fr->G[1], G2 = fr->G[2];
#pragma omp parallel num_threads(nth)
    {
#ifdef _OPENMP
        int t = omp_get_thread_num();
        int T = omp_get_num_threads();
#else
        int t = 0, T = 1;
#endif
        int64_t i0 = n * t / T, i1 = n * (t + 1) / T;
        pairbuf *b = &pb[t];
        for (int64_t i = i0; i < i1; i++) {
            int64_t start = b->len;
            int64_t bi = binof[i];
            int bx = (int)(bi % G0), by = (int)((bi / G0) % G1), bz = (int)(bi / (G0 * G1));
            double xi = x[3 * i], yi = x[3 * i + 1], zi = x[3 * i + 2];
            /* same bin */
            for (int64_t q = bstart[bi]; q < bstart[bi + 1]; q++) {
                int32_t k = order[q];
                if (k == i) continue;
                if (!full_mode) {
                    int32_t s = src[k];
                    if (s < i) continue;
                    if (s == i) {
                        /* image of i itself: keep the lexicographically positive shift */
                        int sx = img[3 * k] - img[3 * i], sy = img[3 * k + 1] - img[3 * i + 1],
                            sz = img[3 * k + 2] - img[3 * i + 2];
                        if (!lex_positive(sx, sy, sz)) continue;
                    }
                }
                double dx = x[3 * k] - xi, dy = x[3 * k + 1] - yi, dz = x[3 * k + 2] - zi;
                if (dx * dx + dy * dy + dz * dz < rcs2) pb_push(b, k);
            }
            for (int s = 0; s < nst; s++) {
                int64_t cx = bx + st[s][0], cy = by + st[s][1], cz = bz + st[s][2];
                if (cx < 0 || cy < 0 || cz < 0 || cx >= G0 || cy >= G1 || cz >= G2) continue;
                int64_t bj = (cz * G1 + cy) * G0 + cx;
                const int64_t q0 = bstart[bj], q1 = bstart[bj + 1];
                if (!pb_reserve(b, q1 - q0)) break;
                /* contiguous coordinates of the bin, branch-free compaction of the hits */
                int32_t *restrict out = b->idx + b->len;
                int64_t m = 0;
                for (int64_t q = q0; q < q1; q++) {
                    double dx = sx[q] - xi, dy = sy[q] - yi, dz = sz[q] - zi;
                    out[m] = order[q];
                    m += dx * dx + dy * dy + dz * dz < rcs2;
                }
                b->len += m;
            }
            cnt[i] = b->len - start;
        }
    }
    int failed = 0;
    for (int t = 0; t < nth; t++) failed |= pb[t].failed;
    free(st);
    if (failed) {
        for (int t = 0; t < nth; t++) free(pb[t].idx);
        free(cnt);
        return st_fail(ctx, ST_ERR_NOMEM, "md nlist: out of memory (pair list)");
    }
    int64_t total = 0;
    for (int t = 0; t < nth; t++) total += pb[t].len;
    int64_t *off = *off_out;
    off = realloc(off, sizeof(int64_t) * (size_t)(n + 1));
    if (off) *off_out = off;
    int32_t *idx = *idx_out;
    if (off && (total > *cap_out || !idx)) {
        free(idx);
        idx = malloc(sizeof(int32_t) * (size_t)(total ? total : 1));
        *idx_out = idx;
        *cap_out = idx ? total : 0;
    }
    if (!off || !idx) {
        for (int t = 0; t < nth; t++) free(pb[t].idx);
        free(cnt);
        return st_fail(ctx, ST_ERR_NOMEM, "md nlist: out of memory (%lld pairs)", (long long)total);
    }
    off[0] = 0;
    for (int64_t i = 0; i < n; i++) off[i + 1] = off[i] + cnt[i];
    int64_t pos = 0;
    for (int t = 0; t < nth; t++) {
        if (pb[t].len) memcpy(idx + pos, pb[t].idx, sizeof(int32_t) * (size_t)pb[t].len);
        pos += pb[t].len;
        free(pb[t].idx);
    }
    free(cnt);
    return ST_OK;
}

int md_nlist_build(st_ctx *ctx, st_md_nlist *nl, int64_t n, const double *x0, const double *cell,
                   const int32_t *pbc)
{
    if (n < 0 || n > INT32_MAX / 2) return st_fail(ctx, ST_ERR_ARG, "md nlist: bad atom count %lld", (long long)n);
    if (n > 0 && !x0) return st_fail(ctx, ST_ERR_ARG, "md nlist: positions are NULL");
    for (int64_t i = 0; i < 3 * n; i++)
        if (!isfinite(x0[i]) || fabs(x0[i]) > 1e12)
            return st_fail(ctx, ST_ERR_NUMERIC, "md nlist: atom %lld has a non-finite or absurd position "
                           "(%g, %g, %g)", (long long)(i / 3), x0[i - i % 3], x0[i - i % 3 + 1], x0[i - i % 3 + 2]);
    const double rcs = nl->cutoff + nl->skin;
    frame fr;
    memset(&fr, 0, sizeof fr);
    for (int a = 0; a < 3; a++) fr.per[a] = pbc ? (pbc[a] != 0) : 0;
    if (any_periodic(pbc)) {
        if (!cell) return st_fail(ctx, ST_ERR_ARG, "md nlist: periodic axes need a cell");
        memcpy(fr.H, cell, sizeof fr.H);
        if (st_cell_inverse(fr.H, fr.Hinv) != ST_OK || !(fabs(st_cell_volume(fr.H)) > 1e-12))
            return st_fail(ctx, ST_ERR_ARG, "md nlist: the cell is singular but periodic boundaries are on");
    } else {
        /* no periodic axis: bin in Cartesian coordinates */
        for (int a = 0; a < 9; a++) fr.H[a] = fr.Hinv[a] = (a % 4 == 0);
    }
    fr.orth = fr.H[1] == 0 && fr.H[2] == 0 && fr.H[3] == 0 && fr.H[5] == 0 && fr.H[6] == 0 && fr.H[7] == 0;
    for (int a = 0; a < 3; a++) {
        /* gradient of s_a is column a of Hinv; plane spacing is its inverse length */
        double g = sqrt(fr.Hinv[a] * fr.Hinv[a] + fr.Hinv[3 + a] * fr.Hinv[3 + a] + fr.Hinv[6 + a] * fr.Hinv[6 + a]);
        fr.plane[a] = 1.0 / g;
    }
    /* fractional coordinates and wrap counts */
    double *s = malloc(sizeof(double) * (size_t)(3 * n + 3));
    int32_t *m = malloc(sizeof(int32_t) * (size_t)(3 * n + 3));
    if (!s || !m) { free(s); free(m); return st_fail(ctx, ST_ERR_NOMEM, "md nlist: out of memory"); }
    double smin[3] = {0, 0, 0}, smax[3] = {0, 0, 0};
    for (int64_t i = 0; i < n; i++) {
        for (int a = 0; a < 3; a++) {
            double v = x0[3 * i] * fr.Hinv[a] + x0[3 * i + 1] * fr.Hinv[3 + a] + x0[3 * i + 2] * fr.Hinv[6 + a];
            int32_t w = 0;
            if (fr.per[a]) {
                double f = floor(v);
                w = (int32_t)f;
                v -= f;
                if (v >= 1.0) { v -= 1.0; w++; }  /* v = -tiny rounds to 1.0 */
                if (v < 0) v = 0;
            }
            s[3 * i + a] = v;
            m[3 * i + a] = w;
            if (i == 0 || v < smin[a]) smin[a] = v;
            if (i == 0 || v > smax[a]) smax[a] = v;
        }
    }
    double nbtot = 1;
    for (int a = 0; a < 3; a++) {
        double len = fr.per[a] ? 1.0 : smax[a] - smin[a];
        fr.lo[a] = fr.per[a] ? 0.0 : smin[a];
        double cells = len * fr.plane[a] / (0.5 * rcs);  /* bins of about half the cutoff */
        fr.nb[a] = cells >= 1 ? (int)fmin(cells, 1e6) : 1;
        nbtot *= fr.nb[a];
    }
    /* sparse non-periodic systems: keep the grid no larger than a few bins per atom */
    double maxbins = 4.0 * (double)n + 64;
    if (nbtot > maxbins) {
        double f = cbrt(maxbins / nbtot);
        for (int a = 0; a < 3; a++) fr.nb[a] = fr.nb[a] * f >= 1 ? (int)(fr.nb[a] * f) : 1;
    }
    for (int a = 0; a < 3; a++) {
        double len = fr.per[a] ? 1.0 : smax[a] - smin[a];
        if (!(len > 0)) len = 1e-300;
        fr.bw[a] = len / fr.nb[a];
        double delta = rcs * (1 + 1e-9) / fr.plane[a];     /* halo in fractional units */
        double r = ceil(delta / fr.bw[a]);
        if (!fr.per[a] && r > fr.nb[a] - 1) r = fr.nb[a] - 1;  /* the grid ends there anyway */
        if (fr.per[a] && r > 1e4) {
            free(s); free(m);
            return st_fail(ctx, ST_ERR_ARG, "md nlist: cutoff %g Å is absurd for this cell (axis %c needs %g bins of images)",
                           rcs, "abc"[a], r);
        }
        fr.R[a] = (int)r;
        if (fr.per[a]) {
            fr.G[a] = fr.nb[a] + 2 * fr.R[a];
            fr.off[a] = fr.R[a];
        } else {
            fr.G[a] = fr.nb[a];
            fr.off[a] = 0;
        }
    }
    /* bins of real atoms */
    int32_t *bin3 = malloc(sizeof(int32_t) * (size_t)(3 * n + 3));
    if (!bin3) { free(s); free(m); return st_fail(ctx, ST_ERR_NOMEM, "md nlist: out of memory"); }
    for (int64_t i = 0; i < n; i++)
        for (int a = 0; a < 3; a++) {
            int b = (int)floor((s[3 * i + a] - fr.lo[a]) / fr.bw[a]);
            if (b < 0) b = 0;
            if (b >= fr.nb[a]) b = fr.nb[a] - 1;
            bin3[3 * i + a] = b;
        }
    /* count ghosts: images whose bin lies in [-R, nb - 1 + R] on periodic axes */
    int lo_img[3], hi_img[3];
    for (int a = 0; a < 3; a++) {
        int k = fr.per[a] ? (fr.R[a] + fr.nb[a] - 1) / fr.nb[a] + 1 : 0;
        lo_img[a] = -k;
        hi_img[a] = k;
    }
    int64_t nghost = 0;
    for (int64_t i = 0; i < n; i++)
        for (int iz = lo_img[2]; iz <= hi_img[2]; iz++) {
            int bz = bin3[3 * i + 2] + iz * fr.nb[2];
            if (fr.per[2] && (bz < -fr.R[2] || bz > fr.nb[2] - 1 + fr.R[2])) continue;
            for (int iy = lo_img[1]; iy <= hi_img[1]; iy++) {
                int by = bin3[3 * i + 1] + iy * fr.nb[1];
                if (fr.per[1] && (by < -fr.R[1] || by > fr.nb[1] - 1 + fr.R[1])) continue;
                for (int ix = lo_img[0]; ix <= hi_img[0]; ix++) {
                    int bx = bin3[3 * i] + ix * fr.nb[0];
                    if (fr.per[0] && (bx < -fr.R[0] || bx > fr.nb[0] - 1 + fr.R[0])) continue;
                    if (ix || iy || iz) nghost++;
                }
            }
        }
    int64_t next = n + nghost;
    if (next > INT32_MAX) {
        free(s); free(m); free(bin3);
        return st_fail(ctx, ST_ERR_ARG, "md nlist: %lld periodic images needed; the cell is too small for cutoff %g Å",
                       (long long)nghost, rcs);
    }
    if (next > nl->cap_ext) {
        int32_t *src = realloc(nl->src, sizeof(int32_t) * (size_t)next);
        if (src) nl->src = src;
        int32_t *img = realloc(nl->img, sizeof(int32_t) * 3 * (size_t)next);
        if (img) nl->img = img;
        double *xe = realloc(nl->x, sizeof(double) * 3 * (size_t)next);
        if (xe) nl->x = xe;
        if (!src || !img || !xe) {
            free(s); free(m); free(bin3);
            nl->valid = 0;
            return st_fail(ctx, ST_ERR_NOMEM, "md nlist: out of memory (%lld entries)", (long long)next);
        }
        nl->cap_ext = next;
    }
    double *x0c = realloc(nl->x0, sizeof(double) * (size_t)(3 * n + 3));
    int64_t *binof = malloc(sizeof(int64_t) * (size_t)(next + 1));
    int64_t nbins = (int64_t)fr.G[0] * fr.G[1] * fr.G[2];
    int64_t *bstart = calloc((size_t)nbins + 2, sizeof(int64_t));
    int32_t *order = malloc(sizeof(int32_t) * (size_t)(next + 1));
    if (x0c) nl->x0 = x0c;
    if (!x0c || !binof || !bstart || !order) {
        free(s); free(m); free(bin3); free(binof); free(bstart); free(order);
        nl->valid = 0;
        return st_fail(ctx, ST_ERR_NOMEM, "md nlist: out of memory (%lld bins)", (long long)nbins);
    }
    memcpy(nl->x0, x0, sizeof(double) * (size_t)(3 * n));
    nl->n = n;
    nl->next = next;
    int64_t g = n;
    for (int64_t i = 0; i < n; i++) {
        nl->src[i] = (int32_t)i;
        for (int a = 0; a < 3; a++) nl->img[3 * i + a] = -m[3 * i + a];
        binof[i] = bin_linear(&fr, bin3[3 * i], bin3[3 * i + 1], bin3[3 * i + 2]);
    }
    for (int64_t i = 0; i < n; i++)
        for (int iz = lo_img[2]; iz <= hi_img[2]; iz++) {
            int bz = bin3[3 * i + 2] + iz * fr.nb[2];
            if (fr.per[2] && (bz < -fr.R[2] || bz > fr.nb[2] - 1 + fr.R[2])) continue;
            for (int iy = lo_img[1]; iy <= hi_img[1]; iy++) {
                int by = bin3[3 * i + 1] + iy * fr.nb[1];
                if (fr.per[1] && (by < -fr.R[1] || by > fr.nb[1] - 1 + fr.R[1])) continue;
                for (int ix = lo_img[0]; ix <= hi_img[0]; ix++) {
                    int bx = bin3[3 * i] + ix * fr.nb[0];
                    if (fr.per[0] && (bx < -fr.R[0] || bx > fr.nb[0] - 1 + fr.R[0])) continue;
                    if (!(ix || iy || iz)) continue;
                    nl->src[g] = (int32_t)i;
                    nl->img[3 * g] = ix - m[3 * i];
                    nl->img[3 * g + 1] = iy - m[3 * i + 1];
                    nl->img[3 * g + 2] = iz - m[3 * i + 2];
                    binof[g] = bin_linear(&fr, bx, by, bz);
                    g++;
                }
            }
        }
    free(s);
    free(m);
    free(bin3);
    memcpy(nl->cell0, fr.H, sizeof fr.H);
    memcpy(nl->hinv0, fr.Hinv, sizeof fr.Hinv);
    nl->has_frame = any_periodic(pbc);
    for (int a = 0; a < 3; a++) nl->pbc0[a] = fr.per[a];
    md_nlist_refresh(nl, x0, fr.H);
    /* counting sort of entries by bin */
    for (int64_t k = 0; k < next; k++) bstart[binof[k] + 1]++;
    for (int64_t b = 0; b < nbins; b++) bstart[b + 1] += bstart[b];
    {
        int64_t *fill = malloc(sizeof(int64_t) * (size_t)(nbins + 1));
        if (!fill) {
            free(binof); free(bstart); free(order);
            nl->valid = 0;
            return st_fail(ctx, ST_ERR_NOMEM, "md nlist: out of memory");
        }
        memcpy(fill, bstart, sizeof(int64_t) * (size_t)(nbins + 1));
        for (int64_t k = 0; k < next; k++) order[fill[binof[k]]++] = (int32_t)k;
        free(fill);
    }
    /* coordinates in bin order, so the candidate loops read contiguous memory */
    double *sorted = malloc(sizeof(double) * 3 * (size_t)(next + 1));
    if (!sorted) {
        free(binof); free(bstart); free(order);
        nl->valid = 0;
        return st_fail(ctx, ST_ERR_NOMEM, "md nlist: out of memory");
    }
    for (int64_t q = 0; q < next; q++) {
        const double *p = nl->x + 3 * (int64_t)order[q];
        sorted[q] = p[0];
        sorted[next + q] = p[1];
        sorted[2 * next + q] = p[2];
    }
    int rc = build_lists(ctx, nl, &fr, binof, bstart, order, sorted, sorted + next, sorted + 2 * next, 0,
                         &nl->half_off, &nl->half_idx, &nl->half_cap);
    if (rc == ST_OK && nl->full)
        rc = build_lists(ctx, nl, &fr, binof, bstart, order, sorted, sorted + next, sorted + 2 * next, 1,
                         &nl->full_off, &nl->full_idx, &nl->full_cap);
    free(sorted);
    free(binof);
    free(bstart);
    free(order);
    if (rc != ST_OK) {
        nl->valid = 0;
        return rc;
    }
    nl->valid = 1;
    nl->builds++;
    return ST_OK;
}

void md_nlist_refresh(st_md_nlist *nl, const double *x, const double *cell)
{
    const int64_t next = nl->next;
    double H[9];
    if (nl->has_frame && cell) memcpy(H, cell, sizeof H);
    else memcpy(H, nl->cell0, sizeof H);
    memcpy(nl->cur_cell, H, sizeof H);
    double *xe = nl->x;
    const int32_t *src = nl->src, *img = nl->img;
#pragma omp parallel for num_threads(st_threads()) schedule(static) if (next > 20000)
    for (int64_t k = 0; k < next; k++) {
        const double *xs = x + 3 * (int64_t)src[k];
        int a = img[3 * k], b = img[3 * k + 1], c = img[3 * k + 2];
        if ((a | b | c) == 0) {
            xe[3 * k] = xs[0];
            xe[3 * k + 1] = xs[1];
            xe[3 * k + 2] = xs[2];
        } else {
            xe[3 * k] = xs[0] + a * H[0] + b * H[3] + c * H[6];
            xe[3 * k + 1] = xs[1] + a * H[1] + b * H[4] + c * H[7];
            xe[3 * k + 2] = xs[2] + a * H[2] + b * H[5] + c * H[8];
        }
    }
}

int md_nlist_needs_rebuild(const st_md_nlist *nl, int64_t n, const double *x, const double *cell,
                           const int32_t *pbc, int *dangerous)
{
    if (dangerous) *dangerous = 0;
    if (!nl->valid || n != nl->n) return 1;
    for (int a = 0; a < 3; a++)
        if ((pbc ? (pbc[a] != 0) : 0) != nl->pbc0[a]) return 1;
    double M[9];
    int affine = 0;
    double sigma = 1.0;
    if (nl->has_frame) {
        if (!cell) return 1;
        if (memcmp(cell, nl->cell0, sizeof(double) * 9) != 0) {
            /* M = H0^-1 H (row-vector convention: x_affine = x0 M) */
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) {
                    double v = 0;
                    for (int k = 0; k < 3; k++) v += nl->hinv0[3 * i + k] * cell[3 * k + j];
                    M[3 * i + j] = v;
                }
            double fro = 0;
            for (int i = 0; i < 9; i++) {
                double d = M[i] - (i % 4 == 0);
                fro += d * d;
            }
            sigma = 1.0 - sqrt(fro);
            affine = 1;
        }
    }
    const double rc = nl->cutoff, rcs = nl->cutoff + nl->skin;
    double bound = 0.5 * (sigma * rcs - rc);   /* max allowed |u| */
    if (!(bound > 0)) return 1;
    const double b2 = bound * bound;
    const double *x0 = nl->x0;
    double worst = 0;
    int64_t i;
    if (!affine) {
#pragma omp parallel for num_threads(st_threads()) reduction(max : worst) if (n > 50000)
        for (i = 0; i < n; i++) {
            double dx = x[3 * i] - x0[3 * i], dy = x[3 * i + 1] - x0[3 * i + 1], dz = x[3 * i + 2] - x0[3 * i + 2];
            double d2 = dx * dx + dy * dy + dz * dz;
            if (!(d2 <= worst)) worst = d2 == d2 ? d2 : INFINITY;
        }
    } else {
#pragma omp parallel for num_threads(st_threads()) reduction(max : worst) if (n > 50000)
        for (i = 0; i < n; i++) {
            const double *p = x0 + 3 * i;
            double ax = p[0] * M[0] + p[1] * M[3] + p[2] * M[6];
            double ay = p[0] * M[1] + p[1] * M[4] + p[2] * M[7];
            double az = p[0] * M[2] + p[1] * M[5] + p[2] * M[8];
            double dx = x[3 * i] - ax, dy = x[3 * i + 1] - ay, dz = x[3 * i + 2] - az;
            double d2 = dx * dx + dy * dy + dz * dz;
            if (!(d2 <= worst)) worst = d2 == d2 ? d2 : INFINITY;
        }
    }
    if (worst >= b2) {
        if (dangerous) *dangerous = 1;
        return 1;
    }
    return 0;
}

int md_nlist_ensure_full(st_ctx *ctx, st_md_nlist *nl, int full)
{
    if (!full || nl->full) return ST_OK;
    nl->full = 1;
    nl->valid = 0;   /* the next update rebuilds with both lists */
    (void)ctx;
    return ST_OK;
}

int st_md_nlist_update(st_ctx *ctx, st_md_nlist *nl, int64_t n, const double *positions,
                       const double *cell, const int32_t *pbc, int32_t *rebuilt)
{
    if (rebuilt) *rebuilt = 0;
    if (!nl) return st_fail(ctx, ST_ERR_ARG, "md nlist: list is NULL");
    if (n < 0 || (n > 0 && !positions)) return st_fail(ctx, ST_ERR_ARG, "md nlist: bad positions");
    if (md_nlist_needs_rebuild(nl, n, positions, cell, pbc, NULL)) {
        int rc = md_nlist_build(ctx, nl, n, positions, cell, pbc);
        if (rc) return rc;
        if (rebuilt) *rebuilt = 1;
        return ST_OK;
    }
    md_nlist_refresh(nl, positions, cell);
    return ST_OK;
}

int st_md_nlist_pairs(st_ctx *ctx, st_md_nlist *nl, double rmax, int32_t *pi, int32_t *pj, double *d,
                      int64_t cap, int64_t *count)
{
    if (!nl || !count) return st_fail(ctx, ST_ERR_ARG, "md nlist pairs: NULL argument");
    *count = 0;
    if (!nl->valid) return st_fail(ctx, ST_ERR_ARG, "md nlist pairs: the list was never built (call st_md_nlist_update)");
    const double r2 = rmax * rmax;
    int64_t c = 0;
    for (int64_t i = 0; i < nl->n; i++)
        for (int64_t q = nl->half_off[i]; q < nl->half_off[i + 1]; q++) {
            int32_t k = nl->half_idx[q];
            double dx = nl->x[3 * k] - nl->x[3 * i], dy = nl->x[3 * k + 1] - nl->x[3 * i + 1],
                   dz = nl->x[3 * k + 2] - nl->x[3 * i + 2];
            if (dx * dx + dy * dy + dz * dz >= r2) continue;
            if (pi || pj || d) {
                if (c >= cap) return st_fail(ctx, ST_ERR_ARG, "md nlist pairs: capacity %lld too small", (long long)cap);
                if (pi) pi[c] = (int32_t)i;
                if (pj) pj[c] = nl->src[k];
                if (d) { d[3 * c] = dx; d[3 * c + 1] = dy; d[3 * c + 2] = dz; }
            }
            c++;
        }
    *count = c;
    return ST_OK;
}
