"""Streaming: print the answer as it arrives, from the session's events (`async for`).

python examples/python/streaming.py   (offline, or against MODELPORT_PROVIDER like the quickstart)
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from modelport import Client, EventType, ProviderConfig, provider_from_env
from modelport.testing import ReplayServer

RECORDED = Path(__file__).resolve().parent.parent / "replay" / "streaming.yaml"


async def main() -> None:
    replay = None
    from_env = provider_from_env()
    if from_env is not None:
        provider, model = from_env
    else:
        # Small deltas with a pause, so the streaming is visible.
        replay = await ReplayServer.from_path(RECORDED, delta_chars=3, chunk_delay=0.015)
        print(f"(offline: answering from the built-in replay provider at {replay.url})")
        provider = ProviderConfig(type="anthropic", base_url=replay.url)
        model = "YOUR-DEPLOYMENT-NAME"

    # Sessions are kept in memory here; by default they go to $MODELPORT_HOME/sessions.db (SQLite)
    # and a later run can resume them (see durable.py).
    async with Client(session_store="memory") as client:
        session = await client.create_session(model=model, provider=provider, streaming=True)
        events = session.events()
        await session.send("Write a haiku about streaming tokens.")
        async for event in events:
            if event.type is EventType.ASSISTANT_MESSAGE_DELTA:
                print(event.data.delta_content, end="", flush=True)
            elif event.type is EventType.ASSISTANT_USAGE:
                print(
                    f"\n[{event.data.input_tokens} input / {event.data.output_tokens} output tokens, "
                    f"first token after {event.data.time_to_first_token_ms} ms]"
                )
            elif event.type is EventType.SESSION_ERROR:
                print(f"\nerror: {event.data.message}")
            elif event.type is EventType.SESSION_IDLE:
                break

    if replay is not None:
        await replay.stop()


if __name__ == "__main__":
    asyncio.run(main())
