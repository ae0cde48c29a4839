/* call.c -- running Lua code the way a user at a terminal expects: Ctrl-C stops it, an error comes
 * back with a traceback that shows only the user's frames, and an error object may carry an exit
 * status (how recipes say "usage error, exit 2" without calling os.exit).
 *
 * Ctrl-C while code runs: the SIGINT handler does two async-signal-safe things, as PUC Lua's own
 * interpreter does: st_interrupt() raises Strata's process-wide flag, which C kernels poll between
 * blocks before returning ST_ERR_INTERRUPTED; and lua_sethook() arms a call/return/count hook whose
 * first firing raises "interrupted!" inside the running Lua code (the Lua 5.4 manual allows
 * lua_sethook from a signal handler).  The handler then restores the default action, so a second
 * Ctrl-C still kills a process stuck in C code that never polls.
 *
 * Between commands the REPL installs a "soft" handler that only records the signal; reading a line
 * treats it as "discard this line" (hostlib.c).
 *
 * Does not: interrupt a loop running inside a coroutine that was created before the Ctrl-C (Lua
 * hooks are per thread; the hook is armed on the thread that started the call), nor stop C code
 * that neither polls st_interrupt_pending() nor returns to Lua.
 */
#include "host.h"
#include "strata.h"
#include <signal.h>
#include <stdio.h>
#include <string.h>

static lua_State *volatile hook_state;       /* the state whose hook the handler arms */
static volatile sig_atomic_t got_sigint;     /* a SIGINT arrived during the current call */
static volatile sig_atomic_t soft_sigint;    /* a SIGINT arrived while the soft handler was on */

static int msghandler(lua_State *L);

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    lua_sethook(L, NULL, 0, 0);
    if (ar->event == LUA_HOOKCALL) {
        /* An error is already on its way (a kernel returned ST_ERR_INTERRUPTED and the binding
         * raised it) and this is the call of our message handler: keep that error, it says
         * more than "interrupted!". */
        lua_getinfo(L, "f", ar);
        int in_handler = lua_tocfunction(L, -1) == msghandler;
        lua_pop(L, 1);
        if (in_handler) return;
    }
    luaL_error(L, "interrupted!");
}

static void on_sigint(int sig)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);  /* a second Ctrl-C terminates, as with lua.c */
    got_sigint = 1;
    st_interrupt();
    if (hook_state)
        lua_sethook(hook_state, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void on_soft_sigint(int sig)
{
    (void)sig;
    soft_sigint = 1;
}

static void set_sigint(void (*fn)(int), struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  /* no SA_RESTART: a blocking read returns EINTR so Ctrl-C is seen at once */
    sigaction(SIGINT, &sa, old);
}

void host_soft_sigint(void) { set_sigint(on_soft_sigint, NULL); }

int host_take_soft_sigint(void)
{
    int r = soft_sigint != 0;
    soft_sigint = 0;
    return r;
}

int host_interrupted(void) { return got_sigint != 0; }

static int stack_depth(lua_State *L)
{
    lua_Debug ar;
    int n = 0;
    while (lua_getstack(L, n, &ar)) n++;
    return n;
}

static void add_frame(lua_State *L, luaL_Buffer *b, lua_Debug *ar)
{
    if (ar->currentline > 0)
        lua_pushfstring(L, "\n\t%s:%d: in ", ar->short_src, ar->currentline);
    else
        lua_pushfstring(L, "\n\t%s: in ", ar->short_src);
    luaL_addvalue(b);
    if (*ar->namewhat)
        lua_pushfstring(L, "%s '%s'", ar->namewhat, ar->name);
    else if (*ar->what == 'm')
        lua_pushliteral(L, "main chunk");
    else if (*ar->what == 'C')
        lua_pushliteral(L, "a C function");
    else
        lua_pushfstring(L, "function <%s:%d>", ar->short_src, ar->linedefined);
    luaL_addvalue(b);
    if (ar->istailcall) luaL_addstring(b, "\n\t(...tail calls...)");
}

/* msg + "stack traceback:" over levels 1..n of L (level 0 is the message handler itself), eliding
 * the middle of very deep stacks. */
static void push_traceback(lua_State *L, const char *msg, int n)
{
    enum { HEAD = 12, TAIL = 10 };
    luaL_Buffer b;
    lua_Debug ar;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, msg);
    if (n > 0) luaL_addstring(&b, "\nstack traceback:");
    for (int level = 1; level <= n; level++) {
        if (n > HEAD + TAIL && level == HEAD + 1) {
            lua_pushfstring(L, "\n\t...\t(skipping %d levels)", n - HEAD - TAIL);
            luaL_addvalue(&b);
            level = n - TAIL;
            continue;
        }
        if (!lua_getstack(L, level, &ar)) break;
        lua_getinfo(L, "Slnt", &ar);
        add_frame(L, &b, &ar);
    }
    luaL_pushresult(&b);
}

