"""Session hooks (the Copilot SDK's): functions called at points of a turn, each with its input dict,
returning an output dict or ``None`` (sync or async). Core calls them, applies their answers and emits
``hook.start`` / ``hook.end``; a raising hook fails its tool call (or, for
``on_user_prompt_submitted``, its send), never the session. See the README's "Hooks and permissions".
"""

from __future__ import annotations

import inspect
import json
from typing import Any, Awaitable, Callable, List, Mapping, Optional, Tuple, TypedDict

from .tools import _positional

HookFn = Callable[..., Any]
"""``hook(input)`` or ``hook(input, invocation)`` (``invocation``: ``{"session_id": ...}``), sync or
async, returning an output dict or ``None``. ``input`` has the Copilot SDK's camelCase keys
(``toolName``, ``toolArgs``, ``prompt``, ...) plus ``sessionId`` and ``timestamp``; so has the
output (``permissionDecision``, ``modifiedPrompt``, ``additionalContext``, ...)."""


class SessionHooks(TypedDict, total=False):
    """The session's hooks by their Copilot SDK names (the camelCase ones, ``onPreToolUse``, work
    too)."""

    on_pre_tool_use: HookFn
    """Before a tool runs: ``{"permissionDecision": "allow" | "deny" | "ask",
    "permissionDecisionReason", "modifiedArgs", "additionalContext", "suppressOutput"}``."""
    on_post_tool_use: HookFn
    """After a tool succeeded: ``{"modifiedResult", "additionalContext"}``."""
    on_post_tool_use_failure: HookFn
    """After a tool failed: ``{"additionalContext"}``."""
    on_user_prompt_submitted: HookFn
    """Before a prompt is sent: ``{"modifiedPrompt", "additionalContext"}``."""
    on_session_start: HookFn
    """``{"additionalContext"}``."""
    on_session_end: HookFn
    on_error_occurred: HookFn
    """``{"errorHandling": "retry" | "skip" | "abort"}``."""
    on_agent_stop: HookFn
    """``{"decision": "block", "reason"}``: the reason becomes the next user message."""


def _camel(name: str) -> str:
    """``on_pre_tool_use`` -> ``onPreToolUse`` (camelCase names stay as they are)."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _hook_callbacks(
    hooks: Mapping[str, HookFn], session_id: Callable[[], Optional[str]]
) -> List[Tuple[str, Callable[[str], Awaitable[Optional[str]]]]]:
    """Adapts the user's hooks to what the native side calls: ``(input_json) -> output_json``;
    what a hook raises is its failure (core reports it in ``hook.end``)."""

    def adapt(hook: HookFn) -> Callable[[str], Awaitable[Optional[str]]]:
        two = len(_positional(hook)) >= 2

        async def call(input_json: str) -> Optional[str]:
            data = json.loads(input_json)
            result = hook(data, {"session_id": session_id()}) if two else hook(data)
            if inspect.isawaitable(result):
                result = await result
            return None if result is None else json.dumps(dict(result))

        return call

    return [(_camel(name), adapt(hook)) for name, hook in hooks.items() if hook is not None]


__all__ = ["HookFn", "SessionHooks"]
