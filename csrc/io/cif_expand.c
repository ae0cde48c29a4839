/* cif_expand.c -- symmetry operations of a CIF and the expansion of its asymmetric unit to the
 * full (P1) unit cell.
 *
 * Operations are the Jones-faithful strings of International Tables Vol. A (sec. 1.2.2.1):
 * each of the three comma-separated parts is a sum of +-x, +-y, +-z and constants (integers,
 * decimals or fractions), giving x' = R x + t.  A part must be linear: "2x" or "x*y" are refused.
 * R must have determinant +-1 (anything else is not an isometry of the lattice).
 *
 * Expansion (the rule of the zeolite study, docs/zeolite-maps.md, and of the
 * average-minimum-distance package it used): every op is applied to every asymmetric site and
 * wrapped to [0,1); an image is dropped when it matches ANY earlier image of the same site
 * (kept or not) with every fractional coordinate differing by <= 1e-3 or by 1 within 1e-3.
 * The identity is applied first, so the first atom of each site is the site as listed.
 * Candidates are found through a hash of 256^3 periodic bins (bin width 1/256 > the tolerance, so
 * a match lies in the same or an adjacent bin); the match itself uses the exact rule above.
 *
 * Two different sites landing on one position (within the same tolerance) are kept when their
 * occupancies sum to at most 1 (+1e-3 for rounded values such as 0.333 + 0.667): that is a
 * substitutionally disordered site.  Otherwise it is an error naming both sites.
 *
 * Not done here: checking that the ops form a group, reducing to a primitive cell, or choosing
 * one species of a disordered site (that is the caller's business; occupancies are reported).
 */
#include "cif_expand.h"
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { GRID = 256 };
/* Hard limits that keep garbage input from asking for gigabytes: more than a real crystal ever
 * needs (the largest space groups have 192 ops in a conventional setting). */
#define CIF_MAX_WORK ((int64_t)1 << 27)   /* sites x operations */

/* ---------------------------------------------------------------- symmetry operation strings */
static const char *skip_sp(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t')) p++;
    return p;
}

/* One part of an op, s..e: fills row (coefficients of x, y, z) and *t (constant). */
static int parse_part(const char *s, const char *e, int part, int row[3], double *t, char *err,
                      size_t nerr)
{
    row[0] = row[1] = row[2] = 0;
    *t = 0;
    const char *p = skip_sp(s, e);
    if (p == e) {
        snprintf(err, nerr, "part %d is empty", part);
        return -1;
    }
    int nterms = 0;
    while (p < e) {
        int sign = 1;
        if (*p == '+' || *p == '-') {
            sign = *p == '-' ? -1 : 1;
            p = skip_sp(p + 1, e);
        } else if (nterms > 0) {
            snprintf(err, nerr, "part %d: expected '+' or '-' before '%c'", part, *p);
            return -1;
        }
        if (p == e) {
            snprintf(err, nerr, "part %d ends with a sign", part);
            return -1;
        }
        int c = tolower((unsigned char)*p);
        if (c == 'x' || c == 'y' || c == 'z') {
            row[c - 'x'] += sign;
            p++;
        } else if (isdigit((unsigned char)*p) || *p == '.') {
            char num[40];
            size_t k = 0;
            int dots = 0, digits = 0;
            while (p < e && (isdigit((unsigned char)*p) || *p == '.')) {
                if (*p == '.') dots++;
                else digits++;
                if (k + 1 >= sizeof num) {
                    snprintf(err, nerr, "part %d: number too long", part);
                    return -1;
                }
                num[k++] = *p++;
            }
            num[k] = 0;
            if (dots > 1 || !digits) {
                snprintf(err, nerr, "part %d: '%s' is not a number", part, num);
                return -1;
            }
            double v = strtod(num, NULL);
            p = skip_sp(p, e);
            if (p < e && *p == '/') {           /* a fraction such as 1/2 or 2/3 */
                p = skip_sp(p + 1, e);
                double den = 0;
                int nd = 0;
                while (p < e && isdigit((unsigned char)*p) && nd < 9) den = den * 10 + (*p++ - '0'), nd++;
                if (!nd || den == 0 || (p < e && isdigit((unsigned char)*p))) {
                    snprintf(err, nerr, "part %d: bad fraction denominator", part);
                    return -1;
                }
                v /= den;
            }
            p = skip_sp(p, e);
            if (p < e && (*p == '*' || isalpha((unsigned char)*p))) {
                snprintf(err, nerr, "part %d: coefficients other than +-1 on x, y, z are not "
                         "supported", part);
                return -1;
            }
            *t += sign * v;
        } else {
            snprintf(err, nerr, "part %d: unexpected character '%c'", part, *p);
            return -1;
        }
        nterms++;
        p = skip_sp(p, e);
    }
    return 0;
}

