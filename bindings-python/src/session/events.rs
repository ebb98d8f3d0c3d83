//! Session events as Python objects: [`Event`] wraps the core event (shared, not copied) and reads its
//! fields on access; [`EventData`] has every data field of every event type as an attribute (`None`
//! where the type does not have it), like the Copilot SDK's `Data`. `to_dict()` gives the exact
//! camelCase wire JSON.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;

use modelport::session::events::{
    Attachment as CoreAttachment, EventData as Data, McpServerInfo as CoreMcpServerInfo,
};

/// The `modelport.events.EventType` member of each event type.
static EVENT_TYPES: PyOnceLock<HashMap<String, Py<PyAny>>> = PyOnceLock::new();

fn event_type(py: Python<'_>, kind: &str) -> PyResult<Py<PyAny>> {
    let members = EVENT_TYPES.get_or_try_init(py, || -> PyResult<_> {
        let class = py.import("modelport.events")?.getattr("EventType")?;
        let mut members = HashMap::new();
        for member in class.try_iter()? {
            let member = member?;
            members.insert(
                member.getattr("value")?.extract::<String>()?,
                member.unbind(),
            );
        }
        Ok(members)
    })?;
    // A type newer than the Python package: the plain string.
    Ok(members.get(kind).map_or_else(
        || PyString::new(py, kind).into_any().unbind(),
        |m| m.clone_ref(py),
    ))
}

static JSON_LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// JSON text as Python objects (dict, list, str, int, float, bool, None), read by the standard
/// library's `json.loads`.
pub(crate) fn json_to_py(py: Python<'_>, json: &str) -> PyResult<Py<PyAny>> {
    let loads = JSON_LOADS.import(py, "json", "loads")?;
    Ok(loads.call1((json,))?.unbind())
}

/// One session event: `type` (an `EventType`), `id`, `timestamp`, `parent_id`, `ephemeral`, `data`.
#[pyclass(frozen, module = "modelport._native")]
pub(crate) struct Event {
    inner: modelport::Event,
}

impl From<modelport::Event> for Event {
    fn from(event: modelport::Event) -> Self {
        Event { inner: event }
    }
}

#[pymethods]
impl Event {
    /// The event type, e.g. `EventType.ASSISTANT_MESSAGE` (a str Enum).
    #[getter(r#type)]
    fn kind(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        event_type(py, self.inner.kind())
    }

    /// A UUID v4.
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }

    /// RFC 3339 UTC with milliseconds.
    #[getter]
    fn timestamp(&self) -> &str {
        &self.inner.timestamp
    }

    /// The id of the session's previous event (`None` for the first).
    #[getter]
    fn parent_id(&self) -> Option<&str> {
        self.inner.parent_id.as_deref()
    }

    /// Whether the event is transient (not kept by `get_events()`).
    #[getter]
    fn ephemeral(&self) -> bool {
        self.inner.ephemeral
    }

    /// The event's data.
    #[getter]
    fn data(&self) -> EventData {
        EventData {
            inner: self.inner.clone(),
        }
    }

    /// The event as its camelCase wire JSON (`{id, timestamp, parentId, ephemeral?, type, data}`).
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        json_to_py(py, self.inner.json())
    }

    fn __repr__(&self) -> String {
        format!(
            "Event(type='{}', id='{}')",
            self.inner.kind(),
            self.inner.id
        )
    }
}

/// The data of an event: every field of every event type; `None` where this type has none.
#[pyclass(frozen, module = "modelport._native")]
pub(crate) struct EventData {
    inner: modelport::Event,
}

impl EventData {
    fn data(&self) -> &Data {
        &self.inner.data
    }
}

