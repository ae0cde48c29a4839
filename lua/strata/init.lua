-- strata: the Lua layer.  `local strata = require "strata"` (preloaded in bin/strata).
--
-- Runs on Lua 5.4 (through the C binding) and on LuaJIT (through the FFI); see strata.backend.
-- Kernels live in C; this layer composes them.
local B = require "strata.backend"
local array = require "strata.array"
local atoms = require "strata.atoms"
local io_ = require "strata.io"

local strata = {
  _VERSION = "strata " .. B.version(),
  backend = B.backend,
  core = B,
  -- arrays
  array = array.array, zeros = array.zeros, ones = array.ones, empty = array.empty, full = array.full,
  arange = array.arange, linspace = array.linspace, eye = array.eye, rand = array.rand,
  randn = array.randn, rng = array.rng, is_array = array.is_array,
  -- structures
  Atoms = atoms.new, is_atoms = atoms.is_atoms,
  read = io_.read, write = io_.write, frames = io_.frames, read_string = io_.read_string,
  io = io_,
  plugins = require "strata.plugin",
  -- threads and interrupts: one place decides thread counts for OpenMP and BLAS
  set_num_threads = B.set_num_threads, get_num_threads = B.get_num_threads,
  set_progress = B.set_progress,
  -- help texts: strata.doc[fn] = "..." (the REPL's help(obj) reads it)
  doc = setmetatable({}, {__mode = "k"}),
}

-- Optional modules: loaded lazily on first access (strata.npy, strata.entropy, ...).
setmetatable(strata, {__index = function(t, k)
  local ok, mod = pcall(require, "strata." .. k)
  if ok then rawset(t, k, mod); return mod end
  if type(mod) == "string" and not mod:find("module 'strata." .. k .. "' not found", 1, true) then
    error(mod, 2)
  end
  return nil
end})

strata.doc[strata.array] = "strata.array(t[, dtype[, shape]]): array from nested tables (dtype float64 by default)"
strata.doc[strata.read] = "strata.read(path[, {format=, index=}]): list of Atoms, or one frame; nil, msg on failure"
strata.doc[strata.write] = "strata.write(path, frames[, {format=}]): atomic write (temp file + rename)"
strata.doc[strata.frames] = "for at in strata.frames(path[, format]) do ... end: stream frames"
strata.doc[strata.Atoms] = "strata.Atoms{symbols=, positions=, cell=, pbc=, info=}: a new frame"

return strata
