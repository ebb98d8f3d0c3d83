//! One model call: build the request from the history, send it with the provider's token, retry what
//! is retryable, enforce the timeouts, and turn the response (streamed or not) into events and a
//! [`ModelResponse`].

use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use http::HeaderValue;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use super::SessionInner;
use super::events::{
    EventData, MessageDeltaData, MessageStartData, ReasoningData, ReasoningDeltaData,
    TurnRetryData, lock, new_id,
};
use crate::error::{Error, ErrorKind, Result, TimeoutKind};
use crate::provider::{Endpoint, ProviderType, TokenRequest};
use crate::secret::{SecretString, scrub_texts};
use crate::transport::{BodyStream, HttpRequest, RetryPolicy, Timeouts};
use crate::wire::{
    self, Decoder, ModelCall, ModelResponse, ResponseBuilder, StreamEvent, Usage, WireFormat,
};

/// The largest non-streaming response body read (a bigger one is an error, not an OOM).
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;
/// The largest error body read; the rest is ignored.
pub(crate) const MAX_ERROR_BODY: usize = 1024 * 1024;

/// A successful call.
pub(crate) struct CallOutput {
    pub response: ModelResponse,
    pub message_id: String,
    pub reasoning_id: String,
    /// `assistant.reasoning` was already emitted (streamed reasoning followed by text).
    pub reasoning_emitted: bool,
    pub duration: Duration,
    pub time_to_first_token: Option<Duration>,
    pub model: String,
}

/// Why a call produced no answer.
pub(crate) enum CallError {
    /// Aborted; the usage the provider had reported so far, if any.
    Cancelled(Option<Usage>),
    Failed(Error),
}

/// How one attempt failed.
struct AttemptError {
    error: Error,
    /// Something of this attempt already reached the user: never retried.
    output_emitted: bool,
    usage: Option<Usage>,
}

impl AttemptError {
    fn before_output(error: Error) -> Self {
        AttemptError {
            error,
            output_emitted: false,
            usage: None,
        }
    }
}

/// Everything an attempt needs, fixed for the call.
struct CallContext<'a> {
    session: &'a SessionInner,
    endpoint: &'a Endpoint,
    timeouts: &'a Timeouts,
    cancel: &'a CancellationToken,
    stream: bool,
    message_id: String,
    reasoning_id: String,
}

/// Per-attempt streaming progress, kept across the attempt for the final answer.
#[derive(Default)]
struct Progress {
    message_started: bool,
    reasoning_streamed: String,
    reasoning_emitted: bool,
    first_token: Option<Duration>,
    usage: Option<Usage>,
}

impl Progress {
    fn output_emitted(&self) -> bool {
        self.message_started || !self.reasoning_streamed.is_empty()
    }
}

fn build(
    session: &SessionInner,
    headers: &http::HeaderMap,
    stream_usage: bool,
) -> Result<(HttpRequest, Endpoint, String)> {
    let state = lock(&session.state);
    let s = &session.settings;
    let endpoint = state.endpoint.clone();
    let call = ModelCall {
        model: endpoint.wire_model(),
        system: s.system.as_deref(),
        messages: &state.history,
        tools: &s.specs,
        tool_choice: &s.tool_choice,
        parallel_tool_calls: s.parallel_tool_calls,
        reasoning_effort: s.reasoning_effort,
        max_output_tokens: endpoint.max_output_tokens(),
        stream: s.streaming,
        stream_usage,
    };
    let mut request = wire::build_request(&endpoint, &call)?;
    for (name, value) in headers {
        request.headers.insert(name.clone(), value.clone());
    }
    let model = state.model.clone();
    drop(state);
    Ok((request, endpoint, model))
}

