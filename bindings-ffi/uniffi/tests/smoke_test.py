"""Smoke test of the uniffi-generated Python module against the replay provider.

Creates sessions, runs a tool call through a Python-implemented ToolHandler (an async foreign trait),
streams an answer to an EventListener (a foreign trait, subscribed through a TaskHandle), aborts a
send while its tool runs, checks errors, model controls in the recorded request, the permission
handler, hooks and bearer token providers as foreign traits, infinite sessions (compaction in a small context window,
compact(), the error when off), and durable sessions (list, metadata, delete, the session
errors, the lease between two clients, and a resume after the process that wrote the session exited:
this script run again as a child; so is the check that creating a client reads MODELPORT_LOG). Run by
bindings-ffi/scripts/test.sh:

    PYTHONPATH=DIR_WITH_GENERATED_MODULE_AND_LIBRARY python3 smoke_test.py REPO_ROOT
    smoke_test.py REPO_ROOT --child STORE_URL REPLAY_URL SESSION_ID   (creates, sends, exits at once)
    smoke_test.py REPO_ROOT --log-child bad|stderr   (with MODELPORT_LOG set: creates a client)
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import pathlib
import sys
import tempfile
import threading
from typing import Callable

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


def config(replay: mp.ReplayServer, streaming: bool = False, **extra: str) -> str:
    return config_for(replay.url(), streaming, **extra)


def config_for(url: str, streaming: bool = False, **extra: str) -> str:
    # Shaped like the seed's Azure AI Foundry example; the key must never come back out.
    return json.dumps(
        {
            "model": "YOUR-DEPLOYMENT-NAME",
            "streaming": streaming,
            "provider": {
                "type": "openai",
                "baseUrl": f"{url}/openai/v1/",
                "wireApi": "responses",
                "apiKey": "sk-test-SECRET-42",
            },
            **extra,
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
    try:
        session.on(recorder, "assistant.mesage_delta")
        check(False, "a misspelt event type raises Config")
    except mp.ModelportError.Config as e:
        check("did you mean assistant.message_delta" in str(e), str(e))
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


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(300):
        if condition():
            return
        await asyncio.sleep(0.01)
    check(False, what)


async def infinite(client: mp.Client) -> None:
    """A small context window: sends compact instead of failing; compact() on demand; with
    infiniteSessions off an overlong send raises ContextLength."""
    window = 3000
    answer = "Noted. " + "More words here. " * 6
    replay = await mp.ReplayServer.start(
        f"{ROOT}/examples/replay/quickstart.yaml",
        mp.ReplayOptions(fallback=answer, context_window=window),
    )
    provider = {"type": "openai", "baseUrl": replay.openai_url(), "maxPromptTokens": window * 9 // 10}
    session = await client.create_session(json.dumps({"model": "u-model", "provider": provider}))
    recorder = Recorder()
    handle = session.on(recorder)
    for i in range(30):
        prompt = f"Note {i}: " + "please keep this detail in mind. " * 12
        reply = await session.send_and_wait(mp.SendOptions(prompt=prompt))
        check(reply is not None and reply.content == answer, "an answer")
    # A background compaction may follow the last send.
    started, completed = "session.compaction_start", "session.compaction_complete"
    await until(
        lambda: len(recorder.of(started)) == len(recorder.of(completed)), "compactions complete"
    )
    completes = recorder.of(completed)
    check(len(completes) >= 1, "compacted")
    check(all(json.loads(e.data_json)["success"] for e in completes), "compactions succeeded")
    check(not recorder.of("session.error"), "no error")
    usage = recorder.of("session.usage_info")
    check(
        usage and json.loads(usage[0].data_json)["tokenLimit"] == window * 9 // 10,
        "session.usage_info",
    )
    await session.compact()
    await until(lambda: len(recorder.of(completed)) == len(completes) + 1, "compact() compacted")
    handle.cancel()
    await session.disconnect()
    await replay.stop()

    replay = await mp.ReplayServer.start(
        f"{ROOT}/examples/replay/quickstart.yaml", mp.ReplayOptions(fallback="ok", context_window=200)
    )
    off = {"model": "u-model", "provider": {"baseUrl": replay.openai_url()}}
    session = await client.create_session(json.dumps({**off, "infiniteSessions": {"enabled": False}}))
    await expect_error(
        session.send_and_wait(mp.SendOptions(prompt="word " * 400)),
        mp.ModelportError.ContextLength,
        "an overlong send without infinite sessions",
    )
    await session.disconnect()
    await replay.stop()


async def model_controls(client: mp.Client) -> None:
    """Session options reach the provider's request as Chat Completions spells them, and a
    json_object responseFormat too (core maps them; the binding passes the JSON on)."""
    for extra, sent in (
        (
            {"temperature": 0.25, "seed": 7, "extraBody": {"custom_field": {"nested": 1}}},
            {"temperature": 0.25, "seed": 7, "custom_field": {"nested": 1}},
        ),
        ({"responseFormat": {"type": "json_object"}}, {"response_format": {"type": "json_object"}}),
    ):
        replay = await mp.ReplayServer.start(
            f"{ROOT}/examples/replay/quickstart.yaml", mp.ReplayOptions(fallback='{"ok": true}')
        )
        config = {"model": "u-model", "provider": {"baseUrl": replay.openai_url()}, **extra}
        session = await client.create_session(json.dumps(config))
        await session.send_and_wait(mp.SendOptions(prompt="Anything"))
        body = json.loads(replay.requests_json())[0]["body"]
        for key, value in sent.items():
            check(body.get(key) == value, f"{key} in the request: {body.get(key)!r}")
        await session.disconnect()
        await replay.stop()

    # A message's controls override the session's.
    replay = await mp.ReplayServer.start(
        f"{ROOT}/examples/replay/quickstart.yaml", mp.ReplayOptions(fallback="ok")
    )
    config = {"model": "u-model", "provider": {"baseUrl": replay.openai_url()}, "temperature": 0.25}
    session = await client.create_session(json.dumps(config))
    await session.send_and_wait(mp.SendOptions(prompt="Anything", temperature=0.75, max_turns=2))
    body = json.loads(replay.requests_json())[0]["body"]
    check(body.get("temperature") == 0.75, f"the message's temperature: {body.get('temperature')!r}")
    await session.disconnect()
    await replay.stop()


class Lookup(mp.ToolHandler):
    """The `lookup` tool of bindings-ffi/tests/fixtures/callbacks.yaml: answers "value-of-<key>"."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def call(self, arguments_json: str, invocation: mp.ToolInvocation) -> mp.ToolReply:
        key = json.loads(arguments_json)["key"]
        self.keys.append(key)
        return mp.ToolReply(text=f"value-of-{key}")


