//! Streaming: print the answer as it arrives, from the session's event stream.
//!
//! `cargo run --example streaming` (offline, or against MODELPORT_PROVIDER like the quickstart)

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::{Client, ClientOptions, EventData, ProviderConfig, SessionConfig};

#[tokio::main]
async fn main() -> ExitCode {
    // The error's message (Display), not its Debug form, and a failing exit status.
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> modelport::Result<()> {
    let mut replay = None;
    let (provider, model) = match ProviderConfig::from_env()? {
        Some(from_env) => from_env,
        None => {
            // Small deltas with a pause, so the streaming is visible.
            let config = ReplayConfig {
                delta_chars: 3,
                chunk_delay: Some(Duration::from_millis(15)),
                ..Default::default()
            };
            let server =
                ReplayServer::from_yaml(&[include_str!("replay/streaming.yaml")], config).await?;
            println!(
                "(offline: answering from the built-in replay provider at {})",
                server.url()
            );
            let provider = ProviderConfig::anthropic(server.url());
            replay = Some(server);
            (provider, "YOUR-DEPLOYMENT-NAME".to_owned())
        }
    };

    // Sessions are kept in memory here; by default they go to $MODELPORT_HOME/sessions.db
    // (SQLite) and can be resumed by a later run (see examples/durable.rs).
    let client = Client::new(ClientOptions::default().with_session_store("memory"))?;
    let session = client
        .create_session(SessionConfig::new(model, provider).with_streaming(true))
        .await?;
    let mut events = session.events();
    session
        .send("Write a haiku about streaming tokens.")
        .await?;
    while let Some(event) = events.next().await {
        let Ok(event) = event else { continue }; // a Lagged notice: some deltas were skipped
        match &event.data {
            EventData::MessageDelta(d) => {
                print!("{}", d.delta_content);
                let _ = std::io::stdout().flush();
            }
            EventData::Usage(u) => println!(
                "\n[{} input / {} output tokens, first token after {} ms]",
                u.input_tokens,
                u.output_tokens,
                u.time_to_first_token_ms.unwrap_or_default()
            ),
            EventData::SessionError(e) => eprintln!("\nerror: {}", e.message),
            EventData::SessionIdle(_) => break,
            _ => {}
        }
    }
    client.stop().await;
    if let Some(server) = replay {
        server.stop().await;
    }
    Ok(())
}
