/* Tests for the QUESTS descriptor (csrc/desc/quests.c): the reference descriptor matrices and
 * summaries produced by QUESTS itself (../shared/data/quests_ref), entropy/diversity recomputed
 * from our rows against QUESTS's values, closed shells of perfect FCC (k = 18, 42), an
 * independent brute-force descriptor (all images, explicit sort of every row) on random
 * triclinic / slab / cluster systems and odd k, invariances, the species-aware variant, threads,
 * and error paths. */
#include "strata.h"
#include "check.h"
#include <stdint.h>

/* ---------------------------------------------------------------- helpers: files */

/* Minimal .npy reader: "\x93NUMPY", version, header length, a dict with '<f8', C order and the
 * shape, then little-endian float64 row-major.  Returns NULL on anything else. */
static double *read_npy(const char *path, int64_t *rows, int64_t *cols)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    unsigned char pre[10];
    double *data = NULL;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) goto fail;
    size_t hlen;
    if (pre[6] == 1) {
        hlen = pre[8] | (pre[9] << 8);
    } else {
        unsigned char b[2];
        if (fread(b, 1, 2, f) != 2) goto fail;
        hlen = pre[8] | (pre[9] << 8) | ((size_t)b[0] << 16) | ((size_t)b[1] << 24);
    }
    char *h = calloc(1, hlen + 1);
    if (!h || fread(h, 1, hlen, f) != hlen) { free(h); goto fail; }
    int ok = strstr(h, "'<f8'") && strstr(h, "'fortran_order': False");
    char *sh = strstr(h, "'shape': (");
    if (ok && sh && sscanf(sh, "'shape': (%lld, %lld)", (long long *)rows, (long long *)cols) == 2) {
        size_t cnt = (size_t)(*rows * *cols);
        data = malloc(cnt * sizeof *data);
        if (data && fread(data, sizeof *data, cnt, f) != cnt) { free(data); data = NULL; }
        /* little-endian assumed by the format string '<f8'; this machine is little-endian */
    }
    free(h);
fail:
    fclose(f);
    return data;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc(n + 1);
    if (s && fread(s, 1, n, f) != (size_t)n) { free(s); s = NULL; }
    if (s) s[n] = 0;
    fclose(f);
    return s;
}

/* In reference.json: the value of "key" inside the object of file `file`. */
static const char *json_field(const char *json, const char *file, const char *key)
{
    char pat[256];
    snprintf(pat, sizeof pat, "\"%s\": {", file);
    const char *p = strstr(json, pat);
    if (!p) return NULL;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *q = strstr(p, pat);
    return q ? q + strlen(pat) : NULL;
}

/* All frames of an extxyz file concatenated: positions, and per-frame cell/pbc/sizes. */
typedef struct frames {
    int nf;
    int64_t n[8];
    double *pos[8], cell[8][9];
    int32_t pbc[8][3], *Z[8];
    int64_t total;
} frames;

static int read_frames(const char *path, frames *F)
{
    memset(F, 0, sizeof *F);
    st_ctx *ctx = st_ctx_create();
    st_reader *r = NULL;
    int rc = st_reader_open(ctx, path, "extxyz", &r);
    st_atoms *a;
    while (!rc && !(rc = st_reader_next(ctx, r, &a)) && a && F->nf < 8) {
        int f = F->nf++;
        F->n[f] = st_atoms_count(a);
        F->pos[f] = malloc(3 * F->n[f] * sizeof(double));
        F->Z[f] = malloc(F->n[f] * sizeof(int32_t));
        memcpy(F->pos[f], st_atoms_positions(a), 3 * F->n[f] * sizeof(double));
        memcpy(F->Z[f], st_atoms_numbers(a), F->n[f] * sizeof(int32_t));
        memcpy(F->cell[f], st_atoms_cell(a), sizeof F->cell[f]);
        memcpy(F->pbc[f], st_atoms_pbc(a), sizeof F->pbc[f]);
        F->total += F->n[f];
        st_atoms_destroy(a);
    }
    if (rc) printf("#   %s: %s\n", path, st_ctx_message(ctx));
    st_reader_close(r);
    st_ctx_destroy(ctx);
    return rc;
}

