//! The turn loop: one send runs model calls and tool calls until the model answers without tools,
//! a tool rejects, the send is aborted, or something fails; the history stays valid in every case.

use std::sync::Arc;

use futures::FutureExt;
use futures::stream::{FuturesUnordered, StreamExt};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::events::{
    AbortData, AssistantMessageData, EventData, PermissionCompletedData, PermissionRequestedData,
    PermissionResultData, ReasoningData, SessionErrorData, SessionIdleData, ToolErrorData,
    ToolExecutionCompleteData, ToolExecutionStartData, ToolRequest, ToolResultContent, TurnData,
    TurnRetryData, UsageData, UserMessageData,
};
use super::hooks::{self, HookKind};
use super::model_call::{self, CallError, millis};
use super::tools::{PermissionDecision, PermissionRequest, Tool, ToolInvocation, ToolResultType};
use super::{PendingSend, SessionInner};
use crate::error::{Error, ErrorKind};
use crate::types::{ContentPart, Message, ToolCall};
use crate::util::lock;

/// Tool calls of one message run at most this many at a time.
pub(crate) const TOOL_CONCURRENCY: usize = 8;
/// What the model sees for a call cut short by an abort.
pub(crate) const INTERRUPTED: &str =
    "The execution of this tool, or a previous tool was interrupted.";

/// Runs queued sends one after the other until the queue is empty; after a send that left the
/// window past the background threshold, compacts before the next.
pub(crate) async fn run_queue(session: Arc<SessionInner>) {
    while run_next(&session).await {
        compact_in_background(&session).await;
    }
}

/// The background compaction between sends (its events stand outside any send).
async fn compact_in_background(session: &Arc<SessionInner>) {
    let threshold = session.settings.compaction.background_compaction_threshold;
    if session.cancel.is_cancelled() || !session.compaction_due(threshold) {
        return;
    }
    let cancel = session.cancel.child_token();
    super::compaction::compact(session, &cancel).await;
    if let Err(e) = session.persist().await {
        tracing::warn!(session = %session.id, error = %e, "committing a compaction failed");
    }
}

/// After a send driven by its caller: hands the rest of the queue to a task, or marks the session
/// idle when nothing is queued.
pub(crate) fn continue_queue(session: Arc<SessionInner>) {
    let threshold = session.settings.compaction.background_compaction_threshold;
    let compact = !session.cancel.is_cancelled() && session.compaction_due(threshold);
    let mut state = lock(&session.state);
    if compact && !state.closed {
        drop(state);
        let runtime = session.runtime.clone();
        runtime.spawn(async move {
            compact_in_background(&session).await;
            run_queue(session).await;
        });
        return;
    }
    if state.queue.is_empty() || state.closed {
        state.queue.clear();
        state.running = false;
        drop(state);
        session.idle.notify_waiters();
    } else {
        drop(state);
        let runtime = session.runtime.clone();
        runtime.spawn(run_queue(session));
    }
}

/// Runs the next queued send; `false` when the queue was empty (the session is then idle).
pub(crate) async fn run_next(session: &Arc<SessionInner>) -> bool {
    let next = {
        let mut state = lock(&session.state);
        match state.queue.pop_front() {
            Some(pending) if !state.closed => {
                state.sends += 1;
                let token = session.cancel.child_token();
                state.current = Some((state.sends, token.clone()));
                Some((pending, token))
            }
            _ => {
                state.queue.clear();
                state.running = false;
                state.current = None;
                None
            }
        }
    };
    let Some((mut pending, token)) = next else {
        session.idle.notify_waiters();
        return false;
    };
    let ended = pending.ended.take();
    if let Some(caller) = &pending.cancel {
        caller.started.cancel();
    }
    let span = agent_span(session, &pending.caller);
    // The caller's own handle cancels this send while it runs (at once when it was cancelled while
    // queued); it is followed only for as long as the send runs.
    let follow_caller = {
        let caller = pending.cancel.clone();
        let token = token.clone();
        async move {
            if let Some(caller) = caller {
                caller.cancel.cancelled().await;
                token.cancel();
            }
            std::future::pending::<()>().await;
        }
    };
    let run = std::panic::AssertUnwindSafe(tracing::Instrument::instrument(
        run_send(session, pending, &token),
        span,
    ))
    .catch_unwind();
    // Biased, the caller's handle first: a send cancelled while queued starts with its token
    // already cancelled, so it makes no model call.
    let outcome = tokio::select! {
        biased;
        () = follow_caller => unreachable!("follow_caller never completes"),
        outcome = run => outcome,
    };
    if let Err(panic) = outcome {
        // A bug in modelport must not wedge the session: report it and stay usable.
        let message = panic_message(&panic);
        tracing::error!(%message, "the session engine panicked");
        let err = Error::new(
            ErrorKind::Server,
            format!("internal error in modelport: {message}"),
        );
        session
            .bus
            .emit(EventData::SessionError(SessionErrorData::from_error(&err)));
        session
            .bus
            .emit(EventData::SessionIdle(SessionIdleData::default()));
    }
    lock(&session.state).current = None;
    session.idle.notify_waiters();
    drop(ended);
    true
}

