//! One turn for the tracing tests (otel.rs, otel_export.rs): the e2e weather conversation whose first
//! request is answered 500 once (so the first call is retried), with a tool that records the
//! `traceparent` it was handed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use modelport::replay::snapshot::{self, ScriptedError};
use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::{
    Client, ClientOptions, ProviderConfig, RetryPolicy, SessionConfig, Tool, ToolError,
};
use serde_json::{Value, json};

use crate::fixtures;

/// The provider key; no span, export or log may carry it.
pub const API_KEY: &str = "sk-otel-SECRET-KEY-0b1d";

/// The e2e conversation, its first request answered 500 once (with every request header echoed
/// when `echo_headers`).
pub async fn replay(echo_headers: bool) -> ReplayServer {
    let (_, mut snap) = snapshot::load(&fixtures().join("replay/e2e.yaml"))
        .expect("fixture")
        .remove(0);
    snap.errors = vec![ScriptedError {
        status: Some(500),
        times: Some(1),
        echo_headers,
        ..Default::default()
    }];
    ReplayServer::start(vec![snap], ReplayConfig::default())
        .await
        .expect("replay")
}

/// `get_weather`, pushing each call's `traceparent` into `seen`.
pub fn weather(seen: Arc<Mutex<Vec<Option<String>>>>) -> Tool {
    Tool::new(
        "get_weather",
        "Current weather for a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        move |_args: Value, invocation| {
            seen.lock()
                .expect("lock")
                .push(invocation.traceparent.clone());
            async { Ok::<_, ToolError>("sunny, 22C in Paris") }
        },
    )
}

/// One send of "What's the weather in Paris?" on a fresh client, with a retry and a tool call.
pub async fn turn(server: &ReplayServer, seen: Arc<Mutex<Vec<Option<String>>>>) {
    let client =
        Client::new(ClientOptions::default().with_session_store("memory")).expect("client");
    let provider = ProviderConfig::openai(server.openai_url())
        .with_api_key(API_KEY)
        .with_retry(RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
            ..RetryPolicy::default()
        });
    let session = client
        .create_session(SessionConfig::new("e2e-model", provider).with_tool(weather(seen)))
        .await
        .expect("session");
    let reply = session
        .send_and_wait(
            "What's the weather in Paris?",
            Some(Duration::from_secs(30)),
        )
        .await
        .expect("send")
        .expect("answer");
    assert_eq!(reply.content(), Some("It is sunny and 22C in Paris."));
    client.stop().await;
}
