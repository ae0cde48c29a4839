-- strata.npy: NumPy .npy and .npz files, so arrays move to and from Python.
--   strata.npy.save("x.npy", a)              -- atomic write; true | nil, msg
--   local a = strata.npy.load("x.npy")       -- array | nil, msg
--   strata.npy.savez("d.npz", {x = a, y = b}[, {compress = true}])
--   local t = strata.npy.loadz("d.npz")      -- {x = array, y = array}
local B = require "strata.backend"
local array = require "strata.array"

local M = {}

function M.load(path) return B.npy_load(path) end

function M.save(path, a)
  if not array.is_array(a) then a = array.array(a) end
  return B.npy_save(path, a)
end

function M.loadz(path)
  local t, names = B.npz_load(path)
  if not t then return nil, names end
  return t, names
end

-- Members are written in sorted name order (deterministic files).
function M.savez(path, tbl, opts)
  opts = opts or {}
  local names, arrays = {}, {}
  for k in pairs(tbl) do names[#names + 1] = k end
  table.sort(names)
  for i, k in ipairs(names) do
    local a = tbl[k]
    arrays[i] = array.is_array(a) and a or array.array(a)
  end
  return B.npz_save(path, names, arrays, opts.compress)
end

return M
