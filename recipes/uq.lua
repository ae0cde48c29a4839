-- uq.lua -- model-free uncertainty: which atoms and frames of a test set are extrapolative.
--
-- Workflow (QUESTS, Schwalbe-Koda et al., Nat. Commun. 16, 4014 (2025)): descriptors of the
-- reference (training) set and of the test set or trajectory; dH(y | train) for every test atom;
-- atoms with dH > --threshold are flagged extrapolative, and a frame is flagged when any of its
-- atoms is.  No model is needed.  When the test frames carry reference forces and a model's
-- predicted forces (per-atom arrays, names set by --ref-forces / --pred-forces), the recipe also
-- reports how well dH ranks the per-atom force error |F_pred - F_ref|: Spearman's rho over atoms,
-- and the ROC AUC of dH as a detector of the largest errors (the top --top fraction, 10 % by
-- default); the same per frame (max dH against the frame's RMS force error).
--
-- Does not: train or run a model (predicted forces come with the input), or calibrate dH into
-- error bars (it ranks; a calibration needs a model and validation data).
-- smoke: --outdir $OUT --pred-forces forces tests/data/vasprun_3step.xml tests/data/vasprun_3step.xml

local cli = require "strata.cli"
local E = require "strata.entropy"
local R = E.recipe

local recipe = {
  name = "uq",
  summary = "model-free uncertainty: per-atom dH against training data, extrapolative atoms/frames, dH vs force errors",
  usage = [[
Writes into OUTDIR:
  <test>.uq.xyz    TEST frames with per-atom arrays dH and extrapolative (0/1);
                   info: dH_max, dH_mean, n_extrapolative
  uq_atoms.csv     frame, atom, element, dH, flag (and force error)
  uq_frames.csv    frame, atoms, mean/max dH, flagged atoms (and RMS force error)
  uq.svg           dH against the force error (when forces are given)
  uq.json          settings, statistics, flagged frames, rank correlation and AUC

examples:
  strata uq md_600K.xyz train_300K.xyz
  strata uq test.xyz train.xyz --ref-forces dft_forces --pred-forces mace_forces
  strata uq test.xyz train.xyz --threshold 2 --top 0.05]],
  options = R.options({
    { name = "threshold", short = "t", type = "number", default = 0, help = "flag atoms with dH above this (nats)" },
    { name = "ref-forces", default = "forces", metavar = "NAME", help = "per-atom array of reference forces (eV/Å)" },
    { name = "pred-forces", default = "pred_forces", metavar = "NAME", help = "per-atom array of predicted forces (eV/Å)" },
    { name = "top", type = "number", default = 0.1, help = "fraction of largest force errors counted as positives for the AUC" },
    { name = "outdir", short = "o", default = "strata-uq", metavar = "DIR", help = "output folder" },
  }),
  positional = { name = "TEST REF", min = 2, max = 2, help = "test (or trajectory) and reference (training) files" },
}

local function frame_stats(dH, info, thr)
  local fs = {mean = {}, max = {}, flagged = {}}
  for f = 1, info.nframes do
    local v = dH:slice({info.offsets[f], info.offsets[f + 1] - 1})
    fs.mean[f], fs.max[f], fs.flagged[f] = v:mean(), v:max(), v:gt(thr):sum()
  end
  return fs
end

function recipe.run(args)
  local opts, files = cli.parse(recipe, args)
  local S = R.setup(recipe, opts)
  if not E.finite(opts.threshold) then cli.usage_error(recipe, "option '--threshold': must be finite") end
  if not E.finite(opts.top) or opts.top <= 0 or opts.top >= 1 then
    cli.usage_error(recipe, "option '--top': must be in (0, 1), got %s", tostring(opts.top))
  end
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
  local dl = dH:flat()
  local stats = E.summary(dl, opts.threshold)
  local fs = frame_stats(dH, yi, opts.threshold)
  local n_flag_atoms, flagged_frames = 0, {}
  for f = 1, yi.nframes do
    n_flag_atoms = n_flag_atoms + fs.flagged[f]
    if fs.flagged[f] > 0 then flagged_frames[#flagged_frames + 1] = f end
  end

  print(string.format("reference %s: %d environments; test %s: %d environments in %d frames; h = %g 1/Å",
                      ref_path, xi.n, test_path, yi.n, yi.nframes, h))
  print(string.format("dH (nats): mean %s, median %s, 95%% %s, max %s", R.fmt(stats.mean), R.fmt(stats.median),
                      R.fmt(stats.q95), R.fmt(stats.max)))
  print(string.format("extrapolative (dH > %g): %d of %d atoms (%.1f %%), %d of %d frames", opts.threshold,
                      n_flag_atoms, yi.n, 100 * n_flag_atoms / yi.n, #flagged_frames, yi.nframes))
  local order = {}
  for _, f in ipairs(flagged_frames) do order[#order + 1] = f end
  table.sort(order, function(a, b) return fs.max[a] > fs.max[b] end)
  for i = 1, math.min(5, #order) do
    local f = order[i]
    print(string.format("  frame %d: max dH %s, %d atom(s) flagged", f, R.fmt(fs.max[f]), fs.flagged[f]))
  end

  -- force errors, when both arrays are present
  local ferr, why = E.force_errors(yi.frames, opts.ref_forces, opts.pred_forces)
  local forces
  if ferr then
    local labels, thr = E.top_fraction(ferr, opts.top)
    local rho, rerr = E.spearman(dl, ferr)
    local auc, aerr = E.roc_auc(dl, labels)
    -- per frame: max dH against the RMS force error of the frame
    local frms, fmax = {}, {}
    for f = 1, yi.nframes do
      local s = 0
      for i = yi.offsets[f], yi.offsets[f + 1] - 1 do s = s + ferr[i] ^ 2 end
      frms[f] = math.sqrt(s / yi.counts[f])
      fmax[f] = fs.max[f]
    end
    local frho = yi.nframes >= 2 and E.spearman(fmax, frms) or nil
    forces = {ref = opts.ref_forces, pred = opts.pred_forces, error = E.summary(ferr), spearman_atoms = rho,
              spearman_atoms_note = rerr, top_fraction = opts.top, top_error_threshold = thr, roc_auc_top = auc,
              roc_auc_note = aerr, spearman_frames = frho, frame_rms_error = frms}
    print(string.format("force error |%s - %s| (eV/Å): mean %s, max %s", opts.pred_forces, opts.ref_forces,
                        R.fmt(forces.error.mean), R.fmt(forces.error.max)))
    print(string.format("does dH rank the errors?  Spearman rho (atoms) = %s, ROC AUC for the top %g %% errors " ..
                        "(>= %s eV/Å) = %s, Spearman rho (frames: max dH vs RMS error) = %s",
                        rho and R.fmt(rho, 3) or ("undefined: " .. tostring(rerr)), 100 * opts.top, R.fmt(thr),
                        auc and R.fmt(auc, 3) or ("undefined: " .. tostring(aerr)), frho and R.fmt(frho, 3) or "-"))
  else
    print("no force comparison: " .. why .. " (set --ref-forces / --pred-forces)")
  end

  R.mkdir(recipe, opts.outdir)
  local frames_out, arows, frows = {}, {}, {}
  for f = 1, yi.nframes do
    local a, b = yi.offsets[f], yi.offsets[f + 1] - 1
    local at = yi.frames[f]:copy()
    local v = dH:slice({a, b})
    at.arrays.dH = v
    at.arrays.extrapolative = v:gt(opts.threshold):astype("int32")
    at.info.dH_max, at.info.dH_mean, at.info.n_extrapolative = fs.max[f], fs.mean[f], fs.flagged[f]
    frames_out[f] = at
    local sym = at.symbols
    for i = a, b do
      arows[#arows + 1] = {f, i - a + 1, sym[i - a + 1], dl[i], dl[i] > opts.threshold and 1 or 0, ferr and ferr[i] or nil}
    end
    frows[f] = {f, yi.counts[f], fs.mean[f], fs.max[f], fs.flagged[f], forces and forces.frame_rms_error[f] or nil}
  end
  local xyz = R.write_frames(recipe, opts.outdir .. "/" .. R.stem(test_path) .. ".uq.xyz", frames_out)
  R.write_csv(recipe, opts.outdir .. "/uq_atoms.csv", {"frame", "atom", "element", "dH", "extrapolative", "force_error"}, arows)
  R.write_csv(recipe, opts.outdir .. "/uq_frames.csv", {"frame", "atoms", "dH_mean", "dH_max", "extrapolative_atoms", "force_rms_error"}, frows)
  if ferr then
    -- at most 4000 points in the plot (every k-th atom), so the SVG stays small
    local step = math.max(1, math.ceil(#dl / 4000))
    local px, py = {}, {}
    for i = 1, #dl, step do px[#px + 1] = dl[i]; py[#py + 1] = ferr[i] end
    R.svg(recipe, opts.outdir .. "/uq.svg", {title = "dH against the force error", xlabel = "dH vs reference (nats)",
      ylabel = "|F_pred - F_ref| (eV/Å)", series = {{x = px, y = py, label = "atoms", style = "points", radius = 1.8}},
      vlines = {{x = opts.threshold, label = "threshold"}}})
  end
  R.write_json(recipe, opts.outdir .. "/uq.json", {
    recipe = "uq", test = test_path, reference = ref_path, settings = R.settings(S, h), threshold = opts.threshold,
    N_test = yi.n, N_reference = xi.n, frames = yi.nframes, dH = stats, extrapolative_atoms = n_flag_atoms,
    extrapolative_frames = flagged_frames, per_frame = fs, forces = forces, forces_missing = not ferr and why or nil,
  })
  print("wrote " .. xyz .. " and uq_atoms.csv, uq_frames.csv, uq.json" .. (ferr and ", uq.svg" or "") .. " in " .. opts.outdir)
  return 0
end

return recipe
