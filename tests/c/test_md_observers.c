/* Tests for the MD observers: RDF of an ideal gas (g = 1, also beyond half the cell), of perfect
 * crystals (peak positions and coordination numbers, partial RDFs of rock salt), MSD and VACF of
 * free Langevin particles against the exact discrete-time results of the BAOAB scheme, sampling
 * strides and error paths. */
#include "check.h"
#include "test_md_util.h"

static const double KB = 8.617333262e-5, MVV2E = 103.64269652680505;

TEST(rdf_ideal_gas)
{
    st_ctx *ctx = st_ctx_create();
    const int n = 400, frames = 40;
    static double x[3 * 400];
    double L = 20, cell[9] = {L, 0, 0, 0, L, 0, 0, 0, L};
    int32_t pbc[3] = {1, 1, 1};
    for (int pass = 0; pass < 2; pass++) {
        double rmax = pass == 0 ? 9.0 : 14.0;     /* 14 Å is beyond half the cell: images count */
        st_md_observer_options o = {0};
        o.kind = ST_MD_OBS_RDF;
        o.rmax = rmax;
        o.nbins = (int)(rmax / 0.25);
        st_md_observer *obs = NULL;
        CHECK_OK(ctx, st_md_observer_create(ctx, &o, &obs));
        uint64_t s = 5 + pass;
        for (int f = 0; f < frames; f++) {
            for (int i = 0; i < 3 * n; i++) x[i] = L * tmd_uniform(&s);
            CHECK_OK(ctx, st_md_observer_sample(ctx, obs, n, x, NULL, NULL, cell, pbc, f));
        }
        CHECK(st_md_observer_samples(obs) == frames);
        int64_t nb = st_md_observer_length(obs);
        double r[64], g[64], worst = 0;
        CHECK_OK(ctx, st_md_observer_result(ctx, obs, r, g, nb));
        for (int k = 0; k < nb; k++) {
            if (r[k] < 2.0) continue;
            /* expected count of ordered pairs in the bin; Poisson error */
            double shell = 4.0 / 3.0 * M_PI * (pow(r[k] + 0.125, 3) - pow(r[k] - 0.125, 3));
            double cnt = (double)n * (n - 1) / (L * L * L) * shell * frames;
            worst = fmax(worst, fabs(g[k] - 1) * sqrt(cnt / 2));   /* pairs counted twice */
        }
        CHECK_MSG(worst < 5, "ideal gas g(r) deviates by %.2f standard errors (rmax %g)", worst, rmax);
        CHECK_NEAR(r[0], 0.125, 1e-12);
        st_md_observer_destroy(obs);
    }
    st_ctx_destroy(ctx);
}

/* coordination number up to rc from g: (N - 1)/V * integral 4 pi r^2 g dr over the bins */
static double coordination(const double *r, const double *g, int nb, double dr, double rho, double rc)
{
    double c = 0;
    for (int k = 0; k < nb; k++)
        if (r[k] < rc) c += rho * g[k] * 4.0 / 3.0 * M_PI * (pow(r[k] + dr / 2, 3) - pow(r[k] - dr / 2, 3));
    return c;
}

