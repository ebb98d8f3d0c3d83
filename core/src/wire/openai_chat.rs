//! OpenAI Chat Completions: <https://platform.openai.com/docs/api-reference/chat>.
//!
//! Spoken by OpenAI, Azure OpenAI, Ollama, vLLM, LiteLLM, llama.cpp and Foundry Local. Stream quirks
//! handled here: tool-call fragments accumulated by `index` (id and name only on the first one),
//! `choices: []` chunks (Azure's prompt_filter_results, the usage chunk), `reasoning_content`
//! (DeepSeek, llama.cpp) and `reasoning` (Ollama, vLLM) fields, empty arguments meaning `{}`, whole
//! tool calls in one chunk (Ollama), `refusal` deltas, and `{error:{...}}` chunks after HTTP 200.
//!
//! Several choices (modelport never asks for `n > 1`, but some gateways put the text in one choice
//! and the tool calls in another) are merged into one answer: tool calls from every choice in choice
//! order (fragments accumulate per choice, so equal indexes of different choices never mix), text
//! from the choices that have text joined in choice order, and the last choice's finish reason.
//! Streamed, the first choice to send text streams it live; the others' text follows, in choice
//! order, when the stream completes.
//!
//! Tool-call arguments are kept as the model's exact text and written back unchanged.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::error::{read_error_value, stream_error};
use super::sse::{SseDecoder, SseEvent};
use super::{
    ContentPart, FinishReason, Message, ModelCall, ModelResponse, ReasoningItem, StreamEvent,
    ToolCall, ToolChoice, Usage, WireFormat, chunk_error, decode_error, normalize_arguments,
    to_json, truncated,
};
use crate::error::Result;
use crate::types::ResponseFormat;

// ---------------------------------------------------------------------------------------------
// Request

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: Vec<ChatMessage<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Value>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

#[derive(Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum ChatMessage<'a> {
    System {
        content: &'a str,
    },
    User {
        content: UserContent<'a>,
    },
    Assistant {
        content: Option<&'a str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCallOut<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: &'a str,
    },
}

#[derive(Serialize)]
#[serde(untagged)]
enum UserContent<'a> {
    Text(&'a str),
    Parts(Vec<Part<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Part<'a> {
    Text { text: &'a str },
    ImageUrl { image_url: ImageUrl },
}

#[derive(Serialize)]
struct ImageUrl {
    url: String,
}

#[derive(Serialize)]
struct ToolCallOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionOut<'a>,
}

#[derive(Serialize)]
struct FunctionOut<'a> {
    name: &'a str,
    arguments: &'a str,
}

#[derive(Serialize)]
struct Tool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: ToolFunction<'a>,
}

#[derive(Serialize)]
struct ToolFunction<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

/// A user message's parts; a plain string when it is text only.
fn user_content(parts: &[ContentPart]) -> UserContent<'_> {
    match parts {
        [ContentPart::Text { text }] => UserContent::Text(text),
        parts => UserContent::Parts(
            parts
                .iter()
                .map(|p| match p {
                    ContentPart::Text { text } => Part::Text { text },
                    ContentPart::Image { mime_type, data } => Part::ImageUrl {
                        image_url: ImageUrl {
                            url: format!("data:{mime_type};base64,{data}"),
                        },
                    },
                })
                .collect(),
        ),
    }
}

/// The Chat / Responses spelling of a tool choice.
pub(crate) fn tool_choice_value(choice: &ToolChoice, responses: bool) -> Value {
    match choice {
        ToolChoice::Auto => Value::from("auto"),
        ToolChoice::None => Value::from("none"),
        ToolChoice::Required => Value::from("required"),
        ToolChoice::Function(name) if responses => {
            serde_json::json!({"type": "function", "name": name})
        }
        ToolChoice::Function(name) => {
            serde_json::json!({"type": "function", "function": {"name": name}})
        }
    }
}

