"""Smoke test for tests/mcp/server.py, driven by the same SDK's client API.

Runs every scenario below and exits non-zero on the first mismatch:

  stdio x {handshake (initialize), modern (2026-07-28 server/discover)}
  http  x {handshake, modern}, plus http handshake with --notify-on standalone
  start-up flags: --fail-start, --only, --pidfile
  process tools: spawn_grandchild (same process group), crash (call fails)
  broken servers: malformed.py and --hang-start never give a session

In each MCP scenario it lists the tools, calls echo/add/get_weather/fail/
image/resource/huge(100)/slow/env/cwd and the oddly named tool, then calls
add_tool and checks that a tools/list_changed notification (handshake era) or
a ToolsListChanged event on a subscriptions/listen stream (modern era)
arrives, and that the new tool is listed and callable.

Usage: <venv>/bin/python tests/mcp/smoke.py   (the venv from scripts/mcp-venv.sh)
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
from mcp.client import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ToolsListChanged, listen

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
PYTHON = sys.executable
TIMEOUT = 30.0

EXPECTED_TOOLS = {
    "echo",
    "add",
    "get_weather",
    "slow",
    "huge",
    "fail",
    "image",
    "resource",
    "crash",
    "spawn_grandchild",
    "add_tool",
    "env",
    "cwd",
    "weird.name/with spaces",
}
EXPECTED_VERSION = {"handshake": "2025-11-25", "modern": "2026-07-28"}


class Mismatch(Exception):
    pass


def check(cond: bool, what: str) -> None:
    if not cond:
        raise Mismatch(what)


def texts(result: types.CallToolResult) -> list[str]:
    return [c.text for c in result.content if isinstance(c, types.TextContent)]


def only_text(result: types.CallToolResult) -> str:
    t = texts(result)
    check(len(result.content) == 1 and len(t) == 1, f"expected one text content, got {result.content!r}")
    return t[0]


# --- connections --------------------------------------------------------------


@asynccontextmanager
async def stdio_session(
    extra_args: list[str], on_message: Callable[[Any], Any], env: dict[str, str]
) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=PYTHON, args=[SERVER, *extra_args], env=env, cwd=HERE)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=TIMEOUT, message_handler=on_message) as session:
            yield session


@asynccontextmanager
async def http_server(extra_args: list[str], env: dict[str, str]) -> AsyncIterator[str]:
    """Start server.py --http, wait for its LISTENING line, yield the URL."""
    proc = subprocess.Popen(
        [PYTHON, SERVER, "--http", *extra_args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        env={**os.environ, **env},
        cwd=HERE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        with anyio.fail_after(TIMEOUT):
            line = await anyio.to_thread.run_sync(proc.stdout.readline)
        prefix = "LISTENING "
        check(line.startswith(prefix + "http://127.0.0.1:") and line.endswith("/mcp\n"), f"bad ready line {line!r}")
        yield line[len(prefix) :].strip()
        # Nothing else may ever appear on stdout.
        proc.terminate()
        rest = await anyio.to_thread.run_sync(proc.stdout.read)
        check(rest == "", f"server wrote more to stdout after the ready line: {rest[:200]!r}")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@asynccontextmanager
async def http_session(url: str, on_message: Callable[[Any], Any]) -> AsyncIterator[ClientSession]:
    async with streamable_http_client(url) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=TIMEOUT, message_handler=on_message) as session:
            yield session


# --- the checks ---------------------------------------------------------------


async def exercise(session: ClientSession, era: str, changed: anyio.Event, tag: str) -> None:
    if era == "handshake":
        init = await session.initialize()
        check(init.protocol_version == EXPECTED_VERSION[era], f"negotiated {init.protocol_version}")
        caps = init.capabilities
        check(caps.tools is not None and caps.tools.list_changed is True, f"tools capability {caps.tools!r}")
    else:
        disc = await session.discover()
        check(session.protocol_version == EXPECTED_VERSION[era], f"negotiated {session.protocol_version}")
        check(EXPECTED_VERSION[era] in disc.supported_versions, f"supported {disc.supported_versions}")
    check(session.server_info is not None and session.server_info.name == "modelport-test-server", "server info")

    listing = await session.list_tools()
    names = {t.name for t in listing.tools}
    check(names == EXPECTED_TOOLS, f"tools differ: {sorted(names ^ EXPECTED_TOOLS)}")
    add = next(t for t in listing.tools if t.name == "add")
    schema = add.input_schema
    check(schema.get("type") == "object", f"add schema type {schema!r}")
    check(sorted(schema.get("required", [])) == ["a", "b"], f"add required {schema!r}")
    for prop in ("a", "b"):
        check(schema["properties"][prop].get("type") == "integer", f"add.{prop} not integer: {schema!r}")

    r = await session.call_tool("echo", {"text": "héllo wörld"})
    check(not r.is_error and only_text(r) == "héllo wörld", f"echo {r!r}")
    check(r.structured_content == {"result": "héllo wörld"}, f"echo structured {r.structured_content!r}")

    r = await session.call_tool("add", {"a": 2, "b": 40})
    check(not r.is_error and only_text(r) == "42", f"add {r!r}")
    check(r.structured_content == {"result": 42}, f"add structured {r.structured_content!r}")

    r = await session.call_tool("get_weather", {"location": "Oslo"})
    check(only_text(r) == "Sunny, 21°C in Oslo", f"get_weather {r!r}")

    r = await session.call_tool("fail", {"message": "it broke"})
    check(r.is_error is True and only_text(r) == "it broke", f"fail {r!r}")

    r = await session.call_tool("image", {})
    check(not r.is_error and len(r.content) == 2, f"image {r!r}")
    img = r.content[0]
    check(isinstance(img, types.ImageContent) and img.mime_type == "image/png", f"image content {img!r}")
    assert isinstance(img, types.ImageContent)
    check(base64.b64decode(img.data).startswith(b"\x89PNG\r\n\x1a\n"), "image is not a PNG")
    check(texts(r) == ["an image"], f"image text {r!r}")

    r = await session.call_tool("resource", {})
    res = r.content[0] if len(r.content) == 1 else None
    check(isinstance(res, types.EmbeddedResource), f"resource {r!r}")
    assert isinstance(res, types.EmbeddedResource)
    body = res.resource
    check(
        isinstance(body, types.TextResourceContents) and str(body.uri) == "file:///tmp/note.txt" and body.text == "note body",
        f"resource body {body!r}",
    )

    r = await session.call_tool("huge", {"kib": 100})
    t = only_text(r)
    check(len(t) == 100 * 1024 and set(t) == {"x"}, f"huge returned {len(t)} chars")
    check(r.structured_content is None, "huge should carry no structuredContent")

    r = await session.call_tool("slow", {"ms": 50})
    check(only_text(r) == "done", f"slow {r!r}")

    r = await session.call_tool("env", {"name": "SMOKE_MARKER"})
    check(only_text(r) == "smoke-value", f"env {r!r}")
    r = await session.call_tool("env", {"name": "SMOKE_SURELY_UNSET"})
    check(only_text(r) == "<unset>", f"env unset {r!r}")

    r = await session.call_tool("cwd", {})
    check(os.path.realpath(only_text(r)) == os.path.realpath(HERE), f"cwd {r!r}")

    r = await session.call_tool("weird.name/with spaces", {})
    check(only_text(r) == "weird", f"weird {r!r}")

    # Runtime tool registration and the list-changed announcement.
    new_name = f"dyn_{tag}"
    if era == "handshake":
        r = await session.call_tool("add_tool", {"name": new_name})
        check(only_text(r) == "added", f"add_tool {r!r}")
        with anyio.fail_after(10):
            await changed.wait()
    else:
        async with listen(session, tools_list_changed=True) as sub:
            r = await session.call_tool("add_tool", {"name": new_name})
            check(only_text(r) == "added", f"add_tool {r!r}")
            with anyio.fail_after(10):
                event = await sub.__anext__()
            check(isinstance(event, ToolsListChanged), f"listen delivered {event!r}")
    names = {t.name for t in (await session.list_tools()).tools}
    check(new_name in names, f"{new_name} not listed after add_tool: {sorted(names)}")
    r = await session.call_tool(new_name, {})
    check(only_text(r) == f"I am {new_name}", f"{new_name} {r!r}")

    r = await session.call_tool("no_such_tool", {})
    check(r.is_error is True, f"unknown tool should be an isError result: {r!r}")


def watcher() -> tuple[anyio.Event, Callable[[Any], Any]]:
    changed = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    return changed, on_message


ENV = {"SMOKE_MARKER": "smoke-value"}


async def run_stdio(era: str) -> None:
    changed, on_message = watcher()
    async with stdio_session([], on_message, ENV) as session:
        await exercise(session, era, changed, f"stdio_{era}")


async def run_http(era: str, extra_args: list[str]) -> None:
    changed, on_message = watcher()
    async with http_server(extra_args, ENV) as url:
        async with http_session(url, on_message) as session:
            await exercise(session, era, changed, f"http_{era}")


async def run_start_failures() -> None:
    proc = await anyio.run_process([PYTHON, SERVER, "--fail-start"], check=False, stdin=subprocess.DEVNULL)
    check(proc.returncode == 2, f"--fail-start exit status {proc.returncode}")
    check(b"cannot start: no database" in proc.stderr, f"--fail-start stderr {proc.stderr!r}")
    check(proc.stdout == b"", f"--fail-start stdout {proc.stdout!r}")

    with tempfile.TemporaryDirectory() as tmp:
        pidfile = os.path.join(tmp, "pid")
        changed, on_message = watcher()
        async with stdio_session(["--only", "echo,add", "--pidfile", pidfile], on_message, ENV) as session:
            await session.initialize()
            names = {t.name for t in (await session.list_tools()).tools}
            check(names == {"echo", "add"}, f"--only listed {sorted(names)}")
            with open(pidfile) as f:
                check(f.read().strip().isdigit(), "--pidfile holds no pid")


async def run_process_tools() -> None:
    """crash kills the server mid-call; spawn_grandchild stays in its process group."""
    with tempfile.TemporaryDirectory() as tmp:
        pidfile = os.path.join(tmp, "server.pid")
        kids = os.path.join(tmp, "kids.pid")
        _, on_message = watcher()
        async with stdio_session(["--pidfile", pidfile], on_message, {**ENV, "MCP_TEST_PIDFILE": kids}) as session:
            await session.initialize()
            r = await session.call_tool("spawn_grandchild", {})
            kid = int(only_text(r))
            with open(kids) as f:
                check(f.read().split() == [str(kid)], "MCP_TEST_PIDFILE does not hold the grandchild pid")
            with open(pidfile) as f:
                server_pid = int(f.read())
            try:
                check(os.getpgid(kid) == os.getpgid(server_pid), "grandchild left the server's process group")
            finally:
                os.kill(kid, 9)
            crashed = False
            try:
                with anyio.fail_after(10):
                    await session.call_tool("crash", {})
            except TimeoutError:
                raise Mismatch("crash: the call neither returned nor failed within 10 s") from None
            except Exception:
                crashed = True
            check(crashed, "crash returned a result")


async def run_broken_servers() -> None:
    """malformed.py and --hang-start must not yield a working session."""
    for label, args in (("malformed.py", [os.path.join(HERE, "malformed.py")]), ("--hang-start", [SERVER, "--hang-start"])):
        params = StdioServerParameters(command=PYTHON, args=args, cwd=HERE)
        started = False
        try:
            with anyio.fail_after(10):
                async with stdio_client(params) as (read, write):
                    async with ClientSession(read, write, read_timeout_seconds=3) as session:
                        await session.initialize()
                        started = True
        except Exception:
            pass  # a failed start (parse error, closed stream or timeout) is the point
        check(not started, f"{label}: initialize succeeded")


SCENARIOS: list[tuple[str, Callable[[], Any]]] = [
    ("stdio handshake", lambda: run_stdio("handshake")),
    ("stdio 2026-07-28", lambda: run_stdio("modern")),
    ("http handshake", lambda: run_http("handshake", [])),
    ("http handshake, list_changed on GET stream", lambda: run_http("handshake", ["--notify-on", "standalone"])),
    ("http 2026-07-28", lambda: run_http("modern", [])),
    ("start-up flags", run_start_failures),
    ("crash and spawn_grandchild", run_process_tools),
    ("malformed server and --hang-start", run_broken_servers),
]


def leaf(exc: BaseException) -> BaseException:
    """The first real error inside (possibly nested) task-group exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


async def main() -> int:
    passed = failed = 0
    for name, scenario in SCENARIOS:
        try:
            with anyio.fail_after(120):
                await scenario()
        except Exception as exc:  # report every scenario, then fail overall
            failed += 1
            err = leaf(exc)
            print(f"FAIL {name}: {type(err).__name__}: {err}", flush=True)
        else:
            passed += 1
            print(f"ok   {name}", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(anyio.run(main))
