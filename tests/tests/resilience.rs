//! Retries, timeouts, token refresh, model listing and errors a user can act on, over loopback HTTP
//! against the replay provider's scripted errors and a misbehaving server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use modelport::replay::snapshot::{self, ErrorStage, ScriptedError};
use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::{
    BearerToken, Client, ClientOptions, Error, ErrorKind, EventData, ListModelsHandler, ModelInfo,
    ProviderConfig, RetryPolicy, Session, SessionConfig, TimeoutKind, Timeouts, TokenProvider,
    WireApi,
};
use modelport_e2e::fault::{self, FaultServer, Step};
use modelport_e2e::{Recorder, fixtures};

const WAIT: Option<Duration> = Some(Duration::from_secs(60));
const ANSWER: &str = "Pong. This answer is streamed in several small deltas.";

/// Retries without long pauses (retry-after still wins when the server sends one).
fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        ..RetryPolicy::default()
    }
}

async fn replay(errors: Vec<ScriptedError>) -> ReplayServer {
    let (_, mut snap) = snapshot::load(&fixtures().join("replay/resilience.yaml"))
        .expect("fixture")
        .remove(0);
    snap.errors = errors;
    ReplayServer::start(
        vec![snap],
        ReplayConfig {
            delta_chars: 8,
            ..Default::default()
        },
    )
    .await
    .expect("replay")
}

fn error(status: u16) -> ScriptedError {
    ScriptedError {
        status: Some(status),
        times: Some(1),
        ..Default::default()
    }
}

async fn session(
    client: &Client,
    provider: ProviderConfig,
    streaming: bool,
) -> (Session, Recorder) {
    let s = client
        .create_session(SessionConfig::new("gpt-4o", provider).with_streaming(streaming))
        .await
        .expect("session");
    let r = Recorder::attach(&s);
    (s, r)
}

fn retries(rec: &Recorder) -> Vec<(u64, String)> {
    rec.events()
        .iter()
        .filter_map(|e| match &e.data {
            EventData::TurnRetry(r) => Some((r.delay_ms, r.reason.clone())),
            _ => None,
        })
        .collect()
}

fn client(retry: RetryPolicy) -> Client {
    Client::new(ClientOptions::default().with_retry(retry)).expect("client")
}

async fn ask(s: &Session, prompt: &str) -> Result<String, Error> {
    s.send_and_wait(prompt, WAIT).await.map(|e| {
        e.and_then(|e| e.content().map(str::to_owned))
            .unwrap_or_default()
    })
}

#[tokio::test]
async fn rate_limits_wait_at_least_what_the_provider_asks() {
    type Make = fn() -> ScriptedError;
    let cases: [(&str, Make, u64); 3] = [
        (
            "retry-after seconds",
            || ScriptedError {
                retry_after_seconds: Some(1.0),
                ..error(429)
            },
            1000,
        ),
        (
            "retry-after-ms",
            || ScriptedError {
                retry_after_ms: Some(300.0),
                ..error(429)
            },
            300,
        ),
        (
            "retry-after HTTP date",
            || ScriptedError {
                retry_after: Some(httpdate::fmt_http_date(
                    SystemTime::now() + Duration::from_secs(2),
                )),
                ..error(429)
            },
            1000,
        ),
    ];
    for (name, make, at_least_ms) in cases {
        let err = make();
        let server = replay(vec![err]).await;
        let c = client(fast_retries());
        let (s, rec) = session(&c, ProviderConfig::openai(server.openai_url()), false).await;
        let start = Instant::now();
        assert_eq!(ask(&s, "Ping").await.expect(name), ANSWER);
        let waited = start.elapsed();
        let r = retries(&rec);
        assert_eq!(r.len(), 1, "{name}: one turn_retry per retry");
        assert!(r[0].0 >= at_least_ms, "{name}: announced {} ms", r[0].0);
        assert!(
            waited >= Duration::from_millis(r[0].0),
            "{name}: waited {waited:?}"
        );
        assert!(r[0].1.contains("429"), "{name}: reason {}", r[0].1);
        assert_eq!(server.request_count(), 2);
        rec.check(false, name);
        c.stop().await;
    }
}

