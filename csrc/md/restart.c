/* restart.c -- serialise the dynamical state of a simulation to a byte buffer and back, so that a
 * restored run continues bit for bit: positions, velocities, cell, step and time, thermostat
 * variables, the random stream (seed; the counter is the step) and the neighbour-list reference
 * (positions and cell of the last build).  Forces are not stored: the list is rebuilt from its
 * saved reference, which reproduces the pair order exactly, and forces recomputed from it are
 * identical to the ones the original run held (for the same thread count).
 *
 * Format (native endianness, version 1): "STRATAMD", u32 version, u32 integrator, u32 barostat,
 * u32 nhc_length, i64 n, i64 step, f64 time, u64 seed, f64 cell[9], i32 pbc[3], i32 has_list,
 * thermostat block, i64 dangerous, i64 last_build_step, i64 builds, i32 have_build, i32 pad,
 * f64 list_cell[9], f64 list_x0[3n], f64 x[3n], f64 v[3n].
 * Not done: portability across endianness; potentials and observers are not part of the state.
 */
#include "sim_internal.h"
#include <stdlib.h>
#include <string.h>

enum { RESTART_VERSION = 1 };

typedef struct head {
    char magic[8];
    uint32_t version, integrator, barostat, nhc_length;
    int64_t n, step;
    double time;
    uint64_t seed;
    double cell[9];
    int32_t pbc[3], has_list;
    md_thermo_state thermo;
    int64_t dangerous, last_build_step, builds;
    int32_t have_build, pad;
    double list_cell[9];
} head;

size_t st_md_sim_state_size(const st_md_sim *s)
{
    if (!s) return 0;
    return sizeof(head) + 3 * sizeof(double) * 3 * (size_t)s->n;
}

int st_md_sim_save(st_ctx *ctx, const st_md_sim *s, void *buf, size_t len)
{
    if (!s || !buf) return st_fail(ctx, ST_ERR_ARG, "md save: NULL argument");
    size_t need = st_md_sim_state_size(s);
    if (len < need) return st_fail(ctx, ST_ERR_ARG, "md save: buffer of %zu bytes, need %zu (st_md_sim_state_size)", len, need);
    head h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, "STRATAMD", 8);
    h.version = RESTART_VERSION;
    h.integrator = (uint32_t)s->opt.integrator;
    h.barostat = (uint32_t)s->opt.barostat;
    h.nhc_length = (uint32_t)s->opt.nhc_length;
    h.n = s->n;
    h.step = s->step;
    h.time = s->time;
    h.seed = s->seed;
    memcpy(h.cell, s->cell, sizeof h.cell);
    memcpy(h.pbc, s->pbc, sizeof h.pbc);
    h.thermo = s->thermo;
    h.dangerous = s->dangerous;
    h.last_build_step = s->last_build_step;
    h.have_build = s->have_build;
    size_t n3 = 3 * (size_t)s->n;
    char *p = buf;
    double *x0 = (double *)(void *)(p + sizeof h);
    if (s->nl && s->nl->valid && s->nl->n == s->n) {
        h.has_list = 1;
        h.builds = s->nl->builds;
        memcpy(h.list_cell, s->nl->cell0, sizeof h.list_cell);
        memcpy(x0, s->nl->x0, sizeof(double) * n3);
    } else {
        memset(x0, 0, sizeof(double) * n3);
    }
    memcpy(p, &h, sizeof h);
    memcpy(p + sizeof h + sizeof(double) * n3, s->x, sizeof(double) * n3);
    memcpy(p + sizeof h + 2 * sizeof(double) * n3, s->v, sizeof(double) * n3);
    return ST_OK;
}

int st_md_sim_restore(st_ctx *ctx, st_md_sim *s, const void *buf, size_t len)
{
    if (!s || !buf) return st_fail(ctx, ST_ERR_ARG, "md restore: NULL argument");
    head h;
    if (len < sizeof h) return st_fail(ctx, ST_ERR_FORMAT, "md restore: buffer of %zu bytes is too short for a header", len);
    memcpy(&h, buf, sizeof h);
    if (memcmp(h.magic, "STRATAMD", 8) != 0) return st_fail(ctx, ST_ERR_FORMAT, "md restore: not an MD state (bad magic)");
    if (h.version != RESTART_VERSION)
        return st_fail(ctx, ST_ERR_FORMAT, "md restore: state version %u, this library reads %d", h.version, RESTART_VERSION);
    if (h.n != s->n) return st_fail(ctx, ST_ERR_ARG, "md restore: state has %lld atoms, the sim has %lld", (long long)h.n, (long long)s->n);
    if ((int)h.integrator != s->opt.integrator || (int)h.barostat != s->opt.barostat || (int)h.nhc_length != s->opt.nhc_length)
        return st_fail(ctx, ST_ERR_ARG, "md restore: state is for integrator %u (barostat %u, chain %u), the sim uses %d (%d, %d)",
                       h.integrator, h.barostat, h.nhc_length, (int)s->opt.integrator, (int)s->opt.barostat,
                       (int)s->opt.nhc_length);
    size_t need = st_md_sim_state_size(s);
    if (len < need) return st_fail(ctx, ST_ERR_FORMAT, "md restore: buffer of %zu bytes, the state needs %zu", len, need);
    for (int a = 0; a < 3; a++)
        if ((h.pbc[a] != 0) != (s->pbc[a] != 0)) return st_fail(ctx, ST_ERR_ARG, "md restore: periodicity differs from the sim's");
    size_t n3 = 3 * (size_t)s->n;
    const char *p = buf;
    const double *x0 = (const double *)(const void *)(p + sizeof h);
    memcpy(s->x, p + sizeof h + sizeof(double) * n3, sizeof(double) * n3);
    memcpy(s->v, p + sizeof h + 2 * sizeof(double) * n3, sizeof(double) * n3);
    memcpy(s->cell, h.cell, sizeof s->cell);
    s->step = h.step;
    s->time = h.time;
    s->seed = h.seed;
    s->thermo = h.thermo;
    s->dangerous = h.dangerous;
    s->last_build_step = h.last_build_step;
    s->have_build = h.have_build;
    s->forces_valid = 0;
    int rc = md_sim_ensure_nlist(ctx, s);
    if (rc) return rc;
    if (s->nl) {
        if (h.has_list) {
            /* rebuild exactly the list the saved run was using, then evaluate without a check */
            double *xcopy = malloc(sizeof(double) * n3);
            if (!xcopy) return st_fail(ctx, ST_ERR_NOMEM, "md restore: out of memory");
            memcpy(xcopy, x0, sizeof(double) * n3);
            rc = md_nlist_build(ctx, s->nl, s->n, xcopy, h.list_cell, s->pbc);
            free(xcopy);
            if (rc) return rc;
            s->nl->builds = h.builds;
            return md_compute_forces(ctx, s, 0);
        }
        s->nl->valid = 0;
    }
    return md_compute_forces(ctx, s, 1);
}
