//! Every Copilot SDK test snapshot in ../shared/fixtures/copilot-snapshots replays through the engine
//! with its recorded final answer, in each wire format, streaming and not. The tools are implemented
//! the way the Copilot SDK's own tests implement them; the replay provider only answers when the tool
//! results modelport sends back are exactly the recorded ones.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use modelport::replay::snapshot::{self, Snapshot};
use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::{
    Client, ClientOptions, PermissionDecision, PermissionHandler, ProviderConfig, SessionConfig,
    Tool, ToolError, ToolResult, WireApi,
};
use modelport_e2e::{Recorder, shared_fixtures};
use serde_json::{Value, json};

/// Snapshots that need what modelport does not have, with the reason.
const SKIPPED: &[(&str, &str)] = &[
    (
        "tools/invokes_built_in_tools",
        "uses the Copilot CLI's built-in `view` tool",
    ),
    (
        "tools/overrides_built_in_tool_with_custom_tool",
        "expects the built-in `report_intent` and `grep` tools",
    ),
    (
        "tool_results/should_pass_validated_zod_parameters_to_tool_handler",
        "expects the built-in `report_intent` tool",
    ),
    (
        "tools/clears_context_from_a_terminal_tool_and_starts_the_seeded_turn",
        "a terminal-tool context reset modelport does not have",
    ),
];

fn tool(name: &str, f: impl Fn(&Value) -> Result<Value, String> + Send + Sync + 'static) -> Tool {
    let f = Arc::new(f);
    Tool::new(
        name,
        format!("{name} (test tool)"),
        json!({"type": "object"}),
        move |args: Value, _| {
            let f = f.clone();
            async move {
                f(&args)
                    .map(ToolResult::from_value)
                    .map_err(|e| -> ToolError { e.into() })
            }
        },
    )
}

fn upper(args: &Value, key: &str) -> String {
    args[key].as_str().unwrap_or_default().to_uppercase()
}

/// The session set-up each snapshot's test used, and whether its send ends without a final answer.
struct Spec {
    config: SessionConfig,
    ends_after_tool: bool,
    permission_asked: Option<Arc<AtomicUsize>>,
}

