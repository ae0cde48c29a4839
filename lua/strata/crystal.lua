-- strata.crystal: isometry invariants of periodic crystals and the distances between them, the
-- Lua API over the C kernels of csrc/crystal (strata/crystal.h, docs/crystal-distances.md).
--
--   local X = require "strata.crystal"             -- or strata.crystal
--   local set = X.read_structures({"SOD.cif", "LTA.cif"})   -- {{name=, atoms=, path=}, ...}
--   local a = X.amd(set[1].atoms, {k = 100})       -- AMD_1..AMD_k (Å), a 1-d array
--   local p = X.pdd(set[1].atoms)                  -- {weights = [m], rows = [m][k], k = k}
--   local A = X.amds(set)                          -- n x k array (rows in set order)
--   local D = X.amd_matrix(A)                      -- n x n, L-inf by default ({metric = "l2"})
--   local E = X.pdd_matrix(X.pdds(set))            -- earth mover's distances (Chebyshev ground)
--   X.nearest(D, 10, {names = names})              -- per row: {{index=, name=, distance=}, ...}
--
-- Definitions (Widdowson & Kurlin, MATCH 87(3) 2022 for AMD; arXiv:2108.04798 for PDD): over the
-- query sites p_i with multiplicities mu_i, AMD_j = sum mu_i d_j(p_i) / sum mu_i, d_j = distance to
-- the j-th nearest point of the infinite periodic set; PDD = rows (d_1..d_k)(p_i) with weights
-- mu_i / sum mu, rows within collapse_tol (Chebyshev, default 1e-4 Å) merged, sorted.  CIF frames
-- carry the asymmetric unit ("asym_site", "multiplicity"), so their AMD matches the study's
-- reference to 1e-12; other formats use every atom with weight 1.
-- Species: opts.species = "Si" | {"Si", "O"} | {14} keeps only those atoms (as sites and as points
-- of the periodic set).
--
-- Errors: wrong types and shapes raise; unreadable files and frames without a periodic cell return
-- nil, message.  Does not: compute anything per atom or per pair in Lua, reduce cells, or guess
-- symmetry (it uses what the CIF reader found).  Runs on Lua 5.4 and LuaJIT.
local B = require "strata.backend"
local array = require "strata.array"
local atoms = require "strata.atoms"
local sio = require "strata.io"
local util = require "strata.util"

local M = {}
M.defaults = {k = 100, metric = "linf", collapse_tol = 1e-4}

local METRICS = {linf = true, l1 = true, l2 = true}

-- ---- options -----------------------------------------------------------------------------------

