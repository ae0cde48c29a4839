-- md.lua -- run molecular dynamics from a structure file (or a generated crystal) and a small
-- command-line or Lua spec; write the final frame, a thermodynamic log, a JSON summary, optional
-- trajectory and RDF / MSD / VACF results, and a restart file that resumes the run exactly.
--
-- The integrators, potentials and observers are the C kernels of docs/md.md (velocity Verlet,
-- Langevin BAOAB, Nosé-Hoover chains, NPT by stochastic cell rescaling); strata.md advances them in
-- chunks of --every steps.  Diffusion coefficients: Einstein slope of the MSD (D = slope / 6) and
-- Green-Kubo integral of the VACF (D = 1/3 integral), Allen & Tildesley (2nd ed.) eqs. 8.18 and
-- 2.113.  Averages in the summary use the rows after --discard (fraction of the run).
--
-- Does not: equilibrate for you (look at the thermo log), choose a timestep, or restore observers
-- across a restart (after --restart they start afresh; the summary says so).
-- smoke: --lattice fcc:Ar:5.26:3 --potential lj:epsilon=0.0104,sigma=3.40,rc=8.5 --ensemble nvt --T 60 --dt 5 --steps 200 --every 20 --seed 3 --traj $OUT/traj.xyz --rdf $OUT/rdf.csv --msd $OUT/msd.csv --vacf $OUT/vacf.csv --outdir $OUT --checkpoint-every 100 && bin/strata md --restart $OUT/md.restart --steps 300 --outdir $OUT

local cli = require "strata.cli"
local md = require "strata.md"
local sio = require "strata.io"
local util = require "strata.util"

