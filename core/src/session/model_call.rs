//! One model call: build the request from the history, send it through the one HTTP call path
//! ([`Exchange`]: token, retries, timeouts, scrubbing), and turn the response (streamed or not) into
//! events and a [`ModelResponse`].

use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::events::{
    EventData, MessageDeltaData, MessageStartData, ReasoningData, ReasoningDeltaData, TurnRetryData,
};
use super::{Controls, SessionInner};
use crate::error::{Error, ErrorKind, Result, TimeoutKind};
use crate::provider::Endpoint;
pub(crate) use crate::transport::call::CallError;
use crate::transport::call::{AttemptError, Exchange, MAX_BODY, Watch, header_secrets, read_body};
use crate::transport::{HttpRequest, HttpResponse};
use crate::types::Usage;
use crate::util::{lock, new_id};
use crate::wire::{
    self, Decoder, ModelCall, ModelResponse, ResponseBuilder, StreamEvent, WireFormat,
};

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

/// Everything an attempt needs, fixed for the call.
struct CallContext<'a> {
    session: &'a SessionInner,
    endpoint: &'a Endpoint,
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

/// Which model a call goes to: the session's, or a fallback (name and endpoint).
pub(crate) type Target<'a> = Option<&'a (String, Endpoint)>;

fn build(
    session: &SessionInner,
    headers: &http::HeaderMap,
    controls: &Controls,
    target: Target<'_>,
    stream_usage: bool,
) -> Result<(HttpRequest, Endpoint, String)> {
    let state = lock(&session.state);
    let s = &session.settings;
    let endpoint = match target {
        Some((_, e)) => e.clone(),
        None => state.endpoint.clone(),
    };
    // onSessionStart's additionalContext follows the system prompt.
    let with_context;
    let system = match (&s.system, &state.session_context) {
        (Some(system), Some(context)) => {
            with_context = format!("{system}\n\n{context}");
            Some(with_context.as_str())
        }
        (None, Some(context)) => Some(context.as_str()),
        (system, None) => system.as_deref(),
    };
    let with_mcp;
    let tools = match &s.mcp {
        Some(hub) => {
            with_mcp = hub.specs_after(&s.specs);
            &with_mcp
        }
        None => &s.specs,
    };
    let call = ModelCall {
        model: endpoint.wire_model(),
        system,
        messages: &state.history,
        tools,
        tool_choice: &controls.tool_choice,
        parallel_tool_calls: controls.parallel_tool_calls,
        reasoning_effort: controls.reasoning_effort,
        max_output_tokens: controls.max_output_tokens,
        stream: s.streaming,
        stream_usage,
        sampling: &controls.sampling,
        extra_body: controls.extra_body.as_ref(),
        response_format: controls.response_format.as_ref(),
        native_structured_output: s.provider.native_structured_output,
    };
    let mut request = endpoint.build_request(&call)?;
    if controls.response_format.is_some()
        && s.provider.native_structured_output
        && endpoint.wire_format() == WireFormat::AnthropicMessages
    {
        request.headers_mut().append(
            "anthropic-beta",
            http::HeaderValue::from_static("structured-outputs-2025-11-13"),
        );
    }
    for (name, value) in headers {
        request.headers_mut().insert(name.clone(), value.clone());
    }
    let model = match target {
        Some((name, _)) => name.clone(),
        None => state.model.clone(),
    };
    drop(state);
    Ok((request, endpoint, model))
}

/// The OpenTelemetry GenAI name of a provider.
pub(crate) fn otel_provider(endpoint: &Endpoint) -> &'static str {
    match endpoint.provider_type() {
        crate::ProviderType::OpenAi => "openai",
        crate::ProviderType::Azure => "azure.ai.openai",
        crate::ProviderType::Anthropic => "anthropic",
    }
}

