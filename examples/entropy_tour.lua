-- entropy_tour.lua -- the information-entropy Lua API in a few lines (strata.entropy).
--
--   strata examples/entropy_tour.lua
--
-- Builds small fcc Cu crystals (a = 3.61 Å, 32 atoms) with Gaussian noise, then: entropy and
-- efficiency of a set, dH of new frames against it, the frames a greedy selection keeps, a
-- learning curve with its fit, and a flagged jump along a short trajectory in which a vacancy
-- appears.  Writes nothing; see `strata tour` for the recipe version with files and plots.
local strata = require "strata"
local E = strata.entropy

local rng = strata.rng(42)
local function crystal(sigma, vacancy)
  return E.demo.fcc{cells = {2, 2, 2}, sigma = sigma, rng = rng, vacancy = vacancy}
end

-- 1. A training set: 10 frames at 0.05 Å of noise.  Descriptors: QUESTS, k = 32, rc = 5 Å.
local train = {}
for i = 1, 10 do train[i] = crystal(0.05) end
local X, info = E.describe(train)
local r = E.entropy(X, 0.015)
print(string.format("train: %d environments, H = %.3f nats of ln N = %.3f (efficiency %.1f %%), D = %.3f",
                    r.N, r.H, r.lnN, r.efficiency, r.D))

-- 2. New frames at growing noise: how novel are they?  dH > 0: not covered by the training set.
for _, sigma in ipairs({0.03, 0.08, 0.15}) do
  local Y = E.describe({crystal(sigma), crystal(sigma)})
  local dH = E.delta(Y, X, 0.015)
  print(string.format("noise %.2f Å: mean dH = %7.3f nats, %5.1f %% of the atoms above 0, overlap %.2f",
                      sigma, dH:mean(), 100 * dH:gt(0):sum() / dH.shape[1], E.overlap(Y, X, 0.015)))
end

-- 3. Keep 3 of the 10 frames: greedy entropy maximisation against a random pick.
local g = E.compress(X, info, 3, {method = "greedy"})
local rnd = E.compress(X, info, 3, {method = "random", seed = 1})
print(string.format("keep 3 frames: greedy %s (H = %.3f), random %s (H = %.3f)",
                    table.concat(g.frames, ","), g.H_path[3], table.concat(rnd.frames, ","),
                    E.entropy((E.frame_rows(X, info, rnd.frames))).H))

-- 4. Learning curve of the training set: H(n) = a - b exp(-c (ln n)^2), H_max and the gap.
local lc = E.learning_curve(X, {points = 8, repeats = 2})
print(string.format("learning curve: H(N) = %.3f, H_max = %.3f, information gap = %.3f nats",
                    lc.H_full, lc.H_max or 0 / 0, lc.gap or 0 / 0))

-- 5. A trajectory in which an atom leaves at frame 12: per-frame mean dH and a change point.
local traj = {}
for t = 1, 18 do traj[t] = crystal(0.05, t >= 12 and 1 or nil) end
local T, tinfo = E.describe(traj)
local pf = E.per_frame(T, tinfo, 0.015, {ref = X})
local cp = E.change_points(pf.mean_dH)
print(string.format("trajectory: mean dH jumps at frame(s) %s (the vacancy appears at frame 12)",
                    table.concat(cp.flags, ", ")))
