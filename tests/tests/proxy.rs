//! HTTP_PROXY / HTTPS_PROXY / NO_PROXY from the environment are honoured, as the official SDKs do.
//! The variables are process-wide and read when a Client is made, so each case runs in a child
//! process (this test binary, running `proxy_case`) with its own environment.

use std::time::Duration;

use modelport::{Client, ClientOptions, ErrorKind, ProviderConfig, RetryPolicy, SessionConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use modelport_e2e::{child_case, run_child};

/// A host that does not resolve: only a proxy can reach it.
const HOST: &str = "provider.modelport.invalid";
/// Names the case a child process runs.
const CASE: &str = "MODELPORT_PROXY_TEST_CASE";

const ANSWER: &str = r#"{"id":"chatcmpl-1","object":"chat.completion","created":0,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"via the proxy"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}}"#;

/// A loopback proxy that reports each request's first line and answers plain-HTTP requests itself
/// (CONNECT is refused).
async fn proxy() -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let line = text.lines().next().unwrap_or_default().to_owned();
                let connect = line.starts_with("CONNECT ");
                let _ = tx.send(line);
                let reply = if connect {
                    "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        .to_owned()
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{ANSWER}",
                        ANSWER.len()
                    )
                };
                let _ = tcp.write_all(reply.as_bytes()).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    (url, rx)
}

/// Runs `proxy_case` for `case` in a child process with exactly these proxy variables set.
async fn run_case(case: &str, vars: &[(&str, &str)]) {
    let mut child = child_case("proxy_case", &[]);
    child.envs(vars.iter().copied()).env(CASE, case);
    run_child(child, &format!("case {case}")).await;
}

#[tokio::test]
async fn proxies_from_the_environment_are_honoured() {
    let (proxy, mut seen) = proxy().await;

    // HTTP_PROXY: the request goes to the proxy in absolute form; the host is never resolved.
    run_case("http", &[("HTTP_PROXY", &proxy)]).await;
    assert_eq!(
        seen.recv().await.expect("the proxy saw a request"),
        format!("POST http://{HOST}/v1/chat/completions HTTP/1.1")
    );

    // HTTPS_PROXY: an https provider is reached through a CONNECT tunnel to the proxy.
    run_case("https", &[("HTTPS_PROXY", &proxy)]).await;
    assert_eq!(
        seen.recv().await.expect("the proxy saw the tunnel request"),
        format!("CONNECT {HOST}:443 HTTP/1.1")
    );

    // NO_PROXY: the host is reached directly (and does not resolve); the proxy sees nothing.
    run_case(
        "no_proxy",
        &[
            ("HTTP_PROXY", &proxy),
            ("HTTPS_PROXY", &proxy),
            ("NO_PROXY", HOST),
        ],
    )
    .await;
    assert!(
        seen.try_recv().is_err(),
        "NO_PROXY kept the request away from the proxy"
    );
}

async fn send(base_url: &str) -> modelport::Result<Option<String>> {
    let client = Client::new(ClientOptions::default().with_retry(RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::default()
    }))?;
    let session = client
        .create_session(SessionConfig::new(
            "m",
            ProviderConfig::openai(base_url).with_api_key("sk-proxy-test"),
        ))
        .await?;
    let reply = session
        .send_and_wait("Hello", Some(Duration::from_secs(20)))
        .await;
    client.stop().await;
    reply.map(|e| e.and_then(|e| e.content().map(str::to_owned)))
}

/// One case, in the child process `run_case` starts.
#[tokio::test]
#[ignore = "run by proxies_from_the_environment_are_honoured, in a child process"]
async fn proxy_case() {
    let Ok(case) = std::env::var(CASE) else {
        eprintln!("proxy_case: nothing to do outside proxies_from_the_environment_are_honoured");
        return;
    };
    match case.as_str() {
        "http" => {
            let answer = send(&format!("http://{HOST}/v1")).await.expect("via proxy");
            assert_eq!(answer.as_deref(), Some("via the proxy"));
        }
        "https" => {
            let err = send(&format!("https://{HOST}/v1"))
                .await
                .expect_err("the test proxy refuses tunnels");
            assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
        }
        "no_proxy" => {
            let err = send(&format!("http://{HOST}/v1"))
                .await
                .expect_err("a direct connection to a host that does not resolve");
            assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
            assert!(err.to_string().contains(HOST), "names the URL: {err}");
        }
        other => panic!("unknown case {other}"),
    }
}
