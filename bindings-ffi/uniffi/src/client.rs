//! [`Client`]: sessions, model listing and stop (see core's `Client`).

use std::fmt;
use std::sync::Arc;

use modelport::SessionConfig;

use crate::error::ModelportError;
use crate::session::Session;
use crate::tools::Tool;
use crate::{run, runtime};

/// A model as `list_models` returns it.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ModelInfo {
    /// The id to pass as `model`.
    pub id: String,
    /// A display name.
    pub name: String,
    /// Image input.
    pub supports_vision: bool,
    /// A reasoning-effort setting.
    pub supports_reasoning_effort: bool,
    /// The context window in tokens, when known.
    pub max_context_window_tokens: Option<u64>,
    /// The largest prompt in tokens, when known.
    pub max_prompt_tokens: Option<u64>,
}

impl From<modelport::ModelInfo> for ModelInfo {
    fn from(m: modelport::ModelInfo) -> Self {
        ModelInfo {
            id: m.id,
            name: m.name,
            supports_vision: m.capabilities.supports.vision,
            supports_reasoning_effort: m.capabilities.supports.reasoning_effort,
            max_context_window_tokens: m.capabilities.limits.max_context_window_tokens,
            max_prompt_tokens: m.capabilities.limits.max_prompt_tokens,
        }
    }
}

/// The entry point: the default provider, the connection pool and the sessions.
#[derive(uniffi::Object)]
pub struct Client {
    inner: modelport::Client,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("inner", &self.inner)
            .finish()
    }
}

fn session_config(
    config_json: &str,
    tools: Vec<Arc<Tool>>,
) -> Result<SessionConfig, ModelportError> {
    let mut config = SessionConfig::from_json(config_json)?;
    config.tools = tools.iter().map(|t| t.inner.clone()).collect();
    Ok(config)
}

#[uniffi::export(async_runtime = "tokio")]
impl Client {
    /// A client. `options_json` is none or `{"provider": {...}, "retry": {...}, "timeouts": {...}}`
    /// (camelCase, as in the Copilot SDK); `provider` is the default for sessions that name none.
    #[uniffi::constructor(default(options_json = None))]
    pub fn new(options_json: Option<String>) -> Result<Arc<Self>, ModelportError> {
        let options =
            modelport::ClientOptions::from_json(options_json.as_deref().unwrap_or_default())?;
        let handle = runtime()?;
        let _context = handle.enter();
        Ok(Arc::new(Client {
            inner: modelport::Client::new(options)?,
        }))
    }

    /// Creates a session. `config_json` is the session config in camelCase JSON (`{"model",
    /// "provider", "streaming", "systemMessage", ...}`); errors name the field and the fix.
    #[uniffi::method(default(tools = []))]
    pub async fn create_session(
        &self,
        config_json: String,
        tools: Vec<Arc<Tool>>,
    ) -> Result<Arc<Session>, ModelportError> {
        let config = session_config(&config_json, tools)?;
        let client = self.inner.clone();
        let session = run(async move { client.create_session(config).await }).await??;
        Ok(Session::new(session))
    }

    /// Resumes a session by id with a new config (tools are given again).
    #[uniffi::method(default(tools = []))]
    pub async fn resume_session(
        &self,
        session_id: String,
        config_json: String,
        tools: Vec<Arc<Tool>>,
    ) -> Result<Arc<Session>, ModelportError> {
        let config = session_config(&config_json, tools)?;
        let client = self.inner.clone();
        let session =
            run(async move { client.resume_session(&session_id, config).await }).await??;
        Ok(Session::new(session))
    }

    /// The models of the default provider, normalised; cached for the client's life.
    pub async fn list_models(&self) -> Result<Vec<ModelInfo>, ModelportError> {
        let client = self.inner.clone();
        let models = run(async move { client.list_models().await }).await??;
        Ok(models.into_iter().map(ModelInfo::from).collect())
    }

    /// Stops the client: aborts every running send and disconnects every session. Returns the
    /// messages of the errors met while stopping (none normally).
    pub async fn stop(&self) -> Result<Vec<String>, ModelportError> {
        let client = self.inner.clone();
        let errors = run(async move { client.stop().await }).await?;
        Ok(errors.iter().map(ToString::to_string).collect())
    }
}
