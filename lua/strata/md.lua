-- strata.md: molecular dynamics from Lua -- potentials, the Simulation class, observers (RDF, MSD,
-- VACF), run loops with thermodynamic logs, trajectories, checkpoints and restart files.
--
--   local md = require "strata.md"              -- or strata.md
--   local sim = assert(md.Simulation(at, {potential = "eam:/usr/share/lammps/potentials/Cu_u3.eam",
--                                         ensemble = "nvt", T = 300, dt = 1, seed = 1}))
--   local rdf = md.rdf{rmax = 6, every = 10}
--   assert(sim:run(1000, {every = 10, thermo = "thermo.csv", traj = "traj.xyz", observers = {rdf},
--                         checkpoint = "run.restart", checkpoint_every = 500}))
--   print(sim:thermo().T, md.rdf_summary(rdf:result()).first_peak)
--   local sim2 = assert(md.load("run.restart"))   -- resumes bit for bit (same thread count)
--
-- The C kernels (csrc/md, docs/md.md) integrate; Lua advances them in chunks of `every` steps and
-- runs at most one callback per chunk, never per atom.  Units: Å, eV, fs, amu, K, bar; velocities
-- Å/fs.  Positions held by a simulation are unwrapped (never folded into the cell), so frames
-- written from it are unwrapped too (what MSD needs; readers that want wrapped coordinates fold
-- them).
--
-- Restart files ("STRATA-MD-RESTART 1"): line 1 the magic, line 2 a JSON header (atom numbers
-- run-length coded, masses unless standard, cell, periodicity, integrator options, potentials with
-- a checksum of each potential file, the run's target step and caller data; floats written with 17
-- significant digits so options round-trip exactly), then the st_md_sim_save bytes, whose length
-- and Adler-32 checksum (RFC 1950, sec. 8.2) are in the header.  Written to a temporary name and
-- renamed.  Observers are not part of the state: after a resume they start afresh.
--
-- Errors: wrong types and invalid options (dt <= 0, T <= 0 for a thermostat, unknown ensemble)
-- raise; expected failures -- a missing or malformed potential file, a species the potential lacks,
-- overlapping atoms, an exploding run, a damaged restart file -- return nil, message.
-- Does not: constrain atoms, compute long-range electrostatics, or wrap positions.
-- Runs on Lua 5.4 and LuaJIT.
local B = require "strata.backend"
local array = require "strata.array"
local atoms = require "strata.atoms"
local sio = require "strata.io"
local util = require "strata.util"

local M = {}
local K = B.md_constants()
M.constants = K                       -- kB (eV/K), mvv2e (eV per amu Å²/fs²), eva3_to_bar
M.A2_PER_FS_TO_CM2_PER_S = 0.1        -- 1 Å²/fs = 1e-16 cm² / 1e-15 s

local unpack = table.unpack or unpack
local function finite(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end
M.finite = finite
local function is_int(v) return type(v) == "number" and v % 1 == 0 end

M.clock = B.md_clock

-- ---- small utilities -----------------------------------------------------------------------------

--- Adler-32 of a string (RFC 1950, sec. 8.2): a = 1 + sum of bytes, b = sum of the a's, both mod
--- 65521; returned as b * 65536 + a.  Arithmetic only (no bit operations), in blocks of 1024 bytes
--- so the sums stay exact.
function M.adler32(s)
  local a, b, n, i = 1, 0, #s, 1
  while i <= n do
    local j = math.min(i + 1023, n)
    local bytes = {s:byte(i, j)}
    for k = 1, #bytes do
      a = a + bytes[k]
      b = b + a
    end
    a, b = a % 65521, b % 65521
    i = j + 1
  end
  return b * 65536 + a
end

-- JSON with exact numbers (17 significant digits; dkjson writes 14) for restart headers.
local function json_exact(v)
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "null" end
    if v % 1 == 0 and math.abs(v) < 2 ^ 53 then return string.format("%d", v) end
    return string.format("%.17g", v)
  elseif t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c)
      if c == '"' then return '\\"' elseif c == "\\" then return "\\\\" end
      return string.format("\\u%04x", c:byte())
    end) .. '"'
  elseif t == "boolean" then return tostring(v)
  elseif t == "nil" then return "null"
  elseif t == "table" then
    if #v > 0 or next(v) == nil then
      local parts = {}
      for i = 1, #v do parts[i] = json_exact(v[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = json_exact(k) .. ":" .. json_exact(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  error("restart header: cannot store a " .. t, 3)
end
M.json_exact = json_exact

-- The C kernels number atoms from 0 in their messages; Lua users count from 1.  Messages of the
-- MD kernels that name an atom ("atom 12 is Ni", "atom 12 has ...", "atom 12: ...") are shifted here.
local function lua_indices(msg)
  if type(msg) ~= "string" then return msg end
  return (msg:gsub("([Aa]tom )(%d+)( is )", function(a, i, b) return a .. (tonumber(i) + 1) .. b end)
             :gsub("([Aa]tom )(%d+)( has )", function(a, i, b) return a .. (tonumber(i) + 1) .. b end)
             :gsub("([Aa]tom )(%d+)(: )", function(a, i, b) return a .. (tonumber(i) + 1) .. b end))
end
M.lua_indices = lua_indices