local recipe = {
  name = "md",
  summary = "molecular dynamics: NVE/NVT/NPT with thermo log, trajectory, RDF/MSD/VACF, restarts",
  usage = [[
Runs MD on STRUCTURE (any format strata reads; --frame picks the frame) or on a
crystal made by --lattice KIND:SYMBOL:A:N (e.g. fcc:Cu:3.615:4, or 4x4x8 cells).
Writes into OUTDIR (paths given explicitly override):
  final.xyz     the last frame (unwrapped positions, velocities, forces)
  thermo.csv    step, time, T, energies, pressure, volume, enthalpy, conserved
  md.json       settings, final state, averages, diffusion coefficients, timings
  md.restart    restart file (checkpoints every --checkpoint-every steps and at the end)
and, when asked, --traj (extxyz), --rdf, --msd, --vacf (CSV).
A --spec FILE (Lua) returns a table with the same fields as the options
(names with '_' for '-', plus `structure`); command-line options win.
--restart FILE resumes a run (same settings; --steps sets a new total).
If the run explodes, it stops with the reason and writes last_good.xyz.
Potentials: eam:FILE, eam/alloy:FILE, sw:FILE[:ELEMENTS], tersoff:FILE[:ELEMENTS],
lj:epsilon=..,sigma=..,rc=.., morse:D0=..,alpha=..,r0=..,rc=.. (units eV, Å).

examples:
  strata md start.xyz --potential eam:/usr/share/lammps/potentials/Cu_u3.eam \
      --ensemble nvt --T 300 --dt 1 --steps 1000 --traj out.xyz --thermo thermo.csv --every 10
  strata md --lattice fcc:Cu:3.615:5 --potential eam:/usr/share/lammps/potentials/Cu_u3.eam \
      --ensemble npt --T 1500 --P 0 --dt 2 --steps 20000 --msd msd.csv --rdf rdf.csv
  strata md --spec run.lua
  strata md --restart strata-md/md.restart --steps 40000]],
  options = {
    { name = "spec", metavar = "FILE", help = "Lua file returning a table of settings" },
    { name = "lattice", metavar = "KIND:SYM:A:N", help = "make a crystal instead of reading STRUCTURE (fcc, bcc, sc, diamond)" },
    { name = "frame", type = "int", help = "frame of STRUCTURE to start from (default 1; -1 = last)" },
    { name = "potential", short = "p", metavar = "SPEC", multiple = true, help = "potential (repeat to add several)" },
    { name = "ensemble", short = "e", type = "choice", values = md.ensembles, help = "ensemble (default nve)" },
    { name = "thermostat", type = "choice", values = {"langevin", "nhc"}, help = "thermostat for nvt (default langevin)" },
    { name = "barostat", type = "choice", values = {"iso", "aniso", "tri"}, help = "barostat for npt (default iso)" },
    { name = "T", type = "number", metavar = "K", help = "temperature (thermostat target; NVE: initial velocities)" },
    { name = "T-init", type = "number", metavar = "K", help = "temperature of the initial velocities (default T)" },
    { name = "P", type = "number", metavar = "BAR", help = "pressure for npt (default 0)" },
    { name = "dt", type = "number", metavar = "FS", help = "timestep (default 1 fs)" },
    { name = "steps", short = "n", type = "int", help = "number of steps (default 1000)" },
    { name = "every", type = "int", help = "steps between thermo rows (default 10)" },
    { name = "seed", type = "int", help = "random seed (velocities, thermostat; default 1)" },
    { name = "friction", type = "number", metavar = "1/FS", help = "Langevin friction (default 0.01)" },
    { name = "tau-t", type = "number", metavar = "FS", help = "Nosé-Hoover time constant (default 100 dt)" },
    { name = "tau-p", type = "number", metavar = "FS", help = "barostat time constant (default 1000 dt)" },
    { name = "skin", type = "number", metavar = "A", help = "neighbour-list skin (default 1 Å)" },
    { name = "min-distance", type = "number", metavar = "A", help = "refuse atoms closer than this (default 0.5 Å)" },
    { name = "traj", metavar = "FILE", help = "trajectory (extxyz)" },
    { name = "traj-every", type = "int", help = "steps between trajectory frames (default --every)" },
    { name = "thermo", metavar = "FILE", help = "thermo CSV (default OUTDIR/thermo.csv)" },
    { name = "final", metavar = "FILE", help = "final frame (default OUTDIR/final.xyz)" },
    { name = "json", metavar = "FILE", help = "JSON summary (default OUTDIR/md.json)" },
    { name = "rdf", metavar = "FILE", help = "radial distribution function CSV (r, g, coordination)" },
    { name = "rdf-rmax", type = "number", metavar = "A", help = "RDF range (default 6 Å)" },
    { name = "rdf-bins", type = "int", help = "RDF bins (default 200)" },
    { name = "msd", metavar = "FILE", help = "mean-squared displacement CSV (+ diffusion coefficient)" },
    { name = "vacf", metavar = "FILE", help = "velocity autocorrelation CSV (+ Green-Kubo D)" },
    { name = "sample-every", type = "int", help = "steps between RDF/MSD/VACF samples (default --every)" },
    { name = "nlags", type = "int", help = "MSD/VACF lags in samples (default: a third of the samples, <= 1000)" },
    { name = "discard", type = "number", metavar = "FRAC", help = "fraction of the run left out of averages (default 0.2)" },
    { name = "checkpoint", metavar = "FILE", help = "restart file (default OUTDIR/md.restart)" },
    { name = "checkpoint-every", type = "int", help = "steps between checkpoints (default: at the end only)" },
    { name = "restart", metavar = "FILE", help = "resume the run saved in FILE" },
    { name = "outdir", short = "o", metavar = "DIR", help = "output folder (default strata-md)" },
    { name = "quiet", short = "q", type = "flag", help = "no progress line" },
  },
  positional = { name = "STRUCTURE", min = 0, max = 1, help = "starting structure" },
}

local DEFAULTS = {ensemble = "nve", dt = 1, steps = 1000, every = 10, seed = 1, rdf_rmax = 6, rdf_bins = 200,
                  discard = 0.2, outdir = "strata-md", frame = 1}

local function fail(fmt, ...)
  error(cli.exit(1, "strata md: " .. string.format(fmt, ...)), 0)
end
local function usage(fmt, ...) cli.usage_error(recipe, fmt, ...) end

-- Settings: defaults < spec file < command line.
local function settings(opts, pos)
  local S = {}
  if opts.spec then
    local chunk, err
    local env = setmetatable({}, {__index = _G})
    if setfenv then
      chunk, err = loadfile(opts.spec)
      if chunk then setfenv(chunk, env) end
    else
      chunk, err = loadfile(opts.spec, "t", env)
    end
    if not chunk then fail("%s", err) end
    local ok, t = pcall(chunk)
    if not ok then fail("%s: %s", opts.spec, tostring(t)) end
    if type(t) ~= "table" then fail("%s: must return a table of settings, got %s", opts.spec, type(t)) end
    local known = {structure = true}
    for _, o in ipairs(recipe.options) do known[(o.name:gsub("-", "_"))] = true end
    for k, v in pairs(t) do
      if not known[k] then fail("%s: unknown setting '%s'", opts.spec, tostring(k)) end
      S[k] = v
    end
    if type(S.potential) == "string" or (type(S.potential) == "table" and S.potential.name) then S.potential = {S.potential} end
  end
  for k, v in pairs(opts) do if k ~= "spec" then S[k] = v end end
  if pos[1] then S.structure = pos[1] end
  for k, v in pairs(DEFAULTS) do if S[k] == nil then S[k] = v end end
  S.every = math.min(S.every, math.max(S.steps, 1))
  S.traj_every = S.traj_every or S.every
  S.sample_every = S.sample_every or S.every
  return S