/// The current (`execute_tool`) span's W3C traceparent, when it is exported.
fn traceparent() -> Option<String> {
    #[cfg(feature = "otel")]
    {
        let span = tracing::Span::current();
        if !span.is_none() {
            return crate::otel::traceparent(&span);
        }
    }
    None
}

/// The `invoke_agent` span of one send (OpenTelemetry GenAI attributes); none when nobody listens.
fn agent_span(session: &SessionInner, caller: &tracing::Span) -> tracing::Span {
    if !tracing::enabled!(tracing::Level::INFO) {
        return tracing::Span::none();
    }
    let state = lock(&session.state);
    tracing::info_span!(
        parent: caller,
        "invoke_agent",
        otel.name = "invoke_agent",
        gen_ai.operation.name = "invoke_agent",
        gen_ai.provider.name = model_call::otel_provider(&state.endpoint),
        gen_ai.request.model = %state.model,
        gen_ai.conversation.id = %session.id,
    )
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_owned())
}

/// One send: from `user.message` to `session.idle`.
async fn run_send(session: &Arc<SessionInner>, pending: PendingSend, cancel: &CancellationToken) {
    let PendingSend {
        event_id,
        options,
        headers,
        ..
    } = pending;
    let controls = super::Controls::of(session, &options);
    let max_turns = controls.max_turns;
    let hooks = &session.settings.hooks;
    // onUserPromptSubmitted may rewrite the prompt and add context; if it fails, the send fails
    // before anything reaches the history.
    let mut prompt = options.prompt.clone();
    let mut prompt_context = None;
    let mut hook_failure = None;
    if hooks.has(HookKind::UserPromptSubmitted) {
        let kind = HookKind::UserPromptSubmitted;
        match hooks
            .call(session, kind, json!({"prompt": options.prompt}))
            .await
            .and_then(|v| hooks::output::<hooks::UserPromptSubmittedOutput>(kind, v))
        {
            Ok(out) => {
                prompt = out.modified_prompt.unwrap_or(prompt);
                prompt_context = out.additional_context.filter(|c| !c.trim().is_empty());
            }
            Err(e) => hook_failure = Some(e),
        }
    }
    let mut content = Vec::with_capacity(2 + options.attachments.len());
    if !prompt.is_empty() {
        content.push(ContentPart::Text {
            text: prompt.clone(),
        });
    }
    if let Some(context) = prompt_context {
        content.push(ContentPart::Text { text: context });
    }
    for a in &options.attachments {
        let super::events::Attachment::Blob {
            data, mime_type, ..
        } = a;
        content.push(ContentPart::Image {
            mime_type: mime_type.clone(),
            data: data.clone(),
        });
    }
    session.bus.emit_with_id(
        event_id,
        EventData::UserMessage(UserMessageData {
            content: prompt,
            attachments: (!options.attachments.is_empty()).then_some(options.attachments),
        }),
    );
    if hook_failure.is_none() {
        lock(&session.state).history.push(Message::User { content });
    }

    let mut aborted = false;
    // The user message is committed before the model is called: a process that dies mid-send
    // leaves it in the store.
    let mut failure = match hook_failure {
        Some(e) => Some(e),
        None => session.persist().await.err(),
    };
    let mut error_retries = 0;
    let mut agent_stop_blocks = 0;
    let iterations = if failure.is_some() { 0 } else { max_turns + 1 };
    for iteration in 0..iterations {
        if iteration == max_turns {
            failure = Some(Error::new(
                ErrorKind::Limit,
                format!(
                    "the tool loop reached {max_turns} model calls in one send without a final \
                     answer (maxTurns): the model keeps calling tools (check tool_choice and the \
                     tool results, or raise maxTurns)"
                ),
            ));
            break;
        }
        // A changed MCP tool list is read before the call.
        if let Some(hub) = &session.settings.mcp {
            hub.refresh().await;
        }
        // A window nearly full waits for a compaction before the call (right after the user
        // message, or between turns); a message that alone does not fit fails the send.
        if let Err(e) = super::compaction::before_call(session, cancel).await {
            failure = Some(e);
            break;
        }
        let turn_id = {
            let mut state = lock(&session.state);
            state.turns += 1;
            state.turns.to_string()
        };
        let turn = || TurnData {
            turn_id: turn_id.clone(),
        };
        session.bus.emit(EventData::TurnStart(turn()));
        // Boxed: keeps this future small, so running it inline or spawning it copies little. A
        // prompt the provider finds too long is compacted and the call retried, once.
        let mut result = Box::pin(model_call::call(
            session, &turn_id, &headers, &controls, None, cancel,
        ))
        .await;
        if let Err(CallError::Failed(e)) = &result
            && e.kind() == ErrorKind::ContextLength
            && session.settings.compaction.enabled
            && super::compaction::compact(session, cancel).await
        {
            result = Box::pin(model_call::call(
                session, &turn_id, &headers, &controls, None, cancel,
            ))
            .await;
        }
        // A call that failed before any output, retries spent, goes to the fallback models in
        // order (never after output).
        if let Err(CallError::Failed(e)) = &result
            && e.is_retryable()
            && !session.settings.fallbacks.is_empty()
        {
            let mut from = lock(&session.state).model.clone();
            for target in &session.settings.fallbacks {
                let Err(CallError::Failed(e)) = &result else {
                    break;
                };
                session.bus.emit(EventData::TurnRetry(TurnRetryData {
                    turn_id: turn_id.clone(),
                    reason: "fallback".to_owned(),
                    delay_ms: 0,
                    attempt: 1,
                    status_code: e.status(),
                    from: Some(from.clone()),
                    to: Some(target.0.clone()),
                }));
                tracing::debug!(from = %from, to = %target.0, error = %e, "falling back");
                result = Box::pin(model_call::call(
                    session,
                    &turn_id,
                    &headers,
                    &controls,
                    Some(target),
                    cancel,
                ))
                .await;
                match &result {
                    Err(CallError::Failed(e)) if e.is_retryable() => from = target.0.clone(),
                    _ => break,
                }
            }
        }
        // onErrorOccurred may retry a failed model call (a few times per send) or skip it (the
        // send then ends without an error).
        let mut skipped = false;
        while let Err(CallError::Failed(e)) = &result
            && hooks.has(HookKind::ErrorOccurred)
        {
            match error_hook(session, e, "model_call").await {
                hooks::ErrorHandling::Retry if error_retries < hooks.max_error_retries => {
                    error_retries += 1;
                    result = Box::pin(model_call::call(
                        session, &turn_id, &headers, &controls, None, cancel,
                    ))
                    .await;
                }
                hooks::ErrorHandling::Skip => {
                    skipped = true;
                    break;
                }
                _ => break,
            }
        }
        let output = match result {
            Ok(o) => o,
            Err(CallError::Cancelled(usage)) => {
                session.bus.emit(EventData::Abort(AbortData {
                    reason: "user_initiated".to_owned(),
                }));
                if let Some(u) = usage {
                    let model = lock(&session.state).model.clone();
                    session.bus.emit(EventData::Usage(UsageData {
                        model,
                        input_tokens: u.input_tokens,
                        output_tokens: u.output_tokens,
                        cache_read_tokens: u.cache_read_tokens,
                        cache_write_tokens: u.cache_write_tokens,
                        reasoning_tokens: u.reasoning_tokens,
                        duration: 0,
                        time_to_first_token_ms: None,
                        finish_reason: None,
                    }));
                }
                session.bus.emit(EventData::TurnEnd(turn()));
                aborted = true;
                break;
            }
            Err(CallError::Failed(e) | CallError::AfterOutput(e)) => {
                session.bus.emit(EventData::TurnEnd(turn()));
                if !skipped {
                    failure = Some(e);
                }
                break;
            }
        };

        let mut r = output.response;
        // Anthropic without native structured output: the answer is the forced tool's input.
        if let Some(f) = &controls.response_format
            && !session.settings.provider.native_structured_output
            && lock(&session.state).endpoint.wire_format()
                == crate::wire::WireFormat::AnthropicMessages
            && let Some(at) = r.tool_calls.iter().position(|c| c.name == f.name())
        {
            let answer = r.tool_calls.remove(at);
            r.text = compact_json(&answer.arguments);
        }
        let reasoning_text = r.reasoning_text();
        if let (Some(text), false) = (&reasoning_text, output.reasoning_emitted) {
            session.bus.emit(EventData::Reasoning(ReasoningData {
                reasoning_id: output.reasoning_id.clone(),
                content: text.clone(),
            }));
        }
        let requests: Vec<ToolRequest> = r
            .tool_calls
            .iter()
            .map(|c| ToolRequest {
                tool_call_id: c.id.clone(),
                name: c.name.clone(),
                arguments: arguments_value(&c.arguments),
            })
            .collect();
        session
            .bus
            .emit(EventData::AssistantMessage(AssistantMessageData {
                message_id: output.message_id,
                content: r.text.clone(),
                tool_requests: (!requests.is_empty()).then_some(requests),
                reasoning_text,
                model: output.model.clone(),
            }));
        let usage = r.usage.unwrap_or_default();
        session.bus.emit(EventData::Usage(UsageData {
            model: output.model,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cache_read_tokens: usage.cache_read_tokens,
            cache_write_tokens: usage.cache_write_tokens,
            reasoning_tokens: usage.reasoning_tokens,
            duration: millis(output.duration),
            time_to_first_token_ms: output.time_to_first_token.map(millis),
            finish_reason: r.finish_reason.map(|f| f.as_str().to_owned()),
        }));
        let calls = r.tool_calls.clone();
        let answer_text = r.text.clone();
        lock(&session.state).history.push(Message::Assistant {
            text: r.text,
            tool_calls: r.tool_calls,
            reasoning: r.reasoning,
        });
        session.count_tokens(r.usage);
        if calls.is_empty() {
            session.bus.emit(EventData::TurnEnd(turn()));
            // onAgentStop may block the end: its reason becomes the next user message.
            if agent_stop_blocks < hooks.max_agent_stop_blocks
                && let Some(reason) = agent_stop_hook(session, &answer_text).await
            {
                agent_stop_blocks += 1;
                lock(&session.state).history.push(Message::User {
                    content: vec![ContentPart::Text { text: reason }],
                });
                continue;
            }
            break;
        }

        let outcome = run_tools(session, &calls, cancel).await;
        {
            let mut state = lock(&session.state);
            for (call, (text, result_type)) in calls.iter().zip(outcome.results) {
                state.history.push(Message::Tool {
                    call_id: call.id.clone(),
                    content: text,
                    is_error: result_type != ToolResultType::Success,
                });
            }
        }
        session.bus.emit(EventData::TurnEnd(turn()));
        if outcome.aborted {
            aborted = true;
            break;
        }
        if outcome.stop {
            break;
        }
        // The model call and its tool results are committed before the next call.
        if let Err(e) = session.persist().await {
            failure = Some(e);
            break;
        }
    }
    if let Some(e) = &failure {
        session
            .bus
            .emit(EventData::SessionError(SessionErrorData::from_error(e)));
    }
    // Everything of this send is committed before its session.idle is delivered. A store that
    // fails here fails the send (the session stays usable; the next commit retries what is
    // missing).
    if let (Err(e), None) = (session.persist().await, &failure) {
        session
            .bus
            .emit(EventData::SessionError(SessionErrorData::from_error(&e)));
    }
    session.bus.emit(EventData::SessionIdle(SessionIdleData {
        aborted: aborted.then_some(true),
    }));
}

