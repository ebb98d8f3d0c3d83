//! modelport's end-to-end load tool. The replay provider runs in a child process (this same binary,
//! `loadtest serve`), so it is not measured with modelport and its sockets do not count against this
//! process's file descriptors. Every comparison runs both sides in the same process, interleaved, the side
//! that goes first alternating from round to round, because absolute figures drift on a shared machine.
//! The tool exits with status 1 (101 for a panic) when any turn or request failed.
//!
//! ```text
//! cargo run --release -p modelport-bench -- turn [--n 2000]          one non-streaming turn vs raw reqwest,
//!                                                                    with and without the session's creation
//! cargo run --release -p modelport-bench -- stream [--n 200]         1,000-delta streaming turn vs raw reqwest + SSE split
//! cargo run --release -p modelport-bench -- concurrent --sessions N  N sessions streaming at once
//! cargo run --release -p modelport-bench -- memory [--sessions 10000] RSS per idle session, creation rate
//! cargo run --release -p modelport-bench -- server-ceiling [--n 20000 --concurrency 64 --stream] the replay server's own ceiling
//! cargo run --release -p modelport-bench -- soak [--sessions 1000 --turns 20] RSS growth, tasks left
//! cargo run --release -p modelport-bench -- cancel [--n 200]         abort() to the server seeing the close
//! cargo run --release -p modelport-bench -- store send [--n 2000 --turns 10]     latency per send: SQLite,
//!                                                                    PostgreSQL against memory
//! cargo run --release -p modelport-bench -- store resume [--turns 100 --n 50]    resume_session time
//! cargo run --release -p modelport-bench -- store list [--sessions 10000 --n 5]  list_sessions time
//! cargo run --release -p modelport-bench -- store concurrent [--sessions 1000 --rounds 3] one turn each, at once
//! cargo run --release -p modelport-bench -- compaction [--sends 500 --window 8000 --every 50 --prompt-chars 300]
//!                                                                    one long session with infinite sessions,
//!                                                                    and the control without: latency, RSS,
//!                                                                    history and event log per 50 sends
//!                                                                    (built with `--features heap`: live heap too)
//! cargo run --release -p modelport-bench -- mcp [--n 200 --nagle --json-response]
//!                                                                    a send with one tool call: in-process
//!                                                                    tool vs the same tool on an MCP server
//!                                                                    over stdio and over Streamable HTTP
//! ```
//!
//! `store` compares the session stores, each behind its own client (one connection pool for all):
//! memory, SQLite in a temporary file (WAL, synchronous=NORMAL) and PostgreSQL at `--pg-url` (else
//! `MODELPORT_TEST_PG_URL`; without either its rows say "not measured"). The other modes keep
//! sessions in memory. `compaction` runs each of its two sides in a child process of its own
//! (`loadtest compaction --side compaction|control`), so that each side's RSS is its own.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use modelport::replay::{ReplayConfig, ReplayServer};
use modelport::{Client, ClientOptions, EventData, ProviderConfig, SessionConfig};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

/// Live heap bytes, counted by a global allocator in builds with `--features heap` (`None` in the
/// others, which keep the system allocator untouched).
#[cfg(feature = "heap")]
mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicIsize, Ordering};

    struct Counting;

    static LIVE: AtomicIsize = AtomicIsize::new(0);

    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
            // SAFETY: forwarded unchanged to the system allocator.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
            // SAFETY: forwarded unchanged to the system allocator.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            LIVE.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
            // SAFETY: forwarded unchanged to the system allocator.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;

    pub fn live() -> Option<isize> {
        Some(LIVE.load(Ordering::Relaxed))
    }
}

#[cfg(not(feature = "heap"))]
mod heap {
    pub fn live() -> Option<isize> {
        None
    }
}

/// The heap a deep copy of `items` takes (`copy` makes one, through JSON): about what the originals
/// hold. `None` without `--features heap`.
fn heap_of<T>(items: &[T], copy: impl Fn(&T) -> Option<T>) -> Option<isize> {
    let before = heap::live()?;
    let copies: Vec<T> = items.iter().filter_map(copy).collect();
    let held = heap::live()? - before;
    drop(copies);
    Some(held)
}

const CONVERSATIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/conversations.yaml");
const MODEL: &str = "bench-model";

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak and current resident set size of this process, in KiB.
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

struct Stats {
    median: Duration,
    p99: Duration,
    mean: Duration,
}

