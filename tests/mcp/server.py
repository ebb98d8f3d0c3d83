"""A real MCP server for modelport's MCP client tests, built on the official
Python SDK (`mcp`, pinned in requirements.txt) and its high-level `MCPServer`.

Speaks stdio by default, or Streamable HTTP with `--http`. Serves both
protocol eras the SDK knows: the `initialize` handshake (newest: 2025-11-25)
and the 2026-07-28 per-request envelope (`server/discover`); the client's
first request picks one.

Run with the venv made by scripts/mcp-venv.sh, e.g.

    target/mcp-venv/bin/python tests/mcp/server.py [--http [--port N]] [flags]

Flags:
  --only a,b        register only these tools (names as listed by tools/list)
  --fail-start      print "cannot start: no database" to stderr, exit 2
  --hang-start      sleep forever without ever speaking MCP
  --pidfile PATH    append this process's pid to PATH on start
  --http            Streamable HTTP on 127.0.0.1 instead of stdio; once it is
                    listening, prints exactly one stdout line
                    `LISTENING http://127.0.0.1:<port>/mcp`
  --port N          port for --http (default 0: any free port)
  --json-response   with --http: answer POSTs with plain JSON, never SSE
  --nagle           with --http: leave Nagle's algorithm on (uvicorn's default here), to measure
                    what it costs a client
  --stateless       with --http: no Mcp-Session-Id sessions (handshake era)
  --notify-on standalone|request
                    where add_tool's notifications/tools/list_changed goes on
                    the handshake era: `request` (default) rides the tools/call
                    response (stdio: the pipe; HTTP: that POST's SSE stream,
                    before the result); `standalone` uses the connection's
                    standalone channel (stdio: the pipe; HTTP: the GET SSE
                    stream, dropped if the client never opened one).

Environment: MCP_TEST_PIDFILE, if set, gets each spawn_grandchild pid appended.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from typing import Any

# --fail-start and --hang-start act before the SDK is even imported, so they
# behave the same however the venv is set up.


def _parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="MCP test server for modelport")
    p.add_argument("--http", action="store_true", help="serve Streamable HTTP instead of stdio")
    p.add_argument("--port", type=int, default=0, help="HTTP port (0 = pick a free one)")
    p.add_argument("--json-response", action="store_true", help="HTTP: JSON responses instead of SSE")
    p.add_argument("--nagle", action="store_true", help="HTTP: leave TCP_NODELAY off")
    p.add_argument("--stateless", action="store_true", help="HTTP: no sessions")
    p.add_argument("--only", default=None, help="comma-separated tool names to register")
    p.add_argument("--fail-start", action="store_true", help="fail before speaking MCP (exit 2)")
    p.add_argument("--hang-start", action="store_true", help="never answer anything")
    p.add_argument("--pidfile", default=None, help="append own pid here on start (one per line)")
    p.add_argument(
        "--notify-on",
        choices=("request", "standalone"),
        default="request",
        help="channel for tools/list_changed on the handshake era",
    )
    return p.parse_args(argv)


ARGS = _parse_args(sys.argv[1:])

if ARGS.pidfile:
    with open(ARGS.pidfile, "a") as f:
        f.write(f"{os.getpid()}\n")

if ARGS.fail_start:
    print("cannot start: no database", file=sys.stderr, flush=True)
    sys.exit(2)

if ARGS.hang_start:
    while True:
        time.sleep(3600)

from mcp.server import NotificationOptions  # noqa: E402
from mcp.server.mcpserver import Context, MCPServer  # noqa: E402
from mcp_types import (  # noqa: E402
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    TextContent,
    TextResourceContents,
    ToolListChangedNotification,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS  # noqa: E402


def _tiny_png() -> bytes:
    """A valid 1x1 RGBA PNG (one opaque red pixel), built from scratch."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1x1, 8-bit, RGBA
    raw = b"\x00" + b"\xff\x00\x00\xff"  # filter byte 0, then one pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


PNG_BASE64 = base64.b64encode(_tiny_png()).decode("ascii")

# Quiet by default: the SDK logs to stderr only, but tests read stderr too.
mcp = MCPServer("modelport-test-server", version="1.0.0", log_level="WARNING")


# --- tools --------------------------------------------------------------------
# Every tool is defined here and registered (or not) by --only below. Tools
# annotated `-> str` / `-> int` get an outputSchema from the SDK and return
# structuredContent {"result": <value>} next to the text content; the ones
# that build a CallToolResult themselves, or set structured_output=False,
# return content only.


def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def get_weather(location: str) -> str:
    """Current weather for a location (always sunny)."""
    return f"Sunny, 21°C in {location}"


async def slow(ms: int) -> str:
    """Sleep for `ms` milliseconds, then return "done"."""
    await asyncio.sleep(ms / 1000)
    return "done"


def huge(kib: int) -> str:
    """Return kib*1024 bytes of 'x' as text."""
    return "x" * (kib * 1024)


def fail(message: str) -> CallToolResult:
    """Report a tool failure: a result with isError true carrying `message`."""
    return CallToolResult(content=[TextContent(text=message)], is_error=True)


