/* hostlib.c -- the strata.host Lua module: what the REPL (lua/strata/repl.lua) and the recipe and
 * plugin loaders need from the program around them and cannot get from standard Lua: a line
 * editor with history and completion, Ctrl-C-aware protected calls, a directory listing, and where
 * the host found itself.
 *
 * Line editing is libedit's readline-compatible API (BSD licence).  We read characters ourselves
 * (rl_getc_function) so a Ctrl-C at the prompt can end the read: the soft SIGINT handler (call.c)
 * interrupts read() with EINTR, we hand libedit a newline so it finishes the line and restores the
 * terminal, and readline() reports the line as discarded.  libedit's own signal handling is off
 * (rl_catch_signals = 0) because on SIGINT it re-sends the signal to the whole process group.
 * Our reader decodes UTF-8 itself because libedit stores what rl_getc_function returns as one
 * wide character.
 *
 * Completion: the REPL registers a Lua function (word, line) -> list of candidates; the word
 * includes '.' and ':' (they are not word breaks here) so `a.b.c<TAB>` and `obj:m<TAB>` reach it
 * whole.
 *
 * Does not: edit multi-line chunks as one unit (each line is read on its own, as in lua.c), or
 * complete file names.
 */
#include "host.h"
#include "strata.h"
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <editline/readline.h>

static const char COMPLETER_KEY = 'k';   /* registry slot of the Lua completer */
static lua_State *completion_state;       /* set while readline() runs */
static int editing;                       /* libedit in use (stdin is a terminal) */
static int history_used;                  /* load_history/add_history called */

/* ---- reading ---------------------------------------------------------------------------- */

static int read_byte(int fd, unsigned char *c)
{
    for (;;) {
        ssize_t n = read(fd, c, 1);
        if (n == 1) return 1;
        if (n == 0) return 0;
        if (errno != EINTR) return -1;
        if (host_take_soft_sigint()) return -2;
    }
}

static volatile int prompt_interrupted;

/* rl_getc_function: one character (a Unicode code point, UTF-8 decoded), EOF at end of input.  A
 * Ctrl-C yields '\n' and sets prompt_interrupted, so libedit returns and the caller drops the line. */
static int getc_hook(FILE *f)
{
    unsigned char c;
    int fd = fileno(f), r = read_byte(fd, &c);
    if (r == -2) {
        prompt_interrupted = 1;
        return '\n';
    }
    if (r <= 0) return EOF;
    if (c < 0x80) return c;
    int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    int cp = more == 3 ? (c & 0x07) : more == 2 ? (c & 0x0F) : (c & 0x1F);
    if (more == 0) return 0xFFFD;  /* stray continuation byte */
    for (int i = 0; i < more; i++) {
        if (read_byte(fd, &c) != 1) return 0xFFFD;
        if ((c & 0xC0) != 0x80) return 0xFFFD;
        cp = (cp << 6) | (c & 0x3F);
    }
    return cp;
}

/* Without a terminal: print the prompt and read a line from stdin with stdio (so it shares
 * buffering with io.read in user code). */
static int read_plain(lua_State *L, const char *prompt)
{
    luaL_Buffer b;
    int c, got = 0;
    fputs(prompt, stdout);
    fflush(stdout);
    luaL_buffinit(L, &b);
    for (;;) {
        c = getc(stdin);
        if (c == EOF) {
            if (ferror(stdin) && errno == EINTR && host_take_soft_sigint()) {
                clearerr(stdin);
                luaL_pushresult(&b);
                lua_pop(L, 1);
                fputc('\n', stdout);
                lua_pushnil(L);
                lua_pushliteral(L, "interrupt");
                return 2;
            }
            if (ferror(stdin) && errno == EINTR) {
                clearerr(stdin);
                continue;
            }
            break;
        }
        got = 1;
        if (c == '\n') break;
        luaL_addchar(&b, (char)c);
    }
    luaL_pushresult(&b);
    if (!got) {
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_pushliteral(L, "eof");
        return 2;
    }
    return 1;
}

/* host.readline(prompt) -> line | nil, "eof" | nil, "interrupt" */
static int h_readline(lua_State *L)
{
    const char *prompt = luaL_optstring(L, 1, "> ");
    host_soft_sigint();
    host_take_soft_sigint();
    if (!editing) return read_plain(L, prompt);
    prompt_interrupted = 0;
    completion_state = L;
    char *line = readline(prompt);
    completion_state = NULL;
    if (prompt_interrupted) {
        free(line);
        lua_pushnil(L);
        lua_pushliteral(L, "interrupt");
        return 2;
    }
    if (!line) {
        fputc('\n', stdout);  /* leave the terminal on a fresh line after Ctrl-D */
        lua_pushnil(L);
        lua_pushliteral(L, "eof");
        return 2;
    }
    lua_pushstring(L, line);
    free(line);
    return 1;
}

/* ---- history ----------------------------------------------------------------------------- */

static void history_init(void)
{
    if (history_used) return;
    history_used = 1;
    using_history();
    stifle_history(1000);
}

static int h_add_history(lua_State *L)
{
    const char *line = luaL_checkstring(L, 1);
    if (!editing || !*line) return 0;
    history_init();
    HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (!last || !last->line || strcmp(last->line, line) != 0) add_history(line);
    return 0;
}

