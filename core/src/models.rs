//! Model listing: the Copilot SDK's `ModelInfo`, and the provider list shapes normalised to it
//! (OpenAI, Azure v1 and versioned, Ollama, llama.cpp, Anthropic with pagination).

use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Result;

/// What a model supports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelSupports {
    /// Image input.
    #[serde(default)]
    pub vision: bool,
    /// A reasoning-effort setting.
    #[serde(default)]
    pub reasoning_effort: bool,
}

/// A model's limits (snake_case keys, as in the Copilot SDK).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelLimits {
    /// The context window in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_context_window_tokens: Option<u64>,
    /// The largest prompt in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_prompt_tokens: Option<u64>,
}

/// A model's capabilities.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelCapabilities {
    /// Features.
    #[serde(default)]
    pub supports: ModelSupports,
    /// Limits.
    #[serde(default)]
    pub limits: ModelLimits,
}

/// A model as `list_models()` returns it: `{id, name, capabilities: {supports: {vision,
/// reasoningEffort}, limits: {max_context_window_tokens}}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The id to pass as `model`.
    pub id: String,
    /// A display name.
    pub name: String,
    /// What it can do.
    #[serde(default)]
    pub capabilities: ModelCapabilities,
}

impl ModelInfo {
    /// A model with default (unknown) capabilities.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        ModelInfo {
            id: id.into(),
            name: name.into(),
            capabilities: ModelCapabilities::default(),
        }
    }

    /// Parses the model list an `onListModels` handler of a binding returned as JSON; `source` names
    /// the handler in the error ("onListModels", "the on_list_models handler", ...).
    pub fn list_from_json(source: &str, json: &str) -> Result<Vec<ModelInfo>> {
        serde_json::from_str(json).map_err(|e| list_error(source, e))
    }

    /// [`list_from_json`](Self::list_from_json) for a list already read as a JSON value.
    pub fn list_from_value(source: &str, value: serde_json::Value) -> Result<Vec<ModelInfo>> {
        serde_json::from_value(value).map_err(|e| list_error(source, e))
    }
}

/// What a handler's model list that is not one gets: the shape it must have.
fn list_error(source: &str, e: serde_json::Error) -> crate::Error {
    crate::Error::config(format!(
        "{source} must return an array of {{\"id\", \"name\", \"capabilities\"}} (capabilities: \
         {{\"supports\": {{\"vision\", \"reasoningEffort\"}}, \"limits\": \
         {{\"max_context_window_tokens\"}}}}): {e}"
    ))
}

type ListFn = dyn Fn() -> BoxFuture<'static, Result<Vec<ModelInfo>>> + Send + Sync;

/// The application's own model list (`on_list_models`): replaces the provider's endpoint entirely.
#[derive(Clone)]
pub struct ListModelsHandler(Arc<ListFn>);

impl ListModelsHandler {
    /// Wraps an async function.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<ModelInfo>>> + Send + 'static,
    {
        ListModelsHandler(Arc::new(move || Box::pin(f())))
    }

    /// A fixed list.
    pub fn fixed(models: Vec<ModelInfo>) -> Self {
        ListModelsHandler::new(move || {
            let models = models.clone();
            async move { Ok(models) }
        })
    }

    /// Calls it.
    pub fn call(&self) -> BoxFuture<'static, Result<Vec<ModelInfo>>> {
        (self.0)()
    }
}

impl fmt::Debug for ListModelsHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ListModelsHandler")
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Object(o) => o.get("supported").is_some_and(truthy),
        _ => false,
    }
}

/// One entry of any provider's list, normalised.
fn entry(v: &Value) -> Option<ModelInfo> {
    let id = v["id"]
        .as_str()
        .or_else(|| v["model"].as_str())
        .or_else(|| v["name"].as_str())?
        .to_owned();
    let name = v["display_name"]
        .as_str()
        .or_else(|| v["name"].as_str())
        .unwrap_or(&id)
        .to_owned();
    let caps = &v["capabilities"];
    let supports = ModelSupports {
        vision: truthy(&caps["vision"])
            || truthy(&caps["supports"]["vision"])
            || truthy(&caps["image_input"]),
        reasoning_effort: truthy(&caps["reasoning_effort"])
            || truthy(&caps["reasoningEffort"])
            || truthy(&caps["supports"]["reasoningEffort"])
            || truthy(&caps["effort"]),
    };
    let context = as_u64(&v["max_input_tokens"])
        .or_else(|| as_u64(&v["context_window"]))
        .or_else(|| as_u64(&v["context_length"]))
        .or_else(|| as_u64(&v["meta"]["n_ctx_train"]))
        .or_else(|| as_u64(&caps["limits"]["max_context_window_tokens"]));
    Some(ModelInfo {
        id,
        name,
        capabilities: ModelCapabilities {
            supports,
            limits: ModelLimits {
                max_context_window_tokens: context,
                max_prompt_tokens: None,
            },
        },
    })
}

