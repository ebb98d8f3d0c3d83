"""Tools the model may call, and the permission handler asked before each call.

``@define_tool`` turns a sync or async function into a :class:`Tool`, in one of three ways:

- **a plain typed function** (``def get_weather(city: str, unit: Literal["c", "f"] = "c")``): the
  JSON schema comes from the signature (``str``, ``int``, ``float``, ``bool``, ``Literal``, ``Enum``,
  ``list``, ``dict``, ``Optional`` / ``Union``, ``Annotated[T, "description"]``, pydantic models),
  the descriptions from the docstring (its text, and a Google-style ``Args:`` section or
  ``:param name:`` lines); core checks each call's arguments against that schema, and a call that
  does not fit becomes a failure result the model sees and can correct;
- **a pydantic model** as the single parameter: its ``model_json_schema()``, validated by pydantic;
- **a dict** as the single parameter, with the JSON schema given as ``parameters``.

A parameter annotated :class:`ToolInvocation` (in the first two ways, the second positional
parameter) receives the call's details. The function returns a string, a :class:`ToolResult`, or
any JSON value (sent to the model as compact JSON with sorted keys).

Handlers run on the asyncio event loop: a sync handler blocks the loop while it runs (use
``asyncio.to_thread`` inside an async tool for blocking work); parallel tool calls run concurrently.
"""

from __future__ import annotations

import collections.abc
import inspect
import json
import logging
import typing
from dataclasses import dataclass
from typing import (
    Any,
    Awaitable,
    Callable,
    Dict,
    List,
    Literal,
    Mapping,
    Optional,
    Tuple,
    TypedDict,
    Union,
    overload,
)

from . import _native
from ._signature import FunctionTool

_log = logging.getLogger("modelport")

# A Union of Literals rather than one Literal: the same type to mypy, and stubtest sees a Union.
ToolResultType = Union[
    Literal["success"], Literal["failure"], Literal["denied"], Literal["rejected"]
]


@dataclass(frozen=True)
class ToolResult:
    """A tool's answer. Only ``text_result_for_llm`` reaches the model.

    ``failure`` and ``denied``: the model sees the text and the loop continues; ``rejected``: the
    turn ends without another model call.
    """

    text_result_for_llm: str
    result_type: ToolResultType = "success"
    error: Optional[str] = None
    """An error message for the host (in ``tool.execution_complete``)."""
    session_log: Optional[str] = None
    tool_telemetry: Optional[Mapping[str, Any]] = None
    """Structured telemetry for the host; never sent to the model."""

    @classmethod
    def text(cls, text: str) -> ToolResult:
        """A successful text result."""
        return cls(text)

    @classmethod
    def failure(cls, text: str) -> ToolResult:
        """A failure the model sees (the loop continues)."""
        return cls(text, "failure")

    @classmethod
    def denied(cls, text: str) -> ToolResult:
        """A refusal the model sees (the loop continues)."""
        return cls(text, "denied")

    @classmethod
    def rejected(cls, text: str) -> ToolResult:
        """A rejection: the turn ends without another model call."""
        return cls(text, "rejected")

    def to_dict(self) -> Dict[str, Any]:
        """The Copilot SDK's JSON form (``textResultForLlm``, ``resultType``, ...)."""
        out: Dict[str, Any] = {
            "textResultForLlm": self.text_result_for_llm,
            "resultType": self.result_type,
        }
        if self.error is not None:
            out["error"] = self.error
        if self.session_log is not None:
            out["sessionLog"] = self.session_log
        if self.tool_telemetry is not None:
            out["toolTelemetry"] = dict(self.tool_telemetry)
        return out


@dataclass(frozen=True)
class ToolInvocation:
    """What a handler is told about the call (passed as its second parameter, when it has one)."""

    session_id: str
    tool_call_id: str
    tool_name: str
    arguments: Any


def _positional(fn: Callable[..., Any]) -> List[inspect.Parameter]:
    """The parameters `fn` takes positionally (how many arguments a callback gets)."""
    return [
        p
        for p in inspect.signature(fn).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]


def _is_pydantic_model(tp: object) -> bool:
    return (
        isinstance(tp, type) and hasattr(tp, "model_json_schema") and hasattr(tp, "model_validate")
    )