/// Builds the request body.
pub fn build_body(call: &ModelCall<'_>) -> Result<Vec<u8>> {
    let mut messages = Vec::with_capacity(call.messages.len() + 1);
    if let Some(system) = call.system {
        messages.push(ChatMessage::System { content: system });
    }
    for m in call.messages {
        messages.push(match m {
            Message::User { content } => ChatMessage::User {
                content: user_content(content),
            },
            Message::Assistant {
                text, tool_calls, ..
            } => ChatMessage::Assistant {
                content: (!text.is_empty() || tool_calls.is_empty()).then_some(text.as_str()),
                tool_calls: tool_calls
                    .iter()
                    .map(|c| ToolCallOut {
                        id: &c.id,
                        kind: "function",
                        function: FunctionOut {
                            name: &c.name,
                            arguments: &c.arguments,
                        },
                    })
                    .collect(),
            },
            Message::Tool {
                call_id, content, ..
            } => ChatMessage::Tool {
                tool_call_id: call_id,
                content,
            },
        });
    }
    let has_tools = !call.tools.is_empty();
    let body = Body {
        model: call.model,
        messages,
        stream: call.stream.then_some(true),
        stream_options: (call.stream && call.stream_usage).then_some(StreamOptions {
            include_usage: true,
        }),
        tools: call
            .tools
            .iter()
            .map(|t| Tool {
                kind: "function",
                function: ToolFunction {
                    name: &t.name,
                    description: &t.description,
                    parameters: &t.parameters,
                },
            })
            .collect(),
        tool_choice: has_tools.then(|| tool_choice_value(call.tool_choice, false)),
        parallel_tool_calls: has_tools.then_some(call.parallel_tool_calls),
        reasoning_effort: call.reasoning_effort.map(|e| e.as_str()),
        max_completion_tokens: call.max_output_tokens,
        temperature: call.sampling.temperature,
        top_p: call.sampling.top_p,
        stop: call.sampling.stop.as_deref(),
        seed: call.sampling.seed,
        response_format: call.response_format.map(|f| match f {
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => serde_json::json!({"type": "json_schema", "json_schema": {
                "name": name, "schema": schema, "strict": strict.unwrap_or(false)}}),
            ResponseFormat::JsonObject => serde_json::json!({"type": "json_object"}),
        }),
    };
    to_json(&body)
}

// ---------------------------------------------------------------------------------------------
// Usage and finish reasons

#[derive(Deserialize, Default)]
struct RawUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
}

#[derive(Deserialize, Default)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize, Default)]
struct CompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl RawUsage {
    fn normalize(&self) -> Usage {
        Usage {
            input_tokens: self.prompt_tokens.unwrap_or(0),
            output_tokens: self.completion_tokens.unwrap_or(0),
            cache_read_tokens: self
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_write_tokens: 0,
            reasoning_tokens: self
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

fn finish_reason(s: &str) -> FinishReason {
    match s {
        "length" => FinishReason::Length,
        "tool_calls" | "function_call" => FinishReason::ToolCalls,
        "content_filter" => FinishReason::ContentFilter,
        "stop" | "eos" | "end_turn" => FinishReason::Stop,
        other => {
            tracing::debug!(
                reason = other,
                "unknown chat finish_reason, treated as stop"
            );
            FinishReason::Stop
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Stream

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow, default)]
    choices: Option<Vec<Choice<'a>>>,
    #[serde(default)]
    usage: Option<RawUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default)]
    index: u32,
    #[serde(borrow, default)]
    delta: Option<Delta<'a>>,
    #[serde(borrow, default)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow, default)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    refusal: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reasoning: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tool_calls: Option<Vec<ToolCallDelta<'a>>>,
}

#[derive(Deserialize)]
struct ToolCallDelta<'a> {
    #[serde(default)]
    index: Option<usize>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    function: Option<FunctionDelta<'a>>,
}

