"""Tools from plain type-hinted functions: the JSON schema from the signature and the docstring,
core's check of each call's arguments (a wrong type and a value outside a Literal reach the model
as core's invalid-arguments text, and the function never sees them), conversions to the annotated
types, the ToolInvocation parameter, and definition-time errors."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Dict, List, Literal, Optional, Sequence, Union

import pytest
from pydantic import BaseModel

from modelport import Client, Event, EventType, ToolInvocation, define_tool
from modelport.testing import ReplayServer

from conftest import REPLAY, T, StartReplay, openai


@define_tool
def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Current weather for a city.

    Args:
        city: The city's name,
            e.g. "Nice".
        unit: Celsius or Fahrenheit.
    """
    CALLS.append((city, unit))
    return f"72F and sunny in {city}" if unit == "f" else f"22C and sunny in {city}"


CALLS: List[Any] = []


def test_schema_and_description_come_from_the_signature_and_docstring() -> None:
    assert get_weather.name == "get_weather"
    assert get_weather.description == "Current weather for a city."
    assert get_weather.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": 'The city\'s name, e.g. "Nice".'},
            "unit": {
                "type": "string",
                "enum": ["c", "f"],
                "description": "Celsius or Fahrenheit.",
                "default": "c",
            },
        },
        "required": ["city"],
        "additionalProperties": False,
    }


async def test_wrong_arguments_get_core_invalid_arguments_text(
    client: Client, start_replay: StartReplay
) -> None:
    CALLS.clear()
    replay = await start_replay(REPLAY / "function_tools.yaml")
    session = await client.create_session(
        model="python-model", provider=openai(replay), tools=[get_weather]
    )
    seen: List[Event] = []
    session.on(EventType.TOOL_EXECUTION_COMPLETE, seen.append)
    reply = await session.send_and_wait("What's the weather in Nice?", timeout=T)
    # The replay answers only when each tool message is exactly what it recorded: the two refusals
    # are core's text, so the conversation reached its end.
    assert reply is not None and reply.data.content == "It is 72F and sunny in Nice."
    assert CALLS == [("Nice", "f")]
    results = [(e.data.success, e.data.result.content if e.data.result else None) for e in seen]
    assert results == [
        (False, 'Invalid arguments for tool `get_weather`: at /city: 42 is not of type "string"'),
        (
            False,
            'Invalid arguments for tool `get_weather`: at /unit: "kelvin" is not one of "c" or "f"',
        ),
        (True, "72F and sunny in Nice"),
    ]
    sent = replay.requests()[0].body["tools"][0]["function"]
    assert sent["parameters"] == get_weather.parameters
    assert sent["description"] == "Current weather for a city."


class Unit(enum.Enum):
    C = "c"
    F = "f"


class Place(BaseModel):
    city: str
    country: Optional[str] = None


def test_types_map_to_json_schema() -> None:
    @define_tool(description="Everything")
    def everything(
        count: int,
        ratio: float,
        flag: bool,
        tags: List[str],
        scores: Dict[str, float],
        unit: Unit,
        maybe: Optional[int] = None,
        either: Union[int, str] = 0,
        note: Annotated[str, "A short note"] = "",
        place: Optional[Place] = None,
        anything: Any = None,
        invocation: Optional[ToolInvocation] = None,
    ) -> str:
        return ""

    props = everything.parameters["properties"]
    assert props["count"] == {"type": "integer"}
    assert props["ratio"] == {"type": "number"}
    assert props["flag"] == {"type": "boolean"}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}}
    assert props["scores"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert props["unit"] == {"type": "string", "enum": ["c", "f"]}
    assert props["maybe"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
    assert props["either"] == {"anyOf": [{"type": "integer"}, {"type": "string"}], "default": 0}
    assert props["note"] == {"type": "string", "description": "A short note", "default": ""}
    assert props["place"]["anyOf"][0] == {"$ref": "#/$defs/Place"}
    assert everything.parameters["$defs"]["Place"]["properties"]["city"]["type"] == "string"
    assert props["anything"] == {"default": None}
    assert "invocation" not in props  # Optional[ToolInvocation] receives the call's details
    assert everything.parameters["required"] == [
        "count",
        "ratio",
        "flag",
        "tags",
        "scores",
        "unit",
    ]


async def test_arguments_are_converted_and_the_invocation_passed(
    client: Client, replay: ReplayServer
) -> None:
    """Called directly through the native entry point, as core calls it after its check."""
    got: List[Any] = []

    @define_tool
    async def plan(
        unit: Unit,
        place: Place,
        days: int,
        stops: Sequence[Unit] = (),
        *,
        invocation: ToolInvocation,
    ) -> Dict[str, Any]:
        """Plans a trip (sphinx style).

        :param unit: The unit.
        :param days: How many days.
        """
        got.append((unit, place, days, list(stops), invocation.tool_call_id))
        return {"ok": True}

    assert plan.description == "Plans a trip (sphinx style)."
    assert plan.parameters["properties"]["days"]["description"] == "How many days."
    assert "invocation" not in plan.parameters["properties"]
    result = await plan._invoke(
        '{"unit":"f","place":{"city":"Nice"},"days":3.0,"stops":["c"]}', "s", "call_1", "plan"
    )
    assert result == '{"ok": true}'
    assert got == [(Unit.F, Place(city="Nice"), 3, [Unit.C], "call_1")]
    assert type(got[0][2]) is int


def test_definition_errors_say_what_to_do() -> None:
    with pytest.raises(TypeError, match="annotate parameter 'city'"):

        @define_tool
        def untyped(city) -> str:  # type: ignore[no-untyped-def]
            return ""

    with pytest.raises(TypeError, match="cannot describe"):

        @define_tool
        def odd(when: complex) -> str:
            return ""

    with pytest.raises(TypeError, match=r"\*\*options"):

        @define_tool
        def loose(**options: str) -> str:
            return ""

    with pytest.raises(TypeError, match="JSON object keys are strings"):

        @define_tool
        def keyed(name: str, table: Dict[int, str]) -> str:
            return ""
