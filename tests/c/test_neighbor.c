/* Tests for neighbour lists and k nearest neighbours (csrc/geom/neighbor.c), against brute force
 * over all pairs and all images in a provably sufficient range, on random skewed triclinic cells,
 * random pbc masks, positions outside the cell, cutoffs from tiny to 2.5x the cell; plus analytic
 * FCC shell counts, half/full consistency, invariances, determinism and error paths. */
#include "strata.h"
#include "check.h"
#include <stdint.h>

/* ---- random numbers (splitmix64) ---- */
static uint64_t rng_state = 12345;
static double urand(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53;
}
static double nrand(void)
{
    double u = urand() + 1e-300, v = urand();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

/* ---- geometry helpers, written independently of the library ---- */
static void cross(const double *a, const double *b, double *c)
{
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}
static double dot(const double *a, const double *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

/* Perpendicular width of the cell along axis a: V / |b x c|. */
static double perp_width(const double *cell, int a)
{
    double x[3];
    cross(cell + 3 * ((a + 1) % 3), cell + 3 * ((a + 2) % 3), x);
    return fabs(dot(cell + 3 * a, x)) / sqrt(dot(x, x));
}

/* The canonical vector, same evaluation order as documented: (r_j - r_i) + ((s0 a + s1 b) + s2 c). */
static double pair_vec(const double *pos, const double *cell, int i, int j, const int *s, double *v)
{
    for (int c = 0; c < 3; c++) {
        double t = ((double)s[0] * cell[c] + (double)s[1] * cell[3 + c]) + (double)s[2] * cell[6 + c];
        v[c] = (pos[3 * j + c] - pos[3 * i + c]) + t;
    }
    return v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
}

typedef struct pr { int i, j, s[3]; double d; double v[3]; } pr;
typedef struct kn { double d2; int j, s[3]; } kn;
static int kn_cmp(const void *pa, const void *pb)
{
    const kn *a = pa, *b = pb;
    if (a->d2 != b->d2) return a->d2 < b->d2 ? -1 : 1;
    if (a->j != b->j) return a->j < b->j ? -1 : 1;
    for (int c = 0; c < 3; c++) if (a->s[c] != b->s[c]) return a->s[c] < b->s[c] ? -1 : 1;
    return 0;
}

static int pr_cmp(const void *pa, const void *pb)
{
    const pr *a = pa, *b = pb;
    if (a->i != b->i) return a->i < b->i ? -1 : 1;
    if (a->j != b->j) return a->j < b->j ? -1 : 1;
    for (int c = 0; c < 3; c++) if (a->s[c] != b->s[c]) return a->s[c] < b->s[c] ? -1 : 1;
    return 0;
}

/* Cell with the lattice rows zeroed on non-periodic axes (what the shift formula uses). */
static void eff_cell(const double *cell, const int32_t *pbc, double *lat)
{
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 3; c++) lat[3 * a + c] = pbc[a] ? cell[3 * a + c] : 0;
}

/* All pairs with d < rc over shifts |s_a| <= range[a] (0 on non-periodic axes). */
static pr *brute_pairs(int n, const double *pos, const double *cell, const int32_t *pbc,
                       double rc, const int *range, int half, int64_t *np)
{
    int64_t cap = 1024, m = 0;
    pr *out = malloc(cap * sizeof *out);
    double lat[9];
    eff_cell(cell, pbc, lat);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            for (int s0 = -range[0]; s0 <= range[0]; s0++)
                for (int s1 = -range[1]; s1 <= range[1]; s1++)
                    for (int s2 = -range[2]; s2 <= range[2]; s2++) {
                        int s[3] = {s0, s1, s2};
                        if (i == j && !s0 && !s1 && !s2) continue;
                        if (half) {
                            int pos_lex = s0 > 0 || (s0 == 0 && (s1 > 0 || (s1 == 0 && s2 > 0)));
                            if (!(i < j || (i == j && pos_lex))) continue;
                        }
                        double v[3], d2 = pair_vec(pos, lat, i, j, s, v);
                        if (!(d2 < rc * rc)) continue;
                        if (m == cap) out = realloc(out, (cap *= 2) * sizeof *out);
                        pr *p = &out[m++];
                        p->i = i; p->j = j; memcpy(p->s, s, sizeof s); p->d = sqrt(d2);
                        memcpy(p->v, v, sizeof v);
                    }
    *np = m;
    return out;
}

static pr *list_pairs(const st_nlist *nl, int64_t *np)
{
    int64_t n = st_nlist_natoms(nl), m = st_nlist_npairs(nl);
    const int64_t *off = st_nlist_offsets(nl);
    const int32_t *J = st_nlist_indices(nl), *S = st_nlist_shifts(nl);
    const double *D = st_nlist_distances(nl), *V = st_nlist_vectors(nl);
    pr *out = malloc((m + 1) * sizeof *out);
    for (int64_t i = 0; i < n; i++)
        for (int64_t p = off[i]; p < off[i + 1]; p++) {
            pr *q = &out[p];
            q->i = (int)i; q->j = J[p];
            for (int c = 0; c < 3; c++) q->s[c] = S[3 * p + c];
            q->d = D[p];
            for (int c = 0; c < 3; c++) q->v[c] = V ? V[3 * p + c] : 0;
        }
    *np = m;
    return out;
}

/* Random skewed triclinic cell: lengths 3..7 Å, off-diagonal parts up to +-0.6 of a length. */
static void random_cell(double *cell)
{
    for (int a = 0; a < 3; a++)
        for (int c = 0; c < 3; c++) cell[3 * a + c] = (a == c ? 3 + 4 * urand() : (urand() - 0.5) * 1.2 * (3 + 2 * urand()));
}

/* Positions at fractional coordinates in [-0.4, 1.4) (outside the cell on purpose). */
static void random_positions(int n, const double *cell, double *pos)
{
    for (int i = 0; i < n; i++) {
        double f[3] = {urand() * 1.8 - 0.4, urand() * 1.8 - 0.4, urand() * 1.8 - 0.4};
        for (int c = 0; c < 3; c++) pos[3 * i + c] = f[0] * cell[c] + f[1] * cell[3 + c] + f[2] * cell[6 + c];
    }
}

/* Image range that provably holds every pair within rc: |Δf_a| <= 1.8 inside the sample, so
 * |s_a| > rc/w_a + 1.8 means a distance >= rc (w_a the perpendicular width). */
static void brute_range(const double *cell, const int32_t *pbc, double rc, int *range)
{
    for (int a = 0; a < 3; a++) range[a] = pbc[a] ? (int)ceil(rc / perp_width(cell, a) + 1.8) + 1 : 0;
}

static int compare_lists(pr *a, int64_t na, pr *b, int64_t nb, const char *what)
{
    int bad = 0;
    if (na != nb) { printf("#   %s: %lld pairs, brute force %lld\n", what, (long long)na, (long long)nb); return 1; }
    qsort(a, na, sizeof *a, pr_cmp);
    qsort(b, nb, sizeof *b, pr_cmp);
    for (int64_t p = 0; p < na && bad < 5; p++) {
        if (pr_cmp(&a[p], &b[p]) != 0 || fabs(a[p].d - b[p].d) > 1e-12) {
            printf("#   %s: pair %lld: (%d,%d,[%d %d %d],%.15g) vs brute (%d,%d,[%d %d %d],%.15g)\n",
                   what, (long long)p, a[p].i, a[p].j, a[p].s[0], a[p].s[1], a[p].s[2], a[p].d,
                   b[p].i, b[p].j, b[p].s[0], b[p].s[1], b[p].s[2], b[p].d);
            bad++;
        }
    }
    return bad;
}

TEST(nlist_vs_brute_force_random_triclinic)
{
    st_ctx *ctx = st_ctx_create();
    rng_state = 1;
    int failures = 0, total_pairs = 0;
    for (int trial = 0; trial < 64; trial++) {
        double cell[9];
        random_cell(cell);
        int32_t pbc[3] = {trial & 1, (trial >> 1) & 1, (trial >> 2) & 1};
        int n = 1 + (int)(urand() * 40);
        double *pos = malloc(3 * n * sizeof *pos);
        random_positions(n, cell, pos);
        double minw = fmin(perp_width(cell, 0), fmin(perp_width(cell, 1), perp_width(cell, 2)));
        /* cutoffs from tiny to 2.5x the smallest width */
        double fr[8] = {0.01, 0.1, 0.3, 0.5, 0.9, 1.3, 2.0, 2.5};
        double rc = fr[(trial / 8) % 8] * minw;
        int range[3];
        brute_range(cell, pbc, rc, range);
        if (trial % 3 == 0) /* non-periodic axes with a zero cell vector */
            for (int a = 0; a < 3; a++) if (!pbc[a]) cell[3 * a] = cell[3 * a + 1] = cell[3 * a + 2] = 0;
        for (int half = 0; half < 2; half++) {
            st_nlist_opts o = {0};
            o.half = half;
            o.sorted = trial & 1;
            st_nlist *nl = NULL;
            CHECK_OK(ctx, st_nlist_build(ctx, n, pos, cell, pbc, rc, &o, &nl));
            if (!nl) continue;
            int64_t na, nb;
            pr *a = list_pairs(nl, &na), *b = brute_pairs(n, pos, cell, pbc, rc, range, half, &nb);
            char what[128];
            snprintf(what, sizeof what, "trial %d (pbc %d%d%d, n %d, rc %.3g, half %d)", trial,
                     pbc[0], pbc[1], pbc[2], n, rc, half);
            int bad = compare_lists(a, na, b, nb, what);
            /* stored vectors are the canonical ones */
            for (int64_t p = 0; !bad && p < na; p++)
                for (int c = 0; c < 3; c++) if (a[p].v[c] != b[p].v[c]) bad = 1;
            failures += bad;
            total_pairs += (int)na;
            free(a); free(b);
            st_nlist_destroy(nl);
        }
        free(pos);
    }
    CHECK(failures == 0);
    CHECK(total_pairs > 1000);   /* the sample really exercises the search */
    st_ctx_destroy(ctx);
}

/* Perfect FCC (a = 3.61 Å): shells at a/sqrt2 (12), a (6), a sqrt(3/2) (24), a sqrt2 (12). */
static void fcc_primitive(double a0, double *cell)
{
    double h = a0 / 2;
    double c[9] = {0, h, h, h, 0, h, h, h, 0};
    memcpy(cell, c, sizeof c);
}

static void rotate(const double *R, int n, double *x)
{
    for (int i = 0; i < n; i++) {
        double y[3];
        for (int c = 0; c < 3; c++) y[c] = R[3 * c] * x[3 * i] + R[3 * c + 1] * x[3 * i + 1] + R[3 * c + 2] * x[3 * i + 2];
        memcpy(x + 3 * i, y, sizeof y);
    }
}

static void random_rotation(double *R)
{
    double q[4], s = 0;
    for (int i = 0; i < 4; i++) { q[i] = nrand(); s += q[i] * q[i]; }
    s = sqrt(s);
    for (int i = 0; i < 4; i++) q[i] /= s;
    double w = q[0], x = q[1], y = q[2], z = q[3];
    double r[9] = {1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
                   2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
                   2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)};
    memcpy(R, r, sizeof r);
}

