//! The PostgreSQL store: many worker processes, one database. Connections come from a small pool;
//! lease times use the database's clock, so workers' clocks need not agree.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{BoxFuture, FutureExt};
use tokio::sync::{OnceCell, Semaphore};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls, Statement};

use super::lease::without_password;
use super::sql::{self, METADATA_COLUMNS, MIGRATIONS, SCHEMA_VERSION};
use super::{
    Commit, Holder, Lease, LeaseRequest, NewSession, SessionMetadata, SessionStore, StoredSession,
    exists, lost_lease, not_found, storage_error,
};
use crate::error::{Error, Result};
use crate::util::lock;

/// Connections the pool opens at most.
const POOL_SIZE: usize = 16;
/// The database's clock, in milliseconds since the Unix epoch.
const NOW: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// Sessions in a PostgreSQL database (tables `modelport_*`, created on first use).
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    name: String,
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
    migrated: OnceCell<()>,
}

/// A connection and its prepared statements.
struct Conn {
    client: Client,
    commit: [Statement; 5],
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresStore({})", self.inner.name)
    }
}

impl PostgresStore {
    /// A store at a libpq URL (`postgres://user:password@host:port/db?options`); connects on first
    /// use. Options tokio-postgres does not know are rejected by name; TLS is not supported yet, so
    /// `sslmode=require` is rejected too.
    pub fn new(url: &str) -> Result<Self> {
        let name = without_password(url);
        let mut config: Config = url.parse().map_err(|e: tokio_postgres::Error| {
            Error::config(format!(
                "sessionStore: the PostgreSQL URL {name} is not valid: {e} (see libpq's \
                 connection URI format)"
            ))
        })?;
        if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
            return Err(Error::config(format!(
                "sessionStore: sslmode=require in {name} is not supported: modelport's PostgreSQL \
                 store does not speak TLS yet; use sslmode=disable on a private network or loopback"
            )));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        Ok(PostgresStore {
            inner: Arc::new(Inner {
                config,
                name,
                idle: Mutex::new(Vec::new()),
                permits: Semaphore::new(POOL_SIZE),
                migrated: OnceCell::new(),
            }),
        })
    }

    /// Runs `f` with a pooled connection (migrated first). A connection that broke is not reused.
    async fn with<T>(&self, f: impl AsyncFnOnce(&mut Conn, &Inner) -> Result<T>) -> Result<T> {
        let inner = &*self.inner;
        let _permit = inner
            .permits
            .acquire()
            .await
            .map_err(|e| storage_error(&inner.name, "the pool is closed", e))?;
        let pooled = {
            let mut idle = lock(&inner.idle);
            idle.retain(|c| !c.client.is_closed());
            idle.pop()
        };
        let mut conn = match pooled {
            Some(c) => c,
            None => inner.connect().await?,
        };
        let result = f(&mut conn, inner).await;
        if !conn.client.is_closed() {
            lock(&inner.idle).push(conn);
        }
        result
    }
}

impl Inner {
    fn err(&self, what: &str) -> impl Fn(tokio_postgres::Error) -> Error + use<> {
        let (name, what) = (self.name.clone(), what.to_owned());
        move |e| storage_error(&name, &what, e)
    }

