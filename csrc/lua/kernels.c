/* kernels.c -- Lua 5.4 binding of the geometry and information-entropy kernels: neighbour lists,
 * k nearest neighbours, the QUESTS descriptor, kernel-density entropy sums.  Outputs are arrays
 * allocated here (sizes queried first); inputs are atoms handles or arrays.  The LuaJIT FFI
 * backend (lua/strata/ffi_kernels.lua) offers the same functions. */
#include "binding.h"
#include <stdlib.h>
#include <string.h>

/* A contiguous float64 matrix view of argument idx (copied into a new array when needed; the
 * copy is left on the stack so it lives until the call returns). */
static const st_view *matrix_arg(lua_State *L, int idx, const char *what)
{
    st_view *v = stl_checkview(L, idx);
    if (v->ndim != 2) luaL_error(L, "%s: expected a 2-d array (rows = environments), got %d-d", what, v->ndim);
    if (v->dtype == ST_F64 && v->strides[1] == 1 && v->strides[0] >= v->shape[1]) return v;
    stl_array *c = stl_array_new(L, ST_F64, 2, v->shape);
    stl_check(L, st_op_copy(stl_ctx(L), v, &c->v));
    return &c->v;
}

static int64_t ld_of(const st_view *v) { return v->shape[0] > 1 ? v->strides[0] : v->shape[1]; }

/* Bandwidths from a number or a table of numbers; returns count, fills h (max 16). */
static int bandwidths(lua_State *L, int idx, double *h)
{
    if (lua_isnoneornil(L, idx)) { h[0] = 0.015; return 1; }
    if (lua_isnumber(L, idx)) { h[0] = lua_tonumber(L, idx); return 1; }
    luaL_checktype(L, idx, LUA_TTABLE);
    int n = (int)luaL_len(L, idx);
    if (n < 1 || n > 16) luaL_error(L, "bandwidths: give 1 to 16 values, got %d", n);
    for (int i = 0; i < n; i++) {
        lua_geti(L, idx, i + 1);
        if (!lua_isnumber(L, -1)) luaL_error(L, "bandwidth %d is not a number", i + 1);
        h[i] = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    return n;
}

static void entropy_opts(lua_State *L, int idx, st_entropy_opts *o, st_entropy_stats *st)
{
    memset(o, 0, sizeof *o);
    memset(st, 0, sizeof *st);
    o->stats = st;
    if (lua_isnoneornil(L, idx)) return;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_getfield(L, idx, "method");
    if (!lua_isnil(L, -1)) {
        static const char *names[] = {"auto", "dense", "pruned", "approx", "fast", NULL};
        o->method = luaL_checkoption(L, -1, NULL, names);
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "tol");
    o->tol = luaL_optnumber(L, -1, 0);
    lua_pop(L, 1);
    lua_getfield(L, idx, "eps");
    o->overlap_eps = luaL_optnumber(L, -1, 0);
    lua_pop(L, 1);
    lua_getfield(L, idx, "leaf_size");
    o->leaf_size = (int32_t)luaL_optinteger(L, -1, 0);
    lua_pop(L, 1);
}

static void push_stats(lua_State *L, const st_entropy_stats *s)
{
    static const char *methods[] = {"auto", "dense", "pruned", "approx", "fast"};
    lua_createtable(L, 0, 7);
    lua_pushnumber(L, s->pairs_total); lua_setfield(L, -2, "pairs_total");
    lua_pushnumber(L, s->pairs_computed); lua_setfield(L, -2, "pairs_computed");
    lua_pushnumber(L, s->pairs_neglected); lua_setfield(L, -2, "pairs_neglected");
    lua_pushnumber(L, s->pairs_approximated); lua_setfield(L, -2, "pairs_approximated");
    lua_pushnumber(L, s->seconds); lua_setfield(L, -2, "seconds");
    lua_pushnumber(L, s->error_bound); lua_setfield(L, -2, "error_bound");
    lua_pushstring(L, s->method_used >= 0 && s->method_used <= 4 ? methods[s->method_used] : "?");
    lua_setfield(L, -2, "method");
}

static void push_list(lua_State *L, const double *v, int n)
{
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) { lua_pushnumber(L, v[i]); lua_rawseti(L, -2, i + 1); }
}

/* entropy_compute(X, h, opts) -> {H...}, {D...}, stats */
static int l_entropy_compute(lua_State *L)
{
    const st_view *x = matrix_arg(L, 1, "entropy");
    double h[16], H[16], D[16];
    int nh = bandwidths(L, 2, h);
    st_entropy_opts o;
    st_entropy_stats st;
    entropy_opts(L, 3, &o, &st);
    int rc = st_entropy_compute(stl_ctx(L), x->data, x->shape[0], x->shape[1], ld_of(x), h, nh, &o, H, D);
    if (rc) return stl_fail(L, rc);
    push_list(L, H, nh);
    push_list(L, D, nh);
    push_stats(L, &st);
    return 3;
}

