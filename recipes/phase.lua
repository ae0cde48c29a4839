-- phase.lua -- entropy and mean dH frame by frame along trajectories, with jumps flagged.
--
-- For every frame t of every trajectory: H_t and D_t of the frame's environments on their own,
-- and the mean dH of its environments against a reference set (--ref files; without them, the
-- first --ref-frames frames of that trajectory).  QUESTS metrics (Schwalbe-Koda et al., Nat.
-- Commun. 16, 4014 (2025)).  Jumps -- rare events, transitions, a defect appearing -- are
-- flagged on each signal by strata.entropy.change_points: the robust z-score of the first
-- difference against the running median and MAD of the differences within +-window frames
-- (the MAD of the whole series as a floor), |z| >= --z.  The flagged frame is the first frame
-- after the jump; each event is a "step" (at least half of the jump persists over the next
-- window: a transition, a defect that stays) or a "spike" (a one-frame excursion).  Writes a
-- CSV, JSON and an SVG plot per trajectory.
--
-- Does not: smooth the signals, or tell a melting transition from a defect (it reports when,
-- not what); frames are compared as sets of environments, never atom by atom.
-- smoke: --outdir $OUT tests/data/vasprun_3step.xml

local cli = require "strata.cli"
local E = require "strata.entropy"
local R = E.recipe

local recipe = {
  name = "phase",
  summary = "entropy and mean dH per frame along trajectories; flags frames where they jump",
  usage = [[
Writes into OUTDIR:
  phase.csv            trajectory, frame, atoms, H, D, mean dH, z-scores, flag
  phase_<traj>.svg     H (left axis) and mean dH (right axis) per frame, flags marked
  phase.json           settings, per-frame series, flagged frames and events

examples:
  strata phase md.xyz
  strata phase md_300K.xyz md_900K.xyz --ref train.xyz --z 8
  strata phase run.xyz --ref-frames 20 --window 25]],
  options = R.options({
    { name = "ref", short = "r", metavar = "FILE", multiple = true,
      help = "reference structures for dH (default: the first --ref-frames frames of each trajectory)" },
    { name = "ref-frames", type = "int", default = 1, help = "frames at the start of a trajectory used as its reference" },
    { name = "window", short = "w", type = "int", default = 10, help = "frames on each side for the running median/MAD" },
    { name = "z", type = "number", default = 5, help = "flag |z| >= this (at 5, Gaussian noise gives about one false flag per 10^6 frames)" },
    { name = "outdir", short = "o", default = "strata-phase", metavar = "DIR", help = "output folder" },
  }),
  positional = { name = "TRAJ", min = 1, help = "trajectory files (each analysed on its own)" },
}

