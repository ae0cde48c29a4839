/* atoms.c -- Lua 5.4 binding of st_atoms frames and of the readers/writers.  The Lua class
 * lua/strata/atoms.lua wraps these handles; positions, numbers, cell, pbc and per-atom arrays are
 * array views into the frame's memory (checked for staleness on every use). */
#include "binding.h"
#include <string.h>

static stl_atomsref *checkref(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, STRATA_ATOMS_MT);
}

st_atoms *stl_checkatoms(lua_State *L, int idx)
{
    stl_atomsref *r = checkref(L, idx);
    if (!r->a) luaL_error(L, "atoms frame used after it was freed");
    return r->a;
}

void stl_pushatoms(lua_State *L, st_atoms *a)
{
    stl_atomsref *r = lua_newuserdatauv(L, sizeof *r, 0);
    r->a = a;
    luaL_setmetatable(L, STRATA_ATOMS_MT);
}

static int atoms_gc(lua_State *L)
{
    stl_atomsref *r = checkref(L, 1);
    st_atoms_destroy(r->a);
    r->a = NULL;
    return 0;
}

static int l_atoms_new(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 0 || n > ((lua_Integer)1 << 36)) luaL_error(L, "atoms: bad atom count %d", (int)n);
    st_atoms *a = st_atoms_create(n);
    if (!a) luaL_error(L, "atoms: out of memory for %d atoms", (int)n);
    stl_pushatoms(L, a);
    return 1;
}

static int l_atoms_copy(lua_State *L)
{
    st_atoms *b = st_atoms_copy(stl_checkatoms(L, 1));
    if (!b) luaL_error(L, "atoms: out of memory copying a frame");
    stl_pushatoms(L, b);
    return 1;
}

static int l_atoms_count(lua_State *L) { lua_pushinteger(L, st_atoms_count(stl_checkatoms(L, 1))); return 1; }
static int l_atoms_is(lua_State *L) { lua_pushboolean(L, luaL_testudata(L, 1, STRATA_ATOMS_MT) != NULL); return 1; }
static int l_atoms_generation(lua_State *L) { lua_pushinteger(L, (lua_Integer)st_atoms_generation(stl_checkatoms(L, 1))); return 1; }

static int view_of(lua_State *L, void *data, int dtype, int ndim, int64_t d0, int64_t d1)
{
    int64_t shape[2] = {d0, d1};
    stl_array_wrap(L, 1, data, dtype, ndim, shape, NULL, checkref(L, 1));
    return 1;
}

static int l_atoms_positions(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    return view_of(L, st_atoms_positions(a), ST_F64, 2, st_atoms_count(a), 3);
}
static int l_atoms_numbers(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    return view_of(L, st_atoms_numbers(a), ST_I32, 1, st_atoms_count(a), 1);
}
static int l_atoms_cell(lua_State *L) { return view_of(L, st_atoms_cell(stl_checkatoms(L, 1)), ST_F64, 2, 3, 3); }
static int l_atoms_pbc(lua_State *L) { return view_of(L, st_atoms_pbc(stl_checkatoms(L, 1)), ST_I32, 1, 3, 1); }
static int l_atoms_has_cell(lua_State *L) { lua_pushboolean(L, st_atoms_has_cell(stl_checkatoms(L, 1))); return 1; }

static const char *kind_names[] = {"real", "int", "bool", "string", NULL};

static int l_atoms_arrays(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    int n = st_atoms_array_count(a);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, st_atoms_array_name(a, i));
        lua_setfield(L, -2, "name");
        lua_pushstring(L, kind_names[st_atoms_array_kind(a, i)]);
        lua_setfield(L, -2, "kind");
        lua_pushinteger(L, st_atoms_array_ncols(a, i));
        lua_setfield(L, -2, "ncols");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* Per-atom array by name: an (n, ncols) view ((n) when ncols = 1), or a Lua table of strings
 * (a table of tables when ncols > 1) for STRING arrays; nil if absent. */
