/* Tests for the MD integrators: option checks, NVE energy conservation (bound and second-order
 * scaling with the time step) for LJ and EAM, canonical sampling by Langevin BAOAB (exact
 * configurational sampling of harmonic oscillators) and Nosé-Hoover chains (temperature,
 * Maxwell-Boltzmann velocities, canonical kinetic-energy fluctuations), the NPT barostat against
 * the exact ideal-gas volume distribution and, for a solid, the isotropic/anisotropic/triclinic
 * variants against each other and the compressibility, bit-identical restarts, explosion recovery
 * and interrupts.
 *
 * Statistical tolerances: each check states its expected standard error; tolerances are 4-6 of
 * those (the random streams are fixed, so the outcome is deterministic, but the bounds are set as
 * if they were not). */
#include "check.h"
#include "test_md_util.h"

static const double KB = 8.617333262e-5, MVV2E = 103.64269652680505, BAR = 1.602176634e6;

static int have(const char *p) { return access(p, R_OK) == 0; }

static st_md_potential *pot(st_ctx *ctx, const char *name, const char *file, const char *params)
{
    st_md_potential_options o = {0};
    o.file = file;
    o.params = params;
    st_md_potential *p = NULL;
    if (st_md_potential_create(ctx, name, &o, &p)) printf("#   %s\n", st_ctx_message(ctx));
    return p;
}

static st_md_sim *sim_of(st_ctx *ctx, int n, const double *x, const int32_t *z, const double *m, const double *cell,
                         const int32_t *pbc, const st_md_options *o, st_md_potential *p)
{
    st_md_sim *s = NULL;
    if (st_md_sim_create(ctx, n, x, z, m, cell, pbc, o, &s)) {
        printf("#   create: %s\n", st_ctx_message(ctx));
        return NULL;
    }
    if (p && st_md_sim_add_potential(ctx, s, p)) printf("#   add: %s\n", st_ctx_message(ctx));
    return s;
}

/* mean and standard error with blocking (blocks of b samples) */
static void mean_se(const double *v, int n, int b, double *mean, double *se)
{
    double m = 0;
    for (int i = 0; i < n; i++) m += v[i];
    m /= n;
    int nb = n / b;
    double s = 0;
    for (int k = 0; k < nb; k++) {
        double bm = 0;
        for (int i = 0; i < b; i++) bm += v[k * b + i];
        bm /= b;
        s += (bm - m) * (bm - m);
    }
    *mean = m;
    *se = sqrt(s / (nb - 1) / nb);
}

/* ---------------------------------------------------------------------------------------------- */
TEST(options_and_errors)
{
    st_ctx *ctx = st_ctx_create();
    double x[6] = {0, 0, 0, 1, 1, 1}, cell[9] = {10, 0, 0, 0, 10, 0, 0, 0, 10};
    int32_t z[2] = {18, 18}, pbc[3] = {1, 1, 1}, pbc2[3] = {1, 1, 0};
    st_md_sim *s = NULL;
    st_md_options o = {0};
    CHECK(st_md_sim_create(ctx, 2, x, z, NULL, cell, pbc, &o, &s) == ST_ERR_ARG && s == NULL);
    CHECK(strstr(st_ctx_message(ctx), "options.timestep must be > 0 fs, got 0") != NULL);
    o.timestep = -1;
    CHECK(st_md_sim_create(ctx, 2, x, z, NULL, cell, pbc, &o, &s) == ST_ERR_ARG);
    o.timestep = 1;
    o.integrator = ST_MD_LANGEVIN;
    CHECK(st_md_sim_create(ctx, 2, x, z, NULL, cell, pbc, &o, &s) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "options.temperature must be > 0 K") != NULL);
    o.temperature = -5;
    o.integrator = ST_MD_NHC;
    CHECK(st_md_sim_create(ctx, 2, x, z, NULL, cell, pbc, &o, &s) == ST_ERR_ARG);
    o.temperature = 300;
    o.integrator = ST_MD_NPT;
    CHECK(st_md_sim_create(ctx, 2, x, z, NULL, cell, pbc2, &o, &s) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "all three axes") != NULL);
    o.barostat = ST_MD_BARO_TRI;
    double rot[9] = {7, 7, 0, -7, 7, 0, 0, 0, 10};
    CHECK(st_md_sim_create(ctx, 2, x, z, NULL, rot, pbc, &o, &s) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "lower-triangular") != NULL);
    o.integrator = 9;
    CHECK(st_md_sim_create(ctx, 2, x, z, NULL, cell, pbc, &o, &s) == ST_ERR_ARG);
    o.integrator = ST_MD_NVE;
    o.barostat = 0;
    int32_t z0[2] = {0, 0};
    CHECK(st_md_sim_create(ctx, 2, x, z0, NULL, cell, pbc, &o, &s) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "atom 0: no standard mass for Z=0") != NULL);
    double m[2] = {1, -1};
    CHECK(st_md_sim_create(ctx, 2, x, z0, m, cell, pbc, &o, &s) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "atom 1: mass must be > 0") != NULL);
    double sing[9] = {1, 0, 0, 1, 0, 0, 0, 0, 1};
    CHECK(st_md_sim_create(ctx, 2, x, z, NULL, sing, pbc, &o, &s) == ST_ERR_ARG);
    CHECK_OK(ctx, st_md_sim_create(ctx, 2, x, z, NULL, cell, pbc, &o, &s));
    CHECK(st_md_sim_run(ctx, s, -1) == ST_ERR_ARG);
    CHECK(st_md_sim_init_velocities(ctx, s, -1, 0) == ST_ERR_ARG);
    unsigned char junk[64] = {0};
    CHECK(st_md_sim_restore(ctx, s, junk, sizeof junk) == ST_ERR_FORMAT);
    CHECK(st_md_sim_save(ctx, s, junk, sizeof junk) == ST_ERR_ARG);
    CHECK(st_md_sim_count(s) == 2);
    st_md_sim_destroy(s);
    st_md_sim_destroy(NULL);
    st_ctx_destroy(ctx);
}

