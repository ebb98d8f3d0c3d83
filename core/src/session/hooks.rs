//! Session hooks (the Copilot SDK's `SessionHooks`): functions the engine awaits at fixed points of
//! a send, which may change what happens. Every hook takes its input as JSON (camelCase, with
//! `sessionId` and `timestamp`) and may return an output object or nothing; each call emits
//! `hook.start` and `hook.end`. A hook that fails or times out fails its tool call or its send,
//! never the session.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::SessionInner;
use super::events::{EventData, HookEndData, HookEndError, HookStartData};
use crate::error::{Error, ErrorKind, Result};

/// The hooks, by their Copilot SDK names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HookKind {
    /// `onPreToolUse` {toolName, toolArgs} -> {permissionDecision: allow|deny|ask,
    /// permissionDecisionReason, modifiedArgs, additionalContext, suppressOutput}.
    PreToolUse,
    /// `onPostToolUse` (success only) {toolName, toolArgs, toolResult} -> {modifiedResult,
    /// additionalContext}.
    PostToolUse,
    /// `onPostToolUseFailure` {toolName, toolArgs, error} -> {additionalContext}.
    PostToolUseFailure,
    /// `onUserPromptSubmitted` {prompt} -> {modifiedPrompt, additionalContext}.
    UserPromptSubmitted,
    /// `onSessionStart` {source: new|resume} -> {additionalContext}.
    SessionStart,
    /// `onSessionEnd` {reason: complete|error|abort|timeout|user_exit}.
    SessionEnd,
    /// `onErrorOccurred` {error, errorContext: model_call|tool_execution, recoverable} ->
    /// {errorHandling: retry|skip|abort, retryCount}.
    ErrorOccurred,
    /// `onAgentStop` {finalAnswer} -> {decision: "block", reason}.
    AgentStop,
}

impl HookKind {
    /// Every hook.
    pub const ALL: [HookKind; 8] = [
        HookKind::PreToolUse,
        HookKind::PostToolUse,
        HookKind::PostToolUseFailure,
        HookKind::UserPromptSubmitted,
        HookKind::SessionStart,
        HookKind::SessionEnd,
        HookKind::ErrorOccurred,
        HookKind::AgentStop,
    ];

    /// The `hookType` of its events: "preToolUse", ...
    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::PreToolUse => "preToolUse",
            HookKind::PostToolUse => "postToolUse",
            HookKind::PostToolUseFailure => "postToolUseFailure",
            HookKind::UserPromptSubmitted => "userPromptSubmitted",
            HookKind::SessionStart => "sessionStart",
            HookKind::SessionEnd => "sessionEnd",
            HookKind::ErrorOccurred => "errorOccurred",
            HookKind::AgentStop => "agentStop",
        }
    }

    /// The config key: "onPreToolUse", ...
    pub fn config_name(self) -> &'static str {
        match self {
            HookKind::PreToolUse => "onPreToolUse",
            HookKind::PostToolUse => "onPostToolUse",
            HookKind::PostToolUseFailure => "onPostToolUseFailure",
            HookKind::UserPromptSubmitted => "onUserPromptSubmitted",
            HookKind::SessionStart => "onSessionStart",
            HookKind::SessionEnd => "onSessionEnd",
            HookKind::ErrorOccurred => "onErrorOccurred",
            HookKind::AgentStop => "onAgentStop",
        }
    }

    /// The hook a config key (`onPreToolUse`) or hook type (`preToolUse`) names.
    pub fn parse(name: &str) -> Option<HookKind> {
        HookKind::ALL
            .into_iter()
            .find(|k| k.config_name() == name || k.as_str() == name)
    }

    /// [`parse`](Self::parse) for a binding's hook names: an unknown name is a config error that
    /// lists the valid ones.
    pub fn from_name(name: &str) -> crate::Result<HookKind> {
        Self::parse(name).ok_or_else(|| {
            let known: Vec<&str> = HookKind::ALL.iter().map(|k| k.config_name()).collect();
            crate::Error::config(format!(
                "hooks: \"{name}\" is not a session hook (one of {})",
                known.join(", ")
            ))
        })
    }
}

