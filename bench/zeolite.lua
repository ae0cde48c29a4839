-- bench/zeolite.lua -- timings of the synthesis-map pipeline stages on the 253 IZA frameworks,
-- printed beside the reference figures of ../shared/docs/zeolite-maps.md.  Nothing is asserted.
--   bin/strata bench/zeolite.lua          (run by bench/run.sh; ZEO_MODELS=n boosters to time, default 5)
-- Wall-clock times (date +%s.%N); the machine may be shared, so treat them as indicative.
local X = require "strata.crystal"
local ml = require "strata.ml"
local util = require "strata.util"

local DATA = (os.getenv("STRATA_SHARED") or "../shared") .. "/data/zeolites"
if not util.exists(DATA .. "/iza_ideal/SOD.cif") then
  print("  SKIP: " .. DATA .. "/iza_ideal not found")
  return
end
local function wall()
  local p = io.popen("date +%s.%N")
  local s = p:read("*l")
  p:close()
  return tonumber(s)
end
local function time(f)
  local t = wall()
  local a, b = f()
  return wall() - t, a, b
end
local function row(what, sec, ref)
  print(string.format("  %-44s %9.3f s   %s", what, sec, ref or ""))
end

print(string.format("  threads: %d", require("strata").get_num_threads()))
local t_read, set = time(function() return assert(X.read_dir(DATA .. "/iza_ideal")) end)
row("read + expand 253 CIFs", t_read, "(Python average-minimum-distance: 0.6 s)")
local t_amd, A = time(function() return assert(X.amds(set)) end)
row("AMD k = 100, 253 frameworks", t_amd, "(Python: 0.67 s)")
local t_mat, D = time(function() return X.amd_matrix(A) end)
row("AMD L-inf matrix 253 x 253", t_mat)
row("  => AMD matrix incl. reading", t_read + t_amd + t_mat, "(study: 1.82 s)")
local t_pdd, P = time(function() return assert(X.pdds(set)) end)
row("PDD k = 100, 253 frameworks", t_pdd)
local t_emd = time(function() return X.pdd_matrix(P) end)
local pairs_n = 253 * 252 / 2
row("PDD-EMD matrix (31,878 pairs)", t_emd, string.format("(Python: 5.7 s = 178 us/pair; here %.0f us/pair)", 1e6 * t_emd / pairs_n))
row("minimum spanning tree", (time(function() return ml.mst(D) end)))
row("Ward linkage + cut", (time(function() return ml.cut(ml.ward(D), 1) end)))
row("classical MDS (2 axes)", (time(function() return ml.mds(D, 2) end)))
row("t-SNE (1000 iterations)", (time(function() return ml.tsne(D, {seed = 1}) end)))

local tbl = assert(ml.read_label_table(DATA .. "/synthesis_fraction.csv"))
local names = {}
for i, s in ipairs(set) do names[i] = s.name end
local y = assert(ml.binary_labels(tbl, names, "Al", 0.25))
local nm = tonumber(os.getenv("ZEO_MODELS") or "5")
local cfg = {n_estimators = 200, max_depth = 4, learning_rate = 0.1, subsample = 0.5, colsample_bytree = 0.5,
             min_child_weight = 1}
local t_fit = time(function()
  for m = 1, nm do
    cfg.seed = m
    local g = ml.gbt(cfg)
    assert(g:fit(D, y))
    g:free()
  end
end)
row(string.format("XGBoost fit, 253 x 253, 200 rounds (x%d)", nm), t_fit / nm, "per model")
cfg.seed, cfg.models = 1, nm
local t_ens = time(function() return assert(ml.gbt_ensemble(D, y, cfg)) end)
row(string.format("  same boosters as one parallel ensemble + SHAP"), t_ens / nm, string.format("per model (%.1fx)", t_fit / t_ens))
cfg.models = nil
local g = ml.gbt(cfg)
assert(g:fit(D, y))
row("tree SHAP, 253 rows", (time(function() return g:shap(D) end)))
row("logistic regression (Newton, standardised)", (time(function() return ml.logreg(D, y, {standardize = true, balanced = true}) end)))
local full = 14 * (5 + 25 + 100)
print(string.format("  => the default synthesis-map run fits about %d boosters (1400 of them in ensembles): ~%.0f s of XGBoost",
                    full, (full - 1400) * t_fit / nm + 1400 * t_ens / nm))
