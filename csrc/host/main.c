/* main.c -- bin/strata: a drop-in `lua` (5.4) with the Strata C core and Lua layer preloaded, plus
 * recipe dispatch (`strata <recipe> args`) and a REPL (lua/strata/repl.lua).
 *
 * Command line, in the manner of lua.c (reimplemented, not copied):
 *     strata [options] [script [args]]       options: -e stat, -l [g=]mod, -i, -v, -E, -W, -, --
 *     strata <recipe> [args]                  when <recipe> is not an existing file and has no '/'
 * With no script: a REPL if stdin is a terminal (or STRATA_REPL=1), else stdin is run as a script.
 * The `arg` table holds the script at arg[0], its arguments at 1..n and the interpreter and its
 * options at negative indices.  Exit status: 0 ok, 1 runtime error, 2 usage error, 130 Ctrl-C.
 *
 * Paths come from the executable's own location (/proc/self/exe), so a source tree and an
 * installed tree both work without environment variables:
 *     source tree  <root>/bin/strata:  <root>/lua, <root>/build/lua, <root>/recipes
 *     install      <prefix>/bin/strata: <prefix>/share/lua/5.4, <prefix>/lib/lua/5.4,
 *                                       <prefix>/share/strata/recipes
 * STRATA_PATH (colon-separated directories) is searched first.
 *
 * Does not: run LUA_INIT (a Strata session should not depend on an unrelated interpreter's init
 * script), or implement the REPL itself (lua/strata/repl.lua does, over strata.host).
 */
#include "host.h"
#include "strata.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct host_info host_info = {"strata", "unknown", "", ""};

/* What the command line asked for (argv is kept for -e/-l, which run in order). */
struct cmdline {
    int argc;
    char **argv;
    int script;       /* index of the script/recipe name in argv, 0 if none */
    int interactive;  /* -i */
    int version;      /* -v */
    int noenv;        /* -E */
    int warnings;     /* -W */
    int has_exec;     /* some -e or -l */
    int exit_code;    /* result of pmain */
};

static void usage(const char *bad)
{
    if (bad) fprintf(stderr, "%s: %s\n", host_info.progname, bad);
    fprintf(stderr,
            "usage: %s [options] [script [args]]\n"
            "       %s <recipe> [args]        (%s help lists recipes)\n"
            "Options:\n"
            "  -e stat   execute string 'stat'\n"
            "  -i        enter the REPL after running 'script'\n"
            "  -l mod    require library 'mod' into global 'mod' (-l g=mod: into global 'g')\n"
            "  -v        show version information\n"
            "  -E        ignore environment variables (LUA_PATH, STRATA_PATH, ...)\n"
            "  -W        turn warnings on\n"
            "  --        stop handling options\n"
            "  -         stop handling options and execute stdin\n",
            host_info.progname, host_info.progname, host_info.progname);
    fflush(stderr);
}

/* Returns 0 if the options are well-formed, else prints usage and returns -1. */
static int parse_args(struct cmdline *c)
{
    char **argv = c->argv;
    for (int i = 1; i < c->argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            c->script = i;
            return 0;
        }
        switch (a[1]) {
        case '\0':  /* "-": stdin */
            c->script = i;
            return 0;
        case '-':
            if (a[2] != '\0') break;
            c->script = i + 1 < c->argc ? i + 1 : 0;
            return 0;
        case 'i':
            if (a[2] != '\0') break;
            c->interactive = c->version = 1;
            continue;
        case 'v':
            if (a[2] != '\0') break;
            c->version = 1;
            continue;
        case 'E':
            if (a[2] != '\0') break;
            c->noenv = 1;
            continue;
        case 'W':
            if (a[2] != '\0') break;
            c->warnings = 1;
            continue;
        case 'e':
        case 'l':
            c->has_exec = 1;
            if (a[2] == '\0') {
                if (++i >= c->argc || argv[i][0] == '-') {
                    char msg[64];
                    snprintf(msg, sizeof msg, "option '-%c' needs an argument", a[1]);
                    usage(msg);
                    return -1;
                }
            }
            continue;
        case 'h':
            if (a[2] != '\0') break;
            usage(NULL);
            return 1;
        default:
            break;
        }
        if (!strcmp(a, "--help")) {
            usage(NULL);
            return 1;
        }
        char msg[300];
        snprintf(msg, sizeof msg, "unrecognized option '%.200s'", a);
        usage(msg);
        return -1;
    }
    return 0;
}

