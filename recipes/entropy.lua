-- entropy.lua -- information entropy H, diversity D, ln N and dataset efficiency of data sets.
--
-- Each FILE is one data set: every atom of every frame is an environment, described by the QUESTS
-- descriptor (k nearest neighbours, element-agnostic by default), and
--   H = ln N - <ln p_i>,  D = ln sum 1/p_i,  efficiency = 100 H / ln N  (nats, %)
-- (Schwalbe-Koda et al., Nat. Commun. 16, 4014 (2025)).  With several files the union is reported
-- too.  --per-frame adds H and D of each frame on its own (a frame as its own data set).
--
-- Does not: compare sets (see `strata dh`, `strata overlap`), or fit anything (`learning-curve`).
-- smoke: --per-frame --out $OUT/entropy.json --csv $OUT/entropy.csv tests/data/vasprun_3step.xml tests/data/vasprun_3step.xml

local cli = require "strata.cli"
local E = require "strata.entropy"
local R = E.recipe

local recipe = {
  name = "entropy",
  summary = "information entropy H, diversity D and efficiency of data sets (QUESTS)",
  usage = [[
For every FILE: the number of environments N (atoms over all frames), the
entropy H and diversity D (nats, both in [0, ln N]), ln N and the dataset
efficiency 100 H / ln N.  With several files, also the union of all of them.

examples:
  strata entropy train.xyz
  strata entropy train.xyz test.xyz --out entropy.json
  strata entropy traj.xyz --per-frame --csv frames.csv
  strata entropy bulk.xyz --bandwidth auto]],
  options = R.options({
    { name = "per-frame", type = "flag", help = "also H and D of each frame on its own" },
    { name = "out", short = "o", metavar = "FILE", help = "write the results as JSON" },
    { name = "csv", metavar = "FILE", help = "write a CSV table (one row per file, or per frame with --per-frame)" },
  }),
  positional = { name = "FILE", min = 1, help = "structure files (extxyz, POSCAR, CIF, vasprun.xml, LAMMPS dump)" },
}

local function row_line(name, r, frames)
  return string.format("%-28s %7d %9d %10s %10s %9s %9s", name, frames, r.N, R.fmt(r.H), R.fmt(r.D),
                       R.fmt(r.lnN), r.efficiency and (R.fmt(r.efficiency, 1) .. " %") or "-")
end

function recipe.run(args)
  local opts, files = cli.parse(recipe, args)
  local S = R.setup(recipe, opts)
  local out = {recipe = "entropy", files = {}}
  local csv_rows = {}
  local species
  if S.species_aware then   -- one species list for every file, so rows line up in the union
    local lists = {}
    for i, f in ipairs(files) do
      local fr, err = E.load(f)
      if not fr then R.fail(recipe, "%s", err) end
      lists[i] = fr
    end
    species = E.species((table.unpack or unpack)(lists))
  end
  print(string.format("%-28s %7s %9s %10s %10s %9s %9s", "data set", "frames", "N", "H", "D", "ln N", "efficiency"))
  local h_used
  for _, f in ipairs(files) do
    local X, info = R.describe(recipe, f, S, species)
    local h = R.bandwidth(recipe, S, info)
    h_used = h_used or h
    local r = E.entropy(X, h, R.kernel(S))
    print(row_line(R.stem(f), r, info.nframes))
    local entry = {file = f, frames = info.nframes, N = r.N, H = r.H, D = r.D, lnN = r.lnN,
                   efficiency = r.efficiency, bandwidth = h, seconds = r.seconds}
    if opts.per_frame then
      local pf = E.per_frame(X, info, h, R.kernel(S))
      entry.per_frame = pf
      for fr = 1, info.nframes do
        csv_rows[#csv_rows + 1] = {f, fr, pf.N[fr], pf.H[fr], pf.D[fr], math.log(pf.N[fr]), pf.efficiency[fr]}
      end
      local n = math.min(info.nframes, 10)
      for fr = 1, n do
        print(string.format("  frame %-5d %22d %10s %10s %9s %9s", fr, pf.N[fr], R.fmt(pf.H[fr]), R.fmt(pf.D[fr]),
                            R.fmt(math.log(pf.N[fr])), pf.efficiency[fr] and (R.fmt(pf.efficiency[fr], 1) .. " %") or "-"))
      end
      if info.nframes > n then print(string.format("  ... %d more frames (see --csv / --out)", info.nframes - n)) end
    else
      csv_rows[#csv_rows + 1] = {f, "all", r.N, r.H, r.D, r.lnN, r.efficiency}
    end
    out.files[#out.files + 1] = entry
  end
  if #files > 1 then
    local X, info = R.describe(recipe, files, S, species)
    local h = R.bandwidth(recipe, S, info)
    local r = E.entropy(X, h, R.kernel(S))
    print(row_line("(union of all files)", r, info.nframes))
    out.union = {frames = info.nframes, N = r.N, H = r.H, D = r.D, lnN = r.lnN, efficiency = r.efficiency,
                 bandwidth = h}
    if not opts.per_frame then csv_rows[#csv_rows + 1] = {"(union)", "all", r.N, r.H, r.D, r.lnN, r.efficiency} end
  end
  print("(H, D, ln N in nats; efficiency = 100 H / ln N)")
  out.settings = R.settings(S, h_used)
  if opts.out then R.write_json(recipe, opts.out, out); print("wrote " .. opts.out) end
  if opts.csv then
    R.write_csv(recipe, opts.csv, {"file", "frame", "N", "H", "D", "lnN", "efficiency"}, csv_rows)
    print("wrote " .. opts.csv)
  end
  return 0
end

return recipe