TEST(init_velocities_and_thermo)
{
    st_ctx *ctx = st_ctx_create();
    double x[3 * 108], cell[9];
    int n = tmd_lattice(tmd_fcc, 4, 5.3, 3, 3, 3, NULL, 0.05, 3, x, cell);
    int32_t z[108], pbc[3] = {1, 1, 1};
    for (int i = 0; i < n; i++) z[i] = 18;
    st_md_potential *lj = pot(ctx, "lj", NULL, "epsilon=0.0104 sigma=3.4 rc=8.0");
    st_md_options o = {0};
    o.timestep = 5;
    st_md_sim *s = sim_of(ctx, n, x, z, NULL, cell, pbc, &o, lj);
    CHECK_OK(ctx, st_md_sim_init_velocities(ctx, s, 77.0, 5));
    st_md_thermo th;
    CHECK_OK(ctx, st_md_sim_thermo(ctx, s, &th));
    CHECK_NEAR(th.dof, 3.0 * n - 3, 0);     /* NVE with a translation-invariant potential */
    CHECK_NEAR(th.temperature, 77.0, 1e-9);
    const double *v = st_md_sim_velocities(s), *m = st_md_sim_masses(s);
    double p[3] = {0, 0, 0}, ke = 0;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) {
            p[c] += m[i] * v[3 * i + c];
            ke += 0.5 * m[i] * v[3 * i + c] * v[3 * i + c] * MVV2E;
        }
    for (int c = 0; c < 3; c++) CHECK_NEAR(p[c], 0, 1e-12);
    CHECK_NEAR(th.kinetic_energy, ke, 1e-12);
    CHECK_NEAR(m[0], 39.948, 0.01);
    /* pressure = (sum m v v + W) / V, W from the potential */
    st_md_result r = {0};
    CHECK_OK(ctx, st_md_potential_compute(ctx, lj, NULL, n, x, z, cell, pbc, &r));
    double V = fabs(st_cell_volume(cell)), kxx = 0;
    for (int i = 0; i < n; i++) kxx += m[i] * v[3 * i] * v[3 * i] * MVV2E;
    CHECK_NEAR(th.pressure_tensor[0], (kxx + r.virial[0]) / V * BAR, 1e-9 * fabs(th.pressure_tensor[0]));
    CHECK_NEAR(th.potential_energy, r.energy, 1e-12);
    CHECK_NEAR(th.volume, V, 1e-9);
    st_md_sim_destroy(s);
    /* Langevin does not conserve momentum: 3N degrees of freedom */
    o.integrator = ST_MD_LANGEVIN;
    o.temperature = 50;
    s = sim_of(ctx, n, x, z, NULL, cell, pbc, &o, lj);
    CHECK_OK(ctx, st_md_sim_thermo(ctx, s, &th));
    CHECK_NEAR(th.dof, 3.0 * n, 0);
    st_md_sim_destroy(s);
    st_md_potential_destroy(lj);
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------------------------------------- */
/* max |E(t) - E(0)| / N over a run, sampled every 5 steps */
static double nve_deviation(st_ctx *ctx, st_md_potential *p, int n, const double *x, const int32_t *z, const double *cell,
                            double T, double dt, int nsteps, double *momentum)
{
    int32_t pbc[3] = {1, 1, 1};
    st_md_options o = {0};
    o.timestep = dt;
    o.skin = 1.0;
    st_md_sim *s = sim_of(ctx, n, x, z, NULL, cell, pbc, &o, p);
    if (!s) return NAN;
    st_md_sim_init_velocities(ctx, s, T, 42);
    st_md_thermo th;
    st_md_sim_thermo(ctx, s, &th);
    double e0 = th.conserved, worst = 0;
    for (int k = 0; k < nsteps / 5; k++) {
        if (st_md_sim_run(ctx, s, 5)) { printf("#   run: %s\n", st_ctx_message(ctx)); worst = NAN; break; }
        st_md_sim_thermo(ctx, s, &th);
        worst = fmax(worst, fabs(th.conserved - e0));
    }
    const double *v = st_md_sim_velocities(s), *m = st_md_sim_masses(s);
    double pm = 0;
    for (int c = 0; c < 3; c++) {
        double q = 0;
        for (int i = 0; i < n; i++) q += m[i] * v[3 * i + c];
        pm = fmax(pm, fabs(q));
    }
    if (momentum) *momentum = pm;
    st_md_sim_destroy(s);
    return worst / n;
}