static void free_frames(frames *F)
{
    for (int f = 0; f < F->nf; f++) { free(F->pos[f]); free(F->Z[f]); }
}

/* Descriptor of every frame, rows concatenated. */
static double *describe(const frames *F, const st_quests_opts *o, int64_t dim)
{
    st_ctx *ctx = st_ctx_create();
    double *X = malloc(F->total * dim * sizeof *X), *p = X;
    for (int f = 0; f < F->nf; f++) {
        int rc = st_quests_compute(ctx, F->n[f], F->pos[f], F->cell[f], F->pbc[f], F->Z[f], o, p);
        if (rc) { printf("#   st_quests_compute: %s\n", st_ctx_message(ctx)); free(X); X = NULL; break; }
        p += F->n[f] * dim;
    }
    st_ctx_destroy(ctx);
    return X;
}

/* QUESTS entropy and diversity with a Gaussian kernel, natural logs (quests-reference.md). */
static void entropy(const double *X, int64_t n, int64_t d, double h, double *H, double *D)
{
    double sl = 0, si = 0;
    for (int64_t i = 0; i < n; i++) {
        double p = 0;
        for (int64_t j = 0; j < n; j++) {
            double r2 = 0;
            for (int64_t c = 0; c < d; c++) { double t = X[i * d + c] - X[j * d + c]; r2 += t * t; }
            p += exp(-r2 / (2 * h * h));
        }
        sl += log(p);
        si += 1 / p;
    }
    *H = log((double)n) - sl / n;
    *D = log(si);
}

static const char *tie_free[5] = {"cu_fcc_4x4x4_s005_seed0", "cu_fcc_4x4x4_s010_seed1",
                                  "cu_cluster_r8_s005_seed2", "cu_fcc_3x3x3_s008_seed3_2frames",
                                  "cu_1k"};

TEST(reference_matrices)
{
    char rel[256];
    snprintf(rel, sizeof rel, "quests_ref/%s.xyz", tie_free[0]);
    if (!SHARED(rel)) SKIP("../shared/data/quests_ref not found");
    for (int t = 0; t < 5; t++) {
        frames F;
        snprintf(rel, sizeof rel, "quests_ref/%s.xyz", tie_free[t]);
        CHECK(read_frames(SHARED(rel), &F) == 0);
        snprintf(rel, sizeof rel, "quests_ref/%s.quests_x.npy", tie_free[t]);
        int64_t rows = 0, cols = 0;
        double *ref = SHARED(rel) ? read_npy(SHARED(rel), &rows, &cols) : NULL;
        CHECK_MSG(ref && rows == F.total && cols == 63, "%s: npy %lld x %lld, frames %lld atoms", rel,
                  (long long)rows, (long long)cols, (long long)F.total);
        double *X = describe(&F, NULL, 63);
        if (ref && X && rows == F.total) {
            double maxd = 0;
            for (int64_t e = 0; e < rows * 63; e++) maxd = fmax(maxd, fabs(X[e] - ref[e]));
            CHECK_MSG(maxd <= 1e-10, "%s: max |x - x_ref| = %.3g", tie_free[t], maxd);
            printf("#   %-36s max |x - x_QUESTS| = %.2e\n", tie_free[t], maxd);
        }
        free(ref); free(X);
        free_frames(&F);
    }
}

