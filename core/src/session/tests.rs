//! The engine through the scripted mock transport, for each wire format, streaming and not. Every
//! test that runs a send checks its whole event sequence with [`check_event_order`], after its last
//! send; the few that run none say so.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde_json::{Value, json};

use crate::error::{ErrorKind, TimeoutKind};
use crate::session::events::EventData;
use crate::session::tools::{ToolError, ToolResult};
use crate::test_support::own_fixtures;
use crate::testing::{MockReply, MockTransport, check_event_order};
use crate::wire::encode::Answer;
use crate::wire::{FinishReason, Message, ToolCall, Usage, WireFormat};
use crate::{
    Client, ClientOptions, Event, PermissionDecision, PermissionHandler, ProviderConfig,
    ReasoningEffort, SendOptions, Session, SessionConfig, Tool, WireApi,
};

const COMBOS: [(WireFormat, bool); 6] = [
    (WireFormat::OpenAiChat, false),
    (WireFormat::OpenAiChat, true),
    (WireFormat::OpenAiResponses, false),
    (WireFormat::OpenAiResponses, true),
    (WireFormat::AnthropicMessages, false),
    (WireFormat::AnthropicMessages, true),
];

fn provider(format: WireFormat) -> ProviderConfig {
    match format {
        WireFormat::OpenAiChat => {
            ProviderConfig::openai("http://mock.test/v1").with_api_key("sk-test")
        }
        WireFormat::OpenAiResponses => {
            ProviderConfig::openai("http://mock.test/v1").with_wire_api(WireApi::Responses)
        }
        WireFormat::AnthropicMessages => {
            ProviderConfig::anthropic("http://mock.test").with_api_key("ak-test")
        }
    }
}

struct Harness {
    client: Client,
    session: Session,
    mock: MockTransport,
    events: Arc<Mutex<Vec<Event>>>,
    streaming: bool,
    label: String,
}

impl Harness {
    async fn new(format: WireFormat, streaming: bool, config: SessionConfig) -> Harness {
        Self::with_mock(format, streaming, config, MockTransport::new()).await
    }

    async fn with_mock(
        format: WireFormat,
        streaming: bool,
        mut config: SessionConfig,
        mock: MockTransport,
    ) -> Harness {
        let client = Client::new(memory().with_transport(Arc::new(mock.clone()))).unwrap();
        config.provider = Some(provider(format));
        config.model.get_or_insert_with(|| "test-model".into());
        config.streaming = streaming;
        let session = client.create_session(config).await.unwrap();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        session.on_all(move |e| sink.lock().unwrap().push(e.clone()));
        Harness {
            client,
            session,
            mock,
            events,
            streaming,
            label: format!("{format:?} streaming={streaming}"),
        }
    }

    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    fn kinds(&self) -> Vec<&'static str> {
        self.events().iter().map(Event::kind).collect()
    }

    fn check(&self) {
        if let Err(e) = check_event_order(&self.events(), self.streaming) {
            panic!("{}: {e}\n{:#?}", self.label, self.kinds());
        }
    }

    fn of<T>(&self, pick: impl Fn(&EventData) -> Option<T>) -> Vec<T> {
        self.events().iter().filter_map(|e| pick(&e.data)).collect()
    }

    fn completes(&self) -> Vec<crate::session::events::ToolExecutionCompleteData> {
        self.of(|d| match d {
            EventData::ToolExecutionComplete(c) => Some(c.clone()),
            _ => None,
        })
    }

    /// The text the model was sent as the result of `call_id` in request number `n`.
    fn tool_result_sent(&self, n: usize, call_id: &str) -> String {
        let body = &self.mock.requests()[n].body;
        let items: Vec<Value> = match body.get("input") {
            Some(Value::Array(items)) => items.clone(),
            _ => body["messages"].as_array().cloned().unwrap_or_default(),
        };
        for item in items {
            if item["tool_call_id"] == call_id {
                return item["content"].as_str().unwrap().to_owned();
            }
            if item["call_id"] == call_id && item["type"] == "function_call_output" {
                return item["output"].as_str().unwrap().to_owned();
            }
            for block in item["content"].as_array().into_iter().flatten() {
                if block["tool_use_id"] == call_id {
                    return block["content"].as_str().unwrap().to_owned();
                }
            }
        }
        panic!(
            "{}: no tool result for {call_id} in request {n}: {body}",
            self.label
        )
    }
}

fn answer(text: &str, usage: (u64, u64)) -> MockReply {
    MockReply::Answer(Answer {
        text: text.into(),
        usage: Usage {
            input_tokens: usage.0,
            output_tokens: usage.1,
            ..Default::default()
        },
        ..Default::default()
    })
}

fn echo_tool(name: &str) -> Tool {
    let name = name.to_owned();
    Tool::new(
        name.clone(),
        format!("{name} tool"),
        json!({"type": "object", "properties": {"input": {"type": "string"}}}),
        move |args: Value, _| {
            let name = name.clone();
            async move { Ok::<_, ToolError>(format!("{name}:{}", args["input"].as_str().unwrap_or(""))) }
        },
    )
}

/// A tool that sleeps `args.ms` milliseconds, then answers its `args.id`.
fn sleepy_tool(runs: Arc<AtomicUsize>) -> Tool {
    Tool::new(
        "sleepy",
        "sleeps",
        json!({"type": "object"}),
        move |args: Value, _| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(args["ms"].as_u64().unwrap_or(0))).await;
                Ok::<_, ToolError>(format!("done {}", args["id"]))
            }
        },
    )
}

#[tokio::test]
async fn text_turn() {
    for (format, streaming) in COMBOS {
        let h = Harness::new(format, streaming, SessionConfig::default()).await;
        h.mock
            .push(answer("Hello there, this is the answer.", (12, 7)));
        let reply = h.session.send_and_wait("Hi", None).await.unwrap().unwrap();
        assert_eq!(
            reply.content(),
            Some("Hello there, this is the answer."),
            "{}",
            h.label
        );
        h.check();
        let deltas: String = h
            .of(|d| match d {
                EventData::MessageDelta(m) => Some(m.delta_content.clone()),
                _ => None,
            })
            .concat();
        if streaming {
            assert_eq!(deltas, "Hello there, this is the answer.", "{}", h.label);
        } else {
            assert!(deltas.is_empty());
        }
        let usage = h.of(|d| match d {
            EventData::Usage(u) => Some(u.clone()),
            _ => None,
        });
        assert_eq!(
            (usage[0].input_tokens, usage[0].output_tokens),
            (12, 7),
            "{}",
            h.label
        );
        assert_eq!(usage[0].finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            usage[0].time_to_first_token_ms.is_some(),
            streaming,
            "{}",
            h.label
        );
        let body = &h.mock.requests()[0].body;
        assert_eq!(
            body.get("stream").is_some(),
            streaming,
            "{}: {body}",
            h.label
        );
        assert_eq!(
            h.session.history(),
            vec![
                Message::user("Hi"),
                Message::Assistant {
                    text: "Hello there, this is the answer.".into(),
                    tool_calls: vec![],
                    reasoning: vec![]
                }
            ]
        );
        // Persisted events exclude the ephemeral ones.
        assert!(h.session.get_events().iter().all(|e| !e.ephemeral));
        assert_eq!(h.session.get_events()[0].kind(), "session.start");
    }
}

