//! [`Session`] for JavaScript: a thin wrapper of the core session.

pub(crate) mod events;
pub(crate) mod tools;

use std::sync::Arc;
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use modelport::SendOptions;
use modelport::session::events::EventData;
use napi_derive::napi;
use parking_lot::Mutex;

use crate::error::{IntoNapi, Result, config};
use events::{EventStream, Listeners};
use napi::bindgen_prelude::Function;

/// A conversation with one model (see core's `Session`).
#[napi]
#[derive(Debug)]
pub struct Session {
    inner: modelport::Session,
    listeners: Arc<Listeners>,
}

impl Session {
    pub(crate) fn new(inner: modelport::Session, listeners: Arc<Listeners>) -> Self {
        Session { inner, listeners }
    }
}

fn timeout(ms: Option<f64>) -> Result<Option<Duration>> {
    match ms {
        None => Ok(None),
        Some(ms) if ms.is_finite() && ms >= 0.0 => Ok(Some(Duration::from_secs_f64(ms / 1000.0))),
        Some(ms) => Err(config(format!(
            "sendAndWait timeout {ms} is not a duration: give milliseconds (>= 0)"
        ))),
    }
}

#[napi]
impl Session {
    /// The session id.
    #[napi(getter)]
    pub fn session_id(&self) -> String {
        self.inner.id().to_owned()
    }

    /// The current model.
    #[napi(getter)]
    pub fn model(&self) -> String {
        self.inner.model()
    }

    /// Sends a message (JSON send options); resolves to the id of its `user.message` event.
    #[napi]
    pub async fn send(&self, options: String) -> Result<String> {
        let options = SendOptions::from_json(&options).into_napi()?;
        self.inner.send(options).await.into_napi()
    }

    /// Sends a message whose AbortSignal may cancel it: the tracker knows when the send runs and
    /// aborts it, through core's `abort`, only then.
    #[napi]
    pub async fn send_tracked(&self, options: String) -> Result<SendTracker> {
        let options = SendOptions::from_json(&options).into_napi()?;
        // Subscribed before the send, so that its user.message is not missed. Deltas do not matter.
        let stream = self.inner.events_with_buffer(0);
        let id = self.inner.send(options).await.into_napi()?;
        Ok(SendTracker {
            session: self.inner.clone(),
            id,
            stream: Mutex::new(Some(stream)),
            state: Mutex::default(),
        })
    }

    /// Sends and waits until idle; resolves to the last `assistant.message` as JSON, or null.
    #[napi]
    pub async fn send_and_wait(
        &self,
        options: String,
        timeout_ms: Option<f64>,
    ) -> Result<Option<String>> {
        let options = SendOptions::from_json(&options).into_napi()?;
        let timeout = timeout(timeout_ms)?;
        let event = self
            .inner
            .send_and_wait(options, timeout)
            .await
            .into_napi()?;
        Ok(event.map(|e| e.json().to_owned()))
    }

    /// Sends with the options' `responseFormat`; resolves to the answer as JSON text, validated by
    /// core against the schema (`retries` corrective retries, then an `invalid_output` error).
    #[napi]
    pub async fn send_and_parse_json(
        &self,
        options: String,
        retries: u32,
        timeout_ms: Option<f64>,
    ) -> Result<String> {
        let mut options = SendOptions::from_json(&options).into_napi()?;
        let format = options
            .response_format
            .take()
            .ok_or_else(|| config("sendAndParse needs a schema"))?;
        let timeout = timeout(timeout_ms)?;
        let value = self
            .inner
            .send_and_parse_json(options, format, retries as usize, timeout)
            .await
            .into_napi()?;
        Ok(value.to_string())
    }

    /// Sends every event to `callback`, in batches: a JSON array of events, where a number marks a
    /// barrier asked for with `flush` (one callback per session; replaces the last).
    #[napi]
    pub fn subscribe(&self, callback: Function<'_, String, ()>) -> Result<()> {
        self.listeners.subscribe(&self.inner, callback)
    }

    /// Stops calling the callback and releases it.
    #[napi]
    pub fn unsubscribe(&self) {
        self.listeners.release();
    }

