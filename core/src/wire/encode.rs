//! The reverse of the decoders: a neutral answer rendered in each wire format, streamed or whole, in
//! the shapes real providers send (checked against the recorded fixtures by the round-trip tests).
//! The mock transport and the replay provider both speak through it.

use serde_json::{Value, json};

use super::{FinishReason, ToolCall, Usage, WireFormat};

/// An answer to render.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answer {
    /// The text (may be empty).
    pub text: String,
    /// Readable reasoning, if any.
    pub reasoning: Option<String>,
    /// Tool calls.
    pub tool_calls: Vec<ToolCall>,
    /// Usage to report.
    pub usage: Usage,
    /// Why it stopped; `None` picks stop or tool_calls from the content.
    pub finish: Option<FinishReason>,
    /// The model name to echo.
    pub model: String,
}

impl Answer {
    /// A text answer.
    pub fn text(text: impl Into<String>) -> Self {
        Answer {
            text: text.into(),
            ..Default::default()
        }
    }

    /// An answer calling tools.
    pub fn tools(calls: Vec<ToolCall>) -> Self {
        Answer {
            tool_calls: calls,
            ..Default::default()
        }
    }

    fn finish(&self) -> FinishReason {
        self.finish.unwrap_or(if self.tool_calls.is_empty() {
            FinishReason::Stop
        } else {
            FinishReason::ToolCalls
        })
    }
}

/// Splits `s` into pieces of at most `size` characters (never inside a UTF-8 sequence).
pub fn split_chars(s: &str, size: usize) -> Vec<&str> {
    let size = size.max(1);
    let mut out = Vec::with_capacity(s.len() / size + 1);
    let mut start = 0;
    let mut count = 0;
    for (i, _) in s.char_indices() {
        if count == size {
            out.push(&s[start..i]);
            start = i;
            count = 0;
        }
        count += 1;
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn sse_data(v: &Value) -> String {
    format!("data: {v}\n\n")
}

fn sse_event(v: &Value) -> String {
    let kind = v["type"].as_str().unwrap_or("message");
    format!("event: {kind}\ndata: {v}\n\n")
}

/// The stream body as SSE events, one string per event.
pub fn stream_events(
    format: WireFormat,
    answer: &Answer,
    delta_chars: usize,
    include_usage: bool,
) -> Vec<String> {
    match format {
        WireFormat::OpenAiChat => chat_stream(answer, delta_chars, include_usage),
        WireFormat::OpenAiResponses => responses_stream(answer, delta_chars),
        WireFormat::AnthropicMessages => anthropic_stream(answer, delta_chars),
    }
}

/// The non-streaming body.
pub fn json_body(format: WireFormat, answer: &Answer) -> Value {
    match format {
        WireFormat::OpenAiChat => chat_json(answer),
        WireFormat::OpenAiResponses => responses_json(answer),
        WireFormat::AnthropicMessages => anthropic_json(answer),
    }
}

const CREATED: u64 = 1_727_346_178;

// ---------------------------------------------------------------------------------------------
// Chat Completions

fn chat_finish(f: FinishReason) -> &'static str {
    match f {
        FinishReason::Stop | FinishReason::Refusal => "stop",
        FinishReason::Length => "length",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::ContentFilter => "content_filter",
    }
}

fn chat_usage(u: &Usage) -> Value {
    json!({
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
        "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens},
        "completion_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
    })
}

fn chat_stream(a: &Answer, size: usize, include_usage: bool) -> Vec<String> {
    let chunk = |delta: Value, finish: Option<&str>| {
        sse_data(&json!({
            "id": "chatcmpl-modelport",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": a.model,
            "system_fingerprint": null,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        }))
    };
    let mut out = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    if let Some(r) = &a.reasoning {
        for piece in split_chars(r, size) {
            out.push(chunk(json!({"reasoning_content": piece}), None));
        }
    }
    let refusal = a.finish == Some(FinishReason::Refusal);
    for piece in split_chars(&a.text, size) {
        let key = if refusal { "refusal" } else { "content" };
        out.push(chunk(json!({ key: piece }), None));
    }
    for (i, c) in a.tool_calls.iter().enumerate() {
        out.push(chunk(
            json!({"tool_calls": [{"index": i, "id": c.id, "type": "function",
                   "function": {"name": c.name, "arguments": ""}}]}),
            None,
        ));
        for piece in split_chars(&c.arguments, size) {
            out.push(chunk(
                json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}),
                None,
            ));
        }
    }
    out.push(chunk(json!({}), Some(chat_finish(a.finish()))));
    if include_usage {
        out.push(sse_data(&json!({
            "id": "chatcmpl-modelport",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": a.model,
            "choices": [],
            "usage": chat_usage(&a.usage),
        })));
    }
    out.push("data: [DONE]\n\n".to_owned());
    out
}

