//! Session hooks implemented in the foreign language: one [`HookHandler`] for the hooks a session
//! installs (core's `SessionHooks`, one JSON function per hook).

use std::sync::Arc;

use modelport::session::hooks::SessionHooks;

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
    let hooks = names.iter().map(|name| (name, handler.clone()));
    Ok(SessionHooks::from_host(hooks, |handler, kind, input| {
        let handler = handler.clone();
        async move { handler.on_hook(kind.config_name().to_owned(), input).await }
    })?)
}
