-- Molecular dynamics from Lua (lua/strata/md.lua over csrc/lua/md.c or lua/strata/ffi_md.lua) and
-- the recipes md and melt.  Run inside bin/strata:
--   bin/strata tests/run_busted.lua -o TAP tests/lua/md_spec.lua
-- and under LuaJIT through tests/ffi/md_spec.lua (the same file).
--
-- Independent checks: energy, pressure tensor, forces and per-atom energies of a displaced,
-- sheared EAM copper crystal against LAMMPS (numbers below); the Lennard-Jones dimer in closed
-- form; forces against central differences of the energy; translation invariance; kinetic energy
-- and temperature recomputed here from velocities and masses; free Langevin particles against the
-- exact BAOAB diffusion coefficient (MSD slope and VACF integral); g(r) of a perfect fcc crystal
-- (12 neighbours at a/sqrt 2); restart round trips compared byte for byte with uninterrupted runs;
-- every error path of the issue (missing and malformed potential files, unknown species, dt and T
-- <= 0, overlapping atoms, an exploding run, damaged restart files, use after free).
local strata = require "strata"
local md = require "strata.md"
local cli = require "strata.cli"
local util = require "strata.util"
local H = require "shared.spec_helpers"
local B = require "strata.backend"

local CU = "/usr/share/lammps/potentials/Cu_u3.eam"
local HAVE_CU = util.exists(CU)
local function need_cu() if not HAVE_CU then pending("needs " .. CU .. " (Debian package lammps-data)") end return HAVE_CU end
local LJ_AR = "lj:epsilon=0.0104,sigma=3.40,rc=8.5"

local near = H.near_fn(15)
local function has(s, sub) assert(type(s) == "string" and s:find(sub, 1, true), string.format("expected '%s' in: %s", sub, tostring(s))) end

local tmp = H.tmpdir("md-spec")
local write_text = H.write_text

local recipe = H.recipe

