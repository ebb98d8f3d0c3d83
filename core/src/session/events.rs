//! Session events: the envelope, every event type with its exact JSON shape, and the bus that
//! delivers them.
//!
//! Delivery: every subscriber gets every non-delta event, losslessly and in order. Only
//! `assistant.message_delta` and `assistant.reasoning_delta` may be dropped, and only for a subscriber
//! that has fallen behind by more than its buffer; the engine never waits for a subscriber.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::SystemTime;

use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// The default number of buffered deltas per subscriber before deltas are dropped.
pub const DEFAULT_EVENT_BUFFER: usize = 256;

/// One session event: `{id, timestamp, parentId, ephemeral?, type, data}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Event {
    /// A UUID v4.
    pub id: String,
    /// RFC 3339 UTC with milliseconds.
    pub timestamp: String,
    /// The id of the session's previous event (`null` for the first).
    pub parent_id: Option<String>,
    /// Whether the event is transient (not kept by `get_events()`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ephemeral: bool,
    /// The type and its data.
    #[serde(flatten)]
    pub data: EventData,
    /// Position in the session's event sequence.
    #[serde(skip)]
    pub(crate) seq: u64,
}

impl Event {
    /// The event type, e.g. `"assistant.message"`.
    pub fn kind(&self) -> &'static str {
        self.data.kind()
    }

    /// The event as its JSON value (camelCase wire shape).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// For `assistant.message`, its content.
    pub fn content(&self) -> Option<&str> {
        match &self.data {
            EventData::AssistantMessage(m) => Some(&m.content),
            _ => None,
        }
    }
}

/// Every event type and its data.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
#[non_exhaustive]
pub enum EventData {
    /// `session.start`
    #[serde(rename = "session.start")]
    SessionStart(SessionStartData),
    /// `user.message`
    #[serde(rename = "user.message")]
    UserMessage(UserMessageData),
    /// `assistant.turn_start`: one model call begins.
    #[serde(rename = "assistant.turn_start")]
    TurnStart(TurnData),
    /// `assistant.turn_end`: one model call and its tools are done.
    #[serde(rename = "assistant.turn_end")]
    TurnEnd(TurnData),
    /// `assistant.turn_retry`: the model call failed and is retried.
    #[serde(rename = "assistant.turn_retry")]
    TurnRetry(TurnRetryData),
    /// `assistant.message_start` (ephemeral): streamed text begins.
    #[serde(rename = "assistant.message_start")]
    MessageStart(MessageStartData),
    /// `assistant.message_delta` (ephemeral): more streamed text.
    #[serde(rename = "assistant.message_delta")]
    MessageDelta(MessageDeltaData),
    /// `assistant.reasoning_delta` (ephemeral): streamed reasoning.
    #[serde(rename = "assistant.reasoning_delta")]
    ReasoningDelta(ReasoningDeltaData),
    /// `assistant.reasoning`: the complete reasoning of one model call.
    #[serde(rename = "assistant.reasoning")]
    Reasoning(ReasoningData),
    /// `assistant.message`: the complete answer of one model call.
    #[serde(rename = "assistant.message")]
    AssistantMessage(AssistantMessageData),
    /// `assistant.usage` (ephemeral): tokens and timing of one model call.
    #[serde(rename = "assistant.usage")]
    Usage(UsageData),
    /// `tool.execution_start`
    #[serde(rename = "tool.execution_start")]
    ToolExecutionStart(ToolExecutionStartData),
    /// `tool.execution_complete`
    #[serde(rename = "tool.execution_complete")]
    ToolExecutionComplete(ToolExecutionCompleteData),
    /// `abort`: the send was aborted.
    #[serde(rename = "abort")]
    Abort(AbortData),
    /// `session.error`: the send failed.
    #[serde(rename = "session.error")]
    SessionError(SessionErrorData),
    /// `session.idle` (ephemeral): the send is over; always its last event.
    #[serde(rename = "session.idle")]
    SessionIdle(SessionIdleData),
}

