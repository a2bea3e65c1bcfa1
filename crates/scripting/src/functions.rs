//! FUNCTION's libraries (Redis 7.0's functions.c and function_lua.c): a
//! library is Lua code whose first line names it (`#!lua name=mylib`) and
//! which, when loaded, registers functions with `redis.register_function`.
//! The libraries share one VM of their own; FCALL runs a function by name.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokv_resp::Protocol;
use mlua::{Function, Lua, MultiValue, RegistryKey, Table, Value};

use crate::vm::{lua_message, Run, Vm};
use crate::{convert, Caller, EngineError, Watchdog};

/// Script flags (`redis.register_function{flags=...}`, and a script's
/// shebang), in Redis's order.
pub mod flags {
    pub const NO_WRITES: u8 = 1;
    pub const ALLOW_OOM: u8 = 2;
    pub const ALLOW_STALE: u8 = 4;
    pub const NO_CLUSTER: u8 = 8;
    pub const ALLOW_CROSS_SLOT_KEYS: u8 = 16;

    pub const NAMES: [(&str, u8); 5] = [
        ("no-writes", NO_WRITES),
        ("allow-oom", ALLOW_OOM),
        ("allow-stale", ALLOW_STALE),
        ("no-cluster", NO_CLUSTER),
        ("allow-cross-slot-keys", ALLOW_CROSS_SLOT_KEYS),
    ];

    pub fn parse(name: &str) -> Option<u8> {
        NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, f)| *f)
    }
}

/// How long a FUNCTION LOAD may run the library's code, as Redis allows.
pub const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

pub struct FunctionDef {
    pub name: String,
    /// The library that registered it (set once the library has loaded).
    pub library: String,
    pub description: Option<Bytes>,
    pub flags: u8,
    /// The callback, pinned in the VM's registry.
    callback: RegistryKey,
}

pub struct Library {
    pub name: String,
    /// The code as loaded, shebang included (FUNCTION LIST WITHCODE, DUMP).
    pub code: Bytes,
    pub functions: BTreeMap<String, Arc<FunctionDef>>,
}

/// Counts FUNCTION STATS reads while a function holds the libraries.
#[derive(Debug, Default)]
pub struct FunctionCounts {
    pub libraries: AtomicUsize,
    pub functions: AtomicUsize,
}

/// FUNCTION RESTORE's policy for libraries that already exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestorePolicy {
    /// Drop every library first.
    Flush,
    /// Refuse a library that exists.
    Append,
    /// Replace a library that exists.
    Replace,
}

/// What `redis.register_function` collects while a library loads.
pub(crate) type Pending = Arc<parking_lot::Mutex<Option<BTreeMap<String, FunctionDef>>>>;

pub struct Functions {
    vm: Vm,
    libraries: BTreeMap<String, Library>,
    /// Every library's functions by name: FCALL's one lookup.
    index: HashMap<Box<[u8]>, Arc<FunctionDef>>,
    pending: Pending,
    counts: Arc<FunctionCounts>,
}

/// A library's first line.
struct Meta<'a> {
    name: String,
    /// The code after the shebang, from its newline (so line numbers match).
    body: &'a [u8],
}

impl Functions {
    pub fn new(watchdog: Arc<Watchdog>, counts: Arc<FunctionCounts>) -> Result<Functions, EngineError> {
        let pending = Pending::default();
        let vm = Vm::new(watchdog, Some(pending.clone()))?;
        let functions = Functions { vm, libraries: BTreeMap::new(), index: HashMap::new(), pending, counts };
        functions.count();
        Ok(functions)
    }

    /// FUNCTION LOAD [REPLACE]: returns the library's name.
    pub fn load(&mut self, code: &[u8], replace: bool) -> Result<String, String> {
        let meta = parse_meta(code)?;
        if !replace && self.libraries.contains_key(&meta.name) {
            return Err(format!("ERR Library '{}' already exists", meta.name));
        }
        let lib = self.build(meta, code, LOAD_TIMEOUT)?;
        self.check_unclaimed(&lib, |owner| owner == lib.name)?;
        let name = lib.name.clone();
        self.unlink(&name);
        self.link(lib);
        Ok(name)
    }

    /// FUNCTION RESTORE, and the libraries of an RDB file.
    pub fn restore(&mut self, codes: &[Vec<u8>], policy: RestorePolicy) -> Result<(), String> {
        let mut fresh: BTreeMap<String, Library> = BTreeMap::new();
        for code in codes {
            let meta = parse_meta(code)?;
            if fresh.contains_key(&meta.name) {
                return Err(format!("ERR Library '{}' already exists", meta.name));
            }
            let lib = self.build(meta, code, Duration::ZERO)?;
            if let Some(f) = lib.functions.keys().find(|f| fresh.values().any(|other| other.functions.contains_key(*f))) {
                return Err(format!("ERR Function {f} already exists"));
            }
            fresh.insert(lib.name.clone(), lib);
        }
        if policy == RestorePolicy::Flush {
            self.flush();
        }
        if let Some(existing) = fresh.keys().find(|name| self.libraries.contains_key(*name)) {
            if policy == RestorePolicy::Append {
                return Err(format!("ERR Library {existing} already exists"));
            }
        }
        for lib in fresh.values() {
            self.check_unclaimed(lib, |owner| fresh.contains_key(owner))?;
        }
        for (name, lib) in fresh {
            self.unlink(&name);
            self.link(lib);
        }
        Ok(())
    }

