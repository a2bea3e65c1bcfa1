-- Builds the environment scripts run in, as Redis 7.0 sets it up: its
-- globals and libraries, all read-only ("Attempt to modify a readonly
-- table"), reading an undeclared global is an error, and every error is
-- turned into a table {err=, source=, line=} by the message handler.
local call, pcall_redis, acl_check_cmd, raw_sha1hex, raw_log, raw_setresp, raw_set_repl, version, version_num, libs, register_function = ...
local cjson, bit, cmsgpack, struct = libs[1], libs[2], libs[3], libs[4]
local dbg = debug
local G = {}
for _, name in ipairs({"assert", "collectgarbage", "coroutine", "error", "gcinfo", "getmetatable", "ipairs", "load",
                       "loadstring", "next", "pairs", "pcall", "rawequal", "rawget", "rawset", "select", "setmetatable",
                       "tonumber", "tostring", "type", "unpack", "xpcall", "_VERSION"}) do
  G[name] = _G[name]
end

local function readonly_error()
  error("Attempt to modify a readonly table", 2)
end

local function readonly(t)
  return setmetatable({}, {__index = t, __newindex = readonly_error})
end

local redis = {
  call = call,
  pcall = pcall_redis,
  sha1hex = raw_sha1hex,
  log = raw_log,
  setresp = raw_setresp,
  set_repl = raw_set_repl,
  error_reply = function(msg)
    if type(msg) ~= "string" then
      error("wrong number or type of arguments", 2)
    end
    if string.sub(msg, 1, 1) == "-" then
      msg = string.sub(msg, 2)
    end
    return {err = msg}
  end,
  status_reply = function(msg)
    if type(msg) ~= "string" then
      error("wrong number or type of arguments", 2)
    end
    return {ok = msg}
  end,
  acl_check_cmd = acl_check_cmd,
  replicate_commands = function() return true end,
  breakpoint = function() return false end,
  debug = function() end,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
  REDIS_VERSION = version,
  REDIS_VERSION_NUM = version_num,
}

G.redis = readonly(redis)
G.cjson = readonly(cjson)
G.bit = readonly(bit)
G.cmsgpack = readonly(cmsgpack)
G.struct = readonly(struct)
G.string = readonly(string)
G.table = readonly(table)
G.math = readonly(math)

-- Reading a global that does not exist is an error.
local function missing(_, name)
  error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
end

-- What a library's code sees while FUNCTION LOAD runs it: only `redis`,
-- with register_function, log and the version; anything else is a
-- nonexistent global (fields of `redis` included, as Redis words it).
local load_redis = setmetatable({
  register_function = register_function,
  log = raw_log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = version,
  REDIS_VERSION_NUM = version_num,
}, {__index = missing})
local LOADING = setmetatable({redis = readonly(load_redis)}, {__index = missing})
setmetatable(G, {__index = missing})

-- The globals scripts see: an empty table whose reads fall through to G
-- (or LOADING) as table lookups, with no Lua call for a global that
-- exists, and whose writes all fail. Its metatable is hidden, so G stays
-- out of reach.
local hidden = {}
local in_scripts = {__index = G, __newindex = readonly_error, __metatable = hidden}
local in_loading = {__index = LOADING, __newindex = readonly_error, __metatable = hidden}
local env = {}
dbg.setmetatable(env, in_scripts)
G._G = env

-- Redis's __redis__err__handler: the error as a table, with where in the
-- script it happened (frames of C functions and of this prelude skipped).
local function handler(err)
  local level = 2
  local info = dbg.getinfo(level, "nSl")
  while info and (info.what == "C" or info.source == "=ferrokv") do
    level = level + 1
    info = dbg.getinfo(level, "nSl")
  end
  if type(err) ~= "table" then
    err = {err = "ERR " .. tostring(err)}
  end
  if info then
    err.source = info.source
    err.line = info.currentline
  end
  return err
end
G.__redis__err__handler = handler

-- A function is called with KEYS and ARGV as its arguments; Lua 5.1's
-- xpcall passes none, so they reach it through these upvalues (one closure
-- made here, not one per call).
local fn_f, fn_keys, fn_argv
local function call_function()
  local f, keys, argv = fn_f, fn_keys, fn_argv
  fn_f, fn_keys, fn_argv = nil, nil, nil
  return f(keys, argv)
end

-- Runs `f` (a script, KEYS and ARGV as globals; or a function, given them
-- as its arguments), turning any error into a table with its line.
local function run(f, keys, argv, as_function)
  if as_function then
    fn_f, fn_keys, fn_argv = f, keys, argv
    return xpcall(call_function, handler)
  end
  G.KEYS = keys
  G.ARGV = argv
  return xpcall(f, handler)
end

-- A library's code, run once by FUNCTION LOAD.
local function run_library(f)
  return xpcall(f, handler)
end

local function set_loading(on)
  dbg.setmetatable(env, on and in_loading or in_scripts)
end

return run, env, run_library, set_loading
