//! Session events: the envelope and every event type with its exact JSON shape. They depend on
//! nothing but errors, so the store can keep them and the session's bus can deliver them
//! (`crate::session::events` re-exports both).

use std::sync::{Arc, OnceLock};

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

    /// Whether the JSON text has been rendered already.
    #[cfg(test)]
    pub(crate) fn json_rendered(&self) -> bool {
        self.0.json.get().is_some()
    }

    /// The event's `data` alone as JSON text (camelCase wire shape): what the uniffi and Python
    /// bindings hand out as the event's data.
    pub fn data_json(&self) -> String {
        match serde_json::to_value(&self.data) {
            Ok(Value::Object(mut tagged)) => tagged.remove("data").unwrap_or_default().to_string(),
            _ => Value::Null.to_string(),
        }
    }

    /// The event as its JSON value (camelCase wire shape).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The event's JSON text (camelCase wire shape), rendered once and shared by every caller: what
    /// bindings hand to JavaScript, Python or C.
    pub fn json(&self) -> &str {
        self.0.json.get_or_init(|| {
            // Cannot fail for core's event types; `null` keeps a batch valid JSON if it did.
            serde_json::to_string(&*self.0)
                .unwrap_or_else(|_| "null".to_owned())
                .into()
        })
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
    /// `permission.requested`: the permission handler is asked about a tool call.
    #[serde(rename = "permission.requested")]
    PermissionRequested(PermissionRequestedData),
    /// `permission.completed`: the permission handler answered.
    #[serde(rename = "permission.completed")]
    PermissionCompleted(PermissionCompletedData),
    /// `hook.start`: a session hook is called.
    #[serde(rename = "hook.start")]
    HookStart(HookStartData),
    /// `hook.end`: a session hook answered (or failed).
    #[serde(rename = "hook.end")]
    HookEnd(HookEndData),
    /// `session.model_change`: `set_model` switched the model.
    #[serde(rename = "session.model_change")]
    ModelChange(ModelChangeData),
    /// `session.resume`: the session was resumed by `resume_session`.
    #[serde(rename = "session.resume")]
    SessionResume(SessionResumeData),
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
    /// `session.usage_info` (ephemeral): how full the context window is, after each model call
    /// (when the window is known).
    #[serde(rename = "session.usage_info")]
    UsageInfo(UsageInfoData),
    /// `session.compaction_start`: the history is being compacted.
    #[serde(rename = "session.compaction_start")]
    CompactionStart(CompactionStartData),
    /// `session.compaction_complete`: the compaction ended.
    #[serde(rename = "session.compaction_complete")]
    CompactionComplete(CompactionCompleteData),
    /// `session.mcp_servers_loaded`: how each MCP server started, right after `session.start`
    /// (or `session.resume`). Kept in the log (the Copilot CLI sends it ephemeral) so an
    /// application that subscribes after creating the session still reads it.
    #[serde(rename = "session.mcp_servers_loaded")]
    McpServersLoaded(McpServersLoadedData),
    /// `session.mcp_server_status_changed` (ephemeral): an MCP server stopped, is starting again,
    /// or started again.
    #[serde(rename = "session.mcp_server_status_changed")]
    McpServerStatusChanged(McpServerStatusChangedData),
    /// `session.idle` (ephemeral): the send is over; always its last event.
    #[serde(rename = "session.idle")]
    SessionIdle(SessionIdleData),
}

impl EventData {
    /// The JSON `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            EventData::SessionStart(_) => "session.start",
            EventData::SessionResume(_) => "session.resume",
            EventData::ModelChange(_) => "session.model_change",
            EventData::HookStart(_) => "hook.start",
            EventData::PermissionRequested(_) => "permission.requested",
            EventData::PermissionCompleted(_) => "permission.completed",
            EventData::HookEnd(_) => "hook.end",
            EventData::UsageInfo(_) => "session.usage_info",
            EventData::CompactionStart(_) => "session.compaction_start",
            EventData::CompactionComplete(_) => "session.compaction_complete",
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
            EventData::McpServersLoaded(_) => "session.mcp_servers_loaded",
            EventData::McpServerStatusChanged(_) => "session.mcp_server_status_changed",
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
                | EventData::UsageInfo(_)
                | EventData::SessionIdle(_)
                | EventData::McpServerStatusChanged(_)
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

/// `session.mcp_servers_loaded` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpServersLoadedData {
    /// Every configured server, in name order.
    pub servers: Vec<McpServerInfo>,
}