/// One page of a provider's model list: the models, and the cursor of the next page when the
/// provider paginates (Anthropic `has_more` / `last_id`).
pub(crate) fn parse_page(body: &Value) -> (Vec<ModelInfo>, Option<String>) {
    let items = body["data"]
        .as_array()
        .or_else(|| body["models"].as_array())
        .or_else(|| body.as_array());
    let models = items.into_iter().flatten().filter_map(entry).collect();
    let next = (body["has_more"] == Value::Bool(true))
        .then(|| body["last_id"].as_str().map(str::to_owned))
        .flatten();
    (models, next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(body: Value) -> Vec<String> {
        parse_page(&body).0.into_iter().map(|m| m.id).collect()
    }

    #[test]
    fn a_model_list_from_json_or_an_error_naming_its_source_and_shape() {
        let models = ModelInfo::list_from_json(
            "onListModels",
            r#"[{"id": "m1", "name": "Model one", "capabilities": {"supports": {"vision": true}, "limits": {}}}]"#,
        )
        .unwrap();
        assert_eq!(models.len(), 1);
        assert_eq!(
            (models[0].id.as_str(), models[0].name.as_str()),
            ("m1", "Model one")
        );
        for e in [
            ModelInfo::list_from_json("onListModels", r#"{"id": "m1"}"#).unwrap_err(),
            ModelInfo::list_from_value("onListModels", json!({"id": "m1"})).unwrap_err(),
        ] {
            assert_eq!(e.kind(), crate::ErrorKind::Config);
            assert!(
                e.message().starts_with(
                    r#"onListModels must return an array of {"id", "name", "capabilities"}"#
                ),
                "{e}"
            );
        }
    }

    #[test]
    fn provider_shapes() {
        // OpenAI (and Ollama's /v1/models).
        assert_eq!(
            ids(json!({"object": "list", "data": [
                {"id": "gpt-4o", "object": "model", "created": 1, "owned_by": "openai"},
                {"id": "llama3.2:latest", "object": "model", "created": 2, "owned_by": "library"}]})),
            ["gpt-4o", "llama3.2:latest"]
        );
        // Ollama's native /api/tags.
        assert_eq!(
            ids(json!({"models": [{"name": "qwen3:8b", "model": "qwen3:8b"}]})),
            ["qwen3:8b"]
        );
        // llama.cpp: one element with meta.
        let (m, next) = parse_page(&json!({"object": "list", "data": [
            {"id": "smollm2", "object": "model", "meta": {"n_ctx_train": 8192}}]}));
        assert_eq!(
            m[0].capabilities.limits.max_context_window_tokens,
            Some(8192)
        );
        assert_eq!(next, None);
        // Azure v1 / versioned with capabilities.
        let (m, _) = parse_page(&json!({"data": [{"id": "gpt-4o-2024-08-06",
            "capabilities": {"chat_completion": true, "vision": true}}]}));
        assert!(m[0].capabilities.supports.vision);
        assert!(!m[0].capabilities.supports.reasoning_effort);
        // Anthropic, paginated.
        let (m, next) = parse_page(
            &json!({"data": [{"type": "model", "id": "claude-sonnet-4-5",
            "display_name": "Claude Sonnet 4.5", "created_at": "2025-09-29T00:00:00Z",
            "max_input_tokens": 200000, "max_tokens": 64000}], "has_more": true,
            "first_id": "claude-sonnet-4-5", "last_id": "claude-sonnet-4-5"}),
        );
        assert_eq!(m[0].name, "Claude Sonnet 4.5");
        assert_eq!(
            m[0].capabilities.limits.max_context_window_tokens,
            Some(200000)
        );
        assert_eq!(next.as_deref(), Some("claude-sonnet-4-5"));
    }

    #[test]
    fn model_info_json_matches_the_copilot_sdk() {
        let m = ModelInfo {
            id: "my-custom-model".into(),
            name: "My Custom Model".into(),
            capabilities: ModelCapabilities {
                supports: ModelSupports {
                    vision: false,
                    reasoning_effort: false,
                },
                limits: ModelLimits {
                    max_context_window_tokens: Some(128000),
                    max_prompt_tokens: None,
                },
            },
        };
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"id": "my-custom-model", "name": "My Custom Model", "capabilities": {
                "supports": {"vision": false, "reasoningEffort": false},
                "limits": {"max_context_window_tokens": 128000}}})
        );
    }
}
