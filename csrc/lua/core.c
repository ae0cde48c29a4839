/* core.c -- the strata.core Lua module: context and errors, threads, interrupts, and the array
 * primitives that lua/strata/array.lua builds the array class on (the LuaJIT FFI backend,
 * lua/strata/ffi_backend.lua, offers the same primitives, so both paths share one array class).
 *
 * Arrays are full userdata: an stl_array header followed by the data (64-byte aligned), so the
 * garbage collector sees the real size.  Views are header-only userdata whose first user value is
 * the parent object, which keeps the parent alive. */
#include "binding.h"
#include <stdlib.h>
#include <string.h>

static const char CTX_KEY = 'c';

static int ctx_gc(lua_State *L)
{
    st_ctx **p = lua_touserdata(L, 1);
    st_ctx_destroy(*p);
    *p = NULL;
    return 0;
}

st_ctx *stl_ctx(lua_State *L)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &CTX_KEY);
    st_ctx **p = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (p && *p) return *p;
    p = lua_newuserdatauv(L, sizeof *p, 0);
    *p = st_ctx_create();
    if (!*p) luaL_error(L, "strata: out of memory creating a context");
    lua_newtable(L);
    lua_pushcfunction(L, ctx_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &CTX_KEY);
    return *p;
}

int stl_fail(lua_State *L, int status)
{
    st_ctx *ctx = stl_ctx(L);
    const char *msg = st_ctx_message(ctx);
    if (!msg || !*msg) msg = st_status_name(status);
    switch (status) {
    case ST_ERR_IO: case ST_ERR_PARSE: case ST_ERR_FORMAT: case ST_ERR_NOTFOUND: case ST_ERR_NUMERIC:
        lua_pushnil(L);
        lua_pushstring(L, msg);
        return 2;
    default:
        return luaL_error(L, "%s", msg);
    }
}

void stl_check(lua_State *L, int status)
{
    if (status) {
        const char *msg = st_ctx_message(stl_ctx(L));
        luaL_error(L, "%s", msg && *msg ? msg : st_status_name(status));
    }
}

/* ------------------------------------------------------------------ arrays */
static size_t aligned_header(void) { return (sizeof(stl_array) + 63) & ~(size_t)63; }

stl_array *stl_array_new(lua_State *L, int dtype, int ndim, const int64_t *shape)
{
    size_t es = st_dtype_size(dtype);
    if (!es) luaL_error(L, "array: unknown dtype %d", dtype);
    if (ndim < 0 || ndim > ST_MAXDIM) luaL_error(L, "array: %d dimensions (at most %d)", ndim, ST_MAXDIM);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) luaL_error(L, "array: negative extent %lld", (long long)shape[i]);
        if (shape[i] && n > ((int64_t)1 << 40) / shape[i]) luaL_error(L, "array: shape too large");
        n *= shape[i];
    }
    size_t bytes = aligned_header() + 64 + (size_t)n * es;
    char *mem = lua_newuserdatauv(L, bytes, 1);
    stl_array *a = (stl_array *)mem;
    memset(a, 0, sizeof *a);
    uintptr_t d = ((uintptr_t)mem + aligned_header() + 63) & ~(uintptr_t)63;
    a->v.data = (void *)d;
    memset(a->v.data, 0, (size_t)n * es);
    a->v.dtype = dtype;
    a->v.ndim = ndim;
    for (int i = 0; i < ndim; i++) a->v.shape[i] = shape[i];
    st_view_set_contiguous(&a->v);
    luaL_setmetatable(L, STRATA_ARRAY_MT);
    return a;
}

stl_array *stl_array_wrap(lua_State *L, int owner, void *data, int dtype, int ndim, const int64_t *shape,
                          const int64_t *strides, const stl_atomsref *ref)
{
    owner = lua_absindex(L, owner);
    stl_array *a = lua_newuserdatauv(L, sizeof *a, 1);
    memset(a, 0, sizeof *a);
    a->v.data = data;
    a->v.dtype = dtype;
    a->v.ndim = ndim;
    for (int i = 0; i < ndim; i++) a->v.shape[i] = shape[i];
    if (strides) for (int i = 0; i < ndim; i++) a->v.strides[i] = strides[i];
    else st_view_set_contiguous(&a->v);
    a->ref = ref;
    if (ref && ref->a) a->gen = st_atoms_generation(ref->a);
    luaL_setmetatable(L, STRATA_ARRAY_MT);
    lua_pushvalue(L, owner);
    lua_setiuservalue(L, -2, 1);
    return a;
}

