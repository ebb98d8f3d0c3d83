use std::path::Path;

use serde_json::{Value, json};

use super::*;
use crate::test_support::{decode_every_way, own_fixtures, shared_fixtures};
use crate::{ErrorKind, ProviderConfig};

// ---------------------------------------------------------------------------------------------
// Requests: exact JSON per adapter, expected bodies written by hand in tests/fixtures/requests.

fn tools() -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "get_weather".into(),
            description: "Current weather for a city".into(),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}},
                               "required": ["city"]}),
        },
        ToolSpec {
            name: "get_time".into(),
            description: "The current time".into(),
            parameters: json!({"type": "object", "properties": {}}),
        },
    ]
}

fn history() -> Vec<Message> {
    vec![
        Message::User {
            content: vec![
                ContentPart::Text {
                    text: "What's the weather in Paris? Here is a photo.".into(),
                },
                ContentPart::Image {
                    mime_type: "image/png".into(),
                    data: "iVBORw0KGgo=".into(),
                },
            ],
        },
        Message::Assistant {
            text: "Let me check.".into(),
            tool_calls: vec![
                ToolCall {
                    id: "call_1".into(),
                    name: "get_weather".into(),
                    arguments: r#"{"city":"Paris"}"#.into(),
                },
                ToolCall {
                    id: "call_2".into(),
                    name: "get_time".into(),
                    arguments: "{}".into(),
                },
            ],
            reasoning: vec![ReasoningItem {
                id: Some("rs_1".into()),
                text: "Need weather.".into(),
                signature: Some("sig-1".into()),
                encrypted_content: Some("enc-1".into()),
                redacted: false,
            }],
        },
        Message::Tool {
            call_id: "call_1".into(),
            content: "Sunny, 22°C".into(),
            is_error: false,
        },
        Message::Tool {
            call_id: "call_2".into(),
            content: "Tool 'get_time' failed".into(),
            is_error: true,
        },
        Message::user("Thanks. And tomorrow?"),
    ]
}

fn full_call<'a>(
    model: &'a str,
    messages: &'a [Message],
    tools: &'a [ToolSpec],
    choice: &'a ToolChoice,
) -> ModelCall<'a> {
    ModelCall {
        model,
        system: Some("You are terse."),
        messages,
        tools,
        tool_choice: choice,
        parallel_tool_calls: true,
        reasoning_effort: Some(ReasoningEffort::Medium),
        max_output_tokens: Some(1000),
        stream: true,
        stream_usage: true,
        sampling: &crate::types::Sampling::NONE,
        extra_body: None,
        response_format: None,
        native_structured_output: false,
    }
}

fn minimal_call<'a>(messages: &'a [Message], choice: &'a ToolChoice) -> ModelCall<'a> {
    ModelCall {
        model: "m",
        system: None,
        messages,
        tools: &[],
        tool_choice: choice,
        parallel_tool_calls: true,
        reasoning_effort: None,
        max_output_tokens: None,
        stream: false,
        stream_usage: false,
        sampling: &crate::types::Sampling::NONE,
        extra_body: None,
        response_format: None,
        native_structured_output: false,
    }
}

fn expected_request(name: &str) -> Value {
    let path = own_fixtures().join("requests").join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn body(format: WireFormat, call: &ModelCall<'_>) -> Value {
    serde_json::from_slice(&build_body(format, call).unwrap()).unwrap()
}

#[test]
fn full_requests_match_the_hand_written_bodies() {
    let (h, t, auto) = (history(), tools(), ToolChoice::Auto);
    for (format, model, file) in [
        (WireFormat::OpenAiChat, "gpt-4o", "chat_full.json"),
        (WireFormat::OpenAiResponses, "gpt-5", "responses_full.json"),
        (
            WireFormat::AnthropicMessages,
            "claude-sonnet-4-5",
            "anthropic_full.json",
        ),
    ] {
        assert_eq!(
            body(format, &full_call(model, &h, &t, &auto)),
            expected_request(file),
            "{file}"
        );
    }
}

#[test]
fn minimal_requests_have_no_stream_key_and_no_tool_fields() {
    let h = [Message::user("Hi")];
    let auto = ToolChoice::Auto;
    for (format, file) in [
        (WireFormat::OpenAiChat, "chat_minimal.json"),
        (WireFormat::OpenAiResponses, "responses_minimal.json"),
        (WireFormat::AnthropicMessages, "anthropic_minimal.json"),
    ] {
        assert_eq!(
            body(format, &minimal_call(&h, &auto)),
            expected_request(file),
            "{file}"
        );
    }
}

#[test]
fn chat_stream_without_usage_has_no_stream_options() {
    let h = [Message::user("Hi")];
    let auto = ToolChoice::Auto;
    let mut call = minimal_call(&h, &auto);
    call.stream = true;
    assert_eq!(
        body(WireFormat::OpenAiChat, &call),
        json!({"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stream": true})
    );
}

#[test]
fn tool_choice_and_parallel_spellings() {
    let h = [Message::user("Hi")];
    let t = tools();
    let cases = [
        (
            ToolChoice::Required,
            json!("required"),
            json!("required"),
            json!({"type": "any", "disable_parallel_tool_use": true}),
        ),
        (
            ToolChoice::None,
            json!("none"),
            json!("none"),
            json!({"type": "none"}),
        ),
        (
            ToolChoice::Function("get_time".into()),
            json!({"type": "function", "function": {"name": "get_time"}}),
            json!({"type": "function", "name": "get_time"}),
            json!({"type": "tool", "name": "get_time", "disable_parallel_tool_use": true}),
        ),
    ];
    for (choice, chat, responses, anthropic) in cases {
        let mut call = minimal_call(&h, &choice);
        call.tools = &t;
        call.parallel_tool_calls = false;
        let c = body(WireFormat::OpenAiChat, &call);
        assert_eq!(c["tool_choice"], chat);
        assert_eq!(c["parallel_tool_calls"], json!(false));
        let r = body(WireFormat::OpenAiResponses, &call);
        assert_eq!(r["tool_choice"], responses);
        assert_eq!(r["parallel_tool_calls"], json!(false));
        let a = body(WireFormat::AnthropicMessages, &call);
        assert_eq!(a["tool_choice"], anthropic);
    }
}

#[test]
fn anthropic_merges_same_role_turns_and_skips_empty_text() {
    let h = vec![
        Message::user("first"),
        Message::user("second"),
        Message::Assistant {
            text: String::new(),
            tool_calls: vec![ToolCall {
                id: "t1".into(),
                name: "get_time".into(),
                arguments: "not json".into(),
            }],
            reasoning: vec![],
        },
        Message::Assistant {
            text: "more".into(),
            tool_calls: vec![],
            reasoning: vec![],
        },
        Message::Tool {
            call_id: "t1".into(),
            content: "noon".into(),
            is_error: false,
        },
    ];
    let auto = ToolChoice::Auto;
    let b = body(WireFormat::AnthropicMessages, &minimal_call(&h, &auto));
    assert_eq!(
        b["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "first"}, {"type": "text", "text": "second"}]},
            {"role": "assistant", "content": [
                {"type": "tool_use", "id": "t1", "name": "get_time", "input": {}},
                {"type": "text", "text": "more"}
            ]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "noon"}]}
        ])
    );
}

