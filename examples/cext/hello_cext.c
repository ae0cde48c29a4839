/* hello_cext.c -- an example C extension: an ordinary Lua 5.4 C module that calls Strata's C API.
 *
 * `require "hello_cext"` works in bin/strata and in a stock lua5.4 (see Makefile).  It shows the
 * three things every C extension should do:
 *   1. check at load time that the Strata it runs against has the ABI it was compiled for
 *      (st_abi_version() against the header's ST_ABI_VERSION) and refuse to load otherwise;
 *   2. report failures through an st_ctx and raise the message with luaL_error(L, "%s", msg),
 *      never the message as a format string;
 *   3. in long loops, poll st_interrupt_pending() and stop with ST_ERR_INTERRUPTED, so Ctrl-C in
 *      the REPL stops the extension too.  Inside bin/strata the extension's Strata symbols
 *      resolve to the host's own copy (bin/strata exports them), so the interrupt flag is shared.
 *
 * Does not: register into Strata's C registries (descriptors, potentials); that is the same
 * pattern with a table of function pointers and is documented with each registry.
 */
#include <lauxlib.h>
#include <lua.h>
#include "strata.h"

/* The ABI this file was compiled against.  Overridable only so the test suite can build a
 * deliberately mismatched copy and check that loading it fails cleanly. */
#ifndef HELLO_CEXT_ABI
#define HELLO_CEXT_ABI ST_ABI_VERSION
#endif

/* hello_cext.version() -> Strata version string, ABI number */
static int l_version(lua_State *L)
{
    lua_pushstring(L, st_version());
    lua_pushinteger(L, st_abi_version());
    return 2;
}

/* The "kernel": sum 1..n, polling the interrupt flag every 2^20 steps as real kernels do once
 * per block or row. */
static int spin_kernel(st_ctx *ctx, int64_t n, double *sum)
{
    double s = 0;
    for (int64_t i = 1; i <= n; i++) {
        if ((i & ((1 << 20) - 1)) == 0 && st_interrupt_pending())
            return st_ctx_fail(ctx, ST_ERR_INTERRUPTED, "hello_cext.spin: interrupted");
        s += (double)i;
    }
    *sum = s;
    return ST_OK;
}

/* hello_cext.spin(n) -> 1 + 2 + ... + n (as a double); raises on interrupt or bad n */
static int l_spin(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0, 1, "expected a count >= 0");
    st_ctx *ctx = st_ctx_create();
    if (!ctx) return luaL_error(L, "hello_cext.spin: out of memory");
    double sum = 0;
    int status = spin_kernel(ctx, (int64_t)n, &sum);
    if (status != ST_OK) {
        lua_pushstring(L, st_ctx_message(ctx));
        st_ctx_destroy(ctx);  /* free before raising: luaL_error does not return */
        return luaL_error(L, "%s", lua_tostring(L, -1));
    }
    st_ctx_destroy(ctx);
    lua_pushnumber(L, sum);
    return 1;
}

int luaopen_hello_cext(lua_State *L)
{
    static const luaL_Reg funcs[] = {{"version", l_version}, {"spin", l_spin}, {NULL, NULL}};
    if (st_abi_version() != HELLO_CEXT_ABI)
        return luaL_error(L, "hello_cext: built for Strata ABI %d but this Strata has ABI %d; "
                          "rebuild the extension against the installed headers",
                          (int)HELLO_CEXT_ABI, st_abi_version());
    luaL_newlib(L, funcs);
    return 1;
}
