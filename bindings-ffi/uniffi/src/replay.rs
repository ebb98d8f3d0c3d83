//! [`ReplayServer`]: the loopback replay provider, for tests and offline use.

use std::sync::Arc;

use modelport::replay::ReplayConfig;
use serde_json::json;

use crate::error::ModelportError;
use crate::run;

/// How to run a replay server.
#[derive(Clone, Debug, Default, uniffi::Record)]
pub struct ReplayOptions {
    /// The port on 127.0.0.1 (none: a free one).
    #[uniffi(default = None)]
    pub port: Option<u16>,
    /// Characters per streamed text delta (none: 200).
    #[uniffi(default = None)]
    pub delta_chars: Option<u32>,
    /// A pause between streamed events, in milliseconds (none: no pause).
    #[uniffi(default = None)]
    pub chunk_delay_ms: Option<u64>,
    /// The text answer to a request no conversation matches (none: an HTTP 500 explaining why).
    #[uniffi(default = None)]
    pub fallback: Option<String>,
    /// The model's context window in tokens: a larger request (its JSON body's bytes / 4) gets the
    /// wire format's context-length error.
    #[uniffi(default = None)]
    pub context_window: Option<u64>,
}

/// A replay provider on 127.0.0.1 playing recorded conversations (Copilot snapshot YAML).
#[derive(Debug, uniffi::Object)]
pub struct ReplayServer {
    inner: Arc<modelport::replay::ReplayServer>,
}

#[uniffi::export(async_runtime = "tokio")]
impl ReplayServer {
    /// Starts a server. `source` is a snapshot YAML file, a directory of them, or the YAML text
    /// itself (any string with a newline).
    #[uniffi::constructor(default(options = None))]
    pub async fn start(
        source: String,
        options: Option<ReplayOptions>,
    ) -> Result<Arc<Self>, ModelportError> {
        let o = options.unwrap_or_default();
        // Core's parser applies the defaults and limits, as for the other bindings.
        let json = json!({
            "port": o.port,
            "deltaChars": o.delta_chars,
            "chunkDelayMs": o.chunk_delay_ms,
            "fallback": o.fallback,
            "contextWindow": o.context_window,
        });
        let config = ReplayConfig::from_json(&json.to_string())?;
        let server =
            run(async move { modelport::replay::ReplayServer::from_source(&source, config).await })
                .await??;
        Ok(Arc::new(ReplayServer {
            inner: Arc::new(server),
        }))
    }

    /// `http://127.0.0.1:PORT` (the base URL for "anthropic" and "azure" providers).
    pub fn url(&self) -> String {
        self.inner.url()
    }

    /// `http://127.0.0.1:PORT/v1` (the base URL for an "openai" provider).
    pub fn openai_url(&self) -> String {
        self.inner.openai_url()
    }

    /// How many requests the server has received.
    pub fn request_count(&self) -> u64 {
        self.inner.request_count()
    }

    /// The requests received so far, as a JSON array of `{method, path, headers, body}`.
    pub fn requests_json(&self) -> String {
        self.inner.requests_json().to_string()
    }

    /// Stops the server and closes its connections.
    pub async fn stop(&self) -> Result<(), ModelportError> {
        let server = self.inner.clone();
        run(async move { server.stop().await }).await
    }
}
