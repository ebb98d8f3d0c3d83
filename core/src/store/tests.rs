//! One suite for every store: memory, SQLite (a temp file) and PostgreSQL (the throwaway cluster
//! named by `MODELPORT_TEST_PG_URL`; required under CI=true, skipped with a message elsewhere).

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::session::events::{EventData, SessionStartData, UserMessageData};
use crate::types::ContentPart;

/// A fresh temp directory, removed on drop.
pub(crate) struct TempDir(pub PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "modelport-store-{tag}-{}-{}",
            std::process::id(),
            &crate::util::new_id()[..8]
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The PostgreSQL URL of the test cluster, or `None` (with a message) outside CI.
pub(crate) fn pg_url() -> Option<String> {
    match std::env::var("MODELPORT_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "MODELPORT_TEST_PG_URL is not set and CI=true requires the PostgreSQL tests: run \
                 them through `make test` (scripts/with-pg.sh starts a throwaway cluster)"
            );
            eprintln!(
                "skipping the PostgreSQL store: MODELPORT_TEST_PG_URL is not set (scripts/pg-cluster.sh \
                 start DIR prints one)"
            );
            None
        }
    }
}

/// Every store under test, with a name for messages. Ids are unique per run, so PostgreSQL's shared
/// database needs no cleaning.
fn stores(dir: &TempDir) -> Vec<(&'static str, Arc<dyn SessionStore>)> {
    let mut v: Vec<(&'static str, Arc<dyn SessionStore>)> = vec![
        ("memory", Arc::new(MemoryStore::new())),
        (
            "sqlite",
            open_store(&format!("sqlite://{}", dir.0.join("s.db").display())).unwrap(),
        ),
    ];
    if let Some(url) = pg_url() {
        v.push(("postgres", open_store(&url).unwrap()));
    }
    v
}

fn id(tag: &str) -> String {
    format!("{tag}-{}", crate::util::new_id())
}

fn request(holder: &Holder) -> LeaseRequest {
    LeaseRequest {
        holder: holder.clone(),
        ttl: Duration::from_secs(30),
    }
}

fn new_session(id: &str, start_ms: i64) -> NewSession {
    NewSession {
        session_id: id.to_owned(),
        model: "m1".to_owned(),
        provider: Some(serde_json::json!({"type": "openai", "baseUrl": "http://127.0.0.1:9/v1"})),
        start_ms,
    }
}

fn event(seq: u64, data: EventData) -> Event {
    Event::new(
        crate::util::new_id(),
        "2026-12-07T00:00:00.000Z".to_owned(),
        None,
        data,
        seq,
    )
}

fn user(text: &str) -> Message {
    Message::User {
        content: vec![ContentPart::Text { text: text.into() }],
    }
}

fn commit<'a>(
    events_from: usize,
    events: &'a [Event],
    history_from: usize,
    history: &'a [Message],
    now_ms: i64,
) -> Commit<'a> {
    Commit {
        events_from,
        events,
        history_from,
        history,
        model: "m2",
        summary: Some("first prompt"),
        now_ms,
    }
}

