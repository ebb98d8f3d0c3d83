//! [`Session`] for JavaScript: a thin wrapper of the core session.

pub(crate) mod events;
pub(crate) mod tools;

use std::sync::Arc;
use std::time::Duration;

use modelport::SendOptions;
use napi_derive::napi;

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
        send(&self.inner, &options, None).await
    }

    /// Sends and waits until idle; resolves to the last `assistant.message` as JSON, or null.
    #[napi]
    pub async fn send_and_wait(
        &self,
        options: String,
        timeout_ms: Option<f64>,
    ) -> Result<Option<String>> {
        send_and_wait(&self.inner, &options, timeout_ms, None).await
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
        send_and_parse_json(&self.inner, &options, retries, timeout_ms, None).await
    }

    /// A handle whose sends can be cancelled one by one (what an AbortSignal is wired to).
    #[napi]
    pub fn cancellable(&self) -> CancellableSend {
        CancellableSend {
            session: self.inner.clone(),
            cancel: modelport::SendCancel::new(),
        }
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
        self.inner.get_events_json()
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

/// One send of a session that `cancel` aborts, and no other (core's `SendCancel`): running, at
/// once; queued, as soon as it starts; ended, not at all. `lib/session.cjs` wires an AbortSignal to
/// it, one handle per send.
#[napi]
#[derive(Debug)]
pub struct CancellableSend {
    session: modelport::Session,
    cancel: modelport::SendCancel,
}

#[napi]
impl CancellableSend {
    /// Aborts this handle's send.
    #[napi]
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Resolves once this handle's send has ended (or will never run).
    #[napi]
    pub async fn ended(&self) {
        self.cancel.ended().await;
    }

    /// As `Session.send`, cancellable.
    #[napi]
    pub async fn send(&self, options: String) -> Result<String> {
        send(&self.session, &options, Some(&self.cancel)).await
    }

    /// As `Session.sendAndWait`, cancellable.
    #[napi]
    pub async fn send_and_wait(
        &self,
        options: String,
        timeout_ms: Option<f64>,
    ) -> Result<Option<String>> {
        send_and_wait(&self.session, &options, timeout_ms, Some(&self.cancel)).await
    }

    /// As `Session.sendAndParseJson`, cancellable.
    #[napi]
    pub async fn send_and_parse_json(
        &self,
        options: String,
        retries: u32,
        timeout_ms: Option<f64>,
    ) -> Result<String> {
        send_and_parse_json(
            &self.session,
            &options,
            retries,
            timeout_ms,
            Some(&self.cancel),
        )
        .await
    }
}

/// The send options of `json`, cancelled by `cancel` when one is given.
fn send_options(json: &str, cancel: Option<&modelport::SendCancel>) -> Result<SendOptions> {
    let options = SendOptions::from_json(json).into_napi()?;
    Ok(match cancel {
        Some(c) => options.with_cancel(c),
        None => options,
    })
}

async fn send(
    session: &modelport::Session,
    options: &str,
    cancel: Option<&modelport::SendCancel>,
) -> Result<String> {
    let options = send_options(options, cancel)?;
    session.send(options).await.into_napi()
}

async fn send_and_wait(
    session: &modelport::Session,
    options: &str,
    timeout_ms: Option<f64>,
    cancel: Option<&modelport::SendCancel>,
) -> Result<Option<String>> {
    let options = send_options(options, cancel)?;
    let timeout = timeout(timeout_ms)?;
    let event = session.send_and_wait(options, timeout).await.into_napi()?;
    Ok(event.map(|e| e.json().to_owned()))
}

async fn send_and_parse_json(
    session: &modelport::Session,
    options: &str,
    retries: u32,
    timeout_ms: Option<f64>,
    cancel: Option<&modelport::SendCancel>,
) -> Result<String> {
    let mut options = send_options(options, cancel)?;
    let format = options
        .response_format
        .take()
        .ok_or_else(|| config("sendAndParse needs a schema"))?;
    let timeout = timeout(timeout_ms)?;
    let value = session
        .send_and_parse_json(options, format, retries as usize, timeout)
        .await
        .into_napi()?;
    Ok(value.to_string())
}
