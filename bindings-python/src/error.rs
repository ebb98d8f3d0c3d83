//! The one mapping from core errors to Python exceptions: each [`ErrorKind`] has its class in
//! `modelport.errors` (all subclasses of `ModelportError`, arranged so that the openai SDK's
//! names catch what they catch there), carrying what the provider said.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule};

use modelport::{Error, ErrorKind, TimeoutKind};

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The `modelport.errors` class for an error: one per kind, except that a timeout of the provider
/// call is an `APITimeoutError` (the openai SDK's class, under `APIConnectionError`) and
/// `send_and_wait`'s own timeout a plain `TimeoutError`.
fn class_name(err: &Error) -> &'static str {
    match err.kind() {
        ErrorKind::Config => "ConfigError",
        ErrorKind::Auth => "AuthenticationError",
        ErrorKind::PermissionDenied => "PermissionDeniedError",
        ErrorKind::NotFound => "NotFoundError",
        ErrorKind::RateLimited => "RateLimitError",
        ErrorKind::InvalidRequest => "InvalidRequestError",
        ErrorKind::ContextLength => "ContextLengthError",
        ErrorKind::Server => "ServerError",
        ErrorKind::Timeout if err.timeout_kind() == Some(TimeoutKind::SendAndWait) => {
            "TimeoutError"
        }
        ErrorKind::Timeout => "APITimeoutError",
        ErrorKind::Transport => "TransportError",
        ErrorKind::Decode => "DecodeError",
        ErrorKind::Tool => "ToolError",
        ErrorKind::Cancelled => "CancelledError",
        ErrorKind::Limit => "LimitError",
        ErrorKind::SessionNotFound => "SessionNotFoundError",
        ErrorKind::SessionExists => "SessionExistsError",
        ErrorKind::SessionBusy => "SessionBusyError",
        ErrorKind::Storage => "StorageError",
        ErrorKind::Hook => "HookError",
        ErrorKind::InvalidOutput => "InvalidOutputError",
        _ => "ModelportError",
    }
}

/// The Python exception for a core error. Takes the GIL.
pub(crate) fn to_py_err(err: Error) -> PyErr {
    Python::attach(|py| build(py, &err).unwrap_or_else(|e| e))
}

/// A `ConfigError` with `message`.
pub(crate) fn config(message: impl Into<String>) -> PyErr {
    to_py_err(Error::config(message))
}

fn build(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let module = ERRORS.get_or_try_init(py, || {
        PyModule::import(py, "modelport.errors").map(Bound::unbind)
    })?;
    let class = module.bind(py).getattr(class_name(err))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("message", err.message())?;
    kwargs.set_item("kind", err.kind().as_str())?;
    kwargs.set_item("error_type", err.error_type())?;
    kwargs.set_item("status", err.status())?;
    kwargs.set_item("code", err.code())?;
    kwargs.set_item("request_id", err.request_id())?;
    kwargs.set_item("retry_after", err.retry_after().map(|d| d.as_secs_f64()))?;
    kwargs.set_item("timeout_kind", err.timeout_kind().map(TimeoutKind::as_str))?;
    if let Some(output) = err.invalid_output_details() {
        kwargs.set_item("raw_output", &output.raw)?;
        kwargs.set_item("validation_errors", &output.errors)?;
    }
    let exception = class.call((err.to_string(),), Some(&kwargs))?;
    if let Some(cause) = python_cause(err) {
        exception.setattr("__cause__", cause.value(py))?;
    }
    Ok(PyErr::from_value(exception))
}

/// The Python exception a callback raised, when it is in the error's source chain.
fn python_cause(err: &Error) -> Option<&PyErr> {
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        if let Some(e) = s.downcast_ref::<PyErr>() {
            return Some(e);
        }
        source = s.source();
    }
    None
}
