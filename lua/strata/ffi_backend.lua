-- strata.ffi_backend: the primitives of strata.core (the Lua 5.4 C binding) re-implemented over
-- LuaJIT's FFI and libstrata.so, so the Lua layer above runs unchanged under stock LuaJIT.
--
-- Declarations come from strata.cdef, generated from csrc/include/strata.h at build time.
-- Array memory is an FFI buffer anchored to the array cdata (the GC sees its size); views anchor
-- their parent.  Atoms handles are boxes {ptr=} so a freed frame is detected, and views into a
-- frame check its generation before every use, as the C binding does.
local ffi = require "ffi"
local bit = require "bit"

ffi.cdef(require "strata.cdef")
ffi.cdef [[
struct stj_array { st_view v; };
void *malloc(size_t); void free(void *);
]]

local function find_lib()
  local env = os.getenv("STRATA_LIB")
  if env then return env end
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("(.*)/[^/]*$") or "."
  local build = os.getenv("STRATA_BUILD") or "build"
  local candidates = {dir .. "/../../" .. build .. "/libstrata.so", dir .. "/../../libstrata.so",
                      dir .. "/../../../../lib/libstrata.so", dir .. "/../../../build/libstrata.so"}
  for _, p in ipairs(candidates) do
    local f = io.open(p, "rb")
    if f then f:close(); return p end
  end
  return "strata"
end

local C = ffi.load(find_lib())
local M = {backend = "luajit-ffi", C = C}

local ctx = ffi.gc(C.st_ctx_create(), C.st_ctx_destroy)
M.ctx = ctx

local function message(status)
  local m = ffi.string(C.st_ctx_message(ctx))
  if m == "" then m = ffi.string(C.st_status_name(status)) end
  return m
end

local EXPECTED = {[C.ST_ERR_IO] = true, [C.ST_ERR_PARSE] = true, [C.ST_ERR_FORMAT] = true,
                  [C.ST_ERR_NOTFOUND] = true, [C.ST_ERR_NUMERIC] = true}

local function check(status, level)
  if status ~= 0 then error(message(status), (level or 1) + 1) end
end
-- expected failures -> nil, msg; others raise (mirrors stl_fail)
local function fail(status)
  if EXPECTED[status] then return nil, message(status) end
  error(message(status), 3)
end
M.check, M.message = check, message

---------------------------------------------------------------------------- arrays
local DT = {float64 = 0, float32 = 1, int32 = 2, int64 = 3, uint8 = 4}
local DTNAME = {[0] = "float64", "float32", "int32", "int64", "uint8"}
local DTSIZE = {[0] = 8, 4, 4, 8, 1}
local PTR = {[0] = ffi.typeof("double *"), ffi.typeof("float *"), ffi.typeof("int32_t *"),
             ffi.typeof("int64_t *"), ffi.typeof("uint8_t *")}

local arr_ct = ffi.typeof("struct stj_array")
local arr_mt = {}
local registered = false
local anchors = setmetatable({}, {__mode = "k"})   -- array -> buffer or parent
local refs = setmetatable({}, {__mode = "k"})      -- array -> {box=, gen=} for atoms views

function M.array_metatable() return arr_mt end
local function register()
  if not registered then ffi.metatype(arr_ct, arr_mt); registered = true end
end

local function is_array(x) return type(x) == "cdata" and ffi.istype(arr_ct, x) end
M.is_array = is_array

local function V(a, level)
  if not is_array(a) then error("expected a strata array, got " .. type(a), (level or 2) + 1) end
  local r = refs[a]
  if r and (r.box.ptr == nil or C.st_atoms_generation(r.box.ptr) ~= r.gen) then
    error("array view is stale: its atoms were freed or resized, or the per-atom array was replaced; take a fresh view", (level or 2) + 1)
  end
  return a.v
end
M.V = V

local function new_header(dtype, shape)
  register()
  local a = arr_ct()
  a.v.dtype = dtype
  a.v.ndim = #shape
  for i = 1, #shape do
    local d = shape[i]
    if type(d) ~= "number" or d < 0 or d % 1 ~= 0 then error("shape[" .. i .. "] must be a non-negative integer", 3) end
    a.v.shape[i - 1] = d
  end
  return a
end

