//! Sessions: a conversation with one model, its tools, and the events of every send.

pub(crate) mod bus;
pub mod compaction;
pub(crate) mod context;
pub(crate) mod durable;
mod engine;
pub mod hooks;
pub mod output;
pub(crate) use engine::repair_history;
/// The event types and their delivery.
pub mod events {
    pub use super::bus::{EventFeed, EventStream, FeedBatch, FeedItem, Lagged};
    pub use crate::events::*;
}
pub(crate) mod model_call;
pub mod tools;

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result, TimeoutKind};
use crate::provider::{Endpoint, ProviderConfig};
use crate::secret::Headers;
use crate::types::{Message, ReasoningEffort, ToolChoice, ToolSpec};
use crate::util::lock;
use bus::{EventBus, Interest, Subscriber};
use context::ClientShared;
use events::{Attachment, EventData, EventStream};
pub use events::{Event, EventFeed, EventRecord, FeedBatch, FeedItem, Lagged};
use tools::{PermissionHandler, Tool};

/// How `system_message` combines with the default system prompt. modelport has no default prompt,
/// so both modes send exactly the given content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SystemMessageMode {
    /// Append to the default prompt.
    #[default]
    Append,
    /// Replace the default prompt.
    Replace,
}

/// The session's system prompt.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemMessage {
    /// append (default) or replace.
    #[serde(default)]
    pub mode: SystemMessageMode,
    /// The prompt text.
    #[serde(default)]
    pub content: String,
}

/// How to create a session. Deserialises from the Copilot SDK's camelCase JSON (snake_case works too);
/// tools and handlers are set from code.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionConfig {
    /// A session id to use (a UUID is generated otherwise).
    #[serde(default, alias = "session_id")]
    pub session_id: Option<String>,
    /// The model (deployment name on Azure); required with a provider.
    #[serde(default)]
    pub model: Option<String>,
    /// The provider; the Client's default provider when absent.
    #[serde(default)]
    pub provider: Option<ProviderConfig>,
    /// Tools the model may call.
    #[serde(skip)]
    pub tools: Vec<Tool>,
    /// The system prompt.
    #[serde(default, alias = "system_message")]
    pub system_message: Option<SystemMessage>,
    /// Stream the answers (deltas as events). Default false.
    #[serde(default)]
    pub streaming: bool,
    /// low, medium or high.
    #[serde(default, alias = "reasoning_effort")]
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Only these tools are offered (by name).
    #[serde(default, alias = "available_tools")]
    pub available_tools: Option<Vec<String>>,
    /// These tools are never offered; wins over `available_tools`.
    #[serde(default, alias = "excluded_tools")]
    pub excluded_tools: Option<Vec<String>>,
    /// Asked before each tool call; approve by default.
    #[serde(skip)]
    pub on_permission_request: Option<PermissionHandler>,
    /// Session hooks (set from code: functions cannot be JSON).
    #[serde(skip)]
    pub hooks: Option<hooks::SessionHooks>,
    /// Tool choice (auto by default).
    #[serde(default, alias = "tool_choice")]
    pub tool_choice: ToolChoice,
    /// Whether the model may call several tools at once (default true).
    #[serde(default = "yes", alias = "parallel_tool_calls")]
    pub parallel_tool_calls: bool,
    /// Automatic compaction of the history before the context window fills up.
    #[serde(default, alias = "infinite_sessions")]
    pub infinite_sessions: compaction::InfiniteSessions,
    /// Sampling temperature (a send's `temperature` overrides it).
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, alias = "top_p")]
    pub top_p: Option<f64>,
    /// Stop sequences (Chat Completions and Anthropic).
    #[serde(default)]
    pub stop: Option<Vec<String>>,
    /// Sampling seed (Chat Completions).
    #[serde(default)]
    pub seed: Option<i64>,
    /// Output cap; overrides the provider's `maxOutputTokens`.
    #[serde(default, alias = "max_output_tokens")]
    pub max_output_tokens: Option<u32>,
    /// Provider-specific parameters merged last into every request body (never model, messages,
    /// input, stream or tools).
    #[serde(default, alias = "extra_body")]
    pub extra_body: Option<serde_json::Map<String, serde_json::Value>>,
    /// Model calls per send before it fails with a Limit error (default 100).
    #[serde(default, alias = "max_turns")]
    pub max_turns: Option<u32>,
    /// Models to try, in order, when a model call fails before any output with a retryable error
    /// after its retries (`"<provider>/<id>"` with a registry, else models of the same provider).
    #[serde(default, alias = "fallback_models")]
    pub fallback_models: Vec<String>,
    /// Answers as JSON: `{type: "json_schema", name, schema, strict?}` or `{type: "json_object"}`.
    #[serde(default, alias = "response_format")]
    pub response_format: Option<crate::types::ResponseFormat>,
    /// `resume_session` only: do not emit `session.resume`.
    #[serde(default, alias = "suppress_resume_event")]
    pub suppress_resume_event: bool,
    /// How long one hook call may take, in milliseconds (default 30 000); a hook past it fails as
    /// a hook that threw.
    #[serde(default, alias = "hook_timeout_ms")]
    pub hook_timeout_ms: Option<u64>,
    /// How many times `onAgentStop` may block one send (default 3).
    #[serde(default, alias = "max_agent_stop_blocks")]
    pub max_agent_stop_blocks: Option<u32>,
    /// How many retries `onErrorOccurred` may ask for in one send (default 2).
    #[serde(default, alias = "max_error_retries")]
    pub max_error_retries: Option<u32>,
    /// MCP servers whose tools the model may call, by server name (see [`crate::McpServerConfig`]).
    #[serde(default, alias = "mcp_servers")]
    pub mcp_servers: std::collections::BTreeMap<String, crate::mcp::McpServerConfig>,
}

