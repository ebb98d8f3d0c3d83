//! Anthropic Messages: <https://docs.anthropic.com/en/api/messages>.
//!
//! The system prompt is top-level, `max_tokens` is required, consecutive same-role turns are merged,
//! tool results travel in the next user message, and thinking blocks are passed back unmodified with
//! their signature. Stream quirks: `ping`, thinking and signature deltas, server tools
//! (`server_tool_use`, `web_search_tool_result`) and `compaction` blocks that are not client tool
//! calls, `error` events after HTTP 200, `message_delta` usage replacing `message_start`'s, and
//! recordings that end without the final blank line.
//!
//! Tool inputs keep the model's text: `tool_use.input` is read as raw JSON and the streamed
//! `partial_json` pieces are concatenated, and the next request writes that text back verbatim, so the
//! history stays byte-stable for prompt caches and replay proxies.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::DEFAULT_ANTHROPIC_MAX_TOKENS;
use super::error::{read_error_value, stream_error};
use super::sse::{SseDecoder, SseEvent};
use super::{
    ContentPart, FinishReason, Message, ModelCall, ModelResponse, ReasoningItem, StreamEvent,
    ToolCall, ToolChoice, Usage, WireFormat, chunk_error, decode_error, normalize_arguments,
    to_json, truncated,
};
use crate::error::Result;

// ---------------------------------------------------------------------------------------------
// Request

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    messages: Vec<AMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<Thinking>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_sequences: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_format: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
}

#[derive(Serialize)]
struct Thinking {
    #[serde(rename = "type")]
    kind: &'static str,
    budget_tokens: u32,
}

#[derive(Serialize)]
struct AMessage<'a> {
    role: &'static str,
    content: AContent<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum AContent<'a> {
    Text(&'a str),
    Blocks(Vec<Block<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block<'a> {
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    RedactedThinking {
        data: &'a str,
    },
    Text {
        text: &'a str,
    },
    Image {
        source: ImageSource<'a>,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: Input<'a>,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: &'a str,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
}

#[derive(Serialize)]
struct ImageSource<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    media_type: &'a str,
    data: &'a str,
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: Cow<'a, Value>,
}

/// The forced answer tool's description (a structured answer without native structured output).
pub(crate) const ANSWER_TOOL_DESCRIPTION: &str =
    "Give your final answer by calling this tool: its input is the answer.";

/// A `tool_use` input: the call's arguments text as the model wrote it, or `{}`.
#[derive(Serialize)]
#[serde(untagged)]
enum Input<'a> {
    Verbatim(&'a RawValue),
    Empty(EmptyObject),
}

#[derive(Serialize)]
struct EmptyObject {}

/// The tool input for a call's arguments text: the text itself, key order and spacing kept (only
/// surrounding whitespace is dropped), when it is a JSON object; `{}` otherwise (empty text included).
fn input_object(arguments: &str) -> Input<'_> {
    match serde_json::from_str::<&RawValue>(arguments) {
        Ok(raw) if raw.get().starts_with('{') => Input::Verbatim(raw),
        _ => Input::Empty(EmptyObject {}),
    }
}

/// A `tool_use` input read from a response, as text: exactly what the provider sent (`{}` when it
/// sent none, or null).
fn input_text(input: Option<Box<RawValue>>) -> String {
    input.map_or_else(
        || "{}".to_owned(),
        |raw| String::from(Box::<str>::from(raw)),
    )
}

/// Whether a `content_block_start` input holds the whole call (some servers send it there, with no
/// deltas), rather than the usual empty placeholder.
fn is_whole_input(raw: &RawValue) -> bool {
    let text = raw.get();
    text.starts_with('{') && !text[1..text.len() - 1].trim().is_empty()
}

