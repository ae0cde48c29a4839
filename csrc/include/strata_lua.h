/* strata_lua.h -- for C extensions (ordinary Lua 5.4 C modules linking libstrata): reach the
 * st_view inside a Strata array passed from Lua.  Not part of the FFI header set.
 *
 *     st_view *v = strata_lua_toview(L, 1);   // NULL if argument 1 is not a Strata array
 */
#ifndef STRATA_LUA_H
#define STRATA_LUA_H
#include <lauxlib.h>
#include <lua.h>
#include "strata.h"

#define STRATA_ARRAY_MT "strata.array"

#define STRATA_ATOMS_MT "strata.atoms_handle"

/* The atoms handle userdata: `a` is NULL after an explicit free. */
typedef struct stl_atomsref {
    st_atoms *a;
} stl_atomsref;

typedef struct stl_array {
    st_view v;
    const stl_atomsref *ref; /* data belongs to an atoms frame: checked alive and same generation */
    uint64_t gen;
} stl_array;

static inline st_view *strata_lua_toview(lua_State *L, int idx)
{
    stl_array *a = (stl_array *)luaL_testudata(L, idx, STRATA_ARRAY_MT);
    if (!a) return NULL;
    if (a->ref && (!a->ref->a || st_atoms_generation(a->ref->a) != a->gen)) return NULL;
    return &a->v;
}
#endif
