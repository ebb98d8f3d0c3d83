//! `mp_session`: sending, waiting, aborting and the session's events (see core's `Session`).

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use modelport::{SendOptions, Session};
use tokio_util::sync::CancellationToken;

use crate::error::{FfiError, MP_OK, MpStatus, set_last_error};
use crate::gate::Gate;
use crate::runtime::{Rt, blocking, call_out, in_callback};
use crate::util::{
    UserData, c_string, guard, guard_void, handle, opt_out_param, out_param, owned_string, str_arg,
};

/// A session (opaque): a conversation with one model, its tools and its events.
#[derive(Debug)]
pub struct MpSession {
    pub(crate) session: Session,
    pub(crate) rt: Arc<Rt>,
    /// In front of the tool handlers, event listeners and send completions of this handle.
    pub(crate) gate: Arc<Gate>,
    /// In front of the permission callback, the hooks and the token provider: closed after the
    /// disconnect, which may run `onSessionEnd`.
    host_gate: Arc<Gate>,
    /// Cancelled when the handle is freed: pending `mp_session_send_async` calls complete at once.
    freed: CancellationToken,
    id: CString,
}

impl MpSession {
    /// A new handle for the caller.
    pub(crate) fn into_raw(
        session: Session,
        rt: Arc<Rt>,
        gate: Arc<Gate>,
        host_gate: Arc<Gate>,
    ) -> *mut MpSession {
        let id = c_string(session.id());
        Box::into_raw(Box::new(MpSession {
            session,
            rt,
            gate,
            host_gate,
            freed: CancellationToken::new(),
            id,
        }))
    }
}

/// Called when a non-blocking send ends, on a modelport runtime thread.
///
/// `status` is `MP_OK` or the error's code. On success `result_json` is the send's last
/// `assistant.message` event (JSON) or NULL when the send ended without one, and `error_message` is
/// NULL. On failure `result_json` is NULL, `error_message` says what went wrong, and
/// `mp_last_error_message` / `mp_last_error_json` on this thread return the same error during the
/// call. The strings are valid only during the call.
pub type MpSendDoneFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        status: MpStatus,
        result_json: *const c_char,
        error_message: *const c_char,
    ),
>;

fn timeout(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

/// The session id. Owned by the session handle: valid until `mp_session_free`; do not free it.
/// NULL when `session` is NULL.
///
/// # Safety
/// `session` is NULL or a live session.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_session_id(session: *mut MpSession) -> *const c_char {
    // SAFETY: the caller's contract.
    match unsafe { session.as_ref() } {
        Some(s) => s.id.as_ptr(),
        None => std::ptr::null(),
    }
}

/// Sends a message and returns at once: the send runs in the background (queued after a running one).
/// `options_json` is `{"prompt": "...", "attachments": [{"type": "blob", "data": base64, "mimeType":
/// "image/png"}], "requestHeaders": {...}}`, plus model controls that override the session's for this
/// message: `"temperature"`, `"topP"`, `"stop"`, `"seed"`, `"maxOutputTokens"`, `"reasoningEffort"`,
/// `"toolChoice"`, `"parallelToolCalls"`, `"extraBody"`, `"maxTurns"`, `"responseFormat"`. When
/// `message_id` is not NULL it receives the id of the send's `user.message` event (free it with
/// `mp_string_free`). Follow the send through events.
///
/// # Safety
/// `session` is a live session; `options_json` a NUL-terminated string; `message_id` NULL or valid for
/// one pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_session_send(
    session: *mut MpSession,
    options_json: *const c_char,
    message_id: *mut *mut c_char,
) -> MpStatus {
    guard("mp_session_send", || {
        // SAFETY: the caller's contract.
        let id_out = unsafe { opt_out_param(message_id) };
        // SAFETY: the caller's contract.
        let s = unsafe { handle(session, "session") }?;
        // SAFETY: the caller's contract.
        let options = SendOptions::from_json(unsafe { str_arg(options_json, "options_json") }?)?;
        let id = s.rt.block_on(s.session.send(options))?;
        if let Some(out) = id_out {
            *out = owned_string(id);
        }
        Ok(())
    })
}

