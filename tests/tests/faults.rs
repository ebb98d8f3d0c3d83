//! Fault injection: every fault of the reliability issue, for each wire format, streaming and not,
//! against a misbehaving loopback server. Each case asserts its outcome (retried and succeeded, or a
//! typed error), that it came within a bound of the configured timeouts, that the event order holds,
//! that the session then answers the next send with a consistent history, and that no task is left
//! running once the case is over. TESTING.md has the table of cases and outcomes.

use std::time::{Duration, Instant, SystemTime};

use modelport::testing::Answer;
use modelport::wire::WireFormat;
use modelport::wire::encode::{json_body, stream_events};
use modelport::{
    Client, ClientOptions, ErrorKind, EventData, Message, ProviderConfig, RetryPolicy,
    SessionConfig, TimeoutKind, Timeouts, WireApi,
};
use modelport_e2e::Recorder;
use modelport_e2e::fault::{self, FaultServer, Step, chunk, last_chunk, sse_head};

const FORMATS: [WireFormat; 3] = [
    WireFormat::OpenAiChat,
    WireFormat::OpenAiResponses,
    WireFormat::AnthropicMessages,
];

const TEXT: &str = "Recovered: the answer after the fault, é and 🌍 included.";

fn timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        first_byte: Duration::from_millis(400),
        idle: Duration::from_millis(400),
        total: Duration::from_secs(20),
        ..Timeouts::default()
    }
}

fn retry() -> RetryPolicy {
    RetryPolicy {
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(50),
        ..RetryPolicy::default()
    }
}

fn provider(format: WireFormat, url: &str) -> ProviderConfig {
    match format {
        WireFormat::OpenAiChat => {
            ProviderConfig::openai(format!("{url}/v1")).with_api_key("sk-fault")
        }
        WireFormat::OpenAiResponses => ProviderConfig::openai(format!("{url}/v1"))
            .with_wire_api(WireApi::Responses)
            .with_api_key("sk-fault"),
        WireFormat::AnthropicMessages => ProviderConfig::anthropic(url).with_api_key("ak-fault"),
    }
}

/// The SSE events of a good answer.
fn events(format: WireFormat, text: &str) -> Vec<String> {
    let answer = Answer {
        text: text.into(),
        usage: modelport::Usage {
            input_tokens: 3,
            output_tokens: 4,
            ..Default::default()
        },
        ..Default::default()
    };
    stream_events(format, &answer, 6, true)
}

/// A good response, streamed or not.
fn ok(format: WireFormat, streaming: bool, text: &str) -> Vec<u8> {
    if streaming {
        fault::sse_response(&events(format, text))
    } else {
        let body = json_body(format, &Answer::text(text)).to_string();
        fault::response(200, &[("content-type", "application/json")], &body)
    }
}

/// An error response in the format's own shape.
fn http_error(format: WireFormat, status: u16, code: &str, headers: &[(&str, &str)]) -> Step {
    let body = match format {
        WireFormat::AnthropicMessages => serde_json::json!({"type": "error",
            "error": {"type": code, "message": format!("injected {status}")}, "request_id": "req_fault"}),
        _ => serde_json::json!({"error": {"message": format!("injected {status}"), "type": code,
            "param": null, "code": code}}),
    };
    let mut h = vec![("content-type", "application/json")];
    h.extend_from_slice(headers);
    Step::Respond(fault::response(status, &h, &body.to_string()))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// Succeeded after this many retries, with the good answer.
    Retried(usize),
    /// Failed with this kind (and timeout kind) after this many requests.
    Fails(ErrorKind, Option<TimeoutKind>, usize),
}

struct Case {
    name: String,
    /// Built when the case runs (dates must be fresh, 100 MB bodies built one at a time).
    steps: Box<dyn Fn() -> Vec<Step>>,
    outcome: Outcome,
    /// The answer waited at least this long (retry-after).
    min_wait: Duration,
    /// The error's message contains this.
    message: Option<&'static str>,
}

fn case(name: &str, steps: impl Fn() -> Vec<Step> + 'static, outcome: Outcome) -> Case {
    Case {
        name: name.to_owned(),
        steps: Box::new(steps),
        outcome,
        min_wait: Duration::ZERO,
        message: None,
    }
}

/// The message of a response refused for its size (the cap is 64 MiB).
const TOO_LARGE: &str = "larger than 64 MiB: refusing to buffer it";

