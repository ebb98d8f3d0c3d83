//! Routing: the URL, query, headers and authentication of each provider type and wire format.
//!
//! | provider | completions | responses | list models |
//! |---|---|---|---|
//! | openai | {base}/chat/completions | {base}/responses | {base}/models |
//! | azure, api_version V | {host}/openai/deployments/{model}/chat/completions?api-version=V | {host}/openai/responses?api-version=V | {host}/openai/models?api-version=V |
//! | azure, "v1" | {host}/openai/v1/chat/completions | {host}/openai/v1/responses | {host}/openai/v1/models |
//! | anthropic | {base}/v1/messages | same | {base}/v1/models |

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use super::{DEFAULT_AZURE_API_VERSION, ProviderConfig, ProviderType, TokenProvider, WireApi};
use crate::error::{Error, Result};
use crate::secret::{SecretString, is_sensitive_header};
use crate::types::{RetryPolicy, Timeouts, WireFormat};
use crate::wire::{self, ModelCall};

/// A validated provider with its routes computed: what the engine and the transport use. Cheap to
/// clone (shared).
#[derive(Clone)]
pub struct Endpoint {
    inner: Arc<Routes>,
    state: Arc<ProviderState>,
}

/// The immutable part of an [`Endpoint`].
struct Routes {
    provider_type: ProviderType,
    wire: WireFormat,
    call_url: String,
    /// `call_url` parsed once, for every request.
    call_uri: http::Uri,
    models_url: String,
    headers: HeaderMap,
    token_provider: Option<TokenProvider>,
    wire_model: String,
    max_output_tokens: Option<u32>,
    secrets: Vec<SecretString>,
    azure_deployment: Option<(String, String)>,
    retry: Option<RetryPolicy>,
    timeouts: Option<Timeouts>,
    base_url: String,
}

/// What a provider teaches us at run time, shared by the sessions that use it: whether it rejects
/// `stream_options`. (The bearer token cache lives in the [`TokenProvider`] itself.)
#[derive(Debug, Default)]
pub struct ProviderState {
    no_stream_options: AtomicBool,
}

impl ProviderState {
    /// Whether chat streaming must go without `stream_options`.
    pub(crate) fn no_stream_options(&self) -> bool {
        self.no_stream_options.load(Ordering::Relaxed)
    }

    /// Remembers that the provider rejects `stream_options`.
    pub(crate) fn set_no_stream_options(&self) {
        self.no_stream_options.store(true, Ordering::Relaxed);
    }
}

enum AzureRoute {
    Versioned(String),
    V1,
}

fn is_native_azure_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host.ends_with(".openai.azure.com") || host.ends_with(".cognitiveservices.azure.com")
}

/// Percent-encodes one path segment (deployment names go into the path on Azure).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `base` with `suffix` appended to its path (no double slash) and an optional query pair.
fn join(base: &Url, suffix: &str, query: Option<(&str, &str)>) -> String {
    let mut url = base.clone();
    let path = format!("{}{}", base.path().trim_end_matches('/'), suffix);
    url.set_path(&path);
    if let Some((k, v)) = query {
        url.query_pairs_mut().append_pair(k, v);
    }
    url.into()
}

fn header_value(field: &str, value: &str, sensitive: bool) -> Result<HeaderValue> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        Error::config(format!(
            "{field} contains characters that are not allowed in an HTTP header (control characters \
             or a line break): check the value for a trailing newline"
        ))
    })?;
    v.set_sensitive(sensitive);
    Ok(v)
}

/// The base URL, parsed and checked: an absolute http(s) URL with a host.
struct Base<'a> {
    raw: &'a str,
    url: Url,
    /// scheme://host[:port], as the user gave them: what fix suggestions are built on.
    origin: String,
    host: String,
    /// The path without its trailing slash.
    path: String,
}