static int l_atoms_array(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    const char *name = luaL_checkstring(L, 2);
    int i = st_atoms_array_find(a, name);
    if (i < 0) return 0;
    int kind = st_atoms_array_kind(a, i), nc = st_atoms_array_ncols(a, i);
    int64_t n = st_atoms_count(a);
    if (kind == ST_KIND_STRING) {
        lua_createtable(L, (int)n, 0);
        for (int64_t r = 0; r < n; r++) {
            if (nc == 1) {
                lua_pushstring(L, st_atoms_array_string(a, i, r, 0));
            } else {
                lua_createtable(L, nc, 0);
                for (int c = 0; c < nc; c++) {
                    lua_pushstring(L, st_atoms_array_string(a, i, r, c));
                    lua_rawseti(L, -2, c + 1);
                }
            }
            lua_rawseti(L, -2, r + 1);
        }
        return 1;
    }
    return view_of(L, st_atoms_array_data(a, i), kind == ST_KIND_REAL ? ST_F64 : ST_I32, nc == 1 ? 1 : 2, n, nc);
}

static int l_atoms_array_add(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    const char *name = luaL_checkstring(L, 2);
    int kind = luaL_checkoption(L, 3, "real", kind_names);
    int nc = (int)luaL_optinteger(L, 4, 1);
    if (st_atoms_array_add(stl_ctx(L), a, name, kind, nc) < 0) stl_check(L, st_ctx_status(stl_ctx(L)));
    lua_settop(L, 2);
    return l_atoms_array(L);
}

static int l_atoms_array_set_strings(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    const char *name = luaL_checkstring(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    int64_t n = st_atoms_count(a);
    if ((int64_t)luaL_len(L, 3) != n) luaL_error(L, "array '%s': %d strings for %d atoms", name, (int)luaL_len(L, 3), (int)n);
    int i = st_atoms_array_add(stl_ctx(L), a, name, ST_KIND_STRING, 1);
    if (i < 0) stl_check(L, st_ctx_status(stl_ctx(L)));
    for (int64_t r = 0; r < n; r++) {
        lua_rawgeti(L, 3, r + 1);
        const char *s = lua_tostring(L, -1);
        if (!s) luaL_error(L, "array '%s': entry %d is not a string", name, (int)(r + 1));
        stl_check(L, st_atoms_array_set_string(stl_ctx(L), a, i, r, 0, s));
        lua_pop(L, 1);
    }
    return 0;
}

static int l_atoms_array_remove(lua_State *L)
{
    lua_pushboolean(L, st_atoms_array_remove(stl_checkatoms(L, 1), luaL_checkstring(L, 2)));
    return 1;
}

static void push_info(lua_State *L, st_atoms *a, int i)
{
    int kind = st_atoms_info_kind(a, i), nd = st_atoms_info_ndim(a, i);
    if (kind == ST_KIND_STRING) {
        lua_pushstring(L, st_atoms_info_string(a, i));
        return;
    }
    const void *d = st_atoms_info_data(a, i);
    int64_t d0 = st_atoms_info_dim(a, i, 0), d1 = st_atoms_info_dim(a, i, 1);
#define PUSHV(k) do { if (kind == ST_KIND_REAL) lua_pushnumber(L, ((const double *)d)[k]); \
    else if (kind == ST_KIND_BOOL) lua_pushboolean(L, ((const int32_t *)d)[k]); \
    else lua_pushinteger(L, ((const int32_t *)d)[k]); } while (0)
    if (nd == 0) {
        PUSHV(0);
    } else if (nd == 1) {
        lua_createtable(L, (int)d0, 0);
        for (int64_t k = 0; k < d0; k++) { PUSHV(k); lua_rawseti(L, -2, k + 1); }
    } else {
        lua_createtable(L, (int)d0, 0);
        for (int64_t r = 0; r < d0; r++) {
            lua_createtable(L, (int)d1, 0);
            for (int64_t c = 0; c < d1; c++) { PUSHV(r * d1 + c); lua_rawseti(L, -2, c + 1); }
            lua_rawseti(L, -2, r + 1);
        }
    }
#undef PUSHV
}

/* Info as a Lua table (key -> number/boolean/string/table), plus the list of keys in order. */
static int l_atoms_info(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    int n = st_atoms_info_count(a);
    lua_createtable(L, 0, n);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        push_info(L, a, i);
        lua_setfield(L, -3, st_atoms_info_key(a, i));
        lua_pushstring(L, st_atoms_info_key(a, i));
        lua_rawseti(L, -2, i + 1);
    }
    return 2;
}

static int l_atoms_info_get(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    int i = st_atoms_info_find(a, luaL_checkstring(L, 2));
    if (i < 0) return 0;
    push_info(L, a, i);
    return 1;
}

