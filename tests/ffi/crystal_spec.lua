-- The crystal-distance and ML layers under stock LuaJIT (the FFI backend): the very checks of
-- tests/lua/crystal_spec.lua, run again so both backends are held to the same numbers.
--   luajit tests/run_busted.lua -o TAP tests/ffi/crystal_spec.lua   (STRATA_BUILD selects the build)
local strata = require "strata"
assert(strata.backend == "luajit-ffi", "expected the FFI backend, got " .. tostring(strata.backend))
local chunk = assert(loadfile("tests/lua/crystal_spec.lua"))
setfenv(chunk, getfenv(1))   -- busted's describe/it/assert/pending live in this file's environment
chunk()
