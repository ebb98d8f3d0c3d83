//! `mp_client`: the entry point (see core's `Client`).

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;

use modelport::{Client, ClientOptions, SessionConfig};
use serde_json::Value;

use crate::error::{FfiError, MpStatus};
use crate::gate::Gate;
use crate::hooks::{MpHookFn, build_hooks};
use crate::models::{MpListModelsFn, list_models_handler};
use crate::provider::{MpTokenFn, token_provider};
use crate::runtime::Rt;
use crate::session::MpSession;
use crate::tools::{MpPermissionFn, MpTool, build_tools, permission_handler};
use crate::util::{
    FfiResult, guard, guard_void, handle, opt_out_param, opt_str_arg, out_param, owned_string,
    str_arg,
};

/// A modelport client (opaque): the default provider, the connection pool and the sessions.
#[derive(Debug)]
pub struct MpClient {
    pub(crate) client: Client,
    pub(crate) rt: Arc<Rt>,
    /// In front of the client's own callbacks (`mp_client_callbacks`); closed by `mp_client_free`.
    gate: Arc<Gate>,
}

/// The client's callbacks, given to `mp_client_new_ex`. Every field may be NULL (not set). The
/// struct is read during the call only; the callbacks are called until `mp_client_free` returns.
#[repr(C)]
#[derive(Debug)]
pub struct MpClientCallbacks {
    /// The token provider of the default provider (`options_json`'s `"provider"`, which must be
    /// given): its bearer token, for sessions that name no provider and for `mp_client_list_models`.
    pub bearer_token_provider: MpTokenFn,
    /// Passed back to `bearer_token_provider` unchanged.
    pub token_user_data: *mut c_void,
    /// `onListModels`: the model list `mp_client_list_models` returns, instead of the provider's.
    pub on_list_models: MpListModelsFn,
    /// Passed back to `on_list_models` unchanged.
    pub list_models_user_data: *mut c_void,
}

/// A session's callbacks, given to `mp_client_create_session_ex` and `mp_client_resume_session_ex`.
/// Every field may be NULL (not set). The struct and its strings are read during the call only; the
/// callbacks are called until `mp_session_free` returns (`onSessionEnd` during it).
#[repr(C)]
#[derive(Debug)]
pub struct MpSessionCallbacks {
    /// `onPermissionRequest`: asked before each tool call (see `mp_permission_fn`). NULL: every call
    /// of the session's tools is approved.
    pub on_permission_request: MpPermissionFn,
    /// Passed back to `on_permission_request` unchanged.
    pub permission_user_data: *mut c_void,
    /// The hooks to install, comma-separated: "onPreToolUse,onPostToolUse" (any of the names in
    /// `mp_hook_fn`). Only these run, and only these emit `hook.start` / `hook.end`. An unknown name
    /// is `MP_ERR_CONFIG`.
    pub hooks: *const c_char,
    /// Called for each hook in `hooks` (see `mp_hook_fn`); required when `hooks` names any.
    pub on_hook: MpHookFn,
    /// Passed back to `on_hook` unchanged.
    pub hook_user_data: *mut c_void,
    /// The token provider of the session's provider (`config_json`'s `"provider"`, which must be
    /// given; see `mp_token_fn`).
    pub bearer_token_provider: MpTokenFn,
    /// Passed back to `bearer_token_provider` unchanged.
    pub token_user_data: *mut c_void,
}

/// Hands the caller's session callbacks to `config`, each calling back through `gate`.
///
/// # Safety
/// `callbacks.hooks` is NULL or a NUL-terminated string.
unsafe fn apply_session_callbacks(
    config: &mut SessionConfig,
    callbacks: &MpSessionCallbacks,
    gate: &Arc<Gate>,
) -> FfiResult {
    if let Some(callback) = callbacks.on_permission_request {
        config.on_permission_request = Some(permission_handler(
            callback,
            callbacks.permission_user_data,
            gate,
        ));
    }
    // SAFETY: the caller's contract.
    let names = unsafe { opt_str_arg(callbacks.hooks, "callbacks.hooks") }?
        .filter(|names| names.split(',').any(|n| !n.trim().is_empty()));
    match (names, callbacks.on_hook) {
        (Some(names), Some(callback)) => {
            config.hooks = Some(build_hooks(
                names,
                callback,
                callbacks.hook_user_data,
                gate,
            )?);
        }
        (Some(names), None) => {
            return Err(FfiError::usage(format!(
                "callbacks.hooks names hooks (\"{names}\") but callbacks.on_hook is NULL"
            )));
        }
        (None, Some(_)) => {
            return Err(FfiError::usage(
                "callbacks.on_hook is set but callbacks.hooks names no hook: list the hooks to \
                 install, e.g. \"onPreToolUse,onPostToolUse\"",
            ));
        }
        (None, None) => {}
    }
    if let Some(callback) = callbacks.bearer_token_provider {
        let provider = config.provider.as_mut().ok_or_else(|| {
            FfiError::from(modelport::Error::config(
                "callbacks.bearer_token_provider is for the session's provider, and config_json \
                 has no \"provider\": add one, or give the token provider to mp_client_new_ex \
                 for the client's default provider",
            ))
        })?;
        provider.bearer_token_provider = Some(token_provider(
            callback,
            callbacks.token_user_data,
            gate,
            "session",
        ));
    }
    Ok(())
}

