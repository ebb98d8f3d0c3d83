//! The SQLite store: one file, WAL mode, opened on first use; safe for several processes on one
//! machine (SQLite's file locks, plus the session lease).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::sql::{self, METADATA_COLUMNS, MIGRATIONS, SCHEMA_VERSION};
use super::{
    Commit, Holder, Lease, LeaseRequest, NewSession, SessionMetadata, SessionStore, StoredSession,
    exists, lost_lease, not_found, now_ms, storage_error,
};
use crate::error::{Error, Result};
use crate::util::lock;

/// When SQLite makes a commit durable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Synchronous {
    /// `synchronous=NORMAL` (default): a commit survives the process crashing, not the machine
    /// losing power (the last commits may then be lost, never corrupted).
    #[default]
    Normal,
    /// `synchronous=FULL`: a commit survives a power loss too; each commit waits for an fsync.
    Full,
}

/// Sessions in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    synchronous: Synchronous,
    conn: Mutex<Option<Connection>>,
    /// A second connection that checkpoints the WAL off the send path.
    checkpointer: Mutex<Option<Connection>>,
    commits: std::sync::atomic::AtomicU64,
}

/// Commits between two background checkpoints (SQLite's own automatic checkpoint, which this
/// replaces, runs inside a commit once the WAL passes 1,000 pages).
const CHECKPOINT_EVERY: u64 = 200;

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SqliteStore({})", self.inner.path.display())
    }
}

impl SqliteStore {
    /// A store in the file at `path` (created with mode 0600, its directory too, on first use).
    pub fn new(path: impl Into<PathBuf>, synchronous: Synchronous) -> Self {
        SqliteStore {
            inner: Arc::new(Inner {
                path: path.into(),
                synchronous,
                conn: Mutex::new(None),
                checkpointer: Mutex::new(None),
                commits: std::sync::atomic::AtomicU64::new(0),
            }),
        }
    }

    /// Reads the part of a `sqlite://` URL after the scheme: `/abs/path.db[?synchronous=full]`.
    pub(crate) fn from_url_path(rest: &str) -> Result<Self> {
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut synchronous = Synchronous::Normal;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("synchronous", v)) if v.eq_ignore_ascii_case("normal") => {
                    synchronous = Synchronous::Normal;
                }
                Some(("synchronous", v)) if v.eq_ignore_ascii_case("full") => {
                    synchronous = Synchronous::Full;
                }
                _ => {
                    return Err(Error::config(format!(
                        "sessionStore: the SQLite option \"{pair}\" is not supported: the only \
                         option is synchronous=normal or synchronous=full"
                    )));
                }
            }
        }
        if !Path::new(path).is_absolute() {
            return Err(Error::config(format!(
                "sessionStore: \"sqlite://{path}\" is not an absolute path: write three slashes \
                 and the full path, e.g. \"sqlite:///var/lib/app/sessions.db\""
            )));
        }
        Ok(Self::new(path, synchronous))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on the connection (opened first if needed) on a blocking thread.
    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &Arc<Inner>) -> Result<T> + Send + 'static,
    ) -> BoxFuture<'static, Result<T>> {
        let inner = self.inner.clone();
        async move {
            let name = inner.describe();
            tokio::task::spawn_blocking(move || {
                let mut slot = lock(&inner.conn);
                if slot.is_none() {
                    *slot = Some(inner.open()?);
                }
                let conn = slot.as_mut().expect("opened above");
                let result = f(conn, &inner);
                if let Err(e) = &result
                    && e.kind() == crate::ErrorKind::Storage
                {
                    // Reopen next time: the file may have been repaired or replaced.
                    *slot = None;
                }
                result
            })
            .await
            .map_err(|e| storage_error(&name, "the store's worker thread failed", e))?
        }
        .boxed()
    }
}

