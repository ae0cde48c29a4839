-- The information-entropy layer (lua/strata/entropy.lua), its C additions (frame metrics, greedy
-- frame selection) and the recipes entropy, dh, overlap, compress, learning-curve, phase, uq and
-- tour.  Run inside bin/strata:  bin/strata tests/run_busted.lua -o TAP tests/lua/entropy_spec.lua
-- and under LuaJIT through tests/ffi/entropy_spec.lua (the same file).
--
-- Independent checks: QUESTS reference values on real data (w14 subset, acetylacetone; skipped
-- with a reason when ../shared is absent), analytic sets (identical rows: H = D = 0; rows far
-- apart: H = D = ln N; two far clusters: ln 2; dH of a point at distance r from one reference:
-- r^2 / 2h^2), a brute-force greedy selection written here from the definition, hand-computed
-- Spearman and ROC AUC values, a learning-curve fit on data generated from known parameters,
-- change points on series with known jumps, and error paths.
local strata = require "strata"
local E = require "strata.entropy"
local cli = require "strata.cli"
local util = require "strata.util"
local H = require "shared.spec_helpers"
local array = require "strata.array"

local SHARED = os.getenv("STRATA_SHARED") or "../shared"
local function shared(rel)
  local p = SHARED .. "/data/" .. rel
  local f = io.open(p, "rb")
  if f then f:close(); return p end
  return nil
end

local near = H.near_fn(12)

local tmp = H.tmpdir("entropy-spec")

local write_text = H.write_text

local recipe = H.recipe

local function read_json(path)
  local text = assert(util.read_file(path))
  return assert(util.json_decode(text))
end

-- Matrix with one row per table entry.
local function M(rows) return strata.array(rows) end

-- Small data sets written once: fcc Cu 2x2x2 (32 atoms) frames.
local rng = strata.rng(5)
local train, test, traj = {}, {}, {}
for i = 1, 6 do train[i] = E.demo.fcc{cells = {2, 2, 2}, sigma = 0.04, rng = rng} end
for i = 1, 6 do
  local at = E.demo.fcc{cells = {2, 2, 2}, sigma = 0.02 * i, rng = rng, vacancy = i == 6 and 3 or nil}
  at.arrays.forces = E.demo.pair_forces(at)
  at.arrays.pred_forces = E.demo.pair_forces(at, 3.0)
  test[i] = at
end
for t = 1, 24 do traj[t] = E.demo.fcc{cells = {2, 2, 2}, sigma = 0.04, rng = rng, vacancy = t >= 15 and 1 or nil} end
local TRAIN = tmp .. "/train.xyz"
local TEST = tmp .. "/test.xyz"
local TRAJ = tmp .. "/traj.xyz"
assert(strata.write(TRAIN, train))
assert(strata.write(TEST, test))
assert(strata.write(TRAJ, traj))

