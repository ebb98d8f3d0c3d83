//! The quickstart in Rust: create a session, print each assistant.message, ask "What is 2+2?".
//!
//! With MODELPORT_PROVIDER set (openai | azure | anthropic, plus MODELPORT_BASE_URL, MODELPORT_API_KEY
//! and MODELPORT_MODEL) it talks to that provider. Otherwise it starts the built-in replay provider with
//! a recorded answer, configured like an Azure AI Foundry deployment, and works offline.
//!
//! `cargo run --example quickstart`

use std::process::ExitCode;

use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::{Client, ClientOptions, ProviderConfig, SessionConfig, WireApi};

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
            let server = ReplayServer::from_yaml(
                &[include_str!("replay/quickstart.yaml")],
                ReplayConfig::default(),
            )
            .await?;
            println!(
                "(MODELPORT_PROVIDER is not set: answering from the built-in replay provider at {}, offline)",
                server.url()
            );
            // Shaped like an Azure AI Foundry deployment: type "openai", the /openai/v1/ route,
            // the Responses wire API.
            let provider = ProviderConfig::openai(format!("{}/openai/v1/", server.url()))
                .with_wire_api(WireApi::Responses)
                .with_api_key("not-needed-offline");
            replay = Some(server);
            (provider, "YOUR-DEPLOYMENT-NAME".to_owned())
        }
    };

    // Sessions are kept in memory here; by default they go to $MODELPORT_HOME/sessions.db
    // (SQLite) and can be resumed by a later run (see examples/durable.rs).
    let client = Client::new(ClientOptions::default().with_session_store("memory"))?;
    let session = client
        .create_session(SessionConfig::new(model, provider))
        .await?;

    session.on("assistant.message", |event| {
        if let Some(content) = event.content() {
            println!("{content}");
        }
    });

    session.send_and_wait("What is 2+2?", None).await?;
    client.stop().await;
    if let Some(server) = replay {
        server.stop().await;
    }
    Ok(())
}
