-- strata.atoms: the Atoms class (one frame) over a C st_atoms handle.
--
-- Fields read as views into the frame's memory (changes write through):
--   at.positions (n x 3, Å), at.numbers (n, int32), at.cell (3 x 3 rows a, b, c, Å),
--   at.pbc ({true, true, false}), at.symbols ({"Cu", ...}), at.masses (amu; from the per-atom
--   array "masses" if present, else standard atomic weights), at.info (a proxy: at.info.energy,
--   at.info.stress = {...}), at.arrays (a proxy: at.arrays.forces -> n x 3 view; assigning a
--   table/array creates or replaces the array), #at = number of atoms.
-- Methods: copy, take(indices), free, volume, get_forces / energy shortcuts, __tostring.
local B = require "strata.backend"
local array = require "strata.array"

local M = {}
local Atoms = {}
M.Atoms = Atoms

-- The handle of each Atoms object.  Under LuaJIT an Atoms object is a newproxy() userdata, so
-- that #at and the other metamethods work as they do on Lua 5.4 (LuaJIT ignores __len on tables).
local handle_of = setmetatable({}, {__mode = "k"})
local template = rawget(_G, "newproxy") and newproxy(true)

local function wrap(h)
  local self
  if template then self = newproxy(template) else self = setmetatable({}, Atoms) end
  handle_of[self] = h
  return self
end
M.wrap = wrap

local function H(self)
  local h = handle_of[self]
  if not h then error("atoms: frame was freed", 3) end
  return h
end
M.handle = H

-- Atoms.new{symbols = {...} | numbers = {...}, positions = {{x,y,z},...}, cell = {...}, pbc = ...}
function M.new(spec)
  spec = spec or {}
  local n
  if spec.numbers then n = #spec.numbers
  elseif spec.symbols then n = #spec.symbols
  elseif spec.positions then n = array.is_array(spec.positions) and spec.positions.shape[1] or #spec.positions
  else n = spec.n or 0 end
  local h = B.atoms_new(n)
  local self = wrap(h)
  if spec.numbers then
    local num = B.atoms_numbers(h)
    for i = 1, n do num[i] = spec.numbers[i] end
  elseif spec.symbols then
    self:set_symbols(spec.symbols)
  end
  if spec.positions then
    if n > 0 then B.atoms_positions(h):assign(array.is_array(spec.positions) and spec.positions or array.array(spec.positions)) end
  end
  if spec.cell then self.cell = spec.cell end
  if spec.pbc ~= nil then self.pbc = spec.pbc
  elseif spec.cell then self.pbc = true end
  if spec.info then for k, v in pairs(spec.info) do B.atoms_info_set(h, k, v) end end
  return self
end

local function cell_matrix(c)
  if array.is_array(c) then return c end
  if type(c) == "number" then return array.array({{c, 0, 0}, {0, c, 0}, {0, 0, c}}) end
  if type(c[1]) == "number" then
    if #c == 3 then return array.array({{c[1], 0, 0}, {0, c[2], 0}, {0, 0, c[3]}}) end
    if #c == 9 then return array.array({{c[1], c[2], c[3]}, {c[4], c[5], c[6]}, {c[7], c[8], c[9]}}) end
    error("cell: expected 3 lengths, 9 numbers or a 3x3 table", 3)
  end
  return array.array(c)
end

function Atoms.set_symbols(self, symbols)
  local num = B.atoms_numbers(H(self))
  for i = 1, #symbols do
    local z = B.element_number(symbols[i])
    if z < 0 then error("unknown element symbol '" .. tostring(symbols[i]) .. "' at atom " .. i, 2) end
    num[i] = z
  end
end

local getters = {
  positions = function(self) return B.atoms_positions(H(self)) end,
  numbers = function(self) return B.atoms_numbers(H(self)) end,
  cell = function(self) return B.atoms_cell(H(self)) end,
  n = function(self) return B.atoms_count(H(self)) end,
  pbc = function(self)
    local p = B.atoms_pbc(H(self))
    return {p[1] ~= 0, p[2] ~= 0, p[3] ~= 0}
  end,
  symbols = function(self)
    local num, t = B.atoms_numbers(H(self)), {}
    for i = 1, B.atoms_count(H(self)) do t[i] = B.element_symbol(num[i]) or "X" end
    return t
  end,
  masses = function(self)
    local h = H(self)
    local m = B.atoms_array(h, "masses")
    if m then return m end
    local num, n = B.atoms_numbers(h), B.atoms_count(h)
    local out = array.zeros({n})
    for i = 1, n do out[i] = B.element_mass(num[i]) end
    return out
  end,
  info = function(self)
    local h = H(self)
    return setmetatable({}, {
      __index = function(_, k) return B.atoms_info_get(h, k) end,
      __newindex = function(_, k, v) B.atoms_info_set(h, k, v) end,
      __pairs = function()
        local t, keys = B.atoms_info(h)
        local i = 0
        return function()
          i = i + 1
          local k = keys[i]
          if k ~= nil then return k, t[k] end
        end
      end,
      __tostring = function() return "info of " .. B.atoms_count(h) .. "-atom frame" end,
    })
  end,
  arrays = function(self)
    local h = H(self)
    local atoms_self = self
    return setmetatable({}, {
      __index = function(_, k) return B.atoms_array(h, k) end,
      __newindex = function(_, k, v) atoms_self:set_array(k, v) end,
      __pairs = function()
        local list = B.atoms_arrays(h)
        local i = 0
        return function()
          i = i + 1
          if list[i] then return list[i].name, B.atoms_array(h, list[i].name) end
        end
      end,
    })
  end,
}