impl Inner {
    fn describe(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    fn err(&self, what: &str) -> impl Fn(rusqlite::Error) -> Error + use<> {
        let name = self.describe();
        let what = what.to_owned();
        move |e| storage_error(&name, &what, e)
    }

    /// Opens the file: creates it (0600) and its directory, sets WAL, runs the migrations.
    fn open(&self) -> Result<Connection> {
        let name = self.describe();
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_dir(dir).map_err(|e| storage_error(&name, "cannot create its directory", e))?;
        }
        create_file(&self.path).map_err(|e| storage_error(&name, "cannot create the file", e))?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn =
            Connection::open_with_flags(&self.path, flags).map_err(self.err("cannot open it"))?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(self.err("cannot set its busy timeout"))?;
        let sync = match self.synchronous {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; \
             PRAGMA wal_autocheckpoint = 0;"
        ))
        .map_err(self.err("cannot read it (is it an SQLite database?)"))?;
        self.migrate(&mut conn)?;
        Ok(conn)
    }

    fn migrate(&self, conn: &mut Connection) -> Result<()> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.err("cannot start the schema check"))?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS modelport_schema (version BIGINT NOT NULL)")
            .map_err(self.err("cannot create its schema table"))?;
        let found: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM modelport_schema",
                [],
                |r| r.get(0),
            )
            .map_err(self.err("cannot read its schema version"))?;
        if found > SCHEMA_VERSION {
            return Err(sql::too_new(&self.describe(), found));
        }
        for (i, script) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            tx.execute_batch(script)
                .map_err(self.err(&format!("cannot migrate to schema version {}", i + 1)))?;
            tx.execute(
                "INSERT INTO modelport_schema (version) VALUES (?1)",
                [i as i64 + 1],
            )
            .map_err(self.err("cannot record its schema version"))?;
        }
        tx.commit().map_err(self.err("cannot commit the migration"))
    }
}

impl Inner {
    /// Every [`CHECKPOINT_EVERY`] commits, a passive checkpoint on the second connection, on a
    /// blocking thread of its own: writers go on meanwhile, so no send waits for it.
    fn after_commit(self: &Arc<Self>) {
        let n = self
            .commits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        if !n.is_multiple_of(CHECKPOINT_EVERY) {
            return;
        }
        let inner = self.clone();
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn_blocking(move || {
            // One checkpoint at a time; a busy checkpointer skips this round.
            let Some(mut slot) = inner.checkpointer.try_lock().ok() else {
                return;
            };
            if slot.is_none() {
                *slot = Connection::open_with_flags(&inner.path, OpenFlags::SQLITE_OPEN_READ_WRITE)
                    .ok();
            }
            if let Some(conn) = slot.as_ref()
                && let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE);")
            {
                tracing::debug!(store = %inner.describe(), error = %e, "background checkpoint");
                *slot = None;
            }
        });
    }
}

fn create_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

fn create_file(path: &Path) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map(drop)
}