fn spec(name: &str) -> Spec {
    let plain = |tools: Vec<Tool>| Spec {
        config: SessionConfig::default().with_tools(tools),
        ends_after_tool: false,
        permission_asked: None,
    };
    let counting = |decision: PermissionDecision| {
        let asked = Arc::new(AtomicUsize::new(0));
        let seen = asked.clone();
        let handler = PermissionHandler::new(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
            let d = decision.clone();
            async move { d }
        });
        (asked, handler)
    };
    let encrypt = || tool("encrypt_string", |a| Ok(upper(a, "input").into()));
    let phase = || {
        tool("set_current_phase", |a| {
            Ok(format!("Phase set to {}", a["phase"].as_str().unwrap_or("")).into())
        })
    };
    match name {
        "tool_results/should_handle_structured_toolresultobject_from_custom_tool" => {
            plain(vec![tool("get_weather", |a| {
                Ok(
                    json!({"textResultForLlm": format!("The weather in {} is sunny and 72°F", a["city"].as_str().unwrap_or("")),
                      "resultType": "success"}),
                )
            })])
        }
        "tool_results/should_handle_tool_result_with_denied_resulttype" => {
            plain(vec![tool("access_secret", |_| {
                Ok(
                    json!({"textResultForLlm": "Access denied: insufficient permissions to read secrets", "resultType": "denied"}),
                )
            })])
        }
        "tool_results/should_handle_tool_result_with_failure_resulttype" => {
            plain(vec![tool("check_status", |_| {
                Ok(json!({"textResultForLlm": "Service unavailable", "resultType": "failure"}))
            })])
        }
        "tool_results/should_handle_tool_result_with_rejected_resulttype" => Spec {
            ends_after_tool: true,
            ..plain(vec![tool("deploy_service", |_| {
                Ok(
                    json!({"textResultForLlm": "Deployment rejected by policy", "resultType": "rejected"}),
                )
            })])
        },
        "tool_results/should_preserve_tooltelemetry_and_not_stringify_structured_results_for_llm" => {
            plain(vec![tool("analyze_code", |a| {
                Ok(
                    json!({"textResultForLlm": format!("Analysis of {}: no issues found", a["file"].as_str().unwrap_or("")),
                          "resultType": "success",
                          "toolTelemetry": {"metrics": {"analysisTimeMs": 150}, "properties": {"analyzer": "eslint"}}}),
                )
            })])
        }
        "tools/can_receive_and_return_complex_types" => plain(vec![tool("db_query", |a| {
            let cities = [(12, "San Lorenzo", 204_356), (19, "Passos", 135_460)];
            let ids: Vec<i64> = a["query"]["ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_i64)
                .collect();
            let mut rows: Vec<_> = cities.iter().filter(|c| ids.contains(&c.0)).collect();
            rows.sort_by_key(|c| c.1);
            if a["query"]["sortAscending"] == json!(false) {
                rows.reverse();
            }
            Ok(rows
                .iter()
                .map(|c| json!({"countryId": c.0, "cityName": c.1, "population": c.2}))
                .collect())
        })]),
        "tools/denies_custom_tool_when_permission_denied" => {
            let (asked, handler) = counting(PermissionDecision::Reject { feedback: None });
            Spec {
                config: SessionConfig::default()
                    .with_tool(encrypt())
                    .with_permission_handler(handler),
                ends_after_tool: true,
                permission_asked: Some(asked),
            }
        }
        "tools/ergonomic_tool_arity0" => {
            plain(vec![tool("get_status", |_| Ok("Status: OK".into()))])
        }
        "tools/ergonomic_tool_arity2" => plain(vec![tool("combine_values", |a| {
            Ok(format!(
                "combined: {} + {}",
                a["value1"].as_str().unwrap_or(""),
                a["value2"].as_str().unwrap_or("")
            )
            .into())
        })]),
        "tools/ergonomic_tool_definition" => plain(vec![
            phase(),
            tool("search_items", |a| {
                Ok(format!(
                    "Found: {} -> item_alpha, item_beta",
                    a["keyword"].as_str().unwrap_or("")
                )
                .into())
            }),
        ]),
        "tools/low_level_tool_definition" => plain(vec![
            phase(),
            tool(
                "search_items",
                |_| Ok("Found: item_alpha, item_beta".into()),
            ),
        ]),
        "tools/handles_tool_calling_errors" => {
            plain(vec![tool("get_user_location", |_| Err("Melbourne".into()))])
        }
        "tools/invokes_custom_tool" => plain(vec![encrypt()]),
        "tools/invokes_custom_tool_with_permission_handler" => {
            let (asked, handler) = counting(PermissionDecision::ApproveOnce);
            Spec {
                config: SessionConfig::default()
                    .with_tool(encrypt())
                    .with_permission_handler(handler),
                ends_after_tool: false,
                permission_asked: Some(asked),
            }
        }
        "tools/should_execute_multiple_custom_tools_in_parallel_single_turn" => plain(vec![
            tool("lookup_city", |a| {
                Ok(format!("CITY_{}", upper(a, "city")).into())
            }),
            tool("lookup_country", |a| {
                Ok(format!("COUNTRY_{}", upper(a, "country")).into())
            }),
        ]),
        "tools/should_respect_availabletools_and_excludedtools_combined" => Spec {
            config: SessionConfig {
                available_tools: Some(vec!["allowed_tool".into(), "excluded_tool".into()]),
                excluded_tools: Some(vec!["excluded_tool".into()]),
                ..SessionConfig::default()
            }
            .with_tools([
                tool("allowed_tool", |a| {
                    Ok(format!("ALLOWED_{}", upper(a, "input")).into())
                }),
                tool("excluded_tool", |a| {
                    Ok(format!("EXCLUDED_{}", upper(a, "input")).into())
                }),
            ]),
            ends_after_tool: false,
            permission_asked: None,
        },
        "tools/skippermission_sent_in_tool_definition" => {
            // The permission handler would refuse: it must not be asked for a skip-permission tool.
            let (asked, handler) = counting(PermissionDecision::Reject { feedback: None });
            let lookup = tool("safe_lookup", |a| {
                Ok(format!("RESULT: {}", a["id"].as_str().unwrap_or("")).into())
            })
            .skip_permission(true);
            Spec {
                config: SessionConfig::default()
                    .with_tool(lookup)
                    .with_permission_handler(handler),
                ends_after_tool: false,
                permission_asked: Some(asked),
            }
        }
        other => panic!(
            "snapshot {other} has no test set-up: add one (or list it in SKIPPED with the reason)"
        ),
    }
}

