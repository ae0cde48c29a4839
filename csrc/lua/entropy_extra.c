/* entropy_extra.c -- Lua 5.4 binding of the entropy functions the Lua layer (lua/strata/entropy.lua)
 * needs beyond csrc/lua/kernels.c: per-frame metrics (st_entropy_frames) and greedy frame
 * selection (st_entropy_select_frames).  Frame boundaries cross as a Lua table of 1-based first
 * rows with a final sentinel (offsets[nframes + 1] = rows + 1); frame indices come back 1-based.
 * The LuaJIT FFI backend (lua/strata/ffi_kernels.lua) offers the same two functions.
 * Does not: compute descriptors or anything per frame in Lua. */
#include "binding.h"
#include <stdlib.h>
#include <string.h>

/* A contiguous-row float64 matrix view of argument idx (copied when needed; the copy stays on
 * the stack until the call returns). */
static const st_view *matrix_arg(lua_State *L, int idx, const char *what)
{
    st_view *v = stl_checkview(L, idx);
    if (v->ndim != 2)
        luaL_error(L, "%s: expected a 2-d array (rows = environments), got %d-d", what, v->ndim);
    if (v->dtype == ST_F64 && v->strides[1] == 1 && v->strides[0] >= v->shape[1]) return v;
    stl_array *c = stl_array_new(L, ST_F64, 2, v->shape);
    stl_check(L, st_op_copy(stl_ctx(L), v, &c->v));
    return &c->v;
}

static int64_t ld_of(const st_view *v) { return v->shape[0] > 1 ? v->strides[0] : v->shape[1]; }

/* Offsets table (1-based first rows + sentinel) -> 0-based int64 boundaries in a new userdata
 * buffer pushed on the stack (freed by the GC even when a later check raises). */
static int64_t *offsets_arg(lua_State *L, int idx, int64_t *nframes)
{
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_Integer len = luaL_len(L, idx);
    if (len < 2) luaL_error(L, "frame offsets: need at least 2 entries (first rows + sentinel), got %d", (int)len);
    int64_t *o = lua_newuserdatauv(L, (size_t)len * sizeof(int64_t), 0);
    for (lua_Integer i = 1; i <= len; i++) {
        lua_geti(L, idx, i);
        int ok;
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        if (!ok) luaL_error(L, "frame offsets: entry %d is not an integer", (int)i);
        o[i - 1] = (int64_t)v - 1;
        lua_pop(L, 1);
    }
    *nframes = (int64_t)len - 1;
    return o;
}

static void kernel_opts(lua_State *L, int idx, st_entropy_opts *o)
{
    memset(o, 0, sizeof *o);
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
}

static void push_rows(lua_State *L, const double *v, int nh, int64_t nf)
{
    int64_t shape[2] = {nh, nf};
    stl_array *a = stl_array_new(L, ST_F64, 2, shape);
    memcpy(a->v.data, v, (size_t)nh * (size_t)nf * sizeof(double));
}

