//! `mp_client`: the entry point (see core's `Client`).

use std::ffi::{c_char, c_int};
use std::sync::Arc;

use modelport::{Client, ClientOptions, SessionConfig};
use serde_json::Value;

use crate::error::MpStatus;
use crate::gate::Gate;
use crate::runtime::Rt;
use crate::session::MpSession;
use crate::tools::{MpTool, build_tools};
use crate::util::{
    FfiResult, guard, guard_void, handle, opt_out_param, opt_str_arg, out_param, owned_string,
    str_arg,
};

/// A modelport client (opaque): the default provider, the connection pool and the sessions.
#[derive(Debug)]
pub struct MpClient {
    pub(crate) client: Client,
    pub(crate) rt: Arc<Rt>,
}

impl MpClient {
    /// Opens a session from the caller's JSON and tools (resuming `id` when given) and returns its
    /// new handle; the tools call back through the handle's gate.
    ///
    /// # Safety
    /// As `mp_client_create_session`.
    unsafe fn open_session(
        &self,
        id: Option<&str>,
        config_json: *const c_char,
        tools: *const MpTool,
        tool_count: usize,
    ) -> FfiResult<*mut MpSession> {
        // SAFETY: the caller's contract.
        let mut config = SessionConfig::from_json(unsafe { str_arg(config_json, "config_json") }?)?;
        let gate = Arc::new(Gate::default());
        // SAFETY: the caller's contract.
        config.tools = unsafe { build_tools(tools, tool_count, &gate) }?;
        let session = match id {
            Some(id) => self.rt.block_on(self.client.resume_session(id, config)),
            None => self.rt.block_on(self.client.create_session(config)),
        }?;
        Ok(MpSession::into_raw(session, self.rt.clone(), gate))
    }
}

/// Core's serialised form of `value` (these types always serialise), for the caller to free with
/// `mp_string_free`.
fn json_string(value: &impl serde::Serialize) -> *mut c_char {
    owned_string(serde_json::to_string(value).unwrap_or_default())
}

/// Creates a client.
///
/// `options_json` is NULL or a JSON object (the camelCase JSON of the Node API):
/// `{"provider": {"type": "openai", "baseUrl": "...", "apiKey": "...", "wireApi": "responses",
/// "azure": {"apiVersion": "..."}, "headers": {...}}, "retry": {"maxRetries": 2, ...},
/// "timeouts": {"connectMs": ..., "firstByteMs": ..., "idleMs": ..., "totalMs": ...},
/// "sessionStore": "sqlite:///abs/path.db", "sessionLease": {"ttlMs": 30000, "waitMs": 0},
/// "providers": [{"name": "local", ...provider}], "models": [{"id", "provider", "wireModel",
/// "maxPromptTokens", "maxOutputTokens"}]}`; every
/// field is optional (`provider` is the default for sessions that name none, and the one
/// `mp_client_list_models` asks). `sessionStore` is where sessions are kept: "memory" (this client
/// only), "sqlite:///absolute/path.db" or a "postgres://user:password@host:port/db" URL; default SQLite
/// at `$MODELPORT_HOME/sessions.db`. `sessionLease.ttlMs` is how long a holder that stops renewing keeps
/// a session, `waitMs` how long `mp_client_resume_session` waits for a session another client holds
/// (0: `MP_ERR_SESSION_BUSY` at once). `providers` and `models` are the provider registry (not
/// combined with `provider`): sessions then select a model as `"<provider>/<id>"`; a provider may
/// set `"nativeStructuredOutput": true` (Anthropic's native structured output). On success `*out` is the client; free it with `mp_client_free`. Bad JSON or an unknown field
/// gives `MP_ERR_CONFIG` with a message naming its path ("invalid client options at `retry.maxRetries`: ...").
///
/// # Safety
/// `options_json` is NULL or a NUL-terminated string; `out` is valid for one pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_client_new(
    options_json: *const c_char,
    out: *mut *mut MpClient,
) -> MpStatus {
    guard("mp_client_new", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the caller's contract.
        let json = unsafe { opt_str_arg(options_json, "options_json") }?;
        let options = ClientOptions::from_json(json.unwrap_or_default())?;
        let rt = Rt::new("modelport", None)?;
        let client = {
            let _context = rt.handle().enter();
            Client::new(options)?
        };
        *out = Box::into_raw(Box::new(MpClient { client, rt }));
        Ok(())
    })
}

