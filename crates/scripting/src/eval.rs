//! EVAL's script cache: compiled scripts by SHA1, in their own VM.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokv_resp::Protocol;
use mlua::RegistryKey;

use crate::functions::flags;
use crate::vm::{lua_message, Run, Vm};
use crate::{sha1_hex, Caller, EngineError, Watchdog};

const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// A script's `#!lua flags=...` first line (Redis 7.0's
/// evalExtractShebangFlags): its flags, and the code from the line's
/// newline on (so line numbers match).
fn shebang(body: &[u8]) -> Result<(Option<u8>, &[u8]), String> {
    if !body.starts_with(b"#!") {
        return Ok((None, body));
    }
    let end = body.iter().position(|b| *b == b'\n').ok_or("ERR Invalid script shebang")?;
    let line = String::from_utf8_lossy(&body[..end]);
    let mut parts = line.split_ascii_whitespace();
    let engine = parts.next().unwrap_or_default();
    if engine != "#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
    }
    let mut bits = 0;
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else { return Err(format!("ERR Unknown lua shebang option: {part}")) };
        for name in list.split(',').filter(|n| !n.is_empty()) {
            bits |= flags::parse(name).ok_or_else(|| format!("ERR Unexpected flag in script shebang: {name}"))?;
        }
    }
    Ok((Some(bits), &body[end..]))
}

/// A cached script.
pub struct Script {
    sha: String,
    /// The compiled chunk, pinned in the VM's registry.
    f: RegistryKey,
    /// The shebang's flags (None: no shebang, Redis's compatibility mode).
    pub flags: Option<u8>,
}

/// A Lua VM and the scripts loaded into it.
pub struct Engine {
    vm: Vm,
    /// Compiled scripts by SHA1 (Redis keeps them as `f_<sha>` globals).
    scripts: HashMap<String, Script>,
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
        let (flags, code) = shebang(body)?;
        let f = self.vm.compile(code, "@user_script").map_err(|e| format!("ERR Error compiling script (new function): {}", lua_message(&e)))?;
        self.source_bytes += body.len();
        let f = self.vm.lua.create_registry_value(f).map_err(|e| format!("ERR {e}"))?;
        self.scripts.insert(sha.clone(), Script { sha: sha.clone(), f, flags });
        Ok(sha)
    }

    /// The cached script `sha` (any case), or Redis's NOSCRIPT error.
    pub fn script(&self, sha: &[u8]) -> Result<&Script, String> {
        let mut lower = [0u8; 40];
        if sha.len() != lower.len() {
            return Err(NOSCRIPT.into());
        }
        lower.copy_from_slice(sha);
        lower.make_ascii_lowercase();
        std::str::from_utf8(&lower).ok().and_then(|sha| self.scripts.get(sha)).ok_or_else(|| NOSCRIPT.into())
    }

    pub fn exists(&self, sha: &[u8]) -> bool {
        self.script(sha).is_ok()
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

    /// Runs `script` with KEYS and ARGV; encodes its reply for a client
    /// speaking `proto` into `out`, or returns the error reply (without
    /// the leading `-`). `busy_after` is `busy-reply-threshold` (zero:
    /// never busy).
    pub fn run(
        &self,
        script: &Script,
        (keys, argv): (&[Bytes], &[Bytes]),
        caller: &mut dyn Caller,
        proto: Protocol,
        out: &mut BytesMut,
        busy_after: Duration,
    ) -> Result<(), String> {
        let what = Run { name: &script.sha, source: "@user_script", command: None, keys, argv, function: false };
        self.vm.run(&script.f, what, caller, proto, out, busy_after)
    }
}
