-- tour.lua -- a guided tour of the information-entropy recipes on structures Strata makes itself.
--
-- No downloads: the tour builds fcc Cu crystals (a = 3.61 Å) with Gaussian thermal-like noise at
-- several amplitudes, a vacancy and a (001) surface as "rare events", a short trajectory in which
-- a vacancy appears, and a test set with forces from a Morse pair potential (Girifalco & Weizer,
-- Phys. Rev. 114, 687 (1959)) beside "predicted" forces from the same potential cut at 3 Å
-- (nearest neighbours only) -- a stand-in for a short-ranged fitted model, exact in the perfect
-- crystal and wrong in proportion to distortion and defects.  Then it runs, printing each command:
--   entropy, dh, overlap, compress, learning-curve, phase, uq
-- and writes everything (data, JSON, CSV, extxyz, SVG) under one folder (default ./strata-tour),
-- with a summary (summary.csv/.svg: H and mean dH against the noise amplitude) and tour.json.
--
-- Does not: claim anything about real copper (the potential and the "model" are toys); the
-- point is what the numbers mean and how the recipes fit together.  Well under a minute.
-- smoke: --quick --outdir $OUT/tour

local cli = require "strata.cli"
local E = require "strata.entropy"
local R = E.recipe
local strata_io = require "strata.io"
local array = require "strata.array"

local recipe = {
  name = "tour",
  summary = "a short tour of the entropy recipes on generated fcc Cu (noise, vacancy, surface)",
  usage = [[
Generates the data under OUTDIR/data, then runs entropy, dh, overlap,
compress, learning-curve, phase and uq on it, each writing into its own
subfolder of OUTDIR, and ends with OUTDIR/summary.svg and OUTDIR/tour.json.
Every command is printed, so you can re-run any step by hand.

examples:
  strata tour
  strata tour --outdir /tmp/tour --quick]],
  options = {
    { name = "outdir", short = "o", default = "strata-tour", metavar = "DIR", help = "output folder" },
    { name = "out", metavar = "DIR", help = "the same as --outdir" },
    { name = "seed", type = "int", default = 1, help = "random seed of the generated structures" },
    { name = "quick", type = "flag", help = "smaller crystals and fewer frames (a few seconds)" },
    { name = "quiet", short = "q", type = "flag", help = "no progress lines on stderr" },
  },
}

local AMPLITUDES = {0.02, 0.05, 0.08, 0.11, 0.15}   -- Å, Gaussian noise per coordinate

