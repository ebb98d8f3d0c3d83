"""The Client: creates and resumes sessions, lists models, stops everything."""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import TracebackType
from typing import (
    Any,
    Dict,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypedDict,
    Union,
)

from . import _native
from ._logging import _sync_level
from .errors import ModelportError
from .hooks import SessionHooks, _hook_callbacks
from .mcp import MCPServerConfig
from .models import ListModelsHandler, ModelInfo, _from_json, _handler_callback
from .provider import ProviderConfig, RetryPolicy, Timeouts, _split
from .session import ReasoningEffort, ResponseFormat, Session, ToolChoice
from .tools import PermissionHandler, PermissionHandlerFn, Tool, _permission_callback


class SystemMessage(TypedDict, total=False):
    """The session's system prompt (modelport has no default prompt: both modes send ``content``)."""

    mode: Literal["append", "replace"]
    content: str


class InfiniteSessions(TypedDict, total=False):
    """Automatic compaction of a session's history before it outgrows the model's context window
    (the window: the provider's ``max_prompt_tokens``, else the model list's limits)."""

    enabled: bool
    """Compact automatically (default True). False: the provider's context-length error fails the
    send."""
    background_compaction_threshold: float
    """At this fraction of the window a compaction runs in the background after the send (default
    0.80)."""
    buffer_exhaustion_threshold: float
    """A send that would cross this fraction waits for a compaction first (default 0.95)."""


class SessionConfig(TypedDict, total=False):
    """How to create a session (the Copilot SDK's ``SessionConfig``, snake_case)."""

    session_id: str
    model: str
    """The model (the deployment name on Azure); required with a provider."""
    provider: ProviderConfig
    """The provider; the client's default provider when absent."""
    tools: Sequence[Tool]
    system_message: SystemMessage
    streaming: bool
    """Stream answers as delta events (default False)."""
    reasoning_effort: ReasoningEffort
    available_tools: Sequence[str]
    excluded_tools: Sequence[str]
    on_permission_request: PermissionHandlerFn
    tool_choice: ToolChoice
    parallel_tool_calls: bool
    suppress_resume_event: bool
    """``resume_session`` only: do not emit ``session.resume``."""
    infinite_sessions: InfiniteSessions
    temperature: float
    top_p: float
    stop: Sequence[str]
    seed: int
    max_output_tokens: int
    extra_body: Mapping[str, Any]
    """Provider-specific request fields, merged into every request body."""
    max_turns: int
    """Model calls per send (the tool-loop limit)."""
    response_format: ResponseFormat
    """The answer's shape for every send (see ``send_and_parse`` for a typed result)."""
    fallback_models: Sequence[str]
    """Models (``provider/id`` with the client's ``providers``) tried in turn when the model fails
    before any output."""
    hooks: SessionHooks
    """Session hooks: ``{"on_pre_tool_use": fn, ...}`` (see :mod:`modelport.hooks`)."""
    hook_timeout_ms: int
    """How long one hook call may take, in milliseconds (default 30000); a hook past it fails as a
    hook that raised."""
    max_agent_stop_blocks: int
    """How many times ``on_agent_stop`` may block one send (default 3)."""
    max_error_retries: int
    """How many retries ``on_error_occurred`` may ask for in one send (default 2)."""
    mcp_servers: Mapping[str, MCPServerConfig]
    """MCP servers whose tools the model may call, by server name (see :mod:`modelport.mcp`);
    their tools are named ``<server>-<tool>``."""


class SessionLease(TypedDict, total=False):
    """A session's lease: one client at a time holds a session; others wait or get
    :class:`~modelport.SessionBusyError`."""

    ttl_ms: int
    """A holder that stops renewing (it died or stalled) loses the lease after this long (default
    30000)."""
    wait_ms: int
    """How long ``resume_session`` waits for a session another client holds (default 0: not at
    all)."""


