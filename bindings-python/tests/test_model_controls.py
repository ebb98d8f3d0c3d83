"""Model controls and the answer's shape through the binding: the session options and the send
options reach the provider's request as the wire format spells them (core maps them; the binding
only passes them on)."""

from __future__ import annotations

import json

from modelport import Client

from conftest import CONVERSATIONS, T, StartReplay, openai

ANSWER = '{"ok": true}'


async def test_session_model_controls_reach_the_request(
    client: Client, start_replay: StartReplay
) -> None:
    replay = await start_replay(CONVERSATIONS, fallback=ANSWER)
    session = await client.create_session(
        {"model": "python-model", "provider": openai(replay), "top_p": 0.5},
        temperature=0.25,
        seed=7,
        stop=["END"],
        max_output_tokens=99,
        extra_body={"custom_field": {"nested": 1}},
    )
    await session.send_and_wait("Anything", timeout=T)
    (request,) = replay.requests()
    body = request.body
    assert body["temperature"] == 0.25
    assert body["top_p"] == 0.5
    assert body["seed"] == 7
    assert body["stop"] == ["END"]
    assert body["max_completion_tokens"] == 99
    assert body["custom_field"] == {"nested": 1}


async def test_send_options_override_the_session(client: Client, start_replay: StartReplay) -> None:
    replay = await start_replay(CONVERSATIONS, fallback=ANSWER)
    session = await client.create_session(
        model="python-model", provider=openai(replay), temperature=0.25
    )
    await session.send_and_wait(
        {"prompt": "Anything", "temperature": 0.75, "extra_body": {"user": "u1"}}, timeout=T
    )
    body = replay.requests()[0].body
    assert body["temperature"] == 0.75
    assert body["user"] == "u1"


async def test_response_format_json_object_reaches_the_request(
    client: Client, start_replay: StartReplay
) -> None:
    replay = await start_replay(CONVERSATIONS, fallback=ANSWER)
    session = await client.create_session(
        model="python-model", provider=openai(replay), response_format={"type": "json_object"}
    )
    reply = await session.send_and_wait("Anything as JSON", timeout=T)
    assert reply is not None and json.loads(reply.data.content) == {"ok": True}
    assert replay.requests()[0].body["response_format"] == {"type": "json_object"}

