//! Durable sessions: where a session's metadata, event log and history live between processes.
//!
//! A [`SessionStore`] keeps, per session, its metadata, its non-ephemeral events, the neutral
//! history sent on the wire and the provider's endpoint (never its key, token or sensitive
//! headers). One process writes a session at a time: it holds the session's lease, and every commit
//! checks the lease's generation (fencing), so a holder that lost its lease cannot write.
//!
//! Three stores ship: [`MemoryStore`] (`"memory"`), SQLite (`"sqlite:///abs/path.db"`, the
//! default, at `$MODELPORT_HOME/sessions.db`) and PostgreSQL (any libpq `postgres://` URL).

mod lease;
mod memory;
mod postgres;
mod sql;
mod sqlite;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::events::Event;
use crate::types::Message;

pub(crate) use lease::without_password;
pub use lease::{Holder, LeaseOptions};
pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use sqlite::{SqliteStore, Synchronous};

/// What `list_sessions` and `get_session_metadata` return.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionMetadata {
    /// The session id.
    pub session_id: String,
    /// When the session was created (RFC 3339, UTC, milliseconds).
    pub start_time: String,
    /// When the session last committed (RFC 3339, UTC, milliseconds).
    pub modified_time: String,
    /// The first user message, shortened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The session's model.
    pub model: String,
}

/// A new session's record.
#[derive(Clone, Debug)]
pub struct NewSession {
    /// The session id.
    pub session_id: String,
    /// The model.
    pub model: String,
    /// The provider without its secrets (`ProviderConfig`'s serialised form).
    pub provider: Option<Value>,
    /// Creation time, milliseconds since the Unix epoch.
    pub start_ms: i64,
}

/// A held lease: who holds the session, and the generation every commit must match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The session id.
    pub session_id: String,
    /// The holder's identity.
    pub holder: String,
    /// Increases each time the lease changes hands; commits carry it.
    pub generation: i64,
}

/// How to take a lease.
#[derive(Clone, Debug)]
pub struct LeaseRequest {
    /// Who asks.
    pub holder: Holder,
    /// How long the lease lasts without renewal.
    pub ttl: Duration,
}

/// A session as stored, for `resume_session`.
#[derive(Clone, Debug)]
pub struct StoredSession {
    /// Its metadata.
    pub metadata: SessionMetadata,
    /// The provider without its secrets, when it was recorded.
    pub provider: Option<Value>,
    /// The non-ephemeral events, in order.
    pub events: Vec<Event>,
    /// The neutral history, in order.
    pub history: Vec<Message>,
}

/// What one commit adds: events from index `events_from` on, and the history from index
/// `history_from` on (what the store held from that index is replaced, so a compacted history can be
/// written too). Committing the same indices twice writes them once.
#[derive(Clone, Copy, Debug)]
pub struct Commit<'a> {
    /// The index of `events[0]` in the session's event log.
    pub events_from: usize,
    /// New events.
    pub events: &'a [Event],
    /// The index of `history[0]` in the session's history.
    pub history_from: usize,
    /// The history from `history_from` to its end.
    pub history: &'a [Message],
    /// The session's current model.
    pub model: &'a str,
    /// The summary, when the session has none yet (the first user message, shortened).
    pub summary: Option<&'a str>,
    /// Commit time, milliseconds since the Unix epoch.
    pub now_ms: i64,
}

/// Where sessions are kept. Implement it to keep sessions elsewhere; every method must be safe to
/// call from many processes at once (that is what the lease is for).
pub trait SessionStore: Send + Sync + 'static {
    /// A name for errors and logs: the store's kind and location, never a password.
    fn describe(&self) -> String;

    /// Whether sessions outlive the process (a memory store returns false and needs no lease
    /// renewal).
    fn durable(&self) -> bool {
        true
    }

    /// Records a new session and gives its creator the lease; [`ErrorKind::SessionExists`] when
    /// the id is taken.
    fn create<'a>(
        &'a self,
        session: &'a NewSession,
        lease: &'a LeaseRequest,
    ) -> BoxFuture<'a, Result<Lease>>;

    /// Takes the lease of a stored session and loads it: [`ErrorKind::SessionNotFound`] when there
    /// is none, [`ErrorKind::SessionBusy`] when another live holder has it.
    fn open<'a>(
        &'a self,
        session_id: &'a str,
        lease: &'a LeaseRequest,
    ) -> BoxFuture<'a, Result<(Lease, StoredSession)>>;

    /// Writes a commit in one transaction and extends the lease by `ttl`; [`ErrorKind::SessionBusy`]
    /// when `lease` is no longer the session's current lease.
    fn commit<'a>(
        &'a self,
        lease: &'a Lease,
        ttl: Duration,
        commit: Commit<'a>,
    ) -> BoxFuture<'a, Result<()>>;

    /// Extends the lease by `ttl`; [`ErrorKind::SessionBusy`] when it was lost.
    fn renew<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> BoxFuture<'a, Result<()>>;

    /// Gives the lease up (nothing happens when it was already lost).
    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<()>>;

    /// Every session, most recently modified first.
    fn list(&self) -> BoxFuture<'_, Result<Vec<SessionMetadata>>>;

    /// One session's metadata.
    fn metadata<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionMetadata>>>;

    /// Deletes a session that no other live holder has (else [`ErrorKind::SessionBusy`]); false
    /// when there was none.
    fn delete<'a>(&'a self, session_id: &'a str, holder: &'a Holder)
    -> BoxFuture<'a, Result<bool>>;
}

