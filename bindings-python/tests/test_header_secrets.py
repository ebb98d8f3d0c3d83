"""Credentials in headers never come back out of modelport.

A gateway that echoes every request header, values included, in its 401 body
(tests/fixtures/replay/echo-headers.yaml: every model call and every model-list request is refused
that way). For each sensitive header form, given as a provider ``headers`` entry or as a per-send
``request_headers`` entry, streaming and not, on ``send_and_wait`` and on ``list_models``: the secret
appears nowhere (the error's message, attributes, str, repr and traceback; repr/str of the client,
the session and the events from ``get_events()`` and ``on()``). The server is checked to have
received each header with its value, so a build that drops the header cannot pass, and the echo is
checked to have come back scrubbed, so the test is not vacuous.
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Dict, List, Literal, Optional, Tuple, Union

import pytest

from modelport import (
    AuthenticationError,
    Client,
    Event,
    MessageOptions,
    ModelportError,
    ProviderConfig,
)
from modelport.testing import ReplayServer

from conftest import HERE, T, StartReplay

ECHO_HEADERS = HERE.parents[1] / "tests" / "fixtures" / "replay" / "echo-headers.yaml"

# (header name, the secret part of its value, how the value is written). Each form and each place
# (provider / per send) has a value of its own, so a leak names where it came from.
FORMS: List[Tuple[str, str, str]] = [
    ("api-key", "APIKEY-4e1b7d", "{}"),
    ("x-api-key", "XAPIKEY-93c0fa", "{}"),
    ("Authorization", "AUTHZ-5a28e6", "Bearer {}"),
    ("Ocp-Apim-Subscription-Key", "APIM-c7d415", "{}"),
]
PLACES = ("provider", "request_headers")


def secret(form: Tuple[str, str, str], place: str) -> str:
    """The distinctive secret of `form` given in `place`."""
    return f"py-{place}-{form[1]}"


def value(form: Tuple[str, str, str], place: str) -> str:
    """The header value sent for `form` in `place` (``Bearer ...`` for Authorization)."""
    return form[2].format(secret(form, place))


# Every secret of every case: none may show up in any case's output.
ALL_SECRETS = [secret(f, p) for f in FORMS for p in PLACES]


Kind = Literal["openai", "anthropic"]


def provider_for(replay: ReplayServer, kind: Kind, headers: Dict[str, str]) -> ProviderConfig:
    base = replay.openai_url if kind == "openai" else replay.url
    return {"type": kind, "base_url": base, "headers": {**headers, "x-team": "blue"}}


def error_texts(error: BaseException) -> List[str]:
    """Every way an exception shows itself: str, repr, args, attributes, the formatted traceback
    and its cause/context chain."""
    texts = [str(error), repr(error), repr(error.args), repr(vars(error))]
    texts.append("".join(traceback.format_exception(type(error), error, error.__traceback__)))
    seen: Optional[BaseException] = error.__cause__ or error.__context__
    while seen is not None:
        texts += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    if isinstance(error, ModelportError):
        texts += [
            error.message,
            error.kind,
            repr(error.code),
            repr(error.request_id),
            repr(error.error_type),
            repr(error.status),
        ]
    return texts


def event_texts(events: List[Event]) -> List[str]:
    texts = []
    for event in events:
        texts += [repr(event), str(event), repr(event.data), json.dumps(event.to_dict())]
    return texts


def assert_clean(where: str, texts: List[str]) -> None:
    for text in texts:
        for s in ALL_SECRETS:
            assert s not in text, f"{where}: the secret {s} leaked into: {text}"


def assert_echo_scrubbed(error: ModelportError, name: str) -> None:
    """The gateway's echo came back, listing the header with its value replaced (and the plain
    header as it was, so the echo carries values at all)."""
    message = error.message
    assert "(request headers:" in message, message
    assert f"{name.lower()}: [redacted]" in message, message
    assert "x-team: blue" in message, message


@pytest.mark.parametrize("streaming", [False, True], ids=["non-streaming", "streaming"])
@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("form", FORMS, ids=[f[0] for f in FORMS])
@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_header_secrets_never_come_back(
    start_replay: StartReplay,
    caplog: pytest.LogCaptureFixture,
    kind: Kind,
    form: Tuple[str, str, str],
    place: str,
    streaming: bool,
) -> None:
    caplog.set_level(logging.DEBUG)
    replay = await start_replay(ECHO_HEADERS)
    name = form[0]
    sent_value = value(form, place)
    header = {name: sent_value}
    provider = provider_for(replay, kind, header if place == "provider" else {})
    texts: List[str] = []

    client = Client(provider=provider, retry={"max_retries": 0})
    session = await client.create_session(model="echo-model", provider=provider, streaming=streaming)
    seen: List[Event] = []
    session.on(seen.append)

    # A model call.
    before = replay.request_count
    prompt: Union[str, MessageOptions] = (
        "Hello" if place == "provider" else {"prompt": "Hello", "request_headers": header}
    )
    with pytest.raises(AuthenticationError) as raised:
        await session.send_and_wait(prompt, timeout=T)
    error = raised.value
    calls = replay.requests()[before:]
    assert calls, "the model call reached the server"
    for call in calls:
        assert call.method == "POST"
        assert call.header(name) == sent_value, f"the server received {name}: {call.headers}"
    assert error.status == 401
    assert_echo_scrubbed(error, name)
    texts += error_texts(error)

    # The model list (provider headers only: per-send headers belong to one send).
    if place == "provider":
        before = replay.request_count
        with pytest.raises(AuthenticationError) as raised:
            await client.list_models()
        list_error = raised.value
        lists = replay.requests()[before:]
        assert lists, "the model-list request reached the server"
        for call in lists:
            assert call.method == "GET" and "/models" in call.path, call.path
            assert call.header(name) == sent_value, f"the server received {name}: {call.headers}"
        assert_echo_scrubbed(list_error, name)
        texts += error_texts(list_error)

    events = session.get_events()
    assert any(e.type == "session.error" for e in events), [e.type for e in events]
    assert any(e.type == "session.error" for e in seen), [e.type for e in seen]
    texts += event_texts(events) + event_texts(seen)
    texts += [repr(client), str(client), repr(session), str(session)]
    texts += [repr(client._native), repr(session._native)]  # the native objects too
    await session.disconnect()
    stop_errors = await client.stop()
    assert stop_errors == []
    texts += [repr(stop_errors), repr(client), caplog.text]
    texts += [r.getMessage() for r in caplog.records]
    assert_clean(f"{kind} {name} in {place}, streaming={streaming}", texts)