#[tokio::test]
async fn create_commit_open_round_trips_and_commits_are_idempotent() {
    let dir = TempDir::new("roundtrip");
    for (name, store) in stores(&dir) {
        let me = Holder::current();
        let sid = id("rt");
        let lease = store
            .create(&new_session(&sid, 1_000), &request(&me))
            .await
            .unwrap();
        let e = store
            .create(&new_session(&sid, 1_000), &request(&me))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionExists, "{name}");

        let events = [
            event(
                1,
                EventData::SessionStart(SessionStartData {
                    session_id: sid.clone(),
                    selected_model: "m1".into(),
                }),
            ),
            event(
                2,
                EventData::UserMessage(UserMessageData {
                    content: "first prompt".into(),
                    attachments: None,
                }),
            ),
        ];
        let history = [user("first prompt")];
        let c = commit(0, &events, 0, &history, 2_000);
        store
            .commit(&lease, Duration::from_secs(30), c)
            .await
            .unwrap();
        // The same commit again (a retry after an unknown outcome) writes nothing twice.
        store
            .commit(&lease, Duration::from_secs(30), c)
            .await
            .unwrap();
        // A second commit appends; a history written from an earlier index replaces the rest.
        let more = [user("second"), user("third")];
        store
            .commit(
                &lease,
                Duration::from_secs(30),
                commit(2, &[], 1, &more, 3_000),
            )
            .await
            .unwrap();
        store
            .commit(
                &lease,
                Duration::from_secs(30),
                commit(2, &[], 2, &[], 3_001),
            )
            .await
            .unwrap();
        store.release(&lease).await.unwrap();

        let (lease2, loaded) = store.open(&sid, &request(&me)).await.unwrap();
        assert!(lease2.generation > lease.generation, "{name}");
        assert_eq!(loaded.events.len(), 2, "{name}");
        assert_eq!(loaded.events[1].id, events[1].id, "{name}");
        assert_eq!(loaded.events[1].json(), events[1].json(), "{name}");
        assert_eq!(
            loaded.history,
            [user("first prompt"), user("second")],
            "{name}"
        );
        assert_eq!(loaded.metadata.model, "m2", "{name}");
        assert_eq!(loaded.metadata.summary.as_deref(), Some("first prompt"));
        assert_eq!(loaded.metadata.start_time, "1970-01-01T00:00:01.000Z");
        assert_eq!(loaded.metadata.modified_time, "1970-01-01T00:00:03.001Z");
        assert_eq!(
            loaded.provider.as_ref().and_then(|p| p.get("baseUrl")),
            Some(&serde_json::json!("http://127.0.0.1:9/v1")),
            "{name}"
        );
        store.release(&lease2).await.unwrap();
    }
}

#[tokio::test]
async fn a_held_session_is_busy_for_others_and_fenced_after_a_takeover() {
    let dir = TempDir::new("lease");
    for (name, store) in stores(&dir) {
        let a = Holder::current();
        let b = Holder::current();
        let sid = id("lease");
        let lease_a = store
            .create(&new_session(&sid, 1), &request(&a))
            .await
            .unwrap();
        let e = store.open(&sid, &request(&b)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionBusy, "{name}: {e}");
        let e = store.delete(&sid, &b).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionBusy, "{name}: {e}");
        let e = store
            .open("no-such-session", &request(&b))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionNotFound, "{name}: {e}");

        // The lease expires: b takes it over, and a (stalled past its expiry) may no longer write.
        store
            .renew(&lease_a, Duration::from_millis(1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let (lease_b, _) = store.open(&sid, &request(&b)).await.unwrap();
        let events = [event(
            1,
            EventData::UserMessage(UserMessageData {
                content: "late".into(),
                attachments: None,
            }),
        )];
        let e = store
            .commit(
                &lease_a,
                Duration::from_secs(30),
                commit(0, &events, 0, &[], 5),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionBusy, "{name}: {e}");
        assert_eq!(
            store
                .renew(&lease_a, Duration::from_secs(30))
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::SessionBusy
        );
        // a's release does not free b's lease.
        store.release(&lease_a).await.unwrap();
        let e = store.open(&sid, &request(&a)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionBusy, "{name}: {e}");
        store.release(&lease_b).await.unwrap();
        assert!(store.delete(&sid, &a).await.unwrap(), "{name}");
        assert!(!store.delete(&sid, &a).await.unwrap(), "{name}");
        assert!(store.metadata(&sid).await.unwrap().is_none(), "{name}");
    }
}

#[tokio::test]
async fn a_lease_held_by_a_dead_process_of_this_machine_is_taken_at_once() {
    let dir = TempDir::new("dead");
    for (name, store) in stores(&dir) {
        if !store.durable() || !cfg!(target_os = "linux") {
            continue;
        }
        let me = Holder::current();
        let parts: Vec<&str> = me.as_str().split('/').collect();
        let sid = id("dead");
        // The session is held (for 30 s) by a process of this machine that does not run.
        let ghost = Holder::from_raw(&format!(
            "{}/{}/{}/{}/ghost",
            parts[0],
            parts[1],
            parts[2],
            u32::MAX - 1
        ));
        store
            .create(&new_session(&sid, 1), &request(&ghost))
            .await
            .unwrap();
        let (l, _) = store
            .open(&sid, &request(&me))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        store.release(&l).await.unwrap();
    }
}