/// Stops the client: aborts every running send, waits until each has ended, and disconnects every
/// session (their handles stay valid until freed, but can no longer send). When `errors_json` is not
/// NULL it receives a JSON array of the errors met while stopping (`[]` normally; free it with
/// `mp_string_free`). Blocks; may be called from a callback.
///
/// # Safety
/// `client` is a live client; `errors_json` is NULL or valid for one pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_client_stop(
    client: *mut MpClient,
    errors_json: *mut *mut c_char,
) -> MpStatus {
    guard("mp_client_stop", || {
        // SAFETY: the caller's contract.
        let errors_out = unsafe { opt_out_param(errors_json) };
        // SAFETY: the caller's contract.
        let c = unsafe { handle(client, "client") }?;
        let errors = c.rt.block_on(c.client.stop());
        if let Some(out) = errors_out {
            let list: Vec<Value> = errors
                .iter()
                .map(modelport::Error::to_json_record)
                .collect();
            *out = owned_string(Value::Array(list).to_string());
        }
        Ok(())
    })
}

/// Frees a client: stops it first when `mp_client_stop` was not called. Sessions created by it stay
/// valid until freed (they keep the client's threads alive). NULL is ignored.
///
/// # Safety
/// `client` is NULL or a live client, not used again afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_client_free(client: *mut MpClient) {
    if client.is_null() {
        return;
    }
    guard_void("mp_client_free", || {
        // SAFETY: by the contract, a live client from `mp_client_new`, freed once.
        let c = unsafe { Box::from_raw(client) };
        if !c.client.is_stopped() {
            c.rt.block_on(c.client.stop());
        }
        drop(c);
    });
}

/// The models available: the default provider's list endpoint, normalised. On success `*models_json`
/// is a JSON array `[{"id", "name", "capabilities": {"supports": {"vision", "reasoningEffort"},
/// "limits": {...}}}]`; free it with `mp_string_free`. Cached for the client's life. Blocks.
///
/// # Safety
/// `client` is a live client; `models_json` is valid for one pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_client_list_models(
    client: *mut MpClient,
    models_json: *mut *mut c_char,
) -> MpStatus {
    guard("mp_client_list_models", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(models_json, "models_json") }?;
        // SAFETY: the caller's contract.
        let c = unsafe { handle(client, "client") }?;
        *out = json_string(&c.rt.block_on(c.client.list_models())?);
        Ok(())
    })
}

/// The stored sessions, most recently modified first. On success `*sessions_json` is a JSON array
/// `[{"sessionId", "startTime", "modifiedTime", "summary", "model"}]` (times in RFC 3339 UTC;
/// `summary`, the first user message shortened, is absent before the first send); free it with
/// `mp_string_free`. Blocks.
///
/// # Safety
/// `client` is a live client; `sessions_json` is valid for one pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_client_list_sessions(
    client: *mut MpClient,
    sessions_json: *mut *mut c_char,
) -> MpStatus {
    guard("mp_client_list_sessions", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(sessions_json, "sessions_json") }?;
        // SAFETY: the caller's contract.
        let c = unsafe { handle(client, "client") }?;
        *out = json_string(&c.rt.block_on(c.client.list_sessions())?);
        Ok(())
    })
}

/// The id of the most recently modified session: on success `*session_id` is the id (free it with
/// `mp_string_free`), or NULL when the store has no session. Blocks.
///
/// # Safety
/// `client` is a live client; `session_id` is valid for one pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_client_get_last_session_id(
    client: *mut MpClient,
    session_id: *mut *mut c_char,
) -> MpStatus {
    guard("mp_client_get_last_session_id", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(session_id, "session_id") }?;
        // SAFETY: the caller's contract.
        let c = unsafe { handle(client, "client") }?;
        if let Some(id) = c.rt.block_on(c.client.get_last_session_id())? {
            *out = owned_string(id);
        }
        Ok(())
    })
}

/// One stored session's metadata: on success `*metadata_json` is the JSON object of
/// `mp_client_list_sessions` (free it with `mp_string_free`), or NULL when there is no such session.
/// Blocks.
///
/// # Safety
/// `client` is a live client; `session_id` a NUL-terminated string; `metadata_json` valid for one
/// pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_client_get_session_metadata(
    client: *mut MpClient,
    session_id: *const c_char,
    metadata_json: *mut *mut c_char,
) -> MpStatus {
    guard("mp_client_get_session_metadata", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(metadata_json, "metadata_json") }?;
        // SAFETY: the caller's contract.
        let c = unsafe { handle(client, "client") }?;
        // SAFETY: the caller's contract.
        let id = unsafe { str_arg(session_id, "session_id") }?;
        if let Some(meta) = c.rt.block_on(c.client.get_session_metadata(id))? {
            *out = json_string(&meta);
        }
        Ok(())
    })
}

