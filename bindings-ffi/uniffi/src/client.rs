//! [`Client`]: sessions, model listing and stop (see core's `Client`).

use std::fmt;
use std::sync::Arc;

use modelport::session::hooks::SessionHooks;
use modelport::{SessionConfig, SessionMetadata, TokenProvider};

use crate::error::ModelportError;
use crate::hooks::{HookHandler, hooks};
use crate::provider::{BearerTokenProvider, token_provider};
use crate::session::Session;
use crate::tools::{PermissionHandler, Tool, permission_handler};
use crate::{call, run, runtime};

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

/// A stored session, as `list_sessions` and `get_session_metadata` return it.
#[uniffi::remote(Record)]
pub struct SessionMetadata {
    /// The session id.
    pub session_id: String,
    /// When the session was created (RFC 3339 UTC).
    pub start_time: String,
    /// When the session last changed (RFC 3339 UTC).
    pub modified_time: String,
    /// The first user message, shortened.
    pub summary: Option<String>,
    /// The session's model.
    pub model: String,
}

/// The entry point: the default provider, the connection pool and the sessions.
#[derive(Debug, uniffi::Object)]
pub struct Client {
    inner: modelport::Client,
}

/// A session's callbacks: the permission handler, the hooks and the provider's bearer token provider,
/// given to [`Client::create_session`] and [`Client::resume_session`] (again on every resume).
#[derive(uniffi::Object)]
pub struct SessionCallbacks {
    permission: Option<modelport::PermissionHandler>,
    hooks: Option<SessionHooks>,
    token: Option<TokenProvider>,
}

impl fmt::Debug for SessionCallbacks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCallbacks")
            .field("permission", &self.permission.is_some())
            .field("hooks", &self.hooks)
            .field("token", &self.token.is_some())
            .finish()
    }
}

#[uniffi::export]
impl SessionCallbacks {
    /// The callbacks. `hooks` names the hooks `hook_handler` is installed for ("onPreToolUse", ...):
    /// only these run and emit `hook.start` / `hook.end`. `Config` for an unknown hook name, for
    /// hooks without a handler and for a handler without hooks.
    #[uniffi::constructor(default(
        on_permission_request = None,
        hook_handler = None,
        hooks = [],
        bearer_token_provider = None
    ))]
    pub fn new(
        on_permission_request: Option<Arc<dyn PermissionHandler>>,
        hook_handler: Option<Arc<dyn HookHandler>>,
        hooks: Vec<String>,
        bearer_token_provider: Option<Arc<dyn BearerTokenProvider>>,
    ) -> Result<Arc<Self>, ModelportError> {
        let hooks = match (hook_handler, hooks.is_empty()) {
            (Some(handler), false) => Some(self::hooks(&handler, &hooks)?),
            (None, true) => None,
            (Some(_), true) => {
                return Err(modelport::Error::config(
                    "hook_handler is set but hooks names no hook: list the hooks to install, e.g. \
                     [\"onPreToolUse\"]",
                )
                .into());
            }
            (None, false) => {
                return Err(
                    modelport::Error::config("hooks names hooks but hook_handler is none").into(),
                );
            }
        };
        Ok(Arc::new(SessionCallbacks {
            permission: on_permission_request.map(permission_handler),
            hooks,
            token: bearer_token_provider.map(token_provider),
        }))
    }
}

fn session_config(
    config_json: &str,
    tools: Vec<Arc<Tool>>,
    callbacks: Option<Arc<SessionCallbacks>>,
) -> Result<SessionConfig, ModelportError> {
    let mut config = SessionConfig::from_json(config_json)?;
    config.tools = tools.iter().map(|t| t.inner.clone()).collect();
    if let Some(callbacks) = callbacks {
        config.on_permission_request = callbacks.permission.clone();
        config.hooks = callbacks.hooks.clone();
        if let Some(token) = &callbacks.token {
            let provider = config.provider.as_mut().ok_or_else(|| {
                modelport::Error::config(
                    "bearer_token_provider is for the session's provider, and config_json has no \
                     \"provider\": add one, or give the token provider to Client(...) for the \
                     client's default provider",
                )
            })?;
            provider.bearer_token_provider = Some(token.clone());
        }
    }
    Ok(config)
}

