//! Request building: a 100-message history (user, assistant with tool calls, tool results) with 20
//! tools, serialised into each wire format.
//!
//! `cargo bench -p modelport --bench request`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelport::wire::{
    ContentPart, Message, ModelCall, ToolCall, ToolChoice, ToolSpec, WireFormat, build_body,
};

fn history() -> Vec<Message> {
    let mut h = Vec::with_capacity(100);
    for i in 0..25 {
        h.push(Message::User {
            content: vec![ContentPart::Text {
                text: format!("Question {i}: what is the weather in city number {i}, and why?"),
            }],
        });
        h.push(Message::Assistant {
            text: "Let me look that up for you.".into(),
            tool_calls: vec![ToolCall {
                id: format!("call_{i}"),
                name: "get_weather".into(),
                arguments: format!(r#"{{"city":"City {i}","units":"metric"}}"#),
            }],
            reasoning: vec![],
        });
        h.push(Message::Tool {
            call_id: format!("call_{i}"),
            content: format!(
                r#"{{"city":"City {i}","temperature":{},"conditions":"partly cloudy"}}"#,
                10 + i
            ),
            is_error: false,
        });
        h.push(Message::Assistant {
            text: format!("In City {i} it is {} degrees and partly cloudy.", 10 + i),
            tool_calls: vec![],
            reasoning: vec![],
        });
    }
    h
}

fn tools() -> Vec<ToolSpec> {
    (0..20)
        .map(|i| ToolSpec {
            name: format!("tool_{i}"),
            description: format!("Tool number {i}: does something useful with its arguments."),
            parameters: serde_json::json!({
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "The city"},
                    "units": {"type": "string", "enum": ["metric", "imperial"]},
                    "days": {"type": "integer", "minimum": 1, "maximum": 10}
                },
                "required": ["city"]
            }),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let (h, t) = (history(), tools());
    let choice = ToolChoice::Auto;
    let call = ModelCall {
        model: "gpt-4o",
        system: Some("You are a helpful assistant."),
        messages: &h,
        tools: &t,
        tool_choice: &choice,
        parallel_tool_calls: true,
        reasoning_effort: None,
        max_output_tokens: Some(1000),
        stream: true,
        stream_usage: true,
        sampling: &modelport::types::Sampling::NONE,
        extra_body: None,
        response_format: None,
        native_structured_output: false,
    };
    let mut g = c.benchmark_group("build_request_100_messages_20_tools");
    for (name, format) in [
        ("openai_chat", WireFormat::OpenAiChat),
        ("openai_responses", WireFormat::OpenAiResponses),
        ("anthropic_messages", WireFormat::AnthropicMessages),
    ] {
        let size = build_body(format, &call).expect("body").len();
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(name, |b| {
            b.iter(|| build_body(format, black_box(&call)).expect("body"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
