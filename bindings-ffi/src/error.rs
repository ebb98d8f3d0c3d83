//! The one mapping from modelport errors to C: a status code per core error kind, and the
//! thread-local "last error" (message and JSON record) that the C caller reads after a failure.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};

use modelport::{Error, ErrorKind};
use serde_json::{Value, json};

use crate::util::c_string;

/// The status every fallible function returns: `MP_OK` (0) or an `MP_ERR_*` code.
pub type MpStatus = i32;

/// Success.
pub const MP_OK: MpStatus = 0;
/// The API was misused: a NULL pointer, a string that is not UTF-8, or a blocking call made inside a
/// modelport callback.
pub const MP_ERR_USAGE: MpStatus = 1;
/// Bad configuration or arguments (including malformed JSON): the message names the field and the fix.
pub const MP_ERR_CONFIG: MpStatus = 2;
/// The provider rejected the credentials (HTTP 401).
pub const MP_ERR_AUTH: MpStatus = 3;
/// The credentials are valid but lack access (HTTP 403).
pub const MP_ERR_PERMISSION_DENIED: MpStatus = 4;
/// The model, deployment or route does not exist (HTTP 404).
pub const MP_ERR_NOT_FOUND: MpStatus = 5;
/// Too many requests, or quota exhausted (HTTP 429).
pub const MP_ERR_RATE_LIMITED: MpStatus = 6;
/// The provider rejected the request itself (HTTP 400, 413, 422, ...).
pub const MP_ERR_INVALID_REQUEST: MpStatus = 7;
/// The conversation does not fit the model's context window.
pub const MP_ERR_CONTEXT_LENGTH: MpStatus = 8;
/// The provider failed or is overloaded (HTTP 5xx, 529).
pub const MP_ERR_SERVER: MpStatus = 9;
/// A timeout fired (connect, first byte, idle, total, or the wait of mp_session_send_and_wait).
pub const MP_ERR_TIMEOUT: MpStatus = 10;
/// The connection failed or the stream ended early.
pub const MP_ERR_TRANSPORT: MpStatus = 11;
/// The provider sent something that is not valid for its wire format.
pub const MP_ERR_DECODE: MpStatus = 12;
/// A tool could not be run.
pub const MP_ERR_TOOL: MpStatus = 13;
/// The work was aborted (mp_session_abort, mp_client_stop, or the session handle was freed).
pub const MP_ERR_CANCELLED: MpStatus = 14;
/// A safety limit was reached (tool-loop iterations).
pub const MP_ERR_LIMIT: MpStatus = 15;
/// A bug inside modelport: a Rust panic was caught at the boundary. The message says where.
pub const MP_ERR_PANIC: MpStatus = 16;
/// An error kind newer than this header.
pub const MP_ERR_OTHER: MpStatus = 17;
/// `mp_client_resume_session` named a session the session store does not have.
pub const MP_ERR_SESSION_NOT_FOUND: MpStatus = 18;
/// `mp_client_create_session` named a `sessionId` the session store already has.
pub const MP_ERR_SESSION_EXISTS: MpStatus = 19;
/// Another client holds the session (see `sessionLease.waitMs`), or took it over from this one.
pub const MP_ERR_SESSION_BUSY: MpStatus = 20;
/// The session store failed; the session stays usable in memory and nothing committed is lost.
pub const MP_ERR_STORAGE: MpStatus = 21;
/// A session hook failed (it failed its tool call, or for `onUserPromptSubmitted` its send).
pub const MP_ERR_HOOK: MpStatus = 22;
/// Structured output: the answer does not match the schema after the corrective retry; the JSON
/// record carries `rawOutput` and `validationErrors`.
pub const MP_ERR_INVALID_OUTPUT: MpStatus = 23;

/// An error on its way to C: a status code and what the caller can read about it.
#[derive(Debug)]
pub(crate) struct FfiError {
    code: MpStatus,
    record: Value,
}

impl FfiError {
    /// Misuse of the API (NULL pointer, bad UTF-8, blocking inside a callback).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        FfiError {
            code: MP_ERR_USAGE,
            record: json!({"code": "usage", "message": message.into()}),
        }
    }

    /// A Rust panic caught at the boundary.
    pub(crate) fn panic(function: &str, payload: &(dyn std::any::Any + Send)) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        FfiError {
            code: MP_ERR_PANIC,
            record: json!({
                "code": "panic",
                "message": format!("internal error in {function}: {what} (please report this bug)"),
            }),
        }
    }

    /// The status code.
    pub(crate) fn code(&self) -> MpStatus {
        self.code
    }

    /// The human-readable message.
    pub(crate) fn message(&self) -> &str {
        self.record["message"].as_str().unwrap_or_default()
    }

    /// The JSON record `{code, message, status?, providerCode?, ...}`.
    pub(crate) fn record(&self) -> &Value {
        &self.record
    }
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        FfiError {
            code: status_of(e.kind()),
            record: e.to_json_record(),
        }
    }
}