class Decide(mp.PermissionHandler):
    """Approves s1 and s2 for the session, denies anything else with feedback."""

    def __init__(self) -> None:
        self.requests: list[dict] = []

    async def decide(self, request_json: str) -> str:
        request = json.loads(request_json)
        self.requests.append(request)
        if request["arguments"]["key"] in ("s1", "s2"):
            return json.dumps({"kind": "approve-for-session"})
        return json.dumps({"kind": "denied-interactively-by-user", "feedback": "not today"})


class Hooks(mp.HookHandler):
    """onPreToolUse denies d and fails f; every other hook answers nothing."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def on_hook(self, hook_name: str, input_json: str) -> str | None:
        data = json.loads(input_json)
        self.calls.append(hook_name)
        key = data.get("toolArgs", {}).get("key")
        if hook_name == "onPreToolUse" and key == "d":
            return json.dumps(
                {"permissionDecision": "deny", "permissionDecisionReason": "lookups are off today"}
            )
        if hook_name == "onPreToolUse" and key == "f":
            raise mp.CallbackError.Failed(message="policy service unreachable")
        return None


class Token(mp.BearerTokenProvider):
    """A bearer token provider (None: it raises)."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.calls = 0

    async def get_token(self) -> mp.BearerToken:
        self.calls += 1
        if self.token is None:
            raise mp.CallbackError.Failed(message="vault sealed")
        return mp.BearerToken(token=self.token)


def sent(replay: mp.ReplayServer, n: int, role: str) -> list[str]:
    """The contents of the `role` messages of request n (Chat Completions), as the model got them."""
    messages = json.loads(replay.requests_json())[n]["body"]["messages"]
    return [m["content"] for m in messages if m["role"] == role]


