//! Sessions: `send`, `send_and_wait`, `on()` handlers (called on the asyncio loop), the event stream
//! (delivered to `async for` in batches), `abort`, `get_events`, `compact`, `set_model`, `disconnect`.

pub(crate) mod events;
pub(crate) mod tools;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use modelport::session::events::check_event_type;
use modelport::{EventFeed, FeedItem};
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::{PyTraverseError, PyVisit};

use modelport::SendOptions;

use crate::callbacks::EventLoop;
use crate::error::{config, to_py_err};
use crate::runtime::{Owned, future_into_py, spawn};
use events::Event;

/// The most events one `next_batch()` hands over.
const MAX_BATCH: usize = 4096;

/// Deltas the `on()` feed buffers for a busy asyncio loop before dropping some (other events are
/// never dropped).
const FEED_BUFFER: usize = 65_536;

static DELIVER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `seconds` as a duration, or a `ConfigError`.
fn timeout(seconds: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(seconds).map_err(|_| {
        config(format!(
            "timeout must be a positive number of seconds, not {seconds}"
        ))
    })
}

fn send_options(json: &str) -> PyResult<SendOptions> {
    SendOptions::from_json(json).map_err(to_py_err)
}

/// Cancels one send (core's `SendCancel`): what `send_and_wait` uses when its awaiting task is
/// cancelled, so a queued send's cancellation never aborts the send running before it.
#[pyclass(frozen, module = "modelport._native")]
#[derive(Default)]
pub(crate) struct SendCancel(modelport::SendCancel);

#[pymethods]
impl SendCancel {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Cancels the send; when it runs, resolves once it has ended, when it is queued at once.
    fn abort<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let cancel = self.0.clone();
        future_into_py(py, async move {
            cancel.abort().await;
            Ok(())
        })
    }
}

/// A conversation with one model.
#[pyclass(frozen, module = "modelport._native")]
pub(crate) struct Session {
    inner: Owned<modelport::Session>,
    event_loop: EventLoop,
    dispatch: Arc<Dispatch>,
}

impl Session {
    pub(crate) fn new(session: modelport::Session, event_loop: EventLoop) -> Self {
        Session {
            inner: Owned::new(session),
            dispatch: Arc::new(Dispatch {
                event_loop: event_loop.clone(),
                ..Default::default()
            }),
            event_loop,
        }
    }

    /// The session, remembering the running loop for its callbacks.
    fn session(&self, py: Python<'_>) -> PyResult<modelport::Session> {
        self.event_loop.bind(py);
        self.inner.get().cloned()
    }
}