/// The arguments as a JSON value; text that is not JSON stays a string.
fn arguments_value(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_owned()))
}

/// JSON text without insignificant whitespace, keys in the order given (unlike a round trip through
/// `serde_json::Value`, which sorts them).
pub(crate) fn compact_json(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    if out.is_empty() { "{}".to_owned() } else { out }
}

/// The outcome of one tool call.
struct CallOutcome {
    /// What the model sees.
    text: String,
    result_type: ToolResultType,
    /// For the host when it differs from `text` (a raising handler's real message).
    host_error: Option<String>,
    /// The turn ends after this message's calls (rejected, or refused by the permission handler).
    stop: bool,
    /// `onPreToolUse` asked to keep the result out of `tool.execution_complete`.
    suppress: bool,
}

impl CallOutcome {
    fn failure(text: String) -> Self {
        CallOutcome {
            text,
            result_type: ToolResultType::Failure,
            host_error: None,
            stop: false,
            suppress: false,
        }
    }
}

/// What `onPreToolUse` decided for a call, before it starts.
#[derive(Default)]
struct PreTool {
    /// The arguments the handler receives (the model's, or the hook's `modifiedArgs`).
    arguments: Option<String>,
    decision: Option<hooks::HookDecision>,
    reason: Option<String>,
    context: Option<String>,
    suppress: bool,
    /// The hook failed: the call fails with this.
    failed: Option<String>,
}