/// Sends a message and blocks until the session is idle again.
///
/// On success `*result_json` is the send's last `assistant.message` event as JSON (read its text with
/// `mp_json_pointer(json, "/data/content", ...)`), or NULL when the send ended without one; free it
/// with `mp_string_free`. `timeout_ms` is how long to wait (0: 60 seconds); on timeout this returns
/// `MP_ERR_TIMEOUT` and the send keeps running. An aborted send returns `MP_ERR_CANCELLED`; a failed
/// one its error. Must not be called inside a modelport callback (`MP_ERR_USAGE`): use
/// `mp_session_send_async` there.
///
/// # Safety
/// `session` is a live session; `options_json` a NUL-terminated string; `result_json` valid for one
/// pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_session_send_and_wait(
    session: *mut MpSession,
    options_json: *const c_char,
    timeout_ms: u64,
    result_json: *mut *mut c_char,
) -> MpStatus {
    guard("mp_session_send_and_wait", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(result_json, "result_json") }?;
        // SAFETY: the caller's contract.
        let s = unsafe { handle(session, "session") }?;
        if in_callback() {
            return Err(FfiError::usage(
                "mp_session_send_and_wait cannot be called inside a modelport callback (it could \
                 wait for the callback itself): use mp_session_send_async",
            ));
        }
        // SAFETY: the caller's contract.
        let options = SendOptions::from_json(unsafe { str_arg(options_json, "options_json") }?)?;
        let last =
            s.rt.block_on(s.session.send_and_wait(options, timeout(timeout_ms)))?;
        if let Some(event) = last {
            *out = owned_string(event.json());
        }
        Ok(())
    })
}

/// Sends a message without blocking; `done` is called exactly once when the send has ended (see
/// `mp_send_done_fn`), also when it fails, is aborted, times out (`timeout_ms`, 0: 60 seconds) or the
/// session is freed first (then before `mp_session_free` returns, with `MP_ERR_CANCELLED`). Only
/// malformed arguments are reported by the return value, in which case `done` is never called.
///
/// # Safety
/// `session` is a live session; `options_json` a NUL-terminated string; `done` a valid function.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_session_send_async(
    session: *mut MpSession,
    options_json: *const c_char,
    timeout_ms: u64,
    done: MpSendDoneFn,
    user_data: *mut c_void,
) -> MpStatus {
    guard("mp_session_send_async", || {
        // SAFETY: the caller's contract.
        let s = unsafe { handle(session, "session") }?;
        // SAFETY: the caller's contract.
        let options = SendOptions::from_json(unsafe { str_arg(options_json, "options_json") }?)?;
        let done = done.ok_or_else(|| FfiError::usage("`done` is NULL"))?;
        let user_data = UserData(user_data);
        let reservation = s.gate.reserve();
        let session = s.session.clone();
        let freed = s.freed.clone();
        let wait = timeout(timeout_ms);
        s.rt.handle().spawn(async move {
            let result = tokio::select! {
                r = session.send_and_wait(options, wait) => r,
                () = freed.cancelled() => Err(modelport::Error::cancelled(
                    "the session handle was freed before the send finished",
                )),
            };
            let Some(_entered) = reservation.enter() else {
                return;
            };
            // On success the last message's JSON (or none), on failure the error's message.
            let (status, json, message) = match result.map_err(FfiError::from) {
                Ok(last) => (MP_OK, last.map(|e| c_string(e.json())), None),
                Err(e) => {
                    set_last_error(&e);
                    (e.code(), None, Some(c_string(e.message())))
                }
            };
            let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
            call_out(|| {
                // SAFETY: `done` and `user_data` are the caller's; the strings live until the call
                // returns.
                unsafe { done(user_data.get(), status, ptr(&json), ptr(&message)) }
            });
        });
        Ok(())
    })
}