end

local function check(S)
  if not (md.finite(S.dt) and S.dt > 0) then usage("timestep: --dt must be > 0 fs, got %s", tostring(S.dt)) end
  if S.T ~= nil and not (md.finite(S.T) and S.T > 0) then usage("temperature: --T must be > 0 K, got %s", tostring(S.T)) end
  if S.ensemble ~= "nve" and S.T == nil then usage("ensemble %s needs --T (K)", S.ensemble) end
  if S.T_init ~= nil and not (md.finite(S.T_init) and S.T_init >= 0) then usage("--T-init must be >= 0 K") end
  if S.steps < 0 then usage("--steps must be >= 0, got %d", S.steps) end
  for _, k in ipairs({"every", "traj_every", "sample_every", "checkpoint_every", "rdf_bins", "nlags"}) do
    if S[k] ~= nil and S[k] < 1 then usage("--%s must be >= 1, got %s", k:gsub("_", "-"), tostring(S[k])) end
  end
  if not (S.discard >= 0 and S.discard < 1) then usage("--discard must be in [0, 1), got %s", tostring(S.discard)) end
  if not S.potential or #S.potential == 0 then usage("give a potential (--potential eam:/path/Cu_u3.eam, lj:..., ...)") end
  if not S.structure and not S.lattice then usage("give a STRUCTURE file or --lattice KIND:SYMBOL:A:N") end
end

