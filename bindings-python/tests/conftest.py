"""Shared fixtures: replay servers on 127.0.0.1 started and stopped by each test, and the provider
config of every route (wire format x provider type)."""

from __future__ import annotations

import atexit
import os
import pathlib
import shutil
import tempfile
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List

import pytest

# Clients without a session_store keep sessions under MODELPORT_HOME: a fresh directory unless the
# test script set one, so a direct `pytest` run never writes into the user's data directory.
if "MODELPORT_HOME" not in os.environ:
    _home = tempfile.mkdtemp(prefix="modelport-tests-")
    os.environ["MODELPORT_HOME"] = _home
    atexit.register(shutil.rmtree, _home, True)

from modelport import Client, Tool, define_tool
from modelport.testing import ReplayServer

HERE = pathlib.Path(__file__).resolve().parent
REPLAY = HERE / "replay"
CONVERSATIONS = REPLAY / "conversations.yaml"
EXAMPLES = HERE.parents[1] / "examples" / "replay"
# Conversations shared with the Node tests: hooks, permission decisions, the structured-output retry.
HOOKS = HERE.parents[1] / "tests" / "fixtures" / "replay" / "hooks.yaml"

# A generous bound for one send: tests never wait on the clock, this only stops a hung test.
T = 30.0

ProviderFor = Callable[[ReplayServer], Dict[str, Any]]

ROUTES: Dict[str, ProviderFor] = {
    "openai-chat": lambda r: {"type": "openai", "base_url": r.openai_url, "api_key": "sk-test"},
    "openai-responses": lambda r: {
        "type": "openai",
        "base_url": r.openai_url,
        "wire_api": "responses",
        "api_key": "sk-test",
    },
    "azure-versioned": lambda r: {"type": "azure", "base_url": r.url, "api_key": "az-test"},
    "azure-versioned-responses": lambda r: {
        "type": "azure",
        "base_url": r.url,
        "wire_api": "responses",
        "azure": {"api_version": "2025-04-01-preview"},
        "api_key": "az-test",
    },
    "azure-v1": lambda r: {
        "type": "azure",
        "base_url": r.url,
        "azure": {"api_version": "v1"},
        "api_key": "az-test",
    },
    "azure-v1-responses": lambda r: {
        "type": "azure",
        "base_url": r.url,
        "wire_api": "responses",
        "api_key": "az-test",
    },
    "anthropic": lambda r: {"type": "anthropic", "base_url": r.url, "api_key": "ant-test"},
}


def openai(replay: ReplayServer, **extra: Any) -> Dict[str, Any]:
    """The Chat Completions provider of `replay`."""
    return {**ROUTES["openai-chat"](replay), **extra}


def lookup_tool(runs: List[str]) -> Tool:
    """The `lookup` tool of tests/fixtures/replay/hooks.yaml: {"key"} -> "value-of-KEY", raising for
    "boom"; `runs` records the keys it ran with."""

    @define_tool(
        description="Looks a key up",
        parameters={"type": "object", "properties": {"key": {"type": "string"}}},
    )
    def lookup(args: Dict[str, str]) -> str:
        runs.append(args["key"])
        if args["key"] == "boom":
            raise RuntimeError("lookup exploded")
        return f"value-of-{args['key']}"

    return lookup


StartReplay = Callable[..., Awaitable[ReplayServer]]


@pytest.fixture
async def start_replay() -> AsyncIterator[StartReplay]:
    """Starts replay servers (`start_replay(path, ...)`) and stops them after the test."""
    servers: List[ReplayServer] = []

    async def start(*paths: pathlib.Path, **options: Any) -> ReplayServer:
        server = await ReplayServer.start(paths, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()


@pytest.fixture
async def replay(start_replay: StartReplay) -> ReplayServer:
    """A server playing tests/replay/conversations.yaml."""
    return await start_replay(CONVERSATIONS)


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    """A client, stopped after the test."""
    c = Client()
    yield c
    assert await c.stop() == []
