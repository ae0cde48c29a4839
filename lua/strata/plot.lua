-- strata.plot: dependency-free SVG plots for recipes (line and scatter charts, several series,
-- optional second y axis, vertical markers, legend).  Written atomically (temp file + rename).
--
--   local plot = require "strata.plot"
--   plot.svg("entropy.svg", {
--     title = "Entropy per frame", xlabel = "T (K)", ylabel = "H (nats)",
--     series = {{x = T, y = H, label = "H", style = "line"},
--               {x = T, y = dH, label = "mean dH", axis = 2, style = "points"}},
--     y2label = "dH (nats)", vlines = {{x = 1350, label = "T_m"}},
--   })
-- x and y are Lua tables or 1-d arrays.  Non-finite values break a line (gaps).
-- plot.scatter_map(path, spec) draws 2-D maps (MDS / t-SNE) coloured by category or value (below).
local M = {}

local COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf"}
M.colors = COLORS

local function tolist(v)
  if type(v) == "table" then return v end
  if v and v.totable then return v:totable() end
  error("plot: expected a table or array", 3)
end

local function finite(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end

local function nice_step(span, n)
  if span <= 0 then return 1 end
  local raw = span / n
  local mag = 10 ^ math.floor(math.log(raw, 10))
  local r = raw / mag
  local step = r < 1.5 and 1 or r < 3 and 2 or r < 7 and 5 or 10
  return step * mag
end

local function range_of(lists, lo, hi)
  local a, b = math.huge, -math.huge
  for _, l in ipairs(lists) do
    for _, v in ipairs(l) do
      if finite(v) then a = math.min(a, v); b = math.max(b, v) end
    end
  end
  if a == math.huge then a, b = 0, 1 end
  if lo then a = lo end
  if hi then b = hi end
  if a == b then a, b = a - 0.5, b + 0.5 end
  local pad = (b - a) * 0.04
  return a - (lo and 0 or pad), b + (hi and 0 or pad)
end

local function fmt(v)
  if v == 0 then return "0" end
  local av = math.abs(v)
  if av >= 1e5 or av < 1e-3 then return string.format("%.2g", v) end
  local s = string.format("%.4f", v):gsub("0+$", ""):gsub("%.$", "")
  return s
end

local function esc(s)
  return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

-- Returns the SVG text.
function M.render(spec)
  local W, Hh = spec.width or 720, spec.height or 440
  local ml, mr, mt, mb = 70, spec.y2label and 70 or 20, spec.title and 40 or 20, 55
  local pw, ph = W - ml - mr, Hh - mt - mb
  local xs, ys1, ys2 = {}, {}, {}
  for _, s in ipairs(spec.series or {}) do
    s.x, s.y = tolist(s.x), tolist(s.y)
    xs[#xs + 1] = s.x
    if s.axis == 2 then ys2[#ys2 + 1] = s.y else ys1[#ys1 + 1] = s.y end
  end
  local x0, x1 = range_of(xs, spec.xmin, spec.xmax)
  local y0, y1 = range_of(ys1, spec.ymin, spec.ymax)
  local z0, z1 = range_of(#ys2 > 0 and ys2 or ys1, spec.y2min, spec.y2max)
  local function X(v) return ml + (v - x0) / (x1 - x0) * pw end
  local function Y(v, axis)
    if axis == 2 then return mt + ph - (v - z0) / (z1 - z0) * ph end
    return mt + ph - (v - y0) / (y1 - y0) * ph
  end
  local o = {}
  local function add(s) o[#o + 1] = s end
  add(string.format('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">', W, Hh, W, Hh))
  add(string.format('<rect width="%d" height="%d" fill="white"/>', W, Hh))
  if spec.title then add(string.format('<text x="%g" y="24" text-anchor="middle" font-size="15">%s</text>', W / 2, esc(spec.title))) end
  -- grid and ticks
  local st = nice_step(x1 - x0, 8)
  for v = math.ceil(x0 / st) * st, x1 + 1e-12, st do
    add(string.format('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>', X(v), mt, X(v), mt + ph))
    add(string.format('<text x="%.1f" y="%d" text-anchor="middle">%s</text>', X(v), mt + ph + 16, fmt(v)))
  end
  st = nice_step(y1 - y0, 6)
  for v = math.ceil(y0 / st) * st, y1 + 1e-12, st do
    add(string.format('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>', ml, Y(v), ml + pw, Y(v)))
    add(string.format('<text x="%d" y="%.1f" text-anchor="end">%s</text>', ml - 6, Y(v) + 4, fmt(v)))
  end
  if #ys2 > 0 then
    st = nice_step(z1 - z0, 6)
    for v = math.ceil(z0 / st) * st, z1 + 1e-12, st do
      add(string.format('<text x="%d" y="%.1f">%s</text>', ml + pw + 6, Y(v, 2) + 4, fmt(v)))
    end
  end
  add(string.format('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>', ml, mt, pw, ph))
  if spec.xlabel then add(string.format('<text x="%g" y="%d" text-anchor="middle">%s</text>', ml + pw / 2, Hh - 14, esc(spec.xlabel))) end
  if spec.ylabel then add(string.format('<text transform="translate(18,%g) rotate(-90)" text-anchor="middle">%s</text>', mt + ph / 2, esc(spec.ylabel))) end
  if spec.y2label then add(string.format('<text transform="translate(%d,%g) rotate(90)" text-anchor="middle">%s</text>', W - 14, mt + ph / 2, esc(spec.y2label))) end
  for _, vl in ipairs(spec.vlines or {}) do
    if finite(vl.x) and vl.x >= x0 and vl.x <= x1 then
      add(string.format('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-dasharray="5,4"/>', X(vl.x), mt, X(vl.x), mt + ph, vl.color or "#555"))
      if vl.label then add(string.format('<text x="%.1f" y="%d" fill="%s">%s</text>', X(vl.x) + 4, mt + 14, vl.color or "#555", esc(vl.label))) end
    end
  end
  -- series
  for i, s in ipairs(spec.series or {}) do
    local color = s.color or COLORS[(i - 1) % #COLORS + 1]
    local style = s.style or "line"
    if style == "line" or style == "linepoints" then
      local path, pen = {}, false
      for k = 1, #s.x do
        local xv, yv = s.x[k], s.y[k]
        if finite(xv) and finite(yv) then
          path[#path + 1] = string.format("%s%.1f,%.1f", pen and "L" or "M", X(xv), Y(yv, s.axis))
          pen = true
        else pen = false end
      end
      if #path > 0 then add(string.format('<path d="%s" fill="none" stroke="%s" stroke-width="1.6"/>', table.concat(path), color)) end
    end
    if style == "points" or style == "linepoints" then
      local r = s.radius or 2.5
      for k = 1, #s.x do
        local xv, yv = s.x[k], s.y[k]
        if finite(xv) and finite(yv) then
          local c = s.colors and s.colors[k] or color
          add(string.format('<circle cx="%.1f" cy="%.1f" r="%g" fill="%s" fill-opacity="0.8"/>', X(xv), Y(yv, s.axis), r, c))
        end
      end
    end
  end
  -- legend
  local ly = mt + 8
  for i, s in ipairs(spec.series or {}) do
    if s.label then
      local color = s.color or COLORS[(i - 1) % #COLORS + 1]
      add(string.format('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>', ml + 10, ly, color))
      add(string.format('<text x="%d" y="%d">%s%s</text>', ml + 28, ly + 10, esc(s.label), s.axis == 2 and " (right axis)" or ""))
      ly = ly + 17
    end
  end
  for _, lg in ipairs(spec.legend or {}) do  -- extra entries, e.g. for colour-coded points
    add(string.format('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>', ml + 10, ly, lg.color))
    add(string.format('<text x="%d" y="%d">%s</text>', ml + 28, ly + 10, esc(lg.label)))
    ly = ly + 17
  end
  add("</svg>")
  return table.concat(o, "\n")
end

-- Write an SVG file atomically.  Returns true or nil, message.
function M.svg(path, spec)
  local text = M.render(spec)
  local tmp = path .. ".tmp-" .. tostring(os.time()) .. "-" .. tostring(math.random(1e9))
  local f, err = io.open(tmp, "w")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  f:close()
  if not ok then os.remove(tmp); return nil, werr end
  local rok, rerr = os.rename(tmp, path)
  if not rok then os.remove(tmp); return nil, rerr end
  return true
end

-- ---- scatter maps ------------------------------------------------------------------------------
-- A 2-D map of points (MDS / t-SNE layouts) coloured by a category or by a value:
--   plot.scatter_map("map.svg", {
--     x = xs, y = ys, title = "...", xlabel = "MDS 1 (Å)", ylabel = "MDS 2 (Å)",
--     categories = {1, 3, 2, ...},           -- per point; colours from plot.colors, legend entries
--     category_names = {"cluster 1", ...},   -- optional legend text per category
--     values = {...}, value_label = "mean |SHAP|",   -- or: numeric colour scale with a colour bar
--     outline = {true, false, ...},          -- per point: a dark ring (e.g. positive label)
--     outline_label = "positive",            -- legend text for the ring
--     labels = {[12] = "SOD", ...},          -- text next to chosen points
--   })
-- Equal scales on both axes (distances in the map stay comparable).  Returns true | nil, message.

-- light yellow -> orange -> dark red (sequential; readable in greyscale)
local RAMP = {{255, 255, 204}, {254, 217, 118}, {253, 141, 60}, {227, 26, 28}, {128, 0, 38}}
function M.ramp(t)
  if not finite(t) then return "#cccccc" end
  t = math.max(0, math.min(1, t))
  local f = t * (#RAMP - 1)
  local i = math.min(#RAMP - 2, math.floor(f))
  local u = f - i
  local a, b = RAMP[i + 1], RAMP[i + 2]
  return string.format("#%02x%02x%02x", math.floor(a[1] + (b[1] - a[1]) * u + 0.5),
                       math.floor(a[2] + (b[2] - a[2]) * u + 0.5), math.floor(a[3] + (b[3] - a[3]) * u + 0.5))
end

function M.render_map(spec)
  local xs, ys = tolist(spec.x), tolist(spec.y)
  local n = #xs
  local W, Hh = spec.width or 640, spec.height or 600
  local ml, mr, mt, mb = 60, 150, spec.title and 40 or 20, 50
  local pw, ph = W - ml - mr, Hh - mt - mb
  local x0, x1 = range_of({xs})
  local y0, y1 = range_of({ys})
  -- equal aspect: widen the narrower range
  local sx, sy = (x1 - x0) / pw, (y1 - y0) / ph
  if sx > sy then local c = (y0 + y1) / 2; y0, y1 = c - sx * ph / 2, c + sx * ph / 2
  else local c = (x0 + x1) / 2; x0, x1 = c - sy * pw / 2, c + sy * pw / 2 end
  local function X(v) return ml + (v - x0) / (x1 - x0) * pw end
  local function Y(v) return mt + ph - (v - y0) / (y1 - y0) * ph end
  local o = {}
  local function add(s) o[#o + 1] = s end
  add(string.format('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">', W, Hh, W, Hh))
  add(string.format('<rect width="%d" height="%d" fill="white"/>', W, Hh))
  if spec.title then add(string.format('<text x="%g" y="24" text-anchor="middle" font-size="15">%s</text>', W / 2, esc(spec.title))) end
  add(string.format('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>', ml, mt, pw, ph))
  local st = nice_step(x1 - x0, 6)
  for v = math.ceil(x0 / st) * st, x1 + 1e-12, st do
    add(string.format('<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>', X(v), mt + ph + 16, fmt(v)))
  end
  st = nice_step(y1 - y0, 6)
  for v = math.ceil(y0 / st) * st, y1 + 1e-12, st do
    add(string.format('<text x="%d" y="%.1f" text-anchor="end" fill="#555">%s</text>', ml - 6, Y(v) + 4, fmt(v)))
  end
  if spec.xlabel then add(string.format('<text x="%g" y="%d" text-anchor="middle">%s</text>', ml + pw / 2, Hh - 12, esc(spec.xlabel))) end
  if spec.ylabel then add(string.format('<text transform="translate(16,%g) rotate(-90)" text-anchor="middle">%s</text>', mt + ph / 2, esc(spec.ylabel))) end
  -- colours
  local cats, vals = spec.categories and tolist(spec.categories), spec.values and tolist(spec.values)
  local vmin, vmax = math.huge, -math.huge
  if vals then
    for i = 1, n do if finite(vals[i]) then vmin = math.min(vmin, vals[i]); vmax = math.max(vmax, vals[i]) end end
    if vmin == math.huge then vmin, vmax = 0, 1 end
    if vmax == vmin then vmax = vmin + 1 end
  end
  local catindex, catlist = {}, {}
  if cats then
    for i = 1, n do
      local c = cats[i]
      if c ~= nil and not catindex[c] then catlist[#catlist + 1] = c; catindex[c] = true end
    end
    table.sort(catlist, function(a, b)
      if type(a) == type(b) then return a < b end
      return type(a) == "number"
    end)
    for k, c in ipairs(catlist) do catindex[c] = k end
  end
  local function color_of(i)
    if vals then return M.ramp((vals[i] - vmin) / (vmax - vmin)) end
    if cats and cats[i] ~= nil then return COLORS[(catindex[cats[i]] - 1) % #COLORS + 1] end
    return spec.color or COLORS[1]
  end
  -- draw low values first so that the important points stay on top
  local order = {}
  for i = 1, n do order[i] = i end
  if vals then table.sort(order, function(a, b)
    local va, vb = finite(vals[a]) and vals[a] or -math.huge, finite(vals[b]) and vals[b] or -math.huge
    if va ~= vb then return va < vb end
    return a < b
  end) end
  local r = spec.radius or 4
  local outline = spec.outline and tolist(spec.outline)
  for _, i in ipairs(order) do
    if finite(xs[i]) and finite(ys[i]) then
      local ring = outline and outline[i] and ' stroke="#111" stroke-width="1.6"' or ' stroke="#666" stroke-width="0.3"'
      add(string.format('<circle cx="%.1f" cy="%.1f" r="%g" fill="%s" fill-opacity="0.9"%s/>', X(xs[i]), Y(ys[i]), r, color_of(i), ring))
    end
  end
  for i, text in pairs(spec.labels or {}) do
    if xs[i] and finite(xs[i]) and finite(ys[i]) then
      add(string.format('<text x="%.1f" y="%.1f" font-size="10">%s</text>', X(xs[i]) + r + 2, Y(ys[i]) - r, esc(text)))
    end
  end
  -- legend / colour bar on the right
  local lx, ly = ml + pw + 14, mt + 6
  if vals then
    local bh = math.min(200, ph - 40)
    for k = 0, 49 do
      add(string.format('<rect x="%d" y="%.1f" width="14" height="%.1f" fill="%s"/>', lx, ly + bh * (49 - k) / 50,
                        bh / 50 + 0.5, M.ramp(k / 49)))
    end
    add(string.format('<rect x="%d" y="%d" width="14" height="%d" fill="none" stroke="#333"/>', lx, ly, bh))
    add(string.format('<text x="%d" y="%d">%s</text>', lx + 18, ly + 10, fmt(vmax)))
    add(string.format('<text x="%d" y="%d">%s</text>', lx + 18, ly + bh, fmt(vmin)))
    if spec.value_label then add(string.format('<text x="%d" y="%d">%s</text>', lx, ly + bh + 18, esc(spec.value_label))) end
    ly = ly + bh + 30
  elseif cats then
    local names = spec.category_names or {}
    for k, c in ipairs(catlist) do
      add(string.format('<circle cx="%d" cy="%d" r="5" fill="%s"/>', lx + 6, ly + 6, COLORS[(k - 1) % #COLORS + 1]))
      add(string.format('<text x="%d" y="%d">%s</text>', lx + 16, ly + 10, esc(names[c] or tostring(c))))
      ly = ly + 17
    end
  end
  if outline and spec.outline_label then
    add(string.format('<circle cx="%d" cy="%d" r="5" fill="white" stroke="#111" stroke-width="1.6"/>', lx + 6, ly + 6))
    add(string.format('<text x="%d" y="%d">%s</text>', lx + 16, ly + 10, esc(spec.outline_label)))
  end
  add("</svg>")
  return table.concat(o, "\n")
end

--- Write a scatter map atomically.  Returns true or nil, message.
function M.scatter_map(path, spec)
  local text = M.render_map(spec)
  local tmp = path .. ".tmp-" .. tostring(os.time()) .. "-" .. tostring(math.random(1e9))
  local f, err = io.open(tmp, "w")
  if not f then return nil, err end
  local ok, werr = f:write(text)
  f:close()
  if not ok then os.remove(tmp); return nil, werr end
  local rok, rerr = os.rename(tmp, path)
  if not rok then os.remove(tmp); return nil, rerr end
  return true
end

return M