TEST(reference_json_sums_rows_entropy)
{
    const char *jp = SHARED("quests_ref/reference.json");
    if (!jp) SKIP("../shared/data/quests_ref/reference.json not found");
    char *json = slurp(jp);
    CHECK(json != NULL);
    if (!json) return;
    const char *files[6] = {"cu_fcc_4x4x4_s005_seed0", "cu_fcc_4x4x4_s010_seed1",
                            "cu_cluster_r8_s005_seed2", "cu_fcc_3x3x3_s008_seed3_2frames",
                            "cu_1k", "cu_fcc_4x4x4"};
    for (int t = 0; t < 6; t++) {
        char rel[256], key[128];
        snprintf(rel, sizeof rel, "quests_ref/%s.xyz", files[t]);
        snprintf(key, sizeof key, "%s.xyz", files[t]);
        frames F;
        CHECK(read_frames(SHARED(rel), &F) == 0);
        double *X = describe(&F, NULL, 63);
        if (!X) { free_frames(&F); continue; }
        int perfect = t == 5;   /* k = 32 cuts a shell: x2 depends on the tie rule */
        const char *v = json_field(json, key, "x_sum");
        CHECK(v != NULL);
        double sum = 0;
        for (int64_t e = 0; e < F.total * 63; e++) sum += X[e];
        if (v && !perfect) CHECK_NEAR(sum, strtod(v, NULL), 1e-9 * fabs(strtod(v, NULL)));
        const char *r0 = json_field(json, key, "x_row0");
        CHECK(r0 != NULL);
        if (r0) {
            const char *p = strchr(r0, '[') + 1;
            double maxd = 0;
            for (int c = 0; c < 63; c++) {
                char *end;
                double x = strtod(p, &end);
                p = end + 1;
                if (!perfect || c < 32) maxd = fmax(maxd, fabs(x - X[c]));
            }
            CHECK_MSG(maxd <= 1e-10, "%s: row 0 differs by %.3g", files[t], maxd);
        }
        /* entropy and diversity at h = 0.015 from our rows vs QUESTS's */
        if (!perfect) {
            double H, D;
            entropy(X, F.total, 63, 0.015, &H, &D);
            const char *he = json_field(json, key, "entropy"), *de = json_field(json, key, "diversity");
            he = he ? strstr(he, "\"0.015\":") : NULL;
            de = de ? strstr(de, "\"0.015\":") : NULL;
            CHECK(he && de);
            if (he && de) {
                CHECK_NEAR(H, strtod(he + 8, NULL), 1e-8);
                CHECK_NEAR(D, strtod(de + 8, NULL), 1e-8);
            }
        }
        free(X);
        free_frames(&F);
    }
    free(json);
}

TEST(perfect_fcc_closed_shells)
{
    const char *path = SHARED("quests_ref/cu_fcc_4x4x4.xyz");
    if (!path) SKIP("../shared/data/quests_ref not found");
    frames F;
    CHECK(read_frames(path, &F) == 0);
    int ks[2] = {18, 42};
    for (int t = 0; t < 2; t++) {
        st_quests_opts o = {.k = ks[t]};
        int64_t d = 2 * ks[t] - 1;
        double *X = describe(&F, &o, d);
        if (!X) continue;
        double maxd = 0;
        for (int64_t i = 1; i < F.total; i++)
            for (int64_t c = 0; c < d; c++) maxd = fmax(maxd, fabs(X[i * d + c] - X[c]));
        CHECK_MSG(maxd < 1e-12, "k = %d: rows differ by %.3g", ks[t], maxd);
        double H, D;
        entropy(X, F.total, d, 0.015, &H, &D);
        CHECK(fabs(H) < 1e-9 && fabs(D) < 1e-9);
        /* x1: 12 at a/sqrt2, 6 at a, then 24 at a sqrt(3/2) (a = 3.61, rc = 5) */
        double a = 3.61, r[3] = {a / sqrt(2), a, a * sqrt(1.5)};
        for (int m = 0; m < ks[t]; m++) {
            double rr = r[m < 12 ? 0 : m < 18 ? 1 : 2] + 1e-16;
            double w = pow(1 - rr * rr / 25, 2);
            CHECK_NEAR(X[m], w / rr, 1e-12);
        }
        free(X);
    }
    free_frames(&F);
}

/* ---------------------------------------------------------------- brute-force descriptor */

