//! Tools implemented in the foreign language: an async [`ToolHandler`] behind a [`Tool`]; and the
//! [`PermissionHandler`] that may refuse a call before it runs.

use std::sync::Arc;

use serde_json::Value;

use crate::error::{CallbackError, ModelportError, ToolCallError};
use modelport::ToolResultType;

/// How a tool call went, as the model and the loop see it (core's type).
#[uniffi::remote(Enum)]
pub enum ToolResultType {
    /// It worked.
    Success,
    /// It failed; the model sees the text and the loop continues.
    Failure,
    /// It was refused; the model sees the text and the loop continues.
    Denied,
    /// It was rejected; the turn ends without another model call.
    Rejected,
}

/// A tool's answer: `text` is what the model sees.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ToolReply {
    /// What the model sees.
    pub text: String,
    /// How the call went (none: success). An `Option` because uniffi's Python output cannot default
    /// an enum field.
    #[uniffi(default = None)]
    pub result_type: Option<ToolResultType>,
}

/// What a handler is told about the call.
#[derive(Clone, Debug, uniffi::Record)]
pub struct ToolInvocation {
    /// The session.
    pub session_id: String,
    /// The provider's call id.
    pub tool_call_id: String,
    /// The tool name.
    pub tool_name: String,
}

/// A tool implementation. `arguments_json` is the call's arguments as a JSON object. Runs on the
/// foreign language's event loop (Python: the loop given to `uniffi_set_event_loop`); parallel calls
/// run concurrently; an aborted call is cancelled. Raising [`ToolCallError`] (or anything else) fails
/// the call.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait ToolHandler: Send + Sync {
    /// Runs the tool.
    async fn call(
        &self,
        arguments_json: String,
        invocation: ToolInvocation,
    ) -> Result<ToolReply, ToolCallError>;
}

/// A tool the model may call: name, description, JSON schema of the arguments, and the handler.
#[derive(Debug, uniffi::Object)]
pub struct Tool {
    pub(crate) inner: modelport::Tool,
}

#[uniffi::export]
impl Tool {
    /// A tool. `parameters_json` is the JSON schema of the arguments (`{"type": "object",
    /// "properties": {...}}`).
    #[uniffi::constructor]
    pub fn new(
        name: String,
        description: String,
        parameters_json: String,
        handler: Arc<dyn ToolHandler>,
    ) -> Result<Arc<Self>, ModelportError> {
        let parameters = modelport::Tool::parameters_from_json(&name, &parameters_json)?;
        let inner = modelport::Tool::new(name, description, parameters, move |args: Value, inv| {
            let handler = handler.clone();
            let invocation = ToolInvocation {
                session_id: inv.session_id,
                tool_call_id: inv.tool_call_id,
                tool_name: inv.tool_name,
            };
            async move {
                match handler.call(args.to_string(), invocation).await {
                    Ok(reply) => Ok(modelport::ToolResult {
                        text_result_for_llm: reply.text,
                        result_type: reply.result_type.unwrap_or_default(),
                        ..Default::default()
                    }),
                    Err(e) => Err(e.to_string().into()),
                }
            }
        });
        Ok(Arc::new(Tool { inner }))
    }
}

/// Decides whether a tool call may run (`onPermissionRequest`), given with
/// [`SessionCallbacks`](crate::SessionCallbacks). `request_json` is `{"kind": "custom-tool", "sessionId", "toolName",
/// "toolCallId", "arguments"}`; the answer is the decision as JSON, in the Copilot SDK's form:
/// `{"kind": "approved"}`, `{"kind": "approve-for-session"}` (the tool is not asked about again in
/// this session), `{"kind": "denied-interactively-by-user", "feedback": "..."}` (not run; the turn
/// ends), `{"kind": "user-not-available"}` or `{"kind": "no-result"}` (not run; the turn goes on).
/// Raising, or answering anything that is not a decision, refuses the call as a denial does.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait PermissionHandler: Send + Sync {
    /// The decision for one call.
    async fn decide(&self, request_json: String) -> Result<String, CallbackError>;
}

/// Core's permission handler asking `handler` (core's [`modelport::PermissionHandler::from_host`]
/// reads the answer; a raised error refuses the call).
pub(crate) fn permission_handler(
    handler: Arc<dyn PermissionHandler>,
) -> modelport::PermissionHandler {
    modelport::PermissionHandler::from_host(move |json| {
        let handler = handler.clone();
        async move { handler.decide(json).await }
    })
}