function M.array_alloc(dtype, shape)
  local dt = DT[dtype or "float64"]
  if not dt then error("unknown dtype '" .. tostring(dtype) .. "' (float64, float32, int32, int64, uint8)", 2) end
  if #shape > 8 then error("shape has " .. #shape .. " dimensions (at most 8)", 2) end
  local a = new_header(dt, shape)
  local n = 1
  for i = 1, #shape do n = n * shape[i] end
  local buf = ffi.new("uint8_t[?]", n * DTSIZE[dt] + 64)   -- zero-filled, GC-managed
  local addr = ffi.cast("uintptr_t", buf)
  a.v.data = buf + (64 - tonumber(addr % 64)) % 64   -- 64-byte aligned
  C.st_view_set_contiguous(a.v)
  anchors[a] = buf
  return a
end

local function wrap(parent, data, dt, shape, strides, ref)
  local a = new_header(dt, shape)
  a.v.data = data
  if strides then for i = 1, #shape do a.v.strides[i - 1] = strides[i] end
  else C.st_view_set_contiguous(a.v) end
  anchors[a] = parent
  if ref then refs[a] = ref end
  return a
end

function M.array_view(p, off, shape, strides)
  local pv = V(p)
  if #strides ~= #shape then error("array_view: strides and shape differ in length", 2) end
  local lo, hi, empty = off, off, false
  for i = 1, #shape do
    if shape[i] == 0 then empty = true
    elseif strides[i] > 0 then hi = hi + strides[i] * (shape[i] - 1)
    else lo = lo + strides[i] * (shape[i] - 1) end
  end
  local plo, phi, pempty = 0, 0, false
  for i = 0, pv.ndim - 1 do
    local s, d = tonumber(pv.strides[i]), tonumber(pv.shape[i])
    if d == 0 then pempty = true
    elseif s > 0 then phi = phi + s * (d - 1)
    else plo = plo + s * (d - 1) end
  end
  if not empty and (pempty or lo < plo or hi > phi) then error("array_view: view exceeds its parent", 2) end
  local data = ffi.cast("uint8_t *", pv.data) + off * DTSIZE[pv.dtype]
  return wrap(p, data, pv.dtype, shape, strides, refs[p])
end

function M.array_dtype(a) return DTNAME[V(a).dtype] end
function M.array_ndim(a) return V(a).ndim end
function M.array_numel(a) return tonumber(C.st_view_numel(V(a))) end
function M.array_contiguous(a) return C.st_view_is_contiguous(V(a)) ~= 0 end
function M.array_shape(a)
  local v, t = V(a), {}
  for i = 0, v.ndim - 1 do t[i + 1] = tonumber(v.shape[i]) end
  return t
end
function M.array_strides(a)
  local v, t = V(a), {}
  for i = 0, v.ndim - 1 do t[i + 1] = tonumber(v.strides[i]) end
  return t
end
function M.array_dim(a, i)
  local v = V(a)
  if i >= 1 and i <= v.ndim then return tonumber(v.shape[i - 1]) end
  return 1
end

local function getoff(v, off)
  local x = ffi.cast(PTR[v.dtype], v.data)[off]
  return tonumber(x)
end
local function setoff(v, off, x)
  if type(x) == "boolean" then x = x and 1 or 0 end
  if type(x) ~= "number" then error("expected a number, got " .. type(x), 3) end
  local dt = v.dtype
  if dt >= 2 and x % 1 ~= 0 then error("number has no integer representation", 3) end
  ffi.cast(PTR[dt], v.data)[off] = x
end

local function index_offset(v, ...)
  local n = select("#", ...)
  if n ~= v.ndim then error("array index: " .. n .. " indices for a " .. v.ndim .. "-d array", 3) end
  local off = 0
  for i = 1, n do
    local k = select(i, ...)
    if type(k) ~= "number" or k % 1 ~= 0 then error("array index " .. i .. ": expected an integer", 3) end
    local d = tonumber(v.shape[i - 1])
    if k < 0 then k = k + d + 1 end
    if k < 1 or k > d then error("array index " .. i .. ": " .. select(i, ...) .. " out of range 1.." .. d, 3) end
    off = off + (k - 1) * tonumber(v.strides[i - 1])
  end
  return off
end

function M.array_get(a, ...) local v = V(a); return getoff(v, index_offset(v, ...)) end
function M.array_set(a, ...)
  local v = V(a)
  local n = select("#", ...)
  local x = select(n, ...)
  local idx = {...}
  idx[n] = nil
  setoff(v, index_offset(v, unpack(idx, 1, n - 1)), x)
