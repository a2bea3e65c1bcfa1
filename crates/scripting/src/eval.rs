//! EVAL's script cache: compiled scripts by SHA1, in their own VM.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokv_resp::Protocol;
use mlua::Function;

use crate::vm::{lua_message, Run, Vm};
use crate::{sha1_hex, Caller, EngineError, Watchdog};

/// A Lua VM and the scripts loaded into it.
pub struct Engine {
    vm: Vm,
    /// Compiled scripts by SHA1 (Redis keeps them as `f_<sha>` globals).
    scripts: HashMap<String, Function>,
    /// Bytes of script source held (INFO's used_memory_scripts_eval).
    source_bytes: usize,
}

impl Engine {
    /// A VM whose scripts report to `watchdog` (busy, killed).
    pub fn new(watchdog: Arc<Watchdog>) -> Result<Engine, EngineError> {
        Ok(Engine { vm: Vm::new(watchdog, None)?, scripts: HashMap::new(), source_bytes: 0 })
    }

    /// Compiles `body` into the cache (SCRIPT LOAD, and EVAL's first step);
    /// returns its SHA1, or Redis's compile error.
    pub fn load(&mut self, body: &[u8]) -> Result<String, String> {
        let sha = sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let f = self.vm.compile(body, "@user_script").map_err(|e| format!("ERR Error compiling script (new function): {}", lua_message(&e)))?;
        self.source_bytes += body.len();
        self.scripts.insert(sha.clone(), f);
        Ok(sha)
    }

    pub fn exists(&self, sha: &str) -> bool {
        self.scripts.contains_key(&sha.to_ascii_lowercase())
    }

    pub fn len(&self) -> usize {
        self.scripts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty()
    }

    /// Bytes the VM uses (INFO's used_memory_lua / used_memory_vm_eval).
    pub fn vm_memory(&self) -> usize {
        self.vm.memory()
    }

    pub fn source_bytes(&self) -> usize {
        self.source_bytes
    }

    /// Runs the cached script `sha` with KEYS and ARGV; encodes its
    /// reply for a client speaking `proto` into `out`, or returns the error
    /// reply (without the leading `-`). `busy_after` is
    /// `busy-reply-threshold` (zero: never busy).
    pub fn run(
        &mut self,
        sha: &str,
        (keys, argv): (&[Bytes], &[Bytes]),
        caller: &mut dyn Caller,
        proto: Protocol,
        out: &mut BytesMut,
        busy_after: Duration,
    ) -> Result<(), String> {
        let sha = sha.to_ascii_lowercase();
        let Some(f) = self.scripts.get(&sha).cloned() else {
            return Err("NOSCRIPT No matching script. Please use EVAL.".into());
        };
        let what = Run { name: &sha, source: "@user_script", keys, argv, function: false };
        self.vm.run(f, what, caller, proto, out, busy_after)
    }
}
