-- Redis's cjson library (lua-cjson 2.1 with Redis's defaults), in Lua.
-- encode and decode return the result, or nil and lua-cjson's error
-- message; C trampolines raise that message at the script's line, as
-- lua-cjson's luaL_error does.
local null = ...
local format, byte, char, sub, gsub, find, concat = string.format, string.byte, string.char, string.sub, string.gsub, string.find, table.concat
local floor, huge = math.floor, math.huge
local pcall, error, type, select, tonumber, pairs, unpack = pcall, error, type, select, tonumber, pairs, unpack

local escapes = {}
for i = 0, 31 do
  escapes[char(i)] = format("\\u%04x", i)
end
escapes["\b"], escapes["\f"], escapes["\n"], escapes["\r"], escapes["\t"] = "\\b", "\\f", "\\n", "\\r", "\\t"
escapes['"'], escapes["\\"], escapes["/"], escapes["\127"] = '\\"', "\\\\", "\\/", "\\u007f"

local Fail = {}

local function fail(msg)
  error({msg = msg, [Fail] = true}, 0)
end

local function number(n)
  if n ~= n or n == huge or n == -huge then
    fail("Cannot serialise number: must not be NaN or Inf")
  end
  return format("%.14g", n)
end

local function string_json(s)
  return '"' .. (gsub(s, '[%c"\\/]', escapes)) .. '"'
end

-- lua-cjson's lua_array_length: the array's length, or -1 for an object.
local function array_length(t)
  local max, items = 0, 0
  for k in pairs(t) do
    if type(k) == "number" and k > 0 and floor(k) == k then
      if k > max then max = k end
      items = items + 1
    else
      return -1
    end
  end
  if max > items * 2 and max > 10 then
    fail("Cannot serialise table: excessively sparse array")
  end
  return max
end

local encode_value

