"""Smoke test of the uniffi-generated Python module against the replay provider.

Creates sessions, runs a tool call through a Python-implemented ToolHandler (an async foreign trait),
streams an answer to an EventListener (a foreign trait, subscribed through a TaskHandle), aborts a
send while its tool runs, and checks errors. Run by bindings-ffi/scripts/test.sh:

    PYTHONPATH=DIR_WITH_GENERATED_MODULE_AND_LIBRARY python3 smoke_test.py REPO_ROOT
"""

from __future__ import annotations

import asyncio
import atexit
import json
import sys
import threading

import modelport_uniffi as mp

# Stops modelport's threads before interpreter finalization, when a Rust thread calling back into
# Python would abort the process (see `shutdown` in bindings-ffi/uniffi/src/lib.rs).
atexit.register(mp.shutdown)
ROOT = sys.argv[1]
SCHEMA = json.dumps(
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
)
WEATHER = {
    "Paris": {"city": "Paris", "conditions": "sunny", "temperature_c": 22},
    "Tokyo": {"city": "Tokyo", "conditions": "rainy", "temperature_c": 17},
}
checks = 0


def check(condition: bool, what: str) -> None:
    global checks
    checks += 1
    if not condition:
        raise AssertionError(what)


def config(replay: mp.ReplayServer, streaming: bool = False) -> str:
    # Shaped like the seed's Azure AI Foundry example; the key must never come back out.
    return json.dumps(
        {
            "model": "YOUR-DEPLOYMENT-NAME",
            "streaming": streaming,
            "provider": {
                "type": "openai",
                "baseUrl": f"{replay.url()}/openai/v1/",
                "wireApi": "responses",
                "apiKey": "sk-test-SECRET-42",
            },
        }
    )


class Recorder(mp.EventListener):
    """Collects events; called on a modelport thread."""

    def __init__(self) -> None:
        self.events: list[mp.SessionEvent] = []
        self.threads: set[int] = set()

    def on_event(self, event: mp.SessionEvent) -> None:
        self.threads.add(threading.get_ident())
        self.events.append(event)

    def of(self, event_type: str) -> list[mp.SessionEvent]:
        return [e for e in self.events if e.event_type == event_type]


class Weather(mp.ToolHandler):
    def __init__(self) -> None:
        self.calls: list[str] = []

    async def call(self, arguments_json: str, invocation: mp.ToolInvocation) -> mp.ToolReply:
        city = json.loads(arguments_json)["city"]
        self.calls.append(invocation.tool_name)
        await asyncio.sleep(0)  # a real coroutine, run on the event loop
        return mp.ToolReply(text=json.dumps(WEATHER[city], separators=(",", ":")))


