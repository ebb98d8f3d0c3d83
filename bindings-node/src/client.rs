//! [`Client`] for JavaScript: options and session configs arrive as JSON text for core's serde
//! types, callbacks as thread-safe functions.

use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use modelport::{PermissionHandler, RetryPolicy, SessionConfig, Timeouts};
use napi_derive::napi;

use crate::callback::JsCallback;
use crate::error::{IntoNapi, Result, config, to_json};
use crate::models::list_models_handler;
use crate::provider::{provider, token_provider};
use crate::session::Session;
use crate::session::events::Listeners;
use crate::session::tools::{ToolDefinition, permission_handler, tool};

/// How to build a [`Client`].
#[napi(object, object_to_js = false)]
pub struct ClientOptions {
    /// The default provider, as JSON (without `bearerTokenProvider`).
    pub provider: Option<String>,
    /// The default provider's `bearerTokenProvider`.
    #[napi(ts_type = "(json: string) => Promise<string>")]
    pub bearer_token_provider: Option<JsCallback>,
    /// `onListModels`: resolves to `{ok: ModelInfo[]}`.
    #[napi(ts_type = "(json: string) => Promise<string>")]
    pub on_list_models: Option<JsCallback>,
    /// The retry policy, as JSON (`{maxRetries, initialBackoffMs, maxBackoffMs, maxRetryAfterMs}`).
    pub retry: Option<String>,
    /// The timeouts, as JSON (`{connectMs, firstByteMs, idleMs, totalMs}`).
    pub timeouts: Option<String>,
}

/// What `createSession` / `resumeSession` hand over.
#[napi(object, object_to_js = false)]
pub struct SessionOptions {
    /// The session config as JSON (without tools and callbacks).
    pub config: String,
    /// The tools.
    pub tools: Option<Vec<ToolDefinition>>,
    /// `onPermissionRequest`.
    #[napi(ts_type = "(json: string) => Promise<string>")]
    pub on_permission_request: Option<JsCallback>,
    /// `onPermissionRequest` is `approveAll`: approve in Rust without calling JavaScript.
    pub approve_all: Option<bool>,
    /// The session provider's `bearerTokenProvider`.
    #[napi(ts_type = "(json: string) => Promise<string>")]
    pub bearer_token_provider: Option<JsCallback>,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The provider JSON may hold an API key: only say what is set.
        f.debug_struct("ClientOptions")
            .field("provider", &self.provider.is_some())
            .field(
                "bearer_token_provider",
                &self.bearer_token_provider.is_some(),
            )
            .field("on_list_models", &self.on_list_models.is_some())
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .finish()
    }
}

impl fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The config JSON may hold an API key: only say what is set.
        f.debug_struct("SessionOptions")
            .field("tools", &self.tools.as_ref().map_or(0, Vec::len))
            .field(
                "on_permission_request",
                &self.on_permission_request.is_some(),
            )
            .field("approve_all", &self.approve_all)
            .field(
                "bearer_token_provider",
                &self.bearer_token_provider.is_some(),
            )
            .finish_non_exhaustive()
    }
}

fn invalid(what: &str, e: &serde_json::Error) -> napi::Error {
    config(format!("invalid client option `{what}`: {e}"))
}

/// The entry point (see core's `Client`).
#[napi]
#[derive(Debug)]
pub struct Client {
    inner: modelport::Client,
    /// Every session's event callback, released by `stop()`.
    listeners: Mutex<Vec<Weak<Listeners>>>,
}

impl Client {
    fn session_config(options: SessionOptions) -> Result<SessionConfig> {
        let mut session = SessionConfig::from_json(&options.config).into_napi()?;
        if let (Some(p), Some(cb)) = (session.provider.as_mut(), options.bearer_token_provider) {
            p.bearer_token_provider = Some(token_provider(cb));
        }
        session.tools = options
            .tools
            .unwrap_or_default()
            .into_iter()
            .map(tool)
            .collect::<Result<_>>()?;
        session.on_permission_request = if options.approve_all == Some(true) {
            Some(PermissionHandler::approve_all())
        } else {
            options.on_permission_request.map(permission_handler)
        };
        Ok(session)
    }

    fn wrap(&self, session: modelport::Session) -> Session {
        let listeners = Arc::new(Listeners::default());
        let mut all = self.listeners.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&listeners));
        Session::new(session, listeners)
    }
}

#[napi]
impl Client {
    /// A client with `options`.
    #[napi(constructor)]
    pub fn new(options: Option<ClientOptions>) -> Result<Self> {
        let mut core = modelport::ClientOptions::default();
        if let Some(o) = options {
            if let Some(json) = o.provider {
                core.provider = Some(provider(&json, o.bearer_token_provider)?);
            }
            core.on_list_models = o.on_list_models.map(list_models_handler);
            if let Some(json) = o.retry {
                core.retry =
                    serde_json::from_str::<RetryPolicy>(&json).map_err(|e| invalid("retry", &e))?;
            }
            if let Some(json) = o.timeouts {
                core.timeouts =
                    serde_json::from_str::<Timeouts>(&json).map_err(|e| invalid("timeouts", &e))?;
            }
        }
        Ok(Client {
            inner: modelport::Client::new(core).into_napi()?,
            listeners: Mutex::default(),
        })
    }

    /// Creates a session.
    #[napi]
    pub async fn create_session(&self, options: SessionOptions) -> Result<Session> {
        let config = Self::session_config(options)?;
        let session = self.inner.create_session(config).await.into_napi()?;
        Ok(self.wrap(session))
    }

    /// Resumes a session by id with a new config.
    #[napi]
    pub async fn resume_session(&self, id: String, options: SessionOptions) -> Result<Session> {
        let config = Self::session_config(options)?;
        let session = self.inner.resume_session(&id, config).await.into_napi()?;
        Ok(self.wrap(session))
    }

    /// Forgets a disconnected session's history.
    #[napi]
    pub fn delete_session(&self, id: String) -> bool {
        self.inner.delete_session(&id)
    }

    /// The models, as a JSON array of `ModelInfo` (cached after the first success).
    #[napi]
    pub async fn list_models(&self) -> Result<String> {
        let models = self.inner.list_models().await.into_napi()?;
        serde_json::to_string(&models).map_err(|e| config(e.to_string()))
    }

    /// A harmless no-op (the Copilot SDK's `start()`).
    #[napi]
    pub async fn start(&self) -> Result<()> {
        self.inner.start().await.into_napi()
    }

    /// Stops every session and releases every event callback; resolves to the errors met (JSON).
    #[napi]
    pub async fn stop(&self) -> Vec<String> {
        let errors = self.inner.stop().await;
        let listeners: Vec<_> = self
            .listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .filter_map(|w| w.upgrade())
            .collect();
        for l in listeners {
            l.close();
        }
        errors.iter().map(|e| to_json(e).to_string()).collect()
    }
}