local function encode_table(t, depth, out)
  if depth > 1000 then
    fail(format("Cannot serialise, excessive nesting (%d)", depth))
  end
  local len = array_length(t)
  if len > 0 then
    out[#out + 1] = "["
    for i = 1, len do
      if i > 1 then out[#out + 1] = "," end
      encode_value(t[i], depth, out)
    end
    out[#out + 1] = "]"
    return
  end
  out[#out + 1] = "{"
  local first = true
  for k, v in pairs(t) do
    if not first then out[#out + 1] = "," end
    first = false
    local kt = type(k)
    if kt == "string" then
      out[#out + 1] = string_json(k)
    elseif kt == "number" then
      out[#out + 1] = '"' .. number(k) .. '"'
    else
      fail("Cannot serialise table: table key must be a number or string")
    end
    out[#out + 1] = ":"
    encode_value(v, depth, out)
  end
  out[#out + 1] = "}"
end

encode_value = function(v, depth, out)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = string_json(v)
  elseif t == "number" then
    out[#out + 1] = number(v)
  elseif t == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif t == "nil" or v == null then
    out[#out + 1] = "null"
  elseif t == "table" then
    encode_table(v, depth + 1, out)
  else
    fail("Cannot serialise " .. t .. ": type not supported")
  end
end

-- Runs f; a lua-cjson failure comes back as (nil, message).
local function protect(f, ...)
  local results = {pcall(f, ...)}
  if results[1] then
    return unpack(results, 2)
  end
  local err = results[2]
  if type(err) == "table" and err[Fail] then return nil, err.msg end
  error(err, 0)
end

local function encode(...)
  if select("#", ...) ~= 1 then
    return nil, "bad argument #1 to 'encode' (expected 1 argument)"
  end
  local out = {}
  local _, err = protect(encode_value, (...), 0, out)
  if err then return nil, err end
  return concat(out)
end

-- Decoding: a tokenizer and a recursive parser with lua-cjson's messages.
local function token_at(s, i)
  local _, e = find(s, "^[ \t\n\r]*", i)
  i = e + 1
  local c = sub(s, i, i)
  if c == "" then return "T_END", nil, i end
  if c == "{" then return "T_OBJ_BEGIN", nil, i end
  if c == "}" then return "T_OBJ_END", nil, i end
  if c == "[" then return "T_ARR_BEGIN", nil, i end
  if c == "]" then return "T_ARR_END", nil, i end
  if c == ":" then return "T_COLON", nil, i end
  if c == "," then return "T_COMMA", nil, i end
  if c == '"' then return "T_STRING", nil, i end
  if find(c, "[-0-9]") then return "T_NUMBER", nil, i end
  if sub(s, i, i + 3) == "true" then return "T_BOOLEAN", true, i end
  if sub(s, i, i + 4) == "false" then return "T_BOOLEAN", false, i end
  if sub(s, i, i + 3) == "null" then return "T_NULL", nil, i end
  return "T_ERROR", "invalid token", i
end

local function expected(what, kind, found, i)
  if kind == "T_ERROR" then
    fail(format("Expected %s but found %s at character %d", what, found, i))
  end
  fail(format("Expected %s but found %s at character %d", what, kind, i))
end

local function utf8(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xc0 + floor(cp / 0x40), 0x80 + cp % 0x40) end
  if cp < 0x10000 then
    return char(0xe0 + floor(cp / 0x1000), 0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
  end
  return char(0xf0 + floor(cp / 0x40000), 0x80 + floor(cp / 0x1000) % 0x40, 0x80 + floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local simple_escapes = {['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t"}

local function read_string(s, i)
  local parts, j = {}, i + 1
  while true do
    local c = sub(s, j, j)
    if c == "" then fail(format("Expected value but found unexpected end of string at character %d", i)) end
    if c == '"' then return concat(parts), j + 1 end
    if c == "\\" then
      local e = sub(s, j + 1, j + 1)
      if simple_escapes[e] then
        parts[#parts + 1] = simple_escapes[e]
        j = j + 2
      elseif e == "u" then
        local cp = tonumber(sub(s, j + 2, j + 5), 16)
        if not cp or #sub(s, j + 2, j + 5) ~= 4 then fail(format("Expected value but found invalid unicode escape code at character %d", i)) end
        j = j + 6
        if cp >= 0xd800 and cp <= 0xdbff and sub(s, j, j + 1) == "\\u" then
          local low = tonumber(sub(s, j + 2, j + 5), 16)
          if low and low >= 0xdc00 and low <= 0xdfff then
            cp = 0x10000 + (cp - 0xd800) * 0x400 + (low - 0xdc00)
            j = j + 6
          end
        end
        parts[#parts + 1] = utf8(cp)
      else
        fail(format("Expected value but found invalid escape code at character %d", i))
      end
    else
      local k = find(s, '["\\]', j)
      if not k then fail(format("Expected value but found unexpected end of string at character %d", i)) end
      parts[#parts + 1] = sub(s, j, k - 1)
      j = k
    end
  end
end

local parse_value

local function parse_object(s, i, depth)
  local t = {}
  local kind, v, at = token_at(s, i + 1)
  if kind == "T_OBJ_END" then return t, at + 1 end
  while true do
    if kind ~= "T_STRING" then expected("object key string", kind, v, at) end
    local key
    key, i = read_string(s, at)
    kind, v, at = token_at(s, i)
    if kind ~= "T_COLON" then expected("colon", kind, v, at) end
    t[key], i = parse_value(s, at + 1, depth)
    kind, v, at = token_at(s, i)
    if kind == "T_OBJ_END" then return t, at + 1 end
    if kind ~= "T_COMMA" then expected("comma or object end", kind, v, at) end
    kind, v, at = token_at(s, at + 1)
  end
end

local function parse_array(s, i, depth)
  local t, n = {}, 0
  local kind, v, at = token_at(s, i + 1)
  if kind == "T_ARR_END" then return t, at + 1 end
  i = i + 1
  while true do
    n = n + 1
    t[n], i = parse_value(s, i, depth)
    kind, v, at = token_at(s, i)
    if kind == "T_ARR_END" then return t, at + 1 end
    if kind ~= "T_COMMA" then expected("comma or array end", kind, v, at) end
    i = at + 1
  end
end

parse_value = function(s, i, depth)
  local kind, v, at = token_at(s, i)
  if kind == "T_STRING" then return read_string(s, at) end
  if kind == "T_NUMBER" then
    local _, e = find(s, "^-?[%w%.+-]+", at)
    local n = tonumber(sub(s, at, e))
    if not n then fail(format("Expected value but found invalid number at character %d", at)) end
    return n, e + 1
  end
  if kind == "T_BOOLEAN" then return v, at + (v and 4 or 5) end
  if kind == "T_NULL" then return null, at + 4 end
  if kind == "T_OBJ_BEGIN" or kind == "T_ARR_BEGIN" then
    depth = depth + 1
    if depth > 1000 then fail(format("Found too many nested data structures (%d) at character %d", depth, at)) end
    if kind == "T_OBJ_BEGIN" then return parse_object(s, at, depth) end
    return parse_array(s, at, depth)
  end
  expected("value", kind, v, at)
end

local function decode(...)
  if select("#", ...) ~= 1 then
    return nil, "bad argument #1 to 'decode' (expected 1 argument)"
  end
  local s = ...
  if type(s) ~= "string" then
    return nil, "bad argument #1 to 'decode' (string expected, got " .. type(s) .. ")"
  end
  local v, i = protect(parse_value, s, 1, 0)
  if v == nil then return nil, i end
  local kind, found, at = token_at(s, i)
  if kind ~= "T_END" then
    return protect(expected, "the end", kind, found, at)
  end
  return v
end

return encode, decode
