-- strata.plugin (exposed as strata.plugins): user extensions written in Lua.
--
-- A plugin is a file <name>.lua in a plugin directory that returns a declaration table:
--     return { strata_plugin = 1, kind = "recipe" | "analysis" | "descriptor", name = "<name>",
--              summary = "one line", ... kind-specific fields ... }
-- Kind-specific required fields (functions are called by the code that uses the kind):
--     recipe      run(args)                 args = list of command-line strings; returns exit code
--     analysis    run(frames, opts)         frames = list of Atoms; returns a result table
--     descriptor  compute(atoms, opts)      returns per-atom features (array or table)
-- Optional: usage (long help text), options (strata.cli option specs), version (string).
--
-- Directories searched, first match wins: $STRATA_PLUGIN_PATH (colon-separated), ./plugins,
-- ~/.local/share/strata/plugins.  Validation happens on load and every problem names the file:
--     plugins/foo.lua: field 'kind': expected one of recipe, analysis, descriptor, got 'widget'
-- Expected failures (not found, invalid) return nil, message; loading is cached per path.
--
-- Does not: sandbox plugins (they are the user's own code and run with full rights), install or
-- download anything, or register analysis/descriptor plugins in the C registries (the modules
-- that consume those kinds look them up here by name).
-- Runs on Lua 5.4 and LuaJIT.

local M = {}

M.API_VERSION = 1
M.KINDS = { "recipe", "analysis", "descriptor" }

-- Fields every kind needs beyond the declaration, and their types.
local required = {
  recipe = { summary = "string", run = "function" },
  analysis = { summary = "string", run = "function" },
  descriptor = { summary = "string", compute = "function" },
}
local optional = { usage = "string", options = "table", version = "string", positional = "table" }

local cache = {}  -- path -> plugin table

local function kinds_text() return table.concat(M.KINDS, ", ") end

local function host()
  local ok, h = pcall(require, "strata.host")
  return ok and h or nil
end

local function split_path(s)
  local dirs = {}
  for d in (s or ""):gmatch("[^:]+") do dirs[#dirs + 1] = d end
  return dirs
end

--- The plugin directories, in lookup order.
function M.dirs()
  local dirs = split_path(os.getenv("STRATA_PLUGIN_PATH"))
  dirs[#dirs + 1] = "plugins"
  local home = os.getenv("HOME")
  if home and home ~= "" then dirs[#dirs + 1] = home .. "/.local/share/strata/plugins" end
  return dirs
end

local function readable(path)
  local h = host()
  if h and h.stat then return h.stat(path) == "file" end
  local f = io.open(path, "r")
  if not f then return false end
  -- io.open succeeds on a directory under Linux; reading it fails.
  local ok = f:read("*a") ~= nil
  f:close()
  return ok
end

local function basename(path) return (path:match("([^/]+)$") or path) end

--- List the *.lua files of a directory (strata.host when running in bin/strata, else lfs).
local function lua_files(dir)
  local names
  local h = host()
  if h and h.listdir then
    names = h.listdir(dir)
  else
    local ok, lfs = pcall(require, "lfs")
    if ok and lfs.attributes(dir, "mode") == "directory" then
      names = {}
      for n in lfs.dir(dir) do names[#names + 1] = n end
      table.sort(names)
    end
  end
  local out = {}
  for _, n in ipairs(names or {}) do
    if n:match("^[%w_%-]+%.lua$") then out[#out + 1] = n end
  end
  return out
end
M.lua_files = lua_files

--- Check a declaration table.  `opts.builtin` (recipes shipped in <root>/recipes) makes the
--- strata_plugin/kind declaration optional.  Returns true, or nil and a message naming `file`.
function M.validate(t, file, opts)
  opts = opts or {}
  local where = file or "plugin"
  if type(t) ~= "table" then
    return nil, string.format("%s: must return a table (the plugin declaration), got %s",
                              where, type(t))
  end
  local v = rawget(t, "strata_plugin")
  if v == nil and not opts.builtin then
    return nil, string.format("%s: missing field 'strata_plugin' (set strata_plugin = %d)",
                              where, M.API_VERSION)
  end
  if v ~= nil and v ~= M.API_VERSION then
    return nil, string.format("%s: field 'strata_plugin': plugin API version %s is not supported" ..
                              " (this Strata supports %d)", where, tostring(v), M.API_VERSION)
  end
  local kind = rawget(t, "kind")
  if kind == nil and opts.builtin then kind = "recipe" end
  if kind == nil then
    return nil, string.format("%s: missing field 'kind' (one of %s)", where, kinds_text())
  end
  if not required[kind] then
    return nil, string.format("%s: field 'kind': expected one of %s, got %s", where, kinds_text(),
                              type(kind) == "string" and ("'" .. kind .. "'") or type(kind))
  end
  if opts.kind and kind ~= opts.kind then
    return nil, string.format("%s: is a%s %s plugin, not a%s %s", where,
                              kind:match("^[aeiou]") and "n" or "", kind,
                              opts.kind:match("^[aeiou]") and "n" or "", opts.kind)
  end
  local name = rawget(t, "name")
  if type(name) ~= "string" or not name:match("^[%w_%-]+$") then
    return nil, string.format("%s: field 'name': expected a name of letters, digits, '_' or '-'," ..
                              " got %s", where, type(name) == "string" and ("'" .. name .. "'")
                              or type(name))
  end
  if file then
    local stem = basename(file):gsub("%.lua$", "")
    if stem ~= name then
      return nil, string.format("%s: field 'name' is '%s' but the file is named %s.lua" ..
                                " (they must agree so the plugin can be found by name)",
                                where, name, stem)
    end
  end
  local fields = {}
  for f in pairs(required[kind]) do fields[#fields + 1] = f end
  table.sort(fields)
  for _, f in ipairs(fields) do
    local want, got = required[kind][f], type(rawget(t, f))
    if got == "nil" then
      return nil, string.format("%s: %s plugin: missing field '%s' (a %s)", where, kind, f, want)
    elseif got ~= want then
      return nil, string.format("%s: field '%s': expected a %s, got a %s", where, f, want, got)
    end
  end
  for f, want in pairs(optional) do
    local got = type(rawget(t, f))
    if got ~= "nil" and got ~= want then
      return nil, string.format("%s: field '%s': expected a %s, got a %s", where, f, want, got)
    end
  end
  return true
end

--- Load and validate one plugin file.  Returns the plugin table (with .path and .kind set), or
--- nil and a message naming the file.  Cached: loading the same path twice runs it once.
function M.loadfile(path, opts)
  local key = path .. "\0" .. tostring(opts and opts.builtin)
  if cache[key] then
    local p = cache[key]
    if opts and opts.kind and p.kind ~= opts.kind then return M.validate(p, path, opts) end
    return p
  end
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end  -- already "path:line: message"
  local ok, t = pcall(chunk, path)
  if not ok then return nil, string.format("%s: error while loading: %s", path, tostring(t)) end
  local valid, msg = M.validate(t, path, opts)
  if not valid then return nil, msg end
  if rawget(t, "kind") == nil then t.kind = "recipe" end
  t.path = path
  cache[key] = t
  return t
end

--- Find <name>.lua in the plugin directories; returns its path or nil, message.
function M.find(name)
  if type(name) ~= "string" or not name:match("^[%w_%-]+$") then
    return nil, string.format("plugin name must be letters, digits, '_' or '-', got %s",
                              type(name) == "string" and ("'" .. name .. "'") or type(name))
  end
  local dirs = M.dirs()
  for _, d in ipairs(dirs) do
    local path = d .. "/" .. name .. ".lua"
    if readable(path) then return path end
  end
  return nil, string.format("plugin '%s' not found in %s", name, table.concat(dirs, ":"))
end

--- strata.plugins.load(name [, kind]) -> plugin | nil, message
function M.load(name, kind)
  local path, err = M.find(name)
  if not path then return nil, err end
  return M.loadfile(path, { kind = kind })
end

--- strata.plugins.list([kind]) -> list of { name, kind, summary, path } (sorted by name), with
--- { name, path, error } for files that fail to load; a name found in an earlier directory hides
--- later ones.
function M.list(kind)
  local out, seen = {}, {}
  for _, d in ipairs(M.dirs()) do
    for _, file in ipairs(lua_files(d)) do
      local name = file:gsub("%.lua$", "")
      if not seen[name] then
        seen[name] = true
        local path = d .. "/" .. file
        local p, err = M.loadfile(path)
        if p then
          if not kind or p.kind == kind then
            out[#out + 1] = { name = p.name, kind = p.kind, summary = p.summary, path = path }
          end
        elseif not kind then  -- a broken file has no trustworthy kind: listed only unfiltered
          out[#out + 1] = { name = name, path = path, error = err }
        end
      end
    end
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

--- Forget cached plugins (so an edited file is re-read).
function M.reload() cache = {} end

M.doc = {
  [M.list] = "strata.plugins.list([kind]): plugins found in the plugin path, as " ..
    "{name, kind, summary, path} (or {name, path, error} for files that fail validation)",
  [M.load] = "strata.plugins.load(name [, kind]): load and validate <name>.lua from the plugin " ..
    "path; returns the plugin table, or nil and a message naming the file",
  [M.dirs] = "strata.plugins.dirs(): plugin directories in lookup order " ..
    "($STRATA_PLUGIN_PATH, ./plugins, ~/.local/share/strata/plugins)",
  [M.validate] = "strata.plugins.validate(t [, file [, {kind=, builtin=}]]): true, or nil and " ..
    "a message saying which field is wrong",
}

return M
