//! The replay provider for JavaScript tests (`modelport/testing`): core's loopback server playing
//! Copilot-snapshot YAML conversations in every wire format.

use modelport::replay::ReplayConfig;
use napi_derive::napi;

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
    /// chunkDelayMs?, record?, fallback?, contextWindow?}`.
    pub json: Option<String>,
}

/// A running replay server.
#[napi]
#[derive(Debug)]
pub struct ReplayServer {
    inner: modelport::replay::ReplayServer,
}

impl ReplayServer {
    /// The server, or a `config` error once it is stopped.
    fn running(&self) -> Result<&modelport::replay::ReplayServer> {
        self.inner.running().into_napi()
    }
}

#[napi]
impl ReplayServer {
    /// Starts a server on 127.0.0.1.
    #[napi(factory)]
    pub async fn start(options: ReplayOptions) -> Result<ReplayServer> {
        let cfg =
            ReplayConfig::from_json(options.json.as_deref().unwrap_or_default()).into_napi()?;
        let (paths, docs) = match (options.path, options.yaml) {
            (Some(path), None) => (vec![path], Vec::new()),
            (None, Some(docs)) => (Vec::new(), docs),
            _ => {
                return Err(config(
                    "ReplayServer.start needs exactly one of `path` (a snapshot file or directory) \
                     or `yaml` (snapshot documents)",
                ));
            }
        };
        let inner = modelport::replay::ReplayServer::load(&paths, &docs, cfg)
            .await
            .into_napi()?;
        Ok(ReplayServer { inner })
    }

    /// `http://127.0.0.1:PORT` (the Anthropic and Azure base URL).
    #[napi(getter)]
    pub fn url(&self) -> String {
        self.inner.url()
    }

    /// `http://127.0.0.1:PORT/v1` (the OpenAI base URL).
    #[napi(getter)]
    pub fn openai_url(&self) -> String {
        self.inner.openai_url()
    }

    /// The port.
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        u32::from(self.inner.addr().port())
    }

    /// The requests received so far, as a JSON array of `{method, path, headers, body}`.
    #[napi]
    pub fn requests(&self) -> Result<String> {
        Ok(self.running()?.requests_json().to_string())
    }

    /// How many requests arrived.
    #[napi(getter)]
    pub fn request_count(&self) -> Result<f64> {
        Ok(self.running()?.request_count() as f64)
    }

    /// How many streams the client closed before their end.
    #[napi(getter)]
    pub fn disconnects(&self) -> Result<f64> {
        Ok(self.running()?.disconnects() as f64)
    }

    /// How many streams were sent to their end.
    #[napi(getter)]
    pub fn completed_streams(&self) -> Result<f64> {
        Ok(self.running()?.completed_streams() as f64)
    }

    /// Resolves once the client has closed at least `n` streams early (or the server stopped).
    #[napi]
    pub async fn wait_disconnects(&self, n: u32) -> Result<()> {
        self.inner
            .try_wait_disconnects(u64::from(n))
            .await
            .into_napi()
    }

    /// Stops the server and closes its connections.
    #[napi]
    pub async fn stop(&self) {
        self.inner.stop().await;
    }
}
