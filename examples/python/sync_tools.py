"""Blocking code, a plain function as a tool: modelport.sync runs the asyncio API on a private event
loop thread, and @define_tool reads the tool's JSON schema from the type hints and the docstring.
The model calls get_weather for two cities (in parallel), then answers.

    python examples/python/sync_tools.py   (offline, or against MODELPORT_PROVIDER like the quickstart)
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Dict, Union

from modelport import EventType, define_tool, provider_from_env
from modelport.sync import Client
from modelport.testing import ReplayServer

RECORDED = Path(__file__).resolve().parent.parent / "replay" / "tools.yaml"


@define_tool
def get_weather(city: str) -> Dict[str, Union[str, int]]:
    """Current weather for a city.

    Args:
        city: The city, e.g. "Paris".
    """
    conditions, temperature_c = {"Paris": ("sunny", 22), "Tokyo": ("rainy", 17)}.get(
        city, ("unknown", 0)
    )
    return {"city": city, "conditions": conditions, "temperature_c": temperature_c}


def main() -> None:
    replay = None
    from_env = provider_from_env()
    if from_env is not None:
        provider, model = from_env
    else:
        replay = asyncio.run(ReplayServer.from_path(RECORDED))
        print(f"(offline: answering from the built-in replay provider at {replay.url})")
        provider, model = {"type": "openai", "base_url": replay.openai_url}, "YOUR-DEPLOYMENT-NAME"

    with Client(session_store="memory") as client:
        session = client.create_session(model=model, provider=provider, tools=[get_weather])
        session.on(
            EventType.TOOL_EXECUTION_START,
            lambda e: print(f"-> {e.data.tool_name}({e.data.arguments})"),
        )
        reply = session.send_and_wait("What's the weather like in Paris and in Tokyo?")
        if reply is not None:
            print(reply.data.content)

    if replay is not None:
        asyncio.run(replay.stop())


if __name__ == "__main__":
    main()
