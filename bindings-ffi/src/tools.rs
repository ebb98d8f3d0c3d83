//! Tools implemented in C: the `mp_tool` description, the handler callback, and the result the
//! handler fills in; and the permission callback that may refuse a call before it runs.

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use modelport::{PermissionHandler, Tool, ToolError, ToolInvocation, ToolResult};
use serde_json::{Value, json};

use crate::error::{FfiError, MpStatus};
use crate::gate::{Gate, call_blocking};
use crate::util::{FfiResult, UserData, c_string, guard, str_arg};

/// A tool handler.
///
/// Called on a modelport blocking-pool thread (never on the thread that called into the library),
/// once per call the model makes; parallel calls run concurrently on several threads. `arguments_json`
/// is the call's arguments (a JSON object, `{}` when empty); `invocation_json` is
/// `{"sessionId", "toolCallId", "toolName", "arguments"}`. Both strings are valid only during the call.
///
/// Report the outcome through `result` with one of `mp_tool_result_set_text`,
/// `mp_tool_result_set_json` or `mp_tool_result_set_error` (the last call wins; none at all means an
/// empty text result). `result` is valid only during the call. The handler may block (it has its own
/// thread) and may call `mp_session_abort`; it must not call `mp_session_send_and_wait`.
pub type MpToolFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        arguments_json: *const c_char,
        invocation_json: *const c_char,
        result: *mut MpToolResult,
    ),
>;

/// A tool the model may call, given to `mp_client_create_session`. The strings are copied: they
/// only need to live until that call returns.
#[repr(C)]
#[derive(Debug)]
pub struct MpTool {
    /// The tool name the model calls (unique within the session).
    pub name: *const c_char,
    /// What the tool does, for the model.
    pub description: *const c_char,
    /// The JSON schema of the arguments; NULL for `{"type":"object","properties":{}}`.
    pub parameters_json: *const c_char,
    /// The handler.
    pub handler: MpToolFn,
    /// Passed back to `handler` unchanged.
    pub user_data: *mut c_void,
}

/// The outcome a tool handler reports (opaque; valid only during the handler call).
#[derive(Debug, Default)]
pub struct MpToolResult {
    outcome: Option<Result<ToolResult, String>>,
}

/// One C tool of one session.
#[derive(Debug)]
struct CTool {
    handler: unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *mut MpToolResult),
    user_data: UserData,
}

impl CTool {
    /// Calls the C handler on the current thread.
    fn invoke(&self, arguments: &CString, invocation: &CString) -> Result<ToolResult, String> {
        let mut result = MpToolResult::default();
        // SAFETY: the handler and user_data come from the caller's `mp_tool`; the strings and
        // `result` live until the call returns, as the handler's contract says.
        unsafe {
            (self.handler)(
                self.user_data.get(),
                arguments.as_ptr(),
                invocation.as_ptr(),
                &raw mut result,
            )
        };
        result.outcome.unwrap_or_else(|| Ok(ToolResult::text("")))
    }
}