int host_exit_status(lua_State *L, int idx)
{
    if (!lua_istable(L, idx)) return -1;
    lua_pushliteral(L, "exit");
    lua_rawget(L, idx < 0 && idx > LUA_REGISTRYINDEX ? idx - 1 : idx);
    int isnum;
    lua_Integer code = lua_tointegerx(L, -1, &isnum);
    lua_pop(L, 1);
    return isnum && code >= 0 && code < 256 ? (int)code : -1;
}

/* Upvalue 1: stack depth at the point of the call; frames at or below it belong to the caller
 * (the REPL, the host's main) and are left out of the traceback. */
static int msghandler(lua_State *L)
{
    int base = (int)lua_tointeger(L, lua_upvalueindex(1));
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (host_exit_status(L, 1) >= 0) return 1;  /* exit objects travel as they are */
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    push_traceback(L, msg, stack_depth(L) - 1 - base);
    return 1;
}

int host_docall(lua_State *L, int narg, int nres)
{
    int fbase = lua_gettop(L) - narg;
    lua_pushinteger(L, stack_depth(L));
    lua_pushcclosure(L, msghandler, 1);
    lua_insert(L, fbase);

    lua_Hook old_hook = lua_gethook(L);
    int old_mask = lua_gethookmask(L), old_count = lua_gethookcount(L);
    lua_State *old_state = hook_state;
    struct sigaction old_action;

    st_interrupt_clear();
    got_sigint = 0;
    hook_state = L;
    set_sigint(on_sigint, &old_action);
    int status = lua_pcall(L, narg, nres, fbase);
    sigaction(SIGINT, &old_action, NULL);
    hook_state = old_state;
    if (got_sigint) lua_sethook(L, old_hook, old_mask, old_count);  /* disarm a pending stop */
    lua_remove(L, fbase);
    return status;
}

int host_report(lua_State *L, int status)
{
    if (status == LUA_OK) return HOST_EXIT_OK;
    int code = host_exit_status(L, -1);
    if (code >= 0) {
        /* An exit object: its message (field `message` or __tostring) is the whole report. */
        lua_getfield(L, -1, "message");
        const char *msg = lua_tostring(L, -1);
        if (!msg) {
            lua_pop(L, 1);
            msg = luaL_tolstring(L, -1, NULL);
        }
        if (msg && *msg) {
            FILE *out = code == 0 ? stdout : stderr;
            fputs(msg, out);
            if (msg[strlen(msg) - 1] != '\n') fputc('\n', out);
            fflush(out);
        }
        lua_pop(L, 2);
        return code;
    }
    const char *msg = lua_tostring(L, -1);
    if (!msg) msg = "(error object is not a string)";
    fprintf(stderr, "%s: %s\n", host_info.progname, msg);
    fflush(stderr);
    lua_pop(L, 1);
    return got_sigint ? HOST_EXIT_INTERRUPTED : HOST_EXIT_ERROR;
}