/* Set info key to a number, boolean, string, array, or a (nested) table of numbers/booleans. */
static int l_atoms_info_set(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    const char *key = luaL_checkstring(L, 2);
    st_ctx *ctx = stl_ctx(L);
    int t = lua_type(L, 3);
    if (t == LUA_TNIL) {
        st_atoms_info_remove(a, key);
        return 0;
    }
    if (t == LUA_TSTRING) {
        stl_check(L, st_atoms_info_set_string(ctx, a, key, lua_tostring(L, 3)));
        return 0;
    }
    if (t == LUA_TBOOLEAN) {
        int32_t v = lua_toboolean(L, 3);
        stl_check(L, st_atoms_info_set_int(ctx, a, key, ST_KIND_BOOL, 0, NULL, &v));
        return 0;
    }
    if (t == LUA_TNUMBER) {
        if (lua_isinteger(L, 3) && lua_tointeger(L, 3) >= INT32_MIN && lua_tointeger(L, 3) <= INT32_MAX) {
            int32_t v = (int32_t)lua_tointeger(L, 3);
            stl_check(L, st_atoms_info_set_int(ctx, a, key, ST_KIND_INT, 0, NULL, &v));
        } else {
            double v = lua_tonumber(L, 3);
            stl_check(L, st_atoms_info_set_real(ctx, a, key, 0, NULL, &v));
        }
        return 0;
    }
    st_view *v = strata_lua_toview(L, 3);
    if (v) {
        if (v->ndim > 2) luaL_error(L, "info '%s': arrays of at most 2 dimensions", key);
        int64_t n = st_view_numel(v);
        double *buf = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof(double), 0);
        st_view dst = {buf, ST_F64, v->ndim, {0}, {0}};
        memcpy(dst.shape, v->shape, sizeof dst.shape);
        st_view_set_contiguous(&dst);
        stl_check(L, st_op_copy(ctx, v, &dst));
        stl_check(L, st_atoms_info_set_real(ctx, a, key, v->ndim, v->shape, buf));
        return 0;
    }
    if (t != LUA_TTABLE) luaL_error(L, "info '%s': cannot store a %s", key, luaL_typename(L, 3));
    /* table: 1-d of numbers/booleans, or 2-d (table of equal-length tables) */
    int64_t d0 = (int64_t)luaL_len(L, 3), d1 = 0;
    int nd = 1, allbool = 1, allint = 1;
    if (d0 > 0) {
        lua_rawgeti(L, 3, 1);
        if (lua_istable(L, -1)) { nd = 2; d1 = (int64_t)luaL_len(L, -1); }
        lua_pop(L, 1);
    }
    int64_t n = nd == 2 ? d0 * d1 : d0;
    double *buf = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof(double), 0);
    int32_t *ibuf = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof(int32_t), 0);
    for (int64_t r = 0; r < d0; r++) {
        lua_rawgeti(L, 3, r + 1);
        int64_t cols = nd == 2 ? d1 : 1;
        if (nd == 2 && (!lua_istable(L, -1) || (int64_t)luaL_len(L, -1) != d1))
            luaL_error(L, "info '%s': row %d is not a table of %d values", key, (int)(r + 1), (int)d1);
        for (int64_t c = 0; c < cols; c++) {
            if (nd == 2) lua_rawgeti(L, -1, c + 1);
            else lua_pushvalue(L, -1);
            int k = (int)(r * cols + c);
            if (lua_isboolean(L, -1)) { buf[k] = ibuf[k] = lua_toboolean(L, -1); allint = 0; }
            else if (lua_isnumber(L, -1)) {
                allbool = 0;
                buf[k] = lua_tonumber(L, -1);
                if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= INT32_MIN && lua_tointeger(L, -1) <= INT32_MAX)
                    ibuf[k] = (int32_t)lua_tointeger(L, -1);
                else allint = 0;
            } else luaL_error(L, "info '%s': element %d is a %s, expected a number or boolean", key, k + 1, luaL_typename(L, -1));
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    int64_t shape[2] = {d0, d1};
    if (n && allbool) stl_check(L, st_atoms_info_set_int(ctx, a, key, ST_KIND_BOOL, nd, shape, ibuf));
    else if (n && allint) stl_check(L, st_atoms_info_set_int(ctx, a, key, ST_KIND_INT, nd, shape, ibuf));
    else stl_check(L, st_atoms_info_set_real(ctx, a, key, nd, shape, buf));
    return 0;
}