TEST(single_atom_self_images_fcc_shells)
{
    st_ctx *ctx = st_ctx_create();
    double cell[9], pos[3] = {0.3, -0.2, 0.1};
    int32_t pbc[3] = {1, 1, 1};
    fcc_primitive(3.61, cell);
    /* cutoffs between shells: 12, 18, 42, 54 neighbours (cutoff 5.2 is 2x the primitive width) */
    double rcs[4] = {3.0, 4.0, 4.5, 5.2};
    int expect[4] = {12, 18, 42, 54};
    double R[9];
    rng_state = 7;
    random_rotation(R);
    for (int rot = 0; rot < 2; rot++) {
        if (rot) { rotate(R, 3, cell); rotate(R, 1, pos); }
        for (int t = 0; t < 4; t++) {
            st_nlist *nl = NULL;
            CHECK_OK(ctx, st_nlist_build(ctx, 1, pos, cell, pbc, rcs[t], NULL, &nl));
            CHECK_MSG(st_nlist_npairs(nl) == expect[t], "rc %g: %lld pairs, expected %d", rcs[t],
                      (long long)st_nlist_npairs(nl), expect[t]);
            /* all neighbours are the atom itself, distances on the shells */
            const double *D = st_nlist_distances(nl);
            const int32_t *J = st_nlist_indices(nl);
            for (int64_t p = 0; p < st_nlist_npairs(nl); p++) {
                CHECK(J[p] == 0);
                double d = D[p] / 3.61, best = 1;
                double shells[4] = {sqrt(0.5), 1, sqrt(1.5), sqrt(2)};
                for (int s = 0; s < 4; s++) best = fmin(best, fabs(d - shells[s]));
                CHECK(best < 1e-12);
            }
            /* half list: exactly half, each image once */
            st_nlist_opts o = {.half = 1};
            st_nlist *hl = NULL;
            CHECK_OK(ctx, st_nlist_build(ctx, 1, pos, cell, pbc, rcs[t], &o, &hl));
            CHECK(st_nlist_npairs(hl) * 2 == st_nlist_npairs(nl));
            st_nlist_destroy(hl);
            st_nlist_destroy(nl);
        }
    }
    /* conventional 4-atom cubic cell, 3x3x3 supercell: 42 neighbours each within 4.5 Å */
    double cc[9] = {3 * 3.61, 0, 0, 0, 3 * 3.61, 0, 0, 0, 3 * 3.61};
    double basis[4][3] = {{0, 0, 0}, {0, .5, .5}, {.5, 0, .5}, {.5, .5, 0}};
    double P[108 * 3];
    int n = 0;
    for (int x = 0; x < 3; x++) for (int y = 0; y < 3; y++) for (int z = 0; z < 3; z++)
        for (int b = 0; b < 4; b++, n++) {
            P[3 * n] = (x + basis[b][0]) * 3.61;
            P[3 * n + 1] = (y + basis[b][1]) * 3.61;
            P[3 * n + 2] = (z + basis[b][2]) * 3.61;
        }
    st_nlist *nl = NULL;
    CHECK_OK(ctx, st_nlist_build(ctx, n, P, cc, pbc, 4.5, NULL, &nl));
    const int64_t *off = st_nlist_offsets(nl);
    int allok = 1;
    for (int i = 0; i < n; i++) allok &= (off[i + 1] - off[i] == 42);
    CHECK(allok);
    st_nlist_destroy(nl);
    st_ctx_destroy(ctx);
}