#[tokio::test]
async fn an_absurd_retry_after_falls_back_to_backoff() {
    let server = replay(vec![ScriptedError {
        retry_after_seconds: Some(86_400.0),
        ..error(429)
    }])
    .await;
    let c = client(fast_retries());
    let (s, rec) = session(&c, ProviderConfig::openai(server.openai_url()), false).await;
    assert_eq!(ask(&s, "Ping").await.expect("retried"), ANSWER);
    assert!(
        retries(&rec)[0].0 <= 50,
        "backoff, not a day: {:?}",
        retries(&rec)
    );
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    for (status, times) in [(500, 1), (503, 2), (529, 2)] {
        let server = replay(vec![ScriptedError {
            times: Some(times),
            ..error(status)
        }])
        .await;
        let c = client(fast_retries());
        for provider in [
            ProviderConfig::openai(server.openai_url()),
            ProviderConfig::anthropic(server.url()),
        ] {
            let before = server.request_count();
            let (s, rec) = session(&c, provider, false).await;
            let got = ask(&s, "Ping").await;
            if server.request_count() - before > u64::from(times) {
                assert_eq!(got.expect("retried"), ANSWER);
                assert_eq!(retries(&rec).len(), times as usize, "{status}");
            }
        }
        // The scripted failures were used by the first provider; both then answered.
        assert_eq!(server.request_count(), u64::from(times) + 2);
        c.stop().await;
    }
    // More failures than retries: the error surfaces after 1 + 2 attempts.
    let server = replay(vec![ScriptedError {
        times: Some(5),
        ..error(503)
    }])
    .await;
    let c = client(fast_retries());
    let (s, rec) = session(&c, ProviderConfig::openai(server.openai_url()), false).await;
    let e = ask(&s, "Ping").await.expect_err("gives up");
    assert_eq!((e.kind(), e.status()), (ErrorKind::Server, Some(503)));
    assert_eq!(server.request_count(), 3);
    assert_eq!(retries(&rec).len(), 2);
    rec.check(false, "gives up");
}