local function lattice(spec)
  local kind, sym, a, cells = spec:match("^(%a+):(%a+):([%d.eE+-]+):([%dx]+)$")
  if not kind then usage("--lattice: expected KIND:SYMBOL:A:N (e.g. fcc:Cu:3.615:4), got '%s'", spec) end
  local c = {}
  for d in cells:gmatch("%d+") do c[#c + 1] = tonumber(d) end
  if #c == 1 then c = {c[1], c[1], c[1]} end
  if #c ~= 3 then usage("--lattice: cells must be N or NxNxN, got '%s'", cells) end
  local ok, at = pcall(md.crystal, {kind = kind, symbol = sym, a = tonumber(a), cells = c})
  if not ok then usage("--lattice: %s", tostring(at)) end
  return at
end

local function mean_std(rows, col, from)
  local s, s2, n = 0, 0, 0
  for i = from, #rows do
    local v = rows[i][col]
    if md.finite(v) then s, s2, n = s + v, s2 + v * v, n + 1 end
  end
  if n == 0 then return nil end
  local m = s / n
  return m, math.sqrt(math.max(s2 / n - m * m, 0)), n
end

local function write_curve(path, header, cols)
  local rows = {}
  for i = 1, #cols[1] do
    local r = {}
    for c = 1, #cols do r[c] = cols[c][i] end
    rows[i] = r
  end
  local ok, err = util.write_csv(path, header, rows)
  if not ok then fail("%s", err) end
end

function recipe.run(args)
  local opts, pos = cli.parse(recipe, args)
  local S, sim, header
  local resumed_from
  if opts.restart then
    local h, err = md.read_restart(opts.restart)
    if not h then fail("%s", err) end
    if type(h.extra) ~= "table" or type(h.extra.recipe_settings) ~= "table" then
      fail("%s: not written by `strata md` (no recipe settings in the header); resume it with strata.md.load", opts.restart)
    end
    S = h.extra.recipe_settings
    for _, k in ipairs({"steps", "outdir", "quiet", "checkpoint_every"}) do if opts[k] ~= nil then S[k] = opts[k] end end
    if opts.outdir then S.thermo, S.final, S.json, S.checkpoint = nil, nil, nil, nil end
    sim, header = md.load(opts.restart)
    if not sim then fail("%s", header) end
    resumed_from = header.step
    if header.threads ~= nil and header.threads ~= require("strata.backend").get_num_threads() then
      io.stderr:write(string.format("strata md: note: the checkpoint was written with %d threads, this run uses %d; " ..
                                    "forces are summed in another order, so the continuation is not bit-identical\n",
                                    header.threads, require("strata.backend").get_num_threads()))
    end
  else
    S = settings(opts, pos)
  end
  check(S)
  local outdir = S.outdir
  local okd, derr = util.mkdir_p(outdir)
  if not okd then fail("cannot create %s: %s", outdir, tostring(derr)) end
  S.thermo = S.thermo or outdir .. "/thermo.csv"
  S.final = S.final or outdir .. "/final.xyz"
  S.json = S.json or outdir .. "/md.json"
  S.checkpoint = S.checkpoint or outdir .. "/md.restart"

  local label
  if not sim then
    local at
    if S.lattice then
      at, label = lattice(S.lattice), "lattice " .. S.lattice
    else
      local err
      at, err = sio.read(S.structure, {index = S.frame})
      if not at then fail("%s", err) end
      label = S.structure
    end
    local err
    sim, err = md.Simulation(at, {potentials = S.potential, ensemble = S.ensemble, thermostat = S.thermostat,
                                  barostat = S.barostat, T = S.T, T_init = S.T_init, P = S.P, dt = S.dt, seed = S.seed,
                                  friction = S.friction, tau_t = S.tau_t, tau_p = S.tau_p, skin = S.skin,
                                  min_distance = S.min_distance})
    if not sim then fail("%s", err) end
  else
    label = "restart " .. opts.restart
  end
  local n = sim.n
  local start = sim:step()
  local target = S.steps
  if target < start then fail("--steps %d is below the restart step %d (steps count from the start of the run)", target, start) end

  -- continue the earlier outputs on a resume: rows and frames before the restart step
  local rows = {}
  local traj_writer
  if resumed_from then
    local old = util.exists(S.thermo) and md.read_thermo(S.thermo) or nil
    for _, r in ipairs(old or {}) do if r[1] < start then rows[#rows + 1] = r end end
  end
  if S.traj then
    local kept = {}
    if resumed_from and util.exists(S.traj) then
      local r = sio.open(S.traj)
      if r then
        while true do
          local fr = r:next()
          if not fr then break end
          if (fr.info.step or math.huge) < start then kept[#kept + 1] = fr end
        end
        r:close()
      end
    end
    local w, err = sio.writer(S.traj, "extxyz")
    if not w then fail("%s", err) end
    for _, fr in ipairs(kept) do w:write(fr) end
    traj_writer = w
  end

  -- observers
  local samples = math.floor((target - start) / S.sample_every) + 1
  local nlags = S.nlags or math.max(2, math.min(1000, math.floor(samples / 3)))
  local origin_every = math.max(1, math.floor(nlags / 10))
  local obs = {}
  local rdf = S.rdf and md.rdf{rmax = S.rdf_rmax, nbins = S.rdf_bins, every = S.sample_every}
  local msd = S.msd and md.msd{every = S.sample_every, nlags = nlags, origin_every = origin_every}
  local vacf = S.vacf and md.vacf{every = S.sample_every, nlags = nlags, origin_every = origin_every}
  if rdf then obs[#obs + 1] = rdf end
  if msd then obs[#obs + 1] = msd end
  if vacf then obs[#obs + 1] = vacf end

  print(string.format("strata md: %s, %d atoms, %s, dt = %g fs, steps %d..%d%s", label, n, S.ensemble, S.dt, start, target,
                      S.T and string.format(", T = %g K", S.T) or ""))
  local stored = {}
  for k, v in pairs(S) do stored[k] = v end
  local ok, r2, r3 = sim:run(target - start, {
    every = S.every, thermo = S.thermo, thermo_rows = rows, traj_writer = traj_writer, traj_every = S.traj_every,
    observers = obs, checkpoint = S.checkpoint, checkpoint_every = S.checkpoint_every,
    restart_extra = {recipe_settings = stored}, last_good = outdir .. "/last_good.xyz",
    progress = S.quiet and false or nil})
  local err, info
  if ok then info = r2 else err, info = r2, r3 end
  if traj_writer then
    local cok, cerr = traj_writer:close()
    if not cok then fail("%s", cerr) end
  end
  local status = ok and info.status or (info and info.status) or "failed"
  local final = sim:atoms()
  local wok, werr = sio.write(S.final, final, {format = "extxyz"})
  if not wok then fail("%s", werr) end

  -- summary
  local t = sim:thermo()
  local from = math.max(1, math.floor(S.discard * #rows) + 1)
  local avg = {}
  for c, name in ipairs(md.THERMO_COLUMNS) do
    if c > 2 then
      local m, sd, cnt = mean_std(rows, c, from)
      avg[name] = {mean = m, std = sd, rows = cnt}
    end
  end
  local summary = {recipe = "md", structure = label, atoms = n, status = status, message = not ok and err or nil,
                   settings = stored, steps = {from = start, to = t.step, requested = target},
                   time_fs = t.time, resumed_from_step = resumed_from,
                   final = {T_K = t.T, epot_eV = t.epot, ekin_eV = t.ekin, etot_eV = t.etot, P_bar = t.P, V_A3 = t.V,
                            H_eV = t.H, conserved_eV = t.conserved, nlist_builds = t.nlist_builds,
                            dangerous_builds = t.dangerous_builds},
                   averages = avg, averages_from_row = from,
                   wall_seconds = info and info.seconds, threads = require("strata.backend").get_num_threads(),
                   atom_steps_per_second = info and info.seconds and info.seconds > 0 and n * info.steps / info.seconds or nil,
                   outputs = {final = S.final, thermo = S.thermo, checkpoint = ok and S.checkpoint or nil, traj = S.traj,
                              last_good = status == "exploded" and outdir .. "/last_good.xyz" or nil}}
  if resumed_from and #obs > 0 then
    summary.observers_note = "RDF/MSD/VACF cover steps " .. start .. ".." .. t.step .. " only (observers restart afresh)"
  end
  if rdf and rdf:samples() > 0 then
    local r = rdf:result()
    local rho = t.V > 0 and (n - 1) / t.V or nil
    local cn = md.coordination(r, rho or 0)
    write_curve(S.rdf, {"r_A", "g", "coordination"}, {r.x, r.y, cn})
    summary.rdf = md.rdf_summary(r, rho)
    summary.rdf.samples, summary.outputs.rdf = r.samples, S.rdf
  end
  if msd and msd:samples() > 1 then
    local r = msd:result()
    write_curve(S.msd, {"t_fs", "msd_A2"}, {r.x, r.y})
    summary.diffusion_msd = md.diffusion(r.x, r.y)
    summary.outputs.msd = S.msd
  end
  if vacf and vacf:samples() > 1 then
    local r = vacf:result()
    write_curve(S.vacf, {"t_fs", "vacf_A2_fs2"}, {r.x, r.y})
    local D = md.green_kubo(r.x, r.y)
    summary.diffusion_vacf = {D = D, D_cm2_s = D * md.A2_PER_FS_TO_CM2_PER_S}
    summary.outputs.vacf = S.vacf
  end
  local jok, jerr = util.write_json(S.json, summary)
  if not jok then fail("%s", jerr) end

  -- human summary
  local function f(v, d) return v and string.format("%." .. (d or 2) .. "f", v) or "-" end
  print(string.format("  %s after %d steps (%.4g ps) in %.3g s wall%s", status, t.step - start, (t.step - start) * S.dt / 1000,
                      info and info.seconds or 0, summary.atom_steps_per_second and
                      string.format(", %.3g atom-steps/s", summary.atom_steps_per_second) or ""))
  print(string.format("  final: T = %s K, E = %s eV/atom, P = %s bar%s", f(t.T, 1), f(t.etot / n, 5), f(t.P, 0),
                      t.V > 0 and string.format(", V = %.3f Å^3/atom", t.V / n) or ""))
  local aT, aP = avg.T_K, avg.P_bar
  if aT and aT.mean then
    print(string.format("  averages over rows %d..%d: T = %s +- %s K, P = %s +- %s bar", from, #rows, f(aT.mean, 1),
                        f(aT.std, 1), f(aP.mean, 0), f(aP.std, 0)))
  end
  if summary.rdf and summary.rdf.first_peak then
    print(string.format("  g(r): first peak %.3f Å (height %.2f)%s", summary.rdf.first_peak, summary.rdf.peak_height,
                        summary.rdf.coordination and string.format(", coordination %.2f", summary.rdf.coordination) or ""))
  end
  if summary.diffusion_msd then
    print(string.format("  D (MSD slope) = %.4g Å^2/fs = %.3g cm^2/s", summary.diffusion_msd.D, summary.diffusion_msd.D_cm2_s))
  end
  if summary.diffusion_vacf then
    print(string.format("  D (VACF integral) = %.4g Å^2/fs = %.3g cm^2/s", summary.diffusion_vacf.D, summary.diffusion_vacf.D_cm2_s))
  end
  if summary.observers_note then print("  note: " .. summary.observers_note) end
  print("  wrote " .. S.final .. ", " .. S.thermo .. ", " .. S.json .. (ok and (", " .. S.checkpoint) or ""))
  sim:free()
  if not ok then
    io.stderr:write("strata md: " .. tostring(err) .. "\n")
    return 1
  end
  return 0
end

return recipe
