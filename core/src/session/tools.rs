//! Tools the model may call: a name, a description, a JSON schema and an async handler; plus the
//! permission handler that may refuse a call before it runs.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::types::ToolSpec;

/// What a tool handler may fail with (anything that is an error).
pub type ToolError = Box<dyn std::error::Error + Send + Sync>;

/// How a tool call went, as the model and the loop see it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolResultType {
    /// It worked.
    #[default]
    Success,
    /// It failed; the model sees the text and the loop continues.
    Failure,
    /// It was refused; the model sees the text and the loop continues.
    Denied,
    /// It was rejected; the turn ends without another model call.
    Rejected,
}

impl ToolResultType {
    /// "success", "failure", "denied" or "rejected".
    pub fn as_str(self) -> &'static str {
        match self {
            ToolResultType::Success => "success",
            ToolResultType::Failure => "failure",
            ToolResultType::Denied => "denied",
            ToolResultType::Rejected => "rejected",
        }
    }
}

/// A tool's answer. Only `text_result_for_llm` reaches the model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolResult {
    /// What the model sees.
    pub text_result_for_llm: String,
    /// How the call went.
    #[serde(default)]
    pub result_type: ToolResultType,
    /// An error message for the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A log line for the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_log: Option<String>,
    /// Structured telemetry for the host; never sent to the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_telemetry: Option<Value>,
}

impl ToolResult {
    /// A successful text result.
    pub fn text(text: impl Into<String>) -> Self {
        ToolResult {
            text_result_for_llm: text.into(),
            ..Default::default()
        }
    }

    /// A failure the model sees (the loop continues).
    pub fn failure(text: impl Into<String>) -> Self {
        ToolResult {
            text_result_for_llm: text.into(),
            result_type: ToolResultType::Failure,
            ..Default::default()
        }
    }

    /// A refusal the model sees (the loop continues).
    pub fn denied(text: impl Into<String>) -> Self {
        ToolResult {
            text_result_for_llm: text.into(),
            result_type: ToolResultType::Denied,
            ..Default::default()
        }
    }

    /// A rejection: the turn ends without another model call.
    pub fn rejected(text: impl Into<String>) -> Self {
        ToolResult {
            text_result_for_llm: text.into(),
            result_type: ToolResultType::Rejected,
            ..Default::default()
        }
    }

    /// The failure the model sees when a call's arguments do not fit the tool's parameters
    /// (`detail` says why): "Invalid arguments for tool `NAME`: DETAIL". The loop continues, so the
    /// model can correct the call. Every layer that validates arguments (core's [`define_tool`], the
    /// Python and JavaScript tool helpers through their native modules) answers with this.
    pub fn invalid_arguments(tool_name: &str, detail: impl fmt::Display) -> Self {
        ToolResult::failure(format!(
            "Invalid arguments for tool `{tool_name}`: {detail}"
        ))
    }

    /// [`from_value`](Self::from_value) for what a host's tool handler returned as JSON text.
    pub fn from_json(json: &str) -> crate::Result<Self> {
        serde_json::from_str(json)
            .map(Self::from_value)
            .map_err(|e| crate::Error::config(format!("the tool result is not valid JSON: {e}")))
    }

    /// [`invalid_arguments`](Self::invalid_arguments) as the result JSON a binding's tool helper
    /// returns to its native module.
    pub fn invalid_arguments_json(tool_name: &str, detail: impl fmt::Display) -> String {
        serde_json::to_string(&Self::invalid_arguments(tool_name, detail)).unwrap_or_default()
    }

    /// Interprets whatever a handler returned: a string is the text; an object with
    /// `textResultForLlm` is a result object; anything else is serialised as compact JSON with
    /// sorted keys.
    pub fn from_value(value: Value) -> Self {
        match value {
            Value::String(s) => ToolResult::text(s),
            Value::Object(ref map) if map.contains_key("textResultForLlm") => {
                serde_json::from_value(value.clone())
                    .unwrap_or_else(|_| ToolResult::text(sorted_json(&value)))
            }
            Value::Null => ToolResult::text(""),
            other => ToolResult::text(sorted_json(&other)),
        }
    }
}

impl From<String> for ToolResult {
    fn from(s: String) -> Self {
        ToolResult::text(s)
    }
}

