-- strata.cli: the command-line side of Strata -- a small option parser for recipes and scripts,
-- and recipe dispatch for `strata <recipe> [args]` / `strata help`.
--
-- Option parser.  A spec is a table (a recipe table is one):
--     { name = "hello", summary = "one line", usage = "longer text (optional)",
--       options = { { name = "count", short = "c", type = "int", default = 1, help = "..." }, ... },
--       positional = { name = "FILE", min = 0, max = math.huge, help = "..." } }
-- Option types: string (default), number, int, flag, choice (values = {...}); `multiple = true`
-- collects repeated options into a list; `required = true`; `metavar` names the value in help.
-- Accepted syntax: --key value, --key=value, --flag, --no-flag, -k value, -kvalue, -f, and `--`
-- ending options.  Option names with '-' are stored with '_' (--max-iter -> opts.max_iter).
-- cli.parse(spec, args) returns opts, positionals.  Problems raise an *exit object*
-- (cli.exit(2, message)), which bin/strata prints without a traceback and turns into exit status
-- 2; --help raises cli.exit(0, help text).  Code that must not exit can pcall and check cli.is_exit.
--
-- Recipes are files <name>.lua returning { name, summary, usage, options, run = function(args) };
-- found first in the plugin directories (as kind = "recipe" plugins, see strata.plugin), then in
-- the built-in recipes directory (<root>/recipes or <prefix>/share/strata/recipes).  run(args)
-- gets the remaining command-line strings and returns an exit status (nil/true = 0, false = 1).
--
-- Does not: abbreviate option names (a prefix is a typo, not a request), bundle short flags
-- (-abc), or read options from files or the environment.
-- Runs on Lua 5.4 and LuaJIT.

local plugin = require "strata.plugin"

local M = {}

-- ---- exit objects ---------------------------------------------------------------------------

local Exit = {}
Exit.__index = Exit
Exit.__tostring = function(e) return e.message end

--- An error value meaning "stop and exit with this status, printing message" (stdout for 0).
function M.exit(code, message)
  return setmetatable({ exit = code, message = message or "" }, Exit)
end

function M.is_exit(v) return getmetatable(v) == Exit end

-- ---- option parsing ---------------------------------------------------------------------------

local function prog(spec)
  return spec.name and ("strata " .. spec.name) or (arg and arg[0]) or "strata"
end

local converters = {
  string = function(s) return s end,
  number = function(s)
    local v = tonumber(s)
    if v == nil then return nil, "expected a number" end
    return v
  end,
  int = function(s)
    local v = tonumber(s)
    if v == nil or v % 1 ~= 0 or v ~= v or v == math.huge or v == -math.huge then
      return nil, "expected an integer"
    end
    return math.floor(v)
  end,
}

local truthy = { ["true"] = true, yes = true, on = true, ["1"] = true,
                 ["false"] = false, no = false, off = false, ["0"] = false }

local function key_of(o) return (o.name:gsub("-", "_")) end

local function metavar(o)
  if o.metavar then return o.metavar end
  if o.type == "int" then return "N" end
  if o.type == "number" then return "X" end
  if o.type == "choice" then return "{" .. table.concat(o.values or {}, ",") .. "}" end
  return (o.name:upper():gsub("-", "_"))
end