TEST(nve_energy_conservation)
{
    st_ctx *ctx = st_ctx_create();
    static double x[3 * 256], cell[9];
    static int32_t z[256];
    /* LJ argon, 256 atoms, solid near 120 K (tau = 2.1 ps; dt = 8 fs = 0.004 tau) */
    int n = tmd_lattice(tmd_fcc, 4, 5.40, 4, 4, 4, NULL, 0.0, 1, x, cell);
    for (int i = 0; i < n; i++) z[i] = 18;
    st_md_potential *lj = pot(ctx, "lj", NULL, "epsilon=0.0104 sigma=3.40 rc=8.5 shift=1");
    double p1, p2;
    double d1 = nve_deviation(ctx, lj, n, x, z, cell, 120, 8.0, 1000, &p1);
    double d2 = nve_deviation(ctx, lj, n, x, z, cell, 120, 4.0, 2000, &p2);
    printf("# LJ NVE: max |E - E0|/N = %.3g eV (dt 8 fs), %.3g (dt 4 fs), ratio %.3f\n", d1, d2, d1 / d2);
    CHECK(d1 < 5e-5);              /* 0.05 meV/atom for 8 ps at 1/250 of the LJ time */
    CHECK(d1 / d2 > 3.0 && d1 / d2 < 5.3);   /* velocity Verlet is second order: ratio 4 */
    CHECK(p1 < 1e-12 && p2 < 1e-12);          /* total momentum stays zero */
    st_md_potential_destroy(lj);
    if (have(LAMMPS_POT "Cu_u3.eam")) {
        /* EAM copper, 256 atoms at 600 K */
        n = tmd_lattice(tmd_fcc, 4, 3.615, 4, 4, 4, NULL, 0.0, 1, x, cell);
        for (int i = 0; i < n; i++) z[i] = 29;
        st_md_potential *eam = pot(ctx, "eam", LAMMPS_POT "Cu_u3.eam", NULL);
        d1 = nve_deviation(ctx, eam, n, x, z, cell, 1200, 2.0, 1000, &p1);
        d2 = nve_deviation(ctx, eam, n, x, z, cell, 1200, 1.0, 2000, &p2);
        printf("# EAM NVE: max |E - E0|/N = %.3g eV (dt 2 fs), %.3g (dt 1 fs), ratio %.3f\n", d1, d2, d1 / d2);
        CHECK(d1 < 4e-4);
        CHECK(d1 / d2 > 3.0 && d1 / d2 < 5.3);
        CHECK(p1 < 1e-10 && p2 < 1e-10);
        st_md_potential_destroy(eam);
    }
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------------------------------------- */
/* Velocity components scaled to unit variance: fraction within 1 and 2 sigma, kurtosis. */
typedef struct mbstat { double n, in1, in2, m2, m4; } mbstat;
static void mb_add(mbstat *st, st_md_sim *s, double T)
{
    const double *v = st_md_sim_velocities(s), *m = st_md_sim_masses(s);
    int64_t n = st_md_sim_count(s);
    for (int64_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++) {
            double u = v[3 * i + c] * sqrt(m[i] * MVV2E / (KB * T));
            st->n++;
            st->in1 += fabs(u) < 1;
            st->in2 += fabs(u) < 2;
            st->m2 += u * u;
            st->m4 += u * u * u * u;
        }
}

TEST(langevin_harmonic_oscillators)
{
    /* 512 independent 3D oscillators, k = 0.1 eV/Å^2, m = 100 amu (period 2 ps), T = 300 K.
       BAOAB samples the configurations of a harmonic oscillator exactly for any step, so
       <U> = 3/2 N kT; <K> = 3/2 N kT up to O((omega dt)^2) = 0.4%. */
    st_ctx *ctx = st_ctx_create();
    const int n = 512;
    static double x[3 * 512], m[512];
    uint64_t rs = 7;
    for (int i = 0; i < 3 * n; i++) x[i] = tmd_sym(&rs);
    for (int i = 0; i < n; i++) m[i] = 100;
    int32_t pbc[3] = {0, 0, 0};
    st_md_options o = {0};
    o.integrator = ST_MD_LANGEVIN;
    o.timestep = 20;
    o.temperature = 300;
    o.friction = 0.01;
    o.seed = 2024;
    st_md_potential *h = pot(ctx, "harmonic", NULL, "k=0.1");
    st_md_sim *s = sim_of(ctx, n, x, NULL, m, NULL, pbc, &o, h);
    CHECK_OK(ctx, st_md_sim_init_velocities(ctx, s, 300, 1));
    CHECK_OK(ctx, st_md_sim_run(ctx, s, 500));
    const int ns = 3000;
    static double U[3000], K[3000];
    mbstat mb = {0};
    st_md_thermo th;
    double e0 = 0;
    for (int k = 0; k < ns; k++) {
        CHECK_OK(ctx, st_md_sim_run(ctx, s, 5));
        st_md_sim_thermo(ctx, s, &th);
        if (k == 0) e0 = th.conserved;
        U[k] = th.potential_energy;
        K[k] = th.kinetic_energy;
        if (k % 10 == 0) mb_add(&mb, s, 300);
    }
    const double kT = KB * 300, target = 1.5 * n * kT;
    double mu, seu, mk, sek;
    mean_se(U, ns, 60, &mu, &seu);
    mean_se(K, ns, 60, &mk, &sek);
    printf("# Langevin oscillators: <U>/(3/2 N kT) = %.4f +- %.4f, <K>/(3/2 N kT) = %.4f +- %.4f\n", mu / target,
           seu / target, mk / target, sek / target);
    CHECK(fabs(mu / target - 1) < 0.012);   /* standard error ~0.25% */
    CHECK(fabs(mk / target - 1) < 0.012);
    /* canonical kinetic-energy fluctuations: var K = (3N/2) (kT)^2 */
    double vk = 0;
    for (int k = 0; k < ns; k++) vk += (K[k] - mk) * (K[k] - mk);
    vk /= ns - 1;
    double want = 1.5 * n * kT * kT;
    printf("# Langevin oscillators: var K / (3N/2 (kT)^2) = %.3f\n", vk / want);
    CHECK(fabs(vk / want - 1) < 0.15);      /* standard error ~4% for ~600 independent samples */
    /* Maxwell-Boltzmann velocities: 460k components, ~1e5 independent */
    double f1 = mb.in1 / mb.n, f2 = mb.in2 / mb.n, kurt = (mb.m4 / mb.n) / ((mb.m2 / mb.n) * (mb.m2 / mb.n));
    printf("# Langevin MB: P(|u|<1) = %.4f (0.6827), P(|u|<2) = %.4f (0.9545), kurtosis %.3f (3)\n", f1, f2, kurt);
    CHECK(fabs(f1 - 0.682689) < 0.006);
    CHECK(fabs(f2 - 0.954500) < 0.003);
    CHECK(fabs(kurt - 3.0) < 0.06);
    /* E + heat is conserved up to the integration error */
    st_md_sim_thermo(ctx, s, &th);
    CHECK_MSG(fabs(th.conserved - e0) / n < 2e-3, "E + heat drifted by %g eV/atom", (th.conserved - e0) / n);
    st_md_sim_destroy(s);
    st_md_potential_destroy(h);
    st_ctx_destroy(ctx);
}

TEST(nose_hoover_chain_canonical)
{
    if (!have(LAMMPS_POT "Cu_u3.eam")) SKIP("Cu_u3.eam not installed (lammps-data)");
    /* Cu EAM, 108 atoms, 500 K, chain of 3, tau 50 fs */
    st_ctx *ctx = st_ctx_create();
    static double x[3 * 108], cell[9];
    int32_t z[108], pbc[3] = {1, 1, 1};
    int n = tmd_lattice(tmd_fcc, 4, 3.63, 3, 3, 3, NULL, 0.0, 1, x, cell);
    for (int i = 0; i < n; i++) z[i] = 29;
    st_md_potential *eam = pot(ctx, "eam", LAMMPS_POT "Cu_u3.eam", NULL);
    st_md_options o = {0};
    o.integrator = ST_MD_NHC;
    o.timestep = 2;
    o.temperature = 500;
    o.tau_t = 50;
    st_md_sim *s = sim_of(ctx, n, x, z, NULL, cell, pbc, &o, eam);
    CHECK_OK(ctx, st_md_sim_init_velocities(ctx, s, 500, 3));
    CHECK_OK(ctx, st_md_sim_run(ctx, s, 2000));
    st_md_thermo th;
    st_md_sim_thermo(ctx, s, &th);
    const double h0 = th.conserved;
    const int ns = 4000;
    static double T[4000], K[4000];
    mbstat mb = {0};
    double hdev = 0;
    for (int k = 0; k < ns; k++) {
        CHECK_OK(ctx, st_md_sim_run(ctx, s, 5));
        st_md_sim_thermo(ctx, s, &th);
        T[k] = th.temperature;
        K[k] = th.kinetic_energy;
        hdev = fmax(hdev, fabs(th.conserved - h0));
        if (k % 4 == 0) mb_add(&mb, s, 500);
    }
    double mt, se;
    mean_se(T, ns, 100, &mt, &se);
    printf("# NHC: <T> = %.2f +- %.2f K (500), max |H - H0|/N = %.2g eV\n", mt, se, hdev / n);
    CHECK(fabs(mt - 500) < 7.5);            /* standard error ~1.5 K */
    CHECK(hdev / n < 2e-4);
    double mk = 0, vk = 0;
    for (int k = 0; k < ns; k++) mk += K[k];
    mk /= ns;
    for (int k = 0; k < ns; k++) vk += (K[k] - mk) * (K[k] - mk);
    vk /= ns - 1;
    double kT = KB * 500, want = 0.5 * th.dof * kT * kT;
    printf("# NHC: var K / (dof/2 (kT)^2) = %.3f (canonical 1; microcanonical about 0.5)\n", vk / want);
    CHECK(fabs(vk / want - 1) < 0.2);
    double f1 = mb.in1 / mb.n, kurt = (mb.m4 / mb.n) / ((mb.m2 / mb.n) * (mb.m2 / mb.n));
    printf("# NHC MB: P(|u|<1) = %.4f (0.6827), kurtosis %.3f (3)\n", f1, kurt);
    CHECK(fabs(f1 - 0.682689) < 0.01);
    CHECK(fabs(kurt - 3.0) < 0.1);
    st_md_sim_destroy(s);
    st_md_potential_destroy(eam);
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------------------------------------- */
TEST(npt_ideal_gas_volume_distribution)
{
    /* N free particles at constant P: p(V) ~ V^N exp(-P V / kT), a Gamma distribution with
       <V> = (N + 1) kT/P and var V = (N + 1) (kT/P)^2.  With N = 8 the (N + 1) differs from N by
       12%, so this checks the exact form of the stochastic cell rescaling, not just its average. */
    st_ctx *ctx = st_ctx_create();
    const int n = 8;
    const double T = 300, P = 500, kTP = KB * T / (P / BAR);
    double x[3 * 8], m[8], cell[9] = {9, 0, 0, 0, 9, 0, 0, 0, 9};
    int32_t z[8], pbc[3] = {1, 1, 1};
    uint64_t rs = 3;
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < 3; c++) x[3 * i + c] = 9 * tmd_uniform(&rs);
        m[i] = 40;
        z[i] = 18;
    }
    st_md_options o = {0};
    o.integrator = ST_MD_NPT;
    o.barostat = ST_MD_BARO_ISO;
    o.timestep = 10;
    o.temperature = T;
    o.friction = 0.02;
    o.pressure = P;
    o.tau_p = 200;
    o.compressibility = 1.0 / P;
    o.seed = 77;
    st_md_sim *s = sim_of(ctx, n, x, z, m, cell, pbc, &o, NULL);
    CHECK_OK(ctx, st_md_sim_init_velocities(ctx, s, T, 9));
    CHECK_OK(ctx, st_md_sim_run(ctx, s, 2000));
    const int ns = 40000;
    static double V[40000];
    for (int k = 0; k < ns; k++) {
        CHECK_OK(ctx, st_md_sim_run(ctx, s, 10));
        V[k] = st_cell_volume(st_md_sim_cell(s));
    }
    double mv, se;
    mean_se(V, ns, 400, &mv, &se);
    double var = 0;
    for (int k = 0; k < ns; k++) var += (V[k] - mv) * (V[k] - mv);
    var /= ns - 1;
    printf("# NPT ideal gas: <V> = %.2f +- %.2f Å^3, exact (N+1)kT/P = %.2f (N kT/P = %.2f); var V / exact = %.3f\n", mv, se,
           (n + 1) * kTP, n * kTP, var / ((n + 1) * kTP * kTP));
    CHECK(fabs(mv - (n + 1) * kTP) < 4 * se + 0.01 * mv);
    CHECK(fabs(var / ((n + 1) * kTP * kTP) - 1) < 0.1);
    /* isotropic scaling keeps the shape */
    const double *c = st_md_sim_cell(s);
    CHECK_NEAR(c[0], c[4], 1e-9 * c[0]);
    CHECK_NEAR(c[1], 0, 1e-12);
    st_md_sim_destroy(s);
    st_ctx_destroy(ctx);
}