/// Builds the request body.
pub fn build_body(call: &ModelCall<'_>) -> Result<Vec<u8>> {
    /// Appends blocks as a turn of `role`, merging with the previous turn of the same role.
    fn push<'a>(
        turns: &mut Vec<(&'static str, Vec<Block<'a>>)>,
        role: &'static str,
        blocks: Vec<Block<'a>>,
    ) {
        if blocks.is_empty() {
            return;
        }
        match turns.last_mut() {
            Some((r, existing)) if *r == role => existing.extend(blocks),
            _ => turns.push((role, blocks)),
        }
    }
    let mut turns = Vec::with_capacity(call.messages.len());
    for m in call.messages {
        match m {
            Message::User { content } => push(
                &mut turns,
                "user",
                content
                    .iter()
                    .map(|p| match p {
                        ContentPart::Text { text } => Block::Text { text },
                        ContentPart::Image { mime_type, data } => Block::Image {
                            source: ImageSource {
                                kind: "base64",
                                media_type: mime_type,
                                data,
                            },
                        },
                    })
                    .collect(),
            ),
            Message::Assistant {
                text,
                tool_calls,
                reasoning,
            } => {
                let mut blocks = Vec::with_capacity(reasoning.len() + 1 + tool_calls.len());
                for r in reasoning {
                    match (&r.signature, &r.encrypted_content) {
                        (Some(sig), _) if !r.redacted => blocks.push(Block::Thinking {
                            thinking: &r.text,
                            signature: sig,
                        }),
                        (_, Some(data)) if r.redacted => {
                            blocks.push(Block::RedactedThinking { data })
                        }
                        // Reasoning from another format cannot be verified by Anthropic: leave it out.
                        _ => {}
                    }
                }
                if !text.is_empty() {
                    blocks.push(Block::Text { text });
                }
                for c in tool_calls {
                    blocks.push(Block::ToolUse {
                        id: &c.id,
                        name: &c.name,
                        input: input_object(&c.arguments),
                    });
                }
                push(&mut turns, "assistant", blocks);
            }
            Message::Tool {
                call_id,
                content,
                is_error,
            } => push(
                &mut turns,
                "user",
                vec![Block::ToolResult {
                    tool_use_id: call_id,
                    content,
                    is_error: *is_error,
                }],
            ),
        }
    }
    let messages = turns
        .into_iter()
        .map(|(role, mut blocks)| AMessage {
            role,
            content: match blocks.as_slice() {
                [Block::Text { text }] => AContent::Text(text),
                _ => AContent::Blocks(std::mem::take(&mut blocks)),
            },
        })
        .collect();

    let max_output = call
        .max_output_tokens
        .unwrap_or(DEFAULT_ANTHROPIC_MAX_TOKENS);
    let budget = call.reasoning_effort.map(|e| e.anthropic_budget());
    // A structured answer: Anthropic's native output_format, or (the default) a forced tool whose
    // input is the answer.
    let forced = call
        .response_format
        .filter(|_| !call.native_structured_output);
    if forced.is_some() && call.reasoning_effort.is_some() {
        return Err(crate::Error::config(
            "responseFormat with reasoningEffort on Anthropic: a forced answer tool cannot be \
             combined with extended thinking; remove one, or turn on the provider's \
             nativeStructuredOutput",
        ));
    }
    let answer_tool = forced.map(|f| Tool {
        name: f.name(),
        description: ANSWER_TOOL_DESCRIPTION,
        input_schema: Cow::Owned(f.schema()),
    });
    let has_tools = !call.tools.is_empty() || answer_tool.is_some();
    let tool_choice = has_tools.then(|| {
        if let Some(f) = forced {
            return serde_json::json!({"type": "tool", "name": f.name()});
        }
        let mut v = match call.tool_choice {
            ToolChoice::Auto => serde_json::json!({"type": "auto"}),
            ToolChoice::None => serde_json::json!({"type": "none"}),
            ToolChoice::Required => serde_json::json!({"type": "any"}),
            ToolChoice::Function(name) => serde_json::json!({"type": "tool", "name": name}),
        };
        if !call.parallel_tool_calls && *call.tool_choice != ToolChoice::None {
            v["disable_parallel_tool_use"] = Value::Bool(true);
        }
        v
    });
    let body = Body {
        model: call.model,
        max_tokens: budget.map_or(max_output, |b| b + max_output),
        system: call.system.filter(|s| !s.is_empty()),
        messages,
        tools: call
            .tools
            .iter()
            .map(|t| Tool {
                name: &t.name,
                description: &t.description,
                input_schema: Cow::Borrowed(&t.parameters),
            })
            .chain(answer_tool)
            .collect(),
        tool_choice,
        thinking: budget.map(|budget_tokens| Thinking {
            kind: "enabled",
            budget_tokens,
        }),
        temperature: call.sampling.temperature,
        top_p: call.sampling.top_p,
        stop_sequences: call.sampling.stop.as_deref(),
        output_format: call
            .response_format
            .filter(|_| call.native_structured_output)
            .map(|f| serde_json::json!({"type": "json_schema", "schema": f.schema()})),
        stream: call.stream.then_some(true),
    };
    to_json(&body)
}