/* ---- paths ----------------------------------------------------------------------------------- */

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

static void strip_last(char *path)
{
    char *slash = strrchr(path, '/');
    if (slash) *slash = '\0';
}

static void find_root(void)
{
    char exe[4096], probe[4200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = '\0';
    strip_last(exe);  /* .../bin */
    strip_last(exe);  /* root or prefix */
    snprintf(probe, sizeof probe, "%s/lua/strata", exe);
    if (is_dir(probe)) {
        host_info.layout = "source";
        snprintf(host_info.root, sizeof host_info.root, "%s", exe);
        snprintf(host_info.recipes, sizeof host_info.recipes, "%s/recipes", exe);
        return;
    }
    snprintf(probe, sizeof probe, "%s/share/lua/5.4/strata", exe);
    if (is_dir(probe)) {
        host_info.layout = "install";
        snprintf(host_info.root, sizeof host_info.root, "%s", exe);
        snprintf(host_info.recipes, sizeof host_info.recipes, "%s/share/strata/recipes", exe);
    }
}

/* Prepend our directories to package.path and package.cpath (table `package` on the stack top). */
static void set_paths(lua_State *L, int noenv)
{
    luaL_Buffer path, cpath;
    const char *root = host_info.root;
    const char *extra = noenv ? NULL : getenv("STRATA_PATH");

    luaL_buffinit(L, &path);
    if (extra && *extra) {
        /* STRATA_PATH=dir1:dir2 -> dir/?.lua;dir/?/init.lua for each dir */
        const char *p = extra;
        while (*p) {
            const char *end = strchr(p, ':');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (len) {
                luaL_addlstring(&path, p, len);
                luaL_addstring(&path, "/?.lua;");
                luaL_addlstring(&path, p, len);
                luaL_addstring(&path, "/?/init.lua;");
            }
            p += len + (end != NULL);
        }
    }
    /* In a source tree the build folder is "build", or STRATA_BUILD (make asan uses build-asan). */
    const char *bdir = getenv("STRATA_BUILD");
    if (!bdir || !*bdir || strchr(bdir, '/')) bdir = "build";
    if (!strcmp(host_info.layout, "source"))
        lua_pushfstring(L, "%s/lua/?.lua;%s/lua/?/init.lua;%s/%s/lua/?.lua;", root, root, root, bdir);
    else if (!strcmp(host_info.layout, "install"))
        lua_pushfstring(L, "%s/share/lua/5.4/?.lua;%s/share/lua/5.4/?/init.lua;", root, root);
    else
        lua_pushliteral(L, "");
    luaL_addvalue(&path);
    lua_getfield(L, -2, "path");  /* -1 is the buffer's slot (Lua 5.4); package is at -2 */
    luaL_addvalue(&path);
    luaL_pushresult(&path);
    lua_setfield(L, -2, "path");

    luaL_buffinit(L, &cpath);
    if (extra && *extra) {
        const char *p = extra;
        while (*p) {
            const char *end = strchr(p, ':');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (len) {
                luaL_addlstring(&cpath, p, len);
                luaL_addstring(&cpath, "/?.so;");
            }
            p += len + (end != NULL);
        }
    }
    if (!strcmp(host_info.layout, "source"))
        lua_pushfstring(L, "%s/%s/lua/?.so;", root, bdir);
    else if (!strcmp(host_info.layout, "install"))
        lua_pushfstring(L, "%s/lib/lua/5.4/?.so;", root);
    else
        lua_pushliteral(L, "");
    luaL_addvalue(&cpath);
    lua_getfield(L, -2, "cpath");
    luaL_addvalue(&cpath);
    luaL_pushresult(&cpath);
    lua_setfield(L, -2, "cpath");
}

/* ---- Lua state setup --------------------------------------------------------------------------- */

/* Runs once the libraries are open: global `strata` (the Lua layer when present, else a small
 * table so the REPL, help() and plugins still work), with .host, .plugins and .doc filled in. */
static const char setup_lua[] =
    "local ok, s = pcall(require, 'strata')\n"
    "if not ok then\n"
    "  if not tostring(s):find(\"module 'strata' not found\", 1, true) then\n"
    "    io.stderr:write('strata: warning: require \"strata\" failed: ', tostring(s), '\\n')\n"
    "  end\n"
    "  s = {}\n"
    "end\n"
    "if type(s) ~= 'table' then s = {} end\n"
    "if rawget(s, 'host') == nil then s.host = require 'strata.host' end\n"
    "if rawget(s, 'plugins') == nil then\n"
    "  local okp, p = pcall(require, 'strata.plugin')\n"
    "  if okp then s.plugins = p end\n"
    "end\n"
    "if rawget(s, 'doc') == nil then s.doc = setmetatable({}, {__mode = 'k'}) end\n"
    "strata = s\n";

static void create_arg_table(lua_State *L, const struct cmdline *c)
{
    int script = c->script;  /* no script: arg[0] is the interpreter, as in lua.c */
    lua_createtable(L, c->argc - script, script + 1);
    for (int i = 0; i < c->argc; i++) {
        lua_pushstring(L, c->argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

static void print_version(void)
{
    printf("Strata %s (ABI %d) -- %s\n", st_version(), st_abi_version(), LUA_COPYRIGHT);
    fflush(stdout);
}

/* Run -e and -l options in command-line order.  Returns LUA_OK or the failing status, with the
 * error left for host_report. */
static int run_exec_options(lua_State *L, const struct cmdline *c)
{
    int last = c->script ? c->script : c->argc;
    for (int i = 1; i < last; i++) {
        const char *a = c->argv[i];
        if (a[0] != '-' || (a[1] != 'e' && a[1] != 'l')) continue;
        const char *val = a[2] ? a + 2 : c->argv[++i];
        int status;
        if (a[1] == 'e') {
            status = luaL_loadbuffer(L, val, strlen(val), "=(command line)");
            if (status == LUA_OK) status = host_docall(L, 0, 0);
        } else {
            /* -l mod or -l g=mod */
            const char *eq = strchr(val, '=');
            const char *mod = eq ? eq + 1 : val;
            lua_getglobal(L, "require");
            lua_pushstring(L, mod);
            status = host_docall(L, 1, 1);
            if (status == LUA_OK) {
                if (eq)
                    lua_pushlstring(L, val, (size_t)(eq - val));
                else
                    lua_pushstring(L, mod);
                lua_insert(L, -2);
                lua_setglobal(L, lua_tostring(L, -2));
                lua_pop(L, 1);
            }
        }
        if (status != LUA_OK) return status;
    }
    return LUA_OK;
}

/* Push the script's arguments (arg[1..n]) and return n. */
static int push_script_args(lua_State *L)
{
    if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
    int n = (int)luaL_len(L, -1);
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
    lua_remove(L, -n - 1);
    return n;
}

static int run_script(lua_State *L, const char *name)
{
    const char *fname = !strcmp(name, "-") ? NULL : name;
    int status = luaL_loadfile(L, fname);
    if (status != LUA_OK) return status;
    int n = push_script_args(L);
    return host_docall(L, n, 0);
}

/* A recipe: require("strata.cli").dispatch(name, {args...}) returns the exit status. */
static int run_recipe(lua_State *L, const struct cmdline *c, int *code)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "strata.cli");
    int status = host_docall(L, 1, 1);
    if (status != LUA_OK) return status;
    lua_getfield(L, -1, "dispatch");
    lua_remove(L, -2);
    lua_pushstring(L, c->argv[c->script]);
    lua_createtable(L, c->argc - c->script - 1, 0);
    for (int i = c->script + 1; i < c->argc; i++) {
        lua_pushstring(L, c->argv[i]);
        lua_rawseti(L, -2, i - c->script);
    }
    status = host_docall(L, 2, 1);
    if (status == LUA_OK) {
        int isnum;
        lua_Integer r = lua_tointegerx(L, -1, &isnum);
        *code = isnum ? (int)(r & 0xFF) : HOST_EXIT_OK;
        lua_pop(L, 1);
    }
    return status;
}

/* The REPL lives in Lua; strata.host gives it the line editor and interruptible calls. */
static int run_repl(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "strata.repl");
    int status = lua_pcall(L, 1, 1, 0);
    if (status != LUA_OK) return status;
    lua_getfield(L, -1, "run");
    lua_remove(L, -2);
    return lua_pcall(L, 0, 0, 0);
}

/* A name that is not a file and does not look like a path is a recipe. */
static int is_recipe_name(const char *s)
{
    size_t n = strlen(s);
    if (!n || strchr(s, '/') || is_file(s) || is_dir(s)) return 0;
    if (n > 4 && !strcmp(s + n - 4, ".lua")) return 0;
    return 1;
}

static int stdin_is_interactive(void)
{
    const char *force = getenv("STRATA_REPL");
    if (force && *force && strcmp(force, "0") != 0) return 1;
    return isatty(0);
}

static int pmain(lua_State *L)
{
    struct cmdline *c = lua_touserdata(L, 1);
    int status;
    luaL_checkversion(L);
    if (c->noenv) {
        lua_pushboolean(L, 1);
        lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
    }
    luaL_openlibs(L);
    if (c->warnings) lua_warning(L, "@on", 0);

    lua_getglobal(L, "package");
    set_paths(L, c->noenv);
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, luaopen_strata_core);
    lua_setfield(L, -2, "strata.core");
    lua_pushcfunction(L, luaopen_strata_host);
    lua_setfield(L, -2, "strata.host");
    lua_pop(L, 2);

    create_arg_table(L, c);
    status = luaL_loadbuffer(L, setup_lua, sizeof setup_lua - 1, "=[strata setup]");
    if (status == LUA_OK) status = host_docall(L, 0, 0);
    if (status != LUA_OK) goto fail;

    if (c->version) print_version();
    status = run_exec_options(L, c);
    if (status != LUA_OK) goto fail;

    if (c->script) {
        const char *name = c->argv[c->script];
        if (strcmp(name, "-") != 0 && is_recipe_name(name)) {
            int code = 0;
            status = run_recipe(L, c, &code);
            if (status != LUA_OK) goto fail;
            c->exit_code = code;
            if (!c->interactive || code != 0) return 0;
        } else {
            status = run_script(L, name);
            if (status != LUA_OK) goto fail;
        }
    }
    if (c->interactive) {
        status = run_repl(L);
    } else if (!c->script && !c->has_exec && !c->version) {
        if (stdin_is_interactive()) {
            print_version();
            status = run_repl(L);
        } else {
            status = run_script(L, "-");
        }
    }
    if (status != LUA_OK) goto fail;
    return 0;
fail:
    c->exit_code = host_report(L, status);
    return 0;
}