/// The core tools of the caller's `tools[0..count]`, calling back through `gate`.
///
/// # Safety
/// `tools` is NULL (with `count` 0) or points to `count` valid `mp_tool` values.
pub(crate) unsafe fn build_tools(
    tools: *const MpTool,
    count: usize,
    gate: &Arc<Gate>,
) -> FfiResult<Vec<Tool>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if tools.is_null() {
        return Err(FfiError::usage(format!(
            "`tools` is NULL but `tool_count` is {count}"
        )));
    }
    // SAFETY: not NULL, and `count` valid elements by the caller's contract.
    let tools = unsafe { std::slice::from_raw_parts(tools, count) };
    tools
        .iter()
        .enumerate()
        .map(|(i, t)| {
            // SAFETY: the strings of a valid `mp_tool` are NULL or NUL-terminated.
            let name = unsafe { str_arg(t.name, &format!("tools[{i}].name")) }?;
            // SAFETY: as above.
            let description =
                unsafe { str_arg(t.description, &format!("tools[{i}].description")) }?;
            let parameters = if t.parameters_json.is_null() {
                json!({"type": "object", "properties": {}})
            } else {
                // SAFETY: as above.
                let text =
                    unsafe { str_arg(t.parameters_json, &format!("tools[{i}].parameters_json")) }?;
                Tool::parameters_from_json(name, text)?
            };
            let handler = t.handler.ok_or_else(|| {
                FfiError::usage(format!("tools[{i}] (\"{name}\"): `handler` is NULL"))
            })?;
            let tool = Arc::new(CTool {
                handler,
                user_data: UserData(t.user_data),
            });
            let gate = gate.clone();
            Ok(Tool::new(
                name,
                description,
                parameters,
                move |args: Value, inv: ToolInvocation| {
                    let tool = tool.clone();
                    let gate = gate.clone();
                    let arguments = c_string(args.to_string());
                    let invocation = c_string(serde_json::to_string(&inv).unwrap_or_default());
                    async move {
                        call_blocking(&gate, "session", move || {
                            tool.invoke(&arguments, &invocation)
                        })
                        .await
                        .and_then(|outcome| outcome)
                        .map_err(ToolError::from)
                    }
                },
            ))
        })
        .collect()
}

/// Sets the tool's result to `text`, which the model sees as is. Returns `MP_ERR_USAGE` when
/// `result` or `text` is NULL or `text` is not UTF-8.
///
/// # Safety
/// `result` is the pointer the handler received, during the handler call; `text` is a NUL-terminated
/// string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_tool_result_set_text(
    result: *mut MpToolResult,
    text: *const c_char,
) -> MpStatus {
    guard("mp_tool_result_set_text", || {
        // SAFETY: the caller's contract.
        let result =
            unsafe { result.as_mut() }.ok_or_else(|| FfiError::usage("`result` is NULL"))?;
        // SAFETY: the caller's contract.
        let text = unsafe { str_arg(text, "text") }?;
        result.outcome = Some(Ok(ToolResult::text(text)));
        Ok(())
    })
}

/// Sets the tool's result from JSON: a string is the text; an object with `textResultForLlm` (and
/// `resultType`: "success", "failure", "denied" or "rejected") is a full result; anything else is
/// given to the model as compact JSON with sorted keys. Returns `MP_ERR_CONFIG` when `json` is not
/// valid JSON (the call then counts as failed, with that message).
///
/// # Safety
/// As `mp_tool_result_set_text`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_tool_result_set_json(
    result: *mut MpToolResult,
    json: *const c_char,
) -> MpStatus {
    guard("mp_tool_result_set_json", || {
        // SAFETY: the caller's contract.
        let result =
            unsafe { result.as_mut() }.ok_or_else(|| FfiError::usage("`result` is NULL"))?;
        // SAFETY: the caller's contract.
        let json = unsafe { str_arg(json, "json") }?;
        match ToolResult::from_json(json) {
            Ok(r) => {
                result.outcome = Some(Ok(r));
                Ok(())
            }
            Err(e) => {
                let message = format!("mp_tool_result_set_json: {}", e.message());
                result.outcome = Some(Err(message.clone()));
                Err(modelport::Error::config(message).into())
            }
        }
    })
}

/// Reports that the tool failed with `message`. As when a handler raises in other languages, the
/// model is told only that the tool failed; `message` goes to the application in the
/// `tool.execution_complete` event (`error.message`).
///
/// # Safety
/// As `mp_tool_result_set_text`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_tool_result_set_error(
    result: *mut MpToolResult,
    message: *const c_char,
) -> MpStatus {
    guard("mp_tool_result_set_error", || {
        // SAFETY: the caller's contract.
        let result =
            unsafe { result.as_mut() }.ok_or_else(|| FfiError::usage("`result` is NULL"))?;
        // SAFETY: the caller's contract.
        let message = unsafe { str_arg(message, "message") }?;
        result.outcome = Some(Err(message.to_owned()));
        Ok(())
    })
}

