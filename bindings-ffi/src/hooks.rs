//! Session hooks implemented in C: one callback for the hooks a session installs, and the reply it
//! fills in (core's `SessionHooks`, one JSON function per hook).

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use modelport::session::hooks::{HookResult, SessionHooks};

use crate::error::{FfiError, MpStatus};
use crate::gate::{Gate, call_blocking};
use crate::util::{FfiResult, UserData, c_string, guard, str_arg};

/// A session hook callback, installed for the hooks named in `mp_session_callbacks.hooks`.
///
/// Called on a modelport blocking-pool thread (never on the thread that called into the library)
/// each time one of those hooks runs; the session waits for the answer (at most the session
/// config's `hookTimeoutMs`, default 30 seconds, after which the hook counts as failed).
/// `hook_name` is the hook's Copilot SDK name ("onPreToolUse", "onPostToolUse",
/// "onPostToolUseFailure", "onUserPromptSubmitted", "onSessionStart", "onSessionEnd",
/// "onErrorOccurred", "onAgentStop"); `input_json` its input object, with
/// `sessionId` and `timestamp` (e.g. onPreToolUse `{"toolName", "toolArgs"}`, onPostToolUse
/// `{"toolName", "toolArgs", "toolResult"}`, onUserPromptSubmitted `{"prompt"}`, onSessionEnd
/// `{"reason"}`). Both strings are valid only during the call.
///
/// Answer through `reply`: `mp_hook_reply_set_json` with the hook's output object (onPreToolUse
/// `{"permissionDecision": "allow" | "deny" | "ask", "permissionDecisionReason", "modifiedArgs",
/// "additionalContext", "suppressOutput"}`, onPostToolUse `{"modifiedResult", "additionalContext"}`,
/// onUserPromptSubmitted `{"modifiedPrompt", "additionalContext"}`, onSessionStart
/// `{"additionalContext"}`, onErrorOccurred `{"errorHandling": "retry" | "skip" | "abort"}`,
/// onAgentStop `{"decision": "block", "reason"}`), or `mp_hook_reply_set_error` when the hook failed:
/// that fails its tool call (the model is told the call could not run; the turn goes on), or for
/// onUserPromptSubmitted its send (`MP_ERR_HOOK`); the session stays usable. No call means no output.
/// Each call is framed by `hook.start` and `hook.end` events. `reply` is valid only during the call.
/// The callback may block; it must not call `mp_session_send_and_wait`, and must not abort or free
/// its own session (both wait for the send, which waits for the hook).
pub type MpHookFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        hook_name: *const c_char,
        input_json: *const c_char,
        reply: *mut MpHookReply,
    ),
>;

/// What a hook callback answers (opaque; valid only during the callback).
#[derive(Debug, Default)]
pub struct MpHookReply {
    outcome: Option<HookResult>,
}

/// Core's session hooks for the comma-separated `names` ("onPreToolUse,onPostToolUse"; the hook
/// types "preToolUse", ... work too), each calling `callback` through `gate`.
pub(crate) fn build_hooks(
    names: &str,
    callback: unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *mut MpHookReply),
    user_data: *mut c_void,
    gate: &Arc<Gate>,
) -> FfiResult<SessionHooks> {
    let user_data = UserData(user_data);
    let names = names.split(',').map(str::trim).filter(|n| !n.is_empty());
    let hooks = SessionHooks::from_host(
        names.map(|n| (n, gate.clone())),
        move |gate, kind, input| {
            let gate = gate.clone();
            let hook_name = c_string(kind.config_name());
            let input = c_string(input);
            async move {
                call_blocking(&gate, "session", move || {
                    let mut reply = MpHookReply::default();
                    // SAFETY: the callback and user_data are the caller's; the strings and
                    // `reply` live until the call returns, as the callback's contract says.
                    unsafe {
                        callback(
                            user_data.get(),
                            hook_name.as_ptr(),
                            input.as_ptr(),
                            &raw mut reply,
                        )
                    };
                    reply.outcome.unwrap_or(Ok(None))
                })
                .await
            }
        },
    )?;
    Ok(hooks)
}

/// Sets the hook's output from JSON: an object in the hook's output shape (see `mp_hook_fn`), or
/// `null` for no output. The last call wins. Returns `MP_ERR_CONFIG` when `json` is not valid JSON
/// (the hook then fails with that message).
///
/// # Safety
/// `reply` is the pointer the callback received, during the callback; `json` is a NUL-terminated
/// string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_hook_reply_set_json(
    reply: *mut MpHookReply,
    json: *const c_char,
) -> MpStatus {
    guard("mp_hook_reply_set_json", || {
        // SAFETY: the caller's contract.
        let reply = unsafe { reply.as_mut() }.ok_or_else(|| FfiError::usage("`reply` is NULL"))?;
        // SAFETY: the caller's contract.
        let json = unsafe { str_arg(json, "json") }?;
        let outcome = modelport::session::hooks::output_from_json(Some(json))
            .map_err(|e| format!("mp_hook_reply_set_json: {e}"));
        reply.outcome = Some(outcome.clone());
        outcome
            .map(drop)
            .map_err(|e| modelport::Error::config(e).into())
    })
}

/// Reports that the hook failed with `message` (see `mp_hook_fn` for what that fails). The message
/// appears in the `hook.end` event and in the error of what failed.
///
/// # Safety
/// As `mp_hook_reply_set_json`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_hook_reply_set_error(
    reply: *mut MpHookReply,
    message: *const c_char,
) -> MpStatus {
    guard("mp_hook_reply_set_error", || {
        // SAFETY: the caller's contract.
        let reply = unsafe { reply.as_mut() }.ok_or_else(|| FfiError::usage("`reply` is NULL"))?;
        // SAFETY: the caller's contract.
        let message = unsafe { str_arg(message, "message") }?;
        reply.outcome = Some(Err(message.to_owned()));
        Ok(())
    })
}
