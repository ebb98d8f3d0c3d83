//! Calling Python from the runtime: tools, the permission handler, the token provider and the model
//! list run on the asyncio event loop (a sync callable is called there, an async one awaited there),
//! never on a tokio worker thread. The worker only waits, without the GIL.

use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;
use tokio::sync::oneshot;

static INVOKE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static RUN_COROUTINE_THREADSAFE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The asyncio event loop a client's callbacks run on: the loop that awaited its latest call.
#[derive(Clone, Default)]
pub(crate) struct EventLoop(Arc<Mutex<Option<Py<PyAny>>>>);

impl EventLoop {
    /// Remembers the running loop, when there is one. Every method that returns an awaitable calls it.
    pub(crate) fn bind(&self, py: Python<'_>) {
        let Ok(running) = pyo3_async_runtimes::get_running_loop(py) else {
            return;
        };
        let mut slot = self.0.lock();
        if !slot.as_ref().is_some_and(|l| l.bind(py).is(&running)) {
            *slot = Some(running.unbind());
        }
    }

    /// The loop, or an error saying that none ever ran this client.
    pub(crate) fn get<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.0
            .lock()
            .as_ref()
            .map(|l| l.bind(py).clone())
            .ok_or_else(|| {
                PyRuntimeError::new_err(
                    "modelport: no asyncio event loop to run a callback on: use the client from \
                     async code (inside asyncio.run)",
                )
            })
    }

    /// Runs `callable(*args)` on the loop, awaiting its result when it is awaitable, and resolves to
    /// that result or to the exception it raised. Dropping the returned future cancels the call.
    pub(crate) async fn call(
        &self,
        callable: &Py<PyAny>,
        args: Vec<String>,
    ) -> PyResult<Py<PyAny>> {
        let (tx, rx) = oneshot::channel();
        let pending = Python::attach(|py| -> PyResult<Py<PyAny>> {
            let event_loop = self.get(py)?;
            let invoke = INVOKE.import(py, "modelport._callbacks", "invoke")?;
            let coroutine = invoke.call1((callable.bind(py), PyTuple::new(py, args)?))?;
            let submit =
                RUN_COROUTINE_THREADSAFE.import(py, "asyncio", "run_coroutine_threadsafe")?;
            let future = match submit.call1((&coroutine, event_loop)) {
                Ok(f) => f,
                Err(e) => {
                    // The loop is closed: close the coroutine so that it is not reported as never awaited.
                    let _ = coroutine.call_method0("close");
                    return Err(e);
                }
            };
            future.call_method1(
                "add_done_callback",
                (Resolver {
                    tx: Mutex::new(Some(tx)),
                },),
            )?;
            Ok(future.unbind())
        })?;
        let mut guard = CancelOnDrop(Some(pending));
        let result = rx.await.unwrap_or_else(|_| {
            Err(PyRuntimeError::new_err(
                "modelport: the callback ended without a result",
            ))
        });
        guard.0 = None;
        result
    }
}

/// Cancels the pending Python call when the Rust side stops waiting (abort, stop, a dropped turn).
struct CancelOnDrop(Option<Py<PyAny>>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(future) = self.0.take() {
            Python::attach(|py| {
                let _ = future.bind(py).call_method0("cancel");
            });
        }
    }
}

/// The done-callback of a `concurrent.futures.Future`: sends its outcome to the waiting Rust future.
#[pyclass(frozen)]
struct Resolver {
    tx: Mutex<Option<oneshot::Sender<PyResult<Py<PyAny>>>>>,
}

#[pymethods]
impl Resolver {
    fn __call__(&self, future: &Bound<'_, PyAny>) {
        let outcome = future.call_method0("result").map(Bound::unbind);
        if let Some(tx) = self.tx.lock().take() {
            let _ = tx.send(outcome);
        }
    }
}
