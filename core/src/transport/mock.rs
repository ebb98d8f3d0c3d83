//! A scripted transport for tests: replies are answers rendered in the real wire format the request
//! asked for (streamed or not, through [`crate::wire::encode`]), raw bytes, slow or stalled bodies,
//! or transport errors. Every request is recorded.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use http::HeaderMap;
use serde_json::Value;

use super::{HttpRequest, HttpResponse, Transport};
use crate::error::{Error, ErrorKind, Result};
use crate::wire::WireFormat;
use crate::wire::encode::{Answer, json_body, stream_events};

/// One scripted reply.
#[derive(Clone, Debug)]
pub enum MockReply {
    /// An answer in the request's wire format; streamed when the request asks for a stream.
    Answer(Answer),
    /// Status, headers and body chunks as given.
    Raw {
        /// HTTP status.
        status: u16,
        /// Response headers.
        headers: Vec<(String, String)>,
        /// Body chunks.
        chunks: Vec<Bytes>,
    },
    /// The transport fails (connection refused, reset...).
    Fail(Error),
    /// `inner`, after waiting `delay` before the headers.
    Delayed {
        /// The wait.
        delay: Duration,
        /// The reply.
        inner: Box<MockReply>,
    },
    /// `inner`, with `gap` between body chunks.
    Slow {
        /// The gap.
        gap: Duration,
        /// The reply.
        inner: Box<MockReply>,
    },
    /// `inner`'s first `after` chunks, then a body that never ends (until dropped).
    Stall {
        /// Chunks sent before stalling.
        after: usize,
        /// The reply.
        inner: Box<MockReply>,
    },
}

impl MockReply {
    /// A text answer.
    pub fn text(text: impl Into<String>) -> Self {
        MockReply::Answer(Answer::text(text))
    }

    /// An answer calling tools: `(id, name, arguments JSON)`.
    pub fn tool_calls(calls: &[(&str, &str, &str)]) -> Self {
        MockReply::Answer(Answer::tools(
            calls
                .iter()
                .map(|(id, name, args)| crate::types::ToolCall {
                    id: (*id).to_owned(),
                    name: (*name).to_owned(),
                    arguments: (*args).to_owned(),
                })
                .collect(),
        ))
    }

    /// An HTTP error with a JSON body.
    pub fn error(status: u16, body: Value) -> Self {
        MockReply::Raw {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            chunks: vec![Bytes::from(body.to_string())],
        }
    }

    /// Adds a response header (for `Raw` replies; others are wrapped unchanged).
    pub fn with_header(self, name: &str, value: &str) -> Self {
        match self {
            MockReply::Raw {
                status,
                mut headers,
                chunks,
            } => {
                headers.push((name.to_owned(), value.to_owned()));
                MockReply::Raw {
                    status,
                    headers,
                    chunks,
                }
            }
            other => other,
        }
    }

    /// Waits before answering.
    pub fn delayed(self, delay: Duration) -> Self {
        MockReply::Delayed {
            delay,
            inner: Box::new(self),
        }
    }

    /// Sends the body chunks with a gap.
    pub fn slow(self, gap: Duration) -> Self {
        MockReply::Slow {
            gap,
            inner: Box::new(self),
        }
    }

    /// Stalls after `after` chunks.
    pub fn stall_after(self, after: usize) -> Self {
        MockReply::Stall {
            after,
            inner: Box::new(self),
        }
    }
}

/// A request the mock received, with its body parsed.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// The URL.
    pub url: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The JSON body (`Null` when empty).
    pub body: Value,
}

type Handler = dyn Fn(&Recorded) -> Option<MockReply> + Send + Sync;

#[derive(Default)]
struct Inner {
    replies: VecDeque<MockReply>,
    requests: Vec<Recorded>,
}

/// The scripted transport.
#[derive(Clone, Default)]
pub struct MockTransport {
    inner: Arc<Mutex<Inner>>,
    handler: Option<Arc<Handler>>,
    /// Characters per streamed delta.
    delta_chars: usize,
}

impl fmt::Debug for MockTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MockTransport")
    }
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MockTransport {
    /// An empty script (answers 500 until replies are pushed).
    pub fn new() -> Self {
        MockTransport {
            delta_chars: 4,
            ..Default::default()
        }
    }

    /// A transport that asks `handler` first (falling back to the script when it returns `None`).
    pub fn with_handler(
        handler: impl Fn(&Recorded) -> Option<MockReply> + Send + Sync + 'static,
    ) -> Self {
        MockTransport {
            handler: Some(Arc::new(handler)),
            ..Self::new()
        }
    }

    /// Characters per streamed text delta (default 4).
    pub fn delta_chars(mut self, n: usize) -> Self {
        self.delta_chars = n.max(1);
        self
    }

    /// Queues a reply.
    pub fn push(&self, reply: MockReply) -> &Self {
        lock(&self.inner).replies.push_back(reply);
        self
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.inner).requests.clone()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        lock(&self.inner).requests.len()
    }

    /// Replies not used yet.
    pub fn pending(&self) -> usize {
        lock(&self.inner).replies.len()
    }
}

