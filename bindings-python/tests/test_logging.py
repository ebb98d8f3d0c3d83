"""The core's log records on logging.getLogger("modelport"): a retried 500 logs its retry (INFO) and
its HTTP attempts (DEBUG) when the logger is at DEBUG, and nothing at all (no record even reaches
the native sink) at WARNING; levels follow the logger."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import warnings
from typing import List

import pytest

import modelport
from modelport import Client, _native
from modelport._logging import TRACE, _core_level

from conftest import REPLAY, T, StartReplay, openai

RETRY = REPLAY / "errors" / "server_error_then_success.yaml"


async def retried_send(start_replay: StartReplay) -> None:
    """A send whose first model call gets a 500 and whose retry succeeds."""
    replay = await start_replay(RETRY)
    client = Client(retry={"initial_backoff_ms": 10})
    session = await client.create_session(model="python-model", provider=openai(replay))
    reply = await session.send_and_wait("Log a retry", timeout=T)
    assert reply is not None and reply.data.content == "Hello after a retry."
    assert replay.request_count == 2
    await client.stop()
    modelport.flush_logs()


def ours(caplog: pytest.LogCaptureFixture) -> List[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "modelport"]


async def test_a_retry_at_debug_produces_records(
    caplog: pytest.LogCaptureFixture, start_replay: StartReplay
) -> None:
    caplog.set_level(logging.DEBUG, logger="modelport")
    await retried_send(start_replay)
    records = ours(caplog)
    (retry,) = [r for r in records if r.getMessage().startswith("retry retry=1 ")]
    assert retry.levelno == logging.INFO and retry.levelname == "INFO"
    assert retry.target == "modelport::transport::call"  # type: ignore[attr-defined]
    assert "error.type=model_call" in retry.getMessage()
    attempts = [r for r in records if r.getMessage().startswith("http attempt")]
    assert [r.levelno for r in attempts] == [logging.DEBUG, logging.DEBUG]
    assert "http.response.status_code=500" in attempts[0].getMessage()
    assert "http.response.status_code=200" in attempts[1].getMessage()
    # No secret in any record: the key travels in a header, never logged.
    assert not any("sk-test" in r.getMessage() for r in records)


async def test_nothing_is_produced_at_warning(
    caplog: pytest.LogCaptureFixture, start_replay: StartReplay
) -> None:
    caplog.set_level(logging.WARNING, logger="modelport")
    before = _native._log_received()
    await retried_send(start_replay)
    assert ours(caplog) == []
    # Not filtered late: the core never built a record for the sink.
    assert _native._log_received() == before


async def test_set_log_level_takes_effect_at_once(
    caplog: pytest.LogCaptureFixture, start_replay: StartReplay
) -> None:
    caplog.set_level(logging.DEBUG, logger="modelport")  # caplog's handler keeps everything
    logging.getLogger("modelport").setLevel(logging.WARNING)  # restored by caplog
    replay = await start_replay(RETRY)
    client = Client(retry={"initial_backoff_ms": 10})
    session = await client.create_session(model="python-model", provider=openai(replay))
    # After the client and session read the level: only set_log_level changes it now.
    modelport.set_log_level("INFO")
    try:
        assert await session.send_and_wait("Log a retry", timeout=T) is not None
        modelport.flush_logs()
        levels = {r.levelno for r in ours(caplog)}
        assert levels == {logging.INFO}  # the retries, and no DEBUG record
    finally:
        modelport.set_log_level(logging.WARNING)
        await client.stop()


async def test_records_arrive_without_flush_from_the_log_thread(
    start_replay: StartReplay,
) -> None:
    """Without flush_logs(): the background thread emits them, holding the GIL but no other lock."""
    seen: List[logging.LogRecord] = []
    arrived = threading.Event()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)
            if record.getMessage().startswith("retry retry=1 "):
                arrived.set()

    logger = logging.getLogger("modelport")
    handler = Collect()
    logger.addHandler(handler)
    modelport.set_log_level(logging.DEBUG)
    try:
        replay = await start_replay(RETRY)
        client = Client(retry={"initial_backoff_ms": 10})
        session = await client.create_session(model="python-model", provider=openai(replay))
        assert await session.send_and_wait("Log a retry", timeout=T) is not None
        await client.stop()
        # Waiting releases the GIL, which the log thread takes to emit.
        assert arrived.wait(T)
        assert seen and all(r.thread != threading.get_ident() for r in seen)
    finally:
        logger.removeHandler(handler)
        modelport.set_log_level(logging.NOTSET)


def test_levels_follow_the_logger() -> None:
    logger = logging.getLogger("modelport")
    saved = logger.level
    try:
        for level, core in [
            (TRACE, "trace"),
            (logging.DEBUG, "debug"),
            (logging.INFO, "info"),
            (logging.WARNING, "warn"),
            (logging.ERROR, "error"),
            (logging.CRITICAL, "off"),
        ]:
            logger.setLevel(level)
            assert _core_level() == core
        assert logging.getLevelName(TRACE) == "TRACE"
        logger.setLevel(logging.DEBUG)
        logging.disable(logging.INFO)
        assert _core_level() == "warn"
    finally:
        logging.disable(logging.NOTSET)
        logger.setLevel(saved)


def _child_logs(replay_url: str) -> int:
    """In a forked child: a record reaches a handler without flush_logs(), so the child has a log
    thread of its own (the parent's does not exist there)."""
    arrived = threading.Event()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("http attempt"):
                arrived.set()

    logging.getLogger("modelport").addHandler(Collect())

    async def main() -> int:
        client = Client()
        session = await client.create_session(
            model="python-model", provider={"type": "openai", "base_url": replay_url}
        )
        reply = await session.send_and_wait("Log a retry", timeout=T)
        await client.stop()
        return 0 if reply is not None else 3

    code = asyncio.run(main())
    return code if arrived.wait(T) else 4


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
async def test_a_forked_child_logs_through_a_log_thread_of_its_own(
    start_replay: StartReplay,
) -> None:
    replay = await start_replay(RETRY)
    modelport.set_log_level(logging.DEBUG)
    try:
        client = Client(retry={"initial_backoff_ms": 10})
        session = await client.create_session(model="python-model", provider=openai(replay))
        # The parent's log thread is running, and a worker may be logging as the fork happens.
        assert await session.send_and_wait("Log a retry", timeout=T) is not None

        def fork_and_wait() -> int:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    code = _child_logs(replay.openai_url)
                finally:
                    sys.stdout.flush()
                    os._exit(code)
            _, status = os.waitpid(pid, 0)
            return os.waitstatus_to_exitcode(status)

        code = await asyncio.wait_for(
            asyncio.get_running_loop().run_in_executor(None, fork_and_wait), T
        )
        assert code == 0
        await client.stop()
    finally:
        modelport.set_log_level(logging.NOTSET)
