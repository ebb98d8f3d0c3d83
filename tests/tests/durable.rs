//! Durable sessions across real processes: `session-worker` children share a SQLite file or the
//! throwaway PostgreSQL cluster (`MODELPORT_TEST_PG_URL`), and talk to a loopback replay server.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::{Client, ClientOptions, ErrorKind, Message, ProviderConfig, SessionConfig};
use serde_json::{Value, json};

const KEY: &str = "sk-durable-NEVER-STORED-7f3a";
const ANSWER: &str = "Noted, and remembered.";

/// A temp directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "modelport-durable-{tag}-{}-{}",
            std::process::id(),
            fastrand_suffix()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fastrand_suffix() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    )
}

/// The PostgreSQL URL, or `None` with a message (a failure under CI=true).
fn pg_url() -> Option<String> {
    match std::env::var("MODELPORT_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "MODELPORT_TEST_PG_URL is not set and CI=true requires the PostgreSQL tests \
                 (`make test` starts a throwaway cluster with scripts/with-pg.sh)"
            );
            eprintln!("skipping PostgreSQL: MODELPORT_TEST_PG_URL is not set");
            None
        }
    }
}

/// The stores every test runs against: a SQLite file in `dir`, and PostgreSQL when available.
fn stores(dir: &TempDir) -> Vec<String> {
    let mut v = vec![format!("sqlite://{}", dir.0.join("sessions.db").display())];
    v.extend(pg_url());
    v
}

async fn server() -> ReplayServer {
    ReplayServer::from_path(
        modelport_e2e::fixtures().join("replay/e2e.yaml"),
        ReplayConfig {
            fallback: Some(ANSWER.to_owned()),
            ..Default::default()
        },
    )
    .await
    .expect("the replay server starts")
}

