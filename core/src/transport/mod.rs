//! Transport: how a built request reaches the provider. A trait, so tests can script the wire; the
//! default implementation uses reqwest.

use std::fmt;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use http::HeaderMap;

use crate::error::Result;

pub(crate) mod call;
#[cfg(any(test, feature = "testing"))]
pub mod mock;
mod reqwest;

pub use self::reqwest::ReqwestTransport;
#[cfg(feature = "otel")]
pub(crate) use self::reqwest::blocking_http_client;
pub(crate) use self::reqwest::mcp_http_client;
pub use crate::types::{RetryPolicy, Timeouts};

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
