//! Session events for JavaScript: the `on()` dispatch callback and the `events()` stream.
//!
//! Events cross as their exact wire JSON ([`Event`](modelport::Event)'s serde form), in batches.
//! For `on()`, a task (the pump) reads the session's event stream and appends each event to a queue;
//! one call of the JavaScript callback takes everything queued so far as one JSON array. All of a
//! session's `on()` handlers share that queue, so JavaScript receives the events in the order core
//! emitted them, and `lib/session.cjs` fans them out by type. A `null` entry is a flush marker: the
//! pump queues it after every event already emitted, so `sendAndWait` can settle only once the
//! handlers have seen its events.
//!
//! The pump reads a stream with a large delta buffer rather than using core's `Session::on`, whose
//! dispatcher drops deltas after 256 behind: a burst of deltas (a provider catching up after a
//! stall) would otherwise lose text for `on("assistant.message_delta")` handlers.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use futures::{FutureExt, StreamExt};
use modelport::{Event, Lagged};
use napi::Status;
use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// Called with a JSON array of queued events. Strong: keeps Node alive while subscribed.
type EventCallback = ThreadsafeFunction<(), (), String, Status, false>;

/// Deltas the pump's stream buffers before dropping some (core's `on()` keeps 256).
const PUMP_BUFFER: usize = 65_536;

/// Entries queued for JavaScript beyond which deltas are dropped: a stalled event loop must not
/// grow the queue without bound (other events are always kept).
const MAX_QUEUED: usize = 65_536;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Entries waiting for the JavaScript thread.
#[derive(Default, Debug)]
struct Queue {
    items: Vec<String>,
    /// A callback call is queued and has not taken `items` yet.
    scheduled: bool,
}

/// What the pump is asked to do.
#[derive(Debug)]
enum Command {
    /// Queue a flush marker after every event emitted so far.
    Flush,
    /// Flush what is pending, release the callback and end.
    Close,
}

/// The session's JavaScript event callback, its queue and its pump.
#[derive(Default)]
pub(crate) struct Listeners {
    callback: Mutex<Option<EventCallback>>,
    queue: Arc<Mutex<Queue>>,
    pump: Mutex<Option<UnboundedSender<Command>>>,
    /// Bumped by every subscription, so that an ending pump releases only its own callback.
    generation: AtomicU64,
    /// Set when the session is disconnected or its client stopped: no new subscription after that.
    closed: AtomicBool,
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listeners")
            .field("subscribed", &lock(&self.callback).is_some())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Listeners {
    /// Sends every event of `session` to `callback` (replacing an earlier callback).
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        session: &modelport::Session,
        callback: Function<'_, String, ()>,
    ) -> napi::Result<()> {
        let queue = self.queue.clone();
        let tsfn = callback
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .build_callback(move |_| {
                let mut q = lock(&queue);
                q.scheduled = false;
                let items = std::mem::take(&mut q.items);
                drop(q);
                Ok(format!("[{}]", items.join(",")))
            })?;
        {
            let mut slot = lock(&self.callback);
            if self.closed.load(Ordering::Acquire) {
                return Ok(());
            }
            *slot = Some(tsfn);
        }
        let mut pump = lock(&self.pump);
        if pump.as_ref().is_none_or(UnboundedSender::is_closed) {
            let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
            let (tx, rx) = unbounded_channel();
            let stream = session.events_with_buffer(PUMP_BUFFER);
            napi::bindgen_prelude::spawn(run_pump(Arc::downgrade(self), stream, rx, generation));
            *pump = Some(tx);
        }
        Ok(())
    }

    /// Queues `item` and makes sure a callback call will take it.
    fn push(&self, item: String, droppable: bool) {
        let callback = lock(&self.callback);
        let Some(cb) = callback.as_ref() else {
            return;
        };
        let mut q = lock(&self.queue);
        if droppable && q.items.len() >= MAX_QUEUED {
            return;
        }
        q.items.push(item);
        if q.scheduled {
            return;
        }
        q.scheduled = true;
        drop(q);
        if cb.call((), ThreadsafeFunctionCallMode::NonBlocking) != Status::Ok {
            let mut q = lock(&self.queue);
            q.scheduled = false;
            q.items.clear();
        }
    }

    fn push_event(&self, event: &Event) {
        if let Ok(json) = serde_json::to_string(event) {
            self.push(json, event.data.is_droppable());
        }
    }

