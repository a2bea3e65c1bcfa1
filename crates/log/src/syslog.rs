//! `syslog-enabled`: every line also goes to the system log, with Redis's
//! priorities (debug, info for verbose, notice, warning).

use std::ffi::CString;

use tracing::Level;

/// `syslog-facility`'s names, as the config table accepts them.
pub const FACILITY_NAMES: [&str; 9] = ["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"];
const FACILITIES: [libc::c_int; 9] = [
    libc::LOG_USER,
    libc::LOG_LOCAL0,
    libc::LOG_LOCAL1,
    libc::LOG_LOCAL2,
    libc::LOG_LOCAL3,
    libc::LOG_LOCAL4,
    libc::LOG_LOCAL5,
    libc::LOG_LOCAL6,
    libc::LOG_LOCAL7,
];

pub fn open(ident: &str, facility: &str) {
    let facility = FACILITY_NAMES.iter().position(|n| n.eq_ignore_ascii_case(facility)).map_or(libc::LOG_LOCAL0, |i| FACILITIES[i]);
    // openlog keeps the pointer: the ident lives as long as the process.
    let ident: &'static CString = Box::leak(Box::new(CString::new(ident.replace('\0', "")).unwrap_or_default()));
    // SAFETY: a valid NUL-terminated ident that is never freed.
    unsafe { libc::openlog(ident.as_ptr(), libc::LOG_PID | libc::LOG_NDELAY | libc::LOG_NOWAIT, facility) };
}

pub fn send(level: &Level, text: &str) {
    let priority = match *level {
        Level::TRACE => libc::LOG_DEBUG,
        Level::DEBUG => libc::LOG_INFO,
        Level::INFO => libc::LOG_NOTICE,
        Level::WARN | Level::ERROR => libc::LOG_WARNING,
    };
    let Ok(msg) = CString::new(text.replace('\0', "")) else { return };
    // SAFETY: "%s" with one NUL-terminated argument.
    unsafe { libc::syslog(priority, c"%s".as_ptr(), msg.as_ptr()) };
}