/// One MCP server as `session.mcp_servers_loaded` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpServerInfo {
    /// Its name in `mcpServers`.
    pub name: String,
    /// "connected" or "failed".
    pub status: String,
    /// "stdio" or "http".
    pub transport: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `session.mcp_server_status_changed` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpServerStatusChangedData {
    /// Its name in `mcpServers`.
    pub server_name: String,
    /// "failed" (it stopped, or did not start again), "pending" (starting again) or "connected".
    pub status: String,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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

/// `session.usage_info` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageInfoData {
    /// The prompt window in tokens.
    pub token_limit: u64,
    /// The tokens the next request would use: the provider's count for the last call plus an
    /// estimate of what was added since.
    pub current_tokens: u64,
    /// Messages in the history.
    pub messages_length: u64,
}

/// `session.compaction_start` data (none).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompactionStartData {}

/// `session.compaction_complete` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompactionCompleteData {
    /// Whether the older history was summarised. False when nothing could be removed, or when the
    /// summary call failed and the oldest turns were dropped instead (`error` says which).
    pub success: bool,
    /// What went wrong.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Estimated tokens before.
    pub pre_compaction_tokens: u64,
    /// Estimated tokens after.
    pub post_compaction_tokens: u64,
    /// History messages replaced by the summary (or dropped).
    pub messages_removed: u64,
}

/// `permission.requested` data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRequestedData {
    /// Pairs this event with its `permission.completed`.
    pub request_id: String,
    /// What the handler is asked: {kind, sessionId, toolName, toolCallId, arguments}.
    pub permission_request: Value,
}

/// `permission.completed` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionCompletedData {
    /// The request it answers.
    pub request_id: String,
    /// The decision.
    pub result: PermissionResultData,
}

/// A permission decision's kind: approve-once, approve-for-session, reject, user-not-available,
/// no-result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionResultData {
    /// The kind.
    pub kind: String,
}

/// `hook.start` data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookStartData {
    /// Pairs this event with its `hook.end`.
    pub hook_invocation_id: String,
    /// "preToolUse", "postToolUse", "userPromptSubmitted", ...
    pub hook_type: String,
    /// What the hook is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
}

/// `hook.end` data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookEndData {
    /// The `hook.start` it ends.
    pub hook_invocation_id: String,
    /// The hook type.
    pub hook_type: String,
    /// Whether the hook answered.
    pub success: bool,
    /// What it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<HookEndError>,
}

/// A hook's failure.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookEndError {
    /// The message.
    pub message: String,
    /// A stack trace, when the host has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
}

/// `session.model_change` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelChangeData {
    /// The model before.
    pub previous_model: String,
    /// The model from the next model call on.
    pub new_model: String,
}

/// `session.resume` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResumeData {
    /// When the session was resumed (RFC 3339, UTC, milliseconds).
    pub resume_time: String,
    /// How many events the session's log held before this one.
    pub event_count: u64,
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
    /// A fallback (reason "fallback"): the model that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// A fallback: the model that is tried next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
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

/// Every event `type` modelport emits.
pub const EVENT_TYPES: [&str; 27] = [
    "session.start",
    "session.resume",
    "session.model_change",
    "session.error",
    "session.idle",
    "session.usage_info",
    "session.compaction_start",
    "session.compaction_complete",
    "session.mcp_servers_loaded",
    "session.mcp_server_status_changed",
    "user.message",
    "assistant.turn_start",
    "assistant.turn_end",
    "assistant.turn_retry",
    "assistant.message_start",
    "assistant.message_delta",
    "assistant.reasoning_delta",
    "assistant.reasoning",
    "assistant.message",
    "assistant.usage",
    "tool.execution_start",
    "tool.execution_complete",
    "abort",
    "hook.start",
    "hook.end",
    "permission.requested",
    "permission.completed",
];

