//! Wire adapters: pure translation between modelport's neutral history and each provider wire format.
//!
//! Three formats, one module each: [`openai_chat`] (Chat Completions), [`openai_responses`] (Responses
//! API) and [`anthropic_messages`] (Messages API). Each builds a request body from a [`ModelCall`],
//! decodes a stream incrementally into [`StreamEvent`]s, and parses a non-streaming body into a
//! [`ModelResponse`]. [`error`] parses provider error bodies for all three. Nothing here does I/O.

pub(crate) mod anthropic_messages;
#[cfg(any(test, feature = "testing", feature = "replay"))]
pub mod encode;
pub mod error;
pub(crate) mod openai_chat;
pub(crate) mod openai_responses;
pub mod sse;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
pub use crate::types::{
    ContentPart, FinishReason, Message, ReasoningEffort, ReasoningItem, ToolCall, ToolChoice,
    ToolSpec, Usage, WireFormat,
};

/// Anthropic's `max_tokens` when `max_output_tokens` is not set (the field is required there).
pub const DEFAULT_ANTHROPIC_MAX_TOKENS: u32 = 8192;

/// Everything one model call needs, borrowed from the session.
#[derive(Clone, Copy, Debug)]
pub struct ModelCall<'a> {
    /// The model name on the wire.
    pub model: &'a str,
    /// The system prompt, if any.
    pub system: Option<&'a str>,
    /// The conversation so far.
    pub messages: &'a [Message],
    /// The tools offered.
    pub tools: &'a [ToolSpec],
    /// Tool choice (sent only when tools are).
    pub tool_choice: &'a ToolChoice,
    /// Whether the model may call several tools at once (sent only when tools are).
    pub parallel_tool_calls: bool,
    /// Reasoning effort.
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Output cap.
    pub max_output_tokens: Option<u32>,
    /// Stream the answer.
    pub stream: bool,
    /// Chat Completions: ask for the usage chunk (`stream_options.include_usage`).
    pub stream_usage: bool,
    /// Temperature, top_p, stop, seed.
    pub sampling: &'a crate::types::Sampling,
    /// Provider-specific parameters merged last into the body (never model, messages, input,
    /// stream or tools).
    pub extra_body: Option<&'a serde_json::Map<String, Value>>,
    /// The answer's shape (strict schemas already transformed).
    pub response_format: Option<&'a crate::types::ResponseFormat>,
    /// Anthropic: use the native `output_format` parameter instead of a forced tool.
    pub native_structured_output: bool,
}

/// A decoded piece of a streamed answer.
#[derive(Clone, Debug)]
pub enum StreamEvent {
    /// Answer text (refusal text included).
    TextDelta(String),
    /// Readable reasoning text.
    ReasoningDelta(String),
    /// A complete reasoning item (Anthropic thinking block, Responses reasoning item).
    ReasoningDone(ReasoningItem),
    /// A tool call began.
    ToolCallStart {
        /// The call's position in this answer.
        index: usize,
        /// The call id.
        id: String,
        /// The tool name.
        name: String,
    },
    /// More argument text of a started call.
    ToolCallDelta {
        /// The call's position in this answer.
        index: usize,
        /// The next piece of the arguments JSON.
        arguments: String,
    },
    /// A tool call is complete.
    ToolCallDone(ToolCall),
    /// Token usage (the last one reported wins).
    Usage(Usage),
    /// The answer is complete; always the last event of a good stream.
    Finish(FinishReason),
    /// The provider reported an error, or the stream could not be decoded.
    Error(Error),
}

/// A complete model answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModelResponse {
    /// The answer text.
    pub text: String,
    /// Reasoning items, in order.
    pub reasoning: Vec<ReasoningItem>,
    /// Tool calls to run.
    pub tool_calls: Vec<ToolCall>,
    /// Usage, when reported.
    pub usage: Option<Usage>,
    /// Why the model stopped.
    pub finish_reason: Option<FinishReason>,
}

impl ModelResponse {
    /// All readable reasoning, concatenated.
    pub fn reasoning_text(&self) -> Option<String> {
        let text: String = self.reasoning.iter().map(|r| r.text.as_str()).collect();
        (!text.is_empty()).then_some(text)
    }

