/* integrate.c -- one MD step for each ensemble.
 *
 * NVE: velocity Verlet (Swope, Andersen, Berens & Wilson, JCP 76, 637 (1982)).
 * Langevin: BAOAB (Leimkuhler & Matthews, AMRX 2013, 34-56): half kick, half drift, exact
 *   Ornstein-Uhlenbeck step v <- c1 v + sqrt((1 - c1^2) kT/m) xi with c1 = exp(-gamma dt), half
 *   drift, force, half kick.  The kinetic energy removed by O steps is accumulated ("heat") so
 *   E + heat is the conserved quantity whose drift measures the integration error.
 * NHC: Nosé-Hoover chains (Martyna, Klein & Tuckerman, JCP 97, 2635 (1992)) integrated with the
 *   Trotter splitting of Martyna, Tuckerman, Tobias & Klein, Mol. Phys. 87, 1117 (1996):
 *   exp(iL_NHC dt/2) exp(iL_kick dt/2) exp(iL_drift dt) exp(iL_kick dt/2) exp(iL_NHC dt/2),
 *   the NHC factor split into n_c sub-steps and third-order Suzuki-Yoshida weights.
 *   Masses Q_1 = N_f kT tau^2, Q_j = kT tau^2.  Conserved: E + sum Q v_xi^2/2 + N_f kT xi_1
 *   + kT sum_{j>1} xi_j.
 * NPT: BAOAB + stochastic cell rescaling (Bernetti & Bussi, JCP 153, 114107 (2020)), applied
 *   every barostat_stride steps after the AOA part, with velocities scaled inversely to positions:
 *   isotropic (with the instantaneous kinetic energy in P_int, Euler-Maruyama in eps = ln V, the
 *   scheme of their reference SimpleMD implementation):
 *     d eps = beta_T/tau_p (P_int - P0) dt + sqrt(2 kT beta_T / (V tau_p)) dW,
 *   positions and cell x exp(d eps/3), velocities / exp(d eps/3).  The target is
 *   p(V) ~ V^N exp(-(U + P0 V)/kT) (with the kinetic energy: p(eps | scaled momenta) ~
 *   V exp(-(U + K + P0 V)/kT), whose Ito drift needs no kT/V term in eps = ln V).
 *   Anisotropic: the same for each diagonal strain with beta_T/(3 tau_p) and noise
 *   sqrt(2 kT beta_T/(3 V tau_p)) per component (no correction term; Lebesgue measure on the
 *   three box lengths, uniform in V like the isotropic case).
 *   Triclinic: six strains of the upper-triangular (column) cell matrix h, h <- exp(d eps) h,
 *   d eps_ab = beta_T/(3 tau_p) (P_ab - P0 delta_ab + (kT/V) g_a delta_ab) dt + noise, with
 *   g = (2, 0, -2).  Derived here (docs/md.md): the target measure is the fully flexible one of
 *   Martyna, Tobias & Klein (JCP 101, 4177 (1994)), det(h)^-2 dh over all nine elements, which
 *   on upper-triangular h (QR Jacobian h11^2 h22) becomes h22^-1 h33^-2 dh; g collects its
 *   derivative (0, -1, -2), the Ito divergence of the linear map eps -> eps h (3, 2, 1) and the
 *   exponential update (-1, -1, -1).  Its trace is 0, so the volume sees no extra drift.
 *   The pressure uses the virial of the last force evaluation (half a step old), as GROMACS does;
 *   the scheme is first order in the barostat and exact as dt -> 0.
 *
 * Not done: thermostat choices for NPT other than Langevin; MTK barostats; constraints.
 */
#include "sim_internal.h"
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void md_thermostat_init(st_md_sim *s)
{
    double kT = MD_KB * s->opt.temperature, tau = s->opt.tau_t;
    double dof = md_dof(s);
    for (int j = 0; j < MD_NHC_MAX; j++) s->nhc_q[j] = kT * tau * tau;
    s->nhc_q[0] = dof * kT * tau * tau;
}