/// Event types of the GitHub Copilot SDK (its generated `SessionEventType`) that modelport never
/// emits. Subscribing to them is allowed, so code moved from the Copilot SDK keeps working; their
/// handlers are simply never called.
pub const COPILOT_ONLY_EVENT_TYPES: [&str; 55] = [
    "session.remote_steerable_changed",
    "session.title_changed",
    "session.schedule_created",
    "session.schedule_cancelled",
    "session.info",
    "session.warning",
    "session.mode_changed",
    "session.plan_changed",
    "session.workspace_file_changed",
    "session.handoff",
    "session.truncation",
    "session.snapshot_rewind",
    "session.shutdown",
    "session.context_changed",
    "session.task_complete",
    "pending_messages.modified",
    "assistant.intent",
    "assistant.streaming_delta",
    "model.call_failure",
    "tool.user_requested",
    "tool.execution_partial_result",
    "tool.execution_progress",
    "skill.invoked",
    "subagent.started",
    "subagent.completed",
    "subagent.failed",
    "subagent.selected",
    "subagent.deselected",
    "system.message",
    "system.notification",
    "user_input.requested",
    "user_input.completed",
    "elicitation.requested",
    "elicitation.completed",
    "sampling.requested",
    "sampling.completed",
    "mcp.oauth_required",
    "mcp.oauth_completed",
    "session.custom_notification",
    "external_tool.requested",
    "external_tool.completed",
    "command.queued",
    "command.execute",
    "command.completed",
    "auto_mode_switch.requested",
    "auto_mode_switch.completed",
    "commands.changed",
    "capabilities.changed",
    "exit_plan_mode.requested",
    "exit_plan_mode.completed",
    "session.tools_updated",
    "session.background_tasks_changed",
    "session.skills_loaded",
    "session.custom_agents_updated",
    "mcp_app.tool_call_complete",
];

/// Checks an event type given to `on(...)`: `"*"`, a type modelport emits, or a Copilot SDK type
/// (accepted, never emitted). Anything else is a Config error listing the valid names, so a typo
/// does not silently subscribe to nothing.
pub fn check_event_type(kind: &str) -> crate::error::Result<()> {
    if kind == "*" || EVENT_TYPES.contains(&kind) || COPILOT_ONLY_EVENT_TYPES.contains(&kind) {
        return Ok(());
    }
    let close: Vec<&str> = EVENT_TYPES
        .iter()
        .copied()
        .filter(|t| edit_distance(t, kind) <= 2)
        .collect();
    let hint = if close.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", close.join(" or "))
    };
    Err(crate::error::Error::config(format!(
        "on(\"{kind}\"): not an event type{hint}. modelport emits: {}; \"*\" subscribes to all",
        EVENT_TYPES.join(", ")
    )))
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod type_tests {
    use super::*;

    #[test]
    fn every_emitted_kind_is_listed_and_typos_are_refused() {
        // Every emitted name is accepted and is not also listed as a Copilot-only name.
        for kind in EVENT_TYPES {
            assert!(check_event_type(kind).is_ok());
            assert!(!COPILOT_ONLY_EVENT_TYPES.contains(&kind), "{kind}");
        }
        assert!(check_event_type("*").is_ok());
        assert!(check_event_type("subagent.started").is_ok());
        let e = check_event_type("assistant.mesage").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert!(
            e.message().contains("did you mean assistant.message"),
            "{e}"
        );
        assert!(e.message().contains("session.idle"), "{e}");
        assert!(check_event_type("").is_err());
    }

    #[test]
    fn data_json_is_the_data_member_of_the_event_json() {
        let event = Event::new(
            "e1".into(),
            "2026-01-01T00:00:00.000Z".into(),
            None,
            EventData::MessageDelta(MessageDeltaData {
                message_id: "m1".into(),
                delta_content: "Hel".into(),
            }),
            1,
        );
        // The Copilot SDK's assistant.message_delta data: {messageId, deltaContent}.
        let data: Value = serde_json::from_str(&event.data_json()).expect("JSON");
        assert_eq!(
            data,
            serde_json::json!({"messageId": "m1", "deltaContent": "Hel"})
        );
        let whole: Value = serde_json::from_str(event.json()).expect("JSON");
        assert_eq!(whole["data"], data);
    }
}
