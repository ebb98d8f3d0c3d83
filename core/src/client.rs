//! The Client: creates, resumes and stops sessions, and lists models.

use std::fmt;
use std::sync::{Arc, Mutex, Weak};

use bytes::Bytes;
use http::HeaderValue;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, ErrorKind, Result};
use crate::models::{ListModelsHandler, ModelInfo, parse_page};
use crate::provider::{Endpoint, ProviderConfig};
use crate::session::context::ClientShared;
use crate::session::durable::Durable;
use crate::session::events::{EventData, SessionResumeData};
use crate::session::hooks::{self, HookKind};
use crate::session::{Session, SessionConfig, SessionInner, Settings, select_tools};
use crate::store::{
    self, Holder, Lease, LeaseOptions, LeaseRequest, NewSession, SessionMetadata, SessionStore,
    StoredSession,
};
use crate::transport::call::{AttemptError, CallError, Exchange, MAX_BODY, read_body};
use crate::transport::{HttpRequest, HttpResponse, RetryPolicy, Timeouts, Transport};
use crate::util::lock;

/// How to build a [`Client`]. Deserialises from the camelCase JSON `{provider?, retry?, timeouts?,
/// sessionStore?, sessionLease?}` (snake_case keys inside work too; null is the default); the
/// handler, the transport and a custom store are set from code.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientOptions {
    /// The provider for sessions that do not name one, and for `list_models`.
    #[serde(default)]
    pub provider: Option<ProviderConfig>,
    /// The application's own model list; replaces the provider's endpoint (no fallback).
    #[serde(skip)]
    pub on_list_models: Option<ListModelsHandler>,
    /// The transport (the reqwest HTTP transport when absent).
    #[serde(skip)]
    pub transport: Option<Arc<dyn Transport>>,
    /// Retries for every provider that does not set its own.
    #[serde(default, deserialize_with = "null_is_default")]
    pub retry: RetryPolicy,
    /// Timeouts for every provider that does not set its own.
    #[serde(default, deserialize_with = "null_is_default")]
    pub timeouts: Timeouts,
    /// Where sessions are kept: `"memory"`, `"sqlite:///abs/path.db"` or a `postgres://` URL.
    /// Default: SQLite at `$MODELPORT_HOME/sessions.db` (see [`store::modelport_home`]).
    #[serde(default, alias = "session_store")]
    pub session_store: Option<String>,
    /// A store of your own; wins over `session_store`.
    #[serde(skip)]
    pub store: Option<Arc<dyn SessionStore>>,
    /// The session lease: its lifetime and how long `resume_session` waits for a busy session.
    #[serde(default, alias = "session_lease", deserialize_with = "null_is_default")]
    pub session_lease: LeaseOptions,
    /// The provider registry: named providers (`{name, ...ProviderConfig}`); sessions select a
    /// model as `"<provider>/<id>"`. Not combined with `provider`.
    #[serde(default)]
    pub providers: Vec<crate::registry::NamedProvider>,
    /// The registry's models: `{id, provider, wireModel?, maxPromptTokens?, maxOutputTokens?}`.
    #[serde(default)]
    pub models: Vec<crate::registry::RegistryModel>,
}

/// A JSON null reads as the default, as an absent field does.
fn null_is_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("provider", &self.provider)
            .field("on_list_models", &self.on_list_models)
            .field("transport", &self.transport)
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .field(
                "session_store",
                &self.session_store.as_deref().map(store::without_password),
            )
            .field("store", &self.store)
            .field("session_lease", &self.session_lease)
            .field("providers", &self.providers)
            .field("models", &self.models)
            .finish()
    }
}

