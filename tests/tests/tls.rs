//! HTTPS goes through the platform's certificate verifier, which modelport loads at the first
//! handshake rather than when a Client is made: a server with a certificate no system root vouches
//! for is refused, with an error that says so.

use std::sync::Arc;

use modelport::{Client, ClientOptions, ErrorKind, ProviderConfig, RetryPolicy, SessionConfig};
use modelport_e2e::fixtures;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

#[tokio::test]
async fn a_certificate_no_root_vouches_for_is_refused() {
    let dir = fixtures().join("tls");
    let cert = CertificateDer::from_pem_file(dir.join("cert.pem")).expect("cert");
    let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        // The handshake fails on the client's side: the server sees the alert.
        match acceptor.accept(tcp).await {
            Ok(mut tls) => {
                let _ = tls
                    .write_all(b"HTTP/1.1 500 X\r\ncontent-length: 0\r\n\r\n")
                    .await;
                false
            }
            Err(_) => true,
        }
    });
    let client =
        Client::new(ClientOptions::default().with_retry(RetryPolicy::none())).expect("client");
    let session = client
        .create_session(SessionConfig::new(
            "m",
            ProviderConfig::openai(format!("https://127.0.0.1:{}/v1", addr.port())),
        ))
        .await
        .expect("session");
    let e = session
        .send_and_wait("hi", None)
        .await
        .expect_err("refused");
    assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
    // The verifier (loaded at this first handshake) refused the certificate, and the message says so.
    assert!(
        e.message().contains("invalid peer certificate"),
        "the verifier refused it: {e}"
    );
    assert!(
        e.message().starts_with("TLS with https://127.0.0.1:"),
        "says what to check: {e}"
    );
    assert!(
        e.message().contains("SSL_CERT_FILE"),
        "names the way to trust a private root without touching the system store: {e}"
    );
    assert!(
        server.await.expect("join"),
        "the handshake was refused, nothing was sent"
    );
}
