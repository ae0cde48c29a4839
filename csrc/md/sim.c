/* sim.c -- the MD simulation object: state, force evaluation through the neighbour list, the run
 * loop with interrupt polling, explosion detection and observers, and thermodynamic output.
 * The integrators themselves are in integrate.c, save/restore in restart.c.
 *
 * Design choices: positions are never wrapped (the neighbour list keeps its own image shifts), so
 * they are the unwrapped coordinates MSD needs; the run loop keeps a copy of the state at the start
 * of each step and restores it when the energy turns NaN or changes absurdly; forces are always
 * consistent with the current positions and cell between calls.
 */
#include "sim_internal.h"
#include <stdlib.h>
#include <string.h>

static int resolve_options(st_ctx *ctx, const st_md_options *in, st_md_options *o)
{
    if (!in) return st_fail(ctx, ST_ERR_ARG, "md sim: options are NULL (timestep is required)");
    *o = *in;
    if (o->integrator < ST_MD_NVE || o->integrator > ST_MD_NPT)
        return st_fail(ctx, ST_ERR_ARG, "md sim: options.integrator: unknown integrator %d", (int)o->integrator);
    if (!(o->timestep > 0) || !isfinite(o->timestep))
        return st_fail(ctx, ST_ERR_ARG, "md sim: options.timestep must be > 0 fs, got %g", o->timestep);
    if (o->integrator != ST_MD_NVE && (!(o->temperature > 0) || !isfinite(o->temperature)))
        return st_fail(ctx, ST_ERR_ARG, "md sim: options.temperature must be > 0 K for this integrator, got %g",
                       o->temperature);
    if (o->integrator == ST_MD_NVE && (o->temperature < 0 || !isfinite(o->temperature)))
        return st_fail(ctx, ST_ERR_ARG, "md sim: options.temperature must be >= 0 K, got %g", o->temperature);
    if (o->friction == 0) o->friction = 0.01;
    if (!(o->friction > 0) || !isfinite(o->friction))
        return st_fail(ctx, ST_ERR_ARG, "md sim: options.friction must be > 0 1/fs, got %g", o->friction);
    if (o->tau_t == 0) o->tau_t = 100 * o->timestep;
    if (!(o->tau_t > 0)) return st_fail(ctx, ST_ERR_ARG, "md sim: options.tau_t must be > 0 fs, got %g", o->tau_t);
    if (o->nhc_length == 0) o->nhc_length = 3;
    if (o->nhc_length < 1 || o->nhc_length > MD_NHC_MAX)
        return st_fail(ctx, ST_ERR_ARG, "md sim: options.nhc_length must be 1..%d, got %d", MD_NHC_MAX, (int)o->nhc_length);
    if (o->nhc_substeps == 0) o->nhc_substeps = 1;
    if (o->nhc_substeps < 1 || o->nhc_substeps > 100)
        return st_fail(ctx, ST_ERR_ARG, "md sim: options.nhc_substeps must be 1..100, got %d", (int)o->nhc_substeps);
    if (o->barostat < ST_MD_BARO_ISO || o->barostat > ST_MD_BARO_TRI)
        return st_fail(ctx, ST_ERR_ARG, "md sim: options.barostat: unknown barostat %d", (int)o->barostat);
    if (o->tau_p == 0) o->tau_p = 1000 * o->timestep;
    if (!(o->tau_p > 0)) return st_fail(ctx, ST_ERR_ARG, "md sim: options.tau_p must be > 0 fs, got %g", o->tau_p);
    if (o->compressibility == 0) o->compressibility = 1e-6;
    if (!(o->compressibility > 0))
        return st_fail(ctx, ST_ERR_ARG, "md sim: options.compressibility must be > 0 1/bar, got %g", o->compressibility);
    if (!isfinite(o->pressure)) return st_fail(ctx, ST_ERR_ARG, "md sim: options.pressure is not finite");
    if (o->barostat_stride == 0) o->barostat_stride = 1;
    if (o->barostat_stride < 1) return st_fail(ctx, ST_ERR_ARG, "md sim: options.barostat_stride must be >= 1");
    if (o->rebuild_every == 0) o->rebuild_every = 1;
    if (o->rebuild_every < 1) return st_fail(ctx, ST_ERR_ARG, "md sim: options.rebuild_every must be >= 1");
    if (o->skin == 0) o->skin = 1.0;
    if (!(o->skin > 0) || !isfinite(o->skin)) return st_fail(ctx, ST_ERR_ARG, "md sim: options.skin must be > 0 Å, got %g", o->skin);
    if (o->max_energy_change == 0) o->max_energy_change = 10.0;
    if (o->dof < 0) return st_fail(ctx, ST_ERR_ARG, "md sim: options.dof must be >= 0");
    return ST_OK;
}