async def callbacks(client: mp.Client) -> None:
    """The permission handler, hooks and bearer token providers as foreign traits, against the
    conversations of bindings-ffi/tests/fixtures/callbacks.yaml."""
    replay = await mp.ReplayServer.start(f"{ROOT}/bindings-ffi/tests/fixtures/callbacks.yaml")
    keyed = {"type": "openai", "baseUrl": replay.openai_url(), "apiKey": "sk-test-SECRET-42"}
    config = json.dumps({"model": "callbacks-model", "provider": keyed})

    handles: list[mp.TaskHandle] = []  # a subscription lasts as long as its handle

    async def session_with(cbs: mp.SessionCallbacks) -> tuple[mp.Session, Lookup, Recorder]:
        lookup = Lookup()
        tool = mp.Tool("lookup", "Looks a key up", json.dumps({"type": "object"}), lookup)
        session = await client.create_session(config, [tool], cbs)
        recorder = Recorder()
        handles.append(session.on(recorder))
        return session, lookup, recorder

    async def ask(session: mp.Session, prompt: str) -> str | None:
        answer = await session.send_and_wait(mp.SendOptions(prompt=prompt))
        return answer.content if answer else None

    # approve-for-session: two calls of the tool in one send, one question.
    decide = Decide()
    session, lookup, _ = await session_with(mp.SessionCallbacks(on_permission_request=decide))
    check(await ask(session, "Look up s1, then s2.") == "s1 and s2 are known.", "approved")
    check(len(decide.requests) == 1 and lookup.keys == ["s1", "s2"], f"asked {decide.requests}")
    check(decide.requests[0]["toolName"] == "lookup", "the permission request")
    await session.disconnect()

    # Denied with feedback: not run, the turn ends, the model gets the refusal with the next message.
    first = len(json.loads(replay.requests_json()))
    session, lookup, _ = await session_with(mp.SessionCallbacks(on_permission_request=Decide()))
    await ask(session, "Look up x.")
    check(lookup.keys == [] and len(json.loads(replay.requests_json())) == first + 1, "refused")
    check(await ask(session, "Why not?") == "You declined the lookup of x.", "the next answer")
    check(
        sent(replay, first + 1, "tool") == ["The user rejected this tool call. Feedback: not today"],
        "the refusal reached the model",
    )
    await session.disconnect()

    # onPreToolUse: a denial with its reason, a raising hook failing its call; only it runs.
    hooks = Hooks()
    first = len(json.loads(replay.requests_json()))
    cbs = mp.SessionCallbacks(hook_handler=hooks, hooks=["onPreToolUse"])
    session, lookup, recorder = await session_with(cbs)
    check(await ask(session, "Look up d.") == "No lookup today.", "denied by the hook")
    check(
        sent(replay, first + 1, "tool")
        == ["The tool call `lookup` was denied by policy. Reason: lookups are off today"],
        "the reason reached the model",
    )
    check(lookup.keys == [] and hooks.calls == ["onPreToolUse"], f"hooks: {hooks.calls}")
    starts = recorder.of("hook.start")
    check(len(starts) == 1 and json.loads(starts[0].data_json)["hookType"] == "preToolUse", "hook.start")
    check(len(recorder.of("hook.end")) == 1, "hook.end")
    await session.disconnect()
    first = len(json.loads(replay.requests_json()))
    session, lookup, recorder = await session_with(cbs)
    check(await ask(session, "Look up f.") == "The check failed.", "a failing hook")
    check(
        sent(replay, first + 1, "tool") == ["The tool `lookup` could not run: a check before it failed."],
        "the failed check reached the model",
    )
    ends = [json.loads(e.data_json) for e in recorder.of("hook.end")]
    check(
        not ends[0]["success"] and "policy service unreachable" in ends[0]["error"]["message"],
        f"hook.end: {ends}",
    )
    check(await ask(session, "Look up g.") == "g is value-of-g.", "the session goes on")
    await session.disconnect()
    try:
        mp.SessionCallbacks(hook_handler=Hooks(), hooks=["onNothing"])
        check(False, "an unknown hook raises Config")
    except mp.ModelportError.Config as e:
        check("onNothing" in str(e), str(e))

    # Bearer token providers: a session's, then the client's default provider's.
    keyless = {"type": "openai", "baseUrl": replay.openai_url()}
    token = Token("tok-uniffi-4e1b")
    first = len(json.loads(replay.requests_json()))
    session = await client.create_session(
        json.dumps({"model": "callbacks-model", "provider": keyless}),
        callbacks=mp.SessionCallbacks(bearer_token_provider=token),
    )
    check(await ask(session, "Who am I?") == "You are signed in.", "signed in")
    headers = json.loads(replay.requests_json())[first]["headers"]
    check(headers.get("authorization") == "Bearer tok-uniffi-4e1b", f"headers: {headers}")
    check(token.calls == 1, f"token calls: {token.calls}")
    await session.disconnect()
    session = await client.create_session(
        json.dumps({"model": "callbacks-model", "provider": keyless}),
        callbacks=mp.SessionCallbacks(bearer_token_provider=Token(None)),
    )
    await expect_error(
        session.send_and_wait(mp.SendOptions(prompt="Who am I?")),
        mp.ModelportError.Auth,
        "a raising token provider",
    )
    await session.disconnect()
    other = mp.Client(
        json.dumps({"sessionStore": "memory", "provider": keyless}), Token("tok-client-uniffi")
    )
    first = len(json.loads(replay.requests_json()))
    session = await other.create_session(json.dumps({"model": "callbacks-model"}))
    check(await ask(session, "Who am I?") == "You are signed in.", "signed in with the client's")
    headers = json.loads(replay.requests_json())[first]["headers"]
    check(headers.get("authorization") == "Bearer tok-client-uniffi", f"headers: {headers}")
    check(await other.stop() == [], "stop")
    for handle in handles:
        handle.cancel()
    await replay.stop()


