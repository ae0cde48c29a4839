-- strata.io: reading and writing structures and trajectories.
--
--   for at in strata.frames("traj.xyz") do ... end        -- streams; constant memory
--   local frames = strata.read("data.xyz")               -- all frames (a list of Atoms)
--   local at = strata.read("POSCAR", {index = 1})        -- one frame
--   strata.write("out.xyz", frames)                       -- atomic: temp file + rename
-- Expected failures (missing file, parse error) return nil, message; the message names the file,
-- line and field.
local B = require "strata.backend"
local atoms = require "strata.atoms"

local M = {}

-- Iterator over frames.  On a parse error the loop raises (an iterator cannot return nil, msg);
-- use M.open for explicit handling.
function M.frames(path, format)
  local r, err = B.reader_open(path, format)
  if not r then error(err, 2) end
  return function()
    local h, e = B.reader_next(r)
    if h then return atoms.wrap(h) end
    B.reader_close(r)
    if e then error(e, 2) end
    return nil
  end
end

-- Reader object: r:next() -> Atoms | nil (end) | nil, message; r:close().
function M.open(path, format)
  local r, err = B.reader_open(path, format)
  if not r then return nil, err end
  local obj = {format = B.reader_format(r)}
  function obj:next()
    local h, e = B.reader_next(r)
    if h then return atoms.wrap(h) end
    return nil, e
  end
  function obj:close() B.reader_close(r) end
  return obj
end

-- Parse structures from a string (e.g. a CIF held in a CSV cell).
function M.read_string(text, format, opts)
  opts = opts or {}
  local r, err = B.reader_open_string(text, format, opts.name or "<string>")
  if not r then return nil, err end
  local out = {}
  while true do
    local h, e = B.reader_next(r)
    if not h then
      B.reader_close(r)
      if e then return nil, e end
      break
    end
    out[#out + 1] = atoms.wrap(h)
  end
  if opts.index then return out[opts.index] end
  return out
end

-- read(path[, opts]): opts.format, opts.index (1-based frame; negative from the end).
-- Returns a list of frames, or the one frame asked for; nil, message on failure.
function M.read(path, opts)
  if type(opts) == "string" then opts = {format = opts} end
  opts = opts or {}
  local r, err = B.reader_open(path, opts.format)
  if not r then return nil, err end
  local out, i = {}, 0
  local want = opts.index
  while true do
    local h, e = B.reader_next(r)
    if not h then
      B.reader_close(r)
      if e then return nil, e end
      break
    end
    i = i + 1
    if want and want > 0 then
      if i == want then B.reader_close(r); return atoms.wrap(h) end
      B.atoms_free(h)
    else
      out[#out + 1] = atoms.wrap(h)
    end
  end
  if want then
    if want < 0 and #out + want + 1 >= 1 then return out[#out + want + 1] end
    return nil, path .. ": frame " .. want .. " requested, file has " .. i
  end
  return out
end

-- write(path, frames_or_atoms[, opts]): opts.format.  Returns true or nil, message.  Nothing is
-- written under `path` unless every frame was written.
function M.write(path, frames, opts)
  if type(opts) == "string" then opts = {format = opts} end
  opts = opts or {}
  if atoms.is_atoms(frames) then frames = {frames} end
  local w, err = B.writer_open(path, opts.format)
  if not w then return nil, err end
  for i = 1, #frames do
    local ok, e = B.writer_write(w, atoms.handle(frames[i]))
    if not ok then B.writer_abort(w); return nil, e end
  end
  return B.writer_close(w)
end

-- Streaming writer: local w = strata.io.writer(path); w:write(at); w:close().
function M.writer(path, format)
  local w, err = B.writer_open(path, format)
  if not w then return nil, err end
  return {
    write = function(_, at) return B.writer_write(w, atoms.handle(at)) end,
    close = function() return B.writer_close(w) end,
    abort = function() return B.writer_abort(w) end,
  }
end

function M.formats() return B.formats() end

return M
