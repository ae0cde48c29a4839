-- hello.lua -- the smallest recipe; a template for real ones.
--
-- A recipe is a file in recipes/ returning a table with name (= file name), summary (one line,
-- shown by `strata help`), usage (longer help text, optional), options (strata.cli specs, from
-- which --help is generated) and run(args), which gets the command-line strings after the recipe
-- name and returns an exit status.  Like every recipe it prints a human summary and can write a
-- machine-readable result (--out FILE, JSON) through strata.cli.write_atomic, so no half-written
-- file is ever left behind.
--
-- Does not: compute anything; it only shows the shape.
-- smoke: --count 2 --out $OUT/hello.json Ada

local cli = require "strata.cli"

local recipe = {
  name = "hello",
  summary = "print a greeting and the Strata and Lua versions (shows the recipe format)",
  usage = [[
Greets NAME (or "world") COUNT times.  With --out FILE, also writes
{"greeting": ..., "count": ..., "strata_version": ...} as JSON to FILE.

examples:
  strata hello
  strata hello --count 3 Ada
  strata hello --shout --out hello.json]],
  options = {
    { name = "count", short = "c", type = "int", default = 1, help = "how many greetings" },
    { name = "shout", type = "flag", help = "upper-case the greeting" },
    { name = "out", short = "o", metavar = "FILE", help = "also write the result as JSON to FILE" },
  },
  positional = { name = "NAME", min = 0, max = 1, help = "who to greet (default: world)" },
}

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

function recipe.run(args)
  local opts, names = cli.parse(recipe, args)
  if opts.count < 0 then cli.usage_error(recipe, "option '--count': must be >= 0, got %d", opts.count) end
  local greeting = "Hello, " .. (names[1] or "world") .. "!"
  if opts.shout then greeting = greeting:upper() end
  for _ = 1, opts.count do print(greeting) end
  local host = package.loaded["strata.host"]
  local version = host and host.version or "unknown"
  print(string.format("(Strata %s, %s)", version, _VERSION))
  if opts.out then
    local ok, err = cli.write_atomic(opts.out, string.format(
      '{"greeting": %s, "count": %d, "strata_version": %s}\n',
      json_string(greeting), opts.count, json_string(version)))
    if not ok then
      io.stderr:write("strata hello: ", err, "\n")
      return 1
    end
  end
  return 0
end

return recipe
