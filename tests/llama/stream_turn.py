"""One streamed turn through the Python binding against llama.cpp's server: python stream_turn.py URL

The deltas must concatenate to the final message, which must not be empty.
"""

import asyncio
import sys

from modelport import Client


async def main(url: str) -> None:
    async with Client() as client:
        for name, provider in [
            ("responses", {"type": "openai", "base_url": url + "/v1", "wire_api": "responses"}),
            ("chat completions", {"type": "openai", "base_url": url + "/v1"}),
        ]:
            provider["max_output_tokens"] = 32
            session = await client.create_session(model="smollm2", provider=provider, streaming=True)
            deltas = []
            session.on("assistant.message_delta", lambda e: deltas.append(e.data.delta_content))
            reply = await session.send_and_wait("Name three colours.", timeout=120)
            assert reply is not None and reply.data.content.strip(), f"{name}: an answer"
            assert "".join(deltas) == reply.data.content, f"{name}: the deltas make the message"
            print(f"ok python {name}: {reply.data.content!r}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
