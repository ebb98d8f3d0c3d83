//! OpenTelemetry export of modelport's spans (feature `otel`): names, GenAI attributes and the
//! parent/child structure of a turn with a retry and a tool call, through the SDK's in-memory
//! exporter (the real OTLP export is in otel_export.rs).

use std::sync::{Arc, Mutex};

use modelport_e2e::traced_turn::{replay, turn};
use opentelemetry::trace::{SpanId, Status};
use opentelemetry::{KeyValue, Value as OtelValue};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing::Instrument;
use tracing_subscriber::prelude::*;

fn attr<'a>(span: &'a SpanData, key: &str) -> Option<&'a OtelValue> {
    span.attributes
        .iter()
        .find(|kv: &&KeyValue| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn text(span: &SpanData, key: &str) -> String {
    attr(span, key)
        .map(|v| v.as_str().into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_turn_with_a_retry_and_a_tool_call_makes_genai_spans() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry().with(modelport::otel::layer(&provider));
    let _default = tracing::subscriber::set_default(subscriber);
    let server = replay(false).await;
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let caller = tracing::info_span!("handle_request");
    turn(&server, seen.clone()).instrument(caller).await;
    provider.force_flush().expect("flush");
    let spans = exporter.get_finished_spans().expect("spans");
    let by_name =
        |name: &str| -> Vec<&SpanData> { spans.iter().filter(|s| s.name == name).collect() };
    let request = by_name("handle_request")[0];
    let agents = by_name("invoke_agent");
    assert_eq!(agents.len(), 1);
    let agent = agents[0];
    assert_eq!(agent.parent_span_id, request.span_context.span_id());
    assert_eq!(text(agent, "gen_ai.operation.name"), "invoke_agent");
    assert_eq!(text(agent, "gen_ai.request.model"), "e2e-model");
    let chats = by_name("chat e2e-model");
    assert_eq!(
        chats.len(),
        2,
        "{:?}",
        spans.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    for chat in &chats {
        assert_eq!(chat.parent_span_id, agent.span_context.span_id());
        assert_eq!(chat.span_kind, opentelemetry::trace::SpanKind::Client);
        assert_eq!(text(chat, "gen_ai.operation.name"), "chat");
        assert_eq!(text(chat, "gen_ai.provider.name"), "openai");
        assert_eq!(text(chat, "server.address"), "127.0.0.1");
        assert_eq!(
            attr(chat, "server.port").map(ToString::to_string),
            Some(server.addr().port().to_string()),
            "{:?}",
            chat.attributes
        );
        assert!(attr(chat, "gen_ai.usage.input_tokens").is_some());
        // No content unless asked.
        assert!(attr(chat, "gen_ai.input.messages").is_none());
    }
    // The first call was retried once: an event on its span.
    let retried: Vec<&&SpanData> = chats
        .iter()
        .filter(|c| c.events.iter().any(|e| e.name == "retry"))
        .collect();
    assert_eq!(retried.len(), 1);
    assert_eq!(
        text(chats[0], "gen_ai.response.finish_reasons"),
        "[\"tool_calls\"]"
    );
    assert_eq!(
        text(chats[1], "gen_ai.response.finish_reasons"),
        "[\"stop\"]"
    );
    let tools = by_name("execute_tool get_weather");
    assert_eq!(tools.len(), 1);
    let tool = tools[0];
    assert_eq!(tool.parent_span_id, agent.span_context.span_id());
    assert_eq!(text(tool, "gen_ai.tool.name"), "get_weather");
    assert!(!text(tool, "gen_ai.tool.call.id").is_empty());
    // The handler got the tool span's W3C traceparent.
    let expected = format!(
        "00-{}-{}-01",
        tool.span_context.trace_id(),
        tool.span_context.span_id()
    );
    assert_eq!(*seen.lock().expect("lock"), [Some(expected)]);
    assert!(
        spans
            .iter()
            .all(|s| s.span_context.trace_id() == request.span_context.trace_id())
    );
    assert!(spans.iter().all(|s| s.status != Status::error("")));
    assert_ne!(agent.span_context.span_id(), SpanId::INVALID);
}