/// Runs one model call with retries, in a `chat {model}` span (OpenTelemetry GenAI attributes).
pub(crate) async fn call(
    session: &SessionInner,
    turn_id: &str,
    headers: &http::HeaderMap,
    controls: &Controls,
    target: Target<'_>,
    cancel: &CancellationToken,
) -> Result<CallOutput, CallError> {
    use tracing::Instrument;
    let span = if tracing::enabled!(tracing::Level::INFO) {
        let (endpoint, model) = match target {
            Some((name, e)) => (e.clone(), name.clone()),
            None => {
                let state = lock(&session.state);
                (state.endpoint.clone(), state.model.clone())
            }
        };
        let uri = endpoint.call_uri();
        tracing::info_span!(
            "chat",
            otel.name = %format!("chat {model}"),
            otel.kind = "client",
            gen_ai.operation.name = "chat",
            gen_ai.provider.name = otel_provider(&endpoint),
            gen_ai.request.model = %model,
            gen_ai.conversation.id = %session.id,
            server.address = uri.host().unwrap_or_default(),
            server.port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("http") { 80 } else { 443 }),
            gen_ai.response.model = tracing::field::Empty,
            gen_ai.usage.input_tokens = tracing::field::Empty,
            gen_ai.usage.output_tokens = tracing::field::Empty,
            gen_ai.response.finish_reasons = tracing::field::Empty,
            error.type = tracing::field::Empty,
            gen_ai.input.messages = tracing::field::Empty,
            gen_ai.output.messages = tracing::field::Empty,
        )
    } else {
        tracing::Span::none()
    };
    // Prompts and completions only when the application asked (MODELPORT_TRACE_CONTENT).
    let content = !span.is_none() && crate::logging::trace_content();
    if content {
        let history = serde_json::to_string(&lock(&session.state).history).unwrap_or_default();
        span.record("gen_ai.input.messages", history.as_str());
    }
    let result = call_in_span(session, turn_id, headers, controls, target, cancel)
        .instrument(span.clone())
        .await;
    if !span.is_none() {
        match &result {
            Ok(o) => {
                span.record("gen_ai.response.model", o.model.as_str());
                if content {
                    let output = serde_json::json!([{
                        "role": "assistant",
                        "content": o.response.text,
                        "tool_calls": o.response.tool_calls.iter().map(|c| {
                            serde_json::json!({"id": c.id, "name": c.name, "arguments": c.arguments})
                        }).collect::<Vec<_>>(),
                    }]);
                    span.record("gen_ai.output.messages", output.to_string().as_str());
                }
                if let Some(u) = o.response.usage {
                    span.record("gen_ai.usage.input_tokens", u.input_tokens);
                    span.record("gen_ai.usage.output_tokens", u.output_tokens);
                }
                if let Some(f) = o.response.finish_reason {
                    span.record(
                        "gen_ai.response.finish_reasons",
                        format!("[\"{}\"]", f.as_str()),
                    );
                }
            }
            Err(CallError::Failed(e) | CallError::AfterOutput(e)) => {
                span.record("error.type", e.error_type());
            }
            Err(CallError::Cancelled(_)) => {
                span.record("error.type", "cancelled");
            }
        }
    }
    result
}

async fn call_in_span(
    session: &SessionInner,
    turn_id: &str,
    headers: &http::HeaderMap,
    controls: &Controls,
    target: Target<'_>,
    cancel: &CancellationToken,
) -> Result<CallOutput, CallError> {
    let started = Instant::now();
    let known_to_reject = match target {
        Some((_, e)) => e.state().no_stream_options(),
        None => lock(&session.state).endpoint.state().no_stream_options(),
    };
    let (request, endpoint, model) =
        build(session, headers, controls, target, !known_to_reject).map_err(CallError::Failed)?;
    let (policy, timeouts) = session.client.policy_for(&endpoint);
    let exchange = Exchange {
        endpoint: &endpoint,
        transport: &*session.client.transport,
        policy: &policy,
        timeouts: &timeouts,
        cancel,
        session_id: Some(&session.id),
        secrets: header_secrets(headers),
    };
    let ctx = CallContext {
        session,
        endpoint: &endpoint,
        stream: session.settings.streaming,
        message_id: new_id(),
        reasoning_id: new_id(),
    };
    // Whether the request being sent carries stream_options (decided per request: another
    // session may learn the provider's refusal meanwhile).
    let mut sends_stream_options = !known_to_reject;
    let (mut response, progress) = exchange
        .run(
            request,
            |response, watch| consume(&ctx, response, watch),
            |err| {
                if !rejects_stream_options(err, &endpoint, ctx.stream, sends_stream_options) {
                    return None;
                }
                sends_stream_options = false;
                endpoint.state().set_no_stream_options();
                tracing::debug!("provider rejects stream_options: resending without it");
                Some(
                    build(session, headers, controls, target, false).map(|(request, _, _)| request),
                )
            },
            |err, delay, attempt| {
                tracing::info!(
                    attempt,
                    delay_ms = millis(delay),
                    error.type = err.error_type(),
                    http.response.status_code = err.status().unwrap_or(0),
                    "retry"
                );
                session.bus.emit(EventData::TurnRetry(TurnRetryData {
                    turn_id: turn_id.to_owned(),
                    reason: err.to_string(),
                    delay_ms: millis(delay),
                    attempt,
                    status_code: err.status(),
                    from: None,
                    to: None,
                }));
            },
        )
        .await?;
    response.apply_output_cap(controls.max_output_tokens);
    Ok(CallOutput {
        response,
        message_id: ctx.message_id,
        reasoning_id: ctx.reasoning_id,
        reasoning_emitted: progress.reasoning_emitted,
        duration: started.elapsed(),
        time_to_first_token: progress.first_token,
        model,
    })
}