static stl_array *checkarr(lua_State *L, int idx)
{
    stl_array *a = luaL_checkudata(L, idx, STRATA_ARRAY_MT);
    if (a->ref && (!a->ref->a || st_atoms_generation(a->ref->a) != a->gen))
        luaL_error(L, "array view is stale: its atoms were freed or resized, or the per-atom array "
                      "was replaced; take a fresh view");
    return a;
}

st_view *stl_checkview(lua_State *L, int idx) { return &checkarr(L, idx)->v; }

int stl_checkshape(lua_State *L, int idx, int64_t *shape)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    int n = (int)luaL_len(L, idx);
    if (n > ST_MAXDIM) luaL_error(L, "shape has %d dimensions (at most %d)", n, ST_MAXDIM);
    for (int i = 0; i < n; i++) {
        lua_geti(L, idx, i + 1);
        int ok;
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        if (!ok || v < 0) luaL_error(L, "shape[%d] must be a non-negative integer", i + 1);
        shape[i] = v;
        lua_pop(L, 1);
    }
    return n;
}

static int checkdtype(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx)) return ST_F64;
    const char *s = luaL_checkstring(L, idx);
    int d = st_dtype_from_name(s);
    if (d < 0) luaL_error(L, "unknown dtype '%s' (float64, float32, int32, int64, uint8)", s);
    return d;
}

static int l_array_alloc(lua_State *L)
{
    int dtype = checkdtype(L, 1);
    int64_t shape[ST_MAXDIM];
    int nd = stl_checkshape(L, 2, shape);
    stl_array_new(L, dtype, nd, shape);
    return 1;
}

/* array_view(parent, offset, shape, strides): a view into parent's data (offset/strides in
 * elements relative to the parent's data pointer).  Bounds are checked against the parent. */
static int l_array_view(lua_State *L)
{
    stl_array *p = checkarr(L, 1);
    lua_Integer off = luaL_checkinteger(L, 2);
    int64_t shape[ST_MAXDIM], strides[ST_MAXDIM];
    int nd = stl_checkshape(L, 3, shape);
    luaL_checktype(L, 4, LUA_TTABLE);
    if ((int)luaL_len(L, 4) != nd) luaL_error(L, "array_view: strides and shape differ in length");
    int64_t lo = off, hi = off, empty = 0;
    for (int i = 0; i < nd; i++) {
        lua_geti(L, 4, i + 1);
        strides[i] = lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (shape[i] == 0) empty = 1;
        else if (strides[i] > 0) hi += strides[i] * (shape[i] - 1);
        else lo += strides[i] * (shape[i] - 1);
    }
    /* extent of the parent: reachable offsets */
    int64_t plo = 0, phi = 0, pempty = 0;
    for (int i = 0; i < p->v.ndim; i++) {
        if (p->v.shape[i] == 0) pempty = 1;
        else if (p->v.strides[i] > 0) phi += p->v.strides[i] * (p->v.shape[i] - 1);
        else plo += p->v.strides[i] * (p->v.shape[i] - 1);
    }
    if (!empty && (pempty || lo < plo || hi > phi)) luaL_error(L, "array_view: view exceeds its parent");
    stl_array_wrap(L, 1, (char *)p->v.data + off * (int64_t)st_dtype_size(p->v.dtype), p->v.dtype, nd, shape,
                   strides, p->ref);
    /* keep the parent's owner chain: user value of the new view = parent itself (already set) */
    return 1;
}

static int l_array_dtype(lua_State *L) { lua_pushstring(L, st_dtype_name(checkarr(L, 1)->v.dtype)); return 1; }
static int l_array_ndim(lua_State *L) { lua_pushinteger(L, checkarr(L, 1)->v.ndim); return 1; }
static int l_array_numel(lua_State *L) { lua_pushinteger(L, st_view_numel(&checkarr(L, 1)->v)); return 1; }
static int l_array_contiguous(lua_State *L) { lua_pushboolean(L, st_view_is_contiguous(&checkarr(L, 1)->v)); return 1; }