fn chat_json(a: &Answer) -> Value {
    let refusal = a.finish == Some(FinishReason::Refusal);
    let mut message = json!({
        "role": "assistant",
        "content": if refusal || (a.text.is_empty() && !a.tool_calls.is_empty()) {
            Value::Null
        } else {
            Value::from(a.text.clone())
        },
        "refusal": if refusal { Value::from(a.text.clone()) } else { Value::Null },
    });
    if let Some(r) = &a.reasoning {
        message["reasoning_content"] = Value::from(r.clone());
    }
    if !a.tool_calls.is_empty() {
        message["tool_calls"] = a
            .tool_calls
            .iter()
            .map(|c| {
                json!({"id": c.id, "type": "function",
                       "function": {"name": c.name, "arguments": c.arguments}})
            })
            .collect();
    }
    json!({
        "id": "chatcmpl-modelport",
        "object": "chat.completion",
        "created": CREATED,
        "model": a.model,
        "choices": [{"index": 0, "message": message, "logprobs": null,
                     "finish_reason": chat_finish(a.finish())}],
        "usage": chat_usage(&a.usage),
    })
}

// ---------------------------------------------------------------------------------------------
// Responses

fn responses_usage(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens,
        "input_tokens_details": {"cached_tokens": u.cache_read_tokens},
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.input_tokens + u.output_tokens,
    })
}

fn responses_output(a: &Answer) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(r) = &a.reasoning {
        out.push(json!({"type": "reasoning", "id": "rs_modelport", "summary":
            [{"type": "summary_text", "text": r}]}));
    }
    if !a.text.is_empty() || a.tool_calls.is_empty() {
        let part = if a.finish == Some(FinishReason::Refusal) {
            json!({"type": "refusal", "refusal": a.text})
        } else {
            json!({"type": "output_text", "text": a.text, "annotations": []})
        };
        out.push(
            json!({"type": "message", "id": "msg_modelport", "status": "completed",
                        "role": "assistant", "content": [part]}),
        );
    }
    for (i, c) in a.tool_calls.iter().enumerate() {
        out.push(
            json!({"type": "function_call", "id": format!("fc_{i}"), "call_id": c.id,
                        "name": c.name, "arguments": c.arguments, "status": "completed"}),
        );
    }
    out
}

fn responses_object(a: &Answer, status: &str, output: Vec<Value>) -> Value {
    let incomplete = match a.finish() {
        FinishReason::Length => json!({"reason": "max_output_tokens"}),
        FinishReason::ContentFilter => json!({"reason": "content_filter"}),
        _ => Value::Null,
    };
    json!({
        "id": "resp_modelport",
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "model": a.model,
        "output": output,
        "parallel_tool_calls": true,
        "tool_choice": "auto",
        "tools": [],
        "incomplete_details": incomplete,
        "error": null,
        "usage": if status == "in_progress" { Value::Null } else { responses_usage(&a.usage) },
    })
}

fn responses_status(a: &Answer) -> &'static str {
    match a.finish() {
        FinishReason::Length | FinishReason::ContentFilter => "incomplete",
        _ => "completed",
    }
}

fn responses_json(a: &Answer) -> Value {
    responses_object(a, responses_status(a), responses_output(a))
}

