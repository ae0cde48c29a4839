-- dh.lua -- differential entropy dH of every environment of a test set against a reference set.
--
-- dH(y | X) = -ln sum_j K(y, x_j) over the reference environments x_j (QUESTS, Schwalbe-Koda et
-- al., Nat. Commun. 16, 4014 (2025)); dH > 0 reads as "not represented in the reference"
-- (extrapolation), dH <= 0 as covered.  Writes the test frames with a per-atom `dH` array and
-- per-frame `dH_mean`/`dH_max` in their info (extxyz), a per-frame CSV and a JSON summary:
-- statistics of dH, the fraction above the threshold, and the overlap (fraction with dH < eps).
--
-- Does not: decide what threshold means "extrapolative" for your model (0 nats is the convention
-- of the reference; see `strata uq` for a check against force errors).
-- smoke: --outdir $OUT tests/data/vasprun_3step.xml tests/data/vasprun_3step.xml

local cli = require "strata.cli"
local E = require "strata.entropy"
local R = E.recipe

local recipe = {
  name = "dh",
  summary = "per-environment differential entropy dH of a test set against a reference set",
  usage = [[
Computes dH(y | REF) for every atom y of TEST (nats; > 0 = not covered by the
reference), prints its statistics and the fraction of environments above the
threshold, and writes into OUTDIR:
  <test>.dH.xyz     TEST frames with a per-atom array dH (info: dH_mean, dH_max)
  dh_frames.csv     frame, atoms, mean/max dH, fraction above the threshold
  dh.json           settings, statistics, per-frame values

examples:
  strata dh test_MD_600K.xyz train_300K.xyz
  strata dh traj.xyz train.xyz --threshold 2 --outdir out
  strata dh test.xyz train.xyz --out dh.xyz]],
  options = R.options({
    { name = "threshold", short = "t", type = "number", default = 0,
      help = "report the fraction of environments with dH above this (nats)" },
    { name = "eps", type = "number", default = E.defaults.eps, help = "overlap threshold: dH < eps counts as covered" },
    { name = "outdir", short = "o", default = "strata-dh", metavar = "DIR", help = "output folder" },
    { name = "out", metavar = "FILE", help = "path of the extxyz with per-atom dH (default: OUTDIR/<test>.dH.xyz)" },
  }),
  positional = { name = "TEST REF", min = 2, max = 2, help = "test and reference structure files" },
}

function recipe.run(args)
  local opts, files = cli.parse(recipe, args)
  local S = R.setup(recipe, opts)
  if not E.finite(opts.threshold) then cli.usage_error(recipe, "option '--threshold': must be finite") end
  if not E.finite(opts.eps) then cli.usage_error(recipe, "option '--eps': must be finite") end
  local test_path, ref_path = files[1], files[2]
  local species
  if S.species_aware then
    local ft, e1 = E.load(test_path)
    if not ft then R.fail(recipe, "%s", e1) end
    local fr, e2 = E.load(ref_path)
    if not fr then R.fail(recipe, "%s", e2) end
    species = E.species(ft, fr)
  end
  local Y, yi = R.describe(recipe, test_path, S, species)
  local X, xi = R.describe(recipe, ref_path, S, species)
  local h = R.bandwidth(recipe, S, xi)
  local dH = E.delta(Y, X, h, R.kernel(S))
  local stats = E.summary(dH, opts.threshold)
  local covered = (dH:lt(opts.eps)):sum() / yi.n

  -- per frame: values, and the frames with their per-atom array
  local frames_out, rows = {}, {}
  local per_frame = {mean = {}, max = {}, above = {}}
  for f = 1, yi.nframes do
    local a, b = yi.offsets[f], yi.offsets[f + 1] - 1
    local v = dH:slice({a, b})
    local mean, mx = v:mean(), v:max()
    local above = v:gt(opts.threshold):sum() / (b - a + 1)
    per_frame.mean[f], per_frame.max[f], per_frame.above[f] = mean, mx, above
    rows[f] = {f, b - a + 1, mean, mx, above}
    local at = yi.frames[f]:copy()
    at.arrays.dH = v
    at.info.dH_mean = mean
    at.info.dH_max = mx
    frames_out[f] = at
  end

  print(string.format("dH of %s (%d environments) against %s (%d environments), h = %g 1/Å:",
                      test_path, yi.n, ref_path, xi.n, h))
  print(string.format("  mean %s   std %s   median %s   min %s   max %s   (nats)", R.fmt(stats.mean),
                      R.fmt(stats.std), R.fmt(stats.median), R.fmt(stats.min), R.fmt(stats.max)))
  print(string.format("  5%% / 95%% quantiles %s / %s", R.fmt(stats.q05), R.fmt(stats.q95)))
  print(string.format("  fraction with dH > %g: %.1f %%   overlap (dH < %g): %.1f %%", opts.threshold,
                      100 * stats.above, opts.eps, 100 * covered))
  local worst, wf = -math.huge, 1
  for f = 1, yi.nframes do if per_frame.max[f] > worst then worst, wf = per_frame.max[f], f end end
  print(string.format("  frame with the largest dH: %d (max %s, mean %s)", wf, R.fmt(worst), R.fmt(per_frame.mean[wf])))

  R.mkdir(recipe, opts.outdir)
  local xyz = opts.out or (opts.outdir .. "/" .. R.stem(test_path) .. ".dH.xyz")
  R.write_frames(recipe, xyz, frames_out)
  local csv = R.write_csv(recipe, opts.outdir .. "/dh_frames.csv",
                          {"frame", "atoms", "dH_mean", "dH_max", "fraction_above"}, rows)
  local json = R.write_json(recipe, opts.outdir .. "/dh.json", {
    recipe = "dh", test = test_path, reference = ref_path, settings = R.settings(S, h),
    N_test = yi.n, N_reference = xi.n, frames = yi.nframes, threshold = opts.threshold, eps = opts.eps,
    dH = stats, fraction_above = stats.above, overlap = covered, per_frame = per_frame,
  })
  print("wrote " .. xyz .. ", " .. csv .. ", " .. json)
  return 0
end

return recipe
