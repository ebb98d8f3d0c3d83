//! Infinite sessions through the engine, on every wire format: a scripted provider that counts a
//! prompt as its JSON body's bytes / 4 (not modelport's estimate), calls a tool on every user
//! message, and answers the summary call.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::compaction::{InfiniteSessions, SUMMARY_MARKER, SUMMARY_PROMPT, split_point_for_tests};
use crate::error::ErrorKind;
use crate::session::events::EventData;
use crate::session::tools::{Tool, ToolError};
use crate::testing::{MockReply, MockTransport, Recorded, check_event_order};
use crate::wire::WireFormat;
use crate::wire::encode::Answer;
use crate::{
    Client, ClientOptions, Event, Message, ProviderConfig, RetryPolicy, Session, SessionConfig,
    Usage, WireApi,
};

const FORMATS: [(WireFormat, bool); 4] = [
    (WireFormat::OpenAiChat, false),
    (WireFormat::OpenAiResponses, true),
    (WireFormat::AnthropicMessages, false),
    (WireFormat::AnthropicMessages, true),
];

fn provider(format: WireFormat, window: Option<u64>) -> ProviderConfig {
    let mut p = match format {
        WireFormat::OpenAiChat => ProviderConfig::openai("http://mock.test/v1"),
        WireFormat::OpenAiResponses => {
            ProviderConfig::openai("http://mock.test/v1").with_wire_api(WireApi::Responses)
        }
        WireFormat::AnthropicMessages => ProviderConfig::anthropic("http://mock.test"),
    }
    .with_api_key("k");
    p.max_prompt_tokens = window;
    p.retry = Some(RetryPolicy {
        max_retries: 0,
        ..Default::default()
    });
    p
}

/// The provider's count of a prompt.
fn tokens(r: &Recorded) -> u64 {
    (r.body.to_string().len() as u64).div_ceil(4)
}

fn is_summary(r: &Recorded) -> bool {
    r.body.to_string().contains(&SUMMARY_PROMPT[..40])
}

/// Whether the request's last item is a tool result.
fn ends_with_tool_result(body: &Value) -> bool {
    if let Some(input) = body["input"].as_array() {
        return input
            .last()
            .is_some_and(|i| i["type"] == "function_call_output");
    }
    let last = body["messages"].as_array().and_then(|m| m.last()).cloned();
    let last = last.unwrap_or_default();
    last["role"] == "tool"
        || last["content"]
            .as_array()
            .is_some_and(|blocks| blocks.iter().any(|b| b["type"] == "tool_result"))
}

