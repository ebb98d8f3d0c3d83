//! [`ReplayServer`]: the loopback replay provider, for tests and offline use.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use modelport::replay::ReplayConfig;

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
}

/// A replay provider on 127.0.0.1 playing recorded conversations (Copilot snapshot YAML).
#[derive(uniffi::Object)]
pub struct ReplayServer {
    inner: Mutex<Option<modelport::replay::ReplayServer>>,
    url: String,
    openai_url: String,
}

impl fmt::Debug for ReplayServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayServer")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
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
        let options = options.unwrap_or_default();
        let mut config = ReplayConfig::default();
        if let Some(port) = options.port {
            config.port = port;
        }
        if let Some(n) = options.delta_chars {
            // Core streams at least one character per delta.
            config.delta_chars = usize::try_from(n).unwrap_or(usize::MAX);
        }
        config.chunk_delay = options.chunk_delay_ms.map(Duration::from_millis);
        let server = run(async move {
            if source.contains('\n') {
                modelport::replay::ReplayServer::from_yaml(&[source.as_str()], config).await
            } else if Path::new(&source).exists() {
                modelport::replay::ReplayServer::from_path(&source, config).await
            } else {
                Err(modelport::Error::config(format!(
                    "replay: \"{source}\" is neither a file or directory nor YAML text"
                )))
            }
        })
        .await??;
        Ok(Arc::new(ReplayServer {
            url: server.url(),
            openai_url: server.openai_url(),
            inner: Mutex::new(Some(server)),
        }))
    }

    /// `http://127.0.0.1:PORT` (the base URL for "anthropic" and "azure" providers).
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// `http://127.0.0.1:PORT/v1` (the base URL for an "openai" provider).
    pub fn openai_url(&self) -> String {
        self.openai_url.clone()
    }

    /// How many requests the server has received.
    pub fn request_count(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or(0, modelport::replay::ReplayServer::request_count)
    }

    /// Stops the server and closes its connections.
    pub async fn stop(&self) -> Result<(), ModelportError> {
        let server = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(server) = server {
            run(async move { server.stop().await }).await?;
        }
        Ok(())
    }
}