    /// A natural stop that used the whole output cap was cut by it: some servers (llama.cpp's
    /// Responses API) report `completed` where the spec says `incomplete`.
    pub fn apply_output_cap(&mut self, cap: Option<u32>) {
        let (Some(cap), Some(usage)) = (cap, self.usage) else {
            return;
        };
        if self.finish_reason == Some(FinishReason::Stop)
            && self.tool_calls.is_empty()
            && usage.output_tokens >= u64::from(cap)
        {
            self.finish_reason = Some(FinishReason::Length);
        }
    }

    /// Applies the rules shared by every format once the answer is complete: a call cut off by the
    /// output cap is not executed, and tool calls make the finish reason `tool_calls` whatever the
    /// provider said (servers disagree on it).
    fn settle(&mut self) {
        if self.finish_reason == Some(FinishReason::Length) && !self.tool_calls.is_empty() {
            tracing::debug!(
                calls = self.tool_calls.len(),
                "dropping tool calls cut off by the output cap"
            );
            self.tool_calls.clear();
        }
        if !self.tool_calls.is_empty()
            && matches!(self.finish_reason, None | Some(FinishReason::Stop))
        {
            self.finish_reason = Some(FinishReason::ToolCalls);
        }
        if self.finish_reason.is_none() {
            self.finish_reason = Some(FinishReason::Stop);
        }
    }
}

/// Builds a [`ModelResponse`] from stream events.
#[derive(Debug, Default)]
pub struct ResponseBuilder {
    response: ModelResponse,
    pending_reasoning: String,
}

impl ResponseBuilder {
    /// Records one event. Errors are not recorded: the caller handles them.
    pub fn push(&mut self, event: &StreamEvent) {
        let r = &mut self.response;
        match event {
            StreamEvent::TextDelta(t) => r.text.push_str(t),
            StreamEvent::ReasoningDelta(t) => self.pending_reasoning.push_str(t),
            StreamEvent::ReasoningDone(item) => {
                self.pending_reasoning.clear();
                r.reasoning.push(item.clone());
            }
            StreamEvent::ToolCallDone(call) => r.tool_calls.push(call.clone()),
            StreamEvent::Usage(u) => r.usage = Some(*u),
            StreamEvent::Finish(f) => r.finish_reason = Some(*f),
            StreamEvent::ToolCallStart { .. }
            | StreamEvent::ToolCallDelta { .. }
            | StreamEvent::Error(_) => {}
        }
    }

    /// The complete answer.
    pub fn finish(mut self) -> ModelResponse {
        if !self.pending_reasoning.is_empty() {
            self.response.reasoning.push(ReasoningItem {
                text: std::mem::take(&mut self.pending_reasoning),
                ..Default::default()
            });
        }
        self.response.settle();
        self.response
    }
}

/// An incremental stream decoder for one wire format.
#[derive(Debug)]
pub enum Decoder {
    /// Chat Completions.
    Chat(openai_chat::StreamDecoder),
    /// Responses API.
    Responses(openai_responses::StreamDecoder),
    /// Anthropic Messages.
    Anthropic(anthropic_messages::StreamDecoder),
}

impl Decoder {
    /// A decoder for `format`.
    pub fn new(format: WireFormat) -> Self {
        match format {
            WireFormat::OpenAiChat => Decoder::Chat(Default::default()),
            WireFormat::OpenAiResponses => Decoder::Responses(Default::default()),
            WireFormat::AnthropicMessages => Decoder::Anthropic(Default::default()),
        }
    }

    /// Decodes the next bytes of the body (split anywhere), appending events to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<StreamEvent>) {
        match self {
            Decoder::Chat(d) => d.feed(bytes, out),
            Decoder::Responses(d) => d.feed(bytes, out),
            Decoder::Anthropic(d) => d.feed(bytes, out),
        }
    }

    /// The body ended: flushes what is pending, and reports a stream that ended before its answer
    /// was complete as a [`ErrorKind::Transport`] error.
    pub fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        match self {
            Decoder::Chat(d) => d.finish(out),
            Decoder::Responses(d) => d.finish(out),
            Decoder::Anthropic(d) => d.finish(out),
        }
    }
}

