-- plugin_hello.lua -- a user extension: a recipe plugin, found by name in the plugin path.
--
-- Install it by putting this file in a plugin directory ($STRATA_PLUGIN_PATH, ./plugins or
-- ~/.local/share/strata/plugins), then:
--     strata plugin_hello --times 2 Ada     # runs it as a recipe
--     strata help                           # lists it, marked [plugin: path]
-- or from Lua:  local p = assert(strata.plugins.load("plugin_hello")); p.run({"Ada"})
-- Running this file directly (strata examples/plugin_hello.lua [args]) validates it and runs it.
--
-- The declaration: strata_plugin (the plugin API version, 1), kind ("recipe", "analysis" or
-- "descriptor"), name (must equal the file name), summary, and the kind's function (run for a
-- recipe).  Loading checks all of these and names this file in any complaint.

local cli = require "strata.cli"

local plugin = {
  strata_plugin = 1,
  kind = "recipe",
  name = "plugin_hello",
  summary = "greet someone from a user plugin (example of the plugin format)",
  usage = "Prints a greeting TIMES times; shows that plugins get the same option parser as recipes.",
  options = {
    { name = "times", short = "t", type = "int", default = 1, help = "how many greetings" },
  },
  positional = { name = "NAME", min = 0, max = 1, help = "who to greet (default: plugin user)" },
}

function plugin.run(args)
  local opts, names = cli.parse(plugin, args)
  for i = 1, opts.times do
    print(string.format("[%d] Hello from a plugin, %s!", i, names[1] or "plugin user"))
  end
  return 0
end

-- Loaded as a plugin, this chunk receives its own path; run as a script, it receives the
-- command-line arguments (possibly none) and `arg[0]` is this file.
local first = ...
if not (first and first:match("plugin_hello%.lua$")) then
  local plugins = require "strata.plugin"
  local here = arg and arg[0] or "plugin_hello.lua"
  assert(plugins.validate(plugin, here))
  os.exit(plugin.run({ ... }))
end

return plugin
