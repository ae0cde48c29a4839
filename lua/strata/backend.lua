-- strata.backend: picks the primitive layer the Lua modules are built on.
--   Lua 5.4: strata.core, the C binding (csrc/lua).
--   LuaJIT:  strata.ffi_backend, the same primitives over the FFI and libstrata.so.
-- Both expose identical functions (array_*, atoms_*, reader_*, writer_*, ...), so everything above
-- this file is one code base.
if rawget(_G, "jit") and not os.getenv("STRATA_NO_FFI") then
  return require "strata.ffi_backend"
end
return require "strata.core"