#[derive(Deserialize)]
struct FunctionDelta<'a> {
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<Cow<'a, str>>,
}

#[derive(Debug, Default)]
struct PartialCall {
    /// The choice it came in.
    choice: u32,
    /// The provider's index, which only tells calls of the same choice apart.
    index: usize,
    /// Its place among all the calls of the answer: the index of its stream events.
    position: usize,
    id: String,
    name: String,
    arguments: String,
    started: bool,
}

/// What one choice said that was not streamed as it came, and how it ended.
#[derive(Debug, Default)]
struct ChoiceState {
    index: u32,
    text: String,
    reasoning: String,
    finish: Option<FinishReason>,
}

#[derive(Debug, Default)]
struct State {
    /// The body has ended: a chunk that fails to parse now was cut off, not malformed.
    finishing: bool,
    calls: Vec<PartialCall>,
    /// Every choice seen, by index.
    choices: Vec<ChoiceState>,
    /// The choice whose text streams live (the first to send any); the others' is held to the end.
    live_text: Option<u32>,
    /// The same for reasoning.
    live_reasoning: Option<u32>,
    refusal: bool,
    usage: Option<Usage>,
    done: bool,
    failed: bool,
}

/// The incremental Chat Completions stream decoder.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    sse: SseDecoder,
    state: State,
}

impl StreamDecoder {
    /// Decodes the next bytes.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<StreamEvent>) {
        let state = &mut self.state;
        self.sse.feed(bytes, &mut |ev| state.on_event(ev, out));
    }

    /// The body ended.
    pub fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        let state = &mut self.state;
        state.finishing = true;
        self.sse.finish(&mut |ev| state.on_event(ev, out));
        if state.done || state.failed {
            return;
        }
        if !state.choices.is_empty() && state.choices.iter().all(|c| c.finish.is_some()) {
            // Complete but for the [DONE] marker (or the usage chunk after it): accept.
            state.complete(out);
        } else {
            out.push(StreamEvent::Error(truncated(WireFormat::OpenAiChat)));
        }
    }
}

/// Streams `piece` when `choice` is the live one for its kind of content (the first choice to send
/// any becomes it); holds it in `held` otherwise.
fn route(
    live: &mut Option<u32>,
    choice: u32,
    piece: Cow<'_, str>,
    held: &mut String,
) -> Option<String> {
    if piece.is_empty() {
        return None;
    }
    if *live.get_or_insert(choice) == choice {
        Some(piece.into_owned())
    } else {
        held.push_str(&piece);
        None
    }
}