int main(int argc, char **argv)
{
    struct cmdline c;
    memset(&c, 0, sizeof c);
    c.argc = argc;
    c.argv = argv;
    if (argv[0] && argv[0][0]) host_info.progname = argv[0];
    /* OpenMP worker threads spin for a long time by default between parallel regions; on a
     * 2-core machine shared with other work that makes 2 threads slower than 1.  Spin briefly,
     * then sleep, unless the user chose a policy.  Must happen before OpenMP starts. */
    if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT")) setenv("GOMP_SPINCOUNT", "10000", 0);
    {
        /* Messages say "strata: ...", not "/long/path/bin/strata: ..." */
        const char *slash = strrchr(host_info.progname, '/');
        if (slash) host_info.progname = slash + 1;
    }
    int pa = parse_args(&c);
    if (pa != 0) return pa > 0 ? HOST_EXIT_OK : HOST_EXIT_USAGE;
    find_root();

    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "%s: cannot create Lua state: not enough memory\n", host_info.progname);
        return HOST_EXIT_ERROR;
    }
    lua_pushcfunction(L, pmain);
    lua_pushlightuserdata(L, &c);
    int status = lua_pcall(L, 1, 0, 0);
    int code = status == LUA_OK ? c.exit_code : host_report(L, status);
    lua_close(L);
    return code;
}
