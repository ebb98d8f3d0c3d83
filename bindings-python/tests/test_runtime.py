"""The runtime: the GIL is released while a turn waits, events stream through `async for` in
batches without loss, and a forked child gets a runtime of its own."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import warnings
from typing import List

import pytest

import modelport
from modelport import Client, EventType
from modelport.testing import ReplayServer

from conftest import CONVERSATIONS, T, StartReplay, openai

STORY_PROMPT = "Tell me a long story"


async def test_the_gil_is_released_while_a_turn_waits(
    client: Client, start_replay: StartReplay
) -> None:
    replay = await start_replay(CONVERSATIONS, delta_chars=8, chunk_delay=0.01)
    session = await client.create_session(
        model="python-model", provider=openai(replay), streaming=True
    )
    counter = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal counter
        while not stop.is_set():
            counter += 1

    samples: List[int] = []
    session.on("assistant.message_delta", lambda e: samples.append(counter))
    thread = threading.Thread(target=count)
    thread.start()
    try:
        before = counter
        reply = await session.send_and_wait(STORY_PROMPT, timeout=T)
        during = counter - before
    finally:
        stop.set()
        thread.join()
    assert reply is not None and reply.data.content is not None
    assert len(samples) >= 20
    # Handlers run in batches (deltas that arrive together share a sample), but across the slow
    # stream the thread kept counting: many distinct values, and a lot in all.
    assert samples == sorted(samples)
    assert len(set(samples)) >= 10, samples
    assert during > 10_000


async def test_async_for_delivers_every_event_in_batches(
    client: Client, start_replay: StartReplay
) -> None:
    replay = await start_replay(CONVERSATIONS, delta_chars=1)
    session = await client.create_session(
        model="python-model", provider=openai(replay), streaming=True
    )
    events = session.events(buffer=1 << 16)
    await session.send(STORY_PROMPT)
    text = []
    kinds = []
    async for event in events:
        kinds.append(event.type)
        if event.type is EventType.ASSISTANT_MESSAGE_DELTA:
            text.append(event.data.delta_content)
        if event.type is EventType.SESSION_IDLE:
            break
    (message,) = [e for e in session.get_events() if e.type is EventType.ASSISTANT_MESSAGE]
    assert "".join(text) == message.data.content
    assert len(text) == len(message.data.content or "")  # one delta per character, none lost
    assert events.lagged == 0
    assert kinds[0] is EventType.USER_MESSAGE


async def test_a_slow_reader_loses_only_deltas(client: Client, start_replay: StartReplay) -> None:
    replay = await start_replay(CONVERSATIONS, delta_chars=1)
    session = await client.create_session(
        model="python-model", provider=openai(replay), streaming=True
    )
    events = session.events(buffer=4)
    await session.send_and_wait(STORY_PROMPT, timeout=T)  # nobody reads meanwhile
    kinds = []
    async for event in events:
        kinds.append(event.type)
        if event.type is EventType.SESSION_IDLE:
            break
    assert events.lagged > 0
    assert kinds.count(EventType.ASSISTANT_MESSAGE_DELTA) <= 4
    assert EventType.ASSISTANT_MESSAGE in kinds and EventType.ASSISTANT_TURN_END in kinds


def _child(replay_url: str, parent_session: modelport.Session) -> int:
    """Runs in the forked child: the parent's objects refuse to work, new ones do."""

    async def main() -> int:
        try:
            await parent_session.send("Say hello")
            return 3
        except modelport.ConfigError as e:
            if "fork" not in str(e):
                return 4
        client = Client()
        session = await client.create_session(
            model="python-model", provider={"type": "openai", "base_url": replay_url}
        )
        reply = await session.send_and_wait("Say hello", timeout=T)
        await client.stop()
        return 0 if reply is not None and reply.data.content else 5

    return asyncio.run(main())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
async def test_a_forked_child_gets_its_own_runtime(client: Client, replay: ReplayServer) -> None:
    session = await client.create_session(model="python-model", provider=openai(replay))
    assert await session.send_and_wait("Say hello", timeout=T) is not None  # the runtime is running

    def fork_and_wait() -> int:
        # Forked from a thread without a running event loop, so the child can asyncio.run().
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = _child(replay.openai_url, session)
            finally:
                sys.stdout.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)

    code = await asyncio.wait_for(
        asyncio.get_running_loop().run_in_executor(None, fork_and_wait), T
    )
    assert code == 0
    # The parent's runtime and session still work.
    reply = await session.send_and_wait("And goodbye?", timeout=T)
    assert reply is not None and reply.data.content == "Goodbye!"


def test_the_interpreter_exits_cleanly_right_after_stop() -> None:
    """The last await of a program is often `stop()` (the end of `async with Client()`): a worker
    can still be handing its result to asyncio when the interpreter starts finalizing. The runtime is
    joined at exit, so this never crashes (it did about once in eight runs before)."""
    import subprocess

    script = os.path.join(os.path.dirname(__file__), "scripts", "exit_after_stop.py")
    for run in range(12):
        done = subprocess.run(
            [sys.executable, script, str(CONVERSATIONS)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, f"run {run}: exit {done.returncode}\n{done.stderr}"