impl ClientOptions {
    /// Parses the JSON options `{provider?, retry?, timeouts?}` (empty text: the defaults), naming the
    /// path of a bad field. The provider is read as [`ProviderConfig::from_json`] reads it.
    pub fn from_json(json: &str) -> Result<Self> {
        if json.trim().is_empty() {
            return Ok(ClientOptions::default());
        }
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let top_level = e.path().iter().count() == 1;
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            // Copilot SDK options (cliPath, cliUrl, logLevel, ...) configure its runtime process.
            let hint = if top_level && inner.starts_with("unknown field") {
                " (modelport runs in-process: there is no CLI server to configure)"
            } else {
                ""
            };
            Error::config(format!("invalid client options at `{path}`: {inner}{hint}"))
        })
    }

    /// Sets the default provider.
    pub fn with_provider(mut self, provider: ProviderConfig) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Sets the model-list handler.
    pub fn with_on_list_models(mut self, handler: ListModelsHandler) -> Self {
        self.on_list_models = Some(handler);
        self
    }

    /// Sets the transport.
    pub fn with_transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Sets the retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets the session store by URL (`"memory"`, `"sqlite:///abs/path.db"`, `"postgres://..."`).
    pub fn with_session_store(mut self, url: impl Into<String>) -> Self {
        self.session_store = Some(url.into());
        self
    }

    /// Sets a store of your own.
    pub fn with_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Sets the session lease options.
    pub fn with_session_lease(mut self, lease: LeaseOptions) -> Self {
        self.session_lease = lease;
        self
    }
}

/// The entry point: holds the transport (one connection pool), the default provider and the
/// sessions. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<ClientShared>,
    models: Arc<ModelList>,
}

/// The model list: the application's handler, or the provider's endpoint, cached after a success.
struct ModelList {
    handler: Option<ListModelsHandler>,
    cache: OnceCell<Vec<ModelInfo>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("transport", &self.shared.transport)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client with `options`.
    pub fn new(options: ClientOptions) -> Result<Client> {
        let transport = match options.transport {
            Some(t) => t,
            None => crate::transport::default_transport(&options.timeouts)?,
        };
        if options.provider.is_some() && !options.providers.is_empty() {
            return Err(Error::config(
                "provider and providers cannot be combined: use providers (the registry) and                  select models as \"<provider>/<id>\", or one provider",
            ));
        }
        if options.session_lease.ttl.is_zero() {
            return Err(Error::config(
                "sessionLease.ttlMs must be more than 0 (default 30000): a lease that expires at \
                 once would let another client take every session",
            ));
        }
        let registry = (!options.providers.is_empty() || !options.models.is_empty())
            .then(|| crate::registry::Registry::new(options.providers, options.models))
            .transpose()?;
        let store = match (options.store, &options.session_store) {
            (Some(s), _) => s,
            (None, Some(url)) => store::open_store(url)?,
            (None, None) => store::default_store()?,
        };
        Ok(Client {
            shared: Arc::new(ClientShared {
                transport,
                retry: options.retry,
                timeouts: options.timeouts,
                root: CancellationToken::new(),
                default_provider: options.provider,
                default_state: Arc::default(),
                sessions: Mutex::default(),
                store,
                holder: Holder::current(),
                lease: options.session_lease,
                registry,
                endpoints: Mutex::default(),
            }),
            models: Arc::new(ModelList {
                handler: options.on_list_models,
                cache: OnceCell::new(),
            }),
        })
    }

    /// Creates a session. Errors name the field and the fix ("Model not specified", a bad base_url,
    /// the Azure endpoint confusions, duplicate tools...).
    pub async fn create_session(&self, config: SessionConfig) -> Result<Session> {
        self.open(config, None).await
    }

    /// Resumes a stored session by id, in this process or any other that shares the store. The
    /// config gives again what is never stored (credentials, tools, handlers); the model and the
    /// provider's endpoint default to the stored ones (the client's default provider, when set, wins
    /// over the stored endpoint). A live session of this client with that id is disconnected first.
    /// Emits `session.resume` unless `suppress_resume_event`. Errors: [`ErrorKind::SessionNotFound`],
    /// [`ErrorKind::SessionBusy`] (another client holds it; see `sessionLease.waitMs`),
    /// [`ErrorKind::Storage`].
    pub async fn resume_session(&self, id: &str, mut config: SessionConfig) -> Result<Session> {
        self.check_running()?;
        let live = lock(&self.shared.sessions).get(id).and_then(Weak::upgrade);
        if let Some(inner) = live {
            Session::from_inner(inner).disconnect().await;
        }
        let (lease, mut stored) = self.take_lease(id).await?;
        if config.model.is_none() {
            config.model = Some(stored.metadata.model.clone());
        }
        if config.provider.is_none() && self.shared.default_provider.is_none() {
            config.provider = stored
                .provider
                .take()
                .and_then(|p| serde_json::from_value::<ProviderConfig>(p).ok());
        }
        config.session_id = Some(id.to_owned());
        let result = self.open(config, Some((lease.clone(), stored))).await;
        if result.is_err() {
            let _ = self.shared.store.release(&lease).await;
        }
        result
    }