impl MpClient {
    /// Opens a session from the caller's JSON, tools and callbacks (resuming `id` when given) and
    /// returns its new handle; the callbacks call back through the handle's gates.
    ///
    /// # Safety
    /// As `mp_client_create_session_ex`.
    unsafe fn open_session(
        &self,
        id: Option<&str>,
        config_json: *const c_char,
        tools: *const MpTool,
        tool_count: usize,
        callbacks: *const MpSessionCallbacks,
    ) -> FfiResult<*mut MpSession> {
        // SAFETY: the caller's contract.
        let mut config = SessionConfig::from_json(unsafe { str_arg(config_json, "config_json") }?)?;
        let gate = Arc::new(Gate::default());
        let host_gate = Arc::new(Gate::default());
        // SAFETY: the caller's contract.
        config.tools = unsafe { build_tools(tools, tool_count, &gate) }?;
        // SAFETY: the caller's contract: NULL or a valid `mp_session_callbacks`.
        if let Some(callbacks) = unsafe { callbacks.as_ref() } {
            // SAFETY: the caller's contract: `hooks` is NULL or NUL-terminated.
            unsafe { apply_session_callbacks(&mut config, callbacks, &host_gate) }?;
        }
        let session = match id {
            Some(id) => self.rt.block_on(self.client.resume_session(id, config)),
            None => self.rt.block_on(self.client.create_session(config)),
        }?;
        Ok(MpSession::into_raw(
            session,
            self.rt.clone(),
            gate,
            host_gate,
        ))
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
/// When `MODELPORT_LOG` names a level ("debug", ...) and no log callback is set
/// (`mp_set_log_handler`), modelport's log records go to stderr from then on, one line each
/// (`DEBUG modelport::transport::call: http attempt ...`); an unknown level is `MP_ERR_CONFIG`.
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
        *out = unsafe { new_client(options_json, std::ptr::null()) }?;
        Ok(())
    })
}

/// Creates a client with callbacks: as `mp_client_new`, plus the default provider's bearer token
/// provider and `onListModels` (see `mp_client_callbacks`; `callbacks` may be NULL). A token provider
/// without a `"provider"` in `options_json` is `MP_ERR_CONFIG`. The callbacks are called until
/// `mp_client_free` returns.
///
/// # Safety
/// As `mp_client_new`; `callbacks` is NULL or points to a valid `mp_client_callbacks`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_client_new_ex(
    options_json: *const c_char,
    callbacks: *const MpClientCallbacks,
    out: *mut *mut MpClient,
) -> MpStatus {
    guard("mp_client_new_ex", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the caller's contract.
        *out = unsafe { new_client(options_json, callbacks) }?;
        Ok(())
    })
}