fn yes() -> bool {
    true
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            session_id: None,
            model: None,
            provider: None,
            tools: Vec::new(),
            system_message: None,
            streaming: false,
            reasoning_effort: None,
            available_tools: None,
            excluded_tools: None,
            on_permission_request: None,
            hooks: None,
            tool_choice: ToolChoice::Auto,
            parallel_tool_calls: true,
            suppress_resume_event: false,
            temperature: None,
            top_p: None,
            stop: None,
            seed: None,
            max_output_tokens: None,
            extra_body: None,
            max_turns: None,
            response_format: None,
            fallback_models: Vec::new(),
            mcp_servers: std::collections::BTreeMap::new(),
            hook_timeout_ms: None,
            max_agent_stop_blocks: None,
            max_error_retries: None,
            infinite_sessions: compaction::InfiniteSessions::default(),
        }
    }
}

impl SessionConfig {
    /// The hooks with `hookTimeoutMs`, `maxAgentStopBlocks` and `maxErrorRetries` applied.
    pub(crate) fn hook_settings(&self) -> Result<hooks::SessionHooks> {
        let mut hooks = self.hooks.clone().unwrap_or_default();
        match self.hook_timeout_ms {
            Some(0) => {
                return Err(Error::config(
                    "hookTimeoutMs: 0 leaves a hook no time: give milliseconds above 0, or leave it \
                     out for 30 000",
                ));
            }
            Some(ms) => hooks.timeout = std::time::Duration::from_millis(ms),
            None => {}
        }
        if let Some(n) = self.max_agent_stop_blocks {
            hooks.max_agent_stop_blocks = n as usize;
        }
        if let Some(n) = self.max_error_retries {
            hooks.max_error_retries = n as usize;
        }
        Ok(hooks)
    }

    /// A config for `model` at `provider`.
    pub fn new(model: impl Into<String>, provider: ProviderConfig) -> Self {
        SessionConfig {
            model: Some(model.into()),
            provider: Some(provider),
            ..Default::default()
        }
    }

    /// Sets the model.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// Adds a tool.
    pub fn with_tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// Adds tools.
    pub fn with_tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        self.tools.extend(tools);
        self
    }

    /// Turns streaming on or off.
    pub fn with_streaming(mut self, streaming: bool) -> Self {
        self.streaming = streaming;
        self
    }

    /// Sets the system prompt.
    pub fn with_system_message(mut self, content: impl Into<String>) -> Self {
        self.system_message = Some(SystemMessage {
            mode: SystemMessageMode::Replace,
            content: content.into(),
        });
        self
    }

    /// Sets the permission handler.
    pub fn with_permission_handler(mut self, handler: PermissionHandler) -> Self {
        self.on_permission_request = Some(handler);
        self
    }

    /// Sets the session id.
    pub fn with_session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// Parses a JSON config, naming the path of any bad field.
    pub fn from_json(json: &str) -> Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            Error::config(format!(
                "invalid session config at `{path}`: {}",
                e.into_inner()
            ))
        })
    }
}

/// One message to send.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendOptions {
    /// The prompt.
    pub prompt: String,
    /// Images.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Headers for this message's model calls (same name overrides the provider's). Values of
    /// sensitive names are secrets, as in the provider's `headers`.
    #[serde(default, alias = "request_headers")]
    pub request_headers: Headers,
    /// Model controls for this message's model calls; each overrides the session's.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, alias = "top_p")]
    pub top_p: Option<f64>,
    /// Stop sequences.
    #[serde(default)]
    pub stop: Option<Vec<String>>,
    /// Sampling seed.
    #[serde(default)]
    pub seed: Option<i64>,
    /// Output cap.
    #[serde(default, alias = "max_output_tokens")]
    pub max_output_tokens: Option<u32>,
    /// Reasoning effort.
    #[serde(default, alias = "reasoning_effort")]
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Tool choice.
    #[serde(default, alias = "tool_choice")]
    pub tool_choice: Option<ToolChoice>,
    /// Whether the model may call several tools at once.
    #[serde(default, alias = "parallel_tool_calls")]
    pub parallel_tool_calls: Option<bool>,
    /// Provider-specific parameters, merged over the session's `extraBody`.
    #[serde(default, alias = "extra_body")]
    pub extra_body: Option<serde_json::Map<String, serde_json::Value>>,
    /// Model calls for this send.
    #[serde(default, alias = "max_turns")]
    pub max_turns: Option<u32>,
    /// The answer's shape for this send.
    #[serde(default, alias = "response_format")]
    pub response_format: Option<crate::types::ResponseFormat>,
    /// Cancels this send alone (an AbortSignal in Node): see [`SendCancel`]. Not part of the JSON.
    #[serde(skip)]
    pub cancel: Option<SendCancel>,
}

/// Cancels one send, unlike [`Session::abort`], which aborts whatever send runs: cancelled while the
/// send runs, it aborts it (as `abort` would); while the send is queued, the send is aborted as soon
/// as it starts (its `user.message`, whose prompt stays in the history as with any aborted send, an
/// `abort` event and an aborted `session.idle`, without a model call), and a `send_and_wait` of it
/// returns [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) at once; after the send ended, it
/// does nothing. Give a handle to one send.
#[derive(Clone, Debug, Default)]
pub struct SendCancel {
    cancel: CancellationToken,
    /// Fired when the send starts.
    started: CancellationToken,
    ended: CancellationToken,
}