async def expect_error(call: object, error: type, what: str) -> None:
    try:
        await call  # type: ignore[misc]
        check(False, f"{what} raises {error.__name__}")
    except error:
        check(True, what)


async def durable(store_url: str, tmp: str | None) -> None:
    """On `store_url`: a SQLite file in `tmp`, or PostgreSQL (tmp None), whose database other suites
    share: ids are unique to this run and only its own sessions are checked."""
    store = json.dumps({"sessionStore": store_url})
    first, second = f"u-first-{os.getpid()}", f"u-child-{os.getpid()}"
    replay = await mp.ReplayServer.start(f"{ROOT}/bindings-ffi/tests/fixtures/two-turns.yaml")
    client = mp.Client(store)
    session = await client.create_session(config(replay, sessionId=first))
    await session.send_and_wait(mp.SendOptions(prompt="What is 2+2?"))
    await session.disconnect()
    listed = [m for m in await client.list_sessions() if m.session_id == first or tmp]
    check([m.session_id for m in listed] == [first], f"listed: {listed}")
    meta = await client.get_session_metadata(first)
    check(meta == listed[0] and meta.summary == "What is 2+2?", f"metadata: {meta}")
    check(meta.model == "YOUR-DEPLOYMENT-NAME" and meta.start_time <= meta.modified_time, str(meta))
    check(await client.get_session_metadata("no-such-session") is None, "no metadata")
    check(not tmp or await client.get_last_session_id() == first, "last session id")
    await expect_error(
        client.create_session(config(replay, sessionId=first)),
        mp.ModelportError.SessionExists,
        "create with a stored id",
    )
    await expect_error(
        client.resume_session("no-such-session", config(replay)),
        mp.ModelportError.SessionNotFound,
        "resume of an unknown id",
    )

    # Held by this client: another client on the same store is refused.
    session = await client.resume_session(first, config(replay))
    other = mp.Client(store)
    await expect_error(
        other.resume_session(first, config(replay)), mp.ModelportError.SessionBusy, "busy"
    )
    await other.stop()
    kinds = [e.event_type for e in session.get_messages()]
    check(kinds[0] == "session.start" and kinds[-1] == "session.resume", f"resumed: {kinds}")
    # The second answer matches only a request that carries the first turn.
    answer = await session.send_and_wait(mp.SendOptions(prompt="And 3+3?"))
    check(answer is not None and answer.content == "3 + 3 = 6.", "the conversation continues")
    check(await client.delete_session(first) is True, "deleted")
    check(await client.delete_session(first) is False, "deleted once")

    # Another process writes a session and exits at once; this one resumes it.
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, ROOT, "--child", store, replay.url(), second
    )
    check(await child.wait() == 0, "the child completed its send")
    session = await client.resume_session(second, config(replay))
    kinds = [e.event_type for e in session.get_messages()]
    check(kinds[:2] == ["session.start", "user.message"] and kinds[-1] == "session.resume", str(kinds))
    answer = await session.send_and_wait(mp.SendOptions(prompt="And 3+3?"))
    check(answer is not None and answer.content == "3 + 3 = 6.", "the child's conversation continues")
    check(await client.delete_session(second) is True, "the child's session deleted")
    check(await client.stop() == [], "stop")
    for f in pathlib.Path(tmp or "/nonexistent").glob("*"):
        check(b"sk-test-SECRET-42" not in f.read_bytes(), f"no API key in {f.name}")
    await replay.stop()