TEST(half_full_consistency_and_sorted_rows)
{
    st_ctx *ctx = st_ctx_create();
    rng_state = 99;
    double cell[9];
    random_cell(cell);
    int32_t pbc[3] = {1, 0, 1};
    int n = 80;
    double pos[240];
    random_positions(n, cell, pos);
    double rc = 1.7 * fmin(perp_width(cell, 0), perp_width(cell, 2));
    st_nlist_opts of = {0}, oh = {.half = 1}, os = {.sorted = 1};
    st_nlist *full = NULL, *half = NULL, *srt = NULL;
    CHECK_OK(ctx, st_nlist_build(ctx, n, pos, cell, pbc, rc, &of, &full));
    CHECK_OK(ctx, st_nlist_build(ctx, n, pos, cell, pbc, rc, &oh, &half));
    CHECK_OK(ctx, st_nlist_build(ctx, n, pos, cell, pbc, rc, &os, &srt));
    CHECK(st_nlist_npairs(full) == 2 * st_nlist_npairs(half));
    CHECK(st_nlist_npairs(full) == st_nlist_npairs(srt));
    int64_t nf, nh;
    pr *F = list_pairs(full, &nf), *H = list_pairs(half, &nh);
    qsort(F, nf, sizeof *F, pr_cmp);
    int bad = 0;
    for (int64_t p = 0; p < nh; p++) {
        /* (i, j, s) and (j, i, -s) both in the full list, with exactly opposite vectors */
        pr key = H[p], rev = H[p];
        rev.i = key.j; rev.j = key.i;
        for (int c = 0; c < 3; c++) rev.s[c] = -key.s[c];
        pr *a = bsearch(&key, F, nf, sizeof *F, pr_cmp), *b = bsearch(&rev, F, nf, sizeof *F, pr_cmp);
        if (!a || !b) { bad++; continue; }
        for (int c = 0; c < 3; c++) if (a->v[c] != -b->v[c] || a->v[c] != key.v[c]) bad++;
        if (a->d != b->d) bad++;
    }
    CHECK(bad == 0);
    /* sorted rows: ascending by (distance, j, shift), same multiset as the unsorted list */
    const int64_t *off = st_nlist_offsets(srt);
    const double *D = st_nlist_distances(srt);
    const int32_t *J = st_nlist_indices(srt), *S = st_nlist_shifts(srt);
    int order_bad = 0;
    for (int i = 0; i < n; i++)
        for (int64_t p = off[i] + 1; p < off[i + 1]; p++) {
            kn x = {D[p - 1] * D[p - 1], J[p - 1], {S[3 * p - 3], S[3 * p - 2], S[3 * p - 1]}};
            kn y = {D[p] * D[p], J[p], {S[3 * p], S[3 * p + 1], S[3 * p + 2]}};
            if (kn_cmp(&x, &y) >= 0) order_bad++;
        }
    CHECK(order_bad == 0);
    int64_t ns;
    pr *Sr = list_pairs(srt, &ns);
    qsort(Sr, ns, sizeof *Sr, pr_cmp);
    int same = ns == nf;
    for (int64_t p = 0; same && p < ns; p++) same = pr_cmp(&Sr[p], &F[p]) == 0 && Sr[p].d == F[p].d;
    CHECK(same);
    free(F); free(H); free(Sr);
    st_nlist_destroy(full); st_nlist_destroy(half); st_nlist_destroy(srt);
    st_ctx_destroy(ctx);
}