impl From<&str> for ToolResult {
    fn from(s: &str) -> Self {
        ToolResult::text(s)
    }
}

/// Compact JSON with object keys sorted, whatever map order serde_json was built with.
pub fn sorted_json(value: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sort(v)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(value).to_string()
}

/// What a handler is told about the call. Serialises as the Copilot SDK's camelCase
/// `{sessionId, toolCallId, toolName, arguments}`, the form the bindings hand to their handlers.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ToolInvocation {
    /// The session.
    pub session_id: String,
    /// The provider's call id.
    pub tool_call_id: String,
    /// The tool name.
    pub tool_name: String,
    /// The parsed arguments.
    pub arguments: Value,
    /// The W3C `traceparent` of the call's `execute_tool` span, for a handler that continues the
    /// trace (built with the `otel` feature and a subscriber exporting the span; otherwise none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

type HandlerFn = dyn Fn(Value, ToolInvocation) -> BoxFuture<'static, Result<ToolResult, ToolError>>
    + Send
    + Sync;

/// A tool: what the model sees (name, description, JSON schema) and the handler that runs it.
#[derive(Clone)]
pub struct Tool {
    spec: ToolSpec,
    handler: Arc<HandlerFn>,
    skip_permission: bool,
    timeout: Option<std::time::Duration>,
    /// An MCP server's tool: (server, the tool's own name).
    mcp: Option<Arc<(String, String)>>,
}

impl Tool {
    /// Parses the JSON-schema `parameters` of tool `name` as a binding receives them, as text.
    pub fn parameters_from_json(name: &str, json: &str) -> crate::Result<Value> {
        serde_json::from_str(json).map_err(|e| {
            crate::Error::config(format!(
                "tool \"{name}\": the parameters are not valid JSON: {e} (give a JSON schema, e.g. \
                 {{\"type\": \"object\", \"properties\": {{...}}}})"
            ))
        })
    }

    /// A tool with a JSON-schema `parameters` and an async handler receiving the arguments.
    pub fn new<F, Fut, R>(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
        handler: F,
    ) -> Self
    where
        F: Fn(Value, ToolInvocation) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
        R: Into<ToolResult>,
    {
        Tool {
            spec: ToolSpec {
                name: name.into(),
                description: description.into(),
                parameters,
            },
            handler: Arc::new(move |args, inv| {
                let fut = handler(args, inv);
                Box::pin(async move { fut.await.map(Into::into) })
            }),
            skip_permission: false,
            timeout: None,
            mcp: None,
        }
    }

    /// Marks the tool as the MCP server `server`'s tool `tool`.
    pub(crate) fn with_mcp_origin(mut self, server: String, tool: String) -> Self {
        self.mcp = Some(Arc::new((server, tool)));
        self
    }

    /// For an MCP server's tool: the server's name and the tool's own name.
    pub fn mcp_origin(&self) -> Option<(&str, &str)> {
        self.mcp.as_deref().map(|(s, t)| (s.as_str(), t.as_str()))
    }

    /// Gives up on a call after `timeout`: the model gets a failure result saying it timed out.
    pub fn with_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The per-call timeout, if any.
    pub fn timeout(&self) -> Option<std::time::Duration> {
        self.timeout
    }

    /// Marks the tool as safe: the permission handler is not asked before it runs.
    pub fn skip_permission(mut self, skip: bool) -> Self {
        self.skip_permission = skip;
        self
    }

    /// The tool name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// What the model sees.
    pub fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    /// Whether the permission handler is skipped.
    pub fn skips_permission(&self) -> bool {
        self.skip_permission
    }

    /// Runs the handler.
    pub fn call(
        &self,
        arguments: Value,
        invocation: ToolInvocation,
    ) -> BoxFuture<'static, Result<ToolResult, ToolError>> {
        (self.handler)(arguments, invocation)
    }
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.spec.name)
            .field("description", &self.spec.description)
            .finish_non_exhaustive()
    }
}

