//! `modelport`: the command line of modelport. A streaming chat against any provider (offline on the
//! built-in replay provider when none is configured), a check of the provider's configuration, the
//! model list, the stored sessions and the replay provider as a server.
//!
//! Every command takes `--json`: one JSON document (JSON lines of events for `chat`). Exit status 0
//! on success, 1 on failure, 2 on a usage error.

mod chat;
mod check;
mod output;
mod provider;
mod sessions;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::{Client, ClientOptions, Result};

use crate::output::Out;

#[derive(Parser)]
#[command(
    name = "modelport",
    version,
    about = "Chat with a model, check a provider's configuration, list models and stored sessions.",
    after_help = "The provider comes from the flags, else from MODELPORT_PROVIDER, MODELPORT_BASE_URL, \
                  MODELPORT_MODEL and MODELPORT_API_KEY; with neither, commands run offline against \
                  the built-in replay provider."
)]
struct Cli {
    /// Print JSON for scripts: one document, or one event per line for `chat`.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A streaming chat (`/model NAME`, `/reset`, `/exit`); the session is stored and can be resumed.
    Chat(chat::ChatArgs),
    /// Checks the provider's configuration with one tiny turn and says what to fix.
    Check(ProviderArgs),
    /// Lists the provider's models.
    Models(ProviderArgs),
    /// Lists, shows and deletes stored sessions.
    Sessions {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: sessions::SessionsCommand,
    },
    /// The replay provider: plays recorded conversations on 127.0.0.1.
    Replay {
        #[command(subcommand)]
        command: ReplayCommand,
    },
}

#[derive(Subcommand)]
enum ReplayCommand {
    /// Serves a snapshot file (or directory) on 127.0.0.1 until Ctrl-C; prints the URL.
    Serve {
        /// A Copilot SDK snapshot YAML file, or a directory of them.
        file: PathBuf,
        /// The port (default: a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
}

/// Which provider to talk to; each flag wins over its MODELPORT_* variable.
#[derive(Args, Clone, Debug, Default)]
pub struct ProviderArgs {
    /// The provider type (MODELPORT_PROVIDER).
    #[arg(long, value_enum)]
    provider: Option<ProviderKind>,
    /// The provider's base URL (MODELPORT_BASE_URL): with /v1 for openai, the resource host for azure.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// The model, or the deployment name on Azure (MODELPORT_MODEL).
    #[arg(long)]
    model: Option<String>,
    /// The environment variable that holds the API key (default MODELPORT_API_KEY, then
    /// OPENAI_API_KEY, AZURE_OPENAI_API_KEY or ANTHROPIC_API_KEY for that type).
    #[arg(long, value_name = "NAME")]
    api_key_env: Option<String>,
    /// The OpenAI wire API (MODELPORT_WIRE_API).
    #[arg(long, value_enum)]
    wire_api: Option<WireApiKind>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ProviderKind {
    Openai,
    Azure,
    Anthropic,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum WireApiKind {
    Completions,
    Responses,
}

/// Where sessions are kept.
#[derive(Args, Clone, Debug, Default)]
pub struct StoreArgs {
    /// The session store: "memory", "sqlite:///abs/path.db" or a postgres:// URL (default: SQLite
    /// at $MODELPORT_HOME/sessions.db).
    #[arg(long, value_name = "URL", global = true)]
    store: Option<String>,
}

impl StoreArgs {
    /// Client options with this store.
    fn options(&self) -> ClientOptions {
        match &self.store {
            Some(url) => ClientOptions::default().with_session_store(url.clone()),
            None => ClientOptions::default(),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Out::new(cli.json);
    let result = match cli.command {
        Command::Chat(args) => chat::run(args, &out).await,
        Command::Check(args) => return check::run(&args, &out).await,
        Command::Models(args) => models(&args, &out).await,
        Command::Sessions { store, command } => sessions::run(&store, command, &out).await,
        Command::Replay {
            command: ReplayCommand::Serve { file, port },
        } => serve(file, port, &out).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            out.error(&e);
            ExitCode::FAILURE
        }
    }
}

/// `modelport models`: the provider's list (the replay's models offline).
async fn models(args: &ProviderArgs, out: &Out) -> Result<()> {
    let provider = provider::resolve(args).await?;
    let client = Client::new(
        ClientOptions::default()
            .with_provider(provider.config.clone())
            .with_session_store("memory"),
    )?;
    let listed = client.list_models().await;
    client.stop().await;
    provider.stop().await;
    let models = listed?;
    if out.json {
        out.json_document(&serde_json::json!(models));
        return Ok(());
    }
    let width = models.iter().map(|m| m.id.len()).max().unwrap_or(0);
    for m in &models {
        if m.name.is_empty() || m.name == m.id {
            out.line(&m.id);
        } else {
            out.line(&format!("{:width$}  {}", m.id, m.name));
        }
    }
    Ok(())
}

/// `modelport replay serve FILE`: serves until Ctrl-C.
async fn serve(file: PathBuf, port: u16, out: &Out) -> Result<()> {
    let config = ReplayConfig {
        port,
        record: false,
        ..ReplayConfig::default()
    };
    let server = ReplayServer::from_path(&file, config).await?;
    if out.json {
        out.json_document(&serde_json::json!({
            "url": server.url(),
            "openaiUrl": server.openai_url(),
        }));
    } else {
        out.line(&format!(
            "modelport replay provider listening on {}",
            server.url()
        ));
        out.line(&format!(
            "  OpenAI base URL: {} (Ctrl-C stops it)",
            server.openai_url()
        ));
    }
    let stopped = tokio::signal::ctrl_c().await;
    server.stop().await;
    stopped
        .map_err(|e| modelport::Error::config(format!("replay serve: cannot wait for Ctrl-C: {e}")))
}
