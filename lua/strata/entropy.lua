-- strata.entropy: information entropy of atomic environments, the Lua API over the C kernels.
--
--   local E = require "strata.entropy"            -- or strata.entropy
--   local X, info = E.describe("train.xyz")       -- QUESTS rows (k = 32, rc = 5 Å), one per atom
--   local r = E.entropy(X, 0.015)                 -- {H=, D=, N=, lnN=, efficiency=}
--   local dH = E.delta(Y, X, 0.015)               -- per-environment dH(y | X), a 1-d array
--
-- Definitions (QUESTS: Schwalbe-Koda, Hamel, Sadigh, Zhou, Lordi, Nat. Commun. 16, 4014 (2025);
-- summary in ../shared/docs/quests-reference.md), natural logs, nats:
--   H = ln N - <ln p_i>, D = ln sum 1/p_i, dH(y|X) = -ln sum_j K(y, x_j),
--   efficiency = 100 H / ln N (%), information gap = H_max - H(N) with H_max from the fit
--   H(n) = a - b exp(-c (ln n)^2) over subset sizes n (a = H_max).
-- The kernel sums are C (csrc/entropy); this file composes them: descriptors per frame, per-frame
-- metrics, learning curves and their fit, frame selection (greedy entropy maximisation in C,
-- farthest-point and random baselines here), rank statistics for uncertainty checks (Spearman,
-- ROC AUC) and change-point flags on per-frame signals.  docs/entropy-recipes.md has worked
-- examples; the recipes entropy, dh, overlap, compress, learning-curve, phase, uq and tour use it.
--
-- Errors: wrong types, shapes and bad bandwidths raise (programming errors); unreadable or empty
-- files return nil, message.
-- Does not: compute gradients, choose k or the cutoff for you, or read descriptors from files
-- (give it frames); per-atom and per-pair work never runs in Lua.
-- Runs on Lua 5.4 and LuaJIT.
local B = require "strata.backend"
local array = require "strata.array"
local atoms = require "strata.atoms"
local sio = require "strata.io"

local M = {}
M.defaults = {k = 32, cutoff = 5.0, h = 0.015, eps = 1e-5}

