//! Hooks and permission decisions through the engine on every wire format, checking what the
//! model received on the wire (the scripted provider records each request).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::hooks::{HookKind, SessionHooks};
use crate::error::ErrorKind;
use crate::session::events::EventData;
use crate::session::tools::{PermissionDecision, PermissionHandler, Tool, ToolError};
use crate::testing::{MockReply, MockTransport, check_event_order};
use crate::wire::WireFormat;
use crate::{
    Client, ClientOptions, Event, ProviderConfig, RetryPolicy, Session, SessionConfig, WireApi,
};

const FORMATS: [WireFormat; 3] = [
    WireFormat::OpenAiChat,
    WireFormat::OpenAiResponses,
    WireFormat::AnthropicMessages,
];

fn provider(format: WireFormat) -> ProviderConfig {
    let mut p = match format {
        WireFormat::OpenAiChat => ProviderConfig::openai("http://mock.test/v1"),
        WireFormat::OpenAiResponses => {
            ProviderConfig::openai("http://mock.test/v1").with_wire_api(WireApi::Responses)
        }
        WireFormat::AnthropicMessages => ProviderConfig::anthropic("http://mock.test"),
    }
    .with_api_key("k");
    p.retry = Some(RetryPolicy {
        max_retries: 0,
        ..Default::default()
    });
    p
}

/// A tool counting its runs and recording its arguments.
fn lookup(runs: Arc<Mutex<Vec<Value>>>) -> Tool {
    Tool::new(
        "lookup",
        "looks a key up",
        json!({"type": "object", "properties": {"key": {"type": "string"}}}),
        move |args: Value, _| {
            let runs = runs.clone();
            async move {
                runs.lock().unwrap().push(args.clone());
                if args["key"] == "boom" {
                    return Err::<String, ToolError>("lookup exploded".into());
                }
                Ok(format!("value-of-{}", args["key"].as_str().unwrap_or("?")))
            }
        },
    )
}

fn call(key: &str) -> MockReply {
    MockReply::tool_calls(&[("call_1", "lookup", &json!({"key": key}).to_string())])
}

struct Run {
    session: Session,
    mock: MockTransport,
    runs: Arc<Mutex<Vec<Value>>>,
    events: Arc<Mutex<Vec<Event>>>,
    client: Client,
}

async fn start(
    format: WireFormat,
    replies: Vec<MockReply>,
    hooks: SessionHooks,
    permission: Option<PermissionHandler>,
) -> Run {
    let mock = MockTransport::new();
    for r in replies {
        mock.push(r);
    }
    let client = Client::new(
        ClientOptions::default()
            .with_session_store("memory")
            .with_transport(Arc::new(mock.clone())),
    )
    .unwrap();
    let runs = Arc::new(Mutex::new(Vec::new()));
    let mut config = SessionConfig::new("m", provider(format)).with_tool(lookup(runs.clone()));
    config.hooks = Some(hooks);
    config.on_permission_request = permission;
    let session = client.create_session(config).await.unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    session.on_all(move |e| sink.lock().unwrap().push(e.clone()));
    Run {
        session,
        mock,
        runs,
        events,
        client,
    }
}

impl Run {
    /// The JSON text of request `n`.
    fn wire(&self, n: usize) -> String {
        self.mock.requests()[n].body.to_string()
    }

    fn check(&self) {
        check_event_order(&self.events.lock().unwrap(), false).unwrap();
    }

    fn completes(&self) -> Vec<(bool, Option<String>, Option<String>)> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match &e.data {
                EventData::ToolExecutionComplete(c) => Some((
                    c.success,
                    c.result.as_ref().map(|r| r.content.clone()),
                    c.error.as_ref().and_then(|e| e.code.clone()),
                )),
                _ => None,
            })
            .collect()
    }

    fn count(&self, kind: &str) -> usize {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.kind() == kind)
            .count()
    }
}