/// Runs one model call with retries.
pub(crate) async fn call(
    session: &SessionInner,
    turn_id: &str,
    headers: &http::HeaderMap,
    cancel: &CancellationToken,
) -> Result<CallOutput, CallError> {
    let started = Instant::now();
    let stream_usage = lock(&session.state).endpoint.state().no_stream_options();
    let (mut request, endpoint, model) =
        build(session, headers, !stream_usage).map_err(CallError::Failed)?;
    let policy: RetryPolicy = endpoint
        .retry()
        .cloned()
        .unwrap_or_else(|| session.client.retry.clone());
    let timeouts = endpoint
        .timeouts()
        .cloned()
        .unwrap_or_else(|| session.client.timeouts.clone());
    let send_secrets = header_secrets(headers);
    let ctx = CallContext {
        session,
        endpoint: &endpoint,
        timeouts: &timeouts,
        cancel,
        stream: session.settings.streaming,
        message_id: new_id(),
        reasoning_id: new_id(),
    };
    let mut retries = 0u32;
    let mut refreshed_token = false;
    let mut dropped_stream_options = false;
    loop {
        if cancel.is_cancelled() {
            return Err(CallError::Cancelled(None));
        }
        let mut attempt_request = request.clone();
        let token = authorize(
            &endpoint,
            &mut attempt_request.headers,
            Some(&session.id),
            &timeouts,
            cancel,
        )
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::Cancelled => CallError::Cancelled(None),
            _ => CallError::Failed(e),
        })?;
        let mut progress = Progress::default();
        let attempt_start = Instant::now();
        let outcome = attempt(&ctx, attempt_request, &mut progress, attempt_start)
            .await
            .map_err(|mut e| {
                // Scrubbed with the token this attempt sent: a shared "last token" would race
                // with other sessions refreshing it.
                let mut secrets = send_secrets.clone();
                secrets.extend(token.iter().cloned());
                e.error = endpoint.scrub_with(e.error, &secrets);
                e
            });
        match outcome {
            Ok(mut response) => {
                response.apply_output_cap(endpoint.max_output_tokens());
                return Ok(CallOutput {
                    response,
                    message_id: ctx.message_id,
                    reasoning_id: ctx.reasoning_id,
                    reasoning_emitted: progress.reasoning_emitted,
                    duration: started.elapsed(),
                    time_to_first_token: progress.first_token,
                    model,
                });
            }
            Err(e) if e.error.kind() == ErrorKind::Cancelled => {
                return Err(CallError::Cancelled(e.usage));
            }
            Err(e) => {
                let err = e.error;
                if e.output_emitted {
                    return Err(CallError::Failed(err));
                }
                if err.status() == Some(401)
                    && endpoint.token_provider().is_some()
                    && !refreshed_token
                {
                    refreshed_token = true;
                    if let Some(provider) = endpoint.token_provider() {
                        provider.invalidate();
                    }
                    tracing::debug!("401 with a provided token: refreshing it once");
                    continue;
                }
                if rejects_stream_options(&err, &endpoint, ctx.stream, dropped_stream_options) {
                    dropped_stream_options = true;
                    endpoint.state().set_no_stream_options();
                    tracing::debug!("provider rejects stream_options: resending without it");
                    request = build(session, headers, false).map_err(CallError::Failed)?.0;
                    continue;
                }
                if !err.is_retryable() || retries >= policy.max_retries {
                    return Err(CallError::Failed(err));
                }
                retries += 1;
                let delay = retry_delay(&policy, retries, err.retry_after());
                session.bus.emit(EventData::TurnRetry(TurnRetryData {
                    turn_id: turn_id.to_owned(),
                    reason: err.to_string(),
                    delay_ms: u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    attempt: retries,
                    status_code: err.status(),
                }));
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => return Err(CallError::Cancelled(None)),
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
}

/// The sensitive values of per-send headers, to scrub from what the provider answers.
pub(crate) fn header_secrets(headers: &http::HeaderMap) -> Vec<SecretString> {
    let mut secrets = Vec::new();
    for value in headers.values().filter(|v| v.is_sensitive()) {
        if let Ok(text) = value.to_str() {
            secrets.extend(scrub_texts(&SecretString::new(text)).map(SecretString::new));
        }
    }
    secrets
}

/// Puts a fresh bearer token on `headers` when the provider has a token provider (one call shared
/// by concurrent requests, bounded by `timeouts.token`, abandoned on `cancel`). Returns the token
/// sent, so that what this request gets back is scrubbed of exactly that token.
pub(crate) async fn authorize(
    endpoint: &Endpoint,
    headers: &mut http::HeaderMap,
    session_id: Option<&str>,
    timeouts: &Timeouts,
    cancel: &CancellationToken,
) -> Result<Option<SecretString>> {
    let Some(provider) = endpoint.token_provider() else {
        return Ok(None);
    };
    let request = TokenRequest {
        provider_name: endpoint.provider_type().as_str().to_owned(),
        session_id: session_id.map(str::to_owned),
    };
    let token = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Err(Error::cancelled("aborted")),
        t = provider.token(request, timeouts.token) => t?,
    };
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
        Error::new(
            ErrorKind::Auth,
            "the bearer_token_provider returned a token with characters not allowed in a header",
        )
    })?;
    value.set_sensitive(true);
    headers.insert(http::header::AUTHORIZATION, value);
    Ok(Some(token))
}

