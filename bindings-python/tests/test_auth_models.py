"""Token providers (sync and async, with and without expiry) and model lists (on_list_models sync
and async, the provider's endpoint, caching, a raising handler)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, List

import pytest

import modelport
from modelport import BearerToken, Client, ModelInfo
from modelport.testing import ReplayServer

from conftest import T, openai


async def test_async_token_provider_is_asked_before_every_request(replay: ReplayServer) -> None:
    calls = 0

    async def token() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        return f"tok-{calls}"

    async with Client() as client:
        session = await client.create_session(
            model="python-model",
            provider={
                "type": "openai",
                "base_url": replay.openai_url,
                "bearer_token_provider": token,
            },
        )
        await session.send_and_wait("Say hello", timeout=T)
        await session.send_and_wait("And goodbye?", timeout=T)
    assert calls == 2
    assert [r.header("authorization") for r in replay.requests()] == [
        "Bearer tok-1",
        "Bearer tok-2",
    ]


async def test_sync_token_provider_with_expiry_is_reused(replay: ReplayServer) -> None:
    calls: List[int] = []

    def token() -> BearerToken:
        calls.append(1)
        return BearerToken("tok-long", expires_at=time.time() + 3600)

    # The client's default provider, with its token provider, serves sessions and list_models.
    async with Client(
        provider={"type": "openai", "base_url": replay.openai_url, "bearer_token_provider": token}
    ) as client:
        session = await client.create_session(model="python-model")
        await session.send_and_wait("Say hello", timeout=T)
        await session.send_and_wait("And goodbye?", timeout=T)
        assert [m.id for m in await client.list_models()] == ["python-model", "python-model-2"]
    assert len(calls) == 1
    assert {r.header("authorization") for r in replay.requests()} == {"Bearer tok-long"}


async def test_a_failing_token_provider_is_an_authentication_error(replay: ReplayServer) -> None:
    def token() -> str:
        raise RuntimeError("vault is down")

    async with Client() as client:
        session = await client.create_session(
            model="python-model",
            provider={
                "type": "openai",
                "base_url": replay.openai_url,
                "bearer_token_provider": token,
            },
        )
        with pytest.raises(modelport.AuthenticationError, match="vault is down"):
            await session.send_and_wait("Say hello", timeout=T)
    assert replay.request_count == 0


async def test_list_models_from_the_provider_is_cached(replay: ReplayServer) -> None:
    async with Client(provider=openai(replay)) as client:
        models = await client.list_models()
        assert [m.id for m in models] == ["python-model", "python-model-2"]
        assert models[0].capabilities.supports.vision is False
        assert await client.list_models() == models
    assert [r.path for r in replay.requests()] == ["/v1/models"]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_on_list_models_replaces_the_endpoint(asynchronous: bool) -> None:
    custom: Dict[str, Any] = {
        "id": "my-custom-model",
        "name": "My Custom Model",
        "capabilities": {
            "supports": {"vision": False, "reasoningEffort": True},
            "limits": {"max_context_window_tokens": 128000},
        },
    }
    calls = 0

    def models() -> List[Any]:
        nonlocal calls
        calls += 1
        return [custom, ModelInfo("other", "Other")]

    async def models_async() -> List[Any]:
        await asyncio.sleep(0)
        return models()

    async with Client(on_list_models=models_async if asynchronous else models) as client:
        listed = await client.list_models()
        await client.list_models()
    assert calls == 1
    assert [m.id for m in listed] == ["my-custom-model", "other"]
    assert listed[0].capabilities.supports.reasoning_effort is True
    assert listed[0].capabilities.limits.max_context_window_tokens == 128000
    assert listed[0].to_dict() == custom


async def test_a_raising_on_list_models_keeps_its_exception_as_cause() -> None:
    def models() -> List[ModelInfo]:
        raise ValueError("no catalogue")

    async with Client(on_list_models=models) as client:
        with pytest.raises(modelport.ConfigError, match="no catalogue") as info:
            await client.list_models()
    assert isinstance(info.value.__cause__, ValueError)


async def test_list_models_without_provider_says_what_to_set() -> None:
    async with Client() as client:
        with pytest.raises(modelport.ConfigError, match="on_list_models"):
            await client.list_models()