int st_md_sim_create(st_ctx *ctx, int64_t n, const double *positions, const int32_t *numbers, const double *masses,
                     const double *cell, const int32_t *pbc, const st_md_options *opt, st_md_sim **out)
{
    if (!out) return st_fail(ctx, ST_ERR_ARG, "md sim: out is NULL");
    *out = NULL;
    if (n < 1 || n > INT32_MAX / 4) return st_fail(ctx, ST_ERR_ARG, "md sim: need 1..%d atoms, got %lld", INT32_MAX / 4, (long long)n);
    if (!positions) return st_fail(ctx, ST_ERR_ARG, "md sim: positions are NULL");
    st_md_options o;
    int rc = resolve_options(ctx, opt, &o);
    if (rc) return rc;
    int per = pbc && (pbc[0] || pbc[1] || pbc[2]);
    if (per) {
        if (!cell) return st_fail(ctx, ST_ERR_ARG, "md sim: periodic boundaries need a cell");
        double inv[9];
        if (st_cell_inverse(cell, inv) != ST_OK || !(fabs(st_cell_volume(cell)) > 1e-9))
            return st_fail(ctx, ST_ERR_ARG, "md sim: the cell is singular");
    }
    if (o.integrator == ST_MD_NPT) {
        if (!pbc || !pbc[0] || !pbc[1] || !pbc[2])
            return st_fail(ctx, ST_ERR_ARG, "md sim: NPT needs periodic boundaries on all three axes");
        if (o.barostat == ST_MD_BARO_TRI && (cell[1] != 0 || cell[2] != 0 || cell[5] != 0))
            return st_fail(ctx, ST_ERR_ARG, "md sim: the triclinic barostat needs a lower-triangular cell (a along x, b in "
                           "the xy plane); got a = (%g, %g, %g), b_z = %g", cell[0], cell[1], cell[2], cell[5]);
    }
    for (int64_t i = 0; i < 3 * n; i++)
        if (!isfinite(positions[i]))
            return st_fail(ctx, ST_ERR_ARG, "md sim: atom %lld: position is not finite", (long long)(i / 3));
    st_md_sim *s = calloc(1, sizeof *s);
    if (!s) return st_fail(ctx, ST_ERR_NOMEM, "md sim: out of memory");
    s->n = n;
    s->opt = o;
    size_t n3 = 3 * (size_t)n;
    s->x = malloc(sizeof(double) * n3);
    s->v = calloc(n3, sizeof(double));
    s->f = calloc(n3, sizeof(double));
    s->bx = malloc(sizeof(double) * n3);
    s->bv = malloc(sizeof(double) * n3);
    s->m = malloc(sizeof(double) * (size_t)n);
    s->acc = malloc(sizeof(double) * (size_t)n);
    s->z = calloc((size_t)n, sizeof(int32_t));
    if (!s->x || !s->v || !s->f || !s->bx || !s->bv || !s->m || !s->acc || !s->z) {
        st_md_sim_destroy(s);
        return st_fail(ctx, ST_ERR_NOMEM, "md sim: out of memory (%lld atoms)", (long long)n);
    }
    memcpy(s->x, positions, sizeof(double) * n3);
    if (numbers) memcpy(s->z, numbers, sizeof(int32_t) * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        double m = masses ? masses[i] : st_element_mass(s->z[i]);
        if (!(m > 0) || !isfinite(m)) {
            rc = masses ? st_fail(ctx, ST_ERR_ARG, "md sim: atom %lld: mass must be > 0 amu, got %g", (long long)i, m)
                        : st_fail(ctx, ST_ERR_ARG, "md sim: atom %lld: no standard mass for Z=%d; pass masses",
                                  (long long)i, (int)s->z[i]);
            st_md_sim_destroy(s);
            return rc;
        }
        s->m[i] = m;
        s->acc[i] = 1.0 / (m * MD_MVV2E);   /* (eV/Å) -> Å/fs^2 */
    }
    if (cell) memcpy(s->cell, cell, sizeof s->cell);
    for (int a = 0; a < 3; a++) s->pbc[a] = pbc ? (pbc[a] != 0) : 0;
    s->seed = o.seed;
    md_thermostat_init(s);
    *out = s;
    return ST_OK;
}

