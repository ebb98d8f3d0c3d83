//! MCP servers as tool sources, against real servers built with the official Python MCP SDK
//! (tests/mcp/server.py, in a virtualenv scripts/mcp-venv.sh makes) over stdio and Streamable HTTP,
//! with the replay provider asking for the tool calls (tests/fixtures/replay/mcp.yaml).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use modelport::replay::{ReplayConfig, ReplayServer, snapshot};
use modelport::session::hooks::{HookDecision, PostToolUseOutput, PreToolUseOutput, SessionHooks};
use modelport::{
    Client, ClientOptions, ErrorKind, EventData, PermissionDecision, PermissionHandler,
    PermissionRequest, Session, SessionConfig,
};
use modelport_e2e::{Recorder, Route, fixtures};
use serde_json::{Value, json};

const T: Option<Duration> = Some(Duration::from_secs(60));

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The virtualenv's python, made once per test binary by scripts/mcp-venv.sh (pip installs the
/// pinned `mcp` the first time).
fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = root().join("target/mcp-venv");
            let status = std::process::Command::new("bash")
                .arg(root().join("scripts/mcp-venv.sh"))
                .env("MODELPORT_MCP_VENV", &venv)
                .status()
                .expect("bash runs");
            assert!(status.success(), "scripts/mcp-venv.sh failed");
            venv.join("bin/python")
        })
        .clone()
}

fn script(name: &str) -> String {
    root().join("tests/mcp").join(name).display().to_string()
}

/// A stdio server running server.py with `args`, plus `extra` config fields.
fn stdio(args: &[&str], extra: Value) -> Value {
    let mut all = vec![script("server.py")];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    let mut config = json!({
        "type": "stdio",
        "command": python().display().to_string(),
        "args": all,
        "startupTimeoutMs": 20000,
    });
    if let (Value::Object(c), Value::Object(e)) = (&mut config, extra) {
        c.extend(e);
    }
    config
}

async fn replay() -> ReplayServer {
    let (_, snap) = snapshot::load(&fixtures().join("replay/mcp.yaml"))
        .expect("fixture")
        .remove(0);
    ReplayServer::start(vec![snap], ReplayConfig::default())
        .await
        .expect("replay starts")
}

fn client() -> Client {
    Client::new(ClientOptions::default().with_session_store("memory")).expect("client")
}

/// A session config with `servers` as `mcpServers`.
fn config(route: Route, server: &ReplayServer, servers: Value) -> SessionConfig {
    let mut c: SessionConfig = serde_json::from_value(json!({
        "model": "mcp-model",
        "mcpServers": servers,
    }))
    .expect("config parses");
    c.provider = Some(route.provider(server));
    c
}

/// The names of the tools a recorded request offered, in every wire format.
fn offered(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| {
            t["function"]["name"]
                .as_str()
                .or(t["name"].as_str())
                .map(str::to_owned)
        })
        .collect()
}

fn loaded(session: &Session) -> Value {
    let e = session
        .get_events()
        .into_iter()
        .find(|e| matches!(e.data, EventData::McpServersLoaded(_)))
        .expect("session.mcp_servers_loaded");
    assert!(!e.ephemeral);
    serde_json::to_value(&e.data).expect("json")["data"].clone()
}

async fn answer(session: &Session, prompt: &str) -> String {
    session
        .send_and_wait(prompt, T)
        .await
        .expect("send")
        .expect("an answer")
        .content()
        .unwrap_or_default()
        .to_owned()
}