/// A tool from a typed async function: the JSON schema comes from `P` (schemars), the arguments are
/// deserialised into `P` (a mismatch is a failure result the model sees and can correct), and the
/// returned value becomes the result (a string as is, anything else as compact sorted JSON, a
/// [`ToolResult`] as itself).
///
/// ```
/// use modelport::{define_tool, ToolError};
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Weather { city: String }
/// let tool = define_tool("get_weather", "Current weather for a city", |p: Weather| async move {
///     Ok::<_, ToolError>(format!("Sunny in {}", p.city))
/// });
/// assert_eq!(tool.name(), "get_weather");
/// ```
pub fn define_tool<P, R, F, Fut>(
    name: impl Into<String>,
    description: impl Into<String>,
    handler: F,
) -> Tool
where
    P: DeserializeOwned + schemars::JsonSchema + Send + 'static,
    R: Serialize,
    F: Fn(P) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, ToolError>> + Send + 'static,
{
    let name = name.into();
    let mut schema = serde_json::to_value(schemars::schema_for!(P)).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut schema {
        map.remove("$schema");
        map.remove("title");
    }
    let handler = Arc::new(handler);
    let tool_name = name.clone();
    Tool::new(name, description, schema, move |args: Value, _inv| {
        let parsed = serde_json::from_value::<P>(args);
        let handler = handler.clone();
        let tool_name = tool_name.clone();
        async move {
            let params = match parsed {
                Ok(p) => p,
                Err(e) => return Ok(ToolResult::invalid_arguments(&tool_name, e)),
            };
            let value = handler(params).await?;
            Ok(ToolResult::from_value(serde_json::to_value(value)?))
        }
    })
}

/// What the permission handler is asked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRequest {
    /// "custom-tool" for the application's tools, "mcp" for an MCP server's.
    pub kind: String,
    /// The session the call belongs to.
    #[serde(default)]
    pub session_id: String,
    /// The MCP server (kind "mcp" only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// The tool the model wants to run: the name the model sees, or for kind "mcp" the server's
    /// own name of the tool.
    pub tool_name: String,
    /// The call id.
    pub tool_call_id: String,
    /// The arguments.
    pub arguments: Value,
}

/// The permission handler's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum PermissionDecision {
    /// `{kind: "approve-once"}`: run it.
    #[serde(rename = "approve-once", alias = "approved")]
    ApproveOnce,
    /// `{kind: "approve-for-session"}`: run it, and every later call of this tool in this
    /// session without asking (remembered across a resume).
    #[serde(rename = "approve-for-session", alias = "approved-for-session")]
    ApproveForSession,
    /// `{kind: "reject", feedback?}`: do not run it; the turn ends.
    #[serde(rename = "reject", alias = "denied-interactively-by-user")]
    Reject {
        /// Passed to the model after "The user rejected this tool call.".
        #[serde(default, skip_serializing_if = "Option::is_none")]
        feedback: Option<String>,
    },
    /// `{kind: "user-not-available"}`: nobody can answer; the call is denied and the loop goes on.
    #[serde(rename = "user-not-available")]
    UserNotAvailable,
    /// `{kind: "no-result"}`: no decision was made; the call is denied and the loop goes on.
    #[serde(rename = "no-result")]
    NoResult,
}

impl PermissionDecision {
    /// The decision's `kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            PermissionDecision::ApproveOnce => "approve-once",
            PermissionDecision::ApproveForSession => "approve-for-session",
            PermissionDecision::Reject { .. } => "reject",
            PermissionDecision::UserNotAvailable => "user-not-available",
            PermissionDecision::NoResult => "no-result",
        }
    }

    /// [`from_answer`](Self::from_answer) for an answer a host handler gave as JSON text; text
    /// that is not JSON refuses the call.
    pub fn from_json(answer: &str) -> PermissionDecision {
        match serde_json::from_str::<Value>(answer) {
            Ok(answer) => Self::from_answer(&answer),
            Err(_) => PermissionDecision::Reject { feedback: None },
        }
    }
}