static int l_array_shape(lua_State *L)
{
    st_view *v = &checkarr(L, 1)->v;
    lua_createtable(L, v->ndim, 0);
    for (int i = 0; i < v->ndim; i++) {
        lua_pushinteger(L, v->shape[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int l_array_strides(lua_State *L)
{
    st_view *v = &checkarr(L, 1)->v;
    lua_createtable(L, v->ndim, 0);
    for (int i = 0; i < v->ndim; i++) {
        lua_pushinteger(L, v->strides[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int l_array_dim(lua_State *L)
{
    st_view *v = &checkarr(L, 1)->v;
    lua_Integer i = luaL_checkinteger(L, 2);
    lua_pushinteger(L, i >= 1 && i <= v->ndim ? v->shape[i - 1] : 1);
    return 1;
}

static void pushnum(lua_State *L, const st_view *v, int64_t off)
{
    switch (v->dtype) {
    case ST_F64: lua_pushnumber(L, ((double *)v->data)[off]); break;
    case ST_F32: lua_pushnumber(L, ((float *)v->data)[off]); break;
    case ST_I32: lua_pushinteger(L, ((int32_t *)v->data)[off]); break;
    case ST_I64: lua_pushinteger(L, ((int64_t *)v->data)[off]); break;
    default: lua_pushinteger(L, ((uint8_t *)v->data)[off]); break;
    }
}

static void setnum(lua_State *L, st_view *v, int64_t off, int idx)
{
    switch (v->dtype) {
    case ST_F64: ((double *)v->data)[off] = luaL_checknumber(L, idx); break;
    case ST_F32: ((float *)v->data)[off] = (float)luaL_checknumber(L, idx); break;
    case ST_I32: ((int32_t *)v->data)[off] = (int32_t)luaL_checkinteger(L, idx); break;
    case ST_I64: ((int64_t *)v->data)[off] = (int64_t)luaL_checkinteger(L, idx); break;
    default: ((uint8_t *)v->data)[off] = (uint8_t)luaL_checkinteger(L, idx); break;
    }
}

/* Offset of a full 1-based index given as arguments first..first+ndim-1 (negative counts from
 * the end).  Raises on a bad index, naming the axis. */
static int64_t index_offset(lua_State *L, const st_view *v, int first, int nargs)
{
    if (nargs != v->ndim) luaL_error(L, "array index: %d indices for a %d-d array", nargs, v->ndim);
    int64_t off = 0;
    for (int i = 0; i < v->ndim; i++) {
        int ok;
        lua_Integer k = lua_tointegerx(L, first + i, &ok);
        if (!ok) luaL_error(L, "array index %d: expected an integer", i + 1);
        if (k < 0) k += v->shape[i] + 1;
        if (k < 1 || k > v->shape[i])
            luaL_error(L, "array index %d: %d out of range 1..%d", i + 1, (int)lua_tointeger(L, first + i), (int)v->shape[i]);
        off += (k - 1) * v->strides[i];
    }
    return off;
}

static int l_array_get(lua_State *L)
{
    st_view *v = &checkarr(L, 1)->v;
    pushnum(L, v, index_offset(L, v, 2, lua_gettop(L) - 1));
    return 1;
}

static int l_array_set(lua_State *L)
{
    st_view *v = &checkarr(L, 1)->v;
    int top = lua_gettop(L);
    setnum(L, v, index_offset(L, v, 2, top - 2), top);
    return 0;
}

/* a[i] on the first axis: a number for 1-d arrays, a view of row i otherwise. */
static int l_array_index(lua_State *L)
{
    stl_array *a = checkarr(L, 1);
    st_view *v = &a->v;
    lua_Integer k = luaL_checkinteger(L, 2);
    if (v->ndim == 0) luaL_error(L, "cannot index a 0-d array (use a:item())");
    lua_Integer kk = k < 0 ? k + v->shape[0] + 1 : k;
    if (kk < 1 || kk > v->shape[0]) luaL_error(L, "array index %d out of range 1..%d", (int)k, (int)v->shape[0]);
    int64_t off = (kk - 1) * v->strides[0];
    if (v->ndim == 1) {
        pushnum(L, v, off);
        return 1;
    }
    stl_array_wrap(L, 1, (char *)v->data + off * (int64_t)st_dtype_size(v->dtype), v->dtype, v->ndim - 1,
                   v->shape + 1, v->strides + 1, a->ref);
    return 1;
}

/* a[i] = x on the first axis; x a number (1-d) or something array_copy accepts (n-d). */
static int l_array_newindex(lua_State *L)
{
    stl_array *a = checkarr(L, 1);
    st_view *v = &a->v;
    lua_Integer k = luaL_checkinteger(L, 2);
    if (v->ndim == 0) luaL_error(L, "cannot index a 0-d array");
    lua_Integer kk = k < 0 ? k + v->shape[0] + 1 : k;
    if (kk < 1 || kk > v->shape[0]) luaL_error(L, "array index %d out of range 1..%d", (int)k, (int)v->shape[0]);
    int64_t off = (kk - 1) * v->strides[0];
    if (v->ndim == 1) {
        setnum(L, v, off, 3);
        return 0;
    }
    st_view row = *v;
    row.data = (char *)v->data + off * (int64_t)st_dtype_size(v->dtype);
    row.ndim = v->ndim - 1;
    memmove(row.shape, v->shape + 1, sizeof(int64_t) * (size_t)row.ndim);
    memmove(row.strides, v->strides + 1, sizeof(int64_t) * (size_t)row.ndim);
    st_ctx *ctx = stl_ctx(L);
    if (lua_isnumber(L, 3)) stl_check(L, st_op_fill(ctx, &row, lua_tonumber(L, 3)));
    else stl_check(L, st_op_copy(ctx, stl_checkview(L, 3), &row));
    return 0;
}

/* Element access by flat 0-based element offset (no bounds check beyond the parent's extent is
 * possible here, so the Lua layer only passes offsets it computed from shape and strides). */
static int l_array_flat(lua_State *L)
{
    st_view *v = &checkarr(L, 1)->v;
    /* returns the elements in C order as a flat Lua table */
    int64_t n = st_view_numel(v);
    if (n > (1 << 27)) luaL_error(L, "array too large to convert to a Lua table (%lld elements)", (long long)n);
    lua_createtable(L, (int)n, 0);
    int64_t idx[ST_MAXDIM] = {0};
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0;
        for (int d = 0; d < v->ndim; d++) off += idx[d] * v->strides[d];
        pushnum(L, v, off);
        lua_rawseti(L, -2, i + 1);
        for (int d = v->ndim - 1; d >= 0; d--) {
            if (++idx[d] < v->shape[d]) break;
            idx[d] = 0;
        }
    }
    return 1;
}

/* Fill from a flat Lua table of numbers in C order (length must equal numel). */
static int l_array_fill_flat(lua_State *L)
{
    st_view *v = &checkarr(L, 1)->v;
    luaL_checktype(L, 2, LUA_TTABLE);
    int64_t n = st_view_numel(v);
    if ((int64_t)luaL_len(L, 2) != n) luaL_error(L, "array: table has %d values, array holds %d", (int)luaL_len(L, 2), (int)n);
    int64_t idx[ST_MAXDIM] = {0};
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0;
        for (int d = 0; d < v->ndim; d++) off += idx[d] * v->strides[d];
        lua_rawgeti(L, 2, i + 1);
        if (!lua_isnumber(L, -1) && !lua_isboolean(L, -1))
            luaL_error(L, "array: element %d is a %s, expected a number", (int)(i + 1), luaL_typename(L, -1));
        if (lua_isboolean(L, -1)) {
            lua_pushinteger(L, lua_toboolean(L, -1));
            lua_replace(L, -2);
        }
        setnum(L, v, off, lua_gettop(L));
        lua_pop(L, 1);
        for (int d = v->ndim - 1; d >= 0; d--) {
            if (++idx[d] < v->shape[d]) break;
            idx[d] = 0;
        }
    }
    return 0;
}

static int l_array_binary(lua_State *L)
{
    int op = (int)luaL_checkinteger(L, 1);
    stl_check(L, st_op_binary(stl_ctx(L), op, stl_checkview(L, 2), stl_checkview(L, 3), stl_checkview(L, 4)));
    return 0;
}

static int l_array_scalar(lua_State *L)
{
    int op = (int)luaL_checkinteger(L, 1);
    stl_check(L, st_op_scalar(stl_ctx(L), op, stl_checkview(L, 2), luaL_checknumber(L, 3), lua_toboolean(L, 4),
                              stl_checkview(L, 5)));
    return 0;
}

static int l_array_unary(lua_State *L)
{
    int op = (int)luaL_checkinteger(L, 1);
    stl_check(L, st_op_unary(stl_ctx(L), op, stl_checkview(L, 2), stl_checkview(L, 3)));
    return 0;
}

static int l_array_reduce(lua_State *L)
{
    int op = (int)luaL_checkinteger(L, 1);
    int axis = (int)luaL_checkinteger(L, 3);
    stl_check(L, st_op_reduce(stl_ctx(L), op, stl_checkview(L, 2), axis, stl_checkview(L, 4)));
    return 0;
}

static int l_array_copy(lua_State *L)
{
    stl_check(L, st_op_copy(stl_ctx(L), stl_checkview(L, 1), stl_checkview(L, 2)));
    return 0;
}

static int l_array_fill(lua_State *L)
{
    stl_check(L, st_op_fill(stl_ctx(L), stl_checkview(L, 1), luaL_checknumber(L, 2)));
    return 0;
}

static int l_array_matmul(lua_State *L)
{
    stl_check(L, st_op_matmul(stl_ctx(L), stl_checkview(L, 1), stl_checkview(L, 2), stl_checkview(L, 3)));
    return 0;
}

static int l_array_broadcast(lua_State *L)
{
    int nd;
    int64_t shape[ST_MAXDIM];
    stl_check(L, st_op_broadcast_shape(stl_ctx(L), stl_checkview(L, 1), stl_checkview(L, 2), &nd, shape));
    lua_createtable(L, nd, 0);
    for (int i = 0; i < nd; i++) {
        lua_pushinteger(L, shape[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int l_is_array(lua_State *L)
{
    lua_pushboolean(L, luaL_testudata(L, 1, STRATA_ARRAY_MT) != NULL);
    return 1;
}

static int l_array_metatable(lua_State *L)
{
    luaL_getmetatable(L, STRATA_ARRAY_MT);
    return 1;
}

static int l_array_ptr(lua_State *L)
{
    lua_pushlightuserdata(L, stl_checkview(L, 1)->data);
    return 1;
}

/* ------------------------------------------------------------------ misc */
static int l_set_num_threads(lua_State *L)
{
    st_set_num_threads((int)luaL_optinteger(L, 1, 0));
    return 0;
}
static int l_get_num_threads(lua_State *L) { lua_pushinteger(L, st_get_num_threads()); return 1; }
static int l_interrupt(lua_State *L) { st_interrupt(); return 0; }
static int l_interrupt_clear(lua_State *L) { st_interrupt_clear(); return 0; }
static int l_interrupt_pending(lua_State *L) { lua_pushboolean(L, st_interrupt_pending()); return 1; }
static int l_version(lua_State *L) { lua_pushstring(L, st_version()); return 1; }
static int l_abi_version(lua_State *L) { lua_pushinteger(L, st_abi_version()); return 1; }

/* Progress: when enabled, kernels report through the context; we print a one-line bar on stderr
 * (no Lua callback from inside kernels). */
static void progress_print(void *ud, const char *what, double done, double total)
{
    static double last;
    double f = total > 0 ? done / total : 0;
    if (done < total && f - last < 0.01 && f >= last) return;
    last = f;
    fprintf(stderr, "\r%s: %5.1f%% (%.0f/%.0f)%s", what ? what : "working", 100 * f, done, total,
            done >= total ? "\n" : "");
    fflush(stderr);
    if (done >= total) last = 0;
}

static int l_set_progress(lua_State *L)
{
    st_ctx_set_progress(stl_ctx(L), lua_toboolean(L, 1) ? progress_print : NULL, NULL);
    return 0;
}

#define X(name) int stl_open_##name(lua_State *L);
#include "stl_modules.h"
#undef X

int luaopen_strata_core(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"array_alloc", l_array_alloc}, {"array_view", l_array_view}, {"array_dtype", l_array_dtype},
        {"array_ndim", l_array_ndim}, {"array_numel", l_array_numel}, {"array_shape", l_array_shape},
        {"array_strides", l_array_strides}, {"array_dim", l_array_dim}, {"array_contiguous", l_array_contiguous},
        {"array_get", l_array_get}, {"array_set", l_array_set}, {"array_index", l_array_index},
        {"array_newindex", l_array_newindex}, {"array_flat", l_array_flat}, {"array_fill_flat", l_array_fill_flat},
        {"array_binary", l_array_binary}, {"array_scalar", l_array_scalar}, {"array_unary", l_array_unary},
        {"array_reduce", l_array_reduce}, {"array_copy", l_array_copy}, {"array_fill", l_array_fill},
        {"array_matmul", l_array_matmul}, {"array_broadcast", l_array_broadcast}, {"is_array", l_is_array},
        {"array_metatable", l_array_metatable}, {"array_ptr", l_array_ptr},
        {"set_num_threads", l_set_num_threads}, {"get_num_threads", l_get_num_threads},
        {"interrupt", l_interrupt}, {"interrupt_clear", l_interrupt_clear},
        {"interrupt_pending", l_interrupt_pending}, {"version", l_version}, {"abi_version", l_abi_version},
        {"set_progress", l_set_progress}, {NULL, NULL}};
    luaL_newmetatable(L, STRATA_ARRAY_MT);
    lua_pop(L, 1);
    stl_ctx(L);
    luaL_newlib(L, fns);
    lua_pushstring(L, "lua5.4");
    lua_setfield(L, -2, "backend");
#define X(name) stl_open_##name(L);
#include "stl_modules.h"
#undef X
    return 1;
}