/// A 400 naming `stream_options` on a chat stream that sent it (older Azure API versions).
fn rejects_stream_options(err: &Error, endpoint: &Endpoint, stream: bool, done: bool) -> bool {
    !done
        && stream
        && err.status() == Some(400)
        && endpoint.wire_format() == WireFormat::OpenAiChat
        && !endpoint.state().no_stream_options()
        && err.message().contains("stream_options")
}

/// The wait before retry number `n` (1-based): the provider's retry-after when it is sane and within
/// the policy's cap, else jittered exponential backoff like the official SDKs.
pub(crate) fn retry_delay(policy: &RetryPolicy, n: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(after) = retry_after.filter(|a| *a <= policy.max_retry_after) {
        return after;
    }
    let exp = policy
        .initial_backoff
        .saturating_mul(2u32.saturating_pow(n.saturating_sub(1)));
    let base = exp.min(policy.max_backoff);
    base.mul_f64(1.0 - 0.25 * fastrand::f64())
}

/// The waits of one HTTP exchange under its cancellation token and timeouts. One timer and one
/// cancellation waiter serve every wait (making them per body chunk costs a lock each).
pub(crate) struct Watch<'a> {
    cancelled: Pin<Box<WaitForCancellationFuture<'a>>>,
    sleep: Pin<Box<tokio::time::Sleep>>,
    timeouts: &'a Timeouts,
    deadline: tokio::time::Instant,
}

impl<'a> Watch<'a> {
    /// Starts the clock of the exchange (the total timeout runs from now).
    pub(crate) fn new(cancel: &'a CancellationToken, timeouts: &'a Timeouts) -> Self {
        let deadline = tokio::time::Instant::now() + timeouts.total;
        Watch {
            cancelled: Box::pin(cancel.cancelled()),
            sleep: Box::pin(tokio::time::sleep_until(deadline)),
            timeouts,
            deadline,
        }
    }

    /// Waits for `fut` within the `kind` timeout (first byte or idle gap), or the total budget when
    /// that ends first.
    pub(crate) async fn wait<T>(
        &mut self,
        kind: TimeoutKind,
        fut: impl Future<Output = T>,
    ) -> Result<T> {
        let phase = match kind {
            TimeoutKind::FirstByte => self.timeouts.first_byte,
            TimeoutKind::Idle => self.timeouts.idle,
            _ => self.timeouts.total,
        };
        let phase_end = tokio::time::Instant::now() + phase;
        let (end, kind, after) = if phase_end < self.deadline {
            (phase_end, kind, phase)
        } else {
            (self.deadline, TimeoutKind::Total, self.timeouts.total)
        };
        self.sleep.as_mut().reset(end);
        tokio::select! {
            biased;
            _ = self.cancelled.as_mut() => Err(Error::cancelled("aborted")),
            _ = self.sleep.as_mut() => Err(Error::timeout(kind, after)),
            v = fut => Ok(v),
        }
    }
}

