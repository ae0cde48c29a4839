-- strata.array: n-dimensional arrays (float64 first-class; float32, int32, int64, uint8).
--
-- One class for both backends: the primitives (allocation, views, elementwise kernels, BLAS
-- matmul) come from strata.backend.  Indices are 1-based here and 0-based in C; the primitives
-- convert.  Memory of arrays made from Lua lives inside the Lua object, so the garbage collector
-- sees it; views keep their parent alive.
--
--   local A = strata.array({{1, 2}, {3, 4}})      -- from nested tables
--   local Z = strata.zeros({100, 3})              -- shape as a table (or zeros(100, 3))
--   A[1][2], A:get(1, 2), A:set(1, 2, 5.0)        -- element access
--   A:slice({1, 10}, 2)                           -- rows 1..10, column 2 (a view)
--   (A + 1) * A:T(), A:matmul(B), A:sum(1), A:mean()
local B = require "strata.backend"

local M = {}
local mt = B.array_metatable()
local methods = {}
M.methods = methods

local OP = {add = 0, sub = 1, mul = 2, div = 3, pow = 4, min = 5, max = 6, mod = 7, lt = 8, le = 9,
            gt = 10, ge = 11, eq = 12, ne = 13, atan2 = 14}
local UN = {neg = 0, abs = 1, sqrt = 2, exp = 3, log = 4, sin = 5, cos = 6, tanh = 7, floor = 8,
            ceil = 9, round = 10, square = 11, sign = 12, isnan = 13, tan = 14, asin = 15, acos = 16,
            atan = 17, log1p = 18, expm1 = 19, sigmoid = 20, recip = 21}
local RED = {sum = 0, prod = 1, min = 2, max = 3, mean = 4, argmin = 5, argmax = 6, var = 7,
             std = 8, norm = 9, logsumexp = 10}
local RANK = {uint8 = 1, int32 = 2, int64 = 3, float32 = 4, float64 = 5}

local function is_array(x) return B.is_array(x) end
M.is_array = is_array