/// A permission callback: decides whether a tool call may run, before it runs.
///
/// Called on a modelport blocking-pool thread (never on the thread that called into the library),
/// once per tool call that needs a decision (not for a tool approved for the session, nor when an
/// `onPreToolUse` hook allowed the call). `request_json` is `{"kind": "custom-tool", "sessionId",
/// "toolName", "toolCallId", "arguments"}`, valid only during the call.
///
/// Answer through `reply` with `mp_permission_reply_set_json`, in the Copilot SDK's form:
/// `{"kind": "approved"}` (this call), `{"kind": "approve-for-session"}` (this call and every later
/// call of the tool in this session, also after a resume), `{"kind":
/// "denied-interactively-by-user", "feedback": "..."}` (not run; the turn ends, and the model gets
/// "The user rejected this tool call. Feedback: ..." with the next message), `{"kind":
/// "user-not-available"}` or `{"kind": "no-result"}` (not run; the model is told why and the turn
/// goes on). `{"kind": "reject"}` and every other `denied-...` kind refuse as
/// `denied-interactively-by-user` does; so does a callback that answers nothing, or anything that is
/// not a decision (refusing is the safe side). `reply` is valid only during the call. The callback
/// may block (it has its own thread) and may call `mp_session_abort`; it must not call
/// `mp_session_send_and_wait`.
pub type MpPermissionFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        request_json: *const c_char,
        reply: *mut MpPermissionReply,
    ),
>;

/// The decision a permission callback reports (opaque; valid only during the callback).
#[derive(Debug, Default)]
pub struct MpPermissionReply {
    answer: Option<Value>,
}

/// The core permission handler calling `callback` through `gate` (core's
/// [`PermissionHandler::from_host`] reads the answer); no answer, or a freed session, refuses the
/// call.
pub(crate) fn permission_handler(
    callback: unsafe extern "C" fn(*mut c_void, *const c_char, *mut MpPermissionReply),
    user_data: *mut c_void,
    gate: &Arc<Gate>,
) -> PermissionHandler {
    let user_data = UserData(user_data);
    let gate = gate.clone();
    PermissionHandler::from_host(move |json| {
        let gate = gate.clone();
        let json = c_string(json);
        async move {
            call_blocking(&gate, "session", move || {
                let mut reply = MpPermissionReply::default();
                // SAFETY: the callback and user_data are the caller's; the string and `reply` live
                // until the call returns, as the callback's contract says.
                unsafe { callback(user_data.get(), json.as_ptr(), &raw mut reply) };
                reply.answer
            })
            .await
        }
    })
}

/// Sets the permission decision from JSON: `{"kind": "approved"}`, `{"kind":
/// "approve-for-session"}`, `{"kind": "denied-interactively-by-user", "feedback": "..."}`, `{"kind":
/// "user-not-available"}`, `{"kind": "no-result"}` (see `mp_permission_fn`; the last call wins).
/// Returns `MP_ERR_CONFIG` when `json` is not valid JSON (the call is then refused).
///
/// # Safety
/// `reply` is the pointer the callback received, during the callback; `json` is a NUL-terminated
/// string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_permission_reply_set_json(
    reply: *mut MpPermissionReply,
    json: *const c_char,
) -> MpStatus {
    guard("mp_permission_reply_set_json", || {
        // SAFETY: the caller's contract.
        let reply = unsafe { reply.as_mut() }.ok_or_else(|| FfiError::usage("`reply` is NULL"))?;
        // SAFETY: the caller's contract.
        let json = unsafe { str_arg(json, "json") }?;
        match serde_json::from_str::<Value>(json) {
            Ok(answer) => {
                reply.answer = Some(answer);
                Ok(())
            }
            Err(e) => {
                reply.answer = None;
                Err(modelport::Error::config(format!(
                    "mp_permission_reply_set_json: the decision is not valid JSON ({e}): the call is \
                     refused"
                ))
                .into())
            }
        }
    })
}
