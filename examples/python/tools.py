"""A session with a typed tool: the model calls `get_weather` for two cities (in parallel), modelport
runs the handler, sends the results back, and prints the final answer.

    python examples/python/tools.py   (offline, or against MODELPORT_PROVIDER like the quickstart)
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Dict, Union

from pydantic import BaseModel, Field

from modelport import Client, EventType, define_tool, provider_from_env
from modelport.testing import ReplayServer

RECORDED = Path(__file__).resolve().parent.parent / "replay" / "tools.yaml"


class WeatherQuery(BaseModel):
    """Arguments of get_weather; the JSON schema the model sees comes from this model."""

    city: str = Field(description='The city, e.g. "Paris"')


@define_tool(description="Current weather for a city")
async def get_weather(query: WeatherQuery) -> Dict[str, Union[str, int]]:
    conditions, temperature_c = {"Paris": ("sunny", 22), "Tokyo": ("rainy", 17)}.get(
        query.city, ("unknown", 0)
    )
    return {"city": query.city, "conditions": conditions, "temperature_c": temperature_c}


async def main() -> None:
    replay = None
    from_env = provider_from_env()
    if from_env is not None:
        provider, model = from_env
    else:
        replay = await ReplayServer.from_path(RECORDED)
        print(f"(offline: answering from the built-in replay provider at {replay.url})")
        provider, model = {"type": "openai", "base_url": replay.openai_url}, "YOUR-DEPLOYMENT-NAME"

    # Sessions are kept in memory here; by default they go to $MODELPORT_HOME/sessions.db (SQLite)
    # and a later run can resume them (see durable.py).
    async with Client(session_store="memory") as client:
        session = await client.create_session(model=model, provider=provider, tools=[get_weather])
        session.on(
            EventType.TOOL_EXECUTION_START,
            lambda e: print(f"-> {e.data.tool_name}({e.data.arguments})"),
        )
        reply = await session.send_and_wait("What's the weather like in Paris and in Tokyo?")
        if reply is not None:
            print(reply.data.content)

    if replay is not None:
        await replay.stop()


if __name__ == "__main__":
    asyncio.run(main())
