"""A conversation that continues across runs: the first run tells the model a name and exits; the
second run, a new process, resumes the stored session and asks for the name; the third starts over.

The session store is MODELPORT_EXAMPLE_STORE (any store URL, e.g. a postgres:// one) or a SQLite
file in the temp directory. Offline, the built-in replay provider answers the second question only
when the request carries the first turn.

    python examples/python/durable.py    # twice
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from modelport import Client, ProviderConfig, SessionNotFoundError, provider_from_env
from modelport.testing import ReplayServer

RECORDED = Path(__file__).resolve().parent.parent / "replay" / "durable.yaml"
SESSION_ID = "durable-example"


async def main() -> None:
    replay = None
    from_env = provider_from_env()
    if from_env is not None:
        provider, model = from_env
    else:
        replay = await ReplayServer.from_path(RECORDED)
        provider = ProviderConfig(
            type="openai",
            base_url=f"{replay.url}/openai/v1/",
            wire_api="responses",
            api_key="not-needed-offline",
        )
        model = "YOUR-DEPLOYMENT-NAME"
    default = Path(tempfile.gettempdir()) / "modelport-example" / "sessions.db"
    store = os.environ.get("MODELPORT_EXAMPLE_STORE", f"sqlite://{default}")
    print(f"session store: {store}")

    async with Client(session_store=store) as client:
        session = None
        try:
            session = await client.resume_session(SESSION_ID, model=model, provider=provider)
        except SessionNotFoundError:
            pass  # a missing id is a typed error, not a provider's 404
        if session is not None:
            asked = [e for e in await session.get_messages() if e.type == "user.message"]
            if len(asked) >= 2:
                print("The conversation is complete: starting over.")
                await session.disconnect()
                await client.delete_session(SESSION_ID)
                session = None
        if session is None:
            session = await client.create_session(
                session_id=SESSION_ID, model=model, provider=provider
            )
            print(f'Started session "{SESSION_ID}": run this example again to continue it.')
            prompt = "My name is Ada. Please remember it."
        else:
            print(f'Resumed session "{SESSION_ID}".')
            prompt = "What is my name?"
        print(f"> {prompt}")
        answer = await session.send_and_wait(prompt)
        if answer is not None:
            print(answer.data.content)
        # Everything of the send is committed before send_and_wait returns; leaving the block
        # stops the client, which gives the session's lease back for the next run.

    if replay is not None:
        await replay.stop()


if __name__ == "__main__":
    asyncio.run(main())
