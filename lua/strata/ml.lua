-- strata.ml: machine-learning helpers for analyses, the Lua API over csrc/ml (strata/ml.h), plus
-- the data plumbing around them (row selection, resampling, stratified folds, label tables).
--
--   local ml = require "strata.ml"                -- or strata.ml
--   ml.roc_auc(y, score), ml.average_precision(y, score)    -- ties handled exactly
--   local t = ml.mst(D)                           -- {edges = {{i, j, w}, ...}, total=, longest=}
--   local Z = ml.ward(D); local lab, k = ml.cut(Z, 1.0)     -- SciPy-style linkage, 1-based ids
--   local X2 = ml.mds(D, 2); local Y = ml.tsne(D, {seed = 1})
--   local lr = ml.logreg(X, y, {C = 1, balanced = true, standardize = true}); lr:predict(Xt)
--   local g = ml.gbt{n_estimators = 200, max_depth = 4}; g:fit(X, y); g:predict(Xt); g:shap(Xt)
--   ml.stratified_kfold(y, 5, rng), ml.study_split(y, rng), ml.rows(X, idx)
--
-- Labels are 0/1 (Lua tables or 1-d arrays); features are n x p float64 arrays (rows = samples).
-- Randomness comes from strata's seeded generator (array.rng), the same on Lua 5.4 and LuaJIT.
-- Errors: wrong types and shapes raise; "expected" failures (only one class in a fold, Newton not
-- converging, unreadable label file) return nil, message.
-- Does not: tune hyper-parameters, pick thresholds, or plot (see the synthesis-map recipe).
-- Runs on Lua 5.4 and LuaJIT.
local B = require "strata.backend"
local array = require "strata.array"
local util = require "strata.util"

local M = {}