TEST(invariances_translation_rotation_permutation_lattice_shift)
{
    st_ctx *ctx = st_ctx_create();
    rng_state = 2024;
    double cell[9];
    random_cell(cell);
    int32_t pbc[3] = {1, 1, 0};
    int n = 60;
    double pos[180], p2[180], c2[9];
    random_positions(n, cell, pos);
    double rc = 4.0;
    st_nlist *ref = NULL;
    CHECK_OK(ctx, st_nlist_build(ctx, n, pos, cell, pbc, rc, NULL, &ref));
    int64_t nr;
    pr *A = list_pairs(ref, &nr);
    qsort(A, nr, sizeof *A, pr_cmp);

    for (int kind = 0; kind < 4; kind++) {
        memcpy(p2, pos, sizeof pos);
        memcpy(c2, cell, sizeof cell);
        int perm[60], inv[60];
        for (int i = 0; i < n; i++) perm[i] = i;
        int moved = 7, ls[3] = {2, -1, 0};
        if (kind == 0) {            /* translation */
            double t[3] = {13.7, -4.2, 101.9};
            for (int i = 0; i < n; i++) for (int c = 0; c < 3; c++) p2[3 * i + c] += t[c];
        } else if (kind == 1) {     /* rotation of positions and cell */
            double R[9];
            random_rotation(R);
            rotate(R, n, p2);
            rotate(R, 3, c2);
        } else if (kind == 2) {     /* permutation: new atom perm[i] is old atom i */
            for (int i = n - 1; i > 0; i--) {
                int j = (int)(urand() * (i + 1));
                int t = perm[i]; perm[i] = perm[j]; perm[j] = t;
            }
            for (int i = 0; i < n; i++) memcpy(p2 + 3 * perm[i], pos + 3 * i, 3 * sizeof(double));
        } else {                    /* one atom moved by a lattice vector 2a - b */
            for (int c = 0; c < 3; c++) p2[3 * moved + c] += ls[0] * cell[c] + ls[1] * cell[3 + c];
        }
        for (int i = 0; i < n; i++) inv[perm[i]] = i;
        st_nlist *nl = NULL;
        CHECK_OK(ctx, st_nlist_build(ctx, n, p2, c2, pbc, rc, NULL, &nl));
        int64_t nb;
        pr *B = list_pairs(nl, &nb);
        /* map back to the reference labelling and shifts */
        for (int64_t p = 0; p < nb; p++) {
            if (kind == 3) {
                /* r_j' = r_j + L: the same image needs shift s + L when j moved, s - L when i moved */
                for (int c = 0; c < 3; c++) {
                    if (B[p].j == moved) B[p].s[c] += ls[c];
                    if (B[p].i == moved) B[p].s[c] -= ls[c];
                }
            }
            B[p].i = inv[B[p].i];
            B[p].j = inv[B[p].j];
        }
        qsort(B, nb, sizeof *B, pr_cmp);
        int ok = nb == nr;
        double maxdd = 0;
        for (int64_t p = 0; ok && p < nb; p++) {
            ok = pr_cmp(&A[p], &B[p]) == 0;
            maxdd = fmax(maxdd, fabs(A[p].d - B[p].d));
        }
        CHECK_MSG(ok, "kind %d: pair sets differ (%lld vs %lld)", kind, (long long)nb, (long long)nr);
        CHECK_MSG(maxdd < 1e-12, "kind %d: distances differ by %g", kind, maxdd);
        free(B);
        st_nlist_destroy(nl);
    }
    free(A);
    st_nlist_destroy(ref);
    st_ctx_destroy(ctx);
}

