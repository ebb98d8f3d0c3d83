"""modelport: an embedded "bring your own key" LLM agent runtime, asyncio-native.

Mirrors the GitHub Copilot SDK's BYOK usage, without a separate runtime process::

    from modelport import Client, define_tool

    async with Client() as client:
        session = await client.create_session(
            model="gpt-4o",
            provider={"type": "openai", "base_url": "https://api.openai.com/v1", "api_key": key},
        )
        session.on("assistant.message", lambda e: print(e.data.content))
        reply = await session.send_and_wait("What is 2+2?")

The engine is the Rust core (``modelport._native``); the GIL is released while it works and waits.
"""

import atexit as _atexit

from ._logging import _install as _install_logging
from ._logging import flush_logs, set_log_level
from ._native import __version__, _shutdown
from .client import (
    Client,
    ClientOptions,
    CopilotClient,
    InfiniteSessions,
    SessionConfig,
    SessionLease,
    SessionMetadata,
    SystemMessage,
    ToolChoice,
)
from .errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CancelledError,
    ConfigError,
    ContextLengthError,
    DecodeError,
    HookError,
    InternalServerError,
    InvalidOutputError,
    InvalidRequestError,
    LimitError,
    ModelportError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    SessionBusyError,
    SessionExistsError,
    SessionNotFoundError,
    StorageError,
    ToolError,
    TransportError,
)

# Not in __all__: `from modelport import *` must not hide the built-in TimeoutError. The `as` form
# re-exports it for type checkers.
from .errors import TimeoutError as TimeoutError
from .events import (
    Attachment,
    Event,
    EventData,
    EventType,
    McpServerInfo,
    SessionEvent,
    ToolExecutionError,
    ToolExecutionResult,
    ToolRequest,
)
from .hooks import HookFn, SessionHooks
from .mcp import MCPLocalServerConfig, MCPRemoteServerConfig, MCPServerConfig
from .models import ListModelsHandler, ModelCapabilities, ModelInfo, ModelLimits, ModelSupports
from .provider import (
    AzureOptions,
    BearerToken,
    ProviderConfig,
    RetryPolicy,
    Timeouts,
    TokenProvider,
    provider_from_env,
)
from .session import (
    EventHandler,
    EventIterator,
    MessageAttachment,
    MessageOptions,
    ReasoningEffort,
    ResponseFormat,
    Session,
)
from .tools import (
    PermissionHandler,
    PermissionHandlerFn,
    PermissionRequest,
    PermissionResult,
    Tool,
    ToolInvocation,
    ToolResult,
    ToolResultType,
    define_tool,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "Attachment",
    "AuthenticationError",
    "AzureOptions",
    "BadRequestError",
    "BearerToken",
    "CancelledError",
    "Client",
    "ClientOptions",
    "ConfigError",
    "ContextLengthError",
    "CopilotClient",
    "DecodeError",
    "HookError",
    "Event",
    "EventData",
    "EventHandler",
    "EventIterator",
    "EventType",
    "InfiniteSessions",
    "HookFn",
    "InternalServerError",
    "InvalidOutputError",
    "InvalidRequestError",
    "LimitError",
    "ListModelsHandler",
    "MCPLocalServerConfig",
    "MCPRemoteServerConfig",
    "MCPServerConfig",
    "McpServerInfo",
    "MessageAttachment",
    "MessageOptions",
    "ModelCapabilities",
    "ModelInfo",
    "ModelLimits",
    "ModelSupports",
    "ModelportError",
    "NotFoundError",
    "PermissionDeniedError",
    "PermissionHandler",
    "PermissionHandlerFn",
    "PermissionRequest",
    "PermissionResult",
    "ProviderConfig",
    "RateLimitError",
    "ReasoningEffort",
    "ResponseFormat",
    "RetryPolicy",
    "ServerError",
    "Session",
    "SessionBusyError",
    "SessionConfig",
    "SessionEvent",
    "SessionExistsError",
    "SessionHooks",
    "SessionLease",
    "SessionMetadata",
    "SessionNotFoundError",
    "StorageError",
    "SystemMessage",
    "Timeouts",
    "TokenProvider",
    "Tool",
    "ToolChoice",
    "ToolError",
    "ToolExecutionError",
    "ToolExecutionResult",
    "ToolInvocation",
    "ToolRequest",
    "ToolResult",
    "ToolResultType",
    "TransportError",
    "__version__",
    "define_tool",
    "flush_logs",
    "provider_from_env",
    "set_log_level",
]

# The core's log records go to logging.getLogger("modelport") (see modelport._logging).
_install_logging()

# Let the runtime's workers finish with Python objects before the interpreter is torn down.
_atexit.register(_shutdown)