class ClientOptions(TypedDict, total=False):
    """How to build a :class:`Client`."""

    provider: ProviderConfig
    """The provider for sessions that name none, and for ``list_models()``."""
    on_list_models: ListModelsHandler
    retry: RetryPolicy
    timeouts: Timeouts
    session_store: str
    """Where sessions are kept: ``"memory"``, ``"sqlite:///abs/path.db"`` or a ``postgres://`` URL
    (default: SQLite at ``$MODELPORT_HOME/sessions.db``)."""
    session_lease: SessionLease
    providers: Sequence[Mapping[str, Any]]
    """The provider registry: ``[{"name", **ProviderConfig}]``; sessions select a model as
    ``"<name>/<id>"``. Not combined with ``provider``."""
    models: Sequence[Mapping[str, Any]]
    """The registry's models: ``[{"id", "provider", "wire_model"?, "max_prompt_tokens"?,
    "max_output_tokens"?}]``."""


@dataclass(frozen=True)
class SessionMetadata:
    """A stored session, as ``list_sessions()`` and ``get_session_metadata()`` return it."""

    session_id: str
    start_time: str
    """When the session was created (RFC 3339, UTC)."""
    modified_time: str
    """When the session last changed (RFC 3339, UTC)."""
    model: str
    summary: Optional[str] = None
    """The first user message, shortened."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionMetadata:
        """From the camelCase JSON form."""
        return cls(
            session_id=data["sessionId"],
            start_time=data["startTime"],
            modified_time=data["modifiedTime"],
            model=data["model"],
            summary=data.get("summary"),
        )


_NativeSessionArgs = Tuple[str, List[Tuple[Any, ...]], Any, Any, List[Tuple[str, Any]], bool]


class _SessionId:
    """The id a permission handler's invocation reports, known once the session exists."""

    __slots__ = ("value",)

    def __init__(self, value: Optional[str]) -> None:
        self.value = value

    def __call__(self) -> Optional[str]:
        return self.value


def _session_args(config: Mapping[str, Any], session_id: _SessionId) -> _NativeSessionArgs:
    """The JSON part of a session config, and its callables adapted for the native side."""
    data: Dict[str, Any] = {k: v for k, v in config.items() if v is not None}
    tools = list(data.pop("tools", ()))
    for tool in tools:
        if not isinstance(tool, Tool):
            raise TypeError(f"tools: {tool!r} is not a Tool: define it with @define_tool(...)")
    handler = data.pop("on_permission_request", None)
    hooks = _hook_callbacks(data.pop("hooks", None) or {}, session_id)
    token_provider = None
    if "provider" in data:
        data["provider"], token_provider = _split(data["provider"])
    # approve_all is answered in Rust (core's approve_all): no need to cross to Python for each call.
    approve_all = handler is PermissionHandler.approve_all
    permission = None
    if handler is not None and not approve_all:
        permission = _permission_callback(handler, session_id)
    return (
        json.dumps(data),
        [t._native_def() for t in tools],
        permission,
        token_provider,
        hooks,
        approve_all,
    )


