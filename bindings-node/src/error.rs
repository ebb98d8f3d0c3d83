//! The one mapping from modelport errors to JavaScript.
//!
//! A core [`Error`] crosses as a napi error whose message is [`MARKER`] followed by a JSON record;
//! `lib/error.cjs` turns it into a `ModelportError` whose `code` is the core kind's stable
//! name ([`ErrorKind::as_str`](modelport::ErrorKind::as_str): `config`, `auth`, `rate_limited`, ...).
//! Core messages never contain secrets, and nothing else is added here.

use modelport::Error;
use serde_json::{Value, json};

/// Starts the message of every napi error that carries a modelport error.
const MARKER: &str = "modelport-error:";

/// The error as the JSON record `lib/error.cjs` reads.
pub(crate) fn to_json(e: &Error) -> Value {
    json!({
        "code": e.kind().as_str(),
        "message": e.to_string(),
        "status": e.status(),
        "providerCode": e.code(),
        "requestId": e.request_id(),
        "retryAfterMs": e.retry_after().map(|d| d.as_secs_f64() * 1000.0),
        "timeoutKind": e.timeout_kind().map(|k| k.as_str()),
        "errorType": e.error_type(),
        "retryable": e.is_retryable(),
    })
}

/// The napi error carrying `e`.
pub(crate) fn to_napi(e: Error) -> napi::Error {
    napi::Error::from_reason(format!("{MARKER}{}", to_json(&e)))
}

/// A configuration error found by the binding (bad JSON from the JavaScript layer).
pub(crate) fn config(message: impl Into<String>) -> napi::Error {
    to_napi(Error::config(message))
}

/// `Result` with the napi error.
pub(crate) type Result<T> = napi::Result<T>;

/// Maps a core result.
pub(crate) trait IntoNapi<T> {
    /// The napi result.
    fn into_napi(self) -> Result<T>;
}

impl<T> IntoNapi<T> for modelport::Result<T> {
    fn into_napi(self) -> Result<T> {
        self.map_err(to_napi)
    }
}
