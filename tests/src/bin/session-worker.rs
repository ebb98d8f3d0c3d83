//! A worker process for the durable-session tests: one Client on a shared store, driven by JSON
//! commands on stdin, one JSON answer per line on stdout.
//!
//! `session-worker <store-url> <openai-base-url> [lease-wait-ms]`
//!
//! Commands: `{"op":"create","id"}`, `{"op":"turn","id","prompt"}` (resume unless live, send and
//! wait, keep holding), `{"op":"release","id"}` (disconnect), `{"op":"events","id"}`,
//! `{"op":"history","id"}`, `{"op":"exit"}` (exits at once, without stop) and `{"op":"stop"}`.

use std::collections::HashMap;
use std::io::BufRead;
use std::time::Duration;

use modelport::{Client, ClientOptions, LeaseOptions, ProviderConfig, Session, SessionConfig};
use serde_json::{Value, json};

/// The key the tests look for in the store: it must never be written there.
pub const KEY: &str = "sk-durable-NEVER-STORED-7f3a";

fn config(base_url: &str) -> SessionConfig {
    SessionConfig::new(
        "e2e-model",
        ProviderConfig::openai(base_url).with_api_key(KEY),
    )
}

async fn run(
    client: &Client,
    base_url: &str,
    live: &mut HashMap<String, Session>,
    cmd: &Value,
) -> modelport::Result<Value> {
    let id = cmd["id"].as_str().unwrap_or_default().to_owned();
    match cmd["op"].as_str().unwrap_or_default() {
        "create" => {
            let s = client
                .create_session(config(base_url).with_session_id(&id))
                .await?;
            live.insert(id, s);
            Ok(json!({}))
        }
        "turn" => {
            let session = match live.get(&id) {
                Some(s) => s.clone(),
                None => {
                    let s = client.resume_session(&id, config(base_url)).await?;
                    live.insert(id.clone(), s.clone());
                    s
                }
            };
            let prompt = cmd["prompt"].as_str().unwrap_or("hello");
            let answer = session
                .send_and_wait(prompt, Some(Duration::from_secs(60)))
                .await?;
            Ok(json!({"answer": answer.and_then(|e| e.content().map(str::to_owned))}))
        }
        "release" => {
            if let Some(s) = live.remove(&id) {
                s.disconnect().await;
            }
            Ok(json!({}))
        }
        "events" => {
            let s = live.get(&id).cloned().ok_or_else(|| {
                modelport::Error::config(format!("session {id} is not live here"))
            })?;
            let kinds: Vec<&str> = s.get_events().iter().map(|e| e.kind()).collect();
            Ok(json!({"kinds": kinds}))
        }
        "history" => {
            let s = live.get(&id).cloned().ok_or_else(|| {
                modelport::Error::config(format!("session {id} is not live here"))
            })?;
            Ok(json!({"history": s.history()}))
        }
        other => Err(modelport::Error::config(format!("unknown op {other}"))),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (store, base_url) = (&args[1], &args[2]);
    let wait = args.get(3).and_then(|w| w.parse().ok()).unwrap_or(0);
    let client = Client::new(
        ClientOptions::default()
            .with_session_store(store.as_str())
            .with_session_lease(LeaseOptions {
                wait: Duration::from_millis(wait),
                ..Default::default()
            }),
    )
    .expect("the client starts");
    let mut live = HashMap::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = rx.recv().await {
        let cmd: Value = serde_json::from_str(&line).expect("a JSON command");
        let answer = match cmd["op"].as_str() {
            Some("exit") => std::process::exit(0),
            Some("stop") => {
                client.stop().await;
                println!("{}", json!({"ok": true}));
                return;
            }
            _ => match run(&client, base_url, &mut live, &cmd).await {
                Ok(mut v) => {
                    v["ok"] = json!(true);
                    v
                }
                Err(e) => json!({"ok": false, "code": e.kind().as_str(), "message": e.to_string()}),
            },
        };
        println!("{answer}");
    }
}
