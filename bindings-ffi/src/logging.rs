//! modelport's logs for C (core's [`modelport::logging`]): a C callback set with
//! `mp_set_log_handler`, or stderr when `MODELPORT_LOG` names a level at client creation.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use modelport::logging::{HandlerCall, LogRecord, LogSink, parse_level, set_log_handler};
use parking_lot::Mutex;

use crate::error::MpStatus;
use crate::gate::Gate;
use crate::runtime::call_out;
use crate::util::{FfiResult, UserData, c_string, guard, opt_str_arg};

/// A log callback.
///
/// Called for each modelport log record at the level asked or above, **on whichever thread logs**
/// (runtime worker threads, blocking-pool threads, the thread that called into the library), possibly
/// on several threads at once, and synchronously: the thread that logs waits for it. So it must be
/// thread-safe and quick (hand the record to a queue when in doubt), must not block on the library,
/// and must not call into modelport (a call that logs would call it again). `level` is "error",
/// "warn", "info", "debug" or "trace"; `target` the module that logged ("modelport::transport::call");
/// `message` the message, then its fields as `name=value`. The strings are valid only during the
/// call. Records hold no secret.
pub type MpLogFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        level: *const c_char,
        target: *const c_char,
        message: *const c_char,
    ),
>;

/// The installed C callback, behind a gate closed when it is replaced.
struct Handler {
    callback: unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *const c_char),
    user_data: UserData,
    gate: Arc<Gate>,
}

impl Handler {
    fn deliver(&self, record: &LogRecord) {
        let Some(_entered) = self.gate.enter() else {
            return;
        };
        let level = c_string(record.level);
        let target = c_string(record.target.as_str());
        let message = c_string(record.message.as_str());
        call_out(|| {
            // SAFETY: the callback and user_data are the caller's; the strings live until it returns.
            unsafe {
                (self.callback)(
                    self.user_data.get(),
                    level.as_ptr(),
                    target.as_ptr(),
                    message.as_ptr(),
                );
            }
        });
    }
}

/// The callback core's handler calls (see `set_handler`); `None` after `mp_set_log_handler(NULL, ...)`.
static CURRENT: Mutex<Option<Arc<Handler>>> = Mutex::new(None);

/// Sends modelport's log records at `level` and above to `callback` (see `mp_log_fn`), process-wide,
/// replacing an earlier callback; `callback` NULL stops them. `level` is "error", "warn", "info",
/// "debug", "trace" or "off" (NULL: `MODELPORT_LOG` when set, else "warn"). When this returns, the
/// earlier callback is not running on another thread and is not called again, so its `user_data` may
/// be released. Returns `MP_ERR_CONFIG` for an unknown level, or when the records already go to
/// stderr (`MODELPORT_LOG` was set when the first client was created: call this first). Must not be
/// called from inside the log callback.
///
/// # Safety
/// `level` is NULL or a NUL-terminated string; `callback` NULL or a valid function that may be
/// called from any thread with `user_data`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_set_log_handler(
    level: *const c_char,
    callback: MpLogFn,
    user_data: *mut c_void,
) -> MpStatus {
    guard("mp_set_log_handler", || {
        // SAFETY: the caller's contract.
        let level = unsafe { opt_str_arg(level, "level") }?;
        set_handler(level, callback, user_data)
    })
}

fn set_handler(level: Option<&str>, callback: MpLogFn, user_data: *mut c_void) -> FfiResult {
    let from_env = std::env::var("MODELPORT_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let level = parse_level(level.or(from_env.as_deref()).unwrap_or("warn"))?;
    let handler = callback.map(|callback| {
        Arc::new(Handler {
            callback,
            user_data: UserData(user_data),
            gate: Arc::new(Gate::default()),
        })
    });
    let sink = handler
        .clone()
        .map(|h| -> LogSink { Arc::new(move |r| h.deliver(r)) });
    let mut current = CURRENT.lock();
    let result = set_log_handler(
        level,
        sink,
        HandlerCall {
            call: "mp_set_log_handler",
            first_client: "mp_client_new",
        },
    );
    let old = std::mem::replace(&mut *current, handler.filter(|_| result.is_ok()));
    drop(current);
    // The earlier callback: no new call, and the calls on other threads have returned.
    if let Some(old) = old {
        old.gate.close();
    }
    Ok(result?)
}