fn read_metadata(r: &rusqlite::Row<'_>) -> rusqlite::Result<SessionMetadata> {
    Ok(sql::metadata(
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
    ))
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

impl SessionStore for SqliteStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn create<'a>(
        &'a self,
        session: &'a NewSession,
        lease: &'a LeaseRequest,
    ) -> BoxFuture<'a, Result<Lease>> {
        let session = session.clone();
        let (holder, ttl) = (lease.holder.as_str().to_owned(), ms(lease.ttl));
        self.run(move |conn, inner| {
            let provider = session.provider.as_ref().map(|p| p.to_string());
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO modelport_sessions (id, start_ms, modified_ms, model, provider, \
                     lease_holder, lease_until_ms, lease_gen) VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, 1) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        session.session_id,
                        session.start_ms,
                        session.model,
                        provider,
                        holder,
                        now_ms() + ttl
                    ])
                })
                .map_err(inner.err("cannot create the session"))?;
            if inserted == 0 {
                return Err(exists(&session.session_id));
            }
            Ok(Lease {
                session_id: session.session_id,
                holder,
                generation: 1,
            })
        })
    }

    fn open<'a>(
        &'a self,
        session_id: &'a str,
        lease: &'a LeaseRequest,
    ) -> BoxFuture<'a, Result<(Lease, StoredSession)>> {
        let id = session_id.to_owned();
        let (me, ttl) = (lease.holder.clone(), ms(lease.ttl));
        self.run(move |conn, inner| {
            let e = |w: &str| inner.err(w);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(e("cannot start a transaction"))?;
            let row = tx
                .query_row(
                    "SELECT lease_holder, lease_until_ms, lease_gen, provider FROM modelport_sessions \
                     WHERE id = ?1",
                    [&id],
                    |r| {
                        Ok((
                            r.get::<_, Option<String>>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, i64>(2)?,
                            r.get::<_, Option<String>>(3)?,
                        ))
                    },
                )
                .optional()
                .map_err(e("cannot read the session"))?;
            let Some((holder, until, generation, provider)) = row else {
                return Err(not_found(&id));
            };
            let now = now_ms();
            me.check_free(&id, holder.as_deref(), until, now)?;
            let generation = generation + 1;
            tx.execute(
                "UPDATE modelport_sessions SET lease_holder = ?2, lease_until_ms = ?3, lease_gen = ?4 \
                 WHERE id = ?1",
                params![id, me.as_str(), now + ttl, generation],
            )
            .map_err(e("cannot take the lease"))?;
            let metadata = tx
                .query_row(
                    &format!("SELECT {METADATA_COLUMNS} FROM modelport_sessions WHERE id = ?1"),
                    [&id],
                    read_metadata,
                )
                .map_err(e("cannot read the session"))?;
            let column = |table: &str| -> Result<Vec<String>> {
                let mut s = tx
                    .prepare_cached(&format!(
                        "SELECT body FROM {table} WHERE session_id = ?1 ORDER BY idx"
                    ))
                    .map_err(e("cannot read the session"))?;
                s.query_map([&id], |r| r.get(0))
                    .and_then(|rows| rows.collect::<rusqlite::Result<Vec<String>>>())
                    .map_err(e("cannot read the session"))
            };
            let events = column("modelport_events")?;
            let history = column("modelport_history")?;
            tx.commit().map_err(e("cannot commit the lease"))?;
            let stored = sql::load(&inner.describe(), metadata, provider, events, history)?;
            Ok((
                Lease {
                    session_id: id,
                    holder: me.as_str().to_owned(),
                    generation,
                },
                stored,
            ))
        })
    }

    fn commit<'a>(
        &'a self,
        lease: &'a Lease,
        ttl: Duration,
        commit: Commit<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        let lease = lease.clone();
        let events: Vec<String> = commit.events.iter().map(|e| e.json().to_owned()).collect();
        let history: Vec<String> = commit.history.iter().map(sql::message_text).collect();
        let (events_from, history_from) = (commit.events_from as i64, commit.history_from as i64);
        let (model, summary, now) = (
            commit.model.to_owned(),
            commit.summary.map(str::to_owned),
            commit.now_ms,
        );
        let ttl = ms(ttl);
        self.run(move |conn, inner| {
            let e = |w: &str| inner.err(w);
            let w = "cannot write the session";
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(e("cannot start a transaction"))?;
            let held = tx
                .prepare_cached(
                    "UPDATE modelport_sessions SET modified_ms = ?4, model = ?5, \
                     summary = COALESCE(summary, ?6), lease_until_ms = ?7 \
                     WHERE id = ?1 AND lease_holder = ?2 AND lease_gen = ?3",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        lease.session_id,
                        lease.holder,
                        lease.generation,
                        now,
                        model,
                        summary,
                        now_ms() + ttl
                    ])
                })
                .map_err(e(w))?;
            if held == 0 {
                return Err(lost_lease(&lease.session_id));
            }
            for (table, from, rows) in [
                ("modelport_events", events_from, &events),
                ("modelport_history", history_from, &history),
            ] {
                tx.prepare_cached(&format!(
                    "DELETE FROM {table} WHERE session_id = ?1 AND idx >= ?2"
                ))
                .and_then(|mut s| s.execute(params![lease.session_id, from]))
                .map_err(e(w))?;
                let mut insert = tx
                    .prepare_cached(&format!(
                        "INSERT INTO {table} (session_id, idx, body) VALUES (?1, ?2, ?3)"
                    ))
                    .map_err(e(w))?;
                for (i, body) in rows.iter().enumerate() {
                    insert
                        .execute(params![lease.session_id, from + i as i64, body])
                        .map_err(e(w))?;
                }
            }
            tx.commit().map_err(e("cannot commit"))?;
            inner.after_commit();
            Ok(())
        })
    }

    fn renew<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> BoxFuture<'a, Result<()>> {
        let lease = lease.clone();
        let ttl = ms(ttl);
        self.run(move |conn, inner| {
            let n = conn
                .prepare_cached(
                    "UPDATE modelport_sessions SET lease_until_ms = ?4 \
                     WHERE id = ?1 AND lease_holder = ?2 AND lease_gen = ?3",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        lease.session_id,
                        lease.holder,
                        lease.generation,
                        now_ms() + ttl
                    ])
                })
                .map_err(inner.err("cannot renew the lease"))?;
            if n == 0 {
                return Err(lost_lease(&lease.session_id));
            }
            Ok(())
        })
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<()>> {
        let lease = lease.clone();
        self.run(move |conn, inner| {
            conn.prepare_cached(
                "UPDATE modelport_sessions SET lease_holder = NULL, lease_until_ms = 0 \
                 WHERE id = ?1 AND lease_holder = ?2 AND lease_gen = ?3",
            )
            .and_then(|mut s| s.execute(params![lease.session_id, lease.holder, lease.generation]))
            .map_err(inner.err("cannot release the lease"))
            .map(drop)
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        self.run(|conn, inner| {
            let mut s = conn
                .prepare_cached(&format!(
                    "SELECT {METADATA_COLUMNS} FROM modelport_sessions \
                     ORDER BY modified_ms DESC, id DESC"
                ))
                .map_err(inner.err("cannot list the sessions"))?;
            s.query_map([], read_metadata)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(inner.err("cannot list the sessions"))
        })
    }

    fn metadata<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionMetadata>>> {
        let id = session_id.to_owned();
        self.run(move |conn, inner| {
            conn.prepare_cached(&format!(
                "SELECT {METADATA_COLUMNS} FROM modelport_sessions WHERE id = ?1"
            ))
            .and_then(|mut s| s.query_row([&id], read_metadata).optional())
            .map_err(inner.err("cannot read the session"))
        })
    }

    fn delete<'a>(
        &'a self,
        session_id: &'a str,
        holder: &'a Holder,
    ) -> BoxFuture<'a, Result<bool>> {
        let id = session_id.to_owned();
        let me = holder.clone();
        self.run(move |conn, inner| {
            let e = |w: &str| inner.err(w);
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(e("cannot start a transaction"))?;
            let row = tx
                .query_row(
                    "SELECT lease_holder, lease_until_ms FROM modelport_sessions WHERE id = ?1",
                    [&id],
                    |r| Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?)),
                )
                .optional()
                .map_err(e("cannot read the session"))?;
            let Some((holder, until)) = row else {
                return Ok(false);
            };
            me.check_free(&id, holder.as_deref(), until, now_ms())?;
            tx.execute("DELETE FROM modelport_sessions WHERE id = ?1", [&id])
                .map_err(e("cannot delete the session"))?;
            tx.commit().map_err(e("cannot commit the delete"))?;
            Ok(true)
        })
    }
}