class Client:
    """The entry point: one connection pool, a default provider, the sessions.

    ``async with Client() as client: ...`` stops it on exit; otherwise call ``await client.stop()``.
    """

    __slots__ = ("_native",)

    def __init__(
        self,
        options: Optional[ClientOptions] = None,
        *,
        provider: Optional[ProviderConfig] = None,
        on_list_models: Optional[ListModelsHandler] = None,
        retry: Optional[RetryPolicy] = None,
        timeouts: Optional[Timeouts] = None,
        session_store: Optional[str] = None,
        session_lease: Optional[SessionLease] = None,
        providers: Optional[Sequence[Mapping[str, Any]]] = None,
        models: Optional[Sequence[Mapping[str, Any]]] = None,
    ) -> None:
        _sync_level()
        merged: Dict[str, Any] = dict(options or {})
        unknown = sorted(set(merged) - set(ClientOptions.__annotations__))
        if unknown:
            raise TypeError(
                f"Client options {unknown} are not supported: use provider, on_list_models, retry, "
                "timeouts, session_store, session_lease, providers and models"
            )
        for key, value in (
            ("provider", provider),
            ("on_list_models", on_list_models),
            ("retry", retry),
            ("timeouts", timeouts),
            ("session_store", session_store),
            ("session_lease", session_lease),
            ("providers", providers),
            ("models", models),
        ):
            if value is not None:
                merged[key] = value
        # The core reads the JSON part (provider, retry, timeouts, session store and lease); the
        # callables cross as they are.
        handler = merged.pop("on_list_models", None)
        token_provider = None
        if merged.get("provider") is not None:
            merged["provider"], token_provider = _split(merged["provider"])
        self._native = _native.Client(
            options=json.dumps(merged),
            bearer_token_provider=token_provider,
            on_list_models=None if handler is None else _handler_callback(handler),
        )

    def __repr__(self) -> str:
        return f"Client(stopped={self._native.is_stopped})"

    async def start(self) -> None:
        """A harmless no-op, for drop-in use of the Copilot SDK's ``await client.start()``."""
        await self._native.start()

    async def stop(self) -> List[ModelportError]:
        """Aborts every running send (their waiters get :class:`~modelport.CancelledError`), ends
        every session and event stream; returns the errors met while stopping (none normally)."""
        return await self._native.stop()

    @property
    def is_stopped(self) -> bool:
        """Whether ``stop()`` was called."""
        return self._native.is_stopped

    async def create_session(
        self,
        config: Optional[SessionConfig] = None,
        /,
        *,
        session_id: Optional[str] = None,
        model: Optional[str] = None,
        provider: Optional[ProviderConfig] = None,
        tools: Optional[Sequence[Tool]] = None,
        system_message: Optional[SystemMessage] = None,
        streaming: Optional[bool] = None,
        reasoning_effort: Optional[ReasoningEffort] = None,
        available_tools: Optional[Sequence[str]] = None,
        excluded_tools: Optional[Sequence[str]] = None,
        on_permission_request: Optional[PermissionHandlerFn] = None,
        tool_choice: Optional[ToolChoice] = None,
        parallel_tool_calls: Optional[bool] = None,
        infinite_sessions: Optional[InfiniteSessions] = None,
        temperature: Optional[float] = None,
        top_p: Optional[float] = None,
        stop: Optional[Sequence[str]] = None,
        seed: Optional[int] = None,
        max_output_tokens: Optional[int] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        max_turns: Optional[int] = None,
        response_format: Optional[ResponseFormat] = None,
        fallback_models: Optional[Sequence[str]] = None,
        hooks: Optional[SessionHooks] = None,
        hook_timeout_ms: Optional[int] = None,
        max_agent_stop_blocks: Optional[int] = None,
        max_error_retries: Optional[int] = None,
        mcp_servers: Optional[Mapping[str, MCPServerConfig]] = None,
    ) -> Session:
        """Creates a session, from a :class:`SessionConfig` dict and/or keyword arguments (which win).

        Errors name the field and the fix ("Model not specified", a bad base_url, the Azure endpoint
        confusions, ...) and raise :class:`~modelport.ConfigError`; a ``session_id`` the session
        store already has raises :class:`~modelport.SessionExistsError`.
        """
        _sync_level()
        merged = _merge(config, locals())
        known_id = _SessionId(merged.get("session_id"))
        session = Session(await self._native.open_session(None, *_session_args(merged, known_id)))
        known_id.value = session.session_id
        return session

    async def resume_session(
        self,
        session_id: str,
        config: Optional[SessionConfig] = None,
        /,
        *,
        model: Optional[str] = None,
        provider: Optional[ProviderConfig] = None,
        tools: Optional[Sequence[Tool]] = None,
        system_message: Optional[SystemMessage] = None,
        streaming: Optional[bool] = None,
        reasoning_effort: Optional[ReasoningEffort] = None,
        available_tools: Optional[Sequence[str]] = None,
        excluded_tools: Optional[Sequence[str]] = None,
        on_permission_request: Optional[PermissionHandlerFn] = None,
        tool_choice: Optional[ToolChoice] = None,
        parallel_tool_calls: Optional[bool] = None,
        suppress_resume_event: Optional[bool] = None,
        infinite_sessions: Optional[InfiniteSessions] = None,
        temperature: Optional[float] = None,
        top_p: Optional[float] = None,
        stop: Optional[Sequence[str]] = None,
        seed: Optional[int] = None,
        max_output_tokens: Optional[int] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        max_turns: Optional[int] = None,
        response_format: Optional[ResponseFormat] = None,
        fallback_models: Optional[Sequence[str]] = None,
        hooks: Optional[SessionHooks] = None,
        hook_timeout_ms: Optional[int] = None,
        max_agent_stop_blocks: Optional[int] = None,
        max_error_retries: Optional[int] = None,
        mcp_servers: Optional[Mapping[str, MCPServerConfig]] = None,
    ) -> Session:
        """Resumes a stored session by id, in this process or any other sharing the session store.
        The config gives again what is never stored (credentials, tools, handlers); the model and
        the provider's endpoint default to the stored ones. The conversation and its events
        continue, after a ``session.resume`` event (unless ``suppress_resume_event``).

        Raises :class:`~modelport.SessionNotFoundError` for an unknown id,
        :class:`~modelport.SessionBusyError` while another client holds the session (see
        ``session_lease``), :class:`~modelport.StorageError` when the store fails."""
        _sync_level()
        merged = _merge(config, locals())
        merged.pop("session_id", None)
        args = _session_args(merged, _SessionId(session_id))
        return Session(await self._native.open_session(session_id, *args))

    async def list_sessions(self) -> List[SessionMetadata]:
        """The stored sessions, most recently modified first."""
        return [SessionMetadata.from_dict(m) for m in json.loads(await self._native.list_sessions())]

    async def get_last_session_id(self) -> Optional[str]:
        """The id of the most recently modified session (``None`` when there is none)."""
        return await self._native.get_last_session_id()

    async def get_session_metadata(self, session_id: str) -> Optional[SessionMetadata]:
        """One stored session's metadata (``None`` when there is no such session)."""
        data = json.loads(await self._native.get_session_metadata(session_id))
        return None if data is None else SessionMetadata.from_dict(data)

    async def delete_session(self, session_id: str) -> bool:
        """Deletes a session from the store (a live session of this client is disconnected first);
        ``False`` when there was none. :class:`~modelport.SessionBusyError` while another client
        holds it."""
        return await self._native.delete_session(session_id)

    async def list_models(self) -> List[ModelInfo]:
        """The ``on_list_models`` handler's list when set (no fallback), otherwise the default
        provider's model list; cached for the client's life after the first success."""
        return _from_json(await self._native.list_models())

    async def __aenter__(self) -> Client:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.stop()


