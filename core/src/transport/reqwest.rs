//! The default transport: reqwest over rustls (ring crypto, the platform's certificate store), one
//! connection pool per Client, HTTPS_PROXY / HTTP_PROXY / NO_PROXY honoured from the environment.
//! Dropping a response body closes its connection instead of draining it.

use std::error::Error as StdError;
use std::sync::Arc;

use futures::StreamExt;
use futures::future::BoxFuture;
use rustls_platform_verifier::BuilderVerifierExt;

use super::{HttpRequest, HttpResponse, Timeouts, Transport};
use crate::error::{Error, ErrorKind, Result, TimeoutKind};

/// The reqwest transport.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    connect_timeout: std::time::Duration,
}

fn tls_config() -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("could not set up TLS (certificate store): {e}"),
            )
        })?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

impl ReqwestTransport {
    /// A transport with its own connection pool, using `timeouts.connect` for connecting.
    pub fn new(timeouts: &Timeouts) -> Result<Self> {
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .connect_timeout(timeouts.connect)
            .tcp_nodelay(true)
            // Below the 5 s keep-alive most servers use (llama.cpp, Node, uvicorn): reusing a
            // connection the server is closing fails the request ("connection closed before message
            // completed"). httpx, under the official Python SDKs, expires idle connections at 5 s too.
            .pool_idle_timeout(std::time::Duration::from_secs(4))
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Transport,
                    format!("could not build the HTTP client: {}", chain(&e)),
                )
            })?;
        Ok(ReqwestTransport {
            client,
            connect_timeout: timeouts.connect,
        })
    }

    /// A transport over an existing reqwest client (its own TLS, proxy and pool settings).
    pub fn from_client(client: reqwest::Client) -> Self {
        ReqwestTransport {
            client,
            connect_timeout: Timeouts::default().connect,
        }
    }
}

/// An error and its causes, joined: reqwest's own message alone is rarely enough.
fn chain(e: &dyn StdError) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Whether `url` points at this machine.
fn is_local(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .is_some_and(|h| {
            matches!(
                h.as_str(),
                "localhost" | "127.0.0.1" | "[::1]" | "::1" | "0.0.0.0"
            )
        })
}

/// A connection failure that names the URL and, for a local server, what to check.
pub(crate) fn connect_error(url: &str, cause: &str) -> Error {
    let mut message = format!("could not connect to {url}: {cause}");
    if is_local(url) {
        let port = url::Url::parse(url)
            .ok()
            .and_then(|u| u.port_or_known_default());
        message.push_str(". Is the local model server running?");
        if port == Some(11434) {
            message
                .push_str(" For Ollama: start it with `ollama serve` (it listens on port 11434).");
        } else {
            message.push_str(
                " For Ollama: `ollama serve` listens on port 11434. For Foundry Local: the port is \
                 dynamic; run `foundry service status` and put the port it shows in base_url.",
            );
        }
    }
    Error::new(ErrorKind::Transport, message)
}

impl ReqwestTransport {
    fn map_send_error(&self, e: reqwest::Error, url: &str) -> Error {
        let detail = chain(&e);
        if e.is_connect() {
            if e.is_timeout() || detail.contains("timed out") {
                return Error::timeout(TimeoutKind::Connect, self.connect_timeout).with_message(
                    format!(
                        "connect timeout after {} ms: could not connect to {url}",
                        self.connect_timeout.as_millis()
                    ),
                );
            }
            return connect_error(url, &detail);
        }
        if e.is_timeout() {
            return Error::timeout(TimeoutKind::FirstByte, self.connect_timeout);
        }
        if e.is_builder() {
            return Error::config(format!("the request to {url} could not be built: {detail}"));
        }
        Error::new(
            ErrorKind::Transport,
            format!("the request to {url} failed: {detail}"),
        )
        .with_source(e)
    }
}

impl Transport for ReqwestTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'static, Result<HttpResponse>> {
        let url = request.url.clone();
        let builder = self
            .client
            .request(request.method, &request.url)
            .headers(request.headers)
            .body(request.body);
        let this = self.clone();
        Box::pin(async move {
            let response = builder
                .send()
                .await
                .map_err(|e| this.map_send_error(e, &url))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response
                .bytes_stream()
                .map(move |r| {
                    r.map_err(|e| {
                        Error::new(
                            ErrorKind::Transport,
                            format!(
                                "the connection broke while reading the response: {}",
                                chain(&e)
                            ),
                        )
                    })
                })
                .boxed();
            Ok(HttpResponse {
                status,
                headers,
                body,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_connection_errors_hint_at_the_server() {
        let e = connect_error(
            "http://localhost:11434/v1/chat/completions",
            "Connection refused",
        );
        assert_eq!(e.kind(), ErrorKind::Transport);
        assert!(
            e.message()
                .contains("http://localhost:11434/v1/chat/completions")
        );
        assert!(e.message().contains("ollama serve"));
        let e = connect_error(
            "http://127.0.0.1:5273/v1/chat/completions",
            "Connection refused",
        );
        assert!(
            e.message().contains("foundry service status"),
            "{}",
            e.message()
        );
        let e = connect_error("https://api.openai.com/v1/chat/completions", "dns error");
        assert!(!e.message().contains("ollama"));
    }

    #[test]
    fn the_transport_builds_with_rustls_and_ring() {
        ReqwestTransport::new(&Timeouts::default()).unwrap();
    }
}
