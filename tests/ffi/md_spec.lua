-- Molecular dynamics from Lua under stock LuaJIT (the FFI backend, lua/strata/ffi_md.lua): the very
-- checks of tests/lua/md_spec.lua, run again so both backends are held to the same numbers and
-- messages.
--   luajit tests/run_busted.lua -o TAP tests/ffi/md_spec.lua   (STRATA_BUILD selects the build)
local strata = require "strata"
assert(strata.backend == "luajit-ffi", "expected the FFI backend, got " .. tostring(strata.backend))
local chunk = assert(loadfile("tests/lua/md_spec.lua"))
setfenv(chunk, getfenv(1))   -- busted's describe/it/assert/pending live in this file's environment
chunk()