impl<'a> Base<'a> {
    fn parse(config: &'a ProviderConfig) -> Result<Base<'a>> {
        let raw = config
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Error::config(
                    "provider.base_url is required: set it to the API endpoint, e.g. \
                     https://api.openai.com/v1 (openai), https://YOUR-RESOURCE.openai.azure.com (azure), \
                     https://api.anthropic.com (anthropic) or http://localhost:11434/v1 (Ollama)",
                )
            })?;
        let url = Url::parse(raw).map_err(|e| {
            Error::config(format!(
                "provider.base_url \"{raw}\" is not a valid URL ({e}): use an absolute http(s) URL such as \
                 https://api.openai.com/v1"
            ))
        })?;
        let Some(host) = url
            .host_str()
            .filter(|_| matches!(url.scheme(), "http" | "https"))
        else {
            return Err(Error::config(format!(
                "provider.base_url \"{raw}\" must be an http:// or https:// URL with a host, such as \
                 https://api.openai.com/v1"
            )));
        };
        Ok(Base {
            raw,
            host: host.to_owned(),
            origin: url.origin().ascii_serialization(),
            path: url.path().trim_end_matches('/').to_owned(),
            url,
        })
    }
}

/// The routes of one provider type: the call URL, the model-list URL, and for Azure's routes the
/// deployment and api-version (named in 404 messages).
struct TypeRoutes {
    call: String,
    models: String,
    azure_deployment: Option<(String, String)>,
}

/// type "openai": `{base}/chat/completions` or `{base}/responses`, `{base}/models`. A native Azure
/// host without the /openai/v1 path is the classic mix-up, refused with the fix.
fn openai_routes(base: &Base<'_>, wire: WireFormat) -> Result<TypeRoutes> {
    if is_native_azure_host(&base.host) && !base.path.to_ascii_lowercase().starts_with("/openai/v1")
    {
        let (raw, origin) = (base.raw, &base.origin);
        return Err(Error::config(format!(
            "type \"openai\" with {raw}: this is a native Azure endpoint; use type \"azure\" with the \
             host as base_url, or base_url {origin}/openai/v1/ with type \"openai\""
        )));
    }
    let call = match wire {
        WireFormat::OpenAiResponses => "/responses",
        _ => "/chat/completions",
    };
    Ok(TypeRoutes {
        call: join(&base.url, call, None),
        models: join(&base.url, "/models", None),
        azure_deployment: None,
    })
}

/// type "anthropic": `{base}/v1/messages` and `{base}/v1/models`, without doubling a given /v1.
fn anthropic_routes(base: &Base<'_>) -> TypeRoutes {
    let prefix = if base.path.ends_with("/v1") {
        ""
    } else {
        "/v1"
    };
    TypeRoutes {
        call: join(&base.url, &format!("{prefix}/messages"), None),
        models: join(&base.url, &format!("{prefix}/models"), None),
        azure_deployment: None,
    }
}

/// type "azure": the host only; the versioned deployment route, or the GA /openai/v1 route for
/// api-version "v1" and for the Responses API without an explicit version.
fn azure_routes(
    base: &Base<'_>,
    config: &ProviderConfig,
    wire: WireFormat,
    deployment: &str,
) -> Result<TypeRoutes> {
    if !base.path.is_empty() {
        let (raw, origin) = (base.raw, &base.origin);
        return Err(Error::config(format!(
            "provider.base_url for type \"azure\" must be just the host ({origin}), not {raw}: \
             remove the path, or use type \"openai\" for /openai/v1/ endpoints (Azure AI Foundry)"
        )));
    }
    let explicit = match config.azure.as_ref().and_then(|a| a.api_version.as_deref()) {
        Some(v) if v.trim().is_empty() => {
            return Err(Error::config(
                "provider.azure.api_version is empty: remove it for the default (2024-10-21), or set \
                 \"v1\" for the /openai/v1/ route",
            ));
        }
        Some(v) => Some(v.trim()),
        None => None,
    };
    let route = match (explicit, wire) {
        (Some(v), _) if v.eq_ignore_ascii_case("v1") => AzureRoute::V1,
        (Some(v), _) => AzureRoute::Versioned(v.to_owned()),
        (None, WireFormat::OpenAiResponses) => AzureRoute::V1,
        (None, _) => AzureRoute::Versioned(DEFAULT_AZURE_API_VERSION.to_owned()),
    };
    let url = &base.url;
    Ok(match route {
        AzureRoute::V1 => {
            let call = match wire {
                WireFormat::OpenAiResponses => "/openai/v1/responses",
                _ => "/openai/v1/chat/completions",
            };
            TypeRoutes {
                call: join(url, call, None),
                models: join(url, "/openai/v1/models", None),
                azure_deployment: Some((deployment.to_owned(), "v1".to_owned())),
            }
        }
        AzureRoute::Versioned(v) => {
            let q = Some(("api-version", v.as_str()));
            let call = match wire {
                WireFormat::OpenAiResponses => join(url, "/openai/responses", q),
                _ => join(
                    url,
                    &format!(
                        "/openai/deployments/{}/chat/completions",
                        encode_segment(deployment)
                    ),
                    q,
                ),
            };
            TypeRoutes {
                call,
                models: join(url, "/openai/models", q),
                azure_deployment: Some((deployment.to_owned(), v)),
            }
        }
    })
}