/// Runs `onPreToolUse` for `call`.
async fn pre_tool_hook(session: &SessionInner, call: &ToolCall) -> PreTool {
    let hooks = &session.settings.hooks;
    if !hooks.has(HookKind::PreToolUse) {
        return PreTool::default();
    }
    let kind = HookKind::PreToolUse;
    let input = json!({"toolName": call.name, "toolArgs": arguments_value(&call.arguments)});
    match hooks
        .call(session, kind, input)
        .await
        .and_then(|v| hooks::output::<hooks::PreToolUseOutput>(kind, v))
    {
        Ok(out) => PreTool {
            arguments: out.modified_args.map(|a| a.to_string()),
            decision: out.permission_decision,
            reason: out.permission_decision_reason,
            context: out.additional_context,
            suppress: out.suppress_output,
            failed: None,
        },
        Err(e) => PreTool {
            failed: Some(e.to_string()),
            ..PreTool::default()
        },
    }
}

/// Runs `onPostToolUse` (success) or `onPostToolUseFailure` on a finished call; the outcome the
/// model then sees.
async fn post_tool_hook(
    session: &SessionInner,
    call: &ToolCall,
    mut outcome: CallOutcome,
) -> CallOutcome {
    let hooks = &session.settings.hooks;
    let success = outcome.result_type == ToolResultType::Success;
    let kind = if success {
        HookKind::PostToolUse
    } else {
        HookKind::PostToolUseFailure
    };
    if !hooks.has(kind) || outcome.result_type == ToolResultType::Denied {
        return outcome;
    }
    let args = arguments_value(&call.arguments);
    let input = if success {
        json!({"toolName": call.name, "toolArgs": args,
               "toolResult": {"textResultForLlm": outcome.text, "resultType": outcome.result_type}})
    } else {
        json!({"toolName": call.name, "toolArgs": args,
               "error": outcome.host_error.clone().unwrap_or_else(|| outcome.text.clone())})
    };
    let answer = hooks.call(session, kind, input).await;
    if success {
        match answer.and_then(|v| hooks::output::<hooks::PostToolUseOutput>(kind, v)) {
            Ok(out) => {
                if let Some(modified) = out.modified_result {
                    let r = super::tools::ToolResult::from_value(modified);
                    outcome.text = r.text_result_for_llm;
                    outcome.result_type = r.result_type;
                    outcome.stop |= r.result_type == ToolResultType::Rejected;
                }
                outcome.text = hooks::with_context(outcome.text, out.additional_context.as_deref());
            }
            Err(e) => {
                let message = e.to_string();
                outcome = CallOutcome::failure(format!(
                    "The tool `{}` ran, but its result could not be checked: {message}",
                    call.name
                ));
                outcome.host_error = Some(message);
            }
        }
    } else if let Ok(out) =
        answer.and_then(|v| hooks::output::<hooks::PostToolUseFailureOutput>(kind, v))
    {
        outcome.text = hooks::with_context(outcome.text, out.additional_context.as_deref());
    }
    outcome
}

