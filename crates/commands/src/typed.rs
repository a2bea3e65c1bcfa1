//! Typed access to collection values: read (counts hits/misses), write
//! (no stats), and write-or-create. A key of another type is WRONGTYPE.
//! After an in-place change, handlers call `done` so watchers see it, the
//! keyspace event is raised, and an emptied collection disappears, as in
//! Redis.

use ferrokv_storage::{Hash, List, Set, Stream, Value, View, ZSet};

use crate::errors::{RedisError, WRONGTYPE};

macro_rules! typed {
    ($read:ident, $write:ident, $create:ident, $variant:ident, $ty:ty) => {
        pub fn $read<'v>(view: &'v mut View<'_>, key: &[u8]) -> Result<Option<&'v mut $ty>, RedisError> {
            match view.get(key) {
                None => Ok(None),
                Some(e) => match &mut e.value {
                    Value::$variant(v) => Ok(Some(v)),
                    _ => Err(WRONGTYPE.into()),
                },
            }
        }

        pub fn $write<'v>(view: &'v mut View<'_>, key: &[u8]) -> Result<Option<&'v mut $ty>, RedisError> {
            match view.get_mut(key) {
                None => Ok(None),
                Some(e) => match &mut e.value {
                    Value::$variant(v) => Ok(Some(v)),
                    _ => Err(WRONGTYPE.into()),
                },
            }
        }

        /// The value at `key`, created empty (with `make`) if missing.
        pub fn $create<'v>(view: &'v mut View<'_>, key: &[u8], make: impl FnOnce() -> $ty) -> Result<&'v mut $ty, RedisError> {
            let exists = match view.get_mut(key).map(|e| matches!(e.value, Value::$variant(_))) {
                Some(true) => true,
                Some(false) => return Err(WRONGTYPE.into()),
                None => false,
            };
            if !exists {
                view.set(key, Value::$variant(make().into()), false);
            }
            match view.get_mut(key).map(|e| &mut e.value) {
                Some(Value::$variant(v)) => Ok(v),
                _ => unreachable!("created above"),
            }
        }
    };
}

typed!(hash_read, hash_write, hash_create, Hash, Hash);
typed!(set_read, set_write, set_create, Set, Set);
typed!(list_read, list_write, list_create, List, List);
typed!(zset_read, zset_write, zset_create, ZSet, ZSet);
typed!(stream_read, stream_write, stream_create, Stream, Stream);

/// What a change to a collection raises: its keyspace event (class and
/// name, as Redis names it).
pub type Event = (u32, &'static str);

/// Signals the change, raises `event`, and deletes the key if the
/// collection is now empty (raising `del` after it, as Redis does).
pub fn done(view: &mut View<'_>, key: &[u8], now_empty: bool, (class, name): Event) {
    view.notify(class, name, key);
    if now_empty {
        view.delete(key);
        view.notify(ferrokv_storage::events::GENERIC, "del", key);
    } else {
        view.modified(key);
    }
}
