"""Error mapping (one exception class per core kind, with status, code, request id, retry-after),
retries (429 with retry-after, then success), and failures after output (a scripted mid-stream error,
and a real connection reset from a raw socket server): never retried once text reached the user."""

from __future__ import annotations

import asyncio
import time
from typing import List, Type

import pytest

import modelport
from modelport import Client, Event, EventType
from modelport.testing import ReplayServer

from conftest import REPLAY, T, StartReplay, openai

ERRORS = REPLAY / "errors"


@pytest.mark.parametrize(
    "prompt, cls, status, code",
    [
        ("auth", modelport.AuthenticationError, 401, None),
        ("forbidden", modelport.PermissionDeniedError, 403, None),
        ("missing", modelport.NotFoundError, 404, "model_not_found"),
        ("too long", modelport.ContextLengthError, 400, "context_length_exceeded"),
        ("bad", modelport.InvalidRequestError, 400, None),
        ("quota", modelport.RateLimitError, 429, "insufficient_quota"),
        ("slow down", modelport.RateLimitError, 429, None),
        ("broken", modelport.ServerError, 500, None),
        ("too slow", modelport.TimeoutError, 408, None),
    ],
)
async def test_provider_errors_map_to_exception_classes(
    start_replay: StartReplay,
    prompt: str,
    cls: Type[modelport.ModelportError],
    status: int,
    code: str,
) -> None:
    replay = await start_replay(ERRORS / "mapping.yaml")
    client = Client(retry={"max_retries": 0})
    session = await client.create_session(model="python-model", provider=openai(replay))
    seen: List[Event] = []
    session.on(seen.append)
    with pytest.raises(cls) as info:
        await session.send_and_wait(prompt, timeout=T)
    error = info.value
    assert isinstance(error, modelport.ModelportError)
    assert error.status == status
    if code is not None:
        assert error.code == code
    assert error.request_id is not None and error.request_id.startswith("req_replay_")
    assert f"HTTP {status}" in str(error)
    (failure,) = [e for e in seen if e.type is EventType.SESSION_ERROR]
    assert failure.data.error_type == error.error_type and failure.data.status_code == status
    if prompt == "slow down":
        assert error.retry_after == 7.0 and not isinstance(error, modelport.TimeoutError)
    if prompt == "quota":
        assert isinstance(error, modelport.RateLimitError) and error.is_quota
        assert error.error_type == "quota"
    if cls is not modelport.TimeoutError:
        assert isinstance(error, modelport.APIError)
    await client.stop()


async def test_rate_limit_is_retried_after_retry_after(
    client: Client, start_replay: StartReplay
) -> None:
    replay = await start_replay(ERRORS / "rate_limit_then_success.yaml")
    session = await client.create_session(model="python-model", provider=openai(replay))
    seen: List[Event] = []
    session.on(seen.append)
    started = time.monotonic()
    reply = await session.send_and_wait("Say hello", timeout=T)
    waited = time.monotonic() - started
    assert reply is not None and reply.data.content == "Hello after a retry."
    assert replay.request_count == 2
    (retry,) = [e for e in seen if e.type is EventType.ASSISTANT_TURN_RETRY]
    assert retry.data.status_code == 429 and retry.data.attempt == 1
    assert retry.data.delay_ms == 1000
    assert waited >= 0.9  # retry-after honoured (a bound on correctness, not a speed claim)


async def test_failure_after_output_is_not_retried(
    client: Client, start_replay: StartReplay
) -> None:
    replay = await start_replay(ERRORS / "reset_after_output.yaml")
    session = await client.create_session(
        model="python-model", provider=openai(replay), streaming=True
    )
    seen: List[Event] = []
    session.on(seen.append)
    with pytest.raises(modelport.ServerError, match="the upstream connection was reset"):
        await session.send_and_wait("Say hello", timeout=T)
    assert replay.request_count == 1
    assert any(e.type is EventType.ASSISTANT_MESSAGE_DELTA for e in seen)
    assert EventType.ASSISTANT_MESSAGE not in [e.type for e in seen]
    # The user message stays in history, the partial answer is dropped: the next send continues.
    reply = await session.send_and_wait("Try again", timeout=T)
    assert reply is not None and reply.data.content == "Hello on the second try."


async def test_connection_reset_mid_stream(client: Client) -> None:
    """A raw socket server: HTTP 200, one streamed chunk, then the connection is reset."""
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        chunk = (
            b'data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,'
            b'"delta":{"role":"assistant","content":"Partial"},"finish_reason":null}]}\n\n'
        )
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
            + f"{len(chunk):x}\r\n".encode()
            + chunk
            + b"\r\n"
        )
        await writer.drain()
        writer.transport.abort()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        session = await client.create_session(
            model="m",
            provider={"type": "openai", "base_url": f"http://127.0.0.1:{port}/v1"},
            streaming=True,
        )
        seen: List[Event] = []
        session.on(seen.append)
        with pytest.raises(modelport.TransportError):
            await session.send_and_wait("Say hello", timeout=T)
        assert connections == 1  # text reached the user: never retried
        assert [
            e.data.delta_content for e in seen if e.type is EventType.ASSISTANT_MESSAGE_DELTA
        ] == ["Partial"]
    finally:
        server.close()
        await server.wait_closed()


async def test_connection_refused_is_a_transport_error(start_replay: StartReplay) -> None:
    replay = await start_replay(ERRORS / "mapping.yaml")
    url = replay.openai_url
    await replay.stop()
    client = Client(retry={"max_retries": 0})
    session = await client.create_session(model="m", provider={"type": "openai", "base_url": url})
    with pytest.raises(modelport.TransportError) as info:
        await session.send_and_wait("hello", timeout=T)
    assert info.value.kind == "transport" and info.value.status is None
    await client.stop()


async def test_a_stopped_replay_server_says_so(replay: ReplayServer) -> None:
    await replay.stop()
    with pytest.raises(modelport.ConfigError, match="stopped"):
        replay.requests()
