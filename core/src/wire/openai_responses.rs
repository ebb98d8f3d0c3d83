//! OpenAI Responses API: <https://platform.openai.com/docs/api-reference/responses>.
//!
//! Stateless use: `store: false`, the whole history as `input` items every call, reasoning items passed
//! back with their `encrypted_content` (`include: ["reasoning.encrypted_content"]`). The stream is typed
//! events (`event:` + `data` with the same `type`); unknown types are skipped, `[DONE]` is tolerated
//! but not required, and fields some servers omit (llama.cpp: `content_index`) are optional.
//! Function-call arguments are kept as the model's exact text and written back unchanged.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use super::error::{ErrorBody, read_error_value, stream_error};
use super::openai_chat::tool_choice_value;
use super::sse::{SseDecoder, SseEvent};
use super::{
    ContentPart, FinishReason, Message, ModelCall, ModelResponse, ReasoningItem, StreamEvent,
    ToolCall, Usage, WireFormat, chunk_error, decode_error, normalize_arguments, to_json,
    truncated,
};
use crate::error::Result;
use crate::types::ResponseFormat;

// ---------------------------------------------------------------------------------------------
// Request

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    instructions: Option<&'a str>,
    input: Vec<InputItem<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<Reasoning>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<Value>,
    store: bool,
    include: [&'static str; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    stream: Option<bool>,
}

