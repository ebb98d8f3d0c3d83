//! A conversation that continues across runs: the first run tells the model a name and exits; the
//! second run, a new process, resumes the stored session and asks for the name; the third starts
//! over.
//!
//! The session store is a SQLite file: `MODELPORT_EXAMPLE_STORE` (any store URL, e.g. a
//! `postgres://` one) or `sqlite://<temp dir>/modelport-example/sessions.db`. Offline, the built-in
//! replay provider answers the second question only when the request carries the first turn.
//!
//! `cargo run --example durable` (twice)

use std::process::ExitCode;

use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::{Client, ClientOptions, ErrorKind, ProviderConfig, SessionConfig, WireApi};

const SESSION_ID: &str = "durable-example";

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
    let mut replay = None;
    let (provider, model) = match ProviderConfig::from_env()? {
        Some(from_env) => from_env,
        None => {
            let server = ReplayServer::from_yaml(
                &[include_str!("replay/durable.yaml")],
                ReplayConfig::default(),
            )
            .await?;
            let provider = ProviderConfig::openai(format!("{}/openai/v1/", server.url()))
                .with_wire_api(WireApi::Responses)
                .with_api_key("not-needed-offline");
            replay = Some(server);
            (provider, "YOUR-DEPLOYMENT-NAME".to_owned())
        }
    };
    let store = std::env::var("MODELPORT_EXAMPLE_STORE").unwrap_or_else(|_| {
        let path = std::env::temp_dir().join("modelport-example/sessions.db");
        format!("sqlite://{}", path.display())
    });
    println!("session store: {store}");
    let client = Client::new(ClientOptions::default().with_session_store(store))?;
    let config = SessionConfig::new(model, provider);

    // Resume the stored conversation; a missing one is a typed error, not a provider's 404.
    let (session, prompt) = match client.resume_session(SESSION_ID, config.clone()).await {
        Ok(session) if session.history().len() >= 4 => {
            println!("The conversation is complete: starting over.");
            session.disconnect().await;
            client.delete_session(SESSION_ID).await?;
            let session = client
                .create_session(config.with_session_id(SESSION_ID))
                .await?;
            (session, "My name is Ada. Please remember it.")
        }
        Ok(session) => {
            let earlier = session.get_messages().len();
            println!("Resumed session \"{SESSION_ID}\" with {earlier} stored events.");
            (session, "What is my name?")
        }
        Err(e) if e.kind() == ErrorKind::SessionNotFound => {
            let session = client
                .create_session(config.with_session_id(SESSION_ID))
                .await?;
            println!("Started session \"{SESSION_ID}\": run this example again to continue it.");
            (session, "My name is Ada. Please remember it.")
        }
        Err(e) => return Err(e),
    };
    println!("> {prompt}");
    if let Some(answer) = session.send_and_wait(prompt, None).await? {
        println!("{}", answer.content().unwrap_or_default());
    }
    // Everything of the send is committed before send_and_wait returns; stop() also gives the
    // session's lease back, so the next run (or another worker) can resume it at once.
    client.stop().await;
    if let Some(server) = replay {
        server.stop().await;
    }
    Ok(())
}
