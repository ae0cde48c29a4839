-- compress.lua -- keep the subset of frames that carries the most information.
--
-- Methods (strata.entropy.compress):
--   greedy  entropy-maximising greedy selection: each step adds the frame that maximises the
--           entropy H of all environments kept so far (lazy greedy with an exact upper bound,
--           csrc/entropy/select.c); in the spirit of the minimum-set-coverage compression of
--           QUESTS (Schwalbe-Koda et al., Nat. Commun. 16, 4014 (2025)), but scored by H itself;
--   fps     farthest-point sampling on the frames' mean descriptors (a classic baseline);
--   random  uniform random frames (seeded; the baseline every method must beat).
-- Writes each subset (extxyz, frames in their original order), and a report with H, D,
-- efficiency before and after, and the overlap of the full set with the subset (fraction of all
-- environments with dH(full | subset) < eps: how much of the data the subset still covers).
-- With --method all, also the entropy of growing subsets for each method (CSV + SVG).
--
-- Does not: weight frames by their cost (atoms), or select single atoms.
-- smoke: --size 2 --method all --outdir $OUT tests/data/vasprun_3step.xml

local cli = require "strata.cli"
local E = require "strata.entropy"
local R = E.recipe

local recipe = {
  name = "compress",
  summary = "select the subset of frames that keeps the most information (greedy entropy, fps, random)",
  usage = [[
SIZE is a number of frames (an integer >= 1), a fraction of the frames in
(0, 1), or a percentage ("10%").  Writes into OUTDIR:
  <file>.<method>.xyz   the selected frames (original order)
  compress.json         H, D, efficiency, overlap before/after; picked frames in pick order
  compress_curve.csv/.svg  (--method all) H of the first n picks for every method

examples:
  strata compress train.xyz --size 10%
  strata compress train.xyz --size 50 --method all --outdir small]],
  options = R.options({
    { name = "size", short = "n", required = true, metavar = "SIZE", help = "frames to keep: count, fraction or N%" },
    { name = "method", type = "choice", values = {"greedy", "fps", "random", "all"}, default = "greedy",
      help = "selection method ('all': the three, compared)" },
    { name = "seed", type = "int", default = 1, help = "seed of the random baseline" },
    { name = "max-evals", type = "int", default = 32, help = "greedy: exact evaluations per step (lazy-greedy cap)" },
    { name = "eps", type = "number", default = E.defaults.eps, help = "overlap threshold on dH (nats)" },
    { name = "outdir", short = "o", default = "strata-compress", metavar = "DIR", help = "output folder" },
  }),
  positional = { name = "FILE", min = 1, max = 1, help = "structure file (all frames are candidates)" },
}