local function file_checksum(path)
  if not path then return nil end
  local text = util.read_file(path)
  if not text then return nil end
  return {size = #text, adler32 = M.adler32(text)}
end

-- Progress lines: on when STRATA_PROGRESS=1, off when 0, else when stderr is a terminal.
function M.progress_wanted()
  local env = os.getenv("STRATA_PROGRESS")
  if env == "1" then return true end
  if env == "0" then return false end
  local ok, host = pcall(require, "strata.host")
  if ok and type(host) == "table" and host.isatty then return host.isatty(2) and true or false end
  local okf, ffi = pcall(require, "ffi")
  if okf then
    pcall(ffi.cdef, "int isatty(int fd);")
    local okc, r = pcall(function() return ffi.C.isatty(2) end)
    if okc then return r ~= 0 end
  end
  return false
end

-- ---- potentials ----------------------------------------------------------------------------------

local FILE_STYLES = {eam = true, ["eam/alloy"] = true, sw = true, tersoff = true}
M.file_styles = FILE_STYLES

local Potential = {}
Potential.__index = Potential
M.Potential = Potential

--- Parse a potential spec string: "eam:/path/Cu_u3.eam", "tersoff:SiC.tersoff:Si,C" (file styles:
--- name:file[:elements]), "lj:epsilon=0.0104,sigma=3.4,rc=8.5" (others: name:params), or a bare
--- name ("muller-brown").  Returns {name=, file=, params=, elements=}.
function M.parse_potential(spec)
  if type(spec) ~= "string" then error("md.parse_potential: expected a string, got " .. type(spec), 2) end
  local name, rest = spec:match("^([^:]+):(.*)$")
  if not name then return {name = spec} end
  if FILE_STYLES[name] then
    local file, elements = rest:match("^(.*):([%a][%a%s,]*)$")
    if file and file ~= "" and not elements:find("/") then
      return {name = name, file = file, elements = (elements:gsub(",", " "))}
    end
    return {name = name, file = rest}
  end
  return {name = name, params = rest}
end

local function normalize_spec(spec)
  if type(spec) == "string" then spec = M.parse_potential(spec) end
  if type(spec) ~= "table" then error("md.potential: expected a spec string or table, got " .. type(spec), 3) end
  if type(spec.name) ~= "string" then error("md.potential: spec needs a 'name' (e.g. \"eam\", \"lj\")", 3) end
  local s = {name = spec.name, file = spec.file}
  local p = spec.params
  if type(p) == "table" then
    local keys = {}
    for k in pairs(p) do keys[#keys + 1] = k end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = string.format("%s=%.17g", k, p[k]) end
    p = table.concat(parts, " ")
  end
  s.params = p
  local e = spec.elements
  if type(e) == "table" then e = table.concat(e, " ") end
  s.elements = e
  return s
end

--- md.potential(spec[, overrides]) -> Potential | nil, message.  spec: a string (see
--- parse_potential) or {name=, file=, params= (string "k=v ..." or table), elements= (string or
--- list of symbols)}.  Missing and malformed files, unknown names and unknown parameters return
--- nil and the C layer's message (file, line and field).
function M.potential(spec)
  local s = normalize_spec(spec)
  if FILE_STYLES[s.name] and not s.file then
    return nil, string.format("md potential '%s' needs a file (e.g. \"%s:/usr/share/lammps/potentials/...\")", s.name, s.name)
  end
  local h, err = B.md_potential_new(s.name, {file = s.file, params = s.params, elements = s.elements})
  if not h then return nil, err end
  local name, cutoff = B.md_potential_info(h)
  return setmetatable({_h = h, name = name, cutoff = cutoff, spec = s}, Potential)
end

--- Energy (eV), forces (n x 3 array, eV/Å), virial (3 x 3 table, eV), stress (3 x 3 table, eV/Å³,
--- ASE sign: -virial/V, periodic frames only) and with {per_atom = true} atom_energies (array).
--- Returns nil, message for species the potential lacks.
function Potential:compute(at, o)
  if not atoms.is_atoms(at) then error("Potential:compute: expected an Atoms, got " .. type(at), 2) end
  local r, err = B.md_potential_compute(self._h, at:handle(), o and o.per_atom)
  if not r then return nil, lua_indices(err) end
  local v = r.virial
  r.virial = {{v[1], v[2], v[3]}, {v[4], v[5], v[6]}, {v[7], v[8], v[9]}}
  local pbc = at.pbc
  if pbc[1] and pbc[2] and pbc[3] then
    local V = at:volume()
    r.stress = {}
    for a = 1, 3 do
      r.stress[a] = {}
      for b = 1, 3 do r.stress[a][b] = -r.virial[a][b] / V end
    end
  end
  return r
end

function Potential:free() B.md_potential_free(self._h) end
Potential.__tostring = function(p)
  return string.format("md.Potential(%s%s, cutoff %.4g Å)", p.name, p.spec.file and (" " .. p.spec.file) or "", p.cutoff)
end

--- Names of the registered potential classes.
function M.potentials() return B.md_potential_names() end

-- ---- observers -----------------------------------------------------------------------------------

local OBS_KIND = {rdf = 0, msd = 1, vacf = 2}
local Observer = {}
Observer.__index = Observer
M.Observer = Observer

local function species_z(s, what)
  if s == nil or s == 0 then return 0 end
  if type(s) == "number" then return s end
  local z = B.element_number(s)
  if z < 0 then error(what .. ": unknown element '" .. tostring(s) .. "'", 4) end
  return z
end

--- md.observer(kind, {every=, rmax=, nbins=, species=, nlags=, origin_every=}).  kind: "rdf",
--- "msd" or "vacf".  every: sample every k steps when attached (default 1).  RDF: rmax (Å,
--- required), nbins (200), species = {"Cu", "Ni"} for a partial g_ab.  MSD/VACF: nlags (100,
--- in samples), origin_every (10 samples), species = "Cu" for one species.
function M.observer(kind, o)
  o = o or {}
  if not OBS_KIND[kind] then error("md.observer: kind must be rdf, msd or vacf, got " .. tostring(kind), 2) end
  local every = o.every or 1
  if not is_int(every) or every < 1 then error("md.observer: every must be an integer >= 1, got " .. tostring(every), 2) end
  local sa, sb = 0, 0
  if type(o.species) == "table" then sa, sb = species_z(o.species[1], "md.observer"), species_z(o.species[2], "md.observer")
  else sa = species_z(o.species, "md.observer") end
  if kind == "rdf" and not (finite(o.rmax) and o.rmax > 0) then
    error("md.observer: rdf needs rmax > 0 (Å), got " .. tostring(o.rmax), 2)
  end
  local h = B.md_observer_new({kind = OBS_KIND[kind], stride = every, rmax = o.rmax, nbins = o.nbins, species_a = sa,
                               species_b = sb, nlags = o.nlags, origin_every = o.origin_every})
  return setmetatable({_h = h, kind = kind, every = every, opts = o}, Observer)
end
function M.rdf(o) return M.observer("rdf", o) end
function M.msd(o) return M.observer("msd", o) end
function M.vacf(o) return M.observer("vacf", o) end

--- Feed one frame directly (e.g. from a trajectory): obs:sample(atoms[, velocities][, time fs]).
--- VACF needs velocities (default: the frame's "velocities" array).
function Observer:sample(at, v, t)
  if not atoms.is_atoms(at) then error("Observer:sample: expected an Atoms, got " .. type(at), 2) end
  if v == nil and self.kind == "vacf" then v = at.arrays.velocities end
  if t == nil then t = at.info.time end
  return B.md_observer_sample(self._h, at:handle(), v, t or 0)
end

--- {x = {...}, y = {...}, kind=, samples=}: RDF x = r (Å), y = g(r); MSD x = lag (fs), y = MSD (Å²);
--- VACF x = lag (fs), y = <v(0).v(t)> (Å²/fs²).  Lags without samples are NaN.
function Observer:result()
  local x, y = B.md_observer_result(self._h)
  return {x = x:totable(), y = y:totable(), kind = self.kind, samples = B.md_observer_samples(self._h)}
end
function Observer:samples() return B.md_observer_samples(self._h) end
function Observer:reset() B.md_observer_reset(self._h) end
function Observer:free() B.md_observer_free(self._h) end

--- Diffusion coefficient from an MSD curve: least-squares line MSD = c + 6 D t over the lags in
--- [from, to] (fs; default the middle 20%..80% of the lags with data -- the start is ballistic, the
--- end has few time origins).  Returns {D (Å²/fs), D_cm2_s, slope, intercept, from, to, points}
--- or nil, message when fewer than 3 lags have data.  Einstein relation, Allen & Tildesley (2nd
--- ed.) eq. 8.18 in three dimensions.
function M.diffusion(t, msd, o)
  o = o or {}
  local xs, ys = {}, {}
  for i = 1, #t do
    if finite(t[i]) and finite(msd[i]) then xs[#xs + 1] = t[i]; ys[#ys + 1] = msd[i] end
  end
  if #xs < 3 then return nil, "md.diffusion: fewer than 3 lags with data (run longer or sample more often)" end
  local lo = o.from or xs[1] + 0.2 * (xs[#xs] - xs[1])
  local hi = o.to or xs[1] + 0.8 * (xs[#xs] - xs[1])
  local n, sx, sy, sxx, sxy = 0, 0, 0, 0, 0
  for i = 1, #xs do
    if xs[i] >= lo and xs[i] <= hi then
      n = n + 1
      sx, sy = sx + xs[i], sy + ys[i]
      sxx, sxy = sxx + xs[i] * xs[i], sxy + xs[i] * ys[i]
    end
  end
  if n < 2 then return nil, string.format("md.diffusion: fewer than 2 lags in [%g, %g] fs", lo, hi) end
  local den = n * sxx - sx * sx
  if den == 0 then return nil, "md.diffusion: all lags in the window are equal" end
  local slope = (n * sxy - sx * sy) / den
  local intercept = (sy - slope * sx) / n
  local D = slope / 6
  return {D = D, D_cm2_s = D * M.A2_PER_FS_TO_CM2_PER_S, slope = slope, intercept = intercept, from = lo, to = hi,
          points = n}
end

--- Green-Kubo diffusion coefficient D = 1/3 integral_0^tmax <v(0).v(t)> dt (Å²/fs; trapezoid rule
--- over the lags with data).  Allen & Tildesley (2nd ed.) eq. 2.113.
function M.green_kubo(t, c)
  local s, last_t, last_c = 0, nil, nil
  for i = 1, #t do
    if finite(t[i]) and finite(c[i]) then
      if last_t then s = s + 0.5 * (c[i] + last_c) * (t[i] - last_t) end
      last_t, last_c = t[i], c[i]
    end
  end
  return s / 3
end

--- Running coordination number n(r) = rho sum over bins of g * shell volume (the exact shells of
--- the histogram, so a perfect crystal gives whole numbers): a list matching res.x.
function M.coordination(res, rho)
  local r, g = res.x, res.y
  local dr = #r > 1 and r[2] - r[1] or 2 * r[1]
  local out, acc = {}, 0
  for i = 1, #r do
    local r0, r1 = r[i] - 0.5 * dr, r[i] + 0.5 * dr
    if finite(g[i]) then acc = acc + rho * g[i] * 4 / 3 * math.pi * (r1 ^ 3 - r0 ^ 3) end
    out[i] = acc
  end
  return out
end

--- First peak of g(r) (position, height), first minimum after it, and the coordination number
--- n(r_min) = 4 pi rho integral_0^r_min g r^2 dr with rho = (N - 1)/V (atoms per Å³; the RDF
--- normalisation of docs/md.md).  res: an RDF result; rho: number density.
function M.rdf_summary(res, rho)
  local r, g = res.x, res.y
  local ip = nil
  for i = 1, #g do if finite(g[i]) and (not ip or g[i] > g[ip]) then ip = i end end
  if not ip then return {} end
  local im = nil
  for i = ip + 1, #g - 1 do
    if finite(g[i]) and g[i] <= g[i - 1] and g[i] <= g[i + 1] then im = i; break end
  end
  local out = {first_peak = r[ip], peak_height = g[ip], first_minimum = im and r[im] or nil}
  if im and rho then
    out.coordination = M.coordination(res, rho)[im]
  end
  return out
end

-- ---- neighbour lists ---------------------------------------------------------------------------

local NList = {}
NList.__index = NList
M.NList = NList

--- md.nlist(cutoff[, {skin = 0, full = false}]) -> a Verlet list (docs/md.md, "Neighbour lists"):
--- nl:update(atoms) -> rebuilt (true when the list had to be rebuilt: an atom moved more than
--- skin/2, corrected for cell deformation) | nil, message; nl:pairs([rmax]) -> {i =, j = (int32
--- arrays, 1-based, each pair once), d = (p x 3 array, x_j(image) - x_i, Å)}; nl:builds(); nl:free().
function M.nlist(cutoff, o)
  o = o or {}
  if not (finite(cutoff) and cutoff > 0) then error("md.nlist: cutoff must be > 0 Å, got " .. tostring(cutoff), 2) end
  return setmetatable({_h = B.md_nlist_new(cutoff, o.skin or 0, o.full), cutoff = cutoff, skin = o.skin or 0}, NList)
end
function NList:update(at)
  if not atoms.is_atoms(at) then error("NList:update: expected an Atoms, got " .. type(at), 2) end
  local r, err = B.md_nlist_update(self._h, at:handle())
  if r == nil then return nil, lua_indices(err) end
  return r
end
function NList:pairs(rmax)
  local i, j, d = B.md_nlist_pairs(self._h, rmax or self.cutoff)
  if not i then return nil, j end
  return {i = i, j = j, d = d}
end
function NList:builds() return B.md_nlist_builds(self._h) end
function NList:free() B.md_nlist_free(self._h) end

-- ---- structures ----------------------------------------------------------------------------------

--- A cubic crystal: md.crystal{kind = "fcc"|"bcc"|"sc"|"diamond", a = Å, cells = {nx, ny, nz}
--- (or one number), symbol = "Cu"}.  Periodic on all axes.
function M.crystal(o)
  local bases = {
    sc = {{0, 0, 0}},
    bcc = {{0, 0, 0}, {0.5, 0.5, 0.5}},
    fcc = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}},
    diamond = {{0, 0, 0}, {0.5, 0.5, 0}, {0.5, 0, 0.5}, {0, 0.5, 0.5}, {0.25, 0.25, 0.25}, {0.75, 0.75, 0.25},
               {0.75, 0.25, 0.75}, {0.25, 0.75, 0.75}},
  }
  local basis = bases[o.kind or "fcc"] or error("md.crystal: kind must be sc, bcc, fcc or diamond, got " .. tostring(o.kind), 2)
  local a = o.a or error("md.crystal: lattice constant a (Å) is required", 2)
  local c = o.cells or {1, 1, 1}
  if type(c) == "number" then c = {c, c, c} end
  local pos, sym = {}, {}
  for i = 0, c[1] - 1 do
    for j = 0, c[2] - 1 do
      for k = 0, c[3] - 1 do
        for _, b in ipairs(basis) do
          pos[#pos + 1] = {(i + b[1]) * a, (j + b[2]) * a, (k + b[3]) * a}
          sym[#sym + 1] = o.symbol or "Cu"
        end
      end
    end
  end
  return atoms.new{symbols = sym, positions = pos, cell = {c[1] * a, c[2] * a, c[3] * a}, pbc = true}
end

--- The closest pair of atoms (periodic images included) if closer than rmax: i, j (1-based), d (Å);
--- nil when no pair is closer than rmax.
function M.closest_pair(at, rmax)
  local nl = B.neighbor_list(at:handle(), rmax, {half = true})
  local d = nl.distances
  local p = d.shape[1]
  if p == 0 then return nil end
  local k = d:argmin()
  local off = nl.offsets:flat()
  local i = 1
  while off[i + 1] < k do i = i + 1 end   -- pair k (1-based) belongs to atom i: off[i] < k <= off[i+1]
  local j = nl.index[k] + 1
  if j < i then i, j = j, i end
  return i, j, d[k]
end

-- ---- the Simulation class ------------------------------------------------------------------------

local Simulation = {}
Simulation.__index = Simulation
M.SimulationClass = Simulation

local INTEGRATOR = {nve = 0, langevin = 1, nhc = 2, npt = 3}
local INTEGRATOR_NAME = {[0] = "nve", "langevin", "nhc", "npt"}
local BAROSTAT = {iso = 0, aniso = 1, tri = 2}
local BAROSTAT_NAME = {[0] = "iso", "aniso", "tri"}
M.ensembles = {"nve", "nvt", "langevin", "nhc", "npt"}

local KNOWN = {}
for _, k in ipairs({"potential", "potentials", "ensemble", "thermostat", "barostat", "T", "temperature", "dt",
                    "timestep", "P", "pressure", "friction", "tau_t", "tau_p", "nhc_length", "nhc_substeps",
                    "compressibility", "barostat_stride", "rebuild_every", "skin", "seed", "max_energy_change",
                    "dof", "velocities", "T_init", "masses", "min_distance", "max_force", "_restoring"}) do
  KNOWN[k] = true
end

-- The C options table of md_sim_new from the user's options (raises on invalid values).
local function c_options(o, level)
  level = level + 1
  for k in pairs(o) do
    if not KNOWN[k] then
      local names = {}
      for n in pairs(KNOWN) do if n:sub(1, 1) ~= "_" then names[#names + 1] = n end end
      table.sort(names)
      error(string.format("md.Simulation: unknown option '%s' (known: %s)", tostring(k), table.concat(names, ", ")), level)
    end
  end
  local ens = o.ensemble or "nve"
  local integ
  if ens == "nvt" then
    local th = o.thermostat or "langevin"
    integ = (th == "langevin" and 1) or (th == "nhc" and 2) or
            error("md.Simulation: thermostat must be langevin or nhc, got " .. tostring(th), level)
  else
    integ = INTEGRATOR[ens] or error(string.format("md.Simulation: ensemble must be one of %s, got '%s'",
                                                   table.concat(M.ensembles, ", "), tostring(ens)), level)
  end
  local dt = o.dt or o.timestep
  if dt == nil then error("md.Simulation: the timestep dt (fs) is required", level) end
  if not finite(dt) or dt <= 0 then error("md.Simulation: timestep dt must be > 0 fs, got " .. tostring(dt), level) end
  local T = o.T or o.temperature
  if T ~= nil and not finite(T) then error("md.Simulation: temperature T must be a finite number (K), got " .. tostring(T), level) end
  if integ ~= 0 then
    if T == nil then error("md.Simulation: ensemble " .. ens .. " needs a temperature T (K)", level) end
    if T <= 0 then error("md.Simulation: temperature T must be > 0 K for ensemble " .. ens .. ", got " .. tostring(T), level) end
  elseif T ~= nil and T < 0 then
    error("md.Simulation: temperature T must be >= 0 K, got " .. tostring(T), level)
  end
  local P = o.P or o.pressure
  if P ~= nil and not finite(P) then error("md.Simulation: pressure P must be a finite number (bar), got " .. tostring(P), level) end
  local baro = BAROSTAT[o.barostat or "iso"] or
               error("md.Simulation: barostat must be iso, aniso or tri, got " .. tostring(o.barostat), level)
  for _, k in ipairs({"friction", "tau_t", "tau_p", "compressibility", "skin", "max_energy_change", "dof"}) do
    if o[k] ~= nil and not finite(o[k]) then
      error(string.format("md.Simulation: %s must be a finite number, got %s", k, tostring(o[k])), level)
    end
  end
  for _, k in ipairs({"friction", "tau_t", "tau_p", "compressibility", "skin"}) do
    if o[k] ~= nil and o[k] <= 0 then error(string.format("md.Simulation: %s must be > 0, got %s", k, tostring(o[k])), level) end
  end
  for _, k in ipairs({"nhc_length", "nhc_substeps", "barostat_stride", "rebuild_every", "seed"}) do
    if o[k] ~= nil and (not is_int(o[k]) or o[k] < 0) then
      error(string.format("md.Simulation: %s must be a non-negative integer, got %s", k, tostring(o[k])), level)
    end
  end
  return {integrator = integ, barostat = baro, timestep = dt, temperature = T or 0, pressure = P or 0,
          friction = o.friction, tau_t = o.tau_t, nhc_length = o.nhc_length, nhc_substeps = o.nhc_substeps,
          tau_p = o.tau_p, compressibility = o.compressibility, barostat_stride = o.barostat_stride,
          rebuild_every = o.rebuild_every, skin = o.skin, seed = o.seed, max_energy_change = o.max_energy_change,
          dof = o.dof}
end

local function as_array(v, shape)
  if array.is_array(v) then return v end
  return array.array(v, "float64", shape)
end

--- md.Simulation(atoms, opts) -> Simulation | nil, message.
--- opts: potential (a Potential, a spec string or table, or a list of them; potentials made here
--- are owned and freed with the simulation), ensemble ("nve", "nvt" = Langevin unless thermostat =
--- "nhc", "langevin", "nhc", "npt"), T (K), dt (fs, required), P (bar, NPT), barostat ("iso",
--- "aniso", "tri"), friction (1/fs), tau_t, tau_p (fs), seed, skin (Å), rebuild_every,
--- max_energy_change (eV/atom), ... (docs/md.md); velocities: "auto" (default: the frame's
--- "velocities" array if it has one, else Maxwell-Boltzmann at T_init or T, else zero; an explicit
--- T_init always draws Maxwell-Boltzmann velocities), "maxwell",
--- "zero", or an n x 3 array (Å/fs); masses (amu; default the frame's "masses" array or standard
--- weights); min_distance (Å, default 0.5; false disables the overlap check); max_force (eV/Å,
--- default 1000: larger starting forces mean overlapping atoms; false disables).
function M.Simulation(at, opts)
  if not atoms.is_atoms(at) then error("md.Simulation: expected an Atoms as first argument, got " .. type(at), 2) end
  opts = opts or {}
  if type(opts) ~= "table" then error("md.Simulation: options must be a table", 2) end
  local copts = c_options(opts, 2)
  local n = #at
  if n < 1 then error("md.Simulation: the structure has no atoms", 2) end
  -- potentials
  local list = opts.potentials or opts.potential
  if list == nil then error("md.Simulation: give a potential (e.g. potential = \"eam:/path/Cu_u3.eam\")", 2) end
  if type(list) ~= "table" or getmetatable(list) == Potential or list.name then list = {list} end
  local pots, owned = {}, {}
  local function release_owned() for _, p in ipairs(owned) do p:free() end end
  for i, p in ipairs(list) do
    if getmetatable(p) == Potential then pots[i] = p
    else
      local q, err = M.potential(p)
      if not q then release_owned(); return nil, err end
      pots[i], owned[#owned + 1] = q, q
    end
  end
  local restoring = opts._restoring
  -- overlapping atoms: the nearest pair, over periodic images
  local cut = 0
  for _, p in ipairs(pots) do cut = math.max(cut, p.cutoff) end
  local dmin = opts.min_distance
  if dmin == nil then dmin = 0.5 end
  if dmin and not restoring and cut > 0 then
    if not finite(dmin) or dmin <= 0 then release_owned(); error("md.Simulation: min_distance must be > 0 Å or false", 2) end
    local i, j, d = M.closest_pair(at, dmin)
    if i then
      release_owned()
      return nil, string.format("md: overlapping atoms: atoms %d (%s) and %d (%s) are %.4g Å apart, closer than " ..
                                "min_distance = %g Å; fix the structure (or pass min_distance = false)", i,
                                at.symbols[i], j, at.symbols[j], d, dmin)
    end
  end
  local masses = opts.masses or at.arrays.masses
  if masses ~= nil then masses = as_array(masses, {n}) end
  local ok, h, cerr = pcall(B.md_sim_new, at:handle(), copts, masses)
  if not ok then release_owned(); error(lua_indices(h), 2) end
  if not h then release_owned(); return nil, lua_indices(cerr) end
  for _, p in ipairs(pots) do B.md_sim_add_potential(h, p._h) end
  local numbers = at.numbers:totable()
  local pbc = at.pbc
  local self = setmetatable({_h = h, n = n, numbers = numbers, pbc = pbc, potentials = pots, _owned = owned,
                             options = copts, ensemble = opts.ensemble or "nve",
                             integrator = INTEGRATOR_NAME[copts.integrator], barostat = BAROSTAT_NAME[copts.barostat],
                             observers = {}}, Simulation)
  if restoring then return self end
  -- evaluate once: unknown species and absurd starting configurations fail here, clearly
  local th, err = B.md_sim_thermo(h)
  if not th then self:free(); return nil, lua_indices(err) end
  if not finite(th.potential_energy) then
    self:free()
    return nil, string.format("md: the potential energy of the starting structure is %s (overlapping atoms?)",
                              tostring(th.potential_energy))
  end
  local fmax = opts.max_force
  if fmax == nil then fmax = 1000 end
  if fmax then
    local F = B.md_sim_get(h, "forces")
    local f2 = F:square():sum(2)
    local imax = f2:argmax()
    local fm = math.sqrt(f2[imax])
    if not (fm <= fmax) then
      local msg = string.format("md: atom %d (%s) feels a force of %.4g eV/Å at the start (limit max_force = %g); " ..
                                "overlapping atoms or a structure far from the potential's range", imax,
                                at.symbols[imax], fm, fmax)
      self:free()
      return nil, msg
    end
  end
  -- velocities
  local v = opts.velocities or "auto"
  local T0 = opts.T_init or opts.T or opts.temperature
  if v == "auto" then
    local fv = at.arrays.velocities
    if opts.T_init then v = "maxwell"          -- asked for explicitly: wins over the frame's velocities
    elseif fv then v = fv elseif T0 and T0 > 0 then v = "maxwell" else v = "zero" end
  end
  if v == "maxwell" then
    if not (T0 and T0 > 0) then self:free(); error("md.Simulation: velocities = \"maxwell\" needs T or T_init > 0 K", 2) end
    B.md_sim_init_velocities(h, T0, copts.seed or 0)
  elseif v ~= "zero" then
    if type(v) ~= "table" and not array.is_array(v) then
      self:free()
      error("md.Simulation: velocities must be auto, maxwell, zero or an n x 3 array, got " .. tostring(v), 2)
    end
    B.md_sim_set_velocities(h, as_array(v, {n, 3}))
  end
  return self
end

function Simulation:free()
  if self._h then B.md_sim_free(self._h) end
  for _, p in ipairs(self._owned or {}) do p:free() end
  self._owned = {}
end

function Simulation:positions() return B.md_sim_get(self._h, "positions") end
function Simulation:velocities() return B.md_sim_get(self._h, "velocities") end
function Simulation:forces() return B.md_sim_get(self._h, "forces") end
function Simulation:cell() return B.md_sim_get(self._h, "cell") end
function Simulation:masses() return B.md_sim_get(self._h, "masses") end
function Simulation:set_positions(x, cell)
  B.md_sim_set_positions(self._h, as_array(x, {self.n, 3}), cell and as_array(cell, {3, 3}) or nil)
end
function Simulation:set_velocities(v) B.md_sim_set_velocities(self._h, as_array(v, {self.n, 3})) end
function Simulation:state() return B.md_sim_state(self._h) end
function Simulation:set_state(bytes) return B.md_sim_restore(self._h, bytes) end
function Simulation:attach(obs) B.md_sim_attach(self._h, obs._h); self.observers[obs] = true end
function Simulation:detach(obs) B.md_sim_detach(self._h, obs._h); self.observers[obs] = nil end

--- Thermodynamic state: {step, time (fs), T (K), epot, ekin, etot (eV), P (bar), V (Å³),
--- H (eV: etot + P V, with P the target pressure under NPT, the instantaneous one otherwise),
--- conserved (eV), pressure_tensor (9, bar), dof, nlist_builds, dangerous_builds}.
function Simulation:thermo()
  local t, err = B.md_sim_thermo(self._h)
  if not t then return nil, lua_indices(err) end
  local Pv = self.integrator == "npt" and self.options.pressure or t.pressure
  local etot = t.potential_energy + t.kinetic_energy
  return {step = t.step, time = t.time, T = t.temperature, epot = t.potential_energy, ekin = t.kinetic_energy,
          etot = etot, P = t.pressure, V = t.volume, H = etot + Pv * t.volume / K.eva3_to_bar,
          conserved = t.conserved, pressure_tensor = t.pressure_tensor, dof = t.dof, nlist_builds = t.nlist_builds,
          dangerous_builds = t.dangerous_builds}
end
function Simulation:step() return B.md_sim_thermo(self._h).step end

--- The current state as an Atoms frame: positions (unwrapped), cell, pbc, numbers, arrays
--- "velocities" (Å/fs) and "forces" (eV/Å); info step, time (fs), energy (potential, eV),
--- temperature (K) and, when periodic, stress (ASE sign, eV/Å³, 9 values) and pressure (bar).
function Simulation:atoms()
  local t = B.md_sim_thermo(self._h)
  local at = atoms.new{numbers = self.numbers, positions = self:positions(), cell = self:cell(), pbc = self.pbc}
  at:set_array("velocities", self:velocities())
  at:set_array("forces", self:forces())
  at.info.step = t.step
  at.info.time = t.time
  at.info.energy = t.potential_energy
  at.info.temperature = t.temperature
  if t.volume > 0 then
    local s = {}
    for k = 1, 9 do s[k] = -t.pressure_tensor[k] / K.eva3_to_bar end
    at.info.stress = s
    at.info.pressure = t.pressure
  end
  return at
end

-- ---- thermo logs ---------------------------------------------------------------------------------

M.THERMO_COLUMNS = {"step", "time_fs", "T_K", "epot_eV", "ekin_eV", "etot_eV", "P_bar", "V_A3", "H_eV", "conserved_eV"}

function M.thermo_row(t)
  return {t.step, t.time, t.T, t.epot, t.ekin, t.etot, t.P, t.V, t.H, t.conserved}
end

--- Rows of a thermo CSV written by run (numbers), or nil, message.
function M.read_thermo(path)
  local header, rows = util.read_csv(path)
  if not header then return nil, rows end
  if header[1] ~= "step" then return nil, path .. ": not a strata md thermo log (first column is not 'step')" end
  local out = {}
  for i, r in ipairs(rows) do
    local row = {}
    for c = 1, #header do
      local v = r[c]
      row[c] = (v == "nan" and 0 / 0) or tonumber(v)
      if row[c] == nil then return nil, string.format("%s: line %d: field %d (%s): expected a number, got '%s'",
                                                      path, i + 1, c, header[c], tostring(v)) end
    end
    out[#out + 1] = row
  end
  return out
end

-- ---- the run loop --------------------------------------------------------------------------------

local function next_multiple(s, k)
  if not k then return math.huge end
  return (math.floor(s / k) + 1) * k
end

--- sim:run(nsteps[, opts]) -> true, info | nil, message, info.
--- opts: every (steps between thermo rows and callbacks; default nsteps), thermo (CSV path,
--- written atomically at checkpoints and at the end), thermo_rows (rows to continue: a resumed run
--- passes the earlier ones), traj (extxyz path, streamed through strata.io.writer) or traj_writer
--- (an open writer), traj_every (default every), observers (list, attached for the run),
--- callback = function(sim, thermo) (once per `every` steps; returning false stops the run),
--- checkpoint (restart path) and checkpoint_every (steps; without it one checkpoint at the end),
--- restart_extra (table stored in the restart header), last_good (path: on an explosion the last
--- good frame is written there), progress (true/false; default: when stderr is a terminal).
--- The starting state is logged (thermo row, frame) when its step is a multiple of the stride.
--- info: {status = "completed"|"exploded"|"stopped", steps, seconds, rows, frames, checkpoints,
--- message}.  Ctrl-C: writers are closed and a checkpoint is written (when configured) before the
--- error propagates, so the run can be resumed from the last completed step.
function Simulation:run(nsteps, o)
  if not is_int(nsteps) or nsteps < 0 then error("Simulation:run: nsteps must be an integer >= 0, got " .. tostring(nsteps), 2) end
  o = o or {}
  local every = o.every or math.max(nsteps, 1)
  if not is_int(every) or every < 1 then error("Simulation:run: every must be an integer >= 1, got " .. tostring(every), 2) end
  local traj_every = o.traj_every or every
  if not is_int(traj_every) or traj_every < 1 then error("Simulation:run: traj_every must be an integer >= 1", 2) end
  local ck_every = o.checkpoint_every
  if ck_every ~= nil and (not is_int(ck_every) or ck_every < 1) then
    error("Simulation:run: checkpoint_every must be an integer >= 1", 2)
  end
  local h = self._h
  local start = self:step()
  local target = start + nsteps
  local rows = o.thermo_rows or {}
  local info = {status = "completed", steps = 0, frames = 0, checkpoints = 0, rows = rows}
  local writer = o.traj_writer
  local own_writer = false
  if o.traj and not writer then
    local w, err = sio.writer(o.traj, "extxyz")
    if not w then return nil, err, info end
    writer, own_writer = w, true
  end
  local attached = {}
  for _, obs in ipairs(o.observers or {}) do
    if not self.observers[obs] then self:attach(obs); attached[#attached + 1] = obs end
  end
  local show = o.progress
  if show == nil then show = M.progress_wanted() end
  local t0 = M.clock()
  local last_show = -1

  local function write_thermo()
    if not o.thermo then return true end
    return util.write_csv(o.thermo, M.THERMO_COLUMNS, rows)
  end
  local function checkpoint()
    local extra = {target_step = target, every = every, traj_every = traj_every, checkpoint_every = ck_every}
    for k, v in pairs(o.restart_extra or {}) do extra[k] = v end
    local ok, err = self:save(o.checkpoint, extra)
    if not ok then return nil, err end
    info.checkpoints = info.checkpoints + 1
    return write_thermo()
  end
  local stop = false
  local function record(s, first)
    if s % every == 0 then
      local t = self:thermo()
      if not first or #rows == 0 or rows[#rows][1] ~= s then rows[#rows + 1] = M.thermo_row(t) end
      if o.callback and o.callback(self, t) == false then stop = true end
    end
    if writer and s % traj_every == 0 then
      local ok, err = writer:write(self:atoms())
      if not ok then error(err, 0) end
      info.frames = info.frames + 1
    end
    if not first and o.checkpoint and ck_every and s % ck_every == 0 and s < target then
      local ok, err = checkpoint()
      if not ok then error(err, 0) end
    end
    if show then
      local now = M.clock()
      if now - last_show >= 0.5 or s == target then
        last_show = now
        local t = self:thermo()
        local done = s - start
        io.stderr:write(string.format("\rmd: step %d/%d (%3d%%), T = %.1f K, E = %.6g eV, %.3g steps/s   ", s, target,
                                      nsteps > 0 and math.floor(100 * done / nsteps) or 100, t.T, t.etot,
                                      done / math.max(now - t0, 1e-9)))
      end
    end
  end

  local message
  local ok, err = pcall(function()
    record(start, true)
    local s = start
    while s < target and not stop do
      local nxt = math.min(target, next_multiple(s, every), next_multiple(s, traj_every),
                           (o.checkpoint and ck_every) and next_multiple(s, ck_every) or math.huge)
      local good, msg = B.md_sim_run(h, nxt - s)
      if not good then
        info.status, message = "exploded", lua_indices(msg)
        local now = self:step()
        info.steps = now - start
        if o.last_good then
          local wok, werr = sio.write(o.last_good, self:atoms(), {format = "extxyz"})
          if wok then message = message .. "; last good frame (step " .. now .. ") written to " .. o.last_good
          else message = message .. "; could not write the last good frame: " .. tostring(werr) end
        end
        return
      end
      s = nxt
      info.steps = s - start
      record(s, false)
    end
    if stop then info.status = "stopped" end
  end)
  if show then io.stderr:write("\n") end
  for _, obs in ipairs(attached) do self:detach(obs) end
  info.seconds = M.clock() - t0
  -- close what we opened and keep what we have, also on errors (Ctrl-C)
  if own_writer then
    local cok, cerr = writer:close()
    if not cok and ok then ok, err = false, cerr end
  end
  if not ok then
    if o.checkpoint and self._h then pcall(checkpoint) else pcall(write_thermo) end
    error(err, 0)
  end
  if info.status ~= "exploded" and o.checkpoint then
    local cok, cerr = checkpoint()
    if not cok then return nil, cerr, info end
  else
    local wok, werr = write_thermo()
    if not wok then return nil, werr, info end
  end
  if info.status == "exploded" then
    info.message = message
    return nil, message, info
  end
  return true, info
end

-- ---- restart files -------------------------------------------------------------------------------

local MAGIC = "STRATA-MD-RESTART 1"

local function rle(list)
  local out = {}
  for _, z in ipairs(list) do
    local last = out[#out]
    if last and last[1] == z then last[2] = last[2] + 1 else out[#out + 1] = {z, 1} end
  end
  return out
end
local function unrle(runs)
  local out = {}
  for _, r in ipairs(runs) do for _ = 1, r[2] do out[#out + 1] = r[1] end end
  return out
end

--- sim:save(path[, extra]) -> true | nil, message.  Atomic (temporary file + rename).
function Simulation:save(path, extra)
  if type(path) ~= "string" then error("Simulation:save: path must be a string", 2) end
  local state = self:state()
  local m = self:masses():totable()
  local standard = true
  for i = 1, self.n do if m[i] ~= B.element_mass(self.numbers[i]) then standard = false; break end end
  local pots = {}
  for i, p in ipairs(self.potentials) do
    pots[i] = {name = p.spec.name, file = p.spec.file, params = p.spec.params, elements = p.spec.elements,
               file_check = file_checksum(p.spec.file)}
  end
  local t = self:thermo()
  local header = {format = "strata-md-restart", version = 1, n = self.n, step = t.step, time = t.time,
                  numbers = rle(self.numbers), masses = standard and "standard" or m,
                  pbc = {self.pbc[1] and 1 or 0, self.pbc[2] and 1 or 0, self.pbc[3] and 1 or 0},
                  cell = self:cell():reshape(9):totable(), ensemble = self.ensemble, options = self.options,
                  potentials = pots, threads = B.get_num_threads(), strata = B.version(),
                  state_bytes = #state, state_adler32 = M.adler32(state), extra = extra or {}}
  return util.write_file(path, MAGIC .. "\n" .. json_exact(header) .. "\n" .. state)
end

--- Read a restart file: header (table), state (string) or nil, message (damaged, truncated or not
--- a restart file).
function M.read_restart(path)
  local text, err = util.read_file(path)
  if not text then return nil, path .. ": cannot open: " .. tostring(err) end
  local l1 = text:find("\n", 1, true)
  if not l1 or text:sub(1, l1 - 1) ~= MAGIC then
    return nil, path .. ": not a strata MD restart file (line 1 is not '" .. MAGIC .. "')"
  end
  local l2 = text:find("\n", l1 + 1, true)
  if not l2 then return nil, path .. ": line 2: the header is truncated" end
  local header, jerr = util.json_decode(text:sub(l1 + 1, l2 - 1))
  if type(header) ~= "table" then return nil, path .. ": line 2: header: " .. tostring(jerr or "not a JSON object") end
  for _, k in ipairs({"n", "state_bytes", "state_adler32", "numbers", "options", "potentials", "cell", "pbc"}) do
    if header[k] == nil then return nil, path .. ": line 2: header: field '" .. k .. "' is missing" end
  end
  local state = text:sub(l2 + 1)
  if #state ~= header.state_bytes then
    return nil, string.format("%s: state has %d bytes, the header says %d (truncated file?)", path, #state, header.state_bytes)
  end
  if M.adler32(state) ~= header.state_adler32 then
    return nil, path .. ": state checksum mismatch (the file is damaged)"
  end
  return header, state
end

--- md.load(path[, {potentials = {...}}]) -> Simulation, header | nil, message: rebuild the
--- simulation of a restart file and restore its state (positions, velocities, cell, thermostat and
--- RNG state, neighbour-list reference), so that running on continues bit for bit as the original
--- run would have (with the same thread count).  Potentials are re-read from the files named in the
--- header, whose checksums must match (pass opts.potentials to substitute specs or objects).
function M.load(path, o)
  o = o or {}
  local header, state = M.read_restart(path)
  if not header then return nil, state end
  local pots = o.potentials
  if not pots then
    pots = {}
    for i, p in ipairs(header.potentials) do
      if p.file and p.file_check then
        local now = file_checksum(p.file)
        if not now then return nil, string.format("%s: potential %d: cannot read %s", path, i, p.file) end
        if now.size ~= p.file_check.size or now.adler32 ~= p.file_check.adler32 then
          return nil, string.format("%s: potential %d: %s changed since the checkpoint was written (checksum " ..
                                    "differs); a resumed run would not continue the original one", path, i, p.file)
        end
      end
      pots[i] = {name = p.name, file = p.file, params = p.params, elements = p.elements}
    end
  end
  local numbers = unrle(header.numbers)
  if #numbers ~= header.n then return nil, path .. ": line 2: header: numbers hold " .. #numbers .. " atoms, n = " .. header.n end
  local at = atoms.new{numbers = numbers, positions = array.zeros({header.n, 3}),
                       cell = {header.cell[1], header.cell[2], header.cell[3], header.cell[4], header.cell[5],
                               header.cell[6], header.cell[7], header.cell[8], header.cell[9]},
                       pbc = {header.pbc[1] == 1, header.pbc[2] == 1, header.pbc[3] == 1}}
  local masses = header.masses ~= "standard" and header.masses or nil
  local opts = {potentials = pots, masses = masses, _restoring = true, ensemble = "nve"}
  local co = header.options
  local rev = {[0] = "nve", "langevin", "nhc", "npt"}
  opts.ensemble = rev[co.integrator] or "nve"
  opts.barostat = BAROSTAT_NAME[co.barostat or 0]
  opts.dt, opts.P = co.timestep, co.pressure
  if co.integrator ~= 0 or (co.temperature or 0) > 0 then opts.T = co.temperature end
  for _, k in ipairs({"friction", "tau_t", "nhc_length", "nhc_substeps", "tau_p", "compressibility", "barostat_stride",
                      "rebuild_every", "skin", "seed", "max_energy_change", "dof"}) do
    opts[k] = co[k]
  end
  local sim, err = M.Simulation(at, opts)
  at:free()
  if not sim then return nil, err end
  sim.ensemble = header.ensemble or opts.ensemble
  local ok, rerr = sim:set_state(state)
  if not ok then sim:free(); return nil, path .. ": " .. tostring(rerr) end
  return sim, header
end

M.doc = {
  [M.potential] = "md.potential(spec) -> Potential | nil, msg: \"eam:/path/Cu_u3.eam\", " ..
    "\"lj:epsilon=0.0104,sigma=3.4\", or {name=, file=, params=, elements=}",
  [M.Simulation] = "md.Simulation(atoms, {potential=, ensemble='nve'|'nvt'|'npt', T=, dt=, P=, seed=, ...}) -> sim | nil, msg",
  [M.load] = "md.load(path) -> sim, header | nil, msg: resume from a restart file (bit for bit, same thread count)",
  [M.observer] = "md.observer('rdf'|'msd'|'vacf', {every=, rmax=, nbins=, nlags=, origin_every=, species=})",
  [M.diffusion] = "md.diffusion(t, msd[, {from=, to=}]) -> {D (Å²/fs), D_cm2_s, ...}: Einstein slope fit",
  [M.green_kubo] = "md.green_kubo(t, vacf) -> D (Å²/fs): 1/3 of the VACF integral",
  [M.rdf_summary] = "md.rdf_summary(rdf_result, rho) -> {first_peak, peak_height, first_minimum, coordination}",
  [M.crystal] = "md.crystal{kind='fcc', a=3.615, cells=4, symbol='Cu'} -> Atoms",
  [Simulation.run] = "sim:run(nsteps, {every=, thermo=, traj=, observers=, callback=, checkpoint=, checkpoint_every=, last_good=})",
}

return M
