-- melt.lua -- melt a copper crystal (EAM, Cu_u3 of Foiles, Baskes & Daw, PRB 33, 7983 (1986)) and
-- show that the information entropy of each frame and its mean dH against the starting crystal
-- jump at the transition, together with the enthalpy and the volume; bracket and estimate T_m.
--
-- Method.  (1) Heating scan: NPT (Langevin thermostat + stochastic cell rescaling, P = 0) at
-- T_start, T_start + dT, ..., T_stop, each temperature equilibrated and then sampled (frames for
-- the entropy, thermo rows for <H>, <V>).  (2) Cooling scan back down from the liquid.  A perfect
-- periodic crystal has no surface to nucleate the liquid, so it superheats (melts at T+ > T_m),
-- and a small liquid undercools (freezes at T- < T_m): the scans bracket T_m, and the
-- hysteresis estimate T_m = T+ + T- - sqrt(T+ T-) of Luo, Strachan & Swift (J. Chem. Phys. 120,
-- 11640 (2004), eq. 5; cited from memory) narrows it.  (3) Two-phase coexistence (Morris, Wang,
-- Ho & Chan, PRB 49, 3109 (1994)): a box of n x n x 2n cells, half crystal and half liquid with
-- (001) interfaces, is run NPT (anisotropic) at temperatures around the estimate; above T_m the
-- crystal melts and H rises, below it grows and H falls: T_m interpolates dH/dt between the two
-- runs that bracket its sign change.  The liquid half is made by a short 3000 K run with the
-- crystal half held by heavy masses (1e6 amu).
-- Entropy: QUESTS descriptors (k = 32, rc = 5 Å), H of each frame and the mean dH of its
-- environments against the frames of the first temperature (strata.entropy describe / per_frame;
-- Schwalbe-Koda et al., Nat. Commun. 16, 4014 (2025)), bandwidth from the QUESTS rule for the
-- crystal's volume per atom (h = 0.061 1/Å for Cu at 300 K; at 0.015 the H of a hot crystal already sits at
-- ln N and the jump is lost).  The crystal-like fraction of the coexistence box takes for each
-- environment the smaller dH against crystal and liquid frames of the scans (a likelihood ratio).
-- The jump of each signal is the step between neighbouring temperatures that most exceeds the
-- median of the nearby steps.
--
-- Literature: T_m of Cu_u3 is about 1340 K (as usually quoted for the FBD potential, e.g. Foiles &
-- Adams, PRB 40, 5909 (1989); not verified against the primary source here); experiment 1358 K.
-- Does not: compute free energies, correct for finite size, or vary the interface orientation.
-- smoke: --cells 3 --T-start 300 --T-stop 2100 --T-step 900 --equil 100 --prod 200 --frames-per-T 2 --tp-cells 2 --tp-steps 200 --tp-temps 2 --outdir $OUT -q

local cli = require "strata.cli"
local md = require "strata.md"
local util = require "strata.util"
local sio = require "strata.io"

