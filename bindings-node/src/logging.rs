//! modelport's logs for JavaScript (core's [`modelport::logging`]): records handed to a function
//! given to `setLogHandler`, or written to stderr when `MODELPORT_LOG` names a level.
//!
//! Records are produced on any thread (core's runtime, the main thread); each reaches JavaScript
//! through a non-blocking call of a weak thread-safe function, so logging never blocks the thread
//! that logs and never keeps Node's event loop alive. Up to [`QUEUE`] records wait for a busy event
//! loop; more are dropped.

use std::sync::Arc;

use modelport::logging::{HandlerCall, LogRecord, LogSink, parse_level};
use napi::Status;
use napi::bindgen_prelude::{FnArgs, Function};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::error::{IntoNapi, Result};

/// Records waiting for the event loop before new ones are dropped.
const QUEUE: usize = 10_000;

/// What the handler is called with: `(level, target, message)`.
type LogArgs = FnArgs<(String, String, String)>;

/// `(level, target, message) => void`, weak, called without blocking.
type LogCallback = ThreadsafeFunction<LogRecord, (), LogArgs, Status, false, true, QUEUE>;

/// Sends modelport's records at `level` and above (`"error"` ... `"trace"`, `"off"`) to `handler`,
/// or stops sending them (`null`). Fails when modelport's logs already go to stderr (`MODELPORT_LOG`
/// was set when the first client was created).
#[napi(
    ts_args_type = "handler: ((level: string, target: string, message: string) => void) | null, level: string"
)]
pub fn set_log_handler(handler: Option<Function<'_, LogArgs, ()>>, level: String) -> Result<()> {
    let level = parse_level(&level).into_napi()?;
    let callback: Option<LogCallback> = handler
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
    let sink = callback.map(|callback| -> LogSink {
        Arc::new(move |record: &LogRecord| {
            // Full queue or a closing environment: the record is dropped.
            let _ = callback.call(record.clone(), ThreadsafeFunctionCallMode::NonBlocking);
        })
    });
    modelport::logging::set_log_handler(
        level,
        sink,
        HandlerCall {
            call: "setLogHandler",
            first_client: "creating a Client",
        },
    )
    .into_napi()
}