def image() -> CallToolResult:
    """Return a 1x1 PNG image plus the text "an image"."""
    return CallToolResult(
        content=[
            ImageContent(data=PNG_BASE64, mime_type="image/png"),
            TextContent(text="an image"),
        ]
    )


def resource() -> CallToolResult:
    """Return an embedded text resource file:///tmp/note.txt."""
    return CallToolResult(
        content=[
            EmbeddedResource(
                resource=TextResourceContents(uri="file:///tmp/note.txt", mime_type="text/plain", text="note body")
            )
        ]
    )


def crash() -> str:
    """Kill the server process mid-call (exit status 3)."""
    sys.stdout.flush()
    os._exit(3)


_GRANDCHILDREN: list[subprocess.Popen[bytes]] = []  # kept so they are never reaped or warned about


def spawn_grandchild() -> str:
    """Start `sleep 300` in this server's process group; return its pid."""
    # Deliberately no start_new_session / process_group: the grandchild must
    # stay in the server's process group so a client that kills the group
    # kills it too. Its stdio is detached from ours so it never holds the
    # MCP pipe open.
    proc = subprocess.Popen(
        ["sleep", "300"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        close_fds=True,
    )
    _GRANDCHILDREN.append(proc)
    pidfile = os.environ.get("MCP_TEST_PIDFILE")
    if pidfile:
        with open(pidfile, "a") as f:
            f.write(f"{proc.pid}\n")
    return str(proc.pid)


async def add_tool(name: str, ctx: Context) -> str:
    """Register a new tool `name` at runtime and announce the list change."""

    def added() -> str:
        return f"I am {name}"

    mcp.add_tool(added, name=name, description=f"Tool {name} added at runtime.")

    # 2026-07-28: change events go only to subscriptions/listen streams.
    # Publishing is harmless on the handshake era (nobody listens there).
    await ctx.notify_tools_changed()
    if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
        note = ToolListChangedNotification()
        if ARGS.notify_on == "request":
            await ctx.session.send_notification(note, related_request_id=ctx.request_context.request_id)
        else:
            await ctx.session.send_notification(note)
    return "added"


def env(name: str) -> str:
    """Value of environment variable `name`, or "<unset>"."""
    return os.environ.get(name, "<unset>")


def cwd() -> str:
    """The server's working directory."""
    return os.getcwd()


def weird() -> str:
    """A tool whose name has characters LLM providers reject."""
    return "weird"


# name -> (function, extra add_tool kwargs)
TOOLS: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "echo": (echo, {}),
    "add": (add, {}),
    "get_weather": (get_weather, {}),
    "slow": (slow, {}),
    # 1 MiB of text is enough on the wire once; no structured copy.
    "huge": (huge, {"structured_output": False}),
    "fail": (fail, {}),
    "image": (image, {}),
    "resource": (resource, {}),
    "crash": (crash, {}),
    "spawn_grandchild": (spawn_grandchild, {}),
    "add_tool": (add_tool, {}),
    "env": (env, {}),
    "cwd": (cwd, {}),
    "weird.name/with spaces": (weird, {}),
}

if ARGS.only is not None:
    wanted = [n.strip() for n in ARGS.only.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in TOOLS]
    if unknown:
        print(f"unknown tool(s) in --only: {', '.join(unknown)}", file=sys.stderr, flush=True)
        sys.exit(2)
else:
    wanted = list(TOOLS)

for tool_name in wanted:
    fn, kwargs = TOOLS[tool_name]
    mcp.add_tool(fn, name=tool_name, **kwargs)


# --- capabilities -------------------------------------------------------------
# MCPServer advertises tools.listChanged=false on the handshake era unless
# NotificationOptions say otherwise, and offers no public knob for it; the
# transports ask the low-level server for its initialization options, so
# wrap that one method. (The SDK's own client reaches the low-level server the
# same way.) On 2026-07-28 the flag is derived from subscriptions/listen
# being served, which MCPServer does by default.
_lowlevel = mcp._lowlevel_server  # pyright: ignore[reportPrivateUsage]
_plain_init_options = _lowlevel.create_initialization_options


def _init_options(notification_options: Any = None, *args: Any, **kwargs: Any) -> Any:
    return _plain_init_options(notification_options or NotificationOptions(tools_changed=True), *args, **kwargs)


_lowlevel.create_initialization_options = _init_options  # type: ignore[method-assign]


# --- transports ---------------------------------------------------------------


async def _serve_http() -> None:
    import uvicorn

    app = mcp.streamable_http_app(
        json_response=ARGS.json_response,
        stateless_http=ARGS.stateless,
        host="127.0.0.1",
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit it: without it, a response written in two parts waits for the
    # client's delayed ACK (about 40 ms a call on Linux) whenever the client does not ACK at once.
    if not ARGS.nagle:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", ARGS.port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)

    async def announce() -> None:
        while not server.started:
            if server.should_exit:
                return
            await asyncio.sleep(0.01)
        sys.stdout.write(f"LISTENING http://127.0.0.1:{port}/mcp\n")
        sys.stdout.flush()

    announcer = asyncio.ensure_future(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        announcer.cancel()


def main() -> None:
    if ARGS.http:
        asyncio.run(_serve_http())
    else:
        mcp.run("stdio")


if __name__ == "__main__":
    main()
