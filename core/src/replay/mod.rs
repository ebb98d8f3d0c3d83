//! The replay provider (feature `replay`): a loopback HTTP server that plays stored conversations in
//! every wire format, so tests, bindings and users can work offline.
//!
//! Routes: `POST …/chat/completions`, `POST …/responses`, `POST …/messages`, Azure's deployment route
//! (`/openai/deployments/{d}/chat/completions?api-version=`) and v1 route (`/openai/v1/…`), and
//! `GET …/models`. Each request's history is matched against the loaded conversations (see
//! [`snapshot`]); the next assistant message is served, streamed when the request asks for it, text in
//! deltas of `delta_chars` characters, usage estimated as characters / 4. Scripted `errors:` answer
//! before conversations. When nothing matches: HTTP 500 with an explanation of where the request
//! departs from the closest stored conversation.

pub mod snapshot;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, ErrorKind, Result};
use crate::util::lock;
use crate::wire::encode::{Answer, json_body, stream_events};
use crate::wire::{ToolCall, Usage, WireFormat};
pub use snapshot::{ErrorStage, ScriptedError, Snapshot};
use snapshot::{Norm, args_value, explain_mismatch, find_answer, normalize_stored, renumber};

/// How to run the replay server. Deserialises from the camelCase JSON the bindings take,
/// `{port?, deltaChars?, chunkDelayMs?, record?, fallback?}` (snake_case keys work too; an absent or
/// null field keeps its default); see [`ReplayConfig::from_json`].
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(from = "ReplayJson")]
pub struct ReplayConfig {
    /// The port on 127.0.0.1 (0 picks a free one).
    pub port: u16,
    /// Characters per streamed text delta (default 200; 1 for load tests).
    pub delta_chars: usize,
    /// A pause between streamed events (none by default).
    pub chunk_delay: Option<Duration>,
    /// Keep every request for inspection (on by default; off for load tests).
    pub record: bool,
    /// Served (as a text answer) when no conversation matches, instead of the explaining 500: for
    /// benchmarks of clients whose requests carry their own history (the Copilot SDK's runtime).
    pub fallback: Option<String>,
    /// The model's context window in tokens: a request larger than this (its JSON body's bytes / 4)
    /// gets the wire format's real context-length error (HTTP 400).
    pub context_window: Option<u64>,
    /// Write each streamed answer in one piece instead of one write per event, so that a client's
    /// own per-event cost is measured rather than the server's pacing (benchmarks; Rust only, off
    /// by default; `chunk_delay` is then ignored).
    pub whole_stream: bool,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            port: 0,
            delta_chars: 200,
            chunk_delay: None,
            record: true,
            fallback: None,
            context_window: None,
            whole_stream: false,
        }
    }
}

impl ReplayConfig {
    /// Parses the JSON options (empty text: the defaults), naming the path of a bad field. A
    /// `deltaChars` below 1 is 1; `chunkDelayMs` is a number of milliseconds (fractions allowed), 0
    /// for no pause.
    pub fn from_json(json: &str) -> Result<Self> {
        if json.trim().is_empty() {
            return Ok(ReplayConfig::default());
        }
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            Error::config(format!(
                "invalid replay options at `{path}`: {}",
                e.into_inner()
            ))
        })
    }
}

/// The JSON form of [`ReplayConfig`]: every field optional, so that an absent or null one keeps the
/// default.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ReplayJson {
    #[serde(default)]
    port: Option<u16>,
    #[serde(default, alias = "delta_chars")]
    delta_chars: Option<usize>,
    #[serde(default, alias = "chunk_delay_ms", deserialize_with = "pause_ms")]
    chunk_delay_ms: Option<Duration>,
    #[serde(default)]
    record: Option<bool>,
    #[serde(default)]
    fallback: Option<String>,
    #[serde(default, alias = "context_window")]
    context_window: Option<u64>,
}