local recipe = {
  name = "melt",
  summary = "heat Cu (EAM Cu_u3) through melting: entropy, dH, enthalpy and volume jumps; T_m estimate",
  usage = [[
Heats an fcc Cu crystal at P = 0 in steps of --T-step (NPT), cools it back,
and runs a solid-liquid coexistence box around the estimated T_m.  Writes
into OUTDIR:
  melt.csv        per temperature and branch: <H>, <V>, <E_pot>, entropy H, mean dH
  frames.csv      per sampled frame: T, entropy H, mean dH against the start
  coexist.csv     two-phase runs: T, dH/dt (eV/atom/ps), crystal fraction start/end
  melt.json       everything above, T+ / T- / T_m estimates, jumps, timings
  melt.svg        entropy H and mean dH against T (heating and cooling)
  thermo.svg      enthalpy and volume per atom against T
  coexist.svg     dH/dt of the two-phase runs against T, with the zero crossing
T+ (superheating) and T- (undercooling) are where the heating and cooling scans
jump; the two-phase runs place T_m between them.
The full default run (500 atoms, 300..2000 K, 10 ps per temperature, plus a
1000-atom coexistence box) takes 100-150 s on 2 cores (docs/md.md has the results).

examples:
  strata melt
  strata melt --cells 4 --T-step 50 --T-start 1200 --T-stop 1900
  strata melt --no-two-phase --no-cool --outdir quick]],
  options = {
    { name = "potential", metavar = "FILE", default = "/usr/share/lammps/potentials/Cu_u3.eam",
      help = "EAM funcfl file for Cu (Debian package lammps-data)" },
    { name = "a", type = "number", default = 3.615, metavar = "A", help = "starting lattice constant, Å" },
    { name = "cells", type = "int", default = 5, help = "crystal of N x N x N fcc cells (4 N^3 atoms)" },
    { name = "T-start", type = "number", default = 300, metavar = "K", help = "first temperature" },
    { name = "T-stop", type = "number", default = 2000, metavar = "K", help = "last temperature of the heating scan" },
    { name = "T-step", type = "number", default = 100, metavar = "K", help = "temperature step" },
    { name = "dt", type = "number", default = 2, metavar = "FS", help = "timestep" },
    { name = "equil", type = "int", default = 2500, help = "steps at each temperature before sampling" },
    { name = "prod", type = "int", default = 2500, help = "sampled steps at each temperature" },
    { name = "frames-per-T", type = "int", default = 5, help = "frames for the entropy per temperature" },
    { name = "cool", type = "flag", default = true, help = "cooling scan after heating (--no-cool to skip)" },
    { name = "two-phase", type = "flag", default = true, help = "solid-liquid coexistence runs (--no-two-phase to skip)" },
    { name = "tp-cells", type = "int", default = 5, help = "coexistence box of N x N x 2N cells" },
    { name = "tp-steps", type = "int", default = 5000, help = "steps of each coexistence run" },
    { name = "tp-temps", type = "int", default = 5, help = "number of coexistence temperatures" },
    { name = "tp-spacing", type = "number", default = 40, metavar = "K", help = "spacing of the coexistence temperatures" },
    { name = "T-guess", type = "number", metavar = "K",
      help = "centre of the coexistence temperatures (default: hysteresis estimate)" },
    { name = "bandwidth", default = "auto", metavar = "H|auto",
      help = "QUESTS kernel bandwidth, 1/Å; auto: QUESTS rule from the crystal's volume per atom (0.061 for Cu at 300 K)" },
    { name = "seed", type = "int", default = 1, help = "random seed" },
    { name = "frames", metavar = "FILE", help = "also write the sampled frames (extxyz)" },
    { name = "outdir", short = "o", default = "strata-melt", metavar = "DIR", help = "output folder" },
    { name = "quiet", short = "q", type = "flag", help = "no progress line" },
  },
}

recipe.literature = {T_m = 1340, T_m_experiment = 1358,
  source = "Cu_u3 (Foiles, Baskes & Daw, PRB 33, 7983 (1986)); T_m about 1340 K as usually quoted for this potential " ..
           "(e.g. Foiles & Adams, PRB 40, 5909 (1989)); primary source not verified here; experiment 1358 K"}

-- ---- analysis helpers (pure functions; tested in tests/lua/md_spec.lua) -------------------------

local A = {}
recipe.analysis = A

