"""The replay provider, for offline tests of code built on modelport.

A loopback HTTP server on 127.0.0.1 that plays recorded conversations (the Copilot SDK's snapshot
YAML) in every wire format: Chat Completions, Responses, Anthropic Messages, the Azure routes and the
model list. Scripted ``errors:`` entries play failures (status, code, message, retryAfterSeconds,
retryAfterMs, shouldRetry, messages, times, stage http|before_output|after_output)::

    async with await ReplayServer.from_path("conversations.yaml") as replay:
        session = await client.create_session(
            model="any", provider={"type": "openai", "base_url": replay.openai_url})
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from types import TracebackType
from typing import Any, List, Mapping, Optional, Sequence, Type, Union

from . import _native

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class ReplayRequest:
    """A request the server received."""

    method: str
    path: str
    """Path and query."""
    headers: Mapping[str, str]
    """Lower-case header names."""
    body: Any
    """The JSON body (``None`` when empty or not JSON)."""

    def header(self, name: str) -> Optional[str]:
        """The value of header ``name`` (any case)."""
        return self.headers.get(name.lower())


class ReplayServer:
    """A running replay server; stop it with ``await server.stop()`` or ``async with``."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.ReplayServer) -> None:
        self._native = native

    @classmethod
    async def start(
        cls,
        paths: Sequence[PathLike] = (),
        documents: Sequence[str] = (),
        *,
        port: int = 0,
        delta_chars: int = 200,
        chunk_delay: Optional[float] = None,
        record: bool = True,
        fallback: Optional[str] = None,
        context_window: Optional[int] = None,
    ) -> ReplayServer:
        """Starts a server playing the snapshot files or folders in ``paths`` and the YAML
        ``documents``. ``port`` 0 picks a free one; text is streamed in deltas of ``delta_chars``
        characters, ``chunk_delay`` seconds apart; ``record`` keeps the requests for ``requests()``;
        ``fallback`` is the text answer to a request no conversation matches (instead of an
        HTTP 500 explaining the mismatch); a request larger than ``context_window`` tokens (its JSON
        body's bytes / 4) gets the wire format's context-length error."""
        options = {
            "port": port,
            "deltaChars": delta_chars,
            "chunkDelayMs": None if chunk_delay is None else chunk_delay * 1000,
            "record": record,
            "fallback": fallback,
            "contextWindow": context_window,
        }
        native = await _native.ReplayServer.start(
            [os.fspath(p) for p in paths], list(documents), json.dumps(options)
        )
        return cls(native)

    @classmethod
    async def from_path(
        cls,
        path: PathLike,
        *,
        port: int = 0,
        delta_chars: int = 200,
        chunk_delay: Optional[float] = None,
        record: bool = True,
    ) -> ReplayServer:
        """Starts a server playing the snapshots under ``path`` (a file or a folder)."""
        return await cls.start(
            [path], port=port, delta_chars=delta_chars, chunk_delay=chunk_delay, record=record
        )

    @classmethod
    async def from_yaml(
        cls,
        *documents: str,
        port: int = 0,
        delta_chars: int = 200,
        chunk_delay: Optional[float] = None,
        record: bool = True,
    ) -> ReplayServer:
        """Starts a server playing snapshot YAML documents given as text."""
        return await cls.start(
            (),
            documents,
            port=port,
            delta_chars=delta_chars,
            chunk_delay=chunk_delay,
            record=record,
        )

    def __repr__(self) -> str:
        return f"ReplayServer(url={self.url!r})"

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the base URL for Anthropic and Azure."""
        return self._native.url

    @property
    def openai_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: the base URL for OpenAI."""
        return self._native.openai_url

    def requests(self) -> List[ReplayRequest]:
        """The requests received so far (when recording)."""
        return [ReplayRequest(**r) for r in self._native.requests()]

    @property
    def request_count(self) -> int:
        """How many requests arrived."""
        return self._native.request_count

    @property
    def disconnects(self) -> int:
        """How many streams the client closed before their end."""
        return self._native.disconnects

    @property
    def completed_streams(self) -> int:
        """How many streams were sent to the end."""
        return self._native.completed_streams

    async def wait_disconnects(self, n: int) -> None:
        """Waits until the client has closed at least ``n`` streams early (``ConfigError`` when
        the server stops first)."""
        await self._native.wait_disconnects(n)

    async def stop(self) -> None:
        """Stops the server and closes its connections."""
        await self._native.stop()

    async def __aenter__(self) -> ReplayServer:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.stop()


__all__ = ["ReplayRequest", "ReplayServer"]
