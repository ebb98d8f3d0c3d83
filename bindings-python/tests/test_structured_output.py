"""Structured output through the binding: send_and_parse with a pydantic model or a plain JSON schema
(the schema reaches the request; core validates the answer and retries), and InvalidOutputError with
the raw answer when it does not fit."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from modelport import Client, InvalidOutputError, ModelportError

from conftest import CONVERSATIONS, HOOKS, T, StartReplay, openai


class Weather(BaseModel):
    city: str
    temperature_c: int


async def test_a_pydantic_model(client: Client, start_replay: StartReplay) -> None:
    replay = await start_replay(CONVERSATIONS, fallback='{"city": "Paris", "temperature_c": 22}')
    session = await client.create_session(model="python-model", provider=openai(replay))
    weather = await session.send_and_parse("Weather in Paris as JSON", Weather, timeout=T)
    assert weather == Weather(city="Paris", temperature_c=22)
    sent = replay.requests()[0].body["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "Weather"
    assert sent["json_schema"]["strict"] is True
    assert set(sent["json_schema"]["schema"]["properties"]) == {"city", "temperature_c"}


async def test_an_invalid_answer_then_a_valid_one(
    client: Client, start_replay: StartReplay
) -> None:
    # hooks.yaml answers '{"city": "Paris"}' first; the corrective retry gets the fallback.
    replay = await start_replay(HOOKS, fallback='{"city": "Paris", "temperature_c": 22}')
    session = await client.create_session(model="python-model", provider=openai(replay))
    weather = await session.send_and_parse("Weather in Paris as JSON", Weather, timeout=T)
    assert weather == Weather(city="Paris", temperature_c=22)
    first, retry = replay.requests()
    *_, answered, told = retry.body["messages"]
    assert (answered["role"], answered["content"]) == ("assistant", '{"city": "Paris"}')
    # The retry tells the model what was wrong, with the same schema.
    assert told["role"] == "user"
    assert told["content"].startswith("Your previous answer does not match the required JSON schema")
    assert "temperature_c" in told["content"]
    assert retry.body["response_format"] == first.body["response_format"]


async def test_a_plain_schema(client: Client, start_replay: StartReplay) -> None:
    replay = await start_replay(CONVERSATIONS, fallback='{"ok": true}')
    session = await client.create_session(model="python-model", provider=openai(replay))
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    value = await session.send_and_parse({"prompt": "Anything"}, schema=schema, timeout=T)
    assert value == {"ok": True}


async def test_an_invalid_answer(client: Client, start_replay: StartReplay) -> None:
    replay = await start_replay(CONVERSATIONS, fallback="not JSON at all")
    session = await client.create_session(model="python-model", provider=openai(replay))
    with pytest.raises(InvalidOutputError) as caught:
        await session.send_and_parse("Weather in Paris as JSON", Weather, timeout=T)
    error = caught.value
    assert isinstance(error, ModelportError) and error.kind == "invalid_output"
    assert error.raw_output == "not JSON at all"
    assert error.validation_errors
    # One corrective retry: the model was told what was wrong.
    assert len(replay.requests()) == 2
    assert "not JSON at all" in json.dumps(replay.requests()[1].body)
