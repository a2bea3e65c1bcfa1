//! Redis's RDB format, the pieces shared by every user of it: snapshots,
//! DUMP/RESTORE payloads and replication full sync.
//!
//! Architecture invariant: this crate knows bytes and the RDB format only,
//! nothing of the keyspace or the server.

pub mod crc64;
mod cursor;
pub mod encoding;
pub mod file;
pub mod listpack;
pub mod stream;
pub use ferrokv_util::lzf;
pub mod value;
pub mod ziplist;

pub use encoding::{read_length, read_string, write_length, write_string, Length, RdbError};
pub use value::{dump_functions, dump_payload, restore_functions, restore_payload, FunctionPayloadError, Layout, PayloadError, RdbValue};
