-- host_spec.lua -- bin/strata as a user meets it: command-line modes, exit statuses, tracebacks,
-- recipes, the option parser, plugins, the REPL (piped and on a pseudo-terminal) and Ctrl-C.
--
-- Most checks run bin/strata as a subprocess (STRATA_BIN overrides the path) from the repository
-- root; the option parser, plugin validation, pretty printer and completion are also checked
-- in-process.  Runs inside the host (bin/strata tests/busted.lua -o TAP tests/lua/host_spec.lua)
-- or under plain busted.

package.path = "lua/?.lua;lua/?/init.lua;" .. package.path

local BIN = os.getenv("STRATA_BIN") or "bin/strata"
local CWD = io.popen("pwd"):read("*l")
local ABS_BIN = BIN:sub(1, 1) == "/" and BIN or (CWD .. "/" .. BIN)
local BUILD = os.getenv("STRATA_BUILD") or "build"

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local function spit(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

local tmproot = os.tmpname()
os.remove(tmproot)
assert(os.execute("mkdir -p " .. q(tmproot)))

local ntmp = 0
local function tmpdir()
  ntmp = ntmp + 1
  local d = tmproot .. "/d" .. ntmp
  assert(os.execute("mkdir -p " .. q(d)))
  return d
end

-- Run a shell command; returns stdout, stderr, exit status (128 + signal if killed).
local function sh(cmd, stdin)
  local base = tmproot .. "/cmd"
  spit(base .. ".in", stdin or "")
  local ok, how, code = os.execute("( " .. cmd .. " ) <" .. q(base .. ".in") .. " >" ..
                                   q(base .. ".out") .. " 2>" .. q(base .. ".err"))
  if type(ok) == "number" then code, how = ok, "exit" end  -- Lua 5.1 style os.execute
  if how == "signal" then code = 128 + code end
  return slurp(base .. ".out") or "", slurp(base .. ".err") or "", code
end

-- Run bin/strata with the given (already quoted) arguments.
local function strata(args, stdin, env)
  return sh((env and (env .. " ") or "") .. "HOME=" .. q(tmproot) .. " " .. BIN .. " " .. args,
            stdin)
end

local function have(cmd) return (sh("command -v " .. cmd)) ~= "" end

local function find(hay, needle) return hay:find(needle, 1, true) ~= nil end

teardown(function() os.execute("rm -rf " .. q(tmproot)) end)

describe("bin/strata command line", function()
  it("prints the Strata and Lua versions with -v", function()
    local out, _, code = strata("-v")
    assert.equal(0, code)
    assert.truthy(out:match("^Strata %d+%.%d+%.%d+"))
    assert.truthy(find(out, "Lua 5.4"))
  end)

  it("runs -e statements in order and exits 0", function()
    local out, err, code = strata("-e " .. q("x = 20") .. " -e " .. q("print(x + 1)"))
    assert.equal("", err)
    assert.equal(0, code)
    assert.equal("21\n", out)
  end)

  it("builds the arg table: script at 0, its arguments after, interpreter options before", function()
    local d = tmpdir()
    spit(d .. "/args.lua", "print(arg[0], arg[1], arg[2], arg[-1], arg[-2], select('#', ...), ...)")
    local out, _, code = strata("-e " .. q("y=1") .. " " .. q(d .. "/args.lua") .. " one two")
    assert.equal(0, code)
    assert.equal(table.concat({ d .. "/args.lua", "one", "two", "y=1", "-e", "2", "one", "two" },
                              "\t") .. "\n", out)
  end)

  it("requires a module with -l, into a global named after it or given with g=mod", function()
    local d = tmpdir()
    spit(d .. "/mymod.lua", "return { answer = 42 }")
    local out, err, code = strata("-l mymod -l M=mymod -e " .. q("print(mymod.answer, M.answer)"),
                                  nil, "STRATA_PATH=" .. q(d))
    assert.equal("", err)
    assert.equal(0, code)
    assert.equal("42\t42\n", out)
  end)

  it("ignores STRATA_PATH with -E", function()
    local d = tmpdir()
    spit(d .. "/mymod2.lua", "return {}")
    local _, err, code = strata("-E -l mymod2", nil, "STRATA_PATH=" .. q(d))
    assert.equal(1, code)
    assert.truthy(find(err, "module 'mymod2' not found"))
  end)

  it("runs stdin with '-' and passes the remaining arguments", function()
    local out, _, code = strata("- a b", "print('stdin', ...)")
    assert.equal(0, code)
    assert.equal("stdin\ta\tb\n", out)
  end)

  it("runs stdin when it is not a terminal and there are no arguments", function()
    local out, _, code = strata("", "print(6 * 7)")
    assert.equal(0, code)
    assert.equal("42\n", out)
  end)

  it("stops option handling at --", function()
    local d = tmpdir()
    spit(d .. "/-odd.lua", "print('odd', ...)")
    local out, _, code = sh("cd " .. q(d) .. " && " .. "HOME=" .. q(tmproot) .. " " ..
                            q(ABS_BIN) .. " -- -odd.lua -x")
    assert.equal(0, code)
    assert.equal("odd\t-x\n", out)
  end)

  it("exits 2 with the usage on a bad option or a missing option argument", function()
    local _, err, code = strata("-z")
    assert.equal(2, code)
    assert.truthy(find(err, "unrecognized option '-z'"))
    assert.truthy(find(err, "usage: strata"))
    _, err, code = strata("-e")
    assert.equal(2, code)
    assert.truthy(find(err, "option '-e' needs an argument"))
  end)

  it("exits 1 with file:line and a traceback on a runtime error", function()
    local d = tmpdir()
    local f = d .. "/boom.lua"
    spit(f, "local function inner(x)\n  error('boom ' .. x)\nend\nlocal function outer() inner(1) end\nouter()\n")
    local out, err, code = strata(q(f))
    assert.equal(1, code)
    assert.equal("", out)
    assert.truthy(find(err, f .. ":2: boom 1"))
    assert.truthy(find(err, "stack traceback:"))
    assert.truthy(find(err, f .. ":4: in "))
    assert.truthy(find(err, f .. ":5: in main chunk"))
    -- the host's own frames are not part of the user's traceback
    assert.falsy(find(err, "setup"))
  end)

  it("exits 1 on a syntax error, naming file and line", function()
    local d = tmpdir()
    spit(d .. "/syn.lua", "x = 1\nif x then\n")
    local _, err, code = strata(q(d .. "/syn.lua"))
    assert.equal(1, code)
    assert.truthy(find(err, d .. "/syn.lua:3:"))
  end)

  it("exits 1 when the script cannot be opened", function()
    local _, err, code = strata(q(tmproot .. "/missing.lua"))
    assert.equal(1, code)
    assert.truthy(find(err, "cannot open " .. tmproot .. "/missing.lua"))
  end)

  it("describes non-string error objects", function()
    local _, err, code = strata("-e " .. q("error({})"))
    assert.equal(1, code)
    assert.truthy(find(err, "(error object is a table value)"))
    _, err, code = strata("-e " .. q("error(setmetatable({}, {__tostring = function() return 'mine' end}))"))
    assert.equal(1, code)
    assert.truthy(find(err, "strata: mine"))
  end)

  it("passes os.exit statuses through", function()
    local _, _, code = strata("-e " .. q("os.exit(3)"))
    assert.equal(3, code)
  end)

  it("finds its Lua layer from its own location, preloads strata.core and sets global strata", function()
    local out, err, code = sh("cd / && HOME=" .. q(tmproot) .. " " ..
      q(ABS_BIN) .. " -e " ..
      q("print(strata.host.layout, type(package.preload['strata.core']), " ..
        "package.path:find(strata.host.root .. '/lua/?.lua', 1, true) ~= nil, " ..
        "package.cpath:find(strata.host.root .. '/' .. (os.getenv('STRATA_BUILD') or 'build') .. '/lua/?.so', 1, true) ~= nil, " ..
        "type(strata.plugins), type(strata.doc), type(require('strata.pretty').format))"))
    assert.equal("", err)
    assert.equal(0, code)
    assert.equal("source\tfunction\ttrue\ttrue\ttable\ttable\tfunction\n", out)
  end)

  it("finds an installed tree (make install layout) from <prefix>/bin/strata", function()
    local p = tmpdir()
    assert(os.execute("mkdir -p " .. q(p .. "/bin") .. " " .. q(p .. "/share/lua/5.4/strata") ..
                      " " .. q(p .. "/share/strata/recipes") .. " && cp " .. BIN .. " " ..
                      q(p .. "/bin/strata") .. " && cp lua/strata/*.lua " ..
                      q(p .. "/share/lua/5.4/strata/") .. " && cp recipes/hello.lua " ..
                      q(p .. "/share/strata/recipes/")))
    local out, err, code = sh("cd / && HOME=" .. q(tmproot) .. " " .. q(p .. "/bin/strata") ..
      " -e " .. q("print(strata.host.layout, strata.host.root, strata.host.recipes, " ..
                  "package.path:sub(1, #strata.host.root + 21), " ..
                  "package.cpath:sub(1, #strata.host.root + 18))"))
    assert.equal(0, code, err)
    assert.equal(table.concat({ "install", p, p .. "/share/strata/recipes",
                                p .. "/share/lua/5.4/?.lua;", p .. "/lib/lua/5.4/?.so;" }, "\t") ..
                 "\n", out)
    out, err, code = sh("cd / && HOME=" .. q(tmproot) .. " " .. q(p .. "/bin/strata") .. " help")
    assert.equal(0, code, err)
    assert.truthy(out:match("\n  hello%s+print a greeting"))
  end)

  it("puts STRATA_PATH directories first in package.path and package.cpath", function()
    local out, _, code = strata("-e " .. q("print(package.path:sub(1, 20), package.cpath:sub(1, 12))"),
                                nil, "STRATA_PATH=/x/y:/z")
    assert.equal(0, code)
    assert.equal("/x/y/?.lua;/x/y/?/in\t/x/y/?.so;/z\n", out)
  end)

  it("exits 130 when a script is interrupted with Ctrl-C (SIGINT)", function()
    local d = tmpdir()
    spit(d .. "/loop.lua", "print('looping') io.stdout:flush()\nlocal i = 0\nwhile true do i = i + 1 end\n")
    local out, err, code = sh(BIN .. " " .. q(d .. "/loop.lua") .. " >" .. q(d .. "/out") .. " & pid=$!; " ..
      "for i in $(seq 100); do grep -q looping " .. q(d .. "/out") .. " && break; sleep 0.1; done; " ..
      "kill -INT $pid; wait $pid; echo status=$?")
    assert.truthy(find(out, "status=130"), out .. err)
    assert.truthy(find(err, "interrupted!"))
    assert.truthy(find(err, d .. "/loop.lua:3:"))
  end)
end)

describe("recipes", function()
  it("'strata help' lists the recipes with their one-line summaries", function()
    local out, _, code = strata("help")
    assert.equal(0, code)
    assert.truthy(out:match("\n  hello%s+print a greeting"))
  end)

  it("'strata hello --help' and 'strata help hello' print the generated help", function()
    for _, args in ipairs({ "hello --help", "help hello", "hello -h" }) do
      local out, _, code = strata(args)
      assert.equal(0, code)
      assert.truthy(find(out, "usage: strata hello [options] [NAME]"), args)
      assert.truthy(find(out, "-c, --count N"))
      assert.truthy(find(out, "(default: 1)"))
      assert.truthy(find(out, "examples:"))
    end
  end)

  it("runs a recipe with its arguments", function()
    local out, _, code = strata("hello --count 2 --shout Ada")
    assert.equal(0, code)
    assert.truthy(out:match("^HELLO, ADA!\nHELLO, ADA!\n%(Strata "))
  end)

  it("writes the result file atomically (no temporary left behind)", function()
    local d = tmpdir()
    local _, _, code = strata("hello -o " .. q(d .. "/h.json") .. " Bo")
    assert.equal(0, code)
    assert.equal('{"greeting": "Hello, Bo!", "count": 1, "strata_version": "', slurp(d .. "/h.json"):sub(1, 58))
    local ls = io.popen("ls " .. q(d)):read("*a")
    assert.equal("h.json\n", ls)
  end)

  it("exits 2 with a message naming the option on a usage error", function()
    local _, err, code = strata("hello --count many")
    assert.equal(2, code)
    assert.truthy(find(err, "strata hello: option '--count': expected an integer, got 'many'"))
    assert.truthy(find(err, "Try 'strata hello --help'"))
    _, err, code = strata("hello --cuont 2")
    assert.equal(2, code)
    assert.truthy(find(err, "unknown option '--cuont' (did you mean '--count'?)"))
    _, err, code = strata("hello a b")
    assert.equal(2, code)
    assert.truthy(find(err, "too many arguments"))
  end)

  it("exits 2 on an unknown recipe", function()
    local _, err, code = strata("no_such_recipe")
    assert.equal(2, code)
    assert.truthy(find(err, "unknown recipe or file 'no_such_recipe'"))
  end)

  it("runs an existing file of the same name as a script, not the recipe", function()
    local d = tmpdir()
    spit(d .. "/hello", "print('the file')")
    local out, _, code = sh("cd " .. q(d) .. " && " .. q(ABS_BIN) .. " hello")
    assert.equal(0, code)
    assert.equal("the file\n", out)
  end)

  describe("from the plugin path", function()
    local d
    before_each(function()
      d = tmpdir()
      spit(d .. "/greet.lua", [[
return { strata_plugin = 1, kind = "recipe", name = "greet", summary = "greets from a plugin",
  run = function(args) print("greet:" .. table.concat(args, ",")) return tonumber(args[1]) end }]])
      spit(d .. "/crash.lua", [[
return { strata_plugin = 1, kind = "recipe", name = "crash", summary = "fails",
  run = function(args)
    local t = nil
    return t.field
  end }]])
      spit(d .. "/broken.lua", "return { strata_plugin = 1, kind = 'recipe', name = 'broken' }")
    end)

    it("lists plugin recipes beside the built-in ones", function()
      local out, _, code = strata("help", nil, "STRATA_PLUGIN_PATH=" .. q(d))
      assert.equal(0, code)
      assert.truthy(out:match("\n  greet%s+greets from a plugin%s+%[plugin: "))
      assert.truthy(out:match("\n  hello%s+print a greeting"))
      assert.truthy(out:match("\n  broken%s+%(broken: .*broken%.lua: recipe plugin: missing field 'run'"))
    end)

    it("runs them and passes their exit status through", function()
      local out, _, code = strata("greet 5 x", nil, "STRATA_PLUGIN_PATH=" .. q(d))
      assert.equal(5, code)
      assert.equal("greet:5,x\n", out)
    end)

    it("reports a runtime error in a recipe with its file:line and exit 1", function()
      local _, err, code = strata("crash", nil, "STRATA_PLUGIN_PATH=" .. q(d))
      assert.equal(1, code)
      assert.truthy(find(err, d .. "/crash.lua:4: attempt to index a nil value"))
      assert.truthy(find(err, "stack traceback:"))
    end)

    it("reports an invalid recipe with exit 1, naming the file and the field", function()
      local _, err, code = strata("broken", nil, "STRATA_PLUGIN_PATH=" .. q(d))
      assert.equal(1, code)
      assert.truthy(find(err, d .. "/broken.lua: recipe plugin: missing field 'run' (a function)"))
    end)
  end)
end)

describe("the option parser (strata.cli)", function()
  local cli = require "strata.cli"
  local spec = {
    name = "t",
    summary = "a test spec",
    options = {
      { name = "count", short = "c", type = "int", default = 3, help = "count" },
      { name = "scale", type = "number", default = 1.5 },
      { name = "label", short = "l", default = "none" },
      { name = "verbose", short = "v", type = "flag" },
      { name = "color", type = "flag", default = true },
      { name = "mode", type = "choice", values = { "fast", "exact" }, default = "fast" },
      { name = "file", short = "f", multiple = true },
      { name = "max-iter", type = "int" },
    },
    positional = { name = "INPUT", min = 0, max = 3 },
  }

  -- The exit object raised by cli.parse, or nil if it returned.
  local function fails(s, args)
    local ok, e = pcall(cli.parse, s, args)
    if ok then return nil end
    assert.is_true(cli.is_exit(e), tostring(e))
    return e
  end

  it("applies defaults", function()
    local o, pos = cli.parse(spec, {})
    assert.same({ count = 3, scale = 1.5, label = "none", verbose = false, color = true,
                  mode = "fast" }, o)
    assert.same({}, pos)
  end)

  it("accepts --key value, --key=value, -k value, -kvalue, --no-flag; converts types; collects repeats", function()
    local o, pos = cli.parse(spec, { "--count", "7", "--scale=2e-3", "-l", "x", "-v", "-fa",
                                     "--no-color", "in1", "--mode=exact", "-f", "b",
                                     "--max-iter", "10", "in2" })
    assert.equal(7, o.count)
    assert.equal(math.type and "integer" or "number", math.type and math.type(o.count) or "number")
    assert.equal(2e-3, o.scale)
    assert.equal("x", o.label)
    assert.is_true(o.verbose)
    assert.is_false(o.color)
    assert.equal("exact", o.mode)
    assert.same({ "a", "b" }, o.file)
    assert.equal(10, o.max_iter)
    assert.same({ "in1", "in2" }, pos)
  end)

  it("treats '--' as the end of options and negative numbers and '-' as arguments", function()
    local o, pos = cli.parse(spec, { "-5", "-", "--", "--count" })
    assert.equal(3, o.count)
    assert.same({ "-5", "-", "--count" }, pos)
  end)

  it("accepts --flag=true/false", function()
    assert.is_false(cli.parse(spec, { "--color=false" }).color)
    assert.is_true(cli.parse(spec, { "--verbose=yes" }).verbose)
    local e = fails(spec, { "--verbose=maybe" })
    assert.equal(2, e.exit)
    assert.truthy(find(e.message, "option '--verbose': expected true or false, got 'maybe'"))
  end)

  it("raises exit objects with status 2 and a message naming the problem", function()
    local cases = {
      { { "--count", "2.5" }, "option '--count': expected an integer, got '2.5'" },
      { { "--count" }, "option '--count' needs a value" },
      { { "--scale", "big" }, "option '--scale': expected a number, got 'big'" },
      { { "--mode", "slow" }, "option '--mode': expected one of fast, exact, got 'slow'" },
      { { "--colour" }, "unknown option '--colour' (did you mean '--color'?)" },
      { { "--zzzzzz" }, "unknown option '--zzzzzz'" },
      { { "-q" }, "unknown option '-q'" },
      { { "-c" }, "option '-c' needs a value" },
      { { "-vx" }, "option '-v' takes no value" },
      { { "a", "b", "c", "d" }, "too many arguments (at most 3 INPUT, got 4)" },
    }
    for _, c in ipairs(cases) do
      local e = fails(spec, c[1])
      assert.truthy(e, "no error for " .. table.concat(c[1], " "))
      assert.equal(2, e.exit)
      assert.truthy(find(e.message, "strata t: " .. c[2]), e.message)
      assert.truthy(find(e.message, "usage: strata t [options] [INPUT...]"), e.message)
    end
  end)

  it("checks required options and minimum argument counts", function()
    local s = { name = "r", options = { { name = "out", required = true } },
                positional = { name = "FILE", min = 1, max = 1 } }
    local e = fails(s, { "x" })
    assert.truthy(find(e.message, "option '--out' is required"))
    e = fails(s, { "--out", "o" })
    assert.truthy(find(e.message, "missing argument FILE (need at least 1, got 0)"))
    e = fails({ name = "n" }, { "stray" })
    assert.truthy(find(e.message, "unexpected argument 'stray'"))
  end)

  it("answers --help with status 0 and help text generated from the spec", function()
    local e = fails(spec, { "--count", "1", "--help" })
    assert.equal(0, e.exit)
    local h = e.message
    assert.truthy(find(h, "usage: strata t [options] [INPUT...]"))
    assert.truthy(find(h, "a test spec"))
    for _, o in ipairs(spec.options) do assert.truthy(find(h, "--" .. o.name), o.name) end
    assert.truthy(find(h, "-c, --count N"))
    assert.truthy(find(h, "(default: 3)"))
    assert.truthy(find(h, "--mode {fast,exact}"))
    assert.truthy(find(h, "(repeatable)"))
    assert.truthy(find(h, "-h, --help"))
  end)

  it("raises a programming error (not an exit object) for a bad spec", function()
    local ok, e = pcall(cli.parse, { options = { { name = "x", type = "complex" } } }, {})
    assert.is_false(ok)
    assert.is_false(cli.is_exit(e))
    assert.truthy(find(e, "option 'x': unknown type 'complex'"))
  end)

  it("write_atomic leaves either the old file or the complete new one", function()
    local d = tmpdir()
    assert.is_true(cli.write_atomic(d .. "/f.txt", "one"))
    assert.equal("one", slurp(d .. "/f.txt"))
    assert.is_true(cli.write_atomic(d .. "/f.txt", "two"))
    assert.equal("two", slurp(d .. "/f.txt"))
    local ok, err = cli.write_atomic(d .. "/no/such/dir/f.txt", "x")
    assert.is_nil(ok)
    assert.truthy(err)
    assert.equal("f.txt\n", io.popen("ls " .. q(d)):read("*a"))
  end)
end)

describe("plugins (strata.plugin)", function()
  local plugin = require "strata.plugin"

  local function good(kind, name)
    local t = { strata_plugin = 1, kind = kind, name = name or "p", summary = "s" }
    if kind == "descriptor" then t.compute = function() end else t.run = function() end end
    return t
  end

  it("accepts each kind with its required fields", function()
    for _, k in ipairs({ "recipe", "analysis", "descriptor" }) do
      assert.is_true(plugin.validate(good(k), "dir/p.lua"))
    end
  end)

  it("rejects bad declarations with messages naming the file and the field", function()
    local function msg(t, file, opts)
      local ok, m = plugin.validate(t, file or "dir/p.lua", opts)
      assert.is_nil(ok)
      return m
    end
    local t = good("recipe"); t.strata_plugin = nil
    assert.equal("dir/p.lua: missing field 'strata_plugin' (set strata_plugin = 1)", msg(t))
    t = good("recipe"); t.strata_plugin = 2
    assert.equal("dir/p.lua: field 'strata_plugin': plugin API version 2 is not supported " ..
                 "(this Strata supports 1)", msg(t))
    t = good("recipe"); t.kind = nil
    assert.equal("dir/p.lua: missing field 'kind' (one of recipe, analysis, descriptor)", msg(t))
    t = good("recipe"); t.kind = "widget"
    assert.equal("dir/p.lua: field 'kind': expected one of recipe, analysis, descriptor, " ..
                 "got 'widget'", msg(t))
    t = good("recipe", "q")
    assert.truthy(find(msg(t), "dir/p.lua: field 'name' is 'q' but the file is named p.lua"))
    t = good("recipe"); t.name = "a b"
    assert.truthy(find(msg(t), "dir/p.lua: field 'name': expected a name"))
    t = good("recipe"); t.run = nil
    assert.equal("dir/p.lua: recipe plugin: missing field 'run' (a function)", msg(t))
    t = good("descriptor"); t.compute = 3
    assert.equal("dir/p.lua: field 'compute': expected a function, got a number", msg(t))
    t = good("analysis"); t.summary = nil
    assert.equal("dir/p.lua: analysis plugin: missing field 'summary' (a string)", msg(t))
    t = good("recipe"); t.usage = {}
    assert.equal("dir/p.lua: field 'usage': expected a string, got a table", msg(t))
    assert.equal("dir/p.lua: must return a table (the plugin declaration), got nil", msg(nil))
    assert.equal("dir/p.lua: is an analysis plugin, not a recipe",
                 msg(good("analysis"), nil, { kind = "recipe" }))
  end)

  it("lets built-in recipes omit the declaration", function()
    local t = good("recipe"); t.strata_plugin, t.kind = nil, nil
    assert.is_true(plugin.validate(t, "recipes/p.lua", { builtin = true }))
  end)

  it("loadfile reports syntax and runtime errors in the plugin file", function()
    local d = tmpdir()
    spit(d .. "/syn.lua", "return {\n  kind = 'recipe'\n  name = 'syn' }")
    local ok, m = plugin.loadfile(d .. "/syn.lua")
    assert.is_nil(ok)
    assert.truthy(find(m, d .. "/syn.lua:3:"), m)
    spit(d .. "/rt.lua", "local x = nil\nreturn x.y")
    ok, m = plugin.loadfile(d .. "/rt.lua")
    assert.is_nil(ok)
    assert.truthy(find(m, d .. "/rt.lua: error while loading: " .. d .. "/rt.lua:2:"), m)
  end)

  it("strata.plugins.list and .load work over STRATA_PLUGIN_PATH, earlier directories first", function()
    local d1, d2 = tmpdir(), tmpdir()
    spit(d1 .. "/desc.lua", "return { strata_plugin = 1, kind = 'descriptor', name = 'desc', " ..
                            "summary = 'first', compute = function() return 1 end }")
    spit(d2 .. "/desc.lua", "return { strata_plugin = 1, kind = 'descriptor', name = 'desc', " ..
                            "summary = 'hidden', compute = function() return 2 end }")
    spit(d2 .. "/ana.lua", "return { strata_plugin = 1, kind = 'analysis', name = 'ana', " ..
                           "summary = 'an analysis', run = function(f) return #f end }")
    spit(d2 .. "/bad.lua", "return { strata_plugin = 1, kind = 'analysis', name = 'bad' }")
    local prog = [[
      local P = strata.plugins
      for _, p in ipairs(P.list()) do print(p.name, p.kind or '-', p.summary or p.error) end
      print(#P.list('analysis'))
      local d = assert(P.load('desc')); print('load', d.kind, d.compute())
      print('run', P.load('ana').run({1, 2, 3}))
      print(P.load('nope'))
      print(P.load('ana', 'descriptor'))
    ]]
    local out, err, code = strata("-e " .. q(prog), nil,
                                  "STRATA_PLUGIN_PATH=" .. q(d1 .. ":" .. d2))
    assert.equal(0, code, err)
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal("ana\tanalysis\tan analysis", lines[1])
    assert.equal("bad\t-\t" .. d2 .. "/bad.lua: analysis plugin: missing field 'run' (a function)",
                 lines[2])
    assert.equal("desc\tdescriptor\tfirst", lines[3])
    assert.equal("1", lines[4])
    assert.equal("load\tdescriptor\t1", lines[5])
    assert.equal("run\t3", lines[6])
    assert.truthy(lines[7]:match("^nil\tplugin 'nope' not found in " .. d1:gsub("%p", "%%%0")))
    assert.equal("nil\t" .. d2 .. "/ana.lua: is an analysis plugin, not a descriptor", lines[8])
  end)

  it("examples/plugin_hello.lua runs as a plugin recipe and as a script", function()
    local d = tmpdir()
    assert(os.execute("cp examples/plugin_hello.lua " .. q(d)))
    local out, err, code = strata("plugin_hello --times 2 Ada", nil, "STRATA_PLUGIN_PATH=" .. q(d))
    assert.equal(0, code, err)
    assert.equal("[1] Hello from a plugin, Ada!\n[2] Hello from a plugin, Ada!\n", out)
    out, _, code = strata("examples/plugin_hello.lua Bo")
    assert.equal(0, code)
    assert.equal("[1] Hello from a plugin, Bo!\n", out)
    out, _, code = strata("plugin_hello --help", nil, "STRATA_PLUGIN_PATH=" .. q(d))
    assert.equal(0, code)
    assert.truthy(find(out, "-t, --times N"))
  end)
end)

describe("the C extension example (examples/cext)", function()
  local lib = BUILD .. "/libstrata.so"
  local built
  setup(function()
    if not slurp(lib) then return end
    built = tmpdir()
    local _, err, code = sh("make -s -C examples/cext B=" .. q(BUILD) .. " OUT=" .. q(built))
    assert.equal(0, code, err)
  end)

  it("loads in bin/strata, checks the ABI and sees the host's interrupt flag", function()
    if not built then return pending("no " .. lib .. " (run make, or set STRATA_BUILD)") end
    local out, err, code = strata("-e " .. q([[
      package.cpath = ']] .. built .. [[/?.so;' .. package.cpath
      local m = require 'hello_cext'
      print(m.version())
      print(m.spin(1000))
      strata.core.interrupt()   -- as the SIGINT handler would
      print(pcall(m.spin, 1e12))
    ]]))
    assert.equal(0, code, err)
    local v, abi = out:match("^(%S+)\t(%d+)\n")
    assert.truthy(v and v:match("^%d+%.%d+%.%d+$"), out)
    assert.equal("1", abi)
    assert.truthy(find(out, "\n500500.0\n"))
    assert.truthy(find(out, "false\thello_cext.spin: interrupted"))
  end)

  it("refuses to load when built for another ABI", function()
    if not built then return pending("no " .. lib .. " (run make, or set STRATA_BUILD)") end
    local bad = tmpdir()
    local _, err, code = sh("make -s -C examples/cext B=" .. q(BUILD) .. " OUT=" .. q(bad) ..
                            " EXTRA=-DHELLO_CEXT_ABI=999")
    assert.equal(0, code, err)
    local _, err2, code2 = strata("-e " .. q("package.cpath = '" .. bad .. "/?.so;' .. package.cpath; require 'hello_cext'"))
    assert.equal(1, code2)
    assert.truthy(find(err2, "hello_cext: built for Strata ABI 999 but this Strata has ABI 1"))
  end)

  it("is stopped by Ctrl-C in the host (exit 130, the kernel's own message)", function()
    if not built then return pending("no " .. lib .. " (run make, or set STRATA_BUILD)") end
    local d = tmpdir()
    spit(d .. "/spin.lua", "package.cpath = '" .. built .. "/?.so;' .. package.cpath\n" ..
      "local m = require 'hello_cext'\nprint('spinning') io.stdout:flush()\nm.spin(1e15)\n")
    local out, err = sh(BIN .. " " .. q(d .. "/spin.lua") .. " >" .. q(d .. "/out") .. " & pid=$!; " ..
      "for i in $(seq 100); do grep -q spinning " .. q(d .. "/out") .. " && break; sleep 0.1; done; " ..
      "kill -INT $pid; wait $pid; echo status=$?")
    assert.truthy(find(out, "status=130"), out .. err)
    assert.truthy(find(err, "hello_cext.spin: interrupted"), err)
  end)
end)

describe("the REPL", function()
  it("prints expressions without return, continues multi-line chunks and keeps state", function()
    local input = table.concat({
      "x = 41",
      "x + 1",
      "for i = 1, 2 do",
      "  print('i=' .. i)",
      "end",
      "{1,",
      " 2, k = 'v'}",
      "=x",
      "'a', nil, 3",
      "",
    }, "\n")
    local out, err, code = strata("-i", input)
    assert.equal(0, code, err)
    assert.truthy(out:match("^Strata "))
    assert.truthy(find(out, "> 42\n"))
    assert.truthy(find(out, ">> >> i=1\ni=2\n"))
    assert.truthy(find(out, '>> { 1, 2, k = "v" }\n'))
    assert.truthy(find(out, "> 41\n"))
    assert.truthy(find(out, '> "a"\tnil\t3\n'))
  end)

  it("starts with STRATA_REPL=1 and no arguments, and runs -i after a script", function()
    local out, _, code = strata("", "1 + 1\n", "STRATA_REPL=1")
    assert.equal(0, code)
    assert.truthy(find(out, "> 2\n"))
    local d = tmpdir()
    spit(d .. "/s.lua", "from_script = 'yes'")
    out, _, code = strata("-i " .. q(d .. "/s.lua"), "from_script\n")
    assert.equal(0, code)
    assert.truthy(find(out, '> "yes"\n'))
  end)

  it("reports syntax and runtime errors with stdin:line and carries on", function()
    local out, err, code = strata("-i", "x = = 1\nlocal function f() error('bad') end f()\ny = 5\ny\n")
    assert.equal(0, code)
    assert.truthy(find(err, "stdin:1: unexpected symbol near '='"))
    assert.truthy(find(err, "stdin:1: bad"))
    assert.truthy(find(err, "stack traceback:"))
    assert.falsy(find(err, "repl.lua"))  -- only the user's frames
    assert.truthy(find(out, "> 5\n"))
  end)

  it("pretty-prints nested tables and objects with __tostring", function()
    local out = strata("-i", "{a = {b = {c = {d = 1}}}, s = 'q'}\n" ..
                             "setmetatable({}, {__tostring = function() return '<thing>' end})\n")
    assert.truthy(find(out, '{ a = { b = { c = {...1 item} } }, s = "q" }'))
    assert.truthy(find(out, "> <thing>\n"))
  end)

  it("help() explains the REPL, help(f) prints docs, help('recipe') prints its usage", function()
    local out = strata("-i", "help()\nhelp(strata.plugins.load)\nhelp('hello')\n" ..
      "help(setmetatable({}, {__doc = 'doc via metatable'}))\nhelp('strata.plugins.list')\n" ..
      "help(42)\n")
    assert.truthy(find(out, "Strata REPL"))
    assert.truthy(find(out, "strata.plugins.load(name [, kind])"))
    assert.truthy(find(out, "usage: strata hello [options] [NAME]"))
    assert.truthy(find(out, "doc via metatable"))
    assert.truthy(find(out, "strata.plugins.list([kind])"))
    assert.truthy(find(out, "no documentation for 42"))
  end)

  it("Ctrl-C during a long pure-Lua loop returns to the prompt with variables intact", function()
    local d = tmpdir()
    local feed = table.concat({
      "printf 'keep = 1234\\nprint(\"looping\") io.stdout:flush() while true do end\\n'",
      "for i in $(seq 100); do grep -q looping " .. q(d .. "/out") .. " && break; sleep 0.1; done",
      "sleep 0.2",
      "kill -INT $(cat " .. q(d .. "/pid") .. ")",
      "sleep 0.3",
      "printf 'print(\"after\", keep)\\n'",
    }, "; ")
    local out, _, code = sh("{ " .. feed .. "; } | sh -c " ..
      q("echo $$ > " .. q(d .. "/pid") .. "; exec " .. BIN .. " -i") ..
      " >" .. q(d .. "/out") .. " 2>" .. q(d .. "/err") .. "; echo status=$?")
    local rout, rerr = slurp(d .. "/out"), slurp(d .. "/err")
    assert.truthy(find(out, "status=0"), out .. rout .. rerr)
    assert.truthy(find(rerr, "interrupted!"), rerr)
    assert.truthy(find(rout, "after\t1234\n"), rout)
  end)

  describe("on a terminal (pseudo-terminal via script(1))", function()
    local has_script = have("script")
    -- Type `keys` (a list of strings, sent with pauses) into bin/strata on a pty; an entry
    -- {wait = "text"} pauses until the transcript shows `text`.  Returns the transcript with \r
    -- removed, and the history file.
    local function session(keys)
      local d = tmpdir()
      local parts = { "sleep 0.6" }
      for _, k in ipairs(keys) do
        if type(k) == "table" then
          parts[#parts + 1] = "for i in $(seq 150); do grep -q " .. q(k.wait) .. " " ..
                              q(d .. "/out") .. " && break; sleep 0.1; done; sleep 0.3"
        else
          parts[#parts + 1] = "printf '%s' " .. q(k) .. "; sleep 0.4"
        end
      end
      parts[#parts + 1] = "sleep 0.5"
      sh("{ " .. table.concat(parts, "; ") .. "; } | STRATA_HISTORY=" .. q(d .. "/hist") ..
         " HOME=" .. q(tmproot) .. " timeout 60 script -qfec " .. q(BIN) .. " /dev/null >" ..
         q(d .. "/out"))
      return (slurp(d .. "/out") or ""):gsub("\r", ""), slurp(d .. "/hist") or ""
    end

    it("edits lines, completes fields with TAB, keeps history, survives Ctrl-C", function()
      if not has_script then return pending("script(1) not installed (util-linux)") end
      local out, hist = session({
        "y = 7\r", "y * 6\r",
        "string.fo\t", "('%d', 5)\r",          -- completion: string.fo -> string.format
        "half typed\003",                      -- Ctrl-C at the prompt drops the line
        "print('loo' .. 'ping') while true do end\r", { wait = "looping" }, "\003",  -- stops the loop
        "print('y is', y)\r",
        "\004",                                -- Ctrl-D leaves
      })
      assert.truthy(find(out, "Type help() for help"), out)
      assert.truthy(find(out, "\n42\n"), out)
      assert.truthy(find(out, 'rmat(\'%d\', 5)\n"5"\n'), out)
      assert.truthy(find(out, "interrupted!"), out)
      assert.truthy(find(out, "y is\t7"), out)
      assert.falsy(find(out, "half typed"))  -- never echoed as a command result
      assert.truthy(find(hist, "y\\040*\\0406") or find(hist, "y * 6"), hist)
      assert.truthy(find(hist, "string.format("), hist)
      assert.falsy(find(hist, "half"), hist)
    end)
  end)
end)

describe("REPL internals", function()
  local repl = require "strata.repl"
  local pretty = require "strata.pretty"

  it("compile() tells expressions, statements, unfinished chunks and errors apart", function()
    local f = assert(repl.compile("1 + 1"))
    assert.equal(2, f())
    assert.truthy(repl.compile("x_unused_ = 1"))
    local _, why = repl.compile("for i = 1, 2 do")
    assert.equal("incomplete", why)
    _, why = repl.compile("{1,")
    assert.equal("incomplete", why)
    _, why = repl.compile("s = [[long")
    assert.equal("incomplete", why)
    local g, err = repl.compile("x = = 1")
    assert.is_nil(g)
    assert.truthy(find(err, "stdin:1:"))
  end)

  it("complete() offers globals, keywords, dotted fields and methods only after ':'", function()
    rawset(_G, "zz_obj", setmetatable({ field = 1 }, { __index = { meth = function() end,
                                                                    mconst = 3 } }))
    rawset(_G, "zz_str", "text")
    assert.same({ "print" }, repl.complete("prin"))
    assert.same({ "return" }, repl.complete("retu"))
    assert.same({ "rawequal", "rawget", "rawlen", "rawset" }, repl.complete("raw"))
    assert.same({ "string.format" }, repl.complete("string.form"))
    assert.same({ "zz_obj.field", "zz_obj.mconst", "zz_obj.meth" }, repl.complete("zz_obj."))
    assert.same({ "zz_obj:meth" }, repl.complete("zz_obj:m"))
    assert.same({ "zz_str:upper" }, repl.complete("zz_str:up"))
    assert.same({ "(zz_obj" }, repl.complete("(zz_o"))
    assert.same({}, repl.complete("no_such_table.x"))
    rawset(_G, "zz_obj", nil)
    rawset(_G, "zz_str", nil)
  end)

  it("pretty.format shows tables as constructors, cuts long and deep ones, and marks cycles", function()
    assert.equal('{ 1, 2, "three", k = true, ["not id"] = 1.5 }',
                 pretty.format({ 1, 2, "three", k = true, ["not id"] = 1.5 }))
    local t = {}
    for i = 1, 30 do t[i] = i end
    local s = pretty.format(t, { items = 5 })
    assert.equal("{ 1, 2, 3, 4, 5, ...(25 more) }", s)
    local deep = { a = { b = { c = { d = {} } } } }
    assert.equal("{ a = { b = { c = {...1 item} } } }", pretty.format(deep))
    local cyc = { name = "c" }
    cyc.self = cyc
    assert.equal('{ name = "c", self = <cycle> }', pretty.format(cyc))
    assert.equal('"a\\nb\\"c\\\\"', pretty.format('a\nb"c\\'))
    assert.equal('{ "xxxxx"...(5 more bytes) }', pretty.format({ ("x"):rep(10) }, { strlen = 5 }))
    local long = {}
    for i = 1, 12 do long["key" .. i] = ("v"):rep(10) end
    local ml = pretty.format(long)
    assert.truthy(ml:match("^{\n  key1 = \"vvvvvvvvvv\",\n  key10 = "), ml)
    assert.truthy(ml:match("\n}$"))
  end)

  it("pretty.format prefers __pretty, then __tostring, and survives failing metamethods", function()
    local both = setmetatable({}, { __pretty = function() return "P" end,
                                    __tostring = function() return "T" end })
    assert.equal("P", pretty.format(both))
    assert.equal("T", pretty.format(setmetatable({}, { __tostring = function() return "T" end })))
    local broken = setmetatable({ 1 }, { __pretty = function() error("no") end })
    assert.equal("{ 1 }", pretty.format(broken))
    assert.truthy(pretty.format(print):match("^builtin") or pretty.format(print):match("^function"))
    assert.truthy(pretty.format(function() end):match("^function <.*host_spec%.lua:%d+>$"))
  end)
end)