impl EventData {
    /// The JSON `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            EventData::SessionStart(_) => "session.start",
            EventData::UserMessage(_) => "user.message",
            EventData::TurnStart(_) => "assistant.turn_start",
            EventData::TurnEnd(_) => "assistant.turn_end",
            EventData::TurnRetry(_) => "assistant.turn_retry",
            EventData::MessageStart(_) => "assistant.message_start",
            EventData::MessageDelta(_) => "assistant.message_delta",
            EventData::ReasoningDelta(_) => "assistant.reasoning_delta",
            EventData::Reasoning(_) => "assistant.reasoning",
            EventData::AssistantMessage(_) => "assistant.message",
            EventData::Usage(_) => "assistant.usage",
            EventData::ToolExecutionStart(_) => "tool.execution_start",
            EventData::ToolExecutionComplete(_) => "tool.execution_complete",
            EventData::Abort(_) => "abort",
            EventData::SessionError(_) => "session.error",
            EventData::SessionIdle(_) => "session.idle",
        }
    }

    /// Whether events of this type are transient.
    pub fn is_ephemeral(&self) -> bool {
        matches!(
            self,
            EventData::MessageStart(_)
                | EventData::MessageDelta(_)
                | EventData::ReasoningDelta(_)
                | EventData::Usage(_)
                | EventData::SessionIdle(_)
        )
    }

    /// Whether a lagging subscriber may miss this event (deltas only).
    pub fn is_droppable(&self) -> bool {
        matches!(
            self,
            EventData::MessageDelta(_) | EventData::ReasoningDelta(_)
        )
    }
}

/// `session.start` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionStartData {
    /// The session id.
    pub session_id: String,
    /// The model the session starts with.
    pub selected_model: String,
}

/// An attachment of a user message: an inline image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Attachment {
    /// `{type: "blob", data: BASE64, mimeType}`.
    #[serde(rename_all = "camelCase")]
    Blob {
        /// The bytes, base64-encoded.
        data: String,
        /// The MIME type (`image/png`, ...).
        #[serde(alias = "mime_type")]
        mime_type: String,
        /// An optional display name.
        #[serde(
            default,
            alias = "display_name",
            skip_serializing_if = "Option::is_none"
        )]
        display_name: Option<String>,
    },
}

/// `user.message` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserMessageData {
    /// The prompt.
    pub content: String,
    /// Images sent with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachments: Option<Vec<Attachment>>,
}

/// `assistant.turn_start` / `assistant.turn_end` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnData {
    /// Unique within the session.
    pub turn_id: String,
}

/// `assistant.turn_retry` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TurnRetryData {
    /// The turn being retried.
    pub turn_id: String,
    /// What failed.
    pub reason: String,
    /// How long modelport waits before the retry.
    pub delay_ms: u64,
    /// The retry number (1 for the first retry).
    pub attempt: u32,
    /// The HTTP status that failed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
}

/// `assistant.message_start` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageStartData {
    /// The id the deltas and the final message share.
    pub message_id: String,
}

/// `assistant.message_delta` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageDeltaData {
    /// The message this delta belongs to.
    pub message_id: String,
    /// The new text.
    pub delta_content: String,
}

/// `assistant.reasoning_delta` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasoningDeltaData {
    /// The reasoning this delta belongs to.
    pub reasoning_id: String,
    /// The new text.
    pub delta_content: String,
}

/// `assistant.reasoning` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReasoningData {
    /// Shared with the deltas.
    pub reasoning_id: String,
    /// The whole reasoning text.
    pub content: String,
}

/// A tool call the model requested.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolRequest {
    /// The provider's call id.
    pub tool_call_id: String,
    /// The tool name.
    pub name: String,
    /// The arguments (the raw text as a string when it is not valid JSON).
    pub arguments: Value,
}

/// `assistant.message` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssistantMessageData {
    /// Shared with `message_start` and the deltas.
    pub message_id: String,
    /// The answer text.
    pub content: String,
    /// The tool calls requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_requests: Option<Vec<ToolRequest>>,
    /// The model's reasoning, when it shared it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_text: Option<String>,
    /// The model that answered.
    pub model: String,
}

/// `assistant.usage` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageData {
    /// The model called.
    pub model: String,
    /// All input tokens, cached ones included.
    pub input_tokens: u64,
    /// Output tokens, reasoning included.
    pub output_tokens: u64,
    /// Input tokens read from the cache.
    pub cache_read_tokens: u64,
    /// Input tokens written to the cache.
    pub cache_write_tokens: u64,
    /// Output tokens spent reasoning.
    pub reasoning_tokens: u64,
    /// The call's duration in milliseconds.
    pub duration: u64,
    /// Time to the first streamed token; `null` for non-streaming calls.
    pub time_to_first_token_ms: Option<u64>,
    /// stop, length, tool_calls, content_filter or refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
}

/// `tool.execution_start` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolExecutionStartData {
    /// The call id.
    pub tool_call_id: String,
    /// The tool.
    pub tool_name: String,
    /// Its arguments.
    pub arguments: Value,
}