    /// Asks for a flush marker behind every event emitted so far; false when nobody listens.
    pub(crate) fn flush(&self) -> bool {
        lock(&self.pump)
            .as_ref()
            .is_some_and(|tx| tx.send(Command::Flush).is_ok())
    }

    /// Ends the subscription: the pump delivers what is pending, then releases the callback so that
    /// it no longer keeps Node alive.
    pub(crate) fn release(&self) {
        if let Some(tx) = lock(&self.pump).take() {
            let _ = tx.send(Command::Close);
        }
    }

    /// Releases for good: the session is disconnected or its client stopped.
    pub(crate) fn close(&self) {
        {
            let _slot = lock(&self.callback);
            self.closed.store(true, Ordering::Release);
        }
        self.release();
    }
}

/// Moves the session's events to the JavaScript queue until told to close or the session ends.
async fn run_pump(
    listeners: Weak<Listeners>,
    mut stream: modelport::EventStream,
    mut commands: UnboundedReceiver<Command>,
    generation: u64,
) {
    // After an unsubscribe and a new subscription, the new pump's events are the ones to deliver.
    let forward = |item: Result<Event, Lagged>| {
        if let (Ok(event), Some(l)) = (item, listeners.upgrade())
            && l.generation.load(Ordering::Acquire) == generation
        {
            l.push_event(&event);
        }
    };
    let drain = |stream: &mut modelport::EventStream| {
        while let Some(Some(item)) = stream.next().now_or_never() {
            forward(item);
        }
    };
    loop {
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(Command::Flush) => {
                    drain(&mut stream);
                    if let Some(l) = listeners.upgrade() {
                        l.push("null".to_owned(), false);
                    }
                }
                Some(Command::Close) | None => break,
            },
            item = stream.next() => match item {
                Some(item) => forward(item),
                None => break,
            },
        }
    }
    // Deliver what is pending, answer every flush already asked for, then let go of the callback.
    commands.close();
    drain(&mut stream);
    let Some(l) = listeners.upgrade() else {
        return;
    };
    while let Ok(command) = commands.try_recv() {
        if matches!(command, Command::Flush) {
            l.push("null".to_owned(), false);
        }
    }
    if l.generation.load(Ordering::Acquire) == generation {
        lock(&l.callback).take();
    }
}

/// Events delivered together, to cross the boundary once per batch rather than once per event.
#[napi(object)]
#[derive(Debug)]
pub struct EventBatch {
    /// A JSON array of events.
    pub events: String,
    /// Deltas dropped because this stream fell behind, just before these events.
    pub skipped: f64,
}

/// A session's events as a pull stream; `lib/session.cjs` makes it an async iterator.
#[napi]
#[derive(Debug)]
pub struct EventStream {
    stream: tokio::sync::Mutex<Option<modelport::EventStream>>,
    closed: Notify,
}

impl EventStream {
    pub(crate) fn new(stream: modelport::EventStream) -> Self {
        EventStream {
            stream: tokio::sync::Mutex::new(Some(stream)),
            closed: Notify::new(),
        }
    }
}

#[napi]
impl EventStream {
    /// Waits for the next event, then takes up to `max` events in all that are already there;
    /// `null` once the session is disconnected, its client stopped, or the stream closed.
    #[napi]
    pub async fn next_batch(&self, max: u32) -> Option<EventBatch> {
        let mut guard = self.stream.lock().await;
        let stream = guard.as_mut()?;
        let first = tokio::select! {
            item = stream.next() => item,
            () = self.closed.notified() => None,
        };
        let Some(first) = first else {
            *guard = None;
            return None;
        };
        let mut events = String::from("[");
        let mut count = 0u32;
        let mut skipped = 0u64;
        let mut take = |item: Result<Event, Lagged>| match item {
            Ok(event) => {
                if let Ok(json) = serde_json::to_string(&event) {
                    if count > 0 {
                        events.push(',');
                    }
                    events.push_str(&json);
                    count += 1;
                }
            }
            Err(lag) => skipped += lag.skipped,
        };
        take(first);
        for _ in 1..max.max(1) {
            match stream.next().now_or_never() {
                Some(Some(item)) => take(item),
                _ => break,
            }
        }
        events.push(']');
        Some(EventBatch {
            events,
            skipped: skipped as f64,
        })
    }

    /// Ends the stream (a pending `nextBatch` resolves to `null`).
    #[napi]
    pub fn close(&self) {
        self.closed.notify_one();
        if let Ok(mut guard) = self.stream.try_lock() {
            *guard = None;
        }
    }
}
