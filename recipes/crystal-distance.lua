-- crystal-distance.lua -- isometry-invariant distances between periodic crystals (AMD or PDD) for
-- a set of structure files, and each structure's nearest neighbours.
--
-- AMD (average minimum distances, Widdowson & Kurlin, MATCH 87(3) 2022) compared with L-inf (or
-- L1, L2); PDD (pointwise distance distributions, arXiv:2108.04798) compared with the exact earth
-- mover's distance.  Both are invariant to cell choice, rotation and translation and continuous
-- under perturbation, so two structures at distance ~0 are the same crystal.  The kernels are C
-- (csrc/crystal); this recipe reads the files, calls them, and writes the results atomically.
--
-- Does not: relax, symmetrise or fix structures; compare compositions (use --species to restrict
-- the point set); read more than memory holds (all structures are loaded).
-- smoke: tests/data/vasprun_3step.xml --by pdd -k 8 --neighbours 2 --out $OUT/cd

local cli = require "strata.cli"
local util = require "strata.util"
local crystal = require "strata.crystal"

local recipe = {
  name = "crystal-distance",
  summary = "AMD / PDD distance matrix between crystal structures, with nearest neighbours",
  usage = [[
Reads every structure in FILES (CIF, POSCAR, extxyz, vasprun...; a file with several frames gives
one structure per frame, named file#i) and computes the k-neighbour invariants and all pairwise
distances.  With --ref DIR the matrix is instead FILES x (structures in DIR), e.g. new structures
against a known set.

Outputs in --out DIR:
  distances.csv, distances.npy   the matrix (Å); CSV is labelled with structure names
  names.json                     row (and column) names in matrix order
  invariants.npy                 AMD vectors (n x k), with --by amd
  neighbours.csv, neighbours.json  the --neighbours nearest structures of each row
  summary.json                   settings, counts, timings

examples:
  strata crystal-distance ../shared/data/zeolites/iza_ideal/*.cif --out iza
  strata crystal-distance hyp/*.cif --ref ../shared/data/zeolites/iza_ideal --by pdd
  strata crystal-distance a.cif b.cif --metric l2 --species Si -k 50]],
  options = {
    { name = "by", type = "choice", values = {"amd", "pdd"}, default = "amd", help = "invariant: AMD (fast) or PDD (finer, slower)" },
    { name = "k", short = "k", type = "int", default = 100, help = "neighbours per atom" },
    { name = "metric", type = "choice", values = {"linf", "l1", "l2"}, default = "linf", help = "AMD comparison norm (PDD always uses EMD with L-inf ground cost)" },
    { name = "species", metavar = "EL[,EL]", help = "keep only these elements (e.g. Si for the T-atoms of a zeolite)" },
    { name = "ref", metavar = "DIR", help = "compare FILES against every structure file in DIR" },
    { name = "ref-ext", default = "cif", help = "file extension of the structures in --ref" },
    { name = "neighbours", type = "int", default = 10, help = "nearest neighbours listed per structure" },
    { name = "format", help = "file format of FILES (default: from the extension)" },
    { name = "out", short = "o", metavar = "DIR", default = "crystal-distance", help = "output directory" },
  },
  positional = { name = "FILES", min = 1, max = math.huge, help = "structure files" },
}

local function fail(msg)
  io.stderr:write("strata crystal-distance: ", msg, "\n")
  return 1
end

function recipe.run(args)
  local opts, files = cli.parse(recipe, args)
  if opts.k < 1 then cli.usage_error(recipe, "option '-k': must be >= 1, got %d", opts.k) end
  if opts.neighbours < 0 then cli.usage_error(recipe, "option '--neighbours': must be >= 0, got %d", opts.neighbours) end
  local kopts = {k = opts.k}
  if opts.species then
    local ok, sp = pcall(crystal.species_numbers, opts.species)
    if not ok then cli.usage_error(recipe, "option '--species': %s", (tostring(sp):gsub("^[^:]*:%d+: ", ""):gsub("^species: ", ""))) end
    kopts.species = sp
  end
  local t0 = os.clock()
  local set, err = crystal.read_structures(files, {format = opts.format})
  if not set then return fail(err) end
  local ref
  if opts.ref then
    ref, err = crystal.read_dir(opts.ref, {ext = opts.ref_ext})
    if not ref then return fail(err) end
  end
  local t_read = os.clock() - t0
  local names, cols = {}, {}
  for i, s in ipairs(set) do names[i] = s.name end
  for i, s in ipairs(ref or set) do cols[i] = s.name end

  local t1 = os.clock()
  local D, A
  if opts.by == "amd" then
    A, err = crystal.amds(set, kopts)
    if not A then return fail(err) end
    if ref then
      local R
      R, err = crystal.amds(ref, kopts)
      if not R then return fail(err) end
      D = crystal.amd_cross(A, R, {metric = opts.metric})
    else
      D = crystal.amd_matrix(A, {metric = opts.metric})
    end
  else
    local P
    P, err = crystal.pdds(set, kopts)
    if not P then return fail(err) end
    if ref then
      local R
      R, err = crystal.pdds(ref, kopts)
      if not R then return fail(err) end
      D = crystal.pdd_cross(P, R)
    else
      D = crystal.pdd_matrix(P)
    end
  end
  local t_dist = os.clock() - t1

  local ok, werr = util.mkdir_p(opts.out)
  if not ok then return fail(werr) end
  local function check(okw, e) if not okw then error(cli.exit(1, "strata crystal-distance: " .. tostring(e)), 0) end end
  local npy = require "strata.npy"
  check(crystal.write_matrix_csv(opts.out .. "/distances.csv", names, D, cols))
  check(npy.save(opts.out .. "/distances.npy", D))
  check(util.write_json(opts.out .. "/names.json", ref and {rows = names, columns = cols} or names))
  if A then check(npy.save(opts.out .. "/invariants.npy", A)) end
  local nn = crystal.nearest(D, opts.neighbours, {names = cols, exclude_self = not ref})
  local rows, js = {}, {}
  for i, lst in ipairs(nn) do
    js[names[i]] = {}
    for r, e in ipairs(lst) do
      rows[#rows + 1] = {names[i], r, e.name, e.distance}
      js[names[i]][r] = {name = e.name, distance = e.distance}
    end
  end
  check(util.write_csv(opts.out .. "/neighbours.csv", {"structure", "rank", "neighbour", "distance"}, rows))
  check(util.write_json(opts.out .. "/neighbours.json", js))
  check(util.write_json(opts.out .. "/summary.json", {
    by = opts.by, k = opts.k, metric = opts.by == "amd" and opts.metric or "emd-linf", species = opts.species,
    structures = #set, reference = ref and #ref or nil, files = files,
    seconds = {read = t_read, distances = t_dist}, units = "angstrom"}))

  print(string.format("%d structures%s, %s k = %d%s: read %.2f s, distances %.2f s (CPU)", #set,
                      ref and (" x " .. #ref .. " reference") or "", opts.by:upper(), opts.k,
                      opts.by == "amd" and (", " .. opts.metric) or ", EMD", t_read, t_dist))
  local show = math.min(#nn, 20)
  for i = 1, show do
    local e = nn[i][1]
    if e then print(string.format("  %-16s nearest %-16s %.6f Å", names[i], e.name, e.distance)) end
  end
  if #nn > show then print(string.format("  ... (%d more in %s/neighbours.csv)", #nn - show, opts.out)) end
  print("results in " .. opts.out .. "/")
  return 0
end

return recipe
