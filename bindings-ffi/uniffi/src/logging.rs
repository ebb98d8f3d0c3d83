//! modelport's log records for Swift, Kotlin and Python through uniffi: a foreign [`LogHandler`]
//! set with [`set_log_handler`] (core's [`modelport::logging`]).

use std::sync::Arc;

use modelport::logging::{LogLevel, LogRecord, LogSink, install_log_sink, parse_level};
use parking_lot::{Mutex, RwLock};

use crate::ModelportError;

/// Receives modelport's log records. Called synchronously on whichever thread logs (runtime
/// threads, or the caller's thread inside a modelport call), possibly on several at once: keep it
/// short and thread-safe, and do not call into modelport from it. `level` is "error", "warn",
/// "info", "debug" or "trace"; `target` the module that logged; `message` the message, then its
/// fields as `name=value`. Records hold no secret.
#[uniffi::export(with_foreign)]
pub trait LogHandler: Send + Sync {
    /// One record.
    fn on_log(&self, level: String, target: String, message: String);
}

/// The handler the sink calls; `None` after `set_log_handler(.., None)`.
static HANDLER: RwLock<Option<Arc<dyn LogHandler>>> = RwLock::new(None);
/// The level of the installed sink; `None` until the first `set_log_handler`.
static LEVEL: Mutex<Option<LogLevel>> = Mutex::new(None);

/// Sends modelport's log records at `level` ("error", "warn", "info", "debug", "trace" or "off")
/// and above to `handler`, process-wide, replacing an earlier handler; `None` stops them. A
/// `Config` error for an unknown level, or when another `tracing` subscriber was installed first in
/// this process (call this before creating clients).
#[uniffi::export]
pub fn set_log_handler(
    level: String,
    handler: Option<Arc<dyn LogHandler>>,
) -> Result<(), ModelportError> {
    let parsed = parse_level(&level)?;
    let mut installed = LEVEL.lock();
    *HANDLER.write() = handler;
    match installed.as_ref() {
        Some(l) => l.set(parsed),
        None => {
            let sink: LogSink = Arc::new(|record: &LogRecord| {
                let handler = HANDLER.read().clone();
                if let Some(h) = handler {
                    h.on_log(
                        record.level.to_owned(),
                        record.target.clone(),
                        record.message.clone(),
                    );
                }
            });
            *installed = Some(install_log_sink(parsed, sink)?);
        }
    }
    Ok(())
}
