-- strata.ffi_crystal: FFI versions of the crystal primitives of csrc/lua/crystal.c (periodic k-NN
-- distances, AMD, PDD, AMD and PDD-EMD distance matrices, exact transport), with the same names,
-- results and messages.  Also loads strata.ffi_ml (the ML primitives of csrc/lua/ml.c).  Called by
-- strata.ffi_backend with its table.
local ffi = require "ffi"

return function(M)
  local C, P = M.C, M._private
  local ctx, fail, box_of = P.ctx, P.fail, P.box_of
  local V = M.V

  -- Contiguous float64 view of a (copied when needed); returns the view and the object to keep.
  local function dense(a, ndim, what)
    local v = V(a, 3)
    if v.ndim ~= ndim then error(string.format("%s: expected a %d-d array, got %d-d", what, ndim, v.ndim), 3) end
    if v.dtype == 0 and C.st_view_is_contiguous(v) ~= 0 then return v, a end
    local c = M.array_alloc("float64", M.array_shape(a))
    M.array_copy(a, c)
    return c.v, c
  end
  P.dense = dense

  local function crystal_opts(t)
    local o = ffi.new("st_crystal_opts")
    local keep
    if t ~= nil then
      if type(t) ~= "table" then error("crystal: options must be a table", 3) end
      if t.k ~= nil then
        local k = t.k
        if type(k) ~= "number" or k % 1 ~= 0 or k < 1 or k > 100000 then
          error("crystal: k must be an integer 1..100000", 3)
        end
        o.k = k
      end
      if t.collapse_tol ~= nil then o.collapse_tol = t.collapse_tol end
      if t.species ~= nil then
        local s = t.species
        if type(s) ~= "table" then error("crystal: species must be a table of atomic numbers", 3) end
        if #s < 1 or #s > 128 then error("crystal: species: give 1 to 128 atomic numbers, got " .. #s, 3) end
        keep = ffi.new("int32_t[?]", #s)
        for i = 1, #s do
          if type(s[i]) ~= "number" or s[i] % 1 ~= 0 then
            error("crystal: species entry " .. i .. " is not an atomic number", 3)
          end
          keep[i - 1] = s[i]
        end
        o.species, o.nspecies = keep, #s
      end
    end
    return o, keep
  end
  local function kof(o) return o.k ~= 0 and o.k or 100 end

  local METRIC = {linf = 0, l1 = 1, l2 = 2}
  local function metric_arg(m, argn, fname)
    if m == nil then return 0 end
    local v = METRIC[m]
    if not v then
      error(string.format("bad argument #%d to '%s' (invalid option '%s')", argn, fname, tostring(m)), 3)
    end
    return v
  end

  function M.crystal_nsites(h, t)
    local a = box_of(h)
    local o, keep = crystal_opts(t)
    local n = ffi.new("int64_t[1]")
    local rc = C.st_crystal_frame_nsites(ctx, a, o, n)
    local _ = keep
    if rc ~= 0 then return fail(rc) end
    return tonumber(n[0])
  end

  function M.crystal_knn(h, t)
    local a = box_of(h)
    local o, keep = crystal_opts(t)
    local n = ffi.new("int64_t[1]")
    local rc = C.st_crystal_frame_nsites(ctx, a, o, n)
    if rc ~= 0 then return fail(rc) end
    local ns = tonumber(n[0])
    local d, w = M.array_alloc("float64", {ns, kof(o)}), M.array_alloc("float64", {ns})
    rc = C.st_crystal_frame_knn(ctx, a, o, d.v.data, w.v.data)
    local _ = keep
    if rc ~= 0 then return fail(rc) end
    return d, w
  end

  function M.crystal_amd(h, t)
    local a = box_of(h)
    local o, keep = crystal_opts(t)
    local out = M.array_alloc("float64", {kof(o)})
    local rc = C.st_crystal_frame_amd(ctx, a, o, out.v.data)
    local _ = keep
    if rc ~= 0 then return fail(rc) end
    return out
  end

  function M.crystal_pdd(h, t)
    local a = box_of(h)
    local o, keep = crystal_opts(t)
    local n = ffi.new("int64_t[1]")
    local rc = C.st_crystal_frame_nsites(ctx, a, o, n)
    if rc ~= 0 then return fail(rc) end
    local cap, k = tonumber(n[0]), kof(o)
    local w, r = ffi.new("double[?]", cap), ffi.new("double[?]", cap * k)
    local nrows = ffi.new("int64_t[1]")
    rc = C.st_crystal_frame_pdd(ctx, a, o, nrows, w, r)
    local _ = keep
    if rc ~= 0 then return fail(rc) end
    local nr = tonumber(nrows[0])
    local wa, ra = M.array_alloc("float64", {nr}), M.array_alloc("float64", {nr, k})
    ffi.copy(wa.v.data, w, nr * 8)
    ffi.copy(ra.v.data, r, nr * k * 8)
    return wa, ra
  end

  function M.crystal_amd_distance(A, B, metric)
    local a, ka = dense(A, 1, "amd_distance: first AMD")
    local b, kb = dense(B, 1, "amd_distance: second AMD")
    local m = metric_arg(metric, 3, "crystal_amd_distance")
    if a.shape[0] ~= b.shape[0] then
      error(string.format("amd_distance: AMDs of different lengths (%d and %d)", tonumber(a.shape[0]), tonumber(b.shape[0])), 2)
    end
    local d = ffi.new("double[1]")
    local rc = C.st_crystal_amd_distance(ctx, a.shape[0], a.data, b.data, m, d)
    local _ = {ka, kb}
    if rc ~= 0 then return fail(rc) end
    return d[0]
  end

  function M.crystal_amd_matrix(A, metric)
    local a, ka = dense(A, 2, "amd_matrix: AMDs (rows = structures)")
    local m = metric_arg(metric, 2, "crystal_amd_matrix")
    local n = tonumber(a.shape[0])
    local out = M.array_alloc("float64", {n, n})
    local rc = C.st_crystal_amd_matrix(ctx, n, a.shape[1], a.data, m, out.v.data)
    local _ = ka
    if rc ~= 0 then return fail(rc) end
    return out
  end

  function M.crystal_amd_cross(A, B, metric)
    local a, ka = dense(A, 2, "amd_cross: first AMDs (rows = structures)")
    local b, kb = dense(B, 2, "amd_cross: second AMDs (rows = structures)")
    local m = metric_arg(metric, 3, "crystal_amd_cross")
    if a.shape[1] ~= b.shape[1] then
      error(string.format("amd_cross: AMDs of different lengths (k = %d and %d)", tonumber(a.shape[1]), tonumber(b.shape[1])), 2)
    end
    local out = M.array_alloc("float64", {tonumber(a.shape[0]), tonumber(b.shape[0])})
    local rc = C.st_crystal_amd_cross(ctx, a.shape[0], a.data, b.shape[0], b.data, a.shape[1], m, out.v.data)
    local _ = {ka, kb}
    if rc ~= 0 then return fail(rc) end
    return out
  end

  local function pdd_entry(e, what, i)
    if type(e) ~= "table" then error(string.format("%s: PDD %d: expected a table {weights=, rows=}", what, i), 4) end
    if not M.is_array(e.weights) or not M.is_array(e.rows) then
      error(string.format("%s: PDD %d: weights and rows must be arrays", what, i), 4)
    end
    local w, kw = dense(e.weights, 1, what)
    local r, kr = dense(e.rows, 2, what)
    if w.shape[0] ~= r.shape[0] or r.shape[0] < 1 then
      error(string.format("%s: PDD %d: %d weights for %d rows", what, i, tonumber(w.shape[0]), tonumber(r.shape[0])), 4)
    end
    return w, r, {kw, kr}
  end

  local function pack(list, what)
    if type(list) ~= "table" then error(what .. ": expected a list of PDDs", 3) end
    local n = #list
    if n < 1 then error(what .. ": empty list of PDDs", 3) end
    local total, k, ws, rs, keep = 0, -1, {}, {}, {}
    for i = 1, n do
      local w, r, kk = pdd_entry(list[i], what, i)
      local ki = tonumber(r.shape[1])
      if k >= 0 and ki ~= k then
        error(string.format("%s: PDD %d has k = %d, the first has k = %d", what, i, ki, k), 3)
      end
      k = ki
      ws[i], rs[i], keep[i] = w, r, kk
      total = total + tonumber(r.shape[0])
    end
    local off = ffi.new("int64_t[?]", n + 1)
    local W, R = ffi.new("double[?]", math.max(total, 1)), ffi.new("double[?]", math.max(total * k, 1))
    for i = 1, n do
      local m, o = tonumber(rs[i].shape[0]), tonumber(off[i - 1])
      ffi.copy(W + o, ws[i].data, m * 8)
      ffi.copy(R + o * k, rs[i].data, m * k * 8)
      off[i] = o + m
    end
    return {n = n, k = k, off = off, w = W, r = R, keep = keep}
  end

  function M.crystal_pdd_emd(w1, r1, w2, r2)
    local a, ka = dense(w1, 1, "pdd_emd: weights 1")
    local b, kb = dense(r1, 2, "pdd_emd: rows 1")
    local c, kc = dense(w2, 1, "pdd_emd: weights 2")
    local d, kd = dense(r2, 2, "pdd_emd: rows 2")
    if a.shape[0] ~= b.shape[0] or c.shape[0] ~= d.shape[0] then error("pdd_emd: weights and rows differ in length", 2) end
    if b.shape[1] ~= d.shape[1] then
      error(string.format("pdd_emd: PDDs of different k (%d and %d)", tonumber(b.shape[1]), tonumber(d.shape[1])), 2)
    end
    local out = ffi.new("double[1]")
    local rc = C.st_crystal_pdd_emd(ctx, b.shape[1], b.shape[0], a.data, b.data, d.shape[0], c.data, d.data, out)
    local _ = {ka, kb, kc, kd}
    if rc ~= 0 then return fail(rc) end
    return out[0]
  end

  function M.crystal_pdd_matrix(list)
    local p = pack(list, "pdd_matrix")
    local out = M.array_alloc("float64", {p.n, p.n})
    local rc = C.st_crystal_pdd_matrix(ctx, p.n, p.off, p.w, p.r, p.k, out.v.data)
    if rc ~= 0 then return fail(rc) end
    return out
  end

  function M.crystal_pdd_cross(la, lb)
    local a = pack(la, "pdd_cross: first list")
    local b = pack(lb, "pdd_cross: second list")
    if a.k ~= b.k then error(string.format("pdd_cross: PDDs of different k (%d and %d)", a.k, b.k), 2) end
    local out = M.array_alloc("float64", {a.n, b.n})
    local rc = C.st_crystal_pdd_cross(ctx, a.n, a.off, a.w, a.r, b.n, b.off, b.w, b.r, a.k, out.v.data)
    if rc ~= 0 then return fail(rc) end
    return out
  end

  function M.crystal_transport(A, B, Cost)
    local a, ka = dense(A, 1, "transport: supplies")
    local b, kb = dense(B, 1, "transport: demands")
    local c, kc = dense(Cost, 2, "transport: cost")
    local n1, n2 = tonumber(a.shape[0]), tonumber(b.shape[0])
    if tonumber(c.shape[0]) ~= n1 or tonumber(c.shape[1]) ~= n2 then
      error(string.format("transport: cost is %d x %d, expected %d x %d", tonumber(c.shape[0]), tonumber(c.shape[1]), n1, n2), 2)
    end
    local f, u, v = M.array_alloc("float64", {n1, n2}), M.array_alloc("float64", {n1}), M.array_alloc("float64", {n2})
    local value = ffi.new("double[1]")
    local rc = C.st_crystal_transport(ctx, n1, a.data, n2, b.data, c.data, f.v.data, u.v.data, v.v.data, value)
    local _ = {ka, kb, kc}
    if rc ~= 0 then return fail(rc) end
    return value[0], f, u, v
  end

  require "strata.ffi_ml" (M)
end
