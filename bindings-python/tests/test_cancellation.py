"""Cancellation: abort(), cancelling the awaiting task, Ctrl-C, abort during a tool, stop()."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from typing import List, Tuple

import pytest

import modelport
from modelport import Client, Event, EventType, Session, define_tool
from modelport.testing import ReplayServer

from conftest import CONVERSATIONS, HERE, T, StartReplay, openai

STORY = "Tell me a long story"


async def slow_session(
    client: Client, start_replay: StartReplay, delay: float = 0.05
) -> Tuple[ReplayServer, Session, asyncio.Event]:
    """A session whose story streams in 4-character deltas `delay` apart (~90 deltas), and an
    asyncio.Event set at its first delta."""
    replay = await start_replay(CONVERSATIONS, delta_chars=4, chunk_delay=delay)
    session = await client.create_session(
        model="python-model", provider=openai(replay), streaming=True
    )
    first_delta = asyncio.Event()
    session.on("assistant.message_delta", lambda e: first_delta.set())
    return replay, session, first_delta


async def test_abort_ends_the_turn_and_closes_the_stream(
    client: Client, start_replay: StartReplay
) -> None:
    replay, session, first_delta = await slow_session(client, start_replay)
    seen: List[Event] = []
    session.on(seen.append)
    waiting = asyncio.create_task(session.send_and_wait(STORY, timeout=T))
    await asyncio.wait_for(first_delta.wait(), T)
    await session.abort()
    with pytest.raises(modelport.CancelledError):
        await waiting
    await asyncio.wait_for(replay.wait_disconnects(1), T)
    kinds = [e.type for e in seen]
    assert EventType.ABORT in kinds
    assert seen[-1].type is EventType.SESSION_IDLE and seen[-1].data.aborted is True
    assert EventType.ASSISTANT_MESSAGE not in kinds


async def test_cancelling_the_awaiting_task_aborts_the_turn(
    client: Client, start_replay: StartReplay
) -> None:
    replay, session, first_delta = await slow_session(client, start_replay)
    waiting = asyncio.create_task(session.send_and_wait(STORY, timeout=T))
    await asyncio.wait_for(first_delta.wait(), T)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    # The turn was aborted before CancelledError reached the task's awaiter.
    assert EventType.ABORT in [e.type for e in session.get_events()]
    await asyncio.wait_for(replay.wait_disconnects(1), T)


async def test_wait_for_timeout_cancels_like_a_task_cancel(
    client: Client, start_replay: StartReplay
) -> None:
    replay, session, first_delta = await slow_session(client, start_replay)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(session.send_and_wait(STORY, timeout=T), 0.3)
    assert EventType.ABORT in [e.type for e in session.get_events()]


async def test_send_and_wait_timeout_leaves_the_turn_running(
    client: Client, start_replay: StartReplay
) -> None:
    replay, session, first_delta = await slow_session(client, start_replay, delay=0.01)
    with pytest.raises(modelport.TimeoutError) as info:
        await session.send_and_wait(STORY, timeout=0.2)
    assert info.value.timeout_kind == "send_and_wait"
    assert isinstance(info.value, TimeoutError)
    events = session.events()
    async for event in events:
        if event.type is EventType.SESSION_IDLE:
            break
    assert EventType.ASSISTANT_MESSAGE in [e.type for e in session.get_events()]


@pytest.mark.skipif(
    sys.version_info < (3, 11), reason="asyncio.run cancels the main task on Ctrl-C from 3.11"
)
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_ctrl_c_aborts_the_turn() -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "scripts" / "ctrl_c.py"),
        str(CONVERSATIONS),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), T)
    assert line == b"streaming\n"
    child.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(child.communicate(), T)
    assert b"aborted: True\n" in out and b"connection closed\n" in out, (out, err)
    assert b"KeyboardInterrupt" in err
    assert child.returncode != 0


async def test_abort_during_a_tool_cancels_its_python_task(
    client: Client, replay: ReplayServer
) -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    @define_tool(description="Takes forever")
    async def slow() -> str:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "finished"

    session = await client.create_session(
        model="python-model", provider=openai(replay), tools=[slow]
    )
    seen: List[Event] = []
    session.on(seen.append)
    waiting = asyncio.create_task(session.send_and_wait("Run the slow tool", timeout=T))
    await asyncio.wait_for(started.wait(), T)
    await session.abort()
    await asyncio.wait_for(cancelled.wait(), T)
    with pytest.raises(modelport.CancelledError):
        await waiting
    (complete,) = [e for e in seen if e.type is EventType.TOOL_EXECUTION_COMPLETE]
    assert complete.data.error is not None and complete.data.error.code == "interrupted"
    assert complete.data.result is not None
    assert (
        complete.data.result.content
        == "The execution of this tool, or a previous tool was interrupted."
    )


async def test_stop_cancels_waiters_and_ends_event_streams(start_replay: StartReplay) -> None:
    client = Client()
    replay, session, first_delta = await slow_session(client, start_replay)
    events = session.events()
    waiting = asyncio.create_task(session.send_and_wait(STORY, timeout=T))
    await asyncio.wait_for(first_delta.wait(), T)
    assert await client.stop() == []
    with pytest.raises(modelport.CancelledError):
        await waiting
    kinds = [e.type async for e in events]
    assert kinds[-1] is EventType.SESSION_IDLE and EventType.ABORT in kinds
    with pytest.raises(modelport.ConfigError, match="stopped"):
        await client.create_session(model="python-model", provider=openai(replay))


async def test_cancelling_a_queued_send_leaves_the_running_send_alone(
    client: Client, start_replay: StartReplay
) -> None:
    replay, session, first_delta = await slow_session(client, start_replay)
    seen: List[Event] = []
    session.on(seen.append)
    running = asyncio.create_task(session.send_and_wait(STORY, timeout=T))
    await asyncio.wait_for(first_delta.wait(), T)
    queued = asyncio.create_task(session.send_and_wait("What is 2+2?", timeout=T))
    await asyncio.sleep(0.05)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert not running.done(), "the running send goes on"
    answer = await running
    assert answer is not None and len(answer.data.content or "") > 40
    # The queued send starts, then ends aborted; the running one was never aborted.
    for _ in range(500):
        if seen[-1].type is EventType.SESSION_IDLE and seen[-1].data.aborted:
            break
        await asyncio.sleep(0.01)
    kinds = [e.type for e in seen]
    assert kinds.count(EventType.USER_MESSAGE) == 2
    assert kinds.count(EventType.ABORT) == 1
    assert seen[-1].type is EventType.SESSION_IDLE and seen[-1].data.aborted is True
