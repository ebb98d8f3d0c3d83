//! The one error type of modelport: a [`Kind`](ErrorKind) a caller can act on, a message that says what
//! was wrong and what to do, and what the provider told us (status, code, request id, retry-after).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What went wrong, at the granularity a caller acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad configuration or arguments: fix the named field.
    Config,
    /// The provider rejected the credentials (HTTP 401).
    Auth,
    /// The credentials are valid but lack access (HTTP 403).
    PermissionDenied,
    /// The model, deployment or route does not exist (HTTP 404).
    NotFound,
    /// Too many requests, or quota exhausted (HTTP 429; `code` "insufficient_quota" for quota).
    RateLimited,
    /// The provider rejected the request itself (HTTP 400, 413, 422, ...).
    InvalidRequest,
    /// The conversation does not fit the model's context window.
    ContextLength,
    /// The provider failed or is overloaded (HTTP 5xx, 529, 409, or an error event mid-stream).
    Server,
    /// A timeout fired; [`Error::timeout`] says which.
    Timeout,
    /// The connection failed, was reset, or the stream ended before the response was complete.
    Transport,
    /// The provider sent something that is not valid for its wire format.
    Decode,
    /// A tool could not be run.
    Tool,
    /// The work was aborted (`abort()`, `stop()`, or a dropped future).
    Cancelled,
    /// A safety limit was reached (tool-loop iterations).
    Limit,
    /// `resume_session` named a session the store does not have (not a provider's HTTP 404).
    SessionNotFound,
    /// `create_session` named an id the store already has.
    SessionExists,
    /// Another client holds the session's lease (or took it over from this one).
    SessionBusy,
    /// A session hook failed or did not answer in time.
    Hook,
    /// The answer does not match the requested schema ([`Error::invalid_output`] has the raw text
    /// and the validation errors).
    InvalidOutput,
    /// The session store failed (unreachable, corrupt, full or unwritable); the session stays
    /// usable in memory and nothing it had committed is lost.
    Storage,
}

impl ErrorKind {
    /// Every kind, in declaration order (bindings build their tables from it).
    pub const ALL: [ErrorKind; 20] = [
        ErrorKind::Config,
        ErrorKind::Auth,
        ErrorKind::PermissionDenied,
        ErrorKind::NotFound,
        ErrorKind::RateLimited,
        ErrorKind::InvalidRequest,
        ErrorKind::ContextLength,
        ErrorKind::Server,
        ErrorKind::Timeout,
        ErrorKind::Transport,
        ErrorKind::Decode,
        ErrorKind::Tool,
        ErrorKind::Cancelled,
        ErrorKind::Limit,
        ErrorKind::SessionNotFound,
        ErrorKind::SessionExists,
        ErrorKind::SessionBusy,
        ErrorKind::Hook,
        ErrorKind::InvalidOutput,
        ErrorKind::Storage,
    ];

    /// The stable snake_case name of the kind, used by bindings as an error code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Auth => "auth",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::ContextLength => "context_length",
            ErrorKind::Server => "server",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Transport => "transport",
            ErrorKind::Decode => "decode",
            ErrorKind::Tool => "tool",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Limit => "limit",
            ErrorKind::SessionNotFound => "session_not_found",
            ErrorKind::SessionExists => "session_exists",
            ErrorKind::SessionBusy => "session_busy",
            ErrorKind::Storage => "storage",
            ErrorKind::Hook => "hook",
            ErrorKind::InvalidOutput => "invalid_output",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which timeout fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Opening the TCP/TLS connection.
    Connect,
    /// Waiting for the response headers or the first body bytes.
    FirstByte,
    /// The gap between two chunks of a streamed body.
    Idle,
    /// The whole model call, retries excluded.
    Total,
    /// `send_and_wait` gave up waiting (the turn keeps running).
    SendAndWait,
    /// The provider answered HTTP 408.
    Server,
}

impl TimeoutKind {
    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::FirstByte => "first_byte",
            TimeoutKind::Idle => "idle",
            TimeoutKind::Total => "total",
            TimeoutKind::SendAndWait => "send_and_wait",
            TimeoutKind::Server => "server",
        }
    }
}