/// What a hook answers: an output object, nothing, or an error (its message).
pub type HookResult = std::result::Result<Option<Value>, String>;

/// A hook's answer given as JSON text, as the bindings' hooks give it: `null` (or no text) is no
/// output; text that is not JSON is the hook's failure, with one message in every binding.
pub fn output_from_json(json: Option<&str>) -> HookResult {
    let Some(json) = json else { return Ok(None) };
    serde_json::from_str::<Value>(json)
        .map(|v| (!v.is_null()).then_some(v))
        .map_err(|e| format!("the hook's output is not valid JSON: {e}"))
}

/// What a host language's hook answered ([`SessionHooks::from_host`]).
#[derive(Clone, Debug)]
pub enum HookAnswer {
    /// An output value; `None` or `null` is no output.
    Value(Option<Value>),
    /// An output as JSON text, read by [`output_from_json`]; `None` is no output.
    Text(Option<String>),
    /// What the host already read: an output, or the hook's failure.
    Read(HookResult),
}

impl HookAnswer {
    fn into_result(self) -> HookResult {
        match self {
            HookAnswer::Value(v) => Ok(v.filter(|v| !v.is_null())),
            HookAnswer::Text(text) => output_from_json(text.as_deref()),
            HookAnswer::Read(result) => result,
        }
    }
}

impl From<Value> for HookAnswer {
    fn from(output: Value) -> Self {
        HookAnswer::Value(Some(output))
    }
}

impl From<Option<String>> for HookAnswer {
    fn from(output: Option<String>) -> Self {
        HookAnswer::Text(output)
    }
}

impl From<HookResult> for HookAnswer {
    fn from(result: HookResult) -> Self {
        HookAnswer::Read(result)
    }
}

type HookFn = dyn Fn(Value) -> BoxFuture<'static, HookResult> + Send + Sync;

/// The session's hooks. Bindings register one JSON function per hook; Rust code can use the typed
/// helpers ([`SessionHooks::on_pre_tool_use`], ...).
#[derive(Clone)]
pub struct SessionHooks {
    handlers: HashMap<HookKind, Arc<HookFn>>,
    /// How long a hook may take (default 30 s).
    pub timeout: Duration,
    /// How many times `onAgentStop` may block one send (default 3).
    pub max_agent_stop_blocks: usize,
    /// How many retries `onErrorOccurred` may ask for per send (default 2).
    pub max_error_retries: usize,
}

impl Default for SessionHooks {
    fn default() -> Self {
        SessionHooks {
            handlers: HashMap::new(),
            timeout: Duration::from_secs(30),
            max_agent_stop_blocks: 3,
            max_error_retries: 2,
        }
    }
}

