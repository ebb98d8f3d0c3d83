//! The provider registry (the Copilot SDK's experimental `providers` and `models`): several named
//! providers in one client, and models selected as `"<provider>/<id>"`.

use std::sync::Arc;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::models::{ModelInfo, ModelLimits};
use crate::provider::{ProviderConfig, ProviderState};

/// `{name, ...ProviderConfig}`.
#[derive(Clone, Debug)]
pub struct NamedProvider {
    /// The name models refer to (no `/`).
    pub name: String,
    /// The provider.
    pub config: ProviderConfig,
}

impl<'de> Deserialize<'de> for NamedProvider {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let mut map = serde_json::Map::<String, Value>::deserialize(d)?;
        let name = match map.remove("name") {
            Some(Value::String(n)) => n,
            _ => return Err(serde::de::Error::missing_field("name")),
        };
        let config = ProviderConfig::deserialize(Value::Object(map))
            .map_err(|e| serde::de::Error::custom(format!("provider \"{name}\": {e}")))?;
        Ok(NamedProvider { name, config })
    }
}

/// `{id, provider, wireModel?, maxPromptTokens?, maxOutputTokens?}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistryModel {
    /// The model's id (the part after `<provider>/`).
    pub id: String,
    /// The provider's name.
    pub provider: String,
    /// The model name on the wire (default: the id).
    #[serde(default, alias = "wire_model")]
    pub wire_model: Option<String>,
    /// Its prompt window.
    #[serde(default, alias = "max_prompt_tokens")]
    pub max_prompt_tokens: Option<u64>,
    /// Its output cap.
    #[serde(default, alias = "max_output_tokens")]
    pub max_output_tokens: Option<u32>,
}

/// The checked registry, with one shared state per provider.
pub(crate) struct Registry {
    providers: Vec<(NamedProvider, Arc<ProviderState>)>,
    models: Vec<RegistryModel>,
}

impl Registry {
    /// Checks names and references.
    pub(crate) fn new(providers: Vec<NamedProvider>, models: Vec<RegistryModel>) -> Result<Self> {
        for (i, p) in providers.iter().enumerate() {
            if p.name.is_empty() || p.name.contains('/') {
                return Err(Error::config(format!(
                    "providers[{i}].name \"{}\" is not valid: a provider name is not empty and has \
                     no '/' (models are selected as \"<provider>/<id>\")",
                    p.name
                )));
            }
            if providers[..i].iter().any(|q| q.name == p.name) {
                return Err(Error::config(format!(
                    "providers[{i}].name \"{}\" is used twice: provider names must be unique",
                    p.name
                )));
            }
        }
        for (i, m) in models.iter().enumerate() {
            if !providers.iter().any(|p| p.name == m.provider) {
                return Err(Error::config(format!(
                    "models[{i}].provider \"{}\" is not in providers (known: {})",
                    m.provider,
                    providers
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if models[..i]
                .iter()
                .any(|n| n.id == m.id && n.provider == m.provider)
            {
                return Err(Error::config(format!(
                    "models[{i}]: \"{}/{}\" is listed twice: model ids must be unique per provider",
                    m.provider, m.id
                )));
            }
        }
        Ok(Registry {
            providers: providers.into_iter().map(|p| (p, Arc::default())).collect(),
            models,
        })
    }

    /// The provider config and shared state for `"<provider>/<id>"`.
    pub(crate) fn resolve(&self, selection: &str) -> Result<(ProviderConfig, Arc<ProviderState>)> {
        let not_found = || {
            let known: Vec<String> = self
                .models
                .iter()
                .map(|m| format!("{}/{}", m.provider, m.id))
                .collect();
            Error::config(format!(
                "model \"{selection}\" is not in the registry: select one of {}",
                known.join(", ")
            ))
        };
        let (provider, id) = selection.split_once('/').ok_or_else(not_found)?;
        let model = self
            .models
            .iter()
            .find(|m| m.provider == provider && m.id == id)
            .ok_or_else(not_found)?;
        let (named, state) = self
            .providers
            .iter()
            .find(|(p, _)| p.name == provider)
            .ok_or_else(not_found)?;
        let mut config = named.config.clone();
        config.wire_model = Some(model.wire_model.clone().unwrap_or_else(|| id.to_owned()));
        if model.max_prompt_tokens.is_some() {
            config.max_prompt_tokens = model.max_prompt_tokens;
        }
        if model.max_output_tokens.is_some() {
            config.max_output_tokens = model.max_output_tokens;
        }
        Ok((config, state.clone()))
    }

    /// The registry's models, as `list_models` returns them.
    pub(crate) fn list(&self) -> Vec<ModelInfo> {
        self.models
            .iter()
            .map(|m| {
                let id = format!("{}/{}", m.provider, m.id);
                let mut info = ModelInfo::new(id.clone(), id);
                info.capabilities.limits = ModelLimits {
                    max_context_window_tokens: None,
                    max_prompt_tokens: m.max_prompt_tokens,
                };
                info
            })
            .collect()
    }
}