/// What the model saw of a tool call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolResultContent {
    /// The text sent to the model.
    pub content: String,
}

/// Why a tool call did not succeed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolErrorData {
    /// For the host (a raising handler's real message, which the model does not see).
    pub message: String,
    /// failure, denied, rejected or interrupted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// `tool.execution_complete` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolExecutionCompleteData {
    /// The call id.
    pub tool_call_id: String,
    /// Whether the tool succeeded.
    pub success: bool,
    /// What the model sees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ToolResultContent>,
    /// Why it did not succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ToolErrorData>,
}

/// `abort` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AbortData {
    /// "user_initiated".
    pub reason: String,
}

/// `session.error` data.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionErrorData {
    /// authentication, authorization, quota, rate_limit, context_limit, model_call, timeout,
    /// transport, tool, config, cancelled or limit.
    pub error_type: String,
    /// What went wrong and what to do.
    pub message: String,
    /// The HTTP status, if the provider answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// The provider's error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_code: Option<String>,
    /// The provider's request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The typed error, for `send_and_wait` and the bindings.
    #[serde(skip)]
    pub error: Option<Error>,
}

impl SessionErrorData {
    /// The data for `error`.
    pub fn from_error(error: &Error) -> Self {
        SessionErrorData {
            error_type: error.error_type().to_owned(),
            message: error.to_string(),
            status_code: error.status(),
            provider_code: error.code().map(str::to_owned),
            request_id: error.request_id().map(str::to_owned),
            error: Some(error.clone()),
        }
    }
}

/// `session.idle` data.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIdleData {
    /// `true` when the send was aborted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted: Option<bool>,
}

/// Deltas a subscriber missed because it fell behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lagged {
    /// How many deltas were dropped.
    pub skipped: u64,
}

impl std::fmt::Display for Lagged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "subscriber fell behind: {} deltas dropped", self.skipped)
    }
}

impl std::error::Error for Lagged {}

// ---------------------------------------------------------------------------------------------
// The bus

#[derive(Debug, Default)]
struct QueueState {
    events: VecDeque<Event>,
    /// Deltas currently buffered.
    deltas: usize,
    skipped: u64,
    closed: bool,
    waker: Option<Waker>,
}

/// Which events a subscriber receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    /// Everything.
    All,
    /// What `send_and_wait` reads: user.message, assistant.message, session.error, session.idle.
    Outcome,
}

/// One subscriber's queue.
#[derive(Debug)]
pub(crate) struct Subscriber {
    state: Mutex<QueueState>,
    capacity: usize,
    interest: Interest,
}

impl Subscriber {
    fn wants(&self, data: &EventData) -> bool {
        match self.interest {
            Interest::All => true,
            Interest::Outcome => matches!(
                data,
                EventData::UserMessage(_)
                    | EventData::AssistantMessage(_)
                    | EventData::SessionError(_)
                    | EventData::SessionIdle(_)
            ),
        }
    }

    fn push(&self, event: &Event) {
        if !self.wants(&event.data) {
            return;
        }
        let droppable = event.data.is_droppable();
        let mut q = lock(&self.state);
        if q.closed {
            return;
        }
        if droppable && q.deltas >= self.capacity {
            q.skipped += 1;
            tracing::trace!(kind = event.kind(), "subscriber behind: delta dropped");
            return;
        }
        if droppable {
            q.deltas += 1;
        }
        q.events.push_back(event.clone());
        if let Some(w) = q.waker.take() {
            w.wake();
        }
    }

