"""Tools: pydantic parameters (schema, validation failures the model sees), dict tools with an explicit
schema, sync and async handlers, parallel calls, raising handlers, ToolResult, permission handlers."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Dict, List

import pytest
from pydantic import BaseModel, Field

from modelport import (
    Client,
    Event,
    EventType,
    PermissionRequest,
    ToolInvocation,
    ToolResult,
    define_tool,
)
from modelport.testing import ReplayServer

from conftest import EXAMPLES, T, StartReplay, openai


class WeatherParams(BaseModel):
    city: str = Field(description="The name of the city")


WEATHER = {"Paris": "sunny, 22C in Paris", "Lyon": "cloudy, 18C in Lyon"}


def completes(events: List[Event]) -> List[Event]:
    return [e for e in events if e.type is EventType.TOOL_EXECUTION_COMPLETE]


async def test_pydantic_tool_schema_and_call(client: Client, replay: ReplayServer) -> None:
    calls: List[Any] = []

    @define_tool(description="Get the current weather for a city")
    async def get_weather(params: WeatherParams, invocation: ToolInvocation) -> str:
        calls.append((params, invocation))
        return WEATHER[params.city]

    assert get_weather.name == "get_weather"
    assert get_weather.parameters == WeatherParams.model_json_schema()
    session = await client.create_session(
        model="python-model", provider=openai(replay), tools=[get_weather]
    )
    reply = await session.send_and_wait("What's the weather in Paris?", timeout=T)
    assert reply is not None and reply.data.content == "It is sunny and 22C in Paris."
    ((params, invocation),) = calls
    assert params == WeatherParams(city="Paris")
    assert invocation.tool_name == "get_weather" and invocation.session_id == session.session_id
    assert invocation.arguments == {"city": "Paris"}
    tool = replay.requests()[0].body["tools"][0]
    assert tool["function"]["name"] == "get_weather"
    assert tool["function"]["description"] == "Get the current weather for a city"
    assert (
        tool["function"]["parameters"]["properties"]["city"]["description"]
        == "The name of the city"
    )


async def test_validation_error_is_a_failure_result_the_model_sees(
    client: Client, replay: ReplayServer
) -> None:
    @define_tool(description="Get the current weather for a city")
    def get_weather(params: WeatherParams) -> str:
        return WEATHER[params.city]

    session = await client.create_session(
        model="python-model", provider=openai(replay), tools=[get_weather]
    )
    seen: List[Event] = []
    session.on(seen.append)
    reply = await session.send_and_wait("What's the weather in Lyon?", timeout=T)
    assert reply is not None and reply.data.content == "It is cloudy and 18C in Lyon."
    first, second = completes(seen)
    assert not first.data.success and first.data.error is not None
    assert first.data.error.code == "failure"
    assert first.data.result is not None
    assert (
        first.data.result.content
        == "Invalid arguments for tool `get_weather`: city: Field required"
    )
    assert second.data.success


async def test_parallel_tools_run_concurrently(client: Client, start_replay: StartReplay) -> None:
    replay = await start_replay(EXAMPLES / "tools.yaml")
    started = 0
    both_started = asyncio.Event()

    class City(BaseModel):
        city: str

    @define_tool(description="Current weather for a city", params_type=City)
    async def get_weather(params: City) -> Dict[str, Any]:
        nonlocal started
        started += 1
        if started == 2:
            both_started.set()
        # Each call waits for the other one: only concurrent calls can finish.
        await asyncio.wait_for(both_started.wait(), T)
        conditions = {"Paris": ("sunny", 22), "Tokyo": ("rainy", 17)}[params.city]
        # A dict result reaches the model as compact JSON with sorted keys.
        return {"temperature_c": conditions[1], "conditions": conditions[0], "city": params.city}

    session = await client.create_session(model="m", provider=openai(replay), tools=[get_weather])
    seen: List[Event] = []
    session.on(seen.append)
    reply = await session.send_and_wait("What's the weather like in Paris and in Tokyo?", timeout=T)
    assert reply is not None
    assert reply.data.content == "It is sunny and 22 °C in Paris, and rainy and 17 °C in Tokyo."
    kinds = [e.type for e in seen if e.type.value.startswith("tool.")]
    assert kinds == ["tool.execution_start"] * 2 + ["tool.execution_complete"] * 2


async def test_a_raising_handler(client: Client, replay: ReplayServer) -> None:
    @define_tool(description="Where the user is")
    def get_user_location() -> str:
        raise RuntimeError("GPS unavailable")

    session = await client.create_session(
        model="python-model", provider=openai(replay), tools=[get_user_location]
    )
    seen: List[Event] = []
    session.on(seen.append)
    reply = await session.send_and_wait("Where am I?", timeout=T)
    assert reply is not None and reply.data.content == "I could not find your location."
    (complete,) = completes(seen)
    assert not complete.data.success and complete.data.error is not None
    # The real message goes to the host only; the model saw the fixed text (the replay checked it).
    assert "GPS unavailable" in complete.data.error.message
    assert complete.data.result is not None
    assert complete.data.result.content.startswith("Failed to execute `get_user_location`")


async def test_dict_tool_with_explicit_schema(client: Client, replay: ReplayServer) -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
    }
    threads: List[int] = []

    @define_tool(description="Adds two numbers", parameters=schema)
    def add(args: Dict[str, int]) -> int:
        threads.append(threading.get_ident())
        return args["a"] + args["b"]

    session = await client.create_session(
        model="python-model", provider=openai(replay), tools=[add]
    )
    reply = await session.send_and_wait("Add 2 and 3", timeout=T)
    assert reply is not None and reply.data.content == "2 + 3 = 5."
    assert replay.requests()[0].body["tools"][0]["function"]["parameters"] == schema
    # Sync handlers run on the event loop's thread.
    assert threads == [threading.get_ident()]


async def test_tool_result_failure_continues_the_loop(client: Client, replay: ReplayServer) -> None:
    @define_tool(description="Books a table")
    def book() -> ToolResult:
        return ToolResult.failure("fully booked")

    session = await client.create_session(
        model="python-model", provider=openai(replay), tools=[book]
    )
    seen: List[Event] = []
    session.on(seen.append)
    reply = await session.send_and_wait("Book a table", timeout=T)
    assert reply is not None and reply.data.content == "Sorry, the restaurant is fully booked."
    (complete,) = completes(seen)
    assert complete.data.error is not None and complete.data.error.code == "failure"


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_permission_handler_refusal_ends_the_turn(
    client: Client, replay: ReplayServer, asynchronous: bool
) -> None:
    ran: List[str] = []
    asked: List[PermissionRequest] = []
    invocations: List[Dict[str, Any]] = []

    @define_tool(description="Deletes everything")
    def delete_all() -> str:
        ran.append("delete_all")
        return "deleted"

    def decide(request: PermissionRequest) -> Dict[str, str]:
        asked.append(request)
        return {"kind": "reject", "feedback": "not today"}

    async def decide_async(
        request: PermissionRequest, invocation: Dict[str, Any]
    ) -> Dict[str, str]:
        await asyncio.sleep(0)
        invocations.append(invocation)
        return decide(request)

    session = await client.create_session(
        model="python-model",
        provider=openai(replay),
        tools=[delete_all],
        on_permission_request=decide_async if asynchronous else decide,
    )
    seen: List[Event] = []
    session.on(seen.append)
    reply = await session.send_and_wait("Delete everything", timeout=T)
    assert reply is not None and reply.data.tool_requests is not None
    assert [r.name for r in reply.data.tool_requests] == ["delete_all"]
    assert ran == []
    assert asked[0].tool_name == "delete_all" and asked[0].kind == "custom-tool"
    (complete,) = completes(seen)
    assert complete.data.result is not None
    assert complete.data.result.content == "The user rejected this tool call. Feedback: not today"
    assert len(replay.requests()) == 1
    if asynchronous:
        assert invocations == [{"session_id": session.session_id}]


async def test_tools_must_come_from_define_tool(client: Client, replay: ReplayServer) -> None:
    def plain(args: Dict[str, Any]) -> str:
        return ""

    with pytest.raises(TypeError, match="define_tool"):
        await client.create_session(model="m", provider=openai(replay), tools=[plain])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="pydantic model"):
        define_tool(description="x", handler=plain)