/// One HTTP attempt.
async fn attempt(
    ctx: &CallContext<'_>,
    request: HttpRequest,
    progress: &mut Progress,
    start: Instant,
) -> Result<ModelResponse, AttemptError> {
    let mut watch = Watch::new(ctx.cancel, ctx.timeouts);
    let send = ctx.session.client.transport.send(request);
    let response = watch
        .wait(TimeoutKind::FirstByte, send)
        .await
        .and_then(|r| r)
        .map_err(AttemptError::before_output)?;

    let mut body = response.body;
    if !(200..300).contains(&response.status) {
        let bytes = read_body(&mut watch, &mut body, MAX_ERROR_BODY, true)
            .await
            .map_err(AttemptError::before_output)?;
        let err = wire::error::parse_error(response.status, &response.headers, &bytes);
        return Err(AttemptError::before_output(explain(err, ctx.endpoint)));
    }
    if !ctx.stream {
        let bytes = read_body(&mut watch, &mut body, MAX_BODY, false)
            .await
            .map_err(AttemptError::before_output)?;
        return wire::parse_response(ctx.endpoint.wire_format(), &bytes)
            .map_err(AttemptError::before_output);
    }

    let mut decoder = Decoder::new(ctx.endpoint.wire_format());
    let mut builder = ResponseBuilder::default();
    let mut events = Vec::new();
    let mut first = true;
    let mut received = 0usize;
    loop {
        let kind = if first {
            TimeoutKind::FirstByte
        } else {
            TimeoutKind::Idle
        };
        let fail = |error: Error, progress: &Progress| AttemptError {
            error,
            output_emitted: progress.output_emitted(),
            usage: progress.usage,
        };
        let next = match watch.wait(kind, body.next()).await {
            Ok(n) => n,
            Err(e) => return Err(fail(e, progress)),
        };
        first = false;
        let ended = next.is_none();
        match next {
            Some(Ok(chunk)) => {
                received += chunk.len();
                if received > MAX_BODY {
                    let e = Error::new(
                        ErrorKind::Decode,
                        format!(
                            "the provider's stream is larger than {} MiB: refusing to buffer it",
                            MAX_BODY / (1024 * 1024)
                        ),
                    );
                    return Err(fail(e, progress));
                }
                decoder.feed(&chunk, &mut events)
            }
            Some(Err(e)) => return Err(fail(e, progress)),
            None => decoder.finish(&mut events),
        }
        for event in events.drain(..) {
            if let StreamEvent::Error(e) = event {
                return Err(fail(e, progress));
            }
            on_stream_event(ctx, &event, progress, start);
            builder.push(&event);
        }
        if ended {
            return Ok(builder.finish());
        }
    }
}

/// Emits the user-visible events of one decoded stream event.
fn on_stream_event(
    ctx: &CallContext<'_>,
    event: &StreamEvent,
    progress: &mut Progress,
    start: Instant,
) {
    let bus = &ctx.session.bus;
    match event {
        StreamEvent::TextDelta(text) => {
            if progress.first_token.is_none() {
                progress.first_token = Some(start.elapsed());
            }
            if !progress.message_started {
                progress.message_started = true;
                if !progress.reasoning_streamed.is_empty() {
                    progress.reasoning_emitted = true;
                    bus.emit(EventData::Reasoning(ReasoningData {
                        reasoning_id: ctx.reasoning_id.clone(),
                        content: progress.reasoning_streamed.clone(),
                    }));
                }
                bus.emit(EventData::MessageStart(MessageStartData {
                    message_id: ctx.message_id.clone(),
                }));
            }
            bus.emit(EventData::MessageDelta(MessageDeltaData {
                message_id: ctx.message_id.clone(),
                delta_content: text.clone(),
            }));
        }
        StreamEvent::ReasoningDelta(text) if !progress.message_started => {
            if progress.first_token.is_none() {
                progress.first_token = Some(start.elapsed());
            }
            progress.reasoning_streamed.push_str(text);
            bus.emit(EventData::ReasoningDelta(ReasoningDeltaData {
                reasoning_id: ctx.reasoning_id.clone(),
                delta_content: text.clone(),
            }));
        }
        StreamEvent::Usage(u) => progress.usage = Some(*u),
        _ => {}
    }
}