/// The modelport error: a kind, a message, and whatever the provider said about it.
///
/// Cheap to clone (the source is shared), so one failure can be reported to several waiters.
#[derive(Clone)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone)]
struct Inner {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    code: Option<String>,
    request_id: Option<String>,
    retry_after: Option<Duration>,
    should_retry: Option<bool>,
    timeout: Option<TimeoutKind>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    output: Option<Arc<InvalidOutput>>,
}

/// What an [`ErrorKind::InvalidOutput`] error carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidOutput {
    /// The model's answer as it came.
    pub raw: String,
    /// Why it does not fit the schema.
    pub errors: Vec<String>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                status: None,
                code: None,
                request_id: None,
                retry_after: None,
                should_retry: None,
                timeout: None,
                source: None,
                output: None,
            }),
        }
    }

    /// An answer that does not match its schema.
    pub fn invalid_output(message: impl Into<String>, raw: String, errors: Vec<String>) -> Self {
        let mut e = Error::new(ErrorKind::InvalidOutput, message);
        e.inner.output = Some(Arc::new(InvalidOutput { raw, errors }));
        e
    }

    /// For [`ErrorKind::InvalidOutput`]: the raw answer and the validation errors.
    pub fn invalid_output_details(&self) -> Option<&InvalidOutput> {
        self.inner.output.as_deref()
    }

    /// A configuration error; the message should name the field and the fix.
    pub fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    /// The work was cancelled.
    pub fn cancelled(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Cancelled, message)
    }

    /// A timeout of the given kind fired after `after`.
    pub fn timeout(kind: TimeoutKind, after: Duration) -> Self {
        let what = match kind {
            TimeoutKind::Connect => "connecting to the provider",
            TimeoutKind::FirstByte => "waiting for the provider's first byte",
            TimeoutKind::Idle => "waiting for the next chunk of the stream",
            TimeoutKind::Total => "the whole model call",
            TimeoutKind::SendAndWait => "send_and_wait (the turn keeps running)",
            TimeoutKind::Server => "the provider's request timeout",
        };
        let mut e = Error::new(
            ErrorKind::Timeout,
            format!(
                "{} timeout after {} ms: {what}",
                kind.as_str(),
                after.as_millis()
            ),
        );
        e.inner.timeout = Some(kind);
        e
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.inner.status = Some(status);
        self
    }

    /// Sets the provider's error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.inner.code = Some(code.into());
        self
    }

    /// Sets the provider's request id.
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.inner.request_id = Some(id.into());
        self
    }

    /// Sets how long the provider asked us to wait.
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.inner.retry_after = Some(after);
        self
    }

    /// Records the provider's `x-should-retry` answer, which wins over the status.
    pub fn with_should_retry(mut self, retry: bool) -> Self {
        self.inner.should_retry = Some(retry);
        self
    }

    /// Sets which timeout this was (for HTTP 408 and our own timeouts).
    pub fn with_timeout_kind(mut self, kind: TimeoutKind) -> Self {
        self.inner.timeout = Some(kind);
        self
    }

    /// Keeps `source` as the cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Arc::new(source));
        self
    }

    /// Replaces the message, keeping everything else.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.inner.message = message.into();
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The human-readable message (never contains a secret).
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The HTTP status, when the provider answered with one.
    pub fn status(&self) -> Option<u16> {
        self.inner.status
    }

    /// The provider's error code (`insufficient_quota`, `context_length_exceeded`, `overloaded_error`, ...).
    pub fn code(&self) -> Option<&str> {
        self.inner.code.as_deref()
    }

    /// The provider's request id (x-request-id, request-id or apim-request-id).
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// How long the provider asked us to wait before retrying.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The provider's `x-should-retry` header, if it sent one.
    pub fn should_retry(&self) -> Option<bool> {
        self.inner.should_retry
    }

    /// Which timeout fired, for [`ErrorKind::Timeout`].
    pub fn timeout_kind(&self) -> Option<TimeoutKind> {
        self.inner.timeout
    }

    /// Whether the quota (not just the rate) is exhausted: retrying will not help.
    pub fn is_quota(&self) -> bool {
        self.inner.kind == ErrorKind::RateLimited
            && self.inner.code.as_deref() == Some("insufficient_quota")
    }

    /// Whether retrying the same request may succeed, as the official SDKs decide it:
    /// `x-should-retry` wins; otherwise 408, 409, 429 (not insufficient_quota), 5xx, timeouts and
    /// connection failures are retryable.
    pub fn is_retryable(&self) -> bool {
        if let Some(retry) = self.inner.should_retry {
            return retry;
        }
        match self.inner.kind {
            ErrorKind::RateLimited => !self.is_quota(),
            ErrorKind::Server | ErrorKind::Transport => true,
            ErrorKind::Timeout => self.inner.timeout != Some(TimeoutKind::SendAndWait),
            _ => false,
        }
    }

    /// The `session.error` `errorType` for this error.
    pub fn error_type(&self) -> &'static str {
        match self.inner.kind {
            ErrorKind::Auth => "authentication",
            ErrorKind::PermissionDenied => "authorization",
            ErrorKind::RateLimited if self.is_quota() => "quota",
            ErrorKind::RateLimited => "rate_limit",
            ErrorKind::ContextLength => "context_limit",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Transport => "transport",
            ErrorKind::Tool => "tool",
            ErrorKind::Config => "config",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Limit => "limit",
            ErrorKind::Storage => "storage",
            ErrorKind::Hook => "hook",
            ErrorKind::InvalidOutput => "invalid_output",
            ErrorKind::SessionNotFound | ErrorKind::SessionExists | ErrorKind::SessionBusy => {
                "session"
            }
            _ => "model_call",
        }
    }

    /// The error as the JSON record the JavaScript and C bindings hand over: `code` (the kind's
    /// stable name), `message` (as [`Display`](fmt::Display) writes it), `status`, `providerCode`,
    /// `requestId`, `retryAfterMs`, `timeoutKind`, `errorType` and `retryable`; a field the error
    /// does not have is null. Holds no secret (messages never do).
    pub fn to_json_record(&self) -> serde_json::Value {
        let mut record = serde_json::json!({
            "code": self.kind().as_str(),
            "message": self.to_string(),
            "status": self.status(),
            "providerCode": self.code(),
            "requestId": self.request_id(),
            "retryAfterMs": self.retry_after().map(|d| d.as_secs_f64() * 1000.0),
            "timeoutKind": self.timeout_kind().map(TimeoutKind::as_str),
            "errorType": self.error_type(),
            "retryable": self.is_retryable(),
        });
        if let Some(o) = self.invalid_output_details() {
            record["rawOutput"] = serde_json::json!(o.raw);
            record["validationErrors"] = serde_json::json!(o.errors);
        }
        record
    }

    /// Replaces every occurrence of each secret (of 4 characters or more) in every field: the
    /// message, the provider's code and request id, and the text of the source chain (a source that
    /// carries a secret is replaced by its scrubbed text). Providers and gateways sometimes echo the
    /// request's credentials back.
    pub fn redact(mut self, secrets: &[&str]) -> Self {
        let mut secrets: Vec<&str> = secrets.iter().copied().filter(|s| s.len() >= 4).collect();
        // Longest first, so that a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        if secrets.is_empty() {
            return self;
        }
        let inner = &mut *self.inner;
        scrub_in_place(&mut inner.message, &secrets);
        if let Some(code) = &mut inner.code {
            scrub_in_place(code, &secrets);
        }
        if let Some(id) = &mut inner.request_id {
            scrub_in_place(id, &secrets);
        }
        if let Some(source) = &inner.source {
            let mut text = chain_text(source.as_ref());
            if secrets.iter().any(|s| text.contains(s)) {
                scrub_in_place(&mut text, &secrets);
                inner.source = Some(Arc::new(ScrubbedSource(text)));
            }
        }
        self
    }
}