#[tokio::test]
async fn x_should_retry_false_and_insufficient_quota_are_not_retried() {
    let server = replay(vec![ScriptedError {
        should_retry: Some(false),
        ..error(500)
    }])
    .await;
    let c = client(fast_retries());
    let (s, _) = session(&c, ProviderConfig::openai(server.openai_url()), false).await;
    assert_eq!(
        ask(&s, "Ping").await.expect_err("no retry").status(),
        Some(500)
    );
    assert_eq!(server.request_count(), 1);
    // ... while x-should-retry: true makes even a 400 retryable.
    let server = replay(vec![ScriptedError {
        should_retry: Some(true),
        ..error(400)
    }])
    .await;
    let (s, _) = session(&c, ProviderConfig::openai(server.openai_url()), false).await;
    assert_eq!(ask(&s, "Ping").await.expect("retried"), ANSWER);
    assert_eq!(server.request_count(), 2);

    let server = replay(vec![ScriptedError {
        code: Some("insufficient_quota".into()),
        message: Some(
            "You exceeded your current quota, please check your plan and billing details.".into(),
        ),
        retry_after_seconds: Some(1.0),
        ..error(429)
    }])
    .await;
    let (s, rec) = session(&c, ProviderConfig::openai(server.openai_url()), false).await;
    let e = ask(&s, "Ping").await.expect_err("quota");
    assert_eq!(e.kind(), ErrorKind::RateLimited);
    assert_eq!(e.code(), Some("insufficient_quota"));
    assert_eq!(e.error_type(), "quota");
    assert_eq!(server.request_count(), 1, "the server sees one request");
    let types: Vec<String> = rec
        .events()
        .iter()
        .filter_map(|e| match &e.data {
            EventData::SessionError(d) => Some(d.error_type.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(types, ["quota"]);
}

#[tokio::test]
async fn a_stream_error_before_output_is_retried_and_after_output_is_not() {
    for provider_of in [
        (|s: &ReplayServer| ProviderConfig::openai(s.openai_url()))
            as fn(&ReplayServer) -> ProviderConfig,
        |s| ProviderConfig::openai(s.openai_url()).with_wire_api(WireApi::Responses),
        |s| ProviderConfig::anthropic(s.url()),
    ] {
        let server = replay(vec![ScriptedError {
            stage: ErrorStage::BeforeOutput,
            ..error(200)
        }])
        .await;
        let c = client(fast_retries());
        let (s, rec) = session(&c, provider_of(&server), true).await;
        assert_eq!(ask(&s, "Ping").await.expect("retried"), ANSWER);
        assert_eq!(retries(&rec).len(), 1);
        assert_eq!(server.request_count(), 2);
        rec.check(true, "before output");

        let server = replay(vec![ScriptedError {
            stage: ErrorStage::AfterOutput,
            ..error(200)
        }])
        .await;
        let (s, rec) = session(&c, provider_of(&server), true).await;
        let e = ask(&s, "Ping").await.expect_err("not retried after output");
        assert_eq!(e.kind(), ErrorKind::Server, "{e}");
        assert_eq!(server.request_count(), 1);
        assert!(retries(&rec).is_empty());
        // Usable afterwards: the failed turn left only its user message in the history, and the
        // replay answers only that exact history.
        assert_eq!(ask(&s, "Are you there?").await.expect("usable"), "Yes.");
        rec.check(true, "after output");
        c.stop().await;
    }
}

#[tokio::test]
async fn each_timeout_fires_and_names_itself() {
    let quick = Timeouts {
        connect: Duration::from_millis(500),
        first_byte: Duration::from_millis(300),
        idle: Duration::from_millis(300),
        total: Duration::from_millis(1500),
        ..Timeouts::default()
    };
    let ok = fault::response(
        200,
        &[("content-type", "application/json")],
        r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"fine"},"finish_reason":"stop"}]}"#,
    );
    let first_chunk = format!(
        "data: {}\n\n",
        r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#
    );
    let cases: Vec<(&str, Step, bool, TimeoutKind)> = vec![
        ("first byte", Step::Hang, false, TimeoutKind::FirstByte),
        (
            "idle",
            Step::Stall([fault::sse_head(), fault::chunk(first_chunk.as_bytes())].concat()),
            true,
            TimeoutKind::Idle,
        ),
        (
            "total",
            Step::Trickle {
                head: fault::sse_head(),
                chunks: (0..40).map(|_| fault::chunk(b": keep-alive\n\n")).collect(),
                gap: Duration::from_millis(100),
            },
            true,
            TimeoutKind::Total,
        ),
        (
            "slowloris headers",
            Step::EndlessHeaders {
                gap: Duration::from_millis(50),
            },
            false,
            TimeoutKind::FirstByte,
        ),
    ];
    for (name, step, streaming, kind) in cases {
        let server = FaultServer::start(vec![step, Step::Respond(ok.clone())]).await;
        let c = Client::new(
            ClientOptions::default()
                .with_retry(RetryPolicy::none())
                .with_timeouts(quick.clone()),
        )
        .expect("client");
        let (s, rec) = session(
            &c,
            ProviderConfig::openai(format!("{}/v1", server.url())),
            streaming,
        )
        .await;
        let start = Instant::now();
        let e = ask(&s, "Ping").await.expect_err(name);
        let took = start.elapsed();
        assert_eq!(
            (e.kind(), e.timeout_kind()),
            (ErrorKind::Timeout, Some(kind)),
            "{name}: {e}"
        );
        assert!(e.message().contains(kind.as_str()), "{name}: {e}");
        assert!(
            took < Duration::from_secs(15),
            "{name}: fired within 10x its setting ({took:?})"
        );
        assert_eq!(e.error_type(), "timeout");
        server.wait_closed(1).await;
        rec.check(streaming, name);
        // No hung task: the session answers the next send (non-streaming, from the next step).
        let (s2, _) = session(
            &c,
            ProviderConfig::openai(format!("{}/v1", server.url())),
            false,
        )
        .await;
        assert_eq!(ask(&s2, "Ping").await.expect("usable"), "fine");
        c.stop().await;
    }
}