#[pymethods]
impl Session {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        for (_, handler) in self.dispatch.handlers.lock().values() {
            visit.call(handler)?;
        }
        Ok(())
    }

    fn __clear__(&self) {
        // Dropped outside the lock: a handler's finaliser may call back into the session.
        let handlers = std::mem::take(&mut *self.dispatch.handlers.lock());
        drop(handlers);
    }

    /// The session id.
    #[getter]
    fn id(&self) -> PyResult<String> {
        Ok(self.inner.get()?.id().to_owned())
    }

    /// The current model.
    #[getter]
    fn model(&self) -> PyResult<String> {
        Ok(self.inner.get()?.model())
    }

    /// Sends a message (JSON send options); resolves to the id of its `user.message` event.
    fn send<'py>(&self, py: Python<'py>, options: &str) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session(py)?;
        let options = send_options(options)?;
        spawn(py, async move { session.send(options).await })
    }

    /// Sends a message; resolves to the send's last `assistant.message` (or `None`) once idle.
    /// `cancel` cancels this send alone.
    #[pyo3(signature = (options, timeout=None, cancel=None))]
    fn send_and_wait<'py>(
        &self,
        py: Python<'py>,
        options: &str,
        timeout: Option<f64>,
        cancel: Option<&SendCancel>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session(py)?;
        let mut options = send_options(options)?;
        if let Some(c) = cancel {
            options = options.with_cancel(&c.0);
        }
        let timeout = timeout.map(self::timeout).transpose()?;
        spawn(py, async move {
            let reply = session.send_and_wait(options, timeout).await?;
            Ok(reply.map(Event::from))
        })
    }

    /// Sends with the options' `response_format` and resolves to the answer as JSON text, validated
    /// by core against the schema (`retries` corrective retries, then `InvalidOutputError`).
    fn send_and_parse_json<'py>(
        &self,
        py: Python<'py>,
        options: &str,
        retries: usize,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session(py)?;
        let mut options = send_options(options)?;
        let format = options
            .response_format
            .take()
            .ok_or_else(|| config("send_and_parse needs a response_format"))?;
        let timeout = timeout.map(self::timeout).transpose()?;
        spawn(py, async move {
            let value = session
                .send_and_parse_json(options, format, retries, timeout)
                .await?;
            Ok(value.to_string())
        })
    }

    /// Calls `handler(event)` on the asyncio loop for every event of type `kind` (`None` or `"*"`:
    /// all). A `kind` that is neither a modelport nor a Copilot SDK event type is a `ConfigError`
    /// listing the valid names (core's [`check_event_type`]).
    #[pyo3(signature = (kind, handler))]
    fn on(&self, py: Python<'_>, kind: Option<&str>, handler: Py<PyAny>) -> PyResult<Subscription> {
        if let Some(kind) = kind {
            check_event_type(kind).map_err(to_py_err)?;
        }
        let session = self.session(py)?;
        let id = self.dispatch.next_id.fetch_add(1, Ordering::Relaxed);
        let kind = kind.filter(|k| *k != "*").map(str::to_owned);
        self.dispatch.handlers.lock().insert(id, (kind, handler));
        self.dispatch.subscribe(&session);
        Ok(Subscription {
            dispatch: Arc::downgrade(&self.dispatch),
            id,
        })
    }

    /// The session's events from now on, buffering up to `buffer` deltas for a slow reader.
    #[pyo3(signature = (buffer=256))]
    fn events(&self, py: Python<'_>, buffer: usize) -> PyResult<EventStream> {
        let session = self.session(py)?;
        Ok(EventStream {
            inner: Owned::new(Arc::new(session.feed(buffer))),
            lagged: Arc::default(),
        })
    }

    /// Aborts the running send and resolves once it has ended.
    fn abort<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session(py)?;
        future_into_py(py, async move {
            session.abort().await;
            Ok(())
        })
    }

    /// The persisted (non-ephemeral) events so far; after a resume, earlier processes' too.
    fn get_events(&self) -> PyResult<Vec<Event>> {
        Ok(self
            .inner
            .get()?
            .get_events()
            .into_iter()
            .map(Event::from)
            .collect())
    }

    /// Compacts the history now (after the running send).
    fn compact<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session(py)?;
        spawn(py, async move { session.compact().await })
    }

    /// Switches the model for the next model calls.
    fn set_model<'py>(&self, py: Python<'py>, model: String) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session(py)?;
        spawn(py, async move { session.set_model(model).await })
    }

    /// Ends the session (its history stays with the client for `resume_session`).
    fn disconnect<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let session = self.session(py)?;
        future_into_py(py, async move {
            session.disconnect().await;
            Ok(())
        })
    }
}

/// An `on()` registration.
#[pyclass(frozen, module = "modelport._native")]
pub(crate) struct Subscription {
    dispatch: Weak<Dispatch>,
    id: u64,
}

#[pymethods]
impl Subscription {
    /// Stops calling the handler.
    fn unsubscribe(&self) {
        if let Some(dispatch) = self.dispatch.upgrade() {
            dispatch.unsubscribe(self.id);
        }
    }
}

/// An `on()` handler: the event type it wants (every type when `None`) and the callable.
type Handler = (Option<String>, Py<PyAny>);

/// Hands a session's events to its `on()` handlers on the asyncio loop: core's feed notifies, one
/// `call_soon_threadsafe` schedules `modelport.session._deliver`, which takes every waiting event
/// and calls the matching handlers in registration order.
///
/// The handlers live here rather than in core's closures, so that Python's garbage collector sees
/// them (`Session.__traverse__`): a handler referring to its session is a cycle it can collect.
/// `handlers` is only locked with the GIL held.
#[derive(Default)]
struct Dispatch {
    event_loop: EventLoop,
    feed: Mutex<Option<Arc<EventFeed>>>,
    /// By registration id, so in registration order.
    handlers: Mutex<BTreeMap<u64, Handler>>,
    next_id: AtomicU64,
}