static uint64_t rng_state = 1;
static double urand(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

typedef struct nb { double d2, v[3]; int j, s[3]; } nb;
static int nb_cmp(const void *pa, const void *pb)
{
    const nb *a = pa, *b = pb;
    if (a->d2 != b->d2) return a->d2 < b->d2 ? -1 : 1;
    if (a->j != b->j) return a->j < b->j ? -1 : 1;
    for (int c = 0; c < 3; c++) if (a->s[c] != b->s[c]) return a->s[c] < b->s[c] ? -1 : 1;
    return 0;
}
static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* All images |s| <= R along periodic axes (R large enough for these small tests: checked by the
 * caller through the k-th distance vs the brute-force range). */
static int brute_neigh(int n, const double *pos, const double *cell, const int32_t *pbc,
                       const int32_t *Z, int zsel, int i, int k, int R, nb *out)
{
    int cap = n * (2 * R + 1) * (2 * R + 1) * (2 * R + 1), m = 0;
    nb *all = malloc(cap * sizeof *all);
    int rg[3] = {pbc[0] ? R : 0, pbc[1] ? R : 0, pbc[2] ? R : 0};
    for (int j = 0; j < n; j++) {
        if (zsel >= 0 && Z[j] != zsel) continue;
        for (int s0 = -rg[0]; s0 <= rg[0]; s0++)
            for (int s1 = -rg[1]; s1 <= rg[1]; s1++)
                for (int s2 = -rg[2]; s2 <= rg[2]; s2++) {
                    if (j == i && !s0 && !s1 && !s2) continue;
                    nb *e = &all[m++];
                    int s[3] = {s0, s1, s2};
                    for (int c = 0; c < 3; c++)
                        e->v[c] = pos[3 * j + c] - pos[3 * i + c] + s0 * cell[c] + s1 * cell[3 + c] + s2 * cell[6 + c];
                    e->d2 = e->v[0] * e->v[0] + e->v[1] * e->v[1] + e->v[2] * e->v[2];
                    e->j = j; memcpy(e->s, s, sizeof s);
                }
    }
    qsort(all, m, sizeof *all, nb_cmp);
    int f = m < k ? m : k;
    memcpy(out, all, f * sizeof *out);
    free(all);
    return f;
}

/* QUESTS row written directly from the definition: full matrix, every row qsorted. */
static void brute_row(const nb *nbr, int found, int k, double rc, double *out)
{
    double *A = calloc(k * k, sizeof *A);
    for (int m = 0; m < k; m++) {
        double r = m < found ? sqrt(nbr[m].d2) + 1e-16 : 0;
        out[m] = m < found && r < rc ? pow(1 - r * r / (rc * rc), 2) / r : 0;
    }
    for (int m = 0; m < found; m++)
        for (int q = 0; q < found; q++) {
            if (m == q) continue;
            double rm = fmin(sqrt(nbr[m].d2), rc), rq = fmin(sqrt(nbr[q].d2), rc);
            double wm = pow(1 - rm * rm / (rc * rc), 2), wq = pow(1 - rq * rq / (rc * rc), 2);
            double dx = nbr[m].v[0] - nbr[q].v[0], dy = nbr[m].v[1] - nbr[q].v[1], dz = nbr[m].v[2] - nbr[q].v[2];
            A[m * k + q] = sqrt(wm * wq) / (sqrt(dx * dx + dy * dy + dz * dz) + 1e-15);
        }
    for (int m = 0; m < k; m++) qsort(A + m * k, k, sizeof *A, dbl_cmp);
    for (int l = 1; l < k; l++) {
        double s = 0;
        for (int m = 0; m < k; m++) s += A[m * k + l];
        out[k + k - 1 - l] = s / k;
    }
    free(A);
}

static void random_system(int n, double *cell, double *pos, double spread)
{
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 3; c++) cell[3 * a + c] = a == c ? spread * (0.8 + 0.4 * urand()) : (urand() - 0.5) * 0.3 * spread;
    for (int i = 0; i < n; i++) {
        double f[3] = {urand() * 1.2 - 0.1, urand() * 1.2 - 0.1, urand() * 1.2 - 0.1};
        for (int c = 0; c < 3; c++) pos[3 * i + c] = f[0] * cell[c] + f[1] * cell[3 + c] + f[2] * cell[6 + c];
    }
}

