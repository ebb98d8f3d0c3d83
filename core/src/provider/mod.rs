//! Provider configuration: who to call, with which credentials, in which wire format.
//!
//! [`ProviderConfig`] follows the Copilot SDK's BYOK `ProviderConfig` (`type`, `baseUrl`, `apiKey`,
//! `bearerToken`, `wireApi`, `azure.apiVersion`) plus a token provider, extra headers, a wire model name
//! and an output cap. [`Endpoint`] is the validated, routed form the engine uses.

mod routing;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::secret::{Headers, SecretString, scrub_texts};
use crate::types::{RetryPolicy, Timeouts};
use crate::util::lock;
pub use routing::{Endpoint, ProviderState};

/// The Azure API version used for chat completions when none is given.
pub const DEFAULT_AZURE_API_VERSION: &str = "2024-10-21";
pub use crate::wire::DEFAULT_ANTHROPIC_MAX_TOKENS;

/// Which kind of provider: decides routing and authentication.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ProviderType {
    /// OpenAI and every OpenAI-compatible server (Ollama, vLLM, LiteLLM, llama.cpp, Foundry Local,
    /// Azure AI Foundry's /openai/v1/ endpoints).
    #[default]
    OpenAi,
    /// A native Azure OpenAI resource (`https://RES.openai.azure.com`, host only).
    Azure,
    /// Anthropic's Messages API.
    Anthropic,
}

impl ProviderType {
    /// The config spelling: "openai", "azure" or "anthropic".
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderType::OpenAi => "openai",
            ProviderType::Azure => "azure",
            ProviderType::Anthropic => "anthropic",
        }
    }
}

impl FromStr for ProviderType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "openai" | "" => Ok(ProviderType::OpenAi),
            "azure" => Ok(ProviderType::Azure),
            "anthropic" => Ok(ProviderType::Anthropic),
            _ => Err(Error::config(format!(
                "provider.type \"{s}\" is not supported: use \"openai\" (also for Ollama, vLLM, LiteLLM, \
                 llama.cpp and Foundry Local), \"azure\" or \"anthropic\""
            ))),
        }
    }
}

/// Which OpenAI wire format to speak. Ignored for Anthropic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WireApi {
    /// Chat Completions (`/chat/completions`), the default.
    #[default]
    Completions,
    /// The Responses API (`/responses`).
    Responses,
}

impl WireApi {
    /// The config spelling: "completions" or "responses".
    pub fn as_str(self) -> &'static str {
        match self {
            WireApi::Completions => "completions",
            WireApi::Responses => "responses",
        }
    }
}

impl FromStr for WireApi {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "completions" | "chat" | "" => Ok(WireApi::Completions),
            "responses" => Ok(WireApi::Responses),
            _ => Err(Error::config(format!(
                "provider.wire_api \"{s}\" is not supported: use \"completions\" (Chat Completions, the \
                 default) or \"responses\" (Responses API)"
            ))),
        }
    }
}

macro_rules! string_enum_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(
                &self,
                s: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(
                d: D,
            ) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse()
                    .map_err(|e: Error| serde::de::Error::custom(e.message()))
            }
        }
    };
}
string_enum_serde!(ProviderType);
string_enum_serde!(WireApi);

/// Azure-specific options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AzureOptions {
    /// The `api-version` query parameter. Default "2024-10-21" for chat completions; "v1" selects the
    /// GA `/openai/v1/` route; the Responses API without an explicit version uses the v1 route.
    #[serde(
        default,
        alias = "api_version",
        skip_serializing_if = "Option::is_none"
    )]
    pub api_version: Option<String>,
}

/// What a [`TokenProvider`] is asked for.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenRequest {
    /// The provider type ("openai", "azure", "anthropic").
    pub provider_name: String,
    /// The session the request is for, when there is one (not for `list_models`).
    pub session_id: Option<String>,
}

