-- Arrays and Atoms through the Lua 5.4 C binding (run inside bin/strata).
local strata = require "strata"
require "shared.array_cases" (strata, {describe = describe, it = it, assert = assert})