#[tokio::test]
async fn list_is_newest_first_and_metadata_matches() {
    let dir = TempDir::new("list");
    for (name, store) in stores(&dir) {
        let me = Holder::current();
        let (older, newer) = (id("older"), id("newer"));
        // Far-future times put these first even in PostgreSQL's shared database.
        let base = 4_000_000_000_000 + fastrand::i64(0..1_000_000_000);
        for (sid, at) in [(&older, base), (&newer, base + 10)] {
            let lease = store
                .create(&new_session(sid, at), &request(&me))
                .await
                .unwrap();
            store
                .commit(&lease, Duration::from_secs(30), commit(0, &[], 0, &[], at))
                .await
                .unwrap();
            store.release(&lease).await.unwrap();
        }
        let list = store.list().await.unwrap();
        let pos = |sid: &str| list.iter().position(|m| m.session_id == sid).unwrap();
        assert!(pos(&newer) < pos(&older), "{name}");
        let m = store.metadata(&newer).await.unwrap().unwrap();
        assert_eq!(m, list[pos(&newer)], "{name}");
        assert_eq!(m.model, "m2");
        for sid in [&older, &newer] {
            store.delete(sid, &me).await.unwrap();
        }
    }
}

#[tokio::test]
async fn sqlite_files_are_private_and_bad_files_are_storage_errors() {
    let dir = TempDir::new("files");
    let path = dir.0.join("nested/dir/s.db");
    let store = SqliteStore::new(&path, Synchronous::Full);
    let me = Holder::current();
    store
        .create(&new_session("x", 1), &request(&me))
        .await
        .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // Not a database.
    let junk = dir.0.join("junk.db");
    std::fs::write(&junk, vec![0x42u8; 8192]).unwrap();
    let e = SqliteStore::new(&junk, Synchronous::Normal)
        .list()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Storage);
    assert!(e.message().contains(&junk.display().to_string()), "{e}");

    // A directory that cannot be created (its parent is a file).
    let blocked = dir.0.join("junk.db/inner/s.db");
    let e = SqliteStore::new(&blocked, Synchronous::Normal)
        .list()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Storage, "{e}");

    // A schema newer than this build.
    let newer = dir.0.join("newer.db");
    SqliteStore::new(&newer, Synchronous::Normal)
        .list()
        .await
        .unwrap();
    let conn = rusqlite::Connection::open(&newer).unwrap();
    conn.execute("INSERT INTO modelport_schema (version) VALUES (99)", [])
        .unwrap();
    drop(conn);
    let e = SqliteStore::new(&newer, Synchronous::Normal)
        .list()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Storage);
    assert!(e.message().contains("99"), "{e}");
}

#[test]
fn store_urls_are_checked_by_name() {
    let msg = |url: &str| open_store(url).map(|_| ()).unwrap_err().to_string();
    assert!(msg("sqlite://relative.db").contains("absolute"));
    assert!(msg("sqlite:///tmp/x.db?journal=off").contains("journal=off"));
    assert!(msg("redis://h").contains("not a store URL"));
    let m = msg("postgres://u:hunter2@127.0.0.1/db?frobnicate=1");
    assert!(m.contains("frobnicate"), "{m}");
    assert!(!m.contains("hunter2"), "{m}");
    let m = msg("postgres://u:hunter2@127.0.0.1/db?sslmode=require");
    assert!(m.contains("sslmode=require"), "{m}");
    assert!(!m.contains("hunter2"), "{m}");
    assert!(open_store("memory").is_ok());
    assert!(open_store("sqlite:///tmp/x.db?synchronous=full").is_ok());
}

#[test]
fn summaries_are_one_short_line() {
    assert_eq!(summarize("  hello\n  world "), "hello world");
    let long = "word ".repeat(40);
    let s = summarize(&long);
    assert!(s.chars().count() <= 80 && s.ends_with('…'), "{s}");
}

#[tokio::test]
async fn an_unreachable_postgres_is_a_storage_error_without_the_password() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = open_store(&format!(
        "postgres://u:hunter2@127.0.0.1:{port}/db?connect_timeout=2"
    ))
    .unwrap();
    let e = store.list().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Storage);
    assert!(!format!("{e} {e:?}").contains("hunter2"), "{e:?}");
    assert!(e.message().contains("127.0.0.1"), "{e}");
}