local function shape_of(args, first)
  -- accepts zeros({2, 3}) or zeros(2, 3)
  local s = args[first]
  if type(s) == "table" and not is_array(s) then return s end
  local shape = {}
  for i = first, #args do
    if type(args[i]) ~= "number" then break end
    shape[#shape + 1] = args[i]
  end
  return shape
end

local function check_dtype(d)
  if d == nil then return "float64" end
  if not RANK[d] then error("unknown dtype '" .. tostring(d) .. "' (float64, float32, int32, int64, uint8)", 3) end
  return d
end

function M.empty(...)
  local args = {...}
  local shape = shape_of(args, 1)
  local dtype = args[#args]
  if type(dtype) ~= "string" then dtype = nil end
  return B.array_alloc(check_dtype(dtype), shape)
end
M.zeros = M.empty   -- allocations are zero-filled

function M.full(shape, value, dtype)
  local a = B.array_alloc(check_dtype(dtype), shape)
  B.array_fill(a, value)
  return a
end

function M.ones(...)
  local a = M.empty(...)
  B.array_fill(a, 1)
  return a
end

-- Nested Lua tables (or a flat table plus a shape) -> array.
function M.array(t, dtype, shape)
  if is_array(t) then return methods.astype(t, dtype or B.array_dtype(t)) end
  if type(t) == "number" then
    local a = B.array_alloc(check_dtype(dtype), {})
    B.array_fill(a, t)
    return a
  end
  if type(t) ~= "table" then error("array: expected a table of numbers, got " .. type(t), 2) end
  local flat = {}
  if shape then
    for i = 1, #t do flat[i] = t[i] end
  else
    shape = {}
    local probe = t
    while type(probe) == "table" and not is_array(probe) do
      shape[#shape + 1] = #probe
      probe = probe[1]
    end
    if is_array(probe) then
      for _, d in ipairs(B.array_shape(probe)) do shape[#shape + 1] = d end
    end
    local depth = #shape
    local n = 0
    local function walk(x, level)
      if level > depth then
        n = n + 1
        if type(x) == "boolean" then x = x and 1 or 0 end
        if type(x) ~= "number" then error("array: element " .. n .. " is a " .. type(x) .. ", expected a number", 4) end
        flat[n] = x
        return
      end
      if is_array(x) then
        local vals = B.array_flat(x)
        for i = 1, #vals do n = n + 1; flat[n] = vals[i] end
        return
      end
      if type(x) ~= "table" or #x ~= shape[level] then
        error("array: ragged nested table (expected " .. shape[level] .. " entries at depth " .. level .. ")", 4)
      end
      for i = 1, #x do walk(x[i], level + 1) end
    end
    walk(t, 1)
  end
  local a = B.array_alloc(check_dtype(dtype), shape)
  B.array_fill_flat(a, flat)
  return a
end

function M.arange(a, b, step, dtype)
  if b == nil then a, b = 1, a end
  step = step or 1
  if step == 0 then error("arange: step is 0", 2) end
  local n = math.max(0, math.floor((b - a) / step + 1e-9) + 1)
  local t = {}
  for i = 1, n do t[i] = a + (i - 1) * step end
  return M.array(t, dtype or "float64", {n})
end

function M.linspace(a, b, n)
  n = n or 50
  local t = {}
  for i = 1, n do t[i] = n == 1 and a or a + (b - a) * (i - 1) / (n - 1) end
  return M.array(t, "float64", {n})
end

function M.eye(n, dtype)
  local a = B.array_alloc(check_dtype(dtype), {n, n})
  for i = 1, n do B.array_set(a, i, i, 1) end
  return a
end

-- Random numbers from a seeded generator (xorshift64*; reproducible across backends).
local Rng = {}
Rng.__index = Rng
function M.rng(seed)
  seed = math.floor(seed or 42)
  local s = {state = (seed * 2654435761 + 12345) % 4294967296 + 1}
  return setmetatable(s, Rng)
end
function Rng:uniform()
  -- Park-Miller style LCG on 2^31-1, exact in doubles (same results on Lua 5.4 and LuaJIT)
  self.state = (self.state * 48271) % 2147483647
  return self.state / 2147483647
end
function Rng:normal()
  local u1, u2 = self:uniform(), self:uniform()
  return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
end
function M.rand(shape, rng)
  rng = rng or M.rng(42)
  local a = B.array_alloc("float64", shape)
  local n, t = B.array_numel(a), {}
  for i = 1, n do t[i] = rng:uniform() end
  B.array_fill_flat(a, t)
  return a
end
function M.randn(shape, rng)
  rng = rng or M.rng(42)
  local a = B.array_alloc("float64", shape)
  local n, t = B.array_numel(a), {}
  for i = 1, n do t[i] = rng:normal() end
  B.array_fill_flat(a, t)
  return a
end

---------------------------------------------------------------------------- properties
local props = {
  shape = function(a) return B.array_shape(a) end,
  ndim = function(a) return B.array_ndim(a) end,
  dtype = function(a) return B.array_dtype(a) end,
  size = function(a) return B.array_numel(a) end,
  strides = function(a) return B.array_strides(a) end,
}

mt.__index = function(a, k)
  if type(k) == "number" then return B.array_index(a, k) end
  local m = methods[k]
  if m then return m end
  local p = props[k]
  if p then return p(a) end
  return nil
end

mt.__newindex = function(a, k, v)
  if type(k) == "number" then return B.array_newindex(a, k, v) end
  error("arrays have no settable field '" .. tostring(k) .. "'", 2)
end

mt.__len = function(a) return B.array_dim(a, 1) end
mt.__name = "strata.array"

---------------------------------------------------------------------------- element access
function methods.get(a, ...) return B.array_get(a, ...) end
function methods.set(a, ...) return B.array_set(a, ...) end
function methods.item(a)
  if B.array_numel(a) ~= 1 then error("item: array has " .. B.array_numel(a) .. " elements, expected 1", 2) end
  return B.array_flat(a)[1]
end
function methods.numel(a) return B.array_numel(a) end
function methods.dim(a, i) return B.array_dim(a, i) end
function methods.iscontiguous(a) return B.array_contiguous(a) end

-- Nested Lua tables (numbers) mirroring the shape.
function methods.totable(a)
  local flat, shape = B.array_flat(a), B.array_shape(a)
  if #shape == 0 then return flat[1] end
  local pos = 0
  local function build(level)
    local t = {}
    if level == #shape then
      for i = 1, shape[level] do pos = pos + 1; t[i] = flat[pos] end
    else
      for i = 1, shape[level] do t[i] = build(level + 1) end
    end
    return t
  end
  return build(1)
end
function methods.flat(a) return B.array_flat(a) end

---------------------------------------------------------------------------- views
-- slice(spec1, spec2, ...): per axis an integer (select; the axis is dropped), a table
-- {start, stop[, step]} (1-based, inclusive; negative counts from the end; omitted = whole), or
-- nil/true/{} for the whole axis.  Returns a view sharing memory with `a`.
function methods.slice(a, ...)
  local shape, strides = B.array_shape(a), B.array_strides(a)
  local nspec = select("#", ...)
  if nspec > #shape then error("slice: " .. nspec .. " specs for a " .. #shape .. "-d array", 2) end
  local specs = {...}
  local off, nshape, nstrides = 0, {}, {}
  for d = 1, #shape do
    local s, n = specs[d], shape[d]
    if type(s) == "number" then
      local k = s < 0 and n + s + 1 or s
      if k < 1 or k > n or k % 1 ~= 0 then error("slice: index " .. s .. " out of range 1.." .. n .. " on axis " .. d, 2) end
      off = off + (k - 1) * strides[d]
    else
      local lo, hi, st = 1, n, 1
      if type(s) == "table" then
        lo, hi, st = s[1] or 1, s[2] or n, s[3] or 1
      elseif s ~= nil and s ~= true then
        error("slice: bad spec for axis " .. d .. " (" .. type(s) .. ")", 2)
      end
      if lo < 0 then lo = n + lo + 1 end
      if hi < 0 then hi = n + hi + 1 end
      if st == 0 or st % 1 ~= 0 then error("slice: step must be a non-zero integer", 2) end
      local cnt
      if st > 0 then
        if hi > n then hi = n end
        cnt = hi >= lo and math.floor((hi - lo) / st) + 1 or 0
      else
        if lo > n then lo = n end
        cnt = lo >= hi and math.floor((lo - hi) / -st) + 1 or 0
      end
      if cnt > 0 and (lo < 1 or lo > n) then error("slice: start " .. lo .. " out of range 1.." .. n .. " on axis " .. d, 2) end
      if cnt > 0 then off = off + (lo - 1) * strides[d] end
      nshape[#nshape + 1] = cnt
      nstrides[#nstrides + 1] = strides[d] * st
    end
  end
  return B.array_view(a, off, nshape, nstrides)
end

function methods.select(a, dim, i)
  local specs = {}
  for d = 1, dim - 1 do specs[d] = true end
  specs[dim] = i
  return methods.slice(a, (table.unpack or unpack)(specs, 1, dim))
end

function methods.narrow(a, dim, start, len)
  local specs = {}
  for d = 1, dim - 1 do specs[d] = true end
  specs[dim] = {start, start + len - 1}
  return methods.slice(a, (table.unpack or unpack)(specs, 1, dim))
end

function methods.transpose(a, d1, d2)
  local shape, strides = B.array_shape(a), B.array_strides(a)
  d1, d2 = d1 or 1, d2 or 2
  if #shape < 2 then return a end
  shape[d1], shape[d2] = shape[d2], shape[d1]
  strides[d1], strides[d2] = strides[d2], strides[d1]
  return B.array_view(a, 0, shape, strides)
end
function methods.T(a) return methods.transpose(a, 1, 2) end

function methods.copy(a)
  local c = B.array_alloc(B.array_dtype(a), B.array_shape(a))
  B.array_copy(a, c)
  return c
end

function methods.contiguous(a)
  if B.array_contiguous(a) then return a end
  return methods.copy(a)
end

function methods.astype(a, dtype)
  dtype = check_dtype(dtype)
  local c = B.array_alloc(dtype, B.array_shape(a))
  B.array_copy(a, c)
  return c
end

-- reshape(shape) or reshape(d1, d2, ...); one extent may be -1.  A view when contiguous.
function methods.reshape(a, ...)
  local shape = shape_of({...}, 1)
  local n, free, prod = B.array_numel(a), nil, 1
  local s = {}
  for i, d in ipairs(shape) do
    s[i] = d
    if d == -1 then
      if free then error("reshape: more than one -1", 2) end
      free = i
    else prod = prod * d end
  end
  if free then s[free] = prod > 0 and math.floor(n / prod) or 0; prod = prod * s[free] end
  if prod ~= n then error("reshape: cannot reshape " .. n .. " elements into " .. table.concat(s, "x"), 2) end
  local src = methods.contiguous(a)
  local st, acc = {}, 1
  for i = #s, 1, -1 do st[i] = acc; acc = acc * s[i] end
  return B.array_view(src, 0, s, st)
end

function methods.fill(a, v) B.array_fill(a, v); return a end
-- assign(b): copy b (array, broadcast) or a number into a, in place.
function methods.assign(a, b)
  if type(b) == "number" then B.array_fill(a, b)
  elseif is_array(b) then B.array_copy(b, a)
  else B.array_copy(M.array(b), a) end
  return a
end

---------------------------------------------------------------------------- arithmetic
local function result_dtype(da, db, op)
  local d = RANK[da] >= RANK[db] and da or db
  if (op == OP.div or op == OP.pow or op == OP.atan2) and RANK[d] < RANK.float32 then d = "float64" end
  if op >= OP.lt and op <= OP.ne then d = "uint8" end
  return d
end

local function binary(op, x, y)
  local xa, ya = is_array(x), is_array(y)
  if xa and ya then
    local out = B.array_alloc(result_dtype(B.array_dtype(x), B.array_dtype(y), op), B.array_broadcast(x, y))
    B.array_binary(op, x, y, out)
    return out
  elseif xa then
    if type(y) ~= "number" then y = M.array(y); return binary(op, x, y) end
    local d = B.array_dtype(x)
    if math.type and math.type(y) == "float" and RANK[d] < RANK.float32 then d = "float64" end
    local out = B.array_alloc(result_dtype(d, d, op), B.array_shape(x))
    B.array_scalar(op, x, y, false, out)
    return out
  else
    if type(x) ~= "number" then x = M.array(x); return binary(op, x, y) end
    local d = B.array_dtype(y)
    if math.type and math.type(x) == "float" and RANK[d] < RANK.float32 then d = "float64" end
    local out = B.array_alloc(result_dtype(d, d, op), B.array_shape(y))
    B.array_scalar(op, y, x, true, out)
    return out
  end
end

mt.__add = function(x, y) return binary(OP.add, x, y) end
mt.__sub = function(x, y) return binary(OP.sub, x, y) end
mt.__mul = function(x, y) return binary(OP.mul, x, y) end
mt.__div = function(x, y) return binary(OP.div, x, y) end
mt.__pow = function(x, y) return binary(OP.pow, x, y) end
mt.__mod = function(x, y) return binary(OP.mod, x, y) end
mt.__unm = function(x) return methods.neg(x) end

for name, code in pairs(OP) do
  methods[name] = function(a, b) return binary(code, a, b) end
end
-- in-place forms: a:add_(b) etc.
for _, name in ipairs({"add", "sub", "mul", "div"}) do
  local code = OP[name]
  methods[name .. "_"] = function(a, b)
    if type(b) == "number" then B.array_scalar(code, a, b, false, a)
    else B.array_binary(code, a, b, a) end
    return a
  end
end

for name, code in pairs(UN) do
  methods[name] = function(a)
    local d = B.array_dtype(a)
    if code ~= UN.neg and code ~= UN.abs and code ~= UN.square and code ~= UN.sign and RANK[d] < RANK.float32 then
      d = "float64"
    end
    if code == UN.isnan then d = "uint8" end
    local out = B.array_alloc(d, B.array_shape(a))
    B.array_unary(code, a, out)
    return out
  end
end

-- Reductions: a:sum() -> number; a:sum(axis) -> array without that axis (1-based axis).
for name, code in pairs(RED) do
  methods[name] = function(a, axis)
    local d = (code == RED.argmin or code == RED.argmax) and "int64" or "float64"
    if axis == nil then
      local out = B.array_alloc(d, {})
      B.array_reduce(code, a, -1, out)
      local v = B.array_flat(out)[1]
      if code == RED.argmin or code == RED.argmax then v = v + 1 end
      return v
    end
    local shape = B.array_shape(a)
    local nd = #shape
    if axis < 0 then axis = nd + axis + 1 end
    if axis < 1 or axis > nd then error(name .. ": axis " .. axis .. " out of range 1.." .. nd, 2) end
    table.remove(shape, axis)
    local out = B.array_alloc(d, shape)
    B.array_reduce(code, a, axis - 1, out)
    if code == RED.argmin or code == RED.argmax then B.array_scalar(OP.add, out, 1, false, out) end
    return out
  end
end

function methods.matmul(a, b)
  local sa, sb = B.array_shape(a), B.array_shape(b)
  local da = B.array_dtype(a)
  if da ~= "float64" and da ~= "float32" then a = methods.astype(a, "float64"); da = "float64" end
  if B.array_dtype(b) ~= da then b = methods.astype(b, da) end
  local vec_a, vec_b = #sa == 1, #sb == 1
  if vec_a then a = methods.reshape(a, 1, sa[1]); sa = {1, sa[1]} end
  if vec_b then b = methods.reshape(b, sb[1], 1); sb = {sb[1], 1} end
  local shape = {}
  for i = 1, #sa - 1 do shape[i] = sa[i] end
  shape[#sa] = sb[#sb]
  local out = B.array_alloc(da, shape)
  B.array_matmul(a, b, out)
  if vec_a and vec_b then return B.array_flat(out)[1] end
  if vec_a then return methods.reshape(out, shape[#shape]) end
  if vec_b then return methods.reshape(out, shape[1]) end
  return out
end

function methods.dot(a, b)
  return methods.sum(binary(OP.mul, a, b))
end

function methods.allclose(a, b, rtol, atol)
  rtol, atol = rtol or 1e-12, atol or 1e-12
  local d = methods.abs(binary(OP.sub, a, b))
  local lim = binary(OP.add, methods.abs(is_array(b) and b or M.array(b)) * rtol, atol)
  return methods.max(binary(OP.gt, d, lim)) == 0
end

function methods.ptr(a) return B.array_ptr(a) end

---------------------------------------------------------------------------- printing
local function fmt_num(v, dtype)
  if dtype == "float64" or dtype == "float32" then
    if v ~= v then return "nan" end
    if v == math.huge then return "inf" end
    if v == -math.huge then return "-inf" end
    return string.format("%.6g", v)
  end
  return string.format("%d", v)
end

-- Shape, dtype and a truncated body (first/last 3 entries per axis).
function M.format(a, edge)
  edge = edge or 3
  local shape, dtype = B.array_shape(a), B.array_dtype(a)
  local head = "array(" .. (#shape > 0 and table.concat(shape, "x") or "scalar") .. ", " .. dtype .. ")"
  if #shape == 0 then return head .. " " .. fmt_num(B.array_flat(a)[1], dtype) end
  local function render(v, depth, indent)
    local s = B.array_shape(v)
    local n = s[1]
    local items = {}
    local function add(i)
      local x = B.array_index(v, i)
      if #s == 1 then items[#items + 1] = fmt_num(x, dtype)
      else items[#items + 1] = render(x, depth + 1, indent .. " ") end
    end
    if n > 2 * edge then
      for i = 1, edge do add(i) end
      items[#items + 1] = "..."
      for i = n - edge + 1, n do add(i) end
    else
      for i = 1, n do add(i) end
    end
    local sep = #s == 1 and ", " or (",\n" .. indent .. " ")
    return "[" .. table.concat(items, sep) .. "]"
  end
  return head .. "\n" .. render(a, 1, "")
end
mt.__tostring = function(a) return M.format(a) end
mt.__pretty = mt.__tostring

return M