#[test]
fn reasoning_without_the_provider_specific_field_is_not_sent_back() {
    // Chat-format reasoning (text only) cannot be replayed to Anthropic or Responses.
    let h = vec![
        Message::user("q"),
        Message::Assistant {
            text: "a".into(),
            tool_calls: vec![],
            reasoning: vec![ReasoningItem {
                text: "thought".into(),
                ..Default::default()
            }],
        },
    ];
    let auto = ToolChoice::Auto;
    let call = minimal_call(&h, &auto);
    assert_eq!(
        body(WireFormat::AnthropicMessages, &call)["messages"][1],
        json!({"role": "assistant", "content": "a"})
    );
    assert_eq!(
        body(WireFormat::OpenAiResponses, &call)["input"][1],
        json!({"type": "message", "role": "assistant", "content": "a"})
    );
}

#[test]
fn build_request_uses_endpoint_url_headers_and_accept() {
    let endpoint = ProviderConfig::azure("https://res.openai.azure.com")
        .with_api_key("k-123")
        .resolve(Some("dep"))
        .unwrap();
    let h = [Message::user("Hi")];
    let auto = ToolChoice::Auto;
    let mut call = minimal_call(&h, &auto);
    call.model = endpoint.wire_model();
    call.stream = true;
    let req = endpoint.build_request(&call).unwrap();
    assert_eq!(
        req.uri().to_string(),
        "https://res.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-10-21"
    );
    assert_eq!(req.method(), http::Method::POST);
    assert_eq!(req.headers()["api-key"], "k-123");
    assert_eq!(req.headers()["accept"], "text/event-stream");
    assert_eq!(req.headers()["content-type"], "application/json");
    assert!(!format!("{req:?}").contains("k-123"), "{req:?}");
}

// ---------------------------------------------------------------------------------------------
// Recorded streams (../shared/fixtures/recorded), expected values written by hand from the files
// or read by `naive_text`, a line-by-line reading independent of the decoders.

/// Every choice's text, joined in choice order.
fn naive_chat_text(body: &str) -> String {
    let mut by_choice = std::collections::BTreeMap::<u64, String>::new();
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(data) else {
            continue;
        };
        for c in v["choices"].as_array().into_iter().flatten() {
            let text = by_choice.entry(c["index"].as_u64().unwrap()).or_default();
            for key in ["content", "refusal"] {
                if let Some(t) = c["delta"][key].as_str() {
                    text.push_str(t);
                }
            }
        }
    }
    by_choice.into_values().collect()
}

fn naive_anthropic_text(body: &str, delta_type: &str, key: &str) -> String {
    let mut text = String::new();
    for line in body.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        let v: Value = serde_json::from_str(data.trim()).unwrap();
        if v["type"] == "content_block_delta" && v["delta"]["type"] == delta_type {
            text.push_str(v["delta"][key].as_str().unwrap());
        }
    }
    text
}

fn usage(input: u64, output: u64, reasoning: u64) -> Option<Usage> {
    Some(Usage {
        input_tokens: input,
        output_tokens: output,
        reasoning_tokens: reasoning,
        ..Default::default()
    })
}

fn call(id: &str, name: &str, args: Value) -> (String, String, Value) {
    (id.into(), name.into(), args)
}

struct Expect {
    text: Option<&'static str>,
    calls: Vec<(String, String, Value)>,
    finish: FinishReason,
    usage: Option<Usage>,
}

fn check(file: &Path, format: WireFormat, expect: Expect, naive: impl Fn(&str) -> String) {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let raw = std::fs::read(file).unwrap();
    let decoded = decode_every_way(format, &raw, &name);
    assert!(decoded.errors.is_empty(), "{name}: {:?}", decoded.errors);
    let r = &decoded.response;
    let expected_text = expect
        .text
        .map(str::to_owned)
        .unwrap_or_else(|| naive(&String::from_utf8_lossy(&raw)));
    assert_eq!(r.text, expected_text, "{name}: text");
    assert_eq!(decoded.streamed_text, expected_text, "{name}: deltas");
    let calls: Vec<_> = r
        .tool_calls
        .iter()
        .map(|c| {
            let args: Value = serde_json::from_str(&c.arguments)
                .unwrap_or_else(|e| panic!("{name}: arguments {:?}: {e}", c.arguments));
            (c.id.clone(), c.name.clone(), args)
        })
        .collect();
    assert_eq!(calls, expect.calls, "{name}: tool calls");
    assert_eq!(r.finish_reason, Some(expect.finish), "{name}: finish");
    assert_eq!(r.usage, expect.usage, "{name}: usage");
}