/// Aborts the running send (queued sends still run) and blocks until it has ended: its waiters get
/// `MP_ERR_CANCELLED`, the session emits `abort`, interrupted tool results and an aborted
/// `session.idle`. May be called from a callback, including a tool handler of the send itself.
///
/// # Safety
/// `session` is a live session.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_session_abort(session: *mut MpSession) -> MpStatus {
    guard("mp_session_abort", || {
        // SAFETY: the caller's contract.
        let s = unsafe { handle(session, "session") }?;
        s.rt.block_on(s.session.abort());
        Ok(())
    })
}

/// The session's persisted (non-ephemeral) events so far, as a JSON array in order (after a resume,
/// those of earlier processes too). Free
/// `*events_json` with `mp_string_free`.
///
/// # Safety
/// `session` is a live session; `events_json` valid for one pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_session_get_events(
    session: *mut MpSession,
    events_json: *mut *mut c_char,
) -> MpStatus {
    guard("mp_session_get_events", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(events_json, "events_json") }?;
        // SAFETY: the caller's contract.
        let s = unsafe { handle(session, "session") }?;
        *out = owned_string(s.session.get_events_json());
        Ok(())
    })
}

/// Compacts the history now and blocks until done: waits for the running send, then summarises the
/// older turns with the session's own model, as an automatic compaction of `infiniteSessions` would
/// (see `mp_client_create_session`), emitting `session.compaction_start`, the summary call's
/// `assistant.usage` and `session.compaction_complete` (`{"success", "error"?,
/// "preCompactionTokens", "postCompactionTokens", "messagesRemoved"}`; `success` is false when there
/// was nothing older than the last turn to compact). Must not be called inside a modelport callback
/// (`MP_ERR_USAGE`).
///
/// # Safety
/// `session` is a live session.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_session_compact(session: *mut MpSession) -> MpStatus {
    guard("mp_session_compact", || {
        // SAFETY: the caller's contract.
        let s = unsafe { handle(session, "session") }?;
        if in_callback() {
            return Err(FfiError::usage(
                "mp_session_compact cannot be called inside a modelport callback (it waits for the \
                 running send, which may wait for the callback itself)",
            ));
        }
        s.rt.block_on(s.session.compact())?;
        Ok(())
    })
}

/// Switches the model for the next model calls (validated like at creation: `MP_ERR_CONFIG`).
///
/// # Safety
/// `session` is a live session; `model` a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_session_set_model(
    session: *mut MpSession,
    model: *const c_char,
) -> MpStatus {
    guard("mp_session_set_model", || {
        // SAFETY: the caller's contract.
        let s = unsafe { handle(session, "session") }?;
        // SAFETY: the caller's contract.
        let model = unsafe { str_arg(model, "model") }?;
        s.rt.block_on(s.session.set_model(model))?;
        Ok(())
    })
}

/// Frees a session: disconnects it (aborts a running send and waits until it has ended, runs the
/// `onSessionEnd` hook when installed, writes what the session store does not have yet and gives the
/// session up; it stays in the store for `mp_client_resume_session`), completes pending
/// `mp_session_send_async` calls with `MP_ERR_CANCELLED`, and waits for callbacks in progress on
/// other threads. After it returns, no callback of this session (tools, events, send completions,
/// `mp_session_callbacks`) runs again, so their `user_data` may be released. Subscriptions from
/// `mp_session_on` stop delivering; free them too. NULL is ignored.
///
/// # Safety
/// `session` is NULL or a live session, not used again afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_session_free(session: *mut MpSession) {
    if session.is_null() {
        return;
    }
    guard_void("mp_session_free", || {
        // SAFETY: by the contract, a live session from this library, freed once.
        let s = unsafe { Box::from_raw(session) };
        blocking(|| {
            s.gate.close();
            s.rt.block_on(s.session.disconnect());
            s.host_gate.close();
            s.freed.cancel();
            s.gate.drain();
        });
        drop(s);
    });
}