#[tokio::test]
async fn pre_tool_use_deny_allow_and_modified_args() {
    for format in FORMATS {
        // deny: the handler never runs, the model learns why, the loop goes on.
        let hooks = SessionHooks::new().on(HookKind::PreToolUse, |_| async {
            Ok(Some(json!({"permissionDecision": "deny",
                           "permissionDecisionReason": "lookups are off on weekends"})))
        });
        let r = start(
            format,
            vec![call("a"), MockReply::text("ok, no lookup")],
            hooks,
            None,
        )
        .await;
        let answer = r
            .session
            .send_and_wait("look a up", None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(answer.content(), Some("ok, no lookup"));
        assert!(r.runs.lock().unwrap().is_empty(), "{format:?}");
        assert!(
            r.wire(1).contains("lookups are off on weekends"),
            "{format:?}"
        );
        assert_eq!(r.completes()[0].2.as_deref(), Some("denied"));
        assert_eq!(r.count("hook.start"), 1);
        r.check();

        // allow skips the permission handler (which would reject); modifiedArgs reach the handler
        // and tool.execution_start; additionalContext reaches the model with the result.
        let hooks = SessionHooks::new().on(HookKind::PreToolUse, |_| async {
            Ok(Some(
                json!({"permissionDecision": "allow", "modifiedArgs": {"key": "b"},
                           "additionalContext": "note: b is cached", "suppressOutput": true}),
            ))
        });
        let refuse =
            PermissionHandler::new(|_| async { PermissionDecision::Reject { feedback: None } });
        let r = start(
            format,
            vec![call("a"), MockReply::text("done")],
            hooks,
            Some(refuse),
        )
        .await;
        r.session.send_and_wait("look a up", None).await.unwrap();
        assert_eq!(*r.runs.lock().unwrap(), [json!({"key": "b"})], "{format:?}");
        let wire = r.wire(1);
        assert!(
            wire.contains("value-of-b") && wire.contains("note: b is cached"),
            "{wire}"
        );
        let start_args = r
            .events
            .lock()
            .unwrap()
            .iter()
            .find_map(|e| match &e.data {
                EventData::ToolExecutionStart(s) => Some(s.arguments.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(start_args, json!({"key": "b"}));
        assert_eq!(
            r.completes()[0].1,
            None,
            "suppressOutput keeps the result out of the event"
        );
        assert_eq!(r.count("permission.requested"), 0);
        r.check();
    }
}

#[tokio::test]
async fn post_tool_use_rewrites_results_and_failures_get_context() {
    for format in FORMATS {
        let hooks = SessionHooks::new()
            .on(HookKind::PostToolUse, |input| async move {
                assert_eq!(input["toolResult"]["textResultForLlm"], "value-of-secret");
                Ok(Some(json!({"modifiedResult": "[redacted]", "additionalContext": "redacted by policy"})))
            })
            .on(HookKind::PostToolUseFailure, |input| async move {
                assert!(input["error"].as_str().unwrap().contains("lookup exploded"));
                Ok(Some(json!({"additionalContext": "try another key"})))
            });
        let r = start(
            format,
            vec![call("secret"), call("boom"), MockReply::text("done")],
            hooks,
            None,
        )
        .await;
        r.session.send_and_wait("go", None).await.unwrap();
        let second = r.wire(1);
        assert!(second.contains("[redacted]") && second.contains("redacted by policy"));
        assert!(!second.contains("value-of-secret"), "{format:?}: {second}");
        assert!(r.wire(2).contains("try another key"), "{format:?}");
        // An object result may change the result type.
        r.check();
    }
}

#[tokio::test]
async fn prompt_and_session_start_hooks_shape_what_the_model_sees() {
    for format in FORMATS {
        let ended = Arc::new(Mutex::new(Vec::new()));
        let sink = ended.clone();
        let hooks = SessionHooks::new()
            .on(HookKind::UserPromptSubmitted, |input| async move {
                let p = input["prompt"].as_str().unwrap().to_owned();
                Ok(Some(json!({"modifiedPrompt": format!("{p} (politely)"),
                               "additionalContext": "the user is on mobile"})))
            })
            .on(HookKind::SessionStart, |input| async move {
                assert_eq!(input["source"], "new");
                assert!(input["sessionId"].is_string() && input["timestamp"].is_string());
                Ok(Some(
                    json!({"additionalContext": "house style: short answers"}),
                ))
            })
            .on(HookKind::SessionEnd, move |input| {
                let sink = sink.clone();
                async move {
                    sink.lock().unwrap().push(input["reason"].clone());
                    Ok(None)
                }
            });
        let r = start(format, vec![MockReply::text("hi")], hooks, None).await;
        r.session.send_and_wait("hello", None).await.unwrap();
        let wire = r.wire(0);
        for expected in [
            "hello (politely)",
            "the user is on mobile",
            "house style: short answers",
        ] {
            assert!(
                wire.contains(expected),
                "{format:?}: {expected} not in {wire}"
            );
        }
        let shown = r
            .session
            .get_events()
            .iter()
            .find_map(|e| match &e.data {
                EventData::UserMessage(m) => Some(m.content.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(shown, "hello (politely)");
        r.session.disconnect().await;
        assert_eq!(*ended.lock().unwrap(), [json!("user_exit")]);
        r.check();
    }
}

#[tokio::test]
async fn failing_and_slow_hooks_fail_their_call_or_send_never_the_session() {
    for format in FORMATS {
        let mut hooks = SessionHooks::new()
            .on(HookKind::PreToolUse, |input| async move {
                if input["toolArgs"]["key"] == "slow" {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
                Err("policy service unreachable".to_owned())
            })
            .on(HookKind::UserPromptSubmitted, |input| async move {
                if input["prompt"] == "forbidden" {
                    return Err("prompt filter crashed".to_owned());
                }
                Ok(None)
            });
        hooks.timeout = Duration::from_millis(100);
        let r = start(
            format,
            vec![
                call("a"),
                MockReply::text("noted"),
                call("slow"),
                MockReply::text("ok"),
            ],
            hooks,
            None,
        )
        .await;
        // A failing tool hook: that call fails, the loop continues.
        r.session.send_and_wait("go", None).await.unwrap();
        assert!(r.runs.lock().unwrap().is_empty());
        assert!(r.wire(1).contains("could not run"), "{format:?}");
        // A failing prompt hook: the send fails with errorType hook; the session goes on.
        let e = r
            .session
            .send_and_wait("forbidden", None)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Hook, "{e}");
        assert_eq!(e.error_type(), "hook");
        assert!(e.message().contains("prompt filter crashed"));
        // A hook past its timeout fails its call.
        r.session.send_and_wait("go slow", None).await.unwrap();
        let ends: Vec<_> = r
            .events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match &e.data {
                EventData::HookEnd(h) => Some(h.clone()),
                _ => None,
            })
            .collect();
        assert!(ends.iter().any(|h| {
            !h.success
                && h.error
                    .as_ref()
                    .unwrap()
                    .message
                    .contains("did not answer within 100 ms")
        }));
        assert!(
            !serde_json::to_string(&r.session.history())
                .unwrap()
                .contains("forbidden"),
            "the refused prompt is not in the history"
        );
        r.check();
    }
}

#[tokio::test]
async fn error_hook_retries_or_skips_a_failed_model_call_and_agent_stop_can_block() {
    for format in FORMATS {
        let overloaded = || {
            MockReply::error(
                500,
                json!({"error": {"message": "overloaded", "type": "server_error"}}),
            )
        };
        let seen = Arc::new(AtomicUsize::new(0));
        let count = seen.clone();
        let hooks = SessionHooks::new()
            .on(HookKind::ErrorOccurred, move |input| {
                let n = count.fetch_add(1, Ordering::SeqCst);
                async move {
                    assert_eq!(input["errorContext"], "model_call");
                    let handling = if n == 0 { "retry" } else { "skip" };
                    Ok(Some(json!({"errorHandling": handling})))
                }
            })
            .on(HookKind::AgentStop, |input| async move {
                if input["finalAnswer"] == "first draft" {
                    return Ok(Some(
                        json!({"decision": "block", "reason": "Cite a source."}),
                    ));
                }
                Ok(None)
            });
        let r = start(
            format,
            vec![
                overloaded(),
                MockReply::text("first draft"),
                MockReply::text("final, with source"),
                overloaded(),
            ],
            hooks,
            None,
        )
        .await;
        let answer = r
            .session
            .send_and_wait("write", None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(answer.content(), Some("final, with source"));
        assert!(r.wire(2).contains("Cite a source."), "{format:?}");
        // The second failure is skipped: the send ends without an error.
        assert!(
            r.session
                .send_and_wait("again", None)
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        r.check();
    }
}

#[tokio::test]
async fn every_permission_decision_kind() {
    for format in FORMATS {
        let asked = Arc::new(AtomicUsize::new(0));
        let count = asked.clone();
        let handler = PermissionHandler::new(move |req| {
            count.fetch_add(1, Ordering::SeqCst);
            async move {
                match req.arguments["key"].as_str() {
                    Some("session") => PermissionDecision::ApproveForSession,
                    Some("away") => PermissionDecision::UserNotAvailable,
                    Some("none") => PermissionDecision::NoResult,
                    _ => PermissionDecision::ApproveOnce,
                }
            }
        });
        let r = start(
            format,
            vec![
                call("away"),
                MockReply::text("could not"),
                call("none"),
                MockReply::text("still could not"),
                call("session"),
                MockReply::text("got it"),
                call("later"),
                MockReply::text("again"),
            ],
            SessionHooks::new(),
            Some(handler.clone()),
        )
        .await;
        r.session.send_and_wait("1", None).await.unwrap();
        assert!(r.wire(1).contains("not available to approve"), "{format:?}");
        r.session.send_and_wait("2", None).await.unwrap();
        assert!(r.wire(3).contains("No permission decision"), "{format:?}");
        r.session.send_and_wait("3", None).await.unwrap();
        r.session.send_and_wait("4", None).await.unwrap();
        assert_eq!(
            asked.load(Ordering::SeqCst),
            3,
            "approve-for-session is remembered"
        );
        assert_eq!(r.count("permission.requested"), 3);
        let kinds: Vec<String> = r
            .events
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match &e.data {
                EventData::PermissionCompleted(c) => Some(c.result.kind.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(
            kinds,
            ["user-not-available", "no-result", "approve-for-session"]
        );
        r.check();

        // The approval survives a resume.
        let id = r.session.id().to_owned();
        r.session.disconnect().await;
        r.mock.push(call("resumed"));
        r.mock.push(MockReply::text("fine"));
        let mut config =
            SessionConfig::new("m", provider(format)).with_tool(lookup(r.runs.clone()));
        config.on_permission_request = Some(handler);
        let resumed = r.client.resume_session(&id, config).await.unwrap();
        resumed.send_and_wait("5", None).await.unwrap();
        assert_eq!(
            asked.load(Ordering::SeqCst),
            3,
            "{format:?}: not asked after the resume"
        );
    }
}

#[tokio::test]
async fn tool_filters_take_globs_and_tools_time_out() {
    let mock = MockTransport::new();
    mock.push(MockReply::tool_calls(&[("c1", "slow_op", "{}")]));
    mock.push(MockReply::text("gave up"));
    let client = Client::new(
        ClientOptions::default()
            .with_session_store("memory")
            .with_transport(Arc::new(mock.clone())),
    )
    .unwrap();
    let tool = |name: &str| {
        Tool::new(
            name.to_owned(),
            "t",
            json!({"type": "object"}),
            |_, _| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok::<_, ToolError>("late")
            },
        )
    };
    let mut config = SessionConfig::new("m", provider(WireFormat::OpenAiChat)).with_tools([
        tool("get_weather"),
        tool("get_secret"),
        tool("slow_op").with_timeout(Duration::from_millis(50)),
        tool("delete_all"),
    ]);
    config.available_tools = Some(vec!["get_*".into(), "custom:slow_*".into()]);
    config.excluded_tools = Some(vec!["custom:get_secret".into()]);
    let session = client.create_session(config).await.unwrap();
    session.send_and_wait("go", None).await.unwrap();
    let first = mock.requests()[0].body.clone();
    let names: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["get_weather", "slow_op"]);
    assert!(
        mock.requests()[1]
            .body
            .to_string()
            .contains("did not finish within 50 ms")
    );
}

#[test]
fn tool_patterns() {
    use super::tool_matches;
    let files = Some(("files", "read"));
    assert!(tool_matches("get_*", "get_weather", None));
    assert!(tool_matches("*", "anything", None));
    assert!(tool_matches("*_op", "slow_op", None));
    assert!(tool_matches("a*c*e", "abcde", None));
    assert!(!tool_matches("a*c*e", "abcd", None));
    assert!(tool_matches("custom:get_*", "get_x", None));
    assert!(!tool_matches("custom:get_*", "get_x", Some(("s", "get_x"))));
    assert!(tool_matches("mcp:files/*", "files-read", files));
    assert!(tool_matches("mcp:files", "files-read", files));
    assert!(tool_matches("mcp:files/re*", "files-read", files));
    assert!(!tool_matches("mcp:files/*", "files-read", None));
    // By the server's own names: a server named "files-extra" is not "files", and a server
    // whose exposed names had characters replaced still matches its own name.
    assert!(!tool_matches(
        "mcp:files/*",
        "files-extra-read",
        Some(("files-extra", "read"))
    ));
    assert!(tool_matches(
        "mcp:my.db/*",
        "my_db-query",
        Some(("my.db", "query"))
    ));
    // Plain names and globs see the exposed name.
    assert!(tool_matches("files-*", "files-read", files));
    assert!(!tool_matches("get", "get_x", None));
}

#[derive(Debug, PartialEq, serde::Deserialize, schemars::JsonSchema)]
struct Person {
    name: String,
    age: u32,
    nickname: Option<String>,
}

#[tokio::test]
async fn send_and_parse_validates_retries_once_and_then_fails_with_the_raw_answer() {
    for format in FORMATS {
        let anthropic = format == WireFormat::AnthropicMessages;
        // Anthropic answers through the forced tool; the others in text.
        let answer = |json: &str| {
            if anthropic {
                MockReply::tool_calls(&[("t1", "Person", json)])
            } else {
                MockReply::text(json)
            }
        };
        let r = start(
            format,
            vec![
                answer(r#"{"name": "Ada"}"#),
                answer(r#"{"name": "Ada", "age": 36, "nickname": null}"#),
                MockReply::text("not json at all"),
                MockReply::text("still {not json"),
            ],
            SessionHooks::new(),
            None,
        )
        .await;
        let person: Person = r
            .session
            .send_and_parse("Who wrote the first program?")
            .await
            .unwrap();
        assert_eq!(
            person,
            Person {
                name: "Ada".into(),
                age: 36,
                nickname: None
            }
        );
        let retry = r.wire(1);
        assert!(
            retry.contains("does not match the required JSON schema"),
            "{retry}"
        );
        assert!(
            retry.contains("age"),
            "the model is told what is missing: {retry}"
        );
        // Strict mode on the wire: every property required, the optional one nullable.
        let first = r.mock.requests()[0].body.clone();
        let schema = match format {
            WireFormat::OpenAiChat => first["response_format"]["json_schema"]["schema"].clone(),
            WireFormat::OpenAiResponses => first["text"]["format"]["schema"].clone(),
            WireFormat::AnthropicMessages => first["tools"][1]["input_schema"].clone(),
        };
        let mut required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        required.sort_unstable();
        assert_eq!(required, ["age", "name", "nickname"], "{format:?}");
        assert_eq!(schema["additionalProperties"], false);

        let e = r
            .session
            .send_and_parse::<Person>("again")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidOutput, "{e}");
        let details = e.invalid_output_details().unwrap();
        assert_eq!(details.raw, "still {not json");
        assert!(details.errors[0].contains("not JSON"));
        assert_eq!(e.to_json_record()["rawOutput"], "still {not json");
        r.check();
    }
}

#[test]
fn hook_limits_come_from_the_session_config() {
    let config: SessionConfig = serde_json::from_value(json!({
        "hookTimeoutMs": 250, "maxAgentStopBlocks": 1, "maxErrorRetries": 0
    }))
    .unwrap();
    let hooks = config.hook_settings().unwrap();
    assert_eq!(hooks.timeout, Duration::from_millis(250));
    assert_eq!(hooks.max_agent_stop_blocks, 1);
    assert_eq!(hooks.max_error_retries, 0);
    let defaults = SessionConfig::default().hook_settings().unwrap();
    assert_eq!(defaults.timeout, Duration::from_secs(30));
    assert_eq!(defaults.max_agent_stop_blocks, 3);
    assert_eq!(defaults.max_error_retries, 2);
    let zero: SessionConfig = serde_json::from_value(json!({"hookTimeoutMs": 0})).unwrap();
    let e = zero.hook_settings().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("hookTimeoutMs"), "{e}");
}

#[tokio::test]
async fn parallel_calls_of_a_tool_approved_for_the_session_ask_once() {
    let asked = Arc::new(AtomicUsize::new(0));
    let count = asked.clone();
    let handler = PermissionHandler::new(move |_| {
        count.fetch_add(1, Ordering::SeqCst);
        async {
            // A human takes a moment: the other calls are waiting meanwhile.
            tokio::time::sleep(Duration::from_millis(50)).await;
            PermissionDecision::ApproveForSession
        }
    });
    let three = MockReply::tool_calls(&[
        ("call_1", "lookup", r#"{"key":"a"}"#),
        ("call_2", "lookup", r#"{"key":"b"}"#),
        ("call_3", "lookup", r#"{"key":"c"}"#),
    ]);
    let r = start(
        WireFormat::OpenAiChat,
        vec![three, MockReply::text("done")],
        SessionHooks::new(),
        Some(handler),
    )
    .await;
    r.session.send_and_wait("go", None).await.unwrap();
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert_eq!(r.runs.lock().unwrap().len(), 3);
    assert_eq!(r.count("permission.requested"), 1);
    r.check();
}

#[test]
fn a_hook_name_from_a_binding_parses_or_lists_the_valid_names() {
    assert_eq!(
        HookKind::from_name("onPreToolUse").unwrap(),
        HookKind::PreToolUse
    );
    assert_eq!(
        HookKind::from_name("preToolUse").unwrap(),
        HookKind::PreToolUse
    );
    let e = HookKind::from_name("onNothing").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    let message = e.message();
    assert!(
        message.starts_with("hooks: \"onNothing\" is not a session hook (one of "),
        "{message}"
    );
    // Every hook of the Copilot SDK's SessionHooks is listed.
    for name in [
        "onPreToolUse",
        "onPostToolUse",
        "onPostToolUseFailure",
        "onUserPromptSubmitted",
        "onSessionStart",
        "onSessionEnd",
        "onErrorOccurred",
        "onAgentStop",
    ] {
        assert!(message.contains(name), "{name} missing: {message}");
    }
}

#[test]
fn a_hooks_json_text_answer_is_its_output_null_is_none_and_bad_text_fails_with_one_message() {
    use crate::session::hooks::output_from_json;
    assert_eq!(output_from_json(None), Ok(None));
    assert_eq!(output_from_json(Some("null")), Ok(None));
    assert_eq!(
        output_from_json(Some(r#"{"permissionDecision": "deny"}"#)),
        Ok(Some(json!({"permissionDecision": "deny"})))
    );
    let e = output_from_json(Some("{not json")).unwrap_err();
    assert!(
        e.starts_with("the hook's output is not valid JSON: "),
        "{e}"
    );
}
