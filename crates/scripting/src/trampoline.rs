//! Lua functions that must be C functions, as Redis's are, and call Rust
//! (or Lua) code registered under a key.
//!
//! Why C: `return redis.call(...)` calling a Lua function would be a Lua
//! tail call, which replaces the script's frame, and the error would no
//! longer say which line of the script failed; and an error a Rust
//! callback returns reaches Lua as mlua's userdata, not the error table or
//! the `user_script:1: ...` message Redis raises. Each C function calls
//! the registered implementation, which returns (value, failure), and
//! raises the failure itself.

use std::ffi::{c_int, CStr};

use mlua::ffi;

/// redis.acl_check_cmd's implementation while a script runs.
pub const ACL_CHECK: &CStr = c"ferrokv_acl_check";
/// redis.register_function's implementation (FUNCTION's VM only).
pub const REGISTER_FUNCTION: &CStr = c"ferrokv_register_function";
pub const SETRESP: &CStr = c"ferrokv_setresp";
pub const SET_REPL: &CStr = c"ferrokv_set_repl";
pub const CMSGPACK_PACK: &CStr = c"ferrokv_cmsgpack_pack";
pub const LOG: &CStr = c"ferrokv_log";
pub const BIT_TOBIT: &CStr = c"ferrokv_bit_tobit";
pub const BIT_BNOT: &CStr = c"ferrokv_bit_bnot";
pub const BIT_BAND: &CStr = c"ferrokv_bit_band";
pub const BIT_BOR: &CStr = c"ferrokv_bit_bor";
pub const BIT_BXOR: &CStr = c"ferrokv_bit_bxor";
pub const BIT_LSHIFT: &CStr = c"ferrokv_bit_lshift";
pub const BIT_RSHIFT: &CStr = c"ferrokv_bit_rshift";
pub const BIT_ARSHIFT: &CStr = c"ferrokv_bit_arshift";
pub const BIT_ROL: &CStr = c"ferrokv_bit_rol";
pub const BIT_ROR: &CStr = c"ferrokv_bit_ror";
pub const BIT_BSWAP: &CStr = c"ferrokv_bit_bswap";
pub const BIT_TOHEX: &CStr = c"ferrokv_bit_tohex";
pub const STRUCT_PACK: &CStr = c"ferrokv_struct_pack";
pub const STRUCT_UNPACK: &CStr = c"ferrokv_struct_unpack";
pub const STRUCT_SIZE: &CStr = c"ferrokv_struct_size";
pub const CJSON_ENCODE: &CStr = c"ferrokv_cjson_encode";
pub const CJSON_DECODE: &CStr = c"ferrokv_cjson_decode";

/// A registry key as mlua names it.
pub fn key(k: &'static CStr) -> &'static str {
    k.to_str().expect("registry keys are ASCII")
}

/// Calls the function registered under `key` with this C function's
/// arguments; its two results are left at stack slots 1 and 2.
unsafe fn call_registered(state: *mut ffi::lua_State, key: &CStr) {
    // These use their first arguments only; the rest would each become an
    // mlua reference (see `raise_or_return`).
    let nargs = ffi::lua_gettop(state).min(MAX_ARGS);
    ffi::lua_settop(state, nargs);
    ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, key.as_ptr());
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, nargs, 2);
}

/// Returns slot 1, or raises `error` (left on top of the stack) when slot
/// 2 says the call failed.
unsafe fn finish(state: *mut ffi::lua_State, failed: bool, raise: impl FnOnce(*mut ffi::lua_State)) -> c_int {
    if failed {
        raise(state);
        ffi::lua_error(state)
    } else {
        ffi::lua_settop(state, 1);
        1
    }
}

/// (value, error table or nil): the table is raised as is.
unsafe fn raise_table(state: *mut ffi::lua_State, key: &CStr) -> c_int {
    call_registered(state, key);
    finish(state, ffi::lua_isnil(state, 2) == 0, |s| ffi::lua_pushvalue(s, 2))
}