/// Every request's headers: content type, user agent, Anthropic's version, the static credential
/// in the provider type's header (a token provider's token is added per attempt instead), then the
/// provider's own `headers`, sensitive ones marked so.
fn static_headers(config: &ProviderConfig) -> Result<HeaderMap> {
    let ty = config.provider_type;
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::USER_AGENT,
        HeaderValue::from_static(concat!("modelport/", env!("CARGO_PKG_VERSION"))),
    );
    if ty == ProviderType::Anthropic {
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static("2023-06-01"),
        );
    }
    let api_key = config.api_key.as_ref().filter(|k| !k.is_empty());
    let bearer = config.bearer_token.as_ref().filter(|k| !k.is_empty());
    if config.bearer_token_provider.is_none() {
        if let Some(token) = bearer {
            let value = format!("Bearer {}", token.expose());
            headers.insert(
                http::header::AUTHORIZATION,
                header_value("provider.bearer_token", &value, true)?,
            );
        } else if let Some(key) = api_key {
            let (name, value) = match ty {
                ProviderType::OpenAi => (
                    http::header::AUTHORIZATION,
                    format!("Bearer {}", key.expose()),
                ),
                ProviderType::Azure => {
                    (HeaderName::from_static("api-key"), key.expose().to_owned())
                }
                ProviderType::Anthropic => (
                    HeaderName::from_static("x-api-key"),
                    key.expose().to_owned(),
                ),
            };
            headers.insert(name, header_value("provider.api_key", &value, true)?);
        }
    }
    for (name, value, _) in config.headers.iter() {
        if name.trim().is_empty() {
            return Err(Error::config(
                "provider.headers has an empty header name: remove it or give the header a name",
            ));
        }
        let hn = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
            Error::config(format!(
                "provider.headers: \"{name}\" is not a valid header name: use letters, digits and \
                 '-' only"
            ))
        })?;
        let sensitive = is_sensitive_header(hn.as_str());
        let field = format!("provider.headers[\"{name}\"]");
        headers.insert(hn, header_value(&field, value, sensitive)?);
    }
    Ok(headers)
}

/// The model name on the wire: `wire_model` when set (not empty), else the session's model.
fn wire_model(config: &ProviderConfig, model: &str) -> Result<String> {
    match config.wire_model.as_deref().map(str::trim) {
        Some("") => Err(Error::config(
            "provider.wire_model is empty: remove it to send the session's model, or set the \
             model name the provider expects",
        )),
        Some(m) => Ok(m.to_owned()),
        None => Ok(model.to_owned()),
    }
}

impl Endpoint {
    pub(super) fn new(config: &ProviderConfig, model: &str) -> Result<Endpoint> {
        let ty = config.provider_type;
        let base = Base::parse(config)?;
        let wire = match (ty, config.wire_api) {
            (ProviderType::Anthropic, _) => WireFormat::AnthropicMessages,
            (_, WireApi::Completions) => WireFormat::OpenAiChat,
            (_, WireApi::Responses) => WireFormat::OpenAiResponses,
        };
        let wire_model = wire_model(config, model);
        let routes = match ty {
            ProviderType::OpenAi => openai_routes(&base, wire)?,
            ProviderType::Azure => azure_routes(
                &base,
                config,
                wire,
                wire_model.as_deref().map_err(Error::clone)?,
            )?,
            ProviderType::Anthropic => anthropic_routes(&base),
        };
        let wire_model = wire_model?;
        if config.max_output_tokens == Some(0) {
            return Err(Error::config(
                "provider.max_output_tokens must be at least 1: remove it to use the provider's default",
            ));
        }
        let headers = static_headers(config)?;
        let call_uri = routes.call.parse::<http::Uri>().map_err(|e| {
            Error::config(format!(
                "provider.base_url \"{}\" gives the call URL {}, which is not a valid request URI \
                 ({e}): check the base_url for spaces or unusual characters",
                base.raw, routes.call
            ))
        })?;
        Ok(Endpoint {
            inner: Arc::new(Routes {
                provider_type: ty,
                wire,
                call_uri,
                call_url: routes.call,
                models_url: routes.models,
                headers,
                token_provider: config.bearer_token_provider.clone(),
                wire_model,
                max_output_tokens: config.max_output_tokens,
                secrets: config.secrets(),
                azure_deployment: routes.azure_deployment,
                retry: config.retry.clone(),
                timeouts: config.timeouts.clone(),
                base_url: base.raw.to_owned(),
            }),
            state: Arc::default(),
        })
    }