/// A bearer token, optionally with its expiry (then it is reused until 60 s before it).
#[derive(Clone, Debug)]
pub struct BearerToken {
    /// The token.
    pub token: SecretString,
    /// When the token stops being valid.
    pub expires_at: Option<SystemTime>,
}

impl BearerToken {
    /// A token without a known expiry: the provider is asked again before every request.
    pub fn new(token: impl Into<SecretString>) -> Self {
        BearerToken {
            token: token.into(),
            expires_at: None,
        }
    }

    /// A token valid until `expires_at`.
    pub fn with_expiry(token: impl Into<SecretString>, expires_at: SystemTime) -> Self {
        BearerToken {
            token: token.into(),
            expires_at: Some(expires_at),
        }
    }
}

type TokenFn = dyn Fn(TokenRequest) -> BoxFuture<'static, Result<BearerToken>> + Send + Sync;

/// A token provider call that every waiting request shares.
type TokenFetch = Shared<BoxFuture<'static, Result<BearerToken>>>;

/// A token is reused until this long before its expiry.
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// A callback returning a fresh bearer token (Entra ID, OIDC, a vault...). Called before every
/// request, retries included, unless the last token has an expiry more than 60 s away.
///
/// Clones share one cache and one call in flight: sessions that need a token at the same moment
/// wait for a single call of the callback (single flight), whichever provider config they came from.
#[derive(Clone)]
pub struct TokenProvider {
    call: Arc<TokenFn>,
    cache: Arc<TokenCache>,
}

#[derive(Default)]
struct TokenCache {
    /// The last token, when it has an expiry.
    token: Mutex<Option<BearerToken>>,
    /// The call in flight, with its number.
    fetching: Mutex<Option<(u64, TokenFetch)>>,
    next_fetch: AtomicU64,
    /// Bumped by `invalidate`: a call that started before may not fill the cache.
    epoch: AtomicU64,
}

impl TokenProvider {
    /// Wraps an async function.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(TokenRequest) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<BearerToken>> + Send + 'static,
    {
        TokenProvider {
            call: Arc::new(move |req| Box::pin(f(req))),
            cache: Arc::default(),
        }
    }

    /// Asks the callback for a token (no cache, no timeout).
    pub fn call(&self, request: TokenRequest) -> BoxFuture<'static, Result<BearerToken>> {
        (self.call)(request)
    }

    /// A token for a request: the cached one while it has more than 60 s left, else a fresh one.
    /// Concurrent callers share one call of the callback, which runs as its own task (it finishes,
    /// and fills the cache, even if every caller gave up); a callback that fails, panics or does not
    /// answer within `timeout` gives each of them an Auth error.
    pub(crate) async fn token(
        &self,
        request: TokenRequest,
        timeout: Duration,
    ) -> Result<SecretString> {
        if let Some(t) = lock(&self.cache.token).as_ref()
            && t.expires_at.is_some_and(|at| {
                at.duration_since(SystemTime::now())
                    .is_ok_and(|left| left > TOKEN_REFRESH_MARGIN)
            })
        {
            return Ok(t.token.clone());
        }
        let fetch = {
            let mut slot = lock(&self.cache.fetching);
            match slot.as_ref() {
                Some((_, f)) => f.clone(),
                None => {
                    let id = self.cache.next_fetch.fetch_add(1, Ordering::Relaxed);
                    let call = self.call.clone();
                    let f = spawn_fetch(self.cache.clone(), id, call, request, timeout);
                    *slot = Some((id, f.clone()));
                    f
                }
            }
        };
        fetch.await.map(|t| t.token)
    }

    /// Forgets the cached token (after a 401): the next request asks the callback again, and a call
    /// that was already running may not put its token back.
    pub(crate) fn invalidate(&self) {
        self.cache.epoch.fetch_add(1, Ordering::AcqRel);
        *lock(&self.cache.token) = None;
        *lock(&self.cache.fetching) = None;
    }
}

