"""Sessions end to end over loopback: the quickstart shape, the Copilot SDK drop-in spellings, typed
events and their wire JSON, multi-turn history, set_model, resume, per-message headers, secrets."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import List

import pytest

import modelport
from modelport import (
    Client,
    ConfigError,
    CopilotClient,
    Event,
    EventType,
    PermissionHandler,
    Session,
)
from modelport.testing import ReplayServer

from conftest import EXAMPLES, REPLAY, T, StartReplay, openai

HELLO = (
    "Hello from the replay provider! This answer is long enough to be streamed in several deltas."
)


async def test_quickstart_shape(replay: ReplayServer) -> None:
    seen: List[str] = []
    async with Client() as client:
        session = await client.create_session(model="python-model", provider=openai(replay))
        session.on("assistant.message", lambda e: seen.append(e.data.content or ""))
        reply = await session.send_and_wait("Say hello", timeout=T)
        assert reply is not None
        assert reply.type is EventType.ASSISTANT_MESSAGE
        assert reply.type == "assistant.message"
        assert reply.data.content == HELLO
        # on() handlers have run (on the event loop) before send_and_wait returns.
        assert seen == [HELLO]
    assert client.is_stopped


async def test_copilot_sdk_spellings(start_replay: StartReplay) -> None:
    replay = await start_replay(EXAMPLES / "quickstart.yaml")
    client = CopilotClient()
    await client.start()
    session = await client.create_session(
        {
            "model": "YOUR-DEPLOYMENT-NAME",
            "provider": {
                "type": "openai",
                "base_url": f"{replay.url}/openai/v1/",
                "wire_api": "responses",
                "api_key": "not-needed",
            },
            "on_permission_request": PermissionHandler.approve_all,
        }
    )
    done = asyncio.Event()
    contents: List[str] = []

    def on_event(event: Event) -> None:
        if event.type.value == "assistant.message":
            contents.append(event.data.content or "")
        elif event.type == EventType.SESSION_IDLE:
            done.set()

    session.on(on_event)
    await session.send({"prompt": "What is 2+2?"})
    await asyncio.wait_for(done.wait(), T)
    assert contents == ["2 + 2 = 4."]
    assert [m.type for m in await session.get_messages()][:2] == ["session.start", "user.message"]
    await session.destroy()
    assert await client.stop() == []
    assert replay.requests()[0].path == "/openai/v1/responses"


async def test_events_are_typed_and_to_dict_is_the_wire_json(
    client: Client, replay: ReplayServer
) -> None:
    session = await client.create_session(
        model="python-model", provider=openai(replay), streaming=True
    )
    seen: List[Event] = []
    session.on(seen.append)
    await session.send_and_wait("Say hello", timeout=T)
    kinds = [e.type for e in seen]
    # session.start came before on() subscribed.
    assert kinds[0] is EventType.USER_MESSAGE
    assert kinds[-1] is EventType.SESSION_IDLE
    deltas = [e for e in seen if e.type is EventType.ASSISTANT_MESSAGE_DELTA]
    assert deltas and all(e.ephemeral for e in deltas)
    assert "".join(e.data.delta_content or "" for e in deltas) == HELLO
    message = next(e for e in seen if e.type is EventType.ASSISTANT_MESSAGE)
    assert {d.data.message_id for d in deltas} == {message.data.message_id}
    wire = message.to_dict()
    assert set(wire) == {"id", "timestamp", "parentId", "type", "data"}
    assert wire["type"] == "assistant.message"
    assert wire["id"] == message.id and wire["parentId"] == message.parent_id
    assert wire["data"] == {
        "messageId": message.data.message_id,
        "content": HELLO,
        "model": "python-model",
    }
    assert deltas[0].to_dict()["ephemeral"] is True
    usage = next(e for e in seen if e.type is EventType.ASSISTANT_USAGE)
    assert usage.data.input_tokens and usage.data.output_tokens
    assert usage.data.time_to_first_token_ms is not None
    assert usage.data.content is None  # a field of another event type
    # Persisted events: no ephemeral ones, chained by parent_id.
    persisted = session.get_events()
    assert persisted and not any(e.ephemeral for e in persisted)
    assert all(b.parent_id is not None for b in persisted[1:])
    assert repr(message).startswith("Event(type='assistant.message'")


async def test_non_streaming_sends_no_deltas(client: Client, replay: ReplayServer) -> None:
    session = await client.create_session(model="python-model", provider=openai(replay))
    kinds: List[str] = []
    session.on(lambda e: kinds.append(e.type))
    await session.send_and_wait("Say hello", timeout=T)
    assert "assistant.message_delta" not in kinds
    assert "stream" not in replay.requests()[0].body


async def test_multi_turn_set_model_and_headers(client: Client, replay: ReplayServer) -> None:
    session = await client.create_session(
        model="python-model",
        provider=openai(replay, headers={"x-team": "py"}),
        system_message={"content": "Be brief."},
    )
    await session.send_and_wait("Say hello", timeout=T)
    await session.set_model("python-model-2")
    assert session.model == "python-model-2"
    reply = await session.send_and_wait(
        {"prompt": "And goodbye?", "request_headers": {"x-trace": "abc"}}, timeout=T
    )
    assert reply is not None and reply.data.content == "Goodbye!"
    first, second = replay.requests()
    assert first.body["model"] == "python-model" and second.body["model"] == "python-model-2"
    assert first.body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert [m["role"] for m in second.body["messages"]] == ["system", "user", "assistant", "user"]
    assert first.header("x-team") == "py" and second.header("X-Trace") == "abc"
    assert first.header("x-trace") is None


async def test_resume_session_continues_the_conversation(
    client: Client, replay: ReplayServer
) -> None:
    session = await client.create_session(
        model="python-model", provider=openai(replay), session_id="py-resume"
    )
    assert session.session_id == "py-resume"
    await session.send_and_wait("Say hello", timeout=T)
    await session.disconnect()
    resumed = await client.resume_session("py-resume", provider=openai(replay))
    reply = await resumed.send_and_wait("And goodbye?", timeout=T)
    assert reply is not None and reply.data.content == "Goodbye!"
    assert resumed.get_events()[0].type is EventType.SESSION_START


async def test_config_errors_name_the_field(client: Client, replay: ReplayServer) -> None:
    try:
        await client.create_session(provider=openai(replay))
    except ConfigError as e:
        assert "Model not specified" in str(e)
        assert e.kind == "config" and e.error_type == "config"
    else:
        raise AssertionError("no error")
    try:
        await client.create_session(
            model="m", provider={"type": "openai", "base_url": replay.openai_url, "bogus": 1}
        )  # type: ignore[typeddict-unknown-key]
    except ConfigError as e:
        assert "bogus" in str(e)
    else:
        raise AssertionError("no error")
    try:
        await client.create_session(
            model="m", provider={"type": "openai", "base_url": "https://x.openai.azure.com"}
        )
    except ConfigError as e:
        assert 'use type "azure"' in str(e) or "azure" in str(e)
    else:
        raise AssertionError("no error")


async def test_secrets_stay_out_of_reprs_and_errors(start_replay: StartReplay) -> None:
    replay = await start_replay(REPLAY / "errors" / "mapping.yaml")
    secret = "sk-secret-python-123"
    client = Client(provider={"type": "openai", "base_url": replay.openai_url, "api_key": secret})
    session = await client.create_session(model="python-model")
    token = modelport.BearerToken("tok-very-secret", expires_at=1.0)
    try:
        await session.send_and_wait("auth", timeout=T)
    except modelport.AuthenticationError as e:
        error = e
    else:
        raise AssertionError("no error")
    for text in (repr(client), str(client), repr(session), repr(token), str(error), repr(error)):
        assert secret not in text and "tok-very-secret" not in text, text
    assert "[redacted]" in str(error)
    assert all(secret not in str(e.to_dict()) for e in session.get_events())
    await client.stop()


async def test_a_handler_referring_to_its_session_is_collected(
    client: Client, replay: ReplayServer
) -> None:
    def watch(s: Session) -> None:
        # A cycle through Rust: session -> handler -> session. Python's collector sees the handlers.
        s.on(lambda e: print(s.session_id))

    session = await client.create_session(model="python-model", provider=openai(replay))
    watch(session)
    ref = weakref.ref(session)
    del session
    # Any awaited call takes the GIL on a runtime thread, which releases the references those
    # threads dropped without it (pyo3 defers them), such as create_session's finished future.
    # The worker that drops that future may still be doing so when the next call takes the GIL
    # (more likely with a tracing subscriber installed), so a few rounds are allowed; a real
    # leak never clears.
    for _ in range(50):
        await client.start()
        gc.collect()
        if ref() is None:
            break
        await asyncio.sleep(0.01)
    assert ref() is None


async def test_every_config_field_reaches_the_request(client: Client, replay: ReplayServer) -> None:
    def tool(name: str) -> modelport.Tool:
        return modelport.define_tool(name, description=name, handler=lambda: name)

    session = await client.create_session(
        model="python-model",
        provider={
            "type": "openai",
            "base_url": replay.openai_url,
            "bearer_token": "tok-static",
            "api_key": "sk-loses-to-the-bearer-token",
            "wire_model": "wire-name",
            "max_output_tokens": 123,
            "headers": {"x-extra": "1"},
            "retry": {"max_retries": 1, "initial_backoff_ms": 10},
            "timeouts": {"connect_ms": 5000, "first_byte_ms": 20000},
        },
        tools=[tool("a"), tool("b"), tool("c")],
        available_tools=["a", "b"],
        excluded_tools=["b"],
        reasoning_effort="high",
        tool_choice="required",
        parallel_tool_calls=False,
        system_message={"mode": "replace", "content": "Only facts."},
    )
    await session.send_and_wait("Say hello", timeout=T)
    (request,) = replay.requests()
    body = request.body
    assert request.header("authorization") == "Bearer tok-static"
    assert request.header("x-extra") == "1"
    assert body["model"] == "wire-name"
    assert body["max_completion_tokens"] == 123
    assert body["reasoning_effort"] == "high"
    assert [t["function"]["name"] for t in body["tools"]] == ["a"]
    assert body["tool_choice"] == "required"
    assert body["parallel_tool_calls"] is False
    assert body["messages"][0] == {"role": "system", "content": "Only facts."}


async def test_attachments_and_their_event(client: Client, replay: ReplayServer) -> None:
    session = await client.create_session(model="python-model", provider=openai(replay))
    await session.send_and_wait(
        {
            "prompt": "Say hello",
            "attachments": [{"type": "blob", "data": "aGVsbG8=", "mime_type": "image/png"}],
        },
        timeout=T,
    )
    (user,) = [e for e in session.get_events() if e.type is EventType.USER_MESSAGE]
    assert user.data.attachments is not None
    (image,) = user.data.attachments
    assert (image.type, image.data, image.mime_type, image.display_name) == (
        "blob",
        "aGVsbG8=",
        "image/png",
        None,
    )
    parts = replay.requests()[0].body["messages"][-1]["content"]
    assert {"type": "image_url", "image_url": {"url": "data:image/png;base64,aGVsbG8="}} in parts


def test_provider_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELPORT_PROVIDER", raising=False)
    assert modelport.provider_from_env() is None
    monkeypatch.setenv("MODELPORT_PROVIDER", "openai")
    monkeypatch.setenv("MODELPORT_MODEL", "gpt-4o")
    monkeypatch.setenv("MODELPORT_API_KEY", "sk-from-env")
    monkeypatch.delenv("MODELPORT_BASE_URL", raising=False)
    found = modelport.provider_from_env()
    assert found is not None
    provider, model = found
    assert model == "gpt-4o"
    assert provider == {
        "type": "openai",
        "base_url": "https://api.openai.com/v1",
        "api_key": "sk-from-env",
        "wire_api": "completions",
    }
    assert "sk-from-env" not in repr(provider)


def test_unknown_client_options_are_refused() -> None:
    with pytest.raises(TypeError, match="cli_path"):
        Client({"cli_path": "/usr/bin/copilot"})  # type: ignore[typeddict-unknown-key]


async def test_async_and_raising_handlers(client: Client, replay: ReplayServer) -> None:
    session = await client.create_session(model="python-model", provider=openai(replay))
    idle = asyncio.Event()
    seen: List[str] = []

    async def on_event(event: Event) -> None:
        await asyncio.sleep(0)
        seen.append(event.type)
        if event.type is EventType.SESSION_IDLE:
            idle.set()

    def broken(event: Event) -> None:
        raise RuntimeError("a bug in a handler")

    session.on(broken)
    session.on(on_event)
    await session.send_and_wait("Say hello", timeout=T)
    await asyncio.wait_for(idle.wait(), T)
    assert "assistant.message" in seen
    # The raising handler stayed registered and did not stop the others or the session.
    reply = await session.send_and_wait("And goodbye?", timeout=T)
    assert reply is not None and reply.data.content == "Goodbye!"


def test_on_after_the_client_stopped_and_the_loop_ended_returns() -> None:
    """Registering a handler on a session whose client was stopped, after its event loop has
    ended, returns at once: the session's events are over, and nothing may wait on the feed."""

    async def run() -> Session:
        server = await ReplayServer.start([REPLAY])
        try:
            async with Client() as client:
                session = await client.create_session(model="python-model", provider=openai(server))
                reply = await session.send_and_wait("Say hello", timeout=T)
                assert reply is not None and reply.data.content == HELLO
            return session
        finally:
            await server.stop()

    session = asyncio.run(run())
    seen: List[Event] = []
    unsubscribe = session.on(seen.append)
    unsubscribe()
    assert seen == []


async def test_on_refuses_an_unknown_event_type_and_lists_the_valid_ones(
    client: Client, replay: ReplayServer
) -> None:
    session = await client.create_session(model="python-model", provider=openai(replay))
    with pytest.raises(ConfigError) as info:
        session.on("assistant.mesage", lambda e: None)
    message = str(info.value)
    assert "did you mean assistant.message" in message
    assert "session.idle" in message and "tool.execution_complete" in message
    with pytest.raises(ConfigError, match="not an event type"):
        session.on("", lambda e: None)
    # Every EventType member, "*" and a Copilot SDK type modelport never emits are accepted.
    for kind in [*EventType, "*", "subagent.started"]:
        session.on(kind, lambda e: None)()
    # The refused registration left nothing behind; "*" receives every event.
    seen: List[str] = []
    session.on("*", lambda e: seen.append(e.type))
    await session.send_and_wait("Say hello", timeout=T)
    assert seen[0] == "user.message" and seen[-1] == "session.idle"
