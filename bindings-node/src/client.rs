//! [`Client`] for JavaScript: options and session configs arrive as JSON text for core's parsers
//! ([`modelport::ClientOptions::from_json`], [`SessionConfig::from_json`]), callbacks as thread-safe
//! functions.

use std::fmt;
use std::sync::{Arc, Weak};

use modelport::{PermissionHandler, SessionConfig};
use napi_derive::napi;
use parking_lot::Mutex;

use crate::callback::JsCallback;
use crate::error::{IntoNapi, Result};
use crate::models::list_models_handler;
use crate::provider::token_provider;
use crate::session::Session;
use crate::session::events::Listeners;
use crate::session::tools::{HookDefinition, ToolDefinition, hooks, permission_handler, tool};

/// How to build a [`Client`].
#[napi(object, object_to_js = false)]
pub struct ClientOptions {
    /// The options without callbacks, as JSON: `{provider?, retry?, timeouts?, sessionStore?,
    /// sessionLease?}`.
    pub json: Option<String>,
    /// The default provider's `bearerTokenProvider`.
    #[napi(ts_type = "(json: string) => Promise<string>")]
    pub bearer_token_provider: Option<JsCallback>,
    /// `onListModels`: resolves to `{ok: ModelInfo[]}`.
    #[napi(ts_type = "(json: string) => Promise<string>")]
    pub on_list_models: Option<JsCallback>,
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
    /// The session hooks.
    pub hooks: Option<Vec<HookDefinition>>,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The JSON may hold an API key: only say what is set.
        f.debug_struct("ClientOptions")
            .field("json", &self.json.is_some())
            .field(
                "bearer_token_provider",
                &self.bearer_token_provider.is_some(),
            )
            .field("on_list_models", &self.on_list_models.is_some())
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
            .field("hooks", &self.hooks.as_ref().map_or(0, Vec::len))
            .field(
                "bearer_token_provider",
                &self.bearer_token_provider.is_some(),
            )
            .finish_non_exhaustive()
    }
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
        if let Some(defs) = options.hooks.filter(|d| !d.is_empty()) {
            session.hooks = Some(hooks(defs)?);
        }
        Ok(session)
    }

    fn wrap(&self, session: modelport::Session) -> Session {
        let listeners = Arc::new(Listeners::default());
        let mut all = self.listeners.lock();
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&listeners));
        Session::new(session, listeners)
    }
}

#[napi]
impl Client {
    /// A client with `options`; honours `MODELPORT_LOG` (modelport's logs to stderr) unless a log
    /// handler is set.
    #[napi(constructor)]
    pub fn new(options: Option<ClientOptions>) -> Result<Self> {
        modelport::logging::install_stderr_from_env().into_napi()?;
        let (json, token, list_models) = options.map_or((None, None, None), |o| {
            (o.json, o.bearer_token_provider, o.on_list_models)
        });
        let mut core =
            modelport::ClientOptions::from_json(json.as_deref().unwrap_or_default()).into_napi()?;
        if let (Some(p), Some(cb)) = (core.provider.as_mut(), token) {
            p.bearer_token_provider = Some(token_provider(cb));
        }
        core.on_list_models = list_models.map(list_models_handler);
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

    /// The stored sessions, most recently modified first, as a JSON array of `SessionMetadata`.
    #[napi]
    pub async fn list_sessions(&self) -> Result<String> {
        let list = self.inner.list_sessions().await.into_napi()?;
        Ok(serde_json::to_string(&list).unwrap_or_default())
    }

    /// The id of the most recently modified session, if any.
    #[napi]
    pub async fn get_last_session_id(&self) -> Result<Option<String>> {
        self.inner.get_last_session_id().await.into_napi()
    }

    /// One stored session's `SessionMetadata` as JSON (`null` when there is none).
    #[napi]
    pub async fn get_session_metadata(&self, id: String) -> Result<String> {
        let meta = self.inner.get_session_metadata(&id).await.into_napi()?;
        Ok(serde_json::to_string(&meta).unwrap_or_default())
    }

    /// Deletes a session from the store; false when there was none.
    #[napi]
    pub async fn delete_session(&self, id: String) -> Result<bool> {
        self.inner.delete_session(&id).await.into_napi()
    }

    /// The models, as a JSON array of `ModelInfo` (cached after the first success).
    #[napi]
    pub async fn list_models(&self) -> Result<String> {
        let models = self.inner.list_models().await.into_napi()?;
        Ok(serde_json::to_string(&models).unwrap_or_default())
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
            .drain(..)
            .filter_map(|w| w.upgrade())
            .collect();
        for l in listeners {
            l.close();
        }
        errors
            .iter()
            .map(|e| e.to_json_record().to_string())
            .collect()
    }
}