/* New frame holding the atoms at the given 1-based indices (any order, repeats allowed). */
static int l_atoms_take(lua_State *L)
{
    st_atoms *a = stl_checkatoms(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    int64_t m = (int64_t)luaL_len(L, 2), n = st_atoms_count(a);
    int64_t *idx = lua_newuserdatauv(L, (size_t)(m ? m : 1) * sizeof(int64_t), 0);
    for (int64_t k = 0; k < m; k++) {
        lua_rawgeti(L, 2, k + 1);
        lua_Integer v = lua_tointeger(L, -1);
        if (v < 1 || v > n) luaL_error(L, "take: index %d out of range 1..%d", (int)v, (int)n);
        idx[k] = v - 1;
        lua_pop(L, 1);
    }
    st_atoms *b = st_atoms_copy(a);
    if (!b) luaL_error(L, "take: out of memory");
    stl_pushatoms(L, b); /* owned from now on: errors below free it via __gc */
    st_ctx *ctx = stl_ctx(L);
    stl_check(L, st_atoms_resize(ctx, b, m));
    for (int64_t k = 0; k < m; k++) {
        memcpy(st_atoms_positions(b) + 3 * k, st_atoms_positions(a) + 3 * idx[k], 3 * sizeof(double));
        st_atoms_numbers(b)[k] = st_atoms_numbers(a)[idx[k]];
    }
    for (int i = 0; i < st_atoms_array_count(a); i++) {
        int kind = st_atoms_array_kind(a, i), nc = st_atoms_array_ncols(a, i);
        int j = st_atoms_array_find(b, st_atoms_array_name(a, i));
        for (int64_t k = 0; k < m; k++) {
            if (kind == ST_KIND_STRING) {
                for (int c = 0; c < nc; c++)
                    stl_check(L, st_atoms_array_set_string(ctx, b, j, k, c, st_atoms_array_string(a, i, idx[k], c)));
            } else if (kind == ST_KIND_REAL) {
                memcpy((double *)st_atoms_array_data(b, j) + k * nc, (double *)st_atoms_array_data(a, i) + idx[k] * nc, nc * sizeof(double));
            } else {
                memcpy((int32_t *)st_atoms_array_data(b, j) + k * nc, (int32_t *)st_atoms_array_data(a, i) + idx[k] * nc, nc * sizeof(int32_t));
            }
        }
    }
    return 1;
}

static int l_atoms_free(lua_State *L) { return atoms_gc(L); }

/* ------------------------------------------------------------------ readers and writers */
typedef struct { st_reader *r; } reader_ud;
typedef struct { st_writer *w; } writer_ud;

static int reader_gc(lua_State *L)
{
    reader_ud *u = luaL_checkudata(L, 1, "strata.reader");
    st_reader_close(u->r);
    u->r = NULL;
    return 0;
}

static int writer_gc(lua_State *L)
{
    writer_ud *u = luaL_checkudata(L, 1, "strata.writer");
    st_writer_abort(u->w); /* never closed: the temporary file is removed, the target untouched */
    u->w = NULL;
    return 0;
}

static int l_reader_open(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const char *fmt = luaL_optstring(L, 2, NULL);
    reader_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->r = NULL;
    luaL_setmetatable(L, "strata.reader");
    int rc = st_reader_open(stl_ctx(L), path, fmt, &u->r);
    if (rc) return stl_fail(L, rc);
    return 1;
}

static int l_reader_open_string(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    const char *fmt = luaL_optstring(L, 2, NULL);
    const char *name = luaL_optstring(L, 3, "<string>");
    reader_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->r = NULL;
    luaL_setmetatable(L, "strata.reader");
    int rc = st_reader_open_string(stl_ctx(L), text, len, fmt, name, &u->r);
    if (rc) return stl_fail(L, rc);
    return 1;
}

/* Next frame handle; nil at the end; nil, message on error. */
static int l_reader_next(lua_State *L)
{
    reader_ud *u = luaL_checkudata(L, 1, "strata.reader");
    if (!u->r) luaL_error(L, "reader used after close");
    st_atoms *a = NULL;
    int rc = st_reader_next(stl_ctx(L), u->r, &a);
    if (rc) return stl_fail(L, rc);
    if (!a) return 0;
    stl_pushatoms(L, a);
    return 1;
}

static int l_reader_format(lua_State *L)
{
    reader_ud *u = luaL_checkudata(L, 1, "strata.reader");
    lua_pushstring(L, u->r ? st_reader_format(u->r) : NULL);
    return 1;
}

static int l_writer_open(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const char *fmt = luaL_optstring(L, 2, NULL);
    writer_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->w = NULL;
    luaL_setmetatable(L, "strata.writer");
    int rc = st_writer_open(stl_ctx(L), path, fmt, &u->w);
    if (rc) return stl_fail(L, rc);
    return 1;
}

static int l_writer_write(lua_State *L)
{
    writer_ud *u = luaL_checkudata(L, 1, "strata.writer");
    if (!u->w) luaL_error(L, "writer used after close");
    int rc = st_writer_write(stl_ctx(L), u->w, stl_checkatoms(L, 2));
    if (rc) return stl_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_writer_close(lua_State *L)
{
    writer_ud *u = luaL_checkudata(L, 1, "strata.writer");
    if (!u->w) return 0;
    st_writer *w = u->w;
    u->w = NULL;
    int rc = st_writer_close(stl_ctx(L), w);
    if (rc) return stl_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_formats(lua_State *L)
{
    lua_newtable(L);
    int flags;
    const char *name;
    for (int i = 0; (name = st_format_name(i, &flags)); i++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, name);
        lua_setfield(L, -2, "name");
        lua_pushboolean(L, flags & 1);
        lua_setfield(L, -2, "read");
        lua_pushboolean(L, flags & 2);
        lua_setfield(L, -2, "write");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int l_format_detect(lua_State *L)
{
    lua_pushstring(L, st_format_detect(luaL_checkstring(L, 1), NULL, 0));
    return 1;
}

static int l_element_symbol(lua_State *L) { lua_pushstring(L, st_element_symbol((int)luaL_checkinteger(L, 1))); return 1; }
static int l_element_number(lua_State *L) { lua_pushinteger(L, st_element_number(luaL_checkstring(L, 1))); return 1; }
static int l_element_mass(lua_State *L) { lua_pushnumber(L, st_element_mass((int)luaL_checkinteger(L, 1))); return 1; }

STL_MODULE(atoms)
{
    static const luaL_Reg fns[] = {
        {"atoms_new", l_atoms_new}, {"atoms_copy", l_atoms_copy}, {"atoms_count", l_atoms_count},
        {"is_atoms", l_atoms_is}, {"atoms_generation", l_atoms_generation}, {"atoms_positions", l_atoms_positions},
        {"atoms_numbers", l_atoms_numbers}, {"atoms_cell", l_atoms_cell}, {"atoms_pbc", l_atoms_pbc},
        {"atoms_has_cell", l_atoms_has_cell}, {"atoms_arrays", l_atoms_arrays}, {"atoms_array", l_atoms_array},
        {"atoms_array_add", l_atoms_array_add}, {"atoms_array_set_strings", l_atoms_array_set_strings},
        {"atoms_array_remove", l_atoms_array_remove}, {"atoms_info", l_atoms_info},
        {"atoms_info_get", l_atoms_info_get}, {"atoms_info_set", l_atoms_info_set}, {"atoms_take", l_atoms_take},
        {"atoms_free", l_atoms_free}, {"reader_open", l_reader_open}, {"reader_open_string", l_reader_open_string},
        {"reader_next", l_reader_next}, {"reader_close", reader_gc}, {"reader_format", l_reader_format},
        {"writer_open", l_writer_open}, {"writer_write", l_writer_write}, {"writer_close", l_writer_close},
        {"writer_abort", writer_gc}, {"formats", l_formats}, {"format_detect", l_format_detect},
        {"element_symbol", l_element_symbol}, {"element_number", l_element_number},
        {"element_mass", l_element_mass}, {NULL, NULL}};
    luaL_newmetatable(L, STRATA_ATOMS_MT);
    lua_pushcfunction(L, atoms_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, "strata.reader");
    lua_pushcfunction(L, reader_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, "strata.writer");
    lua_pushcfunction(L, writer_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_setfuncs(L, fns, 0);
    return 0;
}
