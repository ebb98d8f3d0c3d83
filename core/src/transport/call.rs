//! The one HTTP call path: every request modelport sends to a provider (model calls and model
//! lists) goes through [`Exchange::run`], which owns what they share: the bearer token (one provider
//! call shared by concurrent requests), the one refresh after a 401, the retry loop with
//! retry-after and jittered backoff, the timeouts, error bodies (read up to 1 MiB, parsed, explained)
//! and scrubbing the request's secrets from every error. What a caller does with a 2xx body is its
//! own `consume` step.

use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use http::HeaderValue;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use super::{BodyStream, HttpRequest, HttpResponse, RetryPolicy, Timeouts, Transport};
use crate::error::{Error, ErrorKind, Result, TimeoutKind};
use crate::provider::{Endpoint, ProviderType, TokenRequest};
use crate::secret::{SecretString, scrub_texts};
use crate::types::Usage;

/// The largest non-streaming response body read (a bigger one is an error, not an OOM).
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;
/// The largest error body read; the rest is ignored.
pub(crate) const MAX_ERROR_BODY: usize = 1024 * 1024;

/// Why an exchange produced no answer.
pub(crate) enum CallError {
    /// Aborted; the usage the provider had reported so far, if any.
    Cancelled(Option<Usage>),
    /// Failed before anything reached the user (retries exhausted, or not retryable).
    Failed(Error),
    /// Failed after output reached the user: never retried, never sent elsewhere.
    AfterOutput(Error),
}

/// How one attempt failed.
pub(crate) struct AttemptError {
    pub error: Error,
    /// Something of this attempt already reached the user: never retried.
    pub output_emitted: bool,
    pub usage: Option<Usage>,
}

impl AttemptError {
    /// A failure before anything reached the user (retryable when the error is).
    pub(crate) fn before_output(error: Error) -> Self {
        AttemptError {
            error,
            output_emitted: false,
            usage: None,
        }
    }
}

/// One logical request to a provider and everything fixed for it.
pub(crate) struct Exchange<'a> {
    pub endpoint: &'a Endpoint,
    pub transport: &'a dyn Transport,
    pub policy: &'a RetryPolicy,
    pub timeouts: &'a Timeouts,
    pub cancel: &'a CancellationToken,
    /// For the token provider's request.
    pub session_id: Option<&'a str>,
    /// Secrets of this request beyond the provider's own (sensitive per-send header values).
    pub secrets: Vec<SecretString>,
}