#[tokio::test]
async fn single_tool_call() {
    for (format, streaming) in COMBOS {
        let h = Harness::new(
            format,
            streaming,
            SessionConfig::default().with_tool(echo_tool("lookup")),
        )
        .await;
        h.mock
            .push(MockReply::tool_calls(&[(
                "call_1",
                "lookup",
                r#"{"input":"Paris"}"#,
            )]))
            .push(answer("Paris is nice.", (20, 5)));
        let reply = h
            .session
            .send_and_wait("Look up Paris", None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reply.content(), Some("Paris is nice."));
        h.check();
        let starts = h.of(|d| match d {
            EventData::ToolExecutionStart(s) => Some(s.clone()),
            _ => None,
        });
        assert_eq!(starts.len(), 1);
        assert_eq!(starts[0].tool_name, "lookup");
        assert_eq!(starts[0].arguments, json!({"input": "Paris"}));
        let c = &h.completes()[0];
        assert!(c.success && c.error.is_none(), "{}", h.label);
        assert_eq!(c.result.as_ref().unwrap().content, "lookup:Paris");
        assert_eq!(
            h.tool_result_sent(1, "call_1"),
            "lookup:Paris",
            "{}",
            h.label
        );
        // The tool spec was offered.
        let body = &h.mock.requests()[0].body;
        assert!(body["tools"].to_string().contains("lookup"), "{}", h.label);
    }
}

