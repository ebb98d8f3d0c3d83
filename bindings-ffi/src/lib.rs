#![doc = include_str!("../README.md")]
//!
//! The Rust side of the C ABI: every exported function converts its arguments, calls core, and maps
//! the outcome to a status code. No provider logic lives here. The header `include/modelport.h` is
//! generated from these sources by `build.rs` (cbindgen).

mod client;
mod error;
mod events;
mod gate;
mod hooks;
mod logging;
mod models;
#[cfg(test)]
mod overhead;
mod provider;
mod replay;
mod runtime;
mod session;
mod tools;
mod util;

pub use client::{
    MpClient, MpClientCallbacks, MpSessionCallbacks, mp_client_create_session,
    mp_client_create_session_ex, mp_client_delete_session, mp_client_free,
    mp_client_get_last_session_id, mp_client_get_session_metadata, mp_client_list_models,
    mp_client_list_sessions, mp_client_new, mp_client_new_ex, mp_client_resume_session,
    mp_client_resume_session_ex, mp_client_stop,
};
pub use error::{
    MP_ERR_AUTH, MP_ERR_CANCELLED, MP_ERR_CONFIG, MP_ERR_CONTEXT_LENGTH, MP_ERR_DECODE,
    MP_ERR_INVALID_REQUEST, MP_ERR_LIMIT, MP_ERR_NOT_FOUND, MP_ERR_OTHER, MP_ERR_PANIC,
    MP_ERR_PERMISSION_DENIED, MP_ERR_RATE_LIMITED, MP_ERR_SERVER, MP_ERR_SESSION_BUSY,
    MP_ERR_SESSION_EXISTS, MP_ERR_SESSION_NOT_FOUND, MP_ERR_STORAGE, MP_ERR_TIMEOUT, MP_ERR_TOOL,
    MP_ERR_TRANSPORT, MP_ERR_USAGE, MP_OK, MpStatus, mp_last_error_json, mp_last_error_message,
    mp_status_name,
};
pub use events::{MpEventFn, MpSubscription, mp_session_on, mp_subscription_free};
pub use hooks::{MpHookFn, MpHookReply, mp_hook_reply_set_error, mp_hook_reply_set_json};
pub use logging::{MpLogFn, mp_set_log_handler};
pub use models::{
    MpListModelsFn, MpListModelsReply, mp_list_models_reply_set_error,
    mp_list_models_reply_set_json,
};
pub use provider::{MpTokenFn, MpTokenReply, mp_token_reply_set_error, mp_token_reply_set_token};
pub use replay::{
    MpReplay, mp_replay_openai_url, mp_replay_request_count, mp_replay_start, mp_replay_stop,
    mp_replay_url,
};
pub use session::{
    MpSendDoneFn, MpSession, mp_session_abort, mp_session_compact, mp_session_free,
    mp_session_get_events, mp_session_id, mp_session_send, mp_session_send_and_wait,
    mp_session_send_async, mp_session_set_model,
};
pub use tools::{
    MpPermissionFn, MpPermissionReply, MpTool, MpToolFn, MpToolResult,
    mp_permission_reply_set_json, mp_tool_result_set_error, mp_tool_result_set_json,
    mp_tool_result_set_text,
};
pub use util::{mp_json_pointer, mp_string_free, mp_version};