TEST(deterministic_across_threads)
{
    st_ctx *ctx = st_ctx_create();
    rng_state = 5;
    int n = 3000;
    double cell[9] = {30, 0, 0, 4, 28, 0, -3, 2, 31};
    double *pos = malloc(3 * n * sizeof *pos);
    random_positions(n, cell, pos);
    int32_t pbc[3] = {1, 1, 1};
    int nt = st_get_num_threads();
    st_nlist *l1 = NULL, *l2 = NULL;
    st_set_num_threads(1);
    CHECK_OK(ctx, st_nlist_build(ctx, n, pos, cell, pbc, 4.0, NULL, &l1));
    int32_t *k1 = malloc(n * 20 * sizeof(int32_t)), *k2 = malloc(n * 20 * sizeof(int32_t));
    CHECK_OK(ctx, st_nlist_knn(ctx, n, pos, cell, pbc, 20, k1, NULL, NULL, NULL, NULL));
    st_set_num_threads(2);
    CHECK_OK(ctx, st_nlist_build(ctx, n, pos, cell, pbc, 4.0, NULL, &l2));
    CHECK_OK(ctx, st_nlist_knn(ctx, n, pos, cell, pbc, 20, k2, NULL, NULL, NULL, NULL));
    st_set_num_threads(nt);
    int64_t np = st_nlist_npairs(l1);
    CHECK(np == st_nlist_npairs(l2) && np > 0);
    if (np == st_nlist_npairs(l2)) {
        CHECK(memcmp(st_nlist_indices(l1), st_nlist_indices(l2), np * 4) == 0);
        CHECK(memcmp(st_nlist_shifts(l1), st_nlist_shifts(l2), np * 12) == 0);
        CHECK(memcmp(st_nlist_vectors(l1), st_nlist_vectors(l2), np * 24) == 0);
        CHECK(memcmp(st_nlist_offsets(l1), st_nlist_offsets(l2), (n + 1) * 8) == 0);
    }
    CHECK(memcmp(k1, k2, n * 20 * sizeof(int32_t)) == 0);
    st_nlist_destroy(l1); st_nlist_destroy(l2);
    free(k1); free(k2); free(pos);
    st_ctx_destroy(ctx);
}

/* ---- k nearest: brute force over a growing image range until provably complete ---- */

/* k nearest of query point q (or atom qi if q == NULL, itself excluded at zero shift).  Returns
 * the number found; fills out[0..found-1].  Sample positions have |Δf| <= fspan per axis. */
static int brute_knn(int n, const double *pos, const double *cell, const int32_t *pbc,
                     const double *q, int qi, int k, double fspan, kn *out)
{
    double lat[9];
    eff_cell(cell, pbc, lat);
    double minw = INFINITY;
    for (int a = 0; a < 3; a++) if (pbc[a]) minw = fmin(minw, perp_width(cell, a));
    int anyp = pbc[0] || pbc[1] || pbc[2];
    for (int R = 1;; R++) {
        int rg[3] = {pbc[0] ? R : 0, pbc[1] ? R : 0, pbc[2] ? R : 0};
        int cap = n * (2 * R + 1) * (2 * R + 1) * (2 * R + 1), m = 0;
        kn *all = malloc((cap + 1) * sizeof *all);
        double qq[3];
        memcpy(qq, q ? q : pos + 3 * qi, sizeof qq);
        for (int j = 0; j < n; j++)
            for (int s0 = -rg[0]; s0 <= rg[0]; s0++)
                for (int s1 = -rg[1]; s1 <= rg[1]; s1++)
                    for (int s2 = -rg[2]; s2 <= rg[2]; s2++) {
                        if (!q && j == qi && !s0 && !s1 && !s2) continue;
                        int s[3] = {s0, s1, s2};
                        double v[3];
                        for (int c = 0; c < 3; c++) {
                            double t = ((double)s[0] * lat[c] + (double)s[1] * lat[3 + c]) + (double)s[2] * lat[6 + c];
                            v[c] = (pos[3 * j + c] - qq[c]) + t;
                        }
                        kn *e = &all[m++];
                        e->d2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
                        e->j = j; memcpy(e->s, s, sizeof s);
                    }
        qsort(all, m, sizeof *all, kn_cmp);
        int found = m < k ? m : k;
        /* unseen images have |s_a| > R, hence distance >= (R + 1 - fspan) * width */
        int complete = !anyp || (found == k && sqrt(all[k - 1].d2) < (R + 1 - fspan) * minw - 1e-9);
        if (complete) {
            memcpy(out, all, found * sizeof *out);
            free(all);
            return found;
        }
        free(all);
    }
}

TEST(knn_vs_brute_force)
{
    st_ctx *ctx = st_ctx_create();
    rng_state = 77;
    int failures = 0;
    for (int trial = 0; trial < 48; trial++) {
        double cell[9];
        random_cell(cell);
        int32_t pbc[3] = {trial & 1, (trial >> 1) & 1, (trial >> 2) & 1};
        int n = 1 + (int)(urand() * 30);
        int ks[6] = {1, 3, 8, 17, 40, 70};
        int k = ks[(trial / 8) % 6];
        double *pos = malloc(3 * n * sizeof *pos);
        random_positions(n, cell, pos);
        int32_t *I = malloc(n * k * 4), *S = malloc(n * k * 12), *F = malloc(n * 4);
        double *D = malloc(n * k * 8), *V = malloc(n * k * 24);
        CHECK_OK(ctx, st_nlist_knn(ctx, n, pos, cell, pbc, k, I, S, V, D, F));
        kn *ref = malloc((k + 1) * sizeof *ref);
        double lat[9];
        eff_cell(cell, pbc, lat);
        for (int i = 0; i < n && failures < 5; i++) {
            int f = brute_knn(n, pos, cell, pbc, NULL, i, k, 1.8, ref);
            int bad = F[i] != f;
            for (int e = 0; !bad && e < f; e++) {
                bad |= I[i * k + e] != ref[e].j || memcmp(S + 3 * (i * k + e), ref[e].s, 12) != 0;
                bad |= D[i * k + e] != sqrt(ref[e].d2);
                double v[3];
                pair_vec(pos, lat, i, ref[e].j, ref[e].s, v);
                bad |= memcmp(v, V + 3 * (i * k + e), sizeof v) != 0;
            }
            for (int e = f; !bad && e < k; e++)
                bad |= I[i * k + e] != -1 || !isinf(D[i * k + e]);
            if (bad) {
                failures++;
                printf("#   trial %d pbc %d%d%d n %d k %d atom %d: found %d (brute %d)\n", trial, pbc[0],
                       pbc[1], pbc[2], n, k, i, F[i], f);
            }
        }
        /* a non-periodic system with fewer than k other atoms returns all of them */
        if (!pbc[0] && !pbc[1] && !pbc[2]) CHECK(F[0] == (n - 1 < k ? n - 1 : k));
        free(ref); free(I); free(S); free(F); free(D); free(V); free(pos);
    }
    CHECK(failures == 0);
    st_ctx_destroy(ctx);
}