/// Runs one call of the callback as its own task: it fills the cache (unless invalidated since it
/// started) and then leaves the slot, whether or not anyone still waits for it.
fn spawn_fetch(
    cache: Arc<TokenCache>,
    id: u64,
    call: Arc<TokenFn>,
    request: TokenRequest,
    timeout: Duration,
) -> TokenFetch {
    let epoch = cache.epoch.load(Ordering::Acquire);
    let owner = cache.clone();
    let task = tokio::spawn(async move {
        // Called inside the task, so that a callback that panics, even before returning its
        // future, fails this call and not the caller's thread.
        let result = fetch_token(call(request), timeout).await;
        if let Ok(token) = &result
            && token.expires_at.is_some()
            && cache.epoch.load(Ordering::Acquire) == epoch
        {
            *lock(&cache.token) = Some(token.clone());
        }
        let mut slot = lock(&cache.fetching);
        if slot.as_ref().is_some_and(|(current, _)| *current == id) {
            *slot = None;
        }
        result
    });
    async move {
        task.await.unwrap_or_else(|_| {
            // The task panicked before leaving its slot: leave it now, so the next call retries.
            let mut slot = lock(&owner.fetching);
            if slot.as_ref().is_some_and(|(current, _)| *current == id) {
                *slot = None;
            }
            Err(Error::new(
                ErrorKind::Auth,
                "the bearer_token_provider panicked: fix the callback (modelport kept running)",
            ))
        })
    }
    .boxed()
    .shared()
}

/// One call of the token provider, bounded by `timeout`.
async fn fetch_token(
    call: BoxFuture<'static, Result<BearerToken>>,
    timeout: Duration,
) -> Result<BearerToken> {
    let token = match tokio::time::timeout(timeout, call).await {
        Ok(Ok(token)) => token,
        Ok(Err(e)) => {
            return Err(Error::new(
                ErrorKind::Auth,
                format!("the bearer_token_provider failed: {}", e.message()),
            )
            .with_source(e));
        }
        Err(_) => {
            return Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "the bearer_token_provider did not return a token within {} ms: check the \
                     credential source it calls, or raise timeouts.tokenMs",
                    timeout.as_millis()
                ),
            ));
        }
    };
    if token.token.is_empty() {
        return Err(Error::new(
            ErrorKind::Auth,
            "the bearer_token_provider returned an empty token",
        ));
    }
    Ok(token)
}

/// Two token providers are equal when they are clones of one (they share the callback).
impl PartialEq for TokenProvider {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.call, &other.call)
    }
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenProvider")
    }
}

/// Where and how to reach a model provider.
///
/// Deserialises from camelCase (`baseUrl`, the Copilot SDK's spelling) or snake_case keys. Serialises to
/// camelCase without secrets or callbacks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderConfig {
    /// "openai" (default), "azure" or "anthropic".
    #[serde(rename = "type", default)]
    pub provider_type: ProviderType,
    /// The API endpoint. openai: include `/v1`; azure: just the host; anthropic: `https://api.anthropic.com`.
    #[serde(default, alias = "base_url", skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// API key (optional for local servers).
    #[serde(default, alias = "api_key", skip_serializing)]
    pub api_key: Option<SecretString>,
    /// A static bearer token; wins over `api_key`.
    #[serde(default, alias = "bearer_token", skip_serializing)]
    pub bearer_token: Option<SecretString>,
    /// A callback returning bearer tokens; wins over both.
    #[serde(skip)]
    pub bearer_token_provider: Option<TokenProvider>,
    /// "completions" (default) or "responses".
    #[serde(default, alias = "wire_api")]
    pub wire_api: WireApi,
    /// Azure options (`apiVersion`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure: Option<AzureOptions>,
    /// Extra headers on every request to this provider; same name overrides the default. Values of
    /// sensitive names (`api-key`, `Authorization`, `*key*`, `*token*`...) are secrets.
    #[serde(default, skip_serializing_if = "Headers::is_empty")]
    pub headers: Headers,
    /// The model name sent on the wire, when it differs from the session's model.
    #[serde(default, alias = "wire_model", skip_serializing_if = "Option::is_none")]
    pub wire_model: Option<String>,
    /// Output cap: Anthropic `max_tokens` (default 8192), OpenAI `max_completion_tokens` /
    /// `max_output_tokens`.
    #[serde(
        default,
        alias = "max_output_tokens",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_output_tokens: Option<u32>,
    /// The model's prompt window in tokens (the Copilot SDK's BYOK field): sessions compact their
    /// history before it fills up (see `infiniteSessions`). Unknown when absent, unless the model
    /// list reports it.
    #[serde(
        default,
        alias = "max_prompt_tokens",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_prompt_tokens: Option<u64>,
    /// Anthropic: structured answers (`responseFormat`) through Anthropic's native
    /// `output_format` parameter (beta header `structured-outputs-2025-11-13`) instead of a forced
    /// answer tool. Off by default.
    #[serde(
        default,
        alias = "native_structured_output",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub native_structured_output: bool,
    /// Retry policy for this provider; overrides the Client's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    /// Timeouts for this provider; override the Client's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
}