end

local function row_of(a, v, k)
  if v.ndim == 0 then error("cannot index a 0-d array (use a:item())", 3) end
  local d = tonumber(v.shape[0])
  local kk = k < 0 and k + d + 1 or k
  if kk < 1 or kk > d or kk % 1 ~= 0 then error("array index " .. k .. " out of range 1.." .. d, 3) end
  return (kk - 1) * tonumber(v.strides[0])
end

function M.array_index(a, k)
  local v = V(a)
  local off = row_of(a, v, k)
  if v.ndim == 1 then return getoff(v, off) end
  local shape, strides = {}, {}
  for i = 1, v.ndim - 1 do shape[i] = tonumber(v.shape[i]); strides[i] = tonumber(v.strides[i]) end
  return wrap(a, ffi.cast("uint8_t *", v.data) + off * DTSIZE[v.dtype], v.dtype, shape, strides, refs[a])
end

function M.array_newindex(a, k, x)
  local v = V(a)
  local off = row_of(a, v, k)
  if v.ndim == 1 then return setoff(v, off, x) end
  local row = M.array_index(a, k)
  if type(x) == "number" then check(C.st_op_fill(ctx, row.v, x), 2)
  else check(C.st_op_copy(ctx, V(x), row.v), 2) end
end

local function each_offset(v, fn)
  local nd = v.ndim
  local n = tonumber(C.st_view_numel(v))
  local idx = {}
  for d = 1, nd do idx[d] = 0 end
  for i = 1, n do
    local off = 0
    for d = 1, nd do off = off + idx[d] * tonumber(v.strides[d - 1]) end
    fn(i, off)
    for d = nd, 1, -1 do
      idx[d] = idx[d] + 1
      if idx[d] < tonumber(v.shape[d - 1]) then break end
      idx[d] = 0
    end
  end
end

function M.array_flat(a)
  local v, t = V(a), {}
  each_offset(v, function(i, off) t[i] = getoff(v, off) end)
  return t
end

function M.array_fill_flat(a, t)
  local v = V(a)
  local n = tonumber(C.st_view_numel(v))
  if #t ~= n then error("array: table has " .. #t .. " values, array holds " .. n, 2) end
  each_offset(v, function(i, off)
    local x = t[i]
    if type(x) ~= "number" and type(x) ~= "boolean" then
      error("array: element " .. i .. " is a " .. type(x) .. ", expected a number", 4)
    end
    setoff(v, off, x)
  end)
end

function M.array_binary(op, a, b, out) check(C.st_op_binary(ctx, op, V(a), V(b), V(out)), 2) end
function M.array_scalar(op, a, s, left, out) check(C.st_op_scalar(ctx, op, V(a), s, left and 1 or 0, V(out)), 2) end
function M.array_unary(op, a, out) check(C.st_op_unary(ctx, op, V(a), V(out)), 2) end
function M.array_reduce(op, a, axis, out) check(C.st_op_reduce(ctx, op, V(a), axis, V(out)), 2) end
function M.array_copy(src, dst) check(C.st_op_copy(ctx, V(src), V(dst)), 2) end
function M.array_fill(dst, x) check(C.st_op_fill(ctx, V(dst), x), 2) end
function M.array_matmul(a, b, out) check(C.st_op_matmul(ctx, V(a), V(b), V(out)), 2) end
function M.array_broadcast(a, b)
  local nd = ffi.new("int[1]")
  local shape = ffi.new("int64_t[8]")
  check(C.st_op_broadcast_shape(ctx, V(a), V(b), nd, shape), 2)
  local t = {}
  for i = 0, nd[0] - 1 do t[i + 1] = tonumber(shape[i]) end
  return t
end
function M.array_ptr(a) return V(a).data end

---------------------------------------------------------------------------- atoms
local function box_of(h)
  if type(h) ~= "table" or h.__atoms ~= true then error("expected an atoms handle", 3) end
  if h.ptr == nil then error("atoms frame used after it was freed", 3) end
  return h.ptr
end

local function new_box(ptr)
  if ptr == nil then error("atoms: out of memory", 3) end
  return {__atoms = true, ptr = ffi.gc(ptr, C.st_atoms_destroy)}
end

function M.atoms_new(n)
  if n < 0 then error("atoms: bad atom count " .. n, 2) end
  return new_box(C.st_atoms_create(n))