/* entropy_frames(X, offsets, R|nil, h, opts) -> H, D, mean_dH|nil: arrays (nh x nframes) */
static int l_entropy_frames(lua_State *L)
{
    lua_settop(L, 5);   /* buffers pushed below must not take the place of missing arguments */
    const st_view *x = matrix_arg(L, 1, "entropy_frames: set");
    int64_t nf;
    int64_t *off = offsets_arg(L, 2, &nf);
    const st_view *r = lua_isnoneornil(L, 3) ? NULL : matrix_arg(L, 3, "entropy_frames: reference");
    double h[16];
    int nh;
    if (lua_isnumber(L, 4)) { h[0] = lua_tonumber(L, 4); nh = 1; }
    else {
        luaL_checktype(L, 4, LUA_TTABLE);
        nh = (int)luaL_len(L, 4);
        if (nh < 1 || nh > 16) luaL_error(L, "bandwidths: give 1 to 16 values, got %d", nh);
        for (int i = 0; i < nh; i++) {
            lua_geti(L, 4, i + 1);
            if (!lua_isnumber(L, -1)) luaL_error(L, "bandwidth %d is not a number", i + 1);
            h[i] = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
    }
    st_entropy_opts o;
    kernel_opts(L, 5, &o);
    size_t cnt = (size_t)nh * (size_t)nf;
    double *buf = lua_newuserdatauv(L, 3 * cnt * sizeof(double), 0);
    double *H = buf, *D = buf + cnt, *M = r ? buf + 2 * cnt : NULL;
    int rc = st_entropy_frames(stl_ctx(L), x->data, x->shape[0], x->shape[1], ld_of(x), off, nf,
                               r ? r->data : NULL, r ? r->shape[0] : 0, r ? r->shape[1] : 0,
                               r ? ld_of(r) : 0, h, nh, &o, H, D, M);
    if (rc) return stl_fail(L, rc);
    push_rows(L, H, nh, nf);
    push_rows(L, D, nh, nf);
    if (M) push_rows(L, M, nh, nf); else lua_pushnil(L);
    return 3;
}

/* entropy_select_frames(X, offsets, h, nselect, {max_evals=, method=, tol=})
 *   -> order (table of 1-based frames), H_path (table), stats {evaluations, capped_steps, seconds} */
static int l_entropy_select_frames(lua_State *L)
{
    lua_settop(L, 5);
    const st_view *x = matrix_arg(L, 1, "entropy_select_frames: set");
    int64_t nf;
    int64_t *off = offsets_arg(L, 2, &nf);
    double h = luaL_checknumber(L, 3);
    lua_Integer ns = luaL_checkinteger(L, 4);
    st_entropy_opts ko;
    kernel_opts(L, 5, &ko);
    st_entropy_select_stats st;
    st_entropy_select_opts so;
    memset(&so, 0, sizeof so);
    so.kernel = &ko;
    so.stats = &st;
    if (lua_istable(L, 5)) {
        lua_getfield(L, 5, "max_evals");
        so.max_evals = (int32_t)luaL_optinteger(L, -1, 0);
        lua_pop(L, 1);
    }
    if (ns < 0 || ns > nf) luaL_error(L, "entropy_select_frames: nselect = %d out of range 0..%d", (int)ns, (int)nf);
    int64_t *order = lua_newuserdatauv(L, (size_t)(ns > 0 ? ns : 1) * sizeof(int64_t), 0);
    double *Hp = lua_newuserdatauv(L, (size_t)(ns > 0 ? ns : 1) * sizeof(double), 0);
    int rc = st_entropy_select_frames(stl_ctx(L), x->data, x->shape[0], x->shape[1], ld_of(x), off,
                                      nf, h, (int64_t)ns, &so, order, Hp);
    if (rc) return stl_fail(L, rc);
    lua_createtable(L, (int)ns, 0);
    for (lua_Integer i = 0; i < ns; i++) { lua_pushinteger(L, order[i] + 1); lua_rawseti(L, -2, i + 1); }
    lua_createtable(L, (int)ns, 0);
    for (lua_Integer i = 0; i < ns; i++) { lua_pushnumber(L, Hp[i]); lua_rawseti(L, -2, i + 1); }
    lua_createtable(L, 0, 3);
    lua_pushnumber(L, (double)st.evaluations); lua_setfield(L, -2, "evaluations");
    lua_pushnumber(L, (double)st.capped_steps); lua_setfield(L, -2, "capped_steps");
    lua_pushnumber(L, st.seconds); lua_setfield(L, -2, "seconds");
    return 3;
}

STL_MODULE(entropy_extra)
{
    static const luaL_Reg fns[] = {
        {"entropy_frames", l_entropy_frames},
        {"entropy_select_frames", l_entropy_select_frames},
        {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
    return 0;
}