#[uniffi::export(async_runtime = "tokio")]
impl Client {
    /// A client. `options_json` is none or `{"provider": {...}, "retry": {...}, "timeouts": {...},
    /// "sessionStore": "...", "sessionLease": {"ttlMs": 30000, "waitMs": 0}}` (camelCase, as in the
    /// Copilot SDK); `provider` is the default for sessions that name none. `sessionStore` is where
    /// sessions are kept: "memory", "sqlite:///absolute/path.db" or a "postgres://" URL (default:
    /// SQLite at `$MODELPORT_HOME/sessions.db`); `sessionLease.waitMs` is how long `resume_session`
    /// waits for a session another client holds. `"providers": [{"name", ...provider}]` and `"models":
    /// [{"id", "provider", "wireModel", "maxPromptTokens", "maxOutputTokens"}]` are the provider
    /// registry (sessions select `"<provider>/<id>"`); a provider may set `"nativeStructuredOutput"`.
    /// `bearer_token_provider` gives the default provider's bearer token (`Config` without a
    /// `"provider"`). Honours `MODELPORT_LOG` (modelport's logs to stderr) unless a log handler
    /// is set, as every binding does.
    #[uniffi::constructor(default(options_json = None, bearer_token_provider = None))]
    pub fn new(
        options_json: Option<String>,
        bearer_token_provider: Option<Arc<dyn BearerTokenProvider>>,
    ) -> Result<Arc<Self>, ModelportError> {
        let mut options =
            modelport::ClientOptions::from_json(options_json.as_deref().unwrap_or_default())?;
        modelport::logging::install_stderr_from_env()?;
        if let Some(token) = bearer_token_provider {
            let provider = options.provider.as_mut().ok_or_else(|| {
                modelport::Error::config(
                    "bearer_token_provider is for the default provider, and options_json has no \
                     \"provider\": add one, or give the token provider to a session with \
                     SessionCallbacks",
                )
            })?;
            provider.bearer_token_provider = Some(token_provider(token));
        }
        let handle = runtime()?;
        let _context = handle.enter();
        Ok(Arc::new(Client {
            inner: modelport::Client::new(options)?,
        }))
    }

    /// Creates a session. `config_json` is the session config in camelCase JSON (`{"model",
    /// "provider", "streaming", "systemMessage", "sessionId", "infiniteSessions", ...}`); errors name
    /// the field and the fix. `SessionExists` when the store already has the `sessionId`. Infinite
    /// sessions (`{"enabled": true, "backgroundCompactionThreshold": 0.80,
    /// "bufferExhaustionThreshold": 0.95}`, the defaults) compact the history before it outgrows the
    /// provider's `maxPromptTokens`, with `session.usage_info` and compaction events (see
    /// [`Session::compact`]); disabled, an overlong conversation raises `ContextLength`. Model
    /// controls: `"temperature"`, `"topP"`, `"stop"`, `"seed"`, `"maxOutputTokens"`, `"extraBody"`
    /// (merged into every request body), `"maxTurns"`, `"reasoningEffort"` (low, medium, high,
    /// xhigh), `"responseFormat"` (`{"type": "json_schema", "name", "schema", "strict"}` or
    /// `{"type": "json_object"}`; an answer that does not match raises `InvalidOutput`),
    /// `"fallbackModels"`; events include `permission.requested`, `permission.completed` and
    /// `session.model_change`. `callbacks`: the permission handler, hooks and the session provider's
    /// bearer token provider.
    #[uniffi::method(default(tools = [], callbacks = None))]
    pub async fn create_session(
        &self,
        config_json: String,
        tools: Vec<Arc<Tool>>,
        callbacks: Option<Arc<SessionCallbacks>>,
    ) -> Result<Arc<Session>, ModelportError> {
        let config = session_config(&config_json, tools, callbacks)?;
        let session = call(
            &self.inner,
            |c| async move { c.create_session(config).await },
        )
        .await?;
        Ok(Session::new(session))
    }

    /// Resumes a stored session by id, in this process or any other sharing the session store, with
    /// a new config (credentials and tools are given again; the model and endpoint default to the
    /// stored ones). Emits `session.resume` unless the config has `"suppressResumeEvent": true`.
    /// `SessionNotFound` for an unknown id, `SessionBusy` while another client holds it. Callbacks
    /// are given again, as tools are.
    #[uniffi::method(default(tools = [], callbacks = None))]
    pub async fn resume_session(
        &self,
        session_id: String,
        config_json: String,
        tools: Vec<Arc<Tool>>,
        callbacks: Option<Arc<SessionCallbacks>>,
    ) -> Result<Arc<Session>, ModelportError> {
        let config = session_config(&config_json, tools, callbacks)?;
        let session = call(&self.inner, |c| async move {
            c.resume_session(&session_id, config).await
        })
        .await?;
        Ok(Session::new(session))
    }

    /// The stored sessions, most recently modified first.
    pub async fn list_sessions(&self) -> Result<Vec<SessionMetadata>, ModelportError> {
        call(&self.inner, |c| async move { c.list_sessions().await }).await
    }

    /// The id of the most recently modified session, if any.
    pub async fn get_last_session_id(&self) -> Result<Option<String>, ModelportError> {
        call(
            &self.inner,
            |c| async move { c.get_last_session_id().await },
        )
        .await
    }

    /// One stored session's metadata (none when there is no such session).
    pub async fn get_session_metadata(
        &self,
        session_id: String,
    ) -> Result<Option<SessionMetadata>, ModelportError> {
        call(&self.inner, |c| async move {
            c.get_session_metadata(&session_id).await
        })
        .await
    }

    /// Deletes a session from the store (a live session of this client is disconnected first);
    /// false when there was none. `SessionBusy` while another client holds it.
    pub async fn delete_session(&self, session_id: String) -> Result<bool, ModelportError> {
        call(&self.inner, |c| async move {
            c.delete_session(&session_id).await
        })
        .await
    }

    /// The models of the default provider, normalised; cached for the client's life.
    pub async fn list_models(&self) -> Result<Vec<ModelInfo>, ModelportError> {
        let models = call(&self.inner, |c| async move { c.list_models().await }).await?;
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