    /// FUNCTION DELETE.
    pub fn delete(&mut self, name: &[u8]) -> Result<(), String> {
        let name = std::str::from_utf8(name).ok().filter(|n| self.libraries.contains_key(*n)).ok_or("ERR Library not found")?;
        let name = name.to_owned();
        self.unlink(&name);
        Ok(())
    }

    /// FUNCTION FLUSH.
    pub fn flush(&mut self) {
        self.libraries.clear();
        self.index.clear();
        self.count();
        // Their functions are garbage now; give the memory back.
        let _ = self.vm.lua.gc_collect();
    }

    pub fn libraries(&self) -> impl Iterator<Item = &Library> {
        self.libraries.values()
    }

    pub fn get(&self, name: &[u8]) -> Option<&FunctionDef> {
        self.index.get(name).map(|f| &**f)
    }

    /// FCALL: runs `def`, found by [`Functions::get`] from `command[1]`,
    /// with its keys and arguments; as [`crate::Engine::run`] otherwise.
    pub fn call(
        &self,
        (def, command): (&FunctionDef, &[Bytes]),
        (keys, argv): (&[Bytes], &[Bytes]),
        caller: &mut dyn Caller,
        proto: Protocol,
        out: &mut BytesMut,
        busy_after: Duration,
    ) -> Result<(), String> {
        let what = Run { name: &def.name, source: "@user_function", command: Some(command), keys, argv, function: true };
        self.vm.run(&def.callback, what, caller, proto, out, busy_after)
    }

    /// Bytes the VM uses (INFO's used_memory_vm_functions).
    pub fn vm_memory(&self) -> usize {
        self.vm.memory()
    }

    /// Bytes the libraries' code and descriptions hold (used_memory_functions).
    pub fn overhead(&self) -> usize {
        self.libraries.values().map(|l| l.code.len() + l.name.len() + l.functions.values().map(|f| f.name.len() + 64).sum::<usize>()).sum()
    }

    /// Refuses `lib` if one of its functions belongs to another library,
    /// other than those `replaced` (by their owner's name) along with it.
    fn check_unclaimed(&self, lib: &Library, replaced: impl Fn(&str) -> bool) -> Result<(), String> {
        match lib.functions.keys().find(|f| self.index.get(f.as_bytes()).is_some_and(|def| !replaced(&def.library))) {
            Some(f) => Err(format!("ERR Function {f} already exists")),
            None => Ok(()),
        }
    }

    /// Compiles and runs a library's code, collecting what it registers.
    fn build(&self, meta: Meta<'_>, code: &[u8], timeout: Duration) -> Result<Library, String> {
        let f = self.vm.compile(meta.body, "@user_function").map_err(|e| format!("ERR Error compiling function: {}", lua_message(&e)))?;
        *self.pending.lock() = Some(BTreeMap::new());
        let outcome = self.vm.load_library(f, timeout);
        let functions = self.pending.lock().take().unwrap_or_default();
        outcome.map_err(|e| format!("ERR Error registering functions: {e}"))?;
        if functions.is_empty() {
            return Err("ERR No functions registered".into());
        }
        let owned = |(name, def): (String, FunctionDef)| (name, Arc::new(FunctionDef { library: meta.name.clone(), ..def }));
        let functions = functions.into_iter().map(owned).collect();
        Ok(Library { name: meta.name, code: Bytes::copy_from_slice(code), functions })
    }

    fn link(&mut self, lib: Library) {
        for (name, def) in &lib.functions {
            self.index.insert(name.as_bytes().into(), def.clone());
        }
        self.libraries.insert(lib.name.clone(), lib);
        self.count();
    }

    fn unlink(&mut self, name: &str) {
        if let Some(old) = self.libraries.remove(name) {
            for f in old.functions.keys() {
                self.index.remove(f.as_bytes());
            }
        }
        self.count();
    }

    fn count(&self) {
        // Callbacks of dropped libraries leave the registry.
        self.vm.lua.expire_registry_values();
        self.counts.libraries.store(self.libraries.len(), Ordering::Relaxed);
        self.counts.functions.store(self.index.len(), Ordering::Relaxed);
    }
}

