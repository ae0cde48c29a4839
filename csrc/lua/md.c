/* md.c -- Lua 5.4 binding of the molecular-dynamics kernels (strata/md.h): potentials, simulations
 * and observers as userdata handles, with the primitives lua/strata/md.lua builds its Simulation
 * class on.  The LuaJIT FFI backend (lua/strata/ffi_md.lua) offers the same functions with the same
 * messages.
 *
 * Lifetimes.  A simulation borrows its potentials and attached observers (md.h): the sim userdata
 * keeps them in its user value, so the collector cannot take them first, and each potential or
 * observer counts its users, so an explicit :free() of one still in use is refused with a clear
 * error instead of leaving the simulation a dangling pointer.  Finalizers never touch other
 * handles' C objects (st_md_sim_destroy does not read its potentials), so the order in which the
 * collector finalizes a sim and its potentials does not matter.  Every handle has :free() and
 * __close; use after free raises "... used after it was freed".
 *
 * Errors follow stl_fail: expected failures (missing or malformed potential file, unknown
 * species, an exploding run: ST_ERR_IO/PARSE/NOTFOUND/NUMERIC) return nil, message; bad arguments
 * raise.  Potential options are data from files and command lines, so an ST_ERR_ARG from
 * st_md_potential_create (unknown parameter key) is also returned as nil, message.
 *
 * Neighbour lists (st_md_nlist) are bound too, for single evaluations and analysis; pairs come
 * back with 1-based atom indices.
 *
 * Does not: loop over steps, write files or keep trajectories (lua/strata/md.lua does); copy
 * positions out of a sim except on request (each getter returns a fresh array). */
#include "binding.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POT_MT "strata.md_potential"
#define SIM_MT "strata.md_sim"
#define OBS_MT "strata.md_observer"
#define NL_MT "strata.md_nlist"

typedef struct {
    st_md_potential *p;
    int users;              /* simulations holding this potential */
} pot_ref;

typedef struct {
    st_md_observer *o;
    int users;              /* simulations this observer is attached to */
} obs_ref;

typedef struct {
    st_md_sim *s;
} sim_ref;

typedef struct {
    st_md_nlist *nl;
} nl_ref;

static pot_ref *checkpot(lua_State *L, int idx)
{
    pot_ref *r = luaL_checkudata(L, idx, POT_MT);
    if (!r->p) luaL_error(L, "md potential used after it was freed");
    return r;
}
static sim_ref *checksim(lua_State *L, int idx)
{
    sim_ref *r = luaL_checkudata(L, idx, SIM_MT);
    if (!r->s) luaL_error(L, "md simulation used after it was freed");
    return r;
}
static obs_ref *checkobs(lua_State *L, int idx)
{
    obs_ref *r = luaL_checkudata(L, idx, OBS_MT);
    if (!r->o) luaL_error(L, "md observer used after it was freed");
    return r;
}

/* A contiguous float64 view of argument idx with shape (rows, cols) (cols 0: 1-d of rows); a copy
 * is made (and left on the stack) when the argument is not dense float64. */
static const double *dense_arg(lua_State *L, int idx, int64_t rows, int64_t cols, const char *what)
{
    st_view *v = stl_checkview(L, idx);
    int nd = cols ? 2 : 1;
    if (v->ndim != nd || v->shape[0] != rows || (cols && v->shape[1] != cols)) {
        if (cols) luaL_error(L, "%s: expected a %d x %d array", what, (int)rows, (int)cols);
        luaL_error(L, "%s: expected a 1-d array of %d values", what, (int)rows);
    }
    if (v->dtype == ST_F64 && st_view_is_contiguous(v)) return v->data;
    stl_array *c = stl_array_new(L, ST_F64, v->ndim, v->shape);
    stl_check(L, st_op_copy(stl_ctx(L), v, &c->v));
    return c->v.data;
}

