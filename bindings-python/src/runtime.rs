//! The binding's tokio runtime (core owns none) and the bridge from Rust futures to asyncio.
//!
//! The runtime is built on first use and rebuilt in a child process after `fork()`: the parent's
//! worker threads do not exist there. Objects created before a fork hold the parent's runtime;
//! [`Owned`] makes them refuse to work in the child (with an error that says what to do) and leaks
//! them there instead of dropping them, since dropping would wait on threads that are gone.

use std::cell::OnceCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3_async_runtimes::TaskLocals;
use pyo3_async_runtimes::generic::{self, ContextExt};

use crate::error;

/// The runtime of the process that built it.
struct Current {
    pid: u32,
    runtime: Arc<tokio::runtime::Runtime>,
}

static RUNTIME: Mutex<Option<Current>> = Mutex::new(None);

/// A handle on this process's runtime, built (or rebuilt after a fork) on demand.
///
/// The lock is only taken by threads outside the runtime, which hold the GIL then; `os.fork()` also
/// holds the GIL, so no other thread can hold the lock at the moment of a fork.
fn handle() -> tokio::runtime::Handle {
    if let Ok(current) = tokio::runtime::Handle::try_current() {
        return current;
    }
    let pid = std::process::id();
    let mut slot = RUNTIME.lock();
    if let Some(current) = slot.as_ref().filter(|c| c.pid == pid) {
        return current.runtime.handle().clone();
    }
    // In a forked child: the parent's runtime has no threads here, and dropping it would wait for them.
    std::mem::forget(slot.take());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("modelport-worker")
        .build()
        .unwrap_or_else(|e| panic!("modelport: cannot start the tokio runtime: {e}"));
    let handle = runtime.handle().clone();
    *slot = Some(Current {
        pid,
        runtime: Arc::new(runtime),
    });
    handle
}

/// Shuts the runtime down at interpreter exit (registered with `atexit` by the package).
///
/// A worker can be in the middle of handing a result to asyncio when the program's last `await`
/// returns (`async with Client()` ends with `stop()`): it released the GIL inside
/// `call_soon_threadsafe` and takes it back to drop its arguments. If the interpreter is finalizing
/// by then, that drop crashes it. `atexit` runs before finalization tears objects down; joining the
/// runtime there, with the GIL released, lets every such worker finish first.
#[pyfunction]
pub(crate) fn _shutdown(py: Python<'_>) {
    let current = RUNTIME
        .lock()
        .take()
        .filter(|c| c.pid == std::process::id());
    if let Some(runtime) = current.and_then(|c| Arc::try_unwrap(c.runtime).ok()) {
        py.detach(|| runtime.shutdown_timeout(std::time::Duration::from_secs(5)));
    }
    // After the workers: what they logged last is emitted, then the log thread ends.
    crate::logging::shutdown(py);
}

/// The runtime as pyo3-async-runtimes sees it.
pub(crate) struct Tokio;

tokio::task_local! {
    static TASK_LOCALS: OnceCell<TaskLocals>;
}

impl generic::Runtime for Tokio {
    type JoinError = tokio::task::JoinError;
    type JoinHandle = tokio::task::JoinHandle<()>;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        handle().spawn(fut)
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        handle().spawn_blocking(f)
    }
}

impl ContextExt for Tokio {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS
            .try_with(|c| c.get().cloned())
            .unwrap_or_default()
    }
}

/// Runs `fut` on the runtime and returns an asyncio future for its result. The GIL is not held
/// while it runs; cancelling the asyncio future drops `fut`.
pub(crate) fn future_into_py<F, T>(py: Python<'_>, fut: F) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    generic::future_into_py::<Tokio, F, T>(py, fut)
}

/// [`future_into_py`] for a core future: its error becomes the Python exception.
pub(crate) fn spawn<F, T>(py: Python<'_>, fut: F) -> PyResult<Bound<'_, PyAny>>
where
    F: Future<Output = modelport::Result<T>> + Send + 'static,
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    future_into_py(py, async move { fut.await.map_err(error::to_py_err) })
}

/// A value tied to the process that created it (see the module docs).
pub(crate) struct Owned<T> {
    pid: u32,
    value: Option<T>,
}

impl<T> Owned<T> {
    pub(crate) fn new(value: T) -> Self {
        Owned {
            pid: std::process::id(),
            value: Some(value),
        }
    }

    /// The value, unless this is a forked child of the process that created it.
    pub(crate) fn get(&self) -> PyResult<&T> {
        match &self.value {
            Some(v) if self.pid == std::process::id() => Ok(v),
            _ => Err(error::config(
                "this object was created before os.fork() and belongs to the parent process: \
                 create a new modelport.Client (and sessions) in the child",
            )),
        }
    }
}

impl<T> Drop for Owned<T> {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            std::mem::forget(self.value.take());
        }
    }
}
