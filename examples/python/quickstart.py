"""The quickstart in Python: create a session, print each assistant.message, ask "What is 2+2?".

With MODELPORT_PROVIDER set (openai | azure | anthropic, plus MODELPORT_BASE_URL, MODELPORT_API_KEY
and MODELPORT_MODEL) it talks to that provider. Otherwise it starts the built-in replay provider with
a recorded answer, configured like an Azure AI Foundry deployment, and works offline.

    pip install ./bindings-python && python examples/python/quickstart.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from modelport import Client, ProviderConfig, provider_from_env
from modelport.testing import ReplayServer

RECORDED = Path(__file__).resolve().parent.parent / "replay" / "quickstart.yaml"


async def main() -> None:
    replay = None
    from_env = provider_from_env()
    if from_env is not None:
        provider, model = from_env
    else:
        replay = await ReplayServer.from_path(RECORDED)
        print(
            "(MODELPORT_PROVIDER is not set: answering from the built-in replay provider at "
            f"{replay.url}, offline)"
        )
        # Shaped like an Azure AI Foundry deployment: type "openai", the /openai/v1/ route,
        # the Responses wire API.
        provider = ProviderConfig(
            type="openai",
            base_url=f"{replay.url}/openai/v1/",
            wire_api="responses",
            api_key="not-needed-offline",
        )
        model = "YOUR-DEPLOYMENT-NAME"

    # Sessions are kept in memory here; by default they go to $MODELPORT_HOME/sessions.db (SQLite)
    # and a later run can resume them (see durable.py).
    async with Client(session_store="memory") as client:
        session = await client.create_session(model=model, provider=provider)
        session.on("assistant.message", lambda event: print(event.data.content))
        await session.send_and_wait("What is 2+2?")

    if replay is not None:
        await replay.stop()


if __name__ == "__main__":
    asyncio.run(main())