/// Deletes a session from the store (a live session of this client is disconnected first; its
/// handle stays valid until freed, but can no longer send). When `deleted` is not NULL it receives 1,
/// or 0 when there was no such session. `MP_ERR_SESSION_BUSY` while another client holds it. Blocks.
///
/// # Safety
/// `client` is a live client; `session_id` a NUL-terminated string; `deleted` NULL or valid for one
/// write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_client_delete_session(
    client: *mut MpClient,
    session_id: *const c_char,
    deleted: *mut c_int,
) -> MpStatus {
    guard("mp_client_delete_session", || {
        // SAFETY: the caller's contract.
        let c = unsafe { handle(client, "client") }?;
        // SAFETY: the caller's contract.
        let id = unsafe { str_arg(session_id, "session_id") }?;
        let found = c.rt.block_on(c.client.delete_session(id))?;
        // SAFETY: the caller's contract: NULL or writable.
        if let Some(d) = unsafe { deleted.as_mut() } {
            *d = c_int::from(found);
        }
        Ok(())
    })
}

/// Creates a session.
///
/// `config_json` is the session config in the Copilot SDK's camelCase JSON (snake_case works too):
/// `{"model": "...", "provider": {...}, "streaming": true, "systemMessage": {"mode": "replace",
/// "content": "..."}, "reasoningEffort": "low", "availableTools": [...], "excludedTools": [...],
/// "sessionId": "...", "infiniteSessions": {"enabled": true, "backgroundCompactionThreshold": 0.80,
/// "bufferExhaustionThreshold": 0.95}, "temperature": 0.2, "topP": 0.9, "stop": ["..."], "seed": 7,
/// "maxOutputTokens": 1000, "extraBody": {...}, "maxTurns": 8, "responseFormat": {"type":
/// "json_schema", "name": "...", "schema": {...}, "strict": true} or {"type": "json_object"},
/// "fallbackModels": ["<provider>/<id>", ...]}`; `reasoningEffort` is "low", "medium", "high" or
/// "xhigh"; `extraBody` is merged into every request body. A tool call may meet
/// `permission.requested` / `permission.completed` and a session's model switch
/// `session.model_change` events. Infinite sessions (on by default) compact the history before
/// it outgrows the context window, the provider's `"maxPromptTokens"` (else the model list's
/// limits): after each model call a `session.usage_info` event reports `{"tokenLimit",
/// "currentTokens", "messagesLength"}`; at the background threshold a compaction runs after the
/// send, and a send that would cross the buffer threshold waits for one (see `mp_session_compact`
/// for its events); with `"enabled": false` an overlong conversation fails with
/// `MP_ERR_CONTEXT_LENGTH`. `tools` points to `tool_count` tools (NULL when 0); their handlers are called
/// until the session is freed. Errors name the field and the fix (`MP_ERR_CONFIG`): a missing model,
/// a bad base URL, the Azure endpoint confusions, duplicate tool names, unknown fields;
/// `MP_ERR_SESSION_EXISTS` when the session store already has `sessionId`. On success `*out` is the
/// session, stored as it runs; free it with `mp_session_free`.
///
/// # Safety
/// `client` is a live client; `config_json` a NUL-terminated string; `tools` NULL or `tool_count` valid
/// tools; `out` valid for one pointer write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_client_create_session(
    client: *mut MpClient,
    config_json: *const c_char,
    tools: *const MpTool,
    tool_count: usize,
    out: *mut *mut MpSession,
) -> MpStatus {
    guard("mp_client_create_session", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the caller's contract.
        let c = unsafe { handle(client, "client") }?;
        // SAFETY: the caller's contract.
        *out = unsafe { c.open_session(None, config_json, tools, tool_count) }?;
        Ok(())
    })
}

/// Resumes a stored session by id, in this process or any other sharing the session store, with a
/// new config: credentials and tools are given again; the model and the provider's endpoint default
/// to the stored ones. A live session of this client with that id is disconnected first. The
/// conversation and its events continue after a `session.resume` event (`{"resumeTime",
/// "eventCount"}`), unless the config has `"suppressResumeEvent": true`. `MP_ERR_SESSION_NOT_FOUND`
/// for an unknown id, `MP_ERR_SESSION_BUSY` while another client holds it (see `sessionLease` in
/// `mp_client_new`), `MP_ERR_STORAGE` when the store fails. Otherwise as `mp_client_create_session`.
///
/// # Safety
/// As `mp_client_create_session`; `session_id` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_client_resume_session(
    client: *mut MpClient,
    session_id: *const c_char,
    config_json: *const c_char,
    tools: *const MpTool,
    tool_count: usize,
    out: *mut *mut MpSession,
) -> MpStatus {
    guard("mp_client_resume_session", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the caller's contract.
        let c = unsafe { handle(client, "client") }?;
        // SAFETY: the caller's contract.
        let id = unsafe { str_arg(session_id, "session_id") }?;
        // SAFETY: the caller's contract.
        *out = unsafe { c.open_session(Some(id), config_json, tools, tool_count) }?;
        Ok(())
    })
}
