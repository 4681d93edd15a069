//! Logging, OpenBSD style: to stderr in the foreground (`-d`), to syslog otherwise.
//!
//! Every line names the process that wrote it (`ofp: ...`), because four processes share one
//! stderr or one syslog identity. `warn` and `info` always go out; `debug` only when verbose
//! (`-v`, or `switchctl log verbose`, which reaches every process).

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::OnceLock;

static ROLE: OnceLock<&'static str> = OnceLock::new();
static SYSLOG: AtomicBool = AtomicBool::new(false);
static VERBOSE: AtomicU8 = AtomicU8::new(0);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Warn,
    Info,
    Debug,
}

/// Set the process name that prefixes every line, and where lines go. In syslog mode the
/// log socket is opened now (LOG_NDELAY), before a child chroots away from `/dev/log`.
pub fn init(role: &'static str, foreground: bool, verbose: u8) {
    let _ = ROLE.set(role);
    VERBOSE.store(verbose, Ordering::Relaxed);
    if !foreground {
        to_syslog();
    }
}

/// From now on, log to syslog (the parent switches after daemonizing, so that startup
/// errors still reach the terminal).
pub fn to_syslog() {
    {
        // SAFETY: the identity is a static C string; openlog keeps the pointer.
        unsafe {
            libc::openlog(
                c"switchd".as_ptr(),
                libc::LOG_PID | libc::LOG_NDELAY,
                libc::LOG_DAEMON,
            )
        };
        SYSLOG.store(true, Ordering::Relaxed);
    }
}

pub fn set_verbose(verbose: u8) {
    VERBOSE.store(verbose, Ordering::Relaxed);
}

pub fn verbose() -> u8 {
    VERBOSE.load(Ordering::Relaxed)
}

pub fn emit(level: Level, args: fmt::Arguments<'_>) {
    if level == Level::Debug && verbose() == 0 {
        return;
    }
    let role = ROLE.get().copied().unwrap_or("switchd");
    let line = format!("{role}: {args}");
    if SYSLOG.load(Ordering::Relaxed) {
        let prio = match level {
            Level::Warn => libc::LOG_WARNING,
            Level::Info => libc::LOG_INFO,
            Level::Debug => libc::LOG_DEBUG,
        };
        let text = std::ffi::CString::new(line.replace('\0', "\\0")).unwrap_or_default();
        // SAFETY: "%s" with one NUL-terminated string argument.
        unsafe { libc::syslog(prio, c"%s".as_ptr(), text.as_ptr()) };
    } else {
        // One write(2) per line: the four processes share stderr, and a line written in
        // pieces interleaves with the others' lines.
        let _ = std::io::stderr()
            .lock()
            .write_all(format!("{line}\n").as_bytes());
    }
}

/// Log a warning.
#[macro_export]
macro_rules! log_warn {
    ($($arg:tt)*) => { $crate::log::emit($crate::log::Level::Warn, format_args!($($arg)*)) };
}

/// Log an informational message.
#[macro_export]
macro_rules! log_info {
    ($($arg:tt)*) => { $crate::log::emit($crate::log::Level::Info, format_args!($($arg)*)) };
}

/// Log a debugging message (only when verbose).
#[macro_export]
macro_rules! log_debug {
    ($($arg:tt)*) => { $crate::log::emit($crate::log::Level::Debug, format_args!($($arg)*)) };
}

/// Log and exit 1: the process cannot go on.
#[macro_export]
macro_rules! fatalx {
    ($($arg:tt)*) => {{
        $crate::log::emit($crate::log::Level::Warn, format_args!($($arg)*));
        std::process::exit(1)
    }};
}
