"""A whole program: a replay server, `async with Client()`, one streamed turn, then the interpreter
exits right after `stop()`. Exits 0 unless the interpreter crashes on the way out."""

import asyncio
import sys

from modelport import Client
from modelport.testing import ReplayServer


async def main(conversations: str) -> None:
    replay = await ReplayServer.from_path(conversations, delta_chars=4)
    async with Client() as client:
        session = await client.create_session(
            model="m", provider={"type": "openai", "base_url": replay.openai_url}, streaming=True
        )
        reply = await session.send_and_wait("Say hello")
        assert reply is not None
    await replay.stop()


asyncio.run(main(sys.argv[1]))
