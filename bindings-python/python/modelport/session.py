"""Sessions: send messages, wait for answers, receive events (``on()`` handlers and ``async for``)."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections import deque
from types import TracebackType
from typing import (
    Any,
    AsyncIterator,
    Callable,
    Deque,
    Dict,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Set,
    Type,
    TypedDict,
    TypeVar,
    Union,
    overload,
)

from . import _native
from .events import Event, EventType

_log = logging.getLogger("modelport")


class MessageAttachment(TypedDict, total=False):
    """An image sent with a message: ``{"type": "blob", "data": BASE64, "mime_type": "image/png"}``."""

    type: str
    data: str
    mime_type: str
    display_name: str


# A Union of Literals rather than one Literal: the same type to mypy, and stubtest sees a Union.
ReasoningEffort = Union[Literal["low"], Literal["medium"], Literal["high"], Literal["xhigh"]]
"""How hard a reasoning model thinks."""

ToolChoice = Union[Literal["auto", "none", "required"], Mapping[str, str]]
"""``"auto"`` (default), ``"none"``, ``"required"``, or ``{"function": NAME}``."""


class ResponseFormat(TypedDict, total=False):
    """The answer's shape: ``{"type": "json_schema", "name", "schema", "strict"}`` or
    ``{"type": "json_object"}``."""

    type: Literal["json_schema", "json_object"]
    name: str
    """json_schema: a name for the schema (letters, digits, ``_``, ``-``)."""
    schema: Mapping[str, Any]
    """json_schema: the JSON Schema."""
    strict: bool
    """json_schema: OpenAI's strict mode (the provider enforces the schema)."""


class MessageOptions(TypedDict, total=False):
    """One message: the prompt, images, headers and model controls for this message's model calls
    (each control overrides the session's)."""

    prompt: str
    attachments: List[MessageAttachment]
    request_headers: Mapping[str, str]
    temperature: float
    top_p: float
    stop: Sequence[str]
    seed: int
    max_output_tokens: int
    reasoning_effort: ReasoningEffort
    tool_choice: ToolChoice
    parallel_tool_calls: bool
    extra_body: Mapping[str, Any]
    """Provider-specific request fields, merged over the session's ``extra_body``."""
    max_turns: int
    """Model calls for this send."""
    response_format: ResponseFormat


_ATTACHMENT_KEYS = {"mime_type": "mimeType", "display_name": "displayName"}


def _message_json(options: Union[str, MessageOptions, Mapping[str, Any]]) -> str:
    if isinstance(options, str):
        return json.dumps({"prompt": options})
    data: Dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    if "attachments" in data:
        data["attachments"] = [
            {_ATTACHMENT_KEYS.get(k, k): v for k, v in a.items()} for a in data["attachments"]
        ]
    return json.dumps(data)


_Model = TypeVar("_Model")

EventHandler = Callable[[Event], object]
"""An ``on()`` handler: called with each event on the event loop; a returned coroutine is run as a task."""


# The tasks of async on() handlers still running (the loop keeps only weak references to tasks).
_handler_tasks: Set["asyncio.Future[Any]"] = set()


def _deliver(batch: _native.HandlerBatch) -> None:
    """Runs the pending ``on()`` calls of a session, in order (scheduled on the loop by the native
    side)."""
    for handler, event in batch.take():
        try:
            result = handler(event)
            if inspect.iscoroutine(result):
                task = asyncio.ensure_future(result)
                _handler_tasks.add(task)
                task.add_done_callback(_handler_task_done)
        except Exception:
            _log.exception("a session.on() handler raised on %s; it stays registered", event.type)


def _handler_task_done(task: "asyncio.Future[Any]") -> None:
    _handler_tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _log.error("an async session.on() handler raised", exc_info=task.exception())


class EventIterator(AsyncIterator[Event]):
    """The session's events for ``async for``: every non-delta event in order; deltas too unless the
    reader falls more than ``buffer`` deltas behind (then they are dropped and counted in ``lagged``).
    Events cross from Rust in batches. Ends when the session is disconnected or its client stopped."""

    __slots__ = ("_native", "_buffer")

    def __init__(self, native: _native.EventStream) -> None:
        self._native = native
        self._buffer: Deque[Event] = deque()

    def __aiter__(self) -> EventIterator:
        return self

    async def __anext__(self) -> Event:
        buffer = self._buffer
        if not buffer:
            batch = await self._native.next_batch()
            if batch is None:
                raise StopAsyncIteration
            buffer.extend(batch)
        return buffer.popleft()

    @property
    def lagged(self) -> int:
        """How many deltas were dropped because this reader fell behind."""
        return self._native.lagged