impl State {
    fn on_event(&mut self, ev: SseEvent<'_>, out: &mut Vec<StreamEvent>) {
        if self.done || self.failed {
            return;
        }
        let data = ev.data.trim();
        if data == "[DONE]" {
            self.complete(out);
            return;
        }
        if data.is_empty() {
            return;
        }
        let chunk: Chunk<'_> = match serde_json::from_str(data) {
            Ok(c) => c,
            Err(e) => {
                self.failed = true;
                out.push(StreamEvent::Error(chunk_error(
                    WireFormat::OpenAiChat,
                    self.finishing,
                    "a stream chunk",
                    &e,
                )));
                return;
            }
        };
        if let Some(err) = chunk.error.filter(|e| !e.is_null()) {
            self.failed = true;
            let body = serde_json::json!({ "error": err });
            out.push(StreamEvent::Error(stream_error(read_error_value(&body))));
            return;
        }
        if let Some(u) = chunk.usage {
            self.usage = Some(u.normalize());
        }
        for choice in chunk.choices.into_iter().flatten() {
            let slot = self.choice_slot(choice.index);
            if let Some(delta) = choice.delta {
                self.on_delta(slot, delta, out);
            }
            if let Some(reason) = choice.finish_reason {
                self.choices[slot].finish = Some(finish_reason(&reason));
            }
        }
    }

    /// The position of choice `index` in `choices` (kept in index order), added when new.
    fn choice_slot(&mut self, index: u32) -> usize {
        match self.choices.binary_search_by_key(&index, |c| c.index) {
            Ok(slot) => slot,
            Err(slot) => {
                self.choices.insert(
                    slot,
                    ChoiceState {
                        index,
                        ..Default::default()
                    },
                );
                slot
            }
        }
    }

    fn on_delta(&mut self, slot: usize, delta: Delta<'_>, out: &mut Vec<StreamEvent>) {
        let held = &mut self.choices[slot];
        let choice = held.index;
        if let Some(r) = delta.reasoning_content.or(delta.reasoning)
            && let Some(r) = route(&mut self.live_reasoning, choice, r, &mut held.reasoning)
        {
            out.push(StreamEvent::ReasoningDelta(r));
        }
        if let Some(c) = delta.content
            && let Some(c) = route(&mut self.live_text, choice, c, &mut held.text)
        {
            out.push(StreamEvent::TextDelta(c));
        }
        if let Some(r) = delta.refusal {
            self.refusal = true;
            if let Some(r) = route(&mut self.live_text, choice, r, &mut held.text) {
                out.push(StreamEvent::TextDelta(r));
            }
        }
        for tc in delta.tool_calls.into_iter().flatten() {
            let pos = match tc.index {
                Some(index) => self
                    .calls
                    .iter()
                    .position(|c| c.choice == choice && c.index == index),
                // No index (some servers send whole calls): a new id starts a new call.
                None => match (&tc.id, self.calls.iter().rposition(|c| c.choice == choice)) {
                    (Some(id), Some(last)) if self.calls[last].id != **id => None,
                    (_, last) => last,
                },
            };
            let pos = pos.unwrap_or_else(|| {
                let index = tc
                    .index
                    .unwrap_or_else(|| self.calls.iter().filter(|c| c.choice == choice).count());
                self.calls.push(PartialCall {
                    choice,
                    index,
                    position: self.calls.len(),
                    ..Default::default()
                });
                self.calls.len() - 1
            });
            let call = &mut self.calls[pos];
            if let Some(id) = tc.id.filter(|id| !id.is_empty()) {
                call.id = id.into_owned();
            }
            let mut args_delta = None;
            if let Some(f) = tc.function {
                if let Some(name) = f.name.filter(|n| !n.is_empty()) {
                    call.name = name.into_owned();
                }
                args_delta = f.arguments.filter(|a| !a.is_empty());
            }
            if !call.started && !call.name.is_empty() {
                call.started = true;
                if call.id.is_empty() {
                    call.id = format!("call_{}", call.position);
                }
                out.push(StreamEvent::ToolCallStart {
                    index: call.position,
                    id: call.id.clone(),
                    name: call.name.clone(),
                });
            }
            if let Some(a) = args_delta {
                call.arguments.push_str(&a);
                if call.started {
                    out.push(StreamEvent::ToolCallDelta {
                        index: call.position,
                        arguments: a.into_owned(),
                    });
                }
            }
        }
    }

    /// Ends the answer, merging the choices: the held-back text and reasoning of the other choices
    /// follow in choice order, tool calls come in choice order, the finish reason is the last choice's.
    fn complete(&mut self, out: &mut Vec<StreamEvent>) {
        self.done = true;
        for c in &mut self.choices {
            if !c.reasoning.is_empty() {
                out.push(StreamEvent::ReasoningDelta(std::mem::take(
                    &mut c.reasoning,
                )));
            }
        }
        for c in &mut self.choices {
            if !c.text.is_empty() {
                out.push(StreamEvent::TextDelta(std::mem::take(&mut c.text)));
            }
        }
        let mut calls = std::mem::take(&mut self.calls);
        // Stable: calls of one choice keep the order they started in.
        calls.sort_by_key(|c| c.choice);
        let mut any_call = false;
        for c in calls {
            if !c.started {
                tracing::debug!(
                    choice = c.choice,
                    index = c.index,
                    "dropping a tool call fragment without a name"
                );
                continue;
            }
            any_call = true;
            out.push(StreamEvent::ToolCallDone(ToolCall {
                id: c.id,
                name: c.name,
                arguments: normalize_arguments(c.arguments),
            }));
        }
        if let Some(u) = self.usage.take() {
            out.push(StreamEvent::Usage(u));
        }
        let last = self.choices.iter().rev().find_map(|c| c.finish);
        let finish = match last {
            _ if self.refusal => FinishReason::Refusal,
            Some(FinishReason::Stop) | None if any_call => FinishReason::ToolCalls,
            Some(f) => f,
            None => FinishReason::Stop,
        };
        out.push(StreamEvent::Finish(finish));
    }
}