TEST(rdf_crystals)
{
    st_ctx *ctx = st_ctx_create();
    static double x[3 * 256], cell[9];
    int32_t pbc[3] = {1, 1, 1};
    /* fcc: 12 neighbours at a/sqrt2, 6 at a */
    double a = 3.615;
    int n = tmd_lattice(tmd_fcc, 4, a, 3, 3, 3, NULL, 0, 0, x, cell);
    st_md_observer_options o = {0};
    o.kind = ST_MD_OBS_RDF;
    o.rmax = 6.0;
    o.nbins = 600;
    st_md_observer *obs = NULL;
    CHECK_OK(ctx, st_md_observer_create(ctx, &o, &obs));
    CHECK_OK(ctx, st_md_observer_sample(ctx, obs, n, x, NULL, NULL, cell, pbc, 0));
    static double r[600], g[600];
    CHECK_OK(ctx, st_md_observer_result(ctx, obs, r, g, 600));
    double V = st_cell_volume(cell), rho = (n - 1) / V;
    CHECK_NEAR(coordination(r, g, 600, 0.01, rho, 3.0), 12, 1e-9);
    CHECK_NEAR(coordination(r, g, 600, 0.01, rho, 4.0), 18, 1e-9);
    CHECK_NEAR(coordination(r, g, 600, 0.01, rho, 4.8), 42, 1e-9);
    int kmax = 0;
    for (int k = 0; k < 600; k++)
        if (g[k] > g[kmax]) kmax = k;
    CHECK_NEAR(r[kmax], a / sqrt(2), 0.006);
    st_md_observer_destroy(obs);
    /* rock salt (Na at fcc sites, Cl shifted by a/2): partial g_NaCl has 6 neighbours at a/2,
       g_NaNa 12 at a/sqrt2 */
    a = 5.64;
    n = tmd_lattice(tmd_fcc, 4, a, 2, 2, 2, NULL, 0, 0, x, cell);
    static int32_t z[64];
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < 3; c++) x[3 * (n + i) + c] = x[3 * i + c] + (c == 0 ? a / 2 : 0);
        z[i] = 11;
        z[n + i] = 17;
    }
    V = st_cell_volume(cell);
    o.rmax = 5.0;
    o.nbins = 500;
    o.species_a = 11;
    o.species_b = 17;
    CHECK_OK(ctx, st_md_observer_create(ctx, &o, &obs));
    CHECK_OK(ctx, st_md_observer_sample(ctx, obs, 2 * n, x, NULL, z, cell, pbc, 0));
    CHECK_OK(ctx, st_md_observer_result(ctx, obs, r, g, 500));
    CHECK_NEAR(coordination(r, g, 500, 0.01, n / V, 3.5), 6, 1e-9);
    st_md_observer_destroy(obs);
    o.species_b = 11;
    CHECK_OK(ctx, st_md_observer_create(ctx, &o, &obs));
    CHECK_OK(ctx, st_md_observer_sample(ctx, obs, 2 * n, x, NULL, z, cell, pbc, 0));
    CHECK_OK(ctx, st_md_observer_result(ctx, obs, r, g, 500));
    CHECK_NEAR(coordination(r, g, 500, 0.01, (n - 1) / V, 3.5), 0, 1e-12);
    CHECK_NEAR(coordination(r, g, 500, 0.01, (n - 1) / V, 4.5), 12, 1e-9);
    st_md_observer_destroy(obs);
    st_ctx_destroy(ctx);
}

TEST(msd_vacf_free_langevin_particles)
{
    /* Free particles under BAOAB: the O step is an exact AR(1) process, v_{n+1} = c v_n + noise,
       c = exp(-gamma dt), so <v_0 . v_k> = 3 (kT/m) c^k exactly, and the position update
       x_{n+1} = x_n + dt/2 (v_n + v_{n+1}) gives MSD(k) = dt^2/4 sum_{j,l<k} <(v_j + v_{j+1}).(v_l + v_{l+1})>. */
    st_ctx *ctx = st_ctx_create();
    const int n = 400, nlag = 40;
    const double T = 300, m0 = 40, gamma = 0.02, dt = 5;
    static double x[3 * 400], m[400];
    double L = 30, cell[9] = {L, 0, 0, 0, L, 0, 0, 0, L};
    int32_t pbc[3] = {1, 1, 1};
    uint64_t s = 9;
    for (int i = 0; i < 3 * n; i++) x[i] = L * tmd_uniform(&s);
    for (int i = 0; i < n; i++) m[i] = m0;
    st_md_options o = {0};
    o.integrator = ST_MD_LANGEVIN;
    o.timestep = dt;
    o.temperature = T;
    o.friction = gamma;
    o.seed = 31;
    st_md_sim *sim = NULL;
    CHECK_OK(ctx, st_md_sim_create(ctx, n, x, NULL, m, cell, pbc, &o, &sim));
    CHECK_OK(ctx, st_md_sim_init_velocities(ctx, sim, T, 2));
    st_md_observer_options oo = {0};
    oo.kind = ST_MD_OBS_MSD;
    oo.nlags = nlag;
    oo.origin_every = 4;
    st_md_observer *msd = NULL, *vacf = NULL, *every2 = NULL;
    CHECK_OK(ctx, st_md_observer_create(ctx, &oo, &msd));
    oo.kind = ST_MD_OBS_VACF;
    CHECK_OK(ctx, st_md_observer_create(ctx, &oo, &vacf));
    oo.stride = 2;
    CHECK_OK(ctx, st_md_observer_create(ctx, &oo, &every2));
    CHECK_OK(ctx, st_md_sim_attach(ctx, sim, msd));
    CHECK_OK(ctx, st_md_sim_attach(ctx, sim, vacf));
    CHECK_OK(ctx, st_md_sim_attach(ctx, sim, every2));
    CHECK_OK(ctx, st_md_sim_attach(ctx, sim, vacf));   /* attaching twice is a no-op */
    CHECK_OK(ctx, st_md_sim_run(ctx, sim, 8000));
    CHECK(st_md_observer_samples(msd) == 8000 && st_md_observer_samples(every2) == 4000);
    st_md_sim_detach(sim, every2);
    CHECK_OK(ctx, st_md_sim_run(ctx, sim, 2));
    CHECK(st_md_observer_samples(every2) == 4000);
    double t[40], y[40], yv[40];
    CHECK_OK(ctx, st_md_observer_result(ctx, msd, t, y, nlag));
    CHECK_OK(ctx, st_md_observer_result(ctx, vacf, t, yv, nlag));
    CHECK_NEAR(t[1], dt, 1e-12);
    CHECK_NEAR(t[10], 10 * dt, 1e-12);
    const double s2 = KB * T / (m0 * MVV2E), c = exp(-gamma * dt);
    double worst_v = 0, worst_m = 0;
    for (int k = 0; k < nlag; k++) {
        double vex = 3 * s2 * pow(c, k);
        double mex = 0;
        for (int j = 0; j < k; j++)
            for (int l = 0; l < k; l++) {
                int d = j - l;
                mex += 3 * s2 * (2 * pow(c, abs(d)) + pow(c, abs(d + 1)) + pow(c, abs(d - 1)));
            }
        mex *= dt * dt / 4;
        worst_v = fmax(worst_v, fabs(yv[k] - vex) / (3 * s2));
        if (k > 0) worst_m = fmax(worst_m, fabs(y[k] - mex) / mex);
        if (k == 0) CHECK_NEAR(y[0], 0, 1e-20);
    }
    printf("# free particles: VACF worst error %.4f of <v^2>, MSD worst relative error %.4f\n", worst_v, worst_m);
    CHECK(worst_v < 0.03);     /* standard error ~0.5% */
    CHECK(worst_m < 0.04);     /* ~1% at the longest lags */
    /* the long-lag MSD slope approaches 6 D with D = kT/(m gamma) (Einstein relation) */
    double D = KB * T / (m0 * MVV2E * gamma), slope = (y[nlag - 1] - y[nlag - 11]) / (10 * dt);
    CHECK(slope > 0.6 * 6 * D && slope < 1.05 * 6 * D);
    st_md_sim_destroy(sim);
    st_md_observer_destroy(msd);
    st_md_observer_destroy(vacf);
    st_md_observer_destroy(every2);
    st_ctx_destroy(ctx);
}

