//! Secrets (api_key, bearer tokens, what a token provider returns) never appear in Debug or Display of a
//! public type, in an error message, in an event, or in `tracing` output at any level.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use modelport::replay::snapshot::{self, ScriptedError};
use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::wire::{Message, ModelCall, ToolChoice, build_request};
use modelport::{
    BearerToken, Client, ClientOptions, Event, ProviderConfig, RetryPolicy, SecretString,
    SessionConfig, TokenProvider, Tool, ToolError,
};
use modelport_e2e::fault::{self, FaultServer, Step};
use modelport_e2e::fixtures;
use serde_json::json;

const API_KEY: &str = "sk-proj-APIKEY-SECRET-7f3a9";
const BEARER: &str = "bearer-STATIC-SECRET-51c2e";
const PROVIDED: &str = "bearer-PROVIDED-SECRET-9d0b4";
const SECRETS: [&str; 3] = [API_KEY, BEARER, PROVIDED];

/// Everything the tracing subscriber writes, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "a secret leaked into {what}: {text}");
    }
    // The distinctive middles too, in case a prefix or suffix was trimmed.
    for fragment in ["APIKEY-SECRET", "STATIC-SECRET", "PROVIDED-SECRET"] {
        assert!(
            !text.contains(fragment),
            "a secret fragment leaked into {what}: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_debug_errors_events_or_logs() {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let (_, mut snap) = snapshot::load(&fixtures().join("replay/e2e.yaml"))
        .expect("fixture")
        .remove(0);
    snap.errors = vec![ScriptedError {
        status: Some(500),
        times: Some(1),
        ..Default::default()
    }];
    let server = ReplayServer::start(vec![snap], ReplayConfig::default())
        .await
        .expect("replay");
    let retry = RetryPolicy {
        initial_backoff: Duration::from_millis(5),
        ..RetryPolicy::default()
    };

    let providers = [
        ProviderConfig::openai(server.openai_url()).with_api_key(API_KEY),
        ProviderConfig::azure(server.url()).with_api_key(API_KEY),
        ProviderConfig::anthropic(server.url()).with_api_key(API_KEY),
        ProviderConfig::openai(server.openai_url())
            .with_api_key(API_KEY)
            .with_bearer_token(BEARER),
        ProviderConfig::openai(server.openai_url()).with_bearer_token_provider(TokenProvider::new(
            |_| async {
                Ok(BearerToken::with_expiry(
                    PROVIDED,
                    std::time::SystemTime::now() + Duration::from_secs(3600),
                ))
            },
        )),
    ];
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    for provider in &providers {
        texts.push((
            "ProviderConfig Debug".into(),
            format!("{provider:?} {provider:#?}"),
        ));
        texts.push((
            "ProviderConfig JSON".into(),
            serde_json::to_string(provider).expect("json"),
        ));
        let endpoint = provider.resolve(Some("e2e-model")).expect("endpoint");
        texts.push((
            "Endpoint Debug".into(),
            format!("{endpoint:?} {:?}", endpoint.headers()),
        ));
        let history = [Message::user("hi")];
        let call = ModelCall {
            model: "m",
            system: None,
            messages: &history,
            tools: &[],
            tool_choice: &ToolChoice::Auto,
            parallel_tool_calls: true,
            reasoning_effort: None,
            max_output_tokens: None,
            stream: false,
            stream_usage: false,
        };
        let request = build_request(&endpoint, &call).expect("request");
        texts.push(("HttpRequest Debug".into(), format!("{request:?}")));

        let options = ClientOptions::default()
            .with_provider(provider.clone())
            .with_retry(retry.clone());
        texts.push(("ClientOptions Debug".into(), format!("{options:?}")));
        let client = Client::new(options).expect("client");
        texts.push(("Client Debug".into(), format!("{client:?}")));
        let tool = Tool::new(
            "get_weather",
            "weather",
            json!({"type": "object"}),
            |_, _| async { Ok::<_, ToolError>("sunny, 22C in Paris") },
        );
        let config = SessionConfig::new("e2e-model", provider.clone())
            .with_streaming(true)
            .with_tool(tool);
        texts.push(("SessionConfig Debug".into(), format!("{config:?}")));
        let session = client.create_session(config).await.expect("session");
        texts.push(("Session Debug".into(), format!("{session:?}")));
        let mut stream = session.events();
        let reply = session
            .send_and_wait("What's the weather in Paris?", None)
            .await;
        if let Err(e) = &reply {
            texts.push(("Error".into(), format!("{e} {e:?}")));
        }
        session.disconnect().await;
        while let Some(Ok(e)) = stream.next().await {
            events.push(e);
        }
        if let Ok(models) = client.list_models().await {
            texts.push(("ModelInfo".into(), format!("{models:?}")));
        }
        client.stop().await;
    }

    // A provider that echoes the key in its 401 body, with every secret configured.
    let echo = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {API_KEY} (token {BEARER}, {PROVIDED})","type":"invalid_request_error","code":"invalid_api_key"}}}}"#
    );
    let fault_server = FaultServer::start(
        (0..4)
            .map(|_| {
                Step::Respond(fault::response(
                    401,
                    &[("content-type", "application/json")],
                    &echo,
                ))
            })
            .collect(),
    )
    .await;
    let provider = ProviderConfig::openai(format!("{}/v1", fault_server.url()))
        .with_api_key(API_KEY)
        .with_bearer_token(BEARER)
        .with_bearer_token_provider(TokenProvider::new(|_| async {
            Ok(BearerToken::new(PROVIDED))
        }));
    let client = Client::new(
        ClientOptions::default()
            .with_provider(provider.clone())
            .with_retry(RetryPolicy::none()),
    )
    .expect("client");
    let session = client
        .create_session(SessionConfig::new("m", provider))
        .await
        .expect("session");
    let mut stream = session.events();
    let e = session.send_and_wait("hi", None).await.expect_err("401");
    texts.push((
        "echoed 401 error".into(),
        format!("{e} {e:?} {}", e.message()),
    ));
    let e = client.list_models().await.expect_err("401");
    texts.push(("echoed 401 list_models error".into(), format!("{e} {e:?}")));
    session.disconnect().await;
    while let Some(Ok(ev)) = stream.next().await {
        events.push(ev);
    }
    client.stop().await;

    texts.push((
        "SecretString".into(),
        format!(
            "{:?} {}",
            SecretString::new(API_KEY),
            SecretString::new(API_KEY)
        ),
    ));
    texts.push((
        "BearerToken".into(),
        format!("{:?}", BearerToken::new(PROVIDED)),
    ));
    assert!(
        events.len() > 30,
        "the scenarios ran ({} events)",
        events.len()
    );
    texts.push((
        "events".into(),
        serde_json::to_string(&events).expect("json"),
    ));
    texts.push(("events Debug".into(), format!("{events:?}")));
    for (what, text) in &texts {
        assert_clean(what, text);
    }
    let logs = String::from_utf8_lossy(&log.0.lock().expect("log")).into_owned();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "the subscriber captured output"
    );
    assert_clean("tracing output", &logs);
    server.stop().await;
}
