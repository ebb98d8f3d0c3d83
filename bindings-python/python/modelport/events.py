"""Session events: typed objects with attribute access (``event.type``, ``event.data.delta_content``)
and ``to_dict()`` for the camelCase wire JSON.

:class:`Event` and :class:`EventData` are native objects sharing the core event: reading a field
converts only that field.
"""

from __future__ import annotations

import sys
from enum import Enum

from ._native import (
    Attachment,
    Event,
    EventData,
    McpServerInfo,
    ToolExecutionError,
    ToolExecutionResult,
    ToolRequest,
)


if sys.version_info >= (3, 11):
    from enum import StrEnum as _StrEnum
else:

    class _StrEnum(str, Enum):
        """``enum.StrEnum`` before Python 3.11."""

        def __str__(self) -> str:
            return str(self.value)


class EventType(_StrEnum):
    """Every event type (a str Enum: ``event.type == "assistant.message"`` holds)."""

    SESSION_START = "session.start"
    SESSION_RESUME = "session.resume"
    USER_MESSAGE = "user.message"
    ASSISTANT_TURN_START = "assistant.turn_start"
    ASSISTANT_TURN_END = "assistant.turn_end"
    ASSISTANT_TURN_RETRY = "assistant.turn_retry"
    ASSISTANT_MESSAGE_START = "assistant.message_start"
    ASSISTANT_MESSAGE_DELTA = "assistant.message_delta"
    ASSISTANT_REASONING_DELTA = "assistant.reasoning_delta"
    ASSISTANT_REASONING = "assistant.reasoning"
    ASSISTANT_MESSAGE = "assistant.message"
    ASSISTANT_USAGE = "assistant.usage"
    TOOL_EXECUTION_START = "tool.execution_start"
    TOOL_EXECUTION_COMPLETE = "tool.execution_complete"
    ABORT = "abort"
    SESSION_ERROR = "session.error"
    SESSION_IDLE = "session.idle"
    SESSION_USAGE_INFO = "session.usage_info"
    SESSION_COMPACTION_START = "session.compaction_start"
    SESSION_COMPACTION_COMPLETE = "session.compaction_complete"
    SESSION_MODEL_CHANGE = "session.model_change"
    PERMISSION_REQUESTED = "permission.requested"
    PERMISSION_COMPLETED = "permission.completed"
    HOOK_START = "hook.start"
    HOOK_END = "hook.end"
    SESSION_MCP_SERVERS_LOADED = "session.mcp_servers_loaded"
    SESSION_MCP_SERVER_STATUS_CHANGED = "session.mcp_server_status_changed"


SessionEvent = Event
"""The Copilot SDK's name for :class:`Event`."""

__all__ = [
    "Attachment",
    "Event",
    "EventData",
    "EventType",
    "McpServerInfo",
    "SessionEvent",
    "ToolExecutionError",
    "ToolExecutionResult",
    "ToolRequest",
]
