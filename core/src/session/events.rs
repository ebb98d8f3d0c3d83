//! Session events: the envelope, every event type with its exact JSON shape, and the bus that
//! delivers them.
//!
//! Delivery: every subscriber gets every non-delta event, losslessly and in order. Only
//! `assistant.message_delta` and `assistant.reasoning_delta` may be dropped, and only for a subscriber
//! that has fallen behind by more than its buffer; the engine never waits for a subscriber.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::SystemTime;

use futures::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// The default number of buffered deltas per subscriber before deltas are dropped.
pub const DEFAULT_EVENT_BUFFER: usize = 256;

/// One session event: `{id, timestamp, parentId, ephemeral?, type, data}`.
///
/// Shared, not copied: an `Event` is a pointer to one immutable [`EventRecord`] (read its fields
/// directly, `event.data`, `event.id`), so the log and every subscriber hold the same allocation,
/// and its JSON is rendered at most once ([`Event::json`]).
#[derive(Clone)]
pub struct Event(Arc<EventRecord>);

/// What an [`Event`] holds.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EventRecord {
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
    /// The JSON text, rendered on first use.
    #[serde(skip)]
    json: OnceLock<Box<str>>,
}

impl std::ops::Deref for Event {
    type Target = EventRecord;

    fn deref(&self) -> &EventRecord {
        &self.0
    }
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for EventRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Event")
            .field("id", &self.id)
            .field("timestamp", &self.timestamp)
            .field("parent_id", &self.parent_id)
            .field("ephemeral", &self.ephemeral)
            .field("data", &self.data)
            .finish()
    }
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        EventRecord::deserialize(d).map(|r| Event(Arc::new(r)))
    }
}

impl Event {
    pub(crate) fn new(
        id: String,
        timestamp: String,
        parent_id: Option<String>,
        data: EventData,
        seq: u64,
    ) -> Self {
        Event(Arc::new(EventRecord {
            id,
            timestamp,
            parent_id,
            ephemeral: data.is_ephemeral(),
            data,
            seq,
            json: OnceLock::new(),
        }))
    }

    /// The event type, e.g. `"assistant.message"`.
    pub fn kind(&self) -> &'static str {
        self.data.kind()
    }

    /// A mutable copy of the record, for tests that build malformed sequences.
    #[cfg(test)]
    pub(crate) fn record_mut(&mut self) -> &mut EventRecord {
        let record = Arc::make_mut(&mut self.0);
        record.json = OnceLock::new();
        record
    }

    /// The event as its JSON value (camelCase wire shape).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The event's JSON text (camelCase wire shape), rendered once and shared by every caller: what
    /// bindings hand to JavaScript, Python or C.
    pub fn json(&self) -> &str {
        self.0
            .json
            .get_or_init(|| serde_json::to_string(&*self.0).unwrap_or_default().into())
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

/// What a subscriber's queue holds: events, and the barriers a host asked for.
#[derive(Clone, Debug)]
pub enum FeedItem {
    /// An event.
    Event(Event),
    /// Every event emitted before [`EventFeed::barrier`] returned this id comes before it.
    Barrier(u64),
}

/// A host's notification that a feed has items: called on the thread that emitted, once until the
/// host has taken what is queued.
pub type Notify = Arc<dyn Fn() + Send + Sync>;

/// Whom a push must wake.
enum Wake {
    Task(Waker),
    Host(Notify),
}

impl Wake {
    fn fire(self) {
        match self {
            Wake::Task(w) => w.wake(),
            Wake::Host(notify) => notify(),
        }
    }
}

#[derive(Default)]
struct QueueState {
    items: VecDeque<FeedItem>,
    /// Deltas currently buffered.
    deltas: usize,
    skipped: u64,
    closed: bool,
    waker: Option<Waker>,
    notify: Option<Notify>,
    /// `notify` was called and the host has not taken everything since.
    scheduled: bool,
    next_barrier: u64,
}

/// Which events a subscriber receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    /// Everything.
    All,
    /// What `send_and_wait` reads: user.message, assistant.message, session.error, session.idle.
    Outcome,
}

