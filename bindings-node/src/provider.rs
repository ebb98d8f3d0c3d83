//! Provider configuration from JavaScript: the JSON fields go to core's parsers with the client
//! options or the session config; `bearerTokenProvider` is a JavaScript callback wrapped as a
//! [`TokenProvider`]; [`provider_from_env`] hands core's reading of the `MODELPORT_*` variables over.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use modelport::{BearerToken, Error, ErrorKind, ProviderConfig, TokenProvider, TokenRequest};
use napi_derive::napi;
use serde_json::{Value, json};

use crate::callback::{JsCallback, call};

/// Wraps `(request) => token | {token, expiresAt}` (already normalised by `lib/callbacks.cjs` to
/// `{token, expiresAtMs}`).
pub(crate) fn token_provider(cb: JsCallback) -> TokenProvider {
    let cb = Arc::new(cb);
    TokenProvider::new(move |request: TokenRequest| {
        let cb = cb.clone();
        async move {
            let arg = json!({
                "providerName": request.provider_name,
                "sessionId": request.session_id,
            });
            let reply = call(&cb, arg.to_string()).await.map_err(|m| {
                Error::new(ErrorKind::Auth, format!("bearerTokenProvider failed: {m}"))
            })?;
            let Some(token) = reply.get("token").and_then(Value::as_str) else {
                return Err(Error::new(
                    ErrorKind::Auth,
                    "bearerTokenProvider must return a token string or {token, expiresAt}",
                ));
            };
            Ok(match reply.get("expiresAtMs").and_then(Value::as_f64) {
                Some(ms) if ms.is_finite() && ms > 0.0 => BearerToken::with_expiry(
                    token,
                    SystemTime::UNIX_EPOCH + Duration::from_secs_f64(ms / 1000.0),
                ),
                _ => BearerToken::new(token),
            })
        }
    })
}

/// The provider and model the `MODELPORT_*` variables name (core's `ProviderConfig::from_env`), as
/// JSON `{provider, model}` with the API key (JSON text never carries it otherwise); `null` when
/// `MODELPORT_PROVIDER` is unset.
#[napi]
pub fn provider_from_env() -> crate::error::Result<Option<String>> {
    use crate::error::IntoNapi;
    let Some((provider, model)) = ProviderConfig::from_env().into_napi()? else {
        return Ok(None);
    };
    // A provider always serialises (plain fields and strings).
    let mut json = serde_json::to_value(&provider).unwrap_or_default();
    if let Some(key) = &provider.api_key {
        json["apiKey"] = Value::from(key.expose());
    }
    Ok(Some(json!({"provider": json, "model": model}).to_string()))
}
