"""Every provider route (OpenAI Chat and Responses, Azure versioned and v1, Anthropic), streaming
and not, with a text answer and a pydantic tool call, through the replay provider over loopback."""

from __future__ import annotations

from typing import List

import pytest
from pydantic import BaseModel

from modelport import Client, Event, EventType, define_tool
from modelport.testing import ReplayServer

from conftest import ROUTES, T

PATHS = {
    "openai-chat": "/v1/chat/completions",
    "openai-responses": "/v1/responses",
    "azure-versioned": "/openai/deployments/python-model/chat/completions?api-version=2024-10-21",
    "azure-versioned-responses": "/openai/responses?api-version=2025-04-01-preview",
    "azure-v1": "/openai/v1/chat/completions",
    "azure-v1-responses": "/openai/v1/responses",
    "anthropic": "/v1/messages",
}

AUTH = {
    "openai-chat": ("authorization", "Bearer sk-test"),
    "openai-responses": ("authorization", "Bearer sk-test"),
    "anthropic": ("x-api-key", "ant-test"),
}


class City(BaseModel):
    city: str


@define_tool(description="Current weather for a city")
def get_weather(params: City) -> str:
    return {"Paris": "sunny, 22C in Paris"}.get(params.city, "unknown")


@pytest.mark.parametrize("streaming", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("route", list(ROUTES))
async def test_every_route(
    client: Client, replay: ReplayServer, route: str, streaming: bool
) -> None:
    seen: List[Event] = []
    sessions = []
    for _ in range(2):
        session = await client.create_session(
            model="python-model",
            provider=ROUTES[route](replay),
            streaming=streaming,
            tools=[get_weather],
        )
        session.on(seen.append)
        sessions.append(session)
    reply = await sessions[0].send_and_wait("Say hello", timeout=T)
    assert reply is not None
    assert reply.data.content == (
        "Hello from the replay provider! This answer is long enough to be streamed in several deltas."
    )
    reply = await sessions[1].send_and_wait("What's the weather in Paris?", timeout=T)
    assert reply is not None and reply.data.content == "It is sunny and 22C in Paris."

    requests = replay.requests()
    assert len(requests) == 3
    assert requests[0].path == PATHS[route]
    name, value = AUTH.get(route, ("api-key", "az-test"))
    assert requests[0].header(name) == value
    complete = [e for e in seen if e.type is EventType.TOOL_EXECUTION_COMPLETE]
    assert len(complete) == 1 and complete[0].data.success
    assert complete[0].data.result is not None
    assert complete[0].data.result.content == "sunny, 22C in Paris"
    deltas = [e for e in seen if e.type is EventType.ASSISTANT_MESSAGE_DELTA]
    assert bool(deltas) == streaming
    assert seen[-1].type is EventType.SESSION_IDLE
