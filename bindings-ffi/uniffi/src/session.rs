//! [`Session`], its events ([`SessionEvent`], [`EventListener`], [`TaskHandle`]) and send options.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use modelport::{Event, Subscription};
use parking_lot::Mutex;

use crate::error::ModelportError;
use crate::{call, run};

/// One session event: the envelope, and the data as JSON (the Copilot SDK's camelCase shape).
#[derive(Clone, Debug, uniffi::Record)]
pub struct SessionEvent {
    /// A UUID v4.
    pub id: String,
    /// The event type, e.g. "assistant.message".
    pub event_type: String,
    /// RFC 3339 UTC with milliseconds.
    pub timestamp: String,
    /// The id of the session's previous event.
    pub parent_id: Option<String>,
    /// Whether the event is transient (deltas, usage, idle).
    pub ephemeral: bool,
    /// For `assistant.message`, its text.
    pub content: Option<String>,
    /// The event's `data` as JSON.
    pub data_json: String,
}

impl From<&Event> for SessionEvent {
    fn from(e: &Event) -> Self {
        SessionEvent {
            id: e.id.clone(),
            event_type: e.kind().to_owned(),
            timestamp: e.timestamp.clone(),
            parent_id: e.parent_id.clone(),
            ephemeral: e.ephemeral,
            content: e.content().map(str::to_owned),
            data_json: e.data_json(),
        }
    }
}

/// An image attached to a message.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ImageAttachment {
    /// The MIME type, e.g. "image/png".
    pub mime_type: String,
    /// The image, base64-encoded.
    pub data: String,
}

/// One message to send.
#[derive(Clone, Debug, uniffi::Record)]
pub struct SendOptions {
    /// The prompt.
    pub prompt: String,
    /// Images.
    #[uniffi(default)]
    pub attachments: Vec<ImageAttachment>,
    /// Headers for this message's model calls (same name overrides the provider's).
    #[uniffi(default)]
    pub request_headers: HashMap<String, String>,
    /// Model controls for this message's model calls; each overrides the session's.
    #[uniffi(default)]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[uniffi(default)]
    pub top_p: Option<f64>,
    /// Stop sequences.
    #[uniffi(default)]
    pub stop: Option<Vec<String>>,
    /// Sampling seed.
    #[uniffi(default)]
    pub seed: Option<i64>,
    /// Output cap.
    #[uniffi(default)]
    pub max_output_tokens: Option<u32>,
    /// Whether the model may call several tools at once.
    #[uniffi(default)]
    pub parallel_tool_calls: Option<bool>,
    /// Model calls for this send.
    #[uniffi(default)]
    pub max_turns: Option<u32>,
}

impl From<SendOptions> for modelport::SendOptions {
    fn from(o: SendOptions) -> Self {
        let mut options = modelport::SendOptions::from(o.prompt);
        for a in o.attachments {
            options = options.with_image(a.mime_type, a.data);
        }
        for (name, value) in o.request_headers {
            options = options.with_header(name, value);
        }
        options.temperature = o.temperature;
        options.top_p = o.top_p;
        options.stop = o.stop;
        options.seed = o.seed;
        options.max_output_tokens = o.max_output_tokens;
        options.parallel_tool_calls = o.parallel_tool_calls;
        options.max_turns = o.max_turns;
        options
    }
}

/// Receives a session's events (see [`Session::on`]). Called on a modelport thread, in order, one
/// event at a time per session; keep it short.
#[uniffi::export(with_foreign)]
pub trait EventListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: SessionEvent);
}

/// A subscription from [`Session::on`]: cancelled by [`cancel`](TaskHandle::cancel) or when the
/// handle is dropped (garbage-collected), so keep it for as long as events should arrive.
#[derive(Debug, uniffi::Object)]
pub struct TaskHandle {
    subscription: Mutex<Option<Subscription>>,
}

#[uniffi::export]
impl TaskHandle {
    /// Ends the subscription: the listener is not called for later events.
    pub fn cancel(&self) {
        let subscription = self.subscription.lock().take();
        if let Some(s) = subscription {
            s.unsubscribe();
        }
    }

