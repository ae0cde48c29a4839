-- strata.ffi_md: FFI versions of the molecular-dynamics primitives of csrc/lua/md.c (potentials,
-- simulations, observers), with the same names, results and messages.  Called by
-- strata.ffi_backend with its table.
--
-- Handles are tables {ptr = cdata} with a metatable giving :free() and __tostring.  The C object
-- is released by ffi.gc or by :free(); a freed handle raises "... used after it was freed".  A
-- simulation borrows its potentials and observers (md.h): its finalizer closes over them, which
-- keeps them alive as long as the simulation, and they count their users so that :free() of one
-- still in use is refused (as in the C binding).
local ffi = require "ffi"

return function(M)
  local C, P = M.C, M._private
  local ctx, fail, check, box_of = P.ctx, P.fail, P.check, P.box_of
  local V = M.V

  local POT, SIM, OBS, NL = {}, {}, {}, {}
  local WHAT = {[POT] = "md potential", [SIM] = "md simulation", [OBS] = "md observer", [NL] = "md neighbour list"}
  for _, mt in ipairs({POT, SIM, OBS, NL}) do
    mt.__tostring = function(h)
      return string.format("%s (%s): %s", WHAT[mt], h.ptr ~= nil and "alive" or "freed", tostring(h.id))
    end
  end

  local function handle(h, mt, argn, fname)
    if getmetatable(h) ~= mt then
      error(string.format("bad argument #%d to '%s' (%s expected, got %s)", argn, fname, mt.__name, type(h)), 3)
    end
    if h.ptr == nil then error(WHAT[mt] .. " used after it was freed", 3) end
    return h.ptr
  end
  POT.__name, SIM.__name, OBS.__name, NL.__name = "strata.md_potential", "strata.md_sim", "strata.md_observer",
                                                   "strata.md_nlist"

  -- Dense float64 (rows x cols) data of array a (cols 0: 1-d); returns the pointer and an anchor.
  local function dense(a, rows, cols, what)
    local v = V(a, 3)
    local nd = cols > 0 and 2 or 1
    if v.ndim ~= nd or v.shape[0] ~= rows or (cols > 0 and v.shape[1] ~= cols) then
      if cols > 0 then error(string.format("%s: expected a %d x %d array", what, rows, cols), 3) end
      error(string.format("%s: expected a 1-d array of %d values", what, rows), 3)
    end
    if v.dtype == 0 and C.st_view_is_contiguous(v) ~= 0 then return ffi.cast("double *", v.data), a end
    local c = M.array_alloc("float64", M.array_shape(a))
    M.array_copy(a, c)
    return ffi.cast("double *", c.v.data), c
  end

  local function numbers(arr, n)
    local t = {}
    for i = 1, n do t[i] = arr[i - 1] end
    return t
  end

  local function is_int(x) return type(x) == "number" and x % 1 == 0 end

  -- ---- constants and the registry ----

  pcall(ffi.cdef, "struct stj_md_timespec { long tv_sec; long tv_nsec; }; " ..
                  "int clock_gettime(int clk, struct stj_md_timespec *ts);")
  local ts = ffi.new("struct stj_md_timespec")
  function M.md_clock()   -- monotonic wall clock, s (CLOCK_MONOTONIC = 1 on Linux)
    ffi.C.clock_gettime(1, ts)
    return tonumber(ts.tv_sec) + 1e-9 * tonumber(ts.tv_nsec)
  end

  function M.md_constants()
    return {kB = C.st_md_constant(0), mvv2e = C.st_md_constant(1), eva3_to_bar = C.st_md_constant(2)}
  end

  function M.md_potential_names()
    local t = {}
    for i = 0, C.st_md_potential_class_count() - 1 do t[i + 1] = ffi.string(C.st_md_potential_class_name(i)) end
    return t
  end

  -- ---- potentials ----

  local counter = 0
  local function new_id()
    counter = counter + 1
    return counter
  end

  function M.md_potential_new(name, opts)
    if type(name) ~= "string" then error("bad argument #1 to 'md_potential_new' (string expected, got " .. type(name) .. ")", 2) end
    local o = ffi.new("st_md_potential_options")
    if opts ~= nil then
      if type(opts) ~= "table" then error("bad argument #2 to 'md_potential_new' (table expected, got " .. type(opts) .. ")", 2) end
      for _, k in ipairs({"file", "params", "elements"}) do
        if opts[k] ~= nil and type(opts[k]) ~= "string" then error("md potential: option '" .. k .. "' must be a string", 2) end
      end
      o.file, o.params, o.elements = opts.file, opts.params, opts.elements   -- anchored by opts
    end
    local out = ffi.new("st_md_potential *[1]")
    local rc = C.st_md_potential_create(ctx, name, o, out)
    local _ = opts
    if rc == 2 then return nil, ffi.string(C.st_ctx_message(ctx)) end
    if rc ~= 0 then return fail(rc) end
    return setmetatable({ptr = ffi.gc(out[0], C.st_md_potential_destroy), users = 0, id = new_id()}, POT)
  end

  function M.md_potential_free(h)
    if getmetatable(h) ~= POT then error("bad argument #1 to 'free' (strata.md_potential expected)", 2) end
    if h.users > 0 then error("md potential: still used by " .. h.users .. " simulation(s); free them first", 2) end
    if h.ptr ~= nil then
      local p = h.ptr
      h.ptr = nil
      ffi.gc(p, nil)
      C.st_md_potential_destroy(p)
    end
  end
  POT.__index = {free = M.md_potential_free}

  function M.md_potential_info(h)
    local p = handle(h, POT, 1, "md_potential_info")
    return ffi.string(C.st_md_potential_name(p)), C.st_md_potential_cutoff(p)
  end

  function M.md_potential_compute(h, at, per_atom)
    local p = handle(h, POT, 1, "md_potential_compute")
    local a = box_of(at)
    local n = tonumber(C.st_atoms_count(a))
    local res = {forces = M.array_alloc("float64", {n, 3})}
    if per_atom then res.atom_energies = M.array_alloc("float64", {n}) end
    local r = ffi.new("st_md_result")
    r.forces = ffi.cast("double *", res.forces.v.data)
    if per_atom then r.atom_energies = ffi.cast("double *", res.atom_energies.v.data) end
    local rc = C.st_md_potential_compute(ctx, p, nil, n, C.st_atoms_positions(a), C.st_atoms_numbers(a),
                                         C.st_atoms_has_cell(a) ~= 0 and C.st_atoms_cell(a) or nil,
                                         C.st_atoms_pbc(a), r)
    if rc ~= 0 then return fail(rc) end
    res.energy = r.energy
    res.virial = numbers(r.virial, 9)
    return res
  end

  -- ---- simulations ----

  local function release(refs)
    for h in pairs(refs) do
      if h.users > 0 then h.users = h.users - 1 end
      refs[h] = nil
    end
  end

  local INT_KEYS = {integrator = true, barostat = true, nhc_length = true, nhc_substeps = true, barostat_stride = true,
                    rebuild_every = true, seed = true}
  local KEYS = {"integrator", "barostat", "timestep", "temperature", "friction", "tau_t", "nhc_length", "nhc_substeps",
                "pressure", "tau_p", "compressibility", "barostat_stride", "rebuild_every", "skin", "seed",
                "max_energy_change", "dof"}

  function M.md_sim_new(at, opts, masses)
    local a = box_of(at)
    if type(opts) ~= "table" then error("bad argument #2 to 'md_sim_new' (table expected, got " .. type(opts) .. ")", 2) end
    local n = tonumber(C.st_atoms_count(a))
    local mptr, manchor
    if masses ~= nil then mptr, manchor = dense(masses, n, 0, "md sim: masses") end
    local o = ffi.new("st_md_options")
    for _, k in ipairs(KEYS) do
      local v = opts[k]
      if v ~= nil then
        if type(v) ~= "number" then error("md sim: option '" .. k .. "' must be a number, got " .. type(v), 2) end
        if INT_KEYS[k] and not is_int(v) then error("md sim: option '" .. k .. "' must be an integer, got " .. tostring(v), 2) end
        o[k] = v
      end
    end
    local pbc = C.st_atoms_pbc(a)
    local per = pbc[0] ~= 0 or pbc[1] ~= 0 or pbc[2] ~= 0
    local out = ffi.new("st_md_sim *[1]")
    local rc = C.st_md_sim_create(ctx, n, C.st_atoms_positions(a), C.st_atoms_numbers(a), mptr,
                                  (per or C.st_atoms_has_cell(a) ~= 0) and C.st_atoms_cell(a) or nil, pbc, o, out)
    local _ = manchor
    if rc ~= 0 then return fail(rc) end
    local refs = {}
    local h = setmetatable({refs = refs, id = new_id()}, SIM)
    h.ptr = ffi.gc(out[0], function(p) C.st_md_sim_destroy(p); release(refs) end)
    return h
  end

  function M.md_sim_free(h)
    if getmetatable(h) ~= SIM then error("bad argument #1 to 'free' (strata.md_sim expected)", 2) end
    if h.ptr ~= nil then
      local p = h.ptr
      h.ptr = nil
      ffi.gc(p, nil)
      C.st_md_sim_destroy(p)
      release(h.refs)
    end
  end
  SIM.__index = {free = M.md_sim_free}

  function M.md_sim_add_potential(h, pot)
    local s = handle(h, SIM, 1, "md_sim_add_potential")
    local p = handle(pot, POT, 2, "md_sim_add_potential")
    if h.refs[pot] then error("md sim: this potential was already added", 2) end
    check(C.st_md_sim_add_potential(ctx, s, p), 2)
    h.refs[pot] = true
    pot.users = pot.users + 1
  end

  function M.md_sim_init_velocities(h, T, seed)
    local s = handle(h, SIM, 1, "md_sim_init_velocities")
    if type(T) ~= "number" then error("bad argument #2 to 'md_sim_init_velocities' (number expected, got " .. type(T) .. ")", 2) end
    if seed ~= nil and not is_int(seed) then error("bad argument #3 to 'md_sim_init_velocities' (number has no integer representation)", 2) end
    check(C.st_md_sim_init_velocities(ctx, s, T, seed or 0), 2)
  end

  function M.md_sim_set_velocities(h, v)
    local s = handle(h, SIM, 1, "md_sim_set_velocities")
    local ptr, keep = dense(v, tonumber(C.st_md_sim_count(s)), 3, "md sim: velocities")
    check(C.st_md_sim_set_velocities(ctx, s, ptr), 2)
    local _ = keep
  end

  function M.md_sim_set_positions(h, x, cell)
    local s = handle(h, SIM, 1, "md_sim_set_positions")
    local ptr, keep = dense(x, tonumber(C.st_md_sim_count(s)), 3, "md sim: positions")
    local cptr, ckeep
    if cell ~= nil then cptr, ckeep = dense(cell, 3, 3, "md sim: cell") end
    check(C.st_md_sim_set_positions(ctx, s, ptr, cptr), 2)
    local _ = {keep, ckeep}
  end

  function M.md_sim_run(h, nsteps)
    local s = handle(h, SIM, 1, "md_sim_run")
    if not is_int(nsteps) then error("bad argument #2 to 'md_sim_run' (number has no integer representation)", 2) end
    local rc = C.st_md_sim_run(ctx, s, nsteps)
    if rc ~= 0 then return fail(rc) end
    return true
  end

  function M.md_sim_count(h) return tonumber(C.st_md_sim_count(handle(h, SIM, 1, "md_sim_count"))) end

  local GET = {positions = true, velocities = true, forces = true, cell = true, masses = true}
  function M.md_sim_get(h, what)
    local s = handle(h, SIM, 1, "md_sim_get")
    if not GET[what] then error("bad argument #2 to 'md_sim_get' (invalid option '" .. tostring(what) .. "')", 2) end
    local n = tonumber(C.st_md_sim_count(s))
    if what == "forces" then
      local t = ffi.new("st_md_thermo")
      local rc = C.st_md_sim_thermo(ctx, s, t)
      if rc ~= 0 then return fail(rc) end
    end
    local out, src
    if what == "positions" then out, src = M.array_alloc("float64", {n, 3}), C.st_md_sim_positions(s)
    elseif what == "velocities" then out, src = M.array_alloc("float64", {n, 3}), C.st_md_sim_velocities(s)
    elseif what == "forces" then out, src = M.array_alloc("float64", {n, 3}), C.st_md_sim_forces(s)
    elseif what == "cell" then out, src = M.array_alloc("float64", {3, 3}), C.st_md_sim_cell(s)
    else out, src = M.array_alloc("float64", {n}), C.st_md_sim_masses(s) end
    ffi.copy(out.v.data, src, M.array_numel(out) * 8)
    return out
  end

  function M.md_sim_thermo(h)
    local s = handle(h, SIM, 1, "md_sim_thermo")
    local t = ffi.new("st_md_thermo")
    local rc = C.st_md_sim_thermo(ctx, s, t)
    if rc ~= 0 then return fail(rc) end
    return {step = tonumber(t.step), time = t.time, potential_energy = t.potential_energy,
            kinetic_energy = t.kinetic_energy, temperature = t.temperature, pressure = t.pressure,
            pressure_tensor = numbers(t.pressure_tensor, 9), virial = numbers(t.virial, 9), volume = t.volume,
            conserved = t.conserved, dof = t.dof, nlist_builds = tonumber(t.nlist_builds),
            dangerous_builds = tonumber(t.dangerous_builds)}
  end

  function M.md_sim_state(h)
    local s = handle(h, SIM, 1, "md_sim_state")
    local len = C.st_md_sim_state_size(s)
    local buf = ffi.new("uint8_t[?]", len)
    check(C.st_md_sim_save(ctx, s, buf, len), 2)
    return ffi.string(buf, len)
  end

  function M.md_sim_restore(h, bytes)
    local s = handle(h, SIM, 1, "md_sim_restore")
    if type(bytes) ~= "string" then error("bad argument #2 to 'md_sim_restore' (string expected, got " .. type(bytes) .. ")", 2) end
    local rc = C.st_md_sim_restore(ctx, s, bytes, #bytes)
    if rc == 2 then return nil, ffi.string(C.st_ctx_message(ctx)) end
    if rc ~= 0 then return fail(rc) end
    return true
  end

  function M.md_sim_attach(h, obs)
    local s = handle(h, SIM, 1, "md_sim_attach")
    local o = handle(obs, OBS, 2, "md_sim_attach")
    if h.refs[obs] then return end
    check(C.st_md_sim_attach(ctx, s, o), 2)
    h.refs[obs] = true
    obs.users = obs.users + 1
  end

  function M.md_sim_detach(h, obs)
    local s = handle(h, SIM, 1, "md_sim_detach")
    local o = handle(obs, OBS, 2, "md_sim_detach")
    if not h.refs[obs] then return end
    C.st_md_sim_detach(s, o)
    h.refs[obs] = nil
    obs.users = obs.users - 1
  end

  -- ---- observers ----

  local OKEYS = {"kind", "stride", "nbins", "species_a", "species_b", "nlags", "origin_every"}
  function M.md_observer_new(opts)
    if type(opts) ~= "table" then error("bad argument #1 to 'md_observer_new' (table expected, got " .. type(opts) .. ")", 2) end
    local o = ffi.new("st_md_observer_options")
    for _, k in ipairs(OKEYS) do
      local v = opts[k]
      if v ~= nil then
        if not is_int(v) then error("md sim: option '" .. k .. "' must be an integer, got " .. tostring(v), 2) end
        o[k] = v
      end
    end
    if opts.rmax ~= nil then
      if type(opts.rmax) ~= "number" then error("md sim: option 'rmax' must be a number, got " .. type(opts.rmax), 2) end
      o.rmax = opts.rmax
    end
    local out = ffi.new("st_md_observer *[1]")
    check(C.st_md_observer_create(ctx, o, out), 2)
    return setmetatable({ptr = ffi.gc(out[0], C.st_md_observer_destroy), users = 0, id = new_id()}, OBS)
  end

  function M.md_observer_free(h)
    if getmetatable(h) ~= OBS then error("bad argument #1 to 'free' (strata.md_observer expected)", 2) end
    if h.users > 0 then
      error("md observer: still attached to " .. h.users .. " simulation(s); detach or free them first", 2)
    end
    if h.ptr ~= nil then
      local p = h.ptr
      h.ptr = nil
      ffi.gc(p, nil)
      C.st_md_observer_destroy(p)
    end
  end
  OBS.__index = {free = M.md_observer_free}

  function M.md_observer_sample(h, at, v, t)
    local o = handle(h, OBS, 1, "md_observer_sample")
    local a = box_of(at)
    local n = tonumber(C.st_atoms_count(a))
    local vptr, keep
    if v ~= nil then vptr, keep = dense(v, n, 3, "md observer: velocities") end
    local rc = C.st_md_observer_sample(ctx, o, n, C.st_atoms_positions(a), vptr, C.st_atoms_numbers(a),
                                       C.st_atoms_cell(a), C.st_atoms_pbc(a), t or 0)
    local _ = keep
    if rc ~= 0 then return fail(rc) end
    return true
  end

  function M.md_observer_result(h)
    local o = handle(h, OBS, 1, "md_observer_result")
    local len = tonumber(C.st_md_observer_length(o))
    local x, y = M.array_alloc("float64", {len}), M.array_alloc("float64", {len})
    check(C.st_md_observer_result(ctx, o, ffi.cast("double *", x.v.data), ffi.cast("double *", y.v.data), len), 2)
    return x, y
  end

  function M.md_observer_samples(h) return tonumber(C.st_md_observer_samples(handle(h, OBS, 1, "md_observer_samples"))) end
  function M.md_observer_reset(h) C.st_md_observer_reset(handle(h, OBS, 1, "md_observer_reset")) end

  -- ---- Verlet neighbour lists ----

  function M.md_nlist_new(cutoff, skin, full)
    if type(cutoff) ~= "number" then error("bad argument #1 to 'md_nlist_new' (number expected, got " .. type(cutoff) .. ")", 2) end
    local out = ffi.new("st_md_nlist *[1]")
    check(C.st_md_nlist_create(ctx, cutoff, skin or 0, full and 1 or 0, out), 2)
    return setmetatable({ptr = ffi.gc(out[0], C.st_md_nlist_destroy), id = new_id()}, NL)
  end

  function M.md_nlist_free(h)
    if getmetatable(h) ~= NL then error("bad argument #1 to 'free' (strata.md_nlist expected)", 2) end
    if h.ptr ~= nil then
      local p = h.ptr
      h.ptr = nil
      ffi.gc(p, nil)
      C.st_md_nlist_destroy(p)
    end
  end
  NL.__index = {free = M.md_nlist_free}

  function M.md_nlist_update(h, at)
    local nl = handle(h, NL, 1, "md_nlist_update")
    local a = box_of(at)
    local pbc = C.st_atoms_pbc(a)
    local per = pbc[0] ~= 0 or pbc[1] ~= 0 or pbc[2] ~= 0
    local rebuilt = ffi.new("int32_t[1]")
    local rc = C.st_md_nlist_update(ctx, nl, C.st_atoms_count(a), C.st_atoms_positions(a), per and C.st_atoms_cell(a) or nil,
                                    pbc, rebuilt)
    if rc ~= 0 then return fail(rc) end
    return rebuilt[0] ~= 0
  end

  function M.md_nlist_pairs(h, rmax)
    local nl = handle(h, NL, 1, "md_nlist_pairs")
    if type(rmax) ~= "number" then error("bad argument #2 to 'md_nlist_pairs' (number expected, got " .. type(rmax) .. ")", 2) end
    local count = ffi.new("int64_t[1]")
    local rc = C.st_md_nlist_pairs(ctx, nl, rmax, nil, nil, nil, 0, count)
    if rc ~= 0 then return fail(rc) end
    local p = tonumber(count[0])
    local i, j, d = M.array_alloc("int32", {p}), M.array_alloc("int32", {p}), M.array_alloc("float64", {p, 3})
    local ip, jp = ffi.cast("int32_t *", i.v.data), ffi.cast("int32_t *", j.v.data)
    rc = C.st_md_nlist_pairs(ctx, nl, rmax, ip, jp, ffi.cast("double *", d.v.data), p, count)
    if rc ~= 0 then return fail(rc) end
    for k = 0, p - 1 do ip[k] = ip[k] + 1; jp[k] = jp[k] + 1 end   -- 1-based for Lua
    return i, j, d
  end

  function M.md_nlist_builds(h) return tonumber(C.st_md_nlist_build_count(handle(h, NL, 1, "md_nlist_builds"))) end
end
