/* host.h -- pieces shared by the files of bin/strata in csrc/host.  Not a public header: the
 * host is a program, not a library, and nothing outside csrc/host includes this. */
#ifndef STRATA_HOST_H
#define STRATA_HOST_H
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

/* Exit statuses of bin/strata. */
enum { HOST_EXIT_OK = 0, HOST_EXIT_ERROR = 1, HOST_EXIT_USAGE = 2, HOST_EXIT_INTERRUPTED = 130 };

/* Where the host found itself (filled by main.c before any Lua runs). */
struct host_info {
    const char *progname;  /* argv[0] or "strata" */
    const char *layout;    /* "source", "install" or "unknown" */
    char root[4096];       /* repository root or install prefix; "" if unknown */
    char recipes[4200];    /* built-in recipes directory; "" if unknown */
};
extern struct host_info host_info;

/* call.c: run the function below `narg` arguments on the stack in protected mode, with Ctrl-C
 * armed (st_interrupt + a Lua hook raising "interrupted!") and a message handler that appends a
 * traceback limited to the called code's frames.  Returns the lua_pcall status. */
int host_docall(lua_State *L, int narg, int nres);
/* Nonzero if a SIGINT arrived during the last host_docall. */
int host_interrupted(void);
/* If the value at idx is an "exit object" (a table with an integer field `exit`), its status;
 * otherwise -1.  Recipes and the option parser raise these for --help (0) and usage errors (2). */
int host_exit_status(lua_State *L, int idx);
/* Print the error on top of the stack (if status != LUA_OK), pop it, and return the process exit
 * status it implies: 0, the exit object's status, 130 after Ctrl-C, else 1. */
int host_report(lua_State *L, int status);
/* Set SIGINT to the "soft" prompt handler, which only records the interrupt (used by the REPL
 * between commands and while reading a line). */
void host_soft_sigint(void);
/* Consume a SIGINT recorded by the soft handler: returns 1 if there was one. */
int host_take_soft_sigint(void);

/* hostlib.c: the strata.host module (line editing, history, completion, directory listing). */
int luaopen_strata_host(lua_State *L);

/* csrc/lua (the lead's binding): the strata.core module. */
int luaopen_strata_core(lua_State *L);

#endif