fn stats(samples: &mut [Duration]) -> Stats {
    samples.sort();
    let n = samples.len().max(1);
    let total: Duration = samples.iter().sum();
    Stats {
        median: samples[n / 2],
        p99: samples[(n * 99 / 100).min(n - 1)],
        mean: total / n as u32,
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The client of every mode but `store`: sessions in memory, as before durable sessions (the default
/// store, SQLite in `$MODELPORT_HOME`, would be measured too and would fill the user's data
/// directory).
fn memory_client() -> Client {
    Client::new(ClientOptions::default().with_session_store("memory")).expect("client")
}

/// The replay server in a child process; it exits when our stdin pipe closes.
struct Server {
    /// Killed (and its stdin closed) on drop.
    _child: Child,
    url: String,
}

async fn spawn_server(delta_chars: usize) -> Server {
    spawn_server_with(delta_chars, CONVERSATIONS).await
}

async fn spawn_server_with(delta_chars: usize, file: &str) -> Server {
    spawn_server_args(delta_chars, file, &[]).await
}

/// The replay server with more `serve` options (`--fallback TEXT`, `--context-window N`).
async fn spawn_server_args(delta_chars: usize, file: &str, extra: &[String]) -> Server {
    let exe = std::env::current_exe().expect("own path");
    let mut child = Command::new(exe)
        .args([
            "serve",
            "--delta-chars",
            &delta_chars.to_string(),
            "--file",
            file,
        ])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the replay server");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .await
        .expect("server prints its URL");
    let url = line.split_whitespace().last().expect("a URL").to_owned();
    Server { _child: child, url }
}

async fn serve(args: &[String]) {
    let config = ReplayConfig {
        delta_chars: arg(args, "--delta-chars", 200),
        record: false,
        port: arg(args, "--port", 0),
        fallback: args
            .iter()
            .position(|a| a == "--fallback")
            .and_then(|i| args.get(i + 1).cloned()),
        context_window: args
            .iter()
            .position(|a| a == "--context-window")
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok()),
        whole_stream: args.iter().any(|a| a == "--whole-stream"),
        ..Default::default()
    };
    let path = args
        .iter()
        .position(|a| a == "--file")
        .and_then(|i| args.get(i + 1))
        .map_or(CONVERSATIONS.to_owned(), Clone::clone);
    let server = ReplayServer::from_path(path, config)
        .await
        .expect("replay server");
    println!("listening on {}", server.url());
    // Exit when the parent closes our stdin (or dies).
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    server.stop().await;
}

fn raw_client() -> reqwest::Client {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .expect("reqwest client")
}

fn chat_body(prompt: &str, stream: bool) -> Vec<u8> {
    let mut body =
        serde_json::json!({"model": MODEL, "messages": [{"role": "user", "content": prompt}]});
    if stream {
        body["stream"] = true.into();
        body["stream_options"] = serde_json::json!({"include_usage": true});
    }
    serde_json::to_vec(&body).expect("json")
}

/// The raw baseline's request: the body and headers modelport sends for the same turn.
async fn raw_post(
    raw: &reqwest::Client,
    url: &str,
    body: &[u8],
) -> Result<reqwest::Response, String> {
    let response = raw
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", "Bearer sk-bench")
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| format!("raw request: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("raw request: HTTP {}", response.status()));
    }
    Ok(response)
}

async fn raw_turn(raw: &reqwest::Client, url: &str, body: &[u8]) -> Result<Duration, String> {
    let start = Instant::now();
    let response = raw_post(raw, url, body).await?;
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("raw body: {e}"))?;
    let elapsed = start.elapsed();
    if bytes.len() <= 10 {
        return Err(format!("raw body of {} bytes", bytes.len()));
    }
    Ok(elapsed)
}

/// CPU time this process has used so far, every thread, user and system (`getrusage`). The replay
/// server is a child process: its time is not in here.
#[allow(unsafe_code)]
fn cpu_now() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF cannot fail.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// One side's streaming turn: wall time, this process's CPU time, events counted.
struct StreamTurn {
    wall: Duration,
    cpu: Duration,
    events: usize,
}

/// Raw reqwest with a minimal SSE split: counts `data:` events until `[DONE]`.
async fn raw_stream(raw: &reqwest::Client, url: &str, body: &[u8]) -> Result<StreamTurn, String> {
    let (start, cpu) = (Instant::now(), cpu_now());
    let response = raw_post(raw, url, body).await?;
    let mut stream = response.bytes_stream();
    let mut buf = Vec::new();
    let mut events = 0;
    while let Some(chunk) = stream.next().await {
        buf.extend_from_slice(&chunk.map_err(|e| format!("raw stream: {e}"))?);
        // One pass over the chunk, then one drain: draining per event would make the baseline
        // quadratic in the events per chunk.
        let mut start = 0;
        while let Some(i) = memchr::memmem::find(&buf[start..], b"\n\n") {
            let event = &buf[start..start + i];
            if event.starts_with(b"data: ") && event != b"data: [DONE]" {
                events += 1;
            }
            start += i + 2;
        }
        buf.drain(..start);
    }
    Ok(StreamTurn {
        wall: start.elapsed(),
        cpu: cpu_now().saturating_sub(cpu),
        events,
    })
}

/// Failed turns of one run. A run stops at its first failure (a dead server would otherwise cost every
/// remaining turn its retries), and any failure makes the tool exit non-zero.
#[derive(Default)]
struct Failures {
    count: usize,
    first: Option<String>,
}

impl Failures {
    fn record(&mut self, what: impl std::fmt::Display) {
        self.count += 1;
        self.first.get_or_insert_with(|| what.to_string());
    }

    fn result(self, of: &str) -> Result<(), String> {
        match self.first {
            None => Ok(()),
            Some(first) => Err(format!(
                "{of}: {} failed, the run stopped there (first: {first})",
                self.count
            )),
        }
    }
}

async fn try_session(
    client: &Client,
    url: &str,
    streaming: bool,
) -> modelport::Result<modelport::Session> {
    client
        .create_session(
            SessionConfig::new(
                MODEL,
                ProviderConfig::openai(format!("{url}/v1")).with_api_key("sk-bench"),
            )
            .with_streaming(streaming),
        )
        .await
}

async fn session(client: &Client, url: &str, streaming: bool) -> modelport::Session {
    try_session(client, url, streaming).await.expect("session")
}

/// One modelport turn on a fresh session: (creation, turn), both from the same clock readings, so
/// creation + turn is the window with the session's creation inside it.
async fn mp_turn(client: &Client, url: &str) -> Result<(Duration, Duration), String> {
    let t0 = Instant::now();
    let s = try_session(client, url, false)
        .await
        .map_err(|e| format!("create_session: {e}"))?;
    let t1 = Instant::now();
    let reply = s
        .send_and_wait("What is 2+2?", None)
        .await
        .map_err(|e| format!("send_and_wait: {e}"))?;
    let t2 = Instant::now();
    let content = reply.and_then(|e| e.content().map(str::to_owned));
    if content.as_deref() != Some("2 + 2 = 4.") {
        return Err(format!("unexpected answer {content:?}"));
    }
    Ok((t1 - t0, t2 - t1))
}

fn print_stats(label: &str, s: &Stats) {
    println!(
        "  {label:<46} median {:7.1} us, p99 {:7.1} us, mean {:7.1} us",
        us(s.median),
        us(s.p99),
        us(s.mean)
    );
}

async fn turn(args: &[String]) -> Result<(), String> {
    let n: usize = arg(args, "--n", 2000);
    let server = spawn_server(200).await;
    let client = memory_client();
    let raw = raw_client();
    let url = format!("{}/v1/chat/completions", server.url);
    let body = chat_body("What is 2+2?", false);
    let mut turn_only = Vec::with_capacity(n);
    let mut with_creation = Vec::with_capacity(n);
    let mut create = Vec::with_capacity(n);
    let mut rw = Vec::with_capacity(n);
    // [modelport first, raw first]: (modelport turn, raw), to show what the order does.
    let mut by_order: [(Vec<Duration>, Vec<Duration>); 2] = Default::default();
    let mut failures = Failures::default();
    for i in 0..(n + n / 10) {
        let warm = i < n / 10;
        // Alternate which side goes first, so neither always runs on a connection or cache the
        // other has just warmed.
        let (mp, r) = if i % 2 == 0 {
            let mp = mp_turn(&client, &server.url).await;
            (mp, raw_turn(&raw, &url, &body).await)
        } else {
            let r = raw_turn(&raw, &url, &body).await;
            (mp_turn(&client, &server.url).await, r)
        };
        match (mp, r) {
            (Ok((created, d)), Ok(r)) => {
                if !warm {
                    turn_only.push(d);
                    with_creation.push(created + d);
                    create.push(created);
                    rw.push(r);
                    by_order[i % 2].0.push(d);
                    by_order[i % 2].1.push(r);
                }
            }
            (mp, r) => {
                if let Err(e) = mp {
                    failures.record(format!("modelport: {e}"));
                }
                if let Err(e) = r {
                    failures.record(e);
                }
                break;
            }
        }
    }
    client.stop().await;
    drop(server);
    // No figure from a run with a failed turn.
    failures.result("the turns")?;
    let (m, mc, r, c) = (
        stats(&mut turn_only),
        stats(&mut with_creation),
        stats(&mut rw),
        stats(&mut create),
    );
    println!(
        "non-streaming turn, {n} rounds after {} warm-up rounds; each round one turn per side, the side \
         that goes first alternating; replay server in a child process",
        n / 10
    );
    println!(
        "  tracing: spans {}, {}",
        if cfg!(feature = "no-spans") {
            "compiled out (no-spans build)"
        } else {
            "compiled in"
        },
        if args.iter().any(|a| a == "--subscriber") {
            "a subscriber recording spans at INFO (--subscriber)"
        } else {
            "no subscriber"
        }
    );
    print_stats("modelport, session created before the timer:", &m);
    print_stats("modelport, fresh session's creation timed too:", &mc);
    print_stats("raw reqwest request:", &r);
    print_stats("session creation alone:", &c);
    println!(
        "  ratio of medians, creation excluded: {:.3}x   creation included: {:.3}x",
        us(m.median) / us(r.median),
        us(mc.median) / us(r.median)
    );
    let order: Vec<String> = by_order
        .iter_mut()
        .zip(["modelport first", "raw first"])
        .map(|((m, r), label)| {
            let (m, r) = (stats(m).median, stats(r).median);
            format!(
                "{label}: {:.1} / {:.1} us = {:.3}x",
                us(m),
                us(r),
                us(m) / us(r)
            )
        })
        .collect();
    println!(
        "  by order (medians, creation excluded): {}",
        order.join("; ")
    );
    Ok(())
}

/// One modelport streaming turn, from the send to `session.idle` (the session is created before):
/// the deltas seen through `events()`.
async fn mp_stream(client: &Client, url: &str) -> Result<StreamTurn, String> {
    let s = try_session(client, url, true)
        .await
        .map_err(|e| format!("create_session: {e}"))?;
    let mut events = s.events_with_buffer(4096);
    let (t, cpu) = (Instant::now(), cpu_now());
    s.send("Stream a long answer")
        .await
        .map_err(|e| format!("send: {e}"))?;
    let mut deltas = 0;
    while let Some(e) = events.next().await {
        match &e.map_err(|e| format!("events(): {e:?}"))?.data {
            EventData::MessageDelta(_) => deltas += 1,
            EventData::SessionError(e) => return Err(format!("session.error: {}", e.message)),
            EventData::SessionIdle(_) => break,
            _ => {}
        }
    }
    Ok(StreamTurn {
        wall: t.elapsed(),
        cpu: cpu_now().saturating_sub(cpu),
        events: deltas,
    })
}

/// `stream [--n N] [--cpu]`: streaming turns of 1,000 deltas, modelport against raw reqwest with a
/// minimal SSE split. With `--cpu` the server writes each answer in one piece and the figure is
/// this process's CPU time per delta (getrusage), so that the server's pacing hides nothing.
async fn stream(args: &[String]) -> Result<(), String> {
    let n: usize = arg(args, "--n", 200);
    let cpu = args.iter().any(|a| a == "--cpu");
    let server = if cpu {
        spawn_server_args(4, CONVERSATIONS, &["--whole-stream".to_owned()]).await
    } else {
        spawn_server(4).await
    };
    let client = memory_client();
    let raw = raw_client();
    let url = format!("{}/v1/chat/completions", server.url);
    let body = chat_body("Stream a long answer", true);
    let (mut mp, mut rw) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut mp_cpu, mut rw_cpu) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut mp_events = 0usize;
    let mut failures = Failures::default();
    for i in 0..(n + n / 10) {
        let warm = i < n / 10;
        let (m, r) = if i % 2 == 0 {
            let m = mp_stream(&client, &server.url).await;
            (m, raw_stream(&raw, &url, &body).await)
        } else {
            let r = raw_stream(&raw, &url, &body).await;
            (mp_stream(&client, &server.url).await, r)
        };
        match (m, r) {
            (Ok(m), Ok(r)) if m.events == 1000 && r.events >= 1000 => {
                if !warm {
                    mp.push(m.wall);
                    rw.push(r.wall);
                    mp_cpu.push(m.cpu);
                    rw_cpu.push(r.cpu);
                    mp_events += 1000;
                }
            }
            (m, r) => {
                match m {
                    Ok(m) if m.events == 1000 => {}
                    Ok(m) => failures.record(format!("modelport saw {} deltas", m.events)),
                    Err(e) => failures.record(format!("modelport: {e}")),
                }
                match r {
                    Ok(r) if r.events >= 1000 => {}
                    Ok(r) => failures.record(format!("raw saw {} events", r.events)),
                    Err(e) => failures.record(e),
                }
                break;
            }
        }
    }
    client.stop().await;
    drop(server);
    failures.result("the streaming turns")?;
    let (m, r) = (stats(&mut mp), stats(&mut rw));
    println!(
        "streaming turn of 1,000 deltas (4 chars each), {n} rounds after {} warm-up rounds, the side \
         that goes first alternating{}",
        n / 10,
        if cpu {
            "; the server writes each answer in one piece"
        } else {
            ""
        }
    );
    println!(
        "  modelport (events() stream): median {:.0} us, p99 {:.0} us -> {:.0} deltas/s",
        us(m.median),
        us(m.p99),
        mp_events as f64 / mp.iter().sum::<Duration>().as_secs_f64()
    );
    println!(
        "  raw reqwest + SSE split:     median {:.0} us, p99 {:.0} us",
        us(r.median),
        us(r.p99)
    );
    println!("  ratio (medians): {:.3}x", us(m.median) / us(r.median));
    if cpu {
        // CPU time is counted in whole microseconds per turn; the totals are the steadier figure.
        let per_delta = |v: &[Duration]| us(v.iter().sum::<Duration>()) / (v.len() * 1000) as f64;
        let (mc, rc) = (per_delta(&mp_cpu), per_delta(&rw_cpu));
        let (mm, rm) = (stats(&mut mp_cpu).median, stats(&mut rw_cpu).median);
        println!(
            "  client CPU per delta (all rounds): modelport {mc:.3} us, raw reqwest + SSE split \
             {rc:.3} us, ratio {:.3}x; per-turn medians {:.0} / {:.0} us, ratio {:.3}x",
            mc / rc,
            us(mm),
            us(rm),
            us(mm) / us(rm)
        );
    }
    Ok(())
}