/// A session with a key, a bearer token and sensitive headers (provider and per send): nothing
/// secret reaches the store (SQLite's bytes, every PostgreSQL table), while the rest does.
#[tokio::test]
async fn no_secret_reaches_any_store() {
    use crate::testing::{MockReply, MockTransport};
    use crate::wire::encode::Answer;
    use crate::{Client, ClientOptions, ProviderConfig, SendOptions, SessionConfig};

    const SECRETS: [&str; 4] = [
        "sk-STORE-KEY-1",
        "Bearer-STORE-TOKEN-2",
        "hdr-STORE-SECRET-3",
        "req-STORE-SECRET-4",
    ];
    let dir = TempDir::new("secrets");
    let mut urls = vec![format!("sqlite://{}", dir.0.join("s.db").display())];
    urls.extend(pg_url());
    for url in &urls {
        let mock = MockTransport::new();
        mock.push(MockReply::Answer(Answer {
            text: "stored answer".into(),
            ..Default::default()
        }));
        let client = Client::new(
            ClientOptions::default()
                .with_session_store(url.as_str())
                .with_transport(Arc::new(mock.clone())),
        )
        .unwrap();
        let mut provider = ProviderConfig::openai("http://mock.test/v1").with_api_key(SECRETS[0]);
        provider
            .headers
            .insert("Authorization", format!("Bearer {}", SECRETS[1]));
        provider.headers.insert("x-api-key", SECRETS[2]);
        provider.headers.insert("x-visible", "plain-header-value");
        let sid = id("secrets");
        let session = client
            .create_session(SessionConfig::new("m", provider).with_session_id(sid.as_str()))
            .await
            .unwrap();
        session
            .send_and_wait(
                SendOptions::from("remember this prompt").with_header("Api-Key", SECRETS[3]),
                None,
            )
            .await
            .unwrap();
        client.stop().await;

        let dump = if url.starts_with("sqlite") {
            let mut all = Vec::new();
            for f in std::fs::read_dir(&dir.0).unwrap() {
                all.extend(std::fs::read(f.unwrap().path()).unwrap());
            }
            String::from_utf8_lossy(&all).into_owned()
        } else {
            let (pg, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            let mut text = String::new();
            for table in [
                "modelport_sessions",
                "modelport_events",
                "modelport_history",
            ] {
                let rows = pg
                    .query(&format!("SELECT t::TEXT FROM {table} t"), &[])
                    .await
                    .unwrap();
                for r in rows {
                    text.push_str(r.get::<_, &str>(0));
                }
            }
            text
        };
        for needle in [
            "remember this prompt",
            "stored answer",
            "plain-header-value",
            &sid,
        ] {
            assert!(dump.contains(needle), "{url}: {needle} is stored");
        }
        for secret in SECRETS {
            assert!(!dump.contains(secret), "{url}: {secret} reached the store");
        }
    }
}

/// A loopback TCP forwarder to PostgreSQL that the test can cut (every connection dropped, new
/// ones refused) and restore: PostgreSQL going down, and coming back.
struct Proxy {
    port: u16,
    up: Arc<std::sync::atomic::AtomicBool>,
    cut: Arc<tokio::sync::Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(target: std::net::SocketAddr) -> Proxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let cut = Arc::new(tokio::sync::Notify::new());
        let (up2, cut2) = (up.clone(), cut.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: refused
                }
                let cut = cut2.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.notified() => {}
                    }
                });
            }
        });
        Proxy {
            port,
            up,
            cut,
            task,
        }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, std::sync::atomic::Ordering::SeqCst);
        if !up {
            self.cut.notify_waiters();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// PostgreSQL going away between commits: the send fails with a storage error naming the store
/// (not its password), the session stays usable, and once the database is back the next send
/// commits what was missing; nothing is lost or written twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_fails_the_send_and_loses_nothing() {
    use crate::testing::{MockReply, MockTransport};
    use crate::wire::encode::Answer;
    use crate::{Client, ClientOptions, ProviderConfig, SessionConfig};

    let Some(url) = pg_url() else { return };
    let config: tokio_postgres::Config = url.parse().unwrap();
    let (host, port) = match (&config.get_hosts()[0], config.get_ports().first()) {
        (tokio_postgres::config::Host::Tcp(h), Some(p)) => (h.clone(), *p),
        _ => panic!("the test cluster listens on TCP"),
    };
    let target = format!("{host}:{port}").parse().unwrap();
    let proxy = Proxy::start(target).await;
    let db = config.get_dbname().unwrap_or("postgres");
    let user = config.get_user().unwrap_or("postgres");
    let via_proxy = format!(
        "postgres://{user}:pw-hunter2@127.0.0.1:{}/{db}?connect_timeout=2",
        proxy.port
    );

    let mock = MockTransport::new();
    for text in ["answer one", "answer three"] {
        mock.push(MockReply::Answer(Answer {
            text: text.into(),
            ..Default::default()
        }));
    }
    let client = Client::new(
        ClientOptions::default()
            .with_session_store(via_proxy.as_str())
            .with_transport(Arc::new(mock.clone())),
    )
    .unwrap();
    let provider = ProviderConfig::openai("http://mock.test/v1").with_api_key("sk-x");
    let sid = id("outage");
    let session = client
        .create_session(SessionConfig::new("m", provider.clone()).with_session_id(sid.as_str()))
        .await
        .unwrap();
    session.send_and_wait("one", None).await.unwrap();

    proxy.set_up(false);
    let e = session.send_and_wait("two", None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Storage, "{e}");
    assert_eq!(e.error_type(), "storage");
    assert!(
        e.message().contains(&format!("127.0.0.1:{}", proxy.port)),
        "{e}"
    );
    assert!(!format!("{e} {e:?}").contains("hunter2"), "{e:?}");
    assert_eq!(
        session.history().len(),
        3,
        "one, its answer, two: kept in memory"
    );

    proxy.set_up(true);
    session.send_and_wait("three", None).await.unwrap();
    client.stop().await;

    let direct = Client::new(ClientOptions::default().with_session_store(url.as_str())).unwrap();
    let resumed = direct
        .resume_session(&sid, SessionConfig::new("m", provider))
        .await
        .unwrap();
    let users: Vec<String> = resumed
        .history()
        .iter()
        .filter_map(|m| match m {
            Message::User { content } => match &content[0] {
                ContentPart::Text { text } => Some(text.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(users, ["one", "two", "three"]);
    let user_events = resumed
        .get_events()
        .iter()
        .filter(|e| e.kind() == "user.message")
        .count();
    assert_eq!(user_events, 3, "each user.message stored once");
    let errors = resumed
        .get_events()
        .iter()
        .filter(|e| e.kind() == "session.error")
        .count();
    assert_eq!(errors, 1, "the failed send's error is part of the log");
    direct.delete_session(&sid).await.unwrap();
    direct.stop().await;
}

/// A host's garbage collector may drop the last handle of a session on a thread outside the
/// runtime: that must not panic, and the lease must still be given back.
#[test]
fn a_session_dropped_outside_the_runtime_gives_its_lease_back() {
    use crate::{Client, ClientOptions, ProviderConfig, SessionConfig};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = TempDir::new("drop");
    let url = format!("sqlite://{}", dir.0.join("s.db").display());
    let config = || SessionConfig::new("m", ProviderConfig::openai("http://127.0.0.1:9/v1"));
    let (client, session) = rt.block_on(async {
        let c = Client::new(ClientOptions::default().with_session_store(url.as_str())).unwrap();
        let s = c.create_session(config()).await.unwrap();
        (c, s)
    });
    let id = session.id().to_owned();
    std::thread::spawn(move || drop(session))
        .join()
        .expect("dropping a session off the runtime does not panic");
    rt.block_on(async {
        let other = Client::new(ClientOptions::default().with_session_store(url.as_str())).unwrap();
        for _ in 0..200 {
            match other.resume_session(&id, config()).await {
                Ok(_) => return,
                Err(e) if e.kind() == ErrorKind::SessionBusy => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => panic!("{e}"),
            }
        }
        panic!("the dropped session's lease was never given back");
    });
    drop(client);
}