    /// Queues a barrier behind the events so far and returns its number; `null` when nobody listens.
    #[napi]
    pub fn flush(&self) -> Option<u32> {
        self.listeners.flush()
    }

    /// A stream of the session's events from now on, buffering up to `deltas` deltas (default
    /// 256) before dropping them.
    #[napi]
    pub fn events(&self, deltas: Option<u32>) -> EventStream {
        let deltas = deltas.map_or(modelport::session::events::DEFAULT_EVENT_BUFFER, |n| {
            n as usize
        });
        EventStream::new(self.inner.feed(deltas))
    }

    /// The persisted events so far, as a JSON array.
    #[napi]
    pub fn get_events(&self) -> String {
        let events = self.inner.get_events();
        let json: Vec<&str> = events.iter().map(modelport::Event::json).collect();
        format!("[{}]", json.join(","))
    }

    /// Aborts the running send and waits until it has ended.
    #[napi]
    pub async fn abort(&self) {
        self.inner.abort().await;
    }

    /// Compacts the history now (after the running send).
    #[napi]
    pub async fn compact(&self) -> Result<()> {
        self.inner.compact().await.into_napi()
    }

    /// Switches the model for the next model calls.
    #[napi]
    pub async fn set_model(&self, model: String) -> Result<()> {
        self.inner.set_model(model).await.into_napi()
    }

    /// Ends the session and releases its event callback.
    #[napi]
    pub async fn disconnect(&self) {
        self.inner.disconnect().await;
        self.listeners.close();
    }
}

/// Where a tracked send is.
#[derive(Debug, Default)]
struct TrackState {
    /// Its user.message was emitted: it is the session's running send.
    running: bool,
    /// Its session.idle was emitted (or the session ended).
    ended: bool,
    /// Aborted while queued: abort it as soon as it runs.
    abort_requested: bool,
}

/// One send of `send()` with an AbortSignal (`lib/session.cjs` drives it). Core's `abort` cancels
/// the session's running send, so this tracker calls it only while that send is this one.
#[napi]
pub struct SendTracker {
    session: modelport::Session,
    id: String,
    stream: Mutex<Option<modelport::session::events::EventStream>>,
    state: Mutex<TrackState>,
}

impl std::fmt::Debug for SendTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendTracker")
            .field("id", &self.id)
            .field("state", &*self.state.lock())
            .finish_non_exhaustive()
    }
}

#[napi]
impl SendTracker {
    /// The id of the send's `user.message` event.
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// Resolves once the send has ended (its `session.idle`, or the session's end), aborting it when
    /// it starts if `abort` was called while it was queued. Call it once.
    #[napi]
    pub async fn ended(&self) {
        let Some(mut stream) = self.stream.lock().take() else {
            return;
        };
        let mut aborted = false;
        'events: while let Some(item) = stream.next().await {
            // Take every event already there before acting, so that an abort asked for while the
            // send was queued never reaches a later send.
            let mut next = Some(item);
            while let Some(item) = next {
                if self.see(item) {
                    break 'events;
                }
                next = stream.next().now_or_never().flatten();
            }
            let abort = {
                let state = self.state.lock();
                state.running && state.abort_requested
            };
            if abort && !aborted {
                aborted = true;
                self.session.abort().await;
            }
        }
        self.state.lock().ended = true;
    }

    /// Aborts the send: now when it runs, when it starts when it is queued, not at all when it has
    /// ended.
    #[napi]
    pub async fn abort(&self) {
        let running = {
            let mut state = self.state.lock();
            if state.ended {
                return;
            }
            state.abort_requested = true;
            state.running
        };
        if running {
            self.session.abort().await;
        }
    }
}

impl SendTracker {
    /// Notes what `item` says about the send; true once it has ended.
    fn see(&self, item: std::result::Result<modelport::Event, modelport::Lagged>) -> bool {
        let Ok(event) = item else { return false };
        let mut state = self.state.lock();
        match &event.data {
            EventData::UserMessage(_) if event.id == self.id => state.running = true,
            EventData::SessionIdle(_) if state.running => {
                state.running = false;
                state.ended = true;
                return true;
            }
            _ => {}
        }
        false
    }
}
