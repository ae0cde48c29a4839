-- Array behaviour shared by both backends: tests/lua/array_spec.lua runs it inside bin/strata
-- (Lua 5.4 C binding) and tests/ffi/array_spec.lua under stock luajit (FFI).  Expected values
-- are computed by hand or by plain Lua loops, independently of the kernels.
return function(strata, t)
  local describe, it, assert = t.describe, t.it, t.assert
  local function close(a, b, tol) return math.abs(a - b) <= (tol or 1e-12) end

  describe("arrays (" .. strata.backend .. ")", function()
    it("builds from nested tables with shape and dtype", function()
      local a = strata.array({{1, 2, 3}, {4, 5, 6}})
      assert.same({2, 3}, a.shape)
      assert.equal("float64", a.dtype)
      assert.equal(6, a.size)
      assert.equal(2, #a)
      assert.equal(6, a:get(2, 3))
      assert.equal(2, a[1][2])
      assert.same({{1, 2, 3}, {4, 5, 6}}, a:totable())
      assert.equal("int32", strata.array({1, 2}, "int32").dtype)
    end)

    it("rejects ragged tables and bad dtypes with clear messages", function()
      assert.has_error(function() strata.array({{1, 2}, {3}}) end)
      assert.has_error(function() strata.zeros({2}, "complex") end)
      local ok, err = pcall(function() strata.array({1, "x"}) end)
      assert.is_false(ok)
      assert.truthy(tostring(err):find("expected a number"))
    end)

    it("indexes with negative indices and checks bounds", function()
      local a = strata.arange(1, 10)
      assert.equal(10, a[-1])
      assert.has_error(function() return a[11] end)
      assert.has_error(function() return a:get(0) end)
      a[-1] = 42
      assert.equal(42, a:get(10))
    end)

    it("slices as views that share memory", function()
      local a = strata.array({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}})
      local v = a:slice({2, 3}, {1, 3, 2})
      assert.same({{4, 6}, {7, 9}}, v:totable())
      v:set(1, 1, 40)
      assert.equal(40, a:get(2, 1))
      assert.same({2, 5, 8}, a:slice(true, 2):totable())
      assert.same({3, 2, 1}, a:slice(1, {3, 1, -1}):totable())
      assert.same({{1, 4, 7}, {2, 5, 8}, {3, 6, 9}}, strata.array({{1, 2, 3}, {4, 5, 6}, {7, 8, 9}}):T():totable())
    end)

    it("views keep their parent alive", function()
      local v
      do
        local a = strata.arange(1, 1000)
        v = a:slice({991, 1000})
      end
      collectgarbage(); collectgarbage()
      assert.same({991, 992, 993, 994, 995, 996, 997, 998, 999, 1000}, v:totable())
    end)

    it("broadcasts elementwise arithmetic like NumPy", function()
      local a = strata.array({{1, 2, 3}, {4, 5, 6}})
      local b = strata.array({10, 20, 30})
      assert.same({{11, 22, 33}, {14, 25, 36}}, (a + b):totable())
      assert.same({{2, 4, 6}, {8, 10, 12}}, (a * 2):totable())
      assert.same({{-1, -2, -3}, {-4, -5, -6}}, (-a):totable())
      assert.same({{1, 0.5, 1 / 3}, {0.25, 0.2, 1 / 6}}, (1 / a):totable())
      local col = strata.array({{1}, {2}})
      assert.same({{0, 1, 2}, {2, 3, 4}}, (a - col):totable())
      assert.has_error(function() return a + strata.array({1, 2}) end)
      assert.equal("float64", (strata.array({1, 2}, "int32") / 2).dtype)
    end)

    it("reduces with pairwise sums and axes", function()
      local n = 100001
      local a = strata.arange(1, n)
      assert.equal(n * (n + 1) / 2, a:sum())
      local m = strata.array({{1, 2, 3}, {4, 5, 6}})
      assert.same({5, 7, 9}, m:sum(1):totable())
      assert.same({2, 5}, m:mean(2):totable())
      assert.equal(6, m:max())
      assert.equal(6, m:argmax())
      assert.same({3, 3}, m:argmax(2):totable())
      assert.truthy(close(math.sqrt(1 + 4 + 9 + 16 + 25 + 36), m:norm()))
      -- population variance of 1..6 = 35/12
      assert.truthy(close(35 / 12, m:var()))
      assert.truthy(close(math.log(math.exp(1) + math.exp(2) + math.exp(3)), strata.array({1, 2, 3}):logsumexp()))
      -- logsumexp does not overflow
      assert.truthy(close(1000 + math.log(2), strata.array({1000, 1000}):logsumexp(), 1e-9))
    end)

    it("multiplies matrices through BLAS (checked against a Lua triple loop)", function()
      local rng = strata.rng(7)
      local A, Bm = strata.rand({7, 5}, rng), strata.rand({5, 4}, rng)
      local C = A:matmul(Bm)
      for i = 1, 7 do
        for j = 1, 4 do
          local s = 0
          for k = 1, 5 do s = s + A:get(i, k) * Bm:get(k, j) end
          assert.truthy(close(s, C:get(i, j), 1e-12))
        end
      end
      -- transposed and strided operands go through the same path
      local Ct = Bm:T():matmul(A:T())
      for i = 1, 4 do for j = 1, 7 do assert.truthy(close(C:get(j, i), Ct:get(i, j), 1e-12)) end end
      local S = A:slice({1, 7, 2}, true)
      local CS = S:matmul(Bm)
      for i = 1, 4 do for j = 1, 4 do assert.truthy(close(C:get(2 * i - 1, j), CS:get(i, j), 1e-12)) end end
      assert.truthy(close(A[1]:dot(A[1]), A[1]:matmul(A[1]), 1e-12))
      assert.has_error(function() A:matmul(A) end)
    end)

    it("reshapes, copies, casts and fills", function()
      local a = strata.arange(1, 12):reshape(3, 4)
      assert.same({3, 4}, a.shape)
      assert.same({4, 3}, a:reshape(-1, 3).shape)
      assert.has_error(function() a:reshape(5, 5) end)
      local c = a:copy()
      c:set(1, 1, 99)
      assert.equal(1, a:get(1, 1))
      local i = strata.array({1.7, -2.2}):astype("int32")
      assert.same({1, -2}, i:totable())
      assert.same({7, 7}, strata.zeros(2):fill(7):totable())
      local z = strata.zeros({2, 3})
      z:assign(strata.array({1, 2, 3}))
      assert.same({{1, 2, 3}, {1, 2, 3}}, z:totable())
    end)

    it("prints shape, dtype and a truncated body", function()
      local s = tostring(strata.arange(1, 100))
      assert.truthy(s:find("array%(100, float64%)"))
      assert.truthy(s:find("%.%.%."))
    end)

    it("builds atoms frames whose fields are views", function()
      local at = strata.Atoms{symbols = {"Cu", "O"}, positions = {{0, 0, 0}, {1, 2, 3}}, cell = {4, 5, 6}}
      assert.equal(2, #at)
      assert.same({"Cu", "O"}, at.symbols)
      assert.same({29, 8}, at.numbers:totable())
      assert.same({true, true, true}, at.pbc)
      at.positions:set(2, 1, 1.5)
      assert.equal(1.5, at.positions:get(2, 1))
      at.info.energy = -1.25
      at.info.stress = {{1, 0, 0}, {0, 2, 0}, {0, 0, 3}}
      at.info.config_type = "bulk"
      assert.equal(-1.25, at.info.energy)
      assert.equal(2, at.info.stress[2][2])
      assert.equal("bulk", at.info.config_type)
      at.arrays.forces = {{1, 2, 3}, {4, 5, 6}}
      assert.same({4, 5, 6}, at.arrays.forces[2]:totable())
      assert.truthy(close(120, at:volume()))
      local sub = at:take({2})
      assert.equal(1, #sub)
      assert.same({"O"}, sub.symbols)
      assert.same({{4, 5, 6}}, sub.arrays.forces:totable())
      assert.truthy(close(15.999, at.masses[2], 1e-9))
      assert.has_error(function() strata.Atoms{symbols = {"Xx"}} end)
    end)

    it("refuses stale views instead of crashing", function()
      local at = strata.Atoms{symbols = {"H"}, positions = {{0, 0, 0}}}
      at.arrays.q = {1.0}
      local q = at.arrays.q
      at.arrays.q = nil
      assert.has_error(function() return q[1] end)
      local p = at.positions
      at:free()
      assert.has_error(function() return p[1] end)
      assert.has_error(function() return at.positions end)
    end)
  end)
end
