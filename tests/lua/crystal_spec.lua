-- The crystal-distance and ML layers (lua/strata/crystal.lua, lua/strata/ml.lua, their bindings
-- csrc/lua/crystal.c and csrc/lua/ml.c) and the recipes crystal-distance and synthesis-map.
-- Run inside bin/strata:  bin/strata tests/run_busted.lua -o TAP tests/lua/crystal_spec.lua
-- and under LuaJIT through tests/ffi/crystal_spec.lua (the same file, FFI backend).
--
-- Independent checks: the study's AMD matrix (iza_dm.csv, 1e-10) and the exact-solver PDD-EMD
-- reference (1e-6), the study's MST weight, Ward cluster sizes and neighbour lists (all from
-- ../shared, skipped with a reason when absent); rotation/translation invariance; AMD = weighted
-- mean of the k-NN rows; MDS on a Euclidean point set; logistic regression against a closed-form
-- optimum and finite differences; ROC/PR AUC on hand-computed cases with ties; XGBoost on a
-- separable problem with SHAP additivity; brute-force checks of the fold and resampling helpers;
-- error paths (bad label files, unknown element, missing CIF, missing code).
local strata = require "strata"
local X = require "strata.crystal"
local ml = require "strata.ml"
local cli = require "strata.cli"
local util = require "strata.util"
local H = require "shared.spec_helpers"
local array = require "strata.array"

local SHARED = os.getenv("STRATA_SHARED") or "../shared"
local ZEO = SHARED .. "/data/zeolites"
local have_zeo = util.exists(ZEO .. "/iza_dm.csv") and util.exists(ZEO .. "/iza_ideal/SOD.cif")
local SKIP = "needs " .. ZEO .. " (absent)"

local near = H.near_fn(12)

local tmp = H.tmpdir("crystal-spec")

local write_text = H.write_text

local recipe = H.recipe

local function index_of(names)
  local t = {}
  for i, n in ipairs(names) do t[n] = i end
  return t
end

-- Load the 253 frameworks once (about 0.3 s).
local ZS, ZA, ZD, ZNAMES, ZIDX
local function zeo()
  if not ZS then
    ZS = assert(X.read_dir(ZEO .. "/iza_ideal"))
    ZA = assert(X.amds(ZS))
    ZD = X.amd_matrix(ZA)
    ZNAMES = {}
    for i, s in ipairs(ZS) do ZNAMES[i] = s.name end
    ZIDX = index_of(ZNAMES)
  end
  return ZS, ZA, ZD, ZNAMES, ZIDX
end

