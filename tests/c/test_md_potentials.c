/* Tests for the MD potentials and neighbour lists: finite-difference forces and finite-strain
 * virials for every potential, invariances, analytic and literature values (LJ dimer and lattice
 * sums, Cu_u3 EAM lattice constant and cohesive energy, Stillinger-Weber diamond, Müller-Brown
 * stationary points), neighbour lists against brute force, the registry and error paths.
 * Potential files come from Debian's lammps-data (/usr/share/lammps/potentials); tests that need
 * them skip when it is absent. */
#include "check.h"
#include "test_md_util.h"
#include "../../csrc/md/md_internal.h"

static int have_file(const char *p) { return p && access(p, R_OK) == 0; }

static st_md_potential *make_pot(st_ctx *ctx, const char *name, const char *file, const char *params)
{
    st_md_potential_options o = {0};
    o.file = file;
    o.params = params;
    st_md_potential *p = NULL;
    if (st_md_potential_create(ctx, name, &o, &p) != ST_OK) {
        printf("#   create %s: %s\n", name, st_ctx_message(ctx));
        return NULL;
    }
    return p;
}

static double energy_of(st_ctx *ctx, st_md_potential *p, int n, const double *x, const int32_t *z, const double *cell,
                        const int32_t *pbc)
{
    st_md_result r = {0};
    if (st_md_potential_compute(ctx, p, NULL, n, x, z, cell, pbc, &r) != ST_OK) {
        printf("#   compute: %s\n", st_ctx_message(ctx));
        return NAN;
    }
    return r.energy;
}

