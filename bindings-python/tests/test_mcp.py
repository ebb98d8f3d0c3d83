"""MCP servers through the binding, against real servers (tests/mcp/server.py, on the official Python
MCP SDK, in the virtualenv scripts/mcp-venv.sh makes) over stdio and Streamable HTTP, with the
replay provider playing tests/fixtures/replay/mcp.yaml (shared with the Rust end-to-end tests and
Node): a tool message that departs from the fixture gets the replay's 500 instead of the answer.
Core runs everything; these tests show that `mcp_servers` reaches it and that the events and the
permission request come back typed."""

from __future__ import annotations

import asyncio
import os
import pathlib
import subprocess
import time
from typing import Any, AsyncIterator, Dict, List, Optional, Sequence, Tuple

import pytest

from modelport import (
    Client,
    Event,
    EventType,
    MCPLocalServerConfig,
    MCPServerConfig,
    PermissionRequest,
    Session,
)
from modelport.testing import ReplayServer

from conftest import T, StartReplay, openai

ROOT = pathlib.Path(__file__).resolve().parents[2]
MCP = ROOT / "tests" / "fixtures" / "replay" / "mcp.yaml"
SERVER = ROOT / "tests" / "mcp" / "server.py"
# The same virtualenv as the Rust end-to-end tests (tests/tests/mcp.rs).
VENV = ROOT / "target" / "mcp-venv"


@pytest.fixture(scope="module")
def python() -> str:
    """The MCP virtualenv's interpreter, made (once; pip installs the pinned `mcp` the first time)
    by scripts/mcp-venv.sh."""
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "mcp-venv.sh")],
        env={**os.environ, "MODELPORT_MCP_VENV": str(VENV)},
        check=True,
    )
    return str(VENV / "bin" / "python")


def stdio(python: str, *args: str) -> MCPLocalServerConfig:
    """A stdio server running server.py with `args`."""
    return {
        "type": "stdio",
        "command": python,
        "args": [str(SERVER), *args],
        "startup_timeout_ms": 20000,
    }


@pytest.fixture
async def replay(start_replay: StartReplay) -> ReplayServer:
    return await start_replay(MCP)


async def open_session(
    client: Client, replay: ReplayServer, servers: Dict[str, MCPServerConfig], **config: Any
) -> Tuple[Session, List[Event]]:
    session = await client.create_session(
        model="mcp-model", provider=openai(replay), mcp_servers=servers, **config
    )
    events: List[Event] = []
    session.on(events.append)
    return session, events


async def answer(session: Session, prompt: str) -> Optional[str]:
    reply = await session.send_and_wait(prompt, timeout=T)
    return None if reply is None else reply.data.content


def loaded(session: Session) -> Event:
    (event,) = [e for e in session.get_events() if e.type is EventType.SESSION_MCP_SERVERS_LOADED]
    return event


def offered(body: Dict[str, Any]) -> List[str]:
    """The tool names a Chat Completions request offered."""
    return [t["function"]["name"] for t in body.get("tools", [])]


def pids(pidfile: pathlib.Path) -> List[int]:
    return [int(line) for line in pidfile.read_text().split()] if pidfile.exists() else []