double md_conserved(const st_md_sim *s, double ke)
{
    double e = s->epot + ke;
    switch (s->opt.integrator) {
    case ST_MD_NVE: return e;
    case ST_MD_LANGEVIN: return e + s->thermo.heat;
    case ST_MD_NHC: {
        double kT = MD_KB * s->opt.temperature;
        for (int j = 0; j < s->opt.nhc_length; j++) {
            e += 0.5 * s->nhc_q[j] * s->thermo.vxi[j] * s->thermo.vxi[j];
            e += (j == 0 ? md_dof(s) : 1.0) * kT * s->thermo.xi[j];
        }
        return e;
    }
    default: return NAN;
    }
}

static void kick(st_md_sim *s, double h)
{
    const int64_t n = s->n;
    double *v = s->v;
    const double *f = s->f, *acc = s->acc;
#pragma omp parallel for num_threads(st_threads()) schedule(static) if (n > 20000)
    for (int64_t i = 0; i < n; i++) {
        double c = h * acc[i];
        v[3 * i] += c * f[3 * i];
        v[3 * i + 1] += c * f[3 * i + 1];
        v[3 * i + 2] += c * f[3 * i + 2];
    }
}

static void drift(st_md_sim *s, double h)
{
    const int64_t n3 = 3 * s->n;
    double *x = s->x;
    const double *v = s->v;
#pragma omp parallel for num_threads(st_threads()) schedule(static) if (n3 > 60000)
    for (int64_t i = 0; i < n3; i++) x[i] += h * v[i];
}

/* Half drift, exact OU velocity update, half drift (the AOA of BAOAB).  Normal number j of the
 * step (3 per atom) is component j % 2 of Philox block j / 2, so the result does not depend on
 * the thread count. */
static void aoa(st_md_sim *s, double dt)
{
    const int64_t n = s->n;
    const double c1 = exp(-s->opt.friction * dt), kT = MD_KB * s->opt.temperature;
    const double w = sqrt(1.0 - c1 * c1);
    const uint64_t seed = s->seed, step = (uint64_t)s->step;
    double part[64 * 8];
    memset(part, 0, sizeof part);
    int nth = st_threads();
    if (nth > 64) nth = 64;
    if ((int64_t)nth > n / 2048 + 1) nth = (int)(n / 2048 + 1);
#pragma omp parallel num_threads(nth)
    {
#ifdef _OPENMP
        int t = omp_get_thread_num(), T = omp_get_num_threads();
#else
        int t = 0, T = 1;
#endif
        double heat = 0;
        for (int64_t i = n * t / T; i < n * (t + 1) / T; i++) {
            double *x = s->x + 3 * i, *v = s->v + 3 * i;
            double g[4];
            int64_t j0 = 3 * i;
            md_gauss2(seed, MD_STREAM_LANGEVIN, step, (uint32_t)(j0 / 2), &g[0], &g[1]);
            md_gauss2(seed, MD_STREAM_LANGEVIN, step, (uint32_t)(j0 / 2 + 1), &g[2], &g[3]);
            const double *gi = g + (j0 & 1);
            double sd = w * sqrt(kT * s->acc[i]);
            double k0 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
            for (int c = 0; c < 3; c++) {
                x[c] += 0.5 * dt * v[c];
                v[c] = c1 * v[c] + sd * gi[c];
                x[c] += 0.5 * dt * v[c];
            }
            double k1 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
            heat += 0.5 * s->m[i] * (k0 - k1);
        }
        part[8 * t] = heat;
    }
    double heat = 0;
    for (int t = 0; t < nth; t++) heat += part[8 * t];
    s->thermo.heat += heat * MD_MVV2E;
}

