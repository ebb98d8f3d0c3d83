//! Tools, the permission handler and the session hooks from Python callables. The Python side (`modelport.tools`)
//! validates arguments, calls the function and serialises its result; here the call is handed to the
//! asyncio loop and the answer to core.

use std::sync::Arc;

use pyo3::prelude::*;
use serde_json::Value;

use modelport::session::hooks::SessionHooks;
use modelport::session::output;
use modelport::{PermissionHandler, Tool, ToolError, ToolInvocation, ToolResult};

use crate::callbacks::EventLoop;
use crate::error::to_py_err;

/// The failure result (as JSON) for arguments the tool's parameter model rejected; `detail` says
/// why. The text is core's [`ToolResult::invalid_arguments`], so that every language tells the
/// model the same.
#[pyfunction]
pub(crate) fn invalid_arguments(tool_name: &str, detail: &str) -> String {
    ToolResult::invalid_arguments_json(tool_name, detail)
}

/// A tool as `modelport.tools` hands it over: name, description, JSON-schema parameters (as JSON
/// text), whether it skips the permission handler, whether core checks the arguments against the
/// parameters before calling it (tools from plain typed functions), and
/// `call(arguments_json, session_id, tool_call_id, tool_name) -> Awaitable[result_json]`.
pub(crate) type ToolDef = (String, String, String, bool, bool, Py<PyAny>);

/// The core tool for a Python tool.
pub(crate) fn tool(event_loop: &EventLoop, def: ToolDef) -> PyResult<Tool> {
    let (name, description, parameters, skip_permission, validate, call) = def;
    let parameters = Tool::parameters_from_json(&name, &parameters).map_err(to_py_err)?;
    let schema = validate.then(|| Arc::new(parameters.clone()));
    let call = Arc::new(call);
    let event_loop = event_loop.clone();
    let handler = move |arguments: Value, invocation: ToolInvocation| {
        let call = call.clone();
        let event_loop = event_loop.clone();
        let schema = schema.clone();
        async move {
            if let Some(schema) = schema
                && let Err(errors) = output::validate(&schema, &arguments.to_string())
            {
                // Core's schema check and core's text: the model sees why and can call again.
                return Ok(ToolResult::invalid_arguments(
                    &invocation.tool_name,
                    errors.join("; "),
                ));
            }
            let args = vec![
                arguments.to_string(),
                invocation.session_id,
                invocation.tool_call_id,
                invocation.tool_name,
            ];
            let outcome = event_loop.call(&call, args).await;
            // A raising handler: core shows the model a fixed text and the host this message.
            let json = Python::attach(|py| match outcome {
                Ok(value) => value.extract::<String>(py).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            })?;
            Ok::<_, ToolError>(ToolResult::from_json(&json)?)
        }
    };
    Ok(Tool::new(name, description, parameters, handler).skip_permission(skip_permission))
}

/// The core permission handler for `handler(request_json) -> Awaitable[answer_json]` (core's
/// [`PermissionHandler::from_host`] reads the answer; the Python side logs a raising handler, which
/// refuses the call).
pub(crate) fn permission_handler(event_loop: &EventLoop, handler: Py<PyAny>) -> PermissionHandler {
    let handler = Arc::new(handler);
    let event_loop = event_loop.clone();
    PermissionHandler::from_host(move |json| {
        let handler = handler.clone();
        let event_loop = event_loop.clone();
        async move {
            let outcome = event_loop.call(&handler, vec![json]).await;
            Python::attach(|py| outcome.and_then(|v| v.extract::<String>(py)))
        }
    })
}

/// The core session hooks for `(name, hook)` pairs, `name` a Copilot SDK key (`onPreToolUse`) and
/// `hook(input_json) -> Awaitable[Optional[output_json]]`; the exception a hook raised is its failure.
pub(crate) fn hooks(
    event_loop: &EventLoop,
    hooks: Vec<(String, Py<PyAny>)>,
) -> PyResult<SessionHooks> {
    let event_loop = event_loop.clone();
    let hooks = hooks.into_iter().map(|(name, hook)| (name, Arc::new(hook)));
    SessionHooks::from_host(hooks, move |hook, _, input| {
        let hook = hook.clone();
        let event_loop = event_loop.clone();
        async move {
            let outcome = event_loop.call(&hook, vec![input]).await;
            Python::attach(|py| outcome.and_then(|v| v.extract::<Option<String>>(py)))
        }
    })
    .map_err(to_py_err)
}