-- "Si" | "Si,O" | {"Si", "O"} | {14, 8} -> {14, 8}
local function species_numbers(sp, fn, level)
  if sp == nil then return nil end
  if type(sp) == "string" then
    local t = {}
    for s in sp:gmatch("[^,%s]+") do t[#t + 1] = s end
    sp = t
  end
  if type(sp) ~= "table" or #sp == 0 then
    error(fn .. ": species must be a symbol, a comma list or a table of symbols/atomic numbers", level + 1)
  end
  local out = {}
  for i, s in ipairs(sp) do
    if type(s) == "number" then out[i] = s
    else
      local z = B.element_number(tostring(s))
      if z == nil or z < 1 then error(fn .. ": unknown element '" .. tostring(s) .. "'", level + 1) end
      out[i] = z
    end
  end
  return out
end
M.species_numbers = function(sp) return species_numbers(sp, "species", 2) end

local function kernel_opts(opts, fn, level)
  opts = opts or {}
  if type(opts) ~= "table" then error(fn .. ": options must be a table", level + 1) end
  local k = opts.k or M.defaults.k
  if type(k) ~= "number" or k % 1 ~= 0 or k < 1 then
    error(fn .. ": k must be a positive integer, got " .. tostring(k), level + 1)
  end
  return {k = k, species = species_numbers(opts.species, fn, level + 1), collapse_tol = opts.collapse_tol}
end

local function metric_of(opts, fn, level)
  local m = (opts and opts.metric) or M.defaults.metric
  if not METRICS[m] then error(fn .. ": metric must be linf, l1 or l2, got '" .. tostring(m) .. "'", level + 1) end
  return m
end

local function handle_of(at, fn, level)
  if not atoms.is_atoms(at) then error(fn .. ": expected an Atoms frame, got " .. type(at), level + 1) end
  return atoms.handle(at)
end

-- A structure without a periodic cell is an expected failure (a molecule in a file of crystals):
-- nil, message instead of the kernel's argument error.
local function periodic(h)
  if not B.atoms_has_cell(h) then return nil, "structure has no cell (periodic crystals only)" end
  local p = B.atoms_pbc(h)
  if p[1] == 0 or p[2] == 0 or p[3] == 0 then return nil, "structure is not periodic along all three axes" end
  return true
end

-- ---- invariants of one frame -------------------------------------------------------------------

--- AMD_1..AMD_k (Å) of a periodic frame; nil, message if the frame has no cell or pbc.
function M.amd(at, opts)
  local h, o = handle_of(at, "amd", 2), kernel_opts(opts, "amd", 2)
  local ok, err = periodic(h)
  if not ok then return nil, err end
  return B.crystal_amd(h, o)
end

--- PDD: {weights = [m] (sum 1), rows = [m][k] (Å), k = k}; nil, message on failure.
function M.pdd(at, opts)
  local h, o = handle_of(at, "pdd", 2), kernel_opts(opts, "pdd", 2)
  local ok, err = periodic(h)
  if not ok then return nil, err end
  local w, r = B.crystal_pdd(h, o)
  if not w then return nil, r end
  return {weights = w, rows = r, k = o.k}
end

--- Periodic k-NN distances of the query sites: dist [sites][k] and multiplicities [sites].
function M.knn(at, opts)
  local h, o = handle_of(at, "knn", 2), kernel_opts(opts, "knn", 2)
  local ok, err = periodic(h)
  if not ok then return nil, err end
  return B.crystal_knn(h, o)
end

--- Number of query sites (asymmetric-unit sites of a CIF frame, else atoms) after the species
--- restriction.
function M.nsites(at, opts)
  return B.crystal_nsites(handle_of(at, "nsites", 2), kernel_opts(opts, "nsites", 2))
end

local function frame_of(item, i, fn)
  if atoms.is_atoms(item) then return item end
  if type(item) == "table" and atoms.is_atoms(item.atoms) then return item.atoms end
  error(fn .. ": entry " .. i .. " is neither an Atoms frame nor {atoms = frame}", 3)
end

local function label_of(item, i)
  return type(item) == "table" and item.name or ("#" .. i)
end

--- AMDs of a list of frames (or of {name=, atoms=} entries): an n x k array.  Shows progress on
--- long lists.  nil, message naming the entry on failure.
function M.amds(list, opts)
  if type(list) ~= "table" then error("amds: expected a list of frames", 2) end
  local o = kernel_opts(opts, "amds", 2)
  local out = array.zeros({#list, o.k})
  local p = util.progress("AMD", #list)
  for i, item in ipairs(list) do
    local h = atoms.handle(frame_of(item, i, "amds"))
    local a, err = periodic(h)
    if a then a, err = B.crystal_amd(h, o) end
    if not a then p:done(); return nil, label_of(item, i) .. ": " .. err end
    out[i] = a
    p:step()
  end
  p:done()
  return out
end

--- PDDs of a list of frames: a list of {weights=, rows=, k=}.
function M.pdds(list, opts)
  if type(list) ~= "table" then error("pdds: expected a list of frames", 2) end
  local o = kernel_opts(opts, "pdds", 2)
  local out = {}
  local p = util.progress("PDD", #list)
  for i, item in ipairs(list) do
    local h = atoms.handle(frame_of(item, i, "pdds"))
    local w, r = periodic(h)
    if w then w, r = B.crystal_pdd(h, o) end
    if not w then p:done(); return nil, label_of(item, i) .. ": " .. r end
    out[i] = {weights = w, rows = r, k = o.k}
    p:step()
  end
  p:done()
  return out
end

-- ---- distances ---------------------------------------------------------------------------------

local function amd_rows(A, fn)
  if array.is_array(A) then return A end
  if type(A) == "table" and #A > 0 then return array.array(A) end
  error(fn .. ": expected an n x k array of AMDs or a list of AMD vectors", 3)
end

--- Distance between two AMD vectors ({metric = "linf" | "l1" | "l2"}).
function M.amd_distance(a, b, opts)
  return B.crystal_amd_distance(array.is_array(a) and a or array.array(a), array.is_array(b) and b or array.array(b),
                                metric_of(opts, "amd_distance", 2))
end

--- All pairs: n x n (symmetric, zero diagonal).
function M.amd_matrix(A, opts)
  return B.crystal_amd_matrix(amd_rows(A, "amd_matrix"), metric_of(opts, "amd_matrix", 2))
end

--- Cross distances: na x nb.
function M.amd_cross(A, Bm, opts)
  return B.crystal_amd_cross(amd_rows(A, "amd_cross"), amd_rows(Bm, "amd_cross"), metric_of(opts, "amd_cross", 2))
end

--- Earth mover's distance between two PDDs (Chebyshev ground distance between rows).
function M.emd(p, q)
  if type(p) ~= "table" or type(q) ~= "table" then error("emd: expected two PDDs {weights=, rows=}", 2) end
  return B.crystal_pdd_emd(p.weights, p.rows, q.weights, q.rows)
end

function M.pdd_matrix(list) return B.crystal_pdd_matrix(list) end
function M.pdd_cross(la, lb) return B.crystal_pdd_cross(la, lb) end

--- Exact balanced transport: value, flow [n1][n2], duals u [n1], v [n2].
function M.transport(a, b, cost)
  local function arr(x) return array.is_array(x) and x or array.array(x) end
  return B.crystal_transport(arr(a), arr(b), arr(cost))
end

--- The k nearest columns of each row of a distance matrix D (n x m).  opts.names (column names),
--- opts.row_names, opts.exclude_self (default: true when D is square) -- skips column i for row i.
--- Ties are broken by column order.  Returns a list (one per row) of {index=, name=, distance=}.
function M.nearest(D, k, opts)
  opts = opts or {}
  if not array.is_array(D) or D.ndim ~= 2 then error("nearest: expected a 2-d distance array", 2) end
  local s = D.shape
  local n, m = s[1], s[2]
  k = k or 10
  local excl = opts.exclude_self
  if excl == nil then excl = n == m end
  local names = opts.names
  local out = {}
  for i = 1, n do
    local row = D[i]:totable()
    local idx = {}
    for j = 1, m do if not (excl and j == i) then idx[#idx + 1] = j end end
    table.sort(idx, function(a, b)
      if row[a] ~= row[b] then return row[a] < row[b] end
      return a < b
    end)
    local lst = {}
    for r = 1, math.min(k, #idx) do
      local j = idx[r]
      lst[r] = {index = j, name = names and names[j] or nil, distance = row[j]}
    end
    out[i] = lst
  end
  return out
end

-- ---- files ---------------------------------------------------------------------------------------

local function listdir(dir)
  local ok, host = pcall(require, "strata.host")
  if ok and type(host) == "table" and host.listdir then
    local t = host.listdir(dir)
    if t then return t end
    return nil, dir .. ": cannot list directory"
  end
  local lok, lfs = pcall(require, "lfs")
  if lok then
    if not lfs.attributes(dir) then return nil, dir .. ": no such directory" end
    local t = {}
    for f in lfs.dir(dir) do if f ~= "." and f ~= ".." then t[#t + 1] = f end end
    return t
  end
  local p = io.popen("ls -1 '" .. dir:gsub("'", "'\\''") .. "' 2>/dev/null")
  local t = {}
  for line in p:lines() do t[#t + 1] = line end
  p:close()
  if #t == 0 then return nil, dir .. ": no such directory or empty" end
  return t
end
M.listdir = listdir

--- Structures from files: a list of {name=, atoms=, path=, frame=}.  A file with several frames
--- gives entries "stem#1", "stem#2", ...; a single frame is named by the file stem (the CIF block
--- name is ignored: several IZA files disagree with their codes).  nil, message on the first file
--- that cannot be read.
function M.read_structures(paths, opts)
  opts = opts or {}
  if type(paths) == "string" then paths = {paths} end
  local out = {}
  local p = util.progress("reading", #paths)
  for _, path in ipairs(paths) do
    local frames, err = sio.read(path, {format = opts.format})
    if not frames then p:done(); return nil, err end
    if #frames == 0 then p:done(); return nil, path .. ": no structure in file" end
    local stem = util.stem(path)
    for i, at in ipairs(frames) do
      out[#out + 1] = {name = #frames == 1 and stem or (stem .. "#" .. i), atoms = at, path = path, frame = i}
    end
    p:step()
  end
  p:done()
  return out
end

--- Every file with extension opts.ext (default "cif") in dir, sorted by name, read as above.
--- opts.names (list of stems) reads only those, in that order; a missing one is an error.
function M.read_dir(dir, opts)
  opts = opts or {}
  local ext = opts.ext or "cif"
  local paths = {}
  if opts.names then
    for _, nm in ipairs(opts.names) do
      local path = dir .. "/" .. nm .. "." .. ext
      if not util.exists(path) then return nil, path .. ": no such file (structure '" .. nm .. "' is missing)" end
      paths[#paths + 1] = path
    end
  else
    local files, err = listdir(dir)
    if not files then return nil, err end
    table.sort(files)
    for _, f in ipairs(files) do
      if f:sub(-#ext - 1) == "." .. ext then paths[#paths + 1] = dir .. "/" .. f end
    end
    if #paths == 0 then return nil, dir .. ": no *." .. ext .. " files" end
  end
  return M.read_structures(paths, opts)
end

--- A labelled square matrix from CSV (first row: an empty cell then the names; each row: its
--- name then the values), e.g. the study's iza_dm.csv.  Returns names, n x n array; nil, message
--- (naming file, line and column) on malformed input.
function M.read_matrix_csv(path)
  local text, err = util.read_file(path)
  if not text then return nil, path .. ": cannot read: " .. tostring(err) end
  local lines = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\r$", "")
    if line ~= "" then lines[#lines + 1] = line end
  end
  if #lines < 2 then return nil, path .. ": expected a header and at least one row" end
  local names = {}
  local first = true
  for cell in (lines[1] .. ","):gmatch("([^,]*),") do
    if first then first = false else names[#names + 1] = cell end
  end
  local n = #names
  if #lines - 1 ~= n then
    return nil, string.format("%s: header names %d columns but there are %d rows", path, n, #lines - 1)
  end
  local flat = {}
  for i = 1, n do
    local line = lines[i + 1]
    local c = 0
    for cell in (line .. ","):gmatch("([^,]*),") do
      c = c + 1
      if c == 1 then
        if cell ~= names[i] then
          return nil, string.format("%s: line %d: row name '%s' does not match column %d ('%s')", path, i + 1,
                                    cell, i, names[i])
        end
      else
        local v = tonumber(cell)
        if v == nil then
          return nil, string.format("%s: line %d: column %d (%s): expected a number, got '%s'", path, i + 1, c,
                                    names[c - 1] or "?", cell)
        end
        flat[#flat + 1] = v
      end
    end
    if c ~= n + 1 then
      return nil, string.format("%s: line %d: %d fields, expected %d", path, i + 1, c, n + 1)
    end
  end
  return names, array.array(flat, "float64", {n, n})
end

--- Write a labelled matrix (rows x cols) as CSV, atomically; values with 17 significant digits.
function M.write_matrix_csv(path, row_names, D, col_names)
  col_names = col_names or row_names
  local s = D.shape
  local out = {"," .. table.concat(col_names, ",")}
  for i = 1, s[1] do
    local row = D[i]:totable()
    for j = 1, #row do row[j] = string.format("%.17g", row[j]) end
    out[#out + 1] = row_names[i] .. "," .. table.concat(row, ",")
  end
  return util.write_file(path, table.concat(out, "\n") .. "\n")
end

M.doc = {
  [M.amd] = "crystal.amd(atoms[, {k=100, species=}]) -> AMD_1..AMD_k (Å), 1-d array; nil, msg without a periodic cell",
  [M.pdd] = "crystal.pdd(atoms[, {k=100, species=, collapse_tol=1e-4}]) -> {weights=, rows=, k=}",
  [M.amds] = "crystal.amds(list[, opts]) -> n x k array of AMDs (list of Atoms or {name=, atoms=})",
  [M.pdds] = "crystal.pdds(list[, opts]) -> list of PDDs",
  [M.amd_matrix] = "crystal.amd_matrix(A[, {metric='linf'|'l1'|'l2'}]) -> n x n distances",
  [M.amd_cross] = "crystal.amd_cross(A, B[, {metric=}]) -> na x nb distances",
  [M.pdd_matrix] = "crystal.pdd_matrix(pdds) -> n x n earth mover's distances",
  [M.pdd_cross] = "crystal.pdd_cross(pdds_a, pdds_b) -> na x nb earth mover's distances",
  [M.emd] = "crystal.emd(pdd1, pdd2) -> earth mover's distance (Chebyshev ground metric)",
  [M.nearest] = "crystal.nearest(D, k[, {names=, exclude_self=}]) -> per row {{index=, name=, distance=}...}",
  [M.read_structures] = "crystal.read_structures(paths) -> {{name=, atoms=, path=}...}; nil, msg",
  [M.read_dir] = "crystal.read_dir(dir[, {ext='cif', names=}]) -> sorted list of structures; nil, msg",
  [M.read_matrix_csv] = "crystal.read_matrix_csv(path) -> names, n x n array; nil, msg",
}

return M
