//! modelport's log records on Python's `logging` (the `modelport` logger), through core's
//! [`install_log_sink`].
//!
//! The sink is called on whatever thread logs: a tokio worker, or a Python thread inside a call
//! into Rust, which holds the GIL and may be inside a lock of core's. Taking the GIL there could
//! deadlock (a worker holding a core lock waits for the GIL while the GIL's holder waits for that
//! lock), so the sink never touches Python: it appends the record to a bounded queue, and a
//! dedicated thread (`modelport-log`) takes the GIL holding no other lock and hands the queued
//! records to `modelport._logging._emit`. [`flush_logs`] does the same on the calling thread.
//! Records are only taken from the queue with the GIL held, in the order they were logged.
//!
//! The level is core's [`LogLevel`] (one atomic load per disabled call site), set from the Python
//! logger's effective level by `modelport._logging`.

use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use modelport::logging::{LogLevel, LogRecord, LogSink, install_log_sink, parse_level};
use parking_lot::{Condvar, Mutex, MutexGuard};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::error::to_py_err;

/// Records kept for a Python that does not take them (the GIL held for long); more are counted
/// and reported as one warning.
const MAX_QUEUED: usize = 10_000;

static EMIT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `None` when another `tracing` subscriber was installed first: modelport then logs through it.
static LOGS: OnceLock<Option<Logs>> = OnceLock::new();

struct Logs {
    level: LogLevel,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

#[derive(Default)]
struct Queue {
    records: VecDeque<LogRecord>,
    /// Records refused because the queue was full, not reported yet.
    dropped: u64,
    /// Every record the sink was handed (what `_log_received` reports).
    received: u64,
    /// Set at interpreter exit: records are refused from then on.
    closed: bool,
    /// The drain thread and the process it runs in (none in a forked child until a record comes).
    drain: Option<(u32, JoinHandle<()>)>,
}

impl Shared {
    /// The sink: queues the record, starting this process's drain thread on the first one.
    fn push(self: &Arc<Self>, record: &LogRecord) {
        let mut queue = self.queue.lock();
        if queue.closed {
            return;
        }
        queue.received += 1;
        if queue.records.len() >= MAX_QUEUED {
            queue.dropped += 1;
        } else {
            queue.records.push_back(record.clone());
        }
        let pid = std::process::id();
        if queue.drain.as_ref().is_none_or(|(p, _)| *p != pid) {
            // In a forked child the parent's drain thread does not exist: its handle is forgotten,
            // since joining or detaching it would name a thread of another process.
            std::mem::forget(queue.drain.take());
            let shared = self.clone();
            let spawned = std::thread::Builder::new()
                .name("modelport-log".into())
                .spawn(move || shared.drain());
            // Without a thread (the OS refused one) records wait for flush_logs().
            queue.drain = spawned.ok().map(|h| (pid, h));
        }
        drop(queue);
        self.ready.notify_one();
    }

    /// The drain thread: waits for records, then takes the GIL (holding no lock) and emits them.
    fn drain(&self) {
        loop {
            {
                let mut queue = self.queue.lock();
                while queue.records.is_empty() && queue.dropped == 0 && !queue.closed {
                    self.ready.wait(&mut queue);
                }
                if queue.closed {
                    return;
                }
            }
            // None: the interpreter is shutting down; nothing can take the records any more.
            if Python::try_attach(|py| self.emit(py)).is_none() {
                return;
            }
        }
    }

    /// Hands every queued record to `modelport._logging._emit`, on this thread (GIL held).
    fn emit(&self, py: Python<'_>) {
        let (records, dropped) = {
            let mut queue = self.queue.lock();
            (
                std::mem::take(&mut queue.records),
                std::mem::take(&mut queue.dropped),
            )
        };
        if records.is_empty() && dropped == 0 {
            return;
        }
        let batch: Vec<(&str, String, String)> = records
            .into_iter()
            .map(|r| (r.level, r.target, r.message))
            .collect();
        let emitted = EMIT
            .import(py, "modelport._logging", "_emit")
            .and_then(|emit| emit.call1((batch, dropped)));
        if let Err(e) = emitted {
            // A failing handler is logging's business (Handler.handleError); this is the
            // import or the call itself failing.
            e.write_unraisable(py, None);
        }
    }
}

/// Installs modelport's sink at `level` ("error", "warn", "info", "debug", "trace" or "off"), once
/// per process; later calls only set the level. False when another `tracing` subscriber was
/// installed first (then records go there, and nothing here changes them).
#[pyfunction]
pub(crate) fn _log_install(level: &str) -> PyResult<bool> {
    let parsed = parse_level(level).map_err(to_py_err)?;
    let logs = LOGS.get_or_init(|| {
        let shared = Arc::new(Shared::default());
        let into = shared.clone();
        let sink: LogSink = Arc::new(move |record: &LogRecord| into.push(record));
        install_log_sink(parsed, sink)
            .ok()
            .map(|level| Logs { level, shared })
    });
    if let Some(logs) = logs {
        logs.level.set(parsed);
    }
    Ok(logs.is_some())
}

/// Sets the most verbose level modelport produces records at (after [`_log_install`]).
#[pyfunction]
pub(crate) fn _log_set_level(level: &str) -> PyResult<()> {
    let parsed = parse_level(level).map_err(to_py_err)?;
    if let Some(Some(logs)) = LOGS.get() {
        logs.level.set(parsed);
    }
    Ok(())
}

/// How many records modelport's sink has been handed (records below the level never are).
#[pyfunction]
pub(crate) fn _log_received() -> u64 {
    match LOGS.get() {
        Some(Some(logs)) => logs.shared.queue.lock().received,
        _ => 0,
    }
}

/// Emits the queued records now, on the calling thread.
#[pyfunction]
pub(crate) fn flush_logs(py: Python<'_>) {
    if let Some(Some(logs)) = LOGS.get() {
        logs.shared.emit(py);
    }
}

/// At interpreter exit (from `_shutdown`): emits what is queued, refuses later records and ends
/// the drain thread.
pub(crate) fn shutdown(py: Python<'_>) {
    let Some(Some(logs)) = LOGS.get() else {
        return;
    };
    logs.shared.emit(py);
    let drain = {
        let mut queue = logs.shared.queue.lock();
        queue.closed = true;
        queue.drain.take()
    };
    logs.shared.ready.notify_all();
    if let Some((pid, handle)) = drain {
        if pid == std::process::id() {
            // Without the GIL: the thread may be waiting for it to emit a last batch.
            py.detach(|| {
                let _ = handle.join();
            });
        } else {
            std::mem::forget(handle);
        }
    }
}

thread_local! {
    /// The queue's lock, held by the forking thread across `fork()`.
    static HELD_FOR_FORK: std::cell::RefCell<Option<MutexGuard<'static, Queue>>> =
        const { std::cell::RefCell::new(None) };
}

/// `os.register_at_fork(before=...)`: takes the queue's lock, so that no other thread holds it at
/// the moment of the fork (the child would never see it released).
///
/// Taken with the GIL held: no holder of this lock ever waits for the GIL.
#[pyfunction]
pub(crate) fn _log_before_fork() {
    if let Some(Some(logs)) = LOGS.get() {
        let guard = logs.shared.queue.lock();
        HELD_FOR_FORK.with(|held| *held.borrow_mut() = Some(guard));
    }
}

/// `os.register_at_fork(after_in_parent=..., after_in_child=...)`: releases the lock taken before.
#[pyfunction]
pub(crate) fn _log_after_fork() {
    HELD_FOR_FORK.with(|held| drop(held.borrow_mut().take()));
}
