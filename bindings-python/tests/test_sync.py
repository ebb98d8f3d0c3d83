"""modelport.sync: the blocking facade over the asyncio API, on a private event loop thread:
sessions, handlers and tools on that thread, send_and_parse, list_models, events as an iterator,
several caller threads at once, errors, the context managers and stop, a callback that calls the
facade (refused, not deadlocked), and Ctrl-C aborting a blocking send."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from typing import Iterator, List, Optional

import pytest
from pydantic import BaseModel

import modelport
from modelport import Event, EventType, define_tool
from modelport.sync import Client, Session
from modelport.testing import ReplayServer

from conftest import CONVERSATIONS, HERE, T, openai

HELLO = (
    "Hello from the replay provider! This answer is long enough to be streamed in several deltas."
)


def start(*paths: object, **options: object) -> ReplayServer:
    return asyncio.run(ReplayServer.start(paths, **options))  # type: ignore[arg-type]


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    server = start(CONVERSATIONS, fallback='{"city": "Paris", "temperature_c": 22}')
    yield server
    asyncio.run(server.stop())


def test_a_blocking_conversation(replay: ReplayServer) -> None:
    threads: List[str] = []
    with Client() as client:
        session = client.create_session(model="python-model", provider=openai(replay))
        assert isinstance(session, Session)
        session.on("assistant.message", lambda e: threads.append(threading.current_thread().name))
        reply = session.send_and_wait("Say hello", timeout=T)
        assert reply is not None and reply.type is EventType.ASSISTANT_MESSAGE
        assert reply.data.content == HELLO
        # on() handlers ran, on the client's loop thread, before send_and_wait returned.
        assert threads == ["modelport-sync"]
        again = session.send_and_wait("And goodbye?", timeout=T)
        assert again is not None and again.data.content == "Goodbye!"
        kinds = [e.type for e in session.get_messages()]
        assert kinds.count(EventType.USER_MESSAGE) == 2
        loop_thread = client._loop.thread
        assert loop_thread.is_alive()
    assert client.is_stopped
    assert not loop_thread.is_alive()
    assert client.stop() == []
    with pytest.raises(RuntimeError, match="stopped"):
        session.send_and_wait("Say hello", timeout=T)


class Weather(BaseModel):
    city: str
    temperature_c: int


def test_tools_send_and_parse_and_list_models(replay: ReplayServer) -> None:
    ran_on: List[str] = []

    @define_tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        ran_on.append(threading.current_thread().name)
        return f"sunny, 22C in {city}"

    with Client(provider=openai(replay)) as client:
        assert [m.id for m in client.list_models()] == ["python-model", "python-model-2"]
        session = client.create_session(model="python-model", tools=[get_weather])
        reply = session.send_and_wait("What's the weather in Paris?", timeout=T)
        assert reply is not None and reply.data.content == "It is sunny and 22C in Paris."
        assert ran_on == ["modelport-sync"]
        weather = session.send_and_parse("Weather in Paris as JSON", Weather, timeout=T)
        assert weather == Weather(city="Paris", temperature_c=22)
        value = session.send_and_parse(
            "Weather in Paris as JSON",
            schema=Weather.model_json_schema(),
            timeout=T,
        )
        assert value == {"city": "Paris", "temperature_c": 22}


def test_errors_are_the_same_exceptions(replay: ReplayServer) -> None:
    with Client() as client:
        with pytest.raises(modelport.ConfigError, match="model"):
            client.create_session(provider=openai(replay))
        session = client.create_session(model="python-model", provider=openai(replay))
        with pytest.raises(modelport.ConfigError, match="did you mean"):
            session.on("assistant.mesage", lambda e: None)
    with pytest.raises(TypeError, match="cli_path"):
        Client({"cli_path": "x"})  # type: ignore[typeddict-unknown-key]


def test_events_as_an_iterator() -> None:
    replay = start(CONVERSATIONS, delta_chars=8)
    with Client() as client:
        session = client.create_session(
            model="python-model", provider=openai(replay), streaming=True
        )
        events = session.events()
        session.send("Say hello")
        kinds: List[str] = []
        text = ""
        for event in events:
            kinds.append(event.type)
            if event.type is EventType.ASSISTANT_MESSAGE_DELTA:
                text += event.data.delta_content or ""
            if event.type is EventType.SESSION_IDLE:
                break
        assert kinds[0] == "user.message" and kinds.count("assistant.message_delta") > 1
        assert text == HELLO
        session.disconnect()
        # The stream ends with the session.
        assert list(events) == []
    asyncio.run(replay.stop())


def test_several_threads_at_once(replay: ReplayServer) -> None:
    with Client() as client:
        sessions = [
            client.create_session(model="python-model", provider=openai(replay)) for _ in range(4)
        ]
        replies: List[Optional[Event]] = [None] * 4

        def run(i: int) -> None:
            replies[i] = sessions[i].send_and_wait("Say hello", timeout=T)

        workers = [threading.Thread(target=run, args=(i,)) for i in range(4)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(T)
        assert [r.data.content if r else None for r in replies] == [HELLO] * 4


def test_a_callback_calling_the_facade_is_refused_not_deadlocked(replay: ReplayServer) -> None:
    with Client() as client:
        session = client.create_session(model="python-model", provider=openai(replay))
        failures: List[BaseException] = []

        def nested(event: Event) -> None:
            try:
                session.send("again")
            except RuntimeError as e:
                failures.append(e)

        session.on("session.idle", nested)
        assert session.send_and_wait("Say hello", timeout=T) is not None
        (failure,) = failures
        assert "loop thread" in str(failure)


def test_the_async_objects_are_reachable(replay: ReplayServer) -> None:
    with Client() as client:
        assert isinstance(client.async_client, modelport.Client)
        session = client.create_session(model="python-model", provider=openai(replay))
        assert isinstance(session.async_session, modelport.Session)
        assert session.session_id == session.async_session.session_id
        with session:
            assert session.model == "python-model"
        # Leaving the session's `with` disconnected it; the client stays usable.
        other = client.create_session(model="python-model", provider=openai(replay))
        assert other.send_and_wait("Say hello", timeout=T) is not None


def test_an_unstopped_client_ends_its_thread_when_collected(replay: ReplayServer) -> None:
    import gc

    client = Client()
    session = client.create_session(model="python-model", provider=openai(replay))
    assert session.send_and_wait("Say hello", timeout=T) is not None
    thread = client._loop.thread
    del client, session
    gc.collect()
    thread.join(T)
    assert not thread.is_alive()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_aborts_a_blocking_send() -> None:
    child = subprocess.Popen(
        [sys.executable, str(HERE / "scripts" / "sync_ctrl_c.py"), str(CONVERSATIONS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"streaming\n"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=T)
    finally:
        child.kill()
    assert b"aborted: True\n" in out and b"connection closed\n" in out, (out, err)
    assert b"KeyboardInterrupt" in err
    assert child.returncode != 0


def test_the_sync_example_runs_offline() -> None:
    """examples/python/sync_tools.py: the facade with a plain function tool, on the replay provider."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_PROVIDER")}
    done = subprocess.run(
        [sys.executable, str(HERE.parents[1] / "examples" / "python" / "sync_tools.py")],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "-> get_weather({'city': 'Paris'})" in lines
    assert lines[-1] == "It is sunny and 22 °C in Paris, and rainy and 17 °C in Tokyo."


def test_stored_sessions(replay: ReplayServer) -> None:
    with Client(session_store="memory") as client:
        session = client.create_session(
            model="python-model", provider=openai(replay), session_id="sync-1"
        )
        assert session.send_and_wait("Say hello", timeout=T) is not None
        session.destroy()
        assert [m.session_id for m in client.list_sessions()] == ["sync-1"]
        assert client.get_last_session_id() == "sync-1"
        meta = client.get_session_metadata("sync-1")
        assert meta is not None and meta.model == "python-model"
        resumed = client.resume_session("sync-1", provider=openai(replay))
        reply = resumed.send_and_wait("And goodbye?", timeout=T)
        assert reply is not None and reply.data.content == "Goodbye!"
        assert EventType.SESSION_RESUME in [e.type for e in resumed.get_events()]
        resumed.disconnect()
        assert client.delete_session("sync-1") is True
        assert client.get_session_metadata("sync-1") is None