    async fn connect(&self) -> Result<Conn> {
        let (client, connection) = self
            .config
            .connect(NoTls)
            .await
            .map_err(self.err("cannot connect"))?;
        let name = self.name.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(store = %name, error = %e, "a PostgreSQL connection ended");
            }
        });
        self.migrated
            .get_or_try_init(|| self.migrate(&client))
            .await?;
        let prepare = |q: String| {
            let client = &client;
            async move { client.prepare(&q).await }
        };
        let statements = futures::future::try_join_all([
            prepare(format!(
                "UPDATE modelport_sessions SET modified_ms = $4, model = $5, \
                 summary = COALESCE(summary, $6), lease_until_ms = {NOW} + $7 \
                 WHERE id = $1 AND lease_holder = $2 AND lease_gen = $3"
            )),
            prepare("DELETE FROM modelport_events WHERE session_id = $1 AND idx >= $2".into()),
            prepare(
                "INSERT INTO modelport_events (session_id, idx, body) \
                 SELECT $1, $2 + t.i - 1, t.b FROM unnest($3::TEXT[]) WITH ORDINALITY AS t(b, i)"
                    .into(),
            ),
            prepare("DELETE FROM modelport_history WHERE session_id = $1 AND idx >= $2".into()),
            prepare(
                "INSERT INTO modelport_history (session_id, idx, body) \
                 SELECT $1, $2 + t.i - 1, t.b FROM unnest($3::TEXT[]) WITH ORDINALITY AS t(b, i)"
                    .into(),
            ),
        ])
        .await
        .map_err(self.err("cannot prepare its statements"))?;
        let commit: [Statement; 5] = statements
            .try_into()
            .map_err(|_| storage_error(&self.name, "prepare", "wrong statement count"))?;
        Ok(Conn { client, commit })
    }

    /// Creates or upgrades the tables, one migrator at a time (an advisory lock).
    async fn migrate(&self, client: &Client) -> Result<()> {
        let e = |w: &str| self.err(w);
        client
            .batch_execute(
                "BEGIN; SELECT pg_advisory_xact_lock(7461626); \
                 CREATE TABLE IF NOT EXISTS modelport_schema (version BIGINT NOT NULL);",
            )
            .await
            .map_err(e("cannot lock its schema"))?;
        let result = async {
            let found: i64 = client
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) FROM modelport_schema",
                    &[],
                )
                .await
                .map_err(e("cannot read its schema version"))?
                .get(0);
            if found > SCHEMA_VERSION {
                return Err(sql::too_new(&self.name, found));
            }
            for (i, script) in MIGRATIONS.iter().enumerate().skip(found as usize) {
                client
                    .batch_execute(script)
                    .await
                    .map_err(e(&format!("cannot migrate to schema version {}", i + 1)))?;
                client
                    .execute(
                        "INSERT INTO modelport_schema (version) VALUES ($1)",
                        &[&(i as i64 + 1)],
                    )
                    .await
                    .map_err(e("cannot record its schema version"))?;
            }
            Ok(())
        }
        .await;
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        client
            .batch_execute(end)
            .await
            .map_err(e("cannot commit the migration"))?;
        result
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

fn read_metadata(r: &tokio_postgres::Row) -> SessionMetadata {
    sql::metadata(r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))
}

impl SessionStore for PostgresStore {
    fn describe(&self) -> String {
        self.inner.name.clone()
    }