TEST(knn_ties_perfect_crystal_deterministic)
{
    /* 2x2x2 conventional FCC: 12 + 6 + 24 equidistant shells; k = 14 cuts the second shell, so
     * the tie rule (distance, j, shift) decides; brute force applies the same rule. */
    st_ctx *ctx = st_ctx_create();
    double cc[9] = {2 * 3.61, 0, 0, 0, 2 * 3.61, 0, 0, 0, 2 * 3.61};
    double basis[4][3] = {{0, 0, 0}, {0, .5, .5}, {.5, 0, .5}, {.5, .5, 0}};
    double P[32 * 3];
    int n = 0;
    for (int x = 0; x < 2; x++) for (int y = 0; y < 2; y++) for (int z = 0; z < 2; z++)
        for (int b = 0; b < 4; b++, n++)
            for (int c = 0; c < 3; c++) P[3 * n + c] = ((c == 0 ? x : c == 1 ? y : z) + basis[b][c]) * 3.61;
    int32_t pbc[3] = {1, 1, 1};
    int ks[3] = {12, 14, 42};
    for (int t = 0; t < 3; t++) {
        int k = ks[t];
        int32_t *I = malloc(n * k * 4), *S = malloc(n * k * 12), *I2 = malloc(n * k * 4);
        double *D = malloc(n * k * 8);
        CHECK_OK(ctx, st_nlist_knn(ctx, n, P, cc, pbc, k, I, S, NULL, D, NULL));
        kn ref[64];
        int bad = 0;
        for (int i = 0; i < n; i++) {
            brute_knn(n, P, cc, pbc, NULL, i, k, 1.0, ref);
            for (int e = 0; e < k; e++)
                bad += I[i * k + e] != ref[e].j || memcmp(S + 3 * (i * k + e), ref[e].s, 12) != 0;
        }
        CHECK_MSG(bad == 0, "k = %d: %d entries differ from the tie rule", k, bad);
        /* a search structure with very different bins gives the same answer */
        st_knn *h = NULL;
        CHECK_OK(ctx, st_knn_create(ctx, n, P, cc, pbc, 1, &h));
        CHECK_OK(ctx, st_knn_search(ctx, h, 0, n, k, I2, NULL, NULL, NULL, NULL));
        CHECK(memcmp(I, I2, n * k * 4) == 0);
        st_knn_destroy(h);
        if (k == 12) {
            double maxdev = 0;
            for (int e = 0; e < n * k; e++) maxdev = fmax(maxdev, fabs(D[e] - 3.61 / sqrt(2)));
            CHECK(maxdev < 1e-12);
        }
        free(I); free(S); free(D); free(I2);
    }
    st_ctx_destroy(ctx);
}

TEST(knn_query_points_and_blocks)
{
    st_ctx *ctx = st_ctx_create();
    rng_state = 31;
    double cell[9];
    random_cell(cell);
    int32_t pbc[3] = {1, 0, 1};
    int n = 40, nq = 25, k = 9;
    double pos[120], q[75];
    random_positions(n, cell, pos);
    random_positions(nq, cell, q);
    memcpy(q, pos + 3 * 5, 3 * sizeof(double));    /* query 0 sits on atom 5 */
    int32_t I[25 * 9], S[25 * 9 * 3], F[25];
    double D[25 * 9];
    CHECK_OK(ctx, st_nlist_knn_query(ctx, n, pos, cell, pbc, nq, q, k, I, S, NULL, D, F));
    kn ref[16];
    int bad = 0;
    for (int i = 0; i < nq; i++) {
        int f = brute_knn(n, pos, cell, pbc, q + 3 * i, -1, k, 2.6, ref);
        bad += F[i] != f;
        for (int e = 0; e < f; e++)
            bad += I[i * k + e] != ref[e].j || memcmp(S + 3 * (i * k + e), ref[e].s, 12) || D[i * k + e] != sqrt(ref[e].d2);
    }
    CHECK(bad == 0);
    CHECK(I[0] == 5 && D[0] == 0);                    /* nothing excluded for query points */
    /* exclusion makes a query on an atom equal to that atom's own search */
    st_knn *h = NULL;
    CHECK_OK(ctx, st_knn_create(ctx, n, pos, cell, pbc, k, &h));
    int32_t ex = 5, Ie[9], Ia[9];
    CHECK_OK(ctx, st_knn_search_points(ctx, h, 1, pos + 15, &ex, k, Ie, NULL, NULL, NULL, NULL));
    CHECK_OK(ctx, st_knn_search(ctx, h, 5, 1, k, Ia, NULL, NULL, NULL, NULL));
    CHECK(memcmp(Ie, Ia, sizeof Ie) == 0);
    /* blocks give the same rows as the whole */
    int32_t Iall[40 * 9], Iblk[40 * 9];
    CHECK_OK(ctx, st_knn_search(ctx, h, 0, n, k, Iall, NULL, NULL, NULL, NULL));
    for (int b = 0; b < n; b += 7)
        CHECK_OK(ctx, st_knn_search(ctx, h, b, b + 7 <= n ? 7 : n - b, k, Iblk + b * k, NULL, NULL, NULL, NULL));
    CHECK(memcmp(Iall, Iblk, sizeof Iall) == 0);
    CHECK(st_knn_search(ctx, h, 35, 10, k, Iblk, NULL, NULL, NULL, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "outside the set") != NULL);
    ex = 40;
    CHECK(st_knn_search_points(ctx, h, 1, q, &ex, k, Ie, NULL, NULL, NULL, NULL) == ST_ERR_ARG);
    CHECK(st_knn_count(h) == n);
    st_knn_destroy(h);
    st_knn_destroy(NULL);
    st_ctx_destroy(ctx);
}