impl From<ReplayJson> for ReplayConfig {
    fn from(json: ReplayJson) -> Self {
        let defaults = ReplayConfig::default();
        ReplayConfig {
            port: json.port.unwrap_or(defaults.port),
            delta_chars: json.delta_chars.map_or(defaults.delta_chars, |n| n.max(1)),
            chunk_delay: json.chunk_delay_ms,
            record: json.record.unwrap_or(defaults.record),
            fallback: json.fallback,
            context_window: json.context_window,
            whole_stream: defaults.whole_stream,
        }
    }
}

/// A pause in milliseconds: 0 (or null) is none; negative, infinite or huge values are errors.
fn pause_ms<'de, D>(deserializer: D) -> std::result::Result<Option<Duration>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::Deserialize as _;
    let Some(ms) = Option::<f64>::deserialize(deserializer)? else {
        return Ok(None);
    };
    match Duration::try_from_secs_f64(ms / 1000.0) {
        Ok(d) if d.is_zero() => Ok(None),
        Ok(d) => Ok(Some(d)),
        Err(_) => Err(serde::de::Error::custom(format!(
            "{ms} is not a pause: give a number of milliseconds (>= 0)"
        ))),
    }
}

/// A request the server received.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ReplayRequest {
    /// GET or POST.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The JSON body (`Null` when empty or not JSON).
    pub body: Value,
}

impl ReplayRequest {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The request as the bindings hand it over: `{method, path, headers: {name: value}, body}` (of
    /// a repeated header, the last value).
    pub fn to_json(&self) -> Value {
        let headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        json!({"method": self.method, "path": self.path, "headers": headers, "body": self.body})
    }
}

struct ErrorSlot {
    error: ScriptedError,
    history: Option<Vec<Norm>>,
    remaining: Option<u32>,
}

struct State {
    config: ReplayConfig,
    conversations: Vec<Vec<Norm>>,
    models: Vec<String>,
    errors: Mutex<Vec<ErrorSlot>>,
    requests: Mutex<Vec<ReplayRequest>>,
    request_count: AtomicU64,
    disconnects: AtomicU64,
    completed_streams: AtomicU64,
    disconnect_notify: Notify,
}

/// A running replay server; stopped on [`stop`](ReplayServer::stop) or drop.
pub struct ReplayServer {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: CancellationToken,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for ReplayServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

type Body = BoxBody<Bytes, Infallible>;

impl ReplayServer {
    /// Starts a server playing the snapshots under `path` (a file or a directory).
    pub async fn from_path(path: impl AsRef<Path>, config: ReplayConfig) -> Result<ReplayServer> {
        Self::load(&[path], &[] as &[&str], config).await
    }

    /// Starts a server playing snapshot YAML documents given as text.
    pub async fn from_yaml(docs: &[&str], config: ReplayConfig) -> Result<ReplayServer> {
        Self::load(&[] as &[&Path], docs, config).await
    }

    /// Starts a server playing the snapshots under each of `paths` (files or directories) and the
    /// snapshot YAML `documents` given as text.
    pub async fn load(
        paths: &[impl AsRef<Path>],
        documents: &[impl AsRef<str>],
        config: ReplayConfig,
    ) -> Result<ReplayServer> {
        let mut snapshots = Vec::new();
        for path in paths {
            snapshots.extend(snapshot::load(path.as_ref())?.into_iter().map(|(_, s)| s));
        }
        for doc in documents {
            snapshots.push(snapshot::parse(doc.as_ref())?);
        }
        Self::start(snapshots, config).await
    }

    /// Starts a server from one `source`, as the C ABI and uniffi take it: the snapshot YAML text
    /// itself when it contains a newline, otherwise the path of a snapshot file or directory.
    pub async fn from_source(source: &str, config: ReplayConfig) -> Result<ReplayServer> {
        if source.contains('\n') {
            Self::from_yaml(&[source], config).await
        } else if Path::new(source).exists() {
            Self::from_path(source, config).await
        } else {
            Err(Error::config(format!(
                "replay: \"{source}\" is neither a snapshot file or directory nor YAML text \
                 (YAML text contains a newline)"
            )))
        }
    }