/// One subscriber's queue: the one delivery primitive behind `events()`, `on()` and every binding.
/// Non-delta events are never dropped; deltas beyond `capacity` are, and counted.
pub(crate) struct Subscriber {
    state: Mutex<QueueState>,
    capacity: usize,
    interest: Interest,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("capacity", &self.capacity)
            .field("interest", &self.interest)
            .finish_non_exhaustive()
    }
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

    /// Queues `event`; returns whom to wake, for the caller to wake once it holds no lock (a host's
    /// notify may take the host's own lock, such as Python's GIL).
    fn push(&self, event: &Event) -> Option<Wake> {
        if !self.wants(&event.data) {
            return None;
        }
        let droppable = event.data.is_droppable();
        let mut q = lock(&self.state);
        if q.closed {
            return None;
        }
        if droppable && q.deltas >= self.capacity {
            q.skipped += 1;
            tracing::trace!(kind = event.kind(), "subscriber behind: delta dropped");
            return None;
        }
        if droppable {
            q.deltas += 1;
        }
        q.items.push_back(FeedItem::Event(event.clone()));
        Self::to_wake(&mut q)
    }

    /// Who must hear of new items: the waiting task, or the host's notify (once until it takes).
    fn to_wake(q: &mut QueueState) -> Option<Wake> {
        if let Some(w) = q.waker.take() {
            return Some(Wake::Task(w));
        }
        if q.scheduled {
            return None;
        }
        let notify = q.notify.clone()?;
        q.scheduled = true;
        Some(Wake::Host(notify))
    }

    /// Wakes the reader after releasing the queue's lock.
    fn wake(mut q: std::sync::MutexGuard<'_, QueueState>) {
        let wake = Self::to_wake(&mut q);
        drop(q);
        if let Some(w) = wake {
            w.fire();
        }
    }

    /// Ends the queue: the reader is woken for what is still queued; after that the host's notify
    /// callback is let go (it may hold the host's event loop open).
    fn close(&self) {
        let mut q = lock(&self.state);
        q.closed = true;
        let notify = if q.waker.is_none() && !q.scheduled && !q.items.is_empty() {
            q.scheduled = true;
            q.notify.take()
        } else {
            None
        };
        let released = q.notify.take();
        let waker = q.waker.take();
        drop(q);
        if let Some(w) = waker {
            w.wake();
        }
        if let Some(notify) = notify {
            notify();
        }
        drop(released);
    }

    fn pop(q: &mut QueueState) -> Option<FeedItem> {
        let item = q.items.pop_front()?;
        if let FeedItem::Event(e) = &item
            && e.data.is_droppable()
        {
            q.deltas -= 1;
        }
        Some(item)
    }

    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Event, Lagged>>> {
        let mut q = lock(&self.state);
        if q.skipped > 0 {
            let skipped = std::mem::take(&mut q.skipped);
            return Poll::Ready(Some(Err(Lagged { skipped })));
        }
        while let Some(item) = Self::pop(&mut q) {
            if let FeedItem::Event(e) = item {
                return Poll::Ready(Some(Ok(e)));
            }
        }
        if q.closed {
            return Poll::Ready(None);
        }
        q.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Takes up to `max` queued items; `None` once closed and empty.
    fn take(&self, max: usize) -> Option<FeedBatch> {
        let mut q = lock(&self.state);
        let mut items = Vec::with_capacity(q.items.len().min(max));
        while items.len() < max.max(1) {
            match Self::pop(&mut q) {
                Some(item) => items.push(item),
                None => break,
            }
        }
        let skipped = std::mem::take(&mut q.skipped);
        let done = q.closed && q.items.is_empty();
        if items.is_empty() && skipped == 0 && done {
            q.scheduled = false;
            return None;
        }
        // More left: the host hears of it again, so a bounded take never strands events.
        q.scheduled = false;
        if !q.items.is_empty() {
            Self::wake(q);
        }
        Some(FeedBatch {
            items,
            skipped,
            closed: done,
        })
    }

    fn poll_batch(&self, cx: &mut Context<'_>, max: usize) -> Poll<Option<FeedBatch>> {
        {
            let mut q = lock(&self.state);
            if q.items.is_empty() && q.skipped == 0 && !q.closed {
                q.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
        }
        Poll::Ready(self.take(max))
    }

    fn barrier(&self) -> u64 {
        let mut q = lock(&self.state);
        q.next_barrier += 1;
        let id = q.next_barrier;
        if !q.closed {
            q.items.push_back(FeedItem::Barrier(id));
            Self::wake(q);
        }
        id
    }
}

/// Items taken from an [`EventFeed`] at once.
#[derive(Clone, Debug, Default)]
pub struct FeedBatch {
    /// Events and barriers, in order.
    pub items: Vec<FeedItem>,
    /// Deltas dropped because the reader fell behind, since the previous batch.
    pub skipped: u64,
    /// The feed is closed and this is its last batch.
    pub closed: bool,
}

impl FeedBatch {
    /// The batch as one JSON array: each event's cached JSON, and each barrier as its number.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(
            2 + self
                .items
                .iter()
                .map(|i| match i {
                    FeedItem::Event(e) => e.json().len() + 1,
                    FeedItem::Barrier(_) => 8,
                })
                .sum::<usize>(),
        );
        out.push('[');
        for (n, item) in self.items.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            match item {
                FeedItem::Event(e) => out.push_str(e.json()),
                FeedItem::Barrier(id) => out.push_str(&id.to_string()),
            }
        }
        out.push(']');
        out
    }
}