struct ToolsOutcome {
    /// Per call, in order: the text the model sees and how it went.
    results: Vec<(String, ToolResultType)>,
    stop: bool,
    aborted: bool,
}

fn handler_failure(call: &ToolCall, message: String) -> CallOutcome {
    CallOutcome {
        text: format!(
            "Failed to execute `{}` tool with arguments: {} due to error: Error: Tool execution failed",
            call.name,
            compact_json(&call.arguments)
        ),
        result_type: ToolResultType::Failure,
        host_error: Some(message),
        stop: false,
        suppress: false,
    }
}

/// Runs one call: arguments, lookup, permission, handler.
async fn execute(
    session: Arc<SessionInner>,
    call: ToolCall,
    tool: Option<Tool>,
    available: Vec<String>,
    pre: PreTool,
) -> CallOutcome {
    let context = pre.context.clone();
    let suppress = pre.suppress;
    let mut outcome = run_call(&session, &call, tool, available, pre).await;
    outcome = post_tool_hook(&session, &call, outcome).await;
    outcome.text = hooks::with_context(outcome.text, context.as_deref());
    outcome.suppress = suppress;
    outcome
}

/// Checks, asks and runs one call.
async fn run_call(
    session: &SessionInner,
    call: &ToolCall,
    tool: Option<Tool>,
    available: Vec<String>,
    pre: PreTool,
) -> CallOutcome {
    if let Some(message) = pre.failed {
        let mut outcome = CallOutcome::failure(format!(
            "The tool `{}` could not run: a check before it failed.",
            call.name
        ));
        outcome.host_error = Some(message);
        return outcome;
    }
    if pre.decision == Some(hooks::HookDecision::Deny) {
        let mut text = format!("The tool call `{}` was denied by policy.", call.name);
        if let Some(reason) = pre.reason.filter(|r| !r.is_empty()) {
            text.push_str(" Reason: ");
            text.push_str(&reason);
        }
        return CallOutcome {
            text,
            result_type: ToolResultType::Denied,
            host_error: None,
            stop: false,
            suppress: false,
        };
    }
    let session_id = session.id.clone();
    let permission = session.settings.permission.clone();
    let raw = pre.arguments.as_deref().unwrap_or(&call.arguments);
    let arguments: Value = match serde_json::from_str(raw) {
        Ok(v) => v,
        Err(e) => {
            return CallOutcome::failure(format!(
                "Invalid JSON arguments for tool `{}`: {e}. Call it again with the arguments as a JSON \
                 object matching its schema.",
                call.name
            ));
        }
    };
    let Some(tool) = tool else {
        let text = if available.is_empty() {
            format!("Tool '{}' does not exist.", call.name)
        } else {
            format!(
                "Tool '{}' does not exist. Available tools that can be called are {}.",
                call.name,
                available.join(", ")
            )
        };
        return CallOutcome::failure(text);
    };
    let approval = super::approval_key(&call.name, tool.mcp_origin());
    let approved = || lock(&session.state).approved_tools.contains(&approval);
    let allowed = pre.decision == Some(hooks::HookDecision::Allow) || approved();
    // Held while asking; checked again once held, for an approve-for-session given meanwhile.
    let gate = match (&permission, tool.skips_permission(), allowed) {
        (Some(_), false, false) => Some(session.permission_gate.lock().await),
        _ => None,
    };
    let allowed = allowed || (gate.is_some() && approved());
    if let (Some(handler), false, false) = (&permission, tool.skips_permission(), allowed) {
        let request = PermissionRequest {
            kind: if tool.mcp_origin().is_some() {
                "mcp"
            } else {
                "custom-tool"
            }
            .to_owned(),
            session_id: session_id.clone(),
            server_name: tool.mcp_origin().map(|(s, _)| s.to_owned()),
            tool_name: tool
                .mcp_origin()
                .map_or_else(|| call.name.clone(), |(_, t)| t.to_owned()),
            tool_call_id: call.id.clone(),
            arguments: arguments.clone(),
        };
        let request_id = crate::util::new_id();
        session
            .bus
            .emit(EventData::PermissionRequested(PermissionRequestedData {
                request_id: request_id.clone(),
                permission_request: serde_json::to_value(&request).unwrap_or(Value::Null),
            }));
        let decision = handler.decide(request).await;
        session
            .bus
            .emit(EventData::PermissionCompleted(PermissionCompletedData {
                request_id,
                result: PermissionResultData {
                    kind: decision.kind().to_owned(),
                },
            }));
        let denied = |text: String, stop: bool| CallOutcome {
            text,
            result_type: ToolResultType::Denied,
            host_error: None,
            stop,
            suppress: false,
        };
        match decision {
            PermissionDecision::ApproveOnce => {}
            PermissionDecision::ApproveForSession => {
                lock(&session.state).approved_tools.insert(approval);
            }
            PermissionDecision::Reject { feedback } => {
                let mut text = "The user rejected this tool call.".to_owned();
                if let Some(f) = feedback.filter(|f| !f.is_empty()) {
                    text.push_str(" Feedback: ");
                    text.push_str(&f);
                }
                return denied(text, true);
            }
            PermissionDecision::UserNotAvailable => {
                return denied(
                    "The user is not available to approve this tool call, so it was not run."
                        .to_owned(),
                    false,
                );
            }
            PermissionDecision::NoResult => {
                return denied(
                    "No permission decision was made for this tool call, so it was not run."
                        .to_owned(),
                    false,
                );
            }
        }
    }
    drop(gate);
    let invocation = ToolInvocation {
        session_id,
        tool_call_id: call.id.clone(),
        tool_name: call.name.clone(),
        arguments: arguments.clone(),
        traceparent: traceparent(),
    };
    let running = tool.call(arguments, invocation);
    let finished = match tool.timeout() {
        Some(limit) => match tokio::time::timeout(limit, running).await {
            Ok(r) => r,
            Err(_) => {
                let text = format!(
                    "The tool `{}` did not finish within {} ms and was stopped.",
                    call.name,
                    limit.as_millis()
                );
                let mut outcome = CallOutcome::failure(text.clone());
                outcome.host_error = Some(text);
                return outcome;
            }
        },
        None => running.await,
    };
    match finished {
        Ok(result) => CallOutcome {
            stop: result.result_type == ToolResultType::Rejected,
            host_error: result.error,
            text: result.text_result_for_llm,
            result_type: result.result_type,
            suppress: false,
        },
        Err(e) => handler_failure(call, e.to_string()),
    }
}