impl fmt::Debug for dyn SessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionStore({})", self.describe())
    }
}

/// Opens the store a `sessionStore` URL names: `memory`, `sqlite:///abs/path.db` (options:
/// `?synchronous=normal|full`) or a libpq `postgres://` / `postgresql://` URL.
pub fn open_store(url: &str) -> Result<Arc<dyn SessionStore>> {
    let url = url.trim();
    if url == "memory" || url == "memory://" {
        return Ok(Arc::new(MemoryStore::new()));
    }
    if let Some(rest) = url.strip_prefix("sqlite://") {
        return Ok(Arc::new(SqliteStore::from_url_path(rest)?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::new(url)?));
    }
    Err(Error::config(format!(
        "sessionStore: \"{}\" is not a store URL: use \"memory\", \"sqlite:///absolute/path.db\" \
         or \"postgres://user:password@host:port/database\"",
        lease::without_password(url)
    )))
}

/// The default store's directory: `$MODELPORT_HOME`, else the platform's data directory +
/// `/modelport` (`$XDG_DATA_HOME/modelport` or `~/.local/share/modelport` on Linux,
/// `~/Library/Application Support/modelport` on macOS, `%APPDATA%\modelport` on Windows).
pub fn modelport_home() -> Result<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(home) = env("MODELPORT_HOME") {
        return Ok(home);
    }
    let data = if cfg!(windows) {
        env("APPDATA")
    } else if cfg!(target_os = "macos") {
        env("HOME").map(|h| h.join("Library/Application Support"))
    } else {
        env("XDG_DATA_HOME").or_else(|| env("HOME").map(|h| h.join(".local/share")))
    };
    data.map(|d| d.join("modelport")).ok_or_else(|| {
        Error::config(
            "sessionStore: no data directory (HOME is not set): set MODELPORT_HOME, or pass \
             sessionStore (\"memory\" or \"sqlite:///absolute/path.db\")",
        )
    })
}

/// The default store: SQLite at `$MODELPORT_HOME/sessions.db`, opened on first use.
pub fn default_store() -> Result<Arc<dyn SessionStore>> {
    Ok(Arc::new(SqliteStore::new(
        modelport_home()?.join("sessions.db"),
        Synchronous::Normal,
    )))
}

/// The first user message, shortened to a summary (at most 80 characters, on one line).
pub(crate) fn summarize(prompt: &str) -> String {
    const MAX: usize = 80;
    let line: String = prompt.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= MAX {
        return line;
    }
    let cut: String = line.chars().take(MAX - 1).collect();
    format!("{}…", cut.trim_end())
}

/// A storage error naming the store.
pub(crate) fn storage_error(store: &str, what: &str, cause: impl fmt::Display) -> Error {
    Error::new(
        ErrorKind::Storage,
        format!("session store {store}: {what}: {cause}"),
    )
}

pub(crate) fn not_found(session_id: &str) -> Error {
    Error::new(
        ErrorKind::SessionNotFound,
        format!(
            "no session with id \"{session_id}\" in the session store: check the id \
             (client.list_sessions() lists them), or create it with create_session"
        ),
    )
}

pub(crate) fn exists(session_id: &str) -> Error {
    Error::new(
        ErrorKind::SessionExists,
        format!(
            "session_id \"{session_id}\" is already in use: choose another id, or \
             resume_session(\"{session_id}\")"
        ),
    )
}

pub(crate) fn busy(session_id: &str, holder: Option<&str>) -> Error {
    let by = holder
        .map(|h| format!(" (held by {})", lease::display_holder(h)))
        .unwrap_or_default();
    Error::new(
        ErrorKind::SessionBusy,
        format!(
            "session \"{session_id}\" is in use by another client{by}: wait until it disconnects \
             or its lease expires, or pass sessionLease.waitMs to wait"
        ),
    )
}

pub(crate) fn lost_lease(session_id: &str) -> Error {
    Error::new(
        ErrorKind::SessionBusy,
        format!(
            "session \"{session_id}\" was taken over by another client after this one's lease \
             expired: nothing more is written; resume the session to continue it"
        ),
    )
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

pub(crate) fn rfc3339(ms: i64) -> String {
    crate::util::rfc3339_millis(
        std::time::SystemTime::UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64),
    )
}

#[cfg(test)]
mod tests;