// ---------------------------------------------------------------------------------------------
// Non-streaming response

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<FullChoice>,
    #[serde(default)]
    usage: Option<RawUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct FullChoice {
    #[serde(default)]
    index: u32,
    #[serde(default)]
    message: Option<FullMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct FullMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<FullToolCall>>,
}

#[derive(Deserialize)]
struct FullToolCall {
    #[serde(default)]
    id: Option<String>,
    function: FullFunction,
}

#[derive(Deserialize)]
struct FullFunction {
    name: String,
    #[serde(default)]
    arguments: Option<Box<RawValue>>,
}

/// The arguments of a whole tool call as text: the string's content, as the spec says, or the raw
/// JSON for servers that send an object, in both cases exactly as the model wrote it.
pub(crate) fn arguments_text(v: Option<Box<RawValue>>) -> String {
    match v {
        Some(raw) if raw.get().starts_with('"') => serde_json::from_str::<String>(raw.get())
            .map_or_else(|_| "{}".to_owned(), normalize_arguments),
        Some(raw) => String::from(Box::<str>::from(raw)),
        None => "{}".to_owned(),
    }
}

/// Parses a non-streaming response body, merging its choices: text and reasoning joined in choice
/// order, every choice's tool calls in choice order, the last choice's finish reason.
pub fn parse_response(body: &[u8]) -> Result<ModelResponse> {
    let c: Completion =
        serde_json::from_slice(body).map_err(|e| decode_error("a response body", &e))?;
    if let Some(err) = c.error.filter(|e| !e.is_null()) {
        let body = serde_json::json!({ "error": err });
        return Err(stream_error(read_error_value(&body)));
    }
    let mut response = ModelResponse {
        usage: c.usage.map(|u| u.normalize()),
        ..Default::default()
    };
    let mut choices = c.choices;
    choices.sort_by_key(|c| c.index);
    let mut reasoning = String::new();
    let mut refusal = false;
    for choice in choices {
        if let Some(f) = choice.finish_reason.as_deref() {
            response.finish_reason = Some(finish_reason(f));
        }
        let Some(m) = choice.message else { continue };
        if let Some(r) = m.reasoning_content.or(m.reasoning) {
            reasoning.push_str(&r);
        }
        if let Some(t) = m.content {
            response.text.push_str(&t);
        }
        if let Some(r) = m.refusal.filter(|r| !r.is_empty()) {
            response.text.push_str(&r);
            refusal = true;
        }
        for tc in m.tool_calls.into_iter().flatten() {
            let position = response.tool_calls.len();
            response.tool_calls.push(ToolCall {
                id: tc
                    .id
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(|| format!("call_{position}")),
                name: tc.function.name,
                arguments: arguments_text(tc.function.arguments),
            });
        }
    }
    if !reasoning.is_empty() {
        response.reasoning.push(ReasoningItem {
            text: reasoning,
            ..Default::default()
        });
    }
    if refusal {
        response.finish_reason = Some(FinishReason::Refusal);
    }
    Ok(response)
}
