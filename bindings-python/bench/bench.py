"""Benchmarks of the Python binding against the replay provider on 127.0.0.1 (not run in CI).

1. Sequential non-streaming turns: modelport (`send_and_wait` on a fresh session per turn, so every
   request carries one user message) against the same Chat Completions requests sent with the
   official `openai` package's `AsyncOpenAI`, on the same replay server.
2. Streaming throughput: one answer of N characters streamed one character per delta, read with
   `async for event in session.events()`; every event must arrive (checked).

    pip install ./bindings-python openai
    python bindings-python/bench/bench.py [--turns 500] [--chars 200000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import json
import os
import shutil
import statistics
import tempfile
import time
from typing import Any, Dict, List

from modelport import Client, EventType
from modelport.testing import ReplayServer

# Sessions go to a throwaway data directory, never the user's (the default store is SQLite there).
_HOME = tempfile.mkdtemp(prefix="modelport-bench-home-")
os.environ.setdefault("MODELPORT_HOME", _HOME)
atexit.register(shutil.rmtree, _HOME, True)

PROMPT = "What is 2+2?"
STORY = "Stream a long answer."


def snapshot(chars: int) -> str:
    """The conversations, as a snapshot document (JSON is YAML)."""
    words = "tokens drift like rain, each one a small falling word; "
    text = (words * (chars // len(words) + 1))[:chars]
    doc: Dict[str, Any] = {
        "models": ["bench-model"],
        "conversations": [
            {
                "messages": [
                    {"role": "user", "content": PROMPT},
                    {"role": "assistant", "content": "2 + 2 = 4."},
                ]
            },
            {
                "messages": [
                    {"role": "user", "content": STORY},
                    {"role": "assistant", "content": text},
                ]
            },
        ],
    }
    return json.dumps(doc)


async def modelport_turns(client: Client, provider: Dict[str, Any], turns: int) -> float:
    started = time.perf_counter()
    for _ in range(turns):
        session = await client.create_session(model="bench-model", provider=provider)
        reply = await session.send_and_wait(PROMPT)
        assert reply is not None and reply.data.content == "2 + 2 = 4."
    return time.perf_counter() - started


async def openai_turns(openai_client: Any, turns: int) -> float:
    started = time.perf_counter()
    for _ in range(turns):
        completion = await openai_client.chat.completions.create(
            model="bench-model", messages=[{"role": "user", "content": PROMPT}]
        )
        assert completion.choices[0].message.content == "2 + 2 = 4."
    return time.perf_counter() - started


async def stream_through_async_for(
    client: Client, provider: Dict[str, Any], chars: int
) -> Dict[str, Any]:
    session = await client.create_session(model="bench-model", provider=provider, streaming=True)
    events = session.events(buffer=chars + 1024)
    count = deltas = received = 0
    started = time.perf_counter()
    await session.send(STORY)
    async for event in events:
        count += 1
        if event.type is EventType.ASSISTANT_MESSAGE_DELTA:
            deltas += 1
            received += len(event.data.delta_content or "")
        elif event.type is EventType.SESSION_IDLE:
            break
    elapsed = time.perf_counter() - started
    assert deltas == chars and received == chars, (deltas, received, chars)
    assert events.lagged == 0
    persisted = len(session.get_events())
    await session.disconnect()
    return {"events": count, "deltas": deltas, "seconds": elapsed, "persisted": persisted}


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--turns", type=int, default=500)
    parser.add_argument("--chars", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from openai import AsyncOpenAI

    replay = await ReplayServer.from_yaml(snapshot(args.chars), delta_chars=1, record=False)
    provider = {"type": "openai", "base_url": replay.openai_url, "api_key": "bench"}
    openai_client = AsyncOpenAI(base_url=replay.openai_url, api_key="bench", max_retries=0)
    try:
        async with Client() as client:
            # Warm-up: connections, caches, first-call costs.
            await modelport_turns(client, provider, 20)
            await openai_turns(openai_client, 20)
            ours: List[float] = []
            theirs: List[float] = []
            for _ in range(args.rounds):
                ours.append(await modelport_turns(client, provider, args.turns))
                theirs.append(await openai_turns(openai_client, args.turns))
            streams = [
                await stream_through_async_for(client, provider, args.chars)
                for _ in range(args.rounds)
            ]
    finally:
        await openai_client.close()
        await replay.stop()

    mp, oa = statistics.median(ours), statistics.median(theirs)
    print(
        f"{args.turns} sequential non-streaming turns, Chat Completions, replay on 127.0.0.1 "
        f"(median of {args.rounds} rounds):"
    )
    print(
        f"  modelport    {mp:7.3f} s  ({mp / args.turns * 1000:.3f} ms/turn)   rounds: "
        + ", ".join(f"{t:.3f}" for t in ours)
    )
    print(
        f"  AsyncOpenAI  {oa:7.3f} s  ({oa / args.turns * 1000:.3f} ms/request)   rounds: "
        + ", ".join(f"{t:.3f}" for t in theirs)
    )
    print(f"  AsyncOpenAI time / modelport time = {oa / mp:.2f}x")
    rates = [s["events"] / s["seconds"] for s in streams]
    best = streams[0]
    print(
        f"streaming through `async for`: {best['events']:,} events per answer "
        f"({best['deltas']:,} one-character deltas, all delivered, lagged 0)"
    )
    print(
        "  events/s per round: "
        + ", ".join(f"{r:,.0f}" for r in rates)
        + f"   median {statistics.median(rates):,.0f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