impl SendCancel {
    /// A handle not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels the send given this handle.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves once the send given this handle has ended (its `session.idle`), or will never run
    /// (the session was disconnected first). What to wait for before dropping what would cancel it.
    pub async fn ended(&self) {
        self.ended.cancelled().await;
    }

    /// Cancels the send and, when it is running, waits until it has ended (as [`Session::abort`]
    /// does); for a send still queued it returns at once.
    pub async fn abort(&self) {
        self.cancel();
        if self.started.is_cancelled() {
            self.ended().await;
        }
    }
}

/// Marks its send ended when dropped: after the send ran, or with the queue of a closed session.
#[derive(Debug)]
pub(crate) struct SendEnded(CancellationToken);

impl Drop for SendEnded {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Handles do not take part in comparing send options (they have no value, only an identity).
impl PartialEq for SendCancel {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl SendOptions {
    /// Cancels this send alone when `cancel` is cancelled (see [`SendCancel`]).
    pub fn with_cancel(mut self, cancel: &SendCancel) -> Self {
        self.cancel = Some(cancel.clone());
        self
    }

    /// Adds an image (base64 data).
    pub fn with_image(mut self, mime_type: impl Into<String>, base64: impl Into<String>) -> Self {
        self.attachments.push(Attachment::Blob {
            data: base64.into(),
            mime_type: mime_type.into(),
            display_name: None,
        });
        self
    }

    /// Adds a header to this message's model calls.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request_headers.insert(name.into(), value.into());
        self
    }
}

impl SendOptions {
    /// Whether this send sets any model control of its own.
    fn has_controls(&self) -> bool {
        self.temperature.is_some()
            || self.top_p.is_some()
            || self.stop.is_some()
            || self.seed.is_some()
            || self.max_output_tokens.is_some()
            || self.reasoning_effort.is_some()
            || self.tool_choice.is_some()
            || self.parallel_tool_calls.is_some()
            || self.extra_body.is_some()
            || self.max_turns.is_some()
            || self.response_format.is_some()
    }

    /// Parses `{prompt, attachments?, requestHeaders?}` (or snake_case keys), naming the path of a
    /// bad field.
    pub fn from_json(json: &str) -> Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            Error::config(format!(
                "invalid send options at `{path}`: {} (send options are a JSON object: \
                 {{\"prompt\": \"...\", \"attachments\": [...], \"requestHeaders\": {{...}}}})",
                e.into_inner()
            ))
        })
    }
}

impl From<&str> for SendOptions {
    fn from(prompt: &str) -> Self {
        SendOptions {
            prompt: prompt.to_owned(),
            ..Default::default()
        }
    }
}

impl From<String> for SendOptions {
    fn from(prompt: String) -> Self {
        SendOptions {
            prompt,
            ..Default::default()
        }
    }
}

/// Model calls per send unless `maxTurns` says otherwise.
pub const DEFAULT_MAX_TURNS: usize = 100;

/// The default `send_and_wait` timeout.
pub const DEFAULT_SEND_AND_WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// What does not change during a session.
pub(crate) struct Settings {
    pub streaming: bool,
    pub system: Option<String>,
    pub tools: Vec<Tool>,
    pub specs: Vec<ToolSpec>,
    /// The reasoning effort the session starts with.
    pub reasoning_effort: Option<ReasoningEffort>,
    pub tool_choice: ToolChoice,
    pub parallel_tool_calls: bool,
    pub sampling: crate::types::Sampling,
    pub max_output_tokens: Option<u32>,
    pub extra_body: Option<serde_json::Map<String, serde_json::Value>>,
    pub max_turns: usize,
    /// The session's answer format, a strict schema already transformed.
    pub response_format: Option<crate::types::ResponseFormat>,
    /// `fallbackModels`, resolved.
    pub fallbacks: Vec<(String, Endpoint)>,
    pub permission: Option<PermissionHandler>,
    pub hooks: hooks::SessionHooks,
    /// The session's MCP servers, when it has any.
    pub mcp: Option<Arc<crate::mcp::Hub>>,
    pub provider: ProviderConfig,
    /// The prompt window in tokens, when known.
    pub window: Option<u64>,
    pub compaction: compaction::InfiniteSessions,
    /// Estimated tokens of what every request carries besides the history (system prompt, tools).
    pub fixed_tokens: u64,
}

pub(crate) struct PendingSend {
    pub event_id: String,
    pub options: SendOptions,
    pub headers: http::HeaderMap,
    /// The caller's span when it sent: the parent of the send's `invoke_agent` span (so a trace
    /// context the application propagated, e.g. through tracing-opentelemetry, continues here).
    pub caller: tracing::Span,
    /// The caller's handle for cancelling this send alone.
    pub cancel: Option<SendCancel>,
    /// Tells that handle the send has ended (dropped after the send, or with the queue).
    pub ended: Option<SendEnded>,
}

/// The model controls of one send: its own, else the session's, else the provider's.
#[derive(Clone, Debug)]
pub(crate) struct Controls {
    pub sampling: crate::types::Sampling,
    pub max_output_tokens: Option<u32>,
    pub reasoning_effort: Option<ReasoningEffort>,
    pub tool_choice: ToolChoice,
    pub parallel_tool_calls: bool,
    pub extra_body: Option<serde_json::Map<String, serde_json::Value>>,
    pub max_turns: usize,
    /// The answer's shape, a strict schema already transformed.
    pub response_format: Option<crate::types::ResponseFormat>,
}

