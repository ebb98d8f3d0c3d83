"""Events per second through ``session.on()`` and ``async for``, on one streamed answer of N
one-character deltas from the replay provider on 127.0.0.1 (not run in CI).

Run it with two builds installed in two virtualenvs to compare them in one run, alternating:

    for i in 1 2 3 4 5; do for v in old new; do /tmp/venv-$v/bin/python \\
      bindings-python/bench/events.py --chars 20000; done; done

Prints one line: ``on=<events/s> iter=<events/s> on_dropped=<deltas>``: the rates count the events
delivered; ``async for`` must receive every delta (checked), and ``on()`` handlers report how many
deltas they missed (a build whose handlers fall behind may drop deltas, never other events).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import shutil
import tempfile
import time
from typing import Any, Dict, Tuple

from modelport import Client, EventType
from modelport.testing import ReplayServer

# Sessions go to a throwaway data directory, never the user's (the default store is SQLite there).
_HOME = tempfile.mkdtemp(prefix="modelport-bench-home-")
os.environ.setdefault("MODELPORT_HOME", _HOME)
atexit.register(shutil.rmtree, _HOME, True)

STORY = "Stream a long answer."


def answer(chars: int) -> str:
    """The streamed answer, trimmed as the replay provider trims stored text."""
    words = "tokens drift like rain, each one a small falling word; "
    return (words * (chars // len(words) + 1))[:chars].strip()


def snapshot(text: str) -> str:
    doc: Dict[str, Any] = {
        "models": ["bench-model"],
        "conversations": [
            {
                "messages": [
                    {"role": "user", "content": STORY},
                    {"role": "assistant", "content": text},
                ]
            }
        ],
    }
    return json.dumps(doc)


async def through_on(client: Client, provider: Dict[str, Any], chars: int) -> Tuple[float, int]:
    session = await client.create_session(model="bench-model", provider=provider, streaming=True)
    count = deltas = 0

    def handler(event: Any) -> None:
        nonlocal count, deltas
        count += 1
        if event.type is EventType.ASSISTANT_MESSAGE_DELTA:
            deltas += 1

    session.on(handler)
    started = time.perf_counter()
    await session.send_and_wait(STORY, timeout=600)
    elapsed = time.perf_counter() - started
    await session.disconnect()
    return count / elapsed, chars - deltas


async def through_iterator(client: Client, provider: Dict[str, Any], chars: int) -> float:
    session = await client.create_session(model="bench-model", provider=provider, streaming=True)
    events = session.events(buffer=chars + 1024)
    count = deltas = 0
    started = time.perf_counter()
    await session.send(STORY)
    async for event in events:
        count += 1
        if event.type is EventType.ASSISTANT_MESSAGE_DELTA:
            deltas += 1
        elif event.type is EventType.SESSION_IDLE:
            break
    elapsed = time.perf_counter() - started
    await session.disconnect()
    assert deltas == chars, (deltas, chars)
    return count / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chars", type=int, default=20_000)
    args = parser.parse_args()
    text = answer(args.chars)
    server = await ReplayServer.start(documents=[snapshot(text)], delta_chars=1, record=False)
    provider = {"type": "openai", "base_url": server.openai_url}
    try:
        async with Client() as client:
            await through_on(client, provider, len(text))  # warm-up, not reported
            on, dropped = await through_on(client, provider, len(text))
            iterated = await through_iterator(client, provider, len(text))
    finally:
        await server.stop()
    print(f"on={on:.0f} iter={iterated:.0f} on_dropped={dropped}")


if __name__ == "__main__":
    asyncio.run(main())
