"""Run by test_cancellation.py: a turn streams slowly until the parent sends SIGINT. asyncio.run
turns Ctrl-C into cancelling the main task; the binding then aborts the turn before the
CancelledError goes on, so the session has an `abort` event when the script ends."""

import asyncio
import signal
import sys

from modelport import Client, EventType
from modelport.testing import ReplayServer


async def main(conversations: str) -> None:
    replay = await ReplayServer.from_path(conversations, delta_chars=4, chunk_delay=0.05)
    client = Client()
    session = await client.create_session(
        model="python-model",
        provider={"type": "openai", "base_url": replay.openai_url},
        streaming=True,
    )
    session.on(
        "assistant.message_delta",
        lambda e: print("streaming", flush=True) if e.data.delta_content else None,
    )
    try:
        await session.send_and_wait("Tell me a long story", timeout=60)
    finally:
        kinds = [e.type for e in session.get_events()]
        print(f"aborted: {EventType.ABORT in kinds}", flush=True)
        await asyncio.wait_for(replay.wait_disconnects(1), 30)
        print("connection closed", flush=True)


# A parent in the background may have left SIGINT ignored: take Python's default handler, as in a
# terminal, so that asyncio.run can turn Ctrl-C into cancelling the main task.
signal.signal(signal.SIGINT, signal.default_int_handler)
asyncio.run(main(sys.argv[1]))
