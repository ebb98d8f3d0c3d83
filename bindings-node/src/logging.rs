//! modelport's logs for JavaScript (core's [`modelport::logging`]): records handed to a function
//! given to `setLogHandler`, or written to stderr when `MODELPORT_LOG` names a level.
//!
//! Records are produced on any thread (core's runtime, the main thread); each reaches JavaScript
//! through a non-blocking call of a weak thread-safe function, so logging never blocks the thread
//! that logs and never keeps Node's event loop alive. Up to [`QUEUE`] records wait for a busy event
//! loop; more are dropped.

use std::sync::Arc;

use modelport::logging::{LogLevel, LogRecord, LogSink, install_log_sink, parse_level};
use napi::Status;
use napi::bindgen_prelude::{FnArgs, Function};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use parking_lot::{Mutex, RwLock};

use crate::error::{IntoNapi, Result, config, to_napi};

/// Records waiting for the event loop before new ones are dropped.
const QUEUE: usize = 10_000;

/// What the handler is called with: `(level, target, message)`.
type LogArgs = FnArgs<(String, String, String)>;

/// `(level, target, message) => void`, weak, called without blocking.
type LogCallback = ThreadsafeFunction<LogRecord, (), LogArgs, Status, false, true, QUEUE>;

/// The JavaScript handler the sink calls; `None` after `setLogHandler(null)`.
static HANDLER: RwLock<Option<LogCallback>> = RwLock::new(None);
/// The level of the installed sink; `None` until the first `setLogHandler`.
static LEVEL: Mutex<Option<LogLevel>> = Mutex::new(None);

/// Sends modelport's records at `level` and above (`"error"` ... `"trace"`, `"off"`) to `handler`,
/// or stops sending them (`null`). Fails when modelport's logs already go to stderr (`MODELPORT_LOG`
/// was set when the first client was created).
#[napi(
    ts_args_type = "handler: ((level: string, target: string, message: string) => void) | null, level: string"
)]
pub fn set_log_handler(handler: Option<Function<'_, LogArgs, ()>>, level: String) -> Result<()> {
    let level = parse_level(&level).into_napi()?;
    let callback = handler
        .map(|f| {
            f.build_threadsafe_function::<LogRecord>()
                .weak::<true>()
                .max_queue_size::<QUEUE>()
                .build_callback(|ctx| {
                    let r = ctx.value;
                    Ok(FnArgs::from((r.level.to_owned(), r.target, r.message)))
                })
        })
        .transpose()?;
    let wanted = callback.as_ref().and(level);
    let mut installed = LEVEL.lock();
    *HANDLER.write() = callback;
    match installed.as_ref() {
        Some(current) => current.set(wanted),
        None if wanted.is_none() => {}
        None => {
            let sink: LogSink = Arc::new(|record: &LogRecord| {
                if let Some(callback) = HANDLER.read().as_ref() {
                    // Full queue or a closing environment: the record is dropped.
                    let _ = callback.call(record.clone(), ThreadsafeFunctionCallMode::NonBlocking);
                }
            });
            match install_log_sink(wanted, sink) {
                Ok(handle) => *installed = Some(handle),
                Err(e) => {
                    *HANDLER.write() = None;
                    return Err(match std::env::var("MODELPORT_LOG") {
                        Ok(v) if !v.trim().is_empty() => config(format!(
                            "setLogHandler: modelport's logs already go to stderr (MODELPORT_LOG={v} \
                             when the first Client was created): call setLogHandler before creating \
                             a Client, or unset MODELPORT_LOG"
                        )),
                        _ => to_napi(e),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Writes modelport's records to stderr when `MODELPORT_LOG` names a level, unless a handler is
/// already installed (core's `install_stderr_from_env`); each `Client` calls it.
pub(crate) fn stderr_from_env() -> Result<()> {
    modelport::logging::install_stderr_from_env().into_napi()
}