/// Whether process `pid` is gone (or a zombie nobody has reaped yet).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Waits up to 10 s for every pid to be gone.
async fn wait_gone(pids: &[i32]) {
    let start = Instant::now();
    while !pids.iter().all(|p| gone(*p)) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "processes still running after the session ended: {:?}",
            pids.iter().filter(|p| !gone(**p)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pids(file: &Path) -> Vec<i32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tool_call_round_trip_on_every_wire_format_over_stdio() {
    let replay = replay().await;
    let dir = tempdir();
    for route in [Route::OpenAiChat, Route::OpenAiResponses, Route::Anthropic] {
        let pidfile = dir.join(format!("{route:?}.pid"));
        let pidfile_arg = pidfile.display().to_string();
        let client = client();
        let before = replay.requests().len();
        let session = client
            .create_session(config(
                route,
                &replay,
                json!({"srv": stdio(&["--only", "get_weather,echo", "--pidfile", &pidfile_arg], json!({}))}),
            ))
            .await
            .expect("session");
        assert_eq!(
            loaded(&session),
            json!({"servers": [{"name": "srv", "status": "connected", "transport": "stdio"}]})
        );
        let recorder = Recorder::attach(&session);
        assert_eq!(
            answer(&session, "What's the weather in Paris?").await,
            "It is sunny and 21°C in Paris."
        );
        recorder.check(false, &format!("{route:?}"));
        let requests = replay.requests();
        let first = &requests[before];
        assert_eq!(first.path, route.path());
        assert_eq!(offered(&first.body), ["srv-get_weather", "srv-echo"]);
        // The server's own input schema reaches the model.
        let tool = &first.body["tools"][0];
        let schema = tool
            .get("input_schema")
            .or(tool["function"].get("parameters"))
            .or(tool.get("parameters"))
            .expect("a schema");
        assert_eq!(schema["required"], json!(["location"]));
        let server_pid = pids(&pidfile);
        assert_eq!(server_pid.len(), 1);
        session.disconnect().await;
        wait_gone(&server_pid).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loaded_event_reports_each_server_and_the_session_starts_with_the_rest() {
    let replay = replay().await;
    let client = client();
    let session = client
        .create_session(config(
            Route::OpenAiChat,
            &replay,
            json!({
                "good": stdio(&["--only", "echo"], json!({})),
                "broken": stdio(&["--fail-start"], json!({})),
                "hung": stdio(&["--hang-start"], json!({"startupTimeoutMs": 1500})),
                "garbled": {"command": python().display().to_string(), "args": [script("malformed.py")], "startupTimeoutMs": 5000},
                "missing": {"command": "/nonexistent/mcp-server"},
            }),
        ))
        .await
        .expect("a session, whatever its servers did");
    let recorder = Recorder::attach(&session);
    let events = session.get_events();
    let data = events
        .iter()
        .find_map(|e| match &e.data {
            EventData::McpServersLoaded(d) => Some(d.clone()),
            _ => None,
        })
        .expect("session.mcp_servers_loaded");
    let status: Vec<(&str, &str)> = data
        .servers
        .iter()
        .map(|s| (s.name.as_str(), s.status.as_str()))
        .collect();
    assert_eq!(
        status,
        [
            ("broken", "failed"),
            ("garbled", "failed"),
            ("good", "connected"),
            ("hung", "failed"),
            ("missing", "failed"),
        ]
    );
    let error = |name: &str| {
        data.servers
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.error.clone())
            .unwrap_or_default()
    };
    assert!(
        error("hung").contains("did not start within 1500 ms"),
        "{}",
        error("hung")
    );
    assert!(
        error("missing").contains("could not run \"/nonexistent/mcp-server\""),
        "{}",
        error("missing")
    );
    assert!(
        error("broken").contains("MCP server \"broken\""),
        "{}",
        error("broken")
    );
    // The server's own words (server.py --fail-start) reach the event.
    assert!(
        error("broken").contains("cannot start: no database"),
        "{}",
        error("broken")
    );
    assert!(error("good").is_empty());
    assert_eq!(answer(&session, "Hello").await, "Hello! How can I help?");
    // Only the server that started offers tools.
    assert_eq!(offered(&replay.requests()[0].body), ["good-echo"]);
    recorder.check(false, "failed servers");
    session.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_crashes_mid_call_fails_that_call_and_starts_again_for_the_next() {
    let replay = replay().await;
    let dir = tempdir();
    let pidfile = dir.join("srv.pid");
    let pidfile_arg = pidfile.display().to_string();
    let client = client();
    let session = client
        .create_session(config(
            Route::OpenAiChat,
            &replay,
            json!({"srv": stdio(&["--only", "crash,echo", "--pidfile", &pidfile_arg], json!({}))}),
        ))
        .await
        .expect("session");
    let recorder = Recorder::attach(&session);
    assert_eq!(
        answer(&session, "Crash the server").await,
        "The server crashed."
    );
    assert_eq!(answer(&session, "Echo hi").await, "hi");
    recorder.check(false, "crash and restart");
    let changes: Vec<String> = recorder
        .events()
        .iter()
        .filter_map(|e| match &e.data {
            EventData::McpServerStatusChanged(c) => {
                assert_eq!(c.server_name, "srv");
                Some(c.status.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(changes, ["failed", "pending", "connected"]);
    let complete: Vec<Value> = recorder
        .events()
        .iter()
        .filter(|e| matches!(e.data, EventData::ToolExecutionComplete(_)))
        .map(|e| serde_json::to_value(&e.data).expect("json")["data"].clone())
        .collect();
    assert_eq!(complete[0]["success"], false);
    assert_eq!(complete[1]["success"], true);
    // Two server processes, both ended with the session.
    let started = pids(&pidfile);
    assert_eq!(started.len(), 2);
    session.disconnect().await;
    wait_gone(&started).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_calls_time_out_big_results_are_cut_and_is_error_is_a_failure() {
    let replay = replay().await;
    let client = client();
    for (prompt, expected) in [
        ("Take your time", "It was too slow."),
        ("Make it huge", "That was a lot of x."),
        ("Look up row 7", "Row 7 does not exist."),
    ] {
        let session = client
            .create_session(config(
                Route::Anthropic,
                &replay,
                json!({"srv": stdio(&["--only", "slow,huge,fail"], json!({"timeout": 1500, "maxOutputBytes": 16}))}),
            ))
            .await
            .expect("session");
        let recorder = Recorder::attach(&session);
        assert_eq!(answer(&session, prompt).await, expected);
        recorder.check(false, prompt);
        session.disconnect().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_tool_list_is_offered_before_the_next_model_call() {
    let replay = replay().await;
    let client = client();
    let session = client
        .create_session(config(
            Route::OpenAiResponses,
            &replay,
            json!({"srv": stdio(&["--only", "add_tool"], json!({}))}),
        ))
        .await
        .expect("session");
    assert_eq!(answer(&session, "Add a greeting tool").await, "Greeted.");
    let requests = replay.requests();
    assert_eq!(offered(&requests[0].body), ["srv-add_tool"]);
    assert_eq!(offered(&requests[1].body), ["srv-add_tool", "srv-greet"]);
    session.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_hooks_and_tool_filters_see_mcp_tools() {
    let replay = replay().await;
    let client = client();
    let asked: Arc<Mutex<Vec<PermissionRequest>>> = Arc::default();
    let seen = asked.clone();
    let hook_saw: Arc<Mutex<Vec<String>>> = Arc::default();
    let saw = hook_saw.clone();
    let mut c = config(
        Route::OpenAiChat,
        &replay,
        json!({
            "srv": stdio(&["--only", "get_weather,echo,add"], json!({"tools": ["get_weather", "echo"]})),
            "other": stdio(&["--only", "echo"], json!({})),
        }),
    );
    c.available_tools = Some(vec!["mcp:srv/*".into()]);
    c.on_permission_request = Some(PermissionHandler::new(move |r| {
        seen.lock().expect("lock").push(r);
        async { PermissionDecision::ApproveForSession }
    }));
    c.hooks = Some(SessionHooks::new().on_pre_tool_use(move |input| {
        saw.lock().expect("lock").push(input.tool_name.clone());
        async move {
            Ok(Some(PreToolUseOutput {
                permission_decision: Some(if input.tool_name == "srv-echo" {
                    HookDecision::Deny
                } else {
                    HookDecision::Ask
                }),
                permission_decision_reason: Some("no echoing secrets".into()),
                ..Default::default()
            }))
        }
    }));
    let session = client.create_session(c).await.expect("session");
    let recorder = Recorder::attach(&session);
    assert_eq!(
        answer(&session, "What's the weather in Paris?").await,
        "It is sunny and 21°C in Paris."
    );
    assert_eq!(
        answer(&session, "Echo the password").await,
        "I may not echo that."
    );
    recorder.check(false, "permissions and hooks");
    // `tools` keeps srv's add out; availableTools keeps the other server out.
    assert_eq!(
        offered(&replay.requests()[0].body),
        ["srv-get_weather", "srv-echo"]
    );
    assert_eq!(
        *hook_saw.lock().expect("lock"),
        ["srv-get_weather", "srv-echo"]
    );
    let asked = asked.lock().expect("lock").clone();
    assert_eq!(asked.len(), 1, "the denied call never reaches the handler");
    let request = serde_json::to_value(&asked[0]).expect("json");
    assert_eq!(request["kind"], "mcp");
    assert_eq!(request["serverName"], "srv");
    assert_eq!(request["toolName"], "get_weather");
    assert_eq!(request["arguments"], json!({"location": "Paris"}));
    session.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stdio_server_gets_a_small_environment_unless_it_asks_for_all() {
    let replay = replay().await;
    let client = client();
    let session = client
        .create_session(config(
            Route::OpenAiChat,
            &replay,
            json!({"srv": stdio(&["--only", "env"], json!({"env": {"MCP_GREETING": "hello"}}))}),
        ))
        .await
        .expect("session");
    assert_eq!(
        answer(&session, "Which package?").await,
        "Not set; the greeting is hello."
    );
    session.disconnect().await;
    let session = client
        .create_session(config(
            Route::OpenAiChat,
            &replay,
            json!({"srv": stdio(&["--only", "env"], json!({"inheritEnv": true}))}),
        ))
        .await
        .expect("session");
    assert_eq!(
        answer(&session, "Which package, inherited?").await,
        "modelport-e2e."
    );
    session.disconnect().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_process_outlives_its_session_not_even_a_grandchild() {
    let replay = replay().await;
    let dir = tempdir();
    for disconnect in [true, false] {
        let pidfile = dir.join(format!("{disconnect}.pids"));
        let pidfile_arg = pidfile.display().to_string();
        let client = client();
        let mut c = config(
            Route::OpenAiChat,
            &replay,
            json!({"srv": stdio(
                &["--only", "spawn_grandchild", "--pidfile", &pidfile_arg],
                json!({"env": {"MCP_TEST_PIDFILE": pidfile_arg}}),
            )}),
        );
        // The pid is not the model's business (and the fixture cannot know it).
        c.hooks = Some(SessionHooks::new().on_post_tool_use(|_| async {
            Ok(Some(PostToolUseOutput {
                modified_result: Some(json!("started")),
                ..Default::default()
            }))
        }));
        let session = client.create_session(c).await.expect("session");
        assert_eq!(answer(&session, "Start a helper process").await, "Started.");
        let running = pids(&pidfile);
        assert_eq!(
            running.len(),
            2,
            "the server and its grandchild: {running:?}"
        );
        assert!(running.iter().all(|p| !gone(*p)));
        if disconnect {
            session.disconnect().await;
        } else {
            // Dropped without disconnect (a host's garbage collector, say).
            drop(session);
            drop(client);
        }
        wait_gone(&running).await;
    }
}

/// The HTTP server process, killed when the test ends.
struct HttpServer(std::process::Child);

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_http_server() -> (HttpServer, String) {
    let mut child = std::process::Command::new(python())
        .args([
            script("server.py"),
            "--http".into(),
            "--only".into(),
            "get_weather".into(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("server.py --http starts");
    let stdout = child.stdout.take().expect("stdout");
    let server = HttpServer(child);
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("a line");
    let url = line
        .trim()
        .strip_prefix("LISTENING ")
        .unwrap_or_else(|| panic!("server.py --http printed {line:?}"))
        .to_owned();
    assert!(url.starts_with("http://127.0.0.1:"));
    (server, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamable_http_server_with_secret_headers() {
    const SECRET: &str = "mcp-HEADER-SECRET-4471";
    let (_server, url) = start_http_server();
    let replay = replay().await;
    let client = client();
    let c = config(
        Route::OpenAiChat,
        &replay,
        json!({"srv": {"type": "http", "url": url, "headers": {"Authorization": format!("Bearer {SECRET}")}}}),
    );
    assert!(!format!("{c:?}").contains(SECRET), "{c:?}");
    let session = client.create_session(c).await.expect("session");
    let recorder = Recorder::attach(&session);
    assert_eq!(
        answer(&session, "What's the weather in Paris?").await,
        "It is sunny and 21°C in Paris."
    );
    recorder.check(false, "http");
    let loaded = session
        .get_events()
        .iter()
        .map(|e| e.json().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(loaded.contains("\"transport\":\"http\""), "{loaded}");
    assert!(!loaded.contains(SECRET));
    session.disconnect().await;
}

#[tokio::test]
async fn configuration_mistakes_are_config_errors_naming_the_field() {
    let replay = replay().await;
    let client = client();
    let cases = [
        (json!({"a": {"type": "stdio"}}), "mcpServers[\"a\"].command"),
        (
            json!({"a": {"type": "pipe", "command": "x"}}),
            "mcpServers[\"a\"].type",
        ),
        (
            json!({"a": {"command": "x", "url": "http://127.0.0.1:1/mcp"}}),
            "mcpServers[\"a\"].url",
        ),
        (
            json!({"a": {"type": "http", "url": "not a url"}}),
            "mcpServers[\"a\"].url",
        ),
        (
            json!({"a": {"type": "http", "url": "http://127.0.0.1:1/mcp", "command": "x"}}),
            "mcpServers[\"a\"].command",
        ),
        (
            json!({"a": {"command": "x", "timeout": 0}}),
            "mcpServers[\"a\"].timeout",
        ),
        (json!({"a/b": {"command": "x"}}), "without '/'"),
    ];
    for (servers, expected) in cases {
        let e = client
            .create_session(config(Route::OpenAiChat, &replay, servers.clone()))
            .await
            .expect_err("a config error");
        assert_eq!(e.kind(), ErrorKind::Config, "{servers}");
        assert!(e.message().contains(expected), "{servers}: {}", e.message());
    }
    // An unknown field is refused by the parser, naming it.
    let e = serde_json::from_value::<SessionConfig>(
        json!({"mcpServers": {"a": {"command": "x", "comand": "y"}}}),
    )
    .expect_err("unknown field");
    assert!(e.to_string().contains("comand"), "{e}");
}

/// A fresh temporary directory (under target/, removed at the start of the next run).
fn tempdir() -> PathBuf {
    let dir = root().join("target/mcp-tests").join(format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
