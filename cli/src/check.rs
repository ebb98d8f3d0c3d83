//! `modelport check`: is the configuration valid, does the provider answer? Each step prints what
//! it found; a failure prints core's error, which says what was wrong and what to do (the Azure
//! endpoint mix-ups, a refused connection to a local server, the auth checklist...).

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use modelport::session::events::EventData;
use modelport::{Client, ClientOptions, Error, SessionConfig};
use serde_json::{Value, json};

use crate::ProviderArgs;
use crate::output::{Out, Style};
use crate::provider::{self, Provider};

/// The one turn's prompt (the offline fixture answers it).
const PROMPT: &str = "Reply with one word: ok";

/// How long the turn may take.
const TURN_TIMEOUT: Duration = Duration::from_secs(60);

/// One step's outcome.
struct Step {
    name: &'static str,
    result: Result<String, Error>,
}

pub async fn run(args: &ProviderArgs, out: &Out) -> ExitCode {
    let mut steps = Vec::new();
    let provider = match provider::resolve(args).await {
        Ok(p) => Some(p),
        Err(e) => {
            steps.push(Step {
                name: "configuration",
                result: Err(e),
            });
            None
        }
    };
    if let Some(provider) = &provider {
        steps.extend(check(provider).await);
        provider.stop().await;
    }
    let ok = steps.iter().all(|s| s.result.is_ok());
    if out.json {
        let steps: Vec<Value> = steps.iter().map(step_json).collect();
        let mut doc = json!({"ok": ok, "steps": steps});
        if let Some(p) = &provider {
            doc["provider"] = json!({
                "type": p.config.provider_type.as_str(),
                "baseUrl": p.config.base_url,
                "model": p.model_or_default(),
                "offline": p.offline.is_some(),
            });
        }
        out.json_document(&doc);
    } else {
        if let Some(p) = &provider {
            out.line(&out.paint(Style::Dim, &format!("provider: {}", p.describe())));
        }
        for step in &steps {
            match &step.result {
                Ok(detail) => out.line(&format!(
                    "{} {:14} {detail}",
                    out.paint(Style::Green, "ok    "),
                    step.name
                )),
                Err(e) => {
                    out.line(&format!(
                        "{} {:14} ({})",
                        out.paint(Style::Red, "FAILED"),
                        step.name,
                        e.kind()
                    ));
                    out.line(&format!("       {e}"));
                }
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The configuration, then one turn; stops at the first failure.
async fn check(provider: &Provider) -> Vec<Step> {
    let model = provider.model_or_default();
    let configuration = provider.config.resolve(Some(&model)).map(|endpoint| {
        format!(
            "{} with {}, {}",
            provider.config.provider_type.as_str(),
            endpoint.wire_format().display_name(),
            endpoint.call_url()
        )
    });
    let failed = configuration.is_err();
    let mut steps = vec![Step {
        name: "configuration",
        result: configuration,
    }];
    if !failed {
        steps.push(Step {
            name: "one turn",
            result: turn(provider, &model).await,
        });
    }
    steps
}

/// One streamed turn on a session kept in memory.
async fn turn(provider: &Provider, model: &str) -> Result<String, Error> {
    let client = Client::new(
        ClientOptions::default()
            .with_provider(provider.config.clone())
            .with_session_store("memory"),
    )?;
    let result = async {
        let mut config = SessionConfig::default().with_model(model);
        config.streaming = true;
        let session = client.create_session(config).await?;
        let first_token = Arc::new(Mutex::new(None));
        let seen = first_token.clone();
        session.on("assistant.usage", move |event| {
            if let EventData::Usage(usage) = &event.data
                && let Ok(mut ttft) = seen.lock()
            {
                *ttft = usage.time_to_first_token_ms;
            }
        });
        let started = Instant::now();
        let answer = session.send_and_wait(PROMPT, Some(TURN_TIMEOUT)).await?;
        let elapsed = started.elapsed().as_millis();
        let said = match answer.as_ref().and_then(|a| a.content()) {
            Some(text) => format!("answered {}", Value::String(text.trim().to_owned())),
            None => "ended the turn without an answer".to_owned(),
        };
        let first = first_token
            .lock()
            .ok()
            .and_then(|t| *t)
            .map(|ms| format!("first token after {ms} ms, "))
            .unwrap_or_default();
        Ok(format!("{model} {said} ({first}{elapsed} ms in all)"))
    }
    .await;
    client.stop().await;
    result
}

fn step_json(step: &Step) -> Value {
    match &step.result {
        Ok(detail) => json!({"name": step.name, "ok": true, "detail": detail}),
        Err(e) => json!({"name": step.name, "ok": false, "error": e.to_json_record()}),
    }
}