fn responses_stream(a: &Answer, size: usize) -> Vec<String> {
    let mut seq = 0u64;
    let mut out = Vec::new();
    let mut push = |mut v: Value| {
        v["sequence_number"] = Value::from(seq);
        seq += 1;
        out.push(sse_event(&v));
    };
    push(
        json!({"type": "response.created", "response": responses_object(a, "in_progress", vec![])}),
    );
    push(
        json!({"type": "response.in_progress", "response": responses_object(a, "in_progress", vec![])}),
    );
    let output = responses_output(a);
    for (index, item) in output.iter().enumerate() {
        match item["type"].as_str() {
            Some("reasoning") => {
                push(
                    json!({"type": "response.output_item.added", "output_index": index,
                            "item": {"type": "reasoning", "id": "rs_modelport", "summary": []}}),
                );
                push(
                    json!({"type": "response.reasoning_summary_part.added", "item_id": "rs_modelport",
                            "output_index": index, "summary_index": 0,
                            "part": {"type": "summary_text", "text": ""}}),
                );
                let text = item["summary"][0]["text"].as_str().unwrap_or_default();
                for piece in split_chars(text, size) {
                    push(json!({"type": "response.reasoning_summary_text.delta",
                                "item_id": "rs_modelport", "output_index": index,
                                "summary_index": 0, "delta": piece}));
                }
                push(
                    json!({"type": "response.reasoning_summary_text.done", "item_id": "rs_modelport",
                            "output_index": index, "summary_index": 0, "text": text}),
                );
                push(
                    json!({"type": "response.output_item.done", "output_index": index, "item": item}),
                );
            }
            Some("message") => {
                let part = &item["content"][0];
                let refusal = part["type"] == "refusal";
                let empty_part = if refusal {
                    json!({"type": "refusal", "refusal": ""})
                } else {
                    json!({"type": "output_text", "text": "", "annotations": []})
                };
                push(
                    json!({"type": "response.output_item.added", "output_index": index,
                            "item": {"type": "message", "id": "msg_modelport", "status": "in_progress",
                                     "role": "assistant", "content": []}}),
                );
                push(
                    json!({"type": "response.content_part.added", "item_id": "msg_modelport",
                            "output_index": index, "content_index": 0, "part": empty_part}),
                );
                let (delta_type, done_type, key) = if refusal {
                    ("response.refusal.delta", "response.refusal.done", "refusal")
                } else {
                    (
                        "response.output_text.delta",
                        "response.output_text.done",
                        "text",
                    )
                };
                let text = part[key].as_str().unwrap_or_default();
                for piece in split_chars(text, size) {
                    push(
                        json!({"type": delta_type, "item_id": "msg_modelport", "output_index": index,
                                "content_index": 0, "delta": piece, "logprobs": []}),
                    );
                }
                push(
                    json!({"type": done_type, "item_id": "msg_modelport", "output_index": index,
                            "content_index": 0, key: text, "logprobs": []}),
                );
                push(
                    json!({"type": "response.content_part.done", "item_id": "msg_modelport",
                            "output_index": index, "content_index": 0, "part": part}),
                );
                push(
                    json!({"type": "response.output_item.done", "output_index": index, "item": item}),
                );
            }
            _ => {
                let id = item["id"].clone();
                let mut added = item.clone();
                added["arguments"] = Value::from("");
                added["status"] = Value::from("in_progress");
                push(
                    json!({"type": "response.output_item.added", "output_index": index, "item": added}),
                );
                let args = item["arguments"].as_str().unwrap_or_default();
                for piece in split_chars(args, size) {
                    push(
                        json!({"type": "response.function_call_arguments.delta", "item_id": id,
                                "output_index": index, "delta": piece}),
                    );
                }
                push(
                    json!({"type": "response.function_call_arguments.done", "item_id": id,
                            "output_index": index, "name": item["name"], "arguments": args}),
                );
                push(
                    json!({"type": "response.output_item.done", "output_index": index, "item": item}),
                );
            }
        }
    }
    let status = responses_status(a);
    let kind = if status == "incomplete" {
        "response.incomplete"
    } else {
        "response.completed"
    };
    push(json!({"type": kind, "response": responses_object(a, status, output)}));
    out
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages

fn anthropic_stop(f: FinishReason) -> &'static str {
    match f {
        FinishReason::Stop | FinishReason::ContentFilter => "end_turn",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::Refusal => "refusal",
    }
}

/// Anthropic counts cached input apart: input_tokens is what was neither read nor written.
fn anthropic_usage(u: &Usage) -> Value {
    json!({
        "input_tokens": u.input_tokens.saturating_sub(u.cache_read_tokens + u.cache_write_tokens),
        "cache_creation_input_tokens": u.cache_write_tokens,
        "cache_read_input_tokens": u.cache_read_tokens,
        "output_tokens": u.output_tokens,
    })
}

