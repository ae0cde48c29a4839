-- bench/md.lua -- cost of the Lua layer around the MD kernels (lua/strata/md.lua): the same EAM
-- copper run driven as one C call, and through Simulation:run with a thermo row and callback every
-- 100, 10 and 1 steps (the Lua work per chunk: thermo, a table row, the callback), a trajectory
-- frame every 10 steps, and a restart file written and read back (the Adler-32 checksum is Lua).
-- Reference: bench/bench_md.c (the kernels alone) and ../shared/docs/nnip-benchmarks.md.
--   bin/strata bench/md.lua       (run by bench/run.sh; STRATA_BENCH_CELLS=n, default 10 -> 4000 atoms,
--                                  STRATA_BENCH_STEPS, default 200)
-- Wall-clock figures; the machine may be shared, so treat them as indicative.  Nothing is asserted.
local md = require "strata.md"
local util = require "strata.util"
local strata = require "strata"

local CU = "/usr/share/lammps/potentials/Cu_u3.eam"
if not util.exists(CU) then
  print("  SKIP: " .. CU .. " not found (Debian package lammps-data)")
  return
end
local cells = tonumber(os.getenv("STRATA_BENCH_CELLS") or "10")
local steps = tonumber(os.getenv("STRATA_BENCH_STEPS") or "200")
local pot = assert(md.potential("eam:" .. CU))
local at = md.crystal{a = 3.615, cells = cells}
local n = #at
local tmp = os.tmpname()
print(string.format("  EAM Cu_u3, %d atoms, 1000 K NVE, dt 5 fs, skin 1 Å, %d steps, %d thread(s)", n, steps,
                    strata.get_num_threads()))

local function fresh()
  return assert(md.Simulation(at, {potential = pot, ensemble = "nve", T = 1000, dt = 5, seed = 1}))
end
local function row(what, sec, extra)
  print(string.format("  %-46s %8.3f s  %6.3f M atom-steps/s%s", what, sec, n * steps / sec / 1e6, extra or ""))
end

-- best of three runs from the same start, after one warm-up run (thread start-up, page faults)
local function best(f)
  local b = math.huge
  for _ = 1, 3 do
    local sim = fresh()
    local t = md.clock()
    f(sim)
    b = math.min(b, md.clock() - t)
    sim:free()
  end
  return b
end
do local w = fresh(); assert(require("strata.backend").md_sim_run(w._h, steps)); w:free() end
local base = best(function(sim) assert(require("strata.backend").md_sim_run(sim._h, steps)) end)
row("one C call (st_md_sim_run)", base)
for _, every in ipairs({100, 10, 1}) do
  local s = best(function(sim) assert(sim:run(steps, {every = every, progress = false, callback = function() end})) end)
  row(string.format("Simulation:run, every = %d", every), s, string.format("  overhead %+.1f %%", 100 * (s - base) / base))
end

row("Simulation:run, every = 10 + extxyz frame each", best(function(sim)
  assert(sim:run(steps, {every = 10, traj = tmp .. ".xyz", progress = false}))
end))
os.remove(tmp .. ".xyz")

local sim = fresh()
local t = md.clock()
assert(sim:save(tmp .. ".restart"))
local ts = md.clock() - t
t = md.clock()
local s2 = assert(md.load(tmp .. ".restart", {potentials = {pot}}))
local tl = md.clock() - t
print(string.format("  restart file of %.2f MB: save %.3f s, load + restore %.3f s", #util.read_file(tmp .. ".restart") / 1e6,
                    ts, tl))
s2:free()
sim:free()
os.remove(tmp .. ".restart")
os.remove(tmp)
pot:free()
