-- Helpers shared by the busted specs (tests/lua/*_spec.lua; the FFI specs load the same files):
-- scratch folders, writing small text files, running a recipe in-process with its output
-- silenced, and a tolerance assertion with a readable message.
local cli = require "strata.cli"
local util = require "strata.util"

local M = {}

-- A fresh scratch folder named after the spec.
function M.tmpdir(name)
  local tmp = os.tmpname()
  os.remove(tmp)
  tmp = tmp .. "-" .. name
  assert(util.mkdir_p(tmp))
  return tmp
end

function M.write_text(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

-- Run a recipe in-process with its printing silenced; returns the status, or the exit code and
-- message of a usage/exit object.
function M.recipe(name, args)
  local saved = _G.print
  _G.print = function() end
  local ok, rc = pcall(cli.dispatch, name, args)
  _G.print = saved
  if not ok then
    if cli.is_exit(rc) then return rc.exit, rc.message end
    error(rc, 0)
  end
  return rc
end

-- near(a, b, tol[, what]) with `digits` significant digits in the message.
function M.near_fn(digits)
  local fmt = "%s: got %s, expected %." .. (digits or 12) .. "g (tol %g)"
  return function(a, b, tol, what)
    assert(type(a) == "number" and type(b) == "number" and math.abs(a - b) <= tol,
           string.format(fmt, what or "value", tostring(a), b, tol))
  end
end

return M