/* entropy_delta(Y, X, h, opts) -> array (m x nh) of dH, stats */
static int l_entropy_delta(lua_State *L)
{
    const st_view *y = matrix_arg(L, 1, "dH: test set");
    const st_view *x = matrix_arg(L, 2, "dH: reference set");
    double h[16];
    int nh = bandwidths(L, 3, h);
    st_entropy_opts o;
    st_entropy_stats st;
    entropy_opts(L, 4, &o, &st);
    int64_t shape[2] = {y->shape[0], nh};
    stl_array *out = stl_array_new(L, ST_F64, 2, shape);
    int rc = st_entropy_delta(stl_ctx(L), y->data, y->shape[0], y->shape[1], ld_of(y), x->data, x->shape[0],
                              x->shape[1], ld_of(x), h, nh, &o, out->v.data);
    if (rc) return stl_fail(L, rc);
    push_stats(L, &st);
    return 2;
}

/* entropy_log_kernel_sums(X, Y|nil, h, opts) -> array (rows of Y or X) x nh of ln sum_j K */
static int l_entropy_log_sums(lua_State *L)
{
    const st_view *x = matrix_arg(L, 1, "kernel sums: set");
    const st_view *y = lua_isnoneornil(L, 2) ? NULL : matrix_arg(L, 2, "kernel sums: queries");
    double h[16];
    int nh = bandwidths(L, 3, h);
    st_entropy_opts o;
    st_entropy_stats st;
    entropy_opts(L, 4, &o, &st);
    int64_t rows = y ? y->shape[0] : x->shape[0];
    int64_t shape[2] = {rows, nh};
    stl_array *out = stl_array_new(L, ST_F64, 2, shape);
    int rc = st_entropy_log_kernel_sums(stl_ctx(L), x->data, x->shape[0], x->shape[1], ld_of(x),
                                        y ? y->data : NULL, y ? y->shape[0] : 0, y ? y->shape[1] : 0,
                                        y ? ld_of(y) : 0, h, nh, &o, out->v.data);
    if (rc) return stl_fail(L, rc);
    return 1;
}

/* entropy_overlap(Y, X, h, opts) -> {overlap...} */
static int l_entropy_overlap(lua_State *L)
{
    const st_view *y = matrix_arg(L, 1, "overlap: test set");
    const st_view *x = matrix_arg(L, 2, "overlap: reference set");
    double h[16], ov[16];
    int nh = bandwidths(L, 3, h);
    st_entropy_opts o;
    st_entropy_stats st;
    entropy_opts(L, 4, &o, &st);
    int rc = st_entropy_overlap(stl_ctx(L), y->data, y->shape[0], y->shape[1], ld_of(y), x->data, x->shape[0],
                                x->shape[1], ld_of(x), h, nh, &o, ov);
    if (rc) return stl_fail(L, rc);
    push_list(L, ov, nh);
    return 1;
}

static int l_entropy_bandwidth(lua_State *L)
{
    double h;
    int rc = st_entropy_bandwidth(stl_ctx(L), luaL_checknumber(L, 1), &h);
    if (rc) return stl_fail(L, rc);
    lua_pushnumber(L, h);
    return 1;
}

/* quests(atoms, {k=, cutoff=, species_aware=, species={Z...}, species_gap=}) -> array n x dim */
static int l_quests(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    st_quests_opts o;
    memset(&o, 0, sizeof o);
    int32_t species[128];
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        lua_getfield(L, 2, "k"); o.k = (int32_t)luaL_optinteger(L, -1, 0); lua_pop(L, 1);
        lua_getfield(L, 2, "cutoff"); o.cutoff = luaL_optnumber(L, -1, 0); lua_pop(L, 1);
        lua_getfield(L, 2, "species_gap"); o.species_gap = luaL_optnumber(L, -1, 0); lua_pop(L, 1);
        lua_getfield(L, 2, "species_aware"); o.species_aware = lua_toboolean(L, -1); lua_pop(L, 1);
        lua_getfield(L, 2, "species");
        if (lua_istable(L, -1)) {
            int n = (int)luaL_len(L, -1);
            if (n > 128) luaL_error(L, "quests: at most 128 species");
            for (int i = 0; i < n; i++) {
                lua_geti(L, -1, i + 1);
                species[i] = (int32_t)lua_tointeger(L, -1);
                lua_pop(L, 1);
            }
            o.species = species;
            o.nspecies = n;
        }
        lua_pop(L, 1);
    }
    int64_t dim;
    int64_t n = st_atoms_count(a);
    stl_check(L, st_quests_dim(stl_ctx(L), &o, n, st_atoms_numbers(a), &dim));
    int64_t shape[2] = {n, dim};
    stl_array *out = stl_array_new(L, ST_F64, 2, shape);
    int rc = st_quests_frame(stl_ctx(L), a, &o, out->v.data);
    if (rc) return stl_fail(L, rc);
    return 1;
}

