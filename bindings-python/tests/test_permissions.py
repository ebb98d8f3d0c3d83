"""Every permission decision kind through the binding (core decides what each means; the Python
handler only answers), against tests/fixtures/replay/hooks.yaml: each stored tool message is the text
core sends the model for that decision, so a wrong one gets the replay's 500 instead of the answer.
Each question emits permission.requested and permission.completed."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest

from modelport import (
    Client,
    Event,
    EventType,
    PermissionHandler,
    PermissionHandlerFn,
    PermissionRequest,
    Session,
)
from modelport.testing import ReplayServer

from conftest import HOOKS, T, StartReplay, lookup_tool, openai


async def start(
    client: Client, start_replay: StartReplay, handler: PermissionHandlerFn, runs: List[str]
) -> Tuple[Session, ReplayServer, List[Event]]:
    replay = await start_replay(HOOKS)
    session = await client.create_session(
        model="python-model",
        provider=openai(replay),
        tools=[lookup_tool(runs)],
        on_permission_request=handler,
    )
    events: List[Event] = []
    session.on(events.append)
    return session, replay, events


def decisions(events: List[Event]) -> List[Tuple[Dict[str, Any], str]]:
    """(permissionRequest, result kind) per question, each completion paired with its request."""
    requested: Dict[str, Dict[str, Any]] = {}
    out = []
    for e in events:
        data = e.data.to_dict()
        if e.type is EventType.PERMISSION_REQUESTED:
            requested[data["requestId"]] = data["permissionRequest"]
        elif e.type is EventType.PERMISSION_COMPLETED:
            out.append((requested.pop(data["requestId"]), data["result"]["kind"]))
    assert requested == {}, "a permission.requested without its permission.completed"
    return out


def completion_codes(events: List[Event]) -> List[Any]:
    return [
        e.data.error.code if e.data.error else None
        for e in events
        if e.type is EventType.TOOL_EXECUTION_COMPLETE
    ]


async def test_approve_once(client: Client, start_replay: StartReplay) -> None:
    runs: List[str] = []
    asked: List[PermissionRequest] = []

    def approve(request: PermissionRequest) -> Dict[str, str]:
        asked.append(request)
        return {"kind": "approve-once"}

    session, replay, events = await start(client, start_replay, approve, runs)
    reply = await session.send_and_wait("Look up a", timeout=T)
    assert reply is not None and reply.data.content == "a is value-of-a."
    assert runs == ["a"]
    assert [(r.tool_name, r.arguments) for r in asked] == [("lookup", {"key": "a"})]
    ((request, kind),) = decisions(events)
    assert kind == "approve-once"
    assert request["toolName"] == "lookup" and request["arguments"] == {"key": "a"}
    assert request["sessionId"] == session.session_id
    assert len(replay.requests()) == 2


async def test_approve_for_session_asks_once(client: Client, start_replay: StartReplay) -> None:
    runs: List[str] = []
    asked: List[str] = []

    async def approve(request: PermissionRequest) -> Dict[str, str]:
        asked.append(request.arguments["key"])
        return {"kind": "approve-for-session"}

    session, _, events = await start(client, start_replay, approve, runs)
    # Two calls of the tool in one send, one more in the next: asked only for the first.
    first = await session.send_and_wait("Look up b, then c", timeout=T)
    assert first is not None and first.data.content == "b and c looked up."
    second = await session.send_and_wait("Now d", timeout=T)
    assert second is not None and second.data.content == "d is value-of-d."
    assert runs == ["b", "c", "d"]
    assert asked == ["b"]
    assert [kind for _, kind in decisions(events)] == ["approve-for-session"]


async def test_reject_with_feedback_ends_the_turn(client: Client, start_replay: StartReplay) -> None:
    runs: List[str] = []

    def refuse(request: PermissionRequest) -> Dict[str, str]:
        return {"kind": "denied-interactively-by-user", "feedback": "not now"}

    session, replay, events = await start(client, start_replay, refuse, runs)
    reply = await session.send_and_wait("Look up e", timeout=T)
    # The turn ended on the refusal: the last assistant.message is the one asking for the tool.
    assert reply is not None and reply.data.tool_requests is not None
    assert [r.name for r in reply.data.tool_requests] == ["lookup"]
    assert runs == []
    assert len(replay.requests()) == 1
    assert completion_codes(events) == ["denied"]
    assert [kind for _, kind in decisions(events)] == ["reject"]
    # The model reads the refusal and the feedback with the next send.
    again = await session.send_and_wait("Why not?", timeout=T)
    assert again is not None and again.data.content == "You said not now."
    tool_messages = [m for m in replay.requests()[1].body["messages"] if m["role"] == "tool"]
    assert tool_messages[0]["content"] == "The user rejected this tool call. Feedback: not now"


@pytest.mark.parametrize(
    ("kind", "prompt", "answer"),
    [
        ("user-not-available", "Look up f", "Nobody could approve looking f up."),
        ("no-result", "Look up g", "Looking g up was not decided."),
    ],
)
async def test_denied_without_a_decision_the_loop_goes_on(
    client: Client, start_replay: StartReplay, kind: str, prompt: str, answer: str
) -> None:
    runs: List[str] = []
    session, replay, events = await start(client, start_replay, lambda _: {"kind": kind}, runs)
    reply = await session.send_and_wait(prompt, timeout=T)
    # The loop went on: the model was called again with the denial (the fixture holds its text).
    assert reply is not None and reply.data.content == answer
    assert runs == []
    assert len(replay.requests()) == 2
    assert completion_codes(events) == ["denied"]
    assert [k for _, k in decisions(events)] == [kind]


async def test_approve_all(client: Client, start_replay: StartReplay) -> None:
    runs: List[str] = []
    session, _, events = await start(client, start_replay, PermissionHandler.approve_all, runs)
    reply = await session.send_and_wait("Look up a", timeout=T)
    assert reply is not None and reply.data.content == "a is value-of-a."
    assert runs == ["a"]
    # Core's approve_all: asked (and answered in Rust) like any handler.
    assert [kind for _, kind in decisions(events)] == ["approve-once"]