function recipe.run(args)
  local opts, trajs = cli.parse(recipe, args)
  local S = R.setup(recipe, opts)
  if opts.window < 1 then cli.usage_error(recipe, "option '--window': must be >= 1, got %d", opts.window) end
  if not E.finite(opts.z) or opts.z <= 0 then cli.usage_error(recipe, "option '--z': must be > 0") end
  if opts.ref_frames < 1 then cli.usage_error(recipe, "option '--ref-frames': must be >= 1, got %d", opts.ref_frames) end
  local species
  if S.species_aware then
    local lists = {}
    for _, group in ipairs({trajs, opts.ref or {}}) do
      for _, f in ipairs(group) do
        local fr, err = E.load(f)
        if not fr then R.fail(recipe, "%s", err) end
        lists[#lists + 1] = fr
      end
    end
    species = E.species((table.unpack or unpack)(lists))
  end
  local RX, rinfo
  if opts.ref then RX, rinfo = R.describe(recipe, opts.ref, S, species) end
  R.mkdir(recipe, opts.outdir)
  local out = {recipe = "phase", trajectories = {}, reference = opts.ref or ("first " .. opts.ref_frames .. " frame(s) of each trajectory")}
  local rows = {}
  local h_used
  for _, path in ipairs(trajs) do
    local X, info = R.describe(recipe, path, S, species)
    local h = R.bandwidth(recipe, S, rinfo or info)
    h_used = h_used or h
    local ref = RX
    if not ref then
      local nr = math.min(opts.ref_frames, info.nframes)
      ref = X:slice({1, info.offsets[nr + 1] - 1})
    end
    local pf = E.per_frame(X, info, h, {ref = ref, method = S.method})
    local cH = E.change_points(pf.H, {window = opts.window, threshold = opts.z})
    local cM = E.change_points(pf.mean_dH, {window = opts.window, threshold = opts.z})
    local flagged, list = {}, {}
    for _, t in ipairs(cH.flags) do flagged[t] = (flagged[t] or "") .. "H" end
    for _, t in ipairs(cM.flags) do flagged[t] = (flagged[t] and flagged[t] .. "+" or "") .. "dH" end
    for t = 1, info.nframes do
      if flagged[t] then list[#list + 1] = t end
      rows[#rows + 1] = {path, t, pf.N[t], pf.H[t], pf.D[t], pf.mean_dH[t], cH.z[t], cM.z[t], flagged[t] or ""}
    end
    local sH, sM = E.summary(pf.H), E.summary(pf.mean_dH)
    print(string.format("%s: %d frames, H %s .. %s, mean dH %s .. %s (nats)", path, info.nframes,
                        R.fmt(sH.min), R.fmt(sH.max), R.fmt(sM.min), R.fmt(sM.max)))
    if #list == 0 then
      print(string.format("  no frame flagged (|z| >= %g, window %d)", opts.z, opts.window))
    else
      local steps, spikes = {}, {}
      for _, pair in ipairs({{cH, "H"}, {cM, "mean dH"}}) do
        for _, ev in ipairs(pair[1].events) do
          local e = {frame = ev.frame, signal = pair[2], z = ev.z, kind = ev.kind}
          if ev.kind == "step" then steps[#steps + 1] = e else spikes[#spikes + 1] = e end
        end
      end
      table.sort(steps, function(a, b) if a.frame ~= b.frame then return a.frame < b.frame end return a.signal < b.signal end)
      for _, ev in ipairs(steps) do
        print(string.format("  frame %d: step in %s (z = %.1f; H %s -> %s, mean dH %s -> %s)", ev.frame, ev.signal, ev.z,
                            R.fmt(pf.H[ev.frame - 1]), R.fmt(pf.H[ev.frame]), R.fmt(pf.mean_dH[ev.frame - 1]),
                            R.fmt(pf.mean_dH[ev.frame])))
      end
      if #spikes > 0 then
        table.sort(spikes, function(a, b) return math.abs(a.z) > math.abs(b.z) end)
        local show = {}
        for k = 1, math.min(5, #spikes) do
          show[k] = string.format("%d (%s, z = %.1f)", spikes[k].frame, spikes[k].signal, spikes[k].z)
        end
        print(string.format("  %d one-frame spike(s), largest: %s%s", #spikes, table.concat(show, ", "),
                            #spikes > 5 and ", ... (all in phase.json)" or ""))
      end
      if #steps == 0 then print("  no persistent step") end
    end
    local x = {}
    for t = 1, info.nframes do x[t] = t end
    local vl = {}
    for _, t in ipairs(list) do vl[#vl + 1] = {x = t, label = tostring(t), color = "#d62728"} end
    local svg = opts.outdir .. "/phase_" .. R.stem(path) .. ".svg"
    R.svg(recipe, svg, {title = "Entropy along " .. R.stem(path), xlabel = "frame", ylabel = "H of the frame (nats)",
      y2label = "mean dH vs reference (nats)",
      series = {{x = x, y = pf.H, label = "H", style = info.nframes > 200 and "line" or "linepoints"},
                {x = x, y = pf.mean_dH, label = "mean dH", axis = 2, style = info.nframes > 200 and "line" or "linepoints"}},
      vlines = vl})
    out.trajectories[#out.trajectories + 1] = {file = path, frames = info.nframes, H = pf.H, D = pf.D, N = pf.N,
      mean_dH = pf.mean_dH, z_H = cH.z, z_mean_dH = cM.z, flagged = list, events_H = cH.events,
      events_mean_dH = cM.events, steps_H = cH.steps, steps_mean_dH = cM.steps, plot = svg}
  end
  out.settings = R.settings(S, h_used)
  out.window, out.z = opts.window, opts.z
  R.write_csv(recipe, opts.outdir .. "/phase.csv",
              {"trajectory", "frame", "atoms", "H", "D", "mean_dH", "z_H", "z_mean_dH", "flag"}, rows)
  R.write_json(recipe, opts.outdir .. "/phase.json", out)
  print("wrote " .. opts.outdir .. "/phase.{csv,json} and phase_*.svg")
  return 0
end

return recipe
