//! What the SQLite and PostgreSQL stores share: the schema, its migrations, and how events and
//! messages are written as text.

use super::{StoredSession, rfc3339};
use crate::error::Result;
use crate::events::Event;
use crate::types::Message;

/// The schema versions, in order; version N is the first N scripts applied. Both dialects read the
/// same text (types and syntax common to SQLite and PostgreSQL).
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: sessions, their events and their wire history.
    "CREATE TABLE modelport_sessions (
        id TEXT PRIMARY KEY,
        start_ms BIGINT NOT NULL,
        modified_ms BIGINT NOT NULL,
        summary TEXT,
        model TEXT NOT NULL,
        provider TEXT,
        lease_holder TEXT,
        lease_until_ms BIGINT NOT NULL DEFAULT 0,
        lease_gen BIGINT NOT NULL DEFAULT 0
    );
    CREATE INDEX modelport_sessions_modified ON modelport_sessions (modified_ms DESC, id DESC);
    CREATE TABLE modelport_events (
        session_id TEXT NOT NULL REFERENCES modelport_sessions (id) ON DELETE CASCADE,
        idx BIGINT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (session_id, idx)
    );
    CREATE TABLE modelport_history (
        session_id TEXT NOT NULL REFERENCES modelport_sessions (id) ON DELETE CASCADE,
        idx BIGINT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (session_id, idx)
    );",
];

/// The schema version this build writes.
pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The error for a database written by a newer modelport.
pub(crate) fn too_new(store: &str, found: i64) -> crate::Error {
    crate::Error::new(
        crate::ErrorKind::Storage,
        format!(
            "session store {store}: its schema version is {found}, newer than this modelport \
             supports ({SCHEMA_VERSION}): upgrade modelport, or use another store"
        ),
    )
}

/// The columns `list`/`metadata` read.
pub(crate) const METADATA_COLUMNS: &str = "id, start_ms, modified_ms, summary, model";

pub(crate) fn metadata(
    id: String,
    start_ms: i64,
    modified_ms: i64,
    summary: Option<String>,
    model: String,
) -> super::SessionMetadata {
    super::SessionMetadata {
        session_id: id,
        start_time: rfc3339(start_ms),
        modified_time: rfc3339(modified_ms),
        summary,
        model,
    }
}

/// Decodes stored rows into a session.
pub(crate) fn load(
    store: &str,
    metadata: super::SessionMetadata,
    provider: Option<String>,
    events: Vec<String>,
    history: Vec<String>,
) -> Result<StoredSession> {
    let bad = |what: &str, e: serde_json::Error| {
        super::storage_error(
            store,
            &format!(
                "session \"{}\" has a {what} that cannot be read",
                metadata.session_id
            ),
            e,
        )
    };
    let provider = match provider {
        Some(p) => Some(serde_json::from_str(&p).map_err(|e| bad("provider record", e))?),
        None => None,
    };
    let events = events
        .iter()
        .map(|e| serde_json::from_str::<Event>(e).map_err(|err| bad("event", err)))
        .collect::<Result<Vec<_>>>()?;
    let history = history
        .iter()
        .map(|m| serde_json::from_str::<Message>(m).map_err(|err| bad("history message", err)))
        .collect::<Result<Vec<_>>>()?;
    Ok(StoredSession {
        metadata,
        provider,
        events,
        history,
    })
}

/// A history message as stored.
pub(crate) fn message_text(m: &Message) -> String {
    // Messages hold strings, numbers and JSON values only: serialising cannot fail.
    serde_json::to_string(m).unwrap_or_else(|_| "null".to_owned())
}
