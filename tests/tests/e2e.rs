//! modelport end to end over real loopback HTTP against the replay provider, for every provider route
//! (OpenAI chat and responses, Azure versioned and v1, Anthropic), streaming and not.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::{
    Client, ClientOptions, EventData, SendOptions, Session, SessionConfig, Tool, ToolError,
    ToolResult,
};
use modelport_e2e::{ROUTES, Recorder, Route, e2e_server};
use serde_json::{Value, json};

const TIMEOUT: Option<Duration> = Some(Duration::from_secs(30));

fn weather() -> Tool {
    Tool::new(
        "get_weather",
        "Current weather for a city",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
        |args: Value, _| async move {
            Ok::<_, ToolError>(match args["city"].as_str() {
                Some("Paris") => "sunny, 22C in Paris",
                Some("Tokyo") => "rainy, 17C in Tokyo",
                _ => "unknown",
            })
        },
    )
}

fn act() -> Tool {
    Tool::new(
        "act",
        "Does something",
        json!({"type": "object", "properties": {"kind": {"type": "string"}}}),
        |args: Value, _| async move {
            let kind = args["kind"].as_str().unwrap_or("success").to_owned();
            let text = match kind.as_str() {
                "failure" => "act failed",
                "denied" => "act denied",
                "rejected" => "act rejected",
                _ => "act succeeded",
            };
            Ok::<_, ToolError>(ToolResult::from_value(
                json!({"textResultForLlm": text, "resultType": kind}),
            ))
        },
    )
}

fn location() -> Tool {
    Tool::new(
        "get_user_location",
        "Where the user is",
        json!({"type": "object"}),
        |_, _| async { Err::<String, ToolError>("GPS unavailable".into()) },
    )
}

fn slow(started: Arc<AtomicUsize>) -> Tool {
    Tool::new(
        "slow",
        "Takes forever",
        json!({"type": "object"}),
        move |_, _| {
            let started = started.clone();
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(600)).await;
                Ok::<_, ToolError>("finished")
            }
        },
    )
}

struct Run {
    client: Client,
    session: Session,
    rec: Recorder,
    label: String,
    streaming: bool,
}

async fn open(server: &ReplayServer, route: Route, streaming: bool, tools: Vec<Tool>) -> Run {
    let client = Client::new(ClientOptions::default()).expect("client");
    let session = client
        .create_session(
            SessionConfig::new("e2e-model", route.provider(server))
                .with_streaming(streaming)
                .with_tools(tools),
        )
        .await
        .expect("session");
    let rec = Recorder::attach(&session);
    Run {
        client,
        session,
        rec,
        label: format!("{route:?} streaming={streaming}"),
        streaming,
    }
}

impl Run {
    async fn ask(&self, prompt: &str) -> String {
        let reply = self
            .session
            .send_and_wait(prompt, TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.label))
            .unwrap_or_else(|| panic!("{}: no assistant.message", self.label));
        reply.content().unwrap_or_default().to_owned()
    }

    /// How many `assistant.message_delta` events the session emitted.
    fn deltas(&self) -> usize {
        self.rec
            .kinds()
            .iter()
            .filter(|k| **k == "assistant.message_delta")
            .count()
    }

    fn completes(&self) -> Vec<(String, bool, Option<String>)> {
        self.rec
            .events()
            .iter()
            .filter_map(|e| match &e.data {
                EventData::ToolExecutionComplete(c) => Some((
                    c.result
                        .as_ref()
                        .map(|r| r.content.clone())
                        .unwrap_or_default(),
                    c.success,
                    c.error.as_ref().and_then(|e| e.code.clone()),
                )),
                _ => None,
            })
            .collect()
    }

    async fn finish(self) {
        self.rec.check(self.streaming, &self.label);
        assert!(self.client.stop().await.is_empty());
    }
}

/// A stream written in one piece (`ReplayConfig::whole_stream`, the CPU benchmark's server) decodes
/// to the same answer and the same deltas on every route as one written event by event.
#[tokio::test]
async fn a_stream_written_in_one_piece_decodes_like_one_written_event_by_event() {
    let expected = "Hello from the replay provider! This answer is long enough to be streamed in several deltas.";
    for whole_stream in [false, true] {
        let server = e2e_server(ReplayConfig {
            delta_chars: 7,
            whole_stream,
            ..Default::default()
        })
        .await;
        for route in ROUTES {
            let run = open(&server, route, true, vec![]).await;
            assert_eq!(run.ask("Say hello").await, expected, "{}", run.label);
            let deltas = run.deltas();
            assert_eq!(
                deltas,
                expected.chars().count().div_ceil(7),
                "{}",
                run.label
            );
            run.finish().await;
        }
    }
}