/// Runs the calls of one assistant message, at most [`TOOL_CONCURRENCY`] at a time, emitting
/// `tool.execution_start` as each begins and `tool.execution_complete` as each ends.
async fn run_tools(
    session: &Arc<SessionInner>,
    calls: &[ToolCall],
    cancel: &CancellationToken,
) -> ToolsOutcome {
    let s = &session.settings;
    let mcp_tools = s.mcp.as_ref().map(|hub| hub.tools());
    let all_tools = || {
        s.tools
            .iter()
            .chain(mcp_tools.iter().flat_map(|t| t.iter()))
    };
    let available: Vec<String> = all_tools().map(|t| t.name().to_owned()).collect();
    let mut results: Vec<Option<(String, ToolResultType)>> = vec![None; calls.len()];
    let mut tasks = FuturesUnordered::new();
    let mut handles = Vec::new();
    let mut next = 0;
    let mut stop = false;
    loop {
        while tasks.len() < TOOL_CONCURRENCY && next < calls.len() && !cancel.is_cancelled() {
            let call = calls[next].clone();
            // onPreToolUse runs in the order of the calls, before each starts; the start event
            // shows the arguments the handler will get.
            let pre = tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                pre = pre_tool_hook(session, &call) => pre,
            };
            let shown = ToolCall {
                arguments: pre
                    .arguments
                    .clone()
                    .unwrap_or_else(|| call.arguments.clone()),
                ..call.clone()
            };
            emit_start(session, &shown);
            let tool = all_tools().find(|t| t.name() == call.name).cloned();
            let span = if tracing::enabled!(tracing::Level::INFO) {
                tracing::info_span!(
                    "execute_tool",
                    otel.name = %format!("execute_tool {}", call.name),
                    gen_ai.operation.name = "execute_tool",
                    gen_ai.tool.name = %call.name,
                    gen_ai.tool.call.id = %call.id,
                )
            } else {
                tracing::Span::none()
            };
            let task = tokio::spawn(tracing::Instrument::instrument(
                execute(session.clone(), call, tool, available.clone(), pre),
                span,
            ));
            handles.push(task.abort_handle());
            let index = next;
            tasks.push(task.map(move |r| (index, r)));
            next += 1;
        }
        if tasks.is_empty() {
            break;
        }
        let done = tokio::select! {
            biased;
            _ = cancel.cancelled() => None,
            d = tasks.next() => d,
        };
        let Some((index, joined)) = done else {
            for h in &handles {
                h.abort();
            }
            session.bus.emit(EventData::Abort(AbortData {
                reason: "user_initiated".to_owned(),
            }));
            for (i, call) in calls.iter().enumerate() {
                if results[i].is_some() {
                    continue;
                }
                if i >= next {
                    emit_start(session, call);
                }
                emit_complete(
                    session,
                    call,
                    &CallOutcome {
                        text: INTERRUPTED.to_owned(),
                        result_type: ToolResultType::Failure,
                        host_error: Some(INTERRUPTED.to_owned()),
                        stop: false,
                        suppress: false,
                    },
                    Some("interrupted"),
                );
                results[i] = Some((INTERRUPTED.to_owned(), ToolResultType::Failure));
            }
            return ToolsOutcome {
                results: results.into_iter().flatten().collect(),
                stop: false,
                aborted: true,
            };
        };
        let call = &calls[index];
        let outcome = match joined {
            Ok(o) => o,
            Err(e) if e.is_panic() => {
                let message = panic_message(&e.into_panic());
                tracing::warn!(tool = %call.name, %message, "a tool handler panicked");
                handler_failure(call, format!("the tool handler panicked: {message}"))
            }
            Err(_) => handler_failure(call, "the tool task was cancelled".to_owned()),
        };
        emit_complete(session, call, &outcome, None);
        stop |= outcome.stop;
        results[index] = Some((outcome.text, outcome.result_type));
    }
    ToolsOutcome {
        results: results.into_iter().flatten().collect(),
        stop,
        aborted: false,
    }
}