/// Every fault for one format and streaming mode.
fn cases(format: WireFormat, streaming: bool) -> Vec<Case> {
    let good = move || Step::Respond(ok(format, streaming, TEXT));
    let evs = move || events(format, TEXT);
    // Up to the third text delta (whatever set-up events the format sends first).
    let partial_stream = move || -> Vec<u8> {
        let evs = evs();
        let first_delta = evs
            .iter()
            .position(|e| e.contains("\"Recove\""))
            .expect("a first delta");
        [
            sse_head(),
            evs[..first_delta + 3]
                .iter()
                .flat_map(|e| chunk(e.as_bytes()))
                .collect(),
        ]
        .concat()
    };
    let json = move || json_body(format, &Answer::text(TEXT)).to_string();
    let head = move || {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            json().len()
        )
    };
    let half_body = move || {
        let body = json();
        [head().as_bytes(), &body.as_bytes()[..body.len() / 2]].concat()
    };
    let json_response =
        |body: &str| fault::response(200, &[("content-type", "application/json")], body);
    let mut out = vec![
        case(
            "reset before headers",
            move || vec![Step::Reset, good()],
            Outcome::Retried(1),
        ),
        // Timeouts before any output are retried, like the official SDKs do.
        case(
            "accepts and never answers",
            move || vec![Step::Hang, good()],
            Outcome::Retried(1),
        ),
        case(
            "header-only slowloris",
            move || {
                vec![
                    Step::EndlessHeaders {
                        gap: Duration::from_millis(50),
                    },
                    good(),
                ]
            },
            Outcome::Retried(1),
        ),
    ];
    for (status, code, kind) in [
        (400, "invalid_request_error", ErrorKind::InvalidRequest),
        (401, "authentication_error", ErrorKind::Auth),
        (403, "permission_error", ErrorKind::PermissionDenied),
        (404, "not_found_error", ErrorKind::NotFound),
        (413, "request_too_large", ErrorKind::InvalidRequest),
    ] {
        out.push(case(
            &format!("HTTP {status}"),
            move || vec![http_error(format, status, code, &[])],
            Outcome::Fails(kind, None, 1),
        ));
    }
    for (status, code) in [
        (408, "timeout"),
        (500, "api_error"),
        (503, "api_error"),
        (529, "overloaded_error"),
    ] {
        out.push(case(
            &format!("HTTP {status} then success"),
            move || vec![http_error(format, status, code, &[]), good()],
            Outcome::Retried(1),
        ));
    }
    type Header = fn() -> (&'static str, String);
    let retry_afters: [(&str, Header, u64); 4] = [
        (
            "HTTP 429 retry-after-ms",
            || ("retry-after-ms", "250".to_owned()),
            250,
        ),
        (
            "HTTP 429 retry-after seconds",
            || ("retry-after", "1".to_owned()),
            1000,
        ),
        // Second precision: at least a second of the two is still ahead when the request is made.
        (
            "HTTP 429 retry-after HTTP date",
            || {
                (
                    "retry-after",
                    httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2)),
                )
            },
            1000,
        ),
        (
            "HTTP 429 absurd retry-after",
            || ("retry-after", "99999999".to_owned()),
            0,
        ),
    ];
    for (name, header, min_ms) in retry_afters {
        out.push(Case {
            min_wait: Duration::from_millis(min_ms),
            ..case(
                name,
                move || {
                    let (h, v) = header();
                    vec![
                        http_error(format, 429, "rate_limit_error", &[(h, &v)]),
                        good(),
                    ]
                },
                Outcome::Retried(1),
            )
        });
    }
    if streaming {
        out.extend([
            case(
                "reset mid-stream after some deltas",
                move || vec![Step::ResetAfter(partial_stream())],
                Outcome::Fails(ErrorKind::Transport, None, 1),
            ),
            case(
                "truncated stream without terminator",
                move || vec![Step::Respond([partial_stream(), last_chunk()].concat())],
                Outcome::Fails(ErrorKind::Transport, None, 1),
            ),
            case(
                "stalled stream",
                move || vec![Step::Stall(partial_stream())],
                Outcome::Fails(ErrorKind::Timeout, Some(TimeoutKind::Idle), 1),
            ),
            case(
                "malformed JSON in one chunk",
                || {
                    vec![Step::Respond(fault::sse_response(&[
                        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"oops\"}\n\n"
                            .to_owned(),
                    ]))]
                },
                Outcome::Fails(ErrorKind::Decode, None, 1),
            ),
            case(
                "UTF-8 split across chunks",
                move || {
                    vec![Step::Trickle {
                        head: sse_head(),
                        chunks: evs()
                            .concat()
                            .as_bytes()
                            .chunks(3)
                            .map(chunk)
                            .chain([last_chunk()])
                            .collect(),
                        gap: Duration::from_millis(1),
                    }]
                },
                Outcome::Retried(0),
            ),
            Case {
                message: Some(TOO_LARGE),
                ..case(
                    "100 MB stream",
                    move || vec![Step::Respond(huge_stream(format))],
                    Outcome::Fails(ErrorKind::Decode, None, 1),
                )
            },
        ]);
        if format == WireFormat::AnthropicMessages {
            out.push(case("overloaded_error after HTTP 200", move || {
                let overloaded = fault::sse_response(&[
                    evs()[0].clone(),
                    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n".to_owned(),
                ]);
                vec![Step::Respond(overloaded), good()]
            }, Outcome::Retried(1)));
        }
    } else {
        out.extend([
            case(
                "reset mid-body",
                move || vec![Step::ResetAfter(half_body()), good()],
                Outcome::Retried(1),
            ),
            case(
                "stalled body",
                move || vec![Step::Stall(half_body()), good()],
                Outcome::Retried(1),
            ),
            case(
                "truncated JSON body",
                move || {
                    let body = json();
                    vec![Step::Respond(json_response(&body[..body.len() / 2]))]
                },
                Outcome::Fails(ErrorKind::Decode, None, 1),
            ),
            case(
                "malformed JSON body",
                move || vec![Step::Respond(json_response("{not json"))],
                Outcome::Fails(ErrorKind::Decode, None, 1),
            ),
            case(
                "UTF-8 split across chunks",
                move || {
                    vec![Step::Trickle {
                        head: head().into_bytes(),
                        chunks: json().as_bytes().chunks(3).map(<[u8]>::to_vec).collect(),
                        gap: Duration::from_millis(1),
                    }]
                },
                Outcome::Retried(0),
            ),
            Case {
                message: Some(TOO_LARGE),
                ..case(
                    "100 MB body",
                    move || vec![Step::Respond(json_response(&" ".repeat(100 << 20)))],
                    Outcome::Fails(ErrorKind::Decode, None, 1),
                )
            },
        ]);
        if format == WireFormat::AnthropicMessages {
            out.push(case("overloaded_error after HTTP 200", move || {
                let overloaded = r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
                vec![Step::Respond(json_response(overloaded)), good()]
            }, Outcome::Retried(1)));
        }
    }
    out
}