/// A session's events for a host language (Python, JavaScript, C, uniffi): taken in batches, either
/// when notified ([`set_notify`](Self::set_notify) + [`take`](Self::take)) or by awaiting
/// [`next_batch`](Self::next_batch). Non-delta events are never dropped; deltas beyond the buffer are
/// dropped and counted. [`barrier`](Self::barrier) marks "everything emitted so far", so a host can
/// settle `sendAndWait` only after its handlers saw the send's events. Dropping it unsubscribes.
#[derive(Debug)]
pub struct EventFeed {
    sub: Arc<Subscriber>,
}

impl EventFeed {
    pub(crate) fn new(sub: Arc<Subscriber>) -> Self {
        EventFeed { sub }
    }

    /// Calls `notify` (on the emitting thread) when items arrive and the host has not been told yet;
    /// after a [`take`](Self::take) the next item notifies again. Called at once if items are waiting.
    pub fn set_notify(&self, notify: impl Fn() + Send + Sync + 'static) {
        let mut q = lock(&self.sub.state);
        q.notify = Some(Arc::new(notify));
        q.scheduled = false;
        if !q.items.is_empty() || q.closed {
            Subscriber::wake(q);
        }
    }

    /// Takes up to `max` items without waiting; `None` once the feed is closed and empty.
    pub fn take(&self, max: usize) -> Option<FeedBatch> {
        self.sub.take(max)
    }

    /// Waits for at least one item (or a drop count), then takes up to `max`; `None` once the feed
    /// is closed and empty.
    pub async fn next_batch(&self, max: usize) -> Option<FeedBatch> {
        std::future::poll_fn(|cx| self.sub.poll_batch(cx, max)).await
    }

    /// Queues a barrier behind every event emitted so far and returns its id.
    pub fn barrier(&self) -> u64 {
        self.sub.barrier()
    }

    /// Ends the feed: a pending [`next_batch`](Self::next_batch) returns what is queued, then `None`.
    pub fn close(&self) {
        self.sub.close();
    }
}