void st_md_sim_destroy(st_md_sim *s)
{
    if (!s) return;
    free(s->x);
    free(s->v);
    free(s->f);
    free(s->bx);
    free(s->bv);
    free(s->m);
    free(s->acc);
    free(s->z);
    st_md_nlist_destroy(s->nl);
    md_eval_free(&s->ev);
    free(s);
}

int st_md_sim_add_potential(st_ctx *ctx, st_md_sim *s, st_md_potential *pot)
{
    if (!s || !pot) return st_fail(ctx, ST_ERR_ARG, "md sim add potential: NULL argument");
    if (s->npots >= MD_MAXPOTS) return st_fail(ctx, ST_ERR_ARG, "md sim add potential: at most %d potentials", MD_MAXPOTS);
    s->pots[s->npots++] = pot;
    st_md_nlist_destroy(s->nl);   /* re-created with the new cutoff on the next evaluation */
    s->nl = NULL;
    s->forces_valid = 0;
    md_thermostat_init(s);        /* the automatic dof depends on the potentials */
    return ST_OK;
}

/* Automatic degrees of freedom: momentum is conserved (3 fewer) for NVE and NHC when every
 * potential is translation invariant and there is more than one atom. */
double md_dof(const st_md_sim *s)
{
    if (s->opt.dof > 0) return s->opt.dof;
    int invariant = 1;
    for (int p = 0; p < s->npots; p++)
        if (s->pots[p]->cls->flags & ST_MD_POT_COORDINATES) invariant = 0;
    double d = 3.0 * (double)s->n;
    if (invariant && s->n > 1 && (s->opt.integrator == ST_MD_NVE || s->opt.integrator == ST_MD_NHC)) d -= 3;
    return d;
}

int md_sim_ensure_nlist(st_ctx *ctx, st_md_sim *s)
{
    double cut = 0;
    int any_list = 0, full = 0;
    for (int p = 0; p < s->npots; p++) {
        if (s->pots[p]->cls->flags & ST_MD_POT_COORDINATES) continue;
        any_list = 1;
        if (s->pots[p]->cls->flags & ST_MD_POT_FULL_LIST) full = 1;
        double c = s->pots[p]->cls->cutoff(s->pots[p]->state);
        if (c > cut) cut = c;
    }
    if (any_list && !s->nl) return st_md_nlist_create(ctx, cut, s->opt.skin, full, &s->nl);
    return ST_OK;
}

int md_compute_forces(st_ctx *ctx, st_md_sim *s, int mode)
{
    int rc = md_sim_ensure_nlist(ctx, s);
    if (rc) return rc;
    int64_t before = s->nl ? s->nl->builds : 0;
    int rebuilt = 0;
    rc = md_evaluate(ctx, &s->ev, s->pots, s->npots, s->nl, mode, s->n, s->x, s->z, s->cell, s->pbc, s->f,
                         NULL, &rebuilt);
    if (rc) {
        s->forces_valid = 0;
        return rc;
    }
    if (s->nl && s->nl->builds != before) {
        /* a rebuild at the first check after the previous one is "dangerous" (LAMMPS's meaning):
           atoms may have crossed the skin between checks */
        if (s->opt.rebuild_every > 1 && mode == 1 && s->have_build && s->step + 1 - s->last_build_step <= s->opt.rebuild_every)
            s->dangerous++;
        s->last_build_step = s->step + 1;
        s->have_build = 1;
    }
    s->epot = s->ev.energy;
    memcpy(s->virial, s->ev.virial, sizeof s->virial);
    s->forces_valid = 1;
    return ST_OK;
}

