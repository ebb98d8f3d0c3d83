//! `onListModels` implemented in C: core's `ListModelsHandler` calling a C callback, and the reply
//! it fills in.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use modelport::{Error, ListModelsHandler, ModelInfo};

use crate::error::{FfiError, MpStatus};
use crate::gate::{Gate, call_blocking};
use crate::util::{UserData, guard, str_arg};

/// The application's own model list (`onListModels`): replaces the provider's list endpoint, for
/// `mp_client_list_models`.
///
/// Called on a modelport blocking-pool thread (never on the thread that called into the library) by
/// the first `mp_client_list_models` that needs it: a list it gave is kept for the client's life, a
/// failure is not. Answer through `reply` with `mp_list_models_reply_set_json` or
/// `mp_list_models_reply_set_error` (the list call then fails with `MP_ERR_CONFIG` and that message,
/// as it does when the callback sets neither). `reply` is valid only during the call. The callback may
/// block; it must not free the client.
pub type MpListModelsFn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, reply: *mut MpListModelsReply)>;

/// What an `onListModels` callback answers (opaque; valid only during the callback).
#[derive(Debug, Default)]
pub struct MpListModelsReply {
    outcome: Option<Result<Vec<ModelInfo>, String>>,
}

/// The core handler calling `callback` through the client's `gate`.
pub(crate) fn list_models_handler(
    callback: unsafe extern "C" fn(*mut c_void, *mut MpListModelsReply),
    user_data: *mut c_void,
    gate: &Arc<Gate>,
) -> ListModelsHandler {
    let user_data = UserData(user_data);
    let gate = gate.clone();
    ListModelsHandler::new(move || {
        let gate = gate.clone();
        async move {
            let outcome = call_blocking(&gate, "client", move || {
                let mut reply = MpListModelsReply::default();
                // SAFETY: the callback and user_data are the caller's; `reply` lives until the call
                // returns, as the callback's contract says.
                unsafe { callback(user_data.get(), &raw mut reply) };
                reply.outcome
            })
            .await
            .map_err(|m| Error::config(format!("onListModels: {m}")))?;
            match outcome {
                Some(Ok(models)) => Ok(models),
                Some(Err(message)) => Err(Error::config(format!("onListModels failed: {message}"))),
                None => Err(Error::config(
                    "onListModels failed: the callback set no list (call \
                     mp_list_models_reply_set_json or mp_list_models_reply_set_error)",
                )),
            }
        }
    })
}

/// Sets the model list from JSON: an array of `{"id", "name", "capabilities": {"supports":
/// {"vision", "reasoningEffort"}, "limits": {"max_context_window_tokens", "max_prompt_tokens"}}}`
/// (`capabilities` optional), the shape `mp_client_list_models` returns. The last call wins. Returns
/// `MP_ERR_CONFIG` when `json` is not such an array (the list call then fails with that message).
///
/// # Safety
/// `reply` is the pointer the callback received, during the callback; `json` is a NUL-terminated
/// string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_list_models_reply_set_json(
    reply: *mut MpListModelsReply,
    json: *const c_char,
) -> MpStatus {
    guard("mp_list_models_reply_set_json", || {
        // SAFETY: the caller's contract.
        let reply = unsafe { reply.as_mut() }.ok_or_else(|| FfiError::usage("`reply` is NULL"))?;
        // SAFETY: the caller's contract.
        let json = unsafe { str_arg(json, "json") }?;
        match ModelInfo::list_from_json("mp_list_models_reply_set_json: the list", json) {
            Ok(models) => {
                reply.outcome = Some(Ok(models));
                Ok(())
            }
            Err(e) => {
                reply.outcome = Some(Err(e.message().to_owned()));
                Err(e.into())
            }
        }
    })
}

/// Reports that the list could not be had: `mp_client_list_models` fails with `MP_ERR_CONFIG` and
/// `message`.
///
/// # Safety
/// As `mp_list_models_reply_set_json`; `message` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mp_list_models_reply_set_error(
    reply: *mut MpListModelsReply,
    message: *const c_char,
) -> MpStatus {
    guard("mp_list_models_reply_set_error", || {
        // SAFETY: the caller's contract.
        let reply = unsafe { reply.as_mut() }.ok_or_else(|| FfiError::usage("`reply` is NULL"))?;
        // SAFETY: the caller's contract.
        let message = unsafe { str_arg(message, "message") }?;
        reply.outcome = Some(Err(message.to_owned()));
        Ok(())
    })
}
