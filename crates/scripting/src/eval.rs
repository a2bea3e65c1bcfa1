//! EVAL's script cache: compiled scripts by SHA1, in their own VM.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokv_resp::Protocol;
use mlua::Function;

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

/// A Lua VM and the scripts loaded into it.
pub struct Engine {
    vm: Vm,
    /// Compiled scripts by SHA1 (Redis keeps them as `f_<sha>` globals),
    /// with their shebang's flags (None: no shebang, Redis's compatibility
    /// mode).
    scripts: HashMap<String, (Function, Option<u8>)>,
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
        self.scripts.insert(sha.clone(), (f, flags));
        Ok(sha)
    }

    /// The cached script's shebang flags (None: it has no shebang).
    pub fn flags(&self, sha: &str) -> Result<Option<u8>, String> {
        self.scripts.get(&sha.to_ascii_lowercase()).map(|(_, flags)| *flags).ok_or_else(|| NOSCRIPT.to_owned())
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
        let Some((f, _)) = self.scripts.get(&sha).cloned() else {
            return Err(NOSCRIPT.into());
        };
        let what = Run { name: &sha, source: "@user_script", keys, argv, function: false };
        self.vm.run(f, what, caller, proto, out, busy_after)
    }
}