/// A `session-worker` child process.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn start(store: &str, server: &ReplayServer, wait_ms: u64) -> Worker {
        let mut child = Command::new(env!("CARGO_BIN_EXE_session-worker"))
            .args([store, &server.openai_url(), &wait_ms.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the worker starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Worker {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends a command and reads its answer.
    fn call(&mut self, cmd: Value) -> Value {
        self.post(&cmd);
        self.answer(&cmd)
    }

    fn post(&mut self, cmd: &Value) {
        writeln!(self.stdin, "{cmd}").expect("the worker reads commands");
        self.stdin.flush().expect("flush");
    }

    fn answer(&mut self, cmd: &Value) -> Value {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("the worker answers");
        serde_json::from_str(&line).unwrap_or_else(|_| panic!("{cmd}: no answer ({line:?})"))
    }

    fn ok(&mut self, cmd: Value) -> Value {
        let a = self.call(cmd.clone());
        assert_eq!(a["ok"], true, "{cmd} -> {a}");
        a
    }

    /// Exits without stop() and waits for the process to end.
    fn exit(mut self) {
        self.post(&json!({"op": "exit"}));
        self.child.wait().expect("the worker exits");
    }

    /// SIGKILL.
    fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("the worker ends");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn id(tag: &str) -> String {
    format!("{tag}-{}", fastrand_suffix())
}

/// The user prompts of a history, in order.
fn prompts(history: &[Message]) -> Vec<String> {
    history
        .iter()
        .filter_map(|m| match m {
            Message::User { content } => Some(
                content
                    .iter()
                    .filter_map(|p| match p {
                        modelport::types::ContentPart::Text { text } => Some(text.clone()),
                        _ => None,
                    })
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect()
}

fn history_of(answer: &Value) -> Vec<Message> {
    serde_json::from_value(answer["history"].clone()).expect("a history")
}

/// The last request the server received whose messages include `prompt`.
fn request_with(server: &ReplayServer, prompt: &str) -> String {
    server
        .requests()
        .iter()
        .rev()
        .map(|r| r.body.to_string())
        .find(|b| b.contains(prompt))
        .unwrap_or_else(|| panic!("no request carried {prompt:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_continues_in_another_process_after_exit_and_after_sigkill() {
    let dir = TempDir::new("resume");
    let server = server().await;
    for store in stores(&dir) {
        for (how, sid) in [("exit", id("exit")), ("kill", id("kill"))] {
            let mut a = Worker::start(&store, &server, 0);
            a.ok(json!({"op": "create", "id": sid}));
            let first = a.ok(json!({"op": "turn", "id": sid, "prompt": format!("alpha {sid}")}));
            assert_eq!(first["answer"], ANSWER);
            match how {
                "exit" => a.exit(),
                _ => a.kill(),
            }
            // The dead holder's lease is taken at once (same machine, process gone).
            let mut b = Worker::start(&store, &server, 0);
            b.ok(json!({"op": "turn", "id": sid, "prompt": format!("beta {sid}")}));
            let body = request_with(&server, &format!("beta {sid}"));
            assert!(
                body.contains(&format!("alpha {sid}")) && body.contains(ANSWER),
                "{how}: the resumed request carries the earlier turn: {body}"
            );
            let kinds = b.ok(json!({"op": "events", "id": sid}))["kinds"].clone();
            let kinds: Vec<&str> = kinds
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap())
                .collect();
            let send = [
                "user.message",
                "assistant.turn_start",
                "assistant.message",
                "assistant.turn_end",
            ];
            assert_eq!(
                kinds,
                [&["session.start"][..], &send, &["session.resume"], &send].concat(),
                "{how} {store}"
            );
            b.ok(json!({"op": "stop"}));
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_session_is_busy_for_another_process_and_waiting_serialises_turns() {
    let dir = TempDir::new("lease");
    let server = server().await;
    for store in stores(&dir) {
        let sid = id("lease");
        let mut a = Worker::start(&store, &server, 0);
        a.ok(json!({"op": "create", "id": sid}));
        a.ok(json!({"op": "turn", "id": sid, "prompt": "one"}));

        // Another process resuming it at once is refused, with a typed error.
        let mut b = Worker::start(&store, &server, 0);
        let busy = b.call(json!({"op": "turn", "id": sid, "prompt": "refused"}));
        assert_eq!(busy["code"], "session_busy", "{busy}");
        // So is deleting it from outside.
        let client = Client::new(ClientOptions::default().with_session_store(store.as_str()))
            .expect("client");
        let e = client.delete_session(&sid).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionBusy, "{e}");

        // A waiting process gets it once the holder disconnects; both turns are kept, in order.
        let mut c = Worker::start(&store, &server, 20_000);
        c.post(&json!({"op": "turn", "id": sid, "prompt": "two"}));
        std::thread::sleep(Duration::from_millis(300));
        a.ok(json!({"op": "turn", "id": sid, "prompt": "still mine"}));
        a.ok(json!({"op": "release", "id": sid}));
        let waited = c.answer(&json!({"op": "turn"}));
        assert_eq!(waited["ok"], true, "{waited}");
        let history = history_of(&c.ok(json!({"op": "history", "id": sid})));
        assert_eq!(prompts(&history), ["one", "still mine", "two"], "{store}");
        assert_eq!(history.len(), 6);
        for w in [a, b, c] {
            w.exit();
        }
        client.stop().await;
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_metadata_delete_and_typed_errors() {
    let dir = TempDir::new("list");
    let server = server().await;
    for store in stores(&dir) {
        let client = Client::new(ClientOptions::default().with_session_store(store.as_str()))
            .expect("client");
        let provider = ProviderConfig::openai(server.openai_url()).with_api_key(KEY);
        let (first, second) = (id("first"), id("second"));
        for sid in [&first, &second] {
            let s = client
                .create_session(
                    SessionConfig::new("e2e-model", provider.clone()).with_session_id(sid.as_str()),
                )
                .await
                .unwrap();
            s.send_and_wait(format!("Summarise {sid}\nplease"), None)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let list = client.list_sessions().await.unwrap();
        let pos = |sid: &str| list.iter().position(|m| m.session_id == sid).unwrap();
        assert!(pos(&second) < pos(&first), "newest first");
        let meta = client.get_session_metadata(&second).await.unwrap().unwrap();
        assert_eq!(
            meta.summary.as_deref(),
            Some(&*format!("Summarise {second} please"))
        );
        assert_eq!(meta.model, "e2e-model");
        if !store.starts_with("postgres") {
            // PostgreSQL's database is shared with other tests; SQLite's file is this test's.
            assert_eq!(
                client.get_last_session_id().await.unwrap(),
                Some(second.clone())
            );
        }

        let e = client
            .create_session(
                SessionConfig::new("e2e-model", provider.clone()).with_session_id(first.as_str()),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionExists, "{e}");
        let e = client
            .resume_session("no-such-session", SessionConfig::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SessionNotFound, "{e}");
        assert_eq!(e.error_type(), "session");

        assert!(client.delete_session(&first).await.unwrap());
        assert!(client.get_session_metadata(&first).await.unwrap().is_none());
        assert!(!client.delete_session(&first).await.unwrap());
        client.stop().await;
    }
    // The key never reaches the SQLite files (database and write-ahead log).
    for entry in std::fs::read_dir(&dir.0).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(
            !bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()),
            "the API key was written to the store"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_send_with_a_storage_error_and_loses_nothing_committed() {
    if !cfg!(target_os = "linux") || Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("skipping: prlimit (util-linux) is not available");
        return;
    }
    let dir = TempDir::new("full");
    let server = server().await;
    let db = dir.0.join("full.db");
    let store = format!("sqlite://{}", db.display());
    let sid = id("full");
    // Create the file and a first turn without a limit.
    let mut w = Worker::start(&store, &server, 0);
    w.ok(json!({"op": "create", "id": sid}));
    w.ok(json!({"op": "turn", "id": sid, "prompt": "small one"}));
    w.exit();
    // Then a worker whose files may not grow past 256 KiB (SIGXFSZ ignored, so writes fail with
    // EFBIG as on a full disk).
    let mut child = Command::new("bash")
        .args([
            "-c",
            "trap '' XFSZ; exec prlimit --fsize=262144 \"$@\"",
            "bash",
            env!("CARGO_BIN_EXE_session-worker"),
            &store,
            &server.openai_url(),
            "0",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the limited worker starts");
    let mut limited = Worker {
        stdin: child.stdin.take().unwrap(),
        stdout: BufReader::new(child.stdout.take().unwrap()),
        child,
    };
    let big = "x".repeat(100_000);
    let mut committed = vec!["small one".to_owned()];
    let mut failure = None;
    for i in 0..8 {
        let prompt = format!("big {i} {big}");
        let a = limited.call(json!({"op": "turn", "id": sid, "prompt": prompt}));
        if a["ok"] == true {
            committed.push(prompt);
        } else {
            failure = Some((a, prompt));
            break;
        }
    }
    let (failure, failed_prompt) = failure.expect("the store filled up");
    assert_eq!(failure["code"], "storage", "{failure}");
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains(&*db.display().to_string()),
        "{failure}"
    );
    // The session stays usable in memory: its history holds the failed send too.
    let in_memory = history_of(&limited.ok(json!({"op": "history", "id": sid})));
    assert_eq!(prompts(&in_memory).len(), committed.len() + 1);
    limited.exit();

    // A new process finds what was committed, once each: every completed send, then the failed
    // send's user message only if its first commit (at the send's start) got through before the
    // disk filled up; then it continues.
    let mut after = Worker::start(&store, &server, 0);
    after.ok(json!({"op": "turn", "id": sid, "prompt": "after"}));
    let history = history_of(&after.ok(json!({"op": "history", "id": sid})));
    let got = prompts(&history);
    let with_failed = [&committed[..], &[failed_prompt, "after".to_owned()]].concat();
    let without = [&committed[..], &["after".to_owned()]].concat();
    assert!(
        got == without || got == with_failed,
        "{:?}",
        got.iter()
            .map(|p| &p[..p.len().min(12)])
            .collect::<Vec<_>>()
    );
    after.exit();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_share_two_hundred_sessions_on_postgres() {
    let Some(pg) = pg_url() else { return };
    let server = server().await;
    let mut workers: Vec<Worker> = (0..4)
        .map(|_| Worker::start(&pg, &server, 20_000))
        .collect();
    let run = id("many");
    let sessions: Vec<String> = (0..200).map(|i| format!("{run}-{i}")).collect();
    let started = Instant::now();
    for (i, sid) in sessions.iter().enumerate() {
        workers[i % 4].ok(json!({"op": "create", "id": sid}));
        workers[i % 4].ok(json!({"op": "release", "id": sid}));
    }
    // Three rounds; each send goes to a random worker, which resumes, sends and releases. The
    // workers run concurrently: every worker gets a batch of commands before answers are read.
    for round in 0..3 {
        let mut assigned: Vec<Vec<&String>> = vec![Vec::new(); 4];
        for sid in &sessions {
            assigned[fastrand_index(4)].push(sid);
        }
        for (w, batch) in workers.iter_mut().zip(&assigned) {
            for sid in batch {
                w.post(&json!({"op": "turn", "id": sid, "prompt": format!("{sid} round {round}")}));
                w.post(&json!({"op": "release", "id": sid}));
            }
        }
        for (w, batch) in workers.iter_mut().zip(&assigned) {
            for _ in 0..batch.len() * 2 {
                let a = w.answer(&json!({"op": "turn"}));
                assert_eq!(a["ok"], true, "{a}");
            }
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "four workers: 200 sessions x 3 sends on PostgreSQL in {:.2} s ({:.0} sends/s)",
        elapsed.as_secs_f64(),
        600.0 / elapsed.as_secs_f64()
    );
    // Every history is complete and in order.
    let client = Client::new(ClientOptions::default().with_session_store(pg.as_str())).unwrap();
    let provider = ProviderConfig::openai(server.openai_url()).with_api_key(KEY);
    for sid in &sessions {
        let s = client
            .resume_session(sid, SessionConfig::new("e2e-model", provider.clone()))
            .await
            .unwrap();
        let expected: Vec<String> = (0..3).map(|r| format!("{sid} round {r}")).collect();
        assert_eq!(prompts(&s.history()), expected);
        assert_eq!(s.history().len(), 6);
        assert!(client.delete_session(sid).await.unwrap());
    }
    client.stop().await;
    for w in workers {
        w.exit();
    }
    server.stop().await;
}

fn fastrand_index(n: usize) -> usize {
    use std::hash::{BuildHasher, RandomState};
    (RandomState::new().hash_one(Instant::now()) as usize) % n
}
