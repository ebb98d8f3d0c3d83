//! The one mapping from modelport errors to the foreign languages: a flat enum, one variant per core
//! error kind (the stable names of `ErrorKind::as_str`), carrying the message.

use std::fmt;

use modelport::{Error, ErrorKind};

/// Declares [`ModelportError`] with one variant per listed core [`ErrorKind`] (same name) plus
/// `Other`, its message, and the conversion from a core error.
macro_rules! modelport_error {
    ($($(#[$doc:meta])* $kind:ident,)*) => {
        /// A modelport error. Flat: each variant carries only its message (which names the field
        /// and the fix for `Config`, and the HTTP status, provider code and request id for
        /// provider errors).
        #[derive(Debug, uniffi::Error)]
        #[uniffi(flat_error)]
        pub enum ModelportError {
            $($(#[$doc])* $kind { message: String },)*
            /// An error kind newer than these bindings, or an internal error.
            Other { message: String },
        }

        impl ModelportError {
            fn message(&self) -> &str {
                match self {
                    $(ModelportError::$kind { message })|* | ModelportError::Other { message } => {
                        message
                    }
                }
            }
        }

        impl From<Error> for ModelportError {
            fn from(e: Error) -> Self {
                // Display adds the HTTP status, provider code and request id; core messages hold
                // no secret.
                let message = e.to_string();
                match e.kind() {
                    $(ErrorKind::$kind => ModelportError::$kind { message },)*
                    _ => ModelportError::Other { message },
                }
            }
        }
    };
}

modelport_error! {
    /// Bad configuration or arguments (including malformed JSON).
    Config,
    /// The provider rejected the credentials (HTTP 401).
    Auth,
    /// The credentials lack access (HTTP 403).
    PermissionDenied,
    /// The model, deployment or route does not exist (HTTP 404).
    NotFound,
    /// Too many requests, or quota exhausted (HTTP 429).
    RateLimited,
    /// The provider rejected the request (HTTP 400, 413, 422, ...).
    InvalidRequest,
    /// The conversation does not fit the model's context window.
    ContextLength,
    /// The provider failed or is overloaded (HTTP 5xx, 529).
    Server,
    /// A timeout fired (the message says which).
    Timeout,
    /// The connection failed or the stream ended early.
    Transport,
    /// The provider sent something invalid for its wire format.
    Decode,
    /// A tool could not be run.
    Tool,
    /// The work was aborted (`abort()`, `stop()`).
    Cancelled,
    /// A safety limit was reached (tool-loop iterations).
    Limit,
    /// `resume_session` named a session the session store does not have.
    SessionNotFound,
    /// `create_session` named a `sessionId` the session store already has.
    SessionExists,
    /// Another client holds the session (see `sessionLease.waitMs`), or took it over from this one.
    SessionBusy,
    /// The session store failed; the session stays usable in memory.
    Storage,
    /// A session hook failed.
    Hook,
    /// Structured output: the answer does not match the schema after the corrective retry.
    InvalidOutput,
}

impl ModelportError {
    /// A failure of the binding itself.
    pub(crate) fn other(message: impl Into<String>) -> Self {
        ModelportError::Other {
            message: message.into(),
        }
    }
}

impl fmt::Display for ModelportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ModelportError {}

/// Declares a foreign callback's error: one `Failed { message }` variant, which is also what any
/// other exception the callback raises becomes.
macro_rules! callback_error {
    ($(#[$doc:meta])* $name:ident, $failed:literal) => {
        $(#[$doc])*
        #[derive(Debug, uniffi::Error)]
        pub enum $name {
            #[doc = $failed]
            Failed { message: String },
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let $name::Failed { message } = self;
                f.write_str(message)
            }
        }

        impl std::error::Error for $name {}

        impl From<uniffi::UnexpectedUniFFICallbackError> for $name {
            fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
                $name::Failed { message: e.reason }
            }
        }
    };
}

callback_error! {
    /// What a [`ToolHandler`](crate::ToolHandler) raises when the tool fails. The model is told
    /// only that the tool failed; the message goes to the application in
    /// `tool.execution_complete`.
    ToolCallError,
    "The tool failed."
}

callback_error! {
    /// What a foreign callback other than a tool raises ([`HookHandler`](crate::HookHandler),
    /// [`PermissionHandler`](crate::PermissionHandler),
    /// [`BearerTokenProvider`](crate::BearerTokenProvider)); each says what a failure means.
    CallbackError,
    "The callback failed."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_kind_has_its_own_variant() {
        for kind in ErrorKind::ALL {
            let e = ModelportError::from(Error::new(kind, "m"));
            assert!(!matches!(e, ModelportError::Other { .. }), "{kind:?}");
        }
    }
}