impl Controls {
    /// The effective controls of `send` in `session` (SendOptions > SessionConfig > provider).
    pub(crate) fn of(session: &SessionInner, send: &SendOptions) -> Controls {
        let s = &session.settings;
        let state = lock(&session.state);
        let extra_body = match (&s.extra_body, &send.extra_body) {
            (Some(base), Some(over)) => {
                let mut merged = base.clone();
                merged.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
                Some(merged)
            }
            (base, over) => over.clone().or_else(|| base.clone()),
        };
        Controls {
            sampling: s.sampling.merged(&crate::types::Sampling {
                temperature: send.temperature,
                top_p: send.top_p,
                stop: send.stop.clone(),
                seed: send.seed,
            }),
            max_output_tokens: send
                .max_output_tokens
                .or(s.max_output_tokens)
                .or_else(|| state.endpoint.max_output_tokens()),
            reasoning_effort: send.reasoning_effort.or(state.reasoning_effort),
            tool_choice: send
                .tool_choice
                .clone()
                .unwrap_or_else(|| s.tool_choice.clone()),
            parallel_tool_calls: send.parallel_tool_calls.unwrap_or(s.parallel_tool_calls),
            extra_body,
            max_turns: send.max_turns.map_or(s.max_turns, |n| n as usize),
            // The session's format was prepared once at creation; a send's is prepared here.
            response_format: send
                .response_format
                .as_ref()
                .map(output::prepared)
                .or_else(|| s.response_format.clone()),
        }
    }

    /// Checks the controls against the session's wire format.
    pub(crate) fn check(&self, format: crate::WireFormat) -> Result<()> {
        self.sampling
            .check(format, self.reasoning_effort.is_some())?;
        if let Some(extra) = &self.extra_body {
            crate::wire::check_extra_body(extra)?;
        }
        if self.max_turns == 0 {
            return Err(Error::config("maxTurns must be at least 1"));
        }
        if let Some(f) = &self.response_format {
            f.check()?;
        }
        Ok(())
    }
}

/// What changes during a session.
pub(crate) struct State {
    pub model: String,
    pub endpoint: Endpoint,
    pub history: Vec<Message>,
    pub queue: VecDeque<PendingSend>,
    pub running: bool,
    /// The running send: its number and its cancellation token.
    pub current: Option<(u64, CancellationToken)>,
    pub sends: u64,
    pub turns: u64,
    pub closed: bool,
    pub tokens: compaction::TokenCount,
    /// The reasoning effort (set_model may change it).
    pub reasoning_effort: Option<ReasoningEffort>,
    /// `onSessionStart`'s additionalContext, sent after the system prompt.
    pub session_context: Option<String>,
    /// Tools approved for the session (`approve-for-session`).
    pub approved_tools: std::collections::HashSet<String>,
}

type HandlerFn = dyn Fn(&Event) + Send + Sync;

#[derive(Default)]
struct Handlers {
    next_id: u64,
    list: Vec<(u64, Option<String>, Arc<HandlerFn>)>,
    dispatcher: Option<Arc<Subscriber>>,
}

pub(crate) struct SessionInner {
    pub id: String,
    pub client: Arc<ClientShared>,
    pub settings: Settings,
    pub state: Mutex<State>,
    pub bus: EventBus,
    /// Cancelled by disconnect() and by the client's stop().
    pub cancel: CancellationToken,
    /// Woken whenever a send ends.
    pub idle: Notify,
    handlers: Mutex<Handlers>,
    /// The seq of the last event the on() handlers have been called for.
    delivered: AtomicU64,
    delivered_notify: Notify,
    pub runtime: tokio::runtime::Handle,
    /// The session's link to the store.
    pub durable: Option<Arc<durable::Durable>>,
    /// One permission question at a time: parallel calls of a tool approved for the session ask
    /// once, and a host's prompt shows one question.
    pub permission_gate: tokio::sync::Mutex<()>,
}

/// A conversation with one model. Cheap to clone; every clone is the same session.
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.inner.id)
            .finish_non_exhaustive()
    }
}

/// Returned by [`Session::on`]; call [`unsubscribe`](Subscription::unsubscribe) to stop the handler.
/// Dropping it leaves the handler registered.
#[derive(Debug)]
pub struct Subscription {
    session: Weak<SessionInner>,
    id: u64,
}

impl Subscription {
    /// Removes the handler.
    pub fn unsubscribe(self) {
        if let Some(s) = self.session.upgrade() {
            lock(&s.handlers).list.retain(|(id, _, _)| *id != self.id);
        }
    }
}

/// The tools an earlier process approved for the session, from its log: each
/// `permission.completed` of kind approve-for-session, matched with its request.
fn approved_in(log: &[Event]) -> std::collections::HashSet<String> {
    let mut requested = std::collections::HashMap::new();
    let mut approved = std::collections::HashSet::new();
    for e in log {
        match &e.data {
            EventData::PermissionRequested(r) => {
                let request = &r.permission_request;
                if let Some(name) = request["toolName"].as_str() {
                    let server = request["serverName"]
                        .as_str()
                        .filter(|_| request["kind"] == "mcp");
                    let key = approval_key(name, server.map(|s| (s, name)));
                    requested.insert(r.request_id.clone(), key);
                }
            }
            EventData::PermissionCompleted(c) if c.result.kind == "approve-for-session" => {
                if let Some(name) = requested.get(&c.request_id) {
                    approved.insert(name.clone());
                }
            }
            _ => {}
        }
    }
    approved
}