    /// Opens a stored session, waiting up to `sessionLease.waitMs` while another client holds it.
    async fn take_lease(&self, id: &str) -> Result<(Lease, StoredSession)> {
        let request = LeaseRequest {
            holder: self.shared.holder.clone(),
            ttl: self.shared.lease.ttl,
        };
        let deadline = tokio::time::Instant::now() + self.shared.lease.wait;
        loop {
            match self.shared.store.open(id, &request).await {
                Err(e)
                    if e.kind() == ErrorKind::SessionBusy
                        && tokio::time::Instant::now() < deadline =>
                {
                    let pause = std::time::Duration::from_millis(50);
                    tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + pause))
                        .await;
                }
                other => return other,
            }
        }
    }

    fn check_running(&self) -> Result<()> {
        if self.shared.root.is_cancelled() {
            return Err(Error::config(
                "the client is stopped: create a new Client to start sessions",
            ));
        }
        Ok(())
    }

    async fn open(
        &self,
        config: SessionConfig,
        stored: Option<(Lease, StoredSession)>,
    ) -> Result<Session> {
        self.check_running()?;
        let (provider, shared_state) = match (&config.provider, &self.shared.registry) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "SessionConfig.provider cannot be combined with the client's providers: select \
                     a registry model with model \"<provider>/<id>\"",
                ));
            }
            (None, Some(registry)) => {
                let (p, state) = registry.resolve(config.model.as_deref().unwrap_or(""))?;
                (p, Some(state))
            }
            (Some(p), None) => (p.clone(), None),
            (None, None) => match &self.shared.default_provider {
                Some(p) => (p.clone(), Some(self.shared.default_state.clone())),
                None => {
                    return Err(Error::config(
                        "no provider: set SessionConfig.provider or ClientOptions.provider (for \
                         example {type: \"openai\", baseUrl: \"https://api.openai.com/v1\", apiKey})",
                    ));
                }
            },
        };
        let resolve = || {
            let endpoint = provider.resolve(config.model.as_deref())?;
            Ok(match shared_state {
                Some(state) => endpoint.with_state(state),
                None => endpoint,
            })
        };
        let endpoint = self.shared.cached_endpoint(
            config.provider.as_ref(),
            config.model.as_deref().unwrap_or("").trim(),
            resolve,
        )?;
        let model = config.model.clone().unwrap_or_default().trim().to_owned();
        let tools = select_tools(&config)?;
        let mcp_servers = crate::mcp::check(&config.mcp_servers)?;
        let settings = Settings {
            streaming: config.streaming,
            system: config
                .system_message
                .as_ref()
                .map(|m| m.content.clone())
                .filter(|c| !c.is_empty()),
            specs: tools.iter().map(|t| t.spec().clone()).collect(),
            tools,
            reasoning_effort: config.reasoning_effort,
            tool_choice: config.tool_choice.clone(),
            parallel_tool_calls: config.parallel_tool_calls,
            sampling: crate::types::Sampling {
                temperature: config.temperature,
                top_p: config.top_p,
                stop: config.stop.clone(),
                seed: config.seed,
            },
            max_output_tokens: config.max_output_tokens,
            extra_body: config.extra_body.clone(),
            max_turns: config
                .max_turns
                .map_or(crate::session::DEFAULT_MAX_TURNS, |n| n as usize),
            response_format: config
                .response_format
                .as_ref()
                .map(crate::session::output::prepared),
            fallbacks: config
                .fallback_models
                .iter()
                .map(|name| self.shared.fallback_endpoint(name, &provider))
                .collect::<Result<_>>()?,
            permission: config.on_permission_request.clone(),
            hooks: config.hook_settings()?,
            mcp: None,
            window: self.window(&provider, &model).await,
            compaction: config.infinite_sessions.clone(),
            fixed_tokens: 0,
            provider,
        };
        config.infinite_sessions.validate()?;
        crate::session::Controls {
            sampling: settings.sampling.clone(),
            max_output_tokens: None,
            reasoning_effort: settings.reasoning_effort,
            tool_choice: settings.tool_choice.clone(),
            parallel_tool_calls: settings.parallel_tool_calls,
            extra_body: settings.extra_body.clone(),
            max_turns: settings.max_turns,
            response_format: settings.response_format.clone(),
        }
        .check(endpoint.wire_format())?;
        let mut settings = settings;
        let id = config
            .session_id
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(crate::util::new_id);
        let resumed = stored.is_some();
        let (lease, history, log, summary) = match stored {
            Some((lease, stored)) => {
                let mut history = stored.history;
                let committed = history.len();
                crate::session::repair_history(&mut history);
                (
                    lease,
                    (history, committed),
                    stored.events,
                    stored.metadata.summary.is_some(),
                )
            }
            None => {
                let lease = self
                    .shared
                    .store
                    .create(
                        &NewSession {
                            session_id: id.clone(),
                            model: model.clone(),
                            provider: serde_json::to_value(&settings.provider).ok(),
                            start_ms: store::now_ms(),
                        },
                        &LeaseRequest {
                            holder: self.shared.holder.clone(),
                            ttl: self.shared.lease.ttl,
                        },
                    )
                    .await?;
                (lease, (Vec::new(), 0), Vec::new(), false)
            }
        };
        let ((history, history_committed), event_count) = (history, log.len());
        let durable = Arc::new(Durable::new(
            self.shared.store.clone(),
            lease,
            self.shared.lease.ttl,
            event_count,
            history_committed,
            summary,
        ));
        // The servers start together; one that does not start leaves the session without its
        // tools (the loaded event says why), never fails it.
        let mut mcp_loaded = None;
        if !mcp_servers.is_empty() {
            let (hub, loaded) = crate::mcp::Hub::start(
                mcp_servers,
                settings.tools.iter().map(|t| t.name().to_owned()).collect(),
                config.available_tools.clone(),
                config.excluded_tools.clone(),
            )
            .await;
            settings.mcp = Some(hub);
            mcp_loaded = Some(loaded);
        }
        let all_specs = match &settings.mcp {
            Some(hub) => hub.specs_after(&settings.specs),
            None => settings.specs.clone(),
        };
        settings.fixed_tokens = (settings.system.as_deref().map_or(0, str::len)
            + serde_json::to_string(&all_specs).map_or(0, |s| s.len()))
        .div_ceil(4) as u64;
        let session = Session::create(
            self.shared.clone(),
            id.clone(),
            settings,
            model,
            endpoint,
            (history, log),
            Some(durable.clone()),
        );
        if let Some(hub) = &session.inner().settings.mcp {
            hub.attach(session.inner());
        }
        if resumed && !config.suppress_resume_event {
            session
                .inner()
                .bus
                .emit(EventData::SessionResume(SessionResumeData {
                    resume_time: crate::util::rfc3339_millis(std::time::SystemTime::now()),
                    event_count: event_count as u64,
                }));
        }
        if let Some(loaded) = mcp_loaded {
            session.inner().bus.emit(loaded);
        }
        // onSessionStart may give context for every request of the session; a failing hook is
        // reported by its hook.end event and changes nothing.
        let inner = session.inner();
        if inner.settings.hooks.has(HookKind::SessionStart) {
            let source = if resumed { "resume" } else { "new" };
            let kind = HookKind::SessionStart;
            if let Ok(out) = inner
                .settings
                .hooks
                .call(inner, kind, serde_json::json!({"source": source}))
                .await
                .and_then(|v| hooks::output::<hooks::SessionStartOutput>(kind, v))
            {
                lock(&inner.state).session_context =
                    out.additional_context.filter(|c| !c.trim().is_empty());
            }
        }
        // session.start (new) or session.resume and a repaired history (resumed) reach the store
        // before the session is handed out.
        if let Err(e) = session.inner().persist().await {
            durable.renewal.cancel();
            if !resumed {
                let _ = self.shared.store.delete(&id, &self.shared.holder).await;
            }
            return Err(e);
        }
        {
            let mut sessions = lock(&self.shared.sessions);
            sessions.retain(|_, w| w.strong_count() > 0);
            sessions.insert(id, Arc::downgrade(session.inner()));
        }
        Ok(session)
    }

    /// The prompt window of `model`: the provider's `maxPromptTokens`, else what the model list
    /// says (the application's `on_list_models`, or the provider's list when it was already fetched).
    async fn window(&self, provider: &ProviderConfig, model: &str) -> Option<u64> {
        if let Some(w) = provider.max_prompt_tokens {
            return Some(w);
        }
        let listed = match (&self.models.handler, self.models.cache.get()) {
            (_, Some(list)) => Some(list.clone()),
            (Some(_), None) => self.list_models().await.ok(),
            (None, None) => None,
        }?;
        let limits = &listed.iter().find(|m| m.id == model)?.capabilities.limits;
        limits
            .max_prompt_tokens
            .or(limits.max_context_window_tokens)
    }

    /// The stored sessions, most recently modified first.
    pub async fn list_sessions(&self) -> Result<Vec<SessionMetadata>> {
        self.shared.store.list().await
    }

    /// The id of the most recently modified session, if any.
    pub async fn get_last_session_id(&self) -> Result<Option<String>> {
        Ok(self
            .shared
            .store
            .list()
            .await?
            .into_iter()
            .next()
            .map(|m| m.session_id))
    }

    /// One stored session's metadata (`None` when there is no such session).
    pub async fn get_session_metadata(&self, id: &str) -> Result<Option<SessionMetadata>> {
        self.shared.store.metadata(id).await
    }

    /// Deletes a session from the store (a live session of this client is disconnected first);
    /// false when there was none. [`ErrorKind::SessionBusy`] when another client holds it.
    pub async fn delete_session(&self, id: &str) -> Result<bool> {
        let live = lock(&self.shared.sessions).get(id).and_then(Weak::upgrade);
        if let Some(inner) = live {
            Session::from_inner(inner).disconnect().await;
        }
        self.shared.store.delete(id, &self.shared.holder).await
    }

    /// A harmless no-op kept for drop-in use of the Copilot SDK's `client.start()`.
    pub async fn start(&self) -> Result<()> {
        Ok(())
    }

    /// Stops the client: aborts every running send, waits until each has ended, ends every event
    /// stream. Returns the errors met while stopping (none in normal operation).
    pub async fn stop(&self) -> Vec<Error> {
        self.shared.root.cancel();
        let live: Vec<Arc<SessionInner>> = lock(&self.shared.sessions)
            .drain()
            .filter_map(|(_, w)| w.upgrade())
            .collect();
        for inner in live {
            Session::from_inner(inner).disconnect_with("complete").await;
        }
        Vec::new()
    }

    /// The models available: the `on_list_models` handler's list when set (no fallback), otherwise
    /// the default provider's list endpoint, normalised to [`ModelInfo`]. Cached for the Client's life
    /// after the first success.
    pub async fn list_models(&self) -> Result<Vec<ModelInfo>> {
        self.models
            .cache
            .get_or_try_init(|| async {
                if let Some(handler) = &self.models.handler {
                    return handler.call().await;
                }
                if let Some(registry) = &self.shared.registry {
                    return Ok(registry.list());
                }
                let provider = self.shared.default_provider.as_ref().ok_or_else(|| {
                    Error::config(
                        "list_models needs a provider: set ClientOptions.provider, or \
                         ClientOptions.on_list_models to supply the list yourself",
                    )
                })?;
                // The model is not part of a list request; any valid name routes it.
                let endpoint = provider
                    .resolve(Some("list-models"))?
                    .with_state(self.shared.default_state.clone());
                let mut models = Vec::new();
                let mut cursor: Option<String> = None;
                loop {
                    let mut url = url::Url::parse(endpoint.models_url()).map_err(|e| {
                        Error::config(format!("the model list URL is not valid: {e}"))
                    })?;
                    if endpoint.provider_type() == crate::ProviderType::Anthropic {
                        let mut query = url.query_pairs_mut();
                        query.append_pair("limit", "1000");
                        if let Some(after) = &cursor {
                            query.append_pair("after_id", after);
                        }
                    }
                    let body = self.get_json(&endpoint, url.as_str()).await?;
                    let (page, next) = parse_page(&body);
                    models.extend(page);
                    match next {
                        Some(n) if cursor.as_ref() != Some(&n) => cursor = Some(n),
                        _ => break,
                    }
                }
                Ok(models)
            })
            .await
            .cloned()
    }

    /// GETs `url` from the provider as JSON, with its auth, the timeouts and the retry policy.
    async fn get_json(&self, endpoint: &Endpoint, url: &str) -> Result<Value> {
        let (policy, timeouts) = self.shared.policy_for(endpoint);
        let mut headers = endpoint.headers().clone();
        headers.remove(http::header::CONTENT_TYPE);
        headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        let mut request = HttpRequest::new(Bytes::new());
        *request.uri_mut() = url
            .parse()
            .map_err(|e| Error::config(format!("the model list URL {url} is not valid: {e}")))?;
        *request.headers_mut() = headers;
        let exchange = Exchange {
            endpoint,
            transport: &*self.shared.transport,
            policy: &policy,
            timeouts: &timeouts,
            cancel: &self.shared.root,
            session_id: None,
            secrets: Vec::new(),
        };
        exchange
            .run(
                request,
                |mut response: HttpResponse, mut watch| async move {
                    let bytes = read_body(&mut watch, &mut response.body, MAX_BODY, false)
                        .await
                        .map_err(AttemptError::before_output)?;
                    serde_json::from_slice::<Value>(&bytes).map_err(|e| {
                        AttemptError::before_output(Error::new(
                            ErrorKind::Decode,
                            format!("the model list from {url} is not JSON: {e}"),
                        ))
                    })
                },
                |_| None,
                |_, _, _| {},
            )
            .await
            .map_err(|e| match e {
                CallError::Cancelled(_) => Error::cancelled("the client was stopped"),
                CallError::Failed(e) | CallError::AfterOutput(e) => e,
            })
    }

    /// Whether `stop()` was called.
    pub fn is_stopped(&self) -> bool {
        self.shared.root.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::ErrorKind;

    #[test]
    fn client_options_from_json() {
        let o = ClientOptions::from_json(
            r#"{"provider": {"type": "anthropic", "baseUrl": "https://api.anthropic.com"},
                "retry": {"maxRetries": 0}, "timeouts": {"connect_ms": 250}}"#,
        )
        .unwrap();
        assert_eq!(
            o.provider.map(|p| p.provider_type),
            Some(crate::ProviderType::Anthropic)
        );
        assert_eq!(o.retry.max_retries, 0);
        assert_eq!(o.timeouts.connect, Duration::from_millis(250));
        assert_eq!(o.timeouts.total, Timeouts::default().total);

        for blank in [
            "",
            "  ",
            "{}",
            r#"{"provider": null, "retry": null, "timeouts": null}"#,
        ] {
            let o = ClientOptions::from_json(blank).unwrap();
            assert!(o.provider.is_none(), "{blank}");
            assert_eq!(o.retry, RetryPolicy::default(), "{blank}");
            assert_eq!(o.timeouts, Timeouts::default(), "{blank}");
        }
    }

    #[test]
    fn client_options_errors_name_the_field() {
        let message = |json: &str| {
            let e = ClientOptions::from_json(json).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{json}");
            e.message().to_owned()
        };
        let m = message(r#"{"retry": {"maxRetries": "two"}}"#);
        assert!(
            m.starts_with("invalid client options at `retry.maxRetries`:"),
            "{m}"
        );
        let m = message(r#"{"provider": {"bseUrl": "http://x", "apiKey": "sk-SECRET-1"}}"#);
        assert!(m.contains("`provider.bseUrl`"), "{m}");
        assert!(!m.contains("no CLI server"), "{m}");
        assert!(!m.contains("SECRET"), "{m}");
        let m = message(r#"{"cliUrl": "localhost:8080"}"#);
        assert!(m.contains("`cliUrl`") && m.contains("no CLI server"), "{m}");
        let m = message(r#"{"provider": "#);
        assert!(m.starts_with("invalid client options"), "{m}");
        let e = Client::new(
            ClientOptions::from_json(r#"{"sessionStore": "memory", "sessionLease": {"ttlMs": 0}}"#)
                .unwrap(),
        )
        .unwrap_err();
        assert!(e.message().starts_with("sessionLease.ttlMs"), "{e}");
    }
}