// ---------------------------------------------------------------------------------------------
// Usage and stop reasons

#[derive(Debug, Deserialize, Default, Clone, Copy)]
struct RawUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Debug, Deserialize, Default, Clone, Copy)]
struct OutputDetails {
    #[serde(default)]
    thinking_tokens: Option<u64>,
}

impl RawUsage {
    /// Fields present in `newer` replace ours (message_delta carries cumulative counts).
    fn merge(&mut self, newer: RawUsage) {
        self.input_tokens = newer.input_tokens.or(self.input_tokens);
        self.output_tokens = newer.output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = newer
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = newer
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
        self.output_tokens_details = newer.output_tokens_details.or(self.output_tokens_details);
    }

    fn normalize(&self) -> Usage {
        let cache_write = self.cache_creation_input_tokens.unwrap_or(0);
        let cache_read = self.cache_read_input_tokens.unwrap_or(0);
        Usage {
            // Anthropic's input_tokens excludes cached tokens: the total is the sum.
            input_tokens: self.input_tokens.unwrap_or(0) + cache_write + cache_read,
            output_tokens: self.output_tokens.unwrap_or(0),
            cache_read_tokens: cache_read,
            cache_write_tokens: cache_write,
            reasoning_tokens: self
                .output_tokens_details
                .and_then(|d| d.thinking_tokens)
                .unwrap_or(0),
        }
    }
}