fn emit_start(session: &SessionInner, call: &ToolCall) {
    session
        .bus
        .emit(EventData::ToolExecutionStart(ToolExecutionStartData {
            tool_call_id: call.id.clone(),
            tool_name: call.name.clone(),
            arguments: arguments_value(&call.arguments),
        }));
}

fn emit_complete(
    session: &SessionInner,
    call: &ToolCall,
    outcome: &CallOutcome,
    code: Option<&str>,
) {
    let success = outcome.result_type == ToolResultType::Success && code.is_none();
    session.bus.emit(EventData::ToolExecutionComplete(
        ToolExecutionCompleteData {
            tool_call_id: call.id.clone(),
            success,
            result: (!outcome.suppress).then(|| ToolResultContent {
                content: outcome.text.clone(),
            }),
            error: (!success).then(|| ToolErrorData {
                message: outcome
                    .host_error
                    .clone()
                    .unwrap_or_else(|| outcome.text.clone()),
                code: Some(code.unwrap_or(outcome.result_type.as_str()).to_owned()),
            }),
        },
    ));
}

/// Asks `onErrorOccurred` what to do about `error` (abort when it fails or says nothing).
async fn error_hook(session: &SessionInner, error: &Error, context: &str) -> hooks::ErrorHandling {
    let kind = HookKind::ErrorOccurred;
    let input = json!({
        "error": error.to_string(),
        "errorContext": context,
        "recoverable": error.is_retryable(),
    });
    session
        .settings
        .hooks
        .call(session, kind, input)
        .await
        .and_then(|v| hooks::output::<hooks::ErrorOccurredOutput>(kind, v))
        .ok()
        .and_then(|o| o.error_handling)
        .unwrap_or(hooks::ErrorHandling::Abort)
}