int cif_symop_parse(const char *s, cif_symop *op, char *err, size_t nerr)
{
    const char *p = s;
    int part = 0;
    for (;;) {
        const char *e = p;
        while (*e && *e != ',') e++;
        if (part == 3) {
            snprintf(err, nerr, "more than 3 comma-separated parts");
            return -1;
        }
        if (parse_part(p, e, part + 1, op->r[part], &op->t[part], err, nerr)) return -1;
        part++;
        if (!*e) break;
        p = e + 1;
    }
    if (part != 3) {
        snprintf(err, nerr, "expected 3 comma-separated parts, got %d", part);
        return -1;
    }
    const int (*r)[3] = (const int (*)[3])op->r;
    long det = (long)r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) -
               (long)r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0]) +
               (long)r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
    if (det != 1 && det != -1) {
        snprintf(err, nerr, "not a symmetry operation (determinant %ld, must be +1 or -1)", det);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- expansion */
static int same_pos(const double *a, const double *b)
{
    for (int i = 0; i < 3; i++) {
        double d = fabs(a[i] - b[i]);
        if (d > CIF_SAME_TOL && fabs(d - 1.0) > CIF_SAME_TOL) return 0;
    }
    return 1;
}

static int bin_of(double f)
{
    int b = (int)(f * GRID);
    return b < 0 ? 0 : b >= GRID ? GRID - 1 : b;
}

/* Bins along one axis that may hold a point within the tolerance of f (periodic). */
static int near_bins(double f, int out[3])
{
    int b = bin_of(f), m = 0;
    out[m++] = b;
    if (f - (double)b / GRID <= CIF_SAME_TOL + 1e-12) out[m++] = (b + GRID - 1) % GRID;
    if ((double)(b + 1) / GRID - f <= CIF_SAME_TOL + 1e-12) out[m++] = (b + 1) % GRID;
    return m;
}

static size_t bin_hash(int bx, int by, int bz, size_t mask)
{
    uint64_t h = (uint64_t)bx * 73856093u ^ (uint64_t)by * 19349663u ^ (uint64_t)bz * 83492791u;
    h ^= h >> 17;
    return (size_t)(h * 0x9E3779B97F4A7C15ull >> 20) & mask;
}

/* Chained hash of points by bin: head[bucket] -> first index, next[index] -> following. */
typedef struct phash {
    int64_t *head, *next;
    size_t mask;
} phash;

static int phash_init(phash *h, size_t nbuckets, size_t cap)
{
    size_t n = 16;
    while (n < nbuckets) n <<= 1;
    h->head = st_malloc_array(n, sizeof *h->head);
    h->next = st_malloc_array(cap ? cap : 1, sizeof *h->next);
    h->mask = n - 1;
    if (!h->head || !h->next) return -1;
    memset(h->head, 0xff, n * sizeof *h->head);
    return 0;
}

static void phash_free(phash *h)
{
    free(h->head);
    free(h->next);
}

static void phash_insert(phash *h, const double *pts, int64_t i)
{
    const double *f = pts + 3 * i;
    size_t k = bin_hash(bin_of(f[0]), bin_of(f[1]), bin_of(f[2]), h->mask);
    h->next[i] = h->head[k];
    h->head[k] = i;
}

/* Runs BODY with i set to every point in the buckets that may hold a match of f: the bins within
 * the tolerance of f on each axis (points may repeat when two bins share a bucket).  `break` in
 * BODY only leaves the current bucket. */
#define PHASH_FOREACH(h, f, i, BODY)                                                         \
    do {                                                                                     \
        int nb_[3][3], nn_[3];                                                               \
        for (int a_ = 0; a_ < 3; a_++) nn_[a_] = near_bins((f)[a_], nb_[a_]);                \
        for (int ix_ = 0; ix_ < nn_[0]; ix_++)                                               \
            for (int iy_ = 0; iy_ < nn_[1]; iy_++)                                           \
                for (int iz_ = 0; iz_ < nn_[2]; iz_++) {                                     \
                    size_t k_ = bin_hash(nb_[0][ix_], nb_[1][iy_], nb_[2][iz_], (h)->mask);  \
                    for (int64_t i = (h)->head[k_]; i >= 0; i = (h)->next[i]) { BODY }       \
                }                                                                            \
    } while (0)

static void wrap01(double *f)
{
    for (int i = 0; i < 3; i++) {
        double w = f[i] - floor(f[i]);
        f[i] = w >= 1.0 ? 0.0 : w;   /* -1e-17 - floor(-1e-17) rounds to 1.0 */
    }
}

void cif_p1_free(cif_p1 *p)
{
    if (!p) return;
    free(p->frac);
    free(p->site);
    free(p->mult);
    memset(p, 0, sizeof *p);
}

static int grow_out(cif_p1 *o, int64_t *cap, phash *g)
{
    int64_t nc = *cap * 2;
    double *f = realloc(o->frac, (size_t)nc * 3 * sizeof *f);
    if (f) o->frac = f;
    int64_t *s = realloc(o->site, (size_t)nc * sizeof *s);
    if (s) o->site = s;
    if (!f || !s) return -1;
    /* Rehash the global table at the larger size (load stays <= 1/2). */
    phash ng;
    if (phash_init(&ng, (size_t)nc * 2, (size_t)nc)) {
        phash_free(&ng);
        return -1;
    }
    for (int64_t i = 0; i < o->n; i++) phash_insert(&ng, o->frac, i);
    phash_free(g);
    *g = ng;
    *cap = nc;
    return 0;
}

int cif_expand(st_ctx *ctx, const char *file, const char *block, const cif_site *sites,
               int64_t nsites, const cif_symop *ops, int64_t nops, cif_p1 *out)
{
    memset(out, 0, sizeof *out);
    /* The identity goes first; listed identities would only produce dropped duplicates. */
    int64_t nall = nops + 1;
    if (nsites <= 0) return st_fail(ctx, ST_ERR_PARSE, "%s: data_%s: no atom sites", file, block);
    if (nall > CIF_MAX_WORK / nsites)
        return st_fail(ctx, ST_ERR_PARSE,
                       "%s: data_%s: symmetry expansion too large (%lld sites x %lld operations)",
                       file, block,
                       (long long)nsites, (long long)nall);
    int64_t cap = nsites * nall < 4096 ? nsites * nall : 4096;
    if (cap < nsites) cap = nsites;
    out->frac = st_malloc_array((size_t)cap * 3, sizeof(double));
    out->site = st_malloc_array((size_t)cap, sizeof(int64_t));
    out->mult = st_calloc_array((size_t)nsites, sizeof(int32_t));
    double *img = st_malloc_array((size_t)nall * 3, sizeof(double));
    phash g = {0}, h = {0};
    int rc = ST_OK;
    if (!out->frac || !out->site || !out->mult || !img || phash_init(&g, (size_t)cap * 2, (size_t)cap) ||
        phash_init(&h, (size_t)nall * 2, (size_t)nall)) {
        rc = st_fail(ctx, ST_ERR_NOMEM, "%s: data_%s: out of memory expanding the asymmetric unit",
                     file, block);
        goto done;
    }
    for (int64_t s = 0; s < nsites; s++) {
        if ((rc = st_check_interrupt(ctx, file))) goto done;
        const cif_site *st = &sites[s];
        memset(h.head, 0xff, (h.mask + 1) * sizeof *h.head);
        for (int64_t k = 0; k < nall; k++) {
            double *f = img + 3 * k;
            if (k == 0) {
                memcpy(f, st->frac, sizeof st->frac);
            } else {
                const cif_symop *op = &ops[k - 1];
                for (int i = 0; i < 3; i++)   /* x' = R x + t (ITA Vol. A, eq. 1.2.2.4) */
                    f[i] = op->r[i][0] * st->frac[0] + op->r[i][1] * st->frac[1] +
                           op->r[i][2] * st->frac[2] + op->t[i];
            }
            wrap01(f);
            int dup = 0;
            PHASH_FOREACH(&h, f, j, { if (same_pos(f, img + 3 * j)) { dup = 1; break; } });
            phash_insert(&h, img, k);
            if (dup) continue;
            /* Another site already at this position? Sum the occupancies there. */
            double occ = st->occ;
            int64_t seen[8], nseen = 0, other = -1;
            PHASH_FOREACH(&g, f, j, {
                int64_t sj = out->site[j];
                if (sj != s && same_pos(f, out->frac + 3 * j)) {
                    int known = 0;
                    for (int64_t q = 0; q < nseen; q++) known |= seen[q] == sj;
                    if (!known) {
                        if (nseen < 8) seen[nseen++] = sj;
                        occ += sites[sj].occ;
                        other = sj;
                    }
                }
            });
            if (other >= 0 && occ > 1.0 + 1e-3) {
                rc = st_fail(ctx, ST_ERR_PARSE,
                             "%s: line %lld: data_%s: site '%s' lands on site '%s' (line %lld) at "
                             "fractional (%.4f, %.4f, %.4f): two atoms at one position, total "
                             "occupancy %.4g > 1", file, (long long)st->line, block, st->label ? st->label : "?",
                             sites[other].label ? sites[other].label : "?",
                             (long long)sites[other].line, f[0], f[1], f[2], occ);
                goto done;
            }
            if (out->n == cap && grow_out(out, &cap, &g)) {
                rc = st_fail(ctx, ST_ERR_NOMEM, "%s: data_%s: out of memory expanding the asymmetric unit",
                     file, block);
                goto done;
            }
            memcpy(out->frac + 3 * out->n, f, 3 * sizeof *f);
            out->site[out->n] = s;
            phash_insert(&g, out->frac, out->n);
            out->n++;
            out->mult[s]++;
        }
    }
done:
    free(img);
    phash_free(&g);
    phash_free(&h);
    if (rc) cif_p1_free(out);
    return rc;
}