class Blocker(mp.ToolHandler):
    """Waits until cancelled: the send is aborted while it runs."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()

    async def call(self, arguments_json: str, invocation: mp.ToolInvocation) -> mp.ToolReply:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return mp.ToolReply(text="unreachable")


async def tool_call(client: mp.Client) -> None:
    replay = await mp.ReplayServer.start(f"{ROOT}/examples/replay/tools.yaml")
    weather = Weather()
    tool = mp.Tool("get_weather", "Current weather for a city", SCHEMA, weather)
    session = await client.create_session(config(replay), [tool])
    recorder = Recorder()
    handle = session.on(recorder)
    answer = await session.send_and_wait(
        mp.SendOptions(prompt="What's the weather like in Paris and in Tokyo?")
    )
    check(answer is not None and answer.event_type == "assistant.message", "an answer")
    check(
        answer.content == "It is sunny and 22 °C in Paris, and rainy and 17 °C in Tokyo.",
        f"the final answer: {answer.content!r}",
    )
    check(weather.calls == ["get_weather", "get_weather"], f"two tool calls: {weather.calls}")
    completes = recorder.of("tool.execution_complete")
    check(len(completes) == 2, "two tool.execution_complete events")
    check(all(json.loads(e.data_json)["success"] for e in completes), "both succeeded")
    check(recorder.events[-1].event_type == "session.idle", "session.idle last")
    check(threading.get_ident() not in recorder.threads, "listeners run on modelport threads")
    check(
        all("SECRET" not in e.data_json for e in session.get_events()), "no secret in events"
    )
    handle.cancel()
    check(handle.is_cancelled(), "cancelled handle")
    await session.disconnect()
    await replay.stop()


async def streaming(client: mp.Client) -> None:
    replay = await mp.ReplayServer.start(
        f"{ROOT}/examples/replay/streaming.yaml", mp.ReplayOptions(delta_chars=8)
    )
    session = await client.create_session(config(replay, streaming=True))
    recorder = Recorder()
    handle = session.on(recorder, "assistant.message_delta")
    answer = await session.send_and_wait(
        mp.SendOptions(prompt="Write a haiku about streaming tokens."), 30_000
    )
    deltas = [json.loads(e.data_json)["deltaContent"] for e in recorder.events]
    check(len(deltas) >= 8, f"streamed in deltas: {len(deltas)}")
    check(answer is not None and "".join(deltas) == answer.content, "deltas add up to the answer")
    check(answer.content.startswith("Tokens drift like rain"), "the haiku")
    del handle  # dropping the TaskHandle ends the subscription
    await session.disconnect()
    await replay.stop()


async def abort(client: mp.Client) -> None:
    replay = await mp.ReplayServer.start(f"{ROOT}/examples/replay/tools.yaml")
    blocker = Blocker(asyncio.get_running_loop())
    tool = mp.Tool("get_weather", "Current weather for a city", SCHEMA, blocker)
    session = await client.create_session(config(replay), [tool])
    recorder = Recorder()
    handle = session.on(recorder)
    send = asyncio.create_task(
        session.send_and_wait(
            mp.SendOptions(prompt="What's the weather like in Paris and in Tokyo?")
        )
    )
    await blocker.started.wait()
    await session.abort()
    try:
        await send
        check(False, "send_and_wait raises Cancelled after abort")
    except mp.ModelportError.Cancelled:
        check(True, "Cancelled")
    await asyncio.wait_for(blocker.cancelled.wait(), 10)
    check(len(recorder.of("abort")) == 1, "an abort event")
    interrupted = [
        json.loads(e.data_json).get("error", {}).get("code")
        for e in recorder.of("tool.execution_complete")
    ]
    check(interrupted == ["interrupted", "interrupted"], f"interrupted tools: {interrupted}")
    idle = recorder.of("session.idle")
    check(len(idle) == 1 and json.loads(idle[0].data_json).get("aborted") is True, "aborted idle")
    handle.cancel()
    await session.disconnect()
    await replay.stop()


async def errors(client: mp.Client) -> None:
    try:
        await client.create_session('{"model": ')
        check(False, "bad JSON raises Config")
    except mp.ModelportError.Config as e:
        check("invalid session config" in str(e), str(e))
    try:
        await client.create_session(json.dumps({"provider": {"baseUrl": "http://127.0.0.1:9/v1"}}))
        check(False, "a missing model raises Config")
    except mp.ModelportError.Config as e:
        check("Model not specified" in str(e), str(e))
    try:
        mp.Client('{"provider": {"bseUrl": "x", "apiKey": "sk-test-SECRET-42"}}')
        check(False, "an unknown provider field raises Config")
    except mp.ModelportError.Config as e:
        check("bseUrl" in str(e) and "SECRET" not in str(e), str(e))


async def main() -> None:
    # Foreign async callbacks (the tool handlers) are called from Rust threads: tell uniffi which
    # event loop runs them.
    mp.uniffi_set_event_loop(asyncio.get_running_loop())
    client = mp.Client()
    await tool_call(client)
    await streaming(client)
    await abort(client)
    await errors(client)
    check(await client.stop() == [], "stop")
    print(f"uniffi python smoke test: {checks} checks passed")


if __name__ == "__main__":
    asyncio.run(main())