fn format_of(url: &str) -> WireFormat {
    let path = url.split('?').next().unwrap_or(url);
    if path.ends_with("/responses") {
        WireFormat::OpenAiResponses
    } else if path.ends_with("/messages") {
        WireFormat::AnthropicMessages
    } else {
        WireFormat::OpenAiChat
    }
}

/// A reply reduced to what goes on the wire.
struct Plan {
    status: u16,
    headers: Vec<(String, String)>,
    chunks: Vec<Bytes>,
    gap: Option<Duration>,
    stall: Option<usize>,
}

fn render(reply: MockReply, req: &Recorded, delta_chars: usize) -> Result<HttpResponse> {
    let plan = plan(reply, req, delta_chars)?;
    let mut headers = HeaderMap::new();
    for (k, v) in plan.headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(&v),
        ) {
            headers.append(k, v);
        }
    }
    let gap = plan.gap;
    let body = stream::iter(plan.chunks.into_iter().enumerate()).then(move |(i, c)| async move {
        if let (true, Some(g)) = (i > 0, gap) {
            tokio::time::sleep(g).await;
        }
        Ok(c)
    });
    let body = match plan.stall {
        Some(after) => body.take(after).chain(stream::pending()).boxed(),
        None => body.boxed(),
    };
    Ok(HttpResponse {
        status: plan.status,
        headers,
        body,
    })
}

fn plan(reply: MockReply, req: &Recorded, delta_chars: usize) -> Result<Plan> {
    let plain = |status, headers, chunks| Plan {
        status,
        headers,
        chunks,
        gap: None,
        stall: None,
    };
    match reply {
        MockReply::Answer(a) => {
            let format = format_of(&req.url);
            if req.body["stream"] == Value::Bool(true) {
                let usage = req.body["stream_options"]["include_usage"] == Value::Bool(true)
                    || format != WireFormat::OpenAiChat;
                let chunks = stream_events(format, &a, delta_chars, usage)
                    .into_iter()
                    .map(Bytes::from)
                    .collect();
                let headers = vec![("content-type".into(), "text/event-stream".into())];
                Ok(plain(200, headers, chunks))
            } else {
                let headers = vec![("content-type".into(), "application/json".into())];
                let body = Bytes::from(json_body(format, &a).to_string());
                Ok(plain(200, headers, vec![body]))
            }
        }
        MockReply::Raw {
            status,
            headers,
            chunks,
        } => Ok(plain(status, headers, chunks)),
        MockReply::Fail(e) => Err(e),
        MockReply::Delayed { inner, .. } => plan(*inner, req, delta_chars),
        MockReply::Slow { gap, inner } => {
            let mut p = plan(*inner, req, delta_chars)?;
            p.gap = Some(gap);
            Ok(p)
        }
        MockReply::Stall { after, inner } => {
            let mut p = plan(*inner, req, delta_chars)?;
            p.stall = Some(after);
            Ok(p)
        }
    }
}

fn delay_of(reply: &MockReply) -> Option<Duration> {
    match reply {
        MockReply::Delayed { delay, .. } => Some(*delay),
        MockReply::Slow { inner, .. } | MockReply::Stall { inner, .. } => delay_of(inner),
        _ => None,
    }
}

impl Transport for MockTransport {
    fn send(&self, request: HttpRequest) -> BoxFuture<'static, Result<HttpResponse>> {
        let recorded = Recorded {
            url: request.uri().to_string(),
            headers: request.headers().clone(),
            body: serde_json::from_slice(request.body()).unwrap_or(Value::Null),
        };
        let from_handler = self.handler.as_ref().and_then(|h| h(&recorded));
        let reply = {
            let mut inner = lock(&self.inner);
            inner.requests.push(recorded.clone());
            from_handler.or_else(|| inner.replies.pop_front())
        };
        let delta_chars = self.delta_chars;
        Box::pin(async move {
            let reply = reply.unwrap_or_else(|| {
                MockReply::error(
                    500,
                    serde_json::json!({"error": {"message": "mock transport: no scripted reply left",
                                                 "type": "server_error"}}),
                )
                .with_header("x-should-retry", "false")
            });
            if let Some(d) = delay_of(&reply) {
                tokio::time::sleep(d).await;
            }
            render(reply, &recorded, delta_chars)
        })
    }
}

/// A transport failure as the reqwest transport reports one.
pub fn connection_error(message: &str) -> Error {
    Error::new(ErrorKind::Transport, message.to_owned())
}