/// What an approve-for-session decision remembers: the tool's name, or for an MCP server's tool
/// `mcp:<server>/<tool>` (its exposed name can change when the server's list changes).
pub(crate) fn approval_key(name: &str, mcp: Option<(&str, &str)>) -> String {
    match mcp {
        Some((server, tool)) => format!("mcp:{server}/{tool}"),
        None => name.to_owned(),
    }
}

/// Whether a tool named `name` matches an `availableTools` / `excludedTools` pattern: the exact
/// name, a `*` glob, `custom:<name or glob>` (the application's tools), or `mcp:<server>/<tool or
/// glob>` (the server's tools by the server's own tool names; `mcp:<server>` for all of them).
/// `mcp` is an MCP tool's (server, own tool name).
pub(crate) fn tool_matches(pattern: &str, name: &str, mcp: Option<(&str, &str)>) -> bool {
    if let Some(p) = pattern.strip_prefix("custom:") {
        return mcp.is_none() && glob(p, name);
    }
    if let Some(p) = pattern.strip_prefix("mcp:") {
        let (server, tool) = p.split_once('/').unwrap_or((p, "*"));
        return mcp.is_some_and(|(s, t)| s == server && glob(tool, t));
    }
    glob(pattern, name)
}

/// `*` matches any run of characters (none included); everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// Checks a tool list: unique names, and the available/excluded filters (exclusion wins).
pub(crate) fn select_tools(config: &SessionConfig) -> Result<Vec<Tool>> {
    let mut seen = std::collections::HashSet::new();
    for t in &config.tools {
        if t.name().is_empty() {
            return Err(Error::config(
                "tools: a tool has an empty name: give every tool a name",
            ));
        }
        if !seen.insert(t.name()) {
            return Err(Error::config(format!(
                "tools: two tools are named \"{}\": tool names must be unique",
                t.name()
            )));
        }
    }
    Ok(config
        .tools
        .iter()
        .filter(|t| {
            offered(
                config.available_tools.as_deref(),
                config.excluded_tools.as_deref(),
                t.name(),
                None,
            )
        })
        .cloned()
        .collect())
}

/// Whether a tool is offered under `availableTools` / `excludedTools` (exclusion wins); `mcp` as
/// for [`tool_matches`].
pub(crate) fn offered(
    available: Option<&[String]>,
    excluded: Option<&[String]>,
    name: &str,
    mcp: Option<(&str, &str)>,
) -> bool {
    available.is_none_or(|a| a.iter().any(|p| tool_matches(p, name, mcp)))
        && !excluded.is_some_and(|x| x.iter().any(|p| tool_matches(p, name, mcp)))
}

/// Validates per-message headers.
fn request_headers(options: &SendOptions) -> Result<http::HeaderMap> {
    let mut map = http::HeaderMap::new();
    for (name, value, sensitive) in options.request_headers.iter() {
        let n = http::HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            Error::config(format!(
                "request_headers: \"{name}\" is not a valid header name: use letters, digits and '-'"
            ))
        })?;
        let mut v = http::HeaderValue::from_str(value).map_err(|_| {
            Error::config(format!(
                "request_headers[\"{name}\"] contains characters not allowed in a header value"
            ))
        })?;
        v.set_sensitive(sensitive || crate::secret::is_sensitive_header(n.as_str()));
        map.insert(n, v);
    }
    Ok(map)
}

