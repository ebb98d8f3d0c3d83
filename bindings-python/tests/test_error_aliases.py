"""The openai / anthropic SDK exception names: each catches what the same-named openai exception
catches, for scripted HTTP errors, a refused connection and timeouts; `from modelport import *`
hides no built-in."""

from __future__ import annotations

import asyncio
import builtins
from typing import AsyncIterator, Dict, Set, Type

import pytest

import modelport
from modelport import Client

from conftest import REPLAY, T, StartReplay, openai

# The openai SDK's names, as modelport exports them.
SDK_NAMES: Dict[str, Type[BaseException]] = {
    name: getattr(modelport, name)
    for name in [
        "APIError",
        "APIStatusError",
        "APIConnectionError",
        "APITimeoutError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "BadRequestError",
        "RateLimitError",
        "InternalServerError",
    ]
}


def catching(error: BaseException) -> Set[str]:
    """The SDK names whose `except` clause catches `error`."""
    return {name for name, cls in SDK_NAMES.items() if isinstance(error, cls)}


STATUS = {"APIStatusError", "APIError"}


@pytest.mark.parametrize(
    "prompt, status, names",
    [
        ("auth", 401, {"AuthenticationError"} | STATUS),
        ("forbidden", 403, {"PermissionDeniedError"} | STATUS),
        ("missing", 404, {"NotFoundError"} | STATUS),
        ("bad", 400, {"BadRequestError"} | STATUS),
        ("too long", 400, {"BadRequestError"} | STATUS),
        ("slow down", 429, {"RateLimitError"} | STATUS),
        ("broken", 500, {"InternalServerError"} | STATUS),
    ],
)
async def test_http_errors_are_caught_by_the_sdk_names(
    start_replay: StartReplay, prompt: str, status: int, names: Set[str]
) -> None:
    replay = await start_replay(REPLAY / "errors" / "mapping.yaml")
    client = Client(retry={"max_retries": 0})
    session = await client.create_session(model="python-model", provider=openai(replay))
    with pytest.raises(modelport.APIError) as info:
        await session.send_and_wait(prompt, timeout=T)
    assert catching(info.value) == names
    assert info.value.status == status
    assert isinstance(info.value, modelport.APIStatusError)
    assert info.value.status_code == status
    assert not isinstance(info.value, builtins.TimeoutError)
    await client.stop()


async def test_connection_refused_is_an_api_connection_error(start_replay: StartReplay) -> None:
    replay = await start_replay(REPLAY / "errors" / "mapping.yaml")
    url = replay.openai_url
    await replay.stop()
    client = Client(retry={"max_retries": 0})
    session = await client.create_session(model="m", provider={"type": "openai", "base_url": url})
    with pytest.raises(modelport.APIConnectionError) as info:
        await session.send_and_wait("hello", timeout=T)
    assert catching(info.value) == {"APIConnectionError", "APIError"}
    assert isinstance(info.value, modelport.TransportError)
    assert not isinstance(info.value, modelport.TimeoutError)
    await client.stop()


@pytest.fixture
async def silent_url() -> AsyncIterator[str]:
    """An OpenAI base URL whose server reads requests and never answers."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1"
    server.close()


async def test_a_provider_timeout_is_an_api_timeout_error(silent_url: str) -> None:
    client = Client(retry={"max_retries": 0}, timeouts={"first_byte_ms": 200})
    session = await client.create_session(
        model="m", provider={"type": "openai", "base_url": silent_url}
    )
    with pytest.raises(modelport.APITimeoutError) as info:
        await session.send_and_wait("hello", timeout=T)
    assert catching(info.value) == {"APITimeoutError", "APIConnectionError", "APIError"}
    assert info.value.timeout_kind == "first_byte"
    # Also modelport's and the built-in TimeoutError, as before.
    assert isinstance(info.value, modelport.TimeoutError)
    assert isinstance(info.value, builtins.TimeoutError)
    assert not isinstance(info.value, modelport.TransportError)
    await client.stop()


async def test_the_provider_own_timeout_is_an_api_timeout_error(
    start_replay: StartReplay,
) -> None:
    replay = await start_replay(REPLAY / "errors" / "mapping.yaml")
    client = Client(retry={"max_retries": 0})
    session = await client.create_session(model="python-model", provider=openai(replay))
    with pytest.raises(modelport.APITimeoutError) as info:
        await session.send_and_wait("too slow", timeout=T)
    assert info.value.status == 408 and info.value.timeout_kind == "server"
    await client.stop()


async def test_send_and_wait_timeout_is_not_an_api_error(silent_url: str) -> None:
    """send_and_wait's own wait is not a provider failure: no SDK name catches it."""
    client = Client(retry={"max_retries": 0})
    session = await client.create_session(
        model="m", provider={"type": "openai", "base_url": silent_url}
    )
    with pytest.raises(modelport.TimeoutError) as info:
        await session.send_and_wait("hello", timeout=0.2)
    assert catching(info.value) == set()
    assert info.value.timeout_kind == "send_and_wait"
    assert isinstance(info.value, builtins.TimeoutError)
    await client.stop()


def test_star_import_hides_no_builtin() -> None:
    assert not set(modelport.__all__) & set(dir(builtins))
    assert not set(modelport.errors.__all__) & set(dir(builtins))
    namespace: Dict[str, object] = {}
    exec("from modelport import *", namespace)
    exec("from modelport.errors import *", namespace)
    assert "TimeoutError" not in namespace
    assert "APITimeoutError" in namespace and "BadRequestError" in namespace
    # Still reachable by its qualified name.
    assert issubclass(modelport.TimeoutError, builtins.TimeoutError)
