//! A session with a typed tool: the model calls `get_weather` for two cities (in parallel), modelport
//! runs the handler, sends the results back, and prints the final answer.
//!
//! `cargo run --example tools` (offline, or against MODELPORT_PROVIDER like the quickstart)

use std::process::ExitCode;

use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::{Client, ClientOptions, ProviderConfig, SessionConfig, ToolError, define_tool};
use serde::{Deserialize, Serialize};

/// Arguments of get_weather; the JSON schema the model sees comes from this type.
#[derive(Deserialize, schemars::JsonSchema)]
struct WeatherQuery {
    /// The city, e.g. "Paris".
    city: String,
}

#[derive(Serialize)]
struct Weather {
    city: String,
    conditions: &'static str,
    temperature_c: i32,
}

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
                &[include_str!("replay/tools.yaml")],
                ReplayConfig::default(),
            )
            .await?;
            println!(
                "(offline: answering from the built-in replay provider at {})",
                server.url()
            );
            let provider = ProviderConfig::openai(server.openai_url());
            replay = Some(server);
            (provider, "YOUR-DEPLOYMENT-NAME".to_owned())
        }
    };

    let get_weather = define_tool(
        "get_weather",
        "Current weather for a city",
        |q: WeatherQuery| async move {
            let (conditions, temperature_c) = match q.city.as_str() {
                "Paris" => ("sunny", 22),
                "Tokyo" => ("rainy", 17),
                _ => ("unknown", 0),
            };
            Ok::<_, ToolError>(Weather {
                city: q.city,
                conditions,
                temperature_c,
            })
        },
    );

    // Sessions are kept in memory here; by default they go to $MODELPORT_HOME/sessions.db
    // (SQLite) and can be resumed by a later run (see examples/durable.rs).
    let client = Client::new(ClientOptions::default().with_session_store("memory"))?;
    let session = client
        .create_session(SessionConfig::new(model, provider).with_tool(get_weather))
        .await?;
    session.on("tool.execution_start", |e| {
        println!("-> {}", e.to_json()["data"]);
    });
    session.on("tool.execution_complete", |e| {
        println!("<- {}", e.to_json()["data"]["result"]["content"]);
    });

    let reply = session
        .send_and_wait("What's the weather like in Paris and in Tokyo?", None)
        .await?;
    if let Some(content) = reply.as_ref().and_then(|e| e.content()) {
        println!("{content}");
    }
    client.stop().await;
    if let Some(server) = replay {
        server.stop().await;
    }
    Ok(())
}