def _validation_text(error: Any) -> str:
    """A pydantic ValidationError as one line per problem, without documentation URLs."""
    parts = []
    for problem in error.errors(include_url=False):
        where = ".".join(str(p) for p in problem.get("loc", ())) or "arguments"
        parts.append(f"{where}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts)


def _result_json(result: object) -> str:
    """A handler's return value as the JSON the native side turns into a core ``ToolResult``."""
    if isinstance(result, ToolResult):
        return json.dumps(result.to_dict())
    dump = getattr(result, "model_dump", None)
    if callable(dump) and not isinstance(result, type):
        return json.dumps(dump(mode="json"))
    return json.dumps(result)


class Tool:
    """A tool: what the model sees (name, description, JSON-schema parameters) and its handler."""

    name: str
    description: str
    parameters: Dict[str, Any]
    handler: Callable[..., Any]
    params_type: Optional[type]
    skip_permission: bool
    _function: Optional[FunctionTool]

    def __init__(
        self,
        name: str,
        description: str,
        parameters: Mapping[str, Any],
        handler: Callable[..., Any],
        *,
        params_type: Optional[type] = None,
        skip_permission: bool = False,
    ) -> None:
        self.name = name
        self.description = description
        self.parameters = dict(parameters)
        self.handler = handler
        self.params_type = params_type
        self.skip_permission = skip_permission
        self._arity = min(len(_positional(handler)), 2)
        self._function = None

    def __repr__(self) -> str:
        return f"Tool(name={self.name!r}, description={self.description!r})"

    async def _invoke(
        self, arguments: str, session_id: str, tool_call_id: str, tool_name: str
    ) -> str:
        """Called by the native side on the event loop; returns the result as JSON."""
        args = json.loads(arguments)
        if self._function is not None:
            invocation = ToolInvocation(session_id, tool_call_id, tool_name, args)
            try:
                positional, keywords = self._function.bind(args, invocation)
            except (ValueError, TypeError) as e:
                # Core checked the arguments against the schema; this is a value the schema let
                # through and the type refuses (a pydantic validator, ...).
                detail = _validation_text(e) if hasattr(e, "errors") else str(e)
                return _native.invalid_arguments(self.name, detail)
            return _result_json(await _settle(self.handler(*positional, **keywords)))
        params: Any = args
        if self.params_type is not None:
            from pydantic import ValidationError

            try:
                params = self.params_type.model_validate(args)  # type: ignore[attr-defined]
            except ValidationError as e:
                # The core writes the text the model sees, the same in every language.
                return _native.invalid_arguments(self.name, _validation_text(e))
        call_args: Tuple[Any, ...] = ()
        if self._arity >= 1:
            call_args = (params,)
        if self._arity == 2:
            call_args += (ToolInvocation(session_id, tool_call_id, tool_name, args),)
        return _result_json(await _settle(self.handler(*call_args)))

    def _native_def(self) -> Tuple[str, str, str, bool, bool, Callable[..., Awaitable[str]]]:
        # Core checks a function tool's arguments against its schema before calling it.
        return (
            self.name,
            self.description,
            json.dumps(self.parameters),
            self.skip_permission,
            self._function is not None,
            self._invoke,
        )


async def _settle(result: object) -> object:
    """A handler's result, awaited when it is awaitable (async handlers)."""
    if inspect.isawaitable(result):
        return await result
    return result


def _is_dict_type(tp: object) -> bool:
    return tp in (dict, Dict, Mapping) or typing.get_origin(tp) in (dict, collections.abc.Mapping)


def _make_tool(
    fn: Callable[..., Any],
    name: Optional[str],
    description: Optional[str],
    params_type: Optional[type],
    parameters: Optional[Mapping[str, Any]],
    skip_permission: bool,
) -> Tool:
    tool_name = name or getattr(fn, "__name__", None)
    if not tool_name:
        raise TypeError("define_tool: give the tool a name")
    positional = _positional(fn)
    try:
        hints: Mapping[str, object] = typing.get_type_hints(fn)
    except Exception:  # an annotation naming something get_type_hints cannot see (a local class)
        hints = {p.name: p.annotation for p in positional}
    first = hints.get(positional[0].name) if positional else None
    if params_type is None and parameters is None:
        if isinstance(first, type) and _is_pydantic_model(first):
            params_type = first
    function: Optional[FunctionTool] = None
    if params_type is not None:
        if not _is_pydantic_model(params_type):
            raise TypeError(
                f"define_tool({tool_name!r}): params_type must be a pydantic model class"
            )
        schema: Mapping[str, Any] = params_type.model_json_schema()  # type: ignore[attr-defined]
    elif parameters is not None:
        schema = parameters
    elif _is_dict_type(first) and all(
        hints.get(p.name, p.empty) in (p.empty, ToolInvocation) for p in positional[1:]
    ):
        raise TypeError(
            f"define_tool({tool_name!r}): a function taking the arguments as one dict needs "
            "parameters= (their JSON schema); or annotate the parameter with a pydantic model, "
            "or give each argument its own typed parameter"
        )
    else:
        function = FunctionTool(fn, tool_name, ToolInvocation)
        schema = function.schema
    if description is not None:
        text = description
    elif function is not None:
        text = function.description
    else:
        text = inspect.getdoc(fn) or ""
    tool = Tool(
        tool_name,
        text,
        schema,
        fn,
        params_type=params_type,
        skip_permission=skip_permission,
    )
    tool._function = function
    return tool


@overload
def define_tool(name: Callable[..., Any], /) -> Tool: ...


@overload
def define_tool(
    name: Optional[str] = None,
    *,
    description: Optional[str] = None,
    handler: None = None,
    params_type: Optional[type] = None,
    parameters: Optional[Mapping[str, Any]] = None,
    skip_permission: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...


@overload
def define_tool(
    name: Optional[str] = None,
    *,
    description: Optional[str] = None,
    handler: Callable[..., Any],
    params_type: Optional[type] = None,
    parameters: Optional[Mapping[str, Any]] = None,
    skip_permission: bool = False,
) -> Tool: ...


def define_tool(
    name: Union[str, Callable[..., Any], None] = None,
    *,
    description: Optional[str] = None,
    handler: Optional[Callable[..., Any]] = None,
    params_type: Optional[type] = None,
    parameters: Optional[Mapping[str, Any]] = None,
    skip_permission: bool = False,
) -> Union[Tool, Callable[[Callable[..., Any]], Tool]]:
    """Defines a tool, as a decorator (``@define_tool``, ``@define_tool(description=...)``) or with
    ``handler=``.

    The name defaults to the function's name and the description to its docstring (for a plain
    typed function, the docstring's text without its ``Args:`` / ``:param:`` part, which describes
    the parameters). ``skip_permission=True`` marks a safe tool: the permission handler is not asked
    before it runs. See :mod:`modelport.tools` for the three kinds of functions.
    """
    if callable(name):
        return _make_tool(name, None, None, None, None, False)
    tool_name = name

    def wrap(fn: Callable[..., Any]) -> Tool:
        return _make_tool(fn, tool_name, description, params_type, parameters, skip_permission)

    return wrap if handler is None else wrap(handler)


@dataclass(frozen=True)
class PermissionRequest:
    """What the permission handler is asked before a tool call."""

    kind: str
    """"custom-tool" for the application's tools, "mcp" for an MCP server's."""
    tool_name: str
    """The tool the model wants to run; for kind "mcp", the server's own name of the tool (the
    model sees ``<server>-<tool>``)."""
    tool_call_id: str
    arguments: Any
    server_name: Optional[str] = None
    """Kind "mcp": the server's name in ``mcp_servers``."""


class PermissionResult(TypedDict, total=False):
    """The permission handler's answer: ``{"kind": "approve-once"}`` (or the Copilot SDK's
    "approved") runs the call; ``"approve-for-session"`` runs it and every later call of the tool
    without asking; ``{"kind": "reject", "feedback": ...}`` (or any "denied-..." kind) refuses it
    and the turn ends; the model sees "The user rejected this tool call." and the feedback;
    ``"user-not-available"`` and ``"no-result"`` refuse it as the Copilot SDK does. Anything else
    refuses the call too (and is logged as a warning by the core)."""

    kind: str
    feedback: str


PermissionHandlerFn = Callable[
    ..., Union[PermissionResult, bool, Awaitable[Union[PermissionResult, bool]]]
]
"""``handler(request)`` or ``handler(request, invocation)``, sync or async, returning a
:class:`PermissionResult` (or a bool)."""


class PermissionHandler:
    """Ready-made permission handlers."""

    @staticmethod
    def approve_all(
        request: PermissionRequest, invocation: Optional[Mapping[str, Any]] = None
    ) -> PermissionResult:
        """Approves every call (the Copilot SDK's ``approveAll``), answered in Rust; each call still
        emits ``permission.requested`` and ``permission.completed``. Without a handler, calls run
        without being asked about."""
        return {"kind": "approve-once"}


def _answer_json(result: object) -> str:
    """The handler's answer as JSON, for the core to read (it refuses what is not a decision)."""
    try:
        return json.dumps(result, default=lambda o: dict(o) if isinstance(o, Mapping) else repr(o))
    except ValueError:  # a circular structure
        return json.dumps(repr(result))


def _permission_callback(
    handler: PermissionHandlerFn, session_id: Callable[[], Optional[str]]
) -> Callable[[str], Awaitable[str]]:
    """Adapts a user's permission handler to what the native side calls: ``(request_json) -> json``.
    A raising handler is logged and the call rejected."""
    positional = _positional(handler)

    async def call(request_json: str) -> str:
        raw = json.loads(request_json)
        request = PermissionRequest(
            kind=raw.get("kind", "custom-tool"),
            tool_name=raw["toolName"],
            tool_call_id=raw["toolCallId"],
            arguments=raw.get("arguments"),
            server_name=raw.get("serverName"),
        )
        try:
            if len(positional) >= 2:
                result: object = handler(request, {"session_id": session_id()})
            else:
                result = handler(request)
            if inspect.isawaitable(result):
                result = await result
        except Exception:
            _log.exception(
                "on_permission_request raised: the call to %s is rejected", request.tool_name
            )
            return json.dumps({"kind": "reject"})
        return _answer_json(result)

    return call


__all__ = [
    "PermissionHandler",
    "PermissionHandlerFn",
    "PermissionRequest",
    "PermissionResult",
    "Tool",
    "ToolInvocation",
    "ToolResult",
    "ToolResultType",
    "define_tool",
]