    fn create<'a>(
        &'a self,
        session: &'a NewSession,
        lease: &'a LeaseRequest,
    ) -> BoxFuture<'a, Result<Lease>> {
        async move {
            self.with(async |conn, inner| {
                let provider = session.provider.as_ref().map(|p| p.to_string());
                let inserted = conn
                    .client
                    .execute(
                        &format!(
                            "INSERT INTO modelport_sessions (id, start_ms, modified_ms, model, \
                             provider, lease_holder, lease_until_ms, lease_gen) \
                             VALUES ($1, $2, $2, $3, $4, $5, {NOW} + $6, 1) ON CONFLICT (id) DO NOTHING"
                        ),
                        &[
                            &session.session_id,
                            &session.start_ms,
                            &session.model,
                            &provider,
                            &lease.holder.as_str(),
                            &ms(lease.ttl),
                        ],
                    )
                    .await
                    .map_err(inner.err("cannot create the session"))?;
                if inserted == 0 {
                    return Err(exists(&session.session_id));
                }
                Ok(Lease {
                    session_id: session.session_id.clone(),
                    holder: lease.holder.as_str().to_owned(),
                    generation: 1,
                })
            })
            .await
        }
        .boxed()
    }

    fn open<'a>(
        &'a self,
        session_id: &'a str,
        lease: &'a LeaseRequest,
    ) -> BoxFuture<'a, Result<(Lease, StoredSession)>> {
        async move {
            self.with(async |conn, inner| {
                let e = |w: &str| inner.err(w);
                let tx = conn
                    .client
                    .transaction()
                    .await
                    .map_err(e("cannot start a transaction"))?;
                let row = tx
                    .query_opt(
                        &format!(
                            "SELECT lease_holder, lease_until_ms, lease_gen, provider, {NOW} \
                             FROM modelport_sessions WHERE id = $1 FOR UPDATE"
                        ),
                        &[&session_id],
                    )
                    .await
                    .map_err(e("cannot read the session"))?
                    .ok_or_else(|| not_found(session_id))?;
                let (holder, until, generation, provider, now): (
                    Option<String>,
                    i64,
                    i64,
                    Option<String>,
                    i64,
                ) = (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
                let me = &lease.holder;
                me.check_free(session_id, holder.as_deref(), until, now)?;
                let generation = generation + 1;
                let read_rows = |table: &'static str| {
                    let tx = &tx;
                    async move {
                        tx.query(
                            &format!("SELECT body FROM {table} WHERE session_id = $1 ORDER BY idx"),
                            &[&session_id],
                        )
                        .await
                        .map(|rows| {
                            rows.iter()
                                .map(|r| r.get::<_, String>(0))
                                .collect::<Vec<_>>()
                        })
                    }
                };
                let (holder_text, until) = (me.as_str(), now + ms(lease.ttl));
                let metadata_query =
                    format!("SELECT {METADATA_COLUMNS} FROM modelport_sessions WHERE id = $1");
                let update: [&(dyn ToSql + Sync); 4] =
                    [&session_id, &holder_text, &until, &generation];
                let by_id: [&(dyn ToSql + Sync); 1] = [&session_id];
                let (_, metadata, events, history) = futures::try_join!(
                    tx.execute(
                        "UPDATE modelport_sessions SET lease_holder = $2, lease_until_ms = $3, \
                         lease_gen = $4 WHERE id = $1",
                        &update,
                    ),
                    tx.query_one(&metadata_query, &by_id),
                    read_rows("modelport_events"),
                    read_rows("modelport_history"),
                )
                .map_err(e("cannot take the lease"))?;
                tx.commit().await.map_err(e("cannot commit the lease"))?;
                let stored = sql::load(
                    &inner.name,
                    read_metadata(&metadata),
                    provider,
                    events,
                    history,
                )?;
                Ok((
                    Lease {
                        session_id: session_id.to_owned(),
                        holder: me.as_str().to_owned(),
                        generation,
                    },
                    stored,
                ))
            })
            .await
        }
        .boxed()
    }

    fn commit<'a>(
        &'a self,
        lease: &'a Lease,
        ttl: Duration,
        commit: Commit<'a>,
    ) -> BoxFuture<'a, Result<()>> {
        let events: Vec<&str> = commit.events.iter().map(|e| e.json()).collect();
        let history: Vec<String> = commit.history.iter().map(sql::message_text).collect();
        async move {
            self.with(async |conn, inner| {
                let e = |w: &str| inner.err(w);
                let w = "cannot write the session";
                let [update, del_events, add_events, del_history, add_history] = &conn.commit;
                let tx = conn
                    .client
                    .transaction()
                    .await
                    .map_err(e("cannot start a transaction"))?;
                let (events_from, history_from) =
                    (commit.events_from as i64, commit.history_from as i64);
                let id = &lease.session_id;
                let ttl_ms = ms(ttl);
                let held_params: [&(dyn ToSql + Sync); 7] = [
                    id,
                    &lease.holder,
                    &lease.generation,
                    &commit.now_ms,
                    &commit.model,
                    &commit.summary,
                    &ttl_ms,
                ];
                let del_events_params: [&(dyn ToSql + Sync); 2] = [id, &events_from];
                let add_events_params: [&(dyn ToSql + Sync); 3] = [id, &events_from, &events];
                let del_history_params: [&(dyn ToSql + Sync); 2] = [id, &history_from];
                let add_history_params: [&(dyn ToSql + Sync); 3] = [id, &history_from, &history];
                let (held, ..) = futures::try_join!(
                    tx.execute(update, &held_params),
                    tx.execute(del_events, &del_events_params),
                    tx.execute(add_events, &add_events_params),
                    tx.execute(del_history, &del_history_params),
                    tx.execute(add_history, &add_history_params),
                )
                .map_err(e(w))?;
                if held == 0 {
                    tx.rollback().await.map_err(e(w))?;
                    return Err(lost_lease(id));
                }
                tx.commit().await.map_err(e("cannot commit"))
            })
            .await
        }
        .boxed()
    }

    fn renew<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> BoxFuture<'a, Result<()>> {
        async move {
            self.with(async |conn, inner| {
                let n = conn
                    .client
                    .execute(
                        &format!(
                            "UPDATE modelport_sessions SET lease_until_ms = {NOW} + $4 \
                             WHERE id = $1 AND lease_holder = $2 AND lease_gen = $3"
                        ),
                        &[
                            &lease.session_id,
                            &lease.holder,
                            &lease.generation,
                            &ms(ttl),
                        ],
                    )
                    .await
                    .map_err(inner.err("cannot renew the lease"))?;
                if n == 0 {
                    return Err(lost_lease(&lease.session_id));
                }
                Ok(())
            })
            .await
        }
        .boxed()
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<()>> {
        async move {
            self.with(async |conn, inner| {
                conn.client
                    .execute(
                        "UPDATE modelport_sessions SET lease_holder = NULL, lease_until_ms = 0 \
                         WHERE id = $1 AND lease_holder = $2 AND lease_gen = $3",
                        &[&lease.session_id, &lease.holder, &lease.generation],
                    )
                    .await
                    .map_err(inner.err("cannot release the lease"))
                    .map(drop)
            })
            .await
        }
        .boxed()
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<SessionMetadata>>> {
        async move {
            self.with(async |conn, inner| {
                let rows = conn
                    .client
                    .query(
                        &format!(
                            "SELECT {METADATA_COLUMNS} FROM modelport_sessions \
                             ORDER BY modified_ms DESC, id DESC"
                        ),
                        &[],
                    )
                    .await
                    .map_err(inner.err("cannot list the sessions"))?;
                Ok(rows.iter().map(read_metadata).collect())
            })
            .await
        }
        .boxed()
    }

    fn metadata<'a>(
        &'a self,
        session_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionMetadata>>> {
        async move {
            self.with(async |conn, inner| {
                let row = conn
                    .client
                    .query_opt(
                        &format!("SELECT {METADATA_COLUMNS} FROM modelport_sessions WHERE id = $1"),
                        &[&session_id],
                    )
                    .await
                    .map_err(inner.err("cannot read the session"))?;
                Ok(row.as_ref().map(read_metadata))
            })
            .await
        }
        .boxed()
    }

    fn delete<'a>(
        &'a self,
        session_id: &'a str,
        holder: &'a Holder,
    ) -> BoxFuture<'a, Result<bool>> {
        async move {
            self.with(async |conn, inner| {
                let e = |w: &str| inner.err(w);
                let tx = conn
                    .client
                    .transaction()
                    .await
                    .map_err(e("cannot start a transaction"))?;
                let Some(row) = tx
                    .query_opt(
                        &format!(
                            "SELECT lease_holder, lease_until_ms, {NOW} FROM modelport_sessions \
                             WHERE id = $1 FOR UPDATE"
                        ),
                        &[&session_id],
                    )
                    .await
                    .map_err(e("cannot read the session"))?
                else {
                    return Ok(false);
                };
                let (h, until, now): (Option<String>, i64, i64) =
                    (row.get(0), row.get(1), row.get(2));
                holder.check_free(session_id, h.as_deref(), until, now)?;
                tx.execute(
                    "DELETE FROM modelport_sessions WHERE id = $1",
                    &[&session_id],
                )
                .await
                .map_err(e("cannot delete the session"))?;
                tx.commit().await.map_err(e("cannot commit the delete"))?;
                Ok(true)
            })
            .await
        }
        .boxed()
    }
}