/// The soft and hard limits on open files of this process (`ulimit -n`, `ulimit -Hn`).
fn open_files_limit() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut fields = line["Max open files".len()..].split_whitespace();
    let soft = fields.next()?.parse().ok()?;
    let hard = fields.next()?.parse().ok()?;
    Some((soft, hard))
}

/// `Err` saying what to raise when `n` sessions, each on its own connection, would run out of file
/// descriptors.
fn check_open_files(n: usize) -> Result<(), String> {
    // One connection per session, plus the runtime's and the pool's own descriptors.
    let needed = n as u64 + 256;
    if let Some((soft, hard)) = open_files_limit()
        && soft < needed
    {
        return Err(format!(
            "{n} concurrent sessions need `ulimit -n` of at least {needed}; it is {soft} (hard \
                 limit {hard}){}",
            if hard < needed {
                ": raise the hard limit (as root, or in /etc/security/limits.conf)".to_owned()
            } else {
                format!(": run `ulimit -n {needed}` first")
            }
        ));
    }
    Ok(())
}

async fn concurrent(args: &[String]) -> Result<(), String> {
    let n: usize = arg(args, "--sessions", 100);
    check_open_files(n)?;
    let server = spawn_server(200).await;
    let client = memory_client();
    let mut sessions = Vec::with_capacity(n);
    for _ in 0..n {
        sessions.push(session(&client, &server.url, true).await);
    }
    let start = Instant::now();
    let tasks: Vec<_> = sessions
        .into_iter()
        .map(|s| {
            tokio::spawn(async move {
                let t = Instant::now();
                let r = s
                    .send_and_wait("Stream a long answer", Some(Duration::from_secs(600)))
                    .await;
                (
                    t.elapsed(),
                    r.map(|e| e.and_then(|e| e.content().map(str::len))),
                )
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    let mut errors = 0;
    let mut first_error = None;
    for t in tasks {
        let (d, r) = t.await.expect("join");
        match r {
            Ok(Some(4000)) => latencies.push(d),
            Ok(other) => {
                errors += 1;
                first_error.get_or_insert(format!("unexpected answer {other:?}"));
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let wall = start.elapsed();
    let s = stats(&mut latencies);
    let (peak, _) = rss_kib();
    println!("{n} concurrent sessions, one streaming turn each (20 deltas of 200 chars)");
    println!(
        "  wall {:.2} s, throughput {:.0} turns/s",
        wall.as_secs_f64(),
        n as f64 / wall.as_secs_f64()
    );
    println!(
        "  latency median {:.1} ms, p99 {:.1} ms; errors {errors}{}",
        us(s.median) / 1e3,
        us(s.p99) / 1e3,
        first_error
            .map(|e| format!(" (first: {e})"))
            .unwrap_or_default()
    );
    println!("  peak RSS of this process {:.1} MiB", peak as f64 / 1024.0);
    client.stop().await;
    drop(server);
    if errors > 0 {
        return Err(format!("{errors} of {n} concurrent turns failed"));
    }
    Ok(())
}

async fn memory(args: &[String]) {
    let n: usize = arg(args, "--sessions", 10_000);
    let server = spawn_server(200).await;
    let client = memory_client();
    // Warm the connection pool and the allocator with a few turns first.
    for _ in 0..20 {
        let s = session(&client, &server.url, false).await;
        s.send_and_wait("What is 2+2?", None).await.expect("turn");
    }
    let (_, base) = rss_kib();
    let t = Instant::now();
    let mut sessions = Vec::with_capacity(n);
    for _ in 0..n {
        sessions.push(session(&client, &server.url, false).await);
    }
    let created = t.elapsed();
    let (_, after_create) = rss_kib();
    for chunk in sessions.chunks(100) {
        let turns: Vec<_> = chunk
            .iter()
            .map(|s| {
                let s = s.clone();
                tokio::spawn(
                    async move { s.send_and_wait("What is 2+2?", None).await.expect("turn") },
                )
            })
            .collect();
        for t in turns {
            t.await.expect("join");
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, after_turn) = rss_kib();
    let history_bytes: usize = sessions
        .iter()
        .map(|s| {
            serde_json::to_vec(&s.history()).map_or(0, |v| v.len())
                + s.get_events()
                    .iter()
                    .map(|e| e.to_json().to_string().len())
                    .sum::<usize>()
        })
        .sum();
    println!("{n} sessions");
    println!(
        "  creation: {:.0} sessions/s ({:.1} us each)",
        n as f64 / created.as_secs_f64(),
        us(created) / n as f64
    );
    println!(
        "  RSS per fresh session: {:.2} KiB",
        (after_create.saturating_sub(base)) as f64 / n as f64
    );
    println!(
        "  RSS per idle session after one turn: {:.2} KiB (history + event log as JSON: {:.2} KiB each)",
        (after_turn.saturating_sub(base)) as f64 / n as f64,
        history_bytes as f64 / 1024.0 / n as f64
    );
    client.stop().await;
    drop(server);
}

async fn server_ceiling(args: &[String]) -> Result<(), String> {
    let n: usize = arg(args, "--n", 20_000);
    let conc: usize = arg(args, "--concurrency", 64);
    let streaming = args.iter().any(|a| a == "--stream");
    let server = spawn_server(200).await;
    let raw = raw_client();
    let url = format!("{}/v1/chat/completions", server.url);
    let body = if streaming {
        chat_body("Stream a long answer", true)
    } else {
        chat_body("What is 2+2?", false)
    };
    let start = Instant::now();
    let per = n / conc;
    let tasks: Vec<_> = (0..conc)
        .map(|_| {
            let raw = raw.clone();
            let url = url.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let mut failures = Failures::default();
                for _ in 0..per {
                    if failures.count > 0 {
                        break;
                    }
                    if streaming {
                        match raw_stream(&raw, &url, &body).await {
                            Ok(r) if r.events >= 20 => {}
                            Ok(r) => failures.record(format!("raw saw {} events", r.events)),
                            Err(e) => failures.record(e),
                        }
                    } else if let Err(e) = raw_turn(&raw, &url, &body).await {
                        failures.record(e);
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures = Failures::default();
    for t in tasks {
        let f = t.await.expect("join");
        failures.count += f.count;
        if let Some(first) = f.first {
            failures.first.get_or_insert(first);
        }
    }
    let wall = start.elapsed();
    drop(server);
    failures.result("the requests")?;
    println!(
        "replay server ceiling: {} {} requests over {conc} connections from raw reqwest: {:.0} requests/s",
        per * conc,
        if streaming {
            "streaming (20 deltas of 200 chars)"
        } else {
            "non-streaming"
        },
        (per * conc) as f64 / wall.as_secs_f64()
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut rt = if args.iter().any(|a| a == "--current-thread") {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let result = rt
        .enable_all()
        .build()
        .expect("runtime")
        // In a spawned task: the future given to block_on is polled on the main thread, which every
        // I/O wake-up would have to cross to; modelport's turn runs in spawned tasks, so the raw
        // baseline must too.
        .block_on(async { tokio::spawn(run(args)).await });
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            eprintln!("loadtest: FAILED: {e}");
            std::process::exit(1);
        }
        // The panic's message is already on stderr.
        Err(_) => std::process::exit(101),
    }
}

/// `Err` when anything measured failed: the tool then exits with status 1.
async fn run(args: Vec<String>) -> Result<(), String> {
    // Raw reqwest in this process needs a crypto provider (modelport brings its own).
    let _ = rustls::crypto::ring::default_provider().install_default();
    // `--subscriber`: a tracing subscriber that records every span and formats every event at INFO
    // and above (into a sink), to measure the spans' cost when someone listens. Without it no
    // subscriber is installed, as in an application that does not trace.
    if args.iter().any(|a| a == "--subscriber") {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(std::io::sink)
            .init();
    }
    match args.get(1).map(String::as_str) {
        Some("serve") => {
            serve(&args).await;
            Ok(())
        }
        Some("turn") => turn(&args).await,
        Some("stream") => stream(&args).await,
        Some("concurrent") => concurrent(&args).await,
        // These panic on the first failed turn (exit status 101).
        Some("memory") => {
            memory(&args).await;
            Ok(())
        }
        Some("server-ceiling") => server_ceiling(&args).await,
        Some("soak") => {
            soak(&args).await;
            Ok(())
        }
        Some("cancel") => {
            cancel(&args).await;
            Ok(())
        }
        Some("store") => store(&args).await,
        Some("compaction") => compaction(&args).await,
        Some("mcp") => mcp(&args).await,
        _ => {
            eprintln!(
                "usage: loadtest turn|stream|concurrent|memory|server-ceiling|soak|cancel|store|compaction|mcp|serve [options]"
            );
            std::process::exit(2);
        }
    }
}

/// A 20-turn conversation with one tool call per turn, as snapshot YAML.
fn soak_conversation(turns: usize) -> String {
    let mut y = String::from("models: [bench-model]\nconversations:\n  - messages:\n");
    for k in 0..turns {
        y.push_str(&format!(
            "      - role: user\n        content: Turn {k}\n      - role: assistant\n        tool_calls:\n          - id: toolcall_{k}\n            type: function\n            function:\n              name: lookup\n              arguments: '{{\"k\":{k}}}'\n      - role: tool\n        tool_call_id: toolcall_{k}\n        content: result {k}\n      - role: assistant\n        content: Done with turn {k}.\n"
        ));
    }
    y
}

fn lookup_tool() -> modelport::Tool {
    modelport::Tool::new(
        "lookup",
        "Looks k up",
        serde_json::json!({"type": "object", "properties": {"k": {"type": "integer"}}}),
        |args: serde_json::Value, _| async move {
            Ok::<_, modelport::ToolError>(format!("result {}", args["k"]))
        },
    )
}

async fn soak(args: &[String]) {
    let sessions: usize = arg(args, "--sessions", 1000);
    let turns: usize = arg(args, "--turns", 20);
    let wave: usize = arg(args, "--wave", 100);
    let file = std::env::temp_dir().join(format!("modelport-soak-{}.yaml", std::process::id()));
    std::fs::write(&file, soak_conversation(turns)).expect("write conversation");
    let server = spawn_server_with(200, file.to_str().expect("utf-8 path")).await;
    let client = memory_client();
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline_tasks = metrics.num_alive_tasks();
    let start = Instant::now();
    let mut after_warmup = 0;
    let mut done_turns = 0;
    for w in 0..sessions.div_ceil(wave) {
        let mut tasks = Vec::new();
        for _ in 0..wave.min(sessions - w * wave) {
            let s = client
                .create_session(
                    SessionConfig::new(MODEL, ProviderConfig::openai(format!("{}/v1", server.url)))
                        .with_tool(lookup_tool()),
                )
                .await
                .expect("session");
            tasks.push(tokio::spawn(async move {
                for k in 0..turns {
                    let reply = s
                        .send_and_wait(format!("Turn {k}"), Some(Duration::from_secs(120)))
                        .await
                        .expect("turn");
                    let text = reply.and_then(|e| e.content().map(str::to_owned));
                    assert_eq!(
                        text.as_deref(),
                        Some(format!("Done with turn {k}.").as_str())
                    );
                }
                turns
            }));
        }
        for t in tasks {
            done_turns += t.await.expect("join");
        }
        if w == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            after_warmup = rss_kib().1;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (peak, end) = rss_kib();
    let wall = start.elapsed();
    client.stop().await;
    drop(client);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let left = metrics.num_alive_tasks().saturating_sub(baseline_tasks);
    let _ = std::fs::remove_file(&file);
    println!(
        "soak: {sessions} sessions x {turns} turns (one tool call each) in waves of {wave}: {done_turns} turns, {} model calls, {:.1} s",
        done_turns * 2,
        wall.as_secs_f64()
    );
    println!(
        "  RSS after the first wave {:.1} MiB, at the end {:.1} MiB: growth {:+.1}% (peak {:.1} MiB)",
        after_warmup as f64 / 1024.0,
        end as f64 / 1024.0,
        (end as f64 - after_warmup as f64) * 100.0 / after_warmup as f64,
        peak as f64 / 1024.0
    );
    println!("  tasks left after the sessions were dropped and the client stopped: {left}");
    drop(server);
}

async fn cancel(args: &[String]) {
    let n: usize = arg(args, "--n", 200);
    // In process: the server's view of the close is what is measured.
    let server = ReplayServer::from_path(
        CONVERSATIONS,
        ReplayConfig {
            delta_chars: 4,
            chunk_delay: Some(Duration::from_millis(2)),
            record: false,
            ..Default::default()
        },
    )
    .await
    .expect("replay");
    let client = memory_client();
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let s = session(&client, &server.url(), true).await;
        let mut events = s.events();
        s.send("Stream a long answer").await.expect("send");
        while let Some(Ok(e)) = events.next().await {
            if e.kind() == "assistant.message_delta" {
                break;
            }
        }
        let t = Instant::now();
        s.abort().await;
        server.wait_disconnects(i as u64 + 1).await;
        latencies.push(t.elapsed());
    }
    let st = stats(&mut latencies);
    println!("abort() to the server seeing the connection close, {n} aborts mid-stream:");
    println!(
        "  median {:.0} us, p99 {:.0} us, max {:.0} us",
        us(st.median),
        us(st.p99),
        us(*latencies.last().expect("some"))
    );
    client.stop().await;
    server.stop().await;
}

/// A conversation of `turns` turns, "Turn k" answered by "Answer k.", as snapshot YAML.
fn store_conversation(turns: usize) -> String {
    let mut y = String::from("models: [bench-model]\nconversations:\n  - messages:\n");
    for k in 0..turns {
        y.push_str(&format!(
            "      - role: user\n        content: Turn {k}\n      - role: assistant\n        content: Answer {k}.\n"
        ));
    }
    y
}

/// The stores `store` compares, each behind its own client (one connection pool for all): memory, SQLite in a temporary file
/// (WAL, synchronous=NORMAL), and PostgreSQL when a URL is given. Session ids carry a tag unique to
/// the run (the database may be shared); `finish` deletes this run's sessions from PostgreSQL, and
/// the SQLite file is removed on drop.
struct Stores {
    clients: Vec<(&'static str, Client)>,
    tag: String,
    sqlite: std::path::PathBuf,
}

impl Stores {
    fn open(args: &[String], part: &str) -> Result<Stores, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let tag = format!("loadtest-{}-{nanos}", std::process::id());
        let sqlite = std::env::temp_dir().join(format!("{tag}-{part}.db"));
        let pg = args
            .iter()
            .position(|a| a == "--pg-url")
            .and_then(|i| args.get(i + 1).cloned())
            .or_else(|| std::env::var("MODELPORT_TEST_PG_URL").ok())
            .filter(|u| !u.trim().is_empty());
        let mut urls = vec![
            ("memory", "memory".to_owned()),
            ("sqlite", format!("sqlite://{}", sqlite.display())),
        ];
        urls.extend(pg.map(|u| ("postgres", u)));
        // One connection pool for all: no store gets connections another has not.
        let transport: Arc<dyn modelport::Transport> =
            Arc::new(modelport::ReqwestTransport::new(&Default::default()).expect("transport"));
        let clients = urls
            .into_iter()
            .map(|(name, url)| {
                let options = ClientOptions::default().with_transport(transport.clone());
                Client::new(options.with_session_store(url))
                    .map(|c| (name, c))
                    .map_err(|e| format!("{name} store: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Stores {
            clients,
            tag,
            sqlite,
        })
    }

    fn id(&self, store: &str, i: usize) -> String {
        format!("{}-{store}-{i}", self.tag)
    }

    /// The stores' indices in round `round`: the store that goes first rotates.
    fn order(&self, round: usize) -> impl Iterator<Item = usize> + use<> {
        let n = self.clients.len();
        (0..n).map(move |j| (round + j) % n)
    }

    fn print_missing(&self) {
        if self.clients.len() < 3 {
            println!(
                "  {:<9} not measured: no PostgreSQL URL (--pg-url or MODELPORT_TEST_PG_URL)",
                "postgres"
            );
        }
    }

    /// Deletes this run's sessions from PostgreSQL and stops the clients.
    async fn finish(&self) -> Result<(), String> {
        let mut result = Ok(());
        if let Some((_, pg)) = self.clients.iter().find(|(name, _)| *name == "postgres") {
            let ids: Vec<String> = match pg.list_sessions().await {
                Ok(list) => list
                    .into_iter()
                    .map(|m| m.session_id)
                    .filter(|id| id.starts_with(&self.tag))
                    .collect(),
                Err(e) => return Err(format!("postgres: list_sessions: {e}")),
            };
            for chunk in ids.chunks(100) {
                for r in
                    futures::future::join_all(chunk.iter().map(|id| pg.delete_session(id))).await
                {
                    if let Err(e) = r {
                        result = Err(format!("postgres: delete_session: {e}"));
                    }
                }
            }
        }
        for (_, client) in &self.clients {
            client.stop().await;
        }
        result
    }
}

impl Drop for Stores {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.sqlite.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

fn store_config(url: &str) -> SessionConfig {
    SessionConfig::new(
        MODEL,
        ProviderConfig::openai(format!("{url}/v1")).with_api_key("sk-bench"),
    )
}

async fn store_session(
    client: &Client,
    url: &str,
    id: String,
) -> Result<modelport::Session, String> {
    client
        .create_session(store_config(url).with_session_id(id))
        .await
        .map_err(|e| format!("create_session: {e}"))
}

/// Sends "Turn k" and waits for "Answer k.": the time of `send_and_wait`.
async fn store_send(s: &modelport::Session, k: usize) -> Result<Duration, String> {
    let t = Instant::now();
    let reply = s
        .send_and_wait(format!("Turn {k}"), Some(Duration::from_secs(120)))
        .await
        .map_err(|e| format!("send_and_wait: {e}"))?;
    let elapsed = t.elapsed();
    let text = reply.and_then(|e| e.content().map(str::to_owned));
    if text.as_deref() != Some(format!("Answer {k}.").as_str()) {
        return Err(format!("turn {k}: unexpected answer {text:?}"));
    }
    Ok(elapsed)
}

/// Median and range of a few samples, in milliseconds.
fn ms_range(samples: &mut [Duration]) -> String {
    samples.sort();
    format!(
        "median {:.3} ms [{:.3}-{:.3}]",
        us(samples[samples.len() / 2]) / 1e3,
        us(samples[0]) / 1e3,
        us(samples[samples.len() - 1]) / 1e3
    )
}

async fn store(args: &[String]) -> Result<(), String> {
    let part = args.get(2).map_or("", String::as_str);
    let turns = match part {
        "send" => arg(args, "--turns", 10).max(2),
        "resume" => arg(args, "--turns", 100),
        "list" | "concurrent" => 1,
        _ => {
            eprintln!("usage: loadtest store send|resume|list|concurrent [options]");
            std::process::exit(2);
        }
    };
    if part == "concurrent" {
        check_open_files(arg(args, "--sessions", 1000))?;
    }
    let file = std::env::temp_dir().join(format!("modelport-store-{}.yaml", std::process::id()));
    std::fs::write(&file, store_conversation(turns)).expect("write conversation");
    let server = spawn_server_with(200, file.to_str().expect("utf-8 path")).await;
    let stores = Stores::open(args, part)?;
    let url = &server.url;
    let result = match part {
        "send" => store_send_latency(&stores, url, args, turns).await,
        "resume" => store_resume(&stores, url, args, turns).await,
        "list" => store_list(&stores, url, args).await,
        _ => store_concurrent(&stores, url, args).await,
    };
    let finished = stores.finish().await;
    drop(server);
    let _ = std::fs::remove_file(&file);
    result.and(finished)
}

/// Sends 2..turns of fresh sessions, one send per store per round.
async fn store_send_latency(
    stores: &Stores,
    url: &str,
    args: &[String],
    turns: usize,
) -> Result<(), String> {
    let n: usize = arg(args, "--n", 2000);
    let warm = n / 10;
    let count = stores.clients.len();
    let mut samples = vec![Vec::with_capacity(n); count];
    let mut sessions: Vec<Option<modelport::Session>> = vec![None; count];
    let mut round = 0;
    while samples[0].len() < n {
        let k = round % turns;
        for c in stores.order(round) {
            let (name, client) = &stores.clients[c];
            let fail = |e: String| format!("{name}: {e}");
            if k == 0 {
                if let Some(old) = sessions[c].take() {
                    old.disconnect().await;
                }
                let id = stores.id(name, round / turns);
                sessions[c] = Some(store_session(client, url, id).await.map_err(fail)?);
            }
            let s = sessions[c].as_ref().expect("created at k = 0");
            let d = store_send(s, k).await.map_err(fail)?;
            if k > 0 && round >= warm {
                samples[c].push(d);
            }
        }
        round += 1;
    }
    for s in sessions.into_iter().flatten() {
        s.disconnect().await;
    }
    println!(
        "session stores: non-streaming send_and_wait, sends 2..{turns} of fresh sessions (the first \
         untimed), {n} timed sends per store after {warm} warm-up rounds; each round one send per \
         store, the store that goes first rotating; replay server in a child process"
    );
    let memory = stats(&mut samples[0]).median;
    for (c, (name, _)) in stores.clients.iter().enumerate() {
        let s = stats(&mut samples[c]);
        println!(
            "  {name:<9} median {:7.1} us, p99 {:7.1} us, mean {:7.1} us; median - memory's: {:+.1} us",
            us(s.median),
            us(s.p99),
            us(s.mean),
            us(s.median) - us(memory)
        );
    }
    stores.print_missing();
    Ok(())
}

/// `resume_session` of a session of `turns` sends, disconnected before each resume.
async fn store_resume(
    stores: &Stores,
    url: &str,
    args: &[String],
    turns: usize,
) -> Result<(), String> {
    let n: usize = arg(args, "--n", 50);
    let warm = (n / 10).max(1);
    for (name, client) in &stores.clients {
        let fail = |e: String| format!("{name}: {e}");
        let s = store_session(client, url, stores.id(name, 0))
            .await
            .map_err(fail)?;
        for k in 0..turns {
            store_send(&s, k).await.map_err(fail)?;
        }
        s.disconnect().await;
    }
    let count = stores.clients.len();
    let mut samples = vec![Vec::with_capacity(n); count];
    let mut loaded = vec![(0, 0); count];
    for round in 0..(warm + n) {
        for c in stores.order(round) {
            let (name, client) = &stores.clients[c];
            let t = Instant::now();
            let s = client
                .resume_session(&stores.id(name, 0), store_config(url))
                .await
                .map_err(|e| format!("{name}: resume_session: {e}"))?;
            let d = t.elapsed();
            loaded[c] = (s.get_events().len(), s.history().len());
            if loaded[c].1 != 2 * turns {
                return Err(format!(
                    "{name}: the resumed history holds {} messages, not {}",
                    loaded[c].1,
                    2 * turns
                ));
            }
            s.disconnect().await;
            if round >= warm {
                samples[c].push(d);
            }
        }
    }
    println!(
        "session stores: resume_session of a {turns}-turn session ({} events, {} history messages \
         after the last resume), {n} resumes per store after {warm} warm-up round(s), the store that \
         goes first rotating; the session disconnected (untimed) after each resume",
        loaded[0].0, loaded[0].1
    );
    for (c, (name, _)) in stores.clients.iter().enumerate() {
        println!("  {name:<9} {}", ms_range(&mut samples[c]));
    }
    stores.print_missing();
    Ok(())
}

/// `list_sessions` over `--sessions` sessions of one send each.
async fn store_list(stores: &Stores, url: &str, args: &[String]) -> Result<(), String> {
    let n: usize = arg(args, "--sessions", 10_000);
    let reps: usize = arg(args, "--n", 5);
    let mut fill = Vec::new();
    for (name, client) in &stores.clients {
        let t = Instant::now();
        for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
            let tasks: Vec<_> = chunk
                .iter()
                .map(|&i| {
                    let (client, url, id) = (client.clone(), url.to_owned(), stores.id(name, i));
                    tokio::spawn(async move {
                        let s = store_session(&client, &url, id).await?;
                        store_send(&s, 0).await?;
                        s.disconnect().await;
                        Ok::<_, String>(())
                    })
                })
                .collect();
            for task in tasks {
                task.await
                    .expect("join")
                    .map_err(|e| format!("{name}: {e}"))?;
            }
        }
        fill.push(format!("{name} {:.1} s", t.elapsed().as_secs_f64()));
    }
    let count = stores.clients.len();
    let mut samples = vec![Vec::with_capacity(reps); count];
    let mut listed = vec![(0, 0); count];
    for round in 0..(reps + 1) {
        for c in stores.order(round) {
            let (name, client) = &stores.clients[c];
            let t = Instant::now();
            let list = client
                .list_sessions()
                .await
                .map_err(|e| format!("{name}: list_sessions: {e}"))?;
            let d = t.elapsed();
            let ours = list
                .iter()
                .filter(|m| m.session_id.starts_with(&stores.tag) && m.summary.is_some())
                .count();
            if ours != n {
                return Err(format!(
                    "{name}: list_sessions listed {ours} of this run's {n} sessions"
                ));
            }
            listed[c] = (list.len(), ours);
            if round > 0 {
                samples[c].push(d);
            }
        }
    }
    println!(
        "session stores: list_sessions over {n} sessions of one send each (made through the public \
         API, 100 at a time: {}), {reps} calls per store after one warm-up round, the store that \
         goes first rotating",
        fill.join(", ")
    );
    for (c, (name, _)) in stores.clients.iter().enumerate() {
        println!(
            "  {name:<9} {} ({} sessions listed, {} of this run)",
            ms_range(&mut samples[c]),
            listed[c].0,
            listed[c].1
        );
    }
    stores.print_missing();
    Ok(())
}

/// `--sessions` sessions per store, each sending one non-streaming turn at once.
async fn store_concurrent(stores: &Stores, url: &str, args: &[String]) -> Result<(), String> {
    let n: usize = arg(args, "--sessions", 1000);
    let rounds: usize = arg(args, "--rounds", 3);
    let count = stores.clients.len();
    let mut walls = vec![Vec::with_capacity(rounds); count];
    println!(
        "session stores: {n} sessions per store, created first, then each sending one non-streaming \
         turn at once; {rounds} rounds after one warm-up round, the store that goes first rotating"
    );
    // Round 0 warms up: it opens the connections the others reuse.
    for round in 0..=rounds {
        let mut line = Vec::new();
        for c in stores.order(round) {
            let (name, client) = &stores.clients[c];
            let mut sessions = Vec::with_capacity(n);
            for i in 0..n {
                let id = stores.id(name, round * n + i);
                sessions.push(
                    store_session(client, url, id)
                        .await
                        .map_err(|e| format!("{name}: {e}"))?,
                );
            }
            let start = Instant::now();
            let tasks: Vec<_> = sessions
                .iter()
                .map(|s| {
                    let s = s.clone();
                    tokio::spawn(async move { store_send(&s, 0).await })
                })
                .collect();
            let mut latencies = Vec::with_capacity(n);
            let mut failures = Failures::default();
            for task in tasks {
                match task.await.expect("join") {
                    Ok(d) => latencies.push(d),
                    Err(e) => failures.record(e),
                }
            }
            let wall = start.elapsed();
            futures::future::join_all(sessions.iter().map(|s| s.disconnect())).await;
            failures.result(&format!("{name}: the concurrent turns"))?;
            if round == 0 {
                continue;
            }
            let s = stats(&mut latencies);
            walls[c].push(wall);
            line.push(format!(
                "{name} {:.3} s, {:.0} turns/s, latency median {:.1} ms, p99 {:.1} ms",
                wall.as_secs_f64(),
                n as f64 / wall.as_secs_f64(),
                us(s.median) / 1e3,
                us(s.p99) / 1e3
            ));
        }
        if round > 0 {
            println!("  round {round}: {}", line.join("; "));
        }
    }
    let memory = stats(&mut walls[0]).median;
    for (c, (name, _)) in stores.clients.iter().enumerate() {
        let wall = stats(&mut walls[c]).median;
        println!(
            "  {name:<9} median wall {:.3} s, {:.0} turns/s, {:.2}x memory's wall",
            wall.as_secs_f64(),
            n as f64 / wall.as_secs_f64(),
            wall.as_secs_f64() / memory.as_secs_f64()
        );
    }
    stores.print_missing();
    Ok(())
}

/// The fallback answer of `compaction`: every send, and every compaction's summary call, gets it.
const COMPACTION_ANSWER: &str = "Noted. I will keep this in mind for the rest of the conversation \
and come back to it when it matters; tell me when you want a summary of the notes so far or the \
next step of the plan.";

/// Prompt `k` of `compaction`: distinct per send, `chars` characters long (ASCII).
fn compaction_prompt(k: usize, chars: usize) -> String {
    let mut p = format!("Note {k}: ");
    while p.len() < chars {
        p.push_str("here is one more paragraph of the running notes of this project; keep it. ");
    }
    p.truncate(chars);
    p
}

/// What the client sent and the provider refused, counted on the client's side of the wire.
#[derive(Debug, Default)]
struct WireCounts {
    requests: std::sync::atomic::AtomicU64,
    /// HTTP 400: the replay server sends it here only for a prompt over its context window.
    too_long: std::sync::atomic::AtomicU64,
    max_body: std::sync::atomic::AtomicUsize,
}

/// reqwest's transport, counting requests, rejections and the largest request body.
#[derive(Debug)]
struct CountingTransport {
    inner: modelport::ReqwestTransport,
    counts: Arc<WireCounts>,
}

impl modelport::Transport for CountingTransport {
    fn send(
        &self,
        request: modelport::HttpRequest,
    ) -> futures::future::BoxFuture<'static, modelport::Result<modelport::HttpResponse>> {
        use std::sync::atomic::Ordering::Relaxed;
        self.counts.requests.fetch_add(1, Relaxed);
        self.counts
            .max_body
            .fetch_max(request.body().len(), Relaxed);
        let counts = self.counts.clone();
        let response = self.inner.send(request);
        Box::pin(async move {
            let response = response.await;
            if matches!(&response, Ok(r) if r.status == 400) {
                counts.too_long.fetch_add(1, Relaxed);
            }
            response
        })
    }
}

/// The compactions of a session, timed when their events are emitted (a feed's notify runs on the
/// emitting thread), and the fullest the window got.
#[derive(Debug, Default)]
struct CompactionLog {
    started: Option<Instant>,
    starts: usize,
    durations: Vec<Duration>,
    succeeded: usize,
    removed: u64,
    peak_tokens: u64,
    /// The longest history after a model call since the last reading.
    max_messages: u64,
}

fn watch_compactions(
    session: &modelport::Session,
) -> (
    Arc<modelport::EventFeed>,
    Arc<std::sync::Mutex<CompactionLog>>,
) {
    let feed = Arc::new(session.feed(1024));
    let log = Arc::new(std::sync::Mutex::new(CompactionLog::default()));
    let (weak, sink) = (Arc::downgrade(&feed), log.clone());
    feed.set_notify(move || {
        let now = Instant::now();
        let Some(batch) = weak.upgrade().and_then(|f| f.take(usize::MAX)) else {
            return;
        };
        let mut log = sink.lock().expect("compaction log");
        for item in batch.items {
            let modelport::FeedItem::Event(e) = item else {
                continue;
            };
            match &e.data {
                EventData::CompactionStart(_) => {
                    log.starts += 1;
                    log.started = Some(now);
                }
                EventData::CompactionComplete(c) => {
                    if let Some(t) = log.started.take() {
                        log.durations.push(now - t);
                    }
                    log.succeeded += usize::from(c.success);
                    log.removed += c.messages_removed;
                }
                EventData::UsageInfo(u) => {
                    log.peak_tokens = log.peak_tokens.max(u.current_tokens);
                    log.max_messages = log.max_messages.max(u.messages_length);
                }
                _ => {}
            }
        }
    });
    (feed, log)
}

/// One side of `compaction`, in a process of its own (so that its RSS is its own): one session of
/// `--sends` sends; prints its figures as one JSON line for the parent.
async fn compaction_side(args: &[String]) -> Result<(), String> {
    use std::sync::atomic::Ordering::Relaxed;
    let sends: usize = arg(args, "--sends", 500);
    let every: usize = arg(args, "--every", 50).max(1);
    let window: u64 = arg(args, "--window", 8000);
    let prompt_chars: usize = arg(args, "--prompt-chars", 300);
    let infinite = arg(args, "--side", String::new()) == "compaction";
    let mut extra = vec!["--fallback".to_owned(), COMPACTION_ANSWER.to_owned()];
    if infinite {
        extra.extend(["--context-window".to_owned(), window.to_string()]);
    }
    let server = spawn_server_args(200, CONVERSATIONS, &extra).await;
    let counts = Arc::new(WireCounts::default());
    let transport = CountingTransport {
        inner: modelport::ReqwestTransport::new(&Default::default())
            .map_err(|e| format!("transport: {e}"))?,
        counts: counts.clone(),
    };
    let client = Client::new(
        ClientOptions::default()
            .with_transport(Arc::new(transport))
            .with_session_store("memory"),
    )
    .map_err(|e| format!("client: {e}"))?;
    let mut provider =
        ProviderConfig::openai(format!("{}/v1", server.url)).with_api_key("sk-bench");
    // A margin below the provider's window: modelport estimates tokens, the provider counts them.
    let max_prompt = window * 9 / 10;
    if infinite {
        provider = provider.with_max_prompt_tokens(max_prompt);
    }
    let mut config = SessionConfig::new(MODEL, provider);
    config.infinite_sessions.enabled = infinite;
    let send = |s: modelport::Session, k: usize| async move {
        let t = Instant::now();
        let reply = s
            .send_and_wait(
                compaction_prompt(k, prompt_chars),
                Some(Duration::from_secs(120)),
            )
            .await
            .map_err(|e| format!("send {k}: {e}"))?;
        let elapsed = t.elapsed();
        let text = reply.and_then(|e| e.content().map(str::to_owned));
        if text.as_deref() != Some(COMPACTION_ANSWER) {
            return Err(format!("send {k}: unexpected answer {text:?}"));
        }
        Ok::<_, String>(elapsed)
    };
    // Warm the connection and the allocator on a throwaway session (too short to compact).
    let warm = client
        .create_session(config.clone())
        .await
        .map_err(|e| format!("create_session: {e}"))?;
    for k in 0..20 {
        send(warm.clone(), k).await?;
    }
    warm.disconnect().await;
    drop(warm);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let base_rss = rss_kib().1;
    let (base_requests, base_too_long) =
        (counts.requests.load(Relaxed), counts.too_long.load(Relaxed));
    let s = client
        .create_session(config)
        .await
        .map_err(|e| format!("create_session: {e}"))?;
    let (feed, log) = watch_compactions(&s);
    let mut latencies = Vec::with_capacity(sends);
    // Sends during which a background compaction (started after the previous send) completed:
    // they waited for it.
    let (mut waited, mut others) = (Vec::new(), Vec::new());
    let completed = || log.lock().expect("compaction log").durations.len();
    let mut windows = Vec::new();
    for k in 0..sends {
        let before = completed();
        let d = send(s.clone(), k).await?;
        latencies.push(d);
        if completed() > before {
            waited.push(d);
        } else {
            others.push(d);
        }
        if (k + 1) % every != 0 && k + 1 != sends {
            continue;
        }
        if k + 1 == sends {
            // A background compaction may follow the last send: let it end before the last figures.
            for _ in 0..500 {
                let open = {
                    let l = log.lock().expect("compaction log");
                    l.starts != l.durations.len()
                };
                if !open {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        // RSS first, before this reading's own allocations.
        let rss = rss_kib().1;
        let live = heap::live();
        let from = k + 1 - (k % every + 1);
        let st = stats(&mut latencies[from..].to_vec());
        let history = s.history();
        let events = s.get_events();
        let (compactions, max_messages) = {
            let mut l = log.lock().expect("compaction log");
            (l.durations.len(), std::mem::take(&mut l.max_messages))
        };
        let json_len = |v: serde_json::Result<String>| v.map_or(0, |t| t.len());
        windows.push(serde_json::json!({
            "from": from + 1,
            "to": k + 1,
            "median_us": us(st.median),
            "p99_us": us(st.p99),
            "rss_kib": rss,
            "history": history.len(),
            "history_max": max_messages,
            "history_bytes": history.iter().map(|m| json_len(serde_json::to_string(m))).sum::<usize>(),
            "events": events.len(),
            "events_bytes": events.iter().map(|e| json_len(serde_json::to_string(e))).sum::<usize>(),
            "compactions": compactions,
            "live_heap": live,
            "events_heap": heap_of(&events, |e| {
                serde_json::from_str::<modelport::Event>(&serde_json::to_string(e).ok()?).ok()
            }),
            "history_heap": heap_of(&history, |m| {
                serde_json::from_str::<modelport::Message>(&serde_json::to_string(m).ok()?).ok()
            }),
        }));
    }
    feed.close();
    let log = std::mem::take(&mut *log.lock().expect("compaction log"));
    let report = serde_json::json!({
        "side": if infinite { "compaction" } else { "control" },
        "base_rss_kib": base_rss,
        "peak_rss_kib": rss_kib().0,
        "windows": windows,
        "compactions": log.starts,
        "succeeded": log.succeeded,
        "messages_removed": log.removed,
        "compaction_us": log.durations.iter().map(|d| us(*d)).collect::<Vec<_>>(),
        "waited": waited.len(),
        "waited_median_us": median_us(&mut waited),
        "others_median_us": median_us(&mut others),
        "peak_tokens": log.peak_tokens,
        "requests": counts.requests.load(Relaxed) - base_requests,
        "too_long": counts.too_long.load(Relaxed) - base_too_long,
        "max_request_bytes": counts.max_body.load(Relaxed),
        "max_prompt_tokens": if infinite { Some(max_prompt) } else { None },
    });
    s.disconnect().await;
    client.stop().await;
    drop(server);
    println!("{report}");
    Ok(())
}

/// The median in microseconds, 0 for no samples.
fn median_us(samples: &mut [Duration]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    us(stats(samples).median)
}

/// `compaction`: one long session with infinite sessions against a replay provider with a context
/// window, and the control (compaction off, no window) for the same sends; each side runs in a
/// child process of its own, compaction first.
async fn compaction(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "--side") {
        return compaction_side(args).await;
    }
    let sends: usize = arg(args, "--sends", 500);
    let every: usize = arg(args, "--every", 50).max(1);
    let window: u64 = arg(args, "--window", 8000);
    let prompt_chars: usize = arg(args, "--prompt-chars", 300);
    let exe = std::env::current_exe().expect("own path");
    let mut reports = Vec::new();
    for side in ["compaction", "control"] {
        let out = Command::new(&exe)
            .args(["compaction", "--side", side])
            .args(["--sends", &sends.to_string(), "--every", &every.to_string()])
            .args(["--window", &window.to_string()])
            .args(["--prompt-chars", &prompt_chars.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .await
            .map_err(|e| format!("{side}: spawn: {e}"))?;
        if !out.status.success() {
            return Err(format!("the {side} run failed ({})", out.status));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().last().unwrap_or_default();
        reports.push(
            serde_json::from_str::<serde_json::Value>(line)
                .map_err(|e| format!("{side}: bad report {line:?}: {e}"))?,
        );
    }
    let (c, n) = (&reports[0], &reports[1]);
    let mib = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0) / 1024.0;
    println!(
        "compaction: one session, {sends} non-streaming sends of {prompt_chars}-char prompts, a \
         {}-char fallback answer; each side in a process of its own, replay server in a child \
         process, memory store, 20 warm-up sends on a throwaway session first",
        COMPACTION_ANSWER.len()
    );
    println!(
        "  compaction side: infinite sessions on, replay window {window} tokens (JSON bytes / 4), \
         maxPromptTokens {}; control side: infinite sessions off, no window{}",
        c["max_prompt_tokens"],
        if every * 99 / 100 == every - 1 {
            format!(". The p99 of {every} sends is their maximum")
        } else {
            String::new()
        }
    );
    println!(
        "  {:<9} | {:>22} {:>7} {:>13} {:>6} {:>11} | {:>22} {:>7} {:>7} {:>6}",
        "sends",
        "compaction: median/p99",
        "RSS MiB",
        "history (max)",
        "events",
        "compactions",
        "control: median/p99",
        "RSS MiB",
        "history",
        "events"
    );
    let empty = Vec::new();
    let (cw, nw) = (
        c["windows"].as_array().unwrap_or(&empty),
        n["windows"].as_array().unwrap_or(&empty),
    );
    let f = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
    let u = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
    for (a, b) in cw.iter().zip(nw) {
        println!(
            "  {:<9} | {:>8.1} / {:>8.1} us {:>7.1} {:>13} {:>6} {:>11} | {:>8.1} / {:>8.1} us {:>7.1} {:>7} {:>6}",
            format!("{}-{}", u(&a["from"]), u(&a["to"])),
            f(&a["median_us"]),
            f(&a["p99_us"]),
            mib(&a["rss_kib"]),
            format!("{} ({})", u(&a["history"]), u(&a["history_max"])),
            u(&a["events"]),
            u(&a["compactions"]),
            f(&b["median_us"]),
            f(&b["p99_us"]),
            mib(&b["rss_kib"]),
            u(&b["history"]),
            u(&b["events"]),
        );
    }
    if cw.first().is_some_and(|w| !w["live_heap"].is_null()) {
        println!(
            "  live heap in KiB (--features heap: a counting allocator, so the latencies above are \
             not comparable with a default build); event log and history: a deep copy's heap"
        );
        println!(
            "  {:<9} | {:>10} {:>10} {:>10} {:>10} | {:>10} {:>10} {:>10} {:>10}",
            "sends",
            "compaction",
            "event log",
            "history",
            "the rest",
            "control",
            "event log",
            "history",
            "the rest"
        );
        let kib = |w: &serde_json::Value| {
            let (live, events, history) = (
                f(&w["live_heap"]),
                f(&w["events_heap"]),
                f(&w["history_heap"]),
            );
            [live, events, history, live - events - history].map(|b| b / 1024.0)
        };
        for (wa, wb) in cw.iter().zip(nw) {
            let (a, b) = (kib(wa), kib(wb));
            println!(
                "  {:<9} | {:>10.0} {:>10.0} {:>10.0} {:>10.0} | {:>10.0} {:>10.0} {:>10.0} {:>10.0}",
                format!("{}-{}", u(&wa["from"]), u(&wa["to"])),
                a[0],
                a[1],
                a[2],
                a[3],
                b[0],
                b[1],
                b[2],
                b[3]
            );
        }
    }
    for (label, r, w) in [("compaction", c, cw), ("control", n, nw)] {
        let (Some(first), Some(second), Some(last)) = (w.first(), w.get(1), w.last()) else {
            continue;
        };
        println!(
            "  {label:<10} last/first window: median {:.2}x, p99 {:.2}x (last/second: median \
             {:.2}x); RSS {:.1} MiB before the session, {:+.1} MiB from the first window to the \
             last; at the end history {} messages ({:.0} KiB as JSON), event log {} events ({:.0} \
             KiB as JSON)",
            f(&last["median_us"]) / f(&first["median_us"]),
            f(&last["p99_us"]) / f(&first["p99_us"]),
            f(&last["median_us"]) / f(&second["median_us"]),
            mib(&r["base_rss_kib"]),
            mib(&last["rss_kib"]) - mib(&first["rss_kib"]),
            last["history"],
            f(&last["history_bytes"]) / 1024.0,
            last["events"],
            f(&last["events_bytes"]) / 1024.0,
        );
    }
    let mut durations: Vec<f64> = c["compaction_us"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(f)
        .collect();
    durations.sort_by(f64::total_cmp);
    let (median, max) = (
        durations.get(durations.len() / 2).copied().unwrap_or(0.0),
        durations.last().copied().unwrap_or(0.0),
    );
    println!(
        "  compactions: {} ({} summarised, {} messages replaced), compaction_start to \
         compaction_complete median {:.0} us, max {:.0} us; fullest window seen {} of {} tokens \
         (modelport's count)",
        c["compactions"],
        c["succeeded"],
        c["messages_removed"],
        median,
        max,
        c["peak_tokens"],
        c["max_prompt_tokens"]
    );
    println!(
        "  sends that waited for a background compaction: {}, median {:.1} us; the other sends: median {:.1} us",
        c["waited"],
        f(&c["waited_median_us"]),
        f(&c["others_median_us"])
    );
    println!(
        "  requests rejected as too long: {} of {} (largest request {} bytes, {} tokens by the \
         server's count, window {window}); control: largest request {} bytes",
        c["too_long"],
        c["requests"],
        c["max_request_bytes"],
        c["max_request_bytes"].as_u64().unwrap_or(0).div_ceil(4),
        n["max_request_bytes"]
    );
    match c["too_long"].as_u64() {
        Some(0) => Ok(()),
        _ => Err(format!(
            "{} requests were rejected as longer than the window",
            c["too_long"]
        )),
    }
}

/// `mcp`'s conversation: `turns` sends, each "Echo k", one call of `srv-echo`, then "Echoed k.".
fn mcp_conversation(turns: usize) -> String {
    let mut y = String::from("models: [bench-model]\nconversations:\n  - messages:\n");
    for k in 0..turns {
        y.push_str(&format!(
            "      - role: user\n        content: Echo {k}\n      - role: assistant\n        tool_calls:\n          - {{id: call_{k}, type: function, function: {{name: srv-echo, arguments: '{{\"text\":\"{k}\"}}'}}}}\n      - role: tool\n        tool_call_id: call_{k}\n        content: '{k}'\n      - role: assistant\n        content: Echoed {k}.\n"
        ));
    }
    y
}

/// The MCP test servers' Python (scripts/mcp-venv.sh makes it; the same one the tests use).
fn mcp_python() -> Result<String, String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = root.join("target/mcp-venv");
    let status = std::process::Command::new("bash")
        .arg(root.join("scripts/mcp-venv.sh"))
        .env("MODELPORT_MCP_VENV", &venv)
        .status()
        .map_err(|e| format!("scripts/mcp-venv.sh: {e}"))?;
    if !status.success() {
        return Err("scripts/mcp-venv.sh failed".into());
    }
    Ok(venv.join("bin/python").display().to_string())
}

/// One send with one tool call, the tool in three places, `--n` rounds after a tenth as many
/// warm-up rounds; each round one send per side, the first side rotating.
async fn mcp(args: &[String]) -> Result<(), String> {
    let n: usize = arg(args, "--n", 200);
    let rounds = n + n / 10;
    let python = mcp_python()?;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/mcp/server.py")
        .display()
        .to_string();
    let file = std::env::temp_dir().join(format!("modelport-mcp-{}.yaml", std::process::id()));
    std::fs::write(&file, mcp_conversation(rounds)).expect("write conversation");
    let server = spawn_server_with(200, file.to_str().expect("utf-8 path")).await;
    // `--json-response`: the server answers each POST with plain JSON instead of an SSE stream;
    // `--nagle`: the server leaves Nagle's algorithm on (uvicorn's default as server.py runs it).
    let passed = ["--json-response", "--nagle"]
        .into_iter()
        .filter(|f| args.iter().any(|a| a == f));
    let mut http = Command::new(&python)
        .args([script.as_str(), "--http", "--only", "echo"])
        .args(passed)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("server.py --http: {e}"))?;
    let mut line = String::new();
    BufReader::new(http.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .await
        .map_err(|e| e.to_string())?;
    let http_url = line
        .trim()
        .strip_prefix("LISTENING ")
        .ok_or_else(|| format!("server.py --http printed {line:?}"))?
        .to_owned();
    let client = memory_client();
    let base = || {
        SessionConfig::new(
            "bench-model",
            ProviderConfig::openai(format!("{}/v1", server.url)),
        )
    };
    let local = modelport::Tool::new(
        "srv-echo",
        "Echo the text back.",
        serde_json::json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
        |args: serde_json::Value, _| async move {
            Ok::<_, modelport::ToolError>(args["text"].as_str().unwrap_or_default().to_owned())
        },
    );
    let with_servers = |servers: serde_json::Value| {
        let mut c: SessionConfig =
            serde_json::from_value(serde_json::json!({ "mcpServers": servers }))
                .expect("mcpServers");
        let b = base();
        c.model = b.model;
        c.provider = b.provider;
        c
    };
    let sides = [
        ("in-process tool", base().with_tool(local)),
        (
            "MCP over stdio",
            with_servers(
                serde_json::json!({"srv": {"command": python, "args": [script, "--only", "echo"]}}),
            ),
        ),
        (
            "MCP over Streamable HTTP",
            with_servers(serde_json::json!({"srv": {"type": "http", "url": http_url}})),
        ),
    ];
    let mut sessions = Vec::new();
    for (name, config) in sides {
        let s = client
            .create_session(config)
            .await
            .map_err(|e| format!("{name}: create_session: {e}"))?;
        sessions.push((name, s, Vec::with_capacity(n)));
    }
    let mut failures = Failures::default();
    'rounds: for k in 0..rounds {
        for j in 0..sessions.len() {
            let (name, s, samples) = &mut sessions[(k + j) % 3];
            let t = Instant::now();
            let reply = s
                .send_and_wait(format!("Echo {k}"), Some(Duration::from_secs(60)))
                .await;
            let elapsed = t.elapsed();
            let text = reply
                .ok()
                .flatten()
                .and_then(|e| e.content().map(str::to_owned));
            if text.as_deref() != Some(format!("Echoed {k}.").as_str()) {
                failures.record(format!("{name}, round {k}: answer {text:?}"));
                break 'rounds;
            }
            if k >= n / 10 {
                samples.push(elapsed);
            }
        }
    }
    client.stop().await;
    drop(http);
    drop(server);
    let _ = std::fs::remove_file(&file);
    failures.result("the sends")?;
    println!(
        "one send with one tool call (two model calls to the replay server in a child process), {n} \
         rounds after {} warm-up rounds, the first side rotating; MCP servers: tests/mcp/server.py \
         (official Python SDK)",
        n / 10
    );
    let mut medians = Vec::new();
    for (name, _, samples) in &mut sessions {
        let st = stats(samples);
        println!(
            "  {name:<26} median {:>8.1} us  p99 {:>8.1} us  mean {:>8.1} us",
            us(st.median),
            us(st.p99),
            us(st.mean)
        );
        medians.push(us(st.median));
    }
    for (i, (name, _, _)) in sessions.iter().enumerate().skip(1) {
        println!(
            "  added by {name}: {:.1} us per tool call (difference of medians)",
            medians[i] - medians[0]
        );
    }
    Ok(())
}