#[test]
fn recorded_openai_chat_streams() {
    let Some(dir) = shared_fixtures() else { return };
    let dir = dir.join("recorded/openai-chat");
    let nt = None;
    let cases: Vec<(&str, Expect)> = vec![
        (
            "e2aad469b71d",
            Expect {
                text: nt,
                calls: vec![],
                finish: FinishReason::Stop,
                usage: usage(14, 30, 0),
            },
        ),
        (
            "a247c49c5fcd",
            Expect {
                text: Some(""),
                calls: vec![call(
                    "call_CTf1nWJLqSeRgDqaCG27xZ74",
                    "get_weather",
                    json!({"city": "San Francisco", "state": "CA"}),
                )],
                finish: FinishReason::ToolCalls,
                usage: usage(48, 19, 0),
            },
        ),
        (
            "2018feb66ae1",
            Expect {
                text: Some(""),
                calls: vec![call(
                    "call_4XzlGBLtUe9dy3GVNV4jhq7h",
                    "get_weather",
                    json!({"city": "New York City"}),
                )],
                finish: FinishReason::ToolCalls,
                usage: usage(44, 16, 0),
            },
        ),
        (
            "c6aa7e397b71",
            Expect {
                text: Some(""),
                calls: vec![call(
                    "call_c91SqDXlYFuETYv8mUHzz6pp",
                    "GetWeatherArgs",
                    json!({"city": "Edinburgh", "country": "UK", "units": "c"}),
                )],
                finish: FinishReason::ToolCalls,
                usage: usage(76, 24, 0),
            },
        ),
        (
            "f82268f2fefd",
            Expect {
                text: Some(""),
                calls: vec![
                    call(
                        "call_JMW1whyEaYG438VE1OIflxA2",
                        "GetWeatherArgs",
                        json!({"city": "Edinburgh", "country": "GB", "units": "c"}),
                    ),
                    call(
                        "call_DNYTawLBoN8fj3KN6qU9N1Ou",
                        "get_stock_price",
                        json!({"ticker": "AAPL", "exchange": "NASDAQ"}),
                    ),
                ],
                finish: FinishReason::ToolCalls,
                usage: usage(149, 60, 0),
            },
        ),
        // n=3, the choices interleaved: their texts joined in choice order (65, 61 and 59 degrees).
        (
            "a491adda08c3",
            Expect {
                text: Some(concat!(
                    r#"{"city":"San Francisco","temperature":65,"units":"f"}"#,
                    r#"{"city":"San Francisco","temperature":61,"units":"f"}"#,
                    r#"{"city":"San Francisco","temperature":59,"units":"f"}"#,
                )),
                calls: vec![],
                finish: FinishReason::Stop,
                usage: usage(79, 42, 0),
            },
        ),
        (
            "4cc50a6135d2",
            Expect {
                text: Some("{\""),
                calls: vec![],
                finish: FinishReason::Length,
                usage: usage(79, 1, 0),
            },
        ),
        (
            "173417d55340",
            Expect {
                text: Some("I'm sorry, I can't assist with that request."),
                calls: vec![],
                finish: FinishReason::Refusal,
                usage: usage(79, 11, 0),
            },
        ),
        (
            "569c877e6942",
            Expect {
                text: Some("I'm very sorry, but I can't assist with that."),
                calls: vec![],
                finish: FinishReason::Refusal,
                usage: usage(79, 12, 0),
            },
        ),
        (
            "83b060bae42e",
            Expect {
                text: Some("Foo!"),
                calls: vec![],
                finish: FinishReason::Stop,
                usage: usage(9, 2, 0),
            },
        ),
        (
            "7e5ea4d12e7c",
            Expect {
                text: Some(r#"{"city":"San Francisco","temperature":61,"units":"f"}"#),
                calls: vec![],
                finish: FinishReason::Stop,
                usage: usage(79, 14, 0),
            },
        ),
        (
            "d61558011839",
            Expect {
                text: nt,
                calls: vec![],
                finish: FinishReason::Stop,
                usage: usage(19, 177, 0),
            },
        ),
    ];
    let mut seen = 0;
    for (name, expect) in cases {
        check(
            &dir.join(format!("{name}.sse")),
            WireFormat::OpenAiChat,
            expect,
            naive_chat_text,
        );
        seen += 1;
    }
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(
        seen, on_disk,
        "every recorded chat stream has an expectation"
    );
}

#[test]
fn recorded_anthropic_streams() {
    let Some(dir) = shared_fixtures() else { return };
    let dir = dir.join("recorded/anthropic-messages");
    let text = |body: &str| naive_anthropic_text(body, "text_delta", "text");
    let cases: Vec<(&str, Expect)> = vec![
        (
            "basic_response",
            Expect {
                text: Some("Hello there!"),
                calls: vec![],
                finish: FinishReason::Stop,
                usage: usage(11, 6, 0),
            },
        ),
        (
            "tool_use_response",
            Expect {
                text: Some("I'll check the current weather in Paris for you."),
                calls: vec![call(
                    "toolu_01NRLabsLyVHZPKxbKvkfSMn",
                    "get_weather",
                    json!({"location": "Paris"}),
                )],
                finish: FinishReason::ToolCalls,
                usage: usage(377, 65, 0),
            },
        ),
        (
            "compaction_response",
            Expect {
                text: Some("Hello there!"),
                calls: vec![],
                finish: FinishReason::Stop,
                usage: usage(30, 8, 0),
            },
        ),
        (
            "incomplete_partial_json_response",
            Expect {
                text: Some(
                    "I'll create a comprehensive tax guide for someone with multiple W2s and save it in a file called taxes.txt. Let me do that for you now.",
                ),
                calls: vec![],
                finish: FinishReason::Length,
                usage: usage(450, 124, 0),
            },
        ),
        (
            "refusal_response",
            Expect {
                text: Some(""),
                calls: vec![],
                finish: FinishReason::Refusal,
                usage: usage(20, 0, 0),
            },
        ),
        (
            "thinking-stream-a-refusal",
            Expect {
                text: Some("Hi"),
                calls: vec![],
                finish: FinishReason::Refusal,
                usage: usage(28, 106, 67),
            },
        ),
        // message_delta's input_tokens (28) replaces message_start's (612).
        (
            "thinking-stream-a-toolrefusal",
            Expect {
                text: Some("Here's a summary of this year's solar eclipses and how"),
                calls: vec![],
                finish: FinishReason::Refusal,
                usage: usage(28, 106, 67),
            },
        ),
        (
            "thinking-stream-b-fallback",
            Expect {
                text: None,
                calls: vec![],
                finish: FinishReason::Stop,
                usage: usage(31, 547, 0),
            },
        ),
    ];
    let mut seen = 0;
    for (name, expect) in cases {
        check(
            &dir.join(format!("{name}.sse")),
            WireFormat::AnthropicMessages,
            expect,
            text,
        );
        seen += 1;
    }
    assert_eq!(seen, std::fs::read_dir(&dir).unwrap().count());
}

#[test]
fn recorded_anthropic_thinking_keeps_text_and_signature() {
    let Some(dir) = shared_fixtures() else { return };
    let path = dir.join("recorded/anthropic-messages/thinking-stream-a-refusal.sse");
    let raw = std::fs::read(&path).unwrap();
    let body = String::from_utf8_lossy(&raw);
    let decoded = decode_every_way(WireFormat::AnthropicMessages, &raw, "thinking-a");
    let expected_thinking = naive_anthropic_text(&body, "thinking_delta", "thinking");
    assert_eq!(
        decoded.response.reasoning,
        vec![ReasoningItem {
            text: expected_thinking,
            signature: Some(
                "c3ludGhldGljLXNpZ25hdHVyZS1maXh0dXJlLWEtbm90LWEtcmVhbC1zaWduYXR1cmU=".into()
            ),
            ..Default::default()
        }]
    );
}

// ---------------------------------------------------------------------------------------------
// The project's own hand-written streams: tests/fixtures/wire/<format>/*.sse with .expected.json.

fn expected_usage(v: &Value) -> Option<Usage> {
    (!v.is_null()).then(|| serde_json::from_value(v.clone()).unwrap())
}

/// Checks an answer against a `.expected.json`; a tool call's `argumentsText`, when given, must
/// match the arguments text exactly (key order and spacing included).
fn check_expected(r: &ModelResponse, exp: &Value, name: &str) {
    assert_eq!(r.text, exp["text"], "{name}: text");
    assert_eq!(
        r.finish_reason.map(|f| f.as_str()),
        exp["finishReason"].as_str(),
        "{name}: finish"
    );
    assert_eq!(r.usage, expected_usage(&exp["usage"]), "{name}: usage");
    let calls: Vec<Value> = r
        .tool_calls
        .iter()
        .map(|c| {
            json!({"id": c.id, "name": c.name,
                   "arguments": serde_json::from_str::<Value>(&c.arguments).unwrap()})
        })
        .collect();
    let expected_calls: Vec<Value> = exp["toolCalls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({"id": c["id"], "name": c["name"], "arguments": c["arguments"]}))
        .collect();
    assert_eq!(calls, expected_calls, "{name}: tool calls");
    for (got, want) in r
        .tool_calls
        .iter()
        .zip(exp["toolCalls"].as_array().unwrap())
    {
        if let Some(text) = want.get("argumentsText") {
            assert_eq!(
                got.arguments,
                text.as_str().unwrap(),
                "{name}: arguments text"
            );
        }
    }
    if let Some(reasoning) = exp.get("reasoning") {
        assert_eq!(
            r.reasoning_text().as_deref(),
            reasoning.as_str(),
            "{name}: reasoning"
        );
    }
    if let Some(items) = exp.get("reasoningItems") {
        let got = serde_json::to_value(&r.reasoning).unwrap();
        assert_eq!(&got, items, "{name}: reasoning items");
    }
}

/// The format of each fixture folder.
const FOLDERS: [(&str, WireFormat); 3] = [
    ("openai-chat", WireFormat::OpenAiChat),
    ("openai-responses", WireFormat::OpenAiResponses),
    ("anthropic-messages", WireFormat::AnthropicMessages),
];

#[test]
fn hand_written_streams_decode_as_expected() {
    let mut count = 0;
    for (folder, format) in FOLDERS {
        let dir = own_fixtures().join("wire").join(folder);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "sse"))
            .collect();
        files.sort();
        for file in files {
            let name = format!("{folder}/{}", file.file_name().unwrap().to_string_lossy());
            let raw = std::fs::read(&file).unwrap();
            let exp: Value = serde_json::from_slice(
                &std::fs::read(file.with_extension("expected.json")).unwrap(),
            )
            .unwrap();
            let decoded = decode_every_way(format, &raw, &name);
            let errors: Vec<&str> = decoded.errors.iter().map(|k| k.as_str()).collect();
            let expected_errors: Vec<&str> = exp["errors"]
                .as_array()
                .map(|a| a.iter().map(|e| e.as_str().unwrap()).collect())
                .unwrap_or_default();
            assert_eq!(errors, expected_errors, "{name}: errors");
            assert_eq!(decoded.streamed_text, exp["text"], "{name}: text");
            count += 1;
            if !expected_errors.is_empty() {
                continue;
            }
            check_expected(&decoded.response, &exp, &name);
        }
    }
    assert!(count >= 30, "only {count} hand-written streams found");
}