static int h_load_history(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    if (!editing) {
        lua_pushboolean(L, 0);
        return 1;
    }
    history_init();
    if (read_history(path) != 0 && access(path, F_OK) == 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: cannot read history", path);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int h_save_history(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    if (!editing || !history_used) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (write_history(path) != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: cannot write history", path);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- completion -------------------------------------------------------------------------- */

static char **matches;
static int nmatches, next_match;

static void clear_matches(void)
{
    for (int i = 0; i < nmatches; i++) free(matches[i]);
    free(matches);
    matches = NULL;
    nmatches = next_match = 0;
}

static char *match_generator(const char *text, int state)
{
    (void)text;
    if (state == 0) next_match = 0;
    if (next_match >= nmatches) return NULL;
    return strdup(matches[next_match++]);
}

/* Ask the Lua completer for candidates; errors in it are ignored (no completion). */
static void collect_matches(lua_State *L, const char *word)
{
    clear_matches();
    int top = lua_gettop(L);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &COMPLETER_KEY);
    if (lua_isfunction(L, -1)) {
        lua_pushstring(L, word);
        lua_pushstring(L, rl_line_buffer ? rl_line_buffer : "");
        if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_istable(L, -1)) {
            lua_Integer n = luaL_len(L, -1);
            if (n > 0 && n < 100000) matches = calloc((size_t)n, sizeof *matches);
            for (lua_Integer i = 1; matches && i <= n; i++) {
                lua_rawgeti(L, -1, i);
                const char *s = lua_tostring(L, -1);
                if (s) {
                    char *copy = strdup(s);
                    if (copy) matches[nmatches++] = copy;
                }
                lua_pop(L, 1);
            }
        }
    }
    lua_settop(L, top);
}

static char **attempted_completion(const char *text, int start, int end)
{
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1;  /* never fall back to file names */
    if (!completion_state) return NULL;
    collect_matches(completion_state, text);
    if (nmatches == 0) return NULL;
    char **r = rl_completion_matches(text, match_generator);
    clear_matches();
    return r;
}

static int h_set_completer(lua_State *L)
{
    if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &COMPLETER_KEY);
    return 0;
}

/* host.complete(word [, line]) -> list: what TAB would offer (for tests and for non-terminals). */
static int h_complete(lua_State *L)
{
    const char *word = luaL_checkstring(L, 1);
    const char *line = luaL_optstring(L, 2, word);
    lua_settop(L, 2);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &COMPLETER_KEY);
    if (!lua_isfunction(L, -1)) {
        lua_newtable(L);
        return 1;
    }
    lua_pushstring(L, word);
    lua_pushstring(L, line);
    lua_call(L, 2, 1);
    return 1;
}

/* ---- files, terminals, calls --------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* host.listdir(path) -> sorted list of entry names (no "." or "..") | nil, message */
static int h_listdir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    DIR *d = opendir(path);
    if (!d) {
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s", path, strerror(errno));
        return 2;
    }
    size_t n = 0, cap = 16;
    char **names = malloc(cap * sizeof *names);
    struct dirent *e;
    while (names && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (n == cap) {
            char **grown = realloc(names, 2 * cap * sizeof *names);
            if (!grown) break;
            names = grown;
            cap *= 2;
        }
        names[n] = strdup(e->d_name);
        if (names[n]) n++;
    }
    closedir(d);
    if (names) qsort(names, n, sizeof *names, cmp_str);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
        free(names[i]);
    }
    free(names);
    return 1;
}

/* host.stat(path) -> "file" | "directory" | "other" | nil */
static int h_stat(lua_State *L)
{
    struct stat st;
    if (stat(luaL_checkstring(L, 1), &st) != 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushstring(L, S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "directory" : "other");
    return 1;
}

static int h_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 0)));
    return 1;
}

/* host.pcall(f, ...) -> true, results... | false, error-with-traceback.  Like pcall, but Ctrl-C
 * interrupts f (see call.c) and the traceback covers f's frames only. */
static int h_pcall(lua_State *L)
{
    luaL_checkany(L, 1);
    int n = lua_gettop(L);
    int status = host_docall(L, n - 1, LUA_MULTRET);
    lua_pushboolean(L, status == LUA_OK);
    lua_insert(L, 1);
    return lua_gettop(L);
}

static int h_interrupted(lua_State *L)
{
    lua_pushboolean(L, host_interrupted());
    return 1;
}

int luaopen_strata_host(lua_State *L)
{
    static const luaL_Reg funcs[] = {
        {"readline", h_readline},         {"add_history", h_add_history},
        {"load_history", h_load_history}, {"save_history", h_save_history},
        {"set_completer", h_set_completer}, {"complete", h_complete},
        {"listdir", h_listdir},           {"stat", h_stat},
        {"isatty", h_isatty},             {"pcall", h_pcall},
        {"interrupted", h_interrupted},   {NULL, NULL}};
    static const char breaks[] = " \t\n\"\\'`@$><=;|&{(}),+-*/%^~#[]";

    editing = isatty(0);
    if (editing) {
        /* Before the first readline(), which initialises libedit with these. */
        rl_readline_name = "strata";
        rl_catch_signals = 0;
        rl_getc_function = getc_hook;
        rl_attempted_completion_function = attempted_completion;
        rl_basic_word_break_characters = breaks;
        rl_completer_word_break_characters = (char *)breaks;
        rl_completion_append_character = '\0';
    }
    luaL_newlib(L, funcs);
    lua_pushboolean(L, editing);
    lua_setfield(L, -2, "editing");
    lua_pushstring(L, host_info.root);
    lua_setfield(L, -2, "root");
    lua_pushstring(L, host_info.layout);
    lua_setfield(L, -2, "layout");
    lua_pushstring(L, host_info.recipes);
    lua_setfield(L, -2, "recipes");
    lua_pushstring(L, host_info.progname);
    lua_setfield(L, -2, "progname");
    lua_pushstring(L, st_version());
    lua_setfield(L, -2, "version");
    lua_pushinteger(L, st_abi_version());
    lua_setfield(L, -2, "abi");
    lua_pushliteral(L, LUA_RELEASE);
    lua_setfield(L, -2, "lua_version");
    return 1;
}