async def child(store: str, url: str, session_id: str) -> None:
    client = mp.Client(store)
    session = await client.create_session(config_for(url, sessionId=session_id))
    answer = await session.send_and_wait(mp.SendOptions(prompt="What is 2+2?"))
    os._exit(0 if answer is not None and answer.content == "2 + 2 = 4." else 3)


def log_child(kind: str) -> None:
    """Run with MODELPORT_LOG set: creating a client reads it, as in every binding."""
    try:
        mp.Client()
        mp.set_log_handler("debug", LogRecorder())
    except mp.ModelportError.Config as e:
        # "loud" is no level; "debug" sent the logs to stderr, so a handler comes too late.
        wanted = "MODELPORT_LOG: " if kind == "bad" else "already go to stderr"
        os._exit(0 if wanted in str(e) else 4)
    os._exit(3)


async def log_env() -> None:
    for value, kind in (("loud", "bad"), ("debug", "stderr")):
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            ROOT,
            "--log-child",
            kind,
            env={**os.environ, "MODELPORT_LOG": value},
            stderr=asyncio.subprocess.DEVNULL,
        )
        check(await child.wait() == 0, f"Client() with MODELPORT_LOG={value}")


class LogRecorder(mp.LogHandler):
    """Keeps modelport's log records (called on the thread that logs)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, str]] = []
        self.lock = threading.Lock()

    def on_log(self, level: str, target: str, message: str) -> None:
        with self.lock:
            self.records.append((level, target, message))


async def main() -> None:
    # Foreign async callbacks (the tool handlers) are called from Rust threads: tell uniffi which
    # event loop runs them.
    mp.uniffi_set_event_loop(asyncio.get_running_loop())
    try:
        mp.set_log_handler("verbose", None)
        check(False, "an unknown log level raises Config")
    except mp.ModelportError.Config as e:
        check("verbose" in str(e), str(e))
    logs = LogRecorder()
    mp.set_log_handler("trace", logs)
    client = mp.Client()
    await tool_call(client)
    check(any(t.startswith("modelport") for _, t, _ in logs.records), f"log records: {len(logs.records)}")
    check({lvl for lvl, _, _ in logs.records} <= {"error", "warn", "info", "debug", "trace"}, "levels")
    check(all("sk-test-SECRET-42" not in m for _, _, m in logs.records), "no API key in a log record")
    mp.set_log_handler("off", None)
    seen = len(logs.records)
    await streaming(client)
    check(len(logs.records) == seen, "no record after set_log_handler(off, None)")
    await abort(client)
    await errors(client)
    await infinite(client)
    await model_controls(client)
    await callbacks(client)
    check(await client.stop() == [], "stop")
    await log_env()
    with tempfile.TemporaryDirectory() as tmp:
        await durable(f"sqlite://{tmp}/sessions.db", tmp)
    if os.environ.get("MODELPORT_TEST_PG_URL"):
        await durable(os.environ["MODELPORT_TEST_PG_URL"], None)
    elif os.environ.get("CI") == "true":
        check(False, "MODELPORT_TEST_PG_URL is set: CI=true requires the PostgreSQL tests")
    else:
        print("uniffi python smoke test: skipping PostgreSQL: MODELPORT_TEST_PG_URL is not set")
    print(f"uniffi python smoke test: {checks} checks passed")


if __name__ == "__main__":
    if sys.argv[2:3] == ["--child"]:
        asyncio.run(child(*sys.argv[3:6]))
    if sys.argv[2:3] == ["--log-child"]:
        log_child(sys.argv[3])
    asyncio.run(main())
