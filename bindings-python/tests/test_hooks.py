"""Session hooks through the binding: Python functions (sync and async, snake_case and camelCase
names) called by core with their input dict, their answers applied by core (a denied tool call, a
modified prompt), a raising hook failing its tool call but not the session, hook events."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from pydantic import BaseModel

from modelport import Client, Event, EventType, define_tool

from conftest import CONVERSATIONS, T, StartReplay, openai

FALLBACK = "Understood."


class WeatherParams(BaseModel):
    city: str


def weather_tool(calls: List[str]) -> Any:
    @define_tool(description="Get the current weather for a city")
    def get_weather(params: WeatherParams) -> str:
        calls.append(params.city)
        return f"sunny, 22C in {params.city}"

    return get_weather


async def test_pre_tool_use_deny(client: Client, start_replay: StartReplay) -> None:
    replay = await start_replay(CONVERSATIONS, fallback=FALLBACK)
    calls: List[str] = []
    inputs: List[Dict[str, Any]] = []

    def deny(data: Dict[str, Any]) -> Dict[str, Any]:
        inputs.append(data)
        return {"permissionDecision": "deny", "permissionDecisionReason": "weather is a secret"}

    session = await client.create_session(
        model="python-model",
        provider=openai(replay),
        tools=[weather_tool(calls)],
        hooks={"on_pre_tool_use": deny},
    )
    events: List[Event] = []
    session.on(events.append)
    await session.send_and_wait("What's the weather in Paris?", timeout=T)

    assert calls == []
    assert inputs and inputs[0]["toolName"] == "get_weather"
    assert inputs[0]["toolArgs"] == {"city": "Paris"}
    assert "weather is a secret" in json.dumps(replay.requests()[-1].body)
    starts = [e.data.to_dict() for e in events if e.type == EventType.HOOK_START]
    ends = [e.data.to_dict() for e in events if e.type == EventType.HOOK_END]
    assert [s["hookType"] for s in starts] == ["preToolUse"]
    assert ends[0]["success"] is True
    assert ends[0]["hookInvocationId"] == starts[0]["hookInvocationId"]


async def test_user_prompt_submitted_modifies_the_prompt(
    client: Client, start_replay: StartReplay
) -> None:
    replay = await start_replay(CONVERSATIONS, fallback=FALLBACK)

    async def rewrite(data: Dict[str, Any], invocation: Dict[str, Any]) -> Dict[str, Any]:
        assert invocation["session_id"] == data["sessionId"]
        return {"modifiedPrompt": data["prompt"] + " (rewritten)"}

    session = await client.create_session(
        model="python-model", provider=openai(replay), hooks={"onUserPromptSubmitted": rewrite}
    )
    await session.send_and_wait("Anything", timeout=T)
    user = [m for m in replay.requests()[0].body["messages"] if m["role"] == "user"]
    assert user[-1]["content"] == "Anything (rewritten)"


async def test_a_raising_hook_fails_its_tool_call_not_the_session(
    client: Client, start_replay: StartReplay
) -> None:
    replay = await start_replay(CONVERSATIONS, fallback=FALLBACK)
    calls: List[str] = []

    def broken(data: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        raise RuntimeError("the policy service is down")

    session = await client.create_session(
        model="python-model",
        provider=openai(replay),
        tools=[weather_tool(calls)],
        hooks={"on_pre_tool_use": broken},
    )
    events: List[Event] = []
    session.on(events.append)
    reply = await session.send_and_wait("What's the weather in Paris?", timeout=T)
    assert reply is not None
    assert calls == []
    ends = [e.data.to_dict() for e in events if e.type == EventType.HOOK_END]
    assert ends and ends[0]["success"] is False
    assert "the policy service is down" in ends[0]["error"]["message"]
    assert not [e for e in events if e.type == EventType.SESSION_ERROR]
    # The session goes on.
    again = await session.send_and_wait("Say hello", timeout=T)
    assert again is not None
