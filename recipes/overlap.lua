-- overlap.lua -- how much of one data set is covered by another.
--
-- overlap(TEST | REF) = fraction of TEST environments y with dH(y | REF) < eps (eps = 1e-5 nats:
-- y is as well represented as a point of REF itself); QUESTS, Schwalbe-Koda et al., Nat. Commun.
-- 16, 4014 (2025).  Both directions are reported, since overlap is not symmetric: a small set
-- inside a large one has overlap 1 one way and a small value the other.
--
-- Does not: write per-environment values (that is `strata dh`).
-- smoke: --out $OUT/overlap.json tests/data/vasprun_3step.xml tests/data/vasprun_3step.xml

local cli = require "strata.cli"
local E = require "strata.entropy"
local R = E.recipe

local recipe = {
  name = "overlap",
  summary = "fraction of a test set covered by a reference set (and the other way round)",
  usage = [[
Prints overlap(TEST | REF), the fraction of TEST environments whose dH against
REF is below eps, and overlap(REF | TEST); with --out also JSON.

examples:
  strata overlap test.xyz train.xyz
  strata overlap test.xyz train.xyz --eps 0.5 --out overlap.json]],
  options = R.options({
    { name = "eps", type = "number", default = E.defaults.eps, help = "dH below this counts as covered (nats)" },
    { name = "out", short = "o", metavar = "FILE", help = "write the results as JSON" },
  }),
  positional = { name = "TEST REF", min = 2, max = 2, help = "test and reference structure files" },
}

function recipe.run(args)
  local opts, files = cli.parse(recipe, args)
  local S = R.setup(recipe, opts)
  if not E.finite(opts.eps) then cli.usage_error(recipe, "option '--eps': must be finite, got %s", tostring(opts.eps)) end
  local species
  if S.species_aware then
    local ft, e1 = E.load(files[1])
    if not ft then R.fail(recipe, "%s", e1) end
    local fr, e2 = E.load(files[2])
    if not fr then R.fail(recipe, "%s", e2) end
    species = E.species(ft, fr)
  end
  local Y, yi = R.describe(recipe, files[1], S, species)
  local X, xi = R.describe(recipe, files[2], S, species)
  local h = R.bandwidth(recipe, S, xi)
  local kopt = {method = S.method, eps = opts.eps}
  local a = E.overlap(Y, X, h, kopt)
  local b = E.overlap(X, Y, h, kopt)
  print(string.format("overlap(%s | %s) = %.2f %%   (%d of %d environments with dH < %g)", R.stem(files[1]),
                      R.stem(files[2]), 100 * a, math.floor(a * yi.n + 0.5), yi.n, opts.eps))
  print(string.format("overlap(%s | %s) = %.2f %%   (%d of %d)", R.stem(files[2]), R.stem(files[1]), 100 * b,
                      math.floor(b * xi.n + 0.5), xi.n))
  if opts.out then
    R.write_json(recipe, opts.out, {recipe = "overlap", test = files[1], reference = files[2],
                                    settings = R.settings(S, h), eps = opts.eps, N_test = yi.n,
                                    N_reference = xi.n, overlap_test_in_reference = a,
                                    overlap_reference_in_test = b})
    print("wrote " .. opts.out)
  end
  return 0
end

return recipe
