"""Durable sessions through the Python binding: a session continues in another process after its
process exited without stop() or was killed, the lease between processes, listing, metadata,
deletion and the typed errors. Every test runs on a SQLite file and on PostgreSQL
(MODELPORT_TEST_PG_URL; required under CI=true, skipped elsewhere when unset)."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import subprocess
import sys
import uuid
from typing import Any, AsyncIterator, Dict, List

import pytest

from modelport import (
    Client,
    ConfigError,
    EventType,
    ModelportError,
    SessionBusyError,
    SessionExistsError,
    SessionMetadata,
    SessionNotFoundError,
)
from modelport.testing import ReplayServer

from conftest import HERE, T

CHILD = HERE / "scripts" / "durable_child.py"
# The child's key too: it must never reach the store.
KEY = "sk-durable-NEVER-STORED-py-5e1c"
ANSWER = "Noted, and remembered."
SEND = ["user.message", "assistant.turn_start", "assistant.message", "assistant.turn_end"]


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> str:
    """A session store URL: a SQLite file of this test, or the throwaway PostgreSQL cluster."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'sessions.db'}"
    url = os.environ.get("MODELPORT_TEST_PG_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "MODELPORT_TEST_PG_URL is not set and CI=true requires the PostgreSQL tests "
                "(make test starts a cluster with scripts/with-pg.sh)"
            )
        pytest.skip(
            "PostgreSQL: MODELPORT_TEST_PG_URL is not set (start a cluster with "
            "scripts/pg-cluster.sh start DIR and export its URL)"
        )
    return url


@pytest.fixture
async def server() -> AsyncIterator[ReplayServer]:
    """A replay server answering every prompt with ANSWER."""
    replay = await ReplayServer.start(fallback=ANSWER)
    yield replay
    await replay.stop()


def new_id(tag: str) -> str:
    return f"py-{tag}-{uuid.uuid4().hex[:12]}"


def config(server: ReplayServer) -> Dict[str, Any]:
    provider = {"type": "openai", "base_url": server.openai_url, "api_key": KEY}
    return {"model": "durable-model", "provider": provider}


def kinds(events: List[Any]) -> List[str]:
    return [str(e.type) for e in events]


def request_with(server: ReplayServer, prompt: str) -> str:
    """The body of the last request that carried `prompt`."""
    for r in reversed(server.requests()):
        body = json.dumps(r.body)
        if prompt in body:
            return body
    raise AssertionError(f"no request carried {prompt!r}")


