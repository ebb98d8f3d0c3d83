//! Calling JavaScript from core's threads.
//!
//! Every callback takes one JSON string and resolves to a JSON reply, `{"ok": value}` or
//! `{"error": message}`: the JavaScript side (`lib/callbacks.cjs`) catches what user code throws, so
//! nothing is ever thrown across the boundary and a throwing callback cannot take the process down.

use napi::Status;
use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::ThreadsafeFunction;
use serde_json::Value;

/// A JavaScript `(json: string) => Promise<string>`. Weak: it never keeps Node's event loop alive
/// (a pending call does, through the promise the caller is awaiting).
pub type JsCallback = ThreadsafeFunction<String, Promise<String>, String, Status, false, true>;

/// Calls `callback` with `arg`; `Ok(value)` or `Err(message)` (the thrown error's message).
pub(crate) async fn call(callback: &JsCallback, arg: String) -> Result<Value, String> {
    let promise = callback
        .call_async(arg)
        .await
        .map_err(|e| format!("the JavaScript callback could not be called ({e})"))?;
    let text = promise
        .await
        .map_err(|e| format!("the JavaScript callback failed ({e})"))?;
    let mut reply: Value = serde_json::from_str(&text)
        .map_err(|e| format!("the JavaScript callback's reply is not JSON ({e})"))?;
    if let Some(message) = reply.get("error") {
        return Err(message
            .as_str()
            .map_or_else(|| message.to_string(), str::to_owned));
    }
    Ok(reply.get_mut("ok").map(Value::take).unwrap_or(Value::Null))
}