end
function M.atoms_copy(h) return new_box(C.st_atoms_copy(box_of(h))) end
function M.atoms_count(h) return tonumber(C.st_atoms_count(box_of(h))) end
function M.is_atoms(h) return type(h) == "table" and h.__atoms == true end
function M.atoms_generation(h) return tonumber(C.st_atoms_generation(box_of(h))) end
function M.atoms_free(h)
  if h.ptr ~= nil then
    local p = h.ptr
    h.ptr = nil
    ffi.gc(p, nil)
    C.st_atoms_destroy(p)
  end
end

local function view_of(h, data, dt, shape)
  local p = box_of(h)
  return wrap(h, data, dt, shape, nil, {box = h, gen = C.st_atoms_generation(p)})
end

function M.atoms_positions(h) local p = box_of(h); return view_of(h, C.st_atoms_positions(p), 0, {tonumber(C.st_atoms_count(p)), 3}) end
function M.atoms_numbers(h) local p = box_of(h); return view_of(h, C.st_atoms_numbers(p), 2, {tonumber(C.st_atoms_count(p))}) end
function M.atoms_cell(h) return view_of(h, C.st_atoms_cell(box_of(h)), 0, {3, 3}) end
function M.atoms_pbc(h) return view_of(h, C.st_atoms_pbc(box_of(h)), 2, {3}) end
function M.atoms_has_cell(h) return C.st_atoms_has_cell(box_of(h)) ~= 0 end

local KINDS = {[0] = "real", "int", "bool", "string"}
local KIND_ID = {real = 0, int = 1, bool = 2, string = 3}

function M.atoms_arrays(h)
  local p, t = box_of(h), {}
  for i = 0, C.st_atoms_array_count(p) - 1 do
    t[i + 1] = {name = ffi.string(C.st_atoms_array_name(p, i)), kind = KINDS[C.st_atoms_array_kind(p, i)],
                ncols = C.st_atoms_array_ncols(p, i)}
  end
  return t
end

function M.atoms_array(h, name)
  local p = box_of(h)
  local i = C.st_atoms_array_find(p, name)
  if i < 0 then return nil end
  local kind, nc, n = C.st_atoms_array_kind(p, i), C.st_atoms_array_ncols(p, i), tonumber(C.st_atoms_count(p))
  if kind == 3 then
    local t = {}
    for r = 0, n - 1 do
      if nc == 1 then t[r + 1] = ffi.string(C.st_atoms_array_string(p, i, r, 0))
      else
        local row = {}
        for c = 0, nc - 1 do row[c + 1] = ffi.string(C.st_atoms_array_string(p, i, r, c)) end
        t[r + 1] = row
      end
    end
    return t
  end
  local shape = nc == 1 and {n} or {n, nc}
  return view_of(h, C.st_atoms_array_data(p, i), kind == 0 and 0 or 2, shape)
end

function M.atoms_array_add(h, name, kind, ncols)
  local p = box_of(h)
  local k = KIND_ID[kind or "real"]
  if not k then error("bad kind '" .. tostring(kind) .. "'", 2) end
  if C.st_atoms_array_add(ctx, p, name, k, ncols or 1) < 0 then check(C.st_ctx_status(ctx), 2) end
  return M.atoms_array(h, name)
end

function M.atoms_array_set_strings(h, name, t)
  local p = box_of(h)
  local n = tonumber(C.st_atoms_count(p))
  if #t ~= n then error("array '" .. name .. "': " .. #t .. " strings for " .. n .. " atoms", 2) end
  local i = C.st_atoms_array_add(ctx, p, name, 3, 1)
  if i < 0 then check(C.st_ctx_status(ctx), 2) end
  for r = 1, n do
    if type(t[r]) ~= "string" and type(t[r]) ~= "number" then error("array '" .. name .. "': entry " .. r .. " is not a string", 2) end
    check(C.st_atoms_array_set_string(ctx, p, i, r - 1, 0, tostring(t[r])), 2)
  end
end

function M.atoms_array_remove(h, name) return C.st_atoms_array_remove(box_of(h), name) ~= 0 end