#[tokio::test]
async fn parallel_tool_calls_interleave_completions() {
    for (format, streaming) in COMBOS {
        let runs = Arc::new(AtomicUsize::new(0));
        let h = Harness::new(
            format,
            streaming,
            SessionConfig::default().with_tool(sleepy_tool(runs.clone())),
        )
        .await;
        h.mock
            .push(MockReply::tool_calls(&[
                ("call_a", "sleepy", r#"{"id":"a","ms":300}"#),
                ("call_b", "sleepy", r#"{"id":"b","ms":10}"#),
                ("call_c", "sleepy", r#"{"id":"c","ms":150}"#),
            ]))
            .push(answer("All done.", (1, 1)));
        h.session.send_and_wait("go", None).await.unwrap();
        h.check();
        let order: Vec<String> = h
            .events()
            .iter()
            .filter_map(|e| match &e.data {
                EventData::ToolExecutionStart(s) => Some(format!("start {}", s.tool_call_id)),
                EventData::ToolExecutionComplete(c) => Some(format!("done {}", c.tool_call_id)),
                _ => None,
            })
            .collect();
        assert_eq!(
            order,
            [
                "start call_a",
                "start call_b",
                "start call_c",
                "done call_b",
                "done call_c",
                "done call_a"
            ],
            "{}",
            h.label
        );
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        // Results go back in the order of the calls, whatever order they finished in.
        assert_eq!(h.tool_result_sent(1, "call_a"), "done \"a\"");
        assert_eq!(h.tool_result_sent(1, "call_b"), "done \"b\"");
    }
}

#[tokio::test]
async fn more_than_eight_parallel_calls_run_eight_at_a_time() {
    let runs = Arc::new(AtomicUsize::new(0));
    let h = Harness::new(
        WireFormat::OpenAiChat,
        false,
        SessionConfig::default().with_tool(sleepy_tool(runs.clone())),
    )
    .await;
    let calls: Vec<(String, String)> = (0..10)
        .map(|i| {
            (
                format!("call_{i}"),
                format!(r#"{{"id":{i},"ms":{}}}"#, 50 + i * 10),
            )
        })
        .collect();
    let refs: Vec<(&str, &str, &str)> = calls
        .iter()
        .map(|(id, a)| (id.as_str(), "sleepy", a.as_str()))
        .collect();
    h.mock
        .push(MockReply::tool_calls(&refs))
        .push(answer("ok", (1, 1)));
    h.session.send_and_wait("go", None).await.unwrap();
    h.check();
    let kinds: Vec<&str> = h
        .kinds()
        .into_iter()
        .filter(|k| k.starts_with("tool."))
        .collect();
    let first_complete = kinds
        .iter()
        .position(|k| *k == "tool.execution_complete")
        .unwrap();
    assert_eq!(
        first_complete, 8,
        "exactly 8 start before the first completes: {kinds:?}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 10);
}

#[tokio::test]
async fn every_tool_result_type() {
    for (format, streaming) in COMBOS {
        for (kind, continues) in [
            ("success", true),
            ("failure", true),
            ("denied", true),
            ("rejected", false),
        ] {
            let tool = Tool::new(
                "act",
                "acts",
                json!({"type": "object"}),
                move |_, _| async move {
                    Ok::<_, ToolError>(ToolResult::from_value(
                        json!({"textResultForLlm": format!("{kind} text"), "resultType": kind}),
                    ))
                },
            );
            let h = Harness::new(format, streaming, SessionConfig::default().with_tool(tool)).await;
            h.mock
                .push(MockReply::tool_calls(&[("call_1", "act", "{}")]))
                .push(answer("after", (1, 1)));
            let reply = h
                .session
                .send_and_wait("do it", None)
                .await
                .unwrap()
                .unwrap();
            h.check();
            let c = &h.completes()[0];
            assert_eq!(c.success, kind == "success", "{} {kind}", h.label);
            assert_eq!(c.result.as_ref().unwrap().content, format!("{kind} text"));
            if kind != "success" {
                assert_eq!(c.error.as_ref().unwrap().code.as_deref(), Some(kind));
            }
            assert_eq!(
                h.mock.request_count(),
                if continues { 2 } else { 1 },
                "{} {kind}",
                h.label
            );
            if continues {
                assert_eq!(reply.content(), Some("after"));
                assert_eq!(h.tool_result_sent(1, "call_1"), format!("{kind} text"));
            } else {
                // The last assistant.message is the one that asked for the tool.
                assert_eq!(reply.content(), Some(""));
                // The model sees the handler's text on the next send.
                h.mock.push(answer("next", (1, 1)));
                h.session.send_and_wait("again", None).await.unwrap();
                assert_eq!(h.tool_result_sent(1, "call_1"), "rejected text");
                h.check();
            }
        }
    }
}

#[tokio::test]
async fn permission_refusal_ends_the_turn_without_running_the_handler() {
    for (format, streaming) in COMBOS {
        let runs = Arc::new(AtomicUsize::new(0));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = asked.clone();
        let config = SessionConfig::default()
            .with_tool(sleepy_tool(runs.clone()))
            .with_permission_handler(PermissionHandler::new(move |req| {
                seen.lock().unwrap().push(req);
                async {
                    PermissionDecision::Reject {
                        feedback: Some("not now".into()),
                    }
                }
            }));
        let h = Harness::new(format, streaming, config).await;
        h.mock.push(MockReply::tool_calls(&[(
            "call_1",
            "sleepy",
            r#"{"id":1}"#,
        )]));
        h.session.send_and_wait("run it", None).await.unwrap();
        h.check();
        assert_eq!(runs.load(Ordering::SeqCst), 0, "{}", h.label);
        assert_eq!(h.mock.request_count(), 1, "no model call after a refusal");
        let req = asked.lock().unwrap()[0].clone();
        assert_eq!(
            (req.kind.as_str(), req.tool_name.as_str()),
            ("custom-tool", "sleepy")
        );
        assert_eq!(req.session_id, h.session.id());
        assert_eq!(req.arguments, json!({"id": 1}));
        let c = &h.completes()[0];
        assert!(!c.success);
        assert_eq!(c.error.as_ref().unwrap().code.as_deref(), Some("denied"));
        h.mock.push(answer("ok", (1, 1)));
        h.session.send_and_wait("fine", None).await.unwrap();
        assert_eq!(
            h.tool_result_sent(1, "call_1"),
            "The user rejected this tool call. Feedback: not now"
        );
        h.check();
    }
}

#[tokio::test]
async fn handler_error_gives_the_model_the_fixed_text_and_the_host_the_real_one() {
    for (format, streaming) in COMBOS {
        let tool = Tool::new(
            "get_user_location",
            "where",
            json!({"type": "object"}),
            |_, _| async { Err::<String, ToolError>("GPS unavailable".into()) },
        );
        let h = Harness::new(format, streaming, SessionConfig::default().with_tool(tool)).await;
        h.mock
            .push(MockReply::tool_calls(&[(
                "call_1",
                "get_user_location",
                "{}",
            )]))
            .push(answer("unknown", (1, 1)));
        h.session.send_and_wait("where am I", None).await.unwrap();
        h.check();
        assert_eq!(
            h.tool_result_sent(1, "call_1"),
            "Failed to execute `get_user_location` tool with arguments: {} due to error: Error: Tool execution failed",
            "{}",
            h.label
        );
        let c = &h.completes()[0];
        assert_eq!(c.error.as_ref().unwrap().message, "GPS unavailable");
        assert_eq!(c.error.as_ref().unwrap().code.as_deref(), Some("failure"));
    }
}

#[tokio::test]
async fn a_panicking_handler_counts_as_a_raising_one() {
    for (format, streaming) in COMBOS {
        let tool = Tool::new("boom", "panics", json!({"type": "object"}), |_, _| async {
            if true {
                panic!("kaboom");
            }
            Ok::<String, ToolError>(String::new())
        });
        let h = Harness::new(format, streaming, SessionConfig::default().with_tool(tool)).await;
        h.mock
            .push(MockReply::tool_calls(&[("call_1", "boom", r#"{"a": 1}"#)]))
            .push(answer("survived", (1, 1)));
        let reply = h.session.send_and_wait("go", None).await.unwrap().unwrap();
        h.check();
        assert_eq!(reply.content(), Some("survived"));
        assert_eq!(
            h.tool_result_sent(1, "call_1"),
            r#"Failed to execute `boom` tool with arguments: {"a":1} due to error: Error: Tool execution failed"#
        );
        assert!(
            h.completes()[0]
                .error
                .as_ref()
                .unwrap()
                .message
                .contains("kaboom")
        );
    }
}

#[tokio::test]
async fn unknown_tool_and_invalid_arguments_are_failures_the_model_sees() {
    for (format, streaming) in COMBOS {
        let h = Harness::new(
            format,
            streaming,
            SessionConfig::default()
                .with_tool(echo_tool("alpha"))
                .with_tool(echo_tool("beta")),
        )
        .await;
        h.mock
            .push(MockReply::tool_calls(&[
                ("call_1", "gamma", "{}"),
                ("call_2", "alpha", "{not json"),
            ]))
            .push(answer("recovered", (1, 1)));
        h.session.send_and_wait("go", None).await.unwrap();
        h.check();
        assert_eq!(
            h.tool_result_sent(1, "call_1"),
            "Tool 'gamma' does not exist. Available tools that can be called are alpha, beta.",
            "{}",
            h.label
        );
        let invalid = h.tool_result_sent(1, "call_2");
        if format != WireFormat::AnthropicMessages {
            assert!(
                invalid.starts_with("Invalid JSON arguments for tool `alpha`"),
                "{invalid}"
            );
        }
        let codes: Vec<_> = h
            .completes()
            .iter()
            .map(|c| c.error.as_ref().and_then(|e| e.code.clone()))
            .collect();
        // Anthropic's tool input is a JSON object: invalid JSON cannot reach it (the call runs).
        let second = (format != WireFormat::AnthropicMessages).then(|| "failure".to_owned());
        assert_eq!(codes, [Some("failure".into()), second], "{}", h.label);
    }
    // With no tools at all, the short form.
    let h = Harness::new(WireFormat::OpenAiChat, false, SessionConfig::default()).await;
    h.mock
        .push(MockReply::tool_calls(&[("call_1", "ghost", "{}")]))
        .push(answer("ok", (1, 1)));
    h.session.send_and_wait("go", None).await.unwrap();
    assert_eq!(
        h.tool_result_sent(1, "call_1"),
        "Tool 'ghost' does not exist."
    );
    h.check();
}

#[tokio::test]
async fn abort_during_streaming_drops_partial_text_and_keeps_the_session_usable() {
    for format in [
        WireFormat::OpenAiChat,
        WireFormat::OpenAiResponses,
        WireFormat::AnthropicMessages,
    ] {
        let h = Harness::new(format, true, SessionConfig::default()).await;
        h.mock.push(
            answer("This answer will be cut off long before the end.", (5, 5)).stall_after(6),
        );
        let mut events = h.session.events();
        h.session.send("Tell me a story").await.unwrap();
        while let Some(Ok(e)) = events.next().await {
            if e.kind() == "assistant.message_delta" {
                break;
            }
        }
        h.session.abort().await;
        let kinds = h.kinds();
        // Anthropic reports the input tokens at message_start: the abort still reports them.
        let expected: &[&str] = if format == WireFormat::AnthropicMessages {
            &[
                "abort",
                "assistant.usage",
                "assistant.turn_end",
                "session.idle",
            ]
        } else {
            &["abort", "assistant.turn_end", "session.idle"]
        };
        assert!(kinds.ends_with(expected), "{format:?}: {kinds:?}");
        if format == WireFormat::AnthropicMessages {
            let usage = h.of(|d| match d {
                EventData::Usage(u) => Some(u.input_tokens),
                _ => None,
            });
            assert_eq!(usage, [5], "the partial usage of the aborted call");
        }
        assert!(!kinds.contains(&"assistant.message"));
        assert_eq!(h.session.history(), vec![Message::user("Tell me a story")]);
        // Usable afterwards, with a valid history on the wire.
        h.mock.push(answer("Short story.", (1, 1)));
        let reply = h
            .session
            .send_and_wait("Just a short one", None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reply.content(), Some("Short story."));
        h.check();
        let body = &h.mock.requests()[1].body;
        let text = body.to_string();
        assert!(
            text.contains("Tell me a story") && text.contains("Just a short one"),
            "{text}"
        );
        assert!(
            !text.contains("cut off"),
            "partial text must not be sent back: {text}"
        );
    }
}

#[tokio::test]
async fn abort_while_waiting_for_a_non_streaming_answer() {
    let h = Harness::new(WireFormat::OpenAiChat, false, SessionConfig::default()).await;
    h.mock
        .push(answer("late", (1, 1)).delayed(Duration::from_secs(30)));
    let waiter = {
        let s = h.session.clone();
        tokio::spawn(async move { s.send_and_wait("slow", None).await })
    };
    while h.mock.request_count() == 0 {
        tokio::task::yield_now().await;
    }
    h.session.abort().await;
    let err = waiter.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    h.check();
    assert_eq!(h.session.history(), vec![Message::user("slow")]);
}

#[tokio::test]
async fn a_send_cancel_aborts_its_own_send_running_or_queued_and_nothing_else() {
    let h = Harness::new(WireFormat::OpenAiChat, false, SessionConfig::default()).await;
    // Running: cancelling its handle aborts it like abort() would.
    h.mock
        .push(answer("late", (1, 1)).delayed(Duration::from_secs(30)));
    let cancel = crate::SendCancel::new();
    let waiter = {
        let s = h.session.clone();
        let options = SendOptions::from("slow").with_cancel(&cancel);
        tokio::spawn(async move { s.send_and_wait(options, None).await })
    };
    while h.mock.request_count() == 0 {
        tokio::task::yield_now().await;
    }
    cancel.cancel();
    let err = waiter.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    // Queued behind a running send: cancelling it leaves the running send alone; the queued one
    // starts and ends aborted at once, without a model call.
    h.mock
        .push(answer("the whole answer", (1, 1)).delayed(Duration::from_millis(300)));
    let running = {
        let s = h.session.clone();
        tokio::spawn(async move { s.send_and_wait("first", None).await })
    };
    while h.mock.request_count() < 2 {
        tokio::task::yield_now().await;
    }
    let queued_cancel = crate::SendCancel::new();
    let queued = {
        let s = h.session.clone();
        let options = SendOptions::from("second").with_cancel(&queued_cancel);
        tokio::spawn(async move { s.send_and_wait(options, None).await })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    queued_cancel.cancel();
    // Its waiter hears at once, before the running send has ended.
    let err = queued.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert!(!running.is_finished(), "the running send goes on");
    let first = running.await.unwrap().unwrap().expect("an answer");
    assert_eq!(first.content(), Some("the whole answer"));
    // Then the queued send starts and ends aborted; `ended` tells when.
    tokio::time::timeout(Duration::from_secs(5), queued_cancel.ended())
        .await
        .expect("the cancelled send ends");
    assert_eq!(
        h.mock.request_count(),
        2,
        "the cancelled queued send called no model"
    );
    assert_eq!(
        h.kinds().iter().filter(|k| **k == "abort").count(),
        2,
        "{:?}",
        h.kinds()
    );
    // A handle cancelled after its send ended does nothing to the next send.
    h.mock.push(answer("fine", (1, 1)));
    let after = h.session.send_and_wait("third", None).await.unwrap();
    assert_eq!(
        after
            .and_then(|e| e.content().map(str::to_owned))
            .as_deref(),
        Some("fine")
    );
    h.check();
}

#[tokio::test]
async fn abort_during_a_slow_tool_interrupts_pending_calls() {
    for (format, streaming) in COMBOS {
        let runs = Arc::new(AtomicUsize::new(0));
        let h = Harness::new(
            format,
            streaming,
            SessionConfig::default().with_tool(sleepy_tool(runs.clone())),
        )
        .await;
        h.mock.push(MockReply::tool_calls(&[
            ("call_fast", "sleepy", r#"{"id":"fast","ms":1}"#),
            ("call_slow", "sleepy", r#"{"id":"slow","ms":60000}"#),
        ]));
        let mut events = h.session.events();
        h.session.send("run both").await.unwrap();
        let mut completed = 0;
        while let Some(Ok(e)) = events.next().await {
            if e.kind() == "tool.execution_complete" {
                completed += 1;
                if completed == 1 {
                    break;
                }
            }
        }
        h.session.abort().await;
        h.check();
        let kinds = h.kinds();
        assert!(kinds.contains(&"abort"), "{kinds:?}");
        let c = h.completes();
        assert_eq!(c.len(), 2);
        assert_eq!(c[1].tool_call_id, "call_slow");
        assert_eq!(
            c[1].error.as_ref().unwrap().code.as_deref(),
            Some("interrupted")
        );
        // History: user, assistant with both calls, both results.
        let history = h.session.history();
        assert_eq!(history.len(), 4, "{}: {history:?}", h.label);
        h.mock.push(answer("ok", (1, 1)));
        h.session
            .send_and_wait("what happened?", None)
            .await
            .unwrap();
        assert_eq!(h.tool_result_sent(1, "call_fast"), "done \"fast\"");
        assert_eq!(
            h.tool_result_sent(1, "call_slow"),
            "The execution of this tool, or a previous tool was interrupted.",
            "{}",
            h.label
        );
        h.check();
    }
}

#[tokio::test]
async fn queued_sends_run_in_order_after_idle() {
    for (format, streaming) in COMBOS {
        let h = Harness::new(format, streaming, SessionConfig::default()).await;
        h.mock
            .push(answer("first answer", (1, 1)).delayed(Duration::from_millis(50)))
            .push(answer("second answer", (1, 1)));
        let id1 = h.session.send("one").await.unwrap();
        let reply = h.session.send_and_wait("two", None).await.unwrap().unwrap();
        assert_eq!(reply.content(), Some("second answer"), "{}", h.label);
        h.check();
        let events = h.events();
        let users: Vec<&Event> = events
            .iter()
            .filter(|e| e.kind() == "user.message")
            .collect();
        assert_eq!(users[0].id, id1);
        let first_idle = events
            .iter()
            .position(|e| e.kind() == "session.idle")
            .unwrap();
        let second_user = events.iter().position(|e| e.id == users[1].id).unwrap();
        assert!(first_idle < second_user);
        // The second request carries the whole first exchange.
        assert!(
            h.mock.requests()[1]
                .body
                .to_string()
                .contains("first answer")
        );
    }
}

#[tokio::test(start_paused = true)]
async fn send_and_wait_timeout_leaves_the_turn_running() {
    let h = Harness::new(WireFormat::OpenAiChat, true, SessionConfig::default()).await;
    h.mock
        .push(answer("eventually", (1, 1)).delayed(Duration::from_secs(5)));
    let mut events = h.session.events();
    let err = h
        .session
        .send_and_wait("wait", Some(Duration::from_secs(1)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.timeout_kind(), Some(TimeoutKind::SendAndWait));
    let mut saw_message = false;
    while let Some(Ok(e)) = events.next().await {
        saw_message |= e.content() == Some("eventually");
        if e.kind() == "session.idle" {
            break;
        }
    }
    assert!(saw_message, "the turn completed after the timeout");
    h.check();
}

/// The wire history after a tool turn and a second send, against hand-written bodies.
#[tokio::test]
async fn multi_turn_history_on_the_wire() {
    for (format, file) in [
        (WireFormat::OpenAiChat, "chat_third_request_messages.json"),
        (
            WireFormat::OpenAiResponses,
            "responses_third_request_input.json",
        ),
        (
            WireFormat::AnthropicMessages,
            "anthropic_third_request_messages.json",
        ),
    ] {
        for streaming in [false, true] {
            let config = SessionConfig::default()
                .with_tool(echo_tool("get_weather"))
                .with_system_message("Be brief.");
            let h = Harness::new(format, streaming, config).await;
            h.mock
                .push(MockReply::Answer(Answer {
                    text: "Checking.".into(),
                    tool_calls: vec![ToolCall {
                        id: "call_1".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"input":"Paris"}"#.into(),
                    }],
                    ..Default::default()
                }))
                .push(answer("It is sunny.", (1, 1)))
                .push(answer("Rain.", (1, 1)));
            h.session
                .send_and_wait("Weather in Paris?", None)
                .await
                .unwrap();
            h.session
                .send_and_wait("And tomorrow?", None)
                .await
                .unwrap();
            h.check();
            let body = &h.mock.requests()[2].body;
            let key = if format == WireFormat::OpenAiResponses {
                "input"
            } else {
                "messages"
            };
            let expected: Value = serde_json::from_slice(
                &std::fs::read(own_fixtures().join("engine").join(file)).unwrap(),
            )
            .unwrap();
            assert_eq!(body[key], expected, "{}", h.label);
            match format {
                WireFormat::OpenAiResponses => assert_eq!(body["instructions"], "Be brief."),
                WireFormat::AnthropicMessages => assert_eq!(body["system"], "Be brief."),
                WireFormat::OpenAiChat => {}
            }
        }
    }
}

#[tokio::test]
async fn max_iterations_guard_ends_with_a_limit_error() {
    let mock = MockTransport::with_handler(|_| {
        Some(MockReply::tool_calls(&[(
            "call_x",
            "lookup",
            r#"{"input":"again"}"#,
        )]))
    });
    let h = Harness::with_mock(
        WireFormat::OpenAiChat,
        false,
        SessionConfig::default().with_tool(echo_tool("lookup")),
        mock,
    )
    .await;
    let err = h.session.send_and_wait("loop", None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Limit);
    assert_eq!(err.error_type(), "limit");
    assert_eq!(h.mock.request_count(), 100);
    h.check();
    let errors = h.of(|d| match d {
        EventData::SessionError(e) => Some(e.error_type.clone()),
        _ => None,
    });
    assert_eq!(errors, ["limit"]);
}

#[tokio::test]
async fn a_failed_send_reports_the_error_and_the_session_stays_usable() {
    for (format, streaming) in COMBOS {
        let h = Harness::new(format, streaming, SessionConfig::default()).await;
        h.mock
            .push(MockReply::error(
                400,
                json!({"error": {"message": "Invalid value for 'model'", "type": "invalid_request_error"}}),
            ))
            .push(answer("fine now", (1, 1)));
        let err = h.session.send_and_wait("first", None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidRequest, "{}", h.label);
        assert_eq!(err.status(), Some(400));
        let reply = h
            .session
            .send_and_wait("second", None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reply.content(), Some("fine now"));
        h.check();
        let kinds = h.kinds();
        let idle = kinds.iter().position(|k| *k == "session.idle").unwrap();
        assert_eq!(kinds[idle - 1], "session.error");
        assert_eq!(
            h.session.history(),
            vec![
                Message::user("first"),
                Message::user("second"),
                Message::Assistant {
                    text: "fine now".into(),
                    tool_calls: vec![],
                    reasoning: vec![]
                }
            ]
        );
    }
}

#[tokio::test]
async fn streamed_reasoning_comes_before_the_message() {
    for format in [
        WireFormat::OpenAiChat,
        WireFormat::OpenAiResponses,
        WireFormat::AnthropicMessages,
    ] {
        for streaming in [false, true] {
            let h = Harness::new(format, streaming, SessionConfig::default()).await;
            h.mock.push(MockReply::Answer(Answer {
                text: "4".into(),
                reasoning: Some("Two and two make four.".into()),
                ..Default::default()
            }));
            let reply = h
                .session
                .send_and_wait("2+2?", None)
                .await
                .unwrap()
                .unwrap();
            h.check();
            let EventData::AssistantMessage(m) = &reply.data else {
                unreachable!()
            };
            assert_eq!(m.reasoning_text.as_deref(), Some("Two and two make four."));
            let reasoning = h.of(|d| match d {
                EventData::Reasoning(r) => Some(r.content.clone()),
                _ => None,
            });
            assert_eq!(
                reasoning,
                ["Two and two make four."],
                "{format:?} {streaming}"
            );
        }
    }
}

#[tokio::test]
async fn a_lagging_events_stream_loses_only_deltas() {
    let h = Harness::new(WireFormat::OpenAiChat, true, SessionConfig::default()).await;
    let long = "word ".repeat(200);
    h.mock.push(answer(&long, (1, 1)));
    let mut events = h.session.events_with_buffer(3);
    h.session.send_and_wait("talk", None).await.unwrap();
    let mut lagged = 0;
    let mut kinds = Vec::new();
    while let Some(item) = events.next().await {
        match item {
            Ok(e) => {
                kinds.push(e.kind());
                if e.kind() == "session.idle" {
                    break;
                }
            }
            Err(l) => lagged += l.skipped,
        }
    }
    assert!(lagged > 0);
    for k in [
        "user.message",
        "assistant.turn_start",
        "assistant.message_start",
        "assistant.message",
        "assistant.usage",
        "assistant.turn_end",
        "session.idle",
    ] {
        assert!(kinds.contains(&k), "{k} missing: {kinds:?}");
    }
    // The on_all handler saw everything.
    h.check();
}

#[tokio::test]
async fn handler_panics_are_caught_and_unsubscribe_works() {
    let h = Harness::new(WireFormat::OpenAiChat, false, SessionConfig::default()).await;
    h.session.on("assistant.message", |_| panic!("handler bug"));
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let sub = h.session.on("assistant.message", move |_| {
        c.fetch_add(1, Ordering::SeqCst);
    });
    h.mock
        .push(answer("one", (1, 1)))
        .push(answer("two", (1, 1)));
    h.session.send_and_wait("a", None).await.unwrap();
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "handlers ran before send_and_wait returned"
    );
    sub.unsubscribe();
    h.session.send_and_wait("b", None).await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 1);
    h.check();
}

#[tokio::test]
async fn available_and_excluded_tools_filter_what_the_model_sees() {
    let config = SessionConfig {
        available_tools: Some(vec!["allowed_tool".into(), "excluded_tool".into()]),
        excluded_tools: Some(vec!["excluded_tool".into()]),
        ..SessionConfig::default()
    }
    .with_tools([
        echo_tool("allowed_tool"),
        echo_tool("excluded_tool"),
        echo_tool("other"),
    ]);
    let h = Harness::new(WireFormat::OpenAiChat, false, config).await;
    h.mock
        .push(MockReply::tool_calls(&[("call_1", "excluded_tool", "{}")]))
        .push(answer("ok", (1, 1)));
    h.session.send_and_wait("go", None).await.unwrap();
    let tools: Vec<String> = h.mock.requests()[0].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(tools, ["allowed_tool"]);
    assert_eq!(
        h.tool_result_sent(1, "call_1"),
        "Tool 'excluded_tool' does not exist. Available tools that can be called are allowed_tool."
    );
    h.check();
}

#[tokio::test]
async fn system_message_modes_tool_choice_and_parallel_reach_the_adapter() {
    for mode in ["append", "replace"] {
        let config = SessionConfig::from_json(&format!(
            r#"{{"systemMessage": {{"mode": "{mode}", "content": "Only French."}},
                "toolChoice": "required", "parallelToolCalls": false}}"#
        ))
        .unwrap()
        .with_tool(echo_tool("t"));
        let h = Harness::new(WireFormat::OpenAiChat, false, config).await;
        h.mock.push(answer("Oui.", (1, 1)));
        h.session.send_and_wait("Hello", None).await.unwrap();
        let body = &h.mock.requests()[0].body;
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "Only French."})
        );
        assert_eq!(body["tool_choice"], "required");
        assert_eq!(body["parallel_tool_calls"], false);
        h.check();
    }
    // No system message: none is sent.
    let h = Harness::new(WireFormat::OpenAiChat, false, SessionConfig::default()).await;
    h.mock.push(answer("Hi.", (1, 1)));
    h.session.send_and_wait("Hello", None).await.unwrap();
    assert_eq!(h.mock.requests()[0].body["messages"][0]["role"], "user");
    h.check();
}

/// No order check: every send here is refused before it starts, so the session's only event is
/// `session.start` (asserted instead).
#[tokio::test]
async fn create_session_errors_name_the_problem() {
    let mock = MockTransport::new();
    let client = Client::new(memory().with_transport(Arc::new(mock))).unwrap();
    let err = client
        .create_session(SessionConfig {
            provider: Some(provider(WireFormat::OpenAiChat)),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.message().starts_with("Model not specified"), "{err}");
    let err = client
        .create_session(SessionConfig::default().with_model("m"))
        .await
        .unwrap_err();
    assert!(err.message().contains("no provider"), "{err}");
    let err = client
        .create_session(
            SessionConfig::new("m", provider(WireFormat::OpenAiChat))
                .with_tool(echo_tool("dup"))
                .with_tool(echo_tool("dup")),
        )
        .await
        .unwrap_err();
    assert!(
        err.message().contains("two tools are named \"dup\""),
        "{err}"
    );
    let session = client
        .create_session(SessionConfig::new("m", provider(WireFormat::OpenAiChat)))
        .await
        .unwrap();
    let err = session.send("   ").await.unwrap_err();
    assert!(err.message().contains("prompt is empty"), "{err}");
    let err = session
        .send(crate::SendOptions::from("hi").with_header("bad header", "x"))
        .await
        .unwrap_err();
    assert!(err.message().contains("not a valid header name"), "{err}");
    let kinds: Vec<&str> = session.get_events().iter().map(Event::kind).collect();
    assert_eq!(kinds, ["session.start"], "a refused send emits nothing");
}

#[tokio::test]
async fn per_message_headers_override_provider_headers() {
    let mock = MockTransport::new();
    let client = Client::new(memory().with_transport(Arc::new(mock.clone()))).unwrap();
    let provider = ProviderConfig::openai("http://mock.test/v1")
        .with_header("X-Tenant", "default")
        .with_header("X-Keep", "kept");
    let session = client
        .create_session(SessionConfig::new("m", provider))
        .await
        .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    session.on_all(move |e| sink.lock().unwrap().push(e.clone()));
    mock.push(answer("ok", (1, 1)));
    session
        .send_and_wait(
            crate::SendOptions::from("hi").with_header("X-Tenant", "t-42"),
            None,
        )
        .await
        .unwrap();
    let h = &mock.requests()[0].headers;
    assert_eq!(h["x-tenant"], "t-42");
    assert_eq!(h["x-keep"], "kept");
    check_event_order(&events.lock().unwrap(), false).unwrap();
}

#[tokio::test]
async fn disconnect_ends_streams_and_resume_continues_the_history() {
    let h = Harness::new(WireFormat::OpenAiChat, false, SessionConfig::default()).await;
    h.mock
        .push(answer("first", (1, 1)))
        .push(answer("second", (1, 1)));
    h.session.send_and_wait("one", None).await.unwrap();
    h.check();
    let mut events = h.session.events();
    h.session.disconnect().await;
    assert!(
        events.next().await.is_none(),
        "the stream ends on disconnect"
    );
    let err = h.session.send("after").await.unwrap_err();
    assert!(err.message().contains("disconnected"), "{err}");
    let resumed = h
        .client
        .resume_session(
            h.session.id(),
            SessionConfig::new("test-model", provider(WireFormat::OpenAiChat)),
        )
        .await
        .unwrap();
    assert_eq!(resumed.id(), h.session.id());
    let live = Arc::new(Mutex::new(Vec::new()));
    let sink = live.clone();
    resumed.on_all(move |e| sink.lock().unwrap().push(e.clone()));
    resumed.send_and_wait("two", None).await.unwrap();
    assert_eq!(resumed.history().len(), 4);
    assert!(h.mock.requests()[1].body.to_string().contains("first"));
    check_event_order(&live.lock().unwrap(), false).unwrap();
    // get_events() keeps no ephemeral event (usage, idle), so the order checker, which needs them,
    // does not apply: the kinds of both sends are checked instead.
    let kinds: Vec<&str> = resumed.get_events().iter().map(Event::kind).collect();
    let send = [
        "user.message",
        "assistant.turn_start",
        "assistant.message",
        "assistant.turn_end",
    ];
    // A resume is recorded between the sends (the Copilot SDK's session.resume).
    assert_eq!(
        kinds,
        [&["session.start"][..], &send, &["session.resume"], &send].concat()
    );
    let errs = h.client.stop().await;
    assert!(errs.is_empty());
    let err = h
        .client
        .create_session(SessionConfig::new("m", provider(WireFormat::OpenAiChat)))
        .await
        .unwrap_err();
    assert!(err.message().contains("stopped"), "{err}");
}

#[tokio::test]
async fn stop_aborts_running_sends() {
    let h = Harness::new(WireFormat::OpenAiChat, true, SessionConfig::default()).await;
    h.mock.push(answer("never finishes", (1, 1)).stall_after(2));
    let waiter = {
        let s = h.session.clone();
        tokio::spawn(async move { s.send_and_wait("hang", None).await })
    };
    while h.mock.request_count() == 0 {
        tokio::task::yield_now().await;
    }
    h.client.stop().await;
    let err = waiter.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    h.check();
}

#[tokio::test]
async fn set_model_changes_the_wire_model() {
    let h = Harness::new(WireFormat::OpenAiChat, false, SessionConfig::default()).await;
    h.mock.push(answer("a", (1, 1))).push(answer("b", (1, 1)));
    h.session.send_and_wait("one", None).await.unwrap();
    h.session.set_model("other-model").await.unwrap();
    let reply = h.session.send_and_wait("two", None).await.unwrap().unwrap();
    let EventData::AssistantMessage(m) = &reply.data else {
        unreachable!()
    };
    assert_eq!(m.model, "other-model");
    assert_eq!(h.mock.requests()[1].body["model"], "other-model");
    assert!(
        h.session
            .set_model(" ")
            .await
            .unwrap_err()
            .message()
            .starts_with("Model not specified")
    );
    h.check();
}

#[tokio::test]
async fn finish_reason_length_and_images_reach_the_wire() {
    let h = Harness::new(
        WireFormat::AnthropicMessages,
        false,
        SessionConfig::default(),
    )
    .await;
    h.mock.push(MockReply::Answer(Answer {
        text: "cut".into(),
        finish: Some(FinishReason::Length),
        ..Default::default()
    }));
    h.session
        .send_and_wait(
            crate::SendOptions::from("what is this?").with_image("image/png", "iVBORw0KGgo="),
            None,
        )
        .await
        .unwrap();
    let usage = h.of(|d| match d {
        EventData::Usage(u) => u.finish_reason.clone(),
        _ => None,
    });
    assert_eq!(usage, ["length"]);
    assert_eq!(
        h.mock.requests()[0].body["messages"][0]["content"][1],
        json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}})
    );
    h.check();
}

/// No order check: a measurement of many sessions, with no handler (which would add to the cost).
#[tokio::test(flavor = "current_thread")]
#[ignore = "a measurement, run by hand: cargo test --release -p modelport turn_cost -- --ignored --nocapture"]
async fn turn_cost() {
    let mock = MockTransport::with_handler(|_| Some(answer("2 + 2 = 4.", (1, 1))));
    let client = Client::new(memory().with_transport(Arc::new(mock))).unwrap();
    let n: u32 = std::env::var("TURNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let mut create = std::time::Duration::ZERO;
    let mut turns = std::time::Duration::ZERO;
    for _ in 0..n {
        let t = std::time::Instant::now();
        let s = client
            .create_session(SessionConfig::new("m", provider(WireFormat::OpenAiChat)))
            .await
            .unwrap();
        create += t.elapsed();
        let t = std::time::Instant::now();
        s.send_and_wait("What is 2+2?", None).await.unwrap();
        turns += t.elapsed();
    }
    eprintln!(
        "per session create {:?}, per turn {:?}",
        create / n,
        turns / n
    );
}

/// No order check: parsing only, no session.
#[test]
fn send_options_from_json_names_the_bad_field_and_takes_snake_case() {
    let o = crate::SendOptions::from_json(
        r#"{"prompt": "look", "attachments": [{"type": "blob", "data": "AAAA", "mime_type": "image/png"}],
            "request_headers": {"x-a": "1"}}"#,
    )
    .unwrap();
    assert_eq!(o.attachments.len(), 1);
    assert_eq!(o.request_headers.get("x-a"), Some("1"));
    let e = crate::SendOptions::from_json(
        r#"{"prompt": "x", "attachments": [{"type": "file", "path": "/a"}]}"#,
    )
    .unwrap_err();
    assert!(
        e.message().contains("`attachments[0].type`") && e.message().contains("blob"),
        "{e}"
    );
}

/// Options with the memory store: unit tests never write files.
fn memory() -> ClientOptions {
    ClientOptions::default().with_session_store("memory")
}

#[tokio::test]
async fn model_controls_follow_send_over_session_over_provider() {
    let mock = MockTransport::new();
    for _ in 0..3 {
        mock.push(answer("ok", (1, 1)));
    }
    let client = Client::new(memory().with_transport(Arc::new(mock.clone()))).unwrap();
    let provider = provider(WireFormat::OpenAiChat).with_max_output_tokens(50);
    let config: SessionConfig = SessionConfig::from_json(
        r#"{"temperature": 0.2, "maxOutputTokens": 100, "extraBody": {"user": "s", "service_tier": "flex"}}"#,
    )
    .unwrap();
    let session = client
        .create_session(SessionConfig {
            model: Some("m".into()),
            provider: Some(provider),
            ..config
        })
        .await
        .unwrap();
    session.send_and_wait("one", None).await.unwrap();
    let send = SendOptions::from_json(
        r#"{"prompt": "two", "temperature": 0.7, "maxOutputTokens": 10, "seed": 7,
            "extraBody": {"user": "x"}}"#,
    )
    .unwrap();
    session.send_and_wait(send, None).await.unwrap();
    let bodies: Vec<Value> = mock.requests().iter().map(|r| r.body.clone()).collect();
    assert_eq!(bodies[0]["temperature"], 0.2);
    assert_eq!(bodies[0]["max_completion_tokens"], 100);
    assert_eq!(bodies[0]["user"], "s");
    assert!(bodies[0].get("seed").is_none());
    assert_eq!(bodies[1]["temperature"], 0.7);
    assert_eq!(bodies[1]["max_completion_tokens"], 10);
    assert_eq!(bodies[1]["seed"], 7);
    assert_eq!(bodies[1]["user"], "x", "the send's extraBody key wins");
    assert_eq!(
        bodies[1]["service_tier"], "flex",
        "the session's other keys stay"
    );

    // set_model with an effort: the event, then the next request.
    session
        .set_model_with("m2", Some(ReasoningEffort::High))
        .await
        .unwrap();
    session.send_and_wait("three", None).await.unwrap();
    let last = &mock.requests()[2].body;
    assert_eq!(last["model"], "m2");
    assert_eq!(last["reasoning_effort"], "high");
    let change = session
        .get_events()
        .into_iter()
        .find_map(|e| match &e.data {
            EventData::ModelChange(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        (change.previous_model.as_str(), change.new_model.as_str()),
        ("m", "m2")
    );
}

#[tokio::test]
async fn a_control_the_wire_format_lacks_is_a_config_error_naming_it() {
    let mock = MockTransport::new();
    mock.push(answer("ok", (1, 1)));
    let client = Client::new(memory().with_transport(Arc::new(mock.clone()))).unwrap();
    let responses = provider(WireFormat::OpenAiResponses);
    let e = client
        .create_session(SessionConfig {
            seed: Some(1),
            ..SessionConfig::new("m", responses.clone())
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.message().contains("seed") && e.message().contains("Responses API"),
        "{e}"
    );
    let e = client
        .create_session(SessionConfig {
            extra_body: serde_json::from_value(json!({"stream": false})).unwrap(),
            ..SessionConfig::new("m", responses.clone())
        })
        .await
        .unwrap_err();
    assert!(e.message().contains("extraBody.stream"), "{e}");

    let session = client
        .create_session(SessionConfig::new("m", responses))
        .await
        .unwrap();
    let e = session
        .send(SendOptions {
            stop: Some(vec!["END".into()]),
            ..SendOptions::from("hi")
        })
        .await
        .unwrap_err();
    assert!(
        e.message()
            .starts_with("stop is not supported by the Responses API"),
        "{e}"
    );
    assert_eq!(mock.request_count(), 0, "nothing was sent");
    session.send_and_wait("hi", None).await.unwrap();
}

#[tokio::test]
async fn max_turns_limits_the_model_calls_of_a_send() {
    let mock = MockTransport::new();
    for i in 0..3 {
        mock.push(MockReply::tool_calls(&[(
            &format!("c{i}"),
            "echo",
            r#"{"input": "x"}"#,
        )]));
    }
    let client = Client::new(memory().with_transport(Arc::new(mock.clone()))).unwrap();
    let session = client
        .create_session(SessionConfig {
            max_turns: Some(2),
            ..SessionConfig::new("m", provider(WireFormat::OpenAiChat)).with_tool(echo_tool("echo"))
        })
        .await
        .unwrap();
    let e = session.send_and_wait("loop", None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Limit);
    assert!(
        e.message().contains("2 model calls") && e.message().contains("maxTurns"),
        "{e}"
    );
    assert_eq!(mock.request_count(), 2);
}

#[tokio::test]
async fn sessions_with_an_equal_provider_share_one_resolved_endpoint_and_never_each_others_key() {
    let mock = MockTransport::new();
    for _ in 0..4 {
        mock.push(MockReply::text("ok"));
    }
    let client = Client::new(
        memory()
            .with_transport(Arc::new(mock.clone()))
            .with_provider(ProviderConfig::openai("http://mock.test/v1").with_api_key("sk-own")),
    )
    .unwrap();
    let with_key =
        |key: &str| ProviderConfig::openai("http://mock.test/v1").with_api_key(key.to_owned());
    let configs = [
        SessionConfig::new("m", with_key("sk-a")),
        SessionConfig::new("m", with_key("sk-a")),
        SessionConfig::new("m", with_key("sk-b")),
        SessionConfig {
            model: Some("m".into()),
            ..SessionConfig::default()
        },
    ];
    for config in configs {
        let session = client.create_session(config).await.unwrap();
        session.send_and_wait("hi", None).await.unwrap();
    }
    // The equal configs resolved once: sk-a, sk-b and the client's own provider.
    assert_eq!(crate::util::lock(&client.shared.endpoints).len(), 3);
    let keys: Vec<String> = mock
        .requests()
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        keys,
        ["Bearer sk-a", "Bearer sk-a", "Bearer sk-b", "Bearer sk-own"]
    );
}

#[tokio::test]
async fn the_endpoint_cache_keeps_the_newest_32_and_sessions_beyond_it_still_work() {
    let mock = MockTransport::new();
    mock.push(MockReply::text("ok"));
    let client = Client::new(memory().with_transport(Arc::new(mock.clone()))).unwrap();
    let with_key =
        |i: usize| ProviderConfig::openai("http://mock.test/v1").with_api_key(format!("sk-{i}"));
    for i in 0..40 {
        client
            .create_session(SessionConfig::new("m", with_key(i)))
            .await
            .unwrap();
    }
    {
        let cache = crate::util::lock(&client.shared.endpoints);
        assert_eq!(cache.len(), 32);
        // The oldest went first: keys 8 to 39 are kept.
        let kept = |i| cache.iter().any(|c| c.provider == Some(with_key(i)));
        assert!((0..8).all(|i| !kept(i)) && (8..40).all(kept));
    }
    // The first key was pushed out; a session with it resolves its endpoint again and sends with it.
    let session = client
        .create_session(SessionConfig::new("m", with_key(0)))
        .await
        .unwrap();
    session.send_and_wait("hi", None).await.unwrap();
    assert_eq!(
        mock.requests()[0].headers["authorization"]
            .to_str()
            .unwrap(),
        "Bearer sk-0"
    );
    assert_eq!(crate::util::lock(&client.shared.endpoints).len(), 32);
}
