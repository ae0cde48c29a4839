-- Every symbol exported by libstrata.so is declared in the generated FFI header, and every
-- public struct has the same size in C and in LuaJIT's view of the header.
local ffi = require "ffi"
local B = require "strata.ffi_backend"
local build = os.getenv("STRATA_BUILD") or "build"

describe("FFI declarations", function()
  it("declare every exported symbol", function()
    local p = io.popen("nm -D --defined-only " .. build .. "/libstrata.so")
    local names = {}
    for line in p:lines() do
      local name = line:match("^%x+ [TDB] (st_[%w_]+)$")
      if name then names[#names + 1] = name end
    end
    p:close()
    assert.truthy(#names > 50, "found only " .. #names .. " exported st_ symbols")
    local missing = {}
    for _, n in ipairs(names) do
      local ok = pcall(function() return B.C[n] end)
      if not ok then missing[#missing + 1] = n end
    end
    assert.same({}, missing)
  end)

  it("agree with C on struct sizes", function()
    local f = assert(io.open(build .. "/tests/struct_sizes.txt"))
    local n = 0
    for line in f:lines() do
      local name, size = line:match("^(%S+) (%d+)$")
      if name then
        n = n + 1
        assert.equal(tonumber(size), ffi.sizeof(name), name)
      end
    end
    f:close()
    assert.truthy(n >= 1)
  end)
end)