    /// Whether the subscription has ended.
    pub fn is_cancelled(&self) -> bool {
        self.subscription.lock().is_none()
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// A conversation with one model (see core's `Session`).
#[derive(Debug, uniffi::Object)]
pub struct Session {
    inner: modelport::Session,
}

impl Session {
    pub(crate) fn new(inner: modelport::Session) -> Arc<Self> {
        Arc::new(Session { inner })
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Session {
    /// The session id.
    pub fn id(&self) -> String {
        self.inner.id().to_owned()
    }

    /// Sends a message and returns the id of its `user.message` event at once; the send runs in the
    /// background (queued after a running one).
    pub async fn send(&self, options: SendOptions) -> Result<String, ModelportError> {
        let options = modelport::SendOptions::from(options);
        call(&self.inner, |s| async move { s.send(options).await }).await
    }

    /// Sends a message and waits until the session is idle; returns the send's last
    /// `assistant.message` (none when it ended without one). `timeout_ms` defaults to 60 s; on
    /// timeout this raises `Timeout` and the send keeps running. An aborted send raises `Cancelled`.
    #[uniffi::method(default(timeout_ms = None))]
    pub async fn send_and_wait(
        &self,
        options: SendOptions,
        timeout_ms: Option<u64>,
    ) -> Result<Option<SessionEvent>, ModelportError> {
        let options = modelport::SendOptions::from(options);
        let timeout = timeout_ms.map(Duration::from_millis);
        let last = call(&self.inner, |s| async move {
            s.send_and_wait(options, timeout).await
        });
        Ok(last.await?.as_ref().map(SessionEvent::from))
    }

    /// Calls `listener` for every event of type `event_type` (none or "*" for all) until the
    /// returned handle is cancelled or dropped. The session's `send_and_wait` returns after the
    /// listeners have seen its events. A type that is neither one modelport emits nor a Copilot
    /// SDK one is a `Config` error listing the valid types (and the closest, for a typo).
    #[uniffi::method(default(event_type = None))]
    pub fn on(
        &self,
        listener: Arc<dyn EventListener>,
        event_type: Option<String>,
    ) -> Result<Arc<TaskHandle>, ModelportError> {
        let kind = event_type.as_deref().unwrap_or("*");
        // A typo would subscribe to nothing: core names the valid types instead.
        modelport::session::events::check_event_type(kind)?;
        let subscription = self.inner.on(kind, move |event| {
            listener.on_event(SessionEvent::from(event));
        });
        Ok(Arc::new(TaskHandle {
            subscription: Mutex::new(Some(subscription)),
        }))
    }

    /// Aborts the running send (queued sends still run) and waits until it has ended.
    pub async fn abort(&self) -> Result<(), ModelportError> {
        let session = self.inner.clone();
        run(async move { session.abort().await }).await
    }

    /// The persisted (non-ephemeral) events so far; after a resume, earlier processes' too.
    pub fn get_events(&self) -> Vec<SessionEvent> {
        self.inner
            .get_events()
            .iter()
            .map(SessionEvent::from)
            .collect()
    }

    /// [`get_events`](Session::get_events) under the Copilot SDK's name.
    pub fn get_messages(&self) -> Vec<SessionEvent> {
        self.get_events()
    }

    /// Compacts the history now (after the running send), as an automatic compaction of
    /// `infiniteSessions` would: `session.compaction_start`, the summary call's `assistant.usage`,
    /// `session.compaction_complete` (`{"success", "error"?, "preCompactionTokens",
    /// "postCompactionTokens", "messagesRemoved"}`).
    pub async fn compact(&self) -> Result<(), ModelportError> {
        call(&self.inner, |s| async move { s.compact().await }).await
    }

    /// Switches the model for the next model calls.
    pub async fn set_model(&self, model: String) -> Result<(), ModelportError> {
        call(&self.inner, |s| async move { s.set_model(model).await }).await
    }

    /// Ends the session (aborts a running send); the client keeps its history for `resume_session`.
    pub async fn disconnect(&self) -> Result<(), ModelportError> {
        let session = self.inner.clone();
        run(async move { session.disconnect().await }).await
    }
}
