-- strata.ffi_ml: FFI versions of the ML primitives of csrc/lua/ml.c (ranking metrics, MST, Ward
-- linkage and cut, MDS, t-SNE, logistic regression, XGBoost boosters), same names, results
-- (1-based indices) and messages.  Loaded by strata.ffi_crystal.
local ffi = require "ffi"

return function(M)
  local C, P = M.C, M._private
  local ctx, fail, check, dense = P.ctx, P.fail, P.check, P.dense

  local function square(a, what)
    local d, keep = dense(a, 2, what)
    if d.shape[0] ~= d.shape[1] then
      error(string.format("%s: distance matrix must be square, got %d x %d", what, tonumber(d.shape[0]), tonumber(d.shape[1])), 3)
    end
    return d, keep, tonumber(d.shape[0])
  end

  local function ranking(which, Y, S)
    local name = which == 1 and "average_precision" or "roc_auc"
    local y, ky = dense(Y, 1, name)
    local s, ks = dense(S, 1, name)
    if y.shape[0] ~= s.shape[0] then
      error(string.format("%s: %d labels but %d scores", name, tonumber(y.shape[0]), tonumber(s.shape[0])), 3)
    end
    local out = ffi.new("double[1]")
    local rc
    if which == 1 then rc = C.st_ml_average_precision(ctx, y.shape[0], y.data, s.data, out)
    else rc = C.st_ml_roc_auc(ctx, y.shape[0], y.data, s.data, out) end
    local _ = {ky, ks}
    if rc ~= 0 then return fail(rc) end
    return out[0]
  end
  function M.ml_roc_auc(y, s) return ranking(0, y, s) end
  function M.ml_average_precision(y, s) return ranking(1, y, s) end

  function M.ml_mst(D)
    local d, keep, n = square(D, "mst")
    local e, w = M.array_alloc("int64", {n - 1, 2}), M.array_alloc("float64", {n - 1})
    local rc = C.st_ml_mst(ctx, n, d.data, n, e.v.data, w.v.data)
    local _ = keep
    if rc ~= 0 then return fail(rc) end
    local ep = ffi.cast("int64_t *", e.v.data)
    for i = 0, 2 * (n - 1) - 1 do ep[i] = ep[i] + 1 end
    return e, w
  end

  function M.ml_ward(D)
    local d, keep, n = square(D, "ward")
    local z = M.array_alloc("float64", {n - 1, 4})
    local rc = C.st_ml_ward(ctx, n, d.data, n, z.v.data)
    local _ = keep
    if rc ~= 0 then return fail(rc) end
    local zp = ffi.cast("double *", z.v.data)
    for i = 0, n - 2 do zp[4 * i] = zp[4 * i] + 1; zp[4 * i + 1] = zp[4 * i + 1] + 1 end
    return z
  end

  function M.ml_linkage_cut(Z, t)
    local z, keep = dense(Z, 2, "linkage_cut")
    if type(t) ~= "number" then
      error("bad argument #2 to 'ml_linkage_cut' (number expected, got " .. type(t) .. ")", 2)
    end
    if z.shape[1] ~= 4 then error("linkage_cut: linkage must have 4 columns, got " .. tonumber(z.shape[1]), 2) end
    local n = tonumber(z.shape[0]) + 1
    local zz = ffi.new("double[?]", 4 * (n - 1) + 1)
    local zp = ffi.cast("double *", z.data)
    for i = 0, 4 * (n - 1) - 1 do zz[i] = zp[i] - (i % 4 < 2 and 1 or 0) end
    local lab = M.array_alloc("int32", {n})
    local k = ffi.new("int64_t[1]")
    local rc = C.st_ml_linkage_cut(ctx, n, zz, t, lab.v.data, k)
    local _ = keep
    if rc ~= 0 then return fail(rc) end
    local lp = ffi.cast("int32_t *", lab.v.data)
    for i = 0, n - 1 do lp[i] = lp[i] + 1 end
    return lab, tonumber(k[0])
  end

  function M.ml_mds(D, ndim)
    local d, keep, n = square(D, "mds")
    ndim = ndim or 2
    if ndim < 1 or ndim > n then error(string.format("mds: ndim = %d, expected 1..%d", ndim, n), 2) end
    local c, e = M.array_alloc("float64", {n, ndim}), M.array_alloc("float64", {ndim})
    local rc = C.st_ml_mds(ctx, n, d.data, n, ndim, c.v.data, e.v.data)
    local _ = keep
    if rc ~= 0 then return fail(rc) end
    return c, e
  end

  local function optnum(t, k)
    local v = t[k]
    if v ~= nil and type(v) ~= "number" then error("option '" .. k .. "' must be a number", 4) end
    return v or 0
  end

  function M.ml_tsne(D, t)
    local d, keep, n = square(D, "tsne")
    local o = ffi.new("st_tsne_opts")
    if t ~= nil then
      o.ndim = optnum(t, "ndim")
      o.perplexity = optnum(t, "perplexity")
      o.iterations = optnum(t, "iterations")
      o.learning_rate = optnum(t, "learning_rate")
      o.early_exaggeration = optnum(t, "early_exaggeration")
      o.exaggeration_iters = optnum(t, "exaggeration_iters")
      o.seed = optnum(t, "seed")
    end
    local k = o.ndim ~= 0 and o.ndim or 2
    if k < 1 or k > 3 then error("tsne: ndim = " .. k .. ", expected 1, 2 or 3", 2) end
    local c = M.array_alloc("float64", {n, k})
    local kl = ffi.new("double[1]")
    local rc = C.st_ml_tsne(ctx, n, d.data, n, o, c.v.data, kl)
    local _ = keep
    if rc ~= 0 then return fail(rc) end
    return c, kl[0]
  end

  local function logreg_opts(t)
    local o = ffi.new("st_logreg_opts")
    if t ~= nil then
      if type(t) ~= "table" then error("logreg: options must be a table", 4) end
      o.C = optnum(t, "C")
      o.max_iter = optnum(t, "max_iter")
      o.tol = optnum(t, "tol")
      o.balanced = t.balanced and 1 or 0
      o.standardize = t.standardize and 1 or 0
      o.no_intercept = t.intercept == false and 1 or 0
      if t.class_weight ~= nil then
        o.class_weight[0] = t.class_weight[1] or 0
        o.class_weight[1] = t.class_weight[2] or 0
      end
    end
    return o
  end

  local function xy(X, Y, W, what)
    local x, kx = dense(X, 2, what)
    local y, ky = dense(Y, 1, what)
    if y.shape[0] ~= x.shape[0] then
      error(string.format("%s: %d rows but %d labels", what, tonumber(x.shape[0]), tonumber(y.shape[0])), 3)
    end
    local w, kw
    if W ~= nil then
      w, kw = dense(W, 1, what)
      if w.shape[0] ~= x.shape[0] then
        error(string.format("%s: %d rows but %d weights", what, tonumber(x.shape[0]), tonumber(w.shape[0])), 3)
      end
    end
    return x, y, w, {kx, ky, kw}
  end

  function M.ml_logreg_fit(X, Y, t, W)
    local x, y, w, keep = xy(X, Y, W, "logreg_fit")
    local o = logreg_opts(t)
    local p = tonumber(x.shape[1])
    local coef = M.array_alloc("float64", {p})
    local b = ffi.new("double[1]")
    local info = ffi.new("st_logreg_info")
    local rc = C.st_ml_logreg_fit(ctx, x.shape[0], p, x.data, p, y.data, w and w.data or nil, o, coef.v.data, b, info)
    local _ = keep
    if rc ~= 0 then return fail(rc) end
    return coef, b[0], {iterations = info.iterations, objective = info.objective, grad_norm = info.grad_norm}
  end

  function M.ml_logreg_objective(X, Y, Coef, b, t, W)
    local x, y, w, keep = xy(X, Y, W, "logreg_objective")
    local c, kc = dense(Coef, 1, "logreg_objective: coefficients")
    if type(b) ~= "number" then error("bad argument #4 to 'ml_logreg_objective' (number expected, got " .. type(b) .. ")", 2) end
    local o = logreg_opts(t)
    local p = tonumber(x.shape[1])
    if tonumber(c.shape[0]) ~= p then error(string.format("logreg_objective: %d coefficients for %d columns", tonumber(c.shape[0]), p), 2) end
    local g = M.array_alloc("float64", {p + 1})
    local f = ffi.new("double[1]")
    local rc = C.st_ml_logreg_objective(ctx, x.shape[0], p, x.data, p, y.data, w and w.data or nil, o, c.data, b, f, g.v.data)
    local _ = {keep, kc}
    if rc ~= 0 then return fail(rc) end
    return f[0], g
  end

  function M.ml_logreg_predict(X, Coef, b)
    local x, kx = dense(X, 2, "logreg_predict")
    local c, kc = dense(Coef, 1, "logreg_predict: coefficients")
    if type(b) ~= "number" then error("bad argument #3 to 'ml_logreg_predict' (number expected, got " .. type(b) .. ")", 2) end
    local n, p = tonumber(x.shape[0]), tonumber(x.shape[1])
    if tonumber(c.shape[0]) ~= p then error(string.format("logreg_predict: %d coefficients for %d columns", tonumber(c.shape[0]), p), 2) end
    local out = M.array_alloc("float64", {n})
    local rc = C.st_ml_logreg_predict(ctx, n, p, x.data, p, c.data, b, out.v.data)
    local _ = {kx, kc}
    if rc ~= 0 then return fail(rc) end
    return out
  end

  -- Boosters: a box {g = cdata with a finaliser}; freed boxes raise on use.
  local OBJ = {["binary:logistic"] = 0, ["reg:squarederror"] = 1}
  local function gbt_of(h)
    if type(h) ~= "table" or h.__gbt ~= true then error("expected a gbt booster", 3) end
    if h.g == nil then error("gbt: booster used after it was freed", 3) end
    return h.g
  end

  local function gbt_opts(t)
    local o = ffi.new("st_gbt_opts")
    if t ~= nil then
      if type(t) ~= "table" then error("gbt: options must be a table", 3) end
      o.n_estimators = optnum(t, "n_estimators")
      o.max_depth = optnum(t, "max_depth")
      o.learning_rate = optnum(t, "learning_rate")
      o.subsample = optnum(t, "subsample")
      o.colsample_bytree = optnum(t, "colsample_bytree")
      o.min_child_weight = optnum(t, "min_child_weight")
      o.reg_lambda = optnum(t, "reg_lambda")
      o.gamma = optnum(t, "gamma")
      o.scale_pos_weight = optnum(t, "scale_pos_weight")
      o.seed = optnum(t, "seed")
      o.nthread = optnum(t, "nthread")
      if t.objective ~= nil then
        o.objective = OBJ[t.objective] or error("bad argument #-1 to 'ml_gbt_create' (invalid option '" ..
                                                 tostring(t.objective) .. "')", 3)
      end
    end
    return o
  end

  function M.ml_gbt_create(t)
    local o = gbt_opts(t)
    local out = ffi.new("st_gbt *[1]")
    local rc = C.st_gbt_create(ctx, o, out)
    if rc ~= 0 then return fail(rc) end
    return {__gbt = true, g = ffi.gc(out[0], C.st_gbt_destroy)}
  end

  function M.ml_gbt_ensemble(X, Y, t, m, W, Q, want)
    local x, y, w, keep = xy(X, Y, W, "gbt_ensemble")
    local o = gbt_opts(t)
    if type(m) ~= "number" or m % 1 ~= 0 or m < 1 or m > 1000000 then
      error("gbt_ensemble: nmodels = " .. tostring(m) .. ", expected 1..1000000", 2)
    end
    local n, p = tonumber(x.shape[0]), tonumber(x.shape[1])
    local q, kq
    if Q ~= nil then
      q, kq = dense(Q, 2, "gbt_ensemble: query rows")
      if tonumber(q.shape[1]) ~= p then
        error(string.format("gbt_ensemble: query rows have %d columns, X has %d", tonumber(q.shape[1]), p), 2)
      end
    end
    local sh = want and M.array_alloc("float64", {n, p + 1}) or nil
    local pr = q and M.array_alloc("float64", {tonumber(q.shape[0])}) or nil
    local rc = C.st_gbt_ensemble(ctx, o, m, n, p, x.data, p, y.data, w and w.data or nil, sh and sh.v.data or nil,
                                 q and q.shape[0] or 0, q and q.data or nil, p, pr and pr.v.data or nil)
    local _ = {keep, kq}
    if rc ~= 0 then return fail(rc) end
    return sh or false, pr or false
  end

  function M.ml_gbt_free(h)
    if type(h) == "table" and h.g ~= nil then
      local g = h.g
      h.g = nil
      ffi.gc(g, nil)
      C.st_gbt_destroy(g)
    end
  end

  function M.ml_gbt_set_param(h, k, v)
    local g = gbt_of(h)
    check(C.st_gbt_set_param(ctx, g, k, tostring(v)), 2)
  end

  function M.ml_gbt_train(h, X, Y, W)
    local g = gbt_of(h)
    local x, y, w, keep = xy(X, Y, W, "gbt_train")
    local p = tonumber(x.shape[1])
    local rc = C.st_gbt_train(ctx, g, x.shape[0], p, x.data, p, y.data, w and w.data or nil)
    local _ = keep
    if rc ~= 0 then return fail(rc) end
    return true
  end

  function M.ml_gbt_nfeatures(h) return C.st_gbt_nfeatures(gbt_of(h)) end

  function M.ml_gbt_predict(h, X, margin)
    local g = gbt_of(h)
    local x, kx = dense(X, 2, "gbt_predict")
    local n, p = tonumber(x.shape[0]), tonumber(x.shape[1])
    local out = M.array_alloc("float64", {n})
    local rc = C.st_gbt_predict(ctx, g, n, p, x.data, p, margin and 1 or 0, out.v.data)
    local _ = kx
    if rc ~= 0 then return fail(rc) end
    return out
  end

  function M.ml_gbt_shap(h, X)
    local g = gbt_of(h)
    local x, kx = dense(X, 2, "gbt_shap")
    local n, p = tonumber(x.shape[0]), tonumber(x.shape[1])
    local out = M.array_alloc("float64", {n, p + 1})
    local rc = C.st_gbt_shap(ctx, g, n, p, x.data, p, out.v.data)
    local _ = kx
    if rc ~= 0 then return fail(rc) end
    return out
  end
end