local setters = {
  positions = function(self, v) B.atoms_positions(H(self)):assign(array.is_array(v) and v or array.array(v)) end,
  numbers = function(self, v)
    local num = B.atoms_numbers(H(self))
    for i = 1, #num do num[i] = array.is_array(v) and v[i] or v[i] end
  end,
  symbols = function(self, v) self:set_symbols(v) end,
  cell = function(self, v) B.atoms_cell(H(self)):assign(cell_matrix(v)) end,
  pbc = function(self, v)
    local p = B.atoms_pbc(H(self))
    if type(v) == "boolean" then v = {v, v, v} end
    for i = 1, 3 do p[i] = v[i] and 1 or 0 end
  end,
}

Atoms.__index = function(self, k)
  local g = getters[k]
  if g then return g(self) end
  return Atoms[k]
end
Atoms.__newindex = function(self, k, v)
  local s = setters[k]
  if s then return s(self, v) end
  error("atoms: cannot set field '" .. tostring(k) .. "' (use at.info." .. tostring(k) .. " or at.arrays." .. tostring(k) .. ")", 2)
end
Atoms.__len = function(self) return B.atoms_count(H(self)) end
Atoms.__name = "strata.Atoms"

-- Create or replace a per-atom array from an array or table; kind from the dtype (or "string").
function Atoms.set_array(self, name, v)
  local h = H(self)
  if v == nil then B.atoms_array_remove(h, name); return end
  local n = B.atoms_count(h)
  if type(v) == "table" and type(v[1]) == "string" then
    B.atoms_array_set_strings(h, name, v)
    return
  end
  if not array.is_array(v) then v = array.array(v) end
  local shape = v.shape
  if shape[1] ~= n then error("array '" .. name .. "': " .. tostring(shape[1]) .. " rows for " .. n .. " atoms", 2) end
  local kind = (v.dtype == "float64" or v.dtype == "float32") and "real" or "int"
  local dst = B.atoms_array_add(h, name, kind, shape[2] or 1)
  dst:assign(v)
end

function Atoms.copy(self) return wrap(B.atoms_copy(H(self))) end
function Atoms.take(self, idx)
  if array.is_array(idx) then idx = idx:flat() end
  return wrap(B.atoms_take(H(self), idx))
end
function Atoms.free(self)
  local h = handle_of[self]
  if h then B.atoms_free(h) end
  handle_of[self] = nil
end
Atoms.__close = Atoms.free
function Atoms.volume(self)
  local c = self.cell:totable()
  return math.abs(c[1][1] * (c[2][2] * c[3][3] - c[2][3] * c[3][2]) - c[1][2] * (c[2][1] * c[3][3] - c[2][3] * c[3][1]) +
                  c[1][3] * (c[2][1] * c[3][2] - c[2][2] * c[3][1]))
end
function Atoms.has_cell(self) return B.atoms_has_cell(H(self)) end
function Atoms.handle(self) return H(self) end

function Atoms.formula(self)
  local counts, order = {}, {}
  for _, s in ipairs(self.symbols) do
    if not counts[s] then counts[s] = 0; order[#order + 1] = s end
    counts[s] = counts[s] + 1
  end
  local parts = {}
  for _, s in ipairs(order) do parts[#parts + 1] = s .. (counts[s] > 1 and counts[s] or "") end
  return table.concat(parts)
end

Atoms.__tostring = function(self)
  if not handle_of[self] then return "Atoms(freed)" end
  local h = H(self)
  local p = B.atoms_pbc(h)
  local parts = {"Atoms(" .. self:formula() .. ", n=" .. B.atoms_count(h)}
  if B.atoms_has_cell(h) then
    local c = B.atoms_cell(h):totable()
    local L = {}
    for i = 1, 3 do L[i] = string.format("%.4g", math.sqrt(c[i][1] ^ 2 + c[i][2] ^ 2 + c[i][3] ^ 2)) end
    parts[#parts + 1] = "cell=[" .. table.concat(L, ", ") .. "]"
  end
  parts[#parts + 1] = string.format("pbc=%s%s%s", p[1] ~= 0 and "T" or "F", p[2] ~= 0 and "T" or "F", p[3] ~= 0 and "T" or "F")
  local names = {}
  for _, a in ipairs(B.atoms_arrays(h)) do names[#names + 1] = a.name end
  if #names > 0 then parts[#parts + 1] = "arrays={" .. table.concat(names, ",") .. "}" end
  local _, keys = B.atoms_info(h)
  if #keys > 0 then parts[#parts + 1] = "info={" .. table.concat(keys, ",") .. "}" end
  return table.concat(parts, ", ") .. ")"
end
Atoms.__pretty = Atoms.__tostring

-- Plain-table copy of the info (pairs() over at.info needs __pairs, which LuaJIT lacks).
function Atoms.info_table(self) return (B.atoms_info(H(self))) end

if template then
  local tm = getmetatable(template)
  for k, v in pairs(Atoms) do
    if k:sub(1, 2) == "__" then tm[k] = v end
  end
end

function M.is_atoms(x) return x ~= nil and handle_of[x] ~= nil or getmetatable(x) == Atoms end

return M