local unpack = table.unpack or unpack
local function finite(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end
M.finite = finite

-- ---- argument checks ---------------------------------------------------------------------------

local function check_h(h, fn, level)
  if type(h) == "table" then
    if #h < 1 or #h > 16 then error(fn .. ": give 1 to 16 bandwidths, got " .. #h, level + 1) end
    for i = 1, #h do check_h(h[i], fn, level + 1) end
    return h
  end
  if not finite(h) or h <= 0 then
    error(string.format("%s: bandwidth h must be a finite number > 0 (1/Å for QUESTS rows), got %s",
                        fn, tostring(h)), level + 1)
  end
  return h
end

local function check_matrix(X, fn, what, level)
  if not array.is_array(X) then error(fn .. ": " .. what .. " must be a strata array (rows = environments), got " .. type(X), level + 1) end
  local s = X.shape
  if #s ~= 2 then error(fn .. ": " .. what .. " must be 2-d (rows = environments), got " .. #s .. "-d", level + 1) end
  return s[1], s[2]
end

local function same_columns(Y, X, fn, level)
  local _, dy = check_matrix(Y, fn, "test set", level + 1)
  local _, dx = check_matrix(X, fn, "reference set", level + 1)
  if dy ~= dx then
    error(string.format("%s: test descriptors have %d columns but the reference has %d " ..
                        "(computed with different k or species settings?)", fn, dy, dx), level + 1)
  end
end

-- ---- progress ----------------------------------------------------------------------------------

-- Progress lines: on when STRATA_PROGRESS=1, off when 0, else when stderr is a terminal (asked
-- of the host, or of libc through the FFI; failing both, when TERM is set and CI is not).
function M.progress_wanted()
  local env = os.getenv("STRATA_PROGRESS")
  if env == "1" then return true end
  if env == "0" then return false end
  local ok, host = pcall(require, "strata.host")
  if ok and type(host) == "table" and host.isatty then return host.isatty(2) and true or false end
  local okf, ffi = pcall(require, "ffi")   -- LuaJIT without the host: ask libc
  if okf then
    pcall(ffi.cdef, "int isatty(int fd);")
    local okc, r = pcall(function() return ffi.C.isatty(2) end)
    if okc then return r ~= 0 end
  end
  return os.getenv("TERM") ~= nil and os.getenv("TERM") ~= "dumb" and os.getenv("CI") == nil
end
local progress_on = false
--- Show progress of long single kernel calls on stderr (per-frame loops keep it off).
function M.set_progress(on) progress_on = on and true or false end
local function pack(...) return {n = select("#", ...), ...} end
local function with_progress(f, ...)
  if not progress_on then return f(...) end
  B.set_progress(true)
  local r = pack(pcall(f, ...))
  B.set_progress(false)
  if not r[1] then error(r[2], 0) end
  return unpack(r, 2, r.n)
end

-- ---- frames and descriptors --------------------------------------------------------------------

local function is_list_of_atoms(t)
  return type(t) == "table" and not atoms.is_atoms(t) and atoms.is_atoms(t[1])
end

--- Read frames from a path, a list of paths, an Atoms or a list of Atoms.
--- Returns frames, sources ({file=, index=} per frame) or nil, message.  An empty file and a
--- frame without atoms are errors that name the file and frame.
function M.load(src)
  if atoms.is_atoms(src) then return {src}, {{file = "<atoms>", index = 1}} end
  if is_list_of_atoms(src) then
    local s = {}
    for i = 1, #src do
      if not atoms.is_atoms(src[i]) then error("entropy.load: element " .. i .. " is not an Atoms", 2) end
      if #src[i] == 0 then return nil, string.format("<atoms>: frame %d has no atoms", i) end
      s[i] = {file = "<atoms>", index = i}
    end
    return src, s
  end
  local paths = type(src) == "string" and {src} or src
  if type(paths) ~= "table" or #paths == 0 then
    error("entropy.load: expected a path, a list of paths, an Atoms or a list of Atoms", 2)
  end
  local frames, sources = {}, {}
  for _, p in ipairs(paths) do
    if type(p) ~= "string" then error("entropy.load: expected paths (strings), got " .. type(p), 2) end
    local fr, err = sio.read(p)
    if not fr then return nil, err end
    if #fr == 0 then return nil, p .. ": no frames (empty file?)" end
    for i, at in ipairs(fr) do
      if #at == 0 then return nil, string.format("%s: frame %d has no atoms", p, i) end
      frames[#frames + 1] = at
      sources[#sources + 1] = {file = p, index = i}
    end
  end
  return frames, sources
end

--- Sorted list of the atomic numbers present in one or more lists of frames.
function M.species(...)
  local seen, out = {}, {}
  for _, frames in ipairs({...}) do
    for _, at in ipairs(frames) do
      local num = at.numbers
      for i = 1, #num do
        local z = num[i]
        if not seen[z] then seen[z] = true; out[#out + 1] = z end
      end
    end
  end
  table.sort(out)
  return out
end

-- Copy rows [i] of X (1-based list) into a new matrix (one C copy per row).
local function take_rows(X, idx)
  local d = X.shape[2]
  local Y = array.zeros({#idx, d})
  local st = X.strides[1]
  for r = 1, #idx do
    B.array_copy(B.array_view(X, (idx[r] - 1) * st, {d}, {1}), B.array_view(Y, (r - 1) * d, {d}, {1}))
  end
  return Y
end
M.take_rows = take_rows

--- Rows of the given frames (1-based frame indices) as a new matrix, and their offsets.
function M.frame_rows(X, info, frames)
  local n = 0
  for _, f in ipairs(frames) do n = n + info.counts[f] end
  local d = X.shape[2]
  local Y = array.zeros({n, d})
  local off, r = {1}, 0
  for k, f in ipairs(frames) do
    local c = info.counts[f]
    Y:slice({r + 1, r + c}):assign(X:slice({info.offsets[f], info.offsets[f] + c - 1}))
    r = r + c
    off[k + 1] = r + 1
  end
  return Y, off
end

--- Descriptors of every atom: describe(src[, opts]) -> X (N x d array), info.
--- src: as for load (paths, Atoms, lists), or frames already loaded.
--- opts: k (32), cutoff (5 Å), species_aware, species (atomic numbers; default: all present),
---       strict (fewer than k neighbours in a non-periodic frame is an error instead of a note),
---       progress (a function(done, total) called once per frame).
--- info: nframes, n, dim, offsets (1-based first row of each frame + sentinel n + 1), counts,
---       frames, sources, short_frames (non-periodic frames whose atoms have fewer than k
---       neighbours: missing slots are zero, as in QUESTS), min_neighbors, isolated (atoms with
---       no neighbour at all: all-zero rows), volume_per_atom (mean over fully periodic frames, Å^3,
---       or nil), k, cutoff, species.
function M.describe(src, opts)
  opts = opts or {}
  local frames, sources = M.load(src)
  if not frames then return nil, sources end
  local k, cutoff = opts.k or M.defaults.k, opts.cutoff or M.defaults.cutoff
  if type(k) ~= "number" or k % 1 ~= 0 or k < 1 or k > 1024 then
    error("entropy.describe: k must be an integer in 1..1024, got " .. tostring(k), 2)
  end
  if not finite(cutoff) or cutoff <= 0 then
    error("entropy.describe: cutoff must be a finite number > 0 (Å), got " .. tostring(cutoff), 2)
  end
  local species = opts.species
  if opts.species_aware and not species then species = M.species(frames) end
  local qopts = {k = k, cutoff = cutoff, species_aware = opts.species_aware and true or false,
                 species = opts.species_aware and species or nil, species_gap = opts.species_gap}
  local rows, counts, offsets, n = {}, {}, {1}, 0
  local short, min_nb, isolated = 0, math.huge, 0
  local vol, nvol = 0, 0
  -- The descriptor kernel hands out atoms in chunks of 256 per thread (docs/descriptors.md), so
  -- a frame of up to 256 atoms keeps one thread busy while the others wait at the region's
  -- barrier; on a loaded machine those waits cost more than the work (500 molecules: 5 s of CPU
  -- instead of 0.05).  Such frames run with one thread; the count is restored afterwards, also
  -- on errors.
  local nt = B.get_num_threads()
  local function quests(at)
    local small = #at <= 256 and nt > 1
    if small then B.set_num_threads(1) end
    local ok, X = pcall(B.quests, at:handle(), qopts)
    if small then B.set_num_threads(nt) end
    if not ok then error(X, 0) end
    return X
  end
  for i, at in ipairs(frames) do
    local X = quests(at)
    rows[i] = X
    local c = #at
    counts[i] = c
    n = n + c
    offsets[i + 1] = n + 1
    local pbc = at.pbc
    if not (pbc[1] or pbc[2] or pbc[3]) then
      -- a non-periodic frame gives each atom c - 1 neighbours
      if c - 1 < k then
        short = short + 1
        if c - 1 < min_nb then min_nb = c - 1 end
        if opts.strict then
          return nil, string.format("%s: frame %d: %d atoms, non-periodic: each environment has %d " ..
                                    "neighbours, fewer than k = %d", sources[i].file, sources[i].index,
                                    c, c - 1, k)
        end
      end
      if c == 1 then isolated = isolated + 1 end
    elseif pbc[1] and pbc[2] and pbc[3] then
      vol = vol + at:volume() / c
      nvol = nvol + 1
    end
    if opts.progress then opts.progress(i, #frames) end
  end
  local d = rows[1].shape[2]
  local X = array.zeros({n, d})
  for i, Xi in ipairs(rows) do X:slice({offsets[i], offsets[i + 1] - 1}):assign(Xi) end
  local info = {nframes = #frames, n = n, dim = d, offsets = offsets, counts = counts,
                frames = frames, sources = sources, short_frames = short,
                min_neighbors = short > 0 and min_nb or nil, isolated = isolated,
                volume_per_atom = nvol > 0 and vol / nvol or nil, k = k, cutoff = cutoff,
                species = species, species_aware = opts.species_aware and true or false}
  return X, info
end

-- ---- bandwidth ---------------------------------------------------------------------------------

--- QUESTS bandwidth rule from the volume per atom V (Å^3): h = 0.0897141 exp(-0.5 (V/10.896)^2)
--- + 0.0119417 (1/Å).
function M.bandwidth(volume_per_atom)
  if not finite(volume_per_atom) or volume_per_atom <= 0 then
    error("entropy.bandwidth: volume per atom must be a finite number > 0 (Å^3), got " .. tostring(volume_per_atom), 2)
  end
  return B.entropy_bandwidth(volume_per_atom)
end

--- Parse a --bandwidth value: a number > 0, or "auto".  Returns the value or nil, message.
function M.parse_bandwidth(s)
  if s == nil then return M.defaults.h end
  if s == "auto" then return "auto" end
  local v = tonumber(s)
  if not finite(v) then return nil, string.format("expected a number > 0 or 'auto', got '%s'", tostring(s)) end
  if v <= 0 then return nil, string.format("bandwidth must be > 0 (1/Å), got %s", tostring(s)) end
  return v
end

--- A bandwidth for a described set: a number stays; "auto" applies the QUESTS rule to the mean
--- volume per atom of the fully periodic frames.  Returns h or nil, message.
function M.resolve_bandwidth(h, info)
  if h ~= "auto" then return check_h(h, "entropy", 2) end
  if not info.volume_per_atom then
    return nil, "bandwidth 'auto' needs fully periodic frames (a volume per atom); give a number"
  end
  return M.bandwidth(info.volume_per_atom)
end

-- ---- metrics -----------------------------------------------------------------------------------

local function kernel_opts(opts)
  opts = opts or {}
  return {method = opts.method, tol = opts.tol, eps = opts.eps}
end

local function result_of(H, D, n, h, st)
  local lnN = math.log(n)
  return {H = H, D = D, N = n, lnN = lnN, h = h,
          efficiency = n > 1 and 100 * H / lnN or nil,   -- 0/0 for one environment: undefined
          method = st and st.method, seconds = st and st.seconds}
end

--- Entropy and diversity of a set: entropy(X[, h[, opts]]) -> {H, D, N, lnN, efficiency, h}.
--- h: a number (default 0.015) or a list (then a list of results).  opts: method (auto, dense,
--- pruned, approx, fast), tol.  One environment gives H = D = 0 and efficiency nil (0/0).
function M.entropy(X, h, opts)
  local n = check_matrix(X, "entropy", "X", 2)
  if n == 0 then error("entropy: X has no rows (entropy of an empty set is undefined)", 2) end
  h = check_h(h or M.defaults.h, "entropy", 2)
  local H, D, st = with_progress(B.entropy_compute, X, h, kernel_opts(opts))
  if not H then error(D, 2) end
  if type(h) == "number" then return result_of(H[1], D[1], n, h, st) end
  local out = {}
  for i = 1, #h do out[i] = result_of(H[i], D[i], n, h[i], st) end
  return out
end

--- Differential entropy of each row of Y against X: delta(Y, X[, h[, opts]]) -> 1-d array (one
--- value per row of Y), stats.  dH > 0 reads as extrapolation.  An empty X raises; an empty Y
--- gives an empty array.
function M.delta(Y, X, h, opts)
  same_columns(Y, X, "dH", 2)
  if X.shape[1] == 0 then error("dH: the reference set is empty (dH would be +inf)", 2) end
  h = check_h(h or M.defaults.h, "dH", 2)
  if type(h) == "table" then error("dH: give one bandwidth (a number)", 2) end
  local m = Y.shape[1]
  if m == 0 then return array.zeros({0}), {} end
  local out, st = with_progress(B.entropy_delta, Y, X, h, kernel_opts(opts))
  if not out then error(st, 2) end
  return out:reshape(m), st
end

--- Overlap of Y with X: the fraction of rows y with dH(y|X) < eps (default 1e-5).
function M.overlap(Y, X, h, opts)
  same_columns(Y, X, "overlap", 2)
  if X.shape[1] == 0 or Y.shape[1] == 0 then error("overlap: both sets must have rows", 2) end
  h = check_h(h or M.defaults.h, "overlap", 2)
  if opts and opts.eps == 0 then   -- the C options read 0 as "default 1e-5"; here 0 means 0
    local dH = M.delta(Y, X, h, opts)
    return dH:lt(0):sum() / Y.shape[1]
  end
  local ov, err = with_progress(B.entropy_overlap, Y, X, h, kernel_opts(opts))
  if not ov then error(err, 2) end
  return ov[1]
end

--- Per-frame metrics: per_frame(X, info, h[, opts]) -> {H={...}, D={...}, N={...},
--- efficiency={...}, mean_dH={...} (only with opts.ref, a reference matrix)}.
--- info: from describe (or a table with `offsets`).  Frames are independent sets.
function M.per_frame(X, info, h, opts)
  opts = opts or {}
  check_matrix(X, "per_frame", "X", 2)
  h = check_h(h or M.defaults.h, "per_frame", 2)
  if type(h) == "table" then error("per_frame: give one bandwidth (a number)", 2) end
  local ref = opts.ref
  if ref then same_columns(X, ref, "per_frame", 2) end
  local Ha, Da, Ma = B.entropy_frames(X, info.offsets, ref, h, kernel_opts(opts))
  if not Ha then error(Da, 2) end
  local res = {H = Ha:totable()[1], D = Da:totable()[1], N = {}, efficiency = {}}
  if Ma then res.mean_dH = Ma:totable()[1] end
  for f = 1, #info.offsets - 1 do
    local n = info.offsets[f + 1] - info.offsets[f]
    res.N[f] = n
    res.efficiency[f] = n > 1 and 100 * res.H[f] / math.log(n) or nil
  end
  return res
end

-- ---- summaries ---------------------------------------------------------------------------------

local function tolist(v, fn)
  if array.is_array(v) then return v:flat() end
  if type(v) ~= "table" then error(fn .. ": expected an array or a list of numbers, got " .. type(v), 3) end
  return v
end

-- Quantile of sorted values (linear interpolation between order statistics, numpy's default).
local function quantile_sorted(s, q)
  local n = #s
  if n == 0 then return nil end
  local pos = 1 + (n - 1) * q
  local lo = math.floor(pos)
  local frac = pos - lo
  if lo >= n then return s[n] end
  return s[lo] + frac * (s[lo + 1] - s[lo])
end
M.quantile_sorted = quantile_sorted

--- Summary statistics of numbers: {n, mean, std (population), min, q05, q25, median, q75, q95,
--- max}; threshold given: also above = fraction of values > threshold.
function M.summary(v, threshold)
  local t = tolist(v, "summary")
  local s, n = {}, #t
  for i = 1, n do s[i] = t[i] end
  table.sort(s)
  local res = {n = n}
  if n == 0 then return res end
  local sum, c = 0, 0
  for i = 1, n do  -- Kahan: means of 10^6 values
    local y = s[i] - c
    local tt = sum + y
    c = (tt - sum) - y
    sum = tt
  end
  local mean = sum / n
  local var = 0
  for i = 1, n do var = var + (s[i] - mean) ^ 2 end
  res.mean, res.std, res.min, res.max = mean, math.sqrt(var / n), s[1], s[n]
  res.q05, res.q25, res.median = quantile_sorted(s, 0.05), quantile_sorted(s, 0.25), quantile_sorted(s, 0.5)
  res.q75, res.q95 = quantile_sorted(s, 0.75), quantile_sorted(s, 0.95)
  if threshold then
    local above = 0
    for i = 1, n do if s[i] > threshold then above = above + 1 end end
    res.threshold, res.above = threshold, above / n
  end
  return res
end

-- ---- learning curve ----------------------------------------------------------------------------

--- Fit H(n) = a - b exp(-c (ln n)^2) to points (n_i, H_i) by least squares.  For fixed c the model
--- is linear in (a, b), so c alone is searched (a log grid, then golden section on ln c): the
--- variable-projection method (Golub & Pereyra, SIAM J. Numer. Anal. 10, 413 (1973)).
--- Returns {a, b, c, H_max = a, rmse} or nil, message (fewer than 3 distinct sizes).
function M.fit_learning_curve(ns, Hs)
  local n = #ns
  if n ~= #Hs then error("fit_learning_curve: " .. n .. " sizes but " .. #Hs .. " values", 2) end
  local distinct = {}
  local nd = 0
  for i = 1, n do
    if not finite(ns[i]) or ns[i] < 1 or not finite(Hs[i]) then
      error("fit_learning_curve: point " .. i .. " is not a finite size >= 1 and value", 2)
    end
    if not distinct[ns[i]] then distinct[ns[i]] = true; nd = nd + 1 end
  end
  if nd < 3 then return nil, "the fit needs at least 3 distinct subset sizes, got " .. nd end
  local L2 = {}
  for i = 1, n do L2[i] = math.log(ns[i]) ^ 2 end
  local function solve(c)  -- linear least squares for H = a + beta g, g = exp(-c L2), b = -beta
    local sg, sgg, sh, sgh = 0, 0, 0, 0
    for i = 1, n do
      local g = math.exp(-c * L2[i])
      sg, sgg, sh, sgh = sg + g, sgg + g * g, sh + Hs[i], sgh + g * Hs[i]
    end
    local det = n * sgg - sg * sg
    local a, beta
    if math.abs(det) < 1e-300 then a, beta = sh / n, 0
    else
      a = (sgg * sh - sg * sgh) / det
      beta = (n * sgh - sg * sh) / det
    end
    local r2 = 0
    for i = 1, n do r2 = r2 + (a + beta * math.exp(-c * L2[i]) - Hs[i]) ^ 2 end
    return r2, a, -beta
  end
  local best_t, best_r = nil, math.huge
  for j = 0, 160 do   -- ln c on a grid over c in [1e-6, 1e2]
    local t = math.log(1e-6) + j * (math.log(1e2) - math.log(1e-6)) / 160
    local r = solve(math.exp(t))
    if r < best_r then best_r, best_t = r, t end
  end
  local step = (math.log(1e2) - math.log(1e-6)) / 160
  local lo, hi = best_t - step, best_t + step
  local gr = (math.sqrt(5) - 1) / 2
  local x1, x2 = hi - gr * (hi - lo), lo + gr * (hi - lo)
  local f1, f2 = solve(math.exp(x1)), solve(math.exp(x2))
  for _ = 1, 200 do
    if hi - lo < 1e-12 then break end
    if f1 < f2 then hi, x2, f2 = x2, x1, f1; x1 = hi - gr * (hi - lo); f1 = solve(math.exp(x1))
    else lo, x1, f1 = x1, x2, f2; x2 = lo + gr * (hi - lo); f2 = solve(math.exp(x2)) end
  end
  local c = math.exp((lo + hi) / 2)
  local r2, a, b = solve(c)
  return {a = a, b = b, c = c, H_max = a, rmse = math.sqrt(r2 / n)}
end

--- Value of the fitted curve at n.
function M.learning_curve_value(fit, n) return fit.a - fit.b * math.exp(-fit.c * math.log(n) ^ 2) end

-- A seeded random permutation of 1..n (Fisher-Yates on strata's portable generator).
local function permutation(n, rng)
  local p = {}
  for i = 1, n do p[i] = i end
  for i = n, 2, -1 do
    local j = math.floor(rng:uniform() * i) + 1
    if j > i then j = i end
    p[i], p[j] = p[j], p[i]
  end
  return p
end
M.permutation = permutation

--- Entropy of random subsets of environments: learning_curve(X[, opts]) ->
--- {sizes={...}, H={...} (mean over repeats), H_std={...}, H_full, N, fit, H_max, gap}.
--- opts: h, sizes (list; default `points` log-spaced sizes from 10 (2 when N < 40) to N), points (12),
--- repeats (3), seed (1), method, tol, progress (function(done, total)).  Subsets of one repeat
--- are nested (prefixes of one random permutation), so each curve is monotone in content.
--- gap = H_max - H(N) (the information gap); nil when the fit fails (fit_error says why).
function M.learning_curve(X, opts)
  opts = opts or {}
  local N = check_matrix(X, "learning_curve", "X", 2)
  if N < 1 then error("learning_curve: X has no rows", 2) end
  local h = check_h(opts.h or M.defaults.h, "learning_curve", 2)
  local sizes = opts.sizes
  if not sizes then
    sizes = {}
    local points = opts.points or 12
    local lo = N >= 40 and 10 or math.min(2, N)   -- small sets: start at 2 to get several sizes
    for i = 0, points - 1 do
      local s = points == 1 and N or math.floor(math.exp(math.log(lo) + i * (math.log(N) - math.log(lo)) / (points - 1)) + 0.5)
      if #sizes == 0 or s > sizes[#sizes] then sizes[#sizes + 1] = s end
    end
  end
  for i, s in ipairs(sizes) do
    if type(s) ~= "number" or s % 1 ~= 0 or s < 1 or s > N then
      error("learning_curve: size " .. i .. " = " .. tostring(s) .. " out of range 1.." .. N, 2)
    end
  end
  local repeats = opts.repeats or 3
  local rng = array.rng(opts.seed or 1)
  local kopt = kernel_opts(opts)
  local acc = {}
  for i = 1, #sizes do acc[i] = {} end
  local total, done = repeats * #sizes, 0
  for _ = 1, repeats do
    local P = take_rows(X, permutation(N, rng))
    for i, s in ipairs(sizes) do
      local H = B.entropy_compute(P:slice({1, s}), h, kopt)
      acc[i][#acc[i] + 1] = H[1]
      done = done + 1
      if opts.progress then opts.progress(done, total) end
    end
  end
  local res = {sizes = sizes, H = {}, H_std = {}, N = N, repeats = repeats, h = h}
  local fn, fH = {}, {}
  for i = 1, #sizes do
    local s = M.summary(acc[i])
    res.H[i], res.H_std[i] = s.mean, s.std
    for _, v in ipairs(acc[i]) do fn[#fn + 1] = sizes[i]; fH[#fH + 1] = v end
  end
  local Hfull = B.entropy_compute(X, h, kopt)
  res.H_full = Hfull[1]
  local fit, err = M.fit_learning_curve(fn, fH)
  res.fit, res.fit_error = fit, err
  if fit then
    res.H_max = fit.H_max
    res.gap = fit.H_max - res.H_full
  end
  return res
end

-- ---- frame selection (compression) -------------------------------------------------------------

--- Mean descriptor of each frame (nframes x d), the frame feature used by farthest-point sampling.
function M.frame_means(X, info)
  local F = array.zeros({info.nframes, X.shape[2]})
  for f = 1, info.nframes do
    F:slice(f):assign(X:slice({info.offsets[f], info.offsets[f + 1] - 1}):mean(1))
  end
  return F
end

-- Farthest-point sampling on rows of F (Gonzalez 1985): start at the row farthest from the mean,
-- then repeatedly the row farthest from everything picked (Euclidean).
local function fps(F, nsel)
  local n = F.shape[1]
  local mean = F:mean(1)
  local d2 = (F - mean):square():sum(2)
  local order = {}
  local picked = {}
  local first = d2:argmax()
  local mind
  for s = 1, nsel do
    local f
    if s == 1 then f = first
    else
      f = mind:argmax()
      if picked[f] then  -- every remaining frame duplicates a picked one: take the first unpicked
        for g = 1, n do if not picked[g] then f = g; break end end
      end
    end
    order[s] = f
    picked[f] = true
    local dist = (F - F:slice(f)):square():sum(2)
    if mind then B.array_binary(5, mind, dist, mind) else mind = dist end  -- 5 = elementwise min
    B.array_set(mind, f, -1)   -- never pick again
  end
  return order
end
M.fps = fps

--- Number of frames from a size spec: an integer >= 1 (frames), a fraction in (0, 1), or "N%".
--- Returns n or nil, message.
function M.parse_size(spec, nframes)
  local s = tostring(spec)
  local pct = s:match("^%s*([%d.eE+-]+)%%%s*$")
  local v = tonumber(pct or s)
  if not finite(v) then return nil, string.format("expected a frame count, a fraction in (0, 1) or N%%, got '%s'", s) end
  if pct then v = v / 100 end
  local n
  if pct or (v > 0 and v < 1) then
    if v <= 0 or v > 1 then return nil, string.format("fraction %s out of range (0, 1]", s) end
    n = math.max(1, math.floor(v * nframes + 0.5))
  else
    if v % 1 ~= 0 or v < 1 then return nil, string.format("frame count must be an integer >= 1, got '%s'", s) end
    n = v
  end
  if n > nframes then return nil, string.format("size %s is more than the %d frames available", s, nframes) end
  return n
end

--- Select frames: compress(X, info, n[, opts]) -> {frames = {1-based, in pick order}, method,
--- H_path (greedy: H after each pick), stats}.
--- opts.method: "greedy" (entropy-maximising, csrc/entropy/select.c), "fps" (farthest points on
--- frame-mean descriptors), "random" (seeded); h, seed, max_evals, kernel method/tol.
function M.compress(X, info, n, opts)
  opts = opts or {}
  check_matrix(X, "compress", "X", 2)
  local method = opts.method or "greedy"
  if type(n) ~= "number" or n % 1 ~= 0 or n < 0 or n > info.nframes then
    error("compress: n = " .. tostring(n) .. " must be an integer in 0.." .. info.nframes, 2)
  end
  local res = {method = method}
  if method == "greedy" then
    local h = check_h(opts.h or M.defaults.h, "compress", 2)
    local order, Hp, st = with_progress(B.entropy_select_frames, X, info.offsets, h, n,
                                        {method = opts.kernel_method, tol = opts.tol, max_evals = opts.max_evals})
    if not order then error(Hp, 2) end
    res.frames, res.H_path, res.stats = order, Hp, st
  elseif method == "fps" then
    res.frames = n > 0 and fps(M.frame_means(X, info), n) or {}
  elseif method == "random" then
    local p = permutation(info.nframes, array.rng(opts.seed or 1))
    res.frames = {unpack(p, 1, n)}
  else
    error("compress: unknown method '" .. tostring(method) .. "' (greedy, fps, random)", 2)
  end
  return res
end

-- ---- rank statistics (uncertainty checks) ------------------------------------------------------

--- Ranks 1..n with ties given their average rank.
function M.ranks(v)
  local t = tolist(v, "ranks")
  local n = #t
  local idx = {}
  for i = 1, n do
    if not finite(t[i]) then error("ranks: value " .. i .. " is not finite (" .. tostring(t[i]) .. ")", 2) end
    idx[i] = i
  end
  table.sort(idx, function(a, b) if t[a] ~= t[b] then return t[a] < t[b] end return a < b end)
  local r = {}
  local i = 1
  while i <= n do
    local j = i
    while j < n and t[idx[j + 1]] == t[idx[i]] do j = j + 1 end
    local avg = (i + j) / 2
    for q = i, j do r[idx[q]] = avg end
    i = j + 1
  end
  return r
end

local function pearson(x, y)
  local n = #x
  local mx, my = 0, 0
  for i = 1, n do mx = mx + x[i]; my = my + y[i] end
  mx, my = mx / n, my / n
  local sxy, sxx, syy = 0, 0, 0
  for i = 1, n do
    local a, b = x[i] - mx, y[i] - my
    sxy, sxx, syy = sxy + a * b, sxx + a * a, syy + b * b
  end
  if sxx == 0 or syy == 0 then return nil, "a constant series has no rank correlation" end
  return sxy / math.sqrt(sxx * syy)
end
M.pearson = pearson

--- Spearman's rank correlation (Pearson correlation of average ranks).  nil, message when it is
--- undefined (fewer than 2 values, or a constant series).
function M.spearman(x, y)
  local a, b = tolist(x, "spearman"), tolist(y, "spearman")
  if #a ~= #b then error("spearman: " .. #a .. " and " .. #b .. " values", 2) end
  if #a < 2 then return nil, "spearman needs at least 2 pairs, got " .. #a end
  return pearson(M.ranks(a), M.ranks(b))
end

--- Area under the ROC curve of `scores` for binary `labels` (true/false or 1/0): the probability
--- that a random positive scores above a random negative, ties counting 1/2 (Mann-Whitney U /
--- (P N); Hanley & McNeil, Radiology 143, 29 (1982)).  nil, message without both classes.
function M.roc_auc(scores, labels)
  local s, l = tolist(scores, "roc_auc"), tolist(labels, "roc_auc")
  if #s ~= #l then error("roc_auc: " .. #s .. " scores but " .. #l .. " labels", 2) end
  local r = M.ranks(s)
  local P, sum = 0, 0
  for i = 1, #s do
    local pos = l[i] == true or l[i] == 1
    if pos then P = P + 1; sum = sum + r[i] end
  end
  local Nn = #s - P
  if P == 0 or Nn == 0 then
    return nil, string.format("ROC AUC needs positives and negatives (got %d positives, %d negatives)", P, Nn)
  end
  return (sum - P * (P + 1) / 2) / (P * Nn)
end

--- Labels marking the largest `fraction` (default 0.1) of values: value >= the (1 - fraction)
--- quantile (so ties at the boundary are all positive).  Returns labels, threshold.
function M.top_fraction(v, fraction)
  local t = tolist(v, "top_fraction")
  fraction = fraction or 0.1
  if not finite(fraction) or fraction <= 0 or fraction >= 1 then
    error("top_fraction: fraction must be in (0, 1), got " .. tostring(fraction), 2)
  end
  local s = {}
  for i = 1, #t do s[i] = t[i] end
  table.sort(s)
  local k = math.max(1, math.ceil(fraction * #s))
  local thr = s[#s - k + 1]
  local lab = {}
  for i = 1, #t do lab[i] = t[i] >= thr end
  return lab, thr
end

-- ---- change points -----------------------------------------------------------------------------

local function median(list)
  local s = {}
  for i = 1, #list do s[i] = list[i] end
  table.sort(s)
  return quantile_sorted(s, 0.5)
end

--- Flags frames where a per-frame signal jumps: change_points(series[, opts]) ->
--- {flags = {frames}, events = {{frame=, z=, from=, to=, kind=}}, z = {...}, diff = {...}}.
--- Rule: the first difference d_t = s_t - s_(t-1) is compared with the running median and MAD
--- (median absolute deviation, scaled by 1.4826 to estimate a standard deviation for Gaussian
--- noise) of the differences in a window of `window` frames on each side of t, t itself left
--- out; z_t = (d_t - median) / max(MAD, MAD_global, 1e-12 (1 + |s|_max)) -- the global MAD
--- (over all differences) is a floor because a MAD from a few frames is itself noisy and would
--- raise false flags in quiet stretches; the local one takes over where the signal is noisier
--- (e.g. a hotter part of a trajectory), the running median absorbs slow drifts.  Frames with
--- |z_t| >= threshold (default 5) are flagged (the first frame after the jump); runs of
--- consecutive flags (from .. to) form one event with the run's largest |z|.  With m_b the
--- median of the `window` frames before the run and A the largest |s_u - m_b| in the run, the
--- event sits at the first frame of the run with |s_u - m_b| >= A/2, and it is a "step" when at
--- least half of the excursion persists, |median(s[to .. to+window-1]) - m_b| >= A/2 (a
--- transition, a defect that stays), else a "spike" (a one-frame excursion, which also flags the
--- next frame on the way back).  Signals with a
--- degenerate spread (e.g. H of a small molecule sitting at ln N with rare dips) give many
--- spikes: read the steps first.
--- opts: window (10), threshold (5).  Fewer than 3 frames: nothing flagged.
--- Also returns steps = {frames of step events}, spikes = {frames of spike events}.
function M.change_points(series, opts)
  opts = opts or {}
  local s = tolist(series, "change_points")
  local T = #s
  local w = opts.window or 10
  local thr = opts.threshold or 5
  if type(w) ~= "number" or w < 1 or w % 1 ~= 0 then error("change_points: window must be an integer >= 1", 2) end
  if not finite(thr) or thr <= 0 then error("change_points: threshold must be > 0", 2) end
  local res = {flags = {}, events = {}, steps = {}, spikes = {}, z = {}, diff = {}, window = w, threshold = thr}
  for t = 1, T do
    if not finite(s[t]) then error("change_points: value " .. t .. " is not finite", 2) end
  end
  if T < 3 then
    for t = 1, T do res.z[t] = 0; res.diff[t] = 0 end
    return res
  end
  local d = {}
  local smax = 0
  for t = 1, T do if math.abs(s[t]) > smax then smax = math.abs(s[t]) end end
  for t = 2, T do d[t] = s[t] - s[t - 1] end
  local all = {}
  for t = 2, T do all[#all + 1] = d[t] end
  local gmed = median(all)
  local dev = {}
  for i = 1, #all do dev[i] = math.abs(all[i] - gmed) end
  local gmad = 1.4826 * median(dev)
  local floor = math.max(gmad, 1e-12 * (1 + smax))
  res.z[1], res.diff[1] = 0, 0
  for t = 2, T do
    local win = {}
    for u = math.max(2, t - w), math.min(T, t + w) do
      if u ~= t then win[#win + 1] = d[u] end
    end
    local med, sig
    if #win == 0 then med, sig = gmed, math.max(gmad, floor)
    else
      med = median(win)
      local dv = {}
      for i = 1, #win do dv[i] = math.abs(win[i] - med) end
      sig = math.max(1.4826 * median(dv), floor)
    end
    local z = (d[t] - med) / sig
    res.z[t], res.diff[t] = z, d[t]
    if math.abs(z) >= thr then res.flags[#res.flags + 1] = t end
  end
  local i = 1
  while i <= #res.flags do
    local j = i
    while j < #res.flags and res.flags[j + 1] == res.flags[j] + 1 do j = j + 1 end
    local from, to = res.flags[i], res.flags[j]
    local best = from
    for q = i, j do if math.abs(res.z[res.flags[q]]) > math.abs(res.z[best]) then best = res.flags[q] end end
    local before, after = {}, {}
    for u = math.max(1, from - w), from - 1 do before[#before + 1] = s[u] end
    for u = to, math.min(T, to + w - 1) do after[#after + 1] = s[u] end
    local mb = median(before)
    local A = 0                       -- the largest excursion from the level before, in the run
    for u = from, to do A = math.max(A, math.abs(s[u] - mb)) end
    local at = from                   -- the event's frame: the first reaching half of it
    for u = to, from, -1 do if math.abs(s[u] - mb) >= 0.5 * A then at = u end end
    local kind = math.abs(median(after) - mb) >= 0.5 * A and "step" or "spike"
    res.events[#res.events + 1] = {frame = at, z = res.z[best], from = from, to = to, kind = kind}
    local list = kind == "step" and res.steps or res.spikes
    list[#list + 1] = at
    i = j + 1
  end
  return res
end

-- ---- per-atom force errors ---------------------------------------------------------------------

--- Per-atom force error |F_pred - F_ref| (eV/Å) of the frames, concatenated, or nil, message
--- naming the first frame without one of the arrays (or with a wrong shape).
function M.force_errors(frames, ref_name, pred_name)
  local out = {}
  for f, at in ipairs(frames) do
    local R, P = at.arrays[ref_name], at.arrays[pred_name]
    if not R or not P then
      local names = {}
      for _, a in ipairs(B.atoms_arrays(at:handle())) do names[#names + 1] = a.name end
      return nil, string.format("frame %d has no per-atom array '%s' (arrays: %s)", f,
                                not R and ref_name or pred_name, table.concat(names, ", "))
    end
    local sr, sp = R.shape, P.shape
    if #sr ~= 2 or sr[2] ~= 3 or #sp ~= 2 or sp[2] ~= 3 then
      return nil, string.format("frame %d: force arrays '%s' and '%s' must have 3 columns", f, ref_name, pred_name)
    end
    local e = (P - R):square():sum(2):sqrt():flat()
    for i = 1, #e do out[#out + 1] = e[i] end
  end
  return out
end

-- ---- synthetic structures (tour, examples, tests) ----------------------------------------------

M.demo = {}

--- An fcc crystal: demo.fcc{symbol="Cu", a=3.61 (Å), cells={3,3,3}, sigma=0 (Å, Gaussian noise
--- per coordinate), rng=strata.rng(seed), vacancy=i (remove atom i), vacuum=0 (Å added along c;
--- > 0 makes a slab: non-periodic along c)}.  Returns an Atoms.
function M.demo.fcc(o)
  o = o or {}
  local a = o.a or 3.61
  local c = o.cells or {3, 3, 3}
  local basis = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}}
  local pos, sym = {}, {}
  for i = 0, c[1] - 1 do
    for j = 0, c[2] - 1 do
      for k = 0, c[3] - 1 do
        for _, b in ipairs(basis) do
          pos[#pos + 1] = {(i + b[1]) * a, (j + b[2]) * a, (k + b[3]) * a}
          sym[#sym + 1] = o.symbol or "Cu"
        end
      end
    end
  end
  local vac = o.vacuum or 0
  local at = atoms.new{symbols = sym, positions = pos, cell = {c[1] * a, c[2] * a, c[3] * a + vac},
                       pbc = vac > 0 and {true, true, false} or true}
  if (o.sigma or 0) > 0 then
    local noise = array.randn({#pos, 3}, o.rng or array.rng(1)) * o.sigma
    at.positions = at.positions + noise
  end
  if o.vacancy then
    local keep = {}
    for i = 1, #pos do if i ~= o.vacancy then keep[#keep + 1] = i end end
    at = at:take(keep)
  end
  return at
end

-- Morse pair potential for Cu (Girifalco & Weizer, Phys. Rev. 114, 687 (1959)):
-- phi(r) = D (exp(-2 alpha (r - r0)) - 2 exp(-alpha (r - r0))).
M.demo.morse_cu = {D = 0.3429, alpha = 1.3588, r0 = 2.866, cutoff = 5.0}

--- Pair forces (eV/Å) on every atom: F_i = sum_j phi'(r_ij) (r_j - r_i)/r_ij over a full
--- neighbour list within `cutoff`, all in array operations (the per-pair sum is a product with the
--- atom-by-pair incidence matrix, made by one broadcast comparison; fine for demo-sized frames).
--- cutoff defaults to the potential's (5 Å).  A short cutoff (e.g. 3 Å: nearest neighbours only
--- in fcc Cu) is the tour's stand-in for a short-ranged fitted model: exact where symmetry cancels
--- the missing shells (the perfect crystal), wrong in proportion to distortions and defects.
function M.demo.pair_forces(at, cutoff, p)
  p = p or M.demo.morse_cu
  cutoff = cutoff or p.cutoff
  local n = #at
  local nl = B.neighbor_list(at:handle(), cutoff, {})
  local P = nl.distances.shape[1]
  if P == 0 then return array.zeros({n, 3}) end
  local r = nl.distances
  -- phi'(r) = 2 D alpha (exp(-alpha (r - r0)) - exp(-2 alpha (r - r0)))
  local e1 = ((r - p.r0) * -p.alpha):exp()
  local g = (e1 - e1:square()) * (2 * p.D * p.alpha)
  local coef = (g / r):reshape(P, 1)
  local fp = nl.vectors * coef                                   -- P x 3
  local center = array.zeros({P})
  local off = nl.offsets:flat()
  for i = 1, n do
    if off[i + 1] > off[i] then center:slice({off[i] + 1, off[i + 1]}):fill(i) end
  end
  local inc = array.arange(1, n):reshape(n, 1):eq(center:reshape(1, P)):astype("float64")
  return inc:matmul(fp)
end

-- ---- recipe helpers (shared by recipes/entropy, dh, overlap, compress, ...) --------------------

local R = {}
M.recipe = R

local function cli() return require "strata.cli" end
local function util() return require "strata.util" end

--- Options every entropy recipe takes, then `extra`.
function R.options(extra)
  local o = {
    { name = "k", type = "int", default = M.defaults.k, help = "neighbours per environment (QUESTS k)" },
    { name = "cutoff", type = "number", default = M.defaults.cutoff, metavar = "RC",
      help = "cutoff radius of the QUESTS weight, Å" },
    { name = "bandwidth", short = "b", default = tostring(M.defaults.h), metavar = "H|auto",
      help = "kernel bandwidth h, 1/Å; 'auto' = QUESTS rule from the volume per atom" },
    { name = "species-aware", type = "flag", help = "species-aware descriptor (default: element-agnostic)" },
    { name = "kernel", type = "choice", values = {"auto", "dense", "pruned", "approx", "fast"}, default = "auto",
      help = "kernel-sum method (docs/entropy.md; approx: sums within 1e-6, fast: float32, ~1e-4)" },
    { name = "quiet", short = "q", type = "flag", help = "no progress lines on stderr" },
  }
  for _, e in ipairs(extra or {}) do o[#o + 1] = e end
  return o
end

--- Check the common options; returns settings {k, cutoff, h, method, species_aware, quiet}.
function R.setup(recipe, opts)
  local c = cli()
  if opts.k < 1 or opts.k > 1024 then c.usage_error(recipe, "option '--k': must be in 1..1024, got %d", opts.k) end
  if not finite(opts.cutoff) or opts.cutoff <= 0 then
    c.usage_error(recipe, "option '--cutoff': must be a finite number > 0 (Å), got %s", tostring(opts.cutoff))
  end
  local h, err = M.parse_bandwidth(opts.bandwidth)
  if not h then c.usage_error(recipe, "option '--bandwidth': %s", err) end
  M.set_progress(not opts.quiet and M.progress_wanted())
  return {k = opts.k, cutoff = opts.cutoff, h = h, method = opts.kernel,
          species_aware = opts.species_aware, quiet = opts.quiet}
end

--- Raise an exit object: "strata <name>: message", status 1.
function R.fail(recipe, fmt, ...)
  error(cli().exit(1, "strata " .. recipe.name .. ": " .. string.format(fmt, ...)), 0)
end

function R.note(recipe, fmt, ...)
  io.stderr:write("strata " .. recipe.name .. ": note: " .. string.format(fmt, ...) .. "\n")
end

--- A progress line on stderr for Lua-level loops (p:step(), p:done()); silent when quiet or
--- when stderr is not a terminal (see progress_wanted).
function R.progress(S, what, total)
  local on = not S.quiet and M.progress_wanted() and total > 1
  local p = {n = 0, last = -1}
  function p:step()
    self.n = self.n + 1
    if not on then return end
    local pct = math.floor(100 * self.n / total)
    if pct ~= self.last then
      self.last = pct
      io.stderr:write(string.format("\r%s: %3d%% (%d/%d)", what, pct, self.n, total))
    end
  end
  function p:done() if on and self.last >= 0 then io.stderr:write("\n") end end
  return p
end

--- Load and describe `src` (path or list of paths, or frames) with the settings; exits 1 with the
--- reader's message on failure; prints notes about short and isolated environments.
function R.describe(recipe, src, S, species)
  local frames, sources = M.load(src)
  if not frames then R.fail(recipe, "%s", sources) end
  local p = R.progress(S, "descriptors", #frames)
  local X, info = M.describe(frames, {k = S.k, cutoff = S.cutoff, species_aware = S.species_aware,
                                      species = species, progress = function() p:step() end})
  p:done()
  if not X then R.fail(recipe, "%s", info) end
  for i, s in ipairs(sources) do info.sources[i] = s end
  local label = type(src) == "string" and src or (type(src) == "table" and type(src[1]) == "string" and table.concat(src, ", ")) or "input"
  if info.short_frames > 0 then
    R.note(recipe, "%s: %d non-periodic frame(s) have fewer than k = %d neighbours per atom (as few as %d); " ..
           "the missing slots are zero, as in QUESTS", label, info.short_frames, S.k, info.min_neighbors)
  end
  if info.isolated > 0 then
    R.note(recipe, "%s: %d single-atom non-periodic frame(s): their environment is empty (an all-zero row)",
           label, info.isolated)
  end
  return X, info
end

--- The bandwidth for these settings and data (resolves 'auto'); exits 1 when impossible.
function R.bandwidth(recipe, S, info)
  local h, err = M.resolve_bandwidth(S.h, info)
  if not h then R.fail(recipe, "%s", err) end
  return h
end

function R.kernel(S) return {method = S.method} end

function R.settings(S, h)
  return {k = S.k, cutoff = S.cutoff, bandwidth = h, bandwidth_option = tostring(S.h),
          method = S.method, species_aware = S.species_aware and true or false,
          descriptor = "QUESTS (Schwalbe-Koda et al., Nat. Commun. 16, 4014 (2025))", units = "nats"}
end

function R.mkdir(recipe, dir)
  local ok, err = util().mkdir_p(dir)
  if not ok then R.fail(recipe, "cannot create directory %s: %s", dir, tostring(err)) end
end

function R.write_json(recipe, path, obj)
  local ok, err = util().write_json(path, obj)
  if not ok then R.fail(recipe, "%s", err) end
  return path
end

function R.write_csv(recipe, path, header, rows)
  local ok, err = util().write_csv(path, header, rows)
  if not ok then R.fail(recipe, "%s", err) end
  return path
end

function R.write_frames(recipe, path, frames)
  local ok, err = sio.write(path, frames, {format = "extxyz"})
  if not ok then R.fail(recipe, "%s", err) end
  return path
end

function R.svg(recipe, path, spec)
  local ok, err = require("strata.plot").svg(path, spec)
  if not ok then R.fail(recipe, "%s: %s", path, tostring(err)) end
  return path
end

--- Number formatting for the human summaries.
function R.fmt(v, digits)
  if v == nil then return "-" end
  if type(v) ~= "number" then return tostring(v) end
  if v ~= v then return "nan" end
  return string.format("%." .. (digits or 4) .. "f", v)
end

function R.stem(path) return (path:match("([^/]+)$") or path):gsub("%.[^.]*$", "") end

M.doc = {
  [M.describe] = "entropy.describe(src[, {k=32, cutoff=5, species_aware=}]) -> X, info: QUESTS rows of every atom",
  [M.entropy] = "entropy.entropy(X[, h=0.015]) -> {H, D, N, lnN, efficiency}",
  [M.delta] = "entropy.delta(Y, X[, h]) -> dH per row of Y (1-d array)",
  [M.overlap] = "entropy.overlap(Y, X[, h[, {eps=1e-5}]]) -> fraction of Y with dH < eps",
  [M.per_frame] = "entropy.per_frame(X, info[, h[, {ref=R}]]) -> {H={}, D={}, N={}, mean_dH={}}",
  [M.learning_curve] = "entropy.learning_curve(X[, {sizes=, repeats=3}]) -> {sizes, H, fit, H_max, gap}",
  [M.fit_learning_curve] = "entropy.fit_learning_curve(ns, Hs) -> {a, b, c, H_max, rmse}: H = a - b exp(-c (ln n)^2)",
  [M.compress] = "entropy.compress(X, info, n[, {method='greedy'|'fps'|'random'}]) -> {frames={...}}",
  [M.spearman] = "entropy.spearman(x, y) -> rho (average ranks for ties)",
  [M.roc_auc] = "entropy.roc_auc(scores, labels) -> AUC (ties count 1/2)",
  [M.change_points] = "entropy.change_points(series[, {window=10, threshold=5}]) -> {flags, events, z}",
}

return M
