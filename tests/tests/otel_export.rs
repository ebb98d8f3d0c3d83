//! OpenTelemetry export (feature `otel`) to a real loopback OTLP/HTTP receiver, with content capture
//! on and logs at TRACE: the spans arrive as protobuf, carry the prompt, and neither they nor the
//! logs carry the API key (the provider echoes it back in an error body). A binary of its own: it
//! sets the process-wide subscriber and content capture.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use modelport_e2e::traced_turn::{API_KEY, replay, turn};
use tracing_subscriber::prelude::*;

/// What the receiver got: (path, content type, body) per POST.
type Posts = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A loopback OTLP/HTTP receiver: every POST body, by path.
async fn receiver() -> (String, Posts) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/v1/traces", listener.local_addr().expect("addr"));
    let got: Posts = Arc::default();
    let into = got.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let into = into.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_string();
                    let headers: HashMap<String, String> = head
                        .lines()
                        .skip(1)
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                        .collect();
                    let len: usize = headers
                        .get("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    let path = head
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned();
                    let body = buf[end + 4..end + 4 + len].to_vec();
                    let kind = headers.get("content-type").cloned().unwrap_or_default();
                    into.lock().expect("lock").push((path, kind, body));
                    buf.drain(..end + 4 + len);
                    let _ = sock
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                        .await;
                }
            });
        }
    });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_reach_a_loopback_otlp_receiver_without_secrets_even_with_content_capture() {
    let (url, got) = receiver().await;
    let provider = modelport::otel::otlp_provider(&url, "otel-test-agent").expect("provider");
    let log = Arc::new(Mutex::new(Vec::<u8>::new()));
    let writer = log.clone();
    let subscriber = tracing_subscriber::registry()
        .with(modelport::otel::layer(&provider))
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || Captured(writer.clone()))
                .with_filter(tracing_subscriber::filter::LevelFilter::TRACE),
        );
    // Global: the spans are made on the runtime's worker threads.
    tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
    modelport::logging::set_trace_content(true);
    // The replay server echoes every request header (the key among them) in its 500.
    let server = replay(true).await;
    turn(&server, Arc::default()).await;
    provider.force_flush().expect("flush");
    let received = got.lock().expect("lock").clone();
    assert!(!received.is_empty(), "the receiver got nothing");
    let all: Vec<u8> = received.iter().flat_map(|(_, _, b)| b.clone()).collect();
    for (path, kind, _) in &received {
        assert_eq!(path, "/v1/traces");
        assert_eq!(kind, "application/x-protobuf");
    }
    let has = |needle: &[u8]| all.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"invoke_agent"));
    assert!(has(b"otel-test-agent"));
    assert!(
        has(b"What's the weather in Paris?"),
        "content capture is on"
    );
    assert!(!has(API_KEY.as_bytes()), "the API key reached the exporter");
    // Content capture put the prompt on the chat span.
    assert!(has(b"gen_ai.input.messages"));
    let log = String::from_utf8_lossy(&log.lock().expect("lock")).to_string();
    assert!(log.contains("retry"), "{log}");
    assert!(!log.contains(API_KEY), "the key reached a log line");
}

#[derive(Clone)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
