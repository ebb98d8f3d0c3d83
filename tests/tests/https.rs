//! HTTPS that succeeds: a loopback TLS server whose certificate comes from a root made for this test
//! (at run time), trusted the way a user trusts a private root, through `SSL_CERT_FILE`. The platform
//! verifier reads the trust store once per process, so each case runs in a child process (this test
//! binary, running `https_case`) with its own environment. A real session sends turns over HTTP/1.1
//! and over HTTP/2 (chosen by ALPN), streaming and not; with `SSL_CERT_FILE` naming another root, the
//! same turns are refused before anything is sent.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use modelport::testing::Answer;
use modelport::wire::WireFormat;
use modelport::wire::encode::{json_body, stream_events};
use modelport::{Client, ClientOptions, ErrorKind, ProviderConfig, RetryPolicy, SessionConfig};
use modelport_e2e::{Recorder, child_case, run_child};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;

/// The base URLs of the HTTP/1.1-only and the HTTP/2 server, for the child.
const URLS: &str = "MODELPORT_HTTPS_TEST_URLS";
/// "trusted" or "refused": what the child expects of every turn.
const EXPECT: &str = "MODELPORT_HTTPS_TEST_EXPECT";

const TEXT: &str = "Over TLS: é and 🌍 arrive whole.";

/// A root made for this test, and a server certificate for localhost and 127.0.0.1 that it signed.
struct Pki {
    root_pem: String,
    leaf: CertificateDer<'static>,
    leaf_key: PrivatePkcs8KeyDer<'static>,
}

fn make_pki() -> Pki {
    let root_key = KeyPair::generate().expect("root key");
    let mut root = CertificateParams::new(Vec::new()).expect("root params");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    root.distinguished_name
        .push(DnType::CommonName, "modelport test root");
    root.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let root_pem = root.self_signed(&root_key).expect("root certificate").pem();
    let issuer = Issuer::new(root, root_key);
    let leaf_key = KeyPair::generate().expect("leaf key");
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .expect("leaf params");
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let leaf = leaf
        .signed_by(&leaf_key, &issuer)
        .expect("leaf certificate");
    Pki {
        root_pem,
        leaf: leaf.der().clone(),
        leaf_key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()),
    }
}

/// What the server saw of one request.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    alpn: Option<String>,
    version: Version,
    path: String,
    authorization: Option<String>,
    streaming: bool,
}

type Log = Arc<Mutex<Vec<Seen>>>;
type Body = StreamBody<futures::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

/// Starts a TLS server on 127.0.0.1 offering `alpn`; it serves HTTP/2 when the client chose "h2" and
/// HTTP/1.1 otherwise. Returns its port and what it saw.
async fn serve(pki: &Pki, alpn: &[&[u8]]) -> (u16, Log) {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![pki.leaf.clone()],
        PrivateKeyDer::Pkcs8(pki.leaf_key.clone_key()),
    )
    .expect("server config");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let log = Log::default();
    let seen = log.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, log) = (acceptor.clone(), log.clone());
            tokio::spawn(async move {
                // A client that does not trust the certificate ends the handshake here.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let alpn = tls
                    .get_ref()
                    .1
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned());
                let h2 = alpn.as_deref() == Some("h2");
                let service =
                    hyper::service::service_fn(move |req| respond(req, alpn.clone(), log.clone()));
                let io = TokioIo::new(tls);
                let _ = if h2 {
                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(io, service)
                        .await
                } else {
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await
                };
            });
        }
    });
    (port, seen)
}

/// A Chat Completions answer: SSE in one frame per event when the request streams, JSON otherwise.
async fn respond(
    req: Request<Incoming>,
    alpn: Option<String>,
    log: Log,
) -> Result<Response<Body>, hyper::Error> {
    let version = req.version();
    let path = req.uri().path().to_owned();
    let authorization = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = req.into_body().collect().await?.to_bytes();
    let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let streaming = request["stream"] == true;
    log.lock().expect("log").push(Seen {
        alpn,
        version,
        path,
        authorization,
        streaming,
    });
    let answer = Answer {
        text: TEXT.into(),
        usage: modelport::Usage {
            input_tokens: 3,
            output_tokens: 5,
            ..Default::default()
        },
        ..Default::default()
    };
    let (content_type, pieces) = if streaming {
        (
            "text/event-stream",
            stream_events(WireFormat::OpenAiChat, &answer, 5, true),
        )
    } else {
        (
            "application/json",
            vec![json_body(WireFormat::OpenAiChat, &answer).to_string()],
        )
    };
    let frames: Vec<Result<Frame<Bytes>, Infallible>> = pieces
        .into_iter()
        .map(|p| Ok(Frame::data(Bytes::from(p))))
        .collect();
    Ok(Response::builder()
        .header("content-type", content_type)
        .body(StreamBody::new(futures::stream::iter(frames)))
        .expect("response"))
}

