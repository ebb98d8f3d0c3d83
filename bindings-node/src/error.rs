//! The one mapping from modelport errors to JavaScript.
//!
//! A core [`Error`] crosses as a napi error whose message is [`MARKER`] followed by a JSON record;
//! `lib/error.cjs` turns it into a `ModelportError` whose `code` is the core kind's stable
//! name ([`ErrorKind::as_str`](modelport::ErrorKind::as_str): `config`, `auth`, `rate_limited`, ...).
//! Core messages never contain secrets, and nothing else is added here.

use modelport::Error;

/// Starts the message of every napi error that carries a modelport error.
const MARKER: &str = "modelport-error:";

/// The napi error carrying `e`, as core's [`Error::to_json_record`] (which `lib/error.cjs` reads).
pub(crate) fn to_napi(e: Error) -> napi::Error {
    napi::Error::from_reason(format!("{MARKER}{}", e.to_json_record()))
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