    fn close(&self) {
        let mut q = lock(&self.state);
        q.closed = true;
        if let Some(w) = q.waker.take() {
            w.wake();
        }
    }

    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Event, Lagged>>> {
        let mut q = lock(&self.state);
        if q.skipped > 0 {
            let skipped = std::mem::take(&mut q.skipped);
            return Poll::Ready(Some(Err(Lagged { skipped })));
        }
        if let Some(e) = q.events.pop_front() {
            if e.data.is_droppable() {
                q.deltas -= 1;
            }
            return Poll::Ready(Some(Ok(e)));
        }
        if q.closed {
            return Poll::Ready(None);
        }
        q.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// Locks a mutex, recovering from poisoning (a panicking handler must not wedge the session).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug, Default)]
struct BusState {
    last_id: Option<String>,
    seq: u64,
    log: Vec<Event>,
    subscribers: Vec<Arc<Subscriber>>,
    closed: bool,
}

/// Stamps, records and fans out a session's events.
#[derive(Debug, Default)]
pub(crate) struct EventBus {
    state: Mutex<BusState>,
}

/// `2026-11-27T08:04:14.123Z`: RFC 3339, UTC, milliseconds.
pub(crate) fn rfc3339_millis(t: SystemTime) -> String {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Written digit by digit: `format!` with widths costs more than the rest of an event.
    let mut buf = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, year.clamp(0, 9999) as u64);
    put(5, 2, month as u64);
    put(8, 2, day as u64);
    put(11, 2, rem / 3600);
    put(14, 2, rem % 3600 / 60);
    put(17, 2, rem % 60);
    put(20, 3, u64::from(d.subsec_millis()));
    String::from_utf8_lossy(&buf).into_owned()
}

/// A fresh event id.
///
/// A v4 UUID from a thread-local generator seeded once: ids only need to be unique, and a
/// `getrandom` syscall per event costs more than the rest of the event.
pub(crate) fn new_id() -> String {
    let bytes = fastrand::u128(..).to_le_bytes();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut uuid::Uuid::encode_buffer())
        .to_owned()
}

impl EventBus {
    /// A bus continuing from an earlier event log (resumed sessions).
    pub(crate) fn with_log(log: Vec<Event>) -> Self {
        let last = log.last();
        EventBus {
            state: Mutex::new(BusState {
                last_id: last.map(|e| e.id.clone()),
                seq: last.map_or(0, |e| e.seq),
                log,
                ..Default::default()
            }),
        }
    }

    /// Emits `data` with a new id.
    pub(crate) fn emit(&self, data: EventData) -> Event {
        self.emit_with_id(new_id(), data)
    }

    /// Emits `data` with the given id; returns the stamped event.
    pub(crate) fn emit_with_id(&self, id: String, data: EventData) -> Event {
        let mut s = lock(&self.state);
        s.seq += 1;
        let event = Event {
            parent_id: s.last_id.replace(id.clone()),
            id,
            timestamp: rfc3339_millis(SystemTime::now()),
            ephemeral: data.is_ephemeral(),
            data,
            seq: s.seq,
        };
        if !event.ephemeral {
            s.log.push(event.clone());
        }
        s.subscribers.retain(|sub| Arc::strong_count(sub) > 1);
        for sub in &s.subscribers {
            sub.push(&event);
        }
        event
    }

    /// A new subscriber to the events of `interest`, buffering up to `capacity` deltas.
    pub(crate) fn subscribe(&self, capacity: usize, interest: Interest) -> Arc<Subscriber> {
        let sub = Arc::new(Subscriber {
            state: Mutex::new(QueueState::default()),
            capacity: capacity.max(1),
            interest,
        });
        let mut s = lock(&self.state);
        if s.closed {
            sub.close();
        } else {
            s.subscribers.push(sub.clone());
        }
        sub
    }

    /// The persisted (non-ephemeral) events.
    pub(crate) fn log(&self) -> Vec<Event> {
        lock(&self.state).log.clone()
    }

    /// Ends every subscription; later subscribers end at once.
    pub(crate) fn close(&self) {
        let mut s = lock(&self.state);
        s.closed = true;
        for sub in s.subscribers.drain(..) {
            sub.close();
        }
    }
}

/// The session's events as a [`Stream`]: every non-delta event in order, deltas unless this stream
/// fell behind (then a [`Lagged`] item says how many were dropped). Ends when the session is
/// disconnected or its client stopped.
#[derive(Debug)]
pub struct EventStream {
    sub: Arc<Subscriber>,
}

impl EventStream {
    pub(crate) fn new(sub: Arc<Subscriber>) -> Self {
        EventStream { sub }
    }
}

impl Stream for EventStream {
    type Item = Result<Event, Lagged>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.sub.poll_next(cx)
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        // The bus drops subscribers nobody else holds on its next emit.
        self.sub.close();
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::rfc3339_millis;

    #[test]
    fn timestamps_are_rfc3339_utc_with_millis() {
        // Expected values from Python's datetime (see the commit that added this test).
        let at = |ms: u64| SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
        assert_eq!(rfc3339_millis(at(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(at(951_868_800_500)),
            "2000-03-01T00:00:00.500Z"
        );
        assert_eq!(
            rfc3339_millis(at(1_709_164_800_001)),
            "2024-02-29T00:00:00.001Z"
        );
        assert_eq!(
            rfc3339_millis(at(1_700_000_000_123)),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            rfc3339_millis(at(4_102_444_799_999)),
            "2099-12-31T23:59:59.999Z"
        );
    }
}