const SIGNATURE: &str = "bW9kZWxwb3J0LXJlcGxheS1zaWduYXR1cmU=";

/// A call's `tool_use` input text: its arguments as written when they are a JSON object, else `{}`.
fn anthropic_input(arguments: &str) -> &str {
    let text = arguments.trim();
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(_)) => text,
        _ => "{}",
    }
}

fn anthropic_content(a: &Answer) -> Vec<Value> {
    let mut content = Vec::new();
    if let Some(r) = &a.reasoning {
        content.push(json!({"type": "thinking", "thinking": r, "signature": SIGNATURE}));
    }
    if !a.text.is_empty() {
        content.push(json!({"type": "text", "text": a.text}));
    }
    for c in &a.tool_calls {
        // A Value sorts keys: only the stream below sends the arguments byte for byte.
        let input: Value =
            serde_json::from_str(anthropic_input(&c.arguments)).unwrap_or_else(|_| json!({}));
        content.push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": input}));
    }
    content
}

fn anthropic_json(a: &Answer) -> Value {
    json!({
        "id": "msg_modelport",
        "type": "message",
        "role": "assistant",
        "model": a.model,
        "content": anthropic_content(a),
        "stop_reason": anthropic_stop(a.finish()),
        "stop_sequence": null,
        "usage": anthropic_usage(&a.usage),
    })
}

fn anthropic_stream(a: &Answer, size: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut start_usage = anthropic_usage(&a.usage);
    start_usage["output_tokens"] = Value::from(1);
    out.push(sse_event(&json!({"type": "message_start", "message": {
        "id": "msg_modelport", "type": "message", "role": "assistant", "model": a.model,
        "content": [], "stop_reason": null, "stop_sequence": null, "usage": start_usage}})));
    // The tool_use blocks come in call order: their input streams as the call's own text.
    let mut calls = a.tool_calls.iter();
    for (index, block) in anthropic_content(a).iter().enumerate() {
        let (start, deltas): (Value, Vec<Value>) = match block["type"].as_str() {
            Some("thinking") => {
                let text = block["thinking"].as_str().unwrap_or_default();
                let mut d: Vec<Value> = split_chars(text, size)
                    .into_iter()
                    .map(|p| json!({"type": "thinking_delta", "thinking": p}))
                    .collect();
                d.push(json!({"type": "signature_delta", "signature": SIGNATURE}));
                (
                    json!({"type": "thinking", "thinking": "", "signature": ""}),
                    d,
                )
            }
            Some("text") => {
                let text = block["text"].as_str().unwrap_or_default();
                (
                    json!({"type": "text", "text": ""}),
                    split_chars(text, size)
                        .into_iter()
                        .map(|p| json!({"type": "text_delta", "text": p}))
                        .collect(),
                )
            }
            _ => {
                let args = calls.next().map_or("{}", |c| anthropic_input(&c.arguments));
                let mut d = vec![json!({"type": "input_json_delta", "partial_json": ""})];
                d.extend(
                    split_chars(args, size)
                        .into_iter()
                        .map(|p| json!({"type": "input_json_delta", "partial_json": p})),
                );
                (
                    json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}),
                    d,
                )
            }
        };
        out.push(sse_event(
            &json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        if index == 0 {
            out.push(sse_event(&json!({"type": "ping"})));
        }
        for delta in deltas {
            out.push(sse_event(
                &json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
        }
        out.push(sse_event(
            &json!({"type": "content_block_stop", "index": index}),
        ));
    }
    out.push(sse_event(&json!({"type": "message_delta",
        "delta": {"stop_reason": anthropic_stop(a.finish()), "stop_sequence": null},
        "usage": {"output_tokens": a.usage.output_tokens}})));
    out.push(sse_event(&json!({"type": "message_stop"})));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_chars_respects_utf8_and_size() {
        assert_eq!(split_chars("héllo", 2), vec!["hé", "ll", "o"]);
        assert_eq!(split_chars("", 3), Vec::<&str>::new());
        assert_eq!(split_chars("abc", 0), vec!["a", "b", "c"]);
    }
}
