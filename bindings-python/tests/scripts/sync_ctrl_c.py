"""Run by test_sync.py: a blocking send_and_wait of modelport.sync streams slowly until the parent
sends SIGINT. KeyboardInterrupt is raised in the main thread while it waits; the facade cancels the
send on its loop thread, which aborts the turn, so the session has an `abort` event and the HTTP
stream is closed when the script ends."""

import asyncio
import signal
import sys
import time

from modelport import EventType
from modelport.sync import Client
from modelport.testing import ReplayServer


def main(conversations: str) -> None:
    replay = asyncio.run(ReplayServer.from_path(conversations, delta_chars=4, chunk_delay=0.05))
    client = Client()
    session = client.create_session(
        model="python-model",
        provider={"type": "openai", "base_url": replay.openai_url},
        streaming=True,
    )
    session.on(
        "assistant.message_delta",
        lambda e: print("streaming", flush=True) if e.data.delta_content else None,
    )
    try:
        session.send_and_wait("Tell me a long story", timeout=60)
    finally:
        # The cancelled send aborts on the loop thread while this one goes on: wait for its event.
        deadline = time.monotonic() + 30
        aborted = False
        while not aborted and time.monotonic() < deadline:
            aborted = EventType.ABORT in [e.type for e in session.get_events()]
            time.sleep(0.02)
        print(f"aborted: {aborted}", flush=True)
        asyncio.run(asyncio.wait_for(replay.wait_disconnects(1), 30))
        print("connection closed", flush=True)
        client.stop()


signal.signal(signal.SIGINT, signal.default_int_handler)
main(sys.argv[1])