#[derive(Serialize)]
struct Reasoning {
    effort: &'static str,
    summary: &'static str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum InputItem<'a> {
    Message {
        // Optional in the spec, required by llama.cpp's server for assistant items.
        #[serde(rename = "type")]
        kind: &'static str,
        role: &'static str,
        content: InputContent<'a>,
    },
    Typed(TypedItem<'a>),
}

#[derive(Serialize)]
#[serde(untagged)]
enum InputContent<'a> {
    Text(&'a str),
    Parts(Vec<InputPart<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum InputPart<'a> {
    InputText { text: &'a str },
    InputImage { image_url: String },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum TypedItem<'a> {
    Reasoning {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        summary: Vec<SummaryOut<'a>>,
        encrypted_content: &'a str,
    },
    FunctionCall {
        call_id: &'a str,
        name: &'a str,
        arguments: &'a str,
    },
    FunctionCallOutput {
        call_id: &'a str,
        output: &'a str,
    },
}

#[derive(Serialize)]
struct SummaryOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
}

#[derive(Serialize)]
struct Tool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
    // Responses defaults `strict` to true, which rejects ordinary schemas: opt out.
    strict: bool,
}

/// Builds the request body.
pub fn build_body(call: &ModelCall<'_>) -> Result<Vec<u8>> {
    let mut input = Vec::with_capacity(call.messages.len());
    for m in call.messages {
        match m {
            Message::User { content } => input.push(InputItem::Message {
                kind: "message",
                role: "user",
                content: match content.as_slice() {
                    [ContentPart::Text { text }] => InputContent::Text(text),
                    parts => InputContent::Parts(
                        parts
                            .iter()
                            .map(|p| match p {
                                ContentPart::Text { text } => InputPart::InputText { text },
                                ContentPart::Image { mime_type, data } => InputPart::InputImage {
                                    image_url: format!("data:{mime_type};base64,{data}"),
                                },
                            })
                            .collect(),
                    ),
                },
            }),
            Message::Assistant {
                text,
                tool_calls,
                reasoning,
            } => {
                for r in reasoning {
                    // Without its encrypted content a reasoning item cannot be resolved (store:false).
                    if let (Some(enc), false) = (&r.encrypted_content, r.redacted) {
                        input.push(InputItem::Typed(TypedItem::Reasoning {
                            id: r.id.as_deref(),
                            summary: if r.text.is_empty() {
                                Vec::new()
                            } else {
                                vec![SummaryOut {
                                    kind: "summary_text",
                                    text: &r.text,
                                }]
                            },
                            encrypted_content: enc,
                        }));
                    }
                }
                if !text.is_empty() {
                    input.push(InputItem::Message {
                        kind: "message",
                        role: "assistant",
                        content: InputContent::Text(text),
                    });
                }
                for c in tool_calls {
                    input.push(InputItem::Typed(TypedItem::FunctionCall {
                        call_id: &c.id,
                        name: &c.name,
                        arguments: &c.arguments,
                    }));
                }
            }
            Message::Tool {
                call_id, content, ..
            } => input.push(InputItem::Typed(TypedItem::FunctionCallOutput {
                call_id,
                output: content,
            })),
        }
    }
    let has_tools = !call.tools.is_empty();
    let body = Body {
        model: call.model,
        instructions: call.system,
        input,
        tools: call
            .tools
            .iter()
            .map(|t| Tool {
                kind: "function",
                name: &t.name,
                description: &t.description,
                parameters: &t.parameters,
                strict: false,
            })
            .collect(),
        tool_choice: has_tools.then(|| tool_choice_value(call.tool_choice, true)),
        parallel_tool_calls: has_tools.then_some(call.parallel_tool_calls),
        reasoning: call.reasoning_effort.map(|e| Reasoning {
            effort: e.as_str(),
            summary: "auto",
        }),
        max_output_tokens: call.max_output_tokens,
        temperature: call.sampling.temperature,
        top_p: call.sampling.top_p,
        text: call.response_format.map(|f| match f {
            ResponseFormat::JsonSchema {
                name,
                schema,
                strict,
            } => serde_json::json!({"format": {"type": "json_schema", "name": name,
                "schema": schema, "strict": strict.unwrap_or(false)}}),
            ResponseFormat::JsonObject => serde_json::json!({"format": {"type": "json_object"}}),
        }),
        store: false,
        include: ["reasoning.encrypted_content"],
        stream: call.stream.then_some(true),
    };
    to_json(&body)
}

// ---------------------------------------------------------------------------------------------
// Shared response shapes

#[derive(Deserialize, Default)]
struct RawUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    input_tokens_details: Option<InputDetails>,
    #[serde(default)]
    output_tokens_details: Option<OutputDetails>,
}

#[derive(Deserialize, Default)]
struct InputDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize, Default)]
struct OutputDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl RawUsage {
    fn normalize(&self) -> Usage {
        Usage {
            input_tokens: self.input_tokens.unwrap_or(0),
            output_tokens: self.output_tokens.unwrap_or(0),
            cache_read_tokens: self
                .input_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
            cache_write_tokens: 0,
            reasoning_tokens: self
                .output_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

#[derive(Deserialize, Default)]
struct Item {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    call_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Box<RawValue>>,
    #[serde(default)]
    summary: Option<Vec<TextPart>>,
    #[serde(default)]
    encrypted_content: Option<String>,
    #[serde(default)]
    content: Option<Vec<TextPart>>,
}

#[derive(Deserialize, Default)]
struct TextPart {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

impl Item {
    fn reasoning(self) -> ReasoningItem {
        let summary: String = self
            .summary
            .iter()
            .flatten()
            .filter_map(|p| p.text.as_deref())
            .collect::<Vec<_>>()
            .join("\n\n");
        let text = if summary.is_empty() {
            self.content
                .iter()
                .flatten()
                .filter_map(|p| p.text.as_deref())
                .collect()
        } else {
            summary
        };
        ReasoningItem {
            id: self.id,
            text,
            encrypted_content: self.encrypted_content,
            ..Default::default()
        }
    }

    fn tool_call(self, fallback_index: usize) -> ToolCall {
        ToolCall {
            id: self
                .call_id
                .or(self.id)
                .unwrap_or_else(|| format!("call_{fallback_index}")),
            name: self.name.unwrap_or_default(),
            arguments: super::openai_chat::arguments_text(self.arguments),
        }
    }
}

#[derive(Deserialize, Default)]
struct Resp {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    usage: Option<RawUsage>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    incomplete_details: Option<Incomplete>,
    #[serde(default)]
    output: Option<Vec<Item>>,
}

#[derive(Deserialize, Default)]
struct Incomplete {
    #[serde(default)]
    reason: Option<String>,
}

fn incomplete_reason(details: Option<&Incomplete>) -> FinishReason {
    match details.and_then(|d| d.reason.as_deref()) {
        Some("content_filter") => FinishReason::ContentFilter,
        _ => FinishReason::Length,
    }
}

fn failure(resp_error: Option<Value>) -> crate::error::Error {
    let body = match resp_error {
        Some(e) if !e.is_null() => read_error_value(&serde_json::json!({ "error": e })),
        _ => ErrorBody {
            message: Some("the response failed without details".to_owned()),
            ..Default::default()
        },
    };
    stream_error(body)
}

// ---------------------------------------------------------------------------------------------
// Stream

#[derive(Deserialize)]
struct Ev<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow, default)]
    delta: Option<Cow<'a, str>>,
    #[serde(default)]
    output_index: Option<usize>,
    #[serde(borrow, default)]
    item_id: Option<Cow<'a, str>>,
    #[serde(default)]
    item: Option<Item>,
    #[serde(default)]
    response: Option<Resp>,
    #[serde(default)]
    arguments: Option<String>,
    #[serde(default)]
    code: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
struct TypeOnly<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
}

const HANDLED: &[&str] = &[
    "response.output_item.added",
    "response.output_text.delta",
    "response.refusal.delta",
    "response.reasoning_summary_text.delta",
    "response.reasoning_text.delta",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.done",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "error",
];

#[derive(Debug, Default)]
struct PartialCall {
    output_index: usize,
    item_id: Option<String>,
    id: String,
    name: String,
    arguments: String,
    done: bool,
}

#[derive(Debug, Default)]
struct State {
    /// The body has ended: a chunk that fails to parse now was cut off, not malformed.
    finishing: bool,
    calls: Vec<PartialCall>,
    saw_text: bool,
    refusal: bool,
    done: bool,
}

/// The incremental Responses stream decoder.
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
        if !state.done {
            state.done = true;
            out.push(StreamEvent::Error(truncated(WireFormat::OpenAiResponses)));
        }
    }
}