TEST(npt_solid_iso_aniso_tri)
{
    if (!have(LAMMPS_POT "Cu_u3.eam")) SKIP("Cu_u3.eam not installed (lammps-data)");
    /* Cu EAM, 108 atoms, 300 K, P = 0.  The three barostat variants must agree on <V> and on the
       volume fluctuations, which thermodynamics fixes: var V = kT V / B.  B at 300 K from the
       static equation of state B = V d2E/dV2 (3.615 Å) is about 138 GPa; thermal softening is a
       few percent, well inside the tolerance. */
    st_ctx *ctx = st_ctx_create();
    static double x[3 * 108], cell[9];
    int32_t z[108], pbc[3] = {1, 1, 1};
    st_md_potential *eam = pot(ctx, "eam", LAMMPS_POT "Cu_u3.eam", NULL);
    /* static bulk modulus by finite differences of E(V) */
    double e[3], a0 = 3.615, da = 0.002;
    for (int k = -1; k <= 1; k++) {
        int n = tmd_lattice(tmd_fcc, 4, a0 + k * da, 1, 1, 1, NULL, 0, 0, x, cell);
        int32_t z4[4] = {29, 29, 29, 29};
        st_md_result r = {0};
        st_md_potential_compute(ctx, eam, NULL, n, x, z4, cell, pbc, &r);
        e[k + 1] = r.energy / 4;
    }
    /* E(a) per atom, V = a^3/4: B = V d2E/dV2 = (1/(9 V)) a^2 E''(a) at the minimum */
    double Va = a0 * a0 * a0 / 4, d2 = (e[0] - 2 * e[1] + e[2]) / (da * da), B = a0 * a0 * d2 / (9 * Va);
    printf("# Cu_u3 static bulk modulus %.1f GPa\n", B * 160.21766);
    double meanV[3], varV[3];
    for (int b = 0; b < 3; b++) {
        double tilt[3] = {0, 0, 0};
        int n = tmd_lattice(tmd_fcc, 4, 3.63, 3, 3, 3, tilt, 0.0, 1, x, cell);
        for (int i = 0; i < n; i++) z[i] = 29;
        st_md_options o = {0};
        o.integrator = ST_MD_NPT;
        o.barostat = b;
        o.timestep = 4;
        o.temperature = 300;
        o.friction = 0.02;
        o.pressure = 0;
        o.tau_p = 400;
        o.compressibility = 1.0 / (B * BAR);
        o.seed = 100 + b;
        st_md_sim *s = sim_of(ctx, n, x, z, NULL, cell, pbc, &o, eam);
        CHECK_OK(ctx, st_md_sim_init_velocities(ctx, s, 300, 4));
        CHECK_OK(ctx, st_md_sim_run(ctx, s, 1000));
        const int ns = 4000;
        static double V[4000];
        double offd = 0;
        for (int k = 0; k < ns; k++) {
            CHECK_OK(ctx, st_md_sim_run(ctx, s, 5));
            const double *c = st_md_sim_cell(s);
            V[k] = st_cell_volume(c);
            offd = fmax(offd, fabs(c[3]) + fabs(c[6]) + fabs(c[7]));
        }
        double mv, se, var = 0;
        mean_se(V, ns, 400, &mv, &se);   /* blocks of 8 ps, 20 tau_p */
        for (int k = 0; k < ns; k++) var += (V[k] - mv) * (V[k] - mv);
        var /= ns - 1;
        double want = KB * 300 * mv / B;
        printf("# NPT Cu %s: <V>/atom = %.4f +- %.4f Å^3, var V / (kT V/B) = %.3f, max |off-diagonal| %.3g Å\n",
               b == 0 ? "iso" : b == 1 ? "aniso" : "tri", mv / n, se / n, var / want, offd);
        CHECK(fabs(var / want - 1) < 0.3);   /* ~200 independent volumes: standard error ~10% */
        if (b < 2) CHECK(offd == 0);          /* iso and aniso keep the orthorhombic cell */
        else CHECK(offd > 0);
        meanV[b] = mv / n;
        varV[b] = se / n;
        st_md_sim_destroy(s);
    }
    /* same mean volume within the statistical errors, and thermal expansion relative to 3.615 */
    for (int b = 1; b < 3; b++) CHECK(fabs(meanV[b] - meanV[0]) < 5 * sqrt(varV[b] * varV[b] + varV[0] * varV[0]) + 1e-3);
    CHECK(meanV[0] > Va && meanV[0] < Va * 1.02);
    st_md_potential_destroy(eam);
    st_ctx_destroy(ctx);
}