/// A 400 naming `stream_options` on a chat stream that sent it (older Azure API versions).
fn rejects_stream_options(err: &Error, endpoint: &Endpoint, stream: bool, sent: bool) -> bool {
    sent && stream
        && err.status() == Some(400)
        && endpoint.wire_format() == WireFormat::OpenAiChat
        && err.message().contains("stream_options")
}

/// Reads a 2xx answer: whole (non-streaming) or as a stream of events, emitting the deltas.
async fn consume(
    ctx: &CallContext<'_>,
    response: HttpResponse,
    mut watch: Watch<'_>,
) -> Result<(ModelResponse, Progress), AttemptError> {
    let mut body = response.body;
    let mut progress = Progress::default();
    if !ctx.stream {
        let bytes = read_body(&mut watch, &mut body, MAX_BODY, false)
            .await
            .map_err(AttemptError::before_output)?;
        return wire::parse_response(ctx.endpoint.wire_format(), &bytes)
            .map(|r| (r, progress))
            .map_err(AttemptError::before_output);
    }
    let start = watch.started();
    let progress = &mut progress;
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
            builder.push(&event);
            on_stream_event(ctx, event, progress, start);
        }
        if ended {
            return Ok((builder.finish(), std::mem::take(progress)));
        }
    }
}

/// Emits the user-visible events of one decoded stream event (its text moves into the event).
fn on_stream_event(
    ctx: &CallContext<'_>,
    event: StreamEvent,
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
                delta_content: text,
            }));
        }
        StreamEvent::ReasoningDelta(text) if !progress.message_started => {
            if progress.first_token.is_none() {
                progress.first_token = Some(start.elapsed());
            }
            progress.reasoning_streamed.push_str(&text);
            bus.emit(EventData::ReasoningDelta(ReasoningDeltaData {
                reasoning_id: ctx.reasoning_id.clone(),
                delta_content: text,
            }));
        }
        StreamEvent::Usage(u) => progress.usage = Some(u),
        _ => {}
    }
}

/// Milliseconds for events.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The compaction's summary call: `system` and one user message `text`, no tools, not streamed, no
/// events but what the caller emits. Returns the answer text, its usage and the model.
pub(crate) async fn summarize(
    session: &SessionInner,
    system: &str,
    text: &str,
    cancel: &CancellationToken,
) -> Result<(String, Usage, String)> {
    let (endpoint, model) = {
        let state = lock(&session.state);
        (state.endpoint.clone(), state.model.clone())
    };
    let messages = [crate::types::Message::User {
        content: vec![crate::types::ContentPart::Text {
            text: text.to_owned(),
        }],
    }];
    let request = endpoint.build_request(&ModelCall {
        model: endpoint.wire_model(),
        system: Some(system),
        messages: &messages,
        tools: &[],
        tool_choice: &crate::types::ToolChoice::Auto,
        parallel_tool_calls: false,
        reasoning_effort: None,
        max_output_tokens: endpoint.max_output_tokens(),
        stream: false,
        stream_usage: false,
        sampling: &crate::types::Sampling::NONE,
        extra_body: None,
        response_format: None,
        native_structured_output: false,
    })?;
    let (policy, timeouts) = session.client.policy_for(&endpoint);
    let exchange = Exchange {
        endpoint: &endpoint,
        transport: &*session.client.transport,
        policy: &policy,
        timeouts: &timeouts,
        cancel,
        session_id: Some(&session.id),
        secrets: Vec::new(),
    };
    let format = endpoint.wire_format();
    let response = exchange
        .run(
            request,
            |mut response: HttpResponse, mut watch| async move {
                let bytes = read_body(&mut watch, &mut response.body, MAX_BODY, false)
                    .await
                    .map_err(AttemptError::before_output)?;
                wire::parse_response(format, &bytes).map_err(AttemptError::before_output)
            },
            |_| None,
            |_, _, _| {},
        )
        .await
        .map_err(|e| match e {
            CallError::Cancelled(_) => Error::cancelled("the compaction was cancelled"),
            CallError::Failed(e) | CallError::AfterOutput(e) => e,
        })?;
    Ok((response.text, response.usage.unwrap_or_default(), model))
}
