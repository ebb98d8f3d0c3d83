//! The tokio runtime behind each client, and blocking on it from C threads and from callback threads.
//!
//! Each `mp_client` owns a multi-thread runtime, shared (reference-counted) with its sessions: the last
//! handle freed shuts it down and joins its threads, so a program that frees everything leaves no
//! thread and no allocation behind.

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;

use tokio::runtime::{Builder, Handle, Runtime};

use crate::error::FfiError;
use crate::util::FfiResult;

/// A runtime that shuts down when dropped, also when dropped on one of its own threads.
#[derive(Debug)]
pub(crate) struct Rt {
    runtime: Option<Runtime>,
}

impl Rt {
    /// A multi-thread runtime whose threads are named `name` (`workers` threads, or one per core).
    pub(crate) fn new(name: &str, workers: Option<usize>) -> FfiResult<Arc<Rt>> {
        let mut builder = Builder::new_multi_thread();
        builder.enable_all().thread_name(name);
        if let Some(n) = workers {
            builder.worker_threads(n);
        }
        let runtime = builder.build().map_err(|e| {
            FfiError::from(modelport::Error::new(
                modelport::ErrorKind::Transport,
                format!("cannot start the runtime threads: {e}"),
            ))
        })?;
        Ok(Arc::new(Rt {
            runtime: Some(runtime),
        }))
    }

    /// The runtime's handle.
    pub(crate) fn handle(&self) -> &Handle {
        match &self.runtime {
            Some(rt) => rt.handle(),
            // The runtime is only taken in `drop`.
            None => unreachable!("runtime used after shutdown"),
        }
    }

    /// Runs `future` to completion on the calling thread, driving it with this runtime.
    pub(crate) fn block_on<F: Future>(&self, future: F) -> F::Output {
        blocking(|| self.handle().block_on(future))
    }
}

impl Drop for Rt {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            if Handle::try_current().is_ok() {
                // On a runtime thread (a handle freed inside a callback): joining would wait for
                // this very thread, so let the threads finish on their own.
                rt.shutdown_background();
            } else {
                // Waits for the worker threads and any tool callback still running.
                drop(rt);
            }
        }
    }
}

/// Runs `f`, which may block the thread. On a runtime thread (inside a callback) the runtime first
/// moves its other work elsewhere, so blocking there neither stalls nor deadlocks it.
pub(crate) fn blocking<R>(f: impl FnOnce() -> R) -> R {
    if Handle::try_current().is_ok() {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

thread_local! {
    /// How many modelport callbacks are running on this thread (callbacks may nest).
    static CALLBACK_DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Whether the calling thread is inside a modelport callback.
pub(crate) fn in_callback() -> bool {
    CALLBACK_DEPTH.with(Cell::get) > 0
}

/// Calls into C: marks the thread as inside a callback for the duration of `f`.
pub(crate) fn call_out<R>(f: impl FnOnce() -> R) -> R {
    struct Depth;
    impl Drop for Depth {
        fn drop(&mut self) {
            CALLBACK_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        }
    }
    CALLBACK_DEPTH.with(|d| d.set(d.get() + 1));
    let _depth = Depth;
    f()
}
