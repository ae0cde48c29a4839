-- Runs busted inside whatever interpreter runs this file: bin/strata (Lua 5.4 + the C binding)
-- or stock luajit (the FFI backend).  Usage from the repository root:
--   bin/strata tests/run_busted.lua -o TAP tests/lua/array_spec.lua
--   luajit tests/run_busted.lua -o TAP tests/ffi/ffi_spec.lua
local build = os.getenv("STRATA_BUILD") or "build"
package.path = "lua/?.lua;lua/?/init.lua;" .. build .. "/lua/?.lua;tests/?.lua;" .. package.path
package.cpath = build .. "/lua/?.so;" .. package.cpath
require "busted.runner" ({standalone = false})
