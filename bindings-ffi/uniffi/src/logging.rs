//! modelport's log records for Swift, Kotlin and Python through uniffi: a foreign [`LogHandler`]
//! set with [`set_log_handler`] (core's [`modelport::logging`]).

use std::sync::Arc;

use modelport::logging::{HandlerCall, LogRecord, LogSink, parse_level};

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

/// Sends modelport's log records at `level` ("error", "warn", "info", "debug", "trace" or "off")
/// and above to `handler`, process-wide, replacing an earlier handler; `None` stops them. A
/// `Config` error for an unknown level, or when another `tracing` subscriber was installed first in
/// this process (call this before creating clients).
#[uniffi::export]
pub fn set_log_handler(
    level: String,
    handler: Option<Arc<dyn LogHandler>>,
) -> Result<(), ModelportError> {
    let sink = handler.map(|h| -> LogSink {
        Arc::new(move |record: &LogRecord| {
            h.on_log(
                record.level.to_owned(),
                record.target.clone(),
                record.message.clone(),
            );
        })
    });
    modelport::logging::set_log_handler(
        parse_level(&level)?,
        sink,
        HandlerCall {
            call: "set_log_handler",
            first_client: "creating a Client",
        },
    )?;
    Ok(())
}