/// The first user prompt, and the final answer of the longest conversation when it has one.
fn prompt_and_answer(snap: &Snapshot) -> (String, Option<String>) {
    let conv = snap
        .conversations
        .iter()
        .max_by_key(|c| c.messages.len())
        .expect("a conversation");
    let prompt = conv
        .messages
        .iter()
        .find(|m| m.role == "user")
        .and_then(|m| m.content.clone())
        .expect("a prompt");
    let last = conv.messages.last().expect("messages");
    let answer = (last.role == "assistant" && last.tool_calls.is_empty())
        .then(|| last.content.clone().unwrap_or_default());
    (prompt, answer)
}

fn provider(format: &str, server: &ReplayServer) -> ProviderConfig {
    match format {
        "chat" => ProviderConfig::openai(server.openai_url()),
        "responses" => {
            ProviderConfig::openai(server.openai_url()).with_wire_api(WireApi::Responses)
        }
        _ => ProviderConfig::anthropic(server.url()),
    }
}

fn name_of(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .expect("under root")
        .with_extension("")
        .to_string_lossy()
        .replace('\\', "/")
}

#[tokio::test]
async fn copilot_snapshots_replay_with_their_recorded_answers() {
    let Some(shared) = shared_fixtures() else {
        return;
    };
    let root = shared.join("copilot-snapshots");
    let files = snapshot::load(&root).expect("snapshots load");
    let mut ran = 0;
    let mut skipped = Vec::new();
    for (file, snap) in &files {
        let name = name_of(&root, file);
        if let Some((_, why)) = SKIPPED.iter().find(|(n, _)| *n == name) {
            skipped.push(format!("{name}: {why}"));
            continue;
        }
        let (prompt, answer) = prompt_and_answer(snap);
        for format in ["chat", "responses", "anthropic"] {
            for streaming in [false, true] {
                let label = format!("{name} [{format}, streaming={streaming}]");
                let server = ReplayServer::start(
                    vec![snap.clone()],
                    ReplayConfig {
                        delta_chars: 16,
                        ..Default::default()
                    },
                )
                .await
                .expect("replay");
                let spec = spec(&name);
                let mut config = spec.config;
                config.model = Some("claude-sonnet-4.5".into());
                config.provider = Some(provider(format, &server));
                config.streaming = streaming;
                let client = Client::new(ClientOptions::default()).expect("client");
                let session = client.create_session(config).await.expect("session");
                let rec = Recorder::attach(&session);
                let reply = session
                    .send_and_wait(prompt.as_str(), Some(Duration::from_secs(30)))
                    .await
                    .unwrap_or_else(|e| panic!("{label}: {e}"))
                    .unwrap_or_else(|| panic!("{label}: no assistant.message"));
                if spec.ends_after_tool {
                    assert!(
                        answer.is_none(),
                        "{label}: the recording has a final answer"
                    );
                    assert_eq!(
                        server.request_count(),
                        1,
                        "{label}: no model call after the tool"
                    );
                } else {
                    assert_eq!(reply.content(), answer.as_deref(), "{label}");
                }
                if let Some(asked) = &spec.permission_asked {
                    let expected =
                        usize::from(name != "tools/skippermission_sent_in_tool_definition");
                    assert_eq!(
                        asked.load(Ordering::SeqCst),
                        expected,
                        "{label}: permission handler calls"
                    );
                }
                rec.check(streaming, &label);
                client.stop().await;
                server.stop().await;
                ran += 1;
            }
        }
    }
    assert_eq!(
        skipped.len(),
        SKIPPED.len(),
        "every skipped snapshot exists: {skipped:?}"
    );
    assert_eq!(ran, (files.len() - SKIPPED.len()) * 6);
    eprintln!(
        "replayed {} snapshots x 6; skipped: {skipped:#?}",
        files.len() - SKIPPED.len()
    );
}