impl Session {
    pub(crate) fn create(
        client: Arc<ClientShared>,
        id: String,
        settings: Settings,
        model: String,
        endpoint: Endpoint,
        (history, log): (Vec<Message>, Vec<Event>),
        durable: Option<Arc<durable::Durable>>,
    ) -> Session {
        let fresh = log.is_empty();
        let reasoning_effort = settings.reasoning_effort;
        // Turn ids continue from the stored log's.
        let turns = log
            .iter()
            .filter_map(|e| match &e.data {
                EventData::TurnStart(t) => t.turn_id.parse::<u64>().ok(),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let inner = Arc::new(SessionInner {
            id: id.clone(),
            cancel: client.root.child_token(),
            client,
            settings,
            state: Mutex::new(State {
                model: model.clone(),
                endpoint,
                history,
                queue: VecDeque::new(),
                running: false,
                current: None,
                sends: 0,
                turns,
                closed: false,
                tokens: compaction::TokenCount::default(),
                reasoning_effort,
                session_context: None,
                approved_tools: approved_in(&log),
            }),
            bus: EventBus::with_log(log),
            idle: Notify::new(),
            handlers: Mutex::new(Handlers::default()),
            delivered: AtomicU64::new(0),
            delivered_notify: Notify::new(),
            runtime: tokio::runtime::Handle::current(),
            durable,
            permission_gate: tokio::sync::Mutex::new(()),
        });
        if let Some(d) = &inner.durable {
            d.spawn_renewal(&inner.runtime);
        }
        if fresh {
            inner
                .bus
                .emit(EventData::SessionStart(events::SessionStartData {
                    session_id: id,
                    selected_model: model,
                }));
        }
        Session { inner }
    }

    pub(crate) fn inner(&self) -> &Arc<SessionInner> {
        &self.inner
    }

    /// The session id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The current model.
    pub fn model(&self) -> String {
        lock(&self.inner.state).model.clone()
    }

    /// The conversation so far (neutral form).
    pub fn history(&self) -> Vec<Message> {
        lock(&self.inner.state).history.clone()
    }

    /// Sends a message; returns the id of its `user.message` event. While a send is running the
    /// message is queued and runs after it.
    pub async fn send(&self, options: impl Into<SendOptions>) -> Result<String> {
        let (id, runner) = self.enqueue(options.into())?;
        if runner {
            let inner = self.inner.clone();
            self.inner.runtime.spawn(engine::run_queue(inner));
        }
        Ok(id)
    }

    /// Queues a send; also says whether the caller must start running the queue.
    fn enqueue(&self, options: SendOptions) -> Result<(String, bool)> {
        if options.prompt.trim().is_empty() && options.attachments.is_empty() {
            return Err(Error::config(
                "prompt is empty: send some text (or an image attachment)",
            ));
        }
        let headers = request_headers(&options)?;
        if options.has_controls() {
            let format = lock(&self.inner.state).endpoint.wire_format();
            Controls::of(&self.inner, &options).check(format)?;
        }
        let event_id = crate::util::new_id();
        let mut state = lock(&self.inner.state);
        if state.closed {
            return Err(Error::config(
                "the session is disconnected: resume it with client.resume_session(id, config)",
            ));
        }
        if self.inner.cancel.is_cancelled() {
            return Err(Error::cancelled(
                "the client is stopped: create a new Client",
            ));
        }
        state.queue.push_back(PendingSend {
            event_id: event_id.clone(),
            cancel: options.cancel.clone(),
            ended: options.cancel.as_ref().map(|c| SendEnded(c.ended.clone())),
            options,
            headers,
            caller: tracing::Span::current(),
        });
        let runner = !std::mem::replace(&mut state.running, true);
        Ok((event_id, runner))
    }

    /// Sends a message and waits until the session is idle; returns the last `assistant.message` of
    /// the send (none when it ended without one). On timeout (default 60 s) this returns a
    /// [`TimeoutKind::SendAndWait`] error and the turn keeps running; dropping this future does not
    /// stop the turn either (use [`abort`](Session::abort)). An aborted send returns
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled); a failed one returns its error.
    pub async fn send_and_wait(
        &self,
        options: impl Into<SendOptions>,
        timeout: Option<Duration>,
    ) -> Result<Option<Event>> {
        let timeout = timeout.unwrap_or(DEFAULT_SEND_AND_WAIT_TIMEOUT);
        let deadline = tokio::time::Instant::now() + timeout;
        // Subscribe before sending so that nothing of this send is missed.
        let mut stream = EventStream::new(self.inner.bus.subscribe(1, Interest::Outcome));
        let options = options.into();
        let caller = options.cancel.clone();
        let (id, runner) = self.enqueue(options)?;
        // When the session was idle, this send runs right here, without a task hop; if the caller
        // stops waiting, the rest of the turn moves to a task and completes.
        let mut inline = runner.then(|| {
            let inner = self.inner.clone();
            Detachable::new(
                async move {
                    engine::run_next(&inner).await;
                    engine::continue_queue(inner);
                },
                self.inner.runtime.clone(),
            )
        });
        let wait = async {
            if let Some(run) = inline.as_mut() {
                run.await;
            }
            let mut started = false;
            let mut last = None;
            let mut failure = None;
            // Cancelled while still queued: the caller is told now, not when the send's turn comes.
            let cancelled_early = async {
                match &caller {
                    Some(c) => c.cancel.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(cancelled_early);
            loop {
                let item = tokio::select! {
                    item = stream.next() => item,
                    () = &mut cancelled_early, if !started => {
                        return Err(Error::cancelled("the send was cancelled before it started"));
                    }
                };
                let Some(item) = item else { break };
                let Ok(event) = item else { continue };
                match &event.data {
                    EventData::UserMessage(_) if event.id == id => started = true,
                    _ if !started => {}
                    EventData::AssistantMessage(_) => last = Some(event.clone()),
                    EventData::SessionError(e) => failure = e.error.clone(),
                    EventData::SessionIdle(idle) => {
                        self.wait_handlers(event.seq).await;
                        if idle.aborted == Some(true) {
                            return Err(Error::cancelled("the send was aborted"));
                        }
                        return match failure {
                            Some(e) => Err(e),
                            None => Ok(last),
                        };
                    }
                    _ => {}
                }
            }
            Err(Error::cancelled(
                "the session was disconnected or its client stopped before the send finished",
            ))
        };
        match tokio::time::timeout_at(deadline, wait).await {
            Ok(result) => result,
            Err(_) => Err(Error::timeout(TimeoutKind::SendAndWait, timeout)),
        }
    }

    /// Waits until the on() handlers have been called for the event `seq`.
    async fn wait_handlers(&self, seq: u64) {
        if lock(&self.inner.handlers).dispatcher.is_none() {
            return;
        }
        loop {
            let notified = self.inner.delivered_notify.notified();
            if self.inner.delivered.load(Ordering::Acquire) >= seq {
                return;
            }
            notified.await;
        }
    }

    /// Calls `handler` for every event of type `kind` (`"*"` for all). Handlers run in order on a
    /// task of their own, never on the engine: a slow handler delays other handlers, not the session.
    /// A panicking handler is caught and traced.
    pub fn on(&self, kind: &str, handler: impl Fn(&Event) + Send + Sync + 'static) -> Subscription {
        let filter = (kind != "*" && !kind.is_empty()).then(|| kind.to_owned());
        self.add_handler(filter, Arc::new(handler))
    }

    /// Calls `handler` for every event.
    pub fn on_all(&self, handler: impl Fn(&Event) + Send + Sync + 'static) -> Subscription {
        self.add_handler(None, Arc::new(handler))
    }

    fn add_handler(&self, filter: Option<String>, handler: Arc<HandlerFn>) -> Subscription {
        let mut h = lock(&self.inner.handlers);
        h.next_id += 1;
        let id = h.next_id;
        h.list.push((id, filter, handler));
        if h.dispatcher.is_none() {
            let sub = self
                .inner
                .bus
                .subscribe(events::DEFAULT_EVENT_BUFFER, Interest::All);
            h.dispatcher = Some(sub.clone());
            let weak = Arc::downgrade(&self.inner);
            self.inner.runtime.spawn(dispatch(weak, sub));
        }
        Subscription {
            session: Arc::downgrade(&self.inner),
            id,
        }
    }

    /// The session's events as a stream (buffer of 256 deltas; see [`EventStream`]).
    pub fn events(&self) -> EventStream {
        self.events_with_buffer(events::DEFAULT_EVENT_BUFFER)
    }

    /// The session's events, buffering up to `deltas` deltas before dropping them.
    pub fn events_with_buffer(&self, deltas: usize) -> EventStream {
        EventStream::new(self.inner.bus.subscribe(deltas, Interest::All))
    }

    /// The session's events for a host language: batches, a notify callback, barriers (see
    /// [`EventFeed`]); up to `deltas` deltas wait for a slow host before deltas are dropped.
    pub fn feed(&self, deltas: usize) -> EventFeed {
        EventFeed::new(self.inner.bus.subscribe(deltas, Interest::All))
    }

    /// A [`feed`](Session::feed) for a host that reads events as JSON ([`FeedBatch::to_json`]): each
    /// event's JSON is rendered as the session emits it, on the emitting thread, so that taking a
    /// batch on the host's thread (JavaScript's event loop) only copies text.
    pub fn json_feed(&self, deltas: usize) -> EventFeed {
        EventFeed::new(self.inner.bus.subscribe_json(deltas))
    }

    /// The persisted (non-ephemeral) events so far; after a resume, those of earlier processes too.
    pub fn get_events(&self) -> Vec<Event> {
        self.inner.bus.log()
    }

    /// [`get_events`](Session::get_events) as one JSON array, from each event's cached JSON.
    pub fn get_events_json(&self) -> String {
        let events = self.get_events();
        let json: Vec<&str> = events.iter().map(Event::json).collect();
        format!("[{}]", json.join(","))
    }

    /// [`get_events`](Session::get_events) under the Copilot SDK's name.
    pub fn get_messages(&self) -> Vec<Event> {
        self.get_events()
    }

    /// Aborts the running send (queued sends still run) and waits until it has ended.
    pub async fn abort(&self) {
        let current = lock(&self.inner.state).current.clone();
        if let Some((no, token)) = current {
            token.cancel();
            self.wait_send_end(no).await;
        }
    }

    /// Waits until send number `no` is no longer running.
    async fn wait_send_end(&self, no: u64) {
        loop {
            let notified = self.inner.idle.notified();
            if lock(&self.inner.state)
                .current
                .as_ref()
                .is_none_or(|(n, _)| *n != no)
            {
                return;
            }
            notified.await;
        }
    }

    /// Compacts the history now (the Copilot SDK's `session.compact()`): waits for the running send,
    /// then summarises the older history as an automatic compaction would, whatever the window's
    /// use. Its events stand between sends.
    pub async fn compact(&self) -> Result<()> {
        loop {
            let notified = self.inner.idle.notified();
            {
                let mut state = lock(&self.inner.state);
                if state.closed {
                    return Err(Error::config(
                        "the session is disconnected: resume it with client.resume_session(id, config)",
                    ));
                }
                if !state.running {
                    state.running = true;
                    break;
                }
            }
            notified.await;
        }
        let cancel = self.inner.cancel.child_token();
        compaction::compact(&self.inner, &cancel).await;
        let stored = self.inner.persist().await;
        engine::continue_queue(self.inner.clone());
        // As send_and_wait: the on() handlers have seen the compaction's events when this returns.
        let last = self.inner.bus.last_seq();
        self.wait_handlers(last).await;
        stored
    }

    /// Switches the model for the next model calls (validated like at creation); emits
    /// `session.model_change`.
    pub async fn set_model(&self, model: impl Into<String>) -> Result<()> {
        self.set_model_with(model, None).await
    }

    /// Switches the model and, when given, the reasoning effort (the Copilot SDK's
    /// `setModel(model, {reasoningEffort})`); emits `session.model_change`.
    pub async fn set_model_with(
        &self,
        model: impl Into<String>,
        reasoning_effort: Option<ReasoningEffort>,
    ) -> Result<()> {
        let model = model.into();
        let endpoint = self
            .inner
            .client
            .endpoint_for(&model, &self.inner.settings.provider)?;
        if reasoning_effort.is_some() {
            self.inner
                .settings
                .sampling
                .check(endpoint.wire_format(), true)?;
        }
        let previous = {
            let mut state = lock(&self.inner.state);
            // Another provider keeps its own state; the same one shares it.
            let endpoint = if self.inner.client.registry.is_some() {
                endpoint
            } else {
                endpoint.with_state(state.endpoint.state().clone())
            };
            if endpoint.wire_format() != state.endpoint.wire_format() {
                // Reasoning items are the old provider's (signed or encrypted): they cannot go to
                // another wire format. Text, images, tool calls and results carry over.
                let mut dropped = 0;
                for m in &mut state.history {
                    if let Message::Assistant { reasoning, .. } = m {
                        dropped += reasoning.len();
                        reasoning.clear();
                    }
                }
                if dropped > 0 {
                    tracing::debug!(dropped, "switching wire format: reasoning items dropped");
                }
                if let Some(d) = &self.inner.durable {
                    d.history_rewritten_from(0);
                }
            }
            state.endpoint = endpoint;
            if reasoning_effort.is_some() {
                state.reasoning_effort = reasoning_effort;
            }
            std::mem::replace(&mut state.model, model.clone())
        };
        self.inner
            .bus
            .emit(EventData::ModelChange(events::ModelChangeData {
                previous_model: previous,
                new_model: model,
            }));
        Ok(())
    }

    /// Ends the session: aborts the running send, drops queued ones, commits what the store does not
    /// have yet, gives up the session's lease and ends every event stream. The session stays in the
    /// store, for [`resume_session`](crate::Client::resume_session).
    pub async fn disconnect(&self) {
        self.disconnect_with("user_exit").await;
    }

    /// Ends the session, telling `onSessionEnd` why.
    pub(crate) async fn disconnect_with(&self, reason: &str) {
        let (current, already_closed) = {
            let mut state = lock(&self.inner.state);
            let was = std::mem::replace(&mut state.closed, true);
            state.queue.clear();
            (state.current.clone(), was)
        };
        self.inner.cancel.cancel();
        if let Some((no, _)) = current {
            self.wait_send_end(no).await;
        }
        if self.inner.settings.hooks.has(hooks::HookKind::SessionEnd) && !already_closed {
            let input = serde_json::json!({"reason": reason});
            let _ = self
                .inner
                .settings
                .hooks
                .call(&self.inner, hooks::HookKind::SessionEnd, input)
                .await;
        }
        if let Some(hub) = &self.inner.settings.mcp {
            hub.close().await;
        }
        if let Some(d) = &self.inner.durable {
            d.close(&self.inner).await;
        }
        lock(&self.inner.client.sessions).remove(&self.inner.id);
        self.inner.bus.close();
    }
}

impl Session {
    pub(crate) fn from_inner(inner: Arc<SessionInner>) -> Session {
        Session { inner }
    }
}

impl SessionInner {
    /// Records that on() handlers have seen `seq`.
    fn delivered(&self, seq: u64) {
        self.delivered.store(seq, Ordering::Release);
        self.delivered_notify.notify_waiters();
    }
}

/// A future run by its caller that, if dropped before it finishes, finishes on a task instead.
struct Detachable {
    fut: Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
    runtime: tokio::runtime::Handle,
}

impl Detachable {
    fn new(
        fut: impl Future<Output = ()> + Send + 'static,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        Detachable {
            fut: Some(Box::pin(fut)),
            runtime,
        }
    }
}

impl Future for Detachable {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let Some(fut) = self.fut.as_mut() else {
            return std::task::Poll::Ready(());
        };
        let ready = fut.as_mut().poll(cx);
        if ready.is_ready() {
            self.fut = None;
        }
        ready
    }
}

impl Drop for Detachable {
    fn drop(&mut self) {
        if let Some(fut) = self.fut.take() {
            self.runtime.spawn(fut);
        }
    }
}

/// Calls the on() handlers for each event, in order.
async fn dispatch(session: Weak<SessionInner>, sub: Arc<Subscriber>) {
    let mut stream = EventStream::new(sub);
    while let Some(item) = stream.next().await {
        let Some(inner) = session.upgrade() else {
            return;
        };
        let event = match item {
            Ok(e) => e,
            Err(lag) => {
                tracing::debug!(
                    skipped = lag.skipped,
                    "on() handlers fell behind: deltas dropped"
                );
                continue;
            }
        };
        let handlers: Vec<Arc<HandlerFn>> = lock(&inner.handlers)
            .list
            .iter()
            .filter(|(_, f, _)| f.as_deref().is_none_or(|k| k == event.kind()))
            .map(|(_, _, h)| h.clone())
            .collect();
        for h in handlers {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h(&event)));
            if result.is_err() {
                tracing::warn!(
                    kind = event.kind(),
                    "an on() handler panicked; it stays registered"
                );
            }
        }
        inner.delivered(event.seq);
    }
}

impl Drop for SessionInner {
    fn drop(&mut self) {
        self.bus.close();
        // Dropped without disconnect(): everything of its finished sends is committed; give the
        // lease back so another client need not wait for it to expire.
        if let Some(d) = &self.durable
            && !d.renewal.is_cancelled()
        {
            d.renewal.cancel();
            // The memory store answers at once, on any thread; a database store needs the runtime
            // (this may run on a thread outside it: a host's garbage collector), so it gets a task.
            let done = !d.store.durable()
                && futures::FutureExt::now_or_never(d.store.release(&d.lease)).is_some();
            if !done {
                let (store, lease) = (d.store.clone(), d.lease.clone());
                self.runtime.spawn(async move {
                    let _ = store.release(&lease).await;
                });
            }
        }
    }
}

#[cfg(test)]
mod compaction_tests;
#[cfg(test)]
mod hooks_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod trace_tests;