/* ---------------------------------------------------------------------------------------------- */
TEST(philox_known_answers)
{
    /* Random123 kat_vectors for philox4x32_10 (Salmon et al. 2011) */
    static const uint32_t ctr[3][4] = {{0, 0, 0, 0}, {~0u, ~0u, ~0u, ~0u}, {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}};
    static const uint32_t key[3][2] = {{0, 0}, {~0u, ~0u}, {0xa4093822, 0x299f31d0}};
    static const uint32_t want[3][4] = {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                                        {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                                        {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}};
    for (int t = 0; t < 3; t++) {
        uint32_t o[4];
        md_philox(ctr[t], key[t], o);
        for (int k = 0; k < 4; k++) CHECK_MSG(o[k] == want[t][k], "vector %d word %d: %08x != %08x", t, k, o[k], want[t][k]);
    }
    /* normals: mean 0, variance 1, 4th moment 3 within 5 standard errors for 400k samples */
    const int N = 200000;
    double m1 = 0, m2 = 0, m4 = 0;
    for (int i = 0; i < N; i++) {
        double g[2];
        md_gauss2(12345, 7, (uint64_t)i, 3, &g[0], &g[1]);
        for (int k = 0; k < 2; k++) {
            m1 += g[k];
            m2 += g[k] * g[k];
            m4 += g[k] * g[k] * g[k] * g[k];
        }
    }
    m1 /= 2 * N; m2 /= 2 * N; m4 /= 2 * N;
    CHECK_NEAR(m1, 0.0, 5 / sqrt(2.0 * N));
    CHECK_NEAR(m2, 1.0, 5 * sqrt(2.0 / (2 * N)));
    CHECK_NEAR(m4, 3.0, 5 * sqrt(96.0 / (2 * N)));
}

/* ---------------------------------------------------------------------------------------------- */
/* Brute-force pair list over explicit images, for comparison with the binned list. */
static int64_t brute_pairs(int n, const double *x, const double *cell, const int32_t *pbc, double rmax, double *dist)
{
    int K[3];
    for (int a = 0; a < 3; a++) K[a] = pbc[a] ? 4 : 0;
    int64_t c = 0;
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++)
            for (int u = -K[0]; u <= K[0]; u++)
                for (int v = -K[1]; v <= K[1]; v++)
                    for (int w = -K[2]; w <= K[2]; w++) {
                        if (j == i && (w < 0 || (w == 0 && (v < 0 || (v == 0 && u <= 0))))) continue;
                        double d[3];
                        for (int a = 0; a < 3; a++)
                            d[a] = x[3 * j + a] + u * cell[a] + v * cell[3 + a] + w * cell[6 + a] - x[3 * i + a];
                        double r = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
                        if (r < rmax) {
                            if (dist) dist[c] = r + 1000.0 * (i * 1000 + j);
                            c++;
                        }
                    }
    return c;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void check_list_against_brute(st_ctx *ctx, int n, const double *x, const double *cell, const int32_t *pbc,
                                     double cut, double skin)
{
    st_md_nlist *nl = NULL;
    CHECK_OK(ctx, st_md_nlist_create(ctx, cut, skin, 0, &nl));
    int32_t rb = 0;
    CHECK_OK(ctx, st_md_nlist_update(ctx, nl, n, x, cell, pbc, &rb));
    CHECK(rb == 1);
    int64_t cnt = 0;
    CHECK_OK(ctx, st_md_nlist_pairs(ctx, nl, cut, NULL, NULL, NULL, 0, &cnt));
    double *bd = malloc(sizeof(double) * 200000), *md = malloc(sizeof(double) * 200000);
    int32_t *pi = malloc(sizeof(int32_t) * 200000), *pj = malloc(sizeof(int32_t) * 200000);
    double *dv = malloc(sizeof(double) * 600000);
    int64_t nb = brute_pairs(n, x, cell, pbc, cut, bd);
    CHECK_MSG(cnt == nb, "list has %lld pairs within %g, brute force %lld", (long long)cnt, cut, (long long)nb);
    if (cnt == nb && cnt < 200000) {
        int64_t c2 = 0;
        CHECK_OK(ctx, st_md_nlist_pairs(ctx, nl, cut, pi, pj, dv, 200000, &c2));
        for (int64_t k = 0; k < c2; k++) {
            int i = pi[k] < pj[k] ? pi[k] : pj[k], j = pi[k] < pj[k] ? pj[k] : pi[k];
            md[k] = sqrt(dv[3 * k] * dv[3 * k] + dv[3 * k + 1] * dv[3 * k + 1] + dv[3 * k + 2] * dv[3 * k + 2]) +
                    1000.0 * (i * 1000 + j);
        }
        qsort(md, (size_t)c2, sizeof(double), cmpd);
        qsort(bd, (size_t)nb, sizeof(double), cmpd);
        double worst = 0;
        for (int64_t k = 0; k < c2; k++) worst = fmax(worst, fabs(md[k] - bd[k]));
        CHECK_MSG(worst < 1e-6, "pair distances differ from brute force by %g", worst);
    }
    free(bd); free(md); free(pi); free(pj); free(dv);
    st_md_nlist_destroy(nl);
}

TEST(nlist_against_brute_force)
{
    st_ctx *ctx = st_ctx_create();
    double x[3 * 40], cell[9];
    uint64_t s = 99;
    /* skewed triclinic cell smaller than the cutoff: many images per atom */
    double L[3] = {4.1, 5.0, 4.6}, ang[3] = {72, 101, 84};
    st_cell_from_parameters(L, ang, cell);
    int n = 13;
    for (int i = 0; i < n; i++) {
        double f[3] = {tmd_uniform(&s) * 3 - 1, tmd_uniform(&s), tmd_uniform(&s) + 2};   /* also outside the cell */
        st_frac_to_cart(cell, 1, f, x + 3 * i);
    }
    int32_t p111[3] = {1, 1, 1}, p110[3] = {1, 1, 0}, p000[3] = {0, 0, 0}, p010[3] = {0, 1, 0};
    check_list_against_brute(ctx, n, x, cell, p111, 6.3, 0.0);
    check_list_against_brute(ctx, n, x, cell, p111, 2.0, 0.7);
    check_list_against_brute(ctx, n, x, cell, p110, 6.3, 0.5);
    check_list_against_brute(ctx, n, x, cell, p010, 5.0, 0.5);
    check_list_against_brute(ctx, n, x, cell, p000, 3.0, 0.5);
    /* a lattice with pairs at exactly the same distance (ties in bins) */
    n = tmd_lattice(tmd_fcc, 4, 3.0, 2, 2, 2, NULL, 0.0, 1, x, cell);
    check_list_against_brute(ctx, n, x, cell, p111, 4.25, 0.0);
    st_ctx_destroy(ctx);
}

TEST(nlist_skin_and_rebuild)
{
    st_ctx *ctx = st_ctx_create();
    double x[3 * 108], cell[9], y[3 * 108];
    int n = tmd_lattice(tmd_fcc, 4, 3.6, 3, 3, 3, NULL, 0.1, 5, x, cell);
    int32_t pbc[3] = {1, 1, 1}, rb = 0;
    st_md_nlist *nl = NULL;
    CHECK_OK(ctx, st_md_nlist_create(ctx, 4.0, 1.0, 0, &nl));
    CHECK_OK(ctx, st_md_nlist_update(ctx, nl, n, x, cell, pbc, &rb));
    CHECK(rb == 1 && st_md_nlist_build_count(nl) == 1);
    /* every atom moves 0.45 Å (< skin/2): no rebuild, and the list still has every pair < 4 Å */
    uint64_t s = 17;
    for (int i = 0; i < n; i++) {
        double d[3] = {tmd_sym(&s), tmd_sym(&s), tmd_sym(&s)}, l = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
        for (int c = 0; c < 3; c++) y[3 * i + c] = x[3 * i + c] + 0.45 * d[c] / l;
    }
    CHECK_OK(ctx, st_md_nlist_update(ctx, nl, n, y, cell, pbc, &rb));
    CHECK(rb == 0);
    int64_t cnt = 0;
    CHECK_OK(ctx, st_md_nlist_pairs(ctx, nl, 4.0, NULL, NULL, NULL, 0, &cnt));
    CHECK(cnt == brute_pairs(n, y, cell, pbc, 4.0, NULL));
    /* a small homogeneous strain is tolerated by the deformation-aware test; a large one is not */
    double c2[9], z2[3 * 108];
    for (int k = 0; k < 9; k++) c2[k] = cell[k] * (k % 4 == 0 ? 1.002 : 1);
    for (int i = 0; i < 3 * n; i++) z2[i] = x[i] * ((i % 3 == 0) ? 1.002 : 1);
    CHECK_OK(ctx, st_md_nlist_update(ctx, nl, n, z2, c2, pbc, &rb));
    CHECK(rb == 0);
    CHECK_OK(ctx, st_md_nlist_pairs(ctx, nl, 4.0, NULL, NULL, NULL, 0, &cnt));
    CHECK(cnt == brute_pairs(n, z2, c2, pbc, 4.0, NULL));
    /* 10% compression: the affine map keeps pairs beyond 5 Å beyond 4.5 Å, no rebuild needed */
    for (int k = 0; k < 9; k++) c2[k] = cell[k] * (k % 4 == 0 ? 0.9 : 1);
    for (int i = 0; i < 3 * n; i++) z2[i] = x[i] * 0.9;
    CHECK_OK(ctx, st_md_nlist_update(ctx, nl, n, z2, c2, pbc, &rb));
    CHECK(rb == 0);
    CHECK_OK(ctx, st_md_nlist_pairs(ctx, nl, 4.0, NULL, NULL, NULL, 0, &cnt));
    CHECK(cnt == brute_pairs(n, z2, c2, pbc, 4.0, NULL));
    for (int k = 0; k < 9; k++) c2[k] = cell[k] * (k % 4 == 0 ? 0.75 : 1);
    for (int i = 0; i < 3 * n; i++) z2[i] = x[i] * 0.75;
    CHECK_OK(ctx, st_md_nlist_update(ctx, nl, n, z2, c2, pbc, &rb));
    CHECK(rb == 1);
    CHECK_OK(ctx, st_md_nlist_pairs(ctx, nl, 4.0, NULL, NULL, NULL, 0, &cnt));
    CHECK(cnt == brute_pairs(n, z2, c2, pbc, 4.0, NULL));
    /* one atom jumps by more than skin/2 */
    memcpy(y, x, sizeof(double) * 3 * n);
    CHECK_OK(ctx, st_md_nlist_update(ctx, nl, n, y, cell, pbc, &rb));
    y[7] += 0.51;
    CHECK_OK(ctx, st_md_nlist_update(ctx, nl, n, y, cell, pbc, &rb));
    CHECK(rb == 1);
    /* errors */
    st_md_nlist *bad = NULL;
    CHECK(st_md_nlist_create(ctx, -1, 0, 0, &bad) == ST_ERR_ARG && bad == NULL);
    y[4] = NAN;
    CHECK(st_md_nlist_update(ctx, nl, n, y, cell, pbc, &rb) == ST_ERR_NUMERIC);
    CHECK(strstr(st_ctx_message(ctx), "atom 1") != NULL);
    double sing[9] = {1, 0, 0, 2, 0, 0, 0, 0, 1};
    CHECK(st_md_nlist_update(ctx, nl, n, x, sing, pbc, &rb) == ST_ERR_ARG);
    st_md_nlist_destroy(nl);
    st_md_nlist_destroy(NULL);
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------------------------------------- */
typedef struct potcase {
    const char *name, *style, *file, *params;
    int which;           /* LAMMPS config index, or -1 = model (coordinates) */
    double h, rtol;      /* finite-difference step (Å, strain) and relative tolerance */
} potcase;

static const potcase cases[] = {
    /* plain cutoffs make E kinked where a pair crosses rc: small steps keep crossings unlikely */
    {"lj", "lj", NULL, "epsilon=0.0104 sigma=3.40 rc=7.0 shift=1", 0, 1e-7, 1e-6},
    {"morse", "morse", NULL, "D0=0.34 alpha=1.36 r0=2.87 rc=6.0 shift=1", 1, 1e-7, 1e-6},
    {"eam", "eam", LAMMPS_POT "Cu_u3.eam", NULL, 1, 1e-5, 1e-5},
    {"eam/alloy", "eam/alloy", LAMMPS_POT "CuNi.eam.alloy", NULL, 2, 1e-5, 1e-5},
    {"sw", "sw", LAMMPS_POT "Si.sw", NULL, 3, 1e-5, 1e-6},
    {"tersoff", "tersoff", LAMMPS_POT "Si.tersoff", NULL, 4, 1e-5, 1e-5},
    {"tersoff SiC", "tersoff", LAMMPS_POT "SiC.tersoff", NULL, 5, 1e-5, 1e-5},
    {"muller-brown", "muller-brown", NULL, NULL, -1, 1e-6, 1e-6},
    {"muller-brown-scaled", "muller-brown-scaled", NULL, NULL, -2, 1e-5, 1e-6},
    {"muller-brown-5d", "muller-brown-5d", NULL, NULL, -3, 1e-5, 1e-6},
    {"muller-brown-rings", "muller-brown-rings", NULL, NULL, -3, 1e-5, 1e-6},
    {"three-well", "three-well", NULL, NULL, -1, 1e-6, 1e-6},
    {"three-well-scaled", "three-well-scaled", NULL, NULL, -4, 1e-5, 1e-6},
    {"harmonic", "harmonic", NULL, "k=0.7 cx=1 cy=-2 cz=0.5", -1, 1e-5, 1e-7},
};

static void model_coords(int which, int *n, double *x)
{
    /* points away from stationary points so forces are not tiny */
    static const double p1[6] = {-0.3, 0.9, 0.2, 0.4, -0.1, 0.3};
    static const double p2[6] = {27.0, 20.0, 1.0, 0, 0, 0};
    static const double p3[6] = {30.0, 24.0, 18.0, 27.5, 23.0, 2.0};
    static const double p4[6] = {9.0, 8.0, 1.0, 0, 0, 0};
    const double *p = which == -1 ? p1 : which == -2 ? p2 : which == -3 ? p3 : p4;
    *n = 2;
    memcpy(x, p, sizeof(double) * 6);
}

static void strained(const double *x, const double *cell, int n, const double *eps, double *y, double *c2)
{
    for (int i = 0; i < n; i++)
        for (int a = 0; a < 3; a++) {
            y[3 * i + a] = x[3 * i + a];
            for (int b = 0; b < 3; b++) y[3 * i + a] += eps[3 * a + b] * x[3 * i + b];
        }
    for (int r = 0; r < 3; r++)
        for (int a = 0; a < 3; a++) {
            c2[3 * r + a] = cell[3 * r + a];
            for (int b = 0; b < 3; b++) c2[3 * r + a] += eps[3 * a + b] * cell[3 * r + b];
        }
}

TEST(finite_differences_all_potentials)
{
    st_ctx *ctx = st_ctx_create();
    static tmd_config c;
    static double f[3 * 256], y[3 * 256], ea[256];
    int nskip = 0;
    for (size_t pc = 0; pc < sizeof cases / sizeof cases[0]; pc++) {
        const potcase *P = &cases[pc];
        if (P->file && !have_file(P->file)) { nskip++; continue; }
        st_md_potential *pot = make_pot(ctx, P->style, P->file, P->params);
        CHECK(pot != NULL);
        if (!pot) continue;
        int n;
        int32_t pbc[3] = {1, 1, 1}, *z = c.z;
        if (P->which >= 0) {
            tmd_make_config(P->which, &c);
            n = c.n;
            if (P->which == 1 && !strcmp(P->style, "morse"))
                for (int i = 0; i < n; i++) c.z[i] = 29;
        } else {
            model_coords(P->which, &n, c.x);
            memset(c.cell, 0, sizeof c.cell);
            pbc[0] = pbc[1] = pbc[2] = 0;
            z = NULL;
        }
        st_md_result r = {0};
        r.forces = f;
        r.atom_energies = ea;
        CHECK_OK(ctx, st_md_potential_compute(ctx, pot, NULL, n, c.x, z, c.cell, pbc, &r));
        double e0 = r.energy, sum = 0, fmaxabs = 0;
        for (int i = 0; i < n; i++) sum += ea[i];
        CHECK_MSG(fabs(sum - e0) <= 1e-9 * (1 + fabs(e0)), "%s: per-atom energies sum to %.12g, total %.12g", P->name, sum, e0);
        for (int i = 0; i < 3 * n; i++) fmaxabs = fmax(fmaxabs, fabs(f[i]));
        /* forces: central differences on 12 coordinates */
        double worst = 0;
        for (int t = 0; t < 12; t++) {
            int k = (int)((t * 7919L) % (3 * n));
            memcpy(y, c.x, sizeof(double) * 3 * n);
            y[k] += P->h;
            double ep = energy_of(ctx, pot, n, y, z, c.cell, pbc);
            y[k] -= 2 * P->h;
            double em = energy_of(ctx, pot, n, y, z, c.cell, pbc);
            double fd = -(ep - em) / (2 * P->h);
            worst = fmax(worst, fabs(fd - f[k]) / (fmaxabs + 1e-12));
        }
        CHECK_MSG(worst < P->rtol, "%s: force vs finite difference, worst relative error %g", P->name, worst);
        /* virial: W_ab = -dE/d eps_ab by central differences of a homogeneous strain */
        double wworst = 0, wmax = 1e-12;
        for (int k = 0; k < 9; k++) wmax = fmax(wmax, fabs(r.virial[k]));
        for (int k = 0; k < 9; k++) {
            double eps[9] = {0}, c2[9];
            eps[k] = P->h;
            strained(c.x, c.cell, n, eps, y, c2);
            double ep = energy_of(ctx, pot, n, y, z, c2, pbc);
            eps[k] = -P->h;
            strained(c.x, c.cell, n, eps, y, c2);
            double em = energy_of(ctx, pot, n, y, z, c2, pbc);
            double fd = -(ep - em) / (2 * P->h);
            wworst = fmax(wworst, fabs(fd - r.virial[k]) / wmax);
        }
        CHECK_MSG(wworst < 10 * P->rtol, "%s: virial vs finite strain, worst relative error %g", P->name, wworst);
        st_md_potential_destroy(pot);
    }
    st_ctx_destroy(ctx);
    if (nskip) printf("# %d potentials not checked: files missing (install lammps-data)\n", nskip);
}

/* rotation R (row-vector convention x' = x R^T) */
static void rotate(const double *R, int n, const double *x, double *y)
{
    for (int i = 0; i < n; i++)
        for (int a = 0; a < 3; a++) y[3 * i + a] = R[3 * a] * x[3 * i] + R[3 * a + 1] * x[3 * i + 1] + R[3 * a + 2] * x[3 * i + 2];
}

TEST(invariances)
{
    if (!have_file(LAMMPS_POT "SiC.tersoff")) SKIP("lammps-data potentials not installed");
    st_ctx *ctx = st_ctx_create();
    static tmd_config c;
    static double f0[3 * 256], f1[3 * 256], y[3 * 256], cy[9];
    static int32_t z2[256];
    int32_t pbc[3] = {1, 1, 1};
    const int which[3] = {2, 3, 5};
    const char *styles[3] = {"eam/alloy", "sw", "tersoff"};
    const char *files[3] = {LAMMPS_POT "CuNi.eam.alloy", LAMMPS_POT "Si.sw", LAMMPS_POT "SiC.tersoff"};
    for (int t = 0; t < 3; t++) {
        tmd_make_config(which[t], &c);
        st_md_potential *pot = make_pot(ctx, styles[t], files[t], NULL);
        if (!pot) { CHECK(0); continue; }
        int n = c.n;
        st_md_result r0 = {0}, r1 = {0};
        r0.forces = f0;
        r1.forces = f1;
        CHECK_OK(ctx, st_md_potential_compute(ctx, pot, NULL, n, c.x, c.z, c.cell, pbc, &r0));
        double tol = 1e-10 * fabs(r0.energy);
        /* translation */
        for (int i = 0; i < 3 * n; i++) y[i] = c.x[i] + (i % 3 == 0 ? 3.7 : i % 3 == 1 ? -12.1 : 0.3);
        CHECK_OK(ctx, st_md_potential_compute(ctx, pot, NULL, n, y, c.z, c.cell, pbc, &r1));
        CHECK_NEAR(r1.energy, r0.energy, tol);
        /* rotation of positions and cell: energy invariant, forces rotate */
        double th = 0.7, ph = -0.4;
        double Rz[9] = {cos(th), -sin(th), 0, sin(th), cos(th), 0, 0, 0, 1};
        double Rx[9] = {1, 0, 0, 0, cos(ph), -sin(ph), 0, sin(ph), cos(ph)}, R[9];
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) {
                R[3 * a + b] = 0;
                for (int k = 0; k < 3; k++) R[3 * a + b] += Rz[3 * a + k] * Rx[3 * k + b];
            }
        rotate(R, n, c.x, y);
        rotate(R, 3, c.cell, cy);
        CHECK_OK(ctx, st_md_potential_compute(ctx, pot, NULL, n, y, c.z, cy, pbc, &r1));
        CHECK_NEAR(r1.energy, r0.energy, tol);
        double fr[3 * 256], worst = 0;
        rotate(R, n, f0, fr);
        for (int i = 0; i < 3 * n; i++) worst = fmax(worst, fabs(fr[i] - f1[i]));
        CHECK_MSG(worst < 1e-9, "%s: rotated forces differ by %g", styles[t], worst);
        /* permutation: reverse the atom order */
        for (int i = 0; i < n; i++) {
            memcpy(y + 3 * i, c.x + 3 * (n - 1 - i), sizeof(double) * 3);
            z2[i] = c.z[n - 1 - i];
        }
        CHECK_OK(ctx, st_md_potential_compute(ctx, pot, NULL, n, y, z2, c.cell, pbc, &r1));
        CHECK_NEAR(r1.energy, r0.energy, tol);
        worst = 0;
        for (int i = 0; i < n; i++)
            for (int a = 0; a < 3; a++) worst = fmax(worst, fabs(f1[3 * i + a] - f0[3 * (n - 1 - i) + a]));
        CHECK_MSG(worst < 1e-10, "%s: permuted forces differ by %g", styles[t], worst);
        /* cell choice: a' = a + b, b' = b, c' = c - a (unimodular) describes the same crystal */
        for (int a = 0; a < 3; a++) {
            cy[a] = c.cell[a] + c.cell[3 + a];
            cy[3 + a] = c.cell[3 + a];
            cy[6 + a] = c.cell[6 + a] - c.cell[a];
        }
        CHECK_OK(ctx, st_md_potential_compute(ctx, pot, NULL, n, c.x, c.z, cy, pbc, &r1));
        CHECK_NEAR(r1.energy, r0.energy, tol);
        for (int k = 0; k < 9; k++) CHECK_NEAR(r1.virial[k], r0.virial[k], 1e-8 * (1 + fabs(r0.virial[k])));
        st_md_potential_destroy(pot);
    }
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------------------------------------- */
/* Kernels split atoms among OpenMP threads with private force buffers; 1 and 2 threads must agree
 * to rounding (systems large enough for the kernels to use threads), and the counter-based
 * Langevin noise must make trajectories independent of the thread count. */
TEST(thread_count_does_not_change_results)
{
    st_ctx *ctx = st_ctx_create();
    const int saved = st_get_num_threads();
    static double x[3 * 6000], cell[9], f1[3 * 6000], f2[3 * 6000];
    static int32_t z[6000];
    int32_t pbc[3] = {1, 1, 1};
    const char *styles[4] = {"lj", "eam", "sw", "tersoff"};
    const char *files[4] = {NULL, LAMMPS_POT "Cu_u3.eam", LAMMPS_POT "Si.sw", LAMMPS_POT "Si.tersoff"};
    for (int t = 0; t < 4; t++) {
        if (files[t] && !have_file(files[t])) continue;
        int n;
        if (t < 2) {
            n = tmd_lattice(tmd_fcc, 4, t == 0 ? 5.3 : 3.63, 11, 11, 11, NULL, 0.1, 3, x, cell);
            for (int i = 0; i < n; i++) z[i] = t == 0 ? 18 : 29;
        } else {
            n = tmd_lattice(tmd_diamond, 8, 5.43, 6, 6, 6, NULL, 0.1, 3, x, cell);
            for (int i = 0; i < n; i++) z[i] = 14;
        }
        st_md_potential *p = make_pot(ctx, styles[t], files[t], t == 0 ? "epsilon=0.0104 sigma=3.4 rc=8.0" : NULL);
        st_md_result r1 = {0}, r2 = {0};
        r1.forces = f1;
        r2.forces = f2;
        st_set_num_threads(1);
        CHECK_OK(ctx, st_md_potential_compute(ctx, p, NULL, n, x, z, cell, pbc, &r1));
        st_set_num_threads(2);
        CHECK_OK(ctx, st_md_potential_compute(ctx, p, NULL, n, x, z, cell, pbc, &r2));
        CHECK_NEAR(r2.energy, r1.energy, 1e-12 * fabs(r1.energy));
        double worst = 0;
        for (int i = 0; i < 3 * n; i++) worst = fmax(worst, fabs(f1[i] - f2[i]));
        CHECK_MSG(worst < 1e-11, "%s: forces with 1 and 2 threads differ by %g", styles[t], worst);
        for (int k = 0; k < 9; k++) CHECK_NEAR(r2.virial[k], r1.virial[k], 1e-11 * (1 + fabs(r1.virial[k])));
        st_md_potential_destroy(p);
    }
    /* Langevin trajectories of independent oscillators: bitwise the same */
    const int n = 6000;
    static double m[6000];
    uint64_t rs = 1;
    for (int i = 0; i < 3 * n; i++) x[i] = tmd_sym(&rs);
    for (int i = 0; i < n; i++) m[i] = 10;
    st_md_potential *h = make_pot(ctx, "harmonic", NULL, "k=0.5");
    st_md_options o = {0};
    o.integrator = ST_MD_LANGEVIN;
    o.timestep = 2;
    o.temperature = 300;
    int32_t pbc0[3] = {0, 0, 0};
    st_md_sim *s[2];
    for (int k = 0; k < 2; k++) {
        st_set_num_threads(k + 1);
        CHECK_OK(ctx, st_md_sim_create(ctx, n, x, NULL, m, NULL, pbc0, &o, &s[k]));
        CHECK_OK(ctx, st_md_sim_add_potential(ctx, s[k], h));
        CHECK_OK(ctx, st_md_sim_init_velocities(ctx, s[k], 300, 4));
        CHECK_OK(ctx, st_md_sim_run(ctx, s[k], 50));
    }
    CHECK(memcmp(st_md_sim_positions(s[0]), st_md_sim_positions(s[1]), sizeof(double) * 3 * n) == 0);
    CHECK(memcmp(st_md_sim_velocities(s[0]), st_md_sim_velocities(s[1]), sizeof(double) * 3 * n) == 0);
    st_md_sim_destroy(s[0]);
    st_md_sim_destroy(s[1]);
    st_md_potential_destroy(h);
    st_set_num_threads(saved);
    st_ctx_destroy(ctx);
}

/* The LJ and Morse kernels have a fast path (no per-atom energies: SoA, compaction of the pairs
 * inside the cutoff) and a reference path; both must give the same numbers. */
TEST(pair_fast_path_matches_reference_path)
{
    st_ctx *ctx = st_ctx_create();
    static tmd_config c;
    static double f1[3 * 256], f2[3 * 256], ea[256];
    tmd_make_config(0, &c);
    const char *pp[2] = {"epsilon=0.0104 sigma=3.40 rc=7.0 shift=1", "D0=0.0104 alpha=1.1 r0=3.8 rc=7.0"};
    const char *names[2] = {"lj", "morse"};
    int32_t pbc[3] = {1, 1, 1};
    for (int k = 0; k < 2; k++) {
        st_md_potential *p = make_pot(ctx, names[k], NULL, pp[k]);
        st_md_result fast = {0}, ref = {0};
        fast.forces = f1;
        ref.forces = f2;
        ref.atom_energies = ea;
        CHECK_OK(ctx, st_md_potential_compute(ctx, p, NULL, c.n, c.x, c.z, c.cell, pbc, &fast));
        CHECK_OK(ctx, st_md_potential_compute(ctx, p, NULL, c.n, c.x, c.z, c.cell, pbc, &ref));
        CHECK_NEAR(fast.energy, ref.energy, 1e-12 * fabs(ref.energy));
        double worst = 0;
        for (int i = 0; i < 3 * c.n; i++) worst = fmax(worst, fabs(f1[i] - f2[i]));
        CHECK_MSG(worst < 1e-13, "%s: fast and reference forces differ by %g", names[k], worst);
        for (int i = 0; i < 9; i++) CHECK_NEAR(fast.virial[i], ref.virial[i], 1e-12 * (1 + fabs(ref.virial[i])));
        CHECK(fabs(ref.energy) > 0.1);
        st_md_potential_destroy(p);
    }
    st_ctx_destroy(ctx);
}

TEST(lj_analytic)
{
    st_ctx *ctx = st_ctx_create();
    const double eps = 0.0104, sig = 3.4, rc = 8.5;
    st_md_potential *plain = make_pot(ctx, "lj", NULL, "epsilon=0.0104 sigma=3.4 rc=8.5");
    st_md_potential *shift = make_pot(ctx, "lj", NULL, "epsilon=0.0104, sigma=3.4, rc=8.5, shift=1");
    CHECK(plain && shift);
    if (!plain || !shift) { st_ctx_destroy(ctx); return; }
    CHECK_NEAR(st_md_potential_cutoff(plain), 8.5, 0);
    int32_t z[2] = {18, 18}, pbc0[3] = {0, 0, 0};
    for (double r = 3.0; r < 9.0; r += 0.37) {
        double x[6] = {0, 0, 0, r * 0.6, r * 0.8, 0}, f[6];
        st_md_result res = {0};
        res.forces = f;
        CHECK_OK(ctx, st_md_potential_compute(ctx, plain, NULL, 2, x, z, NULL, pbc0, &res));
        double s6 = pow(sig / r, 6), e = r < rc ? 4 * eps * (s6 * s6 - s6) : 0;
        double dedr = r < rc ? 4 * eps * (-12 * s6 * s6 + 6 * s6) / r : 0;
        CHECK_NEAR(res.energy, e, 1e-15);
        CHECK_NEAR(f[3], -dedr * 0.6, 1e-15);
        CHECK_NEAR(f[0], dedr * 0.6, 1e-15);
        double sc = pow(sig / rc, 6);
        CHECK_NEAR(energy_of(ctx, shift, 2, x, z, NULL, pbc0), r < rc ? e - 4 * eps * (sc * sc - sc) : 0, 1e-15);
    }
    /* fcc crystal in a 1-cell periodic box (cell smaller than the cutoff) against a direct
       lattice sum over explicit images */
    double a = 5.26, x[12], cell[9];
    int n = tmd_lattice(tmd_fcc, 4, a, 1, 1, 1, NULL, 0.0, 0, x, cell);
    int32_t z4[4] = {18, 18, 18, 18}, pbc[3] = {1, 1, 1};
    double direct = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            for (int u = -3; u <= 3; u++)
                for (int v = -3; v <= 3; v++)
                    for (int w = -3; w <= 3; w++) {
                        double d[3] = {x[3 * j] + u * a - x[3 * i], x[3 * j + 1] + v * a - x[3 * i + 1], x[3 * j + 2] + w * a - x[3 * i + 2]};
                        double r = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
                        if (r > 1e-9 && r < rc) {
                            double s6 = pow(sig / r, 6);
                            direct += 0.5 * 4 * eps * (s6 * s6 - s6);
                        }
                    }
    CHECK_NEAR(energy_of(ctx, plain, n, x, z4, cell, pbc), direct, 1e-12);
    st_md_potential_destroy(plain);
    st_md_potential_destroy(shift);
    st_ctx_destroy(ctx);
}

TEST(morse_dimer)
{
    st_ctx *ctx = st_ctx_create();
    st_md_potential *p = make_pot(ctx, "morse", NULL, "D0=0.5 alpha=1.2 r0=2.5 rc=7");
    CHECK(p != NULL);
    int32_t pbc0[3] = {0, 0, 0};
    double x[6] = {1, 1, 1, 1, 1, 1 + 2.5};
    st_md_result r0 = {0};
    CHECK(st_md_potential_compute(ctx, p, NULL, 2, x, NULL, NULL, pbc0, &r0) == ST_ERR_ARG);   /* numbers required */
    int32_t z[2] = {1, 1};
    CHECK_NEAR(energy_of(ctx, p, 2, x, z, NULL, pbc0), -0.5, 1e-15);   /* minimum: -D0 at r0 */
    x[5] = 1 + 3.1;
    double e = exp(-1.2 * 0.6);
    CHECK_NEAR(energy_of(ctx, p, 2, x, z, NULL, pbc0), 0.5 * (e * e - 2 * e), 1e-15);
    st_md_potential_destroy(p);
    st_ctx_destroy(ctx);
}

TEST(cu_u3_lattice_constant_and_cohesive_energy)
{
    if (!have_file(LAMMPS_POT "Cu_u3.eam")) SKIP("Cu_u3.eam not installed (lammps-data)");
    st_ctx *ctx = st_ctx_create();
    st_md_potential *p = make_pot(ctx, "eam", LAMMPS_POT "Cu_u3.eam", NULL);
    CHECK(p != NULL);
    if (!p) { st_ctx_destroy(ctx); return; }
    CHECK_NEAR(st_md_potential_cutoff(p), 4.95, 1e-12);
    /* E(a) on a fine grid around the minimum, parabola through the lowest three points */
    double x[12], cell[9], best = 1e9, ab = 0, e[3];
    int32_t z[4] = {29, 29, 29, 29}, pbc[3] = {1, 1, 1};
    for (double a = 3.55; a <= 3.68; a += 0.001) {
        int n = tmd_lattice(tmd_fcc, 4, a, 1, 1, 1, NULL, 0, 0, x, cell);
        double en = energy_of(ctx, p, n, x, z, cell, pbc) / n;
        if (en < best) { best = en; ab = a; }
    }
    for (int k = -1; k <= 1; k++) {
        int n = tmd_lattice(tmd_fcc, 4, ab + 0.001 * k, 1, 1, 1, NULL, 0, 0, x, cell);
        e[k + 1] = energy_of(ctx, p, n, x, z, cell, pbc) / n;
    }
    double a0 = ab - 0.001 * 0.5 * (e[2] - e[0]) / (e[2] - 2 * e[1] + e[0]);
    CHECK_NEAR(a0, 3.615, 0.0005);            /* Foiles et al. PRB 33, 7983 (1986): 3.615 Å */
    CHECK_NEAR(best, -3.54, 0.0005);          /* and E_coh = 3.54 eV */
    /* zero pressure at 3.615 Å */
    int n = tmd_lattice(tmd_fcc, 4, 3.615, 1, 1, 1, NULL, 0, 0, x, cell);
    st_md_result r = {0};
    CHECK_OK(ctx, st_md_potential_compute(ctx, p, NULL, n, x, z, cell, pbc, &r));
    double P = (r.virial[0] + r.virial[4] + r.virial[8]) / 3 / (3.615 * 3.615 * 3.615) * 1.602176634e6;
    CHECK_NEAR(P, 0.0, 5.0);   /* bar */
    st_md_potential_destroy(p);
    st_ctx_destroy(ctx);
}

TEST(sw_diamond_silicon)
{
    if (!have_file(LAMMPS_POT "Si.sw")) SKIP("Si.sw not installed (lammps-data)");
    st_ctx *ctx = st_ctx_create();
    st_md_potential *p = make_pot(ctx, "sw", LAMMPS_POT "Si.sw", NULL);
    CHECK(p != NULL);
    /* ideal diamond: every bond at the pair minimum 2^(1/6) sigma gives -eps, tetrahedral angles
       make the three-body term vanish, second neighbours are beyond a sigma: E = -2 eps */
    double a = 4 * pow(2, 1.0 / 6) * 2.0951 / sqrt(3), x[3 * 64], cell[9];
    int n = tmd_lattice(tmd_diamond, 8, a, 2, 2, 2, NULL, 0, 0, x, cell);
    int32_t z[64], pbc[3] = {1, 1, 1};
    for (int i = 0; i < n; i++) z[i] = 14;
    CHECK_NEAR(energy_of(ctx, p, n, x, z, cell, pbc) / n, -2 * 2.1683, 1e-9);   /* A, B have 10 digits */
    st_md_potential_destroy(p);
    st_ctx_destroy(ctx);
}

/* Newton iteration on the gradient of a 2D model (Hessian by differences of the forces). */
static void stationary_point(st_ctx *ctx, st_md_potential *p, double *xy, double h)
{
    int32_t pbc0[3] = {0, 0, 0};
    for (int it = 0; it < 60; it++) {
        double x[3] = {xy[0], xy[1], 0}, f[3], g[2], H[4];
        st_md_result r = {0};
        r.forces = f;
        st_md_potential_compute(ctx, p, NULL, 1, x, NULL, NULL, pbc0, &r);
        g[0] = -f[0]; g[1] = -f[1];
        for (int k = 0; k < 2; k++) {
            double xp[3] = {xy[0], xy[1], 0}, xm[3] = {xy[0], xy[1], 0}, fp[3], fm[3];
            xp[k] += h; xm[k] -= h;
            st_md_result rp = {0}, rm = {0};
            rp.forces = fp; rm.forces = fm;
            st_md_potential_compute(ctx, p, NULL, 1, xp, NULL, NULL, pbc0, &rp);
            st_md_potential_compute(ctx, p, NULL, 1, xm, NULL, NULL, pbc0, &rm);
            H[k] = -(fp[0] - fm[0]) / (2 * h);
            H[2 + k] = -(fp[1] - fm[1]) / (2 * h);
        }
        double det = H[0] * H[3] - H[1] * H[2];
        xy[0] -= (H[3] * g[0] - H[1] * g[1]) / det;
        xy[1] -= (-H[2] * g[0] + H[0] * g[1]) / det;
    }
}

TEST(muller_brown_stationary_points)
{
    st_ctx *ctx = st_ctx_create();
    st_md_potential *mb = make_pot(ctx, "muller-brown", NULL, NULL);
    st_md_potential *ms = make_pot(ctx, "muller-brown-scaled", NULL, NULL);
    CHECK(mb && ms);
    if (!mb || !ms) { st_ctx_destroy(ctx); return; }
    int32_t pbc0[3] = {0, 0, 0};
    /* free-energy.md: minima and saddles of the 2D surface (3 decimals in x, y; 2 in V).  The
       document gives -46.62 for the saddle at (0.212, 0.293); the surface as defined there has
       V = -72.249 at that stationary point (the usual literature value, -72.25), so the document's
       energy is a typo and we check -72.249. */
    static const double pts[5][3] = {{-0.558, 1.442, -146.70}, {0.623, 0.028, -108.17}, {-0.050, 0.467, -80.77},
                                     {-0.822, 0.624, -40.66}, {0.212, 0.293, -72.249}};
    double e[5];
    for (int k = 0; k < 5; k++) {
        double xy[2] = {pts[k][0] + 0.02, pts[k][1] - 0.02};
        stationary_point(ctx, mb, xy, 1e-5);
        CHECK_NEAR(xy[0], pts[k][0], 0.0015);
        CHECK_NEAR(xy[1], pts[k][1], 0.0015);
        double x[3] = {xy[0], xy[1], 0};
        e[k] = energy_of(ctx, mb, 1, x, NULL, NULL, pbc0);
        CHECK_NEAR(e[k], pts[k][2], 0.006);
    }
    /* scaled version: minima (23.07, 31.07) -1.2725 eV, (41.98, 8.45) -0.9383, (31.20, 15.47)
       -0.7006; barrier from the deepest minimum to the first saddle 0.920 eV */
    static const double sp[3][3] = {{23.07, 31.07, -1.2725}, {41.98, 8.45, -0.9383}, {31.20, 15.47, -0.7006}};
    for (int k = 0; k < 3; k++) {
        double xy[2] = {sp[k][0] + 0.3, sp[k][1] - 0.3};
        stationary_point(ctx, ms, xy, 1e-4);
        CHECK_NEAR(xy[0], sp[k][0], 0.006);
        CHECK_NEAR(xy[1], sp[k][1], 0.006);
        double x[3] = {xy[0], xy[1], 0};
        CHECK_NEAR(energy_of(ctx, ms, 1, x, NULL, NULL, pbc0), sp[k][2], 0.00006);
    }
    double xs[2] = {-0.822 * 16 + 32 + 0.2, 0.624 * 16 + 8}, xm[2] = {23.07, 31.07};
    stationary_point(ctx, ms, xs, 1e-4);
    stationary_point(ctx, ms, xm, 1e-4);
    double a3[3] = {xs[0], xs[1], 0}, b3[3] = {xm[0], xm[1], 0};
    CHECK_NEAR(energy_of(ctx, ms, 1, a3, NULL, NULL, pbc0) - energy_of(ctx, ms, 1, b3, NULL, NULL, pbc0), 0.920, 0.0006);
    /* 5D embedding: at its minimum the extra coordinates sit at 25 and add nothing */
    st_md_potential *m5 = make_pot(ctx, "muller-brown-5d", NULL, NULL);
    double q[6] = {xm[0], 25, xm[1], 25, 25, 7};
    CHECK_NEAR(energy_of(ctx, m5, 2, q, NULL, NULL, pbc0), energy_of(ctx, ms, 1, b3, NULL, NULL, pbc0), 1e-14);
    q[3] = 27;
    CHECK_NEAR(energy_of(ctx, m5, 2, q, NULL, NULL, pbc0), energy_of(ctx, ms, 1, b3, NULL, NULL, pbc0) + 0.4, 1e-14);
    /* 5D rings: any rotation in the (q0, q1) and (q2, q3) planes maps a minimum onto the same
       energy; at q4 = 0 the hidden coordinates are the radii */
    st_md_potential *mr = make_pot(ctx, "muller-brown-rings", NULL, NULL);
    double th = 0.7, ph = 2.1;
    double r5[6] = {xm[0] * cos(th), xm[0] * sin(th), xm[1] * cos(ph), xm[1] * sin(ph), 0, 0};
    CHECK_NEAR(energy_of(ctx, mr, 2, r5, NULL, NULL, pbc0), energy_of(ctx, ms, 1, b3, NULL, NULL, pbc0), 1e-12);
    st_md_potential_destroy(mr);
    /* three-well: mirror symmetric in x; the scaled one is half the classic at mapped points */
    st_md_potential *tw = make_pot(ctx, "three-well", NULL, NULL), *tws = make_pot(ctx, "three-well-scaled", NULL, NULL);
    double p1[3] = {0.7, 0.3, 0}, p2[3] = {-0.7, 0.3, 0}, p3[3] = {0.7 * 4 + 7.5, 0.3 * 4 + 7.5, 0};
    CHECK_NEAR(energy_of(ctx, tw, 1, p1, NULL, NULL, pbc0), energy_of(ctx, tw, 1, p2, NULL, NULL, pbc0), 1e-14);
    CHECK_NEAR(energy_of(ctx, tws, 1, p3, NULL, NULL, pbc0), 0.5 * energy_of(ctx, tw, 1, p1, NULL, NULL, pbc0), 1e-14);
    double orig[3] = {0, 0, 0};   /* V(0,0) by hand */
    double v00 = 3 * exp(-1.0 / 9) - 3 * exp(-25.0 / 9) - 10 * exp(-1.0) + 0.2 * pow(1.0 / 3, 4);
    CHECK_NEAR(energy_of(ctx, tw, 1, orig, NULL, NULL, pbc0), v00, 1e-14);
    /* too few coordinates */
    st_md_result r = {0};
    double f3[3];
    r.forces = f3;
    CHECK(st_md_potential_compute(ctx, m5, NULL, 1, q, NULL, NULL, pbc0, &r) == ST_ERR_ARG);
    st_md_potential_destroy(mb);
    st_md_potential_destroy(ms);
    st_md_potential_destroy(m5);
    st_md_potential_destroy(tw);
    st_md_potential_destroy(tws);
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------------------------------------- */
/* A plugin: harmonic springs k/2 (r - r0)^2 between all pairs closer than rc, on the half list. */
typedef struct spring { double k, r0, rc; } spring;
static int spring_create(st_ctx *ctx, const st_md_potential_options *opt, void **state)
{
    (void)ctx; (void)opt;
    spring *s = malloc(sizeof *s);
    s->k = 2.0; s->r0 = 2.2; s->rc = 3.0;
    *state = s;
    return ST_OK;
}
static void spring_destroy(void *s) { free(s); }
static double spring_cutoff(const void *s) { return ((const spring *)s)->rc; }
static int spring_compute(st_ctx *ctx, void *state, st_md_pot_args *a)
{
    (void)ctx;
    spring *s = state;
    double e = 0;
    for (int64_t i = 0; i < a->n; i++)
        for (int64_t q = a->half_offsets[i]; q < a->half_offsets[i + 1]; q++) {
            int k = a->half_index[q];
            double d[3] = {a->x[3 * k] - a->x[3 * i], a->x[3 * k + 1] - a->x[3 * i + 1], a->x[3 * k + 2] - a->x[3 * i + 2]};
            double r = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
            if (r >= s->rc) continue;
            e += 0.5 * s->k * (r - s->r0) * (r - s->r0);
            double g = s->k * (r - s->r0) / r;
            for (int c = 0; c < 3; c++) {
                a->forces[3 * i + c] += g * d[c];
                a->forces[3 * k + c] -= g * d[c];
            }
        }
    a->energy = e;
    return ST_OK;
}

TEST(registry_and_plugins)
{
    st_ctx *ctx = st_ctx_create();
    int n0 = st_md_potential_class_count();
    CHECK(n0 >= 12);
    const char *want[] = {"lj", "morse", "eam", "eam/alloy", "sw", "tersoff", "muller-brown", "harmonic"};
    for (int w = 0; w < 8; w++) {
        int found = 0;
        for (int i = 0; i < n0; i++) found |= !strcmp(st_md_potential_class_name(i), want[w]);
        CHECK_MSG(found, "class %s missing", want[w]);
    }
    CHECK(st_md_potential_class_name(-1) == NULL && st_md_potential_class_name(n0) == NULL);
    st_md_potential *p = NULL;
    CHECK(st_md_potential_create(ctx, "nope", NULL, &p) == ST_ERR_NOTFOUND && p == NULL);
    CHECK(strstr(st_ctx_message(ctx), "unknown potential 'nope'") && strstr(st_ctx_message(ctx), "tersoff"));
    static st_md_potential_class spring_cls = {ST_MD_POTENTIAL_ABI, 0, "test-spring", "harmonic springs",
                                               spring_create, spring_destroy, spring_cutoff, spring_compute};
    static st_md_potential_class old_cls = {ST_MD_POTENTIAL_ABI + 7, 0, "test-old", "wrong ABI",
                                            spring_create, spring_destroy, spring_cutoff, spring_compute};
    CHECK_OK(ctx, st_md_potential_register(ctx, &spring_cls));
    CHECK(st_md_potential_register(ctx, &spring_cls) == ST_ERR_ARG);
    CHECK(st_md_potential_register(ctx, &old_cls) == ST_ERR_ABI);
    CHECK(strstr(st_ctx_message(ctx), "ABI") != NULL);
    CHECK(st_md_potential_class_count() == n0 + 1);
    CHECK_OK(ctx, st_md_potential_create(ctx, "test-spring", NULL, &p));
    /* plugin on a periodic chain: the framework supplies images, folds forces, makes the virial */
    double x[3 * 3] = {0.1, 0, 0, 2.3, 0.1, 0, 4.4, -0.1, 0.05}, cell[9] = {6.3, 0, 0, 0, 20, 0, 0, 0, 20}, f[9];
    int32_t z[3] = {1, 1, 1}, pbc[3] = {1, 0, 0};
    st_md_result r = {0};
    r.forces = f;
    CHECK_OK(ctx, st_md_potential_compute(ctx, p, NULL, 3, x, z, cell, pbc, &r));
    double e = 0, fb[9] = {0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int u = -2; u <= 2; u++) {
                if (u == 0 && j <= i) continue;
                if (u != 0 && j < i) continue;
                if (u < 0 && j == i) continue;
                double d[3] = {x[3 * j] + u * 6.3 - x[3 * i], x[3 * j + 1] - x[3 * i + 1], x[3 * j + 2] - x[3 * i + 2]};
                double rr = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
                if (rr >= 3.0) continue;
                e += (rr - 2.2) * (rr - 2.2);
                for (int c = 0; c < 3; c++) {
                    fb[3 * i + c] += 2.0 * (rr - 2.2) / rr * d[c];
                    fb[3 * j + c] -= 2.0 * (rr - 2.2) / rr * d[c];
                }
            }
    CHECK_NEAR(r.energy, e, 1e-13);
    for (int k = 0; k < 9; k++) CHECK_NEAR(f[k], fb[k], 1e-13);
    st_md_potential_destroy(p);
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------------------------------------- */
static char tmp_paths[8][256];
static int tmp_count;
static const char *write_tmp(const char *name, const char *text)
{
    char *p = tmp_paths[tmp_count++ & 7];
    snprintf(p, 256, "/tmp/strata_md_test_%d_%s", (int)getpid(), name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
    return p;
}

TEST(error_paths)
{
    st_ctx *ctx = st_ctx_create();
    st_md_potential *p = NULL;
    st_md_potential_options o = {0};
    /* parameters */
    o.params = "epsilon=1 sigma=abc";
    CHECK(st_md_potential_create(ctx, "lj", &o, &p) == ST_ERR_PARSE);
    CHECK(strstr(st_ctx_message(ctx), "'sigma': expected a number, got 'abc'") != NULL);
    o.params = "epsilon=1 sgima=2";
    CHECK(st_md_potential_create(ctx, "lj", &o, &p) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "unknown key 'sgima'") != NULL);
    o.params = "epsilon=1";
    CHECK(st_md_potential_create(ctx, "lj", &o, &p) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "'sigma' is required") != NULL);
    o.params = "epsilon=1 sigma=1";
    o.elements = "Ar Xx";
    CHECK(st_md_potential_create(ctx, "lj", &o, &p) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "unknown element 'Xx'") != NULL);
    /* species restriction */
    o.elements = "Ar";
    CHECK_OK(ctx, st_md_potential_create(ctx, "lj", &o, &p));
    double x[6] = {0, 0, 0, 0, 0, 1.5}, f[6];
    int32_t z[2] = {18, 36}, pbc0[3] = {0, 0, 0};
    st_md_result r = {0};
    r.forces = f;
    CHECK(st_md_potential_compute(ctx, p, NULL, 2, x, z, NULL, pbc0, &r) == ST_ERR_NOTFOUND);
    CHECK(strstr(st_ctx_message(ctx), "atom 1 is Kr") != NULL);
    /* a neighbour list that is too short for the potential */
    st_md_nlist *nl = NULL;
    CHECK_OK(ctx, st_md_nlist_create(ctx, 1.0, 0.1, 0, &nl));
    z[1] = 18;
    CHECK(st_md_potential_compute(ctx, p, nl, 2, x, z, NULL, pbc0, &r) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "below the potential cutoff") != NULL);
    st_md_nlist_destroy(nl);
    st_md_potential_destroy(p);
    /* potential files */
    o.params = NULL;
    o.elements = NULL;
    o.file = "/nonexistent/Cu.eam";
    CHECK(st_md_potential_create(ctx, "eam", &o, &p) == ST_ERR_IO);
    CHECK(strstr(st_ctx_message(ctx), "/nonexistent/Cu.eam: cannot open") != NULL);
    o.file = write_tmp("bad.eam", "comment\n29 63.55 3.615 FCC\n5 0.1 5 0.5 2.0\n1 2 3 x 5\n");
    CHECK(st_md_potential_create(ctx, "eam", &o, &p) == ST_ERR_PARSE);
    CHECK_MSG(strstr(st_ctx_message(ctx), "line 4: field 4 (F(rho) value 4 of 5): expected a number, got 'x'") != NULL,
              "message: %s", st_ctx_message(ctx));
    o.file = write_tmp("short.eam", "comment\n29 63.55 3.615 FCC\n5 0.1 5 0.5 2.0\n1 2 3 4 5\n1 2\n");
    CHECK(st_md_potential_create(ctx, "eam", &o, &p) == ST_ERR_PARSE);
    CHECK_MSG(strstr(st_ctx_message(ctx), "Z(r) value 3 of 5") && strstr(st_ctx_message(ctx), "ended"), "message: %s",
              st_ctx_message(ctx));
    o.file = write_tmp("grid.eam", "comment\n29 63.55 3.615 FCC\n5 0.1 5\n");
    CHECK(st_md_potential_create(ctx, "eam", &o, &p) == ST_ERR_PARSE);
    CHECK_MSG(strstr(st_ctx_message(ctx), "line 3") != NULL, "message: %s", st_ctx_message(ctx));
    o.file = write_tmp("bad.eam.alloy", "c1\nc2\nc3\n2 Cu Qq\n");
    CHECK(st_md_potential_create(ctx, "eam/alloy", &o, &p) == ST_ERR_PARSE);
    CHECK(strstr(st_ctx_message(ctx), "line 4: field 3 (element): unknown element 'Qq'") != NULL);
    o.file = write_tmp("bad.sw", "# comment\nSi Si Si 2.1683 2.0951 1.80 21.0 1.20 -0.333 7.05 0.602 4.0 0.0 zz\n");
    CHECK(st_md_potential_create(ctx, "sw", &o, &p) == ST_ERR_PARSE);
    CHECK_MSG(strstr(st_ctx_message(ctx), "line 2: field 14 (tol of Si-Si-Si): expected a number, got 'zz'") != NULL,
              "message: %s", st_ctx_message(ctx));
    o.file = write_tmp("missing.sw", "Si Si Si 2.1683 2.0951 1.80 21.0 1.20 -0.333 7.05 0.602 4.0 0.0 0\n"
                                     "C C C 2.1683 2.0951 1.80 21.0 1.20 -0.333 7.05 0.602 4.0 0.0 0\n");
    CHECK(st_md_potential_create(ctx, "sw", &o, &p) == ST_ERR_PARSE);
    CHECK_MSG(strstr(st_ctx_message(ctx), "no entry for Si-Si-C") != NULL, "message: %s", st_ctx_message(ctx));
    /* selecting one element of a two-element file works */
    o.elements = "Si";
    CHECK_OK(ctx, st_md_potential_create(ctx, "sw", &o, &p));
    st_md_potential_destroy(p);
    o.elements = NULL;
    if (have_file(LAMMPS_POT "Cu_u3.eam")) {
        o.file = LAMMPS_POT "Cu_u3.eam";
        CHECK_OK(ctx, st_md_potential_create(ctx, "eam", &o, &p));
        double y[6] = {0, 0, 0, 2.5, 0, 0};
        int32_t zz[2] = {29, 28};
        CHECK(st_md_potential_compute(ctx, p, NULL, 2, y, zz, NULL, pbc0, &r) == ST_ERR_NOTFOUND);
        CHECK_MSG(strstr(st_ctx_message(ctx), "Cu_u3.eam") && strstr(st_ctx_message(ctx), "atom 1 is Ni (Z=28)") &&
                  strstr(st_ctx_message(ctx), "it has: Cu"), "message: %s", st_ctx_message(ctx));
        st_md_potential_destroy(p);
    }
    st_md_potential_destroy(NULL);
    for (int k = 0; k < tmp_count && k < 8; k++) unlink(tmp_paths[k]);
    st_ctx_destroy(ctx);
}

int main(void)
{
    RUN(philox_known_answers);
    RUN(nlist_against_brute_force);
    RUN(nlist_skin_and_rebuild);
    RUN(finite_differences_all_potentials);
    RUN(invariances);
    RUN(pair_fast_path_matches_reference_path);
    RUN(thread_count_does_not_change_results);
    RUN(lj_analytic);
    RUN(morse_dimer);
    RUN(cu_u3_lattice_constant_and_cohesive_energy);
    RUN(sw_diamond_silicon);
    RUN(muller_brown_stationary_points);
    RUN(registry_and_plugins);
    RUN(error_paths);
    return DONE();
}
