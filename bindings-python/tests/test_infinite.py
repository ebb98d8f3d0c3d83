"""Infinite sessions through the binding: a replay provider with a small context window (it answers
a larger request with the wire format's context-length error), compaction events seen by on()
handlers and typed on EventData, compact() on demand, and the error when compaction is off."""

from __future__ import annotations

import asyncio
import json
from typing import List

import pytest

from modelport import Client, ConfigError, ContextLengthError, Event, EventType

from conftest import CONVERSATIONS, T, StartReplay, openai

WINDOW = 3000
ANSWER = "Noted. " + "More words here. " * 6


def note(i: int) -> str:
    return f"Note {i}: " + "please keep this detail in mind. " * 12


def check_order(kinds: List[str]) -> None:
    """Compactions open and close in turn, with only the summary call's usage between; every send
    ends with session.idle before the next one starts."""
    compacting = False
    sending = False
    for kind in kinds:
        if kind == EventType.SESSION_COMPACTION_START:
            assert not compacting, kinds
            compacting = True
        elif kind == EventType.SESSION_COMPACTION_COMPLETE:
            assert compacting, kinds
            compacting = False
        elif compacting:
            assert kind == EventType.ASSISTANT_USAGE, kinds
        elif kind == EventType.USER_MESSAGE:
            assert not sending, kinds
            sending = True
        elif kind == EventType.SESSION_IDLE:
            assert sending, kinds
            sending = False
    assert not sending, kinds


async def until_compactions_end(events: List[Event]) -> None:
    """A background compaction may follow the last send."""
    for _ in range(300):
        starts = sum(e.type == EventType.SESSION_COMPACTION_START for e in events)
        completes = sum(e.type == EventType.SESSION_COMPACTION_COMPLETE for e in events)
        if starts == completes:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("a compaction did not complete")


async def test_thirty_sends_in_a_small_window(client: Client, start_replay: StartReplay) -> None:
    replay = await start_replay(CONVERSATIONS, fallback=ANSWER, context_window=WINDOW)
    session = await client.create_session(
        model="python-model", provider=openai(replay, max_prompt_tokens=WINDOW * 9 // 10)
    )
    events: List[Event] = []
    session.on(events.append)
    for i in range(30):
        reply = await session.send_and_wait(note(i), timeout=T)
        assert reply is not None and reply.data.content == ANSWER
    await until_compactions_end(events)

    check_order([e.type for e in events])
    assert not [e for e in events if e.type == EventType.SESSION_ERROR]
    completes = [e for e in events if e.type == EventType.SESSION_COMPACTION_COMPLETE]
    assert completes and all(e.data.success is True for e in completes)
    for e in completes:
        assert e.data.error is None
        assert (e.data.messages_removed or 0) > 0
        assert (e.data.pre_compaction_tokens or 0) > (e.data.post_compaction_tokens or 0)
    usage = [e for e in events if e.type == EventType.SESSION_USAGE_INFO]
    assert usage and all(e.ephemeral and e.data.token_limit == WINDOW * 9 // 10 for e in usage)
    assert all((e.data.current_tokens or 0) > 0 and (e.data.messages_length or 0) > 0 for e in usage)
    # The compaction events are kept, usage_info (ephemeral) is not.
    kept = [e.type for e in session.get_events()]
    assert kept.count(EventType.SESSION_COMPACTION_COMPLETE) == len(completes)
    assert EventType.SESSION_USAGE_INFO not in kept
    # No request outgrew the provider's window (its bytes / 4), so none was retried after an error.
    for r in replay.requests():
        assert len(json.dumps(r.body, separators=(",", ":"), ensure_ascii=False)) / 4 <= WINDOW
    await session.disconnect()


async def test_compact_on_demand(client: Client, start_replay: StartReplay) -> None:
    replay = await start_replay(CONVERSATIONS, fallback=ANSWER)
    session = await client.create_session(model="python-model", provider=openai(replay))
    events: List[Event] = []
    session.on(events.append)
    # Nothing to compact yet: a completion that says so (EventData.error is a str here).
    await session.compact()
    assert [e.type for e in events] == [
        EventType.SESSION_COMPACTION_START,
        EventType.SESSION_COMPACTION_COMPLETE,
    ]
    assert events[1].data.success is False and isinstance(events[1].data.error, str)
    assert events[1].data.messages_removed == 0
    for i in range(4):
        await session.send_and_wait(note(i), timeout=T)
    before = len(replay.requests())
    await session.compact()
    kinds = [e.type for e in events]
    assert kinds[-3:] == [
        EventType.SESSION_COMPACTION_START,
        EventType.ASSISTANT_USAGE,
        EventType.SESSION_COMPACTION_COMPLETE,
    ]
    complete = events[-1]
    assert complete.data.success is True and (complete.data.messages_removed or 0) > 0
    # The summary call is one request; the next send carries the summary, not the oldest note.
    assert len(replay.requests()) == before + 1
    await session.send_and_wait(note(4), timeout=T)
    last = str(replay.requests()[-1].body)
    assert "Summary of the earlier conversation" in last and note(0) not in last
    await session.disconnect()


async def test_disabled_fails_with_context_length(
    client: Client, start_replay: StartReplay
) -> None:
    replay = await start_replay(CONVERSATIONS, fallback="ok", context_window=200)
    session = await client.create_session(
        model="python-model", provider=openai(replay), infinite_sessions={"enabled": False}
    )
    with pytest.raises(ContextLengthError):
        await session.send_and_wait("word " * 400, timeout=T)
    await session.disconnect()


async def test_thresholds_are_checked(client: Client) -> None:
    with pytest.raises(ConfigError, match="backgroundCompactionThreshold"):
        await client.create_session(
            model="python-model",
            provider={"type": "openai", "base_url": "http://127.0.0.1:9/v1"},
            infinite_sessions={
                "background_compaction_threshold": 0.99,
                "buffer_exhaustion_threshold": 0.5,
            },
        )