TEST(sparse_cluster_linear_memory)
{
    /* 2000 atoms spread over a 5000 Å box, cutoff 150: bins are capped at ~2 per atom. */
    st_ctx *ctx = st_ctx_create();
    rng_state = 3;
    int n = 2000;
    double *pos = malloc(3 * n * sizeof *pos);
    for (int i = 0; i < 3 * n; i++) pos[i] = 5000 * urand();
    int32_t pbc[3] = {0, 0, 0};
    st_nlist *nl = NULL;
    CHECK_OK(ctx, st_nlist_build(ctx, n, pos, NULL, pbc, 150.0, NULL, &nl));
    int range[3] = {0, 0, 0};
    double zero[9] = {0};
    int64_t na, nb;
    pr *a = list_pairs(nl, &na), *b = brute_pairs(n, pos, zero, pbc, 150.0, range, 0, &nb);
    CHECK(na > 0);
    CHECK(compare_lists(a, na, b, nb, "sparse cluster") == 0);
    CHECK(st_nlist_memory(nl) < (size_t)(n + 1) * 8 + (size_t)na * 48 + 4096);
    free(a); free(b); free(pos);
    st_nlist_destroy(nl);
    st_ctx_destroy(ctx);
}

TEST(error_paths)
{
    st_ctx *ctx = st_ctx_create();
    double cell[9] = {4, 0, 0, 0, 4, 0, 0, 0, 4}, pos[6] = {0, 0, 0, 1, 1, 1};
    int32_t pbc[3] = {1, 1, 1};
    st_nlist *nl = (st_nlist *)&cell;   /* must be reset to NULL on error */
    CHECK(st_nlist_build(ctx, 2, pos, cell, pbc, -1.0, NULL, &nl) == ST_ERR_ARG);
    CHECK(nl == NULL);
    CHECK(strstr(st_ctx_message(ctx), "cutoff") != NULL);
    CHECK(st_nlist_build(ctx, 2, pos, cell, pbc, NAN, NULL, &nl) == ST_ERR_ARG);
    pos[4] = NAN;
    CHECK(st_nlist_build(ctx, 2, pos, cell, pbc, 3.0, NULL, &nl) == ST_ERR_ARG);
    CHECK_MSG(strstr(st_ctx_message(ctx), "atom 1") && strstr(st_ctx_message(ctx), "not finite"),
              "message: %s", st_ctx_message(ctx));
    int32_t kI[2];
    CHECK(st_nlist_knn(ctx, 2, pos, cell, pbc, 1, kI, NULL, NULL, NULL, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "atom 1") != NULL);
    pos[4] = 1;
    double sing[9] = {4, 0, 0, 8, 0, 0, 0, 0, 4};   /* a parallel to b */
    CHECK(st_nlist_build(ctx, 2, pos, sing, pbc, 3.0, NULL, &nl) == ST_ERR_ARG);
    CHECK_MSG(strstr(st_ctx_message(ctx), "singular") != NULL, "message: %s", st_ctx_message(ctx));
    int32_t pbc_ab[3] = {1, 1, 0};
    CHECK(st_nlist_build(ctx, 2, pos, sing, pbc_ab, 3.0, NULL, &nl) == ST_ERR_ARG);
    CHECK_MSG(strstr(st_ctx_message(ctx), "parallel") != NULL, "message: %s", st_ctx_message(ctx));
    double zc[9] = {4, 0, 0, 0, 0, 0, 0, 0, 4};
    CHECK(st_nlist_build(ctx, 2, pos, zc, pbc, 3.0, NULL, &nl) == ST_ERR_ARG);
    CHECK_MSG(strstr(st_ctx_message(ctx), "cell vector b has zero length") != NULL, "message: %s", st_ctx_message(ctx));
    CHECK(st_nlist_build(ctx, 2, pos, NULL, pbc, 3.0, NULL, &nl) == ST_ERR_ARG);
    /* ...but a zero vector on a non-periodic axis is fine */
    int32_t pbc_ac[3] = {1, 0, 1};
    CHECK_OK(ctx, st_nlist_build(ctx, 2, pos, zc, pbc_ac, 3.0, NULL, &nl));
    st_nlist_destroy(nl);
    /* zero atoms: an empty list */
    CHECK_OK(ctx, st_nlist_build(ctx, 0, NULL, cell, pbc, 3.0, NULL, &nl));
    CHECK(nl && st_nlist_npairs(nl) == 0 && st_nlist_natoms(nl) == 0 && st_nlist_offsets(nl)[0] == 0);
    st_nlist_destroy(nl);
    CHECK_OK(ctx, st_nlist_knn(ctx, 0, NULL, cell, pbc, 3, NULL, NULL, NULL, NULL, NULL));
    /* zero cutoff: empty */
    CHECK_OK(ctx, st_nlist_build(ctx, 2, pos, cell, pbc, 0.0, NULL, &nl));
    CHECK(st_nlist_npairs(nl) == 0);
    st_nlist_destroy(nl);
    st_nlist_destroy(NULL);
    /* knn: k < 1 */
    CHECK(st_nlist_knn(ctx, 2, pos, cell, pbc, 0, kI, NULL, NULL, NULL, NULL) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "k must be >= 1") != NULL);
    CHECK(st_nlist_build(ctx, 2, pos, cell, pbc, 3.0, NULL, NULL) == ST_ERR_ARG);
    /* interrupt: the kernel stops with its own status and the flag is the caller's to clear */
    st_interrupt();
    CHECK(st_nlist_build(ctx, 2, pos, cell, pbc, 3.0, NULL, &nl) == ST_ERR_INTERRUPTED);
    CHECK(nl == NULL);
    CHECK(st_nlist_knn(ctx, 2, pos, cell, pbc, 1, kI, NULL, NULL, NULL, NULL) == ST_ERR_INTERRUPTED);
    st_interrupt_clear();
    st_ctx_destroy(ctx);
}