class Session:
    """A conversation with one model: its tools, its history, the events of every send."""

    __slots__ = ("_native", "__weakref__")

    def __init__(self, native: _native.Session) -> None:
        self._native = native

    def __repr__(self) -> str:
        return f"Session(session_id={self.session_id!r}, model={self.model!r})"

    @property
    def session_id(self) -> str:
        """The session id."""
        return self._native.id

    @property
    def model(self) -> str:
        """The current model."""
        return self._native.model

    async def send(self, options: Union[str, MessageOptions]) -> str:
        """Sends a message (a prompt, or ``{"prompt", "attachments", "request_headers"}``); returns
        the id of its ``user.message`` event. During a running send the message is queued."""
        return await self._native.send(_message_json(options))

    async def send_and_wait(
        self, options: Union[str, MessageOptions], timeout: Optional[float] = None
    ) -> Optional[Event]:
        """Sends a message and waits until the session is idle; returns the last
        ``assistant.message`` of the send (``None`` when it ended without one).

        Raises the send's error (a :class:`~modelport.ModelportError` subclass);
        :class:`~modelport.TimeoutError` after ``timeout`` seconds (default 60; the turn keeps
        running); :class:`~modelport.CancelledError` when ``abort()`` or ``client.stop()`` ended it.
        Cancelling the awaiting task (or Ctrl-C under ``asyncio.run``) aborts the turn and raises
        ``asyncio.CancelledError``.
        """
        # Cancelling the task cancels this send alone: running, it is aborted before the
        # CancelledError goes on; queued behind another send, it is dropped at its start.
        cancel = _native.SendCancel()
        waiting = self._native.send_and_wait(_message_json(options), timeout, cancel)
        try:
            return await waiting
        except asyncio.CancelledError:
            await asyncio.shield(cancel.abort())
            raise

    @overload
    async def send_and_parse(
        self,
        options: Union[str, MessageOptions],
        output_type: Type[_Model],
        *,
        retries: int = 1,
        timeout: Optional[float] = None,
    ) -> _Model: ...

    @overload
    async def send_and_parse(
        self,
        options: Union[str, MessageOptions],
        output_type: None = None,
        *,
        schema: Optional[Mapping[str, Any]] = None,
        name: str = "answer",
        strict: bool = True,
        retries: int = 1,
        timeout: Optional[float] = None,
    ) -> Any: ...

    async def send_and_parse(
        self,
        options: Union[str, MessageOptions],
        output_type: Optional[Type[Any]] = None,
        *,
        schema: Optional[Mapping[str, Any]] = None,
        name: str = "answer",
        strict: bool = True,
        retries: int = 1,
        timeout: Optional[float] = None,
    ) -> Any:
        """Sends a message whose answer must be JSON of a shape, and returns it parsed: an instance
        of ``output_type`` (a pydantic model: its ``model_json_schema()``, strict, then
        ``model_validate``), or the JSON value for a plain JSON ``schema``. Core validates the answer
        against the schema, tells the model what was wrong ``retries`` times, then raises
        :class:`~modelport.InvalidOutputError` (``raw_output``, ``validation_errors``)."""
        if output_type is not None:
            schema = output_type.model_json_schema()
            name = output_type.__name__
        if schema is None:
            raise TypeError("send_and_parse: give an output_type (a pydantic model) or a schema")
        message: Dict[str, Any] = (
            {"prompt": options} if isinstance(options, str) else dict(options)
        )
        message["response_format"] = {
            "type": "json_schema",
            "name": name,
            "schema": schema,
            "strict": strict,
        }
        text = await self._native.send_and_parse_json(_message_json(message), retries, timeout)
        value = json.loads(text)
        return value if output_type is None else output_type.model_validate(value)

    def on(
        self,
        event_type: Union[EventType, str, EventHandler],
        handler: Optional[EventHandler] = None,
        /,
    ) -> Callable[[], None]:
        """Calls ``handler(event)`` for every event of ``event_type`` (every event when only a
        handler is given, or ``"*"``), in order, on the event loop. A handler that raises is logged
        and stays registered. Returns a function that unsubscribes it.

        An ``event_type`` that is neither a modelport event type nor one of the Copilot SDK's
        raises :class:`~modelport.ConfigError` naming the valid ones, so that a typo does not
        silently subscribe to nothing."""
        if handler is None:
            if not callable(event_type):
                raise TypeError(
                    "on() needs a handler: session.on(handler) or session.on(type, handler)"
                )
            subscription = self._native.on(None, event_type)
        else:
            subscription = self._native.on(str(event_type), handler)
        return subscription.unsubscribe

    def events(self, *, buffer: int = 256) -> EventIterator:
        """The session's events from now on, for ``async for`` (see :class:`EventIterator`)."""
        return EventIterator(self._native.events(buffer))

    async def abort(self) -> None:
        """Aborts the running send (queued sends still run) and waits until it has ended."""
        await self._native.abort()

    def get_events(self) -> List[Event]:
        """The persisted (non-ephemeral) events so far; after a resume, those of earlier processes
        too, then ``session.resume``."""
        return self._native.get_events()

    async def get_messages(self) -> List[Event]:
        """The Copilot SDK's name for :meth:`get_events`."""
        return self._native.get_events()

    async def compact(self) -> None:
        """Compacts the history now, after the running send: the older turns become one summary
        (``session.compaction_start``, then ``session.compaction_complete``), whatever the window's
        use."""
        await self._native.compact()

    async def set_model(self, model: str) -> None:
        """Switches the model for the next model calls (validated like at creation)."""
        await self._native.set_model(model)

    async def disconnect(self) -> None:
        """Ends the session: aborts the running send, drops queued ones, writes what the session
        store does not have yet, gives the session up and ends the event streams. The session stays
        in the store for ``client.resume_session(session_id)``."""
        await self._native.disconnect()

    async def destroy(self) -> None:
        """The Copilot SDK's older name for :meth:`disconnect`."""
        await self._native.disconnect()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.disconnect()


__all__ = ["EventHandler", "EventIterator", "MessageAttachment", "MessageOptions", "Session"]