fn scrub_in_place(text: &mut String, secrets: &[&str]) {
    for secret in secrets {
        if text.contains(secret) {
            *text = text.replace(secret, "[redacted]");
        }
        scrub_cut(text, secret);
    }
}

/// A secret cut off by a length limit (an error body is kept to 500 characters and then `...`):
/// its first 4 characters or more at the end of the text, or right before `...`.
fn scrub_cut(text: &mut String, secret: &str) {
    let mut cut = secret.len();
    while let Some((at, _)) = secret[..cut].char_indices().next_back() {
        cut = at;
        if cut < 4 {
            return;
        }
        let prefix = &secret[..cut];
        if let Some(rest) = text.strip_suffix(prefix) {
            *text = format!("{rest}[redacted]");
            return;
        }
        let marked = format!("{prefix}...");
        if text.contains(&marked) {
            *text = text.replace(&marked, "[redacted]...");
            return;
        }
    }
}

/// `source: its source: ...`, the whole chain as one line.
fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

/// A source error whose text carried a secret: only the scrubbed text of its chain is kept.
#[derive(Debug)]
struct ScrubbedSource(String);

impl fmt::Display for ScrubbedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScrubbedSource {}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(status) = self.inner.status {
            write!(f, " (HTTP {status}")?;
            if let Some(code) = &self.inner.code {
                write!(f, ", code {code}")?;
            }
            if let Some(id) = &self.inner.request_id {
                write!(f, ", request id {id}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(s) = self.inner.status {
            d.field("status", &s);
        }
        if let Some(c) = &self.inner.code {
            d.field("code", c);
        }
        if let Some(r) = &self.inner.request_id {
            d.field("request_id", r);
        }
        if let Some(r) = &self.inner.retry_after {
            d.field("retry_after", r);
        }
        if let Some(t) = &self.inner.timeout {
            d.field("timeout", t);
        }
        if let Some(s) = &self.inner.source {
            d.field("source", &s.to_string());
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_type_mapping_matches_the_table() {
        // The table of the resilience issue: kind -> session.error.errorType.
        let rows: &[(Error, &str)] = &[
            (Error::new(ErrorKind::Auth, "x"), "authentication"),
            (
                Error::new(ErrorKind::PermissionDenied, "x"),
                "authorization",
            ),
            (Error::new(ErrorKind::RateLimited, "x"), "rate_limit"),
            (
                Error::new(ErrorKind::RateLimited, "x").with_code("insufficient_quota"),
                "quota",
            ),
            (Error::new(ErrorKind::ContextLength, "x"), "context_limit"),
            (Error::new(ErrorKind::Timeout, "x"), "timeout"),
            (Error::new(ErrorKind::Transport, "x"), "transport"),
            (Error::new(ErrorKind::Tool, "x"), "tool"),
            (Error::new(ErrorKind::Config, "x"), "config"),
            (Error::new(ErrorKind::Cancelled, "x"), "cancelled"),
            (Error::new(ErrorKind::Limit, "x"), "limit"),
            (Error::new(ErrorKind::Storage, "x"), "storage"),
            (Error::new(ErrorKind::SessionBusy, "x"), "session"),
            (Error::new(ErrorKind::NotFound, "x"), "model_call"),
            (Error::new(ErrorKind::InvalidRequest, "x"), "model_call"),
            (Error::new(ErrorKind::Server, "x"), "model_call"),
            (Error::new(ErrorKind::Decode, "x"), "model_call"),
        ];
        for (err, expected) in rows {
            assert_eq!(err.error_type(), *expected, "{err:?}");
        }
    }

    #[test]
    fn all_kinds_are_listed_once() {
        let names: std::collections::HashSet<&str> =
            ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        // A kind missing from ALL would still compile: this match lists every kind, so a new one
        // fails here until ALL has it.
        for k in ErrorKind::ALL {
            match k {
                ErrorKind::Config
                | ErrorKind::Auth
                | ErrorKind::PermissionDenied
                | ErrorKind::NotFound
                | ErrorKind::RateLimited
                | ErrorKind::InvalidRequest
                | ErrorKind::ContextLength
                | ErrorKind::Server
                | ErrorKind::Timeout
                | ErrorKind::Transport
                | ErrorKind::Decode
                | ErrorKind::Tool
                | ErrorKind::Cancelled
                | ErrorKind::Limit
                | ErrorKind::SessionNotFound
                | ErrorKind::SessionExists
                | ErrorKind::SessionBusy
                | ErrorKind::Hook
                | ErrorKind::InvalidOutput
                | ErrorKind::Storage => {}
            }
        }
    }

    #[test]
    fn retryability_follows_the_official_sdks() {
        assert!(Error::new(ErrorKind::Server, "x").is_retryable());
        assert!(Error::new(ErrorKind::RateLimited, "x").is_retryable());
        assert!(
            !Error::new(ErrorKind::RateLimited, "x")
                .with_code("insufficient_quota")
                .is_retryable()
        );
        assert!(!Error::new(ErrorKind::InvalidRequest, "x").is_retryable());
        assert!(
            Error::new(ErrorKind::InvalidRequest, "x")
                .with_should_retry(true)
                .is_retryable()
        );
        assert!(
            !Error::new(ErrorKind::Server, "x")
                .with_should_retry(false)
                .is_retryable()
        );
        assert!(!Error::timeout(TimeoutKind::SendAndWait, Duration::from_secs(1)).is_retryable());
        assert!(Error::timeout(TimeoutKind::Idle, Duration::from_secs(1)).is_retryable());
    }

    #[test]
    fn json_record_has_every_field_null_when_absent() {
        let e = Error::new(ErrorKind::RateLimited, "slow down")
            .with_status(429)
            .with_code("rate_limit_exceeded")
            .with_request_id("req-1")
            .with_retry_after(Duration::from_millis(1500));
        assert_eq!(
            e.to_json_record(),
            serde_json::json!({
                "code": "rate_limited",
                "message": "slow down (HTTP 429, code rate_limit_exceeded, request id req-1)",
                "status": 429,
                "providerCode": "rate_limit_exceeded",
                "requestId": "req-1",
                "retryAfterMs": 1500.0,
                "timeoutKind": null,
                "errorType": "rate_limit",
                "retryable": true,
            })
        );
        let t = Error::timeout(TimeoutKind::SendAndWait, Duration::from_secs(1)).to_json_record();
        assert_eq!(t["timeoutKind"], "send_and_wait");
        assert_eq!(t["retryable"], false);
        assert_eq!(t["status"], serde_json::Value::Null);
    }

    #[test]
    fn redact_removes_echoed_secrets() {
        let e = Error::new(
            ErrorKind::Auth,
            "Incorrect API key provided: sk-secret-123.",
        )
        .redact(&["sk-secret-123"]);
        assert_eq!(e.message(), "Incorrect API key provided: [redacted].");
    }

    #[derive(Debug)]
    struct Echo(&'static str, Option<Box<Echo>>);
    impl fmt::Display for Echo {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Echo {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn redact_cleans_every_field_and_the_source_chain() {
        let e = Error::new(ErrorKind::Auth, "echo: K-1234 and T-5678")
            .with_status(401)
            .with_code("bad_key_K-1234")
            .with_request_id("req-T-5678")
            .with_source(Echo(
                "outer",
                Some(Box::new(Echo("header was K-1234", None))),
            ))
            .redact(&["K-1234", "T-5678"]);
        let all = format!("{e} {e:?} {}", chain_text(&e));
        assert!(!all.contains("K-1234") && !all.contains("T-5678"), "{all}");
        assert_eq!(e.code(), Some("bad_key_[redacted]"));
        assert_eq!(e.request_id(), Some("req-[redacted]"));
        let source = std::error::Error::source(&e).expect("source kept");
        assert_eq!(source.to_string(), "outer: header was [redacted]");
    }

    #[test]
    fn redact_catches_a_secret_cut_by_a_length_limit_and_prefers_the_longest() {
        let e =
            Error::new(ErrorKind::Auth, "echo: Bearer sk-ABCDEFGH...").redact(&["sk-ABCDEFGHIJKL"]);
        assert_eq!(e.message(), "echo: Bearer [redacted]...");
        let e = Error::new(ErrorKind::Auth, "header value sk-ABCD").redact(&["sk-ABCDEFGHIJKL"]);
        assert_eq!(e.message(), "header value [redacted]");
        // Short prefixes (under 4 characters) are ordinary text.
        let e = Error::new(ErrorKind::Auth, "ask").redact(&["sk-ABCDEFGHIJKL"]);
        assert_eq!(e.message(), "ask");
        let e = Error::new(ErrorKind::Auth, "value: key-1234-extra")
            .redact(&["key-1234", "key-1234-extra"]);
        assert_eq!(e.message(), "value: [redacted]");
    }

    #[test]
    fn redact_keeps_a_clean_source_as_it_is() {
        let e = Error::new(ErrorKind::Transport, "reset")
            .with_source(Echo("connection reset", None))
            .redact(&["K-1234"]);
        let source = std::error::Error::source(&e).expect("source kept");
        assert!(source.downcast_ref::<Echo>().is_some());
    }
}