/* ---------------------------------------------------------------------------------------------- */
typedef struct rcase { const char *name, *style, *file, *params; int which, integ, baro; double dt; } rcase;

TEST(restart_is_bit_identical)
{
    static const rcase cases[] = {
        {"nve eam", "eam", LAMMPS_POT "Cu_u3.eam", NULL, 1, ST_MD_NVE, 0, 2},
        {"langevin sw", "sw", LAMMPS_POT "Si.sw", NULL, 3, ST_MD_LANGEVIN, 0, 1},
        {"nhc lj", "lj", NULL, "epsilon=0.0104 sigma=3.40 rc=7.0", 0, ST_MD_NHC, 0, 10},
        {"npt tri lj", "lj", NULL, "epsilon=0.0104 sigma=3.40 rc=7.0", 0, ST_MD_NPT, ST_MD_BARO_TRI, 10},
        {"npt iso tersoff", "tersoff", LAMMPS_POT "SiC.tersoff", NULL, 5, ST_MD_NPT, ST_MD_BARO_ISO, 0.5},
    };
    st_ctx *ctx = st_ctx_create();
    static tmd_config c;
    int skipped = 0;
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const rcase *R = &cases[t];
        if (R->file && !have(R->file)) { skipped++; continue; }
        tmd_make_config(R->which, &c);
        st_md_potential *p = pot(ctx, R->style, R->file, R->params);
        int32_t pbc[3] = {1, 1, 1};
        st_md_options o = {0};
        o.integrator = R->integ;
        o.barostat = R->baro;
        o.timestep = R->dt;
        o.temperature = 600;
        o.pressure = 1000;
        o.tau_p = 100;
        o.compressibility = 1e-5;
        o.skin = 0.3;              /* small skin: several rebuilds within the run */
        o.rebuild_every = 3;
        o.seed = 11;
        st_md_sim *a = sim_of(ctx, c.n, c.x, c.z, NULL, c.cell, pbc, &o, p);
        st_md_sim *b = sim_of(ctx, c.n, c.x, c.z, NULL, c.cell, pbc, &o, p);
        st_md_sim *fresh = sim_of(ctx, c.n, c.x, c.z, NULL, c.cell, pbc, &o, p);
        st_md_sim_init_velocities(ctx, a, 600, 8);
        st_md_sim_init_velocities(ctx, b, 600, 8);
        CHECK_OK(ctx, st_md_sim_run(ctx, a, 80));
        CHECK_OK(ctx, st_md_sim_run(ctx, b, 40));
        size_t len = st_md_sim_state_size(b);
        void *buf = malloc(len);
        CHECK_OK(ctx, st_md_sim_save(ctx, b, buf, len));
        CHECK_OK(ctx, st_md_sim_run(ctx, b, 40));
        CHECK_OK(ctx, st_md_sim_restore(ctx, fresh, buf, len));
        CHECK_OK(ctx, st_md_sim_run(ctx, fresh, 40));
        size_t bytes = sizeof(double) * 3 * (size_t)c.n;
        CHECK_MSG(memcmp(st_md_sim_positions(a), st_md_sim_positions(b), bytes) == 0, "%s: continuous run not reproducible", R->name);
        CHECK_MSG(memcmp(st_md_sim_positions(a), st_md_sim_positions(fresh), bytes) == 0, "%s: restored positions differ", R->name);
        CHECK_MSG(memcmp(st_md_sim_velocities(a), st_md_sim_velocities(fresh), bytes) == 0, "%s: restored velocities differ", R->name);
        CHECK_MSG(memcmp(st_md_sim_cell(a), st_md_sim_cell(fresh), 9 * sizeof(double)) == 0, "%s: restored cell differs", R->name);
        st_md_thermo ta, tf;
        st_md_sim_thermo(ctx, a, &ta);
        st_md_sim_thermo(ctx, fresh, &tf);
        CHECK(ta.step == 80 && tf.step == 80);
        CHECK(ta.nlist_builds > 2 && ta.nlist_builds == tf.nlist_builds);
        CHECK(ta.potential_energy == tf.potential_energy);
        if (R->integ != ST_MD_NPT) CHECK(ta.conserved == tf.conserved);
        /* the saved run must also have moved: not a trivially identical state */
        CHECK(memcmp(st_md_sim_positions(a), c.x, bytes) != 0);
        /* a state from another system is refused */
        if (t == 0) {
            st_md_sim *other = sim_of(ctx, 4, c.x, c.z, NULL, c.cell, pbc, &o, p);
            CHECK(st_md_sim_restore(ctx, other, buf, len) == ST_ERR_ARG);
            CHECK(strstr(st_ctx_message(ctx), "atoms") != NULL);
            st_md_sim_destroy(other);
            ((char *)buf)[0] = 'X';
            CHECK(st_md_sim_restore(ctx, fresh, buf, len) == ST_ERR_FORMAT);
            CHECK(st_md_sim_restore(ctx, fresh, buf, 10) == ST_ERR_FORMAT);
        }
        free(buf);
        st_md_sim_destroy(a);
        st_md_sim_destroy(b);
        st_md_sim_destroy(fresh);
        st_md_potential_destroy(p);
    }
    st_ctx_destroy(ctx);
    if (skipped) printf("# %d cases not run: lammps-data potentials not installed\n", skipped);
}

