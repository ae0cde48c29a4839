-- strata.repl: the interactive prompt of bin/strata.
--
-- Reads a line (strata.host.readline: libedit with history and TAB completion on a terminal,
-- plain stdin otherwise), compiles it first as `return <line>` so expressions print their values
-- without `return`, then as a statement; a chunk whose only problem is that it ends too early
-- (the compiler's message ends in "<eof>", the test lua.c uses) continues on the ">>" prompt.
-- Commands run under strata.host.pcall: Ctrl-C stops the command (Lua code and C kernels alike),
-- the error is shown and the prompt comes back with every variable intact.  Results are shown
-- with strata.pretty.  History: $STRATA_HISTORY, else ~/.strata_history (STRATA_HISTORY= to
-- disable), saved after every command so a crash or os.exit loses nothing.
--
-- help(x) prints: strata.doc[x] or any loaded module's `doc[x]`; the metatable's __doc (a string
-- or function(x)); for a string, the recipe of that name or the value at that dotted path; for a
-- plain table, its fields.  _PROMPT and _PROMPT2 override the prompts, as in lua.c.
--
-- Does not: run outside bin/strata (it needs strata.host), or complete inside strings or
-- file names.

local pretty = require "strata.pretty"

local M = {}

local keywords = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
  "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until",
  "while" }

-- ---- compiling ------------------------------------------------------------------------------

local function incomplete(err) return err and err:sub(-5) == "<eof>" end

--- Compile `src`.  Returns fn (as an expression if `return src` compiles), or nil, "incomplete",
--- or nil, message.
function M.compile(src)
  local rfn, rerr = load("return " .. src, "=stdin")
  if rfn then return rfn end
  local sfn, serr = load(src, "=stdin")
  if sfn then return sfn end
  -- Either reading may still be waiting for its end: `{1,` only makes sense as an expression.
  if incomplete(serr) or incomplete(rerr) then return nil, "incomplete" end
  return nil, serr
end

-- ---- running ----------------------------------------------------------------------------------

local function show(...)
  local n = select("#", ...)
  if n == 0 then return end
  local out = {}
  for i = 1, n do
    local v = (select(i, ...))
    local ok, s = pcall(pretty.format, v)
    out[i] = ok and s or tostring(v)
  end
  io.stdout:write(table.concat(out, "\t"), "\n")
  io.stdout:flush()
end

local function report(err)
  local ok, cli = pcall(require, "strata.cli")
  if ok and cli.is_exit(err) then
    io.stdout:write(tostring(err), "\n")
  else
    io.stderr:write(tostring(err), "\n")
  end
  io.stdout:flush()
  io.stderr:flush()
end

local function finish(ok, ...)
  if ok then show(...) else report((...)) end
  return ok
end

--- Run one compiled chunk as a REPL command: interruptible, results pretty-printed.
function M.execute(host, fn)
  return finish(host.pcall(fn))
end

-- ---- completion -------------------------------------------------------------------------------

local function safe_index(v, k)
  local ok, r = pcall(function() return v[k] end)
  if ok then return r end
  return nil
end

