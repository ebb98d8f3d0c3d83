//! Session events for JavaScript, over core's [`EventFeed`](modelport::EventFeed).
//!
//! `on()`: one JSON feed per session (each event's JSON rendered on the session's thread); when it
//! has events, core's notify queues one call of the JavaScript callback, which takes up to 256 of
//! them as one JSON array (events as their cached JSON, barriers as numbers) for `lib/session.cjs`
//! to fan out by type; core notifies again while more are waiting. `flush()` is a barrier, so `sendAndWait`
//! settles only once the handlers have seen its events. `events()`: another feed, pulled in batches.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use modelport::EventFeed;
use napi::Status;
use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use parking_lot::Mutex;

/// Called to take the waiting events. Strong: keeps Node alive while subscribed.
type EventCallback = ThreadsafeFunction<(), (), String, Status, false>;

/// Deltas the `on()` feed buffers for a busy event loop before dropping some (other events are
/// never dropped).
const FEED_BUFFER: usize = 65_536;

/// Events handed to JavaScript per call.
const TAKE_MAX: usize = 256;

/// The session's `on()` feed and the callback it notifies.
#[derive(Default)]
pub(crate) struct Listeners {
    feed: Mutex<Option<Arc<EventFeed>>>,
    /// Set when the session is disconnected or its client stopped: no new subscription after that.
    closed: AtomicBool,
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listeners")
            .field("subscribed", &self.feed.lock().is_some())
            .field("closed", &self.closed)
            .finish()
    }
}

impl Listeners {
    /// Sends every event of `session` to `callback` (replacing an earlier subscription).
    pub(crate) fn subscribe(
        &self,
        session: &modelport::Session,
        callback: Function<'_, String, ()>,
    ) -> napi::Result<()> {
        let mut slot = self.feed.lock();
        if self.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        let feed = Arc::new(session.json_feed(FEED_BUFFER));
        // The callback holds the feed and the feed's notify holds the callback: closing the feed
        // lets go of the notify, which ends the cycle once the last queued call has run.
        let taker = feed.clone();
        let tsfn: EventCallback = callback
            .build_threadsafe_function::<()>()
            .callee_handled::<false>()
            .build_callback(move |_| {
                Ok(taker
                    .take(TAKE_MAX)
                    .map_or_else(|| "[]".to_owned(), |batch| batch.to_json()))
            })?;
        feed.set_notify(move || {
            let _ = tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking);
        });
        if let Some(old) = slot.replace(feed) {
            old.close();
        }
        Ok(())
    }

    /// Queues a barrier behind every event so far; its number reaches the callback in order. `None`
    /// when nobody listens, or when the session's events have all been delivered and no more will
    /// come (disconnected, client stopped).
    pub(crate) fn flush(&self) -> Option<u32> {
        self.feed
            .lock()
            .as_ref()
            .and_then(|feed| feed.barrier())
            .map(|id| u32::try_from(id).unwrap_or(u32::MAX))
    }

    /// Ends the subscription: what is waiting is still delivered, then the callback is released so
    /// that it no longer keeps Node alive.
    pub(crate) fn release(&self) {
        if let Some(feed) = self.feed.lock().take() {
            feed.close();
        }
    }

    /// Releases for good: the session is disconnected or its client stopped.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.release();
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
    feed: EventFeed,
}

impl EventStream {
    pub(crate) fn new(feed: EventFeed) -> Self {
        EventStream { feed }
    }
}

#[napi]
impl EventStream {
    /// Waits for the next event, then takes up to `max` events in all that are already there;
    /// `null` once the session is disconnected, its client stopped, or the stream closed.
    #[napi]
    pub async fn next_batch(&self, max: u32) -> Option<EventBatch> {
        let batch = self.feed.next_batch(max.max(1) as usize).await?;
        Some(EventBatch {
            events: batch.to_json(),
            skipped: batch.skipped as f64,
        })
    }

    /// Ends the stream (a pending `nextBatch` resolves to what is left, then `null`).
    #[napi]
    pub fn close(&self) {
        self.feed.close();
    }
}

/// Fails with a `config` error listing the valid names when `kind` is neither `"*"`, an event type
/// modelport emits nor one of the Copilot SDK's (core's `check_event_type`); `on()` calls it.
#[napi]
pub fn check_event_type(kind: String) -> crate::error::Result<()> {
    use crate::error::IntoNapi;
    modelport::session::events::check_event_type(&kind).into_napi()
}