local function run(name, args, steps, outputs)
  print("")
  print("$ strata " .. name .. " " .. table.concat(args, " "))
  local rc = cli.dispatch(name, args)
  if rc ~= 0 then error(cli.exit(1, "strata tour: step '" .. name .. "' failed with status " .. rc), 0) end
  steps[#steps + 1] = {command = "strata " .. name .. " " .. table.concat(args, " "), outputs = outputs}
end

local function write(path, frames)
  local ok, err = strata_io.write(path, frames, {format = "extxyz"})
  if not ok then error(cli.exit(1, "strata tour: " .. tostring(err)), 0) end
  return path
end

local function read_json(path)
  local util = require "strata.util"
  local text = util.read_file(path)
  return text and util.json_decode(text) or nil
end

function recipe.run(args)
  local opts = cli.parse(recipe, args)
  local t0 = os.time()
  local dir = opts.out or opts.outdir
  local data = dir .. "/data"
  R.mkdir(recipe, data)
  local rng = array.rng(opts.seed)
  local cells = opts.quick and {2, 2, 2} or {3, 3, 3}
  local nf = opts.quick and 3 or 8           -- frames per amplitude
  local fcc = function(o) o.cells = cells; o.rng = rng; return E.demo.fcc(o) end
  local q = opts.quiet and {"-q"} or {}
  local function with_q(t) for _, v in ipairs(q) do t[#t + 1] = v end return t end

  print("== Data: fcc Cu, " .. (4 * cells[1] * cells[2] * cells[3]) .. " atoms per frame, in " .. data)
  local train = {}
  for i = 1, 2 * nf do train[i] = fcc{sigma = 0.05} end
  write(data .. "/train.xyz", train)
  local noise_files = {}
  local pool = {}
  for _, a in ipairs(AMPLITUDES) do
    local fr = {}
    for i = 1, nf do fr[i] = fcc{sigma = a}; pool[#pool + 1] = fr[i] end
    noise_files[#noise_files + 1] = write(string.format("%s/noise_%.2f.xyz", data, a), fr)
  end
  local vac, surf = {}, {}
  for i = 1, math.max(2, math.floor(nf / 2)) do
    vac[i] = fcc{sigma = 0.05, vacancy = 1}
    surf[i] = fcc{sigma = 0.05, vacuum = 10}
    pool[#pool + 1] = vac[i]
    pool[#pool + 1] = surf[i]
  end
  write(data .. "/vacancy.xyz", vac)
  write(data .. "/surface.xyz", surf)
  write(data .. "/pool.xyz", pool)
  -- trajectory: noise creeping up from 0.04 to 0.06 Å (a slow drift, not an event); at 2/3 of
  -- the run an atom leaves (a vacancy appears)
  local T = opts.quick and 24 or 60
  local tv = math.floor(2 * T / 3) + 1
  local md = {}
  for t = 1, T do md[t] = fcc{sigma = 0.04 + 0.02 * (t - 1) / (T - 1), vacancy = t >= tv and 1 or nil} end
  write(data .. "/md.xyz", md)
  -- test set with reference and "predicted" forces
  local test = {}
  for _, a in ipairs(AMPLITUDES) do
    for _ = 1, math.max(1, math.floor(nf / 4)) do test[#test + 1] = fcc{sigma = a} end
  end
  test[#test + 1] = fcc{sigma = 0.05, vacancy = 1}
  test[#test + 1] = fcc{sigma = 0.05, vacuum = 10}
  for _, at in ipairs(test) do
    at.arrays.forces = E.demo.pair_forces(at)
    at.arrays.pred_forces = E.demo.pair_forces(at, 3.0)
  end
  write(data .. "/test.xyz", test)
  print(string.format("   train.xyz (%d frames at 0.05 Å), noise_*.xyz (%d frames each at %s Å), vacancy.xyz, " ..
                      "surface.xyz, pool.xyz (all of those), md.xyz (%d frames, vacancy from frame %d), " ..
                      "test.xyz (%d frames with forces and pred_forces)", #train, nf,
                      table.concat(AMPLITUDES, ", "), T, tv, #test))

  local steps = {}
  print("\n== 1. How much information does each set hold?  (H grows with the noise: more distinct environments)")
  local eargs = with_q({"--out", dir .. "/entropy/entropy.json", "--csv", dir .. "/entropy/entropy.csv"})
  R.mkdir(recipe, dir .. "/entropy")
  for _, f in ipairs(noise_files) do eargs[#eargs + 1] = f end
  eargs[#eargs + 1] = data .. "/vacancy.xyz"
  eargs[#eargs + 1] = data .. "/surface.xyz"
  run("entropy", eargs, steps, {dir .. "/entropy/entropy.json", dir .. "/entropy/entropy.csv"})

  print("\n== 2. Which environments are new compared with the training set?  (dH > 0: not covered)")
  run("dh", with_q({noise_files[#noise_files], data .. "/train.xyz", "--outdir", dir .. "/dh_noise"}), steps,
      {dir .. "/dh_noise"})
  run("dh", with_q({data .. "/vacancy.xyz", data .. "/train.xyz", "--outdir", dir .. "/dh_vacancy"}), steps,
      {dir .. "/dh_vacancy"})
  print("   (open dh_vacancy/vacancy.dH.xyz in a viewer and colour by dH: the 12 neighbours of the vacancy stand out)")

  print("\n== 3. How much of one set does another cover?")
  local ov = dir .. "/overlap.json"
  run("overlap", with_q({noise_files[2], data .. "/train.xyz", "--out", ov}), steps, {ov})

  print("\n== 4. Keep 10 % of the frames, three ways: greedy entropy maximisation beats the baselines on H")
  run("compress", with_q({data .. "/pool.xyz", "--size", "10%", "--method", "all", "--outdir", dir .. "/compress"}),
      steps, {dir .. "/compress"})

  print("\n== 5. Has the training set converged?  (fit H(n) = a - b exp(-c (ln n)^2); gap = H_max - H(N))")
  run("learning-curve", with_q({data .. "/train.xyz", "--outdir", dir .. "/learning_curve"}), steps,
      {dir .. "/learning_curve"})

  print("\n== 6. When does something happen along a trajectory?  (a vacancy appears at frame " .. tv .. ")")
  run("phase", with_q({data .. "/md.xyz", "--ref", data .. "/train.xyz", "--outdir", dir .. "/phase"}), steps,
      {dir .. "/phase"})

  print("\n== 7. Model-free uncertainty: do large dH values point at large force errors?")
  run("uq", with_q({data .. "/test.xyz", data .. "/train.xyz", "--outdir", dir .. "/uq"}), steps, {dir .. "/uq"})

  -- summary: H and mean dH against the amplitude, through the Lua API
  print("\n== Summary: entropy and novelty against the noise amplitude")
  local X, xi = E.describe(data .. "/train.xyz")
  local rows, Hs, dHs, fr = {}, {}, {}, {}
  print(string.format("%10s %10s %14s %16s", "sigma (Å)", "H (nats)", "mean dH", "dH > 0"))
  for i, f in ipairs(noise_files) do
    local Y = E.describe(f)
    local r = E.entropy(Y)
    local dH = E.delta(Y, X)
    Hs[i], dHs[i], fr[i] = r.H, dH:mean(), dH:gt(0):sum() / Y.shape[1]
    rows[i] = {AMPLITUDES[i], Hs[i], dHs[i], fr[i]}
    print(string.format("%10.2f %10.4f %14.4f %15.1f%%", AMPLITUDES[i], Hs[i], dHs[i], 100 * fr[i]))
  end
  R.write_csv(recipe, dir .. "/summary.csv", {"sigma_A", "H", "mean_dH_vs_train", "fraction_dH_above_0"}, rows)
  R.svg(recipe, dir .. "/summary.svg", {title = "fcc Cu with noise: entropy and novelty against train (0.05 Å)",
    xlabel = "noise amplitude sigma (Å)", ylabel = "H of the set (nats)", y2label = "mean dH vs train (nats)",
    series = {{x = AMPLITUDES, y = Hs, label = "H", style = "linepoints"},
              {x = AMPLITUDES, y = dHs, label = "mean dH", axis = 2, style = "linepoints"}},
    vlines = {{x = 0.05, label = "train"}}})

  local ph = read_json(dir .. "/phase/phase.json")
  local uq = read_json(dir .. "/uq/uq.json")
  local cp = read_json(dir .. "/compress/compress.json")
  local lc = read_json(dir .. "/learning_curve/learning_curve.json")
  local key = {
    vacancy_frame = tv,
    phase_flagged = ph and ph.trajectories and ph.trajectories[1].flagged or nil,
    uq_spearman_atoms = uq and uq.forces and uq.forces.spearman_atoms or nil,
    uq_roc_auc_top = uq and uq.forces and uq.forces.roc_auc_top or nil,
    compress_H = cp and {greedy = cp.methods.greedy.H, fps = cp.methods.fps.H, random = cp.methods.random.H} or nil,
    learning_curve_gap = lc and lc.gap or nil,
  }
  R.write_json(recipe, dir .. "/tour.json", {recipe = "tour", seed = opts.seed, quick = opts.quick and true or false,
    atoms_per_frame = 4 * cells[1] * cells[2] * cells[3], amplitudes = AMPLITUDES, steps = steps,
    summary = {sigma = AMPLITUDES, H = Hs, mean_dH = dHs, fraction_above_0 = fr}, key_figures = key})
  print("")
  if key.phase_flagged then
    print(string.format("phase flagged frame(s) %s; the vacancy appeared at frame %d",
                        table.concat(key.phase_flagged, ", "), tv))
  end
  if key.compress_H then
    print(string.format("compress (10 %%): H greedy %.3f, fps %.3f, random %.3f nats", key.compress_H.greedy,
                        key.compress_H.fps, key.compress_H.random))
  end
  if key.uq_spearman_atoms then
    print(string.format("uq: dH ranks the per-atom force errors with Spearman rho %.2f, ROC AUC %.2f (top 10 %%)",
                        key.uq_spearman_atoms, key.uq_roc_auc_top or 0 / 0))
  end
  print(string.format("Tour finished in about %d s; everything is in %s/ (summary.svg, tour.json, one folder per step).",
                      os.time() - t0, dir))
  return 0
end

return recipe