impl<'a> Exchange<'a> {
    /// Sends `request` until it succeeds, fails for good, or is cancelled. `consume` reads a 2xx
    /// response; `fix` may answer an error with a corrected request to send at once (not counted as
    /// a retry), or with an error that ends the exchange; `on_retry` hears of each retry (the error,
    /// the wait, the retry's number) before its wait.
    pub(crate) async fn run<T, F>(
        &self,
        mut request: HttpRequest,
        mut consume: impl FnMut(HttpResponse, Watch<'a>) -> F,
        mut fix: impl FnMut(&Error) -> Option<Result<HttpRequest>>,
        mut on_retry: impl FnMut(&Error, Duration, u32),
    ) -> Result<T, CallError>
    where
        F: Future<Output = Result<T, AttemptError>>,
    {
        let mut retries = 0u32;
        let mut refreshed_token = false;
        loop {
            if self.cancel.is_cancelled() {
                return Err(CallError::Cancelled(None));
            }
            let mut attempt = request.clone();
            let token = authorize(
                self.endpoint,
                attempt.headers_mut(),
                self.session_id,
                self.timeouts,
                self.cancel,
            )
            .await
            .map_err(|e| match e.kind() {
                ErrorKind::Cancelled => CallError::Cancelled(None),
                _ => CallError::Failed(e),
            })?;
            let outcome = self.attempt(attempt, &mut consume).await.map_err(|mut e| {
                // Scrubbed with the token this attempt sent: a shared "last token" would race
                // with other sessions refreshing it.
                let mut secrets = self.secrets.clone();
                secrets.extend(token);
                e.error = self.endpoint.scrub_with(e.error, &secrets);
                e
            });
            let failure = match outcome {
                Ok(value) => return Ok(value),
                Err(e) if e.error.kind() == ErrorKind::Cancelled => {
                    return Err(CallError::Cancelled(e.usage));
                }
                Err(e) if e.output_emitted => return Err(CallError::AfterOutput(e.error)),
                Err(e) => e.error,
            };
            if failure.status() == Some(401)
                && !refreshed_token
                && let Some(provider) = self.endpoint.token_provider()
            {
                refreshed_token = true;
                provider.invalidate();
                tracing::debug!("401 with a provided token: refreshing it once");
                continue;
            }
            match fix(&failure) {
                Some(Ok(fixed)) => {
                    request = fixed;
                    continue;
                }
                Some(Err(e)) => return Err(CallError::Failed(e)),
                None => {}
            }
            if !failure.is_retryable() || retries >= self.policy.max_retries {
                return Err(CallError::Failed(failure));
            }
            retries += 1;
            let delay = retry_delay(self.policy, retries, failure.retry_after());
            on_retry(&failure, delay, retries);
            // An event on the current (chat) span, as the GenAI conventions record retries.
            tracing::info!(
                retry = retries,
                error.type = failure.error_type(),
                delay_ms = delay.as_millis() as u64,
                "retry"
            );
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => return Err(CallError::Cancelled(None)),
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }

    /// One HTTP attempt: send, wait for the headers, turn a non-2xx answer into its error, and let
    /// `consume` read a 2xx one.
    async fn attempt<T, F>(
        &self,
        request: HttpRequest,
        consume: &mut impl FnMut(HttpResponse, Watch<'a>) -> F,
    ) -> Result<T, AttemptError>
    where
        F: Future<Output = Result<T, AttemptError>>,
    {
        let mut watch = Watch::new(self.cancel, self.timeouts);
        // One debug event per HTTP attempt (only built when someone listens); the URL carries no
        // secret (keys travel in headers).
        let probe = tracing::enabled!(tracing::Level::DEBUG).then(|| {
            let (method, uri) = (request.method().clone(), request.uri().clone());
            (method, uri, std::time::Instant::now())
        });
        let send = self.transport.send(request);
        let sent = watch
            .wait(TimeoutKind::FirstByte, send)
            .await
            .and_then(|r| r);
        if let Some((method, uri, started)) = probe {
            tracing::debug!(
                http.request.method = %method,
                url.full = %uri,
                http.response.status_code = sent.as_ref().map(|r| r.status).unwrap_or(0),
                latency_ms = started.elapsed().as_secs_f64() * 1000.0,
                request_id = sent
                    .as_ref()
                    .ok()
                    .and_then(|r| crate::wire::error::request_id(&r.headers))
                    .unwrap_or_default(),
                "http attempt"
            );
        }
        let mut response = sent.map_err(AttemptError::before_output)?;
        if !(200..300).contains(&response.status) {
            let bytes = read_body(&mut watch, &mut response.body, MAX_ERROR_BODY, true)
                .await
                .map_err(AttemptError::before_output)?;
            let err = crate::wire::error::parse_error(response.status, &response.headers, &bytes);
            return Err(AttemptError::before_output(explain(err, self.endpoint)));
        }
        consume(response, watch).await
    }
}

/// The sensitive values of per-send headers, to scrub from what the provider answers.
pub(crate) fn header_secrets(headers: &http::HeaderMap) -> Vec<SecretString> {
    let mut secrets = Vec::new();
    for value in headers.values().filter(|v| v.is_sensitive()) {
        // Lossy: a value with non-ASCII bytes is still a secret to scrub.
        let text = String::from_utf8_lossy(value.as_bytes());
        secrets.extend(scrub_texts(&SecretString::new(text)).map(SecretString::new));
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
    started: Instant,
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
            started: Instant::now(),
        }
    }

    /// When the exchange started (before the request was sent).
    pub(crate) fn started(&self) -> Instant {
        self.started
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
                "authentication failed: {}; check that: (1) the API key is correct and not expired; \
                 (2) base_url {base} matches the provider's format ({}); (3) for bearer tokens, the \
                 full token is given, not a prefix",
                err.message(),
                expected_format(endpoint.provider_type())
            );
            err.with_message(hint)
        }
        ErrorKind::PermissionDenied => {
            let hint = format!(
                "authorization failed (the credentials are valid but not allowed): {}; check that \
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