TEST(brute_force_descriptor_random_systems)
{
    st_ctx *ctx = st_ctx_create();
    rng_state = 11;
    /* k = 27: the k = 25..32 register path with kp - k padding rows; 37: the generic network */
    int ks[7] = {1, 2, 5, 13, 27, 32, 37};
    int bad = 0;
    for (int trial = 0; trial < 28; trial++) {
        int32_t pbc[3] = {trial & 1, (trial >> 1) & 1, (trial >> 2) & 1};
        int k = ks[trial % 7];
        int n = 6 + (int)(urand() * 40);
        double cell[9], *pos = malloc(3 * n * sizeof *pos);
        random_system(n, cell, pos, 7.0);
        double rc = 3.0 + 3 * urand();
        st_quests_opts o = {.k = k, .cutoff = rc};
        double *X = malloc(n * (2 * k - 1) * sizeof *X), *row = malloc((2 * k - 1) * sizeof *row);
        CHECK_OK(ctx, st_quests_compute(ctx, n, pos, cell, pbc, NULL, &o, X));
        nb *nbr = malloc((k + 1) * sizeof *nbr);
        for (int i = 0; i < n; i++) {
            int f = brute_neigh(n, pos, cell, pbc, NULL, -1, i, k, 4, nbr);
            brute_row(nbr, f, k, rc, row);
            double maxd = 0;
            for (int c = 0; c < 2 * k - 1; c++) maxd = fmax(maxd, fabs(row[c] - X[i * (2 * k - 1) + c]));
            if (maxd > 1e-12) {
                if (bad++ < 5) printf("#   trial %d pbc %d%d%d n %d k %d atom %d: max diff %.3g\n", trial, pbc[0], pbc[1], pbc[2], n, k, i, maxd);
            }
        }
        free(nbr); free(X); free(row); free(pos);
    }
    CHECK(bad == 0);
    st_ctx_destroy(ctx);
}

static void rotate(const double *R, int n, double *x)
{
    for (int i = 0; i < n; i++) {
        double y[3];
        for (int c = 0; c < 3; c++) y[c] = R[3 * c] * x[3 * i] + R[3 * c + 1] * x[3 * i + 1] + R[3 * c + 2] * x[3 * i + 2];
        memcpy(x + 3 * i, y, sizeof y);
    }
}

TEST(invariance_rotation_translation_permutation)
{
    st_ctx *ctx = st_ctx_create();
    rng_state = 5;
    int n = 120, d = 63;
    double cell[9], pos[360], p2[360], c2[9];
    random_system(n, cell, pos, 11.0);
    int32_t pbc[3] = {1, 1, 0};   /* a slab */
    double *X = malloc(n * d * sizeof *X), *Y = malloc(n * d * sizeof *Y);
    CHECK_OK(ctx, st_quests_compute(ctx, n, pos, cell, pbc, NULL, NULL, X));
    /* rotation (about an arbitrary axis) + translation of positions and cell */
    double th = 0.7, u[3] = {0.48, -0.6, 0.64}, ct = cos(th), st = sin(th);
    double R[9];
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double e = a == b ? ct : 0;
            e += (1 - ct) * u[a] * u[b];
            int c = 3 - a - b;
            if (a != b) e += ((a + 1) % 3 == b ? -1 : 1) * st * u[c];
            R[3 * a + b] = e;
        }
    memcpy(p2, pos, sizeof pos);
    memcpy(c2, cell, sizeof cell);
    rotate(R, n, p2);
    rotate(R, 3, c2);
    for (int i = 0; i < n; i++) { p2[3 * i] += 17.3; p2[3 * i + 1] -= 4.1; p2[3 * i + 2] += 250; }
    CHECK_OK(ctx, st_quests_compute(ctx, n, p2, c2, pbc, NULL, NULL, Y));
    double maxd = 0;
    for (int e = 0; e < n * d; e++) maxd = fmax(maxd, fabs(X[e] - Y[e]));
    CHECK_MSG(maxd < 1e-10, "rotation+translation: %.3g", maxd);
    /* permutation: rows permute */
    int perm[120];
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) { int j = (int)(urand() * (i + 1)); int t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
    for (int i = 0; i < n; i++) memcpy(p2 + 3 * perm[i], pos + 3 * i, 3 * sizeof(double));
    CHECK_OK(ctx, st_quests_compute(ctx, n, p2, cell, pbc, NULL, NULL, Y));
    maxd = 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < d; c++) maxd = fmax(maxd, fabs(X[i * d + c] - Y[perm[i] * d + c]));
    CHECK_MSG(maxd < 1e-12, "permutation: %.3g", maxd);
    /* lattice translation of one atom changes nothing */
    memcpy(p2, pos, sizeof pos);
    for (int c = 0; c < 3; c++) p2[3 * 9 + c] += 2 * cell[c] - 3 * cell[3 + c];
    CHECK_OK(ctx, st_quests_compute(ctx, n, p2, cell, pbc, NULL, NULL, Y));
    maxd = 0;
    for (int e = 0; e < n * d; e++) maxd = fmax(maxd, fabs(X[e] - Y[e]));
    CHECK_MSG(maxd < 1e-12, "lattice shift: %.3g", maxd);
    /* 1 vs 2 threads: bit-identical */
    int nt = st_get_num_threads();
    st_set_num_threads(1);
    CHECK_OK(ctx, st_quests_compute(ctx, n, pos, cell, pbc, NULL, NULL, Y));
    st_set_num_threads(nt);
    CHECK(memcmp(X, Y, n * d * sizeof *X) == 0);
    free(X); free(Y);
    st_ctx_destroy(ctx);
}