static void push_numbers(lua_State *L, const double *v, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushnumber(L, v[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

static const char *optstring(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    const char *s = NULL;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "md potential: option '%s' must be a string", key);
        s = lua_tostring(L, -1);   /* stays valid: the table keeps the string */
    }
    lua_pop(L, 1);
    return s;
}

/* ---- constants and the registry ---- */

/* md_clock() -> seconds of a monotonic wall clock (os.clock() is CPU time summed over threads,
 * which is not what a steps-per-second figure of a threaded run wants). */
static int l_clock(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
    return 1;
}

/* md_constants() -> {kB =, mvv2e =, eva3_to_bar =} */
static int l_constants(lua_State *L)
{
    lua_createtable(L, 0, 3);
    lua_pushnumber(L, st_md_constant(ST_MD_KB)); lua_setfield(L, -2, "kB");
    lua_pushnumber(L, st_md_constant(ST_MD_MVV2E)); lua_setfield(L, -2, "mvv2e");
    lua_pushnumber(L, st_md_constant(ST_MD_EVA3_TO_BAR)); lua_setfield(L, -2, "eva3_to_bar");
    return 1;
}

/* md_potential_names() -> {"lj", "morse", ...} */
static int l_potential_names(lua_State *L)
{
    int n = st_md_potential_class_count();
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushstring(L, st_md_potential_class_name(i));
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* ---- potentials ---- */

static int pot_gc(lua_State *L)
{
    pot_ref *r = luaL_checkudata(L, 1, POT_MT);
    st_md_potential_destroy(r->p);
    r->p = NULL;
    return 0;
}

/* md_potential_new(name, {file=, params=, elements=}) -> pot | nil, message */
static int l_potential_new(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    st_md_potential_options o;
    memset(&o, 0, sizeof o);
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        o.file = optstring(L, 2, "file");
        o.params = optstring(L, 2, "params");
        o.elements = optstring(L, 2, "elements");
    }
    pot_ref *r = lua_newuserdatauv(L, sizeof *r, 0);
    r->p = NULL;
    r->users = 0;
    luaL_setmetatable(L, POT_MT);
    int rc = st_md_potential_create(stl_ctx(L), name, &o, &r->p);
    if (rc == ST_ERR_ARG) {
        lua_pushnil(L);
        lua_pushstring(L, st_ctx_message(stl_ctx(L)));
        return 2;
    }
    if (rc) return stl_fail(L, rc);
    return 1;
}

static int l_potential_free(lua_State *L)
{
    pot_ref *r = luaL_checkudata(L, 1, POT_MT);
    if (r->users > 0)
        luaL_error(L, "md potential: still used by %d simulation(s); free them first", r->users);
    st_md_potential_destroy(r->p);
    r->p = NULL;
    return 0;
}

/* md_potential_info(pot) -> name, cutoff (Å) */
static int l_potential_info(lua_State *L)
{
    pot_ref *r = checkpot(L, 1);
    lua_pushstring(L, st_md_potential_name(r->p));
    lua_pushnumber(L, st_md_potential_cutoff(r->p));
    return 2;
}

/* md_potential_compute(pot, atoms, per_atom) -> {energy=, virial={9}, forces=[n][3],
 * atom_energies=[n] (with per_atom)} | nil, message */
static int l_potential_compute(lua_State *L)
{
    pot_ref *r = checkpot(L, 1);
    st_atoms *a = stl_checkatoms(L, 2);
    int per_atom = lua_toboolean(L, 3);
    int64_t n = st_atoms_count(a);
    lua_createtable(L, 0, 4);
    int64_t s2[2] = {n, 3}, s1[1] = {n};
    stl_array *f = stl_array_new(L, ST_F64, 2, s2);
    lua_setfield(L, -2, "forces");
    stl_array *e = NULL;
    if (per_atom) {
        e = stl_array_new(L, ST_F64, 1, s1);
        lua_setfield(L, -2, "atom_energies");
    }
    st_md_result res;
    memset(&res, 0, sizeof res);
    res.forces = f->v.data;
    res.atom_energies = e ? e->v.data : NULL;
    int rc = st_md_potential_compute(stl_ctx(L), r->p, NULL, n, st_atoms_positions(a), st_atoms_numbers(a),
                                     st_atoms_has_cell(a) ? st_atoms_cell(a) : NULL, st_atoms_pbc(a), &res);
    if (rc) return stl_fail(L, rc);
    lua_pushnumber(L, res.energy);
    lua_setfield(L, -2, "energy");
    push_numbers(L, res.virial, 9);
    lua_setfield(L, -2, "virial");
    return 1;
}

/* ---- simulations ---- */

/* Release the users count of everything the sim holds (user value 1: {[handle] = true}). */
static void release_refs(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (lua_getiuservalue(L, idx, 1) != LUA_TTABLE) { lua_pop(L, 1); return; }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        lua_pop(L, 1);
        pot_ref *p = luaL_testudata(L, -1, POT_MT);
        if (p && p->users > 0) p->users--;
        obs_ref *o = luaL_testudata(L, -1, OBS_MT);
        if (o && o->users > 0) o->users--;
    }
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_setiuservalue(L, idx, 1);
}