    /// Starts a server playing `snapshots`.
    pub async fn start(snapshots: Vec<Snapshot>, config: ReplayConfig) -> Result<ReplayServer> {
        let mut conversations = Vec::new();
        let mut models = Vec::new();
        let mut errors = Vec::new();
        for s in snapshots {
            for m in s.models {
                if !models.contains(&m) {
                    models.push(m);
                }
            }
            for e in s.errors {
                errors.push(ErrorSlot {
                    history: e.messages.as_deref().map(normalize_stored),
                    remaining: e.times,
                    error: e,
                });
            }
            for c in s.conversations {
                conversations.push(normalize_stored(&c.messages));
            }
        }
        if models.is_empty() {
            models.push("replay-model".to_owned());
        }
        let listener = TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Transport,
                    format!("replay: cannot listen on 127.0.0.1:{}: {e}", config.port),
                )
            })?;
        let addr = listener.local_addr().map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("replay: no local address: {e}"),
            )
        })?;
        let state = Arc::new(State {
            config,
            conversations,
            models,
            errors: Mutex::new(errors),
            requests: Mutex::default(),
            request_count: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            completed_streams: AtomicU64::new(0),
            disconnect_notify: Notify::new(),
        });
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(accept_loop(listener, state.clone(), shutdown.clone()));
        Ok(ReplayServer {
            addr,
            state,
            shutdown,
            task: Mutex::new(Some(task)),
        })
    }

    /// `http://127.0.0.1:PORT` (the Anthropic and Azure base URL).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/v1` (the OpenAI base URL).
    pub fn openai_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The requests received (when recording).
    pub fn requests(&self) -> Vec<ReplayRequest> {
        lock(&self.state.requests).clone()
    }

    /// The requests received, as a JSON array of [`ReplayRequest::to_json`].
    pub fn requests_json(&self) -> Value {
        Value::Array(self.requests().iter().map(ReplayRequest::to_json).collect())
    }

    /// How many requests arrived.
    pub fn request_count(&self) -> u64 {
        self.state.request_count.load(Ordering::SeqCst)
    }

    /// How many streams the client closed before their end.
    pub fn disconnects(&self) -> u64 {
        self.state.disconnects.load(Ordering::SeqCst)
    }

    /// How many streams were sent to the end.
    pub fn completed_streams(&self) -> u64 {
        self.state.completed_streams.load(Ordering::SeqCst)
    }

    /// Waits until the client has closed at least `n` streams early.
    pub async fn wait_disconnects(&self, n: u64) {
        loop {
            let notified = self.state.disconnect_notify.notified();
            if self.disconnects() >= n {
                return;
            }
            notified.await;
        }
    }

    /// Waits like [`wait_disconnects`](Self::wait_disconnects), but fails (an
    /// [`ErrorKind::Config`] error) when the server is stopped first, so that no waiter outlives it.
    pub async fn try_wait_disconnects(&self, n: u64) -> Result<()> {
        self.running()?;
        tokio::select! {
            () = self.wait_disconnects(n) => Ok(()),
            () = self.shutdown.cancelled() => Err(Error::config("the replay server was stopped")),
        }
    }

    /// Whether [`stop`](Self::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// The server, or once it is stopped an [`ErrorKind::Config`] error saying so: for a binding's
    /// handle, which outlives the server it shares.
    pub fn running(&self) -> Result<&Self> {
        if self.is_stopped() {
            return Err(Error::config("the replay server is stopped"));
        }
        Ok(self)
    }

    /// Stops the server and closes its connections (later calls return at once). Works on a shared
    /// server: every holder sees it stopped.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        let task = lock(&self.task).take();
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, shutdown: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            a = listener.accept() => a,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        connections.spawn(async move {
            let service = service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(state, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
    connections.shutdown().await;
}

fn full(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_str(content_type)
            .unwrap_or(hyper::header::HeaderValue::from_static("application/json")),
    );
    r
}

fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    full(status, "application/json", v.to_string())
}

/// Which API a path belongs to.
enum Route {
    Call(WireFormat),
    Models,
    Health,
}