impl Drop for EventFeed {
    fn drop(&mut self) {
        self.sub.close();
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
        let parent_id = s.last_id.replace(id.clone());
        let event = Event::new(
            id,
            rfc3339_millis(SystemTime::now()),
            parent_id,
            data,
            s.seq,
        );
        if !event.ephemeral {
            s.log.push(event.clone());
        }
        s.subscribers.retain(|sub| Arc::strong_count(sub) > 1);
        let mut wakes = Vec::new();
        for sub in &s.subscribers {
            if let Some(w) = sub.push(&event) {
                wakes.push(w);
            }
        }
        drop(s);
        for w in wakes {
            w.fire();
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
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, SystemTime};

    use super::*;

    fn delta(text: &str) -> EventData {
        EventData::MessageDelta(MessageDeltaData {
            message_id: "m".into(),
            delta_content: text.into(),
        })
    }

    fn turn(id: &str) -> EventData {
        EventData::TurnStart(TurnData { turn_id: id.into() })
    }

    fn kinds(batch: &FeedBatch) -> Vec<String> {
        batch
            .items
            .iter()
            .map(|i| match i {
                FeedItem::Event(e) => e.kind().to_owned(),
                FeedItem::Barrier(n) => format!("barrier {n}"),
            })
            .collect()
    }

    #[test]
    fn a_feed_notifies_once_until_taken_and_keeps_order_with_barriers() {
        let bus = EventBus::default();
        let feed = EventFeed::new(bus.subscribe(8, Interest::All));
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        feed.set_notify(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        });
        bus.emit(turn("1"));
        bus.emit(delta("a"));
        let b = feed.barrier();
        bus.emit(delta("b"));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "one notify until the host takes"
        );
        let batch = feed.take(usize::MAX).expect("items");
        assert_eq!(
            kinds(&batch),
            [
                "assistant.turn_start",
                "assistant.message_delta",
                &format!("barrier {b}"),
                "assistant.message_delta"
            ]
        );
        bus.emit(turn("2"));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "the next item notifies again"
        );
        // A bounded take leaves the rest and notifies again, so nothing is stranded.
        bus.emit(turn("3"));
        let first = feed.take(1).expect("one");
        assert_eq!(kinds(&first), ["assistant.turn_start"]);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(feed.take(10).expect("rest").items.len(), 1);
        bus.close();
        let last = feed.take(10);
        assert!(last.is_none(), "closed and empty");
    }

    #[test]
    fn a_lagging_feed_drops_only_deltas_and_counts_them() {
        let bus = EventBus::default();
        let feed = EventFeed::new(bus.subscribe(2, Interest::All));
        for i in 0..5 {
            bus.emit(delta(&i.to_string()));
            bus.emit(turn(&i.to_string()));
        }
        let batch = feed.take(usize::MAX).expect("items");
        assert_eq!(batch.skipped, 3, "3 of 5 deltas dropped with a buffer of 2");
        let turns = kinds(&batch)
            .iter()
            .filter(|k| *k == "assistant.turn_start")
            .count();
        assert_eq!(turns, 5, "non-delta events are never dropped");
    }

    #[test]
    fn events_are_shared_and_their_json_rendered_once() {
        let bus = EventBus::default();
        let a = EventFeed::new(bus.subscribe(8, Interest::All));
        let b = EventFeed::new(bus.subscribe(8, Interest::All));
        bus.emit(turn("1"));
        let (FeedItem::Event(ea), FeedItem::Event(eb)) = (
            a.take(1).expect("a").items.remove(0),
            b.take(1).expect("b").items.remove(0),
        ) else {
            panic!("events expected");
        };
        assert!(
            Arc::ptr_eq(&ea.0, &eb.0),
            "one allocation for every subscriber"
        );
        assert!(std::ptr::eq(ea.json(), eb.json()), "JSON rendered once");
        let json: serde_json::Value = serde_json::from_str(ea.json()).expect("json");
        assert_eq!(json["type"], "assistant.turn_start");
        assert_eq!(json["data"]["turnId"], "1");
        let batch = FeedBatch {
            items: vec![FeedItem::Event(ea.clone()), FeedItem::Barrier(7)],
            ..Default::default()
        };
        let array: serde_json::Value = serde_json::from_str(&batch.to_json()).expect("array");
        assert_eq!(array[1], 7);
        assert_eq!(array[0]["type"], "assistant.turn_start");
    }

    #[tokio::test]
    async fn next_batch_waits_for_items_and_ends_after_close() {
        let bus = Arc::new(EventBus::default());
        let feed = EventFeed::new(bus.subscribe(8, Interest::All));
        let emitter = bus.clone();
        let task = tokio::spawn(async move {
            tokio::task::yield_now().await;
            emitter.emit(turn("1"));
            emitter.close();
        });
        let mut received = feed.next_batch(16).await.expect("a batch").items.len();
        assert_eq!(received, 1, "woken by the first event");
        task.await.expect("emitter");
        while let Some(b) = feed.next_batch(16).await {
            received += b.items.len();
        }
        assert_eq!(received, 1, "nothing more, and the feed ended after close");
    }

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