TEST(update_in_place)
{
    st_ctx *ctx = st_ctx_create();
    rng_state = 41;
    double cell[9];
    random_cell(cell);
    int32_t pbc[3] = {1, 1, 1};
    int n = 200;
    double pos[600], moved[600];
    random_positions(n, cell, pos);
    for (int e = 0; e < 3 * n; e++) moved[e] = pos[e] + 0.3 * (urand() - 0.5);
    st_nlist *nl = NULL, *fresh = NULL;
    CHECK_OK(ctx, st_nlist_build(ctx, n, pos, cell, pbc, 3.0, NULL, &nl));
    /* moved atoms, then a larger cutoff (the arrays must grow), then fewer atoms */
    double cuts[3] = {3.0, 5.0, 4.0};
    int ns[3] = {200, 200, 150};
    for (int t = 0; t < 3; t++) {
        CHECK_OK(ctx, st_nlist_update(ctx, nl, ns[t], moved, cell, pbc, cuts[t], NULL));
        CHECK_OK(ctx, st_nlist_build(ctx, ns[t], moved, cell, pbc, cuts[t], NULL, &fresh));
        int64_t np = st_nlist_npairs(fresh);
        CHECK(st_nlist_npairs(nl) == np && st_nlist_natoms(nl) == ns[t]);
        if (st_nlist_npairs(nl) == np) {
            CHECK(memcmp(st_nlist_offsets(nl), st_nlist_offsets(fresh), (ns[t] + 1) * 8) == 0);
            CHECK(memcmp(st_nlist_indices(nl), st_nlist_indices(fresh), np * 4) == 0);
            CHECK(memcmp(st_nlist_shifts(nl), st_nlist_shifts(fresh), np * 12) == 0);
            CHECK(memcmp(st_nlist_vectors(nl), st_nlist_vectors(fresh), np * 24) == 0);
            CHECK(memcmp(st_nlist_distances(nl), st_nlist_distances(fresh), np * 8) == 0);
        }
        st_nlist_destroy(fresh);
    }
    /* an error leaves a valid, empty list */
    moved[5] = NAN;
    CHECK(st_nlist_update(ctx, nl, n, moved, cell, pbc, 3.0, NULL) == ST_ERR_ARG);
    CHECK(st_nlist_npairs(nl) == 0 && st_nlist_offsets(nl)[st_nlist_natoms(nl)] == 0);
    CHECK(st_nlist_update(ctx, NULL, n, pos, cell, pbc, 3.0, NULL) == ST_ERR_ARG);
    st_nlist_destroy(nl);
    st_ctx_destroy(ctx);
}

static int progress_calls;
static void on_progress(void *ud, const char *what, double done, double total)
{
    (void)ud; (void)what;
    if (done <= total) progress_calls++;
}

TEST(progress_reported)
{
    st_ctx *ctx = st_ctx_create();
    st_ctx_set_progress(ctx, on_progress, NULL);
    double cell[9] = {10, 0, 0, 0, 10, 0, 0, 0, 10}, pos[30];
    rng_state = 8;
    random_positions(10, cell, pos);
    int32_t pbc[3] = {1, 1, 1};
    st_nlist *nl = NULL;
    progress_calls = 0;
    CHECK_OK(ctx, st_nlist_build(ctx, 10, pos, cell, pbc, 3.0, NULL, &nl));
    CHECK(progress_calls >= 2);
    st_nlist_destroy(nl);
    st_ctx_destroy(ctx);
}

int main(void)
{
    RUN(nlist_vs_brute_force_random_triclinic);
    RUN(single_atom_self_images_fcc_shells);
    RUN(half_full_consistency_and_sorted_rows);
    RUN(invariances_translation_rotation_permutation_lattice_shift);
    RUN(deterministic_across_threads);
    RUN(knn_vs_brute_force);
    RUN(knn_ties_perfect_crystal_deterministic);
    RUN(knn_query_points_and_blocks);
    RUN(sparse_cluster_linear_memory);
    RUN(error_paths);
    RUN(update_in_place);
    RUN(progress_reported);
    return DONE();
}