function M.usage_line(spec)
  local parts = { "usage: " .. prog(spec) }
  if spec.options and #spec.options > 0 then parts[#parts + 1] = "[options]" end
  for _, o in ipairs(spec.options or {}) do
    if o.required then parts[#parts + 1] = "--" .. o.name .. " " .. metavar(o) end
  end
  local p = spec.positional
  if p then
    local n = p.name or "ARG"
    local min, max = p.min or 0, p.max or math.huge
    local s = n
    if max > 1 then s = s .. "..." end
    if min == 0 then s = "[" .. s .. "]" end
    parts[#parts + 1] = s
  end
  return table.concat(parts, " ")
end

local function default_text(o)
  if o.default == nil or o.type == "flag" then return "" end
  local d = o.default
  if type(d) == "table" then d = table.concat(d, ",") end
  return " (default: " .. tostring(d) .. ")"
end

--- The full --help text of a spec (or recipe).
function M.help(spec)
  local out = { M.usage_line(spec), "" }
  if spec.summary then out[#out + 1] = spec.summary; out[#out + 1] = "" end
  if spec.usage then
    out[#out + 1] = (spec.usage:gsub("%s+$", ""))
    out[#out + 1] = ""
  end
  local rows = {}
  if spec.positional then
    local p = spec.positional
    rows[#rows + 1] = { "  " .. (p.name or "ARG"), p.help or "" }
  end
  for _, o in ipairs(spec.options or {}) do
    local left = "  " .. (o.short and ("-" .. o.short .. ", ") or "    ") .. "--" .. o.name
    if o.type ~= "flag" then left = left .. " " .. metavar(o) end
    local right = (o.help or "") .. default_text(o)
    if o.required then right = right .. " (required)" end
    if o.multiple then right = right .. " (repeatable)" end
    rows[#rows + 1] = { left, right }
  end
  rows[#rows + 1] = { "  -h, --help", "show this help and exit" }
  local w = 0
  for _, r in ipairs(rows) do if #r[1] > w then w = #r[1] end end
  w = math.min(w, 30)
  out[#out + 1] = spec.positional and "arguments and options:" or "options:"
  for _, r in ipairs(rows) do
    if #r[1] > w then
      out[#out + 1] = r[1]
      out[#out + 1] = string.rep(" ", w + 2) .. r[2]
    else
      out[#out + 1] = r[1] .. string.rep(" ", w - #r[1] + 2) .. r[2]
    end
  end
  return table.concat(out, "\n")
end

local function distance(a, b)
  -- Levenshtein distance, for "did you mean" suggestions.
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

local function usage_error(spec, fmt, ...)
  local msg = string.format(fmt, ...)
  error(M.exit(2, string.format("%s: %s\n%s\nTry '%s --help' for more information.",
                                prog(spec), msg, M.usage_line(spec), prog(spec))), 0)
end
M.usage_error = usage_error

local function convert(spec, o, raw, what)
  if o.type == "choice" then
    for _, v in ipairs(o.values or {}) do if v == raw then return raw end end
    usage_error(spec, "%s: expected one of %s, got '%s'", what,
                table.concat(o.values or {}, ", "), raw)
  end
  local conv = converters[o.type or "string"]
  if not conv then error(string.format("option spec '%s': unknown type '%s'", o.name,
                                       tostring(o.type)), 3) end
  local v, why = conv(raw)
  if v == nil then usage_error(spec, "%s: %s, got '%s'", what, why, raw) end
  return v
end

local function check_spec(spec)
  if type(spec) ~= "table" then error("cli.parse: spec must be a table", 3) end
  for i, o in ipairs(spec.options or {}) do
    if type(o.name) ~= "string" or not o.name:match("^[%w][%w_%-]*$") then
      error(string.format("cli.parse: option %d: field 'name' must be a word, got %s", i,
                          tostring(o.name)), 3)
    end
    local t = o.type or "string"
    if t ~= "flag" and t ~= "choice" and not converters[t] then
      error(string.format("cli.parse: option '%s': unknown type '%s'", o.name, t), 3)
    end
  end
end

--- Parse `args` (a list of strings) against `spec`.  Returns opts (by option name, '-' -> '_')
--- and the list of positional arguments.
function M.parse(spec, args)
  check_spec(spec)
  args = args or {}
  local long, short = {}, {}
  for _, o in ipairs(spec.options or {}) do
    long[o.name] = o
    if o.short then short[o.short] = o end
  end
  local opts, pos = {}, {}
  local function store(o, v)
    local k = key_of(o)
    if o.multiple then
      opts[k] = opts[k] or {}
      opts[k][#opts[k] + 1] = v
    else
      opts[k] = v
    end
  end
  local i, only_positional = 1, false
  while i <= #args do
    local a = args[i]
    if only_positional or a == "-" or not a:match("^%-") or a:match("^%-[%d.]") then
      pos[#pos + 1] = a
    elseif a == "--" then
      only_positional = true
    elseif a == "--help" or (a == "-h" and not short.h) then
      error(M.exit(0, M.help(spec)), 0)
    elseif a:match("^%-%-") then
      local name, value = a:match("^%-%-([^=]+)=(.*)$")
      name = name or a:sub(3)
      local o, negated = long[name], false
      if not o and name:match("^no%-") and long[name:sub(4)] and long[name:sub(4)].type == "flag" then
        o, negated = long[name:sub(4)], true
      end
      if not o then
        local best, bestd
        for n in pairs(long) do
          local d = distance(name, n)
          if d <= 2 and (not bestd or d < bestd) then best, bestd = n, d end
        end
        usage_error(spec, "unknown option '--%s'%s", name,
                    best and (" (did you mean '--" .. best .. "'?)") or "")
      end
      if o.type == "flag" then
        if value ~= nil then
          if negated or truthy[value:lower()] == nil then
            usage_error(spec, "option '--%s': expected true or false, got '%s'", name, value)
          end
          store(o, truthy[value:lower()])
        else
          store(o, not negated)
        end
      else
        if value == nil then
          i = i + 1
          value = args[i]
          if value == nil then usage_error(spec, "option '--%s' needs a value", o.name) end
        end
        store(o, convert(spec, o, value, "option '--" .. o.name .. "'"))
      end
    else
      local c, rest = a:sub(2, 2), a:sub(3)
      local o = short[c]
      if not o then usage_error(spec, "unknown option '-%s'", c) end
      if o.type == "flag" then
        if rest ~= "" then usage_error(spec, "option '-%s' takes no value (got '%s')", c, a) end
        store(o, true)
      else
        local value = rest
        if value == "" then
          i = i + 1
          value = args[i]
          if value == nil then usage_error(spec, "option '-%s' needs a value", c) end
        end
        store(o, convert(spec, o, value, "option '-" .. c .. "'"))
      end
    end
    i = i + 1
  end
  for _, o in ipairs(spec.options or {}) do
    local k = key_of(o)
    if opts[k] == nil then
      if o.required then usage_error(spec, "option '--%s' is required", o.name) end
      if o.type == "flag" then opts[k] = o.default == true
      elseif o.default ~= nil then opts[k] = o.default end
    end
  end
  local p = spec.positional
  local min, max = p and (p.min or 0) or 0, p and (p.max or math.huge) or 0
  if #pos > max then
    if max == 0 then usage_error(spec, "unexpected argument '%s'", pos[1]) end
    usage_error(spec, "too many arguments (at most %d %s, got %d)", max, p.name or "ARG", #pos)
  end
  if #pos < min then
    usage_error(spec, "missing argument %s (need at least %d, got %d)", p.name or "ARG", min, #pos)
  end
  if p and p.type then
    for j = 1, #pos do pos[j] = convert(spec, p, pos[j], "argument " .. (p.name or "ARG")) end
  end
  return opts, pos
end

-- ---- small helpers for recipes -------------------------------------------------------------

--- Write `text` to `path` without ever leaving a half-written file: write a temporary file
--- beside it, then rename.  Returns true or nil, message.
function M.write_atomic(path, text)
  local tmp = string.format("%s.tmp%d", path, math.random(100000, 999999))
  local f, err = io.open(tmp, "wb")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  local cok, cerr = f:close()
  if not ok or not cok then
    os.remove(tmp)
    return nil, string.format("%s: %s", path, tostring(werr or cerr))
  end
  local rok, rerr = os.rename(tmp, path)
  if not rok then os.remove(tmp); return nil, rerr end
  return true
end

-- ---- recipes -----------------------------------------------------------------------------------

--- The built-in recipes directory: from the host when running in bin/strata, else derived from
--- where this file was found (source tree or install layout).
function M.builtin_recipe_dir()
  local ok, h = pcall(require, "strata.host")
  if ok and h.recipes and h.recipes ~= "" then return h.recipes end
  local here = package.searchpath and package.searchpath("strata.cli", package.path)
  if here then
    here = "/" .. here  -- so a relative "lua/strata/cli.lua" matches too (root "/.")
    local root = here:match("^/(.*)/lua/strata/cli%.lua$") or (here:match("^/lua/strata/cli%.lua$") and ".")
    if root then return (root == "" and "." or root) .. "/recipes" end
    local prefix = here:match("^/(.*)/share/lua/5%.4/strata/cli%.lua$")
    if prefix then return prefix .. "/share/strata/recipes" end
  end
  return nil
end

--- Recipe directories in lookup order: { dir = ..., builtin = bool }.
function M.recipe_dirs()
  local dirs = {}
  for _, d in ipairs(plugin.dirs()) do dirs[#dirs + 1] = { dir = d, builtin = false } end
  local b = M.builtin_recipe_dir()
  if b then dirs[#dirs + 1] = { dir = b, builtin = true } end
  return dirs
end

local function file_exists(path)
  local ok, h = pcall(require, "strata.host")
  if ok and h.stat then return h.stat(path) == "file" end
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

--- Find and load recipe `name`.  Returns the recipe table, or nil, a message and the reason
--- ("notfound", or "invalid" when the file exists but does not load or validate).
function M.find_recipe(name)
  if type(name) ~= "string" or not name:match("^[%w_%-]+$") then
    return nil, string.format("'%s' is not a recipe name", tostring(name)), "notfound"
  end
  local looked = {}
  for _, d in ipairs(M.recipe_dirs()) do
    local path = d.dir .. "/" .. name .. ".lua"
    if file_exists(path) then
      local r, err = plugin.loadfile(path, { kind = "recipe", builtin = d.builtin })
      if not r then return nil, err, "invalid" end
      return r
    end
    looked[#looked + 1] = d.dir
  end
  return nil, string.format("unknown recipe or file '%s' (looked in %s)\n" ..
                            "Try 'strata help' for the list of recipes.", name,
                            table.concat(looked, ":")), "notfound"
end

--- All recipes: list of { name, summary, path, builtin } (or { name, path, error }), by name.
function M.list_recipes()
  local out, seen = {}, {}
  for _, d in ipairs(M.recipe_dirs()) do
    for _, file in ipairs(plugin.lua_files(d.dir)) do
      local name = file:gsub("%.lua$", "")
      local path = d.dir .. "/" .. file
      if not seen[name] then
        local r, err = plugin.loadfile(path, { builtin = d.builtin })
        if r and r.kind == "recipe" then
          seen[name] = true
          out[#out + 1] = { name = name, summary = r.summary, path = path, builtin = d.builtin }
        elseif not r then
          seen[name] = true
          out[#out + 1] = { name = name, path = path, error = err }
        end
      end
    end
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

--- Help text of a recipe: its usage line, summary, usage text and options.
function M.recipe_help(r)
  if r.options or r.positional then return M.help(r) end
  local out = { "usage: strata " .. r.name .. " [args]", "", r.summary }
  if r.usage then out[#out + 1] = ""; out[#out + 1] = (r.usage:gsub("%s+$", "")) end
  return table.concat(out, "\n")
end

function M.main_help()
  local out = {
    "usage: strata [options] [script [args]]   run a Lua script (strata -h for options)",
    "       strata <recipe> [args]             run a recipe; strata <recipe> --help for its help",
    "       strata                             start the REPL",
    "",
    "recipes:",
  }
  local list = M.list_recipes()
  local w = 8
  for _, r in ipairs(list) do if #r.name > w then w = #r.name end end
  for _, r in ipairs(list) do
    local desc = r.error and ("(broken: " .. r.error .. ")") or (r.summary or "")
    if not r.error and not r.builtin then desc = desc .. "  [plugin: " .. r.path .. "]" end
    out[#out + 1] = string.format("  %-" .. w .. "s  %s", r.name, desc)
  end
  if #list == 0 then out[#out + 1] = "  (none found)" end
  out[#out + 1] = ""
  out[#out + 1] = "Recipe directories: " ..
    (function()
      local t = {}
      for _, d in ipairs(M.recipe_dirs()) do t[#t + 1] = d.dir end
      return table.concat(t, ":")
    end)()
  return table.concat(out, "\n")
end

local function wants_help(args)
  for _, a in ipairs(args) do
    if a == "--" then return false end
    if a == "--help" or a == "-h" then return true end
  end
  return false
end

--- bin/strata calls this for `strata <name> [args]`; returns the exit status.
function M.dispatch(name, args)
  args = args or {}
  -- A recipe that exists but is broken is an error (1); a name that is not there is a usage
  -- error (2).
  if name == "help" then
    if args[1] then
      local r, err, why = M.find_recipe(args[1])
      if not r then error(M.exit(why == "invalid" and 1 or 2, "strata help: " .. err), 0) end
      print(M.recipe_help(r))
    else
      print(M.main_help())
    end
    return 0
  end
  local r, err, why = M.find_recipe(name)
  if not r then error(M.exit(why == "invalid" and 1 or 2, "strata: " .. err), 0) end
  if wants_help(args) then
    print(M.recipe_help(r))
    return 0
  end
  local rc = r.run(args)
  if rc == nil or rc == true then return 0 end
  if rc == false then return 1 end
  if type(rc) == "number" then return math.floor(rc) end
  return 0
end

M.doc = {
  [M.parse] = "strata.cli.parse(spec, args) -> opts, positionals: parse command-line strings; " ..
    "usage errors exit with status 2, --help prints the generated help",
  [M.help] = "strata.cli.help(spec): the --help text generated from an option spec",
  [M.exit] = "strata.cli.exit(code, message): an error value that makes bin/strata print " ..
    "message and exit with code (no traceback)",
  [M.write_atomic] = "strata.cli.write_atomic(path, text): write via a temporary file + rename",
  [M.dispatch] = "strata.cli.dispatch(name, args): run recipe `name` as `strata name args` would",
}

return M