impl fmt::Debug for SessionHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.handlers.keys().map(|k| k.config_name()).collect();
        names.sort_unstable();
        f.debug_struct("SessionHooks")
            .field("hooks", &names)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl SessionHooks {
    /// No hooks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `kind` as a JSON function: input object in, output object (or nothing) out.
    pub fn on<F, Fut>(mut self, kind: HookKind, f: F) -> Self
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HookResult> + Send + 'static,
    {
        self.handlers
            .insert(kind, Arc::new(move |v| Box::pin(f(v))));
        self
    }

    /// The hooks a host language runs (Python, JavaScript, C, uniffi): for each `(name, handler)`,
    /// `name` the Copilot SDK's key ("onPreToolUse") or the hook type ("preToolUse"), the hook calls
    /// `run(handler, kind, input_json)` and reads its [`HookAnswer`]; an `Err` is the hook's failure,
    /// with its message. A `Config` error names an unknown hook and lists the valid ones.
    pub fn from_host<N, H, F, Fut, A, E>(
        hooks: impl IntoIterator<Item = (N, H)>,
        run: F,
    ) -> Result<Self>
    where
        N: AsRef<str>,
        H: Send + Sync + 'static,
        F: Fn(&H, HookKind, String) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<A, E>> + Send + 'static,
        A: Into<HookAnswer>,
        E: fmt::Display,
    {
        let mut session_hooks = SessionHooks::new();
        for (name, handler) in hooks {
            let kind = HookKind::from_name(name.as_ref())?;
            let run = run.clone();
            session_hooks = session_hooks.on(kind, move |input: Value| {
                let answer = run(&handler, kind, input.to_string());
                async move {
                    answer
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|a| a.into().into_result())
                }
            });
        }
        Ok(session_hooks)
    }

    /// Registers `kind` with typed input and output.
    pub fn on_typed<I, O, F, Fut>(self, kind: HookKind, f: F) -> Self
    where
        I: DeserializeOwned + Send + 'static,
        O: Serialize + Send + 'static,
        F: Fn(I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<Option<O>, String>> + Send + 'static,
    {
        let f = Arc::new(f);
        self.on(kind, move |input| {
            let f = f.clone();
            async move {
                let input: I = serde_json::from_value(input).map_err(|e| e.to_string())?;
                let output = f(input).await?;
                output
                    .map(|o| serde_json::to_value(o).map_err(|e| e.to_string()))
                    .transpose()
            }
        })
    }

    /// `onPreToolUse`, typed.
    pub fn on_pre_tool_use<F, Fut>(self, f: F) -> Self
    where
        F: Fn(PreToolUseInput) -> Fut + Send + Sync + 'static,
        Fut:
            Future<Output = std::result::Result<Option<PreToolUseOutput>, String>> + Send + 'static,
    {
        self.on_typed(HookKind::PreToolUse, f)
    }

    /// `onPostToolUse`, typed.
    pub fn on_post_tool_use<F, Fut>(self, f: F) -> Self
    where
        F: Fn(PostToolUseInput) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<Option<PostToolUseOutput>, String>>
            + Send
            + 'static,
    {
        self.on_typed(HookKind::PostToolUse, f)
    }

    /// `onUserPromptSubmitted`, typed.
    pub fn on_user_prompt_submitted<F, Fut>(self, f: F) -> Self
    where
        F: Fn(UserPromptSubmittedInput) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<Option<UserPromptSubmittedOutput>, String>>
            + Send
            + 'static,
    {
        self.on_typed(HookKind::UserPromptSubmitted, f)
    }

    /// Whether `kind` is registered.
    pub fn has(&self, kind: HookKind) -> bool {
        self.handlers.contains_key(&kind)
    }

    /// Calls `kind` (nothing when unregistered): adds `sessionId` and `timestamp` to `input`, emits
    /// `hook.start` and `hook.end`, enforces the timeout. An error is the hook's failure, of kind
    /// [`ErrorKind::Hook`].
    pub(crate) async fn call(
        &self,
        session: &SessionInner,
        kind: HookKind,
        mut input: Value,
    ) -> Result<Option<Value>> {
        let Some(handler) = self.handlers.get(&kind) else {
            return Ok(None);
        };
        if let Value::Object(map) = &mut input {
            map.insert("sessionId".into(), json!(session.id));
            map.insert("timestamp".into(), json!(crate::util::now_rfc3339_millis()));
        }
        let id = crate::util::new_id();
        session.bus.emit(EventData::HookStart(HookStartData {
            hook_invocation_id: id.clone(),
            hook_type: kind.as_str().to_owned(),
            input: Some(input.clone()),
        }));
        let called = std::panic::AssertUnwindSafe(handler(input));
        let outcome = match tokio::time::timeout(
            self.timeout,
            futures::FutureExt::catch_unwind(called),
        )
        .await
        {
            Ok(Ok(Ok(output))) => Ok(output.filter(|v| !v.is_null())),
            Ok(Ok(Err(message))) => Err(message),
            Ok(Err(_)) => Err("the hook panicked".to_owned()),
            Err(_) => Err(format!(
                "the hook did not answer within {} ms",
                self.timeout.as_millis()
            )),
        };
        session.bus.emit(EventData::HookEnd(HookEndData {
            hook_invocation_id: id,
            hook_type: kind.as_str().to_owned(),
            success: outcome.is_ok(),
            output: outcome.as_ref().ok().cloned().flatten(),
            error: outcome.as_ref().err().map(|m| HookEndError {
                message: m.clone(),
                stack: None,
            }),
        }));
        outcome.map_err(|m| {
            Error::new(
                ErrorKind::Hook,
                format!("the {} hook failed: {m}", kind.config_name()),
            )
        })
    }
}