static int sim_gc(lua_State *L)
{
    sim_ref *r = luaL_checkudata(L, 1, SIM_MT);
    st_md_sim_destroy(r->s);
    r->s = NULL;
    release_refs(L, 1);
    return 0;
}

static int l_sim_free(lua_State *L) { return sim_gc(L); }

static double optnum(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    double v = 0;
    if (!lua_isnil(L, -1)) {
        if (!lua_isnumber(L, -1)) luaL_error(L, "md sim: option '%s' must be a number, got %s", key, luaL_typename(L, -1));
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

static int64_t optint(lua_State *L, int idx, const char *key)
{
    lua_getfield(L, idx, key);
    int64_t v = 0;
    if (!lua_isnil(L, -1)) {
        int ok;
        lua_Integer i = lua_tointegerx(L, -1, &ok);
        if (!ok) luaL_error(L, "md sim: option '%s' must be an integer, got %s", key, luaL_tolstring(L, -1, NULL));
        v = (int64_t)i;
    }
    lua_pop(L, 1);
    return v;
}

/* md_sim_new(atoms, {integrator=0..3, barostat=0..2, timestep=, temperature=, friction=, tau_t=,
 * nhc_length=, nhc_substeps=, pressure=, tau_p=, compressibility=, barostat_stride=,
 * rebuild_every=, skin=, seed=, max_energy_change=, dof=}, masses [n] | nil) -> sim */
static int l_sim_new(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    int64_t n = st_atoms_count(a);
    const double *masses = lua_isnoneornil(L, 3) ? NULL : dense_arg(L, 3, n, 0, "md sim: masses");
    st_md_options o;
    memset(&o, 0, sizeof o);
    o.integrator = (int32_t)optint(L, 2, "integrator");
    o.barostat = (int32_t)optint(L, 2, "barostat");
    o.timestep = optnum(L, 2, "timestep");
    o.temperature = optnum(L, 2, "temperature");
    o.friction = optnum(L, 2, "friction");
    o.tau_t = optnum(L, 2, "tau_t");
    o.nhc_length = (int32_t)optint(L, 2, "nhc_length");
    o.nhc_substeps = (int32_t)optint(L, 2, "nhc_substeps");
    o.pressure = optnum(L, 2, "pressure");
    o.tau_p = optnum(L, 2, "tau_p");
    o.compressibility = optnum(L, 2, "compressibility");
    o.barostat_stride = (int32_t)optint(L, 2, "barostat_stride");
    o.rebuild_every = (int32_t)optint(L, 2, "rebuild_every");
    o.skin = optnum(L, 2, "skin");
    o.seed = (uint64_t)optint(L, 2, "seed");
    o.max_energy_change = optnum(L, 2, "max_energy_change");
    o.dof = optnum(L, 2, "dof");
    sim_ref *r = lua_newuserdatauv(L, sizeof *r, 1);
    r->s = NULL;
    luaL_setmetatable(L, SIM_MT);
    lua_newtable(L);
    lua_setiuservalue(L, -2, 1);
    const int32_t *pbc = st_atoms_pbc(a);
    int per = pbc[0] || pbc[1] || pbc[2];
    int rc = st_md_sim_create(stl_ctx(L), n, st_atoms_positions(a), st_atoms_numbers(a), masses,
                              per || st_atoms_has_cell(a) ? st_atoms_cell(a) : NULL, pbc, &o, &r->s);
    if (rc) return stl_fail(L, rc);
    return 1;
}

/* md_sim_add_potential(sim, pot) */
static int l_sim_add_potential(lua_State *L)
{
    sim_ref *r = checksim(L, 1);
    pot_ref *p = checkpot(L, 2);
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL) luaL_error(L, "md sim: this potential was already added");
    lua_pop(L, 1);
    stl_check(L, st_md_sim_add_potential(stl_ctx(L), r->s, p->p));
    lua_pushvalue(L, 2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    p->users++;
    return 0;
}

/* md_sim_init_velocities(sim, T, seed) */
static int l_sim_init_velocities(lua_State *L)
{
    sim_ref *r = checksim(L, 1);
    double T = luaL_checknumber(L, 2);
    lua_Integer seed = luaL_optinteger(L, 3, 0);
    stl_check(L, st_md_sim_init_velocities(stl_ctx(L), r->s, T, (uint64_t)seed));
    return 0;
}

/* md_sim_set_velocities(sim, v [n][3]) */
static int l_sim_set_velocities(lua_State *L)
{
    sim_ref *r = checksim(L, 1);
    const double *v = dense_arg(L, 2, st_md_sim_count(r->s), 3, "md sim: velocities");
    stl_check(L, st_md_sim_set_velocities(stl_ctx(L), r->s, v));
    return 0;
}

/* md_sim_set_positions(sim, x [n][3], cell [3][3] | nil) */
static int l_sim_set_positions(lua_State *L)
{
    sim_ref *r = checksim(L, 1);
    const double *x = dense_arg(L, 2, st_md_sim_count(r->s), 3, "md sim: positions");
    const double *cell = lua_isnoneornil(L, 3) ? NULL : dense_arg(L, 3, 3, 3, "md sim: cell");
    stl_check(L, st_md_sim_set_positions(stl_ctx(L), r->s, x, cell));
    return 0;
}

/* md_sim_run(sim, nsteps) -> true | nil, message (explosion: the sim holds the last good step) */
static int l_sim_run(lua_State *L)
{
    sim_ref *r = checksim(L, 1);
    lua_Integer k = luaL_checkinteger(L, 2);
    int rc = st_md_sim_run(stl_ctx(L), r->s, (int64_t)k);
    if (rc) return stl_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_sim_count(lua_State *L)
{
    lua_pushinteger(L, st_md_sim_count(checksim(L, 1)->s));
    return 1;
}

/* md_sim_get(sim, "positions"|"velocities"|"forces"|"cell"|"masses") -> a fresh array */
static int l_sim_get(lua_State *L)
{
    sim_ref *r = checksim(L, 1);
    static const char *names[] = {"positions", "velocities", "forces", "cell", "masses", NULL};
    int which = luaL_checkoption(L, 2, NULL, names);
    int64_t n = st_md_sim_count(r->s);
    if (which == 2) {   /* forces are current only after an evaluation: thermo() makes sure */
        st_md_thermo t;
        int rc = st_md_sim_thermo(stl_ctx(L), r->s, &t);
        if (rc) return stl_fail(L, rc);
    }
    const double *src;
    int64_t shape[2] = {n, 3};
    int nd = 2;
    switch (which) {
    case 0: src = st_md_sim_positions(r->s); break;
    case 1: src = st_md_sim_velocities(r->s); break;
    case 2: src = st_md_sim_forces(r->s); break;
    case 3: src = st_md_sim_cell(r->s); shape[0] = 3; break;
    default: src = st_md_sim_masses(r->s); nd = 1; break;
    }
    stl_array *out = stl_array_new(L, ST_F64, nd, shape);
    memcpy(out->v.data, src, sizeof(double) * (size_t)(nd == 1 ? n : shape[0] * 3));
    return 1;
}

/* md_sim_thermo(sim) -> {step, time, potential_energy, kinetic_energy, temperature, pressure,
 * pressure_tensor = {9}, virial = {9}, volume, conserved, dof, nlist_builds, dangerous_builds}
 * | nil, message */
static int l_sim_thermo(lua_State *L)
{
    sim_ref *r = checksim(L, 1);
    st_md_thermo t;
    int rc = st_md_sim_thermo(stl_ctx(L), r->s, &t);
    if (rc) return stl_fail(L, rc);
    lua_createtable(L, 0, 13);
    lua_pushinteger(L, t.step); lua_setfield(L, -2, "step");
    lua_pushnumber(L, t.time); lua_setfield(L, -2, "time");
    lua_pushnumber(L, t.potential_energy); lua_setfield(L, -2, "potential_energy");
    lua_pushnumber(L, t.kinetic_energy); lua_setfield(L, -2, "kinetic_energy");
    lua_pushnumber(L, t.temperature); lua_setfield(L, -2, "temperature");
    lua_pushnumber(L, t.pressure); lua_setfield(L, -2, "pressure");
    push_numbers(L, t.pressure_tensor, 9); lua_setfield(L, -2, "pressure_tensor");
    push_numbers(L, t.virial, 9); lua_setfield(L, -2, "virial");
    lua_pushnumber(L, t.volume); lua_setfield(L, -2, "volume");
    lua_pushnumber(L, t.conserved); lua_setfield(L, -2, "conserved");
    lua_pushnumber(L, t.dof); lua_setfield(L, -2, "dof");
    lua_pushinteger(L, t.nlist_builds); lua_setfield(L, -2, "nlist_builds");
    lua_pushinteger(L, t.dangerous_builds); lua_setfield(L, -2, "dangerous_builds");
    return 1;
}

/* md_sim_state(sim) -> string (st_md_sim_save bytes) */
static int l_sim_state(lua_State *L)
{
    sim_ref *r = checksim(L, 1);
    size_t len = st_md_sim_state_size(r->s);
    void *buf = lua_newuserdatauv(L, len, 0);   /* freed by the collector even if we raise */
    stl_check(L, st_md_sim_save(stl_ctx(L), r->s, buf, len));
    lua_pushlstring(L, buf, len);
    return 1;
}

/* md_sim_restore(sim, bytes) -> true | nil, message */
static int l_sim_restore(lua_State *L)
{
    sim_ref *r = checksim(L, 1);
    size_t len;
    const char *buf = luaL_checklstring(L, 2, &len);
    int rc = st_md_sim_restore(stl_ctx(L), r->s, buf, len);
    if (rc == ST_ERR_ARG) {   /* a state that does not fit this sim: a file problem, not a bug */
        lua_pushnil(L);
        lua_pushstring(L, st_ctx_message(stl_ctx(L)));
        return 2;
    }
    if (rc) return stl_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* md_sim_attach(sim, obs) */
static int l_sim_attach(lua_State *L)
{
    sim_ref *r = checksim(L, 1);
    obs_ref *o = checkobs(L, 2);
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL) return 0;   /* attached already */
    lua_pop(L, 1);
    stl_check(L, st_md_sim_attach(stl_ctx(L), r->s, o->o));
    lua_pushvalue(L, 2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    o->users++;
    return 0;
}

/* md_sim_detach(sim, obs) */
static int l_sim_detach(lua_State *L)
{
    sim_ref *r = checksim(L, 1);
    obs_ref *o = checkobs(L, 2);
    lua_getiuservalue(L, 1, 1);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) == LUA_TNIL) return 0;
    lua_pop(L, 1);
    st_md_sim_detach(r->s, o->o);
    lua_pushvalue(L, 2);
    lua_pushnil(L);
    lua_rawset(L, -3);
    o->users--;
    return 0;
}

/* ---- observers ---- */

static int obs_gc(lua_State *L)
{
    obs_ref *r = luaL_checkudata(L, 1, OBS_MT);
    st_md_observer_destroy(r->o);
    r->o = NULL;
    return 0;
}

static int l_observer_free(lua_State *L)
{
    obs_ref *r = luaL_checkudata(L, 1, OBS_MT);
    if (r->users > 0) luaL_error(L, "md observer: still attached to %d simulation(s); detach or free them first", r->users);
    return obs_gc(L);
}

/* md_observer_new({kind = 0..2, stride=, rmax=, nbins=, species_a=, species_b=, nlags=,
 * origin_every=}) -> obs */
static int l_observer_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    st_md_observer_options o;
    memset(&o, 0, sizeof o);
    o.kind = (int32_t)optint(L, 1, "kind");
    o.stride = (int32_t)optint(L, 1, "stride");
    o.rmax = optnum(L, 1, "rmax");
    o.nbins = (int32_t)optint(L, 1, "nbins");
    o.species_a = (int32_t)optint(L, 1, "species_a");
    o.species_b = (int32_t)optint(L, 1, "species_b");
    o.nlags = (int32_t)optint(L, 1, "nlags");
    o.origin_every = (int32_t)optint(L, 1, "origin_every");
    obs_ref *r = lua_newuserdatauv(L, sizeof *r, 0);
    r->o = NULL;
    r->users = 0;
    luaL_setmetatable(L, OBS_MT);
    stl_check(L, st_md_observer_create(stl_ctx(L), &o, &r->o));
    return 1;
}

/* md_observer_sample(obs, atoms, velocities [n][3] | nil, time) -> true | nil, message */
static int l_observer_sample(lua_State *L)
{
    obs_ref *r = checkobs(L, 1);
    st_atoms *a = stl_checkatoms(L, 2);
    int64_t n = st_atoms_count(a);
    const double *v = lua_isnoneornil(L, 3) ? NULL : dense_arg(L, 3, n, 3, "md observer: velocities");
    double t = luaL_optnumber(L, 4, 0);
    int rc = st_md_observer_sample(stl_ctx(L), r->o, n, st_atoms_positions(a), v, st_atoms_numbers(a),
                                   st_atoms_cell(a), st_atoms_pbc(a), t);
    if (rc) return stl_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

/* md_observer_result(obs) -> x [len], y [len] */
static int l_observer_result(lua_State *L)
{
    obs_ref *r = checkobs(L, 1);
    int64_t s[1] = {st_md_observer_length(r->o)};
    stl_array *x = stl_array_new(L, ST_F64, 1, s);
    stl_array *y = stl_array_new(L, ST_F64, 1, s);
    stl_check(L, st_md_observer_result(stl_ctx(L), r->o, x->v.data, y->v.data, s[0]));
    return 2;
}

static int l_observer_samples(lua_State *L)
{
    lua_pushinteger(L, st_md_observer_samples(checkobs(L, 1)->o));
    return 1;
}

static int l_observer_reset(lua_State *L)
{
    st_md_observer_reset(checkobs(L, 1)->o);
    return 0;
}

/* ---- Verlet neighbour lists (for single evaluations and analysis) ---- */

static nl_ref *checknl(lua_State *L, int idx)
{
    nl_ref *r = luaL_checkudata(L, idx, NL_MT);
    if (!r->nl) luaL_error(L, "md neighbour list used after it was freed");
    return r;
}

static int nl_gc(lua_State *L)
{
    nl_ref *r = luaL_checkudata(L, 1, NL_MT);
    st_md_nlist_destroy(r->nl);
    r->nl = NULL;
    return 0;
}

/* md_nlist_new(cutoff, skin, full) -> nl */
static int l_nlist_new(lua_State *L)
{
    double cutoff = luaL_checknumber(L, 1), skin = luaL_optnumber(L, 2, 0);
    int full = lua_toboolean(L, 3);
    nl_ref *r = lua_newuserdatauv(L, sizeof *r, 0);
    r->nl = NULL;
    luaL_setmetatable(L, NL_MT);
    stl_check(L, st_md_nlist_create(stl_ctx(L), cutoff, skin, full, &r->nl));
    return 1;
}

/* md_nlist_update(nl, atoms) -> rebuilt (boolean) | nil, message */
static int l_nlist_update(lua_State *L)
{
    nl_ref *r = checknl(L, 1);
    st_atoms *a = stl_checkatoms(L, 2);
    const int32_t *pbc = st_atoms_pbc(a);
    int32_t rebuilt = 0;
    int rc = st_md_nlist_update(stl_ctx(L), r->nl, st_atoms_count(a), st_atoms_positions(a),
                                (pbc[0] || pbc[1] || pbc[2]) ? st_atoms_cell(a) : NULL, pbc, &rebuilt);
    if (rc) return stl_fail(L, rc);
    lua_pushboolean(L, rebuilt);
    return 1;
}

/* md_nlist_pairs(nl, rmax) -> i [p] (int32, 1-based), j [p] (1-based), d [p][3] (x_j - x_i, Å) */
static int l_nlist_pairs(lua_State *L)
{
    nl_ref *r = checknl(L, 1);
    double rmax = luaL_checknumber(L, 2);
    int64_t count = 0;
    int rc = st_md_nlist_pairs(stl_ctx(L), r->nl, rmax, NULL, NULL, NULL, 0, &count);
    if (rc) return stl_fail(L, rc);
    int64_t s1[1] = {count}, s2[2] = {count, 3};
    stl_array *i = stl_array_new(L, ST_I32, 1, s1);
    stl_array *j = stl_array_new(L, ST_I32, 1, s1);
    stl_array *d = stl_array_new(L, ST_F64, 2, s2);
    rc = st_md_nlist_pairs(stl_ctx(L), r->nl, rmax, i->v.data, j->v.data, d->v.data, count, &count);
    if (rc) return stl_fail(L, rc);
    int32_t *ii = i->v.data, *jj = j->v.data;
    for (int64_t k = 0; k < count; k++) { ii[k]++; jj[k]++; }   /* 1-based for Lua */
    return 3;
}

static int l_nlist_builds(lua_State *L)
{
    lua_pushinteger(L, st_md_nlist_build_count(checknl(L, 1)->nl));
    return 1;
}

/* ---- registration ---- */

static int handle_tostring(lua_State *L)
{
    void *p = lua_touserdata(L, 1);
    const char *what = luaL_testudata(L, 1, POT_MT)   ? "md potential"
                       : luaL_testudata(L, 1, SIM_MT) ? "md simulation"
                       : luaL_testudata(L, 1, OBS_MT) ? "md observer"
                                                      : "md neighbour list";
    int alive = p && *(void **)p != NULL;
    lua_pushfstring(L, "%s (%s): %p", what, alive ? "alive" : "freed", p);
    return 1;
}

static void new_handle_mt(lua_State *L, const char *name, lua_CFunction gc, lua_CFunction freefn)
{
    luaL_newmetatable(L, name);
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, freefn);   /* like :free(): refuses while in use */
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, handle_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, freefn);
    lua_setfield(L, -2, "free");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

STL_MODULE(md)
{
    static const luaL_Reg fns[] = {
        {"md_clock", l_clock}, {"md_constants", l_constants}, {"md_potential_names", l_potential_names},
        {"md_potential_new", l_potential_new}, {"md_potential_free", l_potential_free},
        {"md_potential_info", l_potential_info}, {"md_potential_compute", l_potential_compute},
        {"md_sim_new", l_sim_new}, {"md_sim_free", l_sim_free}, {"md_sim_add_potential", l_sim_add_potential},
        {"md_sim_init_velocities", l_sim_init_velocities}, {"md_sim_set_velocities", l_sim_set_velocities},
        {"md_sim_set_positions", l_sim_set_positions}, {"md_sim_run", l_sim_run}, {"md_sim_count", l_sim_count},
        {"md_sim_get", l_sim_get}, {"md_sim_thermo", l_sim_thermo}, {"md_sim_state", l_sim_state},
        {"md_sim_restore", l_sim_restore}, {"md_sim_attach", l_sim_attach}, {"md_sim_detach", l_sim_detach},
        {"md_observer_new", l_observer_new}, {"md_observer_free", l_observer_free},
        {"md_observer_sample", l_observer_sample}, {"md_observer_result", l_observer_result},
        {"md_observer_samples", l_observer_samples}, {"md_observer_reset", l_observer_reset},
        {"md_nlist_new", l_nlist_new}, {"md_nlist_free", nl_gc}, {"md_nlist_update", l_nlist_update},
        {"md_nlist_pairs", l_nlist_pairs}, {"md_nlist_builds", l_nlist_builds}, {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
    new_handle_mt(L, POT_MT, pot_gc, l_potential_free);
    new_handle_mt(L, SIM_MT, sim_gc, l_sim_free);
    new_handle_mt(L, OBS_MT, obs_gc, l_observer_free);
    new_handle_mt(L, NL_MT, nl_gc, nl_gc);
    return 0;
}