/* neighbor_list(atoms, cutoff, {half=, sorted=}) -> {offsets=i64[n+1] (0-based), index=i32
 * (0-based), shifts=i32[p][3], vectors=f64[p][3], distances=f64[p]} -- raw, 0-based: the Lua
 * layer converts. */
static int l_neighbor_list(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    double cutoff = luaL_checknumber(L, 2);
    st_nlist_opts o;
    memset(&o, 0, sizeof o);
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "half"); o.half = lua_toboolean(L, -1); lua_pop(L, 1);
        lua_getfield(L, 3, "sorted"); o.sorted = lua_toboolean(L, -1); lua_pop(L, 1);
    }
    st_nlist *nl = NULL;
    int rc = st_nlist_build(stl_ctx(L), st_atoms_count(a), st_atoms_positions(a), st_atoms_cell(a),
                            st_atoms_pbc(a), cutoff, &o, &nl);
    if (rc) return stl_fail(L, rc);
    int64_t n = st_nlist_natoms(nl), p = st_nlist_npairs(nl);
    lua_createtable(L, 0, 5);
    int64_t s1[1] = {n + 1}, s2[1] = {p}, s3[2] = {p, 3};
    stl_array *off = stl_array_new(L, ST_I64, 1, s1);
    memcpy(off->v.data, st_nlist_offsets(nl), (size_t)(n + 1) * sizeof(int64_t));
    lua_setfield(L, -2, "offsets");
    stl_array *idx = stl_array_new(L, ST_I32, 1, s2);
    memcpy(idx->v.data, st_nlist_indices(nl), (size_t)p * sizeof(int32_t));
    lua_setfield(L, -2, "index");
    stl_array *sh = stl_array_new(L, ST_I32, 2, s3);
    memcpy(sh->v.data, st_nlist_shifts(nl), (size_t)p * 3 * sizeof(int32_t));
    lua_setfield(L, -2, "shifts");
    if (st_nlist_vectors(nl)) {
        stl_array *vec = stl_array_new(L, ST_F64, 2, s3);
        memcpy(vec->v.data, st_nlist_vectors(nl), (size_t)p * 3 * sizeof(double));
        lua_setfield(L, -2, "vectors");
    }
    stl_array *d = stl_array_new(L, ST_F64, 1, s2);
    memcpy(d->v.data, st_nlist_distances(nl), (size_t)p * sizeof(double));
    lua_setfield(L, -2, "distances");
    st_nlist_destroy(nl);
    return 1;
}

/* knn(atoms, k) -> {index=i32[n][k] (0-based), shifts=i32[n][k][3], distances=f64[n][k],
 * found=i32[n]} */
static int l_knn(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    lua_Integer k = luaL_checkinteger(L, 2);
    if (k < 1 || k > 100000) luaL_error(L, "knn: k = %d out of range 1..100000", (int)k);
    int64_t n = st_atoms_count(a);
    int64_t s2[2] = {n, k}, s3[3] = {n, k, 3}, s1[1] = {n};
    lua_createtable(L, 0, 4);
    stl_array *idx = stl_array_new(L, ST_I32, 2, s2);
    lua_setfield(L, -2, "index");
    stl_array *sh = stl_array_new(L, ST_I32, 3, s3);
    lua_setfield(L, -2, "shifts");
    stl_array *d = stl_array_new(L, ST_F64, 2, s2);
    lua_setfield(L, -2, "distances");
    stl_array *f = stl_array_new(L, ST_I32, 1, s1);
    lua_setfield(L, -2, "found");
    int rc = st_nlist_knn(stl_ctx(L), n, st_atoms_positions(a), st_atoms_cell(a), st_atoms_pbc(a), (int32_t)k,
                          idx->v.data, sh->v.data, NULL, d->v.data, f->v.data);
    if (rc) return stl_fail(L, rc);
    return 1;
}

STL_MODULE(kernels)
{
    static const luaL_Reg fns[] = {
        {"entropy_compute", l_entropy_compute}, {"entropy_delta", l_entropy_delta},
        {"entropy_log_sums", l_entropy_log_sums}, {"entropy_overlap", l_entropy_overlap},
        {"entropy_bandwidth", l_entropy_bandwidth}, {"quests", l_quests},
        {"neighbor_list", l_neighbor_list}, {"knn", l_knn}, {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
    return 0;
}