TEST(observer_errors)
{
    st_ctx *ctx = st_ctx_create();
    st_md_observer_options o = {0};
    st_md_observer *obs = NULL;
    o.kind = ST_MD_OBS_RDF;
    CHECK(st_md_observer_create(ctx, &o, &obs) == ST_ERR_ARG && obs == NULL);
    CHECK(strstr(st_ctx_message(ctx), "rmax") != NULL);
    o.kind = 7;
    CHECK(st_md_observer_create(ctx, &o, &obs) == ST_ERR_ARG);
    o.kind = ST_MD_OBS_RDF;
    o.rmax = 3;
    CHECK_OK(ctx, st_md_observer_create(ctx, &o, &obs));
    double x[6] = {0, 0, 0, 1, 1, 1}, r[200], g[200];
    int32_t pbc0[3] = {0, 0, 0}, pbc[3] = {1, 1, 1};
    double cell[9] = {5, 0, 0, 0, 5, 0, 0, 0, 5};
    CHECK(st_md_observer_sample(ctx, obs, 2, x, NULL, NULL, NULL, pbc0, 0) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "periodic") != NULL);
    CHECK_OK(ctx, st_md_observer_sample(ctx, obs, 2, x, NULL, NULL, cell, pbc, 0));
    CHECK(st_md_observer_sample(ctx, obs, 1, x, NULL, NULL, cell, pbc, 0) == ST_ERR_ARG);
    CHECK(st_md_observer_result(ctx, obs, r, g, 10) == ST_ERR_ARG);
    st_md_observer_reset(obs);
    CHECK(st_md_observer_samples(obs) == 0);
    CHECK_OK(ctx, st_md_observer_sample(ctx, obs, 1, x, NULL, NULL, cell, pbc, 0));
    st_md_observer_destroy(obs);
    o.kind = ST_MD_OBS_VACF;
    CHECK_OK(ctx, st_md_observer_create(ctx, &o, &obs));
    CHECK(st_md_observer_sample(ctx, obs, 2, x, NULL, NULL, NULL, pbc0, 0) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "velocities") != NULL);
    o.kind = ST_MD_OBS_MSD;
    o.species_a = 29;
    st_md_observer *m2 = NULL;
    CHECK_OK(ctx, st_md_observer_create(ctx, &o, &m2));
    int32_t z[2] = {1, 1};
    CHECK(st_md_observer_sample(ctx, m2, 2, x, NULL, z, NULL, pbc0, 0) == ST_ERR_ARG);
    CHECK(strstr(st_ctx_message(ctx), "no atom of species Z=29") != NULL);
    st_md_observer_destroy(obs);
    st_md_observer_destroy(m2);
    st_md_observer_destroy(NULL);
    st_ctx_destroy(ctx);
}

int main(void)
{
    RUN(rdf_ideal_gas);
    RUN(rdf_crystals);
    RUN(msd_vacf_free_langevin_particles);
    RUN(observer_errors);
    return DONE();
}