/// Generates [`EventData`]'s `#[pymethods]`: the methods given first as they are, then one getter
/// per `name -> type { pattern => value, ... }` line, reading the typed core data (`None` for every
/// other event type). Adding a field to a core event is one line here and one in `_native.pyi`.
macro_rules! event_data_methods {
    (
        { $($methods:tt)* }
        $($(#[$doc:meta])* $name:ident -> $ty:ty { $($pat:pat => $val:expr),+ })*
    ) => {
        #[pymethods]
        impl EventData {
            $($methods)*
            $(
                $(#[$doc])*
                #[getter]
                fn $name(&self) -> Option<$ty> {
                    match self.data() {
                        $($pat => $val,)+
                        _ => None,
                    }
                }
            )*
        }
    };
}

event_data_methods! {
    {
        /// The data as its camelCase wire JSON.
        fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
            json_to_py(py, &self.inner.data_json())
        }

        fn __repr__(&self) -> String {
            format!("EventData({})", self.inner.data_json())
        }

        /// `assistant.message`.
        #[getter]
        fn tool_requests(&self, py: Python<'_>) -> PyResult<Option<Vec<ToolRequest>>> {
            let Data::AssistantMessage(d) = self.data() else {
                return Ok(None);
            };
            let Some(requests) = &d.tool_requests else {
                return Ok(None);
            };
            requests
                .iter()
                .map(|r| {
                    Ok(ToolRequest {
                        tool_call_id: r.tool_call_id.clone(),
                        name: r.name.clone(),
                        arguments: json_to_py(py, &r.arguments.to_string())?,
                    })
                })
                .collect::<PyResult<Vec<_>>>()
                .map(Some)
        }

        /// `tool.execution_start`: the parsed arguments.
        #[getter]
        fn arguments(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
            match self.data() {
                Data::ToolExecutionStart(d) => json_to_py(py, &d.arguments.to_string()).map(Some),
                _ => Ok(None),
            }
        }
    }
    /// `session.start`.
    session_id -> &str { Data::SessionStart(d) => Some(&d.session_id) }
    /// `session.start`.
    selected_model -> &str { Data::SessionStart(d) => Some(&d.selected_model) }
    /// `session.resume`: when the session was resumed.
    resume_time -> &str { Data::SessionResume(d) => Some(&d.resume_time) }
    /// `session.resume`: how many events the session's log held before it.
    event_count -> u64 { Data::SessionResume(d) => Some(d.event_count) }
    /// `user.message`, `assistant.message`, `assistant.reasoning`.
    content -> &str {
        Data::UserMessage(d) => Some(&d.content),
        Data::AssistantMessage(d) => Some(&d.content),
        Data::Reasoning(d) => Some(&d.content)
    }
    /// `user.message`.
    attachments -> Vec<Attachment> {
        Data::UserMessage(d) => d
            .attachments
            .as_ref()
            .map(|a| a.iter().map(Attachment::from).collect())
    }
    /// `assistant.turn_start`, `assistant.turn_end`, `assistant.turn_retry`.
    turn_id -> &str {
        Data::TurnStart(d) | Data::TurnEnd(d) => Some(&d.turn_id),
        Data::TurnRetry(d) => Some(&d.turn_id)
    }
    /// `assistant.turn_retry`, `abort`.
    reason -> &str { Data::TurnRetry(d) => Some(&d.reason), Data::Abort(d) => Some(&d.reason) }
    /// `assistant.turn_retry`.
    delay_ms -> u64 { Data::TurnRetry(d) => Some(d.delay_ms) }
    /// `assistant.turn_retry`.
    attempt -> u32 { Data::TurnRetry(d) => Some(d.attempt) }
    /// `assistant.turn_retry`, `session.error`.
    status_code -> u16 {
        Data::TurnRetry(d) => d.status_code,
        Data::SessionError(d) => d.status_code
    }
    /// `assistant.message_start`, `assistant.message_delta`, `assistant.message`.
    message_id -> &str {
        Data::MessageStart(d) => Some(&d.message_id),
        Data::MessageDelta(d) => Some(&d.message_id),
        Data::AssistantMessage(d) => Some(&d.message_id)
    }
    /// `assistant.message_delta`, `assistant.reasoning_delta`.
    delta_content -> &str {
        Data::MessageDelta(d) => Some(&d.delta_content),
        Data::ReasoningDelta(d) => Some(&d.delta_content)
    }
    /// `assistant.reasoning_delta`, `assistant.reasoning`.
    reasoning_id -> &str {
        Data::ReasoningDelta(d) => Some(&d.reasoning_id),
        Data::Reasoning(d) => Some(&d.reasoning_id)
    }
    /// `assistant.message`.
    reasoning_text -> &str { Data::AssistantMessage(d) => d.reasoning_text.as_deref() }
    /// `assistant.message`, `assistant.usage`.
    model -> &str { Data::AssistantMessage(d) => Some(&d.model), Data::Usage(d) => Some(&d.model) }
    /// `assistant.usage`.
    input_tokens -> u64 { Data::Usage(d) => Some(d.input_tokens) }
    /// `assistant.usage`.
    output_tokens -> u64 { Data::Usage(d) => Some(d.output_tokens) }
    /// `assistant.usage`.
    cache_read_tokens -> u64 { Data::Usage(d) => Some(d.cache_read_tokens) }
    /// `assistant.usage`.
    cache_write_tokens -> u64 { Data::Usage(d) => Some(d.cache_write_tokens) }
    /// `assistant.usage`.
    reasoning_tokens -> u64 { Data::Usage(d) => Some(d.reasoning_tokens) }
    /// `assistant.usage`: the model call's duration in milliseconds.
    duration -> u64 { Data::Usage(d) => Some(d.duration) }
    /// `assistant.usage` (`None` for non-streaming calls).
    time_to_first_token_ms -> u64 { Data::Usage(d) => d.time_to_first_token_ms }
    /// `assistant.usage`.
    finish_reason -> &str { Data::Usage(d) => d.finish_reason.as_deref() }
    /// `tool.execution_start`, `tool.execution_complete`.
    tool_call_id -> &str {
        Data::ToolExecutionStart(d) => Some(&d.tool_call_id),
        Data::ToolExecutionComplete(d) => Some(&d.tool_call_id)
    }
    /// `tool.execution_start`.
    tool_name -> &str { Data::ToolExecutionStart(d) => Some(&d.tool_name) }
    /// `tool.execution_complete`, `session.compaction_complete`.
    success -> bool {
        Data::ToolExecutionComplete(d) => Some(d.success),
        Data::CompactionComplete(d) => Some(d.success)
    }
    /// `tool.execution_complete`: what the model saw.
    result -> ToolExecutionResult {
        Data::ToolExecutionComplete(d) => d.result.as_ref().map(|r| ToolExecutionResult {
            content: r.content.clone(),
        })
    }
    /// `tool.execution_complete`: why the call did not succeed; `session.compaction_complete`,
    /// `session.mcp_server_status_changed`: what went wrong (a str).
    error -> ErrorField {
        Data::ToolExecutionComplete(d) => d.error.as_ref().map(|e| {
            ErrorField::Tool(ToolExecutionError {
                message: e.message.clone(),
                code: e.code.clone(),
            })
        }),
        Data::CompactionComplete(d) => d.error.clone().map(ErrorField::Text),
        Data::McpServerStatusChanged(d) => d.error.clone().map(ErrorField::Text)
    }
    /// `session.error`.
    error_type -> &str { Data::SessionError(d) => Some(&d.error_type) }
    /// `session.error`.
    message -> &str { Data::SessionError(d) => Some(&d.message) }
    /// `session.error`.
    provider_code -> &str { Data::SessionError(d) => d.provider_code.as_deref() }
    /// `session.error`.
    request_id -> &str { Data::SessionError(d) => d.request_id.as_deref() }
    /// `session.usage_info`: the prompt window in tokens.
    token_limit -> u64 { Data::UsageInfo(d) => Some(d.token_limit) }
    /// `session.usage_info`: the tokens the next request would carry.
    current_tokens -> u64 { Data::UsageInfo(d) => Some(d.current_tokens) }
    /// `session.usage_info`: messages in the history.
    messages_length -> u64 { Data::UsageInfo(d) => Some(d.messages_length) }
    /// `session.compaction_complete`.
    pre_compaction_tokens -> u64 { Data::CompactionComplete(d) => Some(d.pre_compaction_tokens) }
    /// `session.compaction_complete`.
    post_compaction_tokens -> u64 { Data::CompactionComplete(d) => Some(d.post_compaction_tokens) }
    /// `session.compaction_complete`: history messages replaced by the summary (or dropped).
    messages_removed -> u64 { Data::CompactionComplete(d) => Some(d.messages_removed) }
    /// `session.idle`: `True` when the send was aborted.
    aborted -> bool { Data::SessionIdle(d) => d.aborted }
    /// `session.mcp_servers_loaded`: every configured server, in name order.
    servers -> Vec<McpServerInfo> {
        Data::McpServersLoaded(d) => Some(d.servers.iter().map(McpServerInfo::from).collect())
    }
    /// `session.mcp_server_status_changed`: the server's name in `mcp_servers`.
    server_name -> &str { Data::McpServerStatusChanged(d) => Some(&d.server_name) }
    /// `session.mcp_server_status_changed`: "failed", "pending" (starting again) or "connected".
    status -> &str { Data::McpServerStatusChanged(d) => Some(&d.status) }
}

/// One MCP server as `session.mcp_servers_loaded` reports it.
#[pyclass(frozen, get_all, module = "modelport._native")]
pub(crate) struct McpServerInfo {
    /// Its name in `mcp_servers`.
    name: String,
    /// "connected" or "failed".
    status: String,
    /// "stdio" or "http".
    transport: String,
    /// Why it failed.
    error: Option<String>,
}

impl From<&CoreMcpServerInfo> for McpServerInfo {
    fn from(s: &CoreMcpServerInfo) -> Self {
        McpServerInfo {
            name: s.name.clone(),
            status: s.status.clone(),
            transport: s.transport.clone(),
            error: s.error.clone(),
        }
    }
}

/// An image sent with a user message.
#[pyclass(frozen, get_all, module = "modelport._native")]
pub(crate) struct Attachment {
    /// Always `"blob"`.
    #[pyo3(name = "type")]
    kind: String,
    /// The bytes, base64-encoded.
    data: String,
    /// `image/png`, ...
    mime_type: String,
    /// An optional display name.
    display_name: Option<String>,
}

impl From<&CoreAttachment> for Attachment {
    fn from(a: &CoreAttachment) -> Self {
        match a {
            CoreAttachment::Blob {
                data,
                mime_type,
                display_name,
            } => Attachment {
                kind: "blob".to_owned(),
                data: data.clone(),
                mime_type: mime_type.clone(),
                display_name: display_name.clone(),
            },
        }
    }
}

/// A tool call the model requested.
#[pyclass(frozen, get_all, module = "modelport._native")]
pub(crate) struct ToolRequest {
    tool_call_id: String,
    name: String,
    arguments: Py<PyAny>,
}

/// What the model saw of a tool call.
#[pyclass(frozen, get_all, module = "modelport._native")]
pub(crate) struct ToolExecutionResult {
    content: String,
}

/// `EventData.error`: a tool call's [`ToolExecutionError`], or a compaction's message (as the Copilot
/// SDK's `Data.error` is either).
#[derive(IntoPyObject)]
pub(crate) enum ErrorField {
    Tool(ToolExecutionError),
    Text(String),
}

/// Why a tool call did not succeed: `code` is failure, denied, rejected or interrupted.
#[pyclass(frozen, get_all, module = "modelport._native")]
pub(crate) struct ToolExecutionError {
    message: String,
    code: Option<String>,
}