def gone(pid: int) -> bool:
    """Whether process `pid` is gone (or a zombie nobody has reaped yet)."""
    try:
        stat = (pathlib.Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


async def wait_gone(running: Sequence[int], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not all(gone(p) for p in running):
        left = [p for p in running if not gone(p)]
        assert time.monotonic() < deadline, f"still running after the session ended: {left}"
        await asyncio.sleep(0.05)


async def test_a_tool_call_round_trip_over_stdio(
    client: Client, replay: ReplayServer, python: str, tmp_path: pathlib.Path
) -> None:
    pidfile = tmp_path / "srv.pid"
    session, events = await open_session(
        client,
        replay,
        {"srv": stdio(python, "--only", "get_weather,echo", "--pidfile", str(pidfile))},
    )
    assert await answer(session, "What's the weather in Paris?") == "It is sunny and 21°C in Paris."
    first = replay.requests()[0].body
    assert offered(first) == ["srv-get_weather", "srv-echo"]
    # The server's own input schema reaches the model.
    assert first["tools"][0]["function"]["parameters"]["required"] == ["location"]
    (start,) = [e for e in events if e.type is EventType.TOOL_EXECUTION_START]
    assert start.data.tool_name == "srv-get_weather"
    assert start.data.arguments == {"location": "Paris"}
    (complete,) = [e for e in events if e.type is EventType.TOOL_EXECUTION_COMPLETE]
    assert complete.data.success is True
    assert complete.data.result is not None
    assert complete.data.result.content == "Sunny, 21°C in Paris"
    running = pids(pidfile)
    assert len(running) == 1 and not gone(running[0])
    await session.disconnect()
    await wait_gone(running)


async def test_the_loaded_event_reports_each_server_and_the_session_works_without_the_failed_one(
    client: Client, replay: ReplayServer, python: str
) -> None:
    session, _ = await open_session(
        client,
        replay,
        {"good": stdio(python, "--only", "echo"), "broken": stdio(python, "--fail-start")},
    )
    event = loaded(session)
    assert event.ephemeral is False
    servers = event.data.servers
    assert servers is not None
    assert [(s.name, s.status, s.transport) for s in servers] == [
        ("broken", "failed", "stdio"),
        ("good", "connected", "stdio"),
    ]
    broken, good = servers
    assert broken.error is not None and 'MCP server "broken"' in broken.error
    assert good.error is None
    data = event.data.to_dict()
    assert data["servers"][1] == {"name": "good", "status": "connected", "transport": "stdio"}
    assert await answer(session, "Hello") == "Hello! How can I help?"
    # Only the server that started offers tools.
    assert offered(replay.requests()[0].body) == ["good-echo"]


async def test_the_permission_handler_is_asked_with_kind_mcp(
    client: Client, replay: ReplayServer, python: str
) -> None:
    asked: List[PermissionRequest] = []

    def approve(request: PermissionRequest) -> Dict[str, str]:
        asked.append(request)
        return {"kind": "approve-once"}

    session, events = await open_session(
        client,
        replay,
        {"srv": stdio(python, "--only", "get_weather")},
        on_permission_request=approve,
    )
    assert await answer(session, "What's the weather in Paris?") == "It is sunny and 21°C in Paris."
    (request,) = asked
    assert request.kind == "mcp"
    assert request.server_name == "srv"
    # The server's own name of the tool, not the `srv-get_weather` the model sees.
    assert request.tool_name == "get_weather"
    assert request.arguments == {"location": "Paris"}
    (requested,) = [e for e in events if e.type is EventType.PERMISSION_REQUESTED]
    permission = requested.data.to_dict()["permissionRequest"]
    assert (permission["kind"], permission["serverName"]) == ("mcp", "srv")


async def test_a_crashed_server_reports_its_status_and_starts_again(
    client: Client, replay: ReplayServer, python: str
) -> None:
    session, _ = await open_session(client, replay, {"srv": stdio(python, "--only", "crash,echo")})
    changes: List[Event] = []
    session.on(EventType.SESSION_MCP_SERVER_STATUS_CHANGED, changes.append)
    assert await answer(session, "Crash the server") == "The server crashed."
    assert await answer(session, "Echo hi") == "hi"
    assert [(e.data.server_name, e.data.status) for e in changes] == [
        ("srv", "failed"),
        ("srv", "pending"),
        ("srv", "connected"),
    ]
    assert all(e.ephemeral for e in changes)
    assert isinstance(changes[0].data.error, str)
    assert changes[2].data.error is None
    # Ephemeral: not kept.
    kinds = [e.type for e in session.get_events()]
    assert EventType.SESSION_MCP_SERVER_STATUS_CHANGED not in kinds


@pytest.mark.parametrize("end", ["disconnect", "stop"])
async def test_no_server_process_outlives_its_session(
    replay: ReplayServer, python: str, tmp_path: pathlib.Path, end: str
) -> None:
    pidfile = tmp_path / "srv.pid"
    client = Client()
    try:
        session, _ = await open_session(
            client, replay, {"srv": stdio(python, "--only", "echo", "--pidfile", str(pidfile))}
        )
        running = pids(pidfile)
        assert len(running) == 1 and not gone(running[0])
        if end == "disconnect":
            await session.disconnect()
        else:
            assert await client.stop() == []
        await wait_gone(running)
    finally:
        await client.stop()


@pytest.fixture
async def http_server(python: str) -> AsyncIterator[str]:
    """server.py over Streamable HTTP; yields its URL and kills it after the test."""
    process = await asyncio.create_subprocess_exec(
        python,
        str(SERVER),
        "--http",
        "--only",
        "get_weather",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), T)).decode().strip()
        assert line.startswith("LISTENING http://127.0.0.1:"), line
        yield line[len("LISTENING ") :]
    finally:
        process.kill()
        await process.wait()


async def test_a_streamable_http_server_with_a_secret_header(
    client: Client, replay: ReplayServer, http_server: str
) -> None:
    secret = "mcp-HEADER-SECRET-5521"
    session, events = await open_session(
        client,
        replay,
        {"srv": {"type": "http", "url": http_server, "headers": {"Authorization": f"Bearer {secret}"}}},
    )
    servers = loaded(session).data.servers
    assert servers is not None
    assert [(s.name, s.status, s.transport) for s in servers] == [("srv", "connected", "http")]
    assert await answer(session, "What's the weather in Paris?") == "It is sunny and 21°C in Paris."
    assert offered(replay.requests()[0].body) == ["srv-get_weather"]
    assert all(secret not in str(e.to_dict()) for e in [*session.get_events(), *events])
