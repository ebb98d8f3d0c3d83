//! The default transport: reqwest over rustls (ring crypto, the platform's certificate store, loaded
//! at the first HTTPS handshake), one connection pool per Client, HTTPS_PROXY / HTTP_PROXY / NO_PROXY
//! honoured from the environment.
//! Dropping a response body closes its connection instead of draining it.

use std::error::Error as StdError;
use std::sync::Arc;

use std::sync::OnceLock;

use futures::StreamExt;
use futures::future::BoxFuture;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_platform_verifier::Verifier;

use super::{HttpRequest, HttpResponse, Timeouts, Transport};
use crate::error::{Error, ErrorKind, Result, TimeoutKind};

/// The reqwest transport.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    connect_timeout: std::time::Duration,
}

/// The platform's certificate verifier, built at the first HTTPS handshake of the process and then
/// shared: loading the system trust store costs milliseconds, which a Client for a local server (or a
/// process that makes many clients) should not pay.
#[derive(Debug)]
struct LazyPlatformVerifier {
    provider: Arc<CryptoProvider>,
}

static PLATFORM_VERIFIER: OnceLock<Result<Arc<Verifier>, rustls::Error>> = OnceLock::new();

impl LazyPlatformVerifier {
    fn verifier(&self) -> Result<&Arc<Verifier>, rustls::Error> {
        PLATFORM_VERIFIER
            .get_or_init(|| Verifier::new(self.provider.clone()).map(Arc::new))
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl ServerCertVerifier for LazyPlatformVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn tls_config() -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(LazyPlatformVerifier {
        provider: provider.clone(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(ErrorKind::Transport, format!("could not set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
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

/// The HTTP client of MCP servers over Streamable HTTP: the same TLS set-up as model calls (the
/// platform's roots, ring), no overall timeout (a server's SSE stream stays open).
pub(crate) fn mcp_http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config()?)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("could not build the HTTP client: {}", chain(&e)),
            )
        })
}

/// The blocking HTTP client of the OTLP exporter (it sends from its own thread): the same TLS
/// set-up as model calls. Built on a thread of its own: reqwest refuses to build (or drop) a
/// blocking client inside an async runtime, where applications usually set tracing up.
#[cfg(feature = "otel")]
pub(crate) fn blocking_http_client() -> Result<reqwest::blocking::Client> {
    let tls = tls_config()?;
    std::thread::spawn(move || {
        reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(tls)
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Transport,
                    format!("could not build the HTTP client: {}", chain(&e)),
                )
            })
    })
    .join()
    .map_err(|_| Error::new(ErrorKind::Transport, "could not build the HTTP client"))?
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

/// A connection failure that names the URL and what to check: the certificate for a TLS failure,
/// the local server for a refused connection on this machine.
pub(crate) fn connect_error(url: &str, cause: &str) -> Error {
    let lower = cause.to_ascii_lowercase();
    if lower.contains("certificate") || lower.contains("handshake") || lower.contains("tls") {
        return Error::new(
            ErrorKind::Transport,
            format!(
                "TLS with {url} failed: {cause}. The server's certificate is not trusted by this \
                 system's roots (install a private CA in the system trust store, or point \
                 SSL_CERT_FILE at a PEM file holding it), or the server does not speak TLS (a local \
                 server usually wants http://)"
            ),
        );
    }
    let mut message = format!("could not connect to {url}: {cause}");
    if is_local(url) && lower.contains("refused") {
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
        // Our messages name the URL once; reqwest's would repeat it.
        let e = e.without_url();
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
        let (parts, body) = request.into_parts();
        let url = parts.uri.to_string();
        let builder = self
            .client
            .request(parts.method, &url)
            .headers(parts.headers)
            .body(body);
        let this = self.clone();
        Box::pin(async move {
            let mut response = builder
                .send()
                .await
                .map_err(|e| this.map_send_error(e, &url))?;
            let status = response.status().as_u16();
            let headers = std::mem::take(response.headers_mut());
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
        let e = connect_error(
            "https://127.0.0.1:8443/v1/chat/completions",
            "invalid peer certificate: UnknownIssuer",
        );
        assert!(
            e.message().starts_with("TLS with https://127.0.0.1:8443"),
            "{}",
            e.message()
        );
        assert!(!e.message().contains("ollama"));
    }

    #[test]
    fn the_transport_builds_with_rustls_and_ring() {
        ReqwestTransport::new(&Timeouts::default()).unwrap();
    }
}
#[cfg(test)]
mod timing {
    #[test]
    #[ignore = "a measurement: cargo test --release -p modelport client_creation_cost -- --ignored --nocapture"]
    fn client_creation_cost() {
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let _ = super::tls_config().unwrap();
            let tls = t.elapsed();
            let t = std::time::Instant::now();
            let _ = super::ReqwestTransport::new(&super::Timeouts::default()).unwrap();
            eprintln!("tls config {tls:?}, whole transport {:?}", t.elapsed());
        }
    }
}