TEST(species_aware)
{
    st_ctx *ctx = st_ctx_create();
    rng_state = 9;
    int n = 60, k = 8, d1 = 2 * k - 1;
    double cell[9], pos[180];
    random_system(n, cell, pos, 9.0);
    int32_t pbc[3] = {1, 1, 1}, Z[60], Zone[60];
    for (int i = 0; i < n; i++) { Z[i] = urand() < 0.4 ? 28 : 29; Zone[i] = 29; }
    st_quests_opts agn = {.k = k}, sa = {.k = k, .species_aware = 1};
    int64_t dim;
    /* one species: exactly the agnostic row */
    CHECK_OK(ctx, st_quests_dim(ctx, &sa, n, Zone, &dim));
    CHECK(dim == d1);
    double *A = malloc(n * d1 * sizeof *A), *B = malloc(n * d1 * sizeof *B);
    CHECK_OK(ctx, st_quests_compute(ctx, n, pos, cell, pbc, NULL, &agn, A));
    CHECK_OK(ctx, st_quests_compute(ctx, n, pos, cell, pbc, Zone, &sa, B));
    CHECK(memcmp(A, B, n * d1 * sizeof *A) == 0);
    /* two species: [agnostic | Ni block | Cu block | gamma one-hot] */
    CHECK_OK(ctx, st_quests_dim(ctx, &sa, n, Z, &dim));
    CHECK(dim == 3 * d1 + 2);
    double *S = malloc(n * dim * sizeof *S), *row = malloc(d1 * sizeof *row);
    CHECK_OK(ctx, st_quests_compute(ctx, n, pos, cell, pbc, Z, &sa, S));
    nb nbr[16];
    double maxd = 0;
    int onehot_ok = 1;
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < d1; c++) maxd = fmax(maxd, fabs(S[i * dim + c] - A[i * d1 + c]));
        int zs[2] = {28, 29};
        for (int s = 0; s < 2; s++) {
            int f = brute_neigh(n, pos, cell, pbc, Z, zs[s], i, k, 3, nbr);
            brute_row(nbr, f, k, 5.0, row);
            for (int c = 0; c < d1; c++) maxd = fmax(maxd, fabs(S[i * dim + d1 * (1 + s) + c] - row[c]));
        }
        onehot_ok &= S[i * dim + 3 * d1] == (Z[i] == 28 ? 1.0 : 0.0) && S[i * dim + 3 * d1 + 1] == (Z[i] == 29 ? 1.0 : 0.0);
    }
    CHECK_MSG(maxd < 1e-12, "species blocks differ from brute force by %.3g", maxd);
    CHECK(onehot_ok);
    /* chemistry is separated: swap the species of two atoms at different distances from atom 0;
     * the agnostic part of atom 0 is unchanged, the species blocks are not */
    int32_t Z2[60];
    memcpy(Z2, Z, sizeof Z);
    int a = -1, b = -1;
    for (int i = 1; i < n && (a < 0 || b < 0); i++) { if (Z[i] == 28 && a < 0) a = i; if (Z[i] == 29 && b < 0) b = i; }
    Z2[a] = 29; Z2[b] = 28;
    double *S2 = malloc(n * dim * sizeof *S2);
    CHECK_OK(ctx, st_quests_compute(ctx, n, pos, cell, pbc, Z2, &sa, S2));
    double dagn = 0, dsp = 0;
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < d1; c++) dagn = fmax(dagn, fabs(S2[i * dim + c] - S[i * dim + c]));
        for (int c = d1; c < 3 * d1; c++) dsp = fmax(dsp, fabs(S2[i * dim + c] - S[i * dim + c]));
    }
    CHECK(dagn == 0 && dsp > 1e-3);
    /* explicit species list: order defines the blocks; an element outside it is an error */
    int32_t list[3] = {29, 28, 26};
    st_quests_opts sl = {.k = k, .species_aware = 1, .species = list, .nspecies = 3, .species_gap = 2.5};
    CHECK_OK(ctx, st_quests_dim(ctx, &sl, n, Z, &dim));
    CHECK(dim == 4 * d1 + 3);
    double *S3 = malloc(n * dim * sizeof *S3);
    CHECK_OK(ctx, st_quests_compute(ctx, n, pos, cell, pbc, Z, &sl, S3));
    double dcu = 0;
    int fe_zero = 1;
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < d1; c++) dcu = fmax(dcu, fabs(S3[i * dim + d1 + c] - S[i * (3 * d1 + 2) + 2 * d1 + c]));
        for (int c = 0; c < d1; c++) fe_zero &= S3[i * dim + 3 * d1 + c] == 0;
        fe_zero &= S3[i * dim + 4 * d1 + (Z[i] == 29 ? 0 : 1)] == 2.5;
    }
    CHECK(dcu == 0 && fe_zero);
    int32_t list2[1] = {29};
    st_quests_opts bad = {.k = k, .species_aware = 1, .species = list2, .nspecies = 1};
    CHECK(st_quests_compute(ctx, n, pos, cell, pbc, Z, &bad, S3) == ST_ERR_ARG);
    CHECK_MSG(strstr(st_ctx_message(ctx), "element 28 (Ni) is not in the species list") != NULL,
              "message: %s", st_ctx_message(ctx));
    CHECK(st_quests_compute(ctx, n, pos, cell, pbc, NULL, &sa, S3) == ST_ERR_ARG);
    free(A); free(B); free(S); free(S2); free(S3); free(row);
    st_ctx_destroy(ctx);
}

