"""MCP servers as tool sources: the Copilot SDK's ``mcp_servers`` entries, in snake_case (the
camelCase keys work too). Core starts the servers when the session is created, checks every field
and names a wrong one in a :class:`~modelport.ConfigError`; see the README's "MCP servers".
"""

from __future__ import annotations

from typing import Literal, Mapping, Sequence, TypedDict, Union


class MCPLocalServerConfig(TypedDict, total=False):
    """A server started as a child process, speaking MCP over its stdin and stdout."""

    type: Literal["local", "stdio"]
    """The default."""
    command: str
    """The program to run (looked up on PATH)."""
    args: Sequence[str]
    env: Mapping[str, str]
    """Variables set for the server. Of the host's environment it gets only HOME, LOGNAME, PATH,
    SHELL, TERM and USER, unless ``inherit_env``."""
    cwd: str
    """Its working directory (default: the host's); ``working_directory`` is the same."""
    inherit_env: bool
    """Pass the host's whole environment (default False)."""
    tools: Sequence[str]
    """The server's tools to offer, by their own names: absent or ``["*"]`` for all, ``[]`` for
    none."""
    timeout: int
    """Per tool call, in milliseconds (default 60000)."""
    startup_timeout_ms: int
    """Starting and the ``initialize`` handshake, in milliseconds (default 30000)."""
    max_output_bytes: int
    """The most bytes of text one result gives the model; more is cut with a note (default
    65536)."""


class MCPRemoteServerConfig(TypedDict, total=False):
    """A server reached over Streamable HTTP. ``"sse"`` connects with Streamable HTTP too: the
    legacy HTTP+SSE transport (protocol 2024-11-05) is not supported."""

    type: Literal["http", "sse"]
    url: str
    """The server's MCP endpoint, e.g. ``"https://example.com/mcp"``."""
    headers: Mapping[str, str]
    """Sent with every request; secrets, redacted like provider keys."""
    tools: Sequence[str]
    """The server's tools to offer, by their own names: absent or ``["*"]`` for all, ``[]`` for
    none."""
    timeout: int
    """Per tool call, in milliseconds (default 60000)."""
    startup_timeout_ms: int
    """Connecting and the ``initialize`` handshake, in milliseconds (default 30000)."""
    max_output_bytes: int
    """The most bytes of text one result gives the model (default 65536)."""


MCPServerConfig = Union[MCPLocalServerConfig, MCPRemoteServerConfig]
"""One entry of ``SessionConfig.mcp_servers``, keyed by the server's name."""

__all__ = ["MCPLocalServerConfig", "MCPRemoteServerConfig", "MCPServerConfig"]