/* ---------------------------------------------------------------------------------------------- */
TEST(explosion_keeps_last_good_state)
{
    st_ctx *ctx = st_ctx_create();
    static double x[3 * 108], cell[9];
    int32_t z[108], pbc[3] = {1, 1, 1};
    int n = tmd_lattice(tmd_fcc, 4, 5.3, 3, 3, 3, NULL, 0.1, 5, x, cell);
    for (int i = 0; i < n; i++) z[i] = 18;
    st_md_potential *lj = pot(ctx, "lj", NULL, "epsilon=0.0104 sigma=3.40 rc=8.0");
    for (int pass = 0; pass < 2; pass++) {
        st_md_options o = {0};
        o.timestep = 50;                        /* far too long for argon: the run blows up */
        o.max_energy_change = pass == 0 ? 0 : -1;   /* pass 1: only NaN/inf or a failed step stop it */
        st_md_sim *s = sim_of(ctx, n, x, z, NULL, cell, pbc, &o, lj);
        st_md_sim_init_velocities(ctx, s, 300, 1);
        int rc = st_md_sim_run(ctx, s, 5000);
        CHECK(rc == ST_ERR_NUMERIC);
        printf("# explosion (%s): %s\n", pass == 0 ? "energy check" : "NaN only", st_ctx_message(ctx));
        CHECK(strstr(st_ctx_message(ctx), "stopped, state restored to step") != NULL);
        if (pass == 0) CHECK(strstr(st_ctx_message(ctx), "options.max_energy_change") != NULL);
        st_md_thermo th;
        CHECK_OK(ctx, st_md_sim_thermo(ctx, s, &th));
        CHECK(isfinite(th.potential_energy) && isfinite(th.kinetic_energy));
        CHECK(th.step > 10 && th.step < 5000);
        /* the kept state is exactly the state a run of th.step steps produces */
        st_md_sim *s2 = sim_of(ctx, n, x, z, NULL, cell, pbc, &o, lj);
        st_md_sim_init_velocities(ctx, s2, 300, 1);
        CHECK_OK(ctx, st_md_sim_run(ctx, s2, th.step));
        CHECK(memcmp(st_md_sim_positions(s), st_md_sim_positions(s2), sizeof(double) * 3 * n) == 0);
        CHECK(memcmp(st_md_sim_velocities(s), st_md_sim_velocities(s2), sizeof(double) * 3 * n) == 0);
        double fw = 0;   /* forces: recomputed after a list rebuild, so equal to rounding */
        for (int i = 0; i < 3 * n; i++) fw = fmax(fw, fabs(st_md_sim_forces(s)[i] - st_md_sim_forces(s2)[i]));
        CHECK(fw < 1e-10);
        st_md_sim_destroy(s2);
        st_md_sim_destroy(s);
    }
    st_md_potential_destroy(lj);
    st_ctx_destroy(ctx);
}