/// Each core error kind's status and its name (the kind's `as_str`).
const KINDS: [(ErrorKind, MpStatus, &CStr); 20] = [
    (ErrorKind::Config, MP_ERR_CONFIG, c"config"),
    (ErrorKind::Auth, MP_ERR_AUTH, c"auth"),
    (
        ErrorKind::PermissionDenied,
        MP_ERR_PERMISSION_DENIED,
        c"permission_denied",
    ),
    (ErrorKind::NotFound, MP_ERR_NOT_FOUND, c"not_found"),
    (ErrorKind::RateLimited, MP_ERR_RATE_LIMITED, c"rate_limited"),
    (
        ErrorKind::InvalidRequest,
        MP_ERR_INVALID_REQUEST,
        c"invalid_request",
    ),
    (
        ErrorKind::ContextLength,
        MP_ERR_CONTEXT_LENGTH,
        c"context_length",
    ),
    (ErrorKind::Server, MP_ERR_SERVER, c"server"),
    (ErrorKind::Timeout, MP_ERR_TIMEOUT, c"timeout"),
    (ErrorKind::Transport, MP_ERR_TRANSPORT, c"transport"),
    (ErrorKind::Decode, MP_ERR_DECODE, c"decode"),
    (ErrorKind::Tool, MP_ERR_TOOL, c"tool"),
    (ErrorKind::Cancelled, MP_ERR_CANCELLED, c"cancelled"),
    (ErrorKind::Limit, MP_ERR_LIMIT, c"limit"),
    (
        ErrorKind::SessionNotFound,
        MP_ERR_SESSION_NOT_FOUND,
        c"session_not_found",
    ),
    (
        ErrorKind::SessionExists,
        MP_ERR_SESSION_EXISTS,
        c"session_exists",
    ),
    (ErrorKind::SessionBusy, MP_ERR_SESSION_BUSY, c"session_busy"),
    (ErrorKind::Storage, MP_ERR_STORAGE, c"storage"),
    (ErrorKind::Hook, MP_ERR_HOOK, c"hook"),
    (
        ErrorKind::InvalidOutput,
        MP_ERR_INVALID_OUTPUT,
        c"invalid_output",
    ),
];

/// The names of the statuses that are no core kind.
const OTHERS: [(MpStatus, &CStr); 4] = [
    (MP_OK, c"ok"),
    (MP_ERR_USAGE, c"usage"),
    (MP_ERR_PANIC, c"panic"),
    (MP_ERR_OTHER, c"other"),
];

/// The status code of a core error kind.
fn status_of(kind: ErrorKind) -> MpStatus {
    KINDS
        .iter()
        .find(|(k, ..)| *k == kind)
        .map_or(MP_ERR_OTHER, |(_, status, _)| *status)
}

/// What `mp_last_error_message` and `mp_last_error_json` return on this thread.
struct LastError {
    message: CString,
    json: CString,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

/// Records `e` as this thread's last error.
pub(crate) fn set_last_error(e: &FfiError) {
    let last = LastError {
        message: c_string(e.message()),
        json: c_string(e.record().to_string()),
    };
    LAST_ERROR.with(|slot| *slot.borrow_mut() = Some(last));
}

/// The message of the last failed call on the calling thread, or "" when none failed.
///
/// The string belongs to the library: do not free it. It stays valid until the next call on this
/// thread that fails (each failure replaces it). Inside an `mp_send_done_fn` callback that reports an
/// error, it is that error's message.
#[unsafe(no_mangle)]
pub extern "C" fn mp_last_error_message() -> *const c_char {
    LAST_ERROR.with(|slot| {
        slot.borrow()
            .as_ref()
            .map_or(c"".as_ptr(), |e| e.message.as_ptr())
    })
}

/// The last error of the calling thread as a JSON object, or "" when none failed:
/// `{"code": "rate_limited", "message": "...", "status": 429, "providerCode": ..., "requestId": ...,
/// "retryAfterMs": ..., "timeoutKind": ..., "errorType": "rate_limit", "retryable": true}`
/// (`code` is the name `mp_status_name` gives; fields the error does not have are null or absent).
///
/// Owned by the library, valid like `mp_last_error_message`.
#[unsafe(no_mangle)]
pub extern "C" fn mp_last_error_json() -> *const c_char {
    LAST_ERROR.with(|slot| {
        slot.borrow()
            .as_ref()
            .map_or(c"".as_ptr(), |e| e.json.as_ptr())
    })
}

/// The stable name of a status code: "ok", "usage", "config", "auth", "permission_denied",
/// "not_found", "rate_limited", "invalid_request", "context_length", "server", "timeout", "transport",
/// "decode", "tool", "cancelled", "limit", "panic", "other", "session_not_found", "session_exists",
/// "session_busy", "storage", "hook", "invalid_output"; "unknown" for any other number.
/// A static string: never free it.
#[unsafe(no_mangle)]
pub extern "C" fn mp_status_name(status: MpStatus) -> *const c_char {
    let kinds = KINDS.iter().map(|(_, status, name)| (*status, *name));
    kinds
        .chain(OTHERS)
        .find(|(s, _)| *s == status)
        .map_or(c"unknown", |(_, name)| name)
        .as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_status_whose_name_is_the_kind() {
        let mut seen = std::collections::HashSet::new();
        for (kind, status, _) in KINDS {
            assert_eq!(status_of(kind), status);
            assert!(seen.insert(status), "{kind:?}");
            // SAFETY: mp_status_name returns a static NUL-terminated string.
            let name = unsafe { std::ffi::CStr::from_ptr(mp_status_name(status)) };
            assert_eq!(name.to_str().ok(), Some(kind.as_str()));
        }
        for (status, _) in OTHERS {
            assert!(seen.insert(status), "{status}");
        }
    }

    #[test]
    fn every_core_kind_has_its_own_status() {
        for kind in ErrorKind::ALL {
            assert_ne!(
                status_of(kind),
                MP_ERR_OTHER,
                "{kind:?} has no row in KINDS"
            );
        }
    }
}
