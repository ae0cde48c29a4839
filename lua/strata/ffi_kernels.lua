-- strata.ffi_kernels: FFI versions of the kernel primitives of csrc/lua/kernels.c (neighbour
-- lists, kNN, QUESTS descriptor, entropy sums).  Called by strata.ffi_backend with its table.
local ffi = require "ffi"

return function(M)
  local C, P = M.C, M._private
  local ctx, fail, check, box_of = P.ctx, P.fail, P.check, P.box_of
  local V = M.V

  local function matrix_arg(a, what)
    local v = V(a, 3)
    if v.ndim ~= 2 then error(what .. ": expected a 2-d array (rows = environments), got " .. v.ndim .. "-d", 3) end
    if v.dtype == 0 and v.strides[1] == 1 and v.strides[0] >= v.shape[1] then return v, a end
    local c = M.array_alloc("float64", M.array_shape(a))
    M.array_copy(a, c)
    return c.v, c
  end
  local function ld_of(v) return v.shape[0] > 1 and v.strides[0] or v.shape[1] end

  local function bandwidths(h)
    if h == nil then h = {0.015} elseif type(h) == "number" then h = {h} end
    if #h < 1 or #h > 16 then error("bandwidths: give 1 to 16 values, got " .. #h, 3) end
    local arr = ffi.new("double[?]", #h)
    for i = 1, #h do
      if type(h[i]) ~= "number" then error("bandwidth " .. i .. " is not a number", 3) end
      arr[i - 1] = h[i]
    end
    return arr, #h
  end

  local METHODS = {auto = 0, dense = 1, pruned = 2, approx = 3, fast = 4}
  local MNAMES = {[0] = "auto", "dense", "pruned", "approx", "fast"}
  local function opts_of(t)
    local o, st = ffi.new("st_entropy_opts"), ffi.new("st_entropy_stats")
    o.stats = st
    if t then
      if t.method then
        o.method = METHODS[t.method] or error("bad method '" .. tostring(t.method) .. "' (auto, dense, pruned, approx, fast)", 3)
      end
      o.tol = t.tol or 0
      o.overlap_eps = t.eps or 0
      o.leaf_size = t.leaf_size or 0
    end
    return o, st
  end
  local function stats_of(s)
    return {pairs_total = s.pairs_total, pairs_computed = s.pairs_computed, pairs_neglected = s.pairs_neglected,
            pairs_approximated = s.pairs_approximated, seconds = s.seconds, error_bound = s.error_bound, method = MNAMES[s.method_used] or "?"}
  end
  local function list(arr, n)
    local t = {}
    for i = 1, n do t[i] = arr[i - 1] end
    return t
  end

  function M.entropy_compute(X, h, opts)
    local x, keep = matrix_arg(X, "entropy")
    local hh, nh = bandwidths(h)
    local o, st = opts_of(opts)
    local H, D = ffi.new("double[?]", nh), ffi.new("double[?]", nh)
    local rc = C.st_entropy_compute(ctx, x.data, x.shape[0], x.shape[1], ld_of(x), hh, nh, o, H, D)
    local _ = keep
    if rc ~= 0 then return fail(rc) end
    return list(H, nh), list(D, nh), stats_of(st)
  end

  function M.entropy_delta(Y, X, h, opts)
    local y, ky = matrix_arg(Y, "dH: test set")
    local x, kx = matrix_arg(X, "dH: reference set")
    local hh, nh = bandwidths(h)
    local o, st = opts_of(opts)
    local out = M.array_alloc("float64", {tonumber(y.shape[0]), nh})
    local rc = C.st_entropy_delta(ctx, y.data, y.shape[0], y.shape[1], ld_of(y), x.data, x.shape[0], x.shape[1],
                                  ld_of(x), hh, nh, o, out.v.data)
    local _ = {ky, kx}
    if rc ~= 0 then return fail(rc) end
    return out, stats_of(st)
  end

  function M.entropy_log_sums(X, Y, h, opts)
    local x, kx = matrix_arg(X, "kernel sums: set")
    local y, ky
    if Y ~= nil then y, ky = matrix_arg(Y, "kernel sums: queries") end
    local hh, nh = bandwidths(h)
    local o = opts_of(opts)
    local rows = y and tonumber(y.shape[0]) or tonumber(x.shape[0])
    local out = M.array_alloc("float64", {rows, nh})
    local rc = C.st_entropy_log_kernel_sums(ctx, x.data, x.shape[0], x.shape[1], ld_of(x), y and y.data or nil,
                                            y and y.shape[0] or 0, y and y.shape[1] or 0, y and ld_of(y) or 0,
                                            hh, nh, o, out.v.data)
    local _ = {kx, ky}
    if rc ~= 0 then return fail(rc) end
    return out
  end

  function M.entropy_overlap(Y, X, h, opts)
    local y, ky = matrix_arg(Y, "overlap: test set")
    local x, kx = matrix_arg(X, "overlap: reference set")
    local hh, nh = bandwidths(h)
    local o = opts_of(opts)
    local ov = ffi.new("double[?]", nh)
    local rc = C.st_entropy_overlap(ctx, y.data, y.shape[0], y.shape[1], ld_of(y), x.data, x.shape[0], x.shape[1],
                                    ld_of(x), hh, nh, o, ov)
    local _ = {ky, kx}
    if rc ~= 0 then return fail(rc) end
    return list(ov, nh)
  end

  function M.entropy_bandwidth(v)
    local h = ffi.new("double[1]")
    local rc = C.st_entropy_bandwidth(ctx, v, h)
    if rc ~= 0 then return fail(rc) end
    return h[0]
  end

  function M.quests(h, opts)
    local a = box_of(h)
    local o = ffi.new("st_quests_opts")
    local species
    if opts then
      o.k = opts.k or 0
      o.cutoff = opts.cutoff or 0
      o.species_gap = opts.species_gap or 0
      o.species_aware = opts.species_aware and 1 or 0
      if opts.species then
        species = ffi.new("int32_t[?]", #opts.species, opts.species)
        o.species, o.nspecies = species, #opts.species
      end
    end
    local dim = ffi.new("int64_t[1]")
    local n = C.st_atoms_count(a)
    check(C.st_quests_dim(ctx, o, n, C.st_atoms_numbers(a), dim), 2)
    local out = M.array_alloc("float64", {tonumber(n), tonumber(dim[0])})
    local rc = C.st_quests_frame(ctx, a, o, out.v.data)
    if rc ~= 0 then return fail(rc) end
    return out
  end

  function M.neighbor_list(h, cutoff, opts)
    local a = box_of(h)
    local o = ffi.new("st_nlist_opts")
    if opts then o.half = opts.half and 1 or 0; o.sorted = opts.sorted and 1 or 0 end
    local out = ffi.new("st_nlist *[1]")
    local rc = C.st_nlist_build(ctx, C.st_atoms_count(a), C.st_atoms_positions(a), C.st_atoms_cell(a),
                                C.st_atoms_pbc(a), cutoff, o, out)
    if rc ~= 0 then return fail(rc) end
    local nl = ffi.gc(out[0], C.st_nlist_destroy)
    local n, p = tonumber(C.st_nlist_natoms(nl)), tonumber(C.st_nlist_npairs(nl))
    local res = {}
    res.offsets = M.array_alloc("int64", {n + 1})
    ffi.copy(res.offsets.v.data, C.st_nlist_offsets(nl), (n + 1) * 8)
    res.index = M.array_alloc("int32", {p})
    ffi.copy(res.index.v.data, C.st_nlist_indices(nl), p * 4)
    res.shifts = M.array_alloc("int32", {p, 3})
    ffi.copy(res.shifts.v.data, C.st_nlist_shifts(nl), p * 12)
    if C.st_nlist_vectors(nl) ~= nil then
      res.vectors = M.array_alloc("float64", {p, 3})
      ffi.copy(res.vectors.v.data, C.st_nlist_vectors(nl), p * 24)
    end
    res.distances = M.array_alloc("float64", {p})
    ffi.copy(res.distances.v.data, C.st_nlist_distances(nl), p * 8)
    return res
  end

  function M.knn(h, k)
    local a = box_of(h)
    if k < 1 or k > 100000 then error("knn: k = " .. k .. " out of range 1..100000", 2) end
    local n = tonumber(C.st_atoms_count(a))
    local res = {index = M.array_alloc("int32", {n, k}), shifts = M.array_alloc("int32", {n, k, 3}),
                 distances = M.array_alloc("float64", {n, k}), found = M.array_alloc("int32", {n})}
    local rc = C.st_nlist_knn(ctx, n, C.st_atoms_positions(a), C.st_atoms_cell(a), C.st_atoms_pbc(a), k,
                              res.index.v.data, res.shifts.v.data, nil, res.distances.v.data, res.found.v.data)
    if rc ~= 0 then return fail(rc) end
    return res
  end

  -- ---- per-frame metrics and greedy frame selection (csrc/lua/entropy_extra.c) ----------------
  -- Frame offsets: a Lua table of 1-based first rows plus the sentinel rows + 1; frames come back
  -- 1-based.  Same behaviour and messages as the Lua 5.4 binding.
  local function offsets_arg(t)
    if type(t) ~= "table" then error("frame offsets: expected a table", 3) end
    if #t < 2 then error("frame offsets: need at least 2 entries (first rows + sentinel), got " .. #t, 3) end
    local o = ffi.new("int64_t[?]", #t)
    for i = 1, #t do
      local v = t[i]
      if type(v) ~= "number" or v % 1 ~= 0 then error("frame offsets: entry " .. i .. " is not an integer", 3) end
      o[i - 1] = v - 1
    end
    return o, #t - 1
  end
  local function kernel_opts(t)
    local o = ffi.new("st_entropy_opts")
    if t then
      if t.method then
        o.method = METHODS[t.method] or error("bad method '" .. tostring(t.method) .. "' (auto, dense, pruned, approx, fast)", 3)
      end
      o.tol = t.tol or 0
    end
    return o
  end
  local function rows_of(buf, nh, nf)
    local a = M.array_alloc("float64", {nh, nf})
    ffi.copy(a.v.data, buf, nh * nf * 8)
    return a
  end

  function M.entropy_frames(X, offsets, R, h, opts)
    local x, kx = matrix_arg(X, "entropy_frames: set")
    local off, nf = offsets_arg(offsets)
    local r, kr
    if R ~= nil then r, kr = matrix_arg(R, "entropy_frames: reference") end
    local hh, nh = bandwidths(h)
    local o = kernel_opts(opts)
    local H, D = ffi.new("double[?]", nh * nf), ffi.new("double[?]", nh * nf)
    local Mb = r and ffi.new("double[?]", nh * nf) or nil
    local rc = C.st_entropy_frames(ctx, x.data, x.shape[0], x.shape[1], ld_of(x), off, nf, r and r.data or nil,
                                   r and r.shape[0] or 0, r and r.shape[1] or 0, r and ld_of(r) or 0, hh, nh, o,
                                   H, D, Mb)
    local _ = {kx, kr}
    if rc ~= 0 then return fail(rc) end
    return rows_of(H, nh, nf), rows_of(D, nh, nf), Mb and rows_of(Mb, nh, nf) or nil
  end

  function M.entropy_select_frames(X, offsets, h, nselect, opts)
    local x, kx = matrix_arg(X, "entropy_select_frames: set")
    local off, nf = offsets_arg(offsets)
    if type(h) ~= "number" then error("bad argument #3 to 'entropy_select_frames' (number expected, got " .. type(h) .. ")", 2) end
    if type(nselect) ~= "number" or nselect % 1 ~= 0 then
      error("bad argument #4 to 'entropy_select_frames' (number has no integer representation)", 2)
    end
    local ko = kernel_opts(opts)
    local st = ffi.new("st_entropy_select_stats")
    local so = ffi.new("st_entropy_select_opts")
    so.kernel, so.stats = ko, st
    if opts and opts.max_evals then so.max_evals = opts.max_evals end
    if nselect < 0 or nselect > nf then
      error(string.format("entropy_select_frames: nselect = %d out of range 0..%d", nselect, nf), 2)
    end
    local order = ffi.new("int64_t[?]", math.max(nselect, 1))
    local Hp = ffi.new("double[?]", math.max(nselect, 1))
    local rc = C.st_entropy_select_frames(ctx, x.data, x.shape[0], x.shape[1], ld_of(x), off, nf, h, nselect, so,
                                          order, Hp)
    local _ = {kx, ko}
    if rc ~= 0 then return fail(rc) end
    local o, hp = {}, {}
    for i = 1, nselect do o[i] = tonumber(order[i - 1]) + 1; hp[i] = Hp[i - 1] end
    return o, hp, {evaluations = tonumber(st.evaluations), capped_steps = tonumber(st.capped_steps),
                   seconds = st.seconds}
  end
end
