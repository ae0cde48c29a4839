-- synthesis-map.lua -- the zeolite synthesis-structure study end to end: crystallographic
-- distances between the 253 IZA frameworks, their minimum spanning tree, Ward clusters and 2-D
-- maps, one classifier per inorganic synthesis condition (element) on distance features under the
-- study's protocol AND a leak-free one, tree SHAP explanations from a model ensemble, and
-- predictions for new frameworks.
--
-- Reference: Schwalbe-Koda, Widdowson, Pham & Kurlin, Digital Discovery 2023 (arXiv:2307.10935);
-- definitions, protocol and reference figures in ../shared/docs/zeolite-maps.md; how to run and
-- what every output means in docs/zeolite-maps.md.  Kernels are C (csrc/crystal, csrc/ml); this
-- file composes them: one call per structure, model or matrix, never per pair in Lua.
--
-- Two classifier protocols, always labelled:
--   study     balance classes by drawing negatives WITH replacement up to the positive count, then
--             60/20/20 train/val/test, several seeds.  Copies of one framework can land in train
--             and test, which inflates the scores; "study, repeats removed" re-scores the same
--             models on the test frameworks that do not occur in train.
--   leak-free repeated stratified k-fold over the frameworks (each in exactly one test fold per
--             repeat), class weights instead of resampling.
-- Features are a framework's row of the AMD distance matrix (distances to all known frameworks);
-- they use no labels, so sharing columns between train and test frameworks is not a leak.
--
-- Does not: search hyper-parameters (it uses the study's chosen XGBoost configuration), relax
-- structures, or fetch the Zenodo data (hyper-parameter searches, 331k hypothetical frameworks).
-- smoke: --quick --skip-if-missing --out $OUT/sm

local cli = require "strata.cli"
local util = require "strata.util"
local crystal = require "strata.crystal"
local ml = require "strata.ml"
local plot = require "strata.plot"
local B = require "strata.backend"

local recipe = {
  name = "synthesis-map",
  summary = "zeolite synthesis-structure maps: AMD/PDD distances, clusters, maps, classifiers (study + leak-free), SHAP",
  usage = [[
Runs the whole zeolite study on --data (default ../shared/data/zeolites): AMD (k = 100) and PDD-EMD
distances of the 253 iza_ideal frameworks checked against the study's matrices; minimum spanning
tree and Ward clusters; nearest neighbours; classical MDS and t-SNE maps; per-element classifiers
(XGBoost with the study's configuration, logistic regression baseline) under the study's protocol
and a leak-free protocol; tree SHAP importances averaged over --models boosters; probabilities for
new frameworks (--new, default DATA/hyp).  Writes tables (CSV/JSON), SVG maps and report.md to --out.

Labels: DATA/synthesis_fraction.csv (or --labels); positive = fraction > --threshold.  Every
framework must have a row (else an error listing the missing codes, or --missing-labels
negative|drop); rows without a structure are ignored; --elements must name columns of the file.

The full run takes several minutes on 2 cores (most of it the SHAP ensemble); --quick is a
seconds-long smoke test with tiny settings.

examples:
  strata synthesis-map --out zeo
  strata synthesis-map --elements Al,Si,Ge --models 20 --no-pdd
  strata synthesis-map --quick --out /tmp/zeo]],
  options = {
    { name = "data", metavar = "DIR", default = (os.getenv("STRATA_SHARED") or "../shared") .. "/data/zeolites",
      help = "zeolite data folder (iza_ideal/, synthesis_fraction.csv, ...)" },
    { name = "out", short = "o", metavar = "DIR", default = "synthesis-map", help = "output folder" },
    { name = "labels", metavar = "CSV", help = "label table (default DATA/synthesis_fraction.csv)" },
    { name = "threshold", type = "number", default = 0.25, help = "positive when the fraction exceeds this" },
    { name = "min-positives", type = "int", default = 10, help = "default elements: those with at least this many positives" },
    { name = "elements", metavar = "EL[,EL]", help = "elements to model (default: all with enough positives)" },
    { name = "missing-labels", type = "choice", values = {"error", "negative", "drop"}, default = "error", help = "frameworks without a label row" },
    { name = "k", short = "k", type = "int", default = 100, help = "neighbours in AMD/PDD" },
    { name = "cut", type = "number", default = 1.0, help = "Ward dendrogram cut height (Å)" },
    { name = "seeds", type = "int", default = 5, help = "study protocol: number of seeds" },
    { name = "folds", type = "int", default = 5, help = "leak-free protocol: folds per repeat" },
    { name = "repeats", type = "int", default = 5, help = "leak-free protocol: repeats" },
    { name = "models", type = "int", default = 100, help = "boosters in the SHAP / prediction ensemble" },
    { name = "rounds", type = "int", default = 200, help = "boosting rounds (the study's n_estimators)" },
    { name = "perplexity", type = "number", default = 30, help = "t-SNE perplexity" },
    { name = "new", metavar = "DIR", help = "folder of new frameworks to predict (default DATA/hyp; 'none' to skip)" },
    { name = "no-pdd", type = "flag", help = "skip the PDD-EMD matrix" },
    { name = "no-tsne", type = "flag", help = "skip the t-SNE map" },
    { name = "seed", type = "int", default = 0, help = "base random seed" },
    { name = "quick", type = "flag", help = "tiny settings for a smoke test (2 elements, 1 seed, 3 folds, 2 models, 20 rounds, no PDD)" },
    { name = "skip-if-missing", type = "flag", help = "exit 0 with a SKIP line when --data is absent" },
  },
}

-- From ../shared/docs/zeolite-maps.md.
local REF = {
  mst_total = 30.4941, mst_longest = 1.0584, ward_sizes = {18, 35, 8, 1, 42, 26, 29, 25, 12, 57},
  nearest = {SOD = {"FRA", "PTT", "DOH", "LOS", "MRT", "WEN", "EAB", "ATT", "LEV", "AWW"},
             LTA = {"FAU", "EMT", "ITV", "SAS", "SYT", "IFU", "AFY", "TSC", "AEI", "KFI"}},
  paper_roc = {Al = 0.90, B = 0.78, Be = 0.78, Ca = 0.65, Co = 0.52, F = 0.74, Ga = 0.59, Ge = 0.74, K = 0.68,
               Mg = 0.69, Na = 0.74, P = 0.70, Si = 0.97, Zn = 0.57},
  positives = {Al = 167, B = 24, Be = 10, Ca = 20, Co = 17, F = 62, Ga = 19, Ge = 46, K = 37, Mg = 11, Na = 87,
               P = 79, Si = 192, Zn = 23},
}
-- The study's chosen XGBoost configuration.
local STUDY_XGB = {colsample_bytree = 0.5, learning_rate = 0.1, max_depth = 4, min_child_weight = 1, subsample = 0.5}

local function say(fmt, ...) print(string.format(fmt, ...)) io.stdout:flush() end
local function nan() return 0 / 0 end
local function isnan(v) return v ~= v end

-- Wall clock (s) with sub-second resolution (os.time has 1 s, os.clock counts CPU of all threads).
local function wall()
  local p = io.popen("date +%s.%N 2>/dev/null")
  local s = p and p:read("*l")
  if p then p:close() end
  return tonumber(s) or os.time()
end

local function die(msg) error(cli.exit(1, "strata synthesis-map: " .. tostring(msg)), 0) end
local function must(ok, err) if not ok then die(err) end return ok end

-- ---- stages ------------------------------------------------------------------------------------

local function stage_distances(S, o)
  local t = wall()
  local set = must(crystal.read_dir(S.data .. "/iza_ideal"))
  S.names = {}
  for i, s in ipairs(set) do S.names[i] = s.name end
  S.n = #set
  S.times.read = wall() - t
  t = wall()
  S.A = must(crystal.amds(set, {k = o.k}))
  S.D = crystal.amd_matrix(S.A)
  S.times.amd = wall() - t
  local R = S.results
  R.frameworks = S.n
  say("%d frameworks, AMD k = %d: read %.2f s, AMDs + matrix %.2f s", S.n, o.k, S.times.read, S.times.amd)
  -- check against the study's matrix (same k only)
  local ref = S.data .. "/iza_dm.csv"
  if o.k == 100 and util.exists(ref) then
    local rn, RD = crystal.read_matrix_csv(ref)
    if not rn then die(RD) end
    local pos = {}
    for i, nm in ipairs(rn) do pos[nm] = i end
    local e, worst = 0, ""
    for i = 1, S.n do
      local ri = pos[S.names[i]]
      if not ri then die(ref .. ": no row for framework " .. S.names[i]) end
      local a, b = S.D[i]:totable(), RD[ri]:totable()
      for j = 1, S.n do
        local d = math.abs(a[j] - b[pos[S.names[j]]])
        if d > e then e, worst = d, S.names[i] .. ":" .. S.names[j] end
      end
    end
    R.amd_check = {max_abs_diff = e, worst_pair = worst, reference = "iza_dm.csv"}
    say("  AMD matrix vs iza_dm.csv: max |diff| = %.3g (at %s)", e, worst)
  end
  if not o.no_pdd then
    t = wall()
    local P = must(crystal.pdds(set, {k = o.k}))
    S.E = crystal.pdd_matrix(P)
    S.times.pdd = wall() - t
    say("  PDD-EMD matrix: %.2f s", S.times.pdd)
    local eref = S.data .. "/reference/pdd_emd_k100.csv"
    if o.k == 100 and util.exists(eref) then
      local rn, RE = crystal.read_matrix_csv(eref)
      if not rn then die(RE) end
      local pos = {}
      for i, nm in ipairs(rn) do pos[nm] = i end
      local e, viol = 0, 0
      for i = 1, S.n do
        local a, b, d = S.E[i]:totable(), RE[pos[S.names[i]]]:totable(), S.D[i]:totable()
        for j = 1, S.n do
          e = math.max(e, math.abs(a[j] - b[pos[S.names[j]]]))
          viol = math.max(viol, d[j] - a[j])
        end
      end
      R.pdd_check = {max_abs_diff = e, reference = "reference/pdd_emd_k100.csv", max_amd_minus_emd = viol}
      say("  PDD-EMD vs reference: max |diff| = %.3g; max(L-inf AMD - EMD) = %.3g (must be <= ~1e-4)", e, viol)
    end
  end
  S.set = set
end

local function stage_graph(S, o)
  local R = S.results
  local t = wall()
  local mst = ml.mst(S.D)
  R.mst = {edges = #mst.edges, total = mst.total, longest = mst.longest, reference_total = REF.mst_total,
           reference_longest = REF.mst_longest}
  say("MST: %d edges, total %.4f (study 30.4941), longest %.4f (study 1.0584)", #mst.edges, mst.total, mst.longest)
  local rows = {}
  for i, e in ipairs(mst.edges) do rows[i] = {S.names[e[1]], S.names[e[2]], e[3]} end
  must(util.write_csv(S.out .. "/mst_edges.csv", {"from", "to", "distance"}, rows))
  local Z = ml.ward(S.D)
  local lab, k = ml.cut(Z, o.cut)
  S.clusters = lab
  local sizes = ml.cluster_sizes(lab)
  local sa, sb = {}, {}
  for i, v in ipairs(sizes) do sa[i] = v end
  for i, v in ipairs(REF.ward_sizes) do sb[i] = v end
  table.sort(sa); table.sort(sb)
  local same = #sa == #sb
  for i = 1, #sa do same = same and sa[i] == sb[i] end
  R.ward = {threshold = o.cut, clusters = k, sizes = sizes, matches_study = o.cut == 1 and o.k == 100 and same or nil}
  say("Ward cut at %g: %d clusters, sizes [%s]%s", o.cut, k, table.concat(sizes, ", "),
      (o.cut == 1 and o.k == 100) and (same and " (= the study's, up to order)" or " (study: [18, 35, 8, 1, 42, 26, 29, 25, 12, 57])") or "")
  rows = {}
  for i = 1, S.n do rows[i] = {S.names[i], lab[i]} end
  must(util.write_csv(S.out .. "/clusters.csv", {"code", "cluster"}, rows))
  local lrows = {}
  for r = 1, Z.shape[1] do lrows[r] = Z[r]:totable() end
  must(util.write_csv(S.out .. "/ward_linkage.csv", {"a", "b", "height", "size"}, lrows))
  -- nearest neighbours
  local nn = crystal.nearest(S.D, 10, {names = S.names})
  rows = {}
  R.nearest = {}
  for i, lst in ipairs(nn) do
    for r, e in ipairs(lst) do rows[#rows + 1] = {S.names[i], r, e.name, e.distance} end
    local want = REF.nearest[S.names[i]]
    if want then
      local got = {}
      for r, e in ipairs(lst) do got[r] = e.name end
      local ok = table.concat(got, " ") == table.concat(want, " ")
      R.nearest[S.names[i]] = {got = got, study = want, same = ok}
      say("  10 nearest to %s: %s%s", S.names[i], table.concat(got, " "), ok and " (= study)" or " (study: " .. table.concat(want, " ") .. ")")
    end
  end
  must(util.write_csv(S.out .. "/neighbours.csv", {"code", "rank", "neighbour", "amd_distance"}, rows))
  S.times.graph = wall() - t
end

local function stage_maps(S, o)
  local t = wall()
  local C, ev = ml.mds(S.D, 2)
  if not C then die(ev) end
  S.mds = C:totable()
  S.results.mds = {eigenvalues = ev}
  if not o.no_tsne then
    local Y, kl = ml.tsne(S.D, {perplexity = o.perplexity, iterations = o.quick and 300 or 1000, seed = o.seed + 1})
    if not Y then die(kl) end
    S.tsne = Y:totable()
    S.results.tsne = {kl = kl, perplexity = o.perplexity}
  end
  local rows = {}
  for i = 1, S.n do
    rows[i] = {S.names[i], S.mds[i][1], S.mds[i][2], S.tsne and S.tsne[i][1] or "", S.tsne and S.tsne[i][2] or "", S.clusters[i]}
  end
  must(util.write_csv(S.out .. "/map.csv", {"code", "mds1", "mds2", "tsne1", "tsne2", "cluster"}, rows))
  local labels = {}
  for i, nm in ipairs(S.names) do if REF.nearest[nm] or nm == "FAU" or nm == "MFI" or nm == "CHA" then labels[i] = nm end end
  local cn = {}
  for c = 1, #ml.cluster_sizes(S.clusters) do cn[c] = "cluster " .. c end
  local function map(path, pts, title, xl, yl)
    local xs, ys = {}, {}
    for i = 1, S.n do xs[i], ys[i] = pts[i][1], pts[i][2] end
    must(plot.scatter_map(path, {x = xs, y = ys, title = title, xlabel = xl, ylabel = yl, categories = S.clusters,
                                 category_names = cn, labels = labels}))
  end
  map(S.out .. "/map_mds_clusters.svg", S.mds, "Classical MDS of AMD distances, Ward clusters", "MDS 1 (Å)", "MDS 2 (Å)")
  if S.tsne then map(S.out .. "/map_tsne_clusters.svg", S.tsne, "t-SNE of AMD distances, Ward clusters", "t-SNE 1", "t-SNE 2") end
  S.times.maps = wall() - t
  say("maps: MDS (top eigenvalues %.3g, %.3g)%s, %.2f s", ev[1], ev[2],
      S.results.tsne and string.format(", t-SNE KL %.3f", S.results.tsne.kl) or "", S.times.maps)
end

local function stage_labels(S, o)
  local path = o.labels or (S.data .. "/synthesis_fraction.csv")
  local tbl, err = ml.read_label_table(path)
  if not tbl then die(err) end
  local inset = {}
  for _, nm in ipairs(S.names) do inset[nm] = true end
  local extra = 0
  for _, key in ipairs(tbl.keys) do if not inset[key] then extra = extra + 1 end end
  -- candidate elements: columns that are element symbols
  local elements = {}
  if o.elements then
    for el in o.elements:gmatch("[^,%s]+") do elements[#elements + 1] = el end
  end
  local keep = nil   -- frameworks kept (missing-labels = drop)
  local Y, counts = {}, {}
  local cols = elements
  if #cols == 0 then
    cols = {}
    for _, c in ipairs(tbl.columns) do
      local z = B.element_number(c)
      if z and z > 0 then cols[#cols + 1] = c end
    end
  end
  local chosen = {}
  for _, el in ipairs(cols) do
    local y, kept = ml.binary_labels(tbl, S.names, el, o.threshold, {missing = o.missing_labels})
    if not y then die(kept) end
    if keep and #kept ~= #keep then die("label rows differ between columns") end
    keep = kept
    local npos = 0
    for _, v in ipairs(y) do npos = npos + v end
    counts[el] = npos
    if #elements > 0 then
      if npos < 2 or #y - npos < 2 then
        die(string.format("%s: element %s has %d positives of %d frameworks; need at least 2 of each class", path, el, npos, #y))
      end
      chosen[#chosen + 1] = el
    elseif npos >= o.min_positives then
      chosen[#chosen + 1] = el
    end
    Y[el] = y
  end
  if #chosen == 0 then die(path .. ": no element has " .. o.min_positives .. " positives") end
  if o.quick and #elements == 0 and #chosen > 2 then chosen = {chosen[1], chosen[#chosen]} end
  S.elements, S.Y, S.keep = chosen, Y, keep
  if #keep ~= S.n then
    -- drop frameworks without labels from the modelling (features keep all columns)
    S.Xall = ml.rows(S.D, keep)
  else
    S.Xall = S.D
  end
  S.model_names = ml.take(S.names, keep)
  local parts = {}
  for _, el in ipairs(chosen) do parts[#parts + 1] = el .. " " .. counts[el] end
  S.results.labels = {file = path, threshold = o.threshold, rows_without_structure = extra, frameworks_used = #keep,
                      missing_labels = o.missing_labels, positives = counts, elements = chosen}
  say("labels: %s (positive = fraction > %g; %d rows without a structure ignored): %s", path, o.threshold, extra,
      table.concat(parts, ", "))
  local rows = {}
  for i, nm in ipairs(S.model_names) do
    local r = {nm}
    for _, el in ipairs(chosen) do r[#r + 1] = Y[el][i] end
    rows[i] = r
  end
  local hdr = {"code"}
  for _, el in ipairs(chosen) do hdr[#hdr + 1] = el end
  must(util.write_csv(S.out .. "/labels.csv", hdr, rows))
end

local function stage_homogeneity(S)
  local rows, comp = {}, {}
  local cl = ml.take(S.clusters, S.keep)
  local k = #ml.cluster_sizes(S.clusters)
  S.results.homogeneity = {}
  for _, el in ipairs(S.elements) do
    local h, purity = ml.homogeneity(S.Y[el], cl)
    local npos = 0
    for _, v in ipairs(S.Y[el]) do npos = npos + v end
    local base = math.max(npos, #cl - npos) / #cl
    rows[#rows + 1] = {el, h, purity, base}
    S.results.homogeneity[el] = {homogeneity = h, purity = purity, majority_baseline = base}
  end
  must(util.write_csv(S.out .. "/cluster_homogeneity.csv", {"element", "homogeneity", "purity", "majority_fraction"}, rows))
  for c = 1, k do
    local r = {c}
    local size = 0
    for i = 1, #cl do if cl[i] == c then size = size + 1 end end
    r[2] = size
    for _, el in ipairs(S.elements) do
      local p = 0
      for i = 1, #cl do if cl[i] == c then p = p + S.Y[el][i] end end
      r[#r + 1] = size > 0 and p / size or nan()
    end
    comp[c] = r
  end
  local hdr = {"cluster", "size"}
  for _, el in ipairs(S.elements) do hdr[#hdr + 1] = "frac_" .. el end
  must(util.write_csv(S.out .. "/cluster_composition.csv", hdr, comp))
end

-- One evaluation: train on rows tr, score rows te (indices into S.Xall).  Returns {roc, ap} for
-- xgb and lr (NaN when a metric is undefined on this test set).
local function evaluate(S, o, y, tr, te, seed, weighted)
  local Xtr, Xte = ml.rows(S.Xall, tr), ml.rows(S.Xall, te)
  local ytr, yte = ml.take(y, tr), ml.take(y, te)
  local npos = 0
  for _, v in ipairs(ytr) do npos = npos + v end
  local cfg = {n_estimators = o.rounds, seed = seed}
  for k, v in pairs(STUDY_XGB) do cfg[k] = v end
  if weighted then cfg.scale_pos_weight = (#ytr - npos) / npos end
  local g = ml.gbt(cfg)
  must(g:fit(Xtr, ytr))
  local px = g:predict(Xte):totable()
  g:free()
  local lr, err = ml.logreg(Xtr, ytr, {C = 1, standardize = true, balanced = weighted})
  local pl = lr and lr:predict(Xte):totable() or nil
  local function metrics(p)
    if not p then return nan(), nan() end
    return ml.roc_auc(yte, p) or nan(), ml.average_precision(yte, p) or nan()
  end
  local r = {}
  r.xgb_roc, r.xgb_ap = metrics(px)
  r.lr_roc, r.lr_ap = metrics(pl)
  r.lr_error = err
  return r, yte, px, pl
end

local function stage_classifiers(S, o)
  local t = wall()
  local n = #S.model_names
  local runs = {}
  local summary = {}
  local total = #S.elements * (o.seeds + o.folds * o.repeats)
  local prog = util.progress("classifiers", total)
  for ei, el in ipairs(S.elements) do
    local y = S.Y[el]
    local acc = {}
    local function add(proto, model, metric, v)
      local key = proto .. "|" .. model .. "|" .. metric
      acc[key] = acc[key] or {}
      acc[key][#acc[key] + 1] = v
    end
    -- the study's protocol
    for s = 1, o.seeds do
      local rng = ml.rng(o.seed + 1000 * s + ei)
      local sp = ml.study_split(y, rng)
      local r, yte, px, pl = evaluate(S, o, y, sp.train, sp.test, o.seed + s, false)
      add("study", "xgb", "roc", r.xgb_roc); add("study", "xgb", "ap", r.xgb_ap)
      add("study", "lr", "roc", r.lr_roc); add("study", "lr", "ap", r.lr_ap)
      runs[#runs + 1] = {el, "study", s, 0, #sp.test, r.xgb_roc, r.xgb_ap, r.lr_roc, r.lr_ap}
      -- the same models on test frameworks absent from train (the leak removed)
      local intrain, seen, keep = {}, {}, {}
      for _, i in ipairs(sp.train) do intrain[i] = true end
      for pos, i in ipairs(sp.test) do
        if not intrain[i] and not seen[i] then keep[#keep + 1] = pos; seen[i] = true end
      end
      local yk, xk, lk = ml.take(yte, keep), ml.take(px, keep), pl and ml.take(pl, keep) or nil
      local okx = #keep > 0
      local rx = okx and (ml.roc_auc(yk, xk) or nan()) or nan()
      local ax = okx and (ml.average_precision(yk, xk) or nan()) or nan()
      local rl = (okx and lk) and (ml.roc_auc(yk, lk) or nan()) or nan()
      local al = (okx and lk) and (ml.average_precision(yk, lk) or nan()) or nan()
      add("study-dedup", "xgb", "roc", rx); add("study-dedup", "xgb", "ap", ax)
      add("study-dedup", "lr", "roc", rl); add("study-dedup", "lr", "ap", al)
      runs[#runs + 1] = {el, "study-dedup", s, 0, #keep, rx, ax, rl, al}
      prog:step()
    end
    -- leak-free: repeated stratified k-fold, class weights
    for rep = 1, o.repeats do
      local folds = ml.stratified_kfold(y, o.folds, ml.rng(o.seed + 7919 * rep + ei))
      for f, te in ipairs(folds) do
        local tr = ml.complement(n, te)
        local r = evaluate(S, o, y, tr, te, o.seed + 100 * rep + f, true)
        add("leak-free", "xgb", "roc", r.xgb_roc); add("leak-free", "xgb", "ap", r.xgb_ap)
        add("leak-free", "lr", "roc", r.lr_roc); add("leak-free", "lr", "ap", r.lr_ap)
        runs[#runs + 1] = {el, "leak-free", rep, f, #te, r.xgb_roc, r.xgb_ap, r.lr_roc, r.lr_ap}
        prog:step()
      end
    end
    local npos = 0
    for _, v in ipairs(y) do npos = npos + v end
    summary[el] = {positives = npos, prevalence = npos / n}
    for key, vals in pairs(acc) do
      local m, sd, cnt = ml.mean_std(vals)
      summary[el][key] = {mean = m, std = sd, n = cnt}
    end
  end
  prog:done()
  S.times.classifiers = wall() - t
  S.summary = summary
  must(util.write_csv(S.out .. "/classifier_runs.csv",
                      {"element", "protocol", "seed_or_repeat", "fold", "n_test", "xgb_roc_auc", "xgb_pr_auc", "lr_roc_auc", "lr_pr_auc"}, runs))
  local rows = {}
  for _, el in ipairs(S.elements) do
    local s = summary[el]
    for _, proto in ipairs({"study", "study-dedup", "leak-free"}) do
      for _, model in ipairs({"xgb", "lr"}) do
        local r, a = s[proto .. "|" .. model .. "|roc"], s[proto .. "|" .. model .. "|ap"]
        rows[#rows + 1] = {el, s.positives, proto, model, r.mean, r.std, a.mean, a.std, r.n, s.prevalence,
                           proto == "study" and model == "xgb" and REF.paper_roc[el] or ""}
      end
    end
  end
  must(util.write_csv(S.out .. "/classifiers.csv", {"element", "positives", "protocol", "model", "roc_auc_mean",
                      "roc_auc_std", "pr_auc_mean", "pr_auc_std", "evaluations", "prevalence", "paper_roc_auc"}, rows))
  -- console table
  say("classifiers (%d seeds study; %dx%d leak-free CV; mean ± std ROC AUC; PR AUC vs prevalence), %.1f s:", o.seeds,
      o.repeats, o.folds, S.times.classifiers)
  say("  %-3s %4s | %-11s %-11s %-11s | %-11s %-11s | %-11s %-5s | paper", "el", "pos", "study XGB", "st-dedup X",
      "study LR", "leakfree X", "leakfree LR", "leakfree PR", "prev")
  local means = {study = {}, dedup = {}, free = {}, free_lr = {}, paper = {}}
  for _, el in ipairs(S.elements) do
    local s = summary[el]
    local function ms(key) local v = s[key]; return string.format("%.2f±%.2f", v.mean, v.std) end
    say("  %-3s %4d | %-11s %-11s %-11s | %-11s %-11s | %-11s %-5.2f | %s", el, s.positives, ms("study|xgb|roc"),
        ms("study-dedup|xgb|roc"), ms("study|lr|roc"), ms("leak-free|xgb|roc"), ms("leak-free|lr|roc"),
        ms("leak-free|xgb|ap"), s.prevalence, REF.paper_roc[el] and string.format("%.2f", REF.paper_roc[el]) or "-")
    means.study[#means.study + 1] = s["study|xgb|roc"].mean
    means.dedup[#means.dedup + 1] = s["study-dedup|xgb|roc"].mean
    means.free[#means.free + 1] = s["leak-free|xgb|roc"].mean
    means.free_lr[#means.free_lr + 1] = s["leak-free|lr|roc"].mean
    means.paper[#means.paper + 1] = REF.paper_roc[el] or nan()
  end
  local agg = {}
  for k, v in pairs(means) do agg[k] = (ml.mean_std(v)) end
  -- where the balancing duplicates negatives (more positives than negatives) the leak is largest
  local dup = {}
  for _, el in ipairs(S.elements) do
    local s = summary[el]
    if s.positives > n - s.positives then
      dup[#dup + 1] = {element = el, study = s["study|xgb|roc"].mean, dedup = s["study-dedup|xgb|roc"].mean,
                       leak_free = s["leak-free|xgb|roc"].mean}
    end
  end
  S.results.classifiers = {per_element = summary, mean_roc_auc = agg, config = STUDY_XGB, rounds = o.rounds,
                           seeds = o.seeds, folds = o.folds, repeats = o.repeats, duplicated_negatives = dup,
                           leak = agg.study - agg.dedup}
  say("  mean ROC AUC over elements: study %.3f (paper %.3f); the same models without the repeated frameworks %.3f " ..
      "(the leak: %+.3f); leak-free XGB %.3f, LR %.3f", agg.study, agg.paper, agg.dedup, agg.study - agg.dedup,
      agg.free, agg.free_lr)
  for _, d in ipairs(dup) do
    say("  %s (negatives duplicated by the balancing): study %.2f -> %.2f without repeats, %.2f leak-free", d.element,
        d.study, d.dedup, d.leak_free)
  end
end

local function stage_ensemble(S, o)
  local t = wall()
  local n = #S.model_names
  -- new frameworks: AMD cross distances to the known set (the same features as in training)
  local newdir = o.new or (S.data .. "/hyp")
  local Xnew, newnames, nn_new
  if newdir ~= "none" then
    local set, err = crystal.read_dir(newdir)
    if not set then
      if o.new then die(err) end   -- the default folder may simply be absent
    else
      local A = must(crystal.amds(set, {k = o.k}))
      Xnew = crystal.amd_cross(A, S.A)   -- rows: new structures; columns: all known frameworks
      newnames = {}
      for i, s in ipairs(set) do newnames[i] = s.name end
      nn_new = crystal.nearest(Xnew, 5, {names = S.names, exclude_self = false})
    end
  end
  local prog = util.progress("SHAP ensemble", #S.elements * o.models)
  local imp_rows, top_rows, preds = {}, {}, {}
  S.results.shap = {}
  local pts = S.tsne or S.mds
  for _, el in ipairs(S.elements) do
    local y = S.Y[el]
    local npos = 0
    for _, v in ipairs(y) do npos = npos + v end
    local cfg = {n_estimators = o.rounds, seed = o.seed + 1, scale_pos_weight = (n - npos) / npos, models = o.models,
                 predict = Xnew}
    for k, v in pairs(STUDY_XGB) do cfg[k] = v end
    local ens = must(ml.gbt_ensemble(S.Xall, y, cfg))   -- boosters in parallel, averaged in seed order
    local acc, pacc = ens.shap, ens.pred
    prog:step(o.models)
    -- importance of feature j (distance to framework j): mean over frameworks of |mean SHAP|
    local imp = acc:abs():mean(1):totable()
    local order = {}
    for j = 1, S.n do order[j] = j; imp_rows[#imp_rows + 1] = {el, S.names[j], imp[j]} end
    table.sort(order, function(a, b) if imp[a] ~= imp[b] then return imp[a] > imp[b] end return a < b end)
    local lab = {}
    for i, nm in ipairs(S.model_names) do lab[nm] = y[i] end
    local top = {}
    for r = 1, math.min(10, S.n) do
      local j = order[r]
      top[r] = S.names[j]
      top_rows[#top_rows + 1] = {el, r, S.names[j], imp[j], lab[S.names[j]] or ""}
    end
    S.results.shap[el] = {top = top}
    if pacc then preds[el] = pacc:totable() end
    -- map coloured by importance, positives outlined
    local xs, ys, vals, outline, labels = {}, {}, {}, {}, {}
    for j = 1, S.n do
      xs[j], ys[j], vals[j] = pts[j][1], pts[j][2], imp[j]
      outline[j] = lab[S.names[j]] == 1
    end
    for r = 1, math.min(5, S.n) do labels[order[r]] = S.names[order[r]] end
    must(plot.scatter_map(S.out .. "/map_shap_" .. el .. ".svg", {
      x = xs, y = ys, values = vals, outline = outline, labels = labels,
      title = string.format("%s: importance of the distance to each framework (%d models)", el, o.models),
      value_label = "mean |SHAP|", outline_label = el .. " positive",
      xlabel = S.tsne and "t-SNE 1" or "MDS 1 (Å)", ylabel = S.tsne and "t-SNE 2" or "MDS 2 (Å)"}))
  end
  prog:done()
  must(util.write_csv(S.out .. "/shap_importance.csv", {"element", "framework", "mean_abs_shap"}, imp_rows))
  must(util.write_csv(S.out .. "/shap_top.csv", {"element", "rank", "framework", "mean_abs_shap", "framework_label"}, top_rows))
  S.times.ensemble = wall() - t
  say("SHAP ensemble: %d boosters per element, %.1f s; frameworks whose distances matter most:", o.models, S.times.ensemble)
  for _, el in ipairs(S.elements) do say("  %-3s %s", el, table.concat(S.results.shap[el].top, " ", 1, math.min(5, #S.results.shap[el].top))) end
  if newnames then
    local rows = {}
    local hdr = {"structure", "nearest", "nearest_distance", "nearest5"}
    for _, el in ipairs(S.elements) do hdr[#hdr + 1] = "p_" .. el end
    S.results.predictions = {}
    say("predictions for %d new frameworks from %s (ensemble mean probability):", #newnames, newdir)
    for i, nm in ipairs(newnames) do
      local near = {}
      for r, e in ipairs(nn_new[i]) do near[r] = string.format("%s:%.3f", e.name, e.distance) end
      local row = {nm, nn_new[i][1].name, nn_new[i][1].distance, table.concat(near, " ")}
      local probs, show = {}, {}
      for _, el in ipairs(S.elements) do
        row[#row + 1] = preds[el][i]
        probs[el] = preds[el][i]
        show[#show + 1] = string.format("%s %.2f", el, preds[el][i])
      end
      rows[i] = row
      S.results.predictions[nm] = {nearest = nn_new[i][1].name, nearest_distance = nn_new[i][1].distance, p = probs}
      say("  %-8s nearest %s (%.3f Å): %s", nm, nn_new[i][1].name, nn_new[i][1].distance, table.concat(show, ", "))
    end
    must(util.write_csv(S.out .. "/predictions.csv", hdr, rows))
  end
end

-- ---- report --------------------------------------------------------------------------------------

local function fmt(v, p) if type(v) ~= "number" or isnan(v) then return "n/a" end return string.format("%." .. (p or 3) .. "f", v) end

local function write_report(S, o)
  local R = S.results
  local L = {}
  local function w(s) L[#L + 1] = s or "" end
  w("# Zeolite synthesis-structure maps")
  w()
  w("Reproduction of Schwalbe-Koda, Widdowson, Pham & Kurlin, *Digital Discovery* 2023 (arXiv:2307.10935) with Strata.")
  w(string.format("Data: `%s`; settings: k = %d, Ward cut %g, %d seeds (study), %d x %d CV (leak-free), %d boosters (SHAP), %d rounds.",
                  S.data, o.k, o.cut, o.seeds, o.repeats, o.folds, o.models, o.rounds))
  w()
  w("## Distances")
  w()
  w(string.format("- %d frameworks; AMD matrix in %.2f s (read %.2f s)%s.", R.frameworks, S.times.amd, S.times.read,
                  R.amd_check and string.format("; max |diff| vs the study's `iza_dm.csv`: %.2g", R.amd_check.max_abs_diff) or ""))
  if S.times.pdd then
    w(string.format("- PDD-EMD matrix in %.2f s%s.", S.times.pdd, R.pdd_check and
      string.format("; max |diff| vs `reference/pdd_emd_k100.csv`: %.2g; max(L-inf AMD - EMD) = %.2g", R.pdd_check.max_abs_diff,
                    R.pdd_check.max_amd_minus_emd) or ""))
  end
  w(string.format("- Minimum spanning tree: total %.4f Å, longest edge %.4f Å (study: 30.4941, 1.0584).", R.mst.total, R.mst.longest))
  w(string.format("- Ward clusters at %g Å: %d, sizes [%s]%s.", o.cut, R.ward.clusters, table.concat(R.ward.sizes, ", "),
                  R.ward.matches_study and " -- the study's sizes up to order" or ""))
  for nm, v in pairs(R.nearest or {}) do
    w(string.format("- 10 nearest to %s: %s%s.", nm, table.concat(v.got, " "), v.same and " (as in the study)" or " (study: " .. table.concat(v.study, " ") .. ")"))
  end
  w()
  w("Maps: `map_mds_clusters.svg`" .. (S.tsne and ", `map_tsne_clusters.svg`" or "") .. " (coordinates in `map.csv`).")
  w()
  w("## Cluster homogeneity per element")
  w()
  w("| element | positives | homogeneity | purity | majority fraction |")
  w("|---|---|---|---|---|")
  for _, el in ipairs(S.elements) do
    local h = R.homogeneity[el]
    w(string.format("| %s | %d | %s | %s | %s |", el, R.labels.positives[el], fmt(h.homogeneity), fmt(h.purity), fmt(h.majority_baseline)))
  end
  w()
  w("Homogeneity = 1 - H(label | cluster) / H(label); purity above the majority fraction means clusters separate the label.")
  w()
  w("## Classifiers")
  w()
  w("Features: each framework's row of the AMD distance matrix.  XGBoost with the study's configuration " ..
    "(colsample_bytree 0.5, learning_rate 0.1, max_depth 4, min_child_weight 1, n_estimators " .. o.rounds ..
    ", subsample 0.5); logistic regression (L2, C = 1, standardised columns) as a baseline.")
  w()
  w("- **study**: negatives drawn WITH replacement to the positive count, 60/20/20 split, " .. o.seeds .. " seeds. Leaks: copies of a framework in train and test.")
  w("- **study, repeats removed**: the same models scored only on test frameworks absent from train.")
  w("- **leak-free**: " .. o.repeats .. " x " .. o.folds .. "-fold stratified CV over frameworks, class weights (XGBoost scale_pos_weight, balanced LR).")
  w()
  w("ROC AUC, mean ± std over seeds / folds:")
  w()
  w("| element | pos | study XGB | study, repeats removed | study LR | leak-free XGB | leak-free LR | paper |")
  w("|---|---|---|---|---|---|---|---|")
  local C = R.classifiers.per_element
  local function ms(e, key) local v = C[e][key]; return fmt(v.mean, 2) .. " ± " .. fmt(v.std, 2) end
  for _, el in ipairs(S.elements) do
    w(string.format("| %s | %d | %s | %s | %s | %s | %s | %s |", el, C[el].positives, ms(el, "study|xgb|roc"),
                    ms(el, "study-dedup|xgb|roc"), ms(el, "study|lr|roc"), ms(el, "leak-free|xgb|roc"), ms(el, "leak-free|lr|roc"),
                    REF.paper_roc[el] and fmt(REF.paper_roc[el], 2) or "-"))
  end
  local agg = R.classifiers.mean_roc_auc
  w()
  w(string.format("Mean over elements: study %.3f (paper %.3f); the same models scored without the frameworks repeated " ..
                  "from train %.3f, so the leak is worth %+.3f; leak-free protocol XGB %.3f, LR %.3f.", agg.study, agg.paper,
                  agg.dedup, agg.study - agg.dedup, agg.free, agg.free_lr))
  local dup = R.classifiers.duplicated_negatives
  if #dup > 0 then
    local parts = {}
    for _, d in ipairs(dup) do
      parts[#parts + 1] = string.format("%s %.2f -> %.2f (repeats removed) / %.2f (leak-free)", d.element, d.study, d.dedup, d.leak_free)
    end
    w()
    w("The leak is largest where positives outnumber negatives, because the balancing then draws each negative " ..
      "framework two to three times on average: " .. table.concat(parts, "; ") .. ". For rare elements the study's protocol instead " ..
      "discards most negatives (it trains on 2 x positives rows, 60% of them), so its scores are low and very noisy " ..
      "(test sets of 4-10 rows), and comparing its mean with the leak-free mean mixes the two effects.")
  end
  w()
  w("PR AUC (average precision), leak-free, against the prevalence (the score of a random ranking):")
  w()
  w("| element | prevalence | leak-free XGB | leak-free LR | study XGB |")
  w("|---|---|---|---|---|")
  for _, el in ipairs(S.elements) do
    w(string.format("| %s | %s | %s | %s | %s |", el, fmt(C[el].prevalence, 2), ms(el, "leak-free|xgb|ap"), ms(el, "leak-free|lr|ap"), ms(el, "study|xgb|ap")))
  end
  w()
  w("## Explanations (tree SHAP, " .. o.models .. " boosters per element)")
  w()
  w("Importance of feature j = mean over frameworks of |SHAP value of the distance to framework j|, SHAP averaged over the ensemble " ..
    "(class-weighted boosters on all frameworks, seeds 1.." .. o.models .. "). Maps: `map_shap_<El>.svg`.")
  w()
  w("| element | most important distances (to) |")
  w("|---|---|")
  for _, el in ipairs(S.elements) do w(string.format("| %s | %s |", el, table.concat(R.shap[el].top, ", "))) end
  if R.predictions then
    w()
    w("## New frameworks")
    w()
    local hdr, sep = "| structure | nearest (Å) |", "|---|---|"
    for _, el in ipairs(S.elements) do hdr = hdr .. " p(" .. el .. ") |"; sep = sep .. "---|" end
    w(hdr); w(sep)
    local nm_sorted = {}
    for nm in pairs(R.predictions) do nm_sorted[#nm_sorted + 1] = nm end
    table.sort(nm_sorted)
    for _, nm in ipairs(nm_sorted) do
      local p = R.predictions[nm]
      local line = string.format("| %s | %s (%.3f) |", nm, p.nearest, p.nearest_distance)
      for _, el in ipairs(S.elements) do line = line .. " " .. fmt(p.p[el], 2) .. " |" end
      w(line)
    end
    w()
    w("Features of a new framework are its AMD distances to the known frameworks (the training columns).")
  end
  w()
  w("## Files")
  w()
  w("`amd.npy`, `amd_dm.csv/.npy`" .. (S.E and ", `pdd_emd_dm.csv/.npy`" or "") .. ", `names.json`, `mst_edges.csv`, `ward_linkage.csv`, " ..
    "`clusters.csv`, `cluster_composition.csv`, `cluster_homogeneity.csv`, `neighbours.csv`, `map.csv`, `labels.csv`, " ..
    "`classifier_runs.csv`, `classifiers.csv`, `shap_importance.csv`, `shap_top.csv`" .. (R.predictions and ", `predictions.csv`" or "") ..
    ", `summary.json`, SVG maps.  Timings (wall, s): " ..
    (function()
      local t = {}
      for _, k in ipairs({"read", "amd", "pdd", "graph", "maps", "classifiers", "ensemble", "total"}) do
        if S.times[k] then t[#t + 1] = string.format("%s %.1f", k, S.times[k]) end
      end
      return table.concat(t, ", ")
    end)() .. ".")
  must(util.write_file(S.out .. "/report.md", table.concat(L, "\n") .. "\n"))
end

function recipe.run(args)
  local o = cli.parse(recipe, args)
  if o.quick then
    o.seeds, o.folds, o.repeats, o.models, o.rounds, o.no_pdd = math.min(o.seeds, 1), 3, 1, math.min(o.models, 2), math.min(o.rounds, 20), true
  end
  for _, k in ipairs({"k", "seeds", "folds", "repeats", "models", "rounds"}) do
    if o[k] < 1 then cli.usage_error(recipe, "option '--%s': must be >= 1, got %d", k, o[k]) end
  end
  if o.folds < 2 then cli.usage_error(recipe, "option '--folds': must be >= 2, got %d", o.folds) end
  if not util.exists(o.data .. "/iza_ideal/SOD.cif") and not crystal.listdir(o.data .. "/iza_ideal") then
    if o.skip_if_missing then
      print("SKIP: zeolite data not found at " .. o.data .. " (expected iza_ideal/ and synthesis_fraction.csv)")
      return 0
    end
    die(o.data .. ": zeolite data not found (expected " .. o.data .. "/iza_ideal/*.cif)")
  end
  must(util.mkdir_p(o.out))
  local S = {data = o.data, out = o.out, times = {}, results = {}}
  local t0 = wall()
  stage_distances(S, o)
  local npy = require "strata.npy"
  must(npy.save(S.out .. "/amd.npy", S.A))
  must(npy.save(S.out .. "/amd_dm.npy", S.D))
  must(crystal.write_matrix_csv(S.out .. "/amd_dm.csv", S.names, S.D))
  if S.E then
    must(npy.save(S.out .. "/pdd_emd_dm.npy", S.E))
    must(crystal.write_matrix_csv(S.out .. "/pdd_emd_dm.csv", S.names, S.E))
  end
  must(util.write_json(S.out .. "/names.json", S.names))
  stage_graph(S, o)
  stage_maps(S, o)
  stage_labels(S, o)
  stage_homogeneity(S)
  stage_classifiers(S, o)
  stage_ensemble(S, o)
  S.times.total = wall() - t0
  S.results.seconds = S.times
  S.results.settings = {k = o.k, cut = o.cut, seeds = o.seeds, folds = o.folds, repeats = o.repeats, models = o.models,
                        rounds = o.rounds, seed = o.seed, threshold = o.threshold, quick = o.quick or false}
  must(util.write_json(S.out .. "/summary.json", S.results))
  write_report(S, o)
  say("done in %.1f s; report: %s/report.md", S.times.total, S.out)
  return 0
end

return recipe