impl PermissionDecision {
    /// What a host-language permission handler's answer means; refusing is the safe side.
    ///
    /// Approves: `true`, `{kind: "approve-once"}` and the Copilot SDK's `{kind: "approved"}`.
    /// Refuses with the given feedback (`feedback`, or `message`, when a non-empty string):
    /// `{kind: "reject"}` and every Copilot SDK `denied-...` kind. Refuses without feedback: `false`,
    /// and (traced as a warning, since it is likely a bug in the handler) anything else.
    pub fn from_answer(answer: &Value) -> PermissionDecision {
        let kind = answer.get("kind").and_then(Value::as_str);
        match (answer, kind) {
            (Value::Bool(true), _) | (_, Some("approve-once" | "approved")) => {
                PermissionDecision::ApproveOnce
            }
            (_, Some("approve-for-session" | "approved-for-session")) => {
                PermissionDecision::ApproveForSession
            }
            (_, Some("user-not-available")) => PermissionDecision::UserNotAvailable,
            (_, Some("no-result")) => PermissionDecision::NoResult,
            (_, Some(kind)) if kind == "reject" || kind.starts_with("denied") => {
                let feedback = ["feedback", "message"]
                    .iter()
                    .filter_map(|k| answer.get(*k).and_then(Value::as_str))
                    .find(|f| !f.is_empty())
                    .map(str::to_owned);
                PermissionDecision::Reject { feedback }
            }
            (Value::Bool(false), _) => PermissionDecision::Reject { feedback: None },
            _ => {
                tracing::warn!(
                    %answer,
                    "the permission handler's answer is not a decision: the call is rejected"
                );
                PermissionDecision::Reject { feedback: None }
            }
        }
    }
}

/// What a host language's permission handler answered ([`PermissionHandler::from_host`]): a JSON
/// value, or JSON text. No answer (`None::<Value>`) is `null`, which refuses the call.
#[derive(Clone, Debug)]
pub enum HostAnswer {
    /// A JSON value (`null` when the host gave none).
    Value(Value),
    /// JSON text, as the host wrote it.
    Text(String),
}

impl From<Value> for HostAnswer {
    fn from(answer: Value) -> Self {
        HostAnswer::Value(answer)
    }
}

impl From<Option<Value>> for HostAnswer {
    fn from(answer: Option<Value>) -> Self {
        HostAnswer::Value(answer.unwrap_or(Value::Null))
    }
}

impl From<String> for HostAnswer {
    fn from(answer: String) -> Self {
        HostAnswer::Text(answer)
    }
}

type PermissionFn =
    dyn Fn(PermissionRequest) -> BoxFuture<'static, PermissionDecision> + Send + Sync;

/// Decides whether a tool call may run.
#[derive(Clone)]
pub struct PermissionHandler(Arc<PermissionFn>);

impl PermissionHandler {
    /// Wraps an async function.
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(PermissionRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = PermissionDecision> + Send + 'static,
    {
        PermissionHandler(Arc::new(move |r| Box::pin(f(r))))
    }

    /// A host language's handler (Python, JavaScript, C, uniffi): `ask` gets the request as JSON
    /// text and returns the host's answer, read by [`PermissionDecision::from_answer`] (text by
    /// [`PermissionDecision::from_json`]; no answer refuses). An `ask` that fails (the handler
    /// raised, the host is gone) refuses the call: refusing is the safe side.
    pub fn from_host<F, Fut, A, E>(ask: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<A, E>> + Send + 'static,
        A: Into<HostAnswer>,
    {
        PermissionHandler::new(move |request| {
            let asked = ask(serde_json::to_string(&request).unwrap_or_default());
            async move {
                match asked.await.map(Into::into) {
                    Ok(HostAnswer::Value(answer)) => PermissionDecision::from_answer(&answer),
                    Ok(HostAnswer::Text(answer)) => PermissionDecision::from_json(&answer),
                    Err(_) => {
                        // The host's message is not logged: it is the application's text.
                        tracing::debug!("the permission handler failed: the call is refused");
                        PermissionDecision::Reject { feedback: None }
                    }
                }
            }
        })
    }

    /// Approves everything (the default for tools the application registered).
    pub fn approve_all() -> Self {
        PermissionHandler::new(|_| async { PermissionDecision::ApproveOnce })
    }

    /// Asks.
    pub fn decide(&self, request: PermissionRequest) -> BoxFuture<'static, PermissionDecision> {
        (self.0)(request)
    }
}

impl fmt::Debug for PermissionHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PermissionHandler")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameters_from_json_names_the_tool_and_what_to_give() {
        let schema = r#"{"type": "object", "properties": {"city": {"type": "string"}}}"#;
        assert_eq!(
            Tool::parameters_from_json("weather", schema).unwrap(),
            json!({"type": "object", "properties": {"city": {"type": "string"}}})
        );
        let e = Tool::parameters_from_json("weather", "{type: object}").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert!(
            e.message()
                .starts_with("tool \"weather\": the parameters are not valid JSON: "),
            "{e}"
        );
        assert!(
            e.message()
                .contains(r#"{"type": "object", "properties": {...}}"#),
            "{e}"
        );
    }