    /// The provider type.
    pub fn provider_type(&self) -> ProviderType {
        self.inner.provider_type
    }

    /// The wire format requests are built in.
    pub fn wire_format(&self) -> WireFormat {
        self.inner.wire
    }

    /// The URL of a model call (chat completions, responses or messages), query included.
    pub fn call_url(&self) -> &str {
        &self.inner.call_url
    }

    /// Builds the HTTP request of a model call: URL, headers (static auth included; a token
    /// provider's token is added per attempt) and the body in this endpoint's wire format.
    pub fn build_request(&self, call: &ModelCall<'_>) -> Result<http::Request<bytes::Bytes>> {
        let body = wire::build_body(self.wire_format(), call)?;
        let mut headers = self.headers().clone();
        headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static(if call.stream {
                "text/event-stream"
            } else {
                "application/json"
            }),
        );
        let mut request = http::Request::new(bytes::Bytes::from(body));
        *request.method_mut() = http::Method::POST;
        *request.uri_mut() = self.call_uri().clone();
        *request.headers_mut() = headers;
        Ok(request)
    }

    /// The call URL as a request URI.
    pub fn call_uri(&self) -> &http::Uri {
        &self.inner.call_uri
    }

    /// The URL that lists models.
    pub fn models_url(&self) -> &str {
        &self.inner.models_url
    }

    /// The base URL as configured.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Headers for every request: content type, user agent, static auth, then the provider's own.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// The token provider, when bearer tokens are fetched per request.
    pub fn token_provider(&self) -> Option<&TokenProvider> {
        self.inner.token_provider.as_ref()
    }

    /// The model name sent on the wire (the deployment name on Azure).
    pub fn wire_model(&self) -> &str {
        &self.inner.wire_model
    }

    /// The configured output cap.
    pub fn max_output_tokens(&self) -> Option<u32> {
        self.inner.max_output_tokens
    }

    /// For Azure's versioned route: the deployment and api-version used (for 404 messages).
    pub fn azure_deployment(&self) -> Option<(&str, &str)> {
        self.inner
            .azure_deployment
            .as_ref()
            .map(|(d, v)| (d.as_str(), v.as_str()))
    }

    /// The provider's retry policy override.
    pub fn retry(&self) -> Option<&RetryPolicy> {
        self.inner.retry.as_ref()
    }

    /// The provider's timeouts override.
    pub fn timeouts(&self) -> Option<&Timeouts> {
        self.inner.timeouts.as_ref()
    }

    /// The run-time state shared with other endpoints of the same provider.
    pub fn state(&self) -> &Arc<ProviderState> {
        &self.state
    }

    /// Shares `state` (token cache, learned quirks) instead of a fresh one.
    pub fn with_state(mut self, state: Arc<ProviderState>) -> Self {
        self.state = state;
        self
    }

    /// Removes this provider's secrets (key, token, sensitive header values) from every field of an
    /// error (providers and gateways sometimes echo the request's credentials).
    pub fn scrub(&self, error: Error) -> Error {
        self.scrub_with(error, &[])
    }

    /// [`scrub`](Self::scrub), plus `extra` secrets of this request: the token this attempt sent, and
    /// sensitive per-send header values.
    pub(crate) fn scrub_with(&self, error: Error, extra: &[SecretString]) -> Error {
        let secrets: Vec<&str> = self
            .inner
            .secrets
            .iter()
            .chain(extra)
            .map(SecretString::expose)
            .collect();
        error.redact(&secrets)
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("type", &self.inner.provider_type.as_str())
            .field("wire", &self.inner.wire)
            .field("call_url", &self.inner.call_url)
            .field("wire_model", &self.inner.wire_model)
            .finish_non_exhaustive()
    }
}