/// Parses a hook's output, naming the hook when it does not fit.
pub(crate) fn output<T: DeserializeOwned + Default>(kind: HookKind, v: Option<Value>) -> Result<T> {
    match v {
        None => Ok(T::default()),
        Some(v) => serde_json::from_value(v).map_err(|e| {
            Error::new(
                ErrorKind::Hook,
                format!(
                    "the {} hook returned an invalid output: {e}",
                    kind.config_name()
                ),
            )
        }),
    }
}

/// `onPreToolUse` input.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreToolUseInput {
    /// The tool.
    pub tool_name: String,
    /// Its arguments.
    pub tool_args: Value,
    /// The session.
    #[serde(default)]
    pub session_id: String,
    /// When (RFC 3339).
    #[serde(default)]
    pub timestamp: String,
}

/// `onPreToolUse`'s decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HookDecision {
    /// Run it without asking the permission handler.
    Allow,
    /// Do not run it: the model gets a denied result with the reason; the loop continues.
    Deny,
    /// Let the permission handler decide.
    Ask,
}

/// `onPreToolUse` output.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreToolUseOutput {
    /// allow, deny or ask (absent: ask).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_decision: Option<HookDecision>,
    /// Why (the model sees it on deny).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_decision_reason: Option<String>,
    /// Arguments the handler receives instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_args: Option<Value>,
    /// Text the model gets with the tool result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_context: Option<String>,
    /// Keep the result out of `tool.execution_complete` (the model still sees it).
    #[serde(default)]
    pub suppress_output: bool,
}

/// `onPostToolUse` input.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostToolUseInput {
    /// The tool.
    pub tool_name: String,
    /// Its arguments.
    pub tool_args: Value,
    /// What it returned.
    pub tool_result: Value,
    /// The session.
    #[serde(default)]
    pub session_id: String,
    /// When.
    #[serde(default)]
    pub timestamp: String,
}

/// `onPostToolUse` output.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostToolUseOutput {
    /// What the model sees instead: a string, or {textResultForLlm, resultType}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_result: Option<Value>,
    /// Text the model gets with the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_context: Option<String>,
}

/// `onPostToolUseFailure` output.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostToolUseFailureOutput {
    /// Text the model gets with the failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_context: Option<String>,
}

/// `onUserPromptSubmitted` input.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPromptSubmittedInput {
    /// The prompt.
    pub prompt: String,
    /// The session.
    #[serde(default)]
    pub session_id: String,
    /// When.
    #[serde(default)]
    pub timestamp: String,
}

/// `onUserPromptSubmitted` output.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserPromptSubmittedOutput {
    /// The prompt the model gets instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_prompt: Option<String>,
    /// Text the model gets with the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_context: Option<String>,
}

/// `onSessionStart` output.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionStartOutput {
    /// Text the model gets with every request of the session (after the system prompt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_context: Option<String>,
}

/// What `onErrorOccurred` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorHandling {
    /// Try again (capped by `max_error_retries`).
    Retry,
    /// Go on without the failed step: a model call ends the send without an error.
    Skip,
    /// Fail (the default).
    Abort,
}