/// Decodes a whole stream body at once.
pub fn decode_stream(format: WireFormat, body: &[u8]) -> Vec<StreamEvent> {
    let mut decoder = Decoder::new(format);
    let mut out = Vec::new();
    decoder.feed(body, &mut out);
    decoder.finish(&mut out);
    out
}

/// Parses a non-streaming response body.
pub fn parse_response(format: WireFormat, body: &[u8]) -> Result<ModelResponse> {
    let mut response = match format {
        WireFormat::OpenAiChat => openai_chat::parse_response(body)?,
        WireFormat::OpenAiResponses => openai_responses::parse_response(body)?,
        WireFormat::AnthropicMessages => anthropic_messages::parse_response(body)?,
    };
    response.settle();
    Ok(response)
}

/// Builds the JSON body of a model call.
pub fn build_body(format: WireFormat, call: &ModelCall<'_>) -> Result<Vec<u8>> {
    call.sampling
        .check(format, call.reasoning_effort.is_some())?;
    let body = match format {
        WireFormat::OpenAiChat => openai_chat::build_body(call),
        WireFormat::OpenAiResponses => openai_responses::build_body(call),
        WireFormat::AnthropicMessages => anthropic_messages::build_body(call),
    }?;
    match call.extra_body {
        Some(extra) if !extra.is_empty() => merge_extra(body, extra),
        _ => Ok(body),
    }
}

/// Keys `extraBody` may not set: modelport owns them.
pub const RESERVED_BODY_KEYS: [&str; 5] = ["model", "messages", "input", "stream", "tools"];

/// Checks `extraBody`: an object without the keys modelport owns.
pub fn check_extra_body(extra: &serde_json::Map<String, Value>) -> Result<()> {
    match RESERVED_BODY_KEYS.iter().find(|k| extra.contains_key(**k)) {
        Some(k) => Err(Error::config(format!(
            "extraBody.{k}: modelport sets \"{k}\" itself; extraBody is for provider-specific \
             parameters (remove \"{k}\")"
        ))),
        None => Ok(()),
    }
}

/// `extra`'s keys set on the body (replacing what modelport wrote), in order.
fn merge_extra(body: Vec<u8>, extra: &serde_json::Map<String, Value>) -> Result<Vec<u8>> {
    check_extra_body(extra)?;
    let mut value: serde_json::Map<String, Value> = serde_json::from_slice(&body)
        .map_err(|e| Error::new(ErrorKind::InvalidRequest, format!("request body: {e}")))?;
    for (k, v) in extra {
        value.insert(k.clone(), v.clone());
    }
    to_json(&value)
}

/// Serialises `value` to JSON bytes; a failure here is a bug in modelport, reported as such.
pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| {
        Error::new(
            ErrorKind::InvalidRequest,
            format!("could not serialise the request: {e}"),
        )
    })
}

/// A JSON parse failure of a provider body.
pub(crate) fn decode_error(what: &str, e: &serde_json::Error) -> Error {
    Error::new(
        ErrorKind::Decode,
        format!("the provider sent {what} that is not valid JSON for its wire format: {e}"),
    )
}

/// A stream chunk that does not parse: cut off when the body already ended, malformed otherwise.
pub(crate) fn chunk_error(
    format: WireFormat,
    finishing: bool,
    what: &str,
    e: &serde_json::Error,
) -> Error {
    if finishing {
        truncated(format)
    } else {
        decode_error(what, e)
    }
}

/// Arguments text as sent back to providers: the model's text, or `{}` when it sent nothing.
pub(crate) fn normalize_arguments(args: String) -> String {
    if args.trim().is_empty() {
        "{}".to_owned()
    } else {
        args
    }
}

/// The end-of-body error for a stream that stopped before its terminal event.
pub(crate) fn truncated(format: WireFormat) -> Error {
    Error::new(
        ErrorKind::Transport,
        format!(
            "the {} stream ended before the response was complete (connection closed early)",
            format.as_str()
        ),
    )
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
