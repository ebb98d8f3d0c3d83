//! Which provider a command talks to: the flags over the MODELPORT_* variables, read by core's
//! [`ProviderConfig::from_env_with`], else the built-in replay provider, offline.

use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::{Error, ProviderConfig, Result};

use crate::{ProviderArgs, ProviderKind, WireApiKind};

/// The offline provider's conversations (also the fixture of the command line's tests).
const OFFLINE_FIXTURE: &str = include_str!("../fixtures/offline.yaml");

/// The model name of offline sessions (the replay provider does not check it).
pub const OFFLINE_MODEL: &str = "modelport-replay";

/// The offline answer to a prompt the fixture does not know.
const OFFLINE_FALLBACK: &str = "This is modelport's built-in replay provider, offline: it knows only a few \
     recorded prompts (\"What is 2+2?\", \"My name is Ada.\", \"What's the weather in Paris?\"). To \
     talk to a model, pass --provider, --model and --api-key-env, or set MODELPORT_PROVIDER, \
     MODELPORT_MODEL and MODELPORT_API_KEY (see `modelport --help`).";

/// The provider of this run.
#[derive(Debug)]
pub struct Provider {
    /// What the client talks to.
    pub config: ProviderConfig,
    /// The model from the flags or the environment (offline: `--model`, if given).
    pub model: Option<String>,
    /// The built-in replay server, when nothing was configured.
    pub offline: Option<ReplayServer>,
}

impl Provider {
    /// The model of a new session.
    pub fn model_or_default(&self) -> String {
        self.model
            .clone()
            .unwrap_or_else(|| OFFLINE_MODEL.to_owned())
    }

    /// One line saying what is talked to.
    pub fn describe(&self) -> String {
        let url = self.config.base_url.as_deref().unwrap_or_default();
        match &self.offline {
            Some(_) => format!(
                "offline: the built-in replay provider at {url} (no provider configured: see \
                 `modelport --help`)"
            ),
            None => format!(
                "{} at {url}, model {}",
                self.config.provider_type.as_str(),
                self.model.as_deref().unwrap_or_default()
            ),
        }
    }

    /// Stops the offline server, if any.
    pub async fn stop(&self) {
        if let Some(server) = &self.offline {
            server.stop().await;
        }
    }
}

/// The provider the flags and the environment name, else the offline one.
pub async fn resolve(args: &ProviderArgs) -> Result<Provider> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if let Some(name) = &args.api_key_env
        && env(name).is_none()
    {
        return Err(Error::config(format!(
            "--api-key-env {name}: the variable {name} is not set (or is empty): export it, or name \
             the variable that holds the API key"
        )));
    }
    let lookup = |k: &str| -> Option<String> {
        match k {
            "MODELPORT_PROVIDER" => args
                .provider
                .map(|p| provider_name(p).to_owned())
                .or_else(|| env(k)),
            "MODELPORT_BASE_URL" => args.base_url.clone().or_else(|| env(k)),
            "MODELPORT_MODEL" => args.model.clone().or_else(|| env(k)),
            "MODELPORT_WIRE_API" => args
                .wire_api
                .map(|w| wire_api_name(w).to_owned())
                .or_else(|| env(k)),
            "MODELPORT_API_KEY" => match &args.api_key_env {
                Some(name) => env(name),
                None => env(k),
            },
            // A key variable named with --api-key-env is the only one read.
            "OPENAI_API_KEY" | "AZURE_OPENAI_API_KEY" | "ANTHROPIC_API_KEY"
                if args.api_key_env.is_some() =>
            {
                None
            }
            _ => env(k),
        }
    };
    if let Some((config, model)) = ProviderConfig::from_env_with(lookup)? {
        return Ok(Provider {
            config,
            model: Some(model),
            offline: None,
        });
    }
    let stray = [
        ("--base-url", args.base_url.is_some()),
        ("--api-key-env", args.api_key_env.is_some()),
        ("--wire-api", args.wire_api.is_some()),
    ];
    if let Some((flag, _)) = stray.iter().find(|(_, given)| *given) {
        return Err(Error::config(format!(
            "{flag} needs a provider: pass --provider openai|azure|anthropic (or set \
             MODELPORT_PROVIDER)"
        )));
    }
    let server = ReplayServer::from_yaml(
        &[OFFLINE_FIXTURE],
        ReplayConfig {
            record: false,
            fallback: Some(OFFLINE_FALLBACK.to_owned()),
            ..ReplayConfig::default()
        },
    )
    .await?;
    Ok(Provider {
        config: ProviderConfig::openai(server.openai_url()),
        model: args.model.clone(),
        offline: Some(server),
    })
}

fn provider_name(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Openai => "openai",
        ProviderKind::Azure => "azure",
        ProviderKind::Anthropic => "anthropic",
    }
}

fn wire_api_name(kind: WireApiKind) -> &'static str {
    match kind {
        WireApiKind::Completions => "completions",
        WireApiKind::Responses => "responses",
    }
}
