-- strata.pretty: readable text for any Lua value, for the REPL and for debugging prints.
--
--   pretty.format(v [, opts]) -> string       opts: depth (3), items (20), width (80),
--                                                    strlen (200 for nested strings), indent ("  ")
--   pretty.print(...)                         format each value, tab-separated, then a newline
--
-- Objects speak for themselves: a `__pretty(v, opts)` metamethod wins (arrays and Atoms define
-- one), then `__tostring`.  Plain tables are shown as constructors, on one line when they fit in
-- `width`, else one entry per line; array items first, then the other keys sorted (numbers, then
-- strings, then the rest).  Deep or long tables are cut with a count of what was left out, and a
-- table met again inside itself prints as <cycle>.  Raw access only (next/rawget): showing a value
-- never runs its __index or __pairs.
--
-- Does not: produce re-loadable Lua (functions and userdata cannot be), or sort mixed keys
-- beyond a stable "type, then value" order.
-- Runs on Lua 5.4 and LuaJIT.

local M = {}

M.defaults = { depth = 3, items = 20, width = 80, strlen = 200, indent = "  " }

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in local nil not or
  repeat return then true until while]]):gmatch("%a+") do keywords[w] = true end

local function is_identifier(s)
  return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil and not keywords[s]
end

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r" }

-- A double-quoted string literal; `limit` cuts long strings (the cut is reported).
local function quote(s, limit)
  local extra = ""
  if limit and #s > limit then
    extra = string.format("...(%d more bytes)", #s - limit)
    s = s:sub(1, limit)
  end
  s = s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\%03d", c:byte())
  end)
  return '"' .. s .. '"' .. extra
end
M.quote = quote

local function metafield(v, name)
  local mt = getmetatable(v)
  if type(mt) ~= "table" then return nil end
  return rawget(mt, name)
end

-- Functions show where they were defined, which is what one wants to know at a prompt.
local function describe_function(f)
  local ok, info = pcall(debug.getinfo, f, "S")
  if ok and info and info.what ~= "C" and info.short_src then
    return string.format("function <%s:%d>", info.short_src, info.linedefined or 0)
  end
  return tostring(f)
end

local type_order = { number = 1, string = 2, boolean = 3 }

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return (type_order[ta] or 9) < (type_order[tb] or 9) or
    ((type_order[ta] or 9) == (type_order[tb] or 9) and ta < tb) end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local format_value

local function format_key(k, opts, seen, level)
  if is_identifier(k) then return k end
  return "[" .. format_value(k, opts, seen, level, true) .. "]"
end

local function format_table(t, opts, seen, level)
  if seen[t] then return "<cycle>" end
  local n = 0
  while rawget(t, n + 1) ~= nil do n = n + 1 end
  local keys = {}
  for k in next, t do
    if not (type(k) == "number" and k % 1 == 0 and k >= 1 and k <= n) then
      keys[#keys + 1] = k
    end
  end
  local total = n + #keys
  if total == 0 then return "{}" end
  if level >= opts.depth then
    return string.format("{...%d item%s}", total, total == 1 and "" or "s")
  end
  table.sort(keys, key_less)
  seen[t] = true
  local parts, multiline = {}, false
  local shown = 0
  for i = 1, n do
    if shown >= opts.items then break end
    parts[#parts + 1] = format_value(rawget(t, i), opts, seen, level + 1, true)
    shown = shown + 1
  end
  local narray = #parts
  for _, k in ipairs(keys) do
    if shown >= opts.items then break end
    parts[#parts + 1] = format_key(k, opts, seen, level + 1) .. " = " ..
      format_value(rawget(t, k), opts, seen, level + 1, true)
    shown = shown + 1
  end
  seen[t] = nil
  if shown < total then parts[#parts + 1] = string.format("...(%d more)", total - shown) end
  local len = 4
  for _, p in ipairs(parts) do
    len = len + #p + 2
    if p:find("\n", 1, true) then multiline = true end
  end
  if not multiline and len + #opts.indent * level <= opts.width then
    return "{ " .. table.concat(parts, ", ") .. " }"
  end
  -- Indentation is relative: each level indents its own entries; nesting adds up.
  local pad = opts.indent
  -- Array items without line breaks are packed several to a line; keyed entries get a line each.
  local lines, cur = {}, nil
  local room = math.max(opts.width - #pad * (level + 1), 20)
  for i, p in ipairs(parts) do
    local packable = i <= narray and not p:find("\n", 1, true)
    if packable and cur and #cur + #p + 2 <= room then
      cur = cur .. ", " .. p
    else
      if cur then lines[#lines + 1] = cur end
      cur = packable and p or nil
      if not packable then lines[#lines + 1] = p end
    end
  end
  if cur then lines[#lines + 1] = cur end
  parts = lines
  for i, p in ipairs(parts) do parts[i] = pad .. p:gsub("\n", "\n" .. pad) end
  return "{\n" .. table.concat(parts, ",\n") .. "\n}"
end

-- `nested` values get their strings cut to opts.strlen; top-level strings are shown whole.
function format_value(v, opts, seen, level, nested)
  local tv = type(v)
  if tv == "string" then return quote(v, nested and opts.strlen or nil) end
  if tv == "number" or tv == "boolean" or tv == "nil" then return tostring(v) end
  local pretty = metafield(v, "__pretty")
  if type(pretty) == "function" then
    local ok, s = pcall(pretty, v, { depth = opts.depth - level, items = opts.items,
                                     width = opts.width, indent = opts.indent })
    if ok and type(s) == "string" then return s end
  end
  if metafield(v, "__tostring") ~= nil then
    local ok, s = pcall(tostring, v)
    if ok and type(s) == "string" then return s end
  end
  if tv == "table" then return format_table(v, opts, seen, level) end
  if tv == "function" then return describe_function(v) end
  return tostring(v)
end

function M.format(v, opts)
  local o = {}
  for k, d in pairs(M.defaults) do
    o[k] = opts and opts[k] ~= nil and opts[k] or d
  end
  return format_value(v, o, {}, 0, false)
end

function M.print(...)
  local n = select("#", ...)
  local out = {}
  for i = 1, n do out[i] = M.format((select(i, ...))) end
  io.stdout:write(table.concat(out, "\t"), "\n")
end

return M