function recipe.run(args)
  local opts, files = cli.parse(recipe, args)
  local S = R.setup(recipe, opts)
  if opts.max_evals < 1 then cli.usage_error(recipe, "option '--max-evals': must be >= 1, got %d", opts.max_evals) end
  local X, info = R.describe(recipe, files[1], S)
  local n, err = E.parse_size(opts.size, info.nframes)
  if not n then cli.usage_error(recipe, "option '--size': %s", err) end
  local h = R.bandwidth(recipe, S, info)
  local kopt = R.kernel(S)
  local full = E.entropy(X, h, kopt)
  local methods = opts.method == "all" and {"greedy", "fps", "random"} or {opts.method}
  local report = {recipe = "compress", file = files[1], settings = R.settings(S, h), size = n,
                  full = {frames = info.nframes, N = full.N, H = full.H, D = full.D, efficiency = full.efficiency},
                  methods = {}}
  print(string.format("%s: %d frames, %d environments; keeping %d frames", files[1], info.nframes, info.n, n))
  print(string.format("%-8s %7s %8s %9s %9s %11s %10s %10s", "method", "frames", "N", "H", "D", "efficiency",
                      "overlap", "mean dH"))
  print(string.format("%-8s %7d %8d %9s %9s %11s %10s %10s", "(all)", info.nframes, full.N, R.fmt(full.H),
                      R.fmt(full.D), full.efficiency and (R.fmt(full.efficiency, 1) .. " %") or "-", "100 %", "-"))
  R.mkdir(recipe, opts.outdir)
  local picks = {}
  for _, m in ipairs(methods) do
    local t0 = os.clock()
    local sel = E.compress(X, info, n, {method = m, h = h, seed = opts.seed, max_evals = opts.max_evals,
                                        kernel_method = S.method})
    picks[m] = sel.frames
    local Y = E.frame_rows(X, info, sel.frames)
    local r = E.entropy(Y, h, kopt)
    local dH = E.delta(X, Y, h, kopt)
    local ov = dH:lt(opts.eps):sum() / info.n
    local entry = {frames = sel.frames, N = r.N, H = r.H, D = r.D, efficiency = r.efficiency, overlap = ov,
                   mean_dH_full = dH:mean(), fraction_full_above_0 = dH:gt(0):sum() / info.n,
                   cpu_seconds = os.clock() - t0}
    if sel.H_path then entry.H_path = sel.H_path; entry.stats = sel.stats end
    report.methods[m] = entry
    print(string.format("%-8s %7d %8d %9s %9s %11s %9.1f%% %10s", m, n, r.N, R.fmt(r.H), R.fmt(r.D),
                        r.efficiency and (R.fmt(r.efficiency, 1) .. " %") or "-", 100 * ov, R.fmt(entry.mean_dH_full)))
    local sorted = {}
    for i, f in ipairs(sel.frames) do sorted[i] = f end
    table.sort(sorted)
    local out = {}
    for i, f in ipairs(sorted) do
      local at = info.frames[f]:copy()
      at.info.source_frame = f
      out[i] = at
    end
    local path = opts.outdir .. "/" .. R.stem(files[1]) .. "." .. m .. ".xyz"
    R.write_frames(recipe, path, out)
    entry.file = path
  end
  print("(overlap: fraction of all environments with dH(all | subset) < " .. opts.eps ..
        "; mean dH: of all environments against the subset, lower is better)")
  if #methods > 1 then
    -- H of the first k picks of each method, k on a grid of ~12 sizes.
    local ks = {}
    for i = 1, 12 do
      local k = math.max(1, math.floor(n * i / 12 + 0.5))
      if #ks == 0 or k > ks[#ks] then ks[#ks + 1] = k end
    end
    local curve, rows = {}, {}
    for _, m in ipairs(methods) do
      curve[m] = {}
      for j, k in ipairs(ks) do
        if m == "greedy" then curve[m][j] = report.methods.greedy.H_path[k]
        else
          local sub = {}
          for q = 1, k do sub[q] = picks[m][q] end
          curve[m][j] = E.entropy((E.frame_rows(X, info, sub)), h, kopt).H
        end
      end
    end
    for j, k in ipairs(ks) do rows[j] = {k, curve.greedy[j], curve.fps[j], curve.random[j]} end
    report.curve = {frames = ks, H = curve}
    R.write_csv(recipe, opts.outdir .. "/compress_curve.csv", {"frames", "H_greedy", "H_fps", "H_random"}, rows)
    R.svg(recipe, opts.outdir .. "/compress_curve.svg", {
      title = "Entropy of the kept frames", xlabel = "frames kept", ylabel = "H (nats)",
      series = {{x = ks, y = curve.greedy, label = "greedy (max entropy)", style = "linepoints"},
                {x = ks, y = curve.fps, label = "farthest points", style = "linepoints"},
                {x = ks, y = curve.random, label = "random", style = "linepoints"}},
    })
  end
  local json = R.write_json(recipe, opts.outdir .. "/compress.json", report)
  print("wrote " .. opts.outdir .. "/ (" .. json .. ", subsets as extxyz)")
  return 0
end

return recipe