#[tokio::test]
async fn text_single_tool_and_parallel_tools_on_every_route() {
    let server = e2e_server(ReplayConfig {
        delta_chars: 7,
        ..Default::default()
    })
    .await;
    for route in ROUTES {
        for streaming in [false, true] {
            let before = server.request_count();
            let run = open(&server, route, streaming, vec![weather()]).await;
            assert_eq!(
                run.ask("Say hello").await,
                "Hello from the replay provider! This answer is long enough to be streamed in several deltas."
            );
            if streaming {
                let deltas = run.deltas();
                assert!(deltas > 5, "{}: {deltas} deltas", run.label);
            }
            run.finish().await;
            let run = open(&server, route, streaming, vec![weather()]).await;
            assert_eq!(
                run.ask("What's the weather in Paris?").await,
                "It is sunny and 22C in Paris."
            );
            assert_eq!(run.completes().len(), 1);
            run.finish().await;
            let run = open(&server, route, streaming, vec![weather()]).await;
            assert_eq!(
                run.ask("Weather in Paris and Tokyo?").await,
                "Paris is sunny (22C); Tokyo is rainy (17C)."
            );
            let results: Vec<String> = run.completes().into_iter().map(|c| c.0).collect();
            assert_eq!(results.len(), 2, "{}", run.label);
            assert!(results.contains(&"rainy, 17C in Tokyo".to_owned()));
            // Every request went to this route's path, with its query on Azure's versioned routes.
            let requests = server.requests();
            for r in &requests[before as usize..] {
                assert!(
                    r.path.starts_with(route.path()),
                    "{}: {}",
                    run.label,
                    r.path
                );
                let versioned = matches!(
                    route,
                    Route::AzureVersioned | Route::AzureVersionedResponses
                );
                assert_eq!(r.path.contains("api-version="), versioned, "{}", r.path);
                match route {
                    Route::Anthropic => assert_eq!(r.header("x-api-key"), Some("ak-e2e")),
                    Route::OpenAiChat | Route::OpenAiResponses => {
                        assert_eq!(r.header("authorization"), Some("Bearer sk-e2e"))
                    }
                    _ => assert_eq!(r.header("api-key"), Some("az-e2e")),
                }
                assert_eq!(r.body.get("stream").is_some(), streaming, "{}", run.label);
            }
            run.finish().await;
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn every_tool_result_type_and_a_raising_handler() {
    let server = e2e_server(ReplayConfig::default()).await;
    for route in ROUTES {
        for streaming in [false, true] {
            let cases = [
                ("Run act with success", "The action succeeded.", None),
                (
                    "Run act with failure",
                    "The action failed.",
                    Some("failure"),
                ),
                (
                    "Run act with denied",
                    "The action was denied.",
                    Some("denied"),
                ),
                // Rejected: the turn ends; the last message is the one that asked for the tool.
                ("Run act with rejected", "", Some("rejected")),
                (
                    "Where am I?",
                    "I could not find your location.",
                    Some("failure"),
                ),
            ];
            for (prompt, answer, code) in cases {
                let run = open(&server, route, streaming, vec![act(), location()]).await;
                let before = server.request_count();
                assert_eq!(run.ask(prompt).await, answer, "{}", run.label);
                let calls = if code == Some("rejected") { 1 } else { 2 };
                assert_eq!(
                    server.request_count() - before,
                    calls,
                    "{}: {prompt}",
                    run.label
                );
                let c = run.completes();
                assert_eq!(c[0].2.as_deref(), code, "{}: {prompt}", run.label);
                assert_eq!(c[0].1, code.is_none());
                run.finish().await;
            }
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn abort_during_streaming_closes_the_connection_and_the_session_goes_on() {
    let server = e2e_server(ReplayConfig {
        delta_chars: 5,
        chunk_delay: Some(Duration::from_millis(10)),
        ..Default::default()
    })
    .await;
    for (i, route) in ROUTES.into_iter().enumerate() {
        let run = open(&server, route, true, vec![]).await;
        let mut events = run.session.events();
        run.session
            .send("Tell me a long story")
            .await
            .expect("send");
        while let Some(Ok(e)) = events.next().await {
            if e.kind() == "assistant.message_delta" {
                break;
            }
        }
        run.session.abort().await;
        tokio::time::timeout(
            Duration::from_secs(10),
            server.wait_disconnects(i as u64 + 1),
        )
        .await
        .unwrap_or_else(|_| panic!("{}: the server never saw the connection close", run.label));
        let kinds = run.rec.kinds();
        let expected: &[&str] = if route == Route::Anthropic {
            &[
                "abort",
                "assistant.usage",
                "assistant.turn_end",
                "session.idle",
            ]
        } else {
            &["abort", "assistant.turn_end", "session.idle"]
        };
        assert!(kinds.ends_with(expected), "{kinds:?}");
        assert_eq!(
            run.ask("A short one, please").await,
            "Once upon a time, the end."
        );
        run.finish().await;
    }
    server.stop().await;
}

#[tokio::test]
async fn abort_during_a_tool_interrupts_it_and_the_history_stays_valid() {
    let server = e2e_server(ReplayConfig::default()).await;
    for route in ROUTES {
        for streaming in [false, true] {
            let started = Arc::new(AtomicUsize::new(0));
            let run = open(&server, route, streaming, vec![slow(started.clone())]).await;
            let mut events = run.session.events();
            run.session.send("Run the slow tool").await.expect("send");
            while let Some(Ok(e)) = events.next().await {
                if e.kind() == "tool.execution_start" {
                    break;
                }
            }
            run.session.abort().await;
            let c = run.completes();
            assert_eq!(c[0].2.as_deref(), Some("interrupted"), "{}", run.label);
            // The replay only answers if the interrupted result was sent back exactly.
            assert_eq!(
                run.ask("Are you still there?").await,
                "Yes, the slow tool was interrupted."
            );
            run.finish().await;
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn multi_turn_history_and_per_message_headers() {
    let server = e2e_server(ReplayConfig::default()).await;
    for route in ROUTES {
        for streaming in [false, true] {
            let run = open(&server, route, streaming, vec![]).await;
            assert_eq!(run.ask("My name is Ada.").await, "Nice to meet you, Ada.");
            let reply = run
                .session
                .send_and_wait(
                    SendOptions::from("What is my name?").with_header("X-Trace-Id", "trace-42"),
                    TIMEOUT,
                )
                .await
                .expect("send");
            assert_eq!(
                reply
                    .and_then(|e| e.content().map(str::to_owned))
                    .as_deref(),
                Some("Your name is Ada.")
            );
            let last = server.requests().pop().expect("a request");
            assert_eq!(last.header("x-trace-id"), Some("trace-42"), "{}", run.label);
            let first = &server.requests()[server.requests().len() - 2];
            assert_eq!(first.header("x-trace-id"), None, "headers are per message");
            run.finish().await;
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_request_that_matches_nothing_gets_an_explained_500() {
    let server = e2e_server(ReplayConfig::default()).await;
    let run = open(&server, Route::OpenAiChat, false, vec![]).await;
    let err = run
        .session
        .send_and_wait("Something nobody recorded", TIMEOUT)
        .await
        .expect_err("no conversation matches");
    assert_eq!(err.status(), Some(500));
    assert!(
        err.message().contains("no stored conversation matches"),
        "{err}"
    );
    assert!(err.message().contains("Something nobody recorded"), "{err}");
    assert_eq!(
        server.request_count(),
        1,
        "x-should-retry: false stops the retries"
    );
    run.finish().await;
    server.stop().await;
}

#[tokio::test]
async fn a_fallback_answer_replaces_the_500_when_configured() {
    let server = e2e_server(ReplayConfig {
        fallback: Some("Fallback answer.".into()),
        ..Default::default()
    })
    .await;
    let run = open(&server, Route::Anthropic, true, vec![]).await;
    assert_eq!(
        run.ask("Something nobody recorded").await,
        "Fallback answer."
    );
    // Recorded conversations still win.
    let run2 = open(&server, Route::Anthropic, false, vec![]).await;
    assert!(
        run2.ask("Say hello")
            .await
            .starts_with("Hello from the replay provider!")
    );
    run.finish().await;
    run2.finish().await;
    server.stop().await;
}