/// A 100 MB stream of 64 KB text deltas in the format's shape.
fn huge_stream(format: WireFormat) -> Vec<u8> {
    let piece = "x".repeat(64 << 10);
    let evs = stream_events(format, &Answer::text(piece.clone()), piece.len(), true);
    // The first events up to the first text delta, then that delta over and over.
    let delta = evs
        .iter()
        .position(|e| e.contains(&piece))
        .expect("a delta");
    let mut out = sse_head();
    for e in &evs[..delta] {
        out.extend(chunk(e.as_bytes()));
    }
    let repeated = chunk(evs[delta].as_bytes());
    while out.len() < 100 << 20 {
        out.extend_from_slice(&repeated);
    }
    out.extend(last_chunk());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_for_every_format() {
    let mut ran = 0;
    for format in FORMATS {
        for streaming in [false, true] {
            for c in cases(format, streaming) {
                run_case(format, streaming, c).await;
                ran += 1;
            }
        }
    }
    eprintln!("{ran} fault cases passed");
}

/// Waits (a bounded while: aborted tasks and closed connections wind down asynchronously) until no
/// more tasks are alive on this runtime than `before`, and fails the case otherwise.
async fn no_task_left(before: usize, label: &str) {
    let metrics = tokio::runtime::Handle::current().metrics();
    let deadline = Instant::now() + Duration::from_secs(5);
    while metrics.num_alive_tasks() > before {
        assert!(
            Instant::now() < deadline,
            "{label}: {} task(s) still running 5 s after the case",
            metrics.num_alive_tasks() - before
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn run_case(format: WireFormat, streaming: bool, c: Case) {
    let label = format!("{format:?} streaming={streaming}: {}", c.name);
    let tasks_before = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let mut steps = (c.steps)();
    steps.push(Step::Respond(ok(format, streaming, "fine")));
    let server = FaultServer::start(steps).await;
    let client = Client::new(
        ClientOptions::default()
            .with_retry(retry())
            .with_timeouts(timeouts()),
    )
    .expect("client");
    let session = client
        .create_session(
            SessionConfig::new("m", provider(format, &server.url())).with_streaming(streaming),
        )
        .await
        .expect("session");
    let rec = Recorder::attach(&session);
    let start = Instant::now();
    let result = session
        .send_and_wait("First", Some(Duration::from_secs(60)))
        .await;
    let took = start.elapsed();
    let retries = rec
        .events()
        .iter()
        .filter(|e| e.kind() == "assistant.turn_retry")
        .count();
    match c.outcome {
        Outcome::Retried(n) => {
            let reply = result.unwrap_or_else(|e| panic!("{label}: {e}"));
            assert_eq!(
                reply
                    .and_then(|e| e.content().map(str::to_owned))
                    .as_deref(),
                Some(TEXT),
                "{label}"
            );
            assert_eq!(retries, n, "{label}: retries");
            assert!(
                took >= c.min_wait,
                "{label}: waited {took:?}, asked {:?}",
                c.min_wait
            );
            // Whatever was waited for came within the configured timeouts (generously bounded).
            assert!(
                took < c.min_wait + timeouts().first_byte * 10,
                "{label}: {took:?}"
            );
        }
        Outcome::Fails(kind, timeout, requests) => {
            let e = result.expect_err(&label);
            assert_eq!(e.kind(), kind, "{label}: {e}");
            if let Some(message) = c.message {
                assert!(e.message().contains(message), "{label}: {e}");
            }
            assert_eq!(e.timeout_kind(), timeout, "{label}: {e}");
            assert_eq!(server.requests(), requests, "{label}: requests");
            if kind == ErrorKind::Timeout {
                assert!(took < timeouts().first_byte * 10, "{label}: {took:?}");
            }
            let errors: Vec<String> = rec
                .events()
                .iter()
                .filter_map(|ev| match &ev.data {
                    EventData::SessionError(d) => Some(d.error_type.clone()),
                    _ => None,
                })
                .collect();
            assert_eq!(errors, [e.error_type().to_owned()], "{label}");
        }
    }
    // The session goes on: the next send gets the next scripted answer.
    let next = session
        .send_and_wait("Second", Some(Duration::from_secs(30)))
        .await
        .unwrap_or_else(|e| panic!("{label}: the next send failed: {e}"));
    assert_eq!(
        next.and_then(|e| e.content().map(str::to_owned)).as_deref(),
        Some("fine"),
        "{label}"
    );
    let history = session.history();
    let expected_len = if matches!(c.outcome, Outcome::Retried(_)) {
        4
    } else {
        3
    };
    assert_eq!(history.len(), expected_len, "{label}: {history:?}");
    assert!(
        matches!(&history[expected_len - 2], Message::User { .. }),
        "{label}: {history:?}"
    );
    rec.check(streaming, &label);
    assert!(client.stop().await.is_empty());
    drop((session, client, server));
    no_task_left(tasks_before, &label).await;
}

#[tokio::test]
async fn connection_refused_for_every_format() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    for format in FORMATS {
        for streaming in [false, true] {
            let tasks_before = tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks();
            let client = Client::new(ClientOptions::default().with_retry(retry())).expect("client");
            let session = client
                .create_session(
                    SessionConfig::new("m", provider(format, &url)).with_streaming(streaming),
                )
                .await
                .expect("session");
            let rec = Recorder::attach(&session);
            let e = session
                .send_and_wait("First", None)
                .await
                .expect_err("refused");
            assert_eq!(e.kind(), ErrorKind::Transport);
            assert!(e.message().contains(&url), "{e}");
            // Refused connections are retried like the official SDKs do (2 retries), then reported.
            assert_eq!(
                rec.events()
                    .iter()
                    .filter(|e| e.kind() == "assistant.turn_retry")
                    .count(),
                2
            );
            rec.check(streaming, "refused");
            assert_eq!(session.history(), vec![Message::user("First")]);
            assert!(client.stop().await.is_empty());
            drop((session, client));
            no_task_left(
                tasks_before,
                &format!("{format:?} streaming={streaming}: refused"),
            )
            .await;
        }
    }
}