/* exp(iL_NHC h) with n_c sub-steps and Suzuki-Yoshida order 3 (MTTK 1996): thermostat velocities
 * swept from the end of the chain with exp(-v_{j+1} d/4) scalings around each G_j d/2 kick, the
 * particle velocities scaled by exp(-v_1 d), then the sweep back. */
static void nhc_half(st_md_sim *s, double h)
{
    const int M = s->opt.nhc_length, nc = s->opt.nhc_substeps;
    const double kT = MD_KB * s->opt.temperature, dof = md_dof(s);
    const double w1 = 1.0 / (2.0 - cbrt(2.0)), wsy[3] = {w1, 1.0 - 2.0 * w1, w1};
    double *vx = s->thermo.vxi, *xi = s->thermo.xi;
    const double *Q = s->nhc_q;
    double ke2 = 2.0 * md_kinetic(s), scale = 1.0;
    for (int c = 0; c < nc; c++)
        for (int y = 0; y < 3; y++) {
            double d = wsy[y] * h / nc;
#define GFORCE(j) ((j) == 0 ? (ke2 - dof * kT) / Q[0] : (Q[(j) - 1] * vx[(j) - 1] * vx[(j) - 1] - kT) / Q[j])
            vx[M - 1] += 0.5 * d * GFORCE(M - 1);
            for (int j = M - 2; j >= 0; j--) {
                double e = exp(-0.25 * d * vx[j + 1]);
                vx[j] = (vx[j] * e + 0.5 * d * GFORCE(j)) * e;
            }
            double sc = exp(-d * vx[0]);
            scale *= sc;
            ke2 *= sc * sc;
            for (int j = 0; j < M; j++) xi[j] += d * vx[j];
            for (int j = 0; j < M - 1; j++) {
                double e = exp(-0.25 * d * vx[j + 1]);
                vx[j] = (vx[j] * e + 0.5 * d * GFORCE(j)) * e;
            }
            vx[M - 1] += 0.5 * d * GFORCE(M - 1);
#undef GFORCE
        }
    const int64_t n3 = 3 * s->n;
    for (int64_t i = 0; i < n3; i++) s->v[i] *= scale;
}

/* exp of a small upper-triangular 3x3 matrix by its Taylor series (|E| ~ 1e-4: 10 terms is
 * far beyond double precision). */
static void expm3(const double *E, double *M)
{
    double term[9], tmp[9];
    for (int i = 0; i < 9; i++) M[i] = term[i] = (i % 4 == 0);
    for (int k = 1; k <= 10; k++) {
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                double v = 0;
                for (int l = 0; l < 3; l++) v += term[3 * i + l] * E[3 * l + j];
                tmp[3 * i + j] = v / k;
            }
        memcpy(term, tmp, sizeof term);
        for (int i = 0; i < 9; i++) M[i] += term[i];
    }
}