local function vec(t, what, level)
  if array.is_array(t) then return t end
  if type(t) ~= "table" then error(what .. ": expected a table or a 1-d array, got " .. type(t), level + 1) end
  if #t == 0 then error(what .. ": empty", level + 1) end
  local c = {}
  for i = 1, #t do
    local v = t[i]
    if type(v) == "boolean" then v = v and 1 or 0 end
    if type(v) ~= "number" then error(what .. ": element " .. i .. " is a " .. type(v), level + 1) end
    c[i] = v
  end
  return array.array(c, "float64", {#c})
end
M.vector = function(t) return vec(t, "vector", 2) end

local function mat(X, what, level)
  if array.is_array(X) then
    if X.ndim ~= 2 then error(what .. ": expected a 2-d array (rows = samples), got " .. X.ndim .. "-d", level + 1) end
    return X
  end
  if type(X) == "table" then return array.array(X) end
  error(what .. ": expected an n x p array, got " .. type(X), level + 1)
end

local function tolist(v) return array.is_array(v) and v:totable() or v end

-- ---- metrics -------------------------------------------------------------------------------------

--- ROC AUC with ties (= P(s+ > s-) + P(tie)/2); nil, message if only one class is present.
function M.roc_auc(y, score) return B.ml_roc_auc(vec(y, "roc_auc: labels", 2), vec(score, "roc_auc: scores", 2)) end

--- Average precision (step-wise PR AUC, tie groups as one threshold); nil, message without positives.
function M.average_precision(y, score)
  return B.ml_average_precision(vec(y, "average_precision: labels", 2), vec(score, "average_precision: scores", 2))
end

--- Mean and sample standard deviation (n - 1) of a list; NaN entries are skipped; n = count used.
function M.mean_std(t)
  local s, n = 0, 0
  for _, v in ipairs(t) do if v == v then s = s + v; n = n + 1 end end
  if n == 0 then return 0 / 0, 0 / 0, 0 end
  local m = s / n
  local q = 0
  for _, v in ipairs(t) do if v == v then q = q + (v - m) ^ 2 end end
  return m, n > 1 and math.sqrt(q / (n - 1)) or 0, n
end

-- ---- graphs, clustering, embeddings --------------------------------------------------------------

--- Minimum spanning tree: {edges = {{i, j, w}, ...} (1-based, Prim order from vertex 1),
--- total = sum of weights, longest = largest weight}.
function M.mst(D)
  local e, w = B.ml_mst(mat(D, "mst", 2))
  if not e then return nil, w end
  local et, wt = e:totable(), w:totable()
  local out, tot, longest = {}, 0, 0
  for k = 1, #wt do
    out[k] = {et[k][1], et[k][2], wt[k]}
    tot = tot + wt[k]
    if wt[k] > longest then longest = wt[k] end
  end
  return {edges = out, total = tot, longest = longest}
end

--- Ward linkage (n-1) x 4 array: rows (a, b, height, size), ids 1..n leaves, n+i the cluster
--- made in row i (SciPy's format with ids shifted by one).
function M.ward(D) return B.ml_ward(mat(D, "ward", 2)) end

--- Flat clusters of a linkage at a distance threshold: labels (Lua table, 1..k in order of each
--- cluster's first member) and k.
function M.cut(Z, threshold)
  if type(threshold) ~= "number" then error("cut: threshold must be a number", 2) end
  local lab, k = B.ml_linkage_cut(Z, threshold)
  if not lab then return nil, k end
  return lab:totable(), k
end

--- Sizes of clusters 1..k from a label list.
function M.cluster_sizes(labels)
  local s = {}
  for _, l in ipairs(labels) do s[l] = (s[l] or 0) + 1 end
  for i = 1, #s do s[i] = s[i] or 0 end
  return s
end

--- Homogeneity of a clustering with respect to classes: 1 - H(C|K) / H(C) (Rosenberg &
--- Hirschberg, EMNLP 2007); 1 when every cluster holds one class.  Also returns the purity
--- (fraction of items in their cluster's majority class).
function M.homogeneity(classes, clusters)
  local n = #classes
  local nc, nk, nck = {}, {}, {}
  for i = 1, n do
    local c, k = classes[i], clusters[i]
    nc[c] = (nc[c] or 0) + 1
    nk[k] = (nk[k] or 0) + 1
    nck[k] = nck[k] or {}
    nck[k][c] = (nck[k][c] or 0) + 1
  end
  local hc, hck, pure = 0, 0, 0
  for _, v in pairs(nc) do hc = hc - v / n * math.log(v / n) end
  for k, row in pairs(nck) do
    local best = 0
    for _, v in pairs(row) do
      hck = hck - v / n * math.log(v / nk[k])
      if v > best then best = v end
    end
    pure = pure + best
  end
  local h = hc > 0 and 1 - hck / hc or 1
  return h, pure / n
end

--- Classical MDS: coordinates (n x ndim array) and eigenvalues (Lua table, decreasing).
function M.mds(D, ndim)
  local c, e = B.ml_mds(mat(D, "mds", 2), ndim or 2)
  if not c then return nil, e end
  return c, e:totable()
end

--- Exact t-SNE on a distance matrix: coordinates (n x ndim) and the final KL divergence.
--- opts: ndim (2), perplexity (30), iterations (1000), learning_rate (auto), early_exaggeration
--- (12), exaggeration_iters (250), seed (0).
function M.tsne(D, opts) return B.ml_tsne(mat(D, "tsne", 2), opts) end

-- ---- models --------------------------------------------------------------------------------------

local LogReg = {}
LogReg.__index = LogReg

--- L2 logistic regression by exact Newton.  opts: C (1; math.huge = no penalty), balanced,
--- class_weight = {w0, w1}, intercept (true), standardize, max_iter, tol; weights = sample
--- weights.  Returns a model {coef = array, intercept =, info =} with :predict(X); nil, message if
--- Newton did not converge.
function M.logreg(X, y, opts, weights)
  local coef, b, info = B.ml_logreg_fit(mat(X, "logreg", 2), vec(y, "logreg: labels", 2), opts,
                                        weights and vec(weights, "logreg: weights", 2) or nil)
  if not coef then return nil, b end
  return setmetatable({coef = coef, intercept = b, info = info}, LogReg)
end

function LogReg:predict(X) return B.ml_logreg_predict(mat(X, "logreg:predict", 2), self.coef, self.intercept) end

--- Objective f and gradient (p + 1; w then b) at (coef, intercept), for checks.
function M.logreg_objective(X, y, coef, intercept, opts, weights)
  return B.ml_logreg_objective(mat(X, "logreg_objective", 2), vec(y, "logreg_objective: labels", 2),
                               vec(coef, "logreg_objective: coefficients", 2), intercept, opts,
                               weights and vec(weights, "logreg_objective: weights", 2) or nil)
end

local Gbt = {}
Gbt.__index = Gbt

--- A gradient-boosted tree model (XGBoost).  opts: n_estimators (100), max_depth (6),
--- learning_rate (0.3), subsample, colsample_bytree, min_child_weight, reg_lambda, gamma,
--- scale_pos_weight, seed, nthread, objective ("binary:logistic" | "reg:squarederror"); params =
--- {name = value} for any other XGBoost parameter.
function M.gbt(opts)
  opts = opts or {}
  local h = B.ml_gbt_create(opts)
  local self = setmetatable({h = h, opts = opts}, Gbt)
  for k, v in pairs(opts.params or {}) do B.ml_gbt_set_param(h, k, v) end
  return self
end

function Gbt:set(name, value) B.ml_gbt_set_param(self.h, name, value); return self end
--- Train from scratch on X (n x p), y (n), optional sample weights.
function Gbt:fit(X, y, weights)
  local ok, err = B.ml_gbt_train(self.h, mat(X, "gbt:fit", 2), vec(y, "gbt:fit: labels", 2),
                                 weights and vec(weights, "gbt:fit: weights", 2) or nil)
  if not ok then return nil, err end
  return self
end
function Gbt:predict(X) return B.ml_gbt_predict(self.h, mat(X, "gbt:predict", 2), false) end
function Gbt:margin(X) return B.ml_gbt_predict(self.h, mat(X, "gbt:margin", 2), true) end
--- Tree SHAP values n x (p + 1), bias in the last column; rows sum to the margin.
function Gbt:shap(X) return B.ml_gbt_shap(self.h, mat(X, "gbt:shap", 2)) end
function Gbt:nfeatures() return B.ml_gbt_nfeatures(self.h) end
function Gbt:free() B.ml_gbt_free(self.h) end

--- An ensemble of opts.models boosters (seeds opts.seed + 0..models-1), trained in parallel on
--- (X, y[, opts.weights]) and averaged: {shap = n x (p + 1) mean tree SHAP on X (unless
--- opts.shap == false), pred = mean prediction on opts.predict (a q x p array) or nil}.
--- Boosting options as in ml.gbt.  Results do not depend on the thread count.
function M.gbt_ensemble(X, y, opts)
  opts = opts or {}
  local models = opts.models or 100
  local sh, pr = B.ml_gbt_ensemble(mat(X, "gbt_ensemble", 2), vec(y, "gbt_ensemble: labels", 2), opts, models,
                                   opts.weights and vec(opts.weights, "gbt_ensemble: weights", 2) or nil,
                                   opts.predict and mat(opts.predict, "gbt_ensemble: predict", 2) or nil,
                                   opts.shap ~= false)
  if sh == nil then return nil, pr end
  return {shap = sh or nil, pred = pr or nil}
end

-- ---- data plumbing -------------------------------------------------------------------------------

--- Rows idx (1-based, repeats allowed) of X as a new n_idx x p array.
function M.rows(X, idx)
  X = mat(X, "rows", 2)
  local p = X.shape[2]
  local out = array.zeros({#idx, p})
  for r = 1, #idx do out[r] = X[idx[r]] end
  return out
end

--- Entries idx of a list (or 1-d array) as a Lua table.
function M.take(t, idx)
  t = tolist(t)
  local out = {}
  for r = 1, #idx do out[r] = t[idx[r]] end
  return out
end

M.rng = array.rng

--- Fisher-Yates shuffle in place with a strata rng; returns t.
function M.shuffle(t, rng)
  for i = #t, 2, -1 do
    local j = math.floor(rng:uniform() * i) + 1
    if j > i then j = i end
    t[i], t[j] = t[j], t[i]
  end
  return t
end

local function classes_of(y)
  y = tolist(y)
  local pos, neg = {}, {}
  for i, v in ipairs(y) do
    if v == 1 or v == true then pos[#pos + 1] = i
    elseif v == 0 or v == false then neg[#neg + 1] = i
    else error("labels: element " .. i .. " is " .. tostring(v) .. ", expected 0 or 1", 3) end
  end
  return pos, neg
end

--- Stratified k-fold: a list of k test sets (lists of row indices, sorted); every row in exactly
--- one, each class spread as evenly as possible.  Errors if a class has fewer than k members.
function M.stratified_kfold(y, k, rng)
  local pos, neg = classes_of(y)
  if #pos < k or #neg < k then
    error(string.format("stratified_kfold: %d positives and %d negatives cannot fill %d folds", #pos, #neg, k), 2)
  end
  local folds = {}
  for f = 1, k do folds[f] = {} end
  local start = 0
  for _, cls in ipairs({pos, neg}) do
    M.shuffle(cls, rng)
    for r, i in ipairs(cls) do
      local f = (start + r - 1) % k + 1
      folds[f][#folds[f] + 1] = i
    end
    start = start + #cls   -- continue the rotation so fold sizes stay balanced
  end
  for f = 1, k do table.sort(folds[f]) end
  return folds
end

--- Complement of a test set within 1..n.
function M.complement(n, test)
  local inn, out = {}, {}
  for _, i in ipairs(test) do inn[i] = true end
  for i = 1, n do if not inn[i] then out[#out + 1] = i end end
  return out
end

--- The reference study's split (Schwalbe-Koda et al. 2023): keep every positive, draw as many
--- negatives WITH replacement, shuffle, and cut 60/20/20 into train/val/test within each class
--- (so every part has both classes).  Returns {train=, val=, test=} as lists of ORIGINAL row
--- indices -- with repeats, so one framework can sit in train and test at once (the leak the
--- leak-free protocol removes).  opts.fractions = {0.6, 0.2, 0.2}.
function M.study_split(y, rng, opts)
  opts = opts or {}
  local fr = opts.fractions or {0.6, 0.2, 0.2}
  local pos, neg = classes_of(y)
  if #pos < 3 or #neg < 1 then
    error(string.format("study_split: %d positives and %d negatives; need >= 3 and >= 1", #pos, #neg), 2)
  end
  local drawn = {}
  for r = 1, #pos do drawn[r] = neg[math.min(#neg, math.floor(rng:uniform() * #neg) + 1)] end
  local parts = {train = {}, val = {}, test = {}}
  local pcopy = {}
  for r = 1, #pos do pcopy[r] = pos[r] end
  for _, cls in ipairs({M.shuffle(pcopy, rng), M.shuffle(drawn, rng)}) do
    local n = #cls
    local ntest = math.max(1, math.floor(fr[3] * n + 0.5))
    local nval = math.max(1, math.floor(fr[2] * n + 0.5))
    if ntest + nval >= n then nval = math.max(0, n - ntest - 1) end
    for r, i in ipairs(cls) do
      local part = r <= ntest and "test" or (r <= ntest + nval and "val" or "train")
      parts[part][#parts[part] + 1] = i
    end
  end
  return parts
end

-- ---- label tables --------------------------------------------------------------------------------

-- Split one CSV line (quoted fields allowed, no embedded newlines).
local function split_csv_line(line)
  local out, i, n = {}, 1, #line
  while i <= n + 1 do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while j <= n do
        local c = line:sub(j, j)
        if c == '"' then
          if line:sub(j + 1, j + 1) == '"' then buf[#buf + 1] = '"'; j = j + 2
          else j = j + 1; break end
        else buf[#buf + 1] = c; j = j + 1 end
      end
      out[#out + 1] = table.concat(buf)
      i = j + 1   -- skip the comma
    else
      local j = line:find(",", i, true) or (n + 1)
      out[#out + 1] = line:sub(i, j - 1)
      i = j + 1
    end
  end
  return out
end

--- Read a table of per-item values: header "key,col1,col2,...", one row per item, numeric cells.
--- Returns {path=, key=, columns = {...}, keys = {...}, values = {key = {col = v}}}; nil, message
--- naming file, line and column on: missing file, empty file, duplicate key, wrong field count,
--- non-numeric or non-finite cell.
function M.read_label_table(path)
  local text, err = util.read_file(path)
  if not text then return nil, path .. ": cannot read: " .. tostring(err) end
  local lines = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = (line:gsub("\r$", "")) end
  while #lines > 0 and lines[#lines] == "" do lines[#lines] = nil end
  if #lines == 0 then return nil, path .. ": empty file" end
  local header = split_csv_line(lines[1])
  if #header < 2 then return nil, path .. ": line 1: expected a key column and at least one value column" end
  local cols = {}
  for c = 2, #header do
    if header[c] == "" then return nil, string.format("%s: line 1: column %d has no name", path, c) end
    cols[#cols + 1] = header[c]
  end
  local t = {path = path, key = header[1], columns = cols, keys = {}, values = {}}
  for ln = 2, #lines do
    local line = lines[ln]
    if line ~= "" then
      local f = split_csv_line(line)
      if #f ~= #header then
        return nil, string.format("%s: line %d: %d fields, the header has %d", path, ln, #f, #header)
      end
      local key = f[1]
      if key == "" then return nil, string.format("%s: line %d: empty %s", path, ln, header[1] ~= "" and header[1] or "key") end
      if t.values[key] then return nil, string.format("%s: line %d: duplicate %s '%s'", path, ln, header[1], key) end
      local row = {}
      for c = 2, #f do
        local v = tonumber(f[c])
        if v == nil or v ~= v or v == math.huge or v == -math.huge then
          return nil, string.format("%s: line %d: column %s: expected a number, got '%s'", path, ln, header[c], f[c])
        end
        row[header[c]] = v
      end
      t.values[key] = row
      t.keys[#t.keys + 1] = key
    end
  end
  if #t.keys == 0 then return nil, path .. ": no data rows" end
  return t
end

--- Binary labels for `names` from a label table column: 1 when value > threshold.  opts.missing:
--- "error" (default; nil, message listing the missing names), "negative" (label 0) or "drop" (the
--- name is left out; the second result lists the kept positions).  An unknown column is an error
--- naming the available ones.  Returns labels (Lua table), kept positions.
function M.binary_labels(tbl, names, column, threshold, opts)
  opts = opts or {}
  threshold = threshold or 0
  local known = false
  for _, c in ipairs(tbl.columns) do if c == column then known = true end end
  if not known then
    return nil, string.format("%s: no column '%s' (columns: %s)", tbl.path or "labels", tostring(column),
                              table.concat(tbl.columns, ", "))
  end
  local y, kept, missing = {}, {}, {}
  for i, nm in ipairs(names) do
    local row = tbl.values[nm]
    if row then
      y[#y + 1] = row[column] > threshold and 1 or 0
      kept[#kept + 1] = i
    elseif opts.missing == "negative" then
      y[#y + 1] = 0
      kept[#kept + 1] = i
    elseif opts.missing ~= "drop" then
      missing[#missing + 1] = nm
    end
  end
  if #missing > 0 then
    local show = {}
    for i = 1, math.min(10, #missing) do show[i] = missing[i] end
    return nil, string.format("%s: no row for %d of the %d structures (%s%s)", tbl.path or "labels", #missing, #names,
                              table.concat(show, ", "), #missing > 10 and ", ..." or "")
  end
  return y, kept
end

M.doc = {
  [M.roc_auc] = "ml.roc_auc(y, score) -> ROC AUC with ties; nil, msg if one class only",
  [M.average_precision] = "ml.average_precision(y, score) -> step-wise PR AUC; nil, msg without positives",
  [M.mst] = "ml.mst(D) -> {edges = {{i, j, w}...}, total=, longest=}",
  [M.ward] = "ml.ward(D) -> (n-1) x 4 linkage (SciPy format, ids 1-based)",
  [M.cut] = "ml.cut(Z, threshold) -> labels (1..k), k",
  [M.mds] = "ml.mds(D[, ndim=2]) -> n x ndim coordinates, eigenvalues",
  [M.tsne] = "ml.tsne(D[, {perplexity=30, iterations=1000, seed=0}]) -> n x 2 coordinates, KL",
  [M.logreg] = "ml.logreg(X, y[, {C=1, balanced=, standardize=}]) -> model with :predict(X)",
  [M.gbt] = "ml.gbt{n_estimators=, max_depth=, learning_rate=, ...} -> model with :fit, :predict, :shap",
  [M.gbt_ensemble] = "ml.gbt_ensemble(X, y, {models=100, predict=Xq, ...}) -> {shap = mean SHAP, pred = mean prediction}",
  [M.stratified_kfold] = "ml.stratified_kfold(y, k, rng) -> k lists of test rows",
  [M.study_split] = "ml.study_split(y, rng) -> {train=, val=, test=} with resampled negatives (the study's protocol)",
  [M.read_label_table] = "ml.read_label_table(path) -> {columns=, keys=, values=}; nil, msg",
  [M.binary_labels] = "ml.binary_labels(tbl, names, column, threshold[, {missing='error'|'negative'|'drop'}])",
}

return M
