"""Session hooks through the binding: Python functions (sync and async, snake_case and camelCase
names) called by core with their input dict, their answers applied by core (a denied tool call,
modified arguments, prompt and results, context for the model, retried or skipped model calls, a
blocked stop), a raising or hung hook failing its tool call but not the session, hook events.

What the model receives is checked against tests/fixtures/replay/hooks.yaml: each stored tool or user
message is what core sends for that hook's answer, so a request that departs from it gets the replay's
500 instead of the stored answer."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List, Optional, Tuple

import pytest
from pydantic import BaseModel

from modelport import (
    Client,
    Event,
    EventType,
    ServerError,
    Session,
    SessionConfig,
    SessionHooks,
    define_tool,
)
from modelport.testing import ReplayServer

from conftest import CONVERSATIONS, HOOKS, T, StartReplay, lookup_tool, openai

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


async def hooked(
    client: Client,
    start_replay: StartReplay,
    hooks: SessionHooks,
    runs: List[str],
    config: Optional[SessionConfig] = None,
    **options: Any,
) -> Tuple[Session, ReplayServer, List[Event]]:
    """A session on hooks.yaml with the lookup tool, no retries at the HTTP level, its events;
    `config` and `options` are more session options."""
    replay = await start_replay(HOOKS)
    session = await client.create_session(
        config,
        model="python-model",
        provider=openai(replay, retry={"max_retries": 0}),
        tools=[lookup_tool(runs)],
        hooks=hooks,
        **options,
    )
    events: List[Event] = []
    session.on(events.append)
    return session, replay, events


def of_type(events: List[Event], kind: EventType) -> List[Dict[str, Any]]:
    return [e.data.to_dict() for e in events if e.type is kind]


def tool_messages(replay: ReplayServer, n: int) -> List[str]:
    return [m["content"] for m in replay.requests()[n].body["messages"] if m["role"] == "tool"]


async def test_pre_tool_use_modified_args_and_additional_context(
    client: Client, start_replay: StartReplay
) -> None:
    runs: List[str] = []
    inputs: List[Dict[str, Any]] = []

    def rewrite(data: Dict[str, Any]) -> Dict[str, Any]:
        inputs.append(data)
        return {"modifiedArgs": {"key": "cached-h"}, "additionalContext": "note: the key was rewritten"}

    session, replay, events = await hooked(client, start_replay, {"on_pre_tool_use": rewrite}, runs)
    reply = await session.send_and_wait("Look up h", timeout=T)
    assert reply is not None and reply.data.content == "h is value-of-cached-h."
    assert inputs[0]["toolArgs"] == {"key": "h"}
    assert runs == ["cached-h"]
    assert [s["arguments"] for s in of_type(events, EventType.TOOL_EXECUTION_START)] == [
        {"key": "cached-h"}
    ]
    assert tool_messages(replay, 1) == ["value-of-cached-h\n\nnote: the key was rewritten"]


@pytest.mark.parametrize(
    ("key", "modified", "seen", "success"),
    [
        ("secret", "[redacted]", "[redacted]", True),
        ("private", {"textResultForLlm": "[withheld]", "resultType": "failure"}, "[withheld]", False),
    ],
    ids=["string", "object"],
)
async def test_post_tool_use_modified_result(
    client: Client,
    start_replay: StartReplay,
    key: str,
    modified: Any,
    seen: str,
    success: bool,
) -> None:
    runs: List[str] = []
    results: List[Any] = []

    def redact(data: Dict[str, Any]) -> Dict[str, Any]:
        results.append(data["toolResult"])
        return {"modifiedResult": modified}

    session, _, events = await hooked(client, start_replay, {"on_post_tool_use": redact}, runs)
    reply = await session.send_and_wait(f"Look up {key}", timeout=T)
    # The model got the modified result (the fixture holds it) and answered.
    assert reply is not None and reply.data.content == f"The value is {seen[1:-1]}."
    assert results == [{"textResultForLlm": f"value-of-{key}", "resultType": "success"}]
    (complete,) = of_type(events, EventType.TOOL_EXECUTION_COMPLETE)
    assert complete["success"] is success
    assert complete["result"]["content"] == seen
    if not success:
        assert complete["error"]["code"] == "failure"


async def test_post_tool_use_failure_adds_context(
    client: Client, start_replay: StartReplay
) -> None:
    runs: List[str] = []
    failures: List[Dict[str, Any]] = []
    successes: List[Dict[str, Any]] = []

    def on_failure(data: Dict[str, Any]) -> Dict[str, Any]:
        failures.append(data)
        return {"additionalContext": "try another key"}

    hooks: SessionHooks = {
        "on_post_tool_use": lambda data: successes.append(data),
        "on_post_tool_use_failure": on_failure,
    }
    session, _, _ = await hooked(client, start_replay, hooks, runs)
    reply = await session.send_and_wait("Look up boom", timeout=T)
    assert reply is not None and reply.data.content == "That key is broken."
    assert successes == []
    assert failures[0]["toolName"] == "lookup" and failures[0]["toolArgs"] == {"key": "boom"}
    assert "lookup exploded" in failures[0]["error"]


async def test_session_start_new_and_resume(client: Client, start_replay: StartReplay) -> None:
    inputs: List[Dict[str, Any]] = []

    def start(data: Dict[str, Any]) -> Dict[str, Any]:
        inputs.append(data)
        return {"additionalContext": f"context for {data['source']}"}

    session, replay, _ = await hooked(client, start_replay, {"on_session_start": start}, [])
    assert [(i["source"], i["sessionId"]) for i in inputs] == [("new", session.session_id)]
    assert (await session.send_and_wait("Hello", timeout=T)) is not None
    await session.disconnect()
    resumed = await client.resume_session(
        session.session_id, provider=openai(replay), hooks={"on_session_start": start}
    )
    assert [i["source"] for i in inputs] == ["new", "resume"]
    reply = await resumed.send_and_wait("Still there?", timeout=T)
    assert reply is not None and reply.data.content == "Yes."
    # The context follows the (absent) system prompt in every request of the session.
    systems = [r.body["messages"][0] for r in replay.requests()]
    assert systems == [
        {"role": "system", "content": "context for new"},
        {"role": "system", "content": "context for resume"},
    ]


async def test_session_end_reasons(start_replay: StartReplay) -> None:
    replay = await start_replay(HOOKS)
    reasons: List[str] = []
    hooks: SessionHooks = {"on_session_end": lambda data: reasons.append(data["reason"])}
    client = Client(session_store="memory")
    disconnected = await client.create_session(
        model="python-model", provider=openai(replay), hooks=hooks
    )
    # Kept alive: the client holds its sessions weakly, and stop() ends the live ones.
    running = await client.create_session(model="python-model", provider=openai(replay), hooks=hooks)
    await disconnected.disconnect()
    assert reasons == ["user_exit"]
    assert await client.stop() == []
    assert reasons == ["user_exit", "complete"]
    del running


async def test_error_occurred_retry(client: Client, start_replay: StartReplay) -> None:
    inputs: List[Dict[str, Any]] = []

    def retry(data: Dict[str, Any]) -> Dict[str, Any]:
        inputs.append(data)
        return {"errorHandling": "retry"}

    session, replay, _ = await hooked(client, start_replay, {"on_error_occurred": retry}, [])
    reply = await session.send_and_wait("Flaky once", timeout=T)
    assert reply is not None and reply.data.content == "Recovered."
    assert len(replay.requests()) == 2
    ((context, recoverable, error),) = [
        (i["errorContext"], i["recoverable"], i["error"]) for i in inputs
    ]
    assert (context, recoverable) == ("model_call", True)
    assert "The server had an error while processing your request." in error


async def test_error_occurred_retries_are_capped(client: Client, start_replay: StartReplay) -> None:
    asked: List[str] = []

    def retry(data: Dict[str, Any]) -> Dict[str, Any]:
        asked.append(data["errorContext"])
        return {"errorHandling": "retry"}

    session, replay, _ = await hooked(client, start_replay, {"on_error_occurred": retry}, [])
    with pytest.raises(ServerError):
        await session.send_and_wait("Always broken", timeout=T)
    # Two retries per send at most: three model calls, the hook asked after each.
    assert len(replay.requests()) == 3
    assert asked == ["model_call"] * 3


@pytest.mark.parametrize(
    "config, options",
    [(None, {"max_error_retries": 1}), ({"maxErrorRetries": 1}, {})],
    ids=["keyword", "camelCase-config"],
)
async def test_max_error_retries_sets_the_cap(
    client: Client,
    start_replay: StartReplay,
    config: Optional[SessionConfig],
    options: Dict[str, Any],
) -> None:
    asked: List[str] = []

    def retry(data: Dict[str, Any]) -> Dict[str, Any]:
        asked.append(data["errorContext"])
        return {"errorHandling": "retry"}

    session, replay, _ = await hooked(
        client, start_replay, {"on_error_occurred": retry}, [], config, **options
    )
    with pytest.raises(ServerError):
        await session.send_and_wait("Always broken", timeout=T)
    # One retry instead of the default two: two model calls.
    assert len(replay.requests()) == 2
    assert asked == ["model_call"] * 2


async def test_error_occurred_skip(client: Client, start_replay: StartReplay) -> None:
    session, replay, events = await hooked(
        client, start_replay, {"on_error_occurred": lambda _: {"errorHandling": "skip"}}, []
    )
    # The failed model call is skipped: the send ends without an answer and without an error.
    assert await session.send_and_wait("Always broken", timeout=T) is None
    assert len(replay.requests()) == 1
    assert of_type(events, EventType.SESSION_ERROR) == []
    assert len(of_type(events, EventType.SESSION_IDLE)) == 1


async def test_error_occurred_abort(client: Client, start_replay: StartReplay) -> None:
    session, replay, _ = await hooked(
        client, start_replay, {"on_error_occurred": lambda _: {"errorHandling": "abort"}}, []
    )
    with pytest.raises(ServerError) as caught:
        await session.send_and_wait("Always broken", timeout=T)
    assert caught.value.status == 500
    assert len(replay.requests()) == 1


async def test_agent_stop_block(client: Client, start_replay: StartReplay) -> None:
    answers: List[str] = []

    def check(data: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        answers.append(data["finalAnswer"])
        if data["finalAnswer"] == "First draft.":
            return {"decision": "block", "reason": "Cite a source."}
        return None

    session, replay, _ = await hooked(client, start_replay, {"on_agent_stop": check}, [])
    reply = await session.send_and_wait("Write a draft", timeout=T)
    assert reply is not None and reply.data.content == "Final, with a source."
    assert answers == ["First draft.", "Final, with a source."]
    # The reason is the next user message on the wire.
    assert replay.requests()[1].body["messages"][-1] == {"role": "user", "content": "Cite a source."}


async def test_a_hook_past_its_timeout_fails_its_call(
    client: Client, start_replay: StartReplay
) -> None:
    runs: List[str] = []
    release = asyncio.Event()

    async def hang(data: Dict[str, Any]) -> None:
        await release.wait()

    session, _, events = await hooked(
        client, start_replay, {"on_pre_tool_use": hang}, runs, hook_timeout_ms=200
    )
    try:
        reply = await session.send_and_wait("Look up slow", timeout=T)
    finally:
        release.set()
    assert reply is not None and reply.data.content == "The check timed out."
    assert runs == []
    (end,) = of_type(events, EventType.HOOK_END)
    assert end["success"] is False
    assert end["error"]["message"] == "the hook did not answer within 200 ms"


async def test_max_agent_stop_blocks_zero_never_asks(
    client: Client, start_replay: StartReplay
) -> None:
    answers: List[str] = []

    def block(data: Dict[str, Any]) -> Dict[str, Any]:
        answers.append(data["finalAnswer"])
        return {"decision": "block", "reason": "Cite a source."}

    session, replay, _ = await hooked(
        client, start_replay, {"on_agent_stop": block}, [], max_agent_stop_blocks=0
    )
    reply = await session.send_and_wait("Write a draft", timeout=T)
    assert reply is not None and reply.data.content == "First draft."
    assert answers == [] and len(replay.requests()) == 1