/// Runs `https_case` in a child process that trusts the roots in `roots` (and nothing else).
async fn run_case(roots: &Path, urls: &str, expect: &str) {
    let mut child = child_case("https_case", &["SSL_CERT_DIR"]);
    child
        .env("SSL_CERT_FILE", roots)
        .env(URLS, urls)
        .env(EXPECT, expect);
    run_child(child, &format!("the {expect} case")).await;
}

#[tokio::test]
async fn https_with_a_root_from_ssl_cert_file() {
    let pki = make_pki();
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("https-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let trusted = dir.join("root.pem");
    std::fs::write(&trusted, &pki.root_pem).expect("write the root");
    let other = dir.join("other-root.pem");
    std::fs::write(&other, make_pki().root_pem).expect("write another root");

    let (h1_port, h1_seen) = serve(&pki, &[b"http/1.1"]).await;
    let (h2_port, h2_seen) = serve(&pki, &[b"h2", b"http/1.1"]).await;
    let urls = format!("https://localhost:{h1_port}/v1 https://localhost:{h2_port}/v1");

    run_case(&trusted, &urls, "trusted").await;
    for (seen, alpn, version) in [
        (&h1_seen, "http/1.1", Version::HTTP_11),
        (&h2_seen, "h2", Version::HTTP_2),
    ] {
        let expected: Vec<Seen> = [false, true]
            .map(|streaming| Seen {
                alpn: Some(alpn.to_owned()),
                version,
                path: "/v1/chat/completions".to_owned(),
                authorization: Some("Bearer sk-https-test".to_owned()),
                streaming,
            })
            .into();
        assert_eq!(*seen.lock().expect("log"), expected);
    }

    // The same certificate under a root the child does not trust: refused, nothing is sent.
    run_case(&other, &urls, "refused").await;
    assert_eq!(h1_seen.lock().expect("log").len(), 2);
    assert_eq!(h2_seen.lock().expect("log").len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The turns of one case, in the child process `run_case` starts.
#[tokio::test]
#[ignore = "run by https_with_a_root_from_ssl_cert_file, in a child process"]
async fn https_case() {
    let (Ok(urls), Ok(expect)) = (std::env::var(URLS), std::env::var(EXPECT)) else {
        eprintln!("https_case: nothing to do outside https_with_a_root_from_ssl_cert_file");
        return;
    };
    for url in urls.split(' ') {
        for streaming in [false, true] {
            let label = format!("{url} streaming={streaming}");
            let client = Client::new(ClientOptions::default().with_retry(RetryPolicy::none()))
                .expect("client");
            let session = client
                .create_session(
                    SessionConfig::new(
                        "m",
                        ProviderConfig::openai(url).with_api_key("sk-https-test"),
                    )
                    .with_streaming(streaming),
                )
                .await
                .expect("session");
            let rec = Recorder::attach(&session);
            let reply = session
                .send_and_wait("Hello over TLS", Some(Duration::from_secs(20)))
                .await;
            match expect.as_str() {
                "trusted" => {
                    let reply = reply.unwrap_or_else(|e| panic!("{label}: {e}"));
                    assert_eq!(
                        reply
                            .and_then(|e| e.content().map(str::to_owned))
                            .as_deref(),
                        Some(TEXT),
                        "{label}"
                    );
                    rec.check(streaming, &label);
                }
                "refused" => {
                    let e = reply.expect_err(&label);
                    assert_eq!(e.kind(), ErrorKind::Transport, "{label}: {e}");
                    assert!(
                        e.message().contains("invalid peer certificate"),
                        "{label}: {e}"
                    );
                }
                other => panic!("unknown expectation {other}"),
            }
            assert!(client.stop().await.is_empty());
            println!("ok {label}");
        }
    }
}
