//! `mp_replay`: the loopback replay provider (recorded conversations in the Copilot snapshot YAML
//! format), so C programs and tests work offline.

use std::ffi::{CString, c_char};
use std::sync::Arc;

use modelport::replay::{ReplayConfig, ReplayServer};

use crate::error::{FfiError, MpStatus};
use crate::runtime::Rt;
use crate::util::{
    c_string, guard, guard_void, handle, opt_str_arg, out_param, owned_string, str_arg,
};

/// A running replay server (opaque), stopped and freed by `mp_replay_stop`.
#[derive(Debug)]
pub struct MpReplay {
    server: ReplayServer,
    rt: Arc<Rt>,
    url: CString,
    openai_url: CString,
}

/// Starts a replay provider on 127.0.0.1.
///
/// `source` is a path to a snapshot YAML file or a directory of them, or the YAML text itself (any
/// string containing a newline is taken as YAML). `options_json` is NULL or `{"port": 0,
/// "deltaChars": 200, "chunkDelayMs": 0, "record": true, "fallback": "text", "contextWindow": 3000}`
/// (port 0 picks a free port; deltaChars is the size of streamed text deltas; chunkDelayMs pauses
/// between streamed events; fallback answers a request no conversation matches; a request larger
/// than contextWindow tokens, its JSON body's bytes / 4, gets the wire format's context-length
/// error). On success `*out` is the server; stop and free it with `mp_replay_stop`.
///
/// # Safety
/// `source` is a NUL-terminated string; `options_json` NULL or one; `out` valid for one pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_replay_start(
    source: *const c_char,
    options_json: *const c_char,
    out: *mut *mut MpReplay,
) -> MpStatus {
    guard("mp_replay_start", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the caller's contract.
        let source = unsafe { str_arg(source, "source") }?;
        // SAFETY: the caller's contract.
        let json = unsafe { opt_str_arg(options_json, "options_json") }?;
        let config = ReplayConfig::from_json(json.unwrap_or_default())?;
        let rt = Rt::new("modelport-replay", Some(1))?;
        let server = rt.block_on(ReplayServer::from_source(source, config))?;
        *out = Box::into_raw(Box::new(MpReplay {
            url: c_string(server.url()),
            openai_url: c_string(server.openai_url()),
            server,
            rt,
        }));
        Ok(())
    })
}

/// The server's base URL, `http://127.0.0.1:PORT` (the base URL for "anthropic" and "azure"
/// providers; `/openai/v1/` appended for Azure AI Foundry's route). Owned by the server: valid until
/// `mp_replay_stop`. NULL when `replay` is NULL.
///
/// # Safety
/// `replay` is NULL or a live replay server.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_replay_url(replay: *mut MpReplay) -> *const c_char {
    // SAFETY: the caller's contract.
    unsafe { replay.as_ref() }.map_or(std::ptr::null(), |r| r.url.as_ptr())
}

/// `http://127.0.0.1:PORT/v1`, the base URL for an "openai" provider. Valid like `mp_replay_url`.
///
/// # Safety
/// `replay` is NULL or a live replay server.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_replay_openai_url(replay: *mut MpReplay) -> *const c_char {
    // SAFETY: the caller's contract.
    unsafe { replay.as_ref() }.map_or(std::ptr::null(), |r| r.openai_url.as_ptr())
}

/// How many requests the server has received.
///
/// # Safety
/// `replay` is a live replay server.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_replay_request_count(
    replay: *mut MpReplay,
    count: *mut u64,
) -> MpStatus {
    guard("mp_replay_request_count", || {
        // SAFETY: the caller's contract.
        let r = unsafe { handle(replay, "replay") }?;
        // SAFETY: the caller's contract.
        let count = unsafe { count.as_mut() }.ok_or_else(|| FfiError::usage("`count` is NULL"))?;
        *count = r.server.request_count();
        Ok(())
    })
}

/// The requests the server has received (it records unless started with `"record": false`): on
/// success `*requests_json` is a JSON array `[{"method", "path", "headers", "body"}]` (`body` the
/// parsed JSON body, null when it had none); free it with `mp_string_free`.
///
/// # Safety
/// `replay` is a live replay server; `requests_json` is valid for one pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_replay_requests(
    replay: *mut MpReplay,
    requests_json: *mut *mut c_char,
) -> MpStatus {
    guard("mp_replay_requests", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(requests_json, "requests_json") }?;
        // SAFETY: the caller's contract.
        let r = unsafe { handle(replay, "replay") }?;
        *out = owned_string(r.server.requests_json().to_string());
        Ok(())
    })
}

/// Stops the server, closes its connections, and frees it. NULL is ignored.
///
/// # Safety
/// `replay` is NULL or a live replay server, not used again afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_replay_stop(replay: *mut MpReplay) {
    if replay.is_null() {
        return;
    }
    guard_void("mp_replay_stop", || {
        // SAFETY: by the contract, a live server from `mp_replay_start`, freed once.
        let r = unsafe { Box::from_raw(replay) };
        r.rt.block_on(r.server.stop());
        drop(r);
    });
}
