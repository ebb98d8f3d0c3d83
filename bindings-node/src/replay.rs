//! The replay provider for JavaScript tests (`modelport/testing`): core's loopback server playing
//! Copilot-snapshot YAML conversations in every wire format.

use std::sync::{Arc, Mutex};

use modelport::replay::{ReplayConfig, ReplayRequest};
use napi_derive::napi;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use crate::error::{IntoNapi, Result, config};

/// How to start a [`ReplayServer`].
#[napi(object)]
#[derive(Debug)]
pub struct ReplayOptions {
    /// A snapshot file or a directory of them.
    pub path: Option<String>,
    /// Snapshot YAML documents.
    pub yaml: Option<Vec<String>>,
    /// The server options as JSON, for core's `ReplayConfig::from_json`: `{port?, deltaChars?,
    /// chunkDelayMs?, record?}`.
    pub json: Option<String>,
}

/// A running replay server.
#[napi]
#[derive(Debug)]
pub struct ReplayServer {
    server: Mutex<Option<Arc<modelport::replay::ReplayServer>>>,
    url: String,
    openai_url: String,
    port: u32,
    stopped: Notify,
}

fn request_json(r: &ReplayRequest) -> Value {
    let headers: Map<String, Value> = r
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({"method": r.method, "path": r.path, "headers": headers, "body": r.body})
}

impl ReplayServer {
    fn server(&self) -> Result<Arc<modelport::replay::ReplayServer>> {
        self.server
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| config("the replay server is stopped"))
    }
}

#[napi]
impl ReplayServer {
    /// Starts a server on 127.0.0.1.
    #[napi(factory)]
    pub async fn start(options: ReplayOptions) -> Result<ReplayServer> {
        let cfg =
            ReplayConfig::from_json(options.json.as_deref().unwrap_or_default()).into_napi()?;
        let server = match (options.path, options.yaml) {
            (Some(path), None) => modelport::replay::ReplayServer::from_path(path, cfg).await,
            (None, Some(docs)) => {
                let docs: Vec<&str> = docs.iter().map(String::as_str).collect();
                modelport::replay::ReplayServer::from_yaml(&docs, cfg).await
            }
            _ => {
                return Err(config(
                    "ReplayServer.start needs exactly one of `path` (a snapshot file or directory) \
                     or `yaml` (snapshot documents)",
                ));
            }
        }
        .into_napi()?;
        Ok(ReplayServer {
            url: server.url(),
            openai_url: server.openai_url(),
            port: u32::from(server.addr().port()),
            server: Mutex::new(Some(Arc::new(server))),
            stopped: Notify::new(),
        })
    }

    /// `http://127.0.0.1:PORT` (the Anthropic and Azure base URL).
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// `http://127.0.0.1:PORT/v1` (the OpenAI base URL).
    #[napi(getter)]
    pub fn openai_url(&self) -> String {
        self.openai_url.clone()
    }

    /// The port.
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        self.port
    }

    /// The requests received so far, as a JSON array of `{method, path, headers, body}`.
    #[napi]
    pub fn requests(&self) -> Result<String> {
        let all: Vec<Value> = self.server()?.requests().iter().map(request_json).collect();
        Ok(Value::Array(all).to_string())
    }

    /// How many requests arrived.
    #[napi(getter)]
    pub fn request_count(&self) -> Result<f64> {
        Ok(self.server()?.request_count() as f64)
    }

    /// How many streams the client closed before their end.
    #[napi(getter)]
    pub fn disconnects(&self) -> Result<f64> {
        Ok(self.server()?.disconnects() as f64)
    }

    /// How many streams were sent to their end.
    #[napi(getter)]
    pub fn completed_streams(&self) -> Result<f64> {
        Ok(self.server()?.completed_streams() as f64)
    }

    /// Resolves once the client has closed at least `n` streams early (or the server stopped).
    #[napi]
    pub async fn wait_disconnects(&self, n: u32) -> Result<()> {
        let server = self.server()?;
        tokio::select! {
            () = server.wait_disconnects(u64::from(n)) => Ok(()),
            () = self.stopped.notified() => Err(config("the replay server was stopped")),
        }
    }

    /// Stops the server and closes its connections.
    #[napi]
    pub async fn stop(&self) {
        let server = self.server.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.stopped.notify_waiters();
        if let Some(server) = server {
            // A waiter still holding the server ends with it: dropping it shuts it down.
            if let Ok(server) = Arc::try_unwrap(server) {
                server.stop().await;
            }
        }
    }
}
