-- strata.util: small helpers shared by recipes: atomic file writes, JSON (dkjson, from Debian),
-- CSV, directories, timing and a progress line for Lua-level loops.
local M = {}

local json_ok, json = pcall(require, "dkjson")
local lfs_ok, lfs = pcall(require, "lfs")

-- Write text to path atomically (temp name + rename).  Returns true | nil, message.
function M.write_file(path, text)
  local tmp = string.format("%s.tmp-%d-%d", path, os.time(), math.random(1, 1e9))
  local f, err = io.open(tmp, "wb")
  if not f then return nil, path .. ": cannot create: " .. tostring(err) end
  local ok, werr = f:write(text)
  local cok, cerr = f:close()
  if not ok or not cok then os.remove(tmp); return nil, path .. ": write failed: " .. tostring(werr or cerr) end
  local rok, rerr = os.rename(tmp, path)
  if not rok then os.remove(tmp); return nil, path .. ": rename failed: " .. tostring(rerr) end
  return true
end

function M.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("*a")
  f:close()
  return s
end

local function clean(v)  -- NaN/inf are not JSON: write null
  if type(v) == "number" and (v ~= v or v == math.huge or v == -math.huge) then return json and json.null or nil end
  if type(v) == "table" then
    if v.totable then return clean(v:totable()) end
    local t = {}
    for k, x in pairs(v) do t[k] = clean(x) end
    return setmetatable(t, getmetatable(v) == nil and nil or nil)
  end
  return v
end

function M.json_encode(obj, opts)
  if not json_ok then error("JSON output needs the Debian package lua-dkjson", 2) end
  return json.encode(clean(obj), {indent = not (opts and opts.compact), keyorder = opts and opts.keyorder})
end

function M.json_decode(text)
  if not json_ok then error("JSON input needs the Debian package lua-dkjson", 2) end
  local obj, _, err = json.decode(text, 1, nil)
  if err then return nil, err end
  return obj
end

function M.write_json(path, obj, opts) return M.write_file(path, M.json_encode(obj, opts) .. "\n") end

local function csv_cell(v)
  if type(v) == "number" then
    if v ~= v then return "nan" end
    if math.type and math.type(v) == "integer" then return tostring(v) end
    if v % 1 == 0 and math.abs(v) < 1e15 then return string.format("%d", v) end
    return string.format("%.10g", v)
  end
  v = tostring(v == nil and "" or v)
  if v:find('[,"\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

-- rows: list of lists (or of tables keyed by header names).
function M.write_csv(path, header, rows)
  local out = {}
  local h = {}
  for i, k in ipairs(header) do h[i] = csv_cell(k) end
  out[1] = table.concat(h, ",")
  for _, r in ipairs(rows) do
    local c = {}
    for i, k in ipairs(header) do c[i] = csv_cell(r[i] ~= nil and r[i] or r[k]) end
    out[#out + 1] = table.concat(c, ",")
  end
  return M.write_file(path, table.concat(out, "\n") .. "\n")
end

-- Minimal CSV reader with quoted fields (including embedded newlines).  Returns header, rows.
function M.read_csv(path)
  local text, err = M.read_file(path)
  if not text then return nil, err end
  local rows, row, field, i, n, inq = {}, {}, {}, 1, #text, false
  while i <= n do
    local c = text:sub(i, i)
    if inq then
      if c == '"' then
        if text:sub(i + 1, i + 1) == '"' then field[#field + 1] = '"'; i = i + 1 else inq = false end
      else field[#field + 1] = c end
    elseif c == '"' then inq = true
    elseif c == "," then row[#row + 1] = table.concat(field); field = {}
    elseif c == "\n" or c == "\r" then
      if c == "\r" and text:sub(i + 1, i + 1) == "\n" then i = i + 1 end
      row[#row + 1] = table.concat(field); field = {}
      rows[#rows + 1] = row; row = {}
    else field[#field + 1] = c end
    i = i + 1
  end
  if #field > 0 or #row > 0 then row[#row + 1] = table.concat(field); rows[#rows + 1] = row end
  local header = table.remove(rows, 1)
  return header, rows
end

function M.mkdir_p(path)
  if lfs_ok then
    local acc = path:sub(1, 1) == "/" and "/" or ""
    for part in path:gmatch("[^/]+") do
      acc = acc .. part
      if not lfs.attributes(acc) then
        local ok, err = lfs.mkdir(acc)
        if not ok and not lfs.attributes(acc) then return nil, acc .. ": " .. tostring(err) end
      end
      acc = acc .. "/"
    end
    return true
  end
  local ok = os.execute("mkdir -p '" .. path:gsub("'", "'\\''") .. "'")
  if ok == true or ok == 0 then return true end
  return nil, path .. ": cannot create directory"
end

function M.exists(path)
  local f = io.open(path, "rb")
  if f then f:close(); return true end
  return false
end

function M.basename(path) return (path:match("([^/]+)$") or path) end
function M.stem(path) return (M.basename(path):gsub("%.[^.]*$", "")) end

function M.clock() return os.clock() end

-- Progress line on stderr for Lua-level loops; silent unless stderr is a terminal or
-- STRATA_PROGRESS=1.  p = util.progress("frames", n); p:step(); p:done()
function M.progress(what, total)
  local env = os.getenv("STRATA_PROGRESS")
  local on = env == "1" or (env ~= "0" and os.getenv("TERM") ~= nil and os.getenv("CI") == nil)
  local p = {done_n = 0, last = -1}
  function p:step(k)
    self.done_n = self.done_n + (k or 1)
    if not on or total <= 0 then return end
    local pct = math.floor(100 * self.done_n / total)
    if pct ~= self.last then
      self.last = pct
      io.stderr:write(string.format("\r%s: %3d%% (%d/%d)", what, pct, self.done_n, total))
      if self.done_n >= total then io.stderr:write("\n") end
    end
  end
  function p:done()
    if on and self.done_n < total then io.stderr:write("\n") end
  end
  return p
end

return M