/// The client of `mp_client_new_ex`.
///
/// # Safety
/// As `mp_client_new_ex`.
unsafe fn new_client(
    options_json: *const c_char,
    callbacks: *const MpClientCallbacks,
) -> FfiResult<*mut MpClient> {
    // SAFETY: the caller's contract.
    let json = unsafe { opt_str_arg(options_json, "options_json") }?;
    let mut options = ClientOptions::from_json(json.unwrap_or_default())?;
    modelport::logging::install_stderr_from_env()?;
    let gate = Arc::new(Gate::default());
    // SAFETY: the caller's contract: NULL or a valid `mp_client_callbacks`.
    if let Some(callbacks) = unsafe { callbacks.as_ref() } {
        if let Some(callback) = callbacks.bearer_token_provider {
            let provider = options.provider.as_mut().ok_or_else(|| {
                FfiError::from(modelport::Error::config(
                    "callbacks.bearer_token_provider is for the client's default provider, and \
                     options_json has no \"provider\": add one, or give the token provider to \
                     mp_client_create_session_ex for a session's provider",
                ))
            })?;
            provider.bearer_token_provider = Some(token_provider(
                callback,
                callbacks.token_user_data,
                &gate,
                "client",
            ));
        }
        if let Some(callback) = callbacks.on_list_models {
            options.on_list_models = Some(list_models_handler(
                callback,
                callbacks.list_models_user_data,
                &gate,
            ));
        }
    }
    let rt = Rt::new("modelport", None)?;
    let client = {
        let _context = rt.handle().enter();
        Client::new(options)?
    };
    Ok(Box::into_raw(Box::new(MpClient { client, rt, gate })))
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

/// Frees a client: stops it first when `mp_client_stop` was not called, and waits for its callbacks
/// (`mp_client_callbacks`) in progress on other threads; after it returns they are not called again.
/// Sessions created by it stay valid until freed (they keep the client's threads alive). NULL is
/// ignored.
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
        c.gate.close();
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
/// "fallbackModels": ["<provider>/<id>", ...], "hookTimeoutMs": 30000, "maxAgentStopBlocks": 3,
/// "maxErrorRetries": 2}`; `reasoningEffort` is "low", "medium", "high" or "xhigh"; `extraBody` is
/// merged into every request body; `hookTimeoutMs` is how long a hook (`mp_session_callbacks`) may
/// take (default 30000), `maxAgentStopBlocks` how often `onAgentStop` may block one send (default
/// 3), `maxErrorRetries` how many retries `onErrorOccurred` may ask for in one send (default
/// 2). A tool call may meet `permission.requested` / `permission.completed` and a session's
/// model switch `session.model_change` events. Infinite sessions (on by default) compact the history before
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
        *out = unsafe { c.open_session(None, config_json, tools, tool_count, std::ptr::null()) }?;
        Ok(())
    })
}

/// Creates a session with callbacks: as `mp_client_create_session`, plus the permission callback,
/// session hooks and the provider's bearer token provider of `callbacks` (see
/// `mp_session_callbacks`; NULL is `mp_client_create_session`). Hook names unknown to modelport and a
/// token provider without a `"provider"` in `config_json` are `MP_ERR_CONFIG`; hooks without
/// `on_hook` (or the reverse) are `MP_ERR_USAGE`. The callbacks are called until `mp_session_free`
/// returns.
///
/// # Safety
/// As `mp_client_create_session`; `callbacks` is NULL or points to a valid `mp_session_callbacks`
/// whose `hooks` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_client_create_session_ex(
    client: *mut MpClient,
    config_json: *const c_char,
    tools: *const MpTool,
    tool_count: usize,
    callbacks: *const MpSessionCallbacks,
    out: *mut *mut MpSession,
) -> MpStatus {
    guard("mp_client_create_session_ex", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the caller's contract.
        let c = unsafe { handle(client, "client") }?;
        // SAFETY: the caller's contract.
        *out = unsafe { c.open_session(None, config_json, tools, tool_count, callbacks) }?;
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
        *out =
            unsafe { c.open_session(Some(id), config_json, tools, tool_count, std::ptr::null()) }?;
        Ok(())
    })
}

/// Resumes a stored session with callbacks: as `mp_client_resume_session`, with `callbacks` as in
/// `mp_client_create_session_ex` (they are not stored: give them again on every resume; a tool
/// approved for the session stays approved).
///
/// # Safety
/// As `mp_client_create_session_ex`; `session_id` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_client_resume_session_ex(
    client: *mut MpClient,
    session_id: *const c_char,
    config_json: *const c_char,
    tools: *const MpTool,
    tool_count: usize,
    callbacks: *const MpSessionCallbacks,
    out: *mut *mut MpSession,
) -> MpStatus {
    guard("mp_client_resume_session_ex", || {
        // SAFETY: the caller's contract.
        let out = unsafe { out_param(out, "out") }?;
        // SAFETY: the caller's contract.
        let c = unsafe { handle(client, "client") }?;
        // SAFETY: the caller's contract.
        let id = unsafe { str_arg(session_id, "session_id") }?;
        // SAFETY: the caller's contract.
        *out = unsafe { c.open_session(Some(id), config_json, tools, tool_count, callbacks) }?;
        Ok(())
    })
}