impl State {
    fn call_for(&mut self, output_index: Option<usize>, item_id: Option<&str>) -> Option<usize> {
        self.calls
            .iter()
            .position(|c| {
                output_index.is_some_and(|i| i == c.output_index)
                    || item_id.is_some_and(|id| c.item_id.as_deref() == Some(id))
            })
            .or_else(|| {
                (output_index.is_none() && item_id.is_none() && !self.calls.is_empty())
                    .then(|| self.calls.len() - 1)
            })
    }

    fn on_event(&mut self, ev: SseEvent<'_>, out: &mut Vec<StreamEvent>) {
        if self.done {
            return;
        }
        let data = ev.data.trim();
        if data.is_empty() || data == "[DONE]" {
            return;
        }
        let ev: Ev<'_> = match serde_json::from_str(data) {
            Ok(ev) => ev,
            Err(e) => {
                // An event we do not handle may carry shapes we do not model: skip it.
                if let Ok(t) = serde_json::from_str::<TypeOnly<'_>>(data)
                    && !HANDLED.contains(&t.kind.as_ref())
                {
                    tracing::trace!(kind = %t.kind, "skipping responses event");
                    return;
                }
                self.done = true;
                out.push(StreamEvent::Error(chunk_error(
                    WireFormat::OpenAiResponses,
                    self.finishing,
                    "a stream event",
                    &e,
                )));
                return;
            }
        };
        match ev.kind.as_ref() {
            "response.output_item.added" => {
                if let Some(item) = ev.item.filter(|i| i.kind == "function_call") {
                    let output_index = ev.output_index.unwrap_or(self.calls.len());
                    let item_id = item.id.clone();
                    let call = item.tool_call(output_index);
                    out.push(StreamEvent::ToolCallStart {
                        index: output_index,
                        id: call.id.clone(),
                        name: call.name.clone(),
                    });
                    self.calls.push(PartialCall {
                        output_index,
                        item_id,
                        id: call.id,
                        name: call.name,
                        arguments: String::new(),
                        done: false,
                    });
                }
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                if ev.kind == "response.refusal.delta" {
                    self.refusal = true;
                }
                if let Some(d) = ev.delta.filter(|d| !d.is_empty()) {
                    self.saw_text = true;
                    out.push(StreamEvent::TextDelta(d.into_owned()));
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                if let Some(d) = ev.delta.filter(|d| !d.is_empty()) {
                    out.push(StreamEvent::ReasoningDelta(d.into_owned()));
                }
            }
            "response.function_call_arguments.delta" => {
                let item_id = ev.item_id.as_deref();
                if let (Some(pos), Some(d)) = (self.call_for(ev.output_index, item_id), ev.delta) {
                    let call = &mut self.calls[pos];
                    if call.item_id.is_none() {
                        call.item_id = item_id.map(str::to_owned);
                    }
                    call.arguments.push_str(&d);
                    out.push(StreamEvent::ToolCallDelta {
                        index: call.output_index,
                        arguments: d.into_owned(),
                    });
                }
            }
            "response.function_call_arguments.done" => {
                if let (Some(pos), Some(args)) = (
                    self.call_for(ev.output_index, ev.item_id.as_deref()),
                    ev.arguments,
                ) {
                    self.calls[pos].arguments = args;
                }
            }
            "response.output_item.done" => match ev.item {
                Some(item) if item.kind == "function_call" => {
                    let pos = self.call_for(ev.output_index, item.id.as_deref());
                    let fallback = ev.output_index.unwrap_or(self.calls.len());
                    let full_args = item.arguments.is_some();
                    let mut call = item.tool_call(fallback);
                    if let Some(pos) = pos {
                        let partial = &mut self.calls[pos];
                        partial.done = true;
                        if !full_args {
                            call.arguments = normalize_arguments(partial.arguments.clone());
                        }
                        if call.name.is_empty() {
                            call.name = partial.name.clone();
                        }
                    }
                    out.push(StreamEvent::ToolCallDone(call));
                }
                Some(item) if item.kind == "reasoning" => {
                    out.push(StreamEvent::ReasoningDone(item.reasoning()));
                }
                _ => {}
            },
            "response.completed" | "response.incomplete" => {
                self.done = true;
                let resp = ev.response.unwrap_or_default();
                let mut any_call = self.calls.iter().any(|c| c.done);
                // Servers that skip output_item.done or the text deltas still list the output here.
                for (i, item) in resp.output.into_iter().flatten().enumerate() {
                    match item.kind.as_str() {
                        "function_call" => {
                            let id = item.call_id.clone();
                            if !self
                                .calls
                                .iter()
                                .any(|c| c.done && Some(&c.id) == id.as_ref())
                            {
                                any_call = true;
                                out.push(StreamEvent::ToolCallDone(item.tool_call(i)));
                            }
                        }
                        "message" if !self.saw_text => {
                            for part in item.content.into_iter().flatten() {
                                if let Some(t) = part.text.or(part.refusal)
                                    && !t.is_empty()
                                {
                                    out.push(StreamEvent::TextDelta(t));
                                }
                            }
                        }
                        _ => {}
                    }
                }
                if let Some(u) = &resp.usage {
                    out.push(StreamEvent::Usage(u.normalize()));
                }
                let finish = if ev.kind == "response.incomplete" {
                    incomplete_reason(resp.incomplete_details.as_ref())
                } else if self.refusal {
                    FinishReason::Refusal
                } else if any_call {
                    FinishReason::ToolCalls
                } else {
                    FinishReason::Stop
                };
                out.push(StreamEvent::Finish(finish));
            }
            "response.failed" => {
                self.done = true;
                let resp = ev.response.unwrap_or_default();
                out.push(StreamEvent::Error(failure(resp.error)));
            }
            "error" => {
                self.done = true;
                let code = ev.code.and_then(|c| match c {
                    Value::String(s) => Some(s),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                });
                out.push(StreamEvent::Error(stream_error(ErrorBody {
                    message: ev.message,
                    code,
                    request_id: None,
                })));
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Non-streaming response

/// Parses a non-streaming response body.
pub fn parse_response(body: &[u8]) -> Result<ModelResponse> {
    let resp: Resp =
        serde_json::from_slice(body).map_err(|e| decode_error("a response body", &e))?;
    match resp.status.as_deref() {
        Some("failed") => return Err(failure(resp.error)),
        _ if resp.error.as_ref().is_some_and(|e| !e.is_null()) => {
            return Err(failure(resp.error));
        }
        _ => {}
    }
    let mut response = ModelResponse {
        usage: resp.usage.as_ref().map(RawUsage::normalize),
        ..Default::default()
    };
    let mut refusal = false;
    for (i, item) in resp.output.into_iter().flatten().enumerate() {
        match item.kind.as_str() {
            "message" => {
                for part in item.content.into_iter().flatten() {
                    if part.kind == "refusal" {
                        refusal = true;
                    }
                    if let Some(t) = part.text.or(part.refusal) {
                        response.text.push_str(&t);
                    }
                }
            }
            "function_call" => response.tool_calls.push(item.tool_call(i)),
            "reasoning" => response.reasoning.push(item.reasoning()),
            _ => {}
        }
    }
    response.finish_reason = Some(if resp.status.as_deref() == Some("incomplete") {
        incomplete_reason(resp.incomplete_details.as_ref())
    } else if refusal {
        FinishReason::Refusal
    } else {
        FinishReason::Stop
    });
    Ok(response)
}