/// `onErrorOccurred` output.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorOccurredOutput {
    /// retry, skip or abort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_handling: Option<ErrorHandling>,
    /// Retries wanted (at most `max_error_retries` per send).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<u32>,
}

/// `onAgentStop` output.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentStopOutput {
    /// "block": the send goes on with `reason` as the next user message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// What the model is told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Appends a hook's `additionalContext` to what the model sees.
pub(crate) fn with_context(text: String, context: Option<&str>) -> String {
    match context.filter(|c| !c.trim().is_empty()) {
        Some(c) => format!("{text}\n\n{c}"),
        None => text,
    }
}

#[cfg(test)]
mod from_host_tests {
    use super::*;

    /// Runs the registered hook `kind` of `hooks` on `input`.
    async fn run(hooks: &SessionHooks, kind: HookKind, input: Value) -> HookResult {
        let handler = hooks.handlers.get(&kind).expect("registered");
        handler(input).await
    }

    #[tokio::test]
    async fn a_host_hook_gets_its_input_as_json_and_each_answer_shape_is_read() {
        // Per-name handlers, as Python and Node give them: each returns its own answer shape.
        let hooks = SessionHooks::from_host(
            [("onPreToolUse", "text"), ("postToolUse", "value")],
            |shape: &&str, kind, input: String| {
                let shape = *shape;
                async move {
                    let input: Value = serde_json::from_str(&input).expect("JSON input");
                    let answer: HookAnswer = match shape {
                        "text" => Some(format!(
                            r#"{{"permissionDecision": "deny", "seen": "{}", "kind": "{}"}}"#,
                            input["toolName"].as_str().unwrap_or_default(),
                            kind.config_name()
                        ))
                        .into(),
                        _ => Value::Null.into(),
                    };
                    Ok::<_, String>(answer)
                }
            },
        )
        .expect("known names");
        assert!(hooks.has(HookKind::PreToolUse) && hooks.has(HookKind::PostToolUse));
        let output = run(
            &hooks,
            HookKind::PreToolUse,
            json!({"toolName": "get_weather"}),
        )
        .await
        .expect("an output");
        assert_eq!(
            output,
            Some(
                json!({"permissionDecision": "deny", "seen": "get_weather", "kind": "onPreToolUse"})
            )
        );
        let none = run(&hooks, HookKind::PostToolUse, json!({})).await;
        assert_eq!(none, Ok(None), "null is no output");
    }

    #[tokio::test]
    async fn a_failed_host_hook_is_the_hooks_failure_and_an_unknown_name_is_refused() {
        let failing = SessionHooks::from_host([("onSessionStart", ())], |_, _, _| async {
            Err::<Value, _>("the handler raised: boom")
        })
        .expect("known name");
        let failed = run(&failing, HookKind::SessionStart, json!({})).await;
        assert_eq!(failed, Err("the handler raised: boom".to_owned()));
        let not_json = SessionHooks::from_host([("onSessionEnd", ())], |_, _, _| async {
            Ok::<_, String>(Some("{not json".to_owned()))
        })
        .expect("known name");
        let e = run(&not_json, HookKind::SessionEnd, json!({}))
            .await
            .expect_err("text that is not JSON fails the hook");
        assert!(e.contains("not valid JSON"), "{e}");
        let read = SessionHooks::from_host([("onAgentStop", ())], |_, _, _| async {
            Ok::<HookResult, String>(Err("the host's own reading failed".to_owned()))
        })
        .expect("known name");
        assert_eq!(
            run(&read, HookKind::AgentStop, json!({})).await,
            Err("the host's own reading failed".to_owned())
        );
        let unknown = SessionHooks::from_host([("onPreToolUs", ())], |_, _, _| async {
            Ok::<Value, String>(Value::Null)
        })
        .expect_err("an unknown hook");
        assert_eq!(unknown.kind(), ErrorKind::Config);
        assert!(unknown.message().contains("onPreToolUse"), "{unknown}");
    }
}
