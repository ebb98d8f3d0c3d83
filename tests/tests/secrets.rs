//! Secrets (api_key, bearer tokens, what a token provider returns) never appear in Debug or Display of a
//! public type, in an error message, in an event, or in `tracing` output at any level.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use modelport::replay::snapshot::{self, ScriptedError};
use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::wire::{Message, ModelCall, ToolChoice};
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

/// The tracing output of this test binary, at every level (one global subscriber for both tests).
fn capture() -> Captured {
    static LOG: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        let log = Captured::default();
        let writer = log.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        log
    })
    .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_debug_errors_events_or_logs() {
    let log = capture();

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
            sampling: &modelport::types::Sampling::NONE,
            extra_body: None,
            response_format: None,
            native_structured_output: false,
        };
        let request = endpoint.build_request(&call).expect("request");
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

/// Each sensitive header form, as provider `headers` and as per-send `requestHeaders`, with a value
/// of its own: (name, value as sent, the distinctive part that must never come back).
const HEADER_FORMS: [(&str, &str, &str); 4] = [
    ("api-key", "hdr-APIKEY-7c1e0a", "APIKEY-7c1e0a"),
    ("x-api-key", "hdr-XAPIKEY-2b9d4f", "XAPIKEY-2b9d4f"),
    ("Authorization", "Bearer hdr-AUTHZ-5e8a13", "AUTHZ-5e8a13"),
    (
        "Ocp-Apim-Subscription-Key",
        "hdr-APIM-0f6c72",
        "APIM-0f6c72",
    ),
];

fn assert_no_fragment(what: &str, text: &str, fragments: &[String]) {
    for f in fragments {
        assert!(
            !text.contains(f.as_str()),
            "the secret {f} leaked into {what}: {text}"
        );
    }
}