_SESSION_KEYS = (
    "session_id",
    "model",
    "provider",
    "tools",
    "system_message",
    "streaming",
    "reasoning_effort",
    "available_tools",
    "excluded_tools",
    "on_permission_request",
    "tool_choice",
    "parallel_tool_calls",
    "suppress_resume_event",
    "infinite_sessions",
    "temperature",
    "top_p",
    "stop",
    "seed",
    "max_output_tokens",
    "extra_body",
    "max_turns",
    "response_format",
    "fallback_models",
    "hooks",
    "hook_timeout_ms",
    "max_agent_stop_blocks",
    "max_error_retries",
    "mcp_servers",
)


def _merge(config: Optional[Mapping[str, Any]], arguments: Mapping[str, Any]) -> Dict[str, Any]:
    merged: Dict[str, Any] = dict(config or {})
    for key in _SESSION_KEYS:
        value = arguments.get(key)
        if value is not None:
            merged[key] = value
    return merged


CopilotClient = Client
"""The Copilot SDK's name for :class:`Client`."""

__all__ = [
    "Client",
    "ClientOptions",
    "CopilotClient",
    "InfiniteSessions",
    "SessionConfig",
    "SessionLease",
    "SessionMetadata",
    "SystemMessage",
    "ToolChoice",
]