fn route(path: &str) -> Option<Route> {
    let p = path.trim_end_matches('/');
    if p.ends_with("/chat/completions") {
        Some(Route::Call(WireFormat::OpenAiChat))
    } else if p.ends_with("/responses") {
        Some(Route::Call(WireFormat::OpenAiResponses))
    } else if p.ends_with("/messages") {
        Some(Route::Call(WireFormat::AnthropicMessages))
    } else if p.ends_with("/models") {
        Some(Route::Models)
    } else if p == "/health" {
        Some(Route::Health)
    } else {
        None
    }
}

fn openai_error(message: &str, kind: &str, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let n = state.request_count.fetch_add(1, Ordering::SeqCst) + 1;
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let anthropic_client = headers.iter().any(|(k, _)| k == "anthropic-version");
    let bytes = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if state.config.record {
        lock(&state.requests).push(ReplayRequest {
            method: method.clone(),
            path: if query.is_empty() {
                path.clone()
            } else {
                format!("{path}?{query}")
            },
            headers: headers.clone(),
            body: body.clone(),
        });
    }
    let needs_version = path.starts_with("/openai/")
        && !path.starts_with("/openai/v1/")
        && !query.split('&').any(|kv| kv.starts_with("api-version="));
    if needs_version {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": {"code": "MissingApiVersionParameter",
                              "message": "The api-version query parameter (?api-version=) is required for all requests."}}),
        );
    }
    let mut response = match (method.as_str(), route(&path)) {
        ("GET", Some(Route::Health)) => full(StatusCode::OK, "text/plain", "ok"),
        ("GET", Some(Route::Models)) => match scripted_error(&state, &[], true) {
            Some(err) => {
                let format = if anthropic_client {
                    WireFormat::AnthropicMessages
                } else {
                    WireFormat::OpenAiChat
                };
                error_response(&state, format, &err, false, &headers)
            }
            None => models(&state, anthropic_client),
        },
        ("POST", Some(Route::Call(format))) => call(&state, format, &body, &headers),
        _ => json_response(
            StatusCode::NOT_FOUND,
            &openai_error(
                &format!("replay: no route for {method} {path}"),
                "invalid_request_error",
                Some("not_found"),
            ),
        ),
    };
    if let Ok(v) = hyper::header::HeaderValue::from_str(&format!("req_replay_{n}")) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