#[tokio::test]
async fn connect_timeout_on_a_listener_that_never_accepts() {
    // A listener with a full accept queue: the kernel drops further SYNs, so connecting hangs.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let listener = socket.listen(0).expect("listen");
    let addr = listener.local_addr().expect("addr");
    let mut fillers = Vec::new();
    for _ in 0..8 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            fillers.push(s);
        }
    }
    let timeouts = Timeouts {
        connect: Duration::from_millis(400),
        ..Timeouts::default()
    };
    let c = Client::new(
        ClientOptions::default()
            .with_retry(RetryPolicy::none())
            .with_timeouts(timeouts),
    )
    .expect("client");
    let (s, _) = session(
        &c,
        ProviderConfig::openai(format!("http://{addr}/v1")),
        false,
    )
    .await;
    let start = Instant::now();
    let e = ask(&s, "Ping").await.expect_err("connect timeout");
    assert_eq!(
        (e.kind(), e.timeout_kind()),
        (ErrorKind::Timeout, Some(TimeoutKind::Connect)),
        "{e}"
    );
    assert!(
        e.message().contains(&addr.to_string()),
        "names the URL: {e}"
    );
    assert!(start.elapsed() < Duration::from_secs(4));
    drop(listener);
}

#[tokio::test]
async fn connection_refused_names_the_url_and_the_local_server() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let c = client(RetryPolicy::none());
    let (s, _) = session(
        &c,
        ProviderConfig::openai(format!("http://127.0.0.1:{port}/v1")),
        false,
    )
    .await;
    let e = ask(&s, "Ping").await.expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert_eq!(e.error_type(), "transport");
    let m = e.message();
    assert!(
        m.contains(&format!("http://127.0.0.1:{port}/v1/chat/completions")),
        "{m}"
    );
    assert!(
        m.contains("ollama serve") && m.contains("foundry service status"),
        "{m}"
    );
}

#[derive(Default)]
struct Calls {
    count: AtomicUsize,
}

fn token_provider(calls: Arc<Calls>, expires_in: Option<Duration>) -> TokenProvider {
    TokenProvider::new(move |req| {
        let calls = calls.clone();
        async move {
            let n = calls.count.fetch_add(1, Ordering::SeqCst) + 1;
            assert_eq!(req.provider_name, "openai");
            let token = format!("token-{n}");
            Ok(match expires_in {
                Some(d) => BearerToken::with_expiry(token, SystemTime::now() + d),
                None => BearerToken::new(token),
            })
        }
    })
}