describe("strata.entropy: reference values on real data", function()
  it("w14 subset: H and D at k = 32, rc = 5, h = 0.015 match QUESTS", function()
    local p = shared("w14_subset/w-14-subset.xyz")
    if not p then return pending("needs " .. SHARED .. "/data/w14_subset (absent)") end
    local X, info = assert(E.describe(p))
    assert.are.equal(1920, info.n)
    assert.are.equal(63, X.shape[2])
    local r = E.entropy(X, 0.015)
    near(r.H, 0.5003923219, 1e-9, "H")
    near(r.D, 0.5203662672, 1e-9, "D")
    near(r.efficiency, 100 * r.H / math.log(1920), 1e-12, "efficiency")
  end)

  it("acetylacetone: H of the test sets and dH against train_300K (element-agnostic, defaults)", function()
    local tr, t3, t6 = shared("acac/train_300K.xyz"), shared("acac/test_MD_300K.xyz"), shared("acac/test_MD_600K.xyz")
    if not (tr and t3 and t6) then return pending("needs " .. SHARED .. "/data/acac (absent)") end
    local X = assert(E.describe(tr))
    local Y3, i3 = assert(E.describe(t3))
    local Y6 = assert(E.describe(t6))
    assert.are.equal(7500, X.shape[1])
    assert.are.equal(9750, Y3.shape[1])
    assert.are.equal(650, i3.short_frames)      -- 15-atom molecules: 14 neighbours < k = 32
    near(E.entropy(Y3, 0.015, {method = "pruned"}).H, 7.4729, 1e-4, "H(test_MD_300K)")
    near(E.entropy(Y6, 0.015, {method = "pruned"}).H, 8.4794, 1e-4, "H(test_MD_600K)")
    local d6 = E.delta(Y6, X, 0.015, {method = "pruned"})
    local d3 = E.delta(Y3, X, 0.015, {method = "pruned"})
    local s6, s3 = E.summary(d6, 0), E.summary(d3, 0)
    near(s6.mean, 0.77, 0.005, "mean dH 600 K")
    near(s6.above, 0.54, 0.005, "fraction of 600 K environments with dH > 0")
    near(s6.max, 38.1, 0.05, "max dH 600 K")
    near(s3.mean, -1.05, 0.005, "mean dH 300 K")
    near(s3.max, 8.99, 0.005, "max dH 300 K")
  end)

  it("the dh recipe reproduces the acetylacetone 600 K numbers end to end", function()
    local tr, t6 = shared("acac/train_300K.xyz"), shared("acac/test_MD_600K.xyz")
    if not (tr and t6) then return pending("needs " .. SHARED .. "/data/acac (absent)") end
    assert.are.equal(0, recipe("dh", {t6, tr, "-q", "--outdir", tmp .. "/dh_acac"}))
    local j = read_json(tmp .. "/dh_acac/dh.json")
    near(j.dH.mean, 0.77, 0.005, "dh.json mean")
    near(j.fraction_above, 0.54, 0.005, "dh.json fraction above 0")
    assert.are.equal(9750, j.N_test)
    local fr = assert(strata.read(tmp .. "/dh_acac/test_MD_600K.dH.xyz"))
    assert.are.equal(650, #fr)
    assert.truthy(fr[1].arrays.dH)
    near(fr[1].arrays.dH:mean(), j.per_frame.mean[1], 1e-8, "per-atom dH written to extxyz")
  end)
end)

describe("strata.entropy: analytic cases", function()
  local h = 0.015

  it("identical environments give H = D = 0 (perfect fcc, first shell closed at k = 12)", function()
    local X, info = E.describe(E.demo.fcc{cells = {3, 3, 3}}, {k = 12})
    assert.are.equal(108, info.n)
    local r = E.entropy(X, h)
    near(r.H, 0, 1e-10, "H")
    near(r.D, 0, 1e-10, "D")
    local Z = strata.zeros({7, 5})
    near(E.entropy(Z, h).H, 0, 1e-15, "H of identical rows")
  end)

  it("environments far apart give H = D = ln N; two far clusters give ln 2", function()
    local rows = {}
    for i = 1, 9 do
      rows[i] = {0, 0, 0}
      rows[i][(i - 1) % 3 + 1] = 100 * h * math.floor((i + 2) / 3)
    end
    local r = E.entropy(M(rows), h)
    near(r.H, math.log(9), 1e-12, "H")
    near(r.D, math.log(9), 1e-12, "D")
    near(r.efficiency, 100, 1e-9, "efficiency")
    local two = {}
    for i = 1, 10 do two[i] = {i <= 5 and 0 or 1, 0} end
    local r2 = E.entropy(M(two), h)
    near(r2.H, math.log(2), 1e-12, "H of two clusters")
    near(r2.D, math.log(2), 1e-12, "D of two clusters")
  end)

  it("dH is r^2 / 2h^2 at distance r from a single reference, -ln m against m copies, finite far away", function()
    local X = M({{0, 0}})
    local dH = E.delta(M({{0.01, 0}, {0, 0}, {3, 4}}), X, h)
    near(dH[1], 0.01 ^ 2 / (2 * h * h), 1e-12, "dH at r")
    near(dH[2], 0, 1e-15, "dH of the same point")
    near(dH[3], 25 / (2 * h * h), 1e-6 * 25 / (2 * h * h), "dH far away (no underflow to inf)")
    local copies = E.delta(M({{1, 1}}), M({{1, 1}, {1, 1}, {1, 1}}), h)
    near(copies[1], -math.log(3), 1e-14, "dH against 3 copies")
  end)

  it("several bandwidths at once, one result per bandwidth", function()
    local X = E.describe(E.demo.fcc{cells = {2, 2, 2}, sigma = 0.05, rng = strata.rng(2)})
    local rs = E.entropy(X, {0.01, 0.015, 0.05})
    assert.are.equal(3, #rs)
    near(rs[2].H, E.entropy(X, 0.015).H, 1e-12, "H at h = 0.015")
    assert.is_true(rs[1].H > rs[2].H and rs[2].H > rs[3].H)   -- narrower kernel, more distinct
  end)

  it("overlap: a subset is fully covered, a far set not at all; eps = 0 means dH < 0", function()
    local X = M({{0, 0}, {1, 0}, {0, 1}})
    near(E.overlap(M({{0, 0}, {1, 0}}), X, h), 1, 0, "subset")
    near(E.overlap(M({{5, 5}}), X, h), 0, 0, "far")
    -- eps = 0: covered means dH < 0, i.e. a kernel sum above 1 (here: two copies in X2)
    local X2 = M({{0, 0}, {0, 0}, {1, 0}})
    near(E.overlap(M({{0, 0}, {0.5, 0.5}}), X2, h, {eps = 0}), 0.5, 0, "eps = 0")
    near(E.overlap(M({{1, 0}}), X2, h, {eps = 0}), 0, 0, "eps = 0, one copy: dH = 0 is not < 0")
  end)

  it("per-frame metrics equal the metrics of each frame on its own", function()
    local X, info = E.describe(TEST)
    local R = E.describe(TRAIN)
    local pf = E.per_frame(X, info, h, {ref = R})
    assert.are.equal(6, #pf.H)
    for f = 1, info.nframes do
      local Xf = X:slice({info.offsets[f], info.offsets[f + 1] - 1})
      local r = E.entropy(Xf, h)
      near(pf.H[f], r.H, 1e-10, "H of frame " .. f)
      near(pf.D[f], r.D, 1e-10, "D of frame " .. f)
      near(pf.mean_dH[f], E.delta(Xf, R, h):mean(), 1e-10, "mean dH of frame " .. f)
      assert.are.equal(info.counts[f], pf.N[f])
    end
  end)

  it("learning curve of rows far apart is exactly ln n", function()
    local rows = {}
    for i = 1, 60 do rows[i] = {i * 100 * h, 0} end
    local lc = E.learning_curve(M(rows), {h = h, repeats = 2, points = 6})
    for i, n in ipairs(lc.sizes) do near(lc.H[i], math.log(n), 1e-12, "H(" .. n .. ")") end
    near(lc.H_full, math.log(60), 1e-12, "H(N)")
  end)
end)

describe("strata.entropy: learning-curve fit", function()
  it("recovers a, b, c of H(n) = a - b exp(-c (ln n)^2) from exact points", function()
    local ns, Hs = {}, {}
    for i = 0, 15 do
      local n = math.floor(2 * 1.9 ^ i + 0.5)
      ns[#ns + 1] = n
      Hs[#Hs + 1] = 6.2 - 5.5 * math.exp(-0.045 * math.log(n) ^ 2)
    end
    local fit = assert(E.fit_learning_curve(ns, Hs))
    near(fit.a, 6.2, 1e-6, "a")
    near(fit.b, 5.5, 1e-6, "b")
    near(fit.c, 0.045, 1e-7, "c")
    near(fit.H_max, 6.2, 1e-6, "H_max")
    assert.is_true(fit.rmse < 1e-8)
    near(E.learning_curve_value(fit, 1000), 6.2 - 5.5 * math.exp(-0.045 * math.log(1000) ^ 2), 1e-6, "value")
  end)

  it("stays close with noise, and refuses fewer than 3 sizes", function()
    local ns, Hs = {}, {}
    local r = strata.rng(9)
    for i = 0, 11 do
      local n = math.floor(10 * 2 ^ i)
      for _ = 1, 3 do
        ns[#ns + 1] = n
        Hs[#Hs + 1] = 8 - 7 * math.exp(-0.03 * math.log(n) ^ 2) + 0.01 * r:normal()
      end
    end
    local fit = assert(E.fit_learning_curve(ns, Hs))
    near(fit.a, 8, 0.05, "a with noise")
    near(fit.c, 0.03, 0.002, "c with noise")
    local none, msg = E.fit_learning_curve({10, 10, 20}, {1, 1.1, 2})
    assert.is_nil(none)
    assert.matches("at least 3 distinct", msg)
  end)
end)

describe("strata.entropy: frame selection", function()
  -- Brute-force greedy from the definition: at each step the frame maximising H of the union,
  -- ties to the lower index.
  local function brute_greedy(X, info, n, h)
    local picked, order, Hp = {}, {}, {}
    for s = 1, n do
      local best, bestH
      for f = 1, info.nframes do
        if not picked[f] then
          local sel = {}
          for i, g in ipairs(order) do sel[i] = g end
          sel[#sel + 1] = f
          local Hf = E.entropy((E.frame_rows(X, info, sel)), h).H
          if not bestH or Hf > bestH + 1e-12 then best, bestH = f, Hf end
        end
      end
      picked[best] = true
      order[s], Hp[s] = best, bestH
    end
    return order, Hp
  end

  local function random_frames(nframes, rows_of, d, scale, seed)
    local r = strata.rng(seed)
    local rows, counts = {}, {}
    for f = 1, nframes do
      counts[f] = rows_of(f)
      for _ = 1, counts[f] do
        local row = {}
        for c = 1, d do row[c] = scale * r:normal() end
        rows[#rows + 1] = row
      end
    end
    local off = {1}
    for f = 1, nframes do off[f + 1] = off[f] + counts[f] end
    return M(rows), {nframes = nframes, offsets = off, counts = counts, n = #rows}
  end

  it("greedy (C, lazy with an exact bound) equals the brute-force greedy", function()
    local h = 0.015
    local X, info = random_frames(12, function(f) return 3 + f % 4 end, 4, 0.02, 3)
    local want, wantH = brute_greedy(X, info, 7, h)
    for _, kernel in ipairs({"auto", "dense"}) do     -- direct sums, and the engine
      local got = E.compress(X, info, 7, {method = "greedy", h = h, kernel_method = kernel, max_evals = 100})
      assert.are.same(want, got.frames)
      for s = 1, 7 do near(got.H_path[s], wantH[s], 1e-10, kernel .. ": H after step " .. s) end
      assert.are.equal(0, got.stats.capped_steps)
    end
  end)

  it("greedy keeps more entropy than random frames on a clustered set", function()
    -- 40 frames: 30 from one tight cluster, 10 each from its own cluster far away
    local h = 0.015
    local r = strata.rng(4)
    local rows, counts = {}, {}
    for f = 1, 40 do
      counts[f] = 4
      local centre = f <= 30 and 0 or f * 0.5
      for _ = 1, 4 do rows[#rows + 1] = {centre + 0.005 * r:normal(), 0.005 * r:normal(), 0.005 * r:normal()} end
    end
    local off = {1}
    for f = 1, 40 do off[f + 1] = off[f] + 4 end
    local X, info = M(rows), {nframes = 40, offsets = off, counts = counts}
    local g = E.compress(X, info, 8, {method = "greedy", h = h})
    local Hg = E.entropy((E.frame_rows(X, info, g.frames)), h).H
    near(Hg, g.H_path[8], 1e-10, "H_path matches the subset")
    for seed = 1, 5 do
      local rr = E.compress(X, info, 8, {method = "random", seed = seed})
      local Hr = E.entropy((E.frame_rows(X, info, rr.frames)), h).H
      assert.is_true(Hg > Hr, string.format("greedy H %.4f <= random H %.4f (seed %d)", Hg, Hr, seed))
    end
    -- the greedy picks the isolated clusters first
    local far = 0
    for _, f in ipairs(g.frames) do if f > 30 then far = far + 1 end end
    assert.is_true(far >= 7)
  end)

  it("fps starts at the frame farthest from the mean, then takes the other end; random is a seeded permutation", function()
    local rows = {}
    for f = 1, 5 do rows[f] = {({0, 1, 2, 3, 10})[f], 0} end
    local info = {nframes = 5, offsets = {1, 2, 3, 4, 5, 6}, counts = {1, 1, 1, 1, 1}}
    local p = E.compress(M(rows), info, 3, {method = "fps"}).frames
    assert.are.same({5, 1, 4}, p)    -- 10 is farthest from the mean 3.2; then 0; then 3 (3 from 0, 7 from 10)
    local a = E.compress(M(rows), info, 5, {method = "random", seed = 7}).frames
    local b = E.compress(M(rows), info, 5, {method = "random", seed = 7}).frames
    assert.are.same(a, b)
    local seen = {}
    for _, f in ipairs(a) do seen[f] = true end
    for f = 1, 5 do assert.is_true(seen[f]) end
  end)

  it("parses sizes: counts, fractions, percentages; rejects the rest", function()
    assert.are.equal(5, E.parse_size("5", 50))
    assert.are.equal(5, E.parse_size("0.1", 50))
    assert.are.equal(5, E.parse_size("10%", 50))
    assert.are.equal(1, E.parse_size("1%", 20))
    for _, bad in ipairs({"0", "-3", "2.5", "abc", "60", "150%"}) do
      local n, msg = E.parse_size(bad, 50)
      assert.is_nil(n, bad)
      assert.is_string(msg)
    end
  end)

  it("reports bad input: a non-finite descriptor names row and column; n out of range", function()
    local X = M({{0, 0}, {1, 1}, {2, 0 / 0}})
    local info = {nframes = 3, offsets = {1, 2, 3, 4}, counts = {1, 1, 1}}
    local ok, err = pcall(E.compress, X, info, 2, {method = "greedy"})
    assert.is_false(ok)
    assert.matches("row 2, column 1", err)   -- 0-based in the C message
    ok, err = pcall(E.compress, M({{0, 0}, {1, 1}}), {nframes = 2, offsets = {1, 2, 3}}, 3)
    assert.is_false(ok)
    assert.matches("must be an integer in 0..2", err)
    ok, err = pcall(E.compress, M({{0, 0}, {1, 1}}), {nframes = 2, offsets = {1, 2, 3}}, 1, {method = "kmeans"})
    assert.is_false(ok)
    assert.matches("unknown method", err)
  end)
end)

describe("strata.entropy: rank statistics", function()
  it("Spearman: hand-computed values, ties by average rank, undefined cases", function()
    near(E.spearman({1, 2, 3, 4, 5}, {2, 1, 4, 3, 5}), 0.8, 1e-15, "rho")   -- 1 - 6*4/(5*24)
    near(E.spearman({1, 2, 2, 3}, {1, 2, 3, 4}), 4.5 / math.sqrt(22.5), 1e-15, "rho with ties")
    near(E.spearman({1, 5, 9}, {-3, 0, 100}), 1, 1e-15, "monotone")
    near(E.spearman({1, 2, 3}, {3, 2, 1}), -1, 1e-15, "reversed")
    assert.is_nil((E.spearman({1, 1, 1}, {1, 2, 3})))
    assert.is_nil((E.spearman({1}, {1})))
    assert.are.same({1, 2.5, 2.5, 4}, E.ranks({10, 20, 20, 30}))
  end)

  it("ROC AUC: hand-computed example, ties count 1/2, undefined without both classes", function()
    near(E.roc_auc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75, 1e-15, "AUC")
    near(E.roc_auc({1, 2, 3, 4}, {false, false, true, true}), 1, 0, "perfect")
    near(E.roc_auc({5, 5, 5, 5}, {1, 0, 1, 0}), 0.5, 0, "all tied")
    near(E.roc_auc({1, 2, 2, 3}, {0, 1, 0, 1}), 0.875, 1e-15, "one tie across classes")  -- (1 + 1/2 + 1 + 1) / 4
    local none, msg = E.roc_auc({1, 2}, {1, 1})
    assert.is_nil(none)
    assert.matches("positives and negatives", msg)
    local lab, thr = E.top_fraction({5, 1, 9, 3, 7, 2, 8, 4, 6, 10}, 0.2)
    assert.are.equal(9, thr)
    assert.are.same({false, false, true, false, false, false, false, false, false, true}, lab)
  end)
end)

describe("strata.entropy: change points", function()
  local function series(T, f)
    local r, s = strata.rng(21), {}
    for t = 1, T do s[t] = f(t) + r:normal() end
    return s
  end

  it("flags the first frame after a jump, and nothing on noise or a slow drift", function()
    local cp = E.change_points(series(100, function(t) return t >= 61 and 15 or 0 end))
    assert.are.same({61}, cp.flags)
    assert.are.equal(61, cp.events[1].frame)
    assert.are.equal("step", cp.events[1].kind)
    assert.are.same({61}, cp.steps)
    assert.are.same({}, E.change_points(series(100, function() return 0 end)).flags)
    assert.are.same({}, E.change_points(series(100, function(t) return 0.06 * t end)).flags)
    local spike = E.change_points(series(100, function(t) return t == 30 and 15 or 0 end))
    assert.are.same({30, 31}, spike.flags)
    assert.are.equal(1, #spike.events)
    assert.are.equal("spike", spike.events[1].kind)
    assert.are.same({30}, spike.spikes)
    assert.are.same({}, spike.steps)
    assert.are.same({}, E.change_points({1, 2}).flags)
    assert.has_error(function() E.change_points({1, 0 / 0, 3}) end)
  end)

  it("finds the frame where a vacancy appears from the mean dH of each frame", function()
    local X, info = E.describe(TRAJ)
    local R = E.describe(TRAIN)
    local pf = E.per_frame(X, info, 0.015, {ref = R})
    local cp = E.change_points(pf.mean_dH)
    assert.are.same({15}, cp.flags)
    assert.are.same({15}, cp.steps)
  end)
end)

describe("strata.entropy: bad input", function()
  it("an empty file, a frame without atoms and a missing file give nil and a message naming them", function()
    local empty = write_text(tmp .. "/empty.xyz", "")
    local X, err = E.describe(empty)
    assert.is_nil(X)
    assert.matches("empty.xyz: no frames", err)
    local zero = write_text(tmp .. "/zero.xyz", "0\n\n")
    X, err = E.describe(zero)
    assert.is_nil(X)
    assert.matches("zero.xyz: frame 1 has no atoms", err)
    X, err = E.describe(tmp .. "/missing.xyz")
    assert.is_nil(X)
    assert.matches("missing.xyz", err)
  end)

  it("a zero, negative or NaN bandwidth raises a clear error", function()
    local X = M({{0, 0}, {1, 1}})
    for _, h in ipairs({0, -0.01, 0 / 0, math.huge}) do
      local ok, err = pcall(E.entropy, X, h)
      assert.is_false(ok)
      assert.matches("bandwidth h must be a finite number > 0", err)
      ok, err = pcall(E.delta, X, X, h)
      assert.is_false(ok)
      assert.matches("bandwidth", err)
    end
    assert.is_nil((E.parse_bandwidth("0")))
    assert.is_nil((E.parse_bandwidth("-1")))
    assert.is_nil((E.parse_bandwidth("abc")))
    assert.are.equal("auto", E.parse_bandwidth("auto"))
    local h, msg = E.resolve_bandwidth("auto", {})
    assert.is_nil(h)
    assert.matches("periodic", msg)
    near(E.bandwidth(10.896), 0.0897141 * math.exp(-0.5) + 0.0119417, 1e-15, "bandwidth rule")
  end)

  it("k larger than the neighbours of a small molecule: zero slots, noted; strict makes it an error", function()
    local mol = strata.Atoms{symbols = {"O", "H", "H"}, positions = {{0, 0, 0}, {0.96, 0, 0}, {-0.24, 0.93, 0}}}
    local X, info = E.describe(mol, {k = 32})
    assert.are.equal(1, info.short_frames)
    assert.are.equal(2, info.min_neighbors)
    local row = X:slice(1):flat()
    assert.is_true(row[1] > 0 and row[2] > 0)
    for c = 3, 32 do assert.are.equal(0, row[c]) end      -- x1 slots 3..32 are empty
    local none, err = E.describe(mol, {k = 32, strict = true})
    assert.is_nil(none)
    assert.matches("fewer than k = 32", err)
    assert.is_truthy((E.describe(mol, {k = 2, strict = true})))
  end)

  it("a single atom: an all-zero row, H = D = 0 and no efficiency (0/0)", function()
    local one = strata.Atoms{symbols = {"Cu"}, positions = {{0, 0, 0}}}
    local X, info = E.describe(one)
    assert.are.equal(1, info.isolated)
    assert.are.equal(0, X:abs():max())
    local r = E.entropy(X)
    assert.are.equal(0, r.H)
    assert.are.equal(0, r.D)
    assert.is_nil(r.efficiency)
  end)

  it("mismatched descriptor lengths between test and reference sets raise", function()
    local at = E.demo.fcc{cells = {2, 2, 2}}
    local Y = E.describe(at, {k = 8})
    local X = E.describe(at, {k = 32})
    for _, f in ipairs({E.delta, E.overlap}) do
      local ok, err = pcall(f, Y, X, 0.015)
      assert.is_false(ok)
      assert.matches("test descriptors have 15 columns but the reference has 63", err)
    end
    local ok, err = pcall(E.per_frame, Y, {offsets = {1, 33}}, 0.015, {ref = X})
    assert.is_false(ok)
    assert.matches("columns", err)
  end)

  it("empty sets: entropy and dH against nothing raise; dH of nothing is empty", function()
    local ok, err = pcall(E.entropy, strata.zeros({0, 3}))
    assert.is_false(ok)
    assert.matches("no rows", err)
    ok, err = pcall(E.delta, M({{1, 2, 3}}), strata.zeros({0, 3}))
    assert.is_false(ok)
    assert.matches("reference set is empty", err)
    assert.are.equal(0, E.delta(strata.zeros({0, 3}), M({{1, 2, 3}})).shape[1])
    ok = pcall(E.overlap, strata.zeros({0, 3}), M({{1, 2, 3}}))
    assert.is_false(ok)
  end)

  it("frame offsets that do not match the rows are refused by the C layer", function()
    local ok, err = pcall(E.per_frame, M({{0, 0}, {1, 1}}), {offsets = {1, 2, 5}}, 0.015)
    assert.is_false(ok)
    assert.matches("offsets", err)
  end)
end)

describe("recipes on tiny generated data", function()
  it("entropy: JSON and CSV agree with the API; usage errors exit 2", function()
    local out = tmp .. "/entropy.json"
    assert.are.equal(0, recipe("entropy", {"-q", "--per-frame", "--out", out, "--csv", tmp .. "/entropy.csv", TRAIN, TEST}))
    local j = read_json(out)
    local X = E.describe(TRAIN)
    near(j.files[1].H, E.entropy(X).H, 1e-12, "H in JSON")
    assert.are.equal(6, #j.files[1].per_frame.H)
    assert.truthy(j.union)
    local X2 = E.describe({TRAIN, TEST})
    near(j.union.H, E.entropy(X2).H, 1e-12, "H of the union")
    local header = util.read_csv(tmp .. "/entropy.csv")
    assert.are.same({"file", "frame", "N", "H", "D", "lnN", "efficiency"}, header)
    local rc, msg = recipe("entropy", {"--bandwidth", "0", TRAIN})
    assert.are.equal(2, rc)
    assert.matches("option '%-%-bandwidth': bandwidth must be > 0", msg)
    rc, msg = recipe("entropy", {"-q", tmp .. "/empty.xyz"})
    assert.are.equal(1, rc)
    assert.matches("no frames", msg)
    rc, msg = recipe("entropy", {"--k", "0", TRAIN})
    assert.are.equal(2, rc)
  end)

  it("dh and overlap: per-atom dH in the extxyz output equals the API", function()
    assert.are.equal(0, recipe("dh", {"-q", TEST, TRAIN, "--outdir", tmp .. "/dh", "--threshold", "1"}))
    local j = read_json(tmp .. "/dh/dh.json")
    local Y = E.describe(TEST)
    local X = E.describe(TRAIN)
    local dH = E.delta(Y, X)
    near(j.dH.mean, dH:mean(), 1e-10, "mean dH")
    near(j.fraction_above, dH:gt(1):sum() / dH.shape[1], 1e-12, "fraction above 1")
    local fr = assert(strata.read(tmp .. "/dh/test.dH.xyz"))
    near(fr[6].arrays.dH:max(), dH:slice({161, 191}):max(), 1e-9, "dH of the vacancy frame")
    assert.are.equal(0, recipe("overlap", {"-q", TEST, TRAIN, "--out", tmp .. "/ov.json"}))
    local o = read_json(tmp .. "/ov.json")
    near(o.overlap_test_in_reference, E.overlap(Y, X), 1e-12, "overlap")
  end)

  it("compress: every method writes its subset; greedy H is the best and matches H_path", function()
    assert.are.equal(0, recipe("compress", {"-q", TEST, "--size", "3", "--method", "all", "--outdir", tmp .. "/cmp"}))
    local j = read_json(tmp .. "/cmp/compress.json")
    near(j.methods.greedy.H, j.methods.greedy.H_path[3], 1e-10, "greedy H")
    assert.is_true(j.methods.greedy.H >= j.methods.fps.H - 1e-12)
    assert.is_true(j.methods.greedy.H >= j.methods.random.H - 1e-12)
    for _, m in ipairs({"greedy", "fps", "random"}) do
      local fr = assert(strata.read(tmp .. "/cmp/test." .. m .. ".xyz"))
      assert.are.equal(3, #fr)
    end
    local rc, msg = recipe("compress", {"-q", TEST, "--size", "7"})
    assert.are.equal(2, rc)
    assert.matches("more than the 6 frames", msg)
  end)

  it("learning-curve, phase and uq run end to end and report what the API computes", function()
    assert.are.equal(0, recipe("learning-curve", {"-q", TRAIN, "--points", "6", "--outdir", tmp .. "/lc"}))
    local lc = read_json(tmp .. "/lc/learning_curve.json")
    assert.truthy(lc.fit)
    near(lc.gap, lc.H_max - lc.H_full, 1e-12, "gap")
    assert.truthy(util.read_file(tmp .. "/lc/learning_curve.svg"):find("<svg", 1, true))

    assert.are.equal(0, recipe("phase", {"-q", TRAJ, "--ref", TRAIN, "--outdir", tmp .. "/ph"}))
    local ph = read_json(tmp .. "/ph/phase.json")
    assert.are.same({15}, ph.trajectories[1].flagged)

    assert.are.equal(0, recipe("uq", {"-q", TEST, TRAIN, "--outdir", tmp .. "/uq"}))
    local uq = read_json(tmp .. "/uq/uq.json")
    local Y, yi = E.describe(TEST)
    local dH = E.delta(Y, (E.describe(TRAIN)))
    local ferr = E.force_errors(yi.frames, "forces", "pred_forces")
    near(uq.forces.spearman_atoms, E.spearman(dH, ferr), 1e-12, "Spearman")
    near(uq.forces.roc_auc_top, E.roc_auc(dH, (E.top_fraction(ferr, 0.1))), 1e-12, "AUC")
    assert.is_true(uq.forces.spearman_atoms > 0.3)   -- dH ranks the toy model's errors
    local rc = recipe("uq", {"-q", TEST, TRAIN, "--outdir", tmp .. "/uq2", "--pred-forces", "nope"})
    assert.are.equal(0, rc)
    assert.matches("no per%-atom array 'nope'", read_json(tmp .. "/uq2/uq.json").forces_missing)
  end)

  it("tour --quick writes its folder and finds the vacancy", function()
    assert.are.equal(0, recipe("tour", {"--quick", "-q", "--outdir", tmp .. "/tour"}))
    local j = read_json(tmp .. "/tour/tour.json")
    assert.are.same({j.key_figures.vacancy_frame}, j.key_figures.phase_flagged)
    assert.is_true(j.key_figures.compress_H.greedy > j.key_figures.compress_H.random)
    assert.truthy(util.read_file(tmp .. "/tour/summary.svg"))
    assert.are.equal(8, #j.steps)   -- entropy, dh (twice), overlap, compress, learning-curve, phase, uq
  end)
end)

-- cleanup (busted has no teardown at file level in every version: a last test does it)
describe("cleanup", function()
  it("removes the scratch folder", function()
    os.execute("rm -rf '" .. tmp .. "'")
    assert.is_nil(io.open(tmp .. "/train.xyz", "r"))
  end)
end)