static int progress_calls;
static void interrupt_at_third(void *ud, const char *what, double done, double total)
{
    (void)ud; (void)done; (void)total;
    if (!strcmp(what, "md run") && ++progress_calls == 3) st_interrupt();
}

TEST(interrupts_and_progress)
{
    st_ctx *ctx = st_ctx_create();
    double x[3 * 32], cell[9];
    int32_t z[32], pbc[3] = {1, 1, 1};
    int n = tmd_lattice(tmd_fcc, 4, 5.3, 2, 2, 2, NULL, 0.05, 5, x, cell);
    for (int i = 0; i < n; i++) z[i] = 18;
    st_md_potential *lj = pot(ctx, "lj", NULL, "epsilon=0.0104 sigma=3.40 rc=5.0");
    st_md_options o = {0};
    o.timestep = 5;
    st_md_sim *s = sim_of(ctx, n, x, z, NULL, cell, pbc, &o, lj);
    st_interrupt();
    CHECK(st_md_sim_run(ctx, s, 10) == ST_ERR_INTERRUPTED);
    CHECK(strstr(st_ctx_message(ctx), "md run: interrupted") != NULL);
    st_md_thermo th;
    st_md_sim_thermo(ctx, s, &th);
    CHECK(th.step == 0);
    st_interrupt_clear();
    st_ctx_set_progress(ctx, interrupt_at_third, NULL);
    CHECK(st_md_sim_run(ctx, s, 1000) == ST_ERR_INTERRUPTED);   /* progress every 10 steps */
    st_md_sim_thermo(ctx, s, &th);
    CHECK_MSG(th.step == 30, "stopped at step %lld", (long long)th.step);
    st_interrupt_clear();
    st_ctx_set_progress(ctx, NULL, NULL);
    CHECK_OK(ctx, st_md_sim_run(ctx, s, 20));
    st_md_sim_thermo(ctx, s, &th);
    CHECK(th.step == 50);
    st_md_sim_destroy(s);
    st_md_potential_destroy(lj);
    st_ctx_destroy(ctx);
}

int main(void)
{
    RUN(options_and_errors);
    RUN(init_velocities_and_thermo);
    RUN(nve_energy_conservation);
    RUN(langevin_harmonic_oscillators);
    RUN(nose_hoover_chain_canonical);
    RUN(npt_ideal_gas_volume_distribution);
    RUN(npt_solid_iso_aniso_tri);
    RUN(restart_is_bit_identical);
    RUN(explosion_keeps_last_good_state);
    RUN(interrupts_and_progress);
    return DONE();
}