fn models(state: &State, anthropic: bool) -> Response<Body> {
    let body = if anthropic {
        let data: Vec<Value> = state
            .models
            .iter()
            .map(|m| {
                json!({"type": "model", "id": m, "display_name": m,
                            "created_at": "2025-01-01T00:00:00Z"})
            })
            .collect();
        json!({"data": data, "has_more": false,
               "first_id": state.models.first(), "last_id": state.models.last()})
    } else {
        let data: Vec<Value> = state
            .models
            .iter()
            .map(|m| {
                json!({"id": m, "object": "model", "created": 1_727_346_178u64,
                            "owned_by": "modelport-replay"})
            })
            .collect();
        json!({"object": "list", "data": data})
    };
    json_response(StatusCode::OK, &body)
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// The request's history in matching form, and its size in characters (for the usage estimate).
fn request_history(format: WireFormat, body: &Value) -> (Vec<Norm>, usize) {
    let mut out = Vec::new();
    let mut chars = 0usize;
    let mut count = |s: &str| chars += s.chars().count();
    match format {
        WireFormat::OpenAiChat => {
            for m in body["messages"].as_array().into_iter().flatten() {
                let content = text_of(&m["content"]);
                count(&content);
                match m["role"].as_str() {
                    Some("user") => out.push(Norm::User(content.trim().to_owned())),
                    Some("assistant") => {
                        let calls = m["tool_calls"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|c| {
                                let args = c["function"]["arguments"].as_str().unwrap_or("");
                                (
                                    c["id"].as_str().unwrap_or("").to_owned(),
                                    c["function"]["name"].as_str().unwrap_or("").to_owned(),
                                    args_value(args),
                                )
                            })
                            .collect();
                        out.push(Norm::Assistant {
                            content: content.trim().to_owned(),
                            calls,
                        });
                    }
                    Some("tool") => out.push(Norm::Tool {
                        call_id: m["tool_call_id"].as_str().unwrap_or("").to_owned(),
                        content: content.trim().to_owned(),
                    }),
                    _ => {}
                }
            }
        }
        WireFormat::OpenAiResponses => {
            if let Some(text) = body["input"].as_str() {
                count(text);
                out.push(Norm::User(text.trim().to_owned()));
            }
            for item in body["input"].as_array().into_iter().flatten() {
                match (item["type"].as_str(), item["role"].as_str()) {
                    (Some("function_call"), _) => {
                        let call = (
                            item["call_id"].as_str().unwrap_or("").to_owned(),
                            item["name"].as_str().unwrap_or("").to_owned(),
                            args_value(item["arguments"].as_str().unwrap_or("")),
                        );
                        match out.last_mut() {
                            Some(Norm::Assistant { calls, .. }) => calls.push(call),
                            _ => out.push(Norm::Assistant {
                                content: String::new(),
                                calls: vec![call],
                            }),
                        }
                    }
                    (Some("function_call_output"), _) => {
                        let content = text_of(&item["output"]);
                        count(&content);
                        out.push(Norm::Tool {
                            call_id: item["call_id"].as_str().unwrap_or("").to_owned(),
                            content: content.trim().to_owned(),
                        });
                    }
                    (None | Some("message"), Some(role)) => {
                        let content = text_of(&item["content"]);
                        count(&content);
                        match role {
                            "user" => out.push(Norm::User(content.trim().to_owned())),
                            "assistant" => out.push(Norm::Assistant {
                                content: content.trim().to_owned(),
                                calls: vec![],
                            }),
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
        }
        WireFormat::AnthropicMessages => {
            for m in body["messages"].as_array().into_iter().flatten() {
                let role = m["role"].as_str().unwrap_or("");
                let blocks: Vec<Value> = match &m["content"] {
                    Value::String(s) => vec![json!({"type": "text", "text": s})],
                    Value::Array(a) => a.clone(),
                    _ => vec![],
                };
                let mut text = String::new();
                let mut calls = Vec::new();
                for b in &blocks {
                    match b["type"].as_str() {
                        // Same-role turns are merged on this wire: each user text block was a turn.
                        Some("text") if role == "user" => {
                            let t = b["text"].as_str().unwrap_or("");
                            count(t);
                            out.push(Norm::User(t.trim().to_owned()));
                        }
                        Some("text") => text.push_str(b["text"].as_str().unwrap_or("")),
                        Some("tool_use") => calls.push((
                            b["id"].as_str().unwrap_or("").to_owned(),
                            b["name"].as_str().unwrap_or("").to_owned(),
                            b["input"].clone(),
                        )),
                        Some("tool_result") => {
                            let content = text_of(&b["content"]);
                            count(&content);
                            out.push(Norm::Tool {
                                call_id: b["tool_use_id"].as_str().unwrap_or("").to_owned(),
                                content: content.trim().to_owned(),
                            });
                        }
                        _ => {}
                    }
                }
                count(&text);
                if role == "assistant" {
                    out.push(Norm::Assistant {
                        content: text.trim().to_owned(),
                        calls,
                    });
                }
            }
        }
    }
    renumber(&mut out);
    let system = match format {
        WireFormat::OpenAiResponses => text_of(&body["instructions"]),
        WireFormat::AnthropicMessages => text_of(&body["system"]),
        WireFormat::OpenAiChat => String::new(),
    };
    chars += system.chars().count();
    (out, chars)
}

fn estimate(chars: usize) -> u64 {
    (chars as u64).div_ceil(4).max(1)
}

fn call(
    state: &Arc<State>,
    format: WireFormat,
    body: &Value,
    headers: &[(String, String)],
) -> Response<Body> {
    let (history, input_chars) = request_history(format, body);
    let stream = body["stream"] == Value::Bool(true);
    if let Some(err) = scripted_error(state, &history, false) {
        return error_response(state, format, &err, stream, headers);
    }
    if let Some(window) = state.config.context_window {
        let tokens = (body.to_string().len() as u64).div_ceil(4);
        if tokens > window {
            return context_length_error(format, tokens, window);
        }
    }
    let fallback = state.config.fallback.as_ref().map(|text| Norm::Assistant {
        content: text.clone(),
        calls: Vec::new(),
    });
    let Some(Norm::Assistant { content, calls }) =
        find_answer(&state.conversations, &history).or(fallback.as_ref())
    else {
        let message = explain_mismatch(&state.conversations, &history);
        let mut r = error_body(format, 500, "replay_no_match", &message);
        r.headers_mut().insert(
            "x-should-retry",
            hyper::header::HeaderValue::from_static("false"),
        );
        return r;
    };
    let tool_calls: Vec<ToolCall> = calls
        .iter()
        .map(|(id, name, args)| ToolCall {
            id: id.clone(),
            name: name.clone(),
            arguments: args.to_string(),
        })
        .collect();
    let output_chars = content.chars().count()
        + tool_calls
            .iter()
            .map(|c| c.arguments.len() + c.name.len())
            .sum::<usize>();
    let answer = Answer {
        text: content.clone(),
        reasoning: None,
        tool_calls,
        usage: Usage {
            input_tokens: estimate(input_chars),
            output_tokens: estimate(output_chars),
            ..Default::default()
        },
        finish: None,
        model: body["model"].as_str().unwrap_or("replay-model").to_owned(),
    };
    if stream {
        let include_usage = format != WireFormat::OpenAiChat
            || body["stream_options"]["include_usage"] == Value::Bool(true);
        let events = stream_events(format, &answer, state.config.delta_chars, include_usage);
        sse(state, events)
    } else {
        json_response(StatusCode::OK, &json_body(format, &answer))
    }
}

fn scripted_error(state: &State, history: &[Norm], list_models: bool) -> Option<ScriptedError> {
    let mut errors = lock(&state.errors);
    let slot = errors.iter_mut().find(|s| {
        s.error.list_models == list_models
            && s.remaining != Some(0)
            && s.history.as_deref().is_none_or(|h| h == history)
    })?;
    if let Some(r) = &mut slot.remaining {
        *r -= 1;
    }
    Some(slot.error.clone())
}

fn anthropic_type(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

fn openai_type(status: u16) -> &'static str {
    match status {
        401 => "invalid_request_error",
        429 => "rate_limit_exceeded",
        400..=499 => "invalid_request_error",
        _ => "server_error",
    }
}

/// The provider's own answer to a prompt longer than the window (OpenAI's and Anthropic's texts).
fn context_length_error(format: WireFormat, tokens: u64, window: u64) -> Response<Body> {
    let body = match format {
        WireFormat::AnthropicMessages => json!({"type": "error", "error": {
            "type": "invalid_request_error",
            "message": format!("prompt is too long: {tokens} tokens > {window} maximum")},
            "request_id": "req_replay"}),
        _ => json!({"error": {
            "message": format!("This model's maximum context length is {window} tokens. However, \
                your messages resulted in {tokens} tokens. Please reduce the length of the messages."),
            "type": "invalid_request_error", "param": "messages",
            "code": "context_length_exceeded"}}),
    };
    json_response(StatusCode::BAD_REQUEST, &body)
}

fn error_body(format: WireFormat, status: u16, code: &str, message: &str) -> Response<Body> {
    let status_code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match format {
        WireFormat::AnthropicMessages => json!({"type": "error",
            "error": {"type": code, "message": message}, "request_id": "req_replay"}),
        _ => openai_error(message, code, Some(code)),
    };
    json_response(status_code, &body)
}

fn error_response(
    state: &Arc<State>,
    format: WireFormat,
    err: &ScriptedError,
    stream: bool,
    headers: &[(String, String)],
) -> Response<Body> {
    let status = err.status.unwrap_or(if err.stage == ErrorStage::Http {
        500
    } else {
        200
    });
    let mut message = err
        .message
        .clone()
        .unwrap_or_else(|| format!("replay: scripted error {status}"));
    if err.echo_headers {
        let echoed: Vec<String> = headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        message.push_str(&format!(" (request headers: {})", echoed.join("; ")));
    }
    if err.stage == ErrorStage::Http || !stream {
        let code = err.code.clone().unwrap_or_else(|| match format {
            WireFormat::AnthropicMessages => anthropic_type(status).to_owned(),
            _ => openai_type(status).to_owned(),
        });
        let mut r = error_body(format, status, &code, &message);
        let h = r.headers_mut();
        let mut set = |name: &'static str, value: String| {
            if let Ok(v) = hyper::header::HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        };
        if let Some(s) = err.retry_after_seconds {
            set("retry-after", format!("{s}"));
        }
        if let Some(ms) = err.retry_after_ms {
            set("retry-after-ms", format!("{ms}"));
        }
        if let Some(raw) = &err.retry_after {
            set("retry-after", raw.clone());
        }
        if let Some(retry) = err.should_retry {
            set("x-should-retry", retry.to_string());
        }
        return r;
    }
    let code = err.code.clone().unwrap_or_else(|| match format {
        WireFormat::AnthropicMessages => "overloaded_error".to_owned(),
        _ => "server_error".to_owned(),
    });
    sse(state, mid_stream_error(format, err.stage, &code, &message))
}

/// A 200 stream that fails: right after it starts, or after some text.
fn mid_stream_error(
    format: WireFormat,
    stage: ErrorStage,
    code: &str,
    message: &str,
) -> Vec<String> {
    let partial = Answer::text("Partial answer that will not be finished");
    let mut events = stream_events(format, &partial, 8, false);
    let keep = match (format, stage) {
        (WireFormat::OpenAiChat, ErrorStage::BeforeOutput) => 1,
        (WireFormat::OpenAiChat, _) => 3,
        (WireFormat::OpenAiResponses, ErrorStage::BeforeOutput) => 2,
        (WireFormat::OpenAiResponses, _) => 6,
        (WireFormat::AnthropicMessages, ErrorStage::BeforeOutput) => 1,
        (WireFormat::AnthropicMessages, _) => 5,
    };
    events.truncate(keep);
    let err = match format {
        WireFormat::OpenAiChat => format!("data: {}\n\n", openai_error(message, code, Some(code))),
        WireFormat::OpenAiResponses => format!(
            "event: error\ndata: {}\n\n",
            json!({"type": "error", "code": code, "message": message, "param": null,
                   "sequence_number": keep})
        ),
        WireFormat::AnthropicMessages => format!(
            "event: error\ndata: {}\n\n",
            json!({"type": "error", "error": {"type": code, "message": message}})
        ),
    };
    events.push(err);
    events
}

/// A streamed response; records whether the client closed it before the end.
fn sse(state: &Arc<State>, events: Vec<String>) -> Response<Body> {
    let (tx, rx) = mpsc::channel::<Bytes>(8);
    let delay = state.config.chunk_delay;
    let events = if state.config.whole_stream {
        vec![events.concat()]
    } else {
        events
    };
    let state = state.clone();
    tokio::spawn(async move {
        for (i, e) in events.into_iter().enumerate() {
            if let (Some(d), true) = (delay, i > 0) {
                tokio::select! {
                    _ = tx.closed() => break,
                    _ = tokio::time::sleep(d) => {}
                }
            }
            if tx.send(Bytes::from(e)).await.is_err() {
                break;
            }
        }
        if tx.is_closed() {
            state.disconnects.fetch_add(1, Ordering::SeqCst);
            state.disconnect_notify.notify_waiters();
        } else {
            state.completed_streams.fetch_add(1, Ordering::SeqCst);
        }
    });
    let body = StreamBody::new(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    }));
    let mut r = Response::new(BodyExt::boxed(body));
    let h = r.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/event-stream"),
    );
    h.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_config_from_json() {
        let c = ReplayConfig::from_json(
            r#"{"port": 8123, "deltaChars": 0, "chunkDelayMs": 2.5, "record": false, "fallback": "ok"}"#,
        )
        .unwrap();
        assert_eq!(c.port, 8123);
        assert_eq!(c.delta_chars, 1, "deltaChars below 1 is 1");
        assert_eq!(c.chunk_delay, Some(Duration::from_micros(2500)));
        assert!(!c.record);
        assert_eq!(c.fallback.as_deref(), Some("ok"));

        let c = ReplayConfig::from_json(r#"{"delta_chars": 8, "chunk_delay_ms": 0}"#).unwrap();
        assert_eq!((c.delta_chars, c.chunk_delay), (8, None));

        for blank in [
            "",
            "{}",
            r#"{"port": null, "record": null, "chunkDelayMs": null}"#,
        ] {
            let c = ReplayConfig::from_json(blank).unwrap();
            let d = ReplayConfig::default();
            assert_eq!(
                (c.port, c.delta_chars, c.chunk_delay, c.record, c.fallback),
                (d.port, d.delta_chars, d.chunk_delay, d.record, d.fallback),
                "{blank}"
            );
        }
    }

    #[test]
    fn replay_config_errors_name_the_field() {
        for (json, path) in [
            (r#"{"port": 70000}"#, "port"),
            (r#"{"chunkDelayMs": -5}"#, "chunkDelayMs"),
            (r#"{"chunkDelayMs": 1e300}"#, "chunkDelayMs"),
            (r#"{"deltaChars": "8"}"#, "deltaChars"),
            (r#"{"speed": 1}"#, "speed"),
        ] {
            let e = ReplayConfig::from_json(json).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(
                e.message()
                    .starts_with(&format!("invalid replay options at `{path}`:")),
                "{json}: {}",
                e.message()
            );
        }
    }

    fn quickstart() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/replay/quickstart.yaml")
    }

    #[tokio::test]
    async fn load_plays_every_path_and_document() {
        let doc = "models: [from-text]\n";
        let server = ReplayServer::load(&[quickstart()], &[doc], ReplayConfig::default())
            .await
            .unwrap();
        assert_eq!(server.state.models, ["YOUR-DEPLOYMENT-NAME", "from-text"]);
        assert_eq!(server.state.conversations.len(), 1);
    }

    #[tokio::test]
    async fn from_source_takes_a_path_or_yaml_text() {
        let path = quickstart();
        let path = path.to_str().unwrap();
        let server = ReplayServer::from_source(path, ReplayConfig::default())
            .await
            .unwrap();
        assert_eq!(server.state.models, ["YOUR-DEPLOYMENT-NAME"]);
        let server = ReplayServer::from_source("models: [from-text]\n", ReplayConfig::default())
            .await
            .unwrap();
        assert_eq!(server.state.models, ["from-text"]);
        let e = ReplayServer::from_source("/no/such/file.yaml", ReplayConfig::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(
            e.message()
                .contains("neither a snapshot file or directory nor YAML text"),
            "{}",
            e.message()
        );
    }

    #[tokio::test]
    async fn a_shared_server_stops_for_every_holder() {
        let server = ReplayServer::from_yaml(&["models: [m]\n"], ReplayConfig::default())
            .await
            .unwrap();
        let server = Arc::new(server);
        assert!(!server.is_stopped() && server.running().is_ok());
        let waiter = tokio::spawn({
            let server = server.clone();
            async move { server.try_wait_disconnects(1).await }
        });
        server.stop().await;
        assert!(server.is_stopped());
        let e = server.running().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert_eq!(e.message(), "the replay server is stopped");
        let e = waiter.await.unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains("stopped"), "{}", e.message());
        assert!(
            tokio::net::TcpStream::connect(server.addr()).await.is_err(),
            "no longer listening"
        );
    }

    #[test]
    fn a_request_as_json_has_its_headers_as_an_object() {
        let request = ReplayRequest {
            method: "POST".to_owned(),
            path: "/v1/responses?x=1".to_owned(),
            headers: [("a", "1"), ("b", "2"), ("a", "3")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .to_vec(),
            body: json!({"k": 1}),
        };
        assert_eq!(
            request.to_json(),
            json!({"method": "POST", "path": "/v1/responses?x=1", "headers": {"a": "3", "b": "2"},
                   "body": {"k": 1}})
        );
    }
}
