"""A synchronous facade over the asyncio API, for scripts, notebooks and threaded servers::

    from modelport.sync import Client

    with Client() as client:
        session = client.create_session(model="gpt-4o", provider=provider)
        reply = session.send_and_wait("What is 2+2?")
        print(reply.data.content if reply else None)

Each :class:`Client` runs the asyncio API on an event loop of its own, in a daemon thread named
``modelport-sync``; every method submits a coroutine there and blocks the calling thread (never the
GIL: the Rust core works without it) until it is done. Any thread may call; a blocking call that is
interrupted (Ctrl-C raising ``KeyboardInterrupt`` in the main thread) cancels its coroutine, which
aborts a running ``send_and_wait`` as in the async API.

Callbacks (tools, ``on()`` handlers, hooks, the permission handler, token providers) run on that
loop's thread. They must not call this facade (that would wait for the thread they run on: it
raises ``RuntimeError``); an ``async def`` callback can await the async API of the same objects
(``session.send`` is :meth:`modelport.Session.send` there). ``stop()`` (or leaving the ``with``
block) stops the client and ends the thread; a client never stopped ends its thread when it is
garbage collected or at exit.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Coroutine,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Type,
    TypeVar,
    Union,
    cast,
    overload,
)

from . import client as _client
from . import session as _session
from .client import ClientOptions, SessionConfig, SessionLease, SessionMetadata
from .errors import ModelportError
from .events import Event, EventType
from .models import ListModelsHandler, ModelInfo
from .provider import ProviderConfig, RetryPolicy, Timeouts
from .session import EventHandler, MessageOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack

_T = TypeVar("_T")
_Model = TypeVar("_Model")


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    """The loop thread: runs the loop until stopped, then cancels what is left and closes it."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _end(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    """Stops the loop and waits for its thread (not from the thread itself)."""
    try:
        loop.call_soon_threadsafe(loop.stop)
    except RuntimeError:  # already closed
        return
    if threading.current_thread() is not thread:
        thread.join(timeout=10)


class _Loop:
    """A private event loop in a daemon thread, and the blocking bridge to it."""

    __slots__ = ("loop", "thread", "_finalizer", "__weakref__")

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=_serve, args=(self.loop,), name="modelport-sync", daemon=True
        )
        self.thread.start()
        # At garbage collection or at exit, whichever comes first; stop() calls it at once.
        self._finalizer = weakref.finalize(self, _end, self.loop, self.thread)

    def run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        """Runs `coroutine` on the loop and returns its result, blocking this thread."""
        if threading.current_thread() is self.thread:
            coroutine.close()
            raise RuntimeError(
                "modelport.sync: called from a callback running on the client's own loop thread, "
                "which would wait for itself; make the callback `async def` and await the async "
                "API there"
            )
        if self.stopped:
            coroutine.close()
            raise RuntimeError("modelport.sync: this client was stopped; create a new Client")
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result()
        except BaseException:
            # KeyboardInterrupt (or another exception raised in this thread while it waited):
            # cancel the coroutine, as cancelling the awaiting task does in the async API.
            future.cancel()
            raise

    def call(self, fn: Callable[[], _T]) -> _T:
        """Calls `fn` on the loop thread: native objects remember the loop they are used from."""

        async def call() -> _T:
            return fn()

        return self.run(call())

    @property
    def stopped(self) -> bool:
        return not self._finalizer.alive

    def close(self) -> None:
        self._finalizer()


class Client:
    """The synchronous :class:`modelport.Client`: the same options and methods, blocking.

    ``with Client() as client: ...`` stops it on exit; otherwise call ``client.stop()``.
    """

    __slots__ = ("_loop", "_async")

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
        self._loop = _Loop()
        try:
            # Built on the loop thread, so that its callbacks run there.
            self._async: _client.Client = self._loop.call(
                lambda: _client.Client(
                    options,
                    provider=provider,
                    on_list_models=on_list_models,
                    retry=retry,
                    timeouts=timeouts,
                    session_store=session_store,
                    session_lease=session_lease,
                    providers=providers,
                    models=models,
                )
            )
        except BaseException:
            self._loop.close()
            raise

    def __repr__(self) -> str:
        return f"modelport.sync.Client(stopped={self.is_stopped})"

    @property
    def async_client(self) -> _client.Client:
        """The asyncio client underneath (its coroutines run on this client's loop thread)."""
        return self._async

    @property
    def is_stopped(self) -> bool:
        """Whether ``stop()`` was called."""
        return self._async.is_stopped

    def start(self) -> None:
        """A harmless no-op, like the async ``start()``."""
        self._loop.run(self._async.start())

    def stop(self) -> List[ModelportError]:
        """Stops the client (see :meth:`modelport.Client.stop`) and ends its loop thread; returns
        the errors met while stopping. Calling it again returns ``[]``."""
        if self._loop.stopped:
            return []
        try:
            return self._loop.run(self._async.stop())
        finally:
            self._loop.close()

    def create_session(
        self, config: Optional[SessionConfig] = None, /, **fields: Unpack[SessionConfig]
    ) -> Session:
        """Creates a session (see :meth:`modelport.Client.create_session`; the same keywords)."""
        merged = cast(SessionConfig, {**(config or {}), **fields})
        return Session(self._loop.run(self._async.create_session(merged)), self._loop)

    def resume_session(
        self,
        session_id: str,
        config: Optional[SessionConfig] = None,
        /,
        **fields: Unpack[SessionConfig],
    ) -> Session:
        """Resumes a stored session (see :meth:`modelport.Client.resume_session`)."""
        merged = cast(SessionConfig, {**(config or {}), **fields})
        return Session(self._loop.run(self._async.resume_session(session_id, merged)), self._loop)

    def list_sessions(self) -> List[SessionMetadata]:
        """The stored sessions, most recently modified first."""
        return self._loop.run(self._async.list_sessions())

    def get_last_session_id(self) -> Optional[str]:
        """The id of the most recently modified session."""
        return self._loop.run(self._async.get_last_session_id())

    def get_session_metadata(self, session_id: str) -> Optional[SessionMetadata]:
        """One stored session's metadata (``None`` when there is no such session)."""
        return self._loop.run(self._async.get_session_metadata(session_id))

    def delete_session(self, session_id: str) -> bool:
        """Deletes a session from the store; ``False`` when there was none."""
        return self._loop.run(self._async.delete_session(session_id))

    def list_models(self) -> List[ModelInfo]:
        """The models (see :meth:`modelport.Client.list_models`)."""
        return self._loop.run(self._async.list_models())

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()


class EventIterator(Iterator[Event]):
    """A session's events for a ``for`` loop (see :class:`modelport.EventIterator`): each ``next()``
    blocks until an event comes; the loop ends when the session is disconnected or its client
    stopped."""

    __slots__ = ("_async", "_loop")

    def __init__(self, events: _session.EventIterator, loop: _Loop) -> None:
        self._async = events
        self._loop = loop

    def __iter__(self) -> EventIterator:
        return self

    def __next__(self) -> Event:
        try:
            return self._loop.run(self._async.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    @property
    def lagged(self) -> int:
        """How many deltas were dropped because this reader fell behind."""
        return self._async.lagged


class Session:
    """The synchronous :class:`modelport.Session`: the same methods, blocking."""

    __slots__ = ("_async", "_loop")

    def __init__(self, session: _session.Session, loop: _Loop) -> None:
        self._async = session
        self._loop = loop

    def __repr__(self) -> str:
        return f"modelport.sync.Session(session_id={self.session_id!r}, model={self.model!r})"

    @property
    def async_session(self) -> _session.Session:
        """The asyncio session underneath (its coroutines run on the client's loop thread)."""
        return self._async

    @property
    def session_id(self) -> str:
        return self._async.session_id

    @property
    def model(self) -> str:
        return self._async.model

    def send(self, options: Union[str, MessageOptions]) -> str:
        """Sends a message; returns the id of its ``user.message`` event."""
        return self._loop.run(self._async.send(options))

    def send_and_wait(
        self, options: Union[str, MessageOptions], timeout: Optional[float] = None
    ) -> Optional[Event]:
        """Sends a message and blocks until the session is idle; returns the last
        ``assistant.message`` (see :meth:`modelport.Session.send_and_wait`). Ctrl-C aborts the
        turn and raises ``KeyboardInterrupt``."""
        return self._loop.run(self._async.send_and_wait(options, timeout))

    @overload
    def send_and_parse(
        self,
        options: Union[str, MessageOptions],
        output_type: Type[_Model],
        *,
        retries: int = 1,
        timeout: Optional[float] = None,
    ) -> _Model: ...

    @overload
    def send_and_parse(
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

    def send_and_parse(
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
        """Sends a message whose answer must be JSON of a shape and returns it parsed (see
        :meth:`modelport.Session.send_and_parse`)."""
        if output_type is not None:
            return self._loop.run(
                self._async.send_and_parse(options, output_type, retries=retries, timeout=timeout)
            )
        return self._loop.run(
            self._async.send_and_parse(
                options, schema=schema, name=name, strict=strict, retries=retries, timeout=timeout
            )
        )

    def on(
        self,
        event_type: Union[EventType, str, EventHandler],
        handler: Optional[EventHandler] = None,
        /,
    ) -> Callable[[], None]:
        """Calls ``handler(event)`` on the client's loop thread for every event of ``event_type``
        (see :meth:`modelport.Session.on`); returns a function that unsubscribes it."""
        if handler is None:
            return self._loop.call(lambda: self._async.on(event_type))
        return self._loop.call(lambda: self._async.on(event_type, handler))

    def events(self, *, buffer: int = 256) -> EventIterator:
        """The session's events from now on, for a ``for`` loop (see :class:`EventIterator`)."""
        return EventIterator(self._loop.call(lambda: self._async.events(buffer=buffer)), self._loop)

    def abort(self) -> None:
        """Aborts the running send and waits until it has ended."""
        self._loop.run(self._async.abort())

    def get_events(self) -> List[Event]:
        """The persisted events so far."""
        return self._async.get_events()

    def get_messages(self) -> List[Event]:
        """The Copilot SDK's name for :meth:`get_events`."""
        return self._async.get_events()

    def compact(self) -> None:
        """Compacts the history now (see :meth:`modelport.Session.compact`)."""
        self._loop.run(self._async.compact())

    def set_model(self, model: str) -> None:
        """Switches the model for the next model calls."""
        self._loop.run(self._async.set_model(model))

    def disconnect(self) -> None:
        """Ends the session (it stays in the store for ``resume_session``)."""
        self._loop.run(self._async.disconnect())

    def destroy(self) -> None:
        """The Copilot SDK's older name for :meth:`disconnect`."""
        self.disconnect()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.disconnect()


__all__ = ["Client", "EventIterator", "Session"]
