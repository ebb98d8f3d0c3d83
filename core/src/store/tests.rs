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