/* Stochastic cell rescaling; see the file comment for the equations. */
static void barostat(st_md_sim *s)
{
    const double dt = s->opt.timestep * s->opt.barostat_stride;
    const double bT = s->opt.compressibility, tp = s->opt.tau_p, P0 = s->opt.pressure;
    const double V = fabs(st_cell_volume(s->cell));
    const double kTV = MD_KB * s->opt.temperature / V * MD_EVA3_TO_BAR;   /* bar */
    double kt[9] = {0};
    for (int64_t i = 0; i < s->n; i++)
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) kt[3 * a + b] += s->m[i] * s->v[3 * i + a] * s->v[3 * i + b];
    double P[9];
    for (int a = 0; a < 9; a++) P[a] = (kt[a] * MD_MVV2E + s->virial[a]) / V * MD_EVA3_TO_BAR;
    double g[6];
    md_gauss2(s->seed, MD_STREAM_BARO, (uint64_t)s->step, 0, &g[0], &g[1]);
    md_gauss2(s->seed, MD_STREAM_BARO, (uint64_t)s->step, 1, &g[2], &g[3]);
    md_gauss2(s->seed, MD_STREAM_BARO, (uint64_t)s->step, 2, &g[4], &g[5]);
    double E[9] = {0};
    if (s->opt.barostat == ST_MD_BARO_ISO) {
        double Pint = (P[0] + P[4] + P[8]) / 3.0;
        double de = bT / tp * (Pint - P0) * dt + sqrt(2.0 * kTV * bT * dt / tp) * g[0];
        E[0] = E[4] = E[8] = de / 3.0;
    } else {
        const double a3 = bT / (3.0 * tp), sd = sqrt(2.0 * kTV * bT * dt / (3.0 * tp));
        static const double gcorr[3] = {2.0, 0.0, -2.0};
        int k = 0;
        for (int a = 0; a < 3; a++)
            for (int b = a; b < 3; b++) {
                if (a != b && s->opt.barostat != ST_MD_BARO_TRI) continue;
                double drift = P[3 * a + b];
                if (a == b) {
                    drift -= P0;
                    if (s->opt.barostat == ST_MD_BARO_TRI) drift += kTV * gcorr[a];
                }
                E[3 * a + b] = a3 * drift * dt + sd * g[k++];
            }
    }
    double M[9], Mi[9], mE[9];
    for (int i = 0; i < 9; i++) mE[i] = -E[i];
    expm3(E, M);
    expm3(mE, Mi);
    /* column convention r' = M r: rows x' = x M^T, velocities v' = v M^-1 */
    for (int64_t i = 0; i < s->n; i++) {
        double *x = s->x + 3 * i, *v = s->v + 3 * i, y[3], u[3];
        for (int a = 0; a < 3; a++) {
            y[a] = M[3 * a] * x[0] + M[3 * a + 1] * x[1] + M[3 * a + 2] * x[2];
            u[a] = v[0] * Mi[a] + v[1] * Mi[3 + a] + v[2] * Mi[6 + a];
        }
        memcpy(x, y, sizeof y);
        memcpy(v, u, sizeof u);
    }
    double h[9];
    for (int r = 0; r < 3; r++)
        for (int a = 0; a < 3; a++)
            h[3 * r + a] = M[3 * a] * s->cell[3 * r] + M[3 * a + 1] * s->cell[3 * r + 1] + M[3 * a + 2] * s->cell[3 * r + 2];
    memcpy(s->cell, h, sizeof h);
}

int md_step(st_ctx *ctx, st_md_sim *s)
{
    const double dt = s->opt.timestep;
    const int mode = (s->opt.rebuild_every == 1 || (s->step + 1) % s->opt.rebuild_every == 0) ? 1 : 0;
    int rc = ST_OK;
    switch (s->opt.integrator) {
    case ST_MD_NVE:
        kick(s, 0.5 * dt);
        drift(s, dt);
        rc = md_compute_forces(ctx, s, mode);
        if (rc) return rc;
        kick(s, 0.5 * dt);
        break;
    case ST_MD_LANGEVIN:
        kick(s, 0.5 * dt);
        aoa(s, dt);
        rc = md_compute_forces(ctx, s, mode);
        if (rc) return rc;
        kick(s, 0.5 * dt);
        break;
    case ST_MD_NHC:
        nhc_half(s, 0.5 * dt);
        kick(s, 0.5 * dt);
        drift(s, dt);
        rc = md_compute_forces(ctx, s, mode);
        if (rc) return rc;
        kick(s, 0.5 * dt);
        nhc_half(s, 0.5 * dt);
        break;
    case ST_MD_NPT:
        kick(s, 0.5 * dt);
        aoa(s, dt);
        if ((s->step + 1) % s->opt.barostat_stride == 0) barostat(s);
        rc = md_compute_forces(ctx, s, mode);
        if (rc) return rc;
        kick(s, 0.5 * dt);
        break;
    default:
        return st_fail(ctx, ST_ERR_INTERNAL, "md step: unknown integrator");
    }
    s->step++;
    s->time += dt;
    return ST_OK;
}
