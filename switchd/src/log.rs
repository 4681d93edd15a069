//! Logging, OpenBSD style: to stderr in the foreground (`-d`), to syslog otherwise.
//!
//! `tracing` is the one facade: the daemon and the libraries it uses (tc-datapath) log with
//! `tracing::warn!`, `info!`, `debug!`, `error!`, and this module is the subscriber that
//! turns those events into lines. The daemon's one macro of its own, `fatalx!`, logs
//! through `tracing::error!` and exits.
//!
//! Every line names the process that wrote it (`ofp: ...`), because four processes share one
//! stderr or one syslog identity. Errors, warnings and information always go out; `debug`
//! only when verbose (`-v`, or `switchctl log verbose`, which reaches every process), `trace`
//! from `-vv` on. An event's fields other than its message follow it as ` name=value`.
//!
//! The subscriber is a `tracing-subscriber` registry with one layer of ours (`Lines`): the
//! registry keeps the span bookkeeping a subscriber owes the libraries that open spans, and
//! the layer only writes events.

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Once, OnceLock};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

static ROLE: OnceLock<&'static str> = OnceLock::new();
static SYSLOG: AtomicBool = AtomicBool::new(false);
static VERBOSE: AtomicU8 = AtomicU8::new(0);

/// Make `Lines` the process's subscriber. `main` calls it first thing, so that an error
/// before [`init`] (a child that cannot read its setup) is written too; later calls do
/// nothing.
pub fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(Lines);
        // Fails only if another subscriber was set first; that one then writes.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// Set the process name that prefixes every line, and where lines go. In syslog mode the
/// log socket is opened now (LOG_NDELAY), before a child chroots away from `/dev/log`.
pub(crate) fn init(role: &'static str, foreground: bool, verbose: u8) {
    install();
    let _ = ROLE.set(role);
    set_verbose(verbose);
    if !foreground {
        to_syslog();
    }
}

/// From now on, log to syslog (the parent switches after daemonizing, so that startup
/// errors still reach the terminal).
pub(crate) fn to_syslog() {
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

pub(crate) fn set_verbose(verbose: u8) {
    if VERBOSE.swap(verbose, Ordering::Relaxed) != verbose {
        // Callsites cache whether they are enabled, and tracing keeps a global maximum
        // level: both are asked again.
        tracing::callsite::rebuild_interest_cache();
    }
}

pub(crate) fn verbose() -> u8 {
    VERBOSE.load(Ordering::Relaxed)
}

/// The most detailed level written at this verbosity.
fn max_level() -> LevelFilter {
    match verbose() {
        0 => LevelFilter::INFO,
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// The layer that writes each event as one line, `ROLE: message name=value...`, to stderr or
/// syslog.
#[derive(Debug, Clone, Copy, Default)]
struct Lines;

impl<S: Subscriber> Layer<S> for Lines {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if max_level() >= *metadata.level() {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        max_level() >= *metadata.level()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(max_level())
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        emit(*event.metadata().level(), &text(event));
    }
}

/// An event's message, then its other fields as ` name=value`.
fn text(event: &Event<'_>) -> String {
    let mut t = Text::default();
    event.record(&mut t);
    if t.fields.is_empty() {
        t.message
    } else if t.message.is_empty() {
        t.fields.split_off(1)
    } else {
        t.message + &t.fields
    }
}

#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // The message is `format_args!`, whose Debug is its text.
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

/// Write one line at `level`.
fn emit(level: Level, text: &str) {
    let role = ROLE.get().copied().unwrap_or("switchd");
    let line = format!("{role}: {text}");
    if SYSLOG.load(Ordering::Relaxed) {
        let prio = match level {
            Level::ERROR => libc::LOG_ERR,
            Level::WARN => libc::LOG_WARNING,
            Level::INFO => libc::LOG_INFO,
            Level::DEBUG | Level::TRACE => libc::LOG_DEBUG,
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

/// Log an error (`tracing::error!`) and exit 1: the process cannot go on.
#[macro_export]
macro_rules! fatalx {
    ($($arg:tt)*) => {{
        ::tracing::error!($($arg)*);
        std::process::exit(1)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A layer that keeps each event's level and [`text`].
    #[derive(Clone, Default)]
    struct Keep(Arc<Mutex<Vec<(Level, String)>>>);

    impl<S: Subscriber> Layer<S> for Keep {
        fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
            if let Ok(mut v) = self.0.lock() {
                v.push((*event.metadata().level(), text(event)));
            }
        }
    }

    #[test]
    fn the_daemon_macros_are_tracing_events_with_their_text() {
        let keep = Keep::default();
        let subscriber = tracing_subscriber::registry().with(keep.clone());
        tracing::subscriber::with_default(subscriber, || {
            let port = 6653;
            tracing::warn!("listen on {port}: {}", "in use");
            tracing::info!("plain");
            tracing::debug!("{:>3}|", 7);
            tracing::warn!(dev = "eth0", errno = 19, "no such device");
            tracing::info!(dev = %"eth1");
        });
        let got = keep.0.lock().map(|v| v.clone()).unwrap_or_default();
        assert_eq!(
            got,
            [
                (Level::WARN, "listen on 6653: in use".to_string()),
                (Level::INFO, "plain".to_string()),
                (Level::DEBUG, "  7|".to_string()),
                (Level::WARN, "no such device dev=eth0 errno=19".to_string()),
                (Level::INFO, "dev=eth1".to_string()),
            ]
        );
    }

    #[test]
    fn verbosity_sets_the_most_detailed_level() {
        let was = verbose();
        set_verbose(0);
        assert_eq!(max_level(), LevelFilter::INFO);
        set_verbose(1);
        assert_eq!(max_level(), LevelFilter::DEBUG);
        set_verbose(2);
        assert_eq!(max_level(), LevelFilter::TRACE);
        set_verbose(was);
    }
}