local function info_value(p, i)
  local kind, nd = C.st_atoms_info_kind(p, i), C.st_atoms_info_ndim(p, i)
  if kind == 3 then return ffi.string(C.st_atoms_info_string(p, i)) end
  local d = C.st_atoms_info_data(p, i)
  local ptr = kind == 0 and ffi.cast("const double *", d) or ffi.cast("const int32_t *", d)
  local function at(k)
    local x = tonumber(ptr[k])
    if kind == 2 then return x ~= 0 end
    return x
  end
  local d0, d1 = tonumber(C.st_atoms_info_dim(p, i, 0)), tonumber(C.st_atoms_info_dim(p, i, 1))
  if nd == 0 then return at(0) end
  if nd == 1 then
    local t = {}
    for k = 0, d0 - 1 do t[k + 1] = at(k) end
    return t
  end
  local t = {}
  for r = 0, d0 - 1 do
    local row = {}
    for c = 0, d1 - 1 do row[c + 1] = at(r * d1 + c) end
    t[r + 1] = row
  end
  return t
end

function M.atoms_info(h)
  local p = box_of(h)
  local t, keys = {}, {}
  for i = 0, C.st_atoms_info_count(p) - 1 do
    local k = ffi.string(C.st_atoms_info_key(p, i))
    t[k] = info_value(p, i)
    keys[#keys + 1] = k
  end
  return t, keys
end

function M.atoms_info_get(h, key)
  local p = box_of(h)
  local i = C.st_atoms_info_find(p, key)
  if i < 0 then return nil end
  return info_value(p, i)
end

-- Lua 5.4 distinguishes integers from floats; LuaJIT does not: whole numbers are stored as INT
-- when they fit in int32 (same as the C binding for integer-typed values).
local function is_int(x) return x % 1 == 0 and x >= -2147483648 and x <= 2147483647 end

function M.atoms_info_set(h, key, v)
  local p = box_of(h)
  local t = type(v)
  if v == nil then C.st_atoms_info_remove(p, key); return end
  if t == "string" then return check(C.st_atoms_info_set_string(ctx, p, key, v), 2) end
  if t == "boolean" then
    local b = ffi.new("int32_t[1]", v and 1 or 0)
    return check(C.st_atoms_info_set_int(ctx, p, key, 2, 0, nil, b), 2)
  end
  if t == "number" then
    if is_int(v) and math.floor(v) == v and not (1 / v < 0 and v == 0) and tostring(v):find("[%.eEn]") == nil then
      local b = ffi.new("int32_t[1]", v)
      return check(C.st_atoms_info_set_int(ctx, p, key, 1, 0, nil, b), 2)
    end
    local b = ffi.new("double[1]", v)
    return check(C.st_atoms_info_set_real(ctx, p, key, 0, nil, b), 2)
  end
  if is_array(v) then
    local vv = V(v)
    if vv.ndim > 2 then error("info '" .. key .. "': arrays of at most 2 dimensions", 2) end
    local n = tonumber(C.st_view_numel(vv))
    local buf = ffi.new("double[?]", math.max(n, 1))
    local dst = ffi.new("st_view")
    dst.data, dst.dtype, dst.ndim = buf, 0, vv.ndim
    for i = 0, vv.ndim - 1 do dst.shape[i] = vv.shape[i] end
    C.st_view_set_contiguous(dst)
    check(C.st_op_copy(ctx, vv, dst), 2)
    return check(C.st_atoms_info_set_real(ctx, p, key, vv.ndim, vv.shape, buf), 2)
  end
  if t ~= "table" then error("info '" .. key .. "': cannot store a " .. t, 2) end
  local d0, d1, nd = #v, 0, 1
  if d0 > 0 and type(v[1]) == "table" then nd, d1 = 2, #v[1] end
  local n = nd == 2 and d0 * d1 or d0
  local buf, ibuf = ffi.new("double[?]", math.max(n, 1)), ffi.new("int32_t[?]", math.max(n, 1))
  local allbool, allint = true, true
  for r = 1, d0 do
    local row = v[r]
    local cols = nd == 2 and d1 or 1
    if nd == 2 and (type(row) ~= "table" or #row ~= d1) then
      error("info '" .. key .. "': row " .. r .. " is not a table of " .. d1 .. " values", 2)
    end
    for c = 1, cols do
      local x = nd == 2 and row[c] or row
      local k = (r - 1) * cols + (c - 1)
      if type(x) == "boolean" then buf[k] = x and 1 or 0; ibuf[k] = buf[k]; allint = false
      elseif type(x) == "number" then
        allbool = false
        buf[k] = x
        if is_int(x) then ibuf[k] = x else allint = false end
      else error("info '" .. key .. "': element " .. (k + 1) .. " is a " .. type(x) .. ", expected a number or boolean", 2) end
    end
  end
  local shape = ffi.new("int64_t[2]", d0, d1)
  if n > 0 and allbool then return check(C.st_atoms_info_set_int(ctx, p, key, 2, nd, shape, ibuf), 2) end
  if n > 0 and allint then return check(C.st_atoms_info_set_int(ctx, p, key, 1, nd, shape, ibuf), 2) end
  return check(C.st_atoms_info_set_real(ctx, p, key, nd, shape, buf), 2)
end

function M.atoms_take(h, idx)
  local a = box_of(h)
  local n, m = tonumber(C.st_atoms_count(a)), #idx
  for k = 1, m do
    if idx[k] < 1 or idx[k] > n then error("take: index " .. idx[k] .. " out of range 1.." .. n, 2) end
  end
  local nb = new_box(C.st_atoms_copy(a))
  local b = nb.ptr
  check(C.st_atoms_resize(ctx, b, m), 2)
  local pa, pb = C.st_atoms_positions(a), C.st_atoms_positions(b)
  local na, nbn = C.st_atoms_numbers(a), C.st_atoms_numbers(b)
  for k = 0, m - 1 do
    local s = idx[k + 1] - 1
    pb[3 * k], pb[3 * k + 1], pb[3 * k + 2] = pa[3 * s], pa[3 * s + 1], pa[3 * s + 2]
    nbn[k] = na[s]
  end
  for i = 0, C.st_atoms_array_count(a) - 1 do
    local kind, nc = C.st_atoms_array_kind(a, i), C.st_atoms_array_ncols(a, i)
    local j = C.st_atoms_array_find(b, C.st_atoms_array_name(a, i))
    if kind == 3 then
      for k = 0, m - 1 do
        for c = 0, nc - 1 do
          check(C.st_atoms_array_set_string(ctx, b, j, k, c, C.st_atoms_array_string(a, i, idx[k + 1] - 1, c)), 2)
        end
      end
    else
      local ct = kind == 0 and "double *" or "int32_t *"
      local src, dst = ffi.cast(ct, C.st_atoms_array_data(a, i)), ffi.cast(ct, C.st_atoms_array_data(b, j))
      for k = 0, m - 1 do
        local s = idx[k + 1] - 1
        for c = 0, nc - 1 do dst[k * nc + c] = src[s * nc + c] end
      end
    end
  end
  return nb
end

---------------------------------------------------------------------------- readers and writers
function M.reader_open(path, format)
  local out = ffi.new("st_reader *[1]")
  local rc = C.st_reader_open(ctx, path, format, out)
  if rc ~= 0 then return fail(rc) end
  return {r = ffi.gc(out[0], C.st_reader_close)}
end
function M.reader_open_string(text, format, name)
  local out = ffi.new("st_reader *[1]")
  local rc = C.st_reader_open_string(ctx, text, #text, format, name or "<string>", out)
  if rc ~= 0 then return fail(rc) end
  return {r = ffi.gc(out[0], C.st_reader_close)}
end
function M.reader_next(r)
  if r.r == nil then error("reader used after close", 2) end
  local out = ffi.new("st_atoms *[1]")
  local rc = C.st_reader_next(ctx, r.r, out)
  if rc ~= 0 then return fail(rc) end
  if out[0] == nil then return nil end
  return new_box(out[0])
end
function M.reader_close(r)
  if r.r ~= nil then
    local p = r.r
    r.r = nil
    ffi.gc(p, nil)
    C.st_reader_close(p)
  end
end
function M.reader_format(r) return r.r ~= nil and ffi.string(C.st_reader_format(r.r)) or nil end

function M.writer_open(path, format)
  local out = ffi.new("st_writer *[1]")
  local rc = C.st_writer_open(ctx, path, format, out)
  if rc ~= 0 then return fail(rc) end
  return {w = ffi.gc(out[0], C.st_writer_abort)}
end
function M.writer_write(w, h)
  if w.w == nil then error("writer used after close", 2) end
  local rc = C.st_writer_write(ctx, w.w, box_of(h))
  if rc ~= 0 then return fail(rc) end
  return true
end
function M.writer_close(w)
  if w.w == nil then return nil end
  local p = w.w
  w.w = nil
  ffi.gc(p, nil)
  local rc = C.st_writer_close(ctx, p)
  if rc ~= 0 then return fail(rc) end
  return true
end
function M.writer_abort(w)
  if w.w ~= nil then
    local p = w.w
    w.w = nil
    ffi.gc(p, nil)
    C.st_writer_abort(p)
  end
end

function M.formats()
  local t, flags = {}, ffi.new("int[1]")
  local i = 0
  while true do
    local name = C.st_format_name(i, flags)
    if name == nil then break end
    t[i + 1] = {name = ffi.string(name), read = bit.band(flags[0], 1) ~= 0, write = bit.band(flags[0], 2) ~= 0}
    i = i + 1
  end
  return t
end
function M.format_detect(path)
  local s = C.st_format_detect(path, nil, 0)
  return s ~= nil and ffi.string(s) or nil
end

function M.element_symbol(z)
  local s = C.st_element_symbol(z)
  return s ~= nil and ffi.string(s) or nil
end
function M.element_number(s) return C.st_element_number(s) end
function M.element_mass(z) return C.st_element_mass(z) end


---------------------------------------------------------------------------- npy / npz
local function array_from_info(info)
  local shape = {}
  for i = 0, info.ndim - 1 do shape[i + 1] = tonumber(info.shape[i]) end
  return M.array_alloc(DTNAME[info.dtype], shape)
end

function M.npy_load(path)
  local info = ffi.new("st_npy_info")
  local rc = C.st_npy_read_header(ctx, path, info)
  if rc ~= 0 then return fail(rc) end
  local a = array_from_info(info)
  rc = C.st_npy_read_data(ctx, path, info, a.v.data)
  if rc ~= 0 then return fail(rc) end
  return a
end

function M.npy_save(path, a)
  local rc = C.st_npy_write(ctx, path, V(a))
  if rc ~= 0 then return fail(rc) end
  return true
end

function M.npz_load(path)
  local zp = ffi.new("st_npz *[1]")
  local rc = C.st_npz_open(ctx, path, zp)
  if rc ~= 0 then return fail(rc) end
  local z = ffi.gc(zp[0], C.st_npz_close)
  local t, names = {}, {}
  local info = ffi.new("st_npy_info")
  for i = 0, C.st_npz_count(z) - 1 do
    rc = C.st_npz_info(ctx, z, i, info)
    if rc ~= 0 then return fail(rc) end
    local a = array_from_info(info)
    rc = C.st_npz_read(ctx, z, i, info, a.v.data)
    if rc ~= 0 then return fail(rc) end
    local name = ffi.string(C.st_npz_name(z, i))
    t[name] = a
    names[#names + 1] = name
  end
  return t, names
end

function M.npz_save(path, names, arrays, compress)
  for i = 1, #names do V(arrays[i]) end
  local wp = ffi.new("st_npz_writer *[1]")
  local rc = C.st_npz_writer_open(ctx, path, compress and 1 or 0, wp)
  if rc ~= 0 then return fail(rc) end
  local w = wp[0]
  for i = 1, #names do
    rc = C.st_npz_writer_add(ctx, w, names[i], V(arrays[i]))
    if rc ~= 0 then C.st_npz_writer_abort(w); return fail(rc) end
  end
  rc = C.st_npz_writer_close(ctx, w)
  if rc ~= 0 then return fail(rc) end
  return true
end

---------------------------------------------------------------------------- misc
function M.set_num_threads(n) C.st_set_num_threads(n or 0) end
function M.get_num_threads() return C.st_get_num_threads() end
function M.interrupt() C.st_interrupt() end
function M.interrupt_clear() C.st_interrupt_clear() end
function M.interrupt_pending() return C.st_interrupt_pending() ~= 0 end
function M.version() return ffi.string(C.st_version()) end
function M.abi_version() return C.st_abi_version() end
function M.set_progress(on) C.st_ctx_set_progress(ctx, nil, nil) end  -- no C-side printer under FFI

-- Kernel bindings (neighbour lists, descriptors, entropy, ...) live in their own file.
M._private = {ctx = ctx, fail = fail, check = check, box_of = box_of, DT = DT, DTNAME = DTNAME}
require "strata.ffi_kernels" (M)
require "strata.ffi_md" (M)
require "strata.ffi_crystal" (M)

return M