class Child:
    """A durable_child.py process."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, store: str, server: ReplayServer, *args: str) -> Child:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(CHILD),
            store,
            server.openai_url,
            *args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        return cls(process)

    async def expect(self, line: str) -> None:
        assert self.process.stdout is not None
        got = await asyncio.wait_for(self.process.stdout.readline(), T)
        if got != f"{line}\n".encode():
            await self.process.wait()
            assert self.process.stderr is not None
            err = await self.process.stderr.read()
            raise AssertionError(f"expected {line!r}, got {got!r}: {err.decode()}")

    async def tell(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        await self.process.stdin.drain()

    async def wait(self) -> int:
        await asyncio.wait_for(self.process.communicate(), T)
        assert self.process.returncode is not None
        return self.process.returncode


@pytest.mark.parametrize("how", ["exit", "sigkill"])
async def test_a_session_continues_in_another_process(
    store: str, server: ReplayServer, how: str
) -> None:
    sid = new_id(how)
    child = await Child.start(store, server, sid, "send" if how == "exit" else "hang", f"alpha {sid}")
    await child.expect("sent")
    if how == "sigkill":
        child.process.kill()
        assert await child.wait() == -9
    else:
        assert await child.wait() == 0

    # The dead holder's lease is taken at once (same machine, process gone).
    client = Client(session_store=store)
    session = await client.resume_session(sid, config(server))
    events = await session.get_messages()
    assert kinds(events) == ["session.start", *SEND, "session.resume"]
    assert events[1].data.content == f"alpha {sid}"
    assert events[3].data.content == ANSWER
    resume = events[-1]
    assert resume.type == EventType.SESSION_RESUME
    assert resume.data.event_count == 5
    assert resume.data.resume_time is not None and resume.data.resume_time.endswith("Z")
    assert resume.data.to_dict() == {
        "resumeTime": resume.data.resume_time,
        "eventCount": 5,
    }

    reply = await session.send_and_wait(f"beta {sid}", timeout=T)
    assert reply is not None and reply.data.content == ANSWER
    body = request_with(server, f"beta {sid}")
    assert f"alpha {sid}" in body and ANSWER in body, body
    assert kinds(session.get_events()) == ["session.start", *SEND, "session.resume", *SEND]
    assert await client.stop() == []


async def test_a_held_session_is_busy_and_waiting_gets_it_once_released(
    store: str, server: ReplayServer
) -> None:
    sid = new_id("lease")
    first = Client(session_store=store)
    session = await first.create_session(config(server), session_id=sid)
    await session.send_and_wait("one", timeout=T)
    await session.disconnect()

    holder = await Child.start(store, server, sid, "hold")
    await holder.expect("holding")
    busy = Client(session_store=store)
    with pytest.raises(SessionBusyError) as e:
        await busy.resume_session(sid, config(server))
    assert e.value.kind == "session_busy" and e.value.error_type == "session"
    assert isinstance(e.value, ModelportError)
    with pytest.raises(SessionBusyError):
        await busy.delete_session(sid)

    waiting = Client(session_store=store, session_lease={"wait_ms": int(T * 1000)})
    resume = asyncio.create_task(waiting.resume_session(sid, config(server)))
    await asyncio.sleep(0.3)
    assert not resume.done()
    await holder.tell()
    await holder.expect("released")
    resumed = await asyncio.wait_for(resume, T)
    assert await holder.wait() == 0
    events = await resumed.get_messages()
    assert kinds(events) == ["session.start", *SEND, "session.resume", "session.resume"]
    for c in (first, busy, waiting):
        assert await c.stop() == []


async def test_list_metadata_last_id_delete_and_typed_errors(
    store: str, server: ReplayServer
) -> None:
    client = Client(session_store=store)
    first, second = new_id("first"), new_id("second")
    for sid in (first, second):
        s = await client.create_session(config(server), session_id=sid)
        await s.send_and_wait(f"Summarise {sid}\nplease", timeout=T)
        await asyncio.sleep(0.01)

    listed = await client.list_sessions()
    assert all(isinstance(m, SessionMetadata) for m in listed)
    ids = [m.session_id for m in listed]
    assert ids.index(second) < ids.index(first), "newest first"
    meta = await client.get_session_metadata(second)
    assert meta is not None and meta == listed[ids.index(second)]
    assert meta.summary == f"Summarise {second} please"
    assert meta.model == "durable-model"
    assert meta.start_time <= meta.modified_time
    if store.startswith("sqlite"):
        # PostgreSQL's database is shared with other suites; the SQLite file is this test's.
        assert await client.get_last_session_id() == second
    assert await client.get_session_metadata("no-such-session") is None

    with pytest.raises(SessionExistsError) as exists:
        await client.create_session(config(server), session_id=first)
    assert exists.value.kind == "session_exists" and exists.value.error_type == "session"
    with pytest.raises(SessionNotFoundError) as missing:
        await client.resume_session("no-such-session", config(server))
    assert missing.value.kind == "session_not_found" and missing.value.error_type == "session"

    # Resuming a live session of this client takes it over; suppress_resume_event hides the event.
    quiet = await client.resume_session(second, config(server), suppress_resume_event=True)
    assert kinds(quiet.get_events()) == ["session.start", *SEND]
    loud = await client.resume_session(second, config(server))
    assert kinds(loud.get_events()) == ["session.start", *SEND, "session.resume"]

    assert await client.delete_session(first) is True
    assert await client.get_session_metadata(first) is None
    assert await client.delete_session(first) is False
    assert first not in [m.session_id for m in await client.list_sessions()]
    assert await client.stop() == []


async def test_the_api_key_never_reaches_the_sqlite_files(
    tmp_path: pathlib.Path, server: ReplayServer
) -> None:
    client = Client(session_store=f"sqlite://{tmp_path / 'sessions.db'}")
    sid = new_id("secret")
    session = await client.create_session(config(server), session_id=sid)
    await session.send_and_wait("remember this", timeout=T)
    assert server.requests()[-1].header("authorization") == f"Bearer {KEY}"
    await session.disconnect()
    session = await client.resume_session(sid, config(server))
    await session.send_and_wait("and this", timeout=T)

    def scan() -> List[str]:
        files = sorted(p.name for p in tmp_path.iterdir())
        assert "sessions.db" in files
        for p in tmp_path.iterdir():
            assert KEY.encode() not in p.read_bytes(), f"the API key was written to {p.name}"
        return files

    assert "sessions.db-wal" in scan()  # while the client runs, with its write-ahead log
    assert await client.stop() == []
    scan()


async def test_memory_store_and_bad_store_urls(server: ReplayServer) -> None:
    client = Client({"session_store": "memory"})
    sid = new_id("memory")
    session = await client.create_session(config(server), session_id=sid)
    await session.send_and_wait("hello", timeout=T)
    await session.disconnect()
    resumed = await client.resume_session(sid, config(server))
    assert kinds(await resumed.get_messages()) == ["session.start", *SEND, "session.resume"]
    assert [m.session_id for m in await client.list_sessions()] == [sid]
    assert await client.stop() == []
    # Another client's memory store is its own.
    other = Client(session_store="memory")
    assert await other.list_sessions() == []
    assert await other.get_last_session_id() is None
    assert await other.stop() == []

    with pytest.raises(ConfigError, match="sessionStore"):
        Client(session_store="mysql://localhost/db")
    with pytest.raises(ConfigError, match="ttl"):
        Client(session_lease={"ttl": 5})  # type: ignore[typeddict-unknown-key]