/// The project's own non-streaming bodies: tests/fixtures/wire/bodies/<format>/*.json with
/// .expected.json.
#[test]
fn hand_written_bodies_parse_as_expected() {
    let mut count = 0;
    for (folder, format) in FOLDERS {
        let dir = own_fixtures().join("wire/bodies").join(folder);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.to_string_lossy().ends_with(".expected.json"))
            .collect();
        files.sort();
        for file in files {
            let name = format!("{folder}/{}", file.file_name().unwrap().to_string_lossy());
            let exp: Value = serde_json::from_slice(
                &std::fs::read(file.with_extension("expected.json")).unwrap(),
            )
            .unwrap();
            let r = parse_response(format, &std::fs::read(&file).unwrap()).unwrap();
            check_expected(&r, &exp, &name);
            count += 1;
        }
    }
    assert!(count >= 4, "only {count} hand-written bodies found");
}

// ---------------------------------------------------------------------------------------------
// Tool-call arguments go back byte for byte (prompt caches and replay proxies key on the exact
// prefix). Checked on the raw request bytes: a parsed comparison would not see key order or spacing.

/// Builds `messages` as the next request in `format` and checks that every call's arguments text is
/// in the raw body unchanged: as the `input` object for Anthropic (`{}` for empty text), as the
/// `arguments` string for the OpenAI formats.
fn assert_arguments_sent_verbatim(format: WireFormat, messages: &[Message], name: &str) {
    let auto = ToolChoice::Auto;
    let raw = build_body(format, &minimal_call(messages, &auto)).unwrap();
    let body = String::from_utf8(raw).unwrap();
    serde_json::from_str::<Value>(&body).unwrap_or_else(|e| panic!("{name}: {e}: {body}"));
    let mut seen = 0;
    for m in messages {
        let Message::Assistant { tool_calls, .. } = m else {
            continue;
        };
        for c in tool_calls {
            let needle = match format {
                WireFormat::AnthropicMessages if c.arguments.is_empty() => {
                    format!(r#""id":"{}","name":"{}","input":{{}}"#, c.id, c.name)
                }
                WireFormat::AnthropicMessages => format!(r#""input":{}"#, c.arguments),
                _ => format!(
                    r#""arguments":{}"#,
                    serde_json::to_string(&c.arguments).unwrap()
                ),
            };
            assert!(
                body.contains(&needle),
                "{name} {format:?}: {needle} is not in {body}"
            );
            seen += 1;
        }
    }
    assert!(seen > 0, "{name}: no tool calls");
}

#[test]
fn history_arguments_go_into_every_request_byte_for_byte() {
    let path = own_fixtures().join("requests/history_verbatim_arguments.json");
    let history: Vec<Message> = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for format in [
        WireFormat::OpenAiChat,
        WireFormat::OpenAiResponses,
        WireFormat::AnthropicMessages,
    ] {
        assert_arguments_sent_verbatim(format, &history, "history_verbatim_arguments");
    }
    // The same, spelled out for the first call.
    let auto = ToolChoice::Auto;
    let anthropic = build_body(
        WireFormat::AnthropicMessages,
        &minimal_call(&history, &auto),
    );
    let anthropic = String::from_utf8(anthropic.unwrap()).unwrap();
    assert!(
        anthropic.contains(r#""input":{"b": 1,  "a":{"z":2,"y":[1, 2]}}"#),
        "{anthropic}"
    );
    let chat = build_body(WireFormat::OpenAiChat, &minimal_call(&history, &auto));
    let chat = String::from_utf8(chat.unwrap()).unwrap();
    assert!(
        chat.contains(r#""arguments":"{\"b\": 1,  \"a\":{\"z\":2,\"y\":[1, 2]}}""#),
        "{chat}"
    );
}

/// The history after `response`: the question, the answer, a result for each call.
fn history_after(response: ModelResponse) -> Vec<Message> {
    let results: Vec<Message> = response
        .tool_calls
        .iter()
        .map(|c| Message::Tool {
            call_id: c.id.clone(),
            content: "done".into(),
            is_error: false,
        })
        .collect();
    let mut history = vec![
        Message::user("q"),
        Message::Assistant {
            text: response.text,
            tool_calls: response.tool_calls,
            reasoning: response.reasoning,
        },
    ];
    history.extend(results);
    history
}

#[test]
fn decoded_anthropic_tool_input_goes_back_as_the_model_wrote_it() {
    // Streamed: the partial_json pieces, concatenated by a plain reading of the file.
    let mut streams = vec![own_fixtures().join("wire/anthropic-messages/arguments_verbatim.sse")];
    if let Some(dir) = shared_fixtures() {
        // Recorded: `{"location": "Paris"}`, with the space a re-serialisation would drop.
        streams.push(dir.join("recorded/anthropic-messages/tool_use_response.sse"));
    }
    for path in streams {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let raw = std::fs::read(&path).unwrap();
        let model_text = naive_anthropic_text(
            &String::from_utf8_lossy(&raw),
            "input_json_delta",
            "partial_json",
        );
        let decoded = decode_every_way(WireFormat::AnthropicMessages, &raw, &name);
        assert!(decoded.errors.is_empty(), "{name}: {:?}", decoded.errors);
        assert_eq!(
            decoded.response.tool_calls[0].arguments, model_text,
            "{name}"
        );
        let history = history_after(decoded.response);
        assert_arguments_sent_verbatim(WireFormat::AnthropicMessages, &history, &name);
    }

    // Not streamed: the input objects exactly as they are written in the body (spacing, key order,
    // escapes and line breaks).
    let path = own_fixtures().join("wire/bodies/anthropic-messages/arguments_verbatim.json");
    let r = parse_response(
        WireFormat::AnthropicMessages,
        &std::fs::read(&path).unwrap(),
    )
    .unwrap();
    assert_eq!(
        r.tool_calls[0].arguments,
        r#"{"b": 1,  "a":{"z":2,"y":[1, 2]}}"#
    );
    let history = history_after(r);
    assert_arguments_sent_verbatim(WireFormat::AnthropicMessages, &history, "body");
    let auto = ToolChoice::Auto;
    let next = build_body(
        WireFormat::AnthropicMessages,
        &minimal_call(&history, &auto),
    )
    .unwrap();
    let next = String::from_utf8(next).unwrap();
    assert!(
        next.contains("\"input\":{\n      \"title\" : \"caf\\u00e9\",\n      \"tags\": []\n    }"),
        "{next}"
    );
}

// ---------------------------------------------------------------------------------------------
// Non-streaming bodies.

#[test]
fn non_streaming_bodies_parse() {
    let chat = br#"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_9","type":"function","function":{"name":"f","arguments":""}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1}}}"#;
    let r = parse_response(WireFormat::OpenAiChat, chat).unwrap();
    assert_eq!(
        r.tool_calls,
        vec![ToolCall {
            id: "call_9".into(),
            name: "f".into(),
            arguments: "{}".into()
        }]
    );
    assert_eq!(
        r.finish_reason,
        Some(FinishReason::ToolCalls),
        "tool calls win over finish stop"
    );
    assert_eq!(r.usage.unwrap().cache_read_tokens, 1);

    let responses = br#"{"id":"r","status":"incomplete","incomplete_details":{"reason":"content_filter"},"output":[{"type":"message","content":[{"type":"output_text","text":"par"}]}],"usage":{"input_tokens":3,"output_tokens":1}}"#;
    let r = parse_response(WireFormat::OpenAiResponses, responses).unwrap();
    assert_eq!(r.text, "par");
    assert_eq!(r.finish_reason, Some(FinishReason::ContentFilter));

    let failed = br#"{"id":"r","status":"failed","error":{"code":"server_error","message":"boom"},"output":[]}"#;
    let e = parse_response(WireFormat::OpenAiResponses, failed).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Server);
    assert!(e.message().contains("boom"));

    let anthropic = br#"{"id":"m","type":"message","role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"text","text":"Hi"},{"type":"tool_use","id":"toolu_1","name":"f","input":{"a":1}}],"stop_reason":"tool_use","usage":{"input_tokens":10,"cache_read_input_tokens":90,"cache_creation_input_tokens":5,"output_tokens":3}}"#;
    let r = parse_response(WireFormat::AnthropicMessages, anthropic).unwrap();
    assert_eq!(r.text, "Hi");
    assert_eq!(r.reasoning_text().as_deref(), Some("hm"));
    assert_eq!(r.tool_calls[0].arguments, r#"{"a":1}"#);
    assert_eq!(
        r.usage,
        Some(Usage {
            input_tokens: 105,
            output_tokens: 3,
            cache_read_tokens: 90,
            cache_write_tokens: 5,
            reasoning_tokens: 0
        })
    );

    let e = parse_response(WireFormat::OpenAiChat, b"not json").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
}

// ---------------------------------------------------------------------------------------------
// The encoder (used by the mock transport and the replay provider) round-trips through the decoders.

#[test]
fn encoder_round_trips_through_every_decoder() {
    use super::encode::{Answer, json_body, stream_events};
    let answers = [
        Answer {
            text: "Hello wörld, this is a longer answer.".into(),
            usage: Usage {
                input_tokens: 12,
                output_tokens: 9,
                ..Default::default()
            },
            ..Default::default()
        },
        Answer {
            text: "Calling.".into(),
            reasoning: Some("Think first.".into()),
            tool_calls: vec![
                ToolCall {
                    id: "call_a".into(),
                    name: "a".into(),
                    arguments: r#"{"y": "two",  "x":{"z":2,"b":[1, 2]}}"#.into(),
                },
                ToolCall {
                    id: "call_b".into(),
                    name: "b".into(),
                    arguments: "{}".into(),
                },
            ],
            usage: Usage {
                input_tokens: 30,
                output_tokens: 12,
                ..Default::default()
            },
            ..Default::default()
        },
        Answer {
            text: "cut".into(),
            finish: Some(FinishReason::Length),
            ..Default::default()
        },
    ];
    for format in [
        WireFormat::OpenAiChat,
        WireFormat::OpenAiResponses,
        WireFormat::AnthropicMessages,
    ] {
        for a in &answers {
            for size in [1, 5, 200] {
                let body: String = stream_events(format, a, size, true).concat();
                let d = decode_every_way(format, body.as_bytes(), format.as_str());
                assert!(d.errors.is_empty(), "{format:?}: {:?}", d.errors);
                assert_same_answer(&d.response, a, format, true);
            }
            // Anthropic's whole body holds the input as a Value, whose keys serde_json sorts.
            let exact = format != WireFormat::AnthropicMessages;
            let whole = serde_json::to_vec(&json_body(format, a)).unwrap();
            assert_same_answer(&parse_response(format, &whole).unwrap(), a, format, exact);
        }
    }
}

/// `exact`: the arguments text must be the answer's byte for byte, not just the same JSON.
fn assert_same_answer(r: &ModelResponse, a: &encode::Answer, format: WireFormat, exact: bool) {
    assert_eq!(r.text, a.text, "{format:?}");
    assert_eq!(r.reasoning_text(), a.reasoning, "{format:?}");
    assert_eq!(r.usage.unwrap_or_default(), a.usage, "{format:?}");
    let parsed = |calls: &[ToolCall]| -> Vec<(String, String, Value)> {
        calls
            .iter()
            .map(|c| {
                (
                    c.id.clone(),
                    c.name.clone(),
                    serde_json::from_str(&c.arguments).unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(parsed(&r.tool_calls), parsed(&a.tool_calls), "{format:?}");
    if exact {
        assert_eq!(r.tool_calls, a.tool_calls, "{format:?}: arguments text");
    }
    let finish = a.finish.unwrap_or(if a.tool_calls.is_empty() {
        FinishReason::Stop
    } else {
        FinishReason::ToolCalls
    });
    assert_eq!(r.finish_reason, Some(finish), "{format:?}");
}

/// The encoder speaks like the recordings: the same chunk keys (Chat) and event sequence (Anthropic).
#[test]
fn encoder_output_has_the_recorded_shapes() {
    use super::encode::{Answer, stream_events};
    use std::collections::BTreeSet;
    let Some(dir) = shared_fixtures() else { return };
    let keys = |body: &str| -> BTreeSet<String> {
        body.lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|d| serde_json::from_str::<Value>(d).ok())
            .flat_map(|v| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>())
            .collect()
    };
    let recorded =
        std::fs::read_to_string(dir.join("recorded/openai-chat/e2aad469b71d.sse")).unwrap();
    let answer = Answer {
        text: "Some text".into(),
        ..Default::default()
    };
    let ours = stream_events(WireFormat::OpenAiChat, &answer, 3, true).concat();
    assert_eq!(keys(&ours), keys(&recorded));

    let types = |body: &str| -> Vec<String> {
        let mut out: Vec<String> = body
            .lines()
            .filter_map(|l| l.strip_prefix("event: "))
            .map(|t| t.trim().to_owned())
            .collect();
        out.dedup();
        out
    };
    let recorded =
        std::fs::read_to_string(dir.join("recorded/anthropic-messages/basic_response.sse"))
            .unwrap();
    let ours = stream_events(WireFormat::AnthropicMessages, &answer, 3, true).concat();
    assert_eq!(types(&ours), types(&recorded));
}

/// Recorded from llama.cpp: its Responses API says `completed` when the cap cut the answer.
#[test]
fn a_stop_at_the_output_cap_is_a_length_finish() {
    let raw =
        std::fs::read(own_fixtures().join("wire/openai-responses/llamacpp_capped.sse")).unwrap();
    let mut r = decode_every_way(WireFormat::OpenAiResponses, &raw, "llamacpp_capped").response;
    assert_eq!(
        r.finish_reason,
        Some(FinishReason::Stop),
        "what the server said"
    );
    let mut uncapped = r.clone();
    uncapped.apply_output_cap(None);
    assert_eq!(uncapped.finish_reason, Some(FinishReason::Stop));
    let mut roomy = r.clone();
    roomy.apply_output_cap(Some(5));
    assert_eq!(roomy.finish_reason, Some(FinishReason::Stop));
    r.apply_output_cap(Some(4));
    assert_eq!(r.finish_reason, Some(FinishReason::Length));
}

/// Each model control lands in the request exactly as the API documents it, per wire format; a
/// control the format lacks is a Config error naming it and the format.
#[test]
fn model_controls_reach_each_wire_format_exactly() {
    use crate::types::Sampling;
    let messages = [Message::user("hi")];
    let choice = ToolChoice::Auto;
    let sampling = Sampling {
        temperature: Some(0.5),
        top_p: Some(0.9),
        stop: Some(vec!["END".into(), "STOP".into()]),
        seed: Some(42),
    };
    let no_stop_seed = Sampling {
        stop: None,
        seed: None,
        ..sampling.clone()
    };
    let no_seed = Sampling {
        seed: None,
        ..sampling.clone()
    };
    let extra: serde_json::Map<String, Value> =
        serde_json::from_value(json!({"user": "u-1", "service_tier": "flex"})).unwrap();
    let body = |format: WireFormat, call: &ModelCall<'_>| -> Value {
        serde_json::from_slice(&build_body(format, call).unwrap()).unwrap()
    };
    let pick = |v: &Value, keys: &[&str]| -> Value {
        Value::Object(
            keys.iter()
                .filter_map(|k| v.get(*k).map(|x| ((*k).to_owned(), x.clone())))
                .collect(),
        )
    };

    // Chat Completions: temperature, top_p, stop, seed, max_completion_tokens, reasoning_effort.
    let mut call = minimal_call(&messages, &choice);
    call.sampling = &sampling;
    call.max_output_tokens = Some(256);
    call.reasoning_effort = Some(ReasoningEffort::XHigh);
    call.extra_body = Some(&extra);
    let chat = body(WireFormat::OpenAiChat, &call);
    assert_eq!(
        pick(
            &chat,
            &[
                "temperature",
                "top_p",
                "stop",
                "seed",
                "max_completion_tokens",
                "reasoning_effort",
                "user",
                "service_tier"
            ]
        ),
        json!({"temperature": 0.5, "top_p": 0.9, "stop": ["END", "STOP"], "seed": 42,
               "max_completion_tokens": 256, "reasoning_effort": "xhigh",
               "user": "u-1", "service_tier": "flex"})
    );
    assert_eq!(chat["model"], "m");

    // Responses: temperature, top_p, max_output_tokens, reasoning.effort; no stop, no seed.
    call.sampling = &no_stop_seed;
    let responses = body(WireFormat::OpenAiResponses, &call);
    assert_eq!(
        pick(
            &responses,
            &[
                "temperature",
                "top_p",
                "max_output_tokens",
                "user",
                "service_tier"
            ]
        ),
        json!({"temperature": 0.5, "top_p": 0.9, "max_output_tokens": 256,
               "user": "u-1", "service_tier": "flex"})
    );
    assert_eq!(responses["reasoning"]["effort"], "xhigh");
    let only_seed = Sampling {
        seed: Some(42),
        ..Sampling::default()
    };
    for (bad, field) in [(&only_seed, "seed"), (&no_seed, "stop")] {
        call.sampling = bad;
        let e = build_body(WireFormat::OpenAiResponses, &call).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(
            e.message().starts_with(field) && e.message().contains("Responses API"),
            "{e}"
        );
    }

    // Anthropic: temperature, top_p, stop_sequences, max_tokens; no seed; thinking takes
    // temperature 1 only.
    let mut call = minimal_call(&messages, &choice);
    call.sampling = &no_seed;
    call.max_output_tokens = Some(256);
    let extra_anthropic: serde_json::Map<String, Value> =
        serde_json::from_value(json!({"metadata": {"user_id": "u-1"}, "top_k": 5})).unwrap();
    call.extra_body = Some(&extra_anthropic);
    let anthropic = body(WireFormat::AnthropicMessages, &call);
    assert_eq!(
        pick(
            &anthropic,
            &[
                "temperature",
                "top_p",
                "stop_sequences",
                "max_tokens",
                "metadata",
                "top_k"
            ]
        ),
        json!({"temperature": 0.5, "top_p": 0.9, "stop_sequences": ["END", "STOP"],
               "max_tokens": 256, "metadata": {"user_id": "u-1"}, "top_k": 5})
    );
    assert!(anthropic.get("stop").is_none() && anthropic.get("seed").is_none());
    call.sampling = &only_seed;
    let e = build_body(WireFormat::AnthropicMessages, &call).unwrap_err();
    assert!(e.message().starts_with("seed"), "{e}");
    call.sampling = &no_seed;
    call.reasoning_effort = Some(ReasoningEffort::Low);
    let e = build_body(WireFormat::AnthropicMessages, &call).unwrap_err();
    assert!(e.message().contains("temperature 1"), "{e}");
    let hot = Sampling {
        temperature: Some(1.5),
        ..Sampling::default()
    };
    call.reasoning_effort = None;
    call.sampling = &hot;
    let e = build_body(WireFormat::AnthropicMessages, &call).unwrap_err();
    assert!(e.message().contains("0 to 1"), "{e}");

    // extraBody may not replace what modelport owns.
    let reserved: serde_json::Map<String, Value> =
        serde_json::from_value(json!({"messages": []})).unwrap();
    let mut call = minimal_call(&messages, &choice);
    call.extra_body = Some(&reserved);
    let e = build_body(WireFormat::OpenAiChat, &call).unwrap_err();
    assert!(e.message().starts_with("extraBody.messages"), "{e}");
}

/// `responseFormat` as each API documents it: Chat Completions `response_format`, Responses
/// `text.format`, Anthropic a forced answer tool (default) or the native `output_format`.
#[test]
fn response_format_reaches_each_wire_format_exactly() {
    use crate::types::ResponseFormat;
    let messages = [Message::user("hi")];
    let choice = ToolChoice::Auto;
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}},
                        "required": ["n"], "additionalProperties": false});
    let format = ResponseFormat::JsonSchema {
        name: "count".into(),
        schema: schema.clone(),
        strict: Some(true),
    };
    let body = |format_: WireFormat, call: &ModelCall<'_>| -> Value {
        serde_json::from_slice(&build_body(format_, call).unwrap()).unwrap()
    };
    let mut call = minimal_call(&messages, &choice);
    call.response_format = Some(&format);
    assert_eq!(
        body(WireFormat::OpenAiChat, &call)["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "count", "schema": schema, "strict": true}})
    );
    assert_eq!(
        body(WireFormat::OpenAiResponses, &call)["text"],
        json!({"format": {"type": "json_schema", "name": "count", "schema": schema, "strict": true}})
    );
    let anthropic = body(WireFormat::AnthropicMessages, &call);
    assert_eq!(
        anthropic["tools"],
        json!([{"name": "count", "description": super::anthropic_messages::ANSWER_TOOL_DESCRIPTION,
                "input_schema": schema}])
    );
    assert_eq!(
        anthropic["tool_choice"],
        json!({"type": "tool", "name": "count"})
    );
    assert!(anthropic.get("output_format").is_none());
    call.native_structured_output = true;
    let native = body(WireFormat::AnthropicMessages, &call);
    assert_eq!(
        native["output_format"],
        json!({"type": "json_schema", "schema": schema})
    );
    assert!(native.get("tools").is_none() && native.get("tool_choice").is_none());
    call.native_structured_output = false;
    call.reasoning_effort = Some(ReasoningEffort::Low);
    let e = build_body(WireFormat::AnthropicMessages, &call).unwrap_err();
    assert!(e.message().contains("extended thinking"), "{e}");

    let object = ResponseFormat::JsonObject;
    let mut call = minimal_call(&messages, &choice);
    call.response_format = Some(&object);
    assert_eq!(
        body(WireFormat::OpenAiChat, &call)["response_format"],
        json!({"type": "json_object"})
    );
    assert_eq!(
        body(WireFormat::OpenAiResponses, &call)["text"],
        json!({"format": {"type": "json_object"}})
    );
}