double md_kinetic(const st_md_sim *s)
{
    double k = 0;
    for (int64_t i = 0; i < s->n; i++) {
        const double *v = s->v + 3 * i;
        k += s->m[i] * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    }
    return 0.5 * k * MD_MVV2E;
}

int st_md_sim_init_velocities(st_ctx *ctx, st_md_sim *s, double temperature, uint64_t seed)
{
    if (!s) return st_fail(ctx, ST_ERR_ARG, "md sim init velocities: sim is NULL");
    if (!(temperature >= 0) || !isfinite(temperature))
        return st_fail(ctx, ST_ERR_ARG, "md sim init velocities: temperature must be >= 0 K, got %g", temperature);
    const int64_t n = s->n;
    for (int64_t i = 0; i < n; i++) {
        double g[4];
        md_gauss2(seed, MD_STREAM_INIT, 0, (uint32_t)(2 * i), &g[0], &g[1]);
        md_gauss2(seed, MD_STREAM_INIT, 0, (uint32_t)(2 * i + 1), &g[2], &g[3]);
        double sd = sqrt(MD_KB * (temperature > 0 ? temperature : 1) * s->acc[i]);
        for (int c = 0; c < 3; c++) s->v[3 * i + c] = sd * g[c];
    }
    double dof = md_dof(s);
    if (dof < 3.0 * (double)n) {
        /* remove centre-of-mass motion */
        double p[3] = {0, 0, 0}, mt = 0;
        for (int64_t i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) p[c] += s->m[i] * s->v[3 * i + c];
            mt += s->m[i];
        }
        for (int64_t i = 0; i < n; i++)
            for (int c = 0; c < 3; c++) s->v[3 * i + c] -= p[c] / mt;
    }
    double ke = md_kinetic(s);
    double target = 0.5 * dof * MD_KB * temperature;
    double sc = ke > 0 ? sqrt(target / ke) : 0;
    for (int64_t i = 0; i < 3 * n; i++) s->v[i] *= sc;
    return ST_OK;
}

int st_md_sim_set_velocities(st_ctx *ctx, st_md_sim *s, const double *v)
{
    if (!s || !v) return st_fail(ctx, ST_ERR_ARG, "md sim set velocities: NULL argument");
    for (int64_t i = 0; i < 3 * s->n; i++)
        if (!isfinite(v[i])) return st_fail(ctx, ST_ERR_ARG, "md sim set velocities: atom %lld: not finite", (long long)(i / 3));
    memcpy(s->v, v, sizeof(double) * 3 * (size_t)s->n);
    return ST_OK;
}

int st_md_sim_set_positions(st_ctx *ctx, st_md_sim *s, const double *x, const double *cell)
{
    if (!s || !x) return st_fail(ctx, ST_ERR_ARG, "md sim set positions: NULL argument");
    for (int64_t i = 0; i < 3 * s->n; i++)
        if (!isfinite(x[i])) return st_fail(ctx, ST_ERR_ARG, "md sim set positions: atom %lld: not finite", (long long)(i / 3));
    if (cell) {
        int per = s->pbc[0] || s->pbc[1] || s->pbc[2];
        double inv[9];
        if (per && (st_cell_inverse(cell, inv) != ST_OK || !(fabs(st_cell_volume(cell)) > 1e-9)))
            return st_fail(ctx, ST_ERR_ARG, "md sim set positions: the cell is singular");
        if (s->opt.integrator == ST_MD_NPT && s->opt.barostat == ST_MD_BARO_TRI && (cell[1] != 0 || cell[2] != 0 || cell[5] != 0))
            return st_fail(ctx, ST_ERR_ARG, "md sim set positions: the triclinic barostat needs a lower-triangular cell");
        memcpy(s->cell, cell, sizeof s->cell);
    }
    memcpy(s->x, x, sizeof(double) * 3 * (size_t)s->n);
    s->forces_valid = 0;
    return ST_OK;
}

