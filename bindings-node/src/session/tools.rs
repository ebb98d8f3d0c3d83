//! Tools, the permission handler and the session hooks from JavaScript, as core [`Tool`]s, a
//! [`PermissionHandler`] and [`SessionHooks`].
//!
//! `lib/tools.cjs` has already turned the handler's answer into JSON (a string, a result object or
//! any value: core's [`ToolResult::from_value`] decides) and a throw into `{"error": message}`, which
//! becomes a failing handler: the model sees core's fixed failure text, the host the real message.

use std::fmt;
use std::sync::Arc;

use modelport::session::hooks::SessionHooks;
use modelport::{PermissionHandler, Tool, ToolError, ToolInvocation, ToolResult};
use napi_derive::napi;
use serde_json::json;

use crate::callback::{JsCallback, call};
use crate::error::{IntoNapi, Result};

/// The failure result (as JSON) for arguments the tool's schema rejected; `detail` says why. The
/// text is core's [`ToolResult::invalid_arguments`], so that every language tells the model the same.
#[napi]
pub fn invalid_arguments(tool_name: String, detail: String) -> String {
    ToolResult::invalid_arguments_json(&tool_name, detail)
}

/// A tool as the JavaScript layer hands it over.
#[napi(object, object_to_js = false)]
pub struct ToolDefinition {
    /// The tool name.
    pub name: String,
    /// What the model reads about it.
    pub description: String,
    /// The JSON schema of its arguments, as JSON text.
    pub parameters: String,
    /// Run without asking the permission handler.
    pub skip_permission: Option<bool>,
    /// `(json: string) => Promise<string>`: `{arguments, invocation}` in, `{ok}` or `{error}` out.
    #[napi(ts_type = "(json: string) => Promise<string>")]
    pub handler: JsCallback,
}

impl fmt::Debug for ToolDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolDefinition")
            .field("name", &self.name)
            .field("skip_permission", &self.skip_permission)
            .finish_non_exhaustive()
    }
}

/// Converts one definition.
pub(crate) fn tool(def: ToolDefinition) -> Result<Tool> {
    let schema = Tool::parameters_from_json(&def.name, &def.parameters).into_napi()?;
    let handler = Arc::new(def.handler);
    Ok(Tool::new(
        def.name,
        def.description,
        schema,
        move |args, inv: ToolInvocation| {
            let handler = handler.clone();
            async move {
                let arg = json!({"arguments": args, "invocation": inv});
                match call(&handler, arg.to_string()).await {
                    Ok(value) => Ok(ToolResult::from_value(value)),
                    Err(message) => Err(ToolError::from(message)),
                }
            }
        },
    )
    .skip_permission(def.skip_permission.unwrap_or(false)))
}

/// Wraps `(request) => decision`, read by core's [`PermissionHandler::from_host`]. A throw refuses
/// the call, as an answer that is not a decision does: refusing is the safe side.
pub(crate) fn permission_handler(cb: JsCallback) -> PermissionHandler {
    let cb = Arc::new(cb);
    PermissionHandler::from_host(move |json| {
        let cb = cb.clone();
        async move { call(&cb, json).await }
    })
}

/// A session hook as the JavaScript layer hands it over.
#[napi(object, object_to_js = false)]
pub struct HookDefinition {
    /// The Copilot SDK's key: "onPreToolUse", ...
    pub name: String,
    /// `(json: string) => Promise<string>`: the input in, `{ok: output or null}` or `{error}` out.
    #[napi(ts_type = "(json: string) => Promise<string>")]
    pub handler: JsCallback,
}

impl fmt::Debug for HookDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookDefinition")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Core's session hooks for the definitions; a throw is the hook's failure.
pub(crate) fn hooks(defs: Vec<HookDefinition>) -> Result<SessionHooks> {
    let hooks = defs.into_iter().map(|d| (d.name, Arc::new(d.handler)));
    SessionHooks::from_host(hooks, |handler, _, input| {
        let handler = handler.clone();
        async move { call(&handler, input).await }
    })
    .into_napi()
}