/// A gateway echoes every request header in its 401 body (the replay provider's `echoHeaders`): the
/// secret of every sensitive header form, given on the provider or per send, and the token each
/// attempt sent, come back nowhere: not in the error (message, code, request id, source chain,
/// Display, Debug), not in an event, not in Debug or JSON of the configs. The server is checked to
/// have received each header, so a build that drops a header cannot pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_secrets_never_come_back() {
    let log = capture();
    let yaml = fixtures().join("replay/echo-headers.yaml");
    let server = ReplayServer::from_path(&yaml, ReplayConfig::default())
        .await
        .expect("replay");
    let fragments: Vec<String> = HEADER_FORMS
        .iter()
        .map(|(_, _, f)| f.to_string())
        .chain(HEADER_FORMS.iter().map(|(_, _, f)| format!("SEND-{f}")))
        .collect();
    for (ty, base) in [("openai", server.openai_url()), ("anthropic", server.url())] {
        for (name, value, _) in HEADER_FORMS {
            for streaming in [false, true] {
                let mut provider = if ty == "openai" {
                    ProviderConfig::openai(base.clone())
                } else {
                    ProviderConfig::anthropic(base.clone())
                };
                provider = provider
                    .with_header(name, value)
                    .with_header("x-team", "blue");
                let send_value = value.replace("hdr-", "hdr-SEND-");
                let options =
                    modelport::SendOptions::from("Hello").with_header(name, send_value.clone());
                let mut texts = vec![
                    format!("{provider:?} {provider:#?}"),
                    serde_json::to_string(&provider).expect("json"),
                    format!("{options:?}"),
                ];
                assert!(
                    texts[1].contains("blue"),
                    "plain headers are still serialised: {}",
                    texts[1]
                );
                let client = Client::new(
                    ClientOptions::default()
                        .with_provider(provider.clone())
                        .with_retry(RetryPolicy::none()),
                )
                .expect("client");
                let config =
                    SessionConfig::new("echo-model", provider.clone()).with_streaming(streaming);
                texts.push(format!("{config:?}"));
                let session = client.create_session(config).await.expect("session");
                // The per-send header overrides the provider's.
                let err = refused_send(&server, &session, options, name, &send_value).await;
                assert!(
                    err.message().contains("request headers:")
                        && err.message().contains("[redacted]"),
                    "the echo came back, scrubbed: {err}"
                );
                texts.push(format!("{err} {err:?} {:?}", err.code()));
                texts.push(error_chain(&err));
                texts.push(serde_json::to_string(&session.get_events()).expect("json"));

                // The provider-level header on its own (no per-send override), and the model list.
                let err = refused_send(&server, &session, "Hello".into(), name, value).await;
                texts.push(format!("{err} {err:?}"));
                texts.push(error_chain(&err));
                let err = client.list_models().await.expect_err("list refused");
                assert!(err.message().contains("[redacted]"), "{err}");
                let listed = server.requests();
                let last = listed.last().expect("a list request");
                assert!(last.path.ends_with("/models") || last.path.contains("/models?"));
                assert_eq!(last.header(&name.to_ascii_lowercase()), Some(value));
                texts.push(format!("{err} {err:?}"));
                texts.push(error_chain(&err));
                texts.push(serde_json::to_string(&session.get_events()).expect("json"));
                session.disconnect().await;
                client.stop().await;
                for text in &texts {
                    assert_no_fragment(
                        &format!("{ty} {name} streaming={streaming}"),
                        text,
                        &fragments,
                    );
                }
            }
        }
    }

    // A token provider handing out a new token per call, to 8 sessions at once: each attempt's error
    // is scrubbed of the token that attempt sent (a shared "last token" would race), the 401 refresh
    // included.
    let issued = Arc::new(Mutex::new(Vec::<String>::new()));
    let counter = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let tokens = TokenProvider::new({
        let issued = issued.clone();
        move |_| {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let token = format!("tok-PERCALL-{n:04}-e1f2");
            issued.lock().expect("issued").push(token.clone());
            async move { Ok(BearerToken::new(token)) }
        }
    });
    let provider = ProviderConfig::openai(server.openai_url()).with_bearer_token_provider(tokens);
    let client = Client::new(
        ClientOptions::default()
            .with_provider(provider.clone())
            .with_retry(RetryPolicy::none()),
    )
    .expect("client");
    let mut runs = Vec::new();
    for i in 0..8 {
        let client = client.clone();
        let provider = provider.clone();
        runs.push(tokio::spawn(async move {
            let session = client
                .create_session(
                    SessionConfig::new("echo-model", provider).with_streaming(i % 2 == 0),
                )
                .await
                .expect("session");
            let err = session.send_and_wait("Hello", None).await.expect_err("401");
            let events = serde_json::to_string(&session.get_events()).expect("json");
            session.disconnect().await;
            format!("{err} {err:?} {} {events}", error_chain(&err))
        }));
    }
    let mut texts = Vec::new();
    for run in runs {
        texts.push(run.await.expect("session task"));
    }
    texts.push(format!("{}", client.list_models().await.expect_err("401")));
    client.stop().await;
    let issued = issued.lock().expect("issued").clone();
    assert!(
        issued.len() >= 8,
        "each session fetched its own token: {issued:?}"
    );
    for token in &issued {
        assert!(
            server
                .requests()
                .iter()
                .any(|r| r.header("authorization") == Some(format!("Bearer {token}").as_str())),
            "the server received {token}"
        );
    }
    for text in &texts {
        assert_no_fragment("per-call token errors", text, &issued);
    }
    let logs = String::from_utf8_lossy(&log.0.lock().expect("log")).into_owned();
    assert!(!logs.is_empty(), "the subscriber captured output");
    assert_no_fragment("tracing output", &logs, &fragments);
    assert_no_fragment("tracing output", &logs, &issued);
    server.stop().await;
}

/// Sends `options`, which the echoing gateway refuses, and checks that the request carried header
/// `name` with `expected` (so a build that drops the header cannot pass); returns the error.
async fn refused_send(
    server: &ReplayServer,
    session: &modelport::Session,
    options: modelport::SendOptions,
    name: &str,
    expected: &str,
) -> modelport::Error {
    let before = usize::try_from(server.request_count()).expect("count");
    let err = session
        .send_and_wait(options, None)
        .await
        .expect_err("the gateway refuses");
    let sent = server.requests();
    assert_eq!(
        sent.get(before)
            .and_then(|r| r.header(&name.to_ascii_lowercase())),
        Some(expected),
        "the server received {name}"
    );
    err
}

/// Display of an error and of every source in its chain.
fn error_chain(err: &modelport::Error) -> String {
    let mut text = String::new();
    let mut next: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = next {
        text.push_str(&format!("{e} | "));
        next = e.source();
    }
    text
}
