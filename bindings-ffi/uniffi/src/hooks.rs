//! Session hooks implemented in the foreign language: one [`HookHandler`] for the hooks a session
//! installs (core's `SessionHooks`, one JSON function per hook).

use std::sync::Arc;

use modelport::session::hooks::{HookKind, SessionHooks};
use serde_json::Value;

use crate::error::{CallbackError, ModelportError};

/// Session hooks, given with [`SessionCallbacks`](crate::SessionCallbacks) and called for each hook
/// it names. `hook_name` is the Copilot SDK name ("onPreToolUse", "onPostToolUse",
/// "onPostToolUseFailure", "onUserPromptSubmitted", "onSessionStart", "onSessionEnd",
/// "onErrorOccurred", "onAgentStop"), `input_json` the hook's input (with `sessionId` and
/// `timestamp`); the answer is the hook's output object as JSON (e.g. onPreToolUse
/// `{"permissionDecision": "deny", "permissionDecisionReason": "..."}` or `{"modifiedArgs": {...}}`),
/// or none. Raising is the hook's failure: its tool call fails (the turn goes on), or for
/// onUserPromptSubmitted its send (`ModelportError.Hook`); the session stays usable. Each call is
/// framed by `hook.start` and `hook.end` events; a hook gets 30 seconds.
#[uniffi::export(with_foreign)]
#[async_trait::async_trait]
pub trait HookHandler: Send + Sync {
    /// Runs hook `hook_name`.
    async fn on_hook(
        &self,
        hook_name: String,
        input_json: String,
    ) -> Result<Option<String>, CallbackError>;
}

/// Core's session hooks for `names` (Copilot SDK names, or hook types "preToolUse", ...), each
/// calling `handler`.
pub(crate) fn hooks(
    handler: &Arc<dyn HookHandler>,
    names: &[String],
) -> Result<SessionHooks, ModelportError> {
    let mut hooks = SessionHooks::new();
    for name in names {
        let kind = HookKind::from_name(name)?;
        let handler = handler.clone();
        hooks = hooks.on(kind, move |input: Value| {
            let handler = handler.clone();
            async move {
                let output = handler
                    .on_hook(kind.config_name().to_owned(), input.to_string())
                    .await
                    .map_err(|e| e.to_string())?;
                modelport::session::hooks::output_from_json(output.as_deref())
            }
        });
    }
    Ok(hooks)
}
