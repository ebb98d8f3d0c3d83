//! The one mapping from modelport errors to the foreign languages: a flat enum, one variant per core
//! error kind (the stable names of `ErrorKind::as_str`), carrying the message.

use std::fmt;

use modelport::{Error, ErrorKind};

/// A modelport error. Flat: each variant carries only its message (which names the field and the
/// fix for `Config`, and the HTTP status, provider code and request id for provider errors).
#[derive(Debug, uniffi::Error)]
#[uniffi(flat_error)]
pub enum ModelportError {
    /// Bad configuration or arguments (including malformed JSON).
    Config { message: String },
    /// The provider rejected the credentials (HTTP 401).
    Auth { message: String },
    /// The credentials lack access (HTTP 403).
    PermissionDenied { message: String },
    /// The model, deployment or route does not exist (HTTP 404).
    NotFound { message: String },
    /// Too many requests, or quota exhausted (HTTP 429).
    RateLimited { message: String },
    /// The provider rejected the request (HTTP 400, 413, 422, ...).
    InvalidRequest { message: String },
    /// The conversation does not fit the model's context window.
    ContextLength { message: String },
    /// The provider failed or is overloaded (HTTP 5xx, 529).
    Server { message: String },
    /// A timeout fired (the message says which).
    Timeout { message: String },
    /// The connection failed or the stream ended early.
    Transport { message: String },
    /// The provider sent something invalid for its wire format.
    Decode { message: String },
    /// A tool could not be run.
    Tool { message: String },
    /// The work was aborted (`abort()`, `stop()`).
    Cancelled { message: String },
    /// A safety limit was reached (tool-loop iterations).
    Limit { message: String },
    /// `resume_session` named a session the session store does not have.
    SessionNotFound { message: String },
    /// `create_session` named a `sessionId` the session store already has.
    SessionExists { message: String },
    /// Another client holds the session (see `sessionLease.waitMs`), or took it over from this one.
    SessionBusy { message: String },
    /// The session store failed; the session stays usable in memory.
    Storage { message: String },
    /// An error kind newer than these bindings, or an internal error.
    Other { message: String },
}

impl ModelportError {
    /// A configuration error found by the binding (bad JSON).
    pub(crate) fn config(message: impl Into<String>) -> Self {
        ModelportError::Config {
            message: message.into(),
        }
    }

    fn message(&self) -> &str {
        match self {
            ModelportError::Config { message }
            | ModelportError::Auth { message }
            | ModelportError::PermissionDenied { message }
            | ModelportError::NotFound { message }
            | ModelportError::RateLimited { message }
            | ModelportError::InvalidRequest { message }
            | ModelportError::ContextLength { message }
            | ModelportError::Server { message }
            | ModelportError::Timeout { message }
            | ModelportError::Transport { message }
            | ModelportError::Decode { message }
            | ModelportError::Tool { message }
            | ModelportError::Cancelled { message }
            | ModelportError::Limit { message }
            | ModelportError::SessionNotFound { message }
            | ModelportError::SessionExists { message }
            | ModelportError::SessionBusy { message }
            | ModelportError::Storage { message }
            | ModelportError::Other { message } => message,
        }
    }
}

impl fmt::Display for ModelportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ModelportError {}

impl From<Error> for ModelportError {
    fn from(e: Error) -> Self {
        // Display adds the HTTP status, provider code and request id; core messages hold no secret.
        let message = e.to_string();
        match e.kind() {
            ErrorKind::Config => ModelportError::Config { message },
            ErrorKind::Auth => ModelportError::Auth { message },
            ErrorKind::PermissionDenied => ModelportError::PermissionDenied { message },
            ErrorKind::NotFound => ModelportError::NotFound { message },
            ErrorKind::RateLimited => ModelportError::RateLimited { message },
            ErrorKind::InvalidRequest => ModelportError::InvalidRequest { message },
            ErrorKind::ContextLength => ModelportError::ContextLength { message },
            ErrorKind::Server => ModelportError::Server { message },
            ErrorKind::Timeout => ModelportError::Timeout { message },
            ErrorKind::Transport => ModelportError::Transport { message },
            ErrorKind::Decode => ModelportError::Decode { message },
            ErrorKind::Tool => ModelportError::Tool { message },
            ErrorKind::Cancelled => ModelportError::Cancelled { message },
            ErrorKind::Limit => ModelportError::Limit { message },
            ErrorKind::SessionNotFound => ModelportError::SessionNotFound { message },
            ErrorKind::SessionExists => ModelportError::SessionExists { message },
            ErrorKind::SessionBusy => ModelportError::SessionBusy { message },
            ErrorKind::Storage => ModelportError::Storage { message },
            _ => ModelportError::Other { message },
        }
    }
}

/// What a [`ToolHandler`](crate::ToolHandler) raises when the tool fails. The model is told only
/// that the tool failed; the message goes to the application in `tool.execution_complete`.
#[derive(Debug, uniffi::Error)]
pub enum ToolCallError {
    /// The tool failed.
    Failed { message: String },
}

impl fmt::Display for ToolCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolCallError::Failed { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for ToolCallError {}

/// Any other exception a foreign tool handler raises.
impl From<uniffi::UnexpectedUniFFICallbackError> for ToolCallError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        ToolCallError::Failed { message: e.reason }
    }
}
