//! Transport: how a built request reaches the provider. A trait, so tests can script the wire; the
//! default implementation uses reqwest.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::error::Result;

pub(crate) mod call;
#[cfg(any(test, feature = "testing"))]
pub mod mock;
mod reqwest;

pub use self::reqwest::ReqwestTransport;

/// A request ready to send, as the wire adapters build it: a plain [`http::Request`] (auth header
/// values are marked sensitive, so its `Debug` hides them).
pub type HttpRequest = http::Request<Bytes>;

/// The body of a response, as it arrives.
pub type BodyStream = BoxStream<'static, Result<Bytes>>;

/// A response: status and headers now, the body as a stream.
pub struct HttpResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body; dropping it closes the connection if it is not finished.
    pub body: BodyStream,
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// Sends requests. Cancellation is by drop: dropping the returned future or the body stream must close
/// the connection at once rather than drain it.
pub trait Transport: Send + Sync + fmt::Debug + 'static {
    /// Sends `request`; resolves when the response headers have arrived.
    fn send(&self, request: HttpRequest) -> BoxFuture<'static, Result<HttpResponse>>;
}

/// The transport used when the Client is given none.
pub(crate) fn default_transport(timeouts: &Timeouts) -> Result<std::sync::Arc<dyn Transport>> {
    Ok(std::sync::Arc::new(ReqwestTransport::new(timeouts)?))
}

/// When and how often a failed model call is retried.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default 2, like the official SDKs).
    #[serde(alias = "max_retries")]
    pub max_retries: u32,
    /// The first backoff (default 500 ms); doubled each retry.
    #[serde(
        with = "millis",
        rename = "initialBackoffMs",
        alias = "initial_backoff_ms"
    )]
    pub initial_backoff: Duration,
    /// The largest backoff (default 8 s).
    #[serde(with = "millis", rename = "maxBackoffMs", alias = "max_backoff_ms")]
    pub max_backoff: Duration,
    /// The largest retry-after honoured (default 60 s); a longer one falls back to backoff.
    #[serde(
        with = "millis",
        rename = "maxRetryAfterMs",
        alias = "max_retry_after_ms"
    )]
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Default::default()
        }
    }
}

/// How long each phase of a model call may take.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Timeouts {
    /// Opening the connection (default 10 s).
    #[serde(with = "millis", rename = "connectMs", alias = "connect_ms")]
    pub connect: Duration,
    /// From sending to the first byte of the response (default 120 s).
    #[serde(with = "millis", rename = "firstByteMs", alias = "first_byte_ms")]
    pub first_byte: Duration,
    /// The longest gap between two chunks of a streamed body (default 120 s).
    #[serde(with = "millis", rename = "idleMs", alias = "idle_ms")]
    pub idle: Duration,
    /// One whole model call, retries excluded (default 600 s).
    #[serde(with = "millis", rename = "totalMs", alias = "total_ms")]
    pub total: Duration,
    /// One call of the bearer token provider (default 30 s); every request waiting for that token
    /// then fails with an Auth error.
    #[serde(with = "millis", rename = "tokenMs", alias = "token_ms")]
    pub token: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(120),
            idle: Duration::from_secs(120),
            total: Duration::from_secs(600),
            token: Duration::from_secs(30),
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}