int64_t st_md_sim_count(const st_md_sim *s) { return s ? s->n : 0; }
const double *st_md_sim_positions(const st_md_sim *s) { return s ? s->x : NULL; }
const double *st_md_sim_velocities(const st_md_sim *s) { return s ? s->v : NULL; }
const double *st_md_sim_forces(const st_md_sim *s) { return s ? s->f : NULL; }
const double *st_md_sim_cell(const st_md_sim *s) { return s ? s->cell : NULL; }
const double *st_md_sim_masses(const st_md_sim *s) { return s ? s->m : NULL; }

int st_md_sim_thermo(st_ctx *ctx, st_md_sim *s, st_md_thermo *out)
{
    if (!s || !out) return st_fail(ctx, ST_ERR_ARG, "md sim thermo: NULL argument");
    if (!s->forces_valid) {
        int rc = md_compute_forces(ctx, s, 1);
        if (rc) return rc;
    }
    memset(out, 0, sizeof *out);
    out->step = s->step;
    out->time = s->time;
    out->potential_energy = s->epot;
    double kt[9] = {0};
    for (int64_t i = 0; i < s->n; i++)
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) kt[3 * a + b] += s->m[i] * s->v[3 * i + a] * s->v[3 * i + b];
    for (int a = 0; a < 9; a++) kt[a] *= MD_MVV2E;
    out->kinetic_energy = 0.5 * (kt[0] + kt[4] + kt[8]);
    out->dof = md_dof(s);
    out->temperature = out->dof > 0 ? 2.0 * out->kinetic_energy / (out->dof * MD_KB) : 0;
    memcpy(out->virial, s->virial, sizeof out->virial);
    int per = s->pbc[0] || s->pbc[1] || s->pbc[2];
    if (per) {
        double V = fabs(st_cell_volume(s->cell));
        out->volume = V;
        for (int a = 0; a < 9; a++) out->pressure_tensor[a] = (kt[a] + s->virial[a]) / V * MD_EVA3_TO_BAR;
        out->pressure = (out->pressure_tensor[0] + out->pressure_tensor[4] + out->pressure_tensor[8]) / 3.0;
    }
    out->conserved = md_conserved(s, out->kinetic_energy);
    out->nlist_builds = s->nl ? s->nl->builds : 0;
    out->dangerous_builds = s->dangerous;
    return ST_OK;
}

/* ---- the run loop ---- */
static void backup(st_md_sim *s)
{
    memcpy(s->bx, s->x, sizeof(double) * 3 * (size_t)s->n);
    memcpy(s->bv, s->v, sizeof(double) * 3 * (size_t)s->n);
    memcpy(s->bcell, s->cell, sizeof s->cell);
    memcpy(&s->bthermo, &s->thermo, sizeof s->thermo);
    s->bstep = s->step;
    s->btime = s->time;
}

static void restore_backup(st_ctx *ctx, st_md_sim *s)
{
    memcpy(s->x, s->bx, sizeof(double) * 3 * (size_t)s->n);
    memcpy(s->v, s->bv, sizeof(double) * 3 * (size_t)s->n);
    memcpy(s->cell, s->bcell, sizeof s->cell);
    memcpy(&s->thermo, &s->bthermo, sizeof s->thermo);
    s->step = s->bstep;
    s->time = s->btime;
    /* recompute forces for the restored state without touching the caller's error message */
    int status = st_ctx_status(ctx);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", st_ctx_message(ctx));
    if (md_compute_forces(ctx, s, 2) != ST_OK) s->forces_valid = 0;
    st_ctx_fail(ctx, status, msg);
}