-- The displaced, sheared Cu crystal whose LAMMPS numbers are below: 3 x 3 x 3 fcc cells, a = 3.615 Å,
-- lower-triangular cell with tilts (0.6, -0.4, 0.3), every coordinate displaced by 0.12 (2u - 1) Å,
-- u from the Park-Miller generator s <- 16807 s mod (2^31 - 1), seed 12345 (exact in doubles).
local function lammps_config()
  local s = 12345
  local function u() s = (s * 16807) % 2147483647; return s / 2147483647 end
  local a, nc = 3.615, 3
  local cell = {{nc * a, 0, 0}, {0.6, nc * a, 0}, {-0.4, 0.3, nc * a}}
  local basis = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}}
  local pos, sym = {}, {}
  for i = 0, nc - 1 do for j = 0, nc - 1 do for k = 0, nc - 1 do for _, b in ipairs(basis) do
    local f = {(i + b[1]) / nc, (j + b[2]) / nc, (k + b[3]) / nc}
    local p = {}
    for c = 1, 3 do p[c] = f[1] * cell[1][c] + f[2] * cell[2][c] + f[3] * cell[3][c] + 0.12 * (2 * u() - 1) end
    pos[#pos + 1], sym[#sym + 1] = p, "Cu"
  end end end end
  return strata.Atoms{symbols = sym, positions = pos, cell = cell, pbc = true}
end

-- LAMMPS (Debian lammps 20220106, serial): units metal, read_data of the configuration above
-- (%.17g), mass 1 63.55, pair_style eam, pair_coeff 1 1 Cu_u3.eam, compute pe/atom, run 0,
-- thermo and dump formats %.17g.  Pressures in bar from the virial (zero velocities,
-- nktv2p = 1.6021765e6); atoms are 1-based ids.
local LAMMPS = {
  energy = -375.07712595688804,
  pressure = {26652.94495651712, 30371.62365456911, 25706.127028643012, -38978.346104343742,
              27495.256749707631, -18100.481031698731},   -- xx yy zz xy xz yz
  sumf2 = 119.35921654345773,
  atoms = {[1] = {1.1852441315915025, -1.5876131698098543, -1.2369461295021451, -3.3703847422937097},
           [50] = {-0.7953998670933784, 0.63261185170200063, -0.26800474168122979, -3.4180956208112487},
           [108] = {0.72128155813835115, -1.1907405616313393, 0.68544208409197482, -3.446647812501237}},
}

describe("strata.md potentials", function()
  it("EAM Cu_u3 energy, pressure tensor, forces and per-atom energies equal LAMMPS", function()
    if not need_cu() then return end
    local at = lammps_config()
    local pot = assert(md.potential("eam:" .. CU))
    assert.are.equal("eam", pot.name)
    near(pot.cutoff, 4.95, 1e-12, "cutoff")
    local r = assert(pot:compute(at, {per_atom = true}))
    near(r.energy, LAMMPS.energy, 1e-10 * 375, "energy")
    local V = at:volume()
    local comp = {{1, 1}, {2, 2}, {3, 3}, {1, 2}, {1, 3}, {2, 3}}
    for k, c in ipairs(comp) do
      near(r.virial[c[1]][c[2]] / V * 1.6021765e6, LAMMPS.pressure[k], 1e-9 * 3e4, "pressure " .. k)
      near(-r.stress[c[1]][c[2]], r.virial[c[1]][c[2]] / V, 1e-15, "stress sign " .. k)
    end
    near(r.forces:square():sum(), LAMMPS.sumf2, 1e-10 * LAMMPS.sumf2, "sum |F|^2")
    for i, ref in pairs(LAMMPS.atoms) do
      for c = 1, 3 do near(r.forces[i][c], ref[c], 1e-10, "F" .. c .. " of atom " .. i) end
      near(r.atom_energies[i], ref[4], 1e-11, "energy of atom " .. i)
    end
    near(r.atom_energies:sum(), r.energy, 1e-9, "per-atom energies sum to the energy")
    pot:free()
  end)

  it("forces are minus the central differences of the energy; translation changes nothing", function()
    if not need_cu() then return end
    local at = lammps_config()
    local pot = assert(md.potential({name = "eam", file = CU}))
    local r = pot:compute(at)
    local h = 1e-5
    for _, ic in ipairs({{1, 1}, {50, 2}, {77, 3}}) do
      local i, c = ic[1], ic[2]
      local x0 = at.positions[i][c]
      at.positions[i][c] = x0 + h
      local ep = pot:compute(at).energy
      at.positions[i][c] = x0 - h
      local em = pot:compute(at).energy
      at.positions[i][c] = x0
      near(-(ep - em) / (2 * h), r.forces[i][c], 1e-6, "F" .. c .. " of atom " .. i)
    end
    local moved = at:copy()
    moved.positions = moved.positions + strata.array({1.7, -0.3, 2.9})
    local r2 = pot:compute(moved)
    near(r2.energy, r.energy, 1e-9, "translated energy")
    near((r2.forces - r.forces):abs():max(), 0, 1e-9, "translated forces")
  end)

  it("Lennard-Jones dimer matches the closed form", function()
    local eps, sig, d = 0.0104, 3.40, 3.9
    local pot = assert(md.potential("lj:epsilon=0.0104,sigma=3.40,rc=10"))
    local at = strata.Atoms{symbols = {"Ar", "Ar"}, positions = {{0, 0, 0}, {d, 0, 0}}}
    local r = assert(pot:compute(at))
    local sr6 = (sig / d) ^ 6
    near(r.energy, 4 * eps * (sr6 * sr6 - sr6), 1e-15, "E")
    local f = 24 * eps / d * (2 * sr6 * sr6 - sr6)   -- -dE/dr, repulsive > 0
    near(r.forces[2][1], f, 1e-14, "F on atom 2")
    near(r.forces[1][1], -f, 1e-14, "F on atom 1")
    pot:free()
  end)

  it("Verlet lists hold every pair (periodic images included) once, with 1-based atoms; rebuilds past skin/2", function()
    local at = md.crystal{a = 5.26, cells = 2, symbol = "Ar"}
    local s = 99
    local function u() s = (s * 16807) % 2147483647; return s / 2147483647 end
    local x = at.positions:totable()
    for i = 1, #x do for c = 1, 3 do x[i][c] = x[i][c] + 0.3 * (2 * u() - 1) end end
    at.positions = x
    local rc, L = 6.0, 10.52                     -- the cutoff exceeds half the cell: several images
    local count, sum = 0, 0
    for i = 1, #x do
      for j = i, #x do
        for a = -2, 2 do for b = -2, 2 do for c = -2, 2 do
          if j > i or (a > 0 or (a == 0 and (b > 0 or (b == 0 and c > 0)))) then
            local d = math.sqrt((x[j][1] + a * L - x[i][1]) ^ 2 + (x[j][2] + b * L - x[i][2]) ^ 2 + (x[j][3] + c * L - x[i][3]) ^ 2)
            if d < rc then count, sum = count + 1, sum + d end
          end
        end end end
      end
    end
    local nl = md.nlist(rc, {skin = 0.5})
    assert.is_true(nl:update(at))
    local p = nl:pairs()
    assert.are.equal(count, p.i.shape[1])
    near(p.d:square():sum(2):sqrt():sum(), sum, 1e-9 * sum, "sum of pair distances")
    assert.are.equal(1, math.min(p.i:min(), p.j:min()))
    assert.are.equal(#x, math.max(p.i:max(), p.j:max()))
    at.positions = at.positions + strata.array({0.1, 0.1, 0})   -- every atom moved 0.14 Å < skin/2
    assert.is_false(nl:update(at))
    at.positions[5] = at.positions[5] + strata.array({0.3, 0, 0})   -- 0.3 Å > skin/2
    assert.is_true(nl:update(at))
    assert.are.equal(2, nl:builds())
    nl:free()
    local ok, e = pcall(nl.pairs, nl)
    assert.is_false(ok)
    has(e, "md neighbour list used after it was freed")
  end)

  it("spec strings parse into names, files, params and elements", function()
    assert.are.same({name = "eam", file = "/x/Cu_u3.eam"}, md.parse_potential("eam:/x/Cu_u3.eam"))
    assert.are.same({name = "tersoff", file = "SiC.tersoff", elements = "Si C"}, md.parse_potential("tersoff:SiC.tersoff:Si,C"))
    assert.are.same({name = "lj", params = "epsilon=1,sigma=2"}, md.parse_potential("lj:epsilon=1,sigma=2"))
    assert.are.same({name = "muller-brown"}, md.parse_potential("muller-brown"))
    local names = md.potentials()
    local set = {}
    for _, n in ipairs(names) do set[n] = true end
    for _, n in ipairs({"lj", "morse", "eam", "eam/alloy", "sw", "tersoff", "harmonic"}) do assert.is_true(set[n], n) end
  end)
end)

describe("strata.md simulations", function()
  it("thermo agrees with the potential and with K, T recomputed from velocities and masses", function()
    if not need_cu() then return end
    local at = lammps_config()
    local sim = assert(md.Simulation(at, {potential = "eam:" .. CU, ensemble = "nve", T = 500, dt = 1, seed = 7}))
    local t = sim:thermo()
    local pot = assert(md.potential("eam:" .. CU))
    near(t.epot, pot:compute(at).energy, 1e-9, "epot")
    local v, m = sim:velocities(), sim:masses()
    local K = 0.5 * (v:square():sum(2) * m):sum() * md.constants.mvv2e
    near(t.ekin, K, 1e-12 * math.abs(K), "kinetic energy")
    near(t.dof, 3 * #at - 3, 0, "dof (NVE, momentum conserved)")
    near(t.T, 500, 1e-9, "initial temperature exactly T")
    near(t.T, 2 * K / (t.dof * md.constants.kB), 1e-9, "T from K")
    local p = (v * m:reshape(#at, 1)):sum(1)
    near(p:abs():max(), 0, 1e-12, "zero total momentum")
    assert.is_true(sim:run(50, {every = 10}))
    local t2 = sim:thermo()
    assert.are.equal(50, t2.step)
    near(t2.time, 50, 1e-12, "time")
    near(t2.etot, t.etot, 1e-4 * #at, "NVE energy conserved")
    -- frames carry the state
    local fr = sim:atoms()
    assert.are.equal(50, fr.info.step)
    near((fr.arrays.velocities - sim:velocities()):abs():max(), 0, 0, "velocities in the frame")
    near(fr.info.energy, t2.epot, 0, "energy in the frame")
    sim:free()
    pot:free()
  end)

  it("free Langevin particles diffuse with the exact BAOAB coefficient (MSD slope and VACF integral)", function()
    -- a harmonic tether with k = 1e-12 eV/Å^2 is no force at all on these scales
    local n = 400
    local at = strata.Atoms{numbers = (function() local t = {} for i = 1, n do t[i] = 18 end return t end)(),
                            positions = strata.zeros({n, 3})}
    local gamma, dt, T, mass = 0.01, 2, 300, 10
    local masses = strata.full({n}, mass)
    local sim = assert(md.Simulation(at, {potential = "harmonic:k=1e-12", ensemble = "langevin", T = T, dt = dt,
                                          friction = gamma, seed = 11, masses = masses}))
    local msd = md.msd{every = 5, nlags = 160, origin_every = 4}
    local vacf = md.vacf{every = 5, nlags = 160, origin_every = 4}
    assert.is_true(sim:run(12000, {every = 1000, observers = {msd, vacf}}))
    -- BAOAB with F = 0: dx = dt/2 (v_n + v_n+1), v_n+1 = c v_n + noise, c = exp(-gamma dt), so
    -- D = (kT/m) (dt/2) (1 + c)/(1 - c) per axis (derived in docs/md.md)
    local s2 = md.constants.kB * T / (mass * md.constants.mvv2e)
    local c = math.exp(-gamma * dt)
    local D = s2 * dt / 2 * (1 + c) / (1 - c)
    local r = msd:result()
    local fit = assert(md.diffusion(r.x, r.y, {from = 400, to = 1590}))
    near(fit.D, D, 0.05 * D, "D from the MSD slope")
    near(fit.D_cm2_s, fit.D * 0.1, 1e-18, "unit conversion")
    local rv = vacf:result()
    near(rv.y[1], 3 * s2, 0.05 * 3 * s2, "<v.v> = 3 kT/m")
    near(md.green_kubo(rv.x, rv.y), D, 0.05 * D, "D from the VACF integral")
    assert.are.equal(10, rv.x[2])      -- lag spacing = every * dt
    sim:free()
    msd:free()
    vacf:free()
  end)

  it("g(r) of a perfect fcc crystal: 12 neighbours at a/sqrt(2)", function()
    local a = 3.615
    local at = md.crystal{a = a, cells = 3}
    local rdf = md.rdf{rmax = 4.5, nbins = 450}
    assert.is_true(rdf:sample(at))
    local res = rdf:result()
    local s = md.rdf_summary(res, (#at - 1) / at:volume())
    near(s.first_peak, a / math.sqrt(2), 0.01, "first peak")
    near(s.coordination, 12, 1e-9, "coordination number")
    rdf:free()
  end)

  it("restart files resume bit for bit (NVE, Langevin, NPT), also through md.load", function()
    if not need_cu() then return end
    for _, ens in ipairs({{ensemble = "nve", T = 600}, {ensemble = "nvt", T = 900}, {ensemble = "npt", T = 900, P = 1000}}) do
      local function new()
        return assert(md.Simulation(md.crystal{a = 3.615, cells = 3}, {potential = "eam:" .. CU, ensemble = ens.ensemble,
                                    T = ens.T, P = ens.P, dt = 2, seed = 5, rebuild_every = 1, skin = 0.3}))
      end
      local a = new()
      assert.is_true(a:run(120))
      local b = new()
      assert.is_true(b:run(60))
      local path = tmp .. "/" .. ens.ensemble .. ".restart"
      assert.is_true(b:save(path, {note = "half way"}))
      b:free()
      local c, header = assert(md.load(path))
      assert.are.equal(60, header.step)
      assert.are.equal("half way", header.extra.note)
      assert.are.equal(60, c:step())
      assert.is_true(c:run(60))
      assert.is_true(a:state() == c:state(), ens.ensemble .. ": states differ after the round trip")
      local ta, tc = a:thermo(), c:thermo()
      assert.are.equal(ta.etot, tc.etot)
      assert.is_true(ta.nlist_builds > 1, "the neighbour list was rebuilt in between")
      a:free()
      c:free()
    end
  end)

  it("an interrupt (Ctrl-C) during a run leaves a checkpoint at the last completed step, then raises", function()
    local function new()
      return assert(md.Simulation(md.crystal{a = 5.26, cells = 3, symbol = "Ar"},
                                  {potential = LJ_AR, ensemble = "nvt", T = 60, dt = 5, seed = 8}))
    end
    local sim = new()
    local path = tmp .. "/int.restart"
    local ok, e = pcall(sim.run, sim, 100, {every = 10, checkpoint = path, thermo = tmp .. "/int.csv", traj = tmp .. "/int.xyz",
                                           callback = function(_, t) if t.step == 30 then B.interrupt() end end})
    B.interrupt_clear()
    assert.is_false(ok)
    has(e, "md run: interrupted")
    assert.are.equal(30, sim:step())
    assert.are.equal(30, assert(md.read_restart(path)).step)
    assert.are.equal(4, #assert(md.read_thermo(tmp .. "/int.csv")))      -- steps 0..30
    assert.are.equal(4, #assert(strata.read(tmp .. "/int.xyz")))          -- the trajectory was closed, not lost
    local resumed = assert(md.load(path))
    assert.is_true(resumed:run(70))
    local straight = new()
    assert.is_true(straight:run(100))
    assert.is_true(straight:state() == resumed:state())
    for _, x in ipairs({sim, resumed, straight}) do x:free() end
  end)

  it("run: thermo CSV, trajectory, callback once per stride, periodic checkpoints", function()
    local at = md.crystal{a = 5.26, cells = 3, symbol = "Ar"}
    local sim = assert(md.Simulation(at, {potential = LJ_AR, ensemble = "nvt", T = 60, dt = 5, seed = 2}))
    local calls = 0
    local ok, info = sim:run(100, {every = 20, traj = tmp .. "/run.xyz", traj_every = 40, thermo = tmp .. "/run.csv",
                                   checkpoint = tmp .. "/run.restart", checkpoint_every = 50,
                                   callback = function(s, t) calls = calls + 1; assert(t.step % 20 == 0) end})
    assert.is_true(ok)
    assert.are.equal(6, calls)                        -- steps 0, 20, ..., 100
    assert.are.equal("completed", info.status)
    assert.are.equal(2, info.checkpoints)             -- step 50 and the end
    local rows = assert(md.read_thermo(tmp .. "/run.csv"))
    assert.are.equal(6, #rows)
    assert.are.equal(100, rows[6][1])
    local frames = assert(strata.read(tmp .. "/run.xyz"))
    assert.are.equal(3, #frames)                      -- steps 0, 40, 80
    assert.are.equal(80, frames[3].info.step)
    local header = assert(md.read_restart(tmp .. "/run.restart"))
    assert.are.equal(100, header.step)
    -- stopping from the callback
    local ok2, info2 = sim:run(100, {every = 10, callback = function(_, t) return t.step < 130 end})
    assert.is_true(ok2)
    assert.are.equal("stopped", info2.status)
    assert.are.equal(130, sim:step())
    sim:free()
  end)
end)

describe("strata.md error paths", function()
  it("missing and malformed potential files name the file, line and field", function()
    local p, err = md.potential("eam:" .. tmp .. "/nope.eam")
    assert.is_nil(p)
    has(err, tmp .. "/nope.eam: cannot open")
    local s, err2 = md.Simulation(md.crystal{a = 3.615, cells = 2}, {potential = "eam:" .. tmp .. "/nope.eam", dt = 1})
    assert.is_nil(s)
    has(err2, "nope.eam: cannot open")
    if not need_cu() then return end
    local text = assert(util.read_file(CU))
    local lines = {}
    for line in (text .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
    lines[5] = lines[5]:gsub("^(%s*%S+%s+)%S+", "%1abc", 1)
    local bad = write_text(tmp .. "/bad.eam", table.concat(lines, "\n"))
    local q, err3 = md.potential({name = "eam", file = bad})
    assert.is_nil(q)
    has(err3, "bad.eam: line 5: field 2")
    has(err3, "got 'abc'")
    local r, err4 = md.potential("lj:epsilon=1,sigmax=2")
    assert.is_nil(r)
    has(err4, "unknown key 'sigmax'")
    local u, err5 = md.potential("nosuch")
    assert.is_nil(u)
    has(err5, "unknown potential 'nosuch'")
  end)

  it("species the potential lacks are named", function()
    if not need_cu() then return end
    local at = md.crystal{a = 3.615, cells = 2}
    local z = at.numbers
    z[3] = 28
    local s, err = md.Simulation(at, {potential = "eam:" .. CU, dt = 1})
    assert.is_nil(s)
    has(err, "atom 3 is Ni (Z=28), which the potential does not define (it has: Cu)")
  end)

  it("dt and T <= 0, unknown ensembles and options raise clear errors", function()
    local at = md.crystal{a = 5.26, cells = 2, symbol = "Ar"}
    local function msg(opts)
      local ok, e = pcall(md.Simulation, at, opts)
      assert.is_false(ok)
      return e
    end
    has(msg({potential = LJ_AR, dt = 0}), "timestep dt must be > 0 fs, got 0")
    has(msg({potential = LJ_AR, dt = -1}), "timestep dt must be > 0 fs, got -1")
    has(msg({potential = LJ_AR}), "the timestep dt (fs) is required")
    has(msg({potential = LJ_AR, dt = 1, ensemble = "nvt", T = 0}), "temperature T must be > 0 K")
    has(msg({potential = LJ_AR, dt = 1, ensemble = "npt", T = -10}), "temperature T must be > 0 K")
    has(msg({potential = LJ_AR, dt = 1, ensemble = "nvt"}), "needs a temperature T")
    has(msg({potential = LJ_AR, dt = 1, T = -5}), "temperature T must be >= 0 K")
    has(msg({potential = LJ_AR, dt = 1, ensemble = "nvx"}), "ensemble must be one of")
    has(msg({potential = LJ_AR, dt = 1, tmep = 3}), "unknown option 'tmep'")
    has(msg({dt = 1}), "give a potential")
  end)

  it("overlapping atoms and absurd starting forces are refused with the atoms named", function()
    local at = md.crystal{a = 5.26, cells = 2, symbol = "Ar"}
    at.positions[7] = at.positions[3] + strata.array({0.1, 0, 0})
    local s, err = md.Simulation(at, {potential = LJ_AR, dt = 1})
    assert.is_nil(s)
    has(err, "overlapping atoms: atoms 3 (Ar) and 7 (Ar) are 0.1 Å apart")
    local at2 = md.crystal{a = 5.26, cells = 2, symbol = "Ar"}
    at2.positions[7] = at2.positions[3] + strata.array({1.0, 0, 0})
    local s2, err2 = md.Simulation(at2, {potential = LJ_AR, dt = 1})
    assert.is_nil(s2)
    has(err2, "feels a force of")
    local s3 = md.Simulation(at2, {potential = LJ_AR, dt = 1, max_force = false})
    assert.is_truthy(s3)
    s3:free()
  end)

  it("an exploding run stops with the reason, keeps the last good state and writes its frame", function()
    local at = md.crystal{a = 5.26, cells = 3, symbol = "Ar"}
    local sim = assert(md.Simulation(at, {potential = LJ_AR, T = 3000, dt = 40, seed = 1}))
    local last = tmp .. "/last_good.xyz"
    local ok, err, info = sim:run(200, {every = 10, last_good = last, thermo = tmp .. "/boom.csv"})
    assert.is_nil(ok)
    has(err, "md run: step 2 (t = 80 fs): total energy changed by")
    has(err, "stopped, state restored to step 1")
    has(err, "last good frame (step 1) written to " .. last)
    assert.are.equal("exploded", info.status)
    assert.are.equal(1, sim:step())
    local t = sim:thermo()
    assert.is_true(md.finite(t.etot))
    local fr = assert(strata.read(last, {index = 1}))
    assert.are.equal(1, fr.info.step)
    near((fr.positions - sim:positions()):abs():max(), 0, 1e-9, "the written frame is the last good state")
    assert.are.equal(1, #assert(md.read_thermo(tmp .. "/boom.csv")))   -- the log of what ran is kept
    sim:free()
  end)

  it("damaged, truncated and foreign restart files, and changed potential files, are refused", function()
    if not need_cu() then return end
    local potfile = tmp .. "/Cu_copy.eam"
    write_text(potfile, assert(util.read_file(CU)))
    local sim = assert(md.Simulation(md.crystal{a = 3.615, cells = 2}, {potential = "eam:" .. potfile, dt = 1, T = 300}))
    local path = tmp .. "/dmg.restart"
    assert.is_true(sim:save(path))
    sim:free()
    local text = assert(util.read_file(path))
    local flipped = text:sub(1, #text - 10) .. string.char((text:byte(#text - 9) + 1) % 256) .. text:sub(#text - 8)
    local _, e1 = md.load(write_text(tmp .. "/flip.restart", flipped))
    has(e1, "flip.restart: state checksum mismatch (the file is damaged)")
    local _, e2 = md.load(write_text(tmp .. "/cut.restart", text:sub(1, #text - 100)))
    has(e2, "cut.restart: state has")
    has(e2, "truncated")
    local _, e3 = md.load(write_text(tmp .. "/foreign.restart", "hello\nworld\n"))
    has(e3, "foreign.restart: not a strata MD restart file")
    local _, e4 = md.load(tmp .. "/absent.restart")
    has(e4, "absent.restart: cannot open")
    write_text(potfile, assert(util.read_file(CU)) .. "\n")
    local _, e5 = md.load(path)
    has(e5, "Cu_copy.eam changed since the checkpoint was written")
  end)

  it("handles: use after free is an error; freeing what a simulation still uses is refused", function()
    local pot = assert(md.potential(LJ_AR))
    local sim = assert(md.Simulation(md.crystal{a = 5.26, cells = 2, symbol = "Ar"}, {potential = pot, dt = 1}))
    local ok, e = pcall(pot.free, pot)
    assert.is_false(ok)
    has(e, "still used by 1 simulation(s)")
    local rdf = md.rdf{rmax = 5}
    sim:attach(rdf)
    ok, e = pcall(rdf.free, rdf)
    assert.is_false(ok)
    has(e, "still attached to 1 simulation(s)")
    sim:free()
    pot:free()
    rdf:free()
    ok, e = pcall(sim.thermo, sim)
    assert.is_false(ok)
    has(e, "md simulation used after it was freed")
    ok, e = pcall(pot.compute, pot, md.crystal{a = 5.26, cells = 1, symbol = "Ar"})
    assert.is_false(ok)
    has(e, "md potential used after it was freed")
    ok, e = pcall(rdf.result, rdf)
    assert.is_false(ok)
    has(e, "md observer used after it was freed")
    -- raw handles free themselves and say so
    local h = assert(B.md_potential_new("lj", {params = "epsilon=1,sigma=1"}))
    h:free()
    has(tostring(h), "freed")
  end)
end)

describe("strata md recipe", function()
  local base = {"--lattice", "fcc:Ar:5.26:3", "--potential", LJ_AR, "--ensemble", "nvt", "--T", "60", "--dt", "5",
                "--every", "10", "--seed", "4", "-q"}
  local function args(extra)
    local t = {}
    for _, v in ipairs(base) do t[#t + 1] = v end
    for _, v in ipairs(extra) do t[#t + 1] = v end
    return t
  end

  it("a run interrupted by a checkpoint and resumed equals the uninterrupted run", function()
    local A, Bd = tmp .. "/rA", tmp .. "/rB"
    assert.are.equal(0, recipe("md", args({"--steps", "120", "--outdir", A, "--traj", A .. "/traj.xyz", "--msd", A .. "/msd.csv"})))
    assert.are.equal(0, recipe("md", args({"--steps", "60", "--outdir", Bd, "--traj", Bd .. "/traj.xyz", "--msd", Bd .. "/msd.csv"})))
    assert.are.equal(0, recipe("md", {"--restart", Bd .. "/md.restart", "--steps", "120", "-q"}))
    for _, f in ipairs({"final.xyz", "thermo.csv", "traj.xyz"}) do
      assert.are.equal(util.read_file(A .. "/" .. f), util.read_file(Bd .. "/" .. f), f .. " differs")
    end
    local j = assert(util.json_decode(util.read_file(Bd .. "/md.json")))
    assert.are.equal("completed", j.status)
    assert.are.equal(60, j.resumed_from_step)
    assert.are.equal(120, j.steps.to)
    assert.is_truthy(j.observers_note)
  end)

  it("runs from a --spec file and reports the averages", function()
    local spec = write_text(tmp .. "/run.lua", string.format([[
return {lattice = "fcc:Ar:5.26:3", potential = %q, ensemble = "nve", T = 30, dt = 5, steps = 100, every = 10,
        rdf = %q, quiet = true}]], LJ_AR, tmp .. "/spec_rdf.csv"))
    assert.are.equal(0, recipe("md", {"--spec", spec, "--outdir", tmp .. "/spec"}))
    local j = assert(util.json_decode(util.read_file(tmp .. "/spec/md.json")))
    assert.are.equal("nve", j.settings.ensemble)
    assert.is_true(j.averages.etot_eV.std < 1e-3 * math.abs(j.averages.etot_eV.mean))
    near(j.rdf.first_peak, 5.26 / math.sqrt(2), 0.15, "first peak of solid argon")
    local bad = write_text(tmp .. "/bad_spec.lua", "return {lattice = 'fcc:Ar:5.26:2', potnetial = 'lj'}")
    local code, m = recipe("md", {"--spec", bad})
    assert.are.equal(1, code)
    has(m, "bad_spec.lua: unknown setting 'potnetial'")
  end)

  it("bad input: exit 2 for dt/T <= 0, exit 1 with the reason for files, species, overlaps, explosions", function()
    local code, m = recipe("md", args({"--dt", "0", "--steps", "10"}))
    assert.are.equal(2, code)
    has(m, "--dt must be > 0 fs, got 0")
    code, m = recipe("md", args({"--T", "-3", "--steps", "10"}))
    assert.are.equal(2, code)
    has(m, "--T must be > 0 K, got -3")
    code, m = recipe("md", {"--lattice", "fcc:Cu:3.615:2", "--potential", "eam:" .. tmp .. "/none.eam", "--outdir", tmp .. "/x1"})
    assert.are.equal(1, code)
    has(m, "none.eam: cannot open")
    local ov = md.crystal{a = 5.26, cells = 2, symbol = "Ar"}
    ov.positions[2] = ov.positions[1] + strata.array({0.2, 0.1, 0})
    assert(strata.write(tmp .. "/overlap.xyz", ov))
    code, m = recipe("md", {tmp .. "/overlap.xyz", "--potential", LJ_AR, "--outdir", tmp .. "/x2"})
    assert.are.equal(1, code)
    has(m, "overlapping atoms: atoms 1 (Ar) and 2 (Ar)")
    if HAVE_CU then
      code, m = recipe("md", {tmp .. "/overlap.xyz", "--potential", "eam:" .. CU, "--min-distance", "0.1", "--outdir", tmp .. "/x3"})
      assert.are.equal(1, code)
      has(m, "which the potential does not define")
    end
    local saved = io.stderr
    io.stderr = {write = function() end}   -- the recipe reports the explosion on stderr
    code = recipe("md", {"--lattice", "fcc:Ar:5.26:3", "--potential", LJ_AR, "--T", "3000", "--dt", "40", "--steps", "100",
                         "--outdir", tmp .. "/boom", "-q"})
    io.stderr = saved
    assert.are.equal(1, code)
    local j = assert(util.json_decode(util.read_file(tmp .. "/boom/md.json")))
    assert.are.equal("exploded", j.status)
    has(j.message, "total energy changed by")
    assert.is_truthy(strata.read(tmp .. "/boom/last_good.xyz", {index = 1}))
  end)
end)

describe("strata melt recipe", function()
  local A = assert(cli.find_recipe("melt")).analysis

  it("jump, hysteresis and zero-crossing helpers on synthetic data", function()
    local T = {300, 400, 500, 600, 700, 800}
    local H = {1.0, 1.1, 1.2, 1.8, 1.9, 2.0}   -- slope 0.1 per step plus a jump of 0.5 between 500 and 600
    local j = A.jump(T, H, 1)
    assert.are.equal(550, j.T)
    near(j.size, 0.5, 1e-12, "jump above the background")
    local c = A.jump({800, 700, 600, 500}, {2.0, 1.9, 1.3, 1.2}, -1)
    assert.are.equal(650, c.T)
    near(A.hysteresis_tm(1600, 900), 1600 + 900 - math.sqrt(1600 * 900), 1e-12, "T_m")
    near(A.zero_crossing({1300, 1340, 1380}, {-0.02, 0.0, 0.02}), 1340, 1e-9, "zero crossing")
  end)

  it("runs end to end on a tiny crystal and writes its outputs", function()
    if not need_cu() then return end
    local out = tmp .. "/melt"
    assert.are.equal(0, recipe("melt", {"--cells", "2", "--T-start", "300", "--T-stop", "2300", "--T-step", "1000",
                                        "--equil", "100", "--prod", "200", "--frames-per-T", "2", "--tp-cells", "2",
                                        "--tp-steps", "100", "--tp-temps", "2", "--outdir", out, "-q"}))
    local j = assert(util.json_decode(util.read_file(out .. "/melt.json")))
    assert.are.equal(32, j.atoms)
    assert.are.equal(5, #j.temperatures)             -- 3 heating + 2 cooling
    -- the liquid at 2300 K has a higher entropy and mean dH than the 300 K crystal
    assert.is_true(j.temperatures[3].entropy > j.temperatures[1].entropy)
    assert.is_true(j.temperatures[3].mean_dH > j.temperatures[1].mean_dH + 1)
    for _, f in ipairs({"melt.csv", "frames.csv", "coexist.csv", "melt.svg", "thermo.svg", "coexist.svg"}) do
      assert.is_true(util.exists(out .. "/" .. f), f)
    end
  end)
end)
