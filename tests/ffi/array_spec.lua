-- The same array and Atoms behaviour through LuaJIT's FFI (run under stock luajit).
local strata = require "strata"
assert(strata.backend == "luajit-ffi", "expected the FFI backend, got " .. tostring(strata.backend))
require "shared.array_cases" (strata, {describe = describe, it = it, assert = assert})
