//! A misbehaving HTTP server on loopback: each request it reads is answered by the next scripted
//! [`Step`] — a normal response, a stall, a reset, a trickle, or nothing at all.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Step {
    /// Writes these bytes (a whole HTTP response) and keeps the connection for the next request.
    Respond(Vec<u8>),
    /// Writes these bytes, then neither writes nor closes again.
    Stall(Vec<u8>),
    /// Reads the request and never answers.
    Hang,
    /// Reads the request and resets the connection without a response.
    Reset,
    /// Writes these bytes, then resets the connection.
    ResetAfter(Vec<u8>),
    /// Writes `head`, then each chunk after `gap`, then closes.
    Trickle {
        /// Status line and headers.
        head: Vec<u8>,
        /// Body pieces.
        chunks: Vec<Vec<u8>>,
        /// The pause before each piece.
        gap: Duration,
    },
    /// Sends header lines forever, one every `gap`, never finishing the head (slowloris).
    EndlessHeaders {
        /// The pause between lines.
        gap: Duration,
    },
}

/// A full HTTP/1.1 response with a JSON (or any) body.
pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

/// The head of a chunked `text/event-stream` response.
pub fn sse_head() -> Vec<u8> {
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        .to_vec()
}

/// One chunk of a chunked body.
pub fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

/// The end of a chunked body.
pub fn last_chunk() -> Vec<u8> {
    b"0\r\n\r\n".to_vec()
}

/// A whole chunked SSE response made of `events` (each already `data: ...\n\n`).
pub fn sse_response(events: &[String]) -> Vec<u8> {
    let mut out = sse_head();
    for e in events {
        out.extend(chunk(e.as_bytes()));
    }
    out.extend(last_chunk());
    out
}

struct Shared {
    steps: Mutex<VecDeque<Step>>,
    requests: AtomicUsize,
    bodies: Mutex<Vec<String>>,
    closed: AtomicUsize,
    closed_notify: Notify,
}

/// The server; stops on drop.
pub struct FaultServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FaultServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl FaultServer {
    /// Starts a server that answers requests with `steps`, in order (then 500s).
    pub async fn start(steps: Vec<Step>) -> FaultServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            steps: Mutex::new(steps.into()),
            requests: AtomicUsize::new(0),
            bodies: Mutex::default(),
            closed: AtomicUsize::new(0),
            closed_notify: Notify::new(),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                conns.spawn(serve(stream, s.clone()));
            }
        });
        FaultServer { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests were read.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// The request bodies read so far.
    pub fn bodies(&self) -> Vec<String> {
        self.shared.bodies.lock().expect("bodies").clone()
    }

    /// Waits until the client has closed `n` connections that were stalled or still streaming.
    pub async fn wait_closed(&self, n: usize) {
        loop {
            let notified = self.shared.closed_notify.notified();
            if self.shared.closed.load(Ordering::SeqCst) >= n {
                return;
            }
            notified.await;
        }
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request (head and content-length body); `None` when the client closed.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let mut tmp = [0u8; 8192];
                let n = stream.read(&mut tmp).await.ok().filter(|n| *n > 0)?;
                buf.extend_from_slice(&tmp[..n]);
            }
            let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned();
            buf.drain(..end + 4 + len);
            return Some(body);
        }
        let mut tmp = [0u8; 8192];
        let n = stream.read(&mut tmp).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&tmp[..n]);
    }
}

/// Waits until the peer closes the connection (reads return 0 or fail).
async fn until_peer_closes(stream: &mut TcpStream, shared: &Shared) {
    let mut tmp = [0u8; 1024];
    while matches!(stream.read(&mut tmp).await, Ok(n) if n > 0) {}
    shared.closed.fetch_add(1, Ordering::SeqCst);
    shared.closed_notify.notify_waiters();
}

/// Makes the close a reset (RST) instead of an orderly FIN.
#[allow(deprecated)] // deprecated for blocking on drop with a non-zero linger; zero resets at once
fn reset(stream: &TcpStream) {
    let _ = stream.set_linger(Some(Duration::ZERO));
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = Vec::new();
    while let Some(body) = read_request(&mut stream, &mut buf).await {
        shared.requests.fetch_add(1, Ordering::SeqCst);
        shared.bodies.lock().expect("bodies").push(body);
        let step = shared
            .steps
            .lock()
            .expect("steps")
            .pop_front()
            .unwrap_or_else(|| {
                Step::Respond(response(
                    500,
                    &[("x-should-retry", "false")],
                    "{\"error\":{\"message\":\"fault server: no step left\"}}",
                ))
            });
        match step {
            Step::Respond(bytes) => {
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Step::Stall(bytes) => {
                let _ = stream.write_all(&bytes).await;
                until_peer_closes(&mut stream, &shared).await;
                return;
            }
            Step::Hang => {
                until_peer_closes(&mut stream, &shared).await;
                return;
            }
            Step::Reset => {
                reset(&stream);
                return;
            }
            Step::ResetAfter(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.flush().await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                reset(&stream);
                return;
            }
            Step::Trickle { head, chunks, gap } => {
                if stream.write_all(&head).await.is_err() {
                    return;
                }
                for c in chunks {
                    tokio::time::sleep(gap).await;
                    if stream.write_all(&c).await.is_err() {
                        shared.closed.fetch_add(1, Ordering::SeqCst);
                        shared.closed_notify.notify_waiters();
                        return;
                    }
                }
                return;
            }
            Step::EndlessHeaders { gap } => {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n").await;
                let mut i = 0u64;
                loop {
                    tokio::time::sleep(gap).await;
                    i += 1;
                    if stream
                        .write_all(format!("x-slow-{i}: y\r\n").as_bytes())
                        .await
                        .is_err()
                    {
                        shared.closed.fetch_add(1, Ordering::SeqCst);
                        shared.closed_notify.notify_waiters();
                        return;
                    }
                }
            }
        }
    }
}