impl Dispatch {
    /// Starts the feed on the first handler.
    fn subscribe(self: &Arc<Self>, session: &modelport::Session) {
        let feed = {
            let mut slot = self.feed.lock();
            if slot.is_some() {
                return;
            }
            let feed = Arc::new(session.feed(FEED_BUFFER));
            *slot = Some(feed.clone());
            feed
        };
        // Outside the slot's lock: on a closed session the notify runs at once, and it may need
        // the slot (schedule's error path).
        let dispatch = Arc::downgrade(self);
        feed.set_notify(move || {
            if let Some(d) = dispatch.upgrade() {
                d.schedule();
            }
        });
    }

    /// Removes a handler; the last one ends the feed.
    fn unsubscribe(&self, id: u64) {
        let (handler, last) = {
            let mut handlers = self.handlers.lock();
            (handlers.remove(&id), handlers.is_empty())
        };
        let feed = if last { self.feed.lock().take() } else { None };
        // Closed and dropped outside every lock: closing may notify, and a handler's finaliser may
        // call back into the session.
        if let Some(feed) = feed {
            feed.close();
        }
        drop(handler);
    }

    /// Schedules a delivery on the loop (called by the feed, on the thread that emitted).
    fn schedule(self: &Arc<Self>) {
        let scheduled = Python::attach(|py| -> PyResult<()> {
            let deliver = DELIVER.import(py, "modelport.session", "_deliver")?;
            let batch = HandlerBatch(self.clone());
            self.event_loop
                .get(py)?
                .call_method1("call_soon_threadsafe", (deliver, batch))?;
            Ok(())
        });
        if scheduled.is_err() {
            // The loop is closed: nothing can run the handlers any more. The feed is cloned out of
            // its lock before taking (taking may notify again).
            let feed = self.feed.lock().clone();
            if let Some(feed) = feed {
                drop(feed.take(usize::MAX));
            }
        }
    }
}

/// The pending `on()` calls of a session, taken by `modelport.session._deliver` on the loop.
#[pyclass(frozen, module = "modelport._native")]
pub(crate) struct HandlerBatch(Arc<Dispatch>);

#[pymethods]
impl HandlerBatch {
    /// The pending `(handler, event)` pairs, in order: each event with each matching handler.
    fn take(&self, py: Python<'_>) -> Vec<(Py<PyAny>, Event)> {
        let feed = self.0.feed.lock().clone();
        let Some(batch) = feed.and_then(|f| f.take(usize::MAX)) else {
            return Vec::new();
        };
        let handlers = self.0.handlers.lock();
        let mut calls = Vec::with_capacity(batch.items.len());
        for item in batch.items {
            let FeedItem::Event(event) = item else {
                continue;
            };
            for (kind, handler) in handlers.values() {
                if kind.as_deref().is_none_or(|k| k == event.kind()) {
                    calls.push((handler.clone_ref(py), Event::from(event.clone())));
                }
            }
        }
        calls
    }
}

/// The session's events, for `async for`, in batches of at least one (`None` at the end).
#[pyclass(frozen, module = "modelport._native")]
pub(crate) struct EventStream {
    inner: Owned<Arc<EventFeed>>,
    lagged: Arc<AtomicU64>,
}

#[pymethods]
impl EventStream {
    /// The next events, or `None` at the end.
    fn next_batch<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let feed = self.inner.get()?.clone();
        let lagged = self.lagged.clone();
        future_into_py(py, async move {
            loop {
                let Some(batch) = feed.next_batch(MAX_BATCH).await else {
                    return Ok(None);
                };
                lagged.fetch_add(batch.skipped, Ordering::Relaxed);
                let events: Vec<Event> = batch
                    .items
                    .into_iter()
                    .filter_map(|item| match item {
                        FeedItem::Event(e) => Some(Event::from(e)),
                        FeedItem::Barrier(_) => None,
                    })
                    .collect();
                if !events.is_empty() {
                    return Ok(Some(events));
                }
            }
        })
    }

    /// How many deltas this stream dropped because its reader fell behind.
    #[getter]
    fn lagged(&self) -> u64 {
        self.lagged.load(Ordering::Relaxed)
    }
}