/// Reads a whole body under `watch`, up to `limit` bytes (more is an error unless `truncate`).
pub(crate) async fn read_body(
    watch: &mut Watch<'_>,
    body: &mut BodyStream,
    limit: usize,
    truncate: bool,
) -> Result<Bytes, Error> {
    let mut buf = Vec::new();
    let mut kind = TimeoutKind::FirstByte;
    loop {
        match watch.wait(kind, body.next()).await? {
            Some(Ok(chunk)) => {
                if buf.len() + chunk.len() > limit {
                    if truncate {
                        buf.extend_from_slice(&chunk[..limit - buf.len()]);
                        return Ok(buf.into());
                    }
                    return Err(Error::new(
                        ErrorKind::Decode,
                        format!(
                            "the provider's response is larger than {} MiB: refusing to buffer it",
                            limit / (1024 * 1024)
                        ),
                    ));
                }
                if buf.is_empty() && chunk.len() >= 1024 {
                    buf.reserve(chunk.len());
                }
                buf.extend_from_slice(&chunk);
            }
            Some(Err(e)) => return Err(e),
            None => return Ok(buf.into()),
        }
        kind = TimeoutKind::Idle;
    }
}

/// Adds what the user should check to authentication and not-found errors (never the secret).
pub(crate) fn explain(err: Error, endpoint: &Endpoint) -> Error {
    let base = endpoint.base_url();
    match err.kind() {
        ErrorKind::Auth => {
            let hint = format!(
                "authentication failed: {}. Check that: (1) the API key is correct and not expired; \
                 (2) base_url {base} matches the provider's format ({}); (3) for bearer tokens, the \
                 full token is given, not a prefix",
                err.message(),
                expected_format(endpoint.provider_type())
            );
            err.with_message(hint)
        }
        ErrorKind::PermissionDenied => {
            let hint = format!(
                "authorization failed (the credentials are valid but not allowed): {}. Check that \
                 the key or token has access to this model and resource at {base}",
                err.message()
            );
            err.with_message(hint)
        }
        ErrorKind::NotFound => {
            let hint = match endpoint.azure_deployment() {
                Some((deployment, version)) => format!(
                    "not found: {}. Azure deployment \"{deployment}\" with api-version {version} at \
                     {base}: check that the deployment exists (the session's model is the deployment \
                     name) and that this api-version supports the {} route",
                    err.message(),
                    endpoint.wire_format().as_str()
                ),
                None => format!(
                    "not found: {}. Check the model name \"{}\" and base_url {base} (URL called: {})",
                    err.message(),
                    endpoint.wire_model(),
                    endpoint.call_url()
                ),
            };
            err.with_message(hint)
        }
        _ => err,
    }
}

fn expected_format(ty: ProviderType) -> &'static str {
    match ty {
        ProviderType::OpenAi => {
            "type \"openai\": the full API root including /v1, e.g. https://api.openai.com/v1"
        }
        ProviderType::Azure => "type \"azure\": just the host, e.g. https://RES.openai.azure.com",
        ProviderType::Anthropic => "type \"anthropic\": https://api.anthropic.com",
    }
}

/// Milliseconds for events.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_honours_retry_after_within_the_cap_and_backs_off_otherwise() {
        let p = RetryPolicy::default();
        assert_eq!(
            retry_delay(&p, 1, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        // Larger than the cap (60 s): falls back to backoff.
        let d = retry_delay(&p, 1, Some(Duration::from_secs(3600)));
        assert!(
            d <= Duration::from_millis(500) && d >= Duration::from_millis(375),
            "{d:?}"
        );
        let d = retry_delay(&p, 3, None);
        assert!(
            d <= Duration::from_secs(2) && d >= Duration::from_millis(1500),
            "{d:?}"
        );
        let d = retry_delay(&p, 10, None);
        assert!(
            d <= Duration::from_secs(8) && d >= Duration::from_secs(6),
            "{d:?}"
        );
    }
}