/// (value, message or nil): the message is raised at the caller's line
/// ("user_script:1: ..."), as a C library's luaL_error does.
unsafe fn raise_message(state: *mut ffi::lua_State, key: &CStr) -> c_int {
    call_registered(state, key);
    finish(state, ffi::lua_isnil(state, 2) == 0, |s| {
        ffi::luaL_where(s, 1);
        ffi::lua_pushvalue(s, 2);
        ffi::lua_concat(s, 2);
    })
}

pub unsafe extern "C-unwind" fn call(state: *mut ffi::lua_State) -> c_int {
    crate::call::redis_call(state, false)
}

pub unsafe extern "C-unwind" fn pcall(state: *mut ffi::lua_State) -> c_int {
    crate::call::redis_call(state, true)
}

pub unsafe extern "C-unwind" fn acl_check(state: *mut ffi::lua_State) -> c_int {
    raise_table(state, ACL_CHECK)
}

pub unsafe extern "C-unwind" fn register_function(state: *mut ffi::lua_State) -> c_int {
    raise_table(state, REGISTER_FUNCTION)
}

pub unsafe extern "C-unwind" fn redis_log(state: *mut ffi::lua_State) -> c_int {
    raise_table(state, LOG)
}

pub unsafe extern "C-unwind" fn setresp(state: *mut ffi::lua_State) -> c_int {
    raise_table(state, SETRESP)
}

pub unsafe extern "C-unwind" fn set_repl(state: *mut ffi::lua_State) -> c_int {
    raise_table(state, SET_REPL)
}

pub unsafe extern "C-unwind" fn cjson_encode(state: *mut ffi::lua_State) -> c_int {
    raise_message(state, CJSON_ENCODE)
}

pub unsafe extern "C-unwind" fn cjson_decode(state: *mut ffi::lua_State) -> c_int {
    raise_message(state, CJSON_DECODE)
}

/// (message or nil, results...): the message is raised at the caller's
/// line, as a C library's luaL_error does; otherwise the results are
/// returned, as many as there are.
unsafe fn raise_or_return(state: *mut ffi::lua_State, key: &CStr, name: &CStr) -> c_int {
    let nargs = ffi::lua_gettop(state);
    // Each argument becomes an mlua reference (about 8000 slots in all):
    // refuse before they are taken rather than run out while they are.
    if nargs > MAX_ARGS {
        ffi::luaL_where(state, 1);
        ffi::lua_pushfstring(state, c"bad argument #%d to '%s' (too many arguments)".as_ptr(), MAX_ARGS + 1, name.as_ptr());
        ffi::lua_concat(state, 2);
        ffi::lua_error(state)
    }
    ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, key.as_ptr());
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
    let results = ffi::lua_gettop(state);
    if results == 0 {
        return 0;
    }
    if ffi::lua_isnil(state, 1) == 0 {
        ffi::luaL_where(state, 1);
        ffi::lua_pushvalue(state, 1);
        ffi::lua_concat(state, 2);
        ffi::lua_error(state)
    }
    ffi::lua_remove(state, 1);
    results - 1
}

/// Arguments a library function takes at most.
const MAX_ARGS: c_int = 4000;

macro_rules! raising {
    ($($name:ident => $key:ident, $lua_name:literal),* $(,)?) => {$(
        pub unsafe extern "C-unwind" fn $name(state: *mut ffi::lua_State) -> c_int {
            raise_or_return(state, $key, $lua_name)
        }
    )*};
}

raising! {
    bit_tobit => BIT_TOBIT, c"tobit",
    bit_bnot => BIT_BNOT, c"bnot",
    bit_band => BIT_BAND, c"band",
    bit_bor => BIT_BOR, c"bor",
    bit_bxor => BIT_BXOR, c"bxor",
    bit_lshift => BIT_LSHIFT, c"lshift",
    bit_rshift => BIT_RSHIFT, c"rshift",
    bit_arshift => BIT_ARSHIFT, c"arshift",
    bit_rol => BIT_ROL, c"rol",
    bit_ror => BIT_ROR, c"ror",
    bit_bswap => BIT_BSWAP, c"bswap",
    bit_tohex => BIT_TOHEX, c"tohex",
    cmsgpack_pack => CMSGPACK_PACK, c"pack",
    struct_pack => STRUCT_PACK, c"pack",
    struct_unpack => STRUCT_UNPACK, c"unpack",
    struct_size => STRUCT_SIZE, c"size",
}
