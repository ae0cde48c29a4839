/* npy.c -- Lua 5.4 binding of .npy/.npz reading and writing (csrc/core/npy.c). */
#include "binding.h"
#include <stdlib.h>
#include <string.h>

static int l_npy_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    st_ctx *ctx = stl_ctx(L);
    st_npy_info info;
    int rc = st_npy_read_header(ctx, path, &info);
    if (rc) return stl_fail(L, rc);
    stl_array *a = stl_array_new(L, info.dtype, info.ndim, info.shape);
    rc = st_npy_read_data(ctx, path, &info, a->v.data);
    if (rc) return stl_fail(L, rc);
    return 1;
}

static int l_npy_save(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int rc = st_npy_write(stl_ctx(L), path, stl_checkview(L, 2));
    if (rc) return stl_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

typedef struct { st_npz *z; } npz_ud;
static int npz_gc(lua_State *L)
{
    npz_ud *u = luaL_checkudata(L, 1, "strata.npz");
    st_npz_close(u->z);
    u->z = NULL;
    return 0;
}

/* npz_load(path) -> {name = array, ...}, {names in archive order} | nil, message */
static int l_npz_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    st_ctx *ctx = stl_ctx(L);
    npz_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->z = NULL;
    luaL_setmetatable(L, "strata.npz");
    int rc = st_npz_open(ctx, path, &u->z);
    if (rc) return stl_fail(L, rc);
    int n = st_npz_count(u->z);
    lua_createtable(L, 0, n);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        st_npy_info info;
        rc = st_npz_info(ctx, u->z, i, &info);
        if (rc) return stl_fail(L, rc);
        stl_array *a = stl_array_new(L, info.dtype, info.ndim, info.shape);
        rc = st_npz_read(ctx, u->z, i, &info, a->v.data);
        if (rc) return stl_fail(L, rc);
        lua_setfield(L, -3, st_npz_name(u->z, i));
        lua_pushstring(L, st_npz_name(u->z, i));
        lua_rawseti(L, -2, i + 1);
    }
    return 2;
}

typedef struct { st_npz_writer *w; } npzw_ud;
static int npzw_gc(lua_State *L)
{
    npzw_ud *u = luaL_checkudata(L, 1, "strata.npz_writer");
    st_npz_writer_abort(u->w);
    u->w = NULL;
    return 0;
}

/* npz_save(path, names, arrays, compress) -> true | nil, message */
static int l_npz_save(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    int compress = lua_toboolean(L, 4);
    int n = (int)luaL_len(L, 2);
    for (int i = 1; i <= n; i++) { /* check everything before creating the file */
        lua_rawgeti(L, 3, i);
        stl_checkview(L, -1);
        lua_pop(L, 1);
    }
    st_ctx *ctx = stl_ctx(L);
    npzw_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->w = NULL;
    luaL_setmetatable(L, "strata.npz_writer");
    int rc = st_npz_writer_open(ctx, path, compress, &u->w);
    if (rc) return stl_fail(L, rc);
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, 2, i);
        const char *name = luaL_checkstring(L, -1);
        lua_rawgeti(L, 3, i);
        rc = st_npz_writer_add(ctx, u->w, name, stl_checkview(L, -1));
        lua_pop(L, 2);
        if (rc) return stl_fail(L, rc); /* __gc aborts the writer */
    }
    st_npz_writer *w = u->w;
    u->w = NULL;
    rc = st_npz_writer_close(ctx, w);
    if (rc) return stl_fail(L, rc);
    lua_pushboolean(L, 1);
    return 1;
}

STL_MODULE(npy)
{
    static const luaL_Reg fns[] = {{"npy_load", l_npy_load}, {"npy_save", l_npy_save},
                                   {"npz_load", l_npz_load}, {"npz_save", l_npz_save}, {NULL, NULL}};
    luaL_newmetatable(L, "strata.npz");
    lua_pushcfunction(L, npz_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, "strata.npz_writer");
    lua_pushcfunction(L, npzw_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_setfuncs(L, fns, 0);
    return 0;
}
