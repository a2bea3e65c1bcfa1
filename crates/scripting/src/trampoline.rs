//! `redis.call` and `redis.pcall` as C functions, as in Redis. They must
//! not be Lua functions: `return redis.call(...)` would then be a Lua tail
//! call, which replaces the script's frame, and the error would no longer
//! say which line of the script failed. Each forwards its arguments to the
//! run's Rust callback (in the registry under [`CURRENT`] while a script
//! runs), which returns (reply, failed); `call` raises a failed reply (an
//! error table), `pcall` returns it.

use std::ffi::c_int;

use mlua::ffi;

pub const CURRENT: &str = "ferrokv_current_call";

unsafe fn forward(state: *mut ffi::lua_State, protected: bool) -> c_int {
    let nargs = ffi::lua_gettop(state);
    ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, c"ferrokv_current_call".as_ptr());
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, nargs, 2);
    let failed = ffi::lua_toboolean(state, 2) != 0;
    ffi::lua_settop(state, 1);
    if failed && !protected {
        ffi::lua_error(state)
    } else {
        1
    }
}

/// Calls the Rust function registered under `key`, which returns (value,
/// error table or nil), and raises the error table from C, so the error
/// points at the script's line as Redis's do.
unsafe fn checked(state: *mut ffi::lua_State, key: &std::ffi::CStr) -> c_int {
    let nargs = ffi::lua_gettop(state);
    ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, key.as_ptr());
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, nargs, 2);
    if ffi::lua_isnil(state, 2) == 0 {
        ffi::lua_pushvalue(state, 2);
        ffi::lua_error(state)
    } else {
        ffi::lua_settop(state, 1);
        1
    }
}

/// Calls the Lua or Rust function registered under `key`, which returns
/// (value, error message or nil), and raises the message at the caller's
/// line ("user_script:1: ..."), as a C library's luaL_error does.
unsafe fn raising(state: *mut ffi::lua_State, key: &std::ffi::CStr) -> c_int {
    let nargs = ffi::lua_gettop(state);
    ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, key.as_ptr());
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, nargs, 2);
    if ffi::lua_isnil(state, 2) == 0 {
        ffi::luaL_where(state, 1);
        ffi::lua_pushvalue(state, 2);
        ffi::lua_concat(state, 2);
        ffi::lua_error(state)
    } else {
        ffi::lua_settop(state, 1);
        1
    }
}

pub const CJSON_ENCODE: &str = "ferrokv_cjson_encode";
pub const CJSON_DECODE: &str = "ferrokv_cjson_decode";

pub unsafe extern "C-unwind" fn cjson_encode(state: *mut ffi::lua_State) -> c_int {
    raising(state, c"ferrokv_cjson_encode")
}

pub unsafe extern "C-unwind" fn cjson_decode(state: *mut ffi::lua_State) -> c_int {
    raising(state, c"ferrokv_cjson_decode")
}

pub const SETRESP: &str = "ferrokv_setresp";
pub const SET_REPL: &str = "ferrokv_set_repl";

pub unsafe extern "C-unwind" fn setresp(state: *mut ffi::lua_State) -> c_int {
    checked(state, c"ferrokv_setresp")
}

pub unsafe extern "C-unwind" fn set_repl(state: *mut ffi::lua_State) -> c_int {
    checked(state, c"ferrokv_set_repl")
}

pub unsafe extern "C-unwind" fn call(state: *mut ffi::lua_State) -> c_int {
    forward(state, false)
}

pub unsafe extern "C-unwind" fn pcall(state: *mut ffi::lua_State) -> c_int {
    forward(state, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_registry_key_is_the_one_the_c_functions_read() {
        assert_eq!(super::CURRENT, "ferrokv_current_call");
        assert_eq!(super::SETRESP, "ferrokv_setresp");
        assert_eq!(super::SET_REPL, "ferrokv_set_repl");
        assert_eq!(super::CJSON_ENCODE, "ferrokv_cjson_encode");
        assert_eq!(super::CJSON_DECODE, "ferrokv_cjson_decode");
    }
}