int st_md_sim_run(st_ctx *ctx, st_md_sim *s, int64_t nsteps)
{
    if (!s) return st_fail(ctx, ST_ERR_ARG, "md run: sim is NULL");
    if (nsteps < 0) return st_fail(ctx, ST_ERR_ARG, "md run: nsteps must be >= 0, got %lld", (long long)nsteps);
    if (!s->forces_valid) {
        int rc = md_compute_forces(ctx, s, 1);
        if (rc) return rc;
    }
    if (!isfinite(s->epot))
        return st_fail(ctx, ST_ERR_NUMERIC, "md run: the potential energy of the starting configuration is %g", s->epot);
    const double e_ref = s->epot + md_kinetic(s) + s->thermo.heat;
    const double maxde = s->opt.max_energy_change;
    int64_t every = nsteps / 100 > 0 ? nsteps / 100 : 1;
    for (int64_t k = 0; k < nsteps; k++) {
        int rc = st_check_interrupt(ctx, "md run");
        if (rc) return rc;
        backup(s);
        rc = md_step(ctx, s);
        if (rc == ST_OK) {
            double ke = md_kinetic(s);
            double et = s->epot + ke + s->thermo.heat;
            if (!isfinite(s->epot) || !isfinite(ke))
                rc = st_fail(ctx, ST_ERR_NUMERIC, "md run: step %lld (t = %g fs): the %s energy is %g; stopped, state "
                             "restored to step %lld", (long long)s->step, s->time, isfinite(s->epot) ? "kinetic" : "potential",
                             isfinite(s->epot) ? ke : s->epot, (long long)s->bstep);
            else if (maxde > 0 && fabs(et - e_ref) / (double)s->n > maxde)
                rc = st_fail(ctx, ST_ERR_NUMERIC, "md run: step %lld (t = %g fs): total energy changed by %.4g eV/atom since "
                             "the run started (limit %g, options.max_energy_change); stopped, state restored to step %lld",
                             (long long)s->step, s->time, (et - e_ref) / (double)s->n, maxde, (long long)s->bstep);
        } else {
            /* a failed force evaluation (a cell squeezed below the cutoff, NaN positions, a
               species the potential lacks...) leaves a half-updated step: report and roll back */
            char msg[900];
            snprintf(msg, sizeof msg, "%s", st_ctx_message(ctx));
            int code = (rc == ST_ERR_ARG) ? ST_ERR_NUMERIC : rc;
            rc = st_fail(ctx, code, "md run: step %lld: %s; stopped, state restored to step %lld",
                         (long long)s->bstep + 1, msg, (long long)s->bstep);
        }
        if (rc) {
            restore_backup(ctx, s);
            return rc;
        }
        for (int o = 0; o < s->nobs; o++) {
            int st = md_observer_stride(s->obs[o]);
            if (s->step % st == 0) {
                rc = st_md_observer_sample(ctx, s->obs[o], s->n, s->x, s->v, s->z, s->cell, s->pbc, s->time);
                if (rc) return rc;
            }
        }
        if ((k + 1) % every == 0 || k + 1 == nsteps) st_progress(ctx, "md run", (double)(k + 1), (double)nsteps);
    }
    return ST_OK;
}

int st_md_sim_attach(st_ctx *ctx, st_md_sim *s, st_md_observer *obs)
{
    if (!s || !obs) return st_fail(ctx, ST_ERR_ARG, "md sim attach: NULL argument");
    for (int o = 0; o < s->nobs; o++)
        if (s->obs[o] == obs) return ST_OK;
    if (s->nobs >= MD_MAXOBS) return st_fail(ctx, ST_ERR_ARG, "md sim attach: at most %d observers", MD_MAXOBS);
    s->obs[s->nobs++] = obs;
    return ST_OK;
}

void st_md_sim_detach(st_md_sim *s, st_md_observer *obs)
{
    if (!s) return;
    for (int o = 0; o < s->nobs; o++)
        if (s->obs[o] == obs) {
            memmove(s->obs + o, s->obs + o + 1, sizeof(s->obs[0]) * (size_t)(s->nobs - o - 1));
            s->nobs--;
            return;
        }
}