describe("crystal distances on the IZA frameworks", function()
  it("reproduce the study's AMD matrix to 1e-10", function()
    if not have_zeo then return pending(SKIP) end
    local set, _, D, names = zeo()
    assert.equal(253, #set)
    local rn, R = assert(X.read_matrix_csv(ZEO .. "/iza_dm.csv"))
    assert.same(names, rn)   -- both sorted by code
    local e = (D - R):abs():max()
    assert.truthy(e <= 1e-10, "max |diff| = " .. e)
    near(D:get(index_of(names).SOD, index_of(names).LTA), 0.6392557910, 1e-9, "SOD:LTA")
  end)

  it("give PDD earth mover's distances within 1e-6 of the exact reference", function()
    if not have_zeo then return pending(SKIP) end
    local set, _, _, _, idx = zeo()
    local codes = {"SOD", "LTA", "FAU", "EMT", "CHA", "MFI"}
    local sub = {}
    for i, c in ipairs(codes) do sub[i] = set[idx[c]] end
    local P = assert(X.pdds(sub))
    local E = X.pdd_matrix(P)
    local rn, RE = assert(X.read_matrix_csv(ZEO .. "/reference/pdd_emd_k100.csv"))
    local ridx = index_of(rn)
    for i = 1, #codes do
      for j = 1, #codes do
        near(E:get(i, j), RE:get(ridx[codes[i]], ridx[codes[j]]), 1e-6, codes[i] .. ":" .. codes[j])
      end
    end
    near(X.emd(P[1], P[2]), 0.8258045729, 1e-6, "EMD SOD:LTA")
    near(X.emd(P[3], P[4]), 0.1380844352, 1e-6, "EMD FAU:EMT")
    -- cross matrix = the block of the full one; L-inf(AMD) <= EMD (merge tolerance 1e-4)
    local Cx = X.pdd_cross({P[1], P[2]}, P)
    for j = 1, #codes do near(Cx:get(2, j), E:get(2, j), 1e-12, "cross") end
    local A = X.amds(sub)
    local DA = X.amd_matrix(A)
    assert.truthy((DA - E):max() <= 1e-4)
  end)

  it("give the study's minimum spanning tree and Ward clusters", function()
    if not have_zeo then return pending(SKIP) end
    local _, _, D = zeo()
    local t = ml.mst(D)
    assert.equal(252, #t.edges)
    near(t.total, 30.4941, 5e-5, "MST total weight")
    near(t.longest, 1.0584, 5e-5, "MST longest edge")
    local Z = ml.ward(D)
    local lab, k = ml.cut(Z, 1.0)
    assert.equal(10, k)
    local sizes = ml.cluster_sizes(lab)
    table.sort(sizes)
    local want = {18, 35, 8, 1, 42, 26, 29, 25, 12, 57}
    table.sort(want)
    assert.same(want, sizes)
    -- the linkage is SciPy's format: last row joins everything, heights non-decreasing
    assert.equal(253, Z:get(252, 4))
    for r = 2, 252 do assert.truthy(Z:get(r, 3) >= Z:get(r - 1, 3)) end
  end)

  it("list the study's 10 nearest frameworks of SOD and LTA", function()
    if not have_zeo then return pending(SKIP) end
    local _, _, D, names, idx = zeo()
    local nn = X.nearest(D, 10, {names = names})
    local function list(c)
      local t = {}
      for r, e in ipairs(nn[idx[c]]) do t[r] = e.name end
      return table.concat(t, " ")
    end
    assert.equal("FRA PTT DOH LOS MRT WEN EAB ATT LEV AWW", list("SOD"))
    assert.equal("FAU EMT ITV SAS SYT IFU AFY TSC AEI KFI", list("LTA"))
  end)

  it("are invariant to rotating and translating a crystal; AMD is the weighted mean of the k-NN rows", function()
    if not have_zeo then return pending(SKIP) end
    local set, A, _, _, idx = zeo()
    local at = set[idx.SOD].atoms:copy()
    local c, s = math.cos(0.7), math.sin(0.7)
    local R = strata.array({{c, -s, 0}, {s, c, 0}, {0, 0, 1}})
    local pos = at.positions:matmul(R:T()) + strata.array({1.5, -2.0, 0.25})
    at.positions:assign(pos)
    at.cell:assign(at.cell:matmul(R:T()))
    local a2 = assert(X.amd(at))
    assert.truthy((a2 - A[idx.SOD]):abs():max() < 1e-10)
    local d, w = X.knn(set[idx.SOD].atoms, {k = 100})
    local wt = w:totable()
    local tot = 0
    for i = 1, #wt do tot = tot + wt[i] end
    local mean = strata.zeros({100})
    for i = 1, #wt do mean = mean + d[i] * (wt[i] / tot) end
    assert.truthy((mean - A[idx.SOD]):abs():max() < 1e-12)
    assert.equal(#wt, X.nsites(set[idx.SOD].atoms))
    -- species restriction: symbols, numbers and comma lists agree; Si-Si distances are longer
    local si = assert(X.amd(set[idx.SOD].atoms, {species = "Si", k = 4}))
    local si2 = assert(X.amd(set[idx.SOD].atoms, {species = {14}, k = 4}))
    assert.truthy((si - si2):abs():max() == 0)
    assert.truthy(si[1] > 2.9 and si[1] < 3.3, "Si-Si " .. si[1])
    -- cross distances = rows of the full matrix
    local Cx = X.amd_cross(strata.array({A[idx.SOD]:totable()}), A)
    near(Cx:get(1, idx.LTA), 0.6392557910, 1e-9, "cross SOD:LTA")
    near(X.amd_distance(A[idx.FAU], A[idx.EMT]), 0.0407812039, 1e-9, "FAU:EMT")
    assert.truthy(X.amd_distance(A[idx.FAU], A[idx.EMT], {metric = "l1"}) > 0.0407812039)
  end)
end)

describe("ML kernels", function()
  it("MDS recovers a Euclidean point set's distances", function()
    local rng = strata.rng(3)
    local n = 25
    local P = strata.randn({n, 3}, rng)
    local D = strata.zeros({n, n})
    local pt = P:totable()
    for i = 1, n do
      for j = 1, n do
        local s = 0
        for a = 1, 3 do s = s + (pt[i][a] - pt[j][a]) ^ 2 end
        D:set(i, j, math.sqrt(s))
      end
    end
    local Y, ev = ml.mds(D, 3)
    assert.truthy(ev[1] >= ev[2] and ev[2] >= ev[3] and ev[3] > 0)
    local yt = Y:totable()
    local e = 0
    for i = 1, n do
      for j = 1, n do
        local s = 0
        for a = 1, 3 do s = s + (yt[i][a] - yt[j][a]) ^ 2 end
        e = math.max(e, math.abs(math.sqrt(s) - D:get(i, j)))
      end
    end
    assert.truthy(e < 1e-9, "MDS distance error " .. e)
  end)

  it("logistic regression matches a hand-solved case and has zero gradient at the optimum", function()
    -- x = 0: y {0, 1}; x = 1: y {0, 1, 1}; no penalty: sigmoid(b) = 1/2, sigmoid(w + b) = 2/3
    local Xs = strata.array({{0}, {0}, {1}, {1}, {1}})
    local y = {0, 1, 0, 1, 1}
    local m = assert(ml.logreg(Xs, y, {C = math.huge}))
    near(m.coef[1], math.log(2), 1e-10, "w")
    near(m.intercept, 0, 1e-10, "b")
    near(m:predict(strata.array({{1}}))[1], 2 / 3, 1e-10, "p(x = 1)")
    -- penalised fit on random data: the gradient vanishes, and matches finite differences
    local rng = strata.rng(11)
    local n, p = 60, 4
    local Xr = strata.randn({n, p}, rng)
    local yr = {}
    for i = 1, n do yr[i] = (Xr:get(i, 1) - 0.5 * Xr:get(i, 3) + rng:normal() * 0.8 > 0) and 1 or 0 end
    local opts = {C = 0.5, class_weight = {1, 2}}
    local fit = assert(ml.logreg(Xr, yr, opts))
    local f0, g = ml.logreg_objective(Xr, yr, fit.coef, fit.intercept, opts)
    assert.truthy(g:abs():max() < 1e-8, "gradient at optimum " .. g:abs():max())
    near(f0, fit.info.objective, 1e-9 * f0, "objective")
    local w = strata.array({0.3, -0.2, 0.1, 0.05})
    local _, gw = ml.logreg_objective(Xr, yr, w, 0.2, opts)
    local h = 1e-6
    for j = 1, p do
      local wp, wm = w:copy(), w:copy()
      wp[j] = wp[j] + h
      wm[j] = wm[j] - h
      local fp = ml.logreg_objective(Xr, yr, wp, 0.2, opts)
      local fm = ml.logreg_objective(Xr, yr, wm, 0.2, opts)
      near(gw[j], (fp - fm) / (2 * h), 1e-5, "dF/dw" .. j)
    end
    local fp = ml.logreg_objective(Xr, yr, w, 0.2 + h, opts)
    local fm = ml.logreg_objective(Xr, yr, w, 0.2 - h, opts)
    near(gw[p + 1], (fp - fm) / (2 * h), 1e-5, "dF/db")
  end)

  it("ROC and PR AUC match hand-computed values with ties", function()
    -- pos {0.8, 0.5, 0.5}, neg {0.5, 0.2}: (4 wins + 2 ties / 2) / 6
    near(ml.roc_auc({1, 1, 1, 0, 0}, {0.8, 0.5, 0.5, 0.5, 0.2}), 5 / 6, 1e-15, "ROC AUC")
    near(ml.roc_auc({0, 1}, {1, 1}), 0.5, 1e-15, "all tied")
    -- thresholds 0.9 {1}, 0.5 {1, 0, 0}, 0.1 {1}: 1/3 * 1 + 1/3 * 2/4 + 1/3 * 3/5
    near(ml.average_precision({1, 1, 0, 0, 1}, {0.9, 0.5, 0.5, 0.5, 0.1}), 0.7, 1e-15, "AP")
    near(ml.average_precision({0, 0, 1, 1, 1}, {0.5, 0.5, 0.5, 0.9, 0.1}), 0.7, 1e-15, "AP, tie order")
    local v, msg = ml.roc_auc({1, 1}, {0.1, 0.2})
    assert.is_nil(v)
    assert.truthy(msg:find("only one class", 1, true))
    assert.has_error(function() ml.roc_auc({1, 2}, {0.1, 0.2}) end)
  end)

  it("XGBoost learns a separable problem and SHAP rows sum to the margin", function()
    local rng = strata.rng(5)
    local n = 150
    local Xs = strata.rand({n, 3}, rng)
    local y = {}
    for i = 1, n do y[i] = Xs:get(i, 2) > 0.5 and 1 or 0 end
    local g = ml.gbt{n_estimators = 40, max_depth = 3, seed = 1}
    assert(g:fit(Xs, y))
    assert.equal(3, g:nfeatures())
    local p = g:predict(Xs)
    assert.equal(1, ml.roc_auc(y, p))
    local S = g:shap(Xs)
    assert.same({n, 4}, S.shape)
    local e = (S:sum(2) - g:margin(Xs)):abs():max()
    assert.truthy(e < 1e-4, "SHAP additivity error " .. e)
    local imp = S:abs():mean(1)
    assert.truthy(imp[2] > 5 * (imp[1] + imp[3]))
    g:free()
    assert.has_error(function() g:predict(Xs) end)
    -- the parallel ensemble is the mean of boosters trained one by one with seeds seed + 0, 1, ...
    local ens = assert(ml.gbt_ensemble(Xs, y, {n_estimators = 10, max_depth = 2, subsample = 0.6, seed = 4,
                                               models = 3, predict = Xs}))
    local sum_s, sum_p = strata.zeros({n, 4}), strata.zeros({n})
    for m = 0, 2 do
      local gm = ml.gbt{n_estimators = 10, max_depth = 2, subsample = 0.6, seed = 4 + m, nthread = 1}
      assert(gm:fit(Xs, y))
      sum_s = sum_s + gm:shap(Xs)
      sum_p = sum_p + gm:predict(Xs)
      gm:free()
    end
    assert.truthy((sum_s / 3 - ens.shap):abs():max() < 1e-12)
    assert.truthy((sum_p / 3 - ens.pred):abs():max() < 1e-12)
    -- a bad parameter is reported by name at training time
    local g2 = ml.gbt{n_estimators = 5, params = {max_depth = "deep"}}
    local ok, err = pcall(function() return g2:fit(Xs, y) end)
    assert.is_false(ok)
    assert.truthy(tostring(err):find("max_depth", 1, true))
  end)

  it("Ward linkage and cut follow a hand-worked example (1-based ids)", function()
    local xs = {0, 1, 5, 6, 20}
    local D = strata.zeros({5, 5})
    for i = 1, 5 do for j = 1, 5 do D:set(i, j, math.abs(xs[i] - xs[j])) end end
    local Z = ml.ward(D)
    assert.same({1, 2, 1, 2}, Z[1]:totable())
    assert.same({3, 4, 1, 2}, Z[2]:totable())
    near(Z:get(3, 3), 5 * math.sqrt(2), 1e-12, "third merge")
    near(Z:get(4, 3), 17 * math.sqrt(1.6), 1e-12, "last merge")
    assert.same({6, 7}, {Z:get(3, 1), Z:get(3, 2)})
    local lab, k = ml.cut(Z, 1)
    assert.same({1, 1, 2, 2, 3}, lab)
    assert.equal(3, k)
  end)

  it("t-SNE is deterministic for a seed and separates clusters", function()
    local rng = strata.rng(9)
    local n = 40
    local P = strata.randn({n, 4}, rng):totable()
    for i = 1, n do if i > 20 then P[i][1] = P[i][1] + 12 end end
    local D = strata.zeros({n, n})
    for i = 1, n do
      for j = 1, n do
        local s = 0
        for a = 1, 4 do s = s + (P[i][a] - P[j][a]) ^ 2 end
        D:set(i, j, math.sqrt(s))
      end
    end
    local Y1, kl1 = ml.tsne(D, {perplexity = 8, iterations = 1000, seed = 3})
    local Y2, kl2 = ml.tsne(D, {perplexity = 8, iterations = 1000, seed = 3})
    assert.equal(kl1, kl2)
    assert.truthy((Y1 - Y2):abs():max() == 0)
    -- every point's nearest map neighbour is in its own cluster
    local y = Y1:totable()
    for i = 1, n do
      local best, bd = nil, math.huge
      for j = 1, n do
        if j ~= i then
          local d = (y[i][1] - y[j][1]) ^ 2 + (y[i][2] - y[j][2]) ^ 2
          if d < bd then bd, best = d, j end
        end
      end
      assert.equal(i > 20, best > 20)
    end
  end)

  it("stratified folds cover every row once; the study's split resamples negatives", function()
    local y = {}
    for i = 1, 50 do y[i] = i % 5 == 0 and 1 or 0 end   -- 10 positives, 40 negatives
    local folds = ml.stratified_kfold(y, 5, ml.rng(1))
    local seen = {}
    for _, f in ipairs(folds) do
      local pos = 0
      for _, i in ipairs(f) do
        assert.is_nil(seen[i])
        seen[i] = true
        pos = pos + y[i]
      end
      assert.equal(2, pos)
      assert.equal(10, #f)
    end
    for i = 1, 50 do assert.truthy(seen[i]) end
    assert.has_error(function() ml.stratified_kfold({1, 0, 0}, 2, ml.rng(1)) end)
    -- majority positives: 40 positives, 10 negatives drawn 40 times -> repeats across parts
    local y2 = {}
    for i = 1, 50 do y2[i] = i % 5 == 0 and 0 or 1 end
    local sp = ml.study_split(y2, ml.rng(2))
    assert.equal(80, #sp.train + #sp.val + #sp.test)
    local cnt = {0, 0}
    for _, part in ipairs({sp.train, sp.val, sp.test}) do
      for _, i in ipairs(part) do cnt[y2[i] + 1] = cnt[y2[i] + 1] + 1 end
    end
    assert.same({40, 40}, cnt)
    local intrain, shared_n = {}, 0
    for _, i in ipairs(sp.train) do intrain[i] = true end
    for _, i in ipairs(sp.test) do if intrain[i] then shared_n = shared_n + 1 end end
    assert.truthy(shared_n > 0, "expected negatives shared between train and test")
    local h, purity = ml.homogeneity({1, 1, 0, 0}, {2, 2, 1, 1})
    near(h, 1, 1e-15, "homogeneity")
    near(purity, 1, 1e-15, "purity")
  end)
end)

describe("error paths", function()
  local LAB = tmp .. "/labels.csv"
  it("report bad label files with file, line and column", function()
    write_text(LAB, "Code,Al,Si\nAAA,0.5,0.1\nBBB,x,0.2\n")
    local t, err = ml.read_label_table(LAB)
    assert.is_nil(t)
    assert.truthy(err:find("labels.csv: line 3: column Al: expected a number, got 'x'", 1, true), err)
    write_text(LAB, "Code,Al,Si\nAAA,0.5,0.1\nAAA,0.5,0.2\n")
    t, err = ml.read_label_table(LAB)
    assert.truthy(err:find("line 3: duplicate Code 'AAA'", 1, true), err)
    write_text(LAB, "Code,Al,Si\nAAA,0.5\n")
    t, err = ml.read_label_table(LAB)
    assert.truthy(err:find("line 2: 2 fields, the header has 3", 1, true), err)
    t, err = ml.read_label_table(tmp .. "/none.csv")
    assert.truthy(err:find("none.csv: cannot read", 1, true), err)
    write_text(LAB, "")
    t, err = ml.read_label_table(LAB)
    assert.truthy(err:find("empty file", 1, true), err)
  end)

  it("report unknown elements and frameworks without a label row", function()
    write_text(LAB, 'Code,Al,"ethylene glycol"\nAAA,0.5,0.1\nBBB,0.1,0.2\n')
    local t = assert(ml.read_label_table(LAB))
    assert.same({"Al", "ethylene glycol"}, t.columns)
    local y, err = ml.binary_labels(t, {"AAA", "BBB"}, "Xx", 0.25)
    assert.is_nil(y)
    assert.truthy(err:find("no column 'Xx' (columns: Al, ethylene glycol)", 1, true), err)
    y, err = ml.binary_labels(t, {"AAA", "CCC", "BBB"}, "Al", 0.25)
    assert.is_nil(y)
    assert.truthy(err:find("no row for 1 of the 3 structures (CCC)", 1, true), err)
    y = ml.binary_labels(t, {"AAA", "CCC", "BBB"}, "Al", 0.25, {missing = "negative"})
    assert.same({1, 0, 0}, y)
    local kept
    y, kept = ml.binary_labels(t, {"AAA", "CCC", "BBB"}, "Al", 0.25, {missing = "drop"})
    assert.same({1, 0}, y)
    assert.same({1, 3}, kept)
  end)

  it("report missing CIFs and frames without a periodic cell", function()
    local set, err = X.read_structures({tmp .. "/missing.cif"})
    assert.is_nil(set)
    assert.truthy(err:find("missing.cif", 1, true), err)
    set, err = X.read_dir(tmp, {names = {"nothere"}})
    assert.is_nil(set)
    assert.truthy(err:find("nothere.cif: no such file", 1, true), err)
    local mol = strata.Atoms{symbols = {"O", "H", "H"}, positions = {{0, 0, 0}, {0.96, 0, 0}, {-0.24, 0.93, 0}}}
    local a, msg = X.amd(mol)
    assert.is_nil(a)
    assert.truthy(type(msg) == "string" and #msg > 0)
    assert.has_error(function() X.amd(mol, {species = "Xx"}) end)
    assert.has_error(function() X.amd(mol, {k = 0}) end)
    assert.has_error(function() X.amd_matrix(strata.zeros({3, 4}), {metric = "l3"}) end)
  end)

  it("make the recipes fail cleanly on bad input", function()
    local rc, msg = recipe("crystal-distance", {tmp .. "/missing.cif", "--out", tmp .. "/cd"})
    assert.equal(1, rc)
    if have_zeo then
      write_text(LAB, "Code,Al\nSOD,0.5\n")
      rc, msg = recipe("synthesis-map", {"--data", ZEO, "--labels", LAB, "--out", tmp .. "/sm", "--quick", "--no-tsne"})
      assert.equal(1, rc)
      assert.truthy(msg:find("no row for 252 of the 253 structures", 1, true), msg)
      rc, msg = recipe("synthesis-map", {"--data", ZEO, "--elements", "Al,Xx", "--out", tmp .. "/sm", "--quick", "--no-tsne"})
      assert.equal(1, rc)
      assert.truthy(msg:find("no column 'Xx'", 1, true), msg)
    end
    rc, msg = recipe("synthesis-map", {"--data", tmp .. "/nodata", "--out", tmp .. "/sm"})
    assert.equal(1, rc)
    assert.truthy(msg:find("zeolite data not found", 1, true), msg)
    rc = recipe("synthesis-map", {"--data", tmp .. "/nodata", "--skip-if-missing"})
    assert.equal(0, rc)
  end)
end)

describe("recipes", function()
  it("crystal-distance writes the matrix, neighbours and npy", function()
    local out = tmp .. "/cd-ok"
    local rc = recipe("crystal-distance", {"tests/data/vasprun_3step.xml", "-k", "6", "--out", out})
    assert.equal(0, rc)
    local names, D = assert(X.read_matrix_csv(out .. "/distances.csv"))
    assert.same({"vasprun_3step#1", "vasprun_3step#2", "vasprun_3step#3"}, names)
    local Dn = assert(strata.npy.load(out .. "/distances.npy"))
    assert.truthy((Dn - D):abs():max() < 1e-15)
    local set = assert(X.read_structures({"tests/data/vasprun_3step.xml"}))
    local want = X.amd_matrix(X.amds(set, {k = 6}))
    assert.truthy((want - D):abs():max() < 1e-15)
    assert.truthy(util.exists(out .. "/neighbours.json"))
  end)

  it("synthesis-map --quick reproduces the reference checks", function()
    if not have_zeo then return pending(SKIP) end
    local out = tmp .. "/sm-ok"
    local rc = recipe("synthesis-map", {"--data", ZEO, "--out", out, "--quick"})
    assert.equal(0, rc)
    local S = assert(util.json_decode(assert(util.read_file(out .. "/summary.json"))))
    assert.truthy(S.amd_check.max_abs_diff < 1e-10)
    near(S.mst.total, 30.4941, 5e-5, "MST total")
    assert.truthy(S.ward.matches_study)
    assert.truthy(S.nearest.SOD.same and S.nearest.LTA.same)
    assert.truthy(util.exists(out .. "/report.md") and util.exists(out .. "/map_mds_clusters.svg"))
    local hdr, rows = util.read_csv(out .. "/classifiers.csv")
    assert.equal("element", hdr[1])
    assert.equal(2 * 3 * 2, #rows)   -- 2 elements x 3 protocols x 2 models
  end)
end)
