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

return M
