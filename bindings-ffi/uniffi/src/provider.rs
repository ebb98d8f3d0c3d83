//! A bearer token provider implemented in the foreign language (Entra ID, OIDC, a vault...) as core's
//! `TokenProvider`. The token becomes a `SecretString` as soon as it crosses: it never appears in
//! Debug output, errors or events.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use modelport::{Error, ErrorKind, TokenProvider, TokenRequest};

use crate::error::CallbackError;

/// A bearer token, with its expiry when known.
#[derive(Clone, uniffi::Record)]
pub struct BearerToken {
    /// The token, sent as `Authorization: Bearer ...`.
    pub token: String,
    /// When it stops being valid, in milliseconds since 1970-01-01 UTC: it is reused until 60
    /// seconds before. None: the provider is asked again before every request.
    #[uniffi(default = None)]
    pub expires_at_unix_ms: Option<u64>,
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken")
            .field("token", &"[redacted]")
            .field("expires_at_unix_ms", &self.expires_at_unix_ms)
            .finish()
    }
}

/// Gives the bearer token of a provider (it wins over the provider's `apiKey` and `bearerToken`):
/// for a session's provider with [`SessionCallbacks`](crate::SessionCallbacks), for the client's
/// default provider with [`Client::new`](crate::Client::new). Asked before a request needs a token
/// (see [`BearerToken::expires_at_unix_ms`]) and again after a 401; concurrent requests share one
/// call. Raising fails the request with `ModelportError.Auth`.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait BearerTokenProvider: Send + Sync {
    /// A token.
    async fn get_token(&self) -> Result<BearerToken, CallbackError>;
}

/// Core's token provider asking `provider`.
pub(crate) fn token_provider(provider: Arc<dyn BearerTokenProvider>) -> TokenProvider {
    TokenProvider::new(move |_request: TokenRequest| {
        let provider = provider.clone();
        async move {
            let reply = provider
                .get_token()
                .await
                .map_err(|e| Error::new(ErrorKind::Auth, e.to_string()))?;
            Ok(match reply.expires_at_unix_ms {
                Some(ms) => modelport::BearerToken::with_expiry(
                    reply.token,
                    UNIX_EPOCH + Duration::from_millis(ms),
                ),
                None => modelport::BearerToken::new(reply.token),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_never_shows_in_debug() {
        let t = BearerToken {
            token: "tok-VERY-SECRET".into(),
            expires_at_unix_ms: Some(1),
        };
        assert!(!format!("{t:?}").contains("VERY-SECRET"));
    }
}