fn stop_reason(s: &str) -> FinishReason {
    match s {
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "refusal" => FinishReason::Refusal,
        "end_turn" | "stop_sequence" | "pause_turn" => FinishReason::Stop,
        other => {
            tracing::debug!(
                reason = other,
                "unknown anthropic stop_reason, treated as stop"
            );
            FinishReason::Stop
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Stream

#[derive(Deserialize)]
struct Ev<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    message: Option<MessageStart>,
    #[serde(default)]
    content_block: Option<BlockStart>,
    #[serde(borrow, default)]
    delta: Option<Delta<'a>>,
    #[serde(default)]
    usage: Option<RawUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct MessageStart {
    #[serde(default)]
    usage: Option<RawUsage>,
}

#[derive(Deserialize)]
struct BlockStart {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    input: Option<Box<RawValue>>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    thinking: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    data: Option<String>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    partial_json: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    thinking: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    signature: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stop_reason: Option<Cow<'a, str>>,
}

#[derive(Debug)]
enum StreamBlock {
    Text,
    Tool {
        id: String,
        name: String,
        /// The input given at block start, used when no delta follows (whole calls).
        initial: Option<Box<RawValue>>,
        json: String,
    },
    Thinking {
        text: String,
        signature: String,
    },
    Skipped,
}

#[derive(Debug, Default)]
struct State {
    /// The body has ended: a chunk that fails to parse now was cut off, not malformed.
    finishing: bool,
    blocks: Vec<(usize, StreamBlock)>,
    usage: Option<RawUsage>,
    stop: Option<FinishReason>,
    done: bool,
}

/// The incremental Anthropic Messages stream decoder.
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
        if state.done {
            return;
        }
        if state.stop.is_some() {
            // message_delta with the stop reason arrived; only message_stop is missing.
            state.complete(out);
        } else {
            state.done = true;
            out.push(StreamEvent::Error(truncated(WireFormat::AnthropicMessages)));
        }
    }
}

impl State {
    fn block(&mut self, index: Option<usize>) -> Option<&mut StreamBlock> {
        let index = index?;
        self.blocks
            .iter_mut()
            .rev()
            .find(|(i, _)| *i == index)
            .map(|(_, b)| b)
    }

    fn on_event(&mut self, ev: SseEvent<'_>, out: &mut Vec<StreamEvent>) {
        if self.done {
            return;
        }
        let data = ev.data.trim();
        if data.is_empty() {
            return;
        }
        let ev: Ev<'_> = match serde_json::from_str(data) {
            Ok(ev) => ev,
            Err(e) => {
                self.done = true;
                out.push(StreamEvent::Error(chunk_error(
                    WireFormat::AnthropicMessages,
                    self.finishing,
                    "a stream event",
                    &e,
                )));
                return;
            }
        };
        match ev.kind.as_ref() {
            "message_start" => {
                if let Some(u) = ev.message.and_then(|m| m.usage) {
                    self.usage = Some(u);
                    // Reported now too, so that an abort mid-stream still knows the input tokens.
                    out.push(StreamEvent::Usage(u.normalize()));
                }
            }
            "content_block_start" => {
                let Some(start) = ev.content_block else {
                    return;
                };
                let index = ev.index.unwrap_or(self.blocks.len());
                let block = match start.kind.as_str() {
                    "text" => {
                        if let Some(t) = start.text.filter(|t| !t.is_empty()) {
                            out.push(StreamEvent::TextDelta(t));
                        }
                        StreamBlock::Text
                    }
                    "tool_use" => {
                        let id = start.id.unwrap_or_else(|| format!("toolu_{index}"));
                        let name = start.name.unwrap_or_default();
                        out.push(StreamEvent::ToolCallStart {
                            index,
                            id: id.clone(),
                            name: name.clone(),
                        });
                        StreamBlock::Tool {
                            id,
                            name,
                            initial: start.input.filter(|raw| is_whole_input(raw)),
                            json: String::new(),
                        }
                    }
                    "thinking" => {
                        let text = start.thinking.unwrap_or_default();
                        if !text.is_empty() {
                            out.push(StreamEvent::ReasoningDelta(text.clone()));
                        }
                        StreamBlock::Thinking {
                            text,
                            signature: start.signature.unwrap_or_default(),
                        }
                    }
                    "redacted_thinking" => {
                        out.push(StreamEvent::ReasoningDone(ReasoningItem {
                            encrypted_content: start.data,
                            redacted: true,
                            ..Default::default()
                        }));
                        StreamBlock::Skipped
                    }
                    other => {
                        // server_tool_use, web_search_tool_result, compaction, ...: run by the
                        // provider, not tool calls for us.
                        tracing::debug!(kind = other, "skipping a non-client content block");
                        StreamBlock::Skipped
                    }
                };
                self.blocks.push((index, block));
            }
            "content_block_delta" => {
                let Some(delta) = ev.delta else { return };
                let kind = delta.kind.as_deref().unwrap_or_default();
                match (self.block(ev.index), kind) {
                    (Some(StreamBlock::Text), "text_delta") => {
                        if let Some(t) = delta.text.filter(|t| !t.is_empty()) {
                            out.push(StreamEvent::TextDelta(t.into_owned()));
                        }
                    }
                    (Some(StreamBlock::Tool { json, .. }), "input_json_delta") => {
                        if let Some(j) = delta.partial_json.filter(|j| !j.is_empty()) {
                            json.push_str(&j);
                            out.push(StreamEvent::ToolCallDelta {
                                index: ev.index.unwrap_or_default(),
                                arguments: j.into_owned(),
                            });
                        }
                    }
                    (Some(StreamBlock::Thinking { text, .. }), "thinking_delta") => {
                        if let Some(t) = delta.thinking.filter(|t| !t.is_empty()) {
                            text.push_str(&t);
                            out.push(StreamEvent::ReasoningDelta(t.into_owned()));
                        }
                    }
                    (Some(StreamBlock::Thinking { signature, .. }), "signature_delta") => {
                        if let Some(s) = delta.signature {
                            signature.push_str(&s);
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                let Some(pos) = ev
                    .index
                    .and_then(|i| self.blocks.iter().rposition(|(bi, _)| *bi == i))
                else {
                    return;
                };
                let (_, block) = self.blocks.remove(pos);
                match block {
                    StreamBlock::Tool {
                        id,
                        name,
                        initial,
                        json,
                    } => {
                        // The pieces concatenated are the model's text, kept as is.
                        let arguments = match (json.is_empty(), initial) {
                            (true, Some(raw)) => raw.get().to_owned(),
                            _ => normalize_arguments(json),
                        };
                        out.push(StreamEvent::ToolCallDone(ToolCall {
                            id,
                            name,
                            arguments,
                        }));
                    }
                    StreamBlock::Thinking { text, signature } => {
                        out.push(StreamEvent::ReasoningDone(ReasoningItem {
                            text,
                            signature: (!signature.is_empty()).then_some(signature),
                            ..Default::default()
                        }));
                    }
                    StreamBlock::Text | StreamBlock::Skipped => {}
                }
            }
            "message_delta" => {
                if let Some(u) = ev.usage {
                    self.usage.get_or_insert_with(RawUsage::default).merge(u);
                }
                if let Some(r) = ev.delta.and_then(|d| d.stop_reason) {
                    self.stop = Some(stop_reason(&r));
                }
            }
            "message_stop" => self.complete(out),
            "error" => {
                self.done = true;
                let body = serde_json::json!({ "error": ev.error.unwrap_or(Value::Null) });
                out.push(StreamEvent::Error(stream_error(read_error_value(&body))));
            }
            _ => {}
        }
    }

    fn complete(&mut self, out: &mut Vec<StreamEvent>) {
        self.done = true;
        // Blocks never stopped were cut off (max_tokens in the middle of a tool_use): not executed.
        for (index, block) in self.blocks.drain(..) {
            if let StreamBlock::Tool { name, .. } = block {
                tracing::debug!(index, tool = %name, "dropping an unfinished tool_use block");
            }
        }
        if let Some(u) = self.usage {
            out.push(StreamEvent::Usage(u.normalize()));
        }
        out.push(StreamEvent::Finish(self.stop.unwrap_or(FinishReason::Stop)));
    }
}

// ---------------------------------------------------------------------------------------------
// Non-streaming response

#[derive(Deserialize)]
struct Full {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    content: Vec<BlockStart>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<RawUsage>,
    #[serde(default)]
    error: Option<Value>,
}

/// Parses a non-streaming response body.
pub fn parse_response(body: &[u8]) -> Result<ModelResponse> {
    let full: Full =
        serde_json::from_slice(body).map_err(|e| decode_error("a response body", &e))?;
    if full.kind.as_deref() == Some("error") {
        let body = serde_json::json!({ "error": full.error.unwrap_or(Value::Null) });
        return Err(stream_error(read_error_value(&body)));
    }
    let mut response = ModelResponse {
        usage: full.usage.map(|u| u.normalize()),
        finish_reason: full.stop_reason.as_deref().map(stop_reason),
        ..Default::default()
    };
    for (i, block) in full.content.into_iter().enumerate() {
        match block.kind.as_str() {
            "text" => response
                .text
                .push_str(block.text.as_deref().unwrap_or_default()),
            "tool_use" => response.tool_calls.push(ToolCall {
                id: block.id.unwrap_or_else(|| format!("toolu_{i}")),
                name: block.name.unwrap_or_default(),
                arguments: input_text(block.input),
            }),
            "thinking" => response.reasoning.push(ReasoningItem {
                text: block.thinking.unwrap_or_default(),
                signature: block.signature,
                ..Default::default()
            }),
            "redacted_thinking" => response.reasoning.push(ReasoningItem {
                encrypted_content: block.data,
                redacted: true,
                ..Default::default()
            }),
            other => tracing::debug!(kind = other, "skipping a non-client content block"),
        }
    }
    Ok(response)
}