    #[test]
    fn host_answers_as_json_text() {
        assert_eq!(
            PermissionDecision::from_json(r#"{"kind": "approve-once"}"#),
            PermissionDecision::ApproveOnce
        );
        assert_eq!(
            PermissionDecision::from_json(r#"{"kind": "reject", "feedback": "not now"}"#),
            PermissionDecision::Reject {
                feedback: Some("not now".to_owned())
            }
        );
        // Not JSON: the call is refused, the safe side.
        assert_eq!(
            PermissionDecision::from_json("yes please"),
            PermissionDecision::Reject { feedback: None }
        );
        assert_eq!(
            ToolResult::from_json(r#""sunny""#).unwrap(),
            ToolResult::text("sunny")
        );
        let e = ToolResult::from_json("sunny").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config);
        assert!(
            e.message()
                .starts_with("the tool result is not valid JSON: "),
            "{e}"
        );
    }

    #[test]
    fn invalid_arguments_json_is_the_failure_result_the_model_reads() {
        let json: Value = serde_json::from_str(&ToolResult::invalid_arguments_json(
            "lookup",
            "missing `key`",
        ))
        .unwrap();
        assert_eq!(json["resultType"], "failure");
        assert_eq!(
            json["textResultForLlm"],
            "Invalid arguments for tool `lookup`: missing `key`"
        );
    }

    #[test]
    fn from_value_rules() {
        assert_eq!(ToolResult::from_value(json!("hi")), ToolResult::text("hi"));
        assert_eq!(
            ToolResult::from_value(json!({"z": 1, "a": {"y": [2, {"c": 3, "b": 4}], "x": null}})),
            ToolResult::text(r#"{"a":{"x":null,"y":[2,{"b":4,"c":3}]},"z":1}"#)
        );
        let r = ToolResult::from_value(json!({"textResultForLlm": "ok", "resultType": "rejected",
                                              "toolTelemetry": {"k": 1}}));
        assert_eq!(r.text_result_for_llm, "ok");
        assert_eq!(r.result_type, ToolResultType::Rejected);
        assert_eq!(r.tool_telemetry, Some(json!({"k": 1})));
    }

    #[test]
    fn permission_decision_json() {
        assert_eq!(
            serde_json::to_value(PermissionDecision::ApproveOnce).unwrap(),
            json!({"kind": "approve-once"})
        );
        assert_eq!(
            serde_json::from_value::<PermissionDecision>(
                json!({"kind": "reject", "feedback": "no"})
            )
            .unwrap(),
            PermissionDecision::Reject {
                feedback: Some("no".into())
            }
        );
    }

    #[test]
    fn permission_answers_in_every_spelling_the_bindings_accept() {
        let approve = PermissionDecision::ApproveOnce;
        let reject = |f: Option<&str>| PermissionDecision::Reject {
            feedback: f.map(str::to_owned),
        };
        let rows = [
            (json!(true), approve.clone()),
            (json!({"kind": "approve-once"}), approve.clone()),
            (json!({"kind": "approved"}), approve),
            (json!(false), reject(None)),
            (json!({"kind": "reject"}), reject(None)),
            (
                json!({"kind": "reject", "feedback": "no"}),
                reject(Some("no")),
            ),
            (json!({"kind": "reject", "feedback": ""}), reject(None)),
            (
                json!({"kind": "denied-interactively-by-user", "message": "not now"}),
                reject(Some("not now")),
            ),
            (json!({"kind": "denied-by-rules"}), reject(None)),
            (json!({"kind": "maybe"}), reject(None)),
            (json!("yes"), reject(None)),
            (json!(null), reject(None)),
        ];
        for (answer, expected) in rows {
            assert_eq!(
                PermissionDecision::from_answer(&answer),
                expected,
                "{answer}"
            );
        }
    }

    #[test]
    fn invocation_json_is_camel_case() {
        let inv = ToolInvocation {
            session_id: "s".into(),
            tool_call_id: "c".into(),
            tool_name: "t".into(),
            arguments: json!({"a": 1}),
            traceparent: None,
        };
        assert_eq!(
            serde_json::to_value(&inv).unwrap(),
            json!({"sessionId": "s", "toolCallId": "c", "toolName": "t", "arguments": {"a": 1}})
        );
    }

    #[test]
    fn invalid_arguments_text() {
        let r = ToolResult::invalid_arguments("get_weather", "city: Field required");
        assert_eq!(r.result_type, ToolResultType::Failure);
        assert_eq!(
            r.text_result_for_llm,
            "Invalid arguments for tool `get_weather`: city: Field required"
        );
    }

    #[tokio::test]
    async fn define_tool_schema_validation_and_results() {
        #[derive(Deserialize, schemars::JsonSchema)]
        struct P {
            city: String,
            days: Option<u32>,
        }
        let tool = define_tool("w", "weather", |p: P| async move {
            Ok::<_, ToolError>(json!({"city": p.city, "days": p.days.unwrap_or(1)}))
        });
        let schema = &tool.spec().parameters;
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], json!(["city"]));
        assert!(schema.get("$schema").is_none());
        let inv = ToolInvocation {
            session_id: "s".into(),
            tool_call_id: "c".into(),
            tool_name: "w".into(),
            arguments: Value::Null,
            traceparent: None,
        };
        let ok = tool
            .call(json!({"city": "Oslo"}), inv.clone())
            .await
            .unwrap();
        assert_eq!(ok, ToolResult::text(r#"{"city":"Oslo","days":1}"#));
        let bad = tool.call(json!({"town": "Oslo"}), inv).await.unwrap();
        assert_eq!(bad.result_type, ToolResultType::Failure);
        assert!(
            bad.text_result_for_llm.contains("missing field `city`"),
            "{bad:?}"
        );
    }

    #[tokio::test]
    async fn a_host_handler_gets_the_request_as_json_and_a_failure_refuses() {
        let request = PermissionRequest {
            kind: "custom-tool".into(),
            session_id: "s1".into(),
            server_name: None,
            tool_name: "get_weather".into(),
            tool_call_id: "call_1".into(),
            arguments: json!({"city": "Paris"}),
        };
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let ask = |answer: Result<HostAnswer, String>| {
            let seen = seen.clone();
            PermissionHandler::from_host(move |json: String| {
                seen.lock().expect("lock").push(json);
                let answer = answer.clone();
                async move { answer }
            })
        };
        // The Copilot SDK's answers, as a value and as text.
        let approved = ask(Ok(json!({"kind": "approved"}).into()));
        assert_eq!(
            approved.decide(request.clone()).await,
            PermissionDecision::ApproveOnce
        );
        let denied = ask(Ok(
            r#"{"kind": "denied-interactively-by-user", "feedback": "no"}"#
                .to_owned()
                .into(),
        ));
        assert_eq!(
            denied.decide(request.clone()).await,
            PermissionDecision::Reject {
                feedback: Some("no".into())
            }
        );
        let refused = PermissionDecision::Reject { feedback: None };
        let nothing = ask(Ok(None::<Value>.into()));
        assert_eq!(nothing.decide(request.clone()).await, refused);
        let failed = ask(Err("the handler raised".into()));
        assert_eq!(failed.decide(request.clone()).await, refused);
        let not_json = ask(Ok("approved".to_owned().into()));
        assert_eq!(not_json.decide(request).await, refused);
        // The request in the Copilot SDK's camelCase shape.
        let first: Value = serde_json::from_str(&seen.lock().expect("lock")[0]).expect("JSON");
        assert_eq!(first["toolName"], "get_weather");
        assert_eq!(first["toolCallId"], "call_1");
        assert_eq!(first["arguments"]["city"], "Paris");
        assert_eq!(seen.lock().expect("lock").len(), 5, "asked every time");
    }
}
