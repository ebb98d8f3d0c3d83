//! uniffi bindings of modelport: Swift, Kotlin and Python generated from this one definition
//! (proc-macro mode, no UDL).
//!
//! - [`Client`] and [`Session`] objects with async methods (tokio);
//! - [`EventListener`], a foreign trait called for each event, whose subscription lives as long as the
//!   [`TaskHandle`] returned by [`Session::on`] (dropping the handle cancels it, as in matrix-rust-sdk);
//! - [`ToolHandler`], an async foreign trait implementing a tool;
//! - [`SessionCallbacks`]: the async foreign traits [`PermissionHandler`], [`HookHandler`] and
//!   [`BearerTokenProvider`] (also given to [`Client::new`] for the default provider);
//! - [`ModelportError`], a flat error enum with one variant per core error kind;
//! - [`ReplayServer`], the loopback replay provider, for tests and offline use;
//! - [`set_log_handler`], modelport's log records to a foreign [`LogHandler`];
//! - [`shutdown`], which stops the runtime threads at exit (required in Python, see there).
//!
//! Configuration crosses as the same camelCase JSON as the Node and C APIs (core's serde types);
//! events cross as a record whose `data_json` is the event's data. Nothing here has provider logic.

mod client;
mod error;
mod hooks;
mod logging;
mod provider;
mod replay;
mod session;
mod tools;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::runtime::{Handle, Runtime};

pub use client::{Client, ModelInfo, SessionCallbacks};
pub use error::{CallbackError, ModelportError, ToolCallError};
pub use hooks::HookHandler;
pub use logging::{LogHandler, set_log_handler};
pub use provider::{BearerToken, BearerTokenProvider};
pub use replay::{ReplayOptions, ReplayServer};
pub use session::{EventListener, ImageAttachment, SendOptions, Session, SessionEvent, TaskHandle};
pub use tools::{PermissionHandler, Tool, ToolHandler, ToolInvocation, ToolReply};

uniffi::setup_scaffolding!();

/// The process-wide runtime that runs every session (the foreign language's async runtime only
/// awaits the results); `None` after [`shutdown`].
static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);
static SHUT_DOWN: AtomicBool = AtomicBool::new(false);

/// A handle of the runtime, started on first use.
fn runtime() -> Result<Handle, ModelportError> {
    let mut slot = RUNTIME.lock();
    if let Some(rt) = slot.as_ref() {
        return Ok(rt.handle().clone());
    }
    if SHUT_DOWN.load(Ordering::SeqCst) {
        return Err(ModelportError::other(
            "modelport was shut down (shutdown() was called): no more work can start",
        ));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("modelport")
        .build()
        .map_err(|e| ModelportError::other(format!("cannot start the runtime threads: {e}")))?;
    let handle = rt.handle().clone();
    *slot = Some(rt);
    Ok(handle)
}

/// Runs `future` on the runtime and waits for it from the caller's executor.
async fn run<F>(future: F) -> Result<F::Output, ModelportError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime()?
        .spawn(future)
        .await
        .map_err(|e| ModelportError::other(format!("the task did not finish: {e}")))
}

/// Runs `f(handle)` on the runtime (see [`run`]), with core's error mapped.
async fn call<H, F, T>(handle: &H, f: impl FnOnce(H) -> F) -> Result<T, ModelportError>
where
    H: Clone,
    F: Future<Output = modelport::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    Ok(run(f(handle.clone())).await??)
}

/// Stops modelport's threads: running sends and tool calls are dropped, and later calls fail. Call it
/// once at exit. Python programs must: `atexit.register(modelport_uniffi.shutdown)`, because a
/// thread that calls back into Python (to wake an awaiting coroutine, or to release a Python object)
/// after interpreter finalization has begun is killed by CPython, which aborts the process. atexit
/// handlers run before that point. Waits at most 10 seconds for the threads.
#[uniffi::export]
pub fn shutdown() {
    SHUT_DOWN.store(true, Ordering::SeqCst);
    let rt = RUNTIME.lock().take();
    if let Some(rt) = rt {
        rt.shutdown_timeout(Duration::from_secs(10));
    }
}