/// Tool calls and tool results of a request, by id: every result must follow its call.
fn check_pairs(body: &Value) -> Result<(), String> {
    let mut calls = std::collections::HashSet::new();
    let mut results = Vec::new();
    let items = body["input"]
        .as_array()
        .or(body["messages"].as_array())
        .cloned()
        .unwrap_or_default();
    for item in &items {
        for c in item["tool_calls"].as_array().into_iter().flatten() {
            calls.insert(c["id"].as_str().unwrap_or_default().to_owned());
        }
        if item["type"] == "function_call" {
            calls.insert(item["call_id"].as_str().unwrap_or_default().to_owned());
        }
        if let Some(id) = item["tool_call_id"].as_str() {
            results.push(id.to_owned());
        }
        if item["type"] == "function_call_output" {
            results.push(item["call_id"].as_str().unwrap_or_default().to_owned());
        }
        for b in item["content"].as_array().into_iter().flatten() {
            if b["type"] == "tool_use" {
                calls.insert(b["id"].as_str().unwrap_or_default().to_owned());
            }
            if b["type"] == "tool_result" {
                results.push(b["tool_use_id"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    for r in &results {
        if !calls.contains(r) {
            return Err(format!("tool result {r} without its call"));
        }
    }
    if results.len() != calls.len() {
        return Err(format!("{} calls, {} results", calls.len(), results.len()));
    }
    Ok(())
}

struct Provider {
    /// The provider's window: longer prompts get its context-length error.
    window: Option<u64>,
    /// The summary call fails.
    summary_fails: bool,
}

/// The scripted provider: the summary call gets a summary; a user message gets a tool call; a tool
/// result gets the final answer. Usage is the provider's count.
fn transport(p: Provider) -> MockTransport {
    let seq = std::sync::atomic::AtomicUsize::new(0);
    MockTransport::with_handler(move |r| {
        let n = seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let usage = Usage {
            input_tokens: tokens(r),
            output_tokens: 30,
            ..Default::default()
        };
        let anthropic = r.url.ends_with("/messages");
        if let Some(w) = p.window
            && tokens(r) > w
        {
            let body = if anthropic {
                json!({"type": "error", "error": {"type": "invalid_request_error",
                    "message": format!("prompt is too long: {} tokens > {w} maximum", tokens(r))}})
            } else {
                json!({"error": {"message": format!("This model's maximum context length is {w} \
                    tokens. However, your messages resulted in {} tokens.", tokens(r)),
                    "type": "invalid_request_error", "param": "messages",
                    "code": "context_length_exceeded"}})
            };
            return Some(MockReply::error(400, body));
        }
        if is_summary(r) {
            if p.summary_fails {
                return Some(MockReply::error(
                    500,
                    json!({"error": {"message": "overloaded", "type": "server_error"}}),
                ));
            }
            return Some(MockReply::Answer(Answer {
                text: "The user sent numbered notes; the tool echoed each one.".into(),
                usage,
                ..Default::default()
            }));
        }
        let mut answer = if ends_with_tool_result(&r.body) {
            Answer::text(format!(
                "Done with that note. {}",
                "Filler words. ".repeat(10)
            ))
        } else {
            Answer::tools(vec![crate::types::ToolCall {
                id: format!("call_{n}"),
                name: "echo".into(),
                arguments: json!({"input": "x".repeat(300)}).to_string(),
            }])
        };
        answer.usage = usage;
        Some(MockReply::Answer(answer))
    })
}

fn echo() -> Tool {
    Tool::new(
        "echo",
        "echoes its input",
        json!({"type": "object", "properties": {"input": {"type": "string"}}}),
        |args: Value, _| async move {
            Ok::<_, ToolError>(format!("echo: {}", args["input"].as_str().unwrap_or("")))
        },
    )
}

struct Setup {
    client: Client,
    session: Session,
    mock: MockTransport,
    events: Arc<std::sync::Mutex<Vec<Event>>>,
}

async fn setup(
    format: WireFormat,
    streaming: bool,
    window: Option<u64>,
    infinite: InfiniteSessions,
    provider_side: Provider,
) -> Setup {
    let mock = transport(provider_side);
    let client = Client::new(
        ClientOptions::default()
            .with_session_store("memory")
            .with_transport(Arc::new(mock.clone())),
    )
    .unwrap();
    let mut config = SessionConfig::new("m", provider(format, window))
        .with_tool(echo())
        .with_streaming(streaming);
    config.infinite_sessions = infinite;
    let session = client.create_session(config).await.unwrap();
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = events.clone();
    session.on_all(move |e| sink.lock().unwrap().push(e.clone()));
    Setup {
        client,
        session,
        mock,
        events,
    }
}

fn note(i: usize) -> String {
    format!("Note {i}: {}", "remember this detail. ".repeat(18))
}

fn count(events: &[Event], kind: &str) -> usize {
    events.iter().filter(|e| e.kind() == kind).count()
}

/// Waits until no compaction is running (a background one may follow the last send).
async fn settle(s: &Setup) {
    for _ in 0..200 {
        let e = s.events.lock().unwrap().clone();
        if count(&e, "session.compaction_start") == count(&e, "session.compaction_complete") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("a compaction never completed");
}

#[tokio::test]
async fn fifty_sends_in_a_small_window_never_overflow_and_keep_tool_pairs() {
    const WINDOW: u64 = 2_000;
    for (format, streaming) in FORMATS {
        let label = format!("{format:?} streaming={streaming}");
        let s = setup(
            format,
            streaming,
            Some(WINDOW),
            InfiniteSessions::default(),
            Provider {
                window: Some(WINDOW),
                summary_fails: false,
            },
        )
        .await;
        for i in 0..50 {
            s.session
                .send_and_wait(note(i), Some(Duration::from_secs(10)))
                .await
                .unwrap_or_else(|e| panic!("{label}: send {i}: {e}"));
        }
        settle(&s).await;
        let events = s.events.lock().unwrap().clone();
        check_event_order(&events, streaming).unwrap_or_else(|e| panic!("{label}: {e}"));
        let completes: Vec<_> = events
            .iter()
            .filter_map(|e| match &e.data {
                EventData::CompactionComplete(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        assert!(
            completes.len() >= 5,
            "{label}: {} compactions",
            completes.len()
        );
        assert!(
            completes.iter().all(|c| c.success),
            "{label}: {completes:?}"
        );
        assert!(
            completes
                .iter()
                .all(|c| c.post_compaction_tokens < c.pre_compaction_tokens
                    && c.messages_removed > 0),
            "{label}: {completes:?}"
        );
        assert!(count(&events, "session.usage_info") >= 100, "{label}");
        for (n, r) in s.mock.requests().iter().enumerate() {
            assert!(
                tokens(r) <= WINDOW,
                "{label}: request {n} has {} tokens > {WINDOW}",
                tokens(r)
            );
            if !is_summary(r) {
                check_pairs(&r.body).unwrap_or_else(|e| panic!("{label}: request {n}: {e}"));
            }
        }
        // The latest request starts from a summary and ends with the last note verbatim.
        let history = s.session.history();
        let first = serde_json::to_string(&history[0]).unwrap();
        assert!(
            first.contains("[Summary of the earlier"),
            "{label}: {first}"
        );
        assert!(serde_json::to_string(&history).unwrap().contains(&note(49)));
        // The full event log keeps every user message.
        let log = s.session.get_events();
        assert_eq!(count(&log, "user.message"), 50, "{label}");

        // Resume continues from the compacted history.
        let id = s.session.id().to_owned();
        s.session.disconnect().await;
        let mut config = SessionConfig::new("m", provider(format, Some(WINDOW))).with_tool(echo());
        config.streaming = streaming;
        let resumed = s.client.resume_session(&id, config).await.unwrap();
        assert_eq!(resumed.history(), history, "{label}");
        resumed.send_and_wait(note(50), None).await.unwrap();
        s.client.stop().await;
    }
}

#[tokio::test]
async fn a_prompt_the_provider_refuses_as_too_long_is_compacted_and_retried_once() {
    for (format, streaming) in FORMATS {
        let label = format!("{format:?} streaming={streaming}");
        // modelport does not know the window: only the provider's error tells it.
        let s = setup(
            format,
            streaming,
            None,
            InfiniteSessions::default(),
            Provider {
                window: Some(2_000),
                summary_fails: false,
            },
        )
        .await;
        for i in 0..20 {
            s.session
                .send_and_wait(note(i), None)
                .await
                .unwrap_or_else(|e| panic!("{label}: send {i}: {e}"));
        }
        let events = s.events.lock().unwrap().clone();
        check_event_order(&events, streaming).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(
            count(&events, "session.compaction_complete") >= 1,
            "{label}"
        );
        assert_eq!(
            count(&events, "session.usage_info"),
            0,
            "no window, no usage_info"
        );
        assert_eq!(count(&events, "session.error"), 0, "{label}");
    }
}

#[tokio::test]
async fn a_message_larger_than_the_window_fails_its_send_and_the_session_goes_on() {
    let s = setup(
        WireFormat::OpenAiChat,
        false,
        Some(2_000),
        InfiniteSessions::default(),
        Provider {
            window: Some(2_000),
            summary_fails: false,
        },
    )
    .await;
    s.session.send_and_wait(note(0), None).await.unwrap();
    let huge = "too long ".repeat(2_000);
    let e = s
        .session
        .send_and_wait(huge.as_str(), None)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ContextLength, "{e}");
    assert!(
        !serde_json::to_string(&s.session.history())
            .unwrap()
            .contains("too long too long")
    );
    s.session.send_and_wait(note(1), None).await.unwrap();
    check_event_order(&s.events.lock().unwrap(), false).unwrap();
}

#[tokio::test]
async fn when_the_summary_call_fails_the_oldest_turns_are_dropped_and_said_so() {
    let s = setup(
        WireFormat::AnthropicMessages,
        false,
        Some(2_000),
        InfiniteSessions::default(),
        Provider {
            window: Some(2_000),
            summary_fails: true,
        },
    )
    .await;
    for i in 0..15 {
        s.session.send_and_wait(note(i), None).await.unwrap();
    }
    settle(&s).await;
    let events = s.events.lock().unwrap().clone();
    check_event_order(&events, false).unwrap();
    let failed: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::CompactionComplete(c) if !c.success => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert!(!failed.is_empty());
    assert!(
        failed[0].error.as_deref().unwrap().contains("dropped") && failed[0].messages_removed > 0,
        "{failed:?}"
    );
    let first = serde_json::to_string(&s.session.history()[0]).unwrap();
    assert!(
        first.contains("oldest messages of this conversation were dropped"),
        "{first}"
    );
    assert!(!first.contains(SUMMARY_MARKER));
}

#[tokio::test]
async fn disabled_infinite_sessions_fail_with_context_length_and_emit_no_compaction() {
    let s = setup(
        WireFormat::OpenAiChat,
        false,
        Some(2_000),
        InfiniteSessions {
            enabled: false,
            ..Default::default()
        },
        Provider {
            window: Some(2_000),
            summary_fails: false,
        },
    )
    .await;
    let mut failure = None;
    for i in 0..20 {
        if let Err(e) = s.session.send_and_wait(note(i), None).await {
            failure = Some(e);
            break;
        }
    }
    let e = failure.expect("the window overflowed");
    assert_eq!(e.kind(), ErrorKind::ContextLength, "{e}");
    let events = s.events.lock().unwrap().clone();
    assert_eq!(count(&events, "session.compaction_start"), 0);
    assert_eq!(count(&events, "session.compaction_complete"), 0);
}

#[tokio::test]
async fn manual_compact_summarises_between_sends() {
    let s = setup(
        WireFormat::OpenAiResponses,
        false,
        None,
        InfiniteSessions::default(),
        Provider {
            window: None,
            summary_fails: false,
        },
    )
    .await;
    for i in 0..4 {
        s.session.send_and_wait(note(i), None).await.unwrap();
    }
    let before = s.session.history().len();
    s.session.compact().await.unwrap();
    let after = s.session.history();
    assert!(after.len() < before, "{before} -> {}", after.len());
    assert!(
        serde_json::to_string(&after[0])
            .unwrap()
            .contains("[Summary of the earlier")
    );
    // The summary request carried the older notes as a transcript.
    let summary = s.mock.requests().into_iter().find(is_summary).unwrap();
    assert!(summary.body.to_string().contains("Note 0:"));
    s.session.send_and_wait(note(4), None).await.unwrap();
    check_event_order(&s.events.lock().unwrap(), false).unwrap();
}

#[test]
fn the_split_never_separates_a_tool_call_from_its_result() {
    let user = |t: &str| Message::User {
        content: vec![crate::types::ContentPart::Text { text: t.repeat(40) }],
    };
    let call = Message::Assistant {
        text: String::new(),
        tool_calls: vec![crate::types::ToolCall {
            id: "c".into(),
            name: "t".into(),
            arguments: "{}".into(),
        }],
        reasoning: Vec::new(),
    };
    let result = Message::Tool {
        call_id: "c".into(),
        content: "r".repeat(400),
        is_error: false,
    };
    let history = vec![
        user("a"),
        call.clone(),
        result.clone(),
        user("b"),
        call,
        result,
    ];
    for budget in 0..2_000 {
        let split = split_point_for_tests(&history, budget);
        assert!(
            !matches!(history[split], Message::Tool { .. }),
            "budget {budget}: split at a tool result"
        );
    }
}