local function finite(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end

local function median(t)
  local c = {}
  for i, v in ipairs(t) do c[i] = v end
  table.sort(c)
  local n = #c
  if n == 0 then return 0 end
  return n % 2 == 1 and c[(n + 1) / 2] or 0.5 * (c[n / 2] + c[n / 2 + 1])
end

--- The jump of v along a scan T: the step between neighbouring points that most exceeds its local
--- background (the median of the steps within two points on either side), in the direction
--- `sign` (+1: v rises along the scan, -1: falls).  A smooth, curved background (the entropy of a
--- crystal saturating with T) is thus not mistaken for a jump.  Returns {T = midpoint, from, to,
--- size = the excess step, step = the raw step, index} or nil for fewer than 2 points.
function A.jump(T, v, sign)
  sign = sign or 1
  local d = {}
  for k = 1, #T - 1 do
    if finite(v[k]) and finite(v[k + 1]) then d[k] = sign * (v[k + 1] - v[k]) end
  end
  local best
  for k = 1, #T - 1 do
    if d[k] then
      local around = {}
      for j = k - 2, k + 2 do if j ~= k and d[j] then around[#around + 1] = d[j] end end
      local e = d[k] - median(around)
      if not best or e > best.e then best = {k = k, e = e} end
    end
  end
  if not best then return nil end
  local k = best.k
  return {T = 0.5 * (T[k] + T[k + 1]), from = T[k], to = T[k + 1], size = sign * best.e, step = sign * d[k], index = k}
end

--- Hysteresis estimate of the melting point from the superheating (T+) and undercooling (T-)
--- limits: T_m = T+ + T- - sqrt(T+ T-) (Luo, Strachan & Swift 2004, eq. 5).
function A.hysteresis_tm(Tp, Tm) return Tp + Tm - math.sqrt(Tp * Tm) end

--- Least-squares line y = a + b x over the pairs with finite values: a, b, n.
function A.linfit(x, y)
  local n, sx, sy, sxx, sxy = 0, 0, 0, 0, 0
  for i = 1, #x do
    if finite(x[i]) and finite(y[i]) then
      n, sx, sy, sxx, sxy = n + 1, sx + x[i], sy + y[i], sxx + x[i] * x[i], sxy + x[i] * y[i]
    end
  end
  if n < 2 then return nil end
  local den = n * sxx - sx * sx
  if den == 0 then return nil end
  local b = (n * sxy - sx * sy) / den
  return (sy - b * sx) / n, b, n
end

--- Zero of the fitted line through (x, y): -a/b, or nil when the fit is flat or impossible.
function A.zero_crossing(x, y)
  local a, b = A.linfit(x, y)
  if not a or b == 0 then return nil end
  return -a / b, a, b
end

local function mean_std(v)
  local s, s2, n = 0, 0, 0
  for _, x in ipairs(v) do if finite(x) then s, s2, n = s + x, s2 + x * x, n + 1 end end
  if n == 0 then return 0 / 0, 0 / 0 end
  local m = s / n
  return m, math.sqrt(math.max(s2 / n - m * m, 0))
end
A.mean_std = mean_std

-- ---- the run ------------------------------------------------------------------------------------

local function fail(fmt, ...) error(cli.exit(1, "strata melt: " .. string.format(fmt, ...)), 0) end
local run_two_phase

-- NPT block at temperature T starting from frame `at` (velocities carried over, or Maxwell for the
-- first block): equil steps, then prod steps with `nframes` frames and thermo every 50 steps.
local function block(pot, at, T, o, first, seed)
  local sim, err = md.Simulation(at, {potential = pot, ensemble = "npt", barostat = o.barostat or "iso", T = T, P = 0,
                                      dt = o.dt, seed = seed, velocities = first and "maxwell" or "auto",
                                      tau_p = o.tau_p})
  if not sim then fail("%s", err) end
  local ok, e1 = sim:run(o.equil, {progress = false})
  if not ok then fail("T = %g K: %s", T, e1) end
  local rows, frames = {}, {}
  local fstride = math.max(1, math.floor(o.prod / math.max(o.nframes, 1)))
  local tstride = math.min(50, fstride)         -- thermo rows: a divisor of the frame stride
  while fstride % tstride ~= 0 do tstride = tstride - 1 end
  local start = sim:step()
  ok, e1 = sim:run(o.prod, {every = tstride, progress = false, callback = function(s, t)
    if t.step > start then
      rows[#rows + 1] = t
      if (t.step - start) % fstride == 0 and #frames < o.nframes then frames[#frames + 1] = s:atoms() end
    end
  end})
  if not ok then fail("T = %g K: %s", T, e1) end
  local last = sim:atoms()
  sim:free()
  return last, rows, frames
end

local function summarize(rows, n)
  local H, V, E, P, Tk = {}, {}, {}, {}, {}
  for i, t in ipairs(rows) do H[i], V[i], E[i], P[i], Tk[i] = t.H / n, t.V / n, t.epot / n, t.P, t.T end
  local r = {}
  r.H, r.H_std = mean_std(H)
  r.V, r.V_std = mean_std(V)
  r.epot = mean_std(E)
  r.P = mean_std(P)
  r.T_measured = mean_std(Tk)
  return r
end

-- Solid-liquid coexistence around Tg: an n x n x 2n box, the top half melted by a hot NVT run with
-- the bottom half held by heavy masses, then NPT (anisotropic, P = 0) at temperatures Tg + k
-- spacing.  dH/dt < 0: the crystal grows (T < T_m); > 0: it melts.  T_m interpolates between the
-- two runs that bracket the sign change; without one, up to two more sets of temperatures are run
-- on the side where the crossing must lie.  The crystal-like fraction of the environments at the
-- start and end of each run classifies each environment by the smaller dH against crystal and
-- liquid reference frames from the scans (a kernel-density likelihood ratio, h = 0.015 1/Å).
run_two_phase = function(pot, opts, E, Tg, Tplus, Tminus, branches, X, info, h, show)
  -- lattice constant at Tg from the solid branch (heating points below T+)
  local xs, ys = {}, {}
  for _, p in ipairs(branches.heating) do if not Tplus or p.T < Tplus then xs[#xs + 1] = p.T; ys[#ys + 1] = p.V end end
  local va, vb = A.linfit(xs, ys)
  local vol = va and (va + vb * Tg) or opts.a ^ 3 / 4
  local a_T = (4 * vol) ^ (1 / 3)
  local nc = opts.tp_cells
  local box = md.crystal{kind = "fcc", a = a_T, cells = {nc, nc, 2 * nc}, symbol = "Cu"}
  local nb = #box
  local zmid = nc * a_T
  local masses = {}
  local pos = box.positions:totable()
  for i = 1, nb do masses[i] = pos[i][3] >= zmid - 1e-6 and 63.546 or 1e6 end
  -- melt the top half (3000 K at the crystal's density melts within a few ps; 2000 K does not)
  local T_hot = math.max(3000, 1.7 * Tg)
  local hot, herr = md.Simulation(box, {potential = pot, ensemble = "nvt", T = T_hot, dt = opts.dt, seed = opts.seed + 77,
                                        masses = masses, velocities = "maxwell"})
  if not hot then fail("%s", herr) end
  local melt_steps = math.max(20, math.floor(4000 / opts.dt))        -- 4 ps
  if opts.tp_steps < 1000 then melt_steps = math.max(20, math.floor(opts.tp_steps / 2)) end   -- smoke runs
  local hok, hmsg = hot:run(melt_steps, {progress = false})
  if not hok then fail("two-phase preparation: %s", hmsg) end
  local two = hot:atoms()
  hot:free()
  two:set_array("velocities", nil)
  -- references for the crystal-like fraction: crystal frames nearest Tg below T+, liquid frames
  -- nearest Tg (cooling branch above T-, else heating above T+)
  local cr, lq
  for _, p in ipairs(branches.heating) do
    if (not Tplus or p.T < Tplus) and (not cr or math.abs(p.T - Tg) < math.abs(cr.T - Tg)) then cr = p end
    if Tplus and p.T > Tplus and (not lq or math.abs(p.T - Tg) < math.abs(lq.T - Tg)) then lq = p end
  end
  for _, p in ipairs(branches.cooling) do
    if (not Tminus or p.T > Tminus) and (not lq or math.abs(p.T - Tg) < math.abs(lq.T - Tg)) then lq = p end
  end
  local function rows_of(p) return X:slice({info.offsets[p.first_frame], info.offsets[p.last_frame + 1] - 1}) end
  local XC, XL = cr and rows_of(cr), lq and rows_of(lq)
  local function crystal_fraction(frame)
    if not (XC and XL) then return nil end
    local Y = E.describe({frame})
    local dc, dl = E.delta(Y, XC, 0.015):totable(), E.delta(Y, XL, 0.015):totable()
    local c = 0
    for i = 1, #dc do if dc[i] < dl[i] then c = c + 1 end end
    return c / #dc
  end
  local res = {T_guess = Tg, a = a_T, atoms = nb, T_hot = T_hot, melt_steps = melt_steps, runs = {},
               reference_crystal_T = cr and cr.T, reference_liquid_T = lq and lq.T,
               crystal_start = crystal_fraction(two)}
  local relax = math.max(10, math.floor(opts.tp_steps / 5))
  local function run_at(T, k)
    local sim, serr = md.Simulation(two, {potential = pot, ensemble = "npt", barostat = "aniso", T = T, P = 0, dt = opts.dt,
                                          tau_p = 200 * opts.dt, seed = opts.seed + 100 + k, velocities = "maxwell"})
    if not sim then fail("%s", serr) end
    local rok, rmsg = sim:run(relax, {progress = false})
    if not rok then fail("coexistence at %g K: %s", T, rmsg) end
    local f0 = crystal_fraction(sim:atoms())
    local tt, hh = {}, {}
    rok, rmsg = sim:run(opts.tp_steps, {every = math.max(1, math.floor(opts.tp_steps / 100)), progress = false,
                                        callback = function(_, t) tt[#tt + 1] = t.time / 1000; hh[#hh + 1] = t.H / nb end})
    if not rok then fail("coexistence at %g K: %s", T, rmsg) end
    local f1 = crystal_fraction(sim:atoms())
    sim:free()
    local _, slope = A.linfit(tt, hh)
    local r = {T = T, dHdt = slope, crystal_start = f0, crystal_end = f1, H_start = hh[1], H_end = hh[#hh]}
    res.runs[#res.runs + 1] = r
    print(string.format("  two-phase %6.0f K: dH/dt = %+.5f eV/atom/ps%s", T, slope,
                        f0 and string.format(", crystal-like fraction %.2f -> %.2f", f0, f1) or ""))
    if show then io.stderr:write(string.format("\rmelt: coexistence run %d ", #res.runs)) end
  end
  local temps = {}
  for k = 1, opts.tp_temps do temps[k] = Tg + (k - (opts.tp_temps + 1) / 2) * opts.tp_spacing end
  for k, T in ipairs(temps) do run_at(T, k) end
  local bracket
  for extra = 0, 2 do
    table.sort(res.runs, function(p, q) return p.T < q.T end)
    bracket = nil
    for i = 1, #res.runs - 1 do
      local p, q = res.runs[i], res.runs[i + 1]
      if p.dHdt <= 0 and q.dHdt > 0 then bracket = {p, q} end
    end
    if bracket or extra == 2 then break end
    -- no sign change: all melting -> go lower, all growing -> go higher
    local lo, hi = res.runs[1].T, res.runs[#res.runs].T
    local down = res.runs[1].dHdt > 0
    for k = 1, opts.tp_temps do
      local T = down and lo - k * opts.tp_spacing or hi + k * opts.tp_spacing
      if T > 0 then run_at(T, 100 * (extra + 1) + k) end
    end
  end
  if show then io.stderr:write("\n") end
  local xT, yS = {}, {}
  for i, r in ipairs(res.runs) do xT[i], yS[i] = r.T, r.dHdt end
  res.T_m_fit = A.zero_crossing(xT, yS)
  if bracket then
    local p, q = bracket[1], bracket[2]
    res.T_m = p.T + (q.T - p.T) * (0 - p.dHdt) / (q.dHdt - p.dHdt)
    res.bracket = {p.T, q.T}
  else
    res.T_m = nil
    res.note = "no sign change of dH/dt over the sampled temperatures; set --T-guess or widen --tp-spacing"
  end
  return res
end

function recipe.run(args)
  local opts = cli.parse(recipe, args)
  local function usage(fmt, ...) cli.usage_error(recipe, fmt, ...) end
  if opts.cells < 1 then usage("--cells must be >= 1") end
  if not (opts.dt > 0) then usage("--dt must be > 0 fs, got %s", tostring(opts.dt)) end
  if not (opts.T_start > 0) then usage("--T-start must be > 0 K, got %s", tostring(opts.T_start)) end
  if not (opts.T_stop > opts.T_start) then usage("--T-stop must be above --T-start") end
  if not (opts.T_step > 0) then usage("--T-step must be > 0 K") end
  if opts.equil < 0 or opts.prod < 1 or opts.frames_per_T < 1 then
    usage("--equil >= 0, --prod >= 1 and --frames-per-T >= 1 please")
  end
  if opts.two_phase and (opts.tp_cells < 1 or opts.tp_steps < 10 or opts.tp_temps < 2 or not (opts.tp_spacing > 0)) then
    usage("--tp-cells >= 1, --tp-steps >= 10, --tp-temps >= 2 and --tp-spacing > 0 please")
  end
  local hb = opts.bandwidth == "auto" or tonumber(opts.bandwidth)
  if not hb or (hb ~= true and not (hb > 0)) then
    usage("--bandwidth must be a number > 0 (1/Å) or auto, got '%s'", opts.bandwidth)
  end
  if not util.exists(opts.potential) then
    fail("%s: cannot open (install the Debian package lammps-data, or pass --potential FILE)", opts.potential)
  end
  local E = require "strata.entropy"
  local ok, err = util.mkdir_p(opts.outdir)
  if not ok then fail("cannot create %s: %s", opts.outdir, tostring(err)) end
  local pot, perr = md.potential({name = "eam", file = opts.potential})
  if not pot then fail("%s", perr) end
  local show = not opts.quiet and md.progress_wanted()
  local t_start = md.clock()
  local o = {dt = opts.dt, equil = opts.equil, prod = opts.prod, nframes = opts.frames_per_T}

  local temps = {}
  for T = opts.T_start, opts.T_stop + 1e-9, opts.T_step do temps[#temps + 1] = T end
  local plan = {}
  for _, T in ipairs(temps) do plan[#plan + 1] = {branch = "heating", T = T} end
  if opts.cool then for i = #temps - 1, 1, -1 do plan[#plan + 1] = {branch = "cooling", T = temps[i]} end end

  local at = md.crystal{kind = "fcc", a = opts.a, cells = opts.cells, symbol = "Cu"}
  local n = #at
  print(string.format("strata melt: fcc Cu, %d atoms, EAM %s, NPT P = 0, %g..%g K in steps of %g K%s", n,
                      util.basename(opts.potential), opts.T_start, opts.T_stop, opts.T_step,
                      opts.cool and ", heating and cooling" or ""))
  print(string.format("  %-8s %7s %10s %10s %10s", "branch", "T (K)", "H (eV/at)", "V (Å^3/at)", "P (bar)"))
  local all_frames, frame_meta = {}, {}
  for i, p in ipairs(plan) do
    local rows, frames
    at, rows, frames = block(pot, at, p.T, o, i == 1, opts.seed * 1000 + i)
    local s = summarize(rows, n)
    for k, v in pairs(s) do p[k] = v end
    p.first_frame = #all_frames + 1
    for _, f in ipairs(frames) do
      all_frames[#all_frames + 1] = f
      frame_meta[#frame_meta + 1] = {branch = p.branch, T = p.T}
    end
    p.last_frame = #all_frames
    print(string.format("  %-8s %7.0f %10.4f %10.4f %10.0f", p.branch, p.T, p.H, p.V, p.P))
    if show then io.stderr:write(string.format("\rmelt: %d/%d temperatures, %.0f s ", i, #plan, md.clock() - t_start)) end
  end
  if show then io.stderr:write("\n") end
  local t_scan = md.clock() - t_start

  -- entropy of every frame and mean dH against the frames of the first temperature
  local X, info = E.describe(all_frames)
  if not X then fail("%s", info) end
  local nref = plan[1].last_frame
  local ref = X:slice({1, info.offsets[nref + 1] - 1})
  local h = opts.bandwidth == "auto" and E.bandwidth(plan[1].V) or tonumber(opts.bandwidth)
  local pf = E.per_frame(X, info, h, {ref = ref})
  for _, p in ipairs(plan) do
    local h, d = {}, {}
    for f = p.first_frame, p.last_frame do h[#h + 1] = pf.H[f]; d[#d + 1] = pf.mean_dH[f] end
    p.entropy, p.entropy_std = mean_std(h)
    p.mean_dH, p.mean_dH_std = mean_std(d)
  end
  local t_entropy = md.clock() - t_start - t_scan

  -- jumps: heating (rise with T) and cooling (fall as T decreases)
  local branches = {heating = {}, cooling = {}}
  for _, p in ipairs(plan) do table.insert(branches[p.branch], p) end
  local function series(list, key) local t = {} for i, p in ipairs(list) do t[i] = p[key] end return t end
  local signals = {"H", "V", "entropy", "mean_dH"}
  local jumps = {heating = {}, cooling = {}}
  local hT = series(branches.heating, "T")
  for _, key in ipairs(signals) do jumps.heating[key] = A.jump(hT, series(branches.heating, key), 1) end
  local Tplus = jumps.heating.H and jumps.heating.H.T
  local Tminus
  if #branches.cooling >= 2 then
    local cT = series(branches.cooling, "T")
    for _, key in ipairs(signals) do jumps.cooling[key] = A.jump(cT, series(branches.cooling, key), -1) end
    Tminus = jumps.cooling.H and jumps.cooling.H.T
  end
  local Tm_hyst = (Tplus and Tminus) and A.hysteresis_tm(Tplus, Tminus) or nil

  -- two-phase coexistence
  local coexist, Tm_tp
  local t_tp0 = md.clock()
  if opts.two_phase then
    local Tg = opts.T_guess or Tm_hyst or (Tplus and Tplus / 1.25) or recipe.literature.T_m
    if Tplus and not opts.T_guess and (Tg < 0.6 * Tplus or Tg > Tplus) then Tg = Tplus / 1.25 end
    coexist = run_two_phase(pot, opts, E, Tg, Tplus, Tminus, branches, X, info, h, show)
    Tm_tp = coexist.T_m
  end
  local t_tp = md.clock() - t_tp0

  -- latent heat and volume change at the best estimate, from the solid and liquid branches
  local Tm_best = Tm_tp or Tm_hyst or Tplus
  local jumps_at_Tm
  if Tm_best and Tplus then
    local sx, sH, sV, lx, lH, lV = {}, {}, {}, {}, {}, {}
    for _, p in ipairs(plan) do
      local solid = p.branch == "heating" and p.T < Tplus   -- refrozen crystals hold defects: not used
      local liquid = (p.branch == "heating" and p.T > Tplus) or (p.branch == "cooling" and (not Tminus or p.T > Tminus))
      if solid then sx[#sx + 1], sH[#sH + 1], sV[#sV + 1] = p.T, p.H, p.V end
      if liquid then lx[#lx + 1], lH[#lH + 1], lV[#lV + 1] = p.T, p.H, p.V end
    end
    local a1, b1 = A.linfit(sx, sH)
    local a2, b2 = A.linfit(lx, lH)
    local c1, d1 = A.linfit(sx, sV)
    local c2, d2 = A.linfit(lx, lV)
    if a1 and a2 and c1 and c2 then
      local Hs, Hl = a1 + b1 * Tm_best, a2 + b2 * Tm_best
      local Vs, Vl = c1 + d1 * Tm_best, c2 + d2 * Tm_best
      jumps_at_Tm = {T = Tm_best, latent_heat_eV = Hl - Hs, latent_heat_kJ_mol = (Hl - Hs) * 96.485332,
                     volume_change_percent = 100 * (Vl - Vs) / Vs, Cp_solid_kB = b1 / md.constants.kB,
                     Cp_liquid_kB = b2 / md.constants.kB}
    end
  end

  -- outputs
  local rows = {}
  for _, p in ipairs(plan) do
    rows[#rows + 1] = {p.branch, p.T, p.T_measured, p.H, p.H_std, p.V, p.V_std, p.epot, p.P, p.entropy, p.entropy_std,
                       p.mean_dH, p.mean_dH_std}
  end
  local okc, cerr = util.write_csv(opts.outdir .. "/melt.csv", {"branch", "T_K", "T_measured_K", "H_eV_atom", "H_std",
    "V_A3_atom", "V_std", "epot_eV_atom", "P_bar", "entropy_H_nats", "entropy_H_std", "mean_dH_nats", "mean_dH_std"}, rows)
  if not okc then fail("%s", cerr) end
  local frows = {}
  for f, m in ipairs(frame_meta) do frows[f] = {f, m.branch, m.T, pf.H[f], pf.mean_dH[f]} end
  okc, cerr = util.write_csv(opts.outdir .. "/frames.csv", {"frame", "branch", "T_K", "entropy_H_nats", "mean_dH_nats"}, frows)
  if not okc then fail("%s", cerr) end
  if coexist then
    local crow = {}
    for i, r in ipairs(coexist.runs) do crow[i] = {r.T, r.dHdt, r.crystal_start, r.crystal_end} end
    okc, cerr = util.write_csv(opts.outdir .. "/coexist.csv", {"T_K", "dHdt_eV_atom_ps", "crystal_fraction_start",
                                                               "crystal_fraction_end"}, crow)
    if not okc then fail("%s", cerr) end
  end
  if opts.frames then
    local wok, werr = sio.write(opts.frames, all_frames, {format = "extxyz"})
    if not wok then fail("%s", werr) end
  end

  local plot = require "strata.plot"
  local vl = {{x = recipe.literature.T_m, color = "#555"}}
  if Tplus then vl[#vl + 1] = {x = Tplus, label = "T+", color = "#d62728"} end
  if Tminus then vl[#vl + 1] = {x = Tminus, label = "T-", color = "#1f77b4"} end
  if Tm_best then vl[#vl + 1] = {x = Tm_best, label = "T_m", color = "#2ca02c"} end
  local legend = {{color = "#555",
                   label = string.format("dashed grey: T_m of the potential, literature (%d K)", recipe.literature.T_m)}}
  if Tm_best then legend[2] = {color = "#2ca02c", label = string.format("dashed green: T_m estimated here (%.0f K)", Tm_best)} end
  local function xy(list, key) return series(list, "T"), series(list, key) end
  local sH1, sH2 = xy(branches.heating, "entropy")
  local sD1, sD2 = xy(branches.heating, "mean_dH")
  local pseries = {{x = sH1, y = sH2, label = "entropy H, heating", style = "linepoints", color = "#d62728"},
                   {x = sD1, y = sD2, label = "mean dH vs 300 K crystal, heating", axis = 2, style = "linepoints", color = "#ff7f0e"}}
  if #branches.cooling > 0 then
    local c1, c2 = xy(branches.cooling, "entropy")
    local c3, c4 = xy(branches.cooling, "mean_dH")
    pseries[#pseries + 1] = {x = c1, y = c2, label = "entropy H, cooling", style = "linepoints", color = "#1f77b4"}
    pseries[#pseries + 1] = {x = c3, y = c4, label = "mean dH, cooling", axis = 2, style = "linepoints", color = "#17becf"}
  end
  local pok, plerr = plot.svg(opts.outdir .. "/melt.svg", {title = "Cu (EAM Cu_u3): information entropy across melting",
    xlabel = "T (K)", ylabel = "entropy H of a frame (nats)", y2label = "mean dH against the crystal (nats)",
    series = pseries, vlines = vl, legend = legend})
  if not pok then fail("%s", plerr) end
  local h1, h2 = xy(branches.heating, "H")
  local v1, v2 = xy(branches.heating, "V")
  local tseries = {{x = h1, y = h2, label = "H, heating", style = "linepoints", color = "#d62728"},
                   {x = v1, y = v2, label = "V, heating", axis = 2, style = "linepoints", color = "#ff7f0e"}}
  if #branches.cooling > 0 then
    local c1, c2 = xy(branches.cooling, "H")
    local c3, c4 = xy(branches.cooling, "V")
    tseries[#tseries + 1] = {x = c1, y = c2, label = "H, cooling", style = "linepoints", color = "#1f77b4"}
    tseries[#tseries + 1] = {x = c3, y = c4, label = "V, cooling", axis = 2, style = "linepoints", color = "#17becf"}
  end
  pok, plerr = plot.svg(opts.outdir .. "/thermo.svg", {title = "Cu (EAM Cu_u3): enthalpy and volume, P = 0",
    xlabel = "T (K)", ylabel = "H (eV/atom)", y2label = "V (Å^3/atom)", series = tseries, vlines = vl, legend = legend})
  if not pok then fail("%s", plerr) end
  if coexist then
    local cx, cy = {}, {}
    for i, r in ipairs(coexist.runs) do cx[i], cy[i] = r.T, r.dHdt end
    local cv = {{x = recipe.literature.T_m, color = "#555"}}
    if Tm_tp then cv[#cv + 1] = {x = Tm_tp, label = "T_m", color = "#2ca02c"} end
    pok, plerr = plot.svg(opts.outdir .. "/coexist.svg", {title = "Solid-liquid coexistence: the crystal grows (< 0) or melts (> 0)",
      xlabel = "T (K)", ylabel = "dH/dt (eV/atom/ps)", series = {{x = cx, y = cy, label = "dH/dt", style = "linepoints"}},
      vlines = cv, legend = legend})
    if not pok then fail("%s", plerr) end
  end

  local total = md.clock() - t_start
  local result = {recipe = "melt", potential = opts.potential, atoms = n, literature = recipe.literature,
                  settings = {cells = opts.cells, a = opts.a, T_start = opts.T_start, T_stop = opts.T_stop,
                              T_step = opts.T_step, dt = opts.dt, equil = opts.equil, prod = opts.prod,
                              frames_per_T = opts.frames_per_T, cool = opts.cool, two_phase = opts.two_phase,
                              bandwidth = h, bandwidth_option = opts.bandwidth, seed = opts.seed,
                              entropy = "QUESTS k = 32, rc = 5 Å"},
                  temperatures = plan, jumps = jumps, T_plus = Tplus, T_minus = Tminus, T_m_hysteresis = Tm_hyst,
                  coexistence = coexist, T_m_two_phase = Tm_tp, T_m_estimate = Tm_best, at_T_m = jumps_at_Tm,
                  seconds = {total = total, scans = t_scan, entropy = t_entropy, two_phase = t_tp},
                  threads = require("strata.backend").get_num_threads()}
  for _, p in ipairs(plan) do p.first_frame, p.last_frame = nil, nil end
  local jok, jerr = util.write_json(opts.outdir .. "/melt.json", result)
  if not jok then fail("%s", jerr) end

  local function f0(v) return v and string.format("%.0f K", v) or "-" end
  print("")
  for _, key in ipairs(signals) do
    local h, c = jumps.heating[key], jumps.cooling[key]
    print(string.format("  jump of %-8s heating at %s (%+.4g)%s", key, f0(h and h.T), h and h.size or 0 / 0,
                        c and string.format(", cooling at %s (%+.4g)", f0(c.T), c.size) or ""))
  end
  print(string.format("  superheating limit T+ = %s, undercooling limit T- = %s, hysteresis estimate T_m = %s",
                      f0(Tplus), f0(Tminus), f0(Tm_hyst)))
  if coexist then
    print(string.format("  two-phase coexistence: T_m = %s%s", f0(Tm_tp), coexist.note and (" (" .. coexist.note .. ")") or ""))
  end
  print(string.format("  literature T_m of the potential: about %d K (experiment %d K)", recipe.literature.T_m,
                      recipe.literature.T_m_experiment))
  if jumps_at_Tm then
    print(string.format("  at T_m = %.0f K: latent heat %.3f eV/atom (%.1f kJ/mol), volume change %+.1f %%", jumps_at_Tm.T,
                        jumps_at_Tm.latent_heat_eV, jumps_at_Tm.latent_heat_kJ_mol, jumps_at_Tm.volume_change_percent))
  end
  print(string.format("  %.0f s (scans %.0f s, entropy %.0f s, two-phase %.0f s); wrote %s/melt.{csv,json,svg}, thermo.svg%s",
                      total, t_scan, t_entropy, t_tp, opts.outdir, coexist and ", coexist.{csv,svg}" or ""))
  pot:free()
  return 0
end

return recipe