/// Asks `onAgentStop` whether the send may end; the reason to go on when it blocks.
async fn agent_stop_hook(session: &SessionInner, answer: &str) -> Option<String> {
    let hooks = &session.settings.hooks;
    if !hooks.has(HookKind::AgentStop) {
        return None;
    }
    let kind = HookKind::AgentStop;
    let out = hooks
        .call(session, kind, json!({"finalAnswer": answer}))
        .await
        .and_then(|v| hooks::output::<hooks::AgentStopOutput>(kind, v))
        .ok()?;
    match (out.decision.as_deref(), out.reason) {
        (Some("block"), Some(reason)) if !reason.trim().is_empty() => Some(reason),
        _ => None,
    }
}

/// Makes a history cut short by a dying process valid again: tool calls of the last assistant
/// message that have no result get the interrupted result, as after an abort.
pub(crate) fn repair_history(history: &mut Vec<Message>) {
    let Some(last_assistant) = history
        .iter()
        .rposition(|m| matches!(m, Message::Assistant { .. }))
    else {
        return;
    };
    let Message::Assistant { tool_calls, .. } = &history[last_assistant] else {
        return;
    };
    let answered: std::collections::HashSet<&str> = history[last_assistant + 1..]
        .iter()
        .filter_map(|m| match m {
            Message::Tool { call_id, .. } => Some(call_id.as_str()),
            _ => None,
        })
        .collect();
    let missing: Vec<Message> = tool_calls
        .iter()
        .filter(|c| !answered.contains(c.id.as_str()))
        .map(|c| Message::Tool {
            call_id: c.id.clone(),
            content: INTERRUPTED.to_owned(),
            is_error: true,
        })
        .collect();
    history.extend(missing);
}

#[cfg(test)]
mod tests {
    use super::{INTERRUPTED, compact_json, repair_history};
    use crate::types::{ContentPart, Message, ToolCall};

    #[test]
    fn a_history_cut_mid_tools_gets_interrupted_results_for_the_missing_calls() {
        let call = |id: &str| ToolCall {
            id: id.into(),
            name: "t".into(),
            arguments: "{}".into(),
        };
        let user = Message::User {
            content: vec![ContentPart::Text { text: "go".into() }],
        };
        let assistant = Message::Assistant {
            text: String::new(),
            tool_calls: vec![call("a"), call("b")],
            reasoning: Vec::new(),
        };
        let done = Message::Tool {
            call_id: "a".into(),
            content: "ok".into(),
            is_error: false,
        };
        let mut history = vec![user.clone(), assistant.clone(), done.clone()];
        repair_history(&mut history);
        let interrupted = Message::Tool {
            call_id: "b".into(),
            content: INTERRUPTED.into(),
            is_error: true,
        };
        assert_eq!(
            history,
            [user.clone(), assistant.clone(), done.clone(), interrupted]
        );
        // A complete history is left as it is.
        let before = history.clone();
        repair_history(&mut history);
        assert_eq!(history, before);
        let mut only_user = vec![user.clone()];
        repair_history(&mut only_user);
        assert_eq!(only_user, [user]);
    }

    #[test]
    fn compact_json_keeps_order_and_string_whitespace() {
        assert_eq!(compact_json(""), "{}");
        assert_eq!(compact_json("  "), "{}");
        assert_eq!(
            compact_json("{ \"b\": 1,\n \"a\": \"x y \\\" z\" }"),
            "{\"b\":1,\"a\":\"x y \\\" z\"}"
        );
    }
}
