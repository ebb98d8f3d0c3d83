//! Guardrails with session hooks: a policy denies one tool (the model is told why and answers
//! without it), and a result hook redacts what another tool returned before the model sees it.
//!
//! Offline, a scripted provider stands in for the model (it calls both tools, then answers).
//!
//! `cargo run --example guardrail`

use std::process::ExitCode;
use std::sync::Arc;

use modelport::session::hooks::{HookDecision, PostToolUseOutput, PreToolUseOutput, SessionHooks};
use modelport::testing::{MockReply, MockTransport};
use modelport::{Client, ClientOptions, ProviderConfig, SessionConfig, ToolError, define_tool};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct Customer {
    /// The customer id.
    id: String,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> modelport::Result<()> {
    // The scripted model: it asks for both tools, then answers with what it was given.
    let model = MockTransport::new();
    model.push(MockReply::tool_calls(&[
        ("call_1", "delete_customer", r#"{"id": "c-42"}"#),
        ("call_2", "lookup_customer", r#"{"id": "c-42"}"#),
    ]));
    model.push(MockReply::text(
        "I looked the customer up; deleting is not allowed here.",
    ));

    let hooks = SessionHooks::new()
        // Policy: no deletions from this agent. The handler never runs; the model is told why.
        .on_pre_tool_use(|input| async move {
            Ok(input
                .tool_name
                .starts_with("delete_")
                .then(|| PreToolUseOutput {
                    permission_decision: Some(HookDecision::Deny),
                    permission_decision_reason: Some("deletions need a human".into()),
                    ..Default::default()
                }))
        })
        // Redaction: e-mail addresses never reach the model.
        .on_post_tool_use(|input| async move {
            let text = input.tool_result["textResultForLlm"].as_str().unwrap_or("");
            let redacted: Vec<&str> = text
                .split(' ')
                .map(|w| if w.contains('@') { "[email]" } else { w })
                .collect();
            Ok(Some(PostToolUseOutput {
                modified_result: Some(redacted.join(" ").into()),
                ..Default::default()
            }))
        });

    let lookup = define_tool(
        "lookup_customer",
        "Looks a customer up",
        |c: Customer| async move {
            Ok::<_, ToolError>(format!(
                "customer {} is Ada Lovelace, ada@example.com",
                c.id
            ))
        },
    );
    let delete = define_tool(
        "delete_customer",
        "Deletes a customer",
        |c: Customer| async move { Ok::<_, ToolError>(format!("deleted {}", c.id)) },
    );

    let client = Client::new(
        ClientOptions::default()
            .with_session_store("memory")
            .with_transport(Arc::new(model.clone())),
    )?;
    let mut config = SessionConfig::new(
        "scripted",
        ProviderConfig::openai("http://scripted.invalid/v1"),
    )
    .with_tools([lookup, delete]);
    config.hooks = Some(hooks);
    let session = client.create_session(config).await?;
    session.on("tool.execution_complete", |event| {
        println!("{}", event.json())
    });
    if let Some(answer) = session
        .send_and_wait("Look up c-42, then delete it.", None)
        .await?
    {
        println!("{}", answer.content().unwrap_or_default());
    }
    // What the model received for the two calls.
    let second = &model.requests()[1].body;
    for message in second["messages"].as_array().into_iter().flatten() {
        if message["role"] == "tool" {
            println!("model saw: {}", message["content"]);
        }
    }
    client.stop().await;
    Ok(())
}