impl ProviderConfig {
    /// An OpenAI or OpenAI-compatible provider at `base_url` (which includes `/v1`).
    pub fn openai(base_url: impl Into<String>) -> Self {
        ProviderConfig {
            provider_type: ProviderType::OpenAi,
            base_url: Some(base_url.into()),
            ..Default::default()
        }
    }

    /// A native Azure OpenAI resource at `host` (`https://RES.openai.azure.com`).
    pub fn azure(host: impl Into<String>) -> Self {
        ProviderConfig {
            provider_type: ProviderType::Azure,
            base_url: Some(host.into()),
            ..Default::default()
        }
    }

    /// Anthropic at `base_url` (`https://api.anthropic.com`).
    pub fn anthropic(base_url: impl Into<String>) -> Self {
        ProviderConfig {
            provider_type: ProviderType::Anthropic,
            base_url: Some(base_url.into()),
            ..Default::default()
        }
    }

    /// Sets the API key.
    pub fn with_api_key(mut self, key: impl Into<SecretString>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets a static bearer token.
    pub fn with_bearer_token(mut self, token: impl Into<SecretString>) -> Self {
        self.bearer_token = Some(token.into());
        self
    }

    /// Sets a token provider.
    pub fn with_bearer_token_provider(mut self, provider: TokenProvider) -> Self {
        self.bearer_token_provider = Some(provider);
        self
    }

    /// Sets the wire API.
    pub fn with_wire_api(mut self, wire_api: WireApi) -> Self {
        self.wire_api = wire_api;
        self
    }

    /// Sets the Azure API version ("2024-10-21", "v1", ...).
    pub fn with_azure_api_version(mut self, version: impl Into<String>) -> Self {
        self.azure = Some(AzureOptions {
            api_version: Some(version.into()),
        });
        self
    }

    /// Adds a header sent on every request to this provider.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Sets the model name sent on the wire.
    pub fn with_wire_model(mut self, model: impl Into<String>) -> Self {
        self.wire_model = Some(model.into());
        self
    }

    /// Sets the prompt window.
    pub fn with_max_prompt_tokens(mut self, max: u64) -> Self {
        self.max_prompt_tokens = Some(max);
        self
    }

    /// Sets the output cap.
    pub fn with_max_output_tokens(mut self, max: u32) -> Self {
        self.max_output_tokens = Some(max);
        self
    }

    /// Sets this provider's retry policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Sets this provider's timeouts.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// Parses a JSON config, naming the path of any bad field (`azure.apiVersion: ...`).
    pub fn from_json(json: &str) -> Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            Error::config(format!("invalid provider config at `{path}`: {inner}"))
        })
    }

    /// Reads a provider from the environment, only when `MODELPORT_PROVIDER` is set (explicit opt-in):
    /// `MODELPORT_PROVIDER` (openai|azure|anthropic), `MODELPORT_BASE_URL`, `MODELPORT_API_KEY`
    /// (falling back to `OPENAI_API_KEY` / `AZURE_OPENAI_API_KEY` / `ANTHROPIC_API_KEY` for that type),
    /// `MODELPORT_MODEL` (required), and optionally `MODELPORT_WIRE_API` and
    /// `MODELPORT_AZURE_API_VERSION`. Returns `Ok(None)` when `MODELPORT_PROVIDER` is unset.
    pub fn from_env() -> Result<Option<(ProviderConfig, String)>> {
        Self::from_env_with(|k| std::env::var(k).ok())
    }

    /// [`from_env`](Self::from_env) over any variable lookup (for tests and embedders).
    pub fn from_env_with(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<(ProviderConfig, String)>> {
        let get = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        let Some(kind) = get("MODELPORT_PROVIDER") else {
            return Ok(None);
        };
        let provider_type: ProviderType = kind
            .parse()
            .map_err(|e: Error| Error::config(format!("MODELPORT_PROVIDER: {}", e.message())))?;
        let (default_base, key_fallback) = match provider_type {
            ProviderType::OpenAi => (Some("https://api.openai.com/v1"), "OPENAI_API_KEY"),
            ProviderType::Azure => (None, "AZURE_OPENAI_API_KEY"),
            ProviderType::Anthropic => (Some("https://api.anthropic.com"), "ANTHROPIC_API_KEY"),
        };
        let base_url = match get("MODELPORT_BASE_URL") {
            Some(url) => url,
            None => default_base.map(str::to_owned).ok_or_else(|| {
                Error::config(
                    "MODELPORT_BASE_URL is required with MODELPORT_PROVIDER=azure: set it to your \
                     resource host, e.g. https://YOUR-RESOURCE.openai.azure.com",
                )
            })?,
        };
        let model = get("MODELPORT_MODEL").ok_or_else(|| {
            Error::config(
                "Model not specified: MODELPORT_PROVIDER is set, so set MODELPORT_MODEL too (the model \
                 or Azure deployment name)",
            )
        })?;
        let mut config = ProviderConfig {
            provider_type,
            base_url: Some(base_url),
            api_key: get("MODELPORT_API_KEY")
                .or_else(|| get(key_fallback))
                .map(SecretString::new),
            ..Default::default()
        };
        if let Some(w) = get("MODELPORT_WIRE_API") {
            config.wire_api = w.parse().map_err(|e: Error| {
                Error::config(format!("MODELPORT_WIRE_API: {}", e.message()))
            })?;
        }
        if let Some(v) = get("MODELPORT_AZURE_API_VERSION") {
            config.azure = Some(AzureOptions {
                api_version: Some(v),
            });
        }
        Ok(Some((config, model)))
    }

    /// Validates this provider for `model` and computes its routes: the one check every session
    /// creation runs. Errors name the field and the fix.
    pub fn resolve(&self, model: Option<&str>) -> Result<Endpoint> {
        let model = match model.map(str::trim) {
            Some(m) if !m.is_empty() => m,
            _ => {
                return Err(Error::config(
                    "Model not specified: a session with a custom provider needs `model` (the model \
                     name, or the deployment name on Azure), e.g. model: \"gpt-4o\"",
                ));
            }
        };
        Endpoint::new(self, model)
    }

    /// Every secret text this provider holds (keys, tokens, sensitive header values), for scrubbing
    /// what a provider echoes back.
    pub(crate) fn secrets(&self) -> Vec<SecretString> {
        let mut secrets: Vec<SecretString> = self
            .api_key
            .iter()
            .chain(self.bearer_token.iter())
            .cloned()
            .collect();
        for value in self.headers.secrets() {
            secrets.extend(scrub_texts(value).map(SecretString::new));
        }
        secrets
    }
}

#[cfg(test)]
mod tests;