TEST(edge_cases_and_errors)
{
    st_ctx *ctx = st_ctx_create();
    double pos[9] = {0, 0, 0, 1.5, 0, 0, 0, 2, 0}, cell[9] = {3, 0, 0, 0, 3, 0, 0, 0, 3}, X[3 * 63];
    int32_t pbc0[3] = {0, 0, 0}, pbc1[3] = {1, 1, 1};
    st_quests_opts o = {0};
    o.k = -1;
    CHECK(st_quests_compute(ctx, 3, pos, cell, pbc1, NULL, &o, X) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "k must be >= 1") != NULL);
    o.k = 5000;
    CHECK(st_quests_compute(ctx, 3, pos, cell, pbc1, NULL, &o, X) == ST_ERR_ARG);
    o.k = 0;
    o.cutoff = -2;
    CHECK(st_quests_compute(ctx, 3, pos, cell, pbc1, NULL, &o, X) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "cutoff must be") != NULL);
    o.cutoff = NAN;
    CHECK(st_quests_compute(ctx, 3, pos, cell, pbc1, NULL, &o, X) == ST_ERR_ARG);
    int64_t dim;
    CHECK(st_quests_dim(ctx, &o, 0, NULL, &dim) == ST_ERR_ARG);
    CHECK_OK(ctx, st_quests_dim(ctx, NULL, 0, NULL, &dim));
    CHECK(dim == 63);
    /* NaN position: names the atom */
    pos[4] = NAN;
    CHECK(st_quests_compute(ctx, 3, pos, cell, pbc1, NULL, NULL, X) == ST_ERR_ARG);
    CHECK_MSG(strstr(st_ctx_message(ctx), "atom 1") != NULL, "message: %s", st_ctx_message(ctx));
    pos[4] = 0;
    /* singular periodic cell */
    double sing[9] = {3, 0, 0, 6, 0, 0, 0, 0, 3};
    CHECK(st_quests_compute(ctx, 3, pos, sing, pbc1, NULL, NULL, X) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "singular") != NULL);
    /* empty frame: fine, nothing written */
    CHECK_OK(ctx, st_quests_compute(ctx, 0, NULL, cell, pbc1, NULL, NULL, NULL));
    /* single isolated atom: no neighbours, all zeros */
    for (int c = 0; c < 63; c++) X[c] = 1;
    CHECK_OK(ctx, st_quests_compute(ctx, 1, pos, NULL, pbc0, NULL, NULL, X));
    int zeros = 1;
    for (int c = 0; c < 63; c++) zeros &= X[c] == 0;
    CHECK(zeros);
    /* single atom in a 3 Å cubic cell: its own images, shells 6 at 3, 12 at 4.24, 8 at 5.2 */
    CHECK_OK(ctx, st_quests_compute(ctx, 1, pos, cell, pbc1, NULL, NULL, X));
    double r1 = 3 + 1e-16, r2 = 3 * sqrt(2) + 1e-16;
    CHECK_NEAR(X[0], pow(1 - r1 * r1 / 25, 2) / r1, 1e-14);
    CHECK_NEAR(X[6], pow(1 - r2 * r2 / 25, 2) / r2, 1e-14);
    CHECK(X[31] == 0);   /* the 32nd image is beyond rc: w = 0 */
    /* three atoms, k = 32: two neighbours each; x2 divides by k */
    CHECK_OK(ctx, st_quests_compute(ctx, 3, pos, NULL, pbc0, NULL, NULL, X));
    double w1 = pow(1 - 1.5 * 1.5 / 25, 2), w2 = pow(1 - 4.0 / 25, 2), r12 = 2.5;
    CHECK(X[2] == 0 && X[3] == 0);
    /* atom 0: A has the single pair value a = sqrt(w1 w2)/(2.5 + 1e-15) in rows 0 and 1 */
    double av = sqrt(w1 * w2) / (r12 + 1e-15);
    CHECK_NEAR(X[32], 2 * av / 32, 1e-15);   /* largest column: two rows hold a */
    CHECK(X[33] == 0 && X[62] == 0);
    /* frame API */
    st_atoms *fr = st_atoms_create(3);
    memcpy(st_atoms_positions(fr), pos, sizeof pos);
    double Y[3 * 63];
    CHECK_OK(ctx, st_quests_frame(ctx, fr, NULL, Y));
    CHECK(memcmp(X, Y, sizeof Y) == 0);
    st_atoms_destroy(fr);
    /* interrupt */
    st_interrupt();
    CHECK(st_quests_compute(ctx, 3, pos, cell, pbc1, NULL, NULL, X) == ST_ERR_INTERRUPTED);
    st_interrupt_clear();
    st_ctx_destroy(ctx);
}

int main(void)
{
    RUN(reference_matrices);
    RUN(reference_json_sums_rows_entropy);
    RUN(perfect_fcc_closed_shells);
    RUN(brute_force_descriptor_random_systems);
    RUN(invariance_rotation_translation_permutation);
    RUN(species_aware);
    RUN(edge_cases_and_errors);
    return DONE();
}