-- Keys of v (and of the tables its metatable's __index chain leads to), with their values.
local function fields(v, out)
  out = out or {}
  local depth = 0
  while v ~= nil and depth < 8 do
    if type(v) == "table" then
      for k, val in next, v do
        if type(k) == "string" and out[k] == nil then out[k] = val end
      end
    end
    local mt = getmetatable(v)
    local idx = type(mt) == "table" and rawget(mt, "__index") or nil
    if type(idx) ~= "table" then break end
    v = idx
    depth = depth + 1
  end
  return out
end

local function resolve(path)
  local v = _G
  for name in path:gmatch("[^.:]+") do
    v = safe_index(v, name)
    if v == nil then return nil end
  end
  return v
end

--- Candidates for TAB: `word` is the text before the cursor back to a space or operator, with
--- '.' and ':' kept ("strata.io.re", "frame:wr", "pri").  Returns full replacements, sorted.
function M.complete(word)
  local out = {}
  local prefix, sep, partial = word:match("^(.-)([.:])([%w_]*)$")
  if prefix and prefix ~= "" and prefix:match("^[%a_][%w_]*[%w_.:]*$") then
    local obj = resolve(prefix)
    if obj == nil then return out end
    for k, val in pairs(fields(obj)) do
      if k:match("^[%a_][%w_]*$") and k:sub(1, #partial) == partial and
         (sep == "." or type(val) == "function") then
        out[#out + 1] = prefix .. sep .. k
      end
    end
  else
    partial = word:match("[%a_][%w_]*$") or ""
    local lead = word:sub(1, #word - #partial)
    local seen = {}
    for k in pairs(fields(_G)) do
      if k:sub(1, #partial) == partial and k:match("^[%a_][%w_]*$") then
        out[#out + 1] = lead .. k
        seen[k] = true
      end
    end
    for _, k in ipairs(keywords) do
      if k:sub(1, #partial) == partial and not seen[k] then out[#out + 1] = lead .. k end
    end
  end
  table.sort(out)
  return out
end

-- ---- help -------------------------------------------------------------------------------------

local function doc_of(obj)
  if obj == nil then return nil end
  local s = rawget(_G, "strata")
  local d = type(s) == "table" and rawget(s, "doc") or nil
  if type(d) == "table" and d[obj] then return d[obj] end
  for _, mod in pairs(package.loaded) do
    local md = type(mod) == "table" and rawget(mod, "doc") or nil
    if type(md) == "table" then
      local ok, text = pcall(function() return md[obj] end)
      if ok and type(text) == "string" then return text end
    end
  end
  local mt = getmetatable(obj)
  local md = type(mt) == "table" and rawget(mt, "__doc") or nil
  if type(md) == "function" then
    local ok, text = pcall(md, obj)
    if ok and text then return tostring(text) end
  elseif md ~= nil then
    return tostring(md)
  end
  return nil
end

M.intro = [[
Strata REPL: Lua 5.4 with the Strata library loaded as the global `strata`.
  Type an expression to see its value (no `return` needed); an unfinished statement continues
  on the ">>" prompt.
  help(x)                 documentation of a function, object or recipe name,
                          e.g. help(strata.read), help "hello" (a recipe), help(strata)
  strata.plugins.list()   your plugins ($STRATA_PLUGIN_PATH, ./plugins, ~/.local/share/strata/plugins)
  TAB                     completes names, fields (a.b.c) and methods (obj:m)
  Ctrl-C                  stops the running command; your variables are kept
  Ctrl-D                  leaves (history is saved in ~/.strata_history or $STRATA_HISTORY)]]

--- help(x): print what is known about x; help() prints an introduction.
function M.help(...)
  if select("#", ...) == 0 then print(M.intro) return end
  local obj = ...
  local text = doc_of(obj)
  if text then print(text) return end
  if type(obj) == "string" then
    local okc, cli = pcall(require, "strata.cli")
    local r = okc and obj:match("^[%w_%-]+$") and cli.find_recipe(obj)
    if r then print(cli.recipe_help(r)) return end
    if obj:match("^[%a_][%w_.:]*$") then
      local v = resolve(obj)
      if v ~= nil and type(v) ~= "string" then return M.help(v) end
    end
    print(string.format("no help for '%s' (not a recipe, and no documented value by that name)",
                        obj))
    return
  end
  if type(obj) == "table" then
    local names = {}
    for k, v in pairs(fields(obj)) do
      names[#names + 1] = k .. (type(v) == "function" and "()" or "")
    end
    table.sort(names)
    if #names > 0 then
      print("no documentation; fields: " .. table.concat(names, ", "))
      return
    end
  end
  print("no documentation for " .. pretty.format(obj))
end

-- ---- the loop ---------------------------------------------------------------------------------

local function history_path()
  local p = os.getenv("STRATA_HISTORY")
  if p then return p ~= "" and p or nil end
  local home = os.getenv("HOME")
  return home and home ~= "" and (home .. "/.strata_history") or nil
end

--- Run the REPL until end of input.  opts.host replaces strata.host (tests).
function M.run(opts)
  opts = opts or {}
  local host = opts.host or require "strata.host"
  local hist = history_path()
  if hist then host.load_history(hist) end
  host.set_completer(M.complete)
  if rawget(_G, "help") == nil then _G.help = M.help end
  if host.editing then print('Type help() for help, Ctrl-D to leave.') end

  local buffer
  while true do
    local prompt = buffer and (rawget(_G, "_PROMPT2") or ">> ") or (rawget(_G, "_PROMPT") or "> ")
    local line, why = host.readline(tostring(prompt))
    if line == nil then
      if why ~= "interrupt" then break end
      buffer = nil  -- Ctrl-C at the prompt drops the unfinished chunk
    elseif buffer or line:find("%S") then
      local src = buffer and (buffer .. "\n" .. line) or line
      if not buffer and src:sub(1, 1) == "=" then src = "return " .. src:sub(2) end  -- Lua 5.1 habit
      local fn, err = M.compile(src)
      if err == "incomplete" then
        buffer = src
      else
        buffer = nil
        host.add_history(src)
        if hist then host.save_history(hist) end
        if fn then M.execute(host, fn) else report(err) end
      end
    end
  end
end

return M