fn auth_headers(server: &ReplayServer) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| r.header("authorization").unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn the_token_provider_is_asked_before_every_request_unless_the_token_lasts() {
    // No expiry: before every request, retries included.
    let server = replay(vec![error(500)]).await;
    let calls = Arc::new(Calls::default());
    let c = client(fast_retries());
    let provider = ProviderConfig::openai(server.openai_url())
        .with_api_key("ignored-key")
        .with_bearer_token_provider(token_provider(calls.clone(), None));
    let (s, _) = session(&c, provider, false).await;
    assert_eq!(ask(&s, "Ping").await.expect("turn"), ANSWER);
    assert_eq!(ask(&s, "Ping again").await.expect("turn"), "Pong again.");
    assert_eq!(calls.count.load(Ordering::SeqCst), 3);
    assert_eq!(
        auth_headers(&server),
        ["Bearer token-1", "Bearer token-2", "Bearer token-3"]
    );

    // An expiry an hour away: one call for all three requests.
    let server = replay(vec![error(500)]).await;
    let calls = Arc::new(Calls::default());
    let provider = ProviderConfig::openai(server.openai_url()).with_bearer_token_provider(
        token_provider(calls.clone(), Some(Duration::from_secs(3600))),
    );
    let (s, _) = session(&c, provider, false).await;
    ask(&s, "Ping").await.expect("turn");
    ask(&s, "Ping again").await.expect("turn");
    assert_eq!(calls.count.load(Ordering::SeqCst), 1);
    assert_eq!(auth_headers(&server), ["Bearer token-1"; 3]);

    // An expiry within the 60 s margin: asked again each time.
    let server = replay(vec![]).await;
    let calls = Arc::new(Calls::default());
    let provider = ProviderConfig::openai(server.openai_url())
        .with_bearer_token_provider(token_provider(calls.clone(), Some(Duration::from_secs(30))));
    let (s, _) = session(&c, provider, false).await;
    ask(&s, "Ping").await.expect("turn");
    ask(&s, "Ping again").await.expect("turn");
    assert_eq!(calls.count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_401_drops_the_token_and_retries_once() {
    let server = replay(vec![error(401)]).await;
    let calls = Arc::new(Calls::default());
    let c = client(RetryPolicy::none());
    let provider = ProviderConfig::openai(server.openai_url()).with_bearer_token_provider(
        token_provider(calls.clone(), Some(Duration::from_secs(3600))),
    );
    let (s, _) = session(&c, provider, false).await;
    assert_eq!(ask(&s, "Ping").await.expect("refreshed"), ANSWER);
    assert_eq!(
        calls.count.load(Ordering::SeqCst),
        2,
        "the cached token was dropped"
    );
    assert_eq!(auth_headers(&server), ["Bearer token-1", "Bearer token-2"]);
    // Twice 401: once refreshed, then the error.
    let server = replay(vec![ScriptedError {
        times: Some(2),
        ..error(401)
    }])
    .await;
    let provider = ProviderConfig::openai(server.openai_url())
        .with_bearer_token_provider(token_provider(Arc::new(Calls::default()), None));
    let (s, _) = session(&c, provider, false).await;
    let e = ask(&s, "Ping").await.expect_err("still 401");
    assert_eq!(
        (e.kind(), e.error_type()),
        (ErrorKind::Auth, "authentication")
    );
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn a_failing_token_provider_is_an_auth_error_with_its_message() {
    let server = replay(vec![]).await;
    let c = client(fast_retries());
    let provider =
        ProviderConfig::openai(server.openai_url()).with_bearer_token_provider(TokenProvider::new(
            |_| async { Err(Error::new(ErrorKind::Transport, "the vault is sealed")) },
        ));
    let (s, _) = session(&c, provider, false).await;
    let e = ask(&s, "Ping").await.expect_err("no token");
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(e.message().contains("the vault is sealed"), "{e}");
    assert_eq!(server.request_count(), 0, "no request without a token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_that_need_a_token_at_once_share_one_provider_call() {
    let server = replay(vec![]).await;
    let calls = Arc::new(Calls::default());
    // A slow token source, so that every session asks while the first call is in flight.
    let slow = {
        let calls = calls.clone();
        TokenProvider::new(move |_| {
            let calls = calls.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let n = calls.count.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(BearerToken::with_expiry(
                    format!("token-{n}"),
                    SystemTime::now() + Duration::from_secs(3600),
                ))
            }
        })
    };
    let c = client(RetryPolicy::none());
    let mut sends = Vec::new();
    for _ in 0..10 {
        // Each session gets its own copy of the provider config; the token provider is shared.
        let provider =
            ProviderConfig::openai(server.openai_url()).with_bearer_token_provider(slow.clone());
        let (s, _) = session(&c, provider, false).await;
        sends.push(tokio::spawn(async move { ask(&s, "Ping").await }));
    }
    for send in sends {
        assert_eq!(send.await.expect("task").expect("turn"), ANSWER);
    }
    assert_eq!(
        calls.count.load(Ordering::SeqCst),
        1,
        "one call for ten sessions"
    );
    assert_eq!(auth_headers(&server), vec!["Bearer token-1"; 10]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_token_provider_fails_every_waiting_session_with_an_auth_error() {
    let server = replay(vec![]).await;
    let calls = Arc::new(Calls::default());
    let hang = {
        let calls = calls.clone();
        TokenProvider::new(move |_| {
            calls.count.fetch_add(1, Ordering::SeqCst);
            futures::future::pending::<modelport::Result<BearerToken>>()
        })
    };
    let c = Client::new(
        ClientOptions::default()
            .with_retry(RetryPolicy::none())
            .with_timeouts(Timeouts {
                token: Duration::from_millis(300),
                ..Timeouts::default()
            }),
    )
    .expect("client");
    let started = Instant::now();
    let mut sends = Vec::new();
    for _ in 0..5 {
        let provider =
            ProviderConfig::openai(server.openai_url()).with_bearer_token_provider(hang.clone());
        let (s, _) = session(&c, provider, false).await;
        sends.push(tokio::spawn(async move { ask(&s, "Ping").await }));
    }
    for send in sends {
        let e = send.await.expect("task").expect_err("no token");
        assert_eq!(
            (e.kind(), e.error_type()),
            (ErrorKind::Auth, "authentication")
        );
        assert!(
            e.message().contains("did not return a token within 300 ms"),
            "{e}"
        );
    }
    // A generous bound: the 300 ms timeout fired, nothing waited for the default 30 s.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        calls.count.load(Ordering::SeqCst),
        1,
        "the waiters shared one call"
    );
    assert_eq!(server.request_count(), 0, "no request without a token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_token_provider_is_an_auth_error_and_the_next_call_works() {
    let server = replay(vec![]).await;
    let calls = Arc::new(Calls::default());
    let flaky = {
        let calls = calls.clone();
        TokenProvider::new(move |_| {
            let n = calls.count.fetch_add(1, Ordering::SeqCst) + 1;
            assert!(n > 1, "the first call panics before returning its future");
            async move { Ok(BearerToken::new(format!("token-{n}"))) }
        })
    };
    let c = client(RetryPolicy::none());
    let provider = ProviderConfig::openai(server.openai_url()).with_bearer_token_provider(flaky);
    let (s, _) = session(&c, provider, false).await;
    let e = ask(&s, "Ping").await.expect_err("no token");
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(e.message().contains("panicked"), "{e}");
    assert_eq!(server.request_count(), 0, "no request without a token");
    // The failed turn left its prompt in the history, as after any failed send.
    assert_eq!(ask(&s, "Are you there?").await.expect("turn"), "Yes.");
    assert_eq!(auth_headers(&server), ["Bearer token-2"]);
}

#[tokio::test]
async fn a_key_echoed_by_the_provider_appears_nowhere() {
    let key = "sk-proj-SECRET0123456789abcdef";
    let body = format!(
        r#"{{"error":{{"message":"Incorrect API key provided: {key}. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}}}"#
    );
    let server = FaultServer::start(vec![Step::Respond(fault::response(
        401,
        &[
            ("content-type", "application/json"),
            ("x-request-id", "req_echo"),
        ],
        &body,
    ))])
    .await;
    let c = client(RetryPolicy::none());
    let (s, rec) = session(
        &c,
        ProviderConfig::openai(format!("{}/v1", server.url())).with_api_key(key),
        false,
    )
    .await;
    let e = ask(&s, "Ping").await.expect_err("401");
    assert_eq!(
        (e.kind(), e.status(), e.request_id()),
        (ErrorKind::Auth, Some(401), Some("req_echo"))
    );
    let m = e.message();
    assert!(m.starts_with("authentication failed"), "{m}");
    assert!(
        m.contains("API key is correct") && m.contains("base_url") && m.contains("full token"),
        "{m}"
    );
    for text in [
        m.to_owned(),
        e.to_string(),
        format!("{e:?}"),
        format!("{:?}", rec.events()),
        serde_json::to_string(&rec.events()).expect("json"),
    ] {
        assert!(!text.contains("SECRET0123456789"), "the key leaked: {text}");
    }
}

#[tokio::test]
async fn azure_404_names_the_deployment_and_api_version() {
    let server = FaultServer::start(vec![Step::Respond(fault::response(404, &[("content-type", "application/json")],
        r#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}"#))]).await;
    let c = client(RetryPolicy::none());
    let client_session = c
        .create_session(SessionConfig::new(
            "my-gpt4o",
            ProviderConfig::azure(server.url()).with_api_key("k"),
        ))
        .await
        .expect("session");
    let e = ask(&client_session, "Ping").await.expect_err("404");
    assert_eq!(
        (e.kind(), e.code()),
        (ErrorKind::NotFound, Some("DeploymentNotFound"))
    );
    assert!(
        e.message().contains("\"my-gpt4o\"") && e.message().contains("2024-10-21"),
        "{e}"
    );
}

#[tokio::test]
async fn chat_streaming_falls_back_without_stream_options_once_and_remembers() {
    let rejected = fault::response(
        400,
        &[("content-type", "application/json")],
        r#"{"error":{"message":"Unrecognized request argument supplied: stream_options","type":"invalid_request_error","param":null,"code":null}}"#,
    );
    let stream = |text: &str| {
        fault::sse_response(&[
            format!(
                "data: {}\n\n",
                serde_json::json!({"choices":[{"index":0,"delta":{"content":text}}]})
            ),
            format!(
                "data: {}\n\n",
                serde_json::json!({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})
            ),
            "data: [DONE]\n\n".to_owned(),
        ])
    };
    let server = FaultServer::start(vec![
        Step::Respond(rejected),
        Step::Respond(stream("one")),
        Step::Respond(stream("two")),
    ])
    .await;
    let c = client(RetryPolicy::none());
    let (s, _) = session(
        &c,
        ProviderConfig::azure(server.url()).with_api_key("k"),
        true,
    )
    .await;
    assert_eq!(ask(&s, "Ping").await.expect("fallback"), "one");
    assert_eq!(ask(&s, "Ping again").await.expect("remembered"), "two");
    let bodies = server.bodies();
    assert_eq!(bodies.len(), 3);
    assert!(bodies[0].contains("stream_options"));
    assert!(!bodies[1].contains("stream_options") && !bodies[2].contains("stream_options"));
}

#[tokio::test]
async fn list_models_from_each_provider_shape() {
    let server = replay(vec![]).await;
    for provider in [
        ProviderConfig::openai(server.openai_url()),
        ProviderConfig::azure(server.url()),
        ProviderConfig::azure(server.url()).with_azure_api_version("v1"),
        ProviderConfig::anthropic(server.url()),
    ] {
        let c =
            Client::new(ClientOptions::default().with_provider(provider.clone())).expect("client");
        let models = c.list_models().await.expect("models");
        let ids: Vec<&str> = models.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["gpt-4o", "gpt-4o-mini"], "{provider:?}");
        assert!(
            !models[0].capabilities.supports.vision,
            "unknown capabilities default to false"
        );
        // Cached: a second call makes no request.
        let before = server.request_count();
        c.list_models().await.expect("cached");
        assert_eq!(server.request_count(), before);
    }
    let paths: Vec<String> = server.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "/v1/models",
            "/openai/models?api-version=2024-10-21",
            "/openai/v1/models",
            "/v1/models?limit=1000"
        ]
    );

    // Anthropic paginates; Ollama's and llama.cpp's shapes.
    let page = |body: &str| {
        Step::Respond(fault::response(
            200,
            &[("content-type", "application/json")],
            body,
        ))
    };
    let server = FaultServer::start(vec![
        page(r#"{"data":[{"type":"model","id":"claude-a","display_name":"Claude A","max_input_tokens":200000}],"has_more":true,"first_id":"claude-a","last_id":"claude-a"}"#),
        page(r#"{"data":[{"type":"model","id":"claude-b","display_name":"Claude B"}],"has_more":false,"first_id":"claude-b","last_id":"claude-b"}"#),
        page(r#"{"models":[{"name":"qwen3:8b","model":"qwen3:8b"}]}"#),
        page(r#"{"object":"list","data":[{"id":"smollm2","object":"model","owned_by":"llamacpp","meta":{"n_ctx_train":8192}}]}"#),
    ])
    .await;
    let c = Client::new(
        ClientOptions::default().with_provider(ProviderConfig::anthropic(server.url())),
    )
    .expect("client");
    let models = c.list_models().await.expect("paginated");
    assert_eq!(
        models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["Claude A", "Claude B"]
    );
    assert_eq!(
        models[0].capabilities.limits.max_context_window_tokens,
        Some(200000)
    );
    for expected in ["qwen3:8b", "smollm2"] {
        let c = Client::new(
            ClientOptions::default()
                .with_provider(ProviderConfig::openai(format!("{}/v1", server.url()))),
        )
        .expect("client");
        assert_eq!(c.list_models().await.expect("shape")[0].id, expected);
    }
}

#[tokio::test]
async fn on_list_models_replaces_the_endpoint_and_is_cached() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let handler = ListModelsHandler::new(move || {
        seen.fetch_add(1, Ordering::SeqCst);
        async { Ok(vec![ModelInfo::new("my-custom-model", "My Custom Model")]) }
    });
    // A provider that would refuse connections: the handler is used, with no fallback.
    let c = Client::new(
        ClientOptions::default()
            .with_provider(ProviderConfig::openai("http://127.0.0.1:9/v1"))
            .with_on_list_models(handler),
    )
    .expect("client");
    for _ in 0..3 {
        assert_eq!(
            c.list_models().await.expect("handler")[0].id,
            "my-custom-model"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Without provider or handler: a config error that says what to set.
    let c = Client::new(ClientOptions::default()).expect("client");
    let e = c.list_models().await.expect_err("nothing to list");
    assert!(e.message().contains("on_list_models"), "{e}");
}
