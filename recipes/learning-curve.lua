-- learning-curve.lua -- entropy of growing random subsets, its saturation value and the gap.
--
-- H(n) is computed for random subsets of n environments (nested within each repeat), and
--   H(n) = a - b exp(-c (ln n)^2)
-- is fitted (variable projection: linear in a, b for each c); H_max = a is where the curve
-- saturates, and the information gap H_max - H(N) says how much the data set is short of it
-- (QUESTS, Schwalbe-Koda et al., Nat. Commun. 16, 4014 (2025)).  A gap near 0: more data of the
-- same kind adds little; a large gap: the sampling has not converged.
--
-- Does not: extrapolate beyond the fitted form, or sample by frames (subsets are environments).
-- smoke: --points 4 --repeats 2 --outdir $OUT tests/data/vasprun_3step.xml

local cli = require "strata.cli"
local E = require "strata.entropy"
local R = E.recipe

local recipe = {
  name = "learning-curve",
  summary = "entropy of random subsets H(n), fit a - b exp(-c (ln n)^2), H_max and the information gap",
  usage = [[
Writes into OUTDIR:
  learning_curve.csv   n, mean H, std over repeats, fitted H
  learning_curve.svg   H against ln n with the fit and H_max
  learning_curve.json  settings, points, fit (a, b, c, rmse), H_max, H(N), gap

examples:
  strata learning-curve train.xyz
  strata learning-curve train.xyz --points 16 --repeats 5 --outdir lc]],
  options = R.options({
    { name = "points", type = "int", default = 12, help = "number of subset sizes (log-spaced, 10 .. N)" },
    { name = "repeats", type = "int", default = 3, help = "random subsets per size" },
    { name = "seed", type = "int", default = 1, help = "random seed" },
    { name = "outdir", short = "o", default = "strata-learning-curve", metavar = "DIR", help = "output folder" },
  }),
  positional = { name = "FILE", min = 1, help = "structure files (together one data set)" },
}

function recipe.run(args)
  local opts, files = cli.parse(recipe, args)
  local S = R.setup(recipe, opts)
  if opts.points < 1 then cli.usage_error(recipe, "option '--points': must be >= 1, got %d", opts.points) end
  if opts.repeats < 1 then cli.usage_error(recipe, "option '--repeats': must be >= 1, got %d", opts.repeats) end
  local X, info = R.describe(recipe, files, S)
  local h = R.bandwidth(recipe, S, info)
  local p = R.progress(S, "subsets", opts.points * opts.repeats)
  local lc = E.learning_curve(X, {h = h, points = opts.points, repeats = opts.repeats, seed = opts.seed,
                                  method = S.method, progress = function() p:step() end})
  p:done()
  print(string.format("%s: N = %d environments, h = %g 1/Å", table.concat(files, ", "), info.n, h))
  print(string.format("%9s %10s %9s %10s", "n", "H", "std", "fit"))
  local rows, fitted, lnn = {}, {}, {}
  for i, n in ipairs(lc.sizes) do
    fitted[i] = lc.fit and E.learning_curve_value(lc.fit, n) or nil
    lnn[i] = math.log(n)
    rows[i] = {n, lc.H[i], lc.H_std[i], fitted[i]}
    print(string.format("%9d %10s %9s %10s", n, R.fmt(lc.H[i]), R.fmt(lc.H_std[i]), R.fmt(fitted[i])))
  end
  local eff = info.n > 1 and 100 * lc.H_full / math.log(info.n) or nil
  print(string.format("H(N) = %s nats, efficiency %s %%", R.fmt(lc.H_full), R.fmt(eff, 1)))
  if lc.fit then
    print(string.format("fit H(n) = a - b exp(-c (ln n)^2): a = %s, b = %s, c = %s, rmse = %s",
                        R.fmt(lc.fit.a), R.fmt(lc.fit.b), R.fmt(lc.fit.c, 5), R.fmt(lc.fit.rmse, 5)))
    print(string.format("H_max = %s nats, information gap H_max - H(N) = %s nats", R.fmt(lc.H_max), R.fmt(lc.gap)))
  else
    print("no fit: " .. tostring(lc.fit_error))
  end
  R.mkdir(recipe, opts.outdir)
  R.write_csv(recipe, opts.outdir .. "/learning_curve.csv", {"n", "H", "H_std", "H_fit"}, rows)
  local series = {{x = lnn, y = lc.H, label = "H(n), mean of " .. opts.repeats, style = "points"}}
  local hl
  if lc.fit then
    local fx, fy = {}, {}
    local lo, hi = math.log(lc.sizes[1]), math.log(math.max(lc.sizes[#lc.sizes], 2) * 10)
    for i = 0, 100 do
      local x = lo + (hi - lo) * i / 100
      fx[#fx + 1], fy[#fy + 1] = x, E.learning_curve_value(lc.fit, math.exp(x))
    end
    series[#series + 1] = {x = fx, y = fy, label = "fit a - b exp(-c (ln n)^2)", style = "line"}
    series[#series + 1] = {x = {lo, hi}, y = {lc.H_max, lc.H_max}, label = "H_max", style = "line", color = "#7f7f7f"}
    hl = {{x = math.log(info.n), label = "N"}}
  end
  R.svg(recipe, opts.outdir .. "/learning_curve.svg", {title = "Learning curve of the information entropy",
    xlabel = "ln n (n = environments)", ylabel = "H (nats)", series = series, vlines = hl})
  R.write_json(recipe, opts.outdir .. "/learning_curve.json", {
    recipe = "learning-curve", files = files, settings = R.settings(S, h), N = info.n, sizes = lc.sizes,
    H = lc.H, H_std = lc.H_std, repeats = lc.repeats, seed = opts.seed, H_full = lc.H_full, efficiency = eff,
    fit = lc.fit, fit_error = lc.fit_error, H_max = lc.H_max, gap = lc.gap,
  })
  print("wrote " .. opts.outdir .. "/learning_curve.{csv,svg,json}")
  return 0
end

return recipe