/// Redis's functionExtractLibMetaData: `#!<engine> name=<name>` up to the
/// first newline.
fn parse_meta(code: &[u8]) -> Result<Meta<'_>, String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let end = code.iter().position(|b| *b == b'\n').ok_or("ERR Invalid library metadata")?;
    let shebang = String::from_utf8_lossy(&code[2..end]);
    let mut parts = shebang.split_ascii_whitespace();
    let engine = parts.next().ok_or("ERR Invalid library metadata")?;
    let mut name = None;
    for part in parts {
        match part.get(..5) {
            Some(p) if p.eq_ignore_ascii_case("name=") => {
                if name.is_some() {
                    return Err("ERR Invalid metadata value, name argument was given multiple times".into());
                }
                name = Some(part[5..].to_owned());
            }
            _ => return Err(format!("ERR Invalid metadata value given: {part}")),
        }
    }
    let name = name.ok_or("ERR Library name was not given")?;
    if !valid_name(&name) {
        return Err(format!("ERR {INVALID_NAME}"));
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(format!("ERR Engine '{engine}' not found"));
    }
    Ok(Meta { name, body: &code[end..] })
}

/// Redis 7.0 says this of function names too (its own wording slip, kept).
const INVALID_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `redis.register_function`'s implementation (behind a C trampoline,
/// which raises the error table it returns second).
pub(crate) fn register_function(lua: &Lua, pending: Pending) -> mlua::Result<Function> {
    lua.create_function(move |lua, args: MultiValue| {
        let fail = |msg: &str| Ok((Value::Nil, convert::error_value(lua, &format!("ERR {msg}"))?));
        let mut guard = pending.lock();
        let Some(registered) = guard.as_mut() else { return fail("redis.register_function can only be called on FUNCTION LOAD command") };
        let (name, description, flags, callback) = match read_args(lua, args) {
            Ok(read) => read,
            Err(msg) => return fail(msg),
        };
        let def = FunctionDef { name, library: String::new(), description, flags, callback: lua.create_registry_value(callback)? };
        if !valid_name(&def.name) {
            return fail(INVALID_NAME);
        }
        if registered.contains_key(&def.name) {
            return fail("Function already exists in the library");
        }
        registered.insert(def.name.clone(), def);
        Ok((Value::Nil, Value::Nil))
    })
}

/// A string, or a number as Lua turns it into one (lua_isstring).
fn text(lua: &Lua, v: &Value) -> Option<Bytes> {
    match v {
        Value::String(s) => Some(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Integer(_) | Value::Number(_) => lua.coerce_string(v.clone()).ok().flatten().map(|s| Bytes::copy_from_slice(&s.as_bytes())),
        _ => None,
    }
}

/// What `redis.register_function` was given: name, description, flags,
/// callback.
type Registration = (String, Option<Bytes>, u8, Function);

fn read_args(lua: &Lua, args: MultiValue) -> Result<Registration, &'static str> {
    let args: Vec<Value> = args.into_iter().collect();
    match &args[..] {
        [named] => read_named(lua, named),
        [name, callback] => {
            let name = text(lua, name).ok_or("first argument to redis.register_function must be a string")?;
            let Value::Function(callback) = callback else { return Err("second argument to redis.register_function must be a function") };
            Ok((String::from_utf8_lossy(&name).into_owned(), None, 0, callback.clone()))
        }
        _ => Err("wrong number of arguments to redis.register_function"),
    }
}

fn read_named(lua: &Lua, named: &Value) -> Result<Registration, &'static str> {
    let Value::Table(t) = named else {
        return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
    };
    let (mut name, mut description, mut callback, mut flags) = (None, None, None, 0);
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|_| "named argument key given to redis.register_function is not a string")?;
        let key = text(lua, &k).ok_or("named argument key given to redis.register_function is not a string")?;
        match &key.to_ascii_lowercase()[..] {
            b"function_name" => name = Some(text(lua, &v).ok_or("function_name argument given to redis.register_function must be a string")?),
            b"description" => description = Some(text(lua, &v).ok_or("description argument given to redis.register_function must be a string")?),
            b"callback" => match v {
                Value::Function(f) => callback = Some(f),
                _ => return Err("callback argument given to redis.register_function must be a function"),
            },
            b"flags" => {
                let Value::Table(list) = v else { return Err("flags argument to redis.register_function must be a table representing function flags") };
                flags = read_flags(lua, &list).ok_or("unknown flag given")?;
            }
            _ => return Err("unknown argument given to redis.register_function"),
        }
    }
    let name = name.ok_or("redis.register_function must get a function name argument")?;
    let callback = callback.ok_or("redis.register_function must get a callback argument")?;
    Ok((String::from_utf8_lossy(&name).into_owned(), description, flags, callback))
}

/// The flags listed in `list` (1, 2, … up to the first nil); None on an
/// unknown one.
fn read_flags(lua: &Lua, list: &Table) -> Option<u8> {
    let mut bits = 0;
    for i in 1.. {
        let v: Value = list.raw_get(i).ok()?;
        if v.is_nil() {
            break;
        }
        bits |= flags::parse(&String::from_utf8_lossy(&text(lua, &v)?))?;
    }
    Some(bits)
}
