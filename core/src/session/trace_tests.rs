//! The spans of a send, as an OpenTelemetry exporter would see them: `invoke_agent` per send,
//! `chat {model}` per model call (a retry as an event on it), `execute_tool {name}` per tool call,
//! with the GenAI attribute names; and no secret in any span, event or log line.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use crate::testing::{MockReply, MockTransport};
use crate::{Client, ClientOptions, ProviderConfig, RetryPolicy, SessionConfig, Tool, ToolError};

#[derive(Clone, Debug, Default)]
struct SpanRec {
    name: String,
    parent: Option<String>,
    fields: HashMap<String, String>,
    events: Vec<HashMap<String, String>>,
}

#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<HashMap<u64, SpanRec>>>,
    /// Every field value of every span and event, for the secrets check.
    all_text: Arc<Mutex<String>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut rec = SpanRec {
            name: attrs.metadata().name().to_owned(),
            ..Default::default()
        };
        attrs.record(&mut Fields(&mut rec.fields));
        rec.parent = ctx
            .span(id)
            .and_then(|s| s.parent())
            .map(|p| self.spans.lock().unwrap()[&p.id().into_u64()].name.clone());
        self.all_text
            .lock()
            .unwrap()
            .push_str(&format!("{:?}", rec.fields));
        self.spans.lock().unwrap().insert(id.into_u64(), rec);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut spans = self.spans.lock().unwrap();
        if let Some(rec) = spans.get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut rec.fields));
            self.all_text
                .lock()
                .unwrap()
                .push_str(&format!("{:?}", rec.fields));
        }
    }
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        self.all_text
            .lock()
            .unwrap()
            .push_str(&format!("{fields:?}"));
        if let Some(span) = ctx.event_span(event)
            && let Some(rec) = self.spans.lock().unwrap().get_mut(&span.id().into_u64())
        {
            rec.events.push(fields);
        }
    }
}

#[tokio::test]
async fn a_turn_with_a_retry_and_a_tool_call_gives_the_genai_spans() {
    const KEY: &str = "sk-TRACE-SECRET-4242";
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let mock = MockTransport::new();
    mock.push(MockReply::error(
        500,
        json!({"error": {"message": format!("overloaded (your key {KEY})"), "type": "server_error"}}),
    ));
    mock.push(MockReply::tool_calls(&[("call_7", "echo", r#"{"x": 1}"#)]));
    mock.push(MockReply::text("done"));
    let client = Client::new(
        ClientOptions::default()
            .with_session_store("memory")
            .with_transport(Arc::new(mock.clone())),
    )
    .unwrap();
    let mut provider = ProviderConfig::openai("http://mock.test:8080/v1").with_api_key(KEY);
    provider.retry = Some(RetryPolicy {
        max_retries: 1,
        initial_backoff: std::time::Duration::from_millis(1),
        ..Default::default()
    });
    let tool = Tool::new("echo", "echo", json!({"type": "object"}), |_, _| async {
        Ok::<_, ToolError>("echoed")
    });
    let session = client
        .create_session(SessionConfig::new("gpt-x", provider).with_tool(tool))
        .await
        .unwrap();
    // The caller's span (a propagated trace context) is the parent of invoke_agent.
    let request = tracing::info_span!("http_request");
    tracing::Instrument::instrument(session.send_and_wait("hi", None), request)
        .await
        .unwrap();
    client.stop().await;

    let spans: Vec<SpanRec> = capture.spans.lock().unwrap().values().cloned().collect();
    let named =
        |n: &str| -> Vec<SpanRec> { spans.iter().filter(|s| s.name == n).cloned().collect() };
    let agent = named("invoke_agent");
    assert_eq!(agent.len(), 1);
    assert_eq!(agent[0].parent.as_deref(), Some("http_request"));
    assert_eq!(agent[0].fields["gen_ai.operation.name"], "invoke_agent");
    assert_eq!(agent[0].fields["gen_ai.provider.name"], "openai");
    let chats = named("chat");
    assert_eq!(
        chats.len(),
        2,
        "one span per model call (the retry is inside the first)"
    );
    for c in &chats {
        assert_eq!(c.parent.as_deref(), Some("invoke_agent"));
        assert_eq!(c.fields["otel.name"], "chat gpt-x");
        assert_eq!(c.fields["gen_ai.request.model"], "gpt-x");
        assert_eq!(c.fields["server.address"], "mock.test");
        assert_eq!(c.fields["server.port"], "8080");
        assert!(c.fields.contains_key("gen_ai.usage.input_tokens"));
        assert!(c.fields.contains_key("gen_ai.response.finish_reasons"));
    }
    let retried = chats
        .iter()
        .find(|c| {
            c.events
                .iter()
                .any(|e| e.get("message").map(String::as_str) == Some("retry"))
        })
        .expect("the retry is an event of a chat span");
    assert_eq!(
        retried.fields["gen_ai.response.finish_reasons"],
        "[\"tool_calls\"]"
    );
    let tools = named("execute_tool");
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0].parent.as_deref(), Some("invoke_agent"));
    assert_eq!(tools[0].fields["otel.name"], "execute_tool echo");
    assert_eq!(tools[0].fields["gen_ai.tool.call.id"], "call_7");
    // One debug event per HTTP attempt.
    let attempts = chats
        .iter()
        .flat_map(|c| &c.events)
        .filter(|e| e.get("message").map(String::as_str) == Some("http attempt"))
        .count();
    assert_eq!(attempts, 3);
    let text = capture.all_text.lock().unwrap().clone();
    assert!(!text.contains(KEY), "a span or event carries the key");
}
